/*
 * logs.h - `powertune logs`: what Lambda's own log lines say about a function.
 *
 * Contract
 * --------
 * Inputs (each a path, a directory walked for files ending in .log .txt .json .jsonl .gz, or "-" for
 * stdin), in any of the forms users have, detected per input from its first bytes:
 *   - text as Lambda writes it: START / END / REPORT / INIT_REPORT lines, with or without a
 *     leading ISO 8601 timestamp ("2026-11-21T23:15:00.123Z <message>", the engine's streams
 *     and CloudWatch exports; "<timestamp> <stream> <message>" as `aws logs tail` prints;
 *     "YYYY-MM-DDTHH:MM:SS <message>", UTC to the second, as `aws logs tail --format short` does);
 *   - the JSON log format, one record per line (platform.report, platform.initStart, ...);
 *     optional fields may be missing (only record.metrics.durationMs is required); or, as
 *     `aws logs tail --format json` prints it, "<timestamp> <stream> " alone on a line and the
 *     record pretty-printed below ("{", lines indented by four spaces, "}");
 *   - `aws logs filter-log-events` / `get-log-events` output and CloudWatch subscription
 *     payloads: one JSON document whose "events"/"logEvents" arrays are read one event at a
 *     time (never the whole document in memory);
 *   - any of the above gzip-compressed (detected by magic bytes, concatenated members ok).
 * A line that looks like a platform line (REPORT, INIT_REPORT, a "platform.*" JSON record, an
 * event of a JSON document) but cannot be read, or that is longer than max_line, is counted in
 * unparsed_lines and its file and line number kept (the first PT_LOGS_UNPARSED_KEEP); other lines
 * (function output) are counted as other lines. Nothing in the input can crash the reader or make
 * it allocate without bound: lines are capped, invocations are capped (max_invocations ->
 * PT_ELIMIT), JSON events are capped.
 *
 * Units: durations in the results are milliseconds; an invocation's interval is
 * [end - Duration - Init Duration, end] (Init Duration, or SnapStart's Restore Duration, only on
 * a cold start: its environment is busy from the request's arrival), where end is the timestamp
 * of its REPORT (line prefix, CloudWatch event timestamp or the JSON record's "time"). REPORT
 * lines without any timestamp count everywhere except concurrency ("timedInvocations" says how
 * many had one).
 *
 * Duplicates: a REPORT whose log event was already read (same timestamp, request id and figures,
 * in any input and any form) is dropped and counted in duplicatesDropped (overlapping exports, a
 * file and its .gz); REPORTs without a timestamp never are. INIT reports likewise (same time and
 * content), in initReports / initFailures. Statuses: "Status: timeout" /
 * "error" / "failure", or a REPORT without Status whose "<request id> Task timed out after N
 * seconds" line (how Lambda logged timeouts before 2021) is within 16 REPORTs of it.
 *
 * Grouping: every input belongs to one function, named (first match) by --function, a
 * CloudWatch "logGroup" (/aws/lambda/<name>), a platform.initStart "functionName", the engine's
 * directory layout <state>/logs/<name>/YYYY/MM/DD/<stream>.log, "/aws/lambda/<name>/" in the
 * path, a CloudWatch export to S3 downloaded as is (<prefix>/<task id>/YYYY/MM/DD/[<version>]
 * <instance>/000000.gz: the prefix's last directory, else the task id), or the file name without
 * its extensions ("stdin" for "-"). Inputs with the same name are merged. The log stream name
 * (YYYY/MM/DD/[<version>]<instance>) of the engine's and the export's layouts is kept per
 * input. A document that holds several log groups (CloudWatch subscription payloads
 * concatenated, as Firehose delivers them to S3) is named by its first; each other group's
 * events go to that group's function.
 *
 * Speed: big uncompressed line-format files are split at line boundaries (never inside a
 * pretty-printed record) into one byte range per thread; several inputs are spread over the
 * threads; the REPORT scanner is hand-written.
 *
 * The JSON output's schema is documented in docs/logs-json.md.
 */
#ifndef PT_LOGS_LOGS_H
#define PT_LOGS_LOGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/error.h"

#define PT_LOGS_UNPARSED_KEEP 20          /* unparsed lines kept with file and line number */
#define PT_LOGS_LINE_MAX_DEFAULT (256u * 1024) /* CloudWatch's event size limit */
#define PT_LOGS_MAX_INVOCATIONS_DEFAULT 50000000u
#define PT_LOGS_SPLIT_MIN_DEFAULT (32u * 1024 * 1024)
#define PT_LOGS_THREADS_MAX 16

