#include "aws/lambda_api.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/sigv4.h"
#include "base/clock.h"
#include "base/str.h"
#include "engine/report.h"

#define LAMBDA_PATH_MAX 2048
#define LAMBDA_LOG_MAX (64 * 1024) /* the tail is 4 KB; the header is bounded in client.c */
#define LAMBDA_LIST_PAGES_MAX 100  /* 100 pages x 50 aliases: more than Lambda allows */

void pt_lambda_invoke_result_free(struct pt_lambda_invoke_result *r)
{
    free(r->payload);
    free(r->log);
    r->payload = r->log = NULL;
}

int pt_lambda_function_path(struct pt_buf *out, const char *function, const char *suffix,
                            struct pt_error *err)
{
    int rc = pt_buf_append_str(out, "/2015-03-31/functions/", err);
    /* ':' of an ARN is encoded as botocore does; sigv4 encodes the path once more for signing. */
    if (!rc)
        rc = pt_sigv4_uri_encode(out, function, strlen(function), false, err);
    if (!rc && suffix)
        rc = pt_buf_append_str(out, suffix, err);
    return rc;
}

int pt_lambda_qualifier_query(struct pt_buf *out, const char *qualifier, struct pt_error *err)
{
    if (!qualifier || !qualifier[0])
        return 0;
    int rc = pt_buf_append_str(out, "Qualifier=", err);
    if (!rc)
        rc = pt_sigv4_uri_encode(out, qualifier, strlen(qualifier), false, err);
    return rc;
}

char *pt_lambda_update_body(int memory_mb, const char *description)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (memory_mb > 0)
        json_object_set_new(o, "MemorySize", json_integer(memory_mb));
    if (description)
        json_object_set_new(o, "Description", json_string(description));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static void jstr(json_t *o, const char *key, char *out, size_t size)
{
    json_t *v = json_object_get(o, key);
    pt_strlcpy(out, json_is_string(v) ? json_string_value(v) : "", size);
}

int pt_lambda_parse_configuration(const char *json, size_t len,
                                  struct pt_lambda_function_config *out, struct pt_error *err)
{
    memset(out, 0, sizeof(*out));
    json_t *j = json_loadb(json ? json : "", len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return pt_error_set(err, PT_EPROTO, "FunctionConfiguration: not a JSON object");
    }
    jstr(j, "FunctionName", out->function_name, sizeof(out->function_name));
    jstr(j, "FunctionArn", out->function_arn, sizeof(out->function_arn));
    jstr(j, "Version", out->version, sizeof(out->version));
    jstr(j, "Description", out->description, sizeof(out->description));
    jstr(j, "State", out->state, sizeof(out->state));
    jstr(j, "StateReasonCode", out->state_reason_code, sizeof(out->state_reason_code));
    jstr(j, "StateReason", out->state_reason, sizeof(out->state_reason));
    jstr(j, "LastUpdateStatus", out->last_update_status, sizeof(out->last_update_status));
    jstr(j, "LastUpdateStatusReason", out->last_update_reason, sizeof(out->last_update_reason));
    jstr(json_object_get(j, "LoggingConfig"), "LogFormat", out->log_format,
         sizeof(out->log_format));
    json_t *arch = json_array_get(json_object_get(j, "Architectures"), 0);
    pt_strlcpy(out->architecture, json_is_string(arch) ? json_string_value(arch) : "x86_64",
               sizeof(out->architecture));
    json_t *m = json_object_get(j, "MemorySize"), *t = json_object_get(j, "Timeout");
    json_int_t mv = json_is_integer(m) ? json_integer_value(m) : 0;
    json_int_t tv = json_is_integer(t) ? json_integer_value(t) : 0;
    json_decref(j);
    if (mv <= 0)
        return pt_error_set(err, PT_EPROTO, "FunctionConfiguration: no MemorySize");
    if (tv < 0)
        return pt_error_set(err, PT_EPROTO,
                            "FunctionConfiguration: Timeout %" JSON_INTEGER_FORMAT
                            " is negative: allowed 1 to 900 (or absent)", tv);
    /* Beyond int they would wrap around into a plausible figure (2^32 + 128 -> 128). */
    if (mv > INT_MAX)
        return pt_error_set(err, PT_EPROTO, "FunctionConfiguration: MemorySize %"
                            JSON_INTEGER_FORMAT " out of range: allowed 1-%d", mv, INT_MAX);
    if (tv < INT_MIN || tv > INT_MAX)
        return pt_error_set(err, PT_EPROTO, "FunctionConfiguration: Timeout %" JSON_INTEGER_FORMAT
                            " out of range: allowed %d to %d", tv, INT_MIN, INT_MAX);
    out->memory_mb = (int)mv;
    out->timeout_s = (int)tv;
    return 0;
}

