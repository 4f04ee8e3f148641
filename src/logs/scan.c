/*
 * scan.c - the per-line work of `powertune logs`: classify a line, read a REPORT, a JSON
 * log-format record or a CloudWatch event, and append compact records to the task.
 *
 * The text path is the hot one (a 1 GB log is millions of lines, most of them function output):
 * a line costs one memchr for its end plus a few byte compares, and only REPORT lines go further.
 * Numbers are read as integers of 10 us ticks (Lambda prints two decimals), never via strtod,
 * and nothing is allocated per line. JSON records and events go through jansson, but only once a
 * cheap test says they are platform records.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "logs/logs_internal.h"

/* Invocations counted locally before they are published to the run (an atomic add each). */
#define PT_LOGS_FLUSH_EVERY 4096

static inline bool is_digit(char c)
{
    return (unsigned char)(c - '0') < 10;
}

/* memcmp(a, b, n) == 0 for short n, as word loads the compiler inlines (no libc call). */
static inline __attribute__((always_inline)) bool same_bytes(const char *a, const char *b,
                                                              size_t n)
{
    /* n is a constant at every hot call: this unrolls into a few word compares, the tail as
     * one overlapping word instead of a byte loop. */
    if (n >= 8) {
        size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            uint64_t x, y;
            memcpy(&x, a + i, 8);
            memcpy(&y, b + i, 8);
            if (x != y)
                return false;
        }
        if (i < n) {
            uint64_t x, y;
            memcpy(&x, a + n - 8, 8);
            memcpy(&y, b + n - 8, 8);
            if (x != y)
                return false;
        }
        return true;
    }
    if (n >= 4) {
        uint32_t x, y, u, v;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        memcpy(&u, a + n - 4, 4);
        memcpy(&v, b + n - 4, 4);
        return x == y && u == v;
    }
    while (n--)
        if (*a++ != *b++)
            return false;
    return true;
}

/* ---------------------------------------------------------------- time */

