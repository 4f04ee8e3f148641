/* Unit tests for src/aws/client.c and src/aws/lambda_api.c: request building, AWS error
 * parsing, backoff, and the REPORT parser over text and JSON log tails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/client.h"
#include "aws/lambda_api.h"
#include "base/clock.h"

static void test_function_path(void **state)
{
    (void)state;
    struct pt_buf b;
    pt_buf_init(&b, 4096);
    assert_int_equal(pt_lambda_function_path(&b, "cpu-c", "/configuration", NULL), 0);
    assert_string_equal(b.data, "/2015-03-31/functions/cpu-c/configuration");
    pt_buf_reset(&b);
    assert_int_equal(pt_lambda_function_path(&b, "arn:aws:lambda:us-east-1:123456789012:function:f",
                                             "/invocations", NULL), 0);
    assert_string_equal(b.data, "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A"
                                "123456789012%3Afunction%3Af/invocations");
    pt_buf_reset(&b);
    assert_int_equal(pt_lambda_function_path(&b, "f", NULL, NULL), 0);
    assert_string_equal(b.data, "/2015-03-31/functions/f");
    pt_buf_free(&b);
}

static void test_qualifier_query(void **state)
{
    (void)state;
    struct pt_buf b;
    pt_buf_init(&b, 4096);
    assert_int_equal(pt_lambda_qualifier_query(&b, "$LATEST", NULL), 0);
    assert_string_equal(b.data, "Qualifier=%24LATEST");
    pt_buf_reset(&b);
    assert_int_equal(pt_lambda_qualifier_query(&b, "RAM128-0", NULL), 0);
    assert_string_equal(b.data, "Qualifier=RAM128-0");
    pt_buf_reset(&b);
    assert_int_equal(pt_lambda_qualifier_query(&b, NULL, NULL), 0);
    assert_int_equal(b.len, 0);
    pt_buf_free(&b);
}

static void test_update_body(void **state)
{
    (void)state;
    char *s = pt_lambda_update_body(512, NULL);
    assert_string_equal(s, "{\"MemorySize\":512}");
    free(s);
    s = pt_lambda_update_body(128, "my \"fn\" - RAM128-0");
    assert_string_equal(s, "{\"MemorySize\":128,\"Description\":\"my \\\"fn\\\" - RAM128-0\"}");
    free(s);
    s = pt_lambda_update_body(0, "");
    assert_string_equal(s, "{\"Description\":\"\"}");
    free(s);
}

static void test_parse_configuration(void **state)
{
    (void)state;
    const char *j = "{\"FunctionName\":\"f\",\"FunctionArn\":\"arn:aws:lambda:us-east-1:1:function:f\","
                    "\"MemorySize\":1024,\"Timeout\":30,\"Version\":\"$LATEST\",\"Description\":\"d\","
                    "\"State\":\"Active\",\"LastUpdateStatus\":\"InProgress\","
                    "\"Architectures\":[\"arm64\"],\"LoggingConfig\":{\"LogFormat\":\"JSON\"}}";
    struct pt_lambda_function_config c;
    assert_int_equal(pt_lambda_parse_configuration(j, strlen(j), &c, NULL), 0);
    assert_int_equal(c.memory_mb, 1024);
    assert_int_equal(c.timeout_s, 30);
    assert_string_equal(c.function_name, "f");
    assert_string_equal(c.description, "d");
    assert_string_equal(c.last_update_status, "InProgress");
    assert_string_equal(c.architecture, "arm64");
    assert_string_equal(c.log_format, "JSON");
    struct pt_error err;
    assert_int_equal(pt_lambda_parse_configuration("{}", 2, &c, &err), PT_EPROTO);
    assert_int_equal(pt_lambda_parse_configuration("nope", 4, &c, &err), PT_EPROTO);
}

/* State and its reasons: what waiting for a version to be Active reads (a SnapStart version is
 * Pending while its snapshot is made; a Failed one says why). Absent: "". */
