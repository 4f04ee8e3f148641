/*
 * test_adaptive.c - `--adaptive`: Student's t against closed forms and table values, Yuen's
 * statistics and the two one-sided tests against hand computations, the look's decisions
 * on fixed samples, and the runner's adaptive rounds on a synthetic target with known
 * answers: clearly separated powers settle after the minimum, ties settle within the
 * tolerance and pick by the strategy's tie-break (or run to num with tolerance 0), a failing
 * power leaves, resume and weighted payloads keep working, and without --adaptive the run
 * is the fixed one.
 */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/str.h"
#include "tune/adaptive.h"
#include "tune/runner.h"
#include "tune/tune.h"

/* ------------------------------------------------------ distributions -- */

static void test_student_t(void **state)
{
    (void)state;
    /* Closed forms: df 1 is Cauchy, df 2 has P(T > t) = 1/2 - t / (2 sqrt(2 + t^2)). */
    for (double t = -5; t <= 20; t += 0.75) {
        assert_true(fabs(pt_student_t_upper(t, 1) - (0.5 - atan(t) / M_PI)) < 1e-12);
        assert_true(fabs(pt_student_t_upper(t, 2) - (0.5 - t / (2 * sqrt(2 + t * t)))) < 1e-12);
    }
    /* Table values (two-sided 95 %, one-sided 95 %, 99.9 %). */
    const struct { double p, df, t; } q[] = {
        {0.025, 1, 12.7062}, {0.025, 2, 4.3027}, {0.025, 5, 2.5706}, {0.025, 10, 2.2281},
        {0.025, 30, 2.0423}, {0.05, 5, 2.0150},  {0.001, 3, 10.2145}, {0.025, INFINITY, 1.9600},
        {0.5, 7, 0},
    };
    for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
        double t = pt_student_t_quantile_upper(q[i].p, q[i].df);
        assert_true(fabs(t - q[i].t) < 5e-4);
        if (q[i].t > 0 && isfinite(q[i].df)) /* the inverse inverts */
            assert_true(fabs(pt_student_t_upper(t, q[i].df) - q[i].p) < 1e-10);
    }
    /* Non-integer df (Welch) lies between its neighbours. */
    double t25 = pt_student_t_quantile_upper(0.025, 2.5);
    assert_true(t25 < 4.3027 && t25 > pt_student_t_quantile_upper(0.025, 3));
    assert_true(isnan(pt_student_t_quantile_upper(0.7, 5)));
    assert_true(isnan(pt_student_t_quantile_upper(0.05, 0)));
}

static void test_yuen(void **state)
{
    (void)state;
    /* n 10, 20 % trim: g 2, h 6. Hand computation: trimmed means 14.5 and 17.5, winsorised
     * variances 42.5 / 9, d = 42.5 / 30 each, df 10, t = 3 / sqrt(2 x 42.5 / 30) = 1.7823. */
    double a[] = {100, 10, 11, 12, 13, 14, 15, 16, 17, 18};
    double b[] = {14, 15, 16, -50, 17, 18, 19, 20, 21, 22};
    struct pt_yuen_sample ya, yb;
    assert_int_equal(pt_yuen_sample(a, 10, 0.2, &ya, NULL), 0);
    assert_int_equal(pt_yuen_sample(b, 10, 0.2, &yb, NULL), 0);
    assert_true(fabs(ya.mean - 14.5) < 1e-12 && fabs(yb.mean - 17.5) < 1e-12);
    assert_true(fabs(ya.d - 42.5 / 30) < 1e-12 && fabs(yb.d - 42.5 / 30) < 1e-12);
    assert_int_equal(ya.h, 6);
    struct pt_yuen_diff d;
    pt_yuen_compare(&yb, &ya, &d);
    assert_true(fabs(d.diff - 3) < 1e-12 && fabs(d.df - 10) < 1e-9);
    assert_true(fabs(d.diff / d.se - 1.7822655773580136) < 1e-9);
    /* t_{0.05,10} = 1.812 > 1.782 > t_{0.10,10} = 1.372 */
    assert_false(pt_yuen_greater(&d, 0.05));
    assert_true(pt_yuen_greater(&d, 0.10));
    pt_yuen_compare(&ya, &yb, &d); /* the other way round: never "greater" */
    assert_false(pt_yuen_greater(&d, 0.5));

    /* Trim 0 is Welch's test: d = s^2 / n; df by Welch-Satterthwaite. */
    double c[] = {1, 2, 3, 4, 5}, e[] = {2, 4, 6, 8, 10, 12};
    struct pt_yuen_sample yc, ye;
    assert_int_equal(pt_yuen_sample(c, 5, 0, &yc, NULL), 0);
    assert_int_equal(pt_yuen_sample(e, 6, 0, &ye, NULL), 0);
    assert_true(fabs(yc.d - 0.5) < 1e-12 && fabs(ye.d - 14.0 / 6) < 1e-12);
    pt_yuen_compare(&ye, &yc, &d);
    assert_true(fabs(d.df - 6.9722557297949335) < 1e-9);

    /* No spread: the difference is exact. */
    double f[] = {3, 3, 3, 3, 3}, g[] = {4, 4, 4, 4, 4};
    struct pt_yuen_sample yf, yg;
    assert_int_equal(pt_yuen_sample(f, 5, 0.2, &yf, NULL), 0);
    assert_int_equal(pt_yuen_sample(g, 5, 0.2, &yg, NULL), 0);
    pt_yuen_compare(&yg, &yf, &d);
    assert_true(d.se == 0 && pt_yuen_greater(&d, 1e-9));
    pt_yuen_compare(&yf, &yf, &d);
    assert_false(pt_yuen_greater(&d, 0.5));
    /* Too few values left after trimming. */
    assert_int_equal(pt_yuen_sample(f, 5, 0.4, &yf, NULL), PT_EUSAGE);
}

