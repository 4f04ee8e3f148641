#include "engine/function.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "base/fs.h"
#include "base/str.h"
#include "engine/limits.h"

/* Lambda's runtime identifiers, in the order the error message lists them. */
static const struct {
    const char *name;
    enum pt_runtime_family family;
} runtimes[] = {
    {"provided", PT_RUNTIME_PROVIDED},  {"provided.al2", PT_RUNTIME_PROVIDED},
    {"provided.al2023", PT_RUNTIME_PROVIDED},
    {"python3.8", PT_RUNTIME_PYTHON},   {"python3.9", PT_RUNTIME_PYTHON},
    {"python3.10", PT_RUNTIME_PYTHON},  {"python3.11", PT_RUNTIME_PYTHON},
    {"python3.12", PT_RUNTIME_PYTHON},  {"python3.13", PT_RUNTIME_PYTHON},
    {"python3.14", PT_RUNTIME_PYTHON},
    {"nodejs18.x", PT_RUNTIME_NODE},    {"nodejs20.x", PT_RUNTIME_NODE},
    {"nodejs22.x", PT_RUNTIME_NODE},    {"nodejs24.x", PT_RUNTIME_NODE},
};

#define RUNTIMES_ALLOWED                                                                       \
    "allowed provided, provided.al2, provided.al2023, python3.8 ... python3.14, nodejs18.x, "  \
    "nodejs20.x, nodejs22.x, nodejs24.x"

/* awsdocs configuration-envvars.md: keys Lambda sets itself and refuses from users. */
static const char *const reserved_keys[] = {
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The runtime a detected entry point implies, and the handler Lambda's console would set. */
struct entry_point {
    const char *file;
    const char *runtime;
    enum pt_runtime_family family;
    const char *handler; /* "" for provided: bootstrap ignores it */
};

static const struct entry_point entry_points[] = {
    {"bootstrap", "provided.al2023", PT_RUNTIME_PROVIDED, ""},
    {"lambda_function.py", "python3.12", PT_RUNTIME_PYTHON, "lambda_function.lambda_handler"},
    {"app.py", "python3.12", PT_RUNTIME_PYTHON, "app.lambda_handler"},
    {"index.mjs", "nodejs20.x", PT_RUNTIME_NODE, "index.handler"},
    {"index.js", "nodejs20.x", PT_RUNTIME_NODE, "index.handler"},
};

#define ENTRY_POINTS_LOOKED_FOR "bootstrap, lambda_function.py, app.py, index.mjs, index.js"

void pt_function_config_init(struct pt_function_config *c)
{
    memset(c, 0, sizeof(*c));
    c->family = PT_RUNTIME_UNSET;
    c->memory_mb = PT_MEMORY_DEFAULT_MB;
    c->timeout_s = PT_TIMEOUT_DEFAULT_S;
    c->ephemeral_mb = PT_EPHEMERAL_DEFAULT_MB;
    pt_strlcpy(c->architecture, "x86_64", sizeof(c->architecture));
    c->reserved_concurrency = -1;
}

static void env_free(struct pt_env_var *env, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(env[i].key);
        free(env[i].value);
    }
    free(env);
}

void pt_function_config_free(struct pt_function_config *c)
{
    if (!c)
        return;
    env_free(c->env, c->env_count);
    c->env = NULL;
    c->env_count = 0;
}

/*
 * dst is treated as uninitialised (its old variables are not freed), so the
 * usual `struct pt_function_config copy; pt_function_config_copy(&copy, ...)`
 * works. On failure dst holds src's scalars and no variables, so freeing it
 * is still safe.
 */
int pt_function_config_copy(struct pt_function_config *dst, const struct pt_function_config *src,
                            struct pt_error *err)
{
    struct pt_env_var *env = NULL;
    size_t done = 0;
    int rc = 0;

