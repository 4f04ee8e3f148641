/* Unit tests for src/engine/report.c: Lambda's platform lines, billing, error texts, parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/str.h"
#include "engine/report.h"

#define ID "8f507cfc-xmpl-4697-b07a-ac58fc914c95"

static struct pt_report make_report(double duration, unsigned long long billed, int mem,
                                    int used, double init)
{
    struct pt_report r;
    memset(&r, 0, sizeof(r));
    strcpy(r.request_id, ID);
    r.duration_ms = duration;
    r.billed_ms = billed;
    r.memory_mb = mem;
    r.max_memory_used_mb = used;
    r.init_duration_ms = init;
    return r;
}

/* Formats r and checks the exact bytes and the returned length. */
static void expect_report_line(const struct pt_report *r, const char *want)
{
    char buf[512];
    size_t n = pt_format_report_line(buf, sizeof(buf), r);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
}

static void test_start_end_lines(void **state)
{
    (void)state;
    char buf[256];
    size_t n = pt_format_start_line(buf, sizeof(buf), ID, "$LATEST");
    assert_string_equal(buf, "START RequestId: " ID " Version: $LATEST\n");
    assert_int_equal(n, strlen(buf));
    pt_format_start_line(buf, sizeof(buf), ID, "7");
    assert_string_equal(buf, "START RequestId: " ID " Version: 7\n");
    pt_format_start_line(buf, sizeof(buf), ID, NULL);
    assert_string_equal(buf, "START RequestId: " ID " Version: $LATEST\n");
    n = pt_format_end_line(buf, sizeof(buf), ID);
    assert_string_equal(buf, "END RequestId: " ID "\n");
    assert_int_equal(n, strlen(buf));
}

static void test_report_warm(void **state)
{
    (void)state;
    struct pt_report r = make_report(15.74, 16, 128, 56, -1);
    expect_report_line(&r, "REPORT RequestId: " ID "\tDuration: 15.74 ms\tBilled Duration: 16 ms\t"
                           "Memory Size: 128 MB\tMax Memory Used: 56 MB\t\n");
}

static void test_report_cold(void **state)
{
    (void)state;
    struct pt_report r = make_report(15.74, 16, 128, 56, 130.49);
    expect_report_line(&r, "REPORT RequestId: " ID "\tDuration: 15.74 ms\tBilled Duration: 16 ms\t"
                           "Memory Size: 128 MB\tMax Memory Used: 56 MB\tInit Duration: 130.49 ms\t\n");
    /* An init of exactly 0 is still a cold start. */
    r.init_duration_ms = 0;
    char buf[512];
    pt_format_report_line(buf, sizeof(buf), &r);
    assert_non_null(strstr(buf, "\tInit Duration: 0.00 ms\t\n"));
}

static void test_report_timeout(void **state)
{
    (void)state;
    struct pt_report r = make_report(3000.0, 3403, 128, 73, 402.04);
    r.status = PT_STATUS_TIMEOUT;
    expect_report_line(&r, "REPORT RequestId: " ID "\tDuration: 3000.00 ms\tBilled Duration: 3403 ms\t"
                           "Memory Size: 128 MB\tMax Memory Used: 73 MB\tInit Duration: 402.04 ms\t"
                           "Status: timeout\n");
    r.init_duration_ms = -1;
    r.billed_ms = 3000;
    expect_report_line(&r, "REPORT RequestId: " ID "\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\t"
                           "Memory Size: 128 MB\tMax Memory Used: 73 MB\tStatus: timeout\n");
}

static void test_report_oom(void **state)
{
    (void)state;
    struct pt_report r = make_report(376256.59, 376257, 10239, 10239, 551.73);
    r.status = PT_STATUS_ERROR;
    strcpy(r.error_type, "Runtime.OutOfMemory");
    expect_report_line(&r, "REPORT RequestId: " ID "\tDuration: 376256.59 ms\tBilled Duration: 376257 ms\t"
                           "Memory Size: 10239 MB\tMax Memory Used: 10239 MB\tInit Duration: 551.73 ms\t"
                           "Status: error\tError Type: Runtime.OutOfMemory\n");
    r.error_type[0] = '\0';
    char buf[512];
    pt_format_report_line(buf, sizeof(buf), &r);
    assert_non_null(strstr(buf, "\tStatus: error\tError Type: Runtime.Unknown\n"));
    /* A full, unterminated error_type is printed up to its array size, no further. */
    memset(r.error_type, 'e', sizeof(r.error_type));
    memcpy(r.error_type, "Runtime.E", 9);
    pt_format_report_line(buf, sizeof(buf), &r);
    const char *t = strstr(buf, "Error Type: ");
    assert_non_null(t);
    assert_int_equal(strlen(t + strlen("Error Type: ")), sizeof(r.error_type) + 1);
}

/* A runtime's error type reaches platform lines only in Lambda's form: nothing it posts (a
 * newline and a forged REPORT line) can split or add a line. */
