/*
 * test_serve_api.c - the `powertune serve` core without HTTP: pt_api_handle on requests built
 * here (status codes, AWS error shapes, the Pending window, reserved concurrency, the registry
 * surviving a restart), with real functions: invocations inside an update window run the
 * previous configuration and code; a reservation caps all versions and aliases of a function
 * together; queued Event invocations survive a restart with their attempt count. SigV4 refusal
 * and acceptance with requests signed by pt_sigv4_sign. The real clients (HTTP, kill -9) are in
 * tests/cli/test_serve.sh.
 */
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>

#include <cmocka.h>
#include <jansson.h>

#include "api/api.h"
#include "api/api_internal.h"
#include "base/clock.h"
#include "base/fs.h"
#include "base/str.h"
#include "lib/testutil.h"

/* base64 of a zip holding lambda_function.py with src. */
static char *zip_b64_of(const char *src)
{
    char *tmp = tu_mkdtemp();
    char path[4096];
    snprintf(path, sizeof(path), "%s/f.zip", tmp);
    int zerr = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    zip_file_add(z, "lambda_function.py", zip_source_buffer(z, src, strlen(src), 0), 0);
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

static struct pt_api *api_start(struct pt_engine *e, const struct pt_api_options *o)
{
    struct pt_api *api = NULL;
    struct pt_error err = {0};
    if (pt_api_create(&api, e, o, &err) != 0)
        fail_msg("pt_api_create: %s", err.msg);
    return api;
}

static struct pt_api *api_new(struct pt_engine *e, const struct pt_aws_credentials *keys)
{
    struct pt_api_options o = {.update_window_ms = 200, .keys = keys, .key_count = keys ? 1 : 0,
                               .require_signature = keys != NULL, .event_workers = 1};
    return api_start(e, &o);
}

/* An engine whose functions may run sandboxed: their code under its state must be reachable. */
static struct pt_engine *engine_for_functions(void)
{
    struct pt_engine *e = tu_engine(NULL);
    assert_int_equal(chmod(pt_engine_state_dir(e), 0755), 0);
    return e;
}

/* The server's log lines (Event attempts), for the tests to count. */
struct log_lines {
    pthread_mutex_t lock;
    char text[1 << 16];
    size_t len;
};

static void log_collect(void *arg, const char *line)
{
    struct log_lines *l = arg;
    pthread_mutex_lock(&l->lock);
    int n = snprintf(l->text + l->len, sizeof(l->text) - l->len, "%s\n", line);
    if (n > 0)
        l->len += (size_t)n < sizeof(l->text) - l->len ? (size_t)n : 0;
    pthread_mutex_unlock(&l->lock);
}

static int log_count(struct log_lines *l, const char *needle)
{
    int n = 0;
    pthread_mutex_lock(&l->lock);
    for (const char *p = l->text; (p = strstr(p, needle)); p++)
        n++;
    pthread_mutex_unlock(&l->lock);
    return n;
}

/* Waits (up to 20 s) until log_count(l, needle) reaches want. */
static void log_wait(struct log_lines *l, const char *needle, int want)
{
    for (int i = 0; i < 2000 && log_count(l, needle) < want; i++)
        pt_sleep_ms(10);
    if (log_count(l, needle) < want)
        fail_msg("no %d x '%s' in the server's log:\n%s", want, needle, l->text);
}

/* A request with one more header (NULL name: none). */
static void call_with(struct pt_api *api, const char *method, const char *path, const char *query,
                      const char *body, const char *name, const char *value,
                      struct pt_api_response *r)
{
    struct pt_sigv4_header h[] = {{"Host", "127.0.0.1"}, {name, value}};
    struct pt_api_request req = {
        .method = method, .path = path, .query = query, .headers = h,
        .header_count = name ? 2 : 1, .body = body, .body_len = body ? strlen(body) : 0,
    };
    pt_api_handle(api, &req, r);
}

/* Method, path and body answered with want; the body freed. */
static void expect_status(struct pt_api *api, const char *method, const char *path,
                          const char *body, unsigned want)
{
    struct pt_api_response r;
    call(api, method, path, NULL, body, &r);
    if (r.status != want)
        fail_msg("%s %s: %u %.*s", method, path, r.status, (int)r.body_len,
                 r.body ? r.body : "");
    pt_api_response_free(&r);
}

/* Polls GetFunctionConfiguration until the create or update window of name is over. */
static void wait_settled(struct pt_api *api, const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "/2015-03-31/functions/%s/configuration", name);
    for (int i = 0; i < 1000; i++) {
        struct pt_api_response r;
        call(api, "GET", path, NULL, NULL, &r);
        assert_int_equal(r.status, 200);
        json_t *j = body_json(&r);
        const char *st = json_string_value(json_object_get(j, "State"));
        const char *up = json_string_value(json_object_get(j, "LastUpdateStatus"));
        bool settled = st && strcmp(st, "Active") == 0 && up && strcmp(up, "Successful") == 0;
        json_decref(j);
        pt_api_response_free(&r);
        if (settled)
            return;
        pt_sleep_ms(10);
    }
    fail_msg("%s stays Pending or InProgress", name);
}

