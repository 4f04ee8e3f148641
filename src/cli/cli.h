/*
 * cli.h - what the subcommands share: function and engine flags, payloads.
 *
 * Each subcommand lives in its own file (cmd_<name>.c) with one entry point
 * `int cmd_<name>(int argc, char **argv, struct cli_ctx *ctx, struct pt_error *err)`
 * returning 0 or a negative PT_E* code; only main() prints errors and maps
 * codes to exit statuses (PT_EUSAGE -> 2, PT_EINTR -> 130, others -> 1).
 */
#ifndef PT_CLI_CLI_H
#define PT_CLI_CLI_H

#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "engine/engine.h"

/* Set by main: lets the signal thread stop whichever engine a command runs. */
struct cli_ctx {
    pthread_mutex_t lock; /* guards engine against the signal thread */
    struct pt_engine *engine;
    bool interrupted;
    int signal; /* the first signal taken: an interrupted command exits 128 + it, as a shell's would */
};

/* Function configuration flags (long options; values kept as given until cli_function_build). */
struct cli_function_opts {
    const char *runtime;
    const char *handler;
    const char *name;
    const char *memory;
    const char *timeout;
    const char *ephemeral;
    const char *architecture;
    const char *reserved;
    const char *log_format;
    const char *app_log_level;
    const char *system_log_level;
    const char *env[64];
    size_t env_count;
    /* Not a flag: the engine's --state-dir (NULL: the default), where a template's inline
     * code is written (cli_function_build). */
    const char *state_dir;
};

/* Engine flags. */
struct cli_engine_opts {
    struct pt_engine_options opt;
};

enum {
    CLI_OPT_FUNCTION_BASE = 1000, /* ids of the function flags */
    CLI_OPT_ENGINE_BASE = 1100,   /* ids of the engine flags */
    CLI_OPT_COMMAND_BASE = 1200,  /* ids of a command's own flags */
};

extern const struct option cli_function_options[];
extern const struct option cli_engine_options[];
#define CLI_FUNCTION_OPTIONS_HELP                                                                 \
    "function:\n"                                                                                 \
    "  --runtime NAME        provided[.al2|.al2023], python3.8..python3.14,\n"                    \
    "                        nodejs18.x..nodejs24.x (default: detected)\n"                        \
    "  --handler MOD.FUNC    handler (default: detected)\n"                                       \
    "  --name NAME           function name (default: the directory's name)\n"                     \
    "  --memory MB           MemorySize, 128..10240 (default 128)\n"                              \
    "  --timeout S           Timeout in seconds, 1..900 (default 3)\n"                            \
    "  --ephemeral-storage MB  /tmp size, 512..10240 (default 512)\n"                             \
    "  --architecture ARCH   x86_64 or arm64 (a pricing label; default x86_64)\n"                 \
    "  --reserved-concurrency N  reserved concurrency (default: none)\n"                          \
    "  --env KEY=VALUE       an environment variable (repeatable)\n"                          \
    "  --log-format F        LoggingConfig.LogFormat: text (default) or json (JSON platform\n"    \
    "                        records; AWS_LAMBDA_LOG_FORMAT for the runtime)\n"                   \
    "  --app-log-level L     ApplicationLogLevel, json only: TRACE, DEBUG, INFO (default),\n"     \
    "                        WARN, ERROR, FATAL\n"                                                \
    "  --system-log-level L  SystemLogLevel, json only: DEBUG, INFO (default), WARN\n"
#define CLI_ENGINE_OPTIONS_HELP                                                                   \
    "engine:\n"                                                                                   \
    "  --state-dir DIR       logs and state (default $POWERTUNE_STATE_DIR or\n"                   \
    "                        $XDG_STATE_HOME/powertune)\n"                                        \
    "  --python PATH         interpreter for python3.x runtimes (default /usr/bin/python3)\n"     \
    "  --cgroups MODE        auto, v1, v2 or none (default auto)\n"                               \
    "  --no-init-boost       run INIT at the function's own CPU share\n"                          \
    "  --no-freeze           do not freeze idle environments\n"                                   \
    "  --billing MODE        2025 (INIT billed, default) or legacy\n"                             \
    "  --region REGION       AWS_REGION seen by functions (default us-east-1)\n"                  \
    "  --account-concurrency N  account concurrency limit (default 1000)\n"                       \
    "  --keepalive-ms MS     idle environments are reclaimed after this (default 300000)\n"  \
    "  --no-sandbox          as root, run functions without Lambda's sandbox (mount\n"          \
    "                        namespace, private /tmp, read-only code, unprivileged user)\n"

