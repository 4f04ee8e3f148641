/*
 * cgroup.h - per-environment resource control: one interface, three backends.
 *
 * Each execution environment lives in its own group: CPU quota (CFS
 * quota/period), memory limit, pids limit, a freezer, and accounting (CPU
 * time, memory peak, OOM kills). The backends:
 *   - cgroup v1 (cpu, cpuacct, memory, pids, freezer hierarchies), found
 *     from /proc/self/mountinfo;
 *   - cgroup v2 (unified hierarchy: cpu.max, memory.max, pids.max,
 *     cgroup.freeze, cgroup.kill, cpu.stat, memory.peak, memory.events);
 *   - "none", the unprivileged fallback: CPU by a SIGSTOP/SIGCONT duty cycle
 *     on the environment's process group, memory by rlimit. It is marked
 *     degraded, and every report says so.
 * On v2 without the right to create groups at the root (not root), a group
 * delegated to the user will do (systemd's Delegate=yes, which
 * `systemd-run --user --scope -p Delegate=yes powertune ...` gives): the
 * engine moves itself into <own>/powertune-engine, since a v2 group hands
 * controllers to its children only while it holds no process, and uses <own>
 * as its hierarchy. Only when both fail does AUTO fall back to "none".
 * All groups live under <hierarchy>/powertune/<instance>/<name>, where
 * <instance> = "<pid>-<process start time>" of the engine, so two engines can
 * run side by side and a crashed engine's groups are recognised as stale
 * (owner gone) and removed, processes first, by the next manager_open. Sooner
 * than that, by the engine's sentry: a child forked by manager_open (Linux 5.3's
 * pidfd) that removes them as soon as the engine dies without closing (kill -9);
 * with the none backend, which has no groups to find, it is told of each
 * process group and SIGKILLs them (stopped ones would otherwise stay stopped).
 * manager_close kills and reaps it first.
 *
 * Threading: a manager may be used from several threads; one pt_cgroup is
 * used by one thread at a time (its environment's owner).
 */
#ifndef PT_ENGINE_CGROUP_H
#define PT_ENGINE_CGROUP_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"

enum pt_cgroup_kind {
    PT_CGROUP_AUTO = 0, /* v2 if the unified hierarchy has cpu+memory, else v1, else none */
    PT_CGROUP_V1,
    PT_CGROUP_V2,
    PT_CGROUP_NONE,
};

struct pt_cgroup_limits {
    unsigned long long cpu_quota_us;  /* runtime per period; 0 = no CPU limit */
    /* CFS period; 0 = the default. Given without a quota (INIT's boost on a small host: no
     * limit), it is set all the same, so that the quota set after INIT is one write. */
    unsigned long long cpu_period_us;
    unsigned long long memory_bytes;  /* hard limit; 0 = none */
    unsigned long pids_max;           /* 0 = none */
};

struct pt_cgroup_stats {
    unsigned long long cpu_usage_ns;      /* user+system of all processes, since creation */
    unsigned long long memory_peak_bytes; /* high-water mark since creation */
    unsigned long long memory_current_bytes;
    unsigned long long oom_kills;         /* OOM-killer kills inside the group since creation */
};

struct pt_cgroup_manager_options {
    enum pt_cgroup_kind kind;
    const char *v1_root;   /* NULL = from /proc/self/mountinfo; tests pass a fake tree */
    const char *v2_root;   /* NULL = the cgroup2 mount from mountinfo; tests pass a fake tree */
    const char *instance;  /* NULL = "<pid>-<start time>" of this process */
    /*
     * Tests on a real cgroup2 mount that lacks cpu and memory (a v1 machine's
     * /sys/fs/cgroup/unified): v2 is usable with whatever controllers its root offers, for
     * the kernel's own files (cgroup.procs, cgroup.freeze, cgroup.kill, cpu.stat), delegation
     * and enabling controllers. Groups then take no CPU or memory limits.
     */
    bool v2_any_controllers;
    /* v2: this process's own group, relative to the root, as /proc/self/cgroup's "0::" line
     * gives it; NULL = from there (tests on a fake tree pass one). See "delegated" above. */
    const char *v2_self;
    /*
     * Tests on a fake tree (plain files in a temp dir): no stale cleanup, no
     * signals to pids listed in the tree's files, cgroup.procs is created if
     * missing, and removal unlinks regular files so rmdir works.
     */
    bool fake_tree;
};

