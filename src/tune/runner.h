/*
 * runner.h - runs a tuning: invokes a function at each power value through a
 * target and collects one sample per invocation.
 *
 * The target hides where functions run: the local engine (target_local.c)
 * today, the Lambda API (same code path) for functions in AWS or behind
 * `powertune serve`. The runner owns the reference tool's run loop (series,
 * or num invocations at once with --parallel, capped by --concurrency),
 * pre/post-processors, sleepBetweenRunsMs, onlyColdStarts, and what its users
 * asked for: throttles answered with exponential backoff and jitter (counted),
 * a power value whose invocations fail is recorded and the run goes on (unless
 * fail_fast), every sample streamed to the samples file as it completes, a run
 * resumable from that file, and a clean stop on Ctrl-C (PT_EINTR, samples kept).
 *
 * With in->adaptive (--adaptive) the powers run in rounds instead of one after another:
 * every power is prepared up front (as the reference's Initializer creates every alias), gets
 * a few invocations per round while adaptive.c has not settled it against the current pick
 * (see adaptive.h for the test, the tolerance and the confidence). A target must therefore accept several prepared powers
 * at once; invoke names the power. Without --adaptive nothing changes: prepare, num
 * invocations, finish, one power at a time.
 */
#ifndef PT_TUNE_RUNNER_H
#define PT_TUNE_RUNNER_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "tune/adaptive.h"
#include "tune/tune.h"

/* One invocation as a target reports it. */
struct pt_target_result {
    bool function_error;
    char error_type[PT_TUNE_ERROR_TYPE_MAX]; /* with function_error ("Unhandled" if unknown) */
    char *payload;                           /* response or error document (malloc'd) */
    size_t payload_len;
    double duration_ms;
    double billed_ms;
    double init_ms; /* < 0: warm */
    int max_memory_used_mb;
    double cpu_time_ms; /* 0 when the target cannot tell */
    bool cold_start;
    bool degraded;
    char throttle_reason[64]; /* with PT_ETHROTTLED */
};

struct pt_target_ops {
    /* Makes power ready (local: a fresh function; Lambda: configuration, version, alias). */
    int (*prepare_power)(void *ctx, int power, struct pt_error *err);
    /* One invocation at power; new_environment forces a cold start. PT_ETHROTTLED, PT_EINTR. */
    int (*invoke)(void *ctx, int power, const char *payload, size_t len, bool new_environment,
                  struct pt_target_result *out, struct pt_error *err);
    /* A pre/post-processor (another function, invoked as configured). */
    int (*invoke_processor)(void *ctx, const char *function, const char *payload, size_t len,
                            struct pt_target_result *out, struct pt_error *err);
    /* Power done: release what prepare_power made. */
    void (*finish_power)(void *ctx, int power);
};

struct pt_target {
    const struct pt_target_ops *ops;
    void *ctx;
    const char *description; /* "local engine (cgroup v1 ...)" */
};

void pt_target_result_free(struct pt_target_result *r);

/* Progress, for the bar; called from the runner's threads under its lock. */
struct pt_runner_progress {
    int power;
    size_t power_index, n_powers;
    long done, total; /* invocations of the whole run */
};
typedef void (*pt_runner_progress_fn)(void *arg, const struct pt_runner_progress *p);

struct pt_runner_options {
    int concurrency;             /* cap for parallel invocations; <= 0: 10 */
    int max_throttle_retries;    /* per invocation; <= 0: 8 */
    int backoff_base_ms;         /* first backoff; <= 0: 50 (doubling, capped at 5 s, full jitter) */
    struct pt_samples_writer *samples; /* NULL: none */
    const struct pt_samples_file *resume; /* samples already done (NULL: none) */
    pt_runner_progress_fn progress;
    void *progress_arg;
    /* --adaptive prices the cost strategy's scores with it; NULL: a model built from in's
     * pricing, region ("" = us-east-1), architecture and pricePerGbS. */
    const struct pt_price_model *price;
    /* Ctrl-C, polled during the runner's own pauses (sleepBetweenRunsMs, throttling backoff),
     * which otherwise hold a stop for up to an hour; NULL: never. */
    bool (*interrupted)(void *arg);
    void *interrupted_arg;
};

struct pt_runner_report {
    struct pt_tune_sample *samples; /* resumed ones first, then this run's */
    size_t n_samples;
    long throttles;          /* TooManyRequests answered with a backoff */
    long throttle_failures;  /* invocations given up after max_throttle_retries */
    bool degraded;           /* some invocation ran on the degraded emulation */
    bool aborted;            /* fail_fast stopped the run, or Ctrl-C */
    struct pt_adaptive adaptive; /* with in->adaptive: enabled, what stopped when and why */
};

/*
 * Runs in->num invocations (1 with dryRun) at each power of in->powers (with in->adaptive
 * and not dryRun: up to num, in rounds, until the recommendation is settled). The payload
 * (in->payload, or s3_body when payloadS3 was fetched) is generated per power with
 * pt_tune_payloads_generate. Returns 0 when the run completed (some powers may have failed:
 * see the samples), PT_EINTR on Ctrl-C, the fail-fast error, or an engine/target error; the
 * report holds every sample taken either way (free with pt_runner_report_free).
 */
int pt_runner_run(const struct pt_tune_input *in, const json_t *payload, struct pt_target *target,
                  const struct pt_runner_options *opt, struct pt_runner_report *report,
                  struct pt_error *err);
void pt_runner_report_free(struct pt_runner_report *r);

#endif
