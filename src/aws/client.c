#include "aws/client.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "base/clock.h"
#include "base/str.h"

#define CLIENT_HOST_MAX 300
#define CLIENT_IDLE_HANDLES 32 /* kept for reuse: their connections stay alive (keep-alive, TLS) */

struct pt_aws_client {
    char base[PT_AWS_URL_MAX]; /* scheme://host[:port][/prefix], no trailing slash */
    char host[CLIENT_HOST_MAX];
    char region[PT_AWS_REGION_MAX];
    char service[32];
    struct pt_aws_credentials creds;
    long connect_timeout_ms, timeout_ms;
    int max_attempts, backoff_base_ms, backoff_max_ms;
    bool (*interrupted)(void *arg);
    void *interrupted_arg;
    /* Idle easy handles: one request at a time each, handed out under the lock, so parallel
     * invocations reuse connections instead of a TCP (and TLS) handshake per request. */
    pthread_mutex_t lock;
    CURL *idle[CLIENT_IDLE_HANDLES];
    size_t n_idle;
};

static CURL *client_take_handle(struct pt_aws_client *c)
{
    CURL *h = NULL;
    pthread_mutex_lock(&c->lock);
    if (c->n_idle)
        h = c->idle[--c->n_idle];
    pthread_mutex_unlock(&c->lock);
    if (h) {
        curl_easy_reset(h); /* options cleared; live connections and caches kept */
        return h;
    }
    return curl_easy_init();
}

