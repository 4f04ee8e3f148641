/*
 * bench_python - the Python runtime's cold-start goal (issue 3), measured through the library
 * the way `powertune invoke` uses it. Prints a Markdown section (## Python runtime (issue 3)).
 *
 *   cold start of the Python no-op through the engine vs /usr/bin/python3 started bare on the
 *     same file: goal: engine overhead (engine cold start - bare python) under 10 % of the cold
 *     start
 *   the split of that overhead: runtimes/python/bootstrap.py started bare against a Runtime API
 *     server (no cgroup, no sandbox, no log stream; as bench_engine's bench_cold_bare does for
 *     the C no-op) is the runtime's own start; engine - that is the environment's part
 *   with --compare DIR: an interleaved A/B of the cold start with another runtimes/ directory
 *     (e.g. an older commit's: git archive <commit> runtimes | tar -x -C /var/tmp/old), engine
 *     and bare, each pair run back to back. Not under /tmp: the sandbox would have to keep it
 *     visible under its private /tmp, work this tree's runtime does not cost.
 *
 * Usage (from the repository root, as root for cgroups):
 *   build/bench/bench_python [--quick] [--reps N] [--compare DIR] [--split-only]
 * --split-only: only the table of where the engine's time outside the runtime goes, N cold
 * starts per size (a quick A/B of engine changes: run two builds in turns).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "engine/engine.h"
#include "engine/runtime_api.h"
#include "bench_util.h"

static char root[4096];
static const char *python = "/usr/bin/python3";

/*
 * A pause before every timed run: a cold start's environment is discarded after it and the
 * engine's janitor tears it down (kills its processes, removes its cgroups) meanwhile, which
 * would otherwise slow whichever run comes next (a bare one, in the main table); and every run,
 * engine or bare, starts after the same idle time.
 */
static void settle(void)
{
    usleep(150000);
}

static struct pt_engine *bench_engine(const char *state, const char *rt)
{
    struct pt_engine_options opt = {.state_dir = state, .runtime_dir = rt, .python = python};
    struct pt_engine *e;
    struct pt_error err = {0};
    if (pt_engine_create(&e, &opt, &err)) {
        fprintf(stderr, "engine: %s\n", err.msg);
        exit(1);
    }
    return e;
}

/*
 * python3 started bare on the file: the interpreter's start-up, the module's import and one
 * call of its handler, its result serialized as JSON (the runtime sends JSON too), timed from the
 * spawn to the first byte of the result on a pipe (the interpreter's exit is not part of a cold
 * start), in the environment the engine gives a function (no PYTHON* variables). -B as the
 * runtime: no __pycache__ written into the code directory. The result is encoded the way the
 * runtime encodes it, by json's C encoder without importing the json package: with `import
 * json` (and re) here, ~3 ms of this baseline would count as the engine's negative overhead.
 */
static double bare_python_ms(const char *dir)
{
    static const char driver[] =
        "import sys, _json\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "import lambda_function\n"
        "encode = _json.make_encoder({}, None, _json.encode_basestring_ascii, None, ': ', ', ',\n"
        "                            False, False, True)\n"
        "sys.stdout.write(''.join(encode(lambda_function.lambda_handler({}, None), 0)) + '\\n')\n"
        "sys.stdout.flush()\n";
    char *argv[] = {(char *)python, "-B", "-c", (char *)driver, (char *)dir, NULL};
    settle();
    return bench_bare_start_ms(argv);
}

/*
 * runtimes/python/bootstrap.py started bare: spawned against a Runtime API server holding the
 * event, no cgroup, no sandbox, no log stream (output to /dev/null), the variables the runtime
 * reads, and its connection handed over as the engine hands it (descriptor 3). Timed from the
 * spawn to the stored response; *first_next gets spawn to the first /next.
 */
