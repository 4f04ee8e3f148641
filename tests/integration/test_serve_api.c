/*
 * test_serve_api.c - the `powertune serve` core without HTTP: pt_api_handle on requests built
 * here (status codes, AWS error shapes, the Pending window, reserved concurrency reaching the
 * engine's throttle, the registry surviving a restart) and SigV4 refusal and acceptance with
 * requests signed by pt_sigv4_sign. The real clients are in tests/cli/test_serve.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>

#include <cmocka.h>
#include <jansson.h>

#include "api/api.h"
#include "api/api_internal.h"
#include "base/clock.h"
#include "base/fs.h"
#include "lib/testutil.h"

/* base64 of a zip holding lambda_function.py. */
static char *zip_b64(void)
{
    char *tmp = tu_mkdtemp();
    char path[4096];
    snprintf(path, sizeof(path), "%s/f.zip", tmp);
    int zerr = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    static const char src[] = "def lambda_handler(event, context):\n    return event\n";
    zip_file_add(z, "lambda_function.py", zip_source_buffer(z, src, sizeof(src) - 1, 0), 0);
    assert_int_equal(zip_close(z), 0);
    struct pt_buf b;
    pt_buf_init(&b, 0);
    assert_int_equal(pt_file_read(path, 1 << 20, &b, NULL), 0);
    char *out = api_base64_encode(b.data, b.len);
    pt_buf_free(&b);
    tu_rmtree(tmp);
    free(tmp);
    return out;
}

static void call(struct pt_api *api, const char *method, const char *path, const char *query,
                 const char *body, struct pt_api_response *r)
{
    struct pt_sigv4_header h[] = {{"Host", "127.0.0.1"}};
    struct pt_api_request req = {
        .method = method, .path = path, .query = query, .headers = h, .header_count = 1,
        .body = body, .body_len = body ? strlen(body) : 0,
    };
    pt_api_handle(api, &req, r);
}

static const char *header(const struct pt_api_response *r, const char *name)
{
    for (size_t i = 0; i < r->header_count; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

static json_t *body_json(const struct pt_api_response *r)
{
    json_t *j = json_loadb(r->body ? r->body : "", r->body_len, 0, NULL);
    assert_non_null(j);
    return j;
}

static struct pt_api *api_new(struct pt_engine *e, const struct pt_aws_credentials *keys)
{
    struct pt_api_options o = {.update_window_ms = 200, .keys = keys, .key_count = keys ? 1 : 0,
                               .require_signature = keys != NULL, .event_workers = 1};
    struct pt_api *api = NULL;
    struct pt_error err = {0};
    if (pt_api_create(&api, e, &o, &err) != 0)
        fail_msg("pt_api_create: %s", err.msg);
    return api;
}

static void create_fn(struct pt_api *api, const char *name)
{
    char *zip = zip_b64();
    char *body = NULL;
    assert_true(asprintf(&body,
                         "{\"FunctionName\":\"%s\",\"Runtime\":\"python3.12\",\"Role\":\"r\","
                         "\"Handler\":\"lambda_function.lambda_handler\",\"Code\":{\"ZipFile\":"
                         "\"%s\"}}",
                         name, zip) > 0);
    struct pt_api_response r;
    call(api, "POST", "/2015-03-31/functions", NULL, body, &r);
    assert_int_equal(r.status, 201);
    json_t *j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "State")), "Pending");
    json_decref(j);
    pt_api_response_free(&r);
    free(body);
    free(zip);
}

