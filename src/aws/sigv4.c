/*
 * sigv4.c - AWS Signature Version 4: canonical request, string to sign,
 * signing key, signature; header and presigned forms; verification.
 *
 * Signing and verifying share one canonicalisation path (build_canonical), so
 * a request this file signs is by construction one it verifies, and the test
 * vectors exercise the server side too.
 */
#include "aws/sigv4.h"

#include "base/str.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SCOPE_TERMINATOR "aws4_request"
#define CREDENTIAL_MAX 512
#define SCOPE_MAX 200 /* date8/region/service/aws4_request with 64-char names */
#define SIGNED_HEADERS_MAX 8192
#define NAME_FIELD_MAX 65 /* region and service names */

/* ------------------------------------------------------------------ */
/* Character classes (not <ctype.h>: the locale must not change a signature). */

static bool is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

static bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 9110 token characters: what a header name may contain. */
static bool is_tchar(unsigned char c)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static bool is_lower_hex64(const char *s)
{
    size_t i;
    for (i = 0; s[i]; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return i == 64;
}

static void to_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* ------------------------------------------------------------------ */
/* Hashing on OpenSSL EVP. */

int pt_sigv4_sha256_hex(const void *data, size_t n, char out[65], struct pt_error *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!EVP_Digest(data ? data : "", n, md, &len, EVP_sha256(), NULL) || len != 32)
        return pt_error_set(err, PT_EIO, "SHA-256 failed in OpenSSL");
    to_hex(md, 32, out);
    return 0;
}

static int hmac_sha256(const void *key, size_t klen, const void *data, size_t dlen,
                       unsigned char out[32], struct pt_error *err)
{
    size_t len = 0;
    /* EVP_Q_mac: the one-shot EVP_MAC interface (HMAC_CTX is deprecated in OpenSSL 3). */
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, klen, data, dlen, out, 32, &len) ||
        len != 32)
        return pt_error_set(err, PT_EIO, "HMAC-SHA256 failed in OpenSSL");
    return 0;
}

int pt_sigv4_signature(const char *secret, const char *date8, const char *region,
                       const char *service, const char *string_to_sign, size_t sts_len,
                       char out[65], struct pt_error *err)
{
    /* kSecret = "AWS4" + secret; kDate, kRegion, kService, kSigning, then the signature. */
    char ksecret[4 + PT_AWS_SECRET_MAX];
    unsigned char k1[32], k2[32];
    int rc = 0;
    size_t slen = strlen(secret);
    if (slen >= PT_AWS_SECRET_MAX) {
        rc = pt_error_set(err, PT_EUSAGE, "secret access key longer than %d characters",
                          PT_AWS_SECRET_MAX - 1);
        goto out;
    }
    memcpy(ksecret, "AWS4", 4);
    memcpy(ksecret + 4, secret, slen);
    if ((rc = hmac_sha256(ksecret, 4 + slen, date8, strlen(date8), k1, err)) ||
        (rc = hmac_sha256(k1, 32, region, strlen(region), k2, err)) ||
        (rc = hmac_sha256(k2, 32, service, strlen(service), k1, err)) ||
        (rc = hmac_sha256(k1, 32, SCOPE_TERMINATOR, strlen(SCOPE_TERMINATOR), k2, err)) ||
        (rc = hmac_sha256(k2, 32, string_to_sign, sts_len, k1, err)))
        goto out;
    to_hex(k1, 32, out);
out:
    /* The derived keys are as good as the secret for a day: do not leave them on the stack. */
    OPENSSL_cleanse(ksecret, sizeof(ksecret));
    OPENSSL_cleanse(k1, sizeof(k1));
    OPENSSL_cleanse(k2, sizeof(k2));
    return rc;
}

/* ------------------------------------------------------------------ */
/* Dates. */