/* ------------------------------------------------------- fake target -- */

#define FAKE_POWERS 8

/* Durations drawn as mean x (1 + cv x N(0, 1)) from a seeded generator: known answers. */
struct fake {
    pthread_mutex_t lock;
    uint64_t rng;
    int powers[FAKE_POWERS];
    double mean_ms[FAKE_POWERS];
    double cv;
    int fail_power;          /* every invocation of it fails */
    int throttle_power;      /* every invocation of it is throttled */
    bool prepared[FAKE_POWERS];
    bool warm[FAKE_POWERS];
    int n_prepared, max_prepared, prepares, finishes;
    long invocations;
    bool bad_invoke;         /* an invocation of a power not prepared */
};

static double fake_uniform(struct fake *f)
{
    f->rng ^= f->rng << 13;
    f->rng ^= f->rng >> 7;
    f->rng ^= f->rng << 17;
    return ((double)(f->rng >> 11) + 0.5) / 9007199254740992.0;
}

static double fake_gauss(struct fake *f)
{
    double u = fake_uniform(f), v = fake_uniform(f);
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static int fake_index(const struct fake *f, int power)
{
    for (int i = 0; i < FAKE_POWERS; i++)
        if (f->powers[i] == power)
            return i;
    return -1;
}

static int fake_prepare(void *ctx, int power, struct pt_error *err)
{
    (void)err;
    struct fake *f = ctx;
    int i = fake_index(f, power);
    assert_true(i >= 0 && !f->prepared[i]);
    f->prepared[i] = true;
    f->warm[i] = false;
    f->prepares++;
    if (++f->n_prepared > f->max_prepared)
        f->max_prepared = f->n_prepared;
    return 0;
}

static int fake_invoke(void *ctx, int power, const char *payload, size_t len, bool cold,
                       struct pt_target_result *out, struct pt_error *err)
{
    (void)payload, (void)len, (void)err;
    struct fake *f = ctx;
    pthread_mutex_lock(&f->lock);
    int i = fake_index(f, power);
    if (i < 0 || !f->prepared[i])
        f->bad_invoke = true;
    if (power == f->throttle_power) {
        pthread_mutex_unlock(&f->lock);
        return PT_ETHROTTLED;
    }
    i = i < 0 ? 0 : i;
    double d = f->mean_ms[i] * (1 + f->cv * fake_gauss(f));
    out->duration_ms = d > 0.01 ? d : 0.01;
    out->billed_ms = ceil(out->duration_ms);
    out->cold_start = cold || !f->warm[i];
    out->init_ms = out->cold_start ? 40 : -1;
    f->warm[i] = true;
    out->max_memory_used_mb = 30;
    if (power == f->fail_power) {
        out->function_error = true;
        pt_strlcpy(out->error_type, "Boom", sizeof(out->error_type));
    }
    f->invocations++;
    pthread_mutex_unlock(&f->lock);
    return 0;
}

static int fake_processor(void *ctx, const char *fn, const char *payload, size_t len,
                          struct pt_target_result *out, struct pt_error *err)
{
    (void)ctx, (void)fn, (void)payload, (void)len, (void)out;
    return pt_error_set(err, PT_ENOTFOUND, "no processors here");
}

static void fake_finish(void *ctx, int power)
{
    struct fake *f = ctx;
    int i = fake_index(f, power);
    assert_true(i >= 0 && f->prepared[i]);
    f->prepared[i] = false;
    f->n_prepared--;
    f->finishes++;
}

static const struct pt_target_ops fake_ops = {fake_prepare, fake_invoke, fake_processor,
                                              fake_finish};

static const int POWERS[] = {128, 256, 512, 1024, 1769};
#define NP 5

static void fake_init(struct fake *f, const double *mean, double cv, uint64_t seed)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
    f->rng = seed;
    f->cv = cv;
    for (int i = 0; i < NP; i++) {
        f->powers[i] = POWERS[i];
        f->mean_ms[i] = mean[i];
    }
}

static void input_init(struct pt_tune_input *in, enum pt_tune_strategy s, long num, bool adaptive)
{
    pt_tune_input_init(in);
    assert_int_equal(pt_tune_input_set_function(in, "fake", NULL), 0);
    assert_int_equal(pt_tune_input_set_powers(in, "128,256,512,1024,1769", NULL), 0);
    pt_strlcpy(in->region, "us-east-1", sizeof(in->region));
    in->num = num;
    in->strategy = s;
    in->adaptive = adaptive;
    assert_int_equal(pt_tune_input_validate(in, NULL), 0);
}

/* Runs and analyses; returns the recommended power. */
static int run(struct pt_tune_input *in, struct fake *f, const struct pt_samples_file *resume,
               struct pt_runner_report *rep)
{
    struct pt_target t = {.ops = &fake_ops, .ctx = f, .description = "fake"};
    struct pt_runner_options opt = {.resume = resume};
    struct pt_error err = {0};
    int rc = pt_runner_run(in, in->payload, &t, &opt, rep, &err);
    if (rc)
        fail_msg("run: %s", err.msg);
    assert_false(f->bad_invoke);
    assert_int_equal(f->n_prepared, 0); /* every prepared power finished */
    struct pt_price_model m;
    assert_int_equal(pt_price_model_init(&m, in->pricing, "us-east-1", "x86_64", 0, NULL), 0);
    struct pt_tune_analysis a;
    assert_int_equal(pt_tune_analyze(in, &m, in->powers, in->n_powers, rep->samples,
                                     rep->n_samples, NULL, &a, &err), 0);
    int power = a.winner >= 0 ? a.powers[a.winner].power : -1;
    pt_tune_analysis_free(&a);
    return power;
}

static long count_power(const struct pt_runner_report *rep, int power)
{
    long n = 0;
    for (size_t i = 0; i < rep->n_samples; i++)
        n += rep->samples[i].power == power;
    return n;
}