static void test_report_error_type_validated(void **state)
{
    (void)state;
    static const struct {
        const char *given, *printed;
    } cases[] = {
        {"Runtime.ImportModuleError", "Runtime.ImportModuleError"},
        {"Function.ResponseSizeTooLarge", "Function.ResponseSizeTooLarge"},
        {"Boom\nREPORT RequestId: forged\tDuration: 1.00 ms", "Runtime.Unknown"},
        {"Runtime.Bad\nREPORT", "Runtime.Unknown"},
        {"Function.x", "Function.Unknown"},
        {"Function.Bad Type", "Function.Unknown"},
        {"ValueError", "Runtime.Unknown"},
        {"Runtime.X", "Runtime.Unknown"},
        {"Runtime.", "Runtime.Unknown"},
    };
    struct pt_report r = make_report(1.0, 1, 128, 10, -1);
    r.status = PT_STATUS_ERROR;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pt_strlcpy(r.error_type, cases[i].given, sizeof(r.error_type));
        char buf[512], want[160];
        pt_format_report_line(buf, sizeof(buf), &r);
        snprintf(want, sizeof(want), "\tStatus: error\tError Type: %s\n", cases[i].printed);
        assert_non_null(strstr(buf, want));
        assert_ptr_equal(strchr(buf, '\n'), buf + strlen(buf) - 1);
        pt_format_init_report_line(buf, sizeof(buf), 5.0, "init", PT_STATUS_ERROR, cases[i].given);
        assert_non_null(strstr(buf, want));
        assert_ptr_equal(strchr(buf, '\n'), buf + strlen(buf) - 1);
    }
}

static void test_report_truncation(void **state)
{
    (void)state;
    struct pt_report r = make_report(15.74, 16, 128, 56, 130.49);
    char full[512], small[20];
    size_t n = pt_format_report_line(full, sizeof(full), &r);
    memset(small, 'X', sizeof(small));
    assert_int_equal(pt_format_report_line(small, sizeof(small), &r), n);
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_memory_equal(small, full, sizeof(small) - 1);
    assert_int_equal(pt_format_report_line(NULL, 0, &r), n);
    assert_int_equal(pt_format_start_line(NULL, 0, ID, "$LATEST"), strlen("START RequestId: " ID " Version: $LATEST\n"));
    /* Truncation inside a later piece. */
    char mid[100];
    assert_int_equal(pt_format_report_line(mid, sizeof(mid), &r), n);
    assert_memory_equal(mid, full, sizeof(mid) - 1);
    assert_int_equal(mid[sizeof(mid) - 1], '\0');
}

static void test_init_report_lines(void **state)
{
    (void)state;
    char buf[256];
    size_t n = pt_format_init_report_line(buf, sizeof(buf), 10009.13, "init", PT_STATUS_TIMEOUT, NULL);
    assert_string_equal(buf, "INIT_REPORT Init Duration: 10009.13 ms\tPhase: init\tStatus: timeout\n");
    assert_int_equal(n, strlen(buf));
    pt_format_init_report_line(buf, sizeof(buf), 206.72, "init", PT_STATUS_ERROR, "Runtime.ExitError");
    assert_string_equal(buf, "INIT_REPORT Init Duration: 206.72 ms\tPhase: init\tStatus: error\t"
                             "Error Type: Runtime.ExitError\n");
    pt_format_init_report_line(buf, sizeof(buf), 1666.62, "invoke", PT_STATUS_ERROR, "Runtime.ExitError");
    assert_string_equal(buf, "INIT_REPORT Init Duration: 1666.62 ms\tPhase: invoke\tStatus: error\t"
                             "Error Type: Runtime.ExitError\n");
    pt_format_init_report_line(buf, sizeof(buf), 173.78, "init", PT_STATUS_SUCCESS, NULL);
    assert_string_equal(buf, "INIT_REPORT Init Duration: 173.78 ms\tPhase: init\t\n");
}

static void test_billed_duration(void **state)
{
    (void)state;
    /* 2025 mode: INIT billed for everyone. */
    assert_int_equal(pt_billed_duration_ms(3000.00, 402.04, PT_BILLING_2025, false), 3403);
    assert_int_equal(pt_billed_duration_ms(3000.00, 402.04, PT_BILLING_2025, true), 3403);
    /* Legacy: INIT billed only for custom runtimes. */
    assert_int_equal(pt_billed_duration_ms(3000.00, 402.04, PT_BILLING_LEGACY, false), 3000);
    assert_int_equal(pt_billed_duration_ms(3000.00, 402.04, PT_BILLING_LEGACY, true), 3403);
    /* Warm starts: just ceil(duration). */
    assert_int_equal(pt_billed_duration_ms(15.74, -1, PT_BILLING_2025, false), 16);
    assert_int_equal(pt_billed_duration_ms(15.74, -1, PT_BILLING_LEGACY, true), 16);
    assert_int_equal(pt_billed_duration_ms(1.0, -1, PT_BILLING_2025, false), 1);
    assert_int_equal(pt_billed_duration_ms(0.001, -1, PT_BILLING_2025, false), 1);
    assert_int_equal(pt_billed_duration_ms(1687.96, -1, PT_BILLING_2025, true), 1688);
    assert_int_equal(pt_billed_duration_ms(376256.59, -1, PT_BILLING_2025, false), 376257);
    assert_int_equal(pt_billed_duration_ms(26.73, -1, PT_BILLING_2025, false), 27);
    /* Sums that are whole in decimal stay whole (no floating-point spill to the next ms). */
    assert_int_equal(pt_billed_duration_ms(100.10, 0.90, PT_BILLING_2025, false), 101);
    assert_int_equal(pt_billed_duration_ms(0.1, 0.2, PT_BILLING_2025, false), 1);
    assert_int_equal(pt_billed_duration_ms(2.0, 0.0, PT_BILLING_2025, false), 2);
    /* Lambda bills at least 1 ms. */
    assert_int_equal(pt_billed_duration_ms(0.0, -1, PT_BILLING_2025, false), 1);
    assert_int_equal(pt_billed_duration_ms(-5.0, -1, PT_BILLING_2025, false), 1);
}

