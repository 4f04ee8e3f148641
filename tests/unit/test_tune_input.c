/*
 * test_tune_input.c - the reference's execution input, validated up front
 * (power-tuning.md 1.1): defaults, presets, clamping, messages naming field and value.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/str.h"
#include "tune/tune.h"

#define ARN "arn:aws:lambda:eu-west-1:123456789012:function:my-fn"

static int parse(struct pt_tune_input *in, const char *json, struct pt_error *err)
{
    pt_tune_input_init(in);
    return pt_tune_input_parse_json(in, json, strlen(json), err);
}

/* Parses, expects PT_EUSAGE and every fragment in the message. */
static void expect_usage(const char *json, const char *frag1, const char *frag2)
{
    struct pt_tune_input in;
    struct pt_error err = {0};
    int rc = parse(&in, json, &err);
    if (rc != PT_EUSAGE)
        fail_msg("%s: rc %d (%s), want usage", json, rc, err.msg);
    if (frag1 && !strstr(err.msg, frag1))
        fail_msg("%s: message \"%s\" lacks \"%s\"", json, err.msg, frag1);
    if (frag2 && !strstr(err.msg, frag2))
        fail_msg("%s: message \"%s\" lacks \"%s\"", json, err.msg, frag2);
    pt_tune_input_free(&in);
}

static void test_minimal_defaults(void **state)
{
    (void)state;
    struct pt_tune_input in;
    struct pt_error err;
    assert_int_equal(parse(&in, "{\"lambdaARN\": \"" ARN "\", \"num\": 10}", &err), 0);
    assert_true(in.is_arn);
    assert_string_equal(in.function_name, "my-fn");
    assert_string_equal(in.region, "eu-west-1");
    assert_string_equal(in.account, "123456789012");
    assert_int_equal(in.num, 10);
    const int want[] = {128, 256, 512, 1024, 1536, 3008};
    assert_int_equal(in.n_powers, 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal(in.powers[i], want[i]);
    assert_int_equal(in.strategy, PT_STRATEGY_COST);
    assert_true(in.balanced_weight == 0.5);
    assert_true(in.discard_top_bottom == 0.2);
    assert_string_equal(in.architecture, "x86_64");
    assert_int_equal(in.pricing, PT_PRICING_EXACT);
    assert_false(in.parallel || in.dry_run || in.only_cold_starts || in.auto_optimize);
    assert_int_equal(in.warnings, 0);
    assert_int_equal(pt_tune_input_runs_per_power(&in), 10);
    pt_tune_input_free(&in);
}

static void test_all_presets(void **state)
{
    (void)state;
    struct pt_tune_input in;
    struct pt_error err;
    assert_int_equal(parse(&in, "{\"lambdaARN\": \"fn\", \"num\": 5, \"powerValues\": \"ALL\"}", &err), 0);
    assert_int_equal(in.n_powers, 46);
    assert_int_equal(in.powers[0], 128);
    assert_int_equal(in.powers[1], 192);
    assert_int_equal(in.powers[45], 3008);
    pt_tune_input_free(&in);
    assert_int_equal(parse(&in, "{\"lambdaARN\": \"fn\", \"num\": 5, \"powerValues\": \"ALL10240\"}",
                           &err), 0);
    assert_int_equal(in.n_powers, 159);
    assert_int_equal(in.powers[158], 10240);
    pt_tune_input_free(&in);
    /* "all" is not "ALL". */
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 5, \"powerValues\": \"all\"}", "powerValues",
                 "\"ALL\"");
}

