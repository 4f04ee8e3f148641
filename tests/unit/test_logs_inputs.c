/*
 * Tests of `powertune logs` end to end through pt_logs_analyze: every input form (fixtures in
 * tests/data/logs), gzip, stdin, damaged input (cut lines, cut gzip, overlong lines, empty files),
 * grouping by function, clock skew between streams, the split of big files between threads, and
 * the concurrency figures on a generated log whose answers are known by construction.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "logs/logs.h"

/* ---------------------------------------------------------------- helpers */

/* tests/data/logs, found from the working directory or the test binary, upwards. */
static const char *data_dir(void)
{
    static char dir[PATH_MAX + 32];
    if (dir[0])
        return dir;
    char start[2][PATH_MAX];
    if (!getcwd(start[0], sizeof(start[0])))
        start[0][0] = '\0';
    ssize_t n = readlink("/proc/self/exe", start[1], sizeof(start[1]) - 1);
    start[1][n > 0 ? n : 0] = '\0';
    for (int k = 0; k < 2; k++) {
        char p[PATH_MAX];
        size_t len = strnlen(start[k], sizeof(p) - 1);
        memcpy(p, start[k], len);
        p[len] = '\0';
        while (p[0]) {
            char probe[PATH_MAX + 32];
            struct stat st;
            snprintf(probe, sizeof(probe), "%s/tests/data/logs", p);
            if (stat(probe, &st) == 0 && S_ISDIR(st.st_mode)) {
                snprintf(dir, sizeof(dir), "%s", probe);
                return dir;
            }
            char *slash = strrchr(p, '/');
            if (!slash)
                break;
            *slash = '\0';
        }
    }
    fail_msg("tests/data/logs not found");
    return NULL;
}

static const char *data(const char *name)
{
    static char p[4][PATH_MAX + 64];
    static int i;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof(p[i]), "%s/%s", data_dir(), name);
    return p[i];
}

static char *tmpdir(void)
{
    char *d = strdup("/tmp/pt-logs-test-XXXXXX");
    assert_non_null(d);
    assert_non_null(mkdtemp(d));
    return d;
}

static void rmrf(const char *d)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
    assert_int_equal(system(cmd), 0);
}

static void write_file(const char *path, const char *s)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(s, f);
    assert_int_equal(fclose(f), 0);
}

/* Runs the analysis and returns its JSON; fails the test on an error. */
static json_t *run_opt(const char *const *paths, size_t n, const struct pt_logs_options *o)
{
    struct pt_logs_result *r = NULL;
    struct pt_error err = {0};
    int rc = pt_logs_analyze(paths, n, o, &r, &err);
    if (rc)
        fail_msg("pt_logs_analyze: %s", err.msg);
    json_t *j = pt_logs_result_json(r);
    assert_non_null(j);
    pt_logs_result_free(r);
    return j;
}

static json_t *run1(const char *path)
{
    struct pt_logs_options o;
    pt_logs_options_init(&o);
    return run_opt(&path, 1, &o);
}

/* j at "a/b/c" (slashes, since keys like "p99.5" have dots); fails if absent. */
static json_t *at(json_t *j, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *cur = j;
    for (char *tok = strtok(buf, "/"); tok; tok = strtok(NULL, "/")) {
        if (json_is_array(cur))
            cur = json_array_get(cur, (size_t)atoi(tok));
        else
            cur = json_object_get(cur, tok);
        if (!cur)
            fail_msg("no %s (at %s)", path, tok);
    }
    return cur;
}

static long long ival(json_t *j, const char *path)
{
    json_t *v = at(j, path);
    if (!json_is_integer(v))
        fail_msg("%s is not an integer", path);
    return json_integer_value(v);
}

static double dval(json_t *j, const char *path)
{
    json_t *v = at(j, path);
    if (!json_is_number(v))
        fail_msg("%s is not a number", path);
    return json_number_value(v);
}

static const char *sval(json_t *j, const char *path)
{
    json_t *v = at(j, path);
    if (!json_is_string(v))
        fail_msg("%s is not a string", path);
    return json_string_value(v);
}

