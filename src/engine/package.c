/*
 * package.c - unpacking a deployment package (libzip, from memory): serve's CreateFunction and
 * UpdateFunctionCode, and a .zip given as FUNCTION or as a template's CodeUri.
 *
 * The zip may come from the network, so nothing in it is trusted: entry names
 * may not be absolute or climb with "..", the unpacked size is counted from
 * the bytes actually inflated (not the headers' claims), and symlinks are
 * created only after every file is written (so no write can go through one)
 * and kept only when realpath() puts their target inside the code directory.
 * Modes keep only the owner's execute bit, as 0755/0644: functions run as an
 * unprivileged user over a read-only bind of this directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <zip.h>

#include "engine/package.h"

#include "base/buf.h"
#include "base/fs.h"

#define ZIP_MSG_BAD "Could not unzip uploaded file. Please check your file, then try to upload again."

struct zip_link {
    char *path;   /* absolute path of the link */
    char *target; /* as stored */
};

struct zip_job {
    zip_t *z;
    const char *dest;
    long long max_bytes;
    long long total;
    struct zip_link *links;
    size_t link_count;
    char buf[65536];
};

/* Checks an entry name and builds dest/name; is_dir when it ends in '/'. */
static int entry_path(const struct zip_job *j, const char *name, char *out, size_t size,
                      bool *is_dir, struct pt_error *err)
{
    size_t n = strlen(name);
    if (n == 0 || name[0] == '/')
        return pt_error_set(err, PT_EUSAGE, "%s (entry \"%.200s\" has an absolute path)",
                            ZIP_MSG_BAD, name);
    *is_dir = name[n - 1] == '/';
    const char *seg = name;
    while (*seg) {
        const char *slash = strchr(seg, '/');
        size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
        if (len == 2 && seg[0] == '.' && seg[1] == '.')
            return pt_error_set(err, PT_EUSAGE,
                                "%s (entry \"%.200s\" points outside the code directory)",
                                ZIP_MSG_BAD, name);
        seg += len;
        if (*seg == '/')
            seg++;
    }
    if ((size_t)snprintf(out, size, "%s/%s", j->dest, name) >= size)
        return pt_error_set(err, PT_EUSAGE, "%s (entry name too long)", ZIP_MSG_BAD);
    if (*is_dir) {
        size_t l = strlen(out);
        while (l > 1 && out[l - 1] == '/')
            out[--l] = '\0';
    }
    return 0;
}

/*
 * Creating what an entry names failed. A name longer than NAME_MAX is the archive's fault (a
 * 400 the client can act on, not a ServiceException that SDKs retry with the same upload);
 * anything else is the server's.
 */
static int create_failed(const struct zip_job *j, const char *path, int errnum,
                         struct pt_error *err)
{
    if (errnum == ENAMETOOLONG)
        return pt_error_set(err, PT_EUSAGE,
                            "%s (entry \"%.200s\" has a name longer than %d bytes)", ZIP_MSG_BAD,
                            path + strlen(j->dest) + 1, NAME_MAX);
    return pt_error_errno(err, PT_ESYS, errnum, "cannot create %s", path);
}

/* mkdir -p for the directories of path that lie below dest. */
static int make_parents(const struct zip_job *j, const char *path, bool include_last,
                        struct pt_error *err)
{
    char tmp[PATH_MAX];
    size_t dl = strlen(j->dest);
    size_t n = strlen(path);
    if (n >= sizeof(tmp))
        return pt_error_set(err, PT_EUSAGE, "%s (path too long)", ZIP_MSG_BAD);
    memcpy(tmp, path, n + 1);
    for (size_t i = dl + 1; i <= n; i++) {
        bool end = tmp[i] == '\0';
        if (tmp[i] != '/' && !end)
            continue;
        if (end && !include_last)
            break;
        char saved = tmp[i];
        tmp[i] = '\0';
        /* 0755 whatever the umask, as the files' modes are. */
        if (mkdir(tmp, 0755) == 0) {
            if (chmod(tmp, 0755) != 0)
                return pt_error_errno(err, PT_ESYS, errno, "cannot chmod %s", tmp);
        } else if (errno != EEXIST) {
            return create_failed(j, tmp, errno, err);
        }
        struct stat st;
        if (lstat(tmp, &st) != 0 || !S_ISDIR(st.st_mode))
            return pt_error_set(err, PT_EUSAGE, "%s (\"%s\" is both a file and a directory)",
                                ZIP_MSG_BAD, tmp + dl + 1);
        tmp[i] = saved;
    }
    return 0;
}

