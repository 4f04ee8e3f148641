/*
 * registry.c - the functions the API knows, their engine registrations, and
 * their persistence.
 *
 * On disk, under <state>/api:
 *   functions/<name>/function.json   $LATEST, versions, aliases, reserved concurrency
 *                                     (one file per function, replaced atomically: a
 *                                     reader after kill -9 sees the old or the new one)
 *   functions/<name>/code/<id>/      unpacked code, never modified once installed, so a
 *   functions/<name>/code/<id>.zip   version can share it with $LATEST; the upload
 *   staging/                         uploads being unpacked (emptied at start)
 *   trash/                           deleted functions being removed (emptied at start)
 * A code directory no configuration references (an upload that crashed before
 * its function.json was written, code replaced since) is removed at start, and
 * while serving once no invocation runs it either. Deleting a function removes
 * its function.json; code its running invocations use stays until they return,
 * beside that of a function created under the same name meanwhile (code ids are
 * random, never reused).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "base/fs.h"
#include "base/rand.h"
#include "base/str.h"
#include "engine/package.h"

#define FUNCTION_FILE "function.json"
#define FUNCTION_FILE_MAX (16 * 1024 * 1024)

/* ---- locking and engine registrations ---- */

void api_lock(struct pt_api *api)
{
    pthread_mutex_lock(&api->lock);
}

void api_unlock(struct pt_api *api)
{
    struct api_handle *dead = api->dead;
    api->dead = NULL;
    pthread_mutex_unlock(&api->lock);
    /* Removing a registration kills its environments: never under the registry lock. */
    while (dead) {
        struct api_handle *next = dead->next_dead;
        pt_engine_function_remove(api->engine, dead->fn);
        free(dead);
        dead = next;
    }
}

static void usage_put(struct api_usage *u)
{
    if (u && --u->refs == 0)
        free(u);
}

static void function_dir_sweep(struct pt_api *api, const char *name,
                               const struct api_function *f);

/* Under the lock: the last invocation of a deleted function is over: its code goes. */
static void usage_departed_end(struct pt_api *api, struct api_usage *u)
{
    for (struct api_usage **p = &api->departed; *p; p = &(*p)->next_departed) {
        if (*p == u) {
            *p = u->next_departed;
            break;
        }
    }
    u->departed = false;
    function_dir_sweep(api, u->name, api_function_find(api, u->name));
}

/* Under the lock: h has no invocation left and is retired: off to the engine's removal. */
static void handle_bury(struct pt_api *api, struct api_handle *h)
{
    for (struct api_handle **p = &h->usage->live; *p; p = &(*p)->next_live) {
        if (*p == h) {
            *p = h->next_live;
            break;
        }
    }
    if (h->usage->departed && !h->usage->live)
        usage_departed_end(api, h->usage);
    usage_put(h->usage);
    h->usage = NULL;
    h->next_dead = api->dead;
    api->dead = h;
}

void api_conf_retire(struct pt_api *api, struct api_conf *c)
{
    struct api_handle *h = c->handle;
    if (!h)
        return;
    c->handle = NULL;
    h->retired = true;
    if (h->refs == 0)
        handle_bury(api, h);
}

void api_function_retire_all(struct pt_api *api, struct api_function *f)
{
    api_conf_retire(api, &f->latest);
    if (f->previous)
        api_conf_retire(api, f->previous);
    for (size_t i = 0; i < f->version_count; i++)
        api_conf_retire(api, f->versions[i]);
}

/* Under the lock: NULL when f may run one more invocation, else Lambda's Reason. */
static const char *concurrency_refusal(const struct pt_api *api, const struct api_function *f)
{
    int in_flight = f->usage ? f->usage->in_flight : 0;
    if (f->reserved >= 0)
        return in_flight >= f->reserved ? "ReservedFunctionConcurrentInvocationLimitExceeded"
                                        : NULL;
    return api->unreserved_in_flight >= api->account_concurrency - api->reserved_sum
               ? "ConcurrentInvocationLimitExceeded"
               : NULL;
}

int api_conf_acquire(struct pt_api *api, struct api_function *f, struct api_conf *c,
                     struct api_handle **out, const char **throttle_reason,
                     struct pt_error *err)
{
    *throttle_reason = concurrency_refusal(api, f);
    if (*throttle_reason)
        return pt_error_set(err, PT_ETHROTTLED, "Rate Exceeded.");
    if (!f->usage) {
        f->usage = calloc(1, sizeof(*f->usage));
        if (!f->usage)
            return pt_error_set(err, PT_ENOMEM, "out of memory");
        f->usage->refs = 1;
        f->usage->owner = f;
        pt_strlcpy(f->usage->name, f->latest.cfg.name, sizeof(f->usage->name));
    }
    if (!c->handle) {
        struct api_handle *h = calloc(1, sizeof(*h));
        if (!h)
            return pt_error_set(err, PT_ENOMEM, "out of memory");
        /*
         * Registered without a reservation: the engine would cap and count each
         * registration on its own, while Lambda's reservation spans the function.
         * The admission above is the one that applies; the engine's account-wide
         * cap can only agree with it.
         */
        struct pt_function_config cfg = c->cfg;
        cfg.reserved_concurrency = -1;
        bool latest = strcmp(c->version, "$LATEST") == 0;
        int rc = pt_engine_function_add_version(api->engine, &cfg, latest ? NULL : c->version,
                                                &h->fn, err);
        if (rc) {
            free(h);
            return rc;
        }
        h->usage = f->usage;
        h->usage->refs++;
        h->reserved_pool = f->reserved >= 0;
        pt_strlcpy(h->code_id, c->code_id, sizeof(h->code_id));
        h->next_live = f->usage->live;
        f->usage->live = h;
        c->handle = h;
    }
    c->handle->refs++;
    c->handle->usage->in_flight++;
    if (!c->handle->reserved_pool)
        api->unreserved_in_flight++;
    *out = c->handle;
    return 0;
}

