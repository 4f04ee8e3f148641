/*
 * The Node.js runtime (runtimes/node/bootstrap.cjs) through the engine: CommonJS, ES modules
 * ("type": "module" too), callback handlers and callbackWaitsForEmptyEventLoop, top-level await
 * during INIT, Lambda's error documents and INIT error types, timeouts, the context object; then
 * the peer comparison: the same handler under AWS's own client (npm aws-lambda-ric 3.x, installed
 * by tests/peers/node-ric/setup.sh into build/peers/node-ric) must behave exactly alike, modulo
 * request ids, timings and file paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <ctype.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/str.h"
#include "lib/testutil.h"

#define MEM 512 /* 0.29 vCPU: fast enough for a short suite, still a real CPU cap */

static int require_node(void **state)
{
    (void)state;
    if (!tu_have_cgroups())
        skip();
    if (!pt_path_is_executable("/usr/bin/node") && !getenv("POWERTUNE_NODE")) {
        print_message("skipped: no node (/usr/bin/node or POWERTUNE_NODE)\n");
        skip();
    }
    return 0;
}

/* A function from tests/functions/<name> (or any repository path) with an explicit runtime. */
static struct pt_function *node_fn(struct pt_engine *e, const char *dir, const char *runtime,
                                   const char *handler, int memory_mb, int timeout_s,
                                   const char *env_key, const char *env_value)
{
    struct pt_function_config c;
    struct pt_error err = {0};
    pt_function_config_init(&c);
    pt_strlcpy(c.runtime, runtime, sizeof(c.runtime));
    if (handler)
        pt_strlcpy(c.handler, handler, sizeof(c.handler));
    if (pt_function_detect(&c, tu_example(dir), &err))
        fail_msg("detect %s: %s", dir, err.msg);
    c.memory_mb = memory_mb;
    if (timeout_s)
        c.timeout_s = timeout_s;
    if (env_key && pt_function_set_env(&c, env_key, env_value, &err))
        fail_msg("env: %s", err.msg);
    struct pt_function *fn = NULL;
    if (pt_engine_function_add(e, &c, &fn, &err))
        fail_msg("add %s: %s", dir, err.msg);
    pt_function_config_free(&c);
    return fn;
}

static json_t *payload_json(const struct pt_invoke_result *r)
{
    json_error_t jerr;
    json_t *j = json_loadb(r->payload, r->payload_len, JSON_DECODE_ANY, &jerr);
    if (!j)
        fail_msg("payload is not JSON (%s): %.*s", jerr.text, (int)r->payload_len, r->payload);
    return j;
}

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (!s)
        fail_msg("no string %s in the payload", key);
    return s;
}

static json_int_t jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("no integer %s in the payload", key);
    return json_integer_value(v);
}

/* The log line "<ISO time>\t<request id>\t<LEVEL>\t<text>" is in the invocation's log. */
static void assert_app_line(const struct pt_invoke_result *r, const char *level, const char *text)
{
    char want[512];
    snprintf(want, sizeof(want), "Z\t%s\t%s\t%s\n", r->request_id, level, text);
    if (!strstr(r->log_tail, want))
        fail_msg("log line '%s' missing from:\n%s", want, r->log_tail);
}

static void test_commonjs_cold_then_warm(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = node_fn(e, "tests/functions/node-cjs", "nodejs20.x", NULL, MEM, 0,
                                     NULL, NULL);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{\"a\": 1}", &r);
    assert_false(r.function_error);
    assert_true(r.cold_start);
    assert_true(r.init_duration_ms > 0);
    assert_string_equal(r.payload, "{\"kind\":\"cjs\",\"count\":1,\"event\":{\"a\":1}}");
    assert_app_line(&r, "INFO", "cjs event {\"a\":1}");
    assert_non_null(strstr(r.log_tail, "\tInit Duration: "));
    pt_invoke_result_free(&r);
    tu_invoke(e, fn, "{\"a\": 2}", &r);
    assert_false(r.cold_start);
    assert_string_equal(r.payload, "{\"kind\":\"cjs\",\"count\":2,\"event\":{\"a\":2}}");
    pt_invoke_result_free(&r);
    tu_engine_free(e);
}

