/*
 * input.c - the reference's execution input (power-tuning.md 1.1), parsed and validated
 * before anything runs.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/arn.h"
#include "base/str.h"
#include "tune/jsjson.h"
#include "tune/tune.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The reference's deploy-time default PowerValues (template.yml). */
static const int default_powers[] = {128, 256, 512, 1024, 1536, 3008};

/* Presets: "ALL" is utils.allPowerValues (128..3008 step 64, 46 values, #217); "ALL10240"
 * is ours, the same step up to Lambda's 10240 MB maximum (159 values). */
#define ALL_COUNT 46
#define ALL10240_COUNT 159

struct preset {
    int values[ALL10240_COUNT];
};

static const struct preset all_powers = {{
#define S(i) (128 + 64 * (i))
    S(0),  S(1),  S(2),  S(3),  S(4),  S(5),  S(6),  S(7),  S(8),  S(9),  S(10), S(11),
    S(12), S(13), S(14), S(15), S(16), S(17), S(18), S(19), S(20), S(21), S(22), S(23),
    S(24), S(25), S(26), S(27), S(28), S(29), S(30), S(31), S(32), S(33), S(34), S(35),
    S(36), S(37), S(38), S(39), S(40), S(41), S(42), S(43), S(44), S(45), S(46), S(47),
    S(48), S(49), S(50), S(51), S(52), S(53), S(54), S(55), S(56), S(57), S(58), S(59),
    S(60), S(61), S(62), S(63), S(64), S(65), S(66), S(67), S(68), S(69), S(70), S(71),
    S(72), S(73), S(74), S(75), S(76), S(77), S(78), S(79), S(80), S(81), S(82), S(83),
    S(84), S(85), S(86), S(87), S(88), S(89), S(90), S(91), S(92), S(93), S(94), S(95),
    S(96), S(97), S(98), S(99), S(100), S(101), S(102), S(103), S(104), S(105), S(106),
    S(107), S(108), S(109), S(110), S(111), S(112), S(113), S(114), S(115), S(116), S(117),
    S(118), S(119), S(120), S(121), S(122), S(123), S(124), S(125), S(126), S(127), S(128),
    S(129), S(130), S(131), S(132), S(133), S(134), S(135), S(136), S(137), S(138), S(139),
    S(140), S(141), S(142), S(143), S(144), S(145), S(146), S(147), S(148), S(149), S(150),
    S(151), S(152), S(153), S(154), S(155), S(156), S(157), S(158),
#undef S
}};

_Static_assert(128 + 64 * (ALL_COUNT - 1) == 3008, "ALL ends at 3008");
_Static_assert(128 + 64 * (ALL10240_COUNT - 1) == 10240, "ALL10240 ends at 10240");

const int *pt_tune_preset_powers(const char *name, size_t *n)
{
    if (strcmp(name, "ALL") == 0) {
        *n = ALL_COUNT;
        return all_powers.values;
    }
    if (strcmp(name, "ALL10240") == 0) {
        *n = ALL10240_COUNT;
        return all_powers.values;
    }
    *n = 0;
    return NULL;
}

static const char *const strategy_names[PT_STRATEGY_COUNT] = {"cost", "speed", "balanced"};

const char *pt_tune_strategy_name(enum pt_tune_strategy s)
{
    return (unsigned)s < PT_STRATEGY_COUNT ? strategy_names[s] : "?";
}

const char *pt_pricing_mode_name(enum pt_pricing_mode m)
{
    return m == PT_PRICING_POWER_TUNING ? "power-tuning" : "exact";
}

static const char *const warning_texts[PT_TUNE_WARN_COUNT] = {
    ("num is below 5: the reference tool refuses it (\"Missing num or num below 5\") and "
     "trimmed means need enough invocations; results will be noisy"),
    "balancedWeight was outside [0, 1] and has been clamped",
    "discardTopBottom was outside [0, 0.4] and has been clamped",
    "discardTopBottom is forced to 0 with onlyColdStarts (every invocation is a cold start)",
    "sleepBetweenRunsMs is ignored when parallelInvocation is true",
    "autoOptimizeAlias is ignored without autoOptimize",
    "payloadS3 takes precedence: payload is ignored",
    "discardTopBottom discards nothing at this num (floor(num x discardTopBottom) = 0)",
    "concurrency is ignored when parallelInvocation is false (invocations run one at a time)",
    "adaptiveTolerance is ignored without adaptive (every power runs num times)",
};

const char *pt_tune_warning_text(unsigned bit)
{
    for (unsigned i = 0; i < PT_TUNE_WARN_COUNT; i++)
        if (bit == 1u << i)
            return warning_texts[i];
    return NULL;
}

long pt_tune_input_runs_per_power(const struct pt_tune_input *in)
{
    return in->dry_run ? 1 : in->num;
}

void pt_tune_input_init(struct pt_tune_input *in)
{
    memset(in, 0, sizeof(*in));
    in->strategy = PT_STRATEGY_COST;
    in->balanced_weight = 0.5;
    in->discard_top_bottom = 0.2;
    pt_strlcpy(in->architecture, "x86_64", sizeof(in->architecture));
    in->pricing = PT_PRICING_EXACT;
    in->adaptive_tolerance = PT_TUNE_ADAPTIVE_TOLERANCE;
}

void pt_tune_input_free(struct pt_tune_input *in)
{
    if (!in)
        return;
    free(in->powers);
    in->powers = NULL;
    in->n_powers = 0;
    json_decref(in->payload);
    in->payload = NULL;
}

/*
 * A short rendering of a JSON value for messages (truncated with "..."). The cut backs up to a
 * character's first byte: the rendering keeps non-ASCII text as UTF-8, and half a character
 * would make the message itself ill-formed (a JSON error document, a terminal).
 */
