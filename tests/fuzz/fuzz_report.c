/*
 * fuzz_report - pt_report_parse (src/engine/report.c) on arbitrary bytes.
 *
 * REPORT lines come from outside (log files of real Lambda functions, `powertune logs`), and the
 * parser is a hand-written memchr scanner, so every byte pattern has to end in 0 or -1 without
 * reading past `len`. The input is copied into a buffer of exactly its size (no NUL after it):
 * AddressSanitizer then catches any read beyond the line. A line that parses must also come back
 * out of pt_report_format and parse again to the same figures.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/report.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = fuzz_copy(data, size);
    if (!line)
        return 0;
    struct pt_report r;
    memset(&r, 0, sizeof(r));
    if (pt_report_parse(line, size, &r) == 0) {
        char again[512];
        size_t n = pt_format_report_line(again, sizeof(again), &r);
        struct pt_report back;
        memset(&back, 0, sizeof(back));
        /* Figures the format prints exactly; duration_ms is printed to 2 decimals. */
        if (n < sizeof(again) && pt_report_parse(again, n, &back) == 0 &&
            (back.billed_ms != r.billed_ms || back.memory_mb != r.memory_mb ||
             back.max_memory_used_mb != r.max_memory_used_mb || back.status != r.status ||
             strcmp(back.request_id, r.request_id) != 0))
            abort();
    }
    free(line);
    return 0;
}
