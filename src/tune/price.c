/*
 * price.c - what an invocation costs: the reference's constants and formula (power-tuning.md
 * 3.1, 3.4, 3.5) and AWS's exact GB-second pricing. Sources of the tables: tune.h.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "tune/tune.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct region_price {
    const char *region;
    double value;
};

/* template.yml baseCosts.x86_64 ($ per ms at 128 MB; China in CNY). arm64: default only. */
static const struct region_price pt_base_x86[] = {
    {"ap-east-1", 2.9e-9},      {"af-south-1", 2.8e-9},         {"me-south-1", 2.6e-9},
    {"eu-south-1", 2.4e-9},     {"ap-northeast-3", 2.7e-9},     {"cn-north-1", 0.0000000142},
    {"cn-northwest-1", 0.0000000142},
};
#define PT_BASE_X86_DEFAULT 2.1e-9
#define PT_BASE_ARM_DEFAULT 1.7e-9

/* template.yml sfCosts ($ per state transition). */
static const struct region_price pt_sf[] = {
    {"us-gov-west-1", 0.00003},  {"ap-northeast-2", 0.0000271}, {"eu-south-1", 0.00002625},
    {"af-south-1", 0.00002975},  {"us-west-1", 0.0000279},      {"eu-west-3", 0.0000297},
    {"ap-east-1", 0.0000275},    {"me-south-1", 0.0000275},     {"ap-south-1", 0.0000285},
    {"us-gov-east-1", 0.00003},  {"sa-east-1", 0.0000375},      {"cn-north-1", 0.0001891},
    {"cn-northwest-1", 0.0001891},
};
#define PT_SF_DEFAULT 0.000025

/* exact mode: $ per GB-second, first tier (see tune.h for the sources). */
struct exact_price {
    const char *region;
    double x86, arm;
};
#define STD_X86 0.0000166667
#define STD_ARM 0.0000133334
static const struct exact_price exact[] = {
    {"us-east-1", STD_X86, STD_ARM},      {"us-east-2", STD_X86, STD_ARM},
    {"us-west-1", STD_X86, STD_ARM},      {"us-west-2", STD_X86, STD_ARM},
    {"ca-central-1", STD_X86, STD_ARM},   {"eu-central-1", STD_X86, STD_ARM},
    {"eu-west-1", STD_X86, STD_ARM},      {"eu-west-2", STD_X86, STD_ARM},
    {"eu-west-3", STD_X86, STD_ARM},      {"eu-north-1", STD_X86, STD_ARM},
    {"ap-south-1", STD_X86, STD_ARM},     {"ap-southeast-1", STD_X86, STD_ARM},
    {"ap-southeast-2", STD_X86, STD_ARM}, {"ap-northeast-1", STD_X86, STD_ARM},
    {"ap-northeast-2", STD_X86, STD_ARM}, {"sa-east-1", STD_X86, STD_ARM},
    {"af-south-1", 0.0000221, 0.00001768},
    {"ap-east-1", 0.00002292, 0.0000183},
    {"eu-south-1", 0.0000195172, 0.0000156138},
    {"me-south-1", 0.0000206667, 0.0000165334},
    {"me-central-1", 0.0000206667, 0.0000165334},
};
#define REQUEST_PRICE 0.0000002 /* $0.20 per 1M requests */

#define EXACT_REGIONS                                                                            \
    "us-east-1, us-east-2, us-west-1, us-west-2, ca-central-1, eu-central-1, eu-west-1, "      \
    "eu-west-2, eu-west-3, eu-north-1, eu-south-1, ap-south-1, ap-southeast-1, ap-southeast-2, " \
    "ap-northeast-1, ap-northeast-2, ap-east-1, sa-east-1, af-south-1, me-south-1, me-central-1"

const char *pt_price_exact_regions(void)
{
    return EXACT_REGIONS;
}

/* baseCostForRegion: the region's entry if present (and truthy), else `default`. */
static double lookup(const struct region_price *t, size_t n, const char *region, double dflt)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].region, region) == 0)
            return t[i].value;
    return dflt;
}

int pt_price_base_cost(const char *region, const char *architecture, double *out,
                       struct pt_error *err)
{
    if (strcmp(architecture, "x86_64") == 0)
        *out = lookup(pt_base_x86, ARRAY_LEN(pt_base_x86), region, PT_BASE_X86_DEFAULT);
    else if (strcmp(architecture, "arm64") == 0)
        *out = PT_BASE_ARM_DEFAULT;
    else
        return pt_error_set(err, PT_EUSAGE, "architecture: Unsupported architecture: %.64s; "
                            "allowed x86_64, arm64", architecture);
    return 0;
}

double pt_price_sf_transition(const char *region)
{
    return lookup(pt_sf, ARRAY_LEN(pt_sf), region, PT_SF_DEFAULT);
}

