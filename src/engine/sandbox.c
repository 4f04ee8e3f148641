#include "engine/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/str.h"
#include "engine/ephemeral.h"

/* ---- building a namespace: system calls only (it runs in a child that shares our memory) ---- */

#define SANDBOX_NEWDEV "/tmp/.powertune-dev"
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

static bool sandbox_under_tmp(const char *path)
{
    return path && strncmp(path, "/tmp/", 5) == 0;
}

/* mkdir -p on a copy of path (a stack buffer and mkdir(2) only). */
static int sandbox_mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n >= sizeof(buf))
        return -1;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        /* 0755 whatever the umask (077 would hide the way from the functions' user). */
        if (mkdir(buf, 0755) == 0) {
            if (chmod(buf, 0755) != 0)
                return -1;
        } else if (errno != EEXIST) {
            return -1;
        }
        buf[i] = c;
    }
    return 0;
}

/*
 * Directories the function must reach: its code, the runtime client, the writable one. Two
 * things can hide one from the functions' user: the private /tmp (a directory under /tmp: tests,
 * scratch builds), and a directory above it that others cannot search (the code in root's home,
 * /root being 0700, or the state directory there that `serve` extracts code into). Both are
 * handled alike: the directory's mount tree is cloned first (open_tree), the hider is covered
 * by a tmpfs (for /tmp, the private /tmp itself), and the clone is moved back to the same path
 * inside it (move_mount). The function then finds its code at its own path and nothing else of
 * that home.
 */
struct sandbox_kept {
    const char *path;     /* NULL or "": none */
    char hider[PATH_MAX]; /* the top-most directory above path that others cannot search, or "" */
    int fd;               /* the clone, or -1 */
};

/* The top-most proper ancestor of path (not "/") without the search bit for others. */
static void sandbox_find_hider(const char *path, char *hider, size_t size)
{
    hider[0] = '\0';
    size_t n = strlen(path);
    if (n >= size)
        return;
    memcpy(hider, path, n + 1);
    for (size_t i = 1; i < n; i++) {
        if (hider[i] != '/')
            continue;
        hider[i] = '\0';
        struct stat st;
        if (stat(hider, &st) == 0 && S_ISDIR(st.st_mode) && !(st.st_mode & S_IXOTH))
            return;
        hider[i] = '/';
    }
    hider[0] = '\0';
}

static void sandbox_keep_open(struct sandbox_kept *k, const char *path)
{
    k->path = path && *path ? path : NULL;
    k->hider[0] = '\0';
    k->fd = -1;
    if (!k->path)
        return;
    if (!sandbox_under_tmp(path))
        sandbox_find_hider(path, k->hider, sizeof(k->hider));
    if (sandbox_under_tmp(path) || k->hider[0])
        k->fd = (int)syscall(SYS_open_tree, AT_FDCWD, path,
                             OPEN_TREE_CLONE | O_CLOEXEC | AT_RECURSIVE);
}

static bool sandbox_keep_wanted(const struct sandbox_kept *k)
{
    return k->path && (sandbox_under_tmp(k->path) || k->hider[0]);
}

/* Covers the hiders (each once) with a searchable tmpfs; /tmp's is mounted apart. */
static bool sandbox_cover_hiders(struct sandbox_kept *kept, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bool done = !kept[i].hider[0];
        for (size_t j = 0; j < i && !done; j++)
            done = strcmp(kept[j].hider, kept[i].hider) == 0;
        if (!done && mount("tmpfs", kept[i].hider, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                           "size=64k,mode=755") != 0)
            return false;
    }
    return true;
}

static bool sandbox_keep_restore(const struct sandbox_kept *k)
{
    if (k->fd < 0)
        return true;
    if (sandbox_mkdir_p(k->path) != 0)
        return false;
    return syscall(SYS_move_mount, k->fd, "", AT_FDCWD, k->path, MOVE_MOUNT_F_EMPTY_PATH) == 0;
}

/*
 * Everything but /tmp read-only, as on Lambda ("[Errno 30] Read-only file system" anywhere
 * else): the host's world-writable directories (/var/tmp, /run/lock) were writable by the
 * functions' user, shared by every environment and every function, and outside
 * EphemeralStorage. One recursive pass over the namespace's mounts, then the per-process ones
 * (/tmp, /dev, /proc) and writable_dir are made writable again; the mounts beneath /tmp (a code
 * directory kept there) stay read-only. A kernel without mount_setattr (before 5.12) keeps the
 * host's mounts as they are.
 */
