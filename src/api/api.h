/*
 * api.h - `powertune serve`: the AWS Lambda API (2015-03-31 rest-json) over the local engine.
 *
 * A pt_api owns a registry of functions as the Lambda control plane sees them:
 * each function's $LATEST configuration and code, its published versions (code
 * and configuration frozen at publish time), aliases (with RoutingConfig: one
 * additional version and its weight, applied on every invoke) and reserved
 * concurrency. Everything acknowledged is persisted under
 * <state_dir>/api/functions/<name>/ (function.json written atomically, code
 * unpacked into code/<id>/, the uploaded zip kept as code/<id>.zip), so after
 * kill -9 and a restart the registry is what the clients were told.
 *
 * Each configuration (the $LATEST one or a version) is registered in the engine
 * lazily, on its first invocation; a change of configuration, code or reserved
 * concurrency retires the engine registration, which is removed once its last
 * in-flight invocation returns. During an update's InProgress window invocations
 * keep running the previous $LATEST, as on Lambda. Concurrency is admitted here,
 * not per engine registration: a function's reservation caps all its versions
 * and aliases together, and functions without one share what the account has
 * left unreserved.
 *
 * Event invocations are durable: each accepted one is saved under
 * <state_dir>/api/events/ before the 202, survives kill -9 with its attempt
 * count and retry schedule, runs at least once, and its file goes once it is
 * done or dropped.
 *
 * Wire behaviour follows Lambda (docs: shared/reference/lambda-wire.md §2-§3):
 * status codes per operation, `x-amzn-ErrorType: <Name>Exception` and
 * `{"Type":"User","message"|"Message":...}` bodies, `x-amzn-RequestId` on every
 * response, State Pending -> Active after CreateFunction and LastUpdateStatus
 * InProgress -> Successful after an update (409 ResourceConflictException
 * inside that window), Invoke's RequestResponse (200) / Event (202, queued,
 * retried twice on a function error) / DryRun (204), 413 and 429 as Lambda.
 * SnapStart (ApplyOn) is accepted, validated, kept and shown with its
 * OptimizationStatus, but no snapshot is made: published versions are Active at
 * once (never Pending as a SnapStart version on Lambda is for a while).
 *
 * pt_api_handle is the transport-independent core (unit tests call it
 * directly); pt_api_listen puts libmicrohttpd in front of it, one thread per
 * connection, so a slow invocation or a slow client only holds its own thread.
 * Thread-safe: pt_api_handle may run on any number of threads at once.
 */
#ifndef PT_API_API_H
#define PT_API_API_H

#include <stdbool.h>
#include <stddef.h>

#include "aws/credentials.h"
#include "aws/sigv4.h"
#include "base/error.h"
#include "engine/engine.h"
#include "engine/package.h"

#define PT_API_DEFAULT_HOST "127.0.0.1"
#define PT_API_DEFAULT_PORT 9001
#define PT_API_INVOKE_SYNC_MAX 6291456     /* request payload of RequestResponse / DryRun */
#define PT_API_INVOKE_EVENT_MAX 1048576    /* request payload of Event (1 MB since 2025) */
#define PT_API_CONTROL_BODY_MAX 70167211   /* CreateFunction with a 50 MB zip, base64 in JSON */
#define PT_API_CLIENT_CONTEXT_MAX 3583     /* X-Amz-Client-Context, base64 */
#define PT_API_UNZIPPED_MAX PT_PACKAGE_UNZIPPED_MAX /* 250 MB unzipped (engine/package.h) */
#define PT_API_EVENT_QUEUE_MAX 10000       /* queued Event invocations */
#define PT_API_EVENT_QUEUE_BYTES 268435456 /* their payloads (held in memory and on disk) */
/* Connections beyond the account concurrency: the control plane's, and clients' idle ones. */
#define PT_API_CONNECTIONS_SPARE 64
#define PT_API_CONNECTIONS_MAX 4096