/* The years a timestamp may have (epoch ms are held to the same): 1970 is the epoch. */
#define SCAN_YEAR_FIRST 1970
#define SCAN_YEAR_LAST 2199

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool two_digits(const char *p, unsigned *out)
{
    if (!is_digit(p[0]) || !is_digit(p[1]))
        return false;
    *out = (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0');
    return true;
}

/* "YYYY-MM-DDTHH:MM:SS" (19 bytes) -> seconds since the epoch, before any zone offset. */
static int parse_time_prefix(const char *p, int64_t *secs)
{
    unsigned y1, y2, mo, d, h, mi, s;
    if (!two_digits(p, &y1) || !two_digits(p + 2, &y2) || p[4] != '-' ||
        !two_digits(p + 5, &mo) || p[7] != '-' || !two_digits(p + 8, &d) ||
        (p[10] != 'T' && p[10] != ' ') || !two_digits(p + 11, &h) || p[13] != ':' ||
        !two_digits(p + 14, &mi) || p[16] != ':' || !two_digits(p + 17, &s))
        return -1;
    /* SCAN_YEAR_FIRST..SCAN_YEAR_LAST: outside is a damaged line, and the concurrency bins
     * rely on the bound. */
    unsigned year = y1 * 100 + y2;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 ||
        year < SCAN_YEAR_FIRST || year > SCAN_YEAR_LAST)
        return -1;
    *secs = days_from_civil((int64_t)year, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    return 0;
}

/* "[.fraction](Z|+HH:MM|-HH:MM|+HHMM)" -> ticks of fraction minus the zone offset. */
static int parse_time_suffix(const char *p, size_t n, int64_t *out)
{
    size_t i = 0;
    int64_t frac = 0;
    if (i < n && p[i] == '.') {
        i++;
        size_t digits = 0;
        int64_t scale = PT_LOGS_TICKS_PER_S / 10;
        while (i < n && is_digit(p[i])) {
            frac += (p[i] - '0') * scale; /* digits past 10 us add 0 */
            scale /= 10;
            i++;
            digits++;
        }
        if (digits == 0 || digits > 9)
            return -1;
    }
    int64_t offset_s = 0;
    if (i < n && p[i] == 'Z') {
        i++;
    } else if (i < n && (p[i] == '+' || p[i] == '-')) {
        unsigned oh, om;
        int sign = p[i] == '-' ? -1 : 1;
        i++;
        if (n - i < 4 || !two_digits(p + i, &oh))
            return -1;
        i += 2;
        if (p[i] == ':')
            i++;
        if (n - i < 2 || !two_digits(p + i, &om) || oh > 23 || om > 59)
            return -1;
        i += 2;
        offset_s = sign * (int64_t)(oh * 3600 + om * 60);
    } else {
        return -1; /* a timestamp without a zone is ambiguous: refuse it */
    }
    if (i != n)
        return -1;
    *out = frac - offset_s * PT_LOGS_TICKS_PER_S;
    return 0;
}

/*
 * "YYYY-MM-DDTHH:MM:SS" and nothing more is how `aws logs tail --format short` prints an event's
 * time: UTC (it converts to tzutc, then strftime drops the zone and the milliseconds). Lambda's
 * lines are UTC too; a zone-less time with a fraction comes from nothing we know, and stays
 * refused.
 */
static inline bool aws_tail_short(const char *p, size_t n)
{
    return n == 19 && p[10] == 'T';
}

int pt_logs_parse_time(const char *p, size_t n, int64_t *out)
{
    int64_t secs, rest = 0;
    if (n < 19 || parse_time_prefix(p, &secs) != 0 ||
        (!aws_tail_short(p, n) && parse_time_suffix(p + 19, n - 19, &rest)))
        return -1;
    *out = secs * PT_LOGS_TICKS_PER_S + rest;
    return 0;
}

/* Like pt_logs_parse_time; consecutive lines mostly share their second, which is cached. */
static inline __attribute__((always_inline)) int parse_time_cached(struct pt_logs_scan *s, const char *p, size_t n, int64_t *out)
{
    int64_t rest;
    if (n < 19)
        return -1;
    if (!s->tkey_valid || !same_bytes(p, s->tkey, sizeof(s->tkey))) {
        if (parse_time_prefix(p, &s->tsecs) != 0)
            return -1;
        memcpy(s->tkey, p, sizeof(s->tkey));
        s->tkey_valid = true;
    }
    /* Lambda's own ".mmmZ": three digits, no offset (the general parser gives the same). */
    if (n == 24 && p[19] == '.' && is_digit(p[20]) && is_digit(p[21]) && is_digit(p[22]) &&
        p[23] == 'Z') {
        rest = (p[20] - '0') * (PT_LOGS_TICKS_PER_S / 10) +
               (p[21] - '0') * (PT_LOGS_TICKS_PER_S / 100) +
               (p[22] - '0') * (PT_LOGS_TICKS_PER_S / 1000);
    } else if (aws_tail_short(p, n)) {
        rest = 0;
    } else if (parse_time_suffix(p + 19, n - 19, &rest) != 0) {
        return -1;
    }
    *out = s->tsecs * PT_LOGS_TICKS_PER_S + rest;
    return 0;
}

/* ---------------------------------------------------------------- REPORT */

struct cur {
    const char *p, *end;
};

static inline void skip_seps(struct cur *c)
{
    while (c->p < c->end && (*c->p == '\t' || *c->p == ' '))
        c->p++;
}

/* "<digits>[.<digits>]" as 10 us ticks (two decimals kept, the third rounds). */
static inline __attribute__((always_inline)) bool read_ms_ticks(struct cur *c, uint32_t *out)
{
    const char *p = c->p;
    uint64_t v = 0;
    int n = 0;
    while (p < c->end && is_digit(*p)) {
        if (++n > 9)
            return false; /* over 1e9 ms: not a Lambda duration */
        v = v * 10 + (uint64_t)(*p - '0');
        p++;
    }
    if (n == 0)
        return false;
    v *= PT_LOGS_TICKS_PER_MS;
    if (p < c->end && *p == '.') {
        p++;
        const char *f = p;
        unsigned d1 = 0, d2 = 0, d3 = 0;
        if (p < c->end && is_digit(*p))
            d1 = (unsigned)(*p++ - '0');
        if (p < c->end && is_digit(*p))
            d2 = (unsigned)(*p++ - '0');
        if (p < c->end && is_digit(*p))
            d3 = (unsigned)(*p++ - '0');
        while (p < c->end && is_digit(*p))
            p++;
        if (p == f)
            return false;
        v += d1 * 10 + d2 + (d3 >= 5);
    }
    if (v >= UINT32_MAX) /* UINT32_MAX is analyze.c's INIT-end mark */
        return false;
    *out = (uint32_t)v;
    c->p = p;
    return true;
}

static inline __attribute__((always_inline)) bool read_uint(struct cur *c, uint32_t *out)
{
    const char *p = c->p;
    uint64_t v = 0;
    int n = 0;
    while (p < c->end && is_digit(*p)) {
        if (++n > 9)
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
        p++;
    }
    if (n == 0)
        return false;
    *out = (uint32_t)v;
    c->p = p;
    return true;
}

/* " ms" / " MB" after a number (the 2020-era "Billed Duration: 100 ms Memory Size" too). */
static inline bool eat_unit(struct cur *c, char u0, char u1)
{
    if (c->end - c->p < 3 || c->p[0] != ' ' || c->p[1] != u0 || c->p[2] != u1)
        return false;
    c->p += 3;
    return true;
}

static inline bool name_is(const char *name, size_t n, const char *lit, size_t litn)
{
    return n == litn && memcmp(name, lit, n) == 0;
}
#define NAME_IS(name, n, lit) name_is(name, n, lit, sizeof(lit) - 1)

enum { SEEN_DUR = 1, SEEN_BILLED = 2, SEEN_MEM = 4, SEEN_USED = 8, SEEN_ALL = 15 };

int pt_logs_scan_report(const char *p, size_t n, struct pt_logs_report *out)
{
    static const char head[] = "REPORT RequestId: ";
    struct cur c = {p, p + n};
    struct pt_logs_report r;
    unsigned seen = 0;

    memset(&r, 0, sizeof(r));
    while (c.end > c.p && (c.end[-1] == '\r' || c.end[-1] == '\n'))
        c.end--;
    if (n < sizeof(head) - 1 || !same_bytes(p, head, sizeof(head) - 1))
        return -1;
    c.p += sizeof(head) - 1;
    const char *id = c.p;
    if (c.end - c.p > 36 && c.p[36] == '\t')
        c.p += 36; /* a UUID, as Lambda's request ids are */
    while (c.p < c.end && *c.p != '\t' && *c.p != ' ')
        c.p++;
    if (c.p == id)
        return -1;
    r.request_id = id;
    r.request_id_len = (size_t)(c.p - id);
    /*
     * Fast path: Lambda's own order "\tDuration: X ms\tBilled Duration: N ms\tMemory Size: N
     * MB\tMax Memory Used: N MB". Anything else (RIE's order, the 2020 space, a cut line) falls
     * through to the general loop from where the fast path stopped.
     */
#define FAST(lit) (c.end - c.p >= (ptrdiff_t)sizeof(lit) - 1 && same_bytes(c.p, lit, sizeof(lit) - 1) \
                   ? (c.p += sizeof(lit) - 1, true) : false)
    {
        struct cur save = c;
        if (FAST("\tDuration: ") && read_ms_ticks(&c, &r.duration_10us) &&
            FAST(" ms\tBilled Duration: ") && read_uint(&c, &r.billed_ms) &&
            FAST(" ms\tMemory Size: ") && read_uint(&c, &r.memory_mb) &&
            FAST(" MB\tMax Memory Used: ") && read_uint(&c, &r.max_used_mb) && FAST(" MB")) {
            r.has_billed = r.has_max_used = true;
            seen = SEEN_ALL;
            /* The same rule as the general loop's: a value ends at a TAB or a space (fields
             * may be space separated, "...: 75 MB Init Duration: ..."). */
            if (c.p < c.end && *c.p != '\t' && *c.p != ' ')
                return -1;
        } else {
            c = save;
            r.duration_10us = r.billed_ms = r.memory_mb = r.max_used_mb = 0;
        }
    }
#undef FAST
    for (;;) {
        skip_seps(&c);
        if (c.p >= c.end)
            break;
        /* The field name runs to ": " (names have spaces, values follow the colon). */
        const char *name = c.p;
        const char *colon = memchr(c.p, ':', (size_t)(c.end - c.p));
        if (!colon || colon + 1 >= c.end || colon[1] != ' ')
            return -1;
        size_t nn = (size_t)(colon - name);
        c.p = colon + 2;
        bool ok = true;
        switch (name[0]) {
        case 'D':
            if (NAME_IS(name, nn, "Duration")) {
                ok = read_ms_ticks(&c, &r.duration_10us) && eat_unit(&c, 'm', 's');
                seen |= SEEN_DUR;
                goto checked;
            }
            break;
        case 'B':
            if (NAME_IS(name, nn, "Billed Duration")) {
                ok = read_uint(&c, &r.billed_ms) && eat_unit(&c, 'm', 's');
                r.has_billed = ok;
                seen |= SEEN_BILLED;
                goto checked;
            }
            break;
        case 'M':
            if (NAME_IS(name, nn, "Memory Size")) {
                ok = read_uint(&c, &r.memory_mb) && eat_unit(&c, 'M', 'B');
                seen |= SEEN_MEM;
                goto checked;
            }
            if (NAME_IS(name, nn, "Max Memory Used")) {
                ok = read_uint(&c, &r.max_used_mb) && eat_unit(&c, 'M', 'B');
                r.has_max_used = ok;
                seen |= SEEN_USED;
                goto checked;
            }
            break;
        case 'I':
            if (NAME_IS(name, nn, "Init Duration")) {
                ok = read_ms_ticks(&c, &r.init_10us) && eat_unit(&c, 'm', 's');
                r.has_init = ok;
                goto checked;
            }
            break;
        case 'R':
            if (NAME_IS(name, nn, "Restore Duration")) {
                ok = read_ms_ticks(&c, &r.restore_10us) && eat_unit(&c, 'm', 's');
                r.has_restore = ok;
                goto checked;
            }
            break;
        case 'S':
            if (NAME_IS(name, nn, "Status")) {
                const char *w = c.p;
                while (c.p < c.end && *c.p != '\t' && *c.p != ' ')
                    c.p++;
                size_t wn = (size_t)(c.p - w);
                if (NAME_IS(w, wn, "timeout"))
                    r.status = PT_LOGS_TIMEOUT;
                else if (NAME_IS(w, wn, "error") || NAME_IS(w, wn, "failure"))
                    r.status = PT_LOGS_ERROR;
                else if (!NAME_IS(w, wn, "success"))
                    return -1;
                goto checked;
            }
            break;
        case 'E':
            if (NAME_IS(name, nn, "Error Type")) {
                const char *w = c.p;
                while (c.p < c.end && *c.p != '\t')
                    c.p++;
                /* Trailing blanks are padding, as after the other fields: not the type's. */
                const char *we = c.p;
                while (we > w && we[-1] == ' ')
                    we--;
                r.out_of_memory = NAME_IS(w, (size_t)(we - w), "Runtime.OutOfMemory");
                goto checked;
            }
            break;
        default:
            break;
        }
        /* Unknown field (XRAY TraceId, Billed Restore Duration, ...): its value runs to the
         * next TAB. */
        while (c.p < c.end && *c.p != '\t')
            c.p++;
        continue;
    checked:
        /* A value must end at a separator: "12.34 msX" is a damaged line, not a duration. */
        if (!ok || (c.p < c.end && *c.p != '\t' && *c.p != ' '))
            return -1;
    }
    if (seen != SEEN_ALL)
        return -1;
    *out = r;
    return 0;
}