static const char *describe(const json_t *v, char *out, size_t size)
{
    struct pt_buf b;
    pt_buf_init(&b, 0);
    if (pt_js_stringify(v, 0, &b, NULL) < 0 || !b.data) {
        pt_strlcpy(out, "(unprintable)", size);
    } else if (b.len >= size && size > 4) {
        size_t cut = size - 4;
        while (cut > 0 && ((unsigned char)b.data[cut] & 0xC0) == 0x80)
            cut--;
        memcpy(out, b.data, cut);
        memcpy(out + cut, "...", 4);
    } else {
        pt_strlcpy(out, b.data, size);
    }
    pt_buf_free(&b);
    return out;
}

/* --- typed field readers: all refuse what the reference would coerce strangely --- */

static int read_integer(const json_t *v, const char *field, long min, long max, long *out,
                        struct pt_error *err)
{
    char d[96];
    if (json_is_number(v)) {
        double x = pt_js_json_number(v);
        if (isfinite(x) && x == floor(x) && x >= (double)min && x <= (double)max) {
            *out = (long)x;
            return 0;
        }
    } else if (json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v)) {
        /* The reference parseInt()s these fields, so "10" is a valid num. */
        if (pt_parse_long(json_string_value(v), min, max, out) == 0)
            return 0;
    }
    return pt_error_set(err, PT_EUSAGE, "%s: %s; allowed an integer from %ld to %ld", field,
                        describe(v, d, sizeof(d)), min, max);
}

static int read_number(const json_t *v, const char *field, double *out, struct pt_error *err)
{
    char d[96];
    if (json_is_number(v) && isfinite(pt_js_json_number(v))) {
        *out = pt_js_json_number(v);
        return 0;
    }
    /* Math.max("0.3", 0) is 0.3 in the reference: numeric strings are numbers there. */
    if (json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v) &&
        pt_parse_double(json_string_value(v), -HUGE_VAL, HUGE_VAL, out) == 0)
        return 0;
    return pt_error_set(err, PT_EUSAGE, "%s: %s; allowed a number", field,
                        describe(v, d, sizeof(d)));
}

static int read_bool(const json_t *v, const char *field, bool *out, struct pt_error *err)
{
    char d[96];
    if (json_is_null(v))
        return 0; /* default kept */
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    /* The reference takes any truthy value: "false" would mean true there. */
    return pt_error_set(err, PT_EUSAGE, "%s: %s; allowed true or false", field,
                        describe(v, d, sizeof(d)));
}

static int read_string(const json_t *v, const char *field, char *dst, size_t size,
                       struct pt_error *err)
{
    char d[96];
    if (json_is_null(v))
        return 0;
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return pt_error_set(err, PT_EUSAGE, "%s: %s; allowed a string", field,
                            describe(v, d, sizeof(d)));
    if (json_string_length(v) >= size)
        return pt_error_set(err, PT_EUSAGE, "%s: %zu bytes long; allowed at most %zu", field,
                            json_string_length(v), size - 1);
    for (const char *c = json_string_value(v); *c; c++)
        if ((unsigned char)*c < 0x20)
            return pt_error_set(err, PT_EUSAGE, "%s: %s; allowed no control characters", field,
                                describe(v, d, sizeof(d)));
    pt_strlcpy(dst, json_string_value(v), size);
    return 0;
}

/* --- powers --- */

static int check_power(long p, const char *field, size_t index, const char *given,
                       struct pt_error *err)
{
    if (p < PT_TUNE_POWER_MIN || p > PT_TUNE_POWER_MAX)
        return pt_error_set(err, PT_EUSAGE,
                            "%s[%zu]: %s; allowed integers from %d to %d (MB)", field, index, given,
                            PT_TUNE_POWER_MIN, PT_TUNE_POWER_MAX);
    return 0;
}

/* Takes ownership of list. Duplicates are refused: the reference would create the alias
 * twice and report the value twice. */
static int store_powers(struct pt_tune_input *in, int *list, size_t n, const char *field,
                        struct pt_error *err)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (list[i] == list[j]) {
                int p = list[i];
                free(list);
                return pt_error_set(err, PT_EUSAGE,
                                    "%s[%zu]: %d appears twice; allowed distinct values", field,
                                    i, p);
            }
    free(in->powers);
    in->powers = list;
    in->n_powers = n;
    return 0;
}

static int set_powers_copy(struct pt_tune_input *in, const int *v, size_t n, struct pt_error *err)
{
    int *list = malloc(n * sizeof(*list));
    if (!list)
        return pt_error_set(err, PT_ENOMEM, "out of memory for %zu power values", n);
    memcpy(list, v, n * sizeof(*list));
    return store_powers(in, list, n, "powerValues", err);
}

int pt_tune_input_set_powers(struct pt_tune_input *in, const char *text, struct pt_error *err)
{
    size_t n = 0;
    const int *preset = pt_tune_preset_powers(text, &n);
    if (preset)
        return set_powers_copy(in, preset, n, err);

    /* At most one value per 4 bytes ("128,"), and at most the distinct values allowed. */
    size_t cap = strlen(text) / 4 + 1;
    if (cap > PT_TUNE_POWER_MAX - PT_TUNE_POWER_MIN + 1)
        cap = PT_TUNE_POWER_MAX - PT_TUNE_POWER_MIN + 1;
    int *list = malloc(cap * sizeof(*list));
    if (!list)
        return pt_error_set(err, PT_ENOMEM, "out of memory for power values");
    const char *p = text;
    for (;;) {
        while (*p == ' ')
            p++;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        const char *last = end;
        while (last > p && last[-1] == ' ')
            last--;
        char item[32];
        size_t len = (size_t)(last - p);
        long v = 0;
        if (len == 0 || len >= sizeof(item)) {
            free(list);
            return pt_error_set(err, PT_EUSAGE,
                                "powers: \"%s\"; allowed a comma-separated list of integers from "
                                "%d to %d (MB), ALL (128..3008 step 64) or ALL10240 (128..10240 "
                                "step 64)",
                                text, PT_TUNE_POWER_MIN, PT_TUNE_POWER_MAX);
        }
        memcpy(item, p, len);
        item[len] = '\0';
        if (pt_parse_long(item, -1000000000L, 1000000000L, &v) < 0) {
            free(list);
            return pt_error_set(err, PT_EUSAGE,
                                "powers[%zu]: \"%s\"; allowed integers from %d to %d (MB), "
                                "ALL or ALL10240",
                                n, item, PT_TUNE_POWER_MIN, PT_TUNE_POWER_MAX);
        }
        if (check_power(v, "powers", n, item, err) < 0) {
            free(list);
            return PT_EUSAGE;
        }
        if (n == cap) {
            free(list);
            return pt_error_set(err, PT_EUSAGE, "powers: too many values; allowed distinct values");
        }
        list[n++] = (int)v;
        if (!*end)
            break;
        p = end + 1;
    }
    return store_powers(in, list, n, "powers", err);
}

