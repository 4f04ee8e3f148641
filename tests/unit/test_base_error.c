/*
 * test_base_error.c - the error idiom's messages: bounded, and well-formed UTF-8 whatever was
 * quoted into them or wherever a bound cut them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "base/str.h"

static void assert_utf8(const char *msg)
{
    size_t n = strlen(msg);
    for (size_t i = 0; i < n;) {
        size_t len = pt_utf8_seq((const unsigned char *)msg + i, n - i);
        if (len == 0)
            fail_msg("byte %zu of \"%s\" is not UTF-8", i, msg);
        i += len;
    }
}

static void test_set_keeps_utf8_and_marks_other_bytes(void **state)
{
    (void)state;
    struct pt_error err = {0};
    assert_int_equal(pt_error_set(&err, PT_EUSAGE, "name '%s'", "caf\xc3\xa9 \xe9t\xe9"), PT_EUSAGE);
    assert_int_equal(err.code, PT_EUSAGE);
    assert_string_equal(err.msg, "name 'caf\xc3\xa9 ?t?'");
}

static void test_bound_inside_a_character(void **state)
{
    (void)state;
    struct pt_error err = {0};
    /* "%.4s" keeps "x", one e-acute and the first byte of the next. */
    pt_error_set(&err, PT_EUSAGE, "strategy \"%.4s\"; allowed cost", "x\xc3\xa9\xc3\xa9");
    assert_string_equal(err.msg, "strategy \"x\xc3\xa9?\"; allowed cost");
    assert_utf8(err.msg);
}

static void test_message_size_inside_a_character(void **state)
{
    (void)state;
    char text[2 * PT_ERROR_MSG_MAX + 1];
    for (int shift = 0; shift < 2; shift++) {
        struct pt_error err = {0};
        size_t o = 0;
        if (shift)
            text[o++] = 'x';
        while (o + 2 < sizeof(text)) {
            text[o++] = '\xc3';
            text[o++] = '\xa9';
        }
        text[o] = '\0';
        pt_error_set(&err, PT_EUSAGE, "%s", text);
        assert_int_equal(strlen(err.msg), PT_ERROR_MSG_MAX - 1);
        assert_utf8(err.msg);
        pt_error_errno(&err, PT_ESYS, 2, "%s", text);
        assert_utf8(err.msg);
    }
}

static void test_wrap_cut_inside_a_character(void **state)
{
    (void)state;
    struct pt_error err = {0};
    char text[PT_ERROR_MSG_MAX];
    memset(text, 'a', sizeof(text));
    size_t o = PT_ERROR_MSG_MAX - 40;
    while (o + 2 < sizeof(text)) {
        text[o++] = '\xe2'; /* U+20AC, three bytes */
        text[o++] = '\x82';
        if (o + 1 < sizeof(text))
            text[o++] = '\xac';
    }
    text[sizeof(text) - 1] = '\0';
    for (int prefix = 1; prefix <= 3; prefix++) {
        pt_error_set(&err, PT_EIO, "%s", text);
        pt_error_wrap(&err, "%.*s", prefix, "xyz");
        assert_int_equal(err.code, PT_EIO);
        assert_utf8(err.msg);
    }
}

/* A caller re-labels an error by quoting its own message (cli: "--payload-file F: <msg>"). */
static void test_set_quoting_its_own_message(void **state)
{
    (void)state;
    struct pt_error err = {0};
    pt_error_errno(&err, PT_EUSAGE, 2, "%s", "/nonexistent");
    pt_error_set(&err, PT_EUSAGE, "--payload-file %s: %s", "/nonexistent", err.msg);
    assert_string_equal(err.msg, "--payload-file /nonexistent: /nonexistent: No such file or directory");
    assert_int_equal(err.code, PT_EUSAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_keeps_utf8_and_marks_other_bytes),
        cmocka_unit_test(test_bound_inside_a_character),
        cmocka_unit_test(test_message_size_inside_a_character),
        cmocka_unit_test(test_wrap_cut_inside_a_character),
        cmocka_unit_test(test_set_quoting_its_own_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