/* ---------------------------------------------------------------- records */

void pt_logs_scan_init(struct pt_logs_scan *s, struct pt_logs_run *run, struct pt_logs_task *t)
{
    memset(s, 0, sizeof(*s));
    s->task = t;
    s->run = run;
    s->slot = 0;
    s->counts = &t->counts;
    s->default_time = PT_LOGS_NO_TIME;
    s->pretty_time = PT_LOGS_NO_TIME;
    t->end_min = INT64_MAX;
    t->end_max = INT64_MIN;
}

void pt_logs_scan_unparsed(struct pt_logs_scan *s, const char *fmt, ...)
{
    struct pt_logs_task *t = s->task;
    t->unparsed++;
    if (t->nkept >= PT_LOGS_UNPARSED_KEEP)
        return;
    struct pt_logs_unparsed *u = &t->kept[t->nkept++];
    u->source = t->source;
    u->line = s->line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(u->reason, sizeof(u->reason), fmt, ap);
    va_end(ap);
}

int pt_logs_scan_flush(struct pt_logs_scan *s)
{
    if (s->since_check == 0)
        return 0;
    size_t total = atomic_fetch_add(&s->run->invocations, s->since_check) + s->since_check;
    s->since_check = 0;
    if (total > s->run->opt->max_invocations) {
        atomic_store(&s->run->stop, true);
        return pt_error_set(&s->task->err, PT_ELIMIT,
                            "more than %zu invocations in the input (--max-invocations bounds "
                            "memory; raise it to read more)",
                            s->run->opt->max_invocations);
    }
    return 0;
}

static struct pt_logs_mem *mem_find(struct pt_logs_counts *c, uint32_t memory_mb)
{
    /* Most inputs have one Memory Size: the last hit is checked first. */
    for (size_t i = c->nmem; i-- > 0;)
        if (c->mem[i].memory_mb == memory_mb)
            return &c->mem[i];
    return NULL;
}

static struct pt_logs_mem *mem_entry(struct pt_logs_counts *c, uint32_t memory_mb)
{
    struct pt_logs_mem *m = mem_find(c, memory_mb);
    if (m || c->nmem == PT_LOGS_MEM_SIZES)
        return m;
    m = &c->mem[c->nmem++];
    memset(m, 0, sizeof(*m));
    m->memory_mb = memory_mb;
    return m;
}

void pt_logs_counts_add_mem(struct pt_logs_counts *c, const struct pt_logs_mem *m)
{
    struct pt_logs_mem *d = mem_entry(c, m->memory_mb);
    if (!d) {
        c->mem_overflow += m->invocations;
        return;
    }
    d->invocations += m->invocations;
    d->billed_ms += m->billed_ms;
    d->used_reports += m->used_reports;
    d->used_sum_mb += m->used_sum_mb;
    if (m->used_max_mb > d->used_max_mb)
        d->used_max_mb = m->used_max_mb;
    d->out_of_memory += m->out_of_memory;
}

/* One REPORT into the counts: billed is as counted (see add_report), flags PT_LOGS_FIG_*. */
static inline __attribute__((always_inline)) void
count_report(struct pt_logs_counts *c, uint32_t billed_ms, uint32_t memory_mb,
             uint32_t max_used_mb, uint32_t flags)
{
    c->invocations++;
    c->timeouts += (flags & PT_LOGS_FIG_TIMEOUT) != 0;
    c->errors += (flags & PT_LOGS_FIG_ERROR) != 0;
    struct pt_logs_mem *m = mem_entry(c, memory_mb);
    if (!m) {
        c->mem_overflow++;
        return;
    }
    m->invocations++;
    m->billed_ms += billed_ms;
    if (flags & PT_LOGS_FIG_USED) {
        m->used_reports++;
        m->used_sum_mb += max_used_mb;
        if (max_used_mb > m->used_max_mb)
            m->used_max_mb = max_used_mb;
    }
    m->out_of_memory += (flags & PT_LOGS_FIG_OOM) != 0;
}