/* ES module with top-level await: the await runs during INIT (before the first /next). */
static void test_esm_top_level_await_in_init(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = node_fn(e, "tests/functions/node-esm", "nodejs22.x", NULL, MEM, 0,
                                     NULL, NULL);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{}", &r);
    assert_false(r.function_error);
    json_t *p = payload_json(&r);
    assert_string_equal(jstr(p, "kind"), "esm");
    assert_int_equal(jint(p, "initValue"), 42);
    /* Date.now() ticks in whole milliseconds, and libuv may fire a 50 ms timer when its own
     * clock says 50 but Date.now()'s difference says 49 (seen once under load). */
    assert_true(jint(p, "initMs") >= 49);
    assert_true(r.init_duration_ms >= 50.0); /* the 50 ms await is inside Init Duration */
    assert_true(r.duration_ms < 50.0 * 4);
    json_int_t remaining = jint(p, "remaining");
    assert_true(remaining > 2000 && remaining <= 3000);
    json_decref(p);
    assert_app_line(&r, "INFO", "esm 1");
    assert_app_line(&r, "WARN", "a warning");
    assert_app_line(&r, "ERROR", "an error line\rwith two lines"); /* one record per call */
    pt_invoke_result_free(&r);
    tu_invoke(e, fn, "{}", &r);
    p = payload_json(&r);
    assert_int_equal(jint(p, "count"), 2);
    json_decref(p);
    pt_invoke_result_free(&r);
    tu_engine_free(e);
}

/* "type": "module" in package.json makes app.js an ES module; nested handler path. */
static void test_package_type_module(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = node_fn(e, "tests/functions/node-module-type", "nodejs18.x",
                                     "app.nested.run", MEM, 0, NULL, NULL);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{\"x\": true}", &r);
    assert_false(r.function_error);
    assert_string_equal(r.payload, "{\"kind\":\"module-type\",\"event\":{\"x\":true}}");
    pt_invoke_result_free(&r);
    tu_engine_free(e);
}

static void test_callback_handlers(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = node_fn(e, "tests/functions/node-callback", "nodejs20.x", NULL, MEM,
                                     0, NULL, NULL);
    struct pt_invoke_result r;
    /* callbackWaitsForEmptyEventLoop (default): the response waits for the 200 ms timer */
    tu_invoke(e, fn, "{\"mode\": \"wait\"}", &r);
    assert_false(r.function_error);
    json_t *p = payload_json(&r);
    assert_true(json_is_true(json_object_get(p, "waited")));
    json_decref(p);
    assert_true(r.duration_ms >= 200.0);
    assert_app_line(&r, "INFO", "timer after callback ran");
    pt_invoke_result_free(&r);
    /* = false: the response goes at once; the timer runs later (here: in the next invocation) */
    tu_invoke(e, fn, "{\"mode\": \"nowait\"}", &r);
    assert_false(r.function_error);
    assert_true(r.duration_ms < 200.0);
    assert_null(strstr(r.log_tail, "timer after callback ran"));
    pt_invoke_result_free(&r);
    /* neither a promise nor the callback: null once the event loop is empty */
    tu_invoke(e, fn, "{\"mode\": \"none\"}", &r);
    assert_false(r.function_error);
    assert_string_equal(r.payload, "null");
    assert_app_line(&r, "INFO", "timer ran");
    pt_invoke_result_free(&r);
    tu_invoke(e, fn, "{\"mode\": \"done\"}", &r);
    assert_string_equal(r.payload, "{\"via\":\"succeed\"}");
    pt_invoke_result_free(&r);
    tu_invoke(e, fn, "{\"mode\": \"error\"}", &r);
    assert_true(r.function_error);
    assert_string_equal(r.error_type, "Error");
    p = payload_json(&r);
    assert_string_equal(jstr(p, "errorMessage"), "callback failed");
    json_decref(p);
    pt_invoke_result_free(&r);
    tu_invoke(e, fn, "{\"mode\": \"string\"}", &r);
    assert_true(r.function_error);
    assert_string_equal(r.payload,
                        "{\"errorType\":\"string\",\"errorMessage\":\"plain string error\",\"trace\":[]}");
    assert_false(r.cold_start); /* handled errors keep the environment */
    pt_invoke_result_free(&r);
    /*
     * An exception thrown just after the callback, while the result is being posted: as under
     * aws-lambda-ric (whose posts are synchronous), the result goes first and stands, then the
     * error (refused: the invocation is over), then the exit (129), before the next GET /next;
     * so the next invocation starts a new runtime instead of failing with Runtime.ExitError.
     */
    for (int round = 0; round < 3; round++) { /* the old way lost the race most times */
        tu_invoke(e, fn, "{\"mode\": \"throw\"}", &r);
        if (r.function_error)
            fail_msg("%.*s\n%s", (int)r.payload_len, r.payload, r.log_tail);
        assert_string_equal(r.payload, "\"posted before the exception\"");
        pt_invoke_result_free(&r);
        tu_invoke(e, fn, "{\"mode\": \"done\"}", &r);
        if (r.function_error)
            fail_msg("round %d: %.*s\n%s", round, (int)r.payload_len, r.payload, r.log_tail);
        assert_true(r.cold_start);
        pt_invoke_result_free(&r);
    }
    tu_engine_free(e);
}