/* One call: path (+ query), optional JSON body; the response body stays in resp. */
static int lambda_call(struct pt_aws_client *c, const char *op, const char *method,
                       const char *function, const char *suffix, const char *qualifier,
                       const char *extra_query, const char *body, struct pt_aws_response *resp,
                       struct pt_error *err)
{
    struct pt_buf path, query;
    pt_buf_init(&path, LAMBDA_PATH_MAX);
    pt_buf_init(&query, LAMBDA_PATH_MAX);
    int rc = pt_lambda_function_path(&path, function, suffix, err);
    if (!rc)
        rc = pt_lambda_qualifier_query(&query, qualifier, err);
    if (!rc && extra_query)
        rc = pt_buf_printf(&query, err, "%s%s", query.len ? "&" : "", extra_query);
    if (!rc) {
        struct pt_aws_request req = {
            .method = method,
            .path = path.data,
            .query = query.len ? query.data : NULL,
            .body = body,
            .body_len = body ? strlen(body) : 0,
            .content_type = body ? "application/json" : NULL,
        };
        rc = pt_aws_request_send(c, op, &req, resp, err);
    }
    pt_buf_free(&path);
    pt_buf_free(&query);
    return rc;
}

static int lambda_config_call(struct pt_aws_client *c, const char *op, const char *method,
                              const char *function, const char *suffix, const char *qualifier,
                              const char *body, struct pt_lambda_function_config *out,
                              struct pt_error *err)
{
    struct pt_aws_response resp;
    pt_aws_response_init(&resp);
    int rc = lambda_call(c, op, method, function, suffix, qualifier, NULL, body, &resp, err);
    if (!rc && out && (rc = pt_lambda_parse_configuration(resp.body.data, resp.body.len, out, err)))
        pt_error_wrap(err, "%s", op);
    pt_aws_response_free(&resp);
    return rc;
}

int pt_lambda_get_configuration(struct pt_aws_client *c, const char *function,
                                const char *qualifier, struct pt_lambda_function_config *out,
                                struct pt_error *err)
{
    return lambda_config_call(c, "GetFunctionConfiguration", "GET", function, "/configuration",
                              qualifier, NULL, out, err);
}

int pt_lambda_update_configuration(struct pt_aws_client *c, const char *function, int memory_mb,
                                   const char *description, struct pt_lambda_function_config *out,
                                   struct pt_error *err)
{
    char *body = pt_lambda_update_body(memory_mb, description);
    if (!body)
        return pt_error_set(err, PT_ENOMEM, "out of memory");
    /* An earlier update may still be in progress (409): wait for it, bounded, and try again. */
    int rc = 0;
    for (int attempt = 0; attempt < 5; attempt++) {
        rc = lambda_config_call(c, "UpdateFunctionConfiguration", "PUT", function, "/configuration",
                                NULL, body, out, err);
        if (rc != PT_ESTATE)
            break;
        if ((rc = pt_lambda_wait_updated(c, function, 0, 120000, err)))
            break;
        rc = PT_ESTATE;
    }
    free(body);
    return rc;
}

/* What a wait makes of one configuration it read. */
enum lambda_wait_verdict { LAMBDA_WAIT_DONE, LAMBDA_WAIT_AGAIN, LAMBDA_WAIT_FAILED };

