/*
 * cmd_tune.c - `powertune tune FUNCTION [options]` / `powertune tune --input FILE.json`:
 * AWS Lambda Power Tuning, run against the local engine.
 *
 * Everything is validated before the first invocation (the reference tool fails on a bad
 * strategy only after running everything). The reference's execution input is accepted
 * verbatim with --input, and the flags override it. Samples stream to --samples as they
 * complete; --resume continues an interrupted run from that file.
 */
#include <curl/curl.h>
#include <limits.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/fs.h"
#include "aws/arn.h"
#include "aws/credentials.h"
#include "aws/s3.h"
#include "base/str.h"
#include "cli/cli.h"
#include "cli/tune_output.h"
#include "cli/tune_report.h"
#include "tune/runner.h"
#include "tune/target_lambda.h"
#include "tune/target_local.h"
#include "tune/tune.h"
#include "engine/template.h"

#define TUNE_INPUT_MAX (1024 * 1024)

enum {
    OPT_INPUT = CLI_OPT_COMMAND_BASE,
    OPT_POWERS,
    OPT_NUM,
    OPT_PAYLOAD,
    OPT_PAYLOAD_FILE,
    OPT_PAYLOAD_S3,
    OPT_S3_ENDPOINT_URL,
    OPT_PARALLEL,
    OPT_STRATEGY,
    OPT_WEIGHT,
    OPT_AUTO_OPTIMIZE,
    OPT_AUTO_OPTIMIZE_ALIAS,
    OPT_DRY_RUN,
    OPT_DISCARD,
    OPT_SLEEP,
    OPT_ONLY_COLD,
    OPT_PRE,
    OPT_POST,
    OPT_INCLUDE_RESULTS,
    OPT_ALLOWED,
    OPT_CONCURRENCY,
    OPT_FAIL_FAST,
    OPT_ADAPTIVE,
    OPT_ADAPTIVE_TOLERANCE,
    OPT_PRICING,
    OPT_PRICE_GB_S,
    OPT_SAMPLES,
    OPT_RESUME,
    OPT_OUTPUT,
    OPT_JSON,
    OPT_REPORT,
    OPT_COMPARE,
    OPT_ENDPOINT_URL,
    OPT_PROFILE,
    OPT_HELP,
};

static const struct option tune_options[] = {
    {"input", required_argument, NULL, OPT_INPUT},
    {"powers", required_argument, NULL, OPT_POWERS},
    {"num", required_argument, NULL, OPT_NUM},
    {"payload", required_argument, NULL, OPT_PAYLOAD},
    {"payload-file", required_argument, NULL, OPT_PAYLOAD_FILE},
    {"payload-s3", required_argument, NULL, OPT_PAYLOAD_S3},
    {"s3-endpoint-url", required_argument, NULL, OPT_S3_ENDPOINT_URL},
    {"parallel", no_argument, NULL, OPT_PARALLEL},
    {"strategy", required_argument, NULL, OPT_STRATEGY},
    {"balanced-weight", required_argument, NULL, OPT_WEIGHT},
    {"auto-optimize", no_argument, NULL, OPT_AUTO_OPTIMIZE},
    {"auto-optimize-alias", required_argument, NULL, OPT_AUTO_OPTIMIZE_ALIAS},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"discard-top-bottom", required_argument, NULL, OPT_DISCARD},
    {"sleep-between-runs-ms", required_argument, NULL, OPT_SLEEP},
    {"only-cold-starts", no_argument, NULL, OPT_ONLY_COLD},
    {"pre-processor", required_argument, NULL, OPT_PRE},
    {"post-processor", required_argument, NULL, OPT_POST},
    {"include-output-results", no_argument, NULL, OPT_INCLUDE_RESULTS},
    {"allowed-exceptions", required_argument, NULL, OPT_ALLOWED},
    {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
    {"fail-fast", no_argument, NULL, OPT_FAIL_FAST},
    {"adaptive", no_argument, NULL, OPT_ADAPTIVE},
    {"adaptive-tolerance", required_argument, NULL, OPT_ADAPTIVE_TOLERANCE},
    {"pricing", required_argument, NULL, OPT_PRICING},
    {"price-per-gb-s", required_argument, NULL, OPT_PRICE_GB_S},
    {"samples", required_argument, NULL, OPT_SAMPLES},
    {"resume", required_argument, NULL, OPT_RESUME},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"json", no_argument, NULL, OPT_JSON},
    {"report", required_argument, NULL, OPT_REPORT},
    {"compare", required_argument, NULL, OPT_COMPARE},
    {"endpoint-url", required_argument, NULL, OPT_ENDPOINT_URL},
    {"profile", required_argument, NULL, OPT_PROFILE},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static void tune_usage(FILE *f)
{
    fprintf(f,
            "usage: powertune tune FUNCTION [options]\n"
            "       powertune tune --input FILE.json [options]\n\n"
            "Runs FUNCTION (a code directory) at each memory size in the local engine, N times\n"
            "each, and recommends a size, as AWS Lambda Power Tuning does. --input takes that\n"
            "tool's execution input verbatim (lambdaARN may name a local FUNCTION); flags\n"
            "override it.\n\n"
            "tune:\n"
            "  --powers LIST|ALL     memory sizes, e.g. 128,256,512 (default 128,256,512,1024,1536,\n"
            "                        3008); ALL = 128..3008 step 64 (the reference tool's 46\n"
            "                        values); ALL10240 = 128..10240 step 64 (ours, 159 values)\n"
            "  --num N               invocations per size (required; under 5 warns)\n"
            "  --payload JSON        the event, or a weighted list [{\"payload\":..,\"weight\":..}]\n"
            "  --payload-file PATH   the same, from a file\n"
            "  --payload-s3 s3://BUCKET/KEY  the same, from an S3 object (payloadS3; wins over\n"
            "                        --payload); read once before the first invocation, SigV4-\n"
            "                        signed in the run's region; at most 6 MB\n"
            "  --s3-endpoint-url URL the S3 endpoint (default $POWERTUNE_S3_ENDPOINT_URL, else\n"
            "                        https://s3.REGION.amazonaws.com; path-style requests)\n"
            "  --parallel            run the N invocations of a size at once (parallelInvocation)\n"
            "  --concurrency N       cap for --parallel (default 10)\n"
            "  --strategy S          cost (default), speed or balanced\n"
            "  --balanced-weight W   0..1; 1 acts like cost, 0 like speed (the reference's code;\n"
            "                        its 2020 article states it the other way round)\n"
            "  --discard-top-bottom D  share trimmed at each end, 0..0.4 (default 0.2)\n"
            "  --sleep-between-runs-ms MS  pause after each invocation (series only)\n"
            "  --only-cold-starts    every invocation on a new environment\n"
            "  --pre-processor F, --post-processor F  functions run before/after each invocation\n"
            "  --allowed-exceptions A,B  error types kept in the statistics\n"
            "  --fail-fast           stop at the first failed invocation (the reference's way)\n"
            "  --dry-run             one invocation per size, no analysis (output null)\n"
            "  --adaptive            stop sampling once the recommendation is settled: 5\n"
            "                        invocations per size, then rounds of 2 for the sizes not\n"
            "                        settled; a size is settled when Yuen's trimmed-mean t-test\n"
            "                        (Welch df, cold starts left out) shows the pick is not\n"
            "                        worse than it by more than the tolerance. Confidence:\n"
            "                        95 %% family-wise that the pick is within the tolerance of\n"
            "                        the best (multiple comparisons with the best, Bonferroni\n"
            "                        over sizes and looks). Among sizes within half the\n"
            "                        tolerance of the best estimate the pick is: cost - the\n"
            "                        fastest, speed - the cheapest, balanced - the first listed.\n"
            "                        A size is left tied (not sampled) when, at the spread seen\n"
            "                        so far, num invocations would not settle it either, and\n"
            "                        behind when they would but could not make it the pick\n"
            "                        (95 %% predictive)\n"
            "  --adaptive-tolerance PCT  under it two sizes count as equally good (0..50,\n"
            "                        default 5); 0: the pick must be shown to be the best\n"
            "  --auto-optimize, --auto-optimize-alias A  report the size to set\n"
            "  --pricing MODE        exact (default: AWS's GB-s price + request charge) or\n"
            "                        power-tuning (the reference's constants, bit for bit)\n"
            "  --price-per-gb-s X    price for a region not in the table\n"
            "  --include-output-results  add per-size stats to the JSON\n"
            "  --samples FILE.jsonl  stream every invocation to FILE\n"
            "  --resume FILE.jsonl   continue an interrupted run from its samples\n"
            "  --output FILE.json    write the result JSON; --json prints it instead of the table\n"
            "  --report FILE.html    write a self-contained HTML report (charts, table, settings)\n"
            "  --compare OTHER.json  compare with a previous --output: print the two-run\n"
            "                        visualization URL, draw both runs in --report\n\n"
            "functions in AWS or behind powertune serve (FUNCTION = a Lambda ARN, qualified or\n"
            "not, or a function name with --endpoint-url or --region):\n"
            "  --endpoint-url URL    the Lambda API endpoint (default https://lambda.REGION.\n"
            "                        amazonaws.com); credentials as the AWS CLI finds them\n"
            "  --profile NAME        the credentials/config profile (default AWS_PROFILE, default)\n\n"
            "%s\n%s",
            CLI_FUNCTION_OPTIONS_HELP, CLI_ENGINE_OPTIONS_HELP);
}