static void test_timeout_message(void **state)
{
    (void)state;
    char buf[256];
    size_t n = pt_format_timeout_message(buf, sizeof(buf), ID, 3);
    assert_string_equal(buf, "RequestId: " ID " Error: Task timed out after 3.00 seconds");
    assert_int_equal(n, strlen(buf));
    pt_format_timeout_message(buf, sizeof(buf), ID, 900);
    assert_string_equal(buf, "RequestId: " ID " Error: Task timed out after 900.00 seconds");
    pt_format_timeout_message(buf, sizeof(buf), "", 1);
    assert_string_equal(buf, "Error: Task timed out after 1.00 seconds");
}

/* A real wait status: fork a child that does `how` and reap it. */
enum child_end { END_EXIT, END_SIGNAL };

static int wait_status_of(enum child_end how, int value)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (how == END_EXIT)
            _exit(value);
        /* Deterministic: no core file suffix, and no sanitizer handler in the way. */
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        signal(value, SIG_DFL);
        raise(value);
        _exit(99);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void expect_exit_message(int status, const char *want)
{
    char buf[256];
    size_t n = pt_format_exit_message(buf, sizeof(buf), ID, status);
    char full[256];
    snprintf(full, sizeof(full), "RequestId: " ID " Error: %s", want);
    assert_string_equal(buf, full);
    assert_int_equal(n, strlen(full));
    /* INIT has no request: the prefix is left out. */
    pt_format_exit_message(buf, sizeof(buf), NULL, status);
    assert_string_equal(buf, full + strlen("RequestId: " ID " "));
    pt_format_exit_message(buf, sizeof(buf), "", status);
    assert_string_equal(buf, full + strlen("RequestId: " ID " "));
}

static void test_exit_messages(void **state)
{
    (void)state;
    expect_exit_message(wait_status_of(END_EXIT, 1), "Runtime exited with error: exit status 1");
    expect_exit_message(wait_status_of(END_EXIT, 255), "Runtime exited with error: exit status 255");
    expect_exit_message(wait_status_of(END_EXIT, 0), "Runtime exited without providing a reason");
    expect_exit_message(wait_status_of(END_SIGNAL, SIGKILL), "Runtime exited with error: signal: killed");
    expect_exit_message(wait_status_of(END_SIGNAL, SIGSEGV),
                        "Runtime exited with error: signal: segmentation fault");
    expect_exit_message(wait_status_of(END_SIGNAL, SIGABRT), "Runtime exited with error: signal: aborted");
    expect_exit_message(wait_status_of(END_SIGNAL, SIGBUS), "Runtime exited with error: signal: bus error");
    expect_exit_message(wait_status_of(END_SIGNAL, SIGTERM), "Runtime exited with error: signal: terminated");
    /* Outside Go's table, Go prints "signal N". */
    char rt[64];
    snprintf(rt, sizeof(rt), "Runtime exited with error: signal: signal %d", SIGRTMIN + 2);
    expect_exit_message(wait_status_of(END_SIGNAL, SIGRTMIN + 2), rt);
}

static void test_exit_message_truncates(void **state)
{
    (void)state;
    char small[10];
    int status = wait_status_of(END_EXIT, 1);
    size_t want = strlen("RequestId: " ID " Error: Runtime exited with error: exit status 1");
    assert_int_equal(pt_format_exit_message(small, sizeof(small), ID, status), want);
    assert_string_equal(small, "RequestId");
}

static void test_entrypoint_messages(void **state)
{
    (void)state;
    char buf[256];
    size_t n = pt_format_entrypoint_message(buf, sizeof(buf), ID, "/var/task/bootstrap", ENOEXEC);
    assert_string_equal(buf, "RequestId: " ID " Error: fork/exec /var/task/bootstrap: exec format error");
    assert_int_equal(n, strlen(buf));
    pt_format_entrypoint_message(buf, sizeof(buf), ID, "/var/task/bootstrap", EACCES);
    assert_string_equal(buf, "RequestId: " ID " Error: fork/exec /var/task/bootstrap: permission denied");
    pt_format_entrypoint_message(buf, sizeof(buf), NULL, "/var/task/bootstrap", ENOENT);
    assert_string_equal(buf, "Error: fork/exec /var/task/bootstrap: no such file or directory");
}

static void expect_payload(const char *type, const char *msg, const char *want)
{
    char *json = pt_error_payload_json(type, msg);
    assert_non_null(json);
    assert_string_equal(json, want);
    free(json);
}