static void test_full_input(void **state)
{
    (void)state;
    struct pt_tune_input in;
    struct pt_error err;
    const char *json =
        "{\"lambdaARN\": \"" ARN ":live\", \"num\": \"20\", \"powerValues\": [\"128\", 512, 1769],"
        " \"payload\": {\"k\": [1, 2]}, \"parallelInvocation\": true, \"strategy\": \"balanced\","
        " \"balancedWeight\": 0.3, \"autoOptimize\": true, \"autoOptimizeAlias\": \"prod\","
        " \"dryRun\": false, \"preProcessorARN\": \"pre\", \"postProcessorARN\": \"post\","
        " \"discardTopBottom\": 0.1, \"sleepBetweenRunsMs\": 50, \"onlyColdStarts\": false,"
        " \"includeOutputResults\": true, \"disablePayloadLogs\": true,"
        " \"allowedExceptions\": [\"HandledError\", \"Other\"], \"architecture\": \"arm64\","
        " \"concurrency\": 4, \"failFast\": true, \"pricing\": \"exact\","
        " \"pricePerGbS\": 0.00002, \"adaptive\": true, \"region\": \"eu-west-1\"}";
    assert_int_equal(parse(&in, json, &err), 0);
    assert_string_equal(in.qualifier, "live"); /* the reference refuses qualified ARNs (#166) */
    assert_int_equal(in.num, 20);
    assert_int_equal(in.n_powers, 3);
    assert_int_equal(in.powers[0], 128);
    assert_int_equal(in.powers[2], 1769);
    assert_true(json_is_object(in.payload));
    assert_true(in.parallel);
    assert_int_equal(in.strategy, PT_STRATEGY_BALANCED);
    assert_true(in.balanced_weight == 0.3);
    assert_true(in.auto_optimize);
    assert_string_equal(in.auto_optimize_alias, "prod");
    assert_string_equal(in.pre_processor, "pre");
    assert_string_equal(in.post_processor, "post");
    assert_true(in.discard_top_bottom == 0.1);
    assert_int_equal(in.sleep_between_runs_ms, 50);
    assert_true(in.include_output_results && in.disable_payload_logs);
    assert_int_equal(in.n_allowed, 2);
    assert_string_equal(in.allowed_exceptions[1], "Other");
    assert_string_equal(in.architecture, "arm64");
    assert_int_equal(in.concurrency, 4);
    assert_true(in.fail_fast && in.adaptive);
    assert_int_equal(in.pricing, PT_PRICING_EXACT);
    assert_true(in.price_per_gb_s == 0.00002);
    /* sleep with parallel is ignored: warned. */
    assert_true(in.warnings & PT_TUNE_WARN_SLEEP_PARALLEL);
    pt_tune_input_free(&in);
}

static void test_clamping_and_warnings(void **state)
{
    (void)state;
    struct pt_tune_input in;
    struct pt_error err;
    assert_int_equal(parse(&in, "{\"lambdaARN\": \"fn\", \"num\": 3, \"balancedWeight\": 1.5,"
                                " \"discardTopBottom\": 0.7}", &err), 0);
    assert_true(in.balanced_weight == 1.0);
    assert_true(in.discard_top_bottom == 0.4);
    assert_true(in.warnings & PT_TUNE_WARN_NUM_BELOW_5);
    assert_true(in.warnings & PT_TUNE_WARN_WEIGHT_CLAMPED);
    assert_true(in.warnings & PT_TUNE_WARN_DISCARD_CLAMPED);
    assert_non_null(pt_tune_warning_text(PT_TUNE_WARN_NUM_BELOW_5));
    pt_tune_input_free(&in);

    assert_int_equal(parse(&in, "{\"lambdaARN\": \"fn\", \"num\": 10, \"balancedWeight\": -2}", &err), 0);
    assert_true(in.balanced_weight == 0.0);
    pt_tune_input_free(&in);

    /* onlyColdStarts forces discardTopBottom to 0; warned only when it was set. */
    assert_int_equal(parse(&in, "{\"lambdaARN\": \"fn\", \"num\": 10, \"onlyColdStarts\": true}", &err), 0);
    assert_true(in.discard_top_bottom == 0);
    assert_false(in.warnings & PT_TUNE_WARN_DISCARD_COLD);
    pt_tune_input_free(&in);
    assert_int_equal(parse(&in, "{\"lambdaARN\": \"fn\", \"num\": 10, \"onlyColdStarts\": true,"
                                " \"discardTopBottom\": 0.3}", &err), 0);
    assert_true(in.discard_top_bottom == 0);
    assert_true(in.warnings & PT_TUNE_WARN_DISCARD_COLD);
    pt_tune_input_free(&in);

    /* num 4 with the default 0.2: floor(0.8) = 0, nothing is trimmed. */
    assert_int_equal(parse(&in, "{\"lambdaARN\": \"fn\", \"num\": 4}", &err), 0);
    assert_true(in.warnings & PT_TUNE_WARN_DISCARD_NOT_ENOUGH);
    pt_tune_input_free(&in);

    /* Settings of a mode not on are ignored: said, not silently. */
    assert_int_equal(parse(&in, "{\"lambdaARN\": \"fn\", \"num\": 10, \"concurrency\": 4,"
                                " \"adaptiveTolerance\": 10}", &err), 0);
    assert_true(in.warnings & PT_TUNE_WARN_CONCURRENCY_SERIES);
    assert_true(in.warnings & PT_TUNE_WARN_TOLERANCE_FIXED);
    assert_non_null(pt_tune_warning_text(PT_TUNE_WARN_TOLERANCE_FIXED));
    pt_tune_input_free(&in);
    assert_int_equal(parse(&in, "{\"lambdaARN\": \"fn\", \"num\": 10, \"concurrency\": 4,"
                                " \"parallelInvocation\": true, \"adaptiveTolerance\": 10,"
                                " \"adaptive\": true}", &err), 0);
    assert_false(in.warnings & (PT_TUNE_WARN_CONCURRENCY_SERIES | PT_TUNE_WARN_TOLERANCE_FIXED));
    pt_tune_input_free(&in);

    /* dryRun: one invocation per power. */
    assert_int_equal(parse(&in, "{\"lambdaARN\": \"fn\", \"num\": 10, \"dryRun\": true}", &err), 0);
    assert_int_equal(pt_tune_input_runs_per_power(&in), 1);
    pt_tune_input_free(&in);

    /* Empty strategy and null fields: defaults. */
    assert_int_equal(parse(&in, "{\"lambdaARN\": \"fn\", \"num\": 10, \"strategy\": \"\","
                                " \"balancedWeight\": null, \"powerValues\": []}", &err), 0);
    assert_int_equal(in.strategy, PT_STRATEGY_COST);
    assert_true(in.balanced_weight == 0.5);
    assert_int_equal(in.n_powers, 6);
    pt_tune_input_free(&in);
}

