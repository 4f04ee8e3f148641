/*
 * fuzz_api_conf - api_conf_apply (src/api/registry.c), the validator of CreateFunction and
 * UpdateFunctionConfiguration bodies (Runtime, Handler, Role, Description, MemorySize, Timeout,
 * EphemeralStorage, Environment, Architectures, TracingConfig, LoggingConfig, SnapStart), on
 * arbitrary bytes parsed as control.c parses a request body (json_loadb, an object).
 *
 * No server and no engine: the configuration is applied to a fresh $LATEST as CreateFunction
 * does, then checked by pt_function_validate as the handlers do. What must hold:
 *   - apply returns 0 or PT_EUSAGE, and a refusal names its exception and has a message;
 *   - applying the same body again to what it made (an UpdateFunctionConfiguration repeating
 *     itself) succeeds and changes nothing;
 *   - a configuration CreateFunction would accept survives the way to disk and back
 *     (api_conf_json's DISK view applied to a fresh configuration, as registry.c reloads it)
 *     with the same values.
 * The body is copied into a buffer of exactly its size (json_loadb takes a length), so
 * AddressSanitizer catches a read past it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "base/str.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const struct api_conf *a, const struct api_conf *b)
{
    fprintf(stderr, "fuzz_api_conf: %s\n", what);
    fprintf(stderr, "  a: runtime=%s handler=%s mem=%d timeout=%d eph=%d arch=%s env=%zu "
                    "log=%s/%s/%s\n",
            a->cfg.runtime, a->cfg.handler, a->cfg.memory_mb, a->cfg.timeout_s,
            a->cfg.ephemeral_mb, a->cfg.architecture, a->cfg.env_count, a->log_format,
            a->app_log_level, a->sys_log_level);
    if (b)
        fprintf(stderr, "  b: runtime=%s handler=%s mem=%d timeout=%d eph=%d arch=%s env=%zu "
                        "log=%s/%s/%s\n",
                b->cfg.runtime, b->cfg.handler, b->cfg.memory_mb, b->cfg.timeout_s,
                b->cfg.ephemeral_mb, b->cfg.architecture, b->cfg.env_count, b->log_format,
                b->app_log_level, b->sys_log_level);
    abort();
}

static const char *env_get(const struct pt_function_config *c, const char *key)
{
    for (size_t i = 0; i < c->env_count; i++)
        if (strcmp(c->env[i].key, key) == 0)
            return c->env[i].value;
    return NULL;
}

/* The values a function runs with; `exact` also compares what only the API shows. */
static bool same(const struct api_conf *a, const struct api_conf *b, bool exact)
{
    const struct pt_function_config *x = &a->cfg, *y = &b->cfg;
    if (strcmp(x->runtime, y->runtime) || x->family != y->family ||
        strcmp(x->handler, y->handler) || x->memory_mb != y->memory_mb ||
        x->timeout_s != y->timeout_s || x->ephemeral_mb != y->ephemeral_mb ||
        strcmp(x->architecture, y->architecture) || strcmp(x->description, y->description) ||
        x->log_format != y->log_format ||
        pt_function_app_log_level(x) != pt_function_app_log_level(y) ||
        pt_function_system_log_level(x) != pt_function_system_log_level(y) ||
        x->env_count != y->env_count || strcmp(a->role, b->role) ||
        strcmp(a->tracing_mode, b->tracing_mode) || strcmp(a->log_format, b->log_format) ||
        strcmp(a->snap_start, b->snap_start))
        return false;
    if (exact && (x->app_log_level != y->app_log_level ||
                  x->system_log_level != y->system_log_level ||
                  strcmp(a->log_group, b->log_group)))
        return false;
    for (size_t i = 0; i < x->env_count; i++) {
        const char *v = env_get(y, x->env[i].key);
        if (!v || strcmp(v, x->env[i].value) != 0)
            return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_copy(data, size);
    if (!text)
        return 0;
    json_error_t jerr;
    json_t *body = json_loadb(text, size, 0, &jerr);
    free(text);
    if (!body)
        return 0;
    if (!json_is_object(body)) {
        json_decref(body);
        return 0;
    }
    struct api_conf c, again, back;
    api_conf_init(&c);
    api_conf_init(&again);
    api_conf_init(&back);
    pt_strlcpy(c.cfg.name, "fuzz-fn", sizeof(c.cfg.name));
    const char *etype = NULL;
    struct pt_error err = {0};
    int rc = api_conf_apply(&c, body, &etype, &err);
    if (rc != 0 && (rc != PT_EUSAGE || !etype || !err.msg[0]))
        fail("a refusal without its exception or message", &c, NULL);
    if (rc == 0) {
        /* UpdateFunctionConfiguration with the same body: nothing new, nothing refused. */
        struct pt_error err2 = {0};
        if (api_conf_copy(&again, &c, &err2) != 0)
            abort();
        etype = NULL;
        if (api_conf_apply(&again, body, &etype, &err2) != 0)
            fail(err2.msg, &c, &again);
        if (!same(&c, &again, true))
            fail("applying the same body twice changed the configuration", &c, &again);
    }
    /* What CreateFunction accepts (control.c): a runtime, a handler unless provided, valid. */
    bool created = rc == 0 && c.cfg.runtime[0] &&
                   (c.cfg.family == PT_RUNTIME_PROVIDED || c.cfg.handler[0]) &&
                   pt_function_validate(&c.cfg, &err) == 0;
    if (created) {
        static struct pt_api api;
        static struct api_function f;
        if (!api.account[0])
            fuzz_api_ids(&api);
        json_t *disk = api_conf_json(&api, &f, &c, API_VIEW_DISK);
        /* Through text, as function.json is. */
        char *saved = disk ? json_dumps(disk, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
        json_decref(disk);
        if (!saved)
            abort();
        json_t *loaded = json_loads(saved, 0, &jerr);
        free(saved);
        if (!loaded)
            fail(jerr.text, &c, NULL);
        pt_strlcpy(back.cfg.name, c.cfg.name, sizeof(back.cfg.name));
        struct pt_error err3 = {0};
        etype = NULL;
        if (api_conf_apply(&back, loaded, &etype, &err3) != 0)
            fail(err3.msg, &c, &back);
        json_decref(loaded);
        if (pt_function_validate(&back.cfg, &err3) != 0)
            fail(err3.msg, &c, &back);
        if (!same(&c, &back, false))
            fail("the configuration changed on its way to disk and back", &c, &back);
        json_t *shown = api_conf_json(&api, &f, &c, API_VIEW_QUALIFIED);
        if (!shown)
            abort();
        json_decref(shown);
    }
    pt_function_config_free(&c.cfg);
    pt_function_config_free(&again.cfg);
    pt_function_config_free(&back.cfg);
    json_decref(body);
    return 0;
}