void pt_sigv4_format_date(int64_t epoch, char out[17])
{
    time_t t = (time_t)epoch;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
        memcpy(out, "19700101T000000Z", 17);
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

int pt_sigv4_parse_date(const char *s, int64_t *epoch)
{
    if (!s || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
        return -1;
    for (int i = 0; i < 15; i++)
        if (i != 8 && (s[i] < '0' || s[i] > '9'))
            return -1;
    struct tm tm = {0};
    tm.tm_year = digits(s, 4) - 1900;
    tm.tm_mon = digits(s + 4, 2) - 1;
    tm.tm_mday = digits(s + 6, 2);
    tm.tm_hour = digits(s + 9, 2);
    tm.tm_min = digits(s + 11, 2);
    tm.tm_sec = digits(s + 13, 2);
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    /* timegm normalises "20150230": a round trip refuses dates that do not exist. */
    char back[17];
    pt_sigv4_format_date((int64_t)t, back);
    if (strcmp(back, s) != 0)
        return -1;
    *epoch = (int64_t)t;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Encoding. */

int pt_sigv4_uri_encode(struct pt_buf *out, const char *s, size_t n, bool keep_slash,
                        struct pt_error *err)
{
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int rc;
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            rc = pt_buf_append(out, &s[i], 1, err);
        } else {
            char esc[3] = {'%', digits[c >> 4], digits[c & 15]};
            rc = pt_buf_append(out, esc, 3, err);
        }
        if (rc)
            return rc;
    }
    return 0;
}

/* Percent-decodes s[0..n) into out; a '%' not followed by two hex digits stays literal. */
static int uri_decode(struct pt_buf *out, const char *s, size_t n, struct pt_error *err)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int hi, lo;
        if (c == '%' && i + 2 < n && (hi = pt_hex_value((unsigned char)s[i + 1])) >= 0 &&
            (lo = pt_hex_value((unsigned char)s[i + 2])) >= 0) {
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        int rc = pt_buf_append(out, &c, 1, err);
        if (rc)
            return rc;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Canonical URI. */

/* Removes "." / ".." / empty segments (RFC 3986 5.2.4 plus slash collapsing, as aws-c-auth). */
static int normalize_path(struct pt_buf *out, const char *path, struct pt_error *err)
{
    size_t n = strlen(path);
    /* At most n/2+1 segments: each needs a '/' before it. */
    size_t max_segs = n / 2 + 2;
    const char **seg = calloc(max_segs, sizeof(*seg));
    size_t *seglen = calloc(max_segs, sizeof(*seglen));
    size_t count = 0;
    int rc = 0;
    if (!seg || !seglen) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory normalising a %zu-byte path", n);
        goto out;
    }
    for (size_t i = 0; i <= n;) {
        size_t j = i;
        while (j < n && path[j] != '/')
            j++;
        size_t len = j - i;
        if (len == 0 || (len == 1 && path[i] == '.')) {
            /* empty or "." segment: dropped */
        } else if (len == 2 && path[i] == '.' && path[i + 1] == '.') {
            if (count > 0)
                count--;
        } else if (count < max_segs) {
            seg[count] = path + i;
            seglen[count] = len;
            count++;
        }
        i = j + 1;
    }
    if ((rc = pt_buf_append(out, "/", 1, err)))
        goto out;
    for (size_t k = 0; k < count; k++) {
        if ((k > 0 && (rc = pt_buf_append(out, "/", 1, err))) ||
            (rc = pt_buf_append(out, seg[k], seglen[k], err)))
            goto out;
    }
    /* A trailing slash is part of the resource name ("/example/" != "/example"). */
    if (count > 0 && n > 0 && path[n - 1] == '/')
        rc = pt_buf_append(out, "/", 1, err);
out:
    free(seg);
    free(seglen);
    return rc;
}

static int canonical_uri(struct pt_buf *out, const char *path, unsigned flags,
                         struct pt_error *err)
{
    struct pt_buf tmp;
    pt_buf_init(&tmp, PT_SIGV4_MAX_CANONICAL);
    int rc = 0;
    if (!path || !*path)
        path = "/";
    size_t n = strnlen(path, PT_SIGV4_MAX_PATH + 1);
    if (n > PT_SIGV4_MAX_PATH) {
        rc = pt_error_set(err, PT_ELIMIT, "request path longer than %d bytes", PT_SIGV4_MAX_PATH);
        goto out;
    }
    if (flags & PT_SIGV4_S3) {
        /* S3: the object key as sent, encoded exactly once (decode first, so an already
         * encoded path and a raw one canonicalise alike). */
        if ((rc = uri_decode(&tmp, path, n, err)))
            goto out;
        rc = pt_sigv4_uri_encode(out, tmp.data ? tmp.data : "", tmp.len, true, err);
    } else {
        /* Other services: normalise, then encode the wire form again (double encoding). */
        if (flags & PT_SIGV4_NO_NORMALIZE)
            rc = pt_buf_append(&tmp, path, n, err);
        else
            rc = normalize_path(&tmp, path, err);
        if (rc)
            goto out;
        rc = pt_sigv4_uri_encode(out, tmp.data, tmp.len, true, err);
    }
out:
    pt_buf_free(&tmp);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Query parameters: decoded (for lookups) and encoded (for the canonical form). */

struct param {
    char *key, *value;   /* decoded */
    char *ekey, *evalue; /* encoded */
};

struct params {
    struct param *items;
    size_t n, cap;
};

static void params_free(struct params *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        free(ps->items[i].key);
        free(ps->items[i].value);
        free(ps->items[i].ekey);
        free(ps->items[i].evalue);
    }
    free(ps->items);
    ps->items = NULL;
    ps->n = ps->cap = 0;
}

static int params_add(struct params *ps, const char *k, size_t kl, const char *v, size_t vl,
                      bool raw, struct pt_error *err)
{
    struct pt_buf b[4];
    int rc = 0;
    for (int i = 0; i < 4; i++)
        pt_buf_init(&b[i], PT_SIGV4_MAX_CANONICAL);
    if (ps->n >= PT_SIGV4_MAX_PARAMS + 8) {
        rc = pt_error_set(err, PT_ELIMIT, "more than %d query parameters", PT_SIGV4_MAX_PARAMS);
        goto out;
    }
    if (!ps->items) {
        ps->cap = PT_SIGV4_MAX_PARAMS + 8;
        ps->items = calloc(ps->cap, sizeof(*ps->items));
        if (!ps->items) {
            rc = pt_error_set(err, PT_ENOMEM, "out of memory for query parameters");
            goto out;
        }
    }
    if (raw) {
        if ((rc = uri_decode(&b[0], k, kl, err)) || (rc = uri_decode(&b[1], v, vl, err)))
            goto out;
    } else {
        if ((rc = pt_buf_append(&b[0], k, kl, err)) || (rc = pt_buf_append(&b[1], v, vl, err)))
            goto out;
    }
    /* Empty buffers have no data yet: append "" so every field is a real string. */
    for (int i = 0; i < 2; i++)
        if ((rc = pt_buf_append(&b[i], "", 0, err)))
            goto out;
    if ((rc = pt_sigv4_uri_encode(&b[2], b[0].data, b[0].len, false, err)) ||
        (rc = pt_sigv4_uri_encode(&b[3], b[1].data, b[1].len, false, err)) ||
        (rc = pt_buf_append(&b[2], "", 0, err)) || (rc = pt_buf_append(&b[3], "", 0, err)))
        goto out;
    struct param *p = &ps->items[ps->n++];
    p->key = pt_buf_steal(&b[0], NULL);
    p->value = pt_buf_steal(&b[1], NULL);
    p->ekey = pt_buf_steal(&b[2], NULL);
    p->evalue = pt_buf_steal(&b[3], NULL);
out:
    for (int i = 0; i < 4; i++)
        pt_buf_free(&b[i]);
    return rc;
}

static int params_from_request(struct params *ps, const struct pt_sigv4_request *req,
                               struct pt_error *err)
{
    if (req->query && *req->query && req->param_count)
        return pt_error_set(err, PT_EUSAGE, "request gives both a raw query and parameters");
    if (req->param_count > PT_SIGV4_MAX_PARAMS)
        return pt_error_set(err, PT_ELIMIT, "%zu query parameters, more than the limit of %d",
                            req->param_count, PT_SIGV4_MAX_PARAMS);
    for (size_t i = 0; i < req->param_count; i++) {
        const struct pt_sigv4_header *h = &req->params[i];
        if (!h->name)
            return pt_error_set(err, PT_EUSAGE, "query parameter %zu has no name", i);
        const char *v = h->value ? h->value : "";
        int rc = params_add(ps, h->name, strlen(h->name), v, strlen(v), false, err);
        if (rc)
            return rc;
    }
    if (!req->query)
        return 0;
    size_t n = strnlen(req->query, PT_SIGV4_MAX_QUERY + 1);
    if (n > PT_SIGV4_MAX_QUERY)
        return pt_error_set(err, PT_ELIMIT, "query string longer than %d bytes",
                            PT_SIGV4_MAX_QUERY);
    const char *q = req->query;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && q[j] != '&')
            j++;
        if (j > i) { /* "a=1&&b=2": empty pieces carry nothing */
            const char *eq = memchr(q + i, '=', j - i);
            size_t kl = eq ? (size_t)(eq - (q + i)) : j - i;
            const char *v = eq ? eq + 1 : "";
            size_t vl = eq ? (size_t)(q + j - v) : 0;
            int rc = params_add(ps, q + i, kl, v, vl, true, err);
            if (rc)
                return rc;
        }
        i = j + 1;
    }
    return 0;
}

static const struct param *params_find(const struct params *ps, const char *key, size_t *count)
{
    const struct param *found = NULL;
    *count = 0;
    for (size_t i = 0; i < ps->n; i++)
        if (strcmp(ps->items[i].key, key) == 0) {
            if (!found)
                found = &ps->items[i];
            (*count)++;
        }
    return found;
}

static int param_cmp(const void *a, const void *b)
{
    const struct param *x = *(const struct param *const *)a;
    const struct param *y = *(const struct param *const *)b;
    int c = strcmp(x->ekey, y->ekey);
    return c ? c : strcmp(x->evalue, y->evalue);
}

/*
 * Sorted "k=v&k=v" of the encoded pairs, leaving out `skip` and `skip2` (when verifying a
 * presigned request: X-Amz-Signature, and X-Amz-Security-Token if it was added unsigned).
 */
