#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/str.h"
#include "cli/cli.h"
#include "engine/limits.h"
#include "engine/package.h"
#include "engine/template.h"

enum {
    FOPT_RUNTIME = CLI_OPT_FUNCTION_BASE,
    FOPT_HANDLER,
    FOPT_NAME,
    FOPT_MEMORY,
    FOPT_TIMEOUT,
    FOPT_EPHEMERAL,
    FOPT_ARCH,
    FOPT_RESERVED,
    FOPT_ENV,
    FOPT_LOG_FORMAT,
    FOPT_APP_LOG_LEVEL,
    FOPT_SYSTEM_LOG_LEVEL,
    EOPT_STATE_DIR = CLI_OPT_ENGINE_BASE,
    EOPT_PYTHON,
    EOPT_CGROUPS,
    EOPT_NO_BOOST,
    EOPT_NO_FREEZE,
    EOPT_BILLING,
    EOPT_REGION,
    EOPT_ACCOUNT_CONCURRENCY,
    EOPT_KEEPALIVE,
    EOPT_NO_SANDBOX,
};

const struct option cli_function_options[] = {
    {"runtime", required_argument, NULL, FOPT_RUNTIME},
    {"handler", required_argument, NULL, FOPT_HANDLER},
    {"name", required_argument, NULL, FOPT_NAME},
    {"memory", required_argument, NULL, FOPT_MEMORY},
    {"timeout", required_argument, NULL, FOPT_TIMEOUT},
    {"ephemeral-storage", required_argument, NULL, FOPT_EPHEMERAL},
    {"architecture", required_argument, NULL, FOPT_ARCH},
    {"reserved-concurrency", required_argument, NULL, FOPT_RESERVED},
    {"env", required_argument, NULL, FOPT_ENV},
    {"log-format", required_argument, NULL, FOPT_LOG_FORMAT},
    {"app-log-level", required_argument, NULL, FOPT_APP_LOG_LEVEL},
    {"system-log-level", required_argument, NULL, FOPT_SYSTEM_LOG_LEVEL},
    {NULL, 0, NULL, 0},
};

const struct option cli_engine_options[] = {
    {"state-dir", required_argument, NULL, EOPT_STATE_DIR},
    {"python", required_argument, NULL, EOPT_PYTHON},
    {"cgroups", required_argument, NULL, EOPT_CGROUPS},
    {"no-init-boost", no_argument, NULL, EOPT_NO_BOOST},
    {"no-freeze", no_argument, NULL, EOPT_NO_FREEZE},
    {"billing", required_argument, NULL, EOPT_BILLING},
    {"region", required_argument, NULL, EOPT_REGION},
    {"account-concurrency", required_argument, NULL, EOPT_ACCOUNT_CONCURRENCY},
    {"keepalive-ms", required_argument, NULL, EOPT_KEEPALIVE},
    {"no-sandbox", no_argument, NULL, EOPT_NO_SANDBOX},
    {NULL, 0, NULL, 0},
};

static size_t options_count(const struct option *o)
{
    size_t n = 0;
    while (o[n].name)
        n++;
    return n;
}

struct option *cli_options_merge(const struct option *own)
{
    size_t a = options_count(own), b = options_count(cli_function_options),
           c = options_count(cli_engine_options);
    struct option *all = calloc(a + b + c + 1, sizeof(*all));
    if (!all)
        return NULL;
    memcpy(all, own, a * sizeof(*all));
    memcpy(all + a, cli_function_options, b * sizeof(*all));
    memcpy(all + a + b, cli_engine_options, c * sizeof(*all));
    return all;
}

int cli_args_begin(struct cli_args *a, int argc, char **argv, const char *command,
                   const struct option *own, struct cli_function_opts *fo,
                   struct cli_engine_opts *eo, struct pt_error *err)
{
    a->argc = argc;
    a->argv = argv;
    a->command = command;
    a->fo = fo;
    a->eo = eo;
    a->options = fo || eo ? cli_options_merge(own) : NULL;
    if ((fo || eo) && !a->options)
        return pt_error_set(err, PT_ENOMEM, "out of memory");
    if (!a->options) {
        size_t n = options_count(own);
        a->options = calloc(n + 1, sizeof(*a->options));
        if (!a->options)
            return pt_error_set(err, PT_ENOMEM, "out of memory");
        memcpy(a->options, own, n * sizeof(*own));
    }
    /* 0, not 1: glibc's getopt then forgets a previous parse's place inside a short option
     * cluster; opterr 0: the refusals are ours, printed by main. */
    optind = 0;
    opterr = 0;
    return 0;
}