static void test_handler_errors(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = node_fn(e, "tests/functions/node-error", "nodejs20.x", NULL, MEM, 0,
                                     NULL, NULL);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{}", &r);
    assert_true(r.function_error);
    assert_string_equal(r.error_type, "Error");
    json_t *p = payload_json(&r);
    assert_string_equal(jstr(p, "errorType"), "Error");
    assert_string_equal(jstr(p, "errorMessage"), "Handler fails");
    json_t *trace = json_object_get(p, "trace");
    assert_true(json_is_array(trace) && json_array_size(trace) >= 2);
    assert_string_equal(json_string_value(json_array_get(trace, 0)), "Error: Handler fails");
    assert_non_null(strstr(json_string_value(json_array_get(trace, 1)),
                           "    at Runtime.handler (file://"));
    json_decref(p);
    char want[256];
    snprintf(want, sizeof(want), "\t%s\tERROR\tInvoke Error \t{\"errorType\":\"Error\","
             "\"errorMessage\":\"Handler fails\",\"stack\":[\"Error: Handler fails\"", r.request_id);
    assert_non_null(strstr(r.log_tail, want));
    pt_invoke_result_free(&r);

    tu_invoke(e, fn, "{\"kind\": \"custom\"}", &r);
    assert_false(r.cold_start);
    assert_string_equal(r.error_type, "CustomError");
    assert_non_null(strstr(r.log_tail, "\"errorType\":\"CustomError\",\"errorMessage\":\"custom "
                                       "failure\",\"code\":\"E_CUSTOM\",\"name\":\"CustomError\""));
    pt_invoke_result_free(&r);

    tu_invoke(e, fn, "{\"kind\": \"circular\"}", &r);
    assert_true(r.function_error);
    p = payload_json(&r);
    assert_string_equal(jstr(p, "errorMessage"), "Unable to stringify response body");
    json_decref(p);
    pt_invoke_result_free(&r);

    /* An uncaught exception is posted as the invocation's error, then the runtime exits 129. */
    tu_invoke(e, fn, "{\"kind\": \"reject\"}", &r);
    assert_true(r.function_error);
    assert_string_equal(r.error_type, "Runtime.UnhandledPromiseRejection");
    p = payload_json(&r);
    assert_string_equal(jstr(p, "errorMessage"), "Error: nobody catches this");
    json_decref(p);
    assert_non_null(strstr(r.log_tail, "\tERROR\tUnhandled Promise Rejection \t{"));
    pt_invoke_result_free(&r);
    tu_engine_free(e);
}

struct init_case {
    const char *dir;
    const char *handler;
    const char *type;
    const char *message; /* a prefix of errorMessage */
};

static void test_init_errors(void **state)
{
    (void)state;
    static const struct init_case cases[] = {
        {"tests/functions/node-init-error", "index.handler", "Runtime.ImportModuleError",
         "Error: Cannot find module 'no-such-module-anywhere'\nRequire stack:\n- "},
        {"tests/functions/node-syntax-error", "index.handler", "Runtime.UserCodeSyntaxError",
         "SyntaxError: Unexpected token ';'"},
        {"tests/functions/node-cjs", "index.nothere", "Runtime.HandlerNotFound",
         "index.nothere is undefined or not exported"},
        {"tests/functions/node-cjs", "nomodule.handler", "Runtime.ImportModuleError",
         "Error: Cannot find module 'nomodule'\nRequire stack:\n- "},
    };
    struct pt_engine_options opt = {.init_timeout_ms = 3000};
    struct pt_engine *e = tu_engine(&opt);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct init_case *c = &cases[i];
        struct pt_function *fn = node_fn(e, c->dir, "nodejs20.x", c->handler, 1024, 3, NULL, NULL);
        struct pt_invoke_result r;
        tu_invoke(e, fn, "{}", &r);
        assert_true(r.function_error);
        assert_string_equal(r.error_type, c->type);
        json_t *p = payload_json(&r);
        assert_string_equal(jstr(p, "errorType"), c->type);
        if (!pt_str_starts_with(jstr(p, "errorMessage"), c->message))
            fail_msg("%s: errorMessage '%s' does not start with '%s'", c->handler,
                     jstr(p, "errorMessage"), c->message);
        assert_true(json_is_array(json_object_get(p, "trace")));
        json_decref(p);
        char want[256];
        snprintf(want, sizeof(want), "\tPhase: init\tStatus: error\tError Type: %s", c->type);
        assert_non_null(strstr(r.log_tail, want));
        assert_non_null(strstr(r.log_tail, "Z\tundefined\tERROR\tUncaught Exception \t{\"errorType\":"));
        pt_invoke_result_free(&r);
        pt_engine_function_remove(e, fn);
    }
    tu_engine_free(e);
}

