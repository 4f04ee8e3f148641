/*
 * cgroup_none.c - the unprivileged fallback, marked degraded.
 *
 * CPU: a thread per group lets the process group run for quota_us, then
 * SIGSTOPs it for the rest of each period. Coarser than CFS (whole-group,
 * timer-granular) but gives the right average share. Memory: RLIMIT_DATA in
 * the child, which on Linux >= 4.7 also covers anonymous mmap. Pids: nothing
 * (RLIMIT_NPROC counts every process of the user, not of the group).
 * Stats come from /proc/<leader>, so they cover the leader and its reaped
 * children only.
 *
 * The engine's child calls setsid() before enter_child, so the group is the
 * process group whose id is the leader's pid. A process that leaves it
 * (setsid/setpgid again) escapes the duty cycle and kill_all: a known limit.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/fs.h"
#include "engine/cgroup_internal.h"
#include "engine/limits.h"

static int cgroup_none_open_instance(struct pt_cgroup_manager *m, struct pt_error *err)
{
    (void)m;
    (void)err;
    return 0;
}

static void cgroup_none_nothing(struct pt_cgroup_manager *m)
{
    (void)m;
}

static int cgroup_none_create(struct pt_cgroup *cg, const struct pt_cgroup_limits *lim,
                              struct pt_error *err)
{
    pthread_condattr_t attr;
    int e = pthread_condattr_init(&attr);
    if (e)
        return pt_error_errno(err, PT_ESYS, e, "pthread_condattr_init");
    /* Timed waits on the monotonic clock: a wall-clock jump must not stall the cycle. */
    e = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (!e)
        e = pthread_cond_init(&cg->cv, &attr);
    pthread_condattr_destroy(&attr);
    if (e)
        return pt_error_errno(err, PT_ESYS, e, "pthread_cond_init");
    e = pthread_mutex_init(&cg->mu, NULL);
    if (e) {
        pthread_cond_destroy(&cg->cv);
        return pt_error_errno(err, PT_ESYS, e, "pthread_mutex_init");
    }
    cg->mu_init = true;
    cg->quota_us = lim->cpu_quota_us;
    cg->period_us = lim->cpu_period_us ? lim->cpu_period_us : PT_CFS_PERIOD_US;
    return 0;
}

static int cgroup_none_set_cpu(struct pt_cgroup *cg, unsigned long long quota_us,
                               unsigned long long period_us, struct pt_error *err)
{
    (void)err;
    pthread_mutex_lock(&cg->mu);
    cg->quota_us = quota_us;
    cg->period_us = period_us;
    pthread_cond_broadcast(&cg->cv);
    pthread_mutex_unlock(&cg->mu);
    return 0;
}

static int cgroup_none_enter_child(const struct pt_cgroup *cg)
{
    if (!cg->lim.memory_bytes)
        return 0;
    struct rlimit rl = {.rlim_cur = cg->lim.memory_bytes, .rlim_max = cg->lim.memory_bytes};
    if (setrlimit(RLIMIT_DATA, &rl) != 0)
        return -errno;
    return 0;
}

/* Called with cg->mu held. ESRCH means the group is gone: stop signalling a pgid that may be reused. */
static void cgroup_none_signal(struct pt_cgroup *cg, int sig)
{
    if (cg->leader > 0 && kill(-cg->leader, sig) != 0 && errno == ESRCH)
        cg->leader = 0;
}

static void cgroup_none_wait_until(struct pt_cgroup *cg, int64_t deadline_ns)
{
    struct timespec ts = {.tv_sec = deadline_ns / 1000000000LL,
                          .tv_nsec = deadline_ns % 1000000000LL};
    pthread_cond_timedwait(&cg->cv, &cg->mu, &ts);
}

/*
 * The duty cycle. Every signal is sent with cg->mu held and after checking
 * `frozen`, so once pt_cgroup_freeze(true) returns no SIGCONT can follow it.
 */