static double bare_bootstrap_ms(const char *rt, const char *dir, double *first_next)
{
    char boot[4200];
    snprintf(boot, sizeof(boot), "%s/python/bootstrap.py", rt);
    struct pt_rapi *r;
    struct pt_error err = {0};
    if (pt_rapi_start(&r, NULL, true, &err)) {
        fprintf(stderr, "runtime api: %s\n", err.msg);
        exit(1);
    }
    char api[64], task[4200];
    snprintf(api, sizeof(api), "AWS_LAMBDA_RUNTIME_API=127.0.0.1:%d", pt_rapi_port(r));
    snprintf(task, sizeof(task), "LAMBDA_TASK_ROOT=%s", dir);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
        pt_rapi_add_connection(r, sv[0], &err) != 0) {
        fprintf(stderr, "runtime api connection: %s\n", err.msg[0] ? err.msg : strerror(errno));
        exit(1);
    }
    struct pt_rapi_invocation inv = {.request_id = "bare", .payload = "{}", .payload_len = 2,
                                     .timeout_ms = 10000, .invoked_arn = "arn:aws:lambda:x"};
    settle();
    int64_t t0 = pt_mono_ns();
    pt_rapi_deliver(r, &inv, &err);
    /* spawned as bare python is (posix_spawn: no copy of this process's page tables, which a
     * fork costs and the split would charge to the runtime) */
    char *argv[] = {(char *)python, boot, NULL};
    char *envp[] = {api, task, "_POWERTUNE_RUNTIME_API_FD=3", "_HANDLER=lambda_function.lambda_handler",
                    "AWS_LAMBDA_FUNCTION_NAME=noop", "AWS_EXECUTION_ENV=AWS_Lambda_python3.12",
                    "PATH=/usr/local/bin:/usr/bin/:/bin", "LANG=en_US.UTF-8", "TZ=:UTC", NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 3); /* sv[1] > 3: the server's end is below */
    posix_spawn_file_actions_addchdir_np(&fa, dir);
    pid_t pid;
    if (posix_spawn(&pid, python, &fa, NULL, argv, envp) != 0) {
        fprintf(stderr, "cannot start %s\n", python);
        exit(1);
    }
    posix_spawn_file_actions_destroy(&fa);
    close(sv[1]);
    struct pt_rapi_status st = {0};
    int64_t limit = t0 + 10 * 1000000000LL;
    while (!st.result_ready && pt_mono_ns() < limit) {
        struct pollfd p = {.fd = pt_rapi_poll_fd(r), .events = POLLIN};
        poll(&p, 1, 100);
        pt_rapi_status(r, &st);
    }
    double ms = (double)(pt_mono_ns() - t0) / 1e6;
    if (!st.result_ready) {
        fprintf(stderr, "bare bootstrap.py gave no response\n");
        exit(1);
    }
    *first_next = (double)(st.first_next_ns - t0) / 1e6;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    pt_rapi_stop(r);
    return ms;
}

static const int mems[] = {128, 512, 1769};

static struct pt_function *noop_python(struct pt_engine *e, int memory)
{
    return bench_add_function(e, root, "bench/functions/noop-python", "python3.12",
                              "lambda_function.lambda_handler", memory, 10, NULL);
}

/* One cold start through the engine: wall ms; r filled (the caller frees it). */
static double engine_cold_ms(struct pt_engine *e, struct pt_function *fn,
                             struct pt_invoke_result *r)
{
    settle();
    int64_t t0 = pt_mono_ns();
    bench_invoke(e, fn, "{}", true, r);
    return (double)(pt_mono_ns() - t0) / 1e6;
}

