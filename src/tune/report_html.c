/*
 * report_html.c - the self-contained HTML report of a tuning, and the previous run that
 * --compare draws beside it (contract in report_html.h).
 *
 * The page is built in one pt_buf by a writer that remembers its first failure, so the
 * drawing code reads as a sequence of writes and the error is checked once at the end.
 * Charts are plain SVG computed here (linear axes with 1-2-5 ticks; memory on a log2
 * axis, where doubling the memory is one step as Lambda's CPU share doubles with it);
 * hover titles replace a script.
 */
#include "tune/report_html.h"

#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "base/str.h"

/* Chart geometry in SVG user units; CSS scales each SVG to its grid column. */
#define CH_W 560.0
#define CH_H 340.0
#define CH_L 72.0 /* room for the y tick labels and the y axis title */
#define CH_R 20.0
#define CH_T 16.0 /* room for the top tick label */
#define CH_B 50.0 /* room for the x tick labels and the x axis title */

/* Longest legend drawn inside a chart (bytes); the full text is in its hover title. */
#define LEGEND_SHOWN_MAX 40

/* Colours, also used in the CSS legend of the table. */
#define C_THIS "#2563eb"
#define C_OTHER "#ea580c"
#define C_EXCLUDED "#6b7280"
#define C_WINNER "#16a34a"

/* ------------------------------------------------------------ the writer -- */

struct html {
    struct pt_buf *b;
    struct pt_error *err;
    int rc; /* first failure; every later write is skipped */
};

static void h_raw(struct html *h, const char *s, size_t n)
{
    if (h->rc == 0 && n)
        h->rc = pt_buf_append(h->b, s, n, h->err);
}

static void h_str(struct html *h, const char *s)
{
    h_raw(h, s, strlen(s));
}

static void h_printf(struct html *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void h_printf(struct html *h, const char *fmt, ...)
{
    if (h->rc)
        return;
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        h->rc = pt_error_set(h->err, PT_EIO, "report: cannot format text");
        return;
    }
    if ((size_t)n < sizeof(small)) {
        h_raw(h, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        h->rc = pt_error_set(h->err, PT_ENOMEM, "out of memory writing the report");
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    h_raw(h, big, (size_t)n);
    free(big);
}

/* Text from the input, escaped for both element content and quoted attributes. Control
 * characters become U+FFFD: they have no business in a name and some are invalid HTML. */
static void h_esc_n(struct html *h, const char *s, size_t len)
{
    const char *run = s;
    for (size_t i = 0; i < len && h->rc == 0; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *rep = NULL;
        switch (c) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default:
            if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
                rep = "&#xFFFD;";
        }
        if (!rep)
            continue;
        h_raw(h, run, (size_t)(s + i - run));
        h_str(h, rep);
        run = s + i + 1;
    }
    h_raw(h, run, (size_t)(s + len - run));
}

static void h_esc(struct html *h, const char *s)
{
    if (s)
        h_esc_n(h, s, strlen(s));
}

/* At most max bytes of s, cut at a UTF-8 character boundary, with an ellipsis if cut. */
static void h_esc_short(struct html *h, const char *s, size_t max)
{
    size_t len = strlen(s);
    if (len <= max) {
        h_esc_n(h, s, len);
        return;
    }
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;
    h_esc_n(h, s, max);
    h_str(h, "\xe2\x80\xa6"); /* U+2026 */
}

/* ----------------------------------------------------- figures per power -- */

struct pw {
    int power;
    size_t idx;    /* into a->powers */
    bool kept;     /* a candidate for the recommendation */
    bool has_avg;  /* counted samples and finite averages */
    double dur;    /* trimmed mean, ms */
    double cost;   /* trimmed mean price, per 1M invocations */
    bool has_band; /* p10-p90 from the samples */
    double d10, d90, c10, c90;
};

/* Charts show the price per 1M invocations: per-invocation prices are ~1e-6 and their
 * tick labels would be unreadable exponents. The table keeps the per-invocation figure. */
#define PER_MILLION 1e6

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return a < b ? -1 : a > b;
}

static int cmp_pw(const void *pa, const void *pb)
{
    const struct pw *a = pa, *b = pb;
    return a->power < b->power ? -1 : a->power > b->power;
}

static bool sample_counted(const struct pt_tune_input *in, const struct pt_tune_sample *s)
{
    return pt_tune_sample_counted(
        s, (const char(*)[PT_TUNE_ERROR_TYPE_MAX])in->allowed_exceptions, in->n_allowed);
}

/* One entry per power of the analysis, ascending by power. The p10/p90 are over the same
 * samples as the table's p50/p90/p99: the counted ones, Duration + Init, untrimmed. */
static int collect(const struct pt_report_html *r, struct pw **out, struct pt_error *err)
{
    const struct pt_tune_analysis *a = r->a;
    size_t n = a->n_powers;
    struct pw *pw = calloc(n ? n : 1, sizeof(*pw));
    double *dur = calloc(r->n_samples ? 2 * r->n_samples : 1, sizeof(double));
    int rc = 0;
    if (!pw || !dur) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory for the report");
        goto out;
    }
    double *cost = dur + r->n_samples;
    for (size_t i = 0; i < n; i++) {
        const struct pt_tune_power_stats *st = &a->powers[i];
        struct pw *p = &pw[i];
        p->power = st->power;
        p->idx = i;
        p->kept = !st->excluded;
        p->dur = st->average_duration;
        p->cost = st->average_price * PER_MILLION;
        p->has_avg = st->counted > 0 && isfinite(p->dur) && isfinite(p->cost);
        size_t k = 0;
        for (size_t j = 0; r->samples && j < r->n_samples; j++) {
            const struct pt_tune_sample *s = &r->samples[j];
            if (s->power != st->power || !sample_counted(r->in, s))
                continue;
            dur[k] = s->duration_ms + (s->init_ms >= 0 ? s->init_ms : 0);
            cost[k] = pt_price_invocation(&a->price, st->power, s->billed_ms) * PER_MILLION;
            k++;
        }
        if (k == 0)
            continue;
        qsort(dur, k, sizeof(*dur), cmp_double);
        qsort(cost, k, sizeof(*cost), cmp_double);
        p->d10 = pt_tune_percentile(dur, k, 10);
        p->d90 = pt_tune_percentile(dur, k, 90);
        p->c10 = pt_tune_percentile(cost, k, 10);
        p->c90 = pt_tune_percentile(cost, k, 90);
        p->has_band = isfinite(p->d10) && isfinite(p->d90) && isfinite(p->c10) && isfinite(p->c90);
    }
    qsort(pw, n, sizeof(*pw), cmp_pw);
    *out = pw;
    pw = NULL;
out:
    free(pw);
    free(dur);
    return rc;
}

/* ------------------------------------------------------------------ axes -- */

struct axis {
    double d0, d1; /* domain; log2(MB) on a memory axis */
    double r0, r1; /* pixels */
    double step;   /* tick step of a linear axis */
    bool log2;
};

static double ax(const struct axis *a, double v)
{
    double x = a->log2 ? log2(v) : v;
    return a->r0 + (x - a->d0) / (a->d1 - a->d0) * (a->r1 - a->r0);
}