int cli_args_next(struct cli_args *a, int *opt, struct pt_error *err)
{
    for (;;) {
        int c = getopt_long(a->argc, a->argv, ":", a->options, NULL);
        if (c == -1)
            return 0;
        if (c == '?' || c == ':')
            return pt_getopt_refused(err, c, a->argc, a->argv, optind, optopt, a->command);
        int took = 0;
        if (a->fo)
            took = cli_function_flag(c, optarg, a->fo, err);
        if (!took && a->eo)
            took = cli_engine_flag(c, optarg, a->eo, err);
        if (took < 0)
            return took;
        if (!took) {
            *opt = c;
            return 1;
        }
    }
}

void cli_args_end(struct cli_args *a)
{
    free(a->options);
    a->options = NULL;
}

int cli_function_flag(int opt, const char *arg, struct cli_function_opts *o, struct pt_error *err)
{
    switch (opt) {
    case FOPT_RUNTIME: o->runtime = arg; return 1;
    case FOPT_HANDLER: o->handler = arg; return 1;
    case FOPT_NAME: o->name = arg; return 1;
    case FOPT_MEMORY: o->memory = arg; return 1;
    case FOPT_TIMEOUT: o->timeout = arg; return 1;
    case FOPT_EPHEMERAL: o->ephemeral = arg; return 1;
    case FOPT_ARCH: o->architecture = arg; return 1;
    case FOPT_RESERVED: o->reserved = arg; return 1;
    case FOPT_LOG_FORMAT: o->log_format = arg; return 1;
    case FOPT_APP_LOG_LEVEL: o->app_log_level = arg; return 1;
    case FOPT_SYSTEM_LOG_LEVEL: o->system_log_level = arg; return 1;
    case FOPT_ENV:
        if (o->env_count == sizeof(o->env) / sizeof(o->env[0]))
            return pt_error_set(err, PT_EUSAGE, "--env: at most %zu variables",
                                sizeof(o->env) / sizeof(o->env[0]));
        o->env[o->env_count++] = arg;
        return 1;
    default: return 0;
    }
}

int cli_engine_flag(int opt, const char *arg, struct cli_engine_opts *o, struct pt_error *err)
{
    long v;
    switch (opt) {
    case EOPT_STATE_DIR: o->opt.state_dir = arg; return 1;
    case EOPT_PYTHON: o->opt.python = arg; return 1;
    case EOPT_REGION: o->opt.region = arg; return 1;
    case EOPT_NO_BOOST: o->opt.no_init_boost = true; return 1;
    case EOPT_NO_FREEZE: o->opt.no_freeze = true; return 1;
    case EOPT_NO_SANDBOX: o->opt.no_sandbox = true; return 1;
    case EOPT_CGROUPS:
        if (strcmp(arg, "auto") == 0)
            o->opt.cgroups = PT_CGROUP_AUTO;
        else if (strcmp(arg, "v1") == 0)
            o->opt.cgroups = PT_CGROUP_V1;
        else if (strcmp(arg, "v2") == 0)
            o->opt.cgroups = PT_CGROUP_V2;
        else if (strcmp(arg, "none") == 0)
            o->opt.cgroups = PT_CGROUP_NONE;
        else
            return pt_error_set(err, PT_EUSAGE,
                                "--cgroups \"%s\" is not known: allowed auto, v1, v2, none", arg);
        return 1;
    case EOPT_BILLING:
        if (strcmp(arg, "2025") == 0)
            o->opt.billing = PT_BILLING_2025;
        else if (strcmp(arg, "legacy") == 0)
            o->opt.billing = PT_BILLING_LEGACY;
        else
            return pt_error_set(err, PT_EUSAGE,
                                "--billing \"%s\" is not known: allowed 2025, legacy", arg);
        return 1;
    case EOPT_ACCOUNT_CONCURRENCY:
        if (pt_parse_long(arg, 1, 1000000, &v) != 0)
            return pt_error_set(err, PT_EUSAGE,
                                "--account-concurrency \"%s\": allowed 1 to 1000000", arg);
        o->opt.account_concurrency = (int)v;
        return 1;
    case EOPT_KEEPALIVE:
        if (pt_parse_long(arg, 1, 86400000, &v) != 0)
            return pt_error_set(err, PT_EUSAGE,
                                "--keepalive-ms \"%s\": allowed 1 to 86400000 (ms)", arg);
        o->opt.keepalive_ms = (int)v;
        return 1;
    default: return 0;
    }
}

int cli_shared_flag(int opt, const char *arg, struct cli_function_opts *fo,
                    struct cli_engine_opts *eo, struct pt_error *err)
{
    int took = cli_function_flag(opt, arg, fo, err);
    return took ? took : cli_engine_flag(opt, arg, eo, err);
}

static int cli_int_flag(const char *flag, const char *field, const char *arg, long min, long max,
                        const char *unit, int *out, struct pt_error *err)
{
    long v;
    if (pt_parse_long(arg, min, max, &v) != 0)
        return pt_error_set(err, PT_EUSAGE, "%s \"%s\": %s must be a whole number: allowed %ld to %ld%s",
                            flag, arg, field, min, max, unit);
    *out = (int)v;
    return 0;
}