/* Idempotent: the CLI validates --input's document, then again after its flags, and the
 * second pass used to drop the onlyColdStarts warning (found by fuzz_tune_input). */
static void test_validate_twice_keeps_warnings(void **state)
{
    (void)state;
    struct pt_tune_input in;
    struct pt_error err;
    assert_int_equal(parse(&in, "{\"lambdaARN\": \"fn\", \"num\": 10, \"onlyColdStarts\": true,"
                                " \"discardTopBottom\": 0.3, \"balancedWeight\": 2}", &err), 0);
    unsigned first = in.warnings;
    assert_true(first & PT_TUNE_WARN_DISCARD_COLD);
    assert_int_equal(pt_tune_input_validate(&in, &err), 0);
    assert_int_equal(in.warnings, first);
    assert_true(in.discard_top_bottom == 0);
    pt_tune_input_free(&in);
}

/* The reference fails on these only after every invocation ran (or never). */
static void test_validation_messages(void **state)
{
    (void)state;
    expect_usage("{\"num\": 10}", "lambdaARN", "missing");
    expect_usage("{\"lambdaARN\": \"\", \"num\": 10}", "lambdaARN", "missing");
    expect_usage("{\"lambdaARN\": \"fn\"}", "num: missing", "at least 5");
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 0}", "num: 0", "from 1 to 100000");
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 2.5}", "num: 2.5", "integer");
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": \"10abc\"}", "num: \"10abc\"", NULL);
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 10, \"strategy\": \"Balanced\"}",
                 "strategy: \"Balanced\"", "allowed cost, speed, balanced (case-sensitive)");
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 10, \"strategy\": \"foobar\"}", "foobar", NULL);
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 10, \"strategy\": \" \"}", "strategy: \" \"", NULL);
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 10, \"strategy\": \"-\"}", "strategy: \"-\"", NULL);
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 10, \"powerValues\": [128, 64]}",
                 "powerValues[1]: 64", "from 128 to 10240");
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 10, \"powerValues\": [10241]}",
                 "powerValues[0]: 10241", NULL);
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 10, \"powerValues\": [\"512abc\"]}",
                 "powerValues[0]: \"512abc\"", NULL);
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 10, \"powerValues\": [512, 256, 512]}",
                 "powerValues[2]: 512 appears twice", NULL);
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 10, \"powerValues\": 512}", "powerValues: 512",
                 NULL);
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 10, \"parallelInvocation\": \"false\"}",
                 "parallelInvocation: \"false\"", "true or false");
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 10, \"balancedWeight\": \"heavy\"}",
                 "balancedWeight: \"heavy\"", "number");
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 10, \"sleepBetweenRunsMs\": -1}",
                 "sleepBetweenRunsMs: -1", NULL);
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 10, \"allowedExceptions\": \"X\"}",
                 "allowedExceptions", "array");
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 10, \"allowedExceptions\": [1]}",
                 "allowedExceptions[0]: 1", NULL);
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 10, \"enableParallel\": true}",
                 "unknown key \"enableParallel\"", "parallelInvocation");
    expect_usage("{\"lambdaARN\": \"arn:aws:lambda:us-east-1:123:function:f\", \"num\": 10}",
                 "is not a Lambda function ARN", NULL);
    expect_usage("{\"lambdaARN\": \"" ARN "\", \"num\": 10, \"region\": \"us-east-1\"}",
                 "region: \"us-east-1\" differs", "eu-west-1");
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 10, \"architecture\": \"arm\"}",
                 "architecture: \"arm\"", "x86_64, arm64");
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 10, \"pricing\": \"cheap\"}", "pricing", NULL);
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 10, \"pricePerGbS\": 16.6667}", "pricePerGbS", NULL);
    /* The reference's constants have no GB-second price: it was ignored without a word. */
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 10, \"pricing\": \"power-tuning\", "
                 "\"pricePerGbS\": 0.00002}",
                 "pricePerGbS: 2e-05 with pricing power-tuning", "allowed with pricing exact");
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 10, \"concurrency\": 0}", "concurrency: 0", NULL);
    expect_usage("[1]", "not a JSON object", NULL);
    {
        /* A long value is shortened at a character's boundary: the message stays UTF-8. */
        char json[512] = "{\"lambdaARN\": \"fn\", \"num\": \"";
        for (int i = 0; i < 100; i++)
            strcat(json, "\xc3\xa9"); /* U+00E9, two bytes: one of the two cuts splits it */
        strcat(json, "\"}");
        for (int shift = 0; shift < 2; shift++) {
            struct pt_tune_input in;
            struct pt_error err = {0};
            if (shift)
                memmove(json + 29, json + 28, strlen(json + 28) + 1), json[28] = 'x';
            assert_int_equal(parse(&in, json, &err), PT_EUSAGE);
            const char *dots = strstr(err.msg, "...");
            assert_non_null(dots);
            const unsigned char *q = (const unsigned char *)strstr(err.msg, "num: \"") + 6;
            while (q < (const unsigned char *)dots) {
                size_t n = pt_utf8_seq(q, (size_t)((const unsigned char *)dots - q));
                assert_true(n > 0);
                q += n;
            }
            pt_tune_input_free(&in);
        }
    }
    expect_usage("{\"lambdaARN\": ", "not valid JSON", NULL);
    /* Lambda's alias names, checked before the run rather than by CreateAlias after it. */
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 5, \"autoOptimize\": true, "
                 "\"autoOptimizeAlias\": \"a/b?c\"}", "autoOptimizeAlias: \"a/b?c\"",
                 "[A-Za-z0-9-_]");
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 5, \"autoOptimize\": true, "
                 "\"autoOptimizeAlias\": \"123\"}", "autoOptimizeAlias: \"123\"", "not all digits");
    /* Weighted payloads are checked against num before anything runs. */
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 5, \"payload\": [{\"payload\": 1, \"weight\": 10},"
                 " {\"payload\": 2, \"weight\": 60}, {\"payload\": 3, \"weight\": 30}]}",
                 "Invalid payload weight (num is too small)", NULL);
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 2, \"payload\": [{\"payload\": 1, \"weight\": 1},"
                 " {\"payload\": 2, \"weight\": 1}, {\"payload\": 3, \"weight\": 1}]}",
                 "You have 3 payloads and only \"num\"=2. Please increase \"num\".", NULL);
}

