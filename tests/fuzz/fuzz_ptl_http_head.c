/*
 * fuzz_ptl_http_head - the C handler library's parsers of a Runtime API response head
 * (runtimes/c): ptl_http_parse_head (status line, Content-Length, Transfer-Encoding,
 * Connection), each head line handed on to ptl_headers_line as the /next exchange does (the
 * Lambda-Runtime-* values into fixed buffers), then what next_event and set_context do with those
 * values (ptl_request_id_ok, ptl_parse_ull, ptl_header_value), and ptl_http_chunk_size on the
 * whole input as a chunk-size line.
 *
 * The input is copied into a buffer of exactly its size (no NUL after it): the parsers take
 * (ptr, len), so AddressSanitizer catches any read past it. Lines handed to the callback must lie
 * inside the input, the status line first; a parsed head must be self-consistent (a status
 * in 100..599, chunked framing without a length, no body for 1xx/204/304); every header value must
 * be terminated inside its buffer, and one flagged too long must be empty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "powertune_lambda.h"
#include "powertune_lambda_internal.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
    const char *head;
    size_t len;
    int lines;
    struct ptl_next_headers h;
};

static void on_line(void *arg, const char *line, size_t len)
{
    struct seen *s = arg;
    if (line < s->head || len == 0 || len > s->len || (size_t)(line - s->head) > s->len - len ||
        (s->lines == 0 && line != s->head) || line[len - 1] != '\n')
        abort();
    s->lines++;
    ptl_headers_line(&s->h, line, len);
}

#define TERMINATED(f) (strnlen((f), sizeof(f)) < sizeof(f))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *head = fuzz_copy(data, size);
    if (!head)
        return 0;
    struct seen *s = malloc(sizeof(*s));
    if (!s)
        goto out;
    memset(s, 0x5a, sizeof(*s)); /* ptl_headers_reset must do for a reused struct */
    ptl_headers_reset(&s->h);
    s->head = head;
    s->len = size;
    s->lines = 0;
    struct ptl_http_head h;
    if (ptl_http_parse_head(head, size, &h, on_line, s) == 0) {
        if (h.status < 100 || h.status > 599 || h.content_length < -1 ||
            (h.chunked && h.content_length != -1) || (h.chunked != 0 && h.chunked != 1) ||
            (h.keep_alive != 0 && h.keep_alive != 1) || s->lines < 1)
            abort();
        if ((h.status < 200 || h.status == 204 || h.status == 304) &&
            (h.content_length != 0 || h.chunked))
            abort();
    }
    struct ptl_next_headers *n = &s->h;
    if (!TERMINATED(n->request_id) || !TERMINATED(n->invoked_arn) || !TERMINATED(n->trace_id) ||
        !TERMINATED(n->client_context) || !TERMINATED(n->cognito_identity) ||
        !TERMINATED(n->deadline) || !TERMINATED(n->content_length))
        abort();
    if (n->too_long && strncmp(n->too_long, "Lambda-Runtime-", 15) != 0 &&
        strcmp(n->too_long, "Content-Length") != 0)
        abort();
    long long v;
    ptl_parse_ull(n->deadline, &v);
    ptl_parse_ull(n->content_length, &v);
    if (ptl_request_id_ok(n->request_id) && strpbrk(n->request_id, "/?# %\r\n"))
        abort(); /* it goes into a URL path as is */
    char clean[16];
    ptl_header_value(n->trace_id, clean, sizeof(clean));
    for (const char *c = clean; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            abort();

    size_t chunk;
    if (ptl_http_chunk_size(head, size, &chunk) == 0 && chunk > (size_t)PTL_EVENT_MAX * 2)
        abort();
    free(s);
out:
    free(head);
    return 0;
}
