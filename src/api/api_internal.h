/*
 * api_internal.h - what the files of src/api share: the registry's structures
 * (functions, versions, aliases, engine registrations), the error and response
 * helpers, the encoders, the zip unpacker and the operation handlers.
 *
 * Locking: api->lock guards the registry (every api_function and what hangs
 * off it, handles' refs/retired, the concurrency counts). It is held only for
 * lookups and updates, never across an invocation, an unzip or an fsync.
 * api->ev_lock guards the Event queue.
 */
#ifndef PT_API_INTERNAL_H
#define PT_API_INTERNAL_H

#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>

#include "api/api.h"
#include "aws/arn.h"
#include "engine/function.h"

#define API_VERSION_MAX 16  /* "$LATEST" or a number */
#define API_ALIAS_MAX 129
#define API_ROLE_MAX 2049
#define API_CODE_ID_MAX 33
#define API_SHA_B64_MAX 48
#define API_LOG_GROUP_MAX 513
#define API_ARN_MAX 384
#define API_CODE_LOCATION_MAX 8192 /* a presigned URL, with a session token */
#define API_LIST_DEFAULT 50
#define API_LIST_MAX 10000

/*
 * A function's invocations in flight, over all its versions and aliases: Lambda's
 * ReservedConcurrentExecutions caps the function, not one version. Shared by the
 * function and its engine registrations, so that invocations still running after
 * a DeleteFunction release into it safely.
 */
struct api_usage {
    int in_flight;
    int refs;
    struct api_function *owner; /* NULL once the function is freed */
    struct api_handle *live;    /* its registrations not yet buried, linked by next_live */
    char name[PT_FUNCTION_NAME_MAX + 1];
    /* Its function was deleted while invocations still ran: their code (and the directory
     * holding it) stays until the last returns, beside a function re-created under the name. */
    bool departed;
    struct api_usage *next_departed;
};

/* One engine registration of a configuration. */
struct api_handle {
    struct pt_function *fn;
    struct api_usage *usage;
    int refs;           /* invocations in flight */
    bool retired;       /* replaced or deleted: leaves the engine when refs reaches 0 */
    bool reserved_pool; /* its invocations count against the function's reservation,
                           not the account's unreserved concurrency */
    char code_id[API_CODE_ID_MAX]; /* its environments run this code: kept while it lives */
    struct api_handle *next_live;
    struct api_handle *next_dead;
};

/* One FunctionConfiguration: $LATEST (mutable) or a published version (frozen). */
struct api_conf {
    struct pt_function_config cfg; /* name, code_dir, runtime, handler, sizes, env, description */
    char version[API_VERSION_MAX];
    char role[API_ROLE_MAX];
    char code_id[API_CODE_ID_MAX];
    char code_sha256[API_SHA_B64_MAX];
    long long code_size;
    char last_modified[32];
    char revision_id[37];     /* the identity of its content: see api_conf_revision */
    char source_revision[37]; /* versions: the $LATEST revision_id they were published from */
    int revision_epoch;       /* $LATEST: RevisionId changes since its content's (0: none) */
    char tracing_mode[16];    /* PassThrough | Active */
    char snap_start[24];      /* SnapStart.ApplyOn: None | PublishedVersions (accepted, kept and
                               * shown; serve makes no snapshot, so its versions are Active at
                               * once) */
    char log_format[8];       /* Text | JSON */
    char app_log_level[8];    /* JSON only */
    char sys_log_level[8];
    char log_group[API_LOG_GROUP_MAX];
    struct api_handle *handle; /* NULL until first invoked */
};

struct api_alias {
    char name[API_ALIAS_MAX];
    char version[API_VERSION_MAX];
    char description[PT_DESCRIPTION_MAX + 1];
    char extra_version[API_VERSION_MAX]; /* "" = no RoutingConfig */
    double extra_weight;
    char revision_id[37];
};

struct api_function {
    struct api_conf latest;
    struct api_conf **versions; /* ascending */
    size_t version_count;
    long next_version;
    struct api_alias *aliases;
    size_t alias_count;
    int reserved;              /* -1: unset */
    struct api_usage *usage;   /* NULL until first invoked */
    int64_t busy_until_ms;     /* monotonic: Pending / InProgress until then */
    bool creating;             /* the window is the creation's (State Pending) */
    /* The $LATEST an update replaced: as on Lambda, invocations keep running it
     * while LastUpdateStatus is InProgress. NULL outside an update window. */
    struct api_conf *previous;
    char dir[PATH_MAX];
};

