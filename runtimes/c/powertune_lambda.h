/*
 * powertune_lambda.h - write a Lambda function in C (runtime "provided").
 *
 * A function is an executable `bootstrap` whose main() calls ptl_run() with
 * one handler; the library speaks the Runtime API (2018-06-01) to
 * $AWS_LAMBDA_RUNTIME_API so the handler only sees events and returns
 * results. It exists so powertune can measure functions whose own cost is
 * tiny: one reused keep-alive connection, no DNS, reused event and header
 * buffers, so what the tuner measures is the function and not its runtime.
 *
 * Contract:
 * - Do slow set-up in main() before ptl_run(); if it fails, report it with
 *   ptl_init_error() and exit non-zero (that is Lambda's INIT error path).
 * - The handler runs once per event on the thread that called ptl_run();
 *   the event buffer and the context are valid only until it returns (the
 *   event is NUL-terminated for convenience; event_len excludes the NUL).
 * - Return 0 and set out->body (malloc'd, the library frees it; NULL means
 *   an empty body; len 0 with a non-NULL body means strlen(body)) and
 *   optionally out->content_type (static; default application/json). Return
 *   non-zero for a function error: out->error_type (static or NULL ->
 *   "HandlerError") and out->error_message (malloc'd or NULL). The library
 *   frees whatever the handler left in *out in both cases.
 * - _X_AMZN_TRACE_ID is set to the invocation's trace id (unset when it has
 *   none), as Lambda does for tracing SDKs.
 * - stdout and stderr are flushed before each result is posted, because
 *   the engine orders log lines by what reached its pipe before the result.
 * - ptl_run() returns only when the platform is gone or broke the protocol
 *   (negative code, reason on stderr): exit non-zero then.
 */
#ifndef POWERTUNE_LAMBDA_H
#define POWERTUNE_LAMBDA_H

#include <stddef.h>

/* Limits of what the library accepts/sends (bytes). */
#define PTL_EVENT_MAX (6 * 1024 * 1024 + 64 * 1024)   /* invoke payload is 6 MiB */
#define PTL_ERROR_MESSAGE_MAX (256 * 1024)            /* longer messages are cut */

/* Negative return codes of ptl_run() / ptl_init_error(). */
enum ptl_status {
    PTL_OK = 0,
    PTL_ECONFIG = -1,  /* AWS_LAMBDA_RUNTIME_API missing or malformed */
    PTL_ENOMEM = -2,
    PTL_ETRANSPORT = -3, /* could not talk to the Runtime API */
    PTL_EPROTO = -4,   /* the Runtime API answered something unusable */
    PTL_EPLATFORM = -5, /* the Runtime API said stop (5xx) */
};

/* All strings are valid during the handler call; absent headers are "" (never NULL). */
struct ptl_context {
    const char *request_id;
    const char *invoked_function_arn;
    const char *trace_id;
    const char *client_context;
    const char *cognito_identity;
    const char *function_name;
    const char *function_version;
    const char *log_group_name;
    const char *log_stream_name;
    long long deadline_ms;  /* Unix epoch ms; 0 if the platform sent none */
    int memory_limit_mb;    /* 0 if unknown */
};

/* Milliseconds until the deadline (negative once past; LLONG_MAX if no deadline is known). */
long long ptl_remaining_time_ms(const struct ptl_context *ctx);

struct ptl_response {
    char *body;               /* success: malloc'd, freed by the library; NULL = empty */
    size_t len;
    const char *content_type; /* static; NULL = application/json */
    const char *error_type;   /* error: static; NULL = "HandlerError" */
    char *error_message;      /* error: malloc'd or NULL */
};

typedef int (*ptl_handler)(const char *event, size_t event_len, const struct ptl_context *ctx,
                           struct ptl_response *out);

/* The runtime loop: /next, handler, /response or /error, forever. Returns only on a fatal error. */
int ptl_run(ptl_handler handler);

/* Reports an INIT failure (POST /runtime/init/error). 0 if the platform took it. */
int ptl_init_error(const char *error_type, const char *message);

#endif
