/*
 * analyze.c - the figures of one scope (all inputs, or one function) from its records.
 *
 * Concurrency is a sweep over the invocations' own intervals [end - Duration, end], widened by
 * Init Duration (or SnapStart's Restore Duration) for a cold start (its environment is busy, and
 * counts against the quota, from the request's arrival: INIT runs just before the invocation).
 * The interval ends are radix-sorted as one key each ((time - base) << 1 | is_start, so an end
 * sorts before a start at the same tick: back-to-back invocations do not overlap), then walked
 * once, filling per-second bins with the highest instantaneous concurrency, the time-weighted mean
 * and the starts. Everything is O(n + bins); the only comparison sorts are over cold starts.
 *
 * Percentiles are nearest-rank (the value at rank ceil(p/100 n)), like CloudWatch's pct() on
 * exact data; the cold-start median averages the two middle values, as the cold-start article's
 * tables do (182 169 190 204 175 181 184 191 194 170 -> median 183, variance 122.2).
 */
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "logs/logs_internal.h"

#define PT_LOGS_MAX_BINS (1u << 20) /* 12 days at 1 s; longer spans get wider bins */
#define RADIX_MAX_BITS 13 /* 8192 counters: 64 KB, stays in L2 */

/*
 * LSD radix sort of n keys below 2^bits; tmp holds n keys. Stable. The digit width is chosen so
 * that the passes are as few as possible with at most 2^DIGIT_BITS counters (37-bit event keys
 * and 13-bit digits: 3). Stamped out per key type and counter budget rather than taking them as
 * arguments, so that the counters stay a constant-size array and the loops keep their constant
 * types: durations are sorted as 32-bit keys (half the memory traffic of 64-bit ones), and
 * sort_bin, called once per bin, clears at most 2^10 counters per pass.
 */
#define DEFINE_RADIX_SORT(NAME, KEY_T, DIGIT_BITS)                                              \
    static void NAME(KEY_T *a, KEY_T *tmp, size_t n, unsigned bits)                            \
    {                                                                                           \
        size_t count[1u << (DIGIT_BITS)];                                                       \
        if (n < 2 || bits == 0)                                                                 \
            return;                                                                             \
        unsigned passes = (bits + (DIGIT_BITS) - 1) / (DIGIT_BITS);                             \
        unsigned w = (bits + passes - 1) / passes;                                              \
        const KEY_T mask = (KEY_T)((1ull << w) - 1);                                            \
        KEY_T *src = a, *dst = tmp;                                                             \
        for (unsigned shift = 0; shift < bits; shift += w) {                                    \
            memset(count, 0, sizeof(size_t) << w);                                              \
            for (size_t i = 0; i < n; i++)                                                      \
                count[(src[i] >> shift) & mask]++;                                              \
            if (count[(src[0] >> shift) & mask] == n)                                           \
                continue; /* every key has the same digit: nothing to move */                   \
            size_t sum = 0;                                                                     \
            for (size_t d = 0; d <= mask; d++) {                                                \
                size_t c = count[d];                                                            \
                count[d] = sum;                                                                 \
                sum += c;                                                                       \
            }                                                                                   \
            for (size_t i = 0; i < n; i++)                                                      \
                dst[count[(src[i] >> shift) & mask]++] = src[i];                                \
            KEY_T *t = src;                                                                     \
            src = dst;                                                                          \
            dst = t;                                                                            \
        }                                                                                       \
        if (src != a)                                                                           \
            memcpy(a, src, n * sizeof(*a));                                                     \
    }

DEFINE_RADIX_SORT(radix_u64, uint64_t, RADIX_MAX_BITS)
DEFINE_RADIX_SORT(radix_u32_bits, uint32_t, RADIX_MAX_BITS)
DEFINE_RADIX_SORT(radix_bin_events, uint64_t, 10)
#undef DEFINE_RADIX_SORT

/* radix_u32_bits over as many bits as the largest key has. */
static void radix_u32(uint32_t *a, uint32_t *tmp, size_t n)
{
    if (n < 2)
        return;
    uint32_t maxv = 0;
    for (size_t i = 0; i < n; i++)
        maxv |= a[i];
    unsigned bits = 0;
    while (bits < 32 && (maxv >> bits) != 0)
        bits++;
    radix_u32_bits(a, tmp, n, bits);
}