/* Creates name from src with the extra members (",\"Timeout\":5" or ""): Pending. */
static void create_fn_with(struct pt_api *api, const char *name, const char *src,
                           const char *extra)
{
    char *zip = zip_b64_of(src);
    char *body = NULL;
    assert_true(asprintf(&body,
                         "{\"FunctionName\":\"%s\",\"Runtime\":\"python3.12\","
                         "\"Role\":\"arn:aws:iam::123456789012:role/r\","
                         "\"Handler\":\"lambda_function.lambda_handler\",\"Code\":{\"ZipFile\":"
                         "\"%s\"}%s}",
                         name, zip, extra) > 0);
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

static void create_fn(struct pt_api *api, const char *name)
{
    create_fn_with(api, name, "def lambda_handler(event, context):\n    return event\n", "");
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
    /* Qualifier: 1 to 128 characters of [a-zA-Z0-9$_-] (botocore's model); an empty one breaks
     * the length constraint, not the pattern (which allows an empty string). */
    call(api, "GET", "/2015-03-31/functions/f1/configuration", "Qualifier=", NULL, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "Value '' at 'qualifier' failed to satisfy constraint: Member "
                                   "must have length greater than or equal to 1"));
    pt_api_response_free(&r);
    call(api, "GET", "/2015-03-31/functions/f1/configuration", "Qualifier=a%2Fb", NULL, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "Value 'a/b' at 'qualifier' failed to satisfy constraint: "
                                   "Member must satisfy regular expression pattern: "
                                   "(|[a-zA-Z0-9$_-]+)"));
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

/* A function telling which code and configuration ran it; {"sleep": s} makes it last. */
static const char *report_src(char *out, size_t size, int code)
{
    snprintf(out, size,
             "import os, time\n"
             "def lambda_handler(event, context):\n"
             "    if isinstance(event, dict) and event.get('sleep'):\n"
             "        time.sleep(event['sleep'])\n"
             "    return {'code': %d, 'A': os.environ.get('AA'), "
             "'version': context.function_version}\n",
             code);
    return out;
}

/* Invokes path synchronously: 200, and the function said code, A and version. */
static void expect_ran(struct pt_api *api, const char *path, const char *query, int code,
                       const char *a, const char *version)
{
    struct pt_api_response r;
    call(api, "POST", path, query, "{}", &r);
    if (r.status != 200)
        fail_msg("invoke %s: %u %.*s", path, r.status, (int)r.body_len, r.body ? r.body : "");
    json_t *j = body_json(&r);
    if (json_integer_value(json_object_get(j, "code")) != code ||
        strcmp(json_string_value(json_object_get(j, "A")) ?: "null", a) != 0 ||
        strcmp(json_string_value(json_object_get(j, "version")) ?: "", version) != 0)
        fail_msg("invoke %s: want code %d, A %s, version %s; got %.*s", path, code, a, version,
                 (int)r.body_len, r.body);
    json_decref(j);
    pt_api_response_free(&r);
}

