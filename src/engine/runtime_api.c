#include "engine/runtime_api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/str.h"
#include "engine/limits.h"

#define RAPI_PREFIX "/2018-06-01/runtime/"
#define RAPI_REQUEST_ID_MAX 64
/* A runtime needs one or two connections; more is a misbehaving function. */
#define RAPI_CONNECTION_LIMIT 16
/*
 * A connection's memory (request line, headers, buffers). aws-lambda-go sends an error's X-Ray
 * cause (message and stack) in the Lambda-Runtime-Function-XRay-Error-Cause header, up to 1 MiB,
 * and Lambda takes it (keeping 64 KiB); libmicrohttpd's default, 32 KiB, reset the connection
 * under a 40 KB one and the runtime exited instead of reporting its error. Not 1 MiB: the
 * library zeroes the whole pool after every request, which at 1 MiB cost the engine ~75 us of
 * CPU per invocation (~10 us at this size).
 */
#define RAPI_CONNECTION_MEMORY (128 * 1024)

enum rapi_req_kind { REQ_NEXT, REQ_RESPONSE, REQ_ERROR, REQ_INIT_ERROR, REQ_REJECTED };

struct rapi_request {
    enum rapi_req_kind kind;
    char request_id[RAPI_REQUEST_ID_MAX + 1];
    struct pt_buf body;
    bool too_large;
    bool suspended;
    bool superseded; /* a newer /next replaced this parked one: close it */
    bool finished;   /* a POST read to its end (answered by rapi_post_done) */
    unsigned int refuse; /* HTTP status to refuse with, once the request is read */
    int64_t head_ns;     /* monotonic time its head was read (a post's response starts) */
};

struct pt_rapi {
    struct MHD_Daemon *daemon;
    bool own_thread;
    int epoll_fd;  /* driven mode: the daemon's epoll descriptor */
    int listen_fd; /* bound, not yet served (-1 once the daemon has it) */
    int port;
    int efd;
    pthread_mutex_t lock;
    struct pt_rapi_hooks hooks;
    bool stopping;
    bool frozen;
    bool peer_restricted; /* TCP peers must be processes of peer_uid (or root) */
    unsigned peer_uid;

    /* The current invocation. */
    bool has_inv;
    bool delivered;
    bool done;
    char request_id[RAPI_REQUEST_ID_MAX + 1];
    char *payload; /* owned until handed to libmicrohttpd */
    size_t payload_len;
    int64_t timeout_ms;
    int64_t start_ns;
    char *invoked_arn;
    char *trace_id;
    char *client_context;
    char *cognito_identity;

    int64_t first_next_ns;
    int64_t delivered_ns;
    struct MHD_Connection *parked;
    struct rapi_request *parked_req;
    struct pt_rapi_result result;
    bool result_ready;
    struct pt_rapi_result init_error;
    bool init_error_ready;
};

/*
 * Wakes a waiter on the eventfd: only the daemon's own thread needs it. Driven by pt_rapi_pump,
 * the handlers run on the waiting thread itself, which looks at the status right after.
 */
static void rapi_notify(struct pt_rapi *r)
{
    if (!r->own_thread)
        return;
    uint64_t one = 1;
    ssize_t w = write(r->efd, &one, sizeof(one));
    (void)w; /* the counter saturating is harmless: any value means "look" */
}

static enum MHD_Result rapi_send(struct MHD_Connection *conn, unsigned int status, const char *body)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result rapi_send_error(struct MHD_Connection *conn, unsigned int status,
                                       const char *type, const char *message)
{
    char body[512];
    snprintf(body, sizeof(body), "{\"errorMessage\":\"%s\",\"errorType\":\"%s\"}", message, type);
    return rapi_send(conn, status, body);
}

static void rapi_free_invocation_strings(struct pt_rapi *r)
{
    free(r->payload);
    free(r->invoked_arn);
    free(r->trace_id);
    free(r->client_context);
    free(r->cognito_identity);
    r->payload = r->invoked_arn = r->trace_id = r->client_context = r->cognito_identity = NULL;
    r->payload_len = 0;
}

