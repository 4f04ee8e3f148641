/*
 * test_tune_samples.c - the samples file: exact line format, round trip, validation with
 * line numbers, bounded lines, an interrupted last line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tune/tune.h"

static const struct pt_samples_header hdr = {"arn:aws:lambda:us-east-1:123456789012:function:f",
                                             "us-east-1", "arm64", NULL};

static struct pt_tune_sample sample(int power, double dur, double init, const char *error)
{
    struct pt_tune_sample s;
    memset(&s, 0, sizeof(s));
    s.power = power;
    s.duration_ms = dur;
    s.billed_ms = (double)(long)dur + 1;
    s.init_ms = init;
    s.max_memory_used_mb = 42;
    s.cpu_time_ms = 1.25;
    s.cold_start = init >= 0;
    if (error)
        snprintf(s.error, sizeof(s.error), "%s", error);
    s.payload_index = 2;
    s.t_ms = 1763766900123LL;
    return s;
}

static void test_line_format(void **state)
{
    (void)state;
    struct pt_buf b;
    pt_buf_init(&b, 0);
    assert_int_equal(pt_samples_format_header(&hdr, &b, NULL), 0);
    assert_string_equal(b.data, "{\"powertune\":\"samples\",\"version\":1,\"function\":"
                                "\"arn:aws:lambda:us-east-1:123456789012:function:f\","
                                "\"region\":\"us-east-1\",\"architecture\":\"arm64\"}");
    pt_buf_reset(&b);
    struct pt_tune_sample s = sample(512, 12.34, -1, NULL);
    assert_int_equal(pt_samples_format_sample(&s, &b, NULL), 0);
    assert_string_equal(b.data, "{\"power\":512,\"durationMs\":12.34,\"billedDurationMs\":13,"
                                "\"initDurationMs\":null,\"maxMemoryUsedMB\":42,\"cpuTimeMs\":1.25,"
                                "\"coldStart\":false,\"error\":null,\"payloadIndex\":2,"
                                "\"t\":1763766900123}");
    pt_buf_reset(&b);
    s = sample(128, 3000, 130.49, "Sandbox.Timedout");
    assert_int_equal(pt_samples_format_sample(&s, &b, NULL), 0);
    assert_non_null(strstr(b.data, "\"initDurationMs\":130.49,"));
    assert_non_null(strstr(b.data, "\"coldStart\":true,\"error\":\"Sandbox.Timedout\","));
    pt_buf_free(&b);
}

static void test_round_trip(void **state)
{
    (void)state;
    char dir[] = "/tmp/powertune-samples-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[512];
    snprintf(path, sizeof(path), "%s/s.jsonl", dir);
    struct pt_samples_writer w;
    struct pt_error err;
    assert_int_equal(pt_samples_writer_open(&w, path, &hdr, false, &err), 0);
    struct pt_tune_sample in[3] = {sample(128, 0.1 + 0.2, 130.49, NULL),
                                   sample(128, 7, -1, "Error \"quoted\"\n"),
                                   sample(1769, 1e-7, -1, NULL)};
    for (int i = 0; i < 3; i++)
        assert_int_equal(pt_samples_write(&w, &in[i], &err), 0);
    assert_int_equal(pt_samples_writer_close(&w, &err), 0);

    struct pt_samples_file f;
    assert_int_equal(pt_samples_read(path, &f, &err), 0);
    assert_string_equal(f.header.function, hdr.function);
    assert_string_equal(f.header.architecture, "arm64");
    assert_int_equal(f.n, 3);
    assert_false(f.truncated_tail || f.unterminated);
    for (int i = 0; i < 3; i++) {
        /* Shortest round-trip numbers: the doubles come back exactly. */
        assert_true(f.samples[i].duration_ms == in[i].duration_ms);
        assert_true(f.samples[i].init_ms == in[i].init_ms);
        assert_int_equal(f.samples[i].power, in[i].power);
        assert_string_equal(f.samples[i].error, in[i].error);
        assert_int_equal(f.samples[i].cold_start, in[i].cold_start);
        assert_int_equal(f.samples[i].payload_index, 2);
        assert_true(f.samples[i].t_ms == 1763766900123LL);
    }
    pt_samples_file_free(&f);

    /* Resume: append keeps what is there. */
    assert_int_equal(pt_samples_writer_open(&w, path, &hdr, true, &err), 0);
    assert_int_equal(pt_samples_write(&w, &in[0], &err), 0);
    assert_int_equal(pt_samples_writer_close(&w, &err), 0);
    assert_int_equal(pt_samples_read(path, &f, &err), 0);
    assert_int_equal(f.n, 4);
    pt_samples_file_free(&f);
    unlink(path);
    rmdir(dir);
}

