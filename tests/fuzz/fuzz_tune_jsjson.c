/*
 * fuzz_tune_jsjson - JavaScript-compatible JSON text (src/tune/jsjson.c) on arbitrary bytes.
 *
 * jsjson formats what comes from outside: the user's payloads (JSON.stringify, sent to the
 * function), error types and names from functions (quoted into the samples file and the
 * output), and every figure (Number.prototype.toString). The first byte picks a mode:
 *   0: the next 8 bytes as a double: pt_js_number must fit PT_JS_NUMBER_MAX, read back
 *      (strtod, and jansson as JSON) to the same double, and be ECMA-262's digits (the
 *      fewest that read back, the closest of those);
 *   1: the rest as a JSON document: pt_js_stringify (indent from the second byte) must give
 *      JSON that parses to an equal document;
 *   2: the rest as raw bytes: pt_js_quote must give one JSON string that parses, and for
 *      well-formed UTF-8 to the same bytes (ill-formed bytes become U+FFFD);
 *   3: pt_utf8_seq must agree with jansson on whether the bytes are UTF-8.
 * Texts are copied into buffers of exactly their size.
 */
#include <fenv.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "tune/jsjson.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The significant digits of a decimal ("-0.00012e+5" -> "12"), in d; returns their count. */
static size_t sig_digits(const char *s, char d[40])
{
    size_t k = 0;
    for (; *s && *s != 'e' && k < 39; s++)
        if (*s >= '0' && *s <= '9' && (k > 0 || *s != '0'))
            d[k++] = *s;
    while (k > 1 && d[k - 1] == '0')
        k--;
    d[k] = '\0';
    return k;
}

/* "%.*e" of ax to p digits, rounded as mode says (glibc's printf honours it). */
static void sci_rounded(char out[40], int p, double ax, int mode)
{
    fesetround(mode);
    snprintf(out, 40, "%.*e", p - 1, ax);
    fesetround(FE_TONEAREST);
}

/*
 * ECMA-262 Number::toString: k, the count of digits, is as small as possible, and among the
 * k-digit decimals that read back, the closest to x is printed. Checked independently of
 * jsjson.c: a p-digit decimal reads back only if the one rounded down or the one rounded up
 * does (the doubles that read back to x form an interval around it).
 */
static void check_shortest(const char *out, double x)
{
    double ax = fabs(x);
    char got[40], d[40], lo[40], hi[40];
    size_t k = sig_digits(out, got);
    if (k > 1) {
        sci_rounded(lo, (int)k - 1, ax, FE_DOWNWARD);
        sci_rounded(hi, (int)k - 1, ax, FE_UPWARD);
        if (strtod(lo, NULL) == ax || strtod(hi, NULL) == ax)
            abort(); /* fewer digits would do */
    }
    sci_rounded(lo, (int)k, ax, FE_TONEAREST);
    sig_digits(lo, d);
    if (strtod(lo, NULL) == ax && strcmp(d, got) != 0)
        abort(); /* the closest k-digit decimal reads back but another was printed */
}

static void number(const uint8_t *data, size_t size)
{
    double x;
    if (size < sizeof(x))
        return;
    memcpy(&x, data, sizeof(x));
    char out[PT_JS_NUMBER_MAX + 8];
    memset(out, 'X', sizeof(out));
    size_t n = pt_js_number(x, out);
    if (n >= PT_JS_NUMBER_MAX || strlen(out) != n || out[PT_JS_NUMBER_MAX] != 'X')
        abort();
    if (!isfinite(x))
        return;
    char *end = NULL;
    double back = strtod(out, &end);
    if (*end || back != x)
        abort();
    check_shortest(out, x);
    json_error_t jerr;
    json_t *v = json_loadb(out, n, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &jerr);
    if (!v || !json_is_number(v) || pt_js_json_number(v) != x)
        abort();
    json_decref(v);
}

static void stringify(const char *text, size_t size, int indent)
{
    json_error_t jerr;
    const size_t flags = JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL;
    json_t *v = json_loadb(text, size, flags, &jerr);
    if (!v)
        return;
    struct pt_buf b;
    pt_buf_init(&b, 0);
    struct pt_error err;
    if (pt_js_stringify(v, indent, &b, &err) == 0) {
        json_t *back = b.data ? json_loadb(b.data, b.len, flags, &jerr) : NULL;
        if (!back || !json_equal(v, back))
            abort();
        json_decref(back);
    } else if (err.code != PT_ELIMIT) {
        abort(); /* only the nesting bound refuses */
    }
    pt_buf_free(&b);
    json_decref(v);
}

static bool well_formed(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = pt_utf8_seq((const unsigned char *)s + i, n - i);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

static void quote(const char *s, size_t n)
{
    struct pt_buf b;
    pt_buf_init(&b, 0);
    struct pt_error err;
    if (pt_js_quote(s, n, &b, &err) != 0 || !b.data)
        abort();
    json_error_t jerr;
    json_t *v = json_loadb(b.data, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!v || !json_is_string(v))
        abort();
    if (well_formed(s, n) &&
        (json_string_length(v) != n || memcmp(json_string_value(v), s, n) != 0))
        abort();
    json_decref(v);
    pt_buf_free(&b);
}

/* jansson validates UTF-8 too: both must agree on every byte string. */
static void utf8(const char *s, size_t n)
{
    json_t *v = json_stringn(s, n);
    if ((v != NULL) != well_formed(s, n))
        abort();
    json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned mode = data[0] % 4;
    int indent = (int)(data[1] % 14) - 2; /* negatives and over 10 are clamped */
    data += 2;
    size -= 2;
    if (mode == 0) {
        number(data, size);
        return 0;
    }
    char *text = fuzz_copy(data, size);
    if (!text)
        return 0;
    if (mode == 1)
        stringify(text, size, indent);
    else if (mode == 2)
        quote(text, size);
    else
        utf8(text, size);
    free(text);
    return 0;
}
