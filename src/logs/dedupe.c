/*
 * dedupe.c - the same log event read twice counts once.
 *
 * Overlapping exports (00:00-01:00 and 00:30-01:30), a file next to its .gz, two downloads of one
 * stream: the REPORTs in the overlap would count twice, inflating every figure. A REPORT's
 * identity is its timestamp (the log event's), its request id and its figures, not the name its
 * input was grouped under (two exports of one function named after their files are still one
 * function's events; request ids are unique across functions); the copy's own function gives
 * its counts back.
 * CloudWatch's eventId is not used, since only some JSON outputs carry it while the same event
 * in an S3 export, a tail or a get-log-events page has none, and the content says the same
 * thing: an asynchronous invocation's retries share the request id but are minutes apart, so
 * they keep distinct timestamps and all count. REPORTs without a timestamp are never dropped:
 * nothing tells a retry from a copy there.
 *
 * Equal events have equal timestamps, so the timed records are bucketed by time (a count pass
 * and a scatter pass of 8-byte items, about 64 records a bucket) and each bucket is checked in
 * cache with a small open-addressing table of 32-bit hashes; a hash match is confirmed on every
 * field. The first record of an event in input order is kept.
 */
#include <stdlib.h>
#include <string.h>

#include "logs/logs_internal.h"

#define DEDUPE_PER_BUCKET 64

static bool same_event(const struct pt_logs_inv *a, const struct pt_logs_fig *fa,
                       const struct pt_logs_inv *b, const struct pt_logs_fig *fb)
{
    /* The status is not compared: a "Task timed out" line may have changed one copy's. */
    const uint32_t same = PT_LOGS_FIG_BILLED_MAX | PT_LOGS_FIG_USED << 24;
    return a->end == b->end && a->dur == b->dur && fa->id == fb->id &&
           (fa->billed_flags & same) == (fb->billed_flags & same) &&
           fa->memory_mb == fb->memory_mb && fa->max_used_mb == fb->max_used_mb &&
           !((fa->billed_flags | fb->billed_flags) & PT_LOGS_FIG_KEEP << 24);
}


int pt_logs_dedupe(const struct pt_logs_inv *invs, struct pt_logs_fig *figs, size_t n,
                   int64_t end_min, int64_t end_max, size_t *dropped, struct pt_error *err)
{
    size_t *start = NULL;
    uint64_t *items = NULL, *table = NULL;
    int rc = 0;

    *dropped = 0;
    if (n < 2 || end_min >= end_max + 1 || n > UINT32_MAX)
        return 0; /* nothing timed twice; n is bounded far below 2^32 by --max-invocations */
    uint64_t span = (uint64_t)end_max - (uint64_t)end_min;
    uint64_t want = n / DEDUPE_PER_BUCKET + 1;
    unsigned shift = 0;
    while (shift < 63 && (span >> shift) >= want)
        shift++;
    size_t nb = (size_t)(span >> shift) + 1;
    start = calloc(nb + 1, sizeof(*start));
    if (!start) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory (duplicate check)");
        goto out;
    }
    size_t timed = 0;
    for (size_t i = 0; i < n; i++) {
        if (invs[i].end == PT_LOGS_NO_TIME)
            continue;
        start[(((uint64_t)invs[i].end - (uint64_t)end_min) >> shift) + 1]++;
        timed++;
    }
    size_t biggest = 0;
    for (size_t b = 0; b < nb; b++) {
        if (start[b + 1] > biggest)
            biggest = start[b + 1];
        start[b + 1] += start[b];
    }
    if (biggest < 2)
        goto out; /* every timestamp alone in its bucket */
    items = malloc(timed * sizeof(*items));
    size_t tsize = 16;
    while (tsize < 2 * biggest)
        tsize *= 2;
    table = malloc(tsize * sizeof(*table));
    if (!items || !table) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory (duplicate check, %zu records)", n);
        goto out;
    }
    pt_logs_big_array(items, timed * sizeof(*items));
    /* Scatter: (key << 32 | index), in input order within each bucket; start[b] ends as the
     * end of bucket b. */
    for (size_t i = 0; i < n; i++) {
        if (invs[i].end == PT_LOGS_NO_TIME)
            continue;
        size_t b = (size_t)(((uint64_t)invs[i].end - (uint64_t)end_min) >> shift);
        items[start[b]++] = (uint64_t)figs[i].id << 32 | (uint32_t)i;
    }
    size_t lo = 0;
    for (size_t b = 0; b < nb; b++) {
        size_t hi = start[b], m = hi - lo;
        if (m >= 2) {
            size_t mask = 15;
            while (mask + 1 < 2 * m)
                mask = mask * 2 + 1;
            /* Slots hold item + 1 (0: empty); an item's low half is its record's index. */
            memset(table, 0, (mask + 1) * sizeof(*table));
            for (size_t k = lo; k < hi; k++) {
                uint64_t it = items[k];
                uint32_t key = (uint32_t)(it >> 32), i = (uint32_t)it;
                size_t slot = key & mask;
                bool dup = false;
                while (table[slot]) {
                    uint64_t other = table[slot] - 1;
                    uint32_t j = (uint32_t)other;
                    if ((uint32_t)(other >> 32) == key &&
                        same_event(&invs[i], &figs[i], &invs[j], &figs[j])) {
                        dup = true;
                        break;
                    }
                    slot = (slot + 1) & mask;
                }
                if (dup) {
                    pt_logs_fig_set(&figs[i], PT_LOGS_FIG_DUP);
                    (*dropped)++;
                } else {
                    table[slot] = it + 1;
                }
            }
        }
        lo = hi;
    }
out:
    free(start);
    free(items);
    free(table);
    return rc;
}
