/*
 * fuzz_ptl_http_response - the C handler library's HTTP/1.1 client (runtimes/c/ptl_http.c)
 * reading whole Runtime API responses: ptl_http_request with the input as everything the peer
 * sends (interim 1xx heads, the head, a body framed by Content-Length, chunked encoding or the
 * end of the stream, trailers, garbage), then end of stream.
 *
 * The peer is the other end of an AF_UNIX socketpair made per input, so nothing touches the
 * network: the client's connection is that socket, and its address family is left unset, so a
 * reconnect (after a peer that closed without a reply) fails at socket() at once. The first
 * input byte picks the request (GET /next with a deadline or without one, a POST with a body)
 * and how much the body sink takes before refusing the rest. Head lines go to ptl_headers_line
 * as in the /next exchange. What the sink receives can only be bytes of the input, and at most
 * the bytes after the head; a status is reported only for a complete response or a refused body.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "powertune_lambda.h"
#include "powertune_lambda_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sink_state {
    size_t got, limit;
    unsigned sum;
    struct ptl_next_headers h;
};

static void on_line(void *arg, const char *line, size_t len)
{
    struct sink_state *s = arg;
    ptl_headers_line(&s->h, line, len);
}

static int sink(void *arg, const char *p, size_t len)
{
    struct sink_state *s = arg;
    for (size_t i = 0; i < len; i++) /* every byte read: ASan checks the whole piece */
        s->sum += (unsigned char)p[i];
    s->got += len;
    return s->got > s->limit ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The whole input sits in the socket buffer before the client reads: stay well under it. */
    if (size == 0 || size > 96 * 1024)
        return 0;
    uint8_t mode = data[0];
    data++, size--;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return 0;
    struct ptl_http *c = calloc(1, sizeof(*c));
    struct sink_state *s = calloc(1, sizeof(*s));
    if (!c || !s) {
        close(sv[0]);
        goto out;
    }
    c->fd = sv[0]; /* the client's from here: it closes it when the exchange ends badly */
    c->family = 0; /* AF_UNSPEC: a reconnect cannot happen */
    memcpy(c->host_header, "127.0.0.1:9001", sizeof("127.0.0.1:9001"));
    /* Non-blocking: should the buffer ever be full, the input is skipped rather than hung on. */
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(sv[1], data + off, size - off);
        if (w <= 0)
            goto out;
        off += (size_t)w;
    }
    shutdown(sv[1], SHUT_WR);
    static const size_t limits[] = {(size_t)-1, 0, 1, 7, 100, 4096};
    s->limit = limits[(mode >> 2) % (sizeof(limits) / sizeof(limits[0]))];
    ptl_headers_reset(&s->h);
    struct ptl_http_request req = {.method = "GET", .path = "/2018-06-01/runtime/invocation/next"};
    if (mode & 1)
        req.timeout_ms = 5000;
    if (mode & 2) {
        req.method = "POST";
        req.path = "/2018-06-01/runtime/invocation/8476a536-e9f4-11e8-9739-2dfe598c3fcd/response";
        req.headers = "Content-Type: application/json\r\n";
        req.body = "{\"ok\":true}";
        req.body_len = strlen(req.body);
    }
    int status = -1;
    int rc = ptl_http_request(c, &req, on_line, sink, s, &status);
    if (rc != 0 && rc != PTL_ETRANSPORT && rc != PTL_EPROTO && rc != PTL_EREFUSED)
        abort();
    if (s->got > size || (rc == PTL_EREFUSED && s->got <= s->limit))
        abort();
    if ((rc == 0 || rc == PTL_EREFUSED) ? (status < 100 || status > 999) : status != 0)
        abort();
    if (strnlen(c->error, sizeof(c->error)) >= sizeof(c->error))
        abort();
out:
    if (c)
        ptl_http_close(c); /* sv[0], unless the client closed it already */
    close(sv[1]);
    free(c);
    free(s);
    return 0;
}
