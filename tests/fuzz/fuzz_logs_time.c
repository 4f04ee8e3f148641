/*
 * fuzz_logs_time - pt_logs_parse_time (src/logs/scan.c) on arbitrary bytes, and the cached
 * copy of it that timestamps REPORT lines (parse_time_cached, reached through
 * pt_logs_scan_line).
 *
 * Timestamps come from outside (line prefixes, the "time" of JSON records). The input is copied
 * into a buffer of exactly its size, so AddressSanitizer catches a read past n.
 *
 * Invariants:
 *   - a time that parses, printed back by pt_logs_format_time (millisecond precision), parses to
 *     the same instant truncated to the millisecond, whenever the printed year is one the
 *     parser accepts (an offset can carry 1970-01-01 or 2199-12-31 out of 1970..2199);
 *   - "<time> REPORT ..." scanned as a log line gets the same end time as pt_logs_parse_time
 *     gives (or is refused when it refuses), on the first line (cache cold) and on a second
 *     identical line (cache warm).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logs/logs_internal.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char report_tail[] = " REPORT RequestId: 1\tDuration: 1.00 ms\tBilled Duration: 1 ms"
                                  "\tMemory Size: 128 MB\tMax Memory Used: 1 MB";

static void check_round_trip(int64_t t)
{
    char text[64];
    pt_logs_format_time(t, text, sizeof(text));
    size_t n = strlen(text);
    int year = atoi(text);
    int64_t back;
    int rc = pt_logs_parse_time(text, n, &back);
    if (year >= 1970 && year <= 2199 && n == 24 && rc != 0)
        abort();
    if (rc == 0) {
        int64_t ms = t / PT_LOGS_TICKS_PER_MS - (t % PT_LOGS_TICKS_PER_MS < 0);
        if (back != ms * PT_LOGS_TICKS_PER_MS)
            abort();
    }
}

/* scan_line's timestamp is the bytes up to the first blank at or after index 19; only inputs
 * that scan_line takes whole as the timestamp are compared. */
static bool whole_timestamp(const char *p, size_t n)
{
    if (n < 20 || p[0] < '0' || p[0] > '9' || p[4] != '-' || p[10] != 'T')
        return false;
    for (size_t i = 19; i < n; i++)
        if (p[i] == ' ' || p[i] == '\t')
            return false;
    return true;
}

static void check_scan_line(const char *ts, size_t n, int rc, int64_t want)
{
    struct pt_logs_options o;
    pt_logs_options_init(&o);
    struct pt_logs_run run;
    fuzz_logs_run_init(&run, &o);
    struct pt_logs_task task;
    memset(&task, 0, sizeof(task));
    struct pt_logs_scan s;
    pt_logs_scan_init(&s, &run, &task);

    size_t ln = n + sizeof(report_tail) - 1;
    char *line = malloc(ln);
    if (!line)
        abort();
    memcpy(line, ts, n);
    memcpy(line + n, report_tail, sizeof(report_tail) - 1);
    for (int pass = 0; pass < 2; pass++) {
        size_t before = task.ninv;
        s.line++;
        if (pt_logs_scan_line(&s, line, ln) != 0)
            abort();
        bool took = task.ninv == before + 1;
        if (took != (rc == 0))
            abort();
        if (took && task.invs[before].end != want)
            abort();
    }
    free(line);
    pt_logs_scan_release(&s);
    fuzz_logs_task_free(&task);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *p = fuzz_copy(data, size);
    if (!p)
        return 0;
    int64_t t = 0;
    int rc = pt_logs_parse_time(p, size, &t);
    if (rc == 0)
        check_round_trip(t);
    if (whole_timestamp(p, size))
        check_scan_line(p, size, rc, t);
    free(p);
    return 0;
}
