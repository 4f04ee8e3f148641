/*
 * ptl_http.c - the C handler library's HTTP/1.1 client for the Runtime API.
 *
 * Why not libcurl, the project's HTTP client everywhere else: a function is
 * a fresh process at every cold start, and loading Debian's libcurl maps 34
 * shared libraries and resolves about 9,000 symbols before main() runs:
 * about 5 ms per start, the whole of the engine's cold-start budget
 * (bench/RESULTS.md, "Engine"). The Runtime API is plain HTTP/1.1 to one
 * loopback peer, the engine, so this client only needs one keep-alive TCP
 * connection, requests with Content-Length bodies, and responses framed by
 * Content-Length, chunked encoding or the end of the stream (RFC 9112 §6.3).
 * No TLS, proxies, redirects, cookies or authentication: none exists there.
 *
 * Bounds: a response head is at most PTL_HTTP_HEAD_MAX bytes; bodies go to
 * the caller's sink, which refuses what it will not hold; every wait has a
 * deadline except the one a request asks to be unbounded (the /next long
 * poll: the engine freezes the process while it waits).
 */
#include "powertune_lambda.h"
#include "powertune_lambda_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define PTL_HTTP_CONNECT_TIMEOUT_MS 2000L

static int http_fail(struct ptl_http *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int http_fail(struct ptl_http *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error, sizeof c->error, fmt, ap);
    va_end(ap);
    return code;
}

/* ---- pure parts ---- */

int ptl_api_address(const char *api, char *host, size_t host_cap, char *port, size_t port_cap)
{
    if (!api || !*api)
        return -1;
    const char *colon = strrchr(api, ':');
    if (!colon || colon == api)
        return -1;
    long long port_value;
    size_t port_len = strlen(colon + 1);
    if (port_len > 5 || ptl_parse_ull(colon + 1, &port_value) != 0 || port_value < 1 ||
        port_value > 65535)
        return -1;
    const char *h = api;
    size_t host_len = (size_t)(colon - api);
    if (api[0] == '[') {
        /* [IPv6]: hex digits, ':' and '.' between the brackets, nothing else. */
        if (host_len < 3 || api[host_len - 1] != ']')
            return -1;
        for (size_t i = 1; i < host_len - 1; i++)
            if (!strchr("0123456789abcdefABCDEF:.", api[i]))
                return -1;
        h = api + 1;
        host_len -= 2;
    } else {
        for (size_t i = 0; i < host_len; i++) {
            char ch = api[i];
            if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                  ch == '.' || ch == '-'))
                return -1;
        }
    }
    if (host_len >= host_cap || port_len >= port_cap)
        return -1;
    memcpy(host, h, host_len);
    host[host_len] = '\0';
    memcpy(port, colon + 1, port_len + 1);
    return 0;
}

/* True when the header line (no CRLF) is "name: ..." for this name, any case. */
static int header_is(const char *line, size_t len, const char *name, size_t name_len)
{
    return len > name_len && line[name_len] == ':' && strncasecmp(line, name, name_len) == 0;
}

/* The value of a header line: after the colon, without surrounding blanks. */
static const char *header_value(const char *line, size_t len, size_t name_len, size_t *vlen)
{
    const char *v = line + name_len + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *vlen = (size_t)(end - v);
    return v;
}

/* True when a comma-separated header value lists token (any case). */
static int value_lists(const char *v, size_t vlen, const char *token)
{
    size_t tlen = strlen(token);
    const char *end = v + vlen;
    while (v < end) {
        const char *comma = memchr(v, ',', (size_t)(end - v));
        const char *item_end = comma ? comma : end;
        while (v < item_end && (*v == ' ' || *v == '\t'))
            v++;
        const char *e = item_end;
        while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if ((size_t)(e - v) == tlen && strncasecmp(v, token, tlen) == 0)
            return 1;
        v = comma ? comma + 1 : end;
    }
    return 0;
}

