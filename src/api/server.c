/*
 * server.c - the HTTP side of `powertune serve`: libmicrohttpd, the router,
 * SigV4 verification, and the pt_api object's life cycle.
 *
 * One thread per connection (MHD_USE_THREAD_PER_CONNECTION): an invocation
 * can block its connection for up to 15 minutes without holding up anyone
 * else. What bounds a client: the connection limit, the per-connection
 * memory limit (request line and headers), the idle timeout (a client that
 * stops sending is dropped), a deadline on a request's arrival and on its
 * answer's delivery (a client that trickles is dropped: see api_socket), and
 * body limits decided from the route before the body arrives (6 MB for
 * Invoke, 70 MB for CreateFunction's base64 zip); a body over its limit is
 * read and dropped, then answered 413, because clients that are still
 * sending do not read an early answer.
 *
 * SigV4 needs the request-target exactly as sent: the URI log callback sees
 * it before libmicrohttpd unescapes anything, and that raw copy is what both
 * the router (which decodes each path segment itself, so "%2F" in a name
 * cannot split it) and the verifier use.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "api/api_internal.h"
#include "base/clock.h"
#include "base/fs.h"
#include "base/rand.h"
#include "base/str.h"

#define API_URI_MAX 16384
#define API_DISCARD_MAX (256LL * 1024 * 1024) /* a body over its limit is dropped up to this */
#define API_HEADER_MEMORY (64 * 1024)
#define API_SEGMENTS_MAX 8
/* Past the grace period, a body (or an answer) must move at least this many bytes a second. */
#define API_TRANSFER_RATE_MIN (16 * 1024)
#define API_WATCHDOG_TICK_MS 250

/* ---- routing ---- */