static void test_update_window_runs_previous(void **state)
{
    (void)state;
    struct pt_engine *e = engine_for_functions();
    struct pt_api_options o = {.update_window_ms = 2500, .event_workers = 1};
    struct pt_api *api = api_start(e, &o);
    const char *inv = "/2015-03-31/functions/upd/invocations";
    char src[512];
    create_fn_with(api, "upd", report_src(src, sizeof(src), 1),
                   ",\"Timeout\":10,\"Environment\":{\"Variables\":{\"AA\":\"v0\"}}");
    wait_settled(api, "upd");

    struct pt_api_response r;
    call(api, "PUT", "/2015-03-31/functions/upd/configuration", NULL,
         "{\"Environment\":{\"Variables\":{\"AA\":\"v1\"}}}", &r);
    assert_int_equal(r.status, 200);
    json_t *j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "LastUpdateStatus")), "InProgress");
    json_decref(j);
    pt_api_response_free(&r);
    /* Lambda: until the update is Successful, invocations run the previous configuration. */
    expect_ran(api, inv, NULL, 1, "v0", "$LATEST");
    wait_settled(api, "upd");
    expect_ran(api, inv, NULL, 1, "v1", "$LATEST");

    char *zip = zip_b64_of(report_src(src, sizeof(src), 2));
    char *body = NULL;
    assert_true(asprintf(&body, "{\"ZipFile\":\"%s\"}", zip) > 0);
    call(api, "PUT", "/2015-03-31/functions/upd/code", NULL, body, &r);
    assert_int_equal(r.status, 200);
    pt_api_response_free(&r);
    expect_ran(api, inv, NULL, 1, "v1", "$LATEST"); /* and the previous code */
    wait_settled(api, "upd");
    expect_ran(api, inv, NULL, 2, "v1", "$LATEST");
    free(body);
    free(zip);
    pt_api_destroy(api);
    tu_engine_free(e);
}

struct background_invoke {
    struct pt_api *api;
    const char *path;
    const char *body;
    unsigned status;
    bool function_error;
    char result[256];
};

static void *background_invoke_run(void *arg)
{
    struct background_invoke *b = arg;
    struct pt_api_response r;
    call(b->api, "POST", b->path, NULL, b->body, &r);
    b->status = r.status;
    b->function_error = header(&r, "X-Amz-Function-Error") != NULL;
    snprintf(b->result, sizeof(b->result), "%.*s", (int)r.body_len, r.body ? r.body : "");
    pt_api_response_free(&r);
    return NULL;
}

/* Waits (up to 10 s) until n invocations run in e. */
static void wait_busy(struct pt_engine *e, int n)
{
    struct pt_engine_counts counts = {0};
    for (int i = 0; i < 1000 && counts.busy < n; i++) {
        pt_sleep_ms(10);
        pt_engine_counts(e, &counts);
    }
    assert_int_equal(counts.busy, n);
}

/* 429 with Lambda's Reason for a reservation reached. */
static void expect_reserved_throttle(struct pt_api *api, const char *path, const char *query)
{
    struct pt_api_response r;
    call(api, "POST", path, query, "{}", &r);
    if (r.status != 429)
        fail_msg("invoke %s?%s: %u, not 429: %.*s", path, query ? query : "", r.status,
                 (int)r.body_len, r.body ? r.body : "");
    assert_string_equal(header(&r, "x-amzn-ErrorType"), "TooManyRequestsException");
    json_t *j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "Reason")),
                        "ReservedFunctionConcurrentInvocationLimitExceeded");
    json_decref(j);
    pt_api_response_free(&r);
}

static void test_reserved_spans_versions(void **state)
{
    (void)state;
    struct pt_engine *e = engine_for_functions();
    struct pt_api *api = api_new(e, NULL);
    const char *inv = "/2015-03-31/functions/res/invocations";
    char src[512];
    create_fn_with(api, "res", report_src(src, sizeof(src), 1), ",\"Timeout\":10");
    wait_settled(api, "res");
    expect_status(api, "POST", "/2015-03-31/functions/res/versions", "{}", 201);
    expect_status(api, "POST", "/2015-03-31/functions/res/aliases",
                  "{\"Name\":\"live\",\"FunctionVersion\":\"1\"}", 201);
    expect_status(api, "PUT", "/2017-10-31/functions/res/concurrency",
                  "{\"ReservedConcurrentExecutions\":1}", 200);

    struct background_invoke slow = {.api = api, .path = inv, .body = "{\"sleep\": 3}"};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, background_invoke_run, &slow), 0);
    wait_busy(e, 1);
    /* $LATEST holds the function's one reserved execution: version 1 and the alias wait. */
    expect_reserved_throttle(api, inv, "Qualifier=1");
    expect_reserved_throttle(api, "/2015-03-31/functions/res:live/invocations", NULL);
    expect_reserved_throttle(api, inv, NULL);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(slow.status, 200);
    expect_ran(api, inv, "Qualifier=1", 1, "null", "1");
    expect_ran(api, "/2015-03-31/functions/res:live/invocations", NULL, 1, "null", "1");
    pt_api_destroy(api);
    tu_engine_free(e);
}

