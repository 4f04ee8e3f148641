#include "base/rand.h"

#include <stdint.h>
#include <stdio.h>
#include <sys/random.h>

static void random_bytes(uint8_t *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(p + got, n - got, 0);
        if (r > 0)
            got += (size_t)r;
    }
}

void pt_uuid4(char out[37])
{
    uint8_t b[16];
    random_bytes(b, sizeof(b));
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

void pt_random_hex(char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t b[64];
    size_t i = 0;
    while (i < n) {
        size_t chunk = (n - i + 1) / 2;
        if (chunk > sizeof(b))
            chunk = sizeof(b);
        random_bytes(b, chunk);
        for (size_t j = 0; j < chunk && i < n; j++) {
            out[i++] = hex[b[j] >> 4];
            if (i < n)
                out[i++] = hex[b[j] & 15];
        }
    }
    out[n] = '\0';
}
