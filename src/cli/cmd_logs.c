/*
 * cmd_logs.c - `powertune logs FILE...`: figures from Lambda's log lines (src/logs/logs.h).
 *
 * Tables on stdout, or --json (docs/logs-json.md); --report also writes an HTML page. Unparsed
 * lines are warnings on stderr (with file and line), never a failure.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "logs/logs.h"

/* --report before reading: writable, and not one of the logs (it would be replaced). */
static int logs_report_check(const struct pt_logs_cli *cli, struct pt_error *err)
{
    struct cli_file_use *inputs = calloc(cli->npaths, sizeof(*inputs));
    if (!inputs)
        return pt_error_set(err, PT_ENOMEM, "out of memory");
    for (size_t i = 0; i < cli->npaths; i++)
        inputs[i] = (struct cli_file_use){"the input", cli->paths[i]};
    int rc = cli_output_check("--report", cli->report_html, inputs, cli->npaths, err);
    free(inputs);
    return rc;
}

int cmd_logs(int argc, char **argv, struct cli_ctx *ctx, struct pt_error *err)
{
    struct pt_logs_cli cli;
    struct pt_logs_result *r = NULL;
    (void)ctx; /* no engine: SIGINT ends the process the default way */
    int rc = pt_logs_cli_parse(argc, argv, &cli, err);
    if (rc)
        return rc;
    if (cli.help) {
        fputs(pt_logs_usage, stdout);
        goto out;
    }
    if (cli.report_html && (rc = logs_report_check(&cli, err)))
        goto out;
    rc = pt_logs_analyze(cli.paths, cli.npaths, &cli.opt, &r, err);
    if (rc)
        goto out;
    pt_logs_write_warnings(r, stderr);
    if (cli.report_html) {
        rc = pt_logs_write_html(r, cli.report_html, err);
        if (rc)
            goto out;
    }
    if (cli.json) {
        json_t *o = pt_logs_result_json(r);
        /* 15 significant digits: 122.22 prints as 122.22, not 122.21999999999999. */
        char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(15)) : NULL;
        json_decref(o);
        if (!s) {
            rc = pt_error_set(err, PT_ENOMEM, "out of memory (JSON output)");
            goto out;
        }
        puts(s);
        free(s);
    } else {
        pt_logs_write_table(r, stdout);
    }
    if (fflush(stdout) != 0)
        rc = pt_error_set(err, PT_EIO, "cannot write the output");
out:
    pt_logs_result_free(r);
    pt_logs_cli_free(&cli);
    return rc;
}
