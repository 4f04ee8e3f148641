/*
 * test_tune_output.c - the Analyzer end to end and the output object (power-tuning.md 2).
 * The golden text is what node prints for the reference's Executor + Analyzer code run
 * over the same samples (JSON.stringify), so the comparison is byte for byte.
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

#define GOLDEN                                                                                   \
    "{\"power\":128,\"cost\":2.1210000000000003e-7,\"duration\":100.58333333333333,"             \
    "\"stateMachine\":{\"executionCost\":0.00038,\"lambdaCost\":0.000004485600000000001,"         \
    "\"visualization\":\"https://lambda-power-tuning.show/#gAAAAQAC;qyrJQlVVSkIAAPZB;"            \
    "m71jNNn+ZTQazYs0\"},\"stats\":[{\"value\":512,\"averagePrice\":2.6040000000000003e-7,"      \
    "\"averageDuration\":30.75},{\"value\":128,\"averagePrice\":2.1210000000000003e-7,"          \
    "\"averageDuration\":100.58333333333333},{\"value\":256,\"averagePrice\":"                   \
    "2.1420000000000003e-7,\"averageDuration\":50.583333333333336}]}"

static const struct {
    int power;
    double dur, init;
} data[] = {
    {512, 30.5, -1},  {512, 29.25, -1},  {512, 31.75, -1},  {512, 80.5, 100.75},  {512, 30, -1},
    {128, 100.5, -1}, {128, 101.25, -1}, {128, 99.75, -1},  {128, 250.5, 120.25}, {128, 100, -1},
    {256, 50.25, -1}, {256, 51.5, -1},   {256, 49.75, -1},  {256, 130, 110.5},    {256, 50, -1},
};
#define N_DATA (sizeof(data) / sizeof(data[0]))

static void make_samples(struct pt_tune_sample *s)
{
    memset(s, 0, N_DATA * sizeof(*s));
    for (size_t i = 0; i < N_DATA; i++) {
        s[i].power = data[i].power;
        s[i].duration_ms = data[i].dur;
        s[i].billed_ms = (double)(long)(data[i].dur + 0.999999); /* ceil(Duration) */
        s[i].init_ms = data[i].init;
        s[i].cold_start = data[i].init >= 0;
        s[i].max_memory_used_mb = 40;
        s[i].cpu_time_ms = data[i].dur / 2;
    }
}

static void make_input(struct pt_tune_input *in, const char *extra)
{
    char json[512];
    snprintf(json, sizeof(json),
             "{\"lambdaARN\": \"arn:aws:lambda:us-east-1:123456789012:function:f\", \"num\": 5,"
             " \"powerValues\": [512, 128, 256], \"includeOutputResults\": true,"
             " \"pricing\": \"power-tuning\"%s}",
             extra);
    pt_tune_input_init(in);
    struct pt_error err;
    if (pt_tune_input_parse_json(in, json, strlen(json), &err) < 0)
        fail_msg("%s", err.msg);
}

static char *text(const json_t *o, int indent)
{
    struct pt_buf b;
    pt_buf_init(&b, 0);
    assert_int_equal(pt_tune_json_text(o, indent, &b, NULL), 0);
    return pt_buf_steal(&b, NULL);
}

