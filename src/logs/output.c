/*
 * output.c - the result as JSON (docs/logs-json.md: field names are a contract, add fields but
 * never rename) and as tables for people.
 *
 * Numbers that cannot be computed (no invocations, a variance of one value, no timestamps) are
 * JSON null, never 0 or NaN, so a consumer cannot mistake "unknown" for a measurement.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/str.h"
#include "logs/logs_internal.h"

void pt_logs_format_time(int64_t ticks, char *out, size_t size)
{
    int64_t ms = ticks / PT_LOGS_TICKS_PER_MS;
    if (ticks % PT_LOGS_TICKS_PER_MS < 0)
        ms--;
    int64_t s = ms / 1000, frac = ms % 1000;
    if (frac < 0) {
        frac += 1000;
        s--;
    }
    time_t secs = (time_t)s;
    struct tm tm;
    if (!gmtime_r(&secs, &tm)) {
        snprintf(out, size, "?");
        return;
    }
    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
}

/* ---------------------------------------------------------------- JSON */

/*
 * Text that came from outside (paths, function names from a file name, a logGroup or
 * --function, notes quoting a line, a --region label) as valid UTF-8, malloc'd. jansson refuses
 * invalid UTF-8 (json_string gives NULL, json_pack fails, a key is not set), which would drop
 * the input, function or note from the output without a word. Each byte that is not part of
 * a well-formed sequence is written as "\xHH" (Python's backslashreplace), so that names that
 * differ only in such bytes stay distinct keys. NULL only on ENOMEM.
 */
static char *utf8_text(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(4 * n + 1); /* "\xHH" for every byte at most */
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t k = pt_utf8_seq(p + i, n - i);
        if (k) {
            memcpy(out + o, p + i, k);
            o += k;
            i += k;
        } else {
            snprintf(out + o, 5, "\\x%02X", p[i++]);
            o += 4;
        }
    }
    out[o] = '\0';
    return out;
}

static json_t *jtext(const char *s)
{
    char *t = utf8_text(s);
    json_t *v = t ? json_string(t) : NULL;
    free(t);
    return v;
}

static json_t *jnum(double v, int decimals)
{
    if (!isfinite(v))
        return json_null();
    double f = pow(10, decimals);
    return json_real(round(v * f) / f);
}

static json_t *jint(uint64_t v)
{
    return json_integer((json_int_t)v);
}

static json_t *jtime(int64_t ticks)
{
    if (ticks == PT_LOGS_NO_TIME)
        return json_null();
    char b[40];
    pt_logs_format_time(ticks, b, sizeof(b));
    return json_string(b);
}

static json_t *stats_json(const struct pt_logs_stats *st)
{
    if (st->n == 0)
        return json_null();
    return json_pack("{s:o,s:o,s:o,s:o,s:o}", "mean", jnum(st->mean, 3), "median",
                     jnum(st->median, 3), "max", jnum(st->max, 3), "min", jnum(st->min, 3),
                     "variance", jnum(st->variance, 3));
}