int ptl_http_parse_head(const char *head, size_t len, struct ptl_http_head *out,
                        ptl_http_header_fn on_header, void *arg)
{
    memset(out, 0, sizeof *out);
    out->content_length = -1;
    /* Status line: HTTP/1.x SP 3DIGIT [SP reason] CRLF */
    const char *eol = memchr(head, '\n', len);
    if (!eol || len < 12 || memcmp(head, "HTTP/1.", 7) != 0 || (head[7] != '0' && head[7] != '1') ||
        head[8] != ' ')
        return -1;
    for (int i = 9; i < 12; i++)
        if (head[i] < '0' || head[i] > '9')
            return -1;
    /* Status codes are 100..599 (RFC 9110 §15): "0xx" would pass below as a final response
     * without a body, and a 6xx-9xx is no server's answer this client can act on. */
    if (head[9] == '0' || head[9] > '5')
        return -1;
    if (head + 12 < eol && head[12] != ' ' && head[12] != '\r')
        return -1;
    out->status = (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
    out->keep_alive = head[7] == '1'; /* HTTP/1.1 keeps the connection unless told otherwise */
    if (on_header)
        on_header(arg, head, (size_t)(eol + 1 - head));

    const char *p = eol + 1, *end = head + len;
    int have_length = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return -1;
        size_t line_len = (size_t)(nl - p);
        if (line_len > 0 && p[line_len - 1] == '\r')
            line_len--;
        if (line_len == 0)
            break; /* the blank line ending the head */
        if (*p == ' ' || *p == '\t')
            return -1; /* obsolete line folding: refused (RFC 9112 §5.2) */
        size_t vlen;
        const char *v;
        if (header_is(p, line_len, "Content-Length", 14)) {
            long long n;
            char digits[PTL_NUMBER_MAX];
            v = header_value(p, line_len, 14, &vlen);
            if (vlen == 0 || vlen >= sizeof digits)
                return -1;
            memcpy(digits, v, vlen);
            digits[vlen] = '\0';
            if (ptl_parse_ull(digits, &n) != 0 || (have_length && n != out->content_length))
                return -1; /* conflicting lengths: a smuggling risk, never guessed */
            out->content_length = n;
            have_length = 1;
        } else if (header_is(p, line_len, "Transfer-Encoding", 17)) {
            v = header_value(p, line_len, 17, &vlen);
            if (!value_lists(v, vlen, "chunked"))
                return -1; /* no other coding is ever sent by a Runtime API */
            out->chunked = 1;
        } else if (header_is(p, line_len, "Connection", 10)) {
            v = header_value(p, line_len, 10, &vlen);
            if (value_lists(v, vlen, "close"))
                out->keep_alive = 0;
            else if (value_lists(v, vlen, "keep-alive"))
                out->keep_alive = 1;
        } else if (!memchr(p, ':', line_len)) {
            return -1;
        }
        if (on_header)
            on_header(arg, p, (size_t)(nl + 1 - p));
        p = nl + 1;
    }
    if (out->chunked)
        out->content_length = -1; /* chunked wins over a length (RFC 9112 §6.3) */
    /* 1xx, 204 and 304 never carry a body. */
    if (out->status < 200 || out->status == 204 || out->status == 304)
        out->content_length = 0, out->chunked = 0;
    return 0;
}

int ptl_http_chunk_size(const char *line, size_t len, size_t *out)
{
    size_t v = 0, i = 0;
    for (; i < len; i++) {
        char ch = line[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                         : -1;
        if (d < 0)
            break;
        if (v > (PTL_EVENT_MAX * 2) >> 4)
            return -1; /* far past any body this library accepts */
        v = v * 16 + (size_t)d;
    }
    if (i == 0)
        return -1;
    /* Only blanks or a chunk extension (";...") may follow the digits. */
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i < len && line[i] != ';')
        return -1;
    *out = v;
    return 0;
}

/* ---- the connection ---- */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events; deadline < 0 waits for ever. 0, or PTL_ETRANSPORT. */
static int wait_fd(struct ptl_http *c, short events, long long deadline, const char *what)
{
    for (;;) {
        int timeout = -1;
        if (deadline >= 0) {
            long long left = deadline - now_ms();
            if (left <= 0)
                return http_fail(c, PTL_ETRANSPORT, "timed out %s", what);
            timeout = left > 60000 ? 60000 : (int)left;
        }
        struct pollfd pfd = {.fd = c->fd, .events = events};
        int n = poll(&pfd, 1, timeout);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return http_fail(c, PTL_ETRANSPORT, "poll: %s", strerror(errno));
    }
}