static void test_parse_configuration_state(void **state)
{
    (void)state;
    struct pt_lambda_function_config c;
    const char *j = "{\"MemorySize\":128,\"Version\":\"7\",\"State\":\"Pending\","
                    "\"StateReason\":\"Lambda is creating a snapshot of the function.\","
                    "\"StateReasonCode\":\"Creating\"}";
    assert_int_equal(pt_lambda_parse_configuration(j, strlen(j), &c, NULL), 0);
    assert_string_equal(c.state, "Pending");
    assert_string_equal(c.state_reason_code, "Creating");
    assert_string_equal(c.state_reason, "Lambda is creating a snapshot of the function.");
    assert_string_equal(c.version, "7");
    j = "{\"MemorySize\":128,\"State\":\"Failed\",\"StateReasonCode\":\"FunctionError\","
        "\"StateReason\":\"Init error\"}";
    assert_int_equal(pt_lambda_parse_configuration(j, strlen(j), &c, NULL), 0);
    assert_string_equal(c.state, "Failed");
    assert_string_equal(c.state_reason_code, "FunctionError");
    assert_string_equal(c.state_reason, "Init error");
    /* Not strings, or absent: empty. */
    j = "{\"MemorySize\":128,\"StateReasonCode\":7,\"StateReason\":null}";
    assert_int_equal(pt_lambda_parse_configuration(j, strlen(j), &c, NULL), 0);
    assert_string_equal(c.state, "");
    assert_string_equal(c.state_reason_code, "");
    assert_string_equal(c.state_reason, "");
    /* A reason longer than the field is cut to it, not overflowing it. */
    char big[1200];
    int n = snprintf(big, sizeof(big), "{\"MemorySize\":128,\"StateReason\":\"");
    memset(big + n, 'r', 1000);
    snprintf(big + n + 1000, sizeof(big) - (size_t)n - 1000, "\"}");
    assert_int_equal(pt_lambda_parse_configuration(big, strlen(big), &c, NULL), 0);
    assert_int_equal(strlen(c.state_reason), sizeof(c.state_reason) - 1);
}

static bool stop_after_calls(void *arg)
{
    int *calls = arg;
    return ++*calls > 3;
}

/* pt_sleep_ms_unless: asked before each slice, the first included; cut short when it says so. */
static void test_sleep_ms_unless(void **state)
{
    (void)state;
    int calls = 3; /* says stop at once */
    int64_t t0 = pt_mono_ns();
    assert_true(pt_sleep_ms_unless(10000, stop_after_calls, &calls));
    assert_int_equal(calls, 4);
    calls = 0; /* 3 slices of 100 ms, stopped before the 4th */
    assert_true(pt_sleep_ms_unless(10000, stop_after_calls, &calls));
    assert_true(pt_mono_ns() - t0 < 2000 * 1000000LL);
    calls = -1000;
    assert_false(pt_sleep_ms_unless(150, stop_after_calls, &calls));
    assert_int_equal(calls, -1000 + 3); /* before 100 ms, before 50 ms, at the end */
    assert_false(pt_sleep_ms_unless(0, NULL, NULL));
}

/* Fuzz finding (tests/fuzz/corpus/aws_lambda_config/crash-memory-wraps-int): a MemorySize or
 * Timeout beyond int wrapped around, 2^32 + 128 becoming a plausible 128 MB. */
static void test_parse_configuration_out_of_int_range(void **state)
{
    (void)state;
    struct pt_lambda_function_config c;
    struct pt_error err;
    const char *j = "{\"MemorySize\":4294967424}";
    assert_int_equal(pt_lambda_parse_configuration(j, strlen(j), &c, &err), PT_EPROTO);
    assert_non_null(strstr(err.msg, "MemorySize 4294967424"));
    j = "{\"MemorySize\":128,\"Timeout\":-4294967296}";
    assert_int_equal(pt_lambda_parse_configuration(j, strlen(j), &c, &err), PT_EPROTO);
    assert_non_null(strstr(err.msg, "Timeout"));
    j = "{\"MemorySize\":128,\"Timeout\":-3}";
    assert_int_equal(pt_lambda_parse_configuration(j, strlen(j), &c, &err), PT_EPROTO);
    assert_non_null(strstr(err.msg, "Timeout -3 is negative"));
    j = "{\"MemorySize\":2147483647,\"Timeout\":900}";
    assert_int_equal(pt_lambda_parse_configuration(j, strlen(j), &c, &err), 0);
    assert_int_equal(c.memory_mb, 2147483647);
    assert_int_equal(c.timeout_s, 900);
}

/* An alias is in use of its FunctionVersion and of the version its RoutingConfig weights:
 * tune's cleanup must keep both (Lambda refuses to delete either). */