    if (dst == src)
        return 0;
    if (src->env_count) {
        env = calloc(src->env_count, sizeof(*env));
        if (!env) {
            rc = pt_error_set(err, PT_ENOMEM, "out of memory copying the function configuration");
            goto out;
        }
        for (; done < src->env_count; done++) {
            const char *k = src->env[done].key ? src->env[done].key : "";
            const char *v = src->env[done].value ? src->env[done].value : "";
            env[done].key = strdup(k);
            env[done].value = strdup(v);
            if (!env[done].key || !env[done].value) {
                done++; /* this slot holds a partial copy: free it too */
                rc = pt_error_set(err, PT_ENOMEM,
                                  "out of memory copying the function configuration");
                goto out;
            }
        }
    }
out:
    *dst = *src;
    if (rc) {
        env_free(env, done);
        dst->env = NULL;
        dst->env_count = 0;
    } else {
        dst->env = env;
    }
    return rc;
}

int pt_runtime_parse(const char *name, enum pt_runtime_family *family, struct pt_error *err)
{
    for (size_t i = 0; name && i < ARRAY_LEN(runtimes); i++) {
        if (strcmp(name, runtimes[i].name) == 0) {
            if (family)
                *family = runtimes[i].family;
            return 0;
        }
    }
    return pt_error_set(err, PT_EUSAGE, "Runtime \"%s\" is not supported: " RUNTIMES_ALLOWED,
                        name ? name : "");
}

const char *pt_runtime_family_name(enum pt_runtime_family f)
{
    switch (f) {
    case PT_RUNTIME_PROVIDED: return "provided";
    case PT_RUNTIME_PYTHON: return "python";
    case PT_RUNTIME_NODE: return "node";
    case PT_RUNTIME_UNSET: break;
    }
    return "unset";
}

static const char *const log_level_names[] = {
    [PT_LOG_LEVEL_TRACE] = "TRACE", [PT_LOG_LEVEL_DEBUG] = "DEBUG", [PT_LOG_LEVEL_INFO] = "INFO",
    [PT_LOG_LEVEL_WARN] = "WARN",   [PT_LOG_LEVEL_ERROR] = "ERROR", [PT_LOG_LEVEL_FATAL] = "FATAL",
};

int pt_log_format_parse(const char *name, enum pt_log_format *out, struct pt_error *err)
{
    if (name && strcasecmp(name, "Text") == 0)
        *out = PT_LOG_FORMAT_TEXT;
    else if (name && strcasecmp(name, "JSON") == 0)
        *out = PT_LOG_FORMAT_JSON;
    else
        return pt_error_set(err, PT_EUSAGE, "LogFormat \"%s\" is not supported: allowed Text, JSON",
                            name ? name : "");
    return 0;
}

/* Levels from lo to hi of log_level_names, named field in the refusal. */
static int log_level_parse(const char *field, const char *name, enum pt_log_level lo,
                           enum pt_log_level hi, enum pt_log_level *out, struct pt_error *err)
{
    char allowed[64] = "";
    for (enum pt_log_level l = lo; l <= hi; l++) {
        if (name && strcasecmp(name, log_level_names[l]) == 0) {
            *out = l;
            return 0;
        }
        size_t n = strlen(allowed);
        snprintf(allowed + n, sizeof(allowed) - n, "%s%s", l == lo ? "" : ", ",
                 log_level_names[l]);
    }
    return pt_error_set(err, PT_EUSAGE, "%s \"%s\" is not supported: allowed %s", field,
                        name ? name : "", allowed);
}

int pt_app_log_level_parse(const char *name, enum pt_log_level *out, struct pt_error *err)
{
    return log_level_parse("ApplicationLogLevel", name, PT_LOG_LEVEL_TRACE, PT_LOG_LEVEL_FATAL,
                           out, err);
}

int pt_system_log_level_parse(const char *name, enum pt_log_level *out, struct pt_error *err)
{
    return log_level_parse("SystemLogLevel", name, PT_LOG_LEVEL_DEBUG, PT_LOG_LEVEL_WARN, out,
                           err);
}

const char *pt_log_format_name(enum pt_log_format f)
{
    return f == PT_LOG_FORMAT_JSON ? "JSON" : "Text";
}

const char *pt_log_level_name(enum pt_log_level l)
{
    return l > PT_LOG_LEVEL_UNSET && l <= PT_LOG_LEVEL_FATAL ? log_level_names[l] : "";
}

