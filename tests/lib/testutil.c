#include "lib/testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/str.h"

static char repo_root[PATH_MAX];
static char example_path[PATH_MAX];
static char *engine_state_dirs[64];
static struct pt_engine *engine_handles[64];

const char *tu_repo_root(void)
{
    if (repo_root[0])
        return repo_root;
    char cand[PATH_MAX];
    if (getcwd(cand, sizeof(cand))) {
        char probe[PATH_MAX + 32];
        snprintf(probe, sizeof(probe), "%s/runtimes/python/bootstrap.py", cand);
        if (pt_path_is_file(probe)) {
            pt_strlcpy(repo_root, cand, sizeof(repo_root));
            return repo_root;
        }
    }
    char exe[PATH_MAX];
    if (pt_self_exe_dir(exe, sizeof(exe), NULL) == 0) {
        pt_path_join(cand, sizeof(cand), exe, "../../..");
        if (realpath(cand, repo_root))
            return repo_root;
    }
    fail_msg("cannot find the repository root (run the tests from it)");
    return NULL;
}

const char *tu_example(const char *name)
{
    /* "noop-c" is an example; "tests/functions/x" a path from the repository root;
     * "/abs/path" itself. */
    if (name[0] == '/')
        snprintf(example_path, sizeof(example_path), "%s", name);
    else
        snprintf(example_path, sizeof(example_path),
                 strchr(name, '/') ? "%s/%s" : "%s/examples/%s", tu_repo_root(), name);
    return example_path;
}

char *tu_mkdtemp(void)
{
    char *p = strdup("/tmp/powertune-test-XXXXXX");
    assert_non_null(p);
    assert_non_null(mkdtemp(p));
    return p;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tu_rmtree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

bool tu_have_cgroups(void)
{
    return geteuid() == 0 && (pt_path_is_dir("/sys/fs/cgroup/cpu") ||
                              pt_path_is_file("/sys/fs/cgroup/cgroup.controllers"));
}

struct pt_engine *tu_engine(const struct pt_engine_options *base)
{
    struct pt_engine_options opt = {0};
    if (base)
        opt = *base;
    char *dir = tu_mkdtemp();
    char runtimes[PATH_MAX];
    snprintf(runtimes, sizeof(runtimes), "%s/runtimes", tu_repo_root());
    opt.state_dir = dir;
    opt.runtime_dir = runtimes;
    struct pt_engine *e = NULL;
    struct pt_error err = {0};
    int rc = pt_engine_create(&e, &opt, &err);
    if (rc)
        fail_msg("pt_engine_create: %s", err.msg);
    for (size_t i = 0; i < 64; i++) {
        if (!engine_handles[i]) {
            engine_handles[i] = e;
            engine_state_dirs[i] = dir;
            break;
        }
    }
    return e;
}

void tu_engine_free(struct pt_engine *e)
{
    pt_engine_destroy(e);
    for (size_t i = 0; i < 64; i++) {
        if (engine_handles[i] == e) {
            tu_rmtree(engine_state_dirs[i]);
            free(engine_state_dirs[i]);
            engine_handles[i] = NULL;
            engine_state_dirs[i] = NULL;
        }
    }
}

int tu_teardown_engines(void **state)
{
    (void)state;
    for (size_t i = 0; i < 64; i++)
        if (engine_handles[i])
            tu_engine_free(engine_handles[i]);
    return 0;
}

struct pt_function *tu_function(struct pt_engine *e, const char *example, int memory_mb,
                                int timeout_s)
{
    return tu_function_named(e, example, NULL, memory_mb, timeout_s);
}

struct pt_function *tu_function_named(struct pt_engine *e, const char *example, const char *name,
                                      int memory_mb, int timeout_s)
{
    struct pt_function_config c;
    struct pt_error err = {0};
    pt_function_config_init(&c);
    if (name)
        pt_strlcpy(c.name, name, sizeof(c.name));
    int rc = pt_function_detect(&c, tu_example(example), &err);
    if (rc)
        fail_msg("detect %s: %s", example, err.msg);
    if (memory_mb)
        c.memory_mb = memory_mb;
    if (timeout_s)
        c.timeout_s = timeout_s;
    struct pt_function *fn = NULL;
    rc = pt_engine_function_add(e, &c, &fn, &err);
    pt_function_config_free(&c);
    if (rc)
        fail_msg("add %s: %s", example, err.msg);
    return fn;
}

void tu_invoke(struct pt_engine *e, struct pt_function *fn, const char *payload,
               struct pt_invoke_result *res)
{
    struct pt_invoke_request req = {.payload = payload, .payload_len = payload ? strlen(payload) : 0};
    struct pt_error err = {0};
    int rc = pt_engine_invoke(e, fn, &req, res, &err);
    if (rc)
        fail_msg("invoke: %s", err.msg);
}

void tu_pathf(char *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, PATH_MAX, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= PATH_MAX)
        fail_msg("path too long");
}

int tu_child_exit_status(pid_t pid)
{
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

int tu_child_report(int fd, pid_t pid, char *out, size_t size)
{
    ssize_t n = read(fd, out, size - 1);
    out[n > 0 ? n : 0] = '\0';
    close(fd);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool tu_cgroup2_mount(char *out)
{
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[4096];
    bool found = false;
    while (f && !found && fgets(line, sizeof(line), f)) {
        char fstype[64];
        const char *dash = strstr(line, " - ");
        found = dash && sscanf(line, "%*s %*s %*s %*s %4095s", out) == 1 &&
                sscanf(dash + 3, "%63s", fstype) == 1 && strcmp(fstype, "cgroup2") == 0;
    }
    if (f)
        fclose(f);
    return found;
}

int tu_count_instance_cgroups(void)
{
    int n = 0;
    /* v1's hierarchies, a pure v2's root, and a hybrid machine's cgroup2 (test_cgroup_v2_core) */
    static const char *const hier[] = {"/sys/fs/cgroup/cpu/powertune", "/sys/fs/cgroup/memory/powertune",
                                       "/sys/fs/cgroup/pids/powertune", "/sys/fs/cgroup/freezer/powertune",
                                       "/sys/fs/cgroup/powertune", "/sys/fs/cgroup/unified/powertune"};
    char prefix[32];
    snprintf(prefix, sizeof(prefix), "%d-", (int)getpid());
    for (size_t i = 0; i < sizeof(hier) / sizeof(hier[0]); i++) {
        DIR *d = opendir(hier[i]);
        if (!d)
            continue;
        struct dirent *de;
        while ((de = readdir(d)))
            if (pt_str_starts_with(de->d_name, prefix))
                n++;
        closedir(d);
    }
    return n;
}

int tu_refuse_mount_setattr(void)
{
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mount_setattr, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]), .filter = code};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
        return -1;
    return 0;
}
