/*
 * fuzz_api_request - the request parameters of `powertune serve` (src/api/encode.c and
 * control.c) on arbitrary bytes: api_percent_decode, api_query_get, api_base64_decode (the
 * ZipFile of CreateFunction / UpdateFunctionCode and X-Amz-Client-Context) and
 * api_target_parse (the function name or ARN of a path segment plus ?Qualifier=).
 *
 * Input: the first line is the raw path segment naming the function, the rest the raw query
 * string. The whole input is also decoded as percent-encoding and as base64. What must hold:
 *   - a decoded value fits its buffer, NUL-terminated, no longer than what it came from;
 *   - base64 the decoder accepts comes back through encode + decode unchanged, and any bytes
 *     (the input) come back through encode + decode unchanged;
 *   - a target that parses has a name, and a qualifier only of [A-Za-z0-9$_-]; a refusal is a
 *     4xx response with a body.
 * Length-taking functions get a buffer of exactly the input's size (no NUL after it), so
 * AddressSanitizer catches a read past it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "base/str.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_decoded(const char *out, size_t size, size_t from)
{
    size_t n = strnlen(out, size);
    if (n == size || n > from)
        abort();
}

static void check_base64(const char *in, size_t n)
{
    unsigned char *raw = NULL;
    size_t raw_len = 0;
    if (api_base64_decode(in, n, &raw, &raw_len) == 0) {
        if (raw_len > n / 4 * 3 + 3)
            abort();
        char *again = api_base64_encode(raw, raw_len);
        if (!again)
            abort();
        unsigned char *back = NULL;
        size_t back_len = 0;
        if (api_base64_decode(again, strlen(again), &back, &back_len) != 0 ||
            back_len != raw_len || (raw_len && memcmp(back, raw, raw_len) != 0)) {
            fprintf(stderr, "fuzz_api_request: base64 round trip lost bytes\n");
            abort();
        }
        free(back);
        free(again);
        free(raw);
    }
    /* Any bytes: encoded by us, decoded by us, unchanged. */
    char *enc = api_base64_encode(in, n);
    if (!enc)
        abort();
    if (strlen(enc) != 4 * ((n + 2) / 3))
        abort();
    unsigned char *dec = NULL;
    size_t dec_len = 0;
    if (api_base64_decode(enc, strlen(enc), &dec, &dec_len) != 0 || dec_len != n ||
        (n && memcmp(dec, in, n) != 0)) {
        fprintf(stderr, "fuzz_api_request: base64 of the input did not decode back\n");
        abort();
    }
    free(dec);
    free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *exact = fuzz_copy(data, size);
    if (!exact)
        return 0;

    /* Percent-decoding into buffers of several sizes (0 included). */
    static const size_t sizes[] = {0, 1, 2, 16, 129, 4096};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char out[4096];
        if (api_percent_decode(exact, size, out, sizes[i]) == 0)
            check_decoded(out, sizes[i], size);
    }
    check_base64(exact, size);

    /* segment "\n" query, both NUL-terminated as the router passes them. */
    const char *nl = memchr(exact, '\n', size);
    size_t seg_len = nl ? (size_t)(nl - exact) : size;
    char *segment = strndup(exact, seg_len);
    char *query = nl ? strndup(nl + 1, size - seg_len - 1) : NULL;
    free(exact);
    if (!segment || (nl && !query)) {
        free(segment);
        free(query);
        return 0;
    }
    static const char *const names[] = {"Qualifier", "Marker", "MaxItems", "FunctionVersion"};
    for (size_t i = 0; query && i < sizeof(names) / sizeof(names[0]); i++) {
        char out[129];
        int got = api_query_get(query, names[i], out, sizeof(out));
        if (got < -1 || got > 1)
            abort();
        if (got == 1)
            check_decoded(out, sizeof(out), strlen(query));
    }

    static struct pt_api api;
    if (!api.account[0])
        fuzz_api_ids(&api);
    struct pt_api_request req = {.method = "GET", .path = "/", .query = query};
    struct pt_api_response r;
    api_resp_init(&r);
    struct api_target t;
    if (api_target_parse(&api, segment, &req, &t, &r) == 0) {
        if (!t.name[0] || strnlen(t.name, sizeof(t.name)) == sizeof(t.name) ||
            strnlen(t.qualifier, sizeof(t.qualifier)) == sizeof(t.qualifier))
            abort();
        for (const char *p = t.qualifier; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '$'))
                abort();
        if (r.body)
            abort(); /* success leaves the response alone */
    } else if (r.status < 400 || r.status >= 500 || !r.body) {
        abort();
    }
    pt_api_response_free(&r);
    free(segment);
    free(query);
    return 0;
}