static int canonical_query(struct pt_buf *out, const struct params *ps, const char *skip,
                           const char *skip2, struct pt_error *err)
{
    const struct param **v = NULL;
    int rc = 0;
    size_t m = 0;
    if (ps->n == 0)
        return 0;
    v = calloc(ps->n, sizeof(*v));
    if (!v)
        return pt_error_set(err, PT_ENOMEM, "out of memory sorting query parameters");
    for (size_t i = 0; i < ps->n; i++)
        if ((!skip || strcmp(ps->items[i].key, skip) != 0) &&
            (!skip2 || strcmp(ps->items[i].key, skip2) != 0))
            v[m++] = &ps->items[i];
    qsort(v, m, sizeof(*v), param_cmp);
    for (size_t i = 0; i < m; i++)
        if ((rc = pt_buf_printf(out, err, "%s%s=%s", i ? "&" : "", v[i]->ekey, v[i]->evalue)))
            break;
    free(v);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Headers: lowercase names, trimmed values with whitespace runs collapsed. */

struct hdr {
    char *name;  /* lowercase */
    char *value; /* normalised */
    size_t seq;  /* position in the request: duplicate values join in this order */
};

struct hdrs {
    struct hdr *items;
    size_t n, cap;
};

static void hdrs_free(struct hdrs *hs)
{
    for (size_t i = 0; i < hs->n; i++) {
        free(hs->items[i].name);
        free(hs->items[i].value);
    }
    free(hs->items);
    hs->items = NULL;
    hs->n = hs->cap = 0;
}

static int hdrs_add(struct hdrs *hs, const char *name, const char *value, struct pt_error *err)
{
    char *ln = NULL, *nv = NULL;
    int rc = 0;
    if (!name || !value) {
        rc = pt_error_set(err, PT_EUSAGE, "header %zu has no %s", hs->n, name ? "value" : "name");
        goto fail;
    }
    size_t nl = strnlen(name, PT_SIGV4_MAX_HEADER_NAME + 1);
    size_t vl = strnlen(value, PT_SIGV4_MAX_HEADER_VALUE + 1);
    if (nl == 0 || nl > PT_SIGV4_MAX_HEADER_NAME) {
        rc = pt_error_set(err, nl ? PT_ELIMIT : PT_EUSAGE, "header name '%.64s' is empty or "
                          "longer than %d bytes", name, PT_SIGV4_MAX_HEADER_NAME);
        goto fail;
    }
    if (vl > PT_SIGV4_MAX_HEADER_VALUE) {
        rc = pt_error_set(err, PT_ELIMIT, "header '%.64s' longer than %d bytes", name,
                          PT_SIGV4_MAX_HEADER_VALUE);
        goto fail;
    }
    if (hs->n >= PT_SIGV4_MAX_HEADERS + 4) {
        rc = pt_error_set(err, PT_ELIMIT, "more than %d headers", PT_SIGV4_MAX_HEADERS);
        goto fail;
    }
    if (!hs->items) {
        hs->cap = PT_SIGV4_MAX_HEADERS + 4;
        hs->items = calloc(hs->cap, sizeof(*hs->items));
        if (!hs->items) {
            rc = pt_error_set(err, PT_ENOMEM, "out of memory for headers");
            goto fail;
        }
    }
    ln = malloc(nl + 1);
    nv = malloc(vl + 1);
    if (!ln || !nv) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory for header '%.64s'", name);
        goto fail;
    }
    for (size_t i = 0; i < nl; i++) {
        if (!is_tchar((unsigned char)name[i])) {
            rc = pt_error_set(err, PT_EUSAGE, "header name '%.64s' has a character (0x%02x) "
                              "not allowed in a header name", name, (unsigned char)name[i]);
            goto fail;
        }
        ln[i] = (char)lower((unsigned char)name[i]);
    }
    ln[nl] = '\0';
    /* Trim both ends and collapse every whitespace run (folded lines included) to one space. */
    size_t o = 0;
    bool pending_space = false;
    for (size_t i = 0; i < vl; i++) {
        unsigned char c = (unsigned char)value[i];
        if (is_ws(c)) {
            pending_space = o > 0;
            continue;
        }
        if (c < 0x20 || c == 0x7f) {
            rc = pt_error_set(err, PT_EUSAGE, "header '%.64s' has a control character (0x%02x)",
                              name, c);
            goto fail;
        }
        if (pending_space)
            nv[o++] = ' ';
        pending_space = false;
        nv[o++] = (char)c;
    }
    nv[o] = '\0';
    hs->items[hs->n].name = ln;
    hs->items[hs->n].value = nv;
    hs->items[hs->n].seq = hs->n;
    hs->n++;
    return 0;
fail:
    free(ln);
    free(nv);
    return rc;
}

static int hdr_cmp(const void *a, const void *b)
{
    const struct hdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->seq < y->seq ? -1 : x->seq > y->seq);
}

/* Number of headers named `lname` and the first one's value. */
static const char *hdrs_get(const struct hdrs *hs, const char *lname, size_t *count)
{
    const char *v = NULL;
    *count = 0;
    for (size_t i = 0; i < hs->n; i++)
        if (strcmp(hs->items[i].name, lname) == 0) {
            if (!v)
                v = hs->items[i].value;
            (*count)++;
        }
    return v;
}

/* Hop-by-hop or rewritten on the way (proxies, SDK layers): never signed, as in botocore. */
static bool unsigned_header(const char *lname)
{
    static const char *const skip[] = {"authorization", "connection", "expect", "keep-alive",
                                       "proxy-authorization", "te", "trailer",
                                       "transfer-encoding", "upgrade", "user-agent",
                                       "x-amzn-trace-id"};
    for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
        if (strcmp(lname, skip[i]) == 0)
            return true;
    return false;
}

/* ------------------------------------------------------------------ */
/* The canonical request. */

struct canon {
    const char *method;
    const char *path;
    unsigned flags;
    const struct params *query;
    const char *skip_param, *skip_param2;
    const struct hdrs *hdrs;     /* sorted by name, then request order */
    const char *const *names;    /* signed header names, in order */
    size_t name_count;
    const char *payload_hash;
};

/* Fills creq; on a signed header absent from the request sets *missing and returns PT_ENOTFOUND. */
static int build_canonical(const struct canon *c, struct pt_buf *creq, const char **missing,
                           struct pt_error *err)
{
    int rc;
    if ((rc = pt_buf_printf(creq, err, "%s\n", c->method)) ||
        (rc = canonical_uri(creq, c->path, c->flags, err)) ||
        (rc = pt_buf_append(creq, "\n", 1, err)) ||
        (rc = canonical_query(creq, c->query, c->skip_param, c->skip_param2, err)) ||
        (rc = pt_buf_append(creq, "\n", 1, err)))
        return rc;
    for (size_t k = 0; k < c->name_count; k++) {
        size_t seen = 0;
        if ((rc = pt_buf_printf(creq, err, "%s:", c->names[k])))
            return rc;
        for (size_t i = 0; i < c->hdrs->n; i++) {
            const struct hdr *h = &c->hdrs->items[i];
            if (strcmp(h->name, c->names[k]) != 0)
                continue;
            if ((seen && (rc = pt_buf_append(creq, ",", 1, err))) ||
                (rc = pt_buf_append_str(creq, h->value, err)))
                return rc;
            seen++;
        }
        if (!seen) {
            if (missing)
                *missing = c->names[k];
            return pt_error_set(err, PT_ENOTFOUND, "signed header '%s' is not in the request",
                                c->names[k]);
        }
        if ((rc = pt_buf_append(creq, "\n", 1, err)))
            return rc;
    }
    if ((rc = pt_buf_append(creq, "\n", 1, err)))
        return rc;
    for (size_t k = 0; k < c->name_count; k++)
        if ((rc = pt_buf_printf(creq, err, "%s%s", k ? ";" : "", c->names[k])))
            return rc;
    return pt_buf_printf(creq, err, "\n%s", c->payload_hash);
}

static int build_string_to_sign(struct pt_buf *sts, const char *amz_date, const char *scope,
                                const struct pt_buf *creq, struct pt_error *err)
{
    char hash[65];
    int rc = pt_sigv4_sha256_hex(creq->data, creq->len, hash, err);
    if (rc)
        return rc;
    return pt_buf_printf(sts, err, "%s\n%s\n%s\n%s", PT_SIGV4_ALGORITHM, amz_date, scope, hash);
}

/* ------------------------------------------------------------------ */
/* Signing. */

void pt_sigv4_signed_init(struct pt_sigv4_signed *s)
{
    memset(s, 0, sizeof(*s));
    pt_buf_init(&s->canonical_request, PT_SIGV4_MAX_CANONICAL);
    pt_buf_init(&s->string_to_sign, PT_SIGV4_MAX_CANONICAL);
    pt_buf_init(&s->signed_headers, SIGNED_HEADERS_MAX);
    pt_buf_init(&s->authorization, PT_SIGV4_MAX_CANONICAL);
    pt_buf_init(&s->query, PT_SIGV4_MAX_CANONICAL);
}

/* Lets one pt_sigv4_signed serve several requests: nothing of the last one is kept. */
static void signed_reset(struct pt_sigv4_signed *s)
{
    s->amz_date[0] = s->payload_hash[0] = s->signature[0] = '\0';
    pt_buf_reset(&s->canonical_request);
    pt_buf_reset(&s->string_to_sign);
    pt_buf_reset(&s->signed_headers);
    pt_buf_reset(&s->authorization);
    pt_buf_reset(&s->query);
    s->add_count = 0;
}

void pt_sigv4_signed_free(struct pt_sigv4_signed *s)
{
    pt_buf_free(&s->canonical_request);
    pt_buf_free(&s->string_to_sign);
    pt_buf_free(&s->signed_headers);
    pt_buf_free(&s->authorization);
    pt_buf_free(&s->query);
    s->add_count = 0;
}

