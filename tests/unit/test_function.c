/* Unit tests for src/engine/function.c: defaults, copy, env, validation, detection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "engine/function.h"
#include "engine/limits.h"

#define assert_contains(hay, needle)                                                           \
    do {                                                                                       \
        const char *h_ = (hay), *n_ = (needle);                                                \
        if (!strstr(h_, n_))                                                                   \
            fail_msg("\"%s\" does not contain \"%s\"", h_, n_);                               \
    } while (0)

/* A config that passes validation, to break one field at a time. */
static void valid_config(struct pt_function_config *c)
{
    pt_function_config_init(c);
    strcpy(c->name, "hello");
    strcpy(c->runtime, "python3.12");
    c->family = PT_RUNTIME_PYTHON;
    strcpy(c->handler, "lambda_function.lambda_handler");
}

static void expect_invalid(const struct pt_function_config *c, const char *msg)
{
    struct pt_error err;
    pt_error_clear(&err);
    assert_int_equal(pt_function_validate(c, &err), PT_EUSAGE);
    assert_int_equal(err.code, PT_EUSAGE);
    assert_contains(err.msg, msg);
}

static void test_defaults(void **state)
{
    (void)state;
    struct pt_function_config c;
    memset(&c, 0xAB, sizeof(c));
    pt_function_config_init(&c);
    assert_int_equal(c.memory_mb, 128);
    assert_int_equal(c.timeout_s, 3);
    assert_int_equal(c.ephemeral_mb, 512);
    assert_string_equal(c.architecture, "x86_64");
    assert_null(c.env);
    assert_int_equal(c.env_count, 0);
    assert_int_equal(c.reserved_concurrency, -1);
    assert_int_equal(c.family, PT_RUNTIME_UNSET);
    assert_string_equal(c.name, "");
    assert_string_equal(c.runtime, "");
    assert_string_equal(c.handler, "");
    pt_function_config_free(&c);
    pt_function_config_free(&c); /* idempotent */
    pt_function_config_free(NULL);
}

static void test_copy_is_deep(void **state)
{
    (void)state;
    struct pt_function_config a, b;
    valid_config(&a);
    a.memory_mb = 1024;
    assert_int_equal(pt_function_set_env(&a, "AA", "1", NULL), 0);
    assert_int_equal(pt_function_set_env(&a, "BB", "two", NULL), 0);
    assert_int_equal(pt_function_config_copy(&b, &a, NULL), 0);
    assert_int_equal(b.memory_mb, 1024);
    assert_string_equal(b.name, "hello");
    assert_int_equal(b.env_count, 2);
    assert_ptr_not_equal(b.env, a.env);
    assert_ptr_not_equal(b.env[0].key, a.env[0].key);
    assert_string_equal(b.env[1].key, "BB");
    assert_string_equal(b.env[1].value, "two");

    /* Changing the copy leaves the original alone. */
    assert_int_equal(pt_function_set_env(&b, "AA", "changed", NULL), 0);
    assert_string_equal(a.env[0].value, "1");
    pt_function_config_free(&a);
    assert_string_equal(b.env[0].value, "changed");
    pt_function_config_free(&b);
    assert_null(b.env);
    assert_int_equal(b.env_count, 0);
}

static void test_copy_without_env(void **state)
{
    (void)state;
    struct pt_function_config a, b;
    valid_config(&a);
    assert_int_equal(pt_function_config_copy(&b, &a, NULL), 0);
    assert_null(b.env);
    assert_int_equal(pt_function_validate(&b, NULL), 0);
    pt_function_config_free(&b);
}

static void test_runtime_parse(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        enum pt_runtime_family family;
    } ok[] = {
        {"provided", PT_RUNTIME_PROVIDED},  {"provided.al2", PT_RUNTIME_PROVIDED},
        {"provided.al2023", PT_RUNTIME_PROVIDED}, {"python3.8", PT_RUNTIME_PYTHON},
        {"python3.9", PT_RUNTIME_PYTHON},   {"python3.10", PT_RUNTIME_PYTHON},
        {"python3.11", PT_RUNTIME_PYTHON},  {"python3.12", PT_RUNTIME_PYTHON},
        {"python3.13", PT_RUNTIME_PYTHON},  {"python3.14", PT_RUNTIME_PYTHON},
        {"nodejs18.x", PT_RUNTIME_NODE},    {"nodejs20.x", PT_RUNTIME_NODE},
        {"nodejs22.x", PT_RUNTIME_NODE},    {"nodejs24.x", PT_RUNTIME_NODE},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        enum pt_runtime_family f = PT_RUNTIME_UNSET;
        assert_int_equal(pt_runtime_parse(ok[i].name, &f, NULL), 0);
        assert_int_equal(f, ok[i].family);
    }

    static const char *bad[] = {"python2.7", "python3.7", "python3.15", "nodejs16.x", "Python3.12",
                                "python3.12 ", "", "java21", "provided.al2024"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct pt_error err;
        enum pt_runtime_family f = PT_RUNTIME_NODE;
        assert_int_equal(pt_runtime_parse(bad[i], &f, &err), PT_EUSAGE);
        assert_int_equal(f, PT_RUNTIME_NODE); /* untouched on failure */
    }
    struct pt_error err;
    assert_int_equal(pt_runtime_parse("python2.7", NULL, &err), PT_EUSAGE);
    assert_string_equal(err.msg,
                        "Runtime \"python2.7\" is not supported: allowed provided, provided.al2, "
                        "provided.al2023, python3.8 ... python3.14, nodejs18.x, nodejs20.x, "
                        "nodejs22.x, nodejs24.x");
    assert_int_equal(pt_runtime_parse(NULL, NULL, &err), PT_EUSAGE);
    assert_int_equal(pt_runtime_parse("x", NULL, NULL), PT_EUSAGE); /* err may be NULL */

    assert_string_equal(pt_runtime_family_name(PT_RUNTIME_PROVIDED), "provided");
    assert_string_equal(pt_runtime_family_name(PT_RUNTIME_PYTHON), "python");
    assert_string_equal(pt_runtime_family_name(PT_RUNTIME_NODE), "node");
    assert_string_equal(pt_runtime_family_name(PT_RUNTIME_UNSET), "unset");
}

