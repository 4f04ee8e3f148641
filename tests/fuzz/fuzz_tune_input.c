/*
 * fuzz_tune_input - pt_tune_input_parse_json (src/tune/input.c) on arbitrary bytes.
 *
 * The execution input is the user's JSON (--input FILE or the reference tool's event), so
 * every byte pattern has to end in 0 or a usage error without reading past `len`: the input
 * is copied into a buffer of exactly its size (no NUL after it). Parsing also runs the
 * validation, which generates the weighted payloads for num, so payload.c and jsjson.c are
 * reached with values from the document. An input that parses must satisfy what the
 * header promises (ranges, distinct powers, clamped figures) and validate again to 0
 * (pt_tune_input_validate is documented idempotent).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tune/tune.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct pt_tune_input *in)
{
    if (!in->function[0] || in->num < 1 || in->num > PT_TUNE_NUM_MAX || in->n_powers == 0 ||
        !in->powers)
        abort();
    for (size_t i = 0; i < in->n_powers; i++) {
        if (in->powers[i] < PT_TUNE_POWER_MIN || in->powers[i] > PT_TUNE_POWER_MAX)
            abort();
        for (size_t j = 0; j < i; j++)
            if (in->powers[i] == in->powers[j])
                abort();
    }
    if (!(in->balanced_weight >= 0 && in->balanced_weight <= 1) ||
        !(in->discard_top_bottom >= 0 && in->discard_top_bottom <= 0.4) ||
        (in->only_cold_starts && in->discard_top_bottom != 0))
        abort();
    if ((unsigned)in->strategy >= PT_STRATEGY_COUNT || in->n_allowed > PT_TUNE_ALLOWED_MAX ||
        in->sleep_between_runs_ms < 0 || in->sleep_between_runs_ms > PT_TUNE_SLEEP_MAX_MS ||
        in->concurrency < 0 || in->concurrency > PT_TUNE_CONCURRENCY_MAX)
        abort();
    if (!(in->price_per_gb_s >= 0 && in->price_per_gb_s < 1) ||
        !(in->adaptive_tolerance >= 0 &&
          in->adaptive_tolerance <= PT_TUNE_ADAPTIVE_TOLERANCE_MAX / 100.0))
        abort();
    if (!in->region[0] && in->is_arn)
        abort();
    /* Every bounded string is terminated inside its field. */
    if (!memchr(in->function, 0, sizeof(in->function)) ||
        !memchr(in->function_name, 0, sizeof(in->function_name)) ||
        !memchr(in->qualifier, 0, sizeof(in->qualifier)) ||
        !memchr(in->account, 0, sizeof(in->account)) ||
        !memchr(in->region, 0, sizeof(in->region)) ||
        !memchr(in->architecture, 0, sizeof(in->architecture)) ||
        !memchr(in->auto_optimize_alias, 0, sizeof(in->auto_optimize_alias)) ||
        !memchr(in->s3_bucket, 0, sizeof(in->s3_bucket)) ||
        !memchr(in->s3_key, 0, sizeof(in->s3_key)))
        abort();
    for (size_t i = 0; i < in->n_allowed; i++)
        if (!in->allowed_exceptions[i][0] ||
            !memchr(in->allowed_exceptions[i], 0, sizeof(in->allowed_exceptions[i])))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_copy(data, size);
    if (!text)
        return 0;
    struct pt_tune_input in;
    pt_tune_input_init(&in);
    struct pt_error err = {0};
    int rc = pt_tune_input_parse_json(&in, text, size, &err);
    fuzz_check_rc(rc, &err); /* the idiom: 0 or negative, every refusal says why */
    if (rc == 0) {
        check(&in);
        unsigned warnings = in.warnings;
        if (pt_tune_input_validate(&in, &err) != 0 || in.warnings != warnings)
            abort();
        check(&in);
    }
    pt_tune_input_free(&in);
    free(text);
    return 0;
}