static int read_entry(struct zip_job *j, zip_uint64_t idx, int fd, char *mem, size_t mem_size,
                      size_t *mem_len, struct pt_error *err)
{
    zip_file_t *zf = zip_fopen_index(j->z, idx, 0);
    if (!zf)
        return pt_error_set(err, PT_EUSAGE, "%s (%s)", ZIP_MSG_BAD, zip_strerror(j->z));
    int rc = 0;
    size_t held = 0;
    for (;;) {
        zip_int64_t got = zip_fread(zf, j->buf, sizeof(j->buf));
        if (got < 0) {
            rc = pt_error_set(err, PT_EUSAGE, "%s (%s)", ZIP_MSG_BAD, zip_file_strerror(zf));
            break;
        }
        if (got == 0)
            break;
        j->total += got;
        if (j->total > j->max_bytes) {
            rc = pt_error_set(err, PT_EUSAGE,
                              "Unzipped size must be smaller than %lld bytes", j->max_bytes);
            break;
        }
        if (mem) {
            if (held + (size_t)got >= mem_size) {
                rc = pt_error_set(err, PT_EUSAGE, "%s (symlink target too long)", ZIP_MSG_BAD);
                break;
            }
            memcpy(mem + held, j->buf, (size_t)got);
            held += (size_t)got;
            continue;
        }
        for (zip_int64_t off = 0; off < got;) {
            ssize_t w = write(fd, j->buf + off, (size_t)(got - off));
            if (w < 0) {
                rc = pt_error_errno(err, PT_EIO, errno, "cannot write the code");
                break;
            }
            off += w;
        }
        if (rc)
            break;
    }
    zip_fclose(zf);
    if (mem && !rc) {
        mem[held] = '\0';
        *mem_len = held;
    }
    return rc;
}

