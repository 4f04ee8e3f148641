/*
 * tune.h - the pure core of `powertune tune`: input, payloads, statistics, prices,
 * strategies, the visualization URL, the output JSON and the samples file.
 *
 * Contract. Nothing here invokes a function or touches the network: the runner feeds
 * samples (one per invocation) in and gets the reference tool's answer out. Where the
 * reference tool (alexcasalboni/aws-lambda-power-tuning 4.4.0, described in
 * shared/reference/power-tuning.md, "the reference" below) defines a number - trimmed
 * means, prices, Step Functions cost, tie-breaks, the URL bytes - it is reproduced bit for
 * bit, including JavaScript's evaluation order and number formatting. Where the reference
 * fails late or silently (bad strategy after every invocation ran, unvalidated power
 * values, "truthy" strings) everything is refused up front with PT_EUSAGE and a message
 * naming the field, the value and what is allowed. Every function follows the error idiom
 * of base/error.h; every buffer filled from outside is bounded.
 *
 * Deliberate differences from the reference (all documented at the field they concern):
 * qualified ARNs and local function names are accepted; num >= 1 (a warning under 5);
 * booleans must be JSON booleans; JSON null means "use the default"; unknown input keys
 * are refused (a typo such as "enableParallel" is reported, not ignored); duplicate power
 * values are refused; a power whose invocations fail beyond allowedExceptions is excluded
 * from the recommendation instead of aborting the run.
 */
#ifndef PT_TUNE_TUNE_H
#define PT_TUNE_TUNE_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/buf.h"
#include "base/error.h"

/* ---------------------------------------------------------------- limits -- */

#define PT_TUNE_POWER_MIN 128   /* Lambda's memory range, MB */
#define PT_TUNE_POWER_MAX 10240
#define PT_TUNE_NUM_MAX 100000  /* invocations per power value (the reference has no bound) */
#define PT_TUNE_FUNCTION_MAX 1024 /* lambdaARN / local function name, bytes incl. NUL */
#define PT_TUNE_NAME_MAX 256    /* alias, processor names */
#define PT_TUNE_REGION_MAX 32
#define PT_TUNE_ARCH_MAX 16
#define PT_TUNE_ERROR_TYPE_MAX 128 /* as struct pt_invoke_result.error_type */
/* A sample's error when every retry of a throttled invocation was throttled: never billed. */
#define PT_TUNE_THROTTLED_ERROR "TooManyRequestsException"
/* A sample's error when the alias's version was Failed instead of Active (remote tune): not
 * sent, never billed. */
#define PT_TUNE_VERSION_FAILED_ERROR "Powertune.VersionFailed"
#define PT_TUNE_ALLOWED_MAX 64  /* allowedExceptions entries */
#define PT_TUNE_SLEEP_MAX_MS 3600000L
#define PT_TUNE_CONCURRENCY_MAX 1000 /* Lambda's default account concurrency */
#define PT_TUNE_S3_MAX 1100     /* bucket (63) + key (1024) */
#define PT_TUNE_ADAPTIVE_TOLERANCE 0.05   /* --adaptive-tolerance's default, as a fraction */
#define PT_TUNE_ADAPTIVE_TOLERANCE_MAX 50 /* percent */

/* Default visualization site (template.yml `visualizationURL`). */
#define PT_TUNE_VIZ_BASE_URL "https://lambda-power-tuning.show/"

/* ----------------------------------------------------------------- input -- */

enum pt_tune_strategy {
    PT_STRATEGY_COST = 0, /* default, also for "" and null */
    PT_STRATEGY_SPEED,
    PT_STRATEGY_BALANCED,
};
#define PT_STRATEGY_COUNT 3

enum pt_pricing_mode {
    PT_PRICING_EXACT = 0,    /* AWS's GB-second price + $0.20 per 1M requests (default) */
    PT_PRICING_POWER_TUNING, /* the reference's constants and formula, bit for bit */
};

