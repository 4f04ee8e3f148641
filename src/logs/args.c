/*
 * args.c - the command line of `powertune logs`, in the library so that tests can check every
 * refusal: a bad option is PT_EUSAGE (exit 2) with a message naming the option and what is
 * allowed; nothing is half-understood (strict number parsing).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "logs/logs.h"

const char pt_logs_usage[] =
    "usage: powertune logs FILE... [options]\n\n"
    "Reads Lambda logs (text as Lambda writes it, with or without timestamps; the JSON log\n"
    "format; `aws logs tail` (any --format) and `filter-log-events` / `get-log-events` output;\n"
    "the engine's log streams; CloudWatch exports to S3 (the downloaded <prefix>/<task id>/\n"
    "tree); gzip; - for stdin; directories are searched for *.log *.txt *.json *.jsonl *.gz)\n"
    "and prints\n"
    "invocations, durations, concurrency per second from each invocation's interval (and the\n"
    "count x p99.5 estimate), the peak and the minutes before it, cold starts, memory\n"
    "right-sizing and cost. A REPORT read twice (overlapping exports, a file and its .gz) counts\n"
    "once: same timestamp, request id and figures.\n\n"
    "options:\n"
    "  --json                JSON on stdout (schema: docs/logs-json.md)\n"
    "  --report FILE.html    also write a self-contained HTML report with charts\n"
    "  --quota N             account concurrency quota (default 1000)\n"
    "  --reserved N          reserved concurrency of each function (default none)\n"
    "  --minutes N           minutes shown before the peak (default 6)\n"
    "  --function NAME       one function name for every input (default: from each input)\n"
    "  --region REGION       pricing region (default us-east-1)\n"
    "  --architecture ARCH   x86_64 (default) or arm64\n"
    "  --price-gb-s USD      price per GB-second (default: from the region's table)\n"
    "  --price-requests USD  price per 1M requests (default: from the region's table)\n"
    "  --threads N           reading threads, 1..16 (default: online CPUs)\n"
    "  --max-line BYTES      longer lines are skipped as unparsed (default 262144)\n"
    "  --max-invocations N   memory bound, 28 bytes each (default 50000000)\n";

enum {
    OPT_JSON = 2000,
    OPT_REPORT,
    OPT_QUOTA,
    OPT_RESERVED,
    OPT_MINUTES,
    OPT_FUNCTION,
    OPT_REGION,
    OPT_ARCH,
    OPT_PRICE_GBS,
    OPT_PRICE_REQ,
    OPT_THREADS,
    OPT_MAX_LINE,
    OPT_MAX_INV,
    OPT_HELP,
};

static const struct option pt_logs_long_options[] = {
    {"json", no_argument, NULL, OPT_JSON},
    {"report", required_argument, NULL, OPT_REPORT},
    {"quota", required_argument, NULL, OPT_QUOTA},
    {"reserved", required_argument, NULL, OPT_RESERVED},
    {"minutes", required_argument, NULL, OPT_MINUTES},
    {"function", required_argument, NULL, OPT_FUNCTION},
    {"region", required_argument, NULL, OPT_REGION},
    {"architecture", required_argument, NULL, OPT_ARCH},
    {"price-gb-s", required_argument, NULL, OPT_PRICE_GBS},
    {"price-requests", required_argument, NULL, OPT_PRICE_REQ},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"max-line", required_argument, NULL, OPT_MAX_LINE},
    {"max-invocations", required_argument, NULL, OPT_MAX_INV},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static int want_long(const char *opt, const char *arg, long min, long max, long *out,
                     struct pt_error *err)
{
    if (pt_parse_long(arg, min, max, out) != 0)
        return pt_error_set(err, PT_EUSAGE, "--%s \"%s\": allowed %ld to %ld", opt, arg, min, max);
    return 0;
}

int pt_logs_cli_parse(int argc, char **argv, struct pt_logs_cli *cli, struct pt_error *err)
{
    long v;
    double d;
    int rc = 0;
    memset(cli, 0, sizeof(*cli));
    pt_logs_options_init(&cli->opt);
    cli->paths = calloc((size_t)(argc > 0 ? argc : 1), sizeof(*cli->paths));
    if (!cli->paths)
        return pt_error_set(err, PT_ENOMEM, "out of memory");
    /* getopt's own messages are off: ours name the option and go through main(). */
    opterr = 0;
    /* 0, not 1: getopt then starts afresh. With 1 it keeps the position inside the previous
     * command line's "-xq" (left there when an unknown letter stopped the parse) and reads on
     * from that string, refusing a good command line on the next call. */
    optind = 0;
    int c;
    while (!rc && (c = getopt_long(argc, argv, ":", pt_logs_long_options, NULL)) != -1) {
        switch (c) {
        case OPT_JSON: cli->json = true; break;
        case OPT_REPORT: cli->report_html = optarg; break;
        case OPT_QUOTA:
            rc = want_long("quota", optarg, 1, 100000000, &v, err);
            cli->opt.quota = v;
            break;
        case OPT_RESERVED:
            rc = want_long("reserved", optarg, 0, 100000000, &v, err);
            cli->opt.reserved = v;
            break;
        case OPT_MINUTES:
            rc = want_long("minutes", optarg, 0, 1440, &v, err);
            cli->opt.minutes_before = (int)v;
            break;
        case OPT_FUNCTION:
            if (!optarg[0] || strlen(optarg) > 200)
                rc = pt_error_set(err, PT_EUSAGE, "--function: a name of 1 to 200 characters");
            cli->opt.function = optarg;
            break;
        case OPT_REGION:
            if (strlen(optarg) >= sizeof(cli->opt.region) || !optarg[0])
                rc = pt_error_set(err, PT_EUSAGE, "--region \"%s\": not a region name", optarg);
            else
                pt_strlcpy(cli->opt.region, optarg, sizeof(cli->opt.region));
            break;
        case OPT_ARCH:
            if (strcmp(optarg, "x86_64") != 0 && strcmp(optarg, "arm64") != 0)
                rc = pt_error_set(err, PT_EUSAGE, "--architecture \"%s\": allowed x86_64 or arm64",
                                  optarg);
            else
                pt_strlcpy(cli->opt.architecture, optarg, sizeof(cli->opt.architecture));
            break;
        case OPT_PRICE_GBS:
            if (pt_parse_double(optarg, 0, 1, &d) != 0)
                rc = pt_error_set(err, PT_EUSAGE, "--price-gb-s \"%s\": allowed 0 to 1 (USD)",
                                  optarg);
            cli->opt.price_gb_s = d;
            break;
        case OPT_PRICE_REQ:
            if (pt_parse_double(optarg, 0, 1000, &d) != 0)
                rc = pt_error_set(err, PT_EUSAGE,
                                  "--price-requests \"%s\": allowed 0 to 1000 (USD per 1M)",
                                  optarg);
            cli->opt.price_requests = d;
            break;
        case OPT_THREADS:
            rc = want_long("threads", optarg, 1, PT_LOGS_THREADS_MAX, &v, err);
            cli->opt.threads = (int)v;
            break;
        case OPT_MAX_LINE:
            rc = want_long("max-line", optarg, 1024, 64L * 1024 * 1024, &v, err);
            cli->opt.max_line = (size_t)v;
            break;
        case OPT_MAX_INV:
            rc = want_long("max-invocations", optarg, 1, 1000000000L, &v, err);
            cli->opt.max_invocations = (size_t)v;
            break;
        case OPT_HELP: cli->help = true; break;
        case ':':
        case '?':
            rc = pt_getopt_refused(err, c, argc, argv, optind, optopt, "logs");
            break;
        default:
            rc = pt_error_set(err, PT_EUSAGE, "unknown option (see powertune logs --help)");
            break;
        }
    }
    if (!rc && !cli->help) {
        for (int i = optind; i < argc; i++)
            cli->paths[cli->npaths++] = argv[i];
        if (cli->npaths == 0)
            rc = pt_error_set(err, PT_EUSAGE, "missing FILE (a log file, a directory, or - for "
                                              "stdin)");
    }
    /* Lambda keeps 100 of the account's concurrency unreserved (lambda-wire.md, limits). */
    long most = cli->opt.quota > 100 ? cli->opt.quota - 100 : 0;
    if (!rc && !cli->help && cli->opt.reserved > 0 && cli->opt.reserved > most)
        rc = pt_error_set(err, PT_EUSAGE,
                          "--reserved %ld: allowed 0 to %ld (--quota %ld less the 100 Lambda "
                          "keeps unreserved)",
                          cli->opt.reserved, most, cli->opt.quota);
    if (!rc && !cli->help && (cli->opt.price_gb_s < 0 || cli->opt.price_requests < 0)) {
        double a, b;
        rc = pt_logs_price(cli->opt.region, cli->opt.architecture, &a, &b, err);
    }
    if (rc)
        pt_logs_cli_free(cli);
    return rc;
}

void pt_logs_cli_free(struct pt_logs_cli *cli)
{
    free(cli->paths);
    cli->paths = NULL;
    cli->npaths = 0;
}
