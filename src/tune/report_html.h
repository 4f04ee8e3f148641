/*
 * report_html.h - `--report FILE.html` and `--compare OTHER.json` of `tune` and `analyze`.
 *
 * Contract. pt_report_html_render turns one analysis (plus its samples, for the p10-p90
 * bands) into ONE self-contained HTML page: inline CSS and SVG only, no script, no font,
 * no image, nothing fetched; the visualization URLs appear as plain links (anchors), which
 * load nothing by themselves. The page shows duration and cost against memory with p10-p90
 * bands, the cost/duration scatter with its Pareto frontier and the balanced winner with
 * its iso-score line, cold starts with Init Duration, the text table's figures, the
 * recommendation per strategy, and the run's settings and notes. Every string that comes
 * from the input (function names, error types, reasons, notes, legends) is HTML-escaped.
 * A previous run (--compare) is read from its --output JSON - ours, or the reference
 * tool's (whose stateMachine.visualization URL is decoded) - and drawn beside this run in
 * the charts. Follows the error idiom of base/error.h; the page is written atomically.
 */
#ifndef PT_TUNE_REPORT_HTML_H
#define PT_TUNE_REPORT_HTML_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/error.h"
#include "tune/tune.h"

/* An --output JSON is a few KB; anything this big is not one. */
#define PT_REPORT_HTML_RUN_MAX (16 * 1024 * 1024)

/* A previous run, as --compare reads it. */
struct pt_report_html_run {
    char function[PT_TUNE_FUNCTION_MAX]; /* "" when the file does not name it (reference) */
    struct pt_viz_point *points;         /* the recommendable powers, ascending by power */
    size_t n;
    bool cny; /* prices in CNY */
    int pricing; /* enum pt_pricing_mode of its costs; -1 when the file does not say */
};

/*
 * Reads a previous `--output` of tune/analyze (powertune.powers, excluded powers left
 * out) or of AWS Lambda Power Tuning (stateMachine.visualization decoded). Errors are
 * PT_EUSAGE naming the file and the field (a dry run's `null` included) and for a file
 * that cannot be read (the path is the user's input), PT_ELIMIT over PT_REPORT_HTML_RUN_MAX.
 */
int pt_report_html_run_load(const char *path, struct pt_report_html_run *out, struct pt_error *err);
/* The same from text; name is used in messages. */
int pt_report_html_run_parse(const char *text, size_t len, const char *name,
                             struct pt_report_html_run *out, struct pt_error *err);
void pt_report_html_run_free(struct pt_report_html_run *r);
/* PT_EUSAGE when the two runs' prices are not in the same currency (the comparison URL
 * carries one currency). */
int pt_report_html_run_check(const struct pt_report_html_run *other,
                             const struct pt_price_model *price, const char *name,
                             struct pt_error *err);

/* Legends of a comparison: the two function names when both are known and differ, else
 * "before" (other) and "after" (this run). Pointers into function/other or literals. */
void pt_report_html_legends(const char *function, const struct pt_report_html_run *other,
                            const char **legend_other, const char **legend_this);

/* The 8-part comparison URL (power-tuning.md 5): the other run first ("before"), this
 * run's recommendable powers second. *out is malloc'd. */
int pt_report_html_compare_url(const struct pt_tune_input *in, const struct pt_tune_analysis *a,
                               const struct pt_report_html_run *other, char **out,
                               struct pt_error *err);

struct pt_report_html {
    const struct pt_tune_input *in;
    const struct pt_tune_analysis *a;
    const struct pt_tune_sample *samples; /* the run's samples (p10-p90); NULL: no bands */
    size_t n_samples;
    const char *const *notes; /* shown under the settings */
    size_t n_notes;
    const struct pt_report_html_run *other; /* --compare; NULL: none */
    const char *compare_url;                /* shown as a link; NULL: none */
    const char *source;                     /* e.g. "powertune tune" or "powertune analyze F" */
};

/* Appends the page to out. */
int pt_report_html_render(const struct pt_report_html *r, struct pt_buf *out, struct pt_error *err);
/* Renders and writes path atomically (base/fs.h). */
int pt_report_html_write(const char *path, const struct pt_report_html *r, struct pt_error *err);

#endif
