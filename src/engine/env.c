#include "engine/env.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/str.h"
#include "engine/limits.h"
#include "engine/logstream.h"
#include "engine/report.h"
#include "engine/runtime_api.h"

/*
 * What an invocation's end needs: its REPORT, the wait for the runtime's way back to /next that
 * ends its Duration, the reset. Kept in the environment when the caller did not need the REPORT
 * (pt_env_invocation.report_deferred): written once the runtime is back, or at the latest when
 * the environment is taken again or destroyed.
 */
struct env_ending {
    bool pending;
    bool await_next;         /* the runtime posted a result: its /next ends the invocation */
    int64_t start_ns, deadline_ns, end_ns;
    int64_t post_ns, done_ns; /* the response's post (runtimeDone's spans); post_ns 0: none */
    struct pt_cgroup_stats before;
    struct pt_invoke_result res; /* deferred: the caller's result without its payload */
};

struct pt_env {
    unsigned id;
    struct pt_env_config cfg;
    struct pt_cgroup *cg;
    struct pt_rapi *rapi;
    struct pt_logstream log;
    struct pt_cpu_share share;
    unsigned long long boost_quota_us;
    pid_t pid;
    int pidfd;
    int status_fd; /* /proc/<pid>/status of the runtime, for its VmHWM; or -1 */
    int statm_fd;  /* /proc/<pid>/statm: its resident size, the cheap test for re-reading */
    unsigned long long hwm_bytes;     /* VmHWM as last read */
    unsigned long long hwm_peak_seen; /* the cgroup's peak when it was read */
    int out_fd;
    bool boosted;
    bool frozen;
    bool initialized;
    bool init_reported;
    bool usable;
    /* The runtime is gone after a crash or timeout (or died while idle): the environment
     * (cgroup, mount namespace and so /tmp, log stream) stays, and the next invocation starts
     * a new runtime in it, as Lambda resets an environment. */
    bool reset;
    bool reset_wanted; /* set during an invocation, carried out at its end */
    int ns_fd;         /* the runtime's mount namespace (sandboxed), kept for a reset; or -1 */
    struct pt_sandbox_user user; /* sandboxed: the uid its processes run as, its own */
    double init_ms;
    int exec_errno; /* why the last spawn's execve failed, or 0 */
    struct pt_cgroup_stats init_stats; /* at the first /next: what INIT used */
    struct pt_cgroup_stats last_stats; /* after the previous invocation */
    int64_t spawn_ns;
    int64_t last_used_ns;
    struct env_ending ending;
    /* Output before the event's hand-over is drained: what follows is the invocation's, after
     * START (the hand-over and the invoker's wake-up are apart; the runtime prints meanwhile). */
    bool drained_for_start;
    char tmp_opts[64]; /* mount options of a tmpfs /tmp */
    char tmp_image[PATH_MAX]; /* the disk-backed /tmp's template, or "" */
    struct pt_sandbox_spec sandbox_spec;
    char api_var[64];
    char stream_var[160];
    char **envp; /* api_var, stream_var, [ENV_HANDED_VAR,] then cfg.envp */
};

/* Where a runtime that takes a connected Runtime API socket (cfg.hand_connection) finds it. */
#define ENV_HANDED_FD 3
#define ENV_HANDED_VAR "_POWERTUNE_RUNTIME_API_FD=3"

/* What ended a wait. */
enum env_outcome {
    ENV_RESULT,
    ENV_INIT_ERROR,
    ENV_EXITED,
    ENV_TIMEOUT,
    ENV_INIT_TIMEOUT,
    ENV_ABORTED,
};

/* ---- hooks, on the Runtime API server's thread ---- */

/*
 * Frozen between invocations, as on Lambda: right after the result (the
 * runtime is then only on its way back to /next) and thawed before the next
 * event is handed over, both on the invoking thread.
 */
static void env_set_frozen(struct pt_env *env, bool frozen)
{
    if (!env->cfg.freeze || env->frozen == frozen)
        return;
    pt_cgroup_freeze(env->cg, frozen, NULL);
    env->frozen = frozen;
}

static void env_drain_output(struct pt_env *env);

static void env_hook_init_done(void *arg)
{
    struct pt_env *env = arg;
    /* The event is handed over right after this hook: INIT's output goes before START. */
    env_drain_output(env);
    env->drained_for_start = true;
    /* Taken here, not when the invoker wakes up: by then the invocation may be over. */
    memset(&env->init_stats, 0, sizeof(env->init_stats));
    pt_cgroup_read_stats(env->cg, &env->init_stats, NULL);
    if (env->boosted) {
        /* INIT is over: back to the function's own share, as Lambda ends its INIT boost. */
        pt_cgroup_set_cpu(env->cg, env->share.quota_us, env->share.period_us, NULL);
        env->boosted = false;
    }
}

/* ---- the child, between fork and exec: async-signal-safe calls only ---- */

/*
 * What the child writes on the exec pipe when it could not set the environment up (execve's
 * failures write their errno there, which is positive). Such a failure is the engine's, not the
 * function's: the parent makes it an error of the invocation (a ServiceException for serve, a
 * retried one for an Event), where a runtime exiting with 127 read as the function's
 * Runtime.ExitError.
 */
#define ENV_SETUP_FAILED (-1)

/* Says why on fd (the output pipe, read back by env_spawn), marks the exec pipe, exits. */
static void env_child_fail(int fd, int exec_w, const char *what, const char *detail)
{
    ssize_t w = write(fd, "powertune: ", 11);
    w = write(fd, what, strlen(what));
    if (detail) {
        w = write(fd, detail, strlen(detail));
    }
    w = write(fd, "\n", 1);
    int mark = ENV_SETUP_FAILED;
    w = write(exec_w, &mark, sizeof(mark));
    (void)w;
    _exit(127);
}

__attribute__((noreturn)) static void env_child(const struct pt_env *env, int out_w, int exec_w,
                                                 int conn, int ns_fd)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &dfl, NULL);
    setsid();
    /* Above the standard streams' numbers before they are set (the engine's may be closed). */
    if (conn >= 0 && (conn = fcntl(conn, F_DUPFD, ENV_HANDED_FD)) < 0)
        env_child_fail(out_w, exec_w, "cannot keep the Runtime API connection", NULL);
    /* Past the handed connection's number too; close-on-exec, so its EOF still marks the exec. */
    int moved_w = fcntl(exec_w, F_DUPFD_CLOEXEC, ENV_HANDED_FD + 1);
    if (moved_w < 0)
        env_child_fail(out_w, exec_w, "cannot keep the exec pipe", NULL);
    exec_w = moved_w;
    if (pt_cgroup_enter_child(env->cg) != 0)
        env_child_fail(out_w, exec_w, "cannot enter the environment's cgroup", NULL);
    if (env->cfg.sandbox.enabled) {
        const char *why = pt_sandbox_enter(&env->cfg.sandbox, &env->sandbox_spec, ns_fd);
        if (why)
            env_child_fail(out_w, exec_w, "sandbox: ", why);
    }
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out_w, 1) < 0 || dup2(out_w, 2) < 0)
        env_child_fail(out_w, exec_w, "cannot set up standard streams", NULL);
    if (conn >= 0 && conn != ENV_HANDED_FD && dup2(conn, ENV_HANDED_FD) < 0)
        env_child_fail(1, exec_w, "cannot hand over the Runtime API connection", NULL);
    unsigned int first = conn >= 0 ? ENV_HANDED_FD + 1 : 3;
    if ((unsigned int)exec_w > first)
        close_range(first, (unsigned int)exec_w - 1, 0);
    close_range((unsigned int)exec_w + 1, ~0U, 0);
    if (chdir(env->cfg.fn->code_dir) != 0)
        env_child_fail(1, exec_w, "cannot enter the code directory ", env->cfg.fn->code_dir);
    struct rlimit nofile = {PT_NOFILE_MAX, PT_NOFILE_MAX};
    setrlimit(RLIMIT_NOFILE, &nofile);
    execve(env->cfg.argv[0], env->cfg.argv, env->envp);
    /* Lambda's Runtime.InvalidEntrypoint: the parent words it from errno (env_exit_error). */
    int e = errno;
    ssize_t w = write(exec_w, &e, sizeof(e));
    (void)w;
    _exit(127);
}

