/*
 * fuzz_util.h - what the libFuzzer targets of tests/fuzz (fuzz_*.c) share, written once.
 *
 * Static inline functions only: every target is one translation unit of its own, linked with
 * libFuzzer's main, so nothing here needs a home in the library.
 *
 * The input's bytes (libFuzzer's buffer) are never handed to the code under test as they are:
 *   - fuzz_copy: a malloc of exactly the input's size, no NUL after it, for functions that take
 *     (ptr, len): AddressSanitizer then catches any read past the end (a hand-written scanner,
 *     SIMD newline masks, json_loadb). A size of 0 still allocates one byte, so NULL means out
 *     of memory only.
 *   - fuzz_cstr: a NUL-terminated string of exactly its length + 1 bytes, for functions that
 *     take a C string: a read past the terminator is caught the same way.
 *   - fuzz_cut: the input cut at the first separator ('\n', NUL), for targets whose input is two
 *     parts (a header line and a body, a type and a message).
 *   - fuzz_sized_cstr: a C string after a first byte that picks two output buffer sizes (the
 *     real ones down to a few bytes), so that every truncation path is taken.
 *
 * Files, for code that only takes paths:
 *   - fuzz_tmpdir: one directory per process, made on the first call: on /dev/shm when there is
 *     one (tmpfs: files are written for every input, and a disk would make every input wait),
 *     else in $TMPDIR or /tmp, and removed at exit by an atexit handler. A target that must leave
 *     nothing behind where atexit handlers do not run (fuzz_logs_file says why) makes and
 *     removes its directory around every input instead.
 *   - fuzz_write_file: the input as a new file, not a truncated one: ext4 flushes a file
 *     rewritten through O_TRUNC at close (auto_da_alloc), which made every input wait for the
 *     disk.
 *   - fuzz_handler_file: a code directory holding a Python handler, beside a template.
 *
 * Checks:
 *   - fuzz_check_rc: the error idiom of base/error.h: 0 or negative, and every refusal says
 *     why (a message in err).
 *
 * Targets that include api/api_internal.h, tune/tune.h or logs/logs_internal.h before this
 * header also get fuzz_api_ids / fuzz_api_new (a registry without a server or an engine),
 * fuzz_same_sample (two samples alike in every field), and fuzz_logs_run_init /
 * fuzz_logs_task_free (the scanner's run and task, as read.c sets them up).
 */
#ifndef PT_FUZZ_UTIL_H
#define PT_FUZZ_UTIL_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"

/* size bytes of data in a malloc of exactly that size (1 byte for 0); NULL if out of memory. */
static inline char *fuzz_copy(const void *data, size_t size)
{
    char *p = malloc(size ? size : 1);
    if (p)
        memcpy(p, data, size);
    return p;
}

/* size bytes of data and a NUL, in a malloc of exactly size + 1; NULL if out of memory. */
static inline char *fuzz_cstr(const void *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s) {
        memcpy(s, data, size);
        s[size] = '\0';
    }
    return s;
}

/*
 * Cuts data at the first byte sep: *head_len bytes before it, and the rest after it. Without
 * sep there is no head (*head_len 0) and the rest is all of data. Returns whether sep was found.
 */
static inline bool fuzz_cut(const uint8_t *data, size_t size, int sep, size_t *head_len,
                            const uint8_t **rest, size_t *rest_len)
{
    const uint8_t *at = memchr(data, sep, size);
    *head_len = at ? (size_t)(at - data) : 0;
    *rest = at ? at + 1 : data;
    *rest_len = size - (size_t)(*rest - data);
    return at != NULL;
}

/*
 * An input whose first byte picks the sizes of two output buffers among sizes[0..n) (its low
 * four bits *low, its high four bits *high) and whose rest is a C string: that string
 * (fuzz_cstr), NULL for an empty input or out of memory.
 */
static inline char *fuzz_sized_cstr(const uint8_t *data, size_t size, const size_t *sizes,
                                    size_t n, size_t *low, size_t *high)
{
    if (size == 0)
        return NULL;
    *low = sizes[(data[0] & 0x0f) % n];
    *high = sizes[(data[0] >> 4) % n];
    return fuzz_cstr(data + 1, size - 1);
}

/* Aborts unless rc follows the error idiom: 0, or negative with a message. */
static inline void fuzz_check_rc(int rc, const struct pt_error *err)
{
    if (rc > 0 || (rc < 0 && !err->msg[0]))
        abort();
}

struct fuzz_tmpdir_state {
    char path[PATH_MAX];
    void (*remove)(const char *path);
};

static inline struct fuzz_tmpdir_state *fuzz_tmpdir_state(void)
{
    static struct fuzz_tmpdir_state st;
    return &st;
}