/*
 * An unhandled rejection reported while GET /next is in flight: the runtime posts the error on a
 * connection of its own, as aws-lambda-ric does, and exits 128. Its post used to share the
 * connection of the pending GET, which then took the post's 202 for the event ("GET /next
 * answered 202", exit 1). Which of the two requests the engine sees first is a race, under
 * aws-lambda-ric as here: the invocation gets the INIT error, the exit, or (the event first) the
 * handler's result; never a runtime that misread a reply.
 */
static void test_rejection_while_next_is_pending(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = node_fn(e, "tests/functions/node-init-rejection", "nodejs20.x", NULL,
                                     MEM, 5, NULL, NULL);
    for (int i = 0; i < 3; i++) {
        struct pt_invoke_result r;
        tu_invoke(e, fn, "{}", &r);
        if (strstr(r.log_tail, "powertune runtime:"))
            fail_msg("the runtime misread a reply:\n%s", r.log_tail);
        assert_non_null(strstr(r.log_tail, "\tERROR\tUnhandled Promise Rejection \t{"));
        if (!r.function_error) {
            assert_string_equal(r.payload, "\"handled the event\"");
        } else if (strcmp(r.error_type, "Runtime.ExitError") == 0) {
            assert_non_null(strstr(r.payload, "Error: Runtime exited with error: exit status 128"));
        } else {
            assert_string_equal(r.error_type, "Runtime.UnhandledPromiseRejection");
            json_t *p = payload_json(&r);
            assert_string_equal(jstr(p, "errorMessage"), "Error: nobody catches this");
            json_decref(p);
        }
        pt_invoke_result_free(&r);
        pt_engine_function_remove(e, fn);
        fn = node_fn(e, "tests/functions/node-init-rejection", "nodejs20.x", NULL, MEM, 5, NULL,
                     NULL);
    }
    tu_engine_free(e);
}

static void test_timeout_then_cold_start(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = node_fn(e, "tests/functions/node-timeout", "nodejs20.x", NULL, MEM, 1,
                                     NULL, NULL);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{\"seconds\": 5}", &r);
    assert_true(r.function_error);
    assert_string_equal(r.error_type, "Sandbox.Timedout");
    assert_int_equal(r.status, PT_STATUS_TIMEOUT);
    assert_true(r.duration_ms == 1000.0);
    pt_invoke_result_free(&r);
    tu_invoke(e, fn, "{\"seconds\": 0}", &r);
    assert_false(r.function_error);
    assert_true(r.cold_start);
    assert_string_equal(r.payload, "{\"slept\":0}");
    pt_invoke_result_free(&r);
    tu_engine_free(e);
}