const char *pt_api_request_header(const struct pt_api_request *req, const char *name)
{
    for (size_t i = 0; i < req->header_count; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

/* Splits the raw path into at most API_SEGMENTS_MAX segments (still encoded); -1 if more. */
static int split_path(const char *path, char *copy, size_t size, char **seg)
{
    if (pt_strlcpy(copy, path, size) >= size)
        return -1;
    int n = 0;
    char *p = copy;
    if (*p == '/')
        p++;
    while (*p) {
        if (n == API_SEGMENTS_MAX)
            return -1;
        seg[n++] = p;
        char *slash = strchr(p, '/');
        if (!slash)
            break;
        *slash = '\0';
        p = slash + 1;
    }
    /* A trailing slash ("/2015-03-31/functions/") adds nothing. */
    return n;
}

static bool is(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

/* POST /2015-03-31/functions/{name}/invocations, the one route with its own body limits. */
static bool is_invoke_route(char **seg, int n)
{
    return n == 4 && is(seg[0], "2015-03-31") && is(seg[1], "functions") &&
           is(seg[3], "invocations");
}

/* Whether a raw request-target (query included) is Invoke's, as route() will decide. */
static bool is_invoke_target(const char *uri)
{
    char path[API_URI_MAX], copy[API_URI_MAX];
    char *seg[API_SEGMENTS_MAX];
    size_t plen = strcspn(uri, "?");
    if (plen >= sizeof(path))
        return false;
    memcpy(path, uri, plen);
    path[plen] = '\0';
    return is_invoke_route(seg, split_path(path, copy, sizeof(copy), seg));
}

static void route(struct pt_api *api, const struct pt_api_request *req,
                  struct pt_api_response *r)
{
    char copy[API_URI_MAX];
    char *seg[API_SEGMENTS_MAX];
    int n = split_path(req->path, copy, sizeof(copy), seg);
    const char *m = req->method;
    struct api_target t;
    /* Every operation but Invoke (which says which limit, sync or Event) refuses it here. */
    if (req->body_too_large && !is_invoke_route(seg, n)) {
        api_error(r, "RequestEntityTooLargeException",
                  "Request must be smaller than %d bytes for the operation",
                  PT_API_CONTROL_BODY_MAX);
        return;
    }
    if (n >= 2 && is(seg[0], "2015-03-31") && is(seg[1], "functions")) {
        if (n == 2) {
            if (is(m, "POST"))
                return api_op_create_function(api, req, r);
            if (is(m, "GET"))
                return api_op_list_functions(api, req, r);
        } else if (n <= 5) {
            if (api_target_parse(api, seg[2], req, &t, r))
                return;
            const char *sub = n >= 4 ? seg[3] : "";
            if (n == 3 && is(m, "GET"))
                return api_op_get_function(api, &t, false, req, r);
            if (n == 3 && is(m, "DELETE"))
                return api_op_delete_function(api, &t, r);
            if (n == 4 && is(sub, "invocations") && is(m, "POST"))
                return api_op_invoke(api, &t, req, r);
            if (n == 4 && is(sub, "configuration") && is(m, "GET"))
                return api_op_get_function(api, &t, true, req, r);
            if (n == 4 && is(sub, "configuration") && is(m, "PUT"))
                return api_op_update_configuration(api, &t, req, r);
            if (n == 4 && is(sub, "code") && is(m, "PUT"))
                return api_op_update_code(api, &t, req, r);
            if (n == 4 && is(sub, "versions") && is(m, "POST"))
                return api_op_publish_version(api, &t, req, r);
            if (n == 4 && is(sub, "versions") && is(m, "GET"))
                return api_op_list_versions(api, &t, req, r);
            if (n == 4 && is(sub, "aliases") && is(m, "POST"))
                return api_op_create_alias(api, &t, req, r);
            if (n == 4 && is(sub, "aliases") && is(m, "GET"))
                return api_op_list_aliases(api, &t, req, r);
            if (n == 5 && is(sub, "aliases")) {
                char alias[API_ALIAS_MAX];
                if (api_percent_decode(seg[4], strlen(seg[4]), alias, sizeof(alias)) != 0) {
                    api_error(r, "ValidationException",
                              "1 validation error detected: Value at 'name' failed to satisfy "
                              "constraint: Member must have length less than or equal to 128");
                    return;
                }
                /* Before any lookup: DeleteAlias of an alias that does not exist succeeds. */
                if (!pt_aws_lambda_alias_name_ok(alias)) {
                    api_error(r, "ValidationException",
                              "1 validation error detected: Value '%s' at 'name' failed to "
                              "satisfy constraint: Member must satisfy regular expression "
                              "pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)",
                              alias);
                    return;
                }
                if (is(m, "GET"))
                    return api_op_get_alias(api, &t, alias, r);
                if (is(m, "PUT"))
                    return api_op_update_alias(api, &t, alias, req, r);
                if (is(m, "DELETE"))
                    return api_op_delete_alias(api, &t, alias, r);
            }
        }
    } else if (n == 4 && is(seg[1], "functions") && is(seg[3], "concurrency") &&
               (is(seg[0], "2017-10-31") || is(seg[0], "2019-09-30"))) {
        if (api_target_parse(api, seg[2], req, &t, r))
            return;
        if (is(seg[0], "2019-09-30") && is(m, "GET"))
            return api_op_get_concurrency(api, &t, r);
        if (is(seg[0], "2017-10-31") && is(m, "PUT"))
            return api_op_put_concurrency(api, &t, req, r);
        if (is(seg[0], "2017-10-31") && is(m, "DELETE"))
            return api_op_delete_concurrency(api, &t, r);
    } else if (n == 2 && is(seg[0], "2016-08-19") && is(seg[1], "account-settings") &&
               is(m, "GET")) {
        return api_op_account_settings(api, r);
    } else if (n == 4 && is(seg[0], "_powertune") && is(seg[1], "code") && is(m, "GET")) {
        return api_op_code_download(api, seg[2], seg[3], r);
    }
    api_error(r, "UnknownOperationException", "Unknown operation %s %.200s", m, req->path);
}

/* 0 when the request may proceed; else r holds AWS's refusal. */
static int verify_signature(struct pt_api *api, const struct pt_api_request *req,
                            struct pt_api_response *r)
{
    struct pt_sigv4_request sreq = {
        .method = req->method,
        .path = req->path,
        .query = req->query,
        .headers = req->headers,
        .header_count = req->header_count,
        .body = req->body,
        .body_len = req->body_len,
    };
    struct pt_sigv4_verify_params p = {
        .keys = api->opt.keys,
        .key_count = api->opt.key_count,
        .region = api->region,
        .service = "lambda",
        .now = (int64_t)time(NULL),
    };
    struct pt_sigv4_verdict v;
    pt_sigv4_verdict_init(&v);
    struct pt_error err = {0};
    int rc = pt_sigv4_verify(&sreq, &p, &v, &err);
    if (rc == PT_EPERM)
        api_error_raw(r, (unsigned)v.http_status, v.aws_code, err.msg);
    else if (rc)
        api_error(r, "ServiceException", "%s", err.msg);
    pt_sigv4_verdict_free(&v);
    return rc;
}

void pt_api_handle(struct pt_api *api, const struct pt_api_request *req,
                   struct pt_api_response *r)
{
    api_resp_init(r);
    pt_uuid4(r->request_id);
    /* A dropped body cannot be verified: the size refusal comes first. */
    if (req->body_too_large || !api->opt.require_signature || verify_signature(api, req, r) == 0)
        route(api, req, r);
    api_resp_header(r, "x-amzn-RequestId", r->request_id);
}

/* ---- libmicrohttpd ---- */

/*
 * A connection as the watchdog sees it. libmicrohttpd's idle timeout starts over at every byte,
 * so a client trickling its headers or its body one byte at a time, or reading its answer that
 * way, held its connection (and its thread) for as long as it liked, and as many such clients
 * as the connection limit locked every other client out (slowloris). So a request must arrive,
 * from the end of the one before on the connection (or from its start), within a grace period
 * (twice the idle timeout, which deals with idle connections first) plus one second per
 * API_TRANSFER_RATE_MIN bytes of body received, and its answer must go within the same; past
 * that the watchdog shuts the socket down, and libmicrohttpd, seeing the connection end, closes
 * it. A request being served is not timed: an invocation may run for 15 minutes.
 */
enum api_socket_phase {
    SOCKET_ARRIVING, /* the request (line, headers, body) is being received or awaited */
    SOCKET_SERVING,
    SOCKET_ANSWERING, /* its answer is being sent */
};

struct api_socket {
    struct api_socket *next, *prev;
    MHD_socket fd;
    enum api_socket_phase phase;
    bool cut;         /* shut down by the watchdog */
    int64_t since_ns; /* the phase's start */
    long long bytes;  /* the body received so far, or the answer's size */
};

static struct api_socket *socket_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

/* The connection's request enters phase (bytes: the answer's size, or 0). */
static void socket_phase(struct pt_api *api, struct MHD_Connection *conn,
                         enum api_socket_phase phase, long long bytes)
{
    struct api_socket *s = socket_of(conn);
    if (!s)
        return;
    pthread_mutex_lock(&api->sock_lock);
    s->phase = phase;
    s->since_ns = pt_mono_ns();
    s->bytes = bytes;
    pthread_mutex_unlock(&api->sock_lock);
}

static void socket_received(struct pt_api *api, struct MHD_Connection *conn, size_t n)
{
    struct api_socket *s = socket_of(conn);
    if (!s)
        return;
    pthread_mutex_lock(&api->sock_lock);
    s->bytes += (long long)n;
    pthread_mutex_unlock(&api->sock_lock);
}

/* libmicrohttpd calls it with CLOSED before it closes the socket: the watchdog, which shuts
 * sockets down under sock_lock, never touches a descriptor number reused meanwhile. */
static void api_notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                                  enum MHD_ConnectionNotificationCode code)
{
    struct pt_api *api = cls;
    struct api_socket *s = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        s = info ? calloc(1, sizeof(*s)) : NULL;
        if (!s)
            return; /* not watched: the idle timeout alone bounds it */
        s->fd = info->connect_fd;
        s->phase = SOCKET_ARRIVING;
        s->since_ns = pt_mono_ns();
        pthread_mutex_lock(&api->sock_lock);
        s->next = api->sockets;
        if (s->next)
            s->next->prev = s;
        api->sockets = s;
        pthread_mutex_unlock(&api->sock_lock);
        *socket_context = s;
        return;
    }
    if (!s)
        return;
    pthread_mutex_lock(&api->sock_lock);
    if (s->prev)
        s->prev->next = s->next;
    else
        api->sockets = s->next;
    if (s->next)
        s->next->prev = s->prev;
    pthread_mutex_unlock(&api->sock_lock);
    free(s);
    *socket_context = NULL;
}

static void *api_watchdog(void *arg)
{
    struct pt_api *api = arg;
    const int64_t grace_ns = 2 * (int64_t)api->opt.connection_timeout_s * 1000000000;
    pthread_mutex_lock(&api->sock_lock);
    while (!api->watchdog_stop) {
        int64_t now = pt_mono_ns();
        unsigned cut = 0;
        for (struct api_socket *s = api->sockets; s; s = s->next) {
            if (s->cut || s->phase == SOCKET_SERVING)
                continue;
            int64_t allowed = grace_ns + s->bytes / API_TRANSFER_RATE_MIN * 1000000000;
            if (now - s->since_ns > allowed) {
                shutdown(s->fd, SHUT_RDWR);
                s->cut = true;
                cut++;
            }
        }
        if (cut && api->opt.log) {
            char line[160];
            snprintf(line, sizeof(line),
                     "closed %u connection(s) whose request or answer took over %u s plus 1 s "
                     "per %d KiB (a client too slow, or trickling bytes)",
                     cut, 2 * api->opt.connection_timeout_s, API_TRANSFER_RATE_MIN / 1024);
            api->opt.log(api->opt.log_arg, line);
        }
        int64_t wake_ns = now + (int64_t)API_WATCHDOG_TICK_MS * 1000000;
        struct timespec ts = {.tv_sec = (time_t)(wake_ns / 1000000000),
                              .tv_nsec = (long)(wake_ns % 1000000000)};
        pthread_cond_timedwait(&api->sock_cond, &api->sock_lock, &ts);
    }
    pthread_mutex_unlock(&api->sock_lock);
    return NULL;
}

struct api_conn {
    char *uri;
    bool uri_too_long; /* uri holds only its first API_URI_MAX bytes */
    bool started;
    bool too_large;
    long long discarded;
    struct pt_buf body;
    int64_t start_ns;
};

static void *api_uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    struct api_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    size_t n = uri ? strnlen(uri, API_URI_MAX + 1) : 0;
    c->uri_too_long = n > API_URI_MAX;
    c->uri = n ? strndup(uri, c->uri_too_long ? API_URI_MAX : n) : strdup("/");
    c->start_ns = pt_mono_ns();
    return c;
}