/* Classifies the path; fills req->kind and req->request_id. Returns 0, or the HTTP status to refuse with. */
static unsigned int rapi_classify(const char *url, const char *method, struct rapi_request *req)
{
    if (!pt_str_starts_with(url, RAPI_PREFIX))
        return MHD_HTTP_NOT_FOUND;
    const char *rest = url + strlen(RAPI_PREFIX);
    bool is_get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
    bool is_post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    if (strcmp(rest, "invocation/next") == 0) {
        req->kind = REQ_NEXT;
        return is_get ? 0 : MHD_HTTP_METHOD_NOT_ALLOWED;
    }
    if (strcmp(rest, "init/error") == 0) {
        req->kind = REQ_INIT_ERROR;
        return is_post ? 0 : MHD_HTTP_METHOD_NOT_ALLOWED;
    }
    if (!pt_str_starts_with(rest, "invocation/"))
        return MHD_HTTP_NOT_FOUND;
    const char *id = rest + strlen("invocation/");
    const char *slash = strchr(id, '/');
    if (!slash || slash == id)
        return MHD_HTTP_NOT_FOUND;
    if (strcmp(slash, "/response") == 0)
        req->kind = REQ_RESPONSE;
    else if (strcmp(slash, "/error") == 0)
        req->kind = REQ_ERROR;
    else
        return MHD_HTTP_NOT_FOUND;
    /* A longer id is no invocation's: left empty, it gets Lambda's 400 InvalidRequestID. */
    if ((size_t)(slash - id) <= RAPI_REQUEST_ID_MAX) {
        memcpy(req->request_id, id, (size_t)(slash - id));
        req->request_id[slash - id] = '\0';
    }
    return is_post ? 0 : MHD_HTTP_METHOD_NOT_ALLOWED;
}

/* Called with r->lock held. Hands the current event to the runtime on conn. */
static enum MHD_Result rapi_hand_over(struct pt_rapi *r, struct MHD_Connection *conn)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(
        r->payload_len, r->payload, free);
    if (!resp)
        return MHD_NO;
    r->payload = NULL; /* libmicrohttpd owns it now */
    r->payload_len = 0;
    int64_t deadline = pt_epoch_ms() + r->timeout_ms;
    if (r->start_ns)
        deadline -= (pt_mono_ns() - r->start_ns) / 1000000;
    char deadline_s[24];
    pt_utoa((unsigned long)deadline, deadline_s);
    MHD_add_response_header(resp, "Lambda-Runtime-Aws-Request-Id", r->request_id);
    MHD_add_response_header(resp, "Lambda-Runtime-Deadline-Ms", deadline_s);
    MHD_add_response_header(resp, "Lambda-Runtime-Invoked-Function-Arn", r->invoked_arn);
    if (r->trace_id && *r->trace_id)
        MHD_add_response_header(resp, "Lambda-Runtime-Trace-Id", r->trace_id);
    if (r->client_context && *r->client_context)
        MHD_add_response_header(resp, "Lambda-Runtime-Client-Context", r->client_context);
    if (r->cognito_identity && *r->cognito_identity)
        MHD_add_response_header(resp, "Lambda-Runtime-Cognito-Identity", r->cognito_identity);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    r->delivered = true;
    r->delivered_ns = pt_mono_ns();
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    rapi_notify(r);
    return ret;
}

static enum MHD_Result rapi_next(struct pt_rapi *r, struct MHD_Connection *conn,
                                 struct rapi_request *req)
{
    enum MHD_Result ret = MHD_YES;
    pthread_mutex_lock(&r->lock);
    req->suspended = false;
    if (r->stopping || req->superseded) {
        ret = MHD_NO;
        goto out;
    }
    if (!r->first_next_ns && r->init_error_ready) {
        /* INIT has failed: this is no end of INIT, and no event goes to this runtime. */
        ret = rapi_send_error(conn, MHD_HTTP_FORBIDDEN, "InvalidStateTransition",
                              "State transition from InitError to Ready failed for runtime. "
                              "Error: State transition is not allowed");
        goto out;
    }
    if (!r->first_next_ns) {
        r->first_next_ns = pt_mono_ns();
        if (r->hooks.init_done)
            r->hooks.init_done(r->hooks.arg);
        rapi_notify(r);
    }
    if (r->has_inv && !r->delivered) {
        ret = rapi_hand_over(r, conn);
        goto out;
    }
    /* Nothing to do: park the long poll, and freeze the environment as Lambda does between invocations. */
    if (r->parked && r->parked != conn) {
        /* The runtime gave up on its old poll (new HTTP connection): close the stale one. */
        r->parked_req->superseded = true;
        MHD_resume_connection(r->parked);
    }
    r->parked = conn;
    r->parked_req = req;
    req->suspended = true;
    MHD_suspend_connection(conn);
    if (!r->frozen && r->hooks.set_frozen) {
        r->hooks.set_frozen(r->hooks.arg, true);
        r->frozen = true;
    }
out:
    pthread_mutex_unlock(&r->lock);
    return ret;
}

