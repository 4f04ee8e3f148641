/*
 * test_sigv4.c - the SigV4 signer (aws/sigv4.h) against the AWS test suite in
 * ../shared/testdata/sigv4/ (every case, header and query forms: canonical
 * request, string to sign, signature, Authorization / signed query; then the
 * signed request must verify), a botocore-computed Lambda request, and the
 * verifier's refusals, one per kind of tampering.
 */
#include <dirent.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "aws/sigv4.h"
#include "base/buf.h"
#include "base/fs.h"
#include "base/str.h"

#define VECTOR_COUNT 38

/* ------------------------------------------------------------------ */
/* Files of one case. */

/* The whole file, '\r' removed (the suite is published with either line ending). */
static char *slurp(const char *dir, const char *name)
{
    char path[PATH_MAX];
    struct pt_buf b;
    struct pt_error err;
    assert_int_equal(pt_path_join(path, sizeof(path), dir, name), 0);
    pt_buf_init(&b, 1 << 20);
    if (pt_file_read(path, 1 << 20, &b, &err) != 0)
        fail_msg("%s: %s", path, err.msg);
    assert_int_equal(pt_buf_append(&b, "", 0, &err), 0);
    char *s = pt_buf_steal(&b, NULL);
    size_t o = 0;
    for (size_t i = 0; s[i]; i++)
        if (s[i] != '\r')
            s[o++] = s[i];
    s[o] = '\0';
    return s;
}

/* A one-line file (the signatures) without its trailing newline / spaces. */
static char *slurp_line(const char *dir, const char *name)
{
    char *s = slurp(dir, name);
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = '\0';
    return s;
}

struct parsed {
    char *text; /* request.txt, cut in place */
    const char *method;
    const char *path;
    const char *query;
    struct pt_sigv4_header headers[PT_SIGV4_MAX_HEADERS];
    size_t header_count;
    char *folded[PT_SIGV4_MAX_HEADERS]; /* values rebuilt from continuation lines */
    const char *body;
    size_t body_len;
};

/*
 * request.txt: "METHOD TARGET HTTP/1.1" (the target may hold spaces: get-space),
 * "Name:value" lines, lines starting with whitespace continuing the previous value,
 * a blank line, the body.
 */
static void parse_request(const char *dir, struct parsed *r)
{
    memset(r, 0, sizeof(*r));
    r->text = slurp(dir, "request.txt");
    char *s = r->text;
    char *eol = strchr(s, '\n');
    char *rest = eol ? eol + 1 : s + strlen(s);
    if (eol)
        *eol = '\0';
    char *sp1 = strchr(s, ' ');
    char *sp2 = strrchr(s, ' ');
    assert_non_null(sp1);
    assert_true(sp2 > sp1);
    *sp1 = '\0';
    *sp2 = '\0';
    r->method = s;
    r->path = sp1 + 1;
    char *q = strchr(sp1 + 1, '?');
    if (q) {
        *q = '\0';
        r->query = q + 1;
    }
    r->body = "";
    s = rest;
    while (*s) {
        eol = strchr(s, '\n');
        char *next = eol ? eol + 1 : s + strlen(s);
        if (eol)
            *eol = '\0';
        if (*s == '\0') {
            r->body = next;
            break;
        }
        if ((*s == ' ' || *s == '\t') && r->header_count > 0) {
            size_t k = r->header_count - 1;
            const char *prev = r->headers[k].value;
            size_t n = strlen(prev) + strlen(s) + 2;
            char *joined = malloc(n);
            assert_non_null(joined);
            snprintf(joined, n, "%s\n%s", prev, s);
            free(r->folded[k]);
            r->folded[k] = joined;
            r->headers[k].value = joined;
        } else {
            char *colon = strchr(s, ':');
            assert_non_null(colon);
            *colon = '\0';
            assert_true(r->header_count < PT_SIGV4_MAX_HEADERS);
            r->headers[r->header_count].name = s;
            r->headers[r->header_count].value = colon + 1;
            r->header_count++;
        }
        s = next;
    }
    r->body_len = strlen(r->body);
}

static void parsed_free(struct parsed *r)
{
    for (size_t i = 0; i < PT_SIGV4_MAX_HEADERS; i++)
        free(r->folded[i]);
    free(r->text);
}

struct context {
    struct pt_aws_credentials creds;
    char region[64], service[64];
    int64_t time;
    long expires;
    unsigned flags;
};

static void parse_context(const char *dir, struct context *c)
{
    char path[PATH_MAX];
    json_error_t jerr;
    struct pt_error err;
    assert_int_equal(pt_path_join(path, sizeof(path), dir, "context.json"), 0);
    json_t *j = json_load_file(path, 0, &jerr);
    if (!j)
        fail_msg("%s: %s", path, jerr.text);
    json_t *cr = json_object_get(j, "credentials");
    const char *token = json_string_value(json_object_get(cr, "token"));
    assert_int_equal(pt_aws_credentials_set(&c->creds,
                                            json_string_value(json_object_get(cr, "access_key_id")),
                                            json_string_value(json_object_get(cr, "secret_access_key")),
                                            token, "context.json", &err), 0);
    pt_strlcpy(c->region, json_string_value(json_object_get(j, "region")), sizeof(c->region));
    pt_strlcpy(c->service, json_string_value(json_object_get(j, "service")), sizeof(c->service));
    c->expires = (long)json_integer_value(json_object_get(j, "expiration_in_seconds"));
    /* "2015-08-30T12:36:00Z" -> the signer's own date parser via its compact form. */
    const char *ts = json_string_value(json_object_get(j, "timestamp"));
    assert_non_null(ts);
    char compact[17];
    assert_int_equal(strlen(ts), 20);
    snprintf(compact, sizeof(compact), "%.4s%.2s%.2sT%.2s%.2s%.2sZ", ts, ts + 5, ts + 8, ts + 11,
             ts + 14, ts + 17);
    assert_int_equal(pt_sigv4_parse_date(compact, &c->time), 0);
    c->flags = 0;
    if (!json_is_true(json_object_get(j, "normalize")))
        c->flags |= PT_SIGV4_NO_NORMALIZE;
    if (json_is_true(json_object_get(j, "sign_body")))
        c->flags |= PT_SIGV4_CONTENT_SHA256_HEADER;
    if (json_is_true(json_object_get(j, "omit_session_token")))
        c->flags |= PT_SIGV4_OMIT_SESSION_TOKEN;
    json_decref(j);
}