static int read_text(const char *text, struct pt_samples_file *f, struct pt_error *err)
{
    FILE *m = fmemopen((void *)text, strlen(text), "r");
    assert_non_null(m);
    int rc = pt_samples_read_stream(m, "s.jsonl", f, err);
    fclose(m);
    return rc;
}

#define HDR "{\"powertune\":\"samples\",\"version\":1,\"function\":\"f\",\"region\":\"r\"," \
            "\"architecture\":\"x86_64\"}\n"
#define OK_LINE "{\"power\":128,\"durationMs\":1,\"billedDurationMs\":1,\"initDurationMs\":null," \
                "\"maxMemoryUsedMB\":1,\"cpuTimeMs\":0,\"coldStart\":false,\"error\":null,"     \
                "\"payloadIndex\":0,\"t\":0}"

static void expect_error(const char *text, int code, const char *frag)
{
    struct pt_samples_file f;
    struct pt_error err = {0};
    int rc = read_text(text, &f, &err);
    if (rc != code)
        fail_msg("rc %d (%s), want %d", rc, err.msg, code);
    if (!strstr(err.msg, frag))
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, frag);
}

static void test_validation(void **state)
{
    (void)state;
    expect_error("", PT_EUSAGE, "s.jsonl: empty");
    expect_error("{\"powertune\":\"other\"}\n", PT_EUSAGE, "s.jsonl:1: not a powertune samples header");
    expect_error("{\"powertune\":\"samples\",\"version\":2,\"function\":\"f\",\"region\":\"r\","
                 "\"architecture\":\"x86_64\"}\n",
                 PT_EUSAGE, "s.jsonl:1: version: allowed 1");
    expect_error(HDR OK_LINE "\n{\"power\":64}\n", PT_EUSAGE, "s.jsonl:3: durationMs: missing");
    expect_error(HDR "{\"power\":64,\"durationMs\":1,\"billedDurationMs\":1,\"initDurationMs\":null,"
                 "\"maxMemoryUsedMB\":1,\"cpuTimeMs\":0,\"coldStart\":false,\"error\":null,"
                 "\"payloadIndex\":0,\"t\":0}\n",
                 PT_EUSAGE, "s.jsonl:2: power: not an integer from 128 to 10240");
    expect_error(HDR "{\"power\":128,\"durationMs\":-1,\"billedDurationMs\":1,\"initDurationMs\":null,"
                 "\"maxMemoryUsedMB\":1,\"cpuTimeMs\":0,\"coldStart\":false,\"error\":null,"
                 "\"payloadIndex\":0,\"t\":0}\n",
                 PT_EUSAGE, "s.jsonl:2: durationMs");
    expect_error(HDR "{\"power\":128,\"durationMs\":1,\"billedDurationMs\":1,\"initDurationMs\":null,"
                 "\"maxMemoryUsedMB\":1,\"cpuTimeMs\":0,\"coldStart\":\"no\",\"error\":null,"
                 "\"payloadIndex\":0,\"t\":0}\n",
                 PT_EUSAGE, "s.jsonl:2: coldStart");
    expect_error(HDR "{\"power\":128,\"durationMs\":1,\"billedDurationMs\":1,\"initDurationMs\":null,"
                 "\"maxMemoryUsedMB\":1,\"cpuTimeMs\":0,\"coldStart\":false,\"error\":5,"
                 "\"payloadIndex\":0,\"t\":0}\n",
                 PT_EUSAGE, "s.jsonl:2: error");
    expect_error(HDR "\n", PT_EUSAGE, "s.jsonl:2: not valid JSON");
    expect_error(HDR "[1]\n", PT_EUSAGE, "s.jsonl:2: not a JSON object");

    /* An overlong line is refused without reading it whole. */
    size_t n = strlen(HDR) + PT_SAMPLES_LINE_MAX + 10;
    char *big = malloc(n + 1);
    strcpy(big, HDR);
    memset(big + strlen(HDR), 'x', n - strlen(HDR));
    big[n] = '\0';
    expect_error(big, PT_ELIMIT, "s.jsonl:2: line longer than 4096 bytes");
    free(big);
}