static json_t *scope_json(const struct pt_logs_scope *s, const struct pt_logs_result *r,
                          bool account_scope)
{
    json_t *o = json_object();
    json_object_set_new(o, "invocations", jint(s->invocations));
    json_object_set_new(o, "duplicatesDropped", jint(s->duplicates));
    json_object_set_new(o, "timedInvocations", jint(s->timed));
    json_object_set_new(o, "firstAt", jtime(s->first));
    json_object_set_new(o, "lastAt", jtime(s->last));
    json_object_set_new(o, "statuses", json_pack("{s:o,s:o,s:o}", "success",
                                                 jint(s->invocations - s->timeouts - s->errors),
                                                 "timeout", jint(s->timeouts), "error",
                                                 jint(s->errors)));
    if (s->have_durations)
        json_object_set_new(
            o, "durationMs",
            json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "min", jnum(s->dmin, 3), "mean",
                      jnum(s->dmean, 3), "p50", jnum(s->p50, 3), "p90", jnum(s->p90, 3), "p95",
                      jnum(s->p95, 3), "p99", jnum(s->p99, 3), "p99.5", jnum(s->p995, 3),
                      "p99.9", jnum(s->p999, 3), "max", jnum(s->dmax, 3)));
    else
        json_object_set_new(o, "durationMs", json_null());

    json_t *c = json_object();
    json_object_set_new(c, "peak", s->have_concurrency ? jint(s->peak) : json_null());
    json_object_set_new(c, "peakAt", s->have_concurrency ? jtime(s->peak_at) : json_null());
    json_object_set_new(c, "binSeconds", json_integer(s->have_concurrency ? s->bin_seconds : 1));
    json_object_set_new(c, "limit", json_integer(s->limit));
    json_object_set_new(c, "limitSource", json_string(s->limit_is_reserved ? "reserved" : "quota"));
    json_object_set_new(c, "quota", json_integer(r->opt.quota));
    json_object_set_new(c, "reserved",
                        r->opt.reserved >= 0 ? json_integer(r->opt.reserved) : json_null());
    json_object_set_new(c, "headroom", s->have_concurrency
                                           ? json_integer(s->limit - (long)s->peak)
                                           : json_null());
    json_object_set_new(c, "throttledSeconds", jint(s->throttled_seconds));
    json_object_set_new(c, "throttledInvocations", jint(s->throttled_invocations));
    json_object_set_new(
        c, "estimate",
        json_pack("{s:s,s:o,s:o}", "method", "count(*) * pct(@duration, 99.5) / 1000 per bin",
                  "peak", s->have_concurrency ? jnum(s->est_peak, 3) : json_null(), "peakAt",
                  s->have_concurrency ? jtime(s->est_peak_at) : json_null()));
    json_t *before = json_array();
    for (size_t k = 0; k < s->nminutes; k++) {
        const struct pt_logs_minute *m = &s->minutes[k];
        json_array_append_new(
            before, json_pack("{s:o,s:o,s:o,s:o,s:o}", "minute", jtime(m->start), "invocations",
                              jint(m->invocations), "avgDurationMs", jnum(m->avg_duration_ms, 3),
                              "peakConcurrency", jint(m->peak), "meanConcurrency",
                              jnum(m->mean, 3)));
    }
    json_object_set_new(c, "beforePeak", before);
    json_object_set_new(o, "concurrency", c);

    json_t *cs = json_object();
    json_object_set_new(cs, "count", jint(s->cold));
    json_object_set_new(cs, "rate", s->invocations ? jnum((double)s->cold / (double)s->invocations, 6)
                                                   : json_null());
    json_object_set_new(cs, "initDurationMs", stats_json(&s->init));
    json_t *bym = json_object();
    for (size_t k = 0; k < s->ncold_by_mem; k++) {
        const struct pt_logs_cold_by_mem *g = &s->cold_by_mem[k];
        char key[16];
        snprintf(key, sizeof(key), "%u", g->memory_mb);
        json_object_set_new(
            bym, key,
            json_pack("{s:o,s:o,s:o,s:o}", "count", jint(g->init.n), "invocations",
                      jint(g->invocations), "rate",
                      g->invocations ? jnum((double)g->init.n / (double)g->invocations, 6)
                                     : json_null(),
                      "initDurationMs", stats_json(&g->init)));
    }
    json_object_set_new(cs, "byMemorySizeMB", bym);
    json_object_set_new(cs, "initReports", jint(s->init_reports));
    json_object_set_new(cs, "initFailures", jint(s->init_failures));
    /* SnapStart: a restore replaces INIT; counted apart, its durations are not INIT's. */
    json_object_set_new(cs, "restores",
                        json_pack("{s:o,s:o}", "count", jint(s->restore.n), "restoreDurationMs",
                                  stats_json(&s->restore)));
    json_object_set_new(o, "coldStarts", cs);

    json_t *mem = json_object();
    json_t *bysize = json_object();
    for (size_t k = 0; k < s->nmem; k++) {
        const struct pt_logs_mem *m = &s->mem[k];
        char key[16];
        snprintf(key, sizeof(key), "%u", m->memory_mb);
        json_object_set_new(
            bysize, m->memory_mb ? key : "unknown",
            json_pack("{s:o,s:{s:o,s:o},s:o,s:o}", "invocations", jint(m->invocations),
                      "maxMemoryUsedMB", "max",
                      m->used_reports ? jint(m->used_max_mb) : json_null(), "mean",
                      m->used_reports ? jnum((double)m->used_sum_mb / (double)m->used_reports, 1)
                                      : json_null(),
                      "outOfMemory", jint(m->out_of_memory), "billedGbSeconds",
                      jnum((double)m->billed_ms / 1000.0 * m->memory_mb / 1024.0, 3)));
    }
    json_object_set_new(mem, "bySizeMB", bysize);
    if (s->have_recommendation && !account_scope) {
        json_object_set_new(
            mem, "recommendation",
            json_pack("{s:s,s:i,s:i,s:i,s:f,s:o,s:o,s:s}", "action", s->rec_action,
                      "currentMemorySizeMB", (json_int_t)s->rec_current_mb, "memorySizeMB",
                      (json_int_t)s->rec_mb, "maxMemoryUsedMB", (json_int_t)s->rec_used_mb,
                      "headroom", 0.2, "costChangeUsd", jnum(s->rec_cost_change_usd, 8),
                      "costChangePercent", jnum(s->rec_cost_change_pct, 2), "assumes",
                      "unchanged billed durations (CPU share scales with memory: verify with "
                      "powertune tune)"));
    } else {
        json_object_set_new(mem, "recommendation", json_null());
    }
    if (account_scope) {
        double sum = 0;
        for (size_t f = 0; f < r->nfunctions; f++)
            if (r->functions[f].have_recommendation)
                sum += r->functions[f].rec_cost_change_usd;
        json_object_set_new(mem, "recommendedCostChangeUsd", jnum(sum, 8));
    }
    json_object_set_new(o, "memory", mem);

    json_t *cost = json_object();
    if (account_scope) {
        json_object_set_new(cost, "region", jtext(r->opt.region));
        json_object_set_new(cost, "architecture", json_string(r->opt.architecture));
        json_object_set_new(cost, "pricePerGbSecond", json_real(r->price_gb_s));
        json_object_set_new(cost, "pricePerMillionRequests", json_real(r->price_requests));
    }
    json_object_set_new(cost, "billedGbSeconds", jnum(s->gb_seconds, 3));
    json_object_set_new(cost, "computeUsd", jnum(s->compute_usd, 8));
    json_object_set_new(cost, "requestUsd", jnum(s->request_usd, 8));
    json_object_set_new(cost, "totalUsd", jnum(s->compute_usd + s->request_usd, 8));
    json_object_set_new(cost, "invocationsWithoutMemorySize",
                        jint(s->invocations - s->billable_requests));
    json_object_set_new(o, "cost", cost);
    return o;
}