static void *cgroup_none_cycle(void *arg)
{
    struct pt_cgroup *cg = arg;
    pthread_mutex_lock(&cg->mu);
    bool stopped = false;
    /*
     * ns the group ran beyond its quota because this thread woke late to stop
     * it (a busy host delays our wakeups): paid back from the next run windows,
     * so the average share stays at quota/period.
     */
    int64_t debt = 0;
    int64_t period_start = pt_mono_ns();
    while (!cg->stop) {
        if (cg->leader <= 0 || cg->frozen || !cg->quota_us || cg->quota_us >= cg->period_us) {
            /* freeze() itself sends SIGSTOP; here only an unlimited group needs to run. */
            if (!cg->frozen && stopped) {
                cgroup_none_signal(cg, SIGCONT);
                stopped = false;
            }
            if (cg->frozen)
                stopped = true;
            pthread_cond_wait(&cg->cv, &cg->mu);
            period_start = pt_mono_ns();
            debt = 0;
            continue;
        }
        int64_t quota = (int64_t)cg->quota_us * 1000;
        int64_t next = period_start + (int64_t)cg->period_us * 1000;
        if (debt < quota) {
            int64_t run_start = pt_mono_ns();
            int64_t run_end = run_start + quota - debt;
            if (stopped) {
                cgroup_none_signal(cg, SIGCONT);
                stopped = false;
            }
            while (!cg->stop && !cg->frozen && pt_mono_ns() < run_end)
                cgroup_none_wait_until(cg, run_end);
            if (cg->stop || cg->frozen)
                continue;
            cgroup_none_signal(cg, SIGSTOP);
            stopped = true;
            debt += pt_mono_ns() - run_start - quota;
            if (debt < 0)
                debt = 0; /* an early stop is not credit: no bursts above the quota */
        } else {
            debt -= quota; /* this period's run window pays back one quota */
        }
        while (!cg->stop && !cg->frozen && pt_mono_ns() < next)
            cgroup_none_wait_until(cg, next);
        /* After a long stall (suspend, overload), restart the cycle instead of bursting to catch up. */
        int64_t now = pt_mono_ns();
        period_start = now - next > (int64_t)cg->period_us * 1000 ? now : next;
    }
    pthread_mutex_unlock(&cg->mu);
    return NULL;
}

static int cgroup_none_adopt(struct pt_cgroup *cg, pid_t leader, struct pt_error *err)
{
    pt_cgroup_sentry_watch(cg->m, leader, true);
    pthread_mutex_lock(&cg->mu);
    cg->leader = leader;
    if (cg->frozen)
        cgroup_none_signal(cg, SIGSTOP);
    pthread_cond_broadcast(&cg->cv);
    int rc = 0;
    if (!cg->thread_started) {
        int e = pthread_create(&cg->thread, NULL, cgroup_none_cycle, cg);
        if (e)
            rc = pt_error_errno(err, PT_ESYS, e, "cannot start the CPU duty-cycle thread for %s",
                                cg->name);
        else
            cg->thread_started = true;
    }
    pthread_mutex_unlock(&cg->mu);
    return rc;
}

static int cgroup_none_freeze(struct pt_cgroup *cg, bool frozen, struct pt_error *err)
{
    (void)err;
    pthread_mutex_lock(&cg->mu);
    cg->frozen = frozen;
    /* Thawing is left to the cycle thread, which resumes with a fresh period. */
    if (frozen)
        cgroup_none_signal(cg, SIGSTOP);
    else if (!cg->thread_started)
        cgroup_none_signal(cg, SIGCONT);
    pthread_cond_broadcast(&cg->cv);
    pthread_mutex_unlock(&cg->mu);
    return 0;
}

/* Fields 14-17 (utime, stime, cutime, cstime) of /proc/<pid>/stat, in ticks. */
static int cgroup_none_read_cpu(pid_t pid, unsigned long long *ticks, struct pt_error *err)
{
    char path[64];
    char text[1024];
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    int rc = pt_file_read_small(path, text, sizeof(text), err);
    if (rc)
        return rc;
    char *p = strrchr(text, ')');
    unsigned long long v[4];
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu",
                     &v[0], &v[1], &v[2], &v[3]) != 4)
        return pt_error_set(err, PT_EPROTO, "%s: cannot parse the CPU time fields", path);
    *ticks = v[0] + v[1] + v[2] + v[3];
    return 0;
}

/* VmHWM/VmRSS in bytes; a zombie has neither, which leaves the values untouched. */
static int cgroup_none_read_mem(pid_t pid, struct pt_cgroup_stats *out, struct pt_error *err)
{
    char path[64];
    char text[4096];
    snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    int rc = pt_file_read_small(path, text, sizeof(text), err);
    if (rc)
        return rc;
    unsigned long long kb;
    char *line = strstr(text, "\nVmHWM:");
    if (line && sscanf(line + 7, " %llu kB", &kb) == 1)
        out->memory_peak_bytes = kb * 1024;
    line = strstr(text, "\nVmRSS:");
    if (line && sscanf(line + 7, " %llu kB", &kb) == 1)
        out->memory_current_bytes = kb * 1024;
    return 0;
}

