/*
 * cmd_analyze.c - `powertune analyze FILE.jsonl`: recomputes a tuning from its samples
 * file without invoking anything, under any strategy, weight, trimming or pricing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "cli/cli.h"
#include "cli/tune_output.h"
#include "cli/tune_report.h"
#include "tune/tune.h"

enum {
    OPT_STRATEGY = CLI_OPT_COMMAND_BASE,
    OPT_WEIGHT,
    OPT_DISCARD,
    OPT_PRICING,
    OPT_PRICE_GB_S,
    OPT_REGION,
    OPT_ARCH,
    OPT_ALLOWED,
    OPT_INCLUDE_RESULTS,
    OPT_ONLY_COLD,
    OPT_OUTPUT,
    OPT_JSON,
    OPT_REPORT,
    OPT_COMPARE,
    OPT_HELP,
};

static const struct option analyze_options[] = {
    {"strategy", required_argument, NULL, OPT_STRATEGY},
    {"balanced-weight", required_argument, NULL, OPT_WEIGHT},
    {"discard-top-bottom", required_argument, NULL, OPT_DISCARD},
    {"pricing", required_argument, NULL, OPT_PRICING},
    {"price-per-gb-s", required_argument, NULL, OPT_PRICE_GB_S},
    {"region", required_argument, NULL, OPT_REGION},
    {"architecture", required_argument, NULL, OPT_ARCH},
    {"allowed-exceptions", required_argument, NULL, OPT_ALLOWED},
    {"include-output-results", no_argument, NULL, OPT_INCLUDE_RESULTS},
    {"only-cold-starts", no_argument, NULL, OPT_ONLY_COLD},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"json", no_argument, NULL, OPT_JSON},
    {"report", required_argument, NULL, OPT_REPORT},
    {"compare", required_argument, NULL, OPT_COMPARE},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static void analyze_usage(FILE *f)
{
    fprintf(f, "usage: powertune analyze FILE.jsonl [options]\n\n"
               "Recomputes a tuning from the samples `powertune tune --samples` wrote, without\n"
               "invoking anything. The run's settings (strategy, weight, discard, allowed\n"
               "exceptions, cold-start only, output results, pricing: the file's header keeps\n"
               "them) are the defaults; the flags below override them.\n\n"
               "  --strategy S, --balanced-weight W, --discard-top-bottom D, --allowed-exceptions L\n"
               "  --pricing exact|power-tuning, --price-per-gb-s X, --region R, --architecture A\n"
               "                        (region and architecture default to the file's)\n"
               "  --only-cold-starts    the run was cold-start only (Step Functions cost formula)\n"
               "  --include-output-results, --output FILE.json, --json\n"
               "  --report FILE.html    write a self-contained HTML report (charts, table, settings)\n"
               "  --compare OTHER.json  compare with a previous --output: print the two-run\n"
               "                        visualization URL, draw both runs in --report\n");
}

static int analyze_number(const char *flag, const char *v, double min, double max, double *out,
                          struct pt_error *err)
{
    if (pt_parse_double(v, min, max, out) != 0)
        return pt_error_set(err, PT_EUSAGE, "%s \"%s\": allowed a number from %g to %g", flag, v,
                            min, max);
    return 0;
}

int cmd_analyze(int argc, char **argv, struct cli_ctx *ctx, struct pt_error *err)
{
    (void)ctx;
    struct pt_tune_input in;
    pt_tune_input_init(&in);
    struct pt_samples_file file = {0};
    struct pt_tune_analysis analysis;
    bool analysed = false;
    struct cli_tune_notes notes = {0};
    struct cli_tune_report rep = {0};
    const char *strategy = NULL, *weight = NULL, *discard = NULL, *pricing = NULL,
               *price_gb_s = NULL, *region = NULL, *arch = NULL, *allowed = NULL, *output = NULL;
    bool json = false, include = false, only_cold = false;
    int *powers = NULL;
    long *per_power = NULL;
    int rc = 0;
    struct cli_args args;
    if ((rc = cli_args_begin(&args, argc, argv, "analyze", analyze_options, NULL, NULL, err)))
        return rc;
    int c;
    while ((rc = cli_args_next(&args, &c, err)) > 0) {
        switch (c) {
        case OPT_STRATEGY: strategy = optarg; break;
        case OPT_WEIGHT: weight = optarg; break;
        case OPT_DISCARD: discard = optarg; break;
        case OPT_PRICING: pricing = optarg; break;
        case OPT_PRICE_GB_S: price_gb_s = optarg; break;
        case OPT_REGION: region = optarg; break;
        case OPT_ARCH: arch = optarg; break;
        case OPT_ALLOWED: allowed = optarg; break;
        case OPT_INCLUDE_RESULTS: include = true; break;
        case OPT_ONLY_COLD: only_cold = true; break;
        case OPT_OUTPUT: output = optarg; break;
        case OPT_JSON: json = true; break;
        case OPT_REPORT: rep.report_path = optarg; break;
        case OPT_COMPARE: rep.compare_path = optarg; break;
        case OPT_HELP: analyze_usage(stdout); rc = 0; goto out;
        default:
            break;
        }
    }
    if (rc < 0)
        goto out;
    if (optind != argc - 1) {
        rc = pt_error_set(err, PT_EUSAGE, optind >= argc ? "missing FILE.jsonl (a samples file)"
                                                         : "exactly one samples file expected");
        goto out;
    }
    /* --output may replace --compare (read first); --report may not: [1, 3) and [0, 2). */
    const struct cli_file_use kept[] = {{"--compare", rep.compare_path},
                                        {"the samples file", argv[optind]},
                                        {"--report", rep.report_path}};
    if (output && (rc = cli_output_check("--output", output, kept + 1, 2, err)))
        goto out;
    if (rep.report_path && (rc = cli_output_check("--report", rep.report_path, kept, 2, err)))
        goto out;
    if ((rc = pt_samples_read(argv[optind], &file, err)))
        goto out;
    if (!file.n) {
        rc = pt_error_set(err, PT_EUSAGE, "%s holds no samples", argv[optind]);
        goto out;
    }
    /* The powers in the order they were run, and num = the most samples of one power: one
     * pass, counted by power (the reader keeps powers within Lambda's range). */
    powers = calloc(file.n, sizeof(*powers));
    per_power = calloc(PT_TUNE_POWER_MAX - PT_TUNE_POWER_MIN + 1, sizeof(*per_power));
    size_t n_powers = 0;
    long num = 0;
    if (!powers || !per_power) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < file.n; i++) {
        long *count = &per_power[file.samples[i].power - PT_TUNE_POWER_MIN];
        if ((*count)++ == 0)
            powers[n_powers++] = file.samples[i].power;
        if (*count > num)
            num = *count;
    }
    if ((rc = pt_tune_input_set_function(&in, file.header.function, err)))
        goto out;
    /* Nothing is invoked: the function is a label here, and --region prices its samples in
     * another region than its ARN's (validation would refuse that for a run). */
    if (region)
        in.is_arn = false;
    /* The run's own settings first (its header keeps them): analyze reproduces the run, and
     * the flags below change what they name. */
    if (file.header.settings &&
        (rc = pt_tune_input_apply_settings(&in, file.header.settings, err))) {
        pt_error_wrap(err, "%s:1", argv[optind]);
        goto out;
    }
    if (in.num < num) /* a file without settings, or resumed beyond them */
        in.num = num;
    in.only_cold_starts |= only_cold;
    in.include_output_results |= include;
    pt_strlcpy(in.region, region ? region : file.header.region, sizeof(in.region));
    if ((rc = pt_tune_input_set_architecture(&in, arch ? arch : file.header.architecture, err)))
        goto out;
    if (strategy && (rc = pt_tune_input_set_strategy(&in, strategy, err)))
        goto out;
    double d;
    if (weight) {
        if ((rc = analyze_number("--balanced-weight", weight, 0, 1, &d, err)))
            goto out;
        pt_tune_input_set_balanced_weight(&in, d);
    }
    if (discard) {
        if ((rc = analyze_number("--discard-top-bottom", discard, 0, 0.4, &d, err)))
            goto out;
        pt_tune_input_set_discard(&in, d);
    }
    if (price_gb_s) {
        if ((rc = analyze_number("--price-per-gb-s", price_gb_s, 1e-12, 1, &d, err)))
            goto out;
        in.price_per_gb_s = d;
        /* A price asked for is exact pricing's, whatever the run's pricing was. */
        if (!pricing)
            in.pricing = PT_PRICING_EXACT;
    }
    if (pricing) {
        if ((rc = pt_tune_input_set_pricing(&in, pricing, err)))
            goto out;
        /* The run's own GB-second price belongs to its exact pricing, not to the one asked. */
        if (!price_gb_s && in.pricing == PT_PRICING_POWER_TUNING)
            in.price_per_gb_s = 0;
    }
    if (allowed && (rc = pt_tune_input_set_allowed_exceptions(&in, allowed, err)))
        goto out;
    free(in.powers);
    in.powers = powers;
    in.n_powers = n_powers;
    powers = NULL;
    if ((rc = pt_tune_input_validate(&in, err)))
        goto out;
    struct pt_price_model price;
    if ((rc = pt_price_model_init(&price, in.pricing, in.region, in.architecture,
                                  in.price_per_gb_s, err)))
        goto out;
    if ((rc = cli_tune_report_prepare(&rep, &in, &price, err)))
        goto out;
    if ((rc = pt_tune_analyze(&in, &price, in.powers, in.n_powers, file.samples, file.n, NULL,
                              &analysis, err)))
        goto out;
    analysed = true;
    cli_tune_note_warnings(&notes, in.warnings);
    if (file.truncated_tail)
        cli_tune_note(&notes, "the last line of %s was unfinished and was ignored", argv[optind]);
    struct cli_tune_outputs o = {.output_path = output, .json_stdout = json};
    rc = cli_tune_emit(&in, &analysis, &notes, &o, err);
    if (!rc)
        rc = cli_tune_report_emit(&rep, "powertune analyze", &in, &analysis, file.samples, file.n,
                                  &notes, json, err);
    if (!rc)
        rc = cli_tune_require_pick(&analysis, err);
out:
    if (analysed)
        pt_tune_analysis_free(&analysis);
    free(powers);
    free(per_power);
    pt_samples_file_free(&file);
    cli_tune_notes_free(&notes);
    cli_tune_report_free(&rep);
    pt_tune_input_free(&in);
    cli_args_end(&args);
    return rc;
}