static void test_reserved_keys(void **state)
{
    (void)state;
    static const char *reserved[] = {
        "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_REGION", "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
    };
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        assert_true(pt_env_key_is_reserved(reserved[i]));
    assert_false(pt_env_key_is_reserved("aws_region")); /* keys are case-sensitive */
    assert_false(pt_env_key_is_reserved("AWS_REGION_X"));
    assert_false(pt_env_key_is_reserved("LANG"));
    assert_false(pt_env_key_is_reserved("PATH"));
    assert_false(pt_env_key_is_reserved("TZ"));
    assert_false(pt_env_key_is_reserved(""));
    assert_false(pt_env_key_is_reserved(NULL));

    struct pt_function_config c;
    struct pt_error err;
    valid_config(&c);
    assert_int_equal(pt_function_set_env(&c, "AWS_REGION", "eu-west-1", &err), PT_EUSAGE);
    assert_string_equal(err.msg,
                        "Environment: variable \"AWS_REGION\" is reserved by Lambda and cannot be "
                        "set");
    assert_int_equal(pt_function_set_env_kv(&c, "_HANDLER=x.y", &err), PT_EUSAGE);
    assert_contains(err.msg, "\"_HANDLER\" is reserved");
    assert_int_equal(c.env_count, 0);
    pt_function_config_free(&c);
}

static void test_env_set_and_replace(void **state)
{
    (void)state;
    struct pt_function_config c;
    struct pt_error err;
    valid_config(&c);
    assert_int_equal(pt_function_set_env(&c, "GREETING", "hello", &err), 0);
    assert_int_equal(pt_function_set_env_kv(&c, "LEVEL=debug", &err), 0);
    assert_int_equal(c.env_count, 2);
    assert_int_equal(pt_function_set_env_kv(&c, "GREETING=bonjour", &err), 0);
    assert_int_equal(c.env_count, 2);
    assert_string_equal(c.env[0].key, "GREETING");
    assert_string_equal(c.env[0].value, "bonjour");
    assert_string_equal(c.env[1].value, "debug");

    /* Only the first '=' splits; empty values are allowed. */
    assert_int_equal(pt_function_set_env_kv(&c, "EXPR=a=b", &err), 0);
    assert_string_equal(c.env[2].value, "a=b");
    assert_int_equal(pt_function_set_env_kv(&c, "EMPTY=", &err), 0);
    assert_string_equal(c.env[3].value, "");
    assert_int_equal(pt_function_set_env(&c, "NULLVAL", NULL, &err), 0);
    assert_string_equal(c.env[4].value, "");
    assert_int_equal(pt_function_validate(&c, &err), 0);

    assert_int_equal(pt_function_set_env_kv(&c, "NOEQUALS", &err), PT_EUSAGE);
    assert_contains(err.msg, "\"NOEQUALS\" is not of the form KEY=VALUE");
    assert_int_equal(pt_function_set_env_kv(&c, "=value", &err), PT_EUSAGE);
    assert_contains(err.msg, "\"\" is not a valid variable name");
    assert_int_equal(pt_function_set_env_kv(&c, "1ABC=x", &err), PT_EUSAGE);
    assert_string_equal(err.msg,
                        "Environment: \"1ABC\" is not a valid variable name: allowed "
                        "[a-zA-Z][a-zA-Z0-9_]+ (a letter, then at least one letter, digit or "
                        "underscore)");
    /* Lambda's pattern wants two characters at least: "X" is refused at deployment. */
    assert_int_equal(pt_function_set_env_kv(&c, "X=1", &err), PT_EUSAGE);
    assert_contains(err.msg, "\"X\" is not a valid variable name");
    assert_int_equal(pt_function_set_env(&c, "MY-VAR", "x", &err), PT_EUSAGE);
    assert_contains(err.msg, "\"MY-VAR\" is not a valid variable name");
    assert_int_equal(pt_function_set_env(&c, "_LEADING", "x", &err), PT_EUSAGE);
    assert_int_equal(c.env_count, 5);
    assert_int_equal(pt_function_set_env(&c, "a_B_9", "ok", &err), 0);
    pt_function_config_free(&c);
}

