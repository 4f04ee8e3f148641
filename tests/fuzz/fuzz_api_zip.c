/*
 * fuzz_api_zip - api_zip_extract (src/api/zip.c) on arbitrary bytes.
 *
 * The bytes are a deployment package as CreateFunction / UpdateFunctionCode get it (ZipFile,
 * once base64-decoded): anything a client sends. Each input is unpacked into a fresh directory
 * <base>/a/b/c/code (removed afterwards), with a 1 MB unpacked limit so that the limit is
 * reached by small inputs. What must hold, whatever the bytes:
 *   - the result is 0 or PT_EUSAGE with a message (the archive is the client's: no refusal of
 *     it may be a server error);
 *   - nothing appears beside the code directory or above it (<base>, a, b, c keep exactly their
 *     one entry): no zip-slip, no write through a symlink;
 *   - after a success, the tree under the code directory holds only directories, regular files
 *     with mode 0644 or 0755 whose sizes add up to at most the limit, and symlinks whose
 *     realpath() lies inside the code directory.
 * The input is copied into a buffer of exactly its size (no byte after it), so AddressSanitizer
 * catches a read past the archive.
 */
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "base/fs.h"
#include "engine/package.h"
#include "fuzz_util.h"

#define FUZZ_ZIP_MAX (1LL << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char levels[4][PATH_MAX]; /* base, base/a, base/a/b, base/a/b/c */
static char dest[PATH_MAX];
static char dest_real[PATH_MAX];
static long long tree_bytes;

static void setup(void)
{
    const char *base = fuzz_tmpdir_or_abort("pt-fuzz-zip-XXXXXX", pt_rmtree);
    snprintf(levels[0], sizeof(levels[0]), "%s", base);
    snprintf(levels[1], sizeof(levels[1]), "%s/a", base);
    snprintf(levels[2], sizeof(levels[2]), "%s/a/b", base);
    snprintf(levels[3], sizeof(levels[3]), "%s/a/b/c", base);
    for (int i = 1; i < 4; i++)
        if (mkdir(levels[i], 0755) != 0)
            abort();
    snprintf(dest, sizeof(dest), "%s/code", levels[3]);
    if (!realpath(levels[3], dest_real))
        abort();
    size_t n = strlen(dest_real);
    snprintf(dest_real + n, sizeof(dest_real) - n, "/code");
}

/* The one name directory dir may hold; abort on anything else. */
static void expect_only(const char *dir, const char *name, bool may_be_missing)
{
    DIR *d = opendir(dir);
    if (!d)
        abort();
    struct dirent *de;
    bool seen = false;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (strcmp(de->d_name, name) != 0) {
            fprintf(stderr, "fuzz_api_zip: %s/%s was written outside the code directory\n", dir,
                    de->d_name);
            abort();
        }
        seen = true;
    }
    closedir(d);
    if (!seen && !may_be_missing)
        abort();
}

static bool inside_dest(const char *real)
{
    size_t n = strlen(dest_real);
    return strncmp(real, dest_real, n) == 0 && (real[n] == '/' || real[n] == '\0');
}

static int check_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)ftw;
    if (flag == FTW_SL || flag == FTW_SLN) {
        char real[PATH_MAX];
        if (!realpath(path, real) || !inside_dest(real)) {
            fprintf(stderr, "fuzz_api_zip: symlink %s resolves outside the code directory\n",
                    path);
            abort();
        }
        return 0;
    }
    if (flag == FTW_D || flag == FTW_DP)
        return 0;
    if (flag != FTW_F || !S_ISREG(st->st_mode)) {
        fprintf(stderr, "fuzz_api_zip: %s is neither a file, a directory nor a symlink\n", path);
        abort();
    }
    mode_t m = st->st_mode & 07777;
    if (m != 0644 && m != 0755) {
        fprintf(stderr, "fuzz_api_zip: %s has mode %o\n", path, (unsigned)m);
        abort();
    }
    tree_bytes += st->st_size;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dest[0])
        setup();
    void *zip = fuzz_copy(data, size);
    if (!zip)
        return 0;
    struct pt_error err = {0};
    int rc = pt_package_extract(zip, size, dest, FUZZ_ZIP_MAX, &err);
    free(zip);
    fuzz_check_rc(rc, &err);
    /* Only the archive varies here: whatever it holds, a refusal is the client's (400), never a
     * ServiceException (500) that SDKs would retry with the same upload. */
    if (rc != 0 && rc != PT_EUSAGE) {
        fprintf(stderr, "fuzz_api_zip: %s (%s) for the archive's content\n", err.msg,
                pt_error_name(rc));
        abort();
    }
    expect_only(levels[0], "a", false);
    expect_only(levels[1], "b", false);
    expect_only(levels[2], "c", false);
    expect_only(levels[3], "code", rc != 0);
    if (rc == 0) {
        tree_bytes = 0;
        if (nftw(dest, check_one, 16, FTW_PHYS) != 0)
            abort();
        if (tree_bytes > FUZZ_ZIP_MAX) {
            fprintf(stderr, "fuzz_api_zip: %lld bytes unpacked past the %lld limit\n", tree_bytes,
                    FUZZ_ZIP_MAX);
            abort();
        }
    }
    pt_rmtree(dest);
    struct stat st;
    if (lstat(dest, &st) == 0)
        abort(); /* the next input needs dest not to exist */
    return 0;
}
