/*
 * test_cgroup_real.c - the cgroup backends on this machine's real cgroups:
 * CPU quota, OOM kill, freezer, kill_all, stale cleanup, AUTO detection, and
 * the "none" fallback's duty cycle. They run on the hierarchy AUTO picks: the
 * unified one when its root offers cpu and memory (a pure v2 machine), else
 * v1's (this machine's and CI's, where test_cgroup_v2_core runs the v2 backend
 * on the cgroup2 mount without them). Skipped when not root or without cgroups.
 * Every test checks that its instance's directories are gone at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/fs.h"
#include "base/str.h"
#include "engine/cgroup.h"
#include "engine/limits.h"
#include "lib/testutil.h"

#define CG "/sys/fs/cgroup"
#define MIB (1024ULL * 1024ULL)

enum workload { WORK_BUSY, WORK_ALLOC_200MB, WORK_SLEEP, WORK_FORK_AND_SLEEP, WORK_RLIMIT };

static const char *const v1_hiers[] = {"cpu", "cpuacct", "memory", "pids", "freezer"};

/* The real hierarchy under test (found once by find_real_hierarchy). */
static struct {
    enum pt_cgroup_kind kind; /* PT_CGROUP_NONE: no usable real cgroups, the tests skip */
    char v2_root[PATH_MAX];   /* the cgroup2 mount, when kind is PT_CGROUP_V2 */
} real;

/* What a failing test leaves behind, for teardown to clean up (one of each per test). */
static struct {
    struct pt_cgroup_manager *m;
    struct pt_cgroup *cg;
    pid_t pid;
} leftover;

static int teardown(void **state)
{
    (void)state;
    if (leftover.pid > 0) {
        kill(-leftover.pid, SIGKILL);
        kill(leftover.pid, SIGKILL);
        waitpid(leftover.pid, NULL, 0);
    }
    if (leftover.cg)
        pt_cgroup_destroy(leftover.cg, NULL);
    if (leftover.m)
        pt_cgroup_manager_close(leftover.m);
    memset(&leftover, 0, sizeof(leftover));
    return 0;
}

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* The instance name the tests give the manager: "<pid>-<starttime>-test", the form cgroup.c uses. */
static void own_instance(char *out, size_t size)
{
    char text[1024];
    assert_int_equal(pt_file_read_small("/proc/self/stat", text, sizeof(text), NULL), 0);
    char *p = strrchr(text, ')');
    assert_non_null(p);
    unsigned long long start = 0;
    assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
                                   "%*d %*d %*d %*d %llu",
                            &start),
                     1);
    snprintf(out, size, "%ld-%llu-test", (long)getpid(), start);
}

/* The word `name` among the blank-separated words of `list`. */
static bool has_word(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strstr(list, name); p; p = strstr(p + 1, name))
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
            return true;
    return false;
}

/* What AUTO would pick, seen from outside the library: mountinfo, cgroup.controllers, v1's files. */
static void find_real_hierarchy(void)
{
    real.kind = PT_CGROUP_NONE;
    if (geteuid() != 0)
        return;
    char path[PATH_MAX + 32], text[512];
    if (tu_cgroup2_mount(real.v2_root)) {
        snprintf(path, sizeof(path), "%s/cgroup.controllers", real.v2_root);
        if (pt_file_read_small(path, text, sizeof(text), NULL) == 0 && has_word(text, "cpu") &&
            has_word(text, "memory"))
            real.kind = PT_CGROUP_V2;
    }
    if (real.kind == PT_CGROUP_NONE && exists(CG "/cpu/cpu.cfs_quota_us") &&
        exists(CG "/memory/memory.limit_in_bytes") && exists(CG "/freezer/cgroup.procs"))
        real.kind = PT_CGROUP_V1;
}

/* The hierarchies a group has a directory in: v1's five, or the one unified root. */
static size_t hier_count(void)
{
    return real.kind == PT_CGROUP_V2 ? 1 : sizeof(v1_hiers) / sizeof(v1_hiers[0]);
}

/* The root of hierarchy i (of hier_count()), as a path. */
static void hier_root(char *out, size_t i)
{
    if (real.kind == PT_CGROUP_V2)
        pt_strlcpy(out, real.v2_root, PATH_MAX);
    else
        tu_pathf(out, CG "/%s", v1_hiers[i]);
}

/* The root of the hierarchy holding `controller` (a v1 name: "cpu", "memory", "freezer"...). */
static void ctl_root(char *out, const char *controller)
{
    for (size_t i = 0; i < hier_count(); i++)
        if (real.kind == PT_CGROUP_V2 || strcmp(v1_hiers[i], controller) == 0) {
            hier_root(out, i);
            return;
        }
    fail_msg("no hierarchy %s", controller);
}