/* Files in dir holding needle (-1: no such dir). */
static int files_holding(const char *dir, const char *needle)
{
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "grep -rlF -- '%s' '%s' 2>/dev/null | wc -l", needle, dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p && fscanf(p, "%d", &n) != 1)
        n = -1;
    if (p)
        pclose(p);
    return n;
}

/* Saved events in dir (a retry's rewrite may have its temporary file beside them). */
static int saved_events(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *de; (de = readdir(d));) {
        size_t len = strlen(de->d_name);
        n += len > 6 && strcmp(de->d_name + len - 6, ".event") == 0;
    }
    closedir(d);
    return n;
}

/* An Event invoke answered with want; its x-amzn-RequestId into request_id (NULL: not kept). */
static void event_invoke(struct pt_api *api, const char *path, const char *payload,
                         unsigned want, const char *reason, char request_id[37])
{
    struct pt_api_response r;
    call_with(api, "POST", path, NULL, payload, "X-Amz-Invocation-Type", "Event", &r);
    if (r.status != want)
        fail_msg("Event %s: %u, not %u: %.*s", path, r.status, want, (int)r.body_len,
                 r.body ? r.body : "");
    if (request_id)
        pt_strlcpy(request_id, header(&r, "x-amzn-RequestId"), 37);
    if (reason) {
        json_t *j = body_json(&r);
        assert_string_equal(json_string_value(json_object_get(j, "Reason")), reason);
        json_decref(j);
    }
    pt_api_response_free(&r);
}

static void test_events_survive_restart(void **state)
{
    (void)state;
    struct pt_engine *e = engine_for_functions();
    char events[4200], logs[4200];
    snprintf(events, sizeof(events), "%s/api/events", pt_engine_state_dir(e));
    snprintf(logs, sizeof(logs), "%s/logs/evq", pt_engine_state_dir(e));
    static struct log_lines before = {.lock = PTHREAD_MUTEX_INITIALIZER};
    static struct log_lines after = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct pt_api_options o = {.update_window_ms = 200, .event_workers = 1,
                               .event_retry_delay_ms = 5000, .event_queue_max = 3,
                               .log = log_collect, .log_arg = &before};
    struct pt_api *api = api_start(e, &o);
    create_fn_with(api, "evf", "def lambda_handler(event, context):\n    raise Exception('boom')\n",
                   "");
    create_fn_with(api, "evq",
                   "def lambda_handler(event, context):\n"
                   "    print('ran', event['m'], context.aws_request_id)\n"
                   "    return event\n",
                   "");
    wait_settled(api, "evf");
    wait_settled(api, "evq");
    expect_status(api, "PUT", "/2017-10-31/functions/evq/concurrency",
                  "{\"ReservedConcurrentExecutions\":0}", 200);
    char id1[37], id2[37];
    event_invoke(api, "/2015-03-31/functions/evq/invocations", "{\"m\":\"m1\"}", 202, NULL, id1);
    event_invoke(api, "/2015-03-31/functions/evq/invocations", "{\"m\":\"m2\"}", 202, NULL, id2);
    event_invoke(api, "/2015-03-31/functions/evf/invocations", "{}", 202, NULL, NULL);
    /* The queue's bound (3 here): Lambda's refusal is a 429. */
    event_invoke(api, "/2015-03-31/functions/evf/invocations", "{}", 429,
                 "ConcurrentInvocationLimitExceeded", NULL);
    assert_int_equal(saved_events(events), 3);
    /* The first attempt fails; the retry is due 5 s later, after the restart. */
    log_wait(&before, "event evf:$LATEST (attempt 1): function error Exception: retrying", 1);
    pt_api_destroy(api);
    assert_int_equal(saved_events(events), 3);
    assert_int_equal(files_holding(events, "\"Attempt\":1"), 1);

    o.event_retry_delay_ms = 200;
    o.log_arg = &after;
    api = api_start(e, &o);
    assert_int_equal(pt_api_events_pending(api), 3);
    expect_status(api, "DELETE", "/2017-10-31/functions/evq/concurrency", NULL, 204);
    for (int i = 0; i < 3000 && pt_api_events_pending(api) > 0; i++)
        pt_sleep_ms(10);
    assert_int_equal(pt_api_events_pending(api), 0);
    /* evf went on from its second attempt, with the schedule it had. */
    assert_int_equal(log_count(&after, "event evf:$LATEST (attempt 1)"), 0);
    assert_int_equal(log_count(&after, "event evf:$LATEST (attempt 2): function error"), 1);
    assert_int_equal(
        log_count(&after, "event evf:$LATEST (attempt 3): function error Exception: no retries"),
        1);
    /* Both throttled events ran, under the ids their 202s gave, and every event's file went. */
    char ran[64];
    snprintf(ran, sizeof(ran), "ran m1 %s", id1);
    assert_true(files_holding(logs, ran) >= 1);
    snprintf(ran, sizeof(ran), "ran m2 %s", id2);
    assert_true(files_holding(logs, ran) >= 1);
    assert_int_equal(saved_events(events), 0);
    pt_api_destroy(api);
    tu_engine_free(e);
}