void pt_logs_counts_remove_report(struct pt_logs_counts *c, const struct pt_logs_fig *f)
{
    /* The record's twin (same figures) stays counted: used_max_mb is unchanged. Where the
     * twins' inputs counted them differently (one in a full Memory Size table's overflow), the
     * counts stay consistent and never go below zero. */
    const uint32_t flags = pt_logs_fig_flags(f), billed = pt_logs_fig_billed(f);
    c->invocations -= c->invocations > 0;
    c->timeouts -= (flags & PT_LOGS_FIG_TIMEOUT) && c->timeouts > 0;
    c->errors -= (flags & PT_LOGS_FIG_ERROR) && c->errors > 0;
    struct pt_logs_mem *m = mem_find(c, f->memory_mb);
    if (!m || m->invocations == 0) {
        c->mem_overflow -= c->mem_overflow > 0;
        return;
    }
    m->invocations--;
    m->billed_ms -= billed <= m->billed_ms ? billed : m->billed_ms;
    if ((flags & PT_LOGS_FIG_USED) && m->used_reports > 0) {
        m->used_reports--;
        m->used_sum_mb -= f->max_used_mb <= m->used_sum_mb ? f->max_used_mb : m->used_sum_mb;
    }
    m->out_of_memory -= (flags & PT_LOGS_FIG_OOM) && m->out_of_memory > 0;
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem, struct pt_error *err)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 4096;
    while (ncap < need)
        ncap *= 2;
    void *n = realloc(*arr, ncap * elem);
    if (!n)
        return pt_error_set(err, PT_ENOMEM, "out of memory (%zu records)", ncap);
    *arr = n;
    *cap = ncap;
    return 0;
}

/* ---------------------------------------------------------------- identity */

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static inline uint64_t rotl64(uint64_t x, unsigned r)
{
    return x << r | x >> (64 - r);
}

/*
 * A request id's bytes folded into 64 bits, unmixed (callers mix once with what else they
 * hash): a UUID is four word loads and its tail as the last eight bytes (overlapping; a
 * variable-length copy into a word would stall the load after it).
 */
static inline uint64_t rid_fold(const char *p, size_t n)
{
    uint64_t h = n, w;
    if (n < 8) {
        for (size_t k = 0; k < n; k++)
            h ^= (uint64_t)(unsigned char)p[k] << (8 * k + 8);
        return h;
    }
    for (size_t i = 0; i + 8 <= n; i += 8) {
        memcpy(&w, p + i, 8);
        h = rotl64(h, 23) ^ w;
    }
    memcpy(&w, p + n - 8, 8);
    return rotl64(h, 23) ^ w;
}

/* The key of the recent-REPORT and pending-timeout rings (0 marks an empty slot): only ever
 * compared for equality, among a handful. */
static inline uint64_t rid_key(const char *p, size_t n)
{
    return rid_fold(p, n) | 1;
}

/* The task's counts of a log group tag (groups may move: they are looked up, not kept). */
static struct pt_logs_counts *slot_counts(struct pt_logs_task *t, uint32_t slot)
{
    return slot ? &t->groups[slot - 1].counts : &t->counts;
}

/*
 * Marks invocation k of the task as a timeout (a REPORT without Status, followed or preceded by
 * its "Task timed out after" line, as Lambda logged timeouts before 2021). A REPORT that says
 * error keeps that status; one that already said timeout is not counted twice.
 */
static void mark_timeout(struct pt_logs_task *t, size_t k, uint32_t slot)
{
    struct pt_logs_fig *f = &t->figs[k];
    if (pt_logs_fig_flags(f) & (PT_LOGS_FIG_TIMEOUT | PT_LOGS_FIG_ERROR))
        return;
    pt_logs_fig_set(f, PT_LOGS_FIG_TIMEOUT);
    slot_counts(t, slot)->timeouts++;
}

/* Adds one invocation; end is PT_LOGS_NO_TIME when no timestamp came with it. */
static int add_report(struct pt_logs_scan *s, const struct pt_logs_report *r, int64_t end)
{
    struct pt_logs_task *t = s->task;
    int rc = 0;
    if (t->ninv == t->capinv) {
        size_t cap = t->capinv;
        rc = grow((void **)&t->figs, &cap, t->ninv + 1, sizeof(*t->figs), &t->err);
        if (!rc)
            rc = grow((void **)&t->invs, &t->capinv, t->ninv + 1, sizeof(*t->invs), &t->err);
        if (rc)
            return rc;
    }
    size_t k = t->ninv++;
    struct pt_logs_inv *inv = &t->invs[k];
    inv->end = end;
    inv->dur = r->duration_10us;
    inv->fn = s->slot;
    if (end != PT_LOGS_NO_TIME) {
        if (end < t->end_min)
            t->end_min = end;
        if (end > t->end_max)
            t->end_max = end;
    }

    /* Billed Duration is optional in the JSON format: Lambda bills ceil(Duration) then. */
    uint32_t billed = r->has_billed ? r->billed_ms
                                    : (r->duration_10us + PT_LOGS_TICKS_PER_MS - 1) /
                                          PT_LOGS_TICKS_PER_MS;
    uint32_t used = r->has_max_used ? r->max_used_mb : 0;
    _Static_assert(PT_LOGS_TIMEOUT == PT_LOGS_FIG_TIMEOUT && PT_LOGS_ERROR == PT_LOGS_FIG_ERROR,
                   "a status is its own flag");
    uint32_t flags = (uint32_t)r->status | (r->out_of_memory ? PT_LOGS_FIG_OOM : 0) |
                     (r->has_max_used ? PT_LOGS_FIG_USED : 0);
    count_report(s->counts, billed, r->memory_mb, used, flags);
    if (billed > PT_LOGS_FIG_BILLED_MAX || r->memory_mb > UINT16_MAX || used > UINT16_MAX)
        flags |= PT_LOGS_FIG_KEEP;
    /* Which log event this is (pt_logs_dedupe): everything the REPORT says but its status,
     * which a later "Task timed out" line may change; one multiply-mix for it all. */
    uint64_t rid = r->request_id_len ? rid_fold(r->request_id, r->request_id_len) : 0;
    uint64_t sizes = (uint64_t)r->memory_mb << 48 | (uint64_t)used << 32 |
                     (r->has_init ? r->init_10us : 0);
    if (r->has_restore)
        sizes ^= (uint64_t)r->restore_10us << 7;
    uint64_t h = rid ^ rotl64((uint64_t)end, 29) ^ ((uint64_t)r->duration_10us << 32 | billed) ^
                 rotl64(sizes, 13);
    h = mix64(h);
    struct pt_logs_fig *f = &t->figs[k];
    f->id = (uint32_t)(h ^ h >> 32);
    f->billed_flags = (billed & PT_LOGS_FIG_BILLED_MAX) | flags << 24;
    f->memory_mb = (uint16_t)r->memory_mb;
    f->max_used_mb = (uint16_t)used;

    if (r->request_id_len) {
        rid |= 1; /* as rid_key */
        s->recent[s->recent_next] = (struct pt_logs_recent){rid, (uint32_t)k, s->slot};
        s->recent_next = (s->recent_next + 1) & (PT_LOGS_RECENT - 1);
        for (unsigned i = 0; s->npending && i < PT_LOGS_RECENT; i++) {
            if (s->pending[i] == rid) {
                s->pending[i] = 0;
                s->npending--;
                mark_timeout(t, k, s->slot);
            }
        }
    }

    if (r->has_init || r->has_restore) {
        if (t->ncold == t->capcold) {
            rc = grow((void **)&t->colds, &t->capcold, t->ncold + 1, sizeof(*t->colds),
                      &t->err);
            if (rc)
                return rc;
        }
        struct pt_logs_cold *cs = &t->colds[t->ncold++];
        cs->end = end;
        cs->restore = !r->has_init;
        cs->init = cs->restore ? r->restore_10us : r->init_10us;
        cs->fn = s->slot;
        cs->memory_mb = r->memory_mb;
        cs->dur = r->duration_10us;
        cs->inv = (uint32_t)k;
    }
    if (++s->since_check >= PT_LOGS_FLUSH_EVERY)
        return pt_logs_scan_flush(s);
    return 0;
}

