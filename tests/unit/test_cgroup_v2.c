/*
 * test_cgroup_v2.c - the v2 backend against a fake cgroupfs: a temp dir with
 * cgroup.controllers and cgroup.subtree_control, where every "kernel file"
 * is a plain file. Checks what the backend writes and how it parses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fs.h"
#include "engine/cgroup.h"
#include "engine/limits.h"
#include "lib/testutil.h"

#define INSTANCE "42-4242"

struct fixture {
    char root[PATH_MAX];
    char inst[PATH_MAX];
    struct pt_cgroup_manager *m;
};

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX];
    tu_pathf(path, "%s/%s", dir, name);
    assert_int_equal(pt_file_write_str(path, text, NULL), 0);
}

static void read_file(const char *dir, const char *name, char *out, size_t size)
{
    char path[PATH_MAX];
    tu_pathf(path, "%s/%s", dir, name);
    struct pt_error err;
    int rc = pt_file_read_small(path, out, size, &err);
    if (rc)
        fail_msg("%s", err.msg);
}

static void assert_file(const char *dir, const char *name, const char *want)
{
    char got[256];
    read_file(dir, name, got, sizeof(got));
    assert_string_equal(got, want);
}

static bool exists(const char *dir, const char *name)
{
    char path[PATH_MAX];
    tu_pathf(path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

static void remove_fixture_root(const char *root)
{
    /* Everything the manager did not remove: only the two fixture files are expected. */
    char path[PATH_MAX];
    tu_pathf(path, "%s/cgroup.controllers", root);
    unlink(path);
    tu_pathf(path, "%s/cgroup.subtree_control", root);
    unlink(path);
    assert_int_equal(rmdir(root), 0);
}