/* CPU-bound: duration halves as memory doubles (the speed strategy separates them). */
static const double CPU[] = {1000, 500, 250, 125, 72.4};

static void test_separated_stop_early(void **state)
{
    (void)state;
    struct pt_tune_input in;
    input_init(&in, PT_STRATEGY_SPEED, 20, true);
    struct fake f;
    fake_init(&f, CPU, 0.03, 42);
    struct pt_runner_report rep = {0};
    assert_int_equal(run(&in, &f, NULL, &rep), 1769);
    /* Settled after the minimum: 5 x 5 instead of 100. */
    assert_int_equal(rep.n_samples, 25);
    assert_int_equal(f.max_prepared, NP); /* rounds need every power prepared */
    assert_int_equal(f.prepares, NP);
    const struct pt_adaptive *ad = &rep.adaptive;
    assert_true(ad->enabled && ad->settled);
    assert_int_equal(pt_adaptive_recommendation(ad), 1769);
    assert_int_equal(ad->min_samples, 5);
    assert_int_equal(ad->max_looks, 9); /* targets 5, 7, ..., 19, 20 */
    assert_true(fabs(ad->last_alpha - 0.05 / (4 * 9)) < 1e-15);
    assert_true(fabs(ad->tolerance - 0.05) < 1e-15);
    for (int i = 0; i < NP - 1; i++)
        assert_int_equal(ad->powers[i].state, PT_ADAPTIVE_WORSE);
    assert_int_equal(ad->powers[NP - 1].state, PT_ADAPTIVE_PICK);
    assert_int_equal(pt_adaptive_invocations(ad), 25);
    json_t *j = pt_adaptive_json(ad);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "saved")), 75);
    assert_int_equal(json_integer_value(json_object_get(j, "fixedInvocations")), 100);
    assert_int_equal(json_integer_value(json_object_get(j, "recommendation")), 1769);
    assert_true(json_is_true(json_object_get(j, "settled")));
    assert_true(json_real_value(json_object_get(j, "confidence")) == 0.95);
    assert_true(json_real_value(json_object_get(j, "tolerance")) == 0.05);
    assert_non_null(strstr(json_string_value(json_object_get(j, "test")), "Yuen"));
    assert_non_null(strstr(json_string_value(json_object_get(j, "tieBreak")), "cheapest"));
    json_decref(j);
    pt_runner_report_free(&rep);
    pt_tune_input_free(&in);
}

/*
 * Ties by construction. speed: equal durations; cost: duration x memory constant (long
 * enough that billing's whole ms do not tell them apart). With tolerance 0 nothing can be
 * settled and every power runs to num; with the default 5 % the run stops before num
 * (settled, or the powers not settled yet behind the pick: proving them would not change it)
 * and picks by the strategy's tie-break, not by noise: speed the cheapest (128 MB), cost the
 * fastest (1769 MB).
 */
static void test_ties(void **state)
{
    (void)state;
    for (int s = 0; s < 2; s++) {
        for (int tol = 0; tol < 2; tol++) {
            struct pt_tune_input in;
            input_init(&in, s == 0 ? PT_STRATEGY_SPEED : PT_STRATEGY_COST, 20, true);
            in.adaptive_tolerance = tol ? 0.05 : 0;
            struct fake f;
            double mean[NP];
            for (int i = 0; i < NP; i++)
                mean[i] = s == 0 ? 100 : 128000.0 / POWERS[i];
            fake_init(&f, mean, 0.02, 7 + (uint64_t)s);
            struct pt_runner_report rep = {0};
            run(&in, &f, NULL, &rep);
            const struct pt_adaptive *ad = &rep.adaptive;
            if (!tol) {
                assert_int_equal(rep.n_samples, 100);
                assert_false(ad->settled);
                for (int i = 0; i < NP; i++)
                    assert_true(ad->powers[i].state == PT_ADAPTIVE_UNDECIDED ||
                                ad->powers[i].state == PT_ADAPTIVE_PICK);
            } else {
                if ((ad->stop != PT_ADAPTIVE_STOP_SETTLED && ad->stop != PT_ADAPTIVE_STOP_BEHIND) ||
                    rep.n_samples >= 60)
                    fail_msg("%s: %zu samples, stop %s", pt_tune_strategy_name(in.strategy),
                             rep.n_samples, pt_adaptive_stop_name(ad->stop));
                assert_int_equal(pt_adaptive_recommendation(ad), s == 0 ? 128 : 1769);
                for (int i = 0; i < NP; i++)
                    assert_true(ad->powers[i].state == PT_ADAPTIVE_EQUIVALENT ||
                                ad->powers[i].state == PT_ADAPTIVE_NOT_BETTER ||
                                ad->powers[i].state == PT_ADAPTIVE_BEHIND ||
                                ad->powers[i].state == PT_ADAPTIVE_PICK);
            }
            pt_runner_report_free(&rep);
            pt_tune_input_free(&in);
        }
    }
}

/*
 * A tie under noise that num cannot resolve: cost, duration x memory constant, 6 % spread
 * (what a ~100 ms CPU-bound function shows on a shared VM). 5 % cannot be settled within 20
 * invocations, so a fixed run's winner among these is noise; the adaptive run stops once the
 * projection to num says so (tied), far before num, instead of running everything to num.
 */
static void test_noisy_tie_stops_early(void **state)
{
    (void)state;
    int first_look = 0;
    for (uint64_t seed = 1; seed <= 10; seed++) {
        struct pt_tune_input in;
        input_init(&in, PT_STRATEGY_COST, 20, true);
        struct fake f;
        double mean[NP];
        for (int i = 0; i < NP; i++)
            mean[i] = 128000.0 / POWERS[i];
        fake_init(&f, mean, 0.06, seed);
        struct pt_runner_report rep = {0};
        run(&in, &f, NULL, &rep);
        const struct pt_adaptive *ad = &rep.adaptive;
        if (ad->stop == PT_ADAPTIVE_STOP_NUM || rep.n_samples >= 100)
            fail_msg("seed %d: stop %s after %zu samples", (int)seed,
                     pt_adaptive_stop_name(ad->stop), rep.n_samples);
        first_look += rep.n_samples == 25;
        pt_runner_report_free(&rep);
        pt_tune_input_free(&in);
    }
    assert_true(first_look >= 1);
}