static const char *format_name(enum pt_logs_format f)
{
    return f == PT_LOGS_FMT_DOCUMENT ? "cloudwatch-json" : "lines";
}

json_t *pt_logs_result_json(const struct pt_logs_result *r)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "schema", json_string("powertune.logs/1"));
    json_t *inputs = json_array();
    for (size_t i = 0; i < r->nsources; i++) {
        const struct pt_logs_source *s = &r->sources[i];
        json_t *in = json_pack("{s:o,s:o,s:s,s:b,s:o,s:o}", "path", jtext(s->path), "function",
                               jtext(s->name), "format", format_name(s->format), "compressed",
                               s->compressed, "lines", jint(s->lines), "bytes", jint(s->bytes));
        if (in && s->stream)
            json_object_set_new(in, "logStream", jtext(s->stream));
        json_array_append_new(inputs, in);
    }
    json_object_set_new(o, "inputs", inputs);
    json_object_set_new(o, "lines", jint(r->lines));
    json_object_set_new(o, "otherLines", jint(r->other_lines));
    json_object_set_new(o, "unparsedLines", jint(r->unparsed));
    json_t *un = json_array();
    for (size_t i = 0; i < r->nkept; i++)
        json_array_append_new(un, json_pack("{s:o,s:o,s:o}", "file",
                                            jtext(r->sources[r->kept[i].source].path), "line",
                                            jint(r->kept[i].line), "reason",
                                            jtext(r->kept[i].reason)));
    json_object_set_new(o, "unparsed", un);
    /* The account-wide figures sit at the top level; json_object_update takes references. */
    json_t *all = scope_json(&r->all, r, true);
    json_object_update(o, all);
    json_decref(all);
    json_t *fns = json_object();
    for (size_t f = 0; f < r->nfunctions; f++) {
        char *key = utf8_text(r->functions[f].name);
        if (key)
            json_object_set_new(fns, key, scope_json(&r->functions[f], r, false));
        free(key);
    }
    json_object_set_new(o, "functions", fns);
    return o;
}