static void rapi_store(struct pt_rapi_result *dst, enum pt_rapi_result_kind kind,
                       struct rapi_request *req, const char *error_type)
{
    dst->kind = kind;
    dst->body = pt_buf_steal(&req->body, &dst->len);
    pt_strlcpy(dst->error_type, error_type ? error_type : "", sizeof(dst->error_type));
    dst->start_ns = req->head_ns;
    dst->done_ns = pt_mono_ns();
}

static enum MHD_Result rapi_post_done(struct pt_rapi *r, struct MHD_Connection *conn,
                                      struct rapi_request *req)
{
    const char *etype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                    "Lambda-Runtime-Function-Error-Type");
    req->finished = true;
    pthread_mutex_lock(&r->lock);
    if (req->kind == REQ_INIT_ERROR) {
        if (r->first_next_ns || r->init_error_ready) {
            pthread_mutex_unlock(&r->lock);
            return rapi_send_error(conn, MHD_HTTP_FORBIDDEN, "InvalidStateTransition",
                                   "State transition from Ready to InitError failed for runtime. "
                                   "Error: State transition is not allowed");
        }
        rapi_store(&r->init_error, PT_RAPI_ERROR, req, etype);
        r->init_error_ready = true;
        rapi_notify(r);
        pthread_mutex_unlock(&r->lock);
        return rapi_send(conn, MHD_HTTP_ACCEPTED, "{\"status\":\"OK\"}");
    }
    if (!r->has_inv || !r->delivered || strcmp(req->request_id, r->request_id) != 0) {
        pthread_mutex_unlock(&r->lock);
        return rapi_send_error(conn, MHD_HTTP_BAD_REQUEST, "InvalidRequestID",
                               "Invalid request ID");
    }
    if (r->done) {
        pthread_mutex_unlock(&r->lock);
        return rapi_send_error(conn, MHD_HTTP_FORBIDDEN, "InvalidStateTransition",
                               req->kind == REQ_RESPONSE
                                   ? "State transition from RuntimeResponseSent to "
                                     "InvocationResponse failed for runtime. Error: State "
                                     "transition is not allowed"
                                   : "State transition from RuntimeResponseSent to "
                                     "InvocationErrorResponse failed for runtime. Error: State "
                                     "transition is not allowed");
    }
    enum pt_rapi_result_kind kind = req->kind == REQ_ERROR ? PT_RAPI_ERROR : PT_RAPI_RESPONSE;
    /* Lambda has two modes, the default (no header) and streaming (RIE compares exactly). */
    const char *mode = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                   "Lambda-Runtime-Function-Response-Mode");
    if (req->kind == REQ_RESPONSE && mode && *mode && strcmp(mode, "streaming") != 0)
        kind = PT_RAPI_INVALID_MODE;
    else if (req->too_large)
        kind = PT_RAPI_TOO_LARGE;
    rapi_store(&r->result, kind, req, req->kind == REQ_ERROR ? etype : NULL);
    r->done = true;
    r->result_ready = true;
    rapi_notify(r);
    pthread_mutex_unlock(&r->lock);
    if (kind == PT_RAPI_INVALID_MODE)
        return rapi_send_error(conn, MHD_HTTP_BAD_REQUEST, "InvalidFunctionResponseMode",
                               "Invalid function response mode");
    if (kind == PT_RAPI_TOO_LARGE)
        return rapi_send_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "RequestEntityTooLarge",
                               "Exceeded maximum allowed payload size (6291556 bytes).");
    return rapi_send(conn, MHD_HTTP_ACCEPTED, "{\"status\":\"OK\"}");
}

