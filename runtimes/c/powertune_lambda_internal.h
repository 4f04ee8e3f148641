/*
 * powertune_lambda_internal.h - the pure parts of the runtime library
 * (header parsing, address checking, error documents), exposed only so
 * tests/unit/test_ptl_runtime.c can check them without a Runtime API
 * server. Functions are not part of the handler API and may change.
 */
#ifndef POWERTUNE_LAMBDA_INTERNAL_H
#define POWERTUNE_LAMBDA_INTERNAL_H

#include <stddef.h>

/*
 * Fixed buffers for the /next headers: they are reused for every
 * invocation, so reading headers allocates nothing. The sizes are well above
 * what Lambda sends (request ids are UUIDs, client context is at most 3,583
 * bytes of base64); a longer value is flagged, never silently cut.
 */
#define PTL_REQUEST_ID_MAX 128
#define PTL_ARN_MAX 512
#define PTL_TRACE_ID_MAX 512
#define PTL_CLIENT_CONTEXT_MAX 8192
#define PTL_COGNITO_MAX 2048
#define PTL_NUMBER_MAX 24
#define PTL_ERROR_TYPE_MAX 128 /* the engine keeps 128 bytes of Lambda-Runtime-Function-Error-Type */

struct ptl_next_headers {
    char request_id[PTL_REQUEST_ID_MAX];
    char invoked_arn[PTL_ARN_MAX];
    char trace_id[PTL_TRACE_ID_MAX];
    char client_context[PTL_CLIENT_CONTEXT_MAX];
    char cognito_identity[PTL_COGNITO_MAX];
    char deadline[PTL_NUMBER_MAX];
    char content_length[PTL_NUMBER_MAX];
    const char *too_long; /* name of the first header whose value did not fit, or NULL */
};

/* Empties all values (cheap: first bytes only). */
void ptl_headers_reset(struct ptl_next_headers *h);

/*
 * Takes one raw header line as libcurl hands it over ("Name: value\r\n",
 * not NUL-terminated). A status line ("HTTP/...") resets the set, so only
 * the final response's headers count. Unknown headers are ignored.
 */
void ptl_headers_line(struct ptl_next_headers *h, const char *line, size_t len);

/* Parses a non-negative decimal integer that fits a long long; 0 or -1. */
int ptl_parse_ull(const char *s, long long *out);

/*
 * Builds "http://<host:port>/2018-06-01" from AWS_LAMBDA_RUNTIME_API's
 * value into base (cap bytes). 0, or -1 when the value is not host:port
 * (host: IPv4, name or [IPv6]; port 1..65535).
 */
int ptl_base_url(const char *api, char *base, size_t cap);

/* True when id can be put in a URL path as is (what UUIDs and the engine's ids are made of). */
int ptl_request_id_ok(const char *id);

/* Copies a header value, replacing control characters (no header injection) and cutting at cap-1. */
void ptl_header_value(const char *in, char *out, size_t cap);

/*
 * The error document {"errorMessage":...,"errorType":...,"stackTrace":[]}
 * (malloc'd, NUL-terminated). msg may be NULL (""), any bytes: invalid
 * UTF-8 is replaced by '?', and it is cut to PTL_ERROR_MESSAGE_MAX. 0 or
 * PTL_ENOMEM.
 */
int ptl_error_body(const char *type, const char *msg, char **out, size_t *out_len);

#endif