static int make_root(char *root, const char *controllers)
{
    tu_pathf(root, "/tmp/pt-cgv2-XXXXXX");
    if (!mkdtemp(root))
        return -1;
    write_file(root, "cgroup.controllers", controllers);
    write_file(root, "cgroup.subtree_control", "");
    return 0;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f || make_root(f->root, "cpu memory pids\n") != 0)
        return -1;
    tu_pathf(f->inst, "%s/powertune/%s", f->root, INSTANCE);
    struct pt_cgroup_manager_options opt = {
        .kind = PT_CGROUP_V2, .v2_root = f->root, .instance = INSTANCE, .fake_tree = true};
    struct pt_error err;
    if (pt_cgroup_manager_open(&f->m, &opt, &err) != 0) {
        print_error("manager_open: %s\n", err.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    pt_cgroup_manager_close(f->m);
    char path[PATH_MAX];
    tu_pathf(path, "%s/powertune", f->root);
    /* close removes the instance and the then-empty powertune dir */
    assert_false(access(path, F_OK) == 0);
    remove_fixture_root(f->root);
    free(f);
    return 0;
}

/* The limits the engine gives a function of memory_mb. */
static struct pt_cgroup_limits limits_for(int memory_mb)
{
    struct pt_cpu_share share;
    pt_cpu_share_for_memory(memory_mb, 2, &share);
    return (struct pt_cgroup_limits){.cpu_quota_us = share.quota_us,
                                     .cpu_period_us = share.period_us,
                                     .memory_bytes = (unsigned long long)memory_mb << 20,
                                     .pids_max = PT_PIDS_MAX};
}

static struct pt_cgroup *create_with(struct fixture *f, const char *name,
                                     const struct pt_cgroup_limits *lim)
{
    struct pt_cgroup *cg = NULL;
    struct pt_error err;
    int rc = pt_cgroup_create(f->m, name, lim, &cg, &err);
    if (rc)
        fail_msg("create: %s", err.msg);
    return cg;
}

static struct pt_cgroup *create_128(struct fixture *f, const char *name)
{
    struct pt_cgroup_limits lim = limits_for(128);
    return create_with(f, name, &lim);
}

static void destroy(struct pt_cgroup *cg)
{
    struct pt_error err;
    int rc = pt_cgroup_destroy(cg, &err);
    if (rc)
        fail_msg("destroy: %s", err.msg);
}

static void test_open_enables_controllers(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(pt_cgroup_manager_kind(f->m), PT_CGROUP_V2);
    assert_false(pt_cgroup_manager_degraded(f->m));
    assert_non_null(strstr(pt_cgroup_manager_describe(f->m), "cgroup v2"));
    assert_file(f->root, "cgroup.subtree_control", "+cpu +memory +pids");
    char base[PATH_MAX];
    tu_pathf(base, "%s/powertune", f->root);
    assert_file(base, "cgroup.subtree_control", "+cpu +memory +pids");
    assert_file(f->inst, "cgroup.subtree_control", "+cpu +memory +pids");
}

static void test_create_writes_limits(void **state)
{
    struct fixture *f = *state;
    struct pt_cgroup *cg = create_128(f, "fn-1");
    char dir[PATH_MAX];
    tu_pathf(dir, "%s/fn-1", f->inst);
    assert_file(dir, "cpu.max", "1447 20000");
    assert_file(dir, "memory.max", "134217728");
    assert_file(dir, "pids.max", "1024");
    /* No memory.swap.max in this tree: the backend must not invent it. */
    assert_false(exists(dir, "memory.swap.max"));
    destroy(cg);
    assert_false(exists(f->inst, "fn-1"));
}

/* pt_cgroup_prepare_spare: one group made ahead, taken (and limited) by the next create. */
static void test_spare_is_taken_by_the_next_create(void **state)
{
    struct fixture *f = *state;
    struct pt_error err;
    assert_int_equal(pt_cgroup_prepare_spare(f->m, NULL, &err), 0);
    assert_int_equal(pt_cgroup_prepare_spare(f->m, NULL, &err), 0);
    assert_true(exists(f->inst, "spare-1"));
    assert_false(exists(f->inst, "spare-2")); /* one was already waiting */
    char dir[PATH_MAX];
    tu_pathf(dir, "%s/spare-1", f->inst);
    assert_false(exists(dir, "memory.max")); /* made without limits */
    struct pt_cgroup *cg = create_128(f, "fn-1");
    assert_false(exists(f->inst, "fn-1"));
    assert_file(dir, "cpu.max", "1447 20000");
    assert_file(dir, "memory.max", "134217728");
    assert_file(dir, "pids.max", "1024");
    struct pt_cgroup *cg2 = create_128(f, "fn-2"); /* none waiting: a group of its own */
    assert_true(exists(f->inst, "fn-2"));
    destroy(cg);
    assert_false(exists(f->inst, "spare-1"));
    destroy(cg2);
    assert_int_equal(pt_cgroup_prepare_spare(f->m, NULL, &err), 0); /* left for teardown's close */
    assert_true(exists(f->inst, "spare-2"));
}

/*
 * A spare made with the likely limits: a create asking for exactly them writes no limit file (a
 * value put there by hand stays), one asking for others rewrites them, one lacking a limit the
 * spare has leaves it waiting and makes its own group.
 */
static void test_spare_made_with_likely_limits(void **state)
{
    struct fixture *f = *state;
    struct pt_error err;
    struct pt_cgroup_limits l128 = limits_for(128), l512 = limits_for(512);
    char dir[PATH_MAX];
    assert_int_equal(pt_cgroup_prepare_spare(f->m, &l128, &err), 0);
    tu_pathf(dir, "%s/spare-1", f->inst);
    assert_file(dir, "cpu.max", "1447 20000");
    assert_file(dir, "memory.max", "134217728");
    assert_file(dir, "pids.max", "1024");
    write_file(dir, "memory.max", "999");
    struct pt_cgroup *cg = create_with(f, "fn-1", &l128);
    assert_false(exists(f->inst, "fn-1"));
    assert_file(dir, "memory.max", "999"); /* not written again */
    destroy(cg);

    assert_int_equal(pt_cgroup_prepare_spare(f->m, &l128, &err), 0);
    tu_pathf(dir, "%s/spare-2", f->inst);
    cg = create_with(f, "fn-2", &l512);
    assert_false(exists(f->inst, "fn-2"));
    assert_file(dir, "memory.max", "536870912");
    assert_file(dir, "cpu.max", "5789 20000");
    destroy(cg);

    assert_int_equal(pt_cgroup_prepare_spare(f->m, &l128, &err), 0);
    struct pt_cgroup_limits cpu_only = {.cpu_quota_us = l128.cpu_quota_us,
                                        .cpu_period_us = l128.cpu_period_us};
    cg = create_with(f, "fn-3", &cpu_only);
    assert_true(exists(f->inst, "fn-3")); /* its own: the spare's memory limit would stay */
    assert_true(exists(f->inst, "spare-3"));
    struct pt_cgroup *cg2 = create_with(f, "fn-4", &l128); /* the spare suits this one */
    assert_false(exists(f->inst, "fn-4"));
    destroy(cg);
    destroy(cg2);
    assert_false(exists(f->inst, "spare-3"));

    struct pt_cgroup_limits bad = {.cpu_quota_us = 1, .cpu_period_us = 20000};
    assert_int_equal(pt_cgroup_prepare_spare(f->m, &bad, &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "spare cgroup"));
}

#define SPARE_RACE_THREADS 4
#define SPARE_RACE_ROUNDS 200

struct spare_race {
    struct fixture *f;
    int thread;
    int failures;
};

/* What pt_env_start does for each cold start: take a group (the spare, if any), make the next. */
static void *spare_race_thread(void *arg)
{
    struct spare_race *r = arg;
    struct pt_cgroup_limits lim = limits_for(128);
    for (int i = 0; i < SPARE_RACE_ROUNDS; i++) {
        char name[32];
        snprintf(name, sizeof(name), "env-%d-%d", r->thread, i);
        struct pt_cgroup *cg = NULL;
        if (pt_cgroup_create(r->f->m, name, &lim, &cg, NULL) != 0 ||
            pt_cgroup_prepare_spare(r->f->m, &lim, NULL) != 0 || pt_cgroup_destroy(cg, NULL) != 0)
            r->failures++;
    }
    return NULL;
}

/*
 * Cold starts on several threads at once: a prepare_spare that found another one making the
 * spare once cleared its mark, so a third made a second spare and whichever finished last
 * replaced the other, which was never removed (the struct leaked, its directories stayed until
 * the manager closed). Only the one spare waiting may be left once every group is destroyed.
 */
static void test_spare_made_by_one_thread_at_a_time(void **state)
{
    struct fixture *f = *state;
    pthread_t threads[SPARE_RACE_THREADS];
    struct spare_race races[SPARE_RACE_THREADS];
    for (int t = 0; t < SPARE_RACE_THREADS; t++) {
        races[t] = (struct spare_race){.f = f, .thread = t};
        assert_int_equal(pthread_create(&threads[t], NULL, spare_race_thread, &races[t]), 0);
    }
    for (int t = 0; t < SPARE_RACE_THREADS; t++) {
        pthread_join(threads[t], NULL);
        assert_int_equal(races[t].failures, 0);
    }
    DIR *d = opendir(f->inst);
    assert_non_null(d);
    int groups = 0;
    for (struct dirent *e; (e = readdir(d));)
        groups += e->d_type == DT_DIR && e->d_name[0] != '.';
    closedir(d);
    assert_int_equal(groups, 1);
}

/*
 * A period without a quota (INIT's boost where it means no limit) is set at creation, so that
 * the start's set_cpu with the same values writes nothing and the quota after INIT is one write.
 */
static void test_period_without_quota(void **state)
{
    struct fixture *f = *state;
    struct pt_cgroup_limits boost = limits_for(128);
    boost.cpu_quota_us = 0;
    struct pt_cgroup *cg = create_with(f, "fn-1", &boost);
    char dir[PATH_MAX];
    tu_pathf(dir, "%s/fn-1", f->inst);
    assert_file(dir, "cpu.max", "max 20000");
    write_file(dir, "cpu.max", "marker");
    struct pt_error err;
    assert_int_equal(pt_cgroup_set_cpu(cg, 0, 20000, &err), 0);
    assert_file(dir, "cpu.max", "marker"); /* unchanged values: not written */
    assert_int_equal(pt_cgroup_set_cpu(cg, 1447, 20000, &err), 0);
    assert_file(dir, "cpu.max", "1447 20000");
    destroy(cg);
}

static void test_create_existing_name_refused(void **state)
{
    struct fixture *f = *state;
    struct pt_cgroup *cg = create_128(f, "dup");
    struct pt_cgroup *cg2 = NULL;
    struct pt_error err;
    int rc = pt_cgroup_create(f->m, "dup", NULL, &cg2, &err);
    assert_int_equal(rc, PT_ESTATE);
    assert_null(cg2);
    assert_non_null(strstr(err.msg, "dup"));
    destroy(cg);
}

static void test_bad_names_and_cpu_refused(void **state)
{
    struct fixture *f = *state;
    struct pt_cgroup *cg = NULL;
    struct pt_error err;
    assert_int_equal(pt_cgroup_create(f->m, "../x", NULL, &cg, &err), PT_EUSAGE);
    assert_int_equal(pt_cgroup_create(f->m, "", NULL, &cg, &err), PT_EUSAGE);
    struct pt_cgroup_limits lim = {.cpu_quota_us = 500, .cpu_period_us = 20000};
    assert_int_equal(pt_cgroup_create(f->m, "tiny", &lim, &cg, &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "500"));
    assert_false(exists(f->inst, "tiny"));
    cg = create_128(f, "ok");
    assert_int_equal(pt_cgroup_set_cpu(cg, 2000, 500, &err), PT_EUSAGE);
    destroy(cg);
}

static void test_set_cpu_changes_cpu_max(void **state)
{
    struct fixture *f = *state;
    struct pt_cgroup *cg = create_128(f, "fn");
    char dir[PATH_MAX];
    tu_pathf(dir, "%s/fn", f->inst);
    struct pt_error err;
    assert_int_equal(pt_cgroup_set_cpu(cg, 40000, 20000, &err), 0);
    assert_file(dir, "cpu.max", "40000 20000");
    assert_int_equal(pt_cgroup_set_cpu(cg, 0, 100000, &err), 0);
    assert_file(dir, "cpu.max", "max 100000");
    destroy(cg);
}

static void test_freeze_writes_cgroup_freeze(void **state)
{
    struct fixture *f = *state;
    struct pt_cgroup *cg = create_128(f, "fz");
    char dir[PATH_MAX];
    tu_pathf(dir, "%s/fz", f->inst);
    struct pt_error err;
    assert_int_equal(pt_cgroup_freeze(cg, true, &err), 0);
    assert_file(dir, "cgroup.freeze", "1");
    assert_int_equal(pt_cgroup_freeze(cg, false, &err), 0);
    assert_file(dir, "cgroup.freeze", "0");
    destroy(cg);
}

static void test_read_stats_parses(void **state)
{
    struct fixture *f = *state;
    struct pt_cgroup *cg = create_128(f, "st");
    char dir[PATH_MAX];
    tu_pathf(dir, "%s/st", f->inst);
    write_file(dir, "cpu.stat",
               "usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\nnr_periods 7\n");
    write_file(dir, "memory.current", "4096\n");
    write_file(dir, "memory.peak", "134217728\n");
    write_file(dir, "memory.events", "low 0\nhigh 0\nmax 12\noom 2\noom_kill 3\noom_group_kill 0\n");
    struct pt_cgroup_stats s;
    struct pt_error err;
    int rc = pt_cgroup_read_stats(cg, &s, &err);
    if (rc)
        fail_msg("read_stats: %s", err.msg);
    assert_int_equal(s.cpu_usage_ns, 123456000ULL);
    assert_int_equal(s.memory_current_bytes, 4096);
    assert_int_equal(s.memory_peak_bytes, 134217728ULL);
    assert_int_equal(s.oom_kills, 3);
    destroy(cg);
}

static void test_read_stats_samples_peak_without_memory_peak(void **state)
{
    struct fixture *f = *state;
    struct pt_cgroup *cg = create_128(f, "sp");
    char dir[PATH_MAX];
    tu_pathf(dir, "%s/sp", f->inst);
    write_file(dir, "cpu.stat", "usage_usec 1\n");
    write_file(dir, "memory.events", "oom_kill 0\n");
    struct pt_cgroup_stats s;
    struct pt_error err;
    write_file(dir, "memory.current", "9000\n");
    assert_int_equal(pt_cgroup_read_stats(cg, &s, &err), 0);
    assert_int_equal(s.memory_peak_bytes, 9000);
    write_file(dir, "memory.current", "5000\n");
    assert_int_equal(pt_cgroup_read_stats(cg, &s, &err), 0);
    assert_int_equal(s.memory_current_bytes, 5000);
    assert_int_equal(s.memory_peak_bytes, 9000);
    destroy(cg);
}

/*
 * After an OOM kill the engine restarts the peak: memory.peak is written through a descriptor
 * of its own (Linux 6.12 restarts it for that descriptor only), which later reads use; without
 * memory.peak the sampled peak starts again from memory.current.
 */
static void test_reset_peak(void **state)
{
    struct fixture *f = *state;
    struct pt_cgroup *cg = create_128(f, "rp");
    char dir[PATH_MAX];
    tu_pathf(dir, "%s/rp", f->inst);
    write_file(dir, "cpu.stat", "usage_usec 1\n");
    write_file(dir, "memory.current", "4096\n");
    write_file(dir, "memory.events", "oom_kill 1\n");
    write_file(dir, "memory.peak", "134217728\n");
    struct pt_cgroup_stats s;
    struct pt_error err;
    assert_int_equal(pt_cgroup_read_stats(cg, &s, &err), 0);
    assert_int_equal(s.memory_peak_bytes, 134217728ULL);
    if (pt_cgroup_reset_peak(cg, &err) != 0)
        fail_msg("reset_peak: %s", err.msg);
    char text[32];
    read_file(dir, "memory.peak", text, sizeof(text));
    assert_string_equal(text, "0\n");
    write_file(dir, "memory.peak", "8192\n"); /* what the kernel would count since */
    assert_int_equal(pt_cgroup_read_stats(cg, &s, &err), 0);
    assert_int_equal(s.memory_peak_bytes, 8192);
    destroy(cg);

    cg = create_128(f, "rs");
    tu_pathf(dir, "%s/rs", f->inst);
    write_file(dir, "cpu.stat", "usage_usec 1\n");
    write_file(dir, "memory.events", "oom_kill 1\n");
    write_file(dir, "memory.current", "9000\n");
    assert_int_equal(pt_cgroup_read_stats(cg, &s, &err), 0);
    assert_int_equal(s.memory_peak_bytes, 9000);
    assert_int_equal(pt_cgroup_reset_peak(cg, &err), 0);
    write_file(dir, "memory.current", "5000\n");
    assert_int_equal(pt_cgroup_read_stats(cg, &s, &err), 0);
    assert_int_equal(s.memory_peak_bytes, 5000);
    destroy(cg);
}

static void test_read_stats_errors_are_clear(void **state)
{
    struct fixture *f = *state;
    struct pt_cgroup *cg = create_128(f, "bad");
    char dir[PATH_MAX];
    tu_pathf(dir, "%s/bad", f->inst);
    struct pt_cgroup_stats s;
    struct pt_error err;

    /* Missing cpu.stat: not found, and the message names the file. */
    assert_int_equal(pt_cgroup_read_stats(cg, &s, &err), PT_ENOTFOUND);
    assert_non_null(strstr(err.msg, "cpu.stat"));

    write_file(dir, "cpu.stat", "usage_usec twelve\n");
    assert_int_equal(pt_cgroup_read_stats(cg, &s, &err), PT_EPROTO);
    assert_non_null(strstr(err.msg, "cpu.stat"));
    assert_non_null(strstr(err.msg, "usage_usec"));

    write_file(dir, "cpu.stat", "user_usec 5\n");
    assert_int_equal(pt_cgroup_read_stats(cg, &s, &err), PT_ENOTFOUND);
    assert_non_null(strstr(err.msg, "usage_usec"));

    write_file(dir, "cpu.stat", "usage_usec 5\n");
    write_file(dir, "memory.current", "-17\n");
    assert_int_equal(pt_cgroup_read_stats(cg, &s, &err), PT_EPROTO);
    assert_non_null(strstr(err.msg, "memory.current"));

    write_file(dir, "memory.current", "");
    assert_int_equal(pt_cgroup_read_stats(cg, &s, &err), PT_EPROTO);

    write_file(dir, "memory.current", "100\n");
    write_file(dir, "memory.peak", "12 34\n");
    assert_int_equal(pt_cgroup_read_stats(cg, &s, &err), PT_EPROTO);
    assert_non_null(strstr(err.msg, "memory.peak"));

    write_file(dir, "memory.peak", "100\n");
    write_file(dir, "memory.events", "oom_kill 1 2\n");
    assert_int_equal(pt_cgroup_read_stats(cg, &s, &err), PT_EPROTO);
    assert_non_null(strstr(err.msg, "memory.events"));
    destroy(cg);

    /*
     * Unreadable (a directory where a file should be; root ignores mode bits), in a group of
     * its own: the group above keeps memory.peak open once it has read it, as a real cgroup's
     * file never goes away while the group exists.
     */
    cg = create_128(f, "bad2");
    tu_pathf(dir, "%s/bad2", f->inst);
    write_file(dir, "cpu.stat", "usage_usec 5\n");
    write_file(dir, "memory.current", "100\n");
    char path[PATH_MAX];
    tu_pathf(path, "%s/memory.peak", dir);
    unlink(path);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_not_equal(pt_cgroup_read_stats(cg, &s, &err), 0);
    assert_non_null(strstr(err.msg, "memory.peak"));
    rmdir(path);
    destroy(cg);
}

static void test_enter_child_writes_pid(void **state)
{
    struct fixture *f = *state;
    struct pt_cgroup *cg = create_128(f, "ec");
    char dir[PATH_MAX];
    tu_pathf(dir, "%s/ec", f->inst);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(pt_cgroup_enter_child(cg) == 0 ? 0 : 1);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char want[32];
    snprintf(want, sizeof(want), "%ld", (long)pid);
    assert_file(dir, "cgroup.procs", want);
    struct pt_error err;
    assert_int_equal(pt_cgroup_adopt(cg, pid, &err), 0);
    destroy(cg);
    assert_false(exists(f->inst, "ec"));
}

static void test_kill_all_writes_cgroup_kill(void **state)
{
    struct fixture *f = *state;
    struct pt_cgroup *cg = create_128(f, "k");
    char dir[PATH_MAX];
    tu_pathf(dir, "%s/k", f->inst);
    write_file(dir, "cgroup.kill", "");
    write_file(dir, "cgroup.freeze", "1");
    struct pt_error err;
    assert_int_equal(pt_cgroup_kill_all(cg, &err), 0);
    assert_file(dir, "cgroup.freeze", "0");
    assert_file(dir, "cgroup.kill", "1");
    destroy(cg);
}

static void test_destroy_null_is_ok(void **state)
{
    (void)state;
    assert_int_equal(pt_cgroup_destroy(NULL, NULL), 0);
}

/* Standalone: trees without cpu/memory in cgroup.controllers. */
static void test_v2_without_cpu_controller(void **state)
{
    (void)state;
    char root[PATH_MAX];
    assert_int_equal(make_root(root, "memory pids hugetlb\n"), 0);
    struct pt_cgroup_manager *m = NULL;
    struct pt_error err;
    struct pt_cgroup_manager_options opt = {
        .kind = PT_CGROUP_V2, .v2_root = root, .instance = INSTANCE, .fake_tree = true};
    assert_int_equal(pt_cgroup_manager_open(&m, &opt, &err), PT_ENOTFOUND);
    assert_null(m);
    assert_non_null(strstr(err.msg, "cpu"));
    assert_non_null(strstr(err.msg, root));

    /* AUTO with nothing usable falls back to none and says why. */
    opt.kind = PT_CGROUP_AUTO;
    assert_int_equal(pt_cgroup_manager_open(&m, &opt, &err), 0);
    assert_int_equal(pt_cgroup_manager_kind(m), PT_CGROUP_NONE);
    assert_true(pt_cgroup_manager_degraded(m));
    const char *d = pt_cgroup_manager_describe(m);
    assert_non_null(strstr(d, "no cgroups"));
    assert_non_null(strstr(d, "lacks the cpu controller"));
    assert_non_null(strstr(d, "duty cycle"));
    pt_cgroup_manager_close(m);
    char path[PATH_MAX];
    tu_pathf(path, "%s/powertune", root);
    assert_false(access(path, F_OK) == 0);
    remove_fixture_root(root);
}

static void test_v2_without_pids_skips_pids_max(void **state)
{
    (void)state;
    struct fixture f;
    assert_int_equal(make_root(f.root, "cpuset cpu io memory\n"), 0);
    tu_pathf(f.inst, "%s/powertune/%s", f.root, INSTANCE);
    struct pt_cgroup_manager_options opt = {
        .kind = PT_CGROUP_AUTO, .v2_root = f.root, .instance = INSTANCE, .fake_tree = true};
    struct pt_error err;
    assert_int_equal(pt_cgroup_manager_open(&f.m, &opt, &err), 0);
    assert_int_equal(pt_cgroup_manager_kind(f.m), PT_CGROUP_V2);
    assert_file(f.root, "cgroup.subtree_control", "+cpu +memory");
    struct pt_cgroup *cg = create_128(&f, "np");
    char dir[PATH_MAX];
    tu_pathf(dir, "%s/np", f.inst);
    assert_false(exists(dir, "pids.max"));
    destroy(cg);
    pt_cgroup_manager_close(f.m);
    remove_fixture_root(f.root);
}

static void test_already_enabled_controllers_left_alone(void **state)
{
    (void)state;
    char root[PATH_MAX];
    assert_int_equal(make_root(root, "cpu memory pids\n"), 0);
    write_file(root, "cgroup.subtree_control", "cpu io memory pids\n");
    struct pt_cgroup_manager *m = NULL;
    struct pt_error err;
    struct pt_cgroup_manager_options opt = {
        .kind = PT_CGROUP_V2, .v2_root = root, .instance = INSTANCE, .fake_tree = true};
    assert_int_equal(pt_cgroup_manager_open(&m, &opt, &err), 0);
    assert_file(root, "cgroup.subtree_control", "cpu io memory pids\n");
    pt_cgroup_manager_close(m);
    remove_fixture_root(root);
}

static void test_bad_instance_name(void **state)
{
    (void)state;
    struct pt_cgroup_manager *m = NULL;
    struct pt_error err;
    struct pt_cgroup_manager_options opt = {
        .kind = PT_CGROUP_V2, .v2_root = "/nonexistent", .instance = "a/b", .fake_tree = true};
    assert_int_equal(pt_cgroup_manager_open(&m, &opt, &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "a/b"));
}

/*
 * Delegation (cgroup.h): an engine that may not create groups at the root uses its own group
 * when it is delegated to it. Runs as uid 65534 in a child, on a tree like systemd's: the root
 * and user.slice owned by root, user.slice/deleg and its control files by the user.
 */
#define NOBODY 65534

static void make_delegated_tree(char *root, const char *subtree_control_owner_files)
{
    assert_int_equal(make_root(root, "cpu memory pids\n"), 0);
    assert_int_equal(chmod(root, 0755), 0);
    char dir[PATH_MAX];
    tu_pathf(dir, "%s/user.slice", root);
    assert_int_equal(mkdir(dir, 0755), 0);
    tu_pathf(dir, "%s/user.slice/deleg", root);
    assert_int_equal(mkdir(dir, 0755), 0);
    write_file(dir, "cgroup.controllers", "cpu memory pids\n");
    write_file(dir, "cgroup.subtree_control", "");
    write_file(dir, "cgroup.procs", "");
    if (subtree_control_owner_files) {
        static const char *const owned[] = {"", "cgroup.procs", "cgroup.subtree_control"};
        for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
            char path[PATH_MAX];
            tu_pathf(path, "%s/%s", dir, owned[i]);
            assert_int_equal(chown(path, NOBODY, NOBODY), 0);
        }
    }
}