/* ---------------------------------------------------------------- tables */

static void fmt_count(uint64_t v, char *out, size_t size)
{
    char raw[32];
    snprintf(raw, sizeof(raw), "%llu", (unsigned long long)v);
    size_t n = strlen(raw), o = 0;
    for (size_t i = 0; i < n && o + 2 < size; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = raw[i];
    }
    out[o] = '\0';
}

static void fmt_ms(double v, char *out, size_t size)
{
    if (!isfinite(v))
        snprintf(out, size, "-");
    else
        snprintf(out, size, "%.2f", v);
}

void pt_logs_write_warnings(const struct pt_logs_result *r, FILE *f)
{
    for (size_t i = 0; i < r->nkept; i++)
        fprintf(f, "warning: %s:%llu: %s\n", r->sources[r->kept[i].source].path,
                (unsigned long long)r->kept[i].line, r->kept[i].reason);
    if (r->unparsed > r->nkept)
        fprintf(f, "warning: %llu more unparsed lines\n",
                (unsigned long long)(r->unparsed - r->nkept));
}

static void write_concurrency(const struct pt_logs_scope *s, const struct pt_logs_result *r,
                              FILE *f)
{
    char at[40], eat[40], n[32];
    if (!s->have_concurrency) {
        fprintf(f, "  no timestamps in the input: concurrency unknown\n");
        return;
    }
    pt_logs_format_time(s->peak_at, at, sizeof(at));
    pt_logs_format_time(s->est_peak_at, eat, sizeof(eat));
    fprintf(f, "  peak %u at %s (from each invocation's interval)\n", s->peak, at);
    fprintf(f, "  %s %ld: headroom %ld, %llu s over it, ~%llu invocations would have throttled\n",
            s->limit_is_reserved ? "reserved concurrency" : "quota", s->limit,
            s->limit - (long)s->peak, (unsigned long long)s->throttled_seconds,
            (unsigned long long)s->throttled_invocations);
    fprintf(f, "  article's estimate count x p99.5 / 1000 per %d s: peak %.1f at %s\n",
            s->bin_seconds, s->est_peak, eat);
    if (s->timed < s->invocations) {
        fmt_count(s->invocations - s->timed, n, sizeof(n));
        fprintf(f, "  (%s invocations without a timestamp are left out)\n", n);
    }
    fprintf(f, "  %-24s %12s %10s %6s %8s\n", "MINUTE", "INVOCATIONS", "AVG MS", "PEAK", "MEAN");
    for (size_t k = 0; k < s->nminutes; k++) {
        const struct pt_logs_minute *m = &s->minutes[k];
        char t[40], ms[24];
        pt_logs_format_time(m->start, t, sizeof(t));
        fmt_count(m->invocations, n, sizeof(n));
        fmt_ms(m->avg_duration_ms, ms, sizeof(ms));
        fprintf(f, "  %-24s %12s %10s %6u %8.1f%s\n", t, n, ms, m->peak, m->mean,
                k + 1 == s->nminutes ? "  <- peak" : "");
    }
    (void)r;
}