void api_handle_release(struct pt_api *api, struct api_handle *h)
{
    api_lock(api);
    h->refs--;
    h->usage->in_flight--;
    if (!h->reserved_pool)
        api->unreserved_in_flight--;
    if (h->retired && h->refs == 0) {
        struct api_function *owner = h->usage->owner;
        handle_bury(api, h);
        if (owner) /* the last invocation of replaced code is over */
            api_function_collect_code(api, owner);
    }
    api_unlock(api);
}

/* ---- structures ---- */

void api_conf_init(struct api_conf *c)
{
    memset(c, 0, sizeof(*c));
    pt_function_config_init(&c->cfg);
    pt_strlcpy(c->version, "$LATEST", sizeof(c->version));
    pt_strlcpy(c->tracing_mode, "PassThrough", sizeof(c->tracing_mode));
    pt_strlcpy(c->snap_start, "None", sizeof(c->snap_start));
    pt_strlcpy(c->log_format, "Text", sizeof(c->log_format));
}

int api_conf_copy(struct api_conf *dst, const struct api_conf *src, struct pt_error *err)
{
    *dst = *src;
    dst->handle = NULL;
    dst->cfg.env = NULL;
    dst->cfg.env_count = 0;
    return pt_function_config_copy(&dst->cfg, &src->cfg, err);
}

void api_conf_free(struct pt_api *api, struct api_conf *c)
{
    api_conf_retire(api, c);
    pt_function_config_free(&c->cfg);
}

void api_function_free(struct pt_api *api, struct api_function *f)
{
    if (!f)
        return;
    api_function_drop_previous(api, f);
    api_conf_free(api, &f->latest);
    for (size_t i = 0; i < f->version_count; i++) {
        api_conf_free(api, f->versions[i]);
        free(f->versions[i]);
    }
    free(f->versions);
    free(f->aliases);
    if (f->usage)
        f->usage->owner = NULL;
    usage_put(f->usage);
    free(f);
}