/* No mount_setattr (before Linux 5.12), or a seccomp filter refusing it (containers): the host's
 * mounts stay as they are, and pt_sandbox_can_seal says so once, for the engine's note. */
static bool sandbox_seal_unavailable(int err)
{
    return err == ENOSYS || err == EPERM;
}

bool pt_sandbox_can_seal(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
        /* A private copy of the mounts, gone with this child: the host's stay untouched. */
        if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
            _exit(1);
        _exit(syscall(SYS_mount_setattr, AT_FDCWD, "/", AT_RECURSIVE, &ro, sizeof(ro)) == 0 ? 0
                                                                                          : 1);
    }
    if (pid < 0)
        return false;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static const char *sandbox_read_only(const char *writable_dir)
{
    static const char *const rw[] = {"/tmp", "/dev", "/proc"};
    struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
    struct mount_attr clr = {.attr_clr = MOUNT_ATTR_RDONLY};
    bool extra = writable_dir && *writable_dir;
    if (extra && mount(writable_dir, writable_dir, NULL, MS_BIND, NULL) != 0)
        return "cannot keep the writable directory";
    if (syscall(SYS_mount_setattr, AT_FDCWD, "/", AT_RECURSIVE, &ro, sizeof(ro)) != 0)
        return sandbox_seal_unavailable(errno) ? NULL : "cannot make the file systems read-only";
    for (size_t i = 0; i < sizeof(rw) / sizeof(rw[0]); i++)
        if (syscall(SYS_mount_setattr, AT_FDCWD, rw[i], 0, &clr, sizeof(clr)) != 0)
            return "cannot leave /tmp, /dev and /proc writable";
    if (extra && syscall(SYS_mount_setattr, AT_FDCWD, writable_dir, 0, &clr, sizeof(clr)) != 0)
        return "cannot leave the writable directory writable";
    return NULL;
}

/* /tmp, /dev and the code directory of a new mount namespace; NULL or what failed. kept: the
 * code, runtime and writable directories (sandbox_keep_open). */