static void assert_text(const char *what, const char *dir, const char *got, const char *want)
{
    if (strcmp(got, want) != 0)
        fail_msg("%s: %s differs\n--- expected\n%s\n--- got\n%s", dir, what, want, got);
}

/* ------------------------------------------------------------------ */
/* One vector, one form. */

struct vector {
    char dir[PATH_MAX];
    char name[128];
    bool query_form;
};

static void verify_round_trip(const struct parsed *r, const struct context *c,
                              const char *query, const struct pt_sigv4_header *extra,
                              size_t extra_count, const char *dir)
{
    struct pt_sigv4_header all[PT_SIGV4_MAX_HEADERS];
    size_t n = 0;
    for (size_t i = 0; i < r->header_count; i++)
        all[n++] = r->headers[i];
    for (size_t i = 0; i < extra_count; i++)
        all[n++] = extra[i];
    struct pt_sigv4_request req = {.method = r->method, .path = r->path, .query = query,
                                   .headers = all, .header_count = n, .body = r->body,
                                   .body_len = r->body_len};
    struct pt_sigv4_verify_params vp = {.keys = &c->creds, .key_count = 1, .region = c->region,
                                        .service = c->service, .now = c->time,
                                        .flags = c->flags};
    struct pt_sigv4_verdict v;
    struct pt_error err = {0};
    pt_sigv4_verdict_init(&v);
    int rc = pt_sigv4_verify(&req, &vp, &v, &err);
    if (rc != 0)
        fail_msg("%s: the signed request does not verify (%s): %s", dir,
                 pt_sigv4_reason_name(v.reason), err.msg);
    assert_int_equal(v.reason, PT_SIGV4_VALID);
    pt_sigv4_verdict_free(&v);
}

static void test_vector(void **state)
{
    const struct vector *vec = *state;
    const char *dir = vec->dir;
    struct parsed r;
    struct context c;
    struct pt_sigv4_signed out;
    struct pt_error err = {0};
    const char *prefix = vec->query_form ? "query-" : "header-";
    char name[64];
    parse_request(dir, &r);
    parse_context(dir, &c);
    pt_sigv4_signed_init(&out);
    struct pt_sigv4_request req = {.method = r.method, .path = r.path, .query = r.query,
                                   .headers = r.headers, .header_count = r.header_count,
                                   .body = r.body, .body_len = r.body_len};
    struct pt_sigv4_params p = {.creds = &c.creds, .region = c.region, .service = c.service,
                                .time = c.time, .flags = c.flags, .expires = c.expires};
    int rc = vec->query_form ? pt_sigv4_presign(&req, &p, &out, &err)
                             : pt_sigv4_sign(&req, &p, &out, &err);
    if (rc)
        fail_msg("%s: signing failed: %s", dir, err.msg);

    snprintf(name, sizeof(name), "%scanonical-request.txt", prefix);
    char *want_creq = slurp(dir, name);
    assert_text("canonical request", dir, out.canonical_request.data, want_creq);
    snprintf(name, sizeof(name), "%sstring-to-sign.txt", prefix);
    char *want_sts = slurp(dir, name);
    assert_text("string to sign", dir, out.string_to_sign.data, want_sts);
    snprintf(name, sizeof(name), "%ssignature.txt", prefix);
    char *want_sig = slurp_line(dir, name);
    assert_text("signature", dir, out.signature, want_sig);

    /* The signed request: the Authorization line, or the query of the request line. */
    snprintf(name, sizeof(name), "%ssigned-request.txt", prefix);
    char *signed_req = slurp(dir, name);
    if (vec->query_form) {
        char *q = strchr(signed_req, '?');
        char *end = strstr(signed_req, " HTTP/1.1\n");
        assert_non_null(q);
        assert_non_null(end);
        *end = '\0';
        assert_text("presigned query", dir, out.query.data, q + 1);
        verify_round_trip(&r, &c, out.query.data, NULL, 0, dir);
    } else {
        char *a = strstr(signed_req, "\nAuthorization:");
        assert_non_null(a);
        a += strlen("\nAuthorization:");
        char *end = strchr(a, '\n');
        if (end)
            *end = '\0';
        assert_text("Authorization", dir, out.authorization.data, a);
        verify_round_trip(&r, &c, r.query, out.add, out.add_count, dir);
    }
    free(signed_req);
    free(want_creq);
    free(want_sts);
    free(want_sig);
    pt_sigv4_signed_free(&out);
    pt_aws_credentials_clear(&c.creds);
    parsed_free(&r);
}

static void test_all_vectors_present(void **state)
{
    size_t count = *(size_t *)*state;
    assert_int_equal(count, VECTOR_COUNT);
}

