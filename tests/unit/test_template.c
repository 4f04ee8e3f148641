/*
 * Unit tests for src/engine/template.c: every property, Globals, several
 * functions, intrinsics resolved or reported at their file:line:column,
 * malformed YAML, the size/depth/alias limits, and the MemorySize rewrite
 * compared byte for byte.
 */
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
#include "base/str.h"
#include "engine/function.h"
#include "engine/template.h"
#include "lib/testutil.h"

#define assert_contains(hay, needle)                                                           \
    do {                                                                                       \
        const char *h_ = (hay), *n_ = (needle);                                                \
        if (!strstr(h_, n_))                                                                   \
            fail_msg("\"%s\" does not contain \"%s\"", h_, n_);                               \
    } while (0)

/* Each test gets a directory with a code directory "src" holding lambda_function.py. */
struct fixture {
    char *dir;
    char tpl[PATH_MAX]; /* dir/template.yaml */
};

static void write_file(const char *path, const char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(2 * 1024 * 1024);
    assert_non_null(buf);
    *n = fread(buf, 1, 2 * 1024 * 1024 - 1, f);
    buf[*n] = '\0';
    fclose(f);
    return buf;
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    char p[PATH_MAX];
    fx->dir = tu_mkdtemp();
    snprintf(p, sizeof(p), "%s/src", fx->dir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/src/lambda_function.py", fx->dir);
    write_file(p, "def lambda_handler(e, c):\n    return e\n", 38);
    snprintf(fx->tpl, sizeof(fx->tpl), "%s/template.yaml", fx->dir);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    tu_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

static void put(struct fixture *fx, const char *yaml)
{
    write_file(fx->tpl, yaml, strlen(yaml));
}

/* Loads fx's template (plus "#id" if given) into c; returns the code. */
static int load(struct fixture *fx, const char *id, struct pt_function_config *c,
                struct pt_error *err)
{
    char spec[PATH_MAX + 64];
    snprintf(spec, sizeof(spec), "%s%s%s", fx->tpl, id ? "#" : "", id ? id : "");
    pt_function_config_init(c);
    pt_error_clear(err);
    return pt_template_load(spec, c, err);
}

static const char *env_get(const struct pt_function_config *c, const char *key)
{
    for (size_t i = 0; i < c->env_count; i++)
        if (strcmp(c->env[i].key, key) == 0)
            return c->env[i].value;
    return NULL;
}

/* "template.yaml:L:C" of the n-th (0-based) occurrence of marker in text (ASCII text). */
static void loc_of(const char *text, const char *marker, int nth, char *out, size_t size)
{
    const char *at = strstr(text, marker);
    for (int i = 0; at && i < nth; i++)
        at = strstr(at + 1, marker);
    if (!at)
        fail_msg("marker %s not in the template", marker);
    int line = 1, col = 1;
    for (const char *p = text; p < at; p++) {
        if (*p == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    snprintf(out, size, "template.yaml:%d:%d: ", line, col);
}

/* The template must fail with PT_EUSAGE, at marker's location, with msg. */
static void expect_fail_at(struct fixture *fx, const char *yaml, const char *id,
                           const char *marker, int nth, const char *msg)
{
    struct pt_function_config c;
    struct pt_error err;
    char where[64];
    put(fx, yaml);
    int rc = load(fx, id, &c, &err);
    pt_function_config_free(&c);
    if (rc != PT_EUSAGE)
        fail_msg("expected a usage error with \"%s\", got %d: %s", msg, rc, err.msg);
    if (marker) {
        loc_of(yaml, marker, nth, where, sizeof(where));
        assert_contains(err.msg, where);
    }
    assert_contains(err.msg, msg);
}

static void expect_fail(struct fixture *fx, const char *yaml, const char *msg)
{
    expect_fail_at(fx, yaml, NULL, NULL, 0, msg);
}

#define HEAD "Transform: AWS::Serverless-2016-10-31\n"

/* ------------------------------------------------------------------ properties */

static void test_every_property_serverless(void **state)
{
    struct fixture *fx = *state;
    struct pt_function_config c;
    struct pt_error err;
    char real[PATH_MAX], want[PATH_MAX + 8];
    put(fx, HEAD "Resources:\n"
               "  Fn:\n"
               "    Type: AWS::Serverless::Function\n"
               "    Properties:\n"
               "      FunctionName: my-function\n"
               "      Description: does things\n"
               "      CodeUri: src\n"
               "      Handler: lambda_function.lambda_handler\n"
               "      Runtime: python3.11\n"
               "      MemorySize: 1024\n"
               "      Timeout: 30\n"
               "      Architectures: [arm64]\n"
               "      EphemeralStorage:\n"
               "        Size: 2048\n"
               "      ReservedConcurrentExecutions: 7\n"
               "      Environment:\n"
               "        Variables:\n"
               "          TABLE: orders\n"
               "          DEBUG: true\n"
               "          COUNT: 3\n"
               "          QUOTED: \"a: b\"\n");
    assert_int_equal(load(fx, NULL, &c, &err), 0);
    assert_string_equal(c.name, "my-function");
    assert_string_equal(c.description, "does things");
    snprintf(want, sizeof(want), "%s/src", fx->dir);
    assert_non_null(realpath(want, real));
    assert_string_equal(c.code_dir, real);
    assert_string_equal(c.handler, "lambda_function.lambda_handler");
    assert_string_equal(c.runtime, "python3.11");
    assert_int_equal(c.family, PT_RUNTIME_PYTHON);
    assert_int_equal(c.memory_mb, 1024);
    assert_int_equal(c.timeout_s, 30);
    assert_string_equal(c.architecture, "arm64");
    assert_int_equal(c.ephemeral_mb, 2048);
    assert_int_equal(c.reserved_concurrency, 7);
    assert_int_equal(c.env_count, 4);
    assert_string_equal(env_get(&c, "TABLE"), "orders");
    assert_string_equal(env_get(&c, "DEBUG"), "true"); /* as written, like CloudFormation */
    assert_string_equal(env_get(&c, "COUNT"), "3");
    assert_string_equal(env_get(&c, "QUOTED"), "a: b");
    assert_int_equal(pt_function_detect(&c, c.code_dir, &err), 0);
    assert_int_equal(pt_function_validate(&c, &err), 0);
    pt_function_config_free(&c);
}

static void test_every_property_lambda_function(void **state)
{
    struct fixture *fx = *state;
    struct pt_function_config c;
    struct pt_error err;
    /* CloudFormation's own type: Code as a local path (aws cloudformation package), no Globals. */
    put(fx, "Globals:\n"
            "  Function:\n"
            "    Timeout: 99\n"
            "    Environment: {Variables: {FROM_GLOBALS: x}}\n"
            "Resources:\n"
            "  Plain:\n"
            "    Type: AWS::Lambda::Function\n"
            "    Properties:\n"
            "      Code: ./src\n"
            "      Handler: lambda_function.lambda_handler\n"
            "      Runtime: python3.12\n"
            "      MemorySize: \"2048\"\n"
            "      Architectures: [x86_64]\n"
            "      EphemeralStorage: {Size: 600}\n"
            "      ReservedConcurrentExecutions: 0\n"
            "      Environment: {Variables: {AA: '1'}}\n");
    assert_int_equal(load(fx, NULL, &c, &err), 0);
    assert_string_equal(c.name, "Plain");
    assert_int_equal(c.memory_mb, 2048);
    assert_int_equal(c.timeout_s, 3); /* Globals are SAM's: not for AWS::Lambda::Function */
    assert_int_equal(c.ephemeral_mb, 600);
    assert_int_equal(c.reserved_concurrency, 0);
    assert_int_equal(c.env_count, 1);
    assert_string_equal(env_get(&c, "AA"), "1");
    assert_true(pt_str_ends_with(c.code_dir, "/src"));
    pt_function_config_free(&c);
}

static void test_globals_merge_and_override(void **state)
{
    struct fixture *fx = *state;
    struct pt_function_config c;
    struct pt_error err;
    put(fx, HEAD "Globals:\n"
               "  Function:\n"
               "    Runtime: python3.12\n"
               "    Handler: lambda_function.lambda_handler\n"
               "    CodeUri: src\n"
               "    Timeout: 20\n"
               "    MemorySize: 256\n"
               "    Architectures: [arm64]\n"
               "    EphemeralStorage: {Size: 1024}\n"
               "    ReservedConcurrentExecutions: 4\n"
               "    Environment:\n"
               "      Variables: {AA: global-a, BB: global-b}\n"
               "Resources:\n"
               "  Fn:\n"
               "    Type: AWS::Serverless::Function\n"
               "    Properties:\n"
               "      MemorySize: 512\n"
               "      Architectures: [x86_64]\n"
               "      Environment:\n"
               "        Variables: {BB: own-b, CC: own-c}\n");
    assert_int_equal(load(fx, NULL, &c, &err), 0);
    assert_int_equal(c.memory_mb, 512);                /* own value wins */
    assert_int_equal(c.timeout_s, 20);                 /* global fills in */
    assert_string_equal(c.architecture, "x86_64");     /* list replaced */
    assert_int_equal(c.ephemeral_mb, 1024);
    assert_int_equal(c.reserved_concurrency, 4);
    assert_string_equal(c.runtime, "python3.12");
    assert_true(pt_str_ends_with(c.code_dir, "/src"));
    assert_int_equal(c.env_count, 3);                  /* variables merged key by key */
    assert_string_equal(env_get(&c, "AA"), "global-a");
    assert_string_equal(env_get(&c, "BB"), "own-b");
    assert_string_equal(env_get(&c, "CC"), "own-c");
    pt_function_config_free(&c);

    /* EphemeralStorage merges too: the function's Size wins over the global one. */
    put(fx, HEAD "Globals: {Function: {EphemeralStorage: {Size: 1024}, CodeUri: src}}\n"
               "Resources:\n"
               "  Fn:\n"
               "    Type: AWS::Serverless::Function\n"
               "    Properties: {EphemeralStorage: {Size: 4096}}\n");
    assert_int_equal(load(fx, NULL, &c, &err), 0);
    assert_int_equal(c.ephemeral_mb, 4096);
    pt_function_config_free(&c);

    /* SAM merges mappings key by key, but takes an intrinsic as a plain value: in the
     * function's place (Fn::If, AWS::NoValue) it replaces the global mapping whole. The
     * global variables and storage were merged in anyway (A=g where SAM deploys no A). */
    static const char *const local[] = {
        "      Environment: !If [Yes, {Variables: {BB: l}}, !Ref AWS::NoValue]\n",
        "      Environment: !Ref AWS::NoValue\n",
        "      Environment: {Variables: !If [Yes, {BB: l}, {}]}\n",
        "      Environment: {Variables: !Ref AWS::NoValue}\n",
    };
    for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
        char yaml[1024];
        snprintf(yaml, sizeof(yaml),
                 HEAD "Conditions:\n  Yes: !Equals [a, a]\n"
                      "Globals:\n  Function:\n    CodeUri: src\n    Environment:\n"
                      "      Variables: {AA: g}\n    EphemeralStorage: {Size: 1024}\n"
                      "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                      "%s      EphemeralStorage: !If [Yes, !Ref AWS::NoValue, {Size: 2048}]\n",
                 local[i]);
        put(fx, yaml);
        assert_int_equal(load(fx, NULL, &c, &err), 0);
        if (env_get(&c, "AA"))
            fail_msg("case %zu: the global variable A was merged into %s", i, local[i]);
        assert_string_equal(env_get(&c, "BB") ? env_get(&c, "BB") : "-", i % 2 ? "-" : "l");
        assert_int_equal(c.ephemeral_mb, PT_EPHEMERAL_MIN_MB);
        pt_function_config_free(&c);
    }
}

static void test_code_uri_default_and_detection(void **state)
{
    struct fixture *fx = *state;
    struct pt_function_config c;
    struct pt_error err;
    char real[PATH_MAX];
    /* No CodeUri: the template's directory; no Runtime: detection decides later. */
    put(fx, HEAD "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n");
    assert_int_equal(load(fx, NULL, &c, &err), 0);
    assert_non_null(realpath(fx->dir, real));
    assert_string_equal(c.code_dir, real);
    assert_string_equal(c.runtime, "");
    assert_string_equal(c.name, "Fn");
    pt_function_config_free(&c);
    /* Runtime without Handler: pt_function_detect gives the conventional one. */
    put(fx, HEAD "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
               "    Properties: {CodeUri: src/, Runtime: python3.10}\n");
    assert_int_equal(load(fx, NULL, &c, &err), 0);
    assert_int_equal(pt_function_detect(&c, c.code_dir, &err), 0);
    assert_string_equal(c.handler, "lambda_function.lambda_handler");
    assert_string_equal(c.runtime, "python3.10");
    pt_function_config_free(&c);
}

static void test_code_refused(void **state)
{
    struct fixture *fx = *state;
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/code.zip", fx->dir);
    write_file(p, "PK", 2);
#define FN(props) HEAD "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n" props
#define LFN(props) "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n" props
    expect_fail_at(fx, FN("      CodeUri: s3://bucket/code.zip\n"), NULL, "s3://", 0,
                   "Resources.Fn.Properties.CodeUri: CodeUri \"s3://bucket/code.zip\" is an S3 "
                   "location");
    expect_fail_at(fx, FN("      CodeUri:\n        Bucket: b\n        Key: k\n"), NULL, "Bucket", 0,
                   "an S3 location (Bucket/Key) is not run");
    expect_fail_at(fx, FN("      CodeUri: nowhere/\n"), NULL, "nowhere", 0,
                   "CodeUri: no such directory");
    expect_fail_at(fx, FN("      CodeUri: code.zip\n"), NULL, "code.zip", 0,
                   "is neither a directory nor a .zip deployment package");
    write_file(p, "PK\3\4", 4);
    expect_fail_at(fx, FN("      CodeUri: code.zip\n"), NULL, "code.zip", 0,
                   "a .zip package is not unpacked here");
    expect_fail_at(fx, FN("      InlineCode: \"def h(e, c): pass\"\n"), NULL, "\"def", 0,
                   "inline code is not run here");
    expect_fail_at(fx, FN("      PackageType: Image\n"), NULL, "Image", 0,
                   "container images are not run");
    /* PackageType written any other way was not looked at: an intrinsic giving Image ran the
     * function as Zip, one that cannot be resolved was dropped, a misspelling was taken. */
    expect_fail_at(fx,
                   "Parameters:\n  Kind: {Type: String, Default: Image}\n"
                   FN("      CodeUri: src\n      PackageType: !Ref Kind\n"),
                   NULL, "!Ref Kind", 0,
                   "Resources.Fn.Properties.PackageType: container images are not run");
    expect_fail_at(fx, FN("      CodeUri: src\n      PackageType: !GetAtt X.Kind\n"), NULL,
                   "!GetAtt", 0, "!GetAtt X.Kind cannot be resolved locally");
    expect_fail_at(fx, FN("      CodeUri: src\n      PackageType: zip\n"), NULL, "zip", 0,
                   "PackageType \"zip\" is not valid: allowed Zip, Image");
    struct pt_function_config c;
    struct pt_error err;
    put(fx, FN("      CodeUri: src\n      PackageType: !If [No, Image, Zip]\n")
            "Conditions:\n  No: !Equals [a, b]\n");
    assert_int_equal(load(fx, NULL, &c, &err), 0);
    pt_function_config_free(&c);
    expect_fail_at(fx, LFN("      Code:\n        ZipFile: |\n          def h(e, c): pass\n"), NULL,
                   "|\n", 0, "Resources.Fn.Properties.Code.ZipFile: inline code is not run here");
    expect_fail_at(fx, LFN("      Code: {S3Bucket: b, S3Key: k}\n"), NULL, "{S3", 0,
                   "an S3 location or image is not run");
    expect_fail_at(fx, LFN("      Handler: x.y\n"), NULL, "Type: AWS::Lambda", 0,
                   "Fn: Code is missing");
}

/* Code written in the template: resolved, named as CloudFormation names it, written once. */
static void test_inline_code(void **state)
{
    struct fixture *fx = *state;
    struct pt_function_config c;
    struct pt_error err = {0};
    struct pt_template_code inl;
    char spec[PATH_MAX + 8];
    snprintf(spec, sizeof(spec), "%s", fx->tpl);
    put(fx, "Parameters:\n  Word: {Type: String, Default: hi}\n"
            FN("      Runtime: python3.12\n      Handler: index.handler\n"
               "      InlineCode: !Sub |\n        def handler(e, c):\n"
               "            return \"${Word} ${AWS::Region}\"\n"));
    pt_function_config_init(&c);
    assert_int_equal(pt_template_load_code(spec, &c, &inl, &err), 0);
    assert_string_equal(inl.file, "index.py");
    assert_string_equal(inl.source, "def handler(e, c):\n    return \"hi us-east-1\"\n");
    assert_string_equal(c.code_dir, "");
    char root[PATH_MAX], dir[PATH_MAX], again[PATH_MAX], file[PATH_MAX + 16];
    snprintf(root, sizeof(root), "%s/state", fx->dir);
    assert_int_equal(pt_template_inline_write(&inl, root, dir, sizeof(dir), &err), 0);
    assert_int_equal(pt_template_inline_write(&inl, root, again, sizeof(again), &err), 0);
    assert_string_equal(dir, again);
    snprintf(file, sizeof(file), "%s/index.py", dir);
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal((size_t)st.st_size, inl.len);
    pt_template_code_free(&inl);
    pt_function_config_free(&c);

    put(fx, LFN("      Runtime: nodejs20.x\n      Handler: index.handler\n"
                "      Code:\n        ZipFile: \"exports.handler = async () => 1;\"\n"));
    pt_function_config_init(&c);
    assert_int_equal(pt_template_load_code(spec, &c, &inl, &err), 0);
    assert_string_equal(inl.file, "index.js");
    assert_string_equal(inl.source, "exports.handler = async () => 1;");
    pt_template_code_free(&inl);
    pt_function_config_free(&c);

    /* A CodeUri naming a .zip: the package for the caller to unpack. */
    char zip[PATH_MAX];
    snprintf(zip, sizeof(zip), "%s/fn.zip", fx->dir);
    write_file(zip, "PK\5\6", 4);
    put(fx, FN("      Runtime: python3.12\n      CodeUri: fn.zip\n"));
    pt_function_config_init(&c);
    assert_int_equal(pt_template_load_code(spec, &c, &inl, &err), 0);
    assert_string_equal(inl.package, zip);
    assert_null(inl.source);
    assert_string_equal(c.code_dir, "");
    pt_template_code_free(&inl);
    pt_function_config_free(&c);

    static const struct {
        const char *yaml, *marker, *msg;
    } bad[] = {
        {FN("      Runtime: python3.12\n      CodeUri: src\n      InlineCode: x\n"), "src",
         "CodeUri and InlineCode: give one"},
        {FN("      Runtime: provided.al2023\n      InlineCode: x\n"), "x\n",
         "inline code needs a Python or Node.js Runtime"},
        {FN("      InlineCode: x\n"), "x\n", "; Runtime is not set"},
        {FN("      Runtime: python3.12\n      InlineCode: \"\"\n"), "\"\"", "the inline code is empty"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char at[64];
        loc_of(bad[i].yaml, bad[i].marker, 0, at, sizeof(at));
        put(fx, bad[i].yaml);
        pt_function_config_init(&c);
        assert_int_equal(pt_template_load_code(spec, &c, &inl, &err), PT_EUSAGE);
        if (!strstr(err.msg, at) || !strstr(err.msg, bad[i].msg))
            fail_msg("case %zu: \"%s\" lacks \"%s\" or \"%s\"", i, err.msg, at, bad[i].msg);
        assert_null(inl.source);
        pt_function_config_free(&c);
    }
}

/* ----------------------------------------------------------- several functions */

static const char two_functions[] =
    HEAD "Resources:\n"
         "  Table:\n"
         "    Type: AWS::DynamoDB::Table\n"
         "  First:\n"
         "    Type: AWS::Serverless::Function\n"
         "    Properties: {CodeUri: src, MemorySize: 256}\n"
         "  Second:\n"
         "    Type: AWS::Lambda::Function\n"
         "    Properties: {Code: src, MemorySize: 512}\n";

static void test_several_functions(void **state)
{
    struct fixture *fx = *state;
    struct pt_function_config c;
    struct pt_error err;
    char spec[PATH_MAX + 16];
    put(fx, two_functions);
    assert_int_equal(load(fx, NULL, &c, &err), PT_EUSAGE);
    assert_contains(err.msg, "defines 2 functions (First, Second)");
    assert_contains(err.msg, "template.yaml#First");
    pt_function_config_free(&c);

    assert_int_equal(load(fx, "Second", &c, &err), 0);
    assert_string_equal(c.name, "Second");
    assert_int_equal(c.memory_mb, 512);
    pt_function_config_free(&c);

    /* The directory form, with #LogicalId. */
    snprintf(spec, sizeof(spec), "%s#First", fx->dir);
    pt_function_config_init(&c);
    assert_int_equal(pt_template_load(spec, &c, &err), 0);
    assert_int_equal(c.memory_mb, 256);
    pt_function_config_free(&c);

    assert_int_equal(load(fx, "Third", &c, &err), PT_EUSAGE);
    assert_contains(err.msg, "no resource Third; its functions are: First, Second");
    pt_function_config_free(&c);
    assert_int_equal(load(fx, "Table", &c, &err), PT_EUSAGE);
    assert_contains(err.msg, "resource Table is a AWS::DynamoDB::Table, not an "
                             "AWS::Serverless::Function");
    pt_function_config_free(&c);

    /* template.yml is found too; no function at all is explained. */
    unlink(fx->tpl);
    snprintf(spec, sizeof(spec), "%s/template.yml", fx->dir);
    write_file(spec, "Resources:\n  T: {Type: AWS::SQS::Queue}\n", 40);
    pt_function_config_init(&c);
    assert_int_equal(pt_template_load(fx->dir, &c, &err), PT_EUSAGE);
    assert_contains(err.msg, "template.yml: no function in Resources");
    pt_function_config_free(&c);
}

static void test_is_template(void **state)
{
    struct fixture *fx = *state;
    char p[PATH_MAX + 32];
    assert_false(pt_template_is_template(tu_example("noop-c")));
    assert_false(pt_template_is_template(tu_example("fibonacci-python")));
    assert_false(pt_template_is_template(tu_example("does-not-exist")));
    assert_false(pt_template_is_template(tu_example("noop-c/main.c")));
    assert_true(pt_template_is_template(tu_example("sam-app")));
    assert_true(pt_template_is_template(tu_example("sam-app/template.yaml")));
    assert_true(pt_template_is_template("examples/sam-app#HelloFunction"));
    assert_true(pt_template_is_template("missing/template.yml"));
    snprintf(p, sizeof(p), "%s/src#Fn", fx->dir); /* the spec form, even if wrong */
    assert_true(pt_template_is_template(p));
    assert_false(pt_template_is_template(""));
    assert_false(pt_template_is_template(NULL));
}

/*
 * template.json is SAM CLI's third name for a directory's template (after template.yaml and
 * template.yml), taken only when it is one: a code directory's data file of that name is not.
 */
static void test_dir_with_template_json(void **state)
{
    struct fixture *fx = *state;
    char json[PATH_MAX + 32];
    static const char tpl[] = "{\"Resources\": {\"Fn\": {\"Type\": \"AWS::Serverless::Function\", "
                              "\"Properties\": {\"CodeUri\": \"src\", \"Handler\": "
                              "\"lambda_function.lambda_handler\", \"Runtime\": \"python3.12\", "
                              "\"MemorySize\": 640}}}}\n";
    snprintf(json, sizeof(json), "%s/template.json", fx->dir);
    static const char data[] = "{\"Resources\": {\"not\": \"a function\"}}\n";
    write_file(json, data, strlen(data));
    assert_false(pt_template_is_template(fx->dir));
    write_file(json, tpl, strlen(tpl));
    assert_true(pt_template_is_template(fx->dir));
    struct pt_function_config c;
    struct pt_error err;
    pt_function_config_init(&c);
    if (pt_template_load(fx->dir, &c, &err) != 0)
        fail_msg("load: %s", err.msg);
    assert_int_equal(c.memory_mb, 640);
    pt_function_config_free(&c);
    put(fx, HEAD "Resources:\n  Y:\n    Type: AWS::Serverless::Function\n    Properties:\n"
               "      CodeUri: src\n      Handler: lambda_function.lambda_handler\n"
               "      Runtime: python3.12\n      MemorySize: 256\n");
    pt_function_config_init(&c);
    if (pt_template_load(fx->dir, &c, &err) != 0) /* template.yaml first, as SAM CLI */
        fail_msg("load: %s", err.msg);
    assert_int_equal(c.memory_mb, 256);
    pt_function_config_free(&c);
}

static void test_sam_app_example(void **state)
{
    (void)state;
    struct pt_function_config c;
    struct pt_error err;
    char spec[PATH_MAX];
    snprintf(spec, sizeof(spec), "%s#HelloFunction", tu_example("sam-app"));
    pt_function_config_init(&c);
    assert_int_equal(pt_template_load(spec, &c, &err), 0);
    assert_int_equal(c.memory_mb, 512);
    assert_int_equal(c.timeout_s, 10);
    assert_string_equal(c.runtime, "python3.12");
    assert_string_equal(env_get(&c, "GREETING"), "hello from us-east-1 (powertune)");
    assert_string_equal(env_get(&c, "STAGE"), "dev");
    assert_string_equal(env_get(&c, "LOG_LEVEL"), "DEBUG");
    assert_string_equal(env_get(&c, "APP_NAME"), "sam-app");
    pt_function_config_free(&c);
    snprintf(spec, sizeof(spec), "%s/template.yaml#FibonacciFunction", tu_example("sam-app"));
    pt_function_config_init(&c);
    assert_int_equal(pt_template_load(spec, &c, &err), 0);
    assert_int_equal(c.memory_mb, 256);
    assert_int_equal(c.timeout_s, 60);
    assert_true(pt_str_ends_with(c.code_dir, "/examples/fibonacci-python"));
    pt_function_config_free(&c);
}

/* ------------------------------------------------------------------ intrinsics */

static void test_intrinsics_resolved(void **state)
{
    struct fixture *fx = *state;
    struct pt_function_config c;
    struct pt_error err;
    char yaml[8192];
    snprintf(yaml, sizeof(yaml), "%s",
             HEAD
             "Parameters:\n"
             "  Stage: {Type: String, Default: prod}\n"
             "  Memory: {Type: Number, Default: 1536}\n"
             "  Names: {Type: CommaDelimitedList, Default: \"a,b,c\"}\n"
             "  Arch: {Type: String, Default: arm64}\n"
             "  CodeDir: {Type: String, Default: src}\n"
             "Mappings:\n"
             "  RegionMap:\n"
             "    us-east-1: {Size: medium, Zone: east}\n"
             "Conditions:\n"
             "  IsProd: !Equals [!Ref Stage, prod]\n"
             "  IsDev: {\"Fn::Equals\": [{Ref: Stage}, dev]}\n"
             "  NotDev: !Not [!Condition IsDev]\n"
             "  Both: !And [!Condition IsProd, {Condition: NotDev}]\n"
             "  Either: !Or [!Condition IsDev, !Equals [x, y]]\n"
             "Resources:\n"
             "  Fn:\n"
             "    Type: AWS::Serverless::Function\n"
             "    Properties:\n"
             "      CodeUri: !Sub \"${CodeDir}\"\n"
             "      Handler: !Join [\".\", [lambda_function, lambda_handler]]\n"
             "      Runtime: !If [IsProd, python3.12, python3.9]\n"
             "      MemorySize: !Ref Memory\n"
             "      Timeout: {\"Fn::If\": [Both, 42, 1]}\n"
             "      Architectures: [!Ref Arch]\n"
             "      ReservedConcurrentExecutions: !Ref AWS::NoValue\n"
             "      Environment:\n"
             "        Variables:\n"
             "          REGION: !Ref AWS::Region\n"
             "          ACCOUNT: {Ref: AWS::AccountId}\n"
             "          STACK: !Sub ${AWS::StackName}\n"
             "          PARTITION: !Sub \"${AWS::Partition}.${AWS::URLSuffix}\"\n"
             "          URL: !Sub \"https://${Stage}.example.com/${!Literal}\"\n"
             "          SUBLIST: !Sub [\"${Greeting}, ${Who}\", {Greeting: hi, Who: !Ref Stage}]\n"
             "          LONGSUB: {\"Fn::Sub\": \"${Stage}-x\"}\n"
             "          JOINED: !Join [\"-\", !Ref Names]\n"
             "          SECOND: !Select [1, !Split [\",\", \"x,y,z\"]]\n"
             "          FIRSTNAME: !Select [\"0\", !Ref Names]\n"
             "          SIZE: !FindInMap [RegionMap, !Ref \"AWS::Region\", Size]\n"
             "          B64: !Base64 hello\n"
             "          B64SUB: {\"Fn::Base64\": !Sub \"${Stage}!\"}\n"
             "          EITHER: !If [Either, yes-either, no-either]\n"
             "          NESTEDIF: !If [IsDev, dev, !If [Both, both, neither]]\n"
             "          DROPPED: !If [IsDev, present, !Ref AWS::NoValue]\n"
             "          STACKID: !Ref AWS::StackId\n"
             "    Metadata:\n"
             "      Unused: !GetAtt Nothing.Here\n");
    put(fx, yaml);
    int rc = load(fx, NULL, &c, &err);
    if (rc)
        fail_msg("%s", err.msg);
    assert_true(pt_str_ends_with(c.code_dir, "/src"));
    assert_string_equal(c.handler, "lambda_function.lambda_handler");
    assert_string_equal(c.runtime, "python3.12");
    assert_int_equal(c.memory_mb, 1536);
    assert_int_equal(c.timeout_s, 42);
    assert_string_equal(c.architecture, "arm64");
    assert_int_equal(c.reserved_concurrency, -1); /* AWS::NoValue: not set */
    assert_string_equal(env_get(&c, "REGION"), PT_TEMPLATE_REGION);
    assert_string_equal(env_get(&c, "ACCOUNT"), PT_TEMPLATE_ACCOUNT_ID);
    assert_string_equal(env_get(&c, "STACK"), PT_TEMPLATE_STACK_NAME);
    assert_string_equal(env_get(&c, "PARTITION"), "aws.amazonaws.com");
    assert_string_equal(env_get(&c, "URL"), "https://prod.example.com/${Literal}");
    assert_string_equal(env_get(&c, "SUBLIST"), "hi, prod");
    assert_string_equal(env_get(&c, "LONGSUB"), "prod-x");
    assert_string_equal(env_get(&c, "JOINED"), "a-b-c");
    assert_string_equal(env_get(&c, "SECOND"), "y");
    assert_string_equal(env_get(&c, "FIRSTNAME"), "a");
    assert_string_equal(env_get(&c, "SIZE"), "medium");
    assert_string_equal(env_get(&c, "B64"), "aGVsbG8=");
    assert_string_equal(env_get(&c, "B64SUB"), "cHJvZCE=");
    assert_string_equal(env_get(&c, "EITHER"), "no-either");
    assert_string_equal(env_get(&c, "NESTEDIF"), "both");
    assert_null(env_get(&c, "DROPPED"));
    assert_contains(env_get(&c, "STACKID"), ":stack/" PT_TEMPLATE_STACK_NAME "/");
    pt_function_config_free(&c);
}

/* Property block of one function, so each case below is a few lines. */
#define ENVFN(params, vars)                                                                    \
    HEAD params "Resources:\n"                                                                 \
                "  Table:\n"                                                                   \
                "    Type: AWS::DynamoDB::Table\n"                                             \
                "  Fn:\n"                                                                      \
                "    Type: AWS::Serverless::Function\n"                                        \
                "    Properties:\n"                                                            \
                "      CodeUri: src\n"                                                         \
                "      Environment:\n"                                                         \
                "        Variables:\n" vars

static void test_intrinsics_reported_with_location(void **state)
{
    struct fixture *fx = *state;
    const char *path = "Resources.Fn.Properties.Environment.Variables.";
    char msg[512];
    snprintf(msg, sizeof(msg), "%sARN: !GetAtt Table.Arn cannot be resolved locally", path);
    expect_fail_at(fx, ENVFN("", "          ARN: !GetAtt Table.Arn\n"), NULL, "!GetAtt", 0, msg);
    expect_fail_at(fx, ENVFN("", "          ARN: {\"Fn::GetAtt\": [Table, Arn]}\n"), NULL,
                   "{\"Fn::GetAtt", 0, "Fn::GetAtt: [Table, Arn] cannot be resolved locally");
    expect_fail_at(fx, ENVFN("", "          T: !Ref Table\n"), NULL, "!Ref", 0,
                   "Variables.T: Ref Table cannot be resolved locally: the resource's physical id");
    expect_fail_at(fx, ENVFN("", "          T: !Ref Nope\n"), NULL, "!Ref", 0,
                   "Ref Nope: no such parameter, pseudo parameter or resource");
    expect_fail_at(fx, ENVFN("Parameters:\n  P: {Type: String}\n", "          T: !Ref P\n"), NULL,
                   "!Ref", 0, "Ref P: the parameter has no Default");
    expect_fail_at(fx,
                   ENVFN("Parameters:\n  P: {Type: 'AWS::SSM::Parameter::Value<String>', Default: "
                         "/x}\n",
                         "          T: !Ref P\n"),
                   NULL, "!Ref", 0, "an SSM parameter");
    expect_fail_at(fx, ENVFN("Parameters:\n  L: {Type: CommaDelimitedList, Default: 'a,b'}\n",
                             "          T: !Ref L\n"),
                   NULL, "!Ref", 0, "Ref L: a CommaDelimitedList parameter where one value");
    expect_fail_at(fx, ENVFN("", "          T: !ImportValue shared-vpc\n"), NULL, "!Import", 0,
                   "!ImportValue shared-vpc cannot be resolved locally: other stacks' exports");
    expect_fail_at(fx, ENVFN("", "          T: !Select [0, !GetAZs '']\n"), NULL, "!GetAZs", 0,
                   "availability zones exist only in AWS");
    expect_fail_at(fx, ENVFN("", "          T: !Frobnicate x\n"), NULL, "!Frob", 0,
                   "!Frobnicate x cannot be resolved locally: Fn::Frobnicate is not supported");
    expect_fail_at(fx, ENVFN("", "          T: !<tag:example.com,2000:x> y\n"), NULL, "!<", 0,
                   "unknown YAML tag tag:example.com,2000:x");
    expect_fail_at(fx, ENVFN("", "          T: !Sub \"${Table.Arn}/x\"\n"), NULL, "!Sub", 0,
                   "Fn::Sub ${Table.Arn} cannot be resolved locally: resource attributes");
    expect_fail_at(fx, ENVFN("", "          T: !Sub \"a-${Missing}\"\n"), NULL, "!Sub", 0,
                   "Ref Missing: no such parameter");
    expect_fail_at(fx, ENVFN("", "          T: !Sub \"a-${Missing\"\n"), NULL, "!Sub", 0,
                   "without its closing");
    /* A "\0" escape is the template's fault: once reported as out of memory (PT_ENOMEM). */
    expect_fail_at(fx, ENVFN("", "          T: !Sub \"a\\0b\"\n"), NULL, "!Sub", 0,
                   "Fn::Sub's string contains a NUL character");
    expect_fail_at(fx, ENVFN("", "          T: !If [Nope, a, b]\n"), NULL, "Nope", 0,
                   "condition Nope is not defined in Conditions");
    expect_fail_at(fx, ENVFN("Mappings:\n  M: {k: {v: 1}}\n", "          T: !FindInMap [M, k, w]\n"),
                   NULL, "!FindInMap", 0, "Fn::FindInMap: Mappings.M.k.w is not defined");
    expect_fail_at(fx, ENVFN("", "          T: !Select [5, [a, b]]\n"), NULL, "!Select", 0,
                   "index 5 is past the list's 2 items");
    expect_fail_at(fx, ENVFN("", "          T: !Equals [a, b]\n"), NULL, "!Equals", 0,
                   "is a condition, not a value");
    expect_fail_at(fx, ENVFN("", "          T: [a, b]\n"), NULL, "[a", 0,
                   "must be a single value, not a list");
    expect_fail(fx, ENVFN("", "          T:\n"), "template.yaml:11:13: "
                                            "Resources.Fn.Properties.Environment.Variables.T: has "
                                            "no value");
    /* Fn::Transform (AWS::Include) among the properties adds properties we cannot see (the
     * MemorySize, the Runtime): it was silently ignored. */
    expect_fail_at(fx,
                   HEAD "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                        "      CodeUri: src\n"
                        "      Fn::Transform:\n"
                        "        {Name: AWS::Include, Parameters: {Location: s3://b/k}}\n",
                   NULL, "Fn::Transform", 0,
                   "Resources.Fn.Properties: Fn::Transform: {...} cannot be resolved locally");
    expect_fail_at(fx,
                   HEAD "Globals:\n  Function:\n    Timeout: 3\n"
                        "    'Fn::Transform': {Name: AWS::Include}\n"
                        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                        "      CodeUri: src\n",
                   NULL, "'Fn::Transform'", 0, "Globals.Function: Fn::Transform: {...} cannot be");
    /* The condition's own location is reported when it is the one that fails. */
    expect_fail_at(fx,
                   ENVFN("Conditions:\n  C: !Equals [!GetAtt Table.Arn, x]\n",
                         "          T: !If [C, a, b]\n"),
                   NULL, "!GetAtt", 0, "Conditions.C: !GetAtt Table.Arn cannot be resolved");
    /* A condition that refers to itself ends at the depth limit. */
    expect_fail_at(fx, ENVFN("Conditions:\n  C: !Not [!Condition C]\n", "          T: !If [C, a, b]\n"),
                   NULL, NULL, 0, "nested deeper than 64 levels");
    /* In other properties too, with their own path. */
    expect_fail_at(fx,
                   HEAD "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                        "      CodeUri: src\n      MemorySize: !GetAtt Config.Memory\n",
                   NULL, "!GetAtt", 0,
                   "Resources.Fn.Properties.MemorySize: !GetAtt Config.Memory cannot be resolved");
    expect_fail_at(fx,
                   HEAD "Globals:\n  Function:\n    Timeout: !ImportValue t\n"
                        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
                        "    Properties: {CodeUri: src}\n",
                   NULL, "!ImportValue", 0, "Globals.Function.Timeout: !ImportValue t");
    expect_fail_at(fx,
                   HEAD "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                        "      CodeUri: !GetAtt Bucket.Name\n",
                   NULL, "!GetAtt", 0, "Resources.Fn.Properties.CodeUri: !GetAtt Bucket.Name");
    expect_fail_at(fx,
                   HEAD "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                        "      CodeUri: src\n      Environment: !GetAtt X.Y\n",
                   NULL, "!GetAtt", 0, "cannot be resolved locally to a mapping");
}

static void test_unused_parts_not_resolved(void **state)
{
    struct fixture *fx = *state;
    struct pt_function_config c;
    struct pt_error err;
    put(fx, HEAD "Resources:\n"
               "  Fn:\n"
               "    Type: AWS::Serverless::Function\n"
               "    Properties:\n"
               "      CodeUri: src\n"
               "      Policies:\n"
               "        - DynamoDBCrudPolicy: {TableName: !Ref Table}\n"
               "      Events:\n"
               "        Q: {Type: SQS, Properties: {Queue: !GetAtt Queue.Arn}}\n"
               "  Other:\n"
               "    Type: AWS::Serverless::Function\n"
               "    Properties: {CodeUri: !GetAtt Nope.Nope}\n"
               "Outputs:\n"
               "  Arn: {Value: !GetAtt Fn.Arn, Export: {Name: !Sub \"${AWS::StackName}-arn\"}}\n");
    assert_int_equal(load(fx, "Fn", &c, &err), 0);
    pt_function_config_free(&c);
}

/* ------------------------------------------------------------- values, ranges */

static void test_values_and_validation(void **state)
{
    struct fixture *fx = *state;
    struct pt_function_config c;
    struct pt_error err;
    /* Out of Lambda's ranges: refused where the value is written (it was refused later by
     * pt_function_validate, which cannot say where: Globals or which function). */
    expect_fail_at(fx,
                   HEAD "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
                        "    Properties: {CodeUri: src, Runtime: python3.12, MemorySize: 64}\n",
                   NULL, "64}", 0,
                   "Resources.Fn.Properties.MemorySize: MemorySize 64 is out of range: allowed "
                   "128 to 10240 (MB, 1 MB steps)");
    expect_fail_at(fx,
                   HEAD "Globals:\n  Function:\n    Timeout: 901\n"
                        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
                        "    Properties: {CodeUri: src, Runtime: python3.12}\n",
                   NULL, "901", 0,
                   "Globals.Function.Timeout: Timeout 901 is out of range: allowed 1 to 900");
    expect_fail_at(fx,
                   HEAD "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
                        "    Properties: {CodeUri: src, EphemeralStorage: {Size: 20000}}\n",
                   NULL, "20000", 0,
                   "EphemeralStorage.Size: EphemeralStorage.Size 20000 is out of range: allowed "
                   "512 to 10240");
    expect_fail_at(fx,
                   HEAD "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
                        "    Properties: {CodeUri: src, ReservedConcurrentExecutions: -1}\n",
                   NULL, "-1}", 0,
                   "ReservedConcurrentExecutions -1 is out of range: allowed 0 and more");
    /* So are an Architectures, FunctionName or (its Runtime known) Handler Lambda refuses. */
    expect_fail_at(fx,
                   HEAD "Globals:\n  Function:\n    Runtime: python3.12\n"
                        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
                        "    Properties: {CodeUri: src, Handler: lambda_handler}\n",
                   NULL, "lambda_handler}", 0,
                   "Resources.Fn.Properties.Handler: Handler \"lambda_handler\" is not valid for "
                   "python3.12: expected module.function");
    expect_fail_at(fx,
                   HEAD "Globals:\n  Function:\n    Architectures: [arm65]\n"
                        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
                        "    Properties: {CodeUri: src}\n",
                   NULL, "[arm65]", 0,
                   "Globals.Function.Architectures: Architecture \"arm65\" is not supported: "
                   "allowed x86_64, arm64");
    expect_fail_at(fx,
                   HEAD "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
                        "    Properties: {CodeUri: src, FunctionName: !Sub '${AWS::StackName}.fn'}\n",
                   NULL, "!Sub", 0,
                   "Resources.Fn.Properties.FunctionName: FunctionName \"powertune.fn\" is not "
                   "valid");
    put(fx, HEAD "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
               "    Properties: {CodeUri: src, MemorySize: 10240, Timeout: 900,\n"
               "                 EphemeralStorage: {Size: 512},\n"
               "                 ReservedConcurrentExecutions: 0}\n");
    assert_int_equal(load(fx, NULL, &c, &err), 0);
    assert_int_equal(c.memory_mb, 10240);
    assert_int_equal(c.reserved_concurrency, 0);
    pt_function_config_free(&c);

    const char *nan = HEAD "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
                           "    Properties:\n      CodeUri: src\n      MemorySize: lots\n";
    expect_fail_at(fx, nan, NULL, "lots", 0,
                   "Resources.Fn.Properties.MemorySize: MemorySize \"lots\" is not a whole number");
    expect_fail_at(fx,
                   HEAD "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
                        "    Properties:\n      CodeUri: src\n      Runtime: java21\n",
                   NULL, "java21", 0, "Runtime: Runtime \"java21\" is not supported");
    expect_fail_at(fx,
                   HEAD "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
                        "    Properties:\n      CodeUri: src\n      Architectures: [x86_64, arm64]\n",
                   NULL, "[x86", 0, "Architectures must list exactly one");
    expect_fail_at(fx,
                   HEAD "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
                        "    Properties:\n      CodeUri: src\n      Architectures: arm64\n",
                   NULL, "arm64", 0, "expected a list");
    expect_fail_at(fx, ENVFN("", "          AWS_REGION: eu-west-1\n"), NULL, "AWS_REGION", 0,
                   "Variables.AWS_REGION: Environment: variable \"AWS_REGION\" is reserved");
    expect_fail_at(fx, ENVFN("", "          AA: x\n          AA: y\n"), NULL, "AA: y", 0,
                   "duplicate key AA (first at line");
    expect_fail_at(fx,
                   HEAD "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
                        "    Properties:\n      CodeUri: src\n      MemorySize: 256\n"
                        "      MemorySize: 512\n",
                   NULL, "MemorySize: 512", 0, "duplicate key MemorySize (first at line 7)");
    char longname[200];
    memset(longname, 'n', 70);
    longname[70] = '\0';
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             HEAD "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
                  "    Properties:\n      CodeUri: src\n      FunctionName: %s\n",
             longname);
    expect_fail_at(fx, yaml, NULL, "nnnn", 0, "FunctionName is 70 characters long: allowed at most 64");
}

/* ----------------------------------------------------------------- malformed */

static void test_malformed_yaml(void **state)
{
    struct fixture *fx = *state;
    expect_fail(fx, "Resources:\n  Fn:\n    Type: x\n   bad: indentation\n",
                "template.yaml:4:");
    expect_fail(fx, "Resources:\n  Fn:\n    Type: x\n   bad: indentation\n", "YAML syntax error");
    expect_fail(fx, "Resources:\n  Fn: {Type: \"unterminated\n", "template.yaml:3:1: YAML syntax error");
    expect_fail(fx, "Resources:\n\tFn: x\n", "template.yaml:2:1: YAML syntax error");
    expect_fail(fx, "Resources: [a, b\n", "YAML syntax error");
    expect_fail(fx, "", "the file is empty");
    expect_fail(fx, "# just a comment\n", "the file is empty");
    expect_fail(fx, "- a\n- b\n", "template.yaml:1:1: template: the template must be a mapping");
    expect_fail(fx, "Resources: {}\n---\nResources: {}\n", "template.yaml:2:1: a second YAML document");
    expect_fail(fx, "Description: x\n", "Resources: missing");
    expect_fail(fx, "Resources: [a]\n", "Resources: must be a mapping");
    expect_fail(fx, "Resources: {}\nResources: {}\n", "template.yaml:2:1: template: duplicate key Resources");
    expect_fail(fx,
                "Base: &base {CodeUri: src}\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
                "    Properties:\n      <<: *base\n",
                "YAML merge keys (<<) are not supported");
    expect_fail(fx, "Resources:\n  Fn: {Type: AWS::Serverless::Function, Properties: \"a\\0b\"}\n",
                "expected a mapping");
    expect_fail(fx, "\xff\xfeR\0e\0", "not UTF-8");
    expect_fail(fx, "Resources:\n  Fn: {Type: \"\xc3\x28\"}\n", "YAML");
}

static void test_limits(void **state)
{
    struct fixture *fx = *state;
    size_t big = PT_TEMPLATE_MAX_BYTES + 10;
    char *text = malloc(big + 1);
    assert_non_null(text);

    /* Size. */
    memset(text, '#', big);
    text[big] = '\0';
    expect_fail(fx, text, "larger than the 1048576 bytes a template may have");

    /* Depth: 100 nested flow lists. */
    size_t n = 0;
    n += (size_t)sprintf(text + n, "Resources: {}\nDeep: ");
    for (int i = 0; i < 100; i++)
        text[n++] = '[';
    for (int i = 0; i < 100; i++)
        text[n++] = ']';
    text[n++] = '\n';
    text[n] = '\0';
    expect_fail(fx, text, "nested deeper than 64 levels");

    /* Billion laughs: 10 levels of 10 aliases is 10^10 nodes expanded; refused, not expanded. */
    n = (size_t)sprintf(text, "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (int i = 1; i <= 10; i++)
        n += (size_t)sprintf(text + n, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, "
                                       "*a%d, *a%d]\n",
                             i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1,
                             i - 1);
    sprintf(text + n, "Resources: {}\n");
    expect_fail(fx, text, "more than 1000000 nodes once YAML aliases are expanded");

    /* An alias inside its own anchor: a cycle, stopped by the depth limit (or by libyaml). */
    put(fx, "Resources: {}\nLoop: &loop [a, *loop]\n");
    struct pt_function_config c;
    struct pt_error err;
    assert_int_equal(load(fx, NULL, &c, &err), PT_EUSAGE);
    pt_function_config_free(&c);

    /* Legitimate aliases are fine (a shared environment). */
    put(fx, HEAD "Vars: &vars {AA: one, BB: two}\n"
               "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
               "    Properties: {CodeUri: src, Environment: {Variables: *vars}}\n");
    assert_int_equal(load(fx, NULL, &c, &err), 0);
    assert_string_equal(env_get(&c, "BB"), "two");
    pt_function_config_free(&c);
    free(text);
}

/* -------------------------------------------------------------- MemorySize */

static void expect_file(const char *path, const char *want)
{
    size_t n = 0;
    char *got = read_all(path, &n);
    assert_non_null(got);
    if (n != strlen(want) || memcmp(got, want, n) != 0)
        fail_msg("%s differs:\n--- got (%zu bytes)\n%s\n--- want (%zu bytes)\n%s", path, n, got,
                 strlen(want), want);
    free(got);
}

/* Sets mb, checks the new file byte for byte, the backup, and that it loads with mb. */
static void expect_rewrite(struct fixture *fx, const char *before, const char *id, int mb,
                           const char *after)
{
    char backup[PATH_MAX + 8];
    struct pt_error err;
    struct pt_function_config c;
    snprintf(backup, sizeof(backup), "%s/backup.yaml", fx->dir);
    unlink(backup);
    write_file(fx->tpl, before, strlen(before));
    pt_error_clear(&err);
    int rc = pt_template_set_memory(fx->tpl, id, mb, backup, NULL, 0, &err);
    if (rc)
        fail_msg("set_memory: %s", err.msg);
    expect_file(fx->tpl, after);
    expect_file(backup, before);
    assert_int_equal(load(fx, id, &c, &err), 0);
    assert_int_equal(c.memory_mb, mb);
    pt_function_config_free(&c);
}

static const char site_yaml[] =
    HEAD "# a comment that must survive\n"
         "Globals:\n"
         "  Function:\n"
         "    MemorySize: 256   # shared\n"
         "Resources:\n"
         "  WithValue:\n"
         "    Type: AWS::Serverless::Function\n"
         "    Properties:\n"
         "      CodeUri: src\n"
         "      MemorySize: 512 # tuned\n"
         "      Timeout: 3\n"
         "  Quoted:\n"
         "    Type: AWS::Serverless::Function\n"
         "    Properties: {CodeUri: src, MemorySize: \"1024\"}\n"
         "  FromGlobals:\n"
         "    Type: AWS::Serverless::Function\n"
         "    Properties:\n"
         "      Handler: lambda_function.lambda_handler\n"
         "      CodeUri: src\n"
         "  NoProperties:\n"
         "    Type: AWS::Serverless::Function\n"
         "    Metadata: {x: 1}\n"
         "  Intrinsic:\n"
         "    Type: AWS::Serverless::Function\n"
         "    Properties:\n"
         "      CodeUri: src\n"
         "      MemorySize: !If [Big, 2048, 128]\n"
         "Conditions:\n"
         "  Big: !Equals [a, a]\n";

static void test_memory_site(void **state)
{
    struct fixture *fx = *state;
    struct pt_template_memory_site s;
    struct pt_error err;
    char where[64];
    put(fx, site_yaml);

    assert_int_equal(pt_template_memory_site(fx->tpl, "WithValue", &s, &err), 0);
    assert_int_equal(s.kind, PT_TEMPLATE_MEMORY_VALUE);
    assert_string_equal(s.file, fx->tpl);
    loc_of(site_yaml, "512 # tuned", 0, where, sizeof(where));
    char got[64];
    snprintf(got, sizeof(got), "template.yaml:%d:%d: ", s.line, s.column);
    assert_string_equal(got, where);
    assert_int_equal(s.offset, (size_t)(strstr(site_yaml, "512 # tuned") - site_yaml));
    assert_int_equal(s.length, 3);
    assert_int_equal(s.memory_mb, 512);

    assert_int_equal(pt_template_memory_site(fx->tpl, "Quoted", &s, &err), 0);
    assert_int_equal(s.kind, PT_TEMPLATE_MEMORY_VALUE);
    assert_int_equal(s.offset, (size_t)(strstr(site_yaml, "\"1024\"") - site_yaml));
    assert_int_equal(s.length, 6);
    assert_int_equal(s.memory_mb, 1024);

    /* From Globals: inserted into the function's own Properties, before its first key. */
    assert_int_equal(pt_template_memory_site(fx->tpl, "FromGlobals", &s, &err), 0);
    assert_int_equal(s.kind, PT_TEMPLATE_MEMORY_INSERT);
    assert_int_equal(s.memory_mb, 256);
    assert_int_equal(s.length, 0);
    const char *first = strstr(site_yaml, "      Handler:");
    assert_int_equal(s.offset, (size_t)(first - site_yaml));
    loc_of(site_yaml, "Handler:", 0, where, sizeof(where));
    snprintf(got, sizeof(got), "template.yaml:%d:%d: ", s.line, s.column);
    assert_string_equal(got, where);

    assert_int_equal(pt_template_memory_site(fx->tpl, "NoProperties", &s, &err), 0);
    assert_int_equal(s.kind, PT_TEMPLATE_MEMORY_INSERT_PROPERTIES);

    assert_int_equal(pt_template_memory_site(fx->tpl, "Intrinsic", &s, &err), 0);
    assert_int_equal(s.kind, PT_TEMPLATE_MEMORY_INTRINSIC);
    assert_int_equal(s.memory_mb, 2048);

    /* The spec form "file#Id" works as the path too. */
    char spec[PATH_MAX + 16];
    snprintf(spec, sizeof(spec), "%s#Quoted", fx->dir);
    assert_int_equal(pt_template_memory_site(spec, NULL, &s, &err), 0);
    assert_int_equal(s.memory_mb, 1024);
    assert_int_equal(pt_template_memory_site(fx->dir, NULL, &s, &err), PT_EUSAGE);
    assert_contains(err.msg, "defines 5 functions");
}

/* before with `from` replaced by `to` (once). */
static char *replaced(const char *before, const char *from, const char *to)
{
    const char *at = strstr(before, from);
    assert_non_null(at);
    size_t n = strlen(before) - strlen(from) + strlen(to);
    char *out = malloc(n + 1);
    size_t head = (size_t)(at - before);
    memcpy(out, before, head);
    memcpy(out + head, to, strlen(to));
    strcpy(out + head + strlen(to), at + strlen(from));
    return out;
}

/* expect_rewrite with the one change `from` -> `to` in before as the wanted text. */
static void expect_replaced(struct fixture *fx, const char *before, const char *id, int mb,
                            const char *from, const char *to)
{
    char *want = replaced(before, from, to);
    expect_rewrite(fx, before, id, mb, want);
    free(want);
}

static void test_set_memory_rewrites_in_place(void **state)
{
    struct fixture *fx = *state;
    expect_replaced(fx, site_yaml, "WithValue", 1769, "MemorySize: 512 # tuned",
                    "MemorySize: 1769 # tuned");
    expect_replaced(fx, site_yaml, "Quoted", 3008, "MemorySize: \"1024\"", "MemorySize: \"3008\"");
    expect_replaced(fx, site_yaml, "FromGlobals", 640, "      Handler: lambda_function",
                    "      MemorySize: 640\n      Handler: lambda_function");
    /* Type comes first in NoProperties: the new Properties goes before it. */
    expect_replaced(fx, site_yaml, "NoProperties", 2048, "  NoProperties:\n    Type:",
                    "  NoProperties:\n    Properties:\n      MemorySize: 2048\n    Type:");
}

static void test_set_memory_flow_single_quotes(void **state)
{
    struct fixture *fx = *state;
    const char *flow = HEAD "Resources:\n"
                            "  A: {Type: AWS::Serverless::Function, Properties: {CodeUri: src}}\n"
                            "  B: {Type: AWS::Serverless::Function}\n"
                            "  C:\n"
                            "    Type: AWS::Serverless::Function\n"
                            "    Properties: {CodeUri: src, MemorySize: '128'}\n"
                            "  D:\n"
                            "    Type: AWS::Serverless::Function\n"
                            "    Properties: {}\n";
    expect_replaced(fx, flow, "A", 300, "Properties: {CodeUri: src}}",
                    "Properties: {MemorySize: 300, CodeUri: src}}");
    expect_replaced(fx, flow, "B", 400, "B: {Type", "B: {Properties: {MemorySize: 400}, Type");
    expect_replaced(fx, flow, "C", 10240, "MemorySize: '128'", "MemorySize: '10240'");
    expect_replaced(fx, flow, "D", 128, "Properties: {}", "Properties: {MemorySize: 128}");
}

/*
 * A flow mapping with an anchor or a tag starts (for libyaml) at "&p" / "!!map", not at '{':
 * MemorySize once went in after the '&' or '!', the check of the rewritten text refused it
 * as an "internal error", and autoOptimize failed on a valid template.
 */
static void test_set_memory_flow_anchor_tag(void **state)
{
    struct fixture *fx = *state;
    const char *flow = HEAD "Resources:\n"
                            "  A:\n"
                            "    Type: AWS::Serverless::Function\n"
                            "    Properties: !!map {CodeUri: src}\n"
                            "  B:\n"
                            "    Type: AWS::Serverless::Function\n"
                            "    Properties: &p  {CodeUri: src}\n"
                            "  C: &c {Type: AWS::Serverless::Function}\n"
                            "  D:\n"
                            "    Type: AWS::Serverless::Function\n"
                            "    Properties: &q\n"
                            "      {CodeUri: src}\n";
    expect_replaced(fx, flow, "A", 512, "!!map {CodeUri", "!!map {MemorySize: 512, CodeUri");
    expect_replaced(fx, flow, "B", 640, "&p  {CodeUri", "&p  {MemorySize: 640, CodeUri");
    expect_replaced(fx, flow, "C", 768, "&c {Type", "&c {Properties: {MemorySize: 768}, Type");
    /* The '{' on a line of its own: refused (set by hand), the file untouched, no backup. */
    struct pt_error err;
    put(fx, flow);
    assert_int_equal(pt_template_set_memory(fx->tpl, "D", 1024, NULL, NULL, 0, &err), PT_EUSAGE);
    assert_contains(err.msg, "cannot insert MemorySize");
    expect_file(fx->tpl, flow);
}

/*
 * The only function's logical id given twice in Resources (the other entry not a function):
 * loaded unnamed, it was taken; named (as the MemorySize rewrite names it), refused as a
 * duplicate key, so the rewrite failed with an "internal error". Refused both ways now.
 */
static void test_duplicate_logical_id_refused(void **state)
{
    struct fixture *fx = *state;
    struct pt_function_config c;
    struct pt_error err;
    const char *dup = HEAD "Resources:\n"
                           "  A:\n"
                           "    Type: AWS::Serverless::Function\n"
                           "    Properties: {CodeUri: src}\n"
                           "  A:\n";
    put(fx, dup);
    assert_int_equal(load(fx, NULL, &c, &err), PT_EUSAGE);
    pt_function_config_free(&c);
    assert_contains(err.msg, "duplicate key A");
    assert_int_equal(load(fx, "A", &c, &err), PT_EUSAGE);
    pt_function_config_free(&c);
    assert_int_equal(pt_template_set_memory(fx->tpl, NULL, 512, NULL, NULL, 0, &err), PT_EUSAGE);
    assert_contains(err.msg, "duplicate key A");
    expect_file(fx->tpl, dup);
}

/*
 * A JSON template stays JSON: an inserted key is quoted as the others are, and in a mapping
 * written one key a line the new key gets a line of its own, indented as the next one (tabs
 * too). It went in as "{MemorySize: 1024, " (valid YAML, no longer JSON: jq, cfn-lint and
 * JSON parsers refused the file autoOptimize wrote).
 */
static void test_set_memory_json(void **state)
{
    struct fixture *fx = *state;
    const char *json = "{\n"
                       "  \"Resources\": {\n"
                       "    \"A\": {\n"
                       "      \"Type\": \"AWS::Serverless::Function\",\n"
                       "      \"Properties\": {\n"
                       "\t\t\"CodeUri\": \"src\"\n"
                       "      }\n"
                       "    },\n"
                       "    \"B\": {\"Type\": \"AWS::Serverless::Function\", \"Properties\": "
                       "{\"CodeUri\": \"src\"}},\n"
                       "    \"C\": {\"Type\": \"AWS::Serverless::Function\"},\n"
                       "    \"D\": {\r\n"
                       "      \"Type\": \"AWS::Serverless::Function\"\r\n"
                       "    },\n"
                       "    \"E\": {\"Type\": \"AWS::Serverless::Function\", \"Properties\": {}}\n"
                       "  }\n"
                       "}\n";
    expect_replaced(fx, json, "A", 512, "\t\t\"CodeUri\"",
                    "\t\t\"MemorySize\": 512,\n\t\t\"CodeUri\"");
    expect_replaced(fx, json, "B", 640, "\"Properties\": {\"CodeUri\"",
                    "\"Properties\": {\"MemorySize\": 640, \"CodeUri\"");
    expect_replaced(fx, json, "C", 768, "\"C\": {\"Type\"",
                    "\"C\": {\"Properties\": {\"MemorySize\": 768}, \"Type\"");
    expect_replaced(fx, json, "D", 896, "    \"D\": {\r\n",
                    "    \"D\": {\r\n      \"Properties\": {\"MemorySize\": 896},\r\n");
    expect_replaced(fx, json, "E", 1024, "\"Properties\": {}",
                    "\"Properties\": {\"MemorySize\": 1024}");
}

/*
 * A tag or an anchor before the value is the user's and stays: the value's start mark is that
 * of its properties, so "!!str 512" was replaced whole by "1024" (the tag, and the string type
 * it gives, gone), "&m 512" lost its anchor.
 */
static void test_set_memory_keeps_tag_anchor(void **state)
{
    struct fixture *fx = *state;
    const char *props = HEAD "Resources:\n"
                             "  A:\n    Type: AWS::Serverless::Function\n"
                             "    Properties: {CodeUri: src, MemorySize: !!str \"512\"}\n"
                             "  B:\n    Type: AWS::Serverless::Function\n"
                             "    Properties:\n      CodeUri: src\n      MemorySize: &m !!int\n"
                             "        # the size\n        256\n";
    expect_replaced(fx, props, "A", 1024, "!!str \"512\"", "!!str \"1024\"");
    expect_replaced(fx, props, "B", 2048, "        256\n", "        2048\n");
}

/* A BOM, multi-byte UTF-8 before the value and CRLF line ends: offsets are bytes, not chars. */
static void test_set_memory_utf8_crlf(void **state)
{
    struct fixture *fx = *state;
    const char *before = "\xef\xbb\xbf" "Description: \"d\xc3\xa9j\xc3\xa0 vu \xe2\x9c\x93\"\r\n"
                         "Resources:\r\n"
                         "  Fn:\r\n"
                         "    Type: AWS::Serverless::Function\r\n"
                         "    Properties:\r\n"
                         "      Description: \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\r\n"
                         "      CodeUri: src\r\n"
                         "      MemorySize: 512\r\n"
                         "  G:\r\n"
                         "    Type: AWS::Serverless::Function\r\n"
                         "    Properties:\r\n"
                         "      CodeUri: src # \xf0\x9f\x98\x80\r\n";
    expect_replaced(fx, before, "Fn", 2000, "MemorySize: 512", "MemorySize: 2000");
    expect_replaced(fx, before, "G", 999, "      CodeUri: src # ",
                    "      MemorySize: 999\r\n      CodeUri: src # ");
}

static void test_set_memory_backup_mode_and_refusals(void **state)
{
    struct fixture *fx = *state;
    struct pt_error err;
    struct stat st;
    char bak[PATH_MAX + 8], where[64];
    const char *one = HEAD "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
                           "    Properties:\n      CodeUri: src\n      MemorySize: 128\n";
    put(fx, one);
    chmod(fx->tpl, 0640);
    /* Default backup beside the file; the only function needs no id; the mode is kept. */
    assert_int_equal(pt_template_set_memory(fx->dir, NULL, 1024, NULL, NULL, 0, &err), 0);
    snprintf(bak, sizeof(bak), "%s.bak", fx->tpl);
    expect_file(bak, one);
    char *want = replaced(one, "128", "1024");
    expect_file(fx->tpl, want);
    free(want);
    assert_int_equal(stat(fx->tpl, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);

    /* Out of range: refused with the usual message, nothing written. */
    put(fx, one);
    unlink(bak);
    assert_int_equal(pt_template_set_memory(fx->tpl, NULL, 64, NULL, NULL, 0, &err), PT_EUSAGE);
    assert_contains(err.msg, "MemorySize 64 is out of range: allowed 128 to 10240");
    assert_int_equal(pt_template_set_memory(fx->tpl, NULL, 10241, NULL, NULL, 0, &err), PT_EUSAGE);
    expect_file(fx->tpl, one);
    assert_int_not_equal(access(bak, F_OK), 0);

    /* An intrinsic is never overwritten. */
    put(fx, site_yaml);
    assert_int_equal(pt_template_set_memory(fx->tpl, "Intrinsic", 512, NULL, NULL, 0, &err),
                     PT_EUSAGE);
    assert_contains(err.msg, "MemorySize cannot be set in place: it is an intrinsic function");
    loc_of(site_yaml, "!If [Big", 0, where, sizeof(where));
    assert_contains(err.msg, where);
    expect_file(fx->tpl, site_yaml);
    assert_int_not_equal(access(bak, F_OK), 0);

    /* Properties shared through an alias: setting one function would change both. */
    const char *shared = HEAD "Resources:\n"
                              "  A:\n    Type: AWS::Serverless::Function\n"
                              "    Properties: &props\n      CodeUri: src\n      MemorySize: 256\n"
                              "  B:\n    Type: AWS::Serverless::Function\n"
                              "    Properties: *props\n";
    put(fx, shared);
    assert_int_equal(pt_template_set_memory(fx->tpl, "A", 512, NULL, NULL, 0, &err), PT_EUSAGE);
    assert_contains(err.msg, "shared through a YAML alias");
    expect_file(fx->tpl, shared);

    /* A broken template is reported as such. */
    put(fx, "Resources: [\n");
    assert_int_equal(pt_template_set_memory(fx->tpl, NULL, 512, NULL, NULL, 0, &err), PT_EUSAGE);
    assert_contains(err.msg, "YAML syntax error");
}

/*
 * A second autoOptimize run replaced <file>.bak with the first run's output: the original
 * template, the one backup a user would want, was gone without a word. A backup that holds
 * something else is kept now; the next free <file>.bak.N is used instead, and reported.
 */
static void test_set_memory_keeps_previous_backup(void **state)
{
    struct fixture *fx = *state;
    struct pt_error err;
    char bak[PATH_MAX + 8], bak1[PATH_MAX + 8], used[PATH_MAX];
    const char *one = HEAD "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
                           "    Properties:\n      CodeUri: src\n      MemorySize: 128\n";
    char *first = replaced(one, "128", "1024");
    char *second = replaced(one, "128", "2048");
    snprintf(bak, sizeof(bak), "%s.bak", fx->tpl);
    snprintf(bak1, sizeof(bak1), "%s.bak.1", fx->tpl);
    put(fx, one);
    assert_int_equal(pt_template_set_memory(fx->tpl, NULL, 1024, NULL, used, sizeof(used), &err),
                     0);
    assert_string_equal(used, bak);
    assert_int_equal(pt_template_set_memory(fx->tpl, NULL, 2048, NULL, used, sizeof(used), &err),
                     0);
    assert_string_equal(used, bak1);
    expect_file(bak, one);
    expect_file(bak1, first);
    expect_file(fx->tpl, second);
    /* A backup that holds the template as it is loses nothing: it is reused. */
    put(fx, first);
    assert_int_equal(pt_template_set_memory(fx->tpl, NULL, 640, NULL, used, sizeof(used), &err),
                     0);
    assert_string_equal(used, bak1);
    expect_file(bak, one);
    free(first);
    free(second);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_property_serverless, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_property_lambda_function, setup, teardown),
        cmocka_unit_test_setup_teardown(test_globals_merge_and_override, setup, teardown),
        cmocka_unit_test_setup_teardown(test_code_uri_default_and_detection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_code_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inline_code, setup, teardown),
        cmocka_unit_test_setup_teardown(test_several_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_is_template, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dir_with_template_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sam_app_example, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intrinsics_resolved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intrinsics_reported_with_location, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unused_parts_not_resolved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_values_and_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_yaml, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_site, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_memory_rewrites_in_place, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_memory_flow_single_quotes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_memory_utf8_crlf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_memory_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_memory_keeps_tag_anchor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_memory_flow_anchor_tag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_logical_id_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_memory_backup_mode_and_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_memory_keeps_previous_backup, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
