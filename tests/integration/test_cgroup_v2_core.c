/*
 * test_cgroup_v2_core.c - the v2 backend on this machine's real cgroup2 mount, with whatever
 * controllers its root offers (this project's machines keep cpu and memory on v1 beside an
 * empty /sys/fs/cgroup/unified offering hugetlb; the tool runner's own memory group pins them
 * there). What the fake tree of test_cgroup_v2 cannot show, the kernel does here: moving
 * processes through cgroup.procs (and its permission checks in a delegated group),
 * cgroup.freeze, cgroup.kill, cpu.stat, the rule that a group holding processes cannot enable
 * controllers for children, and removal. CPU and memory limits on v2 are test_cgroup_real's,
 * on machines whose cgroup2 has those controllers. Skipped when not root or without cgroup2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/fs.h"
#include "engine/cgroup.h"
#include "lib/testutil.h"

#define NOBODY 65534
/* "v2core-<pid>-<letter>": two runs at once do not meet. */
static char instance[4][48];

static char mount_point[PATH_MAX];
/* The root's cgroup.subtree_control before the tests, put back at the end. */
static char root_subtree[512];

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static void write_pid(const char *dir, pid_t pid)
{
    char path[PATH_MAX], num[24];
    tu_pathf(path, "%s/cgroup.procs", dir);
    snprintf(num, sizeof(num), "%ld", (long)pid);
    struct pt_error err;
    if (pt_file_write_str(path, num, &err) != 0)
        fail_msg("%s", err.msg);
}

/* A group of the test's own under the mount (removed by remove_group). */
static void make_group(char *out, const char *name)
{
    tu_pathf(out, "%s/%s-%ld", mount_point, name, (long)getpid());
    if (mkdir(out, 0755) != 0)
        fail_msg("mkdir %s: %s", out, strerror(errno));
}

static void remove_group(const char *dir)
{
    char sub[PATH_MAX];
    tu_pathf(sub, "%s/" "powertune-engine", dir);
    rmdir(sub);
    if (rmdir(dir) != 0)
        fail_msg("rmdir %s: %s", dir, strerror(errno));
}

static pid_t spawn_pauser(void)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        for (;;)
            pause();
    return pid;
}

