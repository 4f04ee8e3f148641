/*
 * client.h - the HTTP(S) client for AWS's REST-JSON APIs (Lambda), on libcurl.
 *
 * Every request is SigV4-signed (sigv4.h) with the resolved credentials and
 * region, sent to --endpoint-url or the regional endpoint
 * https://<service>.<region>.amazonaws.com (.com.cn in China, ...), and retried (bounded, exponential
 * backoff with full jitter) on connection failures, 5xx and - unless the
 * caller wants throttles back, as the tuner's runner does - on 429.
 * Error responses are parsed the way botocore does (x-amzn-ErrorType, else
 * the body's code/__type; message from message/Message) and mapped to PT_E*
 * codes; the AWS message goes into struct pt_error. Response bodies are
 * bounded by the caller's limit. Secrets never leave struct
 * pt_aws_credentials: nothing here prints headers.
 *
 * Thread-safe: each request has a curl easy handle to itself, taken from a
 * small pool of idle handles (which keeps connections alive: no TCP/TLS
 * handshake per invocation), so the runner's threads can invoke at once. The process must have called
 * curl_global_init before the first request (cmd_tune does, before any thread).
 */
#ifndef PT_AWS_CLIENT_H
#define PT_AWS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "aws/credentials.h"
#include "aws/sigv4.h"
#include "base/buf.h"
#include "base/error.h"

#define PT_AWS_URL_MAX 1024
#define PT_AWS_CONTROL_RESPONSE_MAX (1024 * 1024)        /* control-plane JSON */
#define PT_AWS_INVOKE_RESPONSE_MAX (6291556 + 64 * 1024) /* 6 MB + 100 (Lambda) + slack */
#define PT_AWS_ERROR_CODE_MAX 128
#define PT_AWS_ERROR_MESSAGE_MAX 512

struct pt_aws_client_options {
    const char *endpoint_url;          /* NULL/"": https://<service>.<region>.amazonaws.com */
    const char *region;                /* signing region */
    const char *service;               /* signing name, "lambda" */
    const struct pt_aws_credentials *creds; /* copied */
    long connect_timeout_ms;           /* <= 0: 5000 */
    long timeout_ms;                   /* whole request; <= 0: 60000 */
    int max_attempts;                  /* <= 0: 5 (first try included) */
    int backoff_base_ms;               /* <= 0: 100 (doubling, full jitter) */
    int backoff_max_ms;                /* <= 0: 5000 */
    /* Asked about once a second during an interruptible request (an invocation, which may
     * last 15 minutes): true abandons it with PT_EINTR. NULL: never. */
    bool (*interrupted)(void *arg);
    void *interrupted_arg;
};

struct pt_aws_client;

int pt_aws_client_create(struct pt_aws_client **out, const struct pt_aws_client_options *o,
                         struct pt_error *err);
void pt_aws_client_destroy(struct pt_aws_client *c);
/* "http://127.0.0.1:9001" or "https://lambda.us-east-1.amazonaws.com" (no trailing slash). */
const char *pt_aws_client_endpoint(const struct pt_aws_client *c);

struct pt_aws_request {
    const char *method;  /* "GET", "POST", "PUT", "DELETE" */
    const char *path;    /* already percent-encoded, as sent: "/2015-03-31/functions/f" */
    const char *query;   /* encoded, without '?'; NULL = none */
    const struct pt_sigv4_header *headers; /* extra headers (signed too) */
    size_t header_count;
    const void *body;
    size_t body_len;
    const char *content_type;  /* NULL: none */
    size_t response_limit;     /* 0: PT_AWS_CONTROL_RESPONSE_MAX */
    long timeout_ms;           /* 0: the client's */
    bool no_throttle_retry;    /* 429 comes back at once as PT_ETHROTTLED */
    bool interruptible;        /* the client's interrupted() may abandon it (PT_EINTR) */
};

struct pt_aws_response {
    long status;
    struct pt_buf body;
    char error_code[PT_AWS_ERROR_CODE_MAX];       /* "ResourceNotFoundException" or "" */
    char error_message[PT_AWS_ERROR_MESSAGE_MAX];
    char reason[64];              /* TooManyRequestsException's Reason */
    char function_error[64];      /* X-Amz-Function-Error */
    char executed_version[32];    /* X-Amz-Executed-Version */
    char request_id[64];          /* x-amzn-RequestId */
    char *log_result;             /* X-Amz-Log-Result (base64, malloc'd) or NULL */
    long retry_after_s;           /* Retry-After, or -1 */
    int attempts;
};

void pt_aws_response_init(struct pt_aws_response *r);
void pt_aws_response_free(struct pt_aws_response *r);

/*
 * Sends req (with retries). 0 for 2xx; otherwise the mapped PT_E* code with err naming the
 * operation, AWS's code and message and the HTTP status; resp keeps what was received either way.
 * op names the call in messages ("GetFunctionConfiguration").
 */
int pt_aws_request_send(struct pt_aws_client *c, const char *op, const struct pt_aws_request *req,
                        struct pt_aws_response *resp, struct pt_error *err);

/* Building blocks, exposed for the unit tests. */
/* AWS error code -> PT_E* (status used when the code is unknown). */
int pt_aws_error_code_map(const char *code, long status);
/* botocore's rule: header value cut at ':' and after the last '#', else body code/Code/__type. */
void pt_aws_error_parse(const char *error_type_header, const char *body, size_t body_len,
                        char *code, size_t code_size, char *message, size_t message_size,
                        char *reason, size_t reason_size);
/* Replaces each occurrence of secret in msg (whole, its first 16 characters, or 8+ cut off at
 * msg's end) with "****". Secrets shorter than 8 characters are left alone. */
void pt_aws_redact(char *msg, const char *secret);
/* Backoff before retry number attempt (0-based): uniform in [0, min(max, base * 2^attempt)]. */
long pt_aws_backoff_ms(int attempt, int base_ms, int max_ms);
/* https://<service>.<region>.<the region's partition's DNS suffix>: amazonaws.com, or
 * amazonaws.com.cn for cn-*, c2s.ic.gov for us-iso-*, ... */
void pt_aws_default_endpoint(const char *service, const char *region, char *out, size_t size);
/* The path part of a base URL ("/prefix" of "http://host:1/prefix", else ""): sent and signed. */
const char *pt_aws_endpoint_path(const char *base);
/* Splits "scheme://host[:port][/path]" into the base URL and the Host header value. */
int pt_aws_endpoint_parse(const char *url, char *base, size_t base_size, char *host,
                          size_t host_size, struct pt_error *err);

#endif
