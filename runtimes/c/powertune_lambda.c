/*
 * powertune_lambda.c - the Lambda Runtime API client behind ptl_run().
 *
 * The loop is GET /next (blocking, no timeout: the engine freezes the
 * process while it waits), call the handler, POST /response or /error,
 * repeat. Everything lives in one struct reused across invocations: one
 * libcurl easy handle (so the TCP connection stays open and each request
 * costs a write and a read), one growing event buffer, fixed header
 * buffers. That keeps a warm no-op invocation to two small HTTP exchanges.
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

#include <curl/curl.h>
#include <jansson.h>

#define PTL_API_VERSION "/2018-06-01"
#define PTL_BASE_MAX 320
#define PTL_URL_MAX (PTL_BASE_MAX + PTL_REQUEST_ID_MAX + 64)
/*
 * /response and /error are answered by the engine at once; a few seconds
 * only guards against a wedged platform, and is generous enough for a
 * 6 MiB body on a throttled 128 MB function.
 */
#define PTL_POST_TIMEOUT_MS 5000L
#define PTL_CONNECT_TIMEOUT_MS 2000L
#define PTL_REPLY_MAX 512 /* what we keep of a /response or /error reply, for messages */
#define PTL_EVENT_INITIAL (64 * 1024)
#define PTL_ERROR_CONTENT_TYPE "application/vnd.aws.lambda.error+json"
#define PTL_DEFAULT_CONTENT_TYPE "application/json"
#define PTL_CT_MAX 256
#define PTL_EVENT_TOO_LARGE 1

/* The runtime loop's state: the only mutable global of the library. */
struct ptl_runtime {
    int ready;
    CURL *curl;
    char base[PTL_BASE_MAX];  /* http://host:port/2018-06-01 */
    char next_url[PTL_URL_MAX];
    char url[PTL_URL_MAX];    /* scratch for /response and /error */
    char curl_error[CURL_ERROR_SIZE];

    int reading_next;         /* the write/header callbacks serve /next (1) or a post's reply (0) */
    struct ptl_next_headers hdr;
    char *event;
    size_t event_len, event_cap;
    int event_refused;        /* the body callback stopped curl: PTL_EVENT_TOO_LARGE or PTL_ENOMEM */
    char reply[PTL_REPLY_MAX];
    size_t reply_len;

    struct curl_slist *resp_headers; /* Content-Type of the last response, cached */
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

int ptl_base_url(const char *api, char *base, size_t cap)
{
    if (!api || !*api)
        return -1;
    const char *colon = strrchr(api, ':');
    if (!colon || colon == api)
        return -1;
    long long port;
    if (ptl_parse_ull(colon + 1, &port) != 0 || port < 1 || port > 65535 || strlen(colon + 1) > 5)
        return -1;
    size_t host_len = (size_t)(colon - api);
    if (api[0] == '[') {
        /* [IPv6]: hex digits, ':' and '.' between the brackets, nothing else. */
        if (host_len < 3 || api[host_len - 1] != ']')
            return -1;
        for (size_t i = 1; i < host_len - 1; i++)
            if (!isxdigit((unsigned char)api[i]) && api[i] != ':' && api[i] != '.')
                return -1;
    } else {
        for (size_t i = 0; i < host_len; i++)
            if (!isalnum((unsigned char)api[i]) && api[i] != '.' && api[i] != '-')
                return -1;
    }
    int n = snprintf(base, cap, "http://%s" PTL_API_VERSION, api);
    return n > 0 && (size_t)n < cap ? 0 : -1;
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

/* ---- libcurl plumbing ---- */

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    struct ptl_runtime *rt = arg;
    if (rt->reading_next)
        ptl_headers_line(&rt->hdr, data, size * n);
    return size * n;
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

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct ptl_runtime *rt = arg;
    size_t len = size * n;

    if (!rt->reading_next) {
        /* A post's reply: keep its start for error messages, drop the rest. */
        size_t keep = PTL_REPLY_MAX - 1 - rt->reply_len;
        if (keep > len)
            keep = len;
        memcpy(rt->reply + rt->reply_len, data, keep);
        rt->reply_len += keep;
        rt->reply[rt->reply_len] = '\0';
        return len;
    }
    if (rt->event_len == 0) {
        /* First chunk: size the buffer once, or refuse early, from Content-Length. */
        long long total;
        if (ptl_parse_ull(rt->hdr.content_length, &total) == 0) {
            if (total > PTL_EVENT_MAX) {
                rt->event_refused = PTL_EVENT_TOO_LARGE;
                return 0;
            }
            if (event_reserve(rt, (size_t)total + 1) != 0) {
                rt->event_refused = PTL_ENOMEM;
                return 0;
            }
        }
    }
    if (len > PTL_EVENT_MAX - rt->event_len) {
        rt->event_refused = PTL_EVENT_TOO_LARGE;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    /* +1: the event is always NUL-terminated for the handler. */
    if (event_reserve(rt, rt->event_len + len + 1) != 0) {
        rt->event_refused = PTL_ENOMEM;
        return 0;
    }
    memcpy(rt->event + rt->event_len, data, len);
    rt->event_len += len;
    return len;
}

static const char *env_or_empty(const char *name)
{
    const char *v = getenv(name);
    return v ? v : "";
}

/* Cheap by design (cold start): no DNS, no connection until the first request. */
static int runtime_init(struct ptl_runtime *rt)
{
    if (rt->ready)
        return 0;
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!api || !*api) {
        ptl_log("AWS_LAMBDA_RUNTIME_API is not set; a bootstrap must be started by a Lambda engine");
        return PTL_ECONFIG;
    }
    if (ptl_base_url(api, rt->base, sizeof rt->base) != 0) {
        ptl_log("AWS_LAMBDA_RUNTIME_API=\"%s\" is not host:port", api);
        return PTL_ECONFIG;
    }
    snprintf(rt->next_url, sizeof rt->next_url, "%s/runtime/invocation/next", rt->base);

    /* Plain HTTP only: skipping TLS initialisation keeps cold start short. */
    if (curl_global_init(CURL_GLOBAL_NOTHING) != CURLE_OK) {
        ptl_log("curl_global_init failed");
        return PTL_ENOMEM;
    }
    rt->curl = curl_easy_init();
    if (!rt->curl) {
        ptl_log("curl_easy_init failed");
        return PTL_ENOMEM;
    }
    CURL *c = rt->curl;
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, rt->curl_error);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);       /* handlers may use threads and signals */
    curl_easy_setopt(c, CURLOPT_PROXY, "");          /* an http_proxy in the env must not reroute */
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);    /* small requests: no Nagle delay */
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, PTL_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, rt);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, rt);

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
    curl_easy_cleanup(rt->curl);
    curl_slist_free_all(rt->resp_headers);
    free(rt->event);
    memset(rt, 0, sizeof *rt);
}

