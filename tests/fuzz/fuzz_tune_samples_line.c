/*
 * fuzz_tune_samples_line - pt_samples_parse_line (src/tune/samples.c) on arbitrary bytes.
 *
 * Sample lines come back from a file on disk (`powertune analyze`, `tune --resume`), which
 * may be truncated, hand-edited or someone else's. The line is copied into a buffer of
 * exactly its size (no NUL, no newline), so AddressSanitizer catches a read past it. A line
 * that parses must be within the documented ranges, and must come back out of the module's
 * own writer (pt_samples_format_sample) as a line that parses to the same values.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tune/tune.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same(const struct pt_tune_sample *a, const struct pt_tune_sample *b)
{
    return a->power == b->power && a->duration_ms == b->duration_ms &&
           a->billed_ms == b->billed_ms && a->init_ms == b->init_ms &&
           a->max_memory_used_mb == b->max_memory_used_mb && a->cpu_time_ms == b->cpu_time_ms &&
           a->cold_start == b->cold_start && strcmp(a->error, b->error) == 0 &&
           a->payload_index == b->payload_index && a->t_ms == b->t_ms;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = malloc(size ? size : 1);
    if (!line)
        return 0;
    memcpy(line, data, size);
    struct pt_tune_sample s;
    struct pt_error err;
    memset(&err, 0, sizeof(err));
    int rc = pt_samples_parse_line(line, size, &s, &err);
    if (rc > 0 || (rc < 0 && !err.msg[0]))
        abort();
    if (rc == 0) {
        if (s.power < PT_TUNE_POWER_MIN || s.power > PT_TUNE_POWER_MAX ||
            !isfinite(s.duration_ms) || s.duration_ms < 0 || !isfinite(s.billed_ms) ||
            s.billed_ms < 0 || !(s.init_ms == -1 || s.init_ms >= 0) || !isfinite(s.init_ms) ||
            s.max_memory_used_mb < 0 || !isfinite(s.cpu_time_ms) || s.cpu_time_ms < 0 ||
            s.payload_index < 0 || s.t_ms < 0 || !memchr(s.error, 0, sizeof(s.error)))
            abort();
        struct pt_buf b;
        pt_buf_init(&b, 0);
        if (pt_samples_format_sample(&s, &b, &err) != 0)
            abort();
        struct pt_tune_sample back;
        if (b.len > PT_SAMPLES_LINE_MAX || pt_samples_parse_line(b.data, b.len, &back, &err) != 0 ||
            !same(&s, &back))
            abort();
        pt_buf_free(&b);
    }
    free(line);
    return 0;
}
