/*
 * fuzz_api_handle - pt_api_handle (src/api/server.c: the router; control.c, invoke.c, events.c:
 * the operations) on arbitrary requests, without HTTP and without an engine.
 *
 * Each input runs on a fresh registry in a temporary state directory, holding two functions
 * made by real requests: "fn" (version 1, alias "live") and "other" (ReservedConcurrentExecutions
 * 5). The input is up to 8 requests separated by a line "%%", each
 *     METHOD /path?query
 *     Header: value        (any number)
 *     <empty line>
 *     body
 * so CreateFunction, UpdateFunctionConfiguration / Code, PublishVersion, aliases, concurrency,
 * List*, Get*, Delete* and Invoke see whatever bodies, paths and query strings the fuzzer makes.
 * A synchronous Invoke would need the engine: an invocation that is not Event is made a DryRun
 * (its header put first), which still goes through every check of the request.
 *
 * What must hold: every response has a status Lambda uses, an x-amzn-RequestId, a JSON body
 * (but for the code download), an x-amzn-ErrorType when it is an error; no request a client
 * sends makes a 500; the account's sum of reservations matches the functions'; and once the
 * requests are answered, a restart (the registry loaded again from the state directory) finds
 * exactly what the clients were told (functions, configurations, versions, aliases,
 * reservations): "everything acknowledged is persisted".
 */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "base/buf.h"
#include "base/fs.h"
#include "base/str.h"
#include "fuzz_util.h"

#define MAX_REQUESTS 8
#define MAX_HEADERS 16

/* A zip holding lambda_function.py, base64. */
#define ZIP_B64                                                                                   \
    "UEsDBBQAAAAIANm1hl1BqR12JwAAACcAAAASAAAAbGFtYmRhX2Z1bmN0aW9uLnB5S0lNU8hJzE1KSYzPSMxLyUkt0k" \
    "jVUUjWtOJSAIKi1JLSojyFVC4AUEsBAhQDFAAAAAgA2bWGXUGpHXYnAAAAJwAAABIAAAAAAAAAAAAAAIABAAAAAGxh" \
    "bWJkYV9mdW5jdGlvbi5weVBLBQYAAAAAAQABAEAAAABXAAAAAAA="

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char state[PATH_MAX];

/* pt_api_create without an engine: the registry and the Event queue, no workers. */
static struct pt_api *api_open(void)
{
    struct pt_api *api = fuzz_api_new(state);
    api->opt.update_window_ms = -1; /* no Pending / InProgress window: no timing in the run */
    api->opt.event_queue_max = 16;
    api->opt.event_queue_bytes = 1 << 20;
    pt_strlcpy(api->host, "127.0.0.1", sizeof(api->host));
    api->port = 9001;
    struct pt_error err = {0};
    char events[PATH_MAX + 16];
    snprintf(events, sizeof(events), "%s/events", api->root);
    if (pt_mkdir_p(api->root, 0755, &err) != 0 || api_registry_load(api, &err) != 0 ||
        pt_mkdir_p(events, 0700, &err) != 0) {
        fprintf(stderr, "fuzz_api_handle: %s\n", err.msg);
        abort();
    }
    return api;
}

static bool status_known(unsigned s)
{
    static const unsigned ok[] = {200, 201, 202, 204, 400, 404, 409, 412, 413, 429};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (s == ok[i])
            return true;
    return false;
}