static void test_payload_s3(void **state)
{
    (void)state;
    struct pt_tune_input in;
    struct pt_error err;
    assert_int_equal(parse(&in, "{\"lambdaARN\": \"fn\", \"num\": 5, \"payloadS3\": "
                                "\"s3://My-Bucket/dir/a%20b.json\", \"payload\": {\"x\": 1}}", &err), 0);
    assert_true(in.payload_s3);
    assert_string_equal(in.s3_bucket, "my-bucket"); /* url.parse lower-cases the host */
    assert_string_equal(in.s3_key, "dir/a b.json");
    assert_true(in.warnings & PT_TUNE_WARN_S3_OVER_PAYLOAD);
    pt_tune_input_free(&in);
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 5, \"payloadS3\": \"bucket/key\"}",
                 "Invalid S3 path, not a string in the format s3://BUCKET/KEY", NULL);
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 5, \"payloadS3\": 3}",
                 "Invalid S3 path, not a string in the format s3://BUCKET/KEY", NULL);
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 5, \"payloadS3\": \"s3://bucket\"}",
                 "Invalid S3 path: \"s3://bucket\" (bucket: bucket, key: )", NULL);
    expect_usage("{\"lambdaARN\": \"fn\", \"num\": 5, \"payloadS3\": \"s3:///key\"}",
                 "Invalid S3 path: \"s3:///key\" (bucket: , key: key)", NULL);
}