static int cgroup_none_read_stats(struct pt_cgroup *cg, struct pt_cgroup_stats *out,
                                  struct pt_error *err)
{
    pthread_mutex_lock(&cg->mu);
    pid_t leader = cg->leader;
    struct pt_cgroup_stats s = cg->last;
    pthread_mutex_unlock(&cg->mu);
    int rc = 0;
    if (leader > 0) {
        unsigned long long ticks;
        long hz = sysconf(_SC_CLK_TCK);
        rc = cgroup_none_read_cpu(leader, &ticks, err);
        if (!rc) {
            s.cpu_usage_ns = ticks * (1000000000ULL / (unsigned long long)(hz > 0 ? hz : 100));
            rc = cgroup_none_read_mem(leader, &s, err);
        }
        /* Reaped leader: its last numbers are the group's final ones. */
        if (rc == PT_ENOTFOUND)
            rc = 0;
    }
    s.oom_kills = 0;
    if (!rc) {
        pthread_mutex_lock(&cg->mu);
        if (s.memory_peak_bytes < cg->last.memory_peak_bytes)
            s.memory_peak_bytes = cg->last.memory_peak_bytes;
        cg->last = s;
        pthread_mutex_unlock(&cg->mu);
        *out = s;
    }
    return rc;
}

/* True while a non-zombie process of process group pgid exists. */
static bool cgroup_none_group_alive(pid_t pgid)
{
    DIR *d = opendir("/proc");
    if (!d)
        return kill(-pgid, 0) == 0;
    bool alive = false;
    struct dirent *e;
    char path[300];
    char text[1024];
    while (!alive && (e = readdir(d)) != NULL) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        if (pt_file_read_small(path, text, sizeof(text), NULL) != 0)
            continue;
        char *p = strrchr(text, ')');
        char state;
        int ppid, pgrp;
        if (p && sscanf(p + 1, " %c %d %d", &state, &ppid, &pgrp) == 3 && pgrp == pgid &&
            state != 'Z' && state != 'X')
            alive = true;
    }
    closedir(d);
    return alive;
}

static int cgroup_none_kill_all(struct pt_cgroup *cg, struct pt_error *err)
{
    pthread_mutex_lock(&cg->mu);
    pid_t pgid = cg->leader;
    /* SIGKILL ends stopped processes too; no SIGCONT needed. */
    cgroup_none_signal(cg, SIGKILL);
    pthread_mutex_unlock(&cg->mu);
    if (pgid <= 0)
        return 0;
    int64_t deadline = pt_mono_ns() + (int64_t)PT_CG_KILL_WAIT_MS * 1000000;
    while (cgroup_none_group_alive(pgid)) {
        if (pt_mono_ns() > deadline)
            return pt_error_set(err, PT_ETIMEDOUT,
                                "process group %ld still alive %d ms after SIGKILL", (long)pgid,
                                PT_CG_KILL_WAIT_MS);
        kill(-pgid, SIGKILL);
        pt_sleep_ms(PT_CG_KILL_POLL_MS);
    }
    pt_cgroup_sentry_watch(cg->m, pgid, false);
    return 0;
}

static int cgroup_none_destroy(struct pt_cgroup *cg, struct pt_error *err)
{
    if (!cg->mu_init)
        return 0;
    pthread_mutex_lock(&cg->mu);
    cg->stop = true;
    pthread_cond_broadcast(&cg->cv);
    pthread_mutex_unlock(&cg->mu);
    if (cg->thread_started)
        pthread_join(cg->thread, NULL);
    int rc = cgroup_none_kill_all(cg, err);
    pthread_cond_destroy(&cg->cv);
    pthread_mutex_destroy(&cg->mu);
    cg->mu_init = false;
    return rc;
}

const struct pt_cgroup_ops pt_cgroup_none_ops = {
    .name = "none",
    .open_instance = cgroup_none_open_instance,
    .cleanup_stale = cgroup_none_nothing,
    .close_instance = cgroup_none_nothing,
    .create = cgroup_none_create,
    .set_cpu = cgroup_none_set_cpu,
    .enter_child = cgroup_none_enter_child,
    .adopt = cgroup_none_adopt,
    .freeze = cgroup_none_freeze,
    .read_stats = cgroup_none_read_stats,
    .kill_all = cgroup_none_kill_all,
    .destroy = cgroup_none_destroy,
};