static enum MHD_Result rapi_access(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version,
                                   const char *upload_data, size_t *upload_data_size,
                                   void **con_cls)
{
    (void)version;
    struct pt_rapi *r = cls;
    struct rapi_request *req = *con_cls;
    if (!req) {
        /*
         * Nothing is answered on this first call: libmicrohttpd closes the connection
         * after a response queued before the request was fully read, and the runtime
         * would then reconnect for every request. The next call answers.
         */
        req = calloc(1, sizeof(*req));
        if (!req)
            return MHD_NO;
        *con_cls = req;
        req->head_ns = pt_mono_ns();
        req->refuse = rapi_classify(url, method, req);
        /* Error documents too: they are the invoker's payload, under the response's limit
         * (an exception with a 2 MB message reaches the caller on Lambda). */
        pt_buf_init(&req->body, PT_INVOKE_RESPONSE_MAX);
        /*
         * An oversize body is read and discarded, not refused up front: closing the
         * connection mid-upload resets it under the runtime, and some runtime clients
         * exit on that. The 413 then goes out on a healthy keep-alive connection; the
         * function's timeout bounds how long a huge upload can take.
         */
        return MHD_YES;
    }
    if (req->refuse) {
        if (*upload_data_size) {
            *upload_data_size = 0; /* a refused request's body is drained, unread */
            return MHD_YES;
        }
        unsigned int refuse = req->refuse;
        req->refuse = 0;
        req->kind = REQ_REJECTED;
        return rapi_send_error(conn, refuse,
                               refuse == MHD_HTTP_NOT_FOUND ? "NotFound" : "MethodNotAllowed",
                               refuse == MHD_HTTP_NOT_FOUND ? "No such path in the Runtime API"
                                                            : "Method not allowed on this path");
    }
    if (req->kind == REQ_NEXT) {
        if (*upload_data_size) {
            *upload_data_size = 0; /* a body on /next means nothing; answering before it is
                                    * read made libmicrohttpd close the connection */
            return MHD_YES;
        }
        return rapi_next(r, conn, req); /* also resumed after a delivery or a stop */
    }
    if (req->kind == REQ_REJECTED)
        return MHD_YES;
    if (*upload_data_size) {
        if (!req->too_large && pt_buf_append(&req->body, upload_data, *upload_data_size, NULL) != 0) {
            req->too_large = true;
            pt_buf_free(&req->body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    return rapi_post_done(r, conn, req);
}

static void rapi_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    struct pt_rapi *r = cls;
    struct rapi_request *req = *con_cls;
    if (!req)
        return;
    pthread_mutex_lock(&r->lock);
    if (r->parked == conn) {
        r->parked = NULL;
        r->parked_req = NULL;
    }
    /* The current invocation's answer broke off mid-body (a client's send timeout, a closed
     * socket): Lambda fails the invocation with Runtime.TruncatedResponse rather than wait. */
    if ((req->kind == REQ_RESPONSE || req->kind == REQ_ERROR) && !req->refuse && !req->finished &&
        toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && toe != MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN &&
        r->has_inv && r->delivered && !r->done && strcmp(req->request_id, r->request_id) == 0) {
        pt_buf_free(&req->body);
        rapi_store(&r->result, PT_RAPI_TRUNCATED, req, NULL);
        r->done = true;
        r->result_ready = true;
        rapi_notify(r);
    }
    pthread_mutex_unlock(&r->lock);
    pt_buf_free(&req->body);
    free(req);
    *con_cls = NULL;
}

/* Frees a server that never ran or whose daemon has stopped. */
static void rapi_free(struct pt_rapi *r)
{
    if (r->listen_fd >= 0)
        close(r->listen_fd);
    rapi_free_invocation_strings(r);
    pt_rapi_result_free(&r->result);
    pt_rapi_result_free(&r->init_error);
    if (r->efd >= 0)
        close(r->efd);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

int pt_rapi_bind(struct pt_rapi **out, const struct pt_rapi_hooks *hooks, bool own_thread,
                 struct pt_error *err)
{
    struct pt_rapi *r = calloc(1, sizeof(*r));
    if (!r)
        return pt_error_set(err, PT_ENOMEM, "out of memory for a Runtime API server");
    pthread_mutex_init(&r->lock, NULL);
    if (hooks)
        r->hooks = *hooks;
    r->own_thread = own_thread;
    r->epoll_fd = -1;
    r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    r->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    int rc = 0;
    if (r->efd < 0)
        rc = pt_error_errno(err, PT_ESYS, errno, "cannot create an eventfd");
    else if (r->listen_fd < 0 || bind(r->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
             listen(r->listen_fd, RAPI_CONNECTION_LIMIT) != 0 ||
             getsockname(r->listen_fd, (struct sockaddr *)&addr, &len) != 0)
        rc = pt_error_errno(err, PT_ESYS, errno, "cannot listen for the Runtime API on 127.0.0.1");
    if (rc) {
        rapi_free(r);
        return rc;
    }
    r->port = ntohs(addr.sin_port);
    *out = r;
    return 0;
}

/*
 * The uid owning the client socket of a loopback connection to port (sock_diag's exact lookup,
 * one netlink round trip); 0 found, -1 not (no sock_diag here, or the socket is gone).
 */
static int rapi_peer_uid(int port, const struct sockaddr_in *peer, unsigned *uid)
{
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 req;
    } msg;
    memset(&msg, 0, sizeof(msg));
    msg.nlh.nlmsg_len = sizeof(msg);
    msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    msg.nlh.nlmsg_flags = NLM_F_REQUEST;
    msg.req.sdiag_family = AF_INET;
    msg.req.sdiag_protocol = IPPROTO_TCP;
    msg.req.idiag_states = ~0U;
    /* The client's socket: its source is the peer's address, its destination ours. */
    msg.req.id.idiag_sport = peer->sin_port;
    msg.req.id.idiag_dport = htons((uint16_t)port);
    msg.req.id.idiag_src[0] = peer->sin_addr.s_addr;
    msg.req.id.idiag_dst[0] = htonl(INADDR_LOOPBACK);
    msg.req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
    msg.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0)
        return -1;
    _Alignas(struct nlmsghdr) char buf[1024];
    ssize_t n = send(fd, &msg, sizeof(msg), 0) == (ssize_t)sizeof(msg) ? recv(fd, buf, sizeof(buf), 0)
                                                                        : -1;
    close(fd);
    const struct nlmsghdr *h = (const struct nlmsghdr *)buf;
    if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct inet_diag_msg)) || !NLMSG_OK(h, (size_t)n) ||
        h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
        return -1;
    *uid = ((const struct inet_diag_msg *)NLMSG_DATA(h))->idiag_uid;
    return 0;
}

