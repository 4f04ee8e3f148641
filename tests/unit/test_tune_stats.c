/*
 * test_tune_stats.c - trimmed means (power-tuning.md 3.3), the cold-start table (seeds.md 3),
 * percentiles, errors and exclusion.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tune/tune.h"

static double trim(const double *v, size_t n, double d)
{
    double copy[16];
    memcpy(copy, v, n * sizeof(*v));
    return pt_tune_trimmed_mean(copy, n, d);
}

static void test_trimmed_mean_vectors(void **state)
{
    (void)state;
    const double a[] = {1, 2, 3, 4, 2000};
    assert_true(trim(a, 5, 0.2) == 3);
    assert_true(trim(a, 5, 0.4) == 3);
    assert_true(trim(a, 5, 0) == 402);
    /* The Executor test, unsorted as invocations come. */
    const double b[] = {3, 0.2, 200, 4, 0.5, 10, 2, 50, 4.5, 3};
    /* Exactly JavaScript's (2 + 3 + 3 + 4 + 4.5 + 10) / 6 summed from 0. */
    assert_true(trim(b, 10, 0.2) == (((((0 + 2.0) + 3) + 3) + 4) + 4.5 + 10) / 6);
    assert_true(fabs(trim(b, 10, 0.2) - 4.416666666666667) < 1e-15);
    assert_true(trim(b, 10, 0.4) == 3.5);
    assert_true(fabs(trim(b, 10, 0) - 27.72) < 1e-12);
    assert_true(trim(b, 0, 0.2) == 0);
    /* n < 5 with 0.2: floor(0.8) = 0, nothing dropped ("not enough results to discard"). */
    const double c[] = {1, 100, 10, 1000};
    assert_true(trim(c, 4, 0.2) == 277.75);
}

/* How many are dropped from each end: floor(n x d). */
static void test_trim_counts(void **state)
{
    (void)state;
    /* 1..n: the trimmed mean of a symmetric series is its middle, so check via the range. */
    double v[16];
    for (int i = 0; i < 16; i++)
        v[i] = (double)(i + 1) * (i + 1); /* squares: asymmetric, so k matters */
    /* n = 10, d = 0.2: k = 2 -> mean of 3^2..8^2 */
    double want = (9 + 16 + 25 + 36 + 49 + 64) / 6.0;
    assert_true(fabs(trim(v, 10, 0.2) - want) < 1e-12);
    /* n = 9, d = 0.2: k = floor(1.8) = 1 -> 2^2..8^2 */
    want = (4 + 9 + 16 + 25 + 36 + 49 + 64) / 7.0;
    assert_true(fabs(trim(v, 9, 0.2) - want) < 1e-12);
    /* n = 15, d = 0.2: 15 x 0.2 = 3.0000000000000004 in doubles -> k = 3 */
    want = 0;
    for (int i = 4; i <= 12; i++)
        want += (double)i * i;
    assert_true(fabs(trim(v, 15, 0.2) - want / 9) < 1e-12);
    /* n = 5, d = 0.4: k = 2, the median */
    assert_true(trim(v, 5, 0.4) == 9);
}

static void test_init_stats_table(void **state)
{
    (void)state;
    /* seeds.md 3, non-VPC 3008 MB: mean 184, median 183, max 204, min 169, variance 122. */
    double v[] = {182, 169, 190, 204, 175, 181, 184, 191, 194, 170};
    struct pt_tune_init_stats st;
    pt_tune_init_stats_compute(v, 10, &st);
    assert_int_equal(st.count, 10);
    assert_true(fabs(st.mean - 184) < 1e-12);
    assert_true(st.median == 183);
    assert_true(st.max == 204);
    assert_true(st.min == 169);
    assert_true(fabs(st.variance - 1100.0 / 9) < 1e-9);
    assert_int_equal((int)lround(st.variance), 122);

    pt_tune_init_stats_compute(v, 1, &st);
    assert_true(st.variance == 0 && st.median == st.mean);
    pt_tune_init_stats_compute(v, 0, &st);
    assert_int_equal(st.count, 0);
}

static void test_percentiles(void **state)
{
    (void)state;
    double v[101];
    for (int i = 0; i <= 100; i++)
        v[i] = i;
    assert_true(pt_tune_percentile(v, 101, 50) == 50);
    assert_true(pt_tune_percentile(v, 101, 90) == 90);
    assert_true(pt_tune_percentile(v, 101, 99) == 99);
    const double w[] = {10, 20, 30, 40};
    /* numpy.percentile([10,20,30,40], 50) = 25, 90 -> 37, 99 -> 39.7 */
    assert_true(pt_tune_percentile(w, 4, 50) == 25);
    assert_true(fabs(pt_tune_percentile(w, 4, 90) - 37) < 1e-12);
    assert_true(fabs(pt_tune_percentile(w, 4, 99) - 39.7) < 1e-12);
    assert_true(pt_tune_percentile(w, 1, 99) == 10);
    assert_true(pt_tune_percentile(w, 0, 99) == 0);
}