/* The k-th smallest of a[0..n) (a is reordered): Hoare's quickselect. */
static uint32_t select_u32(uint32_t *a, size_t n, size_t k)
{
    ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, want = (ptrdiff_t)k;
    while (hi > lo) {
        uint32_t pivot = a[lo + (hi - lo) / 2];
        ptrdiff_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                uint32_t t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        }
        if (want <= j)
            hi = j;
        else if (want >= i)
            lo = i;
        else
            return a[want];
    }
    return a[want];
}

static size_t rank_index(double pct, size_t n)
{
    double r = ceil(pct / 100.0 * (double)n);
    if (r < 1)
        r = 1;
    if (r > (double)n)
        r = (double)n;
    return (size_t)r - 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void pt_logs_stats_compute(double *v, size_t n, struct pt_logs_stats *o)
{
    memset(o, 0, sizeof(*o));
    o->n = n;
    o->variance = NAN;
    if (n == 0) {
        o->mean = o->median = o->min = o->max = NAN;
        return;
    }
    qsort(v, n, sizeof(*v), cmp_double);
    o->min = v[0];
    o->max = v[n - 1];
    o->median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    o->mean = sum / (double)n;
    if (n > 1) {
        /* Two passes: the sum of squared deviations does not cancel like sum(x^2) - n mean^2. */
        double ss = 0;
        for (size_t i = 0; i < n; i++)
            ss += (v[i] - o->mean) * (v[i] - o->mean);
        o->variance = ss / (double)(n - 1);
    }
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* ---------------------------------------------------------------- durations */

static int durations(struct pt_logs_scope *s, const struct pt_logs_inv *invs, size_t n,
                     bool keep, struct pt_error *err)
{
    if (n == 0)
        return 0;
    uint32_t *d = malloc(n * sizeof(*d)), *tmp = malloc(n * sizeof(*tmp));
    if (!d || !tmp) {
        free(d);
        free(tmp);
        return pt_error_set(err, PT_ENOMEM, "out of memory (%zu durations)", n);
    }
    pt_logs_big_array(d, n * sizeof(*d));
    pt_logs_big_array(tmp, n * sizeof(*tmp));
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        d[i] = invs[i].dur;
        sum += invs[i].dur;
    }
    radix_u32(d, tmp, n);
    free(tmp);
    const double ms = PT_LOGS_TICKS_PER_MS;
    s->have_durations = true;
    s->dmin = d[0] / ms;
    s->dmax = d[n - 1] / ms;
    s->dmean = (double)sum / (double)n / ms;
    s->p50 = d[rank_index(50, n)] / ms;
    s->p90 = d[rank_index(90, n)] / ms;
    s->p95 = d[rank_index(95, n)] / ms;
    s->p99 = d[rank_index(99, n)] / ms;
    s->p995 = d[rank_index(99.5, n)] / ms;
    s->p999 = d[rank_index(99.9, n)] / ms;
    if (keep) {
        s->durations = d;
        s->ndurations = n;
    } else {
        free(d);
    }
    return 0;
}

/* ---------------------------------------------------------------- concurrency */

static int bin_seconds_for(int64_t span_s)
{
    /* Timestamps are limited to 1970..2199, so 14400 s bins cover any span (and keep bin
     * offsets below 2^31 ticks, which the event keys rely on). */
    static const int steps[] = {1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400};
    size_t i = 0;
    while (i + 1 < sizeof(steps) / sizeof(steps[0]) && span_s / steps[i] + 1 > (int64_t)PT_LOGS_MAX_BINS)
        i++;
    return steps[i];
}

/* floor(v / w) without a 64-bit division (a multiply, then a correction of at most one). */
static inline size_t bin_of(uint64_t v, uint64_t w, double inv)
{
    uint64_t b = (uint64_t)((double)v * inv);
    if (b * w > v)
        b--;
    else if ((b + 1) * w <= v)
        b++;
    return (size_t)b;
}

/* The high half of a cold start's INIT-end event (an end that is no REPORT): a real end carries
 * its Duration there, always below UINT32_MAX (read_ms_ticks, json_ticks). */
#define EV_HANDOFF ((uint64_t)UINT32_MAX << 32)

/* Sorts one bin's events by their low 32 bits (offset << 1 | is_start); tmp holds n. */
static void sort_bin(uint64_t *a, uint64_t *tmp, size_t n, unsigned bits)
{
    if (n <= 24) {
        for (size_t i = 1; i < n; i++) {
            uint64_t x = a[i];
            uint32_t k = (uint32_t)x;
            size_t j = i;
            while (j > 0 && (uint32_t)a[j - 1] > k) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = x;
        }
        return;
    }
    radix_bin_events(a, tmp, n, bits);
}

/* One range of bins swept on its own: what it found, merged by the caller. */
struct sweep {
    const struct pt_logs_scope *s;
    struct pt_logs_bin *bins;
    uint64_t *ev;
    const size_t *pos;
    uint64_t wt;
    unsigned bits;
    size_t b0, b1, maxbin;
    int64_t cur0;           /* concurrency carried into bin b0 */
    long lim0, lim1;
    /* results */
    int64_t peak;
    uint64_t peak_t;        /* ticks from bin_base */
    uint64_t thr0, thr1, thr_sec0, thr_sec1;
    double est_peak;
    size_t est_bin;
    int rc;
};

static void *sweep_run(void *p)
{
    struct sweep *w = p;
    struct pt_logs_bin *bins = w->bins;
    const uint64_t wt = w->wt;
    uint64_t *tmp = malloc((w->maxbin ? w->maxbin : 1) * sizeof(*tmp));
    uint32_t *durs = malloc((w->maxbin ? w->maxbin : 1) * sizeof(*durs));
    if (!tmp || !durs) {
        w->rc = PT_ENOMEM;
        goto out;
    }
    int64_t cur = w->cur0;
    for (size_t b = w->b0; b < w->b1; b++) {
        struct pt_logs_bin *bn = &bins[b];
        size_t lo = b ? w->pos[b - 1] : 0, hi = w->pos[b], nd = 0;
        sort_bin(w->ev + lo, tmp, hi - lo, w->bits);
        uint64_t prev = 0;
        /* INITs that ended at tick prev: as many starts there are their own invocations,
         * admitted when INIT began, so not counted again as throttled. */
        size_t handoffs = 0;
        for (size_t i = lo; i < hi; i++) {
            uint64_t k = w->ev[i];
            uint64_t t = (uint32_t)k >> 1;
            if (t > prev) {
                handoffs = 0;
                /* The level cur was held over [prev, t). */
                bn->busy += (uint64_t)cur * (t - prev);
                if ((uint64_t)cur > bn->max)
                    bn->max = (uint32_t)cur;
                prev = t;
            }
            if (k & 1) {
                if (handoffs) {
                    handoffs--;
                } else {
                    w->thr0 += cur >= w->lim0;
                    w->thr1 += cur >= w->lim1;
                }
                cur++;
                if ((uint64_t)cur > bn->max)
                    bn->max = (uint32_t)cur;
                if (cur > w->peak) {
                    w->peak = cur;
                    w->peak_t = b * wt + t;
                }
            } else if ((k & EV_HANDOFF) == EV_HANDOFF) {
                cur--;
                handoffs++;
            } else {
                cur--;
                durs[nd++] = (uint32_t)(k >> 32);
            }
        }
        if (wt > prev) {
            bn->busy += (uint64_t)cur * (wt - prev);
            if ((uint64_t)cur > bn->max)
                bn->max = (uint32_t)cur;
        }
        if (nd) {
            uint32_t d = select_u32(durs, nd, rank_index(99.5, nd));
            bn->estimate = (double)nd * (double)d / (double)wt;
            if (bn->estimate > w->est_peak) {
                w->est_peak = bn->estimate;
                w->est_bin = b;
            }
        }
        w->thr_sec0 += bn->max > (uint64_t)w->lim0;
        w->thr_sec1 += bn->max > (uint64_t)w->lim1;
    }
out:
    free(tmp);
    free(durs);
    return NULL;
}

/*
 * Concurrency from the intervals. Events are bucketed by bin (a count pass and a scatter pass
 * over the records), then each bin is sorted in cache and swept in time order: an event is
 * (duration << 32) | (offset in bin << 1) | is_start, so ends sort before starts at the same
 * tick (back-to-back invocations do not overlap) and an end carries the duration the article's
 * per-bin p99.5 needs. The bins are swept as two halves on two threads: the level carried into
 * the second half is known from the counts (starts minus ends before it).
 */
static int concurrency(struct pt_logs_scope *s, const struct pt_logs_options *o,
                       const struct pt_logs_inv *invs, size_t n, const struct pt_logs_cold *colds,
                       size_t ncold, struct pt_error *err)
{
    int rc = 0;
    uint64_t *ev = NULL;
    size_t *pos = NULL;

    int64_t first = INT64_MAX, last = INT64_MIN;
    size_t timed = 0;
    for (size_t i = 0; i < n; i++) {
        if (invs[i].end == PT_LOGS_NO_TIME)
            continue;
        timed++;
        int64_t st = invs[i].end - invs[i].dur;
        if (st < first)
            first = st;
        if (invs[i].end > last)
            last = invs[i].end;
    }
    for (size_t i = 0; i < ncold; i++) {
        if (colds[i].end == PT_LOGS_NO_TIME)
            continue;
        int64_t st = colds[i].end - colds[i].dur - colds[i].init;
        if (st < first)
            first = st;
    }
    s->timed = timed;
    s->first = timed ? first : PT_LOGS_NO_TIME;
    s->last = timed ? last : PT_LOGS_NO_TIME;
    s->limits[0] = o->quota;
    s->limits[1] = o->reserved >= 0 && o->reserved < o->quota ? o->reserved : o->quota;
    if (timed == 0)
        return 0;

    int64_t span_s = (last - first) / PT_LOGS_TICKS_PER_S + 1;
    s->bin_seconds = bin_seconds_for(span_s);
    const uint64_t wt = (uint64_t)s->bin_seconds * PT_LOGS_TICKS_PER_S; /* bin width, ticks */
    const double inv_wt = 1.0 / (double)wt;
    s->bin_base = floor_div(first, (int64_t)wt) * (int64_t)wt;
    s->nbins = (size_t)((uint64_t)(last - s->bin_base) / wt) + 1;
    s->bins = calloc(s->nbins, sizeof(*s->bins));
    pos = calloc(s->nbins + 1, sizeof(*pos));
    size_t ntimed_cold = 0;
    for (size_t i = 0; i < ncold; i++)
        ntimed_cold += colds[i].end != PT_LOGS_NO_TIME;
    ev = malloc(2 * (timed + ntimed_cold) * sizeof(*ev));
    if (!s->bins || !pos || !ev) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory (%zu bins, %zu invocations)", s->nbins,
                          timed);
        goto out;
    }
    pt_logs_big_array(ev, 2 * (timed + ntimed_cold) * sizeof(*ev));
    struct pt_logs_bin *bins = s->bins;
    const uint64_t base = (uint64_t)s->bin_base;
    /* 1 s bins (the usual case) divide by a constant: a multiply, no correction needed. */
    const bool one_s = wt == PT_LOGS_TICKS_PER_S;
