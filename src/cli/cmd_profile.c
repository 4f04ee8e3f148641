/*
 * cmd_profile.c - `powertune profile FUNCTION`: where a function's time goes.
 *
 * Runs the function N times (one environment: a cold start, then warm
 * invocations) with the runtime's profiler on (POWERTUNE_PYTHON_PROFILE_DIR:
 * cProfile, see runtimes/python/_powertune_runtime_rare.py; POWERTUNE_NODE_PROFILE_DIR: V8's
 * CPU profiler, see runtimes/node/bootstrap.cjs), then hands the files to
 * runtimes/python/pstats2callgrind.py, which writes
 * callgrind.out.<function> (+ .init), <function>.flame.svg (+ .init) and prints
 * the top functions by inclusive time, INIT and handler separately.
 *
 * The runtime saves an invocation's profile after posting the response, so
 * the engine returns before the file is complete; the runtime is
 * single-threaded, so once the next invocation has run the previous file is
 * whole. One extra, unreported invocation at the end makes the last one safe.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/str.h"
#include "cli/cli.h"
#include "engine/sandbox.h"

extern char **environ;

enum {
    OPT_PAYLOAD = CLI_OPT_COMMAND_BASE,
    OPT_PAYLOAD_FILE,
    OPT_NUM,
    OPT_OUTPUT_DIR,
    OPT_TOP,
    OPT_HELP,
};

static const struct option profile_options[] = {
    {"payload", required_argument, NULL, OPT_PAYLOAD},
    {"payload-file", required_argument, NULL, OPT_PAYLOAD_FILE},
    {"num", required_argument, NULL, OPT_NUM},
    {"output-dir", required_argument, NULL, OPT_OUTPUT_DIR},
    {"top", required_argument, NULL, OPT_TOP},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

#define PROFILE_NUM_MAX 1000
#define PROFILE_CONVERTER "python/pstats2callgrind.py"

static void profile_usage(FILE *f)
{
    fprintf(f, "usage: powertune profile FUNCTION [options]\n\n"
               "Runs FUNCTION (a python3.x or nodejs code directory) N times in the local engine\n"
               "with the runtime's profiler on (cProfile; V8's CPU profiler, sampling) and\n"
               "writes, in the output directory:\n"
               "  callgrind.out.<function>        the handler, all invocations (KCachegrind,\n"
               "                                  QCacheGrind, callgrind_annotate)\n"
               "  callgrind.out.<function>.init   INIT (the handler module's import)\n"
               "  <function>.flame.svg, <function>.init.flame.svg   flame graphs\n"
               "and prints the top functions by inclusive time, with calls per invocation (Node.js:\n"
               "call paths sampled, V8 does not count calls). One extra, unreported\n"
               "invocation at the end lets the last profile be written whole.\n\n"
               "profile:\n"
               "  --num N               invocations profiled, 1..%d (default 5)\n"
               "  --payload JSON        the event (default {})\n"
               "  --payload-file PATH   the event, from a file\n"
               "  --output-dir DIR      where the files go (default .)\n"
               "  --top N               rows of the tables, 1..1000 (default 20)\n\n"
               "%s\n%s",
            PROFILE_NUM_MAX, CLI_FUNCTION_OPTIONS_HELP, CLI_ENGINE_OPTIONS_HELP);
}

/* The runtimes directory, found the way the engine finds it, by the converter. */
static int profile_runtime_dir(const struct cli_engine_opts *eo, char *out, size_t size,
                               struct pt_error *err)
{
    int rc = pt_engine_find_runtime_dir(eo->opt.runtime_dir, PROFILE_CONVERTER, out, size, err);
    if (!rc && !out[0])
        rc = pt_error_set(err, PT_ENOTFOUND,
                          "cannot find the runtimes directory (%s); set POWERTUNE_RUNTIME_DIR",
                          PROFILE_CONVERTER);
    return rc;
}

/*
 * The raw profiles' directory. Functions run as unprivileged users (one uid per environment)
 * with a private /tmp when the engine is root, so it lives in /var/tmp (visible through the
 * sandbox) and is writable to the functions' group (sandbox.h), sticky: no environment removes
 * another's profile.
 */