/*
 * Polls GetFunctionConfiguration(qualifier) until judge says done (0) or failed (0 with
 * *failed); cfg holds the last configuration read. PT_ETIMEDOUT after w->max_wait_ms, PT_EINTR
 * when w->interrupted says so.
 */
static int lambda_wait(struct pt_aws_client *c, const char *function, const char *qualifier,
                       enum lambda_wait_verdict (*judge)(const struct pt_lambda_function_config *),
                       const struct pt_lambda_wait_options *w,
                       struct pt_lambda_function_config *cfg, bool *failed, struct pt_error *err)
{
    long poll_ms = w->poll_ms > 0 ? w->poll_ms : 1000;
    int64_t deadline = pt_mono_ns() + (int64_t)w->max_wait_ms * 1000000;
    *failed = false;
    for (;;) {
        if (w->interrupted && w->interrupted(w->interrupted_arg))
            return pt_error_set(err, PT_EINTR, "interrupted");
        int rc = pt_lambda_get_configuration(c, function, qualifier, cfg, err);
        if (rc)
            return rc;
        enum lambda_wait_verdict v = judge(cfg);
        if (v != LAMBDA_WAIT_AGAIN) {
            *failed = v == LAMBDA_WAIT_FAILED;
            return 0;
        }
        if (pt_mono_ns() >= deadline)
            return pt_error_set(err, PT_ETIMEDOUT, "%s%s%s: still %s%s%s after %ld ms", function,
                                qualifier ? ":" : "", qualifier ? qualifier : "",
                                cfg->state[0] ? cfg->state : "(no State)",
                                cfg->last_update_status[0] ? "/" : "", cfg->last_update_status,
                                w->max_wait_ms);
        /* The first poll comes quickly: local servers finish within a few hundred ms. */
        if (pt_sleep_ms_unless(poll_ms, w->interrupted, w->interrupted_arg))
            return pt_error_set(err, PT_EINTR, "interrupted");
    }
}

static enum lambda_wait_verdict lambda_judge_updated(const struct pt_lambda_function_config *cfg)
{
    if (strcmp(cfg->last_update_status, "Failed") == 0 || strcmp(cfg->state, "Failed") == 0)
        return LAMBDA_WAIT_FAILED;
    bool updated = !cfg->last_update_status[0] ||
                   strcmp(cfg->last_update_status, "Successful") == 0;
    return updated && strcmp(cfg->state, "Pending") != 0 ? LAMBDA_WAIT_DONE : LAMBDA_WAIT_AGAIN;
}

int pt_lambda_wait_updated(struct pt_aws_client *c, const char *function, long poll_ms,
                           long max_wait_ms, struct pt_error *err)
{
    struct pt_lambda_wait_options w = {.poll_ms = poll_ms, .max_wait_ms = max_wait_ms};
    struct pt_lambda_function_config cfg;
    bool failed;
    int rc = lambda_wait(c, function, NULL, lambda_judge_updated, &w, &cfg, &failed, err);
    if (!rc && failed)
        rc = pt_error_set(err, PT_EIO, "%s: the configuration update failed: %s", function,
                          cfg.last_update_reason[0] ? cfg.last_update_reason : "no reason");
    return rc;
}

/* The SDK's acceptors: Active success, Failed failure, Pending retry (and what none matches). */
static enum lambda_wait_verdict lambda_judge_active(const struct pt_lambda_function_config *cfg)
{
    if (strcmp(cfg->state, "Failed") == 0)
        return LAMBDA_WAIT_FAILED;
    return !cfg->state[0] || strcmp(cfg->state, "Active") == 0 ? LAMBDA_WAIT_DONE
                                                                : LAMBDA_WAIT_AGAIN;
}

