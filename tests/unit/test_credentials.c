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
    const char *files[] = {".aws/credentials", ".aws/config", "t-credentials", "t-config"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
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

/* Both token variables set: botocore (and so the AWS CLI) takes AWS_SECURITY_TOKEN. */
static void test_environment_token_order(void **state)
{
    struct fixture *f = *state;
    struct pt_aws_credentials c;
    resolve_ok(ENV(f, "AWS_ACCESS_KEY_ID=AKIDENVIRONMENT1", "AWS_SECRET_ACCESS_KEY=envSecret",
                   "AWS_SESSION_TOKEN=sessionTok", "AWS_SECURITY_TOKEN=securityTok"),
               NULL, &c);
    assert_string_equal(c.session_token, "securityTok");
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
    /* A mistyped --profile: said so, where the AWS CLI says 'could not be found' (it was
     * "no AWS region: ... set region in profile 'nope'"). */
    o.profile = "nope";
    assert_int_equal(pt_aws_region_resolve(&o, NULL, NULL, r, sizeof(r), NULL, 0, &err),
                     PT_ENOTFOUND);
    assert_non_null(strstr(err.msg, "AWS profile 'nope' not found"));
    assert_non_null(strstr(err.msg, "(named by --profile)"));
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
/* Crafted files, each compared with what /usr/bin/aws (botocore) does with it. */

struct crafted {
    char env_cred[PATH_MAX + 40], env_conf[PATH_MAX + 40];
};

/* Writes the two files (NULL: absent) under HOME and points the variables at them. */
static void crafted_files(struct fixture *f, struct crafted *cf, const char *cred,
                          const char *conf)
{
    char p[PATH_MAX];
    struct pt_error err;
    const char *names[] = {"t-credentials", "t-config"};
    const char *texts[] = {cred, conf};
    char *envs[] = {cf->env_cred, cf->env_conf};
    const char *vars[] = {"AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pt_path_join(p, sizeof(p), f->home, names[i]), 0);
        unlink(p);
        if (texts[i])
            assert_int_equal(pt_file_write_atomic(p, texts[i], strlen(texts[i]), &err), 0);
        snprintf(envs[i], sizeof(cf->env_cred), "%s=%s", vars[i], p);
    }
}

static int crafted_resolve(struct fixture *f, struct crafted *cf, const char *profile,
                           const char *extra_env, struct pt_aws_credentials *c,
                           struct pt_error *err)
{
    struct pt_aws_config_options o = {
        .profile = profile,
        .envp = extra_env ? ENV(f, cf->env_cred, cf->env_conf, (char *)extra_env)
                          : ENV(f, cf->env_cred, cf->env_conf)};
    return pt_aws_credentials_resolve(&o, c, err);
}

/* The AWS CLI refuses a file configparser (strict) refuses; the keys were taken silently. */
static void test_ini_refused_like_configparser(void **state)
{
    struct fixture *f = *state;
    struct crafted cf;
    struct pt_aws_credentials c;
    struct pt_error err = {0};
    static const struct {
        const char *cred, *want;
    } cases[] = {
        {"[default]\naws_access_key_id = AKIDONE\naws_access_key_id = AKIDTWO\n"
         "aws_secret_access_key = topSecretValue\n",
         "line 3: key 'aws_access_key_id' is already in section [default] at line 2"},
        {"[default]\naws_access_key_id = AKIDONE\n[other]\nx = 1\n[default]\n"
         "aws_secret_access_key = topSecretValue\n",
         "line 5: section [default] is already at line 1"},
        /* A duplicate in another profile refuses the whole file too. */
        {"[default]\naws_access_key_id = AKIDONE\naws_secret_access_key = topSecretValue\n"
         "[other]\nRegion = x\nregion = y\n",
         "line 6: key 'region' is already in section [other]"},
        {"aws_secret_access_key = topSecretValue\n[default]\naws_access_key_id = AKIDONE\n",
         "line 1: a key before any [section]"},
        {"[default]\naws_access_key_id = AKIDONE\naws_secret_access_key topSecretValue\n",
         "line 3 is neither [section]"},
        {"[default]\naws_access_key_id = AKIDONE\naws_secret_access_key = topSecretValue\n"
         "s3 =\n  addressing_style\n",
         "line 5: an indented line under a nested key"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        crafted_files(f, &cf, cases[i].cred, NULL);
        assert_int_equal(crafted_resolve(f, &cf, NULL, NULL, &c, &err), PT_EUSAGE);
        if (!strstr(err.msg, cases[i].want))
            fail_msg("case %zu: '%s' does not say '%s'", i, err.msg, cases[i].want);
        /* Never the secret, whatever line is at fault. */
        assert_null(strstr(err.msg, "topSecretValue"));
    }
}

/* configparser's grammar: continuation by indentation, CRLF, comments, later [default]. */
static void test_ini_grammar_like_configparser(void **state)
{
    struct fixture *f = *state;
    struct crafted cf;
    struct pt_aws_credentials c;
    struct pt_error err = {0};
    char r[PT_AWS_REGION_MAX], src[PT_AWS_SOURCE_MAX];
    /* A whole section indented alike: keys, not continuations (the AWS CLI reads them). */
    crafted_files(f, &cf, "[default]\n  aws_access_key_id = AKIDINDENTED\n"
                          "  aws_secret_access_key = s\n", NULL);
    assert_int_equal(crafted_resolve(f, &cf, NULL, NULL, &c, &err), 0);
    assert_string_equal(c.access_key_id, "AKIDINDENTED");
    /* CRLF, '\r' alone, indented comments and a nested section with a blank line in it. */
    crafted_files(f, &cf, "[x]\r\naws_access_key_id = AKIDCRLF\r\n  ; comment\r\n"
                          "aws_secret_access_key = s2\raws_session_token = t2\r\n",
                  "[profile x]\ns3 =\n  region = xx-nested-1\n\n  addressing_style = path\n"
                  "region = eu-west-3\n");
    assert_int_equal(crafted_resolve(f, &cf, "x", NULL, &c, &err), 0);
    assert_string_equal(c.access_key_id, "AKIDCRLF");
    assert_string_equal(c.secret_access_key, "s2");
    assert_string_equal(c.session_token, "t2");
    struct pt_aws_config_options o = {.profile = "x", .envp = ENV(f, cf.env_cred, cf.env_conf)};
    assert_int_equal(pt_aws_region_resolve(&o, NULL, NULL, r, sizeof(r), src, sizeof(src), &err),
                     0);
    assert_string_equal(r, "eu-west-3");
    /* [default] and [profile default]: botocore keeps the later section whole, no merge. */
    crafted_files(f, &cf, NULL, "[profile default]\nregion = eu-west-2\n[default]\n"
                                "aws_access_key_id = AKIDLATER\naws_secret_access_key = s\n");
    assert_int_equal(crafted_resolve(f, &cf, NULL, NULL, &c, &err), 0);
    assert_string_equal(c.access_key_id, "AKIDLATER");
    o.profile = NULL;
    o.envp = ENV(f, cf.env_cred, cf.env_conf);
    assert_int_equal(pt_aws_region_resolve(&o, NULL, NULL, r, sizeof(r), src, sizeof(src), &err),
                     PT_ENOTFOUND);
    /* A quoted profile name in the config file (shlex), and "[profilex]" is no profile. */
    crafted_files(f, &cf, NULL, "[profile \"my prof\"]\naws_access_key_id = AKIDQUOTED\n"
                                "aws_secret_access_key = s\n[profilex]\n"
                                "aws_access_key_id = AKIDWRONG\naws_secret_access_key = s\n");
    assert_int_equal(crafted_resolve(f, &cf, "my prof", NULL, &c, &err), 0);
    assert_string_equal(c.access_key_id, "AKIDQUOTED");
    assert_int_equal(crafted_resolve(f, &cf, "x", NULL, &c, &err), PT_ENOTFOUND);
    /* Both token names in a file: aws_security_token, as botocore. */
    crafted_files(f, &cf, "[default]\naws_access_key_id = AKIDT\naws_secret_access_key = s\n"
                          "aws_session_token = sessionTok\naws_security_token = securityTok\n",
                  NULL);
    assert_int_equal(crafted_resolve(f, &cf, NULL, NULL, &c, &err), 0);
    assert_string_equal(c.session_token, "securityTok");
    /* The region may be in the credentials file (botocore merges the profile of both). */
    crafted_files(f, &cf, "[default]\nregion = eu-north-1\n", "[default]\noutput = json\n");
    assert_int_equal(pt_aws_region_resolve(&o, NULL, NULL, r, sizeof(r), src, sizeof(src), &err),
                     0);
    assert_string_equal(r, "eu-north-1");
    assert_non_null(strstr(src, "t-credentials"));
    pt_aws_credentials_clear(&c);
}

/*
 * botocore's provider order over the profile of both files: assume role, web identity and SSO
 * come before the credentials file's keys, credential_process before the config file's. Those
 * keys were used instead of the role (or process, or SSO) the AWS CLI would use.
 */
static void test_unsupported_providers_never_skipped(void **state)
{
    struct fixture *f = *state;
    struct crafted cf;
    struct pt_aws_credentials c;
    struct pt_error err = {0};
    static const char keys[] = "[x]\naws_access_key_id = AKIDSTATIC\naws_secret_access_key = s\n";
    static const struct {
        const char *conf, *want;
    } cases[] = {
        {"[profile x]\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = y\n",
         "sets role_arn (assume role)"},
        {"[profile x]\nrole_arn = arn:aws:iam::123456789012:role/r\n"
         "web_identity_token_file = /tmp/t\n",
         "sets web_identity_token_file"},
        {"[profile x]\nsso_account_id = 123456789012\nsso_role_name = r\n", "sets sso_account_id"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        crafted_files(f, &cf, keys, cases[i].conf);
        assert_int_equal(crafted_resolve(f, &cf, "x", NULL, &c, &err), PT_EUSAGE);
        if (!strstr(err.msg, cases[i].want) || !strstr(err.msg, "profile 'x'") ||
            !strstr(err.msg, "t-config"))
            fail_msg("case %zu: '%s'", i, err.msg);
    }
    /* Without HOME only the config file is read; the message still names the setting. */
    crafted_files(f, &cf, NULL, cases[0].conf);
    struct pt_aws_config_options nohome = {.profile = "x", .envp = (char *[]){cf.env_conf, NULL}};
    assert_int_equal(pt_aws_credentials_resolve(&nohome, &c, &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "sets role_arn (assume role)"));
    /* credential_process: after the credentials file's keys, before the config file's. */
    crafted_files(f, &cf, keys, "[profile x]\ncredential_process = /bin/false\n");
    assert_int_equal(crafted_resolve(f, &cf, "x", NULL, &c, &err), 0);
    assert_string_equal(c.access_key_id, "AKIDSTATIC");
    crafted_files(f, &cf, NULL, "[profile x]\ncredential_process = /bin/false\n"
                                "aws_access_key_id = AKIDSTATIC\naws_secret_access_key = s\n");
    assert_int_equal(crafted_resolve(f, &cf, "x", NULL, &c, &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "sets credential_process"));
    /* Web identity from the environment outranks the profile's keys... */
    crafted_files(f, &cf, "[default]\naws_access_key_id = AKIDSTATIC\naws_secret_access_key = s\n",
                  NULL);
    assert_int_equal(crafted_resolve(f, &cf, NULL, "AWS_WEB_IDENTITY_TOKEN_FILE=/tmp/t", &c, &err),
                     PT_EUSAGE);
    assert_non_null(strstr(err.msg, "AWS_WEB_IDENTITY_TOKEN_FILE"));
    /* ... but not an explicit profile (botocore drops the environment then). */
    assert_int_equal(crafted_resolve(f, &cf, "default", "AWS_WEB_IDENTITY_TOKEN_FILE=/tmp/t", &c,
                                     &err), 0);
    /* Container credentials come after every profile key, and are named when nothing else. */
    assert_int_equal(crafted_resolve(f, &cf, NULL,
                                     "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials", &c,
                                     &err), 0);
    crafted_files(f, &cf, NULL, NULL);
    assert_int_equal(crafted_resolve(f, &cf, NULL,
                                     "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials", &c,
                                     &err), PT_EUSAGE);
    assert_non_null(strstr(err.msg, "container credentials"));
    /* Nothing at all: the message lists what was searched, IMDS included. */
    assert_int_equal(crafted_resolve(f, &cf, NULL, NULL, &c, &err), PT_ENOTFOUND);
    assert_non_null(strstr(err.msg, "environment"));
    assert_non_null(strstr(err.msg, "t-credentials"));
    assert_non_null(strstr(err.msg, "instance metadata"));
    pt_aws_credentials_clear(&c);
}

/* AWS_DEFAULT_PROFILE names the profile when AWS_PROFILE does not (the AWS CLI v2). */
static void test_aws_default_profile(void **state)
{
    struct fixture *f = *state;
    struct pt_aws_credentials c;
    resolve_ok(ENV(f, "AWS_DEFAULT_PROFILE=dev"), NULL, &c);
    assert_string_equal(c.access_key_id, "AKIDDEVCRED00001");
    resolve_ok(ENV(f, "AWS_DEFAULT_PROFILE=dev", "AWS_PROFILE=default"), NULL, &c);
    assert_string_equal(c.access_key_id, "AKIDDEFAULTCRED1");
    struct pt_error err = {0};
    struct pt_aws_config_options o = {.envp = ENV(f, "AWS_DEFAULT_PROFILE=nope")};
    assert_int_equal(pt_aws_credentials_resolve(&o, &c, &err), PT_ENOTFOUND);
    assert_non_null(strstr(err.msg, "(named by AWS_DEFAULT_PROFILE)"));
    pt_aws_credentials_clear(&c);
}

/*
 * The AWS CLI refuses to run when AWS_PROFILE names a missing profile or a file is broken,
 * even with keys in the environment ("The config profile (nope) could not be found");
 * powertune signed with the environment's keys.
 */
static void test_environment_keys_with_bad_profile(void **state)
{
    struct fixture *f = *state;
    struct crafted cf;
    struct pt_aws_credentials c;
    struct pt_error err = {0};
    struct pt_aws_config_options o = {
        .envp = ENV(f, "AWS_PROFILE=nope", "AWS_ACCESS_KEY_ID=AKIDENVIRONMENT1",
                    "AWS_SECRET_ACCESS_KEY=envSecret")};
    assert_int_equal(pt_aws_credentials_resolve(&o, &c, &err), PT_ENOTFOUND);
    assert_non_null(strstr(err.msg, "(named by AWS_PROFILE)"));
    crafted_files(f, &cf, "[default]\nbroken line\n", NULL);
    assert_int_equal(crafted_resolve(f, &cf, NULL, "AWS_ACCESS_KEY_ID=AKIDENVIRONMENT1", &c, &err),
                     PT_EUSAGE);
    assert_non_null(strstr(err.msg, "line 2 is neither"));
    /* No HOME: no files to read, the environment's keys still serve. */
    o.envp = (char *[]){"AWS_ACCESS_KEY_ID=AKIDENVIRONMENT1", "AWS_SECRET_ACCESS_KEY=envSecret",
                        NULL};
    assert_int_equal(pt_aws_credentials_resolve(&o, &c, &err), 0);
    assert_string_equal(c.access_key_id, "AKIDENVIRONMENT1");
    o.envp = (char *[]){"PATH=/bin", NULL};
    assert_int_equal(pt_aws_credentials_resolve(&o, &c, &err), PT_ENOTFOUND);
    assert_non_null(strstr(err.msg, "HOME unset"));
    char r[PT_AWS_REGION_MAX];
    assert_int_equal(pt_aws_region_resolve(&o, NULL, NULL, r, sizeof(r), NULL, 0, &err),
                     PT_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no AWS region"));
    pt_aws_credentials_clear(&c);
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
        cmocka_unit_test_setup_teardown(test_environment_token_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_environment_partial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_credentials_profiles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_file_profiles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_overrides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_describe_never_shows_secrets, setup, teardown),
        cmocka_unit_test(test_credentials_set_checks),
        cmocka_unit_test_setup_teardown(test_region_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_region_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ini_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ini_refused_like_configparser, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ini_grammar_like_configparser, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsupported_providers_never_skipped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_aws_default_profile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_environment_keys_with_bad_profile, setup, teardown),
        cmocka_unit_test(test_arn_forms),
        cmocka_unit_test(test_arn_errors),
        cmocka_unit_test(test_arn_format),
    };
    return cmocka_run_group_tests_name("credentials", tests, NULL, NULL);
}