/* Posts body to url; *status = HTTP status. Transport failures are logged and returned. */
static int post(struct ptl_runtime *rt, const char *url, struct curl_slist *headers, const char *body,
                size_t len, long *status)
{
    CURL *c = rt->curl;
    /* The engine reads our pipes up to the moment the result arrives. */
    fflush(NULL);
    rt->reading_next = 0;
    rt->reply_len = 0;
    rt->reply[0] = '\0';
    rt->curl_error[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, PTL_POST_TIMEOUT_MS);
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        ptl_log("POST %s failed: %s", url, rt->curl_error[0] ? rt->curl_error : curl_easy_strerror(cc));
        return PTL_ETRANSPORT;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    return 0;
}

/*
 * What a post's status means for the loop: 202 fine; 4xx concerns only this
 * invocation (wrong id after a timeout, body too large: the engine has told
 * the invoker), so go on; 5xx is "non-recoverable, exit promptly".
 */
static int post_outcome(struct ptl_runtime *rt, const char *what, int rc, long status)
{
    if (rc != 0)
        return 0; /* the following /next tells whether the platform is still there */
    if (status == 202)
        return 0;
    ptl_log("%s: the Runtime API answered %ld %s", what, status, rt->reply);
    return status >= 500 ? PTL_EPLATFORM : 0;
}

static struct curl_slist *error_headers(const char *error_type)
{
    char line[sizeof "Lambda-Runtime-Function-Error-Type: " + PTL_ERROR_TYPE_MAX];
    char type[PTL_ERROR_TYPE_MAX];
    struct curl_slist *h = NULL, *t;

    ptl_header_value(error_type, type, sizeof type);
    snprintf(line, sizeof line, "Lambda-Runtime-Function-Error-Type: %s", type);
    if (!(t = curl_slist_append(h, "Content-Type: " PTL_ERROR_CONTENT_TYPE)))
        goto fail;
    h = t;
    if (!(t = curl_slist_append(h, "Expect:")))
        goto fail;
    h = t;
    if (!(t = curl_slist_append(h, line)))
        goto fail;
    return t;
fail:
    curl_slist_free_all(h);
    return NULL;
}

/* Posts an error document; *status as for post(). */
static int post_error(struct ptl_runtime *rt, const char *url, const char *type, const char *msg, long *status)
{
    char *body = NULL;
    size_t len = 0;
    struct curl_slist *h = NULL;
    int rc = ptl_error_body(type, msg, &body, &len);
    if (rc != 0)
        goto out;
    if (!(h = error_headers(type))) {
        rc = PTL_ENOMEM;
        goto out;
    }
    rc = post(rt, url, h, body, len, status);
out:
    curl_slist_free_all(h);
    free(body);
    return rc;
}

