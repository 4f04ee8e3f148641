/*
 * test_base_fs.c - the file helpers' edge cases: an atomic write to a path that is not a
 * regular file (a pipe, as /dev/stdout is) or is a symlink, and telling two spellings of one
 * file apart from two files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"

/* A pipe named by path (/dev/fd/N) is written into, not replaced by a file. */
static void test_write_atomic_to_a_pipe(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    char path[64];
    snprintf(path, sizeof(path), "/dev/fd/%d", p[1]);
    struct pt_error err = {0};
    assert_int_equal(pt_file_write_atomic(path, "{}\n", 3, &err), 0);
    close(p[1]);
    char got[8] = {0};
    assert_int_equal(read(p[0], got, sizeof(got) - 1), 3);
    assert_string_equal(got, "{}\n");
    close(p[0]);
}

/* A symlink to a file keeps being a link; its target gets the new content. */
static void test_write_atomic_through_a_symlink(void **state)
{
    (void)state;
    char dir[] = "/tmp/powertune-fs-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char target[PATH_MAX], link[PATH_MAX];
    snprintf(target, sizeof(target), "%s/target.json", dir);
    snprintf(link, sizeof(link), "%s/link.json", dir);
    struct pt_error err = {0};
    assert_int_equal(pt_file_write_atomic(target, "old", 3, &err), 0);
    assert_int_equal(symlink("target.json", link), 0);
    assert_int_equal(pt_file_write_atomic(link, "new", 3, &err), 0);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    struct pt_buf b;
    pt_buf_init(&b, 64);
    assert_int_equal(pt_file_read(target, 64, &b, &err), 0);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "new", 3);
    pt_buf_free(&b);
    unlink(link);
    unlink(target);
    rmdir(dir);
}

static void test_same_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/powertune-fs-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char a[PATH_MAX], a2[PATH_MAX], b[PATH_MAX];
    snprintf(a, sizeof(a), "%s/a.jsonl", dir);
    snprintf(a2, sizeof(a2), "%s/./a.jsonl", dir);
    snprintf(b, sizeof(b), "%s/b.jsonl", dir);
    /* Neither exists yet: the same name in the same directory. */
    assert_true(pt_path_same_file(a, a2));
    assert_false(pt_path_same_file(a, b));
    struct pt_error err = {0};
    assert_int_equal(pt_file_write_atomic(a, "x", 1, &err), 0);
    assert_true(pt_path_same_file(a, a2));
    assert_false(pt_path_same_file(a, b)); /* one exists, the other not */
    assert_int_equal(pt_path_check_writable(a, &err), 0);
    assert_int_equal(pt_path_check_writable(dir, &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "is a directory"));
    assert_int_equal(pt_path_check_writable("/nonexistent-dir/x.json", &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "does not exist"));
    /* A file where a directory should be made is refused, not taken for the directory. */
    assert_int_equal(pt_mkdir_p(a, 0755, &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "is not a directory"));
    unlink(a);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_atomic_to_a_pipe),
        cmocka_unit_test(test_write_atomic_through_a_symlink),
        cmocka_unit_test(test_same_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
