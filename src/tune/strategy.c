/*
 * strategy.c - the reference's Analyzer strategies (power-tuning.md 4): its comparators
 * under a stable sort, as V8's Array.prototype.sort (TimSort) is stable.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tune/tune.h"

struct rank_ctx {
    const struct pt_tune_candidate *c;
    enum pt_tune_strategy s;
    double weight, max_cost, max_duration;
};

/* getValue = x => weight * x.cost / maxCost + (1 - weight) * x.duration / maxDuration */
static double balanced_value(const struct rank_ctx *r, size_t i)
{
    return r->weight * r->c[i].cost / r->max_cost +
           (1 - r->weight) * r->c[i].duration / r->max_duration;
}

/* The comparator's result; > 0 puts b first. NaN counts as 0 (ECMA-262 SortCompare). */
static double compare(const struct rank_ctx *r, size_t a, size_t b)
{
    const struct pt_tune_candidate *p1 = &r->c[a], *p2 = &r->c[b];
    double d;
    switch (r->s) {
    case PT_STRATEGY_SPEED:
        d = p1->duration == p2->duration ? p1->cost - p2->cost : p1->duration - p2->duration;
        break;
    case PT_STRATEGY_BALANCED:
        d = balanced_value(r, a) - balanced_value(r, b);
        break;
    case PT_STRATEGY_COST:
    default:
        d = p1->cost == p2->cost ? p1->duration - p2->duration : p1->cost - p2->cost;
        break;
    }
    return isnan(d) ? 0 : d;
}

/* Stable merge sort of idx[0..n) using tmp as scratch. */
static void merge_sort(const struct rank_ctx *r, size_t *idx, size_t *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    merge_sort(r, idx, tmp, h);
    merge_sort(r, idx + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = compare(r, idx[j], idx[i]) < 0 ? idx[j++] : idx[i++];
    while (i < h)
        tmp[k++] = idx[i++];
    while (j < n)
        tmp[k++] = idx[j++];
    memcpy(idx, tmp, n * sizeof(*idx));
}

int pt_tune_rank(const struct pt_tune_candidate *c, size_t n, enum pt_tune_strategy s,
                 double weight, size_t *order)
{
    if (n == 0)
        return -1;
    struct rank_ctx r = {.c = c, .s = s, .weight = weight, .max_cost = -INFINITY,
                         .max_duration = -INFINITY};
    /* Math.max(...stats.map(x => x.cost)) */
    for (size_t i = 0; i < n; i++) {
        r.max_cost = fmax(r.max_cost, c[i].cost);
        r.max_duration = fmax(r.max_duration, c[i].duration);
        order[i] = i;
    }
    size_t *tmp = malloc(n * sizeof(*tmp));
    if (!tmp) {
        /* Without scratch space fall back to a stable insertion sort (no allocation). */
        for (size_t i = 1; i < n; i++) {
            size_t v = order[i], j = i;
            while (j > 0 && compare(&r, order[j - 1], v) > 0) {
                order[j] = order[j - 1];
                j--;
            }
            order[j] = v;
        }
        return (int)order[0];
    }
    merge_sort(&r, order, tmp, n);
    free(tmp);
    return (int)order[0];
}