/* 1, 2 or 5 x 10^k: about `target` ticks over span. */
static double nice_step(double span, int target)
{
    double raw = span / target;
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

/* A linear axis over [lo, hi] widened to whole ticks; a single value gets a range around
 * it (one power, or equal figures), and values >= 0 never get a negative axis. */
static void axis_linear(struct axis *a, double lo, double hi, bool from_zero, double padding,
                        double r0, double r1)
{
    if (!isfinite(lo) || !isfinite(hi) || lo > hi) {
        lo = 0;
        hi = 1;
    }
    bool positive = lo >= 0;
    if (from_zero && positive)
        lo = 0;
    /* Values closer together than the ticks can tell apart (labels show at most 9
     * decimals, doubles about 16 digits) are drawn as one value: a finer step would not
     * advance the tick loops (v + step == v) or would underflow to 0. */
    double tiny = fmax(fmax(fabs(lo), fabs(hi)) * 1e-9, 1e-9);
    if (!(hi - lo >= tiny)) {
        double d = fabs(hi) * 0.1;
        if (!(d >= tiny))
            d = 1;
        lo -= d;
        hi += d;
    }
    double pad = (hi - lo) * padding;
    lo = (from_zero && positive) ? lo : lo - pad;
    hi += pad;
    if (positive && lo < 0)
        lo = 0;
    a->step = nice_step(hi - lo, 5);
    a->d0 = floor(lo / a->step) * a->step;
    a->d1 = ceil(hi / a->step) * a->step;
    if (!(a->d1 > a->d0))
        a->d1 = a->d0 + a->step;
    a->r0 = r0;
    a->r1 = r1;
    a->log2 = false;
}

static void axis_memory(struct axis *a, int lo, int hi, double r0, double r1)
{
    double l = log2(lo > 0 ? lo : 1), u = log2(hi > 0 ? hi : 1);
    double pad = u > l ? (u - l) * 0.07 : 0.5;
    a->d0 = l - pad;
    a->d1 = u + pad;
    a->r0 = r0;
    a->r1 = r1;
    a->step = 0;
    a->log2 = true;
}

/* Decimals that show the tick step exactly (1e-3 -> 3, 50 -> 0). */
static int step_decimals(double step)
{
    int d = (int)-floor(log10(step) + 1e-9);
    return d < 0 ? 0 : d > 9 ? 9 : d;
}

/* ---------------------------------------------------------------- charts -- */

/* A chart is a figure: caption, an HTML legend (it wraps, so long function names never
 * run into the plot), then the SVG. */
static void chart_open(struct html *h, const char *title)
{
    h_printf(h, "<figure class=\"chart\"><figcaption>%s</figcaption>\n<div class=\"legend\">",
             title);
}

static void chart_svg(struct html *h, const char *id, const char *title, const char *desc)
{
    h_printf(h,
             "</div>\n<svg id=\"%s\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"%s\">\n"
             "<desc>%s</desc>\n<defs><clipPath id=\"%s-clip\"><rect x=\"%.1f\" y=\"%.1f\" "
             "width=\"%.1f\" height=\"%.1f\"/></clipPath></defs>\n",
             id, CH_W, CH_H, title, desc, id, CH_L, CH_T, CH_W - CH_L - CH_R, CH_H - CH_T - CH_B);
}

static void chart_close(struct html *h)
{
    h_str(h, "</svg></figure>\n");
}

static void y_axis(struct html *h, const struct axis *y, const char *label)
{
    int dec = step_decimals(y->step);
    h_str(h, "<g class=\"axis y\">");
    for (double v = y->d0; v <= y->d1 + y->step * 1e-6; v += y->step) {
        double py = ax(y, v);
        h_printf(h,
                 "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>"
                 "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.*f</text>",
                 CH_L, CH_W - CH_R, py, py, CH_L - 6, py + 4, dec,
                 fabs(v) < y->step * 1e-6 ? 0 : v);
    }
    h_printf(h,
             "<text class=\"title\" transform=\"translate(16 %.1f) rotate(-90)\" "
             "text-anchor=\"middle\">%s</text></g>\n",
             CH_T + (CH_H - CH_T - CH_B) / 2, label);
}

static void x_axis_linear(struct html *h, const struct axis *x, const char *label)
{
    int dec = step_decimals(x->step);
    h_str(h, "<g class=\"axis x\">");
    for (double v = x->d0; v <= x->d1 + x->step * 1e-6; v += x->step) {
        double px = ax(x, v);
        h_printf(h,
                 "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>"
                 "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.*f</text>",
                 px, px, CH_T, CH_H - CH_B, px, CH_H - CH_B + 16, dec,
                 fabs(v) < x->step * 1e-6 ? 0 : v);
    }
    h_printf(h,
             "<text class=\"title\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text></g>\n",
             CH_L + (CH_W - CH_L - CH_R) / 2, CH_H - 10, label);
}

/* Ticks at the tuned powers (sorted, unique), labels thinned so they never overlap. */
static void x_axis_memory(struct html *h, const struct axis *x, const int *powers, size_t n)
{
    h_str(h, "<g class=\"axis x\">");
    double last = -1e9;
    for (size_t i = 0; i < n; i++) {
        double px = ax(x, powers[i]);
        h_printf(h, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", px,
                 px, CH_T, CH_H - CH_B);
        if (px - last < 34)
            continue;
        last = px;
        h_printf(h, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%d</text>", px,
                 CH_H - CH_B + 16, powers[i]);
    }
    h_printf(h,
             "<text class=\"title\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">memory (MB, "
             "log scale)</text></g>\n",
             CH_L + (CH_W - CH_L - CH_R) / 2, CH_H - 10);
}

enum legend_kind {
    LEG_NONE,
    LEG_LINE,
    LEG_BAND,
    LEG_OTHER,
    LEG_EXCLUDED,
    LEG_WINNER,
    LEG_FRONTIER,
    LEG_ISO,
    LEG_BAR,
    LEG_WHISKER,
};

/* One legend entry: a CSS swatch and text from the input (escaped, shortened; the full
 * text in its title). */
static void legend_item(struct html *h, enum legend_kind k, const char *prefix, const char *text)
{
    static const char *const swatch[] = {
        [LEG_NONE] = "",
        [LEG_LINE] = "<i class=\"sw line\"></i>",
        [LEG_BAND] = "<i class=\"sw band\"></i>",
        [LEG_OTHER] = "<i class=\"sw other\"></i>",
        [LEG_EXCLUDED] = "<i class=\"sw excluded\">\xe2\x9c\x95</i>",
        [LEG_WINNER] = "<i class=\"sw winner\"></i>",
        [LEG_FRONTIER] = "<i class=\"sw frontier\"></i>",
        [LEG_ISO] = "<i class=\"sw iso\"></i>",
        [LEG_BAR] = "<i class=\"sw bar\"></i>",
        [LEG_WHISKER] = "<i class=\"sw whisker\"></i>",
    };
    h_printf(h, "<span class=\"key\" title=\"%s", prefix);
    h_esc(h, text);
    h_printf(h, "\">%s%s", swatch[k], prefix);
    h_esc_short(h, text, LEGEND_SHOWN_MAX);
    h_str(h, "</span>");
}

struct legends {
    const char *this_run, *other; /* other NULL: no comparison */
};

/* The tuned powers of both runs, sorted and unique (tick marks and the x domain). */
static int all_powers(const struct pw *pw, size_t n, const struct pt_report_html_run *other,
                      int **out, size_t *count, struct pt_error *err)
{
    size_t no = other ? other->n : 0;
    int *p = malloc((n + no ? n + no : 1) * sizeof(*p));
    if (!p)
        return pt_error_set(err, PT_ENOMEM, "out of memory for the report");
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        p[k++] = pw[i].power;
    for (size_t i = 0; i < no; i++)
        p[k++] = other->points[i].power;
    /* Insertion sort: a few hundred values at most. */
    for (size_t i = 1; i < k; i++)
        for (size_t j = i; j > 0 && p[j - 1] > p[j]; j--) {
            int t = p[j];
            p[j] = p[j - 1];
            p[j - 1] = t;
        }
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || p[u - 1] != p[i])
            p[u++] = p[i];
    *out = p;
    *count = u;
    return 0;
}

static void minmax(double v, double *lo, double *hi)
{
    if (!isfinite(v))
        return;
    if (v < *lo)
        *lo = v;
    if (v > *hi)
        *hi = v;
}

/* Duration (metric 0) or cost (metric 1) against memory: this run's line over the
 * recommendable powers with its p10-p90 band and whiskers, excluded powers as crosses,
 * the winner ringed, the compared run dashed. */
static void chart_memory(struct html *h, const struct pt_report_html *r, const struct pw *pw,
                         size_t n, const int *powers, size_t n_all, int metric,
                         const struct legends *lg)
{
    const struct pt_report_html_run *o = r->other;
    const char *id = metric ? "chart-cost" : "chart-duration";
    const char *unit = metric ? (r->a->price.cny ? "CNY" : "$") : "ms";
    int winner = r->a->winner >= 0 ? r->a->powers[r->a->winner].power : -1;
    const char *title = metric ? "Cost per invocation against memory" : "Duration against memory";
    char ylabel[64];
    if (metric)
        snprintf(ylabel, sizeof(ylabel), "cost per 1M invocations (%s)", unit);
    else
        snprintf(ylabel, sizeof(ylabel), "duration incl. Init (ms)");
    bool any_excluded = false;
    for (size_t i = 0; i < n; i++)
        any_excluded |= !pw[i].kept;
    chart_open(h, title);
    legend_item(h, LEG_LINE, "", lg->this_run);
    legend_item(h, LEG_BAND, "", "p10-p90");
    if (o)
        legend_item(h, LEG_OTHER, "", lg->other);
    if (winner >= 0)
        legend_item(h, LEG_WINNER, "winner: ", pt_tune_strategy_name(r->in->strategy));
    if (any_excluded)
        legend_item(h, LEG_EXCLUDED, "", "excluded");
    chart_svg(h, id, title,
              metric ? "Trimmed mean price per memory size, band from the 10th to the 90th "
                       "percentile of the invocations' prices."
                     : "Trimmed mean of Duration + Init Duration per memory size, band from "
                       "the 10th to the 90th percentile of the invocations.");

    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (!pw[i].has_avg)
            continue;
        minmax(metric ? pw[i].cost : pw[i].dur, &lo, &hi);
        if (pw[i].kept && pw[i].has_band) {
            minmax(metric ? pw[i].c10 : pw[i].d10, &lo, &hi);
            minmax(metric ? pw[i].c90 : pw[i].d90, &lo, &hi);
        }
    }
    for (size_t i = 0; o && i < o->n; i++)
        minmax(metric ? o->points[i].cost * PER_MILLION : o->points[i].duration, &lo, &hi);
    struct axis x, y;
    axis_memory(&x, n_all ? powers[0] : 128, n_all ? powers[n_all - 1] : 128, CH_L, CH_W - CH_R);
    axis_linear(&y, lo, hi, metric == 0, 0.05, CH_H - CH_B, CH_T);
    y_axis(h, &y, ylabel);
    x_axis_memory(h, &x, powers, n_all);

    h_printf(h, "<g clip-path=\"url(#%s-clip)\">\n", id);
    /* The band: p90 left to right, then p10 back, over the recommendable powers. */
    size_t n_band = 0;
    for (size_t i = 0; i < n; i++)
        n_band += pw[i].kept && pw[i].has_band;
    if (n_band >= 2) {
        h_str(h, "<path class=\"pt-band\" d=\"");
        bool first = true;
        for (size_t i = 0; i < n; i++) {
            if (!pw[i].kept || !pw[i].has_band)
                continue;
            h_printf(h, "%s%.1f %.1f", first ? "M" : "L", ax(&x, pw[i].power),
                     ax(&y, metric ? pw[i].c90 : pw[i].d90));
            first = false;
        }
        for (size_t i = n; i-- > 0;) {
            if (!pw[i].kept || !pw[i].has_band)
                continue;
            h_printf(h, "L%.1f %.1f", ax(&x, pw[i].power), ax(&y, metric ? pw[i].c10 : pw[i].d10));
        }
        h_str(h, "Z\"/>\n");
    }
    for (size_t i = 0; i < n; i++) {
        if (!pw[i].kept || !pw[i].has_band)
            continue;
        double px = ax(&x, pw[i].power);
        double y10 = ax(&y, metric ? pw[i].c10 : pw[i].d10);
        double y90 = ax(&y, metric ? pw[i].c90 : pw[i].d90);
        h_printf(
            h,
            "<path class=\"pt-whisker\" data-power=\"%d\" d=\"M%.1f %.1fV%.1fM%.1f %.1fh8M%.1f "
            "%.1fh8\"/>\n",
            pw[i].power, px, y10, y90, px - 4, y10, px - 4, y90);
    }
    /* The compared run, under this one. */
    if (o && o->n) {
        h_str(h, "<path class=\"pt-other-line\" d=\"");
        for (size_t i = 0; i < o->n; i++)
            h_printf(h, "%s%.1f %.1f", i ? "L" : "M", ax(&x, o->points[i].power),
                     ax(&y, metric ? o->points[i].cost * PER_MILLION : o->points[i].duration));
        h_str(h, "\"/>\n");
        for (size_t i = 0; i < o->n; i++) {
            double v = metric ? o->points[i].cost * PER_MILLION : o->points[i].duration;
            h_printf(h,
                     "<path class=\"pt-other-point\" data-power=\"%d\" d=\"M%.1f %.1fl5 8.5h-10z\">"
                     "<title>",
                     o->points[i].power, ax(&x, o->points[i].power), ax(&y, v) - 5.5);
            h_esc(h, lg->other);
            h_printf(h, ": %d MB, %.*f %s%s</title></path>\n", o->points[i].power, metric ? 4 : 2,
                     v, metric ? unit : "ms", metric ? " per 1M" : "");
        }
    }
    size_t n_line = 0;
    for (size_t i = 0; i < n; i++)
        n_line += pw[i].kept && pw[i].has_avg;
    if (n_line >= 2) {
        h_str(h, "<path class=\"pt-line\" d=\"");
        bool first = true;
        for (size_t i = 0; i < n; i++) {
            if (!pw[i].kept || !pw[i].has_avg)
                continue;
            h_printf(h, "%s%.1f %.1f", first ? "M" : "L", ax(&x, pw[i].power),
                     ax(&y, metric ? pw[i].cost : pw[i].dur));
            first = false;
        }
        h_str(h, "\"/>\n");
    }
    for (size_t i = 0; i < n; i++) {
        const struct pw *p = &pw[i];
        const struct pt_tune_power_stats *st = &r->a->powers[p->idx];
        double px = ax(&x, p->power);
        double v = metric ? p->cost : p->dur;
        if (!p->kept) {
            /* No average to place: the cross sits on the axis, the reason in its title. */
            double py = p->has_avg ? ax(&y, v) : CH_H - CH_B - 8;
            h_printf(h,
                     "<path class=\"pt-excluded\" data-power=\"%d\" d=\"M%.1f %.1fl10 10m0 "
                     "-10l-10 10\"><title>%d MB excluded: ",
                     p->power, px - 5, py - 5, p->power);
            h_esc(h, st->excluded_reason);
            h_str(h, "</title></path>\n");
            continue;
        }
        if (!p->has_avg)
            continue;
        double py = ax(&y, v);
        if (p->power == winner)
            h_printf(h, "<circle class=\"pt-winner\" cx=\"%.1f\" cy=\"%.1f\" r=\"8\"/>", px, py);
        h_printf(h, "<circle class=\"pt-point\" data-power=\"%d\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\">",
                 p->power, px, py);
        if (metric)
            h_printf(h, "<title>%d MB: %.4f %s per 1M invocations (p10 %.4f, p90 %.4f)</title>",
                     p->power, p->cost, unit, p->c10, p->c90);
        else
            h_printf(h, "<title>%d MB: %.2f ms (p10 %.2f, p90 %.2f)</title>", p->power, p->dur,
                     p->d10, p->d90);
        h_str(h, "</circle>\n");
    }
    h_str(h, "</g>\n");

    chart_close(h);
}

