/*
 * powertune_lambda_internal.h - the pure parts of the runtime library
 * (header parsing, address checking, error documents), exposed only so
 * tests/unit/test_ptl_runtime.c can check them without a Runtime API
 * server. Functions are not part of the handler API and may change.
 */
#ifndef POWERTUNE_LAMBDA_INTERNAL_H
#define POWERTUNE_LAMBDA_INTERNAL_H

#include <stddef.h>
#include <sys/socket.h>

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
 * Takes one raw header line as the HTTP client hands it over ("Name: value\r\n",
 * not NUL-terminated). A status line ("HTTP/...") resets the set, so only
 * the final response's headers count. Unknown headers are ignored.
 */
void ptl_headers_line(struct ptl_next_headers *h, const char *line, size_t len);

/* Parses a non-negative decimal integer that fits a long long; 0 or -1. */
int ptl_parse_ull(const char *s, long long *out);

/*
 * Splits AWS_LAMBDA_RUNTIME_API's value into host (brackets of an [IPv6]
 * removed) and port. 0, or -1 when the value is not host:port (host: IPv4,
 * name or [IPv6]; port 1..65535) or a part does not fit its buffer.
 */
int ptl_api_address(const char *api, char *host, size_t host_cap, char *port, size_t port_cap);

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

/* ---- ptl_http.c: the Runtime API's HTTP/1.1 client (why not libcurl: see there) ---- */

/* Internal codes besides enum ptl_status; ptl_http_request never returns PTL_ECLOSED. */
#define PTL_ECLOSED (-100)   /* the peer closed or reset the connection */
#define PTL_EREFUSED (-101)  /* the sink refused the body; the connection was dropped */

#define PTL_HTTP_HOST_MAX 256            /* AWS_LAMBDA_RUNTIME_API's host part */
#define PTL_HTTP_BUF (64 * 1024)         /* read buffer = the longest response head accepted */
#define PTL_HTTP_REQUEST_HEAD_MAX 2048   /* request line + headers we send */

struct ptl_http_head {
    int status;
    long long content_length; /* -1: none (chunked, or framed by the end of the stream) */
    int chunked;
    int keep_alive;
};

/* Gets each head line as received (status line first, CRLF included, not NUL-terminated). */
typedef void (*ptl_http_header_fn)(void *arg, const char *line, size_t len);
/* Gets the body in pieces; returns 0, or non-zero to refuse the rest. */
typedef int (*ptl_http_sink)(void *arg, const char *data, size_t len);

/*
 * Parses a response head (status line through the blank line). 0, or -1 when
 * it is not HTTP/1.x, has a malformed line (a status below 100 included),
 * conflicting Content-Lengths or a transfer coding other than chunked.
 * on_header may be NULL.
 */
int ptl_http_parse_head(const char *head, size_t len, struct ptl_http_head *out,
                        ptl_http_header_fn on_header, void *arg);

/* Parses a chunk-size line (hex digits, optional ";ext", no CRLF). 0 or -1. */
int ptl_http_chunk_size(const char *line, size_t len, size_t *out);

struct ptl_http {
    int fd; /* -1 while not connected */
    int family;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char host_header[PTL_HTTP_HOST_MAX + 8];
    char error[256];       /* what the last failure was, for the caller's log line */
    size_t pos, end;       /* unread bytes are buf[pos, end) */
    char buf[PTL_HTTP_BUF];
};

struct ptl_http_request {
    const char *method, *path;
    const char *headers;   /* extra header lines, each ending in CRLF; NULL for none */
    const char *body;      /* NULL: no body and no Content-Length */
    size_t body_len;
    long timeout_ms;       /* for the whole exchange; 0 waits for ever (the /next long poll) */
};

/* Checks AWS_LAMBDA_RUNTIME_API (an IP address or localhost, and a port); connects lazily. 0 or PTL_ECONFIG. */
int ptl_http_init(struct ptl_http *c, const char *api);

/*
 * One exchange on the kept-alive connection (opened, or reopened once when
 * the peer had closed it, as needed). *status is the final response's status
 * (also when the sink refused the body). 0, PTL_ETRANSPORT, PTL_EPROTO or
 * PTL_EREFUSED; c->error says why.
 */
int ptl_http_request(struct ptl_http *c, const struct ptl_http_request *req, ptl_http_header_fn on_header,
                     ptl_http_sink sink, void *arg, int *status);

void ptl_http_close(struct ptl_http *c);

#endif
