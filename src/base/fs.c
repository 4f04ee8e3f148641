#include "base/fs.h"

#include <errno.h>
#include <ftw.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/rand.h"
#include "base/str.h"

int pt_mkdir_p(const char *path, mode_t mode, struct pt_error *err)
{
    /* Mostly the directory is there already (a log directory at every cold start): mkdir,
     * then a stat, since EEXIST is also a file of that name, which is no directory to write
     * in. */
    if (mkdir(path, mode) == 0)
        return 0;
    if (errno == EEXIST)
        return pt_path_is_dir(path) ? 0
                                    : pt_error_set(err, PT_EUSAGE, "%s exists and is not a directory",
                                                   path);
    char tmp[PATH_MAX];
    if (pt_strlcpy(tmp, path, sizeof(tmp)) >= sizeof(tmp))
        return pt_error_set(err, PT_ELIMIT, "path too long: %s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, mode) != 0 && errno != EEXIST)
            return pt_error_errno(err, errno == EACCES ? PT_EPERM : PT_ESYS, errno,
                                  "cannot create directory %s", tmp);
        *p = '/';
    }
    if (mkdir(tmp, mode) != 0 && errno != EEXIST)
        return pt_error_errno(err, errno == EACCES ? PT_EPERM : PT_ESYS, errno,
                              "cannot create directory %s", tmp);
    return 0;
}

static int write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int pt_file_write_str(const char *path, const char *s, struct pt_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return pt_error_errno(err, errno == EACCES ? PT_EPERM : PT_ESYS, errno, "cannot open %s",
                              path);
    int rc = 0;
    if (write_all(fd, s, strlen(s)) != 0)
        rc = pt_error_errno(err, PT_ESYS, errno, "cannot write '%s' to %s", s, path);
    close(fd);
    return rc;
}

static int fs_open_read(const char *path, int *fd, struct pt_error *err)
{
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        return pt_error_errno(err, errno == ENOENT ? PT_ENOTFOUND : PT_ESYS, errno,
                              "cannot open %s", path);
    return 0;
}

/* read(2) that retries EINTR; 0 at end of file, -1 (errno set) on error. */
static ssize_t fs_read(int fd, void *buf, size_t n)
{
    ssize_t r;
    do {
        r = read(fd, buf, n);
    } while (r < 0 && errno == EINTR);
    return r;
}

int pt_file_read(const char *path, size_t limit, struct pt_buf *out, struct pt_error *err)
{
    int fd;
    int rc = fs_open_read(path, &fd, err);
    if (rc)
        return rc;
    size_t total = 0;
    char chunk[8192];
    for (;;) {
        ssize_t r = fs_read(fd, chunk, sizeof(chunk));
        if (r < 0) {
            rc = pt_error_errno(err, PT_EIO, errno, "cannot read %s", path);
            break;
        }
        if (r == 0)
            break;
        total += (size_t)r;
        if (total > limit) {
            rc = pt_error_set(err, PT_ELIMIT, "%s is larger than the limit of %zu bytes", path,
                              limit);
            break;
        }
        rc = pt_buf_append(out, chunk, (size_t)r, err);
        if (rc)
            break;
    }
    close(fd);
    return rc;
}

