/*
 * test_tune_strategy.c - the reference's strategies, tie-breaks and weight convention
 * (power-tuning.md 4), with its worked examples.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tune/tune.h"

#define C(p, c, d) ((struct pt_tune_candidate){(p), (c), (d)})

static int pick(const struct pt_tune_candidate *c, size_t n, enum pt_tune_strategy s, double w)
{
    size_t order[16];
    int i = pt_tune_rank(c, n, s, w, order);
    return i < 0 ? -1 : c[i].power;
}

static void test_balanced_examples(void **state)
{
    (void)state;
    /* w = 0.5: scores 0.6683, 0.6667, 0.6683 -> 256 */
    const struct pt_tune_candidate a[] = {C(128, 101, 300), C(256, 200, 200), C(512, 300, 101)};
    assert_int_equal(pick(a, 3, PT_STRATEGY_BALANCED, 0.5), 256);
    /* w = 0.3: maxC 1000, maxD 300; scores 0.73, 0.527, 0.323, 0.417 -> 512 */
    const struct pt_tune_candidate b[] = {C(128, 100, 300), C(256, 200, 200), C(512, 300, 100),
                                          C(1024, 1000, 50)};
    size_t order[4];
    assert_int_equal(pt_tune_rank(b, 4, PT_STRATEGY_BALANCED, 0.3, order), 2);
    const size_t want[] = {2, 3, 1, 0};
    for (int i = 0; i < 4; i++)
        assert_int_equal(order[i], want[i]);
}

static void test_cost_and_speed(void **state)
{
    (void)state;
    const struct pt_tune_candidate a[] = {C(128, 100, 300), C(256, 200, 200), C(512, 300, 100)};
    assert_int_equal(pick(a, 3, PT_STRATEGY_COST, 0.5), 128);
    assert_int_equal(pick(a, 3, PT_STRATEGY_SPEED, 0.5), 512);
    /* The reference's weight convention: 1 acts like cost, 0 like speed. */
    assert_int_equal(pick(a, 3, PT_STRATEGY_BALANCED, 1.0), 128);
    assert_int_equal(pick(a, 3, PT_STRATEGY_BALANCED, 0.0), 512);
    assert_int_equal(pick(a, 0, PT_STRATEGY_COST, 0.5), -1);
}

static void test_tie_breaks(void **state)
{
    (void)state;
    /* 2 ms at 128 MB and 1 ms at 256 MB cost the same: cost picks the faster. */
    const double unit = 2.1e-9;
    const struct pt_tune_candidate a[] = {C(128, 2 * unit * 1, 2), C(256, 1 * unit * 2, 1)};
    assert_true(a[0].cost == a[1].cost);
    assert_int_equal(pick(a, 2, PT_STRATEGY_COST, 0.5), 256);
    /* speed: equal durations -> cheaper. */
    const struct pt_tune_candidate b[] = {C(1024, 5, 10), C(512, 3, 10), C(256, 4, 20)};
    assert_int_equal(pick(b, 3, PT_STRATEGY_SPEED, 0.5), 512);
    /* Full ties keep input (Map) order, for every strategy. */
    const struct pt_tune_candidate c[] = {C(512, 3, 10), C(256, 3, 10), C(1024, 3, 10)};
    assert_int_equal(pick(c, 3, PT_STRATEGY_COST, 0.5), 512);
    assert_int_equal(pick(c, 3, PT_STRATEGY_SPEED, 0.5), 512);
    assert_int_equal(pick(c, 3, PT_STRATEGY_BALANCED, 0.5), 512);
    /* balanced: no explicit tie-break, first in input order. */
    const struct pt_tune_candidate d[] = {C(512, 2, 1), C(128, 1, 2)};
    assert_int_equal(pick(d, 2, PT_STRATEGY_BALANCED, 0.5), 512);
    /* All costs 0: every score is NaN, compared as equal (V8): the first. */
    const struct pt_tune_candidate e[] = {C(128, 0, 5), C(256, 0, 1)};
    assert_int_equal(pick(e, 2, PT_STRATEGY_BALANCED, 0.5), 128);
}

static void test_stability_large(void **state)
{
    (void)state;
    /* 46 values ("ALL") with repeated costs: the order of equal keys is the input order. */
    struct pt_tune_candidate c[46];
    for (int i = 0; i < 46; i++)
        c[i] = C(128 + 64 * i, (double)(i % 3), (double)(i % 2));
    size_t order[46];
    pt_tune_rank(c, 46, PT_STRATEGY_COST, 0.5, order);
    for (int i = 1; i < 46; i++) {
        const struct pt_tune_candidate *p = &c[order[i - 1]], *q = &c[order[i]];
        assert_true(p->cost < q->cost ||
                    (p->cost == q->cost && (p->duration < q->duration ||
                                            (p->duration == q->duration && order[i - 1] < order[i]))));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_balanced_examples),
        cmocka_unit_test(test_cost_and_speed),
        cmocka_unit_test(test_tie_breaks),
        cmocka_unit_test(test_stability_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