/* Returns 1 if opt was a function flag (stored in o), 0 if not, negative on a bad value. */
int cli_function_flag(int opt, const char *arg, struct cli_function_opts *o, struct pt_error *err);
int cli_engine_flag(int opt, const char *arg, struct cli_engine_opts *o, struct pt_error *err);
/* Either of the above: 1 taken, 0 not a shared flag, negative on a bad value. */
int cli_shared_flag(int opt, const char *arg, struct cli_function_opts *fo,
                    struct cli_engine_opts *eo, struct pt_error *err);
/* Builds and validates a configuration for the code directory `path`. */
int cli_function_build(const char *path, const struct cli_function_opts *o,
                       struct pt_function_config *c, struct pt_error *err);
/* Reads --payload / --payload-file, refusing anything that is not JSON or is over 6 MB. */
int cli_payload_read(const char *json, const char *file, char **out, size_t *len,
                     struct pt_error *err);
/* A file a command reads or keeps its data in, named by the flag that gave it. */
struct cli_file_use {
    const char *flag;
    const char *path; /* NULL: not given */
};
/*
 * An output file (flag path) checked before anything runs: it must be writable, and must be
 * none of the n files in `kept`, which writing it would destroy (--output over --samples).
 * PT_EUSAGE naming both flags.
 */
int cli_output_check(const char *flag, const char *path, const struct cli_file_use *kept,
                     size_t n, struct pt_error *err);
/* Merges the command's options with the shared ones into a getopt_long table (caller frees). */
struct option *cli_options_merge(const struct option *own);

/*
 * A command's argument loop: cli_args_next returns 1 with one of the command's own options
 * (shared function/engine flags are stored in fo/eo on the way; either may be NULL when
 * the command takes none), 0 when the options are over (optind at the first operand), or
 * a negative code: a bad value, or an unknown option (PT_EUSAGE naming `powertune <cmd>
 * --help`).
 */
struct cli_args {
    int argc;
    char **argv;
    const char *command;
    struct option *options;
    struct cli_function_opts *fo;
    struct cli_engine_opts *eo;
};
int cli_args_begin(struct cli_args *a, int argc, char **argv, const char *command,
                   const struct option *own, struct cli_function_opts *fo,
                   struct cli_engine_opts *eo, struct pt_error *err);
int cli_args_next(struct cli_args *a, int *opt, struct pt_error *err);
void cli_args_end(struct cli_args *a);
/* The one FUNCTION operand after the options (optind), or PT_EUSAGE saying what is wrong. */
int cli_function_operand(int argc, char **argv, const char **function, struct pt_error *err);
/* Prints a notice line to stderr (the engine's notice hook). */
void cli_notice(void *arg, const char *line);
/* Prints to stderr what the engine emulates less faithfully here (cgroups, sandbox), if any. */
void cli_engine_print_notes(struct pt_engine *e);
/* Creates the engine and publishes it to the signal thread. */
int cli_engine_start(struct cli_ctx *ctx, struct cli_engine_opts *eo, struct pt_engine **out,
                     struct pt_error *err);
void cli_engine_stop(struct cli_ctx *ctx, struct pt_engine *e);

int cmd_invoke(int argc, char **argv, struct cli_ctx *ctx, struct pt_error *err);
int cmd_logs(int argc, char **argv, struct cli_ctx *ctx, struct pt_error *err);
int cmd_tune(int argc, char **argv, struct cli_ctx *ctx, struct pt_error *err);
int cmd_analyze(int argc, char **argv, struct cli_ctx *ctx, struct pt_error *err);
int cmd_profile(int argc, char **argv, struct cli_ctx *ctx, struct pt_error *err);
int cmd_serve(int argc, char **argv, struct cli_ctx *ctx, struct pt_error *err);

#endif