static const char *resp_header(const struct pt_api_response *r, const char *name)
{
    for (size_t i = 0; i < r->header_count; i++)
        if (strcmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

static void check_response(const struct pt_api_request *req, const struct pt_api_response *r)
{
    const char *why = NULL;
    if (!status_known(r->status))
        why = "a status Lambda does not send (or a client's request made a 500)";
    else if (!resp_header(r, "x-amzn-RequestId"))
        why = "no x-amzn-RequestId";
    else if (r->status >= 400 && !resp_header(r, "x-amzn-ErrorType"))
        why = "an error without x-amzn-ErrorType";
    else if (r->body && r->content_type && strcmp(r->content_type, "application/json") == 0) {
        json_t *j = json_loadb(r->body, r->body_len, JSON_DECODE_ANY, NULL);
        if (!j)
            why = "a body that is not JSON";
        json_decref(j);
    } else if (r->status >= 400 && !r->body)
        why = "an error without a body";
    if (!why)
        return;
    fprintf(stderr, "fuzz_api_handle: %s\n  %s %s%s%s -> %u %.*s\n", why, req->method, req->path,
            req->query ? "?" : "", req->query ? req->query : "", r->status,
            r->body ? (int)(r->body_len < 2000 ? r->body_len : 2000) : 0,
            r->body ? r->body : "");
    abort();
}

static void call(struct pt_api *api, const struct pt_api_request *req, bool check,
                 unsigned expect)
{
    struct pt_api_response r;
    pt_api_handle(api, req, &r);
    if (check)
        check_response(req, &r);
    if (expect && r.status != expect) {
        fprintf(stderr, "fuzz_api_handle: setup %s %s -> %u %.*s\n", req->method, req->path,
                r.status, r.body ? (int)r.body_len : 0, r.body ? r.body : "");
        abort();
    }
    pt_api_response_free(&r);
}

static void setup_call(struct pt_api *api, const char *method, const char *path,
                       const char *body, unsigned expect)
{
    struct pt_sigv4_header h[] = {{"Host", "127.0.0.1"}};
    struct pt_api_request req = {.method = method, .path = path, .headers = h, .header_count = 1,
                                 .body = body, .body_len = body ? strlen(body) : 0};
    call(api, &req, false, expect);
}

static void preload(struct pt_api *api)
{
    static const char create[] =
        "{\"FunctionName\":\"%s\",\"Runtime\":\"python3.12\",\"Handler\":"
        "\"lambda_function.lambda_handler\",\"Role\":\"arn:aws:iam::123456789012:role/r\","
        "\"Code\":{\"ZipFile\":\"" ZIP_B64 "\"}}";
    char body[1024];
    snprintf(body, sizeof(body), create, "fn");
    setup_call(api, "POST", "/2015-03-31/functions", body, 201);
    setup_call(api, "POST", "/2015-03-31/functions/fn/versions", "{}", 201);
    setup_call(api, "POST", "/2015-03-31/functions/fn/aliases",
               "{\"Name\":\"live\",\"FunctionVersion\":\"1\"}", 201);
    snprintf(body, sizeof(body), create, "other");
    setup_call(api, "POST", "/2015-03-31/functions", body, 201);
    setup_call(api, "PUT", "/2017-10-31/functions/other/concurrency",
               "{\"ReservedConcurrentExecutions\":5}", 200);
}

/* One request of the input (NUL-terminated text, body by length). */
struct raw_request {
    char *method, *path, *query;
    struct pt_sigv4_header headers[MAX_HEADERS + 1];
    size_t header_count;
    const char *body;
    size_t body_len;
};

static char *cut_line(char **p, char *end)
{
    char *s = *p;
    char *nl = memchr(s, '\n', (size_t)(end - s));
    if (nl) {
        *nl = '\0';
        *p = nl + 1;
    } else {
        *p = end;
    }
    return s;
}

/* Splits one request; false if it has no request line. */
static bool parse_request(char *s, char *end, struct raw_request *q)
{
    memset(q, 0, sizeof(*q));
    char *p = s;
    char *line = cut_line(&p, end);
    char *sp = strchr(line, ' ');
    if (!sp)
        return false;
    *sp = '\0';
    q->method = line;
    q->path = sp + 1;
    char *qm = strchr(q->path, '?');
    if (qm) {
        *qm = '\0';
        q->query = qm + 1;
    }
    /* One slot kept in front for the DryRun that replaces a synchronous Invoke. */
    q->header_count = 1;
    while (p < end) {
        line = cut_line(&p, end);
        if (!*line)
            break;
        char *colon = strchr(line, ':');
        if (!colon || q->header_count > MAX_HEADERS)
            continue;
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ')
            v++;
        q->headers[q->header_count].name = line;
        q->headers[q->header_count].value = v;
        q->header_count++;
    }
    q->body = p;
    q->body_len = (size_t)(end - p);
    return true;
}

static void run_request(struct pt_api *api, struct raw_request *q)
{
    const struct pt_sigv4_header *h = q->headers + 1;
    size_t n = q->header_count - 1;
    struct pt_api_request req = {.method = q->method, .path = q->path, .query = q->query};
    req.headers = h;
    req.header_count = n;
    if (strstr(q->path, "invocations")) {
        const char *type = pt_api_request_header(&req, "X-Amz-Invocation-Type");
        if (!type || (strcmp(type, "Event") != 0 && strcmp(type, "DryRun") != 0)) {
            q->headers[0].name = "X-Amz-Invocation-Type";
            q->headers[0].value = "DryRun";
            req.headers = q->headers;
            req.header_count = q->header_count;
        }
    }
    /* The body in a buffer of exactly its size. */
    char *body = q->body_len ? fuzz_copy(q->body, q->body_len) : NULL;
    if (q->body_len && !body)
        return;
    req.body = body;
    req.body_len = q->body_len;
    call(api, &req, true, 0);
    free(body);
}

/* ---- the registry, as text, for the restart comparison ---- */

static void dump_conf(struct pt_buf *b, const struct api_conf *c)
{
    const struct pt_function_config *g = &c->cfg;
    pt_buf_printf(b, NULL,
                  "  %s rt=%s h=%s role=%s mem=%d to=%d eph=%d arch=%s desc=%s sha=%s size=%lld "
                  "code=%s rev=%s src=%s mod=%s trace=%s log=%s/%s/%s/%s env=",
                  c->version, g->runtime, g->handler, c->role, g->memory_mb, g->timeout_s,
                  g->ephemeral_mb, g->architecture, g->description, c->code_sha256, c->code_size,
                  c->code_id, c->revision_id, c->source_revision, c->last_modified,
                  c->tracing_mode, c->log_format, pt_log_level_name(pt_function_app_log_level(g)),
                  pt_log_level_name(pt_function_system_log_level(g)), c->log_group);
    for (size_t i = 0; i < g->env_count; i++)
        pt_buf_printf(b, NULL, "%s=%s;", g->env[i].key, g->env[i].value);
    pt_buf_printf(b, NULL, "\n");
}

static void dump_registry(struct pt_api *api, struct pt_buf *b)
{
    long reserved = 0;
    for (size_t i = 0; i < api->fn_count; i++) {
        const struct api_function *f = api->fns[i];
        if (i && strcmp(api->fns[i - 1]->latest.cfg.name, f->latest.cfg.name) >= 0)
            abort(); /* the registry is searched by bisection */
        if (f->reserved > 0)
            reserved += f->reserved;
        pt_buf_printf(b, NULL, "%s reserved=%d next=%ld\n", f->latest.cfg.name, f->reserved,
                      f->next_version);
        /* A log group the client did not set is shown as the default, reloaded as set. */
        struct api_conf latest = f->latest;
        if (!latest.log_group[0])
            snprintf(latest.log_group, sizeof(latest.log_group), "/aws/lambda/%s",
                     latest.cfg.name);
        dump_conf(b, &latest);
        for (size_t k = 0; k < f->version_count; k++) {
            struct api_conf v = *f->versions[k];
            if (!v.log_group[0])
                snprintf(v.log_group, sizeof(v.log_group), "/aws/lambda/%s", v.cfg.name);
            dump_conf(b, &v);
        }
        for (size_t k = 0; k < f->alias_count; k++) {
            const struct api_alias *a = &f->aliases[k];
            pt_buf_printf(b, NULL, "  alias %s -> %s (%s %.17g) desc=%s rev=%s\n", a->name,
                          a->version, a->extra_version, a->extra_weight, a->description,
                          a->revision_id);
        }
    }
    if (reserved != api->reserved_sum) {
        fprintf(stderr, "fuzz_api_handle: reserved_sum %d, the functions hold %ld\n",
                api->reserved_sum, reserved);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!state[0])
        snprintf(state, sizeof(state), "%s/state",
                 fuzz_tmpdir_or_abort("pt-fuzz-api-XXXXXX", pt_rmtree));
    pt_rmtree(state);
    struct pt_api *api = api_open();
    preload(api);

    char *text = fuzz_cstr(data, size);
    if (!text)
        abort();
    char *p = text, *end = text + size;
    for (int i = 0; i < MAX_REQUESTS && p < end; i++) {
        char *sep = memmem(p, (size_t)(end - p), "\n%%\n", 4);
        char *req_end = sep ? sep : end;
        *req_end = '\0';
        struct raw_request q;
        if (parse_request(p, req_end, &q))
            run_request(api, &q);
        p = sep ? sep + 4 : end;
    }
    free(text);

    struct pt_buf before, after;
    pt_buf_init(&before, 0);
    pt_buf_init(&after, 0);
    api_lock(api);
    dump_registry(api, &before);
    api_unlock(api);
    pt_api_destroy(api);
    api = api_open();
    dump_registry(api, &after);
    pt_api_destroy(api);
    if (before.len != after.len || (before.len && memcmp(before.data, after.data, before.len))) {
        fprintf(stderr, "fuzz_api_handle: the registry after a restart is not what was "
                        "acknowledged\n--- before\n%.*s--- after\n%.*s",
                (int)before.len, before.data ? before.data : "", (int)after.len,
                after.data ? after.data : "");
        abort();
    }
    pt_buf_free(&before);
    pt_buf_free(&after);
    return 0;
}
