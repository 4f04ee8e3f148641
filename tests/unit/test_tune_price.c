/*
 * test_tune_price.c - prices (power-tuning.md 3.1, 3.4, 3.5) and exact pricing.
 * Expected numbers are what node (v20) prints for the reference's expressions, so the
 * comparisons are on JavaScript's text of the double: bit for bit.
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

#include "tune/jsjson.h"
#include "tune/tune.h"

static void assert_js(double x, const char *want)
{
    char out[PT_JS_NUMBER_MAX];
    pt_js_number(x, out);
    if (strcmp(out, want) != 0)
        fail_msg("got %s, want %s", out, want);
}

static void test_base_costs(void **state)
{
    (void)state;
    double c = 0;
    struct pt_error err;
    assert_int_equal(pt_price_base_cost("us-east-1", "x86_64", &c, &err), 0);
    assert_true(c == 2.1e-9);
    assert_int_equal(pt_price_base_cost("ap-east-1", "x86_64", &c, &err), 0);
    assert_true(c == 2.9e-9);
    assert_int_equal(pt_price_base_cost("af-south-1", "x86_64", &c, &err), 0);
    assert_true(c == 2.8e-9);
    assert_int_equal(pt_price_base_cost("me-south-1", "x86_64", &c, &err), 0);
    assert_true(c == 2.6e-9);
    assert_int_equal(pt_price_base_cost("eu-south-1", "x86_64", &c, &err), 0);
    assert_true(c == 2.4e-9);
    assert_int_equal(pt_price_base_cost("ap-northeast-3", "x86_64", &c, &err), 0);
    assert_true(c == 2.7e-9);
    assert_int_equal(pt_price_base_cost("cn-north-1", "x86_64", &c, &err), 0);
    assert_true(c == 0.0000000142);
    assert_int_equal(pt_price_base_cost("cn-northwest-1", "x86_64", &c, &err), 0);
    assert_true(c == 0.0000000142);
    /* arm64: one price everywhere, China included. */
    assert_int_equal(pt_price_base_cost("ap-east-1", "arm64", &c, &err), 0);
    assert_true(c == 1.7e-9);
    assert_int_equal(pt_price_base_cost("cn-north-1", "arm64", &c, &err), 0);
    assert_true(c == 1.7e-9);
    assert_int_equal(pt_price_base_cost("us-east-1", "mips", &c, &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "Unsupported architecture: mips"));
}

static void test_reference_prices(void **state)
{
    (void)state;
    struct pt_price_model m;
    struct pt_error err;
    assert_int_equal(pt_price_model_init(&m, PT_PRICING_POWER_TUNING, "us-east-1", "x86_64", 0, &err), 0);
    /* 1024 MB, average billed 300 ms: 300 x 2.1e-9 x 8, in JavaScript's order. */
    assert_js(pt_price_average(&m, 1024, 300), "0.000005040000000000001");
    /* ceil applies to the average billed duration. */
    assert_true(pt_price_average(&m, 1024, 299.2) == pt_price_average(&m, 1024, 300));

    /* Executor test: ten invocations billed 1 ms at 128 MB. */
    struct pt_tune_sample s[10];
    memset(s, 0, sizeof(s));
    for (int i = 0; i < 10; i++) {
        s[i].power = 128;
        s[i].billed_ms = 1;
        s[i].init_ms = -1;
    }
    struct pt_tune_power_stats st;
    memset(&st, 0, sizeof(st));
    st.power = 128;
    st.average_billed = 1;
    pt_price_fill(&m, s, 10, &st);
    assert_js(st.total_cost, "2.1e-8");
    assert_int_equal(pt_price_model_init(&m, PT_PRICING_POWER_TUNING, "af-south-1", "x86_64", 0, &err), 0);
    pt_price_fill(&m, s, 10, &st);
    assert_js(st.total_cost, "2.7999999999999993e-8"); /* "2.8e-8" in the reference's test, closeTo */

    /* CNY regions: flagged for the visualization's ?currency=CNY. */
    assert_int_equal(pt_price_model_init(&m, PT_PRICING_POWER_TUNING, "cn-north-1", "x86_64", 0, &err), 0);
    assert_true(m.cny);
    assert_true(m.base_cost == 0.0000000142);
    /* Unknown region: the map's default, no error in this mode. */
    assert_int_equal(pt_price_model_init(&m, PT_PRICING_POWER_TUNING, "xx-moon-1", "x86_64", 0, &err), 0);
    assert_true(m.base_cost == 2.1e-9);
    assert_true(m.sf_transition == 0.000025);
}

static void test_step_functions_cost(void **state)
{
    (void)state;
    assert_true(pt_price_sf_transition("us-gov-west-1") == 0.00003);
    assert_true(pt_price_sf_transition("sa-east-1") == 0.0000375);
    assert_true(pt_price_sf_transition("us-east-1") == 0.000025);
    assert_js(pt_price_sf_execution_cost(0.00003, 10, false, 10), "0.00108");
    assert_js(pt_price_sf_execution_cost(0.00003, 10, true, 10), "0.00648");
    assert_js(pt_price_sf_execution_cost(pt_price_sf_transition("us-east-1"), 6, false, 5), "0.0006");
}

