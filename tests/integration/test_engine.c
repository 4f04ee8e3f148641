/*
 * The engine with real functions in real cgroups: cold and warm starts, CPU
 * proportional to memory, Lambda's errors (timeout, crash, OOM, INIT error,
 * handled error) with recovery, concurrency and throttling, log streams, and
 * nothing left behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/fs.h"
#include "engine/limits.h"
#include "engine/sandbox.h"
#include "lib/testutil.h"

static int require_cgroups(void **state)
{
    (void)state;
    if (!tu_have_cgroups())
        skip();
    return 0;
}

static void test_cold_then_warm(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = tu_function(e, "noop-c", 128, 0);
    struct pt_invoke_result r1, r2;
    tu_invoke(e, fn, "{}", &r1);
    assert_false(r1.function_error);
    assert_true(r1.cold_start);
    assert_true(r1.init_duration_ms >= 0);
    assert_non_null(strstr(r1.log_tail, "START RequestId: "));
    assert_non_null(strstr(r1.log_tail, "\tInit Duration: "));
    assert_non_null(strstr(r1.log_tail, "REPORT RequestId: "));
    assert_int_equal(r1.memory_mb, 128);
    assert_true(r1.max_memory_used_mb >= 1 && r1.max_memory_used_mb <= 128);
    tu_invoke(e, fn, "{}", &r2);
    assert_false(r2.cold_start);
    assert_true(r2.init_duration_ms < 0);
    assert_null(strstr(r2.log_tail, "Init Duration"));
    assert_string_not_equal(r1.request_id, r2.request_id);
    assert_true(r2.billed_ms >= 1);
    struct pt_engine_counts c;
    pt_engine_counts(e, &c);
    assert_int_equal(c.environments, 1);
    pt_sleep_ms(100); /* idle past the freeze grace: frozen between invocations */
    pt_engine_counts(e, &c);
    assert_int_equal(c.frozen, 1);
    struct pt_invoke_result r3;
    tu_invoke(e, fn, "{}", &r3); /* thawed for the next one */
    assert_false(r3.function_error);
    assert_false(r3.cold_start);
    pt_invoke_result_free(&r3);
    pt_invoke_result_free(&r1);
    pt_invoke_result_free(&r2);
    tu_engine_free(e);
    assert_int_equal(tu_count_instance_cgroups(), 0);
}

/* Regression: a warm event not yet picked up was timed from the end of INIT, so an
 * environment older than its timeout failed warm invocations at random. */
static void test_old_environment_serves_warm_invocations(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = tu_function(e, "noop-c", 1769, 1);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{}", &r);
    pt_invoke_result_free(&r);
    pt_sleep_ms(1200); /* older than the 1 s timeout */
    int failures = 0;
    for (int i = 0; i < 1500; i++) {
        tu_invoke(e, fn, "{}", &r);
        failures += r.function_error;
        pt_invoke_result_free(&r);
    }
    assert_int_equal(failures, 0);
    tu_engine_free(e);
}

/* Two engines in one process: closing one must not remove the other's groups. */
static void test_two_engines_in_one_process(void **state)
{
    (void)state;
    struct pt_engine *a = tu_engine(NULL);
    struct pt_engine *b = tu_engine(NULL);
    struct pt_function *fa = tu_function(a, "noop-c", 128, 0);
    struct pt_function *fb = tu_function(b, "noop-c", 128, 0);
    struct pt_invoke_result r;
    tu_invoke(b, fb, "{}", &r);
    pt_invoke_result_free(&r);
    tu_engine_free(b);
    struct pt_invoke_request req = {.payload = "{}", .payload_len = 2, .new_environment = true};
    struct pt_error err = {0};
    assert_int_equal(pt_engine_invoke(a, fa, &req, &r, &err), 0);
    assert_false(r.function_error);
    pt_invoke_result_free(&r);
    tu_engine_free(a);
    assert_int_equal(tu_count_instance_cgroups(), 0);
}

/* INIT over its limit: INIT_REPORT with Status: timeout, then INIT again inside the invoke phase. */
static void test_init_over_limit_is_retried_in_invoke(void **state)
{
    (void)state;
    struct pt_engine_options opt = {.init_timeout_ms = 1000}; /* Lambda's 10 s, scaled down */
    struct pt_engine *e = tu_engine(&opt);
    struct pt_function *fn = tu_function(e, "init-sleep-python", 128, 5);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{}", &r);
    assert_false(r.function_error);
    assert_true(r.cold_start);
    assert_non_null(strstr(r.log_tail, "\tPhase: init\tStatus: timeout"));
    assert_null(strstr(r.log_tail, "Phase: invoke"));
    assert_true(r.init_duration_ms < 0); /* no Init Duration: INIT ran inside the invoke phase */
    assert_true(r.duration_ms >= 2000);  /* and its 2 s count toward Duration */
    pt_invoke_result_free(&r);
    tu_invoke(e, fn, "{}", &r); /* then the environment is warm */
    assert_false(r.cold_start);
    assert_true(r.duration_ms < 1000);
    pt_invoke_result_free(&r);
    tu_engine_free(e);
}

/* Regression: after a retried INIT the handler got a whole timeout of its own, so INIT and
 * handler together ran past the function timeout and succeeded (Duration 2.5 s with a 2 s
 * timeout); on Lambda the retried INIT runs under the function timeout. */
static void test_retried_init_counts_toward_timeout(void **state)
{
    (void)state;
    struct pt_engine_options opt = {.init_timeout_ms = 1000};
    struct pt_engine *e = tu_engine(&opt);
    struct pt_function *fn = tu_function(e, "tests/functions/slow-init-and-handler", 1769, 2);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{}", &r);
    assert_non_null(strstr(r.log_tail, "\tPhase: init\tStatus: timeout"));
    assert_true(r.function_error);
    assert_string_equal(r.error_type, "Sandbox.Timedout");
    assert_int_equal(r.status, PT_STATUS_TIMEOUT);
    assert_true(r.duration_ms == 2000.0);
    assert_non_null(strstr(r.log_tail, "\tDuration: 2000.00 ms\t"));
    pt_invoke_result_free(&r);
    tu_engine_free(e);
}

static void test_idle_environments_are_reclaimed(void **state)
{
    (void)state;
    struct pt_engine_options opt = {.keepalive_ms = 300};
    struct pt_engine *e = tu_engine(&opt);
    struct pt_function *fn = tu_function(e, "noop-c", 128, 0);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{}", &r);
    pt_invoke_result_free(&r);
    struct pt_engine_counts c;
    pt_engine_counts(e, &c);
    assert_int_equal(c.environments, 1);
    pt_sleep_ms(2500); /* keep-alive 300 ms, janitor wakes every second */
    pt_engine_counts(e, &c);
    assert_int_equal(c.environments, 0);
    tu_invoke(e, fn, "{}", &r);
    assert_true(r.cold_start);
    pt_invoke_result_free(&r);
    tu_engine_free(e);
}

static void test_fork_bomb_hits_pids_limit(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = tu_function(e, "tests/functions/misbehave-python", 1769, 60);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{\"action\": \"forkbomb\"}", &r);
    assert_false(r.function_error);
    print_message("fork bomb: %.*s\n", (int)r.payload_len, r.payload);
    assert_non_null(strstr(r.payload, "\"error\": \"Resource temporarily unavailable\""));
    pt_invoke_result_free(&r);
    tu_engine_free(e); /* every child is killed, every group removed */
    assert_int_equal(tu_count_instance_cgroups(), 0);
}