/* Warnings (bits of pt_tune_input.warnings): the run goes on, the user is told. */
enum {
    PT_TUNE_WARN_NUM_BELOW_5 = 1u << 0,       /* the reference refuses num < 5 */
    PT_TUNE_WARN_WEIGHT_CLAMPED = 1u << 1,    /* balancedWeight outside [0, 1] */
    PT_TUNE_WARN_DISCARD_CLAMPED = 1u << 2,   /* discardTopBottom outside [0, 0.4] */
    PT_TUNE_WARN_DISCARD_COLD = 1u << 3,      /* discardTopBottom set, forced to 0 by onlyColdStarts */
    PT_TUNE_WARN_SLEEP_PARALLEL = 1u << 4,    /* sleepBetweenRunsMs ignored when parallel */
    PT_TUNE_WARN_ALIAS_NO_OPTIMIZE = 1u << 5, /* autoOptimizeAlias without autoOptimize */
    PT_TUNE_WARN_S3_OVER_PAYLOAD = 1u << 6,   /* payloadS3 wins over payload */
    PT_TUNE_WARN_DISCARD_NOT_ENOUGH = 1u << 7, /* floor(num x discardTopBottom) == 0: no trimming */
    PT_TUNE_WARN_CONCURRENCY_SERIES = 1u << 8, /* concurrency without parallelInvocation */
    PT_TUNE_WARN_TOLERANCE_FIXED = 1u << 9,    /* adaptiveTolerance without adaptive */
};
#define PT_TUNE_WARN_COUNT 10

struct pt_tune_input {
    /* lambdaARN: an ARN (arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]; the
     * reference refuses the qualified form, #166) or a local function (name or path). */
    char function[PT_TUNE_FUNCTION_MAX];
    bool is_arn;
    char function_name[PT_TUNE_FUNCTION_MAX]; /* NAME of an ARN, else = function */
    char qualifier[PT_TUNE_NAME_MAX];         /* of a qualified ARN, else "" */
    char account[16];                         /* of an ARN, else "" */

    long num;          /* required; 1..PT_TUNE_NUM_MAX; 0 = not given yet */
    int *powers;       /* input order (the order of the reference's Map and its tie-breaks) */
    size_t n_powers;

    /* payload: the raw JSON value as given (NULL = absent); converted per invocation by
     * pt_tune_payloads_generate. payloadS3 wins over it; its object is fetched by the runner. */
    json_t *payload;
    bool payload_s3;
    char s3_bucket[PT_TUNE_S3_MAX];
    char s3_key[PT_TUNE_S3_MAX];

    bool parallel;                 /* parallelInvocation */
    enum pt_tune_strategy strategy;
    double balanced_weight;        /* clamped to [0, 1]; default 0.5 */
    bool auto_optimize;
    char auto_optimize_alias[PT_TUNE_NAME_MAX];
    bool dry_run;                  /* one invocation per power, output null */
    char pre_processor[PT_TUNE_FUNCTION_MAX];
    char post_processor[PT_TUNE_FUNCTION_MAX];
    double discard_top_bottom;     /* clamped to [0, 0.4]; default 0.2; 0 with onlyColdStarts */
    long sleep_between_runs_ms;
    bool only_cold_starts;
    bool include_output_results;
    bool disable_payload_logs;
    char allowed_exceptions[PT_TUNE_ALLOWED_MAX][PT_TUNE_ERROR_TYPE_MAX];
    size_t n_allowed;

    /* Ours. JSON keys: region, architecture, concurrency, failFast, pricing, pricePerGbS,
     * adaptive, adaptiveTolerance (percent). */
    char region[PT_TUNE_REGION_MAX];   /* "" = not given (the ARN's region fills it) */
    char architecture[PT_TUNE_ARCH_MAX]; /* x86_64 (default) or arm64 */
    int concurrency;                   /* cap for parallel runs; 0 = not given (runner's default) */
    bool fail_fast;                    /* the reference's abort-on-first-failure */
    enum pt_pricing_mode pricing;
    double price_per_gb_s;             /* > 0 overrides the exact-mode table; 0 = table */
    bool adaptive;
    double adaptive_tolerance;         /* fraction under which two powers are equally good;
                                        * default PT_TUNE_ADAPTIVE_TOLERANCE (see adaptive.h) */

