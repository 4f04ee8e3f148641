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
    /* The AWS CLI v2 takes AWS_PROFILE over botocore's older AWS_DEFAULT_PROFILE. */
    const char *p = env_nonempty(opt, "AWS_PROFILE");
    if (!p)
        p = env_nonempty(opt, "AWS_DEFAULT_PROFILE");
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
/* INI files, read as botocore's RawConfigParser (strict) reads them. */

#define INI_KEYS_MAX 16

struct ini_want {
    const char *keys[INI_KEYS_MAX]; /* lowercase names, NULL-terminated list */
    char *values[INI_KEYS_MAX];     /* NULL: only whether the key is there */
    size_t sizes[INI_KEYS_MAX];
    bool present[INI_KEYS_MAX];     /* in the profile, maybe empty */
    bool found[INI_KEYS_MAX];       /* in the profile with a non-empty flat value */
    bool nested[INI_KEYS_MAX];      /* "key =" followed by indented "k = v" lines */
    bool profile_found;
};

/* A section header or a key of the file, for configparser's duplicate checks. */
struct ini_item {
    const char *section;
    const char *key; /* NULL for the section header itself */
    size_t line;
};

static bool ini_space(char c)
{
    return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

static char *trim(char *s)
{
    while (ini_space(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && ini_space(s[n - 1]))
        s[--n] = '\0';
    return s;
}

/*
 * shlex.split(sec) as botocore applies it to a config section name: true when it is two words,
 * "profile" and a name (quotes allowed: [profile "my profile"]); the name goes to out.
 */
static bool config_profile_section(const char *sec, char *out, size_t size)
{
    char words[2][PT_AWS_PROFILE_MAX];
    size_t nwords = 0, len = 0;
    bool in_word = false;
    char quote = 0;
    for (const char *p = sec;; p++) {
        char c = *p;
        if (!quote && (c == '\0' || c == ' ' || c == '\t')) {
            if (in_word) {
                words[nwords - 1][len] = '\0';
                in_word = false;
            }
            if (c == '\0')
                break;
            continue;
        }
        if (c == '\0')
            return false; /* unclosed quote: shlex's ValueError, the section is skipped */
        if (!in_word) {
            if (nwords == 2)
                return false;
            nwords++;
            len = 0;
            in_word = true;
        }
        if (!quote && (c == '"' || c == '\'')) {
            quote = c;
            continue;
        }
        if (quote && c == quote) {
            quote = 0;
            continue;
        }
        if (c == '\\' && quote != '\'') {
            if (!p[1])
                return false; /* shlex: "No escaped character" */
            if (quote != '"' || p[1] == '"' || p[1] == '\\')
                c = *++p;
        }
        if (len + 1 >= sizeof(words[0]))
            return false;
        words[nwords - 1][len++] = c;
    }
    if (nwords != 2 || strcmp(words[0], "profile") != 0)
        return false;
    pt_strlcpy(out, words[1], size);
    return true;
}

/* Does section header text (between the brackets, as written) name `profile`? */
static bool section_matches(const char *sec, int is_config, const char *profile)
{
    char name[PT_AWS_PROFILE_MAX];
    if (!is_config || strcmp(sec, "default") == 0)
        return strcmp(sec, profile) == 0;
    /* botocore: a section starting with "profile" that shlex splits into two words. */
    return strncmp(sec, "profile", 7) == 0 && config_profile_section(sec, name, sizeof(name)) &&
           strcmp(name, profile) == 0;
}

static int ini_item_cmp(const void *a, const void *b)
{
    const struct ini_item *x = a, *y = b;
    int c = strcmp(x->section, y->section);
    if (c)
        return c;
    if (!x->key || !y->key)
        c = (x->key != NULL) - (y->key != NULL);
    else
        c = strcmp(x->key, y->key);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* configparser (strict) refuses a section or a key of a section given twice in one file. */
static int ini_check_duplicates(const char *path, struct ini_item *items, size_t n,
                                struct pt_error *err)
{
    const struct ini_item *dup = NULL, *first = NULL;
    if (n < 2)
        return 0;
    qsort(items, n, sizeof(*items), ini_item_cmp);
    for (size_t i = 1; i < n; i++) {
        const struct ini_item *a = &items[i - 1], *b = &items[i];
        bool same = strcmp(a->section, b->section) == 0 &&
                    ((!a->key && !b->key) || (a->key && b->key && strcmp(a->key, b->key) == 0));
        if (same && (!dup || b->line < dup->line)) {
            dup = b;
            first = a;
        }
    }
    if (!dup)
        return 0;
    /* Only names: a key's value may be a secret. */
    if (!dup->key)
        return pt_error_set(err, PT_EUSAGE, "%s: line %zu: section [%.80s] is already at line "
                            "%zu (the AWS CLI refuses such a file: 'Unable to parse config file')",
                            path, dup->line, dup->section, first->line);
    return pt_error_set(err, PT_EUSAGE, "%s: line %zu: key '%.80s' is already in section [%.80s] "
                        "at line %zu (the AWS CLI refuses such a file: 'Unable to parse config "
                        "file')", path, dup->line, dup->key, dup->section, first->line);
}

/* Appends "\n" + piece to a wanted value (a continuation line). */
static int ini_append(struct ini_want *w, int k, const char *piece, const char *path,
                      const char *profile, struct pt_error *err)
{
    if (!w->values[k])
        return 0;
    size_t n = strlen(w->values[k]);
    if (n + 1 + strlen(piece) >= w->sizes[k])
        return pt_error_set(err, PT_ELIMIT, "%s: value of '%s' in profile '%s' is longer than "
                            "%zu characters", path, w->keys[k], profile, w->sizes[k] - 1);
    w->values[k][n] = '\n';
    strcpy(w->values[k] + n + 1, piece);
    return 0;
}

/* Forgets what an earlier section of the same profile gave ([default], then [profile default]:
 * botocore keeps the later section whole). */
static void ini_want_reset(struct ini_want *w)
{
    for (int i = 0; i < INI_KEYS_MAX && w->keys[i]; i++) {
        w->present[i] = w->found[i] = w->nested[i] = false;
        if (w->values[i])
            w->values[i][0] = '\0';
    }
}

/*
 * Reads `path` and fills w with the wanted keys of `profile`. The whole file is checked as
 * configparser checks it (the AWS CLI refuses the file otherwise): a key line before any
 * section, a line that is neither "[section]", "key = value" / "key: value" nor a '#'/';'
 * comment, a section or a key of a section given twice. A line indented deeper than the key
 * above it continues that key's value (one nested level: "s3 =\n  addressing_style = path").
 * A missing file is not an error (w stays empty); an unreadable or oversized one is.
 */
static int ini_read(const char *path, int is_config, const char *profile, struct ini_want *w,
                    struct pt_error *err)
{
    struct pt_buf b;
    struct ini_item *items = NULL;
    size_t n_items = 0, cap_items = 0;
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
    const char *section = NULL; /* the current section's name (NUL-terminated in b) */
    bool in_section = false, have_key = false, key_nested = false;
    int cur = -1;               /* index in w of the current key when it is wanted */
    size_t indent_level = 0, lineno = 0;
    char *p = b.data, *end = b.data + b.len;
    while (p < end) {
        /* Python's universal newlines: "\n", "\r\n" and "\r" all end a line. */
        char *line = p, *e = p;
        while (e < end && *e != '\n' && *e != '\r')
            e++;
        p = e + (e < end && *e == '\r' && e + 1 < end && e[1] == '\n' ? 2 : 1);
        *e = '\0';
        lineno++;
        char *s = trim(line);
        if (*s == '#' || *s == ';')
            continue;
        if (!*s) {
            if (cur >= 0 && have_key && (rc = ini_append(w, cur, "", path, profile, err)))
                goto out;
            continue;
        }
        size_t indent = (size_t)(s - line);
        if (section && have_key && indent > indent_level) {
            if (key_nested && !strchr(s, '=')) {
                rc = pt_error_set(err, PT_EUSAGE, "%s: line %zu: an indented line under a "
                                  "nested key must be 'name = value' (the AWS CLI refuses the "
                                  "file)", path, lineno);
                goto out;
            }
            if (cur >= 0 && (rc = ini_append(w, cur, s, path, profile, err)))
                goto out;
            continue;
        }
        indent_level = indent;
        have_key = false;
        cur = -1;
        char *close = strrchr(s, ']');
        bool header = s[0] == '[' && close && close - s >= 2;
        if (n_items == cap_items) {
            size_t nc = cap_items ? cap_items * 2 : 64;
            struct ini_item *ni = realloc(items, nc * sizeof(*ni));
            if (!ni) {
                rc = pt_error_set(err, PT_ENOMEM, "out of memory reading %s", path);
                goto out;
            }
            items = ni;
            cap_items = nc;
        }
        if (header) {
            *close = '\0';
            section = s + 1;
            in_section = section_matches(section, is_config, profile);
            if (in_section) {
                ini_want_reset(w);
                w->profile_found = true;
            }
            items[n_items++] = (struct ini_item){section, NULL, lineno};
            continue;
        }
        if (!section) {
            rc = pt_error_set(err, PT_EUSAGE, "%s: line %zu: a key before any [section] (the "
                              "AWS CLI refuses the file)", path, lineno);
            goto out;
        }
        /* RawConfigParser: the key ends at the first '=' or ':'; keys are case-insensitive. */
        char *sep = s + strcspn(s, "=:");
        if (!*sep || sep == s) {
            rc = pt_error_set(err, PT_EUSAGE, "%s: line %zu is neither [section], 'key = value' "
                              "nor a '#' or ';' comment (the AWS CLI refuses the file)", path,
                              lineno);
            goto out;
        }
        *sep = '\0';
        char *key = trim(s), *val = trim(sep + 1);
        for (char *k = key; *k; k++)
            if (*k >= 'A' && *k <= 'Z')
                *k = (char)(*k + 32);
        items[n_items++] = (struct ini_item){section, key, lineno};
        have_key = true;
        key_nested = *val == '\0';
        if (!in_section)
            continue;
        for (int i = 0; i < INI_KEYS_MAX && w->keys[i]; i++) {
            if (strcmp(key, w->keys[i]) != 0)
                continue;
            cur = i;
            w->present[i] = true;
            if (w->values[i]) {
                if (strlen(val) >= w->sizes[i]) {
                    rc = pt_error_set(err, PT_ELIMIT, "%s: value of '%s' in profile '%s' is "
                                      "longer than %zu characters", path, key, profile,
                                      w->sizes[i] - 1);
                    goto out;
                }
                pt_strlcpy(w->values[i], val, w->sizes[i]);
            }
        }
    }
    if ((rc = ini_check_duplicates(path, items, n_items, err)))
        goto out;
    /* configparser joins a value's lines with '\n' and strips the end; one that starts with a
     * line break is a nested section to botocore, not a value. */
    for (int i = 0; i < INI_KEYS_MAX && w->keys[i]; i++) {
        if (!w->present[i] || !w->values[i])
            continue;
        size_t n = strlen(w->values[i]);
        while (n > 0 && w->values[i][n - 1] == '\n')
            w->values[i][--n] = '\0';
        w->nested[i] = w->values[i][0] == '\n';
        w->found[i] = n > 0 && !w->nested[i];
    }
out:
    /* The buffer held secrets. */
    if (b.data)
        explicit_bzero(b.data, b.len);
    pt_buf_free(&b);
    free(items);
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
    if (w.nested[0])
        return pt_error_set(err, PT_EUSAGE, "%s: '%s' in profile '%s' is a nested section "
                            "(indented lines under it), not a value", path, key, profile);
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

enum {
    K_ID, K_SECRET, K_SECURITY_TOKEN, K_TOKEN, K_REGION, K_ROLE, K_WEB_IDENTITY, K_PROCESS,
    K_SSO_ACCOUNT, K_SSO_ROLE, K_SSO_START_URL, K_SSO_SESSION, K_COUNT
};

static const char *const profile_keys[K_COUNT] = {
    "aws_access_key_id", "aws_secret_access_key", "aws_security_token", "aws_session_token",
    "region", "role_arn", "web_identity_token_file", "credential_process",
    "sso_account_id", "sso_role_name", "sso_start_url", "sso_session"};

/* One profile as one file has it. */
struct profile_file {
    char path[PT_AWS_SOURCE_MAX / 2];
    char id[PT_AWS_KEY_ID_MAX], secret[PT_AWS_SECRET_MAX], token[PT_AWS_TOKEN_MAX],
        stoken[PT_AWS_TOKEN_MAX], region[PT_AWS_REGION_MAX + 32];
    struct ini_want w;
};

static int profile_file_read(struct profile_file *f, int is_config, const char *profile,
                             struct pt_error *err)
{
    memset(&f->w, 0, sizeof(f->w));
    for (int i = 0; i < K_COUNT; i++)
        f->w.keys[i] = profile_keys[i];
    char *values[] = {f->id, f->secret, f->stoken, f->token, f->region};
    size_t sizes[] = {sizeof(f->id), sizeof(f->secret), sizeof(f->stoken), sizeof(f->token),
                      sizeof(f->region)};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        values[i][0] = '\0';
        f->w.values[i] = values[i];
        f->w.sizes[i] = sizes[i];
    }
    return ini_read(f->path, is_config, profile, &f->w, err);
}

static void profile_file_wipe(struct profile_file *f)
{
    explicit_bzero(f->secret, sizeof(f->secret));
    explicit_bzero(f->token, sizeof(f->token));
    explicit_bzero(f->stoken, sizeof(f->stoken));
}

/* Keys in one file's profile: aws_access_key_id decides, as in botocore's providers. */
static int profile_file_credentials(const struct profile_file *f, const char *profile,
                                    struct pt_aws_credentials *out, struct pt_error *err)
{
    char source[PT_AWS_SOURCE_MAX];
    snprintf(source, sizeof(source), "profile '%s' in %s", profile, f->path);
    for (int k = K_ID; k <= K_TOKEN; k++)
        if (f->w.nested[k])
            return pt_error_set(err, PT_EUSAGE, "%s: %s is a nested section (indented lines "
                                "under it), not a value", source, profile_keys[k]);
    /* aws_security_token (the boto2-era name) first, as botocore takes it. */
    const char *tok = f->w.found[K_SECURITY_TOKEN] ? f->stoken
                      : f->w.found[K_TOKEN]        ? f->token
                                                   : NULL;
    return pt_aws_credentials_set(out, f->id, f->secret, tok, source, err);
}

/*
 * A way of getting credentials that powertune does not have, found where botocore would take
 * it: refused naming the profile, the setting and where it is, never skipped for other keys.
 */
static int unsupported(const char *profile, const struct profile_file *cred,
                       const struct profile_file *conf, int k, const char *what,
                       struct pt_error *err)
{
    const char *where = cred->w.present[k] ? cred->path : conf->path;
    return pt_error_set(err, PT_EUSAGE, "profile '%s' in %s sets %s (%s), which powertune does "
                        "not support yet: export keys instead (e.g. `aws configure "
                        "export-credentials --profile %s --format env`)", profile, where,
                        profile_keys[k], what, profile);
}

/* A profile named by --profile, AWS_PROFILE or AWS_DEFAULT_PROFILE that neither file has:
 * PT_ENOTFOUND saying what named it. 0 when "default" is in effect only by default. */
static int profile_missing(const struct pt_aws_config_options *opt, const char *profile,
                           const char *cred_path, const char *conf_path, struct pt_error *err)
{
    const char *named = (opt && opt->profile && *opt->profile)     ? "--profile"
                        : env_nonempty(opt, "AWS_PROFILE")         ? "AWS_PROFILE"
                        : env_nonempty(opt, "AWS_DEFAULT_PROFILE") ? "AWS_DEFAULT_PROFILE"
                                                                   : NULL;
    if (!named)
        return 0;
    return pt_error_set(err, PT_ENOTFOUND, "AWS profile '%s' not found in %s or %s (named by "
                        "%s)", profile, cred_path, conf_path, named);
}

int pt_aws_credentials_resolve(const struct pt_aws_config_options *opt,
                               struct pt_aws_credentials *out, struct pt_error *err)
{
    const char *profile = pt_aws_profile_name(opt);
    bool explicit_profile = opt && opt->profile && *opt->profile;
    int rc;
    pt_aws_credentials_clear(out);
    if (strlen(profile) >= PT_AWS_PROFILE_MAX)
        return pt_error_set(err, PT_EUSAGE, "profile name longer than %d characters",
                            PT_AWS_PROFILE_MAX - 1);
    struct profile_file *cred = calloc(2, sizeof(*cred)), *conf = cred + 1;
    if (!cred)
        return pt_error_set(err, PT_ENOMEM, "out of memory reading the AWS profile");
    /* Both files are read first: the AWS CLI refuses a broken one even when the environment
     * has keys. Without HOME (and without the variables) there are none to read. */
    struct {
        struct profile_file *f;
        const char *var, *name;
    } files[] = {{cred, "AWS_SHARED_CREDENTIALS_FILE", "credentials"},
                 {conf, "AWS_CONFIG_FILE", "config"}};
    for (int i = 0; i < 2; i++) {
        rc = config_path(opt, files[i].var, files[i].name, files[i].f->path,
                         sizeof(files[i].f->path), err);
        if (rc == PT_ENOTFOUND) {
            snprintf(files[i].f->path, sizeof(files[i].f->path), "~/.aws/%s (HOME unset)",
                     files[i].name);
            rc = 0;
            continue;
        }
        if (rc || (rc = profile_file_read(files[i].f, i, profile, err)))
            goto out;
    }
    /* A profile named by --profile, AWS_PROFILE or AWS_DEFAULT_PROFILE must exist, even when
     * the environment has keys: the AWS CLI refuses to run otherwise. */
    if (!cred->w.profile_found && !conf->w.profile_found &&
        (rc = profile_missing(opt, profile, cred->path, conf->path, err)))
        goto out;
    /* The environment's keys, unless a profile was asked for explicitly (botocore's rule). */
    if (!explicit_profile) {
        const char *id = env_nonempty(opt, "AWS_ACCESS_KEY_ID");
        const char *secret = env_nonempty(opt, "AWS_SECRET_ACCESS_KEY");
        /* botocore looks at AWS_SECURITY_TOKEN before AWS_SESSION_TOKEN. */
        const char *token = env_nonempty(opt, "AWS_SECURITY_TOKEN");
        if (!token)
            token = env_nonempty(opt, "AWS_SESSION_TOKEN");
        if (id || secret) {
            if (!id || !secret)
                rc = pt_error_set(err, PT_EUSAGE, "partial credentials in the environment: "
                                  "%s is set but %s is not",
                                  id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                                  id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
            else
                rc = pt_aws_credentials_set(out, id, secret, token, "environment", err);
            goto out;
        }
    }
    /* botocore's chain over the profile as both files give it (the credentials file's keys
     * over the config file's): assume role, web identity, SSO, the credentials file's keys,
     * credential_process, the config file's keys, then the container and EC2 providers. */
    bool has[K_COUNT];
    for (int k = 0; k < K_COUNT; k++)
        has[k] = cred->w.present[k] || conf->w.present[k];
    const char *wit = explicit_profile ? NULL : env_nonempty(opt, "AWS_WEB_IDENTITY_TOKEN_FILE");
    if (has[K_ROLE] && !has[K_WEB_IDENTITY]) {
        rc = unsupported(profile, cred, conf, K_ROLE, "assume role", err);
    } else if (wit) {
        rc = pt_error_set(err, PT_EUSAGE, "AWS_WEB_IDENTITY_TOKEN_FILE is set (assume role with "
                          "web identity), which powertune does not support yet: export keys "
                          "instead (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
                          "AWS_SESSION_TOKEN)");
    } else if (has[K_WEB_IDENTITY]) {
        rc = unsupported(profile, cred, conf, K_WEB_IDENTITY, "assume role with web identity",
                         err);
    } else if (has[K_SSO_ACCOUNT] || has[K_SSO_ROLE]) {
        rc = unsupported(profile, cred, conf, has[K_SSO_ACCOUNT] ? K_SSO_ACCOUNT : K_SSO_ROLE,
                         "IAM Identity Center / SSO", err);
    } else if (cred->w.present[K_ID]) {
        rc = profile_file_credentials(cred, profile, out, err);
    } else if (has[K_PROCESS]) {
        rc = unsupported(profile, cred, conf, K_PROCESS, "an external credential process", err);
    } else if (conf->w.present[K_ID]) {
        rc = profile_file_credentials(conf, profile, out, err);
    } else if (env_nonempty(opt, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") ||
               env_nonempty(opt, "AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
        rc = pt_error_set(err, PT_EUSAGE, "no keys in the environment or in profile '%s' of %s "
                          "or %s, and AWS_CONTAINER_CREDENTIALS_%s_URI is set: container "
                          "credentials (ECS, EKS Pod Identity) are not supported yet; export "
                          "keys instead", profile, cred->path, conf->path,
                          env_nonempty(opt, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
                              ? "RELATIVE" : "FULL");
    } else {
        const struct profile_file *half = cred->w.present[K_SECRET]   ? cred
                                          : conf->w.present[K_SECRET] ? conf
                                                                      : NULL;
        char why[PT_AWS_SOURCE_MAX];
        if (half)
            snprintf(why, sizeof(why), " (it has aws_secret_access_key without "
                     "aws_access_key_id in %s)", half->path);
        else
            why[0] = '\0';
        rc = pt_error_set(err, PT_ENOTFOUND, "no AWS credentials found: looked for "
                          "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment, then "
                          "aws_access_key_id and aws_secret_access_key in profile '%s'%s of %s "
                          "and %s; container credentials and the EC2 instance metadata service "
                          "are not supported", profile, why, cred->path, conf->path);
    }
out:
    profile_file_wipe(cred);
    profile_file_wipe(conf);
    free(cred);
    return rc;
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
    char cred_path[PT_AWS_SOURCE_MAX / 2];
    int found = 0, any_found = 0;
    /* The profile as botocore merges it: the credentials file's keys over the config file's. */
    for (int i = 0; i < 2; i++) {
        char *path = i ? conf_path : cred_path;
        rc = config_path(opt, i ? "AWS_CONFIG_FILE" : "AWS_SHARED_CREDENTIALS_FILE",
                         i ? "config" : "credentials", path, sizeof(conf_path), err);
        if (rc == PT_ENOTFOUND) { /* no HOME: no file to read, as for the credentials */
            snprintf(path, sizeof(conf_path), "~/.aws/%s (HOME unset)",
                     i ? "config" : "credentials");
            continue;
        }
        if (rc)
            return rc;
        struct pt_error e2;
        rc = pt_aws_ini_lookup(path, i, profile, "region", region, sizeof(region), &found, &e2);
        any_found |= found;
        if (rc == 0) {
            snprintf(from, sizeof(from), "profile '%s' in %s", profile, path);
            return set_region(region, from, out, size, source, source_size, err);
        }
        if (rc != PT_ENOTFOUND)
            return pt_error_set(err, rc, "%s", e2.msg);
    }
    /* A mistyped --profile is named as such, not as a missing region. */
    if (!any_found && (rc = profile_missing(opt, profile, cred_path, conf_path, err)))
        return rc;
    return pt_error_set(err, PT_ENOTFOUND, "no AWS region: pass --region, give a function ARN, "
                        "set AWS_REGION or AWS_DEFAULT_REGION, or set region in profile '%s' of "
                        "%s", profile, conf_path);
}