/* The Python client is handed its Runtime API connection (descriptor 3): it makes no TCP
 * connection, and neither the descriptor nor its variable reaches the function's children. */
static void test_python_runtime_handed_connection(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = tu_function(e, "tests/functions/misbehave-python", 128, 10);
    for (int i = 0; i < 2; i++) { /* cold, then warm */
        struct pt_invoke_result r;
        tu_invoke(e, fn, "{\"action\": \"descriptors\"}", &r);
        print_message("descriptors: %.*s\n", (int)r.payload_len, r.payload);
        assert_false(r.function_error);
        assert_int_equal(r.cold_start, i == 0);
        assert_non_null(strstr(r.payload, "\"3\": [\"socket\", false]"));
        assert_null(strstr(r.payload, "\"4\": ["));
        assert_non_null(strstr(r.payload, "\"private_vars\": []"));
        pt_invoke_result_free(&r);
    }
    tu_engine_free(e);
}

static void test_output_is_capped(void **state)
{
    (void)state;
    struct pt_engine_options opt = {.output_cap = 1 << 20};
    struct pt_engine *e = tu_engine(&opt);
    struct pt_function *fn = tu_function(e, "tests/functions/misbehave-python", 1769, 60);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{\"action\": \"print\", \"mb\": 20}", &r);
    assert_false(r.function_error);
    assert_non_null(strstr(r.log_tail, "powertune: dropped "));
    assert_non_null(strstr(r.log_tail, "REPORT RequestId: "));
    pt_invoke_result_free(&r);
    tu_engine_free(e);
}

static void test_oversize_response_is_a_function_error(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = tu_function(e, "tests/functions/misbehave-python", 1769, 30);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{\"action\": \"big\", \"mb\": 7}", &r);
    assert_true(r.function_error);
    assert_string_equal(r.error_type, "Function.ResponseSizeTooLarge");
    assert_string_equal(r.payload, "{\"errorType\":\"Function.ResponseSizeTooLarge\",\"errorMessage\":"
                                   "\"Response payload size exceeded maximum allowed payload size "
                                   "(6291556 bytes).\"}");
    pt_invoke_result_free(&r);
    /* 5 MB is fine; in a new environment: the Python runtime ended after the 413, as
     * awslambdaric's does (its RuntimeError, uncaught) */
    tu_invoke(e, fn, "{\"action\": \"big\", \"mb\": 5}", &r);
    assert_false(r.function_error);
    assert_true(r.cold_start);
    assert_true(r.payload_len > 5 * 1024 * 1024);
    pt_invoke_result_free(&r);
    tu_engine_free(e);
}

/* Regression: the sandbox's private /tmp hid code directories that live under /tmp. */
static void test_code_dir_under_tmp(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char cmd[4600];
    snprintf(cmd, sizeof(cmd), "cp -r '%s' '%s/fn' && chmod 755 '%s'", tu_example("fibonacci-python"),
             dir, dir);
    assert_int_equal(system(cmd), 0);
    struct pt_engine *e = tu_engine(NULL);
    char path[4200];
    snprintf(path, sizeof(path), "%s/fn", dir);
    struct pt_function *fn = tu_function(e, path, 1769, 10);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{\"n\": 100}", &r);
    assert_false(r.function_error);
    assert_non_null(strstr(r.payload, "checksum"));
    pt_invoke_result_free(&r);
    tu_engine_free(e);
    tu_rmtree(dir);
    free(dir);
}

/* Regression: a runtime that posts an error and exits left a dead environment in the pool. */
static void test_exit_after_error_resets_environment(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = tu_function(e, "tests/functions/error-then-exit", 1769, 10);
    for (int i = 0; i < 3; i++) {
        struct pt_invoke_result r;
        tu_invoke(e, fn, "{}", &r);
        assert_true(r.function_error);
        assert_string_equal(r.error_type, "Error"); /* never Runtime.ExitError */
        assert_true(r.cold_start);
        pt_invoke_result_free(&r);
    }
    tu_engine_free(e);
}

/* An integer member of a JSON payload; fails the test without it. */
static long long payload_int(const struct pt_invoke_result *r, const char *key)
{
    json_t *o = json_loadb(r->payload, r->payload_len, 0, NULL);
    if (!json_is_integer(json_object_get(o, key)))
        fail_msg("no integer %s in %.*s", key, (int)r->payload_len, r->payload);
    long long v = json_integer_value(json_object_get(o, key));
    json_decref(o);
    return v;
}

/* An engine whose functions run in the sandbox; the test skips (saying why) where they cannot. */
static struct pt_engine *sandboxed_engine(void)
{
    struct pt_engine *e = tu_engine(NULL);
    if (!pt_engine_sandboxed(e)) {
        print_message("%s\n", pt_engine_sandbox_note(e));
        tu_engine_free(e);
        skip();
    }
    return e;
}

static void test_sandbox(void **state)
{
    (void)state;
    struct pt_engine *e = sandboxed_engine();
    /* /tmp on a disk (ephemeral.h) where loop devices can be had, as here; else a tmpfs. */
    bool disk = pt_engine_sandbox_note(e) == NULL;
    if (!disk)
        print_message("%s\n", pt_engine_sandbox_note(e));
    struct pt_function *fn = tu_function(e, "tests/functions/sandbox-python", 1769, 30);
    /* The first cold start builds its namespace; the next ones enter one made ahead (when the
     * spare's thread has finished it: it had the previous INIT's ~30 ms). Each must be the
     * whole sandbox, with a /tmp of its own (the first filled its own to the limit). */
    for (int i = 0; i < 3; i++) {
        struct pt_invoke_request req = {.payload = "{\"tmp_mb\": 600}", /* EphemeralStorage: 512 MB */
                                        .payload_len = strlen("{\"tmp_mb\": 600}"),
                                        .new_environment = true};
        struct pt_invoke_result r;
        struct pt_error err = {0};
        if (pt_engine_invoke(e, fn, &req, &r, &err) != 0)
            fail_msg("invoke: %s", err.msg);
        print_message("sandbox %d: %.*s\n", i, (int)r.payload_len, r.payload);
        assert_false(r.function_error);
        assert_true(r.cold_start);
        assert_true(r.sandboxed);
        long long uid = payload_int(&r, "uid");
        assert_true(uid >= PT_SANDBOX_UID_FIRST && uid < PT_SANDBOX_UID_FIRST + PT_SANDBOX_UIDS);
        assert_non_null(strstr(r.payload, disk ? "\"tmp_fs\": \"ext4\"" : "\"tmp_fs\": \"tmpfs\""));
        assert_non_null(strstr(r.payload, "\"tmp_avail_mb\": 512,"));
        assert_non_null(strstr(r.payload, "\"tmp_small\": \"ok\""));
        assert_non_null(strstr(r.payload, "\"tmp_over\": \"ENOSPC\""));
        assert_non_null(strstr(r.payload, "\"code_dir_write\": \"EROFS\""));
        assert_non_null(strstr(r.payload, "\"host_write\": \"EROFS\""));
        assert_non_null(strstr(r.payload, "\"dev_shm\": false"));
        assert_non_null(strstr(r.payload, "\"dev_null\": true"));
        assert_non_null(strstr(r.payload, "\"devices\": \"null ok, full ENOSPC, zero ok, random ok, "
                                          "urandom ok\""));
        assert_null(strstr(r.payload, "\"pool\": \"ok\""));
        pt_invoke_result_free(&r);
    }
    if (disk) {
        /* Lambda's /tmp is not memory: a 128 MB function writes 300 MB there (a tmpfs charges
         * it all to the function's memory group: Runtime.OutOfMemory). */
        struct pt_function *small = tu_function(e, "tests/functions/sandbox-python", 128, 30);
        const char *payload = "{\"tmp_small_mb\": 300, \"tmp_mb\": 1}";
        struct pt_invoke_request req = {.payload = payload, .payload_len = strlen(payload)};
        struct pt_invoke_result r;
        struct pt_error err = {0};
        if (pt_engine_invoke(e, small, &req, &r, &err) != 0)
            fail_msg("invoke: %s", err.msg);
        print_message("128 MB: %.*s\n", (int)r.payload_len, r.payload);
        assert_false(r.function_error);
        assert_non_null(strstr(r.payload, "\"tmp_small\": \"ok\""));
        assert_true(r.max_memory_used_mb <= 128);
        pt_invoke_result_free(&r);
    }
    struct pt_engine_counts counts;
    pt_engine_counts(e, &counts);
#ifdef __SANITIZE_ADDRESS__
    assert_int_equal(counts.sandboxes_made_ahead, 0); /* sandbox.c: none in this build */
#else
    assert_true(counts.sandboxes_made_ahead >= 1);
#endif
    tu_engine_free(e);
}