static void test_reference_output_golden(void **state)
{
    (void)state;
    struct pt_tune_sample s[N_DATA];
    make_samples(s);
    struct pt_tune_input in;
    make_input(&in, "");
    struct pt_price_model m;
    struct pt_error err;
    assert_int_equal(pt_price_model_init(&m, in.pricing, in.region, in.architecture, 0, &err), 0);
    struct pt_tune_analysis a;
    assert_int_equal(pt_tune_analyze(&in, &m, in.powers, in.n_powers, s, N_DATA, NULL, &a, &err), 0);
    assert_int_equal(a.powers[a.winner].power, 128);
    assert_int_equal(a.powers[a.best[PT_STRATEGY_SPEED]].power, 512);

    json_t *o = pt_tune_output_json(&in, &a, NULL, 0);
    assert_non_null(o);
    json_t *ours = json_object_get(o, "powertune");
    assert_non_null(ours);
    /* Our figures: cold starts and the Init table, recommendations per strategy. */
    json_t *p512 = json_array_get(json_object_get(ours, "powers"), 0);
    assert_int_equal(json_integer_value(json_object_get(p512, "coldStarts")), 1);
    assert_true(json_real_value(json_object_get(json_object_get(p512, "initDuration"), "max")) == 100.75);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(ours, "recommendations"),
                                                        "speed")), 512);
    json_incref(ours);
    json_object_del(o, "powertune");
    char *t = text(o, 0);
    assert_string_equal(t, GOLDEN);
    free(t);
    /* Our key is the one extra top-level key, last. */
    json_object_set_new(o, "powertune", ours);
    t = text(o, 0);
    assert_true(strncmp(t, GOLDEN, strlen(GOLDEN) - 1) == 0);
    assert_true(strncmp(t + strlen(GOLDEN) - 1, ",\"powertune\":{\"version\":1,", 26) == 0);
    free(t);
    json_decref(o);

    /* exact mode: executionCost 0 (no state machine here), the reference's figure kept. */
    assert_int_equal(pt_price_model_init(&m, PT_PRICING_EXACT, "us-east-1", "x86_64", 0, &err), 0);
    pt_tune_analysis_free(&a);
    assert_int_equal(pt_tune_analyze(&in, &m, in.powers, in.n_powers, s, N_DATA, NULL, &a, &err), 0);
    assert_true(a.execution_cost == 0);
    assert_true(a.sf_equivalent_cost == 0.00038);
    pt_tune_analysis_free(&a);
    pt_tune_input_free(&in);
}

static void test_excluded_and_dry_run(void **state)
{
    (void)state;
    struct pt_tune_sample s[N_DATA];
    make_samples(s);
    /* 128 MB (the cheapest) times out once: excluded, the run goes on. */
    snprintf(s[7].error, sizeof(s[7].error), "Sandbox.Timedout");
    struct pt_tune_input in;
    make_input(&in, ", \"strategy\": \"cost\"");
    struct pt_price_model m;
    struct pt_error err;
    assert_int_equal(pt_price_model_init(&m, in.pricing, in.region, in.architecture, 0, &err), 0);
    struct pt_tune_analysis a;
    assert_int_equal(pt_tune_analyze(&in, &m, NULL, 0, s, N_DATA, "https://x.test/", &a, &err), 0);
    assert_int_equal(a.n_powers, 3); /* order of first appearance */
    assert_int_equal(a.powers[0].power, 512);
    assert_true(a.powers[1].excluded);
    assert_int_equal(a.powers[a.winner].power, 256);
    /* lambdaCost leaves the excluded power out; totalLambdaCost does not. */
    assert_true(a.lambda_cost_all > a.lambda_cost);
    assert_true(strncmp(a.visualization, "https://x.test/#AAEAAg==;", 25) == 0); /* 256, 512 */
    json_t *o = pt_tune_output_json(&in, &a, (const char *[]){"degraded emulation"}, 1);
    json_t *p128 = json_array_get(json_object_get(json_object_get(o, "powertune"), "powers"), 1);
    assert_true(json_is_true(json_object_get(p128, "excluded")));
    assert_string_equal(json_string_value(json_object_get(p128, "excludedReason")),
                        "1 of 5 invocations failed with errors not in allowedExceptions: "
                        "Sandbox.Timedout x1");
    assert_int_equal(json_array_size(json_object_get(o, "stats")), 3); /* unfiltered */
    json_decref(o);
    pt_tune_analysis_free(&a);

    /* Every power failing: no recommendation, nulls instead of the reference's failure. */
    for (size_t i = 0; i < N_DATA; i += 5)
        snprintf(s[i].error, sizeof(s[i].error), "Runtime.ExitError");
    assert_int_equal(pt_tune_analyze(&in, &m, in.powers, in.n_powers, s, N_DATA, NULL, &a, &err), 0);
    assert_int_equal(a.winner, -1);
    o = pt_tune_output_json(&in, &a, NULL, 0);
    assert_true(json_is_null(json_object_get(o, "power")));
    assert_true(json_is_null(json_object_get(o, "cost")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "stateMachine"),
                                                          "visualization")),
                        "https://lambda-power-tuning.show/#;;");
    json_decref(o);

    /* A stray power in the samples is an error. */
    pt_tune_analysis_free(&a);
    int two[] = {512, 128};
    assert_int_equal(pt_tune_analyze(&in, &m, two, 2, s, N_DATA, NULL, &a, &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "power 256 MB"));

    /* Dry run: the output is JSON null. */
    in.dry_run = true;
    assert_int_equal(pt_tune_analyze(&in, &m, in.powers, in.n_powers, s, N_DATA, NULL, &a, &err), 0);
    o = pt_tune_output_json(&in, &a, NULL, 0);
    assert_true(json_is_null(o));
    char *t = text(o, 2);
    assert_string_equal(t, "null");
    free(t);
    json_decref(o);
    pt_tune_analysis_free(&a);
    pt_tune_input_free(&in);
}