int pt_lambda_wait_active(struct pt_aws_client *c, const char *function, const char *qualifier,
                          const struct pt_lambda_wait_options *w,
                          struct pt_lambda_function_config *out, struct pt_error *err)
{
    struct pt_lambda_function_config cfg = {0}; /* out's, also when the first poll fails */
    bool failed;
    int rc = lambda_wait(c, function, qualifier, lambda_judge_active, w, &cfg, &failed, err);
    if (!rc && failed)
        rc = pt_error_set(err, PT_ESTATE, "%s (version %s) is Failed: %s: %s",
                          qualifier ? qualifier : "$LATEST", cfg.version[0] ? cfg.version : "?",
                          cfg.state_reason_code[0] ? cfg.state_reason_code : "no StateReasonCode",
                          cfg.state_reason[0] ? cfg.state_reason : "no StateReason");
    if (out)
        *out = cfg;
    return rc;
}

int pt_lambda_publish_version(struct pt_aws_client *c, const char *function,
                              const char *description, char *version, struct pt_error *err)
{
    json_t *o = json_object();
    if (description)
        json_object_set_new(o, "Description", json_string(description));
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!body)
        return pt_error_set(err, PT_ENOMEM, "out of memory");
    struct pt_lambda_function_config cfg;
    int rc = 0;
    for (int attempt = 0; attempt < 5; attempt++) {
        rc = lambda_config_call(c, "PublishVersion", "POST", function, "/versions", NULL, body, &cfg,
                                err);
        if (rc != PT_ESTATE)
            break;
        if ((rc = pt_lambda_wait_updated(c, function, 0, 120000, err)))
            break;
        rc = PT_ESTATE;
    }
    free(body);
    if (!rc)
        pt_strlcpy(version, cfg.version, PT_LAMBDA_VERSION_MAX);
    return rc;
}

static int parse_alias(json_t *j, struct pt_lambda_alias *out)
{
    jstr(j, "Name", out->name, sizeof(out->name));
    jstr(j, "FunctionVersion", out->function_version, sizeof(out->function_version));
    json_t *routing = json_object_get(j, "RoutingConfig");
    json_t *weights = json_is_object(routing)
                          ? json_object_get(routing, "AdditionalVersionWeights")
                          : NULL;
    const char *version;
    json_t *weight;
    if (json_is_object(weights))
        json_object_foreach(weights, version, weight) {
            pt_strlcpy(out->routing_version, version, sizeof(out->routing_version));
            break;
        }
    return out->name[0] ? 0 : -1;
}

int pt_lambda_parse_alias(const char *json, size_t len, struct pt_lambda_alias *out)
{
    json_t *j = json_loadb(json ? json : "", len, 0, NULL);
    memset(out, 0, sizeof(*out));
    int rc = json_is_object(j) ? parse_alias(j, out) : -1;
    json_decref(j);
    return rc;
}

bool pt_lambda_alias_uses(const struct pt_lambda_alias *a, const char *version)
{
    return strcmp(a->function_version, version) == 0 ||
           (a->routing_version[0] && strcmp(a->routing_version, version) == 0);
}

int pt_lambda_get_alias(struct pt_aws_client *c, const char *function, const char *name,
                        struct pt_lambda_alias *out, struct pt_error *err)
{
    char suffix[PT_LAMBDA_ALIAS_MAX + 16];
    snprintf(suffix, sizeof(suffix), "/aliases/%s", name);
    struct pt_aws_response resp;
    pt_aws_response_init(&resp);
    int rc = lambda_call(c, "GetAlias", "GET", function, suffix, NULL, NULL, NULL, &resp, err);
    if (!rc && pt_lambda_parse_alias(resp.body.data, resp.body.len, out) < 0)
        rc = pt_error_set(err, PT_EPROTO, "GetAlias %s: not an AliasConfiguration", name);
    pt_aws_response_free(&resp);
    return rc;
}

static int alias_write(struct pt_aws_client *c, const char *op, const char *method,
                       const char *function, const char *name, const char *version,
                       struct pt_error *err)
{
    char suffix[PT_LAMBDA_ALIAS_MAX + 16];
    json_t *o = json_object();
    if (strcmp(method, "POST") == 0) {
        snprintf(suffix, sizeof(suffix), "/aliases");
        json_object_set_new(o, "Name", json_string(name));
    } else {
        snprintf(suffix, sizeof(suffix), "/aliases/%s", name);
    }
    json_object_set_new(o, "FunctionVersion", json_string(version));
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!body)
        return pt_error_set(err, PT_ENOMEM, "out of memory");
    struct pt_aws_response resp;
    pt_aws_response_init(&resp);
    int rc = lambda_call(c, op, method, function, suffix, NULL, NULL, body, &resp, err);
    pt_aws_response_free(&resp);
    free(body);
    return rc;
}