struct tune_flags {
    const char *input_file;
    const char *powers, *num, *payload, *payload_file, *strategy, *weight, *alias, *discard,
        *sleep, *pre, *post, *allowed, *arch, *concurrency, *pricing, *price_gb_s, *samples,
        *resume, *output, *endpoint_url, *profile, *payload_s3, *s3_endpoint_url,
        *adaptive_tolerance;
    bool parallel, auto_optimize, dry_run, only_cold, include_results, fail_fast, json, adaptive;
};

static int tune_read_input_file(const char *path, struct pt_tune_input *in, struct pt_error *err)
{
    struct pt_buf b;
    pt_buf_init(&b, TUNE_INPUT_MAX);
    int rc = pt_file_read(path, TUNE_INPUT_MAX, &b, err);
    if (rc) {
        pt_buf_free(&b);
        return pt_error_set(err, PT_EUSAGE, "--input %s: %s", path, err->msg);
    }
    rc = pt_tune_input_parse_json(in, b.data ? b.data : "", b.len, err);
    pt_buf_free(&b);
    if (rc)
        pt_error_wrap(err, "--input %s", path);
    return rc;
}

static int tune_number_flag(const char *flag, const char *v, double min, double max, double *out,
                            struct pt_error *err)
{
    if (pt_parse_double(v, min, max, out) != 0)
        return pt_error_set(err, PT_EUSAGE, "%s \"%s\": allowed a number from %g to %g", flag, v,
                            min, max);
    return 0;
}