/* Deleting a function drops its queued Event invocations and their files; others stay. */
static void test_delete_function_drops_its_events(void **state)
{
    (void)state;
    struct pt_engine *e = engine_for_functions();
    char events[4200];
    snprintf(events, sizeof(events), "%s/api/events", pt_engine_state_dir(e));
    struct pt_api *api = api_new(e, NULL);
    create_fn(api, "gone");
    create_fn(api, "kept");
    wait_settled(api, "gone");
    wait_settled(api, "kept");
    /* Reserved concurrency 0: the events wait in the queue. */
    expect_status(api, "PUT", "/2017-10-31/functions/gone/concurrency",
                  "{\"ReservedConcurrentExecutions\":0}", 200);
    expect_status(api, "PUT", "/2017-10-31/functions/kept/concurrency",
                  "{\"ReservedConcurrentExecutions\":0}", 200);
    event_invoke(api, "/2015-03-31/functions/gone/invocations", "{}", 202, NULL, NULL);
    event_invoke(api, "/2015-03-31/functions/gone/invocations", "{}", 202, NULL, NULL);
    event_invoke(api, "/2015-03-31/functions/kept/invocations", "{}", 202, NULL, NULL);
    assert_int_equal(saved_events(events), 3);
    expect_status(api, "DELETE", "/2015-03-31/functions/gone", NULL, 204);
    /* At once on disk, even for an event a worker is running (throttled) right now... */
    assert_int_equal(saved_events(events), 1);
    /* ...which its worker then drops instead of queueing it again. */
    for (int i = 0; i < 3000 && pt_api_events_pending(api) > 1; i++)
        usleep(1000);
    assert_int_equal(pt_api_events_pending(api), 1);
    usleep(20000); /* a worker that had queued it again would have rewritten its file by now */
    assert_int_equal(saved_events(events), 1);
    pt_api_destroy(api);
    tu_engine_free(e);
}

/* Lambda's Invoke answers with the invocation's own id: the one the function's context holds. */
static void test_invoke_request_id_is_the_functions(void **state)
{
    (void)state;
    struct pt_engine *e = engine_for_functions();
    struct pt_api *api = api_new(e, NULL);
    create_fn_with(api, "rid", "def lambda_handler(event, context):\n    return context.aws_request_id\n",
                   "");
    wait_settled(api, "rid");
    for (int i = 0; i < 2; i++) { /* cold, then warm */
        struct pt_api_response r;
        call(api, "POST", "/2015-03-31/functions/rid/invocations", NULL, "{}", &r);
        assert_int_equal(r.status, 200);
        char want[64];
        snprintf(want, sizeof(want), "\"%s\"", header(&r, "x-amzn-RequestId"));
        assert_int_equal(r.body_len, strlen(want));
        assert_memory_equal(r.body, want, r.body_len);
        pt_api_response_free(&r);
    }
    pt_api_destroy(api);
    tu_engine_free(e);
}

