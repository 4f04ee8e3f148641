/*
 * fuzz_aws_lambda_config - pt_lambda_parse_configuration (src/aws/lambda_api.c) on arbitrary
 * bytes: the FunctionConfiguration document of GetFunctionConfiguration, UpdateFunctionConfiguration
 * and PublishVersion, as any endpoint (--endpoint-url, a local emulator) may send it.
 *
 * The body is copied into a buffer of exactly its size (no NUL after it): AddressSanitizer then
 * catches a read past it. Every string field must come back terminated inside its buffer; an
 * accepted document must have a positive MemorySize, and the figures taken must be the ones the
 * document holds (checked against jansson's own reading), not a wrapped-around value.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/lambda_api.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERMINATED(f) (strnlen((f), sizeof(f)) < sizeof(f))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = fuzz_copy(data, size);
    if (!body)
        return 0;
    struct pt_lambda_function_config c;
    struct pt_error err;
    int rc = pt_lambda_parse_configuration(body, size, &c, &err);
    if (!TERMINATED(c.function_name) || !TERMINATED(c.function_arn) || !TERMINATED(c.version) ||
        !TERMINATED(c.description) || !TERMINATED(c.state) || !TERMINATED(c.last_update_status) ||
        !TERMINATED(c.last_update_reason) || !TERMINATED(c.architecture) ||
        !TERMINATED(c.log_format))
        abort();
    if (rc == 0) {
        if (c.memory_mb <= 0)
            abort();
        json_t *j = json_loadb(body, size, 0, NULL);
        json_t *m = json_object_get(j, "MemorySize"), *t = json_object_get(j, "Timeout");
        if (!json_is_integer(m) || json_integer_value(m) != c.memory_mb ||
            (json_is_integer(t) && json_integer_value(t) != c.timeout_s))
            abort();
        json_decref(j);
    }
    free(body);
    return 0;
}
