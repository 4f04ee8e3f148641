/*
 * cgroup_internal.h - what the manager (cgroup.c) and the three backends
 * (cgroup_v1.c, cgroup_v2.c, cgroup_none.c) share. Not for other modules:
 * they see only the opaque types of cgroup.h.
 *
 * The manager resolves the hierarchies and the instance name once, then
 * dispatches every call through the backend's ops table; a manager is
 * read-only after open except for its one spare group (under spare_mu), which
 * is what lets several threads create groups on it without a lock.
 */
#ifndef PT_ENGINE_CGROUP_INTERNAL_H
#define PT_ENGINE_CGROUP_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"
#include "engine/cgroup.h"

#define PT_CG_DIR "powertune"
#define PT_CG_NAME_MAX 64
#define PT_CG_INSTANCE_MAX 48
#define PT_CG_DESCRIBE_MAX 1200
/* How long kill_all and the stale cleanup wait for a group to empty. */
#define PT_CG_KILL_WAIT_MS 2000
#define PT_CG_KILL_POLL_MS 5

/* v1 controllers powertune uses; co-mounted ones (cpu,cpuacct) share a hierarchy. */
enum pt_cg_v1_ctl {
    PT_CG_V1_CPU = 0,
    PT_CG_V1_CPUACCT,
    PT_CG_V1_MEMORY,
    PT_CG_V1_PIDS,
    PT_CG_V1_FREEZER,
    PT_CG_V1_NCTL,
};

/* At most one hierarchy per controller; v2 and none use slot 0 or nothing. */
#define PT_CG_MAX_HIER PT_CG_V1_NCTL

struct pt_cgroup_ops {
    const char *name;
    /* Creates (or reuses) <hier>/powertune/<instance> in every hierarchy. */
    int (*open_instance)(struct pt_cgroup_manager *m, struct pt_error *err);
    /* Removes stale instances of dead engines under <hier>/powertune. */
    void (*cleanup_stale)(struct pt_cgroup_manager *m);
    /* Kills and removes this instance's groups and directories. */
    void (*close_instance)(struct pt_cgroup_manager *m);
    int (*create)(struct pt_cgroup *cg, const struct pt_cgroup_limits *lim, struct pt_error *err);
    /* Applies limits to a group create made with none. NULL = no spare groups (none backend). */
    int (*set_limits)(struct pt_cgroup *cg, const struct pt_cgroup_limits *lim,
                      struct pt_error *err);
    int (*set_cpu)(struct pt_cgroup *cg, unsigned long long quota_us,
                   unsigned long long period_us, struct pt_error *err);
    int (*enter_child)(const struct pt_cgroup *cg);
    int (*adopt)(struct pt_cgroup *cg, pid_t leader, struct pt_error *err);
    int (*freeze)(struct pt_cgroup *cg, bool frozen, struct pt_error *err);
    /* Only the CPU counter (cheap: read before every invocation). NULL = use read_stats. */
    int (*read_cpu)(struct pt_cgroup *cg, unsigned long long *ns, struct pt_error *err);
    int (*read_stats)(struct pt_cgroup *cg, struct pt_cgroup_stats *out, struct pt_error *err);
    /* NULL = the backend cannot (none). */
    int (*reset_peak)(struct pt_cgroup *cg, struct pt_error *err);
    int (*kill_all)(struct pt_cgroup *cg, struct pt_error *err);
    /* Releases what create acquired (dirs, fds, threads); the manager frees cg. */
    int (*destroy)(struct pt_cgroup *cg, struct pt_error *err);
};

/* The none backend: pgid's processes are to be killed by the sentry if the engine dies
 * (watched), or no longer (their group is gone). Lock-free; one write to a pipe. */
void pt_cgroup_sentry_watch(struct pt_cgroup_manager *m, pid_t pgid, bool watched);

extern const struct pt_cgroup_ops pt_cgroup_v1_ops;
extern const struct pt_cgroup_ops pt_cgroup_v2_ops;
extern const struct pt_cgroup_ops pt_cgroup_none_ops;

struct pt_cgroup_manager {
    enum pt_cgroup_kind kind;
    const struct pt_cgroup_ops *ops;
    bool fake_tree;
    bool degraded;
    char instance[PT_CG_INSTANCE_MAX];
    char describe[PT_CG_DESCRIBE_MAX];
    /* v1: mount point of each controller's hierarchy ("" = not mounted). */
    char v1_mount[PT_CG_V1_NCTL][PATH_MAX];
    /* v1: controller -> index into hier[] (-1 = not mounted). */
    int v1_hier_of[PT_CG_V1_NCTL];
    /* Distinct hierarchies (v1) or the unified root (v2, nhier = 1). */
    int nhier;
    char hier[PT_CG_MAX_HIER][PATH_MAX];
    /* <hier>/powertune/<instance>, same order as hier[]. */
    char inst_dir[PT_CG_MAX_HIER][PATH_MAX];
    /* v2: usable without cpu and memory, for tests (cgroup.h). */
    bool v2_any_controllers;
    /* v2: the hierarchy is a group delegated to this user, not the root (cgroup.h). */
    bool v2_delegated;
    /* v2: "+cpu +memory +pids" limited to what the root offers. */
    char v2_enable[64];
    /* The child that cleans up after an engine killed without closing (cgroup.c; 0: none),
     * and for the none backend the pipe telling it which process groups to kill (-1: none). */
    pid_t sentry;
    int sentry_groups_fd;
    /* A group made ahead of need by pt_cgroup_prepare_spare (NULL: none). */
    pthread_mutex_t spare_mu;
    struct pt_cgroup *spare;
    bool spare_making;
    unsigned spare_seq;
};

