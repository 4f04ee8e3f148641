/*
 * html.c - `--report FILE.html`: one self-contained page (inline CSS and SVG, no scripts, no
 * network) with concurrency over time against the quota, the duration histogram and cold starts
 * over time. Series are reduced to at most PT_LOGS_SVG_POINTS points by taking each group's
 * maximum, so a peak is never averaged away however long the log.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "logs/logs_internal.h"

#define PT_LOGS_SVG_POINTS 1200
#define W 960.0
#define H 260.0
#define ML 60.0 /* left margin (y labels) */
#define MB 30.0 /* bottom margin (x labels) */
#define MT 24.0 /* top margin (the y axis title) */

static const char *const pt_logs_colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                             "#9467bd", "#8c564b", "#e377c2", "#17becf"};

static void esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static double nice_max(double v)
{
    if (!(v > 0))
        return 1;
    double p = pow(10, floor(log10(v)));
    for (int m = 1; m <= 10; m++)
        if (m * p >= v)
            return m * p;
    return 10 * p;
}

static void axes(FILE *f, double ymax, const char *ylabel, const char *xl, const char *xr)
{
    fprintf(f, "<line x1='%.0f' y1='%.0f' x2='%.0f' y2='%.0f' stroke='#444'/>", ML, H - MB, W,
            H - MB);
    fprintf(f, "<line x1='%.0f' y1='%.0f' x2='%.0f' y2='%.0f' stroke='#444'/>", ML, MT, ML,
            H - MB);
    for (int k = 0; k <= 4; k++) {
        double y = H - MB - (H - MB - MT) * k / 4.0;
        fprintf(f, "<line x1='%.0f' y1='%.1f' x2='%.0f' y2='%.1f' stroke='#eee'/>", ML + 1, y, W,
                y);
        fprintf(f, "<text x='%.0f' y='%.1f' text-anchor='end' class='t'>%g</text>", ML - 4,
                y + 4, ymax * k / 4.0);
    }
    fprintf(f, "<text x='4' y='%.0f' class='t'>", MT - 12);
    esc(f, ylabel);
    fprintf(f, "</text><text x='%.0f' y='%.0f' class='t'>", ML, H - 8);
    esc(f, xl);
    fprintf(f, "</text><text x='%.0f' y='%.0f' text-anchor='end' class='t'>", W, H - 8);
    esc(f, xr);
    fputs("</text>", f);
}

/* A polyline of one scope's per-bin maxima (or estimates) over [t0, t1]. */
static void series(FILE *f, const struct pt_logs_scope *s, bool estimate, int64_t t0, int64_t t1,
                   double ymax, const char *color, const char *dash)
{
    if (!s->bins || s->nbins == 0)
        return;
    size_t group = (s->nbins + PT_LOGS_SVG_POINTS - 1) / PT_LOGS_SVG_POINTS;
    const int64_t wt = (int64_t)s->bin_seconds * PT_LOGS_TICKS_PER_S;
    double span = (double)(t1 > t0 ? t1 - t0 : 1);
    fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='1.2' %s points='", color, dash);
    for (size_t b = 0; b < s->nbins; b += group) {
        double v = 0;
        for (size_t k = b; k < b + group && k < s->nbins; k++) {
            double x = estimate ? s->bins[k].estimate : (double)s->bins[k].max;
            if (x > v)
                v = x;
        }
        int64_t t = s->bin_base + (int64_t)b * wt;
        double x = ML + (W - ML) * (double)(t - t0) / span;
        double y = H - MB - (H - MB - MT) * (v > ymax ? 1 : v / ymax);
        fprintf(f, "%.1f,%.1f ", x, y);
    }
    fputs("'/>", f);
}