/* ------------------------------------------------------------------ */
/* A Lambda Invoke request, cross-checked with botocore 1.43 (SigV4Auth). */

#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define INVOKE_PATH "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3A" \
                    "function%3Amy-fn/invocations"
#define BODY "{\"hello\":\"world\"}"

struct lambda_req {
    struct pt_aws_credentials creds;
    struct pt_sigv4_header h[PT_SIGV4_MAX_HEADERS + 8];
    size_t n;
    struct pt_sigv4_request req;
    struct pt_sigv4_params p;
    struct pt_sigv4_signed s;
    const char *body;
};

static int64_t t_2026(void)
{
    int64_t t;
    assert_int_equal(pt_sigv4_parse_date("20260102T030405Z", &t), 0);
    return t;
}

/* Builds and signs the request; the signed headers are appended to lr->h. */
static void lambda_sign(struct lambda_req *lr, const char *token, unsigned flags)
{
    struct pt_error err = {0};
    memset(lr, 0, sizeof(*lr));
    assert_int_equal(pt_aws_credentials_set(&lr->creds, AKID, SECRET, token, "test", &err), 0);
    lr->h[lr->n++] = (struct pt_sigv4_header){"Host", "lambda.us-east-1.amazonaws.com"};
    lr->h[lr->n++] = (struct pt_sigv4_header){"Content-Type", "application/json"};
    lr->h[lr->n++] = (struct pt_sigv4_header){"X-Amz-Invocation-Type", "RequestResponse"};
    lr->h[lr->n++] = (struct pt_sigv4_header){"X-Amz-Log-Type", "Tail"};
    lr->h[lr->n++] = (struct pt_sigv4_header){"User-Agent", "powertune-test"};
    lr->body = BODY;
    lr->req = (struct pt_sigv4_request){.method = "POST", .path = INVOKE_PATH,
                                        .query = "Qualifier=RAM128", .headers = lr->h,
                                        .header_count = lr->n, .body = lr->body,
                                        .body_len = strlen(lr->body)};
    lr->p = (struct pt_sigv4_params){.creds = &lr->creds, .region = "us-east-1",
                                     .service = "lambda", .time = t_2026(), .flags = flags};
    pt_sigv4_signed_init(&lr->s);
    if (pt_sigv4_sign(&lr->req, &lr->p, &lr->s, &err) != 0)
        fail_msg("sign: %s", err.msg);
    for (size_t i = 0; i < lr->s.add_count; i++)
        lr->h[lr->n++] = lr->s.add[i];
    lr->req.header_count = lr->n;
}

static void lambda_free(struct lambda_req *lr)
{
    pt_sigv4_signed_free(&lr->s);
    pt_aws_credentials_clear(&lr->creds);
}

static void test_lambda_invoke_matches_botocore(void **state)
{
    (void)state;
    struct lambda_req lr;
    lambda_sign(&lr, "SESSIONTOKEN/abc+def=", 0);
    const char *want_creq =
        "POST\n"
        "/2015-03-31/functions/arn%253Aaws%253Alambda%253Aus-east-1%253A123456789012%253A"
        "function%253Amy-fn/invocations\n"
        "Qualifier=RAM128\n"
        "content-type:application/json\n"
        "host:lambda.us-east-1.amazonaws.com\n"
        "x-amz-date:20260102T030405Z\n"
        "x-amz-invocation-type:RequestResponse\n"
        "x-amz-log-type:Tail\n"
        "x-amz-security-token:SESSIONTOKEN/abc+def=\n"
        "\n"
        "content-type;host;x-amz-date;x-amz-invocation-type;x-amz-log-type;x-amz-security-token\n"
        "93a23971a914e5eacbf0a8d25154cda309c3c1c72fbb9914d47c60f3cb681588";
    assert_string_equal(lr.s.canonical_request.data, want_creq);
    assert_string_equal(lr.s.signature,
                        "f76793d12ea1ed0950bd61fb54b4d21091a65574aa9872b761876da19aa327fe");
    assert_string_equal(lr.s.authorization.data,
                        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/us-east-1/lambda/"
                        "aws4_request, SignedHeaders=content-type;host;x-amz-date;"
                        "x-amz-invocation-type;x-amz-log-type;x-amz-security-token, "
                        "Signature=f76793d12ea1ed0950bd61fb54b4d21091a65574aa9872b761876da19aa327fe");
    /* User-Agent is sent but, as in botocore, not signed. */
    assert_null(strstr(lr.s.canonical_request.data, "user-agent"));
    assert_int_equal(lr.s.add_count, 3);
    assert_string_equal(lr.s.add[0].name, "X-Amz-Date");
    assert_string_equal(lr.s.add[1].name, "X-Amz-Security-Token");
    assert_string_equal(lr.s.add[2].name, "Authorization");
    /* Signing again into the same result starts afresh (nothing appended to the old text). */
    struct pt_error err = {0};
    lr.req.header_count = 5;
    assert_int_equal(pt_sigv4_sign(&lr.req, &lr.p, &lr.s, &err), 0);
    assert_string_equal(lr.s.canonical_request.data, want_creq);
    assert_string_equal(lr.s.signature,
                        "f76793d12ea1ed0950bd61fb54b4d21091a65574aa9872b761876da19aa327fe");
    assert_int_equal(lr.s.add_count, 3);
    lambda_free(&lr);
}

/* ------------------------------------------------------------------ */
/* Verification: a signed request passes, each tampering fails with its reason. */