static void test_error_payload_json(void **state)
{
    (void)state;
    expect_payload("Sandbox.Timedout", "RequestId: " ID " Error: Task timed out after 1.00 seconds",
                   "{\"errorType\":\"Sandbox.Timedout\",\"errorMessage\":\"RequestId: " ID
                   " Error: Task timed out after 1.00 seconds\"}");
    expect_payload("A\"B", "say \"hi\"\\now",
                   "{\"errorType\":\"A\\\"B\",\"errorMessage\":\"say \\\"hi\\\"\\\\now\"}");
    expect_payload("T", "line1\nline2\r\ttab", "{\"errorType\":\"T\",\"errorMessage\":\"line1\\nline2\\r\\ttab\"}");
    expect_payload("T", "\x01\x1f\x7f", "{\"errorType\":\"T\",\"errorMessage\":\"\\u0001\\u001F\x7f\"}");
    /* UTF-8 passes through unchanged. */
    expect_payload("T", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                   "{\"errorType\":\"T\",\"errorMessage\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}");
    /* Invalid UTF-8 (stray byte, truncated sequence, overlong, surrogate) becomes U+FFFD. */
    expect_payload("T", "a\xff" "b\xc3", "{\"errorType\":\"T\",\"errorMessage\":\"a\xef\xbf\xbd" "b\xef\xbf\xbd\"}");
    expect_payload("T\xc0\xaf", "\xed\xa0\x80",
                   "{\"errorType\":\"T\xef\xbf\xbd\xef\xbf\xbd\",\"errorMessage\":\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"}");
    expect_payload(NULL, NULL, "{\"errorType\":\"\",\"errorMessage\":\"\"}");
    expect_payload("", "", "{\"errorType\":\"\",\"errorMessage\":\"\"}");
}

/* Parses a copy of exactly len bytes (no terminator) so any overread shows under ASan. */
static int parse_exact(const char *line, size_t len, struct pt_report *out)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, line, len);
    int rc = pt_report_parse(copy, len, out);
    free(copy);
    return rc;
}

static int parse_str(const char *line, struct pt_report *out)
{
    return parse_exact(line, strlen(line), out);
}

static void assert_reports_equal(const struct pt_report *a, const struct pt_report *b)
{
    assert_string_equal(a->request_id, b->request_id);
    assert_true(a->duration_ms == b->duration_ms);
    assert_int_equal(a->billed_ms, b->billed_ms);
    assert_int_equal(a->memory_mb, b->memory_mb);
    assert_int_equal(a->max_memory_used_mb, b->max_memory_used_mb);
    assert_true(a->init_duration_ms == b->init_duration_ms);
    assert_int_equal(a->status, b->status);
    assert_string_equal(a->error_type, b->error_type);
}

static void test_parse_round_trips(void **state)
{
    (void)state;
    struct pt_report cases[4];
    cases[0] = make_report(15.74, 16, 128, 56, -1);
    cases[1] = make_report(15.74, 146, 128, 56, 130.49);
    cases[2] = make_report(3000.00, 3403, 128, 73, 402.04);
    cases[2].status = PT_STATUS_TIMEOUT;
    cases[3] = make_report(376256.59, 376257, 10239, 10239, 551.73);
    cases[3].status = PT_STATUS_ERROR;
    strcpy(cases[3].error_type, "Runtime.OutOfMemory");
    for (size_t i = 0; i < 4; i++) {
        char line[512];
        size_t n = pt_format_report_line(line, sizeof(line), &cases[i]);
        struct pt_report back;
        memset(&back, 0x5a, sizeof(back));
        assert_int_equal(parse_exact(line, n, &back), 0);
        assert_reports_equal(&back, &cases[i]);
        /* Without the newline, and without newline and trailing TAB. */
        assert_int_equal(parse_exact(line, n - 1, &back), 0);
        assert_reports_equal(&back, &cases[i]);
        if (line[n - 2] == '\t') {
            assert_int_equal(parse_exact(line, n - 2, &back), 0);
            assert_reports_equal(&back, &cases[i]);
        }
    }
}

static void test_parse_best_practices_100ms_line(void **state)
{
    (void)state;
    struct pt_report r;
    assert_int_equal(parse_str("REPORT RequestId: 3604209a-e9a3-11e6-939a-754dd98c7be3\tDuration: 12.34 ms\t"
                               "Billed Duration: 100 ms Memory Size: 128 MB\tMax Memory Used: 18 MB",
                               &r),
                     0);
    assert_string_equal(r.request_id, "3604209a-e9a3-11e6-939a-754dd98c7be3");
    assert_true(r.duration_ms == 12.34);
    assert_int_equal(r.billed_ms, 100);
    assert_int_equal(r.memory_mb, 128);
    assert_int_equal(r.max_memory_used_mb, 18);
    assert_true(r.init_duration_ms < 0);
    assert_int_equal(r.status, PT_STATUS_SUCCESS);

    /* As printed in the reference, with the id elided. */
    assert_int_equal(parse_str("REPORT RequestId: 3604209a-...\tDuration: 12.34 ms\tBilled Duration: 100 ms "
                               "Memory Size: 128 MB\tMax Memory Used: 18 MB",
                               &r),
                     0);
    assert_string_equal(r.request_id, "3604209a-...");
    assert_int_equal(r.billed_ms, 100);

    /* 2017 capture: every separator a space. */
    assert_int_equal(parse_str("REPORT RequestId: abc Duration: 99.90 ms Billed Duration: 100 ms "
                               "Memory Size: 128 MB Max Memory Used: 20 MB\n",
                               &r),
                     0);
    assert_true(r.duration_ms == 99.90);
    assert_int_equal(r.max_memory_used_mb, 20);
}