static void test_cli_setters(void **state)
{
    (void)state;
    struct pt_tune_input in;
    struct pt_error err;
    pt_tune_input_init(&in);
    assert_int_equal(pt_tune_input_set_function(&in, "examples/noop-c", &err), 0);
    assert_false(in.is_arn);
    assert_int_equal(pt_tune_input_set_powers(&in, "128, 256,1769", &err), 0);
    assert_int_equal(in.n_powers, 3);
    assert_int_equal(in.powers[2], 1769);
    assert_int_equal(pt_tune_input_set_powers(&in, "128,,256", &err), PT_EUSAGE);
    assert_int_equal(pt_tune_input_set_powers(&in, "128,100", &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "powers[1]: 100"));
    assert_int_equal(pt_tune_input_set_powers(&in, "128,x", &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "powers[1]: \"x\""));
    assert_int_equal(pt_tune_input_set_powers(&in, "ALL", &err), 0);
    assert_int_equal(in.n_powers, 46);
    assert_int_equal(pt_tune_input_set_strategy(&in, "speed", &err), 0);
    assert_int_equal(pt_tune_input_set_strategy(&in, "SPEED", &err), PT_EUSAGE);
    assert_int_equal(pt_tune_input_set_allowed_exceptions(&in, "A,B.C", &err), 0);
    assert_int_equal(in.n_allowed, 2);
    assert_string_equal(in.allowed_exceptions[1], "B.C");
    assert_int_equal(pt_tune_input_set_allowed_exceptions(&in, "A,,B", &err), PT_EUSAGE);
    assert_int_equal(pt_tune_input_set_pricing(&in, "power-tuning", &err), 0);
    assert_int_equal(pt_tune_input_set_architecture(&in, "arm64", &err), 0);

    /* --payload keeps the user's bytes unless it is a weighted array. */
    const char *text = "{\"a\": 1.50}";
    assert_int_equal(pt_tune_input_set_payload_text(&in, text, strlen(text), &err), 0);
    char *sent = pt_tune_payload_convert(in.payload, NULL, &err);
    assert_string_equal(sent, text);
    free(sent);
    text = "[{\"payload\": {\"a\": 1}, \"weight\": 1}]";
    assert_int_equal(pt_tune_input_set_payload_text(&in, text, strlen(text), &err), 0);
    assert_true(json_is_array(in.payload));
    assert_int_equal(pt_tune_input_set_payload_text(&in, "{bad", 4, &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "payload: not valid JSON"));

    /* num is still missing. */
    assert_int_equal(pt_tune_input_validate(&in, &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "num: missing"));
    in.num = 10;
    assert_int_equal(pt_tune_input_validate(&in, &err), 0);
    assert_string_equal(in.region, ""); /* local function: the CLI supplies the region */

    /* Flags set without a setter are range-checked by validate. */
    pt_tune_input_set_balanced_weight(&in, 1.5);
    assert_true(in.balanced_weight == 1 && (in.warnings & PT_TUNE_WARN_WEIGHT_CLAMPED));
    pt_tune_input_set_discard(&in, 0.5);
    assert_true(in.discard_top_bottom == 0.4 && (in.warnings & PT_TUNE_WARN_DISCARD_CLAMPED));
    in.sleep_between_runs_ms = -5;
    assert_int_equal(pt_tune_input_validate(&in, &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "sleepBetweenRunsMs: -5"));
    in.sleep_between_runs_ms = 0;
    in.concurrency = 5000;
    assert_int_equal(pt_tune_input_validate(&in, &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "concurrency: 5000"));
    in.concurrency = 2;
    snprintf(in.region, sizeof(in.region), "US East");
    assert_int_equal(pt_tune_input_validate(&in, &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "region: \"US East\""));
    snprintf(in.region, sizeof(in.region), "us-east-1");
    assert_int_equal(pt_tune_input_validate(&in, &err), 0);
    assert_true(in.warnings & PT_TUNE_WARN_WEIGHT_CLAMPED); /* kept across validations */
    pt_tune_input_free(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_defaults),
        cmocka_unit_test(test_all_presets),
        cmocka_unit_test(test_full_input),
        cmocka_unit_test(test_clamping_and_warnings),
        cmocka_unit_test(test_validate_twice_keeps_warnings),
        cmocka_unit_test(test_validation_messages),
        cmocka_unit_test(test_payload_s3),
        cmocka_unit_test(test_cli_setters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
