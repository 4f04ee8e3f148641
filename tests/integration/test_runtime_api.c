/*
 * The Runtime API server against a real HTTP client (libcurl): every path,
 * status code, header and error body of lambda-wire.md §1, the long poll,
 * and the freeze/thaw and INIT hooks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "engine/runtime_api.h"

struct hook_log {
    int freezes;
    int thaws;
    int init_done;
};

static void hook_frozen(void *arg, bool frozen)
{
    struct hook_log *h = arg;
    if (frozen)
        h->freezes++;
    else
        h->thaws++;
}

static void hook_init(void *arg)
{
    ((struct hook_log *)arg)->init_done++;
}

struct http_reply {
    long status;
    struct pt_buf body;
    struct pt_buf headers;
};

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
    pt_buf_append(ud, p, sz * n, NULL);
    return sz * n;
}

static void http(int port, const char *method, const char *path, const char *body, size_t body_len,
                 const char *extra_header, struct http_reply *out)
{
    pt_buf_init(&out->body, 0);
    pt_buf_init(&out->headers, 0);
    CURL *c = curl_easy_init();
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/2018-06-01/%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, "Expect:");
    if (extra_header)
        h = curl_slist_append(h, extra_header);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &out->headers);
    CURLcode rc = curl_easy_perform(c);
    out->status = -1;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

static void reply_free(struct http_reply *r)
{
    pt_buf_free(&r->body);
    pt_buf_free(&r->headers);
}

static const char *header_value(struct http_reply *r, const char *name, char *out, size_t size)
{
    const char *p = r->headers.data;
    size_t n = strlen(name);
    while (p && *p) {
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            p += n + 1;
            while (*p == ' ')
                p++;
            size_t i = 0;
            while (p[i] && p[i] != '\r' && p[i] != '\n' && i + 1 < size) {
                out[i] = p[i];
                i++;
            }
            out[i] = '\0';
            return out;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return NULL;
}

struct fixture {
    struct pt_rapi *r;
    struct hook_log hooks;
    int port;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct pt_rapi_hooks hooks = {.set_frozen = hook_frozen, .init_done = hook_init, .arg = &f->hooks};
    struct pt_error err = {0};
    assert_int_equal(pt_rapi_start(&f->r, &hooks, true, &err), 0);
    f->port = pt_rapi_port(f->r);
    assert_true(f->port > 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    pt_rapi_stop(f->r);
    free(f);
    return 0;
}

static void deliver(struct fixture *f, const char *id, const char *payload, const char *trace)
{
    struct pt_rapi_invocation inv = {
        .request_id = id, .payload = payload, .payload_len = strlen(payload), .timeout_ms = 3000,
        .invoked_arn = "arn:aws:lambda:us-east-1:123456789012:function:f", .trace_id = trace,
        .client_context = trace ? "{\"custom\":{\"k\":\"v\"}}" : NULL,
        .cognito_identity = trace ? "{\"cognitoIdentityId\":\"i\",\"cognitoIdentityPoolId\":\"p\"}" : NULL};
    struct pt_error err = {0};
    assert_int_equal(pt_rapi_deliver(f->r, &inv, &err), 0);
}

static void test_next_headers_and_body(void **state)
{
    struct fixture *f = *state;
    deliver(f, "req-1", "{\"a\":1}", NULL);
    int64_t before = pt_epoch_ms();
    struct http_reply r;
    http(f->port, "GET", "runtime/invocation/next", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.data, "{\"a\":1}");
    char v[256];
    assert_non_null(header_value(&r, "Lambda-Runtime-Aws-Request-Id", v, sizeof(v)));
    assert_string_equal(v, "req-1");
    assert_non_null(header_value(&r, "Lambda-Runtime-Invoked-Function-Arn", v, sizeof(v)));
    assert_string_equal(v, "arn:aws:lambda:us-east-1:123456789012:function:f");
    assert_non_null(header_value(&r, "Lambda-Runtime-Deadline-Ms", v, sizeof(v)));
    long long deadline = atoll(v);
    assert_true(deadline >= before + 3000 && deadline <= pt_epoch_ms() + 3000);
    assert_non_null(header_value(&r, "Content-Type", v, sizeof(v)));
    assert_string_equal(v, "application/json");
    /* Optional headers only when set. */
    assert_null(header_value(&r, "Lambda-Runtime-Trace-Id", v, sizeof(v)));
    assert_null(header_value(&r, "Lambda-Runtime-Client-Context", v, sizeof(v)));
    assert_null(header_value(&r, "Lambda-Runtime-Cognito-Identity", v, sizeof(v)));
    assert_int_equal(f->hooks.init_done, 1);
    reply_free(&r);
}