/* Two powers 1 % apart: with tolerance 0 they go to num and the clearly worse ones stop;
 * with 5 % they are equally fast and speed's tie-break takes the cheaper (1024 MB), before
 * num. */
static void test_close_pair(void **state)
{
    (void)state;
    static const double close[] = {1000, 500, 250, 101, 100};
    struct pt_tune_input in;
    input_init(&in, PT_STRATEGY_SPEED, 20, true);
    in.adaptive_tolerance = 0;
    struct fake f;
    fake_init(&f, close, 0.05, 1234);
    struct pt_runner_report rep = {0};
    int winner = run(&in, &f, NULL, &rep);
    assert_true(winner == 1024 || winner == 1769);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(count_power(&rep, POWERS[i]), 5);
        assert_int_equal(rep.adaptive.powers[i].state, PT_ADAPTIVE_WORSE);
    }
    assert_int_equal(count_power(&rep, 1024), 20);
    assert_int_equal(count_power(&rep, 1769), 20);
    assert_int_equal(rep.n_samples, 55);
    assert_false(rep.adaptive.settled);
    pt_runner_report_free(&rep);

    in.adaptive_tolerance = 0.05;
    fake_init(&f, close, 0.02, 1234);
    run(&in, &f, NULL, &rep);
    assert_true(rep.adaptive.stop == PT_ADAPTIVE_STOP_SETTLED ||
                rep.adaptive.stop == PT_ADAPTIVE_STOP_BEHIND);
    assert_int_equal(pt_adaptive_recommendation(&rep.adaptive), 1024);
    assert_true(rep.n_samples < 55);
    pt_runner_report_free(&rep);
    pt_tune_input_free(&in);
}

/* I/O-bound under cost: the duration is flat, the price grows with memory; 128 MB wins. */
static void test_cost_io_bound(void **state)
{
    (void)state;
    static const double flat[] = {100, 100, 100, 100, 100};
    struct pt_tune_input in;
    input_init(&in, PT_STRATEGY_COST, 20, true);
    struct fake f;
    fake_init(&f, flat, 0.05, 99);
    struct pt_runner_report rep = {0};
    assert_int_equal(run(&in, &f, NULL, &rep), 128);
    assert_int_equal(rep.n_samples, 25);
    assert_int_equal(pt_adaptive_recommendation(&rep.adaptive), 128);
    assert_int_equal(rep.adaptive.powers[0].state, PT_ADAPTIVE_PICK);
    pt_runner_report_free(&rep);
    pt_tune_input_free(&in);
}

/* Balanced at w 0.5 on the CPU-bound curve: 1769 MB, settled before num. */
static void test_balanced(void **state)
{
    (void)state;
    struct pt_tune_input in;
    input_init(&in, PT_STRATEGY_BALANCED, 20, true);
    struct fake f;
    fake_init(&f, CPU, 0.03, 5);
    struct pt_runner_report rep = {0};
    run(&in, &f, NULL, &rep);
    assert_int_equal(pt_adaptive_recommendation(&rep.adaptive), 1769);
    assert_int_equal(count_power(&rep, 128), 5);
    assert_int_equal(count_power(&rep, 256), 5);
    assert_true(rep.n_samples < 60 && rep.adaptive.settled);
    pt_runner_report_free(&rep);
    pt_tune_input_free(&in);
}

/* A power whose invocations fail cannot be recommended: it leaves after the first round. */
static void test_failing_power(void **state)
{
    (void)state;
    struct pt_tune_input in;
    input_init(&in, PT_STRATEGY_SPEED, 20, true);
    struct fake f;
    fake_init(&f, CPU, 0.03, 11);
    f.fail_power = 256;
    struct pt_runner_report rep = {0};
    assert_int_equal(run(&in, &f, NULL, &rep), 1769);
    assert_int_equal(count_power(&rep, 256), 5);
    assert_int_equal(rep.adaptive.powers[1].state, PT_ADAPTIVE_EXCLUDED);
    assert_int_equal(rep.n_samples, 25);
    pt_runner_report_free(&rep);
    pt_tune_input_free(&in);
}

/* Resume: the samples of an interrupted adaptive run are kept; the run finishes as one. */
static void test_resume(void **state)
{
    (void)state;
    static const double close[] = {1000, 500, 250, 101, 100};
    struct pt_tune_input in;
    input_init(&in, PT_STRATEGY_SPEED, 20, true);
    in.adaptive_tolerance = 0;
    struct fake f;
    fake_init(&f, close, 0.05, 1234);
    struct pt_runner_report full = {0};
    run(&in, &f, NULL, &full);
    /* Interrupted after 31 samples (round 0, then part of the later ones). */
    struct pt_samples_file resume = {.samples = full.samples, .n = 31};
    fake_init(&f, close, 0.05, 77);
    struct pt_runner_report rep = {0};
    int w = run(&in, &f, &resume, &rep);
    assert_true(w == 1024 || w == 1769);
    assert_int_equal(f.invocations, 55 - 31); /* the same total as the uninterrupted run */
    assert_int_equal(rep.n_samples, 55);
    for (size_t i = 0; i < 31; i++)
        assert_memory_equal(&rep.samples[i], &full.samples[i], sizeof(rep.samples[i]));
    for (int i = 0; i < NP; i++)
        assert_true(count_power(&rep, POWERS[i]) <= 20);
    /* Resuming a finished run: the powers at num run nothing more; the decisions are
     * re-taken on all the samples, so a settled power may get a few more, never beyond num. */
    struct pt_samples_file done = {.samples = rep.samples, .n = rep.n_samples};
    fake_init(&f, close, 0.05, 78);
    struct pt_runner_report again = {0};
    assert_int_equal(run(&in, &f, &done, &again), w);
    assert_true(f.invocations <= 3 * 15);
    assert_int_equal(count_power(&again, 1024), 20);
    assert_int_equal(count_power(&again, 1769), 20);
    pt_runner_report_free(&again);
    pt_runner_report_free(&rep);
    pt_runner_report_free(&full);
    pt_tune_input_free(&in);
}

