#include "engine/report.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <jansson.h>

#include "base/clock.h"
#include "base/str.h"

/*
 * A line built from several pieces with snprintf's contract: the full length
 * is counted even when out is too small, and out stays NUL-terminated.
 */
struct line {
    char *out;
    size_t size;
    size_t len;
};

__attribute__((format(printf, 2, 3))) static void line_add(struct line *l, const char *fmt, ...)
{
    size_t room = l->len < l->size ? l->size - l->len : 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(room ? l->out + l->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        l->len += (size_t)n;
}

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

static bool report_ascii_letter(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/*
 * The error type a platform line carries (at most type_max bytes of it, *len set), validated
 * as Lambda's platform does (lambda-wire.md 1.4): "Runtime." or "Function." then a capital
 * and letters, as given; anything else is Runtime.Unknown (Function.Unknown after a
 * "Function." prefix). A runtime's own text (a newline, a TAB) thus never splits the line.
 */
static const char *report_error_type(const char *type, size_t type_max, int *len)
{
    size_t n = type ? strnlen(type, type_max < INT_MAX ? type_max : INT_MAX) : 0;
    size_t p = n > 8 && memcmp(type, "Runtime.", 8) == 0    ? 8
               : n > 9 && memcmp(type, "Function.", 9) == 0 ? 9
                                                           : 0;
    bool valid = p && n - p >= 2 && type[p] >= 'A' && type[p] <= 'Z';
    for (size_t i = p + 1; valid && i < n; i++)
        valid = report_ascii_letter(type[i]);
    const char *out = valid ? type : p == 9 ? "Function.Unknown" : "Runtime.Unknown";
    *len = valid ? (int)n : (int)strlen(out);
    return out;
}

/* Lambda prints the Status fields last and without the trailing TAB the other fields carry. */
static void line_add_status(struct line *l, enum pt_report_status status, const char *error_type,
                            size_t type_max)
{
    if (status == PT_STATUS_TIMEOUT) {
        line_add(l, "Status: timeout");
    } else if (status == PT_STATUS_ERROR) {
        int n;
        const char *t = report_error_type(error_type, type_max, &n);
        line_add(l, "Status: error\tError Type: %.*s", n, t);
    }
}

size_t pt_format_start_line(char *out, size_t size, const char *request_id, const char *version)
{
    struct line l = {out, size, 0};
    line_add(&l, "START RequestId: %s Version: %s\n", str_or_empty(request_id),
             version && *version ? version : "$LATEST");
    return l.len;
}

size_t pt_format_end_line(char *out, size_t size, const char *request_id)
{
    struct line l = {out, size, 0};
    line_add(&l, "END RequestId: %s\n", str_or_empty(request_id));
    return l.len;
}

size_t pt_format_report_line(char *out, size_t size, const struct pt_report *r)
{
    struct line l = {out, size, 0};
    line_add(&l,
             "REPORT RequestId: %.*s\tDuration: %.2f ms\tBilled Duration: %llu ms\tMemory Size: %d "
             "MB\tMax Memory Used: %d MB\t",
             (int)sizeof(r->request_id), r->request_id, r->duration_ms, r->billed_ms,
             r->memory_mb, r->max_memory_used_mb);
    if (r->init_duration_ms >= 0)
        line_add(&l, "Init Duration: %.2f ms\t", r->init_duration_ms);
    line_add_status(&l, r->status, r->error_type, sizeof(r->error_type));
    line_add(&l, "\n");
    return l.len;
}

/*
 * The fields end in a TAB like REPORT's; a failed init ends with the Status
 * fields instead, exactly as in AWS's captures.
 */
size_t pt_format_init_report_line(char *out, size_t size, double init_ms, const char *phase,
                                  enum pt_report_status status, const char *error_type)
{
    struct line l = {out, size, 0};
    line_add(&l, "INIT_REPORT Init Duration: %.2f ms\tPhase: %s\t", init_ms,
             phase && *phase ? phase : "init");
    line_add_status(&l, status, error_type, SIZE_MAX);
    line_add(&l, "\n");
    return l.len;
}

/* ---- JSON log format ---- */

static size_t utf8_seq_len(const unsigned char *p);

/* A JSON string: quotes, backslashes and controls escaped, invalid UTF-8 as U+FFFD. */
static void line_add_json_str(struct line *l, const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = strnlen((const char *)p, max);
    line_add(l, "\"");
    for (size_t i = 0; i < n;) {
        unsigned char ch = p[i];
        size_t k = ch < 0x80 ? 1 : utf8_seq_len(p + i);
        if (k > n - i)
            k = 0; /* a sequence cut by max */
        if (ch == '"' || ch == '\\')
            line_add(l, "\\%c", ch);
        else if (ch < 0x20)
            line_add(l, "\\u%04x", ch);
        else if (k == 0)
            line_add(l, "\xEF\xBF\xBD");
        else
            line_add(l, "%.*s", (int)k, (const char *)p + i);
        i += k ? k : 1;
    }
    line_add(l, "\"");
}

/* Milliseconds as Lambda's records print them: 3 decimals at most, 1 at least (5000.0). */
static void line_add_json_ms(struct line *l, double ms)
{
    char buf[48];
    if (!(ms >= 0) || ms > 1e15)
        ms = 0;
    int n = snprintf(buf, sizeof(buf), "%.3f", ms);
    while (n > 0 && buf[n - 1] == '0' && buf[n - 2] != '.')
        buf[--n] = '\0';
    line_add(l, "%s", buf);
}

/* "<key_prefix><JSON string>", e.g. ",\"version\":\"$LATEST\"". */
static void line_add_json_member(struct line *l, const char *key_prefix, const char *s,
                                 size_t max)
{
    line_add(l, "%s", key_prefix);
    line_add_json_str(l, s, max);
}

static const char *version_or_latest(const char *version)
{
    return version && *version ? version : "$LATEST";
}

/* A line into out, which reads "" until something is added (the filtered-out case). */
static struct line line_begin(char *out, size_t size)
{
    if (size)
        out[0] = '\0';
    return (struct line){out, size, 0};
}

static bool platform_logs(const struct pt_platform_log *pl, enum pt_log_level event_level)
{
    enum pt_log_level system = pl->system_level ? pl->system_level : PT_LOG_LEVEL_INFO;
    return pl->format == PT_LOG_FORMAT_JSON && event_level >= system;
}

/* {"time":"...","type":"platform.<type>","record":{   (the caller closes with "}}\n") */
static void line_add_record_head(struct line *l, const struct pt_platform_log *pl,
                                 const char *type)
{
    char ts[32];
    pt_format_iso8601_ms(pl->epoch_ms, ts, sizeof(ts));
    line_add(l, "{\"time\":\"%s\",\"type\":\"platform.%s\",\"record\":{", ts, type);
}

static const char *status_word(enum pt_report_status status)
{
    return status == PT_STATUS_TIMEOUT ? "timeout"
           : status == PT_STATUS_ERROR ? "error"
                                       : "success";
}

/* "status":"...", then "errorType" when the status is error. */
static void line_add_json_status(struct line *l, enum pt_report_status status,
                                 const char *error_type, size_t type_max)
{
    line_add(l, "\"status\":\"%s\"", status_word(status));
    if (status == PT_STATUS_ERROR) {
        int n;
        const char *t = report_error_type(error_type, type_max, &n);
        line_add_json_member(l, ",\"errorType\":", t, (size_t)n);
    }
}

static void line_add_init_head(struct line *l, const struct pt_platform_log *pl,
                               const char *type, const char *phase)
{
    line_add_record_head(l, pl, type);
    line_add(l, "\"initializationType\":\"on-demand\",\"phase\":\"%s\"",
             phase && strcmp(phase, "invoke") == 0 ? "invoke" : "init");
}

size_t pt_platform_init_start(char *out, size_t size, const struct pt_platform_log *pl,
                              const char *phase, const char *function_name, const char *version)
{
    struct line l = line_begin(out, size);
    if (!platform_logs(pl, PT_LOG_LEVEL_INFO))
        return 0;
    line_add_init_head(&l, pl, "initStart", phase);
    line_add_json_member(&l, ",\"functionName\":", function_name, PT_FUNCTION_NAME_MAX);
    line_add_json_member(&l, ",\"functionVersion\":", version_or_latest(version), 64);
    line_add(&l, "}}\n");
    return l.len;
}

size_t pt_platform_init_end(char *out, size_t size, const struct pt_platform_log *pl,
                            double init_ms, const char *phase, enum pt_report_status status,
                            const char *error_type)
{
    struct line l = line_begin(out, size);
    if (pl->format != PT_LOG_FORMAT_JSON)
        return status == PT_STATUS_SUCCESS
                   ? 0
                   : pt_format_init_report_line(out, size, init_ms, phase, status, error_type);
    if (platform_logs(pl, PT_LOG_LEVEL_DEBUG)) {
        line_add_init_head(&l, pl, "initRuntimeDone", phase);
        line_add(&l, ",");
        line_add_json_status(&l, status, error_type, SIZE_MAX);
        line_add(&l, "}}\n");
    }
    if (platform_logs(pl, PT_LOG_LEVEL_INFO)) {
        line_add_init_head(&l, pl, "initReport", phase);
        line_add(&l, ",");
        line_add_json_status(&l, status, error_type, SIZE_MAX);
        line_add(&l, ",\"metrics\":{\"durationMs\":");
        line_add_json_ms(&l, init_ms);
        line_add(&l, "}}}\n");
    }
    return l.len;
}

size_t pt_platform_start(char *out, size_t size, const struct pt_platform_log *pl,
                         const char *request_id, const char *version)
{
    struct line l = line_begin(out, size);
    if (pl->format != PT_LOG_FORMAT_JSON)
        return pt_format_start_line(out, size, request_id, version);
    if (!platform_logs(pl, PT_LOG_LEVEL_INFO))
        return 0;
    line_add_record_head(&l, pl, "start");
    line_add_json_member(&l, "\"requestId\":", request_id, SIZE_MAX);
    line_add_json_member(&l, ",\"version\":", version_or_latest(version), 64);
    line_add(&l, "}}\n");
    return l.len;
}

static void line_add_report_metrics(struct line *l, const struct pt_report *r)
{
    line_add(l, "\"metrics\":{\"durationMs\":");
    line_add_json_ms(l, r->duration_ms);
    line_add(l, ",\"billedDurationMs\":%llu,\"memorySizeMB\":%d,\"maxMemoryUsedMB\":%d",
             r->billed_ms, r->memory_mb, r->max_memory_used_mb);
    if (r->init_duration_ms >= 0) {
        line_add(l, ",\"initDurationMs\":");
        line_add_json_ms(l, r->init_duration_ms);
    }
    line_add(l, "}");
}

size_t pt_platform_end(char *out, size_t size, const struct pt_platform_log *pl,
                       const struct pt_report *r, long long produced_bytes)
{
    struct line l = line_begin(out, size);
    char id[sizeof(r->request_id) + 1];
    memcpy(id, r->request_id, sizeof(r->request_id));
    id[sizeof(r->request_id)] = '\0';
    if (pl->format != PT_LOG_FORMAT_JSON) {
        size_t n = pt_format_end_line(out, size, id);
        return n + pt_format_report_line(n < size ? out + n : NULL, n < size ? size - n : 0, r);
    }
    if (platform_logs(pl, PT_LOG_LEVEL_DEBUG)) {
        line_add_record_head(&l, pl, "runtimeDone");
        line_add_json_member(&l, "\"requestId\":", id, sizeof(id));
        line_add(&l, ",");
        line_add_json_status(&l, r->status, r->error_type, sizeof(r->error_type));
        if (r->has_spans) {
            static const char *const names[] = {"responseLatency", "responseDuration",
                                                "runtimeOverhead"};
            const struct pt_report_span *spans[] = {&r->response_latency, &r->response_duration,
                                                    &r->runtime_overhead};
            line_add(&l, ",\"spans\":[");
            for (int i = 0; i < 3; i++) {
                char ts[32];
                pt_format_iso8601_ms(spans[i]->start_epoch_ms, ts, sizeof(ts));
                line_add(&l, "%s{\"name\":\"%s\",\"start\":\"%s\",\"durationMs\":", i ? "," : "",
                         names[i], ts);
                line_add_json_ms(&l, spans[i]->duration_ms);
                line_add(&l, "}");
            }
            line_add(&l, "]");
        }
        line_add(&l, ",\"metrics\":{\"durationMs\":");
        line_add_json_ms(&l, r->duration_ms);
        if (produced_bytes >= 0)
            line_add(&l, ",\"producedBytes\":%lld", produced_bytes);
        line_add(&l, "}}}\n");
    }
    if (platform_logs(pl, PT_LOG_LEVEL_INFO)) {
        line_add_record_head(&l, pl, "report");
        line_add_json_member(&l, "\"requestId\":", id, sizeof(id));
        line_add(&l, ",");
        if (r->status == PT_STATUS_SUCCESS) {
            line_add_json_status(&l, r->status, r->error_type, sizeof(r->error_type));
            line_add(&l, ",");
            line_add_report_metrics(&l, r);
        } else {
            line_add_report_metrics(&l, r);
            line_add(&l, ",");
            line_add_json_status(&l, r->status, r->error_type, sizeof(r->error_type));
        }
        line_add(&l, "}}\n");
    }
    return l.len;
}

/*
 * Summed in whole nanoseconds rather than in floating-point milliseconds:
 * 100.10 + 0.90 is 101.00000000000001 in doubles and would bill 102 ms.
 * Lambda bills at least 1 ms.
 */
static unsigned long long ms_to_ns(double ms)
{
    if (!(ms > 0))
        return 0;
    if (ms >= 9.0e12) /* ~285 years: keeps llround inside its range */
        ms = 9.0e12;
    return (unsigned long long)llround(ms * 1e6);
}

unsigned long long pt_billed_duration_ms(double duration_ms, double init_ms,
                                         enum pt_billing_mode mode, bool custom_runtime)
{
    unsigned long long ns = ms_to_ns(duration_ms);
    bool init_billed = mode == PT_BILLING_2025 || custom_runtime;
    if (init_ms >= 0 && init_billed)
        ns += ms_to_ns(init_ms);
    unsigned long long billed = (ns + 999999ULL) / 1000000ULL;
    return billed ? billed : 1;
}

static void line_add_request_prefix(struct line *l, const char *request_id)
{
    if (request_id && *request_id)
        line_add(l, "RequestId: %s ", request_id);
}

size_t pt_format_timeout_message(char *out, size_t size, const char *request_id,
                                 double timeout_s)
{
    struct line l = {out, size, 0};
    line_add_request_prefix(&l, request_id);
    line_add(&l, "Error: Task timed out after %.2f seconds", timeout_s);
    return l.len;
}

/*
 * Lambda's init is written in Go and prints the runtime's end with
 * os.ProcessState.String(), whose signal names come from Go's Linux signal
 * table (syscall/zerrors_linux_*.go), not from strsignal().
 */
static const char *go_signal_name(int sig)
{
    switch (sig) {
    case SIGHUP: return "hangup";
    case SIGINT: return "interrupt";
    case SIGQUIT: return "quit";
    case SIGILL: return "illegal instruction";
    case SIGTRAP: return "trace/breakpoint trap";
    case SIGABRT: return "aborted";
    case SIGBUS: return "bus error";
    case SIGFPE: return "floating point exception";
    case SIGKILL: return "killed";
    case SIGUSR1: return "user defined signal 1";
    case SIGSEGV: return "segmentation fault";
    case SIGUSR2: return "user defined signal 2";
    case SIGPIPE: return "broken pipe";
    case SIGALRM: return "alarm clock";
    case SIGTERM: return "terminated";
#ifdef SIGSTKFLT
    case SIGSTKFLT: return "stack fault";
#endif
    case SIGCHLD: return "child exited";
    case SIGCONT: return "continued";
    case SIGSTOP: return "stopped (signal)";
    case SIGTSTP: return "stopped";
    case SIGTTIN: return "stopped (tty input)";
    case SIGTTOU: return "stopped (tty output)";
    case SIGURG: return "urgent I/O condition";
    case SIGXCPU: return "CPU time limit exceeded";
    case SIGXFSZ: return "file size limit exceeded";
    case SIGVTALRM: return "virtual timer expired";
    case SIGPROF: return "profiling timer expired";
    case SIGWINCH: return "window changed";
    case SIGIO: return "I/O possible";
    case SIGPWR: return "power failure";
    case SIGSYS: return "bad system call";
    default: return NULL;
    }
}

static void line_add_signal(struct line *l, int sig)
{
    const char *name = go_signal_name(sig);
    if (name)
        line_add(l, "%s", name);
    else
        line_add(l, "signal %d", sig); /* Go's fallback for signals outside its table */
}

size_t pt_format_entrypoint_message(char *out, size_t size, const char *request_id,
                                    const char *path, int errnum)
{
    struct line l = {out, size, 0};
    char reason[128];
    pt_strlcpy(reason, strerror(errnum), sizeof(reason));
    reason[0] = (char)tolower((unsigned char)reason[0]);
    line_add_request_prefix(&l, request_id);
    line_add(&l, "Error: fork/exec %s: %s", path, reason);
    return l.len;
}

size_t pt_format_exit_message(char *out, size_t size, const char *request_id, int wait_status)
{
    struct line l = {out, size, 0};
    line_add_request_prefix(&l, request_id);
    if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) {
        line_add(&l, "Error: Runtime exited without providing a reason");
        return l.len;
    }
    line_add(&l, "Error: Runtime exited with error: ");
    if (WIFEXITED(wait_status)) {
        line_add(&l, "exit status %d", WEXITSTATUS(wait_status));
    } else if (WIFSIGNALED(wait_status)) {
        line_add(&l, "signal: ");
        line_add_signal(&l, WTERMSIG(wait_status));
        if (WCOREDUMP(wait_status))
            line_add(&l, " (core dumped)");
    } else if (WIFSTOPPED(wait_status)) {
        line_add(&l, "stop signal: ");
        line_add_signal(&l, WSTOPSIG(wait_status));
    } else if (WIFCONTINUED(wait_status)) {
        line_add(&l, "continued");
    } else {
        line_add(&l, "unknown wait status 0x%x", (unsigned)wait_status);
    }
    return l.len;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629), or 0 if it is not one. */
static size_t utf8_seq_len(const unsigned char *p)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned char lo = c == 0xE0 ? 0xA0 : 0x80;
        unsigned char hi = c == 0xED ? 0x9F : 0xBF; /* no UTF-16 surrogates */
        return p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned char lo = c == 0xF0 ? 0x90 : 0x80;
        unsigned char hi = c == 0xF4 ? 0x8F : 0xBF; /* nothing above U+10FFFF */
        return p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80 ? 4
                                                                                           : 0;
    }
    return 0;
}

