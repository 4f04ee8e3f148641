#include "cli/tune_report.h"

#include <stdio.h>
#include <stdlib.h>

int cli_tune_report_prepare(struct cli_tune_report *r, const struct pt_tune_input *in,
                            const struct pt_price_model *price, struct pt_error *err)
{
    if (!r->report_path && !r->compare_path)
        return 0;
    if (in->dry_run)
        return pt_error_set(err, PT_EUSAGE, "%s: a dry run has no analysis to show",
                            r->report_path ? "--report" : "--compare");
    if (!r->compare_path)
        return 0;
    int rc = pt_report_html_run_load(r->compare_path, &r->other, err);
    if (rc == 0) {
        r->loaded = true;
        rc = pt_report_html_run_check(&r->other, price, r->compare_path, err);
    }
    if (rc < 0)
        pt_error_wrap(err, "--compare");
    return rc;
}

int cli_tune_report_emit(struct cli_tune_report *r, const char *source,
                         const struct pt_tune_input *in, const struct pt_tune_analysis *a,
                         const struct pt_tune_sample *samples, size_t n_samples,
                         const struct cli_tune_notes *notes, bool json_stdout, struct pt_error *err)
{
    char *url = NULL;
    int rc = 0;
    if (r->loaded) {
        if ((rc = pt_report_html_compare_url(in, a, &r->other, &url, err)) < 0)
            goto out;
        fprintf(json_stdout ? stderr : stdout, "comparison: %s\n", url);
        fflush(json_stdout ? stderr : stdout);
    }
    if (r->report_path) {
        struct pt_report_html rep = {
            .in = in,
            .a = a,
            .samples = samples,
            .n_samples = n_samples,
            .notes = (const char *const *)notes->lines,
            .n_notes = notes->n,
            .other = r->loaded ? &r->other : NULL,
            .compare_url = url,
            .source = source,
        };
        if ((rc = pt_report_html_write(r->report_path, &rep, err)) < 0)
            pt_error_wrap(err, "--report %s", r->report_path);
    }
out:
    free(url);
    return rc;
}

void cli_tune_report_free(struct cli_tune_report *r)
{
    if (r->loaded)
        pt_report_html_run_free(&r->other);
    r->loaded = false;
}