/*
 * "<request id> Task timed out after 3.07 seconds" (after the optional timestamp): before 2021
 * Lambda logged a timeout so, after a REPORT without a Status field. The REPORT is found among
 * the last PT_LOGS_RECENT; one not seen yet may follow (an output sorted by time), so the id
 * waits for it. Returns whether the line was one.
 */
static bool timeout_line(struct pt_logs_scan *s, const char *m, size_t mn)
{
    static const char said[] = " Task timed out after ";
    size_t look = mn < 80 ? mn : 80;
    const char *sp = memchr(m, ' ', look);
    if (!sp || sp == m || (size_t)(m + mn - sp) < sizeof(said) - 1 ||
        memcmp(sp, said, sizeof(said) - 1) != 0)
        return false;
    uint64_t rid = rid_key(m, (size_t)(sp - m));
    for (unsigned i = 0; i < PT_LOGS_RECENT; i++) {
        const struct pt_logs_recent *e = &s->recent[(s->recent_next + PT_LOGS_RECENT - 1 - i) %
                                                    PT_LOGS_RECENT];
        if (e->rid == rid) {
            mark_timeout(s->task, e->inv, e->slot);
            return true;
        }
    }
    if (s->npending < PT_LOGS_RECENT) {
        for (unsigned i = 0; i < PT_LOGS_RECENT; i++)
            if (s->pending[i] == 0) {
                s->pending[i] = rid;
                s->npending++;
                break;
            }
    }
    return true;
}

/* Counts one INIT report; a timed one is kept for the duplicate check. 0 or PT_ENOMEM. */
static int add_init(struct pt_logs_scan *s, int64_t end, uint64_t id, bool failed)
{
    struct pt_logs_task *t = s->task;
    s->counts->init_reports++;
    s->counts->init_failures += failed;
    if (end == PT_LOGS_NO_TIME)
        return 0; /* as REPORTs: a copy cannot be told from another INIT */
    if (t->ninit == t->capinit) {
        int rc = grow((void **)&t->inits, &t->capinit, t->ninit + 1, sizeof(*t->inits), &t->err);
        if (rc)
            return rc;
    }
    id = mix64(id);
    t->inits[t->ninit++] = (struct pt_logs_init){end, s->slot, (uint32_t)(id ^ id >> 32), 0, failed};
    return 0;
}

/* "INIT_REPORT Init Duration: 206.72 ms\tPhase: init\tStatus: error\tError Type: ..." */
static int add_init_report(struct pt_logs_scan *s, const char *p, size_t n, int64_t end)
{
    static const char head[] = "INIT_REPORT Init Duration: ";
    if (n < sizeof(head) - 1 || memcmp(p, head, sizeof(head) - 1) != 0) {
        pt_logs_scan_unparsed(s, "INIT_REPORT line without Init Duration");
        return 0;
    }
    /* Only a Status field marks a failed INIT (success prints none). */
    const char *st = memmem(p, n, "Status: ", 8);
    bool failed = st && !((size_t)(p + n - st) >= 15 && memcmp(st + 8, "success", 7) == 0);
    /* Its identity: the line as Lambda wrote it, less trailing blanks (a tail strips them). */
    size_t k = n;
    while (k > 0 && (p[k - 1] == '\t' || p[k - 1] == ' '))
        k--;
    return add_init(s, end, rid_fold(p, k), failed);
}

/* ---------------------------------------------------------------- JSON */

static bool json_ticks(json_t *v, uint32_t *out)
{
    if (!json_is_number(v))
        return false;
    double ms = json_number_value(v);
    if (!(ms >= 0 && ms < 4.0e7)) /* ~11 h: more is not a Lambda duration */
        return false;
    *out = (uint32_t)(ms * PT_LOGS_TICKS_PER_MS + 0.5);
    return true;
}

static bool json_u32(json_t *v, uint32_t *out)
{
    if (!json_is_number(v))
        return false;
    double d = json_number_value(v);
    if (!(d >= 0 && d <= UINT32_MAX))
        return false;
    *out = (uint32_t)(d + 0.5);
    return true;
}

static void set_found_name(struct pt_logs_task *t, const char *name)
{
    if (t->found_name[0] || !name || !name[0])
        return;
    static const char prefix[] = "/aws/lambda/";
    if (strncmp(name, prefix, sizeof(prefix) - 1) == 0 && name[sizeof(prefix) - 1])
        name += sizeof(prefix) - 1;
    pt_strlcpy(t->found_name, name, sizeof(t->found_name));
}

