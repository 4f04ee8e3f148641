/*
 * Unit tests for the building blocks of `powertune logs` (src/logs): the REPORT scanner (every
 * variant Lambda has printed, and every cut of a line), timestamps, the cold-start statistics of
 * the article, prices, and the command line (bad options are usage errors naming the option).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "logs/logs.h"

#define ID "8f507cfc-xmpl-4697-b07a-ac58fc914c95"

/* Scans a copy in a buffer of exactly n bytes, so ASan catches any read past the line. */
static int scan(const char *line, struct pt_logs_report *r)
{
    size_t n = strlen(line);
    char *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, line, n);
    int rc = pt_logs_scan_report(copy, n, r);
    free(copy);
    return rc;
}

static void test_report_canonical(void **state)
{
    (void)state;
    struct pt_logs_report r;
    assert_int_equal(scan("REPORT RequestId: " ID "\tDuration: 15.74 ms\tBilled Duration: 16 ms\t"
                          "Memory Size: 128 MB\tMax Memory Used: 56 MB\tInit Duration: 130.49 "
                          "ms\t",
                          &r),
                     0);
    assert_int_equal(r.duration_10us, 1574);
    assert_int_equal(r.billed_ms, 16);
    assert_int_equal(r.memory_mb, 128);
    assert_int_equal(r.max_used_mb, 56);
    assert_true(r.has_init);
    assert_int_equal(r.init_10us, 13049);
    assert_int_equal(r.status, PT_LOGS_SUCCESS);

    /* Warm start, no trailing TAB, CRLF. */
    assert_int_equal(scan("REPORT RequestId: " ID "\tDuration: 2.00 ms\tBilled Duration: 2 ms\t"
                          "Memory Size: 10240 MB\tMax Memory Used: 300 MB\r\n",
                          &r),
                     0);
    assert_false(r.has_init);
    assert_int_equal(r.memory_mb, 10240);
}

static void test_report_variants(void **state)
{
    (void)state;
    struct pt_logs_report r;
    /* 2020: space instead of TAB before Memory Size. */
    assert_int_equal(scan("REPORT RequestId: 3604209a-e9a3-11e6-939a-754dd98c7be3\tDuration: "
                          "12.34 ms\tBilled Duration: 100 ms Memory Size: 128 MB\tMax Memory "
                          "Used: 18 MB",
                          &r),
                     0);
    assert_int_equal(r.billed_ms, 100);
    assert_int_equal(r.memory_mb, 128);
    /* Logs API sample: a space after "27 ms". */
    assert_int_equal(scan("REPORT RequestId: 4ce9\tDuration: 26.73 ms\tBilled Duration: 27 ms "
                          "\tMemory Size: 128 MB\tMax Memory Used: 75 MB\t\n",
                          &r),
                     0);
    assert_int_equal(r.duration_10us, 2673);
    /* RIE: Init Duration first. */
    assert_int_equal(scan("REPORT RequestId: 123\tInit Duration: 1.50 ms\tDuration: 2.25 ms\t"
                          "Billed Duration: 3 ms\tMemory Size: 3008 MB\tMax Memory Used: 3008 MB\t",
                          &r),
                     0);
    assert_int_equal(r.init_10us, 150);
    assert_int_equal(r.duration_10us, 225);
    /* Timeout and OOM statuses. */
    assert_int_equal(scan("REPORT RequestId: 2b68\tDuration: 3000.00 ms\tBilled Duration: 3403 "
                          "ms\tMemory Size: 128 MB\tMax Memory Used: 73 MB\tInit Duration: 402.04 "
                          "ms\tStatus: timeout",
                          &r),
                     0);
    assert_int_equal(r.status, PT_LOGS_TIMEOUT);
    assert_false(r.out_of_memory);
    assert_int_equal(scan("REPORT RequestId: 806a\tDuration: 376256.59 ms\tBilled Duration: "
                          "376257 ms\tMemory Size: 10239 MB\tMax Memory Used: 10239 MB\tInit "
                          "Duration: 551.73 ms\tStatus: error\tError Type: Runtime.OutOfMemory",
                          &r),
                     0);
    assert_int_equal(r.status, PT_LOGS_ERROR);
    assert_true(r.out_of_memory);
    assert_int_equal(r.duration_10us, 37625659);
    /* Node.js: XRAY on the same line (skipped); SnapStart: Restore Duration (read; Billed
     * Restore Duration skipped). */
    assert_int_equal(scan("REPORT RequestId: 1\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory "
                          "Size: 128 MB\tMax Memory Used: 60 MB\tXRAY TraceId: 1-5e34a614-10bd\t"
                          "SegmentId: 07f5\tSampled: true\tRestore Duration: 511.25 ms\tBilled "
                          "Restore Duration: 303 ms\t",
                          &r),
                     0);
    assert_true(r.has_restore);
    assert_int_equal(r.restore_10us, 51125);
    assert_false(r.has_init);
    assert_int_equal(r.billed_ms, 1);
    /* Three decimals (JSON-ish sources) round to 10 us. */
    assert_int_equal(scan("REPORT RequestId: 1\tDuration: 11.645 ms\tBilled Duration: 12 ms\t"
                          "Memory Size: 128 MB\tMax Memory Used: 60 MB",
                          &r),
                     0);
    assert_int_equal(r.duration_10us, 1165);
}