static int verify_lr(struct lambda_req *lr, const struct pt_sigv4_verify_params *override,
                     struct pt_sigv4_verdict *v, struct pt_error *err)
{
    struct pt_sigv4_verify_params vp = {.keys = &lr->creds, .key_count = 1,
                                        .region = "us-east-1", .service = "lambda",
                                        .now = t_2026() + 10};
    if (override)
        vp = *override;
    pt_sigv4_verdict_init(v);
    return pt_sigv4_verify(&lr->req, &vp, v, err);
}

/* Expects a refusal with `reason` whose message contains `needle`. */
static void expect_refusal(struct lambda_req *lr, const struct pt_sigv4_verify_params *vp,
                           enum pt_sigv4_reason reason, const char *needle)
{
    struct pt_sigv4_verdict v;
    struct pt_error err = {0};
    int rc = verify_lr(lr, vp, &v, &err);
    if (rc != PT_EPERM || v.reason != reason)
        fail_msg("expected %s, got rc %d reason %s: %s", pt_sigv4_reason_name(reason), rc,
                 pt_sigv4_reason_name(v.reason), err.msg);
    if (needle && !strstr(err.msg, needle))
        fail_msg("message '%s' does not mention '%s'", err.msg, needle);
    assert_non_null(v.aws_code);
    assert_true(v.http_status == 403 || v.http_status == 400);
    pt_sigv4_verdict_free(&v);
}

static void set_header(struct lambda_req *lr, const char *name, const char *value)
{
    for (size_t i = 0; i < lr->n; i++)
        if (strcasecmp(lr->h[i].name, name) == 0) {
            lr->h[i].value = value;
            return;
        }
    fail_msg("no header %s", name);
}

static void drop_header(struct lambda_req *lr, const char *name)
{
    for (size_t i = 0; i < lr->n; i++)
        if (strcasecmp(lr->h[i].name, name) == 0) {
            memmove(&lr->h[i], &lr->h[i + 1], (lr->n - i - 1) * sizeof(lr->h[0]));
            lr->n--;
            lr->req.header_count = lr->n;
            return;
        }
    fail_msg("no header %s", name);
}

static void test_verify_accepts_signed(void **state)
{
    (void)state;
    struct lambda_req lr;
    struct pt_sigv4_verdict v;
    struct pt_error err = {0};
    lambda_sign(&lr, NULL, 0);
    assert_int_equal(verify_lr(&lr, NULL, &v, &err), 0);
    assert_int_equal(v.reason, PT_SIGV4_VALID);
    assert_string_equal(v.access_key_id, AKID);
    assert_false(v.presigned);
    pt_sigv4_verdict_free(&v);
    /* An unsigned header added on the way (a proxy's) changes nothing. */
    lr.h[lr.n++] = (struct pt_sigv4_header){"X-Forwarded-For", "10.0.0.1"};
    lr.req.header_count = lr.n;
    assert_int_equal(verify_lr(&lr, NULL, &v, &err), 0);
    pt_sigv4_verdict_free(&v);
    /* The same query given as decoded pairs (libmicrohttpd's view) verifies the same. */
    struct pt_sigv4_header qp = {"Qualifier", "RAM128"};
    lr.req.query = NULL;
    lr.req.params = &qp;
    lr.req.param_count = 1;
    assert_int_equal(verify_lr(&lr, NULL, &v, &err), 0);
    pt_sigv4_verdict_free(&v);
    lambda_free(&lr);
}

static void test_verify_tampered_body(void **state)
{
    (void)state;
    struct lambda_req lr;
    lambda_sign(&lr, NULL, 0);
    lr.req.body = "{\"hello\":\"WORLD\"}";
    expect_refusal(&lr, NULL, PT_SIGV4_MISMATCH, "does not match");
    lambda_free(&lr);
    /* With x-amz-content-sha256 the body is caught before the signature. */
    lambda_sign(&lr, NULL, PT_SIGV4_CONTENT_SHA256_HEADER);
    lr.req.body = "{\"hello\":\"WORLD\"}";
    expect_refusal(&lr, NULL, PT_SIGV4_PAYLOAD_MISMATCH, "x-amz-content-sha256");
    lambda_free(&lr);
}

static void test_verify_tampered_parts(void **state)
{
    (void)state;
    struct lambda_req lr;
    struct pt_sigv4_verdict v;
    struct pt_error err = {0};
    /* A signed header's value. */
    lambda_sign(&lr, NULL, 0);
    set_header(&lr, "X-Amz-Invocation-Type", "Event");
    assert_int_equal(verify_lr(&lr, NULL, &v, &err), PT_EPERM);
    assert_int_equal(v.reason, PT_SIGV4_MISMATCH);
    assert_string_equal(v.aws_code, "InvalidSignatureException");
    /* The verdict carries what the server computed, for AWS's long message. */
    assert_non_null(strstr(v.canonical_request.data, "x-amz-invocation-type:Event"));
    assert_non_null(strstr(v.string_to_sign.data, "AWS4-HMAC-SHA256\n20260102T030405Z\n"));
    pt_sigv4_verdict_free(&v);
    lambda_free(&lr);
    /* The path, the query, the method. */
    lambda_sign(&lr, NULL, 0);
    lr.req.path = "/2015-03-31/functions/other-fn/invocations";
    expect_refusal(&lr, NULL, PT_SIGV4_MISMATCH, NULL);
    lr.req.path = INVOKE_PATH;
    lr.req.query = "Qualifier=RAM256";
    expect_refusal(&lr, NULL, PT_SIGV4_MISMATCH, NULL);
    lr.req.query = "Qualifier=RAM128";
    lr.req.method = "PUT";
    expect_refusal(&lr, NULL, PT_SIGV4_MISMATCH, NULL);
    lambda_free(&lr);
}