/* Unpacked code trees under a function's code/ directory (each has a .zip beside it). */
static int code_trees(struct pt_engine *e, const char *name)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/api/functions/%s/code", pt_engine_state_dir(e), name);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *de; (de = readdir(d));)
        n += de->d_name[0] != '.' && !strstr(de->d_name, ".zip");
    closedir(d);
    return n;
}

static void update_code(struct pt_api *api, const char *name, const char *src)
{
    char *zip = zip_b64_of(src);
    char *body = NULL, path[256];
    assert_true(asprintf(&body, "{\"ZipFile\":\"%s\"}", zip) > 0);
    snprintf(path, sizeof(path), "/2015-03-31/functions/%s/code", name);
    expect_status(api, "PUT", path, body, 200);
    free(body);
    free(zip);
}

/*
 * Code no configuration uses any more goes while the server runs, not only at the next start
 * (every UpdateFunctionCode used to leave its predecessor's zip and tree behind), but not while
 * an invocation still runs it, nor while a version was published from it.
 */
static void test_replaced_code_is_removed(void **state)
{
    (void)state;
    struct pt_engine *e = engine_for_functions();
    struct pt_api *api = api_new(e, NULL);
    const char *inv = "/2015-03-31/functions/gc/invocations";
    const char *src = "import time\n"
                      "def lambda_handler(event, context):\n"
                      "    time.sleep(event.get('s', 0))\n"
                      "    return %d\n";
    char code[256];
    snprintf(code, sizeof(code), src, 1);
    create_fn_with(api, "gc", code, ",\"Timeout\":10");
    wait_settled(api, "gc");
    assert_int_equal(code_trees(e, "gc"), 1);

    struct background_invoke slow = {.api = api, .path = inv, .body = "{\"s\": 1.5}"};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, background_invoke_run, &slow), 0);
    pt_sleep_ms(500);
    snprintf(code, sizeof(code), src, 2);
    update_code(api, "gc", code);
    wait_settled(api, "gc");
    expect_status(api, "POST", inv, "{}", 200); /* the update window is over */
    assert_int_equal(code_trees(e, "gc"), 2);   /* the slow invocation still runs code 1 */
    pthread_join(t, NULL);
    assert_int_equal(slow.status, 200);
    assert_int_equal(code_trees(e, "gc"), 1);

    expect_status(api, "POST", "/2015-03-31/functions/gc/versions", "{}", 201);
    snprintf(code, sizeof(code), src, 3);
    update_code(api, "gc", code);
    wait_settled(api, "gc");
    expect_status(api, "POST", inv, "{}", 200);
    assert_int_equal(code_trees(e, "gc"), 2); /* version 1 runs code 2 */
    struct pt_api_response r;
    call(api, "DELETE", "/2015-03-31/functions/gc", "Qualifier=1", NULL, &r);
    assert_int_equal(r.status, 204);
    pt_api_response_free(&r);
    assert_int_equal(code_trees(e, "gc"), 1);
    pt_api_destroy(api);
    tu_engine_free(e);
}

/* The invocation b ran to its end with the code that returns want. */
static void expect_finished(pthread_t t, struct background_invoke *b, const char *want)
{
    assert_int_equal(pthread_join(t, NULL), 0);
    if (b->status != 200 || b->function_error || strcmp(b->result, want) != 0)
        fail_msg("invoke %s: %u%s %s, want 200 %s", b->path, b->status,
                 b->function_error ? " (function error)" : "", b->result, want);
}

/*
 * As on Lambda, invocations running when their function (or version) is deleted finish with its
 * code, read lazily here as a late import would: that code goes when the last returns, while a
 * function re-created at once under the name runs its own. (The function's directory used to be
 * removed at once: the running invocation failed, and a cold start of one already accepted could
 * not find its code.)
 */
