/*
 * errors.c - responses, and errors exactly as Lambda sends them.
 *
 * SDKs pick the exception class from the `x-amzn-ErrorType` header (botocore
 * cuts it at ':' and keeps what follows the last '#') and the message from the
 * body's `message`, else `Message`. Lambda's own exceptions differ in the
 * casing of that key (the model's shapes say which; ResourceNotFoundException
 * has "Message", ResourceConflictException "message"), so the table below
 * follows service-2.json. Every body also carries "Type": "User".
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "base/str.h"

struct api_error_kind {
    const char *type;
    unsigned status;
    bool capital; /* "Message" rather than "message" */
};

static const struct api_error_kind error_kinds[] = {
    {"ResourceNotFoundException", 404, true},
    {"ResourceConflictException", 409, false},
    {"InvalidParameterValueException", 400, false},
    {"InvalidRequestContentException", 400, false},
    {"RequestEntityTooLargeException", 413, true}, /* what AWS really sends (model: RequestTooLarge) */
    {"TooManyRequestsException", 429, false},
    {"ServiceException", 500, true},
    {"PreconditionFailedException", 412, false},
    {"UnsupportedMediaTypeException", 415, false},
    {"ValidationException", 400, false},
    {"CodeStorageExceededException", 400, false},
    {"ResourceNotReadyException", 502, false},
    {"UnknownOperationException", 404, false},
};

void api_resp_init(struct pt_api_response *r)
{
    memset(r, 0, sizeof(*r));
    r->status = 500;
}

void pt_api_response_free(struct pt_api_response *r)
{
    free(r->body);
    r->body = NULL;
    r->body_len = 0;
    for (size_t i = 0; i < r->header_count; i++)
        free(r->headers[i].value);
    r->header_count = 0;
}

void api_resp_header(struct pt_api_response *r, const char *name, const char *value)
{
    for (size_t i = 0; i < r->header_count; i++) {
        if (strcmp(r->headers[i].name, name) == 0) {
            char *v = strdup(value);
            if (v) {
                free(r->headers[i].value);
                r->headers[i].value = v;
            }
            return;
        }
    }
    if (r->header_count == PT_API_RESPONSE_HEADERS_MAX)
        return;
    char *v = strdup(value);
    if (!v)
        return;
    r->headers[r->header_count].name = name;
    r->headers[r->header_count].value = v;
    r->header_count++;
}

/* Replaces the body; the previous one (if any) is freed. */
static void resp_set_body(struct pt_api_response *r, unsigned status, char *body, size_t len,
                          const char *type)
{
    free(r->body);
    r->status = status;
    r->body = body;
    r->body_len = len;
    r->content_type = body ? type : NULL;
}

void api_resp_json(struct pt_api_response *r, unsigned status, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s) {
        static const char oom[] = "{\"Type\":\"Service\",\"Message\":\"out of memory\"}";
        resp_set_body(r, 500, strdup(oom), sizeof(oom) - 1, "application/json");
        api_resp_header(r, "x-amzn-ErrorType", "ServiceException");
        return;
    }
    resp_set_body(r, status, s, strlen(s), "application/json");
}

static void error_body(struct pt_api_response *r, unsigned status, const char *type,
                       const char *key, const char *msg, const char *reason)
{
    json_t *j = json_object();
    if (reason)
        json_object_set_new(j, "Reason", json_string(reason));
    json_object_set_new(j, "Type", json_string("User"));
    json_object_set_new(j, key, json_string(msg));
    api_resp_json(r, status, j);
    api_resp_header(r, "x-amzn-ErrorType", type);
}

void api_error(struct pt_api_response *r, const char *type, const char *fmt, ...)
{
    char msg[PT_ERROR_MSG_MAX + 512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* A client's bytes echoed back, or cut inside a character by a %.Ns bound: json_string would
     * refuse the message and the error would go without it. */
    pt_utf8_make_valid(msg);
    unsigned status = 500;
    bool capital = true;
    for (size_t i = 0; i < sizeof(error_kinds) / sizeof(error_kinds[0]); i++) {
        if (strcmp(error_kinds[i].type, type) == 0) {
            status = error_kinds[i].status;
            capital = error_kinds[i].capital;
            break;
        }
    }
    error_body(r, status, type, capital ? "Message" : "message", msg, NULL);
}

void api_error_throttled(struct pt_api_response *r, const char *reason)
{
    error_body(r, 429, "TooManyRequestsException", "message", "Rate Exceeded.",
               reason && *reason ? reason : "ConcurrentInvocationLimitExceeded");
}

void api_error_raw(struct pt_api_response *r, unsigned status, const char *type, const char *msg)
{
    /* Signature refusals come from the API gateway in front of Lambda: {"message": ...} only. */
    json_t *j = json_object();
    json_object_set_new(j, "message", json_string(msg)); /* a pt_error's: UTF-8 */
    api_resp_json(r, status, j);
    api_resp_header(r, "x-amzn-ErrorType", type);
}