int pt_lambda_create_alias(struct pt_aws_client *c, const char *function, const char *name,
                           const char *version, struct pt_error *err)
{
    return alias_write(c, "CreateAlias", "POST", function, name, version, err);
}

int pt_lambda_update_alias(struct pt_aws_client *c, const char *function, const char *name,
                           const char *version, struct pt_error *err)
{
    return alias_write(c, "UpdateAlias", "PUT", function, name, version, err);
}

int pt_lambda_point_alias(struct pt_aws_client *c, const char *function, const char *name,
                          const char *version, char *previous, struct pt_error *err)
{
    struct pt_lambda_alias a;
    if (previous)
        previous[0] = '\0';
    int rc = pt_lambda_get_alias(c, function, name, &a, err);
    if (rc == 0 && previous)
        pt_strlcpy(previous, a.function_version, PT_LAMBDA_VERSION_MAX);
    if (rc == 0)
        return strcmp(a.function_version, version) == 0
                   ? 0
                   : pt_lambda_update_alias(c, function, name, version, err);
    if (rc != PT_ENOTFOUND)
        return rc;
    rc = pt_lambda_create_alias(c, function, name, version, err);
    /* Created meanwhile by someone else ("Alias already exists"): point it, as the reference. */
    if (rc == PT_ESTATE)
        rc = pt_lambda_update_alias(c, function, name, version, err);
    return rc;
}

int pt_lambda_delete_alias(struct pt_aws_client *c, const char *function, const char *name,
                           struct pt_error *err)
{
    char suffix[PT_LAMBDA_ALIAS_MAX + 16];
    snprintf(suffix, sizeof(suffix), "/aliases/%s", name);
    struct pt_aws_response resp;
    pt_aws_response_init(&resp);
    int rc = lambda_call(c, "DeleteAlias", "DELETE", function, suffix, NULL, NULL, NULL, &resp, err);
    pt_aws_response_free(&resp);
    return rc;
}

int pt_lambda_delete_version(struct pt_aws_client *c, const char *function, const char *version,
                             struct pt_error *err)
{
    if (!version || !version[0] || strcmp(version, "$LATEST") == 0)
        return pt_error_set(err, PT_EUSAGE, "refusing to delete version \"%s\" of %s",
                            version ? version : "", function);
    struct pt_aws_response resp;
    pt_aws_response_init(&resp);
    int rc = lambda_call(c, "DeleteFunction", "DELETE", function, NULL, version, NULL, NULL, &resp,
                         err);
    pt_aws_response_free(&resp);
    return rc;
}

/* Pages through a list call; each item of `key` goes to fn. */
static int list_pages(struct pt_aws_client *c, const char *op, const char *function,
                      const char *suffix, const char *key,
                      int (*fn)(void *arg, json_t *item, struct pt_error *err), void *arg,
                      struct pt_error *err)
{
    char marker[1024] = "";
    int rc = 0;
    for (int page = 0; page < LAMBDA_LIST_PAGES_MAX; page++) {
        struct pt_buf q;
        pt_buf_init(&q, 4096);
        rc = pt_buf_append_str(&q, "MaxItems=50", err);
        if (!rc && marker[0]) {
            rc = pt_buf_append_str(&q, "&Marker=", err);
            if (!rc)
                rc = pt_sigv4_uri_encode(&q, marker, strlen(marker), false, err);
        }
        struct pt_aws_response resp;
        pt_aws_response_init(&resp);
        if (!rc)
            rc = lambda_call(c, op, "GET", function, suffix, NULL, q.data, NULL, &resp, err);
        json_t *j = NULL;
        if (!rc) {
            j = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0, NULL);
            json_t *items = json_object_get(j, key);
            if (!json_is_array(items))
                rc = pt_error_set(err, PT_EPROTO, "%s: no %s array", op, key);
            size_t i;
            json_t *item;
            json_array_foreach(items, i, item) {
                if (!rc)
                    rc = fn(arg, item, err);
            }
            jstr(j, "NextMarker", marker, sizeof(marker));
        }
        json_decref(j);
        pt_aws_response_free(&resp);
        pt_buf_free(&q);
        if (rc || !marker[0])
            return rc;
    }
    return pt_error_set(err, PT_ELIMIT, "%s: more than %d pages", op, LAMBDA_LIST_PAGES_MAX);
}

