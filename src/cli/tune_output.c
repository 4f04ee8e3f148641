#include "cli/tune_output.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/fs.h"

void cli_tune_note(struct cli_tune_notes *n, const char *fmt, ...)
{
    if (n->n == CLI_TUNE_NOTES_MAX)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) >= 0)
        n->lines[n->n++] = s;
    va_end(ap);
}

void cli_tune_note_warnings(struct cli_tune_notes *n, unsigned warnings)
{
    for (unsigned bit = 1; bit && bit < (1u << PT_TUNE_WARN_COUNT); bit <<= 1)
        if (warnings & bit)
            cli_tune_note(n, "%s", pt_tune_warning_text(bit));
}

void cli_tune_notes_free(struct cli_tune_notes *n)
{
    for (size_t i = 0; i < n->n; i++)
        free(n->lines[i]);
    n->n = 0;
}

static void tune_print_table(FILE *f, const struct pt_tune_input *in,
                             const struct pt_tune_analysis *a, const struct cli_tune_notes *notes)
{
    fprintf(f, "%7s %6s %11s %10s %10s %10s %13s %5s %9s %7s %8s %s\n", "power", "runs",
            "avg (ms)", "p50", "p90", "p99", "cost/inv ($)", "cold", "init (ms)", "mem MB",
            "cpu (ms)", "errors");
    for (size_t i = 0; i < a->n_powers; i++) {
        const struct pt_tune_power_stats *s = &a->powers[i];
        char errors[256] = "";
        size_t off = 0;
        for (size_t k = 0; k < s->n_errors && off < sizeof(errors) - 1; k++)
            off += (size_t)snprintf(errors + off, sizeof(errors) - off, "%s%s x%zu%s",
                                    k ? ", " : "", s->errors[k].type, s->errors[k].count,
                                    s->errors[k].allowed ? " (allowed)" : "");
        char init[32] = "-";
        if (s->init.count)
            snprintf(init, sizeof(init), "%.1f", s->init.mean);
        fprintf(f, "%c%6d %6zu %11.2f %10.2f %10.2f %10.2f %13.4g %5zu %9s %7d %8.1f %s\n",
                (int)i == a->winner ? '*' : ' ', s->power, s->invocations, s->average_duration,
                s->duration.p50, s->duration.p90, s->duration.p99, s->average_price,
                s->cold_starts, init, s->max_memory_used_mb, s->cpu_mean_ms, errors);
    }
    for (size_t i = 0; i < a->n_powers; i++)
        if (a->powers[i].excluded)
            fprintf(f, "  %d MB excluded: %s\n", a->powers[i].power, a->powers[i].excluded_reason);
    static const enum pt_tune_strategy order[] = {PT_STRATEGY_COST, PT_STRATEGY_SPEED,
                                                  PT_STRATEGY_BALANCED};
    fprintf(f, "recommendation:");
    for (size_t k = 0; k < 3; k++) {
        int b = a->best[order[k]];
        char label[48];
        snprintf(label, sizeof(label), order[k] == PT_STRATEGY_BALANCED ? "%s (%.2f)" : "%s",
                 pt_tune_strategy_name(order[k]), in->balanced_weight);
        if (b >= 0)
            fprintf(f, " %s %d MB%s%s", label, a->powers[b].power,
                    order[k] == in->strategy ? " *" : "", k < 2 ? "," : "");
        else
            fprintf(f, " %s none%s", label, k < 2 ? "," : "");
    }
    fprintf(f, "\nlambda cost of this run: $%.6g (%s pricing, %s, %s)\n", a->lambda_cost_all,
            pt_pricing_mode_name(a->price.mode), a->price.region, a->price.architecture);
    if (a->visualization)
        fprintf(f, "visualization: %s\n", a->visualization);
    for (size_t i = 0; i < notes->n; i++)
        fprintf(f, "note: %s\n", notes->lines[i]);
}

int cli_tune_emit(const struct pt_tune_input *in, const struct pt_tune_analysis *a,
                  const struct cli_tune_notes *notes, const struct cli_tune_outputs *o,
                  struct pt_error *err)
{
    int rc = 0;
    struct pt_buf text;
    pt_buf_init(&text, 0);
    json_t *doc = pt_tune_output_json(in, a, (const char *const *)notes->lines, notes->n);
    if (!doc)
        return pt_error_set(err, PT_ENOMEM, "out of memory building the output");
    if (o->adaptive && json_object_set(json_object_get(doc, "powertune"), "adaptive",
                                       o->adaptive) < 0) {
        json_decref(doc);
        return pt_error_set(err, PT_ENOMEM, "out of memory building the output");
    }
    if (!o->json_stdout)
        tune_print_table(stdout, in, a, notes);
    if (o->output_path || o->json_stdout) {
        rc = pt_tune_json_text(doc, 2, &text, err);
        if (!rc)
            rc = pt_buf_append(&text, "\n", 1, err);
    }
    if (!rc && o->json_stdout)
        fwrite(text.data, 1, text.len, stdout);
    if (!rc && o->output_path) {
        rc = pt_file_write_atomic(o->output_path, text.data, text.len, err);
        if (rc)
            pt_error_wrap(err, "--output %s", o->output_path);
    }
    fflush(stdout);
    json_decref(doc);
    pt_buf_free(&text);
    return rc;
}

int cli_tune_require_pick(const struct pt_tune_analysis *a, struct pt_error *err)
{
    if (a->winner >= 0)
        return 0;
    for (size_t i = 0; i < a->n_powers; i++)
        if (a->powers[i].excluded)
            return pt_error_set(err, PT_ESTATE,
                                "no memory size to recommend: all %zu were excluded (%d MB: %s)",
                                a->n_powers, a->powers[i].power, a->powers[i].excluded_reason);
    return pt_error_set(err, PT_ESTATE, "no memory size to recommend");
}