void pt_logs_write_table(const struct pt_logs_result *r, FILE *f)
{
    char a[32], b[32], c[32];
    const struct pt_logs_scope *all = &r->all;
    fmt_count(r->lines, a, sizeof(a));
    fmt_count(all->invocations, b, sizeof(b));
    fmt_count(r->unparsed, c, sizeof(c));
    fprintf(f, "%zu input%s, %s lines (%.1f MB), %s invocations, %s unparsed lines\n",
            r->nsources, r->nsources == 1 ? "" : "s", a, r->bytes / 1e6, b, c);
    if (all->duplicates) {
        fmt_count(all->duplicates, a, sizeof(a));
        fprintf(f, "%s duplicate REPORT%s dropped (the same log event read twice: overlapping "
                   "exports, a file and its copy)\n",
                a, all->duplicates == 1 ? "" : "s");
    }
    fputc('\n', f);

    fprintf(f, "%-28s %12s %9s %9s %9s %9s %6s %8s %7s\n", "FUNCTION", "INVOCATIONS", "P50 MS",
            "P99 MS", "MAX MS", "PEAK", "COLD", "COLD %", "ERRORS");
    for (size_t i = 0; i <= r->nfunctions; i++) {
        const struct pt_logs_scope *s = i < r->nfunctions ? &r->functions[i] : all;
        if (i == r->nfunctions && r->nfunctions == 1)
            break;
        char p50[24], p99[24], mx[24], pk[16];
        fmt_count(s->invocations, a, sizeof(a));
        fmt_ms(s->have_durations ? s->p50 : NAN, p50, sizeof(p50));
        fmt_ms(s->have_durations ? s->p99 : NAN, p99, sizeof(p99));
        fmt_ms(s->have_durations ? s->dmax : NAN, mx, sizeof(mx));
        if (s->have_concurrency)
            snprintf(pk, sizeof(pk), "%u", s->peak);
        else
            snprintf(pk, sizeof(pk), "-");
        fprintf(f, "%-28.28s %12s %9s %9s %9s %9s %6llu %7.2f%% %7llu\n",
                i < r->nfunctions ? s->name : "(all)", a, p50, p99, mx, pk,
                (unsigned long long)s->cold,
                s->invocations ? 100.0 * (double)s->cold / (double)s->invocations : 0.0,
                (unsigned long long)(s->timeouts + s->errors));
    }

    fprintf(f, "\nConcurrency, all functions (account quota %ld)\n", r->opt.quota);
    write_concurrency(all, r, f);
    if (r->nfunctions > 1 || r->opt.reserved >= 0) {
        for (size_t i = 0; i < r->nfunctions; i++) {
            fprintf(f, "\nConcurrency, %s\n", r->functions[i].name);
            write_concurrency(&r->functions[i], r, f);
        }
    }

    fprintf(f, "\nCold starts: Init Duration, ms\n");
    fprintf(f, "%-28s %7s %8s %7s %9s %9s %9s %9s %10s\n", "FUNCTION", "MEMORY", "COLD", "RATE",
            "MEAN", "MEDIAN", "MAX", "MIN", "VARIANCE");
    for (size_t i = 0; i < r->nfunctions; i++) {
        const struct pt_logs_scope *s = &r->functions[i];
        for (size_t k = 0; k <= s->ncold_by_mem; k++) {
            const struct pt_logs_stats *st = k < s->ncold_by_mem ? &s->cold_by_mem[k].init
                                                                 : &s->init;
            uint64_t inv = k < s->ncold_by_mem ? s->cold_by_mem[k].invocations : s->invocations;
            char mem[16], mean[24], med[24], mx[24], mn[24], var[24];
            if (k == s->ncold_by_mem && s->ncold_by_mem == 1)
                break;
            if (k < s->ncold_by_mem)
                snprintf(mem, sizeof(mem), "%u", s->cold_by_mem[k].memory_mb);
            else
                snprintf(mem, sizeof(mem), "all");
            fmt_ms(st->mean, mean, sizeof(mean));
            fmt_ms(st->median, med, sizeof(med));
            fmt_ms(st->max, mx, sizeof(mx));
            fmt_ms(st->min, mn, sizeof(mn));
            fmt_ms(st->variance, var, sizeof(var));
            fprintf(f, "%-28.28s %7s %8zu %6.2f%% %9s %9s %9s %9s %10s\n", s->name, mem, st->n,
                    inv ? 100.0 * (double)st->n / (double)inv : 0.0, mean, med, mx, mn, var);
        }
        if (s->ncold_by_mem == 0)
            fprintf(f, "%-28.28s %7s %8d\n", s->name, "-", 0);
        if (s->init_failures)
            fprintf(f, "%-28.28s   %llu failed INIT (INIT_REPORT with a Status)\n", s->name,
                    (unsigned long long)s->init_failures);
        if (s->restore.n) {
            char mean[24], mx[24];
            fmt_ms(s->restore.mean, mean, sizeof(mean));
            fmt_ms(s->restore.max, mx, sizeof(mx));
            fprintf(f, "%-28.28s   %zu SnapStart restores (%.2f%%): Restore Duration mean %s ms, "
                       "max %s ms\n",
                    s->name, s->restore.n,
                    s->invocations ? 100.0 * (double)s->restore.n / (double)s->invocations : 0.0,
                    mean, mx);
        }
    }

    fprintf(f, "\nMemory: Max Memory Used against Memory Size\n");
    fprintf(f, "%-28s %7s %12s %9s %9s %5s  %s\n", "FUNCTION", "MEMORY", "INVOCATIONS",
            "MAX USED", "MEAN USED", "OOM", "RECOMMENDATION");
    for (size_t i = 0; i < r->nfunctions; i++) {
        const struct pt_logs_scope *s = &r->functions[i];
        for (size_t k = 0; k < s->nmem; k++) {
            const struct pt_logs_mem *m = &s->mem[k];
            char mem[16], rec[160] = "";
            if (m->memory_mb)
                snprintf(mem, sizeof(mem), "%u", m->memory_mb);
            else
                snprintf(mem, sizeof(mem), "?");
            fmt_count(m->invocations, a, sizeof(a));
            if (s->have_recommendation && m->memory_mb == s->rec_current_mb)
                snprintf(rec, sizeof(rec), "%s to %u MB: %+.2f%% compute cost ($%+.6f)",
                         s->rec_action, s->rec_mb, s->rec_cost_change_pct,
                         s->rec_cost_change_usd);
            /* No Max Memory Used in any REPORT (the JSON format's may lack it): unknown, as
             * the JSON's null says, not 0 MB. */
            char used_max[16] = "-", used_mean[24] = "-";
            if (m->used_reports) {
                snprintf(used_max, sizeof(used_max), "%u", m->used_max_mb);
                snprintf(used_mean, sizeof(used_mean), "%.1f",
                         (double)m->used_sum_mb / (double)m->used_reports);
            }
            fprintf(f, "%-28.28s %7s %12s %9s %9s %5llu  %s\n", s->name, mem, a, used_max,
                    used_mean, (unsigned long long)m->out_of_memory, rec);
        }
    }
    fprintf(f, "  (recommendations keep 20%% over the highest Max Memory Used and assume unchanged\n"
               "   durations; CPU scales with memory, so confirm with powertune tune)\n");

    fprintf(f, "\nCost: %s %s, $%.10g per GB-s, $%.2f per 1M requests (first tier, no free "
               "tier)\n",
            r->opt.region, r->opt.architecture, r->price_gb_s, r->price_requests);
    fprintf(f, "%-28s %14s %12s %12s %12s\n", "FUNCTION", "GB-SECONDS", "COMPUTE $",
            "REQUESTS $", "TOTAL $");
    for (size_t i = 0; i <= r->nfunctions; i++) {
        const struct pt_logs_scope *s = i < r->nfunctions ? &r->functions[i] : all;
        if (i == r->nfunctions && r->nfunctions == 1)
            break;
        fprintf(f, "%-28.28s %14.3f %12.6f %12.6f %12.6f\n",
                i < r->nfunctions ? s->name : "(all)", s->gb_seconds, s->compute_usd,
                s->request_usd, s->compute_usd + s->request_usd);
    }
}
