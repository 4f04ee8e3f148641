/*
 * adaptive.c - the statistics of `--adaptive` (see adaptive.h for the procedure and why it
 * is sound): Student's t distribution, Yuen's trimmed-mean comparison, and the look after
 * each round that picks a power and settles the others against it.
 */
#include "tune/adaptive.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------- Student's t -- */

/* Continued fraction of the incomplete beta function (modified Lentz). */
static double beta_cf(double a, double b, double x)
{
    const double tiny = 1e-300;
    double qab = a + b, qap = a + 1, qam = a - 1;
    double c = 1, d = 1 - qab * x / qap;
    if (fabs(d) < tiny)
        d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 500; m++) {
        int m2 = 2 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < 1e-15)
            break;
    }
    return h;
}

/* Regularised incomplete beta I_x(a, b). lgamma_r: lgamma writes the global signgam. */
static double beta_inc(double a, double b, double x)
{
    if (x <= 0)
        return 0;
    if (x >= 1)
        return 1;
    int s;
    double ln = lgamma_r(a + b, &s) - lgamma_r(a, &s) - lgamma_r(b, &s) + a * log(x) +
                b * log1p(-x);
    double front = exp(ln);
    if (x < (a + 1) / (a + b + 2))
        return front * beta_cf(a, b, x) / a;
    return 1 - front * beta_cf(b, a, 1 - x) / b;
}

double pt_student_t_upper(double t, double df)
{
    if (isnan(t) || isnan(df) || df <= 0)
        return NAN;
    if (t < 0)
        return 1 - pt_student_t_upper(-t, df);
    if (isinf(df) || df > 1e7)
        return 0.5 * erfc(t / sqrt(2.0)); /* the normal limit */
    if (isinf(t))
        return 0;
    return 0.5 * beta_inc(df / 2, 0.5, df / (df + t * t));
}

double pt_student_t_quantile_upper(double p, double df)
{
    if (!(p > 0 && p <= 0.5) || isnan(df) || df <= 0)
        return NAN;
    if (p == 0.5)
        return 0;
    /* The upper tail falls monotonically in t: bracket, then bisect to full precision. */
    double lo = 0, hi = 1;
    while (pt_student_t_upper(hi, df) > p && hi < 1e300)
        hi *= 2;
    for (int i = 0; i < 2000 && hi - lo > 1e-13 * hi; i++) {
        double mid = lo + (hi - lo) / 2;
        if (pt_student_t_upper(mid, df) > p)
            lo = mid;
        else
            hi = mid;
    }
    return lo + (hi - lo) / 2;
}

