/*
 * fuzz_logs_lines - pt_logs_scan_lines (src/logs/scan.c): the per-line work of `powertune
 * logs` over a buffer of log lines (text REPORT / INIT_REPORT lines with or without timestamp
 * and stream prefixes, JSON log-format records, function output), as read.c hands it over.
 *
 * The buffer is a malloc of exactly the input's size (no NUL after it): the SIMD newline masks,
 * the skip test and the line parsers must not read past it (AddressSanitizer). max_line is
 * small so that the overlong-line path is reached by small inputs.
 *
 * Invariants:
 *   - the line count is the number of newlines plus one for a last line without one;
 *   - a line is counted at most once as other, unparsed, invocation or INIT report;
 *   - the block loop (newline masks, lines skipped without scan_line) and a plain loop that
 *     hands every line to pt_logs_scan_line produce the same records, counters and notes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logs/logs_internal.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct state {
    struct pt_logs_options o;
    struct pt_logs_run run;
    struct pt_logs_task task;
    struct pt_logs_scan s;
};

static void state_init(struct state *st)
{
    memset(st, 0, sizeof(*st));
    pt_logs_options_init(&st->o);
    st->o.max_line = 300;
    fuzz_logs_run_init(&st->run, &st->o);
    pt_logs_scan_init(&st->s, &st->run, &st->task);
}

static bool same_counts(const struct pt_logs_counts *a, const struct pt_logs_counts *b)
{
    if (a->invocations != b->invocations || a->timeouts != b->timeouts ||
        a->errors != b->errors || a->init_reports != b->init_reports ||
        a->init_failures != b->init_failures || a->nmem != b->nmem ||
        a->mem_overflow != b->mem_overflow)
        return false;
    for (size_t k = 0; k < a->nmem; k++) {
        const struct pt_logs_mem *x = &a->mem[k], *y = &b->mem[k];
        if (x->memory_mb != y->memory_mb || x->invocations != y->invocations ||
            x->billed_ms != y->billed_ms || x->used_reports != y->used_reports ||
            x->used_sum_mb != y->used_sum_mb || x->used_max_mb != y->used_max_mb ||
            x->out_of_memory != y->out_of_memory)
            return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = fuzz_copy(data, size);
    if (!buf)
        return 0;

    static struct state a, b;
    state_init(&a);
    state_init(&b);
    int rca = pt_logs_scan_lines(&a.s, buf, buf + size);

    /* The reference: one pt_logs_scan_line per line, numbered as scan_lines numbers them. */
    int rcb = 0;
    const char *line = buf, *end = buf + size;
    while (line < end && !rcb) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        const char *le = nl ? nl : end;
        b.s.line++;
        rcb = pt_logs_scan_line(&b.s, line, (size_t)(le - line));
        line = le + 1;
    }

    /* Error returns are ENOMEM / ELIMIT only: neither can happen on a small input. */
    if (rca != 0 || rcb != 0)
        abort();
    uint64_t newlines = 0;
    for (size_t i = 0; i < size; i++)
        newlines += buf[i] == '\n';
    uint64_t want_lines = newlines + (size && buf[size - 1] != '\n');
    const struct pt_logs_task *ta = &a.task, *tb = &b.task;
    if (a.s.line != want_lines || b.s.line != want_lines)
        abort();
    if (ta->other_lines + ta->unparsed + ta->ninv + ta->counts.init_reports > want_lines)
        abort();
    if (ta->other_lines != tb->other_lines || ta->unparsed != tb->unparsed ||
        ta->ninv != tb->ninv || ta->ncold != tb->ncold || ta->nkept != tb->nkept ||
        strcmp(ta->found_name, tb->found_name) != 0 || !same_counts(&ta->counts, &tb->counts))
        abort();
    if (ta->ninv && memcmp(ta->invs, tb->invs, ta->ninv * sizeof(*ta->invs)) != 0)
        abort();
    if (ta->ncold && memcmp(ta->colds, tb->colds, ta->ncold * sizeof(*ta->colds)) != 0)
        abort();
    for (size_t k = 0; k < ta->nkept; k++)
        if (ta->kept[k].line != tb->kept[k].line ||
            strcmp(ta->kept[k].reason, tb->kept[k].reason) != 0)
            abort();
    if (ta->ninv != ta->counts.invocations)
        abort();

    pt_logs_scan_release(&a.s);
    pt_logs_scan_release(&b.s);
    fuzz_logs_task_free(&a.task);
    fuzz_logs_task_free(&b.task);
    free(buf);
    return 0;
}
