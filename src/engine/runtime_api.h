/*
 * runtime_api.h - one environment's Lambda Runtime API (2018-06-01) server.
 *
 * Each execution environment gets its own libmicrohttpd daemon on
 * 127.0.0.1:<ephemeral port>; the runtime inside finds it through
 * AWS_LAMBDA_RUNTIME_API. The four paths of the spec are served exactly
 * (status codes, headers, error bodies as in lambda-wire.md §1):
 *   GET  /2018-06-01/runtime/invocation/next          long poll (suspend/resume)
 *   POST /2018-06-01/runtime/invocation/{id}/response 202 / 400 / 403 / 413
 *   POST /2018-06-01/runtime/invocation/{id}/error    202 / 400 / 403
 *   POST /2018-06-01/runtime/init/error               202 / 403
 *
 * The environment hands over at most one invocation at a time
 * (pt_rapi_deliver). Two ways to run the daemon:
 *   - driven by the caller (own_thread false, what environments use): the
 *     daemon's epoll descriptor (pt_rapi_poll_fd) joins the caller's poll()
 *     with the runtime's pidfd and output pipe, and pt_rapi_pump runs the
 *     handlers on the caller's thread. No thread per environment, and no
 *     thread hand-offs on the invoke path: each one costs a cross-CPU wakeup.
 *   - its own thread (own_thread true: tests, clients that block): the poll
 *     descriptor is an eventfd signalled by the handlers.
 * The hooks run where the handlers run, under the server's lock: freezing
 * when the runtime parks on /next and thawing on delivery are atomic with
 * respect to each other, so an event is never handed to a frozen runtime.
 */
#ifndef PT_ENGINE_RUNTIME_API_H
#define PT_ENGINE_RUNTIME_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

struct pt_rapi;

struct pt_rapi_hooks {
    /* The runtime parked on /next with nothing to do (true) / an event is being handed over (false). */
    void (*set_frozen)(void *arg, bool frozen);
    /* The runtime's first /next: INIT is over. */
    void (*init_done)(void *arg);
    void *arg;
};

struct pt_rapi_invocation {
    const char *request_id;
    const char *payload;
    size_t payload_len;
    int64_t timeout_ms;          /* Deadline-Ms = the moment the runtime receives the event + this */
    int64_t start_ns;            /* or, when not 0, this monotonic instant + timeout_ms (an INIT
                                  * retried in the invoke phase runs under the timeout too) */
    const char *invoked_arn;
    const char *trace_id;        /* NULL or "" = header left out */
    const char *client_context;
    const char *cognito_identity;
};

enum pt_rapi_result_kind {
    PT_RAPI_NONE = 0,
    PT_RAPI_RESPONSE,  /* /response */
    PT_RAPI_ERROR,     /* /error: body is the runtime's error document */
    PT_RAPI_TOO_LARGE, /* /response over the limit: answered 413 */
    PT_RAPI_INVALID_MODE, /* /response with a response mode Lambda does not have: answered 400 */
    PT_RAPI_TRUNCATED,    /* /response or /error whose connection closed mid-body */
};

struct pt_rapi_result {
    enum pt_rapi_result_kind kind;
    char *body; /* malloc'd, NUL-terminated */
    size_t len;
    char error_type[128]; /* Lambda-Runtime-Function-Error-Type, or "" */
    int64_t start_ns;     /* monotonic time its post began (the head read) */
    int64_t done_ns;      /* monotonic time the result arrived */
};

struct pt_rapi_status {
    int64_t first_next_ns; /* monotonic time of the first /next, 0 = INIT still running */
    int64_t delivered_ns;  /* monotonic time the current event reached the runtime, 0 = not yet */
    bool result_ready;
    enum pt_rapi_result_kind result_kind; /* the ready result's, or PT_RAPI_NONE */
    bool init_error;
    bool runtime_waiting; /* a /next is parked: the runtime is idle, ready to be frozen */
};

/*
 * Binds the server to a free loopback port (pt_rapi_port) without serving yet: connections wait
 * in the backlog until pt_rapi_serve starts the daemon. The environment binds before the exec
 * (the runtime needs the port in its environment) and serves after it, while the runtime starts:
 * the daemon's start-up is then not part of the cold start's critical path (~0.1 ms).
 * pt_rapi_start does both. pt_rapi_stop frees a server in either state.
 */
int pt_rapi_bind(struct pt_rapi **out, const struct pt_rapi_hooks *hooks, bool own_thread,
                 struct pt_error *err);
int pt_rapi_serve(struct pt_rapi *r, struct pt_error *err);
int pt_rapi_start(struct pt_rapi **out, const struct pt_rapi_hooks *hooks, bool own_thread,
                  struct pt_error *err);
int pt_rapi_port(const struct pt_rapi *r);
/* Before pt_rapi_serve: TCP connections are let in only from processes of uid (or root), so
 * that another environment's function (another uid) cannot take this one's events. */
void pt_rapi_restrict_peer(struct pt_rapi *r, unsigned uid);
/*
 * Serves one more connection that the caller made: one end of a socketpair whose other end the
 * runtime was handed (a running daemon only; the descriptor is the server's from here on, closed
 * on failure too). Our Python client takes one: connecting costs it an import of _socket and a
 * TCP handshake, ~0.4-0.5 ms of a ~30 ms cold start. Driven mode: call it on the pumping thread
 * (with its own thread, from any thread).
 */
int pt_rapi_add_connection(struct pt_rapi *r, int fd, struct pt_error *err);
/* Readable when the caller should pump (driven mode) or look at the status (own thread). */
int pt_rapi_poll_fd(const struct pt_rapi *r);
/* Driven mode: runs ready handlers; returns the ms until the daemon wants to run again (-1: none). */
int pt_rapi_pump(struct pt_rapi *r);
/* Clears the notification and reads the current state. */
void pt_rapi_status(struct pt_rapi *r, struct pt_rapi_status *st);
/* Hands over the next event (the strings are copied). PT_ESTATE if one is in flight. */
int pt_rapi_deliver(struct pt_rapi *r, const struct pt_rapi_invocation *inv, struct pt_error *err);
/* Moves the result of the current invocation out; 0 if there was one, -1 if not yet. */
int pt_rapi_take_result(struct pt_rapi *r, struct pt_rapi_result *out);
/* Moves the /init/error document out (kind PT_RAPI_ERROR); 0 or -1. */
int pt_rapi_take_init_error(struct pt_rapi *r, struct pt_rapi_result *out);
/* Gives up on the current invocation (timeout, crash); later posts for it get 400. */
void pt_rapi_abandon(struct pt_rapi *r);
void pt_rapi_result_free(struct pt_rapi_result *res);
/* Stops the daemon; a parked /next is answered 500 (Container error) and closed. r may be NULL. */
void pt_rapi_stop(struct pt_rapi *r);

#endif
