/*
 * logs_internal.h - what the files of src/logs share: the per-task scan state and the merged
 * result. Not part of the contract (see logs.h).
 */
#ifndef PT_LOGS_INTERNAL_H
#define PT_LOGS_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/types.h>

#include "logs/logs.h"

#define PT_LOGS_NO_TIME INT64_MIN
#define PT_LOGS_TICKS_PER_MS 100
#define PT_LOGS_TICKS_PER_S 100000
#define PT_LOGS_MEM_SIZES 16    /* distinct Memory Size values tracked per input */
#define PT_LOGS_NAME_MAX 256
#define PT_LOGS_REASON_MAX 96

/* Record flags (high byte of slot_flags). */
#define PT_LOGS_F_COLD 0x01u
#define PT_LOGS_F_TIMEOUT 0x02u
#define PT_LOGS_F_ERROR 0x04u

/* One invocation: 16 bytes, so millions fit. */
struct pt_logs_inv {
    int64_t end;        /* 10 us ticks since the epoch, or PT_LOGS_NO_TIME */
    uint32_t dur;       /* 10 us ticks */
    uint32_t fn;        /* function index (source index while reading) */
};

/*
 * Beside each invocation record (same index), 12 bytes: what its REPORT added to the counts, so
 * that a duplicate can be taken out again, and the rest of what says which log event it is.
 * Figures too big for the fields (never Lambda's: over 4.6 hours billed, 64 GB) are marked
 * PT_LOGS_FIG_KEEP instead: such a record is never dropped.
 */
#define PT_LOGS_FIG_TIMEOUT 0x01u
#define PT_LOGS_FIG_ERROR 0x02u
#define PT_LOGS_FIG_OOM 0x04u
#define PT_LOGS_FIG_USED 0x08u  /* max_used_mb is valid */
#define PT_LOGS_FIG_DUP 0x10u   /* set by pt_logs_dedupe: the same log event as an earlier record */
#define PT_LOGS_FIG_KEEP 0x20u  /* a figure did not fit: never taken for a duplicate */
#define PT_LOGS_FIG_BILLED_MAX 0xffffffu
struct pt_logs_fig {
    uint32_t id;          /* hash of the request id, end, Duration, Init/Restore and the rest */
    uint32_t billed_flags; /* billed ms as counted (low 24 bits), PT_LOGS_FIG_* (high 8) */
    uint16_t memory_mb;
    uint16_t max_used_mb; /* valid with PT_LOGS_FIG_USED */
};
static inline uint32_t pt_logs_fig_flags(const struct pt_logs_fig *f)
{
    return f->billed_flags >> 24;
}
static inline uint32_t pt_logs_fig_billed(const struct pt_logs_fig *f)
{
    return f->billed_flags & PT_LOGS_FIG_BILLED_MAX;
}
static inline void pt_logs_fig_set(struct pt_logs_fig *f, uint32_t flag)
{
    f->billed_flags |= flag << 24;
}

/* A cold start: an INIT, or a SnapStart restore (which replaces INIT). */
struct pt_logs_cold {
    int64_t end;        /* REPORT time (ticks) or PT_LOGS_NO_TIME */
    uint32_t init;      /* Init Duration (or Restore Duration), ticks */
    uint32_t fn;
    uint32_t memory_mb;
    uint32_t dur;       /* the invocation's Duration, ticks: INIT ran just before it */
    uint32_t inv;       /* its invocation record: index in the task, then in the merged array */
    bool restore;       /* init is a Restore Duration */
};

/*
 * An INIT report (INIT_REPORT line, platform.initReport record) with a timestamp: its counts are
 * taken back if the same log event is read twice (dedupe_inits in logs.c).
 */
struct pt_logs_init {
    int64_t end;        /* its time, ticks */
    uint32_t fn;        /* log group tag while reading, then function */
    uint32_t id;        /* hash of what it says (duration, phase, status) */
    uint32_t seq;       /* input order, set by the merge: the first copy is kept */
    bool failed;
};

/* Per Memory Size: what right-sizing and cost need. */
struct pt_logs_mem {
    uint32_t memory_mb;     /* 0: not reported */
    uint64_t invocations;
    uint64_t billed_ms;     /* sum of Billed Duration (or ceil(Duration) when absent) */
    uint64_t used_reports;  /* REPORTs with Max Memory Used */
    uint64_t used_sum_mb;
    uint32_t used_max_mb;
    uint64_t out_of_memory;
};

struct pt_logs_unparsed {
    size_t source;
    uint64_t line;          /* relative to the task while reading, absolute after the merge */
    char reason[PT_LOGS_REASON_MAX];
};