/* A deadline that started before the hand-over (an INIT retried under the function timeout)
 * is that start plus the timeout, not the hand-over's moment plus it. */
static void test_deadline_from_an_earlier_start(void **state)
{
    struct fixture *f = *state;
    struct pt_rapi_invocation inv = {
        .request_id = "req-d", .payload = "{}", .payload_len = 2, .timeout_ms = 3000,
        .start_ns = pt_mono_ns() - 1000 * 1000000LL, .invoked_arn = "arn"};
    struct pt_error err = {0};
    assert_int_equal(pt_rapi_deliver(f->r, &inv, &err), 0);
    int64_t before = pt_epoch_ms();
    struct http_reply r;
    http(f->port, "GET", "runtime/invocation/next", NULL, 0, NULL, &r);
    char v[64];
    assert_non_null(header_value(&r, "Lambda-Runtime-Deadline-Ms", v, sizeof(v)));
    long long deadline = atoll(v);
    assert_true(deadline >= before + 1990 && deadline <= pt_epoch_ms() + 2000);
    reply_free(&r);
}

/* A GET /next that carries a body (some clients send one) still gets the event; the event was
 * handed over before the body was read, and libmicrohttpd closed the connection instead. */
static void test_next_with_a_body(void **state)
{
    struct fixture *f = *state;
    deliver(f, "req-b", "{\"b\":1}", NULL);
    struct http_reply r;
    http(f->port, "GET", "runtime/invocation/next", "hello", 5, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.data, "{\"b\":1}");
    reply_free(&r);
}

