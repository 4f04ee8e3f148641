/*
 * s3.c - a SigV4-signed S3 GetObject on libcurl (see s3.h).
 */
#include "aws/s3.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "aws/client.h"
#include "aws/sigv4.h"
#include "base/str.h"

int pt_s3_object_path(const char *bucket, const char *key, struct pt_buf *out,
                      struct pt_error *err)
{
    int rc;
    if ((rc = pt_buf_append_str(out, "/", err)) ||
        (rc = pt_sigv4_uri_encode(out, bucket, strlen(bucket), false, err)) ||
        (rc = pt_buf_append_str(out, "/", err)) ||
        (rc = pt_sigv4_uri_encode(out, key, strlen(key), true, err)))
        return rc;
    return 0;
}

void pt_s3_default_endpoint(const char *region, char *out, size_t size)
{
    pt_aws_default_endpoint("s3", region, out, size);
}

int pt_s3_error(long status, const char *bucket, const char *key, const char *detail,
                struct pt_error *err)
{
    if (status == 403)
        return pt_error_set(err, PT_EPERM,
                            "Permission denied when trying to read s3://%s/%s. You might need to "
                            "re-deploy the app with the correct payloadS3Bucket parameter.",
                            bucket, key);
    if (status == 404)
        return pt_error_set(err, PT_ENOTFOUND,
                            "The object s3://%s/%s does not exist. Make sure you are trying to "
                            "access an existing object in the correct bucket.",
                            bucket, key);
    return pt_error_set(err, PT_EIO, "Unknown error when trying to read s3://%s/%s. %s", bucket,
                        key, detail ? detail : "");
}

void pt_s3_xml_message(const char *body, size_t len, char *out, size_t size)
{
    if (!size)
        return;
    out[0] = '\0';
    if (!body)
        return;
    const char *end = body + len;
    const char *p = memmem(body, len, "<Message>", 9);
    if (!p)
        return;
    p += 9;
    const char *q = memmem(p, (size_t)(end - p), "</Message>", 10);
    if (!q)
        return;
    size_t n = (size_t)(q - p);
    if (n >= size)
        n = size - 1;
    for (size_t i = 0; i < n; i++) /* one line, printable */
        out[i] = (p[i] == '\n' || p[i] == '\r' || p[i] == '\t') ? ' ' : p[i];
    out[n] = '\0';
}

static size_t s3_on_body(char *data, size_t size, size_t n, void *arg)
{
    struct pt_buf *b = arg;
    return pt_buf_append(b, data, size * n, NULL) == 0 ? size * n : 0;
}

static int s3_add_header(struct curl_slist **l, const char *name, const char *value,
                         struct pt_error *err)
{
    char line[PT_SIGV4_MAX_HEADER_NAME + PT_SIGV4_MAX_HEADER_VALUE + 4];
    snprintf(line, sizeof(line), "%s: %s", name, value);
    struct curl_slist *n = curl_slist_append(*l, line);
    if (!n)
        return pt_error_set(err, PT_ENOMEM, "out of memory for request headers");
    *l = n;
    return 0;
}

/* One signed GET: 0 with *status (any), or a transport error (*retryable if worth another try). */
/* x-amz-bucket-region of S3's answer (a bucket in another region says where it is). */
static size_t s3_on_header(char *data, size_t size, size_t n, void *arg)
{
    char *out = arg;
    size_t len = size * n;
    static const char name[] = "x-amz-bucket-region:";
    if (len > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
        const char *v = data + sizeof(name) - 1;
        size_t vl = len - (sizeof(name) - 1);
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        if (vl < PT_AWS_REGION_MAX) {
            memcpy(out, v, vl);
            out[vl] = '\0';
        }
    }
    return len;
}

static int s3_attempt(const struct pt_s3_get_options *o, const char *region, const char *base,
                      const char *host, const char *path, struct pt_buf *body, long timeout_ms,
                      long *status, char *bucket_region, bool *retryable, char *detail,
                      size_t detail_size, struct pt_error *err)
{
    struct pt_sigv4_signed s;
    pt_sigv4_signed_init(&s);
    struct curl_slist *list = NULL;
    CURL *h = NULL;
    char url[PT_AWS_URL_MAX + PT_SIGV4_MAX_PATH];
    int rc = 0;
    *retryable = false;
    *status = 0;
    struct pt_sigv4_header hdrs[1] = {{"Host", host}};
    struct pt_sigv4_request sr = {.method = "GET", .path = path, .headers = hdrs,
                                  .header_count = 1};
    struct pt_sigv4_params sp = {
        .creds = o->creds,
        .region = region,
        .service = "s3",
        .time = (int64_t)time(NULL),
        .flags = PT_SIGV4_S3 | PT_SIGV4_CONTENT_SHA256_HEADER,
    };
    if ((rc = pt_sigv4_sign(&sr, &sp, &s, err)))
        goto out;
    if ((rc = s3_add_header(&list, "Host", host, err)))
        goto out;
    for (size_t i = 0; i < s.add_count; i++)
        if ((rc = s3_add_header(&list, s.add[i].name, s.add[i].value, err)))
            goto out;
    if ((rc = s3_add_header(&list, "Accept", "", err)))
        goto out;
    if (snprintf(url, sizeof(url), "%s%s", base, path) >= (int)sizeof(url)) {
        rc = pt_error_set(err, PT_ELIMIT, "S3 URL too long");
        goto out;
    }
    if (!(h = curl_easy_init())) {
        rc = pt_error_set(err, PT_ENOMEM, "curl_easy_init failed");
        goto out;
    }
    pt_buf_reset(body);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s3_on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    bucket_region[0] = '\0';
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, s3_on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, bucket_region);
    CURLcode cc = curl_easy_perform(h);
    if (cc == CURLE_WRITE_ERROR) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
        if (*status >= 200 && *status < 300) {
            rc = pt_error_set(err, PT_ELIMIT, "object larger than %zu bytes", body->limit);
            goto out;
        }
        /* An error document too big to keep: the status is what counts. */
        rc = 0;
        goto out;
    }
    if (cc != CURLE_OK) {
        *retryable = cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
                     cc == CURLE_GOT_NOTHING || cc == CURLE_SEND_ERROR ||
                     cc == CURLE_RECV_ERROR || cc == CURLE_OPERATION_TIMEDOUT ||
                     cc == CURLE_PARTIAL_FILE;
        snprintf(detail, detail_size, "GET %.200s: %s", base, curl_easy_strerror(cc));
        rc = cc == CURLE_OPERATION_TIMEDOUT ? PT_ETIMEDOUT : PT_EIO;
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
out:
    if (h)
        curl_easy_cleanup(h);
    curl_slist_free_all(list);
    pt_sigv4_signed_free(&s);
    return rc;
}

