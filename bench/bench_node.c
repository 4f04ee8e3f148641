/*
 * bench_node - the Node.js runtime's goals (issue 3), measured through the library the way
 * `powertune invoke` uses it. Prints a Markdown section (## Node.js runtime (issue 3)).
 *
 *   cold start of the Node no-op through the engine vs `node` started bare on the same file:
 *     goal: engine overhead (engine cold start - bare node) under 10 % of the cold start;
 *     split into the runtime client's own part (runtimes/node/bootstrap.cjs against a minimal
 *     Runtime API in this process, no engine) and the engine's (the rest)
 *   INIT boost: examples/tla-node (the work in a top-level await, i.e. in INIT) vs
 *     examples/handler-node (the same work in the handler), both at 128 MB:
 *     INIT must spend far less wall time than the handler
 *
 * Usage (from the repository root, as root for cgroups):
 *   build/bench/bench_node [--quick] [--reps N] [--baseline RUNTIMES_DIR]
 * --baseline: also runs the engine cold starts with another runtimes directory (e.g. an older
 * runtimes/node/bootstrap.cjs from git), interleaved with the current one: a before/after A/B.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/fs.h"
#include "engine/engine.h"
#include "bench_util.h"

static char root[4096];
static const char *node = "/usr/bin/node";

/*
 * The no-op in both module systems: node loads them by different loaders (an ES module through
 * the ESM loader, whose code is compiled from source at each start; a CommonJS one by require),
 * so the runtime client's start costs each differently.
 */
struct noop_form {
    const char *label, *dir, *file;
    bool esm;
};
static const struct noop_form noop_forms[] = {
    {"ES module", "bench/functions/noop-node", "index.mjs", true},
    {"CommonJS", "bench/functions/noop-node-cjs", "index.js", false},
};

/* The flags Lambda's bootstrap (and the engine) give node: V8's heap sized from the memory. */
struct heap_flags {
    char semi[48], old[48];
};

static void heap_flags_for(int memory, struct heap_flags *f)
{
    snprintf(f->semi, sizeof(f->semi), "--max-semi-space-size=%d", memory / 10 / 2);
    snprintf(f->old, sizeof(f->old), "--max-old-space-size=%d", memory - memory / 10);
}

static struct pt_engine *bench_engine(const char *state, const char *runtimes)
{
    struct pt_engine_options opt = {.state_dir = state, .runtime_dir = runtimes, .node = node};
    struct pt_engine *e;
    struct pt_error err = {0};
    if (pt_engine_create(&e, &opt, &err)) {
        fprintf(stderr, "engine: %s\n", err.msg);
        exit(1);
    }
    return e;
}

static struct pt_function *bench_function(struct pt_engine *e, const char *dir, const char *runtime,
                                          int memory, int timeout, const char *env_kv)
{
    return bench_add_function(e, root, dir, runtime, "index.handler", memory, timeout, env_kv);
}

/*
 * `node` started bare on the file: node's start-up, the module's loading and one call of its
 * handler, timed from the spawn to the first byte of the handler's result on a pipe (node's own
 * exit is not part of a cold start either), in an environment as clean as the engine gives.
 * The result goes out with fs.writeSync: process.stdout on a pipe would load node:net and the
 * streams stack (~9 ms under these V8 flags), which the runtime client does not load either.
 */
static double bare_node_ms(const char *file, bool esm, int memory)
{
    static const char cjs_driver[] =
        "const m = require(process.argv[1]);"
        "m.handler({}, {}).then((r) => require('node:fs').writeSync(1, JSON.stringify(r) + '\\n'));";
    static const char esm_driver[] =
        "const m = await import(process.argv[1]);"
        "const fs = (process.getBuiltinModule ?? (await import('node:module'))"
        ".createRequire(process.argv[1]))('node:fs');"
        "fs.writeSync(1, JSON.stringify(await m.handler({}, {})) + '\\n');";
    struct heap_flags f;
    heap_flags_for(memory, &f);
    char *argv[] = {(char *)node, "--expose-gc", "--max-http-header-size=81920", f.semi, f.old,
                    "--input-type=module", "-e", (char *)esm_driver, (char *)file, NULL};
    if (!esm) { /* no --input-type: CommonJS */
        argv[5] = "-e";
        argv[6] = (char *)cjs_driver;
        argv[7] = (char *)file;
        argv[8] = NULL;
    }
    return bench_bare_start_ms(argv);
}