static void test_optional_headers(void **state)
{
    struct fixture *f = *state;
    deliver(f, "req-2", "{}", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1");
    struct http_reply r;
    http(f->port, "GET", "runtime/invocation/next", NULL, 0, NULL, &r);
    char v[256];
    assert_non_null(header_value(&r, "Lambda-Runtime-Trace-Id", v, sizeof(v)));
    assert_string_equal(v, "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1");
    assert_non_null(header_value(&r, "Lambda-Runtime-Client-Context", v, sizeof(v)));
    assert_string_equal(v, "{\"custom\":{\"k\":\"v\"}}");
    assert_non_null(header_value(&r, "Lambda-Runtime-Cognito-Identity", v, sizeof(v)));
    reply_free(&r);
}

/* A client context is JSON the caller base64-encoded, and may be pretty-printed: a header value
 * cannot hold its line breaks, and libmicrohttpd dropped the whole header. They become spaces
 * (JSON whitespace; Go's net/http, RIE's server, does the same). */
static void test_multiline_client_context(void **state)
{
    struct fixture *f = *state;
    struct pt_rapi_invocation inv = {
        .request_id = "req-c", .payload = "{}", .payload_len = 2, .timeout_ms = 3000,
        .invoked_arn = "arn", .client_context = "{\r\n  \"custom\": {\"k\": \"v\"}\n}",
        .cognito_identity = "{\n\"cognitoIdentityId\": \"i\"}"};
    struct pt_error err = {0};
    assert_int_equal(pt_rapi_deliver(f->r, &inv, &err), 0);
    struct http_reply r;
    http(f->port, "GET", "runtime/invocation/next", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    char v[256];
    assert_non_null(header_value(&r, "Lambda-Runtime-Client-Context", v, sizeof(v)));
    assert_string_equal(v, "{    \"custom\": {\"k\": \"v\"} }");
    assert_non_null(header_value(&r, "Lambda-Runtime-Cognito-Identity", v, sizeof(v)));
    assert_string_equal(v, "{ \"cognitoIdentityId\": \"i\"}");
    reply_free(&r);
}

static void test_response_codes(void **state)
{
    struct fixture *f = *state;
    deliver(f, "req-3", "{}", NULL);
    struct http_reply r;
    http(f->port, "GET", "runtime/invocation/next", NULL, 0, NULL, &r);
    reply_free(&r);

    http(f->port, "POST", "runtime/invocation/wrong-id/response", "1", 1, NULL, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.body.data,
                        "{\"errorMessage\":\"Invalid request ID\",\"errorType\":\"InvalidRequestID\"}");
    reply_free(&r);

    /* An id longer than any invocation's is an invalid id too, not an unknown path. */
    char longer[128 + 64];
    snprintf(longer, sizeof(longer), "runtime/invocation/%0100d/error", 7);
    http(f->port, "POST", longer, "1", 1, NULL, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body.data, "\"InvalidRequestID\""));
    reply_free(&r);

    http(f->port, "POST", "runtime/invocation/req-3/response", "{\"ok\":true}", 11, NULL, &r);
    assert_int_equal(r.status, 202);
    assert_string_equal(r.body.data, "{\"status\":\"OK\"}");
    reply_free(&r);

    struct pt_rapi_result res;
    assert_int_equal(pt_rapi_take_result(f->r, &res), 0);
    assert_int_equal(res.kind, PT_RAPI_RESPONSE);
    assert_string_equal(res.body, "{\"ok\":true}");
    pt_rapi_result_free(&res);

    http(f->port, "POST", "runtime/invocation/req-3/error", "{}", 2, NULL, &r);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.body.data, "\"errorType\":\"InvalidStateTransition\""));
    reply_free(&r);
}

static void test_error_post(void **state)
{
    struct fixture *f = *state;
    deliver(f, "req-4", "{}", NULL);
    struct http_reply r;
    http(f->port, "GET", "runtime/invocation/next", NULL, 0, NULL, &r);
    reply_free(&r);
    const char *doc = "{\"errorMessage\":\"boom\",\"errorType\":\"ValueError\",\"stackTrace\":[]}";
    http(f->port, "POST", "runtime/invocation/req-4/error", doc, strlen(doc),
         "Lambda-Runtime-Function-Error-Type: Runtime.ValueError", &r);
    assert_int_equal(r.status, 202);
    reply_free(&r);
    struct pt_rapi_result res;
    assert_int_equal(pt_rapi_take_result(f->r, &res), 0);
    assert_int_equal(res.kind, PT_RAPI_ERROR);
    assert_string_equal(res.error_type, "Runtime.ValueError");
    assert_string_equal(res.body, doc);
    pt_rapi_result_free(&res);
}

/* Lambda's response modes are the default (no header) and streaming; any other value is refused
 * 400 InvalidFunctionResponseMode and fails the invocation with Runtime.InvalidResponseModeHeader
 * (RIE invocationresponse.go). It was taken as an ordinary response. */
static void test_invalid_response_mode(void **state)
{
    struct fixture *f = *state;
    deliver(f, "req-m", "{}", NULL);
    struct http_reply r;
    http(f->port, "GET", "runtime/invocation/next", NULL, 0, NULL, &r);
    reply_free(&r);
    http(f->port, "POST", "runtime/invocation/req-m/response", "{}", 2,
         "Lambda-Runtime-Function-Response-Mode: buffered-please", &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.body.data, "{\"errorMessage\":\"Invalid function response mode\","
                                     "\"errorType\":\"InvalidFunctionResponseMode\"}");
    reply_free(&r);
    struct pt_rapi_result res;
    assert_int_equal(pt_rapi_take_result(f->r, &res), 0);
    assert_int_equal(res.kind, PT_RAPI_INVALID_MODE);
    pt_rapi_result_free(&res);
    /* The invocation is over: a second try is a transition from a sent response. */
    http(f->port, "POST", "runtime/invocation/req-m/response", "{}", 2, NULL, &r);
    assert_int_equal(r.status, 403);
    reply_free(&r);
}

