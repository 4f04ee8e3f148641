/*
 * cgroup.c - the manager: picks a backend, names this engine's instance,
 * removes what crashed engines left behind, and dispatches the pt_cgroup_*
 * calls to the backend's ops table. Also the file helpers the backends share.
 */
#include "engine/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/fs.h"
#include "base/rand.h"
#include "base/str.h"
#include "engine/cgroup_internal.h"
#include "engine/limits.h"

#define CGROUP_MOUNTINFO_LIMIT (1024 * 1024)
#define CGROUP_SELF_LIMIT (64 * 1024)

static const char *const cgroup_v1_ctl_names[PT_CG_V1_NCTL] = {
    [PT_CG_V1_CPU] = "cpu",         [PT_CG_V1_CPUACCT] = "cpuacct",
    [PT_CG_V1_MEMORY] = "memory",   [PT_CG_V1_PIDS] = "pids",
    [PT_CG_V1_FREEZER] = "freezer",
};

/* ---------------------------------------------------------------- helpers */

int pt_cgroup_path(char *out, const char *a, const char *b, struct pt_error *err)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", a, b);
    if (n < 0 || n >= PATH_MAX)
        return pt_error_set(err, PT_ELIMIT, "cgroup path too long: %s/%s", a, b);
    return 0;
}

bool pt_cgroup_exists(const char *dir, const char *file)
{
    char path[PATH_MAX];
    if (pt_cgroup_path(path, dir, file, NULL))
        return false;
    return access(path, F_OK) == 0;
}

int pt_cgroup_mkdir(const char *path, struct pt_error *err)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST)
        return 0;
    int e = errno;
    return pt_error_errno(err, (e == EACCES || e == EPERM || e == EROFS) ? PT_EPERM : PT_ESYS,
                          e, "cannot create %s", path);
}

int pt_cgroup_mkdir_instance(const char *hier, const char *inst_dir, struct pt_error *err)
{
    char base[PATH_MAX];
    int rc = pt_cgroup_path(base, hier, PT_CG_DIR, err);
    /* Another engine's close may rmdir an empty powertune/ between our two mkdirs: retry. */
    for (int tries = 0; !rc && tries < 5; tries++) {
        rc = pt_cgroup_mkdir(base, err);
        if (rc)
            break;
        if (mkdir(inst_dir, 0755) == 0 || errno == EEXIST)
            return 0;
        if (errno != ENOENT)
            break;
    }
    if (!rc) {
        int e = errno;
        rc = pt_error_errno(err, (e == EACCES || e == EPERM || e == EROFS) ? PT_EPERM : PT_ESYS,
                            e, "cannot create %s", inst_dir);
    }
    return rc;
}

void pt_cgroup_close_fds(struct pt_cgroup *cg)
{
    for (int i = 0; i < PT_CG_MAX_HIER; i++) {
        if (cg->procs_fd[i] >= 0)
            close(cg->procs_fd[i]);
        cg->procs_fd[i] = -1;
    }
    for (int i = 0; i < PT_CG_STAT_SLOTS; i++) {
        if (cg->stat_fd[i] >= 0)
            close(cg->stat_fd[i]);
        cg->stat_fd[i] = -1;
    }
    for (int i = 0; i < PT_CG_WRITE_SLOTS; i++) {
        if (cg->write_fd[i] >= 0)
            close(cg->write_fd[i]);
        cg->write_fd[i] = -1;
    }
}

int pt_cgroup_open_procs(struct pt_cgroup *cg, int i, const char *file, struct pt_error *err)
{
    char path[PATH_MAX];
    int rc = pt_cgroup_path(path, cg->dir[i], file, err);
    if (rc)
        return rc;
    int flags = O_WRONLY | O_CLOEXEC | (cg->m->fake_tree ? O_CREAT : 0);
    cg->procs_fd[i] = open(path, flags, 0644);
    if (cg->procs_fd[i] < 0)
        return pt_error_errno(err, PT_ESYS, errno, "cannot open %s for writing", path);
    return 0;
}

/* Only write(2) and getpid(2): this runs between fork and exec. */
int pt_cgroup_write_self_pid(int fd)
{
    char num[24];
    size_t n = pt_utoa((unsigned long)getpid(), num);
    ssize_t w;
    do
        w = write(fd, num, n);
    while (w < 0 && errno == EINTR);
    if (w < 0)
        return -errno;
    return w == (ssize_t)n ? 0 : -EIO;
}

int pt_cgroup_write(const char *dir, const char *file, const char *s, struct pt_error *err)
{
    char path[PATH_MAX];
    int rc = pt_cgroup_path(path, dir, file, err);
    if (rc)
        return rc;
    return pt_file_write_str(path, s, err);
}

int pt_cgroup_write_kept(struct pt_cgroup *cg, int slot, const char *dir, const char *file,
                         const char *s, struct pt_error *err)
{
    /* Around every invocation: the path is only formatted to open the file. */
    int *fd = &cg->write_fd[slot];
    if (*fd < 0) {
        char path[PATH_MAX];
        int rc = pt_cgroup_path(path, dir, file, err);
        if (rc)
            return rc;
        /* O_CREAT for fake trees, as pt_file_write_str; the kernel's files exist. */
        *fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (*fd < 0)
            return pt_error_errno(err, errno == EACCES || errno == EPERM ? PT_EPERM : PT_ESYS,
                                  errno, "cannot open %s", path);
    }
    size_t n = strlen(s);
    ssize_t w;
    do {
        w = pwrite(*fd, s, n, 0);
    } while (w < 0 && errno == EINTR);
    if (w < 0 || (size_t)w != n)
        return pt_error_errno(err, PT_ESYS, w < 0 ? errno : EIO, "cannot write '%s' to %s/%s", s,
                              dir, file);
    /* A fake tree's plain file keeps a longer old value's tail ("-1" over "1447"). */
    if (cg->m->fake_tree && ftruncate(*fd, (off_t)n) != 0)
        return pt_error_errno(err, PT_ESYS, errno, "cannot truncate %s/%s", dir, file);
    return 0;
}

