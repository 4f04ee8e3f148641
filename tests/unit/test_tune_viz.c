/*
 * test_tune_viz.c - the lambda-power-tuning.show URL, byte for byte (power-tuning.md 5).
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

#define BASE "https://lambda-power-tuning.show/"

static void test_unit_vector(void **state)
{
    (void)state;
    /* Given out of order: the URL sorts by power. */
    const struct pt_viz_point p[] = {{3, 1, 2}, {1, 2, 3}, {2, 2, 2}};
    char *url = NULL;
    assert_int_equal(pt_viz_url(NULL, false, p, 3, &url, NULL), 0);
    assert_string_equal(url, BASE "#AQACAAMA;AAAAQAAAAEAAAIA/;AABAQAAAAEAAAABA");
    free(url);
    assert_int_equal(pt_viz_url("https://example.test/", true, p, 3, &url, NULL), 0);
    assert_string_equal(url, "https://example.test/?currency=CNY#AQACAAMA;AAAAQAAAAEAAAIA/;AABAQAAAAEAAAABA");
    free(url);
    /* 128 alone is bytes 80 00: "gAA=". */
    const struct pt_viz_point one = {128, 1, 1};
    assert_int_equal(pt_viz_url(NULL, false, &one, 1, &url, NULL), 0);
    assert_true(strncmp(url, BASE "#gAA=;", strlen(BASE "#gAA=;")) == 0);
    free(url);
    assert_int_equal(pt_viz_url(NULL, false, NULL, 0, &url, NULL), 0);
    assert_string_equal(url, BASE "#;;");
    free(url);
}

/* Decodes a URL, checks the values, re-encodes the decoded float32 values to the same text. */
static void roundtrip(const char *hash, const int *powers, const double *durations,
                      const double *costs, size_t n)
{
    struct pt_viz_decoded d;
    struct pt_error err;
    char url[512];
    snprintf(url, sizeof(url), BASE "#%s", hash);
    assert_int_equal(pt_viz_decode(url, &d, &err), 0);
    assert_int_equal(d.na, n);
    assert_int_equal(d.nb, 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(d.a[i].power, powers[i]);
        /* float32 keeps ~7 digits: compare relatively. */
        assert_true(fabs(d.a[i].duration - durations[i]) <= 1e-6 * durations[i] + 0.005);
        assert_true(fabs(d.a[i].cost - costs[i]) <= 1e-6 * costs[i] + 1e-12);
    }
    char *again = NULL;
    assert_int_equal(pt_viz_url(NULL, false, d.a, d.na, &again, &err), 0);
    assert_string_equal(again, url);
    free(again);
    pt_viz_decoded_free(&d);
}

static void test_readme_links(void **state)
{
    (void)state;
    const int p1[] = {128, 256, 512, 1024, 1536, 3008};
    const double d1[] = {37002.40, 18647.77, 8489.44, 3890.89, 2512.23, 2009.79};
    const double c1[] = {7.7168e-5, 7.7792e-5, 7.072e-5, 6.4896e-5, 6.4896e-5, 1.02648e-4};
    roundtrip("gAAAAQACAAQABsAL;ZooQR4yvkUa/pQRGRC5zRaADHUVjOftE;QdWhOEMkoziDT5Q4xhiIOMYYiDi6RNc4",
              p1, d1, c1, 6);
    const int p2[] = {128, 256, 378, 512, 1024};
    const double d2[] = {1177.15, 611.99, 399.56, 277.91, 158.21};
    const double c2[] = {2.496e-6, 2.912e-6, 2.457e-6, 2.496e-6, 3.328e-6};
    roundtrip("gAAAAXoBAAIABA==;6CSTRJP/GERBx8dD6PSKQ+g0HkM=;9IAnNsdrQzbw4iQ29IAnNptWXzY=", p2, d2, c2,
              5);
}

static void test_compare_form(void **state)
{
    (void)state;
    const struct pt_viz_point a[] = {{1, 2, 3}, {2, 2, 2}, {3, 1, 2}};
    const struct pt_viz_point b[] = {{128, 1, 1}};
    char *url = NULL;
    struct pt_error err;
    assert_int_equal(pt_viz_url_compare(NULL, false, a, 3, b, 1, "run A (x86) é;#", "B", &url, &err), 0);
    /* legend: encodeURIComponent as node prints it */
    assert_string_equal(url, BASE "#AQACAAMA;AAAAQAAAAEAAAIA/;AABAQAAAAEAAAABA;gAA=;AACAPw==;"
                              "AACAPw==;run%20A%20(x86)%20%C3%A9%3B%23;B");
    struct pt_viz_decoded d;
    assert_int_equal(pt_viz_decode(url, &d, &err), 0);
    assert_int_equal(d.na, 3);
    assert_int_equal(d.nb, 1);
    assert_int_equal(d.b[0].power, 128);
    assert_string_equal(d.legend1, "run A (x86) é;#");
    assert_string_equal(d.legend2, "B");
    pt_viz_decoded_free(&d);
    free(url);
}

static void test_decode_errors(void **state)
{
    (void)state;
    struct pt_viz_decoded d;
    struct pt_error err;
    assert_int_equal(pt_viz_decode(BASE "#AQACAAMA;AAAAQAAAAEAAAIA/", &d, &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "2 ';'-separated parts"));
    assert_int_equal(pt_viz_decode(BASE "#AQACAAMA;AAAAQAAAAEAAAIA/;AABA", &d, &err), PT_EUSAGE);
    assert_int_equal(pt_viz_decode(BASE "#AQ!!;AAAA;AAAA", &d, &err), PT_EUSAGE);
    /* Fragment alone, and the CNY flag. */
    assert_int_equal(pt_viz_decode("AQACAAMA;AAAAQAAAAEAAAIA/;AABAQAAAAEAAAABA", &d, &err), 0);
    assert_false(d.cny);
    pt_viz_decoded_free(&d);
    assert_int_equal(pt_viz_decode(BASE "?currency=CNY#AQACAAMA;AAAAQAAAAEAAAIA/;AABAQAAAAEAAAABA",
                                   &d, &err), 0);
    assert_true(d.cny);
    pt_viz_decoded_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unit_vector),
        cmocka_unit_test(test_readme_links),
        cmocka_unit_test(test_compare_form),
        cmocka_unit_test(test_decode_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