/* aws-lambda-go puts an error's X-Ray cause (its message and stack) in a header of up to 1 MiB,
 * and Lambda keeps 64 KiB of it: a 100 KB one must not reset the connection (it did above
 * 32 KiB, and the runtime exited instead of reporting its error). */
static void test_large_xray_cause_header(void **state)
{
    struct fixture *f = *state;
    deliver(f, "req-x", "{}", NULL);
    struct http_reply r;
    http(f->port, "GET", "runtime/invocation/next", NULL, 0, NULL, &r);
    reply_free(&r);
    const char *name = "Lambda-Runtime-Function-XRay-Error-Cause: ";
    size_t n = 100 * 1000;
    char *header = malloc(strlen(name) + n + 64);
    sprintf(header, "%s{\"exceptions\":[{\"message\":\"", name);
    size_t len = strlen(header);
    memset(header + len, 'x', n);
    strcpy(header + len + n, "\"}]}");
    const char *doc = "{\"errorMessage\":\"boom\",\"errorType\":\"Error\"}";
    http(f->port, "POST", "runtime/invocation/req-x/error", doc, strlen(doc), header, &r);
    free(header);
    assert_int_equal(r.status, 202);
    reply_free(&r);
    struct pt_rapi_result res;
    assert_int_equal(pt_rapi_take_result(f->r, &res), 0);
    assert_int_equal(res.kind, PT_RAPI_ERROR);
    assert_string_equal(res.body, doc);
    pt_rapi_result_free(&res);
}

static void test_oversize_response(void **state)
{
    struct fixture *f = *state;
    deliver(f, "req-5", "{}", NULL);
    struct http_reply r;
    http(f->port, "GET", "runtime/invocation/next", NULL, 0, NULL, &r);
    reply_free(&r);
    size_t n = 6291556 + 1;
    char *big = malloc(n);
    memset(big, 'x', n);
    http(f->port, "POST", "runtime/invocation/req-5/response", big, n, NULL, &r);
    free(big);
    assert_int_equal(r.status, 413);
    assert_string_equal(r.body.data, "{\"errorMessage\":\"Exceeded maximum allowed payload size "
                                     "(6291556 bytes).\",\"errorType\":\"RequestEntityTooLarge\"}");
    reply_free(&r);
    struct pt_rapi_result res;
    assert_int_equal(pt_rapi_take_result(f->r, &res), 0);
    assert_int_equal(res.kind, PT_RAPI_TOO_LARGE);
    pt_rapi_result_free(&res);
}

static void test_exact_limit_accepted(void **state)
{
    struct fixture *f = *state;
    deliver(f, "req-6", "{}", NULL);
    struct http_reply r;
    http(f->port, "GET", "runtime/invocation/next", NULL, 0, NULL, &r);
    reply_free(&r);
    size_t n = 6291556;
    char *big = malloc(n);
    memset(big, 'y', n);
    http(f->port, "POST", "runtime/invocation/req-6/response", big, n, NULL, &r);
    free(big);
    assert_int_equal(r.status, 202);
    reply_free(&r);
    struct pt_rapi_result res;
    assert_int_equal(pt_rapi_take_result(f->r, &res), 0);
    assert_int_equal(res.kind, PT_RAPI_RESPONSE);
    assert_int_equal(res.len, n);
    pt_rapi_result_free(&res);
}

/* An error document is the invoker's payload, as a response is: the same 6 MB limit, not less
 * (a Python exception with a 2 MB message reaches the caller on Lambda). */
