/*
 * payload.c - the reference's payload rules: convertPayload, isWeightedPayload,
 * generatePayloads (power-tuning.md 1.1, 1.4).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tune/jsjson.h"
#include "tune/tune.h"

/* Payload texts are bounded like an Invoke request body (6 MB synchronous limit). */
#define PAYLOAD_TEXT_MAX (6u * 1024 * 1024)

bool pt_tune_json_truthy(const json_t *v)
{
    if (!v)
        return false;
    switch (json_typeof(v)) {
    case JSON_NULL:
    case JSON_FALSE:
        return false;
    case JSON_TRUE:
    case JSON_OBJECT:
    case JSON_ARRAY: /* [] and {} are truthy in JavaScript */
        return true;
    case JSON_STRING:
        return json_string_length(v) > 0;
    case JSON_INTEGER:
    case JSON_REAL: {
        double d = pt_js_json_number(v);
        return d != 0 && !isnan(d);
    }
    }
    return false;
}

bool pt_tune_payload_is_weighted(const json_t *payload)
{
    if (!json_is_array(payload) || json_array_size(payload) == 0)
        return false;
    size_t i;
    json_t *item;
    json_array_foreach(payload, i, item)
    {
        /* The reference reads p.weight of every element: a non-object has no such
         * property (and null would throw there; here it simply is not weighted). */
        if (!json_is_object(item))
            return false;
        if (!pt_tune_json_truthy(json_object_get(item, "weight")) ||
            !pt_tune_json_truthy(json_object_get(item, "payload")))
            return false;
    }
    return true;
}

/* JSON.parse(s) succeeds: any JSON value with optional surrounding whitespace. */
static bool is_json_text(const char *s, size_t n)
{
    json_error_t jerr;
    json_t *v = json_loadb(s, n, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL,
                           &jerr);
    if (!v)
        return false;
    json_decref(v);
    return true;
}

static int convert(const json_t *value, char **out, size_t *len, struct pt_error *err)
{
    struct pt_buf b;
    pt_buf_init(&b, PAYLOAD_TEXT_MAX);
    int rc;

    if (json_is_string(value) && is_json_text(json_string_value(value), json_string_length(value)))
        rc = pt_buf_append(&b, json_string_value(value), json_string_length(value), err);
    else
        rc = pt_js_stringify(value, 0, &b, err); /* NULL: JSON.stringify(null) = "null" */
    if (rc == 0 && !b.data)
        rc = pt_buf_append(&b, "", 0, err);
    if (rc < 0) {
        pt_error_wrap(err, "payload");
        pt_buf_free(&b);
        return rc;
    }
    *out = pt_buf_steal(&b, len);
    return *out ? 0 : pt_error_set(err, PT_ENOMEM, "out of memory converting a payload");
}

char *pt_tune_payload_convert(const json_t *value, size_t *len, struct pt_error *err)
{
    char *s = NULL;
    return convert(value, &s, len, err) < 0 ? NULL : s;
}

int pt_tune_payload_allocate(const double *weights, size_t n, long num, long *counts,
                             struct pt_error *err)
{
    if (num < (long)n)
        return pt_error_set(err, PT_EUSAGE,
                            "You have %zu payloads and only \"num\"=%ld. Please increase \"num\".",
                            n, num);
    /* Relative weights: reduce((a, b) => a + b, 0), left to right. */
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += weights[i];
    long done = 0;
    for (size_t i = 0; i < n; i++) {
        /* Math.floor(p.weight * num / total): (weight x num) / total, in that order. */
        double how_many = floor(weights[i] * (double)num / total);
        if (!(how_many >= 1))
            return pt_error_set(err, PT_EUSAGE, "Invalid payload weight (num is too small)");
        /* Exact arithmetic leaves at least one invocation for each later payload, but
         * weight x num overflows to Infinity for a weight near 1e308 (the reference would
         * fill a block of Infinity payloads), and Infinity does not fit a long: refuse any
         * share that leaves the others less than one each. */
        if (i < n - 1 && how_many > (double)(num - done - (long)(n - 1 - i)))
            return pt_error_set(err, PT_EUSAGE,
                                "Invalid payload weight (payload[%zu].weight %g x num %ld leaves "
                                "the other payloads less than one invocation each; weights are "
                                "relative: allowed smaller ones in the same proportions)",
                                i, weights[i], num);
        counts[i] = i == n - 1 ? num - done : (long)how_many;
        done += counts[i];
    }
    return 0;
}

void pt_tune_payloads_free(struct pt_tune_payloads *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_texts; i++)
        free(p->texts[i]);
    free(p->texts);
    free(p->text_len);
    free(p->payload_of);
    memset(p, 0, sizeof(*p));
}

int pt_tune_payloads_generate(const json_t *payload, long num, struct pt_tune_payloads *out,
                              struct pt_error *err)
{
    memset(out, 0, sizeof(*out));
    double *weights = NULL;
    long *counts = NULL;
    int rc = 0;

    if (num < 1 || num > PT_TUNE_NUM_MAX) {
        rc = pt_error_set(err, PT_EUSAGE, "num: %ld; allowed an integer from 1 to %d", num,
                          PT_TUNE_NUM_MAX);
        goto out;
    }
    /* Falsy payloads (0, "", false, null, absent) are sent as null, as the reference does. */
    const json_t *value = pt_tune_json_truthy(payload) ? payload : NULL;
    bool weighted = pt_tune_payload_is_weighted(value);
    size_t n = weighted ? json_array_size(value) : 1;

    out->num = num;
    out->texts = calloc(n, sizeof(*out->texts));
    out->text_len = calloc(n, sizeof(*out->text_len));
    out->payload_of = calloc((size_t)num, sizeof(*out->payload_of));
    weights = calloc(n, sizeof(*weights));
    counts = calloc(n, sizeof(*counts));
    if (!out->texts || !out->text_len || !out->payload_of || !weights || !counts) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory generating %ld payloads", num);
        goto out;
    }
    if (!weighted) {
        counts[0] = num;
    } else {
        for (size_t i = 0; i < n; i++) {
            const json_t *w = json_object_get(json_array_get(value, i), "weight");
            /* The reference would concatenate string weights ("5" + "10"); refuse them. */
            if (!json_is_number(w) || !(pt_js_json_number(w) > 0) ||
                !isfinite(pt_js_json_number(w))) {
                rc = pt_error_set(err, PT_EUSAGE,
                                  "payload[%zu].weight: not a positive number; allowed a number "
                                  "> 0 (weights are relative)",
                                  i);
                goto out;
            }
            weights[i] = pt_js_json_number(w);
        }
        if ((rc = pt_tune_payload_allocate(weights, n, num, counts, err)) < 0)
            goto out;
    }
    long done = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *item = weighted ? json_object_get(json_array_get(value, i), "payload") : value;
        if ((rc = convert(item, &out->texts[i], &out->text_len[i], err)) < 0)
            goto out;
        out->n_texts = i + 1;
        for (long j = 0; j < counts[i]; j++)
            out->payload_of[done + j] = (int)i;
        done += counts[i];
    }
out:
    free(weights);
    free(counts);
    if (rc < 0)
        pt_tune_payloads_free(out);
    return rc;
}

json_t *pt_tune_payload_from_s3_body(const char *body, size_t len)
{
    json_error_t jerr;
    json_t *v = json_loadb(body, len, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL,
                           &jerr);
    if (v)
        return v;
    return json_stringn_nocheck(body, len);
}
