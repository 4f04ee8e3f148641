/*
 * package.h - a Lambda deployment package (.zip) unpacked into a code directory.
 *
 * Contract. pt_package_extract unpacks a zip held in memory into dest (created, must not
 * exist): regular files and directories, Unix modes reduced to 0755/0644 (functions run as an
 * unprivileged user over a read-only bind), symlinks only when they resolve inside dest. It
 * refuses absolute names, "..", and more than max_bytes unpacked (counted from the bytes
 * inflated, not the headers' claims). Errors: PT_EUSAGE with Lambda's message for a package
 * that cannot be used ("Could not unzip uploaded file. ...", the size limit's), PT_ENOMEM,
 * PT_EIO/PT_ESYS for dest. On failure nothing is left at dest.
 *
 * pt_package_unpack_file serves the CLI: a package given by path is unpacked once under
 * root/packages/<sha256 of its bytes>/ and that directory returned (the same bytes are reused;
 * a package replaced on disk gets a new directory).
 */
#ifndef PT_ENGINE_PACKAGE_H
#define PT_ENGINE_PACKAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

#define PT_PACKAGE_UNZIPPED_MAX 262144000 /* Lambda's 250 MB, unzipped */
#define PT_PACKAGE_ENTRIES_MAX 100000
#define PT_PACKAGE_ZIPPED_MAX PT_PACKAGE_UNZIPPED_MAX /* a package file read by the CLI */

int pt_package_extract(const void *zip, size_t len, const char *dest, long long max_bytes,
                       struct pt_error *err);

/* True if path names a regular file that starts as a zip does ("PK\3\4" or an empty "PK\5\6"). */
bool pt_package_is_zip(const char *path);

int pt_package_unpack_file(const char *path, const char *root, char *code_dir, size_t size,
                           struct pt_error *err);

/*
 * Code named by its content: dir = root/kind/<sha256 hex of a then b>. root/kind is made and
 * scoped (pt_package_scope_root); dir itself is left to the caller.
 */
int pt_package_content_dir(const char *root, const char *kind, const void *a, size_t alen,
                           const void *b, size_t blen, char *dir, size_t size,
                           struct pt_error *err);

/*
 * Node.js takes a .js file's module type from the nearest package.json above it, so one above
 * the state directory (a --state-dir inside a project whose package.json says "type":
 * "module") made every unpacked package's or inline function's index.js an ES module, where
 * Lambda's /var/task has nothing above it. An empty package.json ({}) in dir (root/packages,
 * root/inline-code) ends the search there; written once, readable by the functions' user.
 */
int pt_package_scope_root(const char *dir, struct pt_error *err);

#endif