static size_t function_index(struct pt_api *api, const char *name, bool *found)
{
    size_t lo = 0, hi = api->fn_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(api->fns[mid]->latest.cfg.name, name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

struct api_function *api_function_find(struct pt_api *api, const char *name)
{
    bool found;
    size_t i = function_index(api, name, &found);
    return found ? api->fns[i] : NULL;
}

int api_function_insert(struct pt_api *api, struct api_function *f)
{
    bool found;
    size_t at = function_index(api, f->latest.cfg.name, &found);
    if (found)
        return -1;
    if (api->fn_count == api->fn_cap) {
        size_t cap = api->fn_cap ? api->fn_cap * 2 : 16;
        struct api_function **v = realloc(api->fns, cap * sizeof(*v));
        if (!v)
            return -1;
        api->fns = v;
        api->fn_cap = cap;
    }
    memmove(api->fns + at + 1, api->fns + at, (api->fn_count - at) * sizeof(*api->fns));
    api->fns[at] = f;
    api->fn_count++;
    if (f->reserved > 0)
        api->reserved_sum += f->reserved;
    return 0;
}

void api_function_unlink(struct pt_api *api, struct api_function *f)
{
    bool found;
    size_t at = function_index(api, f->latest.cfg.name, &found);
    if (!found || api->fns[at] != f)
        return;
    memmove(api->fns + at, api->fns + at + 1, (api->fn_count - at - 1) * sizeof(*api->fns));
    api->fn_count--;
    if (f->reserved > 0)
        api->reserved_sum -= f->reserved;
}

void api_function_set_reserved(struct pt_api *api, struct api_function *f, int reserved)
{
    api->reserved_sum += (reserved > 0 ? reserved : 0) - (f->reserved > 0 ? f->reserved : 0);
    f->reserved = reserved;
}

struct api_conf *api_function_conf(struct api_function *f, const char *version)
{
    if (strcmp(version, "$LATEST") == 0)
        return &f->latest;
    for (size_t i = 0; i < f->version_count; i++)
        if (strcmp(f->versions[i]->version, version) == 0)
            return f->versions[i];
    return NULL;
}

void api_function_drop_previous(struct pt_api *api, struct api_function *f)
{
    if (!f->previous)
        return;
    api_conf_free(api, f->previous);
    free(f->previous);
    f->previous = NULL;
}

struct api_conf *api_function_conf_serving(struct pt_api *api, struct api_function *f,
                                           const char *version)
{
    if (f->previous && f->busy_until_ms <= api_mono_ms()) {
        api_function_drop_previous(api, f);
        api_function_collect_code(api, f);
    }
    if (f->previous && strcmp(version, "$LATEST") == 0)
        return f->previous;
    return api_function_conf(f, version);
}

struct api_alias *api_alias_find(struct api_function *f, const char *name)
{
    for (size_t i = 0; i < f->alias_count; i++)
        if (strcmp(f->aliases[i].name, name) == 0)
            return &f->aliases[i];
    return NULL;
}

void api_registry_free(struct pt_api *api)
{
    api_lock(api);
    for (size_t i = 0; i < api->fn_count; i++)
        api_function_free(api, api->fns[i]);
    free(api->fns);
    api->fns = NULL;
    api->fn_count = api->fn_cap = 0;
    api_unlock(api);
}

/* ---- JSON ---- */

void api_function_arn(const struct pt_api *api, const char *name, const char *qualifier,
                      char *out, size_t size)
{
    if (qualifier && *qualifier)
        snprintf(out, size, "arn:aws:lambda:%s:%s:function:%s:%s", api->region, api->account,
                 name, qualifier);
    else
        snprintf(out, size, "arn:aws:lambda:%s:%s:function:%s", api->region, api->account,
                 name);
}

static void set_str(json_t *o, const char *key, const char *v)
{
    json_t *s = json_string(v);
    json_object_set_new(o, key, s ? s : json_string(""));
}

/*
 * Lambda changes $LATEST's RevisionId not only with each update of it but also when its update
 * window ends (State Pending -> Active after CreateFunction, LastUpdateStatus InProgress ->
 * Successful after an update) and when a version is published from it (LocalStack's tests of
 * RevisionId, validated against AWS; aws/aws-sdk#377: the RevisionId an update answers no longer
 * holds once it has completed). revision_id stays the identity of the content (what versions
 * record as SourceRevision, so that publishing an unchanged $LATEST still finds its version); the
 * RevisionId shown is derived from it and revision_epoch, the count of the later changes, once the
 * window is over. A version's is its own.
 */
void api_conf_revision(const struct api_function *f, const struct api_conf *c, char out[37])
{
    if (strcmp(c->version, "$LATEST") != 0 || c->revision_epoch <= 0 ||
        f->busy_until_ms > api_mono_ms())
        pt_strlcpy(out, c->revision_id, 37);
    else
        api_revision_derive(c->revision_id, c->revision_epoch, out);
}

json_t *api_conf_json(const struct pt_api *api, const struct api_function *f,
                      const struct api_conf *c, enum api_view view)
{
    json_t *o = json_object();
    const struct pt_function_config *cfg = &c->cfg;
    set_str(o, "FunctionName", cfg->name);
    if (view != API_VIEW_DISK) {
        char arn[API_ARN_MAX];
        api_function_arn(api, cfg->name, view == API_VIEW_QUALIFIED ? c->version : NULL, arn,
                         sizeof(arn));
        set_str(o, "FunctionArn", arn);
    }
    set_str(o, "Runtime", cfg->runtime);
    if (c->role[0])
        set_str(o, "Role", c->role);
    if (cfg->handler[0])
        set_str(o, "Handler", cfg->handler);
    json_object_set_new(o, "CodeSize", json_integer(c->code_size));
    set_str(o, "Description", cfg->description);
    json_object_set_new(o, "Timeout", json_integer(cfg->timeout_s));
    json_object_set_new(o, "MemorySize", json_integer(cfg->memory_mb));
    set_str(o, "LastModified", c->last_modified);
    set_str(o, "CodeSha256", c->code_sha256);
    set_str(o, "Version", c->version);
    json_t *vars = json_object();
    for (size_t i = 0; i < cfg->env_count; i++)
        json_object_set_new(vars, cfg->env[i].key, json_string(cfg->env[i].value));
    json_t *env = json_object();
    json_object_set_new(env, "Variables", vars);
    json_object_set_new(o, "Environment", env);
    json_object_set_new(o, "TracingConfig", json_pack("{s:s}", "Mode", c->tracing_mode));
    if (view == API_VIEW_DISK) {
        set_str(o, "RevisionId", c->revision_id);
        if (c->revision_epoch > 0)
            json_object_set_new(o, "RevisionEpoch", json_integer(c->revision_epoch));
        set_str(o, "CodeId", c->code_id);
        if (c->source_revision[0])
            set_str(o, "SourceRevision", c->source_revision);
    } else {
        char rev[37];
        api_conf_revision(f, c, rev);
        set_str(o, "RevisionId", rev);
        bool latest = strcmp(c->version, "$LATEST") == 0;
        bool busy = latest && f->busy_until_ms > api_mono_ms();
        if (busy && f->creating) {
            set_str(o, "State", "Pending");
            set_str(o, "StateReason", "The function is being created.");
            set_str(o, "StateReasonCode", "Creating");
        } else {
            set_str(o, "State", "Active");
            set_str(o, "LastUpdateStatus", busy ? "InProgress" : "Successful");
            if (busy) {
                set_str(o, "LastUpdateStatusReason", "The function is being created.");
                set_str(o, "LastUpdateStatusReasonCode", "Creating");
            }
        }
    }
    set_str(o, "PackageType", "Zip");
    json_object_set_new(o, "Architectures", json_pack("[s]", cfg->architecture));
    json_object_set_new(o, "EphemeralStorage", json_pack("{s:i}", "Size", cfg->ephemeral_mb));
    /* OptimizationStatus: On for a version published with ApplyOn PublishedVersions (the model:
     * "whether SnapStart is activated for the specified function version"), Off for $LATEST. */
    bool snapshotted = strcmp(c->snap_start, "PublishedVersions") == 0 &&
                       strcmp(c->version, "$LATEST") != 0;
    json_object_set_new(o, "SnapStart",
                        json_pack("{s:s,s:s}", "ApplyOn", c->snap_start, "OptimizationStatus",
                                  snapshotted ? "On" : "Off"));
    json_t *logging = json_object();
    set_str(logging, "LogFormat", c->log_format);
    if (strcmp(c->log_format, "JSON") == 0) {
        set_str(logging, "ApplicationLogLevel", c->app_log_level[0] ? c->app_log_level : "INFO");
        set_str(logging, "SystemLogLevel", c->sys_log_level[0] ? c->sys_log_level : "INFO");
    }
    if (c->log_group[0]) {
        set_str(logging, "LogGroup", c->log_group);
    } else {
        char group[API_LOG_GROUP_MAX];
        snprintf(group, sizeof(group), "/aws/lambda/%s", cfg->name);
        set_str(logging, "LogGroup", group);
    }
    json_object_set_new(o, "LoggingConfig", logging);
    return o;
}

json_t *api_alias_json(const struct pt_api *api, const struct api_function *f,
                       const struct api_alias *a)
{
    char arn[API_ARN_MAX];
    api_function_arn(api, f->latest.cfg.name, a->name, arn, sizeof(arn));
    json_t *o = json_object();
    set_str(o, "AliasArn", arn);
    set_str(o, "Name", a->name);
    set_str(o, "FunctionVersion", a->version);
    set_str(o, "Description", a->description);
    if (a->extra_version[0]) {
        json_t *w = json_object();
        json_object_set_new(w, a->extra_version, json_real(a->extra_weight));
        json_object_set_new(o, "RoutingConfig", json_pack("{s:o}", "AdditionalVersionWeights", w));
    }
    set_str(o, "RevisionId", a->revision_id);
    return o;
}

/* ---- configuration members ---- */

#define FAIL(type, ...)                                                                           \
    do {                                                                                          \
        *etype = (type);                                                                          \
        return pt_error_set(err, PT_EUSAGE, __VA_ARGS__);                                         \
    } while (0)

static int get_int(json_t *v, const char *member, long lo, long hi, long *out,
                   const char **etype, struct pt_error *err)
{
    if (!json_is_integer(v))
        FAIL("InvalidParameterValueException", "%s must be an integer", member);
    json_int_t n = json_integer_value(v);
    if (n < lo)
        FAIL("ValidationException",
             "1 validation error detected: Value '%lld' at '%c%s' failed to satisfy constraint: "
             "Member must have value greater than or equal to %ld",
             (long long)n, member[0] + ('a' - 'A'), member + 1, lo);
    if (n > hi)
        FAIL("ValidationException",
             "1 validation error detected: Value '%lld' at '%c%s' failed to satisfy constraint: "
             "Member must have value less than or equal to %ld",
             (long long)n, member[0] + ('a' - 'A'), member + 1, hi);
    *out = (long)n;
    return 0;
}

static int get_str(json_t *v, const char *member, char *out, size_t size, bool allow_empty,
                   const char **etype, struct pt_error *err)
{
    if (!json_is_string(v))
        FAIL("InvalidParameterValueException", "%s must be a string", member);
    size_t n = json_string_length(v);
    if (n >= size)
        FAIL("ValidationException",
             "1 validation error detected: Value at '%c%s' failed to satisfy constraint: Member "
             "must have length less than or equal to %zu",
             member[0] + ('a' - 'A'), member + 1, size - 1);
    if (!allow_empty && n == 0)
        FAIL("InvalidParameterValueException", "%s must not be empty", member);
    if (memchr(json_string_value(v), '\0', n))
        FAIL("InvalidParameterValueException", "%s must not contain NUL", member);
    memcpy(out, json_string_value(v), n + 1);
    return 0;
}

int api_conf_apply(struct api_conf *c, json_t *j, const char **etype, struct pt_error *err)
{
    struct pt_function_config *cfg = &c->cfg;
    json_t *v;
    long n;
    int rc;
    if ((v = json_object_get(j, "Runtime"))) {
        char runtime[PT_RUNTIME_NAME_MAX + 1];
        if ((rc = get_str(v, "Runtime", runtime, sizeof(runtime), false, etype, err)))
            return rc;
        enum pt_runtime_family family;
        if (pt_runtime_parse(runtime, &family, err) != 0) {
            *etype = "InvalidParameterValueException";
            return PT_EUSAGE;
        }
        pt_strlcpy(cfg->runtime, runtime, sizeof(cfg->runtime));
        cfg->family = family;
    }
    if ((v = json_object_get(j, "Handler")) &&
        (rc = get_str(v, "Handler", cfg->handler, sizeof(cfg->handler), false, etype, err)))
        return rc;
    if ((v = json_object_get(j, "Role")) &&
        (rc = get_str(v, "Role", c->role, sizeof(c->role), false, etype, err)))
        return rc;
    if ((v = json_object_get(j, "Description")) &&
        (rc = get_str(v, "Description", cfg->description, sizeof(cfg->description), true,
                      etype, err)))
        return rc;
    if ((v = json_object_get(j, "MemorySize"))) {
        if ((rc = get_int(v, "MemorySize", 128, 10240, &n, etype, err)))
            return rc;
        cfg->memory_mb = (int)n;
    }
    if ((v = json_object_get(j, "Timeout"))) {
        if ((rc = get_int(v, "Timeout", 1, 900, &n, etype, err)))
            return rc;
        cfg->timeout_s = (int)n;
    }
    if ((v = json_object_get(j, "EphemeralStorage"))) {
        if (!json_is_object(v))
            FAIL("InvalidParameterValueException", "EphemeralStorage must be an object");
        if ((rc = get_int(json_object_get(v, "Size"), "EphemeralStorage.size", 512, 10240, &n,
                          etype, err)))
            return rc;
        cfg->ephemeral_mb = (int)n;
    }
    if ((v = json_object_get(j, "Architectures"))) {
        if (!json_is_array(v) || json_array_size(v) != 1)
            FAIL("ValidationException",
                 "1 validation error detected: Value at 'architectures' failed to satisfy "
                 "constraint: Member must have length less than or equal to 1");
        const char *a = json_string_value(json_array_get(v, 0));
        if (!a || (strcmp(a, "x86_64") != 0 && strcmp(a, "arm64") != 0))
            FAIL("ValidationException",
                 "1 validation error detected: Value '[%s]' at 'architectures' failed to satisfy "
                 "constraint: Member must satisfy constraint: [Member must satisfy enum value "
                 "set: [x86_64, arm64]]",
                 a ? a : "?");
        pt_strlcpy(cfg->architecture, a, sizeof(cfg->architecture));
    }
    if ((v = json_object_get(j, "Environment"))) {
        json_t *vars = json_is_object(v) ? json_object_get(v, "Variables") : NULL;
        if (!json_is_object(v) || (vars && !json_is_object(vars)))
            FAIL("InvalidParameterValueException",
                 "Environment must be an object with a Variables map");
        pt_function_config_free(cfg);
        const char *key;
        json_t *val;
        json_object_foreach(vars, key, val) {
            if (!pt_env_key_valid(key))
                FAIL("ValidationException",
                     "1 validation error detected: Value at 'environment.variables' failed to "
                     "satisfy constraint: Map keys must satisfy constraint: [Member must satisfy "
                     "regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]");
        }
        json_object_foreach(vars, key, val) {
            if (!json_is_string(val))
                FAIL("InvalidParameterValueException",
                     "Environment variable %s must have a string value", key);
            if (pt_env_key_is_reserved(key))
                FAIL("InvalidParameterValueException",
                     "Lambda was unable to configure your environment variables because the "
                     "environment variables you have provided contains reserved keys that are "
                     "currently not supported for modification. Reserved keys used in this "
                     "request: %s",
                     key);
            rc = pt_function_set_env(cfg, key, json_string_value(val), err);
            if (rc == PT_EUSAGE) { /* names were checked above: the 4 KB limit, in Lambda's words */
                char *measured = json_dumps(vars, JSON_COMPACT | JSON_PRESERVE_ORDER);
                *etype = "InvalidParameterValueException";
                rc = pt_error_set(err, PT_EUSAGE,
                                  "Lambda was unable to configure your environment variables "
                                  "because the environment variables you have provided exceeded "
                                  "the 4KB limit. String measured: %.400s%s",
                                  measured ? measured : "",
                                  measured && strlen(measured) > 400 ? "..." : "");
                free(measured);
                return rc;
            }
            if (rc != 0) {
                /* Out of memory is the server's fault (500: SDKs retry it), not the caller's. */
                *etype = rc == PT_ENOMEM ? "ServiceException" : "InvalidParameterValueException";
                return rc;
            }
        }
    }
    if ((v = json_object_get(j, "TracingConfig"))) {
        const char *m = json_string_value(json_object_get(v, "Mode"));
        if (m && strcmp(m, "Active") != 0 && strcmp(m, "PassThrough") != 0)
            FAIL("ValidationException",
                 "1 validation error detected: Value '%s' at 'tracingConfig.mode' failed to "
                 "satisfy constraint: Member must satisfy enum value set: [Active, PassThrough]",
                 m);
        if (m)
            pt_strlcpy(c->tracing_mode, m, sizeof(c->tracing_mode));
    }
    if ((v = json_object_get(j, "SnapStart"))) {
        if (!json_is_object(v))
            FAIL("InvalidParameterValueException", "SnapStart must be an object");
        json_t *apply = json_object_get(v, "ApplyOn");
        const char *a = json_string_value(apply);
        if (apply && (!a || (strcmp(a, "PublishedVersions") != 0 && strcmp(a, "None") != 0)))
            FAIL("ValidationException",
                 "1 validation error detected: Value '%.64s' at 'snapStart.applyOn' failed to "
                 "satisfy constraint: Member must satisfy enum value set: [PublishedVersions, "
                 "None]",
                 a ? a : "?");
        if (a)
            pt_strlcpy(c->snap_start, a, sizeof(c->snap_start));
    }
    if ((v = json_object_get(j, "LoggingConfig"))) {
        const char *f = json_string_value(json_object_get(v, "LogFormat"));
        const char *al = json_string_value(json_object_get(v, "ApplicationLogLevel"));
        const char *sl = json_string_value(json_object_get(v, "SystemLogLevel"));
        const char *g = json_string_value(json_object_get(v, "LogGroup"));
        if (f && strcmp(f, "Text") != 0 && strcmp(f, "JSON") != 0)
            FAIL("ValidationException",
                 "1 validation error detected: Value '%s' at 'loggingConfig.logFormat' failed to "
                 "satisfy constraint: Member must satisfy enum value set: [Text, JSON]",
                 f);
        enum pt_log_level level;
        if (al && (pt_app_log_level_parse(al, &level, NULL) != 0 ||
                   strcmp(al, pt_log_level_name(level)) != 0))
            FAIL("ValidationException",
                 "1 validation error detected: Value '%s' at 'loggingConfig.applicationLogLevel' "
                 "failed to satisfy constraint: Member must satisfy enum value set: [TRACE, "
                 "DEBUG, INFO, WARN, ERROR, FATAL]",
                 al);
        if (sl && (pt_system_log_level_parse(sl, &level, NULL) != 0 ||
                   strcmp(sl, pt_log_level_name(level)) != 0))
            FAIL("ValidationException",
                 "1 validation error detected: Value '%s' at 'loggingConfig.systemLogLevel' "
                 "failed to satisfy constraint: Member must satisfy enum value set: [DEBUG, INFO, "
                 "WARN]",
                 sl);
        if (f)
            pt_strlcpy(c->log_format, f, sizeof(c->log_format));
        if (f && strcmp(f, "Text") == 0) /* levels belong to JSON: switching back drops them */
            c->app_log_level[0] = c->sys_log_level[0] = '\0';
        if (al)
            pt_strlcpy(c->app_log_level, al, sizeof(c->app_log_level));
        if (sl)
            pt_strlcpy(c->sys_log_level, sl, sizeof(c->sys_log_level));
        if (g && strlen(g) < sizeof(c->log_group))
            pt_strlcpy(c->log_group, g, sizeof(c->log_group));
        /* The engine's copy; pt_function_validate refuses a level with Text, as Lambda does. */
        pt_log_format_parse(c->log_format, &c->cfg.log_format, NULL);
        c->cfg.app_log_level = c->cfg.system_log_level = PT_LOG_LEVEL_UNSET;
        if (c->app_log_level[0])
            pt_app_log_level_parse(c->app_log_level, &c->cfg.app_log_level, NULL);
        if (c->sys_log_level[0])
            pt_system_log_level_parse(c->sys_log_level, &c->cfg.system_log_level, NULL);
        if (c->cfg.log_format == PT_LOG_FORMAT_TEXT && (al || sl))
            FAIL("InvalidParameterValueException",
                 "LogLevel is not supported when LogFormat is set to \"Text\". Remove LogLevel "
                 "from your request or change the LogFormat to \"JSON\" and try again.");
    }
    return 0;
}

#undef FAIL

/* ---- persistence ---- */

int api_code_dir(const struct pt_api *api, const char *name, const char *code_id, char *out,
                 size_t size)
{
    return (size_t)snprintf(out, size, "%s/functions/%s/code/%s", api->root, name, code_id) >=
                   size
               ? -1
               : 0;
}

int api_staging_dir(const struct pt_api *api, char *out, size_t size)
{
    char id[17];
    pt_random_hex(id, 16);
    return (size_t)snprintf(out, size, "%s/staging/%s", api->root, id) >= size ? -1 : 0;
}

int api_code_install(struct pt_api *api, const char *staged, const char *name,
                     const char *code_id, struct pt_error *err)
{
    char dir[PATH_MAX], from[PATH_MAX + 8], to[PATH_MAX + 8];
    if ((size_t)snprintf(dir, sizeof(dir), "%s/functions/%s/code", api->root, name) >=
        sizeof(dir))
        return pt_error_set(err, PT_ELIMIT, "state directory path too long");
    int rc = pt_mkdir_p(dir, 0755, err);
    if (rc)
        return rc;
    snprintf(to, sizeof(to), "%s/%s", dir, code_id);
    if (rename(staged, to) != 0)
        return pt_error_errno(err, PT_ESYS, errno, "cannot move the code into %s", to);
    snprintf(from, sizeof(from), "%s.zip", staged);
    snprintf(to, sizeof(to), "%s/%s.zip", dir, code_id);
    if (rename(from, to) != 0)
        return pt_error_errno(err, PT_ESYS, errno, "cannot move the zip into %s", to);
    return 0;
}

int api_function_save(struct pt_api *api, const struct api_function *f, struct pt_error *err)
{
    json_t *o = json_object();
    json_object_set_new(o, "Format", json_integer(1));
    json_object_set_new(o, "Latest", api_conf_json(api, f, &f->latest, API_VIEW_DISK));
    json_t *versions = json_array();
    for (size_t i = 0; i < f->version_count; i++)
        json_array_append_new(versions, api_conf_json(api, f, f->versions[i], API_VIEW_DISK));
    json_object_set_new(o, "Versions", versions);
    json_object_set_new(o, "NextVersion", json_integer(f->next_version));
    json_t *aliases = json_array();
    for (size_t i = 0; i < f->alias_count; i++)
        json_array_append_new(aliases, api_alias_json(api, f, &f->aliases[i]));
    json_object_set_new(o, "Aliases", aliases);
    if (f->reserved >= 0)
        json_object_set_new(o, "ReservedConcurrentExecutions", json_integer(f->reserved));
    char *text = json_dumps(o, JSON_INDENT(1) | JSON_SORT_KEYS);
    json_decref(o);
    if (!text)
        return pt_error_set(err, PT_ENOMEM, "out of memory saving %s", f->latest.cfg.name);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/" FUNCTION_FILE, f->dir);
    int rc = pt_mkdir_p(f->dir, 0755, err);
    if (!rc)
        rc = pt_file_write_atomic(path, text, strlen(text), err);
    free(text);
    return rc;
}

int api_function_delete(struct pt_api *api, struct api_function *f, struct pt_error *err)
{
    char file[PATH_MAX + 32];
    snprintf(file, sizeof(file), "%s/" FUNCTION_FILE, f->dir);
    /* A function directory without its function.json is a leftover, removed at start. */
    if (unlink(file) != 0 && errno != ENOENT)
        return pt_error_errno(err, PT_ESYS, errno, "cannot remove %s", file);
    api_function_unlink(api, f);
    api_function_retire_all(api, f); /* in-flight invocations finish; their registrations go */
    struct api_usage *u = f->usage;
    if (u && u->live) {
        u->departed = true;
        u->next_departed = api->departed;
        api->departed = u;
    }
    function_dir_sweep(api, f->latest.cfg.name, NULL);
    api_function_free(api, f);
    return 0;
}

void api_function_discard_files(struct pt_api *api, const struct api_function *f)
{
    char file[PATH_MAX + 32];
    snprintf(file, sizeof(file), "%s/" FUNCTION_FILE, f->dir);
    unlink(file);
    function_dir_sweep(api, f->latest.cfg.name, NULL);
}

int api_function_dir_claim(struct pt_api *api, const char *dir, const char *name,
                           struct pt_error *err)
{
    char file[PATH_MAX + 32], aside[PATH_MAX + 128], id[17];
    snprintf(file, sizeof(file), "%s/" FUNCTION_FILE, dir);
    if (!pt_path_is_file(file)) {
        function_dir_sweep(api, name, NULL);
        return 0;
    }
    pt_random_hex(id, 16);
    if ((size_t)snprintf(aside, sizeof(aside), "%s/unreadable", api->root) >= sizeof(aside))
        return pt_error_set(err, PT_ELIMIT, "state directory path too long");
    int rc = pt_mkdir_p(aside, 0755, err);
    if (rc)
        return rc;
    size_t n = strlen(aside);
    snprintf(aside + n, sizeof(aside) - n, "/%s-%s", name, id);
    if (rename(dir, aside) != 0)
        return pt_error_errno(err, PT_ESYS, errno, "cannot move %s aside", dir);
    if (api->opt.log) {
        char line[2 * PATH_MAX + 128];
        snprintf(line, sizeof(line), "note: %s, unreadable at start-up, moved to %s", dir,
                 aside);
        api->opt.log(api->opt.log_arg, line);
    }
    return 0;
}

/* A saved configuration back into c (name and code directory from the function). */
static int conf_load(struct pt_api *api, const char *name, json_t *j, struct api_conf *c,
                     struct pt_error *err)
{
    api_conf_init(c);
    pt_strlcpy(c->cfg.name, name, sizeof(c->cfg.name));
    const char *etype = NULL;
    int rc = api_conf_apply(c, j, &etype, err);
    if (rc)
        return rc;
    const char *s;
    if ((s = json_string_value(json_object_get(j, "Version"))))
        pt_strlcpy(c->version, s, sizeof(c->version));
    if ((s = json_string_value(json_object_get(j, "CodeId"))))
        pt_strlcpy(c->code_id, s, sizeof(c->code_id));
    if ((s = json_string_value(json_object_get(j, "CodeSha256"))))
        pt_strlcpy(c->code_sha256, s, sizeof(c->code_sha256));
    if ((s = json_string_value(json_object_get(j, "LastModified"))))
        pt_strlcpy(c->last_modified, s, sizeof(c->last_modified));
    if ((s = json_string_value(json_object_get(j, "RevisionId"))))
        pt_strlcpy(c->revision_id, s, sizeof(c->revision_id));
    if ((s = json_string_value(json_object_get(j, "SourceRevision"))))
        pt_strlcpy(c->source_revision, s, sizeof(c->source_revision));
    json_int_t epoch = json_integer_value(json_object_get(j, "RevisionEpoch"));
    c->revision_epoch = epoch > 0 && epoch < INT_MAX ? (int)epoch : 0;
    c->code_size = json_integer_value(json_object_get(j, "CodeSize"));
    if (!c->code_id[0] || strchr(c->code_id, '/') || strstr(c->code_id, ".."))
        return pt_error_set(err, PT_EPROTO, "configuration %s has no valid CodeId", c->version);
    if (api_code_dir(api, name, c->code_id, c->cfg.code_dir, sizeof(c->cfg.code_dir)) != 0)
        return pt_error_set(err, PT_ELIMIT, "state directory path too long");
    return 0;
}

static int alias_load(json_t *j, struct api_alias *a)
{
    memset(a, 0, sizeof(*a));
    const char *name = json_string_value(json_object_get(j, "Name"));
    const char *ver = json_string_value(json_object_get(j, "FunctionVersion"));
    if (!name || !ver)
        return -1;
    pt_strlcpy(a->name, name, sizeof(a->name));
    pt_strlcpy(a->version, ver, sizeof(a->version));
    const char *s;
    if ((s = json_string_value(json_object_get(j, "Description"))))
        pt_strlcpy(a->description, s, sizeof(a->description));
    if ((s = json_string_value(json_object_get(j, "RevisionId"))))
        pt_strlcpy(a->revision_id, s, sizeof(a->revision_id));
    json_t *w = json_object_get(json_object_get(j, "RoutingConfig"), "AdditionalVersionWeights");
    const char *k;
    json_t *v;
    json_object_foreach(w, k, v) {
        pt_strlcpy(a->extra_version, k, sizeof(a->extra_version));
        a->extra_weight = json_number_value(v);
    }
    return 0;
}

static int function_load(struct pt_api *api, const char *name, const char *dir,
                         struct api_function **out, struct pt_error *err)
{
    char path[PATH_MAX + 32];
    struct pt_buf text;
    pt_buf_init(&text, FUNCTION_FILE_MAX);
    json_t *j = NULL;
    struct api_function *f = calloc(1, sizeof(*f));
    int rc = f ? 0 : pt_error_set(err, PT_ENOMEM, "out of memory");
    if (rc)
        goto out;
    api_conf_init(&f->latest);
    f->reserved = -1;
    pt_strlcpy(f->dir, dir, sizeof(f->dir));
    if ((size_t)snprintf(path, sizeof(path), "%s/" FUNCTION_FILE, dir) >= sizeof(path))
        rc = pt_error_set(err, PT_ELIMIT, "path too long: %s", dir);
    if (!rc)
        rc = pt_file_read(path, FUNCTION_FILE_MAX, &text, err);
    if (rc)
        goto out;
    json_error_t jerr;
    j = text.len ? json_loadb(text.data, text.len, 0, &jerr) : NULL;
    if (!j) {
        rc = pt_error_set(err, PT_EPROTO, "%s: %s", path, text.len ? jerr.text : "empty file");
        goto out;
    }
    rc = conf_load(api, name, json_object_get(j, "Latest"), &f->latest, err);
    if (rc)
        goto out;
    json_t *versions = json_object_get(j, "Versions");
    size_t nv = json_array_size(versions);
    f->versions = calloc(nv ? nv : 1, sizeof(*f->versions));
    if (!f->versions) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nv; i++) {
        struct api_conf *c = calloc(1, sizeof(*c));
        if (!c) {
            rc = pt_error_set(err, PT_ENOMEM, "out of memory");
            goto out;
        }
        f->versions[f->version_count++] = c;
        rc = conf_load(api, name, json_array_get(versions, i), c, err);
        if (rc)
            goto out;
    }
    f->next_version = (long)json_integer_value(json_object_get(j, "NextVersion"));
    if (f->next_version < 1)
        f->next_version = 1;
    json_t *aliases = json_object_get(j, "Aliases");
    size_t na = json_array_size(aliases);
    f->aliases = calloc(na ? na : 1, sizeof(*f->aliases));
    if (!f->aliases) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < na; i++)
        if (alias_load(json_array_get(aliases, i), &f->aliases[f->alias_count]) == 0)
            f->alias_count++;
    /* Our own file, but read as any file: a value no PutFunctionConcurrency could have set
     * (negative, or beyond int) leaves the function unreserved rather than wrapping around. */
    json_t *r = json_object_get(j, "ReservedConcurrentExecutions");
    if (json_is_integer(r) && json_integer_value(r) >= 0 && json_integer_value(r) <= INT_MAX)
        f->reserved = (int)json_integer_value(r);
out:
    if (rc && j) /* read, but what it says is not a function: name the file */
        pt_error_wrap(err, "%s", path);
    json_decref(j);
    pt_buf_free(&text);
    if (rc) {
        api_function_free(api, f);
        return rc;
    }
    *out = f;
    return 0;
}