struct label_box {
    double x0, y0, x1, y1;
    bool end; /* anchored at its right edge */
};

static bool boxes_overlap(const struct label_box *a, const struct label_box *b)
{
    return a->x0 < b->x1 && b->x0 < a->x1 && a->y0 < b->y1 && b->y0 < a->y1;
}

/* A label of width w beside the point (px, py): above right, below right, above left,
 * below left, the first that stays in the chart and clear of the labels placed so far;
 * above right when none is. */
static void label_place(const struct label_box *placed, size_t n, double px, double py, double w,
                        struct label_box *out)
{
    static const double corners[4][3] = {{8, -19, 0}, {8, 3, 0}, {-8, -19, 1}, {-8, 3, 1}};
    for (int c = 0; c < 4; c++) {
        struct label_box b;
        b.end = corners[c][2] != 0;
        b.x0 = b.end ? px + corners[c][0] - w : px + corners[c][0];
        b.x1 = b.x0 + w;
        b.y0 = py + corners[c][1];
        b.y1 = b.y0 + 14;
        bool ok = b.x0 >= 0 && b.x1 <= CH_W && b.y0 >= 2 && b.y1 <= CH_H - CH_B + 4;
        for (size_t i = 0; ok && i < n; i++)
            ok = !boxes_overlap(&b, &placed[i]);
        if (c == 0 || ok)
            *out = b;
        if (ok)
            return;
    }
}

/* Cost against duration: every recommendable power, the Pareto frontier (no other power is
 * both cheaper and faster), and the line of equal balanced score through the balanced
 * winner (the weight's trade-off: everything else lies on or above it). */
