/*
 * test_ptl_http.c - the C handler library's HTTP/1.1 client (runtimes/c/ptl_http.c):
 * head parsing and chunk sizes as pure functions, then whole exchanges and
 * ptl_run() against a scripted loopback server thread that frames its
 * responses every way HTTP/1.1 allows (split writes, chunked, end of stream,
 * interim 100, closed keep-alive connections) and misbehaves (oversized,
 * malformed, silent).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "powertune_lambda.h"
#include "powertune_lambda_internal.h"

/* ---- pure parts ---- */

struct seen_lines {
    int n;
    char first[64];
};

static void count_line(void *arg, const char *line, size_t len)
{
    struct seen_lines *s = arg;
    if (s->n++ == 0)
        snprintf(s->first, sizeof s->first, "%.*s", (int)len, line);
}

static int parse(const char *head, struct ptl_http_head *h)
{
    return ptl_http_parse_head(head, strlen(head), h, NULL, NULL);
}

static void test_parse_head_framings(void **state)
{
    (void)state;
    struct ptl_http_head h;
    struct seen_lines seen = {0};
    const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nX-A: b\r\n\r\n";
    assert_int_equal(ptl_http_parse_head(ok, strlen(ok), &h, count_line, &seen), 0);
    assert_int_equal(h.status, 200);
    assert_int_equal(h.content_length, 12);
    assert_false(h.chunked);
    assert_true(h.keep_alive);
    assert_int_equal(seen.n, 3); /* the status line and both fields; not the blank line */
    assert_string_equal(seen.first, "HTTP/1.1 200 OK\r\n");

    assert_int_equal(parse("HTTP/1.1 202 Accepted\r\ntransfer-encoding:  chunked \r\nContent-Length: 5\r\n\r\n", &h), 0);
    assert_true(h.chunked);
    assert_int_equal(h.content_length, -1); /* chunked wins */
    assert_int_equal(parse("HTTP/1.0 200 OK\r\n\r\n", &h), 0);
    assert_false(h.keep_alive);
    assert_int_equal(h.content_length, -1);
    assert_int_equal(parse("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n\r\n", &h), 0);
    assert_true(h.keep_alive);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nConnection: foo, close\r\n\r\n", &h), 0);
    assert_false(h.keep_alive);
    assert_int_equal(parse("HTTP/1.1 204 No Content\r\n\r\n", &h), 0);
    assert_int_equal(h.content_length, 0);
    assert_int_equal(parse("HTTP/1.1 100 Continue\r\n\r\n", &h), 0);
    assert_int_equal(h.status, 100);
    assert_int_equal(parse("HTTP/1.1 200\n\n", &h), 0); /* bare LFs, no reason phrase */
    /* Two equal lengths are one length. */
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", &h), 0);
}

static void test_parse_head_refusals(void **state)
{
    (void)state;
    struct ptl_http_head h;
    const char *bad[] = {
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 2x0 OK\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "ICY 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: b\r\n folded\r\n\r\n",
        "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: b", /* no line end */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse(bad[i], &h) != -1)
            fail_msg("accepted: %s", bad[i]);
    }
}

/* Fuzz finding (tests/fuzz/corpus/ptl_http_head/crash-status-below-100): "HTTP/1.1 050" was taken
 * for a final response without a body, neither interim nor framed; no status class 0 exists.
 * Nor above 5 (RFC 9110 §15: 100..599). */
static void test_parse_head_status_below_100(void **state)
{
    (void)state;
    struct ptl_http_head h;
    assert_int_equal(parse("HTTP/1.1 050 Continue\r\n\r\n", &h), -1);
    assert_int_equal(parse("HTTP/1.1 001 Continue\r\n\r\n", &h), -1);
    assert_int_equal(parse("HTTP/1.1 000\r\n\r\n", &h), -1);
    assert_int_equal(parse("HTTP/1.1 100 Continue\r\n\r\n", &h), 0);
    assert_int_equal(h.status, 100);
    assert_int_equal(parse("HTTP/1.1 599 Odd\r\nContent-Length: 2\r\n\r\n", &h), 0);
    assert_int_equal(h.content_length, 2);
    /* and none above 599 */
    assert_int_equal(parse("HTTP/1.1 600 Odd\r\nContent-Length: 2\r\n\r\n", &h), -1);
    assert_int_equal(parse("HTTP/1.1 999 Odd\r\nContent-Length: 2\r\n\r\n", &h), -1);
}

