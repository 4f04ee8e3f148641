#include "tune/target_lambda.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"

/* One alias the run made, and the version it points at. */
struct lambda_alias_slot {
    char alias[PT_LAMBDA_ALIAS_MAX];
    char version[PT_LAMBDA_VERSION_MAX]; /* "" until published */
    char previous[PT_LAMBDA_VERSION_MAX]; /* the alias's version before the run, "" if ours */
    bool created;                         /* the alias is pointed by the run (so must be undone) */
    bool used;                            /* onlyColdStarts: already invoked */
};

struct lambda_power {
    int power;
    struct lambda_alias_slot *slots;
    size_t n_slots;
};

struct pt_lambda_target {
    struct pt_aws_client *client;
    char function[PT_TUNE_FUNCTION_MAX];
    long num;
    bool only_cold;
    long wait_ms, poll_ms;
    struct pt_lambda_function_config original;
    long max_version_before; /* versions up to this one are the user's */
    /* Prepared powers; changed only in prepare/finish_power, which never run during invokes. */
    struct lambda_power *powers;
    size_t n_powers, cap_powers;
    pthread_mutex_t lock; /* guards the slots' `used` flags across invoking threads */
    struct pt_error cleanup_err; /* first failure of finish_power (which cannot return one) */
    char left[PT_ERROR_MSG_MAX / 2]; /* what the cleanup could not remove, for the error */
    bool finished;
    bool changed; /* an UpdateFunctionConfiguration was sent: $LATEST needs restoring */
    bool (*interrupted)(void *arg);
    void *interrupted_arg;
};