/* The run's settings ride in the header and come back as an input analyze applies; a samples
 * file cannot reach the keys that would make analyze invoke or write anything. */
static void test_settings(void **state)
{
    (void)state;
    struct pt_tune_input in;
    pt_tune_input_init(&in);
    struct pt_error err = {0};
    const char *run = "{\"lambdaARN\":\"f\",\"num\":7,\"strategy\":\"balanced\","
                      "\"balancedWeight\":0.3,\"onlyColdStarts\":true,"
                      "\"allowedExceptions\":[\"A\",\"B\"],\"pricing\":\"exact\","
                      "\"pricePerGbS\":0.00002}";
    assert_int_equal(pt_tune_input_parse_json(&in, run, strlen(run), &err), 0);
    struct pt_samples_header h = hdr;
    assert_non_null(h.settings = pt_tune_input_settings(&in));
    pt_tune_input_free(&in);
    struct pt_buf b;
    pt_buf_init(&b, 0);
    assert_int_equal(pt_samples_format_header(&h, &b, NULL), 0);
    json_decref(h.settings);
    assert_non_null(strstr(b.data, ",\"settings\":{\"num\":7,\"strategy\":\"balanced\","
                                   "\"balancedWeight\":0.3,"
                                   "\"onlyColdStarts\":true,\"allowedExceptions\":[\"A\",\"B\"],"
                                   "\"includeOutputResults\":false,\"pricing\":\"exact\","
                                   "\"pricePerGbS\":0.00002}}"));
    assert_int_equal(pt_buf_append_str(&b, "\n", NULL), 0);
    struct pt_samples_file f;
    assert_int_equal(read_text(b.data, &f, &err), 0);
    assert_non_null(f.header.settings);
    struct pt_tune_input back;
    pt_tune_input_init(&back);
    assert_int_equal(pt_tune_input_apply_settings(&back, f.header.settings, &err), 0);
    assert_int_equal(back.num, 7);
    assert_int_equal(back.strategy, PT_STRATEGY_BALANCED);
    assert_true(back.weight_set && back.balanced_weight == 0.3);
    assert_true(back.only_cold_starts);
    assert_int_equal(back.n_allowed, 2);
    assert_string_equal(back.allowed_exceptions[1], "B");
    assert_true(back.price_per_gb_s == 0.00002);
    pt_tune_input_free(&back);
    pt_samples_file_free(&f);
    pt_buf_free(&b);

    json_t *bad = json_pack("{s:s}", "preProcessorARN", "other");
    pt_tune_input_init(&back);
    assert_int_equal(pt_tune_input_apply_settings(&back, bad, &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "settings: unknown key \"preProcessorARN\"; allowed num,"));
    json_decref(bad);
    bad = json_pack("{s:s}", "strategy", "fastest");
    assert_int_equal(pt_tune_input_apply_settings(&back, bad, &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "settings: "));
    assert_non_null(strstr(err.msg, "fastest"));
    json_decref(bad);
    pt_tune_input_free(&back);
    expect_error("{\"powertune\":\"samples\",\"version\":1,\"function\":\"f\",\"region\":\"r\","
                 "\"architecture\":\"x86_64\",\"settings\":[]}\n",
                 PT_EUSAGE, "s.jsonl:1: settings: allowed an object");
}

/* The largest header a valid run makes (a 1023-byte function, 64 allowedExceptions of 127
 * bytes each escaped 6 bytes a byte) is written and read back: the run's settings made it
 * longer than a sample line's 4096 and tune refused its own --samples file. */
