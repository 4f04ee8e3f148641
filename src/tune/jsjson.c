#include "tune/jsjson.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"

/* JSON nesting deeper than this is refused rather than recursed into (stack safety). */
#define JS_DEPTH_MAX 512
/* "%.*e" of a double with up to 17 digits: "d.dddddddddddddddde-308" and its NUL. */
#define SCI_MAX 40

/*
 * When the p-digit decimal closest to ax (sci, "%.*e" of it) does not read back, the next
 * p-digit decimal up or down may: at a power of two the doubles below are twice as dense as
 * those above, so its rounding interval reaches further up than down (2^-24 is
 * 5.960464477539063e-8 in JavaScript, whose closest 16-digit decimal ...0625 rounds away).
 * Both neighbours cannot read back when sci does not (the interval is convex). Rewrites sci
 * to the one that does and returns true; p <= 16, so the digits fit a uint64_t.
 */
static bool neighbour_reads_back(char sci[SCI_MAX], int p, double ax)
{
    uint64_t s = 0, low = 1;
    const char *c = sci;
    for (; *c && *c != 'e'; c++)
        if (*c >= '0' && *c <= '9')
            s = s * 10 + (uint64_t)(*c - '0');
    int e = atoi(c + 1);
    for (int i = 1; i < p; i++)
        low *= 10; /* 10^(p-1): the smallest p-digit significand */
    for (int dir = -1; dir <= 1; dir += 2) {
        uint64_t t = s;
        int exp10 = e - (p - 1); /* the value is t x 10^exp10 */
        if (dir > 0) {
            t++;
        } else if (s == low) {
            t = low * 10 - 1; /* below 10^e the p-digit decimals are 10 times finer */
            exp10--;
        } else {
            t--;
        }
        char cand[48];
        snprintf(cand, sizeof(cand), "%" PRIu64 "e%d", t, exp10);
        if (strtod(cand, NULL) != ax)
            continue;
        /* Back into the "d.ddde+x" form the caller reads digits and exponent from. */
        char d[24];
        int len = snprintf(d, sizeof(d), "%" PRIu64, t);
        snprintf(sci, SCI_MAX, "%c.%se%+d", d[0], d + 1, exp10 + len - 1);
        return true;
    }
    return false;
}

size_t pt_js_number(double x, char out[PT_JS_NUMBER_MAX])
{
    if (isnan(x))
        return (size_t)snprintf(out, PT_JS_NUMBER_MAX, "NaN");
    if (isinf(x))
        return (size_t)snprintf(out, PT_JS_NUMBER_MAX, "%s", x < 0 ? "-Infinity" : "Infinity");
    if (x == 0)
        return (size_t)snprintf(out, PT_JS_NUMBER_MAX, "0"); /* -0 prints as 0 too */

    double ax = fabs(x);
    /* Shortest digits that read back to the same double (ECMA-262 Number::toString picks
     * the smallest k, then the k-digit decimal closest to x; %.*e is that closest one). */
    char sci[SCI_MAX];
    for (int p = 1; p <= 17; p++) {
        snprintf(sci, sizeof(sci), "%.*e", p - 1, ax);
        if (strtod(sci, NULL) == ax || (p < 17 && neighbour_reads_back(sci, p, ax)))
            break;
    }
    char digits[24];
    size_t k = 0;
    const char *c = sci;
    for (; *c && *c != 'e'; c++)
        if (*c >= '0' && *c <= '9')
            digits[k++] = *c;
    while (k > 1 && digits[k - 1] == '0')
        k--;
    digits[k] = '\0';
    int e = atoi(c + 1);
    int n = e + 1; /* the value is 0.digits x 10^n */

    char *o = out;
    if (x < 0)
        *o++ = '-';
    if ((int)k <= n && n <= 21) {
        memcpy(o, digits, k);
        o += k;
        for (int i = 0; i < n - (int)k; i++)
            *o++ = '0';
    } else if (0 < n && n <= 21) {
        memcpy(o, digits, (size_t)n);
        o += n;
        *o++ = '.';
        memcpy(o, digits + n, k - (size_t)n);
        o += k - (size_t)n;
    } else if (-6 < n && n <= 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -n; i++)
            *o++ = '0';
        memcpy(o, digits, k);
        o += k;
    } else {
        *o++ = digits[0];
        if (k > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, k - 1);
            o += k - 1;
        }
        o += sprintf(o, "e%c%d", n - 1 < 0 ? '-' : '+', abs(n - 1));
    }
    *o = '\0';
    return (size_t)(o - out);
}