/* Weighted payloads: a power stopped after 5 saw both payloads, in proportion. */
static void test_weighted_interleave(void **state)
{
    (void)state;
    struct pt_tune_input in;
    input_init(&in, PT_STRATEGY_SPEED, 20, true);
    const char *w = "[{\"payload\":{\"a\":1},\"weight\":3},{\"payload\":{\"b\":2},\"weight\":1}]";
    assert_int_equal(pt_tune_input_set_payload_text(&in, w, strlen(w), NULL), 0);
    assert_int_equal(pt_tune_input_validate(&in, NULL), 0);
    struct fake f;
    fake_init(&f, CPU, 0.03, 42);
    struct pt_runner_report rep = {0};
    run(&in, &f, NULL, &rep);
    for (int i = 0; i < NP - 1; i++) {
        int per[2] = {0, 0};
        for (size_t j = 0; j < rep.n_samples; j++)
            if (rep.samples[j].power == POWERS[i])
                per[rep.samples[j].payload_index]++;
        assert_int_equal(per[0] + per[1], 5);
        assert_true(per[0] >= 3 && per[1] >= 1); /* 15:5 allocation, 3.75:1.25 of 5 */
    }
    pt_runner_report_free(&rep);
    pt_tune_input_free(&in);

    /* The same input without --adaptive: the fixed run, blocks in the reference's order. */
    input_init(&in, PT_STRATEGY_SPEED, 20, false);
    assert_int_equal(pt_tune_input_set_payload_text(&in, w, strlen(w), NULL), 0);
    assert_int_equal(pt_tune_input_validate(&in, NULL), 0);
    fake_init(&f, CPU, 0.03, 42);
    run(&in, &f, NULL, &rep);
    assert_int_equal(rep.n_samples, 100);
    assert_false(rep.adaptive.enabled);
    assert_int_equal(f.max_prepared, 1); /* one power at a time */
    for (size_t j = 0; j < rep.n_samples; j++) {
        assert_int_equal(rep.samples[j].power, POWERS[j / 20]);
        assert_int_equal(rep.samples[j].payload_index, j % 20 < 15 ? 0 : 1);
    }
    pt_runner_report_free(&rep);
    pt_tune_input_free(&in);
}

/* --parallel with --adaptive: batches run concurrently, the answer is the same. */
static void test_parallel(void **state)
{
    (void)state;
    static const double close[] = {1000, 500, 250, 101, 100};
    struct pt_tune_input in;
    input_init(&in, PT_STRATEGY_SPEED, 20, true);
    in.adaptive_tolerance = 0;
    in.parallel = true;
    in.concurrency = 3;
    struct fake f;
    fake_init(&f, close, 0.05, 1234);
    struct pt_runner_report rep = {0};
    int w = run(&in, &f, NULL, &rep);
    assert_true(w == 1024 || w == 1769);
    assert_int_equal(count_power(&rep, 128), 5);
    assert_true(rep.n_samples < 100);
    pt_runner_report_free(&rep);
    pt_tune_input_free(&in);
}

/* The cold start is not a test value: discardTopBottom 0.2 needs 5 invocations (4 warm
 * values, none trimmed), 0.4 needs 8 (7 warm, 2 trimmed at each end leave 3); onlyColdStarts
 * counts every invocation. num at the minimum: one look. */
static void test_min_samples(void **state)
{
    (void)state;
    struct pt_tune_input in;
    input_init(&in, PT_STRATEGY_SPEED, 20, true);
    in.discard_top_bottom = 0.4;
    struct pt_adaptive a;
    struct pt_price_model m;
    assert_int_equal(pt_price_model_init(&m, in.pricing, "us-east-1", "x86_64", 0, NULL), 0);
    assert_int_equal(pt_adaptive_init(&a, &in, &m, NULL), 0);
    assert_int_equal(a.min_samples, 8);
    assert_int_equal(pt_adaptive_round_target(&a, 0), 8);
    assert_int_equal(pt_adaptive_round_target(&a, 5), 18);
    assert_int_equal(pt_adaptive_round_target(&a, 6), 20);
    assert_int_equal(a.max_looks, 7);
    pt_adaptive_free(&a);
    in.only_cold_starts = true;
    assert_int_equal(pt_adaptive_init(&a, &in, &m, NULL), 0);
    assert_int_equal(a.min_samples, 7);
    pt_adaptive_free(&a);
    in.only_cold_starts = false;
    in.discard_top_bottom = 0.2;
    in.num = 5;
    assert_int_equal(pt_adaptive_init(&a, &in, &m, NULL), 0);
    assert_int_equal(a.max_looks, 1);
    assert_true(fabs(pt_adaptive_look_alpha(&a, 0) - 0.05 / 4) < 1e-15);
    pt_adaptive_free(&a);
    struct fake f;
    fake_init(&f, CPU, 0.03, 3);
    struct pt_runner_report rep = {0};
    run(&in, &f, NULL, &rep);
    assert_int_equal(rep.n_samples, 25);
    assert_int_equal(rep.adaptive.rounds, 1);
    pt_runner_report_free(&rep);
    pt_tune_input_free(&in);
}

