#include "engine/ephemeral.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/loop.h>
#include <linux/magic.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/str.h"

extern char **environ;

/* Bumped whenever the mkfs options below change: a template is never reused across them. */
#define EPHEMERAL_FORMAT "v3"
#define EPHEMERAL_MIN_MB 512
#define EPHEMERAL_MAX_MB 10240
#define EPHEMERAL_MKFS_OUTPUT 1024
/* A scratch disk thrown away with its environment: no background zeroing of inode tables
 * (ext4lazyinit would write them out on every copy), no cache flushes. */
#define EPHEMERAL_MOUNT_OPTIONS "noinit_itable,nobarrier"
/* Loop devices another process takes between LOOP_CTL_GET_FREE and LOOP_CONFIGURE. */
#define EPHEMERAL_ATTACH_TRIES 16

struct pt_ephemeral {
    pthread_mutex_t mu; /* one mkfs at a time */
    char dir[PATH_MAX];
    char mkfs[PATH_MAX]; /* "" when /tmp is a tmpfs */
    char note[PT_ERROR_MSG_MAX + 160];
};

/* ---- choosing: disk or memory ---- */

static bool ephemeral_find_mkfs(char *out, size_t size)
{
    static const char *const dirs[] = {"/usr/sbin", "/sbin", "/usr/local/sbin"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        if (pt_path_join(out, size, dirs[i], "mkfs.ext4") == 0 && pt_path_is_executable(out))
            return true;
    }
    out[0] = '\0';
    return false;
}

/* A free loop device, opened (its path into path, 32 bytes), or -1; system calls only (the
 * runtime's child uses it too). */
static int ephemeral_open_free_loop(int ctl, char *path)
{
    int n = ioctl(ctl, LOOP_CTL_GET_FREE);
    if (n < 0)
        return -1;
    memcpy(path, "/dev/loop", sizeof("/dev/loop") - 1);
    pt_utoa((unsigned long)n, path + sizeof("/dev/loop") - 1);
    return open(path, O_RDWR | O_CLOEXEC);
}

/* Whether a loop device can be had and opened: most containers have neither the devices nor
 * the permission (device cgroup). NULL, or why not. */
static const char *ephemeral_probe_loop(void)
{
    int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    if (ctl < 0)
        return "/dev/loop-control cannot be opened";
    char path[32];
    int dev = ephemeral_open_free_loop(ctl, path);
    close(ctl);
    if (dev < 0)
        return "no loop device can be had and opened";
    close(dev);
    return NULL;
}

/* Each image is an O_TMPFILE file (overlayfs before Linux 6.6, read-only mounts and some
 * network file systems cannot make one) copied by its data extents: where SEEK_HOLE finds no
 * hole in a file that is all hole, each cold start would copy the whole image (10 GB at
 * 10240 MB). NULL, or why the directory will not do. */
static const char *ephemeral_probe_dir(const char *dir)
{
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        return "the state directory's file system cannot hold unnamed files (O_TMPFILE)";
    const char *why = NULL;
    if (ftruncate(fd, 1 << 20) != 0 || lseek(fd, 0, SEEK_HOLE) != 0)
        why = "the state directory's file system does not report holes (SEEK_HOLE)";
    close(fd);
    return why;
}

static bool ephemeral_on_memory(const char *dir)
{
    struct statfs fs;
    return statfs(dir, &fs) == 0 &&
           (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC);
}

int pt_ephemeral_open(struct pt_ephemeral **out, const char *state_dir, struct pt_error *err)
{
    struct pt_ephemeral *e = calloc(1, sizeof(*e));
    if (!e)
        return pt_error_set(err, PT_ENOMEM, "out of memory for the ephemeral storage");
    pthread_mutex_init(&e->mu, NULL);
    const char *why = NULL;
    struct pt_error local = {0};
    if (pt_path_join(e->dir, sizeof(e->dir), state_dir, "ephemeral") != 0)
        why = "the state directory's path is too long";
    else if (pt_mkdir_p(e->dir, 0700, &local) != 0)
        why = local.msg;
    else if (ephemeral_on_memory(e->dir))
        why = "the state directory is on tmpfs; set POWERTUNE_STATE_DIR to a disk";
    else if (!ephemeral_find_mkfs(e->mkfs, sizeof(e->mkfs)))
        why = "mkfs.ext4 not found (Debian: e2fsprogs)";
    else if (!(why = ephemeral_probe_dir(e->dir)))
        why = ephemeral_probe_loop();
    if (why) {
        e->mkfs[0] = '\0';
        snprintf(e->note, sizeof(e->note),
                 "/tmp is a tmpfs (%s): files written there count against MemorySize, unlike "
                 "Lambda's disk-backed /tmp",
                 why);
    }
    *out = e;
    return 0;
}