int pt_js_quote(const char *s, size_t n, struct pt_buf *out, struct pt_error *err)
{
    static const char hex[] = "0123456789abcdef";
    char chunk[256];
    size_t used = 0;
    int rc = 0;

    chunk[used++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc[7];
        size_t elen = 0;
        if (ch >= 0x80) {
            /* Text from C (error types, names) may be ill-formed: U+FFFD per bad byte, so
             * the file stays valid JSON (a JavaScript string never holds such bytes). */
            size_t len = pt_utf8_seq((const unsigned char *)s + i, n - i);
            if (len == 0) {
                memcpy(esc, "\xef\xbf\xbd", 3);
                elen = 3;
            } else {
                memcpy(esc, s + i, len);
                elen = len;
                i += len - 1;
            }
            goto add;
        }
        switch (ch) {
        case '"': memcpy(esc, "\\\"", 2); elen = 2; break;
        case '\\': memcpy(esc, "\\\\", 2); elen = 2; break;
        case '\b': memcpy(esc, "\\b", 2); elen = 2; break;
        case '\f': memcpy(esc, "\\f", 2); elen = 2; break;
        case '\n': memcpy(esc, "\\n", 2); elen = 2; break;
        case '\r': memcpy(esc, "\\r", 2); elen = 2; break;
        case '\t': memcpy(esc, "\\t", 2); elen = 2; break;
        default:
            if (ch < 0x20) {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[ch >> 4];
                esc[5] = hex[ch & 15];
                elen = 6;
            } else {
                esc[0] = (char)ch;
                elen = 1;
            }
        }
    add:
        if (used + elen > sizeof(chunk)) {
            if ((rc = pt_buf_append(out, chunk, used, err)) < 0)
                return rc;
            used = 0;
        }
        memcpy(chunk + used, esc, elen);
        used += elen;
    }
    if (used + 1 > sizeof(chunk)) {
        if ((rc = pt_buf_append(out, chunk, used, err)) < 0)
            return rc;
        used = 0;
    }
    chunk[used++] = '"';
    return pt_buf_append(out, chunk, used, err);
}

double pt_js_json_number(const json_t *v)
{
    if (json_is_integer(v))
        return (double)json_integer_value(v);
    return json_real_value(v);
}

