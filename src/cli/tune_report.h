/*
 * tune_report.h - `--report FILE.html` and `--compare OTHER.json` of `tune` and `analyze`,
 * shared by both commands: OTHER.json is read and checked before anything runs, and after
 * the table the comparison URL is printed and the report written (tune/report_html.h).
 */
#ifndef PT_CLI_TUNE_REPORT_H
#define PT_CLI_TUNE_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "cli/tune_output.h"
#include "tune/report_html.h"
#include "tune/tune.h"

struct cli_tune_report {
    const char *report_path;  /* --report; NULL: none */
    const char *compare_path; /* --compare; NULL: none */
    struct pt_report_html_run other;
    bool loaded;
};

/* Up-front checks: a dry run has nothing to report; OTHER.json must be a previous output
 * in the same currency as this run. */
int cli_tune_report_prepare(struct cli_tune_report *r, const struct pt_tune_input *in,
                            const struct pt_price_model *price, struct pt_error *err);
/* After cli_tune_emit: "comparison: URL" (on stderr with --json, which owns stdout), then
 * the report. source names where the figures come from ("powertune tune", ...). */
int cli_tune_report_emit(struct cli_tune_report *r, const char *source,
                         const struct pt_tune_input *in, const struct pt_tune_analysis *a,
                         const struct pt_tune_sample *samples, size_t n_samples,
                         const struct cli_tune_notes *notes, bool json_stdout,
                         struct pt_error *err);
void cli_tune_report_free(struct cli_tune_report *r);

#endif