static void test_parse_alias_and_its_versions(void **state)
{
    (void)state;
    static const char weighted[] =
        "{\"AliasArn\":\"arn:aws:lambda:us-east-1:123456789012:function:f:canary\","
        "\"Name\":\"canary\",\"FunctionVersion\":\"2\",\"Description\":\"\","
        "\"RoutingConfig\":{\"AdditionalVersionWeights\":{\"7\":0.1}},\"RevisionId\":\"r\"}";
    struct pt_lambda_alias a;
    assert_int_equal(pt_lambda_parse_alias(weighted, strlen(weighted), &a), 0);
    assert_string_equal(a.name, "canary");
    assert_string_equal(a.function_version, "2");
    assert_string_equal(a.routing_version, "7");
    assert_true(pt_lambda_alias_uses(&a, "2"));
    assert_true(pt_lambda_alias_uses(&a, "7"));
    assert_false(pt_lambda_alias_uses(&a, "3"));
    assert_false(pt_lambda_alias_uses(&a, ""));
    static const char plain[] = "{\"Name\":\"live\",\"FunctionVersion\":\"4\"}";
    assert_int_equal(pt_lambda_parse_alias(plain, strlen(plain), &a), 0);
    assert_string_equal(a.routing_version, "");
    assert_true(pt_lambda_alias_uses(&a, "4"));
    assert_false(pt_lambda_alias_uses(&a, ""));
    assert_int_equal(pt_lambda_parse_alias("[]", 2, &a), -1);
    static const char nameless[] = "{\"FunctionVersion\":\"1\"}";
    assert_int_equal(pt_lambda_parse_alias(nameless, strlen(nameless), &a), -1);
    assert_int_equal(pt_lambda_parse_alias(NULL, 0, &a), -1);
}

static void test_error_parse(void **state)
{
    (void)state;
    char code[128], msg[512], reason[64];
    const char *b = "{\"Message\":\"Function not found: arn:aws:lambda:us-west-2:1:function:x\","
                    "\"Type\":\"User\"}";
    pt_aws_error_parse("ResourceNotFoundException:http://internal.amazon.com/coral/x/", b,
                       strlen(b), code, sizeof(code), msg, sizeof(msg), reason, sizeof(reason));
    assert_string_equal(code, "ResourceNotFoundException");
    assert_string_equal(msg, "Function not found: arn:aws:lambda:us-west-2:1:function:x");
    b = "{\"Reason\":\"ConcurrentInvocationLimitExceeded\",\"Type\":\"User\",\"message\":\"Rate Exceeded.\"}";
    pt_aws_error_parse("aws.lambda#TooManyRequestsException", b, strlen(b), code, sizeof(code),
                       msg, sizeof(msg), reason, sizeof(reason));
    assert_string_equal(code, "TooManyRequestsException");
    assert_string_equal(msg, "Rate Exceeded.");
    assert_string_equal(reason, "ConcurrentInvocationLimitExceeded");
    b = "{\"__type\":\"com.amazon.coral#ValidationException\",\"message\":\"bad\"}";
    pt_aws_error_parse(NULL, b, strlen(b), code, sizeof(code), msg, sizeof(msg), reason,
                       sizeof(reason));
    assert_string_equal(code, "ValidationException");
    pt_aws_error_parse(NULL, "<html>", 6, code, sizeof(code), msg, sizeof(msg), reason,
                       sizeof(reason));
    assert_string_equal(code, "");
    assert_string_equal(msg, "");
}

/* An AWS message quoting the request's session token (InvalidSignatureException's canonical
 * request) is printed without it, even when the bounded message cuts the token short. */
static void test_error_redact(void **state)
{
    (void)state;
    const char *tok = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDtoken";
    char msg[512];
    snprintf(msg, sizeof(msg), "The Canonical String for this request should have been\n'POST\n"
             "/\n\nhost:lambda\nx-amz-security-token:%s\n' and again %s", tok, tok);
    pt_aws_redact(msg, tok);
    assert_null(strstr(msg, "IQoJb3JpZ2luX2Vj"));
    assert_non_null(strstr(msg, "x-amz-security-token:****\n' and again ****"));
    snprintf(msg, sizeof(msg), "cut: %.30s", tok);
    pt_aws_redact(msg, tok);
    assert_string_equal(msg, "cut: ****");
    /* Short values and mere look-alikes stay. */
    snprintf(msg, sizeof(msg), "IQoJb3 and IQoJb3JpZ2lu-other");
    pt_aws_redact(msg, tok);
    assert_string_equal(msg, "IQoJb3 and IQoJb3JpZ2lu-other");
    pt_aws_redact(msg, "short");
    pt_aws_redact(msg, NULL);
    assert_string_equal(msg, "IQoJb3 and IQoJb3JpZ2lu-other");
}