/*
 * A crash or a timeout resets the environment, as on Lambda (lambda-wire.md, freeze/thaw): the
 * next invocation starts a new runtime (a cold start: globals gone) in the same environment,
 * whose /tmp keeps its files. A new environment starts with an empty /tmp.
 */
static void test_reset_keeps_tmp(void **state)
{
    (void)state;
    struct pt_engine *e = sandboxed_engine();
    struct pt_function *fn = tu_function(e, "tests/functions/sandbox-python", 1769, 2);
    static const char *const steps[] = {"{\"reset\": \"none\"}", "{\"reset\": \"exit\"}",
                                        "{\"reset\": \"none\"}", "{\"reset\": \"sleep\"}",
                                        "{\"reset\": \"none\"}"};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        struct pt_invoke_result r;
        tu_invoke(e, fn, steps[i], &r);
        print_message("%zu: %s %s%s\n", i, r.cold_start ? "cold" : "warm",
                      r.function_error ? r.error_type : "", r.payload ? r.payload : "");
        if (i == 1 || i == 3) {
            assert_true(r.function_error);
            assert_string_equal(r.error_type, i == 1 ? "Runtime.ExitError" : "Sandbox.Timedout");
        } else {
            assert_false(r.function_error);
            assert_true(r.cold_start); /* 0: the first; 2 and 4: after a reset */
            assert_non_null(strstr(r.payload, i == 0 ? "\"kept\": false" : "\"kept\": true"));
        }
        pt_invoke_result_free(&r);
        struct pt_engine_counts counts;
        pt_engine_counts(e, &counts);
        assert_int_equal(counts.environments, 1); /* the same one throughout */
    }
    struct pt_invoke_request fresh = {.payload = "{\"reset\": \"none\"}",
                                      .payload_len = strlen("{\"reset\": \"none\"}"),
                                      .new_environment = true};
    struct pt_invoke_result r;
    struct pt_error err = {0};
    if (pt_engine_invoke(e, fn, &fresh, &r, &err) != 0)
        fail_msg("invoke: %s", err.msg);
    assert_non_null(strstr(r.payload, "\"kept\": false"));
    pt_invoke_result_free(&r);
    tu_engine_free(e);
}

/*
 * An OOM kill resets in place as well (a crash to Lambda: the next invocation re-runs INIT in
 * the same environment, /tmp kept), and the memory peak starts afresh: a REPORT after it does not
 * say 128 MB again.
 */
/* Regression: a crash or a timeout reset the environment in place but kept its memory peak, so
 * every later REPORT of the new runtime said the old one's Max Memory Used (150+ MB here for a
 * runtime using ~10), as an OOM kill's did before its peak was restarted. */
static void test_reset_restarts_memory_peak(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = tu_function(e, "tests/functions/sandbox-python", 1769, 3);
    static const char *const steps[] = {"{\"reset\": \"exit\", \"hold_mb\": 150}",
                                        "{\"reset\": \"none\"}",
                                        "{\"reset\": \"sleep\", \"hold_mb\": 150}",
                                        "{\"reset\": \"none\"}"};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        struct pt_invoke_result r;
        tu_invoke(e, fn, steps[i], &r);
        print_message("%zu: %s %s, max memory %d MB\n", i, r.cold_start ? "cold" : "warm",
                      r.function_error ? r.error_type : "ok", r.max_memory_used_mb);
        assert_true(r.cold_start == (i != 2)); /* cold after each reset */
        if (i % 2 == 0) {
            assert_true(r.function_error);
            assert_in_range(r.max_memory_used_mb, 150, 1769);
        } else {
            assert_false(r.function_error);
            assert_in_range(r.max_memory_used_mb, 1, 99);
        }
        pt_invoke_result_free(&r);
    }
    tu_engine_free(e);
}

static void test_oom_reset_keeps_tmp(void **state)
{
    (void)state;
    struct pt_engine *e = sandboxed_engine();
    struct pt_function *fn = tu_function(e, "tests/functions/sandbox-python", 128, 10);
    static const char *const steps[] = {"{\"reset\": \"none\"}",
                                        "{\"reset\": \"oom\", \"mb\": 400}",
                                        "{\"reset\": \"none\"}"};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        struct pt_invoke_result r;
        tu_invoke(e, fn, steps[i], &r);
        print_message("%zu: %s %s%s, max memory %d MB\n", i, r.cold_start ? "cold" : "warm",
                      r.function_error ? r.error_type : "", r.payload ? r.payload : "",
                      r.max_memory_used_mb);
        if (i == 1) {
            assert_true(r.function_error);
            assert_non_null(strstr(r.payload, "Runtime exited with error: signal: killed"));
            assert_non_null(strstr(r.log_tail, "\tError Type: Runtime.OutOfMemory"));
            assert_int_equal(r.max_memory_used_mb, 128);
        } else {
            assert_false(r.function_error);
            assert_true(r.cold_start);
            assert_non_null(strstr(r.payload, i == 0 ? "\"kept\": false" : "\"kept\": true"));
            assert_true(r.max_memory_used_mb < 100);
        }
        pt_invoke_result_free(&r);
        struct pt_engine_counts counts;
        pt_engine_counts(e, &counts);
        assert_int_equal(counts.environments, 1);
    }
    tu_engine_free(e);
}

/* "<quota> <period>" as tests/functions/cpu-quota-python reports it ("max": no quota). */
static void quota_text(char *buf, size_t n, unsigned long long quota_us,
                       unsigned long long period_us)
{
    if (quota_us)
        snprintf(buf, n, "%llu %llu", quota_us, period_us);
    else
        snprintf(buf, n, "max %llu", period_us);
}

/* The function's own cgroup, read from inside it: INIT's quota, then the invocation's. */
static void expect_cpu_quota(struct pt_engine *e, int memory, bool boost)
{
    struct pt_function *fn = tu_function(e, "tests/functions/cpu-quota-python", memory, 0);
    struct pt_cpu_share share;
    pt_cpu_share_for_memory(memory, pt_host_cpus(), &share);
    char init[64], invoke[64], want[160];
    quota_text(init, sizeof(init),
               boost ? pt_cpu_boost_quota_us(&share, pt_host_cpus()) : share.quota_us,
               share.period_us);
    quota_text(invoke, sizeof(invoke), share.quota_us, share.period_us);
    snprintf(want, sizeof(want), "{\"init\": \"%s\", \"invoke\": \"%s\"}", init, invoke);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{}", &r);
    print_message("%d MB, boost %s: %.*s\n", memory, boost ? "on" : "off", (int)r.payload_len,
                  r.payload);
    assert_false(r.function_error);
    assert_int_equal(r.payload_len, strlen(want));
    assert_memory_equal(r.payload, want, r.payload_len);
    pt_invoke_result_free(&r);
    pt_engine_function_remove(e, fn);
}