static bool code_id_is(const char *code_id, const char *entry, size_t n)
{
    return strlen(code_id) == n && strncmp(code_id, entry, n) == 0;
}

/* Whether an engine registration of u (NULL: none) still runs the code named entry. */
static bool usage_runs(const struct api_usage *u, const char *entry, size_t n)
{
    for (const struct api_handle *h = u ? u->live : NULL; h; h = h->next_live)
        if (code_id_is(h->code_id, entry, n))
            return true;
    return false;
}

/* Whether code entry (an id, or its zip) of the function called name is in use: by f, the
 * function of that name (or NULL), or by a function of that name deleted while it ran. */
static bool code_referenced(const struct pt_api *api, const char *name,
                            const struct api_function *f, const char *entry)
{
    size_t n = strlen(entry);
    if (n > 4 && strcmp(entry + n - 4, ".zip") == 0)
        n -= 4;
    for (const struct api_usage *u = api->departed; u; u = u->next_departed)
        if (strcmp(u->name, name) == 0 && usage_runs(u, entry, n))
            return true;
    if (!f)
        return false;
    if (code_id_is(f->latest.code_id, entry, n) ||
        (f->previous && code_id_is(f->previous->code_id, entry, n)))
        return true;
    for (size_t i = 0; i < f->version_count; i++)
        if (code_id_is(f->versions[i]->code_id, entry, n))
            return true;
    return usage_runs(f->usage, entry, n);
}