static const char *sandbox_mount(const struct pt_sandbox_spec *spec, int tmp_image,
                                 struct sandbox_kept *kept, size_t n_kept)
{
    /* Linux's fixed numbers for the memory devices (major 1), as on Lambda. */
    static const char *const node_src[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random",
                                           "/dev/urandom"};
    static const char *const node_dst[] = {SANDBOX_NEWDEV "/null", SANDBOX_NEWDEV "/zero",
                                           SANDBOX_NEWDEV "/full", SANDBOX_NEWDEV "/random",
                                           SANDBOX_NEWDEV "/urandom"};
    static const unsigned node_minor[] = {3, 5, 7, 8, 9};
    const char *code = spec->code_dir;
    for (size_t i = 0; i < n_kept; i++)
        if (sandbox_keep_wanted(&kept[i]) && kept[i].fd < 0)
            return "cannot keep a directory under /tmp or a home visible";
    if (tmp_image >= 0) {
        const char *why = pt_ephemeral_mount_copy(tmp_image, "/tmp");
        if (why)
            return why;
    } else if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, spec->tmp_opts) != 0) {
        return "cannot mount the private /tmp";
    }
    if (!sandbox_cover_hiders(kept, n_kept))
        return "cannot cover a home that others cannot search";
    for (size_t i = 0; i < n_kept; i++)
        if (!sandbox_keep_restore(&kept[i]))
            return "cannot put a directory under /tmp or a home back";
    if (mkdir(SANDBOX_NEWDEV, 0755) != 0 ||
        mount("tmpfs", SANDBOX_NEWDEV, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=755") != 0)
        return "cannot prepare the private /dev";
    /* One mknod per node; where device nodes cannot be made (no CAP_MKNOD, as in some
     * containers) the host's node is bind-mounted onto an empty file instead (three calls). */
    mode_t umask_was = umask(0);
    for (size_t i = 0; i < sizeof(node_src) / sizeof(node_src[0]); i++) {
        if (mknod(node_dst[i], S_IFCHR | 0666, makedev(1, node_minor[i])) == 0)
            continue;
        int fd = open(node_dst[i], O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0)
            return "cannot create a node in the private /dev";
        close(fd);
        if (mount(node_src[i], node_dst[i], NULL, MS_BIND, NULL) != 0)
            return "cannot bind a device into the private /dev";
    }
    umask(umask_was);
    if (symlink("/proc/self/fd", SANDBOX_NEWDEV "/fd") != 0 ||
        symlink("/proc/self/fd/0", SANDBOX_NEWDEV "/stdin") != 0 ||
        symlink("/proc/self/fd/1", SANDBOX_NEWDEV "/stdout") != 0 ||
        symlink("/proc/self/fd/2", SANDBOX_NEWDEV "/stderr") != 0)
        return "cannot link /dev/fd";
    if (mount(SANDBOX_NEWDEV, "/dev", NULL, MS_MOVE, NULL) != 0 || rmdir(SANDBOX_NEWDEV) != 0)
        return "cannot install the private /dev";
    /* The block's names (pt_sandbox_users_publish); the host's files where they are missing. */
    if ((mount(PT_SANDBOX_PASSWD, "/etc/passwd", NULL, MS_BIND, NULL) != 0 && errno != ENOENT) ||
        (mount(PT_SANDBOX_GROUP, "/etc/group", NULL, MS_BIND, NULL) != 0 && errno != ENOENT))
        return "cannot provide the functions' /etc/passwd and /etc/group";
    if (mount(code, code, NULL, MS_BIND | MS_REC, NULL) != 0 ||
        mount(NULL, code, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) !=
            0)
        return "cannot make the code directory read-only";
    return sandbox_read_only(spec->writable_dir);
}

/* A new mount namespace for spec, entered by the calling process; NULL or what failed. */
static const char *sandbox_build(const struct pt_sandbox_spec *spec)
{
    const char *why = NULL;
    int tmp_image = -1;
    struct sandbox_kept kept[3];
    for (size_t i = 0; i < 3; i++)
        kept[i].fd = -1;
    /* Copied before the namespace exists (ephemeral.h says why). */
    if (spec->tmp_image && spec->tmp_image[0] &&
        (tmp_image = pt_ephemeral_copy(spec->tmp_image, &why)) < 0)
        return why;
    if (unshare(CLONE_NEWNS) != 0)
        why = "cannot create a mount namespace";
    else if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        why = "cannot make the mounts private";
    if (!why) {
        sandbox_keep_open(&kept[0], spec->code_dir);
        sandbox_keep_open(&kept[1], spec->runtime_dir);
        sandbox_keep_open(&kept[2], spec->writable_dir);
        why = sandbox_mount(spec, tmp_image, kept, 3);
    }
    /* The spare's helper shares the engine's descriptor table: nothing may stay open there. */
    if (tmp_image >= 0)
        close(tmp_image);
    for (size_t i = 0; i < 3; i++)
        if (kept[i].fd >= 0)
            close(kept[i].fd);
    return why;
}

const char *pt_sandbox_enter(const struct pt_sandbox *sb, const struct pt_sandbox_spec *spec,
                             int ns_fd)
{
    if (ns_fd >= 0) {
        if (setns(ns_fd, CLONE_NEWNS) != 0)
            return "cannot enter the prepared mount namespace";
    } else {
        const char *why = sandbox_build(spec);
        if (why)
            return why;
    }
    /* Raw system calls: glibc's wrappers would make every thread of the engine, whose memory
     * this child shares, change its credentials too. */
    if (syscall(SYS_setgroups, 0, NULL) != 0 || syscall(SYS_setresgid, sb->gid, sb->gid, sb->gid) != 0 ||
        syscall(SYS_setresuid, sb->uid, sb->uid, sb->uid) != 0)
        return "cannot drop privileges";
    return NULL;
}

/* ---- the environments' users ---- */

/* Where the next search starts: the uids just released are not the first ones taken again. */
static _Atomic unsigned sandbox_user_next;

int pt_sandbox_user_take(struct pt_sandbox_user *out, struct pt_error *err)
{
    out->lock_fd = -1;
    int fd = open(PT_SANDBOX_USER_LOCKS, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return pt_error_errno(err, PT_ESYS, errno,
                              "sandbox: cannot open %s (where the environments' uids are taken)",
                              PT_SANDBOX_USER_LOCKS);
    unsigned start = sandbox_user_next++;
    for (unsigned i = 0; i < PT_SANDBOX_UIDS; i++) {
        unsigned slot = (start + i) % PT_SANDBOX_UIDS;
        struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = slot, .l_len = 1};
        if (fcntl(fd, F_OFD_SETLK, &lk) == 0) {
            out->uid = PT_SANDBOX_UID_FIRST + slot;
            out->lock_fd = fd;
            sandbox_user_next = slot + 1;
            return 0;
        }
        if (errno != EAGAIN && errno != EACCES) {
            int e = errno;
            close(fd);
            return pt_error_errno(err, PT_ESYS, e, "sandbox: cannot lock a uid in %s",
                                  PT_SANDBOX_USER_LOCKS);
        }
    }
    close(fd);
    return pt_error_set(err, PT_ELIMIT,
                        "sandbox: all %u uids from %u are taken by live environments on this host",
                        PT_SANDBOX_UIDS, PT_SANDBOX_UID_FIRST);
}

void pt_sandbox_user_release(struct pt_sandbox_user *u)
{
    if (u->lock_fd >= 0)
        close(u->lock_fd); /* the lock goes with the open file description */
    u->lock_fd = -1;
}

/* The host's file then the block's lines, unless out is newer than the host's file already. */
static int sandbox_publish(const char *host, const char *out, bool users, struct pt_error *err)
{
    struct stat hs, os;
    if (stat(host, &hs) != 0)
        return 0; /* nothing to extend: the namespace keeps the host's view (no file) */
    if (stat(out, &os) == 0 && (os.st_mtim.tv_sec > hs.st_mtim.tv_sec ||
                                (os.st_mtim.tv_sec == hs.st_mtim.tv_sec &&
                                 os.st_mtim.tv_nsec > hs.st_mtim.tv_nsec)))
        return 0;
    struct pt_buf b;
    pt_buf_init(&b, 0);
    int rc = pt_file_read(host, 16 << 20, &b, err);
    if (!rc && b.len && b.data[b.len - 1] != '\n')
        rc = pt_buf_append_str(&b, "\n", err);
    if (!rc && users)
        for (unsigned i = 0; i < PT_SANDBOX_UIDS && !rc; i++)
            rc = pt_buf_printf(&b, err, "sbx_user%u:x:%u:%u::/home/sbx_user%u:/sbin/nologin\n",
                               PT_SANDBOX_UID_FIRST + i, PT_SANDBOX_UID_FIRST + i, PT_SANDBOX_GID,
                               PT_SANDBOX_UID_FIRST + i);
    if (!rc && !users)
        rc = pt_buf_printf(&b, err, "sbx_users:x:%u:\n", PT_SANDBOX_GID);
    if (!rc)
        rc = pt_file_write_atomic(out, b.data, b.len, err);
    if (!rc && chmod(out, 0644) != 0)
        rc = pt_error_errno(err, PT_ESYS, errno, "sandbox: cannot make %s readable", out);
    pt_buf_free(&b);
    return rc;
}

int pt_sandbox_users_publish(struct pt_error *err)
{
    int rc = sandbox_publish("/etc/passwd", PT_SANDBOX_PASSWD, true, err);
    return rc ? rc : sandbox_publish("/etc/group", PT_SANDBOX_GROUP, false, err);
}

/* ---- the spare ---- */

/*
 * The spare is built by the spare's own thread, never by an invoking one: right after a
 * runtime's exec the invoking thread must be free to answer the runtime's first /next (its
 * arrival ends Init Duration, and a C runtime gets there in ~1.5 ms), and building took 0.2-0.4
 * ms, at times 4 ms when the CPUs were busy (marks, C no-op cold starts). That thread starts a
 * helper sharing the engine's memory and descriptor table and sleeps until it exits
 * (CLONE_VFORK), as the runtime's own child does (env.c): the helper's stack is a buffer on the
 * thread's stack, and the namespace's descriptor it opens is the engine's. The sanitizer build,
 * whose runtimes are forked (env.c says why), makes no spares.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SPARES 0
#else
#define SANDBOX_SPARES 1
#endif
#define SANDBOX_HELPER_STACK (64 * 1024)
#define SANDBOX_OPTS_MAX 64

struct sandbox_dir_id {
    dev_t dev;
    ino_t ino;
};

/* A spec with its own copies of the strings. */
struct sandbox_spec_copy {
    char code_dir[PATH_MAX];
    char runtime_dir[PATH_MAX];
    char tmp_image[PATH_MAX];
    char tmp_opts[SANDBOX_OPTS_MAX];
    char writable_dir[PATH_MAX];
};

/*
 * Two namespaces are kept, not one: back-to-back cold starts (tune, --cold) come ~3 ms apart,
 * and building one takes 1.5-3 ms with a disk /tmp (loop device and mount), so with a single
 * spare every other cold start found it unfinished and built its own (50 of 100 taken; 2.2 ms
 * more at the p50). With a stock of two the thread refills one while the other is used.
 */
#define SANDBOX_STOCK 2

struct sandbox_stocked {
    int fd;
    struct sandbox_dir_id code_id, runtime_id; /* the directories when it was built */
};

struct pt_sandbox_spare {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a request, a finished build, a take, or stop */
    pthread_t thread;
    bool stop;
    bool wanted; /* keep the stock full for spec */
    bool fill;   /* asked to fill it: builds start only then, after a runtime's exec */
    bool making;
    struct sandbox_spec_copy spec;
    struct sandbox_stocked stock[SANDBOX_STOCK];
    unsigned count;
    unsigned taken;
};

struct sandbox_helper_args {
    const struct pt_sandbox_spec *spec;
    int ns_fd;
};

static int sandbox_helper_main(void *arg)
{
    struct sandbox_helper_args *a = arg;
    if (!sandbox_build(a->spec))
        a->ns_fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
    _exit(0);
}

/* A namespace for spec, or -1. */
static int sandbox_make_namespace(const struct pt_sandbox_spec *spec)
{
    struct sandbox_helper_args args = {.spec = spec, .ns_fd = -1};
    _Alignas(64) char stack[SANDBOX_HELPER_STACK];
    pid_t pid = clone(sandbox_helper_main, stack + SANDBOX_HELPER_STACK,
                      CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD, &args);
    if (pid < 0)
        return -1;
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    return args.ns_fd;
}

/* The directory's identity; zeros when it cannot be seen (e.g. no runtime directory). */
static struct sandbox_dir_id sandbox_dir_id(const char *path)
{
    struct stat st;
    struct sandbox_dir_id id = {0, 0};
    if (path && *path && stat(path, &st) == 0) {
        id.dev = st.st_dev;
        id.ino = st.st_ino;
    }
    return id;
}

static bool sandbox_spec_copy(struct sandbox_spec_copy *out, const struct pt_sandbox_spec *spec)
{
    const char *runtime = spec->runtime_dir ? spec->runtime_dir : "";
    const char *image = spec->tmp_image ? spec->tmp_image : "";
    const char *writable = spec->writable_dir ? spec->writable_dir : "";
    return pt_strlcpy(out->code_dir, spec->code_dir, sizeof(out->code_dir)) < sizeof(out->code_dir) &&
           pt_strlcpy(out->writable_dir, writable, sizeof(out->writable_dir)) <
               sizeof(out->writable_dir) &&
           pt_strlcpy(out->runtime_dir, runtime, sizeof(out->runtime_dir)) < sizeof(out->runtime_dir) &&
           pt_strlcpy(out->tmp_image, image, sizeof(out->tmp_image)) < sizeof(out->tmp_image) &&
           pt_strlcpy(out->tmp_opts, spec->tmp_opts, sizeof(out->tmp_opts)) < sizeof(out->tmp_opts);
}

static bool sandbox_spec_same(const struct sandbox_spec_copy *kept,
                              const struct pt_sandbox_spec *spec)
{
    return strcmp(kept->code_dir, spec->code_dir) == 0 &&
           strcmp(kept->runtime_dir, spec->runtime_dir ? spec->runtime_dir : "") == 0 &&
           strcmp(kept->tmp_image, spec->tmp_image ? spec->tmp_image : "") == 0 &&
           strcmp(kept->writable_dir, spec->writable_dir ? spec->writable_dir : "") == 0 &&
           strcmp(kept->tmp_opts, spec->tmp_opts) == 0;
}

/* With the lock held: closes the stocked namespaces. */
static void sandbox_drop_stock(struct pt_sandbox_spare *s)
{
    while (s->count > 0)
        close(s->stock[--s->count].fd);
}

static void *sandbox_spare_thread(void *arg)
{
    struct pt_sandbox_spare *s = arg;
    struct sandbox_spec_copy want;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->stop && !(s->wanted && s->fill && s->count < SANDBOX_STOCK))
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->stop)
            break;
        want = s->spec;
        s->making = true;
        pthread_mutex_unlock(&s->mu);
        struct pt_sandbox_spec spec = {.code_dir = want.code_dir,
                                       .runtime_dir = want.runtime_dir,
                                       .tmp_image = want.tmp_image,
                                       .tmp_opts = want.tmp_opts,
                                       .writable_dir = want.writable_dir};
        struct sandbox_stocked made = {.fd = sandbox_make_namespace(&spec),
                                       .code_id = sandbox_dir_id(want.code_dir),
                                       .runtime_id = sandbox_dir_id(want.runtime_dir)};
        pthread_mutex_lock(&s->mu);
        s->making = false;
        if (made.fd < 0)
            s->wanted = false; /* no retrying until asked again */
        else if (s->wanted && s->count < SANDBOX_STOCK && sandbox_spec_same(&s->spec, &spec))
            s->stock[s->count++] = made;
        else
            close(made.fd); /* asked for something else meanwhile */
        if (s->count == SANDBOX_STOCK)
            s->fill = false;
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int pt_sandbox_spare_new(struct pt_sandbox_spare **out, struct pt_error *err)
{
    struct pt_sandbox_spare *s = calloc(1, sizeof(*s));
    if (!s)
        return pt_error_set(err, PT_ENOMEM, "out of memory for the spare sandbox");
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->thread, NULL, sandbox_spare_thread, s) != 0) {
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return pt_error_set(err, PT_ESYS, "cannot start the spare sandbox's thread");
    }
    *out = s;
    return 0;
}