static void test_verify_wrong_secret(void **state)
{
    (void)state;
    struct lambda_req lr;
    struct pt_aws_credentials other;
    struct pt_error err = {0};
    lambda_sign(&lr, NULL, 0);
    assert_int_equal(pt_aws_credentials_set(&other, AKID, "another-secret", NULL, "t", &err), 0);
    struct pt_sigv4_verify_params vp = {.keys = &other, .key_count = 1, .region = "us-east-1",
                                        .service = "lambda", .now = t_2026()};
    expect_refusal(&lr, &vp, PT_SIGV4_MISMATCH, "Secret Access Key");
    lambda_free(&lr);
}

static void test_verify_missing_auth_and_headers(void **state)
{
    (void)state;
    struct lambda_req lr;
    lambda_sign(&lr, NULL, 0);
    drop_header(&lr, "Authorization");
    expect_refusal(&lr, NULL, PT_SIGV4_MISSING_AUTH, "Missing Authentication Token");
    lambda_free(&lr);

    lambda_sign(&lr, NULL, 0);
    drop_header(&lr, "X-Amz-Date");
    expect_refusal(&lr, NULL, PT_SIGV4_MISSING_HEADER, "X-Amz-Date");
    lambda_free(&lr);

    lambda_sign(&lr, NULL, 0);
    drop_header(&lr, "Content-Type");
    expect_refusal(&lr, NULL, PT_SIGV4_MISSING_HEADER, "'content-type'");
    lambda_free(&lr);
}

/* Fuzz finding (tests/fuzz/corpus/aws_sigv4_verify/crash-no-headers): a request without any
 * header had qsort called on a NULL array (undefined behaviour, UBSan's nonnull-attribute). */
static void test_verify_request_without_headers(void **state)
{
    (void)state;
    struct pt_aws_credentials key;
    struct pt_error err = {0};
    assert_int_equal(pt_aws_credentials_set(&key, AKID, SECRET, NULL, "test", &err), 0);
    struct pt_sigv4_request req = {.method = "GET", .path = "/2015-03-31/functions",
                                   .query = "Qualifier=prod"};
    struct pt_sigv4_verify_params p = {.keys = &key, .key_count = 1, .region = "us-east-1",
                                       .service = "lambda", .now = t_2026()};
    struct pt_sigv4_verdict v;
    pt_sigv4_verdict_init(&v);
    assert_int_equal(pt_sigv4_verify(&req, &p, &v, &err), PT_EPERM);
    assert_int_equal(v.reason, PT_SIGV4_MISSING_AUTH);
    pt_sigv4_verdict_free(&v);
}

static void test_verify_unknown_key(void **state)
{
    (void)state;
    struct lambda_req lr;
    struct pt_aws_credentials other;
    struct pt_error err = {0};
    lambda_sign(&lr, NULL, 0);
    assert_int_equal(pt_aws_credentials_set(&other, "AKIDOTHER", SECRET, NULL, "t", &err), 0);
    struct pt_sigv4_verify_params vp = {.keys = &other, .key_count = 1, .region = "us-east-1",
                                        .service = "lambda", .now = t_2026()};
    expect_refusal(&lr, &vp, PT_SIGV4_UNKNOWN_KEY, "AKIDEXAMPLE");
    /* No keys at all: nothing verifies. */
    vp.key_count = 0;
    expect_refusal(&lr, &vp, PT_SIGV4_UNKNOWN_KEY, NULL);
    lambda_free(&lr);
}

static void test_verify_session_token(void **state)
{
    (void)state;
    struct lambda_req lr;
    struct pt_sigv4_verdict v;
    struct pt_error err = {0};
    lambda_sign(&lr, "TOKEN123", 0);
    assert_int_equal(verify_lr(&lr, NULL, &v, &err), 0);
    pt_sigv4_verdict_free(&v);
    set_header(&lr, "X-Amz-Security-Token", "TOKEN124");
    expect_refusal(&lr, NULL, PT_SIGV4_BAD_TOKEN, "X-Amz-Security-Token");
    drop_header(&lr, "X-Amz-Security-Token");
    expect_refusal(&lr, NULL, PT_SIGV4_BAD_TOKEN, "no X-Amz-Security-Token");
    lambda_free(&lr);
}

static void test_verify_scope(void **state)
{
    (void)state;
    struct lambda_req lr;
    lambda_sign(&lr, NULL, 0);
    struct pt_sigv4_verify_params vp = {.keys = &lr.creds, .key_count = 1,
                                        .region = "eu-west-1", .service = "lambda",
                                        .now = t_2026()};
    expect_refusal(&lr, &vp, PT_SIGV4_BAD_SCOPE, "region");
    vp.region = "us-east-1";
    vp.service = "s3";
    expect_refusal(&lr, &vp, PT_SIGV4_BAD_SCOPE, "service");
    /* X-Amz-Date on another day than the Credential scope. */
    set_header(&lr, "X-Amz-Date", "20260103T030405Z");
    vp.service = "lambda";
    vp.now = t_2026() + 86400;
    expect_refusal(&lr, &vp, PT_SIGV4_BAD_SCOPE, "Date in Credential scope");
    set_header(&lr, "X-Amz-Date", "2026-01-02");
    expect_refusal(&lr, &vp, PT_SIGV4_MALFORMED, "X-Amz-Date");
    lambda_free(&lr);
}