static void test_errors_window_throttle_restart(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_api *api = api_new(e, NULL);
    struct pt_api_response r;

    call(api, "GET", "/2015-03-31/functions/missing", NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(header(&r, "x-amzn-ErrorType"), "ResourceNotFoundException");
    assert_non_null(header(&r, "x-amzn-RequestId"));
    json_t *j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "Type")), "User");
    assert_string_equal(json_string_value(json_object_get(j, "Message")),
                        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:missing");
    json_decref(j);
    pt_api_response_free(&r);

    call(api, "GET", "/1999-01-01/nothing", NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(header(&r, "x-amzn-ErrorType"), "UnknownOperationException");
    pt_api_response_free(&r);

    create_fn(api, "f1");
    call(api, "PUT", "/2015-03-31/functions/f1/configuration", NULL, "{\"MemorySize\":256}", &r);
    assert_int_equal(r.status, 409); /* still Pending */
    assert_string_equal(header(&r, "x-amzn-ErrorType"), "ResourceConflictException");
    pt_api_response_free(&r);
    pt_sleep_ms(250);
    call(api, "PUT", "/2015-03-31/functions/f1/configuration", NULL, "{\"MemorySize\":64}", &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(header(&r, "x-amzn-ErrorType"), "ValidationException");
    pt_api_response_free(&r);
    call(api, "PUT", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af1/configuration",
         NULL, "{\"MemorySize\":256}", &r);
    assert_int_equal(r.status, 200);
    j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "LastUpdateStatus")), "InProgress");
    json_decref(j);
    pt_api_response_free(&r);

    call(api, "PUT", "/2017-10-31/functions/f1/concurrency", NULL,
         "{\"ReservedConcurrentExecutions\":0}", &r);
    assert_int_equal(r.status, 200);
    pt_api_response_free(&r);
    call(api, "POST", "/2015-03-31/functions/f1/invocations", NULL, "{}", &r);
    assert_int_equal(r.status, 429);
    j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "Reason")),
                        "ReservedFunctionConcurrentInvocationLimitExceeded");
    assert_string_equal(json_string_value(json_object_get(j, "message")), "Rate Exceeded.");
    json_decref(j);
    pt_api_response_free(&r);

    /* A new server on the same state: everything acknowledged is back. */
    pt_api_destroy(api);
    api = api_new(e, NULL);
    call(api, "GET", "/2015-03-31/functions/f1/configuration", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    j = body_json(&r);
    assert_int_equal(json_integer_value(json_object_get(j, "MemorySize")), 256);
    assert_string_equal(json_string_value(json_object_get(j, "State")), "Active");
    json_decref(j);
    pt_api_response_free(&r);
    call(api, "GET", "/2019-09-30/functions/f1/concurrency", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"ReservedConcurrentExecutions\":0"));
    pt_api_response_free(&r);
    pt_api_destroy(api);
    tu_engine_free(e);
}

static void test_signature(void **state)
{
    (void)state;
    struct pt_aws_credentials keys;
    assert_int_equal(pt_aws_credentials_set(&keys, "AKIDEXAMPLE",
                                            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL,
                                            "test", NULL),
                     0);
    struct pt_engine *e = tu_engine(NULL);
    struct pt_api *api = api_new(e, &keys);
    struct pt_api_response r;
    call(api, "GET", "/2015-03-31/functions/", NULL, NULL, &r);
    assert_int_equal(r.status, 403);
    assert_string_equal(header(&r, "x-amzn-ErrorType"), "MissingAuthenticationTokenException");
    pt_api_response_free(&r);

    struct pt_sigv4_header h[8] = {{"Host", "127.0.0.1:9001"}};
    struct pt_sigv4_request sreq = {.method = "GET", .path = "/2015-03-31/functions/",
                                    .query = "MaxItems=5", .headers = h, .header_count = 1};
    struct pt_sigv4_params p = {.creds = &keys, .region = "us-east-1", .service = "lambda",
                                .time = (int64_t)time(NULL)};
    struct pt_sigv4_signed s;
    pt_sigv4_signed_init(&s);
    assert_int_equal(pt_sigv4_sign(&sreq, &p, &s, NULL), 0);
    size_t n = 1;
    for (size_t i = 0; i < s.add_count; i++)
        h[n++] = s.add[i];
    struct pt_api_request req = {.method = "GET", .path = sreq.path, .query = sreq.query,
                                 .headers = h, .header_count = n};
    pt_api_handle(api, &req, &r);
    assert_int_equal(r.status, 200);
    pt_api_response_free(&r);
    req.query = "MaxItems=6"; /* tampered after signing */
    pt_api_handle(api, &req, &r);
    assert_int_equal(r.status, 403);
    assert_string_equal(header(&r, "x-amzn-ErrorType"), "InvalidSignatureException");
    pt_api_response_free(&r);
    pt_sigv4_signed_free(&s);
    pt_api_destroy(api);
    tu_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_errors_window_throttle_restart, tu_teardown_engines),
        cmocka_unit_test_teardown(test_signature, tu_teardown_engines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
