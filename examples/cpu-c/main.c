/*
 * cpu-c - a purely CPU-bound function, the case where Lambda's
 * memory-proportional CPU share decides the duration.
 *
 * Event {"iterations": N, "threads": T} (both optional). T threads run
 * N/T steps each of a dependent 64-bit recurrence: every step needs the
 * previous result, so the compiler can neither drop nor vectorise the loop
 * and the work scales with N only, not with memory bandwidth. Response
 * {"iterations":N,"threads":T,"result":R}; R depends on N and T.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "powertune_lambda.h"

/* About 1 s of CPU on the development machine (see README.md). */
#define CPU_DEFAULT_ITERATIONS 640000000ULL
#define CPU_MAX_ITERATIONS 1000000000000ULL /* ~40 min of CPU: a typo guard, not a policy */
#define CPU_MAX_THREADS 64

struct share {
    pthread_t tid;
    uint64_t iterations;
    uint64_t state;
};

/* One step costs a multiply, an add, a shift and a xor, all on the critical path. */
static void *spin(void *arg)
{
    struct share *s = arg;
    uint64_t x = s->state;
    for (uint64_t i = 0; i < s->iterations; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        x ^= x >> 29;
    }
    s->state = x;
    return NULL;
}

static int fail(struct ptl_response *out, const char *type, const char *fmt, const char *field)
{
    char msg[256];
    snprintf(msg, sizeof msg, fmt, field);
    out->error_type = type;
    out->error_message = strdup(msg);
    return -1;
}

/* Reads an optional integer field in [min, max]; accepts integral reals (1e9). 0 or -1. */
static int get_uint(json_t *doc, const char *field, uint64_t min, uint64_t max, uint64_t *out)
{
    json_t *v = json_object_get(doc, field);
    double d;
    if (!v)
        return 0;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0 || (uint64_t)i < min || (uint64_t)i > max)
            return -1;
        *out = (uint64_t)i;
        return 0;
    }
    if (!json_is_real(v))
        return -1;
    d = json_real_value(v);
    if (!(d >= (double)min && d <= (double)max) || d != floor(d))
        return -1;
    *out = (uint64_t)d;
    return 0;
}

static int handler(const char *event, size_t event_len, const struct ptl_context *ctx, struct ptl_response *out)
{
    uint64_t iterations = CPU_DEFAULT_ITERATIONS, threads = 1, result = 0;
    struct share shares[CPU_MAX_THREADS];
    json_t *doc = NULL;
    size_t started = 0;
    int rc = -1;
    char body[160];

    (void)ctx;
    /* An empty event means all defaults. */
    while (event_len > 0 && strchr(" \t\r\n", event[event_len - 1]))
        event_len--;
    if (event_len > 0) {
        json_error_t jerr;
        doc = json_loadb(event, event_len, JSON_DECODE_ANY, &jerr);
        if (!doc || !(json_is_object(doc) || json_is_null(doc))) {
            rc = fail(out, "InvalidEvent", "%s must be a JSON object", "the event");
            goto out;
        }
        if (get_uint(doc, "iterations", 1, CPU_MAX_ITERATIONS, &iterations) != 0) {
            rc = fail(out, "InvalidEvent", "%s must be an integer from 1 to 1000000000000", "iterations");
            goto out;
        }
        if (get_uint(doc, "threads", 1, CPU_MAX_THREADS, &threads) != 0) {
            rc = fail(out, "InvalidEvent", "%s must be an integer from 1 to 64", "threads");
            goto out;
        }
    }

    for (uint64_t t = 0; t < threads; t++) {
        shares[t].iterations = iterations / threads + (t < iterations % threads ? 1 : 0);
        shares[t].state = 0x9E3779B97F4A7C15ULL * (t + 1); /* distinct chains per thread */
    }
    /* Share 0 runs on this thread: T threads in all, one fewer to create. */
    for (started = 1; started < threads; started++) {
        int e = pthread_create(&shares[started].tid, NULL, spin, &shares[started]);
        if (e != 0) {
            rc = fail(out, "ThreadError", "pthread_create: %s", strerror(e));
            goto join;
        }
    }
    spin(&shares[0]);
    rc = 0;
join:
    for (size_t t = 1; t < started; t++)
        pthread_join(shares[t].tid, NULL);
    if (rc != 0)
        goto out;
    for (uint64_t t = 0; t < threads; t++)
        result ^= shares[t].state;
    /* 53 bits: every JSON reader (JavaScript included) gets the exact value. */
    result &= (1ULL << 53) - 1;
    int n = snprintf(body, sizeof body, "{\"iterations\":%" PRIu64 ",\"threads\":%" PRIu64 ",\"result\":%" PRIu64 "}",
                     iterations, threads, result);
    out->body = strndup(body, (size_t)n);
    if (!out->body) {
        rc = fail(out, "OutOfMemory", "%s", "no memory for the response");
        goto out;
    }
    out->len = (size_t)n;
out:
    json_decref(doc);
    return rc;
}

int main(void)
{
    return ptl_run(handler) == 0 ? 0 : 1;
}
