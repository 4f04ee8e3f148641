/*
 * s3.h - reading one S3 object: the payloadS3 of `powertune tune`.
 *
 * A path-style GET https://s3.<region>.amazonaws.com/<bucket>/<key> (or
 * <endpoint_url>/<bucket>/<key>), SigV4-signed for service "s3" with S3's path
 * rules (PT_SIGV4_S3: no normalisation, the key encoded once) and the
 * x-amz-content-sha256 header. A bucket in another region (S3's 301 or 400 naming it in
 * x-amz-bucket-region) is asked again once there, as the AWS CLI does. The body is bounded (PT_S3_OBJECT_MAX by
 * default); a bigger object is refused with PT_ELIMIT. Connection failures and
 * 5xx are retried a few times. Errors carry the reference tool's messages:
 * 403 -> PT_EPERM "Permission denied when trying to read s3://b/k. ...",
 * 404 -> PT_ENOTFOUND "The object s3://b/k does not exist. ...", anything else
 * "Unknown error when trying to read s3://b/k. <S3's Message or the cause>".
 * The process must have called curl_global_init. Credentials are not printed.
 */
#ifndef PT_AWS_S3_H
#define PT_AWS_S3_H

#include <stddef.h>

#include "aws/credentials.h"
#include "base/buf.h"
#include "base/error.h"

#define PT_S3_OBJECT_MAX (6 * 1024 * 1024) /* a Lambda request payload is at most 6 MB */
#define PT_S3_ENDPOINT_ENV "POWERTUNE_S3_ENDPOINT_URL"

struct pt_s3_get_options {
    const char *endpoint_url;  /* NULL/"": https://s3.<region>.amazonaws.com */
    const char *region;        /* signing region (required) */
    const struct pt_aws_credentials *creds;
    size_t max_bytes;          /* 0: PT_S3_OBJECT_MAX */
    long timeout_ms;           /* per attempt; <= 0: 60000 */
    int max_attempts;          /* <= 0: 3 */
};

/* The object's body into body (initialised by the caller; its limit is replaced). */
int pt_s3_get_object(const struct pt_s3_get_options *o, const char *bucket, const char *key,
                     struct pt_buf *body, struct pt_error *err);

/* Building blocks, exposed for the unit tests. */
/* "/<bucket>/<key percent-encoded, '/' kept>" appended to out. */
int pt_s3_object_path(const char *bucket, const char *key, struct pt_buf *out,
                      struct pt_error *err);
/* The default endpoint "https://s3.<region>.amazonaws.com". */
void pt_s3_default_endpoint(const char *region, char *out, size_t size);
/* The reference's message for a status (403, 404, other: detail appended). */
int pt_s3_error(long status, const char *bucket, const char *key, const char *detail,
                struct pt_error *err);
/* <Message>...</Message> of an S3 XML error body into out ("" if none). */
void pt_s3_xml_message(const char *body, size_t len, char *out, size_t size);

#endif