static void test_parse_logs_api_sample(void **state)
{
    (void)state;
    struct pt_report r;
    assert_int_equal(parse_str("REPORT RequestId: 4ce9340a-b765-490f-ad8a-02ab3415e2bf\tDuration: 26.73 ms\t"
                               "Billed Duration: 27 ms \tMemory Size: 128 MB\tMax Memory Used: 75 MB\t\n",
                               &r),
                     0);
    assert_string_equal(r.request_id, "4ce9340a-b765-490f-ad8a-02ab3415e2bf");
    assert_true(r.duration_ms == 26.73);
    assert_int_equal(r.billed_ms, 27);
    assert_int_equal(r.memory_mb, 128);
    assert_int_equal(r.max_memory_used_mb, 75);
    assert_true(r.init_duration_ms < 0);
}

static void test_parse_power_tuning_line(void **state)
{
    (void)state;
    struct pt_report r;
    assert_int_equal(parse_str("REPORT RequestId: \xe2\x80\xa6\tDuration: 469.40 ms\tBilled Duration: 500 ms\t"
                               "Memory Size: 1024 MB\tMax Memory Used: 21 MB\tInit Duration: 100.99 ms",
                               &r),
                     0);
    assert_string_equal(r.request_id, "\xe2\x80\xa6");
    assert_true(r.duration_ms == 469.40);
    assert_int_equal(r.billed_ms, 500);
    assert_int_equal(r.memory_mb, 1024);
    assert_int_equal(r.max_memory_used_mb, 21);
    assert_true(r.init_duration_ms == 100.99);
    assert_int_equal(r.status, PT_STATUS_SUCCESS);
}

static void test_parse_real_status_lines(void **state)
{
    (void)state;
    struct pt_report r;
    assert_int_equal(parse_str("REPORT RequestId: 2b68\tDuration: 3000.00 ms\tBilled Duration: 3403 ms\t"
                               "Memory Size: 128 MB\tMax Memory Used: 73 MB\tInit Duration: 402.04 ms\t"
                               "Status: timeout",
                               &r),
                     0);
    assert_int_equal(r.status, PT_STATUS_TIMEOUT);
    assert_true(r.init_duration_ms == 402.04);
    assert_string_equal(r.error_type, "");
    assert_int_equal(parse_str("REPORT RequestId: 806a\tDuration: 376256.59 ms\tBilled Duration: 376257 ms\t"
                               "Memory Size: 10239 MB\tMax Memory Used: 10239 MB\tInit Duration: 551.73 ms\t"
                               "Status: error\tError Type: Runtime.OutOfMemory\r\n",
                               &r),
                     0);
    assert_int_equal(r.status, PT_STATUS_ERROR);
    assert_string_equal(r.error_type, "Runtime.OutOfMemory");
    assert_int_equal(r.memory_mb, 10239);
    /* Crash capture (cargo-lambda #572): no trailing TAB. */
    assert_int_equal(parse_str("REPORT RequestId: 123\tDuration: 1687.96 ms\tBilled Duration: 1688 ms\t"
                               "Memory Size: 128 MB\tMax Memory Used: 16 MB",
                               &r),
                     0);
    assert_int_equal(r.billed_ms, 1688);
}

static void test_parse_skips_unknown_fields(void **state)
{
    (void)state;
    struct pt_report r;
    /* SnapStart's restore fields and a same-line XRAY trace are not ours to read. */
    assert_int_equal(parse_str("REPORT RequestId: abc\tDuration: 5.00 ms\tBilled Duration: 309 ms\t"
                               "Memory Size: 512 MB\tMax Memory Used: 155 MB\tRestore Duration: 511.25 ms\t"
                               "Billed Restore Duration: 303 ms\tXRAY TraceId: 1-5e34a614-10bdxmplf1fb44f07bc535a1\t"
                               "SegmentId: 07f5xmpl2d1f6f85\tSampled: true\t\n",
                               &r),
                     0);
    assert_true(r.duration_ms == 5.0);
    assert_int_equal(r.billed_ms, 309);
    assert_int_equal(r.max_memory_used_mb, 155);
    assert_true(r.init_duration_ms < 0);
}

static void test_parse_garbage(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "REPORT",
        "REPORT RequestId: ",
        "REPORT RequestId: \tDuration: 1.00 ms",
        "START RequestId: abc Version: $LATEST",
        "report RequestId: abc\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 1 MB",
        /* missing required fields */
        "REPORT RequestId: abc\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB",
        "REPORT RequestId: abc\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 1 MB",
        /* malformed numbers and units */
        "REPORT RequestId: abc\tDuration: x ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 1 MB",
        "REPORT RequestId: abc\tDuration: 1. ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 1 MB",
        "REPORT RequestId: abc\tDuration: 1.00 s\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 1 MB",
        "REPORT RequestId: abc\tDuration: 1.00 msX\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 1 MB",
        "REPORT RequestId: abc\tDuration: 1.00 ms\tBilled Duration: 1.5 ms\tMemory Size: 128 MB\tMax Memory Used: 1 MB",
        "REPORT RequestId: abc\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 99999999999 MB\tMax Memory Used: 1 MB",
        "REPORT RequestId: abc\tDuration: 1.00 ms\tBilled Duration: 99999999999999999999999 ms\tMemory Size: 1 MB\tMax Memory Used: 1 MB",
        "REPORT RequestId: abc\tDuration: -1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 1 MB",
        "REPORT RequestId: abc\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 1 MB\tStatus: weird",
        "REPORT RequestId: abc\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 1 MB\tjunk",
        "REPORT RequestId: abc\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 1 MB\t: x",
        "REPORT RequestId: 0123456789012345678901234567890123456789\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 1 MB",
        "\x01\x02\xff\xfe garbage \t\t::: ms MB",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct pt_report r;
        memset(&r, 0x5a, sizeof(r));
        if (parse_str(bad[i], &r) != -1)
            fail_msg("parsed garbage #%zu: %s", i, bad[i]);
        /* out is untouched on failure */
        assert_int_equal((unsigned char)r.request_id[0], 0x5a);
    }
    struct pt_report r;
    assert_int_equal(pt_report_parse(NULL, 10, &r), -1);
    assert_int_equal(pt_report_parse("REPORT", 6, NULL), -1);
}