static void test_env_size_limit(void **state)
{
    (void)state;
    struct pt_function_config c;
    struct pt_error err;
    char big[5000];
    valid_config(&c);

    /* Measured as Lambda does, the JSON object: {"AA":"x...x"} is 2 + 4 quotes + ':' + 4087
     * = 4096, exactly at the limit (keys plus values are only 4089). */
    memset(big, 'x', 4087);
    big[4087] = '\0';
    assert_int_equal(pt_function_set_env(&c, "AA", big, &err), 0);
    assert_int_equal(pt_function_validate(&c, &err), 0);
    /* One more variable, even empty, adds ,"BB":"" and is refused, leaving the config as it
     * was. */
    assert_int_equal(pt_function_set_env(&c, "BB", "", &err), PT_EUSAGE);
    assert_string_equal(err.msg,
                        "Environment: variables take 4104 bytes: allowed at most 4096 (as Lambda "
                        "measures them: the JSON object {\"KEY\":\"VALUE\",...})");
    assert_int_equal(c.env_count, 1);

    /* Replacing counts the new value instead of the old one. */
    assert_int_equal(pt_function_set_env(&c, "AA", "small", &err), 0);
    assert_int_equal(pt_function_set_env(&c, "BB", "", &err), 0);
    pt_function_config_free(&c);

    /* What JSON escapes counts twice (a quote, a backslash, a newline), a control character
     * six times (\u0001): {"AA":""} is 9, 4075 'q' and those four are 4075 + 12: 4096. */
    valid_config(&c);
    memset(big, 'q', 4076);
    memcpy(big + 4076, "\"\\\n\001", 5);
    assert_int_equal(pt_function_set_env(&c, "AA", big + 1, &err), 0);
    assert_int_equal(pt_function_set_env(&c, "AA", big, &err), PT_EUSAGE); /* one 'q' more */
    assert_contains(err.msg, "variables take 4097 bytes");
    pt_function_config_free(&c);

    /* Many small variables: 100 of 30 bytes each are 3000 bytes of keys and values, but
     * 100 * 36 + 1 = 3601 as JSON; 114 of them are 4105. */
    valid_config(&c);
    int i;
    for (i = 0; i < 200; i++) {
        char key[16], value[32];
        snprintf(key, sizeof(key), "VAR_%05d", i); /* 9 bytes */
        snprintf(value, sizeof(value), "%021d", i); /* 21 bytes */
        if (pt_function_set_env(&c, key, value, &err) != 0)
            break;
    }
    assert_int_equal(i, 113);
    assert_contains(err.msg, "variables take 4105 bytes");
    pt_function_config_free(&c);

    valid_config(&c);
    memset(big, 'z', 4296);
    memcpy(big, "KK=", 3);
    big[4296] = '\0'; /* key "KK" + a 4293-byte value */
    assert_int_equal(pt_function_set_env_kv(&c, big, &err), PT_EUSAGE);
    assert_contains(err.msg, "variables take 4302 bytes");

    /* An absurdly long key is refused on size, not overflowed. */
    char *huge = malloc(10000);
    assert_non_null(huge);
    memset(huge, 'K', 9998);
    huge[9998] = '=';
    huge[9999] = '\0';
    assert_int_equal(pt_function_set_env_kv(&c, huge, &err), PT_EUSAGE);
    assert_contains(err.msg, "variables take 10005 bytes");
    free(huge);
    assert_int_equal(c.env_count, 0);
    pt_function_config_free(&c);
}

static void test_env_4301_bytes_via_validate(void **state)
{
    (void)state;
    /* Configurations built by other code (templates) are checked again by validate. */
    struct pt_function_config c;
    struct pt_env_var vars[2];
    char *big = malloc(4301);
    assert_non_null(big);
    memset(big, 'v', 4283);
    big[4283] = '\0';
    vars[0].key = (char *)"ONE";
    vars[0].value = big;        /* {"ONE":"v...v", is 1 + 5 + 1 + 4285 + 1 = 4293 */
    vars[1].key = (char *)"ZZ"; /* ,"ZZ":""} + 8 = 4301 */
    vars[1].value = (char *)"";
    valid_config(&c);
    c.env = vars;
    c.env_count = 2;
    expect_invalid(&c, "Environment: variables take 4301 bytes: allowed at most 4096 (as Lambda "
                       "measures them: the JSON object {\"KEY\":\"VALUE\",...})");
    free(big);
}

