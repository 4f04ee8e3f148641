/*
 * target_lambda.h - the runner's target for functions in AWS or behind `powertune serve`,
 * following the reference tool's protocol (power-tuning.md §6):
 *
 *   create        GetFunctionConfiguration($LATEST): the original MemorySize and Description;
 *                 ListVersionsByFunction: the highest version that existed before the run.
 *   prepare_power UpdateFunctionConfiguration(MemorySize), wait until Successful,
 *                 PublishVersion, point alias RAM<power> at it; with onlyColdStarts num times,
 *                 aliases RAM<power>-<n> on versions made distinct by the Description
 *                 ("<original> - RAM<power>-<n>"), each invoked once.
 *   invoke        Before an alias's first invocation, wait until its version is Active
 *                 (GetFunctionConfiguration(Qualifier=alias), the SDK's FunctionActive waiter as
 *                 the reference's Executor uses it: Pending while Lambda makes the version ready,
 *                 a SnapStart one while its snapshot is made), polling every poll_ms for up to
 *                 update_wait_ms (default 900 s, the reference's), once per alias (with onlyColdStarts every alias, at its
 *                 invocation, so that the versions are made ready side by side meanwhile). A
 *                 Failed version's invocations are failed samples of error type
 *                 Powertune.VersionFailed, not sent (the runner records them and goes on unless
 *                 failFast); a wait that times out stops the run (PT_ETIMEDOUT).
 *                 Invoke <function>:<alias> with LogType Tail; the sample comes from the REPORT
 *                 (duration, billed, init + restore, max memory; no CPU time on Lambda).
 *                 TooManyRequestsException comes back as PT_ETHROTTLED: the runner backs off.
 *   finish_power  DeleteAlias for each alias, then DeleteFunction(Qualifier) for its version,
 *                 unless another alias still points at that version (the reference's #124) or
 *                 the version existed before the run (PublishVersion hands back the latest
 *                 version when nothing changed: it is not ours to delete). An alias that
 *                 existed before the run is pointed back at its version instead of deleted
 *                 (the reference deletes it).
 *   finish        restore MemorySize/Description without publishing (the reference leaks a
 *                 version here), or autoOptimize: set the winner's MemorySize and, with
 *                 autoOptimizeAlias, publish and point that alias at it. A run that ended
 *                 before its first update writes nothing.
 *
 * The journal (journal_dir/<function ARN>.json, locked for the run): the original MemorySize and
 * Description and the aliases the run has pointed, synced before each change depends on it and
 * deleted once $LATEST is restored. The reference keeps its original in the Step Functions
 * state, so a crashed run's tuned size becomes the next run's "original"; here the next run
 * finds the dead run's journal, removes its aliases and versions, and restores its original
 * (pt_lambda_target_notice says so). A live run's lock refuses a second run on the function.
 */
#ifndef PT_TUNE_TARGET_LAMBDA_H
#define PT_TUNE_TARGET_LAMBDA_H

#include <stdbool.h>

#include "aws/client.h"
#include "aws/lambda_api.h"
#include "tune/runner.h"

struct pt_lambda_target_options {
    struct pt_aws_client *client; /* not owned */
    const char *function;         /* FunctionName: name or unqualified ARN */
    long num;                     /* invocations per power (aliases per power with only_cold) */
    bool only_cold_starts;
    long update_wait_ms;          /* bound for each wait (update, Active); <= 0: 300000 for an
                                   * update, 900000 for Active (SnapStart snapshots) */
    long poll_ms;                 /* <= 0: 500 */
    /* Ctrl-C: asked before each prepare and invocation; true -> PT_EINTR, so the runner stops
     * and the caller's finish/destroy still restores the function. NULL: never. */
    bool (*interrupted)(void *arg);
    void *interrupted_arg;
    const char *journal_dir; /* NULL: no journal (no crash recovery, no lock) */
};

struct pt_lambda_target;

int pt_lambda_target_create(struct pt_lambda_target **out,
                            const struct pt_lambda_target_options *o, struct pt_error *err);
/* What the run recovered from an unfinished run's journal, for the user; NULL if nothing. */
const char *pt_lambda_target_notice(const struct pt_lambda_target *t);
/* The versions found Failed instead of Active before their first invocation, for the user:
 * "RAM512 (version 7) is Failed: <StateReasonCode>: <StateReason>; ..."; NULL if none. */
const char *pt_lambda_target_failed_versions(const struct pt_lambda_target *t);
/* The configuration read at create (MemorySize, Description, architecture, ...); the
 * original MemorySize and Description of an unfinished run when its journal was recovered. */
const struct pt_lambda_function_config *pt_lambda_target_original(const struct pt_lambda_target *t);
/*
 * After the run (always call it, also after a failed run, so $LATEST is restored): removes what
 * finish_power left, then restores the original configuration, or with optimize_power > 0
 * applies it (and with optimize_alias publishes a version and points that alias at it;
 * version_out, PT_LAMBDA_VERSION_MAX bytes or NULL, gets the version). The first cleanup error
 * of the run is reported here, with the aliases and versions left behind; a failed restore names
 * the original MemorySize and Description, which the user then has to put back.
 */
int pt_lambda_target_finish(struct pt_lambda_target *t, int optimize_power,
                            const char *optimize_alias, char *version_out, struct pt_error *err);
/* Frees t; if finish was not called, restores the original configuration (best effort). */
void pt_lambda_target_destroy(struct pt_lambda_target *t);
void pt_lambda_target_as_target(struct pt_lambda_target *t, struct pt_target *out);

#endif
