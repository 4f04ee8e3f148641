/*
 * tune_output.h - what `tune` and `analyze` print and write from an analysis:
 * the table on stdout, the reference tool's output JSON (--output, --json),
 * and the notes (warnings, excluded powers, throttles, degraded emulation).
 */
#ifndef PT_CLI_TUNE_OUTPUT_H
#define PT_CLI_TUNE_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

#include "base/error.h"
#include "tune/tune.h"

#define CLI_TUNE_NOTES_MAX 64

struct cli_tune_notes {
    char *lines[CLI_TUNE_NOTES_MAX];
    size_t n;
};

void cli_tune_note(struct cli_tune_notes *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_tune_notes_free(struct cli_tune_notes *n);
/* One note per warning bit the input's validation set (pt_tune_warning_text). */
void cli_tune_note_warnings(struct cli_tune_notes *n, unsigned warnings);

struct cli_tune_outputs {
    const char *output_path; /* --output FILE.json */
    bool json_stdout;        /* --json */
    json_t *adaptive;        /* powertune.adaptive (tune --adaptive); NULL: none */
};

/* The table (stdout, unless json_stdout) and the JSON document(s). */
int cli_tune_emit(const struct pt_tune_input *in, const struct pt_tune_analysis *a,
                  const struct cli_tune_notes *notes, const struct cli_tune_outputs *o,
                  struct pt_error *err);

/*
 * After everything is written: an error when no memory size could be recommended (every one
 * excluded), so that a script or CI job running tune or analyze sees the failure in the exit
 * status, as the reference tool's execution fails; the table, report and samples stay.
 */
int cli_tune_require_pick(const struct pt_tune_analysis *a, struct pt_error *err);

#endif