static void chart_frontier(struct html *h, const struct pt_report_html *r, const struct pw *pw,
                           size_t n, const struct legends *lg)
{
    const struct pt_report_html_run *o = r->other;
    const char *unit = r->a->price.cny ? "CNY" : "$";
    double w = r->in->balanced_weight;
    char title[160];
    snprintf(title, sizeof(title), "Balanced frontier: cost against duration (weight %.2f)", w);
    chart_open(h, title);
    legend_item(h, LEG_LINE, "", lg->this_run);
    legend_item(h, LEG_FRONTIER, "", "frontier");
    if (r->a->best[PT_STRATEGY_BALANCED] >= 0) {
        legend_item(h, LEG_WINNER, "", "balanced winner");
        legend_item(h, LEG_ISO, "", "equal balanced score");
    }
    if (o)
        legend_item(h, LEG_OTHER, "", lg->other);
    chart_svg(h, "chart-frontier", title,
              "Each recommendable memory size as (duration, cost); the frontier joins the sizes "
              "no other size beats on both; the dashed line holds the balanced winner's score.");
    size_t *k = malloc((n ? n : 1) * sizeof(*k));
    bool *front = calloc(n ? n : 1, sizeof(*front));
    struct label_box *boxes = malloc((n ? n : 1) * sizeof(*boxes));
    if (!k || !front || !boxes) {
        if (h->rc == 0)
            h->rc = pt_error_set(h->err, PT_ENOMEM, "out of memory for the report");
        goto out;
    }
    size_t nk = 0;
    double lo_x = INFINITY, hi_x = -INFINITY, lo_y = INFINITY, hi_y = -INFINITY;
    double max_cost = 0, max_dur = 0;
    for (size_t i = 0; i < n; i++) {
        if (!pw[i].kept || !pw[i].has_avg)
            continue;
        k[nk++] = i;
        minmax(pw[i].dur, &lo_x, &hi_x);
        minmax(pw[i].cost, &lo_y, &hi_y);
        max_cost = fmax(max_cost, pw[i].cost);
        max_dur = fmax(max_dur, pw[i].dur);
    }
    for (size_t i = 0; o && i < o->n; i++) {
        minmax(o->points[i].duration, &lo_x, &hi_x);
        minmax(o->points[i].cost * PER_MILLION, &lo_y, &hi_y);
    }
    /* Sort by duration, then cost; a point is on the frontier when it is cheaper than
     * every faster one. */
    for (size_t i = 1; i < nk; i++)
        for (size_t j = i; j > 0; j--) {
            const struct pw *a = &pw[k[j - 1]], *b = &pw[k[j]];
            if (a->dur < b->dur || (a->dur == b->dur && a->cost <= b->cost))
                break;
            size_t t = k[j];
            k[j] = k[j - 1];
            k[j - 1] = t;
        }
    double best = INFINITY;
    for (size_t i = 0; i < nk; i++)
        if (pw[k[i]].cost < best) {
            best = pw[k[i]].cost;
            front[i] = true;
        }

    struct axis x, y;
    /* Wider margins than the other charts: the points carry labels. */
    axis_linear(&x, lo_x, hi_x, false, 0.12, CH_L, CH_W - CH_R);
    axis_linear(&y, lo_y, hi_y, false, 0.12, CH_H - CH_B, CH_T);
    char ylabel[64];
    snprintf(ylabel, sizeof(ylabel), "cost per 1M invocations (%s)", unit);
    y_axis(h, &y, ylabel);
    x_axis_linear(h, &x, "duration incl. Init (ms)");
    h_str(h, "<g clip-path=\"url(#chart-frontier-clip)\">\n");

    int bal = r->a->best[PT_STRATEGY_BALANCED];
    const struct pw *bw = NULL;
    for (size_t i = 0; bal >= 0 && i < nk; i++)
        if (pw[k[i]].idx == (size_t)bal)
            bw = &pw[k[i]];
    if (bw && max_cost > 0 && max_dur > 0) {
        /* w c / maxCost + (1 - w) d / maxDuration = s: the strategy's score (cost scaled per
         * 1M on both sides, so the line is the same). */
        double s = w * bw->cost / max_cost + (1 - w) * bw->dur / max_dur;
        double x0, y0, x1, y1;
        if (w > 0) {
            x0 = x.d0;
            x1 = x.d1;
            y0 = (s - (1 - w) * x0 / max_dur) * max_cost / w;
            y1 = (s - (1 - w) * x1 / max_dur) * max_cost / w;
        } else {
            x0 = x1 = s * max_dur;
            y0 = y.d0;
            y1 = y.d1;
        }
        if (isfinite(y0) && isfinite(y1) && isfinite(x0))
            h_printf(h,
                     "<path class=\"pt-iso\" d=\"M%.1f %.1fL%.1f %.1f\"><title>equal balanced "
                     "score (weight %.2f): every other size lies on or above this line</title>"
                     "</path>\n",
                     ax(&x, x0), ax(&y, y0), ax(&x, x1), ax(&y, y1), w);
    }
    size_t n_front = 0;
    for (size_t i = 0; i < nk; i++)
        n_front += front[i];
    if (n_front >= 2) {
        h_str(h, "<path class=\"pt-frontier\" d=\"");
        bool first = true;
        for (size_t i = 0; i < nk; i++) {
            if (!front[i])
                continue;
            h_printf(h, "%s%.1f %.1f", first ? "M" : "L", ax(&x, pw[k[i]].dur),
                     ax(&y, pw[k[i]].cost));
            first = false;
        }
        h_str(h, "\"/>\n");
    }
    for (size_t i = 0; o && i < o->n; i++) {
        h_printf(h,
                 "<path class=\"pt-other-point\" data-power=\"%d\" d=\"M%.1f %.1fl5 8.5h-10z\">"
                 "<title>",
                 o->points[i].power, ax(&x, o->points[i].duration),
                 ax(&y, o->points[i].cost * PER_MILLION) - 5.5);
        h_esc(h, lg->other);
        h_printf(h, ": %d MB</title></path>\n", o->points[i].power);
    }
    /* Labels only where they stay readable: all of them for a few sizes, else the
     * frontier's. */
    bool label_all = nk <= 12;
    for (size_t i = 0; i < nk; i++) {
        const struct pw *p = &pw[k[i]];
        double px = ax(&x, p->dur), py = ax(&y, p->cost);
        if (p == bw)
            h_printf(h, "<circle class=\"pt-winner\" cx=\"%.1f\" cy=\"%.1f\" r=\"8\"/>", px, py);
        h_printf(h,
                 "<circle class=\"pt-point%s\" data-power=\"%d\" cx=\"%.1f\" cy=\"%.1f\" "
                 "r=\"4\"><title>%d MB: %.2f ms, %.4f %s per 1M invocations%s</title></circle>\n",
                 front[i] ? "" : " off-frontier", p->power, px, py, p->power, p->dur, p->cost, unit,
                 front[i] ? " (on the frontier)" : "");
    }
    h_str(h, "</g>\n");
    /* Labels outside the clip (a point near the edge keeps its label), the winner's first,
     * each at the first corner of its point where it overlaps no label placed before. */
    size_t placed = 0;
    for (size_t pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < nk; i++) {
            const struct pw *p = &pw[k[i]];
            if ((pass == 0) != (p == bw) || !(label_all || front[i] || p == bw))
                continue;
            char text[64];
            snprintf(text, sizeof(text), "%d MB%s", p->power,
                     p == bw ? " \xe2\x80\x93 balanced winner" : "");
            struct label_box b;
            label_place(boxes, placed, ax(&x, p->dur), ax(&y, p->cost),
                        /* about 6 px per character at 11 px; the dash is 3 bytes */
                        6.2 * (double)(strlen(text) - (p == bw ? 2 : 0)), &b);
            boxes[placed++] = b;
            h_printf(h,
                     "<text class=\"label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">%s"
                     "</text>\n",
                     b.end ? b.x1 : b.x0, b.y1 - 3, b.end ? "end" : "start", text);
        }
out:
    chart_close(h);
    free(k);
    free(front);
    free(boxes);
}

/* Init Duration per power: the mean as a bar, min-max as a whisker, the cold-start count
 * above it. Excluded powers are drawn too: their cold starts happened all the same. */