static int check_scope_part(const char *what, const char *v, struct pt_error *err)
{
    if (!v || !*v)
        return pt_error_set(err, PT_EUSAGE, "SigV4 %s is empty", what);
    size_t n = strnlen(v, NAME_FIELD_MAX);
    if (n >= NAME_FIELD_MAX)
        return pt_error_set(err, PT_EUSAGE, "SigV4 %s longer than %d characters", what,
                            NAME_FIELD_MAX - 1);
    for (size_t i = 0; i < n; i++)
        if (!is_unreserved((unsigned char)v[i]))
            return pt_error_set(err, PT_EUSAGE, "SigV4 %s '%s' may only hold letters, digits "
                                "and -._~", what, v);
    return 0;
}

static int check_params(const struct pt_sigv4_request *req, const struct pt_sigv4_params *p,
                        struct pt_error *err)
{
    int rc;
    if (!req || !p || !req->method || !*req->method)
        return pt_error_set(err, PT_EUSAGE, "SigV4: request without a method");
    if (strnlen(req->method, 33) > 32)
        return pt_error_set(err, PT_EUSAGE, "SigV4: method longer than 32 characters");
    for (const char *m = req->method; *m; m++)
        if (!is_tchar((unsigned char)*m))
            return pt_error_set(err, PT_EUSAGE, "SigV4: method '%s' is not a token", req->method);
    if (!p->creds || !p->creds->access_key_id[0] || !p->creds->secret_access_key[0])
        return pt_error_set(err, PT_EUSAGE, "SigV4: no credentials (access key id and secret "
                            "access key are required)");
    if (strchr(p->creds->access_key_id, '/'))
        return pt_error_set(err, PT_EUSAGE, "SigV4: access key id contains '/'");
    if ((rc = check_scope_part("region", p->region, err)) ||
        (rc = check_scope_part("service", p->service, err)))
        return rc;
    if (p->time < 0 || p->time > 253402300799LL) /* years 1970..9999 */
        return pt_error_set(err, PT_EUSAGE, "SigV4: time %lld out of range", (long long)p->time);
    if (req->header_count > PT_SIGV4_MAX_HEADERS)
        return pt_error_set(err, PT_ELIMIT, "SigV4: %zu headers, more than the limit of %d",
                            req->header_count, PT_SIGV4_MAX_HEADERS);
    if (p->payload_hash && !is_lower_hex64(p->payload_hash) &&
        strcmp(p->payload_hash, PT_SIGV4_UNSIGNED_PAYLOAD) != 0)
        return pt_error_set(err, PT_EUSAGE, "SigV4: payload hash '%.80s' is neither 64 lowercase "
                            "hex digits nor UNSIGNED-PAYLOAD", p->payload_hash);
    return 0;
}

/* The request's headers; names in `reserved` are the signer's own and refused. */
static int load_headers(struct hdrs *hs, const struct pt_sigv4_request *req,
                        const char *const *reserved, struct pt_error *err)
{
    for (size_t i = 0; i < req->header_count; i++) {
        int rc = hdrs_add(hs, req->headers[i].name, req->headers[i].value, err);
        if (rc)
            return rc;
        for (const char *const *r = reserved; *r; r++)
            if (strcmp(hs->items[hs->n - 1].name, *r) == 0)
                return pt_error_set(err, PT_EUSAGE, "the request already has a %s header; the "
                                    "signer sets it", *r);
    }
    size_t count;
    if (!hdrs_get(hs, "host", &count))
        return pt_error_set(err, PT_EUSAGE, "the request has no Host header (SigV4 signs it)");
    if (count > 1)
        return pt_error_set(err, PT_EUSAGE, "the request has %zu Host headers", count);
    return 0;
}

static int payload_hash_for_signing(const struct pt_sigv4_request *req,
                                    const struct pt_sigv4_params *p, const struct hdrs *hs,
                                    char out[65], struct pt_error *err)
{
    size_t count;
    const char *given = hdrs_get(hs, "x-amz-content-sha256", &count);
    const char *use = NULL;
    if (p->payload_hash)
        use = p->payload_hash;
    else if (p->flags & PT_SIGV4_UNSIGNED_PAYLOAD_FLAG)
        use = PT_SIGV4_UNSIGNED_PAYLOAD;
    /* A caller-set x-amz-content-sha256 is what the service will check against (S3). */
    else if (given && (is_lower_hex64(given) || strcmp(given, PT_SIGV4_UNSIGNED_PAYLOAD) == 0))
        use = given;
    if (use) {
        pt_strlcpy(out, use, 65);
        return 0;
    }
    return pt_sigv4_sha256_hex(req->body, req->body ? req->body_len : 0, out, err);
}

/* Sorted unique names of the headers to sign. */
static int sign_names(const struct hdrs *hs, const char ***names, size_t *count,
                      struct pt_error *err)
{
    *count = 0;
    *names = calloc(hs->n ? hs->n : 1, sizeof(**names));
    if (!*names)
        return pt_error_set(err, PT_ENOMEM, "out of memory listing signed headers");
    for (size_t i = 0; i < hs->n; i++) {
        const char *n = hs->items[i].name;
        if (unsigned_header(n) || (*count && strcmp((*names)[*count - 1], n) == 0))
            continue;
        (*names)[(*count)++] = n;
    }
    return 0;
}

static int join_names(struct pt_buf *out, const char *const *names, size_t count,
                      struct pt_error *err)
{
    int rc = pt_buf_append(out, "", 0, err);
    for (size_t k = 0; !rc && k < count; k++)
        rc = pt_buf_printf(out, err, "%s%s", k ? ";" : "", names[k]);
    return rc;
}

/* What a signature is computed from, for the header form and the presigned form alike. */
struct signing {
    struct hdrs hs;     /* the request's headers, then the signer's own */
    struct params ps;   /* the request's query, then (presigned) the X-Amz-* parameters */
    const char **names; /* the header names signed, sorted */
    size_t name_count;
    const char *token;  /* the session token; "" for none */
    char date8[9];
    char scope[SCOPE_MAX];
};

static void signing_free(struct signing *sg)
{
    free(sg->names);
    hdrs_free(&sg->hs);
    params_free(&sg->ps);
}

/* out emptied for this request, and the request and parameters checked. */
static int signing_start(const struct pt_sigv4_request *req, const struct pt_sigv4_params *p,
                         struct pt_sigv4_signed *out, struct pt_error *err)
{
    if (!out)
        return pt_error_set(err, PT_EUSAGE, "SigV4: no output");
    signed_reset(out);
    return check_params(req, p, err);
}

/*
 * The date (out->amz_date), the credential scope and the request's headers and
 * query, after check_params; names in `reserved` are the signer's own and refused.
 */
static int signing_load(struct signing *sg, const struct pt_sigv4_request *req,
                        const struct pt_sigv4_params *p, const char *const *reserved,
                        struct pt_sigv4_signed *out, struct pt_error *err)
{
    sg->token = p->creds->session_token;
    pt_sigv4_format_date(p->time, out->amz_date);
    memcpy(sg->date8, out->amz_date, 8);
    sg->date8[8] = '\0';
    snprintf(sg->scope, sizeof(sg->scope), "%s/%s/%s/%s", sg->date8, p->region, p->service,
             SCOPE_TERMINATOR);
    int rc = load_headers(&sg->hs, req, reserved, err);
    return rc ? rc : params_from_request(&sg->ps, req, err);
}

