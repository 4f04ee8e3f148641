/*
 * fs.h - small file-system helpers with bounded reads.
 *
 * pt_file_write_str opens with O_CREAT so that the same cgroup code works on
 * the real cgroupfs (where the file exists) and on the fake trees the unit
 * tests build in a temporary directory.
 */
#ifndef PT_BASE_FS_H
#define PT_BASE_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/buf.h"
#include "base/error.h"

int pt_mkdir_p(const char *path, mode_t mode, struct pt_error *err);
/* Writes s (whole) to path, truncating. */
int pt_file_write_str(const char *path, const char *s, struct pt_error *err);
/* Reads at most limit bytes of path into out (appended). More than limit: PT_ELIMIT. */
int pt_file_read(const char *path, size_t limit, struct pt_buf *out, struct pt_error *err);
/* Reads a small file into a fixed buffer, NUL-terminated, trailing newline kept. */
int pt_file_read_small(const char *path, char *out, size_t size, struct pt_error *err);
/* Writes data to path atomically (temp file in the same dir, fsync, rename). */
int pt_file_write_atomic(const char *path, const void *data, size_t n, struct pt_error *err);
/* out = a + "/" + b; -1 (and out empty) if it does not fit. */
int pt_path_join(char *out, size_t size, const char *a, const char *b);
bool pt_path_is_dir(const char *path);
bool pt_path_is_file(const char *path);
bool pt_path_is_executable(const char *path);
/* Whether a and b name the same file: the same inode, or, neither existing yet, the same name
 * in the same directory ("./x" and "x"). */
bool pt_path_same_file(const char *a, const char *b);
/* Whether a file can be written (created or replaced) at path: not a directory, in an
 * existing directory this process may write. PT_EUSAGE says which it is not. */
int pt_path_check_writable(const char *path, struct pt_error *err);
/*
 * powertune's state directory, made if missing: option if given, else $POWERTUNE_STATE_DIR,
 * $XDG_STATE_HOME/powertune, ~/.local/state/powertune (/tmp without HOME). One rule for the
 * engine's logs and `tune`'s journals of remote runs, so one --state-dir moves both.
 */
int pt_state_dir_resolve(const char *option, char *out, size_t size, struct pt_error *err);
/* rm -rf path; no symlink is followed, errors are ignored (best effort). */
void pt_rmtree(const char *path);
/* Resolves the directory holding the running executable (from /proc/self/exe). */
int pt_self_exe_dir(char *out, size_t size, struct pt_error *err);

#endif