    unsigned warnings;                 /* PT_TUNE_WARN_* */

    /* What was given explicitly (for warnings and to let CLI flags override a file). */
    bool discard_set, weight_set, arch_set, tolerance_set;
    /* balancedWeight and discardTopBottom as given, before clamping or onlyColdStarts' 0: the
     * samples header keeps these, so that analyze warns as the run did. */
    double balanced_weight_given, discard_given;
};

/* Defaults of the reference: powers 128,256,512,1024,1536,3008, strategy cost, weight 0.5,
 * discardTopBottom 0.2, architecture x86_64, pricing exact. num stays 0 (required). */
void pt_tune_input_init(struct pt_tune_input *in);
void pt_tune_input_free(struct pt_tune_input *in);

/*
 * Parses the reference's execution input (a JSON object, verbatim) plus our keys into in
 * (initialised with pt_tune_input_init), then runs pt_tune_input_validate. Numbers may be
 * JSON numbers or numeric strings where the reference parses strings (num, powerValues,
 * sleepBetweenRunsMs, balancedWeight, discardTopBottom).
 */
int pt_tune_input_parse_json(struct pt_tune_input *in, const char *text, size_t len,
                             struct pt_error *err);

/*
 * The run's settings that shape an analysis of its samples (num, strategy, balancedWeight and
 * discardTopBottom when given, onlyColdStarts, allowedExceptions, includeOutputResults, pricing,
 * pricePerGbS), as an execution-input object: the samples header keeps it. NULL: out of memory.
 * apply reads such an object back (only those keys; each validated as in the execution input).
 */
json_t *pt_tune_input_settings(const struct pt_tune_input *in);
int pt_tune_input_apply_settings(struct pt_tune_input *in, const json_t *settings,
                                 struct pt_error *err);

/* Setters for the CLI flags; each validates its value (field named in messages as flag). */
/* "128,256,512", "ALL" (the reference's 46 values 128..3008 step 64) or "ALL10240" (ours:
 * 128..10240 step 64, 159 values). */
int pt_tune_input_set_powers(struct pt_tune_input *in, const char *list, struct pt_error *err);
int pt_tune_input_set_strategy(struct pt_tune_input *in, const char *name, struct pt_error *err);
/* --payload: JSON text. A weighted array ([{payload, weight}, ...]) is kept as a value; any
 * other document is kept as the string itself, so its bytes are sent unchanged. */
int pt_tune_input_set_payload_text(struct pt_tune_input *in, const char *text, size_t len,
                                   struct pt_error *err);
/* "TypeA,TypeB" */
int pt_tune_input_set_allowed_exceptions(struct pt_tune_input *in, const char *list,
                                         struct pt_error *err);
int pt_tune_input_set_pricing(struct pt_tune_input *in, const char *mode, struct pt_error *err);
int pt_tune_input_set_architecture(struct pt_tune_input *in, const char *arch,
                                   struct pt_error *err);
/* Clamped as the reference does (weight to [0, 1], discardTopBottom to [0, 0.4]), warned. */
void pt_tune_input_set_balanced_weight(struct pt_tune_input *in, double w);
void pt_tune_input_set_discard(struct pt_tune_input *in, double d);
/* Sets function (and is_arn, function_name, qualifier, account, region from an ARN). */
int pt_tune_input_set_function(struct pt_tune_input *in, const char *function,
                               struct pt_error *err);
/* s3://BUCKET/KEY, checked the reference's way (bucket and key non-empty, key URL-decoded). */
int pt_tune_input_set_payload_s3(struct pt_tune_input *in, const char *path, struct pt_error *err);

/*
 * Cross-field checks and clamping after all setters (fields without a setter - num,
 * sleep_between_runs_ms, concurrency, price_per_gb_s, booleans - may be assigned directly
 * and are range-checked here): function and num given, weighted
 * payloads allocatable for num, discardTopBottom forced to 0 with onlyColdStarts, region
 * consistent with the ARN; sets the warnings. Idempotent.
 */
