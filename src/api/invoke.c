/*
 * invoke.c - Lambda's Invoke: RequestResponse, Event (queued, retried) and DryRun.
 *
 * A synchronous invoke resolves the qualifier under the registry lock (an
 * alias with RoutingConfig picks its additional version with the configured
 * weight; during an update window $LATEST is the configuration the update
 * replaced), is admitted under the function's concurrency and takes a
 * reference on the configuration's engine registration, and runs the
 * invocation without any lock. Event invocations are resolved the same way
 * when they are accepted, then handed to the durable queue (events.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "api/api_internal.h"
#include "base/str.h"

static double uniform01(void)
{
    unsigned long long x = 0;
    if (getrandom(&x, sizeof(x), 0) != (ssize_t)sizeof(x))
        x = (unsigned long long)api_mono_ms() * 0x9E3779B97F4A7C15ULL;
    return (double)(x >> 11) * 0x1.0p-53;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* Under the lock: the configuration a qualifier names, routing weights applied. */
static struct api_conf *invoke_resolve(struct pt_api *api, struct api_function *f,
                                       const char *qualifier, struct pt_api_response *r)
{
    const char *version = "$LATEST";
    if (qualifier[0] && strcmp(qualifier, "$LATEST") != 0) {
        version = qualifier;
        if (!all_digits(qualifier)) {
            struct api_alias *a = api_alias_find(f, qualifier);
            version = NULL;
            if (a) {
                version = a->version;
                if (a->extra_version[0] && uniform01() < a->extra_weight)
                    version = a->extra_version;
            }
        }
    }
    struct api_conf *c = version ? api_function_conf_serving(api, f, version) : NULL;
    if (!c) {
        char arn[API_ARN_MAX];
        api_function_arn(api, f->latest.cfg.name, qualifier, arn, sizeof(arn));
        api_error(r, "ResourceNotFoundException", "Function not found: %s", arn);
    }
    return c;
}

/* ---- the operation ---- */

enum invoke_type { INVOKE_SYNC, INVOKE_EVENT, INVOKE_DRYRUN };

static void invoke_sync(struct pt_api *api, struct api_handle *h, const char *version,
                        const struct api_target *t, const struct pt_api_request *req,
                        const char *client_context, bool tail, struct pt_api_response *r)
{
    struct pt_invoke_request ireq = {
        .payload = req->body_len ? req->body : NULL,
        .payload_len = req->body_len,
        .client_context = client_context,
        .trace_id = pt_api_request_header(req, "X-Amzn-Trace-Id"),
        .qualifier = t->qualifier[0] ? t->qualifier : NULL,
        .request_id = r->request_id, /* Lambda answers with the invocation's own id */
        .report_deferred = !tail,      /* the answer goes at the response; only a tail waits */
    };
    struct pt_invoke_result res;
    struct pt_error err = {0};
    int rc = pt_engine_invoke(api->engine, h->fn, &ireq, &res, &err);
    api_handle_release(api, h);
    if (rc == PT_ETHROTTLED) {
        api_error_throttled(r, res.throttle_reason);
        return;
    }
    if (rc) {
        api_error(r, "ServiceException", "%s", err.msg);
        return;
    }
    r->status = 200;
    r->body = res.payload;
    r->body_len = res.payload_len;
    r->content_type = "application/json";
    res.payload = NULL;
    api_resp_header(r, "X-Amz-Executed-Version", version);
    if (res.function_error)
        api_resp_header(r, "X-Amz-Function-Error", "Unhandled");
    if (tail) {
        char *b64 = api_base64_encode(res.log_tail, res.log_tail_len);
        if (b64)
            api_resp_header(r, "X-Amz-Log-Result", b64);
        free(b64);
    }
    pt_invoke_result_free(&res);
}