static void api_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                          enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    /* The next request on the connection is awaited from now. */
    socket_phase(cls, conn, SOCKET_ARRIVING, 0);
    struct api_conn *c = *con_cls;
    if (!c)
        return;
    pt_buf_free(&c->body);
    free(c->uri);
    free(c);
    *con_cls = NULL;
}

struct header_list {
    struct pt_sigv4_header v[PT_SIGV4_MAX_HEADERS];
    size_t n;
    bool overflow;
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    struct header_list *h = cls;
    if (h->n == PT_SIGV4_MAX_HEADERS) {
        h->overflow = true;
        return MHD_NO;
    }
    h->v[h->n].name = key;
    h->v[h->n].value = value ? value : "";
    h->n++;
    return MHD_YES;
}

static enum MHD_Result send_response(struct pt_api *api, struct MHD_Connection *conn,
                                     struct api_conn *c, struct pt_api_response *r,
                                     const char *method)
{
    struct MHD_Response *mr =
        r->body ? MHD_create_response_from_buffer(r->body_len, r->body, MHD_RESPMEM_MUST_FREE)
                : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!mr) {
        pt_api_response_free(r);
        return MHD_NO;
    }
    r->body = NULL; /* libmicrohttpd frees it */
    if (r->content_type)
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    for (size_t i = 0; i < r->header_count; i++)
        MHD_add_response_header(mr, r->headers[i].name, r->headers[i].value);
    enum MHD_Result ret = MHD_queue_response(conn, r->status, mr);
    MHD_destroy_response(mr);
    if (api->opt.log) {
        char line[512];
        const char *etype = NULL;
        for (size_t i = 0; i < r->header_count; i++)
            if (strcmp(r->headers[i].name, "x-amzn-ErrorType") == 0)
                etype = r->headers[i].value;
        snprintf(line, sizeof(line), "%s %.300s %u %.1f ms%s%s", method, c->uri, r->status,
                 (double)(pt_mono_ns() - c->start_ns) / 1e6, etype ? " " : "",
                 etype ? etype : "");
        api->opt.log(api->opt.log_arg, line);
    }
    pt_api_response_free(r);
    return ret;
}