/* The canonical request, the string to sign and the signature, into out. */
static int signing_sign(const struct signing *sg, const struct pt_sigv4_request *req,
                        const struct pt_sigv4_params *p, struct pt_sigv4_signed *out,
                        struct pt_error *err)
{
    struct canon c = {.method = req->method, .path = req->path, .flags = p->flags,
                      .query = &sg->ps, .hdrs = &sg->hs, .names = sg->names,
                      .name_count = sg->name_count, .payload_hash = out->payload_hash};
    int rc;
    if ((rc = build_canonical(&c, &out->canonical_request, NULL, err)) ||
        (rc = build_string_to_sign(&out->string_to_sign, out->amz_date, sg->scope,
                                   &out->canonical_request, err)))
        return rc;
    return pt_sigv4_signature(p->creds->secret_access_key, sg->date8, p->region, p->service,
                              out->string_to_sign.data, out->string_to_sign.len, out->signature,
                              err);
}

int pt_sigv4_sign(const struct pt_sigv4_request *req, const struct pt_sigv4_params *p,
                  struct pt_sigv4_signed *out, struct pt_error *err)
{
    static const char *const reserved[] = {"authorization", "x-amz-date", NULL};
    struct signing sg = {0};
    int rc;
    if ((rc = signing_start(req, p, out, err)) ||
        (rc = signing_load(&sg, req, p, reserved, out, err)))
        goto out;
    const char *token = sg.token;
    bool has_token = token[0] != '\0';
    size_t n;
    if (has_token && hdrs_get(&sg.hs, "x-amz-security-token", &n)) {
        rc = pt_error_set(err, PT_EUSAGE, "the request already has an x-amz-security-token "
                          "header; the signer sets it from the credentials");
        goto out;
    }
    if ((p->flags & PT_SIGV4_CONTENT_SHA256_HEADER) &&
        hdrs_get(&sg.hs, "x-amz-content-sha256", &n)) {
        rc = pt_error_set(err, PT_EUSAGE, "the request already has an x-amz-content-sha256 "
                          "header and PT_SIGV4_CONTENT_SHA256_HEADER asks the signer to add it");
        goto out;
    }
    if ((rc = payload_hash_for_signing(req, p, &sg.hs, out->payload_hash, err)))
        goto out;
    if ((rc = hdrs_add(&sg.hs, "x-amz-date", out->amz_date, err)))
        goto out;
    if (has_token && !(p->flags & PT_SIGV4_OMIT_SESSION_TOKEN) &&
        (rc = hdrs_add(&sg.hs, "x-amz-security-token", token, err)))
        goto out;
    if ((p->flags & PT_SIGV4_CONTENT_SHA256_HEADER) &&
        (rc = hdrs_add(&sg.hs, "x-amz-content-sha256", out->payload_hash, err)))
        goto out;
    qsort(sg.hs.items, sg.hs.n, sizeof(*sg.hs.items), hdr_cmp);
    if ((rc = sign_names(&sg.hs, &sg.names, &sg.name_count, err)) ||
        (rc = signing_sign(&sg, req, p, out, err)) ||
        (rc = join_names(&out->signed_headers, sg.names, sg.name_count, err)) ||
        (rc = pt_buf_printf(&out->authorization, err,
                            "%s Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                            PT_SIGV4_ALGORITHM, p->creds->access_key_id, sg.scope,
                            out->signed_headers.data, out->signature)))
        goto out;
    out->add_count = 0;
    out->add[out->add_count++] = (struct pt_sigv4_header){"X-Amz-Date", out->amz_date};
    if (has_token)
        out->add[out->add_count++] = (struct pt_sigv4_header){"X-Amz-Security-Token", token};
    if (p->flags & PT_SIGV4_CONTENT_SHA256_HEADER)
        out->add[out->add_count++] =
            (struct pt_sigv4_header){"X-Amz-Content-Sha256", out->payload_hash};
    out->add[out->add_count++] =
        (struct pt_sigv4_header){"Authorization", out->authorization.data};
out:
    signing_free(&sg);
    return rc;
}

/* Appends "&Name=encoded(value)" (no '&' at the start of the string). */
static int append_qparam(struct pt_buf *q, const char *name, const char *value,
                         struct pt_error *err)
{
    int rc;
    if ((q->len && (rc = pt_buf_append(q, "&", 1, err))) ||
        (rc = pt_buf_printf(q, err, "%s=", name)))
        return rc;
    return pt_sigv4_uri_encode(q, value, strlen(value), false, err);
}