/* Removes the directory of the function called name: renamed away first, so that a crash in
 * the middle of rm -rf does not leave half of it. */
static void function_dir_remove(const struct pt_api *api, const char *name)
{
    char dir[PATH_MAX + 16], trash[PATH_MAX + 64], id[17];
    pt_random_hex(id, 16);
    snprintf(dir, sizeof(dir), "%s/functions/%s", api->root, name);
    snprintf(trash, sizeof(trash), "%s/trash/%s-%s", api->root, name, id);
    pt_rmtree(rename(dir, trash) == 0 ? trash : dir);
}

/*
 * Under the lock: removes from the directory of the function called name the code that is not
 * in use (code_referenced); without f, and with nothing in use, the whole directory.
 */
static void function_dir_sweep(struct pt_api *api, const char *name,
                               const struct api_function *f)
{
    char dir[PATH_MAX + 16];
    snprintf(dir, sizeof(dir), "%s/functions/%s/code", api->root, name);
    bool in_use = false;
    DIR *d = opendir(dir);
    for (struct dirent *de; d && (de = readdir(d));) {
        if (de->d_name[0] == '.')
            continue;
        if (code_referenced(api, name, f, de->d_name)) {
            in_use = true;
            continue;
        }
        char path[PATH_MAX + 300];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        pt_rmtree(path);
    }
    if (d)
        closedir(d);
    if (!f && !in_use)
        function_dir_remove(api, name);
}

