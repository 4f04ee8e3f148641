/*
 * analyze.c - the Analyzer (power-tuning.md 2, 4): statistics per power, prices, the
 * filter, the strategies, the costs of the run and the visualization URL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tune/tune.h"

void pt_tune_analysis_free(struct pt_tune_analysis *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n_powers; i++)
        pt_tune_stats_free(&a->powers[i]);
    free(a->powers);
    free(a->visualization);
    memset(a, 0, sizeof(*a));
    a->winner = -1;
}

/* The order of first appearance of each power in the samples. */
static int powers_from_samples(const struct pt_tune_sample *s, size_t n, int **out, size_t *count,
                               struct pt_error *err)
{
    int *list = malloc((n ? n : 1) * sizeof(*list));
    if (!list)
        return pt_error_set(err, PT_ENOMEM, "out of memory listing power values");
    size_t k = 0;
    /* A bitmap over Lambda's memory range keeps this linear. */
    unsigned char seen[PT_TUNE_POWER_MAX + 1] = {0};
    for (size_t i = 0; i < n; i++) {
        int p = s[i].power;
        if (p < PT_TUNE_POWER_MIN || p > PT_TUNE_POWER_MAX) {
            free(list);
            return pt_error_set(err, PT_EUSAGE, "sample %zu: power %d; allowed %d to %d (MB)", i,
                                p, PT_TUNE_POWER_MIN, PT_TUNE_POWER_MAX);
        }
        if (!seen[p]) {
            seen[p] = 1;
            list[k++] = p;
        }
    }
    *out = list;
    *count = k;
    return 0;
}

int pt_tune_analyze(const struct pt_tune_input *in, const struct pt_price_model *price,
                    const int *powers, size_t n_powers, const struct pt_tune_sample *samples,
                    size_t n_samples, const char *viz_base, struct pt_tune_analysis *out,
                    struct pt_error *err)
{
    memset(out, 0, sizeof(*out));
    out->winner = -1;
    for (int s = 0; s < PT_STRATEGY_COUNT; s++)
        out->best[s] = -1;
    out->price = *price;

    int *own_powers = NULL;
    struct pt_tune_candidate *cand = NULL;
    struct pt_viz_point *pts = NULL;
    size_t *kept = NULL, *order = NULL;
    int rc = 0;

    if (!powers) {
        if ((rc = powers_from_samples(samples, n_samples, &own_powers, &n_powers, err)) < 0)
            goto out;
        powers = own_powers;
    }
    /* Every sample must belong to a listed power: a stray one means a mixed-up file. */
    for (size_t i = 0; i < n_samples; i++) {
        size_t j = 0;
        while (j < n_powers && powers[j] != samples[i].power)
            j++;
        if (j == n_powers) {
            rc = pt_error_set(err, PT_EUSAGE,
                              "sample %zu: power %d MB is not one of the power values tuned", i,
                              samples[i].power);
            goto out;
        }
    }

    out->powers = calloc(n_powers ? n_powers : 1, sizeof(*out->powers));
    cand = calloc(n_powers ? n_powers : 1, sizeof(*cand));
    pts = calloc(n_powers ? n_powers : 1, sizeof(*pts));
    kept = calloc(n_powers ? n_powers : 1, sizeof(*kept));
    order = calloc(n_powers ? n_powers : 1, sizeof(*order));
    if (!out->powers || !cand || !pts || !kept || !order) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory analysing %zu power values", n_powers);
        goto out;
    }
    size_t n_kept = 0;
    for (size_t i = 0; i < n_powers; i++) {
        struct pt_tune_power_stats *st = &out->powers[i];
        rc = pt_tune_stats_compute(powers[i], samples, n_samples, in->discard_top_bottom,
                                   (const char(*)[PT_TUNE_ERROR_TYPE_MAX])in->allowed_exceptions,
                                   in->n_allowed, st, err);
        if (rc < 0)
            goto out;
        out->n_powers = i + 1;
        pt_price_fill(price, samples, n_samples, st);
        out->lambda_cost_all += st->total_cost;
        if (st->excluded)
            continue;
        /* {power: value, cost: averagePrice, duration: averageDuration, totalCost} */
        cand[n_kept] = (struct pt_tune_candidate){st->power, st->average_price, st->average_duration};
        pts[n_kept] = (struct pt_viz_point){st->power, st->average_duration, st->average_price};
        kept[n_kept++] = i;
    }

    for (int s = 0; s < PT_STRATEGY_COUNT; s++) {
        int w = pt_tune_rank(cand, n_kept, (enum pt_tune_strategy)s, in->balanced_weight, order);
        out->best[s] = w < 0 ? -1 : (int)kept[w];
        if (s != (int)in->strategy)
            continue;
        out->winner = out->best[s];
        /* lambdaCost = stats.map(p => p.totalCost).reduce(...) after the strategy sorted
         * stats in place: summed in that order, for the same last bits. */
        double sum = 0;
        for (size_t k = 0; k < n_kept; k++)
            sum += out->powers[kept[order[k]]].total_cost;
        out->lambda_cost = sum;
    }

    /* stepFunctionsCost(event.stats.length, ...): all power values, before the filter. */
    out->sf_equivalent_cost =
        pt_price_sf_execution_cost(price->sf_transition, n_powers, in->only_cold_starts, in->num);
    out->execution_cost = price->mode == PT_PRICING_POWER_TUNING ? out->sf_equivalent_cost : 0;
    rc = pt_viz_url(viz_base, price->cny, pts, n_kept, &out->visualization, err);
out:
    free(own_powers);
    free(cand);
    free(pts);
    free(kept);
    free(order);
    if (rc < 0)
        pt_tune_analysis_free(out);
    return rc;
}