static int cgroup_read_text(int *fd, const char *dir, const char *file, char *out, size_t size,
                            char *path, struct pt_error *err)
{
    int rc = pt_cgroup_path(path, dir, file, err);
    if (rc)
        return rc;
    if (!fd)
        return pt_file_read_small(path, out, size, err);
    if (*fd < 0) {
        *fd = open(path, O_RDONLY | O_CLOEXEC);
        if (*fd < 0)
            return pt_error_errno(err, errno == ENOENT ? PT_ENOTFOUND : PT_ESYS, errno,
                                  "cannot open %s", path);
    }
    ssize_t n;
    do {
        n = pread(*fd, out, size - 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return pt_error_errno(err, PT_EIO, errno, "cannot read %s", path);
    out[n] = '\0';
    return 0;
}

/* Strict: digits, then optional whitespace to the end. */
static int cgroup_parse_u64(const char *s, unsigned long long *out)
{
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    while (*end == ' ' || *end == '\n' || *end == '\t')
        end++;
    if (*end)
        return -1;
    *out = v;
    return 0;
}

int pt_cgroup_read_u64(int *fd, const char *dir, const char *file, unsigned long long *out,
                       struct pt_error *err)
{
    char text[128];
    char path[PATH_MAX];
    int rc = cgroup_read_text(fd, dir, file, text, sizeof(text), path, err);
    if (rc)
        return rc;
    if (cgroup_parse_u64(text, out) != 0)
        return pt_error_set(err, PT_EPROTO, "%s: expected one unsigned number, got '%.40s'",
                            path, text);
    return 0;
}

int pt_cgroup_read_keyed(int *fd, const char *dir, const char *file, const char *key,
                         unsigned long long *out, struct pt_error *err)
{
    char text[4096];
    char path[PATH_MAX];
    int rc = cgroup_read_text(fd, dir, file, text, sizeof(text), path, err);
    if (rc)
        return rc;
    size_t klen = strlen(key);
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
            if (cgroup_parse_u64(line + klen + 1, out) != 0)
                return pt_error_set(err, PT_EPROTO, "%s: garbled '%s' line: '%.60s'", path, key,
                                    line);
            return 0;
        }
        line = nl ? nl + 1 : NULL;
    }
    return pt_error_set(err, PT_ENOTFOUND, "%s: no '%s' line", path, key);
}

/*
 * One pass over <dir>/cgroup.procs: SIGKILLs every pid in it. Sets *seen when
 * the file listed any process. Our own pid is never signalled: a
 * misconfigured move of the engine itself must not make it kill itself.
 * System calls and a stack buffer only, as pt_cgroup_remove_tree: the sentry
 * runs them in the child of a threaded fork (cgroup_sentry_run).
 */
static int cgroup_kill_listed(const char *dir, bool *seen, struct pt_error *err)
{
    char path[PATH_MAX];
    int rc = pt_cgroup_path(path, dir, "cgroup.procs", err);
    if (rc)
        return rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        /* The group vanished under us: nothing left to kill. */
        if (errno == ENOENT)
            return 0;
        return pt_error_errno(err, PT_ESYS, errno, "cannot open %s", path);
    }
    pid_t self = getpid();
    char buf[4096];
    long pid = -1; /* the number being read, across reads; -1: between numbers */
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = pt_error_errno(err, PT_EIO, errno, "cannot read %s", path);
            break;
        }
        for (ssize_t i = 0; i <= n; i++) {
            bool digit = i < n && buf[i] >= '0' && buf[i] <= '9';
            if (digit) {
                pid = pid < 0 ? 0 : pid;
                if (pid <= INT32_MAX) /* a longer number is no pid: never signalled */
                    pid = pid * 10 + (buf[i] - '0');
            } else if (pid >= 0 && (i < n || n == 0)) {
                if (pid > 0 && pid <= INT32_MAX && (pid_t)pid != self) {
                    *seen = true;
                    kill((pid_t)pid, SIGKILL);
                }
                pid = -1;
            }
        }
        if (n == 0)
            break;
    }
    close(fd);
    return rc;
}

int pt_cgroup_kill_and_wait(char dirs[][PATH_MAX], int ndirs, struct pt_error *err)
{
    int64_t deadline = pt_mono_ns() + (int64_t)PT_CG_KILL_WAIT_MS * 1000000;
    for (;;) {
        int busy = -1;
        for (int i = 0; i < ndirs; i++) {
            bool seen = false;
            int rc = cgroup_kill_listed(dirs[i], &seen, err);
            if (rc)
                return rc;
            if (seen)
                busy = i;
        }
        if (busy < 0)
            return 0;
        if (pt_mono_ns() > deadline)
            return pt_error_set(err, PT_ETIMEDOUT,
                                "processes still in %s/cgroup.procs %d ms after SIGKILL",
                                dirs[busy], PT_CG_KILL_WAIT_MS);
        pt_sleep_ms(PT_CG_KILL_POLL_MS);
    }
}

/* Thawed before killing: a frozen task cannot act on SIGKILL until thawed. */
static void cgroup_thaw_dir(const char *dir)
{
    if (pt_cgroup_exists(dir, "freezer.state"))
        pt_cgroup_write(dir, "freezer.state", "THAWED", NULL);
    if (pt_cgroup_exists(dir, "cgroup.freeze"))
        pt_cgroup_write(dir, "cgroup.freeze", "0", NULL);
}

static int cgroup_unlink_files(const char *dir, struct pt_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return pt_error_errno(err, PT_ESYS, errno, "cannot open directory %s", dir);
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_type == DT_DIR)
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) != 0 && errno != ENOENT) {
            rc = pt_error_errno(err, PT_ESYS, errno, "cannot remove %s/%s", dir, e->d_name);
            break;
        }
    }
    closedir(d);
    return rc;
}

int pt_cgroup_remove_tree(const char *dir, bool fake_tree, struct pt_error *err)
{
    if (!fake_tree)
        cgroup_thaw_dir(dir);
    /* getdents64, not opendir: no malloc (cgroup_kill_listed says why). */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        if (errno == ENOENT)
            return 0;
        return pt_error_errno(err, PT_ESYS, errno, "cannot open directory %s", dir);
    }
    int rc = 0;
    char ents[4096] __attribute__((aligned(8)));
    char child[PATH_MAX];
    while (!rc) {
        ssize_t n = getdents64(dfd, ents, sizeof(ents));
        if (n < 0)
            rc = pt_error_errno(err, PT_ESYS, errno, "cannot read directory %s", dir);
        if (n <= 0)
            break;
        for (ssize_t off = 0; off < n && !rc;) {
            const struct dirent64 *e = (const struct dirent64 *)(ents + off);
            off += e->d_reclen;
            if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 ||
                strcmp(e->d_name, "..") == 0)
                continue;
            rc = pt_cgroup_path(child, dir, e->d_name, err);
            if (!rc)
                rc = pt_cgroup_remove_tree(child, fake_tree, err);
        }
    }
    close(dfd);
    if (rc)
        return rc;
    if (fake_tree) {
        /* A fake tree's files are fixtures: never signal the pids they list. */
        rc = cgroup_unlink_files(dir, err);
        if (rc)
            return rc;
    } else {
        if (pt_cgroup_exists(dir, "cgroup.kill"))
            pt_cgroup_write(dir, "cgroup.kill", "1", NULL);
        char one[1][PATH_MAX];
        pt_strlcpy(one[0], dir, PATH_MAX);
        rc = pt_cgroup_kill_and_wait(one, 1, err);
        if (rc)
            return rc;
    }
    /* Emptied cgroups can stay busy for a moment while the kernel releases them. */
    for (int tries = 0;; tries++) {
        if (rmdir(dir) == 0 || errno == ENOENT)
            return 0;
        if (errno != EBUSY || tries >= 200)
            return pt_error_errno(err, PT_ESYS, errno, "cannot remove cgroup %s", dir);
        pt_sleep_ms(PT_CG_KILL_POLL_MS);
    }
}