static void test_to_fixed(void **state)
{
    (void)state;
    /* node: (0.015625).toFixed(5) "0.01563" (an exact tie: the larger n); (2.5).toFixed(0)
     * "3"; (0.125).toFixed(2) "0.13"; (1.005).toFixed(2) "1.00" (not a tie in binary). */
    assert_true(pt_js_to_fixed(0.015625, 5) == 0.01563);
    assert_true(pt_js_to_fixed(2.5, 0) == 3);
    assert_true(pt_js_to_fixed(1.5, 0) == 2);
    assert_true(pt_js_to_fixed(0.125, 2) == 0.13);
    assert_true(pt_js_to_fixed(1.005, 2) == 1.0);
    assert_true(pt_js_to_fixed(-0.125, 2) == -0.13);
    assert_true(pt_js_to_fixed(0.000004, 5) == 0);
    assert_true(pt_js_to_fixed(0.000006, 5) == 0.00001);
}

static void test_exact_prices(void **state)
{
    (void)state;
    struct pt_price_model m;
    struct pt_error err;
    assert_int_equal(pt_price_model_init(&m, PT_PRICING_EXACT, "us-east-1", "x86_64", 0, &err), 0);
    assert_true(m.gb_s == 0.0000166667);
    assert_true(m.request == 0.0000002);
    /* 1 GB for 1 s = one GB-second plus one request. */
    assert_true(fabs(pt_price_invocation(&m, 1024, 1000) - (0.0000166667 + 0.0000002)) < 1e-18);
    /* 128 MB for 100 ms: 0.0125 GB-s. */
    assert_true(fabs(pt_price_invocation(&m, 128, 100) - (0.0125 * 0.0000166667 + 2e-7)) < 1e-18);
    /* The mean of whole-ms bills is not ceiled in exact mode. */
    assert_true(pt_price_average(&m, 1024, 1.5) < pt_price_average(&m, 1024, 2));

    assert_int_equal(pt_price_model_init(&m, PT_PRICING_EXACT, "eu-central-1", "arm64", 0, &err), 0);
    assert_true(m.gb_s == 0.0000133334);
    assert_int_equal(pt_price_model_init(&m, PT_PRICING_EXACT, "af-south-1", "x86_64", 0, &err), 0);
    assert_true(m.gb_s == 0.0000221);
    assert_int_equal(pt_price_model_init(&m, PT_PRICING_EXACT, "me-central-1", "arm64", 0, &err), 0);
    assert_true(m.gb_s == 0.0000165334);

    /* Not in the table: an error naming the region and the way out. */
    assert_int_equal(pt_price_model_init(&m, PT_PRICING_EXACT, "ap-northeast-3", "x86_64", 0, &err),
                     PT_EUSAGE);
    assert_non_null(strstr(err.msg, "\"ap-northeast-3\""));
    assert_non_null(strstr(err.msg, "--price-per-gb-s"));
    assert_int_equal(pt_price_model_init(&m, PT_PRICING_EXACT, "ap-northeast-3", "x86_64",
                                         0.00002, &err), 0);
    assert_true(m.gb_s == 0.00002);
    assert_int_equal(pt_price_model_init(&m, PT_PRICING_EXACT, "", "x86_64", 0, &err), PT_EUSAGE);
    assert_int_equal(pt_price_model_init(&m, PT_PRICING_EXACT, "us-east-1", "sparc", 0, &err),
                     PT_EUSAGE);
}

/* A request Lambda throttled is not billed: no request charge in the run's cost for it. */
static void test_throttled_not_charged(void **state)
{
    (void)state;
    struct pt_price_model m;
    struct pt_error err;
    assert_int_equal(pt_price_model_init(&m, PT_PRICING_EXACT, "us-east-1", "x86_64", 0, &err), 0);
    struct pt_tune_sample s[3];
    memset(s, 0, sizeof(s));
    for (int i = 0; i < 3; i++) {
        s[i].power = 1024;
        s[i].init_ms = -1;
    }
    s[0].billed_ms = 10;
    strcpy(s[1].error, "TooManyRequestsException");
    s[2].billed_ms = 0; /* a failed invocation that was run is still a request */
    strcpy(s[2].error, "Runtime.ExitError");
    struct pt_tune_power_stats st;
    memset(&st, 0, sizeof(st));
    st.power = 1024;
    pt_price_fill(&m, s, 3, &st);
    assert_true(st.total_cost == pt_price_invocation(&m, 1024, 10) + pt_price_invocation(&m, 1024, 0));
    /* An invocation of a Failed version was not sent either. */
    strcpy(s[1].error, PT_TUNE_VERSION_FAILED_ERROR);
    pt_price_fill(&m, s, 3, &st);
    assert_true(st.total_cost == pt_price_invocation(&m, 1024, 10) + pt_price_invocation(&m, 1024, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base_costs),
        cmocka_unit_test(test_reference_prices),
        cmocka_unit_test(test_step_functions_cost),
        cmocka_unit_test(test_to_fixed),
        cmocka_unit_test(test_exact_prices),
        cmocka_unit_test(test_throttled_not_charged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
