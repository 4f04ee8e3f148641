/*
 * credentials.c - environment, shared credentials file and config file
 * providers, region resolution, masking.
 */
#include "aws/credentials.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/str.h"

extern char **environ;

/* ------------------------------------------------------------------ */
/* Environment. */

static const char *env_get(const struct pt_aws_config_options *opt, const char *name)
{
    char *const *envp = (opt && opt->envp) ? opt->envp : environ;
    size_t n = strlen(name);
    if (!envp)
        return NULL;
    for (char *const *e = envp; *e; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

/* An unset and an empty variable mean the same to the AWS tools. */
static const char *env_nonempty(const struct pt_aws_config_options *opt, const char *name)
{
    const char *v = env_get(opt, name);
    return (v && *v) ? v : NULL;
}

const char *pt_aws_profile_name(const struct pt_aws_config_options *opt)
{
    if (opt && opt->profile && *opt->profile)
        return opt->profile;
    const char *p = env_nonempty(opt, "AWS_PROFILE");
    return p ? p : "default";
}

/* AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/<name>; "~/" expanded. */
static int config_path(const struct pt_aws_config_options *opt, const char *var,
                       const char *name, char *out, size_t size, struct pt_error *err)
{
    const char *v = env_nonempty(opt, var);
    const char *home = env_nonempty(opt, "HOME");
    int n;
    if (v && strncmp(v, "~/", 2) == 0) {
        if (!home)
            return pt_error_set(err, PT_EUSAGE, "%s is '%s' but HOME is not set", var, v);
        n = snprintf(out, size, "%s/%s", home, v + 2);
    } else if (v) {
        n = snprintf(out, size, "%s", v);
    } else {
        if (!home)
            return pt_error_set(err, PT_ENOTFOUND, "HOME is not set, so ~/.aws/%s cannot be "
                                "found (set %s)", name, var);
        n = snprintf(out, size, "%s/.aws/%s", home, name);
    }
    if (n < 0 || (size_t)n >= size)
        return pt_error_set(err, PT_ELIMIT, "path of the AWS %s file is too long", name);
    return 0;
}

/* ------------------------------------------------------------------ */
/* INI files, read as botocore's RawConfigParser does. */

struct ini_want {
    const char *keys[8];
    char *values[8];
    size_t sizes[8];
    bool found[8];
    bool profile_found;
};

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Does section header text (between the brackets) name `profile`? */
static bool section_matches(const char *sec, int is_config, const char *profile)
{
    if (!is_config)
        return strcmp(sec, profile) == 0;
    if (strcmp(profile, "default") == 0 && strcmp(sec, "default") == 0)
        return true;
    if (strncmp(sec, "profile", 7) != 0 || (sec[7] != ' ' && sec[7] != '\t'))
        return false;
    const char *name = sec + 8;
    while (*name == ' ' || *name == '\t')
        name++;
    return strcmp(name, profile) == 0;
}

/*
 * Reads `path` and fills w with the wanted keys of `profile`. A missing file
 * is not an error (w stays empty); an unreadable or oversized one is.
 */
static int ini_read(const char *path, int is_config, const char *profile, struct ini_want *w,
                    struct pt_error *err)
{
    struct pt_buf b;
    pt_buf_init(&b, PT_AWS_CONFIG_FILE_MAX);
    int rc = pt_file_read(path, PT_AWS_CONFIG_FILE_MAX, &b, err);
    if (rc == PT_ENOTFOUND) {
        rc = 0;
        goto out;
    }
    if (rc)
        goto out;
    if (!b.data)
        goto out;
    /* A NUL would end the line scan there and hide the rest of the file (its profiles, later
     * keys): not a text file botocore would read this way, so it is refused. */
    const char *nul = memchr(b.data, '\0', b.len);
    if (nul) {
        size_t line = 1;
        for (const char *p = b.data; p < nul; p++)
            line += *p == '\n';
        rc = pt_error_set(err, PT_EUSAGE, "%s: line %zu holds a NUL byte (not a text file)", path,
                          line);
        goto out;
    }
    bool in_section = false;
    char *save = NULL;
    for (char *line = strtok_r(b.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        /* Indented lines continue a nested value ("s3 =\n  max_concurrent_requests = 5"):
         * none of the keys read here is nested, so they are skipped. */
        bool indented = line[0] == ' ' || line[0] == '\t';
        char *s = trim(line);
        if (!*s || *s == '#' || *s == ';')
            continue;
        if (*s == '[' && !indented) {
            char *end = strrchr(s, ']');
            if (!end) {
                rc = pt_error_set(err, PT_EUSAGE, "%s: section header '%.80s' has no ']'", path,
                                  s);
                goto out;
            }
            *end = '\0';
            in_section = section_matches(trim(s + 1), is_config, profile);
            if (in_section)
                w->profile_found = true;
            continue;
        }
        if (!in_section || indented)
            continue;
        /* RawConfigParser: "key = value" or "key: value", keys case-insensitive. */
        char *sep = s + strcspn(s, "=:");
        if (!*sep)
            continue;
        *sep = '\0';
        char *key = trim(s), *val = trim(sep + 1);
        for (char *k = key; *k; k++)
            if (*k >= 'A' && *k <= 'Z')
                *k = (char)(*k + 32);
        for (int i = 0; i < 8 && w->keys[i]; i++) {
            if (strcmp(key, w->keys[i]) != 0)
                continue;
            /* Later duplicates override earlier ones, as in configparser. */
            if (w->values[i]) {
                if (strlen(val) >= w->sizes[i]) {
                    rc = pt_error_set(err, PT_ELIMIT, "%s: value of '%s' in profile '%s' is "
                                      "longer than %zu characters", path, key, profile,
                                      w->sizes[i] - 1);
                    goto out;
                }
                pt_strlcpy(w->values[i], val, w->sizes[i]);
            }
            w->found[i] = *val != '\0';
        }
    }
out:
    /* The buffer held secrets. */
    if (b.data)
        explicit_bzero(b.data, b.len);
    pt_buf_free(&b);
    return rc;
}

int pt_aws_ini_lookup(const char *path, int is_config, const char *profile, const char *key,
                      char *out, size_t size, int *profile_found, struct pt_error *err)
{
    struct ini_want w = {.keys = {key}, .values = {out}, .sizes = {size}};
    if (size)
        out[0] = '\0';
    int rc = ini_read(path, is_config, profile, &w, err);
    if (profile_found)
        *profile_found = w.profile_found;
    if (rc)
        return rc;
    if (!w.found[0])
        return pt_error_set(err, PT_ENOTFOUND, "%s: %s '%s' not found in %s", path,
                            w.profile_found ? "key" : "profile",
                            w.profile_found ? key : profile, path);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Credentials. */

static bool printable_token(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s == 0x7f)
            return false;
    return true;
}

int pt_aws_credentials_set(struct pt_aws_credentials *out, const char *access_key_id,
                           const char *secret_access_key, const char *session_token,
                           const char *source, struct pt_error *err)
{
    int rc = 0;
    if (!access_key_id || !*access_key_id || !secret_access_key || !*secret_access_key) {
        rc = pt_error_set(err, PT_EUSAGE, "%s: %s is missing", source ? source : "credentials",
                          (!access_key_id || !*access_key_id) ? "the access key id"
                                                              : "the secret access key");
        goto fail;
    }
    if (strlen(access_key_id) >= sizeof(out->access_key_id) ||
        strlen(secret_access_key) >= sizeof(out->secret_access_key) ||
        (session_token && strlen(session_token) >= sizeof(out->session_token))) {
        rc = pt_error_set(err, PT_ELIMIT, "%s: access key id or secret longer than %d, or "
                          "session token longer than %d characters",
                          source ? source : "credentials", PT_AWS_KEY_ID_MAX - 1,
                          PT_AWS_TOKEN_MAX - 1);
        goto fail;
    }
    /* Access key ids are letters and digits; a '/' would break the Credential scope. */
    for (const char *c = access_key_id; *c; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9'))) {
            rc = pt_error_set(err, PT_EUSAGE, "%s: the access key id may only hold letters and "
                              "digits", source ? source : "credentials");
            goto fail;
        }
    if (!printable_token(secret_access_key) || (session_token && !printable_token(session_token))) {
        rc = pt_error_set(err, PT_EUSAGE, "%s: the secret access key or session token contains "
                          "spaces or control characters", source ? source : "credentials");
        goto fail;
    }
    pt_strlcpy(out->access_key_id, access_key_id, sizeof(out->access_key_id));
    pt_strlcpy(out->secret_access_key, secret_access_key, sizeof(out->secret_access_key));
    pt_strlcpy(out->session_token, session_token ? session_token : "",
               sizeof(out->session_token));
    pt_strlcpy(out->source, source ? source : "given", sizeof(out->source));
    return 0;
fail:
    pt_aws_credentials_clear(out);
    return rc;
}

enum { K_ID, K_SECRET, K_TOKEN, K_SECURITY_TOKEN, K_ROLE, K_PROCESS, K_SSO, K_SSO_SESSION };

/* Credentials from one profile of one file; PT_ENOTFOUND if it has none. */
static int from_file(const char *path, int is_config, const char *profile,
                     struct pt_aws_credentials *out, bool *profile_found, struct pt_error *err)
{
    char id[PT_AWS_KEY_ID_MAX], secret[PT_AWS_SECRET_MAX], token[PT_AWS_TOKEN_MAX],
        stoken[PT_AWS_TOKEN_MAX], source[PT_AWS_SOURCE_MAX];
    struct ini_want w = {
        .keys = {"aws_access_key_id", "aws_secret_access_key", "aws_session_token",
                 "aws_security_token", "role_arn", "credential_process", "sso_start_url",
                 "sso_session"},
        .values = {id, secret, token, stoken},
        .sizes = {sizeof(id), sizeof(secret), sizeof(token), sizeof(stoken)},
    };
    id[0] = secret[0] = token[0] = stoken[0] = '\0';
    int rc = ini_read(path, is_config, profile, &w, err);
    if (rc)
        goto out;
    *profile_found = *profile_found || w.profile_found;
    snprintf(source, sizeof(source), "profile '%s' in %s", profile, path);
    if (w.found[K_ID] || w.found[K_SECRET]) {
        /* aws_security_token is the boto2-era name of aws_session_token. */
        const char *tok = w.found[K_TOKEN] ? token : w.found[K_SECURITY_TOKEN] ? stoken : NULL;
        rc = pt_aws_credentials_set(out, id, secret, tok, source, err);
        goto out;
    }
    if (w.found[K_ROLE] || w.found[K_PROCESS] || w.found[K_SSO] || w.found[K_SSO_SESSION]) {
        rc = pt_error_set(err, PT_EUSAGE, "%s uses %s, which powertune does not support yet: "
                          "export keys (e.g. `aws configure export-credentials --profile %s "
                          "--format env`) instead", source,
                          w.found[K_ROLE] ? "role_arn (assume role)"
                          : w.found[K_PROCESS] ? "credential_process" : "AWS SSO", profile);
        goto out;
    }
    rc = PT_ENOTFOUND;
out:
    explicit_bzero(secret, sizeof(secret));
    explicit_bzero(token, sizeof(token));
    explicit_bzero(stoken, sizeof(stoken));
    return rc;
}

int pt_aws_credentials_resolve(const struct pt_aws_config_options *opt,
                               struct pt_aws_credentials *out, struct pt_error *err)
{
    char cred_path[PT_AWS_SOURCE_MAX / 2], conf_path[PT_AWS_SOURCE_MAX / 2];
    const char *profile = pt_aws_profile_name(opt);
    bool explicit_profile = opt && opt->profile && *opt->profile;
    bool profile_found = false;
    int rc;
    pt_aws_credentials_clear(out);
    if (strlen(profile) >= PT_AWS_PROFILE_MAX)
        return pt_error_set(err, PT_EUSAGE, "profile name longer than %d characters",
                            PT_AWS_PROFILE_MAX - 1);
    /* 1. Environment, unless a profile was asked for explicitly (botocore's rule). */
    if (!explicit_profile) {
        const char *id = env_nonempty(opt, "AWS_ACCESS_KEY_ID");
        const char *secret = env_nonempty(opt, "AWS_SECRET_ACCESS_KEY");
        const char *token = env_nonempty(opt, "AWS_SESSION_TOKEN");
        if (!token)
            token = env_nonempty(opt, "AWS_SECURITY_TOKEN");
        if (id || secret) {
            if (!id || !secret)
                return pt_error_set(err, PT_EUSAGE, "partial credentials in the environment: "
                                    "%s is set but %s is not",
                                    id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                                    id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
            return pt_aws_credentials_set(out, id, secret, token, "environment", err);
        }
    }
    /* 2. Shared credentials file, 3. config file. */
    if ((rc = config_path(opt, "AWS_SHARED_CREDENTIALS_FILE", "credentials", cred_path,
                          sizeof(cred_path), err)) ||
        (rc = config_path(opt, "AWS_CONFIG_FILE", "config", conf_path, sizeof(conf_path), err)))
        return rc;
    rc = from_file(cred_path, 0, profile, out, &profile_found, err);
    if (rc != PT_ENOTFOUND)
        return rc;
    rc = from_file(conf_path, 1, profile, out, &profile_found, err);
    if (rc != PT_ENOTFOUND)
        return rc;
    if (!profile_found && (explicit_profile || env_nonempty(opt, "AWS_PROFILE")))
        return pt_error_set(err, PT_ENOTFOUND, "AWS profile '%s' not found in %s or %s", profile,
                            cred_path, conf_path);
    return pt_error_set(err, PT_ENOTFOUND, "no AWS credentials found: set AWS_ACCESS_KEY_ID and "
                        "AWS_SECRET_ACCESS_KEY, or aws_access_key_id and aws_secret_access_key "
                        "in profile '%s' of %s or %s", profile, cred_path, conf_path);
}

void pt_aws_credentials_describe(const struct pt_aws_credentials *c, char *out, size_t size)
{
    /* As `aws configure list`: only the last 4 characters of the key id, never the secret. */
    char masked[PT_AWS_KEY_ID_MAX];
    size_t n = strlen(c->access_key_id);
    if (n == 0) {
        snprintf(out, size, "no credentials");
        return;
    }
    size_t shown = n > 8 ? 4 : 0;
    memset(masked, '*', n - shown);
    memcpy(masked + (n - shown), c->access_key_id + (n - shown), shown);
    masked[n] = '\0';
    char tok[64];
    if (c->session_token[0])
        snprintf(tok, sizeof(tok), "session token set (%zu chars)", strlen(c->session_token));
    else
        snprintf(tok, sizeof(tok), "no session token");
    snprintf(out, size, "access key %s, secret key %s, %s, from %s", masked,
             c->secret_access_key[0] ? "set" : "missing", tok,
             c->source[0] ? c->source : "unknown source");
}

void pt_aws_credentials_clear(struct pt_aws_credentials *c)
{
    explicit_bzero(c, sizeof(*c));
}

/* ------------------------------------------------------------------ */
/* Region. */

int pt_aws_region_valid(const char *s)
{
    /* <2+ letters>(-<letters>)+-<digits>: us-east-1, us-gov-west-1, eu-central-2, il-central-1 */
    size_t n = s ? strlen(s) : 0;
    if (n < 4 || n >= PT_AWS_REGION_MAX)
        return 0;
    size_t i = 0, parts = 0;
    while (i < n) {
        size_t start = i;
        while (i < n && s[i] >= 'a' && s[i] <= 'z')
            i++;
        if (i == n || s[i] != '-' || i == start)
            break;
        i++;
        parts++;
    }
    if (parts < 2 || i >= n)
        return 0;
    for (; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int set_region(const char *value, const char *from, char *out, size_t size, char *source,
                      size_t source_size, struct pt_error *err)
{
    if (!pt_aws_region_valid(value))
        return pt_error_set(err, PT_EUSAGE, "region '%.64s' from %s is not a region name like "
                            "us-east-1", value, from);
    pt_strlcpy(out, value, size);
    if (source)
        pt_strlcpy(source, from, source_size);
    return 0;
}

int pt_aws_region_resolve(const struct pt_aws_config_options *opt, const char *flag_region,
                          const char *arn_region, char *out, size_t size, char *source,
                          size_t source_size, struct pt_error *err)
{
    char conf_path[PT_AWS_SOURCE_MAX / 2], from[PT_AWS_SOURCE_MAX], region[PT_AWS_REGION_MAX];
    const char *v;
    int rc;
    if (size)
        out[0] = '\0';
    if (flag_region && *flag_region)
        return set_region(flag_region, "--region", out, size, source, source_size, err);
    if (arn_region && *arn_region)
        return set_region(arn_region, "the function ARN", out, size, source, source_size, err);
    if ((v = env_nonempty(opt, "AWS_REGION")))
        return set_region(v, "AWS_REGION", out, size, source, source_size, err);
    if ((v = env_nonempty(opt, "AWS_DEFAULT_REGION")))
        return set_region(v, "AWS_DEFAULT_REGION", out, size, source, source_size, err);
    const char *profile = pt_aws_profile_name(opt);
    if ((rc = config_path(opt, "AWS_CONFIG_FILE", "config", conf_path, sizeof(conf_path), err)))
        return rc;
    struct pt_error e2;
    rc = pt_aws_ini_lookup(conf_path, 1, profile, "region", region, sizeof(region), NULL, &e2);
    if (rc == 0) {
        snprintf(from, sizeof(from), "profile '%s' in %s", profile, conf_path);
        return set_region(region, from, out, size, source, source_size, err);
    }
    if (rc != PT_ENOTFOUND)
        return pt_error_set(err, rc, "%s", e2.msg);
    return pt_error_set(err, PT_ENOTFOUND, "no AWS region: pass --region, give a function ARN, "
                        "set AWS_REGION or AWS_DEFAULT_REGION, or set region in profile '%s' of "
                        "%s", profile, conf_path);
}