static void remove_delegated_tree(const char *root)
{
    static const char *const files[] = {
        "user.slice/deleg/powertune-engine/cgroup.procs", "user.slice/deleg/cgroup.controllers",
        "user.slice/deleg/cgroup.subtree_control", "user.slice/deleg/cgroup.procs"};
    char path[PATH_MAX];
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        tu_pathf(path, "%s/%s", root, files[i]);
        unlink(path);
    }
    static const char *const dirs[] = {"user.slice/deleg/powertune-engine", "user.slice/deleg",
                                       "user.slice"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        tu_pathf(path, "%s/%s", root, dirs[i]);
        if (rmdir(path) != 0 && !(i == 0 && errno == ENOENT)) /* no engine dir if refused */
            fail_msg("rmdir %s: %s", path, strerror(errno));
    }
    remove_fixture_root(root);
}

/*
 * Opens an AUTO manager on `root` as uid 65534 with own group `self`, creates a group and
 * closes it; the child writes the manager's description (or error) to `out`.
 */
static int open_as_nobody(const char *root, const char *self, char *out, size_t size)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
            setresuid(NOBODY, NOBODY, NOBODY))
            _exit(10);
        struct pt_cgroup_manager *m = NULL;
        struct pt_cgroup_manager_options opt = {.kind = PT_CGROUP_AUTO, .v2_root = root,
                                                .v2_self = self, .instance = INSTANCE,
                                                .fake_tree = true};
        struct pt_error err;
        if (pt_cgroup_manager_open(&m, &opt, &err) != 0) {
            dprintf(p[1], "%s", err.msg);
            _exit(11);
        }
        dprintf(p[1], "%s", pt_cgroup_manager_describe(m));
        struct pt_cgroup_limits lim = limits_for(128);
        struct pt_cgroup *cg = NULL;
        int rc = 0;
        if (pt_cgroup_manager_kind(m) == PT_CGROUP_V2) {
            rc = pt_cgroup_create(m, "env-1", &lim, &cg, &err);
            if (!rc) {
                char path[PATH_MAX];
                tu_pathf(path, "%s%s/powertune/%s/env-1/memory.max", root, self, INSTANCE);
                char text[64] = "";
                rc = pt_file_read_small(path, text, sizeof(text), NULL) || strcmp(text, "134217728")
                         ? 13
                         : 0;
                pt_cgroup_destroy(cg, NULL);
            } else {
                dprintf(p[1], " / create: %s", err.msg);
                rc = 12;
            }
        }
        pt_cgroup_manager_close(m);
        _exit(rc);
    }
    close(p[1]);
    int status = tu_child_report(p[0], pid, out, size);
    print_message("as uid %d: %s\n", NOBODY, out);
    return status;
}