#define BIN_OF(v) (one_s ? (size_t)((v) / PT_LOGS_TICKS_PER_S) : bin_of((v), wt, inv_wt))

    /* Count events per bin, then scatter them (pos[b] = where bin b's events go). */
    for (size_t i = 0; i < n; i++) {
        if (invs[i].end == PT_LOGS_NO_TIME)
            continue;
        uint64_t e = (uint64_t)invs[i].end - base;
        bins[BIN_OF(e - invs[i].dur)].starts++;
        struct pt_logs_bin *be = &bins[BIN_OF(e)];
        be->ends++;
        be->dur_sum += invs[i].dur;
    }
    /* A cold start's INIT: an interval of its own, from its start to the invocation's. */
    for (size_t i = 0; i < ncold; i++) {
        if (colds[i].end == PT_LOGS_NO_TIME)
            continue;
        uint64_t h = (uint64_t)colds[i].end - base - colds[i].dur;
        bins[BIN_OF(h - colds[i].init)].starts++;
        bins[BIN_OF(h)].handoffs++;
    }
    size_t sum = 0, maxbin = 0;
    for (size_t b = 0; b < s->nbins; b++) {
        size_t c = (size_t)bins[b].starts + bins[b].ends + bins[b].handoffs;
        pos[b] = sum;
        sum += c;
        if (c > maxbin)
            maxbin = c;
    }
    pos[s->nbins] = sum;
    for (size_t i = 0; i < n; i++) {
        if (invs[i].end == PT_LOGS_NO_TIME)
            continue;
        uint64_t e = (uint64_t)invs[i].end - base, st = e - invs[i].dur;
        size_t bs = BIN_OF(st), be = BIN_OF(e);
        ev[pos[bs]++] = (st - bs * wt) << 1 | 1;
        ev[pos[be]++] = (uint64_t)invs[i].dur << 32 | (e - be * wt) << 1;
    }
    for (size_t i = 0; i < ncold; i++) {
        if (colds[i].end == PT_LOGS_NO_TIME)
            continue;
        uint64_t h = (uint64_t)colds[i].end - base - colds[i].dur, st = h - colds[i].init;
        size_t bs = BIN_OF(st), bh = BIN_OF(h);
        ev[pos[bs]++] = (st - bs * wt) << 1 | 1;
        ev[pos[bh]++] = EV_HANDOFF | (h - bh * wt) << 1;
    }
