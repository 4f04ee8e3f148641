/*
 * str.h - bounded string helpers and strict number parsing.
 *
 * The parse functions accept the whole string or nothing: "12abc", "",
 * " 12" and out-of-range values are refused, so a CLI flag or a JSON field
 * can never be half-understood.
 */
#ifndef PT_BASE_STR_H
#define PT_BASE_STR_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

/* Copies at most size-1 bytes and always terminates; returns strlen(src). */
size_t pt_strlcpy(char *dst, const char *src, size_t size);

/* 0 on success; -1 if s is not a base-10 integer within [min, max]. */
int pt_parse_long(const char *s, long min, long max, long *out);
/* 0 on success; -1 if s is not a finite number within [min, max]. */
int pt_parse_double(const char *s, double min, double max, double *out);

bool pt_str_starts_with(const char *s, const char *prefix);
bool pt_str_ends_with(const char *s, const char *suffix);

/* The value of one hexadecimal digit (either case), or -1. */
int pt_hex_value(int c);

/*
 * Length of the well-formed UTF-8 sequence starting s[0] (n bytes left), 0 if ill-formed
 * (RFC 3629: no overlong forms, surrogates or code points past U+10FFFF; what jansson accepts).
 */
size_t pt_utf8_seq(const unsigned char *s, size_t n);

/*
 * In place, every byte of s that does not start a well-formed sequence becomes '?': for text
 * that quotes what users gave and that bounds may have cut inside a character, before it goes
 * where ill-formed UTF-8 is refused (jansson) or garbled (a terminal).
 */
void pt_utf8_make_valid(char *s);

/* The same over n bytes that may hold NULs (a function's output or response). */
void pt_utf8_make_valid_n(char *s, size_t n);

/*
 * The usage error for an option getopt_long refused (c = ':' for a missing value, else '?'),
 * naming it as the user wrote it: a short one by its letter (opt = optopt: it may sit inside
 * a cluster such as "-xq", where optind has not moved past it), a long one from argv[ind - 1]
 * (ind = optind) up to any "=value". Long options must have ids outside printable ASCII (ours
 * start at 1000). command names the --help to see. Returns PT_EUSAGE.
 */
int pt_getopt_refused(struct pt_error *err, int c, int argc, char *const argv[], int ind, int opt,
                      const char *command);

/* Formats an unsigned value in base 10 without libc (async-signal-safe); returns length. */
size_t pt_utoa(unsigned long v, char *out);

#endif
