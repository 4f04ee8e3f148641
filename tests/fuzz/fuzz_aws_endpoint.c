/*
 * fuzz_aws_endpoint - pt_aws_endpoint_parse (src/aws/client.c) on arbitrary strings.
 *
 * The URL comes from --endpoint-url (and POWERTUNE_S3_ENDPOINT_URL), is split by hand into the
 * base URL requests are appended to and the signed Host header, into fixed buffers. The input is
 * a C string of exactly its length + 1 bytes; the first byte picks buffer sizes, from the real
 * ones (client.c, s3.c) down to a few bytes, so every truncation path is taken. An accepted URL
 * must give a non-empty host that is the base's authority, and a base without a trailing '/'.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/client.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t sizes[] = {PT_AWS_URL_MAX, 300, 64, 16, 8, 2, 1};
    size_t base_size, host_size;
    char *url = fuzz_sized_cstr(data, size, sizes, sizeof(sizes) / sizeof(sizes[0]), &base_size,
                                &host_size);
    if (!url)
        return 0;
    char *base = malloc(base_size);
    char *host = malloc(host_size);
    if (!base || !host)
        goto out;
    struct pt_error err;
    if (pt_aws_endpoint_parse(url, base, base_size, host, host_size, &err) == 0) {
        size_t hl = strlen(host), bl = strlen(base);
        const char *auth = strstr(base, "://");
        if (hl == 0 || hl >= host_size || bl >= base_size || !auth ||
            strncmp(auth + 3, host, hl) != 0 || (auth[3 + hl] != '\0' && auth[3 + hl] != '/') ||
            base[bl - 1] == '/')
            abort();
        if (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0)
            abort();
    }
out:
    free(url);
    free(base);
    free(host);
    return 0;
}