static void assert_no_instance_dirs(void)
{
    char inst[64];
    own_instance(inst, sizeof(inst));
    for (size_t i = 0; i < hier_count(); i++) {
        char root[PATH_MAX], path[PATH_MAX];
        hier_root(root, i);
        tu_pathf(path, "%s/powertune/%s", root, inst);
        if (exists(path))
            fail_msg("%s still exists", path);
    }
}

/* <controller's hierarchy>/powertune/<this test's instance>/<group>[/<file>]. */
static void group_path(char *out, const char *controller, const char *group, const char *file)
{
    char inst[64], root[PATH_MAX];
    own_instance(inst, sizeof(inst));
    ctl_root(root, controller);
    if (file)
        tu_pathf(out, "%s/powertune/%s/%s/%s", root, inst, group, file);
    else
        tu_pathf(out, "%s/powertune/%s/%s", root, inst, group);
}

/* The text of a group's file. */
static void assert_group_file(const char *controller, const char *group, const char *file,
                              const char *want)
{
    char path[PATH_MAX], text[64];
    group_path(path, controller, group, file);
    assert_int_equal(pt_file_read_small(path, text, sizeof(text), NULL), 0);
    assert_string_equal(text, want);
}

/* The group's CPU limit: quota_us per period_us, quota 0 = none (v1 leaves the period as it was). */
static void assert_cpu_limit(const char *group, unsigned long long quota_us,
                             unsigned long long period_us)
{
    char want[64];
    if (real.kind == PT_CGROUP_V2) {
        if (quota_us)
            snprintf(want, sizeof(want), "%llu %llu\n", quota_us, period_us);
        else
            snprintf(want, sizeof(want), "max %llu\n", period_us);
        assert_group_file("cpu", group, "cpu.max", want);
        return;
    }
    if (!quota_us) {
        assert_group_file("cpu", group, "cpu.cfs_quota_us", "-1\n");
        return;
    }
    snprintf(want, sizeof(want), "%llu\n", quota_us);
    assert_group_file("cpu", group, "cpu.cfs_quota_us", want);
    snprintf(want, sizeof(want), "%llu\n", period_us);
    assert_group_file("cpu", group, "cpu.cfs_period_us", want);
}