struct alias_list {
    struct pt_lambda_alias *v;
    size_t n, cap;
};

static int alias_list_add(void *arg, json_t *item, struct pt_error *err)
{
    struct alias_list *l = arg;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct pt_lambda_alias *v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return pt_error_set(err, PT_ENOMEM, "out of memory for aliases");
        l->v = v;
        l->cap = cap;
    }
    memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
    if (parse_alias(item, &l->v[l->n]) == 0)
        l->n++;
    return 0;
}

int pt_lambda_list_aliases(struct pt_aws_client *c, const char *function,
                           struct pt_lambda_alias **out, size_t *n, struct pt_error *err)
{
    struct alias_list l = {0};
    int rc = list_pages(c, "ListAliases", function, "/aliases", "Aliases", alias_list_add, &l, err);
    if (rc) {
        free(l.v);
        return rc;
    }
    *out = l.v;
    *n = l.n;
    return 0;
}

static int max_version_add(void *arg, json_t *item, struct pt_error *err)
{
    (void)err;
    long *max = arg, v;
    json_t *s = json_object_get(item, "Version");
    if (json_is_string(s) && pt_parse_long(json_string_value(s), 1, 1L << 40, &v) == 0 && v > *max)
        *max = v;
    return 0;
}

int pt_lambda_max_version(struct pt_aws_client *c, const char *function, long *out,
                          struct pt_error *err)
{
    *out = 0;
    return list_pages(c, "ListVersionsByFunction", function, "/versions", "Versions",
                      max_version_add, out, err);
}

int pt_lambda_base64_decode(const char *in, char **out, size_t *out_len, struct pt_error *err)
{
    size_t n = strlen(in);
    while (n && (in[n - 1] == '\n' || in[n - 1] == '\r' || in[n - 1] == ' '))
        n--;
    if (n % 4 != 0 || n > LAMBDA_LOG_MAX)
        return pt_error_set(err, PT_EPROTO, "X-Amz-Log-Result: not base64 (%zu characters)", n);
    unsigned char *buf = malloc(n / 4 * 3 + 1);
    if (!buf)
        return pt_error_set(err, PT_ENOMEM, "out of memory");
    int len = n ? EVP_DecodeBlock(buf, (const unsigned char *)in, (int)n) : 0;
    if (len < 0) {
        free(buf);
        return pt_error_set(err, PT_EPROTO, "X-Amz-Log-Result: not base64");
    }
    /* EVP_DecodeBlock counts the '=' padding as zero bytes. */
    if (n >= 1 && in[n - 1] == '=')
        len--;
    if (n >= 2 && in[n - 2] == '=')
        len--;
    buf[len] = '\0';
    *out = (char *)buf;
    *out_len = (size_t)len;
    return 0;
}

/* ---- REPORT in the log tail ---- */

/* A size in MB from a parsed figure: 0 (absent) unless 1..INT_MAX (a double out of int's range
 * must not be converted: that is undefined). */
static int mb_figure(double v)
{
    return v > 0 && v <= INT_MAX ? (int)v : 0;
}

