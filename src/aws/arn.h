/*
 * arn.h - Lambda function identifiers: full ARNs, partial ARNs and names.
 *
 * Accepts what Lambda's FunctionName accepts, qualified or not:
 *   arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
 *   ACCOUNT:function:NAME[:QUALIFIER]
 *   NAME[:QUALIFIER]
 * NAME is 1-64 of [A-Za-z0-9_-]; QUALIFIER is $LATEST, a version number or an
 * alias name (1-128 of [A-Za-z0-9_-], not all digits is an alias). The
 * reference power-tuning tool refuses qualified ARNs; powertune keeps the
 * qualifier so the caller can decide. Errors name the part that is wrong.
 */
#ifndef PT_AWS_ARN_H
#define PT_AWS_ARN_H

#include <stdbool.h>
#include <stddef.h>

#include "aws/credentials.h"
#include "base/error.h"

#define PT_AWS_FUNCTION_NAME_MAX 65 /* 64 characters */
#define PT_AWS_QUALIFIER_MAX 129    /* 128 characters */
#define PT_AWS_ACCOUNT_LEN 12
#define PT_AWS_ARN_MAX 256

enum pt_aws_arn_form {
    PT_AWS_ARN_FULL,    /* arn:aws:lambda:... */
    PT_AWS_ARN_PARTIAL, /* 123456789012:function:name */
    PT_AWS_ARN_NAME,    /* name */
};

struct pt_aws_lambda_arn {
    enum pt_aws_arn_form form;
    char partition[24];                    /* "" unless FULL */
    char region[PT_AWS_REGION_MAX];        /* "" unless FULL */
    char account[PT_AWS_ACCOUNT_LEN + 1];  /* "" for NAME */
    char name[PT_AWS_FUNCTION_NAME_MAX];
    char qualifier[PT_AWS_QUALIFIER_MAX];  /* "" when unqualified */
};

int pt_aws_lambda_arn_parse(const char *s, struct pt_aws_lambda_arn *out, struct pt_error *err);

/* An alias name Lambda accepts: 1-128 of [A-Za-z0-9-_], not all digits (that is a version). */
bool pt_aws_lambda_alias_name_ok(const char *s);

/*
 * The unqualified full ARN (with the qualifier when with_qualifier), using region/account when
 * the parsed form lacked them; PT_EUSAGE if they are still missing, PT_ELIMIT if out is short.
 */
int pt_aws_lambda_arn_format(const struct pt_aws_lambda_arn *a, const char *region,
                             const char *account, int with_qualifier, char *out, size_t size,
                             struct pt_error *err);

#endif
