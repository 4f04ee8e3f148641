/*
 * cmd_invoke.c - `powertune invoke FUNCTION`: Lambda's Invoke against the local engine.
 *
 * Prints each response on stdout and the invocation's log (START ... REPORT)
 * on stderr, or with --json one object per invocation per line. --count runs
 * several invocations (warm after the first, unless --cold); --parallel runs
 * them from several threads at once, each getting its own environment.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "cli/cli.h"

enum {
    OPT_PAYLOAD = CLI_OPT_COMMAND_BASE,
    OPT_PAYLOAD_FILE,
    OPT_COUNT,
    OPT_COLD,
    OPT_JSON,
    OPT_PARALLEL,
    OPT_QUIET,
    OPT_HELP,
};

static const struct option invoke_options[] = {
    {"payload", required_argument, NULL, OPT_PAYLOAD},
    {"payload-file", required_argument, NULL, OPT_PAYLOAD_FILE},
    {"count", required_argument, NULL, OPT_COUNT},
    {"cold", no_argument, NULL, OPT_COLD},
    {"json", no_argument, NULL, OPT_JSON},
    {"parallel", required_argument, NULL, OPT_PARALLEL},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static void invoke_usage(FILE *f)
{
    fprintf(f, "usage: powertune invoke FUNCTION [options]\n\n"
               "Runs FUNCTION (a code directory) in the local engine the way Lambda does: its own\n"
               "cgroup with CPU = memory/1769 vCPU, cold and warm starts, Lambda's REPORT lines.\n\n"
               "invoke:\n"
               "  --payload JSON        the event (default {})\n"
               "  --payload-file PATH   the event, from a file\n"
               "  --count N             invocations, warm after the first (default 1)\n"
               "  --cold                a new environment for every invocation\n"
               "  --parallel N          run the invocations from N threads at once\n"
               "  --json                one JSON object per invocation on stdout\n"
               "  --quiet               no log lines on stderr\n\n"
               "%s\n%s",
            CLI_FUNCTION_OPTIONS_HELP, CLI_ENGINE_OPTIONS_HELP);
}

struct invoke_job {
    struct pt_engine *engine;
    struct pt_function *fn;
    const char *payload;
    size_t payload_len;
    bool cold;
    bool json;
    bool quiet;
    long remaining; /* guarded by lock */
    pthread_mutex_t lock;
    int rc;
    struct pt_error err;
};

/*
 * Text a function produced as a JSON string: bytes that are not UTF-8 (binary output, or the
 * 4 KB tail cut inside a character) become '?', as jansson refuses them and the field would
 * otherwise be left out.
 */
static json_t *invoke_text_json(const char *text, size_t len)
{
    json_t *s = json_stringn(text, len);
    if (s)
        return s;
    char *copy = malloc(len + 1);
    if (!copy)
        return json_null();
    memcpy(copy, text, len);
    pt_utf8_make_valid_n(copy, len);
    s = json_stringn(copy, len);
    free(copy);
    return s ? s : json_null();
}

static json_t *invoke_result_json(const struct pt_invoke_result *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "requestId", json_string(r->request_id));
    json_object_set_new(o, "functionError", r->function_error ? json_string("Unhandled") : json_null());
    json_object_set_new(o, "errorType", r->function_error ? json_string(r->error_type) : json_null());
    json_t *payload = r->payload ? json_loadb(r->payload, r->payload_len,
                                              JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL)
                                 : NULL;
    if (!payload)
        payload = r->payload ? invoke_text_json(r->payload, r->payload_len) : json_null();
    json_object_set_new(o, "payload", payload);
    json_object_set_new(o, "durationMs", json_real(r->duration_ms));
    json_object_set_new(o, "billedDurationMs", json_integer((json_int_t)r->billed_ms));
    json_object_set_new(o, "memorySizeMB", json_integer(r->memory_mb));
    json_object_set_new(o, "maxMemoryUsedMB", json_integer(r->max_memory_used_mb));
    json_object_set_new(o, "initDurationMs",
                        r->init_duration_ms >= 0 ? json_real(r->init_duration_ms) : json_null());
    json_object_set_new(o, "coldStart", json_boolean(r->cold_start));
    json_object_set_new(o, "cpuTimeMs", json_real(r->cpu_time_ms));
    json_object_set_new(o, "degraded", json_boolean(r->degraded));
    json_object_set_new(o, "sandboxed", json_boolean(r->sandboxed));
    json_object_set_new(o, "status", json_string(r->status == PT_STATUS_TIMEOUT ? "timeout"
                                                 : r->status == PT_STATUS_ERROR ? "error"
                                                                                : "success"));
    json_object_set_new(o, "executedVersion", json_string(r->executed_version));
    json_object_set_new(o, "logTail", invoke_text_json(r->log_tail, r->log_tail_len));
    return o;
}

