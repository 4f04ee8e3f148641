/*
 * price.c - Lambda's on-demand prices for `powertune logs`: the tune module's exact-pricing
 * table (tune.h, with its sources), first tier, so that `logs` and `tune` price a region the
 * same way or refuse it the same way. Tiered discounts and the free tier are left out;
 * --price-gb-s and --price-requests override the table for anything else.
 */
#include <string.h>

#include "logs/logs.h"
#include "tune/tune.h"

int pt_logs_price(const char *region, const char *architecture, double *gb_s, double *per_million,
                  struct pt_error *err)
{
    if (strcmp(architecture, "x86_64") != 0 && strcmp(architecture, "arm64") != 0)
        return pt_error_set(err, PT_EUSAGE, "--architecture \"%s\": allowed x86_64 or arm64",
                            architecture);
    struct pt_price_model m;
    if (pt_price_model_init(&m, PT_PRICING_EXACT, region, architecture, 0, NULL) != 0)
        return pt_error_set(err, PT_EUSAGE,
                            "--region \"%s\": no price known for this region (known: %s); give "
                            "--price-gb-s and --price-requests",
                            region, pt_price_exact_regions());
    *gb_s = m.gb_s;
    *per_million = m.request * 1e6;
    return 0;
}
