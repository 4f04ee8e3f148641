/*
 * fuzz_logs_report - pt_logs_scan_report (src/logs/scan.c) on arbitrary bytes.
 *
 * `powertune logs` reads REPORT lines from log files it did not write, with a hand-written
 * scanner that has a fast path for Lambda's own field order and a general loop for the rest.
 * Every byte pattern has to end in 0 or -1 without reading past n: the input is copied into a
 * buffer of exactly its size (no NUL after it), so AddressSanitizer catches any over-read.
 *
 * Invariants, all from the contract in logs.h:
 *   - a trailing CR changes nothing ("optional trailing TAB/CR");
 *   - a line that scans, printed back as a canonical REPORT line (TAB separated, the fast
 *     path's order), scans to the same figures; so do the same line with every separator a
 *     space, and with TABs up to Max Memory Used then spaces ("TAB or space separated": the
 *     fast path and the general loop must agree).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logs/logs.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int scan_copy(const char *p, size_t n, struct pt_logs_report *r)
{
    char *copy = fuzz_copy(p, n);
    if (!copy)
        abort();
    memset(r, 0, sizeof(*r));
    int rc = pt_logs_scan_report(copy, n, r);
    free(copy);
    return rc;
}

static bool same_report(const struct pt_logs_report *a, const struct pt_logs_report *b)
{
    return a->duration_10us == b->duration_10us && a->billed_ms == b->billed_ms &&
           a->memory_mb == b->memory_mb && a->max_used_mb == b->max_used_mb &&
           a->has_billed == b->has_billed && a->has_max_used == b->has_max_used &&
           a->has_init == b->has_init && (!a->has_init || a->init_10us == b->init_10us) &&
           a->has_restore == b->has_restore &&
           (!a->has_restore || a->restore_10us == b->restore_10us) &&
           a->out_of_memory == b->out_of_memory && a->status == b->status;
}

/* r as a REPORT line: sep1 between the four required fields, sep2 before the optional ones. */
static size_t format_report(char *out, size_t size, const struct pt_logs_report *r, char sep1,
                            char sep2)
{
    int n = snprintf(out, size,
                     "REPORT RequestId: 8f507cfc-xmpl-4697-b07a-ac58fc914c95%cDuration: %u.%02u ms"
                     "%cBilled Duration: %u ms%cMemory Size: %u MB%cMax Memory Used: %u MB",
                     sep1, r->duration_10us / 100, r->duration_10us % 100, sep1, r->billed_ms,
                     sep1, r->memory_mb, sep1, r->max_used_mb);
    if (r->has_init)
        n += snprintf(out + n, size - (size_t)n, "%cInit Duration: %u.%02u ms", sep2,
                      r->init_10us / 100, r->init_10us % 100);
    if (r->has_restore)
        n += snprintf(out + n, size - (size_t)n, "%cRestore Duration: %u.%02u ms", sep2,
                      r->restore_10us / 100, r->restore_10us % 100);
    if (r->status != PT_LOGS_SUCCESS)
        n += snprintf(out + n, size - (size_t)n, "%cStatus: %s", sep2,
                      r->status == PT_LOGS_TIMEOUT ? "timeout" : "error");
    if (r->out_of_memory)
        n += snprintf(out + n, size - (size_t)n, "%cError Type: Runtime.OutOfMemory", sep2);
    return (size_t)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pt_logs_report r, again;
    int rc = scan_copy((const char *)data, size, &r);

    /* The same bytes and a CR: the same verdict and figures. */
    char *cr = malloc(size + 1);
    if (!cr)
        return 0;
    memcpy(cr, data, size);
    cr[size] = '\r';
    int rc_cr = scan_copy(cr, size + 1, &again);
    free(cr);
    if (rc_cr != rc || (rc == 0 && !same_report(&r, &again)))
        abort();
    if (rc != 0)
        return 0;

    static const char seps[][2] = {{'\t', '\t'}, {' ', ' '}, {'\t', ' '}};
    for (size_t k = 0; k < sizeof(seps) / sizeof(seps[0]); k++) {
        char line[512];
        size_t n = format_report(line, sizeof(line), &r, seps[k][0], seps[k][1]);
        if (n >= sizeof(line))
            abort(); /* every field is bounded: 9 digits at most */
        if (scan_copy(line, n, &again) != 0 || !same_report(&r, &again))
            abort();
    }
    return 0;
}
