/*
 * noop-c - the cheapest possible function: answers {} to any event. It is
 * the yardstick for the engine's own per-invocation overhead.
 */
#include <stdlib.h>
#include <string.h>

#include "powertune_lambda.h"

static int handler(const char *event, size_t event_len, const struct ptl_context *ctx, struct ptl_response *out)
{
    (void)event;
    (void)event_len;
    (void)ctx;
    out->body = strdup("{}");
    if (!out->body) {
        out->error_type = "OutOfMemory";
        return -1;
    }
    out->len = 2;
    return 0;
}

int main(void)
{
    return ptl_run(handler) == 0 ? 0 : 1;
}
