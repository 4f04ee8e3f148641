/*
 * rand.h - identifiers from the kernel's CSPRNG (getrandom).
 *
 * Request ids are RFC 4122 version-4 UUIDs like Lambda's; log stream
 * names end in 32 hex digits.
 */
#ifndef PT_BASE_RAND_H
#define PT_BASE_RAND_H

#include <stddef.h>

/* out must hold 37 bytes. */
void pt_uuid4(char out[37]);
/* n hex digits plus NUL into out. */
void pt_random_hex(char *out, size_t n);

#endif
