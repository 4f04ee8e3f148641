/*
 * engine.h - the local Lambda: run a function at any memory size the way Lambda does.
 *
 * An engine owns a registry of functions, each with its pool of execution
 * environments (env.h), the cgroup manager (cgroup.h) and the account-wide
 * concurrency count. pt_engine_invoke is Lambda's Invoke: it finds an idle
 * environment of the function or starts one (cold start: INIT with boosted
 * CPU, Init Duration reported once), hands the event over the Runtime API,
 * waits under the function timeout, and reports what Lambda would: the
 * payload or error document, START/END/REPORT lines, Duration, Billed
 * Duration, Max Memory Used, plus CPU time. Beyond the concurrency limits
 * (account, reserved) it fails with PT_ETHROTTLED and Lambda's Reason.
 *
 * Thread-safe: any number of threads may invoke at once; each invocation
 * gets its own environment. pt_engine_shutdown may be called from a signal
 * thread: in-flight invocations end with PT_EINTR and every environment's
 * processes are killed. pt_engine_destroy leaves no process and no cgroup.
 */
#ifndef PT_ENGINE_ENGINE_H
#define PT_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "engine/cgroup.h"
#include "engine/function.h"
#include "engine/limits.h"
#include "engine/report.h"

struct pt_engine;
struct pt_function; /* a registered function (one version of it) */

struct pt_engine_options {
    const char *state_dir;   /* NULL: $POWERTUNE_STATE_DIR, $XDG_STATE_HOME/powertune, ~/.local/state/powertune */
    const char *runtime_dir; /* NULL: $POWERTUNE_RUNTIME_DIR, else <exe dir>/../runtimes */
    const char *python;      /* NULL: $POWERTUNE_PYTHON, else /usr/bin/python3, else python3 on PATH */
    const char *node;        /* NULL: $POWERTUNE_NODE, else /usr/bin/node, else node on PATH */
    const char *region;      /* NULL: $AWS_REGION, $AWS_DEFAULT_REGION, else us-east-1 */
    const char *account_id;  /* NULL: 123456789012 */
    int account_concurrency; /* 0: 1000 */
    int keepalive_ms;        /* idle environments are reclaimed after this; 0: 300000 */
    bool no_init_boost;      /* INIT runs at the function's own CPU share */
    bool no_freeze;          /* do not freeze idle environments (benchmarks compare) */
    bool freeze_immediately; /* freeze in the invoke call, not 2 ms later (benchmarks compare) */
    enum pt_billing_mode billing;
    enum pt_cgroup_kind cgroups;
    size_t output_cap;       /* function output kept per invocation; 0: 8 MiB */
    int init_timeout_ms;     /* INIT limit before the retry in the invoke phase; 0: 10000 (Lambda) */
    bool no_sandbox;         /* as root: skip the mount namespace and the unprivileged user */
    /* As root, the file systems are read-only to functions but for /tmp (as on Lambda) and this
     * directory (borrowed; powertune profile's raw profiles). NULL: none. */
    const char *sandbox_writable_dir;
    /* Called for one-line notices (host caps a memory size, degraded emulation). May be NULL. */
    void (*notice)(void *arg, const char *line);
    void *notice_arg;
};

struct pt_invoke_request {
    const char *payload; /* JSON text; NULL = "{}" */
    size_t payload_len;
    const char *client_context;   /* decoded JSON, or NULL */
    const char *cognito_identity; /* JSON, or NULL */
    const char *trace_id;         /* NULL: the engine makes one, not sampled, as Lambda does */
    const char *qualifier;        /* as invoked (alias or version): Invoked-Function-Arn gets it */
    bool new_environment;         /* always cold: a fresh environment, discarded after use */
    /* Return at the function's response, as Lambda answers its caller, and write the REPORT
     * once the runtime is back at /next: res then has no log tail, and duration_ms/billed_ms
     * run only to the response (serve's Invoke without LogType Tail, Event invocations). */
    bool report_deferred;
    /* The invocation's id, as Lambda's Invoke answers it in x-amzn-RequestId; NULL, or one that is
     * not 1..36 of [0-9A-Za-z-], gets a fresh UUID. */
    const char *request_id;
};