struct pt_api_options {
    const char *host;             /* NULL: 127.0.0.1 */
    int port;                     /* 0: an ephemeral port (pt_api_port tells); < 0: 9001 */
    const char *state_dir;        /* NULL: the engine's state directory */
    const char *account_id;       /* NULL: 123456789012 (keep equal to the engine's) */
    int account_concurrency;      /* 0: 1000 (keep equal to the engine's) */
    bool require_signature;       /* SigV4 with one of keys, else 403 */
    const struct pt_aws_credentials *keys;
    size_t key_count;
    int update_window_ms;         /* Pending / InProgress window; 0: 300; < 0: none */
    int event_retry_delay_ms;     /* retry n of an Event waits n times this; 0: 60000 (Lambda) */
    int event_workers;            /* threads running Event invocations; 0: 4 */
    size_t event_queue_max;       /* Event invocations held at once; 0: PT_API_EVENT_QUEUE_MAX */
    size_t event_queue_bytes;     /* and their payloads; 0: PT_API_EVENT_QUEUE_BYTES */
    /* 0: account_concurrency + PT_API_CONNECTIONS_SPARE, at most PT_API_CONNECTIONS_MAX. A
     * synchronous invocation holds its connection while it runs: a limit under the account
     * concurrency would turn the invocations Lambda runs (or throttles with a 429) into
     * connections reset, which SDKs report as network failures. */
    unsigned connection_limit;
    /* Idle connections are closed after this; 0: 30. A request must arrive, and its answer be
     * taken, within twice this plus 1 s per 16 KiB of body or answer, else its connection is
     * closed: a client trickling bytes does not keep its connection (slowloris). */
    unsigned connection_timeout_s;
    /* One line per request (method, path, status, ms), and notices. May be NULL. */
    void (*log)(void *arg, const char *line);
    void *log_arg;
};

/* A request as received: path and query raw (percent-encoded), as SigV4 needs them. */
struct pt_api_request {
    const char *method;
    const char *path;
    const char *query; /* without '?'; NULL = none */
    const struct pt_sigv4_header *headers;
    size_t header_count;
    const char *body;
    size_t body_len;
    bool body_too_large; /* the transport dropped a body over its limit */
};

#define PT_API_RESPONSE_HEADERS_MAX 8

struct pt_api_response_header {
    const char *name; /* static */
    char *value;      /* malloc'd */
};

struct pt_api_response {
    unsigned status;
    char request_id[37];
    const char *content_type; /* static; NULL when there is no body */
    char *body;               /* malloc'd, NULL = empty */
    size_t body_len;
    struct pt_api_response_header headers[PT_API_RESPONSE_HEADERS_MAX];
    size_t header_count;
};

struct pt_api;

/* Loads the registry from the state directory and starts the Event workers. */
int pt_api_create(struct pt_api **out, struct pt_engine *engine, const struct pt_api_options *opt,
                  struct pt_error *err);
/* Starts the HTTP server on opt->host:opt->port. */
int pt_api_listen(struct pt_api *api, struct pt_error *err);
int pt_api_port(const struct pt_api *api);
/* Answers one request; resp is always filled (free with pt_api_response_free). */
void pt_api_handle(struct pt_api *api, const struct pt_api_request *req,
                   struct pt_api_response *resp);
void pt_api_response_free(struct pt_api_response *resp);
/* Case-insensitive header lookup in a request; NULL when absent. */
const char *pt_api_request_header(const struct pt_api_request *req, const char *name);
/* Event invocations queued or running (tests wait for 0). */
size_t pt_api_events_pending(struct pt_api *api);
/*
 * Stops the HTTP server (waits for its connections), the Event workers (queued
 * events, and running ones cut short, stay on disk and run after the next
 * pt_api_create on the same state) and removes every engine registration. Call
 * pt_engine_shutdown first to cut in-flight invocations short.
 */
void pt_api_destroy(struct pt_api *api);

#endif
