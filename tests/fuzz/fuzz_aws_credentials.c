/*
 * fuzz_aws_credentials - what src/aws/credentials.c reads from outside: the shared credentials
 * and config INI files (pt_aws_ini_lookup, pt_aws_credentials_resolve, pt_aws_region_resolve),
 * the profile name (--profile, AWS_PROFILE) and the environment's keys and region.
 *
 * Input: NUL-separated parts: the credentials file, the config file, the explicit profile, the
 * value of AWS_PROFILE, then environment entries ("AWS_REGION=...", "AWS_ACCESS_KEY_ID=..."); a
 * missing part is absent. The files are written into a temporary directory made once per process
 * (removed at exit), and the environment the code reads (always through options.envp, never the
 * process's) points AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE and HOME there: the real ~/.aws
 * is never read.
 * Resolved credentials must pass the checks pt_aws_credentials_set makes, and a resolved region
 * must be a region name.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aws/credentials.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char cred_path[PATH_MAX + 16], conf_path[PATH_MAX + 16];
static char cred_env[PATH_MAX + 48], conf_env[PATH_MAX + 32], home_env[PATH_MAX + 8];

static void remove_files(const char *dir)
{
    unlink(cred_path);
    unlink(conf_path);
    rmdir(dir);
}

static int setup(void)
{
    if (cred_path[0])
        return 0;
    /* tmpfs when there is one: two files are written per input. */
    const char *dir = fuzz_tmpdir("fuzz_aws_credentials.XXXXXX", remove_files);
    if (!dir)
        return -1;
    snprintf(cred_path, sizeof(cred_path), "%s/credentials", dir);
    snprintf(conf_path, sizeof(conf_path), "%s/config", dir);
    snprintf(cred_env, sizeof(cred_env), "AWS_SHARED_CREDENTIALS_FILE=%s", cred_path);
    snprintf(conf_env, sizeof(conf_env), "AWS_CONFIG_FILE=%s", conf_path);
    snprintf(home_env, sizeof(home_env), "HOME=%s", dir);
    return 0;
}

static int alnum(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (setup() != 0)
        return 0;
    /* Parts: cut at each NUL; each a malloc'd C string of exactly its length + 1. */
    enum { MAX_PARTS = 10 };
    char *part[MAX_PARTS] = {0};
    size_t part_len[MAX_PARTS] = {0};
    size_t n = 0;
    const uint8_t *p = data, *end = data + size;
    while (n < MAX_PARTS && p <= end) {
        const uint8_t *z = memchr(p, '\0', (size_t)(end - p));
        size_t len = z ? (size_t)(z - p) : (size_t)(end - p);
        if (!(part[n] = fuzz_cstr(p, len)))
            goto out;
        part_len[n++] = len;
        if (!z)
            break;
        p = z + 1;
    }
    if (fuzz_write_file(cred_path, part[0], part_len[0]) != 0)
        goto out;
    if (n > 1) {
        if (fuzz_write_file(conf_path, part[1], part_len[1]) != 0)
            goto out;
    } else {
        unlink(conf_path); /* a missing file is a case of its own */
    }
    char *profile_env = NULL;
    char *envp[MAX_PARTS + 4];
    size_t ne = 0;
    envp[ne++] = cred_env;
    envp[ne++] = conf_env;
    envp[ne++] = home_env;
    if (n > 3) {
        if (!(profile_env = malloc(part_len[3] + sizeof("AWS_PROFILE="))))
            goto out;
        memcpy(profile_env, "AWS_PROFILE=", sizeof("AWS_PROFILE=") - 1);
        memcpy(profile_env + sizeof("AWS_PROFILE=") - 1, part[3], part_len[3] + 1);
        envp[ne++] = profile_env;
    }
    /* Entries put after ours do not override them: env lookups take the first match. */
    for (size_t i = 4; i < n; i++)
        envp[ne++] = part[i];
    envp[ne] = NULL;
    struct pt_aws_config_options opt = {
        .profile = n > 2 && part_len[2] ? part[2] : NULL,
        .envp = envp,
    };
    struct pt_error err;

    struct pt_aws_credentials *c = malloc(sizeof(*c));
    if (!c)
        goto out_env;
    if (pt_aws_credentials_resolve(&opt, c, &err) == 0) {
        size_t idl = strnlen(c->access_key_id, sizeof(c->access_key_id));
        size_t sl = strnlen(c->secret_access_key, sizeof(c->secret_access_key));
        if (idl == 0 || idl >= sizeof(c->access_key_id) || !alnum(c->access_key_id) || sl == 0 ||
            sl >= sizeof(c->secret_access_key) ||
            strnlen(c->session_token, sizeof(c->session_token)) >= sizeof(c->session_token) ||
            strnlen(c->source, sizeof(c->source)) >= sizeof(c->source))
            abort();
        char line[256];
        pt_aws_credentials_describe(c, line, sizeof(line));
    }
    pt_aws_credentials_clear(c);
    free(c);

    char region[PT_AWS_REGION_MAX], source[PT_AWS_SOURCE_MAX];
    if (pt_aws_region_resolve(&opt, NULL, NULL, region, sizeof(region), source, sizeof(source),
                              &err) == 0 &&
        !pt_aws_region_valid(region))
        abort();

    /* The lookup with small outputs, both file dialects, the profile in effect. */
    char small[8];
    int found = 0;
    const char *prof = pt_aws_profile_name(&opt);
    if (pt_aws_ini_lookup(cred_path, 0, prof, "aws_access_key_id", small, sizeof(small), &found,
                          &err) == 0 &&
        (!found || strnlen(small, sizeof(small)) >= sizeof(small) || !small[0]))
        abort();
    if (pt_aws_ini_lookup(conf_path, 1, prof, "region", small, sizeof(small), &found, &err) == 0 &&
        (!found || strnlen(small, sizeof(small)) >= sizeof(small) || !small[0]))
        abort();
out_env:
    free(profile_env);
out:
    for (size_t i = 0; i < n; i++)
        free(part[i]);
    return 0;
}
