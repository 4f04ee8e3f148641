#include "engine/logstream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/fs.h"
#include "base/rand.h"
#include "engine/limits.h"

int pt_logstream_init(struct pt_logstream *ls, const char *log_dir, const char *version,
                      size_t output_cap, struct pt_error *err)
{
    memset(ls, 0, sizeof(*ls));
    ls->fd = -1;
    ls->at_line_start = true;
    ls->cap = output_cap ? output_cap : PT_LOG_OUTPUT_CAP_DEFAULT;
    char date[16], hex[33];
    pt_format_date_slashes(pt_epoch_ms(), date, sizeof(date));
    pt_random_hex(hex, 32);
    snprintf(ls->name, sizeof(ls->name), "%s/[%s]%s", date, version, hex);
    if ((size_t)snprintf(ls->dir, sizeof(ls->dir), "%s/%s", log_dir, date) >= sizeof(ls->dir) ||
        (size_t)snprintf(ls->path, sizeof(ls->path), "%s/%s.log", log_dir, ls->name) >=
            sizeof(ls->path))
        return pt_error_set(err, PT_ELIMIT, "log directory path too long: %s", log_dir);
    return pt_tail_init(&ls->tail, PT_LOG_TAIL_BYTES, err);
}

int pt_logstream_create_file(struct pt_logstream *ls, struct pt_error *err)
{
    if (ls->fd >= 0)
        return 0;
    int rc = pt_mkdir_p(ls->dir, 0755, err);
    if (rc)
        return rc;
    ls->fd = open(ls->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (ls->fd < 0)
        return pt_error_errno(err, PT_ESYS, errno, "cannot open log stream %s", ls->path);
    return 0;
}

static void logstream_fd_write(struct pt_logstream *ls, const char *data, size_t n)
{
    while (n && ls->fd >= 0) {
        ssize_t w = write(ls->fd, data, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return; /* a full disk must not stop the function; the tail still works */
        }
        data += w;
        n -= (size_t)w;
    }
}

static void logstream_flush(struct pt_logstream *ls)
{
    logstream_fd_write(ls, ls->pending, ls->pending_len);
    ls->pending_len = 0;
}

static void logstream_write(struct pt_logstream *ls, const char *data, size_t n)
{
    if (ls->pending_len + n > sizeof(ls->pending))
        logstream_flush(ls);
    if (n > sizeof(ls->pending)) {
        logstream_fd_write(ls, data, n);
        return;
    }
    memcpy(ls->pending + ls->pending_len, data, n);
    ls->pending_len += n;
}

static void logstream_stamp(struct pt_logstream *ls)
{
    char ts[32];
    pt_format_iso8601_ms(pt_epoch_ms(), ts, sizeof(ts));
    size_t n = strlen(ts);
    ts[n++] = ' ';
    logstream_write(ls, ts, n);
}

/* Writes text line by line, stamping each line start. */
static void logstream_lines(struct pt_logstream *ls, const char *data, size_t n)
{
    while (n) {
        if (ls->at_line_start) {
            logstream_stamp(ls);
            ls->at_line_start = false;
        }
        const char *nl = memchr(data, '\n', n);
        size_t chunk = nl ? (size_t)(nl - data) + 1 : n;
        logstream_write(ls, data, chunk);
        if (nl)
            ls->at_line_start = true;
        data += chunk;
        n -= chunk;
    }
}

void pt_logstream_begin_invocation(struct pt_logstream *ls)
{
    pt_tail_reset(&ls->tail);
    ls->invocation_bytes = 0;
    ls->dropped = 0;
}

void pt_logstream_output(struct pt_logstream *ls, const char *data, size_t n)
{
    size_t room = ls->invocation_bytes < ls->cap ? ls->cap - ls->invocation_bytes : 0;
    size_t keep = n < room ? n : room;
    ls->invocation_bytes += keep;
    ls->dropped += n - keep;
    if (!keep)
        return;
    pt_tail_write(&ls->tail, data, keep);
    logstream_lines(ls, data, keep);
    logstream_flush(ls); /* output reaches the file as it comes, for tail -f */
}

void pt_logstream_platform(struct pt_logstream *ls, const char *line, size_t n)
{
    if (!ls->at_line_start) {
        logstream_write(ls, "\n", 1);
        pt_tail_write(&ls->tail, "\n", 1);
        ls->at_line_start = true;
    }
    pt_tail_write(&ls->tail, line, n);
    logstream_lines(ls, line, n);
}

void pt_logstream_end_invocation(struct pt_logstream *ls)
{
    if (!ls->dropped) {
        logstream_flush(ls);
        return;
    }
    char note[160];
    int n = snprintf(note, sizeof(note),
                     "powertune: dropped %zu bytes of function output (cap %zu bytes per "
                     "invocation)\n",
                     ls->dropped, ls->cap);
    pt_logstream_platform(ls, note, (size_t)n);
    ls->dropped = 0;
    logstream_flush(ls);
}

void pt_logstream_close(struct pt_logstream *ls)
{
    logstream_flush(ls);
    if (ls->fd >= 0)
        close(ls->fd);
    ls->fd = -1;
    pt_tail_free(&ls->tail);
}