/* Flags over the input file (or the defaults), then the cross-field validation. */
static int tune_apply_flags(const struct tune_flags *f, struct pt_tune_input *in,
                            struct pt_error *err)
{
    int rc = 0;
    double d;
    long l;
    if (f->powers && (rc = pt_tune_input_set_powers(in, f->powers, err)))
        return rc;
    if (f->num) {
        if (pt_parse_long(f->num, 1, PT_TUNE_NUM_MAX, &l) != 0)
            return pt_error_set(err, PT_EUSAGE, "--num \"%s\": allowed 1 to %d", f->num,
                                PT_TUNE_NUM_MAX);
        in->num = l;
    }
    if (f->payload_file) {
        struct pt_buf b;
        pt_buf_init(&b, PT_INVOKE_REQUEST_MAX);
        rc = pt_file_read(f->payload_file, PT_INVOKE_REQUEST_MAX, &b, err);
        if (rc)
            rc = pt_error_set(err, PT_EUSAGE, "--payload-file %s: %s", f->payload_file, err->msg);
        else
            rc = pt_tune_input_set_payload_text(in, b.data ? b.data : "", b.len, err);
        pt_buf_free(&b);
        if (rc)
            return rc;
    } else if (f->payload && (rc = pt_tune_input_set_payload_text(in, f->payload,
                                                                    strlen(f->payload), err))) {
        return rc;
    }
    if (f->payload_s3 && (rc = pt_tune_input_set_payload_s3(in, f->payload_s3, err)))
        return rc;
    if (f->strategy && (rc = pt_tune_input_set_strategy(in, f->strategy, err)))
        return rc;
    if (f->weight) {
        if ((rc = tune_number_flag("--balanced-weight", f->weight, 0, 1, &d, err)))
            return rc;
        pt_tune_input_set_balanced_weight(in, d);
    }
    if (f->discard) {
        if ((rc = tune_number_flag("--discard-top-bottom", f->discard, 0, 0.4, &d, err)))
            return rc;
        pt_tune_input_set_discard(in, d);
    }
    if (f->sleep) {
        if (pt_parse_long(f->sleep, 0, PT_TUNE_SLEEP_MAX_MS, &l) != 0)
            return pt_error_set(err, PT_EUSAGE, "--sleep-between-runs-ms \"%s\": allowed 0 to %ld",
                                f->sleep, PT_TUNE_SLEEP_MAX_MS);
        in->sleep_between_runs_ms = l;
    }
    if (f->concurrency) {
        if (pt_parse_long(f->concurrency, 1, PT_TUNE_CONCURRENCY_MAX, &l) != 0)
            return pt_error_set(err, PT_EUSAGE, "--concurrency \"%s\": allowed 1 to %d",
                                f->concurrency, PT_TUNE_CONCURRENCY_MAX);
        in->concurrency = (int)l;
    }
    if (f->price_gb_s) {
        if ((rc = tune_number_flag("--price-per-gb-s", f->price_gb_s, 1e-12, 1, &d, err)))
            return rc;
        in->price_per_gb_s = d;
    }
    if (f->adaptive_tolerance) {
        if ((rc = tune_number_flag("--adaptive-tolerance", f->adaptive_tolerance, 0,
                                   PT_TUNE_ADAPTIVE_TOLERANCE_MAX, &d, err)))
            return rc;
        in->adaptive_tolerance = d / 100;
        in->tolerance_set = true;
    }
    if (f->allowed && (rc = pt_tune_input_set_allowed_exceptions(in, f->allowed, err)))
        return rc;
    if (f->pricing && (rc = pt_tune_input_set_pricing(in, f->pricing, err)))
        return rc;
    if (f->arch && (rc = pt_tune_input_set_architecture(in, f->arch, err)))
        return rc;
    if (f->alias) {
        if (strlen(f->alias) >= sizeof(in->auto_optimize_alias))
            return pt_error_set(err, PT_EUSAGE, "--auto-optimize-alias: too long");
        pt_strlcpy(in->auto_optimize_alias, f->alias, sizeof(in->auto_optimize_alias));
    }
    if (f->pre)
        pt_strlcpy(in->pre_processor, f->pre, sizeof(in->pre_processor));
    if (f->post)
        pt_strlcpy(in->post_processor, f->post, sizeof(in->post_processor));
    in->parallel |= f->parallel;
    in->auto_optimize |= f->auto_optimize;
    in->dry_run |= f->dry_run;
    in->only_cold_starts |= f->only_cold;
    in->include_output_results |= f->include_results;
    in->fail_fast |= f->fail_fast;
    in->adaptive |= f->adaptive;
    return pt_tune_input_validate(in, err);
}

struct tune_progress {
    bool tty;
    int64_t start_ns;
};

static void tune_progress_bar(void *arg, const struct pt_runner_progress *p)
{
    struct tune_progress *tp = arg;
    if (!tp->tty)
        return;
    double elapsed = (double)(pt_mono_ns() - tp->start_ns) / 1e9;
    double eta = p->done ? elapsed * (double)(p->total - p->done) / (double)p->done : 0;
    int width = 30;
    int filled = p->total ? (int)((double)width * (double)p->done / (double)p->total) : width;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\r%5d MB (%zu/%zu) [%s] %ld/%ld  %.0fs elapsed, ETA %.0fs  ", p->power,
            p->power_index + 1, p->n_powers, bar, p->done, p->total, elapsed, eta);
    if (p->done == p->total)
        fputc('\n', stderr);
}

/*
 * autoOptimize for a local function: a SAM template gets its MemorySize rewritten in place
 * (every other byte kept, a .bak beside it); a code directory only gets the advice.
 */
static int tune_auto_optimize(const struct pt_tune_input *in, const char *name, int power,
                              struct cli_tune_notes *notes, struct pt_error *err)
{
    /* The spec goes whole to the template code, which splits "path#LogicalId" as the load
     * did (an existing path holding '#' is a path). */
    if (!pt_template_is_template(in->function)) {
        cli_tune_note(notes, "autoOptimize: set MemorySize of %s to %d MB (a code directory: "
                             "nothing to rewrite)", name, power);
        return 0;
    }
    char backup[PATH_MAX];
    int rc = pt_template_set_memory(in->function, NULL, power, NULL, backup, sizeof(backup), err);
    if (rc)
        return rc;
    struct pt_template_memory_site site;
    const char *file = pt_template_memory_site(in->function, NULL, &site, NULL) == 0
                           ? site.file
                           : in->function;
    cli_tune_note(notes,
                  "autoOptimize: MemorySize of %s set to %d MB in %s (the original is in %s)",
                  name, power, file, backup);
    return 0;
}

/* Registers a pre/post-processor given as a local code directory. */
static int tune_add_processor(struct pt_local_target *t, const char *function,
                              const struct cli_function_opts *fo, struct pt_error *err)
{
    struct cli_function_opts po = {0};
    po.timeout = fo->timeout;
    po.state_dir = fo->state_dir;
    struct pt_function_config cfg;
    int rc = cli_function_build(function, &po, &cfg, err);
    if (!rc)
        rc = pt_local_target_add_processor(t, function, &cfg, err);
    pt_function_config_free(&cfg);
    if (rc)
        pt_error_wrap(err, "processor %s", function);
    return rc;
}

