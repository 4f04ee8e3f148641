/*
 * bench_node - the Node.js runtime's goals (issue 3), measured through the library the way
 * `powertune invoke` uses it. Prints a Markdown section (## Node.js runtime (issue 3)).
 *
 *   cold start of the Node no-op through the engine vs `node` started bare on the same file:
 *     goal: engine overhead (engine cold start - bare node) under 10 % of the cold start
 *   INIT boost: examples/tla-node (the work in a top-level await, i.e. in INIT) vs
 *     examples/handler-node (the same work in the handler), both at 128 MB:
 *     INIT must spend far less wall time than the handler
 *
 * Usage (from the repository root, as root for cgroups): build/bench/bench_node [--quick]
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static struct pt_engine *bench_engine(const char *state)
{
    char rt[4200];
    snprintf(rt, sizeof(rt), "%s/runtimes", root);
    struct pt_engine_options opt = {.state_dir = state, .runtime_dir = rt, .node = node};
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
 */
static double bare_node_ms(const char *file, int memory)
{
    static const char driver[] =
        "const m = await import(process.argv[1]);"
        "process.stdout.write(JSON.stringify(await m.handler({}, {})) + '\\n');";
    /* the flags Lambda's bootstrap (and the engine) give node: V8's heap sized from the memory */
    char semi[48], old[48];
    snprintf(semi, sizeof(semi), "--max-semi-space-size=%d", memory / 10 / 2);
    snprintf(old, sizeof(old), "--max-old-space-size=%d", memory - memory / 10);
    char *argv[] = {(char *)node, "--expose-gc", "--max-http-header-size=81920", semi, old,
                    "--input-type=module", "-e", (char *)driver, (char *)file, NULL};
    return bench_bare_start_ms(argv);
}

struct cold {
    double wall, init, dur;
};

static void cold_starts(struct pt_engine *e, struct pt_function *fn, int n, struct cold *out)
{
    double *w = calloc((size_t)n, sizeof(double)), *i = calloc((size_t)n, sizeof(double)),
           *d = calloc((size_t)n, sizeof(double));
    for (int k = 0; k < n; k++) {
        struct pt_invoke_result r;
        int64_t t0 = pt_mono_ns();
        bench_invoke(e, fn, "{}", true, &r);
        w[k] = (double)(pt_mono_ns() - t0) / 1e6;
        i[k] = r.init_duration_ms;
        d[k] = r.duration_ms;
        pt_invoke_result_free(&r);
    }
    out->wall = bench_pct(w, (size_t)n, 50);
    out->init = bench_pct(i, (size_t)n, 50);
    out->dur = bench_pct(d, (size_t)n, 50);
    free(w);
    free(i);
    free(d);
}

static void bench_cold(struct pt_engine *e, int n)
{
    char file[4200];
    snprintf(file, sizeof(file), "%s/bench/functions/noop-node/index.mjs", root);
    printf("**Cold start of the Node.js no-op** (bench/functions/noop-node, medians of %d, bare "
           "and engine runs interleaved): the invoke call with a fresh environment (cgroup, "
           "sandbox, Runtime API server, node, runtimes/node/bootstrap.mjs, INIT, the invocation, "
           "END/REPORT) against node started bare on the same file with the same flags (start-up, "
           "the module's loading and one handler call, timed to the result's first byte on a "
           "pipe). Overhead = engine - bare.\n\n",
           n);
    printf("| Memory | bare node | engine cold start | of which Init Duration | Duration | "
           "overhead | overhead / cold start | goal |\n|---|---|---|---|---|---|---|---|\n");
    static const int mems[] = {1769, 512, 128};
    double *bare = calloc((size_t)n, sizeof(double)), *w = calloc((size_t)n, sizeof(double)),
           *in = calloc((size_t)n, sizeof(double)), *du = calloc((size_t)n, sizeof(double)),
           *ov = calloc((size_t)n, sizeof(double));
    for (size_t m = 0; m < sizeof(mems) / sizeof(mems[0]); m++) {
        struct pt_function *fn = bench_function(e, "bench/functions/noop-node", "nodejs20.x",
                                                mems[m], 10, NULL);
        struct pt_invoke_result r;
        bench_invoke(e, fn, "{}", true, &r); /* page cache */
        pt_invoke_result_free(&r);
        bare_node_ms(file, mems[m]);
        for (int k = 0; k < n; k++) {
            bare[k] = bare_node_ms(file, mems[m]);
            int64_t t0 = pt_mono_ns();
            bench_invoke(e, fn, "{}", true, &r);
            w[k] = (double)(pt_mono_ns() - t0) / 1e6;
            in[k] = r.init_duration_ms;
            du[k] = r.duration_ms;
            ov[k] = w[k] - bare[k];
            pt_invoke_result_free(&r);
        }
        double wall = bench_pct(w, (size_t)n, 50), over = bench_pct(ov, (size_t)n, 50);
        printf("| %d MB | %.1f ms | %.1f ms | %.1f ms | %.2f ms | %.1f ms | %.1f %% | %s |\n",
               mems[m], bench_pct(bare, (size_t)n, 50), wall, bench_pct(in, (size_t)n, 50),
               bench_pct(du, (size_t)n, 50), over, 100.0 * over / wall, mems[m] == 1769 ? "< 10 %" : "");
        pt_engine_function_remove(e, fn);
    }
    free(bare);
    free(w);
    free(in);
    free(du);
    free(ov);

    /* The official client on the same handler, when tests/peers/node-ric/setup.sh assembled its
     * function (bootstrap, handler, launcher and node_modules, as a deployment package). */
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

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    if (!getcwd(root, sizeof(root)))
        return 1;
    if (getenv("POWERTUNE_NODE"))
        node = getenv("POWERTUNE_NODE");
    char state[] = "/tmp/powertune-bench-node-XXXXXX";
    if (!mkdtemp(state))
        return 1;
    struct utsname u;
    uname(&u);
    char date[32];
    time_t now = time(NULL);
    strftime(date, sizeof(date), "%Y-%m-%d", gmtime(&now));
    char version[64] = "?";
    FILE *p = popen("/usr/bin/node --version 2>/dev/null", "r");
    if (p) {
        if (fgets(version, sizeof(version), p))
            version[strcspn(version, "\n")] = 0;
        pclose(p);
    }
    struct pt_engine *e = bench_engine(state);
    printf("## Node.js runtime (issue 3), %s\n\nnode %s, %ld cores, Linux %s; %s; %s.\n\n", date,
           version, sysconf(_SC_NPROCESSORS_ONLN), u.release, pt_engine_describe(e),
           pt_engine_sandbox_note(e) ? "not sandboxed" : "sandboxed");
    bench_cold(e, quick ? 5 : 20);
    bench_warm(e, quick ? 200 : 1000);
    bench_boost(e, quick ? 1 : 3);
    pt_engine_destroy(e);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", state);
    return system(cmd) == 0 ? 0 : 1;
}