/*
 * INIT runs boosted (2 vCPUs, no quota where that is the whole host: the kernel throttles a
 * quota of the host's capacity, limits.h), the invocation at the function's share.
 */
static void test_init_boost_quota(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    expect_cpu_quota(e, 128, true);
    expect_cpu_quota(e, 1769, true);
    expect_cpu_quota(e, 10240, true); /* more than the host: its share is the whole host */
    tu_engine_free(e);
    struct pt_engine_options opt = {.no_init_boost = true};
    e = tu_engine(&opt);
    expect_cpu_quota(e, 128, false);
    tu_engine_free(e);
    assert_int_equal(tu_count_instance_cgroups(), 0);
}

/* The fastest of three warm runs: other load on the host can only slow a run down. */
static double cpu_duration(struct pt_engine *e, int memory, long iterations, int threads)
{
    struct pt_function *fn = tu_function(e, "cpu-c", memory, 60);
    char payload[128];
    snprintf(payload, sizeof(payload), "{\"iterations\": %ld, \"threads\": %d}", iterations,
             threads);
    struct pt_invoke_result r;
    double best = 0;
    for (int i = 0; i < 4; i++) {
        tu_invoke(e, fn, payload, &r);
        assert_false(r.function_error);
        if (i > 0 && (best == 0 || r.duration_ms < best)) /* run 0 is the cold start */
            best = r.duration_ms;
        pt_invoke_result_free(&r);
    }
    pt_engine_function_remove(e, fn);
    return best;
}

static void test_cpu_scales_with_memory(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    /* Calibrate: how much CPU one iteration takes on this machine, at one full vCPU. */
    struct pt_function *fn = tu_function(e, "cpu-c", 1769, 60);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{\"iterations\": 20000000, \"threads\": 1}", &r);
    double ms_per_iter = r.cpu_time_ms / 20000000.0;
    pt_invoke_result_free(&r);
    pt_engine_function_remove(e, fn);
    assert_true(ms_per_iter > 0);
    long iterations = (long)(100.0 / ms_per_iter); /* about 100 ms of CPU */
    double d256 = cpu_duration(e, 256, iterations, 1);
    double d1024 = cpu_duration(e, 1024, iterations, 1);
    double ratio = d256 / d1024;
    print_message("cpu-c %ld iterations: 256 MB %.1f ms, 1024 MB %.1f ms, ratio %.2f (want 4 +-15%%)\n",
                  iterations, d256, d1024, ratio);
    assert_true(ratio > 4.0 * 0.85 && ratio < 4.0 * 1.15);
    tu_engine_free(e);
}

static void test_timeout_then_recovery(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = tu_function(e, "timeout-python", 128, 1);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{\"seconds\": 5}", &r);
    assert_true(r.function_error);
    assert_string_equal(r.error_type, "Sandbox.Timedout");
    assert_int_equal(r.status, PT_STATUS_TIMEOUT);
    assert_true(r.duration_ms == 1000.0);
    char want[128];
    snprintf(want, sizeof(want), "\"errorMessage\":\"RequestId: %s Error: Task timed out after 1.00 seconds\"",
             r.request_id);
    assert_non_null(strstr(r.payload, want));
    assert_non_null(strstr(r.payload, "\"errorType\":\"Sandbox.Timedout\""));
    assert_non_null(strstr(r.log_tail, "Duration: 1000.00 ms"));
    assert_non_null(strstr(r.log_tail, "\tStatus: timeout"));
    pt_invoke_result_free(&r);
    struct pt_engine_counts c;
    pt_engine_counts(e, &c);
    assert_int_equal(c.environments, 1); /* reset in place: a new runtime at the next invoke */
    tu_invoke(e, fn, "{\"seconds\": 0}", &r);
    assert_false(r.function_error);
    assert_true(r.cold_start);
    pt_invoke_result_free(&r);
    tu_engine_free(e);
}

/*
 * Lambda's Duration runs until the runtime is back at /next (platform.runtimeDone's
 * runtimeOverhead span): work after the response is billed. It ended at the response, so a
 * runtime that spent 300 ms after it was billed 1 ms.
 */
static void test_work_after_response_is_billed(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = tu_function(e, "tests/functions/respond-then-linger", 1769, 3);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{\"after_ms\": 300}", &r);
    assert_false(r.function_error);
    assert_int_equal(r.status, PT_STATUS_SUCCESS);
    assert_string_equal(r.payload, "\"ok\"");
    assert_in_range((long)r.duration_ms, 300, 900);
    pt_invoke_result_free(&r);
    tu_invoke(e, fn, "{\"after_ms\": 0}", &r); /* back at /next: the same environment, warm */
    assert_false(r.cold_start);
    assert_in_range((long)r.duration_ms, 0, 250);
    pt_invoke_result_free(&r);
    tu_engine_free(e);
}

/* A runtime that answers and never comes back to /next is billed to its deadline and reset, as
 * a timeout (its caller keeps the response); its next event used to be queued to it and time
 * out unclaimed, and a new event now goes to a new runtime. */
static void test_response_without_next_runs_to_the_timeout(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = tu_function(e, "tests/functions/respond-then-linger", 1769, 1);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{}", &r);
    assert_false(r.function_error);
    assert_string_equal(r.payload, "\"ok\"");
    assert_int_equal(r.status, PT_STATUS_TIMEOUT);
    assert_true(r.duration_ms == 1000.0);
    assert_non_null(strstr(r.log_tail, "\tDuration: 1000.00 ms\t"));
    assert_non_null(strstr(r.log_tail, "Task timed out after 1.00 seconds"));
    pt_invoke_result_free(&r);
    tu_invoke(e, fn, "{\"after_ms\": 0}", &r);
    assert_true(r.cold_start);
    assert_int_equal(r.status, PT_STATUS_SUCCESS);
    pt_invoke_result_free(&r);
    tu_engine_free(e);
}

/* A runtime that exits after its response: the invocation ends at the exit (it was billed to
 * the response), and the next one starts cold. */
static void test_exit_after_response_ends_the_invocation(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = tu_function(e, "tests/functions/respond-then-linger", 1769, 5);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{\"exit\": true}", &r);
    assert_false(r.function_error);
    assert_string_equal(r.payload, "\"ok\"");
    assert_in_range((long)r.duration_ms, 1400, 3000);
    pt_invoke_result_free(&r);
    tu_invoke(e, fn, "{\"after_ms\": 0}", &r);
    assert_true(r.cold_start);
    assert_false(r.function_error);
    pt_invoke_result_free(&r);
    tu_engine_free(e);
}

