/*
 * ephemeral.h - a disk-backed /tmp of EphemeralStorage size for each sandboxed environment.
 *
 * Lambda's /tmp is a disk: what a function writes there does not count against MemorySize,
 * and writing past EphemeralStorage fails with ENOSPC. A tmpfs gives the ENOSPC but charges
 * every byte to the function's memory group, and with no swap those pages cannot be reclaimed:
 * a 128 MB function writing 300 MB to /tmp is OOM-killed. So each environment's /tmp is an
 * ext4 file system on a loop device, backed by an unnamed file (O_TMPFILE) under
 * <state dir>/ephemeral; its page cache is reclaimable, as any disk's is.
 *
 * mkfs.ext4 runs once per size (~15 ms) and leaves a sparse template there (~200 KB of
 * blocks); each environment copies the template's data extents and attaches the copy with
 * LOOP_CONFIGURE and LO_FLAGS_AUTOCLEAR. The mount belongs to the environment's mount
 * namespace: when the namespace's last process ends, the file system is unmounted, the loop
 * device detaches itself and the unnamed file is freed, so there is nothing to clean up. After
 * kill -9 of the engine, a runtime left frozen keeps its namespace (and so its /tmp) until the
 * next engine start removes the dead engine's groups and their processes.
 *
 * Where that cannot work (no loop devices, as in most containers; no mkfs.ext4; the state
 * directory itself on tmpfs), /tmp is a tmpfs of the same size and pt_ephemeral_note says why.
 */
#ifndef PT_ENGINE_EPHEMERAL_H
#define PT_ENGINE_EPHEMERAL_H

#include <stddef.h>

#include "base/error.h"

struct pt_ephemeral;

/* Probes loop devices, mkfs.ext4 and the directory; only errors in memory end in < 0 (the
 * rest choose the tmpfs, with a note). */
int pt_ephemeral_open(struct pt_ephemeral **out, const char *state_dir, struct pt_error *err);
void pt_ephemeral_free(struct pt_ephemeral *e); /* e may be NULL */

/* NULL when /tmp is disk-backed; else one line saying why it is memory. */
const char *pt_ephemeral_note(const struct pt_ephemeral *e);

/* The template for a /tmp of mb MiB (512..10240), made now if missing (thread-safe): its path
 * into out, or "" when /tmp is a tmpfs. */
int pt_ephemeral_template(struct pt_ephemeral *e, int mb, char *out, size_t size,
                          struct pt_error *err);

/* The state directory's free space in MiB when it is less than mb (one environment's /tmp could
 * not be filled: writes past the host's free space are lost, only fsync says ENOSPC); else 0,
 * and always 0 when /tmp is a tmpfs. */
unsigned long long pt_ephemeral_short_of(const struct pt_ephemeral *e, int mb);

/*
 * In the runtime's child (system calls only): a private copy of template, attached to a free
 * loop device and mounted at target (mode 1777, empty). NULL, or what failed.
 */
const char *pt_ephemeral_mount(const char *template_path, const char *target);
/*
 * The same in two steps: the copy (an unnamed file beside the template: its descriptor, or -1
 * and *why), then its mount (the descriptor stays the caller's). The sandbox makes the copy
 * before its mount namespace: the loop device keeps the copy open for writing, and a file open
 * for writing through a mount of the namespace keeps that mount from being made read-only.
 */
int pt_ephemeral_copy(const char *template_path, const char **why);
const char *pt_ephemeral_mount_copy(int image, const char *target);

#endif
