/*
 * logstream.h - one environment's log stream, as CloudWatch would hold it.
 *
 * Lambda writes each environment's output to its own stream named
 * "YYYY/MM/DD/[$LATEST]<32 hex>" in the group /aws/lambda/<function>. The
 * engine keeps the same shape on disk:
 *   <state>/logs/<function>/YYYY/MM/DD/[<version>]<32 hex>.log
 * one event per line, prefixed with its ISO 8601 UTC timestamp and a space.
 * Alongside, the plain text of the current invocation (no timestamps) is kept
 * in a 4 KB tail: what Invoke's LogType=Tail returns.
 *
 * Function output is capped per invocation (the rest is drained, counted and
 * reported in one line), so a function printing gigabytes cannot fill the
 * disk; platform lines (START/END/REPORT) are never dropped.
 */
#ifndef PT_ENGINE_LOGSTREAM_H
#define PT_ENGINE_LOGSTREAM_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/error.h"

#define PT_LOG_OUTPUT_CAP_DEFAULT (8u * 1024 * 1024)

struct pt_logstream {
    int fd;
    bool at_line_start;
    char name[96]; /* the stream name Lambda would show */
    char dir[PATH_MAX];  /* the day's directory */
    char path[PATH_MAX];
    struct pt_tail tail;
    size_t cap;
    size_t invocation_bytes;
    size_t dropped;
    /* Batched writes: one write(2) per output chunk and one at the end of an invocation. */
    char pending[4096];
    size_t pending_len;
};

/*
 * Names the stream (what the runtime gets as AWS_LAMBDA_LOG_STREAM_NAME) and allocates its tail,
 * without touching the disk; pt_logstream_create_file then creates the file (and the day's
 * directory). The environment does the second once its runtime has started: creating them
 * before the exec added ~0.1-0.2 ms to every cold start. Lines written before the file exists
 * reach only the tail. pt_logstream_close undoes either.
 */
int pt_logstream_init(struct pt_logstream *ls, const char *log_dir, const char *version,
                      size_t output_cap, struct pt_error *err);
int pt_logstream_create_file(struct pt_logstream *ls, struct pt_error *err);
/* Resets the tail and the output cap for a new invocation. */
void pt_logstream_begin_invocation(struct pt_logstream *ls);
/* Function output, any chunking; lines are timestamped as they start. */
void pt_logstream_output(struct pt_logstream *ls, const char *data, size_t n);
/* A platform line (must end in '\n'); a pending partial output line is ended first. */
void pt_logstream_platform(struct pt_logstream *ls, const char *line, size_t n);
/* Writes the "dropped output" note if the cap was hit, and flushes to disk. */
void pt_logstream_end_invocation(struct pt_logstream *ls);
void pt_logstream_close(struct pt_logstream *ls);

#endif