static int parse_powers_json(struct pt_tune_input *in, const json_t *v, struct pt_error *err)
{
    char d[96];
    /* Missing, null or empty: the deploy-time defaults. */
    if (json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0))
        return set_powers_copy(in, default_powers, ARRAY_LEN(default_powers), err);
    if (json_is_string(v)) {
        size_t n = 0;
        const int *preset = pt_tune_preset_powers(json_string_value(v), &n);
        if (preset)
            return set_powers_copy(in, preset, n, err);
    }
    if (!json_is_array(v))
        return pt_error_set(err, PT_EUSAGE,
                            "powerValues: %s; allowed an array of integers from %d to %d (MB), "
                            "\"ALL\" (128..3008 step 64) or \"ALL10240\" (128..10240 step 64)",
                            describe(v, d, sizeof(d)), PT_TUNE_POWER_MIN, PT_TUNE_POWER_MAX);
    size_t n = json_array_size(v);
    if (n > PT_TUNE_POWER_MAX - PT_TUNE_POWER_MIN + 1)
        return pt_error_set(err, PT_EUSAGE, "powerValues: %zu values; allowed distinct values", n);
    int *list = malloc(n * sizeof(*list));
    if (!list)
        return pt_error_set(err, PT_ENOMEM, "out of memory for %zu power values", n);
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(v, i);
        long p = 0;
        char field[32];
        snprintf(field, sizeof(field), "powerValues[%zu]", i);
        /* The reference accepts numbers and numeric strings (its defaults are strings). */
        if (read_integer(e, field, -1000000000L, 1000000000L, &p, NULL) < 0) {
            free(list);
            return pt_error_set(err, PT_EUSAGE, "%s: %s; allowed integers from %d to %d (MB)",
                                field, describe(e, d, sizeof(d)), PT_TUNE_POWER_MIN,
                                PT_TUNE_POWER_MAX);
        }
        if (check_power(p, "powerValues", i, describe(e, d, sizeof(d)), err) < 0) {
            free(list);
            return PT_EUSAGE;
        }
        list[i] = (int)p;
    }
    return store_powers(in, list, n, "powerValues", err);
}

/* --- other setters --- */

int pt_tune_input_set_strategy(struct pt_tune_input *in, const char *name, struct pt_error *err)
{
    /* `event.strategy || 'cost'`: the empty string is the default. Case-sensitive. */
    if (name[0] == '\0') {
        in->strategy = PT_STRATEGY_COST;
        return 0;
    }
    for (int i = 0; i < PT_STRATEGY_COUNT; i++)
        if (strcmp(name, strategy_names[i]) == 0) {
            in->strategy = (enum pt_tune_strategy)i;
            return 0;
        }
    return pt_error_set(err, PT_EUSAGE,
                        "strategy: \"%.64s\"; allowed cost, speed, balanced (case-sensitive)", name);
}

int pt_tune_input_set_pricing(struct pt_tune_input *in, const char *mode, struct pt_error *err)
{
    if (strcmp(mode, "exact") == 0)
        in->pricing = PT_PRICING_EXACT;
    else if (strcmp(mode, "power-tuning") == 0)
        in->pricing = PT_PRICING_POWER_TUNING;
    else
        return pt_error_set(err, PT_EUSAGE, "pricing: \"%.64s\"; allowed exact, power-tuning",
                            mode);
    return 0;
}

int pt_tune_input_set_architecture(struct pt_tune_input *in, const char *arch,
                                   struct pt_error *err)
{
    if (strcmp(arch, "x86_64") != 0 && strcmp(arch, "arm64") != 0)
        return pt_error_set(err, PT_EUSAGE, "architecture: \"%.64s\"; allowed x86_64, arm64", arch);
    pt_strlcpy(in->architecture, arch, sizeof(in->architecture));
    in->arch_set = true;
    return 0;
}

static bool valid_region(const char *r)
{
    size_t n = strlen(r);
    if (n == 0 || n >= PT_TUNE_REGION_MAX)
        return false;
    for (const char *c = r; *c; c++)
        if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '-'))
            return false;
    return true;
}

static int set_region(struct pt_tune_input *in, const char *region, struct pt_error *err)
{
    if (!valid_region(region))
        return pt_error_set(err, PT_EUSAGE,
                            "region: \"%.64s\"; allowed an AWS region name such as us-east-1", region);
    pt_strlcpy(in->region, region, sizeof(in->region));
    return 0;
}

/* Splits an ARN into its 7 or 8 parts; 0 if it is a Lambda function ARN. */
static int split_arn(const char *arn, char parts[8][PT_TUNE_FUNCTION_MAX], size_t *n)
{
    *n = 0;
    const char *p = arn;
    for (;;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (*n == 8 || len >= PT_TUNE_FUNCTION_MAX)
            return -1;
        memcpy(parts[*n], p, len);
        parts[*n][len] = '\0';
        (*n)++;
        if (!end)
            break;
        p = end + 1;
    }
    if (*n != 7 && *n != 8)
        return -1;
    if (strcmp(parts[0], "arn") != 0 || !parts[1][0] || strcmp(parts[2], "lambda") != 0 ||
        !valid_region(parts[3]) || strcmp(parts[5], "function") != 0 || !parts[6][0])
        return -1;
    if (strlen(parts[4]) != 12 || strspn(parts[4], "0123456789") != 12)
        return -1;
    if (*n == 8 && (!parts[7][0] || strlen(parts[7]) >= PT_TUNE_NAME_MAX))
        return -1;
    return 0;
}

