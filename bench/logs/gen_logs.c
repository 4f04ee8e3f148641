/*
 * gen_logs.c - writes a realistic Lambda log of a given size for bench/logs/run.sh.
 *
 * One function's stream as the engine (or a CloudWatch export) has it: "<ISO time> <message>"
 * lines; per invocation START, 0-3 lines of function output (Python runtime style), END and
 * REPORT; ~3 % cold starts with Init Duration; a daily-looking traffic curve with one spike;
 * durations mostly tens of ms with a long tail and rare timeouts. Deterministic (seeded
 * xorshift), so every run benchmarks the same bytes.
 *
 *   cc -O2 -o gen_logs gen_logs.c -lm && ./gen_logs OUT.log [BYTES] [SEED]
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng_state;

static uint64_t rng(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static double uniform(void)
{
    return (double)(rng() >> 11) / 9007199254740992.0;
}

static void iso(int64_t ms, char *out)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    sprintf(out, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
            tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static void uuid(char *out)
{
    uint64_t a = rng(), b = rng();
    sprintf(out, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffff,
            (unsigned)a & 0xfff, (unsigned)(0x8000 | ((b >> 48) & 0x3fff)),
            (unsigned long long)(b & 0xffffffffffffULL));
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: gen_logs OUT.log [BYTES] [SEED]\n");
        return 2;
    }
    long long target = argc > 2 ? atoll(argv[2]) : 1LL << 30;
    rng_state = argc > 3 ? strtoull(argv[3], NULL, 10) : 88172645463325252ULL;
    FILE *f = fopen(argv[1], "w");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    static char obuf[1 << 20];
    setvbuf(f, obuf, _IOFBF, sizeof(obuf));
    static const char *const msgs[] = {
        "processing order %llu for customer %llu",
        "fetched item %llu from DynamoDB in %llu ms",
        "cache miss for key product#%llu (shard %llu)",
        "published event OrderCreated id=%llu seq=%llu",
    };
    const int64_t t_start = 1795132800000LL; /* 2026-11-20T00:00:00Z */
    double t = (double)t_start;
    long long written = 0;
    unsigned long long n = 0;
    char ts[32], te[32], id[40], msg[160];
    while (written < target) {
        /* Requests per second: a slow wave between ~150 and ~450, a 2-minute spike to ~1500. */
        double hours = (t - t_start) / 3.6e6;
        double rate = 300 + 150 * sin(hours * 2 * M_PI / 2.0);
        double since_spike = hours - 1.25;
        if (since_spike >= 0 && since_spike < 2.0 / 60)
            rate = 1500;
        t += -log(1 - uniform()) * 1000.0 / rate; /* Poisson arrivals */
        int64_t start = (int64_t)t;
        double u = uniform(), d;
        if (u < 0.80)
            d = 15 + 60 * uniform();
        else if (u < 0.99)
            d = 80 + 320 * uniform();
        else if (u < 0.9995)
            d = 800 + 2000 * uniform();
        else
            d = 3000.0;
        bool timeout = d == 3000.0;
        bool cold = uniform() < 0.03;
        double init = cold ? 150 + 250 * uniform() : 0;
        int64_t end = start + (int64_t)ceil(d);
        unsigned used = 60 + (unsigned)(rng() % 60);
        iso(start, ts);
        iso(end, te);
        uuid(id);
        written += fprintf(f, "%s START RequestId: %s Version: $LATEST\n", ts, id);
        int lines = (int)(rng() % 4);
        for (int k = 0; k < lines; k++) {
            char at[32];
            iso(start + 1 + k, at);
            snprintf(msg, sizeof(msg), msgs[rng() % 4], (unsigned long long)(rng() % 1000000),
                     (unsigned long long)(rng() % 10000));
            written += fprintf(f, "%s [INFO]\t%s\t%s\t%s\n", at, at, id, msg);
        }
        written += fprintf(f, "%s END RequestId: %s\n", te, id);
        unsigned long long billed = (unsigned long long)ceil(d + init);
        written += fprintf(f,
                           "%s REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %llu "
                           "ms\tMemory Size: 512 MB\tMax Memory Used: %u MB\t",
                           te, id, d, billed, used);
        if (cold)
            written += fprintf(f, "Init Duration: %.2f ms\t", init);
        if (timeout)
            written += fprintf(f, "Status: timeout");
        written += fprintf(f, "\n");
        n++;
    }
    if (fclose(f) != 0) {
        perror(argv[1]);
        return 1;
    }
    fprintf(stderr, "%s: %lld bytes, %llu invocations\n", argv[1], written, n);
    return 0;
}