/* The group's memory limit, and no swap where the kernel accounts it. */
static void assert_memory_limit(const char *group, unsigned long long bytes)
{
    char want[32], path[PATH_MAX];
    snprintf(want, sizeof(want), "%llu\n", bytes);
    bool v2 = real.kind == PT_CGROUP_V2;
    assert_group_file("memory", group, v2 ? "memory.max" : "memory.limit_in_bytes", want);
    group_path(path, "memory", group, v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes");
    if (exists(path))
        assert_group_file("memory", group, v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes",
                          v2 ? "0\n" : want);
}

#define SKIP_UNLESS_CGROUPS()                                                                    \
    do {                                                                                         \
        if (real.kind == PT_CGROUP_NONE) {                                                       \
            print_message("not root or no usable cgroup hierarchy: skipped\n");                  \
            skip();                                                                              \
        }                                                                                        \
    } while (0)

static struct pt_cgroup_manager *open_manager(enum pt_cgroup_kind kind)
{
    struct pt_cgroup_manager *m = NULL;
    char inst[64];
    own_instance(inst, sizeof(inst));
    struct pt_cgroup_manager_options opt = {.kind = kind, .instance = inst};
    struct pt_error err;
    if (pt_cgroup_manager_open(&m, &opt, &err) != 0)
        fail_msg("manager_open: %s", err.msg);
    leftover.m = m;
    return m;
}

static struct pt_cgroup *create(struct pt_cgroup_manager *m, const char *name,
                                unsigned long long quota_us, unsigned long long memory)
{
    struct pt_cgroup_limits lim = {.cpu_quota_us = quota_us,
                                   .cpu_period_us = PT_CFS_PERIOD_US,
                                   .memory_bytes = memory,
                                   .pids_max = PT_PIDS_MAX};
    struct pt_cgroup *cg = NULL;
    struct pt_error err;
    if (pt_cgroup_create(m, name, &lim, &cg, &err) != 0)
        fail_msg("create: %s", err.msg);
    leftover.cg = cg;
    return cg;
}

static void run_workload(enum workload w, unsigned long long memory)
{
    switch (w) {
    case WORK_BUSY: {
        volatile unsigned long n = 0;
        for (;;)
            n++;
    }
    case WORK_ALLOC_200MB: {
        size_t size = 200 * MIB;
        char *p = malloc(size);
        if (!p)
            _exit(3);
        for (size_t i = 0; i < size; i += 4096)
            p[i] = 1;
        _exit(0); /* survived: the limit did not hold */
    }
    case WORK_SLEEP:
        for (;;)
            pause();
    case WORK_FORK_AND_SLEEP:
        for (int i = 0; i < 3; i++)
            if (fork() == 0)
                for (;;)
                    pause();
        for (;;)
            pause();
    case WORK_RLIMIT: {
        struct rlimit rl;
        if (getrlimit(RLIMIT_DATA, &rl) != 0)
            _exit(4);
        _exit(rl.rlim_cur == memory ? 0 : 5);
    }
    }
    _exit(6);
}

/* Forks a child that calls setsid() and enter_child, reports, then runs w. */
static pid_t spawn(struct pt_cgroup *cg, enum workload w, unsigned long long memory)
{
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    leftover.pid = pid;
    if (pid == 0) {
        setsid();
        int rc = pt_cgroup_enter_child(cg);
        char c = rc == 0 ? 'k' : 'e';
        if (write(p[1], &c, 1) != 1 || rc != 0)
            _exit(99);
        close(p[1]);
        run_workload(w, memory);
    }
    close(p[1]);
    char c = 0;
    ssize_t r = read(p[0], &c, 1);
    close(p[0]);
    assert_int_equal(r, 1);
    assert_int_equal(c, 'k');
    struct pt_error err;
    if (pt_cgroup_adopt(cg, pid, &err) != 0)
        fail_msg("adopt: %s", err.msg);
    return pid;
}

static struct pt_cgroup_stats stats(struct pt_cgroup *cg)
{
    struct pt_cgroup_stats s;
    struct pt_error err;
    if (pt_cgroup_read_stats(cg, &s, &err) != 0)
        fail_msg("read_stats: %s", err.msg);
    return s;
}

static void destroy(struct pt_cgroup *cg)
{
    struct pt_error err;
    leftover.cg = NULL;
    if (pt_cgroup_destroy(cg, &err) != 0)
        fail_msg("destroy: %s", err.msg);
}

static void close_manager(struct pt_cgroup_manager *m)
{
    leftover.m = NULL;
    pt_cgroup_manager_close(m);
}

static void reap_killed(pid_t pid)
{
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    leftover.pid = 0;
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
}

/* CPU seconds per wall second used by the group over about `ms`. */
static double cpu_share(struct pt_cgroup *cg, int ms)
{
    struct pt_cgroup_stats a = stats(cg);
    int64_t t0 = pt_mono_ns();
    pt_sleep_ms(ms);
    struct pt_cgroup_stats b = stats(cg);
    int64_t t1 = pt_mono_ns();
    return (double)(b.cpu_usage_ns - a.cpu_usage_ns) / (double)(t1 - t0);
}

/*
 * The share measured over ms, retried up to twice when it falls outside [lo, hi]: the "none"
 * backend's duty cycle is user-space signals, so on a loaded 2-core machine a window can get
 * less CPU than the duty cycle allows (seen under a parallel build). A duty cycle that does
 * not limit, or stops for good, is outside in every window.
 */
static double cpu_share_within(struct pt_cgroup *cg, int ms, double lo, double hi)
{
    double share = 0;
    for (int attempt = 0; attempt < 3; attempt++) {
        share = cpu_share(cg, ms);
        if (share > lo && share < hi)
            break;
        print_message("share %.3f outside (%.3f, %.3f): measured again\n", share, lo, hi);
    }
    return share;
}

static void test_auto_picks_the_real_hierarchy(void **state)
{
    (void)state;
    SKIP_UNLESS_CGROUPS();
    struct pt_cgroup_manager *m = open_manager(PT_CGROUP_AUTO);
    assert_int_equal(pt_cgroup_manager_kind(m), real.kind);
    assert_false(pt_cgroup_manager_degraded(m));
    const char *d = pt_cgroup_manager_describe(m);
    print_message("describe: %s\n", d);
    if (real.kind == PT_CGROUP_V2) {
        char want[PATH_MAX + 32];
        snprintf(want, sizeof(want), "cgroup v2 at %s (+cpu +memory", real.v2_root);
        assert_non_null(strstr(d, want));
    } else {
        assert_non_null(strstr(d, "cgroup v1"));
        assert_non_null(strstr(d, "cpu=" CG "/cpu"));
        assert_non_null(strstr(d, "memory=" CG "/memory"));
    }
    char inst[64], root[PATH_MAX], path[PATH_MAX];
    own_instance(inst, sizeof(inst));
    for (size_t i = 0; i < hier_count(); i++) {
        hier_root(root, i);
        tu_pathf(path, "%s/powertune/%s", root, inst);
        assert_true(exists(path));
    }
    close_manager(m);
    assert_no_instance_dirs();
}

/* The controllers are bound to one version at a time: asking for the other one fails, naming it. */
static void test_forced_other_version_refused(void **state)
{
    (void)state;
    SKIP_UNLESS_CGROUPS();
    struct pt_cgroup_manager *m = NULL;
    bool v2 = real.kind == PT_CGROUP_V2;
    struct pt_cgroup_manager_options opt = {.kind = v2 ? PT_CGROUP_V1 : PT_CGROUP_V2};
    struct pt_error err;
    assert_int_not_equal(pt_cgroup_manager_open(&m, &opt, &err), 0);
    assert_null(m);
    print_message("forced %s: %s\n", v2 ? "v1" : "v2", err.msg);
    assert_non_null(strstr(err.msg, v2 ? "v1" : "v2"));
    assert_no_instance_dirs();
}

/* An unprivileged engine cannot create its directories: AUTO degrades to none and says why. */
static void test_auto_unprivileged_falls_back_to_none(void **state)
{
    (void)state;
    SKIP_UNLESS_CGROUPS();
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    leftover.pid = pid;
    if (pid == 0) {
        close(p[0]);
        if (setgroups(0, NULL) != 0 || setresgid(65534, 65534, 65534) != 0 ||
            setresuid(65534, 65534, 65534) != 0)
            _exit(2);
        struct pt_cgroup_manager *m = NULL;
        struct pt_cgroup_manager_options opt = {.kind = PT_CGROUP_AUTO};
        struct pt_error err;
        if (pt_cgroup_manager_open(&m, &opt, &err) != 0)
            _exit(3);
        const char *d = pt_cgroup_manager_describe(m);
        if (write(p[1], d, strlen(d)) < 0)
            _exit(4);
        int rc = pt_cgroup_manager_kind(m) == PT_CGROUP_NONE && pt_cgroup_manager_degraded(m)
                     ? 0
                     : 5;
        pt_cgroup_manager_close(m);
        _exit(rc);
    }
    close(p[1]);
    char d[1024] = "";
    ssize_t n = read(p[0], d, sizeof(d) - 1);
    close(p[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    leftover.pid = 0;
    d[n > 0 ? n : 0] = '\0';
    print_message("unprivileged: %s\n", d);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_non_null(strstr(d, "no cgroups: cannot create " CG "/"));
    assert_non_null(strstr(d, "Permission denied"));
    assert_non_null(strstr(d, "(degraded)"));
}

static void test_cpu_quota_quarter(void **state)
{
    (void)state;
    SKIP_UNLESS_CGROUPS();
    struct pt_cgroup_manager *m = open_manager(PT_CGROUP_AUTO);
    struct pt_cgroup *cg = create(m, "cpu-quarter", 5000, 0);
    assert_cpu_limit("cpu-quarter", 5000, 20000);

    pid_t pid = spawn(cg, WORK_BUSY, 0);
    pt_sleep_ms(100);
    double share = cpu_share(cg, 1000);
    print_message("quota 25%%: measured %.3f CPU-s per s\n", share);
    assert_true(share > 0.25 * 0.85 && share < 0.25 * 1.15);

    /* Raising the quota with a shorter period exercises the write order. */
    struct pt_error err;
    if (pt_cgroup_set_cpu(cg, 5000, 10000, &err) != 0)
        fail_msg("set_cpu: %s", err.msg);
    share = cpu_share(cg, 500);
    print_message("quota 50%%: measured %.3f\n", share);
    assert_true(share > 0.5 * 0.85 && share < 0.5 * 1.15);
    if (pt_cgroup_set_cpu(cg, 0, 100000, &err) != 0)
        fail_msg("set_cpu unlimited: %s", err.msg);
    assert_cpu_limit("cpu-quarter", 0, 100000);

    destroy(cg);
    reap_killed(pid);
    close_manager(m);
    assert_no_instance_dirs();
}

/* Runs a child allocating 200 MB in cg (limited to limit) and expects the OOM killer's SIGKILL. */
static void expect_oom_kill(struct pt_cgroup *cg, unsigned long long limit)
{
    pid_t pid = spawn(cg, WORK_ALLOC_200MB, limit);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    leftover.pid = 0;
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
        fail_msg("child was not OOM-killed (status 0x%x)", status);
}

static void test_memory_limit_oom_kills(void **state)
{
    (void)state;
    SKIP_UNLESS_CGROUPS();
    struct pt_cgroup_manager *m = open_manager(PT_CGROUP_AUTO);
    unsigned long long limit = 64 * MIB;
    struct pt_cgroup *cg = create(m, "oom", 0, limit);
    expect_oom_kill(cg, limit);
    struct pt_cgroup_stats s = stats(cg);
    print_message("oom_kills %llu, peak %llu MiB (limit 64)\n", s.oom_kills,
                  s.memory_peak_bytes / MIB);
    assert_true(s.oom_kills >= 1);
    assert_true(s.memory_peak_bytes >= limit * 9 / 10);
    assert_true(s.memory_peak_bytes <= limit);
    /* The engine's reset in place after an OOM kill: the peak restarts from what is left. */
    struct pt_error err;
    if (pt_cgroup_reset_peak(cg, &err) != 0)
        fail_msg("reset_peak: %s", err.msg);
    s = stats(cg);
    print_message("peak after the restart %llu KiB\n", s.memory_peak_bytes >> 10);
    assert_true(s.memory_peak_bytes < limit / 4);
    destroy(cg);
    close_manager(m);
    assert_no_instance_dirs();
}

/* Makes the spare (pt_cgroup_prepare_spare), failing the test if it cannot. */
static void prepare_spare(struct pt_cgroup_manager *m, const struct pt_cgroup_limits *likely)
{
    struct pt_error err;
    if (pt_cgroup_prepare_spare(m, likely, &err) != 0)
        fail_msg("prepare_spare: %s", err.msg);
}

/* The create named `name` took the spare: no group of that name in the memory hierarchy. */
static void assert_spare_taken(const char *name)
{
    char path[PATH_MAX];
    group_path(path, "memory", name, NULL);
    assert_false(exists(path));
}

/* A group made ahead (pt_cgroup_prepare_spare) is what the next create returns, limits and all. */
static void test_spare_group_is_taken_with_limits(void **state)
{
    (void)state;
    SKIP_UNLESS_CGROUPS();
    struct pt_cgroup_manager *m = open_manager(PT_CGROUP_AUTO);
    struct pt_error err;
    prepare_spare(m, NULL);
    assert_int_equal(pt_cgroup_prepare_spare(m, NULL, &err), 0); /* one is waiting: nothing made */
    char inst[64], root[PATH_MAX], path[PATH_MAX];
    own_instance(inst, sizeof(inst));
    for (size_t i = 0; i < hier_count(); i++) {
        hier_root(root, i);
        tu_pathf(path, "%s/powertune/%s/spare-1", root, inst);
        assert_true(exists(path));
        tu_pathf(path, "%s/powertune/%s/spare-2", root, inst);
        assert_false(exists(path));
    }
    unsigned long long limit = 64 * MIB;
    struct pt_cgroup *cg = create(m, "oom", 5000, limit);
    assert_spare_taken("oom");
    assert_memory_limit("spare-1", 64 * MIB);
    assert_cpu_limit("spare-1", 5000, PT_CFS_PERIOD_US);
    expect_oom_kill(cg, limit);
    assert_true(stats(cg).oom_kills >= 1);
    destroy(cg);
    /* The next spare waits unused: closing the manager removes it too. */
    assert_int_equal(pt_cgroup_prepare_spare(m, NULL, &err), 0);
    close_manager(m);
    assert_no_instance_dirs();
}

/*
 * A spare made with likely limits others than the create's: lowered (memory first, then memsw)
 * and raised (memsw first: the kernel refuses a memory limit above memsw) in place, and they hold.
 */
static void test_spare_with_other_limits_is_relimited(void **state)
{
    (void)state;
    SKIP_UNLESS_CGROUPS();
    struct pt_cgroup_manager *m = open_manager(PT_CGROUP_AUTO);
    struct pt_cgroup_limits likely = {.cpu_quota_us = 10000,
                                      .cpu_period_us = PT_CFS_PERIOD_US,
                                      .memory_bytes = 256 * MIB,
                                      .pids_max = PT_PIDS_MAX};
    prepare_spare(m, &likely);
    assert_memory_limit("spare-1", 256 * MIB);
    struct pt_cgroup *cg = create(m, "low", 5000, 64 * MIB);
    assert_spare_taken("low");
    assert_memory_limit("spare-1", 64 * MIB);
    assert_cpu_limit("spare-1", 5000, PT_CFS_PERIOD_US);
    expect_oom_kill(cg, 64 * MIB);
    destroy(cg);

    likely.memory_bytes = 64 * MIB;
    prepare_spare(m, &likely);
    cg = create(m, "high", 10000, 256 * MIB);
    assert_spare_taken("high");
    assert_memory_limit("spare-2", 256 * MIB);
    /* 200 MB now fits: the child exits normally */
    pid_t pid = spawn(cg, WORK_ALLOC_200MB, 256 * MIB);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    leftover.pid = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("child under a 256 MB limit: status 0x%x", status);
    destroy(cg);
    close_manager(m);
    assert_no_instance_dirs();
}

static void test_freeze_stops_cpu(void **state)
{
    (void)state;
    SKIP_UNLESS_CGROUPS();
    struct pt_cgroup_manager *m = open_manager(PT_CGROUP_AUTO);
    struct pt_cgroup *cg = create(m, "frz", 10000, 0);
    pid_t pid = spawn(cg, WORK_BUSY, 0);
    pt_sleep_ms(100);
    struct pt_error err;
    assert_int_equal(pt_cgroup_freeze(cg, true, &err), 0);
    pt_sleep_ms(50); /* freezing is asynchronous */
    double frozen = cpu_share(cg, 500);
    assert_int_equal(pt_cgroup_freeze(cg, false, &err), 0);
    double thawed = cpu_share(cg, 500);
    print_message("frozen %.4f, thawed %.3f CPU-s per s\n", frozen, thawed);
    assert_true(frozen < 0.01);
    assert_true(thawed > 0.4);
    /* kill_all on a frozen group must thaw it, or the kill would never land. */
    assert_int_equal(pt_cgroup_freeze(cg, true, &err), 0);
    destroy(cg);
    reap_killed(pid);
    close_manager(m);
    assert_no_instance_dirs();
}

static void test_kill_all_empties_group(void **state)
{
    (void)state;
    SKIP_UNLESS_CGROUPS();
    struct pt_cgroup_manager *m = open_manager(PT_CGROUP_AUTO);
    struct pt_cgroup *cg = create(m, "ka", 0, 0);
    pid_t pid = spawn(cg, WORK_FORK_AND_SLEEP, 0);
    char inst[64], root[PATH_MAX], path[PATH_MAX], text[256];
    own_instance(inst, sizeof(inst));
    group_path(path, "pids", "ka", "cgroup.procs");
    for (int i = 0; i < 200; i++) {
        assert_int_equal(pt_file_read_small(path, text, sizeof(text), NULL), 0);
        int lines = 0;
        for (char *p = text; *p; p++)
            lines += *p == '\n';
        if (lines == 4)
            break;
        pt_sleep_ms(5);
    }
    struct pt_error err;
    int64_t t0 = pt_mono_ns();
    if (pt_cgroup_kill_all(cg, &err) != 0)
        fail_msg("kill_all: %s", err.msg);
    print_message("kill_all took %.1f ms\n", (double)(pt_mono_ns() - t0) / 1e6);
    for (size_t i = 0; i < hier_count(); i++) {
        hier_root(root, i);
        tu_pathf(path, "%s/powertune/%s/ka/cgroup.procs", root, inst);
        assert_int_equal(pt_file_read_small(path, text, sizeof(text), NULL), 0);
        assert_string_equal(text, "");
    }
    reap_killed(pid);
    destroy(cg);
    close_manager(m);
    assert_no_instance_dirs();
}

static unsigned long long start_time_of(pid_t pid)
{
    char path[64], text[1024];
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    assert_int_equal(pt_file_read_small(path, text, sizeof(text), NULL), 0);
    char *p = strrchr(text, ')');
    unsigned long long start = 0;
    assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
                                   "%*d %*d %*d %*d %llu",
                            &start),
                     1);
    return start;
}

static void write_str(const char *path, const char *s)
{
    struct pt_error err;
    if (pt_file_write_str(path, s, &err) != 0)
        fail_msg("%s", err.msg);
}

/* Best effort, for the failure path only: the test's own asserts check removal. */
static void force_remove(const char *root, const char *inst, const char *sub)
{
    char path[PATH_MAX];
    tu_pathf(path, "%s/powertune/%s/%s", root, inst, sub);
    rmdir(path);
    tu_pathf(path, "%s/powertune/%s", root, inst);
    rmdir(path);
}

static void test_stale_cleanup(void **state)
{
    (void)state;
    SKIP_UNLESS_CGROUPS();
    static const char *const stale = "999999999-1";
    char live[64], reused[64], root[PATH_MAX], path[PATH_MAX];
    /* pid 1 is alive: its instance must survive. Our parent with a wrong start time is stale. */
    snprintf(live, sizeof(live), "1-%llu", start_time_of(1));
    snprintf(reused, sizeof(reused), "%ld-1", (long)getppid());
    for (size_t i = 0; i < hier_count(); i++) {
        hier_root(root, i);
        tu_pathf(path, "%s/powertune/%s/x", root, stale);
        assert_int_equal(pt_mkdir_p(path, 0755, NULL), 0);
        tu_pathf(path, "%s/powertune/%s/y", root, live);
        assert_int_equal(pt_mkdir_p(path, 0755, NULL), 0);
    }
    ctl_root(root, "cpu");
    tu_pathf(path, "%s/powertune/%s/z", root, reused);
    assert_int_equal(pt_mkdir_p(path, 0755, NULL), 0);

    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    leftover.pid = pid;
    if (pid == 0) {
        char me[24];
        snprintf(me, sizeof(me), "%ld", (long)getpid());
        for (size_t i = 0; i < hier_count(); i++) {
            hier_root(root, i);
            tu_pathf(path, "%s/powertune/%s/x/cgroup.procs", root, stale);
            if (pt_file_write_str(path, me, NULL) != 0)
                _exit(98);
        }
        char c = 'k';
        if (write(p[1], &c, 1) != 1)
            _exit(99);
        for (;;)
            pause();
    }
    close(p[1]);
    char c = 0;
    assert_int_equal(read(p[0], &c, 1), 1);
    close(p[0]);
    /* A frozen leftover: the cleanup has to thaw it for SIGKILL to land. */
    ctl_root(root, "freezer");
    bool v2 = real.kind == PT_CGROUP_V2;
    tu_pathf(path, "%s/powertune/%s/x/%s", root, stale, v2 ? "cgroup.freeze" : "freezer.state");
    write_str(path, v2 ? "1" : "FROZEN");

    struct pt_cgroup_manager *m = open_manager(PT_CGROUP_AUTO);
    reap_killed(pid);
    bool live_kept = true;
    for (size_t i = 0; i < hier_count(); i++) {
        hier_root(root, i);
        tu_pathf(path, "%s/powertune/%s", root, stale);
        if (exists(path)) {
            force_remove(root, stale, "x");
            fail_msg("%s survived the stale cleanup", path);
        }
        tu_pathf(path, "%s/powertune/%s/y", root, live);
        live_kept = live_kept && exists(path);
        force_remove(root, live, "y");
    }
    assert_true(live_kept);
    ctl_root(root, "cpu");
    tu_pathf(path, "%s/powertune/%s", root, reused);
    assert_false(exists(path));
    close_manager(m);
    assert_no_instance_dirs();
}

/* True once pid is gone or a zombie (a reparented one waits for init's reaping). */
static bool process_gone(pid_t pid)
{
    char path[64], text[1024];
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    if (pt_file_read_small(path, text, sizeof(text), NULL) != 0)
        return true;
    char *p = strrchr(text, ')');
    return p && (p[2] == 'Z' || p[2] == 'X');
}

/*
 * An engine killed without closing (kill -9): its sentry kills what ran in its groups (frozen
 * here, with children) and removes the groups at once, not at the next engine's start.
 */
static void test_sentry_cleans_after_kill(void **state)
{
    (void)state;
    SKIP_UNLESS_CGROUPS();
    struct report {
        pid_t worker;
        char inst[64];
    } got = {0};
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t engine = fork();
    assert_true(engine >= 0);
    if (engine == 0) {
        struct report r = {0};
        own_instance(r.inst, sizeof(r.inst));
        struct pt_cgroup_manager_options opt = {.kind = PT_CGROUP_AUTO, .instance = r.inst};
        struct pt_cgroup_manager *m = NULL;
        struct pt_cgroup *cg = NULL;
        struct pt_cgroup_limits lim = {.cpu_period_us = PT_CFS_PERIOD_US,
                                       .pids_max = PT_PIDS_MAX};
        if (pt_cgroup_manager_open(&m, &opt, NULL) != 0 ||
            pt_cgroup_create(m, "killed", &lim, &cg, NULL) != 0)
            _exit(97);
        r.worker = spawn(cg, WORK_FORK_AND_SLEEP, 0);
        pt_sleep_ms(50); /* its three children forked */
        if (pt_cgroup_freeze(cg, true, NULL) != 0 || write(p[1], &r, sizeof(r)) != sizeof(r))
            _exit(98);
        raise(SIGKILL);
    }
    leftover.pid = engine;
    close(p[1]);
    assert_int_equal(read(p[0], &got, sizeof(got)), (ssize_t)sizeof(got));
    close(p[0]);
    reap_killed(engine);
    int64_t t0 = pt_mono_ns();
    char root[PATH_MAX], path[PATH_MAX];
    bool clean = false;
    while (!clean && pt_mono_ns() - t0 < 3000000000LL) {
        clean = process_gone(got.worker);
        for (size_t i = 0; i < hier_count() && clean; i++) {
            hier_root(root, i);
            tu_pathf(path, "%s/powertune/%s", root, got.inst);
            clean = !exists(path);
        }
        if (!clean)
            pt_sleep_ms(10);
    }
    print_message("cleaned up %.1f ms after the kill\n", (double)(pt_mono_ns() - t0) / 1e6);
    if (!clean) {
        struct pt_cgroup_manager *m = open_manager(PT_CGROUP_AUTO); /* its stale cleanup */
        close_manager(m);
        fail_msg("instance %s or worker %ld still there 3 s after the engine's kill", got.inst,
                 (long)got.worker);
    }
}

/*
 * The none backend's process groups after a kill -9 of their engine: stopped (frozen) ones
 * would stay stopped for good, and no stale cleanup finds them (no cgroups). The sentry,
 * told of each group, kills them.
 */
static void test_none_sentry_kills_groups(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t engine = fork();
    assert_true(engine >= 0);
    if (engine == 0) {
        struct pt_cgroup_manager_options opt = {.kind = PT_CGROUP_NONE};
        struct pt_cgroup_manager *m = NULL;
        struct pt_cgroup *cg = NULL;
        struct pt_cgroup_limits lim = {.cpu_period_us = PT_CFS_PERIOD_US};
        if (pt_cgroup_manager_open(&m, &opt, NULL) != 0 ||
            pt_cgroup_create(m, "stopped", &lim, &cg, NULL) != 0)
            _exit(97);
        pid_t worker = spawn(cg, WORK_FORK_AND_SLEEP, 0);
        if (pt_cgroup_freeze(cg, true, NULL) != 0 ||
            write(p[1], &worker, sizeof(worker)) != sizeof(worker))
            _exit(98);
        raise(SIGKILL);
    }
    leftover.pid = engine;
    close(p[1]);
    pid_t worker = 0;
    assert_int_equal(read(p[0], &worker, sizeof(worker)), (ssize_t)sizeof(worker));
    close(p[0]);
    reap_killed(engine);
    int64_t t0 = pt_mono_ns();
    while (!process_gone(worker) && pt_mono_ns() - t0 < 3000000000LL)
        pt_sleep_ms(10);
    print_message("worker gone %.1f ms after the kill\n", (double)(pt_mono_ns() - t0) / 1e6);
    if (!process_gone(worker)) {
        kill(-worker, SIGKILL);
        fail_msg("stopped worker %ld still there 3 s after its engine's kill", (long)worker);
    }
}

static void test_none_duty_cycle(void **state)
{
    (void)state;
    struct pt_cgroup_manager *m = open_manager(PT_CGROUP_NONE);
    assert_int_equal(pt_cgroup_manager_kind(m), PT_CGROUP_NONE);
    assert_true(pt_cgroup_manager_degraded(m));
    const char *d = pt_cgroup_manager_describe(m);
    print_message("describe: %s\n", d);
    assert_non_null(strstr(d, "no cgroups"));
    assert_non_null(strstr(d, "SIGSTOP/SIGCONT"));
    struct pt_cgroup *cg = create(m, "duty", 5000, 0);
    pid_t pid = spawn(cg, WORK_BUSY, 0);
    pt_sleep_ms(100);
    double share = cpu_share_within(cg, 1000, 0.25 * 0.75, 0.25 * 1.25);
    print_message("none, quota 25%%: measured %.3f CPU-s per s\n", share);
    assert_true(share > 0.25 * 0.75 && share < 0.25 * 1.25);

    struct pt_error err;
    assert_int_equal(pt_cgroup_freeze(cg, true, &err), 0);
    pt_sleep_ms(20);
    double frozen = cpu_share(cg, 300);
    assert_int_equal(pt_cgroup_freeze(cg, false, &err), 0);
    assert_int_equal(pt_cgroup_set_cpu(cg, 10000, 20000, &err), 0);
    pt_sleep_ms(50);
    double half = cpu_share_within(cg, 1000, 0.5 * 0.75, 0.5 * 1.25);
    print_message("none: frozen %.3f, quota 50%% %.3f\n", frozen, half);
    assert_true(frozen < 0.02);
    assert_true(half > 0.5 * 0.75 && half < 0.5 * 1.25);
    struct pt_cgroup_stats s = stats(cg);
    assert_true(s.memory_peak_bytes > 0);
    assert_int_equal(s.oom_kills, 0);
    destroy(cg);
    reap_killed(pid);
    close_manager(m);
    assert_no_instance_dirs();
}

static void test_none_applies_rlimit_data(void **state)
{
    (void)state;
    struct pt_cgroup_manager *m = open_manager(PT_CGROUP_NONE);
    struct pt_cgroup *cg = create(m, "rl", 0, 64 * MIB);
    pid_t pid = spawn(cg, WORK_RLIMIT, 64 * MIB);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    leftover.pid = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    destroy(cg);
    close_manager(m);
}

int main(void)
{
    find_real_hierarchy();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_auto_picks_the_real_hierarchy, teardown),
        cmocka_unit_test_teardown(test_forced_other_version_refused, teardown),
        cmocka_unit_test_teardown(test_auto_unprivileged_falls_back_to_none, teardown),
        cmocka_unit_test_teardown(test_cpu_quota_quarter, teardown),
        cmocka_unit_test_teardown(test_memory_limit_oom_kills, teardown),
        cmocka_unit_test_teardown(test_spare_group_is_taken_with_limits, teardown),
        cmocka_unit_test_teardown(test_spare_with_other_limits_is_relimited, teardown),
        cmocka_unit_test_teardown(test_freeze_stops_cpu, teardown),
        cmocka_unit_test_teardown(test_kill_all_empties_group, teardown),
        cmocka_unit_test_teardown(test_stale_cleanup, teardown),
        cmocka_unit_test_teardown(test_sentry_cleans_after_kill, teardown),
        cmocka_unit_test_teardown(test_none_sentry_kills_groups, teardown),
        cmocka_unit_test_teardown(test_none_duty_cycle, teardown),
        cmocka_unit_test_teardown(test_none_applies_rlimit_data, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
