/*
 * cgroup_v1.c - the backend for separate v1 hierarchies (cpu, cpuacct,
 * memory, pids, freezer; cpu and cpuacct possibly co-mounted). A group is
 * one directory per distinct hierarchy, all with the same relative path.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/str.h"
#include "engine/cgroup_internal.h"
#include "engine/limits.h"

/* The kernel's default CFS period, which a new group starts with. */
#define CGROUP_V1_DEFAULT_PERIOD_US 100000ULL

static const char *cgroup_v1_dir(const struct pt_cgroup *cg, enum pt_cg_v1_ctl c)
{
    int h = cg->m->v1_hier_of[c];
    return h >= 0 ? cg->dir[h] : NULL;
}

/*
 * The v1 freezer flips a global static key (live code patching, 100+ us per
 * write here) whenever the number of freezing groups goes between 0 and 1.
 * An empty group kept FROZEN for the instance's lifetime holds the key on, so
 * freezing and thawing an environment between invocations costs 16 and 8 us.
 */
#define V1_FREEZER_ANCHOR "freezer-anchor"

static int cgroup_v1_open_instance(struct pt_cgroup_manager *m, struct pt_error *err)
{
    for (int h = 0; h < m->nhier; h++) {
        int rc = pt_cgroup_mkdir_instance(m->hier[h], m->inst_dir[h], err);
        if (rc)
            return rc;
    }
    int fh = m->v1_hier_of[PT_CG_V1_FREEZER];
    if (fh >= 0 && !m->fake_tree) {
        char anchor[PATH_MAX];
        int rc = pt_cgroup_path(anchor, m->inst_dir[fh], V1_FREEZER_ANCHOR, err);
        if (!rc)
            rc = pt_cgroup_mkdir(anchor, err);
        if (!rc)
            rc = pt_cgroup_write(anchor, "freezer.state", "FROZEN", err);
        if (rc)
            return rc;
    }
    return 0;
}

static void cgroup_v1_cleanup_stale(struct pt_cgroup_manager *m)
{
    /* hier[] starts with the freezer, so stale groups are thawed before others wait on them. */
    for (int h = 0; h < m->nhier; h++)
        pt_cgroup_cleanup_stale_in(m->hier[h], m->instance);
}

static void cgroup_v1_close_instance(struct pt_cgroup_manager *m)
{
    int fh = m->v1_hier_of[PT_CG_V1_FREEZER];
    if (fh >= 0 && !m->fake_tree) {
        char anchor[PATH_MAX];
        if (pt_cgroup_path(anchor, m->inst_dir[fh], V1_FREEZER_ANCHOR, NULL) == 0) {
            pt_cgroup_write(anchor, "freezer.state", "THAWED", NULL);
            rmdir(anchor);
        }
    }
    for (int h = 0; h < m->nhier; h++)
        pt_cgroup_remove_instance(m->hier[h], m->inst_dir[h], m->fake_tree);
}

/* write_fd slots */
enum { V1_W_QUOTA, V1_W_FREEZER };

/*
 * The kernel checks quota/period against the parent's and children's ratios
 * after each single write, so the intermediate state must be valid too: when
 * the period grows, writing it first only lowers the ratio (old quota / new
 * period); when it shrinks, writing the quota first does (new quota / old
 * period). Either way the intermediate ratio is below the old or the new one.
 */
static int cgroup_v1_set_cpu(struct pt_cgroup *cg, unsigned long long quota_us,
                             unsigned long long period_us, struct pt_error *err)
{
    const char *dir = cgroup_v1_dir(cg, PT_CG_V1_CPU);
    char q[32], p[32];
    if (quota_us)
        snprintf(q, sizeof(q), "%llu", quota_us);
    else
        pt_strlcpy(q, "-1", sizeof(q));
    snprintf(p, sizeof(p), "%llu", period_us);
    int rc;
    if (period_us == cg->period_us) {
        /* The usual change (INIT boost on and off): the period stays, one write. */
        if (quota_us == cg->quota_us)
            return 0;
        rc = pt_cgroup_write_kept(cg, V1_W_QUOTA, dir, "cpu.cfs_quota_us", q, err);
    } else if (period_us > cg->period_us) {
        rc = pt_cgroup_write(dir, "cpu.cfs_period_us", p, err);
        if (!rc)
            rc = pt_cgroup_write_kept(cg, V1_W_QUOTA, dir, "cpu.cfs_quota_us", q, err);
    } else {
        rc = pt_cgroup_write_kept(cg, V1_W_QUOTA, dir, "cpu.cfs_quota_us", q, err);
        if (!rc)
            rc = pt_cgroup_write(dir, "cpu.cfs_period_us", p, err);
    }
    if (rc)
        return rc;
    cg->quota_us = quota_us;
    cg->period_us = period_us;
    return 0;
}