int pt_price_model_init(struct pt_price_model *m, enum pt_pricing_mode mode, const char *region,
                        const char *architecture, double price_per_gb_s, struct pt_error *err)
{
    memset(m, 0, sizeof(*m));
    m->mode = mode;
    if (!region || !region[0])
        return pt_error_set(err, PT_EUSAGE, "region: missing; allowed an AWS region name such as "
                            "us-east-1");
    if (strlen(region) >= sizeof(m->region) || strlen(architecture) >= sizeof(m->architecture))
        return pt_error_set(err, PT_EUSAGE, "region or architecture too long");
    pt_strlcpy(m->region, region, sizeof(m->region));
    pt_strlcpy(m->architecture, architecture, sizeof(m->architecture));
    m->cny = pt_str_starts_with(region, "cn-");
    m->sf_transition = pt_price_sf_transition(region);
    int rc = pt_price_base_cost(region, architecture, &m->base_cost, err);
    if (rc < 0)
        return rc;
    if (mode == PT_PRICING_POWER_TUNING)
        return 0;

    m->request = REQUEST_PRICE;
    if (price_per_gb_s > 0) {
        m->gb_s = price_per_gb_s;
        return 0;
    }
    for (size_t i = 0; i < ARRAY_LEN(exact); i++)
        if (strcmp(exact[i].region, region) == 0) {
            m->gb_s = strcmp(architecture, "arm64") == 0 ? exact[i].arm : exact[i].x86;
            return 0;
        }
    return pt_error_set(err, PT_EUSAGE,
                        "region: \"%s\" has no price in the exact-pricing table (%s); give its "
                        "price with --price-per-gb-s (pricePerGbS), or use --pricing power-tuning",
                        region, EXACT_REGIONS);
}

double pt_price_invocation(const struct pt_price_model *m, int memory_mb, double billed_ms)
{
    if (m->mode == PT_PRICING_POWER_TUNING)
        /* Math.ceil(duration) * minCost * (value / minRAM), left to right. */
        return ceil(billed_ms) * m->base_cost * ((double)memory_mb / 128.0);
    return billed_ms / 1000.0 * ((double)memory_mb / 1024.0) * m->gb_s + m->request;
}

double pt_price_average(const struct pt_price_model *m, int memory_mb, double average_billed_ms)
{
    return pt_price_invocation(m, memory_mb, average_billed_ms);
}

void pt_price_fill(const struct pt_price_model *m, const struct pt_tune_sample *samples, size_t n,
                   struct pt_tune_power_stats *st)
{
    st->average_price = pt_price_average(m, st->power, st->average_billed);
    /* computeTotalCost: map to prices, then reduce((a, b) => a + b, 0) in invocation order.
     * A request not sent (throttled, or to a Failed version) is not billed (exact pricing would
     * charge it the request price). */
    double total = 0;
    for (size_t i = 0; i < n; i++)
        if (samples[i].power == st->power && !pt_tune_sample_not_sent(&samples[i]))
            total += pt_price_invocation(m, st->power, samples[i].billed_ms);
    st->total_cost = total;
}

double pt_js_to_fixed(double x, int digits)
{
    if (!isfinite(x) || fabs(x) >= 1e15 || digits < 0 || digits > 20)
        return x;
    /* glibc prints the exact binary value correctly rounded, ties to even; toFixed takes
     * "the larger n" on an exact tie. A tie needs x x 10^digits x 2 to be an integer, so
     * the exact expansion is short and shows up as ...5000... in 40 decimals. */
    char buf[80];
    snprintf(buf, sizeof(buf), "%.40f", fabs(x));
    char *dot = strchr(buf, '.');
    bool tie = dot && dot[1 + digits] == '5' && strspn(dot + 2 + digits, "0") == strlen(dot + 2 + digits);
    double scale = pow(10, digits);
    char out[80];
    if (tie) {
        /* The larger of the two candidates, away from zero in magnitude. */
        snprintf(out, sizeof(out), "%.*f", digits, fabs(x) + 0.5 / scale);
        double v = strtod(out, NULL);
        return x < 0 ? -v : v;
    }
    snprintf(out, sizeof(out), "%.*f", digits, x);
    return strtod(out, NULL);
}

double pt_price_sf_execution_cost(double sf_transition, size_t n_power, bool only_cold_starts,
                                  long num)
{
    /* 6 default transitions + Executor, Publisher, IsCountReached per value; with
     * onlyColdStarts one Executor branch per value and Publisher + IsCountReached per alias. */
    double multiplier = 6 + (double)n_power * 3;
    if (only_cold_starts)
        multiplier = 6 + (double)n_power + 2 * (double)n_power * (double)num;
    return pt_js_to_fixed(sf_transition * multiplier, 5);
}
