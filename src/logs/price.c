/*
 * price.c - Lambda's on-demand prices, first tier, per region and architecture.
 *
 * A small table on purpose: a wrong price is worse than a clear "unknown region" error, so only
 * regions charged the standard rate are listed (aws.amazon.com/lambda/pricing, 2024-2026:
 * x86_64 $0.0000166667 and arm64 $0.0000133334 per GB-second, $0.20 per 1M requests). Tiered
 * discounts (over 6 B GB-s a month) and the free tier are left out; --price-gb-s and
 * --price-requests override the table for anything else.
 */
#include <string.h>

#include "logs/logs.h"

struct pt_logs_price_row {
    const char *region;
    double x86_gb_s, arm_gb_s, per_million;
};

static const struct pt_logs_price_row pt_logs_prices[] = {
    {"us-east-1", 0.0000166667, 0.0000133334, 0.20},
    {"us-east-2", 0.0000166667, 0.0000133334, 0.20},
    {"us-west-1", 0.0000166667, 0.0000133334, 0.20},
    {"us-west-2", 0.0000166667, 0.0000133334, 0.20},
    {"ca-central-1", 0.0000166667, 0.0000133334, 0.20},
    {"eu-west-1", 0.0000166667, 0.0000133334, 0.20},
    {"eu-west-2", 0.0000166667, 0.0000133334, 0.20},
    {"eu-west-3", 0.0000166667, 0.0000133334, 0.20},
    {"eu-central-1", 0.0000166667, 0.0000133334, 0.20},
    {"eu-north-1", 0.0000166667, 0.0000133334, 0.20},
    {"ap-south-1", 0.0000166667, 0.0000133334, 0.20},
    {"ap-northeast-1", 0.0000166667, 0.0000133334, 0.20},
    {"ap-northeast-2", 0.0000166667, 0.0000133334, 0.20},
    {"ap-southeast-1", 0.0000166667, 0.0000133334, 0.20},
    {"ap-southeast-2", 0.0000166667, 0.0000133334, 0.20},
};

int pt_logs_price(const char *region, const char *architecture, double *gb_s, double *per_million,
                  struct pt_error *err)
{
    bool arm;
    if (strcmp(architecture, "x86_64") == 0)
        arm = false;
    else if (strcmp(architecture, "arm64") == 0)
        arm = true;
    else
        return pt_error_set(err, PT_EUSAGE, "--architecture \"%s\": allowed x86_64 or arm64",
                            architecture);
    for (size_t i = 0; i < sizeof(pt_logs_prices) / sizeof(pt_logs_prices[0]); i++) {
        if (strcmp(pt_logs_prices[i].region, region) == 0) {
            *gb_s = arm ? pt_logs_prices[i].arm_gb_s : pt_logs_prices[i].x86_gb_s;
            *per_million = pt_logs_prices[i].per_million;
            return 0;
        }
    }
    char known[512] = "";
    for (size_t i = 0; i < sizeof(pt_logs_prices) / sizeof(pt_logs_prices[0]); i++) {
        if (i)
            strncat(known, " ", sizeof(known) - strlen(known) - 1);
        strncat(known, pt_logs_prices[i].region, sizeof(known) - strlen(known) - 1);
    }
    return pt_error_set(err, PT_EUSAGE,
                        "--region \"%s\": no price known for this region (known: %s); give "
                        "--price-gb-s and --price-requests",
                        region, known);
}