static enum pt_log_level level_in_force(const struct pt_function_config *c, enum pt_log_level l)
{
    if (c->log_format != PT_LOG_FORMAT_JSON)
        return PT_LOG_LEVEL_UNSET;
    return l == PT_LOG_LEVEL_UNSET ? PT_LOG_LEVEL_INFO : l;
}

enum pt_log_level pt_function_app_log_level(const struct pt_function_config *c)
{
    return level_in_force(c, c->app_log_level);
}

enum pt_log_level pt_function_system_log_level(const struct pt_function_config *c)
{
    return level_in_force(c, c->system_log_level);
}

bool pt_env_key_is_reserved(const char *key)
{
    for (size_t i = 0; key && i < ARRAY_LEN(reserved_keys); i++)
        if (strcmp(key, reserved_keys[i]) == 0)
            return true;
    return false;
}

static bool is_alpha(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* Lambda's model: [a-zA-Z]([a-zA-Z0-9_])+, so at least two characters ("X" is refused). */
bool pt_env_key_valid(const char *key)
{
    if (!is_alpha(key[0]) || key[1] == '\0')
        return false;
    for (const char *p = key + 1; *p; p++)
        if (!is_alpha(*p) && !is_digit(*p) && *p != '_')
            return false;
    return true;
}

/* Reserved first: "_HANDLER" is also not a valid name, but "reserved" is the useful answer. */
static int env_key_check(const char *key, struct pt_error *err)
{
    if (pt_env_key_is_reserved(key))
        return pt_error_set(err, PT_EUSAGE,
                            "Environment: variable \"%s\" is reserved by Lambda and cannot be set",
                            key);
    if (!pt_env_key_valid(key))
        return pt_error_set(err, PT_EUSAGE,
                            "Environment: \"%s\" is not a valid variable name: allowed "
                            "[a-zA-Z][a-zA-Z0-9_]+ (a letter, then at least one letter, digit or "
                            "underscore)",
                            key);
    return 0;
}

static int env_size_check(size_t total, struct pt_error *err)
{
    if (total > PT_ENV_VARS_MAX_BYTES)
        return pt_error_set(err, PT_EUSAGE,
                            "Environment: variables take %zu bytes: allowed at most %d (as Lambda "
                            "measures them: the JSON object {\"KEY\":\"VALUE\",...})",
                            total, PT_ENV_VARS_MAX_BYTES);
    return 0;
}

/*
 * Lambda measures the variables as the JSON object it stores, not as keys plus values: its
 * refusal says "exceeded the 4KB limit. String measured: {"A":"1","B":"x\"y"}" (LocalStack
 * computes the same: compact json.dumps). So quotes, colons, commas and escapes count. Bytes
 * beyond ASCII count as their UTF-8 bytes (how Lambda counts them is not documented).
 */
static size_t env_json_len(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\' || *p == '\b' || *p == '\f' || *p == '\n' || *p == '\r' ||
            *p == '\t')
            n += 2;
        else if (*p < 0x20)
            n += 6; /* \u00XX */
        else
            n++;
    }
    return n;
}

/* "KEY":"VALUE" and the comma after it. */
static size_t env_var_size(const char *key, const char *value)
{
    return env_json_len(key) + env_json_len(value) + 6;
}

/* The JSON object's size with entry `replace` (or, when it is -1, a new one) set to key=value;
 * key NULL: the variables as they are. */
static size_t env_total_size(const struct pt_function_config *c, ssize_t replace, const char *key,
                             const char *value)
{
    size_t total = 1, n = 0; /* "{", then each entry with its comma, the last one's is "}" */
    for (size_t i = 0; i < c->env_count; i++) {
        if ((ssize_t)i == replace)
            continue;
        total += env_var_size(c->env[i].key, c->env[i].value);
        n++;
    }
    if (key) {
        total += env_var_size(key, value);
        n++;
    }
    return n ? total : 2;
}

static ssize_t env_find(const struct pt_function_config *c, const char *key, size_t keylen)
{
    for (size_t i = 0; i < c->env_count; i++) {
        const char *k = c->env[i].key ? c->env[i].key : "";
        if (strlen(k) == keylen && memcmp(k, key, keylen) == 0)
            return (ssize_t)i;
    }
    return -1;
}