/*
 * Every environment listens on 127.0.0.1, which every function can reach: without this, one
 * environment's function could take another's events (GET /next) and answer them. Sandboxed,
 * each environment runs as a uid of its own, so a connection is let in only from that uid (or
 * root: the engine, tests). A peer that cannot be looked up is let in (a kernel without
 * sock_diag); the handed connection of the Python client is no TCP peer and never asks.
 */
static enum MHD_Result rapi_accept_policy(void *cls, const struct sockaddr *addr, socklen_t len)
{
    const struct pt_rapi *r = cls;
    if (!r->peer_restricted || !addr || addr->sa_family != AF_INET ||
        len < (socklen_t)sizeof(struct sockaddr_in))
        return MHD_YES;
    unsigned uid = 0;
    if (rapi_peer_uid(r->port, (const struct sockaddr_in *)addr, &uid) != 0)
        return MHD_YES;
    return uid == r->peer_uid || uid == 0 ? MHD_YES : MHD_NO;
}

void pt_rapi_restrict_peer(struct pt_rapi *r, unsigned uid)
{
    r->peer_restricted = true;
    r->peer_uid = uid;
}

int pt_rapi_serve(struct pt_rapi *r, struct pt_error *err)
{
    /* epoll either way: descriptors past FD_SETSIZE (many environments) are normal here. */
    /* ITC with its own thread: a connection added from another thread is served at once. */
    unsigned int flags = MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO | MHD_USE_EPOLL |
                         (r->own_thread ? MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC : 0);
    r->daemon = MHD_start_daemon(
        flags, 0, rapi_accept_policy, r, rapi_access, r, MHD_OPTION_LISTEN_SOCKET, r->listen_fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)RAPI_CONNECTION_LIMIT,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)0, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)RAPI_CONNECTION_MEMORY, MHD_OPTION_NOTIFY_COMPLETED,
        rapi_completed, r, MHD_OPTION_END);
    if (!r->daemon)
        return pt_error_set(err, PT_ESYS, "cannot start the Runtime API server on 127.0.0.1");
    r->listen_fd = -1; /* the daemon's now: MHD_stop_daemon closes it */
    if (!r->own_thread) {
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(r->daemon, MHD_DAEMON_INFO_EPOLL_FD);
        r->epoll_fd = info ? info->epoll_fd : -1;
        if (r->epoll_fd < 0)
            return pt_error_set(err, PT_ESYS, "libmicrohttpd gave no epoll descriptor");
    }
    return 0;
}

