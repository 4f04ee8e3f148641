#include "engine/engine.h"

#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/fs.h"
#include "base/rand.h"
#include "base/str.h"
#include "engine/env.h"

#define ENGINE_KEEPALIVE_DEFAULT_MS 300000
#define ENGINE_ACCOUNT_ID_DEFAULT "123456789012"
#define ENGINE_REGION_DEFAULT "us-east-1"
/*
 * Idle environments are frozen this long after their runtime parked on /next: a
 * back-to-back invocation (a tuning run) then costs no freeze and thaw (about 85 us of
 * wakeups here), while any real pause between invocations still finds them frozen.
 */
#define ENGINE_FREEZE_GRACE_MS 2
/*
 * While other invocations of the function are running, an idle environment is usually taken
 * again within a few ms (32 clients of `serve` on 2 cores reuse each one every 3-5 ms): a
 * freeze and a thaw each time cost more CPU than the whole invocation's HTTP exchanges. Under
 * such load the grace is longer; an environment idle past it is still frozen.
 */
#define ENGINE_FREEZE_GRACE_BUSY_MS 20
/*
 * A runtime not back on /next this long after its result (env.c's settle bound) may never
 * come (a task outliving the handler): it is looked at again only at the janitor's
 * once-a-second pass, not every grace, which woke the janitor ~500 times a second.
 */
#define ENGINE_PARK_WAIT_MS 1000
/* Busy idle environments one invocation looks past before it starts a new one. */
#define ENGINE_BUSY_SKIP_MAX 8

struct pt_function {
    struct pt_engine *engine;
    struct pt_function_config cfg;
    char version[16];
    char arn[320];
    char log_dir[PATH_MAX];
    char **argv;
    char **envp;
    struct pt_env **idle; /* most recently used last */
    size_t idle_count;
    size_t idle_cap;
    int busy;
    int envs;
    struct pt_function *next;
};

struct pt_engine {
    pthread_mutex_t lock;
    pthread_cond_t janitor_wake;
    /* When the sleeping janitor wakes by itself (0 while it is awake: it rescans before it
     * sleeps again). An environment going idle only wakes it when its freeze is due sooner:
     * under load the janitor then runs once per grace, not once per invocation. */
    int64_t janitor_wake_ns;
    pthread_t janitor;
    bool janitor_running;
    bool janitor_stop;
    bool shutting_down;
    int abort_fd;
    struct pt_cgroup_manager *cgroups;
    struct pt_function *functions;
    /* Discarded environments waiting for the janitor to tear them down, off the invoke path. */
    struct pt_env **graveyard;
    size_t graveyard_count;
    size_t graveyard_cap;
    int busy_total;
    int busy_reserved; /* in-flight invocations of functions with reserved concurrency */
    int reserved_sum;
    unsigned next_env_id;
    int host_cpus;
    struct pt_engine_options opt;
    char state_dir[PATH_MAX];
    char runtime_dir[PATH_MAX];
    char python[PATH_MAX];
    char node[PATH_MAX];
    char region[64];
    char account_id[16];
    char describe[512];
    struct pt_sandbox sandbox;
    struct pt_sandbox_spare *sandbox_spare; /* the next cold start's mount namespace */
    struct pt_ephemeral *ephemeral;         /* the sandbox's disk-backed /tmp */
    char sandbox_note[1600]; /* what is not isolated (the reports say it) */
};

/* ---- option resolution ---- */

static const char *engine_env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

static int engine_resolve_state_dir(struct pt_engine *e, struct pt_error *err)
{
    return pt_state_dir_resolve(e->opt.state_dir, e->state_dir, sizeof(e->state_dir), err);
}

int pt_engine_find_runtime_dir(const char *option, const char *marker, char *out, size_t size,
                               struct pt_error *err)
{
    const char *dir = option ? option : getenv("POWERTUNE_RUNTIME_DIR");
    if (dir && *dir) {
        pt_strlcpy(out, dir, size);
        return 0;
    }
    out[0] = '\0';
    char exe[PATH_MAX];
    int rc = pt_self_exe_dir(exe, sizeof(exe), err);
    if (rc)
        return rc;
    /* Installed (<prefix>/bin + <prefix>/lib/powertune/runtimes) or in the source tree (build/...). */
    static const char *const rel[] = {"/../lib/powertune/runtimes", "/../runtimes",
                                      "/../../runtimes", "/../../../runtimes"};
    for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
        char cand[PATH_MAX], probe[PATH_MAX], real[PATH_MAX];
        snprintf(cand, sizeof(cand), "%s%s", exe, rel[i]);
        pt_path_join(probe, sizeof(probe), cand, marker);
        if (pt_path_is_file(probe)) {
            pt_strlcpy(out, realpath(cand, real) ? real : cand, size);
            return 0;
        }
    }
    return 0;
}

/* An interpreter: the option, the variable, the Debian path, else the first on PATH. */
static void engine_resolve_program(char *out, size_t size, const char *opt, const char *var,
                                   const char *debian, const char *name)
{
    const char *v = opt ? opt : getenv(var);
    if (v && *v) {
        pt_strlcpy(out, v, size);
        return;
    }
    if (pt_path_is_executable(debian)) {
        pt_strlcpy(out, debian, size);
        return;
    }
    const char *path = engine_env_or("PATH", "/usr/local/bin:/usr/bin:/bin");
    char *copy = strdup(path);
    out[0] = '\0';
    for (char *save = NULL, *d = copy ? strtok_r(copy, ":", &save) : NULL; d;
         d = strtok_r(NULL, ":", &save)) {
        char cand[PATH_MAX];
        snprintf(cand, sizeof(cand), "%s/%s", d, name);
        if (pt_path_is_executable(cand)) {
            pt_strlcpy(out, cand, size);
            break;
        }
    }
    free(copy);
}

