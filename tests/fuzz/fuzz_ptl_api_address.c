/*
 * fuzz_ptl_api_address - the C handler library's reading of AWS_LAMBDA_RUNTIME_API
 * (runtimes/c): ptl_api_address (host:port, [IPv6]:port) into fixed buffers, and ptl_http_init,
 * which turns it into a socket address without connecting (it connects lazily, so nothing here
 * touches the network).
 *
 * The value is a C string of exactly its length + 1 bytes; the first byte picks the buffer sizes
 * (the real ones or a few bytes) so every bound is taken. An accepted address must give a
 * non-empty host and a port of 1-65535, both terminated inside their buffers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "powertune_lambda.h"
#include "powertune_lambda_internal.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t sizes[] = {PTL_HTTP_HOST_MAX, 8, 64, 16, 6, 2, 1};
    size_t host_cap, port_cap;
    char *api = fuzz_sized_cstr(data, size, sizes, sizeof(sizes) / sizeof(sizes[0]), &host_cap,
                                &port_cap);
    if (!api)
        return 0;
    char *host = malloc(host_cap), *port = malloc(port_cap);
    struct ptl_http *c = malloc(sizeof(*c));
    if (!host || !port || !c)
        goto out;
    if (ptl_api_address(api, host, host_cap, port, port_cap) == 0) {
        size_t hl = strnlen(host, host_cap), pl = strnlen(port, port_cap);
        long long pv;
        if (hl == 0 || hl >= host_cap || pl >= port_cap || ptl_parse_ull(port, &pv) != 0 ||
            pv < 1 || pv > 65535)
            abort();
    }
    if (ptl_http_init(c, api) == 0) {
        if (c->fd != -1 || (c->family != AF_INET && c->family != AF_INET6) ||
            strnlen(c->host_header, sizeof(c->host_header)) >= sizeof(c->host_header))
            abort();
    } else if (strnlen(c->error, sizeof(c->error)) >= sizeof(c->error)) {
        abort();
    }
out:
    free(api);
    free(host);
    free(port);
    free(c);
    return 0;
}