int pt_rapi_start(struct pt_rapi **out, const struct pt_rapi_hooks *hooks, bool own_thread,
                  struct pt_error *err)
{
    int rc = pt_rapi_bind(out, hooks, own_thread, err);
    if (!rc && (rc = pt_rapi_serve(*out, err)) != 0) {
        pt_rapi_stop(*out);
        *out = NULL;
    }
    return rc;
}

int pt_rapi_add_connection(struct pt_rapi *r, int fd, struct pt_error *err)
{
    /* libmicrohttpd keeps the address only to report it; a socketpair's peer has none. */
    struct sockaddr_un peer = {.sun_family = AF_UNIX};
    if (MHD_add_connection(r->daemon, fd, (const struct sockaddr *)&peer,
                           (socklen_t)sizeof(peer.sun_family)) != MHD_YES)
        return pt_error_errno(err, PT_ESYS, errno,
                              "cannot serve the Runtime API on the runtime's handed connection");
    return 0;
}

int pt_rapi_port(const struct pt_rapi *r)
{
    return r->port;
}

int pt_rapi_poll_fd(const struct pt_rapi *r)
{
    return r->own_thread ? r->efd : r->epoll_fd;
}

int pt_rapi_pump(struct pt_rapi *r)
{
    if (r->own_thread)
        return -1;
    /* A handler may leave work that needs no new event (a response to finish): run it now. */
    for (int round = 0; round < 4; round++) {
        MHD_run(r->daemon);
        MHD_UNSIGNED_LONG_LONG t = 0;
        if (MHD_get_timeout(r->daemon, &t) != MHD_YES)
            return -1;
        if (t > 0)
            return t > 1000 ? 1000 : (int)t;
    }
    return 0;
}

void pt_rapi_status(struct pt_rapi *r, struct pt_rapi_status *st)
{
    if (r->own_thread) {
        uint64_t v;
        ssize_t n = read(r->efd, &v, sizeof(v));
        (void)n; /* EAGAIN just means nothing new */
    }
    pthread_mutex_lock(&r->lock);
    st->first_next_ns = r->first_next_ns;
    st->delivered_ns = r->delivered ? r->delivered_ns : 0;
    st->result_ready = r->result_ready;
    st->result_kind = r->result_ready ? r->result.kind : PT_RAPI_NONE;
    st->init_error = r->init_error_ready;
    st->runtime_waiting = r->parked != NULL;
    pthread_mutex_unlock(&r->lock);
}

/*
 * A copy fit for a header value: line breaks become spaces. A client context is JSON its caller
 * may have pretty-printed, where they are whitespace; libmicrohttpd drops a header holding one
 * (Go's net/http, RIE's server, turns them into spaces too).
 */
static char *rapi_strdup_opt(const char *s, bool *failed)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *failed = true;
    for (char *p = d; p && (p = strpbrk(p, "\r\n")) != NULL; p++)
        *p = ' ';
    return d;
}

