/*
 * samples.c - the samples file (JSONL): one header line, then one object per invocation,
 * each written with a single write(2) as it completes so an interrupted run keeps every
 * finished invocation. The reader validates every line: it feeds --resume and `analyze`.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/str.h"
#include "tune/jsjson.h"
#include "tune/tune.h"

#define SAMPLES_VERSION 1

/* --- writing --- */

static int put_number(struct pt_buf *b, const char *key, double v, struct pt_error *err)
{
    char num[PT_JS_NUMBER_MAX];
    pt_js_number(v, num);
    return pt_buf_printf(b, err, ",\"%s\":%s", key, num);
}

int pt_samples_format_header(const struct pt_samples_header *h, struct pt_buf *out,
                             struct pt_error *err)
{
    int rc = pt_buf_printf(out, err, "{\"powertune\":\"samples\",\"version\":%d,\"function\":",
                           SAMPLES_VERSION);
    if (rc == 0)
        rc = pt_js_quote(h->function, strlen(h->function), out, err);
    if (rc == 0)
        rc = pt_buf_append_str(out, ",\"region\":", err);
    if (rc == 0)
        rc = pt_js_quote(h->region, strlen(h->region), out, err);
    if (rc == 0)
        rc = pt_buf_append_str(out, ",\"architecture\":", err);
    if (rc == 0)
        rc = pt_js_quote(h->architecture, strlen(h->architecture), out, err);
    if (rc == 0 && h->settings) {
        rc = pt_buf_append_str(out, ",\"settings\":", err);
        if (rc == 0)
            rc = pt_js_stringify(h->settings, 0, out, err);
    }
    if (rc == 0)
        rc = pt_buf_append(out, "}", 1, err);
    return rc;
}

int pt_samples_format_sample(const struct pt_tune_sample *s, struct pt_buf *out,
                             struct pt_error *err)
{
    int rc = pt_buf_printf(out, err, "{\"power\":%d", s->power);
    if (rc == 0)
        rc = put_number(out, "durationMs", s->duration_ms, err);
    if (rc == 0)
        rc = put_number(out, "billedDurationMs", s->billed_ms, err);
    if (rc == 0) {
        if (s->init_ms >= 0)
            rc = put_number(out, "initDurationMs", s->init_ms, err);
        else
            rc = pt_buf_append_str(out, ",\"initDurationMs\":null", err);
    }
    if (rc == 0)
        rc = pt_buf_printf(out, err, ",\"maxMemoryUsedMB\":%d", s->max_memory_used_mb);
    if (rc == 0)
        rc = put_number(out, "cpuTimeMs", s->cpu_time_ms, err);
    if (rc == 0)
        rc = pt_buf_printf(out, err, ",\"coldStart\":%s,\"error\":", s->cold_start ? "true" : "false");
    if (rc == 0)
        rc = s->error[0] ? pt_js_quote(s->error, strlen(s->error), out, err)
                         : pt_buf_append_str(out, "null", err);
    if (rc == 0)
        rc = pt_buf_printf(out, err, ",\"payloadIndex\":%d,\"t\":%lld}", s->payload_index,
                           (long long)s->t_ms);
    return rc;
}