/* A JSON log-format record ({"time","type","record"}); the line is known to hold "platform.". */
static int scan_json_record(struct pt_logs_scan *s, const char *p, size_t n, int64_t line_time)
{
    json_error_t jerr;
    json_t *root = json_loadb(p, n, 0, &jerr);
    int rc = 0;
    if (!root || !json_is_object(root)) {
        pt_logs_scan_unparsed(s, "JSON platform record: %s", root ? "not an object" : jerr.text);
        goto out;
    }
    const char *type = json_string_value(json_object_get(root, "type"));
    json_t *rec = json_object_get(root, "record");
    if (!type) {
        /* Application output that mentions "platform." (e.g. a logged event): not ours. */
        s->task->other_lines++;
        goto out;
    }
    int64_t when = line_time;
    const char *tstr = json_string_value(json_object_get(root, "time"));
    if (tstr && pt_logs_parse_time(tstr, strlen(tstr), &when) != 0) {
        pt_logs_scan_unparsed(s, "%s: bad \"time\" \"%.40s\"", type, tstr);
        goto out;
    }
    if (strcmp(type, "platform.report") == 0) {
        json_t *m = json_object_get(rec, "metrics");
        struct pt_logs_report r;
        memset(&r, 0, sizeof(r));
        if (!json_is_object(m) || !json_ticks(json_object_get(m, "durationMs"),
                                              &r.duration_10us)) {
            pt_logs_scan_unparsed(s, "platform.report without record.metrics.durationMs");
            goto out;
        }
        r.has_billed = json_u32(json_object_get(m, "billedDurationMs"), &r.billed_ms);
        if (!json_u32(json_object_get(m, "memorySizeMB"), &r.memory_mb))
            r.memory_mb = 0;
        r.has_max_used = json_u32(json_object_get(m, "maxMemoryUsedMB"), &r.max_used_mb);
        r.has_init = json_ticks(json_object_get(m, "initDurationMs"), &r.init_10us);
        r.has_restore = json_ticks(json_object_get(m, "restoreDurationMs"), &r.restore_10us);
        const char *st = json_string_value(json_object_get(rec, "status"));
        if (st && strcmp(st, "timeout") == 0)
            r.status = PT_LOGS_TIMEOUT;
        else if (st && (strcmp(st, "error") == 0 || strcmp(st, "failure") == 0))
            r.status = PT_LOGS_ERROR;
        const char *et = json_string_value(json_object_get(rec, "errorType"));
        r.out_of_memory = et && strcmp(et, "Runtime.OutOfMemory") == 0;
        json_t *rid = json_object_get(rec, "requestId");
        if (json_is_string(rid)) {
            r.request_id = json_string_value(rid);
            r.request_id_len = json_string_length(rid);
        }
        rc = add_report(s, &r, when);
    } else if (strcmp(type, "platform.initStart") == 0) {
        set_found_name(s->task, json_string_value(json_object_get(rec, "functionName")));
    } else if (strcmp(type, "platform.initReport") == 0) {
        const char *st = json_string_value(json_object_get(rec, "status"));
        const char *phase = json_string_value(json_object_get(rec, "phase"));
        uint32_t ticks = 0;
        json_t *m = json_object_get(rec, "metrics");
        if (json_is_object(m) && !json_ticks(json_object_get(m, "durationMs"), &ticks))
            ticks = 0;
        uint64_t id = ticks ^ (st ? rotl64(rid_fold(st, strlen(st)), 21) : 0) ^
                      (phase ? rotl64(rid_fold(phase, strlen(phase)), 43) : 0);
        rc = add_init(s, when, id, st && strcmp(st, "success") != 0);
    }
out:
    json_decref(root);
    return rc;
}

/* ---------------------------------------------------------------- pretty-printed records */

/*
 * `aws logs tail --format json` prints an event whose message is entirely JSON as
 * "<time> <stream> " and then json.dumps(message, indent=4): "{", lines indented by four spaces
 * (strings stay on one line: newlines in them are escaped), and "}" alone. awscli's tail.py,
 * PrettyJSONLogEventsFormatter. The lines are collected and read as one record.
 */
static size_t pretty_limit(const struct pt_logs_scan *s)
{
    return s->run->opt->max_line * 2 + 4096;
}

static int pretty_end(struct pt_logs_scan *s, bool complete)
{
    int rc = 0;
    s->pretty_on = false;
    if (!memmem(s->pretty, s->pretty_len, "\"platform.", 10)) {
        s->task->other_lines += s->pretty_lines; /* function output logged as JSON */
        return 0;
    }
    uint64_t here = s->line;
    s->line = s->pretty_first;
    if (s->pretty_over)
        pt_logs_scan_unparsed(s, "pretty-printed JSON record over the %zu-byte limit",
                              pretty_limit(s));
    else if (!complete)
        pt_logs_scan_unparsed(s, "pretty-printed JSON record cut (no closing '}')");
    else
        rc = scan_json_record(s, s->pretty, s->pretty_len, s->pretty_time);
    s->line = here;
    return rc;
}

static int pretty_begin(struct pt_logs_scan *s)
{
    if (!s->pretty) {
        s->pretty_cap = 4096;
        s->pretty = malloc(s->pretty_cap);
        if (!s->pretty)
            return pt_error_set(&s->task->err, PT_ENOMEM, "out of memory");
    }
    s->pretty_on = true;
    s->pretty_over = false;
    s->pretty_first = s->line;
    s->pretty_lines = 1;
    s->pretty[0] = '{';
    s->pretty[1] = '\n';
    s->pretty_len = 2;
    return 0;
}

/*
 * A line while a record is open: taken (true) if it continues or closes it; otherwise the
 * record was cut and the line is left to scan_line. *rc: 0, or PT_ENOMEM / PT_ELIMIT.
 */
static bool pretty_take(struct pt_logs_scan *s, const char *p, size_t n, int *rc)
{
    bool close = n == 1 && p[0] == '}';
    if (!close && !(n >= 4 && p[0] == ' ' && p[1] == ' ' && p[2] == ' ' && p[3] == ' ')) {
        *rc = pretty_end(s, false);
        return false;
    }
    s->pretty_lines++;
    if (!s->pretty_over) {
        size_t need = s->pretty_len + n + 1;
        if (need > pretty_limit(s)) {
            s->pretty_over = true;
        } else {
            if (need > s->pretty_cap) {
                size_t ncap = s->pretty_cap;
                while (ncap < need)
                    ncap *= 2;
                char *np = realloc(s->pretty, ncap);
                if (!np) {
                    *rc = pt_error_set(&s->task->err, PT_ENOMEM, "out of memory");
                    return true;
                }
                s->pretty = np;
                s->pretty_cap = ncap;
            }
            memcpy(s->pretty + s->pretty_len, p, n);
            s->pretty[s->pretty_len + n] = '\n';
            s->pretty_len = need;
        }
    }
    *rc = close ? pretty_end(s, true) : 0;
    return true;
}