static void client_give_handle(struct pt_aws_client *c, CURL *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&c->lock);
    if (c->n_idle < CLIENT_IDLE_HANDLES) {
        c->idle[c->n_idle++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    curl_easy_cleanup(h);
}

int pt_aws_endpoint_parse(const char *url, char *base, size_t base_size, char *host,
                          size_t host_size, struct pt_error *err)
{
    const char *p;
    if (pt_str_starts_with(url, "http://"))
        p = url + 7;
    else if (pt_str_starts_with(url, "https://"))
        p = url + 8;
    else
        return pt_error_set(err, PT_EUSAGE, "--endpoint-url \"%.200s\": allowed http://HOST[:PORT] "
                            "or https://HOST[:PORT]", url);
    size_t hl = strcspn(p, "/?#");
    if (hl == 0 || hl >= host_size)
        return pt_error_set(err, PT_EUSAGE, "--endpoint-url \"%.200s\": no host, or too long", url);
    for (size_t i = 0; i < hl; i++)
        if (!isalnum((unsigned char)p[i]) && !strchr(".-:[]_", p[i]))
            return pt_error_set(err, PT_EUSAGE, "--endpoint-url \"%.200s\": bad host character",
                                url);
    if (p[hl] == '?' || p[hl] == '#')
        return pt_error_set(err, PT_EUSAGE, "--endpoint-url \"%.200s\": no query or fragment "
                            "allowed", url);
    memcpy(host, p, hl);
    host[hl] = '\0';
    if (pt_strlcpy(base, url, base_size) >= base_size)
        return pt_error_set(err, PT_EUSAGE, "--endpoint-url: too long");
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/') /* paths are appended with their own '/' */
        base[--bl] = '\0';
    return 0;
}

void pt_aws_default_endpoint(const char *service, const char *region, char *out, size_t size)
{
    /* The partitions' DNS suffixes (botocore's endpoints.json, regionRegex -> dnsSuffix). */
    static const struct {
        const char *prefix, *suffix;
    } parts[] = {
        {"cn-", "amazonaws.com.cn"},      {"us-isob-", "sc2s.sgov.gov"},
        {"us-isof-", "csp.hci.ic.gov"},   {"us-iso-", "c2s.ic.gov"},
        {"eu-isoe-", "cloud.adc-e.uk"},   {"eusc-", "amazonaws.eu"},
    };
    const char *suffix = "amazonaws.com";
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        if (pt_str_starts_with(region, parts[i].prefix)) {
            suffix = parts[i].suffix;
            break;
        }
    snprintf(out, size, "https://%s.%s.%s", service, region, suffix);
}

const char *pt_aws_endpoint_path(const char *base)
{
    const char *p = strstr(base, "://");
    p = p ? p + 3 : base;
    return p + strcspn(p, "/");
}

int pt_aws_client_create(struct pt_aws_client **out, const struct pt_aws_client_options *o,
                         struct pt_error *err)
{
    if (!o->creds || !o->region || !o->region[0] || !o->service)
        return pt_error_set(err, PT_EUSAGE, "AWS client: credentials, region and service needed");
    struct pt_aws_client *c = calloc(1, sizeof(*c));
    if (!c)
        return pt_error_set(err, PT_ENOMEM, "out of memory for the AWS client");
    int rc = 0;
    char url[PT_AWS_URL_MAX];
    if (o->endpoint_url && o->endpoint_url[0])
        pt_strlcpy(url, o->endpoint_url, sizeof(url));
    else
        pt_aws_default_endpoint(o->service, o->region, url, sizeof(url));
    if ((rc = pt_aws_endpoint_parse(url, c->base, sizeof(c->base), c->host, sizeof(c->host), err)))
        goto fail;
    pt_strlcpy(c->region, o->region, sizeof(c->region));
    pt_strlcpy(c->service, o->service, sizeof(c->service));
    c->creds = *o->creds;
    c->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 5000;
    c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 60000;
    c->max_attempts = o->max_attempts > 0 ? o->max_attempts : 5;
    c->backoff_base_ms = o->backoff_base_ms > 0 ? o->backoff_base_ms : 100;
    c->backoff_max_ms = o->backoff_max_ms > 0 ? o->backoff_max_ms : 5000;
    c->interrupted = o->interrupted;
    c->interrupted_arg = o->interrupted_arg;
    pthread_mutex_init(&c->lock, NULL);
    *out = c;
    return 0;
fail:
    free(c);
    return rc;
}

void pt_aws_client_destroy(struct pt_aws_client *c)
{
    if (!c)
        return;
    pt_aws_credentials_clear(&c->creds);
    for (size_t i = 0; i < c->n_idle; i++)
        curl_easy_cleanup(c->idle[i]);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

const char *pt_aws_client_endpoint(const struct pt_aws_client *c)
{
    return c->base;
}

void pt_aws_response_init(struct pt_aws_response *r)
{
    memset(r, 0, sizeof(*r));
    pt_buf_init(&r->body, PT_AWS_CONTROL_RESPONSE_MAX);
    r->retry_after_s = -1;
}

void pt_aws_response_free(struct pt_aws_response *r)
{
    pt_buf_free(&r->body);
    free(r->log_result);
    r->log_result = NULL;
}

/* Resets what one attempt fills, keeping the body's limit. */
static void response_reset(struct pt_aws_response *r)
{
    pt_buf_reset(&r->body);
    free(r->log_result);
    r->log_result = NULL;
    r->status = 0;
    r->error_code[0] = r->error_message[0] = r->reason[0] = '\0';
    r->function_error[0] = r->executed_version[0] = r->request_id[0] = '\0';
    r->retry_after_s = -1;
}

int pt_aws_error_code_map(const char *code, long status)
{
    static const struct {
        const char *code;
        int pt;
    } map[] = {
        {"ResourceNotFoundException", PT_ENOTFOUND},
        {"TooManyRequestsException", PT_ETHROTTLED},
        {"ThrottlingException", PT_ETHROTTLED},
        {"ResourceConflictException", PT_ESTATE},
        {"PreconditionFailedException", PT_ESTATE},
        {"ResourceNotReadyException", PT_ESTATE},
        {"InvalidParameterValueException", PT_EUSAGE},
        {"ValidationException", PT_EUSAGE},
        {"InvalidRequestContentException", PT_EUSAGE},
        {"UnsupportedMediaTypeException", PT_EUSAGE},
        {"RequestTooLargeException", PT_ELIMIT},
        {"RequestEntityTooLargeException", PT_ELIMIT},
        {"AccessDeniedException", PT_EPERM},
        {"UnrecognizedClientException", PT_EPERM},
        {"InvalidSignatureException", PT_EPERM},
        {"MissingAuthenticationTokenException", PT_EPERM},
        {"IncompleteSignatureException", PT_EPERM},
        {"ExpiredTokenException", PT_EPERM},
        {"SignatureDoesNotMatch", PT_EPERM},
    };
    for (size_t i = 0; code && i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(code, map[i].code) == 0)
            return map[i].pt;
    if (status == 429)
        return PT_ETHROTTLED;
    if (status == 404)
        return PT_ENOTFOUND;
    if (status == 401 || status == 403)
        return PT_EPERM;
    if (status == 409)
        return PT_ESTATE;
    if (status == 413)
        return PT_ELIMIT;
    if (status >= 400 && status < 500)
        return PT_EUSAGE;
    return PT_EIO;
}

static void copy_json_string(json_t *o, const char *key, char *out, size_t size)
{
    json_t *v = json_object_get(o, key);
    if (json_is_string(v) && !out[0])
        pt_strlcpy(out, json_string_value(v), size);
}

void pt_aws_error_parse(const char *error_type_header, const char *body, size_t body_len,
                        char *code, size_t code_size, char *message, size_t message_size,
                        char *reason, size_t reason_size)
{
    code[0] = message[0] = reason[0] = '\0';
    if (error_type_header && error_type_header[0]) {
        /* "aws.protocoltests.restjson#FooError:http://internal.amazon.com/..." -> "FooError" */
        char tmp[PT_AWS_ERROR_CODE_MAX * 2];
        pt_strlcpy(tmp, error_type_header, sizeof(tmp));
        tmp[strcspn(tmp, ":")] = '\0';
        const char *hash = strrchr(tmp, '#');
        pt_strlcpy(code, hash ? hash + 1 : tmp, code_size);
    }
    json_t *j = body_len ? json_loadb(body, body_len, 0, NULL) : NULL;
    if (json_is_object(j)) {
        copy_json_string(j, "code", code, code_size);
        copy_json_string(j, "Code", code, code_size);
        if (!code[0]) {
            copy_json_string(j, "__type", code, code_size);
            char *hash = strrchr(code, '#');
            if (hash)
                memmove(code, hash + 1, strlen(hash + 1) + 1);
        }
        copy_json_string(j, "message", message, message_size);
        copy_json_string(j, "Message", message, message_size);
        copy_json_string(j, "Reason", reason, reason_size);
    }
    json_decref(j);
}

void pt_aws_redact(char *msg, const char *secret)
{
    size_t n = secret ? strlen(secret) : 0;
    if (n < 8)
        return;
    size_t need = n < 16 ? n : 16;
    for (char *p = msg; *p; p++) {
        size_t m = 0;
        while (m < n && p[m] == secret[m])
            m++;
        /* The whole secret, its first 16 characters, or 8+ of them cut off by the message's end
         * (messages are bounded). m >= 8 > 4: the replacement never grows the string. */
        if (m < need && !(p[m] == '\0' && m >= 8))
            continue;
        memmove(p + 4, p + m, strlen(p + m) + 1);
        memcpy(p, "****", 4);
        p += 3;
    }
}

long pt_aws_backoff_ms(int attempt, int base_ms, int max_ms)
{
    long cap = base_ms;
    for (int i = 0; i < attempt && cap < max_ms; i++)
        cap *= 2;
    if (cap > max_ms)
        cap = max_ms;
    uint32_t r = 0;
    /* Full jitter (AWS Architecture Blog): the kernel's CSPRNG, so threads need no shared seed. */
    if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
        r = (uint32_t)pt_mono_ns();
    return cap > 0 ? (long)(r % (uint32_t)(cap + 1)) : 0;
}

/* ---- one attempt ---- */

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct pt_aws_response *r = arg;
    /* Over the limit: a short count makes curl fail with CURLE_WRITE_ERROR (PT_ELIMIT below). */
    return pt_buf_append(&r->body, data, size * n, NULL) == 0 ? size * n : 0;
}

struct header_ctx {
    struct pt_aws_response *r;
    char error_type[PT_AWS_ERROR_CODE_MAX * 2];
};

static void header_value(const char *v, size_t n, char *out, size_t size)
{
    while (n && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
        n--;
    if (n >= size)
        n = size - 1;
    memcpy(out, v, n);
    out[n] = '\0';
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    struct header_ctx *h = arg;
    size_t len = size * n;
    const char *colon = memchr(data, ':', len);
    if (!colon)
        return len;
    size_t nl = (size_t)(colon - data);
    const char *v = colon + 1;
    size_t vl = len - nl - 1;
#define IS(name) (nl == sizeof(name) - 1 && strncasecmp(data, name, nl) == 0)
    if (IS("x-amzn-ErrorType"))
        header_value(v, vl, h->error_type, sizeof(h->error_type));
    else if (IS("X-Amz-Function-Error"))
        header_value(v, vl, h->r->function_error, sizeof(h->r->function_error));
    else if (IS("X-Amz-Executed-Version"))
        header_value(v, vl, h->r->executed_version, sizeof(h->r->executed_version));
    else if (IS("x-amzn-RequestId"))
        header_value(v, vl, h->r->request_id, sizeof(h->r->request_id));
    else if (IS("Retry-After")) {
        char tmp[32];
        long s;
        header_value(v, vl, tmp, sizeof(tmp));
        if (pt_parse_long(tmp, 0, 3600, &s) == 0)
            h->r->retry_after_s = s;
    } else if (IS("X-Amz-Log-Result") && !h->r->log_result && vl < 64 * 1024) {
        h->r->log_result = malloc(vl + 1);
        if (h->r->log_result)
            header_value(v, vl, h->r->log_result, vl + 1);
    }
#undef IS
    return len;
}

/* Appends "Name: value" to a curl list; 0 or PT_ENOMEM. */
static int add_header(struct curl_slist **l, const char *name, const char *value,
                      struct pt_error *err)
{
    char line[PT_SIGV4_MAX_HEADER_VALUE + PT_SIGV4_MAX_HEADER_NAME + 4];
    snprintf(line, sizeof(line), "%s: %s", name, value);
    struct curl_slist *n = curl_slist_append(*l, line);
    if (!n)
        return pt_error_set(err, PT_ENOMEM, "out of memory for request headers");
    *l = n;
    return 0;
}

enum attempt_outcome { ATTEMPT_DONE, ATTEMPT_RETRY };

/* curl's progress callback: non-zero aborts the transfer (CURLE_ABORTED_BY_CALLBACK). */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    const struct pt_aws_client *c = arg;
    return c->interrupted(c->interrupted_arg) ? 1 : 0;
}

/*
 * One signed request. Returns 0 with resp filled (any status), or a transport error code;
 * *retryable says whether a connection-level failure may be retried.
 */
static int attempt_once(struct pt_aws_client *c, const struct pt_aws_request *req,
                        struct pt_aws_response *resp, struct header_ctx *hc, bool *retryable,
                        struct pt_error *err)
{
    struct pt_sigv4_header hdrs[PT_SIGV4_MAX_HEADERS];
    size_t nh = 0;
    struct curl_slist *list = NULL;
    struct pt_sigv4_signed s;
    pt_sigv4_signed_init(&s);
    CURL *h = NULL;
    char url[PT_AWS_URL_MAX + PT_SIGV4_MAX_PATH + PT_SIGV4_MAX_QUERY];
    int rc = 0;
    *retryable = false;
    if (req->header_count + 2 > PT_SIGV4_MAX_HEADERS) {
        rc = pt_error_set(err, PT_ELIMIT, "too many request headers");
        goto out;
    }
    hdrs[nh++] = (struct pt_sigv4_header){"Host", c->host};
    if (req->content_type)
        hdrs[nh++] = (struct pt_sigv4_header){"Content-Type", req->content_type};
    for (size_t i = 0; i < req->header_count; i++)
        hdrs[nh++] = req->headers[i];
    /* The endpoint's own path (--endpoint-url http://host/prefix) is sent, so it is signed, as
     * botocore signs it: a proxy or gateway in front of Lambda checks the path it received. */
    char signed_path[PT_AWS_URL_MAX + PT_SIGV4_MAX_PATH];
    if (snprintf(signed_path, sizeof(signed_path), "%s%s", pt_aws_endpoint_path(c->base),
                 req->path) >= (int)sizeof(signed_path)) {
        rc = pt_error_set(err, PT_ELIMIT, "request path longer than %d bytes", PT_SIGV4_MAX_PATH);
        goto out;
    }
    struct pt_sigv4_request sr = {
        .method = req->method,
        .path = signed_path,
        .query = req->query,
        .headers = hdrs,
        .header_count = nh,
        .body = req->body,
        .body_len = req->body_len,
    };
    struct pt_sigv4_params sp = {
        .creds = &c->creds,
        .region = c->region,
        .service = c->service,
        .time = (int64_t)time(NULL),
    };
    if ((rc = pt_sigv4_sign(&sr, &sp, &s, err)))
        goto out;
    for (size_t i = 0; i < nh; i++)
        if ((rc = add_header(&list, hdrs[i].name, hdrs[i].value, err)))
            goto out;
    for (size_t i = 0; i < s.add_count; i++)
        if ((rc = add_header(&list, s.add[i].name, s.add[i].value, err)))
            goto out;
    /* curl would add these on its own; the signature does not cover them, and AWS ignores them. */
    if (!req->content_type && (rc = add_header(&list, "Content-Type", "", err)))
        goto out;
    if ((rc = add_header(&list, "Expect", "", err)) || (rc = add_header(&list, "Accept", "", err)))
        goto out;
    snprintf(url, sizeof(url), "%s%s%s%s", c->base, req->path, req->query && req->query[0] ? "?" : "",
             req->query ? req->query : "");
    if (!(h = client_take_handle(c))) {
        rc = pt_error_set(err, PT_ENOMEM, "curl_easy_init failed");
        goto out;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L); /* the path on the wire is the one signed */
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, hc);
    if (req->interruptible && c->interrupted) {
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    }
    if (req->body_len || strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    CURLcode cc = curl_easy_perform(h);
    if (cc == CURLE_ABORTED_BY_CALLBACK) {
        rc = pt_error_set(err, PT_EINTR, "interrupted");
        goto out;
    }
    if (cc == CURLE_WRITE_ERROR) {
        rc = pt_error_set(err, PT_ELIMIT, "response body larger than %zu bytes", resp->body.limit);
        goto out;
    }
    if (cc != CURLE_OK) {
        /* Only failures before the request reached the server are safe to repeat for every call. */
        *retryable = cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
                     cc == CURLE_COULDNT_RESOLVE_PROXY || cc == CURLE_GOT_NOTHING ||
                     cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR ||
                     (cc == CURLE_OPERATION_TIMEDOUT && strcmp(req->method, "GET") == 0);
        rc = pt_error_set(err, cc == CURLE_OPERATION_TIMEDOUT ? PT_ETIMEDOUT : PT_EIO,
                          "%s %s: %s", req->method, c->base, curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
out:
    client_give_handle(c, h);
    curl_slist_free_all(list);
    pt_sigv4_signed_free(&s);
    return rc;
}

int pt_aws_request_send(struct pt_aws_client *c, const char *op, const struct pt_aws_request *req,
                        struct pt_aws_response *resp, struct pt_error *err)
{
    resp->body.limit = req->response_limit ? req->response_limit : PT_AWS_CONTROL_RESPONSE_MAX;
    int rc = 0;
    for (int attempt = 0;; attempt++) {
        struct header_ctx hc = {.r = resp};
        bool retryable = false;
        response_reset(resp);
        resp->attempts = attempt + 1;
        rc = attempt_once(c, req, resp, &hc, &retryable, err);
        if (rc == 0 && resp->status >= 200 && resp->status < 300)
            break;
        if (rc == 0) {
            pt_aws_error_parse(hc.error_type, resp->body.data, resp->body.len, resp->error_code,
                               sizeof(resp->error_code), resp->error_message,
                               sizeof(resp->error_message), resp->reason, sizeof(resp->reason));
            /* Lambda's InvalidSignatureException quotes the canonical request it computed,
             * X-Amz-Security-Token's value included; the AWS CLI prints it, powertune does not. */
            pt_aws_redact(resp->error_message, c->creds.session_token);
            pt_aws_redact(resp->error_message, c->creds.secret_access_key);
            rc = pt_aws_error_code_map(resp->error_code[0] ? resp->error_code : NULL,
                                       resp->status);
            pt_error_set(err, rc, "%s: %s%s%s (HTTP %ld)", op,
                         resp->error_code[0] ? resp->error_code : "error",
                         resp->error_message[0] ? ": " : "", resp->error_message, resp->status);
            retryable = (rc == PT_ETHROTTLED && !req->no_throttle_retry) || resp->status >= 500;
        } else {
            pt_error_wrap(err, "%s", op);
        }
        if (!retryable || attempt + 1 >= c->max_attempts)
            break;
        long ms = pt_aws_backoff_ms(attempt, c->backoff_base_ms, c->backoff_max_ms);
        if (resp->retry_after_s >= 0 && resp->retry_after_s * 1000 > ms)
            ms = resp->retry_after_s * 1000 < c->backoff_max_ms ? resp->retry_after_s * 1000
                                                                 : c->backoff_max_ms;
        pt_sleep_ms(ms);
    }
    return rc;
}