int pt_tune_input_validate(struct pt_tune_input *in, struct pt_error *err);

/* One line of text per warning bit; NULL for an unknown bit. */
const char *pt_tune_warning_text(unsigned bit);
/* Invocations per power value: 1 for a dry run, else num. */
long pt_tune_input_runs_per_power(const struct pt_tune_input *in);
const char *pt_tune_strategy_name(enum pt_tune_strategy s);
const char *pt_pricing_mode_name(enum pt_pricing_mode m);

/* "ALL" / "ALL10240" into a static list. */
const int *pt_tune_preset_powers(const char *name, size_t *n);

/* --------------------------------------------------------------- payloads -- */

/*
 * The reference's convertPayload: a string that parses as JSON is sent unchanged, anything
 * else is JSON.stringify'd (so 'just a string' becomes "\"just a string\"", an object its
 * compact JSON with JavaScript's key order and number format). NULL value = JSON null.
 * Returns a malloc'd NUL-terminated string (length in *len if not NULL).
 */
char *pt_tune_payload_convert(const json_t *value, size_t *len, struct pt_error *err);
/* The reference's isWeightedPayload: a non-empty array whose every element is an object
 * with a truthy "weight" and a truthy "payload". */
bool pt_tune_payload_is_weighted(const json_t *payload);
/* JavaScript truthiness of a JSON value (NULL = undefined = false). */
bool pt_tune_json_truthy(const json_t *v);

/*
 * The reference's allocation (utils.generatePayloads, power-tuning.md 1.4): counts[i] =
 * floor(weight_i x num / total), each >= 1, the last replaced by num - sum of the others.
 * Errors, verbatim: 'You have <n> payloads and only "num"=<num>. Please increase "num".',
 * 'Invalid payload weight (num is too small)'; ours, where the reference overflows (weight x num
 * = Infinity): 'Invalid payload weight (payload[i].weight ... leaves the other payloads less
 * than one invocation each ...)'.
 */
int pt_tune_payload_allocate(const double *weights, size_t n, long num, long *counts,
                             struct pt_error *err);

/* num payloads for one power value: texts[payload_of[i]] is what invocation i sends.
 * Weighted: one text per item, in contiguous blocks (all of the first, then the second...). */
struct pt_tune_payloads {
    char **texts;
    size_t *text_len;
    size_t n_texts;
    int *payload_of; /* num entries: index into texts (the samples' payloadIndex) */
    long num;
};
/* payload: the raw value (in->payload, or the S3 body from pt_tune_payload_from_s3_body). */
int pt_tune_payloads_generate(const json_t *payload, long num, struct pt_tune_payloads *out,
                              struct pt_error *err);
void pt_tune_payloads_free(struct pt_tune_payloads *p);
/* The reference's S3 body rule: JSON if it parses, else the raw text as a string. */
json_t *pt_tune_payload_from_s3_body(const char *body, size_t len);

/* ------------------------------------------------------------- statistics -- */

/* One invocation, as the runner records it and the samples file stores it. */
struct pt_tune_sample {
    int power;                  /* MB */
    double duration_ms;
    double billed_ms;           /* whole ms on Lambda */
    double init_ms;             /* < 0 = absent (warm start) */
    int max_memory_used_mb;
    double cpu_time_ms;
    bool cold_start;
    char error[PT_TUNE_ERROR_TYPE_MAX]; /* "" = none, else the errorType */
    int payload_index;
    int64_t t_ms;               /* epoch ms */
};

struct pt_tune_dist { /* over Duration + Init of the counted samples, untrimmed */
    double min, max, mean;
    double stddev;            /* sample standard deviation (n - 1); 0 when n < 2 */
    double p50, p90, p99;     /* linear interpolation between closest ranks (numpy default) */
};

/* The cold-start table of seeds.md 3: over the Init Durations present. */
struct pt_tune_init_stats {
    size_t count;
    double mean, median, max, min;
    double variance; /* sample variance (n - 1); 0 when count < 2 */
};

