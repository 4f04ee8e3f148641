/*
 * sigv4.h - AWS Signature Version 4 (AWS4-HMAC-SHA256) on OpenSSL EVP, for
 * signing outgoing requests and verifying incoming ones.
 *
 * A client describes its request (method, path as sent on the wire, raw
 * query, headers, body) and gets either the headers to add (Authorization,
 * X-Amz-Date, X-Amz-Security-Token, X-Amz-Content-Sha256) or a presigned
 * query string. A server hands the request exactly as received to
 * pt_sigv4_verify, which recomputes the signature from the Credential scope
 * and compares it in constant time; a refusal carries the precise reason and
 * the error code and message AWS would answer with.
 *
 * Paths: `path` is the request-target path as on the wire (percent-encoded
 * or raw bytes; without '?query'). By default (every service but S3) it is
 * normalised (dot segments and empty segments removed) and encoded once more
 * ("double encoding": "%3A" becomes "%253A"), as botocore and aws-c-auth do.
 * PT_SIGV4_NO_NORMALIZE keeps the segments as sent (the test suite's
 * "normalize": false); PT_SIGV4_S3 turns both off: the path is decoded and
 * encoded once, and S3 also wants PT_SIGV4_CONTENT_SHA256_HEADER. A server
 * must pass the raw path: libmicrohttpd unescapes the url it hands to the
 * access handler unless MHD_OPTION_UNESCAPE_CALLBACK says otherwise.
 * Query: either the raw query string, or decoded name/value pairs (what
 * libmicrohttpd's argument iterator yields); both end up decoded, encoded
 * again (RFC 3986 unreserved set) and sorted, so either form signs the same.
 *
 * All inputs are bounded (PT_SIGV4_MAX_*); going over fails with PT_ELIMIT
 * (signing) or a MALFORMED refusal (verifying). Thread-safe: no shared state.
 */
#ifndef PT_AWS_SIGV4_H
#define PT_AWS_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws/credentials.h"
#include "base/buf.h"
#include "base/error.h"

#define PT_SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define PT_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

#define PT_SIGV4_MAX_HEADERS 128          /* headers in one request */
#define PT_SIGV4_MAX_HEADER_NAME 256
#define PT_SIGV4_MAX_HEADER_VALUE 16384
#define PT_SIGV4_MAX_PATH 8192
#define PT_SIGV4_MAX_QUERY 32768          /* raw query string */
#define PT_SIGV4_MAX_PARAMS 256           /* query parameters */
#define PT_SIGV4_MAX_CANONICAL (256 * 1024) /* canonical request, presigned query, ... */
#define PT_SIGV4_MAX_EXPIRES 604800       /* presigned URLs: at most 7 days */
#define PT_SIGV4_DEFAULT_SKEW 900         /* AWS accepts requests within 15 minutes */

/* Flags, for signing and verifying alike. 0 = the rules of every service but S3. */
enum {
    PT_SIGV4_S3 = 1u << 0,                 /* no path normalisation, no double encoding */
    PT_SIGV4_NO_NORMALIZE = 1u << 4,       /* keep dot / empty segments (still double encoded) */
    PT_SIGV4_CONTENT_SHA256_HEADER = 1u << 1, /* header form: add and sign x-amz-content-sha256 */
    PT_SIGV4_UNSIGNED_PAYLOAD_FLAG = 1u << 2, /* payload hash "UNSIGNED-PAYLOAD" */
    PT_SIGV4_OMIT_SESSION_TOKEN = 1u << 3,    /* session token sent but not signed (IoT) */
};

/* A header or a decoded query parameter; NUL-terminated strings. */
struct pt_sigv4_header {
    const char *name;
    const char *value;
};

struct pt_sigv4_request {
    const char *method;   /* "GET", "POST", ... */
    const char *path;     /* as on the wire, "" = "/" */
    const char *query;    /* raw query without '?', NULL or "" = none ... */
    const struct pt_sigv4_header *params; /* ... or decoded pairs (not both) */
    size_t param_count;
    const struct pt_sigv4_header *headers; /* must include Host */
    size_t header_count;
    const void *body;
    size_t body_len;
};

struct pt_sigv4_params {
    const struct pt_aws_credentials *creds;
    const char *region;
    const char *service;      /* signing name: "lambda", "s3", ... */
    int64_t time;             /* epoch seconds of X-Amz-Date */
    unsigned flags;           /* PT_SIGV4_* */
    long expires;             /* presigned: X-Amz-Expires in seconds, 1..604800 */
    const char *payload_hash; /* optional: hex SHA-256 of the body computed elsewhere */
};