static void test_validate_env_rules(void **state)
{
    (void)state;
    struct pt_function_config c;
    struct pt_env_var vars[2] = {{(char *)"OK", (char *)"1"}, {(char *)"AWS_REGION", (char *)"x"}};
    valid_config(&c);
    c.env = vars;
    c.env_count = 2;
    expect_invalid(&c, "Environment: variable \"AWS_REGION\" is reserved by Lambda and cannot be set");
    vars[1].key = (char *)"1ABC";
    expect_invalid(&c, "Environment: \"1ABC\" is not a valid variable name: allowed "
                       "[a-zA-Z][a-zA-Z0-9_]+ (a letter, then at least one letter, digit or "
                       "underscore)");
    vars[1].key = (char *)"OK";
    expect_invalid(&c, "Environment: variable \"OK\" is set twice");
    vars[1].key = (char *)"OK2";
    assert_int_equal(pt_function_validate(&c, NULL), 0);
}

static void test_validate_defaults_ok(void **state)
{
    (void)state;
    struct pt_function_config c;
    valid_config(&c);
    assert_int_equal(pt_function_validate(&c, NULL), 0);
    c.memory_mb = 128;
    assert_int_equal(pt_function_validate(&c, NULL), 0);
    c.memory_mb = 10240;
    c.timeout_s = 900;
    c.ephemeral_mb = 10240;
    strcpy(c.architecture, "arm64");
    c.reserved_concurrency = 0;
    assert_int_equal(pt_function_validate(&c, NULL), 0);
    c.memory_mb = 1769;
    c.timeout_s = 1;
    c.ephemeral_mb = 512;
    c.reserved_concurrency = 1000;
    assert_int_equal(pt_function_validate(&c, NULL), 0);
}

static void test_validate_memory(void **state)
{
    (void)state;
    struct pt_function_config c;
    valid_config(&c);
    c.memory_mb = 64;
    expect_invalid(&c, "MemorySize 64 is out of range: allowed 128 to 10240 (MB, 1 MB steps)");
    c.memory_mb = 127;
    expect_invalid(&c, "MemorySize 127 is out of range");
    c.memory_mb = 10241;
    expect_invalid(&c, "MemorySize 10241 is out of range: allowed 128 to 10240");
    c.memory_mb = -1;
    expect_invalid(&c, "MemorySize -1 is out of range");
}

static void test_validate_timeout(void **state)
{
    (void)state;
    struct pt_function_config c;
    valid_config(&c);
    c.timeout_s = 901;
    expect_invalid(&c, "Timeout 901 is out of range: allowed 1 to 900 (seconds)");
    c.timeout_s = 0;
    expect_invalid(&c, "Timeout 0 is out of range: allowed 1 to 900 (seconds)");
}

static void test_validate_ephemeral(void **state)
{
    (void)state;
    struct pt_function_config c;
    valid_config(&c);
    c.ephemeral_mb = 511;
    expect_invalid(&c, "EphemeralStorage 511 is out of range: allowed 512 to 10240 (MB");
    c.ephemeral_mb = 10241;
    expect_invalid(&c, "EphemeralStorage 10241 is out of range");
}

static void test_validate_architecture(void **state)
{
    (void)state;
    struct pt_function_config c;
    valid_config(&c);
    strcpy(c.architecture, "arm");
    expect_invalid(&c, "Architecture \"arm\" is not supported: allowed x86_64, arm64");
    strcpy(c.architecture, "");
    expect_invalid(&c, "Architecture \"\" is not supported");
    memcpy(c.architecture, "x86_64xx", 8); /* unterminated: must not overread */
    expect_invalid(&c, "Architecture \"x86_64xx\" is not supported");
}

static void test_validate_reserved_concurrency(void **state)
{
    (void)state;
    struct pt_function_config c;
    valid_config(&c);
    c.reserved_concurrency = -2;
    expect_invalid(&c, "ReservedConcurrentExecutions -2 is out of range: allowed -1 (not set) or 0 and more");
}

static void test_validate_name(void **state)
{
    (void)state;
    struct pt_function_config c;
    valid_config(&c);
    strcpy(c.name, "");
    expect_invalid(&c, "FunctionName \"\" is not valid: allowed 1 to 64 characters of [A-Za-z0-9-_]");
    strcpy(c.name, "my fn");
    expect_invalid(&c, "FunctionName \"my fn\" is not valid");
    strcpy(c.name, "a.b");
    expect_invalid(&c, "FunctionName \"a.b\" is not valid");
    strcpy(c.name, "My-Function_2");
    assert_int_equal(pt_function_validate(&c, NULL), 0);
    memset(c.name, 'n', 64);
    c.name[64] = '\0';
    assert_int_equal(pt_function_validate(&c, NULL), 0);
    memset(c.name, 'n', sizeof(c.name)); /* 65 bytes, no terminator */
    expect_invalid(&c, "is not valid: allowed 1 to 64 characters");
}