/* Refuses what pt_function_validate would refuse, so a bad flag fails where it was given. */
int pt_function_set_env(struct pt_function_config *c, const char *key, const char *value,
                        struct pt_error *err)
{
    char *k = NULL, *v = NULL;
    int rc;

    if (!key)
        key = "";
    if (!value)
        value = "";
    rc = env_key_check(key, err);
    if (rc)
        goto out;
    ssize_t at = env_find(c, key, strlen(key));
    rc = env_size_check(env_total_size(c, at, key, value), err);
    if (rc)
        goto out;

    v = strdup(value);
    if (!v) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory setting variable \"%s\"", key);
        goto out;
    }
    if (at >= 0) {
        free(c->env[at].value);
        c->env[at].value = v;
        v = NULL;
        goto out;
    }
    k = strdup(key);
    struct pt_env_var *grown = k ? realloc(c->env, (c->env_count + 1) * sizeof(*grown)) : NULL;
    if (!grown) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory setting variable \"%s\"", key);
        goto out;
    }
    c->env = grown;
    c->env[c->env_count].key = k;
    c->env[c->env_count].value = v;
    c->env_count++;
    k = v = NULL;
out:
    free(k);
    free(v);
    return rc;
}

int pt_function_set_env_kv(struct pt_function_config *c, const char *kv, struct pt_error *err)
{
    char key[PT_ENV_VARS_MAX_BYTES + 1];
    const char *eq = kv ? strchr(kv, '=') : NULL;

    if (!eq)
        return pt_error_set(err, PT_EUSAGE,
                            "Environment: \"%s\" is not of the form KEY=VALUE", kv ? kv : "");
    size_t keylen = (size_t)(eq - kv);
    /* A key this long could never fit the size limit anyway ({"KEY":"VALUE"} alone). */
    if (keylen >= sizeof(key))
        return env_size_check(keylen + env_json_len(eq + 1) + 7, err);
    memcpy(key, kv, keylen);
    key[keylen] = '\0';
    return pt_function_set_env(c, key, eq + 1, err);
}

static bool name_char_ok(char ch)
{
    return is_alpha(ch) || is_digit(ch) || ch == '-' || ch == '_';
}

static int validate_name(const char *name, size_t size, struct pt_error *err)
{
    size_t n = strnlen(name, size);
    bool ok = n >= 1 && n <= PT_FUNCTION_NAME_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = name_char_ok(name[i]);
    if (!ok)
        return pt_error_set(err, PT_EUSAGE,
                            "FunctionName \"%.*s\" is not valid: allowed 1 to %d characters of "
                            "[A-Za-z0-9-_]",
                            (int)(n < size ? n : size), name, PT_FUNCTION_NAME_MAX);
    return 0;
}

/*
 * Lambda's model only demands [^\s]+; the module.function shape is what the
 * Python and Node runtime clients split on, and refusing empty segments also
 * keeps "../x.handler" from reaching outside the code directory.
 */
static bool handler_shape_ok(const char *h)
{
    const char *last_dot = strrchr(h, '.');
    if (!last_dot || last_dot == h || last_dot[1] == '\0')
        return false;
    char prev = '/';
    for (const char *p = h; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch <= ' ' || ch == 0x7f)
            return false;
        if ((ch == '.' || ch == '/') && (prev == '.' || prev == '/'))
            return false;
        prev = (char)ch;
    }
    return true;
}

static bool handler_chars_ok(const char *h)
{
    for (const unsigned char *p = (const unsigned char *)h; *p; p++)
        if (*p <= ' ' || *p == 0x7f)
            return false;
    return true;
}