/* Reads one HTTP request (head and Content-Length body) from fd; false on EOF, error or timeout. */
static bool read_request(int fd, char *buf, size_t cap)
{
    size_t have = 0, need = 0;
    for (;;) {
        buf[have] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        if (end && !need) {
            const char *cl = strcasestr(buf, "\r\nContent-Length:");
            need = (size_t)(end + 4 - buf) + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
        }
        if (need && have >= need)
            return true;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (have + 1 >= cap || poll(&p, 1, 10000) != 1)
            return false;
        ssize_t n = read(fd, buf + have, cap - 1 - have);
        if (n <= 0)
            return false;
        have += (size_t)n;
    }
}

/*
 * The runtime client alone: <runtimes>/node/bootstrap.cjs started with the engine's flags and
 * Lambda's variables, but by this process and against a minimal Runtime API on a loopback socket
 * here (no cgroup, sandbox or engine): from the spawn to the POST of the no-op's result. *cpu_ms:
 * the CPU time node used until then (it is killed at the POST), a figure contention moves less.
 */
static double client_only_ms(const char *runtimes, const char *fn_dir, int memory, double *cpu_ms)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(lfd, 4) != 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &alen) != 0) {
        fprintf(stderr, "client-only: cannot listen\n");
        exit(1);
    }
    char boot[4300], api[64], handler_root[4300], name[64], mem[64], node_path[4400];
    snprintf(boot, sizeof(boot), "%s/node/bootstrap.cjs", runtimes);
    snprintf(api, sizeof(api), "AWS_LAMBDA_RUNTIME_API=127.0.0.1:%d", ntohs(a.sin_port));
    snprintf(handler_root, sizeof(handler_root), "LAMBDA_TASK_ROOT=%s", fn_dir);
    snprintf(name, sizeof(name), "AWS_LAMBDA_FUNCTION_NAME=noop-node");
    snprintf(mem, sizeof(mem), "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=%d", memory);
    snprintf(node_path, sizeof(node_path),
             "NODE_PATH=/opt/nodejs/node20/node_modules:/opt/nodejs/node_modules:%s", fn_dir);
    struct heap_flags f;
    heap_flags_for(memory, &f);
    char *argv[] = {(char *)node, "--expose-gc", "--max-http-header-size=81920", f.semi, f.old,
                    boot, NULL};
    char *envp[] = {"PATH=/usr/local/bin:/usr/bin/:/bin", "LANG=en_US.UTF-8", "TZ=:UTC",
                    "_HANDLER=index.handler", handler_root, api, name, mem,
                    "AWS_LAMBDA_FUNCTION_VERSION=$LATEST", node_path, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addchdir_np(&fa, fn_dir);
    int64_t t0;
    pid_t pid = bench_spawn(argv, &fa, envp, &t0);
    posix_spawn_file_actions_destroy(&fa);
    static const char event[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                "Lambda-Runtime-Aws-Request-Id: bench-1\r\n"
                                "Lambda-Runtime-Deadline-Ms: 99999999999999\r\n"
                                "Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:"
                                "123456789012:function:noop-node\r\nContent-Length: 2\r\n\r\n{}";
    char req[65536];
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    int cfd = poll(&p, 1, 10000) == 1 ? accept4(lfd, NULL, NULL, SOCK_CLOEXEC) : -1;
    bool ok = cfd >= 0 && read_request(cfd, req, sizeof(req)) && strncmp(req, "GET ", 4) == 0 &&
              write(cfd, event, sizeof(event) - 1) == (ssize_t)sizeof(event) - 1 &&
              read_request(cfd, req, sizeof(req)) && strncmp(req, "POST ", 5) == 0;
    double ms = (double)(pt_mono_ns() - t0) / 1e6;
    kill(pid, SIGKILL);
    int st;
    struct rusage ru;
    while (wait4(pid, &st, 0, &ru) < 0 && errno == EINTR) {
    }
    if (cpu_ms)
        *cpu_ms = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
                  (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
    if (cfd >= 0)
        close(cfd);
    close(lfd);
    if (!ok) {
        fprintf(stderr, "client-only run of %s failed\n", boot);
        exit(1);
    }
    return ms;
}

struct cold {
    double wall, init, dur;
};

/*
 * A pause before every timed run: the engine's janitor tears the last discarded environment down
 * (kills its processes, removes its cgroups) meanwhile, so that this work slows no measurement;
 * and every run, engine or not, starts after the same idle time.
 */
static void settle(void)
{
    usleep(150000);
}

/* One cold start through the engine: the invoke call's wall time, Init Duration, Duration. */
static void cold_start(struct pt_engine *e, struct pt_function *fn, struct cold *out)
{
    struct pt_invoke_result r;
    int64_t t0 = pt_mono_ns();
    bench_invoke(e, fn, "{}", true, &r);
    out->wall = (double)(pt_mono_ns() - t0) / 1e6;
    out->init = r.init_duration_ms;
    out->dur = r.duration_ms;
    pt_invoke_result_free(&r);
}

static void cold_starts(struct pt_engine *e, struct pt_function *fn, int n, struct cold *out)
{
    double *w = calloc((size_t)n, sizeof(double)), *i = calloc((size_t)n, sizeof(double)),
           *d = calloc((size_t)n, sizeof(double));
    for (int k = 0; k < n; k++) {
        struct cold c;
        settle();
        cold_start(e, fn, &c);
        w[k] = c.wall;
        i[k] = c.init;
        d[k] = c.dur;
    }
    out->wall = bench_pct(w, (size_t)n, 50);
    out->init = bench_pct(i, (size_t)n, 50);
    out->dur = bench_pct(d, (size_t)n, 50);
    free(w);
    free(i);
    free(d);
}

/* The series of one memory size, sampled in turns; medians once all are taken. */
enum cold_series {
    S_BARE,        /* node bare on the file */
    S_WALL,        /* engine cold start */
    S_INIT,        /* its Init Duration */
    S_DUR,         /* its Duration */
    S_OUTSIDE,     /* wall - Init Duration - Duration: the engine before exec, after the result */
    S_CLIENT,      /* the runtime client alone (client_only_ms) */
    S_OVER,        /* wall - bare, per pair */
    S_SHARE,       /* 100 x (wall - bare) / wall, per pair */
    S_CLIENT_OVER, /* runtime client alone - bare, per pair */
    S_BASE_WALL,   /* engine cold start with the baseline runtimes */
    S_BASE_CLIENT, /* the baseline's runtime client alone */
    S_CLIENT_CPU,  /* CPU time of the runtime client alone */
    S_BASE_CPU,    /* CPU time of the baseline's runtime client alone */
    S_COUNT
};

/* A/B medians per memory size, printed after the main table. */
struct ab_row {
    int memory;
    double base_wall, wall, base_client, client, base_cpu, cpu;
};

static void bench_cold(struct pt_engine *e, struct pt_engine *base, const char *base_dir, int n,
                       const struct noop_form *form)
{
    char file[4200], fn_dir[4200], runtimes[4200];
    snprintf(file, sizeof(file), "%s/%s/%s", root, form->dir, form->file);
    snprintf(fn_dir, sizeof(fn_dir), "%s/%s", root, form->dir);
    snprintf(runtimes, sizeof(runtimes), "%s/runtimes", root);
    printf("\n**Cold start of the Node.js no-op, %s** (%s, medians of %d, all runs interleaved): "
           "the invoke call with a fresh environment (cgroup, sandbox, Runtime "
           "API server, node, runtimes/node/bootstrap.cjs, INIT, the invocation, END/REPORT) "
           "against node started bare on the same file with the same flags (start-up, the "
           "module's loading and one handler call, timed to the result's first byte on a pipe). "
           "Overhead = engine - bare (median of the pairs' differences, as the runtime client's "
           "share), with a 95 %% confidence interval, as for its share of the engine's cold start "
           "(the goal is met when the whole interval is below 10 %%, missed when none of it is). "
           "*Outside* = engine cold start - Init Duration - Duration "
           "(the engine before exec: cgroup, Runtime API server, fork, sandbox; and after the "
           "result: the wait for the runtime's next GET, REPORT). *Runtime client alone* = "
           "runtimes/node/bootstrap.cjs with the same flags and variables against a minimal "
           "Runtime API in the bench process (no engine), spawn to its POST of the result: its "
           "excess over bare node is the runtime client's share of the overhead, the rest of the "
           "overhead is the engine's.\n\n",
           form->label, form->dir, n);
    printf("| Memory | bare node | engine cold start | of which Init Duration | Duration | "
           "outside | runtime client alone | overhead (95 %% CI) | of which runtime client | "
           "overhead / cold start (95 %% CI) | goal |\n"
           "|---|---|---|---|---|---|---|---|---|---|---|\n");
    static const int mems[] = {1769, 512, 128};
    enum { NMEM = sizeof(mems) / sizeof(mems[0]) };
    struct ab_row ab[NMEM];
    double *v[S_COUNT];
    for (int c = 0; c < S_COUNT; c++)
        v[c] = calloc((size_t)n, sizeof(double));
    for (size_t m = 0; m < NMEM; m++) {
        struct pt_function *fn = bench_function(e, form->dir, "nodejs20.x", mems[m], 10, NULL);
        struct pt_function *bfn =
            base ? bench_function(base, form->dir, "nodejs20.x", mems[m], 10, NULL) : NULL;
        struct cold c;
        cold_start(e, fn, &c); /* page cache */
        bare_node_ms(file, form->esm, mems[m]);
        client_only_ms(runtimes, fn_dir, mems[m], NULL);
        for (int k = 0; k < n; k++) {
            settle();
            v[S_BARE][k] = bare_node_ms(file, form->esm, mems[m]);
            settle();
            cold_start(e, fn, &c);
            v[S_WALL][k] = c.wall;
            v[S_INIT][k] = c.init;
            v[S_DUR][k] = c.dur;
            v[S_OUTSIDE][k] = c.wall - c.init - c.dur;
            v[S_OVER][k] = c.wall - v[S_BARE][k];
            v[S_SHARE][k] = 100.0 * v[S_OVER][k] / c.wall;
            settle();
            v[S_CLIENT][k] = client_only_ms(runtimes, fn_dir, mems[m], &v[S_CLIENT_CPU][k]);
            v[S_CLIENT_OVER][k] = v[S_CLIENT][k] - v[S_BARE][k];
            if (bfn) {
                settle();
                cold_start(base, bfn, &c);
                v[S_BASE_WALL][k] = c.wall;
                settle();
                v[S_BASE_CLIENT][k] =
                    client_only_ms(base_dir, fn_dir, mems[m], &v[S_BASE_CPU][k]);
            }
        }
        double med[S_COUNT], over_lo, over_hi, share_lo, share_hi;
        bench_median_ci(v[S_OVER], (size_t)n, &over_lo, &over_hi);
        bench_median_ci(v[S_SHARE], (size_t)n, &share_lo, &share_hi);
        for (int s = 0; s < S_COUNT; s++)
            med[s] = bench_pct(v[s], (size_t)n, 50);
        printf("| %d MB | %.1f ms | %.1f ms | %.1f ms | %.2f ms | %.1f ms | %.1f ms | %.1f ms "
               "(%.1f to %.1f) | %.1f ms | %.1f %% (%.1f to %.1f) | < 10 %%: %s |\n",
               mems[m], med[S_BARE], med[S_WALL], med[S_INIT], med[S_DUR], med[S_OUTSIDE],
               med[S_CLIENT], med[S_OVER], over_lo, over_hi, med[S_CLIENT_OVER], med[S_SHARE],
               share_lo, share_hi, bench_goal_verdict(share_lo, share_hi, 10.0));
        ab[m] = (struct ab_row){.memory = mems[m], .base_wall = med[S_BASE_WALL],
                                .wall = med[S_WALL], .base_client = med[S_BASE_CLIENT],
                                .client = med[S_CLIENT], .base_cpu = med[S_BASE_CPU],
                                .cpu = med[S_CLIENT_CPU]};
        pt_engine_function_remove(e, fn);
        if (bfn)
            pt_engine_function_remove(base, bfn);
    }
    for (int c = 0; c < S_COUNT; c++)
        free(v[c]);
    if (base) {
        printf("\n**Before/after** (A/B, interleaved with the runs above): runtimes/node from %s "
               "(before) and from runtimes/ (after), medians of %d.\n\n"
               "| Memory | engine cold start before | after | after/before | runtime client "
               "alone before | after | after/before | its CPU time before | after | after - "
               "before |\n|---|---|---|---|---|---|---|---|---|---|\n",
               base_dir, n);
        for (size_t m = 0; m < NMEM; m++)
            printf("| %d MB | %.1f ms | %.1f ms | %.3f | %.1f ms | %.1f ms | %.3f | %.1f ms | %.1f "
                   "ms | %+.1f ms |\n",
                   ab[m].memory, ab[m].base_wall, ab[m].wall, ab[m].wall / ab[m].base_wall,
                   ab[m].base_client, ab[m].client, ab[m].client / ab[m].base_client,
                   ab[m].base_cpu, ab[m].cpu, ab[m].cpu - ab[m].base_cpu);
    }

}

/*
 * The official client on the same handler, when tests/peers/node-ric/setup.sh assembled its
 * function (bootstrap, handler, launcher and node_modules, as a deployment package).
 */
static void bench_ric(struct pt_engine *e, int n)
{
    char ric[4200];
    snprintf(ric, sizeof(ric),
             "%s/build/peers/node-ric/function/node_modules/aws-lambda-ric/dist/index.mjs", root);
    if (pt_path_is_file(ric)) {
        struct pt_function *fn = bench_function(e, "build/peers/node-ric/function",
                                                "provided.al2023", 1769, 10, NULL);
        struct pt_invoke_result r;
        bench_invoke(e, fn, "{}", true, &r);
        pt_invoke_result_free(&r);
        struct cold c;
        cold_starts(e, fn, n, &c);
        struct pt_function *ours = bench_function(e, "build/peers/node-ric/function",
                                                  "nodejs20.x", 1769, 10, NULL);
        struct cold o;
        cold_starts(e, ours, n, &o);
        printf("\nSame handler (build/peers/node-ric/function), 1769 MB, median of %d cold "
               "starts: runtimes/node %.1f ms (Init Duration %.1f ms), aws-lambda-ric 3.x %.1f ms "
               "(Init Duration %.1f ms).\n",
               n, o.wall, o.init, c.wall, c.init);
        pt_engine_function_remove(e, fn);
        pt_engine_function_remove(e, ours);
    }
}

static void bench_warm(struct pt_engine *e, int n)
{
    struct pt_function *fn = bench_function(e, "bench/functions/noop-node", "nodejs20.x", 1769, 10,
                                            NULL);
    struct pt_invoke_result r;
    for (int k = 0; k < 50; k++) {
        bench_invoke(e, fn, "{}", false, &r);
        pt_invoke_result_free(&r);
    }
    double *w = calloc((size_t)n, sizeof(double)), *cpu = calloc((size_t)n, sizeof(double));
    for (int k = 0; k < n; k++) {
        int64_t t0 = pt_mono_ns();
        bench_invoke(e, fn, "{}", false, &r);
        w[k] = (double)(pt_mono_ns() - t0) / 1000.0;
        cpu[k] = r.cpu_time_ms * 1000.0;
        pt_invoke_result_free(&r);
    }
    printf("\nWarm invoke of the Node.js no-op, 1769 MB (n=%d): p50 %.0f us, p99 %.0f us; CPU time "
           "of the environment per invocation p50 %.0f us.\n",
           n, bench_pct(w, (size_t)n, 50), bench_pct(w, (size_t)n, 99), bench_pct(cpu, (size_t)n, 50));
    free(w);
    free(cpu);
    pt_engine_function_remove(e, fn);
}

static double json_number(const char *payload, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    const char *p = strstr(payload, pat);
    return p ? strtod(p + strlen(pat), NULL) : -1;
}

static void bench_boost(struct pt_engine *e, int reps)
{
    struct pt_function *tla = bench_function(e, "examples/tla-node", "nodejs20.x", 128, 30, NULL);
    struct pt_function *hnd = bench_function(e, "examples/handler-node", "nodejs20.x", 128, 30,
                                             NULL);
    double ti[8], tw[8], hd[8], hw[8];
    for (int k = 0; k < reps; k++) {
        struct pt_invoke_result r;
        bench_invoke(e, tla, "{}", true, &r);
        ti[k] = r.init_duration_ms;
        tw[k] = json_number(r.payload, "initWorkMs");
        pt_invoke_result_free(&r);
        bench_invoke(e, hnd, "{}", true, &r);
        hd[k] = r.duration_ms;
        hw[k] = json_number(r.payload, "handlerWorkMs");
        pt_invoke_result_free(&r);
    }
    double tinit = bench_pct(ti, (size_t)reps, 50), twork = bench_pct(tw, (size_t)reps, 50);
    double hdur = bench_pct(hd, (size_t)reps, 50), hwork = bench_pct(hw, (size_t)reps, 50);
    printf("\n**INIT boost** (128 MB = 0.07 vCPU; INIT runs at 2 vCPUs): the same SHA-256 hash "
           "chain (about 0.3 s of CPU at 1 vCPU) in a top-level await (examples/tla-node) and in "
           "the handler (examples/handler-node), median of %d cold starts.\n\n",
           reps);
    printf("| Example | where the work runs | wall time of the work | phase reported |\n"
           "|---|---|---|---|\n");
    printf("| tla-node | INIT (top-level await) | %.0f ms | Init Duration %.0f ms |\n", twork, tinit);
    printf("| handler-node | handler | %.0f ms | Duration %.0f ms |\n", hwork, hdur);
    printf("\nThe handler spends %.1fx the wall time INIT spends on the same work (goal: far "
           "less in INIT).\n",
           hwork / twork);
    pt_engine_function_remove(e, tla);
    pt_engine_function_remove(e, hnd);
}

/* The 1-minute load average, as /proc/loadavg gives it ("?" if unreadable). */
static void load_average(char *out, size_t size)
{
    snprintf(out, size, "?");
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%15s", out) != 1)
            snprintf(out, size, "?");
        fclose(f);
    }
}

int main(int argc, char **argv)
{
    bool quick = false;
    const char *baseline = NULL;
    int reps = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (strcmp(argv[i], "--baseline") == 0 && i + 1 < argc) {
            baseline = argv[++i];
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc &&
                   bench_parse_reps(argv[i + 1], &reps)) {
            i++;
        } else {
            fprintf(stderr, "usage: bench_node [--quick] [--reps N (5..1000, cold starts per "
                            "size; default 20)] [--baseline RUNTIMES_DIR]\n");
            return 2;
        }
    }
    if (!getcwd(root, sizeof(root)))
        return 1;
    char base_boot[4200];
    snprintf(base_boot, sizeof(base_boot), "%s/node/bootstrap.cjs", baseline ? baseline : "");
    if (baseline && (baseline[0] != '/' || !pt_path_is_file(base_boot))) {
        fprintf(stderr, "--baseline: an absolute runtimes directory with node/bootstrap.cjs\n");
        return 2;
    }
    if (getenv("POWERTUNE_NODE"))
        node = getenv("POWERTUNE_NODE");
    char state[] = "/tmp/powertune-bench-node-XXXXXX";
    char base_state[] = "/tmp/powertune-bench-node-XXXXXX";
    if (!mkdtemp(state) || !mkdtemp(base_state))
        return 1;
    struct utsname u;
    uname(&u);
    char date[32];
    time_t now = time(NULL);
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&now));
    char version[64] = "?";
    FILE *p = popen("/usr/bin/node --version 2>/dev/null", "r");
    if (p) {
        if (fgets(version, sizeof(version), p))
            version[strcspn(version, "\n")] = 0;
        pclose(p);
    }
    char runtimes[4200], load_start[16], load_end[16];
    snprintf(runtimes, sizeof(runtimes), "%s/runtimes", root);
    load_average(load_start, sizeof(load_start));
    struct pt_engine *e = bench_engine(state, runtimes);
    struct pt_engine *base = baseline ? bench_engine(base_state, baseline) : NULL;
    printf("## Node.js runtime (issue 3), %s\n\nnode %s, %ld cores, Linux %s; %s; %s.\n", date,
           version, sysconf(_SC_NPROCESSORS_ONLN), u.release, pt_engine_describe(e),
           pt_engine_sandbox_note(e) ? "not sandboxed" : "sandboxed");
    if (!reps)
        reps = quick ? 5 : 20;
    for (size_t f = 0; f < sizeof(noop_forms) / sizeof(noop_forms[0]); f++)
        bench_cold(e, base, baseline, reps, &noop_forms[f]);
    bench_ric(e, reps);
    if (base)
        pt_engine_destroy(base);
    bench_warm(e, quick ? 200 : 1000);
    bench_boost(e, quick ? 1 : 3);
    pt_engine_destroy(e);
    load_average(load_end, sizeof(load_end));
    printf("\nLoad average (1 min) at the start of this run: %s; at its end: %s.\n", load_start,
           load_end);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s %s", state, base_state);
    return system(cmd) == 0 ? 0 : 1;
}