int pt_sigv4_presign(const struct pt_sigv4_request *req, const struct pt_sigv4_params *p,
                     struct pt_sigv4_signed *out, struct pt_error *err)
{
    static const char *const reserved[] = {"authorization", NULL};
    static const char *const xparams[] = {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
                                          "X-Amz-Expires", "X-Amz-SignedHeaders",
                                          "X-Amz-Security-Token", "X-Amz-Signature"};
    struct signing sg = {0};
    char credential[CREDENTIAL_MAX], expires[24];
    int rc;
    if ((rc = signing_start(req, p, out, err)))
        goto out;
    long exp = p->expires ? p->expires : 3600;
    if (exp < 1 || exp > PT_SIGV4_MAX_EXPIRES) {
        rc = pt_error_set(err, PT_EUSAGE, "presigned expiry %ld s out of range 1..%d", exp,
                          PT_SIGV4_MAX_EXPIRES);
        goto out;
    }
    snprintf(expires, sizeof(expires), "%ld", exp);
    if ((rc = signing_load(&sg, req, p, reserved, out, err)))
        goto out;
    const char *token = sg.token;
    bool has_token = token[0] != '\0';
    snprintf(credential, sizeof(credential), "%s/%s", p->creds->access_key_id, sg.scope);
    for (size_t i = 0; i < sizeof(xparams) / sizeof(xparams[0]); i++) {
        size_t n;
        if (params_find(&sg.ps, xparams[i], &n)) {
            rc = pt_error_set(err, PT_EUSAGE, "the query already has %s; the signer sets it",
                              xparams[i]);
            goto out;
        }
    }
    if (p->payload_hash)
        pt_strlcpy(out->payload_hash, p->payload_hash, sizeof(out->payload_hash));
    else if (p->flags & PT_SIGV4_UNSIGNED_PAYLOAD_FLAG)
        pt_strlcpy(out->payload_hash, PT_SIGV4_UNSIGNED_PAYLOAD, sizeof(out->payload_hash));
    else if ((rc = pt_sigv4_sha256_hex(req->body, req->body ? req->body_len : 0,
                                       out->payload_hash, err)))
        goto out;
    qsort(sg.hs.items, sg.hs.n, sizeof(*sg.hs.items), hdr_cmp);
    if ((rc = sign_names(&sg.hs, &sg.names, &sg.name_count, err)) ||
        (rc = join_names(&out->signed_headers, sg.names, sg.name_count, err)))
        goto out;
    /* The X-Amz-* parameters are part of what is signed (all but the signature itself). */
    const char *sh = out->signed_headers.data;
    if ((rc = params_add(&sg.ps, "X-Amz-Algorithm", 15, PT_SIGV4_ALGORITHM,
                         strlen(PT_SIGV4_ALGORITHM), false, err)) ||
        (rc = params_add(&sg.ps, "X-Amz-Credential", 16, credential, strlen(credential), false,
                         err)) ||
        (rc = params_add(&sg.ps, "X-Amz-Date", 10, out->amz_date, 16, false, err)) ||
        (rc = params_add(&sg.ps, "X-Amz-Expires", 13, expires, strlen(expires), false, err)) ||
        (rc = params_add(&sg.ps, "X-Amz-SignedHeaders", 19, sh, strlen(sh), false, err)))
        goto out;
    if (has_token && !(p->flags & PT_SIGV4_OMIT_SESSION_TOKEN) &&
        (rc = params_add(&sg.ps, "X-Amz-Security-Token", 20, token, strlen(token), false, err)))
        goto out;
    if ((rc = signing_sign(&sg, req, p, out, err)))
        goto out;
    /* The query to send: the request's own (verbatim), then the X-Amz-* parameters. */
    struct pt_buf *q = &out->query;
    if (req->query && *req->query) {
        if ((rc = pt_buf_append_str(q, req->query, err)))
            goto out;
    } else {
        for (size_t i = 0; i < req->param_count; i++) {
            const struct param *pp = &sg.ps.items[i];
            if ((rc = pt_buf_printf(q, err, "%s%s=%s", q->len ? "&" : "", pp->ekey,
                                    pp->evalue)))
                goto out;
        }
    }
    if ((rc = append_qparam(q, "X-Amz-Algorithm", PT_SIGV4_ALGORITHM, err)) ||
        (rc = append_qparam(q, "X-Amz-Credential", credential, err)) ||
        (rc = append_qparam(q, "X-Amz-Date", out->amz_date, err)) ||
        (rc = append_qparam(q, "X-Amz-SignedHeaders", sh, err)) ||
        (rc = append_qparam(q, "X-Amz-Expires", expires, err)) ||
        (has_token && (rc = append_qparam(q, "X-Amz-Security-Token", token, err))) ||
        (rc = append_qparam(q, "X-Amz-Signature", out->signature, err)))
        goto out;
    out->add_count = 0;
out:
    signing_free(&sg);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Verification. */

void pt_sigv4_verdict_init(struct pt_sigv4_verdict *v)
{
    memset(v, 0, sizeof(*v));
    pt_buf_init(&v->canonical_request, PT_SIGV4_MAX_CANONICAL);
    pt_buf_init(&v->string_to_sign, PT_SIGV4_MAX_CANONICAL);
}

void pt_sigv4_verdict_free(struct pt_sigv4_verdict *v)
{
    pt_buf_free(&v->canonical_request);
    pt_buf_free(&v->string_to_sign);
}

const char *pt_sigv4_reason_name(enum pt_sigv4_reason r)
{
    switch (r) {
    case PT_SIGV4_VALID: return "valid";
    case PT_SIGV4_MISSING_AUTH: return "missing-authentication";
    case PT_SIGV4_MALFORMED: return "malformed";
    case PT_SIGV4_MISSING_HEADER: return "missing-header";
    case PT_SIGV4_UNKNOWN_KEY: return "unknown-key";
    case PT_SIGV4_BAD_TOKEN: return "bad-security-token";
    case PT_SIGV4_BAD_SCOPE: return "bad-scope";
    case PT_SIGV4_SKEWED: return "clock-skew";
    case PT_SIGV4_EXPIRED: return "expired";
    case PT_SIGV4_PAYLOAD_MISMATCH: return "payload-hash-mismatch";
    case PT_SIGV4_MISMATCH: return "signature-mismatch";
    }
    return "unknown";
}

/*
 * Records a refusal: reason, AWS's status and code, and the message (AWS's
 * wording where it is known) in err. Returns PT_EPERM.
 */
__attribute__((format(printf, 4, 5)))
static int refuse(struct pt_sigv4_verdict *v, struct pt_error *err, enum pt_sigv4_reason r,
                  const char *fmt, ...)
{
    v->reason = r;
    switch (r) {
    case PT_SIGV4_MISSING_AUTH:
        v->http_status = 403;
        v->aws_code = "MissingAuthenticationTokenException";
        break;
    case PT_SIGV4_MALFORMED:
        v->http_status = 400;
        v->aws_code = "IncompleteSignatureException";
        break;
    case PT_SIGV4_UNKNOWN_KEY:
    case PT_SIGV4_BAD_TOKEN:
        v->http_status = 403;
        v->aws_code = "UnrecognizedClientException";
        break;
    case PT_SIGV4_PAYLOAD_MISMATCH:
        v->http_status = 400;
        v->aws_code = "XAmzContentSHA256Mismatch";
        break;
    default:
        v->http_status = 403;
        v->aws_code = "InvalidSignatureException";
        break;
    }
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = PT_EPERM;
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return PT_EPERM;
}

/*
 * A failure on input from the network: the client's (a refusal, cause's message), but for
 * running out of memory, which is ours.
 */
static int refuse_input(struct pt_sigv4_verdict *v, struct pt_error *err, int rc,
                        const struct pt_error *cause)
{
    return rc == PT_ENOMEM ? pt_error_set(err, rc, "%s", cause->msg)
                           : refuse(v, err, PT_SIGV4_MALFORMED, "%s", cause->msg);
}

/* What the request claims: from the Authorization header or the presigned query. */
struct claim {
    char credential[CREDENTIAL_MAX];
    char signed_headers[SIGNED_HEADERS_MAX];
    char signature[80];
    char amz_date[20];
    long expires;
    const char *token; /* points into the request's headers or params; NULL = none */
};

/* Copies src[0..n) into dst, refusing what does not fit. */
static bool copy_field(char *dst, size_t size, const char *src, size_t n)
{
    if (n >= size)
        return false;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return true;
}

static int parse_authorization(const char *auth, struct claim *cl, struct pt_sigv4_verdict *v,
                               struct pt_error *err)
{
    size_t alen = strlen(PT_SIGV4_ALGORITHM);
    if (strncmp(auth, PT_SIGV4_ALGORITHM, alen) != 0 || !is_ws((unsigned char)auth[alen])) {
        size_t n = strcspn(auth, " ");
        return refuse(v, err, PT_SIGV4_MALFORMED, "Unsupported AWS 'algorithm': '%.*s' (only "
                      PT_SIGV4_ALGORITHM " is accepted)", (int)(n > 64 ? 64 : n), auth);
    }
    bool have_cred = false, have_sh = false, have_sig = false;
    const char *s = auth + alen;
    while (*s) {
        while (is_ws((unsigned char)*s) || *s == ',')
            s++;
        if (!*s)
            break;
        size_t n = strcspn(s, ",");
        size_t end = n;
        while (end > 0 && is_ws((unsigned char)s[end - 1]))
            end--;
        const char *eq = memchr(s, '=', end);
        if (eq) {
            size_t kl = (size_t)(eq - s);
            const char *val = eq + 1;
            size_t vl = end - kl - 1;
            bool ok = true, *flag = NULL;
            if (kl == 10 && strncmp(s, "Credential", 10) == 0) {
                flag = &have_cred;
                ok = copy_field(cl->credential, sizeof(cl->credential), val, vl);
            } else if (kl == 13 && strncmp(s, "SignedHeaders", 13) == 0) {
                flag = &have_sh;
                ok = copy_field(cl->signed_headers, sizeof(cl->signed_headers), val, vl);
            } else if (kl == 9 && strncmp(s, "Signature", 9) == 0) {
                flag = &have_sig;
                ok = copy_field(cl->signature, sizeof(cl->signature), val, vl);
            }
            if (!ok)
                return refuse(v, err, PT_SIGV4_MALFORMED,
                              "Authorization header parameter '%.*s' is too long",
                              (int)(kl > 32 ? 32 : kl), s);
            if (flag && *flag)
                return refuse(v, err, PT_SIGV4_MALFORMED,
                              "Authorization header has '%.*s' twice", (int)kl, s);
            if (flag)
                *flag = true;
        }
        s += n;
    }
    if (!have_cred || !have_sh || !have_sig)
        return refuse(v, err, PT_SIGV4_MALFORMED, "%s%s%sAuthorization=%.200s",
                      have_cred ? "" : "Authorization header requires 'Credential' parameter. ",
                      have_sh ? "" : "Authorization header requires 'SignedHeaders' parameter. ",
                      have_sig ? "" : "Authorization header requires 'Signature' parameter. ",
                      auth);
    return 0;
}

static int parse_presigned(const struct params *ps, struct claim *cl,
                           struct pt_sigv4_verdict *v, struct pt_error *err)
{
    static const char *const need[] = {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
                                       "X-Amz-Expires", "X-Amz-SignedHeaders",
                                       "X-Amz-Signature"};
    const struct param *found[6];
    size_t n;
    for (int i = 0; i < 6; i++) {
        found[i] = params_find(ps, need[i], &n);
        if (!found[i])
            return refuse(v, err, PT_SIGV4_MALFORMED, "AWS query-string parameters must include "
                          "'%s'. Re-examine the query-string parameters.", need[i]);
        if (n > 1)
            return refuse(v, err, PT_SIGV4_MALFORMED, "query parameter '%s' appears %zu times",
                          need[i], n);
    }
    if (strcmp(found[0]->value, PT_SIGV4_ALGORITHM) != 0)
        return refuse(v, err, PT_SIGV4_MALFORMED, "Unsupported AWS 'algorithm': '%.64s' (only "
                      PT_SIGV4_ALGORITHM " is accepted)", found[0]->value);
    if (!copy_field(cl->credential, sizeof(cl->credential), found[1]->value,
                    strlen(found[1]->value)) ||
        !copy_field(cl->amz_date, sizeof(cl->amz_date), found[2]->value,
                    strlen(found[2]->value)) ||
        !copy_field(cl->signed_headers, sizeof(cl->signed_headers), found[4]->value,
                    strlen(found[4]->value)) ||
        !copy_field(cl->signature, sizeof(cl->signature), found[5]->value,
                    strlen(found[5]->value)))
        return refuse(v, err, PT_SIGV4_MALFORMED, "an X-Amz-* query parameter is too long");
    long e;
    if (pt_parse_long(found[3]->value, 1, PT_SIGV4_MAX_EXPIRES, &e) != 0)
        return refuse(v, err, PT_SIGV4_MALFORMED, "X-Amz-Expires '%.32s' must be an integer "
                      "from 1 to %d seconds", found[3]->value, PT_SIGV4_MAX_EXPIRES);
    cl->expires = e;
    const struct param *t = params_find(ps, "X-Amz-Security-Token", &n);
    if (t && n > 1)
        return refuse(v, err, PT_SIGV4_MALFORMED, "X-Amz-Security-Token appears %zu times", n);
    cl->token = t ? t->value : NULL;
    return 0;
}

/* "AKID/20150830/us-east-1/service/aws4_request" -> its five parts (in place). */
static int split_credential(char *cred, char *parts[5], struct pt_sigv4_verdict *v,
                            struct pt_error *err)
{
    char copy[CREDENTIAL_MAX];
    pt_strlcpy(copy, cred, sizeof(copy));
    int n = 0;
    char *s = cred;
    for (;;) {
        parts[n++] = s;
        char *slash = strchr(s, '/');
        /* The fifth part keeps whatever follows it: a sixth is refused below. */
        if (!slash || n == 5)
            break;
        *slash = '\0';
        s = slash + 1;
    }
    if (n != 5 || strchr(parts[4], '/') || !parts[0][0])
        return refuse(v, err, PT_SIGV4_MALFORMED, "Credential '%.200s' is not "
                      "ACCESS_KEY/YYYYMMDD/REGION/SERVICE/aws4_request", copy);
    return 0;
}

/* Parses "a;b;c" into names (in place); every name a lowercase token. */
static int split_signed_headers(char *list, const char **names, size_t *count,
                                struct pt_sigv4_verdict *v, struct pt_error *err)
{
    *count = 0;
    char *s = list;
    bool host = false;
    for (;;) {
        char *semi = strchr(s, ';');
        if (semi)
            *semi = '\0';
        if (!*s)
            return refuse(v, err, PT_SIGV4_MALFORMED, "SignedHeaders has an empty name");
        for (const char *c = s; *c; c++)
            if (!is_tchar((unsigned char)*c) || (*c >= 'A' && *c <= 'Z'))
                return refuse(v, err, PT_SIGV4_MALFORMED, "SignedHeaders name '%.64s' is not a "
                              "lowercase header name", s);
        if (*count >= PT_SIGV4_MAX_HEADERS)
            return refuse(v, err, PT_SIGV4_MALFORMED, "SignedHeaders lists more than %d names",
                          PT_SIGV4_MAX_HEADERS);
        if (strcmp(s, "host") == 0)
            host = true;
        names[(*count)++] = s;
        if (!semi)
            break;
        s = semi + 1;
    }
    if (!host)
        return refuse(v, err, PT_SIGV4_MALFORMED,
                      "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
    return 0;
}

/* Equal in constant time (for the token: the lengths are not secret, the bytes are). */
static bool secret_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    return la == lb && CRYPTO_memcmp(a, b, la) == 0;
}

static int check_time(const struct claim *cl, int64_t t, bool presigned,
                      const struct pt_sigv4_verify_params *p, struct pt_sigv4_verdict *v,
                      struct pt_error *err)
{
    long skew = p->max_skew == 0 ? PT_SIGV4_DEFAULT_SKEW : p->max_skew;
    char now_s[17], edge[17];
    pt_sigv4_format_date(p->now, now_s);
    if (presigned && p->now > t + cl->expires) {
        pt_sigv4_format_date(t + cl->expires, edge);
        return refuse(v, err, PT_SIGV4_EXPIRED, "Request has expired: signed at %s for %ld s, "
                      "so valid until %s; now is %s", cl->amz_date, cl->expires, edge, now_s);
    }
    if (skew < 0)
        return 0;
    if (!presigned && t < p->now - skew) {
        pt_sigv4_format_date(p->now - skew, edge);
        return refuse(v, err, PT_SIGV4_SKEWED, "Signature expired: %s is now earlier than %s "
                      "(%s - %ld min.)", cl->amz_date, edge, now_s, skew / 60);
    }
    if (t > p->now + skew) {
        pt_sigv4_format_date(p->now + skew, edge);
        return refuse(v, err, PT_SIGV4_SKEWED, "Signature not yet current: %s is still later "
                      "than %s (%s + %ld min.)", cl->amz_date, edge, now_s, skew / 60);
    }
    return 0;
}

int pt_sigv4_verify(const struct pt_sigv4_request *req, const struct pt_sigv4_verify_params *p,
                    struct pt_sigv4_verdict *v, struct pt_error *err)
{
    struct hdrs hs = {0};
    struct params ps = {0};
    struct claim *cl = calloc(1, sizeof(*cl));
    const char **names = calloc(PT_SIGV4_MAX_HEADERS, sizeof(*names));
    size_t name_count = 0, n;
    char *parts[5];
    char payload_hash[65], signature[65], scope[CREDENTIAL_MAX];
    int64_t t;
    int rc;
    if (!v) {
        rc = pt_error_set(err, PT_EUSAGE, "SigV4 verify: no verdict");
        goto out;
    }
    pt_buf_reset(&v->canonical_request);
    pt_buf_reset(&v->string_to_sign);
    v->reason = PT_SIGV4_VALID;
    v->http_status = 200;
    v->aws_code = NULL;
    v->access_key_id[0] = '\0';
    v->presigned = false;
    if (!cl || !names) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory verifying a signature");
        goto out;
    }
    if (!req || !req->method || !*req->method || !p) {
        rc = pt_error_set(err, PT_EUSAGE, "SigV4 verify: no request");
        goto out;
    }
    /* Input from the network: any size or syntax problem is the client's, so a refusal. */
    if (req->header_count > PT_SIGV4_MAX_HEADERS) {
        rc = refuse(v, err, PT_SIGV4_MALFORMED, "%zu headers, more than the limit of %d",
                    req->header_count, PT_SIGV4_MAX_HEADERS);
        goto out;
    }
    for (size_t i = 0; i < req->header_count; i++) {
        struct pt_error e2;
        if ((rc = hdrs_add(&hs, req->headers[i].name, req->headers[i].value, &e2))) {
            rc = refuse_input(v, err, rc, &e2);
            goto out;
        }
    }
    {
        struct pt_error e2;
        if ((rc = params_from_request(&ps, req, &e2))) {
            rc = refuse_input(v, err, rc, &e2);
            goto out;
        }
    }
    /* A request without headers has no array at all: qsort wants one even for no elements. */
    if (hs.n)
        qsort(hs.items, hs.n, sizeof(*hs.items), hdr_cmp);