int pt_logs_scan_finish(struct pt_logs_scan *s)
{
    return s->pretty_on ? pretty_end(s, false) : 0;
}

void pt_logs_scan_release(struct pt_logs_scan *s)
{
    free(s->pretty);
    s->pretty = NULL;
    s->pretty_on = false;
}

/* ---------------------------------------------------------------- lines */

static inline bool starts(const char *p, size_t n, const char *lit, size_t litn)
{
    return n >= litn && memcmp(p, lit, litn) == 0;
}
#define STARTS(p, n, lit) starts(p, n, lit, sizeof(lit) - 1)

/*
 * Message bytes that may start a line scan_line acts on (1: REPORT, INIT_REPORT, JSON, a stream
 * name "YYYY/...", a request id; 2: a request id's first hex letter, acted on only as
 * "<UUID> Task timed out ...": other text starting with a-f is function output).
 */
static const unsigned char interesting[256] = {
    ['R'] = 1, ['I'] = 1, ['{'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
    ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['a'] = 2, ['b'] = 2, ['c'] = 2, ['d'] = 2, ['e'] = 2, ['f'] = 2,
};

/*
 * True when the line is "<YYYY-...T...Z> <message>" and its message starts with a byte nothing
 * acts on: such a line only counts as an other line (scan_line's full path says the same).
 */
static inline __attribute__((always_inline)) bool plain_output(const char *p, size_t n)
{
    if (!(n > 25 && p[23] == 'Z' && p[24] == ' ' && p[10] == 'T' && p[4] == '-' &&
          is_digit(p[0])))
        return false;
    unsigned char k = interesting[(unsigned char)p[25]];
    return k == 0 || (k == 2 && !(n > 63 && p[61] == ' ' && p[62] == 'T'));
}

/* The same test without touching the scan state, for the line loop: within the length limit. */
static inline __attribute__((always_inline)) bool skippable(const char *p, size_t n,
                                                            size_t max_line)
{
    return n <= max_line && plain_output(p, n);
}

static inline bool is_hex_lower(char c)
{
    return is_digit(c) || (unsigned char)(c - 'a') < 6;
}

/* Inlined into the line loop: it runs for every line of the input. */
static inline __attribute__((always_inline)) int scan_line(struct pt_logs_scan *s, const char *p,
                                                           size_t n)
{
    struct pt_logs_task *t = s->task;
    if (n && p[n - 1] == '\r')
        n--;
    if (__builtin_expect(s->pretty_on, 0)) {
        int rc;
        if (pretty_take(s, p, n, &rc) || rc)
            return rc;
    }
    if (n > s->run->opt->max_line) {
        pt_logs_scan_unparsed(s, "line of %zu bytes, over the %zu-byte limit", n,
                              s->run->opt->max_line);
        return 0;
    }
    /*
     * Fast path for the usual "2026-11-21T23:15:00.123Z <message>": a message that cannot start
     * a REPORT, an INIT_REPORT, a JSON record or a "YYYY/MM/DD/[...]" stream name is counted and
     * skipped here (the general code below reaches the same verdict with more work).
     */
    if (plain_output(p, n)) {
        t->other_lines++;
        return 0;
    }
    /* Optional "<ISO time> " prefix, then optional "<stream> " (aws logs tail). */
    const char *m = p;
    size_t mn = n;
    const char *ts = NULL;
    size_t tsn = 0;
    if (n > 20 && is_digit(p[0]) && p[4] == '-' && p[10] == 'T') {
        const char *sp = p + 19;
        if (n > 24 && p[23] == 'Z' && (p[24] == ' ' || p[24] == '\t'))
            sp = p + 24; /* "2026-11-21T23:15:00.123Z ": Lambda's and the engine's */
        while (sp < p + n && *sp != ' ' && *sp != '\t')
            sp++;
        ts = p;
        tsn = (size_t)(sp - p);
        m = sp < p + n ? sp + 1 : sp;
        if (m < p + n && is_digit(*m)) {
            /* "2024/05/20/[$LATEST]abc..." */
            const char *q = m;
            while (q < p + n && *q != ' ' && *q != '\t')
                q++;
            if (q - m > 11 && m[4] == '/' && m[7] == '/' && m[10] == '/' && q < p + n)
                m = q + 1;
        }
        mn = (size_t)(p + n - m);
    }
    if (mn < 6) {
        if (ts && mn == 0) {
            /* "<time> <stream> " alone: `aws logs tail --format json` before a JSON event. */
            s->pretty_header = s->line;
            if (pt_logs_parse_time(ts, tsn, &s->pretty_time) != 0)
                s->pretty_time = PT_LOGS_NO_TIME;
        } else if (n == 1 && p[0] == '{' && s->pretty_header && s->pretty_header + 1 == s->line) {
            return pretty_begin(s);
        }
        t->other_lines++;
        return 0;
    }
    switch (m[0]) {
    case 'R':
        if (STARTS(m, mn, "REPORT ")) {
            struct pt_logs_report r;
            if (pt_logs_scan_report(m, mn, &r) != 0) {
                pt_logs_scan_unparsed(s, "REPORT line cut or malformed");
                return 0;
            }
            int64_t end = s->default_time;
            if (ts && parse_time_cached(s, ts, tsn, &end) != 0) {
                pt_logs_scan_unparsed(s, "REPORT line with a bad timestamp \"%.*s\"",
                                      (int)(tsn > 40 ? 40 : tsn), ts);
                return 0;
            }
            return add_report(s, &r, end);
        }
        break;
    case 'I':
        if (STARTS(m, mn, "INIT_REPORT ")) {
            int64_t end = s->default_time;
            if (ts && parse_time_cached(s, ts, tsn, &end) != 0)
                end = PT_LOGS_NO_TIME; /* counted all the same, as before */
            return add_init_report(s, m, mn, end);
        }
        break;
    case '{':
        if (memmem(m, mn, "\"platform.", 10)) {
            int64_t when = s->default_time;
            if (ts && pt_logs_parse_time(ts, tsn, &when) != 0)
                when = s->default_time;
            return scan_json_record(s, m, mn, when);
        }
        break;
    default:
        if (is_hex_lower(m[0]) && timeout_line(s, m, mn))
            return 0;
        break;
    }
    t->other_lines++;
    return 0;
}

int pt_logs_scan_line(struct pt_logs_scan *s, const char *p, size_t n)
{
    return scan_line(s, p, n);
}

#ifdef __SSE2__
#include <emmintrin.h>
/* Bit i set when p[i] is '\n', for 64 bytes: four SSE2 compares instead of a memchr per line. */
static inline uint64_t newline_mask64(const char *p)
{
    const __m128i nl = _mm_set1_epi8('\n');
    uint64_t m0 = (uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)p), nl));
    uint64_t m1 = (uint16_t)_mm_movemask_epi8(
        _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + 16)), nl));
    uint64_t m2 = (uint16_t)_mm_movemask_epi8(
        _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + 32)), nl));
    uint64_t m3 = (uint16_t)_mm_movemask_epi8(
        _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + 48)), nl));
    return m0 | m1 << 16 | m2 << 32 | m3 << 48;
}
#endif