#undef BIN_OF
    /* pos[b] is now where bin b ends; bin b starts at pos[b - 1]. */
    unsigned bits = 1;
    while (bits < 32 && ((wt << 1) >> bits) != 0)
        bits++;

    /* Two halves by event count; the second starts with what is running at its first bin. */
    struct sweep w[2];
    memset(w, 0, sizeof(w));
    size_t split = 0;
    int64_t carry = 0;
    if (timed >= 100000 && s->nbins >= 2) {
        size_t half = sum / 2;
        while (split < s->nbins && pos[split] < half) {
            carry += (int64_t)bins[split].starts - (int64_t)bins[split].ends -
                     (int64_t)bins[split].handoffs;
            split++;
        }
    }
    for (int k = 0; k < 2; k++) {
        w[k] = (struct sweep){.s = s, .bins = bins, .ev = ev, .pos = pos, .wt = wt, .bits = bits,
                              .maxbin = maxbin, .lim0 = s->limits[0], .lim1 = s->limits[1]};
    }
    w[0].b0 = 0;
    w[0].b1 = split ? split : s->nbins;
    w[1].b0 = w[0].b1;
    w[1].b1 = s->nbins;
    w[1].cur0 = carry;
    pthread_t tid;
    bool threaded = w[1].b0 < w[1].b1 && pthread_create(&tid, NULL, sweep_run, &w[1]) == 0;
    sweep_run(&w[0]);
    if (threaded)
        pthread_join(tid, NULL);
    else if (w[1].b0 < w[1].b1)
        sweep_run(&w[1]);
    if (w[0].rc || w[1].rc) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory");
        goto out;
    }
    /* The earlier half wins ties: the peak is the first time the highest level was reached. */
    struct sweep *pk = w[1].peak > w[0].peak ? &w[1] : &w[0];
    struct sweep *es = w[1].est_peak > w[0].est_peak ? &w[1] : &w[0];
    s->have_concurrency = true;
    s->peak = (uint32_t)pk->peak;
    s->peak_at = s->bin_base + (int64_t)pk->peak_t;
    s->est_peak = es->est_peak;
    s->est_peak_at = s->bin_base + (int64_t)(es->est_bin * wt);
    s->thr_invocations[0] = w[0].thr0 + w[1].thr0;
    s->thr_invocations[1] = w[0].thr1 + w[1].thr1;
    s->thr_seconds[0] = (w[0].thr_sec0 + w[1].thr_sec0) * (uint64_t)s->bin_seconds;
    s->thr_seconds[1] = (w[0].thr_sec1 + w[1].thr_sec1) * (uint64_t)s->bin_seconds;

    for (size_t i = 0; i < ncold; i++) {
        if (colds[i].end == PT_LOGS_NO_TIME || colds[i].end < s->bin_base)
            continue;
        size_t m = bin_of((uint64_t)(colds[i].end - s->bin_base), wt, inv_wt);
        if (m < s->nbins)
            bins[m].cold++;
    }

    /* The peak's minute and the minutes before it (rows of a bin when bins are wider). */
    int64_t row = s->bin_seconds > 60 ? (int64_t)wt : 60 * (int64_t)PT_LOGS_TICKS_PER_S;
    int64_t m0 = floor_div(s->peak_at, row) * row;
    s->nminutes = (size_t)o->minutes_before + 1;
    s->minutes = calloc(s->nminutes, sizeof(*s->minutes));
    if (!s->minutes) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t q = 0; q < s->nminutes; q++) {
        struct pt_logs_minute *m = &s->minutes[q];
        m->start = m0 - (int64_t)(s->nminutes - 1 - q) * row;
        uint64_t dsum = 0, busy = 0;
        for (int64_t t = m->start; t < m->start + row; t += (int64_t)wt) {
            if (t < s->bin_base)
                continue;
            size_t bi = (size_t)((t - s->bin_base) / (int64_t)wt);
            if (bi >= s->nbins)
                break;
            m->invocations += bins[bi].ends;
            dsum += bins[bi].dur_sum;
            busy += bins[bi].busy;
            if (bins[bi].max > m->peak)
                m->peak = bins[bi].max;
        }
        m->avg_duration_ms =
            m->invocations ? (double)dsum / (double)m->invocations / PT_LOGS_TICKS_PER_MS : NAN;
        m->mean = (double)busy / (double)row;
    }
