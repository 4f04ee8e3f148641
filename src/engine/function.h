/*
 * function.h - a function: code plus configuration, validated.
 *
 * A configuration is built from defaults, then from what the code directory
 * reveals (pt_function_detect: `bootstrap` -> provided; `lambda_function.py`
 * -> python, lambda_function.lambda_handler; `app.py` -> app.lambda_handler),
 * then from explicit settings (CLI flags, a template, the API). It must pass
 * pt_function_validate before anything runs: every out-of-range or unknown
 * value is refused with PT_EUSAGE and a message naming the field, the value
 * and what is allowed, e.g.
 *   "MemorySize 64 is out of range: allowed 128 to 10240 (MB, 1 MB steps)".
 */
#ifndef PT_ENGINE_FUNCTION_H
#define PT_ENGINE_FUNCTION_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

enum pt_runtime_family {
    PT_RUNTIME_UNSET = 0,
    PT_RUNTIME_PROVIDED, /* provided, provided.al2, provided.al2023: <code>/bootstrap */
    PT_RUNTIME_PYTHON,   /* python3.8 .. python3.14: runtimes/python on the configured interpreter */
    PT_RUNTIME_NODE,     /* nodejs18.x, nodejs20.x, nodejs22.x, nodejs24.x: runtimes/node */
};

#define PT_FUNCTION_NAME_MAX 64
#define PT_HANDLER_MAX 128
#define PT_RUNTIME_NAME_MAX 32
#define PT_DESCRIPTION_MAX 256

/* LoggingConfig.LogFormat: Text (Lambda's default) or JSON records for the platform lines. */
enum pt_log_format {
    PT_LOG_FORMAT_TEXT = 0,
    PT_LOG_FORMAT_JSON,
};

/* ApplicationLogLevel takes all six; SystemLogLevel only DEBUG, INFO, WARN. */
enum pt_log_level {
    PT_LOG_LEVEL_UNSET = 0, /* INFO under JSON, nothing under Text */
    PT_LOG_LEVEL_TRACE,
    PT_LOG_LEVEL_DEBUG,
    PT_LOG_LEVEL_INFO,
    PT_LOG_LEVEL_WARN,
    PT_LOG_LEVEL_ERROR,
    PT_LOG_LEVEL_FATAL,
};

struct pt_env_var {
    char *key;
    char *value;
};

struct pt_function_config {
    char name[PT_FUNCTION_NAME_MAX + 1];
    char code_dir[PATH_MAX]; /* absolute */
    char runtime[PT_RUNTIME_NAME_MAX + 1];
    enum pt_runtime_family family;
    char handler[PT_HANDLER_MAX + 1];
    int memory_mb;
    int timeout_s;
    int ephemeral_mb;
    char architecture[8]; /* "x86_64" or "arm64": a pricing label */
    struct pt_env_var *env;
    size_t env_count;
    int reserved_concurrency; /* -1 = not set */
    char description[PT_DESCRIPTION_MAX + 1];
    enum pt_log_format log_format;
    enum pt_log_level app_log_level;    /* only with JSON */
    enum pt_log_level system_log_level; /* only with JSON */
};

/* Lambda's defaults: 128 MB, 3 s, 512 MB /tmp, x86_64, no variables. */
void pt_function_config_init(struct pt_function_config *c);
void pt_function_config_free(struct pt_function_config *c);
int pt_function_config_copy(struct pt_function_config *dst, const struct pt_function_config *src,
                            struct pt_error *err);

/*
 * Looks at code_dir (must exist): makes it absolute, derives the name from
 * its base name (characters outside [A-Za-z0-9-_] become '-') unless a name
 * is set, and fills runtime/handler from the single obvious entry point
 * unless already set. Several candidates, or none, without an explicit
 * runtime: PT_EUSAGE naming what was found and the flags that decide.
 */
int pt_function_detect(struct pt_function_config *c, const char *code_dir, struct pt_error *err);
/* A function name from a path's base name (a ".zip" suffix dropped, characters outside
 * [A-Za-z0-9-_] made '-', at most PT_FUNCTION_NAME_MAX). */
void pt_function_name_from_path(char *name, size_t size, const char *path);

/* Parses "runtime" names; unknown names: PT_EUSAGE listing the accepted ones. */
int pt_runtime_parse(const char *name, enum pt_runtime_family *family, struct pt_error *err);
const char *pt_runtime_family_name(enum pt_runtime_family f);

/*
 * LoggingConfig values, case-insensitive ("json", "JSON"). field names the
 * setting in the message, e.g. "SystemLogLevel \"TRACE\" is not supported:
 * allowed DEBUG, INFO, WARN".
 */
int pt_log_format_parse(const char *name, enum pt_log_format *out, struct pt_error *err);
int pt_app_log_level_parse(const char *name, enum pt_log_level *out, struct pt_error *err);
int pt_system_log_level_parse(const char *name, enum pt_log_level *out, struct pt_error *err);
const char *pt_log_format_name(enum pt_log_format f); /* "Text", "JSON" */
const char *pt_log_level_name(enum pt_log_level l);   /* "INFO", ...; "" when unset */
/* The level in force: the configured one, INFO when unset under JSON, UNSET under Text. */
enum pt_log_level pt_function_app_log_level(const struct pt_function_config *c);
enum pt_log_level pt_function_system_log_level(const struct pt_function_config *c);

/* Adds or replaces one variable from "KEY=VALUE" (CLI form). */
int pt_function_set_env_kv(struct pt_function_config *c, const char *kv, struct pt_error *err);
int pt_function_set_env(struct pt_function_config *c, const char *key, const char *value,
                        struct pt_error *err);

/*
 * Every rule: name pattern and length, runtime known, handler non-empty for
 * python/node (and of the form module.function), MemorySize 128..10240,
 * Timeout 1..900, EphemeralStorage 512..10240, architecture x86_64|arm64,
 * variable names [a-zA-Z][a-zA-Z0-9_]*, none of Lambda's reserved keys,
 * total size of keys and values <= 4 KB, reserved concurrency >= -1, log
 * levels only with LogFormat JSON (Lambda refuses a level with Text) and a
 * SystemLogLevel of DEBUG, INFO or WARN.
 */
int pt_function_validate(const struct pt_function_config *c, struct pt_error *err);

/* Some of those rules alone, for callers that can say where the value is written (templates). */
int pt_function_check_name(const char *name, struct pt_error *err);
int pt_function_check_architecture(const char *arch, struct pt_error *err);
int pt_function_check_handler(const char *runtime, enum pt_runtime_family family,
                              const char *handler, struct pt_error *err);

/* Lambda's reserved environment keys (AWS_REGION, _HANDLER, ...): users may not set them. */
bool pt_env_key_is_reserved(const char *key);
/* Lambda's pattern for a variable's name: [a-zA-Z]([a-zA-Z0-9_])+ */
bool pt_env_key_valid(const char *key);

#endif
