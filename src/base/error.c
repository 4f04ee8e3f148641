#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/str.h"

/* Messages quote users' text and are cut by bounds: each is made valid UTF-8 (see error.h).
 * Formatted aside first: callers re-label an error by quoting its own err->msg, and vsnprintf
 * into the buffer it reads from is undefined (it garbled "No such file" into "such file"). */
static void error_vformat(struct pt_error *err, int code, const char *fmt, va_list ap)
{
    char msg[sizeof(err->msg)];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    memcpy(err->msg, msg, sizeof(msg));
    err->code = code;
    pt_utf8_make_valid(err->msg);
}

int pt_error_set(struct pt_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        error_vformat(err, code, fmt, ap);
        va_end(ap);
    }
    return code;
}

int pt_error_errno(struct pt_error *err, int code, int errnum, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        error_vformat(err, code, fmt, ap);
        va_end(ap);
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(errnum));
        pt_utf8_make_valid(err->msg);
    }
    return code;
}

int pt_error_wrap(struct pt_error *err, const char *fmt, ...)
{
    if (!err)
        return PT_EIO;
    char prefix[PT_ERROR_MSG_MAX];
    char old[PT_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    size_t np = strnlen(prefix, sizeof(err->msg) - 1);
    memcpy(err->msg, prefix, np);
    size_t n = np;
    if (n + 2 < sizeof(err->msg)) {
        memcpy(err->msg + n, ": ", 2);
        n += 2;
        size_t no = strnlen(old, sizeof(err->msg) - 1 - n);
        memcpy(err->msg + n, old, no);
        n += no;
    }
    err->msg[n] = '\0';
    pt_utf8_make_valid(err->msg);
    return err->code;
}

void pt_error_clear(struct pt_error *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}

const char *pt_error_name(int code)
{
    switch (code) {
    case PT_OK: return "ok";
    case PT_EUSAGE: return "usage";
    case PT_ENOMEM: return "nomem";
    case PT_ESYS: return "system";
    case PT_EIO: return "io";
    case PT_ETIMEDOUT: return "timeout";
    case PT_ETHROTTLED: return "throttled";
    case PT_ENOTFOUND: return "notfound";
    case PT_EINTR: return "interrupted";
    case PT_ESTATE: return "state";
    case PT_EPROTO: return "protocol";
    case PT_ELIMIT: return "limit";
    case PT_EPERM: return "permission";
    default: return "unknown";
    }
}
