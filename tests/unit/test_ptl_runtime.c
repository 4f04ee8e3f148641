/*
 * test_ptl_runtime.c - the pure parts of the C handler library
 * (runtimes/c/powertune_lambda_internal.h): /next header parsing, the
 * AWS_LAMBDA_RUNTIME_API check, error documents. No server is needed.
 * The HTTP client's own framing is tested in test_ptl_http.c.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "powertune_lambda.h"
#include "powertune_lambda_internal.h"

static void feed(struct ptl_next_headers *h, const char *line)
{
    ptl_headers_line(h, line, strlen(line));
}

static void test_headers_known_ones_are_kept(void **state)
{
    (void)state;
    struct ptl_next_headers h;
    ptl_headers_reset(&h);
    feed(&h, "HTTP/1.1 200 OK\r\n");
    feed(&h, "Lambda-Runtime-Aws-Request-Id: 8476a536-e9f4-11e8-9739-2dfe598c3fcd\r\n");
    feed(&h, "lambda-runtime-deadline-ms:1542409706888  \r\n"); /* any case, no space, trailing blanks */
    feed(&h, "Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-2:123456789012:function:f\r\n");
    feed(&h, "Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1\r\n");
    feed(&h, "Lambda-Runtime-Client-Context: {\"client\":{}}\r\n");
    feed(&h, "Lambda-Runtime-Cognito-Identity: \t{\"cognitoIdentityId\":\"x\"}\r\n");
    feed(&h, "Content-Length: 2\r\n");
    feed(&h, "X-Other: ignored\r\n");
    feed(&h, "\r\n");
    assert_string_equal(h.request_id, "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
    assert_string_equal(h.deadline, "1542409706888");
    assert_string_equal(h.invoked_arn, "arn:aws:lambda:us-east-2:123456789012:function:f");
    assert_string_equal(h.trace_id, "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1");
    assert_string_equal(h.client_context, "{\"client\":{}}");
    assert_string_equal(h.cognito_identity, "{\"cognitoIdentityId\":\"x\"}");
    assert_string_equal(h.content_length, "2");
    assert_null(h.too_long);
}

static void test_headers_status_line_resets(void **state)
{
    (void)state;
    struct ptl_next_headers h;
    ptl_headers_reset(&h);
    feed(&h, "HTTP/1.1 100 Continue\r\n");
    feed(&h, "Lambda-Runtime-Aws-Request-Id: stale\r\n");
    feed(&h, "HTTP/1.1 200 OK\r\n");
    assert_string_equal(h.request_id, "");
}

static void test_headers_prefix_of_a_name_does_not_match(void **state)
{
    (void)state;
    struct ptl_next_headers h;
    ptl_headers_reset(&h);
    feed(&h, "Lambda-Runtime-Aws-Request-Id-Extra: nope\r\n");
    feed(&h, "Lambda-Runtime-Aws-Request: nope\r\n");
    feed(&h, "no colon here\r\n");
    assert_string_equal(h.request_id, "");
}

static void test_headers_too_long_is_flagged_not_cut(void **state)
{
    (void)state;
    struct ptl_next_headers h;
    char line[PTL_ARN_MAX + 64];
    ptl_headers_reset(&h);
    int n = snprintf(line, sizeof line, "Lambda-Runtime-Invoked-Function-Arn: ");
    memset(line + n, 'a', PTL_ARN_MAX);
    line[n + PTL_ARN_MAX] = '\0';
    feed(&h, line);
    assert_string_equal(h.invoked_arn, "");
    assert_non_null(h.too_long);
    assert_string_equal(h.too_long, "Lambda-Runtime-Invoked-Function-Arn");
    /* One byte less fits exactly. */
    ptl_headers_reset(&h);
    line[n + PTL_ARN_MAX - 1] = '\0';
    feed(&h, line);
    assert_null(h.too_long);
    assert_int_equal(strlen(h.invoked_arn), PTL_ARN_MAX - 1);
}

