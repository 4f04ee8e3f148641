/*
 * credentials.h - AWS credentials and region, found the way the AWS CLI and
 * SDKs find them.
 *
 * Credentials, in botocore's order: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY
 * (+ AWS_SECURITY_TOKEN, else AWS_SESSION_TOKEN) from the environment; then the
 * profile as the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, else
 * ~/.aws/credentials, sections "[name]") and the config file (AWS_CONFIG_FILE,
 * else ~/.aws/config, "[default]" / "[profile name]") give it together:
 * role_arn, web identity (the profile's or AWS_WEB_IDENTITY_TOKEN_FILE), SSO
 * (sso_account_id / sso_role_name), the credentials file's keys,
 * credential_process, the config file's keys; then container credentials. The
 * profile is the explicit one, else AWS_PROFILE, else AWS_DEFAULT_PROFILE, else
 * "default". As in botocore, an explicit profile (--profile) skips the
 * environment (keys and web identity); AWS_PROFILE does not.
 * Region: explicit flag, then the function ARN's region, AWS_REGION,
 * AWS_DEFAULT_REGION, the profile's `region` (credentials file, then config).
 * Both files are read as botocore's strict RawConfigParser reads them: a file
 * the AWS CLI refuses (a duplicate section or key, a line that is no section,
 * key or comment) is refused, naming the line, never a value.
 *
 * Everything reads the environment through `envp` (NULL = the process
 * environment), so tests and threads never need setenv. Secrets live only in
 * struct pt_aws_credentials; nothing here prints them: use
 * pt_aws_credentials_describe for logs, and pt_aws_credentials_clear to wipe.
 * Not supported yet (refused with a message naming the profile, the setting and
 * the file, never skipped for other keys): assume role, web identity, SSO,
 * credential_process, container credentials; IMDS is not queried (the
 * no-credentials message says so).
 */
#ifndef PT_AWS_CREDENTIALS_H
#define PT_AWS_CREDENTIALS_H

#include <stddef.h>

#include "base/error.h"

#define PT_AWS_KEY_ID_MAX 129   /* access key ids are 16..128 characters */
#define PT_AWS_SECRET_MAX 129
#define PT_AWS_TOKEN_MAX 8192   /* STS tokens run to a few KB */
#define PT_AWS_PROFILE_MAX 129
#define PT_AWS_REGION_MAX 33
#define PT_AWS_SOURCE_MAX 512
#define PT_AWS_CONFIG_FILE_MAX (1024 * 1024) /* larger config files are refused */

struct pt_aws_credentials {
    char access_key_id[PT_AWS_KEY_ID_MAX];
    char secret_access_key[PT_AWS_SECRET_MAX];
    char session_token[PT_AWS_TOKEN_MAX]; /* "" when the keys are long-term */
    char source[PT_AWS_SOURCE_MAX];       /* "environment", "profile 'x' in /path" */
};

struct pt_aws_config_options {
    const char *profile;  /* explicit profile (--profile); NULL = AWS_PROFILE or "default" */
    char *const *envp;    /* environment to read ("NAME=value" strings); NULL = the process's */
};

/* Fills out from the first provider that has credentials; PT_ENOTFOUND names where it looked. */
int pt_aws_credentials_resolve(const struct pt_aws_config_options *opt,
                               struct pt_aws_credentials *out, struct pt_error *err);

/* Credentials given directly (the session token may be NULL); checks lengths and characters. */
int pt_aws_credentials_set(struct pt_aws_credentials *out, const char *access_key_id,
                           const char *secret_access_key, const char *session_token,
                           const char *source, struct pt_error *err);

/*
 * A one-line description safe for logs: "access key ****************MPLE, secret key set,
 * session token set (812 chars), from environment". The secret and token never appear.
 */
void pt_aws_credentials_describe(const struct pt_aws_credentials *c, char *out, size_t size);

/* Wipes the secrets (explicit_bzero, so the compiler cannot drop it). */
void pt_aws_credentials_clear(struct pt_aws_credentials *c);

/*
 * Region in the order above. flag_region and arn_region may be NULL or "".
 * out gets the region (size >= PT_AWS_REGION_MAX), source (may be NULL, size
 * PT_AWS_SOURCE_MAX) says where it came from. PT_ENOTFOUND lists what to set.
 */
int pt_aws_region_resolve(const struct pt_aws_config_options *opt, const char *flag_region,
                          const char *arn_region, char *out, size_t size, char *source,
                          size_t source_size, struct pt_error *err);

/* True if s looks like a region name ("us-east-1", "us-gov-west-1", "cn-north-1"). */
int pt_aws_region_valid(const char *s);

/* The profile name in effect: explicit, AWS_PROFILE, "default". */
const char *pt_aws_profile_name(const struct pt_aws_config_options *opt);

/*
 * Looks up `key` of `profile` in an INI file the way botocore reads it
 * ("[name]" sections when is_config is 0, "[default]"/"[profile name]" when 1;
 * keys case-insensitive, `key` given in lowercase; '#'/';' comment lines; a line
 * indented deeper than the key above it continues that key's value). 0 and the
 * value, PT_ENOTFOUND when the file, the profile or the key is absent
 * (*profile_found tells which, may be NULL), PT_EUSAGE for a file the AWS CLI
 * refuses or a nested key.
 */
int pt_aws_ini_lookup(const char *path, int is_config, const char *profile, const char *key,
                      char *out, size_t size, int *profile_found, struct pt_error *err);

#endif