static enum MHD_Result api_access(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)url;
    (void)version;
    struct pt_api *api = cls;
    struct api_conn *c = *con_cls;
    if (!c || !c->uri)
        return MHD_NO;
    if (!c->started) {
        c->started = true;
        /* Decided from the parsed path: a function may be named "invocations-log". */
        size_t limit = is_invoke_target(c->uri) ? PT_API_INVOKE_SYNC_MAX
                                                : PT_API_CONTROL_BODY_MAX;
        pt_buf_init(&c->body, limit);
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        long long declared = cl ? strtoll(cl, NULL, 10) : 0;
        const char *expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                         MHD_HTTP_HEADER_EXPECT);
        bool waits = expect && strcasecmp(expect, "100-continue") == 0;
        if (declared > API_DISCARD_MAX && !waits)
            return MHD_NO; /* not worth reading */
        if (declared > (long long)limit)
            c->too_large = true;
        /* A client waiting for "100 Continue" before it sends a body over the limit (curl does
         * above 1 MB) is answered 413 now: its body is never sent, and libmicrohttpd closes the
         * connection after the answer. */
        if (!c->too_large || !waits)
            return MHD_YES;
    }
    if (*upload_data_size) {
        socket_received(api, conn, *upload_data_size);
        if (!c->too_large && pt_buf_append(&c->body, upload_data, *upload_data_size, NULL) != 0) {
            c->too_large = true;
            c->discarded += (long long)c->body.len;
            pt_buf_free(&c->body);
        }
        if (c->too_large)
            c->discarded += (long long)*upload_data_size;
        *upload_data_size = 0;
        return c->discarded > API_DISCARD_MAX ? MHD_NO : MHD_YES;
    }

    socket_phase(api, conn, SOCKET_SERVING, 0);
    struct header_list *h = calloc(1, sizeof(*h));
    if (!h)
        return MHD_NO;
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, h);
    char *q = strchr(c->uri, '?');
    char path[API_URI_MAX + 1];
    size_t plen = q ? (size_t)(q - c->uri) : strlen(c->uri);
    memcpy(path, c->uri, plen);
    path[plen] = '\0';
    struct pt_api_request req = {
        .method = method,
        .path = path,
        .query = q ? q + 1 : NULL,
        .headers = h->v,
        .header_count = h->n,
        .body = c->too_large ? NULL : c->body.data,
        .body_len = c->too_large ? 0 : c->body.len,
        .body_too_large = c->too_large,
    };
    struct pt_api_response r;
    if (h->overflow || c->uri_too_long) {
        api_resp_init(&r);
        pt_uuid4(r.request_id);
        /* Refused, not served cut short: the cut could drop a Qualifier from the query. */
        if (c->uri_too_long)
            api_error(&r, "ValidationException",
                      "1 validation error detected: the request URI is longer than %d bytes",
                      API_URI_MAX);
        else
            api_error(&r, "InvalidParameterValueException", "more than %d headers",
                      PT_SIGV4_MAX_HEADERS);
        api_resp_header(&r, "x-amzn-RequestId", r.request_id);
    } else {
        pt_api_handle(api, &req, &r);
    }
    socket_phase(api, conn, SOCKET_ANSWERING, (long long)r.body_len);
    enum MHD_Result ret = send_response(api, conn, c, &r, method);
    free(h);
    return ret;
}