/* 0 and *start, -ENOENT when the process does not exist, other -errno. */
static int cgroup_proc_start_time(pid_t pid, unsigned long long *start)
{
    char path[64];
    char text[1024];
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, text, sizeof(text) - 1);
    int e = errno;
    close(fd);
    if (n <= 0)
        return n < 0 ? -e : -EIO;
    text[n] = '\0';
    /* comm (field 2) may hold spaces and parentheses: fields resume after the last ')'. */
    char *p = strrchr(text, ')');
    if (!p)
        return -EIO;
    p++;
    /* Field 3 follows; starttime is field 22, i.e. the 20th token from here. */
    for (int field = 3; field < 22; field++) {
        while (*p == ' ')
            p++;
        while (*p && *p != ' ')
            p++;
        if (!*p)
            return -EIO;
    }
    while (*p == ' ')
        p++;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(p, &end, 10);
    if (errno || end == p)
        return -EIO;
    *start = v;
    return 0;
}

/*
 * "<pid>-<start>[-<tag>]" -> pid and start; false for anything else (not ours
 * to touch). The tag tells apart several engines of one process (a test or a
 * benchmark may hold two at once): without it, closing one would remove the
 * other's groups.
 */
static bool cgroup_parse_instance(const char *name, pid_t *pid, unsigned long long *start)
{
    const char *dash = strchr(name, '-');
    if (!dash || dash == name || !dash[1])
        return false;
    const char *end = strchr(dash + 1, '-');
    if (!end)
        end = dash + 1 + strlen(dash + 1);
    if (end == dash + 1)
        return false;
    for (const char *p = name; p < end; p++)
        if (p != dash && (*p < '0' || *p > '9'))
            return false;
    errno = 0;
    unsigned long long v = strtoull(name, NULL, 10);
    unsigned long long s = strtoull(dash + 1, NULL, 10);
    if (errno || v == 0 || v > (unsigned long long)INT32_MAX)
        return false;
    *pid = (pid_t)v;
    *start = s;
    return true;
}

/*
 * Only a missing /proc/<pid> or a different start time (pid reused) proves the
 * owner gone; any other doubt (EACCES under hidepid, unreadable stat) counts
 * as alive, because killing a live engine's functions is the worse mistake.
 */
static bool cgroup_instance_is_stale(const char *name)
{
    pid_t pid;
    unsigned long long start, now;
    if (!cgroup_parse_instance(name, &pid, &start))
        return false;
    int rc = cgroup_proc_start_time(pid, &now);
    if (rc == -ENOENT || rc == -ESRCH)
        return true;
    return rc == 0 && now != start;
}

void pt_cgroup_cleanup_stale_in(const char *hier, const char *own_instance)
{
    char base[PATH_MAX];
    if (pt_cgroup_path(base, hier, PT_CG_DIR, NULL))
        return;
    DIR *d = opendir(base);
    if (!d)
        return;
    struct dirent *e;
    char path[PATH_MAX];
    while ((e = readdir(d)) != NULL) {
        if (e->d_type != DT_DIR || strcmp(e->d_name, own_instance) == 0)
            continue;
        if (!cgroup_instance_is_stale(e->d_name))
            continue;
        if (pt_cgroup_path(path, base, e->d_name, NULL))
            continue;
        /* Best effort: another engine may be cleaning the same leftovers right now. */
        pt_cgroup_remove_tree(path, false, NULL);
    }
    closedir(d);
}

void pt_cgroup_remove_instance(const char *hier, const char *inst_dir, bool fake_tree)
{
    if (!inst_dir[0])
        return;
    pt_cgroup_remove_tree(inst_dir, fake_tree, NULL);
    char base[PATH_MAX];
    if (pt_cgroup_path(base, hier, PT_CG_DIR, NULL))
        return;
    if (fake_tree) {
        /* Only when no other instance is left, or the fixture files would go first. */
        DIR *d = opendir(base);
        if (!d)
            return;
        bool has_dirs = false;
        struct dirent *e;
        while ((e = readdir(d)) != NULL)
            if (e->d_type == DT_DIR && strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                has_dirs = true;
        closedir(d);
        if (has_dirs || cgroup_unlink_files(base, NULL))
            return;
    }
    /* Fails with EBUSY/ENOTEMPTY while another engine's instance lives there: fine. */
    rmdir(base);
}

/* ---------------------------------------------------------------- detection */

static bool cgroup_opts_have(const char *opts, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = opts; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p = comma ? comma + 1 : NULL;
    }
    return false;
}

/*
 * mountinfo: "id parent maj:min root mountpoint opts [optional...] - fstype source superopts".
 * v1 controllers are recognised by the superblock options, not the mount
 * point's name, since distributions mount them under various names.
 */
static int cgroup_scan_mountinfo(struct pt_cgroup_manager *m, char *v2_mount,
                                 struct pt_error *err)
{
    struct pt_buf b;
    pt_buf_init(&b, CGROUP_MOUNTINFO_LIMIT);
    int rc = pt_file_read("/proc/self/mountinfo", CGROUP_MOUNTINFO_LIMIT, &b, err);
    if (rc)
        goto out;
    for (char *line = b.data, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *save = NULL;
        char *tok[6] = {0};
        int ntok = 0;
        char *t = strtok_r(line, " ", &save);
        while (t && ntok < 5) {
            tok[ntok++] = t;
            t = strtok_r(NULL, " ", &save);
        }
        if (ntok < 5)
            continue;
        while (t && strcmp(t, "-") != 0)
            t = strtok_r(NULL, " ", &save);
        if (!t)
            continue;
        char *fstype = strtok_r(NULL, " ", &save);
        char *source = strtok_r(NULL, " ", &save);
        char *super = strtok_r(NULL, " ", &save);
        if (!fstype || !source || !super)
            continue;
        /* Mount points with spaces are octal-escaped; cgroupfs never uses them, skip such. */
        if (strchr(tok[4], '\\'))
            continue;
        if (strcmp(fstype, "cgroup2") == 0) {
            if (!v2_mount[0])
                pt_strlcpy(v2_mount, tok[4], PATH_MAX);
        } else if (strcmp(fstype, "cgroup") == 0) {
            for (int c = 0; c < PT_CG_V1_NCTL; c++)
                if (!m->v1_mount[c][0] && cgroup_opts_have(super, cgroup_v1_ctl_names[c]))
                    pt_strlcpy(m->v1_mount[c], tok[4], PATH_MAX);
        }
    }
out:
    pt_buf_free(&b);
    return rc;
}