/* The schema's promised fields, at the top and per function. */
static void check_schema_scope(json_t *s)
{
    static const char *const keys[] = {
        "invocations", "concurrency/peak", "concurrency/peakAt", "coldStarts/count",
        "coldStarts/initDurationMs", "durationMs", "cost/totalUsd", "memory/bySizeMB",
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        at(s, keys[i]);
    json_t *init = at(s, "coldStarts/initDurationMs");
    if (!json_is_null(init)) {
        static const char *const f[] = {"mean", "median", "max", "min", "variance"};
        for (size_t i = 0; i < 5; i++)
            assert_non_null(json_object_get(init, f[i]));
    }
}

static void check_schema(json_t *j)
{
    assert_string_equal(sval(j, "schema"), "powertune.logs/1");
    at(j, "unparsedLines");
    check_schema_scope(j);
    const char *k;
    json_t *v;
    json_object_foreach(at(j, "functions"), k, v)
        check_schema_scope(v);
}

/* ---------------------------------------------------------------- forms */

static void test_text_plain(void **state)
{
    (void)state;
    json_t *j = run1(data("text-plain.log"));
    check_schema(j);
    assert_int_equal(ival(j, "invocations"), 7);
    assert_int_equal(ival(j, "timedInvocations"), 0);
    assert_true(json_is_null(at(j, "concurrency/peak")));
    assert_int_equal(ival(j, "unparsedLines"), 0);
    assert_int_equal(ival(j, "coldStarts/count"), 4);
    assert_int_equal(ival(j, "coldStarts/initFailures"), 2);
    assert_int_equal(ival(j, "statuses/timeout"), 1);
    assert_int_equal(ival(j, "statuses/error"), 1);
    assert_int_equal(ival(j, "memory/bySizeMB/10239/outOfMemory"), 1);
    assert_int_equal(ival(j, "memory/bySizeMB/128/invocations"), 5);
    assert_int_equal(ival(j, "memory/bySizeMB/128/maxMemoryUsedMB/max"), 75);
    assert_float_equal(dval(j, "durationMs/max"), 376256.59, 1e-6);
    /* Billed GB-s: sum(billed ms / 1000 x MB / 1024). */
    double gbs = (16 + 100 + 3403 + 27 + 1688) / 1000.0 * 128 / 1024 +
                 376257 / 1000.0 * 10239 / 1024 + 3 / 1000.0 * 3008 / 1024;
    assert_float_equal(dval(j, "cost/billedGbSeconds"), gbs, 0.001);
    assert_float_equal(dval(j, "cost/requestUsd"), 7 * 0.20 / 1e6, 1e-9);
    assert_int_equal(ival(j, "otherLines"), 4);
    json_decref(j);
}

/*
 * `aws logs tail` output, as awscli's own formatters print it (the fixtures were made with
 * awscli.customizations.logs.tail): detailed, "<time with +00:00> <stream> <message>", and
 * --format short, "<UTC time to the second, no zone> <message>". Short lines were refused as
 * bad timestamps, so the file held no invocation at all.
 */
static void test_aws_logs_tail(void **state)
{
    (void)state;
    json_t *j = run1(data("aws-logs-tail.log"));
    check_schema(j);
    assert_int_equal(ival(j, "unparsedLines"), 0);
    assert_int_equal(ival(j, "timedInvocations"), 2);
    /* [01.200 - 1100 - 200 ms, 01.200] and [00.500, 02.900]. */
    assert_string_equal(sval(j, "firstAt"), "2026-11-21T22:59:59.900Z");
    assert_int_equal(ival(j, "concurrency/peak"), 2);
    assert_string_equal(sval(j, "concurrency/peakAt"), "2026-11-21T23:00:00.500Z");
    json_decref(j);

    j = run1(data("aws-logs-tail-short.log"));
    check_schema(j);
    assert_int_equal(ival(j, "unparsedLines"), 0);
    assert_int_equal(ival(j, "invocations"), 2);
    assert_int_equal(ival(j, "timedInvocations"), 2);
    assert_int_equal(ival(j, "coldStarts/count"), 1);
    /* Ends to the second (01, 02): [01 - 1100 - 200 ms, 01] and [02 - 2400 ms, 02]. */
    assert_string_equal(sval(j, "firstAt"), "2026-11-21T22:59:59.600Z");
    assert_string_equal(sval(j, "lastAt"), "2026-11-21T23:00:02.000Z");
    assert_int_equal(ival(j, "concurrency/peak"), 2);
    assert_string_equal(sval(j, "concurrency/peakAt"), "2026-11-21T22:59:59.700Z");
    json_decref(j);
}

/*
 * The JSON log format's platform.report may lack maxMemoryUsedMB: the table says "-" where the
 * JSON says null (it printed "0" and "0.0", a function that used no memory at all).
 */
static void test_table_unknown_max_memory(void **state)
{
    (void)state;
    char *d = tmpdir(), p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/nomem.log", d);
    write_file(p, "{\"time\":\"2024-05-20T16:29:52.022Z\",\"type\":\"platform.report\",\"record\":"
                  "{\"requestId\":\"r1\",\"metrics\":{\"durationMs\":10.0,\"memorySizeMB\":256}}}\n");
    struct pt_logs_options o;
    pt_logs_options_init(&o);
    struct pt_logs_result *r = NULL;
    struct pt_error err = {0};
    const char *pp = p;
    assert_int_equal(pt_logs_analyze(&pp, 1, &o, &r, &err), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    pt_logs_write_table(r, f);
    assert_int_equal(fclose(f), 0);
    pt_logs_result_free(r);
    const char *row = strstr(buf, "\nnomem                            256            1 ");
    assert_non_null(row);
    char line[160];
    sscanf(row + 1, "%159[^\n]", line);
    char name[32], used_max[16], used_mean[16];
    unsigned mem, inv;
    assert_int_equal(sscanf(line, "%31s %u %u %15s %15s", name, &mem, &inv, used_max, used_mean),
                     5);
    assert_string_equal(used_max, "-");
    assert_string_equal(used_mean, "-");
    free(buf);
    rmrf(d);
    free(d);
}

static void test_engine_dirs_group_by_function(void **state)
{
    (void)state;
    json_t *j = run1(data("engine"));
    check_schema(j);
    assert_int_equal(json_array_size(at(j, "inputs")), 3);
    assert_int_equal(json_object_size(at(j, "functions")), 2);
    assert_int_equal(ival(j, "invocations"), 4);
    /* Account: orders' two environments and billing overlap at .150. */
    assert_int_equal(ival(j, "concurrency/peak"), 3);
    assert_string_equal(sval(j, "concurrency/peakAt"), "2026-11-21T23:00:00.150Z");
    assert_int_equal(ival(j, "functions/orders/invocations"), 3);
    /* Both of orders' environments are busy from their INIT on: a1 from .100 - 100 - 200 ms,
     * b1 from .300 - 250 - 180 ms = 22:59:59.870. */
    assert_string_equal(sval(j, "firstAt"), "2026-11-21T22:59:59.800Z");
    assert_int_equal(ival(j, "functions/orders/concurrency/peak"), 2);
    assert_string_equal(sval(j, "functions/orders/concurrency/peakAt"),
                        "2026-11-21T22:59:59.870Z");
    assert_int_equal(ival(j, "functions/billing/concurrency/peak"), 1);
    assert_int_equal(ival(j, "functions/orders/coldStarts/count"), 2);
    assert_float_equal(dval(j, "functions/orders/coldStarts/initDurationMs/mean"), 190, 1e-9);
    assert_float_equal(dval(j, "functions/orders/coldStarts/initDurationMs/variance"), 200,
                       1e-9);
    assert_true(json_is_null(at(j, "functions/billing/coldStarts/initDurationMs")));
    assert_int_equal(ival(j, "coldStarts/byMemorySizeMB/256/count"), 2);
    /* Right-sizing: orders peaks at 80 MB of 256 -> 128 MB (96 MB rounded up), half the cost. */
    assert_string_equal(sval(j, "functions/orders/memory/recommendation/action"), "reduce");
    assert_int_equal(ival(j, "functions/orders/memory/recommendation/memorySizeMB"), 128);
    assert_float_equal(dval(j, "functions/orders/memory/recommendation/costChangePercent"), -50,
                       1e-9);
    /* billing: 300 MB of 1024 -> 384 MB. */
    assert_int_equal(ival(j, "functions/billing/memory/recommendation/memorySizeMB"), 384);
    json_decref(j);

    /* --reserved 1: orders (2 at once) would have throttled in two seconds (its INITs overlap
     * in 22:59:59, b1 and a2 at .150); billing not. */
    struct pt_logs_options o;
    pt_logs_options_init(&o);
    o.reserved = 1;
    const char *p = data("engine");
    j = run_opt(&p, 1, &o);
    assert_string_equal(sval(j, "functions/orders/concurrency/limitSource"), "reserved");
    assert_int_equal(ival(j, "functions/orders/concurrency/throttledSeconds"), 2);
    /* b1 arrives (its INIT starts) while a1 initializes, a2 while b1 runs: both over a
     * reservation of 1; a1 and b1 are not counted again when their INIT hands over. */
    assert_int_equal(ival(j, "functions/orders/concurrency/throttledInvocations"), 2);
    assert_int_equal(ival(j, "functions/billing/concurrency/throttledSeconds"), 0);
    assert_string_equal(sval(j, "concurrency/limitSource"), "quota");
    assert_int_equal(ival(j, "concurrency/throttledSeconds"), 0);
    json_decref(j);
}

static void test_json_log_format(void **state)
{
    (void)state;
    json_t *j = run1(data("json-format.log"));
    check_schema(j);
    const char *fn = "ColdStartPerfStack-Function76856677-qnwBXhjb6klt";
    assert_non_null(json_object_get(at(j, "functions"), fn));
    assert_string_equal(sval(j, "inputs/0/function"), fn);
    assert_int_equal(ival(j, "invocations"), 3);
    assert_int_equal(ival(j, "unparsedLines"), 0);
    assert_int_equal(ival(j, "coldStarts/count"), 1);
    assert_float_equal(dval(j, "coldStarts/initDurationMs/mean"), 174.25, 1e-9);
    assert_true(json_is_null(at(j, "coldStarts/initDurationMs/variance")));
    assert_int_equal(ival(j, "statuses/timeout"), 1);
    assert_int_equal(ival(j, "coldStarts/initReports"), 2);
    assert_int_equal(ival(j, "coldStarts/initFailures"), 1);
    /* The record without memorySizeMB / billedDurationMs / maxMemoryUsedMB still counts. */
    assert_int_equal(ival(j, "memory/bySizeMB/unknown/invocations"), 1);
    assert_int_equal(ival(j, "cost/invocationsWithoutMemorySize"), 1);
    assert_float_equal(dval(j, "durationMs/min"), 11.64, 1e-9);
    assert_string_equal(sval(j, "lastAt"), "2024-05-20T16:29:51.000Z");
    json_decref(j);
}

static void test_filter_log_events(void **state)
{
    (void)state;
    json_t *j = run1(data("filter-log-events.json"));
    check_schema(j);
    assert_string_equal(sval(j, "inputs/0/format"), "cloudwatch-json");
    assert_int_equal(ival(j, "invocations"), 3);
    assert_int_equal(ival(j, "unparsedLines"), 0);
    assert_int_equal(ival(j, "concurrency/peak"), 2);
    assert_string_equal(sval(j, "concurrency/peakAt"), "2026-11-21T23:00:00.400Z");
    assert_int_equal(ival(j, "coldStarts/count"), 1);
    assert_float_equal(dval(j, "coldStarts/initDurationMs/max"), 300.5, 1e-9);
    json_decref(j);
}

static void test_get_log_events_compact(void **state)
{
    (void)state;
    json_t *j = run1(data("get-log-events.json"));
    assert_int_equal(ival(j, "invocations"), 1);
    assert_int_equal(ival(j, "unparsedLines"), 1);
    assert_int_equal(ival(j, "unparsed/0/line"), 1);
    assert_non_null(strstr(sval(j, "unparsed/0/file"), "get-log-events.json"));
    json_decref(j);
}

/*
 * Regression (fuzz_logs_event): an event's "timestamp" (epoch ms) was scaled to ticks unchecked:
 * 3590604000604001020 overflowed int64 (UBSan), and any value far from 1970..2199 broke the
 * concurrency bins' bound. Such an event is now an unparsed note, like a REPORT line with a bad
 * timestamp; the events around it are read.
 */
static void test_event_timestamp_out_of_range(void **state)
{
    (void)state;
    char *d = tmpdir(), p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/events.json", d);
#define EV_REPORT(id) "REPORT RequestId: " id "\\tDuration: 100.00 ms\\tBilled Duration: 100 " \
                      "ms\\tMemory Size: 128 MB\\tMax Memory Used: 50 MB\\t"
    write_file(p, "{\"events\": [\n"
                  "{\"timestamp\": 3590604000604001020, \"message\": \"" EV_REPORT("1") "\"},\n"
                  "{\"timestamp\": -5, \"message\": \"" EV_REPORT("2") "\"},\n"
                  "{\"timestamp\": 7258118400000, \"message\": \"" EV_REPORT("3") "\"},\n"
                  "{\"timestamp\": 1795302000105, \"message\": \"" EV_REPORT("4") "\"}\n"
                  "]}\n");
#undef EV_REPORT
    json_t *j = run1(p);
    assert_int_equal(ival(j, "invocations"), 1);
    assert_int_equal(ival(j, "timedInvocations"), 1);
    assert_int_equal(ival(j, "unparsedLines"), 3);
    assert_int_equal(ival(j, "unparsed/0/line"), 2);
    assert_non_null(strstr(sval(j, "unparsed/0/reason"), "timestamp"));
    assert_string_equal(sval(j, "lastAt"), "2026-11-21T23:00:00.105Z");
    json_decref(j);
    rmrf(d);
    free(d);
}

/*
 * Regression (fuzz_logs_file): names and notes come from outside (a logGroup, a file name, the
 * quoted bytes of a bad line) and need not be UTF-8; jansson refuses such strings, so the input,
 * its function and the note were silently missing from the JSON. Invalid bytes are now written
 * as \xHH.
 */
static void test_json_invalid_utf8(void **state)
{
    (void)state;
    char *d = tmpdir(), p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/sub.json", d);
    write_file(p, "{\"messageType\":\"DATA_MESSAGE\",\"logGroup\":\"/aws/lambda/caf\xe9\","
                  "\"logEvents\":[{\"id\":\"1\",\"timestamp\":1795302000100,\"message\":"
                  "\"REPORT RequestId: 1\\tDuration: 100.00 ms\\tBilled Duration: 100 ms\\t"
                  "Memory Size: 256 MB\\tMax Memory Used: 70 MB\\t\"}]}\n");
    json_t *j = run1(p);
    assert_int_equal(json_array_size(at(j, "inputs")), 1);
    assert_string_equal(sval(j, "inputs/0/function"), "caf\\xE9");
    assert_int_equal(json_object_size(at(j, "functions")), 1);
    assert_int_equal(ival(j, "functions/caf\\xE9/invocations"), 1);
    json_decref(j);

    /* A file name that is not UTF-8, and a note quoting bytes that are not either. */
    snprintf(p, sizeof(p), "%s/\xff\xfe.log", d);
    write_file(p, "2026-11-21T23:00:00.1\xe9Z REPORT RequestId: 2\tDuration: 1.00 ms\tBilled "
                  "Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 50 MB\n");
    j = run1(p);
    assert_int_equal(json_array_size(at(j, "inputs")), 1);
    assert_string_equal(sval(j, "inputs/0/function"), "\\xFF\\xFE");
    assert_non_null(strstr(sval(j, "inputs/0/path"), "/\\xFF\\xFE.log"));
    assert_int_equal(json_object_size(at(j, "functions")), 1);
    assert_int_equal(ival(j, "unparsedLines"), 1);
    assert_int_equal(json_array_size(at(j, "unparsed")), 1);
    assert_non_null(strstr(sval(j, "unparsed/0/reason"), "00.1\\xE9Z"));
    json_decref(j);
    rmrf(d);
    free(d);
}

static void test_truncated_lines(void **state)
{
    (void)state;
    json_t *j = run1(data("truncated.log"));
    assert_int_equal(ival(j, "invocations"), 2);
    assert_int_equal(ival(j, "unparsedLines"), 4);
    static const long long lines[] = {2, 3, 4, 6};
    for (size_t i = 0; i < 4; i++) {
        char p[32];
        snprintf(p, sizeof(p), "unparsed/%zu/line", i);
        assert_int_equal(ival(j, p), lines[i]);
    }
    assert_non_null(strstr(sval(j, "unparsed/2/reason"), "timestamp"));
    json_decref(j);
}

static void test_empty_file(void **state)
{
    (void)state;
    json_t *j = run1(data("empty.log"));
    check_schema(j);
    assert_int_equal(ival(j, "invocations"), 0);
    assert_int_equal(ival(j, "lines"), 0);
    assert_true(json_is_null(at(j, "durationMs")));
    assert_true(json_is_null(at(j, "concurrency/peak")));
    assert_true(json_is_null(at(j, "coldStarts/rate")));
    json_decref(j);

    /* An empty JSON document and a lone newline behave the same. */
    char *d = tmpdir();
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/nl.log", d);
    write_file(p, "\n");
    j = run1(p);
    assert_int_equal(ival(j, "lines"), 1);
    assert_int_equal(ival(j, "unparsedLines"), 0);
    json_decref(j);
    snprintf(p, sizeof(p), "%s/doc.json", d);
    write_file(p, "{\"events\": []}\n");
    j = run1(p);
    assert_int_equal(ival(j, "invocations"), 0);
    assert_int_equal(ival(j, "unparsedLines"), 0);
    json_decref(j);
    snprintf(p, sizeof(p), "%s/cut.json", d);
    write_file(p, "{\n  \"events\": [\n    {\"timestamp\": 1, \"message\": \"REPO");
    j = run1(p);
    assert_int_equal(ival(j, "unparsedLines"), 1);
    assert_non_null(strstr(sval(j, "unparsed/0/reason"), "ends early"));
    json_decref(j);
    rmrf(d);
    free(d);
}

/* Empty directories: one inside a log layout is skipped; one given alone has no log files. */
static void test_empty_directory(void **state)
{
    (void)state;
    char *d = tmpdir();
    char sub[PATH_MAX + 16], p[PATH_MAX + 16];
    snprintf(sub, sizeof(sub), "%s/empty", d);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(p, sizeof(p), "%s/fn.log", d);
    write_file(p, "REPORT RequestId: a1\tDuration: 10.00 ms\tBilled Duration: 10 ms\t"
                  "Memory Size: 128 MB\tMax Memory Used: 60 MB\t\n");
    const char *in = d;
    struct pt_logs_options o;
    pt_logs_options_init(&o);
    json_t *j = run_opt(&in, 1, &o);
    assert_int_equal(json_array_size(at(j, "inputs")), 1);
    assert_int_equal(ival(j, "invocations"), 1);
    json_decref(j);

    struct pt_logs_result *r = NULL;
    struct pt_error err = {0};
    in = sub;
    assert_int_equal(pt_logs_analyze(&in, 1, &o, &r, &err), PT_ENOTFOUND);
    assert_null(r);
    assert_non_null(strstr(err.msg, "no log files"));
    rmrf(d);
    free(d);
}

static void test_cold_start_article_vector(void **state)
{
    (void)state;
    json_t *j = run1(data("coldstart-3008.log"));
    assert_int_equal(ival(j, "coldStarts/count"), 10);
    assert_float_equal(dval(j, "coldStarts/rate"), 1.0, 1e-9);
    assert_float_equal(dval(j, "coldStarts/initDurationMs/mean"), 184, 1e-9);
    assert_float_equal(dval(j, "coldStarts/initDurationMs/median"), 183, 1e-9);
    assert_float_equal(dval(j, "coldStarts/initDurationMs/max"), 204, 1e-9);
    assert_float_equal(dval(j, "coldStarts/initDurationMs/min"), 169, 1e-9);
    assert_float_equal(dval(j, "coldStarts/initDurationMs/variance"), 122.222, 1e-9);
    assert_float_equal(dval(j, "coldStarts/byMemorySizeMB/3008/initDurationMs/variance"),
                       122.222, 1e-9);
    json_decref(j);
}

/* ---------------------------------------------------------------- gzip, stdin, limits */

static void gz_write(const char *path, const char *const *members, size_t n, size_t cut)
{
    /* Each member a complete gzip stream; concatenated as `cat a.gz b.gz` would. */
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    for (size_t i = 0; i < n; i++) {
        char tmp[PATH_MAX + 8];
        snprintf(tmp, sizeof(tmp), "%s.part", path);
        gzFile g = gzopen(tmp, "wb");
        assert_non_null(g);
        assert_int_equal(gzputs(g, members[i]), (int)strlen(members[i]));
        assert_int_equal(gzclose(g), Z_OK);
        FILE *in = fopen(tmp, "rb");
        assert_non_null(in);
        char buf[65536];
        size_t k = fread(buf, 1, sizeof(buf), in);
        fclose(in);
        unlink(tmp);
        if (cut && i == n - 1)
            k = k > cut ? k - cut : 0;
        assert_int_equal(fwrite(buf, 1, k, out), k);
    }
    assert_int_equal(fclose(out), 0);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

static void test_gzip(void **state)
{
    (void)state;
    char *d = tmpdir(), p[PATH_MAX];
    char *plain = slurp(data("text-plain.log"));
    const char *half1 = plain;
    char *mid = strstr(plain, "REPORT RequestId: 2b68");
    assert_non_null(mid);
    char *first = strndup(plain, (size_t)(mid - plain));
    const char *members[2] = {first, mid};
    (void)half1;
    snprintf(p, sizeof(p), "%s/text-plain.log.gz", d);
    gz_write(p, members, 2, 0);
    json_t *j = run1(p), *ref = run1(data("text-plain.log"));
    assert_true(json_is_true(at(j, "inputs/0/compressed")));
    assert_int_equal(ival(j, "invocations"), ival(ref, "invocations"));
    assert_int_equal(ival(j, "coldStarts/count"), ival(ref, "coldStarts/count"));
    assert_float_equal(dval(j, "cost/billedGbSeconds"), dval(ref, "cost/billedGbSeconds"), 1e-9);
    assert_int_equal(ival(j, "unparsedLines"), 0);
    assert_string_equal(sval(j, "inputs/0/function"), "text-plain");
    json_decref(j);
    json_decref(ref);

    /* Cut short: what was read counts, and the damage is one unparsed note. */
    gz_write(p, members, 1, 8);
    j = run1(p);
    assert_int_equal(ival(j, "unparsedLines"), 1);
    assert_non_null(strstr(sval(j, "unparsed/0/reason"), "gzip"));
    json_decref(j);

    /* A CloudWatch subscription payload (always gzip): the log group names the function. */
    const char *sub = "{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"123456789012\",\"logGroup\":"
                      "\"/aws/lambda/payments\",\"logStream\":\"2026/11/21/[$LATEST]abc\","
                      "\"subscriptionFilters\":[\"f\"],\"logEvents\":[{\"id\":\"1\",\"timestamp\":"
                      "1795302000100,\"message\":\"REPORT RequestId: 1\\tDuration: 100.00 ms\\t"
                      "Billed Duration: 100 ms\\tMemory Size: 128 MB\\tMax Memory Used: 50 MB\\t"
                      "\"}]}";
    snprintf(p, sizeof(p), "%s/subscription.gz", d);
    gz_write(p, &sub, 1, 0);
    j = run1(p);
    assert_non_null(json_object_get(at(j, "functions"), "payments"));
    assert_int_equal(ival(j, "concurrency/peak"), 1);
    assert_string_equal(sval(j, "concurrency/peakAt"), "2026-11-21T23:00:00.000Z");
    json_decref(j);
    free(first);
    free(plain);
    rmrf(d);
    free(d);
}

/* A gzip input whose inflated text is many read buffers long: the first inflate fills the whole
 * buffer, which must be framed before the next read (it once ended the input there). */
static void test_gzip_many_buffers(void **state)
{
    (void)state;
    char *d = tmpdir(), p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/big.log.gz", d);
    gzFile g = gzopen(p, "wb");
    assert_non_null(g);
    const int n = 30000; /* ~4 MB of text */
    for (int i = 0; i < n; i++)
        assert_true(gzprintf(g,
                             "2026-11-21T23:%02d:%02d.%03dZ REPORT RequestId: r%d\tDuration: "
                             "10.00 ms\tBilled Duration: 10 ms\tMemory Size: 128 MB\tMax Memory "
                             "Used: 50 MB\t\n",
                             i / 6000, i / 100 % 60, i % 100 * 10, i) > 0);
    assert_int_equal(gzclose(g), Z_OK);
    json_t *j = run1(p);
    assert_int_equal(ival(j, "invocations"), n);
    assert_int_equal(ival(j, "unparsedLines"), 0);
    assert_int_equal(ival(j, "lines"), n);
    json_decref(j);
    rmrf(d);
    free(d);
}

/*
 * CloudWatch subscription payloads of two log groups, as Firehose delivers them to S3: gzip
 * members concatenated, one payload each, a CONTROL_MESSAGE first. Each group's events go to its
 * own function; they all went to the first group's, so billing's invocation (1024 MB, a cold
 * start, a timeout) was counted, sized and priced as orders'.
 */
static void test_subscription_payloads_of_several_groups(void **state)
{
    (void)state;
    char *d = tmpdir(), p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/firehose-object.gz", d);
#define PAYLOAD(group, events)                                                                 \
    "{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"123456789012\",\"logGroup\":\"" group       \
    "\",\"logStream\":\"2026/11/21/[$LATEST]0123\",\"subscriptionFilters\":[\"all\"],"          \
    "\"logEvents\":[" events "]}"
#define EVENT(ms, report)                                                                      \
    "{\"id\":\"1\",\"timestamp\":" ms ",\"message\":\"REPORT RequestId: " report "\\t\"}"
    const char *members[] = {
        "{\"messageType\":\"CONTROL_MESSAGE\",\"owner\":\"CloudwatchLogs\",\"logGroup\":\"\","
        "\"logStream\":\"\",\"subscriptionFilters\":[],\"logEvents\":[{\"id\":\"\",\"timestamp\":"
        "1795302000000,\"message\":\"CWL CONTROL MESSAGE: Checking health of destination\"}]}",
        PAYLOAD("/aws/lambda/orders",
                EVENT("1795302000500", "o1\\tDuration: 300.00 ms\\tBilled Duration: 300 ms\\t"
                                       "Memory Size: 256 MB\\tMax Memory Used: 80 MB")),
        PAYLOAD("/aws/lambda/billing",
                EVENT("1795302003000", "b1\\tDuration: 3000.00 ms\\tBilled Duration: 3400 ms\\t"
                                       "Memory Size: 1024 MB\\tMax Memory Used: 300 MB\\t"
                                       "Init Duration: 400.00 ms\\tStatus: timeout")),
        PAYLOAD("/aws/lambda/orders",
                EVENT("1795302001000", "o2\\tDuration: 200.00 ms\\tBilled Duration: 200 ms\\t"
                                       "Memory Size: 256 MB\\tMax Memory Used: 90 MB")),
    };
#undef PAYLOAD
#undef EVENT
    gz_write(p, members, 4, 0);
    const char *pp = p;
    json_t *j = run1(pp);
    check_schema(j);
    assert_int_equal(ival(j, "unparsedLines"), 0);
    assert_int_equal(ival(j, "invocations"), 3);
    assert_string_equal(sval(j, "inputs/0/function"), "orders");
    assert_int_equal(json_object_size(at(j, "functions")), 2);
    assert_int_equal(ival(j, "functions/orders/invocations"), 2);
    assert_int_equal(ival(j, "functions/orders/statuses/timeout"), 0);
    assert_int_equal(ival(j, "functions/orders/coldStarts/count"), 0);
    assert_int_equal(ival(j, "functions/orders/memory/bySizeMB/256/invocations"), 2);
    assert_int_equal(json_object_size(at(j, "functions/orders/memory/bySizeMB")), 1);
    assert_int_equal(ival(j, "functions/billing/invocations"), 1);
    assert_int_equal(ival(j, "functions/billing/statuses/timeout"), 1);
    assert_int_equal(ival(j, "functions/billing/coldStarts/count"), 1);
    assert_int_equal(ival(j, "functions/billing/memory/bySizeMB/1024/maxMemoryUsedMB/max"), 300);
    assert_float_equal(dval(j, "functions/billing/durationMs/max"), 3000, 1e-9);
    /* The account's view is the same as before: billing's [-0.4, 3.0] s holds orders' two. */
    assert_int_equal(ival(j, "concurrency/peak"), 2);
    json_decref(j);

    /* --function names everything: one function. */
    struct pt_logs_options o;
    pt_logs_options_init(&o);
    o.function = "all";
    j = run_opt(&pp, 1, &o);
    assert_int_equal(json_object_size(at(j, "functions")), 1);
    assert_int_equal(ival(j, "functions/all/invocations"), 3);
    json_decref(j);
    rmrf(d);
    free(d);
}

static void test_stdin(void **state)
{
    (void)state;
    int saved = dup(0);
    assert_true(saved >= 0);
    int fd = open(data("filter-log-events.json"), O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(dup2(fd, 0), 0);
    close(fd);
    json_t *j = run1("-");
    dup2(saved, 0);
    close(saved);
    assert_string_equal(sval(j, "inputs/0/function"), "stdin");
    assert_int_equal(ival(j, "invocations"), 3);
    assert_int_equal(ival(j, "concurrency/peak"), 2);
    json_decref(j);
}

/* A named pipe, as bash's <(zcat ...) passes one (/dev/fd/63): read in order, no offsets. */
static void test_pipe_path(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    const char *text = "REPORT RequestId: 1 Duration: 2.00 ms Billed Duration: 2 ms "
                       "Memory Size: 128 MB Max Memory Used: 50 MB\n";
    assert_int_equal(write(p[1], text, strlen(text)), (ssize_t)strlen(text));
    close(p[1]);
    char path[64];
    snprintf(path, sizeof(path), "/dev/fd/%d", p[0]);
    json_t *j = run1(path);
    close(p[0]);
    assert_int_equal(ival(j, "invocations"), 1);
    json_decref(j);
}

/* One file reached several ways (given twice, through a symlink loop in its directory) is
 * read once: its invocation is counted once. */
static void test_same_file_read_once(void **state)
{
    (void)state;
    char *d = tmpdir();
    char log[PATH_MAX], loop[PATH_MAX], dot[PATH_MAX];
    snprintf(log, sizeof(log), "%s/app.log", d);
    snprintf(loop, sizeof(loop), "%s/self", d);
    snprintf(dot, sizeof(dot), "%s/./app.log", d);
    write_file(log, "REPORT RequestId: 1 Duration: 2.00 ms Billed Duration: 2 ms "
                    "Memory Size: 128 MB Max Memory Used: 50 MB\n");
    assert_int_equal(symlink(".", loop), 0);
    const char *paths[] = {log, d, dot};
    struct pt_logs_options o;
    pt_logs_options_init(&o);
    json_t *j = run_opt(paths, 3, &o);
    assert_int_equal(ival(j, "invocations"), 1);
    assert_int_equal(json_array_size(at(j, "inputs")), 1);
    json_decref(j);
    rmrf(d);
    free(d);
}

static void test_overlong_line_and_limits(void **state)
{
    (void)state;
    char *d = tmpdir(), p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/long.log", d);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("REPORT RequestId: 1\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\t"
          "Max Memory Used: 50 MB\n",
          f);
    for (int i = 0; i < 3000; i++)
        fputs("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", f);
    fputs("\nREPORT RequestId: 2\tDuration: 2.00 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\t"
          "Max Memory Used: 50 MB\n",
          f);
    assert_int_equal(fclose(f), 0);
    struct pt_logs_options o;
    pt_logs_options_init(&o);
    o.max_line = 1024;
    const char *pp = p;
    json_t *j = run_opt(&pp, 1, &o);
    assert_int_equal(ival(j, "invocations"), 2);
    assert_int_equal(ival(j, "unparsedLines"), 1);
    assert_int_equal(ival(j, "unparsed/0/line"), 2);
    assert_int_equal(ival(j, "lines"), 3);
    json_decref(j);

    /* More REPORTs than max_invocations: a clear limit error, not unbounded memory. */
    o.max_line = PT_LOGS_LINE_MAX_DEFAULT;
    o.max_invocations = 5;
    struct pt_logs_result *r = NULL;
    struct pt_error err = {0};
    const char *t = data("text-plain.log");
    assert_int_equal(pt_logs_analyze(&t, 1, &o, &r, &err), PT_ELIMIT);
    assert_null(r);
    assert_non_null(strstr(err.msg, "--max-invocations"));

    /* A missing input names itself. */
    const char *missing = "/nonexistent/lambda.log";
    pt_logs_options_init(&o);
    assert_int_equal(pt_logs_analyze(&missing, 1, &o, &r, &err), PT_ENOTFOUND);
    assert_non_null(strstr(err.msg, missing));
    rmrf(d);
    free(d);
}

/* ---------------------------------------------------------------- known answers */

#define T0 "2026-11-21T23:00:00"

static void fmt_ts(long long ms_since_t0, char *out, size_t n)
{
    /* T0 is a minute start: ms up to 59 999 stay in the same minute. */
    long long m = ms_since_t0 / 60000, s = ms_since_t0 / 1000 % 60, ms = ms_since_t0 % 1000;
    snprintf(out, n, "2026-11-21T23:%02lld:%02lld.%03lldZ", m, s, ms);
}

/*
 * Background: every 100 ms from T0 for 60 s, an invocation of exactly 1000 ms (600 of them:
 * steady concurrency 10). Spike: 25 invocations of 200 ms starting at T0 + 30.050 s. So the
 * peak is 35 at T0+30.050; with a quota of 30, 7 starts find 30 or more in flight (the spike's
 * last 5 and two background starts before 30.250), all in one second. REPORTs in second 30: 10 background (1000 ms) + 25 spike -> the article's estimate
 * 35 x 1000 / 1000 = 35. Minute 23:00 holds 590 + 25 REPORTs, average (590 x 1000 + 25 x 200)
 * / 615 ms, busy time 595.5 s + 5 s + 1.25 s of INIT (every 100th background invocation is a
 * cold start of 250 ms; the first one's INIT begins in 22:59) -> mean concurrency 601.75 / 60.
 */
static void write_known_log(const char *path, bool reversed)
{
    char *lines[700];
    size_t n = 0;
    char ts[40], line[256];
    for (int i = 0; i < 600; i++) {
        fmt_ts(i * 100LL + 1000, ts, sizeof(ts));
        snprintf(line, sizeof(line),
                 "%s REPORT RequestId: bg-%d\tDuration: 1000.00 ms\tBilled Duration: 1000 ms\t"
                 "Memory Size: 512 MB\tMax Memory Used: 100 MB\t%s\n",
                 ts, i, i % 100 == 0 ? "Init Duration: 250.00 ms\t" : "");
        lines[n++] = strdup(line);
    }
    for (int i = 0; i < 25; i++) {
        fmt_ts(30050 + 200, ts, sizeof(ts));
        snprintf(line, sizeof(line),
                 "%s REPORT RequestId: spike-%d\tDuration: 200.00 ms\tBilled Duration: 200 ms\t"
                 "Memory Size: 512 MB\tMax Memory Used: 120 MB\t\n",
                 ts, i);
        lines[n++] = strdup(line);
    }
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++) {
        fputs(lines[reversed ? n - 1 - i : i], f);
        if (i % 7 == 3)
            fputs("2026-11-21T23:00:00.000Z some function output\n", f);
    }
    assert_int_equal(fclose(f), 0);
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
}

static void test_concurrency_known_answers(void **state)
{
    (void)state;
    char *d = tmpdir(), p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/known.log", d);
    write_known_log(p, false);
    struct pt_logs_options o;
    pt_logs_options_init(&o);
    o.quota = 30;
    o.minutes_before = 1;
    const char *pp = p;
    json_t *j = run_opt(&pp, 1, &o);
    assert_int_equal(ival(j, "invocations"), 625);
    assert_int_equal(ival(j, "concurrency/peak"), 35);
    assert_string_equal(sval(j, "concurrency/peakAt"), "2026-11-21T23:00:30.050Z");
    assert_int_equal(ival(j, "concurrency/binSeconds"), 1);
    assert_int_equal(ival(j, "concurrency/throttledSeconds"), 1);
    /* The spike's last 5, and the background starts at 30.100 and 30.200 (34 in flight). */
    assert_int_equal(ival(j, "concurrency/throttledInvocations"), 7);
    assert_int_equal(ival(j, "concurrency/headroom"), -5);
    assert_float_equal(dval(j, "concurrency/estimate/peak"), 35, 1e-9);
    assert_string_equal(sval(j, "concurrency/estimate/peakAt"), "2026-11-21T23:00:30.000Z");
    assert_int_equal(json_array_size(at(j, "concurrency/beforePeak")), 2);
    assert_string_equal(sval(j, "concurrency/beforePeak/0/minute"), "2026-11-21T22:59:00.000Z");
    assert_int_equal(ival(j, "concurrency/beforePeak/0/invocations"), 0);
    assert_string_equal(sval(j, "concurrency/beforePeak/1/minute"), "2026-11-21T23:00:00.000Z");
    assert_int_equal(ival(j, "concurrency/beforePeak/1/invocations"), 615);
    assert_float_equal(dval(j, "concurrency/beforePeak/1/avgDurationMs"),
                       (590 * 1000.0 + 25 * 200.0) / 615, 0.001);
    assert_int_equal(ival(j, "concurrency/beforePeak/1/peakConcurrency"), 35);
    assert_float_equal(dval(j, "concurrency/beforePeak/1/meanConcurrency"), 601.75 / 60, 0.001);
    assert_float_equal(dval(j, "concurrency/beforePeak/0/meanConcurrency"), 0.25 / 60, 0.001);
    assert_int_equal(ival(j, "coldStarts/count"), 6);
    assert_float_equal(dval(j, "durationMs/p50"), 1000, 1e-9);
    assert_float_equal(dval(j, "durationMs/min"), 200, 1e-9);
    assert_float_equal(dval(j, "durationMs/p95"), 1000, 1e-9);

    /* The same log split between two threads at a line boundary gives the same answers. */
    o.threads = 2;
    o.split_min_bytes = 1;
    json_t *j2 = run_opt(&pp, 1, &o);
    assert_true(json_equal(j, j2));
    json_decref(j2);

    /* HTML report: self-contained, with the three charts and the quota line. */
    struct pt_logs_result *r = NULL;
    struct pt_error err = {0};
    assert_int_equal(pt_logs_analyze(&pp, 1, &o, &r, &err), 0);
    char html[PATH_MAX];
    snprintf(html, sizeof(html), "%s/report.html", d);
    assert_int_equal(pt_logs_write_html(r, html, &err), 0);
    pt_logs_result_free(r);
    char *page = slurp(html);
    assert_non_null(strstr(page, "<svg"));
    assert_non_null(strstr(page, "quota 30"));
    assert_non_null(strstr(page, "Duration histogram"));
    assert_non_null(strstr(page, "Cold starts over time"));
    assert_null(strstr(page, "http://"));
    assert_null(strstr(page, "https://"));
    assert_null(strstr(page, "<script"));
    free(page);
    json_decref(j);
    rmrf(d);
    free(d);
}

/*
 * A burst of cold starts: five requests arrive 100 ms apart from T0, each spends 500 ms in INIT
 * and 100 ms in the handler (REPORT at arrival + 600 ms). Each environment is busy, and counts
 * against the quota, from its request's arrival, so all five run at T0 + 400 ms; counted from
 * Duration alone, the five invocations would run back to back (a peak of 1). A warm invocation
 * later in the second is not widened. With a quota of 3 the arrivals at 300 and 400 ms find 3
 * and 4 in flight: 2 would have throttled, none counted again when its INIT hands over.
 */
static void test_concurrency_counts_init(void **state)
{
    (void)state;
    char *d = tmpdir(), p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/burst.log", d);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    char ts[40];
    for (int i = 0; i < 5; i++) {
        fmt_ts(i * 100LL + 600, ts, sizeof(ts));
        fprintf(f, "%s REPORT RequestId: c%d\tDuration: 100.00 ms\tBilled Duration: 600 ms\t"
                   "Memory Size: 128 MB\tMax Memory Used: 60 MB\tInit Duration: 500.00 ms\t\n",
                ts, i);
    }
    fmt_ts(2100, ts, sizeof(ts));
    fprintf(f, "%s REPORT RequestId: w\tDuration: 100.00 ms\tBilled Duration: 100 ms\t"
               "Memory Size: 128 MB\tMax Memory Used: 60 MB\t\n", ts);
    assert_int_equal(fclose(f), 0);
    struct pt_logs_options o;
    pt_logs_options_init(&o);
    o.quota = 3;
    o.minutes_before = 0;
    const char *pp = p;
    json_t *j = run_opt(&pp, 1, &o);
    assert_int_equal(ival(j, "invocations"), 6);
    assert_string_equal(sval(j, "firstAt"), T0 ".000Z");
    assert_int_equal(ival(j, "concurrency/peak"), 5);
    assert_string_equal(sval(j, "concurrency/peakAt"), T0 ".400Z");
    assert_int_equal(ival(j, "concurrency/throttledInvocations"), 2);
    assert_int_equal(ival(j, "concurrency/throttledSeconds"), 1);
    /* 5 x 600 ms + 100 ms busy in the minute. */
    assert_float_equal(dval(j, "concurrency/beforePeak/0/meanConcurrency"), 3.1 / 60, 0.001);
    /* The article's estimate and the durations are Duration's alone. */
    assert_float_equal(dval(j, "durationMs/max"), 100, 1e-9);
    /* Second 0 holds four REPORTs of 100 ms. */
    assert_float_equal(dval(j, "concurrency/estimate/peak"), 0.4, 1e-9);
    json_decref(j);
    rmrf(d);
    free(d);
}

/*
 * SnapStart: Restore Duration replaces Init Duration on a cold start. Two restored environments
 * (text and JSON format), 400 ms of restore each, then 100 ms of handler: both busy at once from
 * T0 + 100 ms, and counted as restores, apart from the INIT cold starts. They were skipped: no
 * cold start at all, and the two invocations back to back (a peak of 1).
 */
static void test_snapstart_restores(void **state)
{
    (void)state;
    char *d = tmpdir(), p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/snap.log", d);
    write_file(p, T0 ".500Z REPORT RequestId: r1\tDuration: 100.00 ms\tBilled Duration: 100 ms\t"
                  "Memory Size: 1024 MB\tMax Memory Used: 155 MB\tRestore Duration: 400.00 ms\t"
                  "Billed Restore Duration: 75 ms\t\n"
                  "{\"time\":\"" T0 ".600Z\",\"type\":\"platform.report\",\"record\":{\"requestId\":"
                  "\"r2\",\"metrics\":{\"durationMs\":100.0,\"billedDurationMs\":100,"
                  "\"memorySizeMB\":1024,\"maxMemoryUsedMB\":150,\"restoreDurationMs\":200.0}}}\n"
                  T0 ".900Z REPORT RequestId: w\tDuration: 100.00 ms\tBilled Duration: 100 ms\t"
                  "Memory Size: 1024 MB\tMax Memory Used: 155 MB\t\n");
    const char *pp = p;
    struct pt_logs_options o;
    pt_logs_options_init(&o);
    json_t *j = run_opt(&pp, 1, &o);
    check_schema(j);
    assert_int_equal(ival(j, "unparsedLines"), 0);
    assert_int_equal(ival(j, "invocations"), 3);
    assert_int_equal(ival(j, "coldStarts/count"), 0);
    assert_int_equal(ival(j, "coldStarts/restores/count"), 2);
    assert_float_equal(dval(j, "coldStarts/restores/restoreDurationMs/mean"), 300, 1e-9);
    assert_float_equal(dval(j, "coldStarts/restores/restoreDurationMs/max"), 400, 1e-9);
    assert_true(json_is_null(at(j, "coldStarts/initDurationMs")));
    /* r1 [T0, .500], r2 [.300, .600], w [.800, .900]. */
    assert_string_equal(sval(j, "firstAt"), T0 ".000Z");
    assert_int_equal(ival(j, "concurrency/peak"), 2);
    assert_string_equal(sval(j, "concurrency/peakAt"), T0 ".300Z");
    json_decref(j);
    rmrf(d);
    free(d);
}

/*
 * Big enough (120 000 invocations) for the sweep to run as two halves on two threads, with the
 * spike where the halves meet. Background: one invocation of 10.00 ms every ms for 120 s
 * (steady 10). Spike: 25 of 1.50 ms from T0 + 60 000.5 ms. Peak 35 at 60 000.5 ms; over a quota
 * of 30: the spike's last 5 starts and the background start at 60 001 ms (34 in flight), in one
 * second. Second 60 holds 1000 + 25 REPORTs whose p99.5 is 10 ms: estimate 10.25.
 */
static void test_concurrency_split_sweep(void **state)
{
    (void)state;
    char *d = tmpdir(), p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/big.log", d);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    char ts[40];
    for (int i = 0; i < 120000; i++) {
        fmt_ts(i + 10LL, ts, sizeof(ts));
        fprintf(f, "%s REPORT RequestId: b%d\tDuration: 10.00 ms\tBilled Duration: 10 ms\t"
                   "Memory Size: 128 MB\tMax Memory Used: 60 MB\t\n",
                ts, i);
        if (i == 60000)
            for (int k = 0; k < 25; k++) {
                fmt_ts(60002, ts, sizeof(ts));
                fprintf(f, "%s REPORT RequestId: s%d\tDuration: 1.50 ms\tBilled Duration: 2 "
                           "ms\tMemory Size: 128 MB\tMax Memory Used: 60 MB\t\n",
                        ts, k);
            }
    }
    assert_int_equal(fclose(f), 0);
    struct pt_logs_options o;
    pt_logs_options_init(&o);
    o.quota = 30;
    o.threads = 1;
    const char *pp = p;
    json_t *j = run_opt(&pp, 1, &o);
    assert_int_equal(ival(j, "invocations"), 120025);
    assert_int_equal(ival(j, "concurrency/peak"), 35);
    assert_string_equal(sval(j, "concurrency/peakAt"), "2026-11-21T23:01:00.000Z");
    assert_int_equal(ival(j, "concurrency/throttledSeconds"), 1);
    assert_int_equal(ival(j, "concurrency/throttledInvocations"), 6);
    assert_float_equal(dval(j, "concurrency/estimate/peak"), 10.25, 1e-9);
    assert_string_equal(sval(j, "concurrency/estimate/peakAt"), "2026-11-21T23:01:00.000Z");
    assert_float_equal(dval(j, "concurrency/beforePeak/6/meanConcurrency"), 10, 0.01);
    assert_int_equal(ival(j, "concurrency/beforePeak/6/peakConcurrency"), 35);
    /* Read in two ranges by two threads: the same figures. */
    o.threads = 2;
    o.split_min_bytes = 1;
    json_t *j2 = run_opt(&pp, 1, &o);
    assert_true(json_equal(j, j2));
    json_decref(j);
    json_decref(j2);
    rmrf(d);
    free(d);
}

/*
 * Clock skew between streams: two environments whose clocks disagree by 250 ms, interleaved
 * out of order. Each invocation's interval comes from its own REPORT (no cross-stream START/END
 * matching), so the figures depend only on the lines, never on their order.
 */
static void test_clock_skew_between_streams(void **state)
{
    (void)state;
    char *d = tmpdir();
    char dir[PATH_MAX], a[PATH_MAX + 64], b[PATH_MAX + 64], all1[PATH_MAX + 64];
    snprintf(dir, sizeof(dir), "%s/logs/skewed/2026/11/21", d);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", dir);
    assert_int_equal(system(cmd), 0);
    snprintf(a, sizeof(a), "%s/[$LATEST]aaaa.log", dir);
    snprintf(b, sizeof(b), "%s/[$LATEST]bbbb.log", dir);
    /* Stream A (true clock): [0, 300] and [400, 700]. Stream B, 250 ms fast: true [100, 200]
     * and [500, 600] logged as ending at 450 and 850. */
    write_file(a, T0 ".300Z REPORT RequestId: a1\tDuration: 300.00 ms\tBilled Duration: 300 ms\t"
                  "Memory Size: 128 MB\tMax Memory Used: 60 MB\t\n" T0
                  ".700Z REPORT RequestId: a2\tDuration: 300.00 ms\tBilled Duration: 300 ms\t"
                  "Memory Size: 128 MB\tMax Memory Used: 60 MB\t\n");
    write_file(b, T0 ".850Z REPORT RequestId: b2\tDuration: 100.00 ms\tBilled Duration: 100 ms\t"
                  "Memory Size: 128 MB\tMax Memory Used: 60 MB\t\n" T0
                  ".450Z REPORT RequestId: b1\tDuration: 100.00 ms\tBilled Duration: 100 ms\t"
                  "Memory Size: 128 MB\tMax Memory Used: 60 MB\t\n");
    struct pt_logs_options o;
    pt_logs_options_init(&o);
    o.function = "skewed";
    const char *p = d;
    json_t *j = run_opt(&p, 1, &o);
    assert_int_equal(ival(j, "unparsedLines"), 0);
    assert_int_equal(ival(j, "invocations"), 4);
    assert_int_equal(json_object_size(at(j, "functions")), 1);
    /* As logged: A [0,300] [400,700], B [350,450] [750,850] -> peak 2 at 400 (a2 with b1). */
    assert_int_equal(ival(j, "concurrency/peak"), 2);
    assert_string_equal(sval(j, "concurrency/peakAt"), T0 ".400Z");

    /* The same lines merged into one file in another order: the same figures. */
    snprintf(all1, sizeof(all1), "%s/merged.log", d);
    char *sa = slurp(a), *sb = slurp(b);
    char merged[4096];
    snprintf(merged, sizeof(merged), "%s%s", sb, sa);
    write_file(all1, merged);
    const char *m = all1;
    json_t *j2 = run_opt(&m, 1, &o);
    json_object_del(j, "inputs");
    json_object_del(j2, "inputs");
    assert_true(json_equal(j, j2));
    free(sa);
    free(sb);
    json_decref(j);
    json_decref(j2);
    rmrf(d);
    free(d);
}

/* Drops what differs between two runs over the same events read from different files. */
static void drop_input_fields(json_t *j)
{
    static const char *const keys[] = {"inputs", "lines", "otherLines", "duplicatesDropped"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        json_object_del(j, keys[i]);
    const char *k;
    json_t *v;
    json_object_foreach(at(j, "functions"), k, v)
        json_object_del(v, "duplicatesDropped");
}

/*
 * Overlapping CloudWatch exports of one function (tests/data/logs/overlap, make_exports.py):
 * 00:00-01:00 and 00:30-01:30 both hold the REPORTs of 00:30-01:00, which count once; an
 * asynchronous invocation retried twice (one request id, the same figures, three timestamps, all
 * in the overlap) counts three times. Before, the overlap counted twice: 54 invocations.
 */
static void test_overlapping_exports_counted_once(void **state)
{
    (void)state;
    const char *both[] = {data("overlap/export-0000-0100.log"),
                          data("overlap/export-0030-0130.log")};
    struct pt_logs_options o;
    pt_logs_options_init(&o);
    json_t *j = run_opt(both, 2, &o);
    assert_int_equal(ival(j, "unparsedLines"), 0);
    assert_int_equal(ival(j, "invocations"), 39);
    assert_int_equal(ival(j, "duplicatesDropped"), 15);
    /* Named after their files, the copies are taken from the second input's function. */
    assert_int_equal(ival(j, "functions/export-0000-0100/invocations"), 27);
    assert_int_equal(ival(j, "functions/export-0000-0100/duplicatesDropped"), 0);
    assert_int_equal(ival(j, "functions/export-0030-0130/invocations"), 12);
    assert_int_equal(ival(j, "functions/export-0030-0130/duplicatesDropped"), 15);
    assert_int_equal(ival(j, "coldStarts/count"), 1);
    json_decref(j);

    /* Under one name, every figure is that of one export of the whole 90 minutes. */
    o.function = "orders";
    j = run_opt(both, 2, &o);
    const char *whole = data("overlap/export-0000-0130.log");
    json_t *w = run_opt(&whole, 1, &o);
    assert_int_equal(ival(w, "invocations"), 39);
    assert_int_equal(ival(w, "duplicatesDropped"), 0);
    assert_int_equal(ival(j, "functions/orders/duplicatesDropped"), 15);
    drop_input_fields(j);
    drop_input_fields(w);
    assert_true(json_equal(j, w));
    json_decref(j);
    json_decref(w);
}

/*
 * The same events in other files: a file and its .gz, an `aws logs filter-log-events` document
 * and the S3 export of the same events (the identity is the event's, not its format's). REPORTs
 * without timestamps are never dropped: a copy cannot be told from a retry there.
 */
static void test_duplicates_across_files_and_formats(void **state)
{
    (void)state;
    char *d = tmpdir(), gz[PATH_MAX + 32], copy[PATH_MAX + 32];
    struct pt_logs_options o;
    pt_logs_options_init(&o);

    const char *export = data("overlap/export-0000-0100.log");
    char *text = slurp(export);
    snprintf(gz, sizeof(gz), "%s/export-0000-0100.log.gz", d);
    const char *member[] = {text};
    gz_write(gz, member, 1, 0);
    const char *pair[] = {export, gz};
    json_t *j = run_opt(pair, 2, &o);
    assert_int_equal(ival(j, "invocations"), 27);
    assert_int_equal(ival(j, "duplicatesDropped"), 27);
    assert_int_equal(json_object_size(at(j, "functions")), 1);
    json_decref(j);
    free(text);

    const char *formats[] = {data("filter-log-events.json"),
                             data("overlap/filter-log-events-export.log")};
    j = run_opt(formats, 2, &o);
    assert_int_equal(ival(j, "unparsedLines"), 0);
    assert_int_equal(ival(j, "invocations"), 3);
    assert_int_equal(ival(j, "duplicatesDropped"), 3);
    assert_int_equal(ival(j, "coldStarts/count"), 1);
    json_decref(j);

    text = slurp(data("text-plain.log"));
    snprintf(copy, sizeof(copy), "%s/text-plain-copy.log", d);
    write_file(copy, text);
    const char *untimed[] = {data("text-plain.log"), copy};
    j = run_opt(untimed, 2, &o);
    assert_int_equal(ival(j, "invocations"), 14);
    assert_int_equal(ival(j, "duplicatesDropped"), 0);
    json_decref(j);
    free(text);
    rmrf(d);
    free(d);
}

/*
 * Before 2021 a timeout's REPORT had no Status field: "<request id> Task timed out after 3.07
 * seconds" followed it (tests/data/logs/timeout-2020.log, as lambda-wire.md quotes it). Those
 * count as timeouts; a newer REPORT with Status: timeout after such a line counts once; a line
 * of function output starting with hex letters is not one. Before, 1 timeout of 3.
 */
static void test_legacy_timeout_lines(void **state)
{
    (void)state;
    json_t *j = run1(data("timeout-2020.log"));
    assert_int_equal(ival(j, "unparsedLines"), 0);
    assert_int_equal(ival(j, "invocations"), 5);
    assert_int_equal(ival(j, "statuses/timeout"), 3);
    assert_int_equal(ival(j, "statuses/success"), 2);
    assert_int_equal(ival(j, "statuses/error"), 0);
    json_decref(j);

    /* The line before its REPORT (an output merged by time), and a REPORT that said error. */
    char *d = tmpdir(), p[PATH_MAX + 32];
    snprintf(p, sizeof(p), "%s/merged.log", d);
    write_file(p, "2020-11-10T05:46:57.874Z 160788cd-45ff-4583-809f-c7e31127cb95 Task timed out "
                  "after 3.07 seconds\n"
                  "2020-11-10T05:46:57.874Z REPORT RequestId: 160788cd-45ff-4583-809f-"
                  "c7e31127cb95\tDuration: 3071.27 ms\tBilled Duration: 3000 ms\tMemory Size: 128 "
                  "MB\tMax Memory Used: 72 MB\t\n"
                  "2024-03-02T10:00:03.013Z REPORT RequestId: 9c0d5e6f-1a2b-4c3d-8e4f-"
                  "5a6b7c8d9e0f\tDuration: 1000.00 ms\tBilled Duration: 1000 ms\tMemory Size: 128 "
                  "MB\tMax Memory Used: 80 MB\tStatus: error\tError Type: Runtime.ExitError\n"
                  "2024-03-02T10:00:03.014Z 9c0d5e6f-1a2b-4c3d-8e4f-5a6b7c8d9e0f Task timed out "
                  "after 1.00 seconds\n");
    j = run1(p);
    assert_int_equal(ival(j, "invocations"), 2);
    assert_int_equal(ival(j, "statuses/timeout"), 1);
    assert_int_equal(ival(j, "statuses/error"), 1);
    json_decref(j);
    rmrf(d);
    free(d);
}

/*
 * `aws logs tail --format json` over a function logging in the JSON format: each event's JSON
 * pretty-printed over several lines after "<time> <stream> " (tests/data/logs/
 * aws-logs-tail-json.log, made with awscli's own formatter by make_tail_json.py). Before, no
 * record was read: 0 invocations. Split between threads at any byte, the figures are the same
 * (a cut never falls inside a record); a record cut by the end of the file is one unparsed line.
 */
static void test_aws_logs_tail_json_pretty(void **state)
{
    (void)state;
    const char *path = data("aws-logs-tail-json.log");
    struct pt_logs_options o;
    pt_logs_options_init(&o);
    o.threads = 1;
    json_t *j = run_opt(&path, 1, &o);
    check_schema(j);
    assert_int_equal(ival(j, "unparsedLines"), 0);
    assert_int_equal(ival(j, "invocations"), 3);
    assert_int_equal(ival(j, "timedInvocations"), 3);
    assert_int_equal(ival(j, "statuses/timeout"), 1);
    assert_int_equal(ival(j, "coldStarts/count"), 2);
    assert_int_equal(ival(j, "coldStarts/initReports"), 2);
    assert_int_equal(ival(j, "concurrency/peak"), 2);
    assert_non_null(json_object_get(at(j, "functions"),
                                    "ColdStartPerfStack-Function76856677-qnwBXhjb6klt"));
    assert_float_equal(dval(j, "durationMs/max"), 5000.0, 1e-9);

    for (int threads = 2; threads <= 8; threads *= 2) {
        for (size_t split = 64; split <= 4096; split *= 8) {
            o.threads = threads;
            o.split_min_bytes = split;
            json_t *k = run_opt(&path, 1, &o);
            if (!json_equal(j, k))
                fail_msg("%d threads, split at %zu bytes: other figures", threads, split);
            json_decref(k);
        }
    }
    json_decref(j);

    char *d = tmpdir(), cut[PATH_MAX + 32];
    char *text = slurp(path);
    char *last = strstr(text, "\"type\": \"platform.report\"");
    assert_non_null(last);
    while (strstr(last + 1, "\"type\": \"platform.report\""))
        last = strstr(last + 1, "\"type\": \"platform.report\"");
    char *nl = strchr(last, '\n');
    assert_non_null(nl);
    nl[1] = '\0'; /* the last REPORT record ends after its "type" line */
    snprintf(cut, sizeof(cut), "%s/tail.log", d);
    write_file(cut, text);
    const char *p = cut;
    o.threads = 1;
    j = run_opt(&p, 1, &o);
    assert_int_equal(ival(j, "invocations"), 2);
    assert_int_equal(ival(j, "unparsedLines"), 1);
    assert_non_null(strstr(sval(j, "unparsed/0/reason"), "cut"));
    json_decref(j);
    free(text);
    rmrf(d);
    free(d);
}

/* gzip -c of the file at src into dst, creating dst's directories. */
static void gz_copy(const char *src, const char *dst)
{
    char cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\" && gzip -c '%s' > '%s'", dst, src,
             dst);
    assert_int_equal(system(cmd), 0);
}

/*
 * A CloudWatch export to S3 downloaded as is (CreateExportTask writes
 * <prefix>/<task id>/<log stream name>/000000.gz, the stream name YYYY/MM/DD/[$LATEST]<id>), two
 * export tasks of one log group with overlapping ranges plus the bucket's write test object.
 * Every object was its own function "000000" (all named alike whatever the log group) and the
 * overlap counted twice: 59 invocations. Now one function named by the prefix, each object's
 * log stream in inputs[], the overlap once.
 */
static void test_s3_export_tree(void **state)
{
    (void)state;
    char *d = tmpdir(), root[PATH_MAX + 32], p[PATH_MAX + 160];
    snprintf(root, sizeof(root), "%s/exports/orders", d);
    const char *t1 = "cda45419-90ea-4db5-9833-aade86253e66";
    const char *t2 = "0b9f3c2e-7d41-4a8b-b6c5-1e2f3a4b5c6d";
    snprintf(p, sizeof(p), "%s/%s/2026/11/21/[$LATEST]aaaa/000000.gz", root, t1);
    gz_copy(data("overlap/export-0000-0100.log"), p);
    snprintf(p, sizeof(p), "%s/%s/2026/11/21/[$LATEST]aaaa/000000.gz", root, t2);
    gz_copy(data("overlap/export-0030-0130.log"), p);
    snprintf(p, sizeof(p), "%s/%s/2020/11/10/[1]bbbb/000000.gz", root, t2);
    gz_copy(data("timeout-2020.log"), p);
    snprintf(p, sizeof(p), "%s/aws-logs-write-test", root);
    write_file(p, "Permission Check Successful");

    const char *in = root;
    struct pt_logs_options o;
    pt_logs_options_init(&o);
    json_t *j = run_opt(&in, 1, &o);
    assert_int_equal(ival(j, "unparsedLines"), 0);
    assert_int_equal(json_array_size(at(j, "inputs")), 3);
    assert_int_equal(json_object_size(at(j, "functions")), 1);
    assert_int_equal(ival(j, "functions/orders/invocations"), 39 + 5);
    assert_int_equal(ival(j, "duplicatesDropped"), 15);
    assert_int_equal(ival(j, "statuses/timeout"), 3);
    assert_string_equal(sval(j, "inputs/0/logStream"), "2020/11/10/[1]bbbb");
    assert_string_equal(sval(j, "inputs/1/logStream"), "2026/11/21/[$LATEST]aaaa");
    assert_true(json_is_true(at(j, "inputs/1/compressed")));
    json_decref(j);

    /* From inside the prefix ("./<task id>/..."), the task names the function. */
    char cwd[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    data_dir(); /* found from the working directory: before leaving it */
    assert_int_equal(chdir(root), 0);
    const char *rel = ".";
    j = run_opt(&rel, 1, &o);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(json_object_size(at(j, "functions")), 2);
    /* The second task's objects sort first and keep the overlap's events. */
    assert_int_equal(ival(j, "functions/0b9f3c2e-7d41-4a8b-b6c5-1e2f3a4b5c6d/invocations"), 32);
    assert_int_equal(ival(j, "functions/cda45419-90ea-4db5-9833-aade86253e66/invocations"), 12);
    assert_int_equal(ival(j, "invocations"), 44);
    json_decref(j);

    /* The engine's layout names its streams the same way. */
    const char *engine = data("engine");
    j = run1(engine);
    assert_non_null(strstr(sval(j, "inputs/0/logStream"), "2026/11/21/[$LATEST]"));
    json_decref(j);
    rmrf(d);
    free(d);
}

/* REPORTs first..last - 1 of a generated log, one every millisecond (request id b<i>). */
static void write_numbered_reports(const char *path, int first, int last)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    char ts[40];
    for (int i = first; i < last; i++) {
        fmt_ts(i + 10LL, ts, sizeof(ts));
        fprintf(f, "%s REPORT RequestId: b%d\tDuration: %d.%02d ms\tBilled Duration: %d ms\t"
                   "Memory Size: 128 MB\tMax Memory Used: %d MB\t\n",
                ts, i, 5 + i % 50, i % 100, 6 + i % 50, 60 + i % 7);
    }
    assert_int_equal(fclose(f), 0);
}

/*
 * Big overlapping inputs (the duplicate check runs on two threads from 100000 records): two
 * files of 120000 REPORTs sharing 60000 give the figures of one file of the 180000.
 */
static void test_duplicates_big_inputs(void **state)
{
    (void)state;
    char *d = tmpdir(), a[PATH_MAX + 16], b[PATH_MAX + 16], all[PATH_MAX + 16];
    snprintf(a, sizeof(a), "%s/a.log", d);
    snprintf(b, sizeof(b), "%s/b.log", d);
    snprintf(all, sizeof(all), "%s/all.log", d);
    write_numbered_reports(a, 0, 120000);
    write_numbered_reports(b, 60000, 180000);
    write_numbered_reports(all, 0, 180000);
    struct pt_logs_options o;
    pt_logs_options_init(&o);
    o.function = "big";
    const char *both[] = {a, b}, *one = all;
    json_t *j = run_opt(both, 2, &o);
    json_t *w = run_opt(&one, 1, &o);
    assert_int_equal(ival(j, "invocations"), 180000);
    assert_int_equal(ival(j, "duplicatesDropped"), 60000);
    drop_input_fields(j);
    drop_input_fields(w);
    assert_true(json_equal(j, w));
    json_decref(j);
    json_decref(w);
    rmrf(d);
    free(d);
}

/*
 * INIT reports read twice count once too (tests/data/logs/overlap/init-failures.log: a crash as
 * cargo-lambda's issue shows it, INIT_REPORT for the init and the invoke phase, then the same
 * failure again 30 s later, which is another INIT and counts), in text and in the JSON format
 * (platform.initReport of `aws logs tail --format json`). Before: 6 and 4.
 */
static void test_init_reports_counted_once(void **state)
{
    (void)state;
    char *d = tmpdir(), gz[PATH_MAX + 32], copy[PATH_MAX + 32];
    struct pt_logs_options o;
    pt_logs_options_init(&o);
    const char *text = data("overlap/init-failures.log");
    snprintf(gz, sizeof(gz), "%s/init-failures.log.gz", d);
    gz_copy(text, gz);
    const char *pair[] = {text, gz};
    json_t *j = run_opt(pair, 2, &o);
    assert_int_equal(ival(j, "invocations"), 1);
    assert_int_equal(ival(j, "duplicatesDropped"), 1);
    assert_int_equal(ival(j, "coldStarts/initReports"), 3);
    assert_int_equal(ival(j, "coldStarts/initFailures"), 3);
    json_decref(j);

    char *tail = slurp(data("aws-logs-tail-json.log"));
    snprintf(copy, sizeof(copy), "%s/tail-again.log", d);
    write_file(copy, tail);
    const char *tails[] = {data("aws-logs-tail-json.log"), copy};
    j = run_opt(tails, 2, &o);
    assert_int_equal(ival(j, "invocations"), 3);
    assert_int_equal(ival(j, "coldStarts/initReports"), 2);
    assert_int_equal(ival(j, "coldStarts/initFailures"), 0);
    json_decref(j);
    free(tail);
    rmrf(d);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_plain),
        cmocka_unit_test(test_engine_dirs_group_by_function),
        cmocka_unit_test(test_aws_logs_tail),
        cmocka_unit_test(test_table_unknown_max_memory),
        cmocka_unit_test(test_snapstart_restores),
        cmocka_unit_test(test_json_log_format),
        cmocka_unit_test(test_filter_log_events),
        cmocka_unit_test(test_get_log_events_compact),
        cmocka_unit_test(test_event_timestamp_out_of_range),
        cmocka_unit_test(test_json_invalid_utf8),
        cmocka_unit_test(test_truncated_lines),
        cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_empty_directory),
        cmocka_unit_test(test_cold_start_article_vector),
        cmocka_unit_test(test_gzip),
        cmocka_unit_test(test_gzip_many_buffers),
        cmocka_unit_test(test_subscription_payloads_of_several_groups),
        cmocka_unit_test(test_stdin),
        cmocka_unit_test(test_pipe_path),
        cmocka_unit_test(test_same_file_read_once),
        cmocka_unit_test(test_overlong_line_and_limits),
        cmocka_unit_test(test_concurrency_known_answers),
        cmocka_unit_test(test_concurrency_counts_init),
        cmocka_unit_test(test_concurrency_split_sweep),
        cmocka_unit_test(test_clock_skew_between_streams),
        cmocka_unit_test(test_overlapping_exports_counted_once),
        cmocka_unit_test(test_duplicates_across_files_and_formats),
        cmocka_unit_test(test_legacy_timeout_lines),
        cmocka_unit_test(test_aws_logs_tail_json_pretty),
        cmocka_unit_test(test_s3_export_tree),
        cmocka_unit_test(test_duplicates_big_inputs),
        cmocka_unit_test(test_init_reports_counted_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
