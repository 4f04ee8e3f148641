/*
 * events.c - Lambda's asynchronous invocations (InvocationType Event): a
 * durable, bounded queue and the workers that run it.
 *
 * An accepted event is written to <state>/api/events/<id>.event (atomically
 * and fsync'd, as function.json) before the caller gets its 202, so it
 * survives kill -9: at start every saved event is queued again with its
 * attempt count, throttle count, acceptance time and due time. Times are kept
 * on disk as wall-clock milliseconds (the monotonic clock starts over with
 * the host) and turned back into monotonic ones when loaded. Delivery is at
 * least once, as on Lambda: the file goes only after the run has ended (done,
 * no retries left, or dropped), so a crash in between runs the event again;
 * an event cut short by a shutdown keeps its file.
 *
 * Retries as Lambda's: a function error is retried twice, waiting one and two
 * retry delays; a throttle or an engine failure (Lambda's 429 and 500-series)
 * puts the event back with a delay growing from 1 s to 5 min, until six hours
 * after it was accepted, then it is dropped. Every retry rewrites its file.
 *
 * Bounds: PT_API_EVENT_QUEUE_MAX events and PT_API_EVENT_QUEUE_BYTES of
 * payload (or the options' own) accepted and not finished. Beyond them Invoke answers 429
 * TooManyRequestsException, the one refusal Invoke has for "not now".
 *
 * File: one line of JSON (the state), a newline, then the payload's bytes.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "base/fs.h"
#include "base/rand.h"
#include "base/str.h"

#define EVENT_MAX_AGE_MS (6LL * 3600 * 1000)
#define EVENT_RETRIES 2
#define EVENT_BACKOFF_MAX_MS 300000LL
#define EVENT_ID_LEN 32
#define EVENT_SUFFIX ".event"
#define EVENT_HEADER_MAX 4096
#define EVENT_FILE_MAX (PT_API_INVOKE_EVENT_MAX + EVENT_HEADER_MAX)
#define EVENT_FORMAT 1

struct api_event {
    struct api_event *next;
    char id[EVENT_ID_LEN + 1];
    char name[PT_AWS_FUNCTION_NAME_MAX];
    char version[API_VERSION_MAX];
    char qualifier[PT_AWS_QUALIFIER_MAX]; /* as invoked, for the Invoked-Function-Arn */
    char trace_id[256];
    char request_id[37]; /* the 202's x-amzn-RequestId: the function sees it, retries keep it */
    char *payload;
    size_t payload_len;
    int attempt;
    int throttles;
    int64_t due_ms;      /* monotonic */
    int64_t accepted_ms; /* monotonic */
    bool dropped;        /* its function was deleted while a worker ran it or Invoke saved it */
};

/* What a run leaves to do with the event. */
enum event_outcome {
    EVENT_FINISHED, /* done or dropped: its file goes */
    EVENT_AGAIN,    /* due again at ev->due_ms: its file is rewritten */
    EVENT_KEPT,     /* cut short by a shutdown: its file stays for the next start */
};

static int64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void event_free(struct api_event *ev)
{
    if (ev)
        free(ev->payload);
    free(ev);
}

static int event_path(const struct pt_api *api, const char *id, char *out, size_t size)
{
    return (size_t)snprintf(out, size, "%s/events/%s" EVENT_SUFFIX, api->root, id) >= size
               ? -1
               : 0;
}

/* Writes the event's file (atomically: a reader after kill -9 sees the old or the new one). */
static int event_save(const struct pt_api *api, const struct api_event *ev,
                      struct pt_error *err)
{
    char path[PATH_MAX];
    if (event_path(api, ev->id, path, sizeof(path)) != 0)
        return pt_error_set(err, PT_ELIMIT, "state directory path too long");
    int64_t now_mono = api_mono_ms(), now_wall = wall_ms();
    json_t *o = json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:I,s:I,s:I}", "Format", EVENT_FORMAT,
                          "FunctionName", ev->name, "Version", ev->version, "Qualifier",
                          ev->qualifier, "TraceId", ev->trace_id, "RequestId", ev->request_id,
                          "Attempt", ev->attempt,
                          "Throttles", ev->throttles, "AcceptedAt",
                          (json_int_t)(now_wall - (now_mono - ev->accepted_ms)), "DueAt",
                          (json_int_t)(now_wall + (ev->due_ms - now_mono)), "PayloadLength",
                          (json_int_t)ev->payload_len);
    char *header = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    struct pt_buf file;
    pt_buf_init(&file, EVENT_FILE_MAX);
    int rc = header ? 0 : pt_error_set(err, PT_ENOMEM, "out of memory saving an event");
    if (!rc)
        rc = pt_buf_append_str(&file, header, err);
    if (!rc)
        rc = pt_buf_append(&file, "\n", 1, err);
    if (!rc && ev->payload_len)
        rc = pt_buf_append(&file, ev->payload, ev->payload_len, err);
    if (!rc)
        rc = pt_file_write_atomic(path, file.data, file.len, err);
    pt_buf_free(&file);
    free(header);
    return rc;
}

