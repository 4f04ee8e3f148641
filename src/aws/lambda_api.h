/*
 * lambda_api.h - the Lambda API calls the tuner needs, over pt_aws_client.
 *
 * `function` is a FunctionName as Lambda accepts it (name, partial or full
 * unqualified ARN); it is percent-encoded into the path here. Qualifiers go in
 * the query. Invoke returns the payload, X-Amz-Function-Error and the decoded
 * LogType Tail, and the REPORT found in that tail: text format (pt_report_parse)
 * or JSON log format (the platform.report record). Unlike the reference tool
 * (#305, #261, #253), missing optional metrics are 0 / absent rather than an
 * error, blank or partial lines are skipped, and a tail that starts mid-line
 * still finds its REPORT.
 */
#ifndef PT_AWS_LAMBDA_API_H
#define PT_AWS_LAMBDA_API_H

#include <stdbool.h>
#include <stddef.h>

#include "aws/client.h"
#include "base/buf.h"
#include "base/error.h"

#define PT_LAMBDA_VERSION_MAX 32
#define PT_LAMBDA_DESCRIPTION_MAX 1025 /* 256 characters, UTF-8 */
#define PT_LAMBDA_DESCRIPTION_CHARS 256 /* Lambda's limit, in UTF-16 units */
#define PT_LAMBDA_ALIAS_MAX 129

struct pt_lambda_function_config {
    char function_name[65];
    char function_arn[300];
    char version[PT_LAMBDA_VERSION_MAX];
    char description[PT_LAMBDA_DESCRIPTION_MAX];
    char state[32];               /* "Pending", "Active", "Inactive", "Failed", or "" */
    char state_reason_code[48];   /* "Creating", "FunctionError", ... (the model's enum) */
    char state_reason[256];
    char last_update_status[32];
    char last_update_reason[256];
    char architecture[16];
    char log_format[8]; /* "Text", "JSON" or "" */
    int memory_mb;
    int timeout_s;
};

struct pt_lambda_alias {
    char name[PT_LAMBDA_ALIAS_MAX];
    char function_version[PT_LAMBDA_VERSION_MAX];
    /* The version RoutingConfig.AdditionalVersionWeights sends a share to ("" if none; Lambda
     * allows one): it is in use by this alias as much as function_version is. */
    char routing_version[PT_LAMBDA_VERSION_MAX];
};

/* An AliasConfiguration document (GetAlias, an item of ListAliases): 0, or -1 without a Name. */
int pt_lambda_parse_alias(const char *json, size_t len, struct pt_lambda_alias *out);
/* Does the alias send any invocation to version? */
bool pt_lambda_alias_uses(const struct pt_lambda_alias *a, const char *version);

/* What a REPORT line (either log format) says. */
struct pt_lambda_report {
    double duration_ms;
    double billed_ms;
    double init_ms;          /* < 0: absent (warm) */
    double restore_ms;       /* 0 unless SnapStart */
    double billed_restore_ms;
    int memory_mb;
    int max_memory_used_mb;
    char status[16];         /* "" (success), "timeout", "error", ... */
    char error_type[64];
};

struct pt_lambda_invoke_result {
    long status;
    char function_error[64]; /* "" unless the function failed */
    char executed_version[PT_LAMBDA_VERSION_MAX];
    char *payload;           /* malloc'd, NUL-terminated */
    size_t payload_len;
    char *log;               /* decoded log tail, malloc'd, or NULL */
    size_t log_len;
    bool has_report;
    struct pt_lambda_report report;
};

void pt_lambda_invoke_result_free(struct pt_lambda_invoke_result *r);

int pt_lambda_get_configuration(struct pt_aws_client *c, const char *function,
                                const char *qualifier, struct pt_lambda_function_config *out,
                                struct pt_error *err);
/* memory_mb <= 0: unchanged; description NULL: unchanged. out may be NULL. */
int pt_lambda_update_configuration(struct pt_aws_client *c, const char *function, int memory_mb,
                                   const char *description, struct pt_lambda_function_config *out,
                                   struct pt_error *err);
/* How long a wait may take, how often it asks, and what stops it. */
struct pt_lambda_wait_options {
    long poll_ms;     /* <= 0: 1000 */
    long max_wait_ms; /* then PT_ETIMEDOUT */
    /* Asked before each poll and during the pauses between them: true -> PT_EINTR. NULL: never
     * (a wait that must run after Ctrl-C, as the restore's). */
    bool (*interrupted)(void *arg);
    void *interrupted_arg;
};
/* Polls GetFunctionConfiguration until LastUpdateStatus is Successful (and State not Pending);
 * Failed -> PT_EIO with the reason; PT_ETIMEDOUT after max_wait_ms. poll_ms <= 0: 1000. */