static int write_all(int fd, const char *data, size_t n, const char *path, struct pt_error *err)
{
    while (n > 0) {
        ssize_t w = write(fd, data, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return pt_error_errno(err, PT_EIO, errno, "cannot write %s", path);
        data += w;
        n -= (size_t)w;
    }
    return 0;
}

/* A line with its newline, written in one call (O_APPEND keeps lines whole). */
static int write_line(struct pt_samples_writer *w, struct pt_buf *line, size_t max,
                      struct pt_error *err)
{
    int rc = pt_buf_append(line, "\n", 1, err);
    if (rc == 0 && line->len > max + 1)
        rc = pt_error_set(err, PT_ELIMIT, "samples line of %zu bytes; allowed at most %zu",
                          line->len - 1, max);
    if (rc == 0)
        rc = write_all(w->fd, line->data, line->len, w->path, err);
    return rc;
}

int pt_samples_writer_open(struct pt_samples_writer *w, const char *path,
                           const struct pt_samples_header *h, bool append, struct pt_error *err)
{
    memset(w, 0, sizeof(*w));
    w->fd = -1;
    if (strlen(path) >= sizeof(w->path))
        return pt_error_set(err, PT_EUSAGE, "samples: path too long");
    pt_strlcpy(w->path, path, sizeof(w->path));
    int flags = (append ? O_RDWR : O_WRONLY | O_TRUNC) | O_CREAT | O_APPEND | O_CLOEXEC;
    w->fd = open(path, flags, 0644);
    if (w->fd < 0)
        return pt_error_errno(err, errno == ENOENT || errno == EACCES ? PT_EUSAGE : PT_ESYS,
                              errno, "cannot open samples file %s", path);
    pthread_mutex_init(&w->lock, NULL);
    int rc = 0;
    struct pt_buf line;
    pt_buf_init(&line, 0);
    if (append) {
        /* A last line without its newline (a file saved by an editor) would run into the
         * first appended sample and make the whole file unreadable. */
        char last = '\n';
        off_t size = lseek(w->fd, 0, SEEK_END);
        if (size > 0 && pread(w->fd, &last, 1, size - 1) != 1)
            rc = pt_error_errno(err, PT_EIO, errno, "cannot read %s", path);
        if (rc == 0 && last != '\n')
            rc = write_all(w->fd, "\n", 1, path, err);
    } else {
        rc = pt_samples_format_header(h, &line, err);
        if (rc == 0)
            rc = write_line(w, &line, PT_SAMPLES_HEADER_MAX, err);
    }
    pt_buf_free(&line);
    if (rc < 0) {
        close(w->fd);
        w->fd = -1;
        pthread_mutex_destroy(&w->lock);
    }
    return rc;
}

int pt_samples_rewrite(const char *path, const struct pt_samples_header *h,
                       const struct pt_tune_sample *samples, size_t n, struct pt_error *err)
{
    struct pt_buf text, line;
    pt_buf_init(&text, 0);
    pt_buf_init(&line, 0);
    int rc = pt_samples_format_header(h, &text, err);
    if (rc == 0)
        rc = pt_buf_append(&text, "\n", 1, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        pt_buf_reset(&line);
        rc = pt_samples_format_sample(&samples[i], &line, err);
        if (rc == 0)
            rc = pt_buf_append(&line, "\n", 1, err);
        if (rc == 0)
            rc = pt_buf_append(&text, line.data, line.len, err);
    }
    /* Atomic: a crash leaves the old file whole, never a half-written one. */
    if (rc == 0)
        rc = pt_file_write_atomic(path, text.data, text.len, err);
    pt_buf_free(&line);
    pt_buf_free(&text);
    return rc;
}

int pt_samples_write(struct pt_samples_writer *w, const struct pt_tune_sample *s,
                     struct pt_error *err)
{
    struct pt_buf line;
    pt_buf_init(&line, 0);
    int rc = pt_samples_format_sample(s, &line, err);
    if (rc == 0) {
        pthread_mutex_lock(&w->lock);
        rc = write_line(w, &line, PT_SAMPLES_LINE_MAX, err);
        pthread_mutex_unlock(&w->lock);
    }
    pt_buf_free(&line);
    return rc;
}

int pt_samples_writer_close(struct pt_samples_writer *w, struct pt_error *err)
{
    if (w->fd < 0)
        return 0;
    int rc = 0;
    if (fsync(w->fd) < 0 && errno != EINVAL && errno != EROFS)
        rc = pt_error_errno(err, PT_EIO, errno, "cannot sync %s", w->path);
    if (close(w->fd) < 0 && rc == 0)
        rc = pt_error_errno(err, PT_EIO, errno, "cannot close %s", w->path);
    w->fd = -1;
    pthread_mutex_destroy(&w->lock);
    return rc;
}

/* --- reading --- */

static const char *const sample_keys[] = {"power", "durationMs", "billedDurationMs",
                                          "initDurationMs", "maxMemoryUsedMB", "cpuTimeMs",
                                          "coldStart", "error", "payloadIndex", "t"};

static int num_field(const json_t *o, const char *key, double min, double max, bool integer,
                     double *out, struct pt_error *err)
{
    const json_t *v = json_object_get(o, key);
    if (!v)
        return pt_error_set(err, PT_EUSAGE, "%s: missing", key);
    double d = json_is_number(v) ? pt_js_json_number(v) : NAN;
    if (!json_is_number(v) || !isfinite(d) || d < min || d > max || (integer && d != floor(d)))
        return pt_error_set(err, PT_EUSAGE, "%s: not %s from %.0f to %.0f", key,
                            integer ? "an integer" : "a number", min, max);
    *out = d;
    return 0;
}

/* Durations are bounded by Lambda's 900 s timeout (plus INIT's 10 s), with margin for
 * tuning inputs of other sources: a day. */
#define MS_MAX 86400000.0

int pt_samples_parse_line(const char *line, size_t len, struct pt_tune_sample *s,
                          struct pt_error *err)
{
    json_error_t jerr;
    memset(s, 0, sizeof(*s));
    json_t *o = json_loadb(line, len, JSON_DECODE_INT_AS_REAL, &jerr);
    if (!o)
        return pt_error_set(err, PT_EUSAGE, "not valid JSON (column %d: %s)", jerr.column, jerr.text);
    int rc = 0;
    double d = 0;
    if (!json_is_object(o)) {
        rc = pt_error_set(err, PT_EUSAGE, "not a JSON object");
        goto out;
    }
    for (size_t i = 0; i < sizeof(sample_keys) / sizeof(sample_keys[0]); i++)
        if (!json_object_get(o, sample_keys[i])) {
            rc = pt_error_set(err, PT_EUSAGE, "%s: missing", sample_keys[i]);
            goto out;
        }
    if ((rc = num_field(o, "power", PT_TUNE_POWER_MIN, PT_TUNE_POWER_MAX, true, &d, err)) < 0)
        goto out;
    s->power = (int)d;
    if ((rc = num_field(o, "durationMs", 0, MS_MAX, false, &s->duration_ms, err)) < 0 ||
        (rc = num_field(o, "billedDurationMs", 0, MS_MAX, false, &s->billed_ms, err)) < 0)
        goto out;
    s->init_ms = -1;
    if (!json_is_null(json_object_get(o, "initDurationMs")) &&
        (rc = num_field(o, "initDurationMs", 0, MS_MAX, false, &s->init_ms, err)) < 0)
        goto out;
    if ((rc = num_field(o, "maxMemoryUsedMB", 0, PT_TUNE_POWER_MAX, true, &d, err)) < 0)
        goto out;
    s->max_memory_used_mb = (int)d;
    if ((rc = num_field(o, "cpuTimeMs", 0, MS_MAX * 64, false, &s->cpu_time_ms, err)) < 0)
        goto out;
    const json_t *cold = json_object_get(o, "coldStart");
    if (!json_is_boolean(cold)) {
        rc = pt_error_set(err, PT_EUSAGE, "coldStart: not true or false");
        goto out;
    }
    s->cold_start = json_is_true(cold);
    const json_t *e = json_object_get(o, "error");
    if (json_is_string(e)) {
        size_t n = json_string_length(e);
        if (n == 0 || n >= sizeof(s->error) || strlen(json_string_value(e)) != n) {
            rc = pt_error_set(err, PT_EUSAGE, "error: allowed null or an errorType of 1 to %zu bytes",
                              sizeof(s->error) - 1);
            goto out;
        }
        memcpy(s->error, json_string_value(e), n + 1);
    } else if (!json_is_null(e)) {
        rc = pt_error_set(err, PT_EUSAGE, "error: allowed null or an errorType string");
        goto out;
    }
    if ((rc = num_field(o, "payloadIndex", 0, PT_TUNE_NUM_MAX, true, &d, err)) < 0)
        goto out;
    s->payload_index = (int)d;
    /* Epoch ms up to year 9999; doubles hold these integers exactly. */
    if ((rc = num_field(o, "t", 0, 253402300799999.0, true, &d, err)) < 0)
        goto out;
    s->t_ms = (int64_t)d;
out:
    json_decref(o);
    return rc;
}

static int copy_header_string(const json_t *o, const char *key, char *dst, size_t size,
                              struct pt_error *err)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= size ||
        strlen(json_string_value(v)) != json_string_length(v))
        return pt_error_set(err, PT_EUSAGE, "%s: allowed a string of 1 to %zu bytes", key, size - 1);
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int parse_header(const char *line, size_t len, struct pt_samples_header *h,
                        struct pt_error *err)
{
    json_error_t jerr;
    json_t *o = json_loadb(line, len, JSON_DECODE_INT_AS_REAL, &jerr);
    if (!o)
        return pt_error_set(err, PT_EUSAGE, "not valid JSON (column %d: %s)", jerr.column, jerr.text);
    int rc = 0;
    const json_t *kind = json_object_get(o, "powertune");
    const json_t *ver = json_object_get(o, "version");
    if (!json_is_object(o) || !json_is_string(kind) ||
        strcmp(json_string_value(kind), "samples") != 0) {
        rc = pt_error_set(err, PT_EUSAGE, "not a powertune samples header (expected "
                          "{\"powertune\":\"samples\",\"version\":1,...})");
        goto out;
    }
    if (!json_is_number(ver) || pt_js_json_number(ver) != SAMPLES_VERSION) {
        rc = pt_error_set(err, PT_EUSAGE, "version: allowed %d (this powertune's format)",
                          SAMPLES_VERSION);
        goto out;
    }
    if ((rc = copy_header_string(o, "function", h->function, sizeof(h->function), err)) < 0 ||
        (rc = copy_header_string(o, "region", h->region, sizeof(h->region), err)) < 0 ||
        (rc = copy_header_string(o, "architecture", h->architecture, sizeof(h->architecture),
                                 err)) < 0)
        goto out;
    /* Checked where it is used (analyze applies it as execution input); an object is all
     * the reader asks. */
    json_t *settings = json_object_get(o, "settings");
    if (settings && !json_is_object(settings)) {
        rc = pt_error_set(err, PT_EUSAGE, "settings: allowed an object (the run's settings)");
        goto out;
    }
    h->settings = json_incref(settings);
out:
    json_decref(o);
    return rc;
}