static void test_validate_runtime(void **state)
{
    (void)state;
    struct pt_function_config c;
    valid_config(&c);
    strcpy(c.runtime, "python2.7");
    expect_invalid(&c, "Runtime \"python2.7\" is not supported: allowed provided, provided.al2, "
                       "provided.al2023, python3.8 ... python3.14, nodejs18.x, nodejs20.x, "
                       "nodejs22.x, nodejs24.x");
    strcpy(c.runtime, "");
    expect_invalid(&c, "Runtime is not set: allowed provided");
    /* A family that disagrees with the runtime name would start the wrong launcher. */
    strcpy(c.runtime, "nodejs20.x");
    expect_invalid(&c, "Runtime \"nodejs20.x\" belongs to the node family");
    c.family = PT_RUNTIME_NODE;
    strcpy(c.handler, "index.handler");
    assert_int_equal(pt_function_validate(&c, NULL), 0);
    memset(c.runtime, 'r', sizeof(c.runtime));
    expect_invalid(&c, "is not supported");
}

static void test_validate_handler(void **state)
{
    (void)state;
    struct pt_function_config c;
    valid_config(&c);
    strcpy(c.handler, "x");
    expect_invalid(&c, "Handler \"x\" is not valid for python3.12: expected module.function");
    static const char *bad[] = {"", ".handler", "module.", "a..b", "a b.c", "../x.handler",
                                "/abs.handler", "a/.b", "tab\t.x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        strcpy(c.handler, bad[i]);
        expect_invalid(&c, "expected module.function");
    }
    static const char *good[] = {"app.lambda_handler", "pkg.mod.handler", "src/app.handler",
                                 "a.b"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        strcpy(c.handler, good[i]);
        assert_int_equal(pt_function_validate(&c, NULL), 0);
    }

    strcpy(c.runtime, "nodejs22.x");
    c.family = PT_RUNTIME_NODE;
    strcpy(c.handler, "index");
    expect_invalid(&c, "Handler \"index\" is not valid for nodejs22.x: expected module.function");
    strcpy(c.handler, "");
    expect_invalid(&c, "Handler \"\" is not valid for nodejs22.x");

    /* provided: the handler is only passed on to bootstrap, so empty is fine. */
    strcpy(c.runtime, "provided.al2023");
    c.family = PT_RUNTIME_PROVIDED;
    strcpy(c.handler, "");
    assert_int_equal(pt_function_validate(&c, NULL), 0);
    strcpy(c.handler, "bootstrap");
    assert_int_equal(pt_function_validate(&c, NULL), 0);
    strcpy(c.handler, "has space");
    expect_invalid(&c, "Handler \"has space\" is not valid for provided.al2023");

    memset(c.handler, 'h', sizeof(c.handler)); /* unterminated */
    expect_invalid(&c, "Handler is too long: allowed at most 128 characters");
}

/* ---- detection, in temporary directories ---- */

struct tmpdir {
    char path[PATH_MAX];
};

static void make_tmpdir(struct tmpdir *t, const char *leaf)
{
    char base[] = "/tmp/pt-test-function-XXXXXX";
    assert_non_null(mkdtemp(base));
    snprintf(t->path, sizeof(t->path), "%s/%s", base, leaf);
    assert_int_equal(mkdir(t->path, 0755), 0);
}

static void touch(const struct tmpdir *t, const char *file)
{
    char p[PATH_MAX + 64];
    snprintf(p, sizeof(p), "%s/%s", t->path, file);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    assert_true(fd >= 0);
    close(fd);
}

static void remove_tmpdir(struct tmpdir *t)
{
    static const char *files[] = {"bootstrap", "lambda_function.py", "app.py", "index.mjs",
                                  "index.js", "other.txt", "sub"};
    char p[PATH_MAX + 64];
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", t->path, files[i]);
        if (unlink(p) != 0)
            rmdir(p);
    }
    assert_int_equal(rmdir(t->path), 0);
    char *slash = strrchr(t->path, '/');
    *slash = '\0';
    assert_int_equal(rmdir(t->path), 0);
}

static void detect_one(const char *file, const char *runtime, enum pt_runtime_family family,
                       const char *handler)
{
    struct tmpdir t;
    struct pt_function_config c;
    struct pt_error err;
    make_tmpdir(&t, "fn");
    touch(&t, file);
    touch(&t, "other.txt");
    pt_function_config_init(&c);
    pt_error_clear(&err);
    if (pt_function_detect(&c, t.path, &err) != 0)
        fail_msg("detect %s: %s", file, err.msg);
    assert_string_equal(c.runtime, runtime);
    assert_int_equal(c.family, family);
    assert_string_equal(c.handler, handler);
    assert_string_equal(c.code_dir, t.path);
    assert_string_equal(c.name, "fn");
    assert_int_equal(pt_function_validate(&c, &err), 0);
    pt_function_config_free(&c);
    remove_tmpdir(&t);
}

