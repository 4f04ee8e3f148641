/*
 * test_api_zip.c - the deployment-package unpacker (engine/package.h: serve's uploads and the
 * CLI's .zip files; zip-slip, symlinks, modes, size limit) and serve's encoders (base64, percent-decoding, query parameters).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include <cmocka.h>

#include "api/api_internal.h"
#include "base/fs.h"
#include "engine/package.h"
#include "lib/testutil.h"

struct entry {
    const char *name;
    const char *data; /* NULL: a directory */
    unsigned mode;    /* with S_IFLNK: a symlink whose target is data */
};

/* Builds a zip of the entries in memory (via a temporary file). */
static unsigned char *build_zip(const char *tmp, const struct entry *e, size_t n, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/t.zip", tmp);
    int zerr = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    assert_non_null(z);
    for (size_t i = 0; i < n; i++) {
        zip_int64_t idx;
        if (!e[i].data) {
            idx = zip_dir_add(z, e[i].name, ZIP_FL_ENC_RAW);
        } else {
            zip_source_t *s = zip_source_buffer(z, e[i].data, strlen(e[i].data), 0);
            assert_non_null(s);
            idx = zip_file_add(z, e[i].name, s, ZIP_FL_ENC_RAW);
        }
        assert_true(idx >= 0);
        if (e[i].mode)
            assert_int_equal(zip_file_set_external_attributes(z, (zip_uint64_t)idx, 0,
                                                              ZIP_OPSYS_UNIX,
                                                              (zip_uint32_t)e[i].mode << 16),
                             0);
    }
    assert_int_equal(zip_close(z), 0);
    struct pt_buf b;
    pt_buf_init(&b, 0);
    assert_int_equal(pt_file_read(path, 1 << 20, &b, NULL), 0);
    return (unsigned char *)pt_buf_steal(&b, len);
}

/* Unpacks into <tmp>/code; returns the code and leaves the message in err. */
static int unpack(const char *tmp, const struct entry *e, size_t n, long long max,
                  struct pt_error *err)
{
    size_t len = 0;
    unsigned char *zip = build_zip(tmp, e, n, &len);
    char dest[4096];
    snprintf(dest, sizeof(dest), "%s/code", tmp);
    pt_rmtree(dest);
    int rc = pt_package_extract(zip, len, dest, max, err);
    free(zip);
    return rc;
}

static const char *at(const char *tmp, const char *rel)
{
    static char p[4096];
    snprintf(p, sizeof(p), "%s/code/%s", tmp, rel);
    return p;
}

