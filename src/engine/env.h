/*
 * env.h - one execution environment: a runtime process tree in its own cgroup.
 *
 * Lifecycle, as on Lambda: pt_env_start takes the environment's own uid when
 * sandboxed (sandbox.h; pt_env_destroy gives it back once its cgroup is gone),
 * creates the cgroup (CPU quota
 * boosted to two full vCPUs for INIT unless disabled, no quota where that
 * is the whole host), the Runtime API
 * server and the log stream, and starts the runtime; it does not wait. The
 * first pt_env_invoke waits for INIT (the runtime's first GET /next, at most
 * 10 s), drops the CPU to the function's share, and runs the invocation. An
 * INIT that fails or passes 10 s is reported (INIT_REPORT) and retried once
 * inside the invocation, under the function timeout ("suppressed init").
 * Between invocations the runtime is frozen. A timeout, a crash or an OOM
 * kill resets the environment in place, as on Lambda: its runtime is killed,
 * its cgroup (memory peak restarted), log stream and /tmp stay, and the next
 * invocation starts a new runtime (a cold start). Where the peak cannot be
 * restarted (cgroup v2 before Linux 6.12) an OOM-killed environment is
 * unusable instead, and the pool destroys it, as one whose runtime died idle.
 *
 * One thread at a time uses an environment (its pool guarantees it).
 */
#ifndef PT_ENGINE_ENV_H
#define PT_ENGINE_ENV_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "engine/cgroup.h"
#include "engine/engine.h"
#include "engine/function.h"
#include "engine/ephemeral.h"
#include "engine/sandbox.h"

struct pt_env_config {
    struct pt_cgroup_manager *cgroups;
    const struct pt_function_config *fn; /* borrowed: outlives the environment */
    const char *version;                 /* "$LATEST" */
    char *const *argv;                   /* runtime command, argv[0] an absolute path */
    char *const *envp;                   /* without AWS_LAMBDA_RUNTIME_API and the stream name */
    const char *log_dir;                 /* <state>/logs/<function> */
    const char *runtime_dir;             /* runtimes/ (kept visible in the sandbox) */
    int host_cpus;
    bool init_boost;
    bool freeze;
    bool freeze_immediately; /* in the invoke call, rather than by the engine's janitor */
    /* The runtime also gets a connected Runtime API socket as descriptor 3, named by
     * _POWERTUNE_RUNTIME_API_FD (our Python client: see pt_rapi_add_connection). */
    bool hand_connection;
    enum pt_billing_mode billing;
    size_t output_cap;
    int init_timeout_ms;
    struct pt_sandbox sandbox;
    struct pt_sandbox_spare *sandbox_spare; /* NULL: every cold start builds its namespace */
    struct pt_ephemeral *ephemeral;         /* NULL: /tmp is a tmpfs */
    int abort_fd; /* readable once the engine shuts down */
};

struct pt_env_invocation {
    const char *request_id;
    const char *payload;
    size_t payload_len;
    const char *invoked_arn;
    const char *trace_id;
    const char *client_context;
    const char *cognito_identity;
    /* The caller needs no REPORT (nor Duration, nor log tail): the call returns at the result,
     * as Lambda answers its caller at the response, and the REPORT is written once the runtime
     * is back at /next (res's duration_ms then runs only to the response). */
    bool report_deferred;
};

struct pt_env;

int pt_env_start(struct pt_env **out, const struct pt_env_config *cfg, unsigned id,
                 struct pt_error *err);
/*
 * Runs one invocation; 0 when the function ran (res filled), PT_EINTR on shutdown, else an
 * engine error. It returns once the runtime is back at /next (its Duration ends there), or
 * with inv->report_deferred at the result, the REPORT kept until the runtime is back:
 * pt_env_settle (or the janitor's pt_env_freeze_idle, or pt_env_destroy) writes it, and must
 * see the runtime there before the next invocation.
 */
int pt_env_invoke(struct pt_env *env, const struct pt_env_invocation *inv,
                  struct pt_invoke_result *res, struct pt_error *err);
bool pt_env_usable(const struct pt_env *env);
enum pt_env_settled {
    PT_ENV_GONE,  /* cannot take another invocation */
    PT_ENV_READY, /* parked on /next, or reset (the next invocation starts a new runtime) */
    PT_ENV_BUSY,  /* alive but not back on /next, within its last invocation's timeout */
};
/*
 * Waits (at most a second from the previous result) for the runtime to park on /next again
 * or to exit. Lambda's invoke phase lasts until the runtime asks for the next event, under the
 * function timeout: a runtime still away past its last invocation's deadline is reset (killed;
 * the next invocation starts cold in the environment), one within it is busy (Lambda would
 * give the event to another environment).
 */
enum pt_env_settled pt_env_settle(struct pt_env *env);
/* False once the runtime process has exited (checked without blocking). */
bool pt_env_alive(struct pt_env *env);
/* Freezes an idle environment whose runtime waits on /next; true if it is frozen now, or has
 * no runtime to freeze (reset: the next invocation starts one). */
bool pt_env_freeze_idle(struct pt_env *env);
bool pt_env_frozen(const struct pt_env *env);
int64_t pt_env_last_used_ns(const struct pt_env *env);
void pt_env_destroy(struct pt_env *env);

#endif