/* Value of "\t<name>: <number>" (or at the line start) within [s, e); -1 if absent. */
static double report_field(const char *s, const char *e, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = s; p + nl + 2 < e; p++) {
        if ((p == s || p[-1] == '\t' || p[-1] == ' ') && memcmp(p, name, nl) == 0 &&
            p[nl] == ':' && p[nl + 1] == ' ') {
            /* "Duration" must not match inside "Billed Duration" / "Init Duration". */
            if (p > s && p[-1] == ' ' && p - s >= 2 && p[-2] != 's')
                continue;
            /* strtod on a bounded copy: the line is not NUL-terminated, and strtod would read
             * past its end (skipping a newline as a blank, into the next line). Only finite
             * figures: "inf" or "1e999" would pass for a duration. */
            const char *v0 = p + nl + 2;
            char num[64];
            size_t k = (size_t)(e - v0);
            if (k >= sizeof(num))
                k = sizeof(num) - 1;
            memcpy(num, v0, k);
            num[k] = '\0';
            char *end;
            double v = strtod(num, &end);
            if (end != num && isfinite(v))
                return v;
        }
    }
    return -1;
}

static int report_from_text_line(const char *s, size_t n, struct pt_lambda_report *out)
{
    struct pt_report r;
    memset(out, 0, sizeof(*out));
    if (pt_report_parse(s, n, &r) == 0) {
        out->duration_ms = r.duration_ms;
        out->billed_ms = (double)r.billed_ms;
        out->init_ms = r.init_duration_ms;
        out->memory_mb = r.memory_mb;
        out->max_memory_used_mb = r.max_memory_used_mb;
        if (r.status == PT_STATUS_TIMEOUT)
            pt_strlcpy(out->status, "timeout", sizeof(out->status));
        else if (r.status == PT_STATUS_ERROR)
            pt_strlcpy(out->status, "error", sizeof(out->status));
        pt_strlcpy(out->error_type, r.error_type, sizeof(out->error_type));
    } else {
        /* Older or odd spacings ("Billed Duration: 100 ms Memory Size", "27 ms \t"). */
        const char *e = s + n;
        double d = report_field(s, e, "Duration");
        if (d < 0)
            return -1;
        out->duration_ms = d;
        double b = report_field(s, e, "Billed Duration");
        out->billed_ms = b > 0 ? b : 0;
        out->init_ms = report_field(s, e, "Init Duration");
        double m = report_field(s, e, "Memory Size"), u = report_field(s, e, "Max Memory Used");
        out->memory_mb = mb_figure(m);
        out->max_memory_used_mb = mb_figure(u);
    }
    double rd = report_field(s, s + n, "Restore Duration");
    double brd = report_field(s, s + n, "Billed Restore Duration");
    out->restore_ms = rd > 0 ? rd : 0;
    out->billed_restore_ms = brd > 0 ? brd : 0;
    return 0;
}

/* A figure of the record's metrics; a negative one counts as absent, as in the text form. */
static double metric(json_t *m, const char *key, double absent)
{
    json_t *v = json_object_get(m, key);
    double x = json_is_number(v) ? json_number_value(v) : absent;
    return x >= 0 ? x : absent;
}

static int report_from_json_record(json_t *j, struct pt_lambda_report *out)
{
    json_t *type = json_object_get(j, "type");
    if (!json_is_string(type) || strcmp(json_string_value(type), "platform.report") != 0)
        return -1;
    json_t *rec = json_object_get(j, "record");
    json_t *m = json_object_get(rec, "metrics");
    memset(out, 0, sizeof(*out));
    /* Missing optional metrics are 0 (init: absent = warm), never an error (#305). */
    out->duration_ms = metric(m, "durationMs", 0);
    out->billed_ms = metric(m, "billedDurationMs", 0);
    out->init_ms = metric(m, "initDurationMs", -1);
    out->restore_ms = metric(m, "restoreDurationMs", 0);
    out->billed_restore_ms = metric(m, "billedRestoreDurationMs", 0);
    out->memory_mb = mb_figure(metric(m, "memorySizeMB", 0));
    out->max_memory_used_mb = mb_figure(metric(m, "maxMemoryUsedMB", 0));
    jstr(rec, "status", out->status, sizeof(out->status));
    if (strcmp(out->status, "success") == 0)
        out->status[0] = '\0';
    jstr(rec, "errorType", out->error_type, sizeof(out->error_type));
    return 0;
}