    const char *auth = hdrs_get(&hs, "authorization", &n);
    const struct param *alg = params_find(&ps, "X-Amz-Algorithm", &n);
    if (hdrs_get(&hs, "authorization", &n) && n > 1) {
        rc = refuse(v, err, PT_SIGV4_MALFORMED, "the request has %zu Authorization headers", n);
        goto out;
    }
    if (auth && alg) {
        rc = refuse(v, err, PT_SIGV4_MALFORMED, "Only one auth mechanism allowed; only the "
                    "X-Amz-Algorithm query parameter or the Authorization header may be given");
        goto out;
    }
    if (auth) {
        if ((rc = parse_authorization(auth, cl, v, err)))
            goto out;
        const char *d = hdrs_get(&hs, "x-amz-date", &n);
        if (!d) {
            rc = refuse(v, err, PT_SIGV4_MISSING_HEADER, "Authorization header requires "
                        "existence of an 'X-Amz-Date' header (a 'Date' header is not supported "
                        "here)");
            goto out;
        }
        if (n > 1 || !copy_field(cl->amz_date, sizeof(cl->amz_date), d, strlen(d))) {
            rc = refuse(v, err, PT_SIGV4_MALFORMED, "X-Amz-Date header is not one "
                        "YYYYMMDDTHHMMSSZ value");
            goto out;
        }
        cl->token = hdrs_get(&hs, "x-amz-security-token", &n);
        if (cl->token && n > 1) {
            rc = refuse(v, err, PT_SIGV4_MALFORMED, "the request has %zu X-Amz-Security-Token "
                        "headers", n);
            goto out;
        }
    } else if (alg) {
        v->presigned = true;
        if ((rc = parse_presigned(&ps, cl, v, err)))
            goto out;
    } else {
        rc = refuse(v, err, PT_SIGV4_MISSING_AUTH, "Missing Authentication Token (no "
                    "Authorization header and no X-Amz-Algorithm query parameter)");
        goto out;
    }