int pt_api_listen(struct pt_api *api, struct pt_error *err)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", api->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | AI_PASSIVE};
    struct addrinfo *ai = NULL;
    int gai = getaddrinfo(api->host, port, &hints, &ai);
    if (gai != 0)
        return pt_error_set(err, PT_EUSAGE, "--host %s: %s", api->host, gai_strerror(gai));
    /*
     * poll(), not MHD's default select(): every environment holds about ten descriptors, so with
     * a few dozen of them the server's sockets are numbered past FD_SETSIZE (1024), where select()
     * cannot go and MHD refuses the socket. (Thread per connection has no epoll mode.)
     */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    api->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, api_access, api, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_CONNECTION_LIMIT, api->opt.connection_limit, MHD_OPTION_CONNECTION_TIMEOUT,
        api->opt.connection_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)API_HEADER_MEMORY, MHD_OPTION_URI_LOG_CALLBACK, api_uri_log, api,
        MHD_OPTION_NOTIFY_COMPLETED, api_completed, api, MHD_OPTION_NOTIFY_CONNECTION,
        api_notify_connection, api, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!api->daemon)
        return pt_error_set(err, PT_ESYS,
                            "cannot listen on %s:%d (port in use, or not an address of this "
                            "host)",
                            api->host, api->port);
    if (pthread_create(&api->watchdog, NULL, api_watchdog, api) != 0) {
        MHD_stop_daemon(api->daemon);
        api->daemon = NULL;
        return pt_error_set(err, PT_ESYS, "cannot start the server's connection watchdog");
    }
    api->watchdog_started = true;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(api->daemon,
                                                           MHD_DAEMON_INFO_BIND_PORT);
    if (info && info->port)
        api->port = info->port;
    return 0;
}