static int validate_runtime_handler(const struct pt_function_config *c, struct pt_error *err)
{
    enum pt_runtime_family family = PT_RUNTIME_UNSET;
    size_t rlen = strnlen(c->runtime, sizeof(c->runtime));
    size_t hlen = strnlen(c->handler, sizeof(c->handler));

    if (rlen == 0)
        return pt_error_set(err, PT_EUSAGE, "Runtime is not set: " RUNTIMES_ALLOWED);
    if (rlen == sizeof(c->runtime))
        return pt_error_set(err, PT_EUSAGE, "Runtime \"%.*s...\" is not supported: " RUNTIMES_ALLOWED,
                            (int)sizeof(c->runtime), c->runtime);
    int rc = pt_runtime_parse(c->runtime, &family, err);
    if (rc)
        return rc;
    /* The engine launches by family: a stale family would start the wrong runtime. */
    if (family != c->family)
        return pt_error_set(err, PT_EUSAGE,
                            "Runtime \"%s\" belongs to the %s family, but the configuration says "
                            "%s: set it with pt_runtime_parse",
                            c->runtime, pt_runtime_family_name(family),
                            pt_runtime_family_name(c->family));
    if (hlen == sizeof(c->handler))
        return pt_error_set(err, PT_EUSAGE, "Handler is too long: allowed at most %d characters",
                            PT_HANDLER_MAX);
    return pt_function_check_handler(c->runtime, family, c->handler, err);
}

int pt_function_check_handler(const char *runtime, enum pt_runtime_family family,
                              const char *handler, struct pt_error *err)
{
    if (family == PT_RUNTIME_PROVIDED) {
        if (!handler_chars_ok(handler))
            return pt_error_set(err, PT_EUSAGE,
                                "Handler \"%s\" is not valid for %s: no whitespace allowed",
                                handler, runtime);
        return 0;
    }
    if (!handler_shape_ok(handler))
        return pt_error_set(err, PT_EUSAGE,
                            "Handler \"%s\" is not valid for %s: expected module.function",
                            handler, runtime);
    return 0;
}

static int validate_env(const struct pt_function_config *c, struct pt_error *err)
{
    if (c->env_count && !c->env)
        return pt_error_set(err, PT_EUSAGE, "Environment: %zu variables but no storage",
                            c->env_count);
    for (size_t i = 0; i < c->env_count; i++) {
        const char *key = c->env[i].key ? c->env[i].key : "";
        int rc = env_key_check(key, err);
        if (rc)
            return rc;
        if (env_find(c, key, strlen(key)) != (ssize_t)i)
            return pt_error_set(err, PT_EUSAGE, "Environment: variable \"%s\" is set twice",
                                key);
    }
    return env_size_check(env_total_size(c, -1, NULL, NULL), err);
}

/*
 * Lambda refuses a level with the Text format ("LogLevel is not supported
 * when LogFormat is set to \"Text\""): levels filter JSON records only.
 */
static int validate_logging(const struct pt_function_config *c, struct pt_error *err)
{
    if (c->log_format != PT_LOG_FORMAT_TEXT && c->log_format != PT_LOG_FORMAT_JSON)
        return pt_error_set(err, PT_EUSAGE, "LogFormat %d is not supported: allowed Text, JSON",
                            (int)c->log_format);
    if (c->app_log_level < PT_LOG_LEVEL_UNSET || c->app_log_level > PT_LOG_LEVEL_FATAL)
        return pt_error_set(err, PT_EUSAGE,
                            "ApplicationLogLevel %d is not supported: allowed TRACE, DEBUG, INFO, "
                            "WARN, ERROR, FATAL",
                            (int)c->app_log_level);
    if (c->system_log_level != PT_LOG_LEVEL_UNSET &&
        (c->system_log_level < PT_LOG_LEVEL_DEBUG || c->system_log_level > PT_LOG_LEVEL_WARN))
        return pt_error_set(err, PT_EUSAGE,
                            "SystemLogLevel %s is not supported: allowed DEBUG, INFO, WARN",
                            pt_log_level_name(c->system_log_level));
    if (c->log_format == PT_LOG_FORMAT_TEXT &&
        (c->app_log_level != PT_LOG_LEVEL_UNSET || c->system_log_level != PT_LOG_LEVEL_UNSET))
        return pt_error_set(err, PT_EUSAGE,
                            "%s %s is not supported when LogFormat is Text: set LogFormat JSON "
                            "or leave the level out",
                            c->app_log_level != PT_LOG_LEVEL_UNSET ? "ApplicationLogLevel"
                                                                  : "SystemLogLevel",
                            pt_log_level_name(c->app_log_level != PT_LOG_LEVEL_UNSET
                                                  ? c->app_log_level
                                                  : c->system_log_level));
    return 0;
}