int pt_tune_input_set_function(struct pt_tune_input *in, const char *function,
                               struct pt_error *err)
{
    if (!function || !function[0])
        return pt_error_set(err, PT_EUSAGE,
                            "lambdaARN: missing or empty; allowed a Lambda function ARN or a local "
                            "function (name or directory)");
    if (strlen(function) >= PT_TUNE_FUNCTION_MAX)
        return pt_error_set(err, PT_EUSAGE, "lambdaARN: %zu bytes long; allowed at most %d",
                            strlen(function), PT_TUNE_FUNCTION_MAX - 1);
    for (const char *c = function; *c; c++)
        if ((unsigned char)*c < 0x20)
            return pt_error_set(err, PT_EUSAGE, "lambdaARN: contains control characters");

    in->qualifier[0] = in->account[0] = '\0';
    in->is_arn = pt_str_starts_with(function, "arn:");
    if (in->is_arn) {
        char(*parts)[PT_TUNE_FUNCTION_MAX] = malloc(8 * sizeof(*parts));
        if (!parts)
            return pt_error_set(err, PT_ENOMEM, "out of memory parsing lambdaARN");
        size_t n = 0;
        if (split_arn(function, parts, &n) < 0) {
            free(parts);
            return pt_error_set(err, PT_EUSAGE,
                                "lambdaARN: \"%.200s\" is not a Lambda function ARN; allowed "
                                "arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER] or "
                                "a local function (name or directory)",
                                function);
        }
        pt_strlcpy(in->function_name, parts[6], sizeof(in->function_name));
        pt_strlcpy(in->account, parts[4], sizeof(in->account));
        if (n == 8)
            pt_strlcpy(in->qualifier, parts[7], sizeof(in->qualifier));
        free(parts);
    } else {
        pt_strlcpy(in->function_name, function, sizeof(in->function_name));
    }
    pt_strlcpy(in->function, function, sizeof(in->function));
    return 0;
}

/* The region part of an ARN (which is valid: set_function checked it). */
static void arn_region(const char *arn, char *out, size_t size)
{
    const char *p = arn;
    for (int i = 0; i < 3 && p; i++) {
        p = strchr(p, ':');
        if (p)
            p++;
    }
    const char *end = p ? strchr(p, ':') : NULL;
    size_t n = p && end ? (size_t)(end - p) : 0;
    if (n >= size)
        n = size - 1;
    if (n)
        memcpy(out, p, n);
    out[n] = '\0';
}

int pt_tune_input_set_payload_s3(struct pt_tune_input *in, const char *path, struct pt_error *err)
{
    static const char shape[] = "Invalid S3 path, not a string in the format s3://BUCKET/KEY";
    /* The reference only asks for "s3://" somewhere; we want it at the start. */
    if (!path || !pt_str_starts_with(path, "s3://"))
        return pt_error_set(err, PT_EUSAGE, "payloadS3: %s", shape);
    if (strlen(path) >= PT_TUNE_S3_MAX)
        return pt_error_set(err, PT_EUSAGE, "payloadS3: %zu bytes long; allowed at most %d",
                            strlen(path), PT_TUNE_S3_MAX - 1);
    /* url.parse: host up to the first '/', '?' or '#' (lower-cased), path up to '?' or '#',
     * then decodeURIComponent and the leading '/' dropped. */
    const char *host = path + 5;
    size_t hlen = strcspn(host, "/?#");
    char bucket[PT_TUNE_S3_MAX], key[PT_TUNE_S3_MAX];
    for (size_t i = 0; i < hlen; i++)
        bucket[i] = (char)tolower((unsigned char)host[i]);
    bucket[hlen] = '\0';
    const char *pathname = host + hlen;
    size_t plen = pathname[0] == '/' ? strcspn(pathname, "?#") : 0;
    size_t k = 0;
    for (size_t i = 1; i < plen; i++) {
        if (pathname[i] == '%') {
            int hi = i + 2 < plen ? pt_hex_value(pathname[i + 1]) : -1;
            int lo = i + 2 < plen ? pt_hex_value(pathname[i + 2]) : -1;
            if (hi < 0 || lo < 0) /* decodeURIComponent throws URIError */
                return pt_error_set(err, PT_EUSAGE, "payloadS3: \"%s\": malformed %%-escape in "
                                    "the key", path);
            key[k++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            key[k++] = pathname[i];
        }
    }
    key[k] = '\0';
    if (!bucket[0] || !key[0] || strlen(key) != k)
        return pt_error_set(err, PT_EUSAGE, "payloadS3: Invalid S3 path: \"%s\" (bucket: %s, key: %s)",
                            path, bucket, key);
    pt_strlcpy(in->s3_bucket, bucket, sizeof(in->s3_bucket));
    pt_strlcpy(in->s3_key, key, sizeof(in->s3_key));
    in->payload_s3 = true;
    return 0;
}

int pt_tune_input_set_payload_text(struct pt_tune_input *in, const char *text, size_t len,
                                   struct pt_error *err)
{
    json_error_t jerr;
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL,
                           &jerr);
    if (!v)
        return pt_error_set(err, PT_EUSAGE, "payload: not valid JSON (line %d column %d: %s)",
                            jerr.line, jerr.column, jerr.text);
    json_t *keep = v;
    if (!pt_tune_payload_is_weighted(v)) {
        /* A string that is JSON text is sent as is: the user's bytes, not our re-encoding. */
        keep = json_stringn_nocheck(text, len);
        json_decref(v);
        if (!keep)
            return pt_error_set(err, PT_ENOMEM, "out of memory for the payload");
    }
    json_decref(in->payload);
    in->payload = keep;
    return 0;
}