struct api_event;
struct api_socket;

struct pt_api {
    struct pt_engine *engine;
    struct pt_api_options opt;
    char host[256];
    char root[PATH_MAX]; /* <state>/api */
    char region[PT_AWS_REGION_MAX];
    char account[PT_AWS_ACCOUNT_LEN + 1];
    int account_concurrency;

    pthread_mutex_t lock;
    struct api_function **fns;
    size_t fn_count, fn_cap;
    struct api_handle *dead; /* retired with no invocation left: removed after unlocking */
    struct api_usage *departed; /* of deleted functions, linked by next_departed */
    int reserved_sum;        /* of every function's ReservedConcurrentExecutions */
    int unreserved_in_flight; /* invocations of functions without a reservation */

    pthread_mutex_t ev_lock;
    pthread_cond_t ev_cond;
    struct api_event *ev_head, *ev_tail;
    /* Out of the queue, linked by next: taken by a worker, or being saved by Invoke's accept.
     * DeleteFunction marks them dropped; whoever holds one then drops it. */
    struct api_event *ev_inflight;
    size_t ev_queued, ev_running;
    size_t ev_held;     /* accepted and not finished: queued, running, being saved */
    size_t ev_bytes;    /* their payloads */
    bool ev_stop;
    pthread_t *workers;
    int worker_count;

    struct MHD_Daemon *daemon;
    int port;

    /* server.c: the open connections, for the watchdog that bounds how long a request may
     * take to arrive. sock_lock guards the list and every api_socket in it. */
    pthread_mutex_t sock_lock;
    pthread_cond_t sock_cond;
    struct api_socket *sockets;
    bool watchdog_stop;
    bool watchdog_started;
    pthread_t watchdog;
};