out:
    free(ev);
    free(pos);
    return rc;
}

/* ---------------------------------------------------------------- cold starts */

/* Stats of sorted tick values, in ms (the same definitions as pt_logs_stats_compute). */
static void stats_sorted_ticks(const uint32_t *v, size_t n, struct pt_logs_stats *o)
{
    const double ms = PT_LOGS_TICKS_PER_MS;
    memset(o, 0, sizeof(*o));
    o->n = n;
    o->variance = NAN;
    if (n == 0) {
        o->mean = o->median = o->min = o->max = NAN;
        return;
    }
    o->min = v[0] / ms;
    o->max = v[n - 1] / ms;
    o->median = (n % 2 ? v[n / 2] : (v[n / 2 - 1] + (double)v[n / 2]) / 2) / ms;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i] / ms;
    o->mean = sum / (double)n;
    if (n > 1) {
        double ss = 0;
        for (size_t i = 0; i < n; i++)
            ss += (v[i] / ms - o->mean) * (v[i] / ms - o->mean);
        o->variance = ss / (double)(n - 1);
    }
}

static int cold_starts(struct pt_logs_scope *s, const struct pt_logs_cold *colds, size_t n,
                       bool keep, struct pt_error *err)
{
    size_t m = n ? n : 1, ni = 0, nr = 0;
    uint32_t *v = malloc(m * sizeof(*v)), *vt = malloc(m * sizeof(*vt));
    uint32_t *rv = malloc(m * sizeof(*rv));
    uint64_t *key = malloc(m * sizeof(*key)), *kt = malloc(m * sizeof(*kt));
    int rc = 0;
    if (!v || !vt || !rv || !key || !kt) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory (%zu cold starts)", n);
        goto out;
    }
    uint32_t maxmem = 0;
    for (size_t i = 0; i < n; i++) {
        if (colds[i].restore) {
            rv[nr++] = colds[i].init;
            continue;
        }
        v[ni] = colds[i].init;
        key[ni++] = (uint64_t)colds[i].memory_mb << 32 | colds[i].init;
        if (colds[i].memory_mb > maxmem)
            maxmem = colds[i].memory_mb;
    }
    s->cold = ni;
    radix_u32(rv, vt, nr);
    stats_sorted_ticks(rv, nr, &s->restore);
    radix_u32(v, vt, ni);
    stats_sorted_ticks(v, ni, &s->init);
    unsigned bits = 32;
    while (bits < 64 && (maxmem >> (bits - 32)) != 0)
        bits++;
    radix_u64(key, kt, ni, bits); /* by memory size, then Init Duration */
    size_t groups = 0;
    for (size_t i = 0; i < ni; i++)
        groups += i == 0 || key[i] >> 32 != key[i - 1] >> 32;
    s->cold_by_mem = calloc(groups ? groups : 1, sizeof(*s->cold_by_mem));
    if (!s->cold_by_mem) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < ni;) {
        size_t j = i;
        while (j < ni && key[j] >> 32 == key[i] >> 32) {
            vt[j - i] = (uint32_t)key[j];
            j++;
        }
        struct pt_logs_cold_by_mem *g = &s->cold_by_mem[s->ncold_by_mem++];
        g->memory_mb = (uint32_t)(key[i] >> 32);
        for (size_t q = 0; q < s->nmem; q++)
            if (s->mem[q].memory_mb == g->memory_mb)
                g->invocations = s->mem[q].invocations;
        stats_sorted_ticks(vt, j - i, &g->init);
        i = j;
    }
    if (keep) {
        /* Times for the chart (restores are cold starts too); it bins them, so no order. */
        s->cold_times = malloc(m * sizeof(*s->cold_times));
        if (!s->cold_times) {
            rc = pt_error_set(err, PT_ENOMEM, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < n; i++)
            if (colds[i].end != PT_LOGS_NO_TIME)
                s->cold_times[s->ncold_times++] = colds[i].end;
    }
out:
    free(v);
    free(vt);
    free(rv);
    free(key);
    free(kt);
    return rc;
}