static void test_context_fields(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = node_fn(e, "tests/functions/node-context", "nodejs20.x", NULL, 256,
                                     7, NULL, NULL);
    struct pt_invoke_result r;
    struct pt_invoke_request req = {
        .payload = "{}",
        .payload_len = 2,
        .client_context = "{\"custom\":{\"k\":\"v\"},\"env\":{\"platform\":\"test\"}}",
        .cognito_identity = "{\"cognitoIdentityId\":\"id-1\",\"cognitoIdentityPoolId\":\"pool-1\"}",
        .trace_id = "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
    };
    struct pt_error err = {0};
    assert_int_equal(pt_engine_invoke(e, fn, &req, &r, &err), 0);
    assert_false(r.function_error);
    json_t *p = payload_json(&r);
    assert_string_equal(jstr(p, "awsRequestId"), r.request_id);
    assert_string_equal(jstr(p, "functionName"), "node-context");
    assert_string_equal(jstr(p, "functionVersion"), "$LATEST");
    assert_string_equal(jstr(p, "memoryLimitInMB"), "256"); /* a string, as on Lambda */
    assert_string_equal(jstr(p, "logGroupName"), "/aws/lambda/node-context");
    assert_non_null(strstr(jstr(p, "logStreamName"), "/[$LATEST]"));
    assert_true(pt_str_starts_with(jstr(p, "invokedFunctionArn"), "arn:aws:lambda:"));
    assert_non_null(strstr(jstr(p, "invokedFunctionArn"), ":function:node-context"));
    json_int_t remaining = jint(p, "remaining");
    assert_true(remaining > 5000 && remaining <= 7000);
    assert_true(json_is_true(json_object_get(p, "callbackWaitsForEmptyEventLoop")));
    assert_string_equal(jstr(json_object_get(p, "identity"), "cognitoIdentityId"), "id-1");
    assert_string_equal(jstr(json_object_get(json_object_get(p, "clientContext"), "custom"), "k"),
                        "v");
    assert_string_equal(jstr(p, "traceId"), req.trace_id);
    assert_string_equal(jstr(p, "executionEnv"), "AWS_Lambda_nodejs20.x");
    assert_non_null(strstr(jstr(p, "nodePath"), "/opt/nodejs/node20/node_modules:"));
    assert_string_equal(jstr(p, "gc"), "function"); /* --expose-gc, as Lambda's bootstrap */
    /* --max-old-space-size=230 (MemorySize - MemorySize/10) plus the young generation */
    assert_true(jint(p, "heapLimitMB") >= 230 && jint(p, "heapLimitMB") < 300);
    const char *keys = "[\"callbackWaitsForEmptyEventLoop\",\"succeed\",\"fail\",\"done\","
                       "\"functionVersion\",\"functionName\",\"memoryLimitInMB\",\"logGroupName\","
                       "\"logStreamName\",\"clientContext\",\"identity\",\"invokedFunctionArn\","
                       "\"awsRequestId\",\"tenantId\",\"getRemainingTimeInMillis\"]";
    char *got = json_dumps(json_object_get(p, "keys"), JSON_COMPACT);
    assert_string_equal(got, keys);
    free(got);
    json_decref(p);
    pt_invoke_result_free(&r);
    /* without the optional headers: undefined, and not the previous trace id but one of the
     * engine's own, not sampled, as Lambda makes one for every invocation */
    tu_invoke(e, fn, "{}", &r);
    p = payload_json(&r);
    assert_string_equal(jstr(p, "identity"), "undefined");
    assert_string_equal(jstr(p, "clientContext"), "undefined");
    const char *own = jstr(p, "traceId");
    assert_int_equal(strlen(own), strlen("Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=0"));
    assert_true(strncmp(own, "Root=1-", 7) == 0 && pt_str_ends_with(own, ";Sampled=0"));
    json_decref(p);
    pt_invoke_result_free(&r);
    tu_engine_free(e);
}

/*
 * Output written straight to process.stdout/stderr, more than the pipe holds, is all in the log
 * before the response (the runtime flushes the streams it has built); the streams keep their
 * getters; and the runtime's fallbacks work: on a node without process.getBuiltinModule
 * (< 20.16), and with --pending-deprecation (node:net instead of the TCP binding, whose
 * process.binding would then print a warning into the function's log).
 */
static void test_output_and_builtins_fallback(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    char preload[PATH_MAX + 64];
    snprintf(preload, sizeof(preload), "--require %s/no-get-builtin-module.cjs",
             tu_example("tests/functions/node-output"));
    struct pt_function *fns[3] = {
        node_fn(e, "tests/functions/node-output", "nodejs20.x", NULL, MEM, 5, NULL, NULL),
        node_fn(e, "tests/functions/node-output", "nodejs20.x", NULL, MEM, 5, "NODE_OPTIONS",
                preload),
        node_fn(e, "tests/functions/node-output", "nodejs20.x", NULL, MEM, 5, "NODE_OPTIONS",
                "--pending-deprecation"),
    };
    static const char *const names[] = {"binding", "no getBuiltinModule", "node:net"};
    for (int i = 0; i < 3; i++) {
        for (int cold = 1; cold >= 0; cold--) {
            struct pt_invoke_result r;
            tu_invoke(e, fns[i], "{\"bytes\": 300000}", &r);
            if (r.function_error)
                fail_msg("%s: %.*s\n%s", names[i], (int)r.payload_len, r.payload, r.log_tail);
            assert_int_equal(r.cold_start, cold);
            json_t *p = payload_json(&r);
            char *shape = json_dumps(json_object_get(p, "stdout"), JSON_COMPACT);
            assert_string_equal(shape, "[\"function\",true,true,\"getStdout\"]");
            free(shape);
            assert_string_equal(jstr(p, "getBuiltinModule"), i == 1 ? "undefined" : "function");
            /* stderr's short line lands anywhere in stdout's (a pipe takes partial writes),
             * before the tail; its pending write used to keep the flush waiting forever */
            if (!strstr(r.log_tail, "xxxxxxxx end\n") || strstr(r.log_tail, "Warning"))
                fail_msg("%s: output missing from the log, or a warning:\n%s", names[i], r.log_tail);
            json_decref(p);
            pt_invoke_result_free(&r);
        }
    }
    tu_engine_free(e);
}