static void test_parse_every_truncation(void **state)
{
    (void)state;
    struct pt_report full = make_report(3000.0, 3403, 128, 73, 402.04);
    full.status = PT_STATUS_ERROR;
    strcpy(full.error_type, "Runtime.OutOfMemory");
    char line[512];
    size_t n = pt_format_report_line(line, sizeof(line), &full);
    /* Every prefix ending before "Max Memory Used: 73 MB" is complete lacks a required field. */
    const char *mmu = strstr(line, "Max Memory Used: 73 MB");
    size_t complete = (size_t)(mmu - line) + strlen("Max Memory Used: 73 MB");
    for (size_t len = 0; len <= n; len++) {
        struct pt_report r;
        int rc = parse_exact(line, len, &r);
        if (len < complete)
            assert_int_equal(rc, -1);
        else if (rc == 0)
            assert_string_equal(r.request_id, ID);
    }
    /* Cut inside a decimal, a unit or a field name: refused, not half-read. */
    struct pt_report r;
    const char *cut = strstr(line, "Init Duration: 402.0");
    assert_int_equal(parse_exact(line, (size_t)(cut - line) + strlen("Init Duration: 402.0"), &r), -1);
    assert_int_equal(parse_exact(line, (size_t)(cut - line) + strlen("Init Dur"), &r), -1);
    assert_int_equal(parse_exact(line, (size_t)(cut - line) + strlen("Init Duration: 402.04 m"), &r), -1);
    assert_int_equal(parse_exact(line, n, &r), 0);
}

static void test_parse_stops_at_newline(void **state)
{
    (void)state;
    struct pt_report r;
    const char *two = "REPORT RequestId: a\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\t"
                      "Max Memory Used: 9 MB\t\nXRAY TraceId: 1-abc\tSegmentId: x\tSampled: true\n";
    assert_int_equal(parse_str(two, &r), 0);
    assert_int_equal(r.max_memory_used_mb, 9);
}

/* ---- JSON log format: the records of lambda-wire.md 4.2, byte for byte ---- */

#define T0 1716222585008LL /* 2024-05-20T16:29:45.008Z */
#define JID "4b142fc3-17b8-4cdb-a46b-a8dbe7918715"

static struct pt_platform_log json_log(enum pt_log_level system)
{
    struct pt_platform_log pl = {PT_LOG_FORMAT_JSON, system, T0};
    return pl;
}

static void test_json_start_and_report_as_captured(void **state)
{
    (void)state;
    char buf[1024];
    struct pt_platform_log pl = json_log(PT_LOG_LEVEL_UNSET);
    size_t n = pt_platform_start(buf, sizeof(buf), &pl, JID, "$LATEST");
    assert_string_equal(buf, "{\"time\":\"2024-05-20T16:29:45.008Z\",\"type\":\"platform.start\","
                             "\"record\":{\"requestId\":\"" JID "\",\"version\":\"$LATEST\"}}\n");
    assert_int_equal(n, strlen(buf));

    struct pt_report r = make_report(11.642, 12, 128, 67, 174.055);
    strcpy(r.request_id, JID);
    n = pt_platform_end(buf, sizeof(buf), &pl, &r, 40);
    /* INFO (the default) leaves runtimeDone out: it is a DEBUG record. */
    assert_string_equal(buf, "{\"time\":\"2024-05-20T16:29:45.008Z\",\"type\":\"platform.report\","
                             "\"record\":{\"requestId\":\"" JID "\",\"status\":\"success\","
                             "\"metrics\":{\"durationMs\":11.642,\"billedDurationMs\":12,"
                             "\"memorySizeMB\":128,\"maxMemoryUsedMB\":67,"
                             "\"initDurationMs\":174.055}}}\n");
    assert_int_equal(n, strlen(buf));
}

static void test_json_debug_adds_runtime_done(void **state)
{
    (void)state;
    char buf[1024];
    struct pt_platform_log pl = json_log(PT_LOG_LEVEL_DEBUG);
    struct pt_report r = make_report(11.185, 12, 128, 67, -1);
    strcpy(r.request_id, JID);
    pt_platform_end(buf, sizeof(buf), &pl, &r, 40);
    assert_string_equal(buf, "{\"time\":\"2024-05-20T16:29:45.008Z\",\"type\":\"platform.runtimeDone\","
                             "\"record\":{\"requestId\":\"" JID "\",\"status\":\"success\","
                             "\"metrics\":{\"durationMs\":11.185,\"producedBytes\":40}}}\n"
                             "{\"time\":\"2024-05-20T16:29:45.008Z\",\"type\":\"platform.report\","
                             "\"record\":{\"requestId\":\"" JID "\",\"status\":\"success\","
                             "\"metrics\":{\"durationMs\":11.185,\"billedDurationMs\":12,"
                             "\"memorySizeMB\":128,\"maxMemoryUsedMB\":67}}}\n");
}