static void concurrency_chart(FILE *f, const struct pt_logs_result *r)
{
    const struct pt_logs_scope *a = &r->all;
    if (!a->have_concurrency || !a->bins) {
        fputs("<p>No timestamps in the input: concurrency unknown.</p>", f);
        return;
    }
    double top = a->peak > a->est_peak ? a->peak : a->est_peak;
    if ((double)r->opt.quota < top * 3)
        top = top > r->opt.quota ? top : (double)r->opt.quota; /* show the quota when close */
    double ymax = nice_max(top * 1.05);
    int64_t t0 = a->bin_base, t1 = a->last;
    char l[40], rr[40];
    pt_logs_format_time(t0, l, sizeof(l));
    pt_logs_format_time(t1, rr, sizeof(rr));
    fprintf(f, "<svg viewBox='0 0 %.0f %.0f' width='%.0f' height='%.0f'>", W, H, W, H);
    axes(f, ymax, "concurrency", l, rr);
    series(f, a, false, t0, t1, ymax, "#1f77b4", "");
    series(f, a, true, t0, t1, ymax, "#999", "stroke-dasharray='4 3'");
    if (r->nfunctions > 1)
        for (size_t i = 0; i < r->nfunctions && i < 8; i++)
            series(f, &r->functions[i], false, t0, t1, ymax, pt_logs_colors[(i + 1) % 8],
                   "stroke-opacity='0.7'");
    long lines[2] = {r->opt.quota, r->opt.reserved};
    for (int k = 0; k < 2; k++) {
        if (lines[k] < 0 || lines[k] > ymax)
            continue;
        double y = H - MB - (H - MB - MT) * (double)lines[k] / ymax;
        fprintf(f, "<line x1='%.0f' y1='%.1f' x2='%.0f' y2='%.1f' stroke='#d62728' "
                   "stroke-dasharray='6 3'/><text x='%.0f' y='%.1f' text-anchor='end' class='t' "
                   "fill='#d62728'>%s %ld</text>",
                ML, y, W, y, W - 4, y - 4, k == 0 ? "quota" : "reserved", lines[k]);
    }
    fputs("</svg>", f);
    fprintf(f, "<p class='legend'><span style='color:#1f77b4'>&#9632;</span> highest concurrency "
               "per %d s from each invocation's interval (peak %u) &nbsp; "
               "<span style='color:#999'>&#9632;</span> estimate count &times; p99.5 / 1000 "
               "(peak %.1f)",
            a->bin_seconds, a->peak, a->est_peak);
    if (r->nfunctions > 1)
        for (size_t i = 0; i < r->nfunctions && i < 8; i++) {
            fprintf(f, " &nbsp; <span style='color:%s'>&#9632;</span> ",
                    pt_logs_colors[(i + 1) % 8]);
            esc(f, r->functions[i].name);
        }
    fputs("</p>", f);
}

static void histogram_chart(FILE *f, const struct pt_logs_scope *a)
{
    enum { NB = 40 };
    if (!a->durations || a->ndurations == 0) {
        fputs("<p>No invocations.</p>", f);
        return;
    }
    /* Linear bins up to p99.5; the tail beyond gets one bar of its own. */
    double hi = a->p995 > 0 ? a->p995 : a->dmax;
    if (!(hi > 0))
        hi = 1;
    uint64_t counts[NB + 1] = {0};
    for (size_t i = 0; i < a->ndurations; i++) {
        double ms = a->durations[i] / (double)PT_LOGS_TICKS_PER_MS;
        int b = ms > hi ? NB : (int)(ms / hi * NB);
        if (b >= NB && ms <= hi)
            b = NB - 1;
        counts[b]++;
    }
    uint64_t cmax = 1;
    for (int b = 0; b <= NB; b++)
        if (counts[b] > cmax)
            cmax = counts[b];
    double ymax = nice_max((double)cmax);
    char xr[64];
    snprintf(xr, sizeof(xr), "%.1f ms (p99.5) | over", hi);
    fprintf(f, "<svg viewBox='0 0 %.0f %.0f' width='%.0f' height='%.0f'>", W, H, W, H);
    axes(f, ymax, "invocations", "0 ms", xr);
    double bw = (W - ML) / (NB + 1);
    for (int b = 0; b <= NB; b++) {
        double h = (H - MB - MT) * (double)counts[b] / ymax;
        fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='%s'><title>%.1f-%s "
                   "ms: %llu</title></rect>",
                ML + b * bw + 1, H - MB - h, bw - 2, h, b == NB ? "#d62728" : "#1f77b4",
                b == NB ? hi : hi * b / NB, b == NB ? "max" : "", (unsigned long long)counts[b]);
    }
    fputs("</svg>", f);
}

