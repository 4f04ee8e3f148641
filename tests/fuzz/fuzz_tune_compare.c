/*
 * fuzz_tune_compare - pt_report_html_run_parse (src/tune/report_html.c) on arbitrary bytes,
 * and what --compare does with the run it returns.
 *
 * `--compare OTHER.json` reads a previous run's --output: ours (powertune.powers) or the
 * reference tool's (its stateMachine.visualization URL, decoded by pt_viz_decode). The text
 * is copied into a buffer of exactly its size (no NUL after it). A run that parses must be
 * what the header promises (recommendable memory sizes, ascending, finite figures >= 0); it
 * then goes where --compare sends it: into the 8-part comparison URL, which must decode to
 * the same points, and into the HTML report of a fixed run, which must render without a
 * NaN or infinity in its numbers (the unit tests' assert_numbers_finite).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/str.h"
#include "tune/report_html.h"
#include "tune/tune.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* This run: three powers, five invocations each, the first cold. Built once. */
static struct {
    struct pt_tune_input in;
    struct pt_price_model price;
    struct pt_tune_sample samples[15];
    struct pt_tune_analysis a;
    bool ready;
} run;

static void run_build(void)
{
    static const int powers[] = {128, 512, 1024};
    struct pt_error err;
    pt_tune_input_init(&run.in);
    pt_strlcpy(run.in.function, "fn", sizeof(run.in.function));
    pt_strlcpy(run.in.region, "us-east-1", sizeof(run.in.region));
    run.in.num = 5;
    run.in.powers = malloc(sizeof(powers));
    if (!run.in.powers)
        abort();
    memcpy(run.in.powers, powers, sizeof(powers));
    run.in.n_powers = 3;
    if (pt_price_model_init(&run.price, PT_PRICING_EXACT, "us-east-1", "x86_64", 0, &err) != 0)
        abort();
    size_t k = 0;
    for (size_t p = 0; p < 3; p++)
        for (int i = 0; i < 5; i++) {
            struct pt_tune_sample *s = &run.samples[k++];
            s->power = powers[p];
            s->duration_ms = 12800.0 / powers[p] + i * 1.5;
            s->billed_ms = floor(s->duration_ms) + 1;
            s->cold_start = i == 0;
            s->init_ms = i == 0 ? 40 + powers[p] / 64.0 : -1;
            s->max_memory_used_mb = 30;
            s->cpu_time_ms = s->duration_ms * 0.9;
        }
    if (pt_tune_analyze(&run.in, &run.price, run.in.powers, run.in.n_powers, run.samples, k, NULL,
                        &run.a, &err) != 0)
        abort();
    run.ready = true;
}

/* Blanks every copy of s in page (base64 in the URLs spells anything, "NaN" included). */
static void blank(char *page, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    for (char *p = page; n && (p = strstr(p, s)); p += n)
        memset(p, ' ', n);
}

static bool has_nonfinite(char *page, const char *compare_url)
{
    static const char *const bad[] = {"nan", "NaN", "inf\"", "inf ", "inf<", "infinity", "-inf"};
    blank(page, compare_url);
    blank(page, run.a.visualization);
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        if (strstr(page, bad[i]))
            return true;
    return false;
}

/* The comparison URL carries the other run first: it decodes to the same points. */
static void check_url(const struct pt_report_html_run *other, const char *url)
{
    struct pt_viz_decoded d;
    struct pt_error err;
    if (pt_viz_decode(url, &d, &err) != 0 || d.na != other->n || d.cny != other->cny)
        abort();
    for (size_t i = 0; i < d.na; i++)
        if (d.a[i].power != other->points[i].power ||
            d.a[i].duration != (double)(float)other->points[i].duration ||
            d.a[i].cost != (double)(float)other->points[i].cost)
            abort();
    pt_viz_decoded_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!run.ready)
        run_build();
    char *text = fuzz_copy(data, size);
    if (!text)
        return 0;
    struct pt_report_html_run other;
    struct pt_error err = {0};
    int rc = pt_report_html_run_parse(text, size, "other.json", &other, &err);
    fuzz_check_rc(rc, &err);
    if (rc < 0 && (other.points || other.n))
        abort();
    if (rc == 0) {
        if (!memchr(other.function, 0, sizeof(other.function)))
            abort();
        for (size_t i = 0; i < other.n; i++)
            if (other.points[i].power < PT_TUNE_POWER_MIN ||
                other.points[i].power > PT_TUNE_POWER_MAX ||
                (i > 0 && other.points[i].power < other.points[i - 1].power) ||
                !isfinite(other.points[i].duration) || other.points[i].duration < 0 ||
                !isfinite(other.points[i].cost) || other.points[i].cost < 0)
                abort();

        char *url = NULL;
        /* The currency check comes first in the CLI; a CNY run compares with a CNY run. */
        run.a.price.cny = other.cny;
        if (pt_report_html_compare_url(&run.in, &run.a, &other, &url, &err) == 0) {
            check_url(&other, url);
        } else if (err.code != PT_ELIMIT) {
            abort(); /* only too many points are refused */
        }
        struct pt_report_html r = {
            .in = &run.in,
            .a = &run.a,
            .samples = run.samples,
            .n_samples = sizeof(run.samples) / sizeof(run.samples[0]),
            .other = &other,
            .compare_url = url,
            .source = "powertune fuzz",
        };
        struct pt_buf page;
        pt_buf_init(&page, 0);
        if (pt_report_html_render(&r, &page, &err) != 0 || !page.data)
            abort();
        /* The other run's name is on the page; the check needs it free of such words. */
        if (!strpbrk(other.function, "nN") && has_nonfinite(page.data, url))
            abort();
        pt_buf_free(&page);
        free(url);
        run.a.price.cny = false;
        pt_report_html_run_free(&other);
    }
    free(text);
    return 0;
}