/* The /response headers, rebuilt only when the handler changes its content type. */
static struct curl_slist *response_headers(struct ptl_runtime *rt, const char *content_type)
{
    char ct[PTL_CT_MAX];
    char line[sizeof "Content-Type: " + PTL_CT_MAX];
    ptl_header_value(content_type ? content_type : PTL_DEFAULT_CONTENT_TYPE, ct, sizeof ct);
    if (rt->resp_headers && strcmp(ct, rt->resp_ct) == 0)
        return rt->resp_headers;
    curl_slist_free_all(rt->resp_headers);
    rt->resp_headers = NULL;
    snprintf(line, sizeof line, "Content-Type: %s", ct);
    struct curl_slist *h = curl_slist_append(NULL, line), *t;
    /* Expect: 100-continue would cost a round trip per large response. */
    if (h && !(t = curl_slist_append(h, "Expect:"))) {
        curl_slist_free_all(h);
        h = NULL;
    } else if (h) {
        h = t;
    }
    if (h) {
        memcpy(rt->resp_ct, ct, sizeof ct);
        rt->resp_headers = h;
    }
    return h;
}

/* GET /next into rt->event and rt->hdr. */
static int next_event(struct ptl_runtime *rt)
{
    CURL *c = rt->curl;
    long status = 0;

    ptl_headers_reset(&rt->hdr);
    rt->event_len = 0;
    rt->event_refused = 0;
    rt->reading_next = 1;
    rt->curl_error[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, rt->next_url);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 0L); /* a long poll: the wait can be any length */
    CURLcode cc = curl_easy_perform(c);
    rt->reading_next = 0;
    if (cc == CURLE_WRITE_ERROR && rt->event_refused == PTL_ENOMEM) {
        ptl_log("GET %s: no memory for the event", rt->next_url);
        return PTL_ENOMEM;
    }
    if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && rt->event_refused == PTL_EVENT_TOO_LARGE)) {
        ptl_log("GET %s failed: %s", rt->next_url,
                rt->curl_error[0] ? rt->curl_error : curl_easy_strerror(cc));
        return PTL_ETRANSPORT;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        ptl_log("GET %s answered %ld %.*s", rt->next_url, status, (int)(rt->event_len < 512 ? rt->event_len : 512),
                rt->event ? rt->event : "");
        return status >= 500 ? PTL_EPLATFORM : PTL_EPROTO;
    }
    if (!rt->hdr.request_id[0]) {
        ptl_log("GET %s: the reply has no Lambda-Runtime-Aws-Request-Id%s%s", rt->next_url,
                rt->hdr.too_long ? "; too long: " : "", rt->hdr.too_long ? rt->hdr.too_long : "");
        return PTL_EPROTO;
    }
    if (!ptl_request_id_ok(rt->hdr.request_id)) {
        ptl_log("GET %s: request id \"%s\" has characters a URL path cannot carry", rt->next_url,
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

/* One invocation after /next: run the handler, post its outcome. 0 or a fatal code. */
static int invoke(struct ptl_runtime *rt, ptl_handler handler)
{
    struct ptl_response out = {0};
    char msg[160];
    long status = 0;
    int rc;

    if (rt->hdr.too_long || rt->event_refused) {
        snprintf(msg, sizeof msg, "%s too large for this runtime",
                 rt->event_refused ? "event" : rt->hdr.too_long);
        snprintf(rt->url, sizeof rt->url, "%s/runtime/invocation/%s/error", rt->base, rt->hdr.request_id);
        rc = post_error(rt, rt->url, "Runtime.InvalidInvocation", msg, &status);
        return rc == PTL_ENOMEM ? rc : post_outcome(rt, "posting an error", rc, status);
    }
    set_context(rt);
    int hrc = handler(rt->event, rt->event_len, &rt->ctx, &out);
    if (hrc == 0) {
        size_t len = out.body && out.len == 0 ? strlen(out.body) : out.len;
        struct curl_slist *h = response_headers(rt, out.content_type);
        if (!h) {
            rc = PTL_ENOMEM;
            goto out;
        }
        snprintf(rt->url, sizeof rt->url, "%s/runtime/invocation/%s/response", rt->base, rt->hdr.request_id);
        rc = post(rt, rt->url, h, out.body, out.body ? len : 0, &status);
        rc = post_outcome(rt, "posting the response", rc, status);
    } else {
        if (!out.error_message)
            snprintf(msg, sizeof msg, "handler failed with code %d", hrc);
        snprintf(rt->url, sizeof rt->url, "%s/runtime/invocation/%s/error", rt->base, rt->hdr.request_id);
        rc = post_error(rt, rt->url, out.error_type ? out.error_type : "HandlerError",
                        out.error_message ? out.error_message : msg, &status);
        rc = rc == PTL_ENOMEM ? rc : post_outcome(rt, "posting an error", rc, status);
    }
out:
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
    long status = 0;
    int rc = runtime_init(rt);
    if (rc != 0)
        return rc;
    snprintf(rt->url, sizeof rt->url, "%.*s/runtime/init/error", PTL_BASE_MAX - 1, rt->base);
    rc = post_error(rt, rt->url, error_type ? error_type : "Runtime.InitError", message, &status);
    if (rc == 0 && status != 202) {
        ptl_log("posting the init error: the Runtime API answered %ld %s", status, rt->reply);
        rc = status >= 500 ? PTL_EPLATFORM : PTL_EPROTO;
    }
    return rc;
}
