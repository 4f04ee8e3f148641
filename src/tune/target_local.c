#include "tune/target_local.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"

#define LOCAL_PROCESSORS_MAX 2

struct local_processor {
    char function[PT_TUNE_FUNCTION_MAX];
    struct pt_function *fn;
};

/* One prepared power. Several at once for --adaptive's rounds; the list only changes in
 * prepare/finish, which the runner calls while no invocation is running. */
struct local_power {
    int power;
    struct pt_function *fn;
};

struct pt_local_target {
    struct pt_engine *engine;
    struct pt_function_config base;
    struct local_power *prepared;
    size_t n_prepared, cap_prepared;
    struct local_processor processors[LOCAL_PROCESSORS_MAX];
    size_t n_processors;
};

static void local_copy_result(const struct pt_invoke_result *r, struct pt_target_result *out)
{
    out->function_error = r->function_error;
    pt_strlcpy(out->error_type, r->error_type, sizeof(out->error_type));
    out->payload = r->payload;
    out->payload_len = r->payload_len;
    out->duration_ms = r->duration_ms;
    out->billed_ms = (double)r->billed_ms;
    out->init_ms = r->init_duration_ms;
    out->max_memory_used_mb = r->max_memory_used_mb;
    out->cpu_time_ms = r->cpu_time_ms;
    out->cold_start = r->cold_start;
    out->degraded = r->degraded;
}

static int local_invoke_fn(struct pt_engine *e, struct pt_function *fn, const char *payload,
                           size_t len, bool cold, struct pt_target_result *out,
                           struct pt_error *err)
{
    struct pt_invoke_request req = {.payload = payload, .payload_len = len, .new_environment = cold};
    struct pt_invoke_result res;
    int rc = pt_engine_invoke(e, fn, &req, &res, err);
    if (rc == PT_ETHROTTLED)
        pt_strlcpy(out->throttle_reason, res.throttle_reason, sizeof(out->throttle_reason));
    if (rc)
        return rc;
    local_copy_result(&res, out); /* takes the payload */
    return 0;
}

static struct local_power *local_find(struct pt_local_target *t, int power)
{
    for (size_t i = 0; i < t->n_prepared; i++)
        if (t->prepared[i].power == power)
            return &t->prepared[i];
    return NULL;
}

static int local_prepare_power(void *ctx, int power, struct pt_error *err)
{
    struct pt_local_target *t = ctx;
    if (local_find(t, power))
        return pt_error_set(err, PT_ESTATE, "power %d MB is already prepared", power);
    if (t->n_prepared == t->cap_prepared) {
        size_t cap = t->cap_prepared ? t->cap_prepared * 2 : 4;
        struct local_power *v = realloc(t->prepared, cap * sizeof(*v));
        if (!v)
            return pt_error_set(err, PT_ENOMEM, "out of memory for %zu powers", cap);
        t->prepared = v;
        t->cap_prepared = cap;
    }
    struct pt_function *fn = NULL;
    struct pt_function_config cfg;
    pt_function_config_init(&cfg);
    int rc = pt_function_config_copy(&cfg, &t->base, err);
    if (!rc) {
        cfg.memory_mb = power;
        rc = pt_engine_function_add(t->engine, &cfg, &fn, err);
    }
    pt_function_config_free(&cfg);
    if (!rc)
        t->prepared[t->n_prepared++] = (struct local_power){.power = power, .fn = fn};
    return rc;
}

static int local_invoke(void *ctx, int power, const char *payload, size_t len,
                        bool new_environment, struct pt_target_result *out, struct pt_error *err)
{
    struct pt_local_target *t = ctx;
    struct local_power *p = local_find(t, power);
    if (!p)
        return pt_error_set(err, PT_ESTATE, "power %d MB was not prepared", power);
    return local_invoke_fn(t->engine, p->fn, payload, len, new_environment, out, err);
}

static int local_invoke_processor(void *ctx, const char *function, const char *payload,
                                  size_t len, struct pt_target_result *out, struct pt_error *err)
{
    struct pt_local_target *t = ctx;
    for (size_t i = 0; i < t->n_processors; i++)
        if (strcmp(t->processors[i].function, function) == 0)
            return local_invoke_fn(t->engine, t->processors[i].fn, payload, len, false, out, err);
    return pt_error_set(err, PT_ENOTFOUND, "processor %s was not registered", function);
}

static void local_finish_power(void *ctx, int power)
{
    struct pt_local_target *t = ctx;
    struct local_power *p = local_find(t, power);
    if (p) {
        pt_engine_function_remove(t->engine, p->fn);
        *p = t->prepared[--t->n_prepared];
    }
}

static const struct pt_target_ops local_ops = {
    .prepare_power = local_prepare_power,
    .invoke = local_invoke,
    .invoke_processor = local_invoke_processor,
    .finish_power = local_finish_power,
};

int pt_local_target_create(struct pt_local_target **out, struct pt_engine *engine,
                           const struct pt_function_config *base, struct pt_error *err)
{
    struct pt_local_target *t = calloc(1, sizeof(*t));
    if (!t)
        return pt_error_set(err, PT_ENOMEM, "out of memory for the local target");
    t->engine = engine;
    pt_function_config_init(&t->base);
    int rc = pt_function_config_copy(&t->base, base, err);
    if (rc) {
        pt_function_config_free(&t->base);
        free(t);
        return rc;
    }
    *out = t;
    return 0;
}

int pt_local_target_add_processor(struct pt_local_target *t, const char *function,
                                  const struct pt_function_config *cfg, struct pt_error *err)
{
    if (t->n_processors == LOCAL_PROCESSORS_MAX)
        return pt_error_set(err, PT_ELIMIT, "at most %d processors", LOCAL_PROCESSORS_MAX);
    struct local_processor *p = &t->processors[t->n_processors];
    int rc = pt_engine_function_add(t->engine, cfg, &p->fn, err);
    if (rc)
        return rc;
    pt_strlcpy(p->function, function, sizeof(p->function));
    t->n_processors++;
    return 0;
}

void pt_local_target_destroy(struct pt_local_target *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_prepared; i++)
        pt_engine_function_remove(t->engine, t->prepared[i].fn);
    free(t->prepared);
    for (size_t i = 0; i < t->n_processors; i++)
        pt_engine_function_remove(t->engine, t->processors[i].fn);
    pt_function_config_free(&t->base);
    free(t);
}

void pt_local_target_as_target(struct pt_local_target *t, struct pt_target *out)
{
    out->ops = &local_ops;
    out->ctx = t;
    out->description = "local engine";
}