/*
 * console.* writes its lines straight to the descriptor, as Lambda's runtime does (to its
 * telemetry descriptor): the first invocation that logs does not build process.stdout, whose
 * node:net and streams stack, compiled from source under Lambda's V8 flags, cost ~20 ms of CPU
 * (~250 ms at 128 MB) that Lambda's runtime has spent in INIT. A line longer than the pipe holds
 * still reaches the log whole once process.stderr has made the shared pipe non-blocking.
 */
static void test_console_without_streams(void **state)
{
    (void)state;
    struct pt_engine *e = tu_engine(NULL);
    struct pt_function *fn = node_fn(e, "tests/functions/node-console", "nodejs20.x", NULL, MEM,
                                     5, NULL, NULL);
    struct pt_invoke_result r;
    tu_invoke(e, fn, "{}", &r);
    if (r.function_error)
        fail_msg("%.*s\n%s", (int)r.payload_len, r.payload, r.log_tail);
    assert_string_equal(r.payload, "{\"net\":false}");
    assert_app_line(&r, "INFO", "one\rtwo");
    assert_app_line(&r, "ERROR", "an error { a: 1 }");
    pt_invoke_result_free(&r);
    tu_invoke(e, fn, "{\"bytes\": 300000}", &r);
    if (r.function_error)
        fail_msg("%.*s\n%s", (int)r.payload_len, r.payload, r.log_tail);
    if (!strstr(r.log_tail, "yyyyyyyy end\n"))
        fail_msg("the long line is not whole in the log:\n%s", r.log_tail);
    pt_invoke_result_free(&r);
    tu_engine_free(e);
}

/* ---- peer comparison with aws-lambda-ric ---- */

static char ric_dir[PATH_MAX];

static bool node_ric_available(char *why, size_t why_size)
{
    snprintf(ric_dir, sizeof(ric_dir), "%s/build/peers/node-ric", tu_repo_root());
    char probe[PATH_MAX + 64];
    snprintf(probe, sizeof(probe), "%s/function/node_modules/aws-lambda-ric/dist/rapid-client.node",
             ric_dir);
    /* Run even when installed: it also copies the handlers, which may have changed since. */
    char cmd[PATH_MAX * 2 + 64];
    snprintf(cmd, sizeof(cmd), "'%s/tests/peers/node-ric/setup.sh' '%s' >/dev/null 2>&1",
             tu_repo_root(), ric_dir);
    if (!pt_path_is_file(probe))
        print_message("installing aws-lambda-ric@3 (tests/peers/node-ric/setup.sh) ...\n");
    int st = system(cmd);
    if (st == 0 && pt_path_is_file(probe))
        return true;
    snprintf(why, why_size,
             "aws-lambda-ric@3 could not be installed (tests/peers/node-ric/setup.sh failed, see "
             "%s/install.log; needs npm registry access, autoconf automake libtool cmake g++)",
             ric_dir);
    return false;
}

/* Replaces every "file://..." or "/...node_modules..." location up to ')' or '"' with PATH. */
static void strip_paths(char *s)
{
    char *out = s;
    for (char *p = s; *p;) {
        if (strncmp(p, "file://", 7) == 0 || (p[0] == '/' && (p == s || p[-1] == '(' ||
                                                              p[-1] == ' ' || p[-1] == '"'))) {
            while (*p && *p != ')' && *p != '"' && *p != '\\' && *p != ' ')
                p++;
            memcpy(out, "PATH", 4);
            out += 4;
            continue;
        }
        *out++ = *p++;
    }
    *out = '\0';
}

/*
 * Drops the stack frames of the runtime clients themselves (JSON string elements "    at ..."
 * outside the function's directory): the two clients are different code, the function is not.
 */
static void drop_runtime_frames(char *s)
{
    char *p = s;
    while ((p = strstr(p, "\"    at "))) {
        char *end = p + 1;
        while (*end && *end != '"')
            end += end[0] == '\\' && end[1] ? 2 : 1;
        if (!*end)
            break;
        char saved = end[1];
        end[1] = '\0';
        /* The handler's frames; the client's own and its launcher (which sit in the function's
         * directory, as in a deployment package) are runtime frames. */
        bool user = strstr(p, "/peers/node-ric/function/") != NULL && !strstr(p, "/node_modules/") &&
                    !strstr(p, "/launch.mjs");
        end[1] = saved;
        if (user) {
            p = end + 1;
            continue;
        }
        char *from = p > s && p[-1] == ',' ? p - 1 : p;
        memmove(from, end + 1, strlen(end + 1) + 1);
        p = from;
    }
}

/* X-Ray trace ids (Root=1-<8 hex>-<24 hex>;Parent=<16 hex>) masked: the engine makes a random
 * one for every invocation, as Lambda does. */