/*
 * jansson refuses invalid UTF-8, and error messages can carry a function's
 * raw output: each invalid byte becomes U+FFFD so the payload is still sent.
 * Returns s itself when it is valid, a malloc'd copy otherwise, NULL on ENOMEM.
 */
static char *utf8_sanitize(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t bad = 0, n = 0;
    while (p[n]) {
        size_t k = utf8_seq_len(p + n);
        if (k == 0) {
            bad++;
            k = 1;
        }
        n += k;
    }
    if (!bad)
        return (char *)s;
    char *copy = malloc(n + bad * 2 + 1);
    if (!copy)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq_len(p + i);
        if (k == 0) {
            memcpy(copy + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else {
            memcpy(copy + o, p + i, k);
            o += k;
            i += k;
        }
    }
    copy[o] = '\0';
    return copy;
}

char *pt_error_payload_json(const char *error_type, const char *error_message)
{
    const char *type_in = str_or_empty(error_type), *msg_in = str_or_empty(error_message);
    char *type = utf8_sanitize(type_in);
    char *msg = utf8_sanitize(msg_in);
    json_t *obj = NULL;
    char *json = NULL;

    if (!type || !msg)
        goto out;
    obj = json_pack("{s:s, s:s}", "errorType", type, "errorMessage", msg);
    if (!obj)
        goto out;
    json = json_dumps(obj, JSON_COMPACT);
out:
    json_decref(obj);
    if (type != type_in)
        free(type);
    if (msg != msg_in)
        free(msg);
    return json;
}

/* ---- REPORT parsing: a cursor over [p, end), never reading past end. ---- */

struct cursor {
    const char *p;
    const char *end;
};

static bool cur_eat(struct cursor *c, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
        return false;
    c->p += n;
    return true;
}

static bool is_sep(char ch)
{
    return ch == '\t' || ch == ' ';
}

static void cur_skip_seps(struct cursor *c)
{
    while (c->p < c->end && is_sep(*c->p))
        c->p++;
}

/* A token that runs to the next TAB or space (ids, status words). */
static size_t cur_word(struct cursor *c, const char **start)
{
    *start = c->p;
    while (c->p < c->end && !is_sep(*c->p))
        c->p++;
    return (size_t)(c->p - *start);
}

static bool is_dig(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* "<digits>[.<digits>] <unit>", e.g. "15.74 ms". */
static bool cur_decimal(struct cursor *c, const char *unit, double *out)
{
    char buf[40];
    const char *start = c->p;
    while (c->p < c->end && is_dig(*c->p))
        c->p++;
    if (c->p == start)
        return false;
    if (c->p < c->end && *c->p == '.') {
        const char *frac = ++c->p;
        while (c->p < c->end && is_dig(*c->p))
            c->p++;
        if (c->p == frac)
            return false;
    }
    size_t n = (size_t)(c->p - start);
    if (n >= sizeof(buf))
        return false;
    memcpy(buf, start, n);
    buf[n] = '\0';
    *out = strtod(buf, NULL);
    return cur_eat(c, " ") && cur_eat(c, unit);
}

/* "<digits> <unit>", e.g. "128 MB". */
static bool cur_integer(struct cursor *c, const char *unit, unsigned long long max,
                        unsigned long long *out)
{
    unsigned long long v = 0;
    const char *start = c->p;
    while (c->p < c->end && is_dig(*c->p)) {
        unsigned d = (unsigned)(*c->p - '0');
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
        c->p++;
    }
    if (c->p == start)
        return false;
    *out = v;
    return cur_eat(c, " ") && cur_eat(c, unit);
}

static bool name_is(const char *name, size_t n, const char *want)
{
    return strlen(want) == n && memcmp(name, want, n) == 0;
}

/* Reads one "Name: value" field into r; unknown fields are skipped up to the next TAB. */
static bool parse_field(struct cursor *c, struct pt_report *r, unsigned *seen)
{
    const char *name = c->p;
    while (c->p < c->end && *c->p != ':' && *c->p != '\t')
        c->p++;
    if (c->p == name || !cur_eat(c, ": "))
        return false;
    size_t n = (size_t)(c->p - 2 - name);
    unsigned long long v;

    if (name_is(name, n, "Duration")) {
        *seen |= 1u;
        return cur_decimal(c, "ms", &r->duration_ms);
    }
    if (name_is(name, n, "Billed Duration")) {
        *seen |= 2u;
        return cur_integer(c, "ms", ULLONG_MAX, &r->billed_ms);
    }
    if (name_is(name, n, "Memory Size")) {
        *seen |= 4u;
        if (!cur_integer(c, "MB", INT_MAX, &v))
            return false;
        r->memory_mb = (int)v;
        return true;
    }
    if (name_is(name, n, "Max Memory Used")) {
        *seen |= 8u;
        if (!cur_integer(c, "MB", INT_MAX, &v))
            return false;
        r->max_memory_used_mb = (int)v;
        return true;
    }
    if (name_is(name, n, "Init Duration"))
        return cur_decimal(c, "ms", &r->init_duration_ms);
    if (name_is(name, n, "Status")) {
        const char *w;
        size_t wn = cur_word(c, &w);
        if (name_is(w, wn, "timeout"))
            r->status = PT_STATUS_TIMEOUT;
        else if (name_is(w, wn, "error") || name_is(w, wn, "failure"))
            r->status = PT_STATUS_ERROR;
        else if (name_is(w, wn, "success"))
            r->status = PT_STATUS_SUCCESS;
        else
            return false;
        return true;
    }
    if (name_is(name, n, "Error Type")) {
        const char *w;
        size_t wn = cur_word(c, &w);
        if (wn >= sizeof(r->error_type))
            wn = sizeof(r->error_type) - 1; /* keep what fits: the rest of the line still counts */
        memcpy(r->error_type, w, wn);
        r->error_type[wn] = '\0';
        return true;
    }
    while (c->p < c->end && *c->p != '\t')
        c->p++;
    return true;
}

int pt_report_parse(const char *line, size_t len, struct pt_report *out)
{
    struct pt_report r;
    unsigned seen = 0;

    if (!line || !out)
        return -1;
    memset(&r, 0, sizeof(r));
    r.init_duration_ms = -1.0;

    /* One line: anything from the first newline on (and a CR before it) is not ours. */
    const char *nl = memchr(line, '\n', len);
    struct cursor c = {line, nl ? nl : line + len};
    if (c.end > c.p && c.end[-1] == '\r')
        c.end--;

    if (!cur_eat(&c, "REPORT RequestId: "))
        return -1;
    const char *id;
    size_t idn = cur_word(&c, &id);
    if (idn == 0 || idn >= sizeof(r.request_id))
        return -1;
    memcpy(r.request_id, id, idn);

    for (;;) {
        cur_skip_seps(&c);
        if (c.p == c.end)
            break;
        if (!parse_field(&c, &r, &seen))
            return -1;
        /* A field must end at a separator or the end of the line: "12.34 msX" is garbage. */
        if (c.p < c.end && !is_sep(*c.p))
            return -1;
    }
    if (seen != 15u)
        return -1;
    if (r.status == PT_STATUS_SUCCESS)
        r.error_type[0] = '\0';
    *out = r;
    return 0;
}