/* Where a request for s3://bucket/key goes: base URL (scheme://host[:port]), Host, and the
 * path sent and signed (the endpoint's own path, then /bucket/key). */
static int s3_target(const struct pt_s3_get_options *o, const char *region, const char *bucket,
                     const char *key, char *base, char *host, struct pt_buf *path,
                     struct pt_error *err)
{
    char url[PT_AWS_URL_MAX];
    if (o->endpoint_url && o->endpoint_url[0])
        pt_strlcpy(url, o->endpoint_url, sizeof(url));
    else
        pt_s3_default_endpoint(region, url, sizeof(url));
    int rc = pt_aws_endpoint_parse(url, base, PT_AWS_URL_MAX, host, PT_AWS_URL_MAX, err);
    if (rc)
        return rc;
    /* An endpoint's own path (http://host/prefix) is part of what is sent, so of what is signed. */
    const char *prefix = pt_aws_endpoint_path(base);
    pt_buf_reset(path);
    if ((rc = pt_buf_append_str(path, prefix, err)) ||
        (rc = pt_s3_object_path(bucket, key, path, err)))
        return pt_error_wrap(err, "s3://%s/%s", bucket, key);
    base[prefix - base] = '\0';
    return 0;
}

int pt_s3_get_object(const struct pt_s3_get_options *o, const char *bucket, const char *key,
                     struct pt_buf *body, struct pt_error *err)
{
    if (!o->creds || !o->region || !o->region[0])
        return pt_error_set(err, PT_EUSAGE, "S3: credentials and region needed");
    char base[PT_AWS_URL_MAX], host[PT_AWS_URL_MAX];
    char region[PT_AWS_REGION_MAX], bucket_region[PT_AWS_REGION_MAX];
    pt_strlcpy(region, o->region, sizeof(region));
    struct pt_buf path;
    pt_buf_init(&path, PT_SIGV4_MAX_PATH);
    int rc = s3_target(o, region, bucket, key, base, host, &path, err);
    if (rc)
        goto out;
    body->limit = o->max_bytes ? o->max_bytes : PT_S3_OBJECT_MAX;
    int attempts = o->max_attempts > 0 ? o->max_attempts : 3;
    long timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 60000;
    char detail[PT_ERROR_MSG_MAX / 2] = "";
    long status = 0;
    bool redirected = false;
    for (int i = 0; i < attempts; i++) {
        bool retryable = false;
        detail[0] = '\0';
        rc = s3_attempt(o, region, base, host, path.data, body, timeout_ms, &status,
                        bucket_region, &retryable, detail, sizeof(detail), err);
        if (rc == PT_ELIMIT) {
            pt_error_wrap(err, "payloadS3 s3://%s/%s", bucket, key);
            goto out;
        }
        if (rc && !detail[0]) /* signing or memory: not S3's answer */
            goto out;
        /* A bucket in another region (301 PermanentRedirect, 400 AuthorizationHeaderMalformed)
         * names its region: asked again there once, as the AWS CLI does. */
        if (!rc && (status == 301 || status == 400) && !redirected &&
            pt_aws_region_valid(bucket_region) && strcmp(bucket_region, region) != 0) {
            redirected = true;
            pt_strlcpy(region, bucket_region, sizeof(region));
            if ((rc = s3_target(o, region, bucket, key, base, host, &path, err)))
                goto out;
            i--;
            continue;
        }
        bool again = rc ? retryable : (status >= 500 || status == 429);
        if (!again || i + 1 == attempts)
            break;
        usleep((useconds_t)(100000 << i)); /* 100, 200, 400 ms ... */
    }
    if (rc) {
        rc = pt_s3_error(0, bucket, key, detail, err);
        goto out;
    }
    if (status >= 200 && status < 300) {
        rc = 0;
        goto out;
    }
    char msg[PT_ERROR_MSG_MAX / 2];
    pt_s3_xml_message(body->data, body->len, msg, sizeof(msg));
    if (!msg[0])
        snprintf(msg, sizeof(msg), "HTTP status %ld", status);
    rc = pt_s3_error(status, bucket, key, msg, err);
    pt_buf_reset(body);
out:
    pt_buf_free(&path);
    return rc;
}
