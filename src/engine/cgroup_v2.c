/*
 * cgroup_v2.c - the backend for the unified hierarchy. Controllers must be
 * enabled in cgroup.subtree_control of every ancestor of a group; only the
 * leaf groups hold processes, which keeps the "no internal processes" rule.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/str.h"
#include "engine/cgroup_internal.h"
#include "engine/limits.h"

/* Enables m->v2_enable in <dir>/cgroup.subtree_control unless all are already on. */
static int cgroup_v2_enable_controllers(const struct pt_cgroup_manager *m, const char *dir,
                                        struct pt_error *err)
{
    char path[PATH_MAX];
    char text[512] = "";
    int rc = pt_cgroup_path(path, dir, "cgroup.subtree_control", err);
    if (rc)
        return rc;
    rc = pt_file_read_small(path, text, sizeof(text), err);
    if (rc && rc != PT_ENOTFOUND)
        return rc;
    bool all = true;
    char want[sizeof(m->v2_enable)];
    pt_strlcpy(want, m->v2_enable, sizeof(want));
    char *save = NULL;
    for (char *t = strtok_r(want, " ", &save); t && all; t = strtok_r(NULL, " ", &save)) {
        const char *name = t + 1; /* skip '+' */
        bool found = false;
        char have[sizeof(text)];
        pt_strlcpy(have, text, sizeof(have));
        char *save2 = NULL;
        for (char *h = strtok_r(have, " \n", &save2); h; h = strtok_r(NULL, " \n", &save2))
            if (strcmp(h, name) == 0 || (h[0] == '+' && strcmp(h + 1, name) == 0))
                found = true;
        all = found;
    }
    if (all)
        return 0;
    rc = pt_file_write_str(path, m->v2_enable, err);
    if (rc == PT_ESYS && errno == EBUSY) {
        /* A container's root group (cgroup namespace) holding its processes, typically. */
        rc = pt_error_set(err, PT_ESTATE,
                          "cannot enable controllers in %s: processes live in it, and a v2 group "
                          "hands controllers to its children only while it holds none (move them "
                          "into a leaf group first: mkdir %s/init, then write each pid of its "
                          "cgroup.procs into init/cgroup.procs)",
                          dir, dir);
    }
    return rc;
}

static int cgroup_v2_open_instance(struct pt_cgroup_manager *m, struct pt_error *err)
{
    char base[PATH_MAX];
    int rc = cgroup_v2_enable_controllers(m, m->hier[0], err);
    if (!rc)
        rc = pt_cgroup_mkdir_instance(m->hier[0], m->inst_dir[0], err);
    if (!rc)
        rc = pt_cgroup_path(base, m->hier[0], PT_CG_DIR, err);
    if (!rc)
        rc = cgroup_v2_enable_controllers(m, base, err);
    if (!rc)
        rc = cgroup_v2_enable_controllers(m, m->inst_dir[0], err);
    return rc;
}

static void cgroup_v2_cleanup_stale(struct pt_cgroup_manager *m)
{
    pt_cgroup_cleanup_stale_in(m->hier[0], m->instance);
}

static void cgroup_v2_close_instance(struct pt_cgroup_manager *m)
{
    pt_cgroup_remove_instance(m->hier[0], m->inst_dir[0], m->fake_tree);
}

/* write_fd slots */
enum { V2_W_CPU_MAX, V2_W_FREEZE };

/* One write carries quota and period, so v2 has no intermediate-ratio problem. */
static int cgroup_v2_set_cpu(struct pt_cgroup *cg, unsigned long long quota_us,
                             unsigned long long period_us, struct pt_error *err)
{
    if (cg->period_us && quota_us == cg->quota_us && period_us == cg->period_us)
        return 0; /* as written last (a period of 0: nothing written yet) */
    char text[64];
    if (quota_us)
        snprintf(text, sizeof(text), "%llu %llu", quota_us, period_us);
    else
        snprintf(text, sizeof(text), "max %llu", period_us);
    int rc = pt_cgroup_write_kept(cg, V2_W_CPU_MAX, cg->dir[0], "cpu.max", text, err);
    if (rc)
        return rc;
    cg->quota_us = quota_us;
    cg->period_us = period_us;
    return 0;
}