/* ---- process management ---- */

/*
 * The runtime is started the way posix_spawn starts a program: clone(CLONE_VM | CLONE_VFORK),
 * sharing the engine's memory until execve. A fork copied the engine's page tables (~0.5 ms)
 * and then the child waited for a CPU while the engine ran on (~0.5 ms); here the invoking
 * thread sleeps until the exec and the child runs at once. The price: env_child may only make
 * system calls (no malloc, no stdio, raw credential calls) and must not return.
 * The child's stack is a buffer on the invoking thread's own stack, which is safe because that
 * thread sleeps until the exec, and fast because those pages are already mapped: a fresh mmap
 * made the child fault its first pages in (clone to the child's first instruction 144-175 us
 * against 63-77, clone to the exec 845-975 against 719-803: medians of 63 cold starts, 2-3
 * runs each). 64 KB: the child's deepest frame holds one PATH_MAX buffer. */
#define ENV_CHILD_STACK (64 * 1024)

/*
 * AddressSanitizer cannot follow such a child (at its first no-return call it unpoisons from the
 * child's stack up to the parent thread's, and the abort that follows leaves the parent's
 * sanitizer state broken): the sanitizer build forks. tests/run.sh runs the integration tests
 * in the plain build too, so both ways of starting a runtime are tested.
 */
#if defined(__SANITIZE_ADDRESS__)
#define ENV_SPAWN_BY_FORK 1
#endif

struct env_child_args {
    const struct pt_env *env;
    int out_w;
    int exec_w; /* closed by a successful exec; carries execve's errno otherwise */
    int conn;  /* the runtime's end of its handed connection, or -1 */
    int ns_fd; /* a mount namespace made ahead (pt_sandbox_spare_take), or -1 */
};

static int env_child_main(void *arg)
{
    const struct env_child_args *a = arg;
    env_child(a->env, a->out_w, a->exec_w, a->conn, a->ns_fd);
}

/* The child pid could not set the environment up: reaped, and why (from its output) in err. */
static int env_setup_failed(pid_t pid, int out_r, struct pt_error *err)
{
    char why[512] = "";
    /* Written before the mark the parent has read; non-blocking all the same, as the parent
     * holds the pipe's other end. */
    fcntl(out_r, F_SETFL, fcntl(out_r, F_GETFL) | O_NONBLOCK);
    ssize_t n = read(out_r, why, sizeof(why) - 1);
    why[n > 0 ? n : 0] = '\0';
    why[strcspn(why, "\n")] = '\0';
    const char *reason = strncmp(why, "powertune: ", 11) == 0 ? why + 11 : why;
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    return pt_error_set(err, PT_ESYS, "cannot set up the runtime's environment: %s",
                        *reason ? reason : "no reason given");
}

static int env_spawn(struct pt_env *env, bool boost, struct pt_error *err)
{
    int pipefd[2] = {-1, -1};
    int execfd[2] = {-1, -1};
    int conn[2] = {-1, -1}; /* [0] the server's end, [1] the runtime's */
    int ns_fd = -1;
    unsigned long long quota = boost ? env->boost_quota_us : env->share.quota_us;
    int rc = pt_cgroup_set_cpu(env->cg, quota, env->share.period_us, err);
    if (rc)
        return rc;
    env->boosted = boost;
    env->initialized = false;
    struct pt_rapi_hooks hooks = {.init_done = env_hook_init_done, .arg = env};
    rc = pt_rapi_bind(&env->rapi, &hooks, false, err);
    if (rc)
        return rc;
    if (env->cfg.sandbox.enabled)
        pt_rapi_restrict_peer(env->rapi, env->cfg.sandbox.uid);
    snprintf(env->api_var, sizeof(env->api_var), "AWS_LAMBDA_RUNTIME_API=127.0.0.1:%d",
             pt_rapi_port(env->rapi));
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        rc = pt_error_errno(err, PT_ESYS, errno, "cannot create the output pipe");
        goto out;
    }
    /* Closed by exec: its EOF is the moment the runtime starts (Init Duration's zero, as
     * Lambda measures it), after cgroup entry and sandbox set-up. */
    if (pipe2(execfd, O_CLOEXEC) != 0) {
        rc = pt_error_errno(err, PT_ESYS, errno, "cannot create the exec pipe");
        goto out;
    }
    if (env->cfg.hand_connection &&
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, conn) != 0) {
        rc = pt_error_errno(err, PT_ESYS, errno, "cannot create the Runtime API connection");
        goto out;
    }
    /* A reset or a retried INIT starts the new runtime in the environment's namespace. */
    if (env->ns_fd >= 0)
        ns_fd = env->ns_fd;
    else if (env->cfg.sandbox.enabled && env->cfg.sandbox_spare)
        ns_fd = pt_sandbox_spare_take(env->cfg.sandbox_spare, &env->sandbox_spec);
    struct env_child_args args = {
        .env = env, .out_w = pipefd[1], .exec_w = execfd[1], .conn = conn[1], .ns_fd = ns_fd};
#ifdef ENV_SPAWN_BY_FORK
    pid_t pid = fork();
    if (pid == 0)
        env_child_main(&args);
#else
    _Alignas(64) char stack[ENV_CHILD_STACK];
    pid_t pid = clone(env_child_main, stack + ENV_CHILD_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD,
                      &args);
#endif
    if (pid < 0) {
        rc = pt_error_errno(err, PT_ESYS, errno, "cannot start the runtime's process");
        goto out;
    }
    close(execfd[1]);
    execfd[1] = -1;
    int exec_errno = 0;
    ssize_t got;
    while ((got = read(execfd[0], &exec_errno, sizeof(exec_errno))) < 0 && errno == EINTR) {
    }
    env->exec_errno = got == (ssize_t)sizeof(exec_errno) ? exec_errno : 0;
    if (env->exec_errno == ENV_SETUP_FAILED) {
        env->exec_errno = 0;
        rc = env_setup_failed(pid, pipefd[0], err);
        goto out;
    }
    env->spawn_ns = pt_mono_ns();
    /* Everything from here on runs beside the runtime's start, not before it. */
    env->pid = pid;
    if (env->cfg.sandbox.enabled && env->ns_fd < 0) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
        /* Failing leaves a reset to make a new namespace: an empty /tmp, nothing worse. */
        env->ns_fd = ns_fd >= 0 ? ns_fd : open(path, O_RDONLY | O_CLOEXEC);
        ns_fd = -1;
    }
    env->out_fd = pipefd[0];
    pipefd[0] = -1;
    rc = pt_rapi_serve(env->rapi, err);
    if (!rc && conn[0] >= 0) {
        rc = pt_rapi_add_connection(env->rapi, conn[0], err);
        conn[0] = -1; /* the server's now, or closed */
    }
    if (rc)
        goto out;
    fcntl(env->out_fd, F_SETFL, fcntl(env->out_fd, F_GETFL) | O_NONBLOCK);
    rc = pt_cgroup_adopt(env->cg, pid, err);
    if (rc)
        goto out;
    env->pidfd = pidfd_open(pid, 0);
    if (env->pidfd < 0)
        rc = pt_error_errno(err, PT_ESYS, errno, "cannot open a pidfd for the runtime");
    char status_path[64];
    snprintf(status_path, sizeof(status_path), "/proc/%d/status", (int)pid);
    env->status_fd = open(status_path, O_RDONLY | O_CLOEXEC); /* -1: the cgroup's peak alone */
    snprintf(status_path, sizeof(status_path), "/proc/%d/statm", (int)pid);
    env->statm_fd = open(status_path, O_RDONLY | O_CLOEXEC);
    env->hwm_bytes = 0;
    env->hwm_peak_seen = 0;