int cli_function_build(const char *path, const struct cli_function_opts *o,
                       struct pt_function_config *c, struct pt_error *err)
{
    pt_function_config_init(c);
    int rc = 0;
    char code_dir[PATH_MAX];
    /* A SAM/CloudFormation template (or a directory holding one) sets the configuration first;
     * the flags below override it, and detection fills what the template leaves out. */
    /* Code that must be put in place first (inline code, a .zip deployment package) goes
     * under the state directory. */
    char state[PATH_MAX];
    const char *package = NULL; /* FUNCTION, when it is a .zip unpacked into code_dir */
    if (pt_template_is_template(path)) {
        struct pt_template_code code;
        rc = pt_template_load_code(path, c, &code, err);
        if (!rc && (code.source || code.package[0]))
            rc = pt_state_dir_resolve(o->state_dir, state, sizeof(state), err);
        if (!rc && code.source)
            rc = pt_template_inline_write(&code, state, c->code_dir, sizeof(c->code_dir), err);
        if (!rc && code.package[0])
            rc = pt_package_unpack_file(code.package, state, c->code_dir, sizeof(c->code_dir),
                                        err);
        pt_template_code_free(&code);
        if (rc)
            return rc;
        pt_strlcpy(code_dir, c->code_dir, sizeof(code_dir));
        path = code_dir;
    } else if (pt_package_is_zip(path)) {
        if ((rc = pt_state_dir_resolve(o->state_dir, state, sizeof(state), err)) ||
            (rc = pt_package_unpack_file(path, state, code_dir, sizeof(code_dir), err)))
            return rc;
        package = path;
        pt_function_name_from_path(c->name, sizeof(c->name), package);
        path = code_dir;
    }
    if (o->runtime) {
        rc = pt_runtime_parse(o->runtime, &c->family, err);
        if (rc)
            return rc;
        pt_strlcpy(c->runtime, o->runtime, sizeof(c->runtime));
    }
    /* Empty, they would be ignored (detection fills an empty field), not refused as Lambda does. */
    if (o->handler && !o->handler[0])
        return pt_error_set(err, PT_EUSAGE, "--handler is empty: allowed module.function");
    if (o->name && !o->name[0])
        return pt_error_set(err, PT_EUSAGE, "--name is empty: allowed 1 to %d characters of "
                                            "[A-Za-z0-9-_]", PT_FUNCTION_NAME_MAX);
    if (o->handler) {
        if (strlen(o->handler) > PT_HANDLER_MAX)
            return pt_error_set(err, PT_EUSAGE, "--handler: at most %d characters", PT_HANDLER_MAX);
        pt_strlcpy(c->handler, o->handler, sizeof(c->handler));
    }
    if (o->name) {
        if (strlen(o->name) > PT_FUNCTION_NAME_MAX)
            return pt_error_set(err, PT_EUSAGE, "--name \"%s\": at most %d characters", o->name,
                                PT_FUNCTION_NAME_MAX);
        pt_strlcpy(c->name, o->name, sizeof(c->name));
    }
    rc = pt_function_detect(c, path, err);
    if (rc) {
        if (package)
            pt_error_wrap(err, "deployment package %s", package);
        return rc;
    }
    /* Lambda's ranges, so that the message names the flag and what Lambda allows (a template's
     * values are refused by the loader, at their file:line:column). */
    if (o->memory && (rc = cli_int_flag("--memory", "MemorySize", o->memory, PT_MEMORY_MIN_MB,
                                        PT_MEMORY_MAX_MB, " (MB)", &c->memory_mb, err)))
        return rc;
    if (o->timeout && (rc = cli_int_flag("--timeout", "Timeout", o->timeout, PT_TIMEOUT_MIN_S,
                                         PT_TIMEOUT_MAX_S, " (seconds)", &c->timeout_s, err)))
        return rc;
    if (o->ephemeral && (rc = cli_int_flag("--ephemeral-storage", "EphemeralStorage",
                                           o->ephemeral, PT_EPHEMERAL_MIN_MB, PT_EPHEMERAL_MAX_MB,
                                           " (MB)", &c->ephemeral_mb, err)))
        return rc;
    if (o->reserved && (rc = cli_int_flag("--reserved-concurrency", "ReservedConcurrentExecutions",
                                          o->reserved, 0, 1000000, "", &c->reserved_concurrency,
                                          err)))
        return rc;
    if (o->architecture) {
        if (strlen(o->architecture) >= sizeof(c->architecture))
            return pt_error_set(err, PT_EUSAGE,
                                "--architecture \"%s\" is not known: allowed x86_64, arm64",
                                o->architecture);
        pt_strlcpy(c->architecture, o->architecture, sizeof(c->architecture));
    }
    if (o->log_format && (rc = pt_log_format_parse(o->log_format, &c->log_format, err)))
        return rc;
    if (o->app_log_level && (rc = pt_app_log_level_parse(o->app_log_level, &c->app_log_level, err)))
        return rc;
    if (o->system_log_level &&
        (rc = pt_system_log_level_parse(o->system_log_level, &c->system_log_level, err)))
        return rc;
    for (size_t i = 0; i < o->env_count; i++) {
        rc = pt_function_set_env_kv(c, o->env[i], err);
        if (rc)
            return rc;
    }
    return pt_function_validate(c, err);
}