/* What signing produced. Initialise with pt_sigv4_signed_init, free with pt_sigv4_signed_free. */
struct pt_sigv4_signed {
    char amz_date[17];       /* "20150830T123600Z" */
    char payload_hash[65];   /* hex, or "UNSIGNED-PAYLOAD" */
    char signature[65];
    struct pt_buf canonical_request;
    struct pt_buf string_to_sign;
    struct pt_buf signed_headers;  /* "host;x-amz-date" */
    struct pt_buf authorization;   /* header form: the Authorization value */
    struct pt_buf query;           /* query form: the complete query string to send */
    /* Header form: what the caller must add to the request (values point into this struct). */
    struct pt_sigv4_header add[4];
    size_t add_count;
};

void pt_sigv4_signed_init(struct pt_sigv4_signed *s);
void pt_sigv4_signed_free(struct pt_sigv4_signed *s);

/* Header form: fills out->add with Authorization and friends. */
int pt_sigv4_sign(const struct pt_sigv4_request *req, const struct pt_sigv4_params *p,
                  struct pt_sigv4_signed *out, struct pt_error *err);

/* Query (presigned) form: out->query is the request's query plus the X-Amz-* parameters. */
int pt_sigv4_presign(const struct pt_sigv4_request *req, const struct pt_sigv4_params *p,
                     struct pt_sigv4_signed *out, struct pt_error *err);

/* Why a request was refused. */
enum pt_sigv4_reason {
    PT_SIGV4_VALID = 0,
    PT_SIGV4_MISSING_AUTH,      /* neither an Authorization header nor X-Amz-Algorithm */
    PT_SIGV4_MALFORMED,         /* Authorization / Credential / dates unparseable, or too big */
    PT_SIGV4_MISSING_HEADER,    /* host, x-amz-date or a listed signed header absent */
    PT_SIGV4_UNKNOWN_KEY,       /* access key id not among the known credentials */
    PT_SIGV4_BAD_TOKEN,         /* X-Amz-Security-Token missing or not the key's */
    PT_SIGV4_BAD_SCOPE,         /* scope date != X-Amz-Date, wrong region/service/terminator */
    PT_SIGV4_SKEWED,            /* X-Amz-Date too far from now */
    PT_SIGV4_EXPIRED,           /* presigned URL past X-Amz-Expires */
    PT_SIGV4_PAYLOAD_MISMATCH,  /* x-amz-content-sha256 is not the body's hash */
    PT_SIGV4_MISMATCH,          /* the signature differs */
};

struct pt_sigv4_verify_params {
    const struct pt_aws_credentials *keys; /* the credentials requests may be signed with */
    size_t key_count;
    const char *region;   /* expected scope region; NULL = any */
    const char *service;  /* expected scope service ("lambda") */
    int64_t now;          /* epoch seconds */
    long max_skew;        /* seconds; 0 = PT_SIGV4_DEFAULT_SKEW, < 0 = do not check */
    unsigned flags;       /* PT_SIGV4_S3 for S3-style paths */
};

struct pt_sigv4_verdict {
    enum pt_sigv4_reason reason;
    int http_status;             /* 403 (400 for an incomplete signature) */
    const char *aws_code;        /* x-amzn-ErrorType, e.g. "InvalidSignatureException" */
    char access_key_id[PT_AWS_KEY_ID_MAX]; /* from the request (not secret) */
    bool presigned;
    /* On PT_SIGV4_MISMATCH: what the server computed, for AWS's long message. */
    struct pt_buf canonical_request;
    struct pt_buf string_to_sign;
};

void pt_sigv4_verdict_init(struct pt_sigv4_verdict *v);
void pt_sigv4_verdict_free(struct pt_sigv4_verdict *v);

/*
 * 0: the request is signed by one of p->keys. PT_EPERM: refused; v->reason,
 * v->aws_code and err->msg (AWS's message, naming the header / date / scope
 * part at fault) say why. Other codes: internal failure (PT_ENOMEM).
 */
int pt_sigv4_verify(const struct pt_sigv4_request *req, const struct pt_sigv4_verify_params *p,
                    struct pt_sigv4_verdict *v, struct pt_error *err);

const char *pt_sigv4_reason_name(enum pt_sigv4_reason r);

/* Building blocks, exposed for tests and for the HTTP client. */
/* Lowercase hex SHA-256 of data into out[65]. */
int pt_sigv4_sha256_hex(const void *data, size_t n, char out[65], struct pt_error *err);
/* "20150830T123600Z" for an epoch second (UTC). */
void pt_sigv4_format_date(int64_t epoch, char out[17]);
/* Strict parse of "YYYYMMDDTHHMMSSZ"; -1 if malformed. */
int pt_sigv4_parse_date(const char *s, int64_t *epoch);
/* Appends s percent-encoded: every byte outside A-Z a-z 0-9 -._~ (and '/' if keep_slash). */
int pt_sigv4_uri_encode(struct pt_buf *out, const char *s, size_t n, bool keep_slash,
                        struct pt_error *err);
/* Hex HMAC-SHA256 signature of string_to_sign with the key derived from secret/date/region/service. */
int pt_sigv4_signature(const char *secret, const char *date8, const char *region,
                       const char *service, const char *string_to_sign, size_t sts_len,
                       char out[65], struct pt_error *err);

#endif
