/*
 * fuzz_aws_log_result - the X-Amz-Log-Result header of an Invoke response as pt_lambda_invoke
 * handles it (src/aws/lambda_api.c): pt_lambda_base64_decode of the header value, then
 * pt_lambda_report_from_log of what it decodes to.
 *
 * The value is a C string (client.c stores the header NUL-terminated) of exactly its length + 1
 * bytes; base64 is the input format here, so the fuzzer reaches the report parser through real
 * decoding. The decoded buffer must be terminated after the length said, and a value in strict
 * RFC 4648 form (alphabet only, '=' padding only at the end) must decode to exactly the bytes a
 * plain reference decoder gives.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/lambda_api.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int b64_value(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Strict decoding into out (size / 4 * 3 bytes); the length, or -1 if not strict base64. */
static long reference_decode(const uint8_t *in, size_t n, uint8_t *out)
{
    if (n % 4 != 0)
        return -1;
    size_t pad = n >= 1 && in[n - 1] == '=' ? (n >= 2 && in[n - 2] == '=' ? 2 : 1) : 0;
    long len = 0;
    for (size_t i = 0; i < n; i += 4) {
        uint32_t v = 0;
        for (size_t k = 0; k < 4; k++) {
            int d = b64_value(in[i + k]);
            if (d < 0 && !(in[i + k] == '=' && i + k >= n - pad))
                return -1;
            v = v << 6 | (uint32_t)(d < 0 ? 0 : d);
        }
        out[len++] = (uint8_t)(v >> 16);
        out[len++] = (uint8_t)(v >> 8);
        out[len++] = (uint8_t)v;
    }
    return len - (long)pad;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_cstr(data, size);
    uint8_t *ref = malloc(size / 4 * 3 + 1);
    if (!in || !ref)
        goto out;
    long ref_len = reference_decode(data, size, ref);
    char *dec = NULL;
    size_t dec_len = 0;
    struct pt_error err;
    int rc = pt_lambda_base64_decode(in, &dec, &dec_len, &err);
    /* 64 KB: the header's bound in lambda_api.c; longer values are refused on purpose. */
    if (ref_len >= 0 && size <= 64 * 1024 &&
        (rc != 0 || dec_len != (size_t)ref_len || memcmp(dec, ref, dec_len) != 0))
        abort();
    if (rc == 0) {
        if (dec[dec_len] != '\0')
            abort();
        struct pt_lambda_report r;
        pt_lambda_report_from_log(dec, dec_len, &r);
        free(dec);
    }
out:
    free(in);
    free(ref);
    return 0;
}