static void test_detect_single_entry_points(void **state)
{
    (void)state;
    detect_one("bootstrap", "provided.al2023", PT_RUNTIME_PROVIDED, "");
    detect_one("lambda_function.py", "python3.12", PT_RUNTIME_PYTHON,
               "lambda_function.lambda_handler");
    detect_one("app.py", "python3.12", PT_RUNTIME_PYTHON, "app.lambda_handler");
    detect_one("index.mjs", "nodejs20.x", PT_RUNTIME_NODE, "index.handler");
    detect_one("index.js", "nodejs20.x", PT_RUNTIME_NODE, "index.handler");
}

static void test_detect_index_mjs_and_js_are_one(void **state)
{
    (void)state;
    struct tmpdir t;
    struct pt_function_config c;
    make_tmpdir(&t, "node");
    touch(&t, "index.mjs");
    touch(&t, "index.js");
    pt_function_config_init(&c);
    assert_int_equal(pt_function_detect(&c, t.path, NULL), 0);
    assert_string_equal(c.runtime, "nodejs20.x");
    assert_string_equal(c.handler, "index.handler");
    pt_function_config_free(&c);
    remove_tmpdir(&t);
}

static void test_detect_ambiguous(void **state)
{
    (void)state;
    struct tmpdir t;
    struct pt_function_config c;
    struct pt_error err;
    make_tmpdir(&t, "mixed");
    touch(&t, "bootstrap");
    touch(&t, "app.py");
    pt_function_config_init(&c);
    assert_int_equal(pt_function_detect(&c, t.path, &err), PT_EUSAGE);
    assert_contains(err.msg, t.path);
    assert_contains(err.msg, "bootstrap -> provided.al2023");
    assert_contains(err.msg, "app.py -> python3.12 app.lambda_handler");
    assert_contains(err.msg, "--runtime");
    assert_contains(err.msg, "--handler");
    assert_string_equal(c.runtime, "");

    /* An explicit runtime decides. */
    pt_function_config_init(&c);
    strcpy(c.runtime, "python3.13");
    assert_int_equal(pt_function_detect(&c, t.path, &err), 0);
    assert_int_equal(c.family, PT_RUNTIME_PYTHON);
    assert_string_equal(c.handler, "app.lambda_handler");

    pt_function_config_init(&c);
    strcpy(c.runtime, "provided.al2");
    assert_int_equal(pt_function_detect(&c, t.path, &err), 0);
    assert_int_equal(c.family, PT_RUNTIME_PROVIDED);
    assert_string_equal(c.handler, "");

    /* So does a handler that names one of the modules. */
    pt_function_config_init(&c);
    strcpy(c.handler, "app.lambda_handler");
    assert_int_equal(pt_function_detect(&c, t.path, &err), 0);
    assert_string_equal(c.runtime, "python3.12");
    assert_int_equal(c.family, PT_RUNTIME_PYTHON);
    assert_string_equal(c.handler, "app.lambda_handler");

    /* A handler naming neither leaves it ambiguous. */
    pt_function_config_init(&c);
    strcpy(c.handler, "other.main");
    assert_int_equal(pt_function_detect(&c, t.path, &err), PT_EUSAGE);
    assert_contains(err.msg, "several entry points");
    remove_tmpdir(&t);
}

static void test_detect_two_python_files(void **state)
{
    (void)state;
    struct tmpdir t;
    struct pt_function_config c;
    struct pt_error err;
    make_tmpdir(&t, "py");
    touch(&t, "lambda_function.py");
    touch(&t, "app.py");
    pt_function_config_init(&c);
    assert_int_equal(pt_function_detect(&c, t.path, &err), PT_EUSAGE);
    assert_contains(err.msg, "lambda_function.py");
    assert_contains(err.msg, "app.py");

    /* With the runtime given, the console's default (lambda_function) wins. */
    pt_function_config_init(&c);
    strcpy(c.runtime, "python3.12");
    assert_int_equal(pt_function_detect(&c, t.path, &err), 0);
    assert_string_equal(c.handler, "lambda_function.lambda_handler");
    remove_tmpdir(&t);
}

static void test_detect_explicit_settings_kept(void **state)
{
    (void)state;
    struct tmpdir t;
    struct pt_function_config c;
    struct pt_error err;
    make_tmpdir(&t, "explicit");
    touch(&t, "app.py");

    pt_function_config_init(&c);
    strcpy(c.name, "custom-name");
    strcpy(c.runtime, "python3.11");
    strcpy(c.handler, "pkg.mod.main");
    assert_int_equal(pt_function_detect(&c, t.path, &err), 0);
    assert_string_equal(c.name, "custom-name");
    assert_string_equal(c.runtime, "python3.11");
    assert_int_equal(c.family, PT_RUNTIME_PYTHON);
    assert_string_equal(c.handler, "pkg.mod.main");

    /* Runtime given, its conventional file missing: the handler stays empty for validate. */
    pt_function_config_init(&c);
    strcpy(c.runtime, "nodejs22.x");
    assert_int_equal(pt_function_detect(&c, t.path, &err), 0);
    assert_string_equal(c.handler, "");
    expect_invalid(&c, "Handler \"\" is not valid for nodejs22.x: expected module.function");

    /* An unknown explicit runtime is refused here already. */
    pt_function_config_init(&c);
    strcpy(c.runtime, "python2.7");
    assert_int_equal(pt_function_detect(&c, t.path, &err), PT_EUSAGE);
    assert_contains(err.msg, "Runtime \"python2.7\" is not supported");
    remove_tmpdir(&t);
}