static int add_allowed(struct pt_tune_input *in, const char *type, size_t len, size_t index,
                       struct pt_error *err)
{
    if (len == 0 || len >= PT_TUNE_ERROR_TYPE_MAX)
        return pt_error_set(err, PT_EUSAGE,
                            "allowedExceptions[%zu]: %zu bytes long; allowed an errorType of 1 to %d "
                            "bytes",
                            index, len, PT_TUNE_ERROR_TYPE_MAX - 1);
    if (in->n_allowed == PT_TUNE_ALLOWED_MAX)
        return pt_error_set(err, PT_EUSAGE, "allowedExceptions: more than %d entries",
                            PT_TUNE_ALLOWED_MAX);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)type[i] < 0x20)
            return pt_error_set(err, PT_EUSAGE,
                                "allowedExceptions[%zu]: contains control characters", index);
    memcpy(in->allowed_exceptions[in->n_allowed], type, len);
    in->allowed_exceptions[in->n_allowed][len] = '\0';
    in->n_allowed++;
    return 0;
}

int pt_tune_input_set_allowed_exceptions(struct pt_tune_input *in, const char *list,
                                         struct pt_error *err)
{
    in->n_allowed = 0;
    if (!list[0])
        return 0;
    size_t index = 0;
    for (const char *p = list;; index++) {
        size_t len = strcspn(p, ",");
        int rc = add_allowed(in, p, len, index, err);
        if (rc < 0)
            return rc;
        if (!p[len])
            break;
        p += len + 1;
    }
    return 0;
}

/* --- the JSON document --- */

typedef int (*field_fn)(struct pt_tune_input *in, const json_t *v, struct pt_error *err);

static int f_lambda_arn(struct pt_tune_input *in, const json_t *v, struct pt_error *err)
{
    char buf[PT_TUNE_FUNCTION_MAX] = "";
    int rc = read_string(v, "lambdaARN", buf, sizeof(buf), err);
    return rc < 0 ? rc : pt_tune_input_set_function(in, buf, err);
}

static int f_num(struct pt_tune_input *in, const json_t *v, struct pt_error *err)
{
    if (json_is_null(v))
        return 0;
    return read_integer(v, "num", 1, PT_TUNE_NUM_MAX, &in->num, err);
}

static int f_power_values(struct pt_tune_input *in, const json_t *v, struct pt_error *err)
{
    return parse_powers_json(in, v, err);
}

static int f_payload(struct pt_tune_input *in, const json_t *v, struct pt_error *err)
{
    (void)err;
    json_decref(in->payload);
    in->payload = json_deep_copy(v);
    return in->payload || !v ? 0 : pt_error_set(err, PT_ENOMEM, "out of memory for the payload");
}

static int f_payload_s3(struct pt_tune_input *in, const json_t *v, struct pt_error *err)
{
    if (json_is_null(v))
        return 0;
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return pt_error_set(err, PT_EUSAGE,
                            "payloadS3: Invalid S3 path, not a string in the format s3://BUCKET/KEY");
    return pt_tune_input_set_payload_s3(in, json_string_value(v), err);
}

static int f_parallel(struct pt_tune_input *in, const json_t *v, struct pt_error *err)
{
    return read_bool(v, "parallelInvocation", &in->parallel, err);
}