/* ---- sandbox ---- */

/* Root can still be denied namespaces (containers without CAP_SYS_ADMIN): try once. */
static bool engine_can_unshare_mounts(void)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(unshare(CLONE_NEWNS) == 0 ? 0 : 1);
    if (pid < 0)
        return false;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void engine_plan_sandbox(struct pt_engine *e)
{
    const char *why = NULL;
    if (e->opt.no_sandbox)
        why = "--no-sandbox was given";
    else if (geteuid() != 0)
        why = "the engine is not running as root";
    else if (!engine_can_unshare_mounts())
        why = "mount namespaces are not permitted here";
    if (why) {
        snprintf(e->sandbox_note, sizeof(e->sandbox_note),
                 "not isolated (%s): functions run as uid %u with the engine's view of the file "
                 "system: shared /tmp without the EphemeralStorage limit, writable code "
                 "directory, /dev/shm present; every environment can read another's environment "
                 "variables (its credentials), trace it and kill it",
                 why, (unsigned)geteuid());
        return;
    }
    e->sandbox.enabled = true;
    if (!pt_sandbox_can_seal())
        snprintf(e->sandbox_note, sizeof(e->sandbox_note),
                 "partly isolated: the host's file systems outside /tmp stay writable to "
                 "functions as they are to their uids (mount_setattr unavailable: Linux before "
                 "5.12, or refused by a seccomp filter)");
    e->sandbox.gid = PT_SANDBOX_GID; /* the uid is each environment's own (env.c) */
    e->sandbox.writable_dir = e->opt.sandbox_writable_dir;
}

/* ---- janitor: reclaims idle environments after the keep-alive ---- */

/* With the lock held: how long an idle environment of fn stays thawed. */
static int64_t engine_freeze_grace_ns(const struct pt_function *fn)
{
    return (int64_t)(fn->busy > 0 ? ENGINE_FREEZE_GRACE_BUSY_MS : ENGINE_FREEZE_GRACE_MS) *
           1000000;
}

/* With the lock held: freezes idle environments past the grace; returns ns to the next due one. */
static int64_t engine_freeze_due(struct pt_engine *e, int64_t now)
{
    int64_t next = INT64_MAX;
    if (e->opt.no_freeze || e->opt.freeze_immediately)
        return next;
    for (struct pt_function *fn = e->functions; fn; fn = fn->next) {
        int64_t grace = engine_freeze_grace_ns(fn);
        for (size_t i = 0; i < fn->idle_count; i++) {
            struct pt_env *env = fn->idle[i];
            if (pt_env_frozen(env))
                continue;
            int64_t last = pt_env_last_used_ns(env);
            int64_t due = last + grace;
            if (due > now) {
                next = due < next ? due : next;
                continue;
            }
            /* A runtime not parked yet is looked at again: soon while it may be on its way
             * back to /next, then at the once-a-second pass. */
            if (!pt_env_freeze_idle(env) && now - last < (int64_t)ENGINE_PARK_WAIT_MS * 1000000)
                next = now + grace < next ? now + grace : next;
        }
    }
    return next;
}