struct pt_tune_error_count {
    char type[PT_TUNE_ERROR_TYPE_MAX];
    size_t count;
    bool allowed; /* in allowedExceptions: counted in the statistics, as the reference does */
};

struct pt_tune_power_stats {
    int power;
    size_t invocations;     /* all samples of this power */
    size_t counted;         /* successes + allowed errors: what the statistics use */
    size_t failed;          /* errors not in allowedExceptions, and requests throttled */
    size_t throttled;       /* of failed: requests given up throttled (pt_tune_sample_throttled) */
    size_t cold_starts;
    /* The reference's figures (trimmed means over the counted samples). */
    double average_duration; /* trim(Duration + Init) */
    double average_billed;   /* trim(Billed Duration) */
    double average_price;    /* $ per invocation (pt_price_average) */
    double total_cost;       /* $ of every invocation of this power, failed ones included */
    /* Ours. */
    struct pt_tune_dist duration;
    int max_memory_used_mb;
    double cpu_mean_ms, cpu_max_ms;
    struct pt_tune_init_stats init;
    struct pt_tune_error_count *errors; /* distinct types, in order of first appearance */
    size_t n_errors;
    bool excluded;          /* not a candidate for the recommendation */
    char excluded_reason[512];
};

/*
 * The reference's trimmed mean (utils.computeAverageDuration): k = floor(n x d), drop k
 * from each end of the ascending sort, sum left to right from 0, divide by n - 2k. 0 for
 * n == 0. Sorts values in place. d must be in [0, 0.4] (clamped input).
 */
double pt_tune_trimmed_mean(double *values, size_t n, double d);
/* p in [0, 100] over ascending values; 0 for n == 0. */
double pt_tune_percentile(const double *sorted, size_t n, double p);
/* Fills st from values (sorted in place). */
void pt_tune_init_stats_compute(double *values, size_t n, struct pt_tune_init_stats *st);

/*
 * Statistics of one power value from the samples whose power matches (others ignored).
 * Counted samples: no error, or an error listed in allowed. The power is excluded when a
 * sample failed otherwise, when nothing was counted, or when average_duration is 0 (the
 * reference's Analyzer filter); excluded_reason says which. Prices are left at 0: see
 * pt_price_fill.
 */
int pt_tune_stats_compute(int power, const struct pt_tune_sample *samples, size_t n,
                          double discard_top_bottom,
                          const char (*allowed)[PT_TUNE_ERROR_TYPE_MAX], size_t n_allowed,
                          struct pt_tune_power_stats *out, struct pt_error *err);
void pt_tune_stats_free(struct pt_tune_power_stats *st);
/*
 * A request the runner gave up on after every retry was throttled: recorded with the error
 * PT_TUNE_THROTTLED_ERROR and nothing run (0 ms, nothing billed). A function's own error of
 * that type (it called a throttled API) ran and was billed: it is not one.
 */
bool pt_tune_sample_throttled(const struct pt_tune_sample *s);
/* A request never sent, so nothing ran and nothing is billed: given up throttled, or its
 * version Failed (PT_TUNE_VERSION_FAILED_ERROR, 0 ms). */
bool pt_tune_sample_not_sent(const struct pt_tune_sample *s);
/* What the statistics use: a success, or an error listed in allowed (allowedExceptions, the
 * function's errors: never a request not sent, as a throttled one, which the reference fails
 * on). */
bool pt_tune_sample_counted(const struct pt_tune_sample *s,
                            const char (*allowed)[PT_TUNE_ERROR_TYPE_MAX], size_t n_allowed);

/* ---------------------------------------------------------------- pricing -- */

