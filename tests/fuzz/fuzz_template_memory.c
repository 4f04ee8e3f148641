/*
 * fuzz_template_memory - pt_template_memory_site and pt_template_set_memory
 * (src/engine/template.c), the in-place MemorySize rewrite of autoOptimize, on arbitrary bytes.
 *
 * Each input is written to <dir>/template.yaml (a directory made once per process, with the
 * code directory src/); an input whose first line is "# id: X" names the function X. The
 * site is looked up, then MemorySize is set to a value taken from the input (128..10240, so
 * the number's length changes too), with the backup in <dir>/backup.yaml. What must hold:
 *   - a site lies inside the file (offset + length <= size);
 *   - a refused rewrite leaves the file byte-identical and writes no backup, and is never
 *     the "internal error" (PT_ESTATE) of a rewrite that does not give back what it wrote;
 *   - a rewrite changes only the site's bytes: the file is the old bytes before the site,
 *     then the new text (holding the number), then the old bytes after it; the backup is the
 *     old file; the site is now a literal with the new value; and when the old template
 *     loaded, the new one loads to the same configuration but for MemorySize.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "base/buf.h"
#include "base/fs.h"
#include "engine/template.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char tpl[PATH_MAX + 32];
static char backup[PATH_MAX + 32];

static void setup(void)
{
    const char *base = fuzz_tmpdir_or_abort("pt-fuzz-mem-XXXXXX", pt_rmtree);
    fuzz_handler_file(base, "src", "lambda_function.py");
    snprintf(tpl, sizeof(tpl), "%s/template.yaml", base);
    snprintf(backup, sizeof(backup), "%s/backup.yaml", base);
}

static void fail(const char *what, const struct pt_error *err)
{
    fprintf(stderr, "fuzz_template_memory: %s%s%s\n", what, err ? ": " : "", err ? err->msg : "");
    abort();
}

static void read_back(const char *path, struct pt_buf *b)
{
    pt_buf_init(b, 0);
    if (pt_file_read(path, 4 * PT_TEMPLATE_MAX_BYTES, b, NULL) != 0)
        fail("cannot read the file back", NULL);
}

static bool same_bytes(const struct pt_buf *b, const void *data, size_t n)
{
    return b->len == n && (n == 0 || memcmp(b->data, data, n) == 0);
}

/* Everything but MemorySize. */
static bool same_config(const struct pt_function_config *a, const struct pt_function_config *b)
{
    if (strcmp(a->name, b->name) || strcmp(a->code_dir, b->code_dir) ||
        strcmp(a->runtime, b->runtime) || strcmp(a->handler, b->handler) ||
        a->timeout_s != b->timeout_s || a->ephemeral_mb != b->ephemeral_mb ||
        strcmp(a->architecture, b->architecture) || a->env_count != b->env_count ||
        a->reserved_concurrency != b->reserved_concurrency ||
        strcmp(a->description, b->description) || a->log_format != b->log_format ||
        a->app_log_level != b->app_log_level || a->system_log_level != b->system_log_level)
        return false;
    for (size_t i = 0; i < a->env_count; i++)
        if (strcmp(a->env[i].key, b->env[i].key) || strcmp(a->env[i].value, b->env[i].value))
            return false;
    return true;
}

static int load(const char *id, struct pt_function_config *c)
{
    char spec[PATH_MAX + 400];
    snprintf(spec, sizeof(spec), "%s%s%s", tpl, id ? "#" : "", id ? id : "");
    pt_function_config_init(c);
    return pt_template_load(spec, c, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!tpl[0])
        setup();
    if (fuzz_write_file(tpl, data, size) != 0)
        abort();
    unlink(backup);
    char idbuf[301], *id = NULL;
    if (size > 6 && memcmp(data, "# id: ", 6) == 0) {
        const uint8_t *nl = memchr(data, '\n', size);
        size_t n = (nl ? (size_t)(nl - data) : size) - 6;
        if (n >= sizeof(idbuf))
            n = sizeof(idbuf) - 1;
        memcpy(idbuf, data + 6, n);
        idbuf[n] = '\0';
        if (!strchr(idbuf, '#')) /* "file#a#b" would name b, not "a#b" */
            id = idbuf;
    }
    /* A value of every length from 3 to 5 digits, decided by the input. */
    unsigned h = 2166136261u;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 16777619u;
    int mb = 128 + (int)(h % (10240 - 128 + 1));

    struct pt_template_memory_site site;
    struct pt_error err = {0}, err2 = {0};
    int src = pt_template_memory_site(tpl, id, &site, &err);
    if (src == 0 && site.offset + site.length > size)
        fail("the site is past the end of the file", NULL);
    struct pt_function_config before;
    int lrc = load(id, &before);

    int rc = pt_template_set_memory(tpl, id, mb, backup, NULL, 0, &err2);
    struct pt_buf now;
    read_back(tpl, &now);
    if (rc != 0) {
        if (rc == PT_ESTATE)
            fail("the rewrite does not give back what it wrote", &err2);
        if (!same_bytes(&now, data, size))
            fail("a refused rewrite changed the file", &err2);
        if (access(backup, F_OK) == 0)
            fail("a refused rewrite wrote a backup", &err2);
    } else {
        if (src != 0 || site.kind == PT_TEMPLATE_MEMORY_INTRINSIC)
            fail("a rewrite without a rewritable site", &err);
        size_t tail = size - site.offset - site.length;
        if (now.len < site.offset + tail || memcmp(now.data, data, site.offset) != 0 ||
            memcmp(now.data + now.len - tail, data + site.offset + site.length, tail) != 0)
            fail("bytes outside the site changed", NULL);
        char num[16];
        snprintf(num, sizeof(num), "%d", mb);
        size_t mid = now.len - site.offset - tail;
        if (!memmem(now.data + site.offset, mid, num, strlen(num)))
            fail("the new value is not at the site", NULL);
        struct pt_buf old;
        read_back(backup, &old);
        if (!same_bytes(&old, data, size))
            fail("the backup is not the old file", NULL);
        pt_buf_free(&old);
        struct pt_template_memory_site after;
        if (pt_template_memory_site(tpl, id, &after, &err) != 0)
            fail("the rewritten template has no site", &err);
        if (after.kind != PT_TEMPLATE_MEMORY_VALUE || after.memory_mb != mb)
            fail("the rewritten site is not the new literal", NULL);
        if (lrc == 0) {
            struct pt_function_config c;
            int rc2 = load(id, &c);
            if (rc2 != 0 || c.memory_mb != mb || !same_config(&before, &c))
                fail("the rewritten template loads differently", NULL);
            pt_function_config_free(&c);
        }
    }
    pt_function_config_free(&before);
    pt_buf_free(&now);
    return 0;
}
