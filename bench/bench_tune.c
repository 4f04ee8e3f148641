/*
 * bench_tune - the tuner's goals (issue 4), measured through the library the way
 * `powertune tune` runs: pt_runner_run over the local engine target. Prints a Markdown
 * section and, with --results FILE, puts it in FILE as its "## Tuner (issue 4)" section
 * (the other sections are left byte for byte as they are).
 *
 *   overhead: a ~10 ms function (cpu-c calibrated at 1769 MB) tuned through the runner
 *             versus the same invocations through pt_engine_invoke; goal: the tuner adds
 *             under 1 % of the wall time. Also the runner's own bookkeeping per invocation
 *             (a target that returns at once), which is what the wall-time difference is
 *             made of without the host's noise.
 *   adaptive: --adaptive versus the fixed run (num 20) on the examples at 128..1769 MB,
 *             per strategy: invocations used; strict agreement with a fixed run of the same
 *             repetition; agreement within the tolerance judged by that fixed run's own
 *             samples (a separate column); how often two fixed runs agree (the noise
 *             ceiling); goal: the same recommendation with at least 3x fewer invocations.
 *
 * Usage: build/bench/bench_tune [--quick] [--results bench/RESULTS.md]   (root, repo root)
 *        build/bench/bench_tune [--quick] --only EXAMPLE   (the adaptive rows of one example,
 *        printed only: a partial section must not replace the whole one in RESULTS.md)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/fs.h"
#include "base/str.h"
#include "engine/engine.h"
#include "tune/adaptive.h"
#include "tune/runner.h"
#include "tune/target_local.h"
#include "tune/tune.h"

#define SECTION "## Tuner (issue 4)"
#define RESULTS_MAX (4 * 1024 * 1024)

struct bench {
    char root[4096];
    char state[64];
    struct pt_engine *engine;
    bool quick;
    const char *only; /* one example's adaptive rows, nothing else */
    FILE *md; /* the Markdown, also printed */
};