void ptl_http_close(struct ptl_http *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->pos = c->end = 0;
}

int ptl_http_init(struct ptl_http *c, const char *api)
{
    char host[PTL_HTTP_HOST_MAX], port[8];
    memset(c, 0, sizeof *c);
    c->fd = -1;
    if (ptl_api_address(api, host, sizeof host, port, sizeof port) != 0 ||
        strlen(api) >= sizeof c->host_header)
        return http_fail(c, PTL_ECONFIG, "\"%s\" is not host:port", api);
    memcpy(c->host_header, api, strlen(api) + 1);
    /*
     * An address, never a name: Lambda, the engine and the runtime interface emulator all pass
     * 127.0.0.1:<port>. Without getaddrinfo a handler linked with -static (as the examples are:
     * no dynamic loader at a cold start) carries no dependency on glibc's NSS modules.
     */
    long port_value = strtol(port, NULL, 10);
    if (strcmp(host, "localhost") == 0)
        memcpy(host, "127.0.0.1", sizeof "127.0.0.1");
    struct sockaddr_in *v4 = (struct sockaddr_in *)&c->addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&c->addr;
    memset(&c->addr, 0, sizeof c->addr);
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port_value);
        c->addr_len = sizeof *v4;
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port_value);
        c->addr_len = sizeof *v6;
    } else {
        return http_fail(c, PTL_ECONFIG,
                         "\"%s\": the Runtime API's host must be an IP address or localhost", api);
    }
    c->family = c->addr.ss_family;
    return 0;
}

static int http_connect(struct ptl_http *c)
{
    c->fd = socket(c->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return http_fail(c, PTL_ETRANSPORT, "socket: %s", strerror(errno));
    int one = 1;
    /* Small requests: no Nagle delay between a head and its body. */
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&c->addr, c->addr_len) != 0) {
        int rc = 0, soerr = 0;
        socklen_t sl = sizeof soerr;
        if (errno != EINPROGRESS && errno != EINTR)
            rc = http_fail(c, PTL_ETRANSPORT, "connect to %s: %s", c->host_header, strerror(errno));
        else if ((rc = wait_fd(c, POLLOUT, now_ms() + PTL_HTTP_CONNECT_TIMEOUT_MS, "connecting")) == 0 &&
                 (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0))
            rc = http_fail(c, PTL_ETRANSPORT, "connect to %s: %s", c->host_header,
                           strerror(soerr ? soerr : errno));
        if (rc != 0) {
            ptl_http_close(c);
            return rc;
        }
    }
    /* Blocking from here: waits with a deadline poll first, and the rest pass MSG_DONTWAIT. */
    int flags = fcntl(c->fd, F_GETFL);
    if (flags < 0 || fcntl(c->fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        int rc = http_fail(c, PTL_ETRANSPORT, "fcntl: %s", strerror(errno));
        ptl_http_close(c);
        return rc;
    }
    c->pos = c->end = 0;
    return 0;
}

