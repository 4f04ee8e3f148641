/*
 * bench_util.h - what the benchmark programs share: percentiles, and registering and
 * invoking a function with the benchmark's usual "fail loudly and exit" policy (a
 * benchmark that hits an error has nothing to report).
 */
#ifndef PT_BENCH_UTIL_H
#define PT_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>

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

#endif
