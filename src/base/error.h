/*
 * error.h - the one error idiom of powertune.
 *
 * Every fallible function returns 0 on success or a negative PT_E* code,
 * and fills a caller-provided struct pt_error with a human message that
 * names what went wrong (the field, the value, what is allowed). Only
 * main() prints the message and picks the exit code (2 for PT_EUSAGE).
 * Passing err == NULL is allowed: the message is then dropped. A message is
 * always well-formed UTF-8: a byte that is not (a user's Latin-1 file name, a
 * character cut by a bound in the format or by the message's size) reads '?'.
 */
#ifndef PT_BASE_ERROR_H
#define PT_BASE_ERROR_H

#include <stddef.h>

enum pt_error_code {
    PT_OK = 0,
    PT_EUSAGE = -1,     /* bad input from the user: exit code 2 */
    PT_ENOMEM = -2,
    PT_ESYS = -3,       /* a system call failed */
    PT_EIO = -4,
    PT_ETIMEDOUT = -5,
    PT_ETHROTTLED = -6, /* concurrency limits reached (TooManyRequests) */
    PT_ENOTFOUND = -7,
    PT_EINTR = -8,      /* interrupted by SIGINT/SIGTERM */
    PT_ESTATE = -9,     /* operation not allowed in the current state */
    PT_EPROTO = -10,    /* a peer broke a protocol */
    PT_ELIMIT = -11,    /* a hard size limit was exceeded */
    PT_EPERM = -12,     /* missing privileges */
};

#define PT_ERROR_MSG_MAX 1024

struct pt_error {
    int code;
    char msg[PT_ERROR_MSG_MAX];
};

/* Sets err (if not NULL) and returns code, so callers can `return pt_error_set(...)`. */
int pt_error_set(struct pt_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like pt_error_set, and appends ": <strerror(errnum)>". */
int pt_error_errno(struct pt_error *err, int code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prefixes an existing message with more context ("while X: <old msg>"). */
int pt_error_wrap(struct pt_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void pt_error_clear(struct pt_error *err);

/* Short name of a code, for logs and tests ("usage", "nomem", ...). */
const char *pt_error_name(int code);

#endif