int pt_rapi_deliver(struct pt_rapi *r, const struct pt_rapi_invocation *inv, struct pt_error *err)
{
    if (strlen(inv->request_id) > RAPI_REQUEST_ID_MAX)
        return pt_error_set(err, PT_EUSAGE, "request id longer than %d characters",
                            RAPI_REQUEST_ID_MAX);
    char *payload = malloc(inv->payload_len + 1);
    if (!payload)
        return pt_error_set(err, PT_ENOMEM, "out of memory copying a %zu-byte event",
                            inv->payload_len);
    memcpy(payload, inv->payload, inv->payload_len);
    payload[inv->payload_len] = '\0';
    int rc = 0;
    pthread_mutex_lock(&r->lock);
    if (r->stopping) {
        rc = pt_error_set(err, PT_ESTATE, "the environment is shutting down");
        goto out;
    }
    if (r->has_inv && !r->done) {
        rc = pt_error_set(err, PT_ESTATE, "an invocation is already in flight in this environment");
        goto out;
    }
    rapi_free_invocation_strings(r);
    pt_rapi_result_free(&r->result);
    r->result_ready = false;
    bool failed = false;
    r->payload = payload;
    payload = NULL;
    r->payload_len = inv->payload_len;
    r->timeout_ms = inv->timeout_ms;
    r->start_ns = inv->start_ns;
    r->invoked_arn = rapi_strdup_opt(inv->invoked_arn ? inv->invoked_arn : "", &failed);
    r->trace_id = rapi_strdup_opt(inv->trace_id, &failed);
    r->client_context = rapi_strdup_opt(inv->client_context, &failed);
    r->cognito_identity = rapi_strdup_opt(inv->cognito_identity, &failed);
    if (failed) {
        rapi_free_invocation_strings(r);
        rc = pt_error_set(err, PT_ENOMEM, "out of memory for an invocation");
        goto out;
    }
    pt_strlcpy(r->request_id, inv->request_id, sizeof(r->request_id));
    r->has_inv = true;
    r->delivered = false;
    r->done = false;
    r->delivered_ns = 0;
    if (r->parked) {
        if (r->frozen && r->hooks.set_frozen)
            r->hooks.set_frozen(r->hooks.arg, false);
        r->frozen = false;
        MHD_resume_connection(r->parked);
        r->parked = NULL;
        r->parked_req = NULL;
    }
out:
    pthread_mutex_unlock(&r->lock);
    free(payload);
    return rc;
}

/*
 * Moves a stored result out under the lock; 0, or -1 when there is none. An /init/error
 * stays flagged (clear false): a second one is still refused, and the status keeps saying
 * INIT failed until the environment restarts the runtime.
 */
static int rapi_take(struct pt_rapi *r, struct pt_rapi_result *slot, bool *ready, bool clear,
                     struct pt_rapi_result *out)
{
    int rc = -1;
    pthread_mutex_lock(&r->lock);
    if (*ready && slot->kind != PT_RAPI_NONE) {
        *out = *slot;
        memset(slot, 0, sizeof(*slot));
        if (clear)
            *ready = false;
        rc = 0;
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

int pt_rapi_take_result(struct pt_rapi *r, struct pt_rapi_result *out)
{
    return rapi_take(r, &r->result, &r->result_ready, true, out);
}

int pt_rapi_take_init_error(struct pt_rapi *r, struct pt_rapi_result *out)
{
    return rapi_take(r, &r->init_error, &r->init_error_ready, false, out);
}

void pt_rapi_abandon(struct pt_rapi *r)
{
    pthread_mutex_lock(&r->lock);
    r->has_inv = false;
    r->delivered = false;
    r->done = false;
    rapi_free_invocation_strings(r);
    pthread_mutex_unlock(&r->lock);
}

void pt_rapi_result_free(struct pt_rapi_result *res)
{
    free(res->body);
    memset(res, 0, sizeof(*res));
}

void pt_rapi_stop(struct pt_rapi *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->stopping = true;
    if (r->parked) {
        if (r->frozen && r->hooks.set_frozen)
            r->hooks.set_frozen(r->hooks.arg, false);
        r->frozen = false;
        MHD_resume_connection(r->parked);
        r->parked = NULL;
        r->parked_req = NULL;
    }
    pthread_mutex_unlock(&r->lock);
    if (r->daemon)
        MHD_stop_daemon(r->daemon);
    rapi_free(r);
}