/*
 * power-tuning mode (template.yml): baseCosts are $ per ms at 128 MB; x86_64 per region
 * (ap-east-1 2.9e-9, af-south-1 2.8e-9, me-south-1 2.6e-9, eu-south-1 2.4e-9,
 * ap-northeast-3 2.7e-9, cn-north-1 and cn-northwest-1 1.42e-8 CNY, default 2.1e-9), arm64
 * one price 1.7e-9 everywhere; unknown regions take `default`.
 *   price = ceil(ms) x baseCost x (memory / 128)           (JavaScript's evaluation order)
 *
 * exact mode: AWS's first-tier price per GB-second (aws.amazon.com/lambda/pricing) plus
 * $0.20 per 1M requests; tiers, free tier and ephemeral storage are not modelled.
 *   price = billed_ms / 1000 x memory / 1024 x gbS + 2e-7
 * Regions in the table (x86_64 / arm64 $ per GB-s):
 *   us-east-1, us-east-2, us-west-1, us-west-2, ca-central-1, eu-central-1, eu-west-1,
 *   eu-west-2, eu-west-3, eu-north-1, ap-south-1, ap-southeast-1, ap-southeast-2,
 *   ap-northeast-1, ap-northeast-2, sa-east-1: 0.0000166667 / 0.0000133334
 *   af-south-1 0.0000221 / 0.00001768; ap-east-1 0.00002292 / 0.0000183;
 *   eu-south-1 0.0000195172 / 0.0000156138; me-south-1 and me-central-1 0.0000206667 /
 *   0.0000165334.
 * The us-east-1 figures are lambda-wire.md 5; the others are AWS's published regional
 * prices as carried by public pricing tables, and agree with the reference's baseCosts
 * (which are these / 8000, rounded). The request charge is $0.20 per 1M in every region
 * of the table (verified for us-east-1 only). Any other region (ap-northeast-3, China,
 * GovCloud, newer regions) is refused unless a price per GB-s is supplied.
 * exact mode averages: average_billed is not ceiled (whole-ms billing applies per
 * invocation, so the mean of whole ms is the true mean bill).
 */
struct pt_price_model {
    enum pt_pricing_mode mode;
    char region[PT_TUNE_REGION_MAX];
    char architecture[PT_TUNE_ARCH_MAX];
    double base_cost;      /* power-tuning: $ (or CNY) per ms at 128 MB */
    double gb_s;           /* exact: $ per GB-second */
    double request;        /* exact: $ per request (2e-7) */
    double sf_transition;  /* the reference's sfCosts for region (state transitions) */
    bool cny;              /* cn- region: prices in CNY, URL gets ?currency=CNY */
};

/* price_per_gb_s > 0 overrides exact mode's table (any region accepted then). Errors:
 * unknown architecture (the reference's 'Unsupported architecture: <arch>'), exact-mode
 * region not in the table. */
int pt_price_model_init(struct pt_price_model *m, enum pt_pricing_mode mode, const char *region,
                        const char *architecture, double price_per_gb_s, struct pt_error *err);
/* The regions of the exact-pricing table, comma-separated (for messages). */
const char *pt_price_exact_regions(void);
/* The reference's utils.computePrice / our exact formula, for one (average) invocation. */
double pt_price_invocation(const struct pt_price_model *m, int memory_mb, double billed_ms);
/* Average price per invocation from the trimmed mean of billed ms. */
double pt_price_average(const struct pt_price_model *m, int memory_mb, double average_billed_ms);
/* Fills average_price and total_cost of st from the samples of its power (all of them). */
void pt_price_fill(const struct pt_price_model *m, const struct pt_tune_sample *samples, size_t n,
                   struct pt_tune_power_stats *st);
/* The reference's baseCosts lookup (power-tuning mode). */
int pt_price_base_cost(const char *region, const char *architecture, double *out,
                       struct pt_error *err);
/* The reference's sfCosts lookup. */
double pt_price_sf_transition(const char *region);
/*
 * utils.stepFunctionsCost: multiplier 6 + 3 nPower, or 6 + nPower + 2 nPower num with
 * onlyColdStarts; sf x multiplier rounded like JavaScript's +(x).toFixed(5).
 */
double pt_price_sf_execution_cost(double sf_transition, size_t n_power, bool only_cold_starts,
                                  long num);
/* JavaScript's +(x).toFixed(digits) for |x| < 1e15: ties round away from zero. */
double pt_js_to_fixed(double x, int digits);

/* ------------------------------------------------------------- strategies -- */