void pt_samples_file_free(struct pt_samples_file *f)
{
    if (!f)
        return;
    free(f->samples);
    json_decref(f->header.settings);
    memset(f, 0, sizeof(*f));
}

/*
 * Reads one line into buf (at most max bytes). Returns 1 with a line, 0 at end of file,
 * PT_ELIMIT for an overlong line. *newline tells whether it ended in '\n'.
 */
static int read_line(FILE *f, char *buf, size_t max, size_t *len, bool *newline)
{
    size_t n = 0;
    int c;
    *newline = false;
    while ((c = getc_unlocked(f)) != EOF) {
        if (c == '\n') {
            *newline = true;
            break;
        }
        if (n == max)
            return PT_ELIMIT;
        buf[n++] = (char)c;
    }
    *len = n;
    buf[n] = '\0';
    return (n > 0 || *newline) ? 1 : 0;
}

int pt_samples_read_stream(FILE *f, const char *name, struct pt_samples_file *out,
                           struct pt_error *err)
{
    memset(out, 0, sizeof(*out));
    char *line = malloc(PT_SAMPLES_HEADER_MAX + 1);
    size_t cap = 0;
    int rc = 0;
    long long offset = 0;
    if (!line)
        return pt_error_set(err, PT_ENOMEM, "out of memory reading %s", name);

