/*
 * target_local.h - the runner's target for functions in the local engine.
 *
 * Each power value gets its own registration of the function (a copy of its
 * configuration at that MemorySize), so it starts on fresh environments as a
 * new version does on Lambda; finish_power forgets it and its environments.
 * Several powers may be prepared at once (--adaptive runs them in rounds).
 * Pre/post-processors are other local functions, registered once at their own
 * configuration.
 */
#ifndef PT_TUNE_TARGET_LOCAL_H
#define PT_TUNE_TARGET_LOCAL_H

#include "engine/engine.h"
#include "tune/runner.h"

struct pt_local_target;

int pt_local_target_create(struct pt_local_target **out, struct pt_engine *engine,
                           const struct pt_function_config *base, struct pt_error *err);
/* Registers a processor function (a code directory) so invoke_processor can find it. */
int pt_local_target_add_processor(struct pt_local_target *t, const char *function,
                                  const struct pt_function_config *cfg, struct pt_error *err);
void pt_local_target_destroy(struct pt_local_target *t);
/* The runner's view of it. */
void pt_local_target_as_target(struct pt_local_target *t, struct pt_target *out);

#endif
