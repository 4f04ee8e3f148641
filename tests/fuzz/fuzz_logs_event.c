/*
 * fuzz_logs_event - pt_logs_scan_event (src/logs/scan.c): one event object of an `aws logs
 * filter-log-events` / `get-log-events` document or a CloudWatch subscription payload, as
 * read.c cuts it out ({"timestamp": <epoch ms>, "message": "...", ...}); its message may hold
 * several lines, each scanned with the event's time.
 *
 * The event's bytes are a malloc of exactly the input's size (no NUL after them), so
 * AddressSanitizer catches a read past them; jansson parses them with json_loadb. UBSan catches
 * arithmetic on the outside "timestamp".
 *
 * Invariants: no error return (ENOMEM / ELIMIT cannot happen on one small event); the scanner's
 * event time does not leak into the next event; a line is counted at most once.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logs/logs_internal.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *ev = fuzz_copy(data, size);
    if (!ev)
        return 0;

    struct pt_logs_options o;
    pt_logs_options_init(&o);
    o.max_line = 300;
    struct pt_logs_run run;
    fuzz_logs_run_init(&run, &o);
    static struct pt_logs_task task;
    memset(&task, 0, sizeof(task));
    struct pt_logs_scan s;
    pt_logs_scan_init(&s, &run, &task);
    s.line = 1;

    if (pt_logs_scan_event(&s, ev, size) != 0)
        abort();
    if (s.default_time != PT_LOGS_NO_TIME)
        abort();
    /* Every message line is at most one of these; a message has at most size lines. */
    if (task.other_lines + task.unparsed + task.ninv + task.counts.init_reports > size + 1)
        abort();
    if (task.ninv != task.counts.invocations)
        abort();

    pt_logs_scan_release(&s);
    fuzz_logs_task_free(&task);
    free(ev);
    return 0;
}