int pt_file_read_small(const char *path, char *out, size_t size, struct pt_error *err)
{
    int fd;
    int rc = fs_open_read(path, &fd, err);
    if (rc)
        return rc;
    size_t got = 0;
    while (got + 1 < size) {
        ssize_t r = fs_read(fd, out + got, size - 1 - got);
        if (r < 0) {
            rc = pt_error_errno(err, PT_EIO, errno, "cannot read %s", path);
            break;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    out[got] = '\0';
    close(fd);
    return rc;
}

/* Writes into an existing file that is not a regular one (a device, a pipe), in place. */
static int file_write_in_place(const char *path, const void *data, size_t n, struct pt_error *err)
{
    int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return pt_error_errno(err, PT_ESYS, errno, "cannot open %s", path);
    int rc = 0;
    if (write_all(fd, data, n) != 0)
        rc = pt_error_errno(err, PT_EIO, errno, "cannot write %s", path);
    close(fd);
    return rc;
}

int pt_file_write_atomic(const char *path, const void *data, size_t n, struct pt_error *err)
{
    /* /dev/null, /dev/stdout or a FIFO is written to: renaming over it would put a plain file
     * in place of the device (as root, for the whole system). A symlink to a regular file gets
     * its target replaced, and stays a link. */
    struct stat st;
    char real[PATH_MAX];
    bool exists = stat(path, &st) == 0;
    if (exists && !S_ISREG(st.st_mode))
        return file_write_in_place(path, data, n, err);
    if (exists && realpath(path, real))
        path = real;
    char tmp[PATH_MAX];
    char suffix[17];
    pt_random_hex(suffix, 16);
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-%s", path, suffix) >= sizeof(tmp))
        return pt_error_set(err, PT_ELIMIT, "path too long: %s", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return pt_error_errno(err, PT_ESYS, errno, "cannot create %s", tmp);
    int rc = 0;
    if (write_all(fd, data, n) != 0 || fsync(fd) != 0)
        rc = pt_error_errno(err, PT_EIO, errno, "cannot write %s", tmp);
    close(fd);
    if (!rc && rename(tmp, path) != 0)
        rc = pt_error_errno(err, PT_ESYS, errno, "cannot rename %s to %s", tmp, path);
    if (rc)
        unlink(tmp);
    return rc;
}

int pt_path_join(char *out, size_t size, const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    if (na + 1 + nb + 1 > size) {
        if (size)
            out[0] = '\0';
        return -1;
    }
    memmove(out, a, na);
    out[na] = '/';
    memcpy(out + na + 1, b, nb + 1);
    return 0;
}

bool pt_path_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool pt_path_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The directory part of path into out ("." for a bare name); false if it does not fit. */
static bool path_parent(const char *path, char *out, size_t size, const char **base)
{
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    if (!slash)
        return pt_strlcpy(out, ".", size) < size;
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    if (n >= size)
        return false;
    memcpy(out, path, n);
    out[n] = '\0';
    return true;
}

bool pt_path_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    bool ea = stat(a, &sa) == 0, eb = stat(b, &sb) == 0;
    if (ea || eb)
        return ea && eb && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    /* Neither exists yet: the same name in the same directory. */
    char da[PATH_MAX], db[PATH_MAX];
    const char *na, *nb;
    if (!path_parent(a, da, sizeof(da), &na) || !path_parent(b, db, sizeof(db), &nb))
        return strcmp(a, b) == 0;
    ea = stat(da, &sa) == 0;
    eb = stat(db, &sb) == 0;
    if (!ea || !eb)
        return strcmp(a, b) == 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino && strcmp(na, nb) == 0;
}

int pt_path_check_writable(const char *path, struct pt_error *err)
{
    char dir[PATH_MAX];
    const char *base;
    if (!path[0])
        return pt_error_set(err, PT_EUSAGE, "an empty path");
    if (pt_path_is_dir(path))
        return pt_error_set(err, PT_EUSAGE, "%s is a directory; allowed a file", path);
    if (!path_parent(path, dir, sizeof(dir), &base) || !base[0])
        return pt_error_set(err, PT_EUSAGE, "%s: not a file name", path);
    if (!pt_path_is_dir(dir))
        return pt_error_set(err, PT_EUSAGE, "%s: directory %s does not exist", path, dir);
    if (access(dir, W_OK | X_OK) != 0)
        return pt_error_errno(err, PT_EUSAGE, errno, "%s: cannot write in %s", path, dir);
    return 0;
}

bool pt_path_is_executable(const char *path)
{
    return pt_path_is_file(path) && access(path, X_OK) == 0;
}

int pt_self_exe_dir(char *out, size_t size, struct pt_error *err)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (n < 0)
        return pt_error_errno(err, PT_ESYS, errno, "cannot read /proc/self/exe");
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (slash)
        *slash = '\0';
    if (pt_strlcpy(out, buf, size) >= size)
        return pt_error_set(err, PT_ELIMIT, "executable path too long");
    return 0;
}

static const char *fs_env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

int pt_state_dir_resolve(const char *option, char *out, size_t size, struct pt_error *err)
{
    const char *dir = option && *option ? option : fs_env("POWERTUNE_STATE_DIR");
    int n;
    if (dir)
        n = snprintf(out, size, "%s", dir);
    else if (fs_env("XDG_STATE_HOME"))
        n = snprintf(out, size, "%s/powertune", fs_env("XDG_STATE_HOME"));
    else
        n = snprintf(out, size, "%s/.local/state/powertune",
                     fs_env("HOME") ? fs_env("HOME") : "/tmp");
    if (n < 0 || (size_t)n >= size)
        return pt_error_set(err, PT_EUSAGE, "state directory path is too long (at most %zu bytes)",
                            size - 1);
    return pt_mkdir_p(out, 0755, err);
}

static int rmtree_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

void pt_rmtree(const char *path)
{
    nftw(path, rmtree_one, 16, FTW_DEPTH | FTW_PHYS);
}