static int profile_raw_dir(const struct cli_engine_opts *eo, char *out, size_t size,
                           struct pt_error *err)
{
    const char *base = getenv("POWERTUNE_PROFILE_TMPDIR");
    if (!base || !*base)
        base = "/var/tmp";
    if ((size_t)snprintf(out, size, "%s/powertune-profile-XXXXXX", base) >= size)
        return pt_error_set(err, PT_EUSAGE, "POWERTUNE_PROFILE_TMPDIR is too long");
    if (!mkdtemp(out))
        return pt_error_errno(err, PT_ESYS, errno, "cannot create a directory in %s", base);
    if (geteuid() == 0 && !eo->opt.no_sandbox &&
        (chown(out, 0, PT_SANDBOX_GID) != 0 || chmod(out, 01770) != 0)) {
        int e = errno;
        rmdir(out);
        return pt_error_errno(err, PT_ESYS, e, "cannot give %s to the functions' group %u", out,
                              PT_SANDBOX_GID);
    }
    return 0;
}

/* Removes the raw directory: only plain files in it (the runtime writes no subdirectory). */
static void profile_raw_remove(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        char path[PATH_MAX];
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            if (pt_path_join(path, sizeof(path), dir, de->d_name) == 0)
                unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* Runs argv[0] with argv, stdout and stderr shared; 0 when it exits with 0. */
static int profile_run(char *const argv[], struct pt_error *err)
{
    posix_spawnattr_t attr;
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_init(&attr);
    /* main blocks SIGINT/SIGTERM for its signal thread; the converter gets a clean mask. */
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    fflush(stdout);
    fflush(stderr);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], NULL, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    if (rc != 0)
        return pt_error_errno(err, PT_ESYS, rc, "cannot run %s", argv[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return pt_error_errno(err, PT_ESYS, errno, "waitpid %s", argv[1]);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return pt_error_set(err, PT_EIO, "%s failed (%s %d)", argv[1],
                            WIFEXITED(status) ? "exit status" : "signal",
                            WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return 0;
}

struct profile_run {
    struct pt_engine *engine;
    struct pt_function *fn;
    const char *payload;
    size_t payload_len;
    long num;
    char (*request_ids)[40]; /* num of them */
    char (*error_types)[128]; /* num of them, "" when the invocation succeeded */
    long function_errors;
};

/* N profiled invocations plus the one that lets the last profile file be completed. */
static int profile_invocations(struct profile_run *r, struct pt_error *err)
{
    for (long i = 0; i <= r->num; i++) {
        struct pt_invoke_request req = {.payload = r->payload, .payload_len = r->payload_len};
        struct pt_invoke_result res;
        int rc = pt_engine_invoke(r->engine, r->fn, &req, &res, err);
        if (rc)
            return rc;
        if (i < r->num) {
            pt_strlcpy(r->request_ids[i], res.request_id, sizeof(r->request_ids[i]));
            if (res.function_error) {
                r->function_errors++;
                /* "" is no error type: a failed invocation always has one to name. */
                pt_strlcpy(r->error_types[i], res.error_type[0] ? res.error_type : "unknown",
                           sizeof(r->error_types[i]));
                fprintf(stderr, "invocation %ld/%ld: function error %s\n", i + 1, r->num,
                        res.error_type);
            }
            if (res.cold_start && res.init_duration_ms >= 0)
                fprintf(stderr, "invocation %ld/%ld: %.1f ms, cold start, Init Duration %.1f ms\n",
                        i + 1, r->num, res.duration_ms, res.init_duration_ms);
            else if (res.cold_start) /* INIT failed: no Init Duration, as in Lambda's REPORT */
                fprintf(stderr, "invocation %ld/%ld: %.1f ms, cold start\n", i + 1, r->num,
                        res.duration_ms);
            else
                fprintf(stderr, "invocation %ld/%ld: %.1f ms\n", i + 1, r->num, res.duration_ms);
        }
        pt_invoke_result_free(&res);
    }
    return 0;
}

int cmd_profile(int argc, char **argv, struct cli_ctx *ctx, struct pt_error *err)
{
    struct cli_function_opts fo = {0};
    struct cli_engine_opts eo = {0};
    const char *payload_json = NULL, *payload_file = NULL, *output_dir = ".";
    long num = 5, top = 20;
    struct pt_function_config cfg;
    pt_function_config_init(&cfg);
    struct pt_engine *engine = NULL;
    char *payload = NULL;
    size_t payload_len = 0;
    char raw_dir[PATH_MAX] = "";
    char (*ids)[40] = NULL;
    char (*error_types)[128] = NULL;
    char **conv_argv = NULL;
    size_t conv_n = 0;
    int rc = 0;
    struct cli_args args;
    if ((rc = cli_args_begin(&args, argc, argv, "profile", profile_options, &fo, &eo, err)))
        return rc;
    int c;
    while ((rc = cli_args_next(&args, &c, err)) > 0) {
        switch (c) {
        case OPT_PAYLOAD: payload_json = optarg; break;
        case OPT_PAYLOAD_FILE: payload_file = optarg; break;
        case OPT_OUTPUT_DIR: output_dir = optarg; break;
        case OPT_NUM:
            if (pt_parse_long(optarg, 1, PROFILE_NUM_MAX, &num) != 0) {
                rc = pt_error_set(err, PT_EUSAGE, "--num \"%s\": allowed 1 to %d", optarg,
                                  PROFILE_NUM_MAX);
                goto out;
            }
            break;
        case OPT_TOP:
            if (pt_parse_long(optarg, 1, 1000, &top) != 0) {
                rc = pt_error_set(err, PT_EUSAGE, "--top \"%s\": allowed 1 to 1000", optarg);
                goto out;
            }
            break;
        case OPT_HELP: profile_usage(stdout); rc = 0; goto out;
        default: break;
        }
    }
    if (rc < 0)
        goto out;
    const char *function;
    if ((rc = cli_function_operand(argc, argv, &function, err)))
        goto out;
    if (!*output_dir) {
        rc = pt_error_set(err, PT_EUSAGE, "--output-dir: empty path");
        goto out;
    }
    fo.state_dir = eo.opt.state_dir;
    rc = cli_function_build(function, &fo, &cfg, err);
    if (rc)
        goto out;
    /* Python: cProfile's pstats files; Node.js: V8 CPU profiles (runtimes/node/bootstrap.cjs). */
    bool node = cfg.family == PT_RUNTIME_NODE;
    if (cfg.family != PT_RUNTIME_PYTHON && !node) {
        rc = pt_error_set(err, PT_EUSAGE,
                          "profile: runtime %s has no profiler (python3.x and nodejs functions only)",
                          cfg.runtime);
        goto out;
    }
    const char *ext = node ? "cpuprofile" : "prof";
    rc = cli_payload_read(payload_json, payload_file, &payload, &payload_len, err);
    if (rc)
        goto out;
    char runtime_dir[PATH_MAX], converter[PATH_MAX];
    rc = profile_runtime_dir(&eo, runtime_dir, sizeof(runtime_dir), err);
    if (rc)
        goto out;
    pt_path_join(converter, sizeof(converter), runtime_dir, PROFILE_CONVERTER);
    if (!pt_path_is_file(converter)) {
        rc = pt_error_set(err, PT_ENOTFOUND, "%s: no such file", converter);
        goto out;
    }
    rc = pt_mkdir_p(output_dir, 0755, err);
    if (rc) {
        pt_error_wrap(err, "--output-dir");
        goto out;
    }
    if (access(output_dir, W_OK) != 0) {
        rc = pt_error_errno(err, PT_EUSAGE, errno, "--output-dir %s", output_dir);
        goto out;
    }
    rc = profile_raw_dir(&eo, raw_dir, sizeof(raw_dir), err);
    if (rc)
        goto out;
    eo.opt.sandbox_writable_dir = raw_dir; /* the only host directory functions may write */
    rc = pt_function_set_env(&cfg, node ? "POWERTUNE_NODE_PROFILE_DIR" : "POWERTUNE_PYTHON_PROFILE_DIR",
                             raw_dir, err);
    if (rc)
        goto out;
    ids = calloc((size_t)num, sizeof(*ids));
    error_types = calloc((size_t)num, sizeof(*error_types));
    /* python, converter, 8 flag words, --init + file, num files, NULL */
    conv_argv = calloc((size_t)num + 16, sizeof(*conv_argv));
    if (!ids || !error_types || !conv_argv) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory");
        goto out;
    }

    rc = cli_engine_start(ctx, &eo, &engine, err);
    if (rc)
        goto out;
    cli_engine_print_notes(engine);
    struct pt_function *fn = NULL;
    rc = pt_engine_function_add(engine, &cfg, &fn, err);
    if (rc)
        goto out;
    struct profile_run run = {.engine = engine, .fn = fn, .payload = payload,
                              .payload_len = payload_len, .num = num, .request_ids = ids,
                              .error_types = error_types};
    rc = profile_invocations(&run, err);
    /* Stopping the engine ends the runtime: every profile but the extra one's is complete. */
    cli_engine_stop(ctx, engine);
    engine = NULL;
    if (rc)
        goto out;

    char top_s[24];
    snprintf(top_s, sizeof(top_s), "%ld", top);
    const char *python = eo.opt.python ? eo.opt.python : "/usr/bin/python3";
    const char *fixed[] = {python, converter, "--name", cfg.name, "--output-dir", output_dir,
                           "--code-dir", cfg.code_dir, "--top", top_s};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (!(conv_argv[conv_n++] = strdup(fixed[i])))
            goto nomem;
    char path[PATH_MAX];
    char file[96];
    snprintf(file, sizeof(file), "init.%s", ext);
    pt_path_join(path, sizeof(path), raw_dir, file);
    if (pt_path_is_file(path)) {
        if (!(conv_argv[conv_n++] = strdup("--init")) || !(conv_argv[conv_n++] = strdup(path)))
            goto nomem;
    } else {
        fprintf(stderr, "note: no INIT profile (%s)\n", path);
    }
    long profiled = 0, lost = 0, first_lost = -1;
    for (long i = 0; i < num; i++) {
        snprintf(file, sizeof(file), "invoke-%s.%s", ids[i], ext);
        pt_path_join(path, sizeof(path), raw_dir, file);
        if (!pt_path_is_file(path)) {
            /* A runtime killed mid-invocation (a timeout, a crash, an OOM kill, a failed INIT)
             * saves no profile: the others still tell where the time goes. */
            if (error_types[i][0]) {
                fprintf(stderr, "note: invocation %ld (%s) left no profile: not in the tables\n",
                        i + 1, error_types[i]);
                lost++;
                if (first_lost < 0)
                    first_lost = i;
                continue;
            }
            rc = pt_error_set(err, PT_EIO,
                              "invocation %ld wrote no profile (%s): is the runtime's profiler on?",
                              i + 1, path);
            goto out;
        }
        if (!(conv_argv[conv_n++] = strdup(path)))
            goto nomem;
        profiled++;
    }
    if (profiled == 0) {
        rc = pt_error_set(err, PT_EIO,
                          "no invocation left a profile: every one of the %ld ended in an error "
                          "that stopped the runtime (invocation %ld: %s)",
                          num, first_lost + 1, error_types[first_lost]);
        goto out;
    }
    rc = profile_run(conv_argv, err);
    if (rc)
        goto out;
    printf("wrote %s/callgrind.out.%s, %s/callgrind.out.%s.init, %s/%s.flame.svg, "
           "%s/%s.init.flame.svg\n",
           output_dir, cfg.name, output_dir, cfg.name, output_dir, cfg.name, output_dir, cfg.name);
    if (run.function_errors)
        fprintf(stderr, "note: %ld of %ld invocations ended in a function error\n",
                run.function_errors, num);
    if (lost)
        fprintf(stderr, "note: the tables are over the %ld invocations that left a profile\n",
                profiled);
    goto out;
nomem:
    rc = pt_error_set(err, PT_ENOMEM, "out of memory");
out:
    if (engine)
        cli_engine_stop(ctx, engine);
    if (raw_dir[0])
        profile_raw_remove(raw_dir);
    for (size_t i = 0; i < conv_n; i++)
        free(conv_argv[i]);
    free(conv_argv);
    free(ids);
    free(error_types);
    free(payload);
    pt_function_config_free(&cfg);
    cli_args_end(&args);
    return rc;
}