struct pt_logs_counts {
    uint64_t invocations;
    uint64_t timeouts, errors;
    uint64_t init_reports, init_failures;
    struct pt_logs_mem mem[PT_LOGS_MEM_SIZES];
    size_t nmem;
    uint64_t mem_overflow;  /* REPORTs whose Memory Size did not fit in the table */
};

enum pt_logs_format {
    PT_LOGS_FMT_UNKNOWN = 0,
    PT_LOGS_FMT_LINES,      /* text and/or JSON log-format lines */
    PT_LOGS_FMT_DOCUMENT,   /* aws logs ... JSON output, subscription payloads */
};

struct pt_logs_source {
    char *path;             /* "-" for stdin */
    char *name;             /* function name from the path (or --function) */
    char *stream;           /* log stream name from the path's layout, or NULL */
    bool name_forced;
    bool compressed;
    enum pt_logs_format format;
    uint64_t bytes;         /* bytes read (uncompressed) */
    uint64_t lines;
};

/*
 * A log group other than the input's first, in a document that holds several (CloudWatch
 * subscription payloads delivered to S3 by Firehose, one per log group, concatenated): its
 * records and counts go to its own function.
 */
#define PT_LOGS_GROUPS_MAX 256
struct pt_logs_group {
    char name[PT_LOGS_NAME_MAX];
    struct pt_logs_counts counts;
    uint32_t fid;           /* its function, set by the merge */
};

/* One unit of work: a whole input, or a byte range of a big plain file. */
struct pt_logs_task {
    size_t source;
    off_t begin, end;       /* end < 0: to EOF */
    int part;               /* 0 for the first range of a source */
    /* Results */
    uint64_t lines, other_lines, unparsed, bytes;
    bool compressed;
    enum pt_logs_format format;
    struct pt_logs_inv *invs;
    struct pt_logs_fig *figs;   /* one per invs entry, capacity capinv too */
    size_t ninv, capinv;
    int64_t end_min, end_max;   /* over the timed invocations (INT64_MAX, INT64_MIN: none) */
    struct pt_logs_cold *colds;
    size_t ncold, capcold;
    struct pt_logs_init *inits;
    size_t ninit, capinit;
    struct pt_logs_counts counts;
    struct pt_logs_unparsed kept[PT_LOGS_UNPARSED_KEEP];
    size_t nkept;
    char found_name[PT_LOGS_NAME_MAX]; /* from logGroup / functionName, "" if none */
    struct pt_logs_group *groups; /* the other log groups (record tag k + 1 is groups[k]) */
    size_t ngroups;
    int rc;
    struct pt_error err;
};

/* Shared by the reading threads. */
struct pt_logs_run {
    const struct pt_logs_options *opt;
    struct pt_logs_source *sources;
    size_t nsources;
    struct pt_logs_task *tasks;
    size_t ntasks;
    atomic_size_t next_task;
    atomic_size_t invocations;
    atomic_bool stop;
};