struct pt_logs_options {
    long quota;              /* account concurrency quota (default 1000) */
    long reserved;           /* reserved concurrency of each function; < 0: none (default) */
    int minutes_before;      /* minutes shown before the peak (default 6) */
    char region[32];         /* pricing region (default us-east-1) */
    char architecture[16];   /* x86_64 (default) or arm64 */
    double price_gb_s;       /* USD per GB-second; < 0: from the price table (default) */
    double price_requests;   /* USD per 1M requests; < 0: from the price table (default) */
    const char *function;    /* a name for every input (NULL: per input, see above) */
    int threads;             /* 0: online CPUs, at most PT_LOGS_THREADS_MAX */
    size_t split_min_bytes;  /* plain files at least this big are split between threads */
    size_t max_invocations;  /* memory bound: more REPORTs than this -> PT_ELIMIT */
    size_t max_line;         /* longer lines are skipped and counted as unparsed */
};

void pt_logs_options_init(struct pt_logs_options *o);

/* Resolves the price per GB-second and per 1M requests; unknown region -> PT_EUSAGE naming it. */
int pt_logs_price(const char *region, const char *architecture, double *gb_s, double *per_million,
                  struct pt_error *err);

struct pt_logs_result;

/*
 * Reads every input and computes the figures. Fails on an input that cannot be opened or read
 * (PT_EIO / PT_ENOTFOUND, naming it), on too many invocations (PT_ELIMIT), on bad options
 * (PT_EUSAGE); unparsable lines are not errors.
 */
int pt_logs_analyze(const char *const *paths, size_t npaths, const struct pt_logs_options *o,
                    struct pt_logs_result **out, struct pt_error *err);
void pt_logs_result_free(struct pt_logs_result *r);

/* The result as the JSON object of docs/logs-json.md (new reference), or NULL on ENOMEM. */
json_t *pt_logs_result_json(const struct pt_logs_result *r);
/* The human-readable tables. */
void pt_logs_write_table(const struct pt_logs_result *r, FILE *f);
/* Unparsed-line warnings ("file:line: reason"), at most PT_LOGS_UNPARSED_KEEP of them. */
void pt_logs_write_warnings(const struct pt_logs_result *r, FILE *f);
/* One self-contained HTML page with inline SVG charts (no network). */
int pt_logs_write_html(const struct pt_logs_result *r, const char *path, struct pt_error *err);

/* The command line of `powertune logs`, parsed. Bad options -> PT_EUSAGE naming the option. */
struct pt_logs_cli {
    struct pt_logs_options opt;
    bool json;
    bool help;
    const char *report_html;
    const char **paths; /* points into argv (malloc'd array; free with pt_logs_cli_free) */
    size_t npaths;
};
int pt_logs_cli_parse(int argc, char **argv, struct pt_logs_cli *cli, struct pt_error *err);
void pt_logs_cli_free(struct pt_logs_cli *cli);
extern const char pt_logs_usage[];

/* ---- Building blocks, public for tests and benchmarks ---- */

enum pt_logs_status {
    PT_LOGS_SUCCESS = 0,
    PT_LOGS_TIMEOUT,
    PT_LOGS_ERROR, /* "error" and "failure" */
};

/* One REPORT, in integer units: durations in 10 us ticks (Lambda prints 0.01 ms). */
struct pt_logs_report {
    uint32_t duration_10us;
    uint32_t init_10us;      /* valid if has_init */
    uint32_t restore_10us;   /* valid if has_restore: SnapStart's Restore Duration */
    uint32_t billed_ms;      /* valid if has_billed */
    uint32_t memory_mb;      /* 0: unknown */
    uint32_t max_used_mb;    /* valid if has_max_used */
    bool has_init, has_billed, has_max_used, has_restore;
    bool out_of_memory;      /* Error Type: Runtime.OutOfMemory */
    enum pt_logs_status status;
    const char *request_id;  /* into the scanned line (not NUL-terminated) */
    size_t request_id_len;
};

/*
 * Scans the text of one REPORT line (from "REPORT RequestId: ", no timestamp prefix, optional
 * trailing TAB/CR). Hand-written: no regex, no allocation, no strtod. Requires Duration, Billed
 * Duration, Memory Size and Max Memory Used (Lambda always prints them: a line without them was
 * cut); fields in any order (RIE puts Init Duration first), TAB or space separated; unknown fields
 * (XRAY, Billed Restore Duration, ...) are skipped. 0 or -1.
 */
int pt_logs_scan_report(const char *p, size_t n, struct pt_logs_report *out);

/*
 * "2026-11-21T23:15:00.123Z", "...00.123456+00:00", "...00Z", "...00.1-05:30": exactly the
 * n bytes given. Epoch time in 10 us ticks into *out. 0 or -1.
 */
int pt_logs_parse_time(const char *p, size_t n, int64_t *out);

/* Mean, median (middle two averaged), min, max, sample variance (n-1; NAN for n < 2). */
struct pt_logs_stats {
    size_t n;
    double mean, median, min, max, variance;
};
/* values are sorted in place. */
void pt_logs_stats_compute(double *values, size_t n, struct pt_logs_stats *out);

#endif
