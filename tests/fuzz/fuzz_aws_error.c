/*
 * fuzz_aws_error - the parsers of error responses from a remote endpoint: pt_aws_error_parse and
 * pt_aws_error_code_map (src/aws/client.c: the x-amzn-ErrorType header and a rest-json body) and
 * pt_s3_xml_message (src/aws/s3.c: <Message> of an S3 XML error document).
 *
 * Input: the x-amzn-ErrorType value up to the first '\n' (a C string, as client.c's header
 * callback stores it), then the body, copied into a buffer of exactly its size (no NUL after it):
 * AddressSanitizer catches any read past it. The last byte of the header line, when present,
 * picks the output buffer sizes (the real ones or a few bytes). Outputs must stay terminated
 * inside their buffers, and S3's message must be one line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/client.h"
#include "aws/s3.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t hlen, blen;
    const uint8_t *b;
    bool nl = fuzz_cut(data, size, '\n', &hlen, &b, &blen);
    int small = hlen > 0 && (data[hlen - 1] & 1);
    size_t code_size = small ? 4 : PT_AWS_ERROR_CODE_MAX;
    size_t msg_size = small ? 3 : PT_AWS_ERROR_MESSAGE_MAX;
    size_t reason_size = small ? 2 : 64;

    char *header = nl ? fuzz_cstr(data, hlen) : NULL;
    char *body = fuzz_copy(b, blen);
    char *code = malloc(code_size), *msg = malloc(msg_size), *reason = malloc(reason_size);
    char *s3msg = malloc(msg_size);
    if ((nl && !header) || !body || !code || !msg || !reason || !s3msg)
        goto out;
    pt_aws_error_parse(header, body, blen, code, code_size, msg, msg_size, reason, reason_size);
    if (strnlen(code, code_size) >= code_size || strnlen(msg, msg_size) >= msg_size ||
        strnlen(reason, reason_size) >= reason_size)
        abort();
    int rc = pt_aws_error_code_map(code[0] ? code : NULL, 400 + (long)(blen % 200));
    if (rc >= 0)
        abort();

    pt_s3_xml_message(body, blen, s3msg, msg_size);
    size_t sl = strnlen(s3msg, msg_size);
    if (sl >= msg_size || memchr(s3msg, '\n', sl) || memchr(s3msg, '\r', sl))
        abort();
out:
    free(header);
    free(body);
    free(code);
    free(msg);
    free(reason);
    free(s3msg);
    return 0;
}
