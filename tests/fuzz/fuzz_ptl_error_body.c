/*
 * fuzz_ptl_error_body - ptl_error_body (runtimes/c/powertune_lambda.c): the /error document built
 * from a handler's error type and message, which often carry pieces of the event (any bytes,
 * invalid UTF-8, very long).
 *
 * Input: the type up to the first NUL, the message after it (no NUL: the message is the type's
 * default "HandlerError" and the whole input is the message), each a C string of exactly its
 * length + 1 bytes. The document must be a JSON object whose errorMessage is the message when
 * that is valid UTF-8 and within PTL_ERROR_MESSAGE_MAX, and never longer than that; out_len must
 * be its length.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "powertune_lambda.h"
#include "powertune_lambda_internal.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t tlen, mlen;
    const uint8_t *m;
    bool z = fuzz_cut(data, size, '\0', &tlen, &m, &mlen);
    char *type = z ? fuzz_cstr(data, tlen) : NULL;
    char *msg = fuzz_cstr(m, mlen);
    char *out = NULL;
    size_t out_len = 0;
    if ((z && !type) || !msg)
        goto done;
    mlen = strlen(msg); /* a NUL inside the message ends it, as for any C string */
    if (ptl_error_body(type, msg, &out, &out_len) != 0)
        goto done;
    if (strlen(out) != out_len)
        abort();
    json_t *j = json_loadb(out, out_len, 0, NULL);
    json_t *em = json_object_get(j, "errorMessage"), *et = json_object_get(j, "errorType");
    if (!json_is_object(j) || !json_is_string(em) || !json_is_string(et) ||
        json_string_length(em) > PTL_ERROR_MESSAGE_MAX)
        abort();
    json_t *valid = mlen <= PTL_ERROR_MESSAGE_MAX ? json_stringn(msg, mlen) : NULL;
    if (valid && !json_equal(valid, em))
        abort();
    json_decref(valid);
    json_decref(j);
done:
    free(out);
    free(type);
    free(msg);
    return 0;
}