/* FUNCTION runs in AWS or behind `powertune serve`: an ARN, or a name (not a local path) with
 * --endpoint-url or --region. */
static bool tune_is_remote(const struct pt_tune_input *in, const struct tune_flags *f,
                           const char *region_flag)
{
    if (in->is_arn)
        return true;
    if (pt_path_is_dir(in->function) || pt_path_is_file(in->function) ||
        pt_template_is_template(in->function))
        return false;
    struct pt_aws_lambda_arn a;
    if (pt_aws_lambda_arn_parse(in->function, &a, NULL) != 0)
        return false;
    return a.form == PT_AWS_ARN_PARTIAL || f->endpoint_url || (region_flag && region_flag[0]);
}

/* Ctrl-C seen by the signal thread (main.c): the Lambda target stops before its next call. */
static bool tune_interrupted(void *arg)
{
    struct cli_ctx *ctx = arg;
    pthread_mutex_lock(&ctx->lock);
    bool v = ctx->interrupted;
    pthread_mutex_unlock(&ctx->lock);
    return v;
}

/*
 * The client (credentials and region found as the AWS CLI does) and the Lambda target, which
 * reads the function's configuration. region gets the resolved region (for pricing).
 */
static int tune_remote_open(struct cli_ctx *ctx, const struct pt_tune_input *in,
                            const struct tune_flags *f, const struct pt_engine_options *eopt,
                            struct pt_aws_client **client, struct pt_lambda_target **target,
                            char *region, size_t region_size, struct cli_tune_notes *notes,
                            struct pt_error *err)
{
    const char *region_flag = eopt->region;
    char journals[PATH_MAX];
    struct pt_aws_lambda_arn a;
    struct pt_aws_credentials creds;
    memset(&creds, 0, sizeof(creds));
    char function[PT_AWS_ARN_MAX];
    int rc = pt_aws_lambda_arn_parse(in->function, &a, err);
    if (rc) {
        rc = pt_error_set(err, PT_EUSAGE, "FUNCTION %s: %s", in->function, err->msg);
        goto out;
    }
    struct pt_aws_config_options co = {.profile = f->profile};
    rc = pt_aws_region_resolve(&co, region_flag, a.region, region, region_size, NULL, 0, err);
    if (rc == PT_ENOTFOUND && f->endpoint_url) {
        /* A local endpoint does not care which region signs; us-east-1 as the AWS CLI would. */
        pt_strlcpy(region, "us-east-1", region_size);
        rc = 0;
    }
    if (rc || (rc = pt_aws_credentials_resolve(&co, &creds, err)))
        goto out;
    /* libcurl's global state, once, before the runner starts its threads (cmd_tune is the only
     * libcurl user in this process). */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        rc = pt_error_set(err, PT_EIO, "curl_global_init failed");
        goto out;
    }
    struct pt_aws_client_options o = {.endpoint_url = f->endpoint_url, .region = region,
                                      .service = "lambda", .creds = &creds,
                                      .interrupted = tune_interrupted, .interrupted_arg = ctx};
    if ((rc = pt_aws_client_create(client, &o, err)))
        goto out;
    if (a.form == PT_AWS_ARN_NAME)
        pt_strlcpy(function, a.name, sizeof(function));
    else if ((rc = pt_aws_lambda_arn_format(&a, region, a.account, 0, function, sizeof(function),
                                            err)))
        goto out;
    if (a.qualifier[0])
        cli_tune_note(notes, "qualifier %s ignored: tuning publishes versions of $LATEST and "
                             "points RAM<power> aliases at them", a.qualifier);
    /* The runs' journals live with the engine's state (the same --state-dir). */
    char state[PATH_MAX];
    if ((rc = pt_state_dir_resolve(eopt->state_dir, state, sizeof(state), err)))
        goto out;
    if (pt_path_join(journals, sizeof(journals), state, "tune-journals") != 0) {
        rc = pt_error_set(err, PT_EUSAGE, "--state-dir: path too long");
        goto out;
    }
    struct pt_lambda_target_options to = {.client = *client, .function = function,
                                          .num = in->num, .only_cold_starts = in->only_cold_starts,
                                          .interrupted = tune_interrupted, .interrupted_arg = ctx,
                                          .journal_dir = journals};
    if ((rc = pt_lambda_target_create(target, &to, err)))
        pt_error_wrap(err, "%s", in->function);
    else if (pt_lambda_target_notice(*target))
        cli_tune_note(notes, "%s", pt_lambda_target_notice(*target));
out:
    pt_aws_credentials_clear(&creds);
    return rc;
}

/* payloadS3: fetched with the run's region and credentials; the reference's body rule, and
 * weighted payloads checked against num as for --payload. region_known: in->region is the
 * run's (--region, the input's region, the function's); otherwise it is found as the AWS CLI
 * finds it (AWS_REGION, AWS_DEFAULT_REGION, the profile), in->region when nothing says. */
static int tune_fetch_payload_s3(const struct pt_tune_input *in, const struct tune_flags *f,
                                 bool region_known, json_t **out, struct pt_error *err)
{
    struct pt_aws_credentials creds;
    memset(&creds, 0, sizeof(creds));
    struct pt_aws_config_options co = {.profile = f->profile};
    const char *ep = f->s3_endpoint_url ? f->s3_endpoint_url : getenv(PT_S3_ENDPOINT_ENV);
    char region[PT_AWS_REGION_MAX];
    struct pt_buf body;
    pt_buf_init(&body, PT_S3_OBJECT_MAX);
    pt_strlcpy(region, in->region, sizeof(region));
    int rc = 0;
    if (!region_known) {
        rc = pt_aws_region_resolve(&co, NULL, NULL, region, sizeof(region), NULL, 0, err);
        if (rc == PT_ENOTFOUND) {
            pt_strlcpy(region, in->region, sizeof(region));
            rc = 0;
        }
    }
    if (rc || (rc = pt_aws_credentials_resolve(&co, &creds, err))) {
        pt_error_wrap(err, "payloadS3 s3://%s/%s", in->s3_bucket, in->s3_key);
        goto out;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        rc = pt_error_set(err, PT_EIO, "curl_global_init failed");
        goto out;
    }
    struct pt_s3_get_options o = {.endpoint_url = ep, .region = region, .creds = &creds};
    if ((rc = pt_s3_get_object(&o, in->s3_bucket, in->s3_key, &body, err)))
        goto out;
    if (!(*out = pt_tune_payload_from_s3_body(body.data ? body.data : "", body.len))) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory");
        goto out;
    }
    struct pt_tune_payloads p;
    if ((rc = pt_tune_payloads_generate(*out, in->num, &p, err)) < 0) {
        pt_error_wrap(err, "payloadS3 s3://%s/%s", in->s3_bucket, in->s3_key);
        json_decref(*out);
        *out = NULL;
        goto out;
    }
    pt_tune_payloads_free(&p);
    rc = 0;