struct pt_invoke_result {
    char request_id[40];
    bool function_error;      /* X-Amz-Function-Error: Unhandled */
    char error_type[128];     /* when function_error */
    char *payload;            /* the response, or the error document (malloc'd) */
    size_t payload_len;
    double duration_ms;
    unsigned long long billed_ms;
    int memory_mb;
    int max_memory_used_mb;
    double init_duration_ms;  /* < 0 when warm */
    bool cold_start;
    double cpu_time_ms;       /* user+system of the environment during the invocation */
    bool degraded;            /* no cgroups: CPU and memory only approximated */
    bool sandboxed;           /* private /tmp, read-only code, no /dev/shm, unprivileged user */
    enum pt_report_status status;
    char executed_version[16];
    char log_tail[PT_LOG_TAIL_BYTES + 1]; /* the invocation's last 4 KB of log */
    size_t log_tail_len;
    char throttle_reason[64]; /* with PT_ETHROTTLED */
};

/* The runtimes directory: option, else $POWERTUNE_RUNTIME_DIR, else the first of
 * <exe dir>/../lib/powertune/runtimes, ../runtimes, ../../runtimes, ../../../runtimes that holds
 * marker (a relative path). out is "" when none does; an error only when the executable's own
 * directory cannot be found. */
int pt_engine_find_runtime_dir(const char *option, const char *marker, char *out, size_t size,
                               struct pt_error *err);

int pt_engine_create(struct pt_engine **out, const struct pt_engine_options *opt,
                     struct pt_error *err);
void pt_engine_destroy(struct pt_engine *e);
void pt_engine_shutdown(struct pt_engine *e);
bool pt_engine_degraded(const struct pt_engine *e);
const char *pt_engine_describe(const struct pt_engine *e);
/* NULL when functions run in Lambda's sandbox; else one line saying what is not isolated (or,
 * sandboxed, what differs: a tmpfs /tmp) and why. */
const char *pt_engine_sandbox_note(const struct pt_engine *e);
/* Whether functions run in the sandbox (sandbox.h), whatever backs its /tmp. */
bool pt_engine_sandboxed(const struct pt_engine *e);
const char *pt_engine_state_dir(const struct pt_engine *e);
const char *pt_engine_region(const struct pt_engine *e);

/* Validates cfg and registers a copy. The function's CPU cap notice (if any) goes to opt->notice. */
int pt_engine_function_add(struct pt_engine *e, const struct pt_function_config *cfg,
                           struct pt_function **out, struct pt_error *err);
/*
 * The same for one published version of a function ("1", "2", ...; NULL or "$LATEST" for
 * the unpublished one): its environments see AWS_LAMBDA_FUNCTION_VERSION, START lines say
 * "Version: <v>" and results carry executed_version. Each registration has its own
 * environments, as each version has on Lambda.
 */
int pt_engine_function_add_version(struct pt_engine *e, const struct pt_function_config *cfg,
                                   const char *version, struct pt_function **out,
                                   struct pt_error *err);
/* Destroys the function's environments and forgets it (no invocation may be in flight). */
void pt_engine_function_remove(struct pt_engine *e, struct pt_function *fn);
const struct pt_function_config *pt_function_config_of(const struct pt_function *fn);

/*
 * Runs one invocation. 0 when the function ran, whatever it returned
 * (res->function_error tells); PT_ETHROTTLED (res->throttle_reason),
 * PT_EINTR (shutdown), or another code when the engine itself failed.
 * On 0, free res with pt_invoke_result_free. It returns once the runtime is
 * back at /next, where Lambda's Duration ends (req->report_deferred: at the
 * response, the REPORT written later).
 */
int pt_engine_invoke(struct pt_engine *e, struct pt_function *fn,
                     const struct pt_invoke_request *req, struct pt_invoke_result *res,
                     struct pt_error *err);
void pt_invoke_result_free(struct pt_invoke_result *res);

/* Counts, for tests and reports. */
struct pt_engine_counts {
    int environments; /* alive */
    int busy;         /* invocations in flight */
    int frozen;       /* idle environments frozen */
    unsigned sandboxes_made_ahead; /* cold starts that entered a spare mount namespace */
};
void pt_engine_counts(struct pt_engine *e, struct pt_engine_counts *out);

#endif