/* Context switches of this process's threads so far (the engine's janitor is one of them). */
static long process_context_switches(void)
{
    char path[PATH_MAX];
    long total = 0;
    DIR *d = opendir("/proc/self/task");
    assert_non_null(d);
    struct dirent *t;
    while ((t = readdir(d)) != NULL) {
        if (t->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/self/task/%s/status", t->d_name);
        FILE *f = fopen(path, "r");
        char line[256];
        long v;
        while (f && fgets(line, sizeof(line), f)) {
            if (sscanf(line, "voluntary_ctxt_switches: %ld", &v) == 1 ||
                sscanf(line, "nonvoluntary_ctxt_switches: %ld", &v) == 1)
                total += v;
        }
        if (f)
            fclose(f);
    }
    closedir(d);
    return total;
}

/* How often the engine's threads woke up in half a second of nothing to do. */
static long idle_wakeups(void)
{
    pt_sleep_ms(1500); /* past the settle bound and a spare namespace's build */
    long before = process_context_switches();
    pt_sleep_ms(500);
    return process_context_switches() - before;
}

/* Regression: an idle environment the janitor could not freeze (reset after a crash, or a
 * runtime that answered but never came back to /next) was looked at again every 2 ms until
 * it was used or the keep-alive (5 minutes) reclaimed it: ~500 wake-ups a second. */
static void test_unfreezable_idle_environment_does_not_wake_janitor(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *crash = tu_function(e, "crash-c", 128, 3);
    struct pt_invoke_result r;
    tu_invoke(e, crash, "{\"exit\": 3}", &r);
    assert_string_equal(r.error_type, "Runtime.ExitError");
    pt_invoke_result_free(&r);
    long woke = idle_wakeups();
    assert_in_range(woke, 0, 39);
    struct pt_function *linger = tu_function(e, "tests/functions/respond-then-linger", 1769, 1);
    tu_invoke(e, linger, "{}", &r);
    assert_false(r.function_error);
    pt_invoke_result_free(&r);
    woke = idle_wakeups();
    assert_in_range(woke, 0, 39);
    tu_engine_free(e);
}

/* Regression: with freeze_immediately the invoke call settled the environment right after a
 * crash or a timeout had reset it, and settling a reset environment (no Runtime API server
 * left) dereferenced a null pointer: the engine crashed. */
static void test_freeze_immediately_survives_reset(void **state)
{
    (void)state;
    struct pt_engine_options opt = {.freeze_immediately = true};
    struct pt_engine *e = tu_engine(&opt);
    struct pt_function *fn = tu_function(e, "crash-c", 1769, 3);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{\"exit\": 3}", &r);
    assert_string_equal(r.error_type, "Runtime.ExitError");
    pt_invoke_result_free(&r);
    tu_invoke(e, fn, "{\"exit\": 4}", &r); /* a new runtime in the reset environment */
    assert_true(r.cold_start);
    assert_non_null(strstr(r.payload, "Runtime exited with error: exit status 4"));
    pt_invoke_result_free(&r);
    tu_engine_free(e);
}

/* An INIT retried in the invoke phase runs under the function timeout: the event's Deadline-Ms
 * counts from the retry's start, as the engine's own deadline does. It counted from the event's
 * hand-over, so a runtime whose retry took 1 s of a 3 s timeout was told it had 3 s left. */
static void test_retried_init_shortens_the_deadline(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = tu_function(e, "tests/functions/init-retry-deadline", 1769, 3);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{}", &r);
    assert_false(r.function_error);
    long left = atol(r.payload);
    assert_in_range(left, 100, 2000); /* 3000 ms less the retry's second, at least */
    pt_invoke_result_free(&r);
    tu_engine_free(e);
}

/* A /response that broke off mid-body (the runtime's send timed out, or it closed the socket)
 * fails the invocation at once with Runtime.TruncatedResponse, as Lambda does (RIE
 * TruncatedHTTPRequest); the engine waited for the function timeout and answered
 * Sandbox.Timedout. The runtime is still there: the next event is served warm. */
static void test_truncated_response(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = tu_function(e, "tests/functions/truncated-response", 1769, 5);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{\"then\": \"next\"}", &r);
    assert_string_equal(r.error_type, "Runtime.TruncatedResponse");
    assert_int_equal(r.status, PT_STATUS_ERROR);
    assert_true(r.duration_ms < 2000);
    assert_non_null(strstr(r.log_tail, "\tStatus: error\tError Type: Runtime.TruncatedResponse"));
    pt_invoke_result_free(&r);
    tu_invoke(e, fn, "{}", &r);
    assert_false(r.function_error);
    assert_false(r.cold_start);
    assert_string_equal(r.payload, "\"whole\"");
    pt_invoke_result_free(&r);
    /* A runtime that died mid-body: its exit is the error, not the broken-off answer. */
    tu_invoke(e, fn, "{\"then\": \"exit\"}", &r);
    assert_string_equal(r.error_type, "Runtime.ExitError");
    assert_non_null(strstr(r.payload, "Runtime exited with error: exit status 3"));
    pt_invoke_result_free(&r);
    tu_engine_free(e);
}

static void test_crash_then_recovery(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = tu_function(e, "crash-c", 128, 3);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{\"signal\": \"SEGV\"}", &r);
    assert_true(r.function_error);
    assert_string_equal(r.error_type, "Runtime.ExitError");
    assert_non_null(strstr(r.payload, "Error: Runtime exited with error: signal: segmentation fault"));
    assert_non_null(strstr(r.log_tail, "Runtime.ExitError\n"));
    assert_non_null(strstr(r.log_tail, "\tStatus: error\tError Type: Runtime.ExitError"));
    pt_invoke_result_free(&r);
    tu_invoke(e, fn, "{\"exit\": 3}", &r);
    assert_true(r.cold_start); /* a new environment served it */
    assert_non_null(strstr(r.payload, "Runtime exited with error: exit status 3"));
    pt_invoke_result_free(&r);
    tu_engine_free(e);
}

static void test_oom_then_recovery(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = tu_function(e, "alloc-python", 128, 10);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{\"mb\": 400}", &r);
    assert_true(r.function_error);
    assert_string_equal(r.error_type, "Runtime.ExitError");
    assert_non_null(strstr(r.payload, "Runtime exited with error: signal: killed"));
    assert_non_null(strstr(r.log_tail, "\tStatus: error\tError Type: Runtime.OutOfMemory"));
    assert_non_null(strstr(r.log_tail, "Max Memory Used: 128 MB"));
    assert_int_equal(r.max_memory_used_mb, 128);
    pt_invoke_result_free(&r);
    tu_invoke(e, fn, "{\"mb\": 8}", &r);
    assert_false(r.function_error);
    assert_true(r.cold_start); /* INIT again, in the same environment */
    assert_true(r.max_memory_used_mb < 128);
    pt_invoke_result_free(&r);
    tu_engine_free(e);
}

static void test_init_error(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = tu_function(e, "import-error-python", 128, 3);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{}", &r);
    assert_true(r.function_error);
    assert_string_equal(r.error_type, "Runtime.ImportModuleError");
    assert_non_null(strstr(r.payload, "\"errorType\":"));
    assert_non_null(strstr(r.payload, "Runtime.ImportModuleError"));
    assert_non_null(strstr(r.log_tail, "INIT_REPORT Init Duration: "));
    assert_non_null(strstr(r.log_tail, "\tPhase: init\tStatus: error\tError Type: Runtime.ImportModuleError"));
    assert_non_null(strstr(r.log_tail, "\tPhase: invoke\tStatus: error\tError Type: Runtime.ImportModuleError"));
    assert_non_null(strstr(r.log_tail, "REPORT RequestId: "));
    pt_invoke_result_free(&r);
    tu_engine_free(e);
}

/* A runtime that exits in INIT twice: Lambda's order, START before the exit's two lines. */
static void test_init_exit_lines_follow_start(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = tu_function(e, "tests/functions/init-exit", 1769, 3);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{}", &r);
    assert_true(r.function_error);
    assert_string_equal(r.error_type, "Runtime.ExitError");
    const char *init = strstr(r.log_tail, "\tPhase: invoke\tStatus: error\tError Type: Runtime.ExitError");
    const char *start = strstr(r.log_tail, "START RequestId: ");
    const char *exited = strstr(r.log_tail, "Error: Runtime exited with error: exit status 3\nRuntime.ExitError\n");
    const char *end = strstr(r.log_tail, "END RequestId: ");
    assert_non_null(init);
    assert_non_null(start);
    assert_non_null(exited);
    assert_non_null(end);
    assert_true(init < start && start < exited && exited < end);
    pt_invoke_result_free(&r);
    tu_engine_free(e);
}

/* A bootstrap that cannot be executed is Lambda's Runtime.InvalidEntrypoint, not an exit. */
static void test_exec_failure_is_invalid_entrypoint(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = tu_function(e, "tests/functions/bad-interpreter", 1769, 3);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{}", &r);
    assert_true(r.function_error);
    assert_string_equal(r.error_type, "Runtime.InvalidEntrypoint");
    assert_non_null(strstr(r.payload, "\"errorType\":\"Runtime.InvalidEntrypoint\""));
    assert_non_null(strstr(r.payload, "/bad-interpreter/bootstrap: no such file or directory\""));
    assert_non_null(strstr(r.log_tail, "\tPhase: init\tStatus: error\tError Type: Runtime.InvalidEntrypoint"));
    assert_non_null(strstr(r.log_tail, "\tPhase: invoke\tStatus: error\tError Type: Runtime.InvalidEntrypoint"));
    assert_non_null(strstr(r.log_tail, "no such file or directory\nRuntime.InvalidEntrypoint\nEND RequestId: "));
    pt_invoke_result_free(&r);
    tu_engine_free(e);
}

/* The environment could not be set up (here its code directory is gone): the engine's failure,
 * not the function's. It was a Runtime.ExitError "exit status 127" charged to the function. */
static void test_setup_failure_is_the_engines(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char cmd[4600];
    snprintf(cmd, sizeof(cmd), "cp -r '%s' '%s/fn' && chmod 755 '%s'", tu_example("noop-c"), dir,
             dir);
    assert_int_equal(system(cmd), 0);
    struct pt_engine *e = tu_engine(NULL);
    char path[4200];
    snprintf(path, sizeof(path), "%s/fn", dir);
    struct pt_function *fn = tu_function(e, path, 128, 3);
    tu_rmtree(dir);
    struct pt_invoke_request req = {.payload = "{}", .payload_len = 2};
    struct pt_invoke_result r;
    struct pt_error err = {0};
    int rc = pt_engine_invoke(e, fn, &req, &r, &err);
    if (rc == 0)
        fail_msg("invoked: %s %.*s", r.error_type, (int)r.payload_len, r.payload);
    assert_int_equal(rc, PT_ESYS);
    assert_non_null(strstr(err.msg, "cannot set up the runtime's environment: "));
    tu_engine_free(e);
    free(dir);
}

static void test_handled_error_keeps_environment(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = tu_function(e, "error-python", 128, 3);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{}", &r);
    assert_true(r.function_error);
    assert_string_equal(r.error_type, "Exception");
    assert_non_null(strstr(r.payload, "\"errorMessage\": \"Handler fails\"") ?
                    strstr(r.payload, "\"errorMessage\": \"Handler fails\"") :
                    strstr(r.payload, "\"errorMessage\":\"Handler fails\""));
    assert_non_null(strstr(r.payload, r.request_id));
    pt_invoke_result_free(&r);
    tu_invoke(e, fn, "{}", &r);
    assert_false(r.cold_start); /* a handled error does not reset the environment */
    pt_invoke_result_free(&r);
    tu_engine_free(e);
}

struct concurrent_call {
    struct pt_engine *e;
    struct pt_function *fn;
    const char *payload;
    int rc;
    struct pt_invoke_result res;
    struct pt_error err;
};

static void *concurrent_invoke(void *p)
{
    struct concurrent_call *c = p;
    struct pt_invoke_request req = {.payload = c->payload, .payload_len = strlen(c->payload)};
    c->rc = pt_engine_invoke(c->e, c->fn, &req, &c->res, &c->err);
    return NULL;
}

static void test_two_concurrent_use_two_environments(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = tu_function(e, "handler-sleep-python", 128, 10);
    struct concurrent_call a = {.e = e, .fn = fn, .payload = "{\"seconds\": 0.5}"};
    struct concurrent_call b = a;
    pthread_t ta, tb;
    pthread_create(&ta, NULL, concurrent_invoke, &a);
    pthread_create(&tb, NULL, concurrent_invoke, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(a.rc, 0);
    assert_int_equal(b.rc, 0);
    assert_true(a.res.cold_start && b.res.cold_start);
    struct pt_engine_counts c;
    pt_engine_counts(e, &c);
    assert_int_equal(c.environments, 2);
    pt_invoke_result_free(&a.res);
    pt_invoke_result_free(&b.res);
    tu_engine_free(e);
}

/* One invocation holds the only slot; a second one, 300 ms later, must be throttled. */
static void expect_throttled(struct pt_engine *e, struct pt_function *fn, const char *reason)
{
    struct concurrent_call a = {.e = e, .fn = fn, .payload = "{\"seconds\": 1}"};
    pthread_t ta;
    pthread_create(&ta, NULL, concurrent_invoke, &a);
    pt_sleep_ms(300);
    struct pt_invoke_request req = {.payload = "{}", .payload_len = 2};
    struct pt_invoke_result r;
    struct pt_error err = {0};
    int rc = pt_engine_invoke(e, fn, &req, &r, &err);
    pthread_join(ta, NULL);
    assert_int_equal(rc, PT_ETHROTTLED);
    assert_string_equal(r.throttle_reason, reason);
    assert_non_null(strstr(err.msg, "Rate Exceeded."));
    assert_int_equal(a.rc, 0);
    pt_invoke_result_free(&a.res);
}

static void test_reserved_concurrency_throttles(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function_config cfg;
    pt_function_config_init(&cfg);
    struct pt_error err = {0};
    assert_int_equal(pt_function_detect(&cfg, tu_example("handler-sleep-python"), &err), 0);
    cfg.reserved_concurrency = 1;
    cfg.timeout_s = 10;
    struct pt_function *fn;
    assert_int_equal(pt_engine_function_add(e, &cfg, &fn, &err), 0);
    pt_function_config_free(&cfg);
    expect_throttled(e, fn, "ReservedFunctionConcurrentInvocationLimitExceeded");
    tu_engine_free(e);
}

/* A runtime not back on /next still holds its execution environment (Lambda's invoke phase
 * lasts until /next): with a reserved concurrency of 1 the next invocation is throttled, not
 * given a second environment. */
static void test_busy_environment_counts_toward_concurrency(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function_config cfg;
    pt_function_config_init(&cfg);
    struct pt_error err = {0};
    assert_int_equal(pt_function_detect(&cfg, tu_example("tests/functions/respond-then-linger"),
                                        &err), 0);
    cfg.reserved_concurrency = 1;
    cfg.timeout_s = 5;
    struct pt_function *fn;
    assert_int_equal(pt_engine_function_add(e, &cfg, &fn, &err), 0);
    pt_function_config_free(&cfg);
    struct pt_invoke_result r;
    /* Deferred REPORTs (serve's Invoke without a tail): the call returns at the response. */
    struct pt_invoke_request req = {.payload = "{}", .payload_len = 2, .report_deferred = true};
    assert_int_equal(pt_engine_invoke(e, fn, &req, &r, &err), 0);
    assert_false(r.function_error);
    pt_invoke_result_free(&r);
    int rc = pt_engine_invoke(e, fn, &req, &r, &err);
    assert_int_equal(rc, PT_ETHROTTLED);
    assert_string_equal(r.throttle_reason, "ReservedFunctionConcurrentInvocationLimitExceeded");
    struct pt_engine_counts c;
    pt_engine_counts(e, &c);
    assert_int_equal(c.environments, 1);
    tu_engine_free(e);
}

static void test_account_concurrency_throttles(void **state)
{
    (void)state;
    struct pt_engine_options opt = {.account_concurrency = 1};
    struct pt_engine *e = tu_engine(&opt);
    struct pt_function *fn = tu_function(e, "handler-sleep-python", 128, 10);
    expect_throttled(e, fn, "ConcurrentInvocationLimitExceeded");
    tu_engine_free(e);
}

static int log_files;
static int count_logs(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_F && strstr(path, "/[$LATEST]") && strstr(path, ".log"))
        log_files++;
    return 0;
}

static void test_log_stream_on_disk(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = tu_function(e, "noop-c", 128, 0);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{}", &r);
    pt_invoke_result_free(&r);
    char dir[4200];
    snprintf(dir, sizeof(dir), "%s/logs/noop-c", pt_engine_state_dir(e));
    log_files = 0;
    nftw(dir, count_logs, 8, FTW_PHYS);
    assert_int_equal(log_files, 1);
    tu_engine_free(e);
}

static char found_log[4200];
static int find_log(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_F && strstr(path, ".log"))
        snprintf(found_log, sizeof(found_log), "%s", path);
    return 0;
}