/* An array-index property name: "0" or [1-9][0-9]* below 2^32 - 1 (ECMA-262 6.1.7). */
static bool index_key(const char *k, size_t len, uint64_t *value)
{
    if (len == 0 || len > 10 || (len > 1 && k[0] == '0'))
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (k[i] < '0' || k[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(k[i] - '0');
    }
    if (v >= 4294967295ULL)
        return false;
    *value = v;
    return true;
}

struct js_key {
    const char *key;
    size_t len;
    const json_t *value;
    bool is_index;
    uint64_t index;
    size_t pos; /* insertion position, for a stable order among the others */
};

static int key_cmp(const void *pa, const void *pb)
{
    const struct js_key *a = pa, *b = pb;
    if (a->is_index != b->is_index)
        return a->is_index ? -1 : 1;
    if (a->is_index)
        return a->index < b->index ? -1 : a->index > b->index;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

static int newline_indent(struct pt_buf *out, int indent, int level, struct pt_error *err)
{
    int rc = pt_buf_append(out, "\n", 1, err);
    for (int i = 0; rc == 0 && i < indent * level; i++)
        rc = pt_buf_append(out, " ", 1, err);
    return rc;
}

static int stringify(const json_t *v, int indent, int level, struct pt_buf *out,
                     struct pt_error *err)
{
    char num[PT_JS_NUMBER_MAX];
    if (level > JS_DEPTH_MAX)
        return pt_error_set(err, PT_ELIMIT, "JSON nested deeper than %d levels", JS_DEPTH_MAX);

    switch (json_typeof(v)) {
    case JSON_NULL:
        return pt_buf_append(out, "null", 4, err);
    case JSON_TRUE:
        return pt_buf_append(out, "true", 4, err);
    case JSON_FALSE:
        return pt_buf_append(out, "false", 5, err);
    case JSON_INTEGER:
    case JSON_REAL: {
        double d = pt_js_json_number(v);
        if (!isfinite(d)) /* JSON.stringify(NaN) is null */
            return pt_buf_append(out, "null", 4, err);
        size_t n = pt_js_number(d, num);
        return pt_buf_append(out, num, n, err);
    }
    case JSON_STRING:
        return pt_js_quote(json_string_value(v), json_string_length(v), out, err);
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        if (n == 0)
            return pt_buf_append(out, "[]", 2, err);
        int rc = pt_buf_append(out, "[", 1, err);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            if (i > 0)
                rc = pt_buf_append(out, ",", 1, err);
            if (rc == 0 && indent > 0)
                rc = newline_indent(out, indent, level + 1, err);
            if (rc == 0)
                rc = stringify(json_array_get(v, i), indent, level + 1, out, err);
        }
        if (rc == 0 && indent > 0)
            rc = newline_indent(out, indent, level, err);
        if (rc == 0)
            rc = pt_buf_append(out, "]", 1, err);
        return rc;
    }
    case JSON_OBJECT: {
        size_t n = json_object_size(v);
        if (n == 0)
            return pt_buf_append(out, "{}", 2, err);
        struct js_key *keys = calloc(n, sizeof(*keys));
        if (!keys)
            return pt_error_set(err, PT_ENOMEM, "out of memory serialising JSON");
        size_t i = 0;
        const char *key;
        size_t key_len;
        json_t *value;
        json_object_keylen_foreach((json_t *)v, key, key_len, value)
        {
            if (i == n)
                break;
            keys[i] = (struct js_key){.key = key, .len = key_len, .value = value, .pos = i};
            keys[i].is_index = index_key(key, key_len, &keys[i].index);
            i++;
        }
        qsort(keys, i, sizeof(*keys), key_cmp);
        int rc = pt_buf_append(out, "{", 1, err);
        for (size_t j = 0; rc == 0 && j < i; j++) {
            if (j > 0)
                rc = pt_buf_append(out, ",", 1, err);
            if (rc == 0 && indent > 0)
                rc = newline_indent(out, indent, level + 1, err);
            if (rc == 0)
                rc = pt_js_quote(keys[j].key, keys[j].len, out, err);
            if (rc == 0)
                rc = pt_buf_append(out, indent > 0 ? ": " : ":", indent > 0 ? 2 : 1, err);
            if (rc == 0)
                rc = stringify(keys[j].value, indent, level + 1, out, err);
        }
        if (rc == 0 && indent > 0)
            rc = newline_indent(out, indent, level, err);
        if (rc == 0)
            rc = pt_buf_append(out, "}", 1, err);
        free(keys);
        return rc;
    }
    }
    return pt_error_set(err, PT_EUSAGE, "unknown JSON value type");
}

int pt_js_stringify(const json_t *v, int indent, struct pt_buf *out, struct pt_error *err)
{
    if (!v)
        return pt_buf_append(out, "null", 4, err);
    return stringify(v, indent < 0 ? 0 : indent > 10 ? 10 : indent, 0, out, err);
}
