/*
 * viz.c - the lambda-power-tuning.show URL (power-tuning.md 5): utils.buildVisualizationURL
 * and the UI's 8-part comparison form, byte for byte; and a decoder for both.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "tune/tune.h"
#include "base/str.h"

/* Points in a URL: far more than Lambda's 10113 possible sizes would be a caller bug. */
#define VIZ_POINTS_MAX 20000
/* A URL we are asked to decode (another run's output): bounded before decoding. */
#define VIZ_URL_MAX (1024 * 1024)

static int cmp_power(const void *pa, const void *pb)
{
    const struct pt_viz_point *a = *(const struct pt_viz_point *const *)pa;
    const struct pt_viz_point *b = *(const struct pt_viz_point *const *)pb;
    if (a->power != b->power)
        return a->power < b->power ? -1 : 1;
    return a < b ? -1 : a > b; /* stable: original position */
}

static int b64_append(struct pt_buf *out, const unsigned char *bytes, size_t n, struct pt_error *err)
{
    if (n == 0)
        return 0; /* Buffer.from([]).toString('base64') is "" */
    size_t enc_len = 4 * ((n + 2) / 3);
    unsigned char *enc = malloc(enc_len + 1);
    if (!enc)
        return pt_error_set(err, PT_ENOMEM, "out of memory encoding the visualization");
    int len = EVP_EncodeBlock(enc, bytes, (int)n);
    int rc = pt_buf_append(out, enc, (size_t)len, err);
    free(enc);
    return rc;
}

/* The three parts P;D;C of one run, appended to out. */
static int encode_run(const struct pt_viz_point *pts, size_t n, struct pt_buf *out,
                      struct pt_error *err)
{
    if (n > VIZ_POINTS_MAX)
        return pt_error_set(err, PT_ELIMIT, "visualization: %zu points; allowed at most %d", n,
                            VIZ_POINTS_MAX);
    int rc = 0;
    const struct pt_viz_point **sorted = malloc((n ? n : 1) * sizeof(*sorted));
    unsigned char *bytes = malloc(n ? 4 * n : 1);
    if (!sorted || !bytes) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory encoding the visualization");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        sorted[i] = &pts[i];
    /* stats.sort((p1, p2) => p1.power - p2.power), stable. */
    qsort(sorted, n, sizeof(*sorted), cmp_power);

    /* new Int16Array(sizes): ToInt16 wraps modulo 2^16; bytes little-endian. */
    for (size_t i = 0; i < n; i++) {
        uint16_t v = (uint16_t)(unsigned)sorted[i]->power;
        bytes[2 * i] = (unsigned char)(v & 0xff);
        bytes[2 * i + 1] = (unsigned char)(v >> 8);
    }
    if ((rc = b64_append(out, bytes, 2 * n, err)) < 0 || (rc = pt_buf_append(out, ";", 1, err)) < 0)
        goto out;
    for (int part = 0; part < 2; part++) {
        /* new Float32Array(list): round to nearest float32, bytes little-endian. */
        for (size_t i = 0; i < n; i++) {
            float f = (float)(part == 0 ? sorted[i]->duration : sorted[i]->cost);
            uint32_t u;
            memcpy(&u, &f, sizeof(u));
            for (int b = 0; b < 4; b++)
                bytes[4 * i + (size_t)b] = (unsigned char)(u >> (8 * b));
        }
        if ((rc = b64_append(out, bytes, 4 * n, err)) < 0)
            goto out;
        if (part == 0 && (rc = pt_buf_append(out, ";", 1, err)) < 0)
            goto out;
    }
out:
    free(sorted);
    free(bytes);
    return rc;
}

static int url_prefix(const char *base, bool cny, struct pt_buf *out, struct pt_error *err)
{
    int rc = pt_buf_append_str(out, base ? base : PT_TUNE_VIZ_BASE_URL, err);
    if (rc == 0 && cny)
        rc = pt_buf_append_str(out, "?currency=CNY", err);
    if (rc == 0)
        rc = pt_buf_append(out, "#", 1, err);
    return rc;
}

