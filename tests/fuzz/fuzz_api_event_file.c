/*
 * fuzz_api_event_file - the saved Event invocations of `powertune serve` (src/api/events.c:
 * events_load and event_parse, through api_events_start) on arbitrary bytes.
 *
 * An accepted Event invocation waits in <state>/api/events/<id>.event (a JSON line, then the
 * payload) until it has run; at start every such file is read back. The file is the server's
 * own, but it outlives the process (a crash, a disk, an older version, a hand edit), so any
 * bytes in it must end in a queued event or a skipped file. Each input is written as the one
 * saved event of a fresh state directory, loaded by api_events_start (no worker threads: nothing
 * runs), then the queue is stopped and freed. What must hold: at most that one event is
 * queued, its payload is no larger than the file, and no sanitizer report (the times in the
 * header are any JSON integers).
 */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "base/fs.h"
#include "base/str.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char state[PATH_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!state[0])
        snprintf(state, sizeof(state), "%s/state",
                 fuzz_tmpdir_or_abort("pt-fuzz-ev-XXXXXX", pt_rmtree));
    pt_rmtree(state);
    struct pt_api *api = fuzz_api_new(state);
    api->opt.event_workers = 0; /* load only: no thread takes the event */
    char dir[PATH_MAX + 16], path[PATH_MAX + 64];
    snprintf(dir, sizeof(dir), "%s/events", api->root);
    snprintf(path, sizeof(path), "%s/0123456789abcdef0123456789abcdef.event", dir);
    struct pt_error err = {0};
    if (pt_mkdir_p(dir, 0700, &err) != 0 || pt_file_write_atomic(path, data, size, &err) != 0)
        abort();
    if (api_events_start(api, &err) != 0) {
        fprintf(stderr, "fuzz_api_event_file: %s\n", err.msg);
        abort();
    }
    if (api->ev_queued > 1 || api->ev_held != api->ev_queued || api->ev_bytes > size)
        abort();
    pt_api_destroy(api); /* stops the (absent) workers, frees the queue and the registry */
    return 0;
}
