/*
 * encode.c - base64 and SHA-256 on OpenSSL, Lambda's timestamp format,
 * percent-decoding and query parameters.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api_internal.h"
#include "base/clock.h"
#include "base/str.h"

char *api_base64_encode(const void *data, size_t n)
{
    if (n > (size_t)INT32_MAX / 2)
        return NULL;
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (!out)
        return NULL;
    EVP_EncodeBlock((unsigned char *)out, data, (int)n);
    return out;
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/*
 * Written out rather than EVP_DecodeBlock, which neither reports the padding
 * (the length comes out rounded up) nor refuses data after '='.
 */
int api_base64_decode(const char *s, size_t n, unsigned char **out, size_t *out_len)
{
    unsigned char *o = malloc(n / 4 * 3 + 3);
    if (!o)
        return -1;
    size_t len = 0;
    unsigned acc = 0;
    int bits = 0, pad = 0;
    size_t symbols = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        symbols++;
        if (c == '=') {
            pad++;
            continue;
        }
        int v = b64_value(c);
        if (v < 0 || pad) {
            free(o);
            return -1;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[len++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (pad > 2 || (pad && symbols % 4) || (!pad && symbols % 4 == 1)) {
        free(o);
        return -1;
    }
    *out = o;
    *out_len = len;
    return 0;
}

void api_sha256_base64(const void *data, size_t n, char out[API_SHA_B64_MAX])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    out[0] = '\0';
    if (EVP_Digest(data, n, md, &md_len, EVP_sha256(), NULL) != 1)
        return;
    EVP_EncodeBlock((unsigned char *)out, md, (int)md_len);
}

void api_revision_derive(const char *revision_id, int epoch, char out[37])
{
    char in[64];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    int n = snprintf(in, sizeof(in), "%.36s/%d", revision_id, epoch);
    if (EVP_Digest(in, (size_t)n, md, &md_len, EVP_sha256(), NULL) != 1) {
        pt_strlcpy(out, revision_id, 37);
        return;
    }
    md[6] = (unsigned char)((md[6] & 0x0f) | 0x40); /* version 4, variant 1: as pt_uuid4's */
    md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", md[0], md[1],
             md[2], md[3], md[4], md[5], md[6], md[7], md[8], md[9], md[10], md[11], md[12], md[13],
             md[14], md[15]);
}

void api_last_modified_now(char out[32])
{
    int64_t ms = pt_epoch_ms();
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    if ((size_t)snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03d+0000", tm.tm_year + 1900,
                         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                         (int)(ms % 1000)) >= 32)
        out[31] = '\0'; /* years past 9999 only */
}

int api_percent_decode(const char *s, size_t n, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            int h = i + 1 < n ? pt_hex_value(s[i + 1]) : -1;
            int l = i + 2 < n ? pt_hex_value(s[i + 2]) : -1;
            if (h < 0 || l < 0)
                return -1;
            c = (char)(h * 16 + l);
            i += 2;
        }
        if (c == '\0' || o + 1 >= size)
            return -1;
        out[o++] = c;
    }
    if (size == 0)
        return -1;
    out[o] = '\0';
    return 0;
}

int api_query_get(const char *query, const char *name, char *out, size_t size)
{
    if (!query)
        return 0;
    size_t nl = strlen(name);
    const char *p = query;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        char key[128];
        if (klen < sizeof(key) && api_percent_decode(p, klen, key, sizeof(key)) == 0 &&
            strlen(key) == nl && strcmp(key, name) == 0) {
            if (!eq) {
                if (size)
                    out[0] = '\0';
                return 1;
            }
            return api_percent_decode(eq + 1, len - klen - 1, out, size) == 0 ? 1 : -1;
        }
        p += len;
        if (*p == '&')
            p++;
    }
    return 0;
}

int64_t api_mono_ms(void)
{
    return pt_mono_ns() / 1000000;
}
