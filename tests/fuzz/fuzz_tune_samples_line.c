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
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = fuzz_copy(data, size);
    if (!line)
        return 0;
    struct pt_tune_sample s;
    struct pt_error err = {0};
    int rc = pt_samples_parse_line(line, size, &s, &err);
    fuzz_check_rc(rc, &err);
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
            !fuzz_same_sample(&s, &back))
            abort();
        pt_buf_free(&b);
    }
    free(line);
    return 0;
}