/* ---------------------------------------------------------------- memory and cost */

static uint32_t round_up_64(double mb)
{
    uint32_t v = (uint32_t)ceil(mb / 64.0) * 64;
    if (v < 128)
        v = 128;
    if (v > 10240)
        v = 10240;
    return v;
}

static int cmp_mem(const void *a, const void *b)
{
    const struct pt_logs_mem *x = a, *y = b;
    return (x->memory_mb > y->memory_mb) - (x->memory_mb < y->memory_mb);
}

static void memory_and_cost(struct pt_logs_scope *s, const struct pt_logs_result *r)
{
    qsort(s->mem, s->nmem, sizeof(s->mem[0]), cmp_mem);
    uint64_t requests = 0;
    for (size_t k = 0; k < s->nmem; k++) {
        const struct pt_logs_mem *m = &s->mem[k];
        requests += m->invocations;
        if (m->memory_mb == 0)
            continue; /* no Memory Size: GB-seconds unknown */
        s->gb_seconds += (double)m->billed_ms / 1000.0 * (double)m->memory_mb / 1024.0;
        s->billable_requests += m->invocations;
    }
    requests += s->mem_overflow;
    s->compute_usd = s->gb_seconds * r->price_gb_s;
    s->request_usd = (double)requests * r->price_requests / 1e6;

    /* The Memory Size most invocations ran with is "current". */
    const struct pt_logs_mem *cur = NULL;
    for (size_t k = 0; k < s->nmem; k++)
        if (s->mem[k].memory_mb && s->mem[k].used_reports &&
            (!cur || s->mem[k].invocations > cur->invocations))
            cur = &s->mem[k];
    if (!cur)
        return;
    s->have_recommendation = true;
    s->rec_current_mb = cur->memory_mb;
    s->rec_used_mb = cur->used_max_mb;
    /* 20 % over the highest Max Memory Used seen, in 64 MB steps, 128 MB at least. */
    uint32_t target = round_up_64(cur->used_max_mb * 1.2);
    if (cur->out_of_memory || cur->used_max_mb >= cur->memory_mb * 0.9) {
        if (target <= cur->memory_mb)
            target = round_up_64(cur->memory_mb * 1.5);
        s->rec_action = target > cur->memory_mb ? "increase" : "keep";
    } else if (target < cur->memory_mb) {
        s->rec_action = "reduce";
    } else {
        target = cur->memory_mb;
        s->rec_action = "keep";
    }
    s->rec_mb = target;
    /* Same billed durations assumed: CPU scales with memory, so verify with the tuner. */
    double gbs = (double)cur->billed_ms / 1000.0 * (double)cur->memory_mb / 1024.0;
    double cost = gbs * r->price_gb_s;
    s->rec_cost_change_usd = cost * ((double)target / (double)cur->memory_mb - 1.0);
    s->rec_cost_change_pct = 100.0 * ((double)target / (double)cur->memory_mb - 1.0);
}