/*
 * report_deferred (serve's Invoke without a log tail): the caller has the response at once, as
 * Lambda's has, and the REPORT, written once the runtime is back at /next, still bills the
 * 600 ms the runtime spent after its response.
 */
static void test_deferred_report_answers_at_the_response(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = tu_function(e, "tests/functions/respond-then-linger", 1769, 5);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{\"after_ms\": 0}", &r); /* the cold start, out of the way */
    pt_invoke_result_free(&r);
    struct pt_invoke_request req = {.payload = "{\"after_ms\": 600}", .payload_len = 17,
                                    .report_deferred = true};
    struct pt_error err;
    int64_t t0 = pt_mono_ns();
    assert_int_equal(pt_engine_invoke(e, fn, &req, &r, &err), 0);
    int64_t took_ms = (pt_mono_ns() - t0) / 1000000;
    assert_in_range(took_ms, 0, 400);
    assert_string_equal(r.payload, "\"ok\"");
    char report_id[64];
    snprintf(report_id, sizeof(report_id), "REPORT RequestId: %s\t", r.request_id);
    pt_invoke_result_free(&r);
    pt_sleep_ms(1200); /* back at /next after 600 ms; the janitor writes the REPORT */
    char dir[4200];
    snprintf(dir, sizeof(dir), "%s/logs", pt_engine_state_dir(e));
    found_log[0] = '\0';
    nftw(dir, find_log, 8, FTW_PHYS);
    struct pt_buf log;
    pt_buf_init(&log, 1 << 20);
    assert_int_equal(pt_file_read(found_log, 1 << 20, &log, &err), 0);
    const char *rep = strstr(log.data, report_id);
    assert_non_null(rep);
    double ms = strtod(strstr(rep, "Duration: ") + 10, NULL);
    assert_true(ms >= 600.0 && ms < 1100.0);
    pt_buf_free(&log);
    tu_invoke(e, fn, "{\"after_ms\": 0}", &r); /* the same environment, warm */
    assert_false(r.cold_start);
    pt_invoke_result_free(&r);
    tu_engine_free(e);
}