struct pt_tune_candidate {
    int power;
    double cost;       /* average price */
    double duration;   /* average duration */
};

/*
 * The reference's Analyzer sort (a stable sort; ties keep input order):
 *   cost:     by cost, equal costs by duration;
 *   speed:    by duration, equal durations by cost;
 *   balanced: by w x cost / maxCost + (1 - w) x duration / maxDuration, evaluated in
 *             JavaScript's order; a NaN comparison counts as equal, as in V8.
 * Weight convention (the reference's code and README-EXECUTE): w = 1 acts like cost,
 * w = 0 like speed. The 2020 article (seeds.md 1) states it the other way round; the code
 * is followed so existing inputs give the same answer.
 * order (n entries) receives candidate indices best first; returns order[0], or -1 for n 0.
 */
int pt_tune_rank(const struct pt_tune_candidate *c, size_t n, enum pt_tune_strategy s,
                 double weight, size_t *order);

/* ------------------------------------------------------------ visualization -- */

struct pt_viz_point {
    int power;
    double duration;
    double cost;
};

/*
 * <base>[?currency=CNY]#<P>;<D>;<C>: powers int16 LE, durations and costs float32 LE, each
 * standard base64; points sorted ascending by power (stable) first. base NULL = the default.
 */
int pt_viz_url(const char *base, bool cny, const struct pt_viz_point *pts, size_t n, char **out,
               struct pt_error *err);
/* The comparison form: P1;D1;C1;P2;D2;C2;encodeURIComponent(legend1);encodeURIComponent(legend2). */
int pt_viz_url_compare(const char *base, bool cny, const struct pt_viz_point *a, size_t na,
                       const struct pt_viz_point *b, size_t nb, const char *legend1,
                       const char *legend2, char **out, struct pt_error *err);

/* A decoded URL or fragment (3 or 8 parts); free with pt_viz_decoded_free. */
struct pt_viz_decoded {
    struct pt_viz_point *a, *b; /* durations/costs are the float32 values widened */
    size_t na, nb;
    char *legend1, *legend2;    /* decoded, comparison form only */
    bool cny;
};
int pt_viz_decode(const char *url, struct pt_viz_decoded *out, struct pt_error *err);
void pt_viz_decoded_free(struct pt_viz_decoded *d);
/* JavaScript's encodeURIComponent (UTF-8 bytes, unreserved A-Z a-z 0-9 - _ . ! ~ * ' ( )). */
int pt_uri_encode_component(const char *s, struct pt_buf *out, struct pt_error *err);

/* --------------------------------------------------------------- analysis -- */

struct pt_tune_analysis {
    struct pt_tune_power_stats *powers; /* the input's power order */
    size_t n_powers;
    int winner;                   /* index into powers under in->strategy; -1: none */
    int best[PT_STRATEGY_COUNT];  /* the winner under each strategy (same weight) */
    double execution_cost;        /* stateMachine.executionCost: the reference's Step Functions
                                     cost in power-tuning mode, 0 in exact mode (no state
                                     machine runs here) */
    double sf_equivalent_cost;    /* the reference's figure, whatever the mode */
    double lambda_cost;           /* stateMachine.lambdaCost: sum of total_cost of the kept
                                     powers, in the reference's summation order */
    double lambda_cost_all;       /* every invocation, excluded powers included */
    char *visualization;          /* URL over the kept powers */
    struct pt_price_model price;
};

/*
 * Everything the Analyzer does, from samples. powers: the order (NULL: order of first
 * appearance in the samples). Samples of a power not in powers are an error (PT_EUSAGE).
 * in supplies discardTopBottom, allowedExceptions, strategy, weight, onlyColdStarts, num.
 */
int pt_tune_analyze(const struct pt_tune_input *in, const struct pt_price_model *price,
                    const int *powers, size_t n_powers, const struct pt_tune_sample *samples,
                    size_t n_samples, const char *viz_base, struct pt_tune_analysis *out,
                    struct pt_error *err);
void pt_tune_analysis_free(struct pt_tune_analysis *a);

/* ----------------------------------------------------------------- output -- */