int pt_viz_url(const char *base, bool cny, const struct pt_viz_point *pts, size_t n, char **out,
               struct pt_error *err)
{
    struct pt_buf b;
    pt_buf_init(&b, 0);
    int rc = url_prefix(base, cny, &b, err);
    if (rc == 0)
        rc = encode_run(pts, n, &b, err);
    if (rc < 0) {
        pt_buf_free(&b);
        return rc;
    }
    *out = pt_buf_steal(&b, NULL);
    return *out ? 0 : pt_error_set(err, PT_ENOMEM, "out of memory for the visualization URL");
}

int pt_uri_encode_component(const char *s, struct pt_buf *out, struct pt_error *err)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && rc == 0; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            strchr("-_.!~*'()", *p)) {
            rc = pt_buf_append(out, p, 1, err);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            rc = pt_buf_append(out, e, 3, err);
        }
    }
    return rc;
}

int pt_viz_url_compare(const char *base, bool cny, const struct pt_viz_point *a, size_t na,
                       const struct pt_viz_point *b, size_t nb, const char *legend1,
                       const char *legend2, char **out, struct pt_error *err)
{
    struct pt_buf u;
    pt_buf_init(&u, 0);
    int rc = url_prefix(base, cny, &u, err);
    if (rc == 0)
        rc = encode_run(a, na, &u, err);
    if (rc == 0)
        rc = pt_buf_append(&u, ";", 1, err);
    if (rc == 0)
        rc = encode_run(b, nb, &u, err);
    if (rc == 0)
        rc = pt_buf_append(&u, ";", 1, err);
    if (rc == 0)
        rc = pt_uri_encode_component(legend1 ? legend1 : "", &u, err);
    if (rc == 0)
        rc = pt_buf_append(&u, ";", 1, err);
    if (rc == 0)
        rc = pt_uri_encode_component(legend2 ? legend2 : "", &u, err);
    if (rc < 0) {
        pt_buf_free(&u);
        return rc;
    }
    *out = pt_buf_steal(&u, NULL);
    return *out ? 0 : pt_error_set(err, PT_ENOMEM, "out of memory for the visualization URL");
}

/* --- decoding --- */

/* Standard base64 with optional padding (the UI's atob accepts both). */
static int b64_decode(const char *s, size_t n, unsigned char **out, size_t *out_len,
                      struct pt_error *err)
{
    *out = NULL;
    *out_len = 0;
    char *padded = malloc(n + 4);
    unsigned char *bytes = malloc(3 * ((n + 3) / 4) + 1);
    int rc = 0;
    if (!padded || !bytes) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory decoding the visualization");
        goto out;
    }
    memcpy(padded, s, n);
    size_t len = n;
    while (len % 4)
        padded[len++] = '=';
    size_t pad = 0;
    while (pad < len && pad < 2 && padded[len - 1 - pad] == '=')
        pad++;
    int dec = len ? EVP_DecodeBlock(bytes, (unsigned char *)padded, (int)len) : 0;
    if (dec < 0 || (size_t)dec < pad) {
        rc = pt_error_set(err, PT_EUSAGE, "visualization: \"%.*s\" is not base64", (int)(n > 64 ? 64 : n), s);
        goto out;
    }
    /* EVP_DecodeBlock counts the padding as zero bytes; drop them. */
    *out_len = (size_t)dec - pad;
    *out = bytes;
    bytes = NULL;
out:
    free(padded);
    free(bytes);
    return rc;
}