    if ((rc = split_credential(cl->credential, parts, v, err)))
        goto out;
    pt_strlcpy(v->access_key_id, parts[0], sizeof(v->access_key_id));
    if (pt_sigv4_parse_date(cl->amz_date, &t) != 0) {
        rc = refuse(v, err, PT_SIGV4_MALFORMED, "X-Amz-Date '%.32s' is not a valid "
                    "YYYYMMDDTHHMMSSZ date", cl->amz_date);
        goto out;
    }
    if (strlen(parts[1]) != 8 || strncmp(parts[1], cl->amz_date, 8) != 0) {
        rc = refuse(v, err, PT_SIGV4_BAD_SCOPE, "Date in Credential scope does not match "
                    "YYYYMMDD from ISO-8601 version of date from HTTP: '%.16s' != '%.8s', from "
                    "'%s'.", parts[1], cl->amz_date, cl->amz_date);
        goto out;
    }
    if (p->region && strcmp(parts[2], p->region) != 0) {
        rc = refuse(v, err, PT_SIGV4_BAD_SCOPE, "Credential should be scoped to a valid region, "
                    "not '%.64s'; this endpoint's region is '%s'.", parts[2], p->region);
        goto out;
    }
    if (p->service && strcmp(parts[3], p->service) != 0) {
        rc = refuse(v, err, PT_SIGV4_BAD_SCOPE, "Credential should be scoped to correct service: "
                    "'%s', not '%.64s'.", p->service, parts[3]);
        goto out;
    }
    if (strcmp(parts[4], SCOPE_TERMINATOR) != 0) {
        rc = refuse(v, err, PT_SIGV4_BAD_SCOPE, "Credential should be scoped with a valid "
                    "terminator: 'aws4_request', not '%.64s'.", parts[4]);
        goto out;
    }
    if ((rc = check_time(cl, t, v->presigned, p, v, err)))
        goto out;

    const struct pt_aws_credentials *key = NULL;
    for (size_t i = 0; i < p->key_count; i++)
        if (strcmp(p->keys[i].access_key_id, parts[0]) == 0) {
            key = &p->keys[i];
            break;
        }
    if (!key) {
        rc = refuse(v, err, PT_SIGV4_UNKNOWN_KEY, "The security token included in the request is "
                    "invalid: access key id '%.128s' is not one this server knows", parts[0]);
        goto out;
    }
    if (key->session_token[0] && !cl->token) {
        rc = refuse(v, err, PT_SIGV4_BAD_TOKEN, "The security token included in the request is "
                    "invalid: access key '%.128s' is temporary and the request carries no "
                    "X-Amz-Security-Token", parts[0]);
        goto out;
    }
    if (cl->token && !secret_equal(cl->token, key->session_token)) {
        rc = refuse(v, err, PT_SIGV4_BAD_TOKEN, "The security token included in the request is "
                    "invalid: X-Amz-Security-Token is not the session token of access key "
                    "'%.128s'", parts[0]);
        goto out;
    }

    if ((rc = split_signed_headers(cl->signed_headers, names, &name_count, v, err)))
        goto out;

    const char *csha = hdrs_get(&hs, "x-amz-content-sha256", &n);
    if (csha && !v->presigned) {
        if (strcmp(csha, PT_SIGV4_UNSIGNED_PAYLOAD) != 0 &&
            strncmp(csha, "STREAMING-", 10) != 0) {
            if ((rc = pt_sigv4_sha256_hex(req->body, req->body ? req->body_len : 0,
                                          payload_hash, err)))
                goto out;
            if (strcmp(csha, payload_hash) != 0) {
                rc = refuse(v, err, PT_SIGV4_PAYLOAD_MISMATCH, "The provided "
                            "'x-amz-content-sha256' header does not match what was computed: "
                            "%.80s != %s", csha, payload_hash);
                goto out;
            }
        }
        pt_strlcpy(payload_hash, csha, sizeof(payload_hash));
    } else if (v->presigned && (p->flags & (PT_SIGV4_S3 | PT_SIGV4_UNSIGNED_PAYLOAD_FLAG))) {
        pt_strlcpy(payload_hash, PT_SIGV4_UNSIGNED_PAYLOAD, sizeof(payload_hash));
    } else if ((rc = pt_sigv4_sha256_hex(req->body, req->body ? req->body_len : 0,
                                         payload_hash, err))) {
        goto out;
    }

    const char *missing = NULL;
    struct canon c = {.method = req->method, .path = req->path, .flags = p->flags,
                      .query = &ps, .skip_param = v->presigned ? "X-Amz-Signature" : NULL,
                      .skip_param2 = (v->presigned && (p->flags & PT_SIGV4_OMIT_SESSION_TOKEN))
                                         ? "X-Amz-Security-Token" : NULL,
                      .hdrs = &hs, .names = names, .name_count = name_count,
                      .payload_hash = payload_hash};
    struct pt_error e2;
    rc = build_canonical(&c, &v->canonical_request, &missing, &e2);
    if (rc == PT_ENOTFOUND && missing) {
        rc = refuse(v, err, PT_SIGV4_MISSING_HEADER, "header '%s' is listed in SignedHeaders but "
                    "is not in the request", missing);
        goto out;
    }
    if (rc) {
        rc = refuse_input(v, err, rc, &e2);
        goto out;
    }
    snprintf(scope, sizeof(scope), "%s/%s/%s/%s", parts[1], parts[2], parts[3], parts[4]);
    if ((rc = build_string_to_sign(&v->string_to_sign, cl->amz_date, scope,
                                   &v->canonical_request, err)) ||
        (rc = pt_sigv4_signature(key->secret_access_key, parts[1], parts[2], parts[3],
                                 v->string_to_sign.data, v->string_to_sign.len, signature,
                                 err)))
        goto out;
    /* Constant time, so response timing says nothing about how much of a guess was right. */
    if (strlen(cl->signature) != 64 || CRYPTO_memcmp(cl->signature, signature, 64) != 0) {
        rc = refuse(v, err, PT_SIGV4_MISMATCH, "The request signature we calculated does not "
                    "match the signature you provided. Check your AWS Secret Access Key and "
                    "signing method (access key '%.128s', %zu signed headers; the canonical "
                    "request and string to sign the server computed are in the verdict)",
                    parts[0], name_count);
        goto out;
    }
    rc = 0;
out:
    OPENSSL_cleanse(signature, sizeof(signature));
    free(cl);
    free(names);
    hdrs_free(&hs);
    params_free(&ps);
    return rc;
}