static void test_largest_header(void **state)
{
    (void)state;
    struct pt_tune_input in;
    pt_tune_input_init(&in);
    struct pt_error err = {0};
    memset(in.function, 'f', sizeof(in.function) - 1);
    in.num = 5;
    for (in.n_allowed = 0; in.n_allowed < PT_TUNE_ALLOWED_MAX; in.n_allowed++) {
        memset(in.allowed_exceptions[in.n_allowed], '\x01', PT_TUNE_ERROR_TYPE_MAX - 1);
        in.allowed_exceptions[in.n_allowed][0] = (char)('A' + in.n_allowed % 26);
    }
    struct pt_samples_header h = hdr;
    memcpy(h.function, in.function, sizeof(h.function));
    assert_non_null(h.settings = pt_tune_input_settings(&in));
    char dir[] = "/tmp/powertune-samples-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[512];
    snprintf(path, sizeof(path), "%s/s.jsonl", dir);
    struct pt_samples_writer w;
    struct pt_tune_sample s = sample(256, 5, -1, NULL);
    assert_int_equal(pt_samples_writer_open(&w, path, &h, false, &err), 0);
    assert_int_equal(pt_samples_write(&w, &s, &err), 0);
    assert_int_equal(pt_samples_writer_close(&w, &err), 0);
    struct pt_samples_file f;
    assert_int_equal(pt_samples_read(path, &f, &err), 0);
    assert_int_equal(f.n, 1);
    assert_true(json_equal(f.header.settings, h.settings));
    assert_string_equal(f.header.function, in.function);
    pt_samples_file_free(&f);
    json_decref(h.settings);
    pt_tune_input_free(&in);
    unlink(path);
    rmdir(dir);
}

static void test_interrupted_tail(void **state)
{
    (void)state;
    struct pt_samples_file f;
    struct pt_error err;
    /* A writer killed mid-line: the partial line is ignored and reported. */
    const char *text = HDR OK_LINE "\n{\"power\":128,\"durat";
    assert_int_equal(read_text(text, &f, &err), 0);
    assert_int_equal(f.n, 1);
    assert_true(f.truncated_tail);
    assert_int_equal(f.valid_bytes, (long long)(strlen(HDR) + strlen(OK_LINE) + 1));
    pt_samples_file_free(&f);
    /* A complete last line without its newline is kept, flagged for the appender. */
    text = HDR OK_LINE;
    assert_int_equal(read_text(text, &f, &err), 0);
    assert_int_equal(f.n, 1);
    assert_true(f.unterminated);
    assert_false(f.truncated_tail);
    pt_samples_file_free(&f);
    /* Header only. */
    assert_int_equal(read_text(HDR, &f, &err), 0);
    assert_int_equal(f.n, 0);
    pt_samples_file_free(&f);
}

/* Resuming a file whose last line has no newline: the appended sample starts a line of its
 * own, and the file still reads whole. */
static void test_append_after_unterminated_line(void **state)
{
    (void)state;
    char dir[] = "/tmp/powertune-samples-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[512];
    snprintf(path, sizeof(path), "%s/s.jsonl", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(HDR OK_LINE, fp);
    fclose(fp);
    struct pt_samples_writer w;
    struct pt_samples_file f;
    struct pt_error err;
    struct pt_tune_sample s = sample(256, 5, -1, NULL);
    assert_int_equal(pt_samples_writer_open(&w, path, &hdr, true, &err), 0);
    assert_int_equal(pt_samples_write(&w, &s, &err), 0);
    assert_int_equal(pt_samples_writer_close(&w, &err), 0);
    assert_int_equal(pt_samples_read(path, &f, &err), 0);
    assert_int_equal(f.n, 2);
    assert_int_equal(f.samples[1].power, 256);
    assert_false(f.unterminated);
    pt_samples_file_free(&f);
    unlink(path);
    rmdir(dir);
}

/* --resume DIR / analyze DIR: a usage error naming it, not "read error". */
static void test_read_directory(void **state)
{
    (void)state;
    struct pt_samples_file f;
    struct pt_error err = {0};
    assert_int_equal(pt_samples_read("/tmp", &f, &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "/tmp is a directory"));
    assert_int_equal(f.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_format),
        cmocka_unit_test(test_largest_header),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_settings),
        cmocka_unit_test(test_interrupted_tail),
        cmocka_unit_test(test_append_after_unterminated_line),
        cmocka_unit_test(test_read_directory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
