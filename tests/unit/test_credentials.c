/*
 * test_credentials.c - AWS credentials and region resolution
 * (aws/credentials.h) with the fixture files of tests/data/aws/ copied into a
 * temporary HOME, and Lambda function ARN parsing (aws/arn.h). The
 * environment is passed as an envp array, so the process environment is
 * never touched.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "aws/arn.h"
#include "aws/credentials.h"
#include "base/buf.h"
#include "base/fs.h"
#include "base/str.h"

struct fixture {
    char home[PATH_MAX];
    char data[PATH_MAX]; /* <repo>/tests/data/aws */
    char env_home[PATH_MAX + 8];
};

static void copy_file(const char *from, const char *to)
{
    struct pt_buf b;
    struct pt_error err;
    pt_buf_init(&b, 1 << 20);
    if (pt_file_read(from, 1 << 20, &b, &err) != 0)
        fail_msg("%s", err.msg);
    if (pt_file_write_atomic(to, b.data ? b.data : "", b.len, &err) != 0)
        fail_msg("%s", err.msg);
    pt_buf_free(&b);
}

static int rm_tree(const char *home)
{
    char p[PATH_MAX];
    const char *files[] = {".aws/credentials", ".aws/config"};
    for (size_t i = 0; i < 2; i++)
        if (pt_path_join(p, sizeof(p), home, files[i]) == 0)
            unlink(p);
    if (pt_path_join(p, sizeof(p), home, ".aws") == 0)
        rmdir(p);
    return rmdir(home);
}

/* A temporary HOME holding ~/.aws/credentials and ~/.aws/config from the fixtures. */
static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char cwd[PATH_MAX], aws[PATH_MAX], to[PATH_MAX], from[PATH_MAX];
    struct pt_error err;
    assert_non_null(f);
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(pt_path_join(f->data, sizeof(f->data), cwd, "tests/data/aws"), 0);
    if (!pt_path_is_dir(f->data))
        fail_msg("fixtures not found at %s (run the tests from the repository root)", f->data);
    pt_strlcpy(f->home, "/tmp/powertune-creds-XXXXXX", sizeof(f->home));
    assert_non_null(mkdtemp(f->home));
    assert_int_equal(pt_path_join(aws, sizeof(aws), f->home, ".aws"), 0);
    assert_int_equal(pt_mkdir_p(aws, 0700, &err), 0);
    const char *names[] = {"credentials", "config"};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(pt_path_join(from, sizeof(from), f->data, names[i]), 0);
        assert_int_equal(pt_path_join(to, sizeof(to), aws, names[i]), 0);
        copy_file(from, to);
    }
    snprintf(f->env_home, sizeof(f->env_home), "HOME=%s", f->home);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    rm_tree(f->home);
    free(f);
    return 0;
}

/* An environment of HOME plus the given "NAME=value" strings (NULL-terminated list). */
#define ENV(f, ...) ((char *[]){(f)->env_home, __VA_ARGS__, NULL})

static void resolve_ok(char *const *envp, const char *profile, struct pt_aws_credentials *c)
{
    struct pt_aws_config_options o = {.profile = profile, .envp = envp};
    struct pt_error err = {0};
    if (pt_aws_credentials_resolve(&o, c, &err) != 0)
        fail_msg("resolve: %s", err.msg);
}

