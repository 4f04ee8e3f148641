/*
 * fuzz_logs_file - pt_logs_analyze (src/logs) on one input file of arbitrary bytes: format
 * sniffing, gzip, line framing, the streaming JSON document tokenizer of `aws logs ...` output,
 * the merge, the figures (analyze.c) and every output (JSON, tables, warnings, HTML).
 *
 * pt_logs_analyze only takes paths, so each input is written to a file in a directory named once
 * per process (see write_input). Options come from the input's size, so that small quotas,
 * reserved concurrency and minute windows are all reached; max_line and max_invocations are
 * small so that overlong lines and the invocation limit are too.
 *
 * Invariants:
 *   - nothing but PT_ELIMIT (too many invocations) fails on a readable file;
 *   - the same file read as one task and split at line boundaries between two threads (what
 *     happens to big files) gives the same result, byte for byte in the JSON but for the
 *     wording of overlong-line notes;
 *   - the JSON has one entry per input and per function (none silently dropped).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logs/logs_internal.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], path[96], html[96];

/*
 * The input as <dir>/input.log. The directory's name is picked once per process (mkdtemp); the
 * directory itself lives only while an input runs, as libFuzzer ends without running atexit
 * handlers: nothing is left in /tmp by a run that ends normally.
 */
static void write_input(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        snprintf(dir, sizeof(dir), "/tmp/fuzz-logs-file-XXXXXX");
        if (!mkdtemp(dir))
            abort();
        snprintf(path, sizeof(path), "%s/input.log", dir);
        snprintf(html, sizeof(html), "%s/report.html", dir);
    } else if (mkdir(dir, 0700) != 0) {
        abort();
    }
    if (fuzz_write_file(path, data, size) != 0)
        abort();
}

static void remove_input(void)
{
    unlink(path);
    unlink(html);
    if (rmdir(dir) != 0)
        abort();
}

/* Runs the analysis; on success returns the JSON text (malloc'd) and writes every output. */
static int analyze(const struct pt_logs_options *o, char **json_text)
{
    const char *paths[] = {path};
    struct pt_logs_result *r = NULL;
    struct pt_error err = {0};
    *json_text = NULL;
    int rc = pt_logs_analyze(paths, 1, o, &r, &err);
    if (rc) {
        if (rc != PT_ELIMIT || r)
            abort();
        return rc;
    }
    json_t *j = pt_logs_result_json(r);
    if (!j)
        abort();
    if (json_array_size(json_object_get(j, "inputs")) != r->nsources ||
        json_object_size(json_object_get(j, "functions")) != r->nfunctions)
        abort();
    /* An overlong line is noted with its length when its end is in the buffer, without it when
     * read.c skips it before its end arrives (where a range or a read ends): the wording, not
     * the verdict or the line number, depends on where the input was cut. */
    size_t k;
    json_t *u;
    json_array_foreach(json_object_get(j, "unparsed"), k, u) {
        const char *reason = json_string_value(json_object_get(u, "reason"));
        if (reason && strncmp(reason, "line ", 5) == 0 && strstr(reason, "-byte limit"))
            json_object_set_new(u, "reason", json_string("overlong line"));
    }
    *json_text = json_dumps(j, JSON_COMPACT);
    if (!*json_text)
        abort();
    json_decref(j);
    FILE *devnull = fopen("/dev/null", "w");
    if (!devnull)
        abort();
    pt_logs_write_table(r, devnull);
    pt_logs_write_warnings(r, devnull);
    fclose(devnull);
    if (pt_logs_write_html(r, html, &err) != 0)
        abort();
    pt_logs_result_free(r);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    write_input(data, size);

    struct pt_logs_options o;
    pt_logs_options_init(&o);
    o.quota = 1 + (long)(size % 3);
    o.reserved = (long)(size % 5) - 2; /* -2, -1: none */
    o.minutes_before = (int)(size % 4);
    o.max_line = 512;
    o.max_invocations = 40;
    o.threads = 1;
    char *one = NULL, *split = NULL;
    int rc1 = analyze(&o, &one);

    o.threads = 2;
    o.split_min_bytes = 1;
    int rc2 = analyze(&o, &split);
    if (rc1 != rc2 || (rc1 == 0 && strcmp(one, split) != 0))
        abort();
    free(one);
    free(split);
    remove_input();
    return 0;
}