/* scan.c: per-task line handling */
#define PT_LOGS_RECENT 16       /* (a power of two) REPORTs a "Task timed out" line is matched against */
struct pt_logs_recent {
    uint64_t rid;           /* hash of the request id; 0: empty */
    uint32_t inv;           /* its record in the task (below 2^32: --max-invocations) */
    uint32_t slot;
};
struct pt_logs_scan {
    struct pt_logs_task *task;
    struct pt_logs_run *run;
    uint32_t slot;          /* log group tag stored in records until the merge: 0 for the
                             * input's own name, k + 1 for task->groups[k] */
    struct pt_logs_counts *counts; /* the counts of the current log group */
    size_t since_check;     /* invocations not yet added to run->invocations */
    int64_t default_time;   /* the enclosing CloudWatch event's time, or PT_LOGS_NO_TIME */
    uint64_t line;          /* current line number within the task (1-based) */
    char tkey[19];          /* the "YYYY-MM-DDTHH:MM:SS" last parsed, and its seconds */
    bool tkey_valid;
    int64_t tsecs;
    struct pt_logs_recent recent[PT_LOGS_RECENT]; /* the last REPORTs, a ring */
    unsigned recent_next;
    uint64_t pending[PT_LOGS_RECENT]; /* timed-out request ids whose REPORT was not seen yet */
    unsigned npending;
    /* `aws logs tail --format json`: "<time> <stream> " alone on a line, then the event's JSON
     * pretty-printed: "{", lines indented by four spaces, "}". */
    uint64_t pretty_header;  /* line number of the last such "<time> <stream> " line, or 0 */
    int64_t pretty_time;     /* its time, or PT_LOGS_NO_TIME */
    bool pretty_on, pretty_over;
    uint64_t pretty_first, pretty_lines; /* the record's first line ("{"), lines so far */
    char *pretty;            /* the record's bytes so far (capped like a JSON document's event) */
    size_t pretty_len, pretty_cap;
};
void pt_logs_scan_init(struct pt_logs_scan *s, struct pt_logs_run *run, struct pt_logs_task *t);
/* One line without its '\n'. Returns 0, or PT_ENOMEM / PT_ELIMIT (task->err filled). */
int pt_logs_scan_line(struct pt_logs_scan *s, const char *p, size_t n);
/* Lines of [p, end): every line ends in '\n' except possibly the last. */
int pt_logs_scan_lines(struct pt_logs_scan *s, const char *p, const char *end);
/* One event object of a JSON document (bytes of "{...}"), at the given line. */
int pt_logs_scan_event(struct pt_logs_scan *s, const char *p, size_t n);
void pt_logs_scan_unparsed(struct pt_logs_scan *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Publishes pending invocation counts; PT_ELIMIT when the run is over max_invocations. */
int pt_logs_scan_flush(struct pt_logs_scan *s);
/* The end of the task's input: a record still being collected was cut. 0 or PT_ENOMEM. */
int pt_logs_scan_finish(struct pt_logs_scan *s);
/* Frees what the scan holds (safe after any return; pt_logs_scan_init set it up). */
void pt_logs_scan_release(struct pt_logs_scan *s);

/* read.c */
int pt_logs_read_task(struct pt_logs_run *run, struct pt_logs_task *t);
/* The first line start at or after off (looking at most max_line + 1 bytes); -1 if none. */
off_t pt_logs_next_line_start(int fd, off_t off, off_t size, size_t max_line);
/* The same, but not inside an event `aws logs tail --format json` spread over lines. */
off_t pt_logs_next_record_start(int fd, off_t off, off_t size, size_t max_line);
/* Whether a plain file may be split between threads: not gzip, line format. */
bool pt_logs_splittable(int fd);

/* analyze.c: the figures of one scope (everything, or one function). */
struct pt_logs_bin {
    uint32_t max;           /* highest instantaneous concurrency in the bin */
    uint32_t starts;        /* invocations starting in the bin */
    uint32_t ends;          /* REPORTs in the bin (the article's count) */
    uint32_t handoffs;      /* cold starts whose INIT ended (and invocation began) in the bin */
    uint32_t cold;          /* cold starts whose REPORT is in the bin */
    uint64_t busy;          /* integral of concurrency over the bin, ticks */
    uint64_t dur_sum;       /* sum of durations of REPORTs in the bin */
    double estimate;        /* count x pct(duration, 99.5) / bin length */
};

struct pt_logs_minute {
    int64_t start;          /* ticks */
    uint64_t invocations;
    double avg_duration_ms;
    uint32_t peak;
    double mean;
};

struct pt_logs_scope {
    char *name;
    uint64_t invocations, timed, timeouts, errors, init_reports, init_failures;
    uint64_t duplicates;    /* REPORTs dropped as a log event already read (not in invocations) */
    int64_t first, last;    /* ticks, PT_LOGS_NO_TIME if none */
    /* durations, ms */
    bool have_durations;
    double dmin, dmean, dmax, p50, p90, p95, p99, p995, p999;
    uint32_t *durations;    /* sorted ticks (kept for the histogram of the all scope) */
    size_t ndurations;
    /* concurrency */
    bool have_concurrency;
    uint32_t peak;
    int64_t peak_at;
    double est_peak;
    int64_t est_peak_at;
    long limit;             /* the limit the peak is held against (see pt_logs_scope_finish) */
    bool limit_is_reserved;
    uint64_t throttled_seconds, throttled_invocations;
    long limits[2];         /* [0] the account quota, [1] the function's own limit */
    uint64_t thr_seconds[2], thr_invocations[2];
    int bin_seconds;
    int64_t bin_base;       /* ticks of bin 0 */
    struct pt_logs_bin *bins;
    size_t nbins;
    struct pt_logs_minute *minutes;
    size_t nminutes;
    /* cold starts (INIT), and SnapStart restores apart: their durations are not INIT's */
    uint64_t cold;
    struct pt_logs_stats init;
    struct pt_logs_stats restore; /* restore.n: REPORTs with Restore Duration */
    struct pt_logs_cold_by_mem {
        uint32_t memory_mb;
        uint64_t invocations;
        struct pt_logs_stats init;
    } *cold_by_mem;
    size_t ncold_by_mem;
    int64_t *cold_times;    /* REPORT times of cold starts (ticks, sorted; untimed left out) */
    size_t ncold_times;
    /* memory and cost */
    struct pt_logs_mem mem[PT_LOGS_MEM_SIZES];
    size_t nmem;
    uint64_t mem_overflow;
    double gb_seconds, compute_usd, request_usd;
    uint64_t billable_requests;
    bool have_recommendation;
    uint32_t rec_current_mb, rec_mb, rec_used_mb;
    const char *rec_action;  /* "reduce", "increase", "keep" */
    double rec_cost_change_usd, rec_cost_change_pct;
};

struct pt_logs_result {
    struct pt_logs_options opt;
    double price_gb_s, price_requests; /* resolved */
    struct pt_logs_source *sources;
    size_t nsources;
    uint64_t lines, other_lines, unparsed, bytes;
    struct pt_logs_unparsed kept[PT_LOGS_UNPARSED_KEEP];
    size_t nkept;
    struct pt_logs_scope all;
    struct pt_logs_scope *functions;
    size_t nfunctions;
};

/*
 * Computes every figure of a scope, against both limits (quota, and the function's own).
 * keep_series keeps the per-bin series, sorted durations and cold-start times (HTML).
 */
int pt_logs_scope_compute(struct pt_logs_scope *s, const struct pt_logs_result *r,
                          const struct pt_logs_inv *invs, size_t ninv,
                          const struct pt_logs_cold *colds, size_t ncold,
                          const struct pt_logs_counts *const *counts, size_t ncounts,
                          bool keep_series, struct pt_error *err);
/* Picks the limit the scope is held against: the quota for the account, else the function's. */
void pt_logs_scope_finish(struct pt_logs_scope *s, bool account_scope);
/* A deep copy (name included). */
int pt_logs_scope_clone(struct pt_logs_scope *dst, const struct pt_logs_scope *src,
                        struct pt_error *err);
void pt_logs_scope_free(struct pt_logs_scope *s);
void pt_logs_counts_add_mem(struct pt_logs_counts *c, const struct pt_logs_mem *m);
/* Takes one REPORT's contribution (its fig) out of the counts again: a dropped duplicate. */
void pt_logs_counts_remove_report(struct pt_logs_counts *c, const struct pt_logs_fig *f);

/*
 * dedupe.c: marks (PT_LOGS_FIG_DUP) every timed record that is the same log event as an earlier
 * one (same timestamp, request id and figures). Records without a timestamp are never marked.
 * In three steps, so that the merge counts the records per time bucket while it copies them:
 * begin (end_min, end_max bound the timed records' ends; n counts them all), one
 * pt_logs_dedupe_count per timed record, then run (which frees what begin took; end frees it
 * on a path that does not run).
 */
struct pt_logs_dedupe {
    int64_t base;
    unsigned shift;
    size_t nb;
    uint32_t *start;        /* per bucket, shifted by one: counts, then positions; NULL: no check */
};
int pt_logs_dedupe_begin(struct pt_logs_dedupe *d, size_t n, int64_t end_min, int64_t end_max,
                         struct pt_error *err);
static inline size_t pt_logs_dedupe_bucket(const struct pt_logs_dedupe *d, int64_t end)
{
    return (size_t)(((uint64_t)end - (uint64_t)d->base) >> d->shift);
}
static inline void pt_logs_dedupe_count(struct pt_logs_dedupe *d, int64_t end)
{
    if (d->start && end != PT_LOGS_NO_TIME)
        d->start[pt_logs_dedupe_bucket(d, end) + 1]++;
}
/* *dropped: how many records were marked. */
int pt_logs_dedupe_run(struct pt_logs_dedupe *d, const struct pt_logs_inv *invs,
                       struct pt_logs_fig *figs, size_t n, size_t *dropped, struct pt_error *err);
void pt_logs_dedupe_end(struct pt_logs_dedupe *d);

/* output.c */
void pt_logs_format_time(int64_t ticks, char *out, size_t size);

/*
 * Advice that a big record array (tens of MB on a 1 GB log) be backed by transparent huge pages
 * where the system allows them on request: one fault per 2 MB instead of 512, the bulk of the
 * page-fault cost of the arrays filled once. Only the 2 MB-aligned interior is advised; failure
 * (no THP, an old kernel) changes nothing but speed. Not for arrays grown by realloc: the advice
 * splits the mapping, and mremap cannot move a split mapping (glibc then copies).
 */
static inline void pt_logs_big_array(void *p, size_t bytes)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    if (!p || bytes < 2 * huge)
        return;
    uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t e = ((uintptr_t)p + bytes) & ~(huge - 1);
    if (e > a)
        (void)madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

#endif