int pt_lambda_wait_updated(struct pt_aws_client *c, const char *function, long poll_ms,
                           long max_wait_ms, struct pt_error *err);
/*
 * The SDK's FunctionActive waiter on a qualifier (a version or an alias: a published version is
 * Pending while Lambda makes it ready, a SnapStart one while its snapshot is made): polls
 * GetFunctionConfiguration(Qualifier) until State is Active (0); Failed -> PT_ESTATE, with
 * out->state "Failed" and a message naming the qualifier, its version, StateReasonCode and
 * StateReason; Pending (or any other state, as the SDK's waiter retries what no acceptor
 * matches) -> polled again. A configuration without a State (an endpoint that does not report
 * it) counts as Active. out (may be NULL) gets the last configuration read.
 */
int pt_lambda_wait_active(struct pt_aws_client *c, const char *function, const char *qualifier,
                          const struct pt_lambda_wait_options *w,
                          struct pt_lambda_function_config *out, struct pt_error *err);
/* Publishes $LATEST; version[PT_LAMBDA_VERSION_MAX] gets the number. description may be NULL. */
int pt_lambda_publish_version(struct pt_aws_client *c, const char *function,
                              const char *description, char *version, struct pt_error *err);
int pt_lambda_get_alias(struct pt_aws_client *c, const char *function, const char *name,
                        struct pt_lambda_alias *out, struct pt_error *err);
int pt_lambda_create_alias(struct pt_aws_client *c, const char *function, const char *name,
                           const char *version, struct pt_error *err);
int pt_lambda_update_alias(struct pt_aws_client *c, const char *function, const char *name,
                           const char *version, struct pt_error *err);
/*
 * GetAlias, then UpdateAlias, or CreateAlias when it does not exist (the reference's Publisher).
 * previous (PT_LAMBDA_VERSION_MAX bytes, or NULL) gets the version the alias pointed at before,
 * "" if this call created it.
 */
int pt_lambda_point_alias(struct pt_aws_client *c, const char *function, const char *name,
                          const char *version, char *previous, struct pt_error *err);
int pt_lambda_delete_alias(struct pt_aws_client *c, const char *function, const char *name,
                           struct pt_error *err);
/* DeleteFunction with Qualifier=version (refuses an empty or $LATEST version: PT_EUSAGE). */
int pt_lambda_delete_version(struct pt_aws_client *c, const char *function, const char *version,
                             struct pt_error *err);
/* Every alias (all pages); *out is malloc'd (free it). */
int pt_lambda_list_aliases(struct pt_aws_client *c, const char *function,
                           struct pt_lambda_alias **out, size_t *n, struct pt_error *err);
/* The highest published version number (0 when only $LATEST exists). */
int pt_lambda_max_version(struct pt_aws_client *c, const char *function, long *out,
                          struct pt_error *err);
/*
 * Invoke (RequestResponse). qualifier may be NULL; tail asks for LogType Tail. Throttles come
 * back at once as PT_ETHROTTLED (reason in throttle_reason, size >= 64, may be NULL) so the
 * runner backs off. A function error is 0 with function_error set.
 */
int pt_lambda_invoke(struct pt_aws_client *c, const char *function, const char *qualifier,
                     const char *payload, size_t len, bool tail,
                     struct pt_lambda_invoke_result *out, char *throttle_reason,
                     struct pt_error *err);

/* ---- building blocks, exposed for the unit tests ---- */
/* "/2015-03-31/functions/<encoded function><suffix>" */
int pt_lambda_function_path(struct pt_buf *out, const char *function, const char *suffix,
                            struct pt_error *err);
/* "Qualifier=<encoded>" (or "" for NULL/""), into out. */
int pt_lambda_qualifier_query(struct pt_buf *out, const char *qualifier, struct pt_error *err);
/* The UpdateFunctionConfiguration body: {"MemorySize":N[,"Description":"..."]} (malloc'd). */
char *pt_lambda_update_body(int memory_mb, const char *description);
int pt_lambda_parse_configuration(const char *json, size_t len,
                                  struct pt_lambda_function_config *out, struct pt_error *err);
/* The last REPORT in a log tail, either format: 0, or PT_ENOTFOUND. */
int pt_lambda_report_from_log(const char *log, size_t len, struct pt_lambda_report *out);
/* Decodes base64 (OpenSSL); *out malloc'd and NUL-terminated. */
int pt_lambda_base64_decode(const char *in, char **out, size_t *out_len, struct pt_error *err);

#endif