out:
    pt_buf_free(&body);
    pt_aws_credentials_clear(&creds);
    return rc;
}

/* --adaptive recommends its pick: among sizes equally good within the tolerance, the one
 * the strategy's tie-break prefers, which the analysis's point estimates need not rank first. */
static void tune_adaptive_winner(const struct pt_adaptive *ad, struct pt_tune_analysis *a)
{
    int power = pt_adaptive_recommendation(ad);
    for (size_t i = 0; i < a->n_powers; i++)
        if (a->powers[i].power == power && !a->powers[i].excluded)
            a->winner = (int)i;
}

/*
 * A resumed file's function and this run's: the same string, or for a local function the same
 * code directory or template written another way ("examples/f", "./examples/f/", its absolute
 * path), with the same #LogicalId.
 */
static bool tune_same_function(const char *saved, const char *now, bool remote)
{
    if (strcmp(saved, now) == 0)
        return true;
    const char *hs = strchr(saved, '#'), *hn = strchr(now, '#');
    size_t ns = hs ? (size_t)(hs - saved) : strlen(saved);
    size_t nn = hn ? (size_t)(hn - now) : strlen(now);
    if (remote || !hs != !hn || (hs && strcmp(hs, hn) != 0) || ns >= PATH_MAX || nn >= PATH_MAX)
        return false;
    char a[PATH_MAX], b[PATH_MAX];
    memcpy(a, saved, ns);
    a[ns] = '\0';
    memcpy(b, now, nn);
    b[nn] = '\0';
    return pt_path_same_file(a, b);
}

/*
 * The resumed samples must be of this run: each of a power tuned, no power with more
 * invocations than the run makes of it (the table and the JSON would say num and count more),
 * and none of a payload the run does not send or beyond its allocation (a run resumed with
 * another --payload would mix two experiments under one answer).
 */
static int tune_check_resume(const struct pt_tune_input *in, const json_t *payload,
                             const struct pt_samples_file *resume, const char *path,
                             struct pt_error *err)
{
    long num = pt_tune_input_runs_per_power(in);
    struct pt_tune_payloads pl = {0};
    long *alloc = NULL, *sent = NULL;
    /* As the runner allocates: over num, of which a dry run sends the first. */
    int rc = pt_tune_payloads_generate(payload, in->num, &pl, err);
    if (rc)
        return rc;
    alloc = calloc(pl.n_texts ? pl.n_texts : 1, sizeof(*alloc));
    sent = calloc(pl.n_texts ? pl.n_texts : 1, sizeof(*sent));
    if (!alloc || !sent) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory");
        goto out;
    }
    for (long i = 0; i < num; i++)
        alloc[pl.payload_of[i]]++;
    for (size_t i = 0; i < resume->n; i++) {
        size_t j = 0;
        while (j < in->n_powers && in->powers[j] != resume->samples[i].power)
            j++;
        if (j == in->n_powers) {
            /* It would fail the analysis, after the run. */
            rc = pt_error_set(err, PT_EUSAGE,
                              "--resume %s: its samples include %d MB, which is not one of "
                              "the power values tuned; allowed the run's own powers",
                              path, resume->samples[i].power);
            goto out;
        }
        if ((size_t)resume->samples[i].payload_index >= pl.n_texts) {
            rc = pt_error_set(err, PT_EUSAGE,
                              "--resume %s: a sample at %d MB has payloadIndex %d, but this "
                              "run sends %zu payload%s (payloadIndex 0 to %zu); allowed the "
                              "payload of the run resumed",
                              path, resume->samples[i].power, resume->samples[i].payload_index,
                              pl.n_texts, pl.n_texts == 1 ? "" : "s", pl.n_texts - 1);
            goto out;
        }
    }
    for (size_t j = 0; j < in->n_powers; j++) {
        long count = 0;
        memset(sent, 0, pl.n_texts * sizeof(*sent));
        for (size_t i = 0; i < resume->n; i++)
            if (resume->samples[i].power == in->powers[j]) {
                count++;
                sent[resume->samples[i].payload_index]++;
            }
        if (count > num && in->dry_run) {
            rc = pt_error_set(err, PT_EUSAGE,
                              "--resume %s: it holds %ld invocations at %d MB, more than the "
                              "one per power value of a dry run; allowed a run without --dry-run",
                              path, count, in->powers[j]);
            goto out;
        }
        if (count > num) {
            rc = pt_error_set(err, PT_EUSAGE,
                              "--resume %s: it holds %ld invocations at %d MB, more than the "
                              "%ld per power value of this run; allowed --num %ld or more "
                              "(powertune analyze recomputes a finished run)",
                              path, count, in->powers[j], num, count);
            goto out;
        }
        for (size_t p = 0; p < pl.n_texts; p++)
            if (sent[p] > alloc[p]) {
                rc = pt_error_set(err, PT_EUSAGE,
                                  "--resume %s: it holds %ld invocations of payload %zu at %d "
                                  "MB, more than the %ld its weight gets at num %ld; allowed "
                                  "the payload of the run resumed",
                                  path, sent[p], p, in->powers[j], alloc[p], num);
                goto out;
            }
    }
out:
    free(alloc);
    free(sent);
    pt_tune_payloads_free(&pl);
    return rc;
}