static void *engine_janitor(void *arg)
{
    struct pt_engine *e = arg;
    pthread_mutex_lock(&e->lock);
    while (!e->janitor_stop) {
        int64_t now = pt_mono_ns();
        int64_t wake = now + 1000000000LL; /* keep-alive checks once a second */
        int64_t next_freeze = engine_freeze_due(e, now);
        if (next_freeze < wake)
            wake = next_freeze;
        if (!e->graveyard_count) {
            struct timespec ts = {.tv_sec = wake / 1000000000LL, .tv_nsec = wake % 1000000000LL};
            e->janitor_wake_ns = wake;
            pthread_cond_timedwait(&e->janitor_wake, &e->lock, &ts);
            e->janitor_wake_ns = 0;
        }
        while (e->graveyard_count) {
            struct pt_env *dead = e->graveyard[--e->graveyard_count];
            pthread_mutex_unlock(&e->lock);
            pt_env_destroy(dead);
            pthread_mutex_lock(&e->lock);
        }
        int64_t cutoff = pt_mono_ns() - (int64_t)e->opt.keepalive_ms * 1000000;
        struct pt_env *expired[64];
        size_t n = 0;
        for (struct pt_function *fn = e->functions; fn && n < 64; fn = fn->next) {
            size_t keep = 0;
            for (size_t i = 0; i < fn->idle_count; i++) {
                if (n < 64 && pt_env_last_used_ns(fn->idle[i]) < cutoff) {
                    expired[n++] = fn->idle[i];
                    fn->envs--;
                } else {
                    fn->idle[keep++] = fn->idle[i];
                }
            }
            fn->idle_count = keep;
        }
        if (n) {
            pthread_mutex_unlock(&e->lock);
            for (size_t i = 0; i < n; i++)
                pt_env_destroy(expired[i]);
            pthread_mutex_lock(&e->lock);
        }
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

/* ---- engine ---- */

int pt_engine_create(struct pt_engine **out, const struct pt_engine_options *opt,
                     struct pt_error *err)
{
    struct pt_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return pt_error_set(err, PT_ENOMEM, "out of memory for the engine");
    if (opt)
        e->opt = *opt;
    if (e->opt.account_concurrency <= 0)
        e->opt.account_concurrency = PT_ACCOUNT_CONCURRENCY_DEFAULT;
    if (e->opt.keepalive_ms <= 0)
        e->opt.keepalive_ms = ENGINE_KEEPALIVE_DEFAULT_MS;
    pthread_mutex_init(&e->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* the janitor's deadlines are pt_mono_ns */
    pthread_cond_init(&e->janitor_wake, &ca);
    pthread_condattr_destroy(&ca);
    e->abort_fd = -1;
    e->host_cpus = pt_host_cpus();
    pt_strlcpy(e->region,
               e->opt.region ? e->opt.region
                             : engine_env_or("AWS_REGION", engine_env_or("AWS_DEFAULT_REGION",
                                                                          ENGINE_REGION_DEFAULT)),
               sizeof(e->region));
    pt_strlcpy(e->account_id, e->opt.account_id ? e->opt.account_id : ENGINE_ACCOUNT_ID_DEFAULT,
               sizeof(e->account_id));
    int rc = engine_resolve_state_dir(e, err);
    if (rc)
        goto fail;
    /* Not found: only provided functions can run; said when one is added. */
    rc = pt_engine_find_runtime_dir(e->opt.runtime_dir, "python/bootstrap.py", e->runtime_dir,
                                    sizeof(e->runtime_dir), err);
    if (rc)
        goto fail;
    engine_resolve_program(e->python, sizeof(e->python), e->opt.python, "POWERTUNE_PYTHON",
                           "/usr/bin/python3", "python3");
    engine_resolve_program(e->node, sizeof(e->node), e->opt.node, "POWERTUNE_NODE",
                           "/usr/bin/node", "node");
    e->abort_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (e->abort_fd < 0) {
        rc = pt_error_errno(err, PT_ESYS, errno, "cannot create an eventfd");
        goto fail;
    }
    struct pt_cgroup_manager_options copt = {.kind = e->opt.cgroups};
    rc = pt_cgroup_manager_open(&e->cgroups, &copt, err);
    if (rc)
        goto fail;
    snprintf(e->describe, sizeof(e->describe), "%s", pt_cgroup_manager_describe(e->cgroups));
    engine_plan_sandbox(e);
    if (e->sandbox.enabled && ((rc = pt_sandbox_users_publish(err)) != 0 ||
                               (rc = pt_sandbox_spare_new(&e->sandbox_spare, err)) != 0 ||
                               (rc = pt_ephemeral_open(&e->ephemeral, e->state_dir, err)) != 0))
        goto fail;
    if (e->sandbox.enabled && pt_ephemeral_note(e->ephemeral)) {
        /* Both notes when both apply: what /tmp lacks, then the host's writable mounts. */
        char both[sizeof(e->sandbox_note)];
        snprintf(both, sizeof(both), "%.1190s%s%.380s", pt_ephemeral_note(e->ephemeral),
                 e->sandbox_note[0] ? "; " : "", e->sandbox_note);
        memcpy(e->sandbox_note, both, sizeof(both));
    }
    if (pthread_create(&e->janitor, NULL, engine_janitor, e) != 0) {
        rc = pt_error_set(err, PT_ESYS, "cannot start the keep-alive thread");
        goto fail;
    }
    e->janitor_running = true;
    *out = e;
    return 0;
fail:
    pt_engine_destroy(e);
    return rc;
}

void pt_engine_shutdown(struct pt_engine *e)
{
    pthread_mutex_lock(&e->lock);
    e->shutting_down = true;
    uint64_t one = 1;
    if (e->abort_fd >= 0 && write(e->abort_fd, &one, sizeof(one)) < 0) {
        /* the counter is already non-zero: everyone has been told */
    }
    pthread_mutex_unlock(&e->lock);
}

static void engine_function_free(struct pt_function *fn)
{
    for (size_t i = 0; i < fn->idle_count; i++)
        pt_env_destroy(fn->idle[i]);
    free(fn->idle);
    if (fn->argv)
        for (char **p = fn->argv; *p; p++)
            free(*p);
    free(fn->argv);
    if (fn->envp)
        for (char **p = fn->envp; *p; p++)
            free(*p);
    free(fn->envp);
    pt_function_config_free(&fn->cfg);
    free(fn);
}

void pt_engine_destroy(struct pt_engine *e)
{
    if (!e)
        return;
    pt_engine_shutdown(e);
    if (e->janitor_running) {
        pthread_mutex_lock(&e->lock);
        e->janitor_stop = true;
        pthread_cond_signal(&e->janitor_wake);
        pthread_mutex_unlock(&e->lock);
        pthread_join(e->janitor, NULL);
    }
    /* The janitor has stopped: what it had not torn down yet goes now. */
    for (size_t i = 0; i < e->graveyard_count; i++)
        pt_env_destroy(e->graveyard[i]);
    free(e->graveyard);
    while (e->functions) {
        struct pt_function *fn = e->functions;
        e->functions = fn->next;
        engine_function_free(fn);
    }
    if (e->cgroups)
        pt_cgroup_manager_close(e->cgroups);
    pt_sandbox_spare_free(e->sandbox_spare);
    pt_ephemeral_free(e->ephemeral);
    if (e->abort_fd >= 0)
        close(e->abort_fd);
    pthread_cond_destroy(&e->janitor_wake);
    pthread_mutex_destroy(&e->lock);
    free(e);
}

bool pt_engine_degraded(const struct pt_engine *e)
{
    return pt_cgroup_manager_degraded(e->cgroups);
}

const char *pt_engine_describe(const struct pt_engine *e)
{
    return e->describe;
}

const char *pt_engine_sandbox_note(const struct pt_engine *e)
{
    return e->sandbox_note[0] ? e->sandbox_note : NULL;
}

bool pt_engine_sandboxed(const struct pt_engine *e)
{
    return e->sandbox.enabled;
}

const char *pt_engine_state_dir(const struct pt_engine *e)
{
    return e->state_dir;
}

const char *pt_engine_region(const struct pt_engine *e)
{
    return e->region;
}

/* ---- functions ---- */

/* A NULL-terminated vector of owned strings; fails cleanly on ENOMEM. */
struct engine_strv {
    char **v;
    size_t n, cap;
    bool failed;
};

static void strv_add(struct engine_strv *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void strv_add(struct engine_strv *s, const char *fmt, ...)
{
    if (s->failed)
        return;
    if (s->n + 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        char **v = realloc(s->v, cap * sizeof(char *));
        if (!v) {
            s->failed = true;
            return;
        }
        s->v = v;
        s->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *str = NULL;
    if (vasprintf(&str, fmt, ap) < 0)
        str = NULL;
    va_end(ap);
    if (!str) {
        s->failed = true;
        return;
    }
    s->v[s->n++] = str;
    s->v[s->n] = NULL;
}

/* Removes the "KEY=..." entries of an environment vector. */
static void strv_drop_var(struct engine_strv *s, const char *key)
{
    size_t len = strlen(key), kept = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (strncmp(s->v[i], key, len) == 0 && s->v[i][len] == '=')
            free(s->v[i]);
        else
            s->v[kept++] = s->v[i];
    }
    s->n = kept;
    if (s->v)
        s->v[kept] = NULL;
}

static void strv_free(struct engine_strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

/* The function's own value of name, or NULL. */
static const char *engine_function_var(const struct pt_function_config *c, const char *name)
{
    for (size_t i = 0; i < c->env_count; i++)
        if (c->env[i].key && strcmp(c->env[i].key, name) == 0)
            return c->env[i].value;
    return NULL;
}

static int engine_build_command(struct pt_engine *e, struct pt_function *fn,
                                struct engine_strv *argv, struct pt_error *err)
{
    const struct pt_function_config *c = &fn->cfg;
    char path[PATH_MAX];
    /*
     * AWS_LAMBDA_EXEC_WRAPPER, as Lambda's managed runtimes honour it (custom runtimes do not):
     * the wrapper script is started with the runtime's command line as its arguments (OTel and
     * profiler layers use it). A relative path is taken from the code directory, the runtime's
     * working directory; one that cannot be run fails INIT as Runtime.InvalidEntrypoint.
     */
    const char *wrapper = engine_function_var(c, "AWS_LAMBDA_EXEC_WRAPPER");
    if (wrapper && *wrapper && c->family != PT_RUNTIME_PROVIDED) {
        if (wrapper[0] == '/')
            strv_add(argv, "%s", wrapper);
        else
            strv_add(argv, "%s/%s", c->code_dir, wrapper);
    }
    switch (c->family) {
    case PT_RUNTIME_PROVIDED:
        pt_path_join(path, sizeof(path), c->code_dir, "bootstrap");
        if (!pt_path_is_executable(path))
            return pt_error_set(err, PT_EUSAGE,
                                "function %s: %s is missing or not executable (runtime %s needs "
                                "an executable bootstrap; C examples are built by `make`)",
                                c->name, path, c->runtime);
        strv_add(argv, "%s", path);
        break;
    case PT_RUNTIME_PYTHON:
        pt_path_join(path, sizeof(path), e->runtime_dir, "python/bootstrap.py");
        if (!e->runtime_dir[0] || !pt_path_is_file(path))
            return pt_error_set(err, PT_EUSAGE,
                                "runtime %s: the Python runtime client was not found (looked "
                                "for runtimes/python/bootstrap.py near the executable; set "
                                "POWERTUNE_RUNTIME_DIR)",
                                c->runtime);
        if (!e->python[0])
            return pt_error_set(err, PT_EUSAGE,
                                "runtime %s: no Python interpreter found (set --python or "
                                "POWERTUNE_PYTHON)",
                                c->runtime);
        strv_add(argv, "%s", e->python);
        strv_add(argv, "%s", path);
        break;
    case PT_RUNTIME_NODE:
        pt_path_join(path, sizeof(path), e->runtime_dir, "node/bootstrap.cjs");
        if (!e->runtime_dir[0] || !pt_path_is_file(path))
            return pt_error_set(err, PT_EUSAGE,
                                "runtime %s: the Node.js runtime client is not part of this "
                                "build yet (runtimes/node/bootstrap.cjs not found)",
                                c->runtime);
        if (!e->node[0])
            return pt_error_set(err, PT_EUSAGE,
                                "runtime %s: no node found (set POWERTUNE_NODE)", c->runtime);
        strv_add(argv, "%s", e->node);
        /* Lambda's /var/runtime/bootstrap: gc exposed, V8's heap sized from MemorySize. */
        strv_add(argv, "--expose-gc");
        strv_add(argv, "--max-http-header-size=81920");
        strv_add(argv, "--max-semi-space-size=%d", c->memory_mb / 10 / 2);
        strv_add(argv, "--max-old-space-size=%d", c->memory_mb - c->memory_mb / 10);
        strv_add(argv, "%s", path);
        break;
    default:
        return pt_error_set(err, PT_EUSAGE, "function %s has no runtime", c->name);
    }
    return 0;
}

/*
 * Lambda's LD_LIBRARY_PATH, less the directories that do not exist here. The loader probes about
 * ten hardware-capability subdirectories of every entry (twenty system calls) before it finds a
 * program's first library, whether the entry exists or not: Lambda's seven entries cost a
 * dynamically linked runtime ~0.3 ms at each cold start on this machine's kind (bench/RESULTS.md).
 * A directory that does not exist holds no library, so leaving it out finds the same ones.
 */
static void engine_add_library_path(struct engine_strv *env, const char *runtime_dir,
                                    const char *family, const char *code_dir)
{
    const struct {
        const char *dir, *family, *sub;
    } entries[] = {
        {"/lib64", "", ""},       {"/usr/lib64", "", ""},
        {runtime_dir, family, ""}, {runtime_dir, family, "/lib"},
        {code_dir, "", ""},       {code_dir, "", "/lib"},
        {"/opt/lib", "", ""},
    };
    struct pt_buf value;
    pt_buf_init(&value, 8 * PATH_MAX);
    int rc = pt_buf_append_str(&value, "LD_LIBRARY_PATH=", NULL);
    size_t empty = value.len;
    for (size_t i = 0; !rc && i < sizeof(entries) / sizeof(entries[0]); i++) {
        char dir[PATH_MAX];
        const char *slash = *entries[i].family ? "/" : "";
        if ((size_t)snprintf(dir, sizeof(dir), "%s%s%s%s", entries[i].dir, slash,
                             entries[i].family, entries[i].sub) >= sizeof(dir) ||
            !pt_path_is_dir(dir))
            continue;
        rc = pt_buf_printf(&value, NULL, "%s%s", value.len > empty ? ":" : "", dir);
    }
    if (rc)
        env->failed = true;
    else if (value.len > empty)
        strv_add(env, "%s", value.data);
    pt_buf_free(&value);
}

static void engine_build_environment(struct pt_engine *e, struct pt_function *fn,
                                     struct engine_strv *env)
{
    const struct pt_function_config *c = &fn->cfg;
    const char *family = c->family == PT_RUNTIME_PYTHON ? "python"
                         : c->family == PT_RUNTIME_NODE ? "node"
                                                        : "provided";
    strv_add(env, "_HANDLER=%s", c->handler);
    strv_add(env, "LAMBDA_TASK_ROOT=%s", c->code_dir);
    strv_add(env, "LAMBDA_RUNTIME_DIR=%s/%s", e->runtime_dir, family);
    strv_add(env, "AWS_LAMBDA_FUNCTION_NAME=%s", c->name);
    strv_add(env, "AWS_LAMBDA_FUNCTION_VERSION=%s", fn->version);
    strv_add(env, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=%d", c->memory_mb);
    strv_add(env, "AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/%s", c->name);
    strv_add(env, "AWS_LAMBDA_INITIALIZATION_TYPE=on-demand");
    if (c->log_format == PT_LOG_FORMAT_JSON) {
        /* Only with JSON, as SAM CLI and LocalStack pass LoggingConfig on. */
        strv_add(env, "AWS_LAMBDA_LOG_FORMAT=JSON");
        strv_add(env, "AWS_LAMBDA_LOG_LEVEL=%s", pt_log_level_name(pt_function_app_log_level(c)));
    }
    strv_add(env, "AWS_REGION=%s", e->region);
    strv_add(env, "AWS_DEFAULT_REGION=%s", e->region);
    if (c->family != PT_RUNTIME_PROVIDED)
        strv_add(env, "AWS_EXECUTION_ENV=AWS_Lambda_%s", c->runtime);
    strv_add(env, "TZ=:UTC");
    strv_add(env, "LANG=en_US.UTF-8");
    strv_add(env, "PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin");
    engine_add_library_path(env, e->runtime_dir, family, c->code_dir);
    strv_add(env, "AWS_XRAY_CONTEXT_MISSING=LOG_ERROR");
    /* Lambda hands the execution role's credentials to the function; locally, the caller's. */
    static const char *const creds[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                        "AWS_SESSION_TOKEN"};
    for (size_t i = 0; i < sizeof(creds) / sizeof(creds[0]); i++) {
        const char *v = getenv(creds[i]);
        if (v)
            strv_add(env, "%s=%s", creds[i], v);
    }
    if (c->family == PT_RUNTIME_NODE) {
        /* As Lambda's node bootstrap: layers, the runtime's modules, the code; unless set. */
        int major = 0;
        if (sscanf(c->runtime, "nodejs%d", &major) == 1)
            strv_add(env,
                     "NODE_PATH=/opt/nodejs/node%d/node_modules:/opt/nodejs/node_modules:"
                     "%s/node/node_modules:%s/node:%s",
                     major, e->runtime_dir, e->runtime_dir, c->code_dir);
    }
    /*
     * The function's variables replace the defaults of the same name (PATH, TZ, LANG,
     * LD_LIBRARY_PATH, NODE_PATH, ...; reserved names never get this far), as on Lambda. Both
     * in the vector, the default won: getenv, Python's os.environ and Node's process.env all
     * take a name's first entry, so `--env TZ=Europe/Paris` ran the function in UTC.
     */
    for (size_t i = 0; i < c->env_count; i++) {
        strv_drop_var(env, c->env[i].key);
        strv_add(env, "%s=%s", c->env[i].key, c->env[i].value);
    }
}

int pt_engine_function_add(struct pt_engine *e, const struct pt_function_config *cfg,
                           struct pt_function **out, struct pt_error *err)
{
    return pt_engine_function_add_version(e, cfg, NULL, out, err);
}

int pt_engine_function_add_version(struct pt_engine *e, const struct pt_function_config *cfg,
                                   const char *version, struct pt_function **out,
                                   struct pt_error *err)
{
    if (!version || !*version)
        version = "$LATEST";
    if (strlen(version) >= sizeof(((struct pt_function *)0)->version))
        return pt_error_set(err, PT_EUSAGE, "version \"%s\" is too long", version);
    int rc = pt_function_validate(cfg, err);
    if (rc)
        return rc;
    struct pt_function *fn = calloc(1, sizeof(*fn));
    if (!fn)
        return pt_error_set(err, PT_ENOMEM, "out of memory for a function");
    struct engine_strv argv = {0}, envp = {0};
    fn->engine = e;
    pt_function_config_init(&fn->cfg);
    rc = pt_function_config_copy(&fn->cfg, cfg, err);
    if (rc)
        goto fail;
    pt_strlcpy(fn->version, version, sizeof(fn->version));
    snprintf(fn->arn, sizeof(fn->arn), "arn:aws:lambda:%s:%s:function:%s", e->region,
             e->account_id, cfg->name);
    if ((size_t)snprintf(fn->log_dir, sizeof(fn->log_dir), "%s/logs/%s", e->state_dir,
                         cfg->name) >= sizeof(fn->log_dir)) {
        rc = pt_error_set(err, PT_EUSAGE, "state directory path is too long");
        goto fail;
    }
    rc = engine_build_command(e, fn, &argv, err);
    if (rc)
        goto fail;
    engine_build_environment(e, fn, &envp);
    if (argv.failed || envp.failed) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory building the runtime command");
        goto fail;
    }
    fn->argv = argv.v;
    fn->envp = envp.v;
    argv.v = envp.v = NULL;

    struct pt_cpu_share share;
    pt_cpu_share_for_memory(cfg->memory_mb, e->host_cpus, &share);
    if (share.capped_by_host && e->opt.notice) {
        char line[256];
        snprintf(line, sizeof(line),
                 "note: %d MB gets %.2f vCPUs on Lambda; this host has %d cores, so %s runs with "
                 "%.2f",
                 cfg->memory_mb, share.vcpus_wanted, e->host_cpus, cfg->name, share.vcpus);
        e->opt.notice(e->opt.notice_arg, line);
    }
    unsigned long long free_mb = e->ephemeral ? pt_ephemeral_short_of(e->ephemeral, cfg->ephemeral_mb) : 0;
    if (free_mb && e->opt.notice) {
        char line[PATH_MAX + 256];
        snprintf(line, sizeof(line),
                 "note: %s's /tmp holds %d MB, but %s has %llu MB free: what the function writes "
                 "past that is lost (only fsync says ENOSPC)",
                 cfg->name, cfg->ephemeral_mb, e->state_dir, free_mb);
        e->opt.notice(e->opt.notice_arg, line);
    }
    pthread_mutex_lock(&e->lock);
    fn->next = e->functions;
    e->functions = fn;
    if (cfg->reserved_concurrency >= 0)
        e->reserved_sum += cfg->reserved_concurrency;
    pthread_mutex_unlock(&e->lock);
    *out = fn;
    return 0;
fail:
    strv_free(&argv);
    strv_free(&envp);
    engine_function_free(fn);
    return rc;
}

void pt_engine_function_remove(struct pt_engine *e, struct pt_function *fn)
{
    pthread_mutex_lock(&e->lock);
    for (struct pt_function **p = &e->functions; *p; p = &(*p)->next) {
        if (*p == fn) {
            *p = fn->next;
            break;
        }
    }
    if (fn->cfg.reserved_concurrency >= 0)
        e->reserved_sum -= fn->cfg.reserved_concurrency;
    pthread_mutex_unlock(&e->lock);
    if (e->sandbox_spare)
        pt_sandbox_spare_forget(e->sandbox_spare, fn->cfg.code_dir);
    engine_function_free(fn);
}

const struct pt_function_config *pt_function_config_of(const struct pt_function *fn)
{
    return &fn->cfg;
}

/* ---- invoke ---- */

/* Called with the lock held: admits one invocation or names the limit that throttles it. */
/*
 * Called with the lock held: PT_ETHROTTLED when `extra` more executions of fn than the
 * invocations in flight would pass its reserved concurrency or the account's, else 0.
 */
static int engine_check_limits(struct pt_engine *e, struct pt_function *fn, int extra,
                               struct pt_invoke_result *res, struct pt_error *err)
{
    int reserved = fn->cfg.reserved_concurrency;
    if (reserved >= 0 && fn->busy + extra >= reserved) {
        pt_strlcpy(res->throttle_reason, "ReservedFunctionConcurrentInvocationLimitExceeded",
                   sizeof(res->throttle_reason));
        return pt_error_set(err, PT_ETHROTTLED,
                            "Rate Exceeded. (function %s: reserved concurrency %d reached)",
                            fn->cfg.name, reserved);
    }
    int unreserved_limit = e->opt.account_concurrency - e->reserved_sum;
    if (reserved < 0 && e->busy_total - e->busy_reserved + extra >= unreserved_limit) {
        pt_strlcpy(res->throttle_reason, "ConcurrentInvocationLimitExceeded",
                   sizeof(res->throttle_reason));
        return pt_error_set(err, PT_ETHROTTLED,
                            "Rate Exceeded. (account concurrency %d reached: %d in flight)",
                            e->opt.account_concurrency, e->busy_total + extra);
    }
    return 0;
}

static int engine_admit(struct pt_engine *e, struct pt_function *fn, struct pt_invoke_result *res,
                        struct pt_error *err)
{
    int rc = engine_check_limits(e, fn, 0, res, err);
    if (rc)
        return rc;
    int reserved = fn->cfg.reserved_concurrency;
    fn->busy++;
    e->busy_total++;
    if (reserved >= 0)
        e->busy_reserved++;
    return 0;
}

static int engine_push_idle(struct pt_function *fn, struct pt_env *env)
{
    if (fn->idle_count == fn->idle_cap) {
        size_t cap = fn->idle_cap ? fn->idle_cap * 2 : 8;
        struct pt_env **v = realloc(fn->idle, cap * sizeof(*v));
        if (!v)
            return -1;
        fn->idle = v;
        fn->idle_cap = cap;
    }
    fn->idle[fn->idle_count++] = env;
    return 0;
}

/* Called with the lock held: queues an environment for teardown by the janitor. */
static int engine_bury(struct pt_engine *e, struct pt_env *env)
{
    if (e->graveyard_count == e->graveyard_cap) {
        size_t cap = e->graveyard_cap ? e->graveyard_cap * 2 : 16;
        struct pt_env **v = realloc(e->graveyard, cap * sizeof(*v));
        if (!v)
            return -1;
        e->graveyard = v;
        e->graveyard_cap = cap;
    }
    e->graveyard[e->graveyard_count++] = env;
    return 0;
}

/* Called with the lock held: an idle environment that cannot serve goes to the janitor. */
static void engine_discard_idle(struct pt_engine *e, struct pt_function *fn, struct pt_env *env)
{
    fn->envs--;
    if (engine_bury(e, env) == 0)
        pthread_cond_signal(&e->janitor_wake);
    else
        pt_env_destroy(env);
}

/*
 * Called with the lock held: the most recently used idle environment whose runtime is still
 * alive, or NULL (a new one is then counted and numbered in *id). An idle runtime may have
 * died (OOM-killed while frozen, or exited after its last answer): such an environment is
 * buried and the next one, or a new one, serves.
 */
static struct pt_env *engine_take_idle(struct pt_engine *e, struct pt_function *fn, bool fresh,
                                       unsigned *id)
{
    struct pt_env *env = NULL;
    while (!fresh && fn->idle_count && !env) {
        env = fn->idle[--fn->idle_count];
        if (!pt_env_alive(env)) {
            engine_discard_idle(e, fn, env);
            env = NULL;
        }
    }
    if (!env) {
        fn->envs++;
        *id = ++e->next_env_id;
    }
    return env;
}

/*
 * Lambda gives every invocation an X-Ray trace header, traced or not: the caller's, else one of
 * its own with Sampled=0 ("Root=1-605a3357-3fdb2ab603403e7e1dcdfb10;Parent=783f1fb448fc1be2;
 * Sampled=0" in a function without active tracing), which the runtimes put in _X_AMZN_TRACE_ID.
 * Root is 1-<epoch seconds, 8 hex>-<24 hex>, Parent 16 hex.
 */
static void engine_trace_header(char *out, size_t size)
{
    char root[25], parent[17];
    pt_random_hex(root, 24);
    pt_random_hex(parent, 16);
    snprintf(out, size, "Root=1-%08llx-%s;Parent=%s;Sampled=0",
             (unsigned long long)time(NULL) & 0xffffffffULL, root, parent);
}

/* A caller's request id goes into URLs and log lines as is: only what UUIDs are made of. */
static bool engine_request_id_ok(const char *id)
{
    if (!id)
        return false;
    size_t n = strspn(id, "0123456789abcdefABCDEF-ghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ");
    return n > 0 && n <= 36 && id[n] == '\0';
}

int pt_engine_invoke(struct pt_engine *e, struct pt_function *fn,
                     const struct pt_invoke_request *req, struct pt_invoke_result *res,
                     struct pt_error *err)
{
    memset(res, 0, sizeof(*res));
    struct pt_env *env = NULL;
    unsigned id = 0;
    pthread_mutex_lock(&e->lock);
    if (e->shutting_down) {
        pthread_mutex_unlock(&e->lock);
        return pt_error_set(err, PT_EINTR, "the engine is shutting down");
    }
    int rc = engine_admit(e, fn, res, err);
    if (rc) {
        pthread_mutex_unlock(&e->lock);
        return rc;
    }
    env = engine_take_idle(e, fn, req->new_environment, &id);
    pthread_mutex_unlock(&e->lock);
    /* The previous invocation returned before its runtime was back on /next: it has to be
     * there (or gone) before this event is handed over, as if it had been waited for then.
     * One still busy (a task outliving its handler) is passed over, as Lambda gives the event
     * to another environment, and goes back to the idle list after the choice. */
    struct pt_env *busy[ENGINE_BUSY_SKIP_MAX];
    size_t nbusy = 0;
    for (enum pt_env_settled s; env && (s = pt_env_settle(env)) != PT_ENV_READY;) {
        pthread_mutex_lock(&e->lock);
        if (s == PT_ENV_GONE)
            engine_discard_idle(e, fn, env);
        else
            busy[nbusy++] = env;
        env = engine_take_idle(e, fn, nbusy == ENGINE_BUSY_SKIP_MAX, &id);
        pthread_mutex_unlock(&e->lock);
    }
    if (nbusy) {
        pthread_mutex_lock(&e->lock);
        for (size_t i = 0; i < nbusy; i++) {
            if (engine_push_idle(fn, busy[i]) != 0)
                engine_discard_idle(e, fn, busy[i]);
        }
        /* A busy environment is an execution as much as an invocation in flight: a new one
         * must fit the concurrency limits with them (this invocation is counted already). */
        if (!env)
            rc = engine_check_limits(e, fn, (int)nbusy - 1, res, err);
        pthread_mutex_unlock(&e->lock);
    }

    if (!env && !rc) {
        struct pt_env_config cfg = {
            .cgroups = e->cgroups,
            .fn = &fn->cfg,
            .version = fn->version,
            .argv = fn->argv,
            .envp = fn->envp,
            .log_dir = fn->log_dir,
            .runtime_dir = e->runtime_dir,
            .host_cpus = e->host_cpus,
            .init_boost = !e->opt.no_init_boost,
            .freeze = !e->opt.no_freeze,
            .freeze_immediately = e->opt.freeze_immediately,
            .hand_connection = fn->cfg.family == PT_RUNTIME_PYTHON,
            .billing = e->opt.billing,
            .output_cap = e->opt.output_cap,
            .init_timeout_ms = e->opt.init_timeout_ms,
            .sandbox = e->sandbox,
            .sandbox_spare = e->sandbox_spare,
            .ephemeral = e->ephemeral,
            .abort_fd = e->abort_fd,
        };
        rc = pt_env_start(&env, &cfg, id, err);
    }
    if (!rc) {
        char request_id[40];
        if (engine_request_id_ok(req->request_id))
            pt_strlcpy(request_id, req->request_id, sizeof(request_id));
        else
            pt_uuid4(request_id);
        char qualified_arn[sizeof(fn->arn) + 140];
        const char *arn = fn->arn;
        if (req->qualifier && *req->qualifier && strlen(req->qualifier) <= 128) {
            snprintf(qualified_arn, sizeof(qualified_arn), "%s:%s", fn->arn, req->qualifier);
            arn = qualified_arn;
        }
        char own_trace[96];
        const char *trace = req->trace_id;
        if (!trace || !*trace) {
            engine_trace_header(own_trace, sizeof(own_trace));
            trace = own_trace;
        }
        struct pt_env_invocation inv = {
            .request_id = request_id,
            .payload = req->payload ? req->payload : "{}",
            .payload_len = req->payload ? req->payload_len : 2,
            .invoked_arn = arn,
            .trace_id = trace,
            .client_context = req->client_context,
            .cognito_identity = req->cognito_identity,
            .report_deferred = req->report_deferred,
        };
        rc = pt_env_invoke(env, &inv, res, err);
    }

    struct pt_env *discard = NULL;
    pthread_mutex_lock(&e->lock);
    fn->busy--;
    e->busy_total--;
    if (fn->cfg.reserved_concurrency >= 0)
        e->busy_reserved--;
    bool keep = env && !rc && pt_env_usable(env) && !req->new_environment && !e->shutting_down;
    if (keep && engine_push_idle(fn, env) != 0)
        keep = false;
    if (keep && !e->opt.no_freeze && !e->opt.freeze_immediately &&
        e->janitor_wake_ns > pt_env_last_used_ns(env) + engine_freeze_grace_ns(fn))
        pthread_cond_signal(&e->janitor_wake); /* schedules its freeze */
    if (!keep && env) {
        fn->envs--;
        discard = env;
    } else if (!env) {
        fn->envs--;
    }
    if (discard && e->janitor_running && !e->janitor_stop && engine_bury(e, discard) == 0) {
        pthread_cond_signal(&e->janitor_wake);
        discard = NULL;
    }
    pthread_mutex_unlock(&e->lock);
    pt_env_destroy(discard); /* only when it could not be handed to the janitor */
    if (rc)
        pt_invoke_result_free(res);
    return rc;
}

void pt_invoke_result_free(struct pt_invoke_result *res)
{
    free(res->payload);
    res->payload = NULL;
    res->payload_len = 0;
}

void pt_engine_counts(struct pt_engine *e, struct pt_engine_counts *out)
{
    pthread_mutex_lock(&e->lock);
    out->environments = 0;
    out->frozen = 0;
    for (struct pt_function *fn = e->functions; fn; fn = fn->next) {
        out->environments += fn->envs;
        for (size_t i = 0; i < fn->idle_count; i++)
            out->frozen += pt_env_frozen(fn->idle[i]);
    }
    out->busy = e->busy_total;
    pthread_mutex_unlock(&e->lock);
    out->sandboxes_made_ahead = e->sandbox_spare ? pt_sandbox_spare_taken(e->sandbox_spare) : 0;
}
