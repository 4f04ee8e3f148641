/*
 * invoke.c - Lambda's Invoke: RequestResponse, Event (queued, retried) and DryRun.
 *
 * A synchronous invoke resolves the qualifier under the registry lock (an
 * alias with RoutingConfig picks its additional version with the configured
 * weight), takes a reference on the configuration's engine registration, and
 * runs the invocation without any lock. Event invocations are resolved the
 * same way when they are accepted, queued (bounded), and run by a few worker
 * threads; as on Lambda a function error is retried twice, the retries
 * waiting one and two retry delays (Lambda: one and two minutes), and a
 * throttled event waits and tries again for up to six hours.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "api/api_internal.h"
#include "base/str.h"

#define EVENT_MAX_AGE_MS (6LL * 3600 * 1000)
#define EVENT_RETRIES 2

struct api_event {
    struct api_event *next;
    char name[PT_AWS_FUNCTION_NAME_MAX];
    char version[API_VERSION_MAX];
    char qualifier[PT_AWS_QUALIFIER_MAX]; /* as invoked, for the Invoked-Function-Arn */
    char trace_id[256];
    char *payload;
    size_t payload_len;
    int attempt;
    int throttles;
    int64_t due_ms;
    int64_t accepted_ms;
};

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
    struct api_conf *c = version ? api_function_conf(f, version) : NULL;
    if (!c) {
        char arn[API_ARN_MAX];
        api_function_arn(api, f->latest.cfg.name, qualifier, arn, sizeof(arn));
        api_error(r, "ResourceNotFoundException", "Function not found: %s", arn);
    }
    return c;
}

static void event_free(struct api_event *ev)
{
    if (ev)
        free(ev->payload);
    free(ev);
}

/* Under ev_lock: keeps the queue ordered by due time. */
static void event_insert(struct pt_api *api, struct api_event *ev)
{
    struct api_event **p = &api->ev_head;
    while (*p && (*p)->due_ms <= ev->due_ms)
        p = &(*p)->next;
    ev->next = *p;
    *p = ev;
    if (!ev->next)
        api->ev_tail = ev;
    api->ev_queued++;
    pthread_cond_signal(&api->ev_cond);
}

static void event_log(struct pt_api *api, const struct api_event *ev, const char *what)
{
    if (!api->opt.log)
        return;
    char line[PT_ERROR_MSG_MAX + 256];
    snprintf(line, sizeof(line), "event %s:%s (attempt %d): %.1023s", ev->name, ev->version,
             ev->attempt + 1, what);
    api->opt.log(api->opt.log_arg, line);
}

/* Runs one event; true when it must be queued again (ev->due_ms set). */
static bool event_run(struct pt_api *api, struct api_event *ev)
{
    struct pt_error err = {0};
    struct api_handle *h = NULL;
    api_lock(api);
    struct api_function *f = api_function_find(api, ev->name);
    struct api_conf *c = f ? api_function_conf(f, ev->version) : NULL;
    int rc = c ? api_conf_acquire(api, f, c, &h, &err) : PT_ENOTFOUND;
    api_unlock(api);
    if (rc) {
        event_log(api, ev, c ? err.msg : "the function or version is gone: dropped");
        return false;
    }
    struct pt_invoke_request req = {
        .payload = ev->payload_len ? ev->payload : NULL,
        .payload_len = ev->payload_len,
        .trace_id = ev->trace_id[0] ? ev->trace_id : NULL,
        .qualifier = ev->qualifier[0] ? ev->qualifier : NULL,
    };
    struct pt_invoke_result res;
    rc = pt_engine_invoke(api->engine, h->fn, &req, &res, &err);
    api_handle_release(api, h);
    int64_t now = api_mono_ms();
    if (rc == PT_ETHROTTLED) {
        if (now - ev->accepted_ms > EVENT_MAX_AGE_MS) {
            event_log(api, ev, "throttled for six hours: dropped");
            return false;
        }
        int shift = ev->throttles < 6 ? ev->throttles : 6;
        ev->throttles++;
        ev->due_ms = now + (1000LL << shift);
        return true;
    }
    if (rc) {
        event_log(api, ev, err.msg);
        return false;
    }
    bool retry = res.function_error && ev->attempt < EVENT_RETRIES;
    if (res.function_error) {
        char what[256];
        snprintf(what, sizeof(what), "function error %s%s", res.error_type,
                 retry ? ": retrying" : ": no retries left");
        event_log(api, ev, what);
    }
    pt_invoke_result_free(&res);
    if (retry) {
        ev->attempt++;
        ev->due_ms = now + (int64_t)api->opt.event_retry_delay_ms * ev->attempt;
    }
    return retry;
}

