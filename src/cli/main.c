/*
 * main.c - powertune's entry point: dispatches to one subcommand, owns the
 * signal handling, prints errors and picks the exit status.
 *
 * SIGINT/SIGTERM/SIGHUP are blocked in every thread and taken by one signal
 * thread with sigwait, which asks the running engine to shut down: in-flight
 * invocations end, environments and cgroups are removed, and the command
 * returns PT_EINTR (exit 128 + the signal: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP, what
 * a shell reports for a process the signal killed). A second signal exits at once. Commands without an
 * engine (logs, analyze) keep the default dispositions: a signal ends them.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

#define POWERTUNE_VERSION "0.1.0"

struct command {
    const char *name;
    int (*run)(int argc, char **argv, struct cli_ctx *ctx, struct pt_error *err);
    const char *summary;
    /* No engine, nothing to clean up: SIGINT/SIGTERM end it the default way. The signal
     * thread only sets a flag that such a command never reads, so the first Ctrl-C (or the
     * single SIGTERM of `timeout`) would be ignored. */
    bool default_signals;
};

static const struct command commands[] = {
    {"invoke", cmd_invoke, "run a function in the local engine, as Lambda would", false},
    {"logs", cmd_logs, "concurrency, cold starts, memory and cost from Lambda logs", true},
    {"tune", cmd_tune, "find the best memory size (AWS Lambda Power Tuning, locally)", false},
    {"analyze", cmd_analyze, "recompute a tuning from its samples file, without invoking", true},
    {"profile", cmd_profile, "where a function's time goes: callgrind, flame graph, top table",
     false},
    {"serve", cmd_serve, "the AWS Lambda API on a local port (for the AWS CLI and SDKs)", false},
};

static void usage(FILE *f)
{
    fprintf(f, "powertune %s - run and tune AWS Lambda functions, locally or in AWS\n\n"
               "usage: powertune COMMAND [options]   (powertune COMMAND --help for details)\n\n"
               "commands:\n",
            POWERTUNE_VERSION);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

struct signal_thread_arg {
    struct cli_ctx *ctx;
    sigset_t set;
};

static void *signal_thread(void *p)
{
    struct signal_thread_arg *a = p;
    for (;;) {
        int sig = 0;
        if (sigwait(&a->set, &sig) != 0)
            continue;
        pthread_mutex_lock(&a->ctx->lock);
        bool again = a->ctx->interrupted;
        a->ctx->interrupted = true;
        if (!again)
            a->ctx->signal = sig;
        if (a->ctx->engine)
            pt_engine_shutdown(a->ctx->engine);
        pthread_mutex_unlock(&a->ctx->lock);
        if (again)
            _exit(128 + sig);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("powertune %s\n", POWERTUNE_VERSION);
        return 0;
    }
    const struct command *cmd = NULL;
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            cmd = &commands[i];
    if (!cmd) {
        fprintf(stderr, "powertune: unknown command \"%s\"\n\n", argv[1]);
        usage(stderr);
        return 2;
    }

    signal(SIGPIPE, SIG_IGN);
    struct cli_ctx ctx = {.engine = NULL, .interrupted = false, .signal = SIGINT};
    pthread_mutex_init(&ctx.lock, NULL);
    struct signal_thread_arg sarg = {.ctx = &ctx};
    if (!cmd->default_signals) {
        sigemptyset(&sarg.set);
        sigaddset(&sarg.set, SIGINT);
        sigaddset(&sarg.set, SIGTERM);
        sigaddset(&sarg.set, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &sarg.set, NULL);
        pthread_t tid;
        if (pthread_create(&tid, NULL, signal_thread, &sarg) != 0) {
            fprintf(stderr, "powertune: cannot start the signal thread\n");
            return 1;
        }
        pthread_detach(tid);
    }

    struct pt_error err = {0};
    int rc = cmd->run(argc - 1, argv + 1, &ctx, &err);
    if (rc == 0)
        return 0;
    if (err.msg[0])
        fprintf(stderr, "powertune %s: %s\n", cmd->name, err.msg);
    if (rc == PT_EUSAGE)
        return 2;
    if (rc == PT_EINTR) {
        pthread_mutex_lock(&ctx.lock);
        int sig = ctx.signal;
        pthread_mutex_unlock(&ctx.lock);
        return 128 + sig;
    }
    return 1;
}