#define PT_CG_STAT_SLOTS 4
#define PT_CG_WRITE_SLOTS 2

struct pt_cgroup {
    struct pt_cgroup_manager *m;
    char name[PT_CG_NAME_MAX + 1];
    /* Group directory per hierarchy (same order as m->hier[]). */
    int ndirs;
    char dir[PT_CG_MAX_HIER][PATH_MAX];
    /* cgroup.procs per hierarchy, opened at create so enter_child only writes. */
    int procs_fd[PT_CG_MAX_HIER];
    /*
     * Accounting files kept open between reads: pread at offset 0 regenerates
     * a cgroupfs file for 0.7 us, where open+read+close costs 7 us, and the
     * engine reads them around every invocation. Slots are the backend's.
     */
    int stat_fd[PT_CG_STAT_SLOTS];
    /*
     * The same for the files written around invocations (the CPU quota at INIT's end, the
     * freezer before and after each one): pwrite at offset 0, where open+write+close cost
     * ~20-40 us more on the runtime's first /next. Slots are the backend's.
     */
    int write_fd[PT_CG_WRITE_SLOTS];
    struct pt_cgroup_limits lim;
    /* What the kernel holds now; 0 quota = unlimited. */
    unsigned long long quota_us;
    unsigned long long period_us;
    /* v2 without memory.peak (known at the first read_stats): highest memory.current seen there. */
    bool peak_sampled;
    unsigned long long sampled_peak;
    /* none: the duty-cycle thread and what it needs. */
    pid_t leader;
    bool thread_started;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool mu_init;
    bool frozen;
    bool stop;
    struct pt_cgroup_stats last; /* none: stats once /proc/<leader> is gone */
};

/* Helpers shared by the backends (cgroup.c). */

/* mkdir that accepts an existing directory; PT_EPERM for EACCES/EPERM/EROFS. */
int pt_cgroup_mkdir(const char *path, struct pt_error *err);
/* Creates <hier>/powertune and inst_dir (= <hier>/powertune/<instance>). */
int pt_cgroup_mkdir_instance(const char *hier, const char *inst_dir, struct pt_error *err);
/* Opens <cg->dir[i]>/cgroup.procs write-only into cg->procs_fd[i]. */
int pt_cgroup_open_procs(struct pt_cgroup *cg, int i, const char *file, struct pt_error *err);
void pt_cgroup_close_fds(struct pt_cgroup *cg);
/* Async-signal-safe: writes getpid() to fd. 0 or -errno. */
int pt_cgroup_write_self_pid(int fd);
/* "<a>/<b>" into out (PATH_MAX); PT_ELIMIT when too long. */
int pt_cgroup_path(char *out, const char *a, const char *b, struct pt_error *err);
bool pt_cgroup_exists(const char *dir, const char *file);
/* Writes s to <dir>/<file>. */
int pt_cgroup_write(const char *dir, const char *file, const char *s, struct pt_error *err);
/* The same through cg->write_fd[slot], opened at the first write and kept (pwrite at 0). */
int pt_cgroup_write_kept(struct pt_cgroup *cg, int slot, const char *dir, const char *file,
                         const char *s, struct pt_error *err);
/*
 * Reads <dir>/<file> as one unsigned integer ("max" is refused). fd may be
 * NULL (open, read, close) or a stat_fd slot (opened once, then pread).
 */
int pt_cgroup_read_u64(int *fd, const char *dir, const char *file, unsigned long long *out,
                       struct pt_error *err);
/* Finds the line "<key> <n>" in <dir>/<file>; PT_ENOTFOUND when absent, PT_EPROTO when garbled. */
int pt_cgroup_read_keyed(int *fd, const char *dir, const char *file, const char *key,
                         unsigned long long *out, struct pt_error *err);
/*
 * SIGKILLs every pid listed in the cgroup.procs of each dir, again and again,
 * until all are empty or PT_CG_KILL_WAIT_MS passes (PT_ETIMEDOUT).
 */
int pt_cgroup_kill_and_wait(char dirs[][PATH_MAX], int ndirs, struct pt_error *err);
/*
 * Removes dir and every cgroup below it: thaws top-down (a v1 child stays
 * frozen while its parent is), then kills the processes and rmdirs bottom-up.
 * With fake_tree nothing is signalled and regular files are unlinked first.
 */
int pt_cgroup_remove_tree(const char *dir, bool fake_tree, struct pt_error *err);
/*
 * For each "<pid>-<start>" entry of <hier>/powertune whose owner is gone,
 * removes the tree (pt_cgroup_remove_tree). Live and foreign entries are kept.
 */
void pt_cgroup_cleanup_stale_in(const char *hier, const char *own_instance);
/* Removes <hier>/powertune/<instance> and, if then empty, <hier>/powertune. */
void pt_cgroup_remove_instance(const char *hier, const char *inst_dir, bool fake_tree);

#endif