/* ------------------------------------------------------------ Yuen -- */

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* As pt_tune_trimmed_mean counts it (the reference's parseInt(n x d)). */
static size_t trim_count(size_t n, double trim)
{
    return (size_t)floor((double)n * trim);
}

int pt_yuen_sample(double *values, size_t n, double trim, struct pt_yuen_sample *out,
                   struct pt_error *err)
{
    size_t g = trim_count(n, trim);
    if (n < 2 || n - 2 * g < 2)
        return pt_error_set(err, PT_EUSAGE, "%zu values trimmed by %g leave fewer than 2", n, trim);
    qsort(values, n, sizeof(*values), cmp_double);
    size_t h = n - 2 * g;
    double sum = 0;
    for (size_t i = g; i < n - g; i++)
        sum += values[i];
    /* The winsorised sample: the g lowest become values[g], the g highest values[n-g-1]. */
    double lo = values[g], hi = values[n - g - 1];
    double wsum = sum + (double)g * (lo + hi);
    double wmean = wsum / (double)n;
    double ss = 0;
    for (size_t i = 0; i < n; i++) {
        double v = i < g ? lo : i >= n - g ? hi : values[i];
        ss += (v - wmean) * (v - wmean);
    }
    double wvar = ss / (double)(n - 1);
    out->mean = sum / (double)h;
    out->d = (double)(n - 1) * wvar / ((double)h * (double)(h - 1));
    out->h = h;
    return 0;
}

void pt_yuen_compare(const struct pt_yuen_sample *a, const struct pt_yuen_sample *b,
                     struct pt_yuen_diff *out)
{
    double d = a->d + b->d;
    out->diff = a->mean - b->mean;
    out->se = sqrt(d);
    double den = a->d * a->d / (double)(a->h - 1) + b->d * b->d / (double)(b->h - 1);
    out->df = den > 0 ? d * d / den : INFINITY;
}

/* The one-sided t quantile times the standard error; 0 when there is no spread. */
static double yuen_halfwidth(const struct pt_yuen_diff *d, double alpha)
{
    return d->se == 0 ? 0 : pt_student_t_quantile_upper(alpha, d->df) * d->se;
}

double pt_yuen_lower(const struct pt_yuen_diff *d, double alpha)
{
    return d->diff - yuen_halfwidth(d, alpha);
}

double pt_yuen_upper(const struct pt_yuen_diff *d, double alpha)
{
    return d->diff + yuen_halfwidth(d, alpha);
}

bool pt_yuen_greater(const struct pt_yuen_diff *d, double alpha)
{
    return pt_yuen_lower(d, alpha) > 0;
}

bool pt_yuen_equivalent(const struct pt_yuen_diff *d, double margin, double alpha)
{
    return pt_yuen_lower(d, alpha) > -margin && pt_yuen_upper(d, alpha) < margin;
}

/* ------------------------------------------------------------- looks -- */

const char *pt_adaptive_state_name(enum pt_adaptive_state s)
{
    switch (s) {
    case PT_ADAPTIVE_RUNNING: return "running";
    case PT_ADAPTIVE_PICK: return "recommended";
    case PT_ADAPTIVE_WORSE: return "worse";
    case PT_ADAPTIVE_EQUIVALENT: return "equivalent";
    case PT_ADAPTIVE_NOT_BETTER: return "notBetter";
    case PT_ADAPTIVE_UNDECIDED: return "undecided";
    case PT_ADAPTIVE_TIED: return "tied";
    case PT_ADAPTIVE_BEHIND: return "behind";
    case PT_ADAPTIVE_EXCLUDED: return "excluded";
    }
    return "?";
}

const char *pt_adaptive_stop_name(enum pt_adaptive_stop s)
{
    switch (s) {
    case PT_ADAPTIVE_STOP_NONE: return "running";
    case PT_ADAPTIVE_STOP_SETTLED: return "settled";
    case PT_ADAPTIVE_STOP_TIED: return "tied";
    case PT_ADAPTIVE_STOP_BEHIND: return "behind";
    case PT_ADAPTIVE_STOP_NUM: return "num";
    }
    return "?";
}

static const char *tie_break_text(enum pt_tune_strategy s)
{
    switch (s) {
    case PT_STRATEGY_COST: return "the fastest (lowest trimmed Duration + Init) of the equally cheap";
    case PT_STRATEGY_SPEED: return "the cheapest (lowest trimmed price) of the equally fast";
    case PT_STRATEGY_BALANCED: break;
    }
    return "the first in input order of the equally scored";
}

int pt_adaptive_init(struct pt_adaptive *a, const struct pt_tune_input *in,
                     const struct pt_price_model *price, struct pt_error *err)
{
    memset(a, 0, sizeof(*a));
    a->powers = calloc(in->n_powers ? in->n_powers : 1, sizeof(*a->powers));
    if (!a->powers)
        return pt_error_set(err, PT_ENOMEM, "out of memory for %zu powers", in->n_powers);
    a->n_powers = in->n_powers;
    for (size_t i = 0; i < in->n_powers; i++) {
        a->powers[i].power = in->powers[i];
        a->powers[i].round = -1;
        a->powers[i].score = NAN;
        a->powers[i].sample = true;
    }
    a->enabled = true;
    a->strategy = in->strategy;
    a->weight = in->balanced_weight;
    a->trim = in->discard_top_bottom;
    a->tolerance = in->adaptive_tolerance;
    a->only_cold = in->only_cold_starts;
    a->num = pt_tune_input_runs_per_power(in);
    a->allowed = (const char(*)[PT_TUNE_ERROR_TYPE_MAX])in->allowed_exceptions;
    a->n_allowed = in->n_allowed;
    a->price = *price;
    a->batch = PT_ADAPTIVE_BATCH;
    /* Enough test values that trimming leaves PT_ADAPTIVE_MIN_TRIMMED; the cold start is
     * not one of them unless onlyColdStarts. */
    long cold = a->only_cold ? 0 : 1;
    a->min_samples = PT_ADAPTIVE_MIN_SAMPLES;
    while ((size_t)(a->min_samples - cold) - 2 * trim_count((size_t)(a->min_samples - cold), a->trim) <
           PT_ADAPTIVE_MIN_TRIMMED)
        a->min_samples++;
    a->confidence = PT_ADAPTIVE_CONFIDENCE;
    a->max_looks = 1;
    while (pt_adaptive_round_target(a, a->max_looks - 1) < a->num)
        a->max_looks++;
    a->pick = -1;
    return 0;
}

void pt_adaptive_free(struct pt_adaptive *a)
{
    free(a->powers);
    memset(a, 0, sizeof(*a));
}

long pt_adaptive_round_target(const struct pt_adaptive *a, long round)
{
    long t = a->min_samples + round * a->batch;
    return t < a->num ? t : a->num;
}

double pt_adaptive_look_alpha(const struct pt_adaptive *a, long look)
{
    double family = PT_ADAPTIVE_ALPHA / (a->n_powers > 1 ? (double)(a->n_powers - 1) : 1.0);
    (void)look; /* every look the same share: front-loading measured no better */
    return family / (double)a->max_looks;
}

bool pt_adaptive_running(const struct pt_adaptive *a, size_t i)
{
    return i < a->n_powers && a->powers[i].sample;
}

size_t pt_adaptive_n_running(const struct pt_adaptive *a)
{
    size_t n = 0;
    for (size_t i = 0; i < a->n_powers; i++)
        n += a->powers[i].sample;
    return n;
}

long pt_adaptive_invocations(const struct pt_adaptive *a)
{
    long n = 0;
    for (size_t i = 0; i < a->n_powers; i++)
        n += a->powers[i].invocations;
    return n;
}

int pt_adaptive_recommendation(const struct pt_adaptive *a)
{
    return a->pick >= 0 ? a->powers[a->pick].power : -1;
}

static long adaptive_index(const struct pt_adaptive *a, int power)
{
    for (size_t i = 0; i < a->n_powers; i++)
        if (a->powers[i].power == power)
            return (long)i;
    return -1;
}

/* Scratch of one look: the test values grouped by power. */
struct adaptive_groups {
    size_t *off, *count;   /* per power, into cost/dur */
    bool *failed;
    double *cost, *dur;    /* per test value */
    double *scratch;       /* one power's values, sorted in place */
    double *mean_cost, *mean_dur;
    struct pt_yuen_sample *yuen;
    bool *valid;
};

static void groups_free(struct adaptive_groups *g)
{
    free(g->off);
    free(g->count);
    free(g->failed);
    free(g->cost);
    free(g->dur);
    free(g->scratch);
    free(g->mean_cost);
    free(g->mean_dur);
    free(g->yuen);
    free(g->valid);
}

/* A sample the test uses: not failed beyond allowedExceptions, not a cold start (unless the
 * run is all cold starts). */
static bool test_value(const struct pt_adaptive *a, const struct pt_tune_sample *s)
{
    if (!pt_tune_sample_counted(s, a->allowed, a->n_allowed))
        return false;
    return a->only_cold || !s->cold_start;
}

static int groups_fill(struct pt_adaptive *a, const struct pt_tune_sample *s, size_t n,
                       struct adaptive_groups *g, struct pt_error *err)
{
    size_t k = a->n_powers;
    g->off = calloc(k, sizeof(*g->off));
    g->count = calloc(k, sizeof(*g->count));
    g->failed = calloc(k, sizeof(*g->failed));
    g->cost = calloc(n ? n : 1, sizeof(*g->cost));
    g->dur = calloc(n ? n : 1, sizeof(*g->dur));
    g->scratch = calloc(n ? n : 1, sizeof(*g->scratch));
    g->mean_cost = calloc(k, sizeof(*g->mean_cost));
    g->mean_dur = calloc(k, sizeof(*g->mean_dur));
    g->yuen = calloc(k, sizeof(*g->yuen));
    g->valid = calloc(k, sizeof(*g->valid));
    if (!g->off || !g->count || !g->failed || !g->cost || !g->dur || !g->scratch ||
        !g->mean_cost || !g->mean_dur || !g->yuen || !g->valid)
        return pt_error_set(err, PT_ENOMEM, "out of memory for %zu samples", n);
    for (size_t i = 0; i < k; i++)
        a->powers[i].invocations = 0;
    /* Two passes: counts give each power a contiguous range, then the values. */
    for (size_t j = 0; j < n; j++) {
        long i = adaptive_index(a, s[j].power);
        if (i < 0)
            continue;
        a->powers[i].invocations++;
        if (!pt_tune_sample_counted(&s[j], a->allowed, a->n_allowed))
            g->failed[i] = true;
        g->count[i] += test_value(a, &s[j]);
    }
    for (size_t i = 1; i < k; i++)
        g->off[i] = g->off[i - 1] + g->count[i - 1];
    size_t *fill = calloc(k, sizeof(*fill));
    if (!fill)
        return pt_error_set(err, PT_ENOMEM, "out of memory for %zu powers", k);
    for (size_t j = 0; j < n; j++) {
        long i = adaptive_index(a, s[j].power);
        if (i < 0 || !test_value(a, &s[j]))
            continue;
        size_t at = g->off[i] + fill[i]++;
        /* What the analysis averages: Duration + Init, and the price of Billed Duration. */
        g->dur[at] = s[j].duration_ms + (s[j].init_ms >= 0 ? s[j].init_ms : 0);
        g->cost[at] = pt_price_invocation(&a->price, s[j].power, s[j].billed_ms);
    }
    free(fill);
    return 0;
}

static double trimmed(const double *v, size_t n, double trim, double *scratch)
{
    memcpy(scratch, v, n * sizeof(*v));
    return pt_tune_trimmed_mean(scratch, n, trim);
}

/* The per-invocation score under the strategy; its mean is the strategy's score. */
static double score_of(const struct pt_adaptive *a, double cost, double dur, double max_cost,
                       double max_dur)
{
    switch (a->strategy) {
    case PT_STRATEGY_COST: return cost;
    case PT_STRATEGY_SPEED: return dur;
    case PT_STRATEGY_BALANCED: break;
    }
    double c = max_cost > 0 ? cost / max_cost : 0;
    double d = max_dur > 0 ? dur / max_dur : 0;
    return a->weight * c + (1 - a->weight) * d;
}

/* Trimmed means of price and duration, Yuen's statistics of the score; valid[i] when the
 * power has enough test values. */
static void groups_estimate(struct pt_adaptive *a, struct adaptive_groups *g)
{
    double max_cost = 0, max_dur = 0;
    for (size_t i = 0; i < a->n_powers; i++) {
        if (a->powers[i].state == PT_ADAPTIVE_EXCLUDED || g->count[i] == 0)
            continue;
        g->mean_cost[i] = trimmed(g->cost + g->off[i], g->count[i], a->trim, g->scratch);
        g->mean_dur[i] = trimmed(g->dur + g->off[i], g->count[i], a->trim, g->scratch);
        max_cost = fmax(max_cost, g->mean_cost[i]);
        max_dur = fmax(max_dur, g->mean_dur[i]);
    }
    for (size_t i = 0; i < a->n_powers; i++) {
        struct pt_adaptive_power *p = &a->powers[i];
        p->score = NAN;
        if (p->state == PT_ADAPTIVE_EXCLUDED || g->count[i] == 0)
            continue;
        for (size_t j = 0; j < g->count[i]; j++)
            g->scratch[j] = score_of(a, g->cost[g->off[i] + j], g->dur[g->off[i] + j], max_cost,
                                     max_dur);
        if (pt_yuen_sample(g->scratch, g->count[i], a->trim, &g->yuen[i], NULL) == 0) {
            g->valid[i] = true;
            p->score = g->yuen[i].mean;
        }
    }
}

/* The tie-break key among candidates: lower wins; equal keys keep input order. */
static double tie_key(const struct pt_adaptive *a, const struct adaptive_groups *g, size_t i)
{
    switch (a->strategy) {
    case PT_STRATEGY_COST: return g->mean_dur[i];
    case PT_STRATEGY_SPEED: return g->mean_cost[i];
    case PT_STRATEGY_BALANCED: break;
    }
    return 0;
}

/* The leader (lowest estimate), then the candidate the tie-break prefers; -1: none valid. */
static long adaptive_pick(struct pt_adaptive *a, const struct adaptive_groups *g)
{
    long leader = -1;
    for (size_t i = 0; i < a->n_powers; i++)
        if (g->valid[i] && (leader < 0 || g->yuen[i].mean < g->yuen[leader].mean))
            leader = (long)i;
    if (leader < 0)
        return -1;
    a->margin = a->tolerance * fabs(g->yuen[leader].mean);
    double reach = g->yuen[leader].mean + a->margin / 2;
    long pick = leader;
    for (size_t i = 0; i < a->n_powers; i++)
        if (g->valid[i] && g->yuen[i].mean <= reach &&
            (tie_key(a, g, i) < tie_key(a, g, (size_t)pick) ||
             (tie_key(a, g, i) == tie_key(a, g, (size_t)pick) && (long)i < pick)))
            pick = (long)i;
    return pick;
}

/* A power's statistics as they would be with num invocations, the spread and the mean seen
 * now: the variance of a trimmed mean falls as 1 / h, the values kept. */
static void project_to_num(const struct pt_adaptive *a, const struct pt_yuen_sample *now,
                           struct pt_yuen_sample *out)
{
    size_t n = (size_t)a->num - (a->only_cold ? 0 : 1);
    size_t h = n - 2 * trim_count(n, a->trim);
    *out = *now;
    if (h > now->h) {
        out->d = now->d * (double)now->h / (double)h;
        out->h = h;
    }
}

/* Power i against the pick: its settled state; TIED when, at the spread and difference seen
 * now, even num invocations of both would not settle it (a fixed run of num could not tell
 * them apart at the tolerance either, so more samples buy nothing); BEHIND when they would,
 * but would almost surely (1 - PT_ADAPTIVE_BEHIND_BETA, predictive) not put i ahead of the
 * pick by half the tolerance, the distance at which it would start to compete for the pick:
 * more samples would prove the recommendation right without being able to change it;
 * otherwise RUNNING, or UNDECIDED at num. Neither futility stop with tolerance 0. */
static enum pt_adaptive_state settle(const struct pt_adaptive *a, const struct adaptive_groups *g,
                                     size_t i, double alpha)
{
    enum pt_adaptive_state open = a->powers[i].invocations < a->num ? PT_ADAPTIVE_RUNNING
                                                                    : PT_ADAPTIVE_UNDECIDED;
    if (!g->valid[i])
        return open;
    struct pt_yuen_diff d; /* score(i) - score(pick) */
    pt_yuen_compare(&g->yuen[i], &g->yuen[a->pick], &d);
    if (!(pt_yuen_lower(&d, alpha) > -a->margin)) {
        /* With tolerance 0 every difference matters: more samples still sharpen the pick
         * when they cannot prove it. */
        if (open != PT_ADAPTIVE_RUNNING || a->tolerance == 0)
            return open;
        struct pt_yuen_sample at_num_i, at_num_pick;
        struct pt_yuen_diff at_num;
        project_to_num(a, &g->yuen[i], &at_num_i);
        project_to_num(a, &g->yuen[a->pick], &at_num_pick);
        pt_yuen_compare(&at_num_i, &at_num_pick, &at_num);
        if (!(pt_yuen_lower(&at_num, alpha) > -a->margin))
            return PT_ADAPTIVE_TIED;
        /* Settling it would only prove what the estimates say already, unless i could still
         * overtake: the predictive distribution of the difference at num (flat prior, t with
         * today's df) is centred on today's, with the variance the remaining invocations
         * leave unknown, d(now) - d(num), per power. */
        struct pt_yuen_diff at_num_pred = d;
        at_num_pred.se = sqrt(g->yuen[i].d - at_num_i.d + g->yuen[a->pick].d - at_num_pick.d);
        return pt_yuen_lower(&at_num_pred, PT_ADAPTIVE_BEHIND_BETA) > -a->margin / 2
                   ? PT_ADAPTIVE_BEHIND
                   : open;
    }
    if (pt_yuen_greater(&d, alpha))
        return PT_ADAPTIVE_WORSE;
    return pt_yuen_equivalent(&d, a->margin, alpha) ? PT_ADAPTIVE_EQUIVALENT
                                                    : PT_ADAPTIVE_NOT_BETTER;
}

static bool is_settled(enum pt_adaptive_state s)
{
    return s == PT_ADAPTIVE_WORSE || s == PT_ADAPTIVE_EQUIVALENT || s == PT_ADAPTIVE_NOT_BETTER;
}

static void set_state(struct pt_adaptive_power *p, enum pt_adaptive_state s, long round)
{
    if (p->state != s)
        p->round = round;
    p->state = s;
}

int pt_adaptive_update(struct pt_adaptive *a, long round, const struct pt_tune_sample *samples,
                       size_t n, struct pt_error *err)
{
    struct adaptive_groups g = {0};
    int rc = groups_fill(a, samples, n, &g, err);
    if (rc)
        goto out;
    a->rounds = round + 1;
    a->last_alpha = pt_adaptive_look_alpha(a, round);
    for (size_t i = 0; i < a->n_powers; i++)
        if (g.failed[i]) /* the analysis would exclude it: it cannot be recommended */
            set_state(&a->powers[i], PT_ADAPTIVE_EXCLUDED, round);
    groups_estimate(a, &g);
    long previous = a->pick;
    a->pick = adaptive_pick(a, &g);
    bool open = false;
    for (size_t i = 0; i < a->n_powers; i++) {
        struct pt_adaptive_power *p = &a->powers[i];
        if (p->state == PT_ADAPTIVE_EXCLUDED || (long)i == a->pick)
            continue;
        /* A settlement holds for as long as the pick stays: what it asserts is about the
         * powers' true scores, proven at its look's alpha (see adaptive.h). */
        if (a->pick == previous && is_settled(p->state))
            continue;
        enum pt_adaptive_state s = a->pick < 0 ? (p->invocations < a->num ? PT_ADAPTIVE_RUNNING
                                                                           : PT_ADAPTIVE_UNDECIDED)
                                               : settle(a, &g, i, a->last_alpha);
        set_state(p, s, round);
        open |= s == PT_ADAPTIVE_RUNNING || s == PT_ADAPTIVE_UNDECIDED;
    }
    if (a->pick >= 0)
        set_state(&a->powers[a->pick], PT_ADAPTIVE_PICK, round);
    bool tied = false, behind = false;
    for (size_t i = 0; i < a->n_powers; i++) {
        tied |= a->powers[i].state == PT_ADAPTIVE_TIED;
        behind |= a->powers[i].state == PT_ADAPTIVE_BEHIND;
    }
    a->settled = a->pick >= 0 && !open && !tied && !behind;
    for (size_t i = 0; i < a->n_powers; i++) {
        struct pt_adaptive_power *p = &a->powers[i];
        bool more = p->state == PT_ADAPTIVE_RUNNING || (p->state == PT_ADAPTIVE_PICK && open);
        p->sample = more && p->invocations < a->num;
    }
    a->stop = pt_adaptive_n_running(a) || a->pick < 0 ? PT_ADAPTIVE_STOP_NONE
              : a->settled                            ? PT_ADAPTIVE_STOP_SETTLED
              : open                                  ? PT_ADAPTIVE_STOP_NUM
              : tied                                  ? PT_ADAPTIVE_STOP_TIED
                                                      : PT_ADAPTIVE_STOP_BEHIND;
out:
    groups_free(&g);
    return rc;
}

/* json_object_set_new that remembers a failure instead of checking each call. */
static void put(json_t *o, const char *key, json_t *v, bool *ok)
{
    if (!o || !v) {
        json_decref(v);
        *ok = false;
        return;
    }
    if (json_object_set_new(o, key, v) < 0) /* steals v even on failure */
        *ok = false;
}

json_t *pt_adaptive_json(const struct pt_adaptive *a)
{
    bool ok = true;
    json_t *o = json_object();
    long used = pt_adaptive_invocations(a);
    long fixed = a->num * (long)a->n_powers;
    put(o, "test", json_string(PT_ADAPTIVE_TEST_NAME), &ok);
    put(o, "confidence", json_real(a->confidence), &ok);
    put(o, "tolerance", json_real(a->tolerance), &ok);
    put(o, "tieBreak", json_string(tie_break_text(a->strategy)), &ok);
    put(o, "settled", json_boolean(a->settled), &ok);
    put(o, "stop", json_string(pt_adaptive_stop_name(a->stop)), &ok);
    int rec = pt_adaptive_recommendation(a);
    put(o, "recommendation", rec > 0 ? json_integer(rec) : json_null(), &ok);
    put(o, "margin", json_real(a->margin), &ok);
    put(o, "lastAlpha", json_real(a->last_alpha), &ok);
    put(o, "trim", json_real(a->trim), &ok);
    put(o, "minSamples", json_integer(a->min_samples), &ok);
    put(o, "batch", json_integer(a->batch), &ok);
    put(o, "rounds", json_integer(a->rounds), &ok);
    put(o, "invocations", json_integer(used), &ok);
    put(o, "fixedInvocations", json_integer(fixed), &ok);
    put(o, "saved", json_integer(fixed > used ? fixed - used : 0), &ok);
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < a->n_powers; i++) {
        const struct pt_adaptive_power *p = &a->powers[i];
        json_t *e = json_object();
        put(e, "power", json_integer(p->power), &ok);
        put(e, "invocations", json_integer(p->invocations), &ok);
        put(e, "state", json_string(pt_adaptive_state_name(p->state)), &ok);
        put(e, "score", isnan(p->score) ? json_null() : json_real(p->score), &ok);
        if (!e || json_array_append_new(arr, e) < 0)
            ok = false;
    }
    put(o, "powers", arr, &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}