static struct pt_tune_sample sample(int power, double dur, double billed, double init,
                                    const char *error)
{
    struct pt_tune_sample s;
    memset(&s, 0, sizeof(s));
    s.power = power;
    s.duration_ms = dur;
    s.billed_ms = billed;
    s.init_ms = init;
    s.cold_start = init >= 0;
    s.max_memory_used_mb = (int)dur % 50 + 20;
    s.cpu_time_ms = dur / 2;
    if (error)
        snprintf(s.error, sizeof(s.error), "%s", error);
    return s;
}

static void test_power_stats(void **state)
{
    (void)state;
    struct pt_tune_sample s[12];
    /* The reference's text-log test: 469.40 + 100.99 = 570.39 on the cold start. */
    s[0] = sample(1024, 469.40, 571, 100.99, NULL);
    for (int i = 1; i < 10; i++)
        s[i] = sample(1024, 10 + i, 11 + i, -1, NULL);
    s[10] = sample(512, 5, 5, -1, NULL); /* another power: ignored */
    s[11] = sample(1024, 30, 30, -1, "Handled");
    const char allowed[1][PT_TUNE_ERROR_TYPE_MAX] = {"Handled"};
    struct pt_tune_power_stats st;
    struct pt_error err;
    assert_int_equal(pt_tune_stats_compute(1024, s, 12, 0.2, allowed, 1, &st, &err), 0);
    assert_int_equal(st.invocations, 11);
    assert_int_equal(st.counted, 11); /* the allowed error counts, as in the reference */
    assert_int_equal(st.failed, 0);
    assert_int_equal(st.cold_starts, 1);
    assert_false(st.excluded);
    /* durations: 570.39, 11..19, 30 -> k = floor(2.2) = 2 -> drop 11, 12 and 30, 570.39 */
    assert_true(fabs(st.average_duration - (13 + 14 + 15 + 16 + 17 + 18 + 19) / 7.0) < 1e-12);
    assert_true(fabs(st.duration.max - 570.39) < 1e-9);
    assert_true(st.duration.min == 11);
    assert_true(st.duration.p50 == 16);
    assert_int_equal(st.init.count, 1);
    assert_true(st.init.mean == 100.99);
    assert_int_equal(st.n_errors, 1);
    assert_string_equal(st.errors[0].type, "Handled");
    assert_true(st.errors[0].allowed);
    assert_true(st.cpu_max_ms == 469.40 / 2);
    pt_tune_stats_free(&st);
}

static void test_exclusion(void **state)
{
    (void)state;
    struct pt_tune_sample s[6];
    for (int i = 0; i < 3; i++)
        s[i] = sample(128, 100, 100, -1, NULL);
    s[3] = sample(128, 3000, 3000, -1, "Sandbox.Timedout");
    s[4] = sample(128, 3000, 3000, -1, "Sandbox.Timedout");
    s[5] = sample(128, 80, 80, -1, "Runtime.OutOfMemory");
    struct pt_tune_power_stats st;
    assert_int_equal(pt_tune_stats_compute(128, s, 6, 0.2, NULL, 0, &st, NULL), 0);
    assert_true(st.excluded);
    assert_int_equal(st.failed, 3);
    assert_int_equal(st.counted, 3);
    assert_string_equal(st.excluded_reason, "3 of 6 invocations failed with errors not in "
                                            "allowedExceptions: Sandbox.Timedout x2, "
                                            "Runtime.OutOfMemory x1");
    assert_true(st.average_duration == 100); /* over what succeeded */
    pt_tune_stats_free(&st);

    /* No samples at all. */
    assert_int_equal(pt_tune_stats_compute(256, s, 6, 0.2, NULL, 0, &st, NULL), 0);
    assert_true(st.excluded);
    assert_string_equal(st.excluded_reason, "no invocation recorded");
    pt_tune_stats_free(&st);

    /* Duration 0: the Analyzer's filter. */
    struct pt_tune_sample z = sample(256, 0, 0, -1, NULL);
    assert_int_equal(pt_tune_stats_compute(256, &z, 1, 0.2, NULL, 0, &st, NULL), 0);
    assert_true(st.excluded);
    assert_non_null(strstr(st.excluded_reason, "average duration is 0 ms"));
    pt_tune_stats_free(&st);
}

