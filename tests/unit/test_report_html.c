/*
 * test_report_html.c - the HTML report (tune/report_html.h): one SVG per chart with a mark
 * per power, hostile strings escaped, nothing fetched, excluded powers and a single power,
 * the compared run (ours and the reference tool's output), the atomic write.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "base/fs.h"
#include "base/str.h"
#include "lib/testutil.h"
#include "tune/report_html.h"
#include "tune/tune.h"

#define HOSTILE "<script>alert(\"x\")</script>&'<img src=x onerror=alert(1)>"

/* A run: powers[i] gets num samples, the first cold; duration falls with memory. */
struct fixture {
    struct pt_tune_input in;
    struct pt_price_model price;
    struct pt_tune_sample *samples;
    size_t n;
    struct pt_tune_analysis a;
};

static void fixture_build(struct fixture *f, const char *function, const int *powers,
                          size_t n_powers, long num, int failing_power, const char *error)
{
    struct pt_error err;
    pt_tune_input_init(&f->in);
    pt_strlcpy(f->in.function, function, sizeof(f->in.function));
    f->in.num = num;
    free(f->in.powers);
    f->in.powers = malloc(n_powers * sizeof(int));
    assert_non_null(f->in.powers);
    memcpy(f->in.powers, powers, n_powers * sizeof(int));
    f->in.n_powers = n_powers;
    pt_strlcpy(f->in.region, "us-east-1", sizeof(f->in.region));
    assert_int_equal(
        pt_price_model_init(&f->price, PT_PRICING_EXACT, "us-east-1", "x86_64", 0, &err), 0);
    f->n = n_powers * (size_t)num;
    f->samples = calloc(f->n, sizeof(*f->samples));
    assert_non_null(f->samples);
    size_t k = 0;
    for (size_t p = 0; p < n_powers; p++)
        for (long i = 0; i < num; i++) {
            struct pt_tune_sample *s = &f->samples[k++];
            s->power = powers[p];
            s->duration_ms = 12800.0 / powers[p] + (double)i * 1.5;
            s->billed_ms = (double)(long)s->duration_ms + 1;
            s->cold_start = i == 0;
            s->init_ms = i == 0 ? 40 + powers[p] / 64.0 : -1;
            s->max_memory_used_mb = 30;
            s->cpu_time_ms = s->duration_ms * 0.9;
            if (powers[p] == failing_power)
                pt_strlcpy(s->error, error, sizeof(s->error));
        }
    assert_int_equal(pt_tune_analyze(&f->in, &f->price, f->in.powers, f->in.n_powers, f->samples,
                                     f->n, NULL, &f->a, &err),
                     0);
}

static void fixture_free(struct fixture *f)
{
    pt_tune_analysis_free(&f->a);
    free(f->samples);
    pt_tune_input_free(&f->in);
}