static void *event_worker(void *arg)
{
    struct pt_api *api = arg;
    pthread_mutex_lock(&api->ev_lock);
    for (;;) {
        while (!api->ev_stop && (!api->ev_head || api->ev_head->due_ms > api_mono_ms())) {
            if (!api->ev_head) {
                pthread_cond_wait(&api->ev_cond, &api->ev_lock);
                continue;
            }
            int64_t due = api->ev_head->due_ms;
            struct timespec ts = {.tv_sec = (time_t)(due / 1000),
                                  .tv_nsec = (long)(due % 1000) * 1000000};
            pthread_cond_timedwait(&api->ev_cond, &api->ev_lock, &ts);
        }
        if (api->ev_stop)
            break;
        struct api_event *ev = api->ev_head;
        api->ev_head = ev->next;
        if (!api->ev_head)
            api->ev_tail = NULL;
        api->ev_queued--;
        api->ev_running++;
        pthread_mutex_unlock(&api->ev_lock);
        bool again = event_run(api, ev);
        pthread_mutex_lock(&api->ev_lock);
        api->ev_running--;
        if (again && !api->ev_stop)
            event_insert(api, ev);
        else
            event_free(ev);
    }
    pthread_mutex_unlock(&api->ev_lock);
    return NULL;
}

int api_events_start(struct pt_api *api, struct pt_error *err)
{
    api->workers = calloc((size_t)api->opt.event_workers, sizeof(*api->workers));
    if (!api->workers)
        return pt_error_set(err, PT_ENOMEM, "out of memory");
    for (int i = 0; i < api->opt.event_workers; i++) {
        if (pthread_create(&api->workers[i], NULL, event_worker, api) != 0) {
            api_events_stop(api);
            return pt_error_set(err, PT_ESYS, "cannot start the Event workers");
        }
        api->worker_count++;
    }
    return 0;
}

void api_events_stop(struct pt_api *api)
{
    pthread_mutex_lock(&api->ev_lock);
    api->ev_stop = true;
    pthread_cond_broadcast(&api->ev_cond);
    pthread_mutex_unlock(&api->ev_lock);
    for (int i = 0; i < api->worker_count; i++)
        pthread_join(api->workers[i], NULL);
    free(api->workers);
    api->workers = NULL;
    api->worker_count = 0;
    while (api->ev_head) {
        struct api_event *next = api->ev_head->next;
        event_free(api->ev_head);
        api->ev_head = next;
    }
    api->ev_tail = NULL;
    api->ev_queued = 0;
}

size_t pt_api_events_pending(struct pt_api *api)
{
    pthread_mutex_lock(&api->ev_lock);
    size_t n = api->ev_queued + api->ev_running;
    pthread_mutex_unlock(&api->ev_lock);
    return n;
}

/* ---- the operation ---- */

enum invoke_type { INVOKE_SYNC, INVOKE_EVENT, INVOKE_DRYRUN };

static void invoke_event(struct pt_api *api, struct api_function *f, struct api_conf *c,
                         const struct api_target *t, const struct pt_api_request *req,
                         struct pt_api_response *r)
{
    (void)f;
    struct api_event *ev = calloc(1, sizeof(*ev));
    char *payload = req->body_len ? malloc(req->body_len) : NULL;
    if (!ev || (req->body_len && !payload)) {
        free(ev);
        free(payload);
        api_error(r, "ServiceException", "out of memory");
        return;
    }
    if (payload)
        memcpy(payload, req->body, req->body_len);
    ev->payload = payload;
    ev->payload_len = req->body_len;
    pt_strlcpy(ev->name, t->name, sizeof(ev->name));
    pt_strlcpy(ev->version, c->version, sizeof(ev->version));
    pt_strlcpy(ev->qualifier, t->qualifier, sizeof(ev->qualifier));
    const char *trace = pt_api_request_header(req, "X-Amzn-Trace-Id");
    if (trace)
        pt_strlcpy(ev->trace_id, trace, sizeof(ev->trace_id));
    ev->accepted_ms = ev->due_ms = api_mono_ms();
    pthread_mutex_lock(&api->ev_lock);
    bool full = api->ev_queued >= PT_API_EVENT_QUEUE_MAX || api->ev_stop;
    if (!full)
        event_insert(api, ev);
    pthread_mutex_unlock(&api->ev_lock);
    if (full) {
        event_free(ev);
        api_error_throttled(r, "ConcurrentInvocationLimitExceeded");
        return;
    }
    r->status = 202;
}

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
        json_t *j = json_loadb(req->body, req->body_len, JSON_DECODE_ANY, &jerr);
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
        json_decref(j);
        client_context = malloc(raw_len + 1);
        if (client_context) {
            memcpy(client_context, raw, raw_len);
            client_context[raw_len] = '\0';
        }
        free(raw);
    }

    struct pt_error err = {0};
    struct api_handle *h = NULL;
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
            invoke_event(api, f, c, t, req, r);
        else if (api_conf_acquire(api, f, c, &h, &err) != 0)
            api_error(r, "ServiceException", "%s", err.msg);
    }
    api_unlock(api);
    if (h)
        invoke_sync(api, h, version, t, req, client_context, tail, r);
    free(client_context);
}