static void chart_cold(struct html *h, const struct pt_report_html *r, const struct pw *pw,
                       size_t n)
{
    chart_open(h, "Cold starts: Init Duration per memory size");
    legend_item(h, LEG_BAR, "", "mean Init Duration");
    legend_item(h, LEG_WHISKER, "", "min to max");
    legend_item(h, LEG_NONE, "number above a bar: ", "cold starts");
    chart_svg(h, "chart-cold", "Cold starts: Init Duration per memory size",
              "Mean Init Duration per memory size (bar), min to max (whisker), and the number "
              "of cold starts above each bar.");
    double hi = 0;
    for (size_t i = 0; i < n; i++) {
        const struct pt_tune_power_stats *st = &r->a->powers[pw[i].idx];
        if (st->init.count && isfinite(st->init.max))
            hi = fmax(hi, st->init.max);
    }
    int *powers = malloc((n ? n : 1) * sizeof(*powers));
    if (!powers) {
        if (h->rc == 0)
            h->rc = pt_error_set(h->err, PT_ENOMEM, "out of memory for the report");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        powers[i] = pw[i].power;
    struct axis x, y;
    axis_memory(&x, n ? powers[0] : 128, n ? powers[n - 1] : 128, CH_L, CH_W - CH_R);
    /* Headroom for the count labels above the tallest bar. */
    axis_linear(&y, 0, hi > 0 ? hi * 1.12 : 1, true, 0.05, CH_H - CH_B, CH_T);
    y_axis(h, &y, "Init Duration (ms)");
    x_axis_memory(h, &x, powers, n);
    /* Bars as wide as the closest pair of powers allows. */
    double gap = CH_W - CH_L - CH_R;
    for (size_t i = 1; i < n; i++)
        gap = fmin(gap, ax(&x, powers[i]) - ax(&x, powers[i - 1]));
    double bw = fmax(3, fmin(36, gap * 0.6));
    h_str(h, "<g clip-path=\"url(#chart-cold-clip)\">\n");
    for (size_t i = 0; i < n; i++) {
        const struct pt_tune_power_stats *st = &r->a->powers[pw[i].idx];
        double px = ax(&x, pw[i].power), base = ax(&y, 0);
        h_printf(h, "<g class=\"pt-cold%s\" data-power=\"%d\">", pw[i].kept ? "" : " excluded",
                 pw[i].power);
        double top = base;
        if (st->init.count) {
            top = ax(&y, st->init.mean);
            h_printf(h,
                     "<rect class=\"pt-bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">"
                     "<title>%d MB: %zu cold starts, Init Duration mean %.1f ms, median %.1f, "
                     "min %.1f, max %.1f</title></rect>",
                     px - bw / 2, top, bw, fmax(base - top, 0.5), pw[i].power, st->cold_starts,
                     st->init.mean, st->init.median, st->init.min, st->init.max);
            if (st->init.count > 1) {
                double ymin = ax(&y, st->init.min), ymax = ax(&y, st->init.max);
                h_printf(
                    h, "<path class=\"pt-whisker\" d=\"M%.1f %.1fV%.1fM%.1f %.1fh8M%.1f %.1fh8\"/>",
                    px, ymin, ymax, px - 4, ymin, px - 4, ymax);
                top = fmin(top, ymax);
            }
        }
        h_printf(h,
                 "<text class=\"label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%zu"
                 "</text></g>\n",
                 px, top - 5, st->cold_starts);
    }
    h_str(h, "</g>\n");
    if (hi == 0)
        h_printf(h,
                 "<text class=\"label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">no Init "
                 "Duration recorded</text>\n",
                 CH_L + (CH_W - CH_L - CH_R) / 2, CH_T + (CH_H - CH_T - CH_B) / 2);
out:
    free(powers);
    chart_close(h);
}

/* ---------------------------------------------------------------- tables -- */

static void table_powers(struct html *h, const struct pt_report_html *r)
{
    const struct pt_tune_analysis *a = r->a;
    const char *unit = a->price.cny ? "CNY" : "$";
    h_printf(h,
             "<div class=\"scroll\"><table id=\"table-powers\">\n<thead><tr><th>power (MB)</th>"
             "<th>runs</th><th>counted</th><th>avg (ms)</th><th>p50</th><th>p90</th><th>p99</th>"
             "<th>min</th><th>max</th><th>stddev</th><th>avg billed (ms)</th>"
             "<th>cost/inv (%s)</th><th>total cost (%s)</th><th>cold</th><th>init mean (ms)</th>"
             "<th>max mem (MB)</th><th>cpu mean (ms)</th><th>cpu max (ms)</th>"
             "<th class=\"text\">errors</th><th class=\"text\">status</th></tr></thead>\n<tbody>\n",
             unit, unit);
    for (size_t i = 0; i < a->n_powers; i++) {
        const struct pt_tune_power_stats *s = &a->powers[i];
        bool win = (int)i == a->winner;
        h_printf(h, "<tr class=\"%s\" data-power=\"%d\"><td>%s%d</td><td>%zu</td><td>%zu</td>",
                 win           ? "winner"
                 : s->excluded ? "excluded"
                               : "",
                 s->power, win ? "\xe2\x98\x85 " : "", s->power, s->invocations, s->counted);
        h_printf(h,
                 "<td>%.2f</td><td>%.2f</td><td>%.2f</td><td>%.2f</td><td>%.2f</td>"
                 "<td>%.2f</td><td>%.2f</td><td>%.2f</td>",
                 s->average_duration, s->duration.p50, s->duration.p90, s->duration.p99,
                 s->duration.min, s->duration.max, s->duration.stddev, s->average_billed);
        h_printf(h, "<td>%.4g</td><td>%.4g</td><td>%zu</td>", s->average_price, s->total_cost,
                 s->cold_starts);
        if (s->init.count)
            h_printf(h, "<td>%.1f</td>", s->init.mean);
        else
            h_str(h, "<td>-</td>");
        h_printf(h, "<td>%d</td><td>%.1f</td><td>%.1f</td><td class=\"text\">",
                 s->max_memory_used_mb, s->cpu_mean_ms, s->cpu_max_ms);
        for (size_t k = 0; k < s->n_errors; k++) {
            if (k)
                h_str(h, "<br>");
            h_esc(h, s->errors[k].type);
            h_printf(h, " \xc3\x97%zu%s", s->errors[k].count,
                     s->errors[k].allowed ? " (allowed)" : "");
        }
        h_str(h, "</td><td class=\"text\">");
        if (s->excluded) {
            h_str(h, "<span title=\"");
            h_esc(h, s->excluded_reason);
            h_str(h, "\">excluded (below)</span>");
        } else {
            bool any = false;
            for (int st = 0; st < PT_STRATEGY_COUNT; st++)
                if (a->best[st] == (int)i) {
                    h_printf(h, "%s%s", any ? ", " : "best for ",
                             pt_tune_strategy_name((enum pt_tune_strategy)st));
                    any = true;
                }
        }
        h_str(h, "</td></tr>\n");
    }
    h_str(h, "</tbody></table></div>\n");
    /* The reasons in full below the table, as the text table prints them: a long reason in
     * a cell would make its row unreadably tall. */
    bool any = false;
    for (size_t i = 0; i < a->n_powers; i++) {
        const struct pt_tune_power_stats *s = &a->powers[i];
        if (!s->excluded)
            continue;
        h_printf(h, "%s<li data-power=\"%d\">%d MB excluded: ",
                 any ? "" : "<ul id=\"excluded\" class=\"excluded\">\n", s->power, s->power);
        h_esc(h, s->excluded_reason);
        h_str(h, "</li>\n");
        any = true;
    }
    if (any)
        h_str(h, "</ul>\n");
}

/* The cold-start table of the cold-start article: count, mean, median, max, min, variance. */
static void table_cold(struct html *h, const struct pt_tune_analysis *a)
{
    h_str(h, "<div class=\"scroll\"><table id=\"table-cold\">\n<thead><tr><th>power (MB)</th>"
             "<th>cold starts</th><th>Init count</th><th>mean (ms)</th><th>median</th>"
             "<th>max</th><th>min</th><th>variance</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < a->n_powers; i++) {
        const struct pt_tune_power_stats *s = &a->powers[i];
        h_printf(h, "<tr data-power=\"%d\"><td>%d</td><td>%zu</td><td>%zu</td>", s->power, s->power,
                 s->cold_starts, s->init.count);
        if (s->init.count)
            h_printf(h, "<td>%.2f</td><td>%.2f</td><td>%.2f</td><td>%.2f</td><td>%.2f</td>",
                     s->init.mean, s->init.median, s->init.max, s->init.min, s->init.variance);
        else
            h_str(h, "<td>-</td><td>-</td><td>-</td><td>-</td><td>-</td>");
        h_str(h, "</tr>\n");
    }
    h_str(h, "</tbody></table></div>\n");
}

static void table_recommendations(struct html *h, const struct pt_report_html *r)
{
    const struct pt_tune_analysis *a = r->a;
    const char *unit = a->price.cny ? "CNY" : "$";
    static const enum pt_tune_strategy order[] = {PT_STRATEGY_COST, PT_STRATEGY_SPEED,
                                                  PT_STRATEGY_BALANCED};
    h_printf(h,
             "<table id=\"table-recommendation\">\n<thead><tr><th>strategy</th>"
             "<th>power (MB)</th><th>avg duration (ms)</th><th>cost/inv (%s)</th><th></th>"
             "</tr></thead>\n<tbody>\n",
             unit);
    for (size_t k = 0; k < 3; k++) {
        enum pt_tune_strategy s = order[k];
        int b = a->best[s];
        bool chosen = s == r->in->strategy;
        h_printf(h, "<tr class=\"%s\"><td>%s", chosen ? "winner" : "", pt_tune_strategy_name(s));
        if (s == PT_STRATEGY_BALANCED)
            h_printf(h, " (weight %.2f)", r->in->balanced_weight);
        if (b >= 0)
            h_printf(h, "</td><td>%d</td><td>%.2f</td><td>%.4g</td>", a->powers[b].power,
                     a->powers[b].average_duration, a->powers[b].average_price);
        else
            h_str(h, "</td><td>none</td><td>-</td><td>-</td>");
        h_printf(h, "<td>%s</td></tr>\n", chosen ? "\xe2\x98\x85 the run's strategy" : "");
    }
    h_str(h, "</tbody></table>\n");
}

static void setting(struct html *h, const char *name)
{
    h_printf(h, "<dt>%s</dt><dd>", name);
}

static void settings(struct html *h, const struct pt_report_html *r, const struct legends *lg)
{
    const struct pt_tune_input *in = r->in;
    const struct pt_tune_analysis *a = r->a;
    const char *cur = a->price.cny ? "CNY" : "$";
    h_str(h, "<dl id=\"settings\">\n");
    setting(h, "function");
    h_esc(h, in->function);
    h_str(h, "</dd>\n");
    if (r->source) {
        setting(h, "source");
        h_esc(h, r->source);
        h_str(h, "</dd>\n");
    }
    setting(h, "powers (MB)");
    for (size_t i = 0; i < a->n_powers; i++)
        h_printf(h, "%s%d", i ? ", " : "", a->powers[i].power);
    h_str(h, "</dd>\n");
    setting(h, "num");
    h_printf(h, "%ld%s</dd>\n", in->num, in->dry_run ? " (dry run)" : "");
    setting(h, "strategy");
    h_printf(h, "%s</dd>\n", pt_tune_strategy_name(in->strategy));
    setting(h, "balancedWeight");
    h_printf(h, "%.2f (1 acts like cost, 0 like speed)</dd>\n", in->balanced_weight);
    setting(h, "discardTopBottom");
    h_printf(h, "%g</dd>\n", in->discard_top_bottom);
    setting(h, "invocation");
    h_printf(h, "%s%s%s</dd>\n", in->parallel ? "parallel" : "series",
             in->only_cold_starts ? ", only cold starts" : "", in->adaptive ? ", adaptive" : "");
    if (in->n_allowed) {
        setting(h, "allowedExceptions");
        for (size_t i = 0; i < in->n_allowed; i++) {
            if (i)
                h_str(h, ", ");
            h_esc(h, in->allowed_exceptions[i]);
        }
        h_str(h, "</dd>\n");
    }
    setting(h, "pricing");
    if (a->price.mode == PT_PRICING_POWER_TUNING)
        h_printf(h, "power-tuning (the reference tool's constants: %g %s per ms at 128 MB)</dd>\n",
                 a->price.base_cost, cur);
    else
        h_printf(h, "exact (%g %s per GB-second + %g per request)</dd>\n", a->price.gb_s, cur,
                 a->price.request);
    setting(h, "region");
    h_esc(h, a->price.region);
    h_str(h, "</dd>\n");
    setting(h, "architecture");
    h_esc(h, a->price.architecture);
    h_str(h, "</dd>\n");
    setting(h, "Lambda cost of this run");
    h_printf(h, "%.6g %s (recommendable powers: %.6g)</dd>\n", a->lambda_cost_all, cur,
             a->lambda_cost);
    setting(h, "Step Functions equivalent");
    h_printf(h, "%.6g %s</dd>\n", a->sf_equivalent_cost, cur);
    if (a->visualization) {
        setting(h, "visualization");
        h_str(h, "<a href=\"");
        h_esc(h, a->visualization);
        h_str(h, "\">");
        h_esc(h, a->visualization);
        h_str(h, "</a></dd>\n");
    }
    if (r->other) {
        setting(h, "compared with");
        h_esc(h, lg->other);
        h_str(h, " (");
        h_esc(h, r->other->function[0] ? r->other->function : "function not named");
        h_printf(h, ", %zu recommendable powers)</dd>\n", r->other->n);
    }
    if (r->compare_url) {
        setting(h, "comparison");
        h_str(h, "<a href=\"");
        h_esc(h, r->compare_url);
        h_str(h, "\">");
        h_esc(h, r->compare_url);
        h_str(h, "</a></dd>\n");
    }
    h_str(h, "</dl>\n");

    /* Warnings the caller did not already pass as notes (tune does, analyze does not). */
    size_t shown = 0;
    for (unsigned bit = 1; bit && bit < (1u << PT_TUNE_WARN_COUNT); bit <<= 1) {
        const char *w = pt_tune_warning_text(bit);
        if (!(in->warnings & bit) || !w)
            continue;
        bool dup = false;
        for (size_t i = 0; i < r->n_notes && !dup; i++)
            dup = r->notes[i] && strcmp(r->notes[i], w) == 0;
        if (dup)
            continue;
        h_str(h, shown++ ? "" : "<ul id=\"notes\" class=\"notes\">\n");
        h_str(h, "<li>");
        h_esc(h, w);
        h_str(h, "</li>\n");
    }
    for (size_t i = 0; i < r->n_notes; i++) {
        if (!r->notes[i])
            continue;
        h_str(h, shown++ ? "" : "<ul id=\"notes\" class=\"notes\">\n");
        h_str(h, "<li>");
        h_esc(h, r->notes[i]);
        h_str(h, "</li>\n");
    }
    if (shown)
        h_str(h, "</ul>\n");
}

/* ------------------------------------------------------------------ page -- */

static const char page_css[] =
    "*{box-sizing:border-box}"
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
    "color:#111827;background:#fff;margin:0;padding:24px 32px;max-width:1280px}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px;"
    "border-bottom:1px solid #e5e7eb;padding-bottom:4px}"
    ".sub{color:#4b5563;margin:0 0 12px;overflow-wrap:anywhere}"
    ".verdict{font-size:16px;background:#f0fdf4;border:1px solid #bbf7d0;border-radius:6px;"
    "padding:10px 14px;margin:12px 0}"
    ".verdict.none{background:#fef2f2;border-color:#fecaca}"
    ".charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:16px}"
    "figure.chart{margin:0;border:1px solid #e5e7eb;border-radius:6px;padding:8px}"
    "figcaption{font-weight:600;margin:0 0 4px 6px}"
    ".legend{display:flex;flex-wrap:wrap;gap:2px 14px;margin:0 6px 4px;font-size:12px;"
    "color:#374151}"
    ".key{white-space:nowrap;overflow-wrap:anywhere}"
    ".sw{display:inline-block;width:18px;margin-right:5px;vertical-align:middle;font-style:normal}"
    ".sw.line{border-top:2.2px solid " C_THIS "}"
    ".sw.band{height:10px;background:" C_THIS ";opacity:.2}"
    ".sw.other{border-top:2px dashed " C_OTHER "}"
    ".sw.excluded{color:" C_EXCLUDED ";text-align:center;font-weight:700}"
    ".sw.winner{width:12px;height:12px;border:2.5px solid " C_WINNER ";border-radius:50%;"
    "margin-left:3px;margin-right:8px}"
    ".sw.frontier{border-top:1.6px solid " C_THIS ";opacity:.7}"
    ".sw.iso{border-top:1.6px dashed " C_WINNER "}"
    ".sw.bar{height:10px;background:" C_THIS ";opacity:.75}"
    ".sw.whisker{width:8px;height:12px;border-left:1.3px solid " C_THIS ";margin-left:6px}"
    "svg{width:100%;height:auto;display:block;font-size:12px;fill:#374151}"
    "svg .grid{stroke:#e5e7eb;stroke-width:1}"
    "svg .axis .title{font-size:12px;fill:#111827}"
    "svg .pt-line{fill:none;stroke:" C_THIS ";stroke-width:2.2}"
    "svg .pt-point{fill:" C_THIS ";stroke:#fff;stroke-width:1}"
    "svg .pt-point.off-frontier{fill:#fff;stroke:" C_THIS ";stroke-width:1.6}"
    "svg .pt-band{fill:" C_THIS ";fill-opacity:.16;stroke:none}"
    "svg .pt-whisker{fill:none;stroke:" C_THIS ";stroke-opacity:.55;stroke-width:1.3}"
    "svg .pt-other-line{fill:none;stroke:" C_OTHER ";stroke-width:2;stroke-dasharray:6 4}"
    "svg .pt-other-point{fill:" C_OTHER ";stroke:#fff;stroke-width:.8}"
    "svg .pt-excluded{fill:none;stroke:" C_EXCLUDED ";stroke-width:2.2}"
    "svg .pt-winner{fill:none;stroke:" C_WINNER ";stroke-width:2.5}"
    "svg .pt-frontier{fill:none;stroke:" C_THIS ";stroke-width:1.6;stroke-opacity:.7}"
    "svg .pt-iso{fill:none;stroke:" C_WINNER ";stroke-width:1.5;stroke-dasharray:3 3}"
    "svg .pt-bar{fill:" C_THIS ";fill-opacity:.75}"
    "svg .pt-cold.excluded .pt-bar{fill:" C_EXCLUDED "}"
    "svg .label{font-size:11px;fill:#111827}"
    ".scroll{overflow-x:auto}"
    "table{border-collapse:collapse;font-size:12.5px;font-variant-numeric:tabular-nums}"
    "th,td{padding:3px 5px;border-bottom:1px solid #e5e7eb;text-align:right;white-space:nowrap}"
    "th{background:#f9fafb;font-weight:600;white-space:normal;vertical-align:bottom}"
    "th.text,td.text{text-align:left;white-space:normal;min-width:7em;max-width:16em;"
    "overflow-wrap:anywhere}"
    "th:first-child,td:first-child{text-align:left}"
    "tr.winner td{background:#f0fdf4;font-weight:600}"
    "tr.excluded td{color:" C_EXCLUDED "}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}"
    "dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}"
    "a{color:" C_THIS "}"
    ".notes li{color:#92400e}"
    ".excluded li{color:#374151;overflow-wrap:anywhere}";

static void verdict(struct html *h, const struct pt_report_html *r)
{
    const struct pt_tune_analysis *a = r->a;
    if (a->winner < 0) {
        h_printf(h,
                 "<p class=\"verdict none\">No memory size can be recommended under the %s "
                 "strategy: every power value was excluded (see the table).</p>\n",
                 pt_tune_strategy_name(r->in->strategy));
        return;
    }
    const struct pt_tune_power_stats *w = &a->powers[a->winner];
    h_printf(h, "<p class=\"verdict\">Recommended: <strong>%d MB</strong> (strategy %s", w->power,
             pt_tune_strategy_name(r->in->strategy));
    if (r->in->strategy == PT_STRATEGY_BALANCED)
        h_printf(h, ", weight %.2f", r->in->balanced_weight);
    h_printf(h, "): %.2f ms, %.4g %s per invocation.</p>\n", w->average_duration, w->average_price,
             a->price.cny ? "CNY" : "$");
}

int pt_report_html_render(const struct pt_report_html *r, struct pt_buf *out, struct pt_error *err)
{
    struct html h = {.b = out, .err = err, .rc = 0};
    struct pw *pw = NULL;
    int *powers = NULL;
    size_t n_all = 0;
    const char *legend_other = NULL, *legend_this = "this run";
    int rc = collect(r, &pw, err);
    if (rc == 0)
        rc = all_powers(pw, r->a->n_powers, r->other, &powers, &n_all, err);
    if (rc < 0)
        goto out;
    if (r->other)
        pt_report_html_legends(r->in->function, r->other, &legend_other, &legend_this);
    struct legends lg = {.this_run = legend_this, .other = legend_other};
    size_t n = r->a->n_powers;

    /* The CSP forbids every fetch, so even a mistake in this file cannot make the page
     * reach the network; links are navigations, which it does not govern. */
    h_str(&h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
              "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
              "style-src 'unsafe-inline'\">\n"
              "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
              "<title>powertune report: ");
    h_esc(&h, r->in->function);
    h_printf(&h, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>powertune report: ", page_css);
    h_esc(&h, r->in->function);
    h_str(&h, "</h1>\n<p class=\"sub\">");
    h_printf(&h, "%zu power values, num %ld, strategy %s, %s pricing, ", n, r->in->num,
             pt_tune_strategy_name(r->in->strategy), pt_pricing_mode_name(r->a->price.mode));
    h_esc(&h, r->a->price.region);
    h_str(&h, ", ");
    h_esc(&h, r->a->price.architecture);
    if (r->other) {
        h_str(&h, "; compared with ");
        h_esc(&h, legend_other);
    }
    h_str(&h, "</p>\n");
    verdict(&h, r);

    h_str(&h, "<h2>Duration and cost against memory</h2>\n<div class=\"charts\">\n");
    chart_memory(&h, r, pw, n, powers, n_all, 0, &lg);
    chart_memory(&h, r, pw, n, powers, n_all, 1, &lg);
    h_str(&h, "</div>\n<h2>Trade-off and cold starts</h2>\n<div class=\"charts\">\n");
    chart_frontier(&h, r, pw, n, &lg);
    chart_cold(&h, r, pw, n);
    h_str(&h, "</div>\n<h2>Recommendation per strategy</h2>\n");
    table_recommendations(&h, r);
    h_str(&h, "<h2>All figures</h2>\n<p class=\"sub\">avg = the reference tool's trimmed mean "
              "of Duration + Init Duration; percentiles, min, max and stddev over the counted "
              "invocations, untrimmed; cost from Billed Duration.</p>\n");
    table_powers(&h, r);
    h_str(&h, "<h2>Cold starts</h2>\n");
    table_cold(&h, r->a);
    h_str(&h, "<h2>Settings</h2>\n");
    settings(&h, r, &lg);
    h_str(&h, "</body>\n</html>\n");
    rc = h.rc;
out:
    free(pw);
    free(powers);
    return rc;
}

int pt_report_html_write(const char *path, const struct pt_report_html *r, struct pt_error *err)
{
    struct pt_buf b;
    pt_buf_init(&b, 0);
    int rc = pt_report_html_render(r, &b, err);
    if (rc == 0)
        rc = pt_file_write_atomic(path, b.data, b.len, err);
    pt_buf_free(&b);
    return rc;
}

/* ------------------------------------------------------ the compared run -- */

static int cmp_point(const void *pa, const void *pb)
{
    const struct pt_viz_point *a = pa, *b = pb;
    return a->power < b->power ? -1 : a->power > b->power;
}

void pt_report_html_run_free(struct pt_report_html_run *r)
{
    if (!r)
        return;
    free(r->points);
    memset(r, 0, sizeof(*r));
}

/* A number field of element i of powertune.powers, from 0 to FLT_MAX: the comparison URL
 * carries float32 (the reference tool's output can hold no more), and the charts' axis
 * arithmetic (padding, 1-2-5 steps, price per 1M) overflows to Infinity near DBL_MAX. */
static int number_field(const json_t *o, const char *key, const char *name, size_t i, double *out,
                        struct pt_error *err)
{
    const json_t *v = json_object_get(o, key);
    double d = json_is_number(v) ? json_number_value(v) : NAN;
    if (!(d >= 0 && d <= FLT_MAX))
        return pt_error_set(err, PT_EUSAGE,
                            "%s: powertune.powers[%zu].%s: expected a number from 0 to %g (a "
                            "float32, as the visualization URL carries it)",
                            name, i, key, (double)FLT_MAX);
    *out = d;
    return 0;
}

/* Our own output: every power with its figures; the excluded ones are left out, as the
 * visualization leaves them out. */
static int parse_ours(const json_t *pt, const char *name, struct pt_report_html_run *out,
                      struct pt_error *err)
{
    const json_t *powers = json_object_get(pt, "powers");
    const json_t *fn = json_object_get(pt, "function");
    const json_t *pricing = json_object_get(pt, "pricing");
    const json_t *cur = json_is_object(pricing) ? json_object_get(pricing, "currency") : NULL;
    if (json_is_string(fn)) {
        if (strlen(json_string_value(fn)) >= sizeof(out->function))
            return pt_error_set(err, PT_EUSAGE, "%s: powertune.function: longer than %d bytes",
                                name, PT_TUNE_FUNCTION_MAX - 1);
        pt_strlcpy(out->function, json_string_value(fn), sizeof(out->function));
    }
    out->cny = json_is_string(cur) && strcmp(json_string_value(cur), "CNY") == 0;
    const json_t *mode = json_is_object(pricing) ? json_object_get(pricing, "mode") : NULL;
    out->pricing = -1;
    for (int m = PT_PRICING_EXACT; json_is_string(mode) && m <= PT_PRICING_POWER_TUNING; m++)
        if (strcmp(json_string_value(mode), pt_pricing_mode_name((enum pt_pricing_mode)m)) == 0)
            out->pricing = m;
    size_t n = json_array_size(powers);
    out->points = calloc(n ? n : 1, sizeof(*out->points));
    if (!out->points)
        return pt_error_set(err, PT_ENOMEM, "out of memory reading %s", name);
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(powers, i);
        if (!json_is_object(e))
            return pt_error_set(err, PT_EUSAGE, "%s: powertune.powers[%zu]: expected an object",
                                name, i);
        const json_t *p = json_object_get(e, "power");
        json_int_t mb = json_is_integer(p) ? json_integer_value(p) : -1;
        if (mb < PT_TUNE_POWER_MIN || mb > PT_TUNE_POWER_MAX)
            return pt_error_set(err, PT_EUSAGE,
                                "%s: powertune.powers[%zu].power: expected %d to %d (MB)", name, i,
                                PT_TUNE_POWER_MIN, PT_TUNE_POWER_MAX);
        if (json_is_true(json_object_get(e, "excluded")))
            continue;
        struct pt_viz_point *pt_ = &out->points[out->n];
        pt_->power = (int)mb;
        int rc = number_field(e, "averageDuration", name, i, &pt_->duration, err);
        if (rc == 0)
            rc = number_field(e, "averagePrice", name, i, &pt_->cost, err);
        if (rc < 0)
            return rc;
        out->n++;
    }
    return 0;
}

/* The reference tool's output: only the visualization URL carries every power's figures. */
static int parse_reference(const json_t *root, const char *name, struct pt_report_html_run *out,
                           struct pt_error *err)
{
    const json_t *sm = json_object_get(root, "stateMachine");
    /* The output as the reference's README shows it (#265): {"results": {...}}. */
    if (!sm && json_is_object(json_object_get(root, "results")))
        sm = json_object_get(json_object_get(root, "results"), "stateMachine");
    const json_t *url = json_is_object(sm) ? json_object_get(sm, "visualization") : NULL;
    if (!json_is_string(url))
        return pt_error_set(err, PT_EUSAGE,
                            "%s: neither powertune.powers nor stateMachine.visualization: not an "
                            "--output of tune/analyze or of AWS Lambda Power Tuning",
                            name);
    struct pt_viz_decoded d;
    int rc = pt_viz_decode(json_string_value(url), &d, err);
    if (rc < 0)
        return pt_error_wrap(err, "%s: stateMachine.visualization", name);
    for (size_t i = 0; i < d.na; i++)
        if (d.a[i].power < PT_TUNE_POWER_MIN || d.a[i].power > PT_TUNE_POWER_MAX ||
            !isfinite(d.a[i].duration) || !isfinite(d.a[i].cost) || d.a[i].duration < 0 ||
            d.a[i].cost < 0) {
            int power = d.a[i].power; /* read before d.a is freed */
            pt_viz_decoded_free(&d);
            return pt_error_set(err, PT_EUSAGE,
                                "%s: stateMachine.visualization: point %zu (power %d) is not a "
                                "memory size with a duration and a cost",
                                name, i, power);
        }
    out->points = d.a;
    out->n = d.na;
    out->cny = d.cny;
    out->pricing = PT_PRICING_POWER_TUNING; /* the reference's own constants */
    d.a = NULL;
    pt_viz_decoded_free(&d);
    return 0;
}

int pt_report_html_run_parse(const char *text, size_t len, const char *name,
                             struct pt_report_html_run *out, struct pt_error *err)
{
    memset(out, 0, sizeof(*out));
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_DECODE_ANY, &je);
    int rc = 0;
    if (!root) {
        rc = pt_error_set(err, PT_EUSAGE, "%s: not JSON (line %d: %s)", name, je.line, je.text);
        goto out;
    }
    if (json_is_null(root)) {
        rc = pt_error_set(err, PT_EUSAGE, "%s: null, the output of a dry run: nothing to compare",
                          name);
        goto out;
    }
    if (!json_is_object(root)) {
        rc = pt_error_set(err, PT_EUSAGE,
                          "%s: expected the JSON object tune/analyze --output "
                          "writes",
                          name);
        goto out;
    }
    const json_t *pt = json_object_get(root, "powertune");
    if (json_is_object(pt) && json_is_array(json_object_get(pt, "powers")))
        rc = parse_ours(pt, name, out, err);
    else
        rc = parse_reference(root, name, out, err);
    if (rc == 0)
        qsort(out->points, out->n, sizeof(*out->points), cmp_point);
out:
    json_decref(root);
    if (rc < 0)
        pt_report_html_run_free(out);
    return rc;
}

