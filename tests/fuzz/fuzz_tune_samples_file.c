/*
 * fuzz_tune_samples_file - pt_samples_read_stream (src/tune/samples.c) on arbitrary bytes.
 *
 * The samples file is read back by `powertune analyze` and `tune --resume`; it may have been
 * cut short by an interrupted run or edited by hand. The bytes are served by fmemopen over a
 * buffer of exactly their size. A file that reads must obey the reader's own contract:
 * valid_bytes is a prefix of the file, and that prefix (what --resume truncates to) reads
 * again to the same header and samples; the header and samples written back by the module's
 * writer (pt_samples_format_header / _sample, one line each) read to the same values too.
 * Then what `powertune analyze FILE` does with it (src/cli/cmd_analyze.c): the input from
 * the header, the powers in order of first appearance, num = the most samples of one power,
 * the Analyzer, the output JSON and the HTML report, which must hold no NaN or infinity.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "tune/report_html.h"
#include "tune/tune.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_file(const struct pt_samples_file *a, const struct pt_samples_file *b)
{
    if (strcmp(a->header.function, b->header.function) != 0 ||
        strcmp(a->header.region, b->header.region) != 0 ||
        strcmp(a->header.architecture, b->header.architecture) != 0 || a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (!fuzz_same_sample(&a->samples[i], &b->samples[i]))
            return false;
    return true;
}

/* Reads bytes [0, n) of buf (n may be 0: fmemopen refuses a size of 0 on old C libraries). */
static int read_bytes(const char *buf, size_t n, struct pt_samples_file *out, struct pt_error *err)
{
    static char empty[1];
    FILE *f = fmemopen(n ? (void *)buf : empty, n ? n : 1, "r");
    if (!f)
        abort();
    if (n == 0)
        (void)getc(f); /* consume the placeholder byte: the stream is at its end */
    int rc = pt_samples_read_stream(f, "fuzz.jsonl", out, err);
    fclose(f);
    return rc;
}

/* Blanks every copy of s in page (base64 in the visualization URL spells anything). */
static void blank(char *page, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    for (char *p = page; n && (p = strstr(p, s)); p += n)
        memset(p, ' ', n);
}

static bool names_nonfinite(const char *s)
{
    return strcasestr(s, "nan") || strcasestr(s, "inf");
}

static void analyze(const struct pt_samples_file *file)
{
    if (file->n == 0)
        return; /* refused by the CLI: "holds no samples" */
    struct pt_tune_input in;
    pt_tune_input_init(&in);
    struct pt_error err;
    int *powers = calloc(file->n, sizeof(*powers));
    long *counts = calloc(file->n, sizeof(*counts));
    if (!powers || !counts)
        abort();
    size_t n_powers = 0;
    long num = 0;
    for (size_t i = 0; i < file->n; i++) {
        size_t k = 0;
        while (k < n_powers && powers[k] != file->samples[i].power)
            k++;
        if (k == n_powers)
            powers[n_powers++] = file->samples[i].power;
        if (++counts[k] > num)
            num = counts[k];
    }
    free(counts);
    pt_strlcpy(in.region, file->header.region, sizeof(in.region));
    in.num = num;
    free(in.powers);
    in.powers = powers;
    in.n_powers = n_powers;
    /* The header's strings are the file's: the CLI refuses what these refuse. */
    if (pt_tune_input_set_function(&in, file->header.function, &err) != 0 ||
        pt_tune_input_set_architecture(&in, file->header.architecture, &err) != 0 ||
        pt_tune_input_validate(&in, &err) != 0) {
        pt_tune_input_free(&in);
        return;
    }
    struct pt_price_model price;
    if (pt_price_model_init(&price, PT_PRICING_EXACT, in.region, in.architecture, 0, &err) != 0 &&
        pt_price_model_init(&price, PT_PRICING_POWER_TUNING, in.region, in.architecture, 0,
                            &err) != 0)
        abort(); /* power-tuning mode takes any region, as the reference's `default` */
    struct pt_tune_analysis a;
    if (pt_tune_analyze(&in, &price, in.powers, in.n_powers, file->samples, file->n, NULL, &a,
                        &err) != 0)
        abort();
    if (a.winner >= (int)a.n_powers || (a.winner >= 0 && a.powers[a.winner].excluded))
        abort();

    json_t *doc = pt_tune_output_json(&in, &a, NULL, 0);
    struct pt_buf text;
    pt_buf_init(&text, 0);
    json_error_t jerr;
    json_t *back = NULL;
    if (!doc || pt_tune_json_text(doc, 2, &text, &err) != 0 || !text.data ||
        !(back = json_loadb(text.data, text.len, 0, &jerr)))
        abort();
    json_decref(back);
    json_decref(doc);
    pt_buf_free(&text);

    struct pt_report_html r = {.in = &in, .a = &a, .samples = file->samples,
                               .n_samples = file->n, .source = "powertune analyze fuzz"};
    struct pt_buf page;
    pt_buf_init(&page, 0);
    if (pt_report_html_render(&r, &page, &err) != 0 || !page.data)
        abort();
    bool words = names_nonfinite(file->header.function) || names_nonfinite(in.region);
    for (size_t i = 0; !words && i < file->n; i++)
        words = names_nonfinite(file->samples[i].error);
    blank(page.data, a.visualization);
    if (!words && (strstr(page.data, "nan") || strstr(page.data, "NaN") ||
                   strstr(page.data, "inf\"") || strstr(page.data, "inf ") ||
                   strstr(page.data, "inf<") || strstr(page.data, "infinity")))
        abort();
    pt_buf_free(&page);
    pt_tune_analysis_free(&a);
    pt_tune_input_free(&in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_copy(data, size);
    if (!text)
        return 0;
    struct pt_samples_file file;
    struct pt_error err = {0};
    int rc = read_bytes(text, size, &file, &err);
    fuzz_check_rc(rc, &err);
    if (rc < 0 && (file.samples || file.n))
        abort(); /* freed on error */
    if (rc == 0) {
        if (file.valid_bytes <= 0 || (size_t)file.valid_bytes > size)
            abort();
        if (file.unterminated && file.truncated_tail)
            abort(); /* the kept last line cannot both lack a newline and be dropped */
        /* The well-formed prefix reads to the same content, with nothing dropped. */
        struct pt_samples_file prefix;
        if (read_bytes(text, (size_t)file.valid_bytes, &prefix, &err) != 0 ||
            !same_file(&file, &prefix) || prefix.truncated_tail ||
            prefix.unterminated != file.unterminated)
            abort();
        pt_samples_file_free(&prefix);

        /* Written back by the module's writer, it reads to the same values. */
        struct pt_buf b;
        pt_buf_init(&b, 0);
        if (pt_samples_format_header(&file.header, &b, &err) != 0 || pt_buf_append(&b, "\n", 1, &err))
            abort();
        for (size_t i = 0; i < file.n; i++)
            if (pt_samples_format_sample(&file.samples[i], &b, &err) != 0 ||
                pt_buf_append(&b, "\n", 1, &err) != 0)
                abort();
        struct pt_samples_file again;
        if (read_bytes(b.data, b.len, &again, &err) != 0 || !same_file(&file, &again) ||
            again.truncated_tail || again.unterminated || again.valid_bytes != (long long)b.len)
            abort();
        pt_samples_file_free(&again);
        pt_buf_free(&b);
        analyze(&file);
        pt_samples_file_free(&file);
    }
    free(text);
    return 0;
}