/* The capture's runtimeDone, spans and all (its start times, its durations). */
static void test_json_runtime_done_spans_as_captured(void **state)
{
    (void)state;
    char buf[1024];
    struct pt_platform_log pl = json_log(PT_LOG_LEVEL_DEBUG);
    pl.epoch_ms = 1716222585019LL; /* 16:29:45.019Z */
    struct pt_report r = make_report(11.185, 12, 128, 67, -1);
    strcpy(r.request_id, JID);
    r.has_spans = true;
    r.response_latency = (struct pt_report_span){T0, 2.215};
    r.response_duration = (struct pt_report_span){T0 + 2, 0.056};
    r.runtime_overhead = (struct pt_report_span){T0 + 2, 8.686};
    pt_platform_end(buf, sizeof(buf), &pl, &r, 40);
    const char *want =
        "{\"time\":\"2024-05-20T16:29:45.019Z\",\"type\":\"platform.runtimeDone\",\"record\":"
        "{\"requestId\":\"" JID "\",\"status\":\"success\",\"spans\":[{\"name\":\"responseLatency\","
        "\"start\":\"2024-05-20T16:29:45.008Z\",\"durationMs\":2.215},{\"name\":\"responseDuration\","
        "\"start\":\"2024-05-20T16:29:45.010Z\",\"durationMs\":0.056},{\"name\":\"runtimeOverhead\","
        "\"start\":\"2024-05-20T16:29:45.010Z\",\"durationMs\":8.686}],\"metrics\":"
        "{\"durationMs\":11.185,\"producedBytes\":40}}}\n";
    assert_memory_equal(buf, want, strlen(want));
}

static void test_json_timeout_shape(void **state)
{
    (void)state;
    char buf[1024];
    struct pt_platform_log pl = json_log(PT_LOG_LEVEL_INFO);
    struct pt_report r = make_report(5000.0, 5000, 128, 94, -1);
    strcpy(r.request_id, "aec7");
    r.status = PT_STATUS_TIMEOUT;
    pt_platform_end(buf, sizeof(buf), &pl, &r, -1);
    assert_string_equal(buf, "{\"time\":\"2024-05-20T16:29:45.008Z\",\"type\":\"platform.report\","
                             "\"record\":{\"requestId\":\"aec7\",\"metrics\":{\"durationMs\":5000.0,"
                             "\"billedDurationMs\":5000,\"memorySizeMB\":128,\"maxMemoryUsedMB\":94},"
                             "\"status\":\"timeout\"}}\n");
}

static void test_json_error_type_and_escaping(void **state)
{
    (void)state;
    char buf[1024];
    struct pt_platform_log pl = json_log(PT_LOG_LEVEL_DEBUG);
    struct pt_report r = make_report(3.5, 4, 128, 128, -1);
    strcpy(r.request_id, "id");
    r.status = PT_STATUS_ERROR;
    /* A type not in Lambda's form (quote, backslash, newline, a byte that is not UTF-8) is
     * Runtime.Unknown, as in the text REPORT. */
    strcpy(r.error_type, "Bad\"Type\\\n\xff");
    pt_platform_end(buf, sizeof(buf), &pl, &r, -1);
    assert_non_null(strstr(buf, "\"status\":\"error\",\"errorType\":\"Runtime.Unknown\","
                                "\"metrics\":{\"durationMs\":3.5}}}\n"));
    strcpy(r.error_type, "Runtime.OutOfMemory");
    pt_platform_end(buf, sizeof(buf), &pl, &r, -1);
    assert_non_null(strstr(buf, "\"status\":\"error\",\"errorType\":\"Runtime.OutOfMemory\","));
    assert_non_null(strstr(buf, "\"maxMemoryUsedMB\":128},\"status\":\"error\",\"errorType\":"));
}

static void test_json_init_records(void **state)
{
    (void)state;
    char buf[1024];
    struct pt_platform_log pl = json_log(PT_LOG_LEVEL_DEBUG);
    size_t n = pt_platform_init_start(buf, sizeof(buf), &pl, "init", "fn-1", "$LATEST");
    assert_string_equal(buf, "{\"time\":\"2024-05-20T16:29:45.008Z\",\"type\":\"platform.initStart\","
                             "\"record\":{\"initializationType\":\"on-demand\",\"phase\":\"init\","
                             "\"functionName\":\"fn-1\",\"functionVersion\":\"$LATEST\"}}\n");
    assert_int_equal(n, strlen(buf));
    pt_platform_init_end(buf, sizeof(buf), &pl, 173.778, "init", PT_STATUS_SUCCESS, NULL);
    assert_string_equal(buf, "{\"time\":\"2024-05-20T16:29:45.008Z\",\"type\":\"platform.initRuntimeDone\","
                             "\"record\":{\"initializationType\":\"on-demand\",\"phase\":\"init\","
                             "\"status\":\"success\"}}\n"
                             "{\"time\":\"2024-05-20T16:29:45.008Z\",\"type\":\"platform.initReport\","
                             "\"record\":{\"initializationType\":\"on-demand\",\"phase\":\"init\","
                             "\"status\":\"success\",\"metrics\":{\"durationMs\":173.778}}}\n");
    pl.system_level = PT_LOG_LEVEL_INFO;
    pt_platform_init_end(buf, sizeof(buf), &pl, 1666.6204, "invoke", PT_STATUS_ERROR,
                         "Runtime.ExitError");
    assert_string_equal(buf, "{\"time\":\"2024-05-20T16:29:45.008Z\",\"type\":\"platform.initReport\","
                             "\"record\":{\"initializationType\":\"on-demand\",\"phase\":\"invoke\","
                             "\"status\":\"error\",\"errorType\":\"Runtime.ExitError\","
                             "\"metrics\":{\"durationMs\":1666.62}}}\n");
}