static void test_files_dirs_modes(void **state)
{
    (void)state;
    char *tmp = tu_mkdtemp();
    const struct entry e[] = {
        {"lambda_function.py", "print(1)\n", S_IFREG | 0600},
        {"bin/", NULL, S_IFDIR | 0700},
        {"bin/tool", "#!/bin/sh\n", S_IFREG | 0700},
        {"deep/er/file.txt", "x", 0},
        {"link", "lambda_function.py", S_IFLNK | 0777},
    };
    struct pt_error err = {0};
    assert_int_equal(unpack(tmp, e, 5, 1 << 20, &err), 0);
    struct stat st;
    assert_int_equal(stat(at(tmp, "lambda_function.py"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644); /* readable by the sandbox's user */
    assert_int_equal(stat(at(tmp, "bin/tool"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    assert_int_equal(stat(at(tmp, "bin"), &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_true(pt_path_is_file(at(tmp, "deep/er/file.txt")));
    char target[64] = "";
    assert_true(readlink(at(tmp, "link"), target, sizeof(target) - 1) > 0);
    assert_string_equal(target, "lambda_function.py");
    tu_rmtree(tmp);
    free(tmp);
}

static void expect_refused(const struct entry *e, size_t n, const char *why)
{
    char *tmp = tu_mkdtemp();
    struct pt_error err = {0};
    assert_int_equal(unpack(tmp, e, n, 1 << 20, &err), PT_EUSAGE);
    if (!strstr(err.msg, why))
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, why);
    /* Nothing may have been written outside the code directory. */
    assert_false(pt_path_is_file(at(tmp, "../evil")));
    tu_rmtree(tmp);
    free(tmp);
}

static void test_zip_slip_refused(void **state)
{
    (void)state;
    const struct entry dotdot[] = {{"../evil", "x", 0}};
    expect_refused(dotdot, 1, "outside the code directory");
    const struct entry inner[] = {{"a/../../evil", "x", 0}};
    expect_refused(inner, 1, "outside the code directory");
    const struct entry abs[] = {{"/tmp/evil", "x", 0}};
    expect_refused(abs, 1, "absolute");
}

static void test_symlinks_escaping_refused(void **state)
{
    (void)state;
    const struct entry up[] = {{"l", "../../etc", S_IFLNK | 0777}};
    expect_refused(up, 1, "outside the code directory");
    const struct entry absolute[] = {{"l", "/etc/passwd", S_IFLNK | 0777}};
    expect_refused(absolute, 1, "outside the code directory");
    /* Lexically "d/l1/.." is inside; resolved through l1 -> .. it is the parent. */
    const struct entry chain[] = {
        {"d/", NULL, S_IFDIR | 0755},
        {"d/l1", "..", S_IFLNK | 0777},
        {"l2", "d/l1/..", S_IFLNK | 0777},
    };
    expect_refused(chain, 3, "outside the code directory");
    /* A file written through a symlink planted earlier in the archive. */
    const struct entry through[] = {
        {"l", "..", S_IFLNK | 0777},
        {"l/evil", "x", 0},
    };
    char *tmp = tu_mkdtemp();
    struct pt_error err = {0};
    int rc = unpack(tmp, through, 2, 1 << 20, &err);
    assert_int_equal(rc, PT_EUSAGE);
    char outside[4096];
    snprintf(outside, sizeof(outside), "%s/evil", tmp);
    assert_false(pt_path_is_file(outside));
    tu_rmtree(tmp);
    free(tmp);
}

static void test_size_limit_and_garbage(void **state)
{
    (void)state;
    char big[4096];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    const struct entry e[] = {{"a", big, 0}, {"b", big, 0}};
    char *tmp = tu_mkdtemp();
    struct pt_error err = {0};
    assert_int_equal(unpack(tmp, e, 2, 6000, &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "Unzipped size must be smaller than 6000 bytes"));
    struct stat st;
    assert_int_not_equal(stat(at(tmp, "code"), &st), 0); /* nothing half-unpacked is left */
    char dest[4096];
    snprintf(dest, sizeof(dest), "%s/junk", tmp);
    assert_int_equal(pt_package_extract("not a zip at all", 16, dest, 1 << 20, &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "Could not unzip uploaded file"));
    tu_rmtree(tmp);
    free(tmp);
}

/* A package given by path (FUNCTION, a template's CodeUri): unpacked once per content under
 * root/packages/<sha256>/, a changed package anew; a file that is no zip is not taken for one. */
static void test_unpack_file(void **state)
{
    (void)state;
    char *tmp = tu_mkdtemp();
    const struct entry v1[] = {{"index.py", "def handler(e, c): return 1\n", 0}};
    const struct entry v2[] = {{"index.py", "def handler(e, c): return 2\n", 0}};
    size_t len = 0;
    unsigned char *zip = build_zip(tmp, v1, 1, &len);
    char pkg[4096], root[4096], dir[4096], again[4096], other[4096];
    snprintf(pkg, sizeof(pkg), "%s/fn.zip", tmp);
    snprintf(root, sizeof(root), "%s/state", tmp);
    assert_int_equal(pt_file_write_atomic(pkg, zip, len, NULL), 0);
    free(zip);
    assert_true(pt_package_is_zip(pkg));
    assert_false(pt_package_is_zip(root)); /* missing */
    assert_false(pt_package_is_zip(tmp));  /* a directory */
    struct pt_error err = {0};
    assert_int_equal(pt_package_unpack_file(pkg, root, dir, sizeof(dir), &err), 0);
    assert_non_null(strstr(dir, "/state/packages/"));
    char file[4200];
    snprintf(file, sizeof(file), "%s/index.py", dir);
    struct pt_buf b;
    pt_buf_init(&b, 0);
    assert_int_equal(pt_file_read(file, 1024, &b, NULL), 0);
    assert_string_equal(b.data, "def handler(e, c): return 1\n");
    pt_buf_free(&b);
    assert_int_equal(pt_package_unpack_file(pkg, root, again, sizeof(again), &err), 0);
    assert_string_equal(dir, again);
    zip = build_zip(tmp, v2, 1, &len);
    assert_int_equal(pt_file_write_atomic(pkg, zip, len, NULL), 0);
    free(zip);
    assert_int_equal(pt_package_unpack_file(pkg, root, other, sizeof(other), &err), 0);
    assert_string_not_equal(dir, other);
    assert_int_equal(pt_file_write_str(pkg, "PK\3\4 but not a zip", NULL), 0);
    assert_int_equal(pt_package_unpack_file(pkg, root, other, sizeof(other), &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "deployment package "));
    assert_non_null(strstr(err.msg, "Could not unzip"));
    tu_rmtree(tmp);
    free(tmp);
}

/* A name over NAME_MAX is the archive's fault: a 400 for the client, not a 500 SDKs retry. */
static void test_names_too_long_refused(void **state)
{
    (void)state;
    char name[300], dir[310];
    memset(name, 'a', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    snprintf(dir, sizeof(dir), "%s/x", name);
    const struct entry file[] = {{name, "x", 0}};
    expect_refused(file, 1, "has a name longer than 255 bytes");
    const struct entry in_dir[] = {{dir, "x", 0}};
    expect_refused(in_dir, 1, "has a name longer than 255 bytes");
    const struct entry link[] = {{"f", "x", 0}, {name, "f", S_IFLNK | 0777}};
    expect_refused(link, 2, "has a name longer than 255 bytes");
}

static void test_base64(void **state)
{
    (void)state;
    unsigned char *out = NULL;
    size_t n = 0;
    assert_int_equal(api_base64_decode("aGVsbG8=", 8, &out, &n), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "hello", 5);
    free(out);
    assert_int_equal(api_base64_decode("aGVs\nbG8h", 9, &out, &n), 0);
    assert_int_equal(n, 6);
    free(out);
    assert_int_equal(api_base64_decode("aGVsbG8", 7, &out, &n), 0); /* unpadded */
    assert_int_equal(n, 5);
    free(out);
    assert_int_equal(api_base64_decode("aGV*bG8=", 8, &out, &n), -1);
    assert_int_equal(api_base64_decode("aGVsbG8=x", 9, &out, &n), -1);
    assert_int_equal(api_base64_decode("a", 1, &out, &n), -1);
    char *e = api_base64_encode("hello", 5);
    assert_string_equal(e, "aGVsbG8=");
    free(e);
    char sha[API_SHA_B64_MAX];
    api_sha256_base64("", 0, sha);
    assert_string_equal(sha, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
}

static void test_percent_and_query(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(api_percent_decode("fn%3A%24LATEST", 14, out, sizeof(out)), 0);
    assert_string_equal(out, "fn:$LATEST");
    assert_int_equal(api_percent_decode("bad%4", 5, out, sizeof(out)), -1);
    assert_int_equal(api_percent_decode("nul%00", 6, out, sizeof(out)), -1);
    assert_int_equal(api_percent_decode("toolong", 7, out, 4), -1);
    assert_int_equal(api_query_get("Marker=3&Qualifier=%24LATEST", "Qualifier", out, sizeof(out)), 1);
    assert_string_equal(out, "$LATEST");
    assert_int_equal(api_query_get("MaxItems=2", "Qualifier", out, sizeof(out)), 0);
    assert_int_equal(api_query_get(NULL, "Qualifier", out, sizeof(out)), 0);
    assert_int_equal(api_query_get("Qualifier=%zz", "Qualifier", out, sizeof(out)), -1);
    char lm[32];
    api_last_modified_now(lm);
    assert_int_equal(strlen(lm), 28);
    assert_string_equal(lm + 23, "+0000");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_files_dirs_modes),
        cmocka_unit_test(test_zip_slip_refused),
        cmocka_unit_test(test_symlinks_escaping_refused),
        cmocka_unit_test(test_size_limit_and_garbage),
        cmocka_unit_test(test_names_too_long_refused),
        cmocka_unit_test(test_unpack_file),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_percent_and_query),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