void api_op_invoke(struct pt_api *api, const struct api_target *t,
                   const struct pt_api_request *req, struct pt_api_response *r)
{
    const char *itype = pt_api_request_header(req, "X-Amz-Invocation-Type");
    enum invoke_type type = INVOKE_SYNC;
    if (itype && strcmp(itype, "Event") == 0)
        type = INVOKE_EVENT;
    else if (itype && strcmp(itype, "DryRun") == 0)
        type = INVOKE_DRYRUN;
    else if (itype && strcmp(itype, "RequestResponse") != 0) {
        api_error(r, "ValidationException",
                  "1 validation error detected: Value '%.64s' at 'invocationType' failed to "
                  "satisfy constraint: Member must satisfy enum value set: [Event, "
                  "RequestResponse, DryRun]",
                  itype);
        return;
    }
    const char *ltype = pt_api_request_header(req, "X-Amz-Log-Type");
    if (ltype && strcmp(ltype, "None") != 0 && strcmp(ltype, "Tail") != 0) {
        api_error(r, "ValidationException",
                  "1 validation error detected: Value '%.64s' at 'logType' failed to satisfy "
                  "constraint: Member must satisfy enum value set: [None, Tail]",
                  ltype);
        return;
    }
    bool tail = ltype && strcmp(ltype, "Tail") == 0 && type == INVOKE_SYNC;
    size_t limit = type == INVOKE_EVENT ? PT_API_INVOKE_EVENT_MAX : PT_API_INVOKE_SYNC_MAX;
    if (req->body_too_large || req->body_len > limit) {
        api_error(r, "RequestEntityTooLargeException",
                  "Request must be smaller than %zu bytes for the InvokeFunction operation",
                  limit);
        return;
    }
    if (req->body_len) {
        json_error_t jerr;
        /* Any JSON text, "\u0000" included (Python's json.dumps writes it for a NUL). */
        json_t *j = json_loadb(req->body, req->body_len, JSON_DECODE_ANY | JSON_ALLOW_NUL,
                               &jerr);
        if (!j) {
            api_error(r, "InvalidRequestContentException",
                      "Could not parse request body into json: Could not parse payload into "
                      "json: %s",
                      jerr.text);
            return;
        }
        json_decref(j);
    }
    char *client_context = NULL;
    const char *cc = pt_api_request_header(req, "X-Amz-Client-Context");
    if (cc && type == INVOKE_SYNC) {
        unsigned char *raw = NULL;
        size_t raw_len = 0;
        json_t *j = NULL;
        if (strlen(cc) > PT_API_CLIENT_CONTEXT_MAX) {
            api_error(r, "InvalidParameterValueException",
                      "Client context must be at most %d bytes of base64-encoded data",
                      PT_API_CLIENT_CONTEXT_MAX);
            return;
        }
        if (api_base64_decode(cc, strlen(cc), &raw, &raw_len) != 0 ||
            !(j = json_loadb((const char *)raw, raw_len, 0, NULL)) || !json_is_object(j)) {
            json_decref(j);
            free(raw);
            api_error(r, "InvalidRequestContentException",
                      "Client context must be a valid Base64-encoded JSON object.");
            return;
        }
        /* The runtime gets it in a header (Lambda-Runtime-Client-Context): as sent, a JSON
         * text with a line break could not go there and the function saw no client context,
         * and UTF-8 in a header reaches runtimes that read headers as Latin-1 mangled. One line
         * of ASCII JSON is the same object to any runtime. */
        client_context = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
        json_decref(j);
        free(raw);
    }

    struct pt_error err = {0};
    struct api_handle *h = NULL;
    const char *throttle = NULL;
    bool queue = false;
    int rc = 0;
    char version[API_VERSION_MAX] = "";
    api_lock(api);
    struct api_function *f = api_function_find(api, t->name);
    struct api_conf *c = NULL;
    if (!f) {
        char arn[API_ARN_MAX];
        api_function_arn(api, t->name, t->qualifier, arn, sizeof(arn));
        api_error(r, "ResourceNotFoundException", "Function not found: %s", arn);
    } else if ((c = invoke_resolve(api, f, t->qualifier, r))) {
        if (c == &f->latest && f->creating && f->busy_until_ms > api_mono_ms()) {
            api_error(r, "ResourceConflictException",
                      "The operation cannot be performed at this time. The function is "
                      "currently in the following state: Pending");
            c = NULL;
        }
    }
    if (c) {
        pt_strlcpy(version, c->version, sizeof(version));
        if (type == INVOKE_DRYRUN)
            r->status = 204;
        else if (type == INVOKE_EVENT)
            queue = true;
        else if ((rc = api_conf_acquire(api, f, c, &h, &throttle, &err)) == PT_ETHROTTLED)
            api_error_throttled(r, throttle);
        else if (rc)
            api_error(r, "ServiceException", "%s", err.msg);
    }
    api_unlock(api);
    if (queue)
        api_event_accept(api, t->name, version, t->qualifier,
                         pt_api_request_header(req, "X-Amzn-Trace-Id"), req->body,
                         req->body_len, r);
    if (h)
        invoke_sync(api, h, version, t, req, client_context, tail, r);
    free(client_context);
}
