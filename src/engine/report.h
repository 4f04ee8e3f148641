/*
 * report.h - the platform's log lines and error payloads, in Lambda's exact text.
 *
 *   START RequestId: <id> Version: $LATEST
 *   END RequestId: <id>
 *   REPORT RequestId: <id>\tDuration: 15.74 ms\tBilled Duration: 16 ms\tMemory Size: 128 MB\t
 *          Max Memory Used: 56 MB\t[Init Duration: 130.49 ms\t][Status: timeout |
 *          Status: error\tError Type: Runtime.OutOfMemory]
 *   INIT_REPORT Init Duration: 10009.13 ms\tPhase: init\tStatus: timeout
 *
 * (one line each, ending in "\n"). Fields end in a TAB as on Lambda; the
 * Status fields come last with no trailing TAB, as in AWS's captures.
 * pt_report_parse reads a REPORT line back (ours or Lambda's, text format)
 * with a hand-written scanner: no regex, no allocation.
 */
#ifndef PT_ENGINE_REPORT_H
#define PT_ENGINE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine/function.h"

enum pt_report_status {
    PT_STATUS_SUCCESS = 0, /* no Status field */
    PT_STATUS_TIMEOUT,     /* Status: timeout */
    PT_STATUS_ERROR,       /* Status: error\tError Type: <error_type> */
};

/* One of runtimeDone's spans: when it began (epoch ms) and how long it took. */
struct pt_report_span {
    int64_t start_epoch_ms;
    double duration_ms;
};

struct pt_report {
    char request_id[40];
    double duration_ms;
    unsigned long long billed_ms;
    int memory_mb;
    int max_memory_used_mb;
    double init_duration_ms; /* < 0: absent (warm start) */
    enum pt_report_status status;
    char error_type[64];
    /*
     * JSON runtimeDone's spans, as in the capture (lambda-wire.md §4.2), when the runtime
     * responded and came back to /next: responseLatency (event handed over -> the response's
     * post began), responseDuration (its transfer), runtimeOverhead (-> /next).
     */
    bool has_spans;
    struct pt_report_span response_latency, response_duration, runtime_overhead;
};

/* All return the line length (like snprintf; output truncated if size is too small). */
size_t pt_format_start_line(char *out, size_t size, const char *request_id, const char *version);
size_t pt_format_end_line(char *out, size_t size, const char *request_id);
size_t pt_format_report_line(char *out, size_t size, const struct pt_report *r);
/* phase "init" or "invoke"; status SUCCESS prints no Status field. */
size_t pt_format_init_report_line(char *out, size_t size, double init_ms, const char *phase,
                                  enum pt_report_status status, const char *error_type);

/*
 * The platform's lines in the function's LoggingConfig.LogFormat. Text: the
 * lines above. JSON: Lambda's records (lambda-wire.md section 4.2), one per line,
 *   {"time":"2024-05-20T16:29:45.008Z","type":"platform.start","record":{...}}
 * with the capture's field names and order; durations in ms rounded to 3
 * decimals with at least one (11.642, 5000.0); billedDurationMs,
 * memorySizeMB, maxMemoryUsedMB integers; initDurationMs only on a cold
 * start; status success|error|timeout, errorType after it when not success.
 * A report that is not a success has metrics before status, as in the
 * timeout capture. We have no runtime version: initStart leaves
 * runtimeVersion/runtimeVersionArn out. Our own extras
 * (CPU time, degraded cgroups) stay in the result, never in a record.
 *
 * SystemLogLevel filters the records as Lambda maps them: initRuntimeDone and
 * runtimeDone are DEBUG; initStart, initReport, start and report INFO (the
 * default, "start" and "report" messages); WARN leaves none of them.
 * Each call returns the length written (snprintf's contract), 0 when the
 * format or the level has nothing to write.
 */
struct pt_platform_log {
    enum pt_log_format format;
    enum pt_log_level system_level; /* UNSET = INFO */
    int64_t epoch_ms;               /* the records' "time" */
};

/* JSON: platform.initStart. Text: nothing (no INIT_START: no runtime version to print). */
size_t pt_platform_init_start(char *out, size_t size, const struct pt_platform_log *pl,
                              const char *phase, const char *function_name, const char *version);
/* JSON: initRuntimeDone + initReport. Text: INIT_REPORT, only when INIT failed. */
size_t pt_platform_init_end(char *out, size_t size, const struct pt_platform_log *pl,
                            double init_ms, const char *phase, enum pt_report_status status,
                            const char *error_type);
/* JSON: platform.start. Text: START. */
size_t pt_platform_start(char *out, size_t size, const struct pt_platform_log *pl,
                         const char *request_id, const char *version);
/* JSON: runtimeDone + report (producedBytes < 0: left out). Text: END + REPORT. */
size_t pt_platform_end(char *out, size_t size, const struct pt_platform_log *pl,
                       const struct pt_report *r, long long produced_bytes);

enum pt_billing_mode {
    PT_BILLING_2025 = 0, /* since Aug 2025: INIT billed for every on-demand function */
    PT_BILLING_LEGACY,   /* before: INIT billed only for custom runtimes (provided) */
};

/* Billed Duration: ceil(duration [+ init when billed]) in whole ms. init_ms < 0 = warm. */
unsigned long long pt_billed_duration_ms(double duration_ms, double init_ms,
                                         enum pt_billing_mode mode, bool custom_runtime);

/* "RequestId: <id> Error: Task timed out after 3.00 seconds" */
size_t pt_format_timeout_message(char *out, size_t size, const char *request_id,
                                 double timeout_s);
/*
 * From a waitpid status: "RequestId: <id> Error: Runtime exited with error: exit status 1",
 * "... signal: killed", "... signal: segmentation fault", or for exit status 0
 * "RequestId: <id> Error: Runtime exited without providing a reason".
 * request_id may be NULL or "" (INIT): the "RequestId: <id> " prefix is left out.
 */
size_t pt_format_exit_message(char *out, size_t size, const char *request_id, int wait_status);

/*
 * A runtime that could not be started (execve failed with errnum), as Lambda words it for
 * Runtime.InvalidEntrypoint: "RequestId: <id> Error: fork/exec <path>: exec format error"
 * (Go's lower-case errno text). request_id as for pt_format_exit_message.
 */
size_t pt_format_entrypoint_message(char *out, size_t size, const char *request_id,
                                    const char *path, int errnum);

/* {"errorType":"...","errorMessage":"..."} (malloc'd, JSON-escaped), or NULL on ENOMEM. */
char *pt_error_payload_json(const char *error_type, const char *error_message);

/* Parses one REPORT line (text format, with or without the trailing TAB/newline). 0 or -1. */
int pt_report_parse(const char *line, size_t len, struct pt_report *out);

#endif
