/*
 * test_tune_payload.c - JavaScript-compatible JSON text and the reference's payload rules
 * (power-tuning.md 1.1 and the four allocation vectors of 1.4).
 */
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

static void check_number(double x, const char *want)
{
    char out[PT_JS_NUMBER_MAX];
    pt_js_number(x, out);
    if (strcmp(out, want) != 0)
        fail_msg("pt_js_number(%.17g) = %s, want %s", x, out, want);
}

/* Number.prototype.toString as node prints these. */
static void test_js_numbers(void **state)
{
    (void)state;
    check_number(0, "0");
    check_number(-0.0, "0");
    check_number(1, "1");
    check_number(-1.5, "-1.5");
    check_number(0.1, "0.1");
    check_number(0.1 + 0.2, "0.30000000000000004");
    check_number(7.56e-7, "7.56e-7");
    check_number(0.000002457, "0.000002457");
    check_number(0.000001, "0.000001");
    check_number(1e-7, "1e-7");
    check_number(5.04e-6, "0.00000504");
    check_number(399.5566666666667, "399.5566666666667");
    check_number(1e21, "1e+21");
    check_number(1e20, "100000000000000000000");
    check_number(123456789012345680000.0, "123456789012345680000");
    check_number(2.1e-8, "2.1e-8");
    check_number(0.00108, "0.00108");
    check_number(1.7976931348623157e308, "1.7976931348623157e+308");
    check_number(5e-324, "5e-324");
    check_number(88.51, "88.51");
    check_number(4.4166666666666670, "4.416666666666667");
    /* Powers of two, whose closest 16-digit decimal does not read back but the next one up
     * does: node prints 16 digits, the old loop went on to 17 (found comparing with node). */
    check_number(0x1p-24, "5.960464477539063e-8");
    check_number(-0x1p-44, "-5.684341886080802e-14");
    check_number(0x1p89, "6.189700196426902e+26");
    check_number(0x1p-1017, "7.120236347223045e-307");
    check_number(0x1p976, "6.386688990511104e+293");
}

static char *stringify(const char *json, int indent)
{
    json_error_t jerr;
    json_t *v = json_loads(json, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &jerr);
    assert_non_null(v);
    struct pt_buf b;
    pt_buf_init(&b, 0);
    assert_int_equal(pt_js_stringify(v, indent, &b, NULL), 0);
    json_decref(v);
    return pt_buf_steal(&b, NULL);
}

static void test_js_stringify(void **state)
{
    (void)state;
    char *s = stringify("{\"b\": 1.0, \"2\": [1e2, true, null], \"1\": \"x\\n\\u0001\\\"é\", "
                        "\"a\": {}}",
                        0);
    /* Index keys first, ascending; numbers JavaScript's; control characters \u00xx. */
    assert_string_equal(s, "{\"1\":\"x\\n\\u0001\\\"é\",\"2\":[100,true,null],\"b\":1,\"a\":{}}");
    free(s);
    s = stringify("{\"a\": [1, {\"b\": []}]}", 2);
    assert_string_equal(s, "{\n  \"a\": [\n    1,\n    {\n      \"b\": []\n    }\n  ]\n}");
    free(s);
    /* "01" and "4294967295" are not array indices: insertion order. */
    s = stringify("{\"z\": 1, \"4294967295\": 2, \"01\": 3, \"4294967294\": 4}", 0);
    assert_string_equal(s, "{\"4294967294\":4,\"z\":1,\"4294967295\":2,\"01\":3}");
    free(s);
}

/* Ill-formed UTF-8 from C text becomes U+FFFD; well-formed passes through. */
static void test_quote_utf8(void **state)
{
    (void)state;
    struct pt_buf b;
    pt_buf_init(&b, 0);
    const char in[] = "a\xff\xc3\xa9\xed\xa0\x80\xe2\x82";
    assert_int_equal(pt_js_quote(in, sizeof(in) - 1, &b, NULL), 0);
    assert_string_equal(b.data, "\"a\xef\xbf\xbd\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                                "\xef\xbf\xbd\xef\xbf\xbd\"");
    json_error_t jerr;
    json_t *v = json_loads(b.data, JSON_DECODE_ANY, &jerr);
    assert_non_null(v);
    json_decref(v);
    pt_buf_free(&b);
}

static char *convert(const char *json)
{
    json_error_t jerr;
    json_t *v = json ? json_loads(json, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &jerr) : NULL;
    if (json)
        assert_non_null(v);
    char *s = pt_tune_payload_convert(v, NULL, NULL);
    json_decref(v);
    assert_non_null(s);
    return s;
}