static void test_detect_nothing_found(void **state)
{
    (void)state;
    struct tmpdir t;
    struct pt_function_config c;
    struct pt_error err;
    make_tmpdir(&t, "empty");
    touch(&t, "other.txt");
    pt_function_config_init(&c);
    assert_int_equal(pt_function_detect(&c, t.path, &err), PT_EUSAGE);
    assert_contains(err.msg, t.path);
    assert_contains(err.msg, "bootstrap, lambda_function.py, app.py, index.mjs, index.js");

    /* A directory named like an entry point is not one. */
    char sub[PATH_MAX + 16];
    snprintf(sub, sizeof(sub), "%s/sub", t.path);
    assert_int_equal(mkdir(sub, 0755), 0);
    snprintf(sub, sizeof(sub), "%s/sub", t.path);
    pt_function_config_init(&c);
    assert_int_equal(pt_function_detect(&c, sub, &err), PT_EUSAGE);
    assert_contains(err.msg, "no entry point found");
    remove_tmpdir(&t);
}

static void test_detect_bad_directory(void **state)
{
    (void)state;
    struct pt_function_config c;
    struct pt_error err;
    pt_function_config_init(&c);
    assert_int_equal(pt_function_detect(&c, "/nonexistent/pt-test-dir", &err), PT_EUSAGE);
    assert_string_equal(err.msg, "FUNCTION /nonexistent/pt-test-dir: no such directory");
    assert_int_equal(pt_function_detect(&c, "", &err), PT_EUSAGE);
    assert_int_equal(pt_function_detect(&c, NULL, &err), PT_EUSAGE);

    struct tmpdir t;
    make_tmpdir(&t, "f");
    touch(&t, "app.py");
    char file[PATH_MAX + 16];
    snprintf(file, sizeof(file), "%s/app.py", t.path);
    assert_int_equal(pt_function_detect(&c, file, &err), PT_EUSAGE);
    assert_contains(err.msg, "not a directory");
    remove_tmpdir(&t);
}

static void test_detect_name_and_absolute_path(void **state)
{
    (void)state;
    struct tmpdir t;
    struct pt_function_config c;
    struct pt_error err;
    make_tmpdir(&t, "my fn.v2+x");
    touch(&t, "bootstrap");

    /* A path with "." and ".." and a trailing slash is resolved; the name comes from the base name. */
    char messy[2 * PATH_MAX];
    char parent[PATH_MAX];
    char *slash = strrchr(t.path, '/');
    snprintf(parent, sizeof(parent), "%.*s", (int)(slash - t.path), t.path);
    const char *pbase = strrchr(parent, '/') + 1;
    snprintf(messy, sizeof(messy), "%s/./../%s/%s/", parent, pbase, slash + 1);
    pt_function_config_init(&c);
    assert_int_equal(pt_function_detect(&c, messy, &err), 0);
    assert_string_equal(c.code_dir, t.path);
    assert_string_equal(c.name, "my-fn-v2-x");

    /* A relative path becomes absolute. */
    char cwd[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(parent), 0);
    pt_function_config_init(&c);
    assert_int_equal(pt_function_detect(&c, slash + 1, &err), 0);
    assert_int_equal(chdir(cwd), 0);
    assert_string_equal(c.code_dir, t.path);
    assert_true(c.code_dir[0] == '/');
    remove_tmpdir(&t);

    /* Long directory names are cut to 64 characters. */
    char leaf[101];
    memset(leaf, 'L', 100);
    leaf[100] = '\0';
    make_tmpdir(&t, leaf);
    touch(&t, "app.py");
    pt_function_config_init(&c);
    assert_int_equal(pt_function_detect(&c, t.path, &err), 0);
    assert_int_equal(strlen(c.name), 64);
    assert_int_equal(pt_function_validate(&c, &err), 0);
    remove_tmpdir(&t);
}