/* ---------------------------------------------------------------- a scope */

/* Durations and cold starts run on a second thread while the sweep runs on the caller's. */
struct side_job {
    struct pt_logs_scope *s;
    const struct pt_logs_inv *invs;
    size_t ninv;
    const struct pt_logs_cold *colds;
    size_t ncold;
    bool keep;
    int rc;
    struct pt_error err;
};

static void *side_run(void *p)
{
    struct side_job *j = p;
    j->rc = durations(j->s, j->invs, j->ninv, j->keep, &j->err);
    if (!j->rc)
        j->rc = cold_starts(j->s, j->colds, j->ncold, j->keep, &j->err);
    return NULL;
}

int pt_logs_scope_compute(struct pt_logs_scope *s, const struct pt_logs_result *r,
                          const struct pt_logs_inv *invs, size_t ninv,
                          const struct pt_logs_cold *colds, size_t ncold,
                          const struct pt_logs_counts *const *counts, size_t ncounts,
                          bool keep_series, struct pt_error *err)
{
    struct pt_logs_counts acc;
    memset(&acc, 0, sizeof(acc));
    for (size_t i = 0; i < ncounts; i++) {
        const struct pt_logs_counts *c = counts[i];
        acc.timeouts += c->timeouts;
        acc.errors += c->errors;
        acc.init_reports += c->init_reports;
        acc.init_failures += c->init_failures;
        acc.mem_overflow += c->mem_overflow;
        for (size_t k = 0; k < c->nmem; k++)
            pt_logs_counts_add_mem(&acc, &c->mem[k]);
    }
    s->invocations = ninv;
    s->timeouts = acc.timeouts;
    s->errors = acc.errors;
    s->init_reports = acc.init_reports;
    s->init_failures = acc.init_failures;
    memcpy(s->mem, acc.mem, sizeof(acc.mem));
    s->nmem = acc.nmem;
    s->mem_overflow = acc.mem_overflow;
    s->first = s->last = s->peak_at = s->est_peak_at = PT_LOGS_NO_TIME;
    memory_and_cost(s, r);

    struct side_job job = {s, invs, ninv, colds, ncold, keep_series, 0, {0, ""}};
    pthread_t tid;
    /* Threads only pay off on big scopes; a failed create just runs the job inline. */
    bool threaded = ninv >= 100000 && pthread_create(&tid, NULL, side_run, &job) == 0;
    if (!threaded)
        side_run(&job);
    int rc = concurrency(s, &r->opt, invs, ninv, colds, ncold, err);
    if (threaded)
        pthread_join(tid, NULL);
    if (!rc && job.rc) {
        rc = job.rc;
        if (err)
            *err = job.err;
    }
    if (!rc && !keep_series) {
        free(s->bins);
        s->bins = NULL;
        s->nbins = 0;
    }
    return rc;
}

