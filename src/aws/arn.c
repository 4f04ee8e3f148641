/*
 * arn.c - parsing Lambda function ARNs and names.
 */
#include "aws/arn.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/str.h"

static bool name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

static bool all_of(const char *s, size_t n, bool (*ok)(char))
{
    for (size_t i = 0; i < n; i++)
        if (!ok(s[i]))
            return false;
    return true;
}

static bool digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool partition_char(char c)
{
    return (c >= 'a' && c <= 'z') || c == '-';
}

bool pt_aws_lambda_alias_name_ok(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n < PT_AWS_QUALIFIER_MAX && all_of(s, n, name_char) && !all_of(s, n, digit);
}

/* Splits s at ':' into at most max fields (pointers into copy); returns the field count. */
static size_t split_colons(char *copy, char **f, size_t max)
{
    size_t n = 0;
    char *s = copy;
    for (;;) {
        if (n == max)
            return max + 1; /* too many */
        f[n++] = s;
        char *c = strchr(s, ':');
        if (!c)
            return n;
        *c = '\0';
        s = c + 1;
    }
}

static int set_name_qualifier(struct pt_aws_lambda_arn *out, const char *input, const char *name,
                              const char *qualifier, struct pt_error *err)
{
    size_t nl = strlen(name);
    if (nl == 0 || nl >= PT_AWS_FUNCTION_NAME_MAX || !all_of(name, nl, name_char))
        return pt_error_set(err, PT_EUSAGE, "function name '%.80s' in '%.200s' must be 1-%d "
                            "letters, digits, '-' or '_'", name, input,
                            PT_AWS_FUNCTION_NAME_MAX - 1);
    pt_strlcpy(out->name, name, sizeof(out->name));
    if (!qualifier)
        return 0;
    size_t ql = strlen(qualifier);
    if (strcmp(qualifier, "$LATEST") != 0 &&
        (ql == 0 || ql >= PT_AWS_QUALIFIER_MAX || !all_of(qualifier, ql, name_char)))
        return pt_error_set(err, PT_EUSAGE, "qualifier '%.80s' in '%.200s' must be $LATEST, a "
                            "version number or an alias name (1-%d letters, digits, '-' or '_')",
                            qualifier, input, PT_AWS_QUALIFIER_MAX - 1);
    pt_strlcpy(out->qualifier, qualifier, sizeof(out->qualifier));
    return 0;
}

static int check_account(const char *acct, const char *input, struct pt_error *err)
{
    if (strlen(acct) != PT_AWS_ACCOUNT_LEN || !all_of(acct, PT_AWS_ACCOUNT_LEN, digit))
        return pt_error_set(err, PT_EUSAGE, "account '%.40s' in '%.200s' must be 12 digits",
                            acct, input);
    return 0;
}

int pt_aws_lambda_arn_parse(const char *s, struct pt_aws_lambda_arn *out, struct pt_error *err)
{
    char copy[PT_AWS_ARN_MAX];
    char *f[9];
    memset(out, 0, sizeof(*out));
    if (!s || !*s)
        return pt_error_set(err, PT_EUSAGE, "empty function name or ARN");
    if (strlen(s) >= sizeof(copy))
        return pt_error_set(err, PT_EUSAGE, "function name or ARN longer than %d characters",
                            PT_AWS_ARN_MAX - 1);
    pt_strlcpy(copy, s, sizeof(copy));
    size_t n = split_colons(copy, f, 8);
    int rc;
    if (strcmp(f[0], "arn") == 0) {
        /* arn : partition : lambda : region : account : function : name [: qualifier] */
        if (n != 7 && n != 8)
            return pt_error_set(err, PT_EUSAGE, "'%.200s' is not "
                                "arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]", s);
        size_t pl = strlen(f[1]);
        if (pl == 0 || pl >= sizeof(out->partition) || strncmp(f[1], "aws", 3) != 0 ||
            !all_of(f[1], pl, partition_char))
            return pt_error_set(err, PT_EUSAGE, "partition '%.40s' in '%.200s' is not aws, "
                                "aws-cn, aws-us-gov, ...", f[1], s);
        if (strcmp(f[2], "lambda") != 0)
            return pt_error_set(err, PT_EUSAGE, "'%.200s' is an ARN of service '%.40s', not of "
                                "a Lambda function", s, f[2]);
        if (!pt_aws_region_valid(f[3]))
            return pt_error_set(err, PT_EUSAGE, "region '%.40s' in '%.200s' is not a region "
                                "name like us-east-1", f[3], s);
        if ((rc = check_account(f[4], s, err)))
            return rc;
        if (strcmp(f[5], "function") != 0)
            return pt_error_set(err, PT_EUSAGE, "'%.200s' names a Lambda '%.40s', not a "
                                "function", s, f[5]);
        if ((rc = set_name_qualifier(out, s, f[6], n == 8 ? f[7] : NULL, err)))
            return rc;
        out->form = PT_AWS_ARN_FULL;
        pt_strlcpy(out->partition, f[1], sizeof(out->partition));
        pt_strlcpy(out->region, f[3], sizeof(out->region));
        pt_strlcpy(out->account, f[4], sizeof(out->account));
        return 0;
    }
    if (n >= 3 && strcmp(f[1], "function") == 0) {
        if (n > 4)
            return pt_error_set(err, PT_EUSAGE, "'%.200s' is not "
                                "ACCOUNT:function:NAME[:QUALIFIER]", s);
        if ((rc = check_account(f[0], s, err)) ||
            (rc = set_name_qualifier(out, s, f[2], n == 4 ? f[3] : NULL, err)))
            return rc;
        out->form = PT_AWS_ARN_PARTIAL;
        pt_strlcpy(out->account, f[0], sizeof(out->account));
        return 0;
    }
    if (n > 2)
        return pt_error_set(err, PT_EUSAGE, "'%.200s' is neither a function name, "
                            "ACCOUNT:function:NAME nor arn:aws:lambda:REGION:ACCOUNT:function:NAME",
                            s);
    if ((rc = set_name_qualifier(out, s, f[0], n == 2 ? f[1] : NULL, err)))
        return rc;
    out->form = PT_AWS_ARN_NAME;
    return 0;
}

int pt_aws_lambda_arn_format(const struct pt_aws_lambda_arn *a, const char *region,
                             const char *account, int with_qualifier, char *out, size_t size,
                             struct pt_error *err)
{
    const char *r = a->region[0] ? a->region : region;
    const char *acct = a->account[0] ? a->account : account;
    const char *part = a->partition[0] ? a->partition : "aws";
    if (!r || !*r || !acct || !*acct)
        return pt_error_set(err, PT_EUSAGE, "function '%s' needs a %s to form its ARN", a->name,
                            (!r || !*r) ? "region" : "account id");
    bool q = with_qualifier && a->qualifier[0];
    int n = snprintf(out, size, "arn:%s:lambda:%s:%s:function:%s%s%s", part, r, acct, a->name,
                     q ? ":" : "", q ? a->qualifier : "");
    if (n < 0 || (size_t)n >= size)
        return pt_error_set(err, PT_ELIMIT, "ARN of function '%s' does not fit in %zu bytes",
                            a->name, size);
    return 0;
}