/* Also what a start-up finds: uploads cut short, code replaced before a crash. */
void api_function_collect_code(struct pt_api *api, struct api_function *f)
{
    function_dir_sweep(api, f->latest.cfg.name, f);
}

static int reset_dir(const char *root, const char *name, struct pt_error *err)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/%s", root, name);
    pt_rmtree(path);
    return pt_mkdir_p(path, 0755, err);
}

int api_registry_load(struct pt_api *api, struct pt_error *err)
{
    char fdir[PATH_MAX + 16];
    snprintf(fdir, sizeof(fdir), "%s/functions", api->root);
    int rc = pt_mkdir_p(fdir, 0755, err);
    if (!rc) /* the functions' code is below: Node.js's package.json search ends here */
        rc = pt_package_scope_root(api->root, err);
    if (!rc)
        rc = reset_dir(api->root, "staging", err);
    if (!rc)
        rc = reset_dir(api->root, "trash", err);
    if (rc)
        return rc;
    DIR *d = opendir(fdir);
    if (!d)
        return pt_error_errno(err, PT_ESYS, errno, "cannot open %s", fdir);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char dir[PATH_MAX + 300], file[PATH_MAX + 340];
        snprintf(dir, sizeof(dir), "%s/%s", fdir, de->d_name);
        snprintf(file, sizeof(file), "%s/" FUNCTION_FILE, dir);
        if (!pt_path_is_file(file)) {
            /* A CreateFunction that never got acknowledged. */
            pt_rmtree(dir);
            continue;
        }
        struct api_function *f = NULL;
        struct pt_error lerr = {0};
        /* A directory renamed by hand to what no request can name would be a function that
         * cannot be invoked, updated or deleted. */
        struct pt_aws_lambda_arn arn;
        bool nameable = strlen(de->d_name) <= PT_FUNCTION_NAME_MAX &&
                        pt_aws_lambda_arn_parse(de->d_name, &arn, NULL) == 0 &&
                        arn.form == PT_AWS_ARN_NAME && !arn.qualifier[0] &&
                        strcmp(arn.name, de->d_name) == 0;
        if (!nameable)
            pt_error_set(&lerr, PT_EUSAGE,
                         "not a function name (letters, digits, '-' and '_', at most %d)",
                         PT_FUNCTION_NAME_MAX);
        if (!nameable || function_load(api, de->d_name, dir, &f, &lerr) != 0) {
            /* Kept on disk for inspection: a registry should never eat user data. */
            if (api->opt.log) {
                char line[PT_ERROR_MSG_MAX + 400];
                snprintf(line, sizeof(line), "note: skipping function %s: %s", de->d_name,
                         lerr.msg);
                api->opt.log(api->opt.log_arg, line);
            }
            continue;
        }
        api_function_collect_code(api, f);
        if (api_function_insert(api, f) != 0) {
            api_function_free(api, f);
            closedir(d);
            return pt_error_set(err, PT_ENOMEM, "out of memory loading the registry");
        }
    }
    closedir(d);
    return 0;
}