int pt_function_validate(const struct pt_function_config *c, struct pt_error *err)
{
    int rc = validate_name(c->name, sizeof(c->name), err);
    if (rc)
        return rc;
    rc = validate_runtime_handler(c, err);
    if (rc)
        return rc;
    if (c->memory_mb < PT_MEMORY_MIN_MB || c->memory_mb > PT_MEMORY_MAX_MB)
        return pt_error_set(err, PT_EUSAGE,
                            "MemorySize %d is out of range: allowed %d to %d (MB, 1 MB steps)",
                            c->memory_mb, PT_MEMORY_MIN_MB, PT_MEMORY_MAX_MB);
    if (c->timeout_s < PT_TIMEOUT_MIN_S || c->timeout_s > PT_TIMEOUT_MAX_S)
        return pt_error_set(err, PT_EUSAGE,
                            "Timeout %d is out of range: allowed %d to %d (seconds)", c->timeout_s,
                            PT_TIMEOUT_MIN_S, PT_TIMEOUT_MAX_S);
    if (c->ephemeral_mb < PT_EPHEMERAL_MIN_MB || c->ephemeral_mb > PT_EPHEMERAL_MAX_MB)
        return pt_error_set(err, PT_EUSAGE,
                            "EphemeralStorage %d is out of range: allowed %d to %d (MB, 1 MB "
                            "steps)",
                            c->ephemeral_mb, PT_EPHEMERAL_MIN_MB, PT_EPHEMERAL_MAX_MB);
    size_t alen = strnlen(c->architecture, sizeof(c->architecture));
    if (alen == sizeof(c->architecture))
        return pt_error_set(err, PT_EUSAGE,
                            "Architecture \"%.*s\" is not supported: allowed x86_64, arm64",
                            (int)alen, c->architecture);
    rc = pt_function_check_architecture(c->architecture, err);
    if (rc)
        return rc;
    rc = validate_env(c, err);
    if (rc)
        return rc;
    if (c->reserved_concurrency < -1)
        return pt_error_set(err, PT_EUSAGE,
                            "ReservedConcurrentExecutions %d is out of range: allowed -1 (not "
                            "set) or 0 and more",
                            c->reserved_concurrency);
    return validate_logging(c, err);
}

int pt_function_check_name(const char *name, struct pt_error *err)
{
    return validate_name(name, strlen(name) + 1, err);
}

int pt_function_check_architecture(const char *arch, struct pt_error *err)
{
    if (strcmp(arch, "x86_64") != 0 && strcmp(arch, "arm64") != 0)
        return pt_error_set(err, PT_EUSAGE,
                            "Architecture \"%.64s\" is not supported: allowed x86_64, arm64",
                            arch);
    return 0;
}

/* Lambda function names allow [A-Za-z0-9-_]; anything else in a directory name becomes '-'. */
void pt_function_name_from_path(char *name, size_t size, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strlen(base);
    if (len > 4 && strcmp(base + len - 4, ".zip") == 0)
        len -= 4;
    size_t n = 0;
    for (; n < len && n + 1 < size && n < PT_FUNCTION_NAME_MAX; n++)
        name[n] = name_char_ok(base[n]) ? base[n] : '-';
    name[n] = '\0';
}

static bool dir_has_file(const char *dir, const char *file)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
        return false;
    return pt_path_is_file(path);
}

/* The module a handler names, as the runtime clients split it: python on the last '.', node on the first. */
static bool handler_module_is(const char *handler, const struct entry_point *ep)
{
    const char *dot = ep->family == PT_RUNTIME_NODE ? strchr(handler, '.') : strrchr(handler, '.');
    const char *want_dot = strchr(ep->handler, '.');
    if (!dot || !want_dot)
        return false;
    size_t n = (size_t)(dot - handler);
    return n == (size_t)(want_dot - ep->handler) && memcmp(handler, ep->handler, n) == 0;
}

/*
 * Explicit runtime: its name decides the family; without a handler, the
 * conventional one for that runtime, if its file is there.
 */