/* Sends all of iov; EPIPE/ECONNRESET are reported as PTL_ECLOSED (a reused connection died). */
static int send_all(struct ptl_http *c, struct iovec *iov, int iovcnt, long long deadline)
{
    while (iovcnt > 0) {
        struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)iovcnt};
        ssize_t n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                int rc = wait_fd(c, POLLOUT, deadline, "sending the request");
                if (rc != 0)
                    return rc;
                continue;
            }
            if (errno == EPIPE || errno == ECONNRESET)
                return http_fail(c, PTL_ECLOSED, "the connection was closed: %s", strerror(errno));
            return http_fail(c, PTL_ETRANSPORT, "send: %s", strerror(errno));
        }
        size_t left = (size_t)n;
        while (iovcnt > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++, iovcnt--;
        }
        if (iovcnt > 0) {
            iov->iov_base = (char *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return 0;
}

/* Reads more into the buffer (compacting it first). >0 bytes read, 0 at end of stream, or < 0. */
static ssize_t fill(struct ptl_http *c, long long deadline)
{
    if (c->pos > 0) {
        memmove(c->buf, c->buf + c->pos, c->end - c->pos);
        c->end -= c->pos;
        c->pos = 0;
    }
    if (c->end == sizeof c->buf)
        return http_fail(c, PTL_EPROTO, "response line or head over %zu bytes", sizeof c->buf);
    for (;;) {
        /* Without a deadline (the /next long poll) one blocking recv is the whole wait. */
        if (deadline >= 0) {
            int rc = wait_fd(c, POLLIN, deadline, "waiting for the response");
            if (rc != 0)
                return rc;
        }
        ssize_t n = recv(c->fd, c->buf + c->end, sizeof c->buf - c->end, deadline >= 0 ? MSG_DONTWAIT : 0);
        if (n >= 0) {
            c->end += (size_t)n;
            return n;
        }
        if (errno == EINTR || errno == EAGAIN)
            continue;
        if (errno == ECONNRESET)
            return http_fail(c, PTL_ECLOSED, "the connection was reset");
        return http_fail(c, PTL_ETRANSPORT, "recv: %s", strerror(errno));
    }
}

/* Makes a whole line (up to LF) available at buf + pos; returns its length with the LF. */
static ssize_t buffered_line(struct ptl_http *c, long long deadline)
{
    size_t scanned = 0;
    for (;;) {
        const char *nl = memchr(c->buf + c->pos + scanned, '\n', c->end - c->pos - scanned);
        if (nl)
            return nl + 1 - (c->buf + c->pos);
        scanned = c->end - c->pos;
        ssize_t n = fill(c, deadline);
        if (n < 0)
            return n;
        if (n == 0)
            return http_fail(c, PTL_ETRANSPORT, "the connection closed inside a response");
    }
}

/* Hands len body bytes to the sink (what is buffered first). 0, a read error, or PTL_EREFUSED. */
static int deliver(struct ptl_http *c, size_t len, long long deadline, ptl_http_sink sink, void *arg)
{
    while (len > 0) {
        if (c->pos == c->end) {
            ssize_t n = fill(c, deadline);
            if (n < 0)
                return (int)n;
            if (n == 0)
                return http_fail(c, PTL_ETRANSPORT, "the connection closed %zu bytes before the body's end",
                                 len);
        }
        size_t take = c->end - c->pos < len ? c->end - c->pos : len;
        if (sink(arg, c->buf + c->pos, take) != 0)
            return http_fail(c, PTL_EREFUSED, "the body was refused");
        c->pos += take;
        len -= take;
    }
    return 0;
}

static int read_chunked(struct ptl_http *c, long long deadline, ptl_http_sink sink, void *arg)
{
    for (;;) {
        ssize_t line = buffered_line(c, deadline);
        size_t size;
        if (line < 0)
            return (int)line;
        size_t digits_len = (size_t)line - 1;
        if (digits_len > 0 && c->buf[c->pos + digits_len - 1] == '\r')
            digits_len--;
        if (ptl_http_chunk_size(c->buf + c->pos, digits_len, &size) != 0)
            return http_fail(c, PTL_EPROTO, "malformed chunk size");
        c->pos += (size_t)line;
        if (size == 0)
            break;
        int rc = deliver(c, size, deadline, sink, arg);
        if (rc != 0)
            return rc;
        if ((line = buffered_line(c, deadline)) < 0)
            return (int)line;
        if (line > 2 || (line == 2 && c->buf[c->pos] != '\r'))
            return http_fail(c, PTL_EPROTO, "chunk data longer than its size");
        c->pos += (size_t)line;
    }
    /* Trailer fields, ignored, up to the blank line. */
    for (;;) {
        ssize_t line = buffered_line(c, deadline);
        if (line < 0)
            return (int)line;
        int blank = line == 1 || (line == 2 && c->buf[c->pos] == '\r');
        c->pos += (size_t)line;
        if (blank)
            return 0;
    }
}

static int read_to_end(struct ptl_http *c, long long deadline, ptl_http_sink sink, void *arg)
{
    for (;;) {
        if (c->pos < c->end) {
            if (sink(arg, c->buf + c->pos, c->end - c->pos) != 0)
                return http_fail(c, PTL_EREFUSED, "the body was refused");
            c->pos = c->end;
        }
        ssize_t n = fill(c, deadline);
        if (n <= 0)
            return (int)n;
    }
}

/* The LF starting the blank line that ends a head ("\n\r\n" or a bare "\n\n"), or NULL. */
static const char *head_end(const char *p, size_t len)
{
    const char *end = p + len;
    while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        if (end - p >= 2 && p[1] == '\n')
            return p;
        if (end - p >= 3 && p[1] == '\r' && p[2] == '\n')
            return p;
        p++;
    }
    return NULL;
}