static void die(const char *what, const struct pt_error *err)
{
    fprintf(stderr, "bench_tune: %s: %s\n", what, err ? err->msg : "failed");
    exit(1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void config_of(struct bench *b, const char *example, int memory,
                      struct pt_function_config *c)
{
    char path[4200];
    struct pt_error err = {0};
    snprintf(path, sizeof(path), "%s/examples/%s", b->root, example);
    pt_function_config_init(c);
    if (pt_function_detect(c, path, &err))
        die(example, &err);
    c->memory_mb = memory;
    c->timeout_s = 60;
}

static double invoke_ms(struct bench *b, struct pt_function *fn, const char *payload)
{
    struct pt_invoke_request req = {.payload = payload, .payload_len = strlen(payload)};
    struct pt_invoke_result r;
    struct pt_error err = {0};
    if (pt_engine_invoke(b->engine, fn, &req, &r, &err))
        die("invoke", &err);
    if (r.function_error)
        die("function error", NULL);
    double d = r.duration_ms;
    pt_invoke_result_free(&r);
    return d;
}

/* The payload `field` such that the example runs ~target_ms warm at 1769 MB. */
static long calibrate(struct bench *b, const char *example, const char *field, long probe,
                      double target_ms)
{
    struct pt_function_config c;
    config_of(b, example, 1769, &c);
    struct pt_function *fn;
    struct pt_error err = {0};
    if (pt_engine_function_add(b->engine, &c, &fn, &err))
        die(example, &err);
    char payload[128];
    snprintf(payload, sizeof(payload), "{\"%s\": %ld}", field, probe);
    double d[5];
    invoke_ms(b, fn, payload); /* cold */
    for (int i = 0; i < 5; i++)
        d[i] = invoke_ms(b, fn, payload);
    pt_engine_function_remove(b->engine, fn);
    pt_function_config_free(&c);
    return (long)((double)probe * target_ms / median(d, 5));
}

/* One tuning through the runner; returns its wall time in ms. */
static double tune(struct bench *b, struct pt_tune_input *in, const char *example,
                   const char *samples_path, struct pt_runner_report *rep)
{
    struct pt_function_config c;
    config_of(b, example, 128, &c);
    struct pt_local_target *lt;
    struct pt_error err = {0};
    if (pt_local_target_create(&lt, b->engine, &c, &err))
        die("target", &err);
    struct pt_target t;
    pt_local_target_as_target(lt, &t);
    struct pt_samples_writer w;
    struct pt_samples_header h = {0};
    pt_strlcpy(h.function, in->function, sizeof(h.function));
    pt_strlcpy(h.region, in->region, sizeof(h.region));
    pt_strlcpy(h.architecture, in->architecture, sizeof(h.architecture));
    if (samples_path && pt_samples_writer_open(&w, samples_path, &h, false, &err))
        die("samples", &err);
    struct pt_runner_options opt = {.samples = samples_path ? &w : NULL};
    int64_t t0 = pt_mono_ns();
    if (pt_runner_run(in, in->payload, &t, &opt, rep, &err))
        die("run", &err);
    double ms = (double)(pt_mono_ns() - t0) / 1e6;
    if (samples_path)
        pt_samples_writer_close(&w, NULL);
    pt_local_target_destroy(lt);
    pt_function_config_free(&c);
    return ms;
}

static void input_for(struct pt_tune_input *in, const char *example, const char *powers, long num,
                      const char *payload, enum pt_tune_strategy s, bool adaptive)
{
    struct pt_error err = {0};
    pt_tune_input_init(in);
    if (pt_tune_input_set_function(in, example, &err) ||
        pt_tune_input_set_powers(in, powers, &err) ||
        pt_tune_input_set_payload_text(in, payload, strlen(payload), &err))
        die("input", &err);
    pt_strlcpy(in->region, "us-east-1", sizeof(in->region));
    in->num = num;
    in->strategy = s;
    in->adaptive = adaptive;
    if (pt_tune_input_validate(in, &err))
        die("input", &err);
}

/* ----------------------------------------------------------- overhead -- */

/* A target that answers at once: what is left is the runner's own work per invocation. */
static int null_prepare(void *ctx, int power, struct pt_error *err)
{
    (void)ctx, (void)power, (void)err;
    return 0;
}
static int null_invoke(void *ctx, int power, const char *payload, size_t len, bool cold,
                       struct pt_target_result *out, struct pt_error *err)
{
    (void)ctx, (void)power, (void)payload, (void)len, (void)err;
    out->duration_ms = 10.0;
    out->billed_ms = 10;
    out->init_ms = cold ? 5 : -1;
    out->max_memory_used_mb = 20;
    return 0;
}
static int null_processor(void *ctx, const char *fn, const char *payload, size_t len,
                          struct pt_target_result *out, struct pt_error *err)
{
    (void)ctx, (void)fn, (void)payload, (void)len, (void)out;
    return pt_error_set(err, PT_ENOTFOUND, "none");
}
static void null_finish(void *ctx, int power)
{
    (void)ctx, (void)power;
}
static const struct pt_target_ops null_ops = {null_prepare, null_invoke, null_processor,
                                              null_finish};

static void bench_overhead(struct bench *b)
{
    long iters = calibrate(b, "cpu-c", "iterations", 6000000, 10.0);
    char payload[128];
    snprintf(payload, sizeof(payload), "{\"iterations\": %ld}", iters);
    int pairs = b->quick ? 3 : 7;
    long n = b->quick ? 40 : 100;
    double direct[16], runner[16], ratio[16], per_direct[16];
    char samples[4200];
    snprintf(samples, sizeof(samples), "%s/overhead.jsonl", b->state);
    for (int p = 0; p < pairs; p++) {
        /* Direct: register at 1769 MB, n invocations (the first cold), remove - the same
         * engine work the runner asks for, without the runner. */
        struct pt_function_config c;
        config_of(b, "cpu-c", 1769, &c);
        struct pt_error err = {0};
        int64_t t0 = pt_mono_ns();
        struct pt_function *fn;
        if (pt_engine_function_add(b->engine, &c, &fn, &err))
            die("cpu-c", &err);
        for (long i = 0; i < n; i++)
            invoke_ms(b, fn, payload);
        pt_engine_function_remove(b->engine, fn);
        direct[p] = (double)(pt_mono_ns() - t0) / 1e6;
        pt_function_config_free(&c);
        per_direct[p] = direct[p] / (double)n;

        /* The runner: the same n invocations as a one-power tuning, samples streamed. */
        struct pt_tune_input in;
        input_for(&in, "cpu-c", "1769", n, payload, PT_STRATEGY_COST, false);
        struct pt_runner_report rep = {0};
        runner[p] = tune(b, &in, "cpu-c", samples, &rep);
        pt_runner_report_free(&rep);
        pt_tune_input_free(&in);
        ratio[p] = runner[p] / direct[p] - 1;
    }
    /* Bookkeeping alone: many invocations of the null target, samples streamed. */
    long nn = b->quick ? 20000 : 100000;
    struct pt_tune_input in;
    input_for(&in, "cpu-c", "1769", nn, payload, PT_STRATEGY_COST, false);
    struct pt_target t = {.ops = &null_ops, .ctx = NULL, .description = "null"};
    struct pt_samples_writer w;
    struct pt_samples_header h = {.function = "cpu-c", .region = "us-east-1",
                                  .architecture = "x86_64"};
    struct pt_error err = {0};
    if (pt_samples_writer_open(&w, samples, &h, false, &err))
        die("samples", &err);
    struct pt_runner_options opt = {.samples = &w};
    struct pt_runner_report rep = {0};
    int64_t t0 = pt_mono_ns();
    if (pt_runner_run(&in, in.payload, &t, &opt, &rep, &err))
        die("null run", &err);
    double book_us = (double)(pt_mono_ns() - t0) / 1e3 / (double)nn;
    pt_samples_writer_close(&w, NULL);
    pt_runner_report_free(&rep);
    pt_tune_input_free(&in);

    double md = median(per_direct, (size_t)pairs);
    double mr = median(ratio, (size_t)pairs) * 100;
    double lo = ratio[0], hi = ratio[0];
    for (int p = 0; p < pairs; p++) {
        lo = fmin(lo, ratio[p]);
        hi = fmax(hi, ratio[p]);
    }
    fprintf(b->md,
            "**Tuner overhead**: cpu-c at 1769 MB, %ld iterations (calibrated to ~10 ms warm), "
            "%ld invocations per run (the first cold), %d alternating pairs of runs.\n\n"
            "| Measurement | Result | Goal |\n|---|---|---|\n"
            "| wall time per invocation, pt_engine_invoke directly (median of runs) | %.2f ms | |\n"
            "| runner (samples streamed) vs direct, whole run | median %+.2f %% (runs: %+.2f .. %+.2f %%) | < 1 %% |\n"
            "| runner bookkeeping per invocation (null target, %ld invocations, samples streamed) | %.2f us = %.3f %% of the direct invocation | < 1 %% |\n\n",
            iters, n, pairs, md, mr, lo * 100, hi * 100, nn, book_us, book_us / 1e3 / md * 100);
}

/* ----------------------------------------------------------- adaptive -- */

struct acase {
    const char *example;
    const char *field; /* calibrated payload field */
    long probe;
    const char *fixed_payload; /* instead of calibrating */
    const char *label;
};

/* The strategy's scores of a fixed run's powers, as its analysis computes them (trimmed
 * means; balanced normalised by the run's own maxima); score[i] NAN when excluded.
 * Returns the run's recommended power. */
static int scores_of(const struct pt_tune_input *in, const struct pt_runner_report *rep,
                     enum pt_tune_strategy s, double *score)
{
    struct pt_tune_input copy = *in; /* strategy only: the analysis reads, never frees */
    copy.strategy = s;
    struct pt_price_model m;
    struct pt_tune_analysis a;
    struct pt_error err = {0};
    if (pt_price_model_init(&m, in->pricing, "us-east-1", "x86_64", 0, &err) ||
        pt_tune_analyze(&copy, &m, in->powers, in->n_powers, rep->samples, rep->n_samples, NULL,
                        &a, &err))
        die("analyze", &err);
    double max_c = 0, max_d = 0;
    for (size_t i = 0; i < a.n_powers; i++)
        if (!a.powers[i].excluded) {
            max_c = fmax(max_c, a.powers[i].average_price);
            max_d = fmax(max_d, a.powers[i].average_duration);
        }
    for (size_t i = 0; i < a.n_powers; i++) {
        const struct pt_tune_power_stats *p = &a.powers[i];
        double c = p->average_price, d = p->average_duration;
        score[i] = p->excluded              ? NAN
                   : s == PT_STRATEGY_COST  ? c
                   : s == PT_STRATEGY_SPEED ? d
                                            : in->balanced_weight * c / max_c +
                                                  (1 - in->balanced_weight) * d / max_d;
    }
    int w = a.winner >= 0 ? a.powers[a.winner].power : -1;
    pt_tune_analysis_free(&a);
    return w;
}

static long power_index(const struct pt_tune_input *in, int power)
{
    for (size_t i = 0; i < in->n_powers; i++)
        if (in->powers[i] == power)
            return (long)i;
    return -1;
}

/* By fixed run A's scores, power is at most tol above A's winner. */
static bool within_tolerance(const struct pt_tune_input *in, const double *score_a, int power,
                             int winner, double tol)
{
    long pi = power_index(in, power), wi = power_index(in, winner);
    return pi >= 0 && wi >= 0 && score_a[pi] <= score_a[wi] * (1 + tol);
}

/* One function x strategy row over the repetitions. */
struct arow {
    int fixed[8], fixed2[8], adaptive[8];
    bool within[8];
    bool within2[8]; /* fixed run B's pick judged by A's samples, as the adaptive one is */
    enum pt_adaptive_stop stop[8];
    double used[8];
};

static void append_list(char *out, size_t size, const int *v, int n)
{
    for (int r = 0; r < n; r++) {
        size_t l = strlen(out);
        snprintf(out + l, size - l, "%s%d", r ? ", " : "", v[r]);
    }
}

/* Returns 2 when --only names no example of the table (a typo must not print an empty section). */
static int bench_adaptive(struct bench *b)
{
    const char *powers = "128,256,512,1024,1769";
    const long num = 20, n_powers = 5;
    int reps = b->quick ? 1 : 5;
    const double tol = PT_TUNE_ADAPTIVE_TOLERANCE;
    struct acase cases[] = {
        {"cpu-c", "iterations", 60000000, NULL, "cpu-c (~100 ms at 1769 MB)"},
        {"fibonacci-python", "n", 50000, NULL, "fibonacci-python (~100 ms at 1769 MB)"},
        {"io-bound-python", NULL, 0, "{\"calls\": 1, \"latency_ms\": 20}",
         "io-bound-python (1 call, 20 ms latency)"},
    };
    if (b->only) {
        bool known = false;
        for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
            known = known || strcmp(b->only, cases[c].example) == 0;
        if (!known) {
            fprintf(stderr, "bench_tune: --only: no example '%s' (allowed: cpu-c, "
                            "fibonacci-python, io-bound-python)\n", b->only);
            return 2;
        }
    }
    fprintf(b->md,
            "**Adaptive vs fixed**: powers %s, num %ld (fixed: %ld invocations), %d "
            "repetition%s, --adaptive-tolerance %g %% (the default). Each repetition runs two "
            "fixed tunings, A and B (their samples give the fixed answer under every "
            "strategy), and one --adaptive tuning per strategy. Same (the goal's criterion): "
            "the adaptive recommendation is A's, or A's own samples cannot tell it from A's at "
            "the tolerance (by A's trimmed means its score is at most %g %% above that of A's "
            "winner): a fixed run picks among sizes that close by noise, see the noise ceiling. "
            "Strict: it is A's. Noise ceiling: A's recommendation is B's (how often a fixed run "
            "reproduces itself). B the same: fixed run B's pick judged by A's samples as the "
            "adaptive one is (the same criterion's ceiling: what a second full run scores). "
            "Stop: how the adaptive runs ended - settled (95 %% "
            "family-wise that the pick is within the tolerance of the best) / tied (the sizes "
            "left could not be settled within num either, by the projection) / behind (the sizes "
            "left would be settled within num but could not overtake the pick, 95 %% "
            "predictive) / num reached.\n\n"
            "| Function | Strategy | Fixed A | Fixed B | Adaptive | Same | Strict "
            "| Noise ceiling (A = B) | B the same | Stop: settled / tied / behind / num "
            "| Adaptive invocations (median) | Fewer by "
            "| Goal (same in every repetition, >= 3x) |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
            powers, num, num * n_powers, reps, reps > 1 ? "s" : "", tol * 100, tol * 100);
    double all_ratio[64];
    int n_all = 0, strict_all = 0, within_all = 0, ceiling_all = 0, within_b_all = 0,
        runs_all = 0, met = 0, rows = 0;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        char dir[4200];
        struct stat st;
        if (b->only && strcmp(b->only, cases[c].example) != 0)
            continue;
        snprintf(dir, sizeof(dir), "%s/examples/%s", b->root, cases[c].example);
        if (stat(dir, &st) != 0) {
            fprintf(b->md, "| %s | | not present in this checkout | | | | | | | | | | |\n",
                    cases[c].label);
            continue;
        }
        char payload[128];
        if (cases[c].fixed_payload)
            pt_strlcpy(payload, cases[c].fixed_payload, sizeof(payload));
        else
            snprintf(payload, sizeof(payload), "{\"%s\": %ld}", cases[c].field,
                     calibrate(b, cases[c].example, cases[c].field, cases[c].probe, 100.0));
        struct arow row[PT_STRATEGY_COUNT];
        memset(row, 0, sizeof(row));
        for (int r = 0; r < reps; r++) {
            struct pt_tune_input in;
            input_for(&in, cases[c].example, powers, num, payload, PT_STRATEGY_COST, false);
            struct pt_runner_report ra = {0}, rb = {0};
            tune(b, &in, cases[c].example, NULL, &ra);
            tune(b, &in, cases[c].example, NULL, &rb);
            for (int s = 0; s < PT_STRATEGY_COUNT; s++) {
                double score_a[16], score_b[16];
                row[s].fixed[r] = scores_of(&in, &ra, (enum pt_tune_strategy)s, score_a);
                row[s].fixed2[r] = scores_of(&in, &rb, (enum pt_tune_strategy)s, score_b);
                struct pt_tune_input ain;
                struct pt_runner_report arep = {0};
                input_for(&ain, cases[c].example, powers, num, payload, (enum pt_tune_strategy)s,
                          true);
                tune(b, &ain, cases[c].example, NULL, &arep);
                int pick = pt_adaptive_recommendation(&arep.adaptive);
                row[s].adaptive[r] = pick;
                row[s].used[r] = (double)arep.n_samples;
                row[s].stop[r] = arep.adaptive.stop;
                row[s].within[r] = within_tolerance(&in, score_a, pick, row[s].fixed[r], tol);
                row[s].within2[r] =
                    within_tolerance(&in, score_a, row[s].fixed2[r], row[s].fixed[r], tol);
                pt_runner_report_free(&arep);
                pt_tune_input_free(&ain);
            }
            pt_runner_report_free(&ra);
            pt_runner_report_free(&rb);
            pt_tune_input_free(&in);
        }
        for (int s = 0; s < PT_STRATEGY_COUNT; s++) {
            char fa[128] = "", fb[128] = "", aw[128] = "";
            append_list(fa, sizeof(fa), row[s].fixed, reps);
            append_list(fb, sizeof(fb), row[s].fixed2, reps);
            append_list(aw, sizeof(aw), row[s].adaptive, reps);
            int strict = 0, within = 0, ceiling = 0, within_b = 0;
            int stops[PT_ADAPTIVE_STOP_NUM + 1] = {0};
            for (int r = 0; r < reps; r++) {
                strict += row[s].fixed[r] == row[s].adaptive[r];
                within += row[s].within[r] || row[s].fixed[r] == row[s].adaptive[r];
                ceiling += row[s].fixed[r] == row[s].fixed2[r];
                within_b += row[s].within2[r];
                stops[row[s].stop[r]]++;
            }
            double m = median(row[s].used, (size_t)reps);
            double ratio = (double)(num * n_powers) / m;
            bool goal = within == reps && ratio >= 3;
            all_ratio[n_all++] = ratio;
            strict_all += strict;
            within_all += within;
            ceiling_all += ceiling;
            within_b_all += within_b;
            runs_all += reps;
            met += goal;
            rows++;
            fprintf(b->md,
                    "| %s | %s | %s | %s | %s | %d/%d | %d/%d | %d/%d | %d/%d | %d / %d / %d / %d "
                    "| %.0f of %ld | %.1fx | %s |\n",
                    cases[c].label, pt_tune_strategy_name((enum pt_tune_strategy)s), fa, fb, aw,
                    within, reps, strict, reps, ceiling, reps, within_b, reps,
                    stops[PT_ADAPTIVE_STOP_SETTLED], stops[PT_ADAPTIVE_STOP_TIED],
                    stops[PT_ADAPTIVE_STOP_BEHIND], stops[PT_ADAPTIVE_STOP_NUM], m, num * n_powers,
                    ratio, goal ? "met" : "not met");
        }
    }
    fprintf(b->md,
            "\nOverall: strict agreement with fixed run A in %d of %d runs; the same (A's, or "
            "within the %g %% tolerance by A's own samples) in %d of %d; fixed runs A and B "
            "agreed with each other in %d of %d (the noise ceiling of strict agreement), and "
            "B was the same as A by the criterion in %d of %d (its ceiling); invocations fewer "
            "by a median %.1fx over the function x strategy rows; goal (the "
            "same in every repetition and >= 3x fewer) met in %d of %d rows.\n"
            "Test: %s; %.0f %% family-wise; min %d per power (the cold start left out of the "
            "test), rounds of %d.\n",
            strict_all, runs_all, tol * 100, within_all, runs_all, ceiling_all, runs_all,
            within_b_all, runs_all, n_all ? median(all_ratio, (size_t)n_all) : 0, met, rows,
            PT_ADAPTIVE_TEST_NAME,
            PT_ADAPTIVE_CONFIDENCE * 100, PT_ADAPTIVE_MIN_SAMPLES, PT_ADAPTIVE_BATCH);
    return 0;
}

/* ------------------------------------------------------------ results -- */

/* The first line at or after from that starts with prefix; NULL: none. */
static const char *line_starting(const char *o, size_t olen, const char *from, const char *prefix)
{
    size_t pl = strlen(prefix);
    const char *end = o + olen;
    for (const char *p = from; p && p < end;) {
        if ((size_t)(end - p) >= pl && memcmp(p, prefix, pl) == 0)
            return p;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : NULL;
    }
    return NULL;
}

/* Replaces (or appends) the SECTION of path with text; the rest is kept byte for byte. */
static int write_results(const char *path, const char *text, size_t len)
{
    struct pt_buf old, out;
    struct pt_error err = {0};
    pt_buf_init(&old, RESULTS_MAX);
    pt_buf_init(&out, RESULTS_MAX + len + 2);
    int rc = 0;
    if (access(path, F_OK) == 0 && (rc = pt_file_read(path, RESULTS_MAX, &old, &err)))
        goto out;
    const char *o = old.data ? old.data : "";
    size_t olen = old.len;
    /* The section: from its heading line to the next "## " heading (or the end). */
    const char *start = line_starting(o, olen, o, SECTION);
    if (start) {
        const char *nl = memchr(start, '\n', (size_t)(o + olen - start));
        const char *next = nl ? line_starting(o, olen, nl + 1, "## ") : NULL;
        rc = pt_buf_append(&out, o, (size_t)(start - o), &err);
        if (!rc)
            rc = pt_buf_append(&out, text, len, &err);
        if (!rc && next) /* one blank line before the next section */
            rc = pt_buf_append(&out, "\n", 1, &err);
        if (!rc && next)
            rc = pt_buf_append(&out, next, (size_t)(o + olen - next), &err);
    } else {
        rc = pt_buf_append(&out, o, olen, &err);
        if (!rc && olen && o[olen - 1] != '\n')
            rc = pt_buf_append(&out, "\n", 1, &err);
        if (!rc && olen)
            rc = pt_buf_append(&out, "\n", 1, &err);
        if (!rc)
            rc = pt_buf_append(&out, text, len, &err);
    }
    if (!rc)
        rc = pt_file_write_atomic(path, out.data, out.len, &err);
out:
    if (rc)
        fprintf(stderr, "bench_tune: %s: %s\n", path, err.msg);
    pt_buf_free(&old);
    pt_buf_free(&out);
    return rc;
}

int main(int argc, char **argv)
{
    struct bench b = {0};
    const char *results = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            b.quick = true;
        else if (strcmp(argv[i], "--results") == 0 && i + 1 < argc)
            results = argv[++i];
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            b.only = argv[++i];
        else {
            fprintf(stderr, "usage: bench_tune [--quick] [--results FILE.md | --only EXAMPLE]\n");
            return 2;
        }
    }
    if (results && b.only) {
        fprintf(stderr, "bench_tune: --only prints part of the section; not with --results\n");
        return 2;
    }
    if (!getcwd(b.root, sizeof(b.root)))
        return 1;
    snprintf(b.state, sizeof(b.state), "/tmp/powertune-bench-tune-XXXXXX");
    if (!mkdtemp(b.state))
        return 1;
    char rt[4200];
    snprintf(rt, sizeof(rt), "%s/runtimes", b.root);
    struct pt_engine_options opt = {.state_dir = b.state, .runtime_dir = rt};
    struct pt_error err = {0};
    if (pt_engine_create(&b.engine, &opt, &err))
        die("engine", &err);
    char *text = NULL;
    size_t len = 0;
    b.md = open_memstream(&text, &len);
    if (!b.md)
        return 1;

    struct utsname u;
    uname(&u);
    char date[32];
    time_t now = time(NULL);
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&now));
    char cpu[512] = "unknown CPU", line[512], load[64] = "?";
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "model name", 10) == 0) {
            char *c = strchr(line, ':');
            snprintf(cpu, sizeof(cpu), "%s", c ? c + 2 : line);
            cpu[strcspn(cpu, "\n")] = 0;
            break;
        }
    if (f)
        fclose(f);
    pt_file_read_small("/proc/loadavg", load, sizeof(load), NULL);
    load[strcspn(load, "\n")] = 0;
    fprintf(b.md, SECTION ", %s\n\nMachine: %s, %ld cores, Linux %s; %s; load average at the "
                  "start: %s (the host is shared: the wall-time figures carry its noise).\n\n",
            date, cpu, sysconf(_SC_NPROCESSORS_ONLN), u.release, pt_engine_describe(b.engine),
            load);
    if (!b.only)
        bench_overhead(&b);
    int usage = bench_adaptive(&b);
    pt_file_read_small("/proc/loadavg", load, sizeof(load), NULL);
    load[strcspn(load, "\n")] = 0;
    fprintf(b.md, "\nLoad average at the end: %s.\n", load);
    fclose(b.md);
    fwrite(text, 1, len, stdout);
    int rc = results ? write_results(results, text, len) : 0;
    free(text);
    pt_engine_destroy(b.engine);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", b.state);
    if (system(cmd) != 0)
        rc = 1;
    return usage ? usage : rc ? 1 : 0;
}