void pt_logs_scope_finish(struct pt_logs_scope *s, bool account_scope)
{
    int k = account_scope ? 0 : 1;
    s->limit = s->limits[k];
    s->limit_is_reserved = !account_scope && s->limits[1] != s->limits[0];
    s->throttled_seconds = s->thr_seconds[k];
    s->throttled_invocations = s->thr_invocations[k];
}

static void *dup_mem(const void *p, size_t n, bool *ok)
{
    if (!p || n == 0)
        return NULL;
    void *d = malloc(n);
    pt_logs_big_array(d, n);
    if (!d)
        *ok = false;
    else
        memcpy(d, p, n);
    return d;
}

int pt_logs_scope_clone(struct pt_logs_scope *dst, const struct pt_logs_scope *src,
                        struct pt_error *err)
{
    bool ok = true;
    *dst = *src;
    dst->name = src->name ? strdup(src->name) : NULL;
    ok = !src->name || dst->name;
    dst->durations = dup_mem(src->durations, src->ndurations * sizeof(*src->durations), &ok);
    dst->bins = dup_mem(src->bins, src->nbins * sizeof(*src->bins), &ok);
    dst->minutes = dup_mem(src->minutes, src->nminutes * sizeof(*src->minutes), &ok);
    dst->cold_by_mem =
        dup_mem(src->cold_by_mem, src->ncold_by_mem * sizeof(*src->cold_by_mem), &ok);
    dst->cold_times = dup_mem(src->cold_times, src->ncold_times * sizeof(*src->cold_times), &ok);
    if (!ok) {
        pt_logs_scope_free(dst);
        return pt_error_set(err, PT_ENOMEM, "out of memory");
    }
    return 0;
}

void pt_logs_scope_free(struct pt_logs_scope *s)
{
    free(s->name);
    free(s->durations);
    free(s->bins);
    free(s->minutes);
    free(s->cold_by_mem);
    free(s->cold_times);
    memset(s, 0, sizeof(*s));
}