/* ------------------------------------------- decisions on fixed samples -- */

/* n samples of power p: a cold first one (500 ms), then durations from v cyclically. */
static size_t add_samples(struct pt_tune_sample *s, size_t at, int power, const double *v,
                          size_t nv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct pt_tune_sample *x = &s[at + i];
        memset(x, 0, sizeof(*x));
        x->power = power;
        x->cold_start = i == 0;
        x->duration_ms = i == 0 ? 500 : v[(i - 1) % nv];
        x->init_ms = i == 0 ? 100 : -1;
        x->billed_ms = ceil(x->duration_ms);
    }
    return at + n;
}

static void two_powers(struct pt_tune_input *in, double tolerance)
{
    pt_tune_input_init(in);
    assert_int_equal(pt_tune_input_set_function(in, "fake", NULL), 0);
    assert_int_equal(pt_tune_input_set_powers(in, "128,256", NULL), 0);
    in->num = 20;
    in->strategy = PT_STRATEGY_SPEED;
    in->adaptive = true;
    in->adaptive_tolerance = tolerance;
    assert_int_equal(pt_tune_input_validate(in, NULL), 0);
}

/* Stopped by a futility rule: the second power in `state`, nothing sampled, not settled, and
 * the JSON names the stop and the state `name`. */
static void assert_futile(const struct pt_adaptive *a, enum pt_adaptive_state state,
                          enum pt_adaptive_stop stop, const char *name)
{
    assert_int_equal(a->powers[1].state, state);
    assert_int_equal(pt_adaptive_n_running(a), 0);
    assert_false(a->settled);
    assert_int_equal(a->stop, stop);
    json_t *j = pt_adaptive_json(a);
    assert_string_equal(json_string_value(json_object_get(j, "stop")), name);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(j, "powers"), 1), "state")),
                        name);
    json_decref(j);
}

/* A fresh adaptive state updated once at `round` on n samples of 128 MB (durations v128) and
 * n of 256 MB (v256), four values each; returns the number of samples in s. */
static size_t look_at_pair(struct pt_adaptive *a, const struct pt_tune_input *in,
                           const struct pt_price_model *m, struct pt_tune_sample *s,
                           const double *v128, const double *v256, size_t n, long round)
{
    assert_int_equal(pt_adaptive_init(a, in, m, NULL), 0);
    size_t total = add_samples(s, 0, 128, v128, 4, n);
    total = add_samples(s, total, 256, v256, 4, n);
    assert_int_equal(pt_adaptive_update(a, round, s, total, NULL), 0);
    return total;
}

static void test_decisions(void **state)
{
    (void)state;
    struct pt_tune_input in;
    struct pt_price_model m;
    assert_int_equal(pt_price_model_init(&m, PT_PRICING_EXACT, "us-east-1", "x86_64", 0, NULL), 0);
    struct pt_tune_sample s[64];
    struct pt_adaptive a;
    /* 256 MB 30 % slower, little spread: worse at the first look; the cold start (500 ms,
     * far above both) changes nothing, as it is not a test value. */
    static const double fast[] = {100, 101, 99, 100.5}, slow[] = {130, 131, 129, 130.5};
    two_powers(&in, 0.05);
    size_t n = look_at_pair(&a, &in, &m, s, fast, slow, 5, 0);
    assert_int_equal(pt_adaptive_recommendation(&a), 128);
    assert_int_equal(a.powers[1].state, PT_ADAPTIVE_WORSE);
    assert_true(a.settled && pt_adaptive_n_running(&a) == 0);
    assert_true(fabs(a.powers[0].score - 100.125) < 1e-9);
    assert_true(fabs(a.margin - 0.05 * 100.125) < 1e-9);
    pt_adaptive_free(&a);

    /* 1 % apart with little spread: equivalent within 5 %, and speed's tie-break picks the
     * cheaper 128 MB although 256 MB has the lower estimate. */
    static const double same[] = {101, 102, 100, 101.5}, same2[] = {100, 101, 99, 100.5};
    n = look_at_pair(&a, &in, &m, s, same, same2, 5, 0);
    assert_int_equal(pt_adaptive_recommendation(&a), 128);
    assert_int_equal(a.powers[1].state, PT_ADAPTIVE_EQUIVALENT);
    assert_true(a.settled);
    pt_adaptive_free(&a);
    pt_tune_input_free(&in);

    /* The same with tolerance 0: nothing settles, both are sampled (the pick is the leader,
     * 256 MB). */
    two_powers(&in, 0);
    assert_int_equal(pt_adaptive_init(&a, &in, &m, NULL), 0);
    assert_int_equal(pt_adaptive_update(&a, 0, s, n, NULL), 0);
    assert_int_equal(pt_adaptive_recommendation(&a), 256);
    assert_int_equal(a.powers[0].state, PT_ADAPTIVE_RUNNING);
    assert_false(a.settled);
    assert_int_equal(pt_adaptive_n_running(&a), 2);
    pt_adaptive_free(&a);
    pt_tune_input_free(&in);

    /* Wide spread, 5 % apart: not settled at 4 values, and 19 would not settle it either
     * (the projection to num: se x sqrt(4 / 19) is still ~9 % of the score), so it is tied and
     * nothing more is sampled. */
    static const double wide[] = {60, 140, 80, 120}, wide2[] = {63, 147, 84, 126};
    two_powers(&in, 0.05);
    n = look_at_pair(&a, &in, &m, s, wide, wide2, 5, 0);
    assert_int_equal(pt_adaptive_recommendation(&a), 128);
    assert_futile(&a, PT_ADAPTIVE_TIED, PT_ADAPTIVE_STOP_TIED, "tied");
    pt_adaptive_free(&a);
    /* The same spread at num: undecided (num reached), not tied. */
    n = look_at_pair(&a, &in, &m, s, wide, wide2, 20, 8);
    assert_int_equal(a.powers[1].state, PT_ADAPTIVE_UNDECIDED);
    assert_int_equal(pt_adaptive_n_running(&a), 0);
    assert_false(a.settled);
    assert_int_equal(a.stop, PT_ADAPTIVE_STOP_NUM);
    pt_adaptive_free(&a);
    /* 60 % apart with that spread: not settled at 4 values, 19 would settle it (13 kept
     * after the trim: the bound at num is 6.6 above -5, the pick shown not worse by more than
     * 5 %), but however the 15 invocations to come fall, 256 MB would not get ahead of
     * 128 MB by half the tolerance (the predictive 95 % bound of the difference at num,
     * 2.3, is above -2.5): behind, not sampled. */
    static const double apart[] = {96, 224, 128, 192};
    n = look_at_pair(&a, &in, &m, s, wide, apart, 5, 0);
    assert_futile(&a, PT_ADAPTIVE_BEHIND, PT_ADAPTIVE_STOP_BEHIND, "behind");
    pt_adaptive_free(&a);
    /* 50 % apart: 19 would still settle it (bound -0.9 at num), and 256 MB could still get
     * ahead (predictive bound -4.7): sampled on, with the pick. */
    static const double closer[] = {90, 210, 120, 180};
    n = look_at_pair(&a, &in, &m, s, wide, closer, 5, 0);
    assert_int_equal(a.powers[1].state, PT_ADAPTIVE_RUNNING);
    assert_true(pt_adaptive_running(&a, 0) && pt_adaptive_running(&a, 1));
    assert_int_equal(a.stop, PT_ADAPTIVE_STOP_NONE);
    pt_adaptive_free(&a);

    /* A settlement stands while the pick stays: after 256 MB was settled as worse, noisier
     * samples of the pick do not reopen it; a new pick re-tests everything. */
    n = look_at_pair(&a, &in, &m, s, fast, slow, 5, 0);
    assert_int_equal(a.powers[1].state, PT_ADAPTIVE_WORSE);
    static const double noisy[] = {20, 200, 60, 125};
    n = add_samples(s, n, 128, noisy, 4, 4); /* 128 MB: 9 samples, still the lower estimate */
    assert_int_equal(pt_adaptive_update(&a, 1, s, n, NULL), 0);
    assert_int_equal(pt_adaptive_recommendation(&a), 128);
    assert_int_equal(a.powers[1].state, PT_ADAPTIVE_WORSE);
    static const double slower[] = {300, 310, 305, 302};
    n = add_samples(s, n, 128, slower, 4, 6); /* now 256 MB leads: 128 MB is re-tested */
    assert_int_equal(pt_adaptive_update(&a, 2, s, n, NULL), 0);
    assert_int_equal(pt_adaptive_recommendation(&a), 256);
    assert_int_equal(a.powers[1].state, PT_ADAPTIVE_PICK);
    assert_int_not_equal(a.powers[0].state, PT_ADAPTIVE_PICK);
    pt_adaptive_free(&a);
    pt_tune_input_free(&in);
}

