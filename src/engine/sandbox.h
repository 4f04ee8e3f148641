/*
 * sandbox.h - Lambda's sandbox for one execution environment (root only).
 *
 * A private mount namespace with a /tmp of EphemeralStorage size (disk-backed: ephemeral.h;
 * a tmpfs where that cannot be had), every other file system read-only as on Lambda (the code
 * directory too), a minimal /dev without /dev/shm (so Python's multiprocessing.Pool fails as on
 * Lambda: glibc 2.36 says ENOENT, the source article's older glibc said ENOSYS), and an
 * unprivileged user of the environment's own (pt_sandbox_user_take). The code, runtime and
 * writable directories stay reachable at their own paths when a directory above them is not
 * searchable by others (/root): a tmpfs covers it, holding only the way to them.
 * pt_sandbox_enter runs in the runtime's child between
 * clone and exec, so it makes system calls only (no malloc, no stdio, no locks).
 *
 * Building the namespace is ~0.2 ms with a tmpfs /tmp (unshare, a dozen mounts and nodes) and
 * ~2 ms with a disk one (a loop device attached, an ext4 mounted). So spares are made ahead,
 * asked for after a cold start's response (not during its INIT), for the same code directory,
 * runtime directory and /tmp, and built by the spare's own thread through a helper process
 * that leaves only the namespace's descriptor; a stock of two is kept full. The next cold
 * starts of the same function take them, and each child enters its namespace with one setns.
 * A spare for anything else (or whose code directory was replaced since), or none ready, is
 * not used: the child builds its own.
 */
#ifndef PT_ENGINE_SANDBOX_H
#define PT_ENGINE_SANDBOX_H

#include <stdbool.h>

#include "base/error.h"

struct pt_sandbox {
    bool enabled;
    unsigned uid; /* the environment's (pt_sandbox_user_take) */
    unsigned gid; /* PT_SANDBOX_GID */
    const char *writable_dir; /* a host directory left writable (powertune profile's); or NULL */
};

/*
 * Each live environment runs as a uid of its own, as each of Lambda's runs in a microVM of its
 * own: with one uid for all, a function read another environment's /proc/<pid>/environ (its
 * AWS credentials), ptraced and killed its processes. getuid() says PT_SANDBOX_UID_FIRST + a
 * slot, not Lambda's 993 (sbx_user1051): host uids are one space, and 993 is where Debian's
 * next system account goes (useradd --system counts down from 999). The block lies above
 * 65535 (no passwd, useradd or systemd account there) and below 100000, where /etc/subuid's
 * ranges for rootless containers start. All of the block share group PT_SANDBOX_GID, which no
 * uid of the block is given, so that a directory of that group with mode 0770 is writable to
 * every environment (powertune profile's); the kernel's ptrace and /proc checks compare the
 * uids, so a shared group opens nothing between environments.
 *
 * A uid is taken host-wide, not per engine: one byte of PT_SANDBOX_USER_LOCKS per uid, locked
 * with an open file description lock held by the environment's descriptor. Two engines on one
 * host never share a uid, and a dead engine's are free again with its descriptors (its frozen
 * runtimes, left until the next engine start removes them, keep theirs meanwhile: another engine
 * already running may give one to a new environment). The caller releases a uid only once every
 * process of its environment is gone (the cgroup emptied): the unprivileged fallback's known
 * limit, a process that left its process group, would keep it.
 */
#define PT_SANDBOX_GID 90000U
#define PT_SANDBOX_UID_FIRST 90001U
#define PT_SANDBOX_UIDS 9999U
#define PT_SANDBOX_USER_LOCKS "/run/powertune-uids"
/* The namespaces' /etc/passwd and /etc/group (pt_sandbox_users_publish). */
#define PT_SANDBOX_PASSWD "/run/powertune-passwd"
#define PT_SANDBOX_GROUP "/run/powertune-group"

struct pt_sandbox_user {
    unsigned uid;
    int lock_fd; /* -1: none taken */
};

/* A free uid of the block (out->lock_fd holds it, close-on-exec); PT_ELIMIT when all are taken. */
int pt_sandbox_user_take(struct pt_sandbox_user *out, struct pt_error *err);
/* Frees the uid (u may hold none). */
void pt_sandbox_user_release(struct pt_sandbox_user *u);

/*
 * Writes PT_SANDBOX_PASSWD and PT_SANDBOX_GROUP: the host's files and the block's names
 * (sbx_user<uid>, home /home/sbx_user<uid> as Lambda's sbx_user1051 has; group sbx_users), which
 * every namespace binds over /etc/passwd and /etc/group, so that getpwuid answers for the
 * environments' uids as on Lambda (Python's getpass.getuser, Node's os.userInfo failed without an
 * entry). Rewritten when missing or older than the host's. A namespace made where they are
 * missing keeps the host's files.
 */
int pt_sandbox_users_publish(struct pt_error *err);

/* What one environment's mount namespace is made of (the strings are borrowed). */
struct pt_sandbox_spec {
    const char *code_dir;    /* bound read-only at its own path */
    const char *runtime_dir; /* kept visible when it lies under /tmp */
    const char *tmp_image;   /* the /tmp template (pt_ephemeral_template); NULL or "": tmpfs */
    const char *tmp_opts;    /* the tmpfs /tmp's mount options: "size=512m,mode=1777" */
    const char *writable_dir; /* besides /tmp, the only path left writable; NULL or "": none */
};

/*
 * In the runtime's child: enters ns_fd (a namespace from pt_sandbox_spare_take), or builds the
 * namespace when ns_fd < 0, then drops to the unprivileged user. NULL, or what failed.
 */
const char *pt_sandbox_enter(const struct pt_sandbox *sb, const struct pt_sandbox_spec *spec,
                             int ns_fd);

/*
 * Whether a mount namespace here can make the host's mounts read-only (mount_setattr: Linux 5.12,
 * not refused by a seccomp filter), tried once in a child. Without it pt_sandbox_enter leaves
 * them as they are (writable where the host's are), which the engine's note says.
 */
bool pt_sandbox_can_seal(void);

/* Namespaces made ahead, by a thread of its own; thread-safe. */
struct pt_sandbox_spare;

int pt_sandbox_spare_new(struct pt_sandbox_spare **out, struct pt_error *err);
void pt_sandbox_spare_free(struct pt_sandbox_spare *s); /* s may be NULL */
/* Keeps a stock of namespaces for spec (one for another spec is dropped); returns at once (the
 * spec is copied). An optimization: a build that fails leaves no spare until asked again. */
int pt_sandbox_spare_prepare(struct pt_sandbox_spare *s, const struct pt_sandbox_spec *spec,
                             struct pt_error *err);
/* Waits until the stock is full or no spare is wanted (tests, benchmarks). */
void pt_sandbox_spare_settle(struct pt_sandbox_spare *s);
/* A stocked namespace's descriptor (close-on-exec, the caller's to close) if the stock was made
 * for spec and the directories are still the ones it holds; else -1, and the stock is dropped
 * (not refilled until asked again). */
int pt_sandbox_spare_take(struct pt_sandbox_spare *s, const struct pt_sandbox_spec *spec);
/* Drops the stock if it was made for code_dir (its function is gone: two loop devices, images
 * and a bind mount of the removed code would otherwise stay until another cold start). */
void pt_sandbox_spare_forget(struct pt_sandbox_spare *s, const char *code_dir);
/* Spares taken so far (tests, benchmarks). */
unsigned pt_sandbox_spare_taken(struct pt_sandbox_spare *s);

#endif