static void test_error_map(void **state)
{
    (void)state;
    assert_int_equal(pt_aws_error_code_map("TooManyRequestsException", 429), PT_ETHROTTLED);
    assert_int_equal(pt_aws_error_code_map("ResourceNotFoundException", 404), PT_ENOTFOUND);
    assert_int_equal(pt_aws_error_code_map("ResourceConflictException", 409), PT_ESTATE);
    assert_int_equal(pt_aws_error_code_map("InvalidSignatureException", 403), PT_EPERM);
    assert_int_equal(pt_aws_error_code_map("RequestEntityTooLargeException", 413), PT_ELIMIT);
    assert_int_equal(pt_aws_error_code_map("InvalidParameterValueException", 400), PT_EUSAGE);
    assert_int_equal(pt_aws_error_code_map(NULL, 429), PT_ETHROTTLED);
    assert_int_equal(pt_aws_error_code_map(NULL, 503), PT_EIO);
    assert_int_equal(pt_aws_error_code_map("SomethingNew", 418), PT_EUSAGE);
}

static void test_backoff(void **state)
{
    (void)state;
    for (int i = 0; i < 200; i++) {
        long ms = pt_aws_backoff_ms(i % 12, 100, 5000);
        long cap = 100L << (i % 12 < 6 ? i % 12 : 6);
        assert_true(ms >= 0 && ms <= (cap < 5000 ? cap : 5000));
    }
    assert_int_equal(pt_aws_backoff_ms(3, 0, 0), 0);
}