static void mask_trace_ids(char *s)
{
    for (char *p = s; (p = strstr(p, "Root=1-")) != NULL;) {
        p += 7;
        for (; isxdigit((unsigned char)*p) || *p == '-'; p++)
            *p = *p == '-' ? '-' : 'T';
        if (strncmp(p, ";Parent=", 8) == 0)
            for (p += 8; isxdigit((unsigned char)*p); p++)
                *p = 'T';
    }
}

/* The payload with the request id and every path replaced, the runtimes' own frames dropped. */
static char *normalized_payload(const struct pt_invoke_result *r)
{
    char *s = strndup(r->payload, r->payload_len);
    assert_non_null(s);
    char *id;
    while ((id = strstr(s, r->request_id)))
        memset(id, 'R', strlen(r->request_id));
    drop_runtime_frames(s);
    strip_paths(s);
    mask_trace_ids(s);
    return s;
}

/* The function's own log lines (no platform lines), time and request id replaced, paths too. */
static char *normalized_app_log(const struct pt_invoke_result *r)
{
    size_t cap = strlen(r->log_tail) + 1, len = 0;
    char *out = calloc(1, cap);
    assert_non_null(out);
    char *copy = strdup(r->log_tail);
    assert_non_null(copy);
    for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *tab = strchr(line, '\t');
        if (!tab || pt_str_starts_with(line, "REPORT ") || pt_str_starts_with(line, "INIT_REPORT"))
            continue;
        char *rest = tab + 1; /* "<request id>\t<LEVEL>\t<text>" */
        char *id_end = strchr(rest, '\t');
        if (id_end && (size_t)(id_end - rest) == strlen(r->request_id) &&
            strncmp(rest, r->request_id, strlen(r->request_id)) == 0)
            rest = id_end + 1;
        drop_runtime_frames(rest);
        strip_paths(rest);
        len += (size_t)snprintf(out + len, cap - len, "T\tR\t%s\n", rest);
    }
    free(copy);
    return out;
}

/* "REPORT RequestId: x\tDuration: ...\t..." -> "RequestId,Duration,...". */
static void report_fields(const struct pt_invoke_result *r, char *out, size_t size)
{
    out[0] = '\0';
    const char *rep = strstr(r->log_tail, "REPORT RequestId: ");
    assert_non_null(rep);
    size_t len = 0;
    for (const char *f = rep + 7; *f && *f != '\n';) {
        const char *colon = strchr(f, ':');
        const char *tab = strchr(f, '\t');
        if (!colon || (tab && tab < colon))
            break;
        len += (size_t)snprintf(out + len, size - len, "%s%.*s", len ? "," : "", (int)(colon - f), f);
        if (!tab)
            break;
        f = tab + 1;
    }
}

struct peer_case {
    const char *name;
    const char *handler;
    const char *payload;
    bool cold;
};

static void compare_results(const struct peer_case *c, const struct pt_invoke_result *ours,
                            const struct pt_invoke_result *ric)
{
    if (ours->function_error != ric->function_error || strcmp(ours->error_type, ric->error_type))
        fail_msg("%s: function error: ours %d '%s', aws-lambda-ric %d '%s'", c->name,
                 ours->function_error, ours->error_type, ric->function_error, ric->error_type);
    assert_int_equal(ours->cold_start, ric->cold_start);
    assert_int_equal(ours->cold_start, c->cold);
    assert_int_equal(ours->status, ric->status);
    char *a = normalized_payload(ours), *b = normalized_payload(ric);
    if (strcmp(a, b))
        fail_msg("%s: payloads differ:\n  ours: %s\n  ric:  %s", c->name, a, b);
    free(a);
    free(b);
    a = normalized_app_log(ours);
    b = normalized_app_log(ric);
    if (strcmp(a, b))
        fail_msg("%s: function logs differ:\n--- ours\n%s--- aws-lambda-ric\n%s", c->name, a, b);
    free(a);
    free(b);
    char fa[256], fb[256];
    report_fields(ours, fa, sizeof(fa));
    report_fields(ric, fb, sizeof(fb));
    if (strcmp(fa, fb))
        fail_msg("%s: REPORT fields differ: ours %s, aws-lambda-ric %s", c->name, fa, fb);
    if (getenv("PT_TEST_VERBOSE")) { /* what was compared */
        a = normalized_payload(ours);
        b = normalized_app_log(ours);
        print_message("%s\n%s", a, b);
        free(a);
        free(b);
    }
    print_message("  %-22s same (%s%s%s; REPORT %s)\n", c->name,
                  ours->function_error ? "error " : "ok", ours->error_type,
                  ours->cold_start ? ", cold" : ", warm", fa);
}