static void cold_chart(FILE *f, const struct pt_logs_scope *a)
{
    enum { NB = 120 };
    if (a->ncold_times == 0 || a->first == PT_LOGS_NO_TIME) {
        fputs("<p>No timed cold starts.</p>", f);
        return;
    }
    int64_t t0 = a->first, t1 = a->last > t0 ? a->last : t0 + 1;
    uint64_t counts[NB] = {0};
    for (size_t i = 0; i < a->ncold_times; i++) {
        int64_t t = a->cold_times[i];
        int b = t <= t0 ? 0 : (int)((double)(t - t0) / (double)(t1 - t0) * NB);
        counts[b >= NB ? NB - 1 : b]++;
    }
    uint64_t cmax = 1;
    for (int b = 0; b < NB; b++)
        if (counts[b] > cmax)
            cmax = counts[b];
    double ymax = nice_max((double)cmax);
    char l[40], rr[40];
    pt_logs_format_time(t0, l, sizeof(l));
    pt_logs_format_time(t1, rr, sizeof(rr));
    fprintf(f, "<svg viewBox='0 0 %.0f %.0f' width='%.0f' height='%.0f'>", W, H, W, H);
    axes(f, ymax, "cold starts", l, rr);
    double bw = (W - ML) / NB;
    for (int b = 0; b < NB; b++) {
        double h = (H - MB - MT) * (double)counts[b] / ymax;
        fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='#ff7f0e'><title>%llu"
                   "</title></rect>",
                ML + b * bw, H - MB - h, bw > 1.5 ? bw - 1 : bw, h, (unsigned long long)counts[b]);
    }
    fputs("</svg>", f);
}

int pt_logs_write_html(const struct pt_logs_result *r, const char *path, struct pt_error *err)
{
    /* Built in memory, then replaced atomically: a failed write (a full disk) keeps the
     * previous report whole instead of leaving a truncated page. */
    char *page = NULL;
    size_t page_len = 0;
    FILE *f = open_memstream(&page, &page_len);
    if (!f)
        return pt_error_set(err, PT_ENOMEM, "out of memory for the report");
    const struct pt_logs_scope *a = &r->all;
    fputs("<!DOCTYPE html><html><head><meta charset='utf-8'><title>powertune logs</title>"
          "<style>body{font:14px sans-serif;margin:20px;color:#222}h2{margin-top:28px}"
          "table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #ddd;"
          "text-align:right}th:first-child,td:first-child{text-align:left}"
          ".t{font:11px sans-serif;fill:#444}.legend{font-size:12px;color:#444}</style></head>"
          "<body><h1>powertune logs</h1>",
          f);
    fprintf(f, "<p>%zu input%s, %llu lines, %llu invocations, %llu unparsed lines.</p>",
            r->nsources, r->nsources == 1 ? "" : "s", (unsigned long long)r->lines,
            (unsigned long long)a->invocations, (unsigned long long)r->unparsed);
    fputs("<table><tr><th>function</th><th>invocations</th><th>p50 ms</th><th>p99 ms</th>"
          "<th>peak concurrency</th><th>cold starts</th><th>init mean ms</th><th>cost USD</th>"
          "</tr>",
          f);
    for (size_t i = 0; i < r->nfunctions; i++) {
        const struct pt_logs_scope *s = &r->functions[i];
        fputs("<tr><td>", f);
        esc(f, s->name);
        fprintf(f, "</td><td>%llu</td><td>%.2f</td><td>%.2f</td><td>%u</td><td>%llu</td>"
                   "<td>%.2f</td><td>%.6f</td></tr>",
                (unsigned long long)s->invocations, s->have_durations ? s->p50 : 0,
                s->have_durations ? s->p99 : 0, s->peak, (unsigned long long)s->cold,
                s->init.n ? s->init.mean : 0, s->compute_usd + s->request_usd);
    }
    fputs("</table><h2>Concurrency over time</h2>", f);
    concurrency_chart(f, r);
    fputs("<h2>Duration histogram</h2>", f);
    histogram_chart(f, a);
    fputs("<h2>Cold starts over time</h2>", f);
    cold_chart(f, a);
    fputs("</body></html>\n", f);
    bool bad = ferror(f) != 0;
    int rc = 0;
    if (fclose(f) != 0 || bad)
        rc = pt_error_set(err, PT_ENOMEM, "out of memory for the report");
    else
        rc = pt_file_write_atomic(path, page, page_len, err);
    free(page);
    return rc;
}