static void test_delegated_own_group_is_used(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    char root[PATH_MAX], d[2048], dir[PATH_MAX];
    make_delegated_tree(root, "owned");
    assert_int_equal(open_as_nobody(root, "/user.slice/deleg", d, sizeof(d)), 0);
    tu_pathf(dir, "%s/user.slice/deleg", root);
    assert_non_null(strstr(d, "cgroup v2 at "));
    assert_non_null(strstr(d, dir));
    assert_non_null(strstr(d, "(delegated"));
    /* The engine moved itself out of the group it hands controllers from. */
    tu_pathf(dir, "%s/user.slice/deleg/powertune-engine", root);
    char pid[32];
    read_file(dir, "cgroup.procs", pid, sizeof(pid));
    assert_true(atoi(pid) > 0);
    tu_pathf(dir, "%s/user.slice/deleg", root);
    assert_file(dir, "cgroup.subtree_control", "+cpu +memory +pids");
    /* The root was left alone, and close removed the instance. */
    assert_file(root, "cgroup.subtree_control", "");
    assert_false(exists(root, "powertune"));
    assert_false(exists(dir, "powertune"));
    remove_delegated_tree(root);
}

static void test_undelegated_own_group_falls_back_to_none(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    char root[PATH_MAX], d[2048];
    make_delegated_tree(root, NULL); /* deleg stays root's */
    assert_int_equal(open_as_nobody(root, "/user.slice/deleg", d, sizeof(d)), 0);
    assert_non_null(strstr(d, "no cgroups: cannot open "));
    assert_non_null(strstr(d, "Permission denied"));
    assert_non_null(strstr(d, "/user.slice/deleg is not delegated to it"));
    assert_non_null(strstr(d, "systemd-run --user --scope -p Delegate=yes"));
    assert_non_null(strstr(d, "(degraded)"));
    /* In the root group there is nothing to delegate. */
    assert_int_equal(open_as_nobody(root, "/", d, sizeof(d)), 0);
    assert_non_null(strstr(d, "in the root cgroup"));
    assert_non_null(strstr(d, "(degraded)"));
    remove_delegated_tree(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_enables_controllers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_writes_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spare_is_taken_by_the_next_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spare_made_with_likely_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spare_made_by_one_thread_at_a_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_period_without_quota, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_existing_name_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_names_and_cpu_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_cpu_changes_cpu_max, setup, teardown),
        cmocka_unit_test_setup_teardown(test_freeze_writes_cgroup_freeze, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_stats_parses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_stats_samples_peak_without_memory_peak, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reset_peak, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_stats_errors_are_clear, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enter_child_writes_pid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_all_writes_cgroup_kill, setup, teardown),
        cmocka_unit_test(test_destroy_null_is_ok),
        cmocka_unit_test(test_v2_without_cpu_controller),
        cmocka_unit_test(test_v2_without_pids_skips_pids_max),
        cmocka_unit_test(test_already_enabled_controllers_left_alone),
        cmocka_unit_test(test_bad_instance_name),
        cmocka_unit_test(test_delegated_own_group_is_used),
        cmocka_unit_test(test_undelegated_own_group_falls_back_to_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