static int cgroup_v1_set_limits(struct pt_cgroup *cg, const struct pt_cgroup_limits *lim,
                                struct pt_error *err)
{
    char num[32];
    int rc = 0;
    if (lim->cpu_quota_us || lim->cpu_period_us) {
        unsigned long long period = lim->cpu_period_us ? lim->cpu_period_us : PT_CFS_PERIOD_US;
        rc = cgroup_v1_set_cpu(cg, lim->cpu_quota_us, period, err);
        if (rc)
            return rc;
    }
    const char *mem = cgroup_v1_dir(cg, PT_CG_V1_MEMORY);
    if (lim->memory_bytes) {
        snprintf(num, sizeof(num), "%llu", lim->memory_bytes);
        /* memsw must stay >= the memory limit (equal means no swap): it goes second, unless the
         * group already has a lower limit (a spare made for other limits): then first. */
        bool has_memsw = pt_cgroup_exists(mem, "memory.memsw.limit_in_bytes");
        bool raise = cg->lim.memory_bytes && lim->memory_bytes > cg->lim.memory_bytes;
        if (has_memsw && raise)
            rc = pt_cgroup_write(mem, "memory.memsw.limit_in_bytes", num, err);
        if (!rc)
            rc = pt_cgroup_write(mem, "memory.limit_in_bytes", num, err);
        if (!rc && has_memsw && !raise)
            rc = pt_cgroup_write(mem, "memory.memsw.limit_in_bytes", num, err);
        if (rc)
            return rc;
    }
    const char *pids = cgroup_v1_dir(cg, PT_CG_V1_PIDS);
    if (lim->pids_max && pids) {
        snprintf(num, sizeof(num), "%lu", lim->pids_max);
        rc = pt_cgroup_write(pids, "pids.max", num, err);
    }
    return rc;
}

static int cgroup_v1_create(struct pt_cgroup *cg, const struct pt_cgroup_limits *lim,
                            struct pt_error *err)
{
    struct pt_cgroup_manager *m = cg->m;
    int rc = 0;
    cg->period_us = CGROUP_V1_DEFAULT_PERIOD_US;
    cg->quota_us = 0;
    for (int h = 0; h < m->nhier; h++) {
        rc = pt_cgroup_path(cg->dir[h], m->inst_dir[h], cg->name, err);
        if (rc)
            goto fail;
        /* An existing group may hold another environment's processes: never share it. */
        if (mkdir(cg->dir[h], 0755) != 0) {
            rc = pt_error_errno(err, errno == EEXIST ? PT_ESTATE : PT_ESYS, errno,
                                "cannot create %s", cg->dir[h]);
            goto fail;
        }
        cg->ndirs = h + 1;
        rc = pt_cgroup_open_procs(cg, h, "tasks", err);
        if (rc)
            goto fail;
    }
    rc = cgroup_v1_set_limits(cg, lim, err);
    if (rc)
        goto fail;
    return 0;

fail:
    for (int h = 0; h < cg->ndirs; h++)
        pt_cgroup_remove_tree(cg->dir[h], m->fake_tree, NULL);
    cg->ndirs = 0;
    return rc;
}

/*
 * The child moves its own (single, right after fork) thread by writing "0" to
 * each hierarchy's `tasks` file. Writing a pid to cgroup.procs takes the
 * global threadgroup rwsem for writing, which waits for an RCU grace period
 * whenever the lock has been idle: 15-20 ms per cold start here. Moving the
 * calling thread alone needs no such lock (kernel cgroup_procs_write_start:
 * "If we migrate a single thread, we don't care about threadgroup stability").
 */
static int cgroup_v1_enter_child(const struct pt_cgroup *cg)
{
    for (int h = 0; h < cg->ndirs; h++) {
        ssize_t w;
        do {
            w = write(cg->procs_fd[h], "0", 1);
        } while (w < 0 && errno == EINTR);
        if (w != 1)
            return w < 0 ? -errno : -EIO;
    }
    return 0;
}