static void bench_cold(struct pt_engine *e, const char *rt_dir, int n)
{
    char dir[4200];
    snprintf(dir, sizeof(dir), "%s/bench/functions/noop-python", root);
    printf("**Cold start of the Python no-op** (bench/functions/noop-python, medians of %d, the "
           "three kinds of run interleaved, each after a 150 ms pause): *engine* is the invoke "
           "call with a fresh environment (cgroup, sandbox, Runtime API server, python3, "
           "runtimes/python/bootstrap.py, INIT, the invocation, END/REPORT); *bare python* is "
           "python3 -B started bare on the same file (start-up, import of the module, one handler "
           "call, its result as JSON by json's C encoder as the runtime does, timed to the "
           "result's first byte on a pipe); *bare bootstrap.py* is the runtime started bare "
           "against a Runtime API server holding the event (no cgroup, sandbox or log stream; "
           "spawn to the stored response). Overhead = engine - bare python, split into the "
           "runtime's own start (bare bootstrap.py - bare python) and the environment (engine - "
           "bare bootstrap.py); *outside the runtime* is engine - Init Duration - Duration: the "
           "engine's work before the exec and after the response. Overhead and its share are "
           "medians of the interleaved runs' own differences (engine - bare python, and that "
           "divided by the engine's cold start) with a 95 %% confidence interval; the goal is "
           "met when the whole interval is below 10 %%, missed when none of it is.\n\n",
           n);
    printf("| Memory | bare python | bare bootstrap.py (to 1st /next) | engine cold start | of "
           "which Init Duration | Duration | outside the runtime | overhead (95 %% CI) | of which "
           "runtime / environment | overhead / cold start (95 %% CI) | goal |\n"
           "|---|---|---|---|---|---|---|---|---|---|---|\n");
    size_t sz = (size_t)n * sizeof(double);
    double *bare = malloc(sz), *boot = malloc(sz), *first = malloc(sz), *w = malloc(sz),
           *in = malloc(sz), *du = malloc(sz), *out = malloc(sz), *ov = malloc(sz),
           *rt = malloc(sz), *env = malloc(sz), *share = malloc(sz);
    for (size_t m = 0; m < sizeof(mems) / sizeof(mems[0]); m++) {
        struct pt_function *fn = noop_python(e, mems[m]);
        struct pt_invoke_result r;
        double f;
        engine_cold_ms(e, fn, &r); /* page cache */
        pt_invoke_result_free(&r);
        bare_python_ms(dir);
        bare_bootstrap_ms(rt_dir, dir, &f);
        for (int k = 0; k < n; k++) {
            bare[k] = bare_python_ms(dir);
            boot[k] = bare_bootstrap_ms(rt_dir, dir, &first[k]);
            w[k] = engine_cold_ms(e, fn, &r);
            in[k] = r.init_duration_ms;
            du[k] = r.duration_ms;
            out[k] = w[k] - in[k] - du[k];
            ov[k] = w[k] - bare[k];
            share[k] = 100.0 * ov[k] / w[k];
            rt[k] = boot[k] - bare[k];
            env[k] = w[k] - boot[k];
            pt_invoke_result_free(&r);
        }
        double over_lo, over_hi, share_lo, share_hi;
        bench_median_ci(ov, (size_t)n, &over_lo, &over_hi);
        bench_median_ci(share, (size_t)n, &share_lo, &share_hi);
        printf("| %d MB | %.1f ms | %.1f ms (%.1f ms) | %.1f ms | %.1f ms | %.2f ms | %.1f ms | "
               "%.1f ms (%.1f to %.1f) | %.1f / %.1f ms | %.1f %% (%.1f to %.1f) | < 10 %%: %s |\n",
               mems[m], bench_pct(bare, (size_t)n, 50), bench_pct(boot, (size_t)n, 50),
               bench_pct(first, (size_t)n, 50), bench_pct(w, (size_t)n, 50),
               bench_pct(in, (size_t)n, 50), bench_pct(du, (size_t)n, 50),
               bench_pct(out, (size_t)n, 50), bench_pct(ov, (size_t)n, 50), over_lo, over_hi,
               bench_pct(rt, (size_t)n, 50), bench_pct(env, (size_t)n, 50),
               bench_pct(share, (size_t)n, 50), share_lo, share_hi,
               bench_goal_verdict(share_lo, share_hi, 10.0));
        pt_engine_function_remove(e, fn);
    }
    free(bare);
    free(boot);
    free(first);
    free(w);
    free(in);
    free(du);
    free(out);
    free(ov);
    free(rt);
    free(env);
    free(share);
}

/*
 * A function of the benchmark's own: source as lambda_function.py in a new directory under
 * /var/tmp (readable by the sandbox's user; /tmp is the sandbox's own tmpfs). dir is a
 * mkdtemp template; remove_function undoes it.
 */
static void write_function(char *dir, const char *source)
{
    char file[128];
    FILE *f = NULL;
    if (mkdtemp(dir) && chmod(dir, 0755) == 0) {
        snprintf(file, sizeof(file), "%s/lambda_function.py", dir);
        f = fopen(file, "w");
    }
    if (!f || fputs(source, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "cannot write the function %s\n", dir);
        exit(1);
    }
}

static void remove_function(const char *dir)
{
    char file[128];
    snprintf(file, sizeof(file), "%s/lambda_function.py", dir);
    unlink(file);
    rmdir(dir);
}