int pt_report_html_run_load(const char *path, struct pt_report_html_run *out, struct pt_error *err)
{
    memset(out, 0, sizeof(*out));
    struct pt_buf b;
    pt_buf_init(&b, PT_REPORT_HTML_RUN_MAX);
    int rc = pt_file_read(path, PT_REPORT_HTML_RUN_MAX, &b, err);
    if (rc == PT_ESYS || rc == PT_EIO || rc == PT_ENOTFOUND || rc == PT_EPERM) {
        /* The path came from the command line: a file that cannot be read is the user's
         * to fix (exit 2), like --input's. */
        char msg[PT_ERROR_MSG_MAX];
        pt_strlcpy(msg, err ? err->msg : "cannot read it", sizeof(msg));
        rc = pt_error_set(err, PT_EUSAGE, "%s", msg);
    } else if (rc < 0) {
        pt_error_wrap(err, "%s", path);
    } else {
        rc = pt_report_html_run_parse(b.data ? b.data : "", b.len, path, out, err);
    }
    pt_buf_free(&b);
    return rc;
}

int pt_report_html_run_check(const struct pt_report_html_run *other,
                             const struct pt_price_model *price, const char *name,
                             struct pt_error *err)
{
    if (other->cny != price->cny)
        return pt_error_set(err, PT_EUSAGE,
                            "%s: its prices are in %s and this run's in %s; the comparison has "
                            "one currency (use a region of the same currency)",
                            name, other->cny ? "CNY" : "USD", price->cny ? "CNY" : "USD");
    /* Exact pricing adds the request charge, which dominates a fast function's cost (a 10 ms
     * invocation at 128 MB: 2.2e-7 $ against the reference's 2.1e-8): curves priced both
     * ways would show a difference neither run measured. */
    if (other->pricing >= 0 && other->pricing != (int)price->mode)
        return pt_error_set(err, PT_EUSAGE,
                            "%s: its costs are of %s pricing and this run's of %s pricing; the "
                            "comparison needs one (allowed --pricing %s)",
                            name, pt_pricing_mode_name((enum pt_pricing_mode)other->pricing),
                            pt_pricing_mode_name(price->mode),
                            pt_pricing_mode_name((enum pt_pricing_mode)other->pricing));
    return 0;
}

