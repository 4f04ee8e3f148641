/*
 * fuzz_aws_sigv4_verify - pt_sigv4_verify (src/aws/sigv4.c) on arbitrary requests: what the local
 * Lambda API server (src/api/server.c) hands it from the network when signatures are required:
 * the Authorization header (Credential, SignedHeaders, Signature), X-Amz-Date, the presigned
 * X-Amz-* query parameters, the raw path and query, every header.
 *
 * Input: a mode byte, then a request as text:
 *     METHOD /path?query
 *     Name: value          (any number, up to the verifier's limit and a few more)
 *     <empty line>
 *     body
 * Each string is a C string of exactly its length + 1 bytes, the body a buffer of exactly its
 * size. The request is verified as given (no checks but a consistent verdict: seeds signed by
 * pt_sigv4_sign reach the signature comparison). Then, as the round trip the file promises ("a
 * request this file signs is by construction one it verifies"), the same request is signed with
 * pt_sigv4_sign or pt_sigv4_presign (mode bits: S3 rules, no normalisation, x-amz-content-sha256
 * header, a key with a session token, presigned form; the input's own Authorization, X-Amz-Date
 * and what else the signer sets dropped first) and, when the signer accepts it, verified:
 * that must succeed, but for what the client said itself and the verifier rightly checks (an
 * x-amz-content-sha256 or x-amz-security-token header of its own, an X-Amz-Algorithm parameter in
 * a header-signed query) and for limits the signed form itself goes over.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/sigv4.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HEADERS (PT_SIGV4_MAX_HEADERS + 8)
#define NOW 1440938160 /* 20150830T123600Z, the AWS test suite's date */

static struct pt_aws_credentials keys[2];