void pt_ephemeral_free(struct pt_ephemeral *e)
{
    if (!e)
        return;
    pthread_mutex_destroy(&e->mu);
    free(e);
}

const char *pt_ephemeral_note(const struct pt_ephemeral *e)
{
    return e->mkfs[0] ? NULL : e->note;
}

static int ephemeral_loop_attach(int img, char *path);

unsigned long long pt_ephemeral_short_of(const struct pt_ephemeral *e, int mb)
{
    struct statvfs fs;
    if (!e->mkfs[0] || statvfs(e->dir, &fs) != 0)
        return 0;
    unsigned long long free_mb = ((unsigned long long)fs.f_bavail * fs.f_frsize) >> 20;
    return free_mb < (unsigned long long)mb ? (free_mb ? free_mb : 1) : 0;
}

/* ---- templates ---- */

/*
 * The image's 4 KiB blocks for a file system whose free space, as statfs shows it to a user,
 * is at least mb MiB and at most ~1 MiB more: ext4 keeps back min(2 %, 4096 blocks) for
 * delayed allocation (ext4_calculate_resv_clusters), one inode table block per 64 data blocks
 * with -i 16384 and 256-byte inodes, and two bitmaps and a descriptor share per 32768-block
 * group; the root and its directory blocks take a few more.
 */
static unsigned long long ephemeral_blocks(int mb)
{
    unsigned long long want = (unsigned long long)mb * 256, total = want;
    for (int i = 0; i < 4; i++) {
        unsigned long long reserved = total / 50 < 4096 ? total / 50 : 4096;
        unsigned long long groups = (total + 32767) / 32768;
        total = want + reserved + total / 64 + groups * 3 + 64;
    }
    return total;
}

/* Runs mkfs.ext4 on path; its messages go into err when it fails. */
static int ephemeral_mkfs(const struct pt_ephemeral *e, const char *path, unsigned long long blocks,
                          struct pt_error *err)
{
    char count[32];
    snprintf(count, sizeof(count), "%llu", blocks);
    /* No journal (a scratch disk thrown away with its environment), no root reserve (functions
     * do not run as root), nothing reserved for growth; mke2fs's own inode ratio for file
     * systems of this size (one per 16 KiB, ~34000 in 512 MB: a function unpacking many small files
     * there runs out of space, not of inodes, first). */
    char *const argv[] = {(char *)e->mkfs, "-q", "-F", "-t", "ext4", "-b", "4096", "-m", "0",
                          "-i", "16384", "-O", "^has_journal,^resize_inode",
                          "-E", "root_owner=0:0,lazy_itable_init=1,nodiscard", (char *)path,
                          count, NULL};
    int pipefd[2] = {-1, -1};
    int rc = 0;
    pid_t pid = -1;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        rc = pt_error_errno(err, PT_ESYS, errno, "ephemeral storage: pipe");
        goto done;
    }
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
    int serr = posix_spawn(&pid, e->mkfs, &fa, &attr, argv, environ);
    close(pipefd[1]);
    pipefd[1] = -1;
    if (serr != 0) {
        rc = pt_error_errno(err, PT_ESYS, serr, "ephemeral storage: cannot run %s", e->mkfs);
        goto done;
    }
    char msg[EPHEMERAL_MKFS_OUTPUT];
    size_t used = 0;
    for (;;) {
        char chunk[256];
        ssize_t n = read(pipefd[0], chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        size_t keep = (size_t)n < sizeof(msg) - 1 - used ? (size_t)n : sizeof(msg) - 1 - used;
        memcpy(msg + used, chunk, keep);
        used += keep;
    }
    while (used > 0 && (msg[used - 1] == '\n' || msg[used - 1] == ' '))
        used--;
    msg[used] = '\0';
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            rc = pt_error_errno(err, PT_ESYS, errno, "ephemeral storage: waitpid");
            goto done;
        }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        rc = pt_error_set(err, PT_EIO, "ephemeral storage: %s failed (status %d): %s", e->mkfs,
                          WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                          msg);
done:
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