/* Two one-sided tests against hand-computed bounds. */
static void test_equivalence(void **state)
{
    (void)state;
    /* diff 1, se 2, df 10: t_{0.05,10} = 1.812461 -> bounds -2.624922 and 4.624922. */
    struct pt_yuen_diff d = {.diff = 1, .se = 2, .df = 10};
    assert_true(fabs(pt_yuen_lower(&d, 0.05) + 2.624922) < 1e-5);
    assert_true(fabs(pt_yuen_upper(&d, 0.05) - 4.624922) < 1e-5);
    assert_true(pt_yuen_equivalent(&d, 4.7, 0.05));
    assert_false(pt_yuen_equivalent(&d, 4.6, 0.05));   /* the upper bound is outside */
    assert_false(pt_yuen_equivalent(&d, 4.7, 0.01));   /* t_{0.01,10} = 2.763769 */
    d.diff = -1;                                         /* symmetric */
    assert_true(pt_yuen_equivalent(&d, 4.7, 0.05));
    assert_false(pt_yuen_equivalent(&d, 4.6, 0.05));
    /* No spread: exact; equivalent iff |diff| < margin. */
    struct pt_yuen_diff e = {.diff = 0.5, .se = 0, .df = INFINITY};
    assert_true(pt_yuen_equivalent(&e, 0.6, 1e-9));
    assert_false(pt_yuen_equivalent(&e, 0.5, 1e-9));
    /* Infinite df: the normal quantile, 1.644854 at 0.05. */
    struct pt_yuen_diff g = {.diff = 0, .se = 1, .df = INFINITY};
    assert_true(fabs(pt_yuen_upper(&g, 0.05) - 1.644854) < 1e-5);
}

/*
 * The bench's goal on simulated functions (bench/RESULTS.md, "Tuner"): an adaptive run picks
 * what a fixed run of num 20 would, judged at the fixed run's resolution (its own samples
 * put the pick within the tolerance of its winner), with at least 3x fewer invocations
 * (median). 200 seeded pairs of runs per case at 6 % spread per invocation, what ~100 ms
 * CPU-bound functions show on this kind of VM; ties by construction, sizes 5-8 % apart, and
 * clearly separated ones.
 */
struct sim_case {
    const char *name;
    enum pt_tune_strategy strategy;
    double mean[NP];
    int min_same;     /* of 200 */
    double max_median; /* invocations */
};

static int cmp_long(const void *x, const void *y)
{
    long a = *(const long *)x, b = *(const long *)y;
    return a < b ? -1 : a > b;
}