static void test_report_rejects(void **state)
{
    (void)state;
    struct pt_logs_report r;
    static const char *const bad[] = {
        "",
        "REPORT",
        "REPORT RequestId: ",
        "START RequestId: " ID " Version: $LATEST",
        "REPORT RequestId: 1\tDuration: 12.5 msX\tBilled Duration: 13 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 1 MB",
        "REPORT RequestId: 1\tDuration: ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax "
        "Memory Used: 1 MB",
        "REPORT RequestId: 1\tDuration: 1.5 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB",
        "REPORT RequestId: 1\tDuration: 99999999999 ms\tBilled Duration: 13 ms\tMemory Size: 128 "
        "MB\tMax Memory Used: 1 MB",
        "REPORT RequestId: 1\tDuration: 1.5 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax "
        "Memory Used: 1 MB\tStatus: exploded",
        "REPORT RequestId: 1\tDuration 1.5 ms",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (scan(bad[i], &r) == 0)
            fail_msg("accepted: %s", bad[i]);
    }
}

/*
 * Regression (fuzz_logs_report): "TAB or space separated" held in the general loop only. A line
 * in Lambda's own order up to Max Memory Used (the fast path) followed by a space was refused,
 * while the same fields in RIE's order were read.
 */
static void test_report_space_after_fast_fields(void **state)
{
    (void)state;
    struct pt_logs_report r;
    assert_int_equal(scan("REPORT RequestId: 1\tDuration: 2.25 ms\tBilled Duration: 3 ms\t"
                          "Memory Size: 3008 MB\tMax Memory Used: 3008 MB Init Duration: 1.50 ms",
                          &r),
                     0);
    assert_int_equal(r.duration_10us, 225);
    assert_int_equal(r.max_used_mb, 3008);
    assert_true(r.has_init);
    assert_int_equal(r.init_10us, 150);
    assert_int_equal(scan("REPORT RequestId: 1\tDuration: 26.73 ms\tBilled Duration: 27 ms\t"
                          "Memory Size: 128 MB\tMax Memory Used: 75 MB \tStatus: timeout",
                          &r),
                     0);
    assert_int_equal(r.status, PT_LOGS_TIMEOUT);
    assert_int_equal(scan("REPORT RequestId: 1\tDuration: 26.73 ms\tBilled Duration: 27 ms\t"
                          "Memory Size: 128 MB\tMax Memory Used: 128 MB\tStatus: error\t"
                          "Error Type: Runtime.OutOfMemory ",
                          &r),
                     0);
    assert_true(r.out_of_memory);
    /* Still a damaged value, not a separator. */
    assert_int_not_equal(scan("REPORT RequestId: 1\tDuration: 1.00 ms\tBilled Duration: 1 ms\t"
                              "Memory Size: 128 MB\tMax Memory Used: 75 MBx",
                              &r),
                         0);
}