/*
 * Where the engine's milliseconds outside the runtime go: a function answering with
 * CLOCK_MONOTONIC at its handler call (the engine's clock too) splits the invoke call at that
 * moment: before it, Init Duration and the engine's work before the exec (plus the runtime's
 * way from the first /next's answer to the handler); after it, the handler's return, the
 * response and the engine's work after it.
 */
static void bench_split(struct pt_engine *e, int n)
{
    char fdir[] = "/var/tmp/powertune-bench-python-XXXXXX";
    write_function(fdir, "import time\n\n\ndef lambda_handler(event, context):\n"
                         "    return time.monotonic_ns()\n");
    printf("\n**Where the engine's time outside the runtime goes** (%d cold starts per size of a "
           "function answering with the monotonic clock at its handler call, the engine's clock "
           "too; medians): *before the exec* = handler call - invoke call - Init Duration (with "
           "the runtime's few microseconds from the answer to its first /next to the handler); "
           "*from the handler on* = invoke return - handler call (the handler's return, the "
           "response, the engine's work after it).\n\n"
           "| Memory | engine cold start | before the exec | Init Duration | from the handler on | "
           "of which Duration |\n|---|---|---|---|---|---|\n",
           n);
    size_t sz = (size_t)n * sizeof(double);
    double *w = malloc(sz), *pre = malloc(sz), *in = malloc(sz), *du = malloc(sz),
           *post = malloc(sz);
    for (size_t m = 0; m < sizeof(mems) / sizeof(mems[0]); m++) {
        struct pt_function *fn = bench_add_function(e, "", fdir, "python3.12",
                                                    "lambda_function.lambda_handler", mems[m],
                                                    10, NULL);
        struct pt_invoke_result r;
        engine_cold_ms(e, fn, &r); /* page cache */
        pt_invoke_result_free(&r);
        for (int k = 0; k < n; k++) {
            settle();
            int64_t t0 = pt_mono_ns();
            bench_invoke(e, fn, "{}", true, &r);
            w[k] = (double)(pt_mono_ns() - t0) / 1e6;
            double handler_ms = (double)(strtoll(r.payload, NULL, 10) - t0) / 1e6;
            in[k] = r.init_duration_ms;
            du[k] = r.duration_ms;
            pre[k] = handler_ms - in[k];
            post[k] = w[k] - handler_ms;
            pt_invoke_result_free(&r);
        }
        printf("| %d MB | %.1f ms | %.2f ms | %.1f ms | %.2f ms | %.2f ms |\n", mems[m],
               bench_pct(w, (size_t)n, 50), bench_pct(pre, (size_t)n, 50),
               bench_pct(in, (size_t)n, 50), bench_pct(post, (size_t)n, 50),
               bench_pct(du, (size_t)n, 50));
        pt_engine_function_remove(e, fn);
    }
    free(w);
    free(pre);
    free(in);
    free(du);
    free(post);
    remove_function(fdir);
}

/* One invocation of a function that raises, in its idle environment if it has one, else in a
 * new one: its Duration (ms). */
static double error_duration_ms(struct pt_engine *e, struct pt_function *fn)
{
    struct pt_invoke_request req = {.payload = "{}", .payload_len = 2};
    struct pt_invoke_result r;
    struct pt_error err = {0};
    if (pt_engine_invoke(e, fn, &req, &r, &err) || !r.function_error ||
        strcmp(r.error_type, "ValueError") != 0) {
        fprintf(stderr, "the raising function: %s %s\n", err.msg, r.error_type);
        exit(1);
    }
    double ms = r.duration_ms;
    pt_invoke_result_free(&r);
    return ms;
}

/*
 * The price of importing traceback at the first error instead of at every start: Duration of
 * a raising handler's first invocation in a fresh environment and of its second one there
 * (each sample a fresh registration with one environment), this tree's runtime and, with
 * --compare, the other's (which imported traceback in INIT), interleaved.
 */