#if defined(__SSE2__) && defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define PT_LOGS_HAVE_AVX2 1
/* The same mask with two AVX2 compares; used only when the CPU has AVX2 (checked at run time). */
static inline __attribute__((always_inline, target("avx2"))) uint64_t
newline_mask64_avx2(const char *p)
{
    const __m256i nl = _mm256_set1_epi8('\n');
    uint64_t lo = (uint32_t)_mm256_movemask_epi8(
        _mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)p), nl));
    uint64_t hi = (uint32_t)_mm256_movemask_epi8(
        _mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(p + 32)), nl));
    return lo | hi << 32;
}
#endif

/*
 * The line loop, instantiated once per newline-mask flavour. The line counter and the
 * skipped-line count live in registers; the state is synced before any line goes through
 * scan_line (which numbers its notes by s->line).
 */
#define SCAN_LINES_BODY(MASK64)                                                                  \
    const size_t max_line = s->run->opt->max_line;                                             \
    uint64_t lines = s->line, skipped = 0;                                                      \
    const char *line = p;                                                                       \
    /* While a pretty-printed record is open every line goes to scan_line (which closes it):  \
     * no line is short enough to skip. */                                                      \
    size_t skip_max = s->pretty_on ? 0 : max_line;                                              \
    int rc = 0;                                                                                 \
    /* Lines average ~120 bytes: one mask per 64 bytes beats a library call per line. */        \
    for (const char *q = p; end - q >= 64; q += 64) {                                          \
        uint64_t mask = MASK64(q);                                                              \
        while (mask) {                                                                          \
            const char *nl = q + __builtin_ctzll(mask);                                         \
            mask &= mask - 1;                                                                   \
            lines++;                                                                            \
            size_t n = (size_t)(nl - line);                                                     \
            if (!skippable(line, n, skip_max)) {                                                \
                s->line = lines;                                                                \
                rc = scan_line(s, line, n);                                                     \
                if (rc)                                                                         \
                    goto out;                                                                   \
                skip_max = s->pretty_on ? 0 : max_line;                                         \
            } else {                                                                            \
                skipped++;                                                                      \
            }                                                                                   \
            line = nl + 1;                                                                      \
        }                                                                                       \
    }                                                                                           \
    while (line < end) {                                                                        \
        const char *nl = memchr(line, '\n', (size_t)(end - line));                              \
        const char *le = nl ? nl : end;                                                         \
        lines++;                                                                                \
        s->line = lines;                                                                        \
        rc = scan_line(s, line, (size_t)(le - line));                                           \
        if (rc)                                                                                 \
            goto out;                                                                           \
        line = le + 1;                                                                          \
    }                                                                                           \
out:                                                                                            \
    s->line = lines;                                                                            \
    s->task->other_lines += skipped;                                                            \
    return rc;

#ifdef PT_LOGS_HAVE_AVX2
static __attribute__((target("avx2"), noinline)) int scan_lines_avx2(struct pt_logs_scan *s,
                                                                     const char *p,
                                                                     const char *end)
{
    SCAN_LINES_BODY(newline_mask64_avx2)
}
#endif

int pt_logs_scan_lines(struct pt_logs_scan *s, const char *p, const char *end)
{
#ifdef PT_LOGS_HAVE_AVX2
    if (__builtin_cpu_supports("avx2"))
        return scan_lines_avx2(s, p, end);
#endif
#ifdef __SSE2__
    SCAN_LINES_BODY(newline_mask64)
#else
#define NO_MASK64(q) 0
    SCAN_LINES_BODY(NO_MASK64)
#endif
}

/* {"logStreamName":..., "timestamp": <epoch ms>, "message": "...", ...} */
int pt_logs_scan_event(struct pt_logs_scan *s, const char *p, size_t n)
{
    json_error_t jerr;
    json_t *ev = json_loadb(p, n, 0, &jerr);
    int rc = 0;
    if (!ev || !json_is_object(ev)) {
        pt_logs_scan_unparsed(s, "log event: %s", ev ? "not an object" : jerr.text);
        goto out;
    }
    json_t *msg = json_object_get(ev, "message");
    json_t *tsv = json_object_get(ev, "timestamp");
    if (!json_is_string(msg)) {
        pt_logs_scan_unparsed(s, "log event without a \"message\" string");
        goto out;
    }
    s->default_time = PT_LOGS_NO_TIME;
    if (json_is_integer(tsv)) {
        /* Epoch ms from outside: held to the years text timestamps may have (SCAN_YEAR_FIRST
         * .. SCAN_YEAR_LAST, see parse_time_prefix), which the concurrency bins rely on; an
         * unchecked value could also overflow when scaled to ticks. Like a REPORT line with a
         * bad timestamp, the event is not read. */
        json_int_t ms = json_integer_value(tsv);
        if (ms < 0 || ms >= days_from_civil(SCAN_YEAR_LAST + 1, 1, 1) * 86400 * 1000) {
            pt_logs_scan_unparsed(s, "log event with a \"timestamp\" outside %d..%d: %lld",
                                  SCAN_YEAR_FIRST, SCAN_YEAR_LAST, (long long)ms);
            goto out;
        }
        s->default_time = (int64_t)ms * PT_LOGS_TICKS_PER_MS;
    }
    /* A message may hold several lines (REPORT then XRAY, LogResult captures). */
    const char *mp = json_string_value(msg);
    const char *me = mp + json_string_length(msg);
    while (mp < me && !rc) {
        const char *nl = memchr(mp, '\n', (size_t)(me - mp));
        const char *le = nl ? nl : me;
        if (le > mp)
            rc = pt_logs_scan_line(s, mp, (size_t)(le - mp));
        mp = le + 1;
    }
    s->default_time = PT_LOGS_NO_TIME;
out:
    json_decref(ev);
    return rc;
}