/* A fake v1 root holds one dir per controller, or "cpu,cpuacct" co-mounted. */
static int cgroup_fake_v1(struct pt_cgroup_manager *m, const char *root, struct pt_error *err)
{
    char path[PATH_MAX];
    int rc = pt_cgroup_path(path, root, "cpu,cpuacct", err);
    if (rc)
        return rc;
    bool comounted = pt_path_is_dir(path);
    for (int c = 0; c < PT_CG_V1_NCTL; c++) {
        const char *sub = cgroup_v1_ctl_names[c];
        if (comounted && (c == PT_CG_V1_CPU || c == PT_CG_V1_CPUACCT))
            sub = "cpu,cpuacct";
        rc = pt_cgroup_path(path, root, sub, err);
        if (rc)
            return rc;
        if (pt_path_is_dir(path))
            pt_strlcpy(m->v1_mount[c], path, PATH_MAX);
    }
    return 0;
}

static bool cgroup_v1_usable(const struct pt_cgroup_manager *m, char *why, size_t size)
{
    /* pids is optional: kernels before 4.3 lack it, and it only bounds fork bombs. */
    static const int required[] = {PT_CG_V1_CPU, PT_CG_V1_CPUACCT, PT_CG_V1_MEMORY,
                                   PT_CG_V1_FREEZER};
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        if (!m->v1_mount[required[i]][0]) {
            snprintf(why, size, "no cgroup v1 '%s' hierarchy mounted",
                     cgroup_v1_ctl_names[required[i]]);
            return false;
        }
    }
    return true;
}

/* Fills m->v2_enable from the root's cgroup.controllers; false without cpu+memory (unless
 * m->v2_any_controllers: then every controller offered, cgroup.h). */