static void expect_convert(const char *json, const char *want)
{
    char *s = convert(json);
    if (strcmp(s, want) != 0)
        fail_msg("convert(%s) = %s, want %s", json ? json : "(undefined)", s, want);
    free(s);
}

/* convertPayload: JSON strings unchanged, everything else JSON.stringify'd. */
static void test_convert_payload(void **state)
{
    (void)state;
    expect_convert("{\"a\": 1}", "{\"a\":1}");
    expect_convert("\"just a string\"", "\"just a string\""); /* 'just a string' quoted */
    expect_convert("\"{\\\"a\\\": 1}\"", "{\"a\": 1}"); /* the string '{"a": 1}' unchanged */
    expect_convert("\"\\\"test\\\"\"", "\"test\"");
    expect_convert("\"123\"", "123");
    expect_convert("null", "null");
    expect_convert(NULL, "null");
    expect_convert("[1,2,3]", "[1,2,3]");
    expect_convert("42", "42");
}

/* 'just a string' is not JSON text, so it is quoted. */
static void test_convert_plain_string(void **state)
{
    (void)state;
    json_t *v = json_string("just a string");
    char *s = pt_tune_payload_convert(v, NULL, NULL);
    assert_string_equal(s, "\"just a string\"");
    free(s);
    json_decref(v);
}

static void test_truthy_and_weighted(void **state)
{
    (void)state;
    json_t *v;
    json_error_t jerr;
#define T(text, want)                                                                          \
    v = json_loads(text, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &jerr);                     \
    assert_non_null(v);                                                                         \
    assert_int_equal(pt_tune_json_truthy(v), want);                                             \
    json_decref(v)
    T("0", false);
    T("\"\"", false);
    T("false", false);
    T("null", false);
    T("{}", true);
    T("[]", true);
    T("\"0\"", true);
    T("-1", true);
#undef T
    assert_false(pt_tune_json_truthy(NULL));
#define W(text, want)                                                                          \
    v = json_loads(text, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &jerr);                     \
    assert_non_null(v);                                                                         \
    assert_int_equal(pt_tune_payload_is_weighted(v), want);                                     \
    json_decref(v)
    W("[{\"payload\": {}, \"weight\": 1}]", true);
    W("[{\"payload\": {}, \"weight\": 1}, {\"payload\": \"x\", \"weight\": 2}]", true);
    W("[{\"payload\": {}, \"weight\": 0}]", false);
    W("[{\"payload\": \"\", \"weight\": 1}]", false);
    W("[{\"payload\": {}, \"weight\": 1}, 3]", false);
    W("[1, 2, 3]", false);
    W("[]", false);
    W("{\"payload\": {}, \"weight\": 1}", false);
#undef W
}