static void test_verify_clock_skew(void **state)
{
    (void)state;
    struct lambda_req lr;
    struct pt_sigv4_verdict v;
    struct pt_error err = {0};
    lambda_sign(&lr, NULL, 0);
    struct pt_sigv4_verify_params vp = {.keys = &lr.creds, .key_count = 1,
                                        .region = "us-east-1", .service = "lambda",
                                        .now = t_2026() + 901};
    expect_refusal(&lr, &vp, PT_SIGV4_SKEWED, "Signature expired");
    vp.now = t_2026() - 901;
    expect_refusal(&lr, &vp, PT_SIGV4_SKEWED, "not yet current");
    vp.now = t_2026() + 900;
    assert_int_equal(verify_lr(&lr, &vp, &v, &err), 0);
    pt_sigv4_verdict_free(&v);
    vp.max_skew = -1; /* not checked */
    vp.now = t_2026() + 86400 * 30;
    assert_int_equal(verify_lr(&lr, &vp, &v, &err), 0);
    pt_sigv4_verdict_free(&v);
    lambda_free(&lr);
}

static void test_verify_malformed_authorization(void **state)
{
    (void)state;
    struct lambda_req lr;
    struct pt_sigv4_verdict v;
    struct pt_error err = {0};
    lambda_sign(&lr, NULL, 0);
    set_header(&lr, "Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/"
                                     "us-east-1/lambda/aws4_request, SignedHeaders=host");
    expect_refusal(&lr, NULL, PT_SIGV4_MALFORMED, "requires 'Signature'");
    assert_int_equal(verify_lr(&lr, NULL, &v, &err), PT_EPERM);
    assert_string_equal(v.aws_code, "IncompleteSignatureException");
    assert_int_equal(v.http_status, 400);
    pt_sigv4_verdict_free(&v);
    set_header(&lr, "Authorization", "AWS4-HMAC-SHA512 Credential=a/b/c/d/aws4_request, "
                                     "SignedHeaders=host, Signature=00");
    expect_refusal(&lr, NULL, PT_SIGV4_MALFORMED, "AWS4-HMAC-SHA512");
    set_header(&lr, "Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/lambda, "
                                     "SignedHeaders=host, Signature=00");
    expect_refusal(&lr, NULL, PT_SIGV4_MALFORMED, "Credential");
    /* A sixth part after the terminator (the scope's end was once cut there and accepted). */
    set_header(&lr, "Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/us-east-1/"
                                     "lambda/aws4_request/junk, SignedHeaders=host, Signature=00");
    expect_refusal(&lr, NULL, PT_SIGV4_MALFORMED, "aws4_request/junk");
    set_header(&lr, "Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/us-east-1/"
                                     "lambda/aws4_request, SignedHeaders=content-type, "
                                     "Signature=00");
    expect_refusal(&lr, NULL, PT_SIGV4_MALFORMED, "'Host'");
    /* A short signature is a mismatch, not a crash or a prefix match. */
    set_header(&lr, "Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/us-east-1/"
                                     "lambda/aws4_request, SignedHeaders=host;x-amz-date, "
                                     "Signature=ab");
    expect_refusal(&lr, NULL, PT_SIGV4_MISMATCH, NULL);
    lambda_free(&lr);
}

static void test_verify_presigned(void **state)
{
    (void)state;
    struct pt_aws_credentials creds;
    struct pt_sigv4_signed s;
    struct pt_sigv4_verdict v;
    struct pt_error err = {0};
    struct pt_sigv4_header h[] = {{"Host", "lambda.us-east-1.amazonaws.com"}};
    assert_int_equal(pt_aws_credentials_set(&creds, AKID, SECRET, "TOK", "t", &err), 0);
    struct pt_sigv4_request req = {.method = "GET", .path = "/2015-03-31/functions/f",
                                   .query = "a=1", .headers = h, .header_count = 1};
    struct pt_sigv4_params p = {.creds = &creds, .region = "us-east-1", .service = "lambda",
                                .time = t_2026(), .expires = 60};
    pt_sigv4_signed_init(&s);
    assert_int_equal(pt_sigv4_presign(&req, &p, &s, &err), 0);
    assert_true(pt_str_starts_with(s.query.data, "a=1&X-Amz-Algorithm=AWS4-HMAC-SHA256&"));
    assert_non_null(strstr(s.query.data, "&X-Amz-Expires=60&X-Amz-Security-Token=TOK&"));
    assert_int_equal(s.add_count, 0);
    req.query = s.query.data;
    struct pt_sigv4_verify_params vp = {.keys = &creds, .key_count = 1, .region = "us-east-1",
                                        .service = "lambda", .now = t_2026() + 60};
    pt_sigv4_verdict_init(&v);
    assert_int_equal(pt_sigv4_verify(&req, &vp, &v, &err), 0);
    assert_true(v.presigned);
    pt_sigv4_verdict_free(&v);
    vp.now = t_2026() + 61;
    pt_sigv4_verdict_init(&v);
    assert_int_equal(pt_sigv4_verify(&req, &vp, &v, &err), PT_EPERM);
    assert_int_equal(v.reason, PT_SIGV4_EXPIRED);
    assert_non_null(strstr(err.msg, "expired"));
    pt_sigv4_verdict_free(&v);
    /* A changed parameter, and a missing one. */
    char tampered[4096];
    snprintf(tampered, sizeof(tampered), "a=2%s", s.query.data + 3);
    req.query = tampered;
    vp.now = t_2026();
    pt_sigv4_verdict_init(&v);
    assert_int_equal(pt_sigv4_verify(&req, &vp, &v, &err), PT_EPERM);
    assert_int_equal(v.reason, PT_SIGV4_MISMATCH);
    pt_sigv4_verdict_free(&v);
    req.query = "a=1&X-Amz-Algorithm=AWS4-HMAC-SHA256";
    pt_sigv4_verdict_init(&v);
    assert_int_equal(pt_sigv4_verify(&req, &vp, &v, &err), PT_EPERM);
    assert_int_equal(v.reason, PT_SIGV4_MALFORMED);
    assert_non_null(strstr(err.msg, "X-Amz-Credential"));
    pt_sigv4_verdict_free(&v);
    pt_sigv4_signed_free(&s);
}