int cli_payload_read(const char *json, const char *file, char **out, size_t *len,
                     struct pt_error *err)
{
    struct pt_buf b;
    pt_buf_init(&b, PT_INVOKE_REQUEST_MAX);
    int rc = 0;
    if (json && file)
        return pt_error_set(err, PT_EUSAGE, "--payload and --payload-file: give one, not both");
    if (file) {
        rc = pt_file_read(file, PT_INVOKE_REQUEST_MAX, &b, err);
        if (rc == PT_ELIMIT)
            rc = pt_error_set(err, PT_EUSAGE,
                              "--payload-file %s: larger than the 6 MB (6291456 bytes) Invoke "
                              "limit",
                              file);
        else if (rc)
            rc = pt_error_set(err, PT_EUSAGE, "--payload-file %s: %s", file, err->msg);
    } else {
        rc = pt_buf_append_str(&b, json ? json : "{}", err);
        if (rc == PT_ELIMIT)
            rc = pt_error_set(err, PT_EUSAGE,
                              "--payload: larger than the 6 MB (6291456 bytes) Invoke limit");
    }
    if (rc) {
        pt_buf_free(&b);
        return rc;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(b.data ? b.data : "", b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!doc) {
        rc = pt_error_set(err, PT_EUSAGE, "%s is not valid JSON: %s (line %d, column %d)",
                          file ? "--payload-file" : "--payload", jerr.text, jerr.line,
                          jerr.column);
        pt_buf_free(&b);
        return rc;
    }
    json_decref(doc);
    *out = pt_buf_steal(&b, len);
    return 0;
}

int cli_output_check(const char *flag, const char *path, const struct cli_file_use *kept,
                     size_t n, struct pt_error *err)
{
    if (pt_path_check_writable(path, err))
        return pt_error_wrap(err, "%s", flag);
    for (size_t i = 0; i < n; i++)
        if (kept[i].path && pt_path_same_file(path, kept[i].path))
            return pt_error_set(err, PT_EUSAGE,
                                "%s %s: the same file as %s %s, which writing it would destroy; "
                                "allowed another file",
                                flag, path, kept[i].flag, kept[i].path);
    return 0;
}

int cli_function_operand(int argc, char **argv, const char **function, struct pt_error *err)
{
    if (optind != argc - 1)
        return pt_error_set(err, PT_EUSAGE, optind >= argc
                                                ? "missing FUNCTION (a code directory)"
                                                : "exactly one FUNCTION expected, got more");
    *function = argv[optind];
    return 0;
}

void cli_notice(void *arg, const char *line)
{
    (void)arg;
    fprintf(stderr, "%s\n", line);
}

void cli_engine_print_notes(struct pt_engine *e)
{
    if (pt_engine_degraded(e))
        fprintf(stderr, "note: degraded emulation: %s\n", pt_engine_describe(e));
    if (pt_engine_sandbox_note(e))
        fprintf(stderr, "note: %s\n", pt_engine_sandbox_note(e));
}

/*
 * Each environment holds about a dozen descriptors (and each serve connection one): under the
 * usual soft limit of 1024 (kept low for select(), which nothing here uses), about 60
 * concurrent cold starts failed with "Too many open files" (serve, tune --parallel). The soft
 * limit goes up to the hard one; runtimes still get Lambda's 1024 in their own processes (env.c).
 */
static void cli_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int cli_engine_start(struct cli_ctx *ctx, struct cli_engine_opts *eo, struct pt_engine **out,
                     struct pt_error *err)
{
    cli_raise_nofile();
    eo->opt.notice = cli_notice;
    int rc = pt_engine_create(out, &eo->opt, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&ctx->lock);
    ctx->engine = *out;
    if (ctx->interrupted)
        pt_engine_shutdown(*out);
    pthread_mutex_unlock(&ctx->lock);
    return 0;
}

void cli_engine_stop(struct cli_ctx *ctx, struct pt_engine *e)
{
    pthread_mutex_lock(&ctx->lock);
    ctx->engine = NULL;
    pthread_mutex_unlock(&ctx->lock);
    pt_engine_destroy(e);
}
