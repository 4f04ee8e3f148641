/*
 * powertune_lambda.c - the Lambda Runtime API client behind ptl_run().
 *
 * The loop is GET /next (blocking, no timeout: the engine freezes the
 * process while it waits), call the handler, POST /response or /error,
 * repeat. Everything lives in one struct reused across invocations: one
 * kept-alive connection of the library's own HTTP client (ptl_http.c, which
 * says why it is not libcurl), one growing event buffer, fixed header
 * buffers. That keeps a warm no-op invocation to two small HTTP exchanges,
 * each a write and a read.
 */
#include "powertune_lambda.h"
#include "powertune_lambda_internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#define PTL_API_VERSION "/2018-06-01"
#define PTL_NEXT_PATH PTL_API_VERSION "/runtime/invocation/next"
#define PTL_PATH_MAX (PTL_REQUEST_ID_MAX + 64)
/*
 * /response and /error are answered by the engine at once; a few seconds
 * only guards against a wedged platform, and is generous enough for a
 * 6 MiB body on a throttled 128 MB function.
 */
#define PTL_POST_TIMEOUT_MS 5000L
#define PTL_REPLY_MAX 512 /* what we keep of a /response or /error reply, for messages */
#define PTL_EVENT_INITIAL (64 * 1024)
#define PTL_ERROR_CONTENT_TYPE "application/vnd.aws.lambda.error+json"
#define PTL_DEFAULT_CONTENT_TYPE "application/json"
#define PTL_CT_MAX 256
#define PTL_EVENT_TOO_LARGE 1

/* The runtime loop's state: the only mutable global of the library. */
struct ptl_runtime {
    int ready;
    struct ptl_http http;
    char path[PTL_PATH_MAX];  /* scratch for /response and /error */

    struct ptl_next_headers hdr;
    char *event;
    size_t event_len, event_cap;
    int event_refused;        /* why event_sink refused: PTL_EVENT_TOO_LARGE or PTL_ENOMEM */
    char reply[PTL_REPLY_MAX];
    size_t reply_len;

    char resp_headers[sizeof "Content-Type: \r\n" + PTL_CT_MAX]; /* of the last response, cached */
    char resp_ct[PTL_CT_MAX];
    /*
     * "_X_AMZN_TRACE_ID=<id>", handed to putenv() and rewritten in place:
     * glibc's setenv() never frees a value, so one per invocation would leak.
     */
    char trace_env[sizeof "_X_AMZN_TRACE_ID=" + PTL_TRACE_ID_MAX];
    int trace_env_set;

    struct ptl_context ctx;
};

/*
 * The library's only state: there is one runtime per function process, and the public API
 * (ptl_run, ptl_init_error) is a pair of plain calls with no handle to carry it.
 */
static struct ptl_runtime g_rt;

static void ptl_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ptl_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("powertune_lambda: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- pure parts (see powertune_lambda_internal.h) ---- */

void ptl_headers_reset(struct ptl_next_headers *h)
{
    h->request_id[0] = '\0';
    h->invoked_arn[0] = '\0';
    h->trace_id[0] = '\0';
    h->client_context[0] = '\0';
    h->cognito_identity[0] = '\0';
    h->deadline[0] = '\0';
    h->content_length[0] = '\0';
    h->too_long = NULL;
}

void ptl_headers_line(struct ptl_next_headers *h, const char *line, size_t len)
{
    static const struct {
        const char *name;
        size_t offset, cap;
    } known[] = {
        {"Lambda-Runtime-Aws-Request-Id", offsetof(struct ptl_next_headers, request_id), PTL_REQUEST_ID_MAX},
        {"Lambda-Runtime-Deadline-Ms", offsetof(struct ptl_next_headers, deadline), PTL_NUMBER_MAX},
        {"Lambda-Runtime-Invoked-Function-Arn", offsetof(struct ptl_next_headers, invoked_arn), PTL_ARN_MAX},
        {"Lambda-Runtime-Trace-Id", offsetof(struct ptl_next_headers, trace_id), PTL_TRACE_ID_MAX},
        {"Lambda-Runtime-Client-Context", offsetof(struct ptl_next_headers, client_context),
         PTL_CLIENT_CONTEXT_MAX},
        {"Lambda-Runtime-Cognito-Identity", offsetof(struct ptl_next_headers, cognito_identity),
         PTL_COGNITO_MAX},
        {"Content-Length", offsetof(struct ptl_next_headers, content_length), PTL_NUMBER_MAX},
    };

    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        ptl_headers_reset(h);
        return;
    }
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return;
    size_t name_len = (size_t)(colon - line);
    const char *v = colon + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t vlen = (size_t)(end - v);

    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strlen(known[i].name) != name_len || strncasecmp(line, known[i].name, name_len) != 0)
            continue;
        char *dst = (char *)h + known[i].offset;
        if (vlen >= known[i].cap) {
            dst[0] = '\0';
            if (!h->too_long)
                h->too_long = known[i].name;
            return;
        }
        memcpy(dst, v, vlen);
        dst[vlen] = '\0';
        return;
    }
}