static void test_cny_and_allowed(void **state)
{
    (void)state;
    struct pt_tune_sample s[N_DATA];
    make_samples(s);
    snprintf(s[7].error, sizeof(s[7].error), "HandledError");
    struct pt_tune_input in;
    pt_tune_input_init(&in);
    const char *json = "{\"lambdaARN\": \"arn:aws-cn:lambda:cn-north-1:123456789012:function:f\","
                       " \"num\": 5, \"powerValues\": [512, 128, 256], \"pricing\": \"power-tuning\","
                       " \"allowedExceptions\": [\"HandledError\"]}";
    struct pt_error err;
    assert_int_equal(pt_tune_input_parse_json(&in, json, strlen(json), &err), 0);
    struct pt_price_model m;
    assert_int_equal(pt_price_model_init(&m, in.pricing, in.region, in.architecture, 0, &err), 0);
    struct pt_tune_analysis a;
    assert_int_equal(pt_tune_analyze(&in, &m, in.powers, in.n_powers, s, N_DATA, NULL, &a, &err), 0);
    assert_false(a.powers[1].excluded); /* allowed: kept in the statistics */
    assert_true(strncmp(a.visualization, "https://lambda-power-tuning.show/?currency=CNY#", 47) == 0);
    json_t *o = pt_tune_output_json(&in, &a, NULL, 0);
    assert_null(json_object_get(o, "stats")); /* includeOutputResults not set */
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(o, "powertune"), "pricing"), "currency")),
                        "CNY");
    json_decref(o);
    pt_tune_analysis_free(&a);
    pt_tune_input_free(&in);
}

/* An ill-formed errorType does not cost the user the whole output. */
static void test_bad_utf8_error_type(void **state)
{
    (void)state;
    struct pt_tune_sample s[N_DATA];
    make_samples(s);
    snprintf(s[2].error, sizeof(s[2].error), "Bad\xff");
    struct pt_tune_input in;
    make_input(&in, "");
    struct pt_price_model m;
    struct pt_error err;
    assert_int_equal(pt_price_model_init(&m, in.pricing, in.region, in.architecture, 0, &err), 0);
    struct pt_tune_analysis a;
    assert_int_equal(pt_tune_analyze(&in, &m, in.powers, in.n_powers, s, N_DATA, NULL, &a, &err), 0);
    json_t *o = pt_tune_output_json(&in, &a, NULL, 0);
    assert_non_null(o);
    json_t *p512 = json_array_get(json_object_get(json_object_get(o, "powertune"), "powers"), 0);
    assert_non_null(json_object_get(json_object_get(p512, "errors"), "Bad?"));
    assert_non_null(strstr(json_string_value(json_object_get(p512, "excludedReason")), "Bad? x1"));
    json_decref(o);
    pt_tune_analysis_free(&a);
    pt_tune_input_free(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_output_golden),
        cmocka_unit_test(test_excluded_and_dry_run),
        cmocka_unit_test(test_cny_and_allowed),
        cmocka_unit_test(test_bad_utf8_error_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