static void test_large_error_accepted(void **state)
{
    struct fixture *f = *state;
    deliver(f, "req-7", "{}", NULL);
    struct http_reply r;
    http(f->port, "GET", "runtime/invocation/next", NULL, 0, NULL, &r);
    reply_free(&r);
    size_t n = 2 * 1024 * 1024;
    char *big = malloc(n);
    memset(big, 'e', n);
    http(f->port, "POST", "runtime/invocation/req-7/error", big, n,
         "Lambda-Runtime-Function-Error-Type: ValueError", &r);
    free(big);
    assert_int_equal(r.status, 202);
    reply_free(&r);
    struct pt_rapi_result res;
    assert_int_equal(pt_rapi_take_result(f->r, &res), 0);
    assert_int_equal(res.kind, PT_RAPI_ERROR);
    assert_int_equal(res.len, n);
    pt_rapi_result_free(&res);
}

struct poller {
    int port;
    struct http_reply reply;
};

static void *poll_next(void *p)
{
    struct poller *pl = p;
    http(pl->port, "GET", "runtime/invocation/next", NULL, 0, NULL, &pl->reply);
    return NULL;
}

static void test_long_poll_freeze_thaw(void **state)
{
    struct fixture *f = *state;
    struct poller pl = {.port = f->port};
    pthread_t t;
    pthread_create(&t, NULL, poll_next, &pl);
    /* The runtime parks: the environment is frozen, INIT is over. */
    for (int i = 0; i < 200 && f->hooks.freezes == 0; i++)
        usleep(5000);
    assert_int_equal(f->hooks.freezes, 1);
    assert_int_equal(f->hooks.init_done, 1);
    struct pt_rapi_status st;
    pt_rapi_status(f->r, &st);
    assert_true(st.first_next_ns > 0);
    assert_int_equal(st.delivered_ns, 0);
    usleep(100000); /* still parked */
    deliver(f, "req-7", "{\"late\":1}", NULL);
    pthread_join(t, NULL);
    assert_int_equal(f->hooks.thaws, 1);
    assert_int_equal(pl.reply.status, 200);
    assert_string_equal(pl.reply.body.data, "{\"late\":1}");
    reply_free(&pl.reply);
    pt_rapi_status(f->r, &st);
    assert_true(st.delivered_ns >= st.first_next_ns);
}

static void test_init_error(void **state)
{
    struct fixture *f = *state;
    const char *doc = "{\"errorMessage\":\"Unable to import module 'x'\",\"errorType\":\"Runtime.ImportModuleError\"}";
    struct http_reply r;
    http(f->port, "POST", "runtime/init/error", doc, strlen(doc),
         "Lambda-Runtime-Function-Error-Type: Runtime.ImportModuleError", &r);
    assert_int_equal(r.status, 202);
    reply_free(&r);
    struct pt_rapi_status st;
    pt_rapi_status(f->r, &st);
    assert_true(st.init_error);
    struct pt_rapi_result res;
    assert_int_equal(pt_rapi_take_init_error(f->r, &res), 0);
    assert_string_equal(res.error_type, "Runtime.ImportModuleError");
    assert_string_equal(res.body, doc);
    pt_rapi_result_free(&res);
}

/* After /init/error INIT has failed: a /next is refused (RIE: 403, InitError to Ready), and it
 * does not end INIT. It did: a runtime that went on to /next quickly enough (the engine pumps
 * the server a few rounds at a time) got the event, and its INIT error was lost. */
static void test_next_after_init_error_refused(void **state)
{
    struct fixture *f = *state;
    deliver(f, "req-i", "{}", NULL);
    struct http_reply r;
    http(f->port, "POST", "runtime/init/error", "{}", 2, NULL, &r);
    assert_int_equal(r.status, 202);
    reply_free(&r);
    http(f->port, "GET", "runtime/invocation/next", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 403);
    assert_string_equal(r.body.data, "{\"errorMessage\":\"State transition from InitError to Ready "
                                     "failed for runtime. Error: State transition is not "
                                     "allowed\",\"errorType\":\"InvalidStateTransition\"}");
    reply_free(&r);
    struct pt_rapi_status st;
    pt_rapi_status(f->r, &st);
    assert_true(st.init_error);
    assert_int_equal(st.first_next_ns, 0);
    assert_int_equal(st.delivered_ns, 0);
    assert_int_equal(f->hooks.init_done, 0);
}