static int extract_entry(struct zip_job *j, zip_uint64_t idx, struct pt_error *err)
{
    struct zip_stat st;
    zip_stat_init(&st);
    if (zip_stat_index(j->z, idx, 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME))
        return pt_error_set(err, PT_EUSAGE, "%s (%s)", ZIP_MSG_BAD, zip_strerror(j->z));
    char path[PATH_MAX];
    bool is_dir = false;
    int rc = entry_path(j, st.name, path, sizeof(path), &is_dir, err);
    if (rc)
        return rc;
    zip_uint8_t opsys = 0;
    zip_uint32_t attr = 0;
    mode_t mode = 0644;
    bool is_link = false;
    if (zip_file_get_external_attributes(j->z, idx, 0, &opsys, &attr) == 0 &&
        opsys == ZIP_OPSYS_UNIX) {
        mode_t m = (mode_t)(attr >> 16);
        is_link = S_ISLNK(m);
        if (S_ISDIR(m))
            is_dir = true;
        if (m & S_IXUSR)
            mode = 0755;
    }
    if (is_dir)
        return make_parents(j, path, true, err);
    rc = make_parents(j, path, false, err);
    if (rc)
        return rc;
    if (is_link) {
        char target[PATH_MAX];
        size_t tlen = 0;
        rc = read_entry(j, idx, -1, target, sizeof(target), &tlen, err);
        if (rc)
            return rc;
        if (tlen == 0 || target[0] == '/' || memchr(target, '\0', tlen))
            return pt_error_set(err, PT_EUSAGE,
                                "%s (symlink \"%.200s\" points outside the code directory)",
                                ZIP_MSG_BAD, st.name);
        struct zip_link *v = realloc(j->links, (j->link_count + 1) * sizeof(*v));
        if (!v)
            return pt_error_set(err, PT_ENOMEM, "out of memory");
        j->links = v;
        v[j->link_count].path = strdup(path);
        v[j->link_count].target = strdup(target);
        j->link_count++;
        if (!v[j->link_count - 1].path || !v[j->link_count - 1].target)
            return pt_error_set(err, PT_ENOMEM, "out of memory");
        return 0;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return errno == EEXIST
                   ? pt_error_set(err, PT_EUSAGE, "%s (entry \"%.200s\" appears twice)",
                                  ZIP_MSG_BAD, st.name)
                   : create_failed(j, path, errno, err);
    rc = read_entry(j, idx, fd, NULL, 0, NULL, err);
    /* The umask may have taken bits the runtime user needs. */
    if (!rc && fchmod(fd, mode) != 0)
        rc = pt_error_errno(err, PT_ESYS, errno, "cannot chmod %s", path);
    close(fd);
    return rc;
}

static int make_links(struct zip_job *j, struct pt_error *err)
{
    char root[PATH_MAX];
    if (!realpath(j->dest, root))
        return pt_error_errno(err, PT_ESYS, errno, "cannot resolve %s", j->dest);
    size_t rl = strlen(root);
    for (size_t i = 0; i < j->link_count; i++)
        if (symlink(j->links[i].target, j->links[i].path) != 0)
            return errno == EEXIST
                       ? pt_error_set(err, PT_EUSAGE, "%s (entry \"%.200s\" appears twice)",
                                      ZIP_MSG_BAD, j->links[i].path + strlen(j->dest) + 1)
                       : create_failed(j, j->links[i].path, errno, err);
    /* Only now, with every link in place, can chains of links be resolved for real. */
    for (size_t i = 0; i < j->link_count; i++) {
        char real[PATH_MAX];
        const char *rel = j->links[i].path + strlen(j->dest) + 1;
        if (!realpath(j->links[i].path, real) ||
            !(strncmp(real, root, rl) == 0 && (real[rl] == '/' || real[rl] == '\0')))
            return pt_error_set(err, PT_EUSAGE,
                                "%s (symlink \"%.200s\" -> \"%.200s\" points outside the code "
                                "directory or nowhere)",
                                ZIP_MSG_BAD, rel, j->links[i].target);
    }
    return 0;
}

int pt_package_extract(const void *zip, size_t len, const char *dest, long long max_bytes,
                    struct pt_error *err)
{
    struct zip_job *j = calloc(1, sizeof(*j));
    if (!j)
        return pt_error_set(err, PT_ENOMEM, "out of memory");
    j->dest = dest;
    j->max_bytes = max_bytes;
    int rc = 0;
    bool made = false;
    zip_error_t zerr;
    zip_error_init(&zerr);
    zip_source_t *src = zip_source_buffer_create(zip, len, 0, &zerr);
    if (src) {
        j->z = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
        if (!j->z)
            zip_source_free(src);
    }
    if (!j->z) {
        rc = pt_error_set(err, PT_EUSAGE, "%s (%s)", ZIP_MSG_BAD, zip_error_strerror(&zerr));
        goto out;
    }
    if (mkdir(dest, 0755) != 0) {
        rc = pt_error_errno(err, PT_ESYS, errno, "cannot create %s", dest);
        goto out;
    }
    made = true;
    chmod(dest, 0755);
    zip_int64_t n = zip_get_num_entries(j->z, 0);
    if (n < 0 || n > PT_PACKAGE_ENTRIES_MAX) {
        rc = pt_error_set(err, PT_EUSAGE, "%s (%lld entries; at most %d)", ZIP_MSG_BAD,
                          (long long)n, PT_PACKAGE_ENTRIES_MAX);
        goto out;
    }
    for (zip_int64_t i = 0; i < n && !rc; i++)
        rc = extract_entry(j, (zip_uint64_t)i, err);
    if (!rc)
        rc = make_links(j, err);
out:
    if (j->z)
        zip_discard(j->z);
    if (rc && made)
        pt_rmtree(dest);
    zip_error_fini(&zerr);
    for (size_t i = 0; i < j->link_count; i++) {
        free(j->links[i].path);
        free(j->links[i].target);
    }
    free(j->links);
    free(j);
    return rc;
}

bool pt_package_is_zip(const char *path)
{
    struct stat st;
    char magic[4];
    int fd = stat(path, &st) == 0 && S_ISREG(st.st_mode) ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    bool zip = fd >= 0 && read(fd, magic, 4) == 4 &&
               (memcmp(magic, "PK\3\4", 4) == 0 || memcmp(magic, "PK\5\6", 4) == 0);
    if (fd >= 0)
        close(fd);
    return zip;
}

int pt_package_scope_root(const char *dir, struct pt_error *err)
{
    char path[PATH_MAX];
    if (pt_path_join(path, sizeof(path), dir, "package.json") != 0)
        return pt_error_set(err, PT_EUSAGE, "path too long: %s/package.json", dir);
    if (pt_path_is_file(path))
        return 0;
    int rc = pt_file_write_atomic(path, "{}\n", 3, err);
    if (!rc && chmod(path, 0644) != 0) /* whatever the umask */
        rc = pt_error_errno(err, PT_ESYS, errno, "cannot make %s readable", path);
    return rc;
}

int pt_package_content_dir(const char *root, const char *kind, const void *a, size_t alen,
                           const void *b, size_t blen, char *dir, size_t size,
                           struct pt_error *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool hashed = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
                  EVP_DigestUpdate(ctx, a, alen) == 1 && EVP_DigestUpdate(ctx, b, blen) == 1 &&
                  EVP_DigestFinal_ex(ctx, md, &md_len) == 1;
    EVP_MD_CTX_free(ctx);
    if (!hashed)
        return pt_error_set(err, PT_EIO, "cannot hash code for %s (OpenSSL)", kind);
    int n = snprintf(dir, size, "%s/%s", root, kind);
    if (n < 0 || (size_t)n + 1 + 2 * md_len >= size)
        return pt_error_set(err, PT_EUSAGE, "state directory path is too long for %s", kind);
    /* root/kind ends Node.js's package.json search (also for code put there before). */
    int rc = pt_mkdir_p(dir, 0755, err);
    if (!rc)
        rc = pt_package_scope_root(dir, err);
    dir[n++] = '/';
    for (unsigned i = 0; i < md_len; i++, n += 2)
        snprintf(dir + n, 3, "%02x", md[i]);
    return rc;
}

int pt_package_unpack_file(const char *path, const char *root, char *code_dir, size_t size,
                           struct pt_error *err)
{
    struct pt_buf zip;
    char tmp[PATH_MAX];
    pt_buf_init(&zip, PT_PACKAGE_ZIPPED_MAX);
    int rc = pt_file_read(path, PT_PACKAGE_ZIPPED_MAX, &zip, err);
    if (rc) {
        pt_error_wrap(err, "deployment package %s", path);
        goto out;
    }
    /* Named by its bytes: the same package is unpacked once, a replaced one anew, and a
     * function running from the old directory keeps it. */
    if ((rc = pt_package_content_dir(root, "packages", zip.data, zip.len, "", 0, code_dir, size,
                                     err)))
        goto out;
    const char *name = strrchr(code_dir, '/') + 1;
    int m = snprintf(tmp, sizeof(tmp), "%.*s.%s.%d", (int)(name - code_dir), code_dir, name,
                     (int)getpid());
    if (m < 0 || (size_t)m >= sizeof(tmp)) {
        rc = pt_error_set(err, PT_EUSAGE, "state directory path is too long for packages");
        goto out;
    }
    if (pt_path_is_dir(code_dir))
        goto out;
    pt_rmtree(tmp); /* a crashed run of this pid's */
    if ((rc = pt_package_extract(zip.data, zip.len, tmp, PT_PACKAGE_UNZIPPED_MAX, err))) {
        pt_error_wrap(err, "deployment package %s", path);
        goto out;
    }
    /* Whole or not at all; another run may have unpacked the same bytes meanwhile. */
    if (rename(tmp, code_dir) != 0) {
        int e = errno;
        pt_rmtree(tmp);
        if (!pt_path_is_dir(code_dir))
            rc = pt_error_errno(err, PT_ESYS, e, "cannot move the unpacked %s into place", path);
    }
out:
    pt_buf_free(&zip);
    return rc;
}