static int cgroup_v2_set_limits(struct pt_cgroup *cg, const struct pt_cgroup_limits *lim,
                                struct pt_error *err)
{
    const char *dir = cg->dir[0];
    char num[32];
    int rc = 0;
    if (lim->cpu_quota_us || lim->cpu_period_us) {
        rc = cgroup_v2_set_cpu(cg, lim->cpu_quota_us,
                               lim->cpu_period_us ? lim->cpu_period_us : PT_CFS_PERIOD_US, err);
        if (rc)
            return rc;
    }
    if (lim->memory_bytes) {
        snprintf(num, sizeof(num), "%llu", lim->memory_bytes);
        rc = pt_cgroup_write(dir, "memory.max", num, err);
        if (rc)
            return rc;
    }
    /* Lambda has no swap: without this, memory.max would only push pages to swap. */
    if (pt_cgroup_exists(dir, "memory.swap.max")) {
        rc = pt_cgroup_write(dir, "memory.swap.max", "0", err);
        if (rc)
            return rc;
    }
    if (lim->pids_max && strstr(cg->m->v2_enable, "+pids")) {
        snprintf(num, sizeof(num), "%lu", lim->pids_max);
        rc = pt_cgroup_write(dir, "pids.max", num, err);
    }
    return rc;
}

static int cgroup_v2_create(struct pt_cgroup *cg, const struct pt_cgroup_limits *lim,
                            struct pt_error *err)
{
    struct pt_cgroup_manager *m = cg->m;
    int rc = pt_cgroup_path(cg->dir[0], m->inst_dir[0], cg->name, err);
    if (rc)
        return rc;
    /* An existing group may hold another environment's processes: never share it. */
    if (mkdir(cg->dir[0], 0755) != 0)
        return pt_error_errno(err, errno == EEXIST ? PT_ESTATE : PT_ESYS, errno,
                              "cannot create %s", cg->dir[0]);
    cg->ndirs = 1;
    rc = pt_cgroup_open_procs(cg, 0, "cgroup.procs", err);
    if (!rc)
        rc = cgroup_v2_set_limits(cg, lim, err);
    if (rc) {
        pt_cgroup_close_fds(cg);
        pt_cgroup_remove_tree(cg->dir[0], m->fake_tree, NULL);
        cg->ndirs = 0;
    }
    return rc;
}

static int cgroup_v2_enter_child(const struct pt_cgroup *cg)
{
    return pt_cgroup_write_self_pid(cg->procs_fd[0]);
}

static int cgroup_v2_adopt(struct pt_cgroup *cg, pid_t leader, struct pt_error *err)
{
    (void)err;
    cg->leader = leader;
    return 0;
}

static int cgroup_v2_freeze(struct pt_cgroup *cg, bool frozen, struct pt_error *err)
{
    if (cg->write_fd[V2_W_FREEZE] < 0 && !cg->m->fake_tree &&
        !pt_cgroup_exists(cg->dir[0], "cgroup.freeze"))
        return pt_error_set(err, PT_ENOTFOUND,
                            "%s/cgroup.freeze does not exist (the v2 freezer needs Linux 5.2)",
                            cg->dir[0]);
    return pt_cgroup_write_kept(cg, V2_W_FREEZE, cg->dir[0], "cgroup.freeze", frozen ? "1" : "0",
                                err);
}

enum { V2_SLOT_CPU, V2_SLOT_PEAK, V2_SLOT_CURRENT, V2_SLOT_OOM };

/*
 * Whether memory.peak exists, asked of the file system once per group: read_stats runs twice
 * per invocation, and an access() there cost a path walk every time. A kept descriptor says
 * yes, peak_sampled (set at the first read without the file) says no.
 */
static bool cgroup_v2_has_peak(struct pt_cgroup *cg)
{
    if (cg->stat_fd[V2_SLOT_PEAK] >= 0)
        return true;
    if (cg->peak_sampled)
        return false;
    return pt_cgroup_exists(cg->dir[0], "memory.peak");
}