static int apply_runtime(struct pt_function_config *c, struct pt_error *err)
{
    enum pt_runtime_family family = PT_RUNTIME_UNSET;
    int rc = pt_runtime_parse(c->runtime, &family, err);
    if (rc)
        return rc;
    c->family = family;
    if (c->handler[0])
        return 0;
    for (size_t i = 0; i < ARRAY_LEN(entry_points); i++) {
        const struct entry_point *ep = &entry_points[i];
        if (ep->family == family && ep->handler[0] && dir_has_file(c->code_dir, ep->file)) {
            pt_strlcpy(c->handler, ep->handler, sizeof(c->handler));
            break;
        }
    }
    return 0;
}

/* No explicit runtime: exactly one entry point (after the handler, if given, narrows them). */
static int detect_runtime(struct pt_function_config *c, struct pt_error *err)
{
    const struct entry_point *found[ARRAY_LEN(entry_points)];
    size_t nfound = 0;

    for (size_t i = 0; i < ARRAY_LEN(entry_points); i++) {
        const struct entry_point *ep = &entry_points[i];
        if (!dir_has_file(c->code_dir, ep->file))
            continue;
        /* index.mjs and index.js are the same entry point: node picks the file itself. */
        if (nfound && found[nfound - 1]->family == ep->family &&
            strcmp(found[nfound - 1]->handler, ep->handler) == 0)
            continue;
        found[nfound++] = ep;
    }
    if (nfound == 0)
        return pt_error_set(err, PT_EUSAGE,
                            "FUNCTION %s: no entry point found: looked for " ENTRY_POINTS_LOOKED_FOR
                            "; set --runtime and --handler to run something else",
                            c->code_dir);

    const struct entry_point *pick = nfound == 1 ? found[0] : NULL;
    if (!pick && c->handler[0]) {
        size_t matches = 0;
        for (size_t i = 0; i < nfound; i++) {
            if (found[i]->handler[0] && handler_module_is(c->handler, found[i])) {
                pick = found[i];
                matches++;
            }
        }
        if (matches != 1)
            pick = NULL;
    }
    if (!pick) {
        char list[512];
        size_t len = 0;
        for (size_t i = 0; i < nfound && len < sizeof(list); i++)
            len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s -> %s%s%s",
                                    i ? ", " : "", found[i]->file, found[i]->runtime,
                                    found[i]->handler[0] ? " " : "", found[i]->handler);
        return pt_error_set(err, PT_EUSAGE,
                            "FUNCTION %s: several entry points found (%s): --runtime and "
                            "--handler decide which one runs",
                            c->code_dir, list);
    }
    pt_strlcpy(c->runtime, pick->runtime, sizeof(c->runtime));
    c->family = pick->family;
    if (!c->handler[0])
        pt_strlcpy(c->handler, pick->handler, sizeof(c->handler));
    return 0;
}

int pt_function_detect(struct pt_function_config *c, const char *code_dir, struct pt_error *err)
{
    char abs[PATH_MAX];

    if (!code_dir || !*code_dir)
        return pt_error_set(err, PT_EUSAGE, "FUNCTION: no directory given");
    if (!realpath(code_dir, abs)) {
        if (errno == ENOENT || errno == ENOTDIR)
            return pt_error_set(err, PT_EUSAGE, "FUNCTION %s: no such directory", code_dir);
        return pt_error_errno(err, errno == EACCES ? PT_EPERM : PT_ESYS, errno,
                              "FUNCTION %s: cannot resolve the path", code_dir);
    }
    if (!pt_path_is_dir(abs))
        return pt_error_set(err, PT_EUSAGE, "FUNCTION %s: not a directory", code_dir);
    if (pt_strlcpy(c->code_dir, abs, sizeof(c->code_dir)) >= sizeof(c->code_dir))
        return pt_error_set(err, PT_ELIMIT, "FUNCTION %s: path too long", code_dir);
    if (!c->name[0])
        pt_function_name_from_path(c->name, sizeof(c->name), abs);

    if (c->runtime[0])
        return apply_runtime(c, err);
    return detect_runtime(c, err);
}