static void expect_alloc(const double *w, size_t n, long num, const long *want)
{
    long counts[8];
    struct pt_error err;
    assert_int_equal(pt_tune_payload_allocate(w, n, num, counts, &err), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(counts[i], want[i]);
}

/* The four vectors of power-tuning.md 1.4. */
static void test_allocation_vectors(void **state)
{
    (void)state;
    expect_alloc((double[]){10, 30, 60}, 3, 10, (long[]){1, 3, 6});
    expect_alloc((double[]){5, 15, 30}, 3, 100, (long[]){10, 30, 60});
    expect_alloc((double[]){1, 1, 1}, 3, 10, (long[]){3, 3, 4});
    long counts[3];
    struct pt_error err;
    assert_int_equal(pt_tune_payload_allocate((double[]){10, 60, 30}, 3, 5, counts, &err),
                     PT_EUSAGE);
    assert_string_equal(err.msg, "Invalid payload weight (num is too small)");
    assert_int_equal(pt_tune_payload_allocate((double[]){1, 1, 1}, 3, 2, counts, &err), PT_EUSAGE);
    assert_string_equal(err.msg, "You have 3 payloads and only \"num\"=2. Please increase \"num\".");
}

/* weight x num overflowing to Infinity used to be cast to a long (undefined behaviour, a
 * garbage count for payload_of): found by fuzz_tune_payload. */
static void test_allocation_overflow(void **state)
{
    (void)state;
    long counts[2];
    struct pt_error err;
    assert_int_equal(pt_tune_payload_allocate((double[]){1.6853364567265354e+308, 1}, 2, 24575,
                                              counts, &err),
                     PT_EUSAGE);
    assert_non_null(strstr(err.msg, "payload[0].weight"));
    assert_int_equal(pt_tune_payload_allocate((double[]){1e308, 1e300}, 2, 5, counts, &err),
                     PT_EUSAGE);
    /* Every share overflows: the old code "succeeded" with garbage counts. */
    assert_int_equal(pt_tune_payload_allocate((double[]){1e308, 5e307}, 2, 5, counts, &err),
                     PT_EUSAGE);
    assert_non_null(strstr(err.msg, "payload[0].weight"));
    /* The same proportions in smaller numbers are fine (refused as the reference does). */
    assert_int_equal(pt_tune_payload_allocate((double[]){1e8, 1}, 2, 5, counts, &err), PT_EUSAGE);
    assert_string_equal(err.msg, "Invalid payload weight (num is too small)");
    expect_alloc((double[]){1e300, 1e300}, 2, 10, (long[]){5, 5});

    json_error_t jerr;
    json_t *v = json_loads("[{\"payload\": 1, \"weight\": 1e308}, {\"payload\": 2, \"weight\": 5e307}]",
                           JSON_DECODE_INT_AS_REAL, &jerr);
    assert_non_null(v);
    struct pt_tune_payloads p;
    assert_int_equal(pt_tune_payloads_generate(v, 5, &p, &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "payload[0].weight"));
    assert_null(p.payload_of);
    json_decref(v);
}

static void test_generate_weighted_blocks(void **state)
{
    (void)state;
    json_error_t jerr;
    json_t *v = json_loads("[{\"payload\": {\"n\": \"A\"}, \"weight\": 10},"
                           " {\"payload\": \"B\", \"weight\": 30},"
                           " {\"payload\": \"{\\\"c\\\":1}\", \"weight\": 60}]",
                           0, &jerr);
    assert_non_null(v);
    struct pt_tune_payloads p;
    struct pt_error err;
    assert_int_equal(pt_tune_payloads_generate(v, 10, &p, &err), 0);
    assert_int_equal(p.n_texts, 3);
    assert_string_equal(p.texts[0], "{\"n\":\"A\"}");
    assert_string_equal(p.texts[1], "\"B\"");
    assert_string_equal(p.texts[2], "{\"c\":1}");
    const int want[10] = {0, 1, 1, 1, 2, 2, 2, 2, 2, 2}; /* contiguous blocks, not shuffled */
    for (int i = 0; i < 10; i++)
        assert_int_equal(p.payload_of[i], want[i]);
    pt_tune_payloads_free(&p);

    /* Weights must be numbers: the reference would concatenate strings. */
    json_t *bad = json_loads("[{\"payload\": 1, \"weight\": \"5\"}]", 0, &jerr);
    assert_int_equal(pt_tune_payloads_generate(bad, 10, &p, &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "payload[0].weight"));
    json_decref(bad);
    json_decref(v);
}

static void test_generate_plain_and_falsy(void **state)
{
    (void)state;
    struct pt_tune_payloads p;
    assert_int_equal(pt_tune_payloads_generate(NULL, 3, &p, NULL), 0);
    assert_int_equal(p.n_texts, 1);
    assert_string_equal(p.texts[0], "null");
    assert_int_equal(p.payload_of[2], 0);
    pt_tune_payloads_free(&p);

    json_t *zero = json_real(0);
    assert_int_equal(pt_tune_payloads_generate(zero, 2, &p, NULL), 0);
    assert_string_equal(p.texts[0], "null"); /* falsy payload -> null */
    pt_tune_payloads_free(&p);
    json_decref(zero);

    json_t *arr = json_loads("[1,2,3]", 0, NULL);
    assert_int_equal(pt_tune_payloads_generate(arr, 2, &p, NULL), 0);
    assert_int_equal(p.n_texts, 1);
    assert_string_equal(p.texts[0], "[1,2,3]"); /* array payload since 4.3.5 */
    pt_tune_payloads_free(&p);
    json_decref(arr);
}

static void test_s3_body(void **state)
{
    (void)state;
    json_t *v = pt_tune_payload_from_s3_body("{\"a\":1}", 7);
    assert_true(json_is_object(v));
    json_decref(v);
    v = pt_tune_payload_from_s3_body("hello", 5);
    assert_true(json_is_string(v));
    char *s = pt_tune_payload_convert(v, NULL, NULL);
    assert_string_equal(s, "\"hello\"");
    free(s);
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_js_numbers),
        cmocka_unit_test(test_js_stringify),
        cmocka_unit_test(test_quote_utf8),
        cmocka_unit_test(test_convert_payload),
        cmocka_unit_test(test_convert_plain_string),
        cmocka_unit_test(test_truthy_and_weighted),
        cmocka_unit_test(test_allocation_vectors),
        cmocka_unit_test(test_allocation_overflow),
        cmocka_unit_test(test_generate_weighted_blocks),
        cmocka_unit_test(test_generate_plain_and_falsy),
        cmocka_unit_test(test_s3_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