static char *render(const struct fixture *f, const char *const *notes, size_t n_notes,
                    const struct pt_report_html_run *other, const char *compare_url)
{
    struct pt_report_html r = {
        .in = &f->in,
        .a = &f->a,
        .samples = f->samples,
        .n_samples = f->n,
        .notes = notes,
        .n_notes = n_notes,
        .other = other,
        .compare_url = compare_url,
        .source = "test",
    };
    struct pt_buf b;
    pt_buf_init(&b, 0);
    struct pt_error err;
    int rc = pt_report_html_render(&r, &b, &err);
    if (rc)
        fail_msg("render: %s", err.msg);
    return pt_buf_steal(&b, NULL);
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* The text of the SVG with the given id (up to its </svg>), malloc'd. */
static char *svg_of(const char *page, const char *id)
{
    char open[64];
    snprintf(open, sizeof(open), "<svg id=\"%s\"", id);
    const char *s = strstr(page, open);
    assert_non_null(s);
    const char *e = strstr(s, "</svg>");
    assert_non_null(e);
    return strndup(s, (size_t)(e - s));
}

static bool has_mark(const char *svg, const char *cls, int power)
{
    char want[96];
    snprintf(want, sizeof(want), "class=\"%s\" data-power=\"%d\"", cls, power);
    return strstr(svg, want) != NULL;
}

/* No NaN or infinity leaked into coordinates or figures. */
static void assert_numbers_finite(const char *page)
{
    static const char *bad[] = {"nan", "NaN", "inf\"", "inf ", "infinity", "-inf"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        if (strstr(page, bad[i]))
            fail_msg("page contains \"%s\" near: %.80s", bad[i], strstr(page, bad[i]) - 40);
}

/* Self-contained: nothing the browser would fetch; "http" only in the visualization
 * links (href and anchor text). */
static void assert_self_contained(const char *page)
{
    static const char *forbidden[] = {"<script", "<link",   "<img",       "<iframe", "<object",
                                      "<embed",  "@import", "@font-face", " src=\"", "xlink:href"};
    for (size_t i = 0; i < sizeof(forbidden) / sizeof(*forbidden); i++)
        if (strstr(page, forbidden[i]))
            fail_msg("page contains %s", forbidden[i]);
    for (const char *p = page; (p = strstr(p, "url(")); p += 4)
        assert_true(p[4] == '#'); /* only clip-path references inside the page */
    for (int scheme = 0; scheme < 2; scheme++)
        for (const char *p = page; (p = strstr(p, scheme ? "https://" : "http://")); p += 4) {
            if (!pt_str_starts_with(p, PT_TUNE_VIZ_BASE_URL))
                fail_msg("external reference: %.60s", p);
            assert_true(pt_str_starts_with(p - 6, "href=\"") || p[-1] == '>');
        }
}

static void test_charts_and_table(void **state)
{
    (void)state;
    const int powers[] = {512, 128, 256, 1024};
    struct fixture f;
    fixture_build(&f, "examples/cpu-c", powers, 4, 5, 0, "");
    char *page = render(&f, NULL, 0, NULL, NULL);
    assert_true(pt_str_starts_with(page, "<!DOCTYPE html>"));
    assert_int_equal(count(page, "<svg"), 4);
    assert_int_equal(count(page, "</svg>"), 4);
    const char *ids[] = {"chart-duration", "chart-cost", "chart-frontier", "chart-cold"};
    for (size_t c = 0; c < 4; c++) {
        char *svg = svg_of(page, ids[c]);
        for (size_t i = 0; i < 4; i++) {
            if (c < 3)
                assert_true(has_mark(svg, "pt-point", powers[i]) ||
                            has_mark(svg, "pt-point off-frontier", powers[i]));
            else
                assert_true(has_mark(svg, "pt-cold", powers[i]));
        }
        if (c < 2) {
            assert_non_null(strstr(svg, "class=\"pt-band\" d=\"M"));
            assert_non_null(strstr(svg, "class=\"pt-line\" d=\"M"));
            assert_int_equal(count(svg, "class=\"pt-whisker\""), 4);
        }
        if (c == 3)
            assert_int_equal(count(svg, "class=\"pt-bar\" x="), 4);
        free(svg);
    }
    /* Durations fall with memory and prices barely move: every power is on the frontier
     * and 1024 MB wins the balanced trade-off here. */
    char *svg = svg_of(page, "chart-frontier");
    assert_non_null(strstr(svg, "class=\"pt-frontier\" d=\"M"));
    assert_non_null(strstr(svg, "class=\"pt-iso\""));
    assert_non_null(strstr(svg, "balanced winner"));
    free(svg);
    /* The tables: every power, the winner under the run's strategy (cost) marked. */
    for (size_t i = 0; i < 4; i++) {
        char row[64];
        snprintf(row, sizeof(row), "data-power=\"%d\"><td>", powers[i]);
        assert_int_equal(count(page, row), 2); /* the full table and the cold-start table */
    }
    char winner[64];
    snprintf(winner, sizeof(winner), "<tr class=\"winner\" data-power=\"%d\">",
             f.a.powers[f.a.winner].power);
    assert_non_null(strstr(page, winner));
    assert_non_null(strstr(page, "id=\"table-recommendation\""));
    assert_non_null(strstr(page, "<dt>discardTopBottom</dt><dd>0.2</dd>"));
    assert_non_null(strstr(page, "<dt>region</dt><dd>us-east-1</dd>"));
    assert_non_null(strstr(page, "<dt>architecture</dt><dd>x86_64</dd>"));
    assert_numbers_finite(page);
    assert_self_contained(page);
    free(page);
    fixture_free(&f);
}

static void test_hostile_strings_escaped(void **state)
{
    (void)state;
    const int powers[] = {128, 256};
    struct fixture f;
    fixture_build(&f, "fn/" HOSTILE, powers, 2, 3, 256, HOSTILE);
    pt_strlcpy(f.in.allowed_exceptions[0], "</style><b>x", sizeof(f.in.allowed_exceptions[0]));
    f.in.n_allowed = 1;
    const char *notes[] = {"degraded emulation: " HOSTILE, "ctl\x01\x7f"};
    struct pt_report_html_run other = {0};
    pt_strlcpy(other.function, "other/" HOSTILE, sizeof(other.function));
    struct pt_viz_point pts[] = {{128, 90, 2e-7}, {256, 50, 2.1e-7}};
    other.points = pts;
    other.n = 2;
    char *page = render(&f, notes, 2, &other, NULL);
    assert_null(strstr(page, "<script"));
    assert_null(strstr(page, "<img"));
    assert_null(strstr(page, "</style><b>"));
    assert_null(strstr(page, "\x01"));
    assert_null(strstr(page, "\x7f"));
    assert_non_null(strstr(page, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"));
    assert_non_null(strstr(page, "&lt;/style&gt;&lt;b&gt;x"));
    assert_non_null(strstr(page, "ctl&#xFFFD;&#xFFFD;"));
    /* The failing power's error type, in its row, and its exclusion reason. */
    assert_non_null(strstr(page, "&lt;img src=x onerror=alert(1)&gt; \xc3\x97"
                                 "3"));
    /* One <style> element: nothing from the input closed it. */
    assert_int_equal(count(page, "<style>"), 1);
    assert_int_equal(count(page, "</style>"), 1);
    assert_self_contained(page);
    free(page);
    fixture_free(&f);
}

static void test_excluded_powers(void **state)
{
    (void)state;
    const int powers[] = {128, 256, 512};
    struct fixture f;
    fixture_build(&f, "examples/alloc-python", powers, 3, 5, 128, "Runtime.OutOfMemory");
    assert_true(f.a.powers[0].excluded);
    char *page = render(&f, NULL, 0, NULL, NULL);
    for (int c = 0; c < 2; c++) {
        char *svg = svg_of(page, c ? "chart-cost" : "chart-duration");
        assert_true(has_mark(svg, "pt-excluded", 128));
        assert_false(has_mark(svg, "pt-point", 128));
        assert_true(has_mark(svg, "pt-point", 256));
        assert_true(has_mark(svg, "pt-point", 512));
        assert_non_null(strstr(svg, "128 MB excluded: "));
        free(svg);
    }
    char *svg = svg_of(page, "chart-frontier");
    assert_false(strstr(svg, "data-power=\"128\""));
    free(svg);
    assert_non_null(strstr(page, "<tr class=\"excluded\" data-power=\"128\">"));
    assert_non_null(strstr(page, "<li data-power=\"128\">128 MB excluded: "));
    assert_non_null(strstr(page, "Runtime.OutOfMemory \xc3\x97"
                                 "5"));
    assert_numbers_finite(page);
    free(page);
    fixture_free(&f);

    /* Every power excluded: no recommendation, the page still complete. */
    fixture_build(&f, "examples/alloc-python", powers, 1, 3, 128, "Runtime.OutOfMemory");
    assert_int_equal(f.a.winner, -1);
    page = render(&f, NULL, 0, NULL, NULL);
    assert_non_null(strstr(page, "class=\"verdict none\""));
    assert_int_equal(count(page, "<svg"), 4);
    assert_non_null(strstr(page, "</html>"));
    assert_numbers_finite(page);
    free(page);
    fixture_free(&f);
}

static void test_single_power(void **state)
{
    (void)state;
    const int powers[] = {1769};
    struct fixture f;
    fixture_build(&f, "examples/cpu-c", powers, 1, 1, 0, "");
    char *page = render(&f, NULL, 0, NULL, NULL);
    assert_int_equal(count(page, "<svg"), 4);
    const char *ids[] = {"chart-duration", "chart-cost", "chart-frontier"};
    for (size_t c = 0; c < 3; c++) {
        char *svg = svg_of(page, ids[c]);
        assert_true(has_mark(svg, "pt-point", 1769));
        free(svg);
    }
    assert_non_null(strstr(page, "Recommended: <strong>1769 MB</strong>"));
    assert_numbers_finite(page);
    assert_self_contained(page);
    free(page);
    fixture_free(&f);
}

/* --compare: our own output, with an excluded power left out. */
static void test_compare_ours(void **state)
{
    (void)state;
    const int powers[] = {128, 256, 512};
    struct fixture old, now;
    fixture_build(&old, "examples/cpu-python", powers, 3, 5, 512, "Sandbox.Timedout");
    fixture_build(&now, "examples/cpu-c", powers, 3, 5, 0, "");
    json_t *doc = pt_tune_output_json(&old.in, &old.a, NULL, 0);
    struct pt_buf text;
    pt_buf_init(&text, 0);
    assert_int_equal(pt_tune_json_text(doc, 2, &text, NULL), 0);
    json_decref(doc);

    struct pt_report_html_run other;
    struct pt_error err;
    assert_int_equal(pt_report_html_run_parse(text.data, text.len, "old.json", &other, &err), 0);
    pt_buf_free(&text);
    assert_string_equal(other.function, "examples/cpu-python");
    assert_int_equal(other.n, 2);
    assert_int_equal(other.points[0].power, 128);
    assert_int_equal(other.points[1].power, 256);
    assert_true(other.points[0].duration == old.a.powers[0].average_duration);
    assert_true(other.points[1].cost == old.a.powers[1].average_price);
    assert_int_equal(pt_report_html_run_check(&other, &now.price, "old.json", &err), 0);
    struct pt_price_model pt;
    assert_int_equal(
        pt_price_model_init(&pt, PT_PRICING_POWER_TUNING, "us-east-1", "x86_64", 0, &err), 0);
    assert_int_equal(pt_report_html_run_check(&other, &pt, "old.json", &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "exact pricing and this run's of power-tuning pricing"));

    char *url = NULL;
    assert_int_equal(pt_report_html_compare_url(&now.in, &now.a, &other, &url, &err), 0);
    struct pt_viz_decoded d;
    assert_int_equal(pt_viz_decode(url, &d, &err), 0);
    assert_int_equal(d.na, 2);
    assert_int_equal(d.nb, 3);
    assert_string_equal(d.legend1, "examples/cpu-python");
    assert_string_equal(d.legend2, "examples/cpu-c");
    pt_viz_decoded_free(&d);

    char *page = render(&now, NULL, 0, &other, url);
    char *svg = svg_of(page, "chart-duration");
    assert_non_null(strstr(svg, "class=\"pt-other-line\" d=\"M"));
    assert_true(has_mark(svg, "pt-other-point", 128));
    assert_true(has_mark(svg, "pt-other-point", 256));
    assert_false(has_mark(svg, "pt-other-point", 512));
    assert_true(has_mark(svg, "pt-point", 512));
    free(svg);
    /* The legends name both functions. */
    assert_int_equal(count(page, "<i class=\"sw other\"></i>examples/cpu-python</span>"), 3);
    assert_int_equal(count(page, "<i class=\"sw line\"></i>examples/cpu-c</span>"), 3);
    svg = svg_of(page, "chart-frontier");
    assert_true(has_mark(svg, "pt-other-point", 256));
    free(svg);
    assert_non_null(strstr(page, "<dt>comparison</dt><dd><a href=\"" PT_TUNE_VIZ_BASE_URL "#"));
    assert_self_contained(page);
    free(page);
    free(url);

    /* The same function twice: "before" (the other) and "after". */
    pt_strlcpy(other.function, "examples/cpu-c", sizeof(other.function));
    const char *l1, *l2;
    pt_report_html_legends(now.in.function, &other, &l1, &l2);
    assert_string_equal(l1, "before");
    assert_string_equal(l2, "after");
    pt_report_html_run_free(&other);
    fixture_free(&old);
    fixture_free(&now);
}

/* --compare: the reference tool's output (its URL is decoded), and what is refused. */
static void test_compare_reference_and_refusals(void **state)
{
    (void)state;
    const char *ref = "{\"power\": 1024, \"cost\": 6.4896e-5, \"duration\": 3890.89, "
                      "\"stateMachine\": {\"executionCost\": 0.00045, \"lambdaCost\": 0.0012, "
                      "\"visualization\": \"https://lambda-power-tuning.show/#gAAAAQACAAQABsAL;"
                      "ZooQR4yvkUa/pQRGRC5zRaADHUVjOftE;QdWhOEMkoziDT5Q4xhiIOMYYiDi6RNc4\"}}";
    struct pt_report_html_run r;
    struct pt_error err;
    assert_int_equal(pt_report_html_run_parse(ref, strlen(ref), "ref.json", &r, &err), 0);
    assert_int_equal(r.n, 6);
    assert_int_equal(r.points[0].power, 128);
    assert_int_equal(r.points[5].power, 3008);
    assert_true(r.points[3].duration > 3890.8 && r.points[3].duration < 3891);
    assert_string_equal(r.function, "");
    const char *l1, *l2;
    pt_report_html_legends("examples/cpu-c", &r, &l1, &l2);
    assert_string_equal(l1, "before");
    struct pt_price_model cny;
    assert_int_equal(
        pt_price_model_init(&cny, PT_PRICING_POWER_TUNING, "cn-north-1", "x86_64", 0, &err), 0);
    assert_int_equal(pt_report_html_run_check(&r, &cny, "ref.json", &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "CNY"));
    /* Its costs are the reference's constants: a run priced exactly (request charge
     * included) is not compared with them. */
    struct pt_price_model exact, pt;
    assert_int_equal(
        pt_price_model_init(&exact, PT_PRICING_EXACT, "us-east-1", "x86_64", 0, &err), 0);
    assert_int_equal(pt_report_html_run_check(&r, &exact, "ref.json", &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "allowed --pricing power-tuning"));
    assert_int_equal(
        pt_price_model_init(&pt, PT_PRICING_POWER_TUNING, "us-east-1", "x86_64", 0, &err), 0);
    assert_int_equal(pt_report_html_run_check(&r, &pt, "ref.json", &err), 0);
    pt_report_html_run_free(&r);
    /* The same output wrapped as the reference's README shows it (#265). */
    char wrapped[1024];
    snprintf(wrapped, sizeof(wrapped), "{\"results\": %s}", ref);
    assert_int_equal(pt_report_html_run_parse(wrapped, strlen(wrapped), "ref.json", &r, &err), 0);
    assert_int_equal(r.n, 6);
    assert_int_equal(r.points[5].power, 3008);
    pt_report_html_run_free(&r);

    static const struct {
        const char *text, *want;
    } bad[] = {
        {"null", "dry run"},
        {"not json", "not JSON"},
        {"[1, 2]", "JSON object"},
        {"{\"power\": 128}", "stateMachine.visualization"},
        {"{\"stateMachine\": {\"visualization\": \"https://x/#a;b\"}}", "parts"},
        /* Powers outside Lambda's range: the message used to read the freed points (found
         * by fuzz_tune_compare; a crash for any point but the first). */
        {"{\"stateMachine\": {\"visualization\": \"AQACAAMA;AAAAQAAAAEAAAIA/;AABAQAAAAEAAAABA\"}}",
         "point 0 (power 1)"},
        {"{\"stateMachine\": {\"visualization\": \"https://x/#gAABAA==;AAAAQAAAAEA=;AAAAQAAAAEA=\"}}",
         "point 1 (power 1)"},
        {"{\"powertune\": {\"powers\": [{\"power\": 64, \"averageDuration\": 1, "
         "\"averagePrice\": 1}]}}",
         "powers[0].power"},
        {"{\"powertune\": {\"powers\": [{\"power\": 128, \"averageDuration\": \"1\", "
         "\"averagePrice\": 1}]}}",
         "powers[0].averageDuration"},
        /* Past float32: the charts' axis arithmetic overflowed to Infinity and converted it
         * to an int (found by fuzz_tune_compare). */
        {"{\"powertune\": {\"powers\": [{\"power\": 128, \"averageDuration\": 1.7976931348623157e308, "
         "\"averagePrice\": 0}]}}",
         "powers[0].averageDuration"},
        {"{\"powertune\": {\"powers\": [{\"power\": 128, \"averageDuration\": 1, "
         "\"averagePrice\": 3.5e38}]}}",
         "powers[0].averagePrice"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        int rc = pt_report_html_run_parse(bad[i].text, strlen(bad[i].text), "o.json", &r, &err);
        assert_int_equal(rc, PT_EUSAGE);
        if (!strstr(err.msg, bad[i].want) || !strstr(err.msg, "o.json"))
            fail_msg("%s: message \"%s\" lacks \"%s\"", bad[i].text, err.msg, bad[i].want);
        assert_null(r.points);
    }
}

/* A run of one sample per power from the given durations (analyze of a samples file). */
static void fixture_samples(struct fixture *f, const int *powers, const double *durations,
                            size_t n)
{
    struct pt_error err;
    pt_tune_input_init(&f->in);
    pt_strlcpy(f->in.function, "examples/cpu-c", sizeof(f->in.function));
    f->in.num = 1;
    free(f->in.powers);
    f->in.powers = malloc(n * sizeof(int));
    assert_non_null(f->in.powers);
    memcpy(f->in.powers, powers, n * sizeof(int));
    f->in.n_powers = n;
    pt_strlcpy(f->in.region, "us-east-1", sizeof(f->in.region));
    assert_int_equal(
        pt_price_model_init(&f->price, PT_PRICING_EXACT, "us-east-1", "x86_64", 0, &err), 0);
    f->n = n;
    f->samples = calloc(n, sizeof(*f->samples));
    assert_non_null(f->samples);
    for (size_t i = 0; i < n; i++) {
        f->samples[i].power = powers[i];
        f->samples[i].duration_ms = durations[i];
        f->samples[i].billed_ms = 1;
        f->samples[i].init_ms = i == 0 ? 0 : -1;
    }
    assert_int_equal(pt_tune_analyze(&f->in, &f->price, f->in.powers, f->in.n_powers, f->samples,
                                     f->n, NULL, &f->a, &err),
                     0);
}

/* Figures the axes cannot divide into ticks: a denormal duration used to give a step of 0
 * (an infinite log10 converted to int), durations one double apart a step too small to
 * advance the tick loop, which then never ended (both found by fuzz_tune_samples_file). */
static void test_axes_degenerate_figures(void **state)
{
    (void)state;
    static const int powers[] = {128, 256};
    static const double tiny[] = {5e-324, 5e-324};
    static const double close[] = {86400000.0, 86399999.99999999};
    const double *cases[] = {tiny, close};
    for (size_t c = 0; c < 2; c++) {
        struct fixture f;
        fixture_samples(&f, powers, cases[c], 2);
        char *page = render(&f, NULL, 0, NULL, NULL);
        assert_numbers_finite(page);
        char *svg = svg_of(page, "chart-frontier");
        assert_true(count(svg, "<text") < 40); /* a handful of ticks per axis */
        free(svg);
        free(page);
        fixture_free(&f);
    }
}

/* The largest figures --compare takes still draw finite charts. */
static void test_compare_extreme_figures(void **state)
{
    (void)state;
    const char *text = "{\"powertune\": {\"powers\": [{\"power\": 128, \"averageDuration\": "
                       "3.4028234663852886e38, \"averagePrice\": 3.4028234663852886e38}, "
                       "{\"power\": 10240, \"averageDuration\": 0, \"averagePrice\": 0}]}}";
    struct pt_report_html_run other;
    struct pt_error err;
    assert_int_equal(pt_report_html_run_parse(text, strlen(text), "big.json", &other, &err), 0);
    assert_int_equal(other.n, 2);
    const int powers[] = {128, 512};
    struct fixture f;
    fixture_build(&f, "examples/cpu-c", powers, 2, 5, 0, "");
    char *page = render(&f, NULL, 0, &other, NULL);
    assert_numbers_finite(page);
    free(page);
    fixture_free(&f);
    pt_report_html_run_free(&other);
}

static void test_write_atomic(void **state)
{
    (void)state;
    const int powers[] = {128, 256};
    struct fixture f;
    fixture_build(&f, "examples/cpu-c", powers, 2, 5, 0, "");
    char *dir = tu_mkdtemp();
    char path[4096];
    snprintf(path, sizeof(path), "%s/r.html", dir);
    struct pt_report_html r = {.in = &f.in, .a = &f.a, .samples = f.samples, .n_samples = f.n};
    struct pt_error err;
    assert_int_equal(pt_report_html_write(path, &r, &err), 0);
    struct pt_buf b;
    pt_buf_init(&b, 0);
    assert_int_equal(pt_file_read(path, 1 << 22, &b, &err), 0);
    assert_true(pt_str_starts_with(b.data, "<!DOCTYPE html>"));
    assert_true(pt_str_ends_with(b.data, "</html>\n"));
    pt_buf_free(&b);
    /* Without samples: no bands, everything else drawn. */
    r.samples = NULL;
    r.n_samples = 0;
    pt_buf_init(&b, 0);
    assert_int_equal(pt_report_html_render(&r, &b, &err), 0);
    assert_null(strstr(b.data, "class=\"pt-band\" d="));
    assert_non_null(strstr(b.data, "class=\"pt-point\" data-power=\"256\""));
    pt_buf_free(&b);
    snprintf(path, sizeof(path), "%s/missing/r.html", dir);
    assert_true(pt_report_html_write(path, &r, &err) < 0);
    tu_rmtree(dir);
    free(dir);
    fixture_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_charts_and_table),
        cmocka_unit_test(test_hostile_strings_escaped),
        cmocka_unit_test(test_excluded_powers),
        cmocka_unit_test(test_single_power),
        cmocka_unit_test(test_compare_ours),
        cmocka_unit_test(test_compare_reference_and_refusals),
        cmocka_unit_test(test_compare_extreme_figures),
        cmocka_unit_test(test_axes_degenerate_figures),
        cmocka_unit_test(test_write_atomic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