static void invoke_deferred(struct pt_engine *e, struct pt_function *fn, const char *payload,
                            struct pt_invoke_result *r)
{
    struct pt_invoke_request req = {.payload = payload, .payload_len = strlen(payload),
                                    .report_deferred = true};
    struct pt_error err;
    if (pt_engine_invoke(e, fn, &req, r, &err) != 0)
        fail_msg("invoke: %s", err.msg);
}

/* Lambda's invoke phase lasts until the runtime asks for the next event, under the function
 * timeout (lambda-wire.md 1.6): with its REPORT deferred, a runtime that answered and is not
 * back on /next is busy, and an event goes to another environment (h4's finding: the engine
 * handed the next event to it, and that invocation timed out though the function was fine). */
static void test_runtime_away_from_next_gets_no_event(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = tu_function(e, "tests/functions/respond-then-linger", 1769, 5);
    struct pt_invoke_result r;
    invoke_deferred(e, fn, "{}", &r);
    assert_false(r.function_error);
    pt_invoke_result_free(&r);
    invoke_deferred(e, fn, "{}", &r); /* the first runtime lingers: a second environment serves */
    assert_false(r.function_error);
    assert_string_equal(r.payload, "\"ok\"");
    assert_true(r.cold_start);
    pt_invoke_result_free(&r);
    struct pt_engine_counts c;
    pt_engine_counts(e, &c);
    assert_int_equal(c.environments, 2);
    tu_engine_free(e);
}

/* Past its last invocation's timeout, Lambda has timed that invoke phase out and reset the
 * environment: the next event starts a new runtime there (a cold start), in the same one. */
static void test_runtime_away_past_its_timeout_is_reset(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = tu_function(e, "tests/functions/respond-then-linger", 1769, 1);
    struct pt_invoke_result r;
    invoke_deferred(e, fn, "{}", &r);
    assert_false(r.function_error);
    pt_invoke_result_free(&r);
    invoke_deferred(e, fn, "{\"after_ms\": 0}", &r); /* the settle bound (1 s) passes the timeout */
    assert_false(r.function_error);
    assert_int_equal(r.status, PT_STATUS_SUCCESS);
    assert_true(r.cold_start);
    pt_invoke_result_free(&r);
    struct pt_engine_counts c;
    pt_engine_counts(e, &c);
    assert_int_equal(c.environments, 1);
    tu_engine_free(e);
}

/* In a child: an engine whose mount_setattr a seccomp filter refuses (EPERM, as a container's
 * profile may) runs a function; 0 = it ran and the note says the host's mounts stay writable. */