static void test_init_error_after_init_refused(void **state)
{
    struct fixture *f = *state;
    deliver(f, "req-8", "{}", NULL);
    struct http_reply r;
    http(f->port, "GET", "runtime/invocation/next", NULL, 0, NULL, &r);
    reply_free(&r);
    http(f->port, "POST", "runtime/init/error", "{}", 2, NULL, &r);
    assert_int_equal(r.status, 403);
    reply_free(&r);
}

static void test_unknown_paths(void **state)
{
    struct fixture *f = *state;
    struct http_reply r;
    http(f->port, "GET", "runtime/nothing", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 404);
    reply_free(&r);
    http(f->port, "POST", "runtime/invocation/next", "x", 1, NULL, &r);
    assert_int_equal(r.status, 405);
    reply_free(&r);
    http(f->port, "GET", "runtime/invocation/abc/response", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 405);
    reply_free(&r);
}

static void test_stop_releases_parked_poll(void **state)
{
    struct fixture *f = *state;
    struct poller pl = {.port = f->port};
    pthread_t t;
    pthread_create(&t, NULL, poll_next, &pl);
    for (int i = 0; i < 200 && f->hooks.freezes == 0; i++)
        usleep(5000);
    pt_rapi_stop(f->r);
    f->r = NULL;
    pthread_join(t, NULL); /* the parked client is released, not left hanging */
    assert_true(pl.reply.status != 200);
    reply_free(&pl.reply);
}

/* One HTTP exchange written and read by hand on a connected descriptor; the reply's text. */
static void raw_exchange(int fd, const char *request, char *out, size_t size)
{
    assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
    size_t n = 0;
    for (;;) {
        ssize_t got = read(fd, out + n, size - 1 - n);
        assert_true(got > 0);
        n += (size_t)got;
        out[n] = '\0';
        const char *end = strstr(out, "\r\n\r\n");
        const char *cl = strcasestr(out, "Content-Length:");
        if (end && cl && n >= (size_t)(end + 4 - out) + strtoul(cl + 15, NULL, 10))
            return;
    }
}

/* A connection the caller made (the engine's handed socketpair) is served like an accepted one. */
static void test_handed_connection(void **state)
{
    struct fixture *f = *state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    struct pt_error err = {0};
    assert_int_equal(pt_rapi_add_connection(f->r, sv[0], &err), 0);
    deliver(f, "req-h", "{\"h\":1}", NULL);
    char reply[4096];
    raw_exchange(sv[1], "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n",
                 reply, sizeof(reply));
    assert_true(strncmp(reply, "HTTP/1.1 200", 12) == 0);
    assert_non_null(strstr(reply, "Lambda-Runtime-Aws-Request-Id: req-h\r\n"));
    assert_non_null(strstr(reply, "\r\n\r\n{\"h\":1}"));
    /* the same connection, kept alive, for the result */
    raw_exchange(sv[1],
                 "POST /2018-06-01/runtime/invocation/req-h/response HTTP/1.1\r\nHost: x\r\n"
                 "Content-Length: 4\r\n\r\n\"ok\"",
                 reply, sizeof(reply));
    assert_true(strncmp(reply, "HTTP/1.1 202", 12) == 0);
    struct pt_rapi_result res;
    assert_int_equal(pt_rapi_take_result(f->r, &res), 0);
    assert_string_equal(res.body, "\"ok\"");
    pt_rapi_result_free(&res);
    close(sv[1]);
}

static int teardown_maybe_stopped(void **state)
{
    struct fixture *f = *state;
    if (f->r)
        pt_rapi_stop(f->r);
    free(f);
    return 0;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_next_headers_and_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline_from_an_earlier_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_with_a_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_optional_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multiline_client_context, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_post, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_response_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_xray_cause_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversize_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exact_limit_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_error_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_poll_freeze_thaw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_after_init_error_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_error_after_init_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handed_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_releases_parked_poll, setup, teardown_maybe_stopped),
    };
    int rc = cmocka_run_group_tests_name("runtime_api", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
