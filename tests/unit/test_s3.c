/*
 * test_s3.c - the S3 GetObject building blocks (aws/s3.h): the path-style object path (key
 * encoded once, '/' kept), the default endpoint, the reference's error messages and S3's XML
 * <Message>; and the signing flags s3.c uses reproduce AWS's documented S3 GET Object example.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "aws/s3.h"
#include "aws/sigv4.h"
#include "base/buf.h"

static void test_object_path(void **state)
{
    (void)state;
    struct pt_error err = {0};
    struct pt_buf b;
    pt_buf_init(&b, 4096);
    assert_int_equal(pt_s3_object_path("b", "events/one.json", &b, &err), 0);
    assert_string_equal(b.data, "/b/events/one.json");
    pt_buf_reset(&b);
    assert_int_equal(pt_s3_object_path("my-bucket", "a b/c+d=é~.json", &b, &err), 0);
    assert_string_equal(b.data, "/my-bucket/a%20b/c%2Bd%3D%C3%A9~.json");
    pt_buf_free(&b);
    char ep[128];
    pt_s3_default_endpoint("eu-west-1", ep, sizeof(ep));
    assert_string_equal(ep, "https://s3.eu-west-1.amazonaws.com");
    /* China's partition has its own DNS suffix (the request went to a name that does not
     * resolve). */
    pt_s3_default_endpoint("cn-north-1", ep, sizeof(ep));
    assert_string_equal(ep, "https://s3.cn-north-1.amazonaws.com.cn");
}

static void test_errors(void **state)
{
    (void)state;
    struct pt_error err = {0};
    assert_int_equal(pt_s3_error(403, "b", "k/x", "Access Denied", &err), PT_EPERM);
    assert_string_equal(err.msg, "Permission denied when trying to read s3://b/k/x. You might need "
                                 "to re-deploy the app with the correct payloadS3Bucket parameter.");
    assert_int_equal(pt_s3_error(404, "b", "k", NULL, &err), PT_ENOTFOUND);
    assert_string_equal(err.msg, "The object s3://b/k does not exist. Make sure you are trying to "
                                 "access an existing object in the correct bucket.");
    assert_int_equal(pt_s3_error(500, "b", "k", "We encountered an internal error.", &err), PT_EIO);
    assert_string_equal(err.msg,
                        "Unknown error when trying to read s3://b/k. We encountered an internal error.");
    char m[64];
    const char *x = "<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>Please\nreduce"
                    "</Message></Error>";
    pt_s3_xml_message(x, strlen(x), m, sizeof(m));
    assert_string_equal(m, "Please reduce");
    pt_s3_xml_message("<Error/>", 8, m, sizeof(m));
    assert_string_equal(m, "");
    pt_s3_xml_message(x, 40, m, sizeof(m)); /* cut before the end tag */
    assert_string_equal(m, "");
}

/* AWS's "Signature Calculations for the Authorization Header" example: GET Object. */
static void test_sign_like_aws_get_object_example(void **state)
{
    (void)state;
    struct pt_error err = {0};
    struct pt_aws_credentials c;
    assert_int_equal(pt_aws_credentials_set(&c, "AKIAIOSFODNN7EXAMPLE",
                                            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL,
                                            "test", &err), 0);
    struct pt_sigv4_header h[] = {{"Host", "examplebucket.s3.amazonaws.com"},
                                  {"Range", "bytes=0-9"}};
    struct pt_sigv4_request r = {.method = "GET", .path = "/test.txt", .headers = h,
                                 .header_count = 2};
    int64_t t;
    assert_int_equal(pt_sigv4_parse_date("20130524T000000Z", &t), 0);
    struct pt_sigv4_params p = {.creds = &c, .region = "us-east-1", .service = "s3", .time = t,
                                .flags = PT_SIGV4_S3 | PT_SIGV4_CONTENT_SHA256_HEADER};
    struct pt_sigv4_signed s;
    pt_sigv4_signed_init(&s);
    assert_int_equal(pt_sigv4_sign(&r, &p, &s, &err), 0);
    assert_string_equal(s.signed_headers.data, "host;range;x-amz-content-sha256;x-amz-date");
    assert_string_equal(s.signature,
                        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    pt_sigv4_signed_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_object_path),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_sign_like_aws_get_object_example),
    };
    return cmocka_run_group_tests_name("s3", tests, NULL, NULL);
}