/* ------------------------------------------------------------------ */
/* Canonicalisation details and limits. */

static char *canonical_of(const char *path, const char *query, unsigned flags)
{
    struct pt_aws_credentials creds;
    struct pt_sigv4_signed s;
    struct pt_error err = {0};
    struct pt_sigv4_header h[] = {{"Host", "example.com"}};
    assert_int_equal(pt_aws_credentials_set(&creds, AKID, SECRET, NULL, "t", &err), 0);
    struct pt_sigv4_request req = {.method = "GET", .path = path, .query = query, .headers = h,
                                   .header_count = 1};
    struct pt_sigv4_params p = {.creds = &creds, .region = "us-east-1", .service = "s3",
                                .time = 0, .flags = flags};
    pt_sigv4_signed_init(&s);
    if (pt_sigv4_sign(&req, &p, &s, &err) != 0)
        fail_msg("sign: %s", err.msg);
    char *line2 = strchr(s.canonical_request.data, '\n') + 1;
    char *end = strchr(strchr(line2, '\n') + 1, '\n');
    char *r = strndup(line2, (size_t)(end - line2));
    pt_sigv4_signed_free(&s);
    return r;
}

static void test_path_encoding_s3_vs_others(void **state)
{
    (void)state;
    char *c;
    c = canonical_of("/my%20key/a%3Ab", NULL, 0);
    assert_string_equal(c, "/my%2520key/a%253Ab\n");
    free(c);
    c = canonical_of("/my%20key/./a%3Ab", NULL, PT_SIGV4_S3);
    assert_string_equal(c, "/my%20key/./a%3Ab\n");
    free(c);
    c = canonical_of("/raw key~/x", NULL, PT_SIGV4_S3);
    assert_string_equal(c, "/raw%20key~/x\n");
    free(c);
    c = canonical_of("", NULL, 0);
    assert_string_equal(c, "/\n");
    free(c);
    c = canonical_of("/a/b/../c/", NULL, 0);
    assert_string_equal(c, "/a/c/\n");
    free(c);
    /* Query: decoded then encoded (so %7e and ~ agree), '+' literal, sorted by key then value. */
    c = canonical_of("/", "b=2&a=%7e&a=+&c&d=x%2Fy=z", 0);
    assert_string_equal(c, "/\na=%2B&a=~&b=2&c=&d=x%2Fy%3Dz");
    free(c);
}

static void test_limits_and_reserved_headers(void **state)
{
    (void)state;
    struct pt_aws_credentials creds;
    struct pt_sigv4_signed s;
    struct pt_error err = {0};
    static struct pt_sigv4_header h[PT_SIGV4_MAX_HEADERS + 1];
    static char names[PT_SIGV4_MAX_HEADERS + 1][16];
    assert_int_equal(pt_aws_credentials_set(&creds, AKID, SECRET, NULL, "t", &err), 0);
    h[0] = (struct pt_sigv4_header){"Host", "example.com"};
    for (size_t i = 1; i <= PT_SIGV4_MAX_HEADERS; i++) {
        snprintf(names[i], sizeof(names[i]), "x-h%zu", i);
        h[i] = (struct pt_sigv4_header){names[i], "v"};
    }
    struct pt_sigv4_request req = {.method = "GET", .path = "/", .headers = h,
                                   .header_count = PT_SIGV4_MAX_HEADERS + 1};
    struct pt_sigv4_params p = {.creds = &creds, .region = "us-east-1", .service = "lambda",
                                .time = 0};
    pt_sigv4_signed_init(&s);
    assert_int_equal(pt_sigv4_sign(&req, &p, &s, &err), PT_ELIMIT);
    assert_non_null(strstr(err.msg, "headers"));
    /* The verifier refuses the same request as malformed, not as an internal error. */
    struct pt_sigv4_verify_params vp = {.keys = &creds, .key_count = 1, .service = "lambda"};
    struct pt_sigv4_verdict v;
    pt_sigv4_verdict_init(&v);
    assert_int_equal(pt_sigv4_verify(&req, &vp, &v, &err), PT_EPERM);
    assert_int_equal(v.reason, PT_SIGV4_MALFORMED);
    pt_sigv4_verdict_free(&v);
    /* A header the signer owns. */
    h[1] = (struct pt_sigv4_header){"X-Amz-Date", "20150830T123600Z"};
    req.header_count = 2;
    assert_int_equal(pt_sigv4_sign(&req, &p, &s, &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "x-amz-date"));
    /* No Host. */
    req.headers = h + 2;
    req.header_count = 1;
    assert_int_equal(pt_sigv4_sign(&req, &p, &s, &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "Host"));
    /* A path over the limit. */
    char *long_path = malloc(PT_SIGV4_MAX_PATH + 2);
    assert_non_null(long_path);
    memset(long_path, 'a', PT_SIGV4_MAX_PATH + 1);
    long_path[0] = '/';
    long_path[PT_SIGV4_MAX_PATH + 1] = '\0';
    req.headers = h;
    req.path = long_path;
    assert_int_equal(pt_sigv4_sign(&req, &p, &s, &err), PT_ELIMIT);
    free(long_path);
    /* A header name with a space, a value with a control character. */
    h[1] = (struct pt_sigv4_header){"Bad Name", "v"};
    req.path = "/";
    req.header_count = 2;
    assert_int_equal(pt_sigv4_sign(&req, &p, &s, &err), PT_EUSAGE);
    h[1] = (struct pt_sigv4_header){"x-ok", "a\001b"};
    assert_int_equal(pt_sigv4_sign(&req, &p, &s, &err), PT_EUSAGE);
    pt_sigv4_signed_free(&s);
}