int ptl_parse_ull(const char *s, long long *out)
{
    long long v = 0;
    if (!s || !*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        if (v > (LLONG_MAX - (*s - '0')) / 10)
            return -1;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return 0;
}

int ptl_request_id_ok(const char *id)
{
    if (!id || !*id)
        return 0;
    for (; *id; id++)
        if (!isalnum((unsigned char)*id) && !strchr("-._~:", *id))
            return 0;
    return 1;
}

void ptl_header_value(const char *in, char *out, size_t cap)
{
    size_t i = 0;
    if (cap == 0)
        return;
    for (; in && in[i] && i + 1 < cap; i++) {
        unsigned char c = (unsigned char)in[i];
        out[i] = (c < 0x20 || c == 0x7f) ? '_' : (char)c;
    }
    out[i] = '\0';
}

int ptl_error_body(const char *type, const char *msg, char **out, size_t *out_len)
{
    int rc = PTL_ENOMEM;
    json_t *doc = NULL, *jmsg = NULL;
    char *ascii = NULL;
    size_t mlen = msg ? strlen(msg) : 0;

    if (!msg)
        msg = "";
    if (mlen > PTL_ERROR_MESSAGE_MAX) {
        mlen = PTL_ERROR_MESSAGE_MAX;
        /* Do not split a UTF-8 sequence: back up over continuation bytes. */
        while (mlen > 0 && ((unsigned char)msg[mlen] & 0xC0) == 0x80)
            mlen--;
    }
    jmsg = json_stringn(msg, mlen);
    if (!jmsg) {
        /* Not UTF-8 (jansson refuses it): keep the ASCII, mark the rest. */
        ascii = malloc(mlen + 1);
        if (!ascii)
            goto out;
        for (size_t i = 0; i < mlen; i++)
            ascii[i] = ((unsigned char)msg[i] < 0x80) ? msg[i] : '?';
        ascii[mlen] = '\0';
        jmsg = json_stringn(ascii, mlen);
        if (!jmsg)
            goto out;
    }
    json_t *jtype = json_string(type ? type : "HandlerError");
    if (!jtype) /* a non-UTF-8 type from the handler */
        jtype = json_string("HandlerError");
    doc = json_object();
    if (!doc || !jtype || json_object_set_new(doc, "errorMessage", jmsg) != 0) {
        json_decref(jtype);
        goto out;
    }
    jmsg = NULL; /* owned by doc now, even when set_new failed */
    if (json_object_set_new(doc, "errorType", jtype) != 0 ||
        json_object_set_new(doc, "stackTrace", json_array()) != 0)
        goto out;
    *out = json_dumps(doc, JSON_COMPACT);
    if (!*out)
        goto out;
    *out_len = strlen(*out);
    rc = 0;
out:
    json_decref(jmsg);
    json_decref(doc);
    free(ascii);
    return rc;
}

/* ---- the Runtime API exchanges ---- */

static void next_header(void *arg, const char *line, size_t len)
{
    struct ptl_runtime *rt = arg;
    ptl_headers_line(&rt->hdr, line, len);
}

static int event_reserve(struct ptl_runtime *rt, size_t want)
{
    if (want <= rt->event_cap)
        return 0;
    size_t cap = rt->event_cap ? rt->event_cap : PTL_EVENT_INITIAL;
    while (cap < want)
        cap *= 2;
    if (cap > PTL_EVENT_MAX + 1)
        cap = PTL_EVENT_MAX + 1;
    char *p = realloc(rt->event, cap);
    if (!p)
        return PTL_ENOMEM;
    rt->event = p;
    rt->event_cap = cap;
    return 0;
}

/* The /next body: into rt->event, refusing (rt->event_refused says why) what will not fit. */
static int event_sink(void *arg, const char *data, size_t len)
{
    struct ptl_runtime *rt = arg;
    if (rt->event_len == 0) {
        /* First piece: size the buffer once, or refuse early, from Content-Length. */
        long long total;
        if (ptl_parse_ull(rt->hdr.content_length, &total) == 0) {
            if (total > PTL_EVENT_MAX) {
                rt->event_refused = PTL_EVENT_TOO_LARGE;
                return -1;
            }
            if (event_reserve(rt, (size_t)total + 1) != 0) {
                rt->event_refused = PTL_ENOMEM;
                return -1;
            }
        }
    }
    if (len > PTL_EVENT_MAX - rt->event_len) {
        rt->event_refused = PTL_EVENT_TOO_LARGE;
        return -1;
    }
    /* +1: the event is always NUL-terminated for the handler. */
    if (event_reserve(rt, rt->event_len + len + 1) != 0) {
        rt->event_refused = PTL_ENOMEM;
        return -1;
    }
    memcpy(rt->event + rt->event_len, data, len);
    rt->event_len += len;
    return 0;
}

/* A post's reply: keeps its start for error messages, drops the rest. */
static int reply_sink(void *arg, const char *data, size_t len)
{
    struct ptl_runtime *rt = arg;
    size_t keep = PTL_REPLY_MAX - 1 - rt->reply_len;
    if (keep > len)
        keep = len;
    memcpy(rt->reply + rt->reply_len, data, keep);
    rt->reply_len += keep;
    rt->reply[rt->reply_len] = '\0';
    return 0;
}

static const char *env_or_empty(const char *name)
{
    const char *v = getenv(name);
    return v ? v : "";
}

/* Cheap by design (cold start): no DNS for a numeric address, no connection until the first request. */
static int runtime_init(struct ptl_runtime *rt)
{
    if (rt->ready)
        return 0;
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!api || !*api) {
        ptl_log("AWS_LAMBDA_RUNTIME_API is not set; a bootstrap must be started by a Lambda engine");
        return PTL_ECONFIG;
    }
    if (ptl_http_init(&rt->http, api) != 0) {
        ptl_log("AWS_LAMBDA_RUNTIME_API: %s", rt->http.error);
        return PTL_ECONFIG;
    }
    rt->ctx.function_name = env_or_empty("AWS_LAMBDA_FUNCTION_NAME");
    rt->ctx.function_version = env_or_empty("AWS_LAMBDA_FUNCTION_VERSION");
    rt->ctx.log_group_name = env_or_empty("AWS_LAMBDA_LOG_GROUP_NAME");
    rt->ctx.log_stream_name = env_or_empty("AWS_LAMBDA_LOG_STREAM_NAME");
    long long mem;
    rt->ctx.memory_limit_mb =
        ptl_parse_ull(env_or_empty("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), &mem) == 0 && mem <= INT_MAX
            ? (int)mem
            : 0;
    rt->ready = 1;
    return 0;
}

/* Back to the state before runtime_init (ptl_run could be called again). */
static void runtime_free(struct ptl_runtime *rt)
{
    if (rt->trace_env_set)
        unsetenv("_X_AMZN_TRACE_ID"); /* environ must not keep pointing into rt */
    ptl_http_close(&rt->http);
    free(rt->event);
    memset(rt, 0, sizeof *rt);
    rt->http.fd = -1;
}

/* Posts body to path; *status = HTTP status. Transport failures are logged and returned. */
static int post(struct ptl_runtime *rt, const char *path, const char *headers, const char *body, size_t len,
                int *status)
{
    /* The engine reads our pipes up to the moment the result arrives. */
    fflush(NULL);
    rt->reply_len = 0;
    rt->reply[0] = '\0';
    struct ptl_http_request req = {
        .method = "POST",
        .path = path,
        .headers = headers,
        .body = body ? body : "",
        .body_len = body ? len : 0,
        .timeout_ms = PTL_POST_TIMEOUT_MS,
    };
    int rc = ptl_http_request(&rt->http, &req, NULL, reply_sink, rt, status);
    if (rc != 0)
        ptl_log("POST %s failed: %s", path, rt->http.error);
    return rc;
}

/*
 * What a post's status means for the loop: 202 fine; 4xx concerns only this
 * invocation (wrong id after a timeout, body too large: the engine has told
 * the invoker), so go on; 5xx is "non-recoverable, exit promptly".
 */
static int post_outcome(struct ptl_runtime *rt, const char *what, int rc, int status)
{
    if (rc != 0)
        return 0; /* the following /next tells whether the platform is still there */
    if (status == 202)
        return 0;
    ptl_log("%s: the Runtime API answered %d %s", what, status, rt->reply);
    return status >= 500 ? PTL_EPLATFORM : 0;
}

/* Posts an error document; *status as for post(). */
static int post_error(struct ptl_runtime *rt, const char *path, const char *type, const char *msg, int *status)
{
    char *body = NULL;
    size_t len = 0;
    char clean_type[PTL_ERROR_TYPE_MAX];
    char headers[sizeof "Content-Type: " PTL_ERROR_CONTENT_TYPE "\r\nLambda-Runtime-Function-Error-Type: \r\n" +
                 PTL_ERROR_TYPE_MAX];
    int rc = ptl_error_body(type, msg, &body, &len);
    if (rc != 0)
        return rc;
    ptl_header_value(type, clean_type, sizeof clean_type);
    snprintf(headers, sizeof headers,
             "Content-Type: " PTL_ERROR_CONTENT_TYPE "\r\nLambda-Runtime-Function-Error-Type: %s\r\n", clean_type);
    rc = post(rt, path, headers, body, len, status);
    free(body);
    return rc;
}

/* The /response headers, rebuilt only when the handler changes its content type. */
static const char *response_headers(struct ptl_runtime *rt, const char *content_type)
{
    char ct[PTL_CT_MAX];
    ptl_header_value(content_type ? content_type : PTL_DEFAULT_CONTENT_TYPE, ct, sizeof ct);
    if (!rt->resp_headers[0] || strcmp(ct, rt->resp_ct) != 0) {
        memcpy(rt->resp_ct, ct, sizeof ct);
        snprintf(rt->resp_headers, sizeof rt->resp_headers, "Content-Type: %s\r\n", ct);
    }
    return rt->resp_headers;
}

/* GET /next into rt->event and rt->hdr. */
static int next_event(struct ptl_runtime *rt)
{
    static const struct ptl_http_request next = {.method = "GET", .path = PTL_NEXT_PATH, .timeout_ms = 0};
    int status = 0;

    ptl_headers_reset(&rt->hdr);
    rt->event_len = 0;
    rt->event_refused = 0;
    int rc = ptl_http_request(&rt->http, &next, next_header, event_sink, rt, &status);
    if (rc == PTL_EREFUSED && rt->event_refused == PTL_ENOMEM) {
        ptl_log("GET %s: no memory for the event", PTL_NEXT_PATH);
        return PTL_ENOMEM;
    }
    if (rc != 0 && rc != PTL_EREFUSED) {
        ptl_log("GET %s failed: %s", PTL_NEXT_PATH, rt->http.error);
        return rc;
    }
    if (status != 200) {
        ptl_log("GET %s answered %d %.*s", PTL_NEXT_PATH, status, (int)(rt->event_len < 512 ? rt->event_len : 512),
                rt->event ? rt->event : "");
        return status >= 500 ? PTL_EPLATFORM : PTL_EPROTO;
    }
    if (!rt->hdr.request_id[0]) {
        ptl_log("GET %s: the reply has no Lambda-Runtime-Aws-Request-Id%s%s", PTL_NEXT_PATH,
                rt->hdr.too_long ? "; too long: " : "", rt->hdr.too_long ? rt->hdr.too_long : "");
        return PTL_EPROTO;
    }
    if (!ptl_request_id_ok(rt->hdr.request_id)) {
        ptl_log("GET %s: request id \"%s\" has characters a URL path cannot carry", PTL_NEXT_PATH,
                rt->hdr.request_id);
        return PTL_EPROTO;
    }
    if (event_reserve(rt, rt->event_len + 1) != 0)
        return PTL_ENOMEM;
    rt->event[rt->event_len] = '\0';
    return 0;
}

/* Fills the per-invocation half of the context from the headers just read. */
static void set_context(struct ptl_runtime *rt)
{
    struct ptl_context *ctx = &rt->ctx;
    long long deadline;
    ctx->request_id = rt->hdr.request_id;
    ctx->invoked_function_arn = rt->hdr.invoked_arn;
    ctx->trace_id = rt->hdr.trace_id;
    ctx->client_context = rt->hdr.client_context;
    ctx->cognito_identity = rt->hdr.cognito_identity;
    ctx->deadline_ms = ptl_parse_ull(rt->hdr.deadline, &deadline) == 0 ? deadline : 0;
    /* Tracing SDKs read the trace header from the environment (Lambda's convention). */
    if (rt->hdr.trace_id[0]) {
        snprintf(rt->trace_env, sizeof rt->trace_env, "_X_AMZN_TRACE_ID=%s", rt->hdr.trace_id);
        if (!rt->trace_env_set)
            rt->trace_env_set = putenv(rt->trace_env) == 0;
    } else if (rt->trace_env_set) {
        unsetenv("_X_AMZN_TRACE_ID");
        rt->trace_env_set = 0;
    }
}

static void response_free(struct ptl_response *r)
{
    free(r->body);
    free(r->error_message);
    memset(r, 0, sizeof *r);
}

/* The path of this invocation's /response or /error, in rt->path. */
static const char *invocation_path(struct ptl_runtime *rt, const char *what)
{
    snprintf(rt->path, sizeof rt->path, PTL_API_VERSION "/runtime/invocation/%s/%s", rt->hdr.request_id, what);
    return rt->path;
}

/* One invocation after /next: run the handler, post its outcome. 0 or a fatal code. */
static int invoke(struct ptl_runtime *rt, ptl_handler handler)
{
    struct ptl_response out = {0};
    char msg[160];
    int status = 0, rc;

    if (rt->hdr.too_long || rt->event_refused) {
        snprintf(msg, sizeof msg, "%s too large for this runtime",
                 rt->event_refused ? "event" : rt->hdr.too_long);
        rc = post_error(rt, invocation_path(rt, "error"), "Runtime.InvalidInvocation", msg, &status);
        return rc == PTL_ENOMEM ? rc : post_outcome(rt, "posting an error", rc, status);
    }
    set_context(rt);
    int hrc = handler(rt->event, rt->event_len, &rt->ctx, &out);
    if (hrc == 0) {
        size_t len = out.body && out.len == 0 ? strlen(out.body) : out.len;
        rc = post(rt, invocation_path(rt, "response"), response_headers(rt, out.content_type), out.body,
                  out.body ? len : 0, &status);
        rc = post_outcome(rt, "posting the response", rc, status);
    } else {
        if (!out.error_message)
            snprintf(msg, sizeof msg, "handler failed with code %d", hrc);
        rc = post_error(rt, invocation_path(rt, "error"), out.error_type ? out.error_type : "HandlerError",
                        out.error_message ? out.error_message : msg, &status);
        rc = rc == PTL_ENOMEM ? rc : post_outcome(rt, "posting an error", rc, status);
    }
    response_free(&out);
    return rc;
}

/* ---- API ---- */

long long ptl_remaining_time_ms(const struct ptl_context *ctx)
{
    struct timespec ts;
    if (!ctx || ctx->deadline_ms <= 0)
        return LLONG_MAX;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ctx->deadline_ms - ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

int ptl_run(ptl_handler handler)
{
    struct ptl_runtime *rt = &g_rt;
    int rc = runtime_init(rt);
    if (rc != 0)
        return rc;
    if (!handler) {
        ptl_log("ptl_run: no handler");
        return PTL_ECONFIG;
    }
    for (;;) {
        if ((rc = next_event(rt)) != 0 || (rc = invoke(rt, handler)) != 0)
            break;
    }
    fflush(NULL);
    runtime_free(rt);
    return rc;
}

int ptl_init_error(const char *error_type, const char *message)
{
    struct ptl_runtime *rt = &g_rt;
    int status = 0;
    int rc = runtime_init(rt);
    if (rc != 0)
        return rc;
    rc = post_error(rt, PTL_API_VERSION "/runtime/init/error", error_type ? error_type : "Runtime.InitError",
                    message, &status);
    if (rc == 0 && status != 202) {
        ptl_log("posting the init error: the Runtime API answered %d %s", status, rt->reply);
        rc = status >= 500 ? PTL_EPLATFORM : PTL_EPROTO;
    }
    return rc;
}
