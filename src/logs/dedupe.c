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
 * Equal events have equal timestamps, so the timed records are bucketed by time (counted while
 * the merge copies them, then a scatter pass of 4-byte indexes; about 64 records a bucket; two
 * threads on big inputs, each with half of the buckets) and each bucket is checked in
 * cache with a small open-addressing table of 32-bit hashes, stamped with the bucket's number
 * instead of cleared; a hash match is confirmed on every field. The first record of an event in
 * input order is kept.
 */
#include <pthread.h>
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


/* A slot of the per-bucket table: in use when gen is the bucket's (no clearing between buckets). */
struct slot {
    uint32_t gen, key, idx;
};

int pt_logs_dedupe_begin(struct pt_logs_dedupe *d, size_t n, int64_t end_min, int64_t end_max,
                         struct pt_error *err)
{
    memset(d, 0, sizeof(*d));
    if (n < 2 || end_min >= end_max + 1 || n >= UINT32_MAX)
        return 0; /* nothing timed twice; n is bounded below 2^32 by --max-invocations */
    uint64_t span = (uint64_t)end_max - (uint64_t)end_min;
    uint64_t want = n / DEDUPE_PER_BUCKET + 1;
    while (d->shift < 63 && (span >> d->shift) >= want)
        d->shift++;
    d->base = end_min;
    d->nb = (size_t)(span >> d->shift) + 1; /* at most n / 64 + 1: numbers fit 32 bits */
    d->start = calloc(d->nb + 1, sizeof(*d->start));
    if (!d->start)
        return pt_error_set(err, PT_ENOMEM, "out of memory (duplicate check)");
    return 0;
}

/* One half of the buckets, checked on its own thread: its records scattered, then its buckets. */
struct half {
    const struct pt_logs_dedupe *d;
    const struct pt_logs_inv *invs;
    struct pt_logs_fig *figs;
    size_t n, b0, b1, tsize;
    size_t first;           /* where bucket b0's records go (start[b0] before the scatter) */
    uint32_t *start, *items;
    size_t dropped;
    int rc;
};

static void *half_run(void *p)
{
    struct half *h = p;
    const struct pt_logs_inv *invs = h->invs;
    struct pt_logs_fig *figs = h->figs;
    uint32_t *start = h->start, *items = h->items;
    struct slot *table = calloc(h->tsize, sizeof(*table));
    if (!table) {
        h->rc = PT_ENOMEM;
        return NULL;
    }
    /* Scatter the records' indexes, in input order within each bucket; start[b] ends as the
     * end of bucket b. */
    for (size_t i = 0; i < h->n; i++) {
        if (invs[i].end == PT_LOGS_NO_TIME)
            continue;
        size_t b = pt_logs_dedupe_bucket(h->d, invs[i].end);
        if (b >= h->b0 && b < h->b1)
            items[start[b]++] = (uint32_t)i;
    }
    const size_t mask = h->tsize - 1;
    /* Not start[b0 - 1]: the other half may still be moving it. */
    size_t lo = h->first;
    for (size_t b = h->b0; b < h->b1; b++) {
        const size_t hi = start[b];
        const uint32_t gen = (uint32_t)b + 1;
        for (size_t k = lo; k < hi && hi - lo >= 2; k++) {
            const uint32_t i = items[k], key = figs[i].id;
            size_t at = key & mask;
            bool dup = false;
            while (table[at].gen == gen) {
                const uint32_t j = table[at].idx;
                if (table[at].key == key && same_event(&invs[i], &figs[i], &invs[j], &figs[j])) {
                    dup = true;
                    break;
                }
                at = (at + 1) & mask;
            }
            if (dup) {
                pt_logs_fig_set(&figs[i], PT_LOGS_FIG_DUP);
                h->dropped++;
            } else {
                table[at] = (struct slot){gen, key, i};
            }
        }
        lo = hi;
    }
    free(table);
    return NULL;
}

int pt_logs_dedupe_run(struct pt_logs_dedupe *d, const struct pt_logs_inv *invs,
                       struct pt_logs_fig *figs, size_t n, size_t *dropped, struct pt_error *err)
{
    uint32_t *start = d->start, *items = NULL;
    int rc = 0;

    *dropped = 0;
    d->start = NULL;
    if (!start)
        return 0;
    const size_t nb = d->nb;
    size_t biggest = 0;
    for (size_t b = 0; b < nb; b++) {
        if (start[b + 1] > biggest)
            biggest = start[b + 1];
        start[b + 1] += start[b];
    }
    const size_t timed = start[nb];
    if (biggest < 2)
        goto out; /* every timestamp alone in its bucket */
    items = malloc(timed * sizeof(*items));
    if (!items) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory (duplicate check, %zu records)", n);
        goto out;
    }
    pt_logs_big_array(items, timed * sizeof(*items));
    size_t tsize = 16;
    while (tsize < 2 * biggest)
        tsize *= 2;
    /* Two halves of about as many records on two threads (big inputs only): each reads every
     * record but scatters and checks its own buckets. */
    size_t mid = nb;
    if (timed >= 100000)
        for (mid = 0; mid < nb && start[mid] < timed / 2; mid++)
            ;
    struct half halves[2] = {
        {d, invs, figs, n, 0, mid, tsize, 0, start, items, 0, 0},
        {d, invs, figs, n, mid, nb, tsize, mid < nb ? start[mid] : timed, start, items, 0, 0},
    };
    pthread_t tid;
    bool threaded = mid < nb && pthread_create(&tid, NULL, half_run, &halves[1]) == 0;
    half_run(&halves[0]);
    if (threaded)
        pthread_join(tid, NULL);
    else if (mid < nb)
        half_run(&halves[1]);
    if (halves[0].rc || halves[1].rc) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory (duplicate check)");
        goto out;
    }
    *dropped = halves[0].dropped + halves[1].dropped;
out:
    free(start);
    free(items);
    return rc;
}

void pt_logs_dedupe_end(struct pt_logs_dedupe *d)
{
    free(d->start);
    d->start = NULL;
}
