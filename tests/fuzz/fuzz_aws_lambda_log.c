/*
 * fuzz_aws_lambda_log - pt_lambda_report_from_log (src/aws/lambda_api.c) on arbitrary bytes: the
 * decoded X-Amz-Log-Result tail of an Invoke, text REPORT lines or JSON platform.report records,
 * possibly starting mid-line, as the remote endpoint sends it.
 *
 * The tail is copied into a buffer of exactly its size (no NUL after it): the API takes (ptr, len),
 * so AddressSanitizer must never see a read past it, and UndefinedBehaviorSanitizer no figure
 * converted out of range. A report found must have terminated status and error type strings,
 * finite figures and no negative memory size (an absent or impossible one is 0).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/lambda_api.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *log = fuzz_copy(data, size);
    if (!log)
        return 0;
    struct pt_lambda_report r;
    memset(&r, 0, sizeof(r));
    if (pt_lambda_report_from_log(log, size, &r) == 0) {
        if (strnlen(r.status, sizeof(r.status)) >= sizeof(r.status) ||
            strnlen(r.error_type, sizeof(r.error_type)) >= sizeof(r.error_type))
            abort();
        /* Figures feed the tuner's statistics: JSON cannot carry inf or NaN, neither may text. */
        if (!isfinite(r.duration_ms) || !isfinite(r.billed_ms) || !isfinite(r.init_ms) ||
            !isfinite(r.restore_ms) || !isfinite(r.billed_restore_ms) || r.memory_mb < 0 ||
            r.max_memory_used_mb < 0)
            abort();
    }
    free(log);
    return 0;
}