static int invoke_under_mount_setattr_filter(void)
{
    char *dir = tu_mkdtemp();
    pid_t pid = fork();
    if (pid == 0) {
        if (tu_refuse_mount_setattr() != 0)
            _exit(3);
        char runtimes[PATH_MAX];
        snprintf(runtimes, sizeof(runtimes), "%s/runtimes", tu_repo_root());
        struct pt_engine_options opt = {.state_dir = dir, .runtime_dir = runtimes};
        struct pt_engine *e = NULL;
        struct pt_function *fn = NULL;
        struct pt_function_config c;
        struct pt_error err = {0};
        struct pt_invoke_result r;
        struct pt_invoke_request req = {.payload = "{}", .payload_len = 2};
        pt_function_config_init(&c);
        if (pt_engine_create(&e, &opt, &err) || pt_function_detect(&c, tu_example("noop-c"), &err) ||
            pt_engine_function_add(e, &c, &fn, &err) || pt_engine_invoke(e, fn, &req, &r, &err))
            _exit(4);
        const char *note = pt_engine_sandbox_note(e);
        int rc = r.function_error || r.status != PT_STATUS_SUCCESS ? 5
                 : !note || !strstr(note, "mount_setattr")        ? 6
                                                                  : 0;
        pt_invoke_result_free(&r);
        pt_engine_destroy(e);
        _exit(rc);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    tu_rmtree(dir);
    free(dir);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* h5's finding: with the file systems sealed read-only through mount_setattr, a host refusing
 * that call (EPERM) would fail every invocation; it runs, and the reports say what is open. */
static void test_sandbox_without_mount_setattr(void **state)
{
    (void)state;
    assert_int_equal(invoke_under_mount_setattr_filter(), 0);
    assert_int_equal(tu_count_instance_cgroups(), 0);
}

/*
 * Two live environments (of two functions) run as two uids of the block, in one group: one
 * cannot read the other's /proc/<pid>/environ (its credentials), trace it or kill it, as one of
 * Lambda's microVMs cannot touch another's. With one uid for all, the probe read the environment
 * variables and killed the other runtime (its next invocation was a cold start).
 */
static void test_environments_cannot_touch_each_other(void **state)
{
    (void)state;
    struct pt_engine *e = sandboxed_engine();
    struct pt_function *a = tu_function_named(e, "tests/functions/sandbox-python", "isolated-a",
                                              1769, 30);
    struct pt_function *b = tu_function_named(e, "tests/functions/sandbox-python", "isolated-b",
                                              1769, 30);
    struct pt_invoke_result rb, ra, probe, again;
    tu_invoke(e, b, "{\"whoami\": true}", &rb);
    tu_invoke(e, a, "{\"whoami\": true}", &ra);
    long long uid_a = payload_int(&ra, "uid"), uid_b = payload_int(&rb, "uid");
    print_message("uids %lld and %lld, group %lld\n", uid_a, uid_b, payload_int(&ra, "gid"));
    assert_true(uid_a != uid_b);
    assert_true(uid_a >= PT_SANDBOX_UID_FIRST && uid_a < PT_SANDBOX_UID_FIRST + PT_SANDBOX_UIDS);
    assert_true(uid_b >= PT_SANDBOX_UID_FIRST && uid_b < PT_SANDBOX_UID_FIRST + PT_SANDBOX_UIDS);
    assert_int_equal(payload_int(&ra, "gid"), PT_SANDBOX_GID);
    assert_int_equal(payload_int(&rb, "gid"), PT_SANDBOX_GID);
    /* Named, as Lambda's sbx_user1051 is (getpass.getuser raised KeyError without an entry). */
    char names[128];
    snprintf(names, sizeof(names), "\"user\": \"sbx_user%lld\", \"group\": \"sbx_users\"", uid_a);
    assert_non_null(strstr(ra.payload, names));
    char ask[64];
    snprintf(ask, sizeof(ask), "{\"probe\": %lld}", payload_int(&rb, "pid"));
    tu_invoke(e, a, ask, &probe);
    print_message("A on B's runtime: %.*s\n", (int)probe.payload_len, probe.payload);
    assert_false(probe.function_error);
    assert_non_null(strstr(probe.payload, "\"environ\": \"EACCES\""));
    assert_non_null(strstr(probe.payload, "\"ptrace\": \"EPERM\""));
    assert_non_null(strstr(probe.payload, "\"kill\": \"EPERM\""));
    /* Nor take B's events from its Runtime API (every environment listens on 127.0.0.1). */
    char environ_path[64], env_text[8192] = "";
    snprintf(environ_path, sizeof(environ_path), "/proc/%lld/environ", payload_int(&rb, "pid"));
    FILE *ef = fopen(environ_path, "r");
    assert_non_null(ef);
    size_t got = fread(env_text, 1, sizeof(env_text) - 1, ef);
    fclose(ef);
    int port = 0;
    for (size_t i = 0; i < got && !port; i += strlen(env_text + i) + 1)
        sscanf(env_text + i, "AWS_LAMBDA_RUNTIME_API=127.0.0.1:%d", &port);
    assert_true(port > 0);
    /* B's server runs only while B is invoked: A's connection waits in its backlog until then. */
    snprintf(ask, sizeof(ask), "{\"take_next\": %d}", port);
    struct concurrent_call take = {.e = e, .fn = a, .payload = ask};
    pthread_t tt;
    pthread_create(&tt, NULL, concurrent_invoke, &take);
    pt_sleep_ms(500);
    tu_invoke(e, b, "{\"whoami\": true}", &again); /* the same runtime, untouched */
    pthread_join(tt, NULL);
    assert_int_equal(take.rc, 0);
    print_message("A on B's Runtime API: %.*s\n", (int)take.res.payload_len, take.res.payload);
    assert_non_null(strstr(take.res.payload, "\"next\": \"closed\""));
    pt_invoke_result_free(&take.res);
    assert_false(again.cold_start);
    assert_int_equal(payload_int(&again, "pid"), payload_int(&rb, "pid"));
    pt_invoke_result_free(&ra);
    pt_invoke_result_free(&rb);
    pt_invoke_result_free(&probe);
    pt_invoke_result_free(&again);
    tu_engine_free(e);
    assert_int_equal(tu_count_instance_cgroups(), 0);
}

static void test_shutdown_interrupts_invocation(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = tu_function(e, "handler-sleep-python", 128, 30);
    struct concurrent_call a = {.e = e, .fn = fn, .payload = "{\"seconds\": 20}"};
    pthread_t ta;
    int64_t t0 = pt_mono_ns();
    pthread_create(&ta, NULL, concurrent_invoke, &a);
    pt_sleep_ms(500);
    pt_engine_shutdown(e);
    pthread_join(ta, NULL);
    assert_int_equal(a.rc, PT_EINTR);
    assert_true(pt_mono_ns() - t0 < 5000000000LL);
    tu_engine_free(e);
    assert_int_equal(tu_count_instance_cgroups(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cold_then_warm, require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_old_environment_serves_warm_invocations, require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_two_engines_in_one_process, require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_init_over_limit_is_retried_in_invoke, require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_retried_init_counts_toward_timeout, require_cgroups,
                                        tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_idle_environments_are_reclaimed, require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_fork_bomb_hits_pids_limit, require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_python_runtime_handed_connection, require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_output_is_capped, require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_oversize_response_is_a_function_error, require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_sandbox, require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_environments_cannot_touch_each_other, require_cgroups,
                                        tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_exit_after_error_resets_environment, require_cgroups,
                                        tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_code_dir_under_tmp, require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_cpu_scales_with_memory, require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_init_boost_quota, require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_timeout_then_recovery, require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_reset_keeps_tmp, require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_oom_reset_keeps_tmp, require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_reset_restarts_memory_peak, require_cgroups,
                                        tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_work_after_response_is_billed, require_cgroups,
                                        tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_response_without_next_runs_to_the_timeout,
                                        require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_exit_after_response_ends_the_invocation,
                                        require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_deferred_report_answers_at_the_response,
                                        require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_sandbox_without_mount_setattr, require_cgroups,
                                        tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_runtime_away_from_next_gets_no_event,
                                        require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_runtime_away_past_its_timeout_is_reset,
                                        require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_unfreezable_idle_environment_does_not_wake_janitor,
                                        require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_freeze_immediately_survives_reset, require_cgroups,
                                        tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_retried_init_shortens_the_deadline, require_cgroups,
                                        tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_truncated_response, require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_crash_then_recovery, require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_oom_then_recovery, require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_init_error, require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_init_exit_lines_follow_start, require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_exec_failure_is_invalid_entrypoint, require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_setup_failure_is_the_engines, require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_handled_error_keeps_environment, require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_two_concurrent_use_two_environments, require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_reserved_concurrency_throttles, require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_busy_environment_counts_toward_concurrency,
                                        require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_account_concurrency_throttles, require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_log_stream_on_disk, require_cgroups, tu_teardown_engines),
        cmocka_unit_test_setup_teardown(test_shutdown_interrupts_invocation, require_cgroups, tu_teardown_engines),
    };
    return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