/* Every prefix of a full line: accepted only once all four required fields are complete. */
static void test_report_every_cut(void **state)
{
    (void)state;
    const char *full = "REPORT RequestId: " ID "\tDuration: 15.74 ms\tBilled Duration: 16 ms\t"
                       "Memory Size: 128 MB\tMax Memory Used: 56 MB\tInit Duration: 130.49 ms\t"
                       "Status: error\tError Type: Runtime.OutOfMemory";
    size_t n = strlen(full);
    size_t complete = (size_t)(strstr(full, "56 MB") - full) + 5;
    for (size_t k = 0; k <= n; k++) {
        char *copy = malloc(k ? k : 1);
        assert_non_null(copy);
        memcpy(copy, full, k);
        struct pt_logs_report r;
        int rc = pt_logs_scan_report(copy, k, &r);
        free(copy);
        if (k < complete && rc == 0)
            fail_msg("a line cut at %zu bytes was accepted", k);
    }
}

static void test_parse_time(void **state)
{
    (void)state;
    int64_t t;
    const int64_t want = 1795302900123LL * 100; /* 2026-11-21T23:15:00.123Z in 10 us ticks */
#define T(s) pt_logs_parse_time(s, strlen(s), &t)
    assert_int_equal(T("2026-11-21T23:15:00.123Z"), 0);
    assert_int_equal(t, want);
    assert_int_equal(T("2026-11-21T23:15:00.123000+00:00"), 0);
    assert_int_equal(t, want);
    assert_int_equal(T("2026-11-22T00:45:00.123+01:30"), 0);
    assert_int_equal(t, want);
    assert_int_equal(T("2026-11-21T18:15:00.123-0500"), 0);
    assert_int_equal(t, want);
    assert_int_equal(T("2026-11-21T23:15:00Z"), 0);
    assert_int_equal(t, want - 12300);
    /* `aws logs tail --format short`: UTC, to the second, without a zone. */
    assert_int_equal(T("2026-11-21T23:15:00"), 0);
    assert_int_equal(t, want - 12300);
    assert_int_equal(T("2026-11-21 23:15:00.12345Z"), 0);
    assert_int_equal(t, want + 45);
    assert_int_equal(T("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(t, 0);
    assert_int_equal(T("2024-02-29T00:00:00Z"), 0);
    assert_int_equal(t, 1709164800LL * 100000);
    static const char *const bad[] = {
        "2026-11-21T23:15:00.123",   /* no zone */
        "2026-11-21 23:15:00",       /* no zone, not aws logs tail's */
        "2026-11-21T23:15:0",
        "2026-13-21T23:15:00.123Z",  /* month */
        "2026-11-21T24:15:00.123Z",  /* hour */
        "2026-11-21T23:15:00.Z",     /* empty fraction */
        "2026-11-21T23:15:00.123Zx", /* trailing */
        "1969-12-31T23:59:59Z",      /* before 1970 */
        "2300-01-01T00:00:00Z",      /* after 2199 */
        "2026/11/21T23:15:00Z",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (T(bad[i]) == 0)
            fail_msg("accepted \"%s\"", bad[i]);
#undef T
}

/* The cold-start article's 3008 MB row: mean 184, median 183, max 204, min 169, variance 122. */
static void test_stats_article_vector(void **state)
{
    (void)state;
    double v[] = {182, 169, 190, 204, 175, 181, 184, 191, 194, 170};
    struct pt_logs_stats st;
    pt_logs_stats_compute(v, 10, &st);
    assert_int_equal(st.n, 10);
    assert_float_equal(st.mean, 184.0, 1e-9);
    assert_float_equal(st.median, 183.0, 1e-9);
    assert_float_equal(st.max, 204.0, 1e-9);
    assert_float_equal(st.min, 169.0, 1e-9);
    assert_float_equal(st.variance, 1100.0 / 9.0, 1e-9);
    assert_int_equal((int)lround(st.variance), 122);

    double one[] = {42};
    pt_logs_stats_compute(one, 1, &st);
    assert_float_equal(st.median, 42, 1e-9);
    assert_true(isnan(st.variance));
    pt_logs_stats_compute(NULL, 0, &st);
    assert_int_equal(st.n, 0);
    assert_true(isnan(st.mean));
}

static void test_price(void **state)
{
    (void)state;
    double g, r;
    struct pt_error err = {0};
    assert_int_equal(pt_logs_price("us-east-1", "x86_64", &g, &r, &err), 0);
    assert_float_equal(g, 0.0000166667, 1e-12);
    assert_float_equal(r, 0.20, 1e-12);
    assert_int_equal(pt_logs_price("eu-west-1", "arm64", &g, &r, &err), 0);
    assert_float_equal(g, 0.0000133334, 1e-12);
    /* The same table as tune's exact pricing: regions priced there are priced here. */
    assert_int_equal(pt_logs_price("sa-east-1", "x86_64", &g, &r, &err), 0);
    assert_float_equal(g, 0.0000166667, 1e-12);
    assert_int_equal(pt_logs_price("af-south-1", "arm64", &g, &r, &err), 0);
    assert_float_equal(g, 0.00001768, 1e-12);
    assert_int_equal(pt_logs_price("mars-north-1", "x86_64", &g, &r, &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "--region \"mars-north-1\""));
    assert_non_null(strstr(err.msg, "--price-gb-s"));
    assert_int_equal(pt_logs_price("us-east-1", "sparc", &g, &r, &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "--architecture"));
}

static int parse(const char *const *args, struct pt_logs_cli *cli, struct pt_error *err)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"logs";
    for (; *args; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    memset(err, 0, sizeof(*err));
    return pt_logs_cli_parse(argc, argv, cli, err);
}

static void test_cli_good(void **state)
{
    (void)state;
    struct pt_logs_cli cli;
    struct pt_error err;
    const char *a[] = {"--json", "--quota", "500", "--reserved", "50", "--minutes", "3",
                       "--region", "eu-west-1", "--architecture", "arm64", "--threads", "2",
                       "--report", "/tmp/x.html", "a.log", "-", NULL};
    assert_int_equal(parse(a, &cli, &err), 0);
    assert_true(cli.json);
    assert_int_equal(cli.opt.quota, 500);
    assert_int_equal(cli.opt.reserved, 50);
    assert_int_equal(cli.opt.minutes_before, 3);
    assert_string_equal(cli.opt.region, "eu-west-1");
    assert_string_equal(cli.opt.architecture, "arm64");
    assert_int_equal(cli.opt.threads, 2);
    assert_string_equal(cli.report_html, "/tmp/x.html");
    assert_int_equal(cli.npaths, 2);
    assert_string_equal(cli.paths[0], "a.log");
    assert_string_equal(cli.paths[1], "-");
    pt_logs_cli_free(&cli);

    /* An unknown region is fine when both prices are given. */
    const char *b[] = {"--region", "xx-test-9", "--price-gb-s", "0.00002", "--price-requests",
                       "0.25", "f.log", NULL};
    assert_int_equal(parse(b, &cli, &err), 0);
    pt_logs_cli_free(&cli);
    const char *h[] = {"--help", NULL};
    assert_int_equal(parse(h, &cli, &err), 0);
    assert_true(cli.help);
    pt_logs_cli_free(&cli);
}

static void test_cli_bad(void **state)
{
    (void)state;
    static const struct {
        const char *args[6];
        const char *names;
    } cases[] = {
        {{"--quota", "abc", "f.log"}, "--quota \"abc\""},
        {{"--quota", "0", "f.log"}, "--quota \"0\""},
        {{"--reserved", "-1", "f.log"}, "--reserved"},
        {{"--quota", "1000", "--reserved", "901", "f.log"}, "allowed 0 to 900"},
        {{"--quota", "50", "--reserved", "1", "f.log"}, "allowed 0 to 0"},
        {{"--minutes", "99999", "f.log"}, "--minutes"},
        {{"--threads", "99", "f.log"}, "--threads \"99\""},
        {{"--region", "mars-north-1", "f.log"}, "--region \"mars-north-1\""},
        {{"--architecture", "sparc", "f.log"}, "--architecture \"sparc\""},
        {{"--price-gb-s", "free", "f.log"}, "--price-gb-s"},
        {{"--max-line", "10", "f.log"}, "--max-line"},
        {{"--bogus", "f.log"}, "--bogus"},
        {{"f.log", "--report"}, "--report"},
        {{"--json"}, "missing FILE"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pt_logs_cli cli;
        struct pt_error err;
        int rc = parse(cases[i].args, &cli, &err);
        if (rc != PT_EUSAGE)
            fail_msg("case %zu: rc %d, want PT_EUSAGE", i, rc);
        if (!strstr(err.msg, cases[i].names))
            fail_msg("case %zu: \"%s\" does not name %s", i, err.msg, cases[i].names);
    }
}

/* The real binary exits 2 on a bad option, naming it (skipped when it is not built). */
/*
 * Regression (fuzz_logs_cli): an unknown letter in "-xq" stops the parse with getopt still
 * inside that argument; resetting with optind = 1 kept that position, so the next call read on
 * from the old string and refused a good command line.
 */
static void test_cli_after_short_option_cluster(void **state)
{
    (void)state;
    struct pt_logs_cli cli;
    struct pt_error err;
    const char *bad[] = {"--json", "-xq", "f.log", NULL};
    assert_int_equal(parse(bad, &cli, &err), PT_EUSAGE);
    /* The refused letter, not the argument before its cluster. */
    assert_non_null(strstr(err.msg, "unknown option \"-x\""));
    const char *no_value[] = {"f.log", "--quota", NULL};
    assert_int_equal(parse(no_value, &cli, &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "option \"--quota\" needs a value"));
    const char *good[] = {"--json", "g.log", NULL};
    assert_int_equal(parse(good, &cli, &err), 0);
    assert_true(cli.json);
    assert_int_equal(cli.npaths, 1);
    assert_string_equal(cli.paths[0], "g.log");
    pt_logs_cli_free(&cli);
}

static void test_cli_exit_code(void **state)
{
    (void)state;
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    /* <build>/tests/unit/test_logs_scan -> <build>/powertune */
    for (int up = 0; up < 3; up++) {
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
    }
    char bin[4200], cmd[8600];
    snprintf(bin, sizeof(bin), "%s/powertune", exe);
    struct stat st;
    if (stat(bin, &st) != 0) {
        skip();
        return;
    }
    snprintf(cmd, sizeof(cmd), "'%s' logs --quota lots /dev/null 2>&1", bin);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char out[1024] = "";
    size_t got = fread(out, 1, sizeof(out) - 1, p);
    out[got] = '\0';
    int status = pclose(p);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 2);
    assert_non_null(strstr(out, "--quota \"lots\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_canonical),
        cmocka_unit_test(test_report_variants),
        cmocka_unit_test(test_report_rejects),
        cmocka_unit_test(test_report_space_after_fast_fields),
        cmocka_unit_test(test_report_every_cut),
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_stats_article_vector),
        cmocka_unit_test(test_price),
        cmocka_unit_test(test_cli_good),
        cmocka_unit_test(test_cli_bad),
        cmocka_unit_test(test_cli_after_short_option_cluster),
        cmocka_unit_test(test_cli_exit_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