struct pt_cgroup_manager;
struct pt_cgroup;

int pt_cgroup_manager_open(struct pt_cgroup_manager **out,
                           const struct pt_cgroup_manager_options *opt, struct pt_error *err);
enum pt_cgroup_kind pt_cgroup_manager_kind(const struct pt_cgroup_manager *m);
/* One line: which backend and where, or why the fallback was chosen. */
const char *pt_cgroup_manager_describe(const struct pt_cgroup_manager *m);
bool pt_cgroup_manager_degraded(const struct pt_cgroup_manager *m);
/* Kills anything left in this instance's groups and removes the instance directories. */
void pt_cgroup_manager_close(struct pt_cgroup_manager *m);

int pt_cgroup_create(struct pt_cgroup_manager *m, const char *name,
                     const struct pt_cgroup_limits *lim, struct pt_cgroup **out,
                     struct pt_error *err);
/*
 * Makes one group ahead of need, which the next pt_cgroup_create takes instead of making its
 * own: the directories in every hierarchy cost ~0.3 ms (v1, five mkdirs and opens), which would
 * otherwise sit on a cold start's critical path. The engine calls it right after a runtime's
 * exec, while that runtime is starting and its own thread would only wait. `likely` (NULL:
 * none) are the limits the next create will probably ask for (the same function's next cold
 * start): they are applied now, and a create asking for exactly them writes no limit file; other
 * limits are rewritten when it is taken. Not made twice at once, nor when one is waiting; the
 * none backend has no groups to make. A taken spare keeps its directory's name, "spare-<n>".
 */
int pt_cgroup_prepare_spare(struct pt_cgroup_manager *m, const struct pt_cgroup_limits *likely,
                            struct pt_error *err);
int pt_cgroup_set_cpu(struct pt_cgroup *cg, unsigned long long quota_us,
                      unsigned long long period_us, struct pt_error *err);
/*
 * Runs in the forked child, before exec: moves the calling process into the
 * group (and, for "none", applies the rlimits). Async-signal-safe: only
 * write(2) on descriptors the parent opened at create time, setrlimit(2).
 * Returns 0 or -errno.
 */
int pt_cgroup_enter_child(const struct pt_cgroup *cg);
/* Runs in the parent after fork: tells the group its leader (for "none": the duty cycle). */
int pt_cgroup_adopt(struct pt_cgroup *cg, pid_t leader, struct pt_error *err);
/* Freezes (true) or thaws (false) every process of the group. Does not wait for FROZEN. */
int pt_cgroup_freeze(struct pt_cgroup *cg, bool frozen, struct pt_error *err);
/* The first call opens the accounting files, later ones only pread them (cgroup_internal.h). */
int pt_cgroup_read_stats(struct pt_cgroup *cg, struct pt_cgroup_stats *out, struct pt_error *err);
/* Opens the accounting files ahead (they stay open): later reads are preads only. */
int pt_cgroup_open_stats(struct pt_cgroup *cg, struct pt_error *err);
/* Only the CPU counter (user+system ns): what the engine reads before every invocation. */
int pt_cgroup_read_cpu(struct pt_cgroup *cg, unsigned long long *ns, struct pt_error *err);
/*
 * Restarts the memory peak from the group's current usage, for an environment reset in place
 * after a crash, a timeout or an OOM kill (its peak would otherwise stay the old runtime's, at
 * the limit after an OOM kill, in every later REPORT). v1
 * writes memory.max_usage_in_bytes; v2 writes memory.peak, which Linux 6.12 made writable (the
 * restart holds for reads through the descriptor written to, which read_stats then keeps);
 * v2 without memory.peak forgets its sampled peak. Fails where the kernel cannot (v2 before
 * 6.12) and on the none backend, which never counts an OOM kill: the engine then replaces
 * the environment instead.
 */
int pt_cgroup_reset_peak(struct pt_cgroup *cg, struct pt_error *err);
/* SIGKILLs every process in the group (thawing first) and waits, bounded, until it is empty. */
int pt_cgroup_kill_all(struct pt_cgroup *cg, struct pt_error *err);
/* kill_all, then removes the group's directories and frees cg. cg may be NULL. */
int pt_cgroup_destroy(struct pt_cgroup *cg, struct pt_error *err);

#endif