static void test_logging_config(void **state)
{
    (void)state;
    struct pt_function_config c;
    struct pt_error err;
    valid_config(&c);
    assert_int_equal(c.log_format, PT_LOG_FORMAT_TEXT);
    assert_int_equal(pt_function_app_log_level(&c), PT_LOG_LEVEL_UNSET);

    /* Lambda refuses a level with Text: the message names the field and the way out. */
    c.app_log_level = PT_LOG_LEVEL_DEBUG;
    expect_invalid(&c, "ApplicationLogLevel DEBUG is not supported when LogFormat is Text");
    c.app_log_level = PT_LOG_LEVEL_UNSET;
    c.system_log_level = PT_LOG_LEVEL_WARN;
    expect_invalid(&c, "SystemLogLevel WARN is not supported when LogFormat is Text");

    c.log_format = PT_LOG_FORMAT_JSON;
    assert_int_equal(pt_function_validate(&c, &err), 0);
    assert_int_equal(pt_function_system_log_level(&c), PT_LOG_LEVEL_WARN);
    assert_int_equal(pt_function_app_log_level(&c), PT_LOG_LEVEL_INFO); /* JSON's default */
    c.system_log_level = PT_LOG_LEVEL_TRACE; /* only DEBUG, INFO, WARN */
    expect_invalid(&c, "SystemLogLevel TRACE is not supported: allowed DEBUG, INFO, WARN");
    c.system_log_level = PT_LOG_LEVEL_UNSET;
    c.app_log_level = PT_LOG_LEVEL_FATAL;
    assert_int_equal(pt_function_validate(&c, &err), 0);
    c.app_log_level = (enum pt_log_level)42;
    expect_invalid(&c, "ApplicationLogLevel 42 is not supported");
    c.app_log_level = PT_LOG_LEVEL_UNSET;
    c.log_format = (enum pt_log_format)7;
    expect_invalid(&c, "LogFormat 7 is not supported: allowed Text, JSON");
}

static void test_logging_parse(void **state)
{
    (void)state;
    enum pt_log_format f = PT_LOG_FORMAT_TEXT;
    enum pt_log_level l = PT_LOG_LEVEL_UNSET;
    struct pt_error err;
    assert_int_equal(pt_log_format_parse("json", &f, &err), 0);
    assert_int_equal(f, PT_LOG_FORMAT_JSON);
    assert_string_equal(pt_log_format_name(f), "JSON");
    assert_int_equal(pt_log_format_parse("Text", &f, &err), 0);
    assert_int_equal(f, PT_LOG_FORMAT_TEXT);
    assert_int_equal(pt_log_format_parse("xml", &f, &err), PT_EUSAGE);
    assert_contains(err.msg, "LogFormat \"xml\" is not supported: allowed Text, JSON");
    assert_int_equal(pt_log_format_parse(NULL, &f, &err), PT_EUSAGE);

    assert_int_equal(pt_app_log_level_parse("trace", &l, &err), 0);
    assert_int_equal(l, PT_LOG_LEVEL_TRACE);
    assert_string_equal(pt_log_level_name(l), "TRACE");
    assert_int_equal(pt_app_log_level_parse("FATAL", &l, &err), 0);
    assert_int_equal(l, PT_LOG_LEVEL_FATAL);
    assert_int_equal(pt_app_log_level_parse("LOUD", &l, &err), PT_EUSAGE);
    assert_contains(err.msg,
                    "ApplicationLogLevel \"LOUD\" is not supported: allowed TRACE, DEBUG, INFO, "
                    "WARN, ERROR, FATAL");
    assert_int_equal(pt_system_log_level_parse("Debug", &l, &err), 0);
    assert_int_equal(l, PT_LOG_LEVEL_DEBUG);
    assert_int_equal(pt_system_log_level_parse("ERROR", &l, &err), PT_EUSAGE);
    assert_contains(err.msg, "SystemLogLevel \"ERROR\" is not supported: allowed DEBUG, INFO, WARN");
    assert_int_equal(l, PT_LOG_LEVEL_DEBUG); /* untouched on failure */
    assert_string_equal(pt_log_level_name(PT_LOG_LEVEL_UNSET), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_copy_is_deep),
        cmocka_unit_test(test_copy_without_env),
        cmocka_unit_test(test_runtime_parse),
        cmocka_unit_test(test_reserved_keys),
        cmocka_unit_test(test_env_set_and_replace),
        cmocka_unit_test(test_env_size_limit),
        cmocka_unit_test(test_env_4301_bytes_via_validate),
        cmocka_unit_test(test_validate_env_rules),
        cmocka_unit_test(test_validate_defaults_ok),
        cmocka_unit_test(test_validate_memory),
        cmocka_unit_test(test_validate_timeout),
        cmocka_unit_test(test_validate_ephemeral),
        cmocka_unit_test(test_validate_architecture),
        cmocka_unit_test(test_validate_reserved_concurrency),
        cmocka_unit_test(test_validate_name),
        cmocka_unit_test(test_validate_runtime),
        cmocka_unit_test(test_validate_handler),
        cmocka_unit_test(test_detect_single_entry_points),
        cmocka_unit_test(test_detect_index_mjs_and_js_are_one),
        cmocka_unit_test(test_detect_ambiguous),
        cmocka_unit_test(test_detect_two_python_files),
        cmocka_unit_test(test_detect_explicit_settings_kept),
        cmocka_unit_test(test_detect_nothing_found),
        cmocka_unit_test(test_detect_bad_directory),
        cmocka_unit_test(test_detect_name_and_absolute_path),
        cmocka_unit_test(test_logging_config),
        cmocka_unit_test(test_logging_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
