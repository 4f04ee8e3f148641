/*
 * fuzz_tune_payload - the payload rules of src/tune/payload.c on arbitrary bytes.
 *
 * Payloads are the user's: the execution input's "payload" (any JSON value, weighted arrays
 * included), --payload / --payload-file text (pt_tune_input_set_payload_text) and an S3
 * object's body (pt_tune_payload_from_s3_body). The first byte picks the source and two more
 * give num (out-of-range values included, to reach the refusal); the rest is the text,
 * copied into a buffer of exactly its size. Every set of payloads that is generated must
 * keep the documented shape: num entries in contiguous blocks, one block of at least one
 * invocation per text, in order, each text NUL-terminated JSON (what convertPayload sends).
 * A fourth mode feeds pt_tune_payload_allocate positive finite weights, as generate does.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tune/tune.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_payloads(const struct pt_tune_payloads *p, long num)
{
    if (p->num != num || p->n_texts == 0 || !p->texts || !p->text_len || !p->payload_of)
        abort();
    size_t next = 0; /* the block expected to start next */
    for (long i = 0; i < num; i++) {
        int k = p->payload_of[i];
        if (k < 0 || (size_t)k >= p->n_texts)
            abort();
        if ((size_t)k == next)
            next++;
        else if ((size_t)k + 1 != next)
            abort(); /* not contiguous, or a text skipped */
    }
    if (next != p->n_texts)
        abort(); /* a text with no invocation */
    for (size_t i = 0; i < p->n_texts; i++) {
        if (!p->texts[i] || p->texts[i][p->text_len[i]] != '\0')
            abort();
        json_error_t jerr;
        json_t *v = json_loadb(p->texts[i], p->text_len[i],
                               JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &jerr);
        if (!v)
            abort();
        json_decref(v);
    }
}

static void generate(const json_t *payload, long num)
{
    struct pt_tune_payloads p;
    struct pt_error err = {0};
    int rc = pt_tune_payloads_generate(payload, num, &p, &err);
    fuzz_check_rc(rc, &err);
    if (rc < 0) {
        if (p.texts || p.payload_of || p.n_texts)
            abort(); /* freed on error */
        return;
    }
    if (num < 1 || num > PT_TUNE_NUM_MAX)
        abort();
    check_payloads(&p, num);
    pt_tune_payloads_free(&p);
}

static void allocate(const uint8_t *data, size_t size, long num)
{
    double w[16];
    long counts[16];
    size_t n = 0;
    for (; n < 16 && size >= 8; n++, data += 8, size -= 8) {
        memcpy(&w[n], data, 8);
        w[n] = fabs(w[n]);
        if (!isfinite(w[n]) || w[n] == 0)
            w[n] = 1;
    }
    if (n == 0 || num < 1)
        return;
    struct pt_error err = {0};
    int rc = pt_tune_payload_allocate(w, n, num, counts, &err);
    fuzz_check_rc(rc, &err);
    if (rc == 0) {
        long sum = 0;
        for (size_t i = 0; i < n; i++) {
            if (counts[i] < 1 || counts[i] > num)
                abort();
            sum += counts[i];
        }
        if (sum != num)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    unsigned mode = data[0] % 4;
    /* num: the top three bits of the 16-bit value pick a range, mostly small ones (a large
     * num makes every run slow), then up to past PT_TUNE_NUM_MAX, then the bounds. */
    static const long bounds[] = {-1, 0, 1, 2, PT_TUNE_NUM_MAX - 1, PT_TUNE_NUM_MAX,
                                  PT_TUNE_NUM_MAX + 1, 65536};
    unsigned v = data[1] | (unsigned)data[2] << 8;
    long num = v >> 13 < 6    ? (long)(v & 0xff)
               : v >> 13 == 6 ? (long)(v & 0x1fff) * 13
                              : bounds[v % (sizeof(bounds) / sizeof(bounds[0]))];
    data += 3;
    size -= 3;
    if (mode == 3) {
        allocate(data, size, num);
        return 0;
    }
    char *text = fuzz_copy(data, size);
    if (!text)
        return 0;
    if (mode == 0) {
        /* The execution input's "payload": a parsed JSON value, numbers as doubles. */
        json_error_t jerr;
        json_t *v = json_loadb(text, size, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &jerr);
        if (v) {
            generate(v, num);
            json_decref(v);
        }
    } else if (mode == 1) {
        struct pt_tune_input in;
        pt_tune_input_init(&in);
        struct pt_error err;
        if (pt_tune_input_set_payload_text(&in, text, size, &err) == 0) {
            if (!in.payload)
                abort();
            generate(in.payload, num);
        }
        pt_tune_input_free(&in);
    } else {
        json_t *v = pt_tune_payload_from_s3_body(text, size);
        if (!v)
            abort();
        generate(v, num);
        json_decref(v);
    }
    free(text);
    return 0;
}