static int cgroup_v1_adopt(struct pt_cgroup *cg, pid_t leader, struct pt_error *err)
{
    (void)err;
    cg->leader = leader;
    return 0;
}

static int cgroup_v1_freeze(struct pt_cgroup *cg, bool frozen, struct pt_error *err)
{
    return pt_cgroup_write_kept(cg, V1_W_FREEZER, cgroup_v1_dir(cg, PT_CG_V1_FREEZER),
                                "freezer.state", frozen ? "FROZEN" : "THAWED", err);
}

enum { V1_SLOT_CPU, V1_SLOT_PEAK, V1_SLOT_CURRENT, V1_SLOT_OOM };

static int cgroup_v1_read_cpu(struct pt_cgroup *cg, unsigned long long *ns, struct pt_error *err)
{
    return pt_cgroup_read_u64(&cg->stat_fd[V1_SLOT_CPU], cgroup_v1_dir(cg, PT_CG_V1_CPUACCT),
                              "cpuacct.usage", ns, err);
}

static int cgroup_v1_read_stats(struct pt_cgroup *cg, struct pt_cgroup_stats *out,
                                struct pt_error *err)
{
    const char *mem = cgroup_v1_dir(cg, PT_CG_V1_MEMORY);
    int rc = pt_cgroup_read_u64(&cg->stat_fd[V1_SLOT_CPU], cgroup_v1_dir(cg, PT_CG_V1_CPUACCT), "cpuacct.usage",
                                &out->cpu_usage_ns, err);
    if (!rc)
        rc = pt_cgroup_read_u64(&cg->stat_fd[V1_SLOT_PEAK], mem, "memory.max_usage_in_bytes", &out->memory_peak_bytes, err);
    if (!rc)
        rc = pt_cgroup_read_u64(&cg->stat_fd[V1_SLOT_CURRENT], mem, "memory.usage_in_bytes", &out->memory_current_bytes, err);
    if (!rc) {
        rc = pt_cgroup_read_keyed(&cg->stat_fd[V1_SLOT_OOM], mem, "memory.oom_control", "oom_kill", &out->oom_kills, err);
        /* Kernels before 4.13 have no oom_kill line: no count rather than no stats. */
        if (rc == PT_ENOTFOUND && pt_cgroup_exists(mem, "memory.oom_control")) {
            out->oom_kills = 0;
            rc = 0;
        }
    }
    return rc;
}

/* Any write restarts max_usage_in_bytes from the current usage, for every reader. */
static int cgroup_v1_reset_peak(struct pt_cgroup *cg, struct pt_error *err)
{
    return pt_cgroup_write(cgroup_v1_dir(cg, PT_CG_V1_MEMORY), "memory.max_usage_in_bytes", "0",
                           err);
}

static int cgroup_v1_kill_all(struct pt_cgroup *cg, struct pt_error *err)
{
    int rc = cgroup_v1_freeze(cg, false, err);
    if (rc)
        return rc;
    if (cg->m->fake_tree)
        return 0;
    return pt_cgroup_kill_and_wait(cg->dir, cg->ndirs, err);
}

static int cgroup_v1_destroy(struct pt_cgroup *cg, struct pt_error *err)
{
    int rc = cgroup_v1_kill_all(cg, err);
    /* Remove what can be removed even if some process resisted: the rest reports it. */
    for (int h = 0; h < cg->ndirs; h++) {
        int r = pt_cgroup_remove_tree(cg->dir[h], cg->m->fake_tree, rc ? NULL : err);
        if (!rc)
            rc = r;
    }
    return rc;
}

const struct pt_cgroup_ops pt_cgroup_v1_ops = {
    .name = "v1",
    .open_instance = cgroup_v1_open_instance,
    .cleanup_stale = cgroup_v1_cleanup_stale,
    .close_instance = cgroup_v1_close_instance,
    .create = cgroup_v1_create,
    .set_limits = cgroup_v1_set_limits,
    .set_cpu = cgroup_v1_set_cpu,
    .enter_child = cgroup_v1_enter_child,
    .adopt = cgroup_v1_adopt,
    .freeze = cgroup_v1_freeze,
    .read_cpu = cgroup_v1_read_cpu,
    .read_stats = cgroup_v1_read_stats,
    .reset_peak = cgroup_v1_reset_peak,
    .kill_all = cgroup_v1_kill_all,
    .destroy = cgroup_v1_destroy,
};