static inline void fuzz_tmpdir_remove(void)
{
    struct fuzz_tmpdir_state *st = fuzz_tmpdir_state();
    if (st->path[0])
        st->remove(st->path);
}

/*
 * This process's directory: the first call makes it from the mkdtemp template name ("...XXXXXX")
 * under the first of /dev/shm, $TMPDIR and /tmp that takes it, and has remove(path) called on
 * it at exit; later calls return the same path. NULL if it could not be made (a later call tries
 * again).
 */
static inline const char *fuzz_tmpdir(const char *name, void (*remove)(const char *path))
{
    struct fuzz_tmpdir_state *st = fuzz_tmpdir_state();
    if (st->path[0])
        return st->path;
    const char *roots[] = {"/dev/shm", getenv("TMPDIR"), "/tmp"};
    for (size_t i = 0; i < 3 && !st->path[0]; i++) {
        if (!roots[i])
            continue;
        snprintf(st->path, sizeof(st->path), "%s/%s", roots[i], name);
        if (!mkdtemp(st->path))
            st->path[0] = '\0';
    }
    if (!st->path[0])
        return NULL;
    st->remove = remove;
    atexit(fuzz_tmpdir_remove);
    return st->path;
}

/* fuzz_tmpdir, aborting the run if the directory cannot be made. */
static inline const char *fuzz_tmpdir_or_abort(const char *name, void (*remove)(const char *path))
{
    const char *dir = fuzz_tmpdir(name, remove);
    if (!dir)
        abort();
    return dir;
}

/* n bytes of data as the new file path (one there before is unlinked first); 0 or -1. */
static inline int fuzz_write_file(const char *path, const void *data, size_t n)
{
    unlink(path);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    bool ok = n == 0 || fwrite(data, 1, n, f) == n;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/*
 * <base>/<dir>/<file>, a Python handler returning its event (no newline at its end), in the
 * directory made if missing; aborts if the file cannot be written.
 */
static inline void fuzz_handler_file(const char *base, const char *dir, const char *file)
{
    static const char handler[] = "def lambda_handler(e, c):\n    return e";
    char p[PATH_MAX + 64];
    snprintf(p, sizeof(p), "%s/%s", base, dir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/%s/%s", base, dir, file);
    if (fuzz_write_file(p, handler, sizeof(handler) - 1) != 0)
        abort();
}

#ifdef PT_API_INTERNAL_H
#include "base/str.h"

/* The account and region a registry answers for. */
static inline void fuzz_api_ids(struct pt_api *api)
{
    pt_strlcpy(api->region, "us-east-1", sizeof(api->region));
    pt_strlcpy(api->account, "123456789012", sizeof(api->account));
}

/*
 * A struct pt_api as pt_api_create makes it, without an engine or a server: the ids, the
 * account's concurrency, the locks, the state under <state>/api, and a retry delay no run
 * reaches. The caller sets its options and loads what it needs; pt_api_destroy frees it.
 */
static inline struct pt_api *fuzz_api_new(const char *state)
{
    struct pt_api *api = calloc(1, sizeof(*api));
    if (!api)
        abort();
    api->opt.event_retry_delay_ms = 60000;
    fuzz_api_ids(api);
    api->account_concurrency = 1000;
    pthread_mutex_init(&api->lock, NULL);
    pthread_mutex_init(&api->ev_lock, NULL);
    pthread_cond_init(&api->ev_cond, NULL);
    snprintf(api->root, sizeof(api->root), "%s/api", state);
    return api;
}
#endif

#ifdef PT_TUNE_TUNE_H
/* Every field of a sample line (samples.c writes and reads them all). */
static inline bool fuzz_same_sample(const struct pt_tune_sample *a, const struct pt_tune_sample *b)
{
    return a->power == b->power && a->duration_ms == b->duration_ms &&
           a->billed_ms == b->billed_ms && a->init_ms == b->init_ms &&
           a->max_memory_used_mb == b->max_memory_used_mb && a->cpu_time_ms == b->cpu_time_ms &&
           a->cold_start == b->cold_start && strcmp(a->error, b->error) == 0 &&
           a->payload_index == b->payload_index && a->t_ms == b->t_ms;
}
#endif

#ifdef PT_LOGS_INTERNAL_H
/* A run of one scanner over options o (no sources, no tasks: the caller's task only). */
static inline void fuzz_logs_run_init(struct pt_logs_run *run, const struct pt_logs_options *o)
{
    memset(run, 0, sizeof(*run));
    run->opt = o;
    atomic_init(&run->next_task, 0);
    atomic_init(&run->invocations, 0);
    atomic_init(&run->stop, false);
}

/* What scanning allocated in a task. */
static inline void fuzz_logs_task_free(struct pt_logs_task *task)
{
    free(task->invs);
    free(task->figs);
    free(task->colds);
    free(task->inits);
}
#endif

#endif