int cmd_tune(int argc, char **argv, struct cli_ctx *ctx, struct pt_error *err)
{
    struct tune_flags f = {0};
    struct cli_function_opts fo = {0};
    struct cli_engine_opts eo = {0};
    struct pt_tune_input in;
    pt_tune_input_init(&in);
    struct pt_function_config cfg;
    pt_function_config_init(&cfg);
    struct pt_engine *engine = NULL;
    struct pt_local_target *target = NULL;
    struct pt_aws_client *client = NULL;
    struct pt_lambda_target *ltarget = NULL;
    bool remote = false;
    struct pt_samples_file resume = {0};
    struct pt_samples_writer writer;
    bool writer_open = false;
    struct pt_runner_report report = {0};
    struct pt_tune_analysis analysis;
    bool analysed = false;
    json_t *adaptive_json = NULL;
    json_t *s3_payload = NULL;
    struct pt_error finish_err = {0};
    int finish_rc = 0;
    struct cli_tune_notes notes = {0};
    struct cli_tune_report rep = {0};
    struct pt_error rewrite_err = {0};
    int rc = 0, rewrite_rc = 0;
    struct cli_args args;
    if ((rc = cli_args_begin(&args, argc, argv, "tune", tune_options, &fo, &eo, err)))
        return rc;
    int c;
    while ((rc = cli_args_next(&args, &c, err)) > 0) {
        switch (c) {
        case OPT_INPUT: f.input_file = optarg; break;
        case OPT_POWERS: f.powers = optarg; break;
        case OPT_NUM: f.num = optarg; break;
        case OPT_PAYLOAD: f.payload = optarg; break;
        case OPT_PAYLOAD_FILE: f.payload_file = optarg; break;
        case OPT_PAYLOAD_S3: f.payload_s3 = optarg; break;
        case OPT_S3_ENDPOINT_URL: f.s3_endpoint_url = optarg; break;
        case OPT_PARALLEL: f.parallel = true; break;
        case OPT_STRATEGY: f.strategy = optarg; break;
        case OPT_WEIGHT: f.weight = optarg; break;
        case OPT_AUTO_OPTIMIZE: f.auto_optimize = true; break;
        case OPT_AUTO_OPTIMIZE_ALIAS: f.alias = optarg; break;
        case OPT_DRY_RUN: f.dry_run = true; break;
        case OPT_DISCARD: f.discard = optarg; break;
        case OPT_SLEEP: f.sleep = optarg; break;
        case OPT_ONLY_COLD: f.only_cold = true; break;
        case OPT_PRE: f.pre = optarg; break;
        case OPT_POST: f.post = optarg; break;
        case OPT_INCLUDE_RESULTS: f.include_results = true; break;
        case OPT_ALLOWED: f.allowed = optarg; break;
        case OPT_CONCURRENCY: f.concurrency = optarg; break;
        case OPT_FAIL_FAST: f.fail_fast = true; break;
        case OPT_ADAPTIVE: f.adaptive = true; break;
        case OPT_ADAPTIVE_TOLERANCE: f.adaptive_tolerance = optarg; break;
        case OPT_PRICING: f.pricing = optarg; break;
        case OPT_PRICE_GB_S: f.price_gb_s = optarg; break;
        case OPT_SAMPLES: f.samples = optarg; break;
        case OPT_RESUME: f.resume = optarg; break;
        case OPT_OUTPUT: f.output = optarg; break;
        case OPT_JSON: f.json = true; break;
        case OPT_REPORT: rep.report_path = optarg; break;
        case OPT_COMPARE: rep.compare_path = optarg; break;
        case OPT_ENDPOINT_URL: f.endpoint_url = optarg; break;
        case OPT_PROFILE: f.profile = optarg; break;
        case OPT_HELP: tune_usage(stdout); rc = 0; goto out;
        default:
            break;
        }
    }
    if (rc < 0)
        goto out;
    if (argc - optind > 1) {
        rc = pt_error_set(err, PT_EUSAGE, "exactly one FUNCTION expected, got %d", argc - optind);
        goto out;
    }
    /* The input: the file, then FUNCTION, then the flags; all validated before anything runs. */
    if (f.input_file && (rc = tune_read_input_file(f.input_file, &in, err)))
        goto out;
    if (optind < argc && (rc = pt_tune_input_set_function(&in, argv[optind], err)))
        goto out;
    if (!in.function[0]) {
        rc = pt_error_set(err, PT_EUSAGE, "missing FUNCTION (a code directory), or --input with "
                                          "lambdaARN");
        goto out;
    }
    remote = tune_is_remote(&in, &f, eo.opt.region);
    if (eo.opt.region)
        pt_strlcpy(in.region, eo.opt.region, sizeof(in.region));
    f.arch = fo.architecture; /* --architecture: the function's label, which pricing follows */
    if ((rc = tune_apply_flags(&f, &in, err)))
        goto out;
    /* Where the results go, checked now: a run can take hours (and money, in AWS). --output
     * may replace --compare (the previous run's output, read before the run), so the list is
     * ordered for three windows: --output [1, 6), --report [0, 5), --samples [3, 5). */
    const struct cli_file_use kept[] = {
        {"--compare", rep.compare_path}, {"--samples", f.samples},
        {"--resume", f.resume},          {"--input", f.input_file},
        {"--payload-file", f.payload_file}, {"--report", rep.report_path},
    };
    if (f.output && (rc = cli_output_check("--output", f.output, kept + 1, 5, err)))
        goto out;
    if (rep.report_path &&
        (rc = cli_output_check("--report", rep.report_path, kept, 5, err)))
        goto out;
    /* A new samples file is created empty: it may not be one of the files the run reads
     * (the --resume file, reached another way, is appended to instead). */
    if (f.samples && !(f.resume && pt_path_same_file(f.samples, f.resume)) &&
        (rc = cli_output_check("--samples", f.samples, kept + 3, 2, err)))
        goto out;
    bool region_known = in.region[0] || remote;
    if (!in.region[0])
        pt_strlcpy(in.region, getenv("AWS_REGION") && *getenv("AWS_REGION") ? getenv("AWS_REGION")
                                                                            : "us-east-1",
                   sizeof(in.region));
    if (remote) {
        char region[PT_AWS_REGION_MAX];
        if ((rc = tune_remote_open(ctx, &in, &f, &eo.opt, &client, &ltarget, region,
                                   sizeof(region), &notes, err)))
            goto out;
        pt_strlcpy(in.region, region, sizeof(in.region));
        /* Pricing follows the function's architecture unless --architecture says otherwise. */
        if (!f.arch && (rc = pt_tune_input_set_architecture(
                            &in, pt_lambda_target_original(ltarget)->architecture, err)))
            goto out;
    }
    /* payloadS3: the object is read now, before anything runs, and becomes the payload. */
    if (in.payload_s3 && (rc = tune_fetch_payload_s3(&in, &f, region_known, &s3_payload, err)))
        goto out;
    struct pt_price_model price;
    if ((rc = pt_price_model_init(&price, in.pricing, in.region, in.architecture,
                                  in.price_per_gb_s, err)))
        goto out;
    if ((rc = cli_tune_report_prepare(&rep, &in, &price, err)))
        goto out;
    fo.state_dir = eo.opt.state_dir;
    if (!remote && (rc = cli_function_build(in.function, &fo, &cfg, err)))
        goto out;
    if (!remote && in.auto_optimize && pt_template_is_template(in.function)) {
        /* Checked now, not after the run (whose results the refusal would lose): an intrinsic
         * or block scalar MemorySize, a directory that cannot be written, ... */
        if ((rc = pt_template_check_memory(in.function, NULL, in.powers[0], err))) {
            pt_error_wrap(err, "--auto-optimize");
            goto out;
        }
    }
    if (f.resume) {
        if ((rc = pt_samples_read(f.resume, &resume, err)))
            goto out;
        if (!tune_same_function(resume.header.function, in.function, remote)) {
            rc = pt_error_set(err, PT_EUSAGE,
                              "--resume %s: its samples are of function \"%s\", not \"%s\"",
                              f.resume, resume.header.function, in.function);
            goto out;
        }
        /* The file's header prices its samples (analyze reads it): appending a run priced
         * for another region or architecture would leave the two disagreeing. */
        if (strcmp(resume.header.region, in.region) != 0 ||
            strcmp(resume.header.architecture, in.architecture) != 0) {
            rc = pt_error_set(err, PT_EUSAGE,
                              "--resume %s: its samples were taken for %s %s, not %s %s; "
                              "allowed --region %s --architecture %s",
                              f.resume, resume.header.region, resume.header.architecture,
                              in.region, in.architecture, resume.header.region,
                              resume.header.architecture);
            goto out;
        }
        if ((rc = tune_check_resume(&in, s3_payload ? s3_payload : in.payload, &resume,
                                    f.resume, err)))
            goto out;
        if (resume.truncated_tail && truncate(f.resume, resume.valid_bytes) != 0) {
            rc = pt_error_set(err, PT_EIO, "--resume %s: cannot cut its unfinished last line",
                              f.resume);
            goto out;
        }
    }
    cli_tune_note_warnings(&notes, in.warnings);

    /* Run. */
    struct pt_target t;
    if (remote) {
        pt_lambda_target_as_target(ltarget, &t);
    } else {
        eo.opt.region = in.region;
        if ((rc = cli_engine_start(ctx, &eo, &engine, err)))
            goto out;
        if (pt_engine_degraded(engine))
            cli_tune_note(&notes, "degraded emulation: %s", pt_engine_describe(engine));
        if (pt_engine_sandbox_note(engine))
            cli_tune_note(&notes, "%s", pt_engine_sandbox_note(engine));
        if ((rc = pt_local_target_create(&target, engine, &cfg, err)))
            goto out;
        if (in.pre_processor[0] && (rc = tune_add_processor(target, in.pre_processor, &fo, err)))
            goto out;
        if (in.post_processor[0] && (rc = tune_add_processor(target, in.post_processor, &fo, err)))
            goto out;
        pt_local_target_as_target(target, &t);
    }
    /* Opened last, once everything that can refuse the run (the processors, the engine) has
     * accepted it: opening a new samples file empties it. */
    const char *samples_path = f.samples ? f.samples : f.resume;
    if (samples_path) {
        struct pt_samples_header h = {0};
        pt_strlcpy(h.function, in.function, sizeof(h.function));
        pt_strlcpy(h.region, in.region, sizeof(h.region));
        pt_strlcpy(h.architecture, in.architecture, sizeof(h.architecture));
        if (!(h.settings = pt_tune_input_settings(&in))) {
            rc = pt_error_set(err, PT_ENOMEM, "out of memory");
            goto out;
        }
        /* The same file however it is spelled (./r.jsonl, a link): opening it anew would
         * truncate the samples being resumed. */
        bool append = f.resume && pt_path_same_file(samples_path, f.resume);
        /* Resumed under other settings (a strategy, the allowed exceptions): the header is
         * made this run's, so analyze reproduces the run that finished the file. */
        if (append && !json_equal(resume.header.settings, h.settings))
            rc = pt_samples_rewrite(samples_path, &h, resume.samples, resume.n, err);
        if (rc == 0)
            rc = pt_samples_writer_open(&writer, samples_path, &h, append, err);
        json_decref(h.settings);
        if (rc)
            goto out;
        writer_open = true;
        /* A new file gets the resumed samples too, so it holds the whole run. */
        for (size_t i = 0; f.resume && !append && i < resume.n; i++)
            if ((rc = pt_samples_write(&writer, &resume.samples[i], err)))
                goto out;
    }
    struct tune_progress tp = {.tty = isatty(2), .start_ns = pt_mono_ns()};
    struct pt_runner_options ro = {
        .concurrency = in.concurrency,
        .samples = writer_open ? &writer : NULL,
        .resume = f.resume ? &resume : NULL,
        .progress = tune_progress_bar,
        .progress_arg = &tp,
        .price = &price,
        .interrupted = tune_interrupted,
        .interrupted_arg = ctx,
    };
    int run_rc = pt_runner_run(&in, s3_payload ? s3_payload : in.payload, &t, &ro, &report, err);
    if (tp.tty && run_rc)
        fputc('\n', stderr);
    if (run_rc == PT_EINTR) {
        rc = pt_error_set(err, PT_EINTR, "interrupted after %zu invocations%s%s", report.n_samples,
                          samples_path ? "; samples kept in " : "", samples_path ? samples_path : "");
        goto out;
    }
    if (run_rc) {
        rc = run_rc;
        goto out;
    }
    if (remote && pt_lambda_target_failed_versions(ltarget))
        cli_tune_note(&notes, "versions that never became Active, their invocations recorded as "
                      "failed (Powertune.VersionFailed, not sent): %s",
                      pt_lambda_target_failed_versions(ltarget));
    if (report.throttles)
        /* throttles counts every 429, the last one of an invocation that gave up too. */
        cli_tune_note(&notes,
                      "%ld throttled answers (429): %ld retried with backoff, %ld gave up "
                      "(recorded as %s, not billed)",
                      report.throttles, report.throttles - report.throttle_failures,
                      report.throttle_failures, PT_TUNE_THROTTLED_ERROR);
    if (in.dry_run) {
        printf("null\n");
        goto out;
    }
    if (report.adaptive.enabled) {
        const struct pt_adaptive *ad = &report.adaptive;
        long used = pt_adaptive_invocations(ad);
        long fixed = ad->num * (long)in.n_powers;
        cli_tune_note(&notes, "adaptive: %ld of %ld invocations (%ld saved); the recommendation "
                      "is %s within %g %% of the best at %.0f %% family-wise confidence; %s",
                      used, fixed, fixed > used ? fixed - used : 0,
                      ad->settled                         ? "settled"
                      : ad->stop == PT_ADAPTIVE_STOP_TIED   ? "NOT settled (tied: num would not "
                                                              "tell the sizes left apart)"
                      : ad->stop == PT_ADAPTIVE_STOP_BEHIND ? "NOT settled (the sizes left are "
                                                              "behind it: num would not make "
                                                              "one of them the pick)"
                                                            : "NOT settled (num reached)",
                      ad->tolerance * 100,
                      ad->confidence * 100, PT_ADAPTIVE_TEST_NAME);
        if (!(adaptive_json = pt_adaptive_json(ad))) {
            rc = pt_error_set(err, PT_ENOMEM, "out of memory");
            goto out;
        }
    }

    /* Analyse and report. */
    if ((rc = pt_tune_analyze(&in, &price, in.powers, in.n_powers, report.samples,
                              report.n_samples, NULL, &analysis, err)))
        goto out;
    analysed = true;
    if (report.adaptive.enabled)
        tune_adaptive_winner(&report.adaptive, &analysis);
    if (remote) {
        /* Aliases and versions go, $LATEST gets its configuration back (or the optimum). */
        int best = in.auto_optimize && analysis.winner >= 0 ? analysis.powers[analysis.winner].power
                                                            : 0;
        char version[PT_LAMBDA_VERSION_MAX] = "";
        /* A failed cleanup or restore does not cost the run its measurements: they are printed
         * and written first, then the failure is returned. */
        if ((finish_rc = pt_lambda_target_finish(ltarget, best, in.auto_optimize_alias, version,
                                                 &finish_err))) {
            best = 0;
            version[0] = '\0';
        }
        if (best)
            cli_tune_note(&notes, "autoOptimize: MemorySize of %s set to %d MB", in.function, best);
        if (best && version[0])
            cli_tune_note(&notes, "autoOptimizeAlias %s now points at version %s",
                          in.auto_optimize_alias, version);
    } else if (in.auto_optimize && analysis.winner >= 0) {
        /* Checked before the run, it can still fail now (the template edited meanwhile): the
         * run's results are written all the same, the failure is a note and the exit code. */
        rewrite_rc = tune_auto_optimize(&in, cfg.name, analysis.powers[analysis.winner].power,
                                        &notes, &rewrite_err);
        if (rewrite_rc)
            cli_tune_note(&notes, "autoOptimize: MemorySize not set to %d MB: %s",
                          analysis.powers[analysis.winner].power, rewrite_err.msg);
    }
    if (!remote && in.auto_optimize && in.auto_optimize_alias[0])
        cli_tune_note(&notes, "autoOptimizeAlias %s: aliases exist only for functions in AWS or "
                              "behind powertune serve; nothing to point locally",
                      in.auto_optimize_alias);
    struct cli_tune_outputs o = {.output_path = f.output, .json_stdout = f.json,
                                 .adaptive = adaptive_json};
    rc = cli_tune_emit(&in, &analysis, &notes, &o, err);
    if (!rc)
        rc = cli_tune_report_emit(&rep, "powertune tune", &in, &analysis, report.samples,
                                  report.n_samples, &notes, f.json, err);
    if (!rc && finish_rc)
        rc = pt_error_set(err, finish_rc, "%s", finish_err.msg);
    if (!rc)
        rc = cli_tune_require_pick(&analysis, err);
    if (!rc && rewrite_rc)
        rc = pt_error_set(err, rewrite_rc, "autoOptimize: %s", rewrite_err.msg);
out:
    if (ltarget && rc) {
        /* A failed or interrupted run: the cleanup and the restore still run, and when they
         * fail too the user learns what is left and the configuration to put back. */
        struct pt_error fe = {0}, first = *err;
        if (pt_lambda_target_finish(ltarget, 0, NULL, NULL, &fe))
            pt_error_set(err, rc, "%.400s; then %.600s", first.msg, fe.msg);
    }
    json_decref(adaptive_json);
    json_decref(s3_payload);
    if (analysed)
        pt_tune_analysis_free(&analysis);
    pt_runner_report_free(&report);
    pt_local_target_destroy(target);
    pt_lambda_target_destroy(ltarget); /* restores $LATEST if the run did not get to it */
    pt_aws_client_destroy(client);
    if (engine)
        cli_engine_stop(ctx, engine);
    if (writer_open)
        pt_samples_writer_close(&writer, NULL);
    pt_samples_file_free(&resume);
    cli_tune_notes_free(&notes);
    cli_tune_report_free(&rep);
    pt_function_config_free(&cfg);
    pt_tune_input_free(&in);
    cli_args_end(&args);
    return rc;
}