static void test_parse_ull(void **state)
{
    (void)state;
    long long v = -1;
    assert_int_equal(ptl_parse_ull("1542409706888", &v), 0);
    assert_true(v == 1542409706888LL);
    assert_int_equal(ptl_parse_ull("0", &v), 0);
    assert_true(v == 0);
    assert_int_equal(ptl_parse_ull("9223372036854775807", &v), 0);
    assert_true(v == LLONG_MAX);
    assert_int_equal(ptl_parse_ull("9223372036854775808", &v), -1);
    assert_int_equal(ptl_parse_ull("", &v), -1);
    assert_int_equal(ptl_parse_ull(NULL, &v), -1);
    assert_int_equal(ptl_parse_ull("-1", &v), -1);
    assert_int_equal(ptl_parse_ull("12a", &v), -1);
    assert_int_equal(ptl_parse_ull(" 1", &v), -1);
}

static void test_api_address(void **state)
{
    (void)state;
    char host[64], port[8];
    assert_int_equal(ptl_api_address("127.0.0.1:9001", host, sizeof host, port, sizeof port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_string_equal(port, "9001");
    assert_int_equal(ptl_api_address("[::1]:80", host, sizeof host, port, sizeof port), 0);
    assert_string_equal(host, "::1");
    assert_string_equal(port, "80");
    assert_int_equal(ptl_api_address("sandbox.localdomain:8080", host, sizeof host, port, sizeof port), 0);
    assert_string_equal(host, "sandbox.localdomain");
    const char *bad[] = {"", "127.0.0.1", ":9001", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
                         "127.0.0.1:0009001", "http://127.0.0.1:9001", "a b:1", "h:1/x", "[::1:80",
                         "[]:80", "[zz]:80", "user@h:1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(ptl_api_address(bad[i], host, sizeof host, port, sizeof port), -1);
    assert_int_equal(ptl_api_address(NULL, host, sizeof host, port, sizeof port), -1);
    /* Too long for the buffer is an error, not a truncated host. */
    assert_int_equal(ptl_api_address("127.0.0.1:9001", host, 9, port, sizeof port), -1);
}

static void test_request_id_ok(void **state)
{
    (void)state;
    assert_true(ptl_request_id_ok("8476a536-e9f4-11e8-9739-2dfe598c3fcd"));
    assert_true(ptl_request_id_ok("a.b_c~d:e"));
    assert_false(ptl_request_id_ok(""));
    assert_false(ptl_request_id_ok(NULL));
    assert_false(ptl_request_id_ok("a/b"));
    assert_false(ptl_request_id_ok("a?b"));
    assert_false(ptl_request_id_ok("a b"));
    assert_false(ptl_request_id_ok("a%2f"));
}

static void test_header_value_sanitised(void **state)
{
    (void)state;
    char out[16];
    ptl_header_value("Bad\r\nX-Injected: 1", out, sizeof out);
    assert_string_equal(out, "Bad__X-Injected"); /* cut at 15 bytes + NUL */
    ptl_header_value("tab\there\x7f", out, sizeof out);
    assert_string_equal(out, "tab_here_");
    ptl_header_value(NULL, out, sizeof out);
    assert_string_equal(out, "");
}

/* Parses an error document back and checks its three members. */
static void check_error_doc(const char *body, size_t len, const char *type, const char *msg)
{
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, 0, &jerr);
    assert_non_null(doc);
    assert_int_equal(json_object_size(doc), 3);
    assert_string_equal(json_string_value(json_object_get(doc, "errorType")), type);
    if (msg)
        assert_string_equal(json_string_value(json_object_get(doc, "errorMessage")), msg);
    json_t *st = json_object_get(doc, "stackTrace");
    assert_true(json_is_array(st) && json_array_size(st) == 0);
    json_decref(doc);
}

static void test_error_body_shape(void **state)
{
    (void)state;
    char *body = NULL;
    size_t len = 0;
    assert_int_equal(ptl_error_body("InvalidEvent", "iterations must be \"an\" integer\n", &body, &len), 0);
    assert_string_equal(body, "{\"errorMessage\":\"iterations must be \\\"an\\\" integer\\n\","
                              "\"errorType\":\"InvalidEvent\",\"stackTrace\":[]}");
    assert_int_equal(len, strlen(body));
    free(body);

    assert_int_equal(ptl_error_body(NULL, NULL, &body, &len), 0);
    check_error_doc(body, len, "HandlerError", "");
    free(body);
}

static void test_error_body_invalid_utf8_is_replaced(void **state)
{
    (void)state;
    char *body = NULL;
    size_t len = 0;
    assert_int_equal(ptl_error_body("T", "bad \xff\xfe end \xc3\xa9", &body, &len), 0);
    /* The whole message falls back to ASCII: each non-ASCII byte becomes '?'. */
    check_error_doc(body, len, "T", "bad ?? end ??");
    free(body);
    assert_int_equal(ptl_error_body("bad\xff", "ok \xc3\xa9", &body, &len), 0);
    check_error_doc(body, len, "HandlerError", "ok \xc3\xa9");
    free(body);
}

static void test_error_body_long_message_is_cut_on_a_character(void **state)
{
    (void)state;
    /* 'a' then two-byte characters, so the cut lands in the middle of one. */
    size_t n = PTL_ERROR_MESSAGE_MAX + 100;
    char *msg = malloc(n + 1);
    assert_non_null(msg);
    msg[0] = 'a';
    for (size_t i = 1; i + 1 < n; i += 2) {
        msg[i] = (char)0xc3;
        msg[i + 1] = (char)0xa9;
    }
    msg[n - 1] = 'z';
    msg[n] = '\0';
    char *body = NULL;
    size_t len = 0;
    assert_int_equal(ptl_error_body("T", msg, &body, &len), 0);
    json_t *doc = json_loadb(body, len, 0, NULL);
    assert_non_null(doc);
    const char *got = json_string_value(json_object_get(doc, "errorMessage"));
    assert_non_null(got);
    /* Still UTF-8 (no '?' fallback) and no longer than the limit. */
    assert_true(strlen(got) <= PTL_ERROR_MESSAGE_MAX);
    assert_true(strlen(got) >= PTL_ERROR_MESSAGE_MAX - 1);
    assert_null(strchr(got, '?'));
    json_decref(doc);
    free(body);
    free(msg);
}

static void test_remaining_time(void **state)
{
    (void)state;
    struct ptl_context ctx = {0};
    struct timespec ts;
    assert_true(ptl_remaining_time_ms(&ctx) == LLONG_MAX);
    assert_true(ptl_remaining_time_ms(NULL) == LLONG_MAX);
    clock_gettime(CLOCK_REALTIME, &ts);
    ctx.deadline_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 3000;
    long long left = ptl_remaining_time_ms(&ctx);
    assert_true(left > 2900 && left <= 3000);
    ctx.deadline_ms -= 10000;
    assert_true(ptl_remaining_time_ms(&ctx) < 0);
}

static void test_run_without_runtime_api_fails_clearly(void **state)
{
    (void)state;
    unsetenv("AWS_LAMBDA_RUNTIME_API");
    assert_int_equal(ptl_run(NULL), PTL_ECONFIG);
    assert_int_equal(ptl_init_error("T", "m"), PTL_ECONFIG);
    setenv("AWS_LAMBDA_RUNTIME_API", "no-port", 1);
    assert_int_equal(ptl_run(NULL), PTL_ECONFIG);
    unsetenv("AWS_LAMBDA_RUNTIME_API");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers_known_ones_are_kept),
        cmocka_unit_test(test_headers_status_line_resets),
        cmocka_unit_test(test_headers_prefix_of_a_name_does_not_match),
        cmocka_unit_test(test_headers_too_long_is_flagged_not_cut),
        cmocka_unit_test(test_parse_ull),
        cmocka_unit_test(test_api_address),
        cmocka_unit_test(test_request_id_ok),
        cmocka_unit_test(test_header_value_sanitised),
        cmocka_unit_test(test_error_body_shape),
        cmocka_unit_test(test_error_body_invalid_utf8_is_replaced),
        cmocka_unit_test(test_error_body_long_message_is_cut_on_a_character),
        cmocka_unit_test(test_remaining_time),
        cmocka_unit_test(test_run_without_runtime_api_fails_clearly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