void pt_sandbox_spare_free(struct pt_sandbox_spare *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    sandbox_drop_stock(s);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int pt_sandbox_spare_prepare(struct pt_sandbox_spare *s, const struct pt_sandbox_spec *spec,
                             struct pt_error *err)
{
    if (!SANDBOX_SPARES)
        return 0;
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    if (!s->wanted || !sandbox_spec_same(&s->spec, spec)) {
        sandbox_drop_stock(s);
        s->wanted = sandbox_spec_copy(&s->spec, spec);
        if (!s->wanted)
            rc = pt_error_set(err, PT_EUSAGE, "sandbox: a path too long for a spare");
    }
    s->fill = s->count < SANDBOX_STOCK;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void pt_sandbox_spare_settle(struct pt_sandbox_spare *s)
{
    pthread_mutex_lock(&s->mu);
    while (s->making || (s->wanted && s->fill && s->count < SANDBOX_STOCK))
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

int pt_sandbox_spare_take(struct pt_sandbox_spare *s, const struct pt_sandbox_spec *spec)
{
    pthread_mutex_lock(&s->mu);
    struct sandbox_stocked got = {.fd = -1};
    if (s->count > 0 && sandbox_spec_same(&s->spec, spec)) {
        /* Refilled when asked (pt_sandbox_spare_prepare, after a cold start's response), not
         * now: a build beside this cold start's clone and exec cost it ~1 ms (Python no-op,
         * "before the exec" 1.0 -> 2.0 ms). */
        got = s->stock[--s->count];
    } else if (s->count > 0) {
        /* Another function's cold start: this stock is not likely to be used soon. */
        sandbox_drop_stock(s);
        s->wanted = false;
    }
    pthread_mutex_unlock(&s->mu);
    if (got.fd < 0)
        return -1;
    /* A directory replaced since (a new one renamed into place) would still be the old one
     * in the spare's bind mounts, and in the rest of the stock. */
    struct sandbox_dir_id c = sandbox_dir_id(spec->code_dir);
    struct sandbox_dir_id r = sandbox_dir_id(spec->runtime_dir);
    if (c.dev != got.code_id.dev || c.ino != got.code_id.ino || r.dev != got.runtime_id.dev ||
        r.ino != got.runtime_id.ino) {
        close(got.fd);
        pthread_mutex_lock(&s->mu);
        sandbox_drop_stock(s);
        s->wanted = false;
        pthread_mutex_unlock(&s->mu);
        return -1;
    }
    pthread_mutex_lock(&s->mu);
    s->taken++;
    pthread_mutex_unlock(&s->mu);
    return got.fd;
}

void pt_sandbox_spare_forget(struct pt_sandbox_spare *s, const char *code_dir)
{
    pthread_mutex_lock(&s->mu);
    if (s->wanted && strcmp(s->spec.code_dir, code_dir) == 0) {
        sandbox_drop_stock(s);
        s->wanted = false;
    }
    pthread_mutex_unlock(&s->mu);
}

unsigned pt_sandbox_spare_taken(struct pt_sandbox_spare *s)
{
    pthread_mutex_lock(&s->mu);
    unsigned n = s->taken;
    pthread_mutex_unlock(&s->mu);
    return n;
}