static int cgroup_v2_read_stats(struct pt_cgroup *cg, struct pt_cgroup_stats *out,
                                struct pt_error *err)
{
    const char *dir = cg->dir[0];
    unsigned long long usec = 0;
    int rc = pt_cgroup_read_keyed(&cg->stat_fd[V2_SLOT_CPU], dir, "cpu.stat", "usage_usec", &usec, err);
    if (rc)
        return rc;
    out->cpu_usage_ns = usec * 1000ULL;
    rc = pt_cgroup_read_u64(&cg->stat_fd[V2_SLOT_CURRENT], dir, "memory.current", &out->memory_current_bytes, err);
    if (rc)
        return rc;
    if (cgroup_v2_has_peak(cg)) {
        rc = pt_cgroup_read_u64(&cg->stat_fd[V2_SLOT_PEAK], dir, "memory.peak", &out->memory_peak_bytes, err);
        if (rc)
            return rc;
    } else {
        /*
         * memory.peak arrived in Linux 5.19. Before that the peak is only the
         * highest memory.current seen at the reads, so short spikes between
         * reads are missed: an underestimate, never an overestimate.
         */
        cg->peak_sampled = true;
        if (out->memory_current_bytes > cg->sampled_peak)
            cg->sampled_peak = out->memory_current_bytes;
        out->memory_peak_bytes = cg->sampled_peak;
    }
    rc = pt_cgroup_read_keyed(&cg->stat_fd[V2_SLOT_OOM], dir, "memory.events", "oom_kill", &out->oom_kills, err);
    /* Kernels before 4.13 have no oom_kill line: no count rather than no stats. */
    if (rc == PT_ENOTFOUND && pt_cgroup_exists(dir, "memory.events")) {
        out->oom_kills = 0;
        rc = 0;
    }
    return rc;
}

/*
 * A write to memory.peak (Linux 6.12) restarts the peak from the current usage as seen through
 * the descriptor written to: that descriptor becomes the one read_stats preads. Before 6.12
 * the file has no write handler and the open for writing fails (EACCES).
 */
static int cgroup_v2_reset_peak(struct pt_cgroup *cg, struct pt_error *err)
{
    const char *dir = cg->dir[0];
    if (!cgroup_v2_has_peak(cg)) {
        cg->sampled_peak = 0;
        return 0;
    }
    char path[PATH_MAX];
    int rc = pt_cgroup_path(path, dir, "memory.peak", err);
    if (rc)
        return rc;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return pt_error_errno(err, PT_ESYS, errno,
                              "cannot open %s for writing (writable from Linux 6.12)", path);
    ssize_t w;
    do {
        w = pwrite(fd, "0\n", 2, 0);
    } while (w < 0 && errno == EINTR);
    /* A fake tree's plain file would keep the old value's tail. */
    if (w == 2 && cg->m->fake_tree && ftruncate(fd, 2) != 0)
        w = -1;
    if (w != 2) {
        rc = pt_error_errno(err, PT_ESYS, w < 0 ? errno : EIO, "cannot restart %s", path);
        close(fd);
        return rc;
    }
    if (cg->stat_fd[V2_SLOT_PEAK] >= 0)
        close(cg->stat_fd[V2_SLOT_PEAK]);
    cg->stat_fd[V2_SLOT_PEAK] = fd;
    return 0;
}

static int cgroup_v2_kill_all(struct pt_cgroup *cg, struct pt_error *err)
{
    const char *dir = cg->dir[0];
    int rc = 0;
    if (pt_cgroup_exists(dir, "cgroup.freeze")) {
        rc = pt_cgroup_write(dir, "cgroup.freeze", "0", err);
        if (rc)
            return rc;
    }
    /* cgroup.kill (Linux 5.14) kills atomically, even a process forking right now. */
    if (pt_cgroup_exists(dir, "cgroup.kill")) {
        rc = pt_cgroup_write(dir, "cgroup.kill", "1", err);
        if (rc)
            return rc;
    }
    if (cg->m->fake_tree)
        return 0;
    return pt_cgroup_kill_and_wait(cg->dir, 1, err);
}

static int cgroup_v2_destroy(struct pt_cgroup *cg, struct pt_error *err)
{
    int rc = cgroup_v2_kill_all(cg, err);
    int r = pt_cgroup_remove_tree(cg->dir[0], cg->m->fake_tree, rc ? NULL : err);
    return rc ? rc : r;
}

const struct pt_cgroup_ops pt_cgroup_v2_ops = {
    .name = "v2",
    .open_instance = cgroup_v2_open_instance,
    .cleanup_stale = cgroup_v2_cleanup_stale,
    .close_instance = cgroup_v2_close_instance,
    .create = cgroup_v2_create,
    .set_limits = cgroup_v2_set_limits,
    .set_cpu = cgroup_v2_set_cpu,
    .enter_child = cgroup_v2_enter_child,
    .adopt = cgroup_v2_adopt,
    .freeze = cgroup_v2_freeze,
    .read_stats = cgroup_v2_read_stats,
    .reset_peak = cgroup_v2_reset_peak,
    .kill_all = cgroup_v2_kill_all,
    .destroy = cgroup_v2_destroy,
};