static bool cgroup_v2_usable(struct pt_cgroup_manager *m, const char *root, char *why,
                             size_t size)
{
    char path[PATH_MAX];
    char text[512];
    if (pt_cgroup_path(path, root, "cgroup.controllers", NULL) ||
        pt_file_read_small(path, text, sizeof(text), NULL) != 0) {
        snprintf(why, size, "cannot read %s/cgroup.controllers", root);
        return false;
    }
    bool has[3] = {false, false, false};
    static const char *const want[3] = {"cpu", "memory", "pids"};
    char *save = NULL;
    size_t n = 0;
    m->v2_enable[0] = '\0';
    for (char *t = strtok_r(text, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
        for (int i = 0; i < 3; i++)
            if (strcmp(t, want[i]) == 0)
                has[i] = true;
        if (m->v2_any_controllers && n + strlen(t) + 2 < sizeof(m->v2_enable))
            n += (size_t)snprintf(m->v2_enable + n, sizeof(m->v2_enable) - n, "%s+%s",
                                  n ? " " : "", t);
    }
    if (m->v2_any_controllers)
        return true;
    if (!has[0] || !has[1]) {
        snprintf(why, size, "cgroup2 at %s lacks the %s controller", root,
                 has[0] ? "memory" : "cpu");
        return false;
    }
    snprintf(m->v2_enable, sizeof(m->v2_enable), "+cpu +memory%s", has[2] ? " +pids" : "");
    return true;
}

static void cgroup_setup_v1_hiers(struct pt_cgroup_manager *m)
{
    m->nhier = 0;
    /* Freezer first, so that stale cleanup and close thaw before anything waits. */
    static const int order[PT_CG_V1_NCTL] = {PT_CG_V1_FREEZER, PT_CG_V1_CPU, PT_CG_V1_CPUACCT,
                                             PT_CG_V1_MEMORY, PT_CG_V1_PIDS};
    for (int i = 0; i < PT_CG_V1_NCTL; i++) {
        int c = order[i];
        m->v1_hier_of[c] = -1;
        if (!m->v1_mount[c][0])
            continue;
        for (int h = 0; h < m->nhier; h++)
            if (strcmp(m->hier[h], m->v1_mount[c]) == 0)
                m->v1_hier_of[c] = h;
        if (m->v1_hier_of[c] < 0) {
            pt_strlcpy(m->hier[m->nhier], m->v1_mount[c], PATH_MAX);
            m->v1_hier_of[c] = m->nhier++;
        }
    }
}

static int cgroup_default_instance(char *out, size_t size, struct pt_error *err)
{
    unsigned long long start;
    pid_t pid = getpid();
    int rc = cgroup_proc_start_time(pid, &start);
    if (rc)
        return pt_error_errno(err, PT_ESYS, -rc, "cannot read the start time in /proc/%ld/stat",
                              (long)pid);
    char tag[9];
    pt_random_hex(tag, 8);
    snprintf(out, size, "%ld-%llu-%s", (long)pid, start, tag);
    return 0;
}

static bool cgroup_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > PT_CG_NAME_MAX || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

static void cgroup_describe_none(struct pt_cgroup_manager *m, const char *why)
{
    snprintf(m->describe, sizeof(m->describe),
             "no cgroups: %.900s; CPU emulated by SIGSTOP/SIGCONT duty cycle, memory by RLIMIT_DATA "
             "(degraded)",
             why);
}

static void cgroup_describe_backend(struct pt_cgroup_manager *m)
{
    int n = 0;
    if (m->kind == PT_CGROUP_V2) {
        n = snprintf(m->describe, sizeof(m->describe), "cgroup v2 at %s%s (%s), instance %s",
                     m->hier[0], m->v2_delegated ? " (delegated; the engine is in its "
                                                   "powertune-engine)" : "",
                     m->v2_enable, m->instance);
    } else {
        n = snprintf(m->describe, sizeof(m->describe), "cgroup v1:");
        for (int c = 0; c < PT_CG_V1_NCTL && n > 0 && (size_t)n < sizeof(m->describe); c++)
            n += snprintf(m->describe + n, sizeof(m->describe) - (size_t)n, " %s=%s",
                          cgroup_v1_ctl_names[c],
                          m->v1_mount[c][0] ? m->v1_mount[c] : "(none: not limited)");
        if (n > 0 && (size_t)n < sizeof(m->describe))
            snprintf(m->describe + n, sizeof(m->describe) - (size_t)n, ", instance %s",
                     m->instance);
    }
    if (m->fake_tree && n > 0 && (size_t)strlen(m->describe) + 12 < sizeof(m->describe))
        strcat(m->describe, " (fake tree)");
}

/* The "0::" line of /proc/self/cgroup: this process's v2 group, relative to the root. */
static int cgroup_v2_read_self(char *out, size_t size, struct pt_error *err)
{
    struct pt_buf b;
    pt_buf_init(&b, CGROUP_SELF_LIMIT);
    int rc = pt_file_read("/proc/self/cgroup", CGROUP_SELF_LIMIT, &b, err);
    if (rc)
        goto out;
    rc = pt_error_set(err, PT_ENOTFOUND, "/proc/self/cgroup has no cgroup v2 line");
    for (char *line = b.data, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (!pt_str_starts_with(line, "0::/"))
            continue;
        if (pt_strlcpy(out, line + 3, size) >= size)
            rc = pt_error_set(err, PT_ELIMIT, "own cgroup path too long: %.200s", line + 3);
        else
            rc = 0;
        break;
    }
out:
    pt_buf_free(&b);
    return rc;
}

/*
 * The v2 hierarchy in a group delegated to this user (cgroup.h): checks the delegation, moves
 * the engine into <own>/powertune-engine and points hier[0] and inst_dir[0] at <own>. A refusal
 * is PT_EPERM with the reason; the caller opens the instance.
 */
static int cgroup_v2_use_delegated(struct pt_cgroup_manager *m, const char *mount,
                                   const char *self, struct pt_error *err)
{
    char rel[PATH_MAX], own[PATH_MAX], path[PATH_MAX], why[PATH_MAX + 128];
    int rc = 0;
    if (self)
        pt_strlcpy(rel, self, sizeof(rel));
    else
        rc = cgroup_v2_read_self(rel, sizeof(rel), err);
    if (rc)
        return rc;
    if (strcmp(rel, "/") == 0 || strstr(rel, "/..") || rel[0] != '/')
        return pt_error_set(err, PT_EPERM, "this process is in the root cgroup, not in one "
                                           "delegated to it");
    if (snprintf(own, sizeof(own), "%s%s", mount, rel) >= (int)sizeof(own))
        return pt_error_set(err, PT_ELIMIT, "own cgroup path too long: %.200s", rel);
    static const char *const needed[] = {"cgroup.procs", "cgroup.subtree_control"};
    bool writable = access(own, W_OK) == 0;
    for (size_t i = 0; writable && i < sizeof(needed) / sizeof(needed[0]); i++)
        writable = pt_cgroup_path(path, own, needed[i], NULL) == 0 && access(path, W_OK) == 0;
    if (!writable)
        return pt_error_set(err, PT_EPERM,
                            "its own cgroup %s is not delegated to it (`systemd-run --user "
                            "--scope -p Delegate=yes powertune ...` makes one that is)",
                            own);
    if (!cgroup_v2_usable(m, own, why, sizeof(why)))
        return pt_error_set(err, PT_EPERM, "delegated %s", why);
    char pid[24];
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    rc = pt_cgroup_path(path, own, PT_CG_DIR "-engine", err);
    if (!rc)
        rc = pt_cgroup_mkdir(path, err);
    if (!rc)
        rc = pt_cgroup_write(path, "cgroup.procs", pid, err);
    if (!rc && snprintf(m->inst_dir[0], PATH_MAX, "%s/" PT_CG_DIR "/%s", own, m->instance) >=
                   PATH_MAX)
        rc = pt_error_set(err, PT_ELIMIT, "cgroup path too long under %s", own);
    if (rc) {
        m->inst_dir[0][0] = '\0';
        pt_error_wrap(err, "in the delegated cgroup %s", own);
        return rc;
    }
    pt_strlcpy(m->hier[0], own, PATH_MAX);
    m->v2_delegated = true;
    return 0;
}

/* ---------------------------------------------------------------- public API */

/* ---------------------------------------------------------------- sentry */

/* The none backend's process groups a sentry can track (beyond them: not killed). */
#define CGROUP_SENTRY_GROUPS 4096

/*
 * The none backend's groups to kill: a message is one pid_t, the group's id to add, or its
 * negation to remove (pipe writes of 4 bytes are atomic, so reads hold whole messages).
 * Returns false at the end of the pipe.
 */
static bool cgroup_sentry_read_groups(int fd, pid_t *groups, size_t *n)
{
    pid_t msg[256];
    for (;;) {
        ssize_t got = read(fd, msg, sizeof(msg));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return got < 0 && errno == EAGAIN;
        for (size_t i = 0; i < (size_t)got / sizeof(pid_t); i++) {
            if (msg[i] > 0 && *n < CGROUP_SENTRY_GROUPS) {
                groups[(*n)++] = msg[i];
                continue;
            }
            for (size_t j = 0; j < *n; j++)
                if (groups[j] == -msg[i]) {
                    groups[j] = groups[--*n];
                    break;
                }
        }
    }
}

/*
 * The sentry's life: asleep on a pidfd of the engine until the engine is gone,
 * then close's removal of the instance (its processes killed, thawed first),
 * and for the none backend a SIGKILL to every process group it was told of.
 * It ignores the terminal's and the shell's signals and leaves the engine's
 * session, so a hang-up or a kill of the process group still finds it there.
 */
__attribute__((noreturn)) static void cgroup_sentry_run(struct pt_cgroup_manager *m,
                                                        int engine_fd, int groups_fd)
{
    static const int ignored[] = {SIGINT, SIGQUIT, SIGHUP, SIGTERM, SIGPIPE, SIGTSTP, SIGTTIN,
                                  SIGTTOU, SIGUSR1, SIGUSR2};
    struct sigaction ign = {.sa_handler = SIG_IGN};
    for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
        sigaction(ignored[i], &ign, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setsid();
    prctl(PR_SET_NAME, "pt-sentry");
    /* Nothing of the engine's stays open here (listening sockets, pipes, stdout): only the
     * pidfd (3) and the groups' pipe (4), and /dev/null as the standard three. */
    int high_engine = fcntl(engine_fd, F_DUPFD, 100);
    int high_groups = groups_fd >= 0 ? fcntl(groups_fd, F_DUPFD, 100) : -1;
    if (high_engine < 0 || (groups_fd >= 0 && high_groups < 0))
        _exit(1); /* RLIMIT_NOFILE under 101: no sentry, the stale cleanup remains */
    int null = open("/dev/null", O_RDWR);
    for (int fd = 0; fd < 3 && null >= 0; fd++)
        dup2(null, fd);
    dup2(high_engine, 3);
    if (high_groups >= 0)
        dup2(high_groups, 4);
    close_range(high_groups >= 0 ? 5 : 4, ~0U, 0);
    pid_t groups[CGROUP_SENTRY_GROUPS];
    size_t n = 0;
    struct pollfd p[2] = {{.fd = 3, .events = POLLIN},
                          {.fd = high_groups >= 0 ? 4 : -1, .events = POLLIN}};
    for (;;) {
        int ready = poll(p, 2, -1);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0 || (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
            break;
        if (p[1].revents && !cgroup_sentry_read_groups(4, groups, &n))
            p[1].fd = -1;
    }
    if (p[1].fd >= 0)
        cgroup_sentry_read_groups(4, groups, &n);
    for (size_t i = 0; i < n; i++)
        kill(-groups[i], SIGKILL); /* stopped ones too */
    m->ops->close_instance(m);
    _exit(0);
}

/*
 * An engine killed without closing (kill -9, a crash, a hang-up it does not
 * handle) used to leave its functions' processes, frozen mostly, and its groups
 * until the next engine's stale cleanup (the none backend: stopped processes
 * for good). A child forked here cleans up right after: forked, not exec'd
 * (the engine may be a test binary), so it makes only calls that hold no lock
 * another thread of a threaded fork could have held: close_instance's path is
 * system calls, snprintf and stack buffers (cgroup_kill_listed,
 * pt_cgroup_remove_tree). pidfd_open arrived in Linux 5.3; before it there is
 * no sentry and the stale cleanup remains.
 */
static void cgroup_start_sentry(struct pt_cgroup_manager *m)
{
    int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    if (fd < 0)
        return;
    int groups[2] = {-1, -1};
    if (m->kind == PT_CGROUP_NONE && pipe2(groups, O_CLOEXEC | O_NONBLOCK) != 0) {
        close(fd);
        return;
    }
    pid_t pid = fork();
    if (pid == 0)
        cgroup_sentry_run(m, fd, groups[0]);
    close(fd);
    if (groups[0] >= 0)
        close(groups[0]);
    if (pid <= 0) {
        if (groups[1] >= 0)
            close(groups[1]);
        return;
    }
    m->sentry = pid;
    m->sentry_groups_fd = groups[1];
}

void pt_cgroup_sentry_watch(struct pt_cgroup_manager *m, pid_t pgid, bool watched)
{
    if (m->sentry_groups_fd < 0 || pgid <= 0)
        return;
    pid_t msg = watched ? pgid : -pgid;
    /* Best effort: a full pipe (a sentry that cannot keep up) drops the message. */
    ssize_t w;
    do {
        w = write(m->sentry_groups_fd, &msg, sizeof(msg));
    } while (w < 0 && errno == EINTR);
}

static void cgroup_stop_sentry(struct pt_cgroup_manager *m)
{
    if (m->sentry <= 0)
        return;
    kill(m->sentry, SIGKILL);
    while (waitpid(m->sentry, NULL, 0) < 0 && errno == EINTR)
        ;
    m->sentry = 0;
    if (m->sentry_groups_fd >= 0)
        close(m->sentry_groups_fd);
    m->sentry_groups_fd = -1;
}

/*
 * Resolves which backend applies: explicit kinds must work or fail; AUTO
 * prefers v2 with cpu+memory, then v1, and falls back to "none" when there is
 * no usable hierarchy or creating our directories is not permitted.
 */
int pt_cgroup_manager_open(struct pt_cgroup_manager **out,
                           const struct pt_cgroup_manager_options *opt, struct pt_error *err)
{
    static const struct pt_cgroup_manager_options defaults = {0};
    if (!opt)
        opt = &defaults;
    *out = NULL;
    int rc = 0;
    struct pt_cgroup_manager *m = calloc(1, sizeof(*m));
    if (!m)
        return pt_error_set(err, PT_ENOMEM, "out of memory for the cgroup manager");
    m->sentry_groups_fd = -1;
    m->fake_tree = opt->fake_tree;
    m->v2_any_controllers = opt->v2_any_controllers;
    pthread_mutex_init(&m->spare_mu, NULL);
    for (int c = 0; c < PT_CG_V1_NCTL; c++)
        m->v1_hier_of[c] = -1;

    if (opt->instance) {
        if (!cgroup_name_ok(opt->instance) ||
            pt_strlcpy(m->instance, opt->instance, sizeof(m->instance)) >= sizeof(m->instance)) {
            rc = pt_error_set(err, PT_EUSAGE,
                              "invalid cgroup instance name '%s' (letters, digits, '-', '_', "
                              "'.'; at most %d characters)",
                              opt->instance, PT_CG_INSTANCE_MAX - 1);
            goto fail;
        }
    } else {
        rc = cgroup_default_instance(m->instance, sizeof(m->instance), err);
        if (rc)
            goto fail;
    }

    if (opt->kind == PT_CGROUP_NONE) {
        m->kind = PT_CGROUP_NONE;
        cgroup_describe_none(m, "disabled by configuration");
        goto none;
    }

    char v2_mount[PATH_MAX] = "";
    if (opt->v2_root)
        pt_strlcpy(v2_mount, opt->v2_root, sizeof(v2_mount));
    if (opt->v1_root) {
        rc = cgroup_fake_v1(m, opt->v1_root, err);
        if (rc)
            goto fail;
    }
    /* Tests that pass a fake root must not pick up the host's real hierarchies. */
    if (!opt->v1_root && !opt->v2_root) {
        rc = cgroup_scan_mountinfo(m, v2_mount, err);
        if (rc) {
            pt_error_wrap(err, "while looking for cgroup mounts");
            goto fail;
        }
    }

    char why_v2[PATH_MAX + 128] = "no cgroup2 mount";
    char why_v1[256] = "";
    bool v2_ok = v2_mount[0] && cgroup_v2_usable(m, v2_mount, why_v2, sizeof(why_v2));
    bool v1_ok = cgroup_v1_usable(m, why_v1, sizeof(why_v1));

    if (opt->kind == PT_CGROUP_V2 || (opt->kind == PT_CGROUP_AUTO && v2_ok)) {
        if (!v2_ok) {
            rc = pt_error_set(err, PT_ENOTFOUND, "cgroup v2 requested but unusable: %s", why_v2);
            goto fail;
        }
        m->kind = PT_CGROUP_V2;
        m->ops = &pt_cgroup_v2_ops;
        m->nhier = 1;
        pt_strlcpy(m->hier[0], v2_mount, PATH_MAX);
    } else if (opt->kind == PT_CGROUP_V1 || (opt->kind == PT_CGROUP_AUTO && v1_ok)) {
        if (!v1_ok) {
            rc = pt_error_set(err, PT_ENOTFOUND, "cgroup v1 requested but unusable: %s", why_v1);
            goto fail;
        }
        m->kind = PT_CGROUP_V1;
        m->ops = &pt_cgroup_v1_ops;
        cgroup_setup_v1_hiers(m);
    } else if (opt->kind == PT_CGROUP_AUTO) {
        char why[PT_CG_DESCRIBE_MAX];
        snprintf(why, sizeof(why), "no usable hierarchy (%.600s; %.200s)", why_v2, why_v1);
        m->kind = PT_CGROUP_NONE;
        cgroup_describe_none(m, why);
        goto none;
    } else {
        rc = pt_error_set(err, PT_EUSAGE, "unknown cgroup kind %d", (int)opt->kind);
        goto fail;
    }

    for (int h = 0; h < m->nhier; h++) {
        rc = pt_cgroup_path(m->inst_dir[h], m->hier[h], PT_CG_DIR "/", err);
        if (!rc && strlen(m->inst_dir[h]) + strlen(m->instance) >= PATH_MAX)
            rc = pt_error_set(err, PT_ELIMIT, "cgroup path too long under %s", m->hier[h]);
        if (rc)
            goto fail;
        strcat(m->inst_dir[h], m->instance);
    }
    if (!m->fake_tree)
        m->ops->cleanup_stale(m);
    struct pt_error open_err;
    rc = m->ops->open_instance(m, &open_err);
    if (rc == PT_EPERM && m->kind == PT_CGROUP_V2) {
        /* Not allowed at the root: a group delegated to this user will do (cgroup.h). */
        struct pt_error deleg_err;
        m->ops->close_instance(m);
        m->inst_dir[0][0] = '\0';
        rc = cgroup_v2_use_delegated(m, v2_mount, opt->v2_self, &deleg_err);
        if (!rc && !m->fake_tree)
            m->ops->cleanup_stale(m);
        if (!rc)
            rc = m->ops->open_instance(m, &deleg_err);
        if (rc) {
            m->ops->close_instance(m);
            char both[sizeof(open_err.msg)];
            snprintf(both, sizeof(both), "%.500s; %.500s", open_err.msg, deleg_err.msg);
            rc = pt_error_set(&open_err, rc, "%s", both);
        }
    }
    if (rc) {
        /* Not permitted, or the layout forbids it (cgroup_v2_enable_controllers): degrade. */
        if (opt->kind == PT_CGROUP_AUTO && (rc == PT_EPERM || rc == PT_ESTATE)) {
            m->ops->close_instance(m);
            m->kind = PT_CGROUP_NONE;
            cgroup_describe_none(m, open_err.msg);
            goto none;
        }
        if (err)
            *err = open_err;
        m->ops->close_instance(m);
        goto fail;
    }
    cgroup_describe_backend(m);
    if (!m->fake_tree)
        cgroup_start_sentry(m);
    *out = m;
    return 0;

none:
    m->ops = &pt_cgroup_none_ops;
    m->degraded = true;
    m->nhier = 0;
    if (!m->fake_tree)
        cgroup_start_sentry(m);
    *out = m;
    return 0;

fail:
    pthread_mutex_destroy(&m->spare_mu);
    free(m);
    return rc;
}

enum pt_cgroup_kind pt_cgroup_manager_kind(const struct pt_cgroup_manager *m)
{
    return m->kind;
}

const char *pt_cgroup_manager_describe(const struct pt_cgroup_manager *m)
{
    return m->describe;
}

bool pt_cgroup_manager_degraded(const struct pt_cgroup_manager *m)
{
    return m->degraded;
}

void pt_cgroup_manager_close(struct pt_cgroup_manager *m)
{
    if (!m)
        return;
    cgroup_stop_sentry(m);
    pt_cgroup_destroy(m->spare, NULL);
    m->ops->close_instance(m);
    pthread_mutex_destroy(&m->spare_mu);
    free(m);
}

static int cgroup_check_cpu(unsigned long long quota_us, unsigned long long period_us,
                            struct pt_error *err);

/* A new group: its directories, descriptors and limits (the backend's create). */
static int cgroup_make(struct pt_cgroup_manager *m, const char *name,
                       const struct pt_cgroup_limits *lim, struct pt_cgroup **out,
                       struct pt_error *err)
{
    struct pt_cgroup *cg = calloc(1, sizeof(*cg));
    if (!cg)
        return pt_error_set(err, PT_ENOMEM, "out of memory for cgroup %s", name);
    cg->m = m;
    pt_strlcpy(cg->name, name, sizeof(cg->name));
    for (int i = 0; i < PT_CG_MAX_HIER; i++)
        cg->procs_fd[i] = -1;
    for (int i = 0; i < PT_CG_STAT_SLOTS; i++)
        cg->stat_fd[i] = -1;
    for (int i = 0; i < PT_CG_WRITE_SLOTS; i++)
        cg->write_fd[i] = -1;
    cg->lim = *lim;
    int rc = m->ops->create(cg, lim, err);
    if (rc) {
        pt_error_wrap(err, "cannot create cgroup %s", name);
        pt_cgroup_close_fds(cg);
        free(cg);
        return rc;
    }
    *out = cg;
    return 0;
}

static bool cgroup_limits_equal(const struct pt_cgroup_limits *a, const struct pt_cgroup_limits *b)
{
    return a->cpu_quota_us == b->cpu_quota_us && a->cpu_period_us == b->cpu_period_us &&
           a->memory_bytes == b->memory_bytes && a->pids_max == b->pids_max;
}

/* Whether set_limits(want) turns a group limited as `have` into one limited as `want`: it writes
 * only the limits `want` sets, so it cannot lift one that `have` sets and `want` does not. */
static bool cgroup_limits_reachable(const struct pt_cgroup_limits *have,
                                    const struct pt_cgroup_limits *want)
{
    return (!have->cpu_quota_us || want->cpu_quota_us) &&
           (!have->memory_bytes || want->memory_bytes) && (!have->pids_max || want->pids_max);
}

/* The spare, with the limits applied (already, when it was made with them), or NULL when there
 * is none, or it has a limit these do not (it stays for a create it suits), or the limits could
 * not be set (then it is removed). The caller then makes a group of its own. */
static struct pt_cgroup *cgroup_take_spare(struct pt_cgroup_manager *m,
                                           const struct pt_cgroup_limits *lim)
{
    if (!m->ops->set_limits)
        return NULL;
    pthread_mutex_lock(&m->spare_mu);
    struct pt_cgroup *cg = m->spare;
    if (cg && !cgroup_limits_reachable(&cg->lim, lim))
        cg = NULL;
    else
        m->spare = NULL;
    pthread_mutex_unlock(&m->spare_mu);
    if (cg && !cgroup_limits_equal(&cg->lim, lim) && m->ops->set_limits(cg, lim, NULL) != 0) {
        pt_cgroup_destroy(cg, NULL);
        cg = NULL;
    }
    if (cg)
        cg->lim = *lim;
    return cg;
}

/* No limits: a spare made without likely ones, or a create without any. */
static const struct pt_cgroup_limits cgroup_no_limits = {0};

/* The CPU part of lim within the kernel's bounds (cgroup_check_cpu), when it has one. */
static int cgroup_check_limits(const struct pt_cgroup_limits *lim, struct pt_error *err)
{
    if (!lim->cpu_quota_us && !lim->cpu_period_us)
        return 0;
    return cgroup_check_cpu(lim->cpu_quota_us,
                            lim->cpu_period_us ? lim->cpu_period_us : PT_CFS_PERIOD_US, err);
}

int pt_cgroup_create(struct pt_cgroup_manager *m, const char *name,
                     const struct pt_cgroup_limits *lim, struct pt_cgroup **out,
                     struct pt_error *err)
{
    *out = NULL;
    if (!name || !cgroup_name_ok(name))
        return pt_error_set(err, PT_EUSAGE,
                            "invalid cgroup name '%s' (letters, digits, '-', '_', '.'; at most "
                            "%d characters)",
                            name ? name : "(null)", PT_CG_NAME_MAX);
    if (!lim)
        lim = &cgroup_no_limits;
    if (cgroup_check_limits(lim, err))
        return pt_error_wrap(err, "cgroup %s", name);
    *out = cgroup_take_spare(m, lim);
    return *out ? 0 : cgroup_make(m, name, lim, out, err);
}

int pt_cgroup_prepare_spare(struct pt_cgroup_manager *m, const struct pt_cgroup_limits *likely,
                            struct pt_error *err)
{
    if (!m->ops->set_limits)
        return 0;
    if (!likely)
        likely = &cgroup_no_limits;
    if (cgroup_check_limits(likely, err))
        return pt_error_wrap(err, "spare cgroup");
    pthread_mutex_lock(&m->spare_mu);
    /* Only the thread that makes the spare clears the mark: one that finds it set leaves it. */
    bool wanted = !m->spare && !m->spare_making;
    unsigned seq = wanted ? ++m->spare_seq : 0;
    if (wanted)
        m->spare_making = true;
    pthread_mutex_unlock(&m->spare_mu);
    if (!wanted)
        return 0;
    char name[32];
    snprintf(name, sizeof(name), "spare-%u", seq);
    struct pt_cgroup *cg = NULL;
    int rc = cgroup_make(m, name, likely, &cg, err);
    pthread_mutex_lock(&m->spare_mu);
    m->spare = cg;
    m->spare_making = false;
    pthread_mutex_unlock(&m->spare_mu);
    return rc;
}

/* The kernel's CFS bounds, checked here so every backend refuses the same input. */
static int cgroup_check_cpu(unsigned long long quota_us, unsigned long long period_us,
                            struct pt_error *err)
{
    if (period_us < 1000 || period_us > 1000000)
        return pt_error_set(err, PT_EUSAGE, "CPU period %llu us outside 1000..1000000", period_us);
    if (quota_us != 0 && quota_us < PT_CFS_MIN_QUOTA_US)
        return pt_error_set(err, PT_EUSAGE, "CPU quota %llu us below the kernel minimum of %llu",
                            quota_us, PT_CFS_MIN_QUOTA_US);
    return 0;
}

int pt_cgroup_set_cpu(struct pt_cgroup *cg, unsigned long long quota_us,
                      unsigned long long period_us, struct pt_error *err)
{
    int rc = cgroup_check_cpu(quota_us, period_us, err);
    if (rc)
        return rc;
    return cg->m->ops->set_cpu(cg, quota_us, period_us, err);
}

int pt_cgroup_enter_child(const struct pt_cgroup *cg)
{
    return cg->m->ops->enter_child(cg);
}

int pt_cgroup_adopt(struct pt_cgroup *cg, pid_t leader, struct pt_error *err)
{
    if (leader <= 0)
        return pt_error_set(err, PT_EUSAGE, "cgroup %s: invalid leader pid %ld", cg->name,
                            (long)leader);
    return cg->m->ops->adopt(cg, leader, err);
}

int pt_cgroup_freeze(struct pt_cgroup *cg, bool frozen, struct pt_error *err)
{
    return cg->m->ops->freeze(cg, frozen, err);
}

int pt_cgroup_open_stats(struct pt_cgroup *cg, struct pt_error *err)
{
    /* A read opens each slot's file, which then stays open. */
    struct pt_cgroup_stats discarded;
    return pt_cgroup_read_stats(cg, &discarded, err);
}

int pt_cgroup_read_stats(struct pt_cgroup *cg, struct pt_cgroup_stats *out, struct pt_error *err)
{
    memset(out, 0, sizeof(*out));
    return cg->m->ops->read_stats(cg, out, err);
}

int pt_cgroup_reset_peak(struct pt_cgroup *cg, struct pt_error *err)
{
    if (!cg->m->ops->reset_peak)
        return pt_error_set(err, PT_ESTATE, "the %s backend keeps no memory peak to restart",
                            cg->m->ops->name);
    return cg->m->ops->reset_peak(cg, err);
}

int pt_cgroup_read_cpu(struct pt_cgroup *cg, unsigned long long *ns, struct pt_error *err)
{
    if (cg->m->ops->read_cpu)
        return cg->m->ops->read_cpu(cg, ns, err);
    struct pt_cgroup_stats st;
    int rc = pt_cgroup_read_stats(cg, &st, err);
    *ns = rc ? 0 : st.cpu_usage_ns;
    return rc;
}

int pt_cgroup_kill_all(struct pt_cgroup *cg, struct pt_error *err)
{
    return cg->m->ops->kill_all(cg, err);
}

int pt_cgroup_destroy(struct pt_cgroup *cg, struct pt_error *err)
{
    if (!cg)
        return 0;
    int rc = cg->m->ops->destroy(cg, err);
    pt_cgroup_close_fds(cg);
    free(cg);
    return rc;
}
