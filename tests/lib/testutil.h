/*
 * testutil.h - what the cmocka tests share: the repository root, example
 * paths, temporary directories and a ready engine for integration tests.
 */
#ifndef PT_TESTS_TESTUTIL_H
#define PT_TESTS_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "engine/engine.h"

/* The repository root (found from the working directory or the test binary). */
const char *tu_repo_root(void);
/* <root>/examples/<name> (or <root>/<name> when name has a '/') into a static buffer. */
const char *tu_example(const char *name);
/* A fresh temporary directory (mkdtemp); removed with tu_rmtree. */
char *tu_mkdtemp(void);
void tu_rmtree(const char *path);
/* True if this process may create cgroups (root and a cgroup hierarchy). */
bool tu_have_cgroups(void);
/* An engine with its state in a temp dir, runtimes from the repository. */
struct pt_engine *tu_engine(const struct pt_engine_options *base);
void tu_engine_free(struct pt_engine *e);
/* cmocka teardown: frees every engine a failed test left behind (their groups too). */
int tu_teardown_engines(void **state);
/* Adds the example with the given memory/timeout (0 = defaults); fails the test on error. */
struct pt_function *tu_function(struct pt_engine *e, const char *example, int memory_mb,
                                int timeout_s);
/* The same under another name (NULL: the directory's), so that one example makes two functions. */
struct pt_function *tu_function_named(struct pt_engine *e, const char *example, const char *name,
                                      int memory_mb, int timeout_s);
/* Invokes with a JSON payload; fails the test on an engine error. */
void tu_invoke(struct pt_engine *e, struct pt_function *fn, const char *payload,
               struct pt_invoke_result *res);
/* Formats a path into out (PATH_MAX bytes); a path too long fails the test. */
void tu_pathf(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reads a child's report from fd (closed) into out, reaps the child: its exit status, or
 * 128 + the signal that killed it. */
int tu_child_report(int fd, pid_t pid, char *out, size_t size);
/* Reaps a child that must exit (not be killed): its exit status (the number of a check that
 * failed in it, by the tests' convention). */
int tu_child_exit_status(pid_t pid);
/* The first cgroup2 mount point in /proc/self/mountinfo into out (PATH_MAX); false if none. */
bool tu_cgroup2_mount(char *out);
/* Number of live directories under <hierarchy>/powertune/ for this process's instance. */
int tu_count_instance_cgroups(void);
/* In a child about to test it: a seccomp filter refusing mount_setattr with EPERM, as a
 * container's profile may. 0, or -1 when it could not be installed. */
int tu_refuse_mount_setattr(void);

#endif