/*
 * Makes the fresh file system in fd what each /tmp starts as (root 1777, no lost+found), so
 * that no environment spends the ~0.6 ms on it: mounted once by a child in a mount namespace
 * of its own, over the template's directory (hidden there only), so that no mount point is
 * left behind when the engine is killed meanwhile.
 */
static int ephemeral_prepare(const struct pt_ephemeral *e, int fd, struct pt_error *err)
{
    const char *mnt = e->dir;
    char lost[PATH_MAX];
    if (pt_path_join(lost, sizeof(lost), mnt, "lost+found") != 0)
        return pt_error_set(err, PT_ELIMIT, "ephemeral storage: path too long under %s", e->dir);
    int rc = 0;
    pid_t pid = fork();
    if (pid == 0) {
        /* System calls only: the engine's other threads may hold any lock. */
        char path[32];
        int status = 1;
        int dev = -1;
        if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
            (dev = ephemeral_loop_attach(fd, path)) >= 0 &&
            mount(path, mnt, "ext4", MS_NOSUID | MS_NODEV, EPHEMERAL_MOUNT_OPTIONS) == 0) {
            status = chmod(mnt, 01777) == 0 && rmdir(lost) == 0 ? 0 : 3;
            if (umount2(mnt, 0) != 0)
                status = 4;
        } else {
            status = dev < 0 ? 2 : 5;
        }
        if (dev >= 0)
            close(dev);
        _exit(status);
    }
    int status = 0;
    if (pid < 0) {
        rc = pt_error_errno(err, PT_ESYS, errno, "ephemeral storage: fork");
    } else {
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            rc = pt_error_set(err, PT_EIO,
                              "ephemeral storage: cannot prepare the new file system (%s)",
                              WIFEXITED(status) && WEXITSTATUS(status) == 2
                                  ? "no loop device could be attached"
                                  : "mounting it failed");
    }
    return rc;
}

int pt_ephemeral_template(struct pt_ephemeral *e, int mb, char *out, size_t size,
                          struct pt_error *err)
{
    if (mb < EPHEMERAL_MIN_MB || mb > EPHEMERAL_MAX_MB)
        return pt_error_set(err, PT_EUSAGE, "EphemeralStorage.Size %d: allowed 512..10240 MB", mb);
    if (!e->mkfs[0]) {
        if (size)
            out[0] = '\0';
        return 0;
    }
    unsigned long long blocks = ephemeral_blocks(mb);
    char name[64], tmp[PATH_MAX];
    snprintf(name, sizeof(name), "ext4-%dm-%s.img", mb, EPHEMERAL_FORMAT);
    if (pt_path_join(out, size, e->dir, name) != 0)
        return pt_error_set(err, PT_ELIMIT, "ephemeral storage: path too long under %s", e->dir);
    int rc = 0, fd = -1;
    char fd_path[64];
    tmp[0] = '\0';
    pthread_mutex_lock(&e->mu);
    struct stat st;
    if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && (unsigned long long)st.st_size == blocks * 4096)
        goto done;
    /* The directory again: removed while the engine runs (a user reclaiming space), it would
     * otherwise fail every cold start until a restart. */
    if ((rc = pt_mkdir_p(e->dir, 0700, err)) != 0)
        goto done;
    /* Made unnamed (mkfs.ext4 writes it through /proc), so that an engine killed meanwhile
     * leaves nothing; then named beside the template and renamed over it: another engine on
     * the same state directory sees it whole. */
    fd = open(e->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = pt_error_errno(err, PT_ESYS, errno, "ephemeral storage: cannot create a file in %s",
                            e->dir);
        goto done;
    }
    snprintf(fd_path, sizeof(fd_path), "/proc/%ld/fd/%d", (long)getpid(), fd);
    if (ftruncate(fd, (off_t)(blocks * 4096)) != 0) {
        rc = pt_error_errno(err, PT_ESYS, errno, "ephemeral storage: cannot size the template in %s",
                            e->dir);
        goto done;
    }
    rc = ephemeral_mkfs(e, fd_path, blocks, err);
    if (!rc)
        rc = ephemeral_prepare(e, fd, err);
    if (rc)
        goto done;
    /* The engine's own name (one template at a time here): one a killed engine of the same
     * pid left in the microseconds before its rename is replaced. */
    if (snprintf(tmp, sizeof(tmp), "%s/.%s.%ld", e->dir, name, (long)getpid()) >=
        (int)sizeof(tmp)) {
        tmp[0] = '\0';
        rc = pt_error_set(err, PT_ELIMIT, "ephemeral storage: path too long under %s", e->dir);
        goto done;
    }
    unlink(tmp);
    if (fsync(fd) != 0 || linkat(AT_FDCWD, fd_path, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) != 0) {
        rc = pt_error_errno(err, PT_ESYS, errno, "ephemeral storage: cannot keep %s", out);
        tmp[0] = '\0';
        goto done;
    }
    if (rename(tmp, out) != 0) {
        rc = pt_error_errno(err, PT_ESYS, errno, "ephemeral storage: cannot keep %s", out);
        goto done;
    }
    tmp[0] = '\0';
