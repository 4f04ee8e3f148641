/*
 * crash-c - a function that dies mid-invocation, to exercise the engine's
 * crash path (Runtime.ExitError, environment replaced).
 *
 * Event {"signal":"SEGV"|"ABRT"|"KILL"|"BUS"} (default SEGV; a "SIG"
 * prefix is accepted) kills the process with that signal; {"exit": N}
 * exits with status N (0..255) without answering. raise() instead of a
 * real fault so the outcome does not depend on compiler or sanitizers.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#include <jansson.h>

#include "powertune_lambda.h"

static const struct {
    const char *name;
    int signo;
} signals[] = {{"SEGV", SIGSEGV}, {"ABRT", SIGABRT}, {"KILL", SIGKILL}, {"BUS", SIGBUS}};

static int invalid(struct ptl_response *out, const char *msg)
{
    out->error_type = "InvalidEvent";
    out->error_message = strdup(msg);
    return -1;
}

static int handler(const char *event, size_t event_len, const struct ptl_context *ctx, struct ptl_response *out)
{
    json_t *doc = NULL, *v;
    int signo = SIGSEGV, rc = -1;

    while (event_len > 0 && strchr(" \t\r\n", event[event_len - 1]))
        event_len--;
    if (event_len > 0) {
        doc = json_loadb(event, event_len, JSON_DECODE_ANY, NULL);
        if (!doc || !(json_is_object(doc) || json_is_null(doc))) {
            rc = invalid(out, "the event must be a JSON object");
            goto out;
        }
    }
    if ((v = json_object_get(doc, "exit"))) {
        json_int_t status = json_is_integer(v) ? json_integer_value(v) : -1;
        if (status < 0 || status > 255) {
            rc = invalid(out, "exit must be an integer from 0 to 255");
            goto out;
        }
        printf("crash-c: request %s: exiting with status %d\n", ctx->request_id, (int)status);
        json_decref(doc);
        exit((int)status); /* flushes stdout, so the line above reaches the log */
    }
    if ((v = json_object_get(doc, "signal"))) {
        const char *name = json_string_value(v);
        signo = 0;
        if (name && strncasecmp(name, "SIG", 3) == 0)
            name += 3;
        for (size_t i = 0; name && i < sizeof signals / sizeof signals[0]; i++)
            if (strcasecmp(name, signals[i].name) == 0)
                signo = signals[i].signo;
        if (!signo) {
            rc = invalid(out, "signal must be one of SEGV, ABRT, KILL, BUS");
            goto out;
        }
    }
    printf("crash-c: request %s: raising signal %d (%s)\n", ctx->request_id, signo, strsignal(signo));
    fflush(NULL);
    /*
     * No core file: dumping one would make the death slow and
     * machine-dependent (core_pattern), and litter the function directory.
     */
    setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0});
    signal(signo, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signo);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(signo);
    /* Not reached for these signals; answer rather than hang if it ever is. */
    rc = invalid(out, "the signal did not kill the process");
out:
    json_decref(doc);
    return rc;
}

int main(void)
{
    return ptl_run(handler) == 0 ? 0 : 1;
}