static void sim_case_run(const struct sim_case *c)
{
    enum { SEEDS = 200 };
    long used[SEEDS];
    int same = 0;
    for (int seed = 0; seed < SEEDS; seed++) {
        struct pt_tune_input in;
        struct fake f;
        struct pt_runner_report rep = {0};
        struct pt_price_model m;
        struct pt_tune_analysis fixed;
        input_init(&in, c->strategy, 20, false);
        fake_init(&f, c->mean, 0.06, 1000 + (uint64_t)seed);
        run(&in, &f, NULL, &rep);
        assert_int_equal(pt_price_model_init(&m, in.pricing, "us-east-1", "x86_64", 0, NULL), 0);
        assert_int_equal(pt_tune_analyze(&in, &m, in.powers, in.n_powers, rep.samples,
                                         rep.n_samples, NULL, &fixed, NULL), 0);
        pt_runner_report_free(&rep);
        pt_tune_input_free(&in);

        input_init(&in, c->strategy, 20, true);
        fake_init(&f, c->mean, 0.06, 5000 + (uint64_t)seed);
        int pick = run(&in, &f, NULL, &rep);
        used[seed] = (long)rep.n_samples;
        for (size_t i = 0; i < fixed.n_powers; i++) {
            const struct pt_tune_power_stats *p = &fixed.powers[i];
            const struct pt_tune_power_stats *w = &fixed.powers[fixed.winner];
            if (p->power == pick)
                same += c->strategy == PT_STRATEGY_COST
                            ? p->average_price <= 1.05 * w->average_price
                            : p->average_duration <= 1.05 * w->average_duration;
        }
        pt_tune_analysis_free(&fixed);
        pt_runner_report_free(&rep);
        pt_tune_input_free(&in);
    }
    qsort(used, SEEDS, sizeof(used[0]), cmp_long);
    double median = (used[SEEDS / 2 - 1] + used[SEEDS / 2]) / 2.0;
    if (same < c->min_same || median > c->max_median)
        fail_msg("%s: the same in %d of %d (at least %d expected), median %.1f invocations (at "
                 "most %.1f expected)", c->name, same, SEEDS, c->min_same, median, c->max_median);
}

static void test_simulated_goal(void **state)
{
    (void)state;
    const struct sim_case cases[] = {
        {"cost, duration x memory constant", PT_STRATEGY_COST,
         {128000.0 / 128, 128000.0 / 256, 128000.0 / 512, 128000.0 / 1024, 128000.0 / 1769},
         185, 33},
        {"speed, flat", PT_STRATEGY_SPEED, {25, 25, 25, 25, 25}, 180, 33},
        {"speed, 1769 MB 8 % faster", PT_STRATEGY_SPEED, {1000, 500, 250, 108, 100}, 180, 33},
        {"cost, 512 MB 8 % cheaper", PT_STRATEGY_COST,
         {128000.0 / 128, 128000.0 / 256, 0.92 * 128000.0 / 512, 128000.0 / 1024,
          128000.0 / 1769},
         180, 33},
        {"speed, separated", PT_STRATEGY_SPEED, {1000, 500, 250, 125, 72.4}, 200, 25},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        sim_case_run(&cases[i]);
}

/* A request given up after every retry was throttled is a failed sample of its power with
 * nothing measured: no Init Duration (the zeroed result made it a 0 ms cold start in the
 * cold-start table and initDurationMs 0 in the samples file), and allowedExceptions listing
 * TooManyRequestsException does not count it. */
static void test_throttled_sample(void **state)
{
    (void)state;
    struct pt_tune_input in;
    input_init(&in, PT_STRATEGY_COST, 3, false);
    assert_int_equal(pt_tune_input_set_allowed_exceptions(&in, "TooManyRequestsException", NULL),
                     0);
    struct fake f;
    fake_init(&f, CPU, 0.03, 5);
    f.throttle_power = 256;
    struct pt_target t = {.ops = &fake_ops, .ctx = &f, .description = "fake"};
    struct pt_runner_options opt = {.max_throttle_retries = 2, .backoff_base_ms = 1};
    struct pt_runner_report rep;
    struct pt_error err = {0};
    assert_int_equal(pt_runner_run(&in, in.payload, &t, &opt, &rep, &err), 0);
    assert_int_equal(rep.throttle_failures, 3);
    for (size_t i = 0; i < rep.n_samples; i++) {
        if (rep.samples[i].power != 256)
            continue;
        assert_string_equal(rep.samples[i].error, PT_TUNE_THROTTLED_ERROR);
        assert_true(rep.samples[i].init_ms < 0);
        assert_false(rep.samples[i].cold_start);
        assert_true(pt_tune_sample_throttled(&rep.samples[i]));
    }
    struct pt_price_model m;
    assert_int_equal(pt_price_model_init(&m, in.pricing, "us-east-1", "x86_64", 0, NULL), 0);
    struct pt_tune_analysis a;
    assert_int_equal(pt_tune_analyze(&in, &m, in.powers, in.n_powers, rep.samples, rep.n_samples,
                                     NULL, &a, &err), 0);
    assert_true(a.powers[1].excluded);
    assert_int_equal(a.powers[1].init.count, 0);
    assert_true(a.powers[1].total_cost == 0);
    pt_tune_analysis_free(&a);
    pt_runner_report_free(&rep);
    pt_tune_input_free(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_student_t),
        cmocka_unit_test(test_yuen),
        cmocka_unit_test(test_separated_stop_early),
        cmocka_unit_test(test_ties),
        cmocka_unit_test(test_close_pair),
        cmocka_unit_test(test_noisy_tie_stops_early),
        cmocka_unit_test(test_cost_io_bound),
        cmocka_unit_test(test_balanced),
        cmocka_unit_test(test_failing_power),
        cmocka_unit_test(test_resume),
        cmocka_unit_test(test_weighted_interleave),
        cmocka_unit_test(test_parallel),
        cmocka_unit_test(test_throttled_sample),
        cmocka_unit_test(test_min_samples),
        cmocka_unit_test(test_decisions),
        cmocka_unit_test(test_equivalence),
        cmocka_unit_test(test_simulated_goal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