done:
    if (fd >= 0)
        close(fd);
    if (tmp[0])
        unlink(tmp);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

/* ---- in the child: system calls only (it shares the engine's memory) ---- */

/* The template's data extents into dst; the holes stay holes. */
static bool ephemeral_copy_extents(int src, int dst, off_t size)
{
    off_t pos = 0;
    for (;;) {
        off_t data = lseek(src, pos, SEEK_DATA);
        if (data < 0)
            return errno == ENXIO; /* no data past pos */
        off_t hole = lseek(src, data, SEEK_HOLE);
        if (hole < 0)
            return false;
        loff_t in = data, out = data;
        while (in < hole) {
            ssize_t n = copy_file_range(src, &in, dst, &out, (size_t)(hole - in), 0);
            if (n <= 0)
                return false;
        }
        pos = hole;
        if (pos >= size)
            return true;
    }
}

/* Attaches img to a free loop device: its descriptor (path into path), or -1. */
static int ephemeral_loop_attach(int img, char *path)
{
    int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    if (ctl < 0)
        return -1;
    int dev = -1;
    for (int tries = 0; tries < EPHEMERAL_ATTACH_TRIES && dev < 0; tries++) {
        dev = ephemeral_open_free_loop(ctl, path);
        if (dev < 0)
            break;
        /* Direct I/O: the image's blocks are cached once, by the file system on top, not a
         * second time as the backing file's pages. Autoclear: detached at the last unmount. */
        struct loop_config cfg;
        memset(&cfg, 0, sizeof(cfg));
        cfg.fd = (unsigned)img;
        cfg.block_size = 4096;
        cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO;
        memcpy(cfg.info.lo_file_name, "powertune /tmp", sizeof("powertune /tmp"));
        if (ioctl(dev, LOOP_CONFIGURE, &cfg) == 0)
            break;
        int e = errno;
        close(dev);
        dev = -1;
        if (e != EBUSY) /* taken meanwhile: ask for another */
            break;
    }
    close(ctl);
    return dev;
}

int pt_ephemeral_copy(const char *template_path, const char **why)
{
    char dir[PATH_MAX];
    size_t n = strlen(template_path);
    *why = NULL;
    if (n >= sizeof(dir)) {
        *why = "the /tmp template's path is too long";
        return -1;
    }
    memcpy(dir, template_path, n + 1);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) {
        *why = "the /tmp template's path has no directory";
        return -1;
    }
    *slash = '\0';
    int img = -1;
    int src = open(template_path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (src < 0 || fstat(src, &st) != 0) {
        *why = "cannot open the /tmp template";
        goto done;
    }
    img = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (img < 0) {
        *why = "cannot create the /tmp image";
        goto done;
    }
    if (ftruncate(img, st.st_size) != 0 || !ephemeral_copy_extents(src, img, st.st_size)) {
        *why = "cannot copy the /tmp template";
        close(img);
        img = -1;
    }
done:
    if (src >= 0)
        close(src);
    return img;
}

const char *pt_ephemeral_mount_copy(int image, const char *target)
{
    char path[32];
    int dev = ephemeral_loop_attach(image, path);
    if (dev < 0)
        return "cannot attach a loop device for /tmp";
    const char *why = NULL;
    if (mount(path, target, "ext4", MS_NOSUID | MS_NODEV, EPHEMERAL_MOUNT_OPTIONS) != 0)
        why = "cannot mount the private /tmp";
    /* The mount holds the loop device, which holds the image. */
    close(dev);
    return why;
}

const char *pt_ephemeral_mount(const char *template_path, const char *target)
{
    const char *why;
    int img = pt_ephemeral_copy(template_path, &why);
    if (img < 0)
        return why;
    why = pt_ephemeral_mount_copy(img, target);
    close(img);
    return why;
}
