/*
 * buf.h - a growable byte buffer with a hard size limit.
 *
 * Everything powertune reads from outside (HTTP bodies, function output,
 * files) lands in a pt_buf whose limit is set by the caller, so no input
 * can grow memory without bound. The data is always NUL-terminated (the
 * terminator is not counted in len) so text can be used directly.
 */
#ifndef PT_BASE_BUF_H
#define PT_BASE_BUF_H

#include <stddef.h>

#include "base/error.h"

struct pt_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t limit; /* 0 = no limit beyond memory (only for internal data) */
};

void pt_buf_init(struct pt_buf *b, size_t limit);
/* Fails with PT_ELIMIT when len would pass the limit; nothing is appended then. */
int pt_buf_append(struct pt_buf *b, const void *data, size_t n, struct pt_error *err);
int pt_buf_append_str(struct pt_buf *b, const char *s, struct pt_error *err);
int pt_buf_printf(struct pt_buf *b, struct pt_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pt_buf_reset(struct pt_buf *b);
void pt_buf_free(struct pt_buf *b);
/* Hands the data to the caller (who frees it) and empties the buffer. */
char *pt_buf_steal(struct pt_buf *b, size_t *len);

/* A fixed-size ring that keeps the last `cap` bytes written (log tails). */
struct pt_tail {
    char *data;
    size_t cap;
    size_t len;   /* bytes held, <= cap */
    size_t start; /* index of the oldest byte */
};

int pt_tail_init(struct pt_tail *t, size_t cap, struct pt_error *err);
void pt_tail_write(struct pt_tail *t, const void *data, size_t n);
/* Copies the held bytes in order into out (size >= t->len + 1), NUL-terminated; returns length. */
size_t pt_tail_copy(const struct pt_tail *t, char *out);
void pt_tail_reset(struct pt_tail *t);
void pt_tail_free(struct pt_tail *t);

#endif