out:
    if (ns_fd >= 0 && ns_fd != env->ns_fd)
        close(ns_fd);
    for (int i = 0; i < 2; i++) {
        if (pipefd[i] >= 0)
            close(pipefd[i]);
        if (execfd[i] >= 0)
            close(execfd[i]);
        if (conn[i] >= 0)
            close(conn[i]);
    }
    return rc;
}

static void env_drain_output(struct pt_env *env)
{
    char chunk[65536];
    while (env->out_fd >= 0) {
        ssize_t n = read(env->out_fd, chunk, sizeof(chunk));
        if (n > 0) {
            pt_logstream_output(&env->log, chunk, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0) {
            close(env->out_fd);
            env->out_fd = -1;
        }
        return;
    }
}

/* Reaps the runtime if it has exited; returns its wait status or -1. */
static int env_reap(struct pt_env *env, bool block)
{
    if (env->pid <= 0)
        return -1;
    int status = 0;
    pid_t r;
    do {
        r = waitpid(env->pid, &status, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r != env->pid)
        return -1;
    env->pid = -1;
    return status;
}

/* Ends the runtime: server, every process of the cgroup, descriptors. The cgroup stays. */
static void env_stop_runtime(struct pt_env *env)
{
    /*
     * Killed before its Runtime API server stops: a runtime parked on /next or awaiting its 202
     * would otherwise see the connection close and could print a traceback into the log stream
     * before the kill lands. kill_all thaws a frozen group itself; no handler runs meanwhile
     * (the daemon runs only when this environment's owner pumps it).
     */
    if (env->cg)
        pt_cgroup_kill_all(env->cg, NULL);
    if (env->pid > 0) {
        kill(env->pid, SIGKILL); /* in case it left the group (fallback backend) */
        env_reap(env, true);
    }
    env_set_frozen(env, false);
    pt_rapi_stop(env->rapi);
    env->rapi = NULL;
    if (env->pidfd >= 0)
        close(env->pidfd);
    env->pidfd = -1;
    if (env->status_fd >= 0)
        close(env->status_fd);
    env->status_fd = -1;
    if (env->statm_fd >= 0)
        close(env->statm_fd);
    env->statm_fd = -1;
    env_drain_output(env);
    if (env->out_fd >= 0)
        close(env->out_fd);
    env->out_fd = -1;
}

/* After a crash or timeout, or a runtime that died while idle: the runtime's processes go, the
 * environment stays (env.reset) and the next invocation starts a new runtime in it. Its memory
 * peak restarts, or the new runtime's REPORTs would say the old one's Max Memory Used; false
 * where the kernel cannot restart it (cgroup v2 before Linux 6.12). */
static bool env_reset(struct pt_env *env)
{
    env_stop_runtime(env);
    env->reset = true;
    env->reset_wanted = false;
    env->initialized = false;
    env->init_reported = false;
    return pt_cgroup_reset_peak(env->cg, NULL) == 0;
}

/* ---- waiting ---- */

struct env_wait_state {
    int64_t phase_start_ns; /* spawn (INIT) or the start of a suppressed init */
    int64_t init_limit_ns;  /* how long INIT may take from phase_start_ns */
    int64_t timeout_ns;     /* the function timeout */
    int64_t queued_ns;      /* when the event was handed to the Runtime API server */
    int64_t delivered_ns;   /* when the runtime received it (0: not yet), as env_wait last saw */
    /* A retried INIT's start (0: none): that INIT runs in the invoke phase, under the function
     * timeout, so the handler's deadline counts from here too, as on Lambda. */
    int64_t invoke_start_ns;
    bool start_written;
    int exit_status;
    const char *init_phase; /* NULL: "init"; "invoke" for the retry of a failed INIT */
    const struct pt_env_invocation *inv;
};

static void env_write_line(struct pt_env *env, const char *line, size_t n)
{
    pt_logstream_platform(&env->log, line, n);
}

/* What one poll step saw (output is drained inside). */
enum { ENV_POLL_EXITED = 1, ENV_POLL_ABORTED = 2 };

/*
 * One step of both wait loops: sleeps until the daemon, the runtime's pidfd, its output or
 * (when abortable) the engine's abort fd wakes it, or the deadline or the daemon's own timer
 * passes; drains the output it finds.
 */
static int env_poll(struct pt_env *env, int64_t deadline, int pump_ms, bool abortable)
{
    struct pollfd fds[4] = {
        {.fd = pt_rapi_poll_fd(env->rapi), .events = POLLIN},
        {.fd = env->pidfd, .events = POLLIN},
        {.fd = env->out_fd, .events = POLLIN},
        {.fd = abortable ? env->cfg.abort_fd : -1, .events = POLLIN},
    };
    int64_t left = deadline - pt_mono_ns();
    int wait_ms = left > 0 ? (int)((left + 999999) / 1000000) : 0;
    if (pump_ms >= 0 && pump_ms < wait_ms)
        wait_ms = pump_ms;
    if (poll(fds, 4, wait_ms) < 0 && errno != EINTR)
        return ENV_POLL_ABORTED;
    if (fds[2].revents || (fds[1].revents & POLLIN))
        env_drain_output(env);
    if (fds[3].revents & POLLIN)
        return ENV_POLL_ABORTED;
    return (fds[1].revents & POLLIN) ? ENV_POLL_EXITED : 0;
}

/* The function's log format and system level, the records stamped now (Text has no stamp). */
static struct pt_platform_log env_platform_log(const struct pt_env *env)
{
    const struct pt_function_config *fn = env->cfg.fn;
    bool json = fn->log_format == PT_LOG_FORMAT_JSON;
    return (struct pt_platform_log){fn->log_format, fn->system_log_level,
                                    json ? pt_epoch_ms() : 0};
}

static void env_write_platform(struct pt_env *env, const char *line, size_t n, size_t size)
{
    if (n && n < size)
        env_write_line(env, line, n);
}

/* JSON's platform.initStart, stamped with the spawn (written once the invocation's tail is on). */
static void env_write_init_start(struct pt_env *env, const char *phase)
{
    char line[512];
    struct pt_platform_log pl = env_platform_log(env);
    pl.epoch_ms -= (pt_mono_ns() - env->spawn_ns) / 1000000;
    size_t n = pt_platform_init_start(line, sizeof(line), &pl, phase, env->cfg.fn->name,
                                      env->cfg.version);
    env_write_platform(env, line, n, sizeof(line));
}

static void env_write_start(struct pt_env *env, struct env_wait_state *ws)
{
    char line[1024];
    struct pt_platform_log pl = env_platform_log(env);
    size_t n = 0;
    if (pl.epoch_ms && ws->delivered_ns) /* the records' time: when the runtime got the event */
        pl.epoch_ms -= (pt_mono_ns() - ws->delivered_ns) / 1000000;
    if (env->initialized && !env->init_reported) {
        /* A successful INIT: JSON's initRuntimeDone/initReport; Text prints nothing. */
        env->init_reported = true;
        n = pt_platform_init_end(line, sizeof(line), &pl, env->init_ms, ws->init_phase,
                                 PT_STATUS_SUCCESS, NULL);
    }
    if (n < sizeof(line))
        n += pt_platform_start(line + n, sizeof(line) - n, &pl, ws->inv->request_id,
                               env->cfg.version);
    env_write_platform(env, line, n, sizeof(line));
    ws->start_written = true;
}

/* How long a runtime whose answer broke off may take to be seen exiting. */
#define ENV_TRUNCATED_GRACE_MS 200

/*
 * An answer that broke off mid-body because its runtime died (a crash, an OOM kill while it
 * wrote) is that exit, not a truncated response: the exit's error and the OOM count say what
 * happened. True (the answer dropped) if the runtime is gone within the grace.
 */
static bool env_died_answering(struct pt_env *env, const struct pt_rapi_status *st)
{
    if (st->result_kind != PT_RAPI_TRUNCATED)
        return false;
    struct pollfd p = {.fd = env->pidfd, .events = POLLIN};
    int n;
    while ((n = poll(&p, 1, ENV_TRUNCATED_GRACE_MS)) < 0 && errno == EINTR) {
    }
    if (n <= 0)
        return false;
    struct pt_rapi_result r = {0};
    pt_rapi_take_result(env->rapi, &r);
    pt_rapi_result_free(&r);
    return true;
}

static enum env_outcome env_wait(struct pt_env *env, struct env_wait_state *ws)
{
    for (;;) {
        int pump_ms = pt_rapi_pump(env->rapi);
        struct pt_rapi_status st;
        pt_rapi_status(env->rapi, &st);
        if (st.first_next_ns && !env->initialized) {
            env->initialized = true;
            env->init_ms = (double)(st.first_next_ns - ws->phase_start_ns) / 1e6;
        }
        ws->delivered_ns = st.delivered_ns;
        if (st.delivered_ns && !ws->start_written) {
            if (!env->drained_for_start)
                env_drain_output(env); /* INIT output belongs before START */
            env->drained_for_start = false;
            env_write_start(env, ws);
        }
        if (st.result_ready && env_died_answering(env, &st)) {
            ws->exit_status = env_reap(env, true);
            return ENV_EXITED;
        }
        if (st.result_ready)
            return ENV_RESULT;
        if (st.init_error && !env->initialized)
            return ENV_INIT_ERROR;
        int64_t deadline;
        if (!env->initialized)
            deadline = ws->phase_start_ns + ws->init_limit_ns;
        else if (ws->invoke_start_ns)
            deadline = ws->invoke_start_ns + ws->timeout_ns;
        else if (st.delivered_ns)
            deadline = st.delivered_ns + ws->timeout_ns;
        else /* not picked up yet: count from INIT's end or the queueing, whichever is later */
            deadline = (st.first_next_ns > ws->queued_ns ? st.first_next_ns : ws->queued_ns) +
                       ws->timeout_ns;
        if (pt_mono_ns() >= deadline)
            return env->initialized ? ENV_TIMEOUT : ENV_INIT_TIMEOUT;
        int seen = env_poll(env, deadline, pump_ms, true);
        if (seen == ENV_POLL_ABORTED)
            return ENV_ABORTED;
        if (seen == ENV_POLL_EXITED) {
            pt_rapi_status(env->rapi, &st);
            ws->delivered_ns = st.delivered_ns; /* picked up, answered, exited: all in one poll */
            if (st.result_ready && !env_died_answering(env, &st))
                return ENV_RESULT; /* it answered, then exited: the answer counts */
            if (st.init_error && !env->initialized)
                return ENV_INIT_ERROR;
            ws->exit_status = env_reap(env, true);
            return ENV_EXITED;
        }
    }
}

/* Lambda's line for an invocation that ran into its deadline (JSON: the records' status). */
static void env_log_timed_out(struct pt_env *env, const char *request_id)
{
    const struct pt_function_config *fn = env->cfg.fn;
    char line[320], ts[32];
    pt_format_iso8601_ms(pt_epoch_ms(), ts, sizeof(ts));
    int n = snprintf(line, sizeof(line), "%s %s Task timed out after %.2f seconds\n", ts,
                     request_id, (double)fn->timeout_s);
    if (fn->log_format == PT_LOG_FORMAT_TEXT && n > 0 && (size_t)n < sizeof(line))
        env_write_line(env, line, (size_t)n);
}

/* runtimeDone's spans from the monotonic instants of the invocation (report.h). */
static void env_spans(struct pt_report *out, int64_t start_ns, int64_t post_ns, int64_t done_ns,
                      int64_t next_ns)
{
    int64_t mono = pt_mono_ns(), epoch = pt_epoch_ms();
    if (post_ns < start_ns)
        post_ns = start_ns; /* a post begun before the hand-over was seen: no negative span */
    int64_t at[4] = {start_ns, post_ns, done_ns > post_ns ? done_ns : post_ns, next_ns};
    if (at[3] < at[2])
        at[3] = at[2];
    struct pt_report_span *span[3] = {&out->response_latency, &out->response_duration,
                                      &out->runtime_overhead};
    for (int i = 0; i < 3; i++) {
        span[i]->start_epoch_ms = epoch - (mono - at[i]) / 1000000;
        span[i]->duration_ms = (double)(at[i + 1] - at[i]) / 1e6;
    }
    out->has_spans = true;
}

/* How env_await_next ended. */
/* NONE: nothing to wait for (no result was posted: a timeout, a crash, a failed INIT). */
enum env_next { ENV_NEXT_NONE, ENV_NEXT_PARKED, ENV_NEXT_EXITED, ENV_NEXT_LATE, ENV_NEXT_ABORTED, ENV_NEXT_CUT };

/*
 * After the result: waits for the runtime to come back to /next (parked), to exit (reaped; the
 * caller resets the environment: some runtimes post an error and exit, and the next invocation
 * starts cold) or for the deadline. Deadline 0: looks once, and one still on its way is cut
 * there. *at_ns (may be NULL) gets the monotonic time it ended.
 */
static enum env_next env_await_next(struct pt_env *env, int64_t deadline, bool abortable,
                                    int64_t *at_ns)
{
    enum env_next how;
    for (;;) {
        int pump_ms = pt_rapi_pump(env->rapi);
        struct pt_rapi_status st;
        pt_rapi_status(env->rapi, &st);
        if (st.runtime_waiting) {
            how = ENV_NEXT_PARKED;
            break;
        }
        if (deadline == 0) {
            struct pollfd p = {.fd = env->pidfd, .events = POLLIN};
            bool exited = env->pidfd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
            if (exited)
                env_reap(env, true);
            how = exited ? ENV_NEXT_EXITED : ENV_NEXT_CUT;
            break;
        }
        if (pt_mono_ns() >= deadline) {
            how = ENV_NEXT_LATE;
            break;
        }
        int seen = env_poll(env, deadline, pump_ms, abortable);
        if (seen == ENV_POLL_ABORTED) {
            how = ENV_NEXT_ABORTED;
            break;
        }
        if (seen == ENV_POLL_EXITED) {
            env_reap(env, true);
            how = ENV_NEXT_EXITED;
            break;
        }
    }
    if (at_ns)
        *at_ns = how == ENV_NEXT_LATE ? deadline : pt_mono_ns();
    return how;
}

/*
 * The same wait for an invocation whose runtime is still busy after the function's deadline
 * (pt_env_invoke waits that long), at most ENV_SETTLE_MS from its end: a parked runtime is
 * frozen, here or (by default) by the engine's janitor a moment later, so back-to-back
 * invocations do not pay a freeze and a thaw each. One still busy stays thawed.
 */
#define ENV_SETTLE_MS 1000
static void env_settle(struct pt_env *env)
{
    enum env_next how = env_await_next(env, env->last_used_ns + (int64_t)ENV_SETTLE_MS * 1000000,
                                       false, NULL);
    if (how == ENV_NEXT_PARKED && env->cfg.freeze_immediately)
        env_set_frozen(env, true);
    else if (how == ENV_NEXT_EXITED)
        env_reset(env);
}

static void env_finish_pending(struct pt_env *env, enum env_next how, int64_t at_ns);
static void env_finish_pending_now(struct pt_env *env, bool wait);

enum pt_env_settled pt_env_settle(struct pt_env *env)
{
    if (env->ending.pending && env->usable && !env->reset && env->rapi) {
        /* A deferred end: the runtime is on its way back to /next, or busy after its
         * response (Lambda's invoke phase holds the environment until /next). */
        int64_t bound = env->last_used_ns + (int64_t)ENV_SETTLE_MS * 1000000;
        if (bound > env->ending.deadline_ns)
            bound = env->ending.deadline_ns;
        int64_t at_ns;
        enum env_next how = env_await_next(env, bound, false, &at_ns);
        if (how == ENV_NEXT_LATE && at_ns < env->ending.deadline_ns)
            return PT_ENV_BUSY;
        env_finish_pending(env, how, at_ns); /* back, gone, or past its deadline (reset there) */
    }
    env_finish_pending_now(env, false);
    if (env->usable && !env->reset && env->rapi)
        env_settle(env);
    return env->usable ? PT_ENV_READY : PT_ENV_GONE;
}

bool pt_env_freeze_idle(struct pt_env *env)
{
    if (env->reset)
        return true; /* no runtime until the next invocation: nothing runs, nothing to freeze */
    if (env->ending.pending) {
        /* Its REPORT once the runtime is back (a look, never a wait: the engine's lock is held). */
        int64_t at_ns;
        enum env_next how = env_await_next(env, 0, false, &at_ns);
        if (how == ENV_NEXT_CUT)
            return false; /* still on its way, or busy after its response */
        env_finish_pending(env, how, at_ns); /* back at /next, or exited (reset there) */
        if (env->reset)
            return true;
    }
    if (!env->cfg.freeze || !env->usable || !env->rapi)
        return false;
    if (!env->frozen) {
        /* Nobody else runs an idle environment's daemon: a /next that arrived after the
         * settle bound is only seen parked once its handler has run. */
        pt_rapi_pump(env->rapi);
        struct pt_rapi_status st;
        pt_rapi_status(env->rapi, &st);
        if (st.runtime_waiting)
            env_set_frozen(env, true);
    }
    return env->frozen;
}

bool pt_env_frozen(const struct pt_env *env)
{
    return env->frozen;
}

bool pt_env_alive(struct pt_env *env)
{
    if (env->reset)
        return env->usable;
    if (env->pidfd < 0)
        return false;
    struct pollfd p = {.fd = env->pidfd, .events = POLLIN};
    if (poll(&p, 1, 0) > 0 && (p.revents & POLLIN)) {
        /* Killed while idle (an OOM kill of a frozen group, mostly): a new environment, or
         * its memory peak would stay at the limit in every later REPORT. */
        env_reap(env, false);
        env->usable = false;
    }
    return env->usable;
}

/* ---- results ---- */

static int env_set_payload(struct pt_invoke_result *res, char *payload, size_t len,
                           struct pt_error *err)
{
    if (!payload)
        return pt_error_set(err, PT_ENOMEM, "out of memory for an invocation result");
    free(res->payload);
    res->payload = payload;
    res->payload_len = len;
    return 0;
}

static int env_set_error(struct pt_invoke_result *res, const char *type, const char *message,
                         struct pt_error *err)
{
    res->function_error = true;
    pt_strlcpy(res->error_type, type, sizeof(res->error_type));
    char *doc = pt_error_payload_json(type, message);
    return env_set_payload(res, doc, doc ? strlen(doc) : 0, err);
}

/* Lambda's error for an answer of this kind (neither a response nor an error document). */
static void env_answer_error(enum pt_rapi_result_kind kind, const char **type, const char **msg)
{
    switch (kind) {
    case PT_RAPI_TOO_LARGE:
        *type = "Function.ResponseSizeTooLarge";
        *msg = "Response payload size exceeded maximum allowed payload size (6291556 bytes).";
        return;
    case PT_RAPI_INVALID_MODE:
        *type = "Runtime.InvalidResponseModeHeader";
        *msg = "The runtime posted its response with an invalid "
               "Lambda-Runtime-Function-Response-Mode (allowed: streaming, or no header)";
        return;
    default:
        *type = "Runtime.TruncatedResponse";
        *msg = "The runtime's connection closed before the end of its response's body";
        return;
    }
}

/* The errorType of a runtime's error document: the header, else the body's field. */
static void env_error_type_of(const struct pt_rapi_result *r, char *out, size_t size)
{
    if (r->error_type[0]) {
        pt_strlcpy(out, r->error_type, size);
        return;
    }
    pt_strlcpy(out, "Unhandled", size);
    json_t *doc = r->body ? json_loadb(r->body, r->len, 0, NULL) : NULL;
    const char *t = doc ? json_string_value(json_object_get(doc, "errorType")) : NULL;
    if (t && *t)
        pt_strlcpy(out, t, size);
    json_decref(doc);
}

static void env_read_stats(struct pt_env *env, struct pt_cgroup_stats *st)
{
    memset(st, 0, sizeof(*st));
    pt_cgroup_read_stats(env->cg, st, NULL);
}

/*
 * The runtime's resident-memory high-water mark (VmHWM), file-backed pages included; 0 if
 * unknown. The cgroup's peak counts only pages charged to it, and an interpreter's and its
 * libraries' pages are charged to whichever group first read them (another process, often
 * long ago), so a Node.js no-op showed 8 MB where node had 40 MB resident, and the figure
 * depended on the host's page-cache history. A microVM's memory holds all of it.
 *
 * status costs ~5 us a read (statm ~0.7), a few percent of a warm invoke through serve: it is
 * read again only when the mark can have moved, i.e. when the cgroup's peak grew (memory
 * charged here) or the resident size now passes the last mark (pages mapped that were cached
 * elsewhere). Missed: a peak of pages cached elsewhere, mapped and dropped within one
 * invocation while nothing charged here grew.
 */
static unsigned long long env_runtime_hwm_bytes(struct pt_env *env, unsigned long long peak)
{
    char buf[2048];
    bool fresh = env->hwm_bytes == 0 || peak > env->hwm_peak_seen;
    if (!fresh && env->statm_fd >= 0) {
        ssize_t n = pread(env->statm_fd, buf, sizeof(buf) - 1, 0);
        unsigned long long size_pages = 0, resident_pages = 0;
        if (n > 0) {
            buf[n] = '\0';
            fresh = sscanf(buf, "%llu %llu", &size_pages, &resident_pages) != 2 ||
                    resident_pages * (unsigned long long)sysconf(_SC_PAGESIZE) > env->hwm_bytes;
        }
    }
    if (!fresh)
        return env->hwm_bytes;
    ssize_t n = env->status_fd >= 0 ? pread(env->status_fd, buf, sizeof(buf) - 1, 0) : -1;
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    const char *line = memmem(buf, (size_t)n, "\nVmHWM:", 7);
    env->hwm_bytes = line ? strtoull(line + 7, NULL, 10) * 1024ULL : 0;
    env->hwm_peak_seen = peak;
    return env->hwm_bytes;
}

/* The error type of a runtime that exited (or never started: its exec failed). */
static const char *env_exit_type(const struct pt_env *env)
{
    return env->exec_errno ? "Runtime.InvalidEntrypoint" : "Runtime.ExitError";
}

/* That type, and its message into msg. */
static const char *env_exit_error(const struct pt_env *env, const char *request_id,
                                  int exit_status, char *msg, size_t size)
{
    if (env->exec_errno)
        pt_format_entrypoint_message(msg, size, request_id, env->cfg.argv[0], env->exec_errno);
    else
        pt_format_exit_message(msg, size, request_id, exit_status);
    return env_exit_type(env);
}

/* Handles an INIT that failed, exited or timed out. Returns true if a retry was started. */
static bool env_init_failed(struct pt_env *env, enum env_outcome out, struct env_wait_state *ws,
                            bool suppressed, struct pt_invoke_result *res, struct pt_error *err,
                            int *rc)
{
    double init_ms = (double)(pt_mono_ns() - ws->phase_start_ns) / 1e6;
    char etype[128] = "";
    struct pt_rapi_result ierr = {0};
    enum pt_report_status status = PT_STATUS_ERROR;
    if (out == ENV_INIT_ERROR) {
        pt_rapi_take_init_error(env->rapi, &ierr);
        env_error_type_of(&ierr, etype, sizeof(etype));
    } else if (out == ENV_EXITED) {
        pt_strlcpy(etype, env_exit_type(env), sizeof(etype));
    } else {
        status = PT_STATUS_TIMEOUT;
    }
    env_drain_output(env);
    char line[1024];
    struct pt_platform_log pl = env_platform_log(env);
    size_t n = pt_platform_init_end(line, sizeof(line), &pl, init_ms,
                                    suppressed ? "invoke" : "init", status, etype);
    env_write_platform(env, line, n, sizeof(line));

    if (!suppressed) {
        /* Lambda retries a failed INIT once, inside the invoke phase, under the function timeout. */
        pt_rapi_result_free(&ierr);
        env_stop_runtime(env);
        *rc = env_spawn(env, false, err);
        if (*rc)
            return false;
        ws->init_phase = "invoke";
        env_write_init_start(env, "invoke");
        struct pt_rapi_invocation inv = {
            .request_id = ws->inv->request_id, .payload = ws->inv->payload,
            .payload_len = ws->inv->payload_len, .timeout_ms = ws->timeout_ns / 1000000,
            .start_ns = env->spawn_ns,
            .invoked_arn = ws->inv->invoked_arn, .trace_id = ws->inv->trace_id,
            .client_context = ws->inv->client_context,
            .cognito_identity = ws->inv->cognito_identity};
        *rc = pt_rapi_deliver(env->rapi, &inv, err);
        if (*rc)
            return false;
        ws->phase_start_ns = env->spawn_ns;
        ws->invoke_start_ns = env->spawn_ns;
        ws->queued_ns = env->spawn_ns;
        ws->init_limit_ns = ws->timeout_ns;
        return true;
    }
    /* Second failure: the invocation fails with what INIT reported. */
    env->usable = false;
    res->status = status;
    if (out == ENV_INIT_ERROR && ierr.body && ierr.len) {
        res->function_error = true;
        pt_strlcpy(res->error_type, etype, sizeof(res->error_type));
        *rc = env_set_payload(res, ierr.body, ierr.len, err);
        ierr.body = NULL;
    } else if (out == ENV_INIT_ERROR) {
        *rc = env_set_error(res, etype, "", err);
    } else if (out == ENV_EXITED) {
        char msg[PATH_MAX + 256];
        const char *type = env_exit_error(env, ws->inv->request_id, ws->exit_status, msg,
                                          sizeof(msg));
        *rc = env_set_error(res, type, msg, err);
    } else {
        char msg[256];
        pt_format_timeout_message(msg, sizeof(msg), ws->inv->request_id,
                                  (double)ws->timeout_ns / 1e9);
        *rc = env_set_error(res, "Sandbox.Timedout", msg, err);
    }
    pt_strlcpy(res->error_type, status == PT_STATUS_TIMEOUT ? "Sandbox.Timedout" : etype,
               sizeof(res->error_type));
    pt_rapi_result_free(&ierr);
    return false;
}

/*
 * The end of an invocation, given how the runtime's way back to /next ended when it posted a
 * result (how, at end->end_ns; NONE when it posted none): the counters, END/REPORT (or the JSON
 * records), the reset a crash, timeout or OOM asks for, and res's figures and log tail.
 *
 * Lambda's Duration runs until the runtime is back at /next, not until its response:
 * platform.runtimeDone's runtimeOverhead span, work done after the response, is part of
 * durationMs and billed (a Node.js capture in lambda-wire.md §4.2: 8.7 of 11.6 ms). One still
 * busy at the function's deadline is billed to it and reset, as a timeout.
 */
static void env_finish(struct pt_env *env, const struct env_ending *end,
                       struct pt_invoke_result *res, enum env_next how)
{
    const struct pt_function_config *fn = env->cfg.fn;
    if (how != ENV_NEXT_NONE) {
        if (how == ENV_NEXT_EXITED || how == ENV_NEXT_LATE)
            env->reset_wanted = true;
        env_drain_output(env);
        if (how == ENV_NEXT_LATE) { /* the response stands: its caller had it */
            res->status = PT_STATUS_TIMEOUT;
            env_log_timed_out(env, res->request_id);
        }
    }
    struct pt_cgroup_stats after;
    env_read_stats(env, &after);
    env->last_stats = after;
    bool oom = after.oom_kills > end->before.oom_kills && (!env->usable || env->reset_wanted);
    unsigned long long peak = after.memory_peak_bytes, hwm = env_runtime_hwm_bytes(env, peak);
    unsigned long long mb = ((hwm > peak ? hwm : peak) + (1ULL << 20) - 1) >> 20;
    res->max_memory_used_mb = oom || mb > (unsigned long long)fn->memory_mb ? fn->memory_mb
                                                                             : (int)mb;
    if (oom) {
        res->status = PT_STATUS_ERROR;
    }
    res->cpu_time_ms = after.cpu_usage_ns > end->before.cpu_usage_ns
                           ? (double)(after.cpu_usage_ns - end->before.cpu_usage_ns) / 1e6
                           : 0.0;
    res->duration_ms = (double)(end->end_ns - end->start_ns) / 1e6;
    if (res->duration_ms < 0)
        res->duration_ms = 0;
    res->billed_ms = pt_billed_duration_ms(res->duration_ms, res->init_duration_ms,
                                           env->cfg.billing, fn->family == PT_RUNTIME_PROVIDED);

    char line[1024];
    struct pt_report rep = {
        .duration_ms = res->duration_ms,
        .billed_ms = res->billed_ms,
        .memory_mb = fn->memory_mb,
        .max_memory_used_mb = res->max_memory_used_mb,
        .init_duration_ms = res->init_duration_ms,
        .status = res->status,
    };
    pt_strlcpy(rep.request_id, res->request_id, sizeof(rep.request_id));
    if (end->post_ns && how == ENV_NEXT_PARKED)
        env_spans(&rep, end->start_ns, end->post_ns, end->done_ns, end->end_ns);
    if (res->status == PT_STATUS_ERROR)
        pt_strlcpy(rep.error_type, oom ? "Runtime.OutOfMemory" : res->error_type,
                   sizeof(rep.error_type));
    struct pt_platform_log pl = env_platform_log(env);
    bool responded = res->status == PT_STATUS_SUCCESS && !res->function_error;
    size_t n = pt_platform_end(line, sizeof(line), &pl, &rep,
                               responded ? (long long)res->payload_len : -1);
    env_write_platform(env, line, n, sizeof(line));
    pt_logstream_end_invocation(&env->log);
    res->log_tail_len = pt_tail_copy(&env->log.tail, res->log_tail);
    /* An OOM kill resets in place too (Lambda re-runs INIT in the same environment after a
     * crash, timeout or out-of-memory error), once the group's memory peak restarts; where it
     * cannot (cgroup v2 before Linux 6.12), the environment is replaced, or its peak would stay
     * at the limit in every later REPORT (after a crash or timeout the old peak is kept there). */
    if (env->reset_wanted && env->usable && !env_reset(env) && oom)
        env->usable = false;
    env->last_used_ns = pt_mono_ns();
    /* The function's next cold starts' mount namespaces are made now, after the response, not
     * while the runtime started: building one (a loop device and an ext4 mount) beside INIT
     * made the Python no-op's Init Duration ~1 ms longer (mount activity slows path lookups
     * everywhere; Python's imports are mostly stats). */
    if (res->cold_start && env->cfg.sandbox.enabled && env->cfg.sandbox_spare)
        pt_sandbox_spare_prepare(env->cfg.sandbox_spare, &env->sandbox_spec, NULL);
}

/* A deferred end, written with how its runtime's way back to /next ended (at at_ns). */
static void env_finish_pending(struct pt_env *env, enum env_next how, int64_t at_ns)
{
    if (!env->ending.pending)
        return;
    env->ending.pending = false;
    env->ending.end_ns = at_ns;
    env_finish(env, &env->ending, &env->ending.res, how);
}

/* The same, looking at the runtime now (wait: up to its deadline); one not back is cut. */
static void env_finish_pending_now(struct pt_env *env, bool wait)
{
    if (!env->ending.pending)
        return;
    int64_t at_ns = pt_mono_ns();
    enum env_next how = !env->rapi ? ENV_NEXT_CUT
                                   : env_await_next(env, wait ? env->ending.deadline_ns : 0, wait,
                                                    &at_ns);
    env_finish_pending(env, how, at_ns);
}

int pt_env_invoke(struct pt_env *env, const struct pt_env_invocation *inv,
                  struct pt_invoke_result *res, struct pt_error *err)
{
    env_finish_pending_now(env, true); /* the engine settles it first; this is the backstop */
    if (!env->usable)
        return pt_error_set(err, PT_ESTATE, "environment %u is not usable", env->id);
    if (env->reset) {
        env_set_frozen(env, false); /* a new process would be frozen on entry */
        int rc = env_spawn(env, env->cfg.init_boost, err);
        if (rc) {
            env->usable = false;
            return rc;
        }
        env->reset = false;
    }
    const struct pt_function_config *fn = env->cfg.fn;
    pt_logstream_begin_invocation(&env->log);
    pt_strlcpy(res->request_id, inv->request_id, sizeof(res->request_id));
    pt_strlcpy(res->executed_version, env->cfg.version, sizeof(res->executed_version));
    res->memory_mb = fn->memory_mb;
    res->init_duration_ms = -1;
    res->cold_start = !env->initialized;
    res->degraded = pt_cgroup_manager_degraded(env->cfg.cgroups);
    res->sandboxed = env->cfg.sandbox.enabled;
    if (res->cold_start)
        env_write_init_start(env, "init");

    /* Before: only the CPU counter (and the OOM count already known); after: everything. */
    struct pt_cgroup_stats before = env->last_stats;
    pt_cgroup_read_cpu(env->cg, &before.cpu_usage_ns, NULL);
    struct env_wait_state ws = {
        .phase_start_ns = env->spawn_ns,
        .init_limit_ns = (int64_t)(env->cfg.init_timeout_ms > 0 ? env->cfg.init_timeout_ms
                                                               : PT_INIT_TIMEOUT_MS) * 1000000,
        .timeout_ns = (int64_t)fn->timeout_s * 1000000000LL,
        .inv = inv,
    };
    struct pt_rapi_invocation rinv = {
        .request_id = inv->request_id, .payload = inv->payload, .payload_len = inv->payload_len,
        .timeout_ms = (int64_t)fn->timeout_s * 1000, .invoked_arn = inv->invoked_arn,
        .trace_id = inv->trace_id, .client_context = inv->client_context,
        .cognito_identity = inv->cognito_identity};
    env_set_frozen(env, false);
    ws.queued_ns = pt_mono_ns();
    env_drain_output(env); /* a parked runtime gets the event now: what it printed is before */
    env->drained_for_start = true;
    int rc = pt_rapi_deliver(env->rapi, &rinv, err);
    if (rc) {
        env->usable = false;
        return rc;
    }
    bool suppressed = false;
    bool init_seen = env->initialized;
    enum env_outcome out;
    for (;;) {
        out = env_wait(env, &ws);
        if (!init_seen && env->initialized) {
            init_seen = true;
            before = env->init_stats; /* CPU of the invocation, not of INIT */
        }
        if (out == ENV_ABORTED)
            break;
        bool init_failed = !env->initialized && (out == ENV_INIT_ERROR || out == ENV_EXITED ||
                                                 out == ENV_INIT_TIMEOUT);
        if (!init_failed)
            break;
        rc = 0;
        bool retried = env_init_failed(env, out, &ws, suppressed, res, err, &rc);
        if (rc) {
            env->usable = false;
            return rc;
        }
        if (!retried)
            break;
        suppressed = true;
        init_seen = false;
    }
    if (out == ENV_ABORTED) {
        pt_rapi_abandon(env->rapi);
        env->usable = false;
        return pt_error_set(err, PT_EINTR, "invocation %s interrupted: the engine is shutting down",
                            inv->request_id);
    }

    /* An event never picked up (the runtime exited or timed out before coming back to /next)
     * was waited for from its queueing, as env_wait's deadline counts. */
    int64_t start_ns = suppressed        ? ws.invoke_start_ns
                       : ws.delivered_ns ? ws.delivered_ns
                                         : ws.queued_ns;
    struct env_ending end = {.start_ns = start_ns, .deadline_ns = start_ns + ws.timeout_ns,
                             .end_ns = pt_mono_ns()};
    if (res->cold_start && !suppressed && env->initialized) {
        res->init_duration_ms = env->init_ms;
    }
    /* Before any line of the invocation's own: a runtime that exited in a retried INIT has
     * its exit lines between START and END, as on Lambda. */
    if (!ws.start_written)
        env_write_start(env, &ws);
    if (out == ENV_RESULT) {
        struct pt_rapi_result r = {0};
        pt_rapi_take_result(env->rapi, &r);
        /*
         * Lambda's Duration runs until the runtime is back at /next, not until its response:
         * platform.runtimeDone's runtimeOverhead span, work done after the response, is part
         * of durationMs and billed (a Node.js capture in lambda-wire.md §4.2: 8.7 of 11.6 ms).
         * One still busy at the function's deadline is billed to it and reset, as a timeout.
         */
        end.await_next = true;
        end.post_ns = r.kind == PT_RAPI_RESPONSE ? r.start_ns : 0;
        end.done_ns = r.done_ns;
        if (r.kind == PT_RAPI_RESPONSE) {
            rc = env_set_payload(res, r.body, r.len, err);
            r.body = NULL;
        } else if (r.kind != PT_RAPI_ERROR) {
            /* The platform's own errors about an answer it could not take. */
            const char *type, *msg;
            env_answer_error(r.kind, &type, &msg);
            res->status = PT_STATUS_ERROR;
            rc = env_set_error(res, type, msg, err);
        } else {
            res->function_error = true;
            env_error_type_of(&r, res->error_type, sizeof(res->error_type));
            if (r.body && r.len) {
                rc = env_set_payload(res, r.body, r.len, err);
                r.body = NULL;
            } else {
                rc = env_set_error(res, res->error_type, "", err);
            }
        }
        pt_rapi_result_free(&r);
    } else if (out == ENV_TIMEOUT) {
        env_drain_output(env);
        env->reset_wanted = true;
        res->status = PT_STATUS_TIMEOUT;
        end.end_ns = end.deadline_ns; /* Lambda reports the timeout exactly */
        char msg[256];
        pt_format_timeout_message(msg, sizeof(msg), inv->request_id, (double)fn->timeout_s);
        rc = env_set_error(res, "Sandbox.Timedout", msg, err);
        env_log_timed_out(env, inv->request_id);
    } else if (out == ENV_EXITED) {
        env->reset_wanted = true;
        char msg[PATH_MAX + 256], line[PATH_MAX + 320];
        const char *type = env_exit_error(env, inv->request_id, ws.exit_status, msg, sizeof(msg));
        rc = env_set_error(res, type, msg, err);
        res->status = PT_STATUS_ERROR;
        int n = snprintf(line, sizeof(line), "%s\n%s\n", msg, type);
        if (fn->log_format == PT_LOG_FORMAT_TEXT)
            env_write_line(env, line, (size_t)n);
    }
    /* INIT failures that were not retried already filled res (status, payload). */
    end.before = before;
    /* Deferred only where the janitor comes by to write it (it is the one freezing). */
    bool janitor = env->cfg.freeze && !env->cfg.freeze_immediately;
    enum env_next how = ENV_NEXT_NONE;
    if (end.await_next)
        how = inv->report_deferred && janitor && !rc
                  ? env_await_next(env, 0, false, &end.end_ns) /* a look: back already? */
                  : env_await_next(env, end.deadline_ns, true, &end.end_ns);
    if (how == ENV_NEXT_CUT) {
        /* The caller has its result now, as Lambda's has at the response; the REPORT waits. */
        env->ending = end;
        env->ending.pending = true;
        env->ending.res = *res;
        env->ending.res.payload = NULL;
        res->duration_ms = (double)(end.done_ns - start_ns) / 1e6; /* provisional: to the response */
        env->last_used_ns = pt_mono_ns();
        return 0;
    }
    env_finish(env, &end, res, how);
    /* Otherwise the engine settles it when it takes the environment again. A reset one has no
     * runtime (nor Runtime API server) until its next invocation: pt_env_settle leaves it alone. */
    if (!rc && env->cfg.freeze_immediately)
        pt_env_settle(env);
    return rc;
}

/* ---- creation and destruction ---- */

int pt_env_start(struct pt_env **out, const struct pt_env_config *cfg, unsigned id,
                 struct pt_error *err)
{
    struct pt_env *env = calloc(1, sizeof(*env));
    if (!env)
        return pt_error_set(err, PT_ENOMEM, "out of memory for an environment");
    env->id = id;
    env->cfg = *cfg;
    env->pid = -1;
    env->pidfd = -1;
    env->status_fd = -1;
    env->statm_fd = -1;
    env->out_fd = -1;
    env->ns_fd = -1;
    env->user.lock_fd = -1;
    env->log.fd = -1;
    pt_cpu_share_for_memory(cfg->fn->memory_mb, cfg->host_cpus, &env->share);
    snprintf(env->tmp_opts, sizeof(env->tmp_opts), "size=%dm,mode=1777", cfg->fn->ephemeral_mb);
    env->sandbox_spec = (struct pt_sandbox_spec){.code_dir = cfg->fn->code_dir,
                                                 .runtime_dir = cfg->runtime_dir,
                                                 .tmp_image = env->tmp_image,
                                                 .tmp_opts = env->tmp_opts,
                                                 .writable_dir = cfg->sandbox.writable_dir};
    env->boost_quota_us = pt_cpu_boost_quota_us(&env->share, cfg->host_cpus);

    size_t n = 0;
    while (cfg->envp[n])
        n++;
    int rc = 0;
    if (cfg->sandbox.enabled) {
        if ((rc = pt_sandbox_user_take(&env->user, err)) != 0)
            goto fail;
        env->cfg.sandbox.uid = env->user.uid;
    }
    if (cfg->sandbox.enabled && cfg->ephemeral &&
        (rc = pt_ephemeral_template(cfg->ephemeral, cfg->fn->ephemeral_mb, env->tmp_image,
                                    sizeof(env->tmp_image), err)) != 0)
        goto fail;
    env->envp = calloc(n + 4, sizeof(char *));
    if (!env->envp) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory for the environment variables");
        goto fail;
    }
    rc = pt_logstream_init(&env->log, cfg->log_dir, cfg->version, cfg->output_cap, err);
    if (rc)
        goto fail;
    snprintf(env->stream_var, sizeof(env->stream_var), "AWS_LAMBDA_LOG_STREAM_NAME=%s",
             env->log.name);
    size_t k = 0;
    env->envp[k++] = env->api_var;
    env->envp[k++] = env->stream_var;
    if (cfg->hand_connection)
        env->envp[k++] = (char *)ENV_HANDED_VAR;
    for (size_t i = 0; i < n; i++)
        env->envp[k++] = cfg->envp[i];

    char name[64];
    snprintf(name, sizeof(name), "env-%u", id);
    struct pt_cgroup_limits lim = {
        .cpu_quota_us = cfg->init_boost ? env->boost_quota_us : env->share.quota_us,
        .cpu_period_us = env->share.period_us,
        .memory_bytes = (unsigned long long)cfg->fn->memory_mb << 20,
        .pids_max = PT_PIDS_MAX,
    };
    rc = pt_cgroup_create(cfg->cgroups, name, &lim, &env->cg, err);
    if (rc)
        goto fail;
    rc = env_spawn(env, cfg->init_boost, err);
    if (rc)
        goto fail;
    /* While the runtime starts: nothing reads its output before pt_env_invoke. */
    rc = pt_logstream_create_file(&env->log, err);
    if (rc)
        goto fail;
    /* The next environment's groups, also while this runtime starts, limited as this one's (an
     * optimization: a failure here leaves the next one to make its own). */
    pt_cgroup_prepare_spare(cfg->cgroups, &lim, NULL);
    /* Opens the group's accounting files now (they stay open): the runtime's first /next then
     * reads INIT's counters with preads only, where opening the four files took ~0.1 ms of
     * the time between INIT's end and the event's hand-over. */
    pt_cgroup_open_stats(env->cg, NULL);
    env->usable = true;
    env->last_used_ns = pt_mono_ns();
    *out = env;
    return 0;
fail:
    pt_env_destroy(env);
    return rc;
}

bool pt_env_usable(const struct pt_env *env)
{
    return env->usable;
}

int64_t pt_env_last_used_ns(const struct pt_env *env)
{
    return env->last_used_ns;
}

void pt_env_destroy(struct pt_env *env)
{
    if (!env)
        return;
    env_finish_pending_now(env, false); /* its REPORT before the runtime goes */
    env_stop_runtime(env);
    if (env->ns_fd >= 0)
        close(env->ns_fd);
    /* The uid goes back only once none of the environment's processes is left to keep it:
     * one that outlived the group's kill would share it with the next environment given it. */
    if (pt_cgroup_destroy(env->cg, NULL) == 0)
        pt_sandbox_user_release(&env->user);
    pt_logstream_close(&env->log);
    free(env->envp);
    free(env);
}