static int init_keys(void)
{
    static int done;
    if (done)
        return 0;
    if (pt_aws_credentials_set(&keys[0], "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                               NULL, "fuzz", NULL) != 0 ||
        pt_aws_credentials_set(&keys[1], "ASIATEMPEXAMPLE", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
                               "FQoGZXIvYXdzEXAMPLETOKEN", "fuzz", NULL) != 0)
        return -1;
    done = 1;
    return 0;
}

static int hex(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Does the raw query have a parameter whose decoded name is `name` (the verifier's decoding)? */
static int query_has(const char *q, const char *name)
{
    size_t nl = strlen(name);
    while (q && *q) {
        size_t len = strcspn(q, "&"), kl = strcspn(q, "=&");
        char key[64];
        size_t o = 0;
        for (size_t i = 0; i < kl && o < sizeof(key) - 1; i++) {
            int hi, lo;
            if (q[i] == '%' && i + 2 < kl && (hi = hex(q[i + 1])) >= 0 && (lo = hex(q[i + 2])) >= 0) {
                key[o++] = (char)(hi * 16 + lo);
                i += 2;
            } else {
                key[o++] = q[i];
            }
        }
        if (o == nl && memcmp(key, name, nl) == 0)
            return 1;
        q += len + (q[len] == '&');
    }
    return 0;
}

static int has_header(const struct pt_sigv4_header *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(h[i].name, name) == 0)
            return 1;
    return 0;
}

static void check_verdict(int rc, const struct pt_sigv4_verdict *v, const struct pt_error *err)
{
    if (rc == 0 ? v->reason != PT_SIGV4_VALID
                : (rc != PT_EPERM || v->reason == PT_SIGV4_VALID || !v->aws_code ||
                   (v->http_status != 400 && v->http_status != 403) ||
                   strnlen(err->msg, sizeof(err->msg)) >= sizeof(err->msg)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || init_keys() != 0)
        return 0;
    uint8_t mode = data[0];
    data++, size--;
    char *strs[2 * MAX_HEADERS + 8];
    size_t ns = 0;
    struct pt_sigv4_header headers[MAX_HEADERS + 4];
    size_t nh = 0;
    char *body = NULL, *method = NULL, *path = NULL, *query = NULL;
    size_t body_len = 0;

    /* Request line. */
    const uint8_t *p = data, *end = data + size;
    const uint8_t *nl = memchr(p, '\n', size);
    const uint8_t *le = nl ? nl : end;
    size_t ll = (size_t)(le - p);
    if (ll && p[ll - 1] == '\r')
        ll--;
    const uint8_t *sp = memchr(p, ' ', ll);
    if (!sp)
        return 0;
    const uint8_t *t = sp + 1, *qm = memchr(t, '?', (size_t)(p + ll - t));
    if (!(method = fuzz_cstr(p, (size_t)(sp - p))) ||
        !(path = fuzz_cstr(t, (size_t)((qm ? qm : p + ll) - t))) ||
        (qm && !(query = fuzz_cstr(qm + 1, (size_t)(p + ll - qm - 1)))))
        goto out;
    p = nl ? nl + 1 : end;
    /* Headers, up to the empty line. */
    while (p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        le = nl ? nl : end;
        ll = (size_t)(le - p);
        if (ll && p[ll - 1] == '\r')
            ll--;
        if (ll == 0) {
            p = nl ? nl + 1 : end;
            break;
        }
        if (nh == MAX_HEADERS)
            goto out;
        const uint8_t *colon = memchr(p, ':', ll);
        size_t nlen = colon ? (size_t)(colon - p) : ll;
        const uint8_t *v = colon ? colon + 1 : p + ll;
        while (v < p + ll && *v == ' ')
            v++;
        char *name = fuzz_cstr(p, nlen), *value = fuzz_cstr(v, (size_t)(p + ll - v));
        if (name)
            strs[ns++] = name;
        if (value)
            strs[ns++] = value;
        if (!name || !value)
            goto out;
        headers[nh++] = (struct pt_sigv4_header){name, value};
        p = nl ? nl + 1 : end;
    }
    body_len = (size_t)(end - p);
    if (!(body = fuzz_copy(p, body_len)))
        goto out;

    unsigned flags = (mode & 1 ? PT_SIGV4_S3 : 0) | (mode & 2 ? PT_SIGV4_NO_NORMALIZE : 0);
    struct pt_sigv4_request req = {.method = method, .path = path, .query = query,
                                   .headers = headers, .header_count = nh,
                                   .body = body, .body_len = body_len};
    struct pt_sigv4_verify_params vp = {.keys = keys, .key_count = 2, .region = "us-east-1",
                                        .service = "lambda", .now = NOW, .flags = flags};
    struct pt_sigv4_verdict v;
    struct pt_error err;
    pt_sigv4_verdict_init(&v);
    int rc = pt_sigv4_verify(&req, &vp, &v, &err);
    if (!method[0]) {
        if (rc != PT_EUSAGE) /* no method: the caller's mistake, not the client's */
            abort();
    } else {
        check_verdict(rc, &v, &err);
    }

    /* The round trip. */
    int presign = (mode & 16) != 0;
    const struct pt_aws_credentials *key = &keys[(mode >> 3) & 1];
    struct pt_sigv4_params sp2 = {.creds = key, .region = "us-east-1", .service = "lambda",
                                  .time = NOW, .flags = flags, .expires = 300};
    if (mode & 4)
        sp2.flags |= PT_SIGV4_CONTENT_SHA256_HEADER;
    if (presign && (flags & PT_SIGV4_S3))
        sp2.flags |= PT_SIGV4_UNSIGNED_PAYLOAD_FLAG; /* S3 presigned URLs never sign a body */
    /* What the signer adds itself goes: a signed input is signed afresh. */
    size_t ns2 = 0;
    for (size_t i = 0; i < nh; i++) {
        const char *n = headers[i].name;
        if (strcasecmp(n, "authorization") == 0 || strcasecmp(n, "x-amz-date") == 0 ||
            (!presign && key->session_token[0] && strcasecmp(n, "x-amz-security-token") == 0) ||
            ((sp2.flags & PT_SIGV4_CONTENT_SHA256_HEADER) &&
             strcasecmp(n, "x-amz-content-sha256") == 0))
            continue;
        headers[ns2++] = headers[i];
    }
    nh = ns2;
    req.header_count = nh;
    struct pt_sigv4_signed s;
    pt_sigv4_signed_init(&s);
    rc = presign ? pt_sigv4_presign(&req, &sp2, &s, &err) : pt_sigv4_sign(&req, &sp2, &s, &err);
    int own_claims = !presign && (has_header(headers, nh, "x-amz-content-sha256") ||
                                  has_header(headers, nh, "x-amz-security-token") ||
                                  query_has(query, "X-Amz-Algorithm"));
    int over_limits = nh + s.add_count > PT_SIGV4_MAX_HEADERS ||
                      s.authorization.len > PT_SIGV4_MAX_HEADER_VALUE ||
                      s.signed_headers.len >= 8192 /* sigv4.c SIGNED_HEADERS_MAX */ ||
                      s.query.len > PT_SIGV4_MAX_QUERY;
    if (rc == 0 && !own_claims && !over_limits) {
        struct pt_sigv4_request signed_req = req;
        for (size_t i = 0; i < s.add_count; i++)
            headers[nh + i] = s.add[i];
        signed_req.header_count = nh + s.add_count;
        if (presign)
            signed_req.query = s.query.data;
        rc = pt_sigv4_verify(&signed_req, &vp, &v, &err);
        check_verdict(rc, &v, &err);
        if (rc != 0) {
            fprintf(stderr, "signed request refused: %s: %s\n", pt_sigv4_reason_name(v.reason),
                    err.msg);
            abort();
        }
    }
    pt_sigv4_signed_free(&s);
    pt_sigv4_verdict_free(&v);
out:
    for (size_t i = 0; i < ns; i++)
        free(strs[i]);
    free(method);
    free(path);
    free(query);
    free(body);
    return 0;
}