/* ---- errors.c: responses ---- */
void api_resp_init(struct pt_api_response *r);
/* An error as Lambda sends it; type names the exception ("ResourceNotFoundException"). */
void api_error(struct pt_api_response *r, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 429 with Lambda's Reason. */
void api_error_throttled(struct pt_api_response *r, const char *reason);
/* A non-Lambda error code with an explicit status (signature refusals). */
void api_error_raw(struct pt_api_response *r, unsigned status, const char *type, const char *msg);
/* Sets a JSON body (steals j); on failure a 500. */
void api_resp_json(struct pt_api_response *r, unsigned status, json_t *j);
void api_resp_header(struct pt_api_response *r, const char *name, const char *value);

/* ---- encode.c ---- */
char *api_base64_encode(const void *data, size_t n); /* malloc'd, NULL on ENOMEM */
/* Strict base64 (whitespace tolerated); -1 if not base64. *out malloc'd. */
int api_base64_decode(const char *s, size_t n, unsigned char **out, size_t *out_len);
void api_sha256_base64(const void *data, size_t n, char out[API_SHA_B64_MAX]);
/* A UUID derived from revision id and epoch (the same ones, the same UUID). */
void api_revision_derive(const char *revision_id, int epoch, char out[37]);
/* "2020-04-10T19:06:32.563+0000" (UTC), Lambda's LastModified. */
void api_last_modified_now(char out[32]);
/* Percent-decodes n bytes of s into out; -1 if malformed, too long or it holds a NUL. */
int api_percent_decode(const char *s, size_t n, char *out, size_t size);
/* The decoded value of parameter name in a raw query; 1 found, 0 absent, -1 malformed. */
int api_query_get(const char *query, const char *name, char *out, size_t size);
int64_t api_mono_ms(void);


/* ---- registry.c ---- */
int api_registry_load(struct pt_api *api, struct pt_error *err);
void api_registry_free(struct pt_api *api);
void api_lock(struct pt_api *api);
/* Unlocks, then removes the engine registrations retired meanwhile. */
void api_unlock(struct pt_api *api);
struct api_function *api_function_find(struct pt_api *api, const char *name);
int api_function_insert(struct pt_api *api, struct api_function *f);
void api_function_unlink(struct pt_api *api, struct api_function *f);
/* "$LATEST" or a version number: the configuration, or NULL. */
struct api_conf *api_function_conf(struct api_function *f, const char *version);
/* The same for an invocation: during an update window $LATEST is the previous one. */
struct api_conf *api_function_conf_serving(struct pt_api *api, struct api_function *f,
                                           const char *version);
/* Retires the $LATEST an update replaced (its window is over, or the function goes). */
void api_function_drop_previous(struct pt_api *api, struct api_function *f);
/*
 * Under the lock: removes f's code that no configuration (nor the $LATEST an update
 * replaced) refers to and no engine registration still runs (nor one of a function
 * of that name deleted before), so that every UpdateFunctionCode does not leave its
 * predecessor's zip and unpacked tree behind.
 */
void api_function_collect_code(struct pt_api *api, struct api_function *f);
/* Sets f's reservation, keeping the account's sum of reservations. */
void api_function_set_reserved(struct pt_api *api, struct api_function *f, int reserved);
struct api_alias *api_alias_find(struct api_function *f, const char *name);
void api_function_free(struct pt_api *api, struct api_function *f);
void api_conf_init(struct api_conf *c);
int api_conf_copy(struct api_conf *dst, const struct api_conf *src, struct pt_error *err);
void api_conf_free(struct pt_api *api, struct api_conf *c);
/* Retires the engine registration of c (a changed configuration re-registers lazily). */
void api_conf_retire(struct pt_api *api, struct api_conf *c);
void api_function_retire_all(struct pt_api *api, struct api_function *f);
/*
 * Under the lock: admits one invocation of c under f's reservation or the
 * account's unreserved concurrency (else PT_ETHROTTLED and *throttle_reason,
 * Lambda's Reason), registers c in the engine if needed and takes a reference.
 */
int api_conf_acquire(struct pt_api *api, struct api_function *f, struct api_conf *c,
                     struct api_handle **out, const char **throttle_reason,
                     struct pt_error *err);
void api_handle_release(struct pt_api *api, struct api_handle *h);
/* Writes <dir>/function.json atomically. */
int api_function_save(struct pt_api *api, const struct api_function *f, struct pt_error *err);
/* <root>/functions/<name>/code/<id> */
int api_code_dir(const struct pt_api *api, const char *name, const char *code_id, char *out,
                 size_t size);
/* Paths under <root>/staging for a new upload. */
int api_staging_dir(const struct pt_api *api, char *out, size_t size);
/* Moves an unpacked upload (dir + zip) into the function's code directory. */
int api_code_install(struct pt_api *api, const char *staged, const char *name,
                     const char *code_id, struct pt_error *err);
/*
 * Clears dir for a CreateFunction: leftovers of a create never acknowledged are removed, but a
 * function the start-up could not read (kept for inspection) is moved to <root>/unreadable/.
 */
int api_function_dir_claim(struct pt_api *api, const char *dir, const char *name,
                           struct pt_error *err);
/*
 * Under the lock: DeleteFunction of f, which it frees. Its function.json goes first (that is
 * the deletion, on disk), then its code, but for what invocations still running use: as on
 * Lambda, they finish with their code, which goes when the last returns.
 */
int api_function_delete(struct pt_api *api, struct api_function *f, struct pt_error *err);
/* Under the lock: undoes a CreateFunction of f (not inserted) that could not complete. */
void api_function_discard_files(struct pt_api *api, const struct api_function *f);

/*
 * Applies the configuration members of a CreateFunction / UpdateFunctionConfiguration
 * body, or of a saved configuration: Runtime, Handler, Role, Description, MemorySize,
 * Timeout, EphemeralStorage, Environment, Architectures, TracingConfig, LoggingConfig.
 * -1 on a bad value, with *etype the exception and err->msg Lambda's message.
 */
int api_conf_apply(struct api_conf *c, json_t *j, const char **etype, struct pt_error *err);

enum api_view {
    API_VIEW_DISK,        /* everything needed to reload, no transient state */
    API_VIEW_UNQUALIFIED, /* FunctionArn without the version */
    API_VIEW_QUALIFIED,   /* FunctionArn with ":<version>" */
};
json_t *api_conf_json(const struct pt_api *api, const struct api_function *f,
                      const struct api_conf *c, enum api_view view);
/* The RevisionId c shows (and RevisionId preconditions compare with): see registry.c. */
void api_conf_revision(const struct api_function *f, const struct api_conf *c, char out[37]);
json_t *api_alias_json(const struct pt_api *api, const struct api_function *f,
                       const struct api_alias *a);
void api_function_arn(const struct pt_api *api, const char *name, const char *qualifier,
                      char *out, size_t size);

/* ---- control.c ---- */
/* The function a path names: name plus the qualifier from the name or ?Qualifier=. */
struct api_target {
    char name[PT_AWS_FUNCTION_NAME_MAX];
    char qualifier[PT_AWS_QUALIFIER_MAX]; /* "" = none */
};
/* 0, or -1 with the error response set. */
int api_target_parse(struct pt_api *api, const char *segment, const struct pt_api_request *req,
                     struct api_target *t, struct pt_api_response *r);
void api_op_create_function(struct pt_api *api, const struct pt_api_request *req,
                            struct pt_api_response *r);
void api_op_list_functions(struct pt_api *api, const struct pt_api_request *req,
                           struct pt_api_response *r);
void api_op_get_function(struct pt_api *api, const struct api_target *t, bool config_only,
                         const struct pt_api_request *req, struct pt_api_response *r);
void api_op_delete_function(struct pt_api *api, const struct api_target *t,
                            struct pt_api_response *r);
void api_op_update_configuration(struct pt_api *api, const struct api_target *t,
                                 const struct pt_api_request *req, struct pt_api_response *r);
void api_op_update_code(struct pt_api *api, const struct api_target *t,
                        const struct pt_api_request *req, struct pt_api_response *r);
void api_op_publish_version(struct pt_api *api, const struct api_target *t,
                            const struct pt_api_request *req, struct pt_api_response *r);
void api_op_list_versions(struct pt_api *api, const struct api_target *t,
                          const struct pt_api_request *req, struct pt_api_response *r);
void api_op_create_alias(struct pt_api *api, const struct api_target *t,
                         const struct pt_api_request *req, struct pt_api_response *r);
void api_op_get_alias(struct pt_api *api, const struct api_target *t, const char *alias,
                      struct pt_api_response *r);
void api_op_update_alias(struct pt_api *api, const struct api_target *t, const char *alias,
                         const struct pt_api_request *req, struct pt_api_response *r);
void api_op_delete_alias(struct pt_api *api, const struct api_target *t, const char *alias,
                         struct pt_api_response *r);
void api_op_list_aliases(struct pt_api *api, const struct api_target *t,
                         const struct pt_api_request *req, struct pt_api_response *r);
void api_op_put_concurrency(struct pt_api *api, const struct api_target *t,
                            const struct pt_api_request *req, struct pt_api_response *r);
void api_op_get_concurrency(struct pt_api *api, const struct api_target *t,
                            struct pt_api_response *r);
void api_op_delete_concurrency(struct pt_api *api, const struct api_target *t,
                               struct pt_api_response *r);
void api_op_account_settings(struct pt_api *api, struct pt_api_response *r);
void api_op_code_download(struct pt_api *api, const char *name, const char *file,
                          struct pt_api_response *r);

/* ---- invoke.c ---- */
void api_op_invoke(struct pt_api *api, const struct api_target *t,
                   const struct pt_api_request *req, struct pt_api_response *r);

/* ---- events.c: the asynchronous (Event) queue ---- */
/* Loads the events saved under <root>/events and starts the workers. */
int api_events_start(struct pt_api *api, struct pt_error *err);
/* Stops the workers; queued events stay on disk for the next start. */
void api_events_stop(struct pt_api *api);
/*
 * Accepts an Event invocation of name at version (resolved, aliases' routing
 * applied): saved, then queued; r is 202, or 429 when the queue is full, or 500.
 * Without the registry lock (it writes and fsyncs a file).
 */
/* Drops the queued events of a deleted function, and their files (ones already running finish). */
void api_events_forget_function(struct pt_api *api, const char *name);
void api_event_accept(struct pt_api *api, const char *name, const char *version,
                      const char *qualifier, const char *trace_id, const char *payload,
                      size_t payload_len, struct pt_api_response *r);

#endif