static void test_delete_keeps_running_code(void **state)
{
    (void)state;
    struct pt_engine *e = engine_for_functions();
    struct pt_api *api = api_new(e, NULL);
    const char *src = "import time\n"
                      "def lambda_handler(event, context):\n"
                      "    time.sleep(event.get('s', 0))\n"
                      "    open('lambda_function.py').close()\n"
                      "    return %d\n";
    char code[256], dir[4200];
    snprintf(code, sizeof(code), src, 1);
    create_fn_with(api, "del", code, ",\"Timeout\":10");
    wait_settled(api, "del");
    struct background_invoke slow = {.api = api, .path = "/2015-03-31/functions/del/invocations",
                                   .body = "{\"s\": 1.5}"};
    /* Another one accepted meanwhile: its cold start is most likely not over at the delete. */
    struct background_invoke cold = slow;
    pthread_t t, t_cold;
    assert_int_equal(pthread_create(&t, NULL, background_invoke_run, &slow), 0);
    wait_busy(e, 1);
    assert_int_equal(pthread_create(&t_cold, NULL, background_invoke_run, &cold), 0);
    wait_busy(e, 2);
    expect_status(api, "DELETE", "/2015-03-31/functions/del", NULL, 204);
    expect_status(api, "POST", slow.path, "{}", 404);
    snprintf(code, sizeof(code), src, 2);
    create_fn_with(api, "del", code, ",\"Timeout\":10");
    wait_settled(api, "del");
    struct background_invoke fresh = {.api = api, .path = slow.path, .body = "{}"};
    background_invoke_run(&fresh);
    assert_int_equal(fresh.status, 200);
    assert_string_equal(fresh.result, "2");
    assert_int_equal(code_trees(e, "del"), 2);
    expect_finished(t, &slow, "1");
    expect_finished(t_cold, &cold, "1");
    assert_int_equal(code_trees(e, "del"), 1);
    expect_status(api, "DELETE", "/2015-03-31/functions/del", NULL, 204);
    snprintf(dir, sizeof(dir), "%s/api/functions/del", pt_engine_state_dir(e));
    assert_false(pt_path_is_dir(dir)); /* nothing runs it: gone at once */

    /* A version deleted while it runs code $LATEST has replaced since. */
    snprintf(code, sizeof(code), src, 1);
    create_fn_with(api, "ver", code, ",\"Timeout\":10");
    wait_settled(api, "ver");
    expect_status(api, "POST", "/2015-03-31/functions/ver/versions", "{}", 201);
    snprintf(code, sizeof(code), src, 2);
    update_code(api, "ver", code);
    wait_settled(api, "ver");
    struct background_invoke v1 = {.api = api, .path = "/2015-03-31/functions/ver:1/invocations",
                                 .body = "{\"s\": 1.5}"};
    assert_int_equal(pthread_create(&t, NULL, background_invoke_run, &v1), 0);
    wait_busy(e, 1);
    struct pt_api_response r;
    call(api, "DELETE", "/2015-03-31/functions/ver", "Qualifier=1", NULL, &r);
    assert_int_equal(r.status, 204);
    pt_api_response_free(&r);
    expect_status(api, "POST", v1.path, "{}", 404);
    expect_finished(t, &v1, "1");
    assert_int_equal(code_trees(e, "ver"), 1);
    pt_api_destroy(api);
    tu_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_errors_window_throttle_restart, tu_teardown_engines),
        cmocka_unit_test_teardown(test_signature, tu_teardown_engines),
        cmocka_unit_test_teardown(test_update_window_runs_previous, tu_teardown_engines),
        cmocka_unit_test_teardown(test_reserved_spans_versions, tu_teardown_engines),
        cmocka_unit_test_teardown(test_events_survive_restart, tu_teardown_engines),
        cmocka_unit_test_teardown(test_invoke_request_id_is_the_functions, tu_teardown_engines),
        cmocka_unit_test_teardown(test_delete_function_drops_its_events, tu_teardown_engines),
        cmocka_unit_test_teardown(test_replaced_code_is_removed, tu_teardown_engines),
        cmocka_unit_test_teardown(test_delete_keeps_running_code, tu_teardown_engines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