int pt_api_port(const struct pt_api *api)
{
    return api->port;
}

/* ---- life cycle ---- */

int pt_api_create(struct pt_api **out, struct pt_engine *engine, const struct pt_api_options *opt,
                  struct pt_error *err)
{
    struct pt_api *api = calloc(1, sizeof(*api));
    if (!api)
        return pt_error_set(err, PT_ENOMEM, "out of memory");
    api->engine = engine;
    api->opt = *opt;
    pt_strlcpy(api->host, opt->host ? opt->host : PT_API_DEFAULT_HOST, sizeof(api->host));
    api->port = opt->port < 0 ? PT_API_DEFAULT_PORT : opt->port;
    pt_strlcpy(api->region, pt_engine_region(engine), sizeof(api->region));
    pt_strlcpy(api->account, opt->account_id ? opt->account_id : "123456789012",
               sizeof(api->account));
    api->account_concurrency = opt->account_concurrency > 0 ? opt->account_concurrency : 1000;
    if (!api->opt.update_window_ms)
        api->opt.update_window_ms = 300;
    if (api->opt.event_retry_delay_ms <= 0)
        api->opt.event_retry_delay_ms = 60000;
    if (api->opt.event_workers <= 0)
        api->opt.event_workers = 4;
    if (!api->opt.connection_limit)
        api->opt.connection_limit =
            (unsigned)(api->account_concurrency < PT_API_CONNECTIONS_MAX - PT_API_CONNECTIONS_SPARE
                           ? api->account_concurrency + PT_API_CONNECTIONS_SPARE
                           : PT_API_CONNECTIONS_MAX);
    if (!api->opt.connection_timeout_s)
        api->opt.connection_timeout_s = 30;
    const char *state = opt->state_dir ? opt->state_dir : pt_engine_state_dir(engine);
    pthread_mutex_init(&api->lock, NULL);
    pthread_mutex_init(&api->ev_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* due times are monotonic */
    pthread_cond_init(&api->ev_cond, &ca);
    pthread_cond_init(&api->sock_cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&api->sock_lock, NULL);
    int rc = 0;
    if ((size_t)snprintf(api->root, sizeof(api->root), "%s/api", state) >= sizeof(api->root))
        rc = pt_error_set(err, PT_EUSAGE, "state directory path too long: %s", state);
    if (!rc)
        rc = pt_mkdir_p(api->root, 0755, err);
    if (!rc)
        rc = api_registry_load(api, err);
    if (!rc)
        rc = api_events_start(api, err);
    if (rc) {
        pt_api_destroy(api);
        return rc;
    }
    *out = api;
    return 0;
}

void pt_api_destroy(struct pt_api *api)
{
    if (!api)
        return;
    if (api->daemon)
        MHD_stop_daemon(api->daemon);
    if (api->watchdog_started) {
        pthread_mutex_lock(&api->sock_lock);
        api->watchdog_stop = true;
        pthread_cond_signal(&api->sock_cond);
        pthread_mutex_unlock(&api->sock_lock);
        pthread_join(api->watchdog, NULL);
    }
    api_events_stop(api);
    api_registry_free(api);
    pthread_cond_destroy(&api->sock_cond);
    pthread_mutex_destroy(&api->sock_lock);
    pthread_cond_destroy(&api->ev_cond);
    pthread_mutex_destroy(&api->ev_lock);
    pthread_mutex_destroy(&api->lock);
    free(api);
}