static void invoke_print(struct invoke_job *job, const struct pt_invoke_result *r)
{
    pthread_mutex_lock(&job->lock);
    if (job->json) {
        json_t *o = invoke_result_json(r);
        char *s = json_dumps(o, JSON_COMPACT);
        if (s)
            printf("%s\n", s);
        free(s);
        json_decref(o);
    } else {
        if (!job->quiet)
            fwrite(r->log_tail, 1, r->log_tail_len, stderr);
        if (r->payload)
            fwrite(r->payload, 1, r->payload_len, stdout);
        putchar('\n');
    }
    fflush(stdout);
    pthread_mutex_unlock(&job->lock);
}

static void *invoke_worker(void *p)
{
    struct invoke_job *job = p;
    for (;;) {
        pthread_mutex_lock(&job->lock);
        bool more = job->remaining > 0 && job->rc == 0;
        if (more)
            job->remaining--;
        pthread_mutex_unlock(&job->lock);
        if (!more)
            break;
        struct pt_invoke_request req = {
            .payload = job->payload,
            .payload_len = job->payload_len,
            .new_environment = job->cold,
        };
        struct pt_invoke_result res;
        struct pt_error err = {0};
        int rc = pt_engine_invoke(job->engine, job->fn, &req, &res, &err);
        if (rc) {
            pthread_mutex_lock(&job->lock);
            if (!job->rc) {
                job->rc = rc;
                job->err = err;
            }
            pthread_mutex_unlock(&job->lock);
            break;
        }
        invoke_print(job, &res);
        pt_invoke_result_free(&res);
    }
    return NULL;
}

int cmd_invoke(int argc, char **argv, struct cli_ctx *ctx, struct pt_error *err)
{
    struct cli_function_opts fo = {0};
    struct cli_engine_opts eo = {0};
    const char *payload_json = NULL, *payload_file = NULL;
    long count = 1, parallel = 1;
    bool cold = false, json = false, quiet = false;
    struct pt_function_config cfg;
    pt_function_config_init(&cfg);
    struct pt_engine *engine = NULL;
    char *payload = NULL;
    size_t payload_len = 0;
    int rc = 0;
    struct cli_args args;
    if ((rc = cli_args_begin(&args, argc, argv, "invoke", invoke_options, &fo, &eo, err)))
        return rc;
    int c;
    while ((rc = cli_args_next(&args, &c, err)) > 0) {
        switch (c) {
        case OPT_PAYLOAD: payload_json = optarg; break;
        case OPT_PAYLOAD_FILE: payload_file = optarg; break;
        case OPT_COUNT:
            if (pt_parse_long(optarg, 1, 1000000, &count) != 0) {
                rc = pt_error_set(err, PT_EUSAGE, "--count \"%s\": allowed 1 to 1000000", optarg);
                goto out;
            }
            break;
        case OPT_PARALLEL:
            if (pt_parse_long(optarg, 1, 1000, &parallel) != 0) {
                rc = pt_error_set(err, PT_EUSAGE, "--parallel \"%s\": allowed 1 to 1000", optarg);
                goto out;
            }
            break;
        case OPT_COLD: cold = true; break;
        case OPT_JSON: json = true; break;
        case OPT_QUIET: quiet = true; break;
        case OPT_HELP: invoke_usage(stdout); rc = 0; goto out;
        default:
            break;
        }
    }
    if (rc < 0)
        goto out;
    const char *function;
    if ((rc = cli_function_operand(argc, argv, &function, err)))
        goto out;
    fo.state_dir = eo.opt.state_dir;
    rc = cli_function_build(function, &fo, &cfg, err);
    if (rc)
        goto out;
    rc = cli_payload_read(payload_json, payload_file, &payload, &payload_len, err);
    if (rc)
        goto out;
    rc = cli_engine_start(ctx, &eo, &engine, err);
    if (rc)
        goto out;
    if (!quiet)
        cli_engine_print_notes(engine);
    struct pt_function *fn = NULL;
    rc = pt_engine_function_add(engine, &cfg, &fn, err);
    if (rc)
        goto out;

    struct invoke_job job = {
        .engine = engine, .fn = fn, .payload = payload, .payload_len = payload_len,
        .cold = cold, .json = json, .quiet = quiet, .remaining = count,
    };
    pthread_mutex_init(&job.lock, NULL);
    if (parallel > count)
        parallel = count;
    pthread_t *threads = calloc((size_t)parallel, sizeof(*threads));
    long started = 0;
    for (; threads && started < parallel - 1; started++)
        if (pthread_create(&threads[started], NULL, invoke_worker, &job) != 0)
            break;
    invoke_worker(&job);
    for (long i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    pthread_mutex_destroy(&job.lock);
    if (job.rc) {
        rc = job.rc;
        *err = job.err;
    }
out:
    if (engine)
        cli_engine_stop(ctx, engine);
    free(payload);
    pt_function_config_free(&cfg);
    cli_args_end(&args);
    return rc;
}
