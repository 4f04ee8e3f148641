/*
 * fuzz_template_load - pt_template_load (src/engine/template.c, libyaml) on arbitrary bytes.
 *
 * A SAM / CloudFormation template is a file the user points powertune at (and often one they
 * did not write): every byte pattern must end in a configuration or a PT_EUSAGE message,
 * within the size, depth and alias bounds, without reading past what was read. Each input is
 * written to <dir>/template.yaml in a directory made once per process, beside two code
 * directories a template may name (src/ with lambda_function.py, hello/ with app.py). An input
 * whose first line is "# id: X" (a YAML comment) is loaded as "template.yaml#X".
 * What must hold: the result is 0 or PT_EUSAGE with a message; a loaded configuration has a
 * name, a code directory that exists, a runtime that parses (or none), variables with names.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "base/fs.h"
#include "engine/template.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char tpl[PATH_MAX + 32];

static void setup(void)
{
    const char *base = fuzz_tmpdir_or_abort("pt-fuzz-tpl-XXXXXX", pt_rmtree);
    fuzz_handler_file(base, "src", "lambda_function.py");
    fuzz_handler_file(base, "hello", "app.py");
    snprintf(tpl, sizeof(tpl), "%s/template.yaml", base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!tpl[0])
        setup();
    if (fuzz_write_file(tpl, data, size) != 0)
        abort();
    char spec[PATH_MAX + 600];
    snprintf(spec, sizeof(spec), "%s", tpl);
    if (size > 6 && memcmp(data, "# id: ", 6) == 0) {
        const uint8_t *nl = memchr(data, '\n', size);
        size_t n = (nl ? (size_t)(nl - data) : size) - 6;
        if (n > 300)
            n = 300;
        size_t at = strlen(spec);
        spec[at++] = '#';
        memcpy(spec + at, data + 6, n);
        spec[at + n] = '\0';
    }
    (void)pt_template_is_template(spec);
    struct pt_function_config c;
    struct pt_error err = {0};
    pt_function_config_init(&c);
    int rc = pt_template_load(spec, &c, &err);
    if (rc != 0 && (rc != PT_EUSAGE || !err.msg[0])) {
        fprintf(stderr, "fuzz_template_load: %d (%s): %s\n", rc, pt_error_name(rc), err.msg);
        abort();
    }
    if (rc == 0) {
        enum pt_runtime_family family;
        if (!c.name[0] || c.code_dir[0] != '/' || !pt_path_is_dir(c.code_dir) ||
            (c.runtime[0] && pt_runtime_parse(c.runtime, &family, NULL) != 0))
            abort();
        for (size_t i = 0; i < c.env_count; i++)
            if (!c.env[i].key || !c.env[i].key[0] || !c.env[i].value)
                abort();
    }
    pt_function_config_free(&c);
    return 0;
}