static void test_environment_first(void **state)
{
    struct fixture *f = *state;
    struct pt_aws_credentials c;
    resolve_ok(ENV(f, "AWS_ACCESS_KEY_ID=AKIDENVIRONMENT1", "AWS_SECRET_ACCESS_KEY=envSecret",
                   "AWS_SESSION_TOKEN=envToken"),
               NULL, &c);
    assert_string_equal(c.access_key_id, "AKIDENVIRONMENT1");
    assert_string_equal(c.secret_access_key, "envSecret");
    assert_string_equal(c.session_token, "envToken");
    assert_string_equal(c.source, "environment");
    /* AWS_PROFILE does not outrank the environment's keys (botocore). */
    resolve_ok(ENV(f, "AWS_PROFILE=dev", "AWS_ACCESS_KEY_ID=AKIDENVIRONMENT1",
                   "AWS_SECRET_ACCESS_KEY=envSecret"),
               NULL, &c);
    assert_string_equal(c.access_key_id, "AKIDENVIRONMENT1");
    assert_string_equal(c.session_token, "");
    /* An explicit profile (--profile) does. */
    resolve_ok(ENV(f, "AWS_ACCESS_KEY_ID=AKIDENVIRONMENT1", "AWS_SECRET_ACCESS_KEY=envSecret"),
               "dev", &c);
    assert_string_equal(c.access_key_id, "AKIDDEVCRED00001");
    pt_aws_credentials_clear(&c);
}

static void test_environment_partial(void **state)
{
    struct fixture *f = *state;
    struct pt_aws_credentials c;
    struct pt_error err = {0};
    struct pt_aws_config_options o = {.envp = ENV(f, "AWS_ACCESS_KEY_ID=AKIDENVIRONMENT1")};
    assert_int_equal(pt_aws_credentials_resolve(&o, &c, &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "AWS_SECRET_ACCESS_KEY is not"));
    /* Empty variables count as unset, as in the AWS CLI. */
    o.envp = ENV(f, "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=");
    resolve_ok(o.envp, NULL, &c);
    assert_string_equal(c.access_key_id, "AKIDDEFAULTCRED1");
}

static void test_shared_credentials_profiles(void **state)
{
    struct fixture *f = *state;
    struct pt_aws_credentials c;
    resolve_ok(ENV(f, "X=1"), NULL, &c);
    assert_string_equal(c.access_key_id, "AKIDDEFAULTCRED1");
    assert_string_equal(c.secret_access_key, "secretDefaultCred/+=");
    assert_string_equal(c.session_token, "");
    assert_non_null(strstr(c.source, "profile 'default'"));
    assert_non_null(strstr(c.source, "/.aws/credentials"));
    /* AWS_PROFILE picks [dev]; its key name is in mixed case. */
    resolve_ok(ENV(f, "AWS_PROFILE=dev"), NULL, &c);
    assert_string_equal(c.access_key_id, "AKIDDEVCRED00001");
    assert_string_equal(c.session_token, "tokenDev/abc==");
    pt_aws_credentials_clear(&c);
}

static void test_config_file_profiles(void **state)
{
    struct fixture *f = *state;
    struct pt_aws_credentials c;
    struct pt_error err = {0};
    /* Only in the config file, as [profile cfgonly]; the credentials file's
     * "[profile cfgonly]" is another profile and must not be taken. */
    resolve_ok(ENV(f, "X=1"), "cfgonly", &c);
    assert_string_equal(c.access_key_id, "AKIDCFGONLY00001");
    assert_non_null(strstr(c.source, "/.aws/config"));
    /* Assume-role profiles are refused by name, not skipped. */
    struct pt_aws_config_options o = {.profile = "role", .envp = ENV(f, "X=1")};
    assert_int_equal(pt_aws_credentials_resolve(&o, &c, &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "role_arn"));
    /* A profile with half the keys. */
    o.profile = "partial";
    assert_int_equal(pt_aws_credentials_resolve(&o, &c, &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "secret access key is missing"));
    assert_non_null(strstr(err.msg, "partial"));
    /* A profile nobody has. */
    o.profile = "nope";
    assert_int_equal(pt_aws_credentials_resolve(&o, &c, &err), PT_ENOTFOUND);
    assert_non_null(strstr(err.msg, "profile 'nope' not found"));
    o.profile = NULL;
    o.envp = ENV(f, "AWS_PROFILE=nope");
    assert_int_equal(pt_aws_credentials_resolve(&o, &c, &err), PT_ENOTFOUND);
    assert_non_null(strstr(err.msg, "'nope'"));
    pt_aws_credentials_clear(&c);
}

