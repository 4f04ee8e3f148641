/*
 * clock.h - the two clocks powertune uses.
 *
 * Durations are measured on CLOCK_MONOTONIC (immune to wall-clock jumps);
 * timestamps shown to users and written to logs come from CLOCK_REALTIME
 * in epoch milliseconds, formatted as ISO 8601 UTC the way Lambda does.
 */
#ifndef PT_BASE_CLOCK_H
#define PT_BASE_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

int64_t pt_mono_ns(void);
int64_t pt_epoch_ms(void);
/* "2026-11-21T23:15:00.123Z" into out (>= 25 bytes). */
void pt_format_iso8601_ms(int64_t epoch_ms, char *out, unsigned long size);
/* "2026/11/21" (UTC) into out (>= 11 bytes): the date part of a log stream name. */
void pt_format_date_slashes(int64_t epoch_ms, char *out, unsigned long size);
void pt_sleep_ms(int64_t ms);
/*
 * Sleeps ms in slices of at most 100 ms, so that a stop (Ctrl-C) is felt at once: stop (NULL:
 * never) is asked before each slice, also before the first. true: it said stop (the sleep cut
 * short); false: ms have passed.
 */
bool pt_sleep_ms_unless(int64_t ms, bool (*stop)(void *arg), void *arg);

#endif
