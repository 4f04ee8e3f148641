#include "base/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pt_buf_init(struct pt_buf *b, size_t limit)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = limit;
}

static int buf_reserve(struct pt_buf *b, size_t need, struct pt_error *err)
{
    if (need + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return pt_error_set(err, PT_ENOMEM, "out of memory growing a buffer to %zu bytes", cap);
    b->data = p;
    b->cap = cap;
    return 0;
}

int pt_buf_append(struct pt_buf *b, const void *data, size_t n, struct pt_error *err)
{
    if (b->limit && (n > b->limit || b->len > b->limit - n))
        return pt_error_set(err, PT_ELIMIT, "data exceeds the limit of %zu bytes", b->limit);
    int rc = buf_reserve(b, b->len + n, err);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int pt_buf_append_str(struct pt_buf *b, const char *s, struct pt_error *err)
{
    return pt_buf_append(b, s, strlen(s), err);
}

int pt_buf_printf(struct pt_buf *b, struct pt_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return pt_error_set(err, PT_EIO, "cannot format text");
    if (b->limit && ((size_t)n > b->limit || b->len > b->limit - (size_t)n))
        return pt_error_set(err, PT_ELIMIT, "data exceeds the limit of %zu bytes", b->limit);
    int rc = buf_reserve(b, b->len + (size_t)n, err);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void pt_buf_reset(struct pt_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void pt_buf_free(struct pt_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *pt_buf_steal(struct pt_buf *b, size_t *len)
{
    char *d = b->data;
    if (!d) {
        d = calloc(1, 1);
    }
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

int pt_tail_init(struct pt_tail *t, size_t cap, struct pt_error *err)
{
    t->data = malloc(cap);
    if (!t->data)
        return pt_error_set(err, PT_ENOMEM, "out of memory for a %zu-byte log tail", cap);
    t->cap = cap;
    t->len = 0;
    t->start = 0;
    return 0;
}

void pt_tail_write(struct pt_tail *t, const void *data, size_t n)
{
    const char *p = data;
    if (n >= t->cap) {
        memcpy(t->data, p + (n - t->cap), t->cap);
        t->start = 0;
        t->len = t->cap;
        return;
    }
    for (size_t i = 0; i < n;) {
        size_t end = (t->start + t->len) % t->cap;
        size_t room = t->cap - end;
        size_t chunk = n - i < room ? n - i : room;
        memcpy(t->data + end, p + i, chunk);
        i += chunk;
        t->len += chunk;
        if (t->len > t->cap) {
            t->start = (t->start + (t->len - t->cap)) % t->cap;
            t->len = t->cap;
        }
    }
}

size_t pt_tail_copy(const struct pt_tail *t, char *out)
{
    size_t first = t->cap - t->start;
    if (first > t->len)
        first = t->len;
    memcpy(out, t->data + t->start, first);
    memcpy(out + first, t->data, t->len - first);
    out[t->len] = '\0';
    return t->len;
}

void pt_tail_reset(struct pt_tail *t)
{
    t->len = 0;
    t->start = 0;
}

void pt_tail_free(struct pt_tail *t)
{
    free(t->data);
    t->data = NULL;
    t->cap = t->len = t->start = 0;
}