/* Notes an alias or version the cleanup could not remove (a bounded list, "..." once full). */
static void lambda_left(struct pt_lambda_target *t, const char *fmt, ...)
{
    size_t n = strlen(t->left);
    if (n + 4 >= sizeof(t->left))
        return;
    char item[PT_LAMBDA_ALIAS_MAX + PT_LAMBDA_VERSION_MAX + 32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(item, sizeof(item), fmt, ap);
    va_end(ap);
    if (n + 2 + strlen(item) + 4 >= sizeof(t->left))
        snprintf(t->left + n, sizeof(t->left) - n, "%s...", n ? ", " : "");
    else
        snprintf(t->left + n, sizeof(t->left) - n, "%s%s", n ? ", " : "", item);
}

static int lambda_check_interrupt(const struct pt_lambda_target *t, struct pt_error *err)
{
    if (t->interrupted && t->interrupted(t->interrupted_arg))
        return pt_error_set(err, PT_EINTR, "interrupted");
    return 0;
}

static struct lambda_power *lambda_find(struct pt_lambda_target *t, int power)
{
    for (size_t i = 0; i < t->n_powers; i++)
        if (t->powers[i].power == power)
            return &t->powers[i];
    return NULL;
}

static bool version_is_ours(const struct pt_lambda_target *t, const char *version)
{
    long v;
    return pt_parse_long(version, 1, 1L << 40, &v) == 0 && v > t->max_version_before;
}

/*
 * onlyColdStarts' "<original> - <alias>", the original shortened (at a character) so that the
 * whole fits Lambda's 256 characters: a long Description would make every update fail.
 */
static void lambda_cold_description(const char *original, const char *alias, char *out,
                                    size_t size)
{
    size_t room = PT_LAMBDA_DESCRIPTION_CHARS - (strlen(alias) + 3), units = 0, at = 0;
    size_t n = strlen(original);
    while (at < n) {
        size_t k = pt_utf8_seq((const unsigned char *)original + at, n - at);
        size_t u = k == 4 ? 2 : 1; /* Lambda counts UTF-16 units: astral characters are 2 */
        if (units + u > room)
            break;
        units += u;
        at += k ? k : 1;
    }
    snprintf(out, size, "%.*s - %s", (int)at, original, alias);
}

/* Update, wait, publish, point the alias (the reference's Publisher, one configuration). */
static int lambda_publish_alias(struct pt_lambda_target *t, int power, const char *description,
                                struct lambda_alias_slot *slot, struct pt_error *err)
{
    t->changed = true; /* before the call: a failed one may still have been applied */
    int rc = pt_lambda_update_configuration(t->client, t->function, power, description, NULL, err);
    if (!rc)
        rc = pt_lambda_wait_updated(t->client, t->function, t->poll_ms, t->wait_ms, err);
    if (!rc)
        rc = pt_lambda_publish_version(t->client, t->function, NULL, slot->version, err);
    if (!rc)
        rc = pt_lambda_point_alias(t->client, t->function, slot->alias, slot->version,
                                   slot->previous, err);
    if (!rc)
        slot->created = true;
    return rc;
}

static int lambda_prepare_power(void *ctx, int power, struct pt_error *err)
{
    struct pt_lambda_target *t = ctx;
    int rc = lambda_check_interrupt(t, err);
    if (rc)
        return rc;
    if (lambda_find(t, power))
        return pt_error_set(err, PT_ESTATE, "power %d MB is already prepared", power);
    if (t->n_powers == t->cap_powers) {
        size_t cap = t->cap_powers ? t->cap_powers * 2 : 8;
        struct lambda_power *v = realloc(t->powers, cap * sizeof(*v));
        if (!v)
            return pt_error_set(err, PT_ENOMEM, "out of memory for %zu powers", cap);
        t->powers = v;
        t->cap_powers = cap;
    }
    size_t n = t->only_cold ? (size_t)t->num : 1;
    struct lambda_power *p = &t->powers[t->n_powers];
    p->power = power;
    p->n_slots = n;
    if (!(p->slots = calloc(n, sizeof(*p->slots))))
        return pt_error_set(err, PT_ENOMEM, "out of memory for %zu aliases", n);
    /* Registered before the calls, so finish cleans up whatever a failure leaves behind. */
    t->n_powers++;
    for (size_t i = 0; i < n && !rc; i++) {
        struct lambda_alias_slot *s = &p->slots[i];
        if (t->only_cold) {
            char desc[PT_LAMBDA_DESCRIPTION_MAX + PT_LAMBDA_ALIAS_MAX + 8];
            snprintf(s->alias, sizeof(s->alias), "RAM%d-%zu", power, i);
            /* A distinct Description makes PublishVersion create a distinct version. */
            lambda_cold_description(t->original.description, s->alias, desc, sizeof(desc));
            rc = lambda_publish_alias(t, power, desc, s, err);
        } else {
            snprintf(s->alias, sizeof(s->alias), "RAM%d", power);
            rc = lambda_publish_alias(t, power, NULL, s, err);
        }
    }
    return rc;
}

static void lambda_fill_result(struct pt_lambda_invoke_result *r, struct pt_target_result *out)
{
    out->payload = r->payload;
    out->payload_len = r->payload_len;
    r->payload = NULL;
    if (r->function_error[0]) {
        out->function_error = true;
        json_t *j = json_loadb(out->payload ? out->payload : "", out->payload_len, 0, NULL);
        json_t *et = json_object_get(j, "errorType");
        pt_strlcpy(out->error_type, json_is_string(et) ? json_string_value(et) : r->function_error,
                   sizeof(out->error_type));
        json_decref(j);
    }
    if (!r->has_report) {
        /* Without a REPORT there is no duration: a failed sample, never a silent 0 ms. */
        if (!out->function_error) {
            out->function_error = true;
            pt_strlcpy(out->error_type, "Powertune.NoReportInLogTail", sizeof(out->error_type));
        }
        out->init_ms = -1;
        return;
    }
    const struct pt_lambda_report *rep = &r->report;
    out->duration_ms = rep->duration_ms;
    out->billed_ms = rep->billed_ms + rep->billed_restore_ms;
    /* The reference counts Init and Restore Duration in the performance figure. */
    if (rep->init_ms >= 0)
        out->init_ms = rep->init_ms + rep->restore_ms;
    else
        out->init_ms = rep->restore_ms > 0 ? rep->restore_ms : -1;
    out->cold_start = out->init_ms >= 0;
    out->max_memory_used_mb = rep->max_memory_used_mb;
    out->cpu_time_ms = 0; /* Lambda does not report it */
}

static int lambda_invoke_qualified(struct pt_lambda_target *t, const char *function,
                                   const char *qualifier, const char *payload, size_t len,
                                   struct pt_target_result *out, struct pt_error *err)
{
    struct pt_lambda_invoke_result r;
    int rc = pt_lambda_invoke(t->client, function, qualifier, payload, len, true, &r,
                              out->throttle_reason, err);
    if (rc)
        return rc;
    lambda_fill_result(&r, out);
    pt_lambda_invoke_result_free(&r);
    return 0;
}

static int lambda_invoke(void *ctx, int power, const char *payload, size_t len,
                         bool new_environment, struct pt_target_result *out, struct pt_error *err)
{
    (void)new_environment; /* Lambda cannot be asked for a cold start; onlyColdStarts uses aliases */
    struct pt_lambda_target *t = ctx;
    struct lambda_power *p = lambda_find(t, power);
    if (!p)
        return pt_error_set(err, PT_ESTATE, "power %d MB was not prepared", power);
    int irc = lambda_check_interrupt(t, err);
    if (irc)
        return irc;
    struct lambda_alias_slot *s = &p->slots[0];
    if (t->only_cold) {
        /* Each alias once; a throttled attempt gives its alias back for the retry. */
        s = NULL;
        pthread_mutex_lock(&t->lock);
        for (size_t i = 0; i < p->n_slots && !s; i++)
            if (!p->slots[i].used)
                s = &p->slots[i];
        if (s)
            s->used = true;
        pthread_mutex_unlock(&t->lock);
        if (!s)
            return pt_error_set(err, PT_ESTATE, "power %d MB: every RAM%d-<n> alias was invoked "
                                "already", power, power);
    }
    int rc = lambda_invoke_qualified(t, t->function, s->alias, payload, len, out, err);
    if (rc == PT_ETHROTTLED && t->only_cold) {
        pthread_mutex_lock(&t->lock);
        s->used = false;
        pthread_mutex_unlock(&t->lock);
    }
    return rc;
}

static int lambda_invoke_processor(void *ctx, const char *function, const char *payload,
                                   size_t len, struct pt_target_result *out, struct pt_error *err)
{
    struct pt_lambda_target *t = ctx;
    return lambda_invoke_qualified(t, function, NULL, payload, len, out, err);
}

static bool alias_in(const struct lambda_power *p, const char *name)
{
    for (size_t i = 0; i < p->n_slots; i++)
        if (strcmp(p->slots[i].alias, name) == 0)
            return true;
    return false;
}

/*
 * Deletes p's aliases, then each of their versions that is ours and that no other alias uses
 * (#124: a user's alias may point at the version PublishVersion handed back).
 */
static int lambda_cleanup_power(struct pt_lambda_target *t, struct lambda_power *p,
                                struct pt_error *err)
{
    int first = 0;
    struct pt_error e;
    for (size_t i = 0; i < p->n_slots; i++) {
        if (!p->slots[i].created)
            continue;
        /* An alias that existed before the run (a user's, or left by an interrupted run) is
         * pointed back, not deleted as the reference's Cleaner does: it is not ours. */
        int rc = p->slots[i].previous[0]
                     ? pt_lambda_update_alias(t->client, t->function, p->slots[i].alias,
                                              p->slots[i].previous, &e)
                     : pt_lambda_delete_alias(t->client, t->function, p->slots[i].alias, &e);
        if (rc && rc != PT_ENOTFOUND) {
            if (p->slots[i].previous[0])
                lambda_left(t, "alias %s (was on version %s)", p->slots[i].alias,
                            p->slots[i].previous);
            else
                lambda_left(t, "alias %s", p->slots[i].alias);
            if (!first)
                first = pt_error_set(err, rc, "%s", e.msg);
        }
        p->slots[i].created = false;
    }
    struct pt_lambda_alias *aliases = NULL;
    size_t n_aliases = 0;
    int rc = pt_lambda_list_aliases(t->client, t->function, &aliases, &n_aliases, &e);
    if (rc) {
        /* Without the list no version can be proven unused: keep them all. */
        for (size_t i = 0; i < p->n_slots; i++)
            if (version_is_ours(t, p->slots[i].version))
                lambda_left(t, "version %s", p->slots[i].version);
        if (!first)
            first = pt_error_set(err, rc, "versions kept: %s", e.msg);
        return first;
    }
    for (size_t i = 0; i < p->n_slots; i++) {
        const char *v = p->slots[i].version;
        bool keep = !version_is_ours(t, v);
        for (size_t k = 0; k < n_aliases && !keep; k++)
            keep = pt_lambda_alias_uses(&aliases[k], v) && !alias_in(p, aliases[k].name);
        for (size_t k = 0; k < i && !keep; k++)
            keep = strcmp(p->slots[k].version, v) == 0; /* deleted already */
        if (!keep) {
            rc = pt_lambda_delete_version(t->client, t->function, v, &e);
            if (rc && rc != PT_ENOTFOUND) {
                lambda_left(t, "version %s", v);
                if (!first)
                    first = pt_error_set(err, rc, "%s", e.msg);
            }
        }
    }
    free(aliases);
    return first;
}

static void lambda_forget(struct pt_lambda_target *t, struct lambda_power *p)
{
    free(p->slots);
    *p = t->powers[--t->n_powers];
}

static void lambda_finish_power(void *ctx, int power)
{
    struct pt_lambda_target *t = ctx;
    struct lambda_power *p = lambda_find(t, power);
    if (!p)
        return;
    struct pt_error e;
    if (lambda_cleanup_power(t, p, &e) && !t->cleanup_err.code)
        t->cleanup_err = e;
    lambda_forget(t, p);
}

static const struct pt_target_ops lambda_ops = {
    .prepare_power = lambda_prepare_power,
    .invoke = lambda_invoke,
    .invoke_processor = lambda_invoke_processor,
    .finish_power = lambda_finish_power,
};

int pt_lambda_target_create(struct pt_lambda_target **out,
                            const struct pt_lambda_target_options *o, struct pt_error *err)
{
    if (o->num < 1)
        return pt_error_set(err, PT_EUSAGE, "num must be at least 1");
    struct pt_lambda_target *t = calloc(1, sizeof(*t));
    if (!t)
        return pt_error_set(err, PT_ENOMEM, "out of memory for the Lambda target");
    int rc = 0;
    t->client = o->client;
    t->num = o->num;
    t->only_cold = o->only_cold_starts;
    t->wait_ms = o->update_wait_ms > 0 ? o->update_wait_ms : 300000;
    t->poll_ms = o->poll_ms > 0 ? o->poll_ms : 500;
    t->interrupted = o->interrupted;
    t->interrupted_arg = o->interrupted_arg;
    pthread_mutex_init(&t->lock, NULL);
    if (pt_strlcpy(t->function, o->function, sizeof(t->function)) >= sizeof(t->function)) {
        rc = pt_error_set(err, PT_EUSAGE, "function name too long");
        goto fail;
    }
    if ((rc = pt_lambda_get_configuration(t->client, t->function, "$LATEST", &t->original, err)))
        goto fail;
    if ((rc = pt_lambda_max_version(t->client, t->function, &t->max_version_before, err)))
        goto fail;
    /* An update still in progress (someone just deployed) would make the first update fail. */
    if ((rc = pt_lambda_wait_updated(t->client, t->function, t->poll_ms, t->wait_ms, err)))
        goto fail;
    *out = t;
    return 0;
fail:
    pthread_mutex_destroy(&t->lock);
    free(t);
    return rc;
}

const struct pt_lambda_function_config *pt_lambda_target_original(const struct pt_lambda_target *t)
{
    return &t->original;
}

/* $LATEST back to the original configuration, or to the optimum (and its alias). */
static int lambda_restore(struct pt_lambda_target *t, int optimize_power,
                          const char *optimize_alias, char *version_out, struct pt_error *err)
{
    int memory = optimize_power > 0 ? optimize_power : t->original.memory_mb;
    /* No PublishVersion here: restoring must not leave a version behind (the reference's does). */
    int rc = pt_lambda_update_configuration(t->client, t->function, memory,
                                            t->original.description, NULL, err);
    if (!rc)
        rc = pt_lambda_wait_updated(t->client, t->function, t->poll_ms, t->wait_ms, err);
    if (rc)
        /* The user has to restore it: the original values are known only to this run. */
        return pt_error_wrap(err, "%s: $LATEST not restored to MemorySize %d MB, Description "
                             "\"%.200s\"%s%s", t->function, memory, t->original.description,
                             t->left[0] ? "; left behind: " : "", t->left);
    if (optimize_power > 0 && optimize_alias && optimize_alias[0]) {
        char version[PT_LAMBDA_VERSION_MAX];
        rc = pt_lambda_publish_version(t->client, t->function, NULL, version, err);
        if (!rc)
            rc = pt_lambda_point_alias(t->client, t->function, optimize_alias, version, NULL,
                                       err);
        if (rc)
            return pt_error_wrap(err, "autoOptimizeAlias %s", optimize_alias);
        if (version_out)
            pt_strlcpy(version_out, version, PT_LAMBDA_VERSION_MAX);
    }
    return 0;
}

int pt_lambda_target_finish(struct pt_lambda_target *t, int optimize_power,
                            const char *optimize_alias, char *version_out, struct pt_error *err)
{
    struct pt_error e = {0};
    /* What finish_power did not get to (a failed prepare, an interrupted run). */
    while (t->n_powers) {
        if (lambda_cleanup_power(t, &t->powers[0], &e) && !t->cleanup_err.code)
            t->cleanup_err = e;
        lambda_forget(t, &t->powers[0]);
    }
    if (t->finished)
        return 0;
    t->finished = true;
    /* A run refused before its first update (payloadS3 unreadable, Ctrl-C) writes nothing. */
    int rc = t->changed || optimize_power > 0
                 ? lambda_restore(t, optimize_power, optimize_alias, version_out, err)
                 : 0;
    if (!rc && t->cleanup_err.code)
        rc = pt_error_set(err, t->cleanup_err.code, "cleaning up aliases and versions%s%s: %s",
                          t->left[0] ? ", left behind: " : "", t->left, t->cleanup_err.msg);
    return rc;
}

void pt_lambda_target_destroy(struct pt_lambda_target *t)
{
    if (!t)
        return;
    if (!t->finished || t->n_powers)
        pt_lambda_target_finish(t, 0, NULL, NULL, NULL);
    free(t->powers);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

void pt_lambda_target_as_target(struct pt_lambda_target *t, struct pt_target *out)
{
    out->ops = &lambda_ops;
    out->ctx = t;
    out->description = "Lambda API";
}