static void test_json_warn_and_text(void **state)
{
    (void)state;
    char buf[1024];
    struct pt_platform_log pl = json_log(PT_LOG_LEVEL_WARN);
    struct pt_report r = make_report(15.74, 16, 128, 56, 130.49);
    assert_int_equal(pt_platform_start(buf, sizeof(buf), &pl, ID, NULL), 0);
    assert_string_equal(buf, "");
    assert_int_equal(pt_platform_end(buf, sizeof(buf), &pl, &r, 1), 0);
    assert_int_equal(pt_platform_init_start(buf, sizeof(buf), &pl, "init", "f", NULL), 0);
    assert_int_equal(pt_platform_init_end(buf, sizeof(buf), &pl, 1, "init", PT_STATUS_TIMEOUT, NULL), 0);

    /* Text: the lines of old, the same bytes as the line formatters. */
    struct pt_platform_log text = {PT_LOG_FORMAT_TEXT, PT_LOG_LEVEL_UNSET, T0};
    char want[1024];
    size_t w = pt_format_end_line(want, sizeof(want), ID);
    pt_format_report_line(want + w, sizeof(want) - w, &r);
    size_t n = pt_platform_end(buf, sizeof(buf), &text, &r, 1);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
    pt_platform_start(buf, sizeof(buf), &text, ID, NULL);
    assert_string_equal(buf, "START RequestId: " ID " Version: $LATEST\n");
    assert_int_equal(pt_platform_init_start(buf, sizeof(buf), &text, "init", "f", NULL), 0);
    assert_int_equal(pt_platform_init_end(buf, sizeof(buf), &text, 1, "init", PT_STATUS_SUCCESS, NULL), 0);
    pt_platform_init_end(buf, sizeof(buf), &text, 10009.13, "init", PT_STATUS_TIMEOUT, NULL);
    assert_string_equal(buf, "INIT_REPORT Init Duration: 10009.13 ms\tPhase: init\tStatus: timeout\n");
}

/* snprintf's contract: a short buffer still counts the whole length and stays terminated. */
static void test_json_truncation(void **state)
{
    (void)state;
    char full[1024], small[40];
    struct pt_platform_log pl = json_log(PT_LOG_LEVEL_DEBUG);
    struct pt_report r = make_report(1.0, 1, 128, 9, 2.0);
    size_t n = pt_platform_end(full, sizeof(full), &pl, &r, 3);
    for (size_t size = 0; size < sizeof(small); size++) {
        memset(small, 'x', sizeof(small));
        assert_int_equal(pt_platform_end(small, size, &pl, &r, 3), n);
        if (size)
            assert_int_equal(strnlen(small, size), size - 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_end_lines),
        cmocka_unit_test(test_report_warm),
        cmocka_unit_test(test_report_cold),
        cmocka_unit_test(test_report_timeout),
        cmocka_unit_test(test_report_oom),
        cmocka_unit_test(test_report_error_type_validated),
        cmocka_unit_test(test_report_truncation),
        cmocka_unit_test(test_init_report_lines),
        cmocka_unit_test(test_billed_duration),
        cmocka_unit_test(test_timeout_message),
        cmocka_unit_test(test_exit_messages),
        cmocka_unit_test(test_entrypoint_messages),
        cmocka_unit_test(test_exit_message_truncates),
        cmocka_unit_test(test_error_payload_json),
        cmocka_unit_test(test_parse_round_trips),
        cmocka_unit_test(test_parse_best_practices_100ms_line),
        cmocka_unit_test(test_parse_logs_api_sample),
        cmocka_unit_test(test_parse_power_tuning_line),
        cmocka_unit_test(test_parse_real_status_lines),
        cmocka_unit_test(test_parse_skips_unknown_fields),
        cmocka_unit_test(test_parse_garbage),
        cmocka_unit_test(test_parse_every_truncation),
        cmocka_unit_test(test_parse_stops_at_newline),
        cmocka_unit_test(test_json_start_and_report_as_captured),
        cmocka_unit_test(test_json_debug_adds_runtime_done),
        cmocka_unit_test(test_json_runtime_done_spans_as_captured),
        cmocka_unit_test(test_json_timeout_shape),
        cmocka_unit_test(test_json_error_type_and_escaping),
        cmocka_unit_test(test_json_init_records),
        cmocka_unit_test(test_json_warn_and_text),
        cmocka_unit_test(test_json_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
