/*
 * bench_util.h - what the benchmark programs share: percentiles, and registering and
 * invoking a function with the benchmark's usual "fail loudly and exit" policy (a
 * benchmark that hits an error has nothing to report).
 */
#ifndef PT_BENCH_UTIL_H
#define PT_BENCH_UTIL_H

#include <errno.h>
#include <math.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "engine/engine.h"

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The p-th percentile (nearest rank) of v; sorts v. */
static inline double bench_pct(double *v, size_t n, double p)
{
    qsort(v, n, sizeof(double), bench_cmp_double);
    size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return v[i];
}

/*
 * A 95 % confidence interval of the median of v, distribution-free: the order statistics
 * n/2 -+ 0.98 sqrt(n) (a Binomial(n, 1/2) count, normal approximation; Conover's ranks). On
 * this kind of machine one cold start's CPU cost varies by ~15 % from run to run (fresh pages
 * cost 10-16 us each, some runs take many more of them), so a few milliseconds of overhead on
 * a 30-60 ms start needs this to say whether a median is below a goal. Sorts v.
 */
static inline void bench_median_ci(double *v, size_t n, double *lo, double *hi)
{
    qsort(v, n, sizeof(double), bench_cmp_double);
    double half = 0.98 * sqrt((double)n);
    double lower = floor((double)n / 2.0 - half), upper = ceil(1.0 + (double)n / 2.0 + half);
    size_t l = lower < 1 ? 0 : (size_t)lower - 1, u = upper > (double)n ? n - 1 : (size_t)upper - 1;
    *lo = v[l];
    *hi = v[u];
}

/* "met" when the whole interval [lo, hi] is below goal, "missed" when none of it is. */
static inline const char *bench_goal_verdict(double lo, double hi, double goal)
{
    return hi < goal ? "met" : lo >= goal ? "missed" : "not resolved";
}

/* --reps N: cold starts per size, 5..1000; false (nothing stored) when s is not one. */
static inline bool bench_parse_reps(const char *s, int *reps)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 5 || v > 1000)
        return false;
    *reps = (int)v;
    return true;
}

/* Registers root/dir at memory MB; runtime/handler/env_kv may be NULL (detected / none). */
static inline struct pt_function *bench_add_function(struct pt_engine *e, const char *root,
                                                     const char *dir, const char *runtime,
                                                     const char *handler, int memory,
                                                     int timeout, const char *env_kv)
{
    struct pt_function_config c;
    struct pt_error err = {0};
    pt_function_config_init(&c);
    if (runtime)
        snprintf(c.runtime, sizeof(c.runtime), "%s", runtime);
    if (handler)
        snprintf(c.handler, sizeof(c.handler), "%s", handler);
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", root, dir);
    if (pt_function_detect(&c, path, &err) || (env_kv && pt_function_set_env_kv(&c, env_kv, &err))) {
        fprintf(stderr, "%s: %s\n", dir, err.msg);
        exit(1);
    }
    c.memory_mb = memory;
    c.timeout_s = timeout;
    struct pt_function *fn;
    if (pt_engine_function_add(e, &c, &fn, &err)) {
        fprintf(stderr, "%s: %s\n", dir, err.msg);
        exit(1);
    }
    pt_function_config_free(&c);
    return fn;
}

/* One invocation; an engine error or a function error ends the benchmark. */
static inline void bench_invoke(struct pt_engine *e, struct pt_function *fn, const char *payload,
                                bool cold, struct pt_invoke_result *r)
{
    struct pt_invoke_request req = {.payload = payload, .payload_len = strlen(payload),
                                    .new_environment = cold};
    struct pt_error err = {0};
    if (pt_engine_invoke(e, fn, &req, r, &err)) {
        fprintf(stderr, "invoke: %s\n", err.msg);
        exit(1);
    }
    if (r->function_error) {
        fprintf(stderr, "function error: %.*s\n", (int)r->payload_len, r->payload);
        exit(1);
    }
}

/* Starts argv[0] with fa and envp, timed from just before the spawn (*t0_ns); exits on failure. */
static inline pid_t bench_spawn(char *const argv[], const posix_spawn_file_actions_t *fa,
                                char *const envp[], int64_t *t0_ns)
{
    *t0_ns = pt_mono_ns();
    pid_t pid;
    if (posix_spawn(&pid, argv[0], fa, NULL, argv, envp) != 0) {
        fprintf(stderr, "cannot start %s\n", argv[0]);
        exit(1);
    }
    return pid;
}

/*
 * An interpreter started bare (no engine): argv[0] spawned in the environment a function
 * gets (no inherited variables such as NODE_EXTRA_CA_CERTS or PYTHON*), timed from the spawn
 * to the first byte it writes on stdout (its exit is not part of a cold start). Returns ms.
 */
static inline double bench_bare_start_ms(char *const argv[])
{
    int fds[2];
    if (pipe(fds) != 0)
        exit(1);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    char *envp[] = {"PATH=/usr/local/bin:/usr/bin/:/bin", "LANG=en_US.UTF-8", "TZ=:UTC", NULL};
    int64_t t0;
    pid_t pid = bench_spawn(argv, &fa, envp, &t0);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    char c;
    ssize_t got;
    while ((got = read(fds[0], &c, 1)) < 0 && errno == EINTR) {
    }
    double ms = (double)(pt_mono_ns() - t0) / 1e6;
    close(fds[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (got != 1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bare %s failed\n", argv[0]);
        exit(1);
    }
    return ms;
}

#endif
