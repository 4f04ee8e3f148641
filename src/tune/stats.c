/*
 * stats.c - per-power statistics: the reference's trimmed means (power-tuning.md 3.3) and
 * ours (percentiles, spread, memory, CPU, cold starts, errors).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "tune/tune.h"

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return a < b ? -1 : a > b;
}

double pt_tune_trimmed_mean(double *values, size_t n, double d)
{
    if (n == 0)
        return 0;
    /* parseInt(n * d, 10): truncation of a positive double, i.e. floor. (parseInt of the
     * exponent form "1e-7" would give 1; d is clamped to [0, 0.4] and n >= 1, so n x d
     * below 1e-6 only happens for d < 1e-6, where we keep floor = 0.) */
    size_t k = (size_t)floor((double)n * d);
    if (2 * k >= n) /* impossible with d <= 0.4; guards a bad caller */
        k = (n - 1) / 2;
    size_t m = n - 2 * k;
    qsort(values, n, sizeof(*values), cmp_double);
    double sum = 0; /* reduce((a, b) => a + b, 0): left to right from 0 */
    for (size_t i = k; i < k + m; i++)
        sum += values[i];
    return sum / (double)m;
}

double pt_tune_percentile(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    if (n == 1)
        return sorted[0];
    double rank = p / 100.0 * (double)(n - 1);
    if (rank <= 0)
        return sorted[0];
    if (rank >= (double)(n - 1))
        return sorted[n - 1];
    size_t lo = (size_t)floor(rank);
    double frac = rank - (double)lo;
    return sorted[lo] + (sorted[lo + 1] - sorted[lo]) * frac;
}

/* Mean and sample variance (n - 1) with Welford's update: stable for large n. */
static void mean_variance(const double *v, size_t n, double *mean, double *var)
{
    double m = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        double delta = v[i] - m;
        m += delta / (double)(i + 1);
        s += delta * (v[i] - m);
    }
    *mean = n ? m : 0;
    *var = n > 1 ? s / (double)(n - 1) : 0;
}

void pt_tune_init_stats_compute(double *values, size_t n, struct pt_tune_init_stats *st)
{
    memset(st, 0, sizeof(*st));
    st->count = n;
    if (n == 0)
        return;
    qsort(values, n, sizeof(*values), cmp_double);
    mean_variance(values, n, &st->mean, &st->variance);
    st->median = pt_tune_percentile(values, n, 50);
    st->min = values[0];
    st->max = values[n - 1];
}

bool pt_tune_sample_throttled(const struct pt_tune_sample *s)
{
    return strcmp(s->error, PT_TUNE_THROTTLED_ERROR) == 0 && s->billed_ms == 0 &&
           s->duration_ms == 0;
}

bool pt_tune_sample_not_sent(const struct pt_tune_sample *s)
{
    return pt_tune_sample_throttled(s) ||
           (strcmp(s->error, PT_TUNE_VERSION_FAILED_ERROR) == 0 && s->billed_ms == 0 &&
            s->duration_ms == 0);
}

bool pt_tune_sample_counted(const struct pt_tune_sample *s,
                            const char (*allowed)[PT_TUNE_ERROR_TYPE_MAX], size_t n_allowed)
{
    if (!s->error[0])
        return true;
    if (pt_tune_sample_not_sent(s))
        return false;
    for (size_t i = 0; i < n_allowed; i++)
        if (strcmp(s->error, allowed[i]) == 0)
            return true;
    return false;
}

void pt_tune_stats_free(struct pt_tune_power_stats *st)
{
    if (!st)
        return;
    free(st->errors);
    st->errors = NULL;
    st->n_errors = 0;
}

static int count_error(struct pt_tune_power_stats *st, const char *type, bool allowed,
                       struct pt_error *err)
{
    for (size_t i = 0; i < st->n_errors; i++)
        if (strcmp(st->errors[i].type, type) == 0) {
            st->errors[i].count++;
            return 0;
        }
    struct pt_tune_error_count *e = realloc(st->errors, (st->n_errors + 1) * sizeof(*e));
    if (!e)
        return pt_error_set(err, PT_ENOMEM, "out of memory counting errors");
    st->errors = e;
    memset(&e[st->n_errors], 0, sizeof(*e));
    pt_strlcpy(e[st->n_errors].type, type, sizeof(e[st->n_errors].type));
    e[st->n_errors].count = 1;
    e[st->n_errors].allowed = allowed;
    st->n_errors++;
    return 0;
}

/* "3 of 10 invocations failed with errors not in allowedExceptions: Sandbox.Timedout x2,
 * Runtime.OutOfMemory x1" */