/*
 * The reference's output object:
 *   {"power", "cost", "duration", "stateMachine": {"executionCost", "lambdaCost",
 *    "visualization"}, ["stats": [{"value", "averagePrice", "averageDuration"}] (input
 *    order, unfiltered, with includeOutputResults)], "powertune": {our figures}}
 * With no recommendable power, power/cost/duration are null (the reference fails instead).
 * A dry run gives JSON null. Returns a new reference (json_decref it).
 */
json_t *pt_tune_output_json(const struct pt_tune_input *in, const struct pt_tune_analysis *a,
                            const char *const *notes, size_t n_notes);
/* Serialises like JavaScript's JSON.stringify(v, null, indent) (indent 0 = compact) into
 * out (appended): JavaScript number format and key order. */
int pt_tune_json_text(const json_t *v, int indent, struct pt_buf *out, struct pt_error *err);

/* ---------------------------------------------------------------- samples -- */

#define PT_SAMPLES_LINE_MAX 4096     /* bytes per sample line, newline excluded */
/* The header line's: its function (1023 bytes) and settings' allowedExceptions (64 of 127)
 * JSON-escaped at worst 6 bytes a byte come to about 55 KiB. */
#define PT_SAMPLES_HEADER_MAX 65536
#define PT_SAMPLES_MAX 1000000       /* samples per file */

struct pt_samples_header {
    char function[PT_TUNE_FUNCTION_MAX];
    char region[PT_TUNE_REGION_MAX];
    char architecture[PT_TUNE_ARCH_MAX];
    /* pt_tune_input_settings of the run, or NULL (files written before it was kept). The
     * writer borrows it; a file read owns it (pt_samples_file_free). */
    json_t *settings;
};

/* Thread-safe: one line per write(2), under a mutex, so parallel runners can share it. */
struct pt_samples_writer {
    int fd;
    pthread_mutex_t lock;
    char path[4096];
};

/* Creates (truncates) path and writes the header line; append = true keeps the file and
 * writes nothing (resume: read it with pt_samples_read first). */
int pt_samples_writer_open(struct pt_samples_writer *w, const char *path,
                           const struct pt_samples_header *h, bool append, struct pt_error *err);
int pt_samples_write(struct pt_samples_writer *w, const struct pt_tune_sample *s,
                     struct pt_error *err);
/* Replaces path with h's header and samples, atomically (a resumed run under other settings:
 * the header then describes the run that finished the file). */
int pt_samples_rewrite(const char *path, const struct pt_samples_header *h,
                       const struct pt_tune_sample *samples, size_t n, struct pt_error *err);
int pt_samples_writer_close(struct pt_samples_writer *w, struct pt_error *err);
/* One line (no newline) into out: the exact text pt_samples_write writes. */
int pt_samples_format_header(const struct pt_samples_header *h, struct pt_buf *out,
                             struct pt_error *err);
int pt_samples_format_sample(const struct pt_tune_sample *s, struct pt_buf *out,
                             struct pt_error *err);

struct pt_samples_file {
    struct pt_samples_header header;
    struct pt_tune_sample *samples;
    size_t n;
    bool truncated_tail;   /* the last line had no newline and did not parse: ignored */
    bool unterminated;     /* the last kept line has no newline: add one before appending */
    long long valid_bytes; /* length of the well-formed prefix (truncate here to resume) */
};
/* Every line is validated; errors are PT_EUSAGE "<path>:<line>: <field>: ..." (PT_ELIMIT for
 * an overlong line or too many samples, PT_ESYS/PT_EIO for the file). */
int pt_samples_read(const char *path, struct pt_samples_file *out, struct pt_error *err);
int pt_samples_read_stream(FILE *f, const char *name, struct pt_samples_file *out,
                           struct pt_error *err);
/* Parses one sample line (no newline); messages name the field, the caller adds the line. */
int pt_samples_parse_line(const char *line, size_t len, struct pt_tune_sample *s,
                          struct pt_error *err);
void pt_samples_file_free(struct pt_samples_file *f);

#endif