static void bench_first_error(struct pt_engine *cur, struct pt_engine *old, int n)
{
    char fdir[] = "/var/tmp/powertune-bench-python-XXXXXX";
    write_function(fdir, "def lambda_handler(event, context):\n"
                         "    raise ValueError('first error')\n");
    printf("\n**The first error** (a handler raising ValueError, 1769 MB, %d fresh environments "
           "each, medians of Duration: the error document with its stack trace, the log record "
           "and the POST /error): first = the environment's first invocation, second = its "
           "next one, in the same environment.\n\n| runtime | first error | second error | "
           "first - second |\n|---|---|---|---|\n",
           n);
    struct pt_engine *engines[] = {cur, old};
    const char *labels[] = {"this tree", "A (--compare)"};
    size_t sz = (size_t)n * sizeof(double);
    double *first[2] = {malloc(sz), malloc(sz)}, *second[2] = {malloc(sz), malloc(sz)},
           *diff[2] = {malloc(sz), malloc(sz)};
    int kinds = old ? 2 : 1;
    for (int k = -1; k < n; k++) /* k = -1: page cache */
        for (int i = 0; i < kinds; i++) {
            struct pt_function *fn = bench_add_function(
                engines[i], "", fdir, "python3.12", "lambda_function.lambda_handler", 1769, 10,
                NULL);
            settle();
            double d1 = error_duration_ms(engines[i], fn);
            settle();
            double d2 = error_duration_ms(engines[i], fn);
            pt_engine_function_remove(engines[i], fn);
            if (k >= 0) {
                first[i][k] = d1;
                second[i][k] = d2;
                diff[i][k] = d1 - d2;
            }
        }
    for (int i = 0; i < kinds; i++)
        printf("| %s | %.2f ms | %.2f ms | %+.2f ms |\n", labels[i],
               bench_pct(first[i], (size_t)n, 50), bench_pct(second[i], (size_t)n, 50),
               bench_pct(diff[i], (size_t)n, 50));
    for (int i = 0; i < 2; i++) {
        free(first[i]);
        free(second[i]);
        free(diff[i]);
    }
    remove_function(fdir);
}

/*
 * A/B: the cold start with runtimes from old_dir (A, engine old) against this tree's (B,
 * engine cur), engine and bare, the two of each pair back to back, which one first
 * alternating.
 */
static void bench_compare(struct pt_engine *cur, const char *cur_dir, struct pt_engine *old,
                          const char *old_dir, int n)
{
    char dir[4200];
    snprintf(dir, sizeof(dir), "%s/bench/functions/noop-python", root);
    printf("\n**A/B: runtimes from %s (A) against this tree's (B)**, the same no-op, %d pairs "
           "per kind and size, A and B of a pair back to back (which first alternating, each run "
           "after a 150 ms pause), the kinds interleaved: medians, B/A of the medians, and the "
           "median of the pairs' differences B - A.\n\n",
           old_dir, n);
    printf("| Memory | engine A | engine B | B/A | B - A | bare bootstrap.py A | bare "
           "bootstrap.py B | B/A | B - A |\n|---|---|---|---|---|---|---|---|---|\n");
    size_t sz = (size_t)n * sizeof(double);
    double *ea = malloc(sz), *eb = malloc(sz), *ed = malloc(sz), *ba = malloc(sz),
           *bb = malloc(sz), *bd = malloc(sz);
    for (size_t m = 0; m < sizeof(mems) / sizeof(mems[0]); m++) {
        struct pt_function *fo = noop_python(old, mems[m]), *fc = noop_python(cur, mems[m]);
        struct pt_invoke_result r;
        double f;
        for (int i = 0; i < 2; i++) { /* page cache */
            engine_cold_ms(i ? cur : old, i ? fc : fo, &r);
            pt_invoke_result_free(&r);
            bare_bootstrap_ms(i ? cur_dir : old_dir, dir, &f);
        }
        for (int k = 0; k < n; k++) {
            for (int i = 0; i < 2; i++) {
                bool a = (i == 0) == (k % 2 == 0);
                double ms = engine_cold_ms(a ? old : cur, a ? fo : fc, &r);
                pt_invoke_result_free(&r);
                *(a ? &ea[k] : &eb[k]) = ms;
            }
            for (int i = 0; i < 2; i++) {
                bool a = (i == 0) == (k % 2 == 0);
                *(a ? &ba[k] : &bb[k]) = bare_bootstrap_ms(a ? old_dir : cur_dir, dir, &f);
            }
            ed[k] = eb[k] - ea[k];
            bd[k] = bb[k] - ba[k];
        }
        double mea = bench_pct(ea, (size_t)n, 50), meb = bench_pct(eb, (size_t)n, 50),
               mba = bench_pct(ba, (size_t)n, 50), mbb = bench_pct(bb, (size_t)n, 50);
        printf("| %d MB | %.1f ms | %.1f ms | %.2f | %+.1f ms | %.1f ms | %.1f ms | %.2f | "
               "%+.1f ms |\n",
               mems[m], mea, meb, meb / mea, bench_pct(ed, (size_t)n, 50), mba, mbb, mbb / mba,
               bench_pct(bd, (size_t)n, 50));
        pt_engine_function_remove(old, fo);
        pt_engine_function_remove(cur, fc);
    }
    free(ea);
    free(eb);
    free(ed);
    free(ba);
    free(bb);
    free(bd);
}