static int decode_run(char *const parts[3], const size_t lens[3], struct pt_viz_point **pts,
                      size_t *n, struct pt_error *err)
{
    unsigned char *raw[3] = {NULL, NULL, NULL};
    size_t rlen[3] = {0, 0, 0};
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++)
        rc = b64_decode(parts[i], lens[i], &raw[i], &rlen[i], err);
    if (rc < 0)
        goto out;
    if (rlen[0] % 2 || rlen[1] != 2 * rlen[0] || rlen[2] != 2 * rlen[0]) {
        rc = pt_error_set(err, PT_EUSAGE,
                          "visualization: part lengths %zu/%zu/%zu bytes do not describe the same "
                          "power values (2 bytes per power, 4 per duration and cost)",
                          rlen[0], rlen[1], rlen[2]);
        goto out;
    }
    *n = rlen[0] / 2;
    *pts = calloc(*n ? *n : 1, sizeof(**pts));
    if (!*pts) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory decoding the visualization");
        goto out;
    }
    for (size_t i = 0; i < *n; i++) {
        (*pts)[i].power = (int16_t)(uint16_t)(raw[0][2 * i] | raw[0][2 * i + 1] << 8);
        for (int part = 1; part <= 2; part++) {
            const unsigned char *b = raw[part] + 4 * i;
            uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                         (uint32_t)b[3] << 24;
            float f;
            memcpy(&f, &u, sizeof(f));
            if (part == 1)
                (*pts)[i].duration = f;
            else
                (*pts)[i].cost = f;
        }
    }
out:
    for (int i = 0; i < 3; i++)
        free(raw[i]);
    return rc;
}

/* decodeURIComponent of a legend (bytes; the legend is shown, not interpreted). */
static int uri_decode(const char *s, size_t n, char **out, struct pt_error *err)
{
    char *d = malloc(n + 1);
    if (!d)
        return pt_error_set(err, PT_ENOMEM, "out of memory decoding the visualization");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            d[k++] = s[i];
            continue;
        }
        int hi = i + 2 < n ? pt_hex_value(s[i + 1]) : -1;
        int lo = i + 2 < n ? pt_hex_value(s[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
            free(d);
            return pt_error_set(err, PT_EUSAGE, "visualization: malformed %%-escape in a legend");
        }
        d[k++] = (char)(hi * 16 + lo);
        i += 2;
    }
    d[k] = '\0';
    *out = d;
    return 0;
}

void pt_viz_decoded_free(struct pt_viz_decoded *d)
{
    if (!d)
        return;
    free(d->a);
    free(d->b);
    free(d->legend1);
    free(d->legend2);
    memset(d, 0, sizeof(*d));
}

int pt_viz_decode(const char *url, struct pt_viz_decoded *out, struct pt_error *err)
{
    memset(out, 0, sizeof(*out));
    size_t ulen = strnlen(url, VIZ_URL_MAX + 1);
    if (ulen > VIZ_URL_MAX)
        return pt_error_set(err, PT_ELIMIT, "visualization: URL longer than %d bytes", VIZ_URL_MAX);
    const char *hash = strchr(url, '#');
    const char *frag = hash ? hash + 1 : url;
    out->cny = hash && memmem(url, (size_t)(hash - url), "currency=CNY", 12) != NULL;

    char *parts[8];
    size_t lens[8];
    size_t n = 0;
    const char *p = frag;
    for (;;) {
        const char *semi = strchr(p, ';');
        size_t len = semi ? (size_t)(semi - p) : strlen(p);
        if (n == 8)
            return pt_error_set(err, PT_EUSAGE, "visualization: more than 8 ';'-separated parts");
        parts[n] = (char *)p;
        lens[n] = len;
        n++;
        if (!semi)
            break;
        p = semi + 1;
    }
    if (n != 3 && n != 8)
        return pt_error_set(err, PT_EUSAGE,
                            "visualization: %zu ';'-separated parts; allowed 3 (one run) or 8 "
                            "(comparison)",
                            n);
    int rc = decode_run(parts, lens, &out->a, &out->na, err);
    if (rc == 0 && n == 8)
        rc = decode_run(parts + 3, lens + 3, &out->b, &out->nb, err);
    if (rc == 0 && n == 8)
        rc = uri_decode(parts[6], lens[6], &out->legend1, err);
    if (rc == 0 && n == 8)
        rc = uri_decode(parts[7], lens[7], &out->legend2, err);
    if (rc < 0)
        pt_viz_decoded_free(out);
    return rc;
}