static void event_forget(const struct pt_api *api, const struct api_event *ev)
{
    char path[PATH_MAX];
    if (event_path(api, ev->id, path, sizeof(path)) == 0)
        unlink(path);
}

/* A saved event back into memory; -1 when the file is not one this code wrote. */
static int event_parse(const char *id, const char *data, size_t len, struct api_event **out)
{
    /* An empty file is read as no buffer at all (data NULL), which memchr must not get. */
    const char *nl = data ? memchr(data, '\n', len < EVENT_HEADER_MAX ? len : EVENT_HEADER_MAX)
                          : NULL;
    if (!nl)
        return -1;
    json_t *j = json_loadb(data, (size_t)(nl - data), 0, NULL);
    struct api_event *ev = calloc(1, sizeof(*ev));
    const char *name = json_string_value(json_object_get(j, "FunctionName"));
    const char *version = json_string_value(json_object_get(j, "Version"));
    const char *qualifier = json_string_value(json_object_get(j, "Qualifier"));
    const char *trace = json_string_value(json_object_get(j, "TraceId"));
    /* Absent in files saved before it was kept: the run then gets a fresh id. */
    const char *request_id = json_string_value(json_object_get(j, "RequestId"));
    json_int_t plen = json_integer_value(json_object_get(j, "PayloadLength"));
    size_t body = len - (size_t)(nl + 1 - data);
    int rc = -1;
    if (!ev || json_integer_value(json_object_get(j, "Format")) != EVENT_FORMAT || !name ||
        !version || !qualifier || !trace || plen < 0 || (size_t)plen != body ||
        strlen(name) >= sizeof(ev->name) || strlen(version) >= sizeof(ev->version) ||
        strlen(qualifier) >= sizeof(ev->qualifier) || strlen(trace) >= sizeof(ev->trace_id) ||
        (request_id && strlen(request_id) >= sizeof(ev->request_id)))
        goto out;
    if (body) {
        ev->payload = malloc(body);
        if (!ev->payload)
            goto out;
        memcpy(ev->payload, nl + 1, body);
    }
    ev->payload_len = body;
    pt_strlcpy(ev->id, id, sizeof(ev->id));
    pt_strlcpy(ev->name, name, sizeof(ev->name));
    pt_strlcpy(ev->version, version, sizeof(ev->version));
    pt_strlcpy(ev->qualifier, qualifier, sizeof(ev->qualifier));
    pt_strlcpy(ev->trace_id, trace, sizeof(ev->trace_id));
    pt_strlcpy(ev->request_id, request_id ? request_id : "", sizeof(ev->request_id));
    /* Checked as read, before they become ints (a backoff adds 1 to throttles). */
    json_int_t attempt = json_integer_value(json_object_get(j, "Attempt"));
    json_int_t throttles = json_integer_value(json_object_get(j, "Throttles"));
    if (attempt < 0 || attempt > EVENT_RETRIES || throttles < 0 || throttles >= INT_MAX)
        goto out;
    ev->attempt = (int)attempt;
    ev->throttles = (int)throttles;
    int64_t now_mono = api_mono_ms(), now_wall = wall_ms();
    /* The times may be any JSON integers: bounded before they are subtracted (INT64_MIN -
     * now would overflow). An age past EVENT_MAX_AGE_MS only ever means "drop it at its first
     * backoff", so it is kept as just over that. */
    json_int_t due_at = json_integer_value(json_object_get(j, "DueAt"));
    json_int_t accepted_at = json_integer_value(json_object_get(j, "AcceptedAt"));
    int64_t due = due_at > now_wall ? due_at - now_wall : 0;
    int64_t age = accepted_at < now_wall - EVENT_MAX_AGE_MS ? EVENT_MAX_AGE_MS + 1
                  : accepted_at < now_wall                 ? now_wall - accepted_at
                                                           : 0;
    ev->due_ms = now_mono + (due < EVENT_MAX_AGE_MS ? due : EVENT_MAX_AGE_MS);
    ev->accepted_ms = now_mono - age;
    rc = 0;
out:
    json_decref(j);
    if (rc) {
        event_free(ev);
        return -1;
    }
    *out = ev;
    return 0;
}

