/*
 * fuzz_aws_arn - pt_aws_lambda_arn_parse (src/aws/arn.c) on arbitrary strings.
 *
 * Function names and ARNs come from the user (--function, lambdaARN of a tune input, the local
 * control API's paths), and the parser splits a bounded copy at ':' by hand. The input becomes a
 * NUL-terminated string of exactly its length + 1 bytes (the API takes a C string), so
 * AddressSanitizer catches any read past the terminator. An accepted identifier must hold only
 * what the grammar allows, and its full ARN (pt_aws_lambda_arn_format) must parse again to the
 * same parts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/arn.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int name_chars(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    if (!s)
        return 0;
    struct pt_aws_lambda_arn a;
    struct pt_error err;
    if (pt_aws_lambda_arn_parse(s, &a, &err) == 0) {
        size_t nl = strlen(a.name);
        if (nl == 0 || nl >= sizeof(a.name) || !name_chars(a.name) ||
            (a.qualifier[0] && strcmp(a.qualifier, "$LATEST") != 0 && !name_chars(a.qualifier)))
            abort();
        if ((a.form == PT_AWS_ARN_FULL) != (a.region[0] != '\0') ||
            (a.form == PT_AWS_ARN_NAME) != (a.account[0] == '\0') ||
            (a.region[0] && !pt_aws_region_valid(a.region)) ||
            (a.account[0] && strlen(a.account) != PT_AWS_ACCOUNT_LEN))
            abort();
        /* Bigger than PT_AWS_ARN_MAX on purpose: a name of 64 and a qualifier of 128 make a full
         * ARN longer than the parser accepts, which is no contradiction. */
        char full[512];
        if (pt_aws_lambda_arn_format(&a, "us-east-1", "123456789012", 1, full, sizeof(full),
                                     &err) != 0)
            abort();
        struct pt_aws_lambda_arn b;
        if (strlen(full) < PT_AWS_ARN_MAX) {
            if (pt_aws_lambda_arn_parse(full, &b, &err) != 0 || b.form != PT_AWS_ARN_FULL ||
                strcmp(a.name, b.name) != 0 || strcmp(a.qualifier, b.qualifier) != 0 ||
                (a.region[0] && strcmp(a.region, b.region) != 0) ||
                (a.account[0] && strcmp(a.account, b.account) != 0) ||
                (a.partition[0] && strcmp(a.partition, b.partition) != 0))
                abort();
        }
    }
    free(s);
    return 0;
}