static void failure_reason(struct pt_tune_power_stats *st)
{
    char *r = st->excluded_reason;
    size_t size = sizeof(st->excluded_reason);
    /* allowedExceptions may list TooManyRequestsException (the function's own): requests
     * given up throttled still fail, and the message must not say their type is not listed. */
    int n = snprintf(r, size, "%zu of %zu invocations failed with errors not in "
                     "allowedExceptions%s:", st->failed, st->invocations,
                     st->throttled ? " or throttled to the end (never run)" : "");
    bool first = true;
    for (size_t i = 0; i < st->n_errors && n > 0 && (size_t)n < size; i++) {
        if (st->errors[i].allowed &&
            !(st->throttled && strcmp(st->errors[i].type, PT_TUNE_THROTTLED_ERROR) == 0))
            continue;
        n += snprintf(r + n, size - (size_t)n, "%s %s x%zu", first ? "" : ",", st->errors[i].type,
                      st->errors[i].count);
        first = false;
    }
}

int pt_tune_stats_compute(int power, const struct pt_tune_sample *samples, size_t n,
                          double discard_top_bottom,
                          const char (*allowed)[PT_TUNE_ERROR_TYPE_MAX], size_t n_allowed,
                          struct pt_tune_power_stats *out, struct pt_error *err)
{
    memset(out, 0, sizeof(*out));
    out->power = power;
    int rc = 0;
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += samples[i].power == power;

    /* One allocation for the four series (duration, billed, init, cpu). */
    double *buf = calloc(total ? 4 * total : 1, sizeof(double));
    if (!buf)
        return pt_error_set(err, PT_ENOMEM, "out of memory for %zu samples", total);
    double *dur = buf, *billed = buf + total, *init = buf + 2 * total, *cpu = buf + 3 * total;
    size_t n_init = 0;
    double cpu_max = 0;

    for (size_t i = 0; i < n; i++) {
        const struct pt_tune_sample *s = &samples[i];
        if (s->power != power)
            continue;
        out->invocations++;
        bool counted = pt_tune_sample_counted(s, allowed, n_allowed);
        if (s->error[0]) {
            if ((rc = count_error(out, s->error, counted, err)) < 0)
                goto out;
            if (!counted)
                out->failed++;
            if (pt_tune_sample_throttled(s))
                out->throttled++;
        }
        if (s->cold_start)
            out->cold_starts++;
        if (s->init_ms >= 0)
            init[n_init++] = s->init_ms;
        if (s->max_memory_used_mb > out->max_memory_used_mb)
            out->max_memory_used_mb = s->max_memory_used_mb;
        if (!counted)
            continue;
        /* duration_i = Duration + Init Duration ("performance", since 4.3.5); billed_i =
         * Billed Duration ("cost", since 4.3.1). */
        dur[out->counted] = s->duration_ms + (s->init_ms >= 0 ? s->init_ms : 0);
        billed[out->counted] = s->billed_ms;
        cpu[out->counted] = s->cpu_time_ms;
        if (s->cpu_time_ms > cpu_max)
            cpu_max = s->cpu_time_ms;
        out->counted++;
    }

    size_t c = out->counted;
    double cpu_var = 0;
    mean_variance(cpu, c, &out->cpu_mean_ms, &cpu_var);
    out->cpu_max_ms = cpu_max;
    pt_tune_init_stats_compute(init, n_init, &out->init);

    /* Both series are sorted and trimmed independently, as the reference does. */
    out->average_duration = pt_tune_trimmed_mean(dur, c, discard_top_bottom);
    out->average_billed = pt_tune_trimmed_mean(billed, c, discard_top_bottom);
    if (c > 0) { /* dur is sorted now */
        double var = 0;
        mean_variance(dur, c, &out->duration.mean, &var);
        out->duration.stddev = sqrt(var);
        out->duration.min = dur[0];
        out->duration.max = dur[c - 1];
        out->duration.p50 = pt_tune_percentile(dur, c, 50);
        out->duration.p90 = pt_tune_percentile(dur, c, 90);
        out->duration.p99 = pt_tune_percentile(dur, c, 99);
    }

    if (out->failed > 0) {
        out->excluded = true;
        failure_reason(out);
    } else if (out->invocations == 0) {
        out->excluded = true;
        snprintf(out->excluded_reason, sizeof(out->excluded_reason), "no invocation recorded");
    } else if (!(out->average_duration != 0)) {
        /* The Analyzer's filter(stat => stat.averageDuration): 0 (or NaN) drops the value. */
        out->excluded = true;
        snprintf(out->excluded_reason, sizeof(out->excluded_reason),
                 "average duration is 0 ms (the reference tool drops such values too)");
    }
out:
    free(buf);
    if (rc < 0)
        pt_tune_stats_free(out);
    return rc;
}