static int f_strategy(struct pt_tune_input *in, const json_t *v, struct pt_error *err)
{
    char d[96];
    if (json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return pt_error_set(err, PT_EUSAGE, "strategy: %s; allowed cost, speed, balanced",
                            describe(v, d, sizeof(d)));
    return pt_tune_input_set_strategy(in, json_string_value(v), err);
}

void pt_tune_input_set_balanced_weight(struct pt_tune_input *in, double w)
{
    /* Math.min(Math.max(weight, 0.0), 1.0) */
    if (w < 0 || w > 1)
        in->warnings |= PT_TUNE_WARN_WEIGHT_CLAMPED;
    in->balanced_weight = fmin(fmax(w, 0.0), 1.0);
    in->balanced_weight_given = w;
    in->weight_set = true;
}

void pt_tune_input_set_discard(struct pt_tune_input *in, double d)
{
    if (d < 0 || d > 0.4)
        in->warnings |= PT_TUNE_WARN_DISCARD_CLAMPED;
    in->discard_top_bottom = fmin(fmax(d, 0.0), 0.4);
    in->discard_given = d;
    in->discard_set = true;
}

static int f_balanced_weight(struct pt_tune_input *in, const json_t *v, struct pt_error *err)
{
    if (json_is_null(v))
        return 0;
    double w = 0;
    int rc = read_number(v, "balancedWeight", &w, err);
    if (rc < 0)
        return rc;
    pt_tune_input_set_balanced_weight(in, w);
    return 0;
}

static int f_auto_optimize(struct pt_tune_input *in, const json_t *v, struct pt_error *err)
{
    return read_bool(v, "autoOptimize", &in->auto_optimize, err);
}

static int f_auto_optimize_alias(struct pt_tune_input *in, const json_t *v, struct pt_error *err)
{
    return read_string(v, "autoOptimizeAlias", in->auto_optimize_alias,
                       sizeof(in->auto_optimize_alias), err);
}

static int f_dry_run(struct pt_tune_input *in, const json_t *v, struct pt_error *err)
{
    return read_bool(v, "dryRun", &in->dry_run, err);
}

static int f_pre(struct pt_tune_input *in, const json_t *v, struct pt_error *err)
{
    return read_string(v, "preProcessorARN", in->pre_processor, sizeof(in->pre_processor), err);
}

static int f_post(struct pt_tune_input *in, const json_t *v, struct pt_error *err)
{
    return read_string(v, "postProcessorARN", in->post_processor, sizeof(in->post_processor), err);
}

static int f_discard(struct pt_tune_input *in, const json_t *v, struct pt_error *err)
{
    if (json_is_null(v))
        return 0;
    double d = 0;
    int rc = read_number(v, "discardTopBottom", &d, err);
    if (rc < 0)
        return rc;
    pt_tune_input_set_discard(in, d);
    return 0;
}

static int f_sleep(struct pt_tune_input *in, const json_t *v, struct pt_error *err)
{
    if (json_is_null(v))
        return 0;
    return read_integer(v, "sleepBetweenRunsMs", 0, PT_TUNE_SLEEP_MAX_MS,
                        &in->sleep_between_runs_ms, err);
}

static int f_only_cold(struct pt_tune_input *in, const json_t *v, struct pt_error *err)
{
    return read_bool(v, "onlyColdStarts", &in->only_cold_starts, err);
}

static int f_include_output(struct pt_tune_input *in, const json_t *v, struct pt_error *err)
{
    return read_bool(v, "includeOutputResults", &in->include_output_results, err);
}

static int f_disable_logs(struct pt_tune_input *in, const json_t *v, struct pt_error *err)
{
    return read_bool(v, "disablePayloadLogs", &in->disable_payload_logs, err);
}

static int f_allowed(struct pt_tune_input *in, const json_t *v, struct pt_error *err)
{
    char d[96];
    if (json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return pt_error_set(err, PT_EUSAGE, "allowedExceptions: %s; allowed an array of errorType "
                            "strings", describe(v, d, sizeof(d)));
    in->n_allowed = 0;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e))
            return pt_error_set(err, PT_EUSAGE,
                                "allowedExceptions[%zu]: %s; allowed an errorType string", i,
                                describe(e, d, sizeof(d)));
        int rc = add_allowed(in, json_string_value(e), json_string_length(e), i, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int f_region(struct pt_tune_input *in, const json_t *v, struct pt_error *err)
{
    char buf[PT_TUNE_REGION_MAX + 8] = "";
    int rc = read_string(v, "region", buf, sizeof(buf), err);
    if (rc < 0 || json_is_null(v))
        return rc;
    return set_region(in, buf, err);
}

static int f_architecture(struct pt_tune_input *in, const json_t *v, struct pt_error *err)
{
    char buf[PT_TUNE_ARCH_MAX + 8] = "";
    int rc = read_string(v, "architecture", buf, sizeof(buf), err);
    if (rc < 0 || json_is_null(v))
        return rc;
    return pt_tune_input_set_architecture(in, buf, err);
}

static int f_concurrency(struct pt_tune_input *in, const json_t *v, struct pt_error *err)
{
    if (json_is_null(v))
        return 0;
    long c = 0;
    int rc = read_integer(v, "concurrency", 1, PT_TUNE_CONCURRENCY_MAX, &c, err);
    in->concurrency = (int)c;
    return rc;
}

static int f_fail_fast(struct pt_tune_input *in, const json_t *v, struct pt_error *err)
{
    return read_bool(v, "failFast", &in->fail_fast, err);
}

static int f_pricing(struct pt_tune_input *in, const json_t *v, struct pt_error *err)
{
    char buf[32] = "";
    int rc = read_string(v, "pricing", buf, sizeof(buf), err);
    if (rc < 0 || json_is_null(v))
        return rc;
    return pt_tune_input_set_pricing(in, buf, err);
}

static int f_price(struct pt_tune_input *in, const json_t *v, struct pt_error *err)
{
    char d[96];
    if (json_is_null(v))
        return 0;
    double p = 0;
    int rc = read_number(v, "pricePerGbS", &p, err);
    if (rc < 0)
        return rc;
    /* AWS's prices are around 1e-5 $ (1e-4 CNY) per GB-s: anything >= 1 is a unit mistake. */
    if (!(p > 0 && p < 1))
        return pt_error_set(err, PT_EUSAGE,
                            "pricePerGbS: %s; allowed a price per GB-second > 0 and < 1 (e.g. "
                            "0.0000166667)",
                            describe(v, d, sizeof(d)));
    in->price_per_gb_s = p;
    return 0;
}

static int f_adaptive(struct pt_tune_input *in, const json_t *v, struct pt_error *err)
{
    return read_bool(v, "adaptive", &in->adaptive, err);
}

/* A percent, as --adaptive-tolerance takes it; pt_tune_input_validate checks the range. */
static int f_adaptive_tolerance(struct pt_tune_input *in, const json_t *v, struct pt_error *err)
{
    double pct = in->adaptive_tolerance * 100;
    int rc = json_is_null(v) ? 0 : read_number(v, "adaptiveTolerance", &pct, err);
    if (rc == 0)
        in->adaptive_tolerance = pct / 100;
    if (rc == 0 && !json_is_null(v))
        in->tolerance_set = true;
    return rc;
}

static const struct {
    const char *key;
    field_fn fn;
} fields[] = {
    {"lambdaARN", f_lambda_arn},
    {"num", f_num},
    {"powerValues", f_power_values},
    {"payload", f_payload},
    {"payloadS3", f_payload_s3},
    {"parallelInvocation", f_parallel},
    {"strategy", f_strategy},
    {"balancedWeight", f_balanced_weight},
    {"autoOptimize", f_auto_optimize},
    {"autoOptimizeAlias", f_auto_optimize_alias},
    {"dryRun", f_dry_run},
    {"preProcessorARN", f_pre},
    {"postProcessorARN", f_post},
    {"discardTopBottom", f_discard},
    {"sleepBetweenRunsMs", f_sleep},
    {"onlyColdStarts", f_only_cold},
    {"includeOutputResults", f_include_output},
    {"disablePayloadLogs", f_disable_logs},
    {"allowedExceptions", f_allowed},
    {"region", f_region},
    {"architecture", f_architecture},
    {"concurrency", f_concurrency},
    {"failFast", f_fail_fast},
    {"pricing", f_pricing},
    {"pricePerGbS", f_price},
    {"adaptive", f_adaptive},
    {"adaptiveTolerance", f_adaptive_tolerance},
};

#define KNOWN_KEYS                                                                               \
    "lambdaARN, num, powerValues, payload, payloadS3, parallelInvocation, strategy, "          \
    "balancedWeight, autoOptimize, autoOptimizeAlias, dryRun, preProcessorARN, "               \
    "postProcessorARN, discardTopBottom, sleepBetweenRunsMs, onlyColdStarts, "                 \
    "includeOutputResults, disablePayloadLogs, allowedExceptions, region, architecture, "      \
    "concurrency, failFast, pricing, pricePerGbS, adaptive, adaptiveTolerance"

static field_fn field_find(const char *key, size_t key_len)
{
    for (size_t i = 0; i < ARRAY_LEN(fields); i++)
        if (strlen(fields[i].key) == key_len && memcmp(fields[i].key, key, key_len) == 0)
            return fields[i].fn;
    return NULL;
}

int pt_tune_input_parse_json(struct pt_tune_input *in, const char *text, size_t len,
                             struct pt_error *err)
{
    json_error_t jerr;
    int rc = 0;
    /* INT_AS_REAL: every number is a double, as in JavaScript (no "too big integer"). */
    json_t *doc =
        json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &jerr);
    if (!doc)
        return pt_error_set(err, PT_EUSAGE, "execution input: not valid JSON (line %d column %d: "
                            "%s)", jerr.line, jerr.column, jerr.text);
    if (!json_is_object(doc)) {
        rc = pt_error_set(err, PT_EUSAGE, "execution input: not a JSON object");
        goto out;
    }
    const char *key;
    size_t key_len;
    json_t *value;
    json_object_keylen_foreach(doc, key, key_len, value)
    {
        field_fn fn = field_find(key, key_len);
        if (!fn) {
            rc = pt_error_set(err, PT_EUSAGE, "execution input: unknown key \"%.64s\"; allowed "
                              KNOWN_KEYS, key);
            goto out;
        }
        if ((rc = fn(in, value, err)) < 0)
            goto out;
    }
    rc = pt_tune_input_validate(in, err);
out:
    json_decref(doc);
    return rc;
}

/*
 * The settings that shape an analysis of a run's samples, under the execution input's own
 * names: the samples file's header keeps them, so `analyze` reproduces the run by default.
 * balancedWeight and discardTopBottom only when given: their defaults depend on the rest.
 */
#define SETTINGS_KEYS                                                                            \
    "num, strategy, balancedWeight, discardTopBottom, onlyColdStarts, allowedExceptions, "     \
    "includeOutputResults, pricing, pricePerGbS"

json_t *pt_tune_input_settings(const struct pt_tune_input *in)
{
    json_t *o = json_object(), *allowed = json_array();
    bool bad = !o || !allowed;
    for (size_t i = 0; !bad && i < in->n_allowed; i++)
        bad = json_array_append_new(allowed, json_string(in->allowed_exceptions[i])) != 0;
    if (!bad)
        /* A real, as the samples reader decodes every number (JavaScript's): a resumed
         * file's settings then compare equal to the same run's, and it is appended to. */
        bad = json_object_set_new(o, "num", json_real((double)in->num)) ||
              json_object_set_new(o, "strategy",
                                  json_string(pt_tune_strategy_name(in->strategy))) ||
              (in->weight_set &&
               json_object_set_new(o, "balancedWeight", json_real(in->balanced_weight_given))) ||
              (in->discard_set &&
               json_object_set_new(o, "discardTopBottom", json_real(in->discard_given))) ||
              json_object_set_new(o, "onlyColdStarts", json_boolean(in->only_cold_starts)) ||
              json_object_set(o, "allowedExceptions", allowed) ||
              json_object_set_new(o, "includeOutputResults",
                                  json_boolean(in->include_output_results)) ||
              json_object_set_new(o, "pricing", json_string(pt_pricing_mode_name(in->pricing))) ||
              (in->price_per_gb_s > 0 &&
               json_object_set_new(o, "pricePerGbS", json_real(in->price_per_gb_s)));
    json_decref(allowed);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int pt_tune_input_apply_settings(struct pt_tune_input *in, const json_t *settings,
                                 struct pt_error *err)
{
    if (!json_is_object(settings))
        return pt_error_set(err, PT_EUSAGE, "settings: allowed an object with " SETTINGS_KEYS);
    const char *key;
    size_t key_len;
    json_t *value;
    json_object_keylen_foreach((json_t *)settings, key, key_len, value)
    {
        /* Bounded to the analysis' own keys: a samples file cannot make analyze invoke. */
        static const char *const allowed[] = {"num", "strategy", "balancedWeight",
                                              "discardTopBottom", "onlyColdStarts",
                                              "allowedExceptions", "includeOutputResults",
                                              "pricing", "pricePerGbS"};
        size_t i = 0;
        while (i < ARRAY_LEN(allowed) &&
               !(strlen(allowed[i]) == key_len && memcmp(allowed[i], key, key_len) == 0))
            i++;
        field_fn fn = i < ARRAY_LEN(allowed) ? field_find(key, key_len) : NULL;
        if (!fn)
            return pt_error_set(err, PT_EUSAGE, "settings: unknown key \"%.64s\"; allowed "
                                SETTINGS_KEYS, key);
        int rc = fn(in, value, err);
        if (rc < 0)
            return pt_error_wrap(err, "settings");
    }
    return 0;
}

int pt_tune_input_validate(struct pt_tune_input *in, struct pt_error *err)
{
    if (!in->function[0])
        return pt_tune_input_set_function(in, NULL, err);
    if (in->num < 1 || in->num > PT_TUNE_NUM_MAX)
        return pt_error_set(err, PT_EUSAGE,
                            "num: %s; allowed an integer from 1 to %d (the reference tool requires "
                            "at least 5)",
                            in->num ? "out of range" : "missing", PT_TUNE_NUM_MAX);
    if (in->sleep_between_runs_ms < 0 || in->sleep_between_runs_ms > PT_TUNE_SLEEP_MAX_MS)
        return pt_error_set(err, PT_EUSAGE, "sleepBetweenRunsMs: %ld; allowed an integer from 0 to %ld",
                            in->sleep_between_runs_ms, PT_TUNE_SLEEP_MAX_MS);
    if (in->concurrency < 0 || in->concurrency > PT_TUNE_CONCURRENCY_MAX)
        return pt_error_set(err, PT_EUSAGE, "concurrency: %d; allowed an integer from 1 to %d",
                            in->concurrency, PT_TUNE_CONCURRENCY_MAX);
    if (!(in->price_per_gb_s >= 0 && in->price_per_gb_s < 1))
        return pt_error_set(err, PT_EUSAGE, "pricePerGbS: %g; allowed a price per GB-second > 0 "
                            "and < 1 (e.g. 0.0000166667)", in->price_per_gb_s);
    /* The reference's formula has no GB-second price: it would be ignored without a word. */
    if (in->price_per_gb_s > 0 && in->pricing == PT_PRICING_POWER_TUNING)
        return pt_error_set(err, PT_EUSAGE, "pricePerGbS: %g with pricing power-tuning, whose costs "
                            "are the reference tool's constants; allowed with pricing exact",
                            in->price_per_gb_s);
    if (!(in->adaptive_tolerance >= 0 &&
          in->adaptive_tolerance <= PT_TUNE_ADAPTIVE_TOLERANCE_MAX / 100.0))
        return pt_error_set(err, PT_EUSAGE, "adaptiveTolerance: %g %%; allowed 0 to %d",
                            in->adaptive_tolerance * 100, PT_TUNE_ADAPTIVE_TOLERANCE_MAX);
    if (in->region[0] && !valid_region(in->region))
        return set_region(in, in->region, err);
    /* Checked now: CreateAlias would refuse it only after every invocation ran. */
    if (in->auto_optimize_alias[0] && !pt_aws_lambda_alias_name_ok(in->auto_optimize_alias))
        return pt_error_set(err, PT_EUSAGE,
                            "autoOptimizeAlias: \"%.128s\"; allowed 1 to %d characters of "
                            "[A-Za-z0-9-_], not all digits (a Lambda alias name)",
                            in->auto_optimize_alias, PT_AWS_QUALIFIER_MAX - 1);
    if (in->n_powers == 0) {
        int rc = set_powers_copy(in, default_powers, ARRAY_LEN(default_powers), err);
        if (rc < 0)
            return rc;
    }
    /* Every sample of the run is kept (in memory, in --samples): more than a samples file
     * holds could be neither resumed nor analysed after days of invocations. */
    long runs = pt_tune_input_runs_per_power(in) * (long)in->n_powers;
    if (runs > PT_SAMPLES_MAX)
        return pt_error_set(err, PT_EUSAGE,
                            "num x powerValues: %ld x %zu = %ld invocations; allowed at most %d "
                            "(what one samples file, --resume and analyze hold)",
                            pt_tune_input_runs_per_power(in), in->n_powers, runs, PT_SAMPLES_MAX);
    if (in->is_arn) {
        char r[PT_TUNE_REGION_MAX];
        arn_region(in->function, r, sizeof(r));
        if (in->region[0] && strcmp(in->region, r) != 0)
            return pt_error_set(err, PT_EUSAGE,
                                "region: \"%s\" differs from the region of lambdaARN (\"%s\"); "
                                "allowed the ARN's region or no region",
                                in->region, r);
        pt_strlcpy(in->region, r, sizeof(in->region));
    }

    /* An earlier validation already zeroed the discardTopBottom that onlyColdStarts
     * overrides (the CLI validates the input file, then again after its flags): the value
     * is gone, so its warning is carried over rather than recomputed. */
    bool discard_forced = in->warnings & PT_TUNE_WARN_DISCARD_COLD;
    in->warnings &= PT_TUNE_WARN_WEIGHT_CLAMPED | PT_TUNE_WARN_DISCARD_CLAMPED;
    if (in->num < 5)
        in->warnings |= PT_TUNE_WARN_NUM_BELOW_5;
    if (in->only_cold_starts) {
        if (in->discard_set && (in->discard_top_bottom != 0 || discard_forced))
            in->warnings |= PT_TUNE_WARN_DISCARD_COLD;
        in->discard_top_bottom = 0;
    }
    if (in->discard_top_bottom > 0 && floor((double)in->num * in->discard_top_bottom) == 0)
        in->warnings |= PT_TUNE_WARN_DISCARD_NOT_ENOUGH;
    if (in->parallel && in->sleep_between_runs_ms > 0)
        in->warnings |= PT_TUNE_WARN_SLEEP_PARALLEL;
    if (in->auto_optimize_alias[0] && !in->auto_optimize)
        in->warnings |= PT_TUNE_WARN_ALIAS_NO_OPTIMIZE;
    if (in->concurrency > 0 && !in->parallel)
        in->warnings |= PT_TUNE_WARN_CONCURRENCY_SERIES;
    if (in->tolerance_set && !in->adaptive)
        in->warnings |= PT_TUNE_WARN_TOLERANCE_FIXED;
    if (in->payload_s3 && pt_tune_json_truthy(in->payload))
        in->warnings |= PT_TUNE_WARN_S3_OVER_PAYLOAD;

    /* Weighted payloads are checked against num now, not when the first power runs. A dry
     * run sends the first payload only (the reference would fail on num = 1). */
    if (!in->payload_s3) {
        struct pt_tune_payloads p;
        int rc = pt_tune_payloads_generate(in->payload, in->num, &p, err);
        if (rc < 0)
            return pt_error_wrap(err, "payload");
        pt_tune_payloads_free(&p);
    }
    return 0;
}