static void test_endpoint_parse(void **state)
{
    (void)state;
    char base[256], host[256];
    assert_int_equal(pt_aws_endpoint_parse("http://127.0.0.1:9001/", base, sizeof(base), host,
                                           sizeof(host), NULL), 0);
    assert_string_equal(base, "http://127.0.0.1:9001");
    assert_string_equal(host, "127.0.0.1:9001");
    assert_int_equal(pt_aws_endpoint_parse("https://lambda.eu-west-1.amazonaws.com", base,
                                           sizeof(base), host, sizeof(host), NULL), 0);
    assert_string_equal(host, "lambda.eu-west-1.amazonaws.com");
    /* The default endpoint follows the region's partition (botocore's endpoints.json). */
    static const char *const want[][2] = {
        {"us-east-1", "https://lambda.us-east-1.amazonaws.com"},
        {"us-gov-west-1", "https://lambda.us-gov-west-1.amazonaws.com"},
        {"cn-northwest-1", "https://lambda.cn-northwest-1.amazonaws.com.cn"},
        {"us-iso-east-1", "https://lambda.us-iso-east-1.c2s.ic.gov"},
        {"us-isob-east-1", "https://lambda.us-isob-east-1.sc2s.sgov.gov"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        pt_aws_default_endpoint("lambda", want[i][0], base, sizeof(base));
        assert_string_equal(base, want[i][1]);
    }
    struct pt_error err;
    assert_int_equal(pt_aws_endpoint_parse("ftp://x", base, sizeof(base), host, sizeof(host), &err),
                     PT_EUSAGE);
    assert_int_equal(pt_aws_endpoint_parse("http://", base, sizeof(base), host, sizeof(host), &err),
                     PT_EUSAGE);
    assert_int_equal(pt_aws_endpoint_parse("http://h?x=1", base, sizeof(base), host, sizeof(host),
                                           &err), PT_EUSAGE);
}

#define RID "8f507cfc-xmpl-4697-b07a-ac58fc914c95"

static void test_report_text(void **state)
{
    (void)state;
    struct pt_lambda_report r;
    const char *log = "START RequestId: " RID " Version: 1\n"
                      "hello\n"
                      "END RequestId: " RID "\n"
                      "REPORT RequestId: " RID "\tDuration: 469.40 ms\tBilled Duration: 500 ms\t"
                      "Memory Size: 1024 MB\tMax Memory Used: 21 MB\tInit Duration: 100.99 ms\t\n";
    assert_int_equal(pt_lambda_report_from_log(log, strlen(log), &r), 0);
    assert_true(r.duration_ms == 469.40);
    assert_true(r.billed_ms == 500);
    assert_true(r.init_ms == 100.99);
    assert_int_equal(r.memory_mb, 1024);
    assert_int_equal(r.max_memory_used_mb, 21);
    /* Warm, and the Logs API sample's space after "27 ms". */
    log = "REPORT RequestId: " RID "\tDuration: 26.73 ms\tBilled Duration: 27 ms \t"
          "Memory Size: 128 MB\tMax Memory Used: 75 MB\t\n";
    assert_int_equal(pt_lambda_report_from_log(log, strlen(log), &r), 0);
    assert_true(r.duration_ms == 26.73);
    assert_true(r.billed_ms == 27);
    assert_true(r.init_ms < 0);
    assert_int_equal(r.max_memory_used_mb, 75);
    /* SnapStart: Restore Duration instead of Init Duration. */
    log = "REPORT RequestId: " RID "\tDuration: 469.40 ms\tBilled Duration: 500 ms\t"
          "Memory Size: 1024 MB\tMax Memory Used: 155 MB\tRestore Duration: 474.16 ms\t"
          "Billed Restore Duration: 75 ms\t\n";
    assert_int_equal(pt_lambda_report_from_log(log, strlen(log), &r), 0);
    assert_true(r.duration_ms == 469.40);
    assert_true(r.restore_ms == 474.16);
    assert_true(r.billed_restore_ms == 75);
    assert_true(r.init_ms < 0);
    /* Timeout status. */
    log = "REPORT RequestId: " RID "\tDuration: 3000.00 ms\tBilled Duration: 3403 ms\t"
          "Memory Size: 128 MB\tMax Memory Used: 73 MB\tInit Duration: 402.04 ms\tStatus: timeout";
    assert_int_equal(pt_lambda_report_from_log(log, strlen(log), &r), 0);
    assert_string_equal(r.status, "timeout");
    assert_true(r.init_ms == 402.04);
}

static void test_report_text_tail_mid_line(void **state)
{
    (void)state;
    /* The 4 KB tail cut a user line (and a previous REPORT) in the middle. */
    const char *log = "ms\tBilled Duration: 9 ms\tMemory Size: 128 MB\n"
                      "x { not json\n"
                      "START RequestId: " RID " Version: $LATEST\n"
                      "END RequestId: " RID "\n"
                      "REPORT RequestId: " RID "\tDuration: 1.50 ms\tBilled Duration: 2 ms\t"
                      "Memory Size: 128 MB\tMax Memory Used: 10 MB\t\n";
    struct pt_lambda_report r;
    assert_int_equal(pt_lambda_report_from_log(log, strlen(log), &r), 0);
    assert_true(r.duration_ms == 1.50);
    assert_true(r.billed_ms == 2);
    assert_int_equal(pt_lambda_report_from_log("no report here\n", 15, &r), PT_ENOTFOUND);
    assert_int_equal(pt_lambda_report_from_log("", 0, &r), PT_ENOTFOUND);
}

static void test_report_100ms_era(void **state)
{
    (void)state;
    const char *log = "REPORT RequestId: 3604209a\tDuration: 12.34 ms\tBilled Duration: 100 ms "
                      "Memory Size: 128 MB\tMax Memory Used: 18 MB";
    struct pt_lambda_report r;
    assert_int_equal(pt_lambda_report_from_log(log, strlen(log), &r), 0);
    assert_true(r.duration_ms == 12.34);
    assert_true(r.billed_ms == 100);
    assert_int_equal(r.max_memory_used_mb, 18);
}

static void test_report_json(void **state)
{
    (void)state;
    struct pt_lambda_report r;
    /* Cold: every metric; blank lines between records (#253); an application line before. */
    const char *log =
        "{\"time\":\"2024-05-20T16:29:45.008Z\",\"type\":\"platform.start\",\"record\":{\"requestId\":\"4b\",\"version\":\"$LATEST\"}}\n"
        "\n"
        "{\"timestamp\":\"2024-05-20T16:29:45.009Z\",\"level\":\"INFO\",\"requestId\":\"4b\",\"message\":\"hi\"}\n"
        "\n"
        "{\"time\":\"2024-05-20T16:29:45.022Z\",\"type\":\"platform.report\",\"record\":{\"requestId\":\"4b\","
        "\"status\":\"success\",\"metrics\":{\"durationMs\":11.642,\"billedDurationMs\":12,"
        "\"memorySizeMB\":128,\"maxMemoryUsedMB\":67,\"initDurationMs\":174.055}}}\n";
    assert_int_equal(pt_lambda_report_from_log(log, strlen(log), &r), 0);
    assert_true(r.duration_ms == 11.642);
    assert_true(r.billed_ms == 12);
    assert_true(r.init_ms == 174.055);
    assert_int_equal(r.max_memory_used_mb, 67);
    assert_string_equal(r.status, "");
    /* Warm: no initDurationMs, no restore metrics: absent, not an error (#305). */
    log = "{\"time\":\"t\",\"type\":\"platform.report\",\"record\":{\"requestId\":\"a\",\"metrics\":"
          "{\"durationMs\":5000.0,\"billedDurationMs\":5000,\"memorySizeMB\":128,"
          "\"maxMemoryUsedMB\":94},\"status\":\"timeout\"}}";
    assert_int_equal(pt_lambda_report_from_log(log, strlen(log), &r), 0);
    assert_true(r.duration_ms == 5000.0);
    assert_true(r.init_ms < 0);
    assert_true(r.restore_ms == 0);
    assert_string_equal(r.status, "timeout");
    /* The tail starts mid-record (#261): the fragment is skipped, the next report is found. */
    log = "s\":{\"durationMs\":1.0,\"billedDurationMs\":1}},\"type\":\"platform.report\"}\n"
          "{\"time\":\"t\",\"type\":\"platform.report\",\"record\":{\"metrics\":{\"durationMs\":2.5,"
          "\"billedDurationMs\":3}}}\n";
    assert_int_equal(pt_lambda_report_from_log(log, strlen(log), &r), 0);
    assert_true(r.duration_ms == 2.5);
    assert_true(r.billed_ms == 3);
    assert_int_equal(r.max_memory_used_mb, 0);
    /* One JSON array of records. */
    log = "[{\"type\":\"platform.start\",\"record\":{}},\n{\"type\":\"platform.report\",\"record\":"
          "{\"metrics\":{\"durationMs\":7.25,\"billedDurationMs\":8,\"restoreDurationMs\":3.5}}}]";
    assert_int_equal(pt_lambda_report_from_log(log, strlen(log), &r), 0);
    assert_true(r.duration_ms == 7.25);
    assert_true(r.restore_ms == 3.5);
    /* JSON without a report. */
    log = "{\"type\":\"platform.start\",\"record\":{}}\n";
    assert_int_equal(pt_lambda_report_from_log(log, strlen(log), &r), PT_ENOTFOUND);
}

/* Fuzz findings (tests/fuzz/corpus/aws_lambda_log/crash-*): sizes beyond int were converted from
 * double (undefined behaviour), and "1e999" or "inf" passed for a duration. */
static void test_report_figures_out_of_range(void **state)
{
    (void)state;
    struct pt_lambda_report r;
    const char *log = "REPORT RequestId: 1\tDuration: 10 ms\tMemory Size: 1e25 MB\n";
    assert_int_equal(pt_lambda_report_from_log(log, strlen(log), &r), 0);
    assert_true(r.duration_ms == 10);
    assert_int_equal(r.memory_mb, 0); /* impossible: absent */
    log = "{\"type\":\"platform.report\",\"record\":{\"metrics\":{\"durationMs\":1,"
          "\"memorySizeMB\":1e300,\"maxMemoryUsedMB\":-1e300}}}";
    assert_int_equal(pt_lambda_report_from_log(log, strlen(log), &r), 0);
    assert_int_equal(r.memory_mb, 0);
    assert_int_equal(r.max_memory_used_mb, 0);
    /* Negative figures count as absent, as in the text form. */
    log = "{\"type\":\"platform.report\",\"record\":{\"metrics\":{\"durationMs\":-5,"
          "\"billedDurationMs\":-6,\"initDurationMs\":-7}}}";
    assert_int_equal(pt_lambda_report_from_log(log, strlen(log), &r), 0);
    assert_true(r.duration_ms == 0);
    assert_true(r.billed_ms == 0);
    assert_true(r.init_ms < 0); /* warm */
    log = "REPORT x\tDuration: 1e999 ms\n";
    assert_int_equal(pt_lambda_report_from_log(log, strlen(log), &r), PT_ENOTFOUND);
    log = "REPORT x\tDuration: inf ms\tBilled Duration: nan ms\n";
    assert_int_equal(pt_lambda_report_from_log(log, strlen(log), &r), PT_ENOTFOUND);
}

/* A figure is read within its line and within len: strtod went on past both (a blank skipped
 * into the next line, digits beyond the length given). */
static void test_report_figure_within_line(void **state)
{
    (void)state;
    struct pt_lambda_report r;
    const char *log = "REPORT x\tDuration:  \n7 ms\n";
    assert_int_equal(pt_lambda_report_from_log(log, strlen(log), &r), PT_ENOTFOUND);
    log = "REPORT x\tDuration: 12";
    assert_int_equal(pt_lambda_report_from_log(log, strlen(log) - 1, &r), 0);
    assert_true(r.duration_ms == 1);
}

static void test_base64(void **state)
{
    (void)state;
    char *out;
    size_t n;
    assert_int_equal(pt_lambda_base64_decode("UkVQT1JU", &out, &n, NULL), 0);
    assert_int_equal(n, 6);
    assert_string_equal(out, "REPORT");
    free(out);
    assert_int_equal(pt_lambda_base64_decode("UkVQT1I=", &out, &n, NULL), 0);
    assert_int_equal(n, 5);
    assert_string_equal(out, "REPOR");
    free(out);
    assert_int_equal(pt_lambda_base64_decode("", &out, &n, NULL), 0);
    assert_int_equal(n, 0);
    free(out);
    struct pt_error err;
    assert_int_equal(pt_lambda_base64_decode("abc", &out, &n, &err), PT_EPROTO);
    assert_int_equal(pt_lambda_base64_decode("ab!?", &out, &n, &err), PT_EPROTO);
}

/* Connection refused: retried (bounded), then an I/O error naming the operation. */
static void test_client_retries_connection_errors(void **state)
{
    (void)state;
    struct pt_aws_credentials creds;
    assert_int_equal(pt_aws_credentials_set(&creds, "AKIDEXAMPLE",
                                            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL,
                                            "test", NULL), 0);
    struct pt_aws_client_options o = {.endpoint_url = "http://127.0.0.1:1", .region = "us-east-1",
                                      .service = "lambda", .creds = &creds, .max_attempts = 3,
                                      .backoff_base_ms = 1, .backoff_max_ms = 5};
    struct pt_aws_client *c;
    struct pt_error err;
    assert_int_equal(pt_aws_client_create(&c, &o, &err), 0);
    assert_string_equal(pt_aws_client_endpoint(c), "http://127.0.0.1:1");
    struct pt_aws_response resp;
    pt_aws_response_init(&resp);
    struct pt_aws_request req = {.method = "GET", .path = "/2015-03-31/functions/f/configuration"};
    int rc = pt_aws_request_send(c, "GetFunctionConfiguration", &req, &resp, &err);
    assert_int_equal(rc, PT_EIO);
    assert_int_equal(resp.attempts, 3);
    assert_non_null(strstr(err.msg, "GetFunctionConfiguration"));
    assert_null(strstr(err.msg, "wJalrXUtnFEMI")); /* never the secret */
    pt_aws_response_free(&resp);
    pt_aws_client_destroy(c);
    pt_aws_credentials_clear(&creds);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT); /* once, before any request (client.h) */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_function_path),
        cmocka_unit_test(test_qualifier_query),
        cmocka_unit_test(test_update_body),
        cmocka_unit_test(test_parse_configuration),
        cmocka_unit_test(test_parse_configuration_out_of_int_range),
        cmocka_unit_test(test_parse_configuration_state),
        cmocka_unit_test(test_sleep_ms_unless),
        cmocka_unit_test(test_parse_alias_and_its_versions),
        cmocka_unit_test(test_error_parse),
        cmocka_unit_test(test_error_redact),
        cmocka_unit_test(test_error_map),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_endpoint_parse),
        cmocka_unit_test(test_report_text),
        cmocka_unit_test(test_report_text_tail_mid_line),
        cmocka_unit_test(test_report_100ms_era),
        cmocka_unit_test(test_report_json),
        cmocka_unit_test(test_report_figures_out_of_range),
        cmocka_unit_test(test_report_figure_within_line),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_client_retries_connection_errors),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