static bool event_id_ok(const char *s)
{
    for (int i = 0; i < EVENT_ID_LEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return strcmp(s + EVENT_ID_LEN, EVENT_SUFFIX) == 0;
}

static void event_note(struct pt_api *api, const char *what, const char *file)
{
    if (!api->opt.log)
        return;
    char line[2 * PATH_MAX];
    snprintf(line, sizeof(line), "note: %.4200s: %.200s", file, what);
    api->opt.log(api->opt.log_arg, line);
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

/* Under ev_lock: room for one more event of len bytes (then it is counted as held). */
static bool event_reserve(struct pt_api *api, size_t len)
{
    if (api->ev_stop || api->ev_held >= api->opt.event_queue_max ||
        api->ev_bytes + len > api->opt.event_queue_bytes)
        return false;
    api->ev_held++;
    api->ev_bytes += len;
    return true;
}

/* Under ev_lock: the event no longer holds its place. */
static void event_release(struct pt_api *api, struct api_event *ev)
{
    api->ev_held--;
    api->ev_bytes -= ev->payload_len;
    event_free(ev);
}

/* Queues the events a previous run saved (files left by an interrupted write go). */
static int events_load(struct pt_api *api, struct pt_error *err)
{
    char dir[PATH_MAX];
    if ((size_t)snprintf(dir, sizeof(dir), "%s/events", api->root) >= sizeof(dir))
        return pt_error_set(err, PT_ELIMIT, "state directory path too long");
    int rc = pt_mkdir_p(dir, 0700, err);
    if (rc)
        return rc;
    DIR *d = opendir(dir);
    if (!d)
        return pt_error_errno(err, PT_ESYS, errno, "cannot open %s", dir);
    struct pt_buf data;
    pt_buf_init(&data, EVENT_FILE_MAX);
    size_t left = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[PATH_MAX + 300];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (strstr(de->d_name, EVENT_SUFFIX ".tmp-")) {
            unlink(path); /* never renamed into place: never acknowledged */
            continue;
        }
        struct api_event *ev = NULL;
        struct pt_error lerr = {0};
        data.len = 0;
        if (!event_id_ok(de->d_name) || pt_file_read(path, EVENT_FILE_MAX, &data, &lerr) != 0 ||
            event_parse(de->d_name, data.data, data.len, &ev) != 0) {
            /* Kept for inspection, as an unreadable function.json is. */
            event_note(api, "not a saved event: skipped", path);
            continue;
        }
        pthread_mutex_lock(&api->ev_lock);
        bool room = event_reserve(api, ev->payload_len);
        if (room)
            event_insert(api, ev);
        pthread_mutex_unlock(&api->ev_lock);
        if (!room) {
            left++; /* the bounds shrank since it was accepted: it waits for a later start */
            event_free(ev);
        }
    }
    closedir(d);
    pt_buf_free(&data);
    if (left) {
        char what[96];
        snprintf(what, sizeof(what), "%zu saved events over the queue's bounds left for later",
                 left);
        event_note(api, what, dir);
    }
    return 0;
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

/* A throttle or a failure of the service: back in the queue with a growing delay, for 6 h. */
static enum event_outcome event_backoff(struct pt_api *api, struct api_event *ev,
                                        const char *why)
{
    int64_t now = api_mono_ms();
    if (now - ev->accepted_ms > EVENT_MAX_AGE_MS) {
        char what[PT_ERROR_MSG_MAX + 64];
        snprintf(what, sizeof(what), "%.1023s for six hours: dropped", why);
        event_log(api, ev, what);
        return EVENT_FINISHED;
    }
    int shift = ev->throttles < 9 ? ev->throttles : 9;
    int64_t delay = 1000LL << shift;
    ev->throttles++;
    ev->due_ms = now + (delay < EVENT_BACKOFF_MAX_MS ? delay : EVENT_BACKOFF_MAX_MS);
    return EVENT_AGAIN;
}

static enum event_outcome event_run(struct pt_api *api, struct api_event *ev)
{
    struct pt_error err = {0};
    struct api_handle *h = NULL;
    const char *throttle = NULL;
    api_lock(api);
    struct api_function *f = api_function_find(api, ev->name);
    struct api_conf *c = f ? api_function_conf_serving(api, f, ev->version) : NULL;
    int rc = c ? api_conf_acquire(api, f, c, &h, &throttle, &err) : PT_ENOTFOUND;
    api_unlock(api);
    if (!c) {
        event_log(api, ev, "the function or version is gone: dropped");
        return EVENT_FINISHED;
    }
    if (rc)
        return event_backoff(api, ev, rc == PT_ETHROTTLED ? "throttled" : err.msg);
    struct pt_invoke_request req = {
        .payload = ev->payload_len ? ev->payload : NULL,
        .payload_len = ev->payload_len,
        .trace_id = ev->trace_id[0] ? ev->trace_id : NULL,
        .qualifier = ev->qualifier[0] ? ev->qualifier : NULL,
        .request_id = ev->request_id[0] ? ev->request_id : NULL,
        .report_deferred = true, /* the REPORT goes to the log once the runtime is back */
    };
    struct pt_invoke_result res;
    rc = pt_engine_invoke(api->engine, h->fn, &req, &res, &err);
    api_handle_release(api, h);
    if (rc == PT_EINTR)
        return EVENT_KEPT;
    if (rc)
        return event_backoff(api, ev, rc == PT_ETHROTTLED ? "throttled" : err.msg);
    bool retry = res.function_error && ev->attempt < EVENT_RETRIES;
    if (res.function_error) {
        char what[256];
        snprintf(what, sizeof(what), "function error %s%s", res.error_type,
                 retry ? ": retrying" : ": no retries left");
        event_log(api, ev, what);
    }
    pt_invoke_result_free(&res);
    if (!retry)
        return EVENT_FINISHED;
    ev->attempt++;
    ev->due_ms = api_mono_ms() + (int64_t)api->opt.event_retry_delay_ms * ev->attempt;
    return EVENT_AGAIN;
}

/* Under ev_lock. */
static void event_inflight_add(struct pt_api *api, struct api_event *ev)
{
    ev->next = api->ev_inflight;
    api->ev_inflight = ev;
}

/* Under ev_lock. */
static void event_inflight_remove(struct pt_api *api, struct api_event *ev)
{
    for (struct api_event **p = &api->ev_inflight; *p; p = &(*p)->next)
        if (*p == ev) {
            *p = ev->next;
            break;
        }
    ev->next = NULL;
}

/*
 * Under ev_lock: the file follows what the run decided (a dropped event has finished).
 * Deciding and rewriting under the lock that DeleteFunction takes means a retry's
 * file can never reappear after the delete has removed it (a rewrite costs an fsync, and only
 * retries and throttles rewrite).
 */
static void event_settle(struct pt_api *api, struct api_event *ev, enum event_outcome outcome)
{
    struct pt_error err = {0};
    if (outcome == EVENT_FINISHED)
        event_forget(api, ev);
    else if (outcome == EVENT_AGAIN && event_save(api, ev, &err) != 0)
        /* The older file still holds it: a restart runs it again, as at least once allows. */
        event_log(api, ev, err.msg);
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
        event_inflight_add(api, ev);
        pthread_mutex_unlock(&api->ev_lock);
        enum event_outcome outcome = event_run(api, ev);
        pthread_mutex_lock(&api->ev_lock);
        event_inflight_remove(api, ev);
        api->ev_running--;
        if (ev->dropped)
            outcome = EVENT_FINISHED;
        event_settle(api, ev, outcome);
        if (outcome == EVENT_AGAIN && !api->ev_stop)
            event_insert(api, ev);
        else
            event_release(api, ev);
    }
    pthread_mutex_unlock(&api->ev_lock);
    return NULL;
}

int api_events_start(struct pt_api *api, struct pt_error *err)
{
    if (!api->opt.event_queue_max)
        api->opt.event_queue_max = PT_API_EVENT_QUEUE_MAX;
    if (!api->opt.event_queue_bytes)
        api->opt.event_queue_bytes = PT_API_EVENT_QUEUE_BYTES;
    int rc = events_load(api, err);
    if (rc)
        return rc;
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
    /* Their files stay: the next start runs them. */
    while (api->ev_head) {
        struct api_event *next = api->ev_head->next;
        event_release(api, api->ev_head);
        api->ev_head = next;
    }
    api->ev_tail = NULL;
    api->ev_queued = 0;
}

void api_events_forget_function(struct pt_api *api, const char *name)
{
    pthread_mutex_lock(&api->ev_lock);
    struct api_event **p = &api->ev_head, *last = NULL;
    while (*p) {
        struct api_event *ev = *p;
        if (strcmp(ev->name, name) != 0) {
            last = ev;
            p = &ev->next;
            continue;
        }
        *p = ev->next;
        api->ev_queued--;
        event_forget(api, ev);
        event_release(api, ev);
    }
    api->ev_tail = last;
    /* Those a worker runs or an accept is saving now: their files go now, and whoever holds
     * them drops them when done. */
    for (struct api_event *ev = api->ev_inflight; ev; ev = ev->next)
        if (strcmp(ev->name, name) == 0) {
            ev->dropped = true;
            event_forget(api, ev);
        }
    pthread_mutex_unlock(&api->ev_lock);
}

size_t pt_api_events_pending(struct pt_api *api)
{
    pthread_mutex_lock(&api->ev_lock);
    size_t n = api->ev_queued + api->ev_running;
    pthread_mutex_unlock(&api->ev_lock);
    return n;
}

/* A header X-Amzn-Trace-Id is kept only when it is one: printable ASCII that fits. */
static bool trace_id_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (s[n] < 0x20 || s[n] > 0x7e)
            return false;
    return n < sizeof(((struct api_event *)0)->trace_id);
}