static void reap(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static struct pt_cgroup_manager *open_v2(enum pt_cgroup_kind kind, const char *instance)
{
    struct pt_cgroup_manager *m = NULL;
    struct pt_cgroup_manager_options opt = {
        .kind = kind, .v2_root = mount_point, .instance = instance, .v2_any_controllers = true};
    struct pt_error err;
    if (pt_cgroup_manager_open(&m, &opt, &err) != 0)
        fail_msg("manager_open: %s", err.msg);
    return m;
}

#define SKIP_WITHOUT_CGROUP2()                                                                   \
    do {                                                                                         \
        if (!mount_point[0]) {                                                                   \
            print_message("not root or no cgroup2 mount: skipped\n");                            \
            skip();                                                                              \
        }                                                                                        \
    } while (0)

/* usage_usec of <instance>/<group>/cpu.stat: the kernel's own CPU counter, in every v2 group. */
static unsigned long long cpu_usec(const char *group_dir)
{
    char path[PATH_MAX], text[512];
    tu_pathf(path, "%s/cpu.stat", group_dir);
    assert_int_equal(pt_file_read_small(path, text, sizeof(text), NULL), 0);
    unsigned long long usec = 0;
    assert_int_equal(sscanf(text, "usage_usec %llu", &usec), 1);
    return usec;
}

/* CPU-seconds per second the group used over about ms. */
static double cpu_share(const char *group_dir, int ms)
{
    unsigned long long a = cpu_usec(group_dir);
    int64_t t0 = pt_mono_ns();
    pt_sleep_ms(ms);
    unsigned long long b = cpu_usec(group_dir);
    return (double)(b - a) * 1000.0 / (double)(pt_mono_ns() - t0);
}

/* A child a failed test leaves running (teardown kills it). */
static pid_t leftover_pid;

static int teardown(void **state)
{
    (void)state;
    if (leftover_pid > 0) {
        kill(leftover_pid, SIGKILL);
        waitpid(leftover_pid, NULL, 0);
    }
    leftover_pid = 0;
    return 0;
}

/* A busy child in the group (entered the engine's way), frozen, thawed and killed. */
static void test_enter_freeze_kill_remove(void **state)
{
    (void)state;
    SKIP_WITHOUT_CGROUP2();
    struct pt_cgroup_manager *m = open_v2(PT_CGROUP_V2, instance[0]);
    print_message("describe: %s\n", pt_cgroup_manager_describe(m));
    struct pt_cgroup *cg = NULL;
    struct pt_error err;
    if (pt_cgroup_create(m, "env-1", NULL, &cg, &err) != 0)
        fail_msg("create: %s", err.msg);
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    leftover_pid = pid;
    if (pid == 0) {
        char c = pt_cgroup_enter_child(cg) == 0 ? 'k' : 'e';
        if (write(p[1], &c, 1) != 1 || c != 'k')
            _exit(1);
        for (volatile unsigned long n = 0;; n++) {
        }
    }
    close(p[1]);
    char c = 0;
    assert_int_equal(read(p[0], &c, 1), 1);
    close(p[0]);
    assert_int_equal(c, 'k');
    assert_int_equal(pt_cgroup_adopt(cg, pid, &err), 0);
    char dir[PATH_MAX], path[PATH_MAX], text[64];
    tu_pathf(dir, "%s/powertune/%s/env-1", mount_point, instance[0]);
    tu_pathf(path, "%s/cgroup.procs", dir);
    assert_int_equal(pt_file_read_small(path, text, sizeof(text), NULL), 0);
    assert_int_equal(atol(text), pid);

    double busy = cpu_share(dir, 300);
    assert_int_equal(pt_cgroup_freeze(cg, true, &err), 0);
    pt_sleep_ms(50); /* cgroup.freeze takes effect asynchronously */
    double frozen = cpu_share(dir, 300);
    assert_int_equal(pt_cgroup_freeze(cg, false, &err), 0);
    double thawed = cpu_share(dir, 300);
    print_message("busy %.3f, frozen %.4f, thawed %.3f CPU-s per s\n", busy, frozen, thawed);
    assert_true(busy > 0.2);
    assert_true(frozen < 0.01);
    assert_true(thawed > 0.2);

    /* Frozen again: cgroup.kill must land all the same. */
    assert_int_equal(pt_cgroup_freeze(cg, true, &err), 0);
    if (pt_cgroup_kill_all(cg, &err) != 0)
        fail_msg("kill_all: %s", err.msg);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    leftover_pid = 0;
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    assert_int_equal(pt_cgroup_destroy(cg, &err), 0);
    pt_cgroup_manager_close(m);
    tu_pathf(path, "%s/powertune/%s", mount_point, instance[0]);
    assert_false(exists(path));
}

/* A dead engine's instance holding a frozen process: the next manager kills it and removes it. */
static void test_stale_instance_removed(void **state)
{
    (void)state;
    SKIP_WITHOUT_CGROUP2();
    char stale[PATH_MAX];
    tu_pathf(stale, "%s/powertune/999999999-1/x", mount_point);
    assert_int_equal(pt_mkdir_p(stale, 0755, NULL), 0);
    pid_t pid = spawn_pauser();
    write_pid(stale, pid);
    char path[PATH_MAX];
    tu_pathf(path, "%s/cgroup.freeze", stale);
    assert_int_equal(pt_file_write_str(path, "1", NULL), 0);
    struct pt_cgroup_manager *m = open_v2(PT_CGROUP_V2, instance[1]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    tu_pathf(path, "%s/powertune/999999999-1", mount_point);
    assert_false(exists(path));
    pt_cgroup_manager_close(m);
}

/*
 * Runs child(out) in a forked process that the parent first moves into the group dir (as
 * systemd-run, or a container runtime, puts a process in its group); the child's output is
 * read into d. Returns its exit status (the child's return value).
 */
static int run_in_group(const char *dir, int (*child)(int out), char *d, size_t size)
{
    int p[2], go[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(pipe(go), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        close(go[1]);
        char c;
        if (read(go[0], &c, 1) != 1)
            _exit(9);
        _exit(child(p[1]));
    }
    close(p[1]);
    close(go[0]);
    write_pid(dir, pid);
    assert_int_equal(write(go[1], "g", 1), 1);
    close(go[1]);
    return tu_child_report(p[0], pid, d, size);
}

/* In a child: a manager on root, its description (or why it failed) written to out. */
static struct pt_cgroup_manager *open_in_child(enum pt_cgroup_kind kind, const char *root,
                                               const char *name, int out)
{
    struct pt_cgroup_manager *m = NULL;
    struct pt_cgroup_manager_options opt = {
        .kind = kind, .v2_root = root, .instance = name, .v2_any_controllers = true};
    struct pt_error err;
    if (pt_cgroup_manager_open(&m, &opt, &err) != 0) {
        dprintf(out, "open: %s", err.msg);
        return NULL;
    }
    dprintf(out, "%s", pt_cgroup_manager_describe(m));
    return m;
}

/* Child of the delegation test: moved into `dir` by the parent, becomes uid 65534. */
static int delegated_child(int out)
{
    if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
        setresuid(NOBODY, NOBODY, NOBODY))
        return 10;
    struct pt_cgroup_manager *m = open_in_child(PT_CGROUP_V2, mount_point, instance[2], out);
    if (!m)
        return 11;
    struct pt_error err;
    struct pt_cgroup *cg = NULL;
    int rc = 0;
    if (pt_cgroup_create(m, "env-1", NULL, &cg, &err) != 0) {
        dprintf(out, " / create: %s", err.msg);
        rc = 12;
    }
    /* A function process moved from the engine's group into its own, by the user. */
    pid_t pid = rc ? -1 : fork();
    if (pid == 0) {
        if (pt_cgroup_enter_child(cg) != 0)
            _exit(3);
        for (;;)
            pause();
    }
    if (pid > 0) {
        pt_cgroup_adopt(cg, pid, NULL);
        pt_sleep_ms(50);
        if (pt_cgroup_kill_all(cg, &err) != 0) {
            dprintf(out, " / kill_all: %s", err.msg);
            rc = 13;
        }
        int status = 0;
        waitpid(pid, &status, 0);
        if (!WIFSIGNALED(status)) /* it could not enter its group */
            rc = 14;
    }
    pt_cgroup_destroy(cg, NULL);
    pt_cgroup_manager_close(m);
    return rc;
}

/* Not root, in a group delegated the way systemd delegates: the engine uses it (cgroup.h). */
static void test_delegated_group_used(void **state)
{
    (void)state;
    SKIP_WITHOUT_CGROUP2();
    char dir[PATH_MAX], path[PATH_MAX];
    make_group(dir, "powertune-test-delegated");
    static const char *const owned[] = {"", "/cgroup.procs", "/cgroup.subtree_control",
                                        "/cgroup.threads"};
    for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
        tu_pathf(path, "%s%s", dir, owned[i]);
        assert_int_equal(chown(path, NOBODY, NOBODY), 0);
    }
    char d[2048];
    int status = run_in_group(dir, delegated_child, d, sizeof(d));
    print_message("as uid %d: %s\n", NOBODY, d);
    assert_int_equal(status, 0);
    assert_non_null(strstr(d, "(delegated"));
    assert_non_null(strstr(d, dir));
    tu_pathf(path, "%s/powertune", dir);
    assert_false(exists(path));
    remove_group(dir);
}

/* Child of the container test: in a cgroup namespace rooted at `dir`, with cgroup2 remounted. */
static int container_child(int out)
{
    /* The container's view: its group is the root of a cgroup2 mounted in its namespaces. */
    char view[] = "/tmp/pt-v2core-XXXXXX";
    if (!mkdtemp(view)) {
        dprintf(out, "mkdtemp: %s", strerror(errno));
        return 10;
    }
    if (unshare(CLONE_NEWCGROUP | CLONE_NEWNS) != 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("none", view, "cgroup2", 0, NULL) != 0) {
        dprintf(out, "namespace: %s", strerror(errno));
        rmdir(view);
        return 10;
    }
    struct pt_cgroup_manager *m = open_in_child(PT_CGROUP_AUTO, view, instance[3], out);
    int rc = !m ? 11 : pt_cgroup_manager_degraded(m) ? 0 : 12;
    if (m)
        pt_cgroup_manager_close(m);
    umount(view);
    rmdir(view);
    return rc;
}

/*
 * As root in a container's cgroup namespace whose root group holds processes (docker run
 * --privileged on a v2 host): controllers cannot be enabled there; AUTO degrades, saying how
 * to fix it. Needs a controller to enable: the mount's root must offer one.
 */
static void test_container_root_with_processes_degrades(void **state)
{
    (void)state;
    SKIP_WITHOUT_CGROUP2();
    char path[PATH_MAX], text[512] = "";
    tu_pathf(path, "%s/cgroup.controllers", mount_point);
    if (pt_file_read_small(path, text, sizeof(text), NULL) != 0 || !text[0] || text[0] == '\n') {
        print_message("the cgroup2 root offers no controller: skipped\n");
        skip();
    }
    char dir[PATH_MAX];
    make_group(dir, "powertune-test-container");
    pid_t holder = spawn_pauser();
    write_pid(dir, holder);
    char d[2048];
    int status = run_in_group(dir, container_child, d, sizeof(d));
    reap(holder);
    print_message("in the container: %s\n", d);
    remove_group(dir);
    assert_int_equal(status, 0);
    assert_non_null(strstr(d, "processes live in it"));
    assert_non_null(strstr(d, "(degraded)"));
}

/* The tests enable the root's controllers for their groups; put back what was there. */
static int restore_root(void **state)
{
    (void)state;
    if (!mount_point[0])
        return 0;
    char path[PATH_MAX], now[512] = "", undo[600] = "";
    tu_pathf(path, "%s/cgroup.subtree_control", mount_point);
    if (pt_file_read_small(path, now, sizeof(now), NULL) != 0)
        return 0;
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(now, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
        if (!strstr(root_subtree, t) && n + strlen(t) + 3 < sizeof(undo))
            n += (size_t)snprintf(undo + n, sizeof(undo) - n, "%s-%s", n ? " " : "", t);
    if (n)
        pt_file_write_str(path, undo, NULL);
    return 0;
}

int main(void)
{
    for (int i = 0; i < 4; i++)
        snprintf(instance[i], sizeof(instance[i]), "v2core-%ld-%c", (long)getpid(), 'a' + i);
    if (geteuid() == 0 && tu_cgroup2_mount(mount_point)) {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof(path), "%s/cgroup.subtree_control", mount_point);
        pt_file_read_small(path, root_subtree, sizeof(root_subtree), NULL);
    } else {
        mount_point[0] = '\0';
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_enter_freeze_kill_remove, teardown),
        cmocka_unit_test_teardown(test_stale_instance_removed, teardown),
        cmocka_unit_test_teardown(test_delegated_group_used, teardown),
        cmocka_unit_test_teardown(test_container_root_with_processes_degrades, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, restore_root);
}