static void test_dates(void **state)
{
    (void)state;
    int64_t t;
    char s[17];
    assert_int_equal(pt_sigv4_parse_date("20150830T123600Z", &t), 0);
    assert_int_equal(t, 1440938160);
    pt_sigv4_format_date(t, s);
    assert_string_equal(s, "20150830T123600Z");
    assert_int_equal(pt_sigv4_parse_date("20150230T123600Z", &t), -1);
    assert_int_equal(pt_sigv4_parse_date("20150830T123600", &t), -1);
    assert_int_equal(pt_sigv4_parse_date("2015083OT123600Z", &t), -1);
    assert_int_equal(pt_sigv4_parse_date("20150830T253600Z", &t), -1);
}

/* ------------------------------------------------------------------ */

/* <repo>/../shared/testdata/sigv4, the repo being the working directory (tests run from it). */
static bool vectors_dir(char *out, size_t size)
{
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd)))
        return false;
    return pt_path_join(out, size, cwd, "../shared/testdata/sigv4") == 0 && pt_path_is_dir(out);
}

static int vec_cmp(const void *a, const void *b)
{
    return strcmp(((const struct vector *)a)->name, ((const struct vector *)b)->name);
}

int main(void)
{
    char dir[PATH_MAX];
    struct vector *vecs = NULL;
    struct CMUnitTest *tests = NULL;
    size_t count = 0, ntests = 0;
    int failed = 0;

    if (!vectors_dir(dir, sizeof(dir))) {
        printf("SKIP: SigV4 test vectors not found at ../shared/testdata/sigv4 (relative to the "
               "repository root, the working directory); vector tests not run\n");
    } else {
        DIR *d = opendir(dir);
        struct dirent *e;
        vecs = calloc(2 * 256, sizeof(*vecs));
        assert_non_null(vecs);
        while (d && (e = readdir(d)) && count < 256) {
            char sub[PATH_MAX];
            if (e->d_name[0] == '.')
                continue;
            char probe[PATH_MAX];
            if (pt_path_join(sub, sizeof(sub), dir, e->d_name) != 0 ||
                pt_path_join(probe, sizeof(probe), sub, "context.json") != 0 ||
                !pt_path_is_file(probe))
                continue;
            pt_strlcpy(vecs[count].dir, sub, sizeof(vecs[count].dir));
            pt_strlcpy(vecs[count].name, e->d_name, sizeof(vecs[count].name));
            count++;
        }
        if (d)
            closedir(d);
        qsort(vecs, count, sizeof(*vecs), vec_cmp);
        for (size_t i = 0; i < count; i++) {
            vecs[count + i] = vecs[i];
            vecs[count + i].query_form = true;
        }
        tests = calloc(2 * count + 1, sizeof(*tests));
        char (*names)[160] = calloc(2 * count + 1, sizeof(*names));
        assert_non_null(tests);
        assert_non_null(names);
        for (size_t i = 0; i < 2 * count; i++) {
            snprintf(names[i], sizeof(names[i]), "%s/%s", vecs[i].name,
                     vecs[i].query_form ? "query" : "header");
            tests[ntests++] = (struct CMUnitTest){.name = names[i], .test_func = test_vector,
                                                  .initial_state = &vecs[i]};
        }
        tests[ntests++] = (struct CMUnitTest){.name = "all_38_vectors_present",
                                              .test_func = test_all_vectors_present,
                                              .initial_state = &count};
        failed += _cmocka_run_group_tests("sigv4_vectors", tests, ntests, NULL, NULL);
        free(names);
        free(tests);
        free(vecs);
    }

    const struct CMUnitTest unit[] = {
        cmocka_unit_test(test_lambda_invoke_matches_botocore),
        cmocka_unit_test(test_verify_accepts_signed),
        cmocka_unit_test(test_verify_tampered_body),
        cmocka_unit_test(test_verify_tampered_parts),
        cmocka_unit_test(test_verify_wrong_secret),
        cmocka_unit_test(test_verify_missing_auth_and_headers),
        cmocka_unit_test(test_verify_request_without_headers),
        cmocka_unit_test(test_verify_unknown_key),
        cmocka_unit_test(test_verify_session_token),
        cmocka_unit_test(test_verify_scope),
        cmocka_unit_test(test_verify_clock_skew),
        cmocka_unit_test(test_verify_malformed_authorization),
        cmocka_unit_test(test_verify_presigned),
        cmocka_unit_test(test_path_encoding_s3_vs_others),
        cmocka_unit_test(test_limits_and_reserved_headers),
        cmocka_unit_test(test_dates),
    };
    failed += cmocka_run_group_tests_name("sigv4", unit, NULL, NULL);
    return failed;
}