/* Reads one response (skipping 1xx interim ones) into *head, the head's lines and the body. */
static int read_response(struct ptl_http *c, long long deadline, struct ptl_http_head *head,
                         ptl_http_header_fn on_header, ptl_http_sink sink, void *arg, int *got_bytes)
{
    for (;;) {
        size_t scanned = 0;
        const char *blank;
        /* The head ends at the first empty line; anything after it is the body's start. */
        while (!(blank = head_end(c->buf + c->pos + scanned, c->end - c->pos - scanned))) {
            size_t have = c->end - c->pos;
            scanned = have > 3 ? have - 3 : 0;
            ssize_t n = fill(c, deadline);
            if (n < 0)
                return (int)n;
            if (n == 0)
                return c->end > c->pos ? http_fail(c, PTL_ETRANSPORT, "the connection closed inside a response head")
                                       : http_fail(c, PTL_ECLOSED, "the connection was closed before a response");
            *got_bytes = 1;
        }
        size_t head_len = (size_t)(blank - (c->buf + c->pos)) + (blank[1] == '\r' ? 3 : 2);
        if (ptl_http_parse_head(c->buf + c->pos, head_len, head, on_header, arg) != 0)
            return http_fail(c, PTL_EPROTO, "malformed response head: %.60s", c->buf + c->pos);
        c->pos += head_len;
        if (head->status >= 100 && head->status < 200)
            continue;
        if (head->chunked)
            return read_chunked(c, deadline, sink, arg);
        if (head->content_length >= 0)
            return deliver(c, (size_t)head->content_length, deadline, sink, arg);
        head->keep_alive = 0; /* framed by the end of the stream */
        return read_to_end(c, deadline, sink, arg);
    }
}

int ptl_http_request(struct ptl_http *c, const struct ptl_http_request *req, ptl_http_header_fn on_header,
                     ptl_http_sink sink, void *arg, int *status)
{
    char head[PTL_HTTP_REQUEST_HEAD_MAX];
    long long deadline = req->timeout_ms > 0 ? now_ms() + req->timeout_ms : -1;
    int n = req->body ? snprintf(head, sizeof head,
                                 "%s %s HTTP/1.1\r\nHost: %s\r\n%sContent-Length: %zu\r\n\r\n",
                                 req->method, req->path, c->host_header, req->headers ? req->headers : "",
                                 req->body_len)
                      : snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", req->method,
                                 req->path, c->host_header, req->headers ? req->headers : "");
    if (n < 0 || (size_t)n >= sizeof head)
        return http_fail(c, PTL_EPROTO, "request head over %zu bytes", sizeof head);
    *status = 0;
    /* A kept-alive connection the engine closed meanwhile fails before any reply: retry once afresh. */
    for (int attempt = 0;; attempt++) {
        int reused = c->fd >= 0, got_bytes = 0, rc;
        struct ptl_http_head resp = {0};
        if (!reused && (rc = http_connect(c)) != 0)
            return rc;
        struct iovec iov[2] = {{head, (size_t)n}, {(void *)req->body, req->body ? req->body_len : 0}};
        rc = send_all(c, iov, req->body && req->body_len ? 2 : 1, deadline);
        if (rc == 0)
            rc = read_response(c, deadline, &resp, on_header, sink, arg, &got_bytes);
        if (rc == PTL_ECLOSED && reused && !got_bytes && attempt == 0) {
            ptl_http_close(c);
            continue;
        }
        if (rc == 0 || rc == PTL_EREFUSED)
            *status = resp.status;
        if (rc != 0 || !resp.keep_alive || c->pos != c->end)
            ptl_http_close(c); /* unread or unframed bytes would corrupt the next response */
        return rc == PTL_ECLOSED ? PTL_ETRANSPORT : rc;
    }
}