int main(int argc, char **argv)
{
    bool quick = false, split_only = false;
    const char *old_dir = NULL;
    int reps = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = true;
        else if (strcmp(argv[i], "--split-only") == 0)
            split_only = true;
        else if (strcmp(argv[i], "--compare") == 0 && i + 1 < argc)
            old_dir = argv[++i];
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc &&
                 bench_parse_reps(argv[i + 1], &reps))
            i++;
        else {
            fprintf(stderr,
                    "usage: %s [--quick] [--reps N (5..1000, cold starts per size; default 20)] "
                    "[--compare RUNTIMES_DIR] [--split-only]\n",
                    argv[0]);
            return 2;
        }
    }
    if (!reps)
        reps = quick ? 5 : 20;
    if (!getcwd(root, sizeof(root)))
        return 1;
    if (getenv("POWERTUNE_PYTHON"))
        python = getenv("POWERTUNE_PYTHON");
    char state[] = "/tmp/powertune-bench-python-XXXXXX",
         old_state[] = "/tmp/powertune-bench-python-XXXXXX";
    if (!mkdtemp(state) || !mkdtemp(old_state))
        return 1;
    struct utsname u;
    uname(&u);
    char date[32];
    time_t now = time(NULL);
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&now));
    char version[64] = "?", load[128] = "?";
    char cmd[4300];
    snprintf(cmd, sizeof(cmd), "%s --version 2>&1", python);
    FILE *p = popen(cmd, "r");
    if (p) {
        if (fgets(version, sizeof(version), p))
            version[strcspn(version, "\n")] = 0;
        pclose(p);
    }
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        double l1, l5, l15;
        if (fscanf(f, "%lf %lf %lf", &l1, &l5, &l15) == 3)
            snprintf(load, sizeof(load), "%.2f %.2f %.2f", l1, l5, l15);
        fclose(f);
    }
    char cpu[512] = "unknown CPU", line[512];
    f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "model name", 10) == 0) {
            char *c = strchr(line, ':');
            snprintf(cpu, sizeof(cpu), "%s", c ? c + 2 : line);
            cpu[strcspn(cpu, "\n")] = 0;
            break;
        }
    if (f)
        fclose(f);
    char rt_dir[4200];
    snprintf(rt_dir, sizeof(rt_dir), "%s/runtimes", root);
    struct pt_engine *e = bench_engine(state, rt_dir);
    printf("## Python runtime (issue 3), %s\n\n%s, %s, %ld cores, Linux %s, load average %s at "
           "the start; %s; %s.\n\n",
           date, version, cpu, sysconf(_SC_NPROCESSORS_ONLN), u.release, load,
           pt_engine_describe(e), pt_engine_sandbox_note(e) ? "not sandboxed" : "sandboxed");
    if (split_only) {
        bench_split(e, reps);
    } else {
        bench_cold(e, rt_dir, reps);
        bench_split(e, quick ? 5 : 20);
        struct pt_engine *old = old_dir ? bench_engine(old_state, old_dir) : NULL;
        if (old)
            bench_compare(e, rt_dir, old, old_dir, quick ? 5 : 30);
        bench_first_error(e, old, quick ? 5 : 20);
        if (old)
            pt_engine_destroy(old);
    }
    f = fopen("/proc/loadavg", "r");
    if (f) {
        double l1, l5, l15;
        if (fscanf(f, "%lf %lf %lf", &l1, &l5, &l15) == 3)
            printf("\nLoad average at the end: %.2f %.2f %.2f.\n", l1, l5, l15);
        fclose(f);
    }
    pt_engine_destroy(e);
    snprintf(cmd, sizeof(cmd), "rm -rf %s %s", state, old_state);
    return system(cmd) == 0 ? 0 : 1;
}