int pt_lambda_report_from_log(const char *log, size_t len, struct pt_lambda_report *out)
{
    bool found = false;
    struct pt_lambda_report r;
    /* Line by line, keeping the last REPORT: a tail may start mid-line (its first line is then a
     * fragment that neither form accepts) and may mix text and JSON lines. */
    for (size_t i = 0; i < len;) {
        const char *s = log + i;
        const char *nl = memchr(s, '\n', len - i);
        size_t n = nl ? (size_t)(nl - s) : len - i;
        i += n + 1;
        while (n && (s[n - 1] == '\r'))
            n--;
        if (n == 0)
            continue;
        if (n > 7 && memcmp(s, "REPORT ", 7) == 0) {
            if (report_from_text_line(s, n, &r) == 0) {
                *out = r;
                found = true;
            }
        } else if (s[0] == '{' && memmem(s, n, "platform.report", 15)) {
            json_t *j = json_loadb(s, n, 0, NULL);
            if (j && report_from_json_record(j, &r) == 0) {
                *out = r;
                found = true;
            }
            json_decref(j);
        }
    }
    if (!found && len && log[0] == '[') {
        /* The whole tail as one JSON array of records (the reference's first attempt). */
        json_t *a = json_loadb(log, len, 0, NULL), *item;
        size_t k;
        json_array_foreach(a, k, item) {
            if (report_from_json_record(item, &r) == 0) {
                *out = r;
                found = true;
            }
        }
        json_decref(a);
    }
    return found ? 0 : PT_ENOTFOUND;
}

int pt_lambda_invoke(struct pt_aws_client *c, const char *function, const char *qualifier,
                     const char *payload, size_t len, bool tail,
                     struct pt_lambda_invoke_result *out, char *throttle_reason,
                     struct pt_error *err)
{
    memset(out, 0, sizeof(*out));
    struct pt_buf path, query;
    pt_buf_init(&path, LAMBDA_PATH_MAX);
    pt_buf_init(&query, LAMBDA_PATH_MAX);
    struct pt_aws_response resp;
    pt_aws_response_init(&resp);
    int rc = pt_lambda_function_path(&path, function, "/invocations", err);
    if (!rc)
        rc = pt_lambda_qualifier_query(&query, qualifier, err);
    if (!rc) {
        struct pt_sigv4_header h[2] = {{"X-Amz-Invocation-Type", "RequestResponse"},
                                       {"X-Amz-Log-Type", tail ? "Tail" : "None"}};
        struct pt_aws_request req = {
            .method = "POST",
            .path = path.data,
            .query = query.len ? query.data : NULL,
            .headers = h,
            .header_count = 2,
            .body = payload,
            .body_len = len,
            .response_limit = PT_AWS_INVOKE_RESPONSE_MAX,
            .timeout_ms = 960000, /* the longest function (900 s) plus INIT */
            .no_throttle_retry = true,
            .interruptible = true, /* Ctrl-C need not wait for a 15-minute function */
        };
        rc = pt_aws_request_send(c, "Invoke", &req, &resp, err);
        if (rc == PT_ETHROTTLED && throttle_reason)
            pt_strlcpy(throttle_reason, resp.reason[0] ? resp.reason : "TooManyRequestsException",
                       64);
    }
    if (!rc) {
        out->status = resp.status;
        pt_strlcpy(out->function_error, resp.function_error, sizeof(out->function_error));
        pt_strlcpy(out->executed_version, resp.executed_version, sizeof(out->executed_version));
        out->payload = pt_buf_steal(&resp.body, &out->payload_len);
        if (!out->payload && !(out->payload = calloc(1, 1)))
            rc = pt_error_set(err, PT_ENOMEM, "out of memory");
    }
    if (!rc && resp.log_result) {
        rc = pt_lambda_base64_decode(resp.log_result, &out->log, &out->log_len, err);
        if (!rc)
            out->has_report = pt_lambda_report_from_log(out->log, out->log_len, &out->report) == 0;
    }
    if (rc)
        pt_lambda_invoke_result_free(out);
    pt_aws_response_free(&resp);
    pt_buf_free(&path);
    pt_buf_free(&query);
    return rc;
}