void api_event_accept(struct pt_api *api, const char *name, const char *version,
                      const char *qualifier, const char *trace_id, const char *payload,
                      size_t payload_len, struct pt_api_response *r)
{
    pthread_mutex_lock(&api->ev_lock);
    bool room = event_reserve(api, payload_len);
    pthread_mutex_unlock(&api->ev_lock);
    if (!room) {
        api_error_throttled(r, "ConcurrentInvocationLimitExceeded");
        return;
    }
    struct pt_error err = {0};
    bool listed = false;
    struct api_event *ev = calloc(1, sizeof(*ev));
    char *copy = payload_len ? malloc(payload_len) : NULL;
    int rc = !ev || (payload_len && !copy) ? pt_error_set(&err, PT_ENOMEM, "out of memory") : 0;
    if (!rc) {
        if (payload_len)
            memcpy(copy, payload, payload_len);
        ev->payload = copy;
        ev->payload_len = payload_len;
        copy = NULL;
        pt_random_hex(ev->id, EVENT_ID_LEN);
        pt_strlcpy(ev->name, name, sizeof(ev->name));
        pt_strlcpy(ev->version, version, sizeof(ev->version));
        pt_strlcpy(ev->qualifier, qualifier, sizeof(ev->qualifier));
        if (trace_id && trace_id_ok(trace_id))
            pt_strlcpy(ev->trace_id, trace_id, sizeof(ev->trace_id));
        pt_strlcpy(ev->request_id, r->request_id, sizeof(ev->request_id));
        ev->accepted_ms = ev->due_ms = api_mono_ms();
        /* In flight while its file is written: a DeleteFunction meanwhile drops it. */
        pthread_mutex_lock(&api->ev_lock);
        event_inflight_add(api, ev);
        pthread_mutex_unlock(&api->ev_lock);
        listed = true;
        rc = event_save(api, ev, &err);
    }
    free(copy);
    pthread_mutex_lock(&api->ev_lock);
    if (listed)
        event_inflight_remove(api, ev);
    if (rc) {
        /* Not acknowledged: the place goes back (payload_len, whatever ev got to hold). */
        api->ev_held--;
        api->ev_bytes -= payload_len;
        event_free(ev);
    } else if (ev->dropped) {
        /* Accepted, then its function was deleted: discarded, as Lambda does. */
        event_forget(api, ev);
        event_release(api, ev);
    } else if (api->ev_stop) {
        /* Saved: the next start runs it. */
        event_release(api, ev);
    } else {
        event_insert(api, ev);
    }
    pthread_mutex_unlock(&api->ev_lock);
    if (rc)
        api_error(r, "ServiceException", "%s", err.msg);
    else
        r->status = 202;
}
