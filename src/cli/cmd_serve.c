/*
 * cmd_serve.c - `powertune serve`: the AWS Lambda API on a local port, over the engine.
 *
 * Runs until SIGINT/SIGTERM (main's signal thread shuts the engine down, which
 * ends in-flight invocations; this loop then stops the server). Prints one
 * line on stdout once it accepts connections ("listening on http://H:P"), so
 * scripts can start it with --port 0 and read the port; with --quiet, no
 * per-request lines on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "aws/credentials.h"
#include "base/clock.h"
#include "base/str.h"
#include "cli/cli.h"

enum {
    OPT_HOST = CLI_OPT_COMMAND_BASE,
    OPT_PORT,
    OPT_REQUIRE_SIGNATURE,
    OPT_UPDATE_WINDOW,
    OPT_EVENT_RETRY,
    OPT_MAX_CONNECTIONS,
    OPT_CONNECTION_TIMEOUT,
    OPT_QUIET,
    OPT_HELP,
};

static const struct option serve_options[] = {
    {"host", required_argument, NULL, OPT_HOST},
    {"port", required_argument, NULL, OPT_PORT},
    {"require-signature", no_argument, NULL, OPT_REQUIRE_SIGNATURE},
    {"update-window-ms", required_argument, NULL, OPT_UPDATE_WINDOW},
    {"event-retry-delay-ms", required_argument, NULL, OPT_EVENT_RETRY},
    {"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},
    {"connection-timeout", required_argument, NULL, OPT_CONNECTION_TIMEOUT},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static void serve_usage(FILE *f)
{
    fprintf(f,
            "usage: powertune serve [options]\n\n"
            "Serves the AWS Lambda API (CreateFunction, Invoke, versions, aliases, concurrency,\n"
            "...) over the local engine, for the AWS CLI and SDKs with --endpoint-url.\n"
            "Functions, versions, aliases and code persist in <state-dir>/api.\n\n"
            "serve:\n"
            "  --host ADDR           address to listen on (default 127.0.0.1)\n"
            "  --port N              port (default 9001; 0 = any free port)\n"
            "  --require-signature   refuse requests not SigV4-signed with the credentials\n"
            "                        found the standard way (environment, profile)\n"
            "  --update-window-ms MS  how long State stays Pending after CreateFunction and\n"
            "                        LastUpdateStatus InProgress after an update (default 300)\n"
            "  --event-retry-delay-ms MS  delay before retry n of a failed Event invocation is\n"
            "                        n times this (default 60000, as Lambda)\n"
            "  --max-connections N   concurrent connections (default: the account concurrency\n"
            "                        + 64, at most 4096); a synchronous invoke holds one\n"
            "  --connection-timeout S  idle connections are closed after S seconds; a request\n"
            "                        must arrive, and its answer be taken, within 2S plus 1 s\n"
            "                        per 16 KiB of body (default 30)\n"
            "  --quiet               no per-request lines on stderr\n\n"
            "%s",
            CLI_ENGINE_OPTIONS_HELP);
}

static void serve_log(void *arg, const char *line)
{
    (void)arg;
    fprintf(stderr, "%s\n", line);
}

static bool serve_interrupted(struct cli_ctx *ctx)
{
    pthread_mutex_lock(&ctx->lock);
    bool stop = ctx->interrupted;
    pthread_mutex_unlock(&ctx->lock);
    return stop;
}

static int parse_int_flag(const char *name, const char *arg, long lo, long hi, long *out,
                          struct pt_error *err)
{
    if (pt_parse_long(arg, lo, hi, out) != 0)
        return pt_error_set(err, PT_EUSAGE, "--%s \"%s\": allowed %ld to %ld", name, arg, lo,
                            hi);
    return 0;
}

int cmd_serve(int argc, char **argv, struct cli_ctx *ctx, struct pt_error *err)
{
    struct cli_engine_opts eo = {0};
    struct pt_api_options ao = {.port = PT_API_DEFAULT_PORT};
    struct pt_aws_credentials *creds = NULL;
    struct pt_engine *engine = NULL;
    struct pt_api *api = NULL;
    bool quiet = false;
    long v = 0;
    int rc = 0;
    struct option *opts = cli_options_merge(serve_options);
    if (!opts)
        return pt_error_set(err, PT_ENOMEM, "out of memory");
    optind = 0; /* as cli_args_begin does, and why */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        int took = cli_engine_flag(c, optarg, &eo, err);
        if (took < 0) {
            rc = took;
            goto out;
        }
        if (took)
            continue;
        switch (c) {
        case OPT_HOST: ao.host = optarg; break;
        case OPT_PORT:
            if ((rc = parse_int_flag("port", optarg, 0, 65535, &v, err)))
                goto out;
            ao.port = (int)v;
            break;
        case OPT_REQUIRE_SIGNATURE: ao.require_signature = true; break;
        case OPT_UPDATE_WINDOW:
            if ((rc = parse_int_flag("update-window-ms", optarg, 0, 600000, &v, err)))
                goto out;
            ao.update_window_ms = v ? (int)v : -1;
            break;
        case OPT_EVENT_RETRY:
            if ((rc = parse_int_flag("event-retry-delay-ms", optarg, 1, 3600000, &v, err)))
                goto out;
            ao.event_retry_delay_ms = (int)v;
            break;
        case OPT_MAX_CONNECTIONS:
            if ((rc = parse_int_flag("max-connections", optarg, 1, PT_API_CONNECTIONS_MAX, &v,
                                     err)))
                goto out;
            ao.connection_limit = (unsigned)v;
            break;
        case OPT_CONNECTION_TIMEOUT:
            if ((rc = parse_int_flag("connection-timeout", optarg, 1, 3600, &v, err)))
                goto out;
            ao.connection_timeout_s = (unsigned)v;
            break;
        case OPT_QUIET: quiet = true; break;
        case OPT_HELP: serve_usage(stdout); goto out;
        default:
            rc = pt_getopt_refused(err, c, argc, argv, optind, optopt, "serve");
            goto out;
        }
    }
    if (optind != argc) {
        rc = pt_error_set(err, PT_EUSAGE, "unexpected argument \"%s\"", argv[optind]);
        goto out;
    }
    if (ao.require_signature) {
        creds = calloc(1, sizeof(*creds));
        if (!creds) {
            rc = pt_error_set(err, PT_ENOMEM, "out of memory");
            goto out;
        }
        rc = pt_aws_credentials_resolve(NULL, creds, err);
        if (rc) {
            pt_error_wrap(err, "--require-signature needs credentials to verify with");
            goto out;
        }
        ao.keys = creds;
        ao.key_count = 1;
    }
    rc = cli_engine_start(ctx, &eo, &engine, err);
    if (rc)
        goto out;
    cli_engine_print_notes(engine);
    ao.account_id = eo.opt.account_id;
    ao.account_concurrency = eo.opt.account_concurrency;
    ao.log = quiet ? NULL : serve_log;
    rc = pt_api_create(&api, engine, &ao, err);
    if (!rc)
        rc = pt_api_listen(api, err);
    if (rc)
        goto out;
    if (creds && !quiet) {
        char desc[PT_AWS_SOURCE_MAX + 128];
        pt_aws_credentials_describe(creds, desc, sizeof(desc));
        fprintf(stderr, "requests must be signed: %s\n", desc);
    }
    const char *host = ao.host ? ao.host : PT_API_DEFAULT_HOST;
    /* An IPv6 address goes in brackets in a URL. */
    printf(strchr(host, ':') ? "listening on http://[%s]:%d (state in %s/api)\n"
                             : "listening on http://%s:%d (state in %s/api)\n",
           host, pt_api_port(api), pt_engine_state_dir(engine));
    fflush(stdout);
    while (!serve_interrupted(ctx))
        pt_sleep_ms(100);
out:
    pt_api_destroy(api);
    if (engine)
        cli_engine_stop(ctx, engine);
    if (creds)
        pt_aws_credentials_clear(creds);
    free(creds);
    free(opts);
    return rc;
}