void pt_report_html_legends(const char *function, const struct pt_report_html_run *other,
                            const char **legend_other, const char **legend_this)
{
    if (other->function[0] && function && function[0] && strcmp(other->function, function) != 0) {
        *legend_other = other->function;
        *legend_this = function;
    } else {
        *legend_other = "before";
        *legend_this = "after";
    }
}

int pt_report_html_compare_url(const struct pt_tune_input *in, const struct pt_tune_analysis *a,
                               const struct pt_report_html_run *other, char **out,
                               struct pt_error *err)
{
    struct pt_viz_point *pts = calloc(a->n_powers ? a->n_powers : 1, sizeof(*pts));
    if (!pts)
        return pt_error_set(err, PT_ENOMEM, "out of memory for the comparison URL");
    size_t n = 0;
    /* The same points as the run's own visualization: the recommendable powers. */
    for (size_t i = 0; i < a->n_powers; i++)
        if (!a->powers[i].excluded)
            pts[n++] = (struct pt_viz_point){a->powers[i].power, a->powers[i].average_duration,
                                             a->powers[i].average_price};
    const char *l_other, *l_this;
    pt_report_html_legends(in->function, other, &l_other, &l_this);
    int rc = pt_viz_url_compare(NULL, a->price.cny, other->points, other->n, pts, n, l_other,
                                l_this, out, err);
    free(pts);
    return rc;
}
