/*
 * fuzz_logs_cli - pt_logs_cli_parse (src/logs/args.c): the command line of `powertune logs`,
 * argv from the user. The input is split at NUL bytes into arguments after "logs"; each one is
 * its own malloc'd NUL-terminated string of exactly its length (AddressSanitizer catches a read
 * past it), freed once the parse is done. The parser runs many times in one process here, as it
 * does in the unit tests: state from one parse must not reach the next.
 *
 * Invariants (logs.h): a refusal is PT_EUSAGE with a message; an accepted command line without
 * --help has at least one path, every path one of the arguments, and options in their ranges;
 * after any input, a fixed good command line is accepted with its option and path.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logs/logs.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *argv[MAX_ARGS + 2];
    char *owned[MAX_ARGS + 1];
    int argc = 0, nowned = 0;
    static char prog[] = "logs";
    argv[argc++] = prog;
    size_t i = 0;
    while (i < size && argc <= MAX_ARGS) {
        const uint8_t *nul = memchr(data + i, 0, size - i);
        size_t n = nul ? (size_t)(nul - (data + i)) : size - i;
        char *a = fuzz_cstr(data + i, n);
        if (!a)
            abort();
        owned[nowned++] = a;
        argv[argc++] = a;
        i += n + 1;
    }
    argv[argc] = NULL;

    struct pt_logs_cli cli;
    struct pt_error err = {0};
    int rc = pt_logs_cli_parse(argc, argv, &cli, &err);
    if (rc != 0) {
        if (rc != PT_EUSAGE || !err.msg[0] || cli.paths)
            abort();
    } else {
        if (!cli.help && cli.npaths == 0)
            abort();
        for (size_t k = 0; k < cli.npaths; k++) {
            bool found = false;
            for (int a = 1; a < argc && !found; a++)
                found = cli.paths[k] == argv[a];
            if (!found)
                abort();
        }
        if (!cli.help &&
            (cli.opt.quota < 1 || cli.opt.minutes_before < 0 || cli.opt.minutes_before > 1440 ||
             cli.opt.threads < 0 || cli.opt.threads > PT_LOGS_THREADS_MAX ||
             cli.opt.max_line < 1024 || cli.opt.max_invocations < 1 ||
             !memchr(cli.opt.region, '\0', sizeof(cli.opt.region))))
            abort();
        pt_logs_cli_free(&cli);
    }

    /* Whatever the input left behind (getopt keeps state between calls), a good command line
     * parses as such: the parser is called many times in one process by the tests. The input's
     * arguments are still alive here, as string literals are in the tests (freed, the stale
     * state would point into memory ASan may have reused for its own bookkeeping). */
    char a0[] = "logs", a1[] = "--json", a2[] = "f.log";
    char *good[] = {a0, a1, a2, NULL};
    if (pt_logs_cli_parse(3, good, &cli, &err) != 0)
        abort();
    if (!cli.json || cli.npaths != 1 || cli.paths[0] != a2)
        abort();
    pt_logs_cli_free(&cli);
    for (int k = 0; k < nowned; k++)
        free(owned[k]);
    return 0;
}