    for (long line_no = 1;; line_no++) {
        size_t len = 0;
        bool newline = false;
        size_t max = line_no == 1 ? PT_SAMPLES_HEADER_MAX : PT_SAMPLES_LINE_MAX;
        int r = read_line(f, line, max, &len, &newline);
        if (r == PT_ELIMIT) {
            rc = pt_error_set(err, PT_ELIMIT, "%s:%ld: line longer than %zu bytes", name, line_no,
                              max);
            goto out;
        }
        if (r == 0)
            break;
        if (line_no == 1) {
            if ((rc = parse_header(line, len, &out->header, err)) < 0) {
                pt_error_wrap(err, "%s:1", name);
                goto out;
            }
        } else {
            if (out->n == PT_SAMPLES_MAX) {
                rc = pt_error_set(err, PT_ELIMIT, "%s:%ld: more than %d samples", name, line_no,
                                  PT_SAMPLES_MAX);
                goto out;
            }
            if (out->n == cap) {
                size_t ncap = cap ? 2 * cap : 256;
                struct pt_tune_sample *p = realloc(out->samples, ncap * sizeof(*p));
                if (!p) {
                    rc = pt_error_set(err, PT_ENOMEM, "out of memory reading %s", name);
                    goto out;
                }
                out->samples = p;
                cap = ncap;
            }
            struct pt_error perr;
            if (pt_samples_parse_line(line, len, &out->samples[out->n], &perr) < 0) {
                /* An interrupted writer leaves a partial last line: skip it, say so. */
                if (!newline) {
                    out->truncated_tail = true;
                    break;
                }
                rc = pt_error_set(err, PT_EUSAGE, "%s:%ld: %s", name, line_no, perr.msg);
                goto out;
            }
            out->n++;
        }
        offset += (long long)len + (newline ? 1 : 0);
        if (!newline) {
            out->unterminated = true;
            break;
        }
    }
    if (ferror(f)) {
        rc = pt_error_set(err, PT_EIO, "%s: read error", name);
        goto out;
    }
    if (offset == 0 && !out->truncated_tail) {
        rc = pt_error_set(err, PT_EUSAGE, "%s: empty; expected a powertune samples header", name);
        goto out;
    }
    out->valid_bytes = offset;
out:
    free(line);
    if (rc < 0)
        pt_samples_file_free(out);
    return rc;
}

int pt_samples_read(const char *path, struct pt_samples_file *out, struct pt_error *err)
{
    memset(out, 0, sizeof(*out));
    FILE *f = fopen(path, "re");
    if (!f)
        return pt_error_errno(err, errno == ENOENT ? PT_EUSAGE : PT_ESYS, errno,
                              "cannot open samples file %s", path);
    /* A directory opens, and then fails every read with a bare EISDIR. */
    struct stat st;
    int rc = fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)
                 ? pt_error_set(err, PT_EUSAGE, "%s is a directory; allowed a samples file", path)
                 : pt_samples_read_stream(f, path, out, err);
    fclose(f);
    return rc;
}