static void test_chunk_size(void **state)
{
    (void)state;
    size_t n;
    assert_int_equal(ptl_http_chunk_size("1a", 2, &n), 0);
    assert_int_equal(n, 26);
    assert_int_equal(ptl_http_chunk_size("0", 1, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(ptl_http_chunk_size("FF;name=value", 13, &n), 0);
    assert_int_equal(n, 255);
    assert_int_equal(ptl_http_chunk_size("10 ", 3, &n), 0);
    assert_int_equal(n, 16);
    assert_int_equal(ptl_http_chunk_size("", 0, &n), -1);
    assert_int_equal(ptl_http_chunk_size("zz", 2, &n), -1);
    assert_int_equal(ptl_http_chunk_size("1 2", 3, &n), -1);
    assert_int_equal(ptl_http_chunk_size("fffffffffffffffffffff", 21, &n), -1);
}

/* ---- a scripted loopback server ---- */

struct srv {
    int listen_fd, port;
    pthread_t thread;
    void (*script)(struct srv *);
    int accepts;
    char requests[8][4096]; /* what each request looked like: head and body */
    int nrequests;
};

static int srv_accept(struct srv *s)
{
    int fd = accept(s->listen_fd, NULL, NULL);
    assert_true(fd >= 0);
    s->accepts++;
    return fd;
}

/* Reads one request (head + Content-Length body) into the next slot; 0, or -1 at end of stream. */
static int srv_read_request(struct srv *s, int fd)
{
    char *buf = s->requests[s->nrequests];
    size_t len = 0, cap = sizeof s->requests[0] - 1;
    char *end = NULL;
    while (!(end = strstr(buf, "\r\n\r\n"))) {
        ssize_t n = recv(fd, buf + len, cap - len, 0);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
    }
    const char *cl = strstr(buf, "Content-Length: ");
    size_t want = (size_t)(end + 4 - buf) + (cl && cl < end ? strtoul(cl + 16, NULL, 10) : 0);
    while (len < want) {
        ssize_t n = recv(fd, buf + len, cap - len, 0);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
    }
    s->nrequests++;
    return 0;
}

static void srv_send(int fd, const char *data)
{
    assert_int_equal(send(fd, data, strlen(data), MSG_NOSIGNAL), (ssize_t)strlen(data));
}

static void pause_ms(int ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

static void *srv_main(void *arg)
{
    struct srv *s = arg;
    s->script(s);
    return NULL;
}

static void srv_start(struct srv *s, void (*script)(struct srv *))
{
    memset(s, 0, sizeof *s);
    s->script = script;
    s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_int_equal(bind(s->listen_fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->listen_fd, 8), 0);
    assert_int_equal(getsockname(s->listen_fd, (struct sockaddr *)&a, &al), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, srv_main, s), 0);
}

static void srv_join(struct srv *s)
{
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
}

static void client_init(struct ptl_http *c, const struct srv *s)
{
    char api[32];
    snprintf(api, sizeof api, "127.0.0.1:%d", s->port);
    assert_int_equal(ptl_http_init(c, api), 0);
}

/* The Runtime API's address: an IP address (either family) or localhost, never a name to resolve. */
static void test_init_addresses(void **state)
{
    (void)state;
    struct ptl_http c;
    assert_int_equal(ptl_http_init(&c, "127.0.0.1:9001"), 0);
    assert_int_equal(c.family, AF_INET);
    assert_int_equal(ntohs(((struct sockaddr_in *)&c.addr)->sin_port), 9001);
    assert_int_equal(ptl_http_init(&c, "localhost:80"), 0);
    assert_int_equal(c.family, AF_INET);
    assert_int_equal(ntohl(((struct sockaddr_in *)&c.addr)->sin_addr.s_addr), INADDR_LOOPBACK);
    assert_string_equal(c.host_header, "localhost:80");
    assert_int_equal(ptl_http_init(&c, "[::1]:8080"), 0);
    assert_int_equal(c.family, AF_INET6);
    assert_int_equal(ntohs(((struct sockaddr_in6 *)&c.addr)->sin6_port), 8080);
    assert_int_equal(ptl_http_init(&c, "sandbox.localdomain:9001"), PTL_ECONFIG);
    assert_non_null(strstr(c.error, "must be an IP address or localhost"));
    assert_int_equal(ptl_http_init(&c, "127.0.0.1"), PTL_ECONFIG);
}

struct body {
    char data[256 * 1024];
    size_t len;
    size_t refuse_over; /* 0: take everything */
};

static int body_sink(void *arg, const char *data, size_t len)
{
    struct body *b = arg;
    if ((b->refuse_over && b->len + len > b->refuse_over) || b->len + len >= sizeof b->data)
        return -1;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

static const struct ptl_http_request get_next = {.method = "GET", .path = "/next", .timeout_ms = 2000};

/* ---- exchanges ---- */

static void script_split_and_chunked(struct srv *s)
{
    int fd = srv_accept(s);
    srv_read_request(s, fd);
    /* Content-Length body arriving in three pieces, the head split too. */
    srv_send(fd, "HTTP/1.1 200 OK\r\nContent-Le");
    pause_ms(20);
    srv_send(fd, "ngth: 11\r\n\r\nhello");
    pause_ms(20);
    srv_send(fd, " world");
    srv_read_request(s, fd);
    srv_send(fd, "HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "5;ext=1\r\nhello\r\n1\r\n,\r\n");
    pause_ms(20);
    srv_send(fd, "6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n");
    close(fd);
}

static void test_split_and_chunked_on_one_connection(void **state)
{
    (void)state;
    struct srv s;
    struct ptl_http c;
    struct body b = {0};
    int status = 0;
    srv_start(&s, script_split_and_chunked);
    client_init(&c, &s);
    assert_int_equal(ptl_http_request(&c, &get_next, NULL, body_sink, &b, &status), 0);
    assert_int_equal(status, 200);
    assert_string_equal(b.data, "hello world");
    b.len = 0;
    struct ptl_http_request post = {.method = "POST", .path = "/r", .headers = "Content-Type: text/plain\r\n",
                                    .body = "abc", .body_len = 3, .timeout_ms = 2000};
    assert_int_equal(ptl_http_request(&c, &post, NULL, body_sink, &b, &status), 0);
    assert_int_equal(status, 202);
    assert_string_equal(b.data, "hello, world");
    srv_join(&s);
    assert_int_equal(s.accepts, 1);
    assert_non_null(strstr(s.requests[0], "GET /next HTTP/1.1\r\nHost: 127.0.0.1:"));
    assert_null(strstr(s.requests[0], "Content-Length"));
    assert_non_null(strstr(s.requests[1], "Content-Type: text/plain\r\nContent-Length: 3\r\n\r\nabc"));
    ptl_http_close(&c);
}

static void script_closes_idle_connection(struct srv *s)
{
    int fd = srv_accept(s);
    srv_read_request(s, fd);
    srv_send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    close(fd); /* a kept-alive connection the server drops without saying so */
    fd = srv_accept(s);
    srv_read_request(s, fd);
    srv_send(fd, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nConnection: close\r\n"
                 "Content-Length: 4\r\n\r\ndone");
    close(fd);
    fd = srv_accept(s);
    srv_read_request(s, fd);
    srv_send(fd, "HTTP/1.0 200 OK\r\n\r\nuntil the end");
    close(fd);
}

static void test_reconnects_and_framings(void **state)
{
    (void)state;
    struct srv s;
    struct ptl_http c;
    struct body b = {0};
    int status = 0;
    srv_start(&s, script_closes_idle_connection);
    client_init(&c, &s);
    assert_int_equal(ptl_http_request(&c, &get_next, NULL, body_sink, &b, &status), 0);
    assert_string_equal(b.data, "ok");
    pause_ms(50); /* the server has closed its end meanwhile */
    b.len = 0;
    struct ptl_http_request post = {.method = "POST", .path = "/p", .body = "xyz", .body_len = 3, .timeout_ms = 2000};
    assert_int_equal(ptl_http_request(&c, &post, NULL, body_sink, &b, &status), 0);
    assert_int_equal(status, 202); /* the interim 100 was skipped */
    assert_string_equal(b.data, "done");
    assert_int_equal(c.fd, -1); /* Connection: close was honoured */
    b.len = 0;
    assert_int_equal(ptl_http_request(&c, &get_next, NULL, body_sink, &b, &status), 0);
    assert_string_equal(b.data, "until the end");
    srv_join(&s);
    assert_int_equal(s.accepts, 3);
    assert_int_equal(s.nrequests, 3);
    assert_non_null(strstr(s.requests[1], "\r\n\r\nxyz")); /* the retried POST arrived whole, once */
    ptl_http_close(&c);
}

static void script_misbehaves(struct srv *s)
{
    char big[PTL_HTTP_BUF + 100];
    /* 1: a head longer than the client accepts */
    int fd = srv_accept(s);
    srv_read_request(s, fd);
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memcpy(big, "HTTP/1.1 200 OK\r\nX-Big: ", 24);
    send(fd, big, strlen(big), MSG_NOSIGNAL);
    close(fd);
    /* 2: garbage */
    fd = srv_accept(s);
    srv_read_request(s, fd);
    srv_send(fd, "SMTP ready\r\n\r\n");
    close(fd);
    /* 3: a body the sink refuses */
    fd = srv_accept(s);
    srv_read_request(s, fd);
    srv_send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
    close(fd);
    /* 4: silence */
    fd = srv_accept(s);
    srv_read_request(s, fd);
    pause_ms(500);
    close(fd);
    /* 5: closes halfway through a body */
    fd = srv_accept(s);
    srv_read_request(s, fd);
    srv_send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort");
    close(fd);
}

static void test_misbehaving_server(void **state)
{
    (void)state;
    struct srv s;
    struct ptl_http c;
    struct body b = {0};
    int status = 0;
    srv_start(&s, script_misbehaves);
    client_init(&c, &s);
    assert_int_equal(ptl_http_request(&c, &get_next, NULL, body_sink, &b, &status), PTL_EPROTO);
    assert_non_null(strstr(c.error, "over"));
    assert_int_equal(ptl_http_request(&c, &get_next, NULL, body_sink, &b, &status), PTL_EPROTO);
    assert_non_null(strstr(c.error, "malformed"));
    b.refuse_over = 5;
    assert_int_equal(ptl_http_request(&c, &get_next, NULL, body_sink, &b, &status), PTL_EREFUSED);
    assert_int_equal(status, 200); /* known although the body was refused */
    assert_int_equal(c.fd, -1);   /* the rest of the body is never read as a response */
    b.refuse_over = 0;
    struct ptl_http_request quick = get_next;
    quick.timeout_ms = 100;
    assert_int_equal(ptl_http_request(&c, &quick, NULL, body_sink, &b, &status), PTL_ETRANSPORT);
    assert_non_null(strstr(c.error, "timed out"));
    assert_int_equal(ptl_http_request(&c, &get_next, NULL, body_sink, &b, &status), PTL_ETRANSPORT);
    assert_non_null(strstr(c.error, "before the body's end"));
    srv_join(&s);
    /* 6: nobody listens any more */
    assert_int_equal(ptl_http_request(&c, &get_next, NULL, body_sink, &b, &status), PTL_ETRANSPORT);
    assert_non_null(strstr(c.error, "connect"));
    ptl_http_close(&c);
}

/* ---- ptl_run() over the client ---- */

static int echo_handler(const char *event, size_t len, const struct ptl_context *ctx, struct ptl_response *out)
{
    (void)ctx;
    out->body = strndup(event, len);
    out->len = len;
    return 0;
}

static void script_runtime_api(struct srv *s)
{
    int fd = srv_accept(s);
    srv_read_request(s, fd); /* GET /next */
    srv_send(fd, "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: id-1\r\n"
                 "Lambda-Runtime-Deadline-Ms: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "7\r\n{\"a\":1}\r\n0\r\n\r\n");
    srv_read_request(s, fd); /* POST /response */
    srv_send(fd, "HTTP/1.1 202 Accepted\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}\n");
    srv_read_request(s, fd); /* GET /next: an event over the library's limit */
    char head[256];
    snprintf(head, sizeof head,
             "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: id-2\r\nContent-Length: %d\r\n\r\n{\"x\":\"",
             PTL_EVENT_MAX + 1);
    srv_send(fd, head);
    close(fd); /* the client drops the connection after refusing */
    fd = srv_accept(s);
    srv_read_request(s, fd); /* POST /error for id-2 */
    srv_send(fd, "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
    srv_read_request(s, fd); /* GET /next */
    srv_send(fd, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nstop");
    close(fd);
}

static void test_run_loop_over_the_client(void **state)
{
    (void)state;
    struct srv s;
    char api[32];
    srv_start(&s, script_runtime_api);
    snprintf(api, sizeof api, "127.0.0.1:%d", s.port);
    setenv("AWS_LAMBDA_RUNTIME_API", api, 1);
    assert_int_equal(ptl_run(echo_handler), PTL_EPLATFORM);
    unsetenv("AWS_LAMBDA_RUNTIME_API");
    srv_join(&s);
    assert_int_equal(s.nrequests, 5);
    assert_non_null(strstr(s.requests[0], "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n"));
    assert_non_null(strstr(s.requests[1], "POST /2018-06-01/runtime/invocation/id-1/response HTTP/1.1\r\n"));
    assert_non_null(strstr(s.requests[1], "Content-Type: application/json\r\n"));
    assert_non_null(strstr(s.requests[1], "\r\n\r\n{\"a\":1}"));
    assert_non_null(strstr(s.requests[3], "POST /2018-06-01/runtime/invocation/id-2/error HTTP/1.1\r\n"));
    assert_non_null(strstr(s.requests[3], "Lambda-Runtime-Function-Error-Type: Runtime.InvalidInvocation\r\n"));
    assert_non_null(strstr(s.requests[3], "event too large for this runtime"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_addresses),
        cmocka_unit_test(test_parse_head_framings),
        cmocka_unit_test(test_parse_head_refusals),
        cmocka_unit_test(test_parse_head_status_below_100),
        cmocka_unit_test(test_chunk_size),
        cmocka_unit_test(test_split_and_chunked_on_one_connection),
        cmocka_unit_test(test_reconnects_and_framings),
        cmocka_unit_test(test_misbehaving_server),
        cmocka_unit_test(test_run_loop_over_the_client),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