/* A Failed version's invocations (remote tune: not sent) are never counted, even when listed in
 * allowedExceptions: their 0 ms would pull the average down. */
static void test_version_failed_never_counted(void **state)
{
    (void)state;
    static const char allowed[1][PT_TUNE_ERROR_TYPE_MAX] = {PT_TUNE_VERSION_FAILED_ERROR};
    struct pt_tune_sample s[3];
    s[0] = sample(512, 100, 100, -1, NULL);
    s[1] = sample(512, 0, 0, -1, PT_TUNE_VERSION_FAILED_ERROR);
    s[2] = sample(512, 0, 0, -1, PT_TUNE_VERSION_FAILED_ERROR);
    assert_true(pt_tune_sample_not_sent(&s[1]));
    assert_false(pt_tune_sample_throttled(&s[1]));
    assert_false(pt_tune_sample_counted(&s[1], allowed, 1));
    struct pt_tune_power_stats st;
    assert_int_equal(pt_tune_stats_compute(512, s, 3, 0, allowed, 1, &st, NULL), 0);
    assert_true(st.excluded);
    assert_int_equal(st.failed, 2);
    assert_non_null(strstr(st.excluded_reason, "Powertune.VersionFailed x2"));
    assert_true(st.average_duration == 100);
    pt_tune_stats_free(&st);
    /* A function's own error of that name, which ran (a duration), is the function's. */
    s[1] = sample(512, 90, 100, -1, PT_TUNE_VERSION_FAILED_ERROR);
    assert_false(pt_tune_sample_not_sent(&s[1]));
    assert_true(pt_tune_sample_counted(&s[1], allowed, 1));
}

/* allowedExceptions lists the function's errors: a request given up throttled (nothing ran)
 * is never counted, even when the function's own TooManyRequestsException is allowed; the
 * run's cost skips the former and charges the latter, which ran. */
static void test_throttled_never_allowed(void **state)
{
    (void)state;
    static const char allowed[1][PT_TUNE_ERROR_TYPE_MAX] = {"TooManyRequestsException"};
    struct pt_tune_sample s[4];
    for (int i = 0; i < 3; i++)
        s[i] = sample(1024, 100, 100, -1, NULL);
    s[3] = sample(1024, 0, 0, -1, "TooManyRequestsException"); /* the runner gave up */
    assert_true(pt_tune_sample_throttled(&s[3]));
    assert_false(pt_tune_sample_counted(&s[3], allowed, 1));
    struct pt_tune_power_stats st;
    assert_int_equal(pt_tune_stats_compute(1024, s, 4, 0, allowed, 1, &st, NULL), 0);
    assert_true(st.excluded);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.throttled, 1);
    assert_string_equal(st.excluded_reason, "1 of 4 invocations failed with errors not in "
                                            "allowedExceptions or throttled to the end (never "
                                            "run): TooManyRequestsException x1");
    assert_true(st.average_duration == 100); /* not (3 x 100 + 0) / 4 */
    pt_tune_stats_free(&st);

    s[3] = sample(1024, 120, 120, -1, "TooManyRequestsException"); /* the function's own */
    assert_false(pt_tune_sample_throttled(&s[3]));
    assert_int_equal(pt_tune_stats_compute(1024, s, 4, 0, allowed, 1, &st, NULL), 0);
    assert_false(st.excluded);
    assert_int_equal(st.counted, 4);
    assert_true(st.average_duration == 105);
    struct pt_price_model m;
    assert_int_equal(pt_price_model_init(&m, PT_PRICING_EXACT, "us-east-1", "x86_64", 0, NULL), 0);
    pt_price_fill(&m, s, 4, &st);
    assert_true(st.total_cost == ((pt_price_invocation(&m, 1024, 100) +
                                   pt_price_invocation(&m, 1024, 100)) +
                                  pt_price_invocation(&m, 1024, 100)) +
                                     pt_price_invocation(&m, 1024, 120));
    pt_tune_stats_free(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trimmed_mean_vectors),
        cmocka_unit_test(test_trim_counts),
        cmocka_unit_test(test_init_stats_table),
        cmocka_unit_test(test_percentiles),
        cmocka_unit_test(test_power_stats),
        cmocka_unit_test(test_exclusion),
        cmocka_unit_test(test_throttled_never_allowed),
        cmocka_unit_test(test_version_failed_never_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
