/*
 * sandbox.h - Lambda's sandbox for one execution environment (root only).
 *
 * A private mount namespace with a /tmp of EphemeralStorage size (disk-backed: ephemeral.h;
 * a tmpfs where that cannot be had), a read-only code
 * directory, a minimal /dev without /dev/shm (so Python's multiprocessing.Pool fails as on
 * Lambda: glibc 2.36 says ENOENT, the source article's older glibc said ENOSYS), and an
 * unprivileged user. pt_sandbox_enter runs in the runtime's child between
 * clone and exec, so it makes system calls only (no malloc, no stdio, no locks).
 *
 * Building the namespace is ~0.2 ms of each cold start's critical path (unshare, a dozen
 * mounts and nodes). So a spare is made ahead, as the spare cgroup is: asked for right after a
 * runtime's exec, for the same code directory, runtime directory and /tmp size, and built by
 * the spare's own thread through a helper process that leaves only the namespace's
 * descriptor; the next cold start of the same function takes it, and its child enters it with
 * one setns (its /tmp's loop device attached and mounted too, ~1 ms more off the critical
 * path). A spare for anything else (or whose code directory was replaced since), or one
 * not finished yet, is not used: the child builds its own.
 */
#ifndef PT_ENGINE_SANDBOX_H
#define PT_ENGINE_SANDBOX_H

#include <stdbool.h>

#include "base/error.h"

struct pt_sandbox {
    bool enabled;
    unsigned uid;
    unsigned gid;
};

/* What one environment's mount namespace is made of (the strings are borrowed). */
struct pt_sandbox_spec {
    const char *code_dir;    /* bound read-only at its own path */
    const char *runtime_dir; /* kept visible when it lies under /tmp */
    const char *tmp_image;   /* the /tmp template (pt_ephemeral_template); NULL or "": tmpfs */
    const char *tmp_opts;    /* the tmpfs /tmp's mount options: "size=512m,mode=1777" */
};

/*
 * In the runtime's child: enters ns_fd (a namespace from pt_sandbox_spare_take), or builds the
 * namespace when ns_fd < 0, then drops to the unprivileged user. NULL, or what failed.
 */
const char *pt_sandbox_enter(const struct pt_sandbox *sb, const struct pt_sandbox_spec *spec,
                             int ns_fd);

/* One namespace made ahead, by a thread of its own; thread-safe. */
struct pt_sandbox_spare;

int pt_sandbox_spare_new(struct pt_sandbox_spare **out, struct pt_error *err);
void pt_sandbox_spare_free(struct pt_sandbox_spare *s); /* s may be NULL */
/* Asks for a namespace for spec unless one is kept or on its way; returns at once (the spec is
 * copied). An optimization: a build that fails just leaves no spare. */
int pt_sandbox_spare_prepare(struct pt_sandbox_spare *s, const struct pt_sandbox_spec *spec,
                             struct pt_error *err);
/* Waits until no spare is asked for or being built (tests, benchmarks). */
void pt_sandbox_spare_settle(struct pt_sandbox_spare *s);
/* The kept namespace's descriptor (close-on-exec, the caller's to close) if it was made for
 * spec and the directories are still the ones it holds; else -1, and a kept one is dropped. */
int pt_sandbox_spare_take(struct pt_sandbox_spare *s, const struct pt_sandbox_spec *spec);
/* Spares taken so far (tests, benchmarks). */
unsigned pt_sandbox_spare_taken(struct pt_sandbox_spare *s);

#endif