static void test_file_overrides(void **state)
{
    struct fixture *f = *state;
    struct pt_aws_credentials c;
    struct pt_error err = {0};
    char alt[PATH_MAX + 64], conf[PATH_MAX + 64], nohome[PATH_MAX];
    snprintf(alt, sizeof(alt), "AWS_SHARED_CREDENTIALS_FILE=%s/alt-credentials", f->data);
    resolve_ok(ENV(f, alt), NULL, &c);
    assert_string_equal(c.access_key_id, "AKIDALTERNATE001");
    /* AWS_CONFIG_FILE: the alternate file has no [profile cfgonly]. */
    snprintf(conf, sizeof(conf), "AWS_CONFIG_FILE=%s/alt-credentials", f->data);
    struct pt_aws_config_options o = {.profile = "cfgonly", .envp = ENV(f, conf)};
    assert_int_equal(pt_aws_credentials_resolve(&o, &c, &err), PT_ENOTFOUND);
    /* "~/" in an override is HOME. */
    resolve_ok(ENV(f, "AWS_SHARED_CREDENTIALS_FILE=~/.aws/credentials"), "dev", &c);
    assert_string_equal(c.access_key_id, "AKIDDEVCRED00001");
    /* A HOME without ~/.aws: nothing anywhere. */
    assert_int_equal(pt_path_join(nohome, sizeof(nohome), f->home, ".aws/none"), 0);
    char env_nohome[PATH_MAX + 8];
    snprintf(env_nohome, sizeof(env_nohome), "HOME=%s", nohome);
    o.profile = NULL;
    o.envp = (char *[]){env_nohome, NULL};
    assert_int_equal(pt_aws_credentials_resolve(&o, &c, &err), PT_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no AWS credentials found"));
    assert_non_null(strstr(err.msg, "AWS_ACCESS_KEY_ID"));
    pt_aws_credentials_clear(&c);
}

static void test_describe_never_shows_secrets(void **state)
{
    struct fixture *f = *state;
    struct pt_aws_credentials c;
    char d[512];
    resolve_ok(ENV(f, "AWS_PROFILE=dev"), NULL, &c);
    pt_aws_credentials_describe(&c, d, sizeof(d));
    assert_non_null(strstr(d, "************0001"));
    assert_null(strstr(d, "AKIDDEVCRED"));
    assert_null(strstr(d, "secretDevCred"));
    assert_null(strstr(d, "tokenDev"));
    assert_non_null(strstr(d, "session token set (14 chars)"));
    assert_non_null(strstr(d, "profile 'dev'"));
    /* Even a secret that is a substring of nothing else never leaks through a short buffer. */
    char small[24];
    pt_aws_credentials_describe(&c, small, sizeof(small));
    assert_null(strstr(small, "secret"));
    pt_aws_credentials_clear(&c);
    assert_string_equal(c.secret_access_key, "");
    pt_aws_credentials_describe(&c, d, sizeof(d));
    assert_string_equal(d, "no credentials");
}

static void test_credentials_set_checks(void **state)
{
    (void)state;
    struct pt_aws_credentials c;
    struct pt_error err = {0};
    assert_int_equal(pt_aws_credentials_set(&c, "AKID/X", "s", NULL, "t", &err), PT_EUSAGE);
    assert_int_equal(pt_aws_credentials_set(&c, "AKID", "", NULL, "t", &err), PT_EUSAGE);
    assert_int_equal(pt_aws_credentials_set(&c, "AKID", "se cret", NULL, "t", &err), PT_EUSAGE);
    char *big = malloc(PT_AWS_TOKEN_MAX + 1);
    assert_non_null(big);
    memset(big, 'a', PT_AWS_TOKEN_MAX);
    big[PT_AWS_TOKEN_MAX] = '\0';
    assert_int_equal(pt_aws_credentials_set(&c, "AKID", "s", big, "t", &err), PT_ELIMIT);
    free(big);
    /* Failures leave nothing behind. */
    assert_string_equal(c.secret_access_key, "");
}

/* ------------------------------------------------------------------ */
/* Region. */

static void region_is(struct fixture *f, char *const *envp, const char *profile,
                      const char *flag, const char *arn, const char *want, const char *want_src)
{
    (void)f;
    struct pt_aws_config_options o = {.profile = profile, .envp = envp};
    char r[PT_AWS_REGION_MAX], src[PT_AWS_SOURCE_MAX];
    struct pt_error err = {0};
    if (pt_aws_region_resolve(&o, flag, arn, r, sizeof(r), src, sizeof(src), &err) != 0)
        fail_msg("region: %s", err.msg);
    assert_string_equal(r, want);
    if (!strstr(src, want_src))
        fail_msg("region source '%s' does not mention '%s'", src, want_src);
}

static void test_region_order(void **state)
{
    struct fixture *f = *state;
    char *const *all = ENV(f, "AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-2");
    region_is(f, all, NULL, "sa-east-1", "eu-north-1", "sa-east-1", "--region");
    region_is(f, all, NULL, NULL, "eu-north-1", "eu-north-1", "ARN");
    region_is(f, all, NULL, "", "", "us-east-1", "AWS_REGION");
    region_is(f, ENV(f, "AWS_DEFAULT_REGION=us-east-2"), NULL, NULL, NULL, "us-east-2",
              "AWS_DEFAULT_REGION");
    /* The default profile's region; the nested "s3 = / region = ..." is not it. */
    region_is(f, ENV(f, "X=1"), NULL, NULL, NULL, "eu-west-1", "profile 'default'");
    region_is(f, ENV(f, "AWS_PROFILE=dev"), NULL, NULL, NULL, "us-west-2", "profile 'dev'");
    region_is(f, ENV(f, "X=1"), "notconfig", NULL, NULL, "ca-central-1", "config");
    region_is(f, ENV(f, "X=1"), NULL, "us-gov-west-1", NULL, "us-gov-west-1", "--region");
}

static void test_region_errors(void **state)
{
    struct fixture *f = *state;
    char r[PT_AWS_REGION_MAX];
    struct pt_error err = {0};
    struct pt_aws_config_options o = {.profile = "badregion", .envp = ENV(f, "X=1")};
    assert_int_equal(pt_aws_region_resolve(&o, NULL, NULL, r, sizeof(r), NULL, 0, &err),
                     PT_EUSAGE);
    assert_non_null(strstr(err.msg, "'Mars'"));
    o.profile = "cfgonly";
    assert_int_equal(pt_aws_region_resolve(&o, "us_east_1", NULL, r, sizeof(r), NULL, 0, &err),
                     PT_EUSAGE);
    assert_non_null(strstr(err.msg, "--region"));
    o.profile = "partial";
    assert_int_equal(pt_aws_region_resolve(&o, NULL, NULL, r, sizeof(r), NULL, 0, &err),
                     PT_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no AWS region"));
    assert_non_null(strstr(err.msg, "AWS_REGION"));
    assert_true(pt_aws_region_valid("us-east-1"));
    assert_true(pt_aws_region_valid("us-isob-east-1"));
    assert_true(pt_aws_region_valid("cn-northwest-1"));
    assert_false(pt_aws_region_valid("us-east"));
    assert_false(pt_aws_region_valid("US-EAST-1"));
    assert_false(pt_aws_region_valid("-east-1"));
    assert_false(pt_aws_region_valid(""));
}

static void test_ini_lookup(void **state)
{
    struct fixture *f = *state;
    char path[PATH_MAX], v[64];
    int found = 0;
    struct pt_error err = {0};
    assert_int_equal(pt_path_join(path, sizeof(path), f->data, "config"), 0);
    assert_int_equal(pt_aws_ini_lookup(path, 1, "dev", "output", v, sizeof(v), &found, &err), 0);
    assert_string_equal(v, "json");
    assert_int_equal(pt_aws_ini_lookup(path, 1, "dev", "nokey", v, sizeof(v), &found, &err),
                     PT_ENOTFOUND);
    assert_true(found);
    assert_int_equal(pt_aws_ini_lookup(path, 1, "ghost", "region", v, sizeof(v), &found, &err),
                     PT_ENOTFOUND);
    assert_false(found);
    /* A value longer than the caller's buffer is an error, never a silent truncation. */
    char tiny[8];
    assert_int_equal(pt_aws_ini_lookup(path, 1, "role", "role_arn", tiny, sizeof(tiny), &found,
                                       &err), PT_ELIMIT);
    /* A missing file is "not found", not an I/O error. */
    assert_int_equal(pt_aws_ini_lookup("/nonexistent/x", 1, "default", "region", v, sizeof(v),
                                       &found, &err), PT_ENOTFOUND);
    /* A NUL byte would have hidden the rest of the file (here the profile that has the key). */
    static const char with_nul[] = "[default]\nregion = eu-west-1\n#\0\n[profile dev]\n"
                                   "region = us-east-2\n";
    assert_int_equal(pt_path_join(path, sizeof(path), f->home, "nul-config"), 0);
    assert_int_equal(pt_file_write_atomic(path, with_nul, sizeof(with_nul) - 1, &err), 0);
    assert_int_equal(pt_aws_ini_lookup(path, 1, "dev", "region", v, sizeof(v), &found, &err),
                     PT_EUSAGE);
    assert_non_null(strstr(err.msg, "line 3 holds a NUL byte"));
    assert_non_null(strstr(err.msg, "nul-config"));
}

/* ------------------------------------------------------------------ */
/* Lambda ARNs. */

static void arn_ok(const char *s, enum pt_aws_arn_form form, const char *region,
                   const char *account, const char *name, const char *qualifier)
{
    struct pt_aws_lambda_arn a;
    struct pt_error err = {0};
    if (pt_aws_lambda_arn_parse(s, &a, &err) != 0)
        fail_msg("'%s': %s", s, err.msg);
    assert_int_equal(a.form, form);
    assert_string_equal(a.region, region);
    assert_string_equal(a.account, account);
    assert_string_equal(a.name, name);
    assert_string_equal(a.qualifier, qualifier);
}

static void arn_bad(const char *s, const char *needle)
{
    struct pt_aws_lambda_arn a;
    struct pt_error err = {0};
    assert_int_equal(pt_aws_lambda_arn_parse(s, &a, &err), PT_EUSAGE);
    if (!strstr(err.msg, needle))
        fail_msg("'%s': message '%s' does not mention '%s'", s, err.msg, needle);
}

static void test_arn_forms(void **state)
{
    (void)state;
    arn_ok("arn:aws:lambda:us-east-1:123456789012:function:my-fn", PT_AWS_ARN_FULL, "us-east-1",
           "123456789012", "my-fn", "");
    arn_ok("arn:aws:lambda:eu-west-1:123456789012:function:my_fn:RAM128", PT_AWS_ARN_FULL,
           "eu-west-1", "123456789012", "my_fn", "RAM128");
    arn_ok("arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST", PT_AWS_ARN_FULL,
           "us-east-1", "123456789012", "f", "$LATEST");
    arn_ok("arn:aws:lambda:us-east-1:123456789012:function:f:42", PT_AWS_ARN_FULL, "us-east-1",
           "123456789012", "f", "42");
    arn_ok("arn:aws-cn:lambda:cn-north-1:123456789012:function:f", PT_AWS_ARN_FULL,
           "cn-north-1", "123456789012", "f", "");
    arn_ok("arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f", PT_AWS_ARN_FULL,
           "us-gov-west-1", "123456789012", "f", "");
    arn_ok("123456789012:function:my-fn", PT_AWS_ARN_PARTIAL, "", "123456789012", "my-fn", "");
    arn_ok("123456789012:function:my-fn:prod", PT_AWS_ARN_PARTIAL, "", "123456789012", "my-fn",
           "prod");
    arn_ok("my-fn", PT_AWS_ARN_NAME, "", "", "my-fn", "");
    arn_ok("my-fn:prod", PT_AWS_ARN_NAME, "", "", "my-fn", "prod");
    char name64[65];
    memset(name64, 'a', 64);
    name64[64] = '\0';
    arn_ok(name64, PT_AWS_ARN_NAME, "", "", name64, "");
}

static void test_arn_errors(void **state)
{
    (void)state;
    arn_bad("", "empty");
    arn_bad("arn:aws:lambda:us-east-1:12345:function:f", "12 digits");
    arn_bad("arn:aws:s3:us-east-1:123456789012:function:f", "service 's3'");
    arn_bad("arn:aws:lambda:us-east-1:123456789012:layer:l:1", "'layer'");
    arn_bad("arn:aws:lambda:useast1:123456789012:function:f", "region 'useast1'");
    arn_bad("arn:aws:lambda:us-east-1:123456789012:function:f:a:b", "arn:aws:lambda:REGION");
    arn_bad("arn:aws:lambda:us-east-1:123456789012:function", "arn:aws:lambda:REGION");
    arn_bad("arn:gcp:lambda:us-east-1:123456789012:function:f", "partition 'gcp'");
    arn_bad("my fn", "function name 'my fn'");
    arn_bad("my-fn:", "qualifier ''");
    arn_bad("my-fn:al.ias", "qualifier 'al.ias'");
    arn_bad("a:b:c", "neither");
    arn_bad("12345678901x:function:f", "12 digits");
    char name65[66];
    memset(name65, 'a', 65);
    name65[65] = '\0';
    arn_bad(name65, "1-64");
}

static void test_arn_format(void **state)
{
    (void)state;
    struct pt_aws_lambda_arn a;
    struct pt_error err = {0};
    char out[PT_AWS_ARN_MAX];
    assert_int_equal(pt_aws_lambda_arn_parse("my-fn:prod", &a, &err), 0);
    assert_int_equal(pt_aws_lambda_arn_format(&a, "us-east-1", "123456789012", 1, out,
                                              sizeof(out), &err), 0);
    assert_string_equal(out, "arn:aws:lambda:us-east-1:123456789012:function:my-fn:prod");
    assert_int_equal(pt_aws_lambda_arn_format(&a, "us-east-1", "123456789012", 0, out,
                                              sizeof(out), &err), 0);
    assert_string_equal(out, "arn:aws:lambda:us-east-1:123456789012:function:my-fn");
    assert_int_equal(pt_aws_lambda_arn_format(&a, NULL, "123456789012", 0, out, sizeof(out),
                                              &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "region"));
    /* A full ARN keeps its own partition, region and account. */
    assert_int_equal(pt_aws_lambda_arn_parse("arn:aws-cn:lambda:cn-north-1:123456789012:"
                                             "function:f:1", &a, &err), 0);
    assert_int_equal(pt_aws_lambda_arn_format(&a, "us-east-1", "999999999999", 1, out,
                                              sizeof(out), &err), 0);
    assert_string_equal(out, "arn:aws-cn:lambda:cn-north-1:123456789012:function:f:1");
    char tiny[16];
    assert_int_equal(pt_aws_lambda_arn_format(&a, NULL, NULL, 1, tiny, sizeof(tiny), &err),
                     PT_ELIMIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_environment_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_environment_partial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_credentials_profiles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_file_profiles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_overrides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_describe_never_shows_secrets, setup, teardown),
        cmocka_unit_test(test_credentials_set_checks),
        cmocka_unit_test_setup_teardown(test_region_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_region_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ini_lookup, setup, teardown),
        cmocka_unit_test(test_arn_forms),
        cmocka_unit_test(test_arn_errors),
        cmocka_unit_test(test_arn_format),
    };
    return cmocka_run_group_tests_name("credentials", tests, NULL, NULL);
}