static void test_peer_aws_lambda_ric(void **state)
{
    (void)state;
    char why[PATH_MAX + 256];
    if (!node_ric_available(why, sizeof(why))) {
        print_message("skipped: %s\n", why);
        skip();
    }
    static const struct peer_case cases[] = {
        {"cold invocation", "index.handler", "{\"n\": 1}", true},
        {"warm invocation", "index.handler", "{\"n\": 2, \"s\": \"\\u00e9t\\u00e9\"}", false},
        {"handled error", "index.handler", "{\"fail\": \"boom\"}", false},
        {"after the error", "index.handler", "{\"n\": 3}", false},
        {"result over 6 MB", "index.handler", "{\"bytes\": 7000000}", false},
        {"after the big result", "index.handler", "{\"n\": 6}", false},
        {"timeout", "index.handler", "{\"sleep\": 5}", false},
        {"cold after timeout", "index.handler", "{\"n\": 4}", true},
        {"callback cold", "index.callback", "{}", true},
        {"callback error", "index.callback", "{\"fail\": \"cb\"}", false},
        {"streaming", "index.streaming", "{}", true},
        {"streaming, ended later", "index.streaming", "{\"later\": true}", false},
        {"streaming, never ended", "index.streaming", "{\"unfinished\": true}", false},
        {"init error", "missing.handler", "{}", true},
        {"commonjs", "cjs.handler", "{\"n\": 5}", true},
    };
    struct pt_engine_options opt = {.init_timeout_ms = 3000};
    struct pt_engine *e = tu_engine(&opt);
    char dir[PATH_MAX + 16];
    snprintf(dir, sizeof(dir), "%s/function", ric_dir); /* assembled by setup.sh */
    struct pt_function *ours = NULL, *ric = NULL;
    const char *handler = NULL;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct peer_case *c = &cases[i];
        if (!handler || strcmp(handler, c->handler)) {
            if (ours) {
                pt_engine_function_remove(e, ours);
                pt_engine_function_remove(e, ric);
            }
            handler = c->handler;
            ours = node_fn(e, dir, "nodejs20.x", handler, MEM, 1, NULL, NULL);
            ric = node_fn(e, dir, "provided.al2023", handler, MEM, 1, NULL, NULL);
        }
        struct pt_invoke_result a, b;
        tu_invoke(e, ours, c->payload, &a);
        tu_invoke(e, ric, c->payload, &b);
        compare_results(c, &a, &b);
        if (strcmp(c->name, "streaming") == 0)
            assert_string_equal(a.payload, "streamed 1 now");
        if (strcmp(c->name, "timeout") == 0 || strcmp(c->name, "streaming, never ended") == 0) {
            assert_string_equal(a.error_type, "Sandbox.Timedout");
            assert_true(a.duration_ms == 1000.0 && b.duration_ms == 1000.0);
        }
        if (strcmp(c->name, "result over 6 MB") == 0) {
            /* aws-lambda-cpp's line (no tab: not among the compared lines), then warm again */
            static const char line[] = "] LAMBDA_RUNTIME Failed to post handler success response. "
                                       "Http response code: 413.\n";
            assert_string_equal(a.error_type, "Function.ResponseSizeTooLarge");
            if (!strstr(a.log_tail, line) || !strstr(b.log_tail, line) ||
                !strstr(a.log_tail, "\n[ERROR] [") || !strstr(b.log_tail, "\n[ERROR] ["))
                fail_msg("the 413 line differs:\n--- ours\n%s--- aws-lambda-ric\n%s", a.log_tail,
                         b.log_tail);
        }
        if (strcmp(c->name, "callback cold") == 0)
            assert_true(a.duration_ms >= 150.0 && b.duration_ms >= 150.0);
        pt_invoke_result_free(&a);
        pt_invoke_result_free(&b);
    }
    tu_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_commonjs_cold_then_warm, require_node),
        cmocka_unit_test_setup(test_esm_top_level_await_in_init, require_node),
        cmocka_unit_test_setup(test_package_type_module, require_node),
        cmocka_unit_test_setup(test_callback_handlers, require_node),
        cmocka_unit_test_setup(test_handler_errors, require_node),
        cmocka_unit_test_setup(test_init_errors, require_node),
        cmocka_unit_test_setup(test_rejection_while_next_is_pending, require_node),
        cmocka_unit_test_setup(test_timeout_then_cold_start, require_node),
        cmocka_unit_test_setup(test_context_fields, require_node),
        cmocka_unit_test_setup(test_output_and_builtins_fallback, require_node),
        cmocka_unit_test_setup(test_console_without_streams, require_node),
        cmocka_unit_test_setup(test_peer_aws_lambda_ric, require_node),
    };
    return cmocka_run_group_tests_name("node", tests, NULL, NULL);
}
