/*
 * control.c - Lambda's control plane over the registry: functions, code,
 * versions, aliases, reserved concurrency.
 *
 * Every handler parses and validates its input without the registry lock,
 * unpacks code without it (into staging/), then takes the lock to check the
 * function's state, apply the change, save function.json and answer; a
 * change is acknowledged only after it is on disk. The update window
 * (State Pending after CreateFunction, LastUpdateStatus InProgress after an
 * update) is real: writes inside it get 409 as on AWS, and SDK waiters see it
 * end.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "aws/arn.h"
#include "engine/package.h"
#include "base/fs.h"
#include "base/rand.h"
#include "base/str.h"

#define NAME_PATTERN                                                                              \
    "(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?("    \
    "[a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"

/* ---- shared pieces ---- */

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/*
 * A function ARN of another region or account is not this server's to find or make: Lambda
 * answers "Functions from 'us-east-1' are not reachable in this region ('us-east-2')" for the
 * region, and does not find it in another account. True when r holds that answer.
 */
static bool arn_elsewhere(const struct pt_api *api, const struct pt_aws_lambda_arn *arn,
                          const char *as_given, struct pt_api_response *r)
{
    if (arn->region[0] && strcmp(arn->region, api->region) != 0) {
        api_error(r, "ResourceNotFoundException",
                  "Functions from '%s' are not reachable in this region ('%s')", arn->region,
                  api->region);
        return true;
    }
    if (arn->account[0] && strcmp(arn->account, api->account) != 0) {
        api_error(r, "ResourceNotFoundException", "Function not found: %s", as_given);
        return true;
    }
    return false;
}

int api_target_parse(struct pt_api *api, const char *segment, const struct pt_api_request *req,
                     struct api_target *t, struct pt_api_response *r)
{
    memset(t, 0, sizeof(*t));
    char decoded[PT_AWS_ARN_MAX + 1];
    struct pt_aws_lambda_arn arn;
    if (api_percent_decode(segment, strlen(segment), decoded, sizeof(decoded)) != 0 ||
        pt_aws_lambda_arn_parse(decoded, &arn, NULL) != 0) {
        api_error(r, "ValidationException",
                  "1 validation error detected: Value '%.256s' at 'functionName' failed to "
                  "satisfy constraint: Member must satisfy regular expression pattern: "
                  NAME_PATTERN,
                  segment);
        return -1;
    }
    if (arn_elsewhere(api, &arn, decoded, r))
        return -1;
    pt_strlcpy(t->name, arn.name, sizeof(t->name));
    pt_strlcpy(t->qualifier, arn.qualifier, sizeof(t->qualifier));
    char q[PT_AWS_QUALIFIER_MAX];
    int got = api_query_get(req->query, "Qualifier", q, sizeof(q));
    if (got < 0) {
        api_error(r, "ValidationException",
                  "1 validation error detected: Value at 'qualifier' failed to satisfy "
                  "constraint: Member must have length less than or equal to 128");
        return -1;
    }
    if (got > 0) {
        if (t->qualifier[0] && strcmp(t->qualifier, q) != 0) {
            api_error(r, "InvalidParameterValueException",
                      "The derived qualifier from the function name does not match the "
                      "specified qualifier.");
            return -1;
        }
        if (!q[0]) {
            api_error(r, "ValidationException",
                      "1 validation error detected: Value '' at 'qualifier' failed to satisfy "
                      "constraint: Member must have length greater than or equal to 1");
            return -1;
        }
        bool ok = true;
        for (const char *p = q; *p && ok; p++)
            ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                 (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '$';
        if (!ok) {
            api_error(r, "ValidationException",
                      "1 validation error detected: Value '%s' at 'qualifier' failed to satisfy "
                      "constraint: Member must satisfy regular expression pattern: "
                      "(|[a-zA-Z0-9$_-]+)",
                      q);
            return -1;
        }
        pt_strlcpy(t->qualifier, q, sizeof(t->qualifier));
    }
    return 0;
}

/* Under the lock: the function or a 404 naming its ARN. */
static struct api_function *find_or_404(struct pt_api *api, const struct api_target *t,
                                        struct pt_api_response *r)
{
    struct api_function *f = api_function_find(api, t->name);
    if (!f) {
        char arn[API_ARN_MAX];
        api_function_arn(api, t->name, t->qualifier, arn, sizeof(arn));
        api_error(r, "ResourceNotFoundException", "Function not found: %s", arn);
    }
    return f;
}

/* Under the lock: the configuration a qualifier names ($LATEST, a version, an alias's). */
static struct api_conf *resolve_or_404(struct pt_api *api, struct api_function *f,
                                       const char *qualifier, struct pt_api_response *r)
{
    const char *version = qualifier && *qualifier ? qualifier : "$LATEST";
    if (!all_digits(version) && strcmp(version, "$LATEST") != 0) {
        struct api_alias *a = api_alias_find(f, version);
        version = a ? a->version : NULL;
    }
    struct api_conf *c = version ? api_function_conf(f, version) : NULL;
    if (!c) {
        char arn[API_ARN_MAX];
        api_function_arn(api, f->latest.cfg.name, qualifier, arn, sizeof(arn));
        api_error(r, "ResourceNotFoundException", "Function not found: %s", arn);
    }
    return c;
}

/* Under the lock: 409 while the function is being created or updated. */
static bool refuse_busy(struct pt_api *api, struct api_function *f, struct pt_api_response *r)
{
    if (f->busy_until_ms <= api_mono_ms())
        return false;
    if (f->creating) {
        api_error(r, "ResourceConflictException",
                  "The operation cannot be performed at this time. The function is currently in "
                  "the following state: Pending");
    } else {
        char arn[API_ARN_MAX];
        api_function_arn(api, f->latest.cfg.name, NULL, arn, sizeof(arn));
        api_error(r, "ResourceConflictException",
                  "The operation cannot be performed at this time. An update is in progress for "
                  "resource: %s",
                  arn);
    }
    return true;
}

static void start_window(struct pt_api *api, struct api_function *f, bool creating)
{
    f->creating = creating;
    f->busy_until_ms = api->opt.update_window_ms > 0 ? api_mono_ms() + api->opt.update_window_ms
                                                     : 0;
}

static bool revision_mismatch(json_t *body, const char *current, struct pt_api_response *r)
{
    const char *want = json_string_value(json_object_get(body, "RevisionId"));
    if (!want || strcmp(want, current) == 0)
        return false;
    api_error(r, "PreconditionFailedException",
              "The Revision Id provided does not match the latest Revision Id. Call the "
              "GetFunction/GetAlias API to retrieve the latest Revision Id");
    return true;
}

/* The request body as a JSON object; an empty body is {} when allowed. NULL: r is set. */
static json_t *body_object(const struct pt_api_request *req, bool allow_empty,
                           struct pt_api_response *r)
{
    if (req->body_len == 0 && allow_empty)
        return json_object();
    json_error_t jerr;
    json_t *j = json_loadb(req->body ? req->body : "", req->body_len, 0, &jerr);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        api_error(r, "InvalidRequestContentException",
                  "Could not parse request body into json: %s", j ? "not an object" : jerr.text);
        return NULL;
    }
    return j;
}

/* Failed validation of a configuration: Lambda's exception, or InvalidParameterValue. */
static void conf_error(struct pt_api_response *r, const char *etype, const struct pt_error *e)
{
    api_error(r, etype ? etype : "InvalidParameterValueException", "%s", e->msg);
}

/*
 * Role, as Lambda checks it on CreateFunction (required) and UpdateFunctionConfiguration: the
 * model's pattern arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+. Not in
 * api_conf_apply, which also reads saved configurations: one saved before this check still
 * loads. true when r holds the refusal.
 */
static bool role_refused(json_t *body, bool required, struct pt_api_response *r)
{
    json_t *v = json_object_get(body, "Role");
    if (!v && !required)
        return false;
    const char *s = json_string_value(v);
    if (!s) {
        api_error(r, "ValidationException",
                  "1 validation error detected: Value null at 'role' failed to satisfy "
                  "constraint: Member must not be null");
        return true;
    }
    const char *p = s;
    bool ok = strncmp(p, "arn:", 4) == 0;
    if (ok) {
        p += 4;
        const char *colon = strchr(p, ':');
        ok = colon && (colon == p || strncmp(p, "aws", 3) == 0);
        for (const char *c = p + (colon == p ? 0 : 3); ok && c < colon; c++)
            ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '-';
        p = ok ? colon + 1 : p;
    }
    ok = ok && strncmp(p, "iam::", 5) == 0;
    for (int i = 0; ok && i < 12; i++)
        ok = p[5 + i] >= '0' && p[5 + i] <= '9';
    ok = ok && strncmp(p + 17, ":role", 5) == 0 && p[22];
    for (const char *c = ok ? p + 22 : p; ok && *c; c++)
        ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
             strchr("_+=,.@-/", *c);
    if (ok)
        return false;
    api_error(r, "ValidationException",
              "1 validation error detected: Value '%.256s' at 'role' failed to satisfy "
              "constraint: Member must satisfy regular expression pattern: "
              "arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+",
              s);
    return true;
}

/*
 * One page of a List* call. Lambda's Marker is opaque; this one is the key of the first item of
 * the next page (a function's or alias's name, then a version: "fib:$LATEST", "fib:3"), not its
 * index, so that items deleted or created between pages shift nothing: a clean-up script that
 * deletes what it lists while paging (boto3's paginator fetches the next page after the current
 * one is used) skipped a page's worth of items with index markers, and left them behind.
 * Items are visited in key order: name (strcmp), then $LATEST (0) and versions ascending.
 */
struct page {
    char name[API_ALIAS_MAX]; /* the Marker's key: an alias name is the longest */
    long ord;
    bool from_marker;
    bool versioned; /* NextMarker carries the version */
    long max, taken;
    char next[API_ALIAS_MAX + API_VERSION_MAX];
};

/* "$LATEST" is 0, a version its number; -1 if neither. */
static long version_ord(const char *v)
{
    long n;
    if (strcmp(v, "$LATEST") == 0)
        return 0;
    return all_digits(v) && pt_parse_long(v, 1, LONG_MAX, &n) == 0 ? n : -1;
}

static int page_start(const struct pt_api_request *req, bool versioned, struct page *p,
                      struct pt_api_response *r)
{
    char v[sizeof(p->next)];
    memset(p, 0, sizeof(*p));
    p->versioned = versioned;
    p->max = API_LIST_DEFAULT;
    int got = api_query_get(req->query, "Marker", v, sizeof(v));
    if (got > 0 && v[0]) {
        char *colon = strrchr(v, ':');
        if (colon) {
            *colon = '\0';
            p->ord = version_ord(colon + 1);
        }
        bool ok = p->ord >= 0 && strlen(v) < sizeof(p->name);
        for (const char *c = v; *c && ok; c++)
            ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                 (*c >= '0' && *c <= '9') || *c == '-' || *c == '_';
        if (!ok)
            got = -1;
        pt_strlcpy(p->name, v, sizeof(p->name));
        p->from_marker = true;
    }
    if (got < 0) {
        api_error(r, "InvalidParameterValueException", "Invalid Marker: not one this server "
                                                       "returned");
        return -1;
    }
    got = api_query_get(req->query, "MaxItems", v, sizeof(v));
    if (got > 0 && pt_parse_long(v, 1, API_LIST_MAX, &p->max) != 0)
        got = -1;
    if (got < 0) {
        api_error(r, "ValidationException",
                  "1 validation error detected: Value at 'maxItems' failed to satisfy "
                  "constraint: Member must have value between 1 and %d",
                  API_LIST_MAX);
        return -1;
    }
    return 0;
}

/* Whether the item keyed (name, version) goes on this page; the first one past a full page
 * becomes NextMarker. Items come in key order. */
static bool page_take(struct page *p, const char *name, const char *version)
{
    long ord = version ? version_ord(version) : 0;
    if (p->from_marker) {
        int c = strcmp(name, p->name);
        if (c < 0 || (c == 0 && ord < p->ord))
            return false;
    }
    if (p->taken < p->max) {
        p->taken++;
        return true;
    }
    if (!p->next[0])
        snprintf(p->next, sizeof(p->next), "%s%s%s", name, p->versioned ? ":" : "",
                 p->versioned && version ? version : "");
    return false;
}

static void page_finish(const struct page *p, json_t *o)
{
    if (p->next[0])
        json_object_set_new(o, "NextMarker", json_string(p->next));
}

/* A configuration's state members; from is NULL to remove them, else where they come from. */
static void state_members_from(json_t *to, json_t *from)
{
    static const char *const members[] = {"State",
                                          "StateReason",
                                          "StateReasonCode",
                                          "LastUpdateStatus",
                                          "LastUpdateStatusReason",
                                          "LastUpdateStatusReasonCode"};
    for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
        json_t *v = from ? json_object_get(from, members[i]) : NULL;
        if (v)
            json_object_set(to, members[i], v);
        else
            json_object_del(to, members[i]);
    }
}

/*
 * A configuration as ListFunctions and ListVersionsByFunction show it: "a subset of the
 * FunctionConfiguration fields", without State and LastUpdateStatus and their reasons (the
 * model's ListFunctions documentation: GetFunction has them).
 */
static json_t *listed_conf_json(const struct pt_api *api, const struct api_function *f,
                                const struct api_conf *c, enum api_view view)
{
    json_t *o = api_conf_json(api, f, c, view);
    state_members_from(o, NULL);
    return o;
}

/*
 * Decodes and unpacks Code.ZipFile into staging/<id> (+ .zip). Without the
 * lock: a 50 MB upload must not stall the registry. -1: r is set.
 */
struct upload {
    char staged[PATH_MAX];
    char code_id[API_CODE_ID_MAX];
    char sha[API_SHA_B64_MAX];
    long long size;
};

static void upload_discard(struct upload *u)
{
    if (!u->staged[0])
        return;
    char zip[PATH_MAX + 8];
    snprintf(zip, sizeof(zip), "%s.zip", u->staged);
    unlink(zip);
    pt_rmtree(u->staged);
    u->staged[0] = '\0';
}

static int upload_unpack(struct pt_api *api, json_t *zipfile, struct upload *u,
                         struct pt_api_response *r)
{
    memset(u, 0, sizeof(*u));
    if (!json_is_string(zipfile)) {
        api_error(r, "InvalidParameterValueException",
                  "Please provide a source for function code: powertune serve takes the code as "
                  "a ZipFile (S3 and container images are not emulated)");
        return -1;
    }
    unsigned char *zip = NULL;
    size_t zip_len = 0;
    if (api_base64_decode(json_string_value(zipfile), json_string_length(zipfile), &zip,
                          &zip_len) != 0) {
        api_error(r, "InvalidParameterValueException", "ZipFile is not valid base64");
        return -1;
    }
    int rc = 0;
    struct pt_error err = {0};
    api_sha256_base64(zip, zip_len, u->sha);
    u->size = (long long)zip_len;
    pt_random_hex(u->code_id, 32);
    if (api_staging_dir(api, u->staged, sizeof(u->staged)) != 0) {
        api_error(r, "ServiceException", "state directory path too long");
        u->staged[0] = '\0';
        rc = -1;
        goto out;
    }
    rc = pt_package_extract(zip, zip_len, u->staged, PT_API_UNZIPPED_MAX, &err);
    if (!rc) {
        char path[PATH_MAX + 8];
        snprintf(path, sizeof(path), "%s.zip", u->staged);
        rc = pt_file_write_atomic(path, zip, zip_len, &err);
    }
    if (rc) {
        if (rc == PT_EUSAGE)
            api_error(r, "InvalidParameterValueException", "%s", err.msg);
        else
            api_error(r, "ServiceException", "%s", err.msg);
        upload_discard(u);
        rc = -1;
    }
out:
    free(zip);
    return rc;
}

/* Under the lock: installs the upload as f's code and points c at it. */
static int upload_install(struct pt_api *api, struct upload *u, struct api_conf *c,
                          struct pt_api_response *r)
{
    struct pt_error err = {0};
    if (api_code_install(api, u->staged, c->cfg.name, u->code_id, &err) != 0) {
        api_error(r, "ServiceException", "%s", err.msg);
        return -1;
    }
    u->staged[0] = '\0';
    pt_strlcpy(c->code_id, u->code_id, sizeof(c->code_id));
    pt_strlcpy(c->code_sha256, u->sha, sizeof(c->code_sha256));
    c->code_size = u->size;
    api_code_dir(api, c->cfg.name, u->code_id, c->cfg.code_dir, sizeof(c->cfg.code_dir));
    return 0;
}

/* Under the lock: publishes $LATEST as a version (or returns the one already made from it). */
static struct api_conf *publish(struct api_function *f, const char *description,
                                struct pt_error *err)
{
    if (f->version_count) {
        struct api_conf *last = f->versions[f->version_count - 1];
        /* AWS: publishing an unchanged $LATEST returns the existing version, no new one. */
        if (strcmp(last->source_revision, f->latest.revision_id) == 0)
            return last;
    }
    struct api_conf **v = realloc(f->versions, (f->version_count + 1) * sizeof(*v));
    if (!v) {
        pt_error_set(err, PT_ENOMEM, "out of memory");
        return NULL;
    }
    f->versions = v;
    struct api_conf *c = calloc(1, sizeof(*c));
    if (!c || api_conf_copy(c, &f->latest, err) != 0) {
        if (c)
            pt_function_config_free(&c->cfg);
        free(c);
        pt_error_set(err, PT_ENOMEM, "out of memory");
        return NULL;
    }
    snprintf(c->version, sizeof(c->version), "%ld", f->next_version++);
    pt_strlcpy(c->source_revision, f->latest.revision_id, sizeof(c->source_revision));
    pt_uuid4(c->revision_id);
    c->revision_epoch = 0;
    f->latest.revision_epoch++; /* publishing changes $LATEST's RevisionId (api_conf_revision) */
    api_last_modified_now(c->last_modified);
    if (description)
        pt_strlcpy(c->cfg.description, description, sizeof(c->cfg.description));
    f->versions[f->version_count++] = c;
    return c;
}

/* Undoes publish() of c (the newest version) when saving failed. */
static void unpublish(struct pt_api *api, struct api_function *f, struct api_conf *c)
{
    if (!f->version_count || f->versions[f->version_count - 1] != c ||
        strcmp(c->source_revision, f->latest.revision_id) != 0)
        return;
    f->version_count--;
    f->next_version--;
    f->latest.revision_epoch--;
    api_conf_free(api, c);
    free(c);
}

/* ---- functions ---- */

void api_op_create_function(struct pt_api *api, const struct pt_api_request *req,
                            struct pt_api_response *r)
{
    struct upload up = {0};
    struct api_function *f = NULL;
    bool locked = false;
    json_t *body = body_object(req, false, r);
    if (!body)
        return;
    const char *etype = NULL;
    struct pt_error err = {0};
    const char *name_in = json_string_value(json_object_get(body, "FunctionName"));
    struct pt_aws_lambda_arn arn;
    if (!name_in || pt_aws_lambda_arn_parse(name_in, &arn, NULL) != 0 || arn.qualifier[0]) {
        api_error(r, "ValidationException",
                  "1 validation error detected: Value '%.256s' at 'functionName' failed to "
                  "satisfy constraint: Member must satisfy regular expression pattern: "
                  NAME_PATTERN,
                  name_in ? name_in : "null");
        goto out;
    }
    if (arn_elsewhere(api, &arn, name_in, r))
        goto out;
    if (role_refused(body, true, r))
        goto out;
    const char *ptype = json_string_value(json_object_get(body, "PackageType"));
    if (ptype && strcmp(ptype, "Zip") != 0) {
        api_error(r, "InvalidParameterValueException",
                  "PackageType %s is not supported by powertune serve: use Zip", ptype);
        goto out;
    }
    f = calloc(1, sizeof(*f));
    if (!f) {
        api_error(r, "ServiceException", "out of memory");
        goto out;
    }
    api_conf_init(&f->latest);
    f->reserved = -1;
    f->next_version = 1;
    struct api_conf *c = &f->latest;
    pt_strlcpy(c->cfg.name, arn.name, sizeof(c->cfg.name));
    if (api_conf_apply(c, body, &etype, &err) != 0) {
        conf_error(r, etype, &err);
        goto out;
    }
    if (!c->cfg.runtime[0] || (c->cfg.family != PT_RUNTIME_PROVIDED && !c->cfg.handler[0])) {
        api_error(r, "InvalidParameterValueException",
                  "Runtime and Handler are mandatory parameters for functions created with "
                  "deployment packages.");
        goto out;
    }
    if (pt_function_validate(&c->cfg, &err) != 0) {
        conf_error(r, NULL, &err);
        goto out;
    }
    if ((size_t)snprintf(f->dir, sizeof(f->dir), "%s/functions/%s", api->root, c->cfg.name) >=
        sizeof(f->dir)) {
        api_error(r, "ServiceException", "state directory path too long");
        goto out;
    }
    api_lock(api);
    bool exists = api_function_find(api, c->cfg.name) != NULL;
    api_unlock(api);
    if (exists) {
        api_error(r, "ResourceConflictException", "Function already exist: %s", c->cfg.name);
        goto out;
    }
    if (upload_unpack(api, json_object_get(json_object_get(body, "Code"), "ZipFile"), &up, r))
        goto out;

    api_lock(api);
    locked = true;
    if (api_function_find(api, c->cfg.name)) {
        api_error(r, "ResourceConflictException", "Function already exist: %s", c->cfg.name);
        goto out;
    }
    if (api_function_dir_claim(api, f->dir, c->cfg.name, &err) != 0) {
        api_error(r, "ServiceException", "%s", err.msg);
        goto out;
    }
    if (upload_install(api, &up, c, r))
        goto out;
    api_last_modified_now(c->last_modified);
    pt_uuid4(c->revision_id);
    c->revision_epoch = 1; /* a new RevisionId once Active */
    struct api_conf *shown = c;
    json_t *pub = json_object_get(body, "Publish");
    if (json_is_true(pub) && !(shown = publish(f, NULL, &err))) {
        api_error(r, "ServiceException", "%s", err.msg);
        goto out;
    }
    if (api_function_save(api, f, &err) != 0 || api_function_insert(api, f) != 0) {
        api_error(r, "ServiceException", "%s", err.msg[0] ? err.msg : "out of memory");
        api_function_discard_files(api, f);
        goto out;
    }
    start_window(api, f, true);
    /* With Publish, Lambda answers version 1's configuration under the function's unqualified
     * ARN, in the creation's state (Pending), as its recorded answers show. */
    json_t *answer = api_conf_json(api, f, shown, API_VIEW_UNQUALIFIED);
    if (shown != c) {
        json_t *latest = api_conf_json(api, f, c, API_VIEW_UNQUALIFIED);
        state_members_from(answer, latest);
        json_decref(latest);
    }
    api_resp_json(r, 201, answer);
    f = NULL;
out:
    api_function_free(api, f); /* not inserted: it holds no engine registration */
    if (locked)
        api_unlock(api);
    upload_discard(&up);
    json_decref(body);
}

void api_op_list_functions(struct pt_api *api, const struct pt_api_request *req,
                           struct pt_api_response *r)
{
    char fv[16];
    int got = api_query_get(req->query, "FunctionVersion", fv, sizeof(fv));
    if (got < 0 || (got > 0 && strcmp(fv, "ALL") != 0)) {
        api_error(r, "ValidationException",
                  "1 validation error detected: Value '%s' at 'functionVersion' failed to "
                  "satisfy constraint: Member must satisfy enum value set: [ALL]",
                  got < 0 ? "" : fv);
        return;
    }
    bool all = got > 0;
    struct page pg;
    if (page_start(req, all, &pg, r))
        return;
    json_t *list = json_array();
    api_lock(api);
    for (size_t i = 0; i < api->fn_count; i++) {
        struct api_function *f = api->fns[i];
        size_t n = all ? 1 + f->version_count : 1;
        for (size_t k = 0; k < n; k++) {
            const struct api_conf *c = k == 0 ? &f->latest : f->versions[k - 1];
            if (page_take(&pg, f->latest.cfg.name, c->version))
                json_array_append_new(list, listed_conf_json(api, f, c,
                                                             all ? API_VIEW_QUALIFIED
                                                                 : API_VIEW_UNQUALIFIED));
        }
    }
    api_unlock(api);
    json_t *o = json_object();
    json_object_set_new(o, "Functions", list);
    page_finish(&pg, o);
    api_resp_json(r, 200, o);
}

/* The Host header when it is a host[:port] (a name, an IPv4 or a bracketed IPv6 address). */
static const char *request_host(const struct pt_api_request *req)
{
    const char *h = pt_api_request_header(req, "Host");
    size_t n = h ? strlen(h) : 0;
    if (n == 0 || n > 255)
        return NULL;
    for (const char *c = h; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              strchr(".-:[]", *c)))
            return NULL;
    return h;
}

/*
 * GetFunction's Code.Location. Lambda's is a presigned S3 URL a plain HTTP GET fetches for 10
 * minutes; with --require-signature this one is likewise presigned (SigV4 query form, with the
 * server's first key), or downloading it would need the caller to sign. Its host is the one the
 * client reached this server by (its Host header): --host 0.0.0.0 said 127.0.0.1, which another
 * machine or container cannot reach, and an IPv6 --host lacked its brackets.
 */
static void code_location(const struct pt_api *api, const struct pt_api_request *req,
                          const char *name, const char *code_id, char *out, size_t size)
{
    char host[sizeof(api->host) + 16], path[PT_FUNCTION_NAME_MAX + API_CODE_ID_MAX + 64];
    const char *given = request_host(req);
    const char *any = strcmp(api->host, "0.0.0.0") == 0 ? "127.0.0.1"
                      : strcmp(api->host, "::") == 0    ? "::1"
                                                        : api->host;
    if (given)
        pt_strlcpy(host, given, sizeof(host));
    else
        snprintf(host, sizeof(host), strchr(any, ':') ? "[%s]:%d" : "%s:%d", any, api->port);
    snprintf(path, sizeof(path), "/_powertune/code/%s/%s.zip", name, code_id);
    int n = snprintf(out, size, "http://%s%s", host, path);
    if (!api->opt.require_signature || !api->opt.key_count || n < 0 || (size_t)n >= size)
        return;
    struct pt_sigv4_header h[] = {{"Host", host}};
    struct pt_sigv4_request sreq = {.method = "GET", .path = path, .headers = h,
                                    .header_count = 1};
    struct pt_sigv4_params p = {.creds = &api->opt.keys[0], .region = api->region,
                                .service = "lambda", .time = (int64_t)time(NULL),
                                .expires = 600};
    struct pt_sigv4_signed sig;
    pt_sigv4_signed_init(&sig);
    if (pt_sigv4_presign(&sreq, &p, &sig, NULL) == 0 && sig.query.data &&
        (size_t)n + 1 + sig.query.len < size)
        snprintf(out + n, size - (size_t)n, "?%s", sig.query.data);
    pt_sigv4_signed_free(&sig);
}

void api_op_get_function(struct pt_api *api, const struct api_target *t, bool config_only,
                         const struct pt_api_request *req, struct pt_api_response *r)
{
    api_lock(api);
    struct api_function *f = find_or_404(api, t, r);
    struct api_conf *c = f ? resolve_or_404(api, f, t->qualifier, r) : NULL;
    if (c) {
        json_t *conf = api_conf_json(api, f, c,
                                     t->qualifier[0] ? API_VIEW_QUALIFIED : API_VIEW_UNQUALIFIED);
        if (t->qualifier[0] && !all_digits(t->qualifier) && strcmp(t->qualifier, "$LATEST")) {
            char arn[API_ARN_MAX];
            api_function_arn(api, t->name, t->qualifier, arn, sizeof(arn));
            json_object_set_new(conf, "FunctionArn", json_string(arn));
        }
        if (config_only) {
            api_resp_json(r, 200, conf);
        } else {
            json_t *o = json_object();
            json_object_set_new(o, "Configuration", conf);
            char loc[API_CODE_LOCATION_MAX];
            code_location(api, req, t->name, c->code_id, loc, sizeof(loc));
            json_object_set_new(o, "Code",
                                json_pack("{s:s,s:s}", "RepositoryType", "S3", "Location", loc));
            if (f->reserved >= 0)
                json_object_set_new(o, "Concurrency", json_pack("{s:i}",
                                                                "ReservedConcurrentExecutions",
                                                                f->reserved));
            api_resp_json(r, 200, o);
        }
    }
    api_unlock(api);
}

void api_op_delete_function(struct pt_api *api, const struct api_target *t,
                            struct pt_api_response *r)
{
    struct pt_error err = {0};
    bool deleted = false;
    api_lock(api);
    struct api_function *f = find_or_404(api, t, r);
    if (!f)
        goto out;
    if (!t->qualifier[0]) {
        if (api_function_delete(api, f, &err) != 0) {
            api_error(r, "ServiceException", "%s", err.msg);
            goto out;
        }
        r->status = 204;
        deleted = true;
        goto out;
    }
    if (strcmp(t->qualifier, "$LATEST") == 0) {
        api_error(r, "InvalidParameterValueException",
                  "$LATEST version cannot be deleted without deleting the function.");
        goto out;
    }
    if (!all_digits(t->qualifier)) {
        api_error(r, "InvalidParameterValueException",
                  "Deletion of aliases is not supported by DeleteFunction: use DeleteAlias.");
        goto out;
    }
    size_t at = f->version_count;
    for (size_t i = 0; i < f->version_count; i++)
        if (strcmp(f->versions[i]->version, t->qualifier) == 0)
            at = i;
    if (at == f->version_count) {
        char arn[API_ARN_MAX];
        api_function_arn(api, t->name, t->qualifier, arn, sizeof(arn));
        api_error(r, "ResourceNotFoundException", "Function not found: %s", arn);
        goto out;
    }
    char users[1024] = "";
    for (size_t i = 0; i < f->alias_count; i++) {
        if (strcmp(f->aliases[i].version, t->qualifier) == 0 ||
            strcmp(f->aliases[i].extra_version, t->qualifier) == 0) {
            size_t l = strlen(users);
            snprintf(users + l, sizeof(users) - l, "%s%s", l ? ", " : "", f->aliases[i].name);
        }
    }
    if (users[0]) {
        api_error(r, "ResourceConflictException",
                  "Unable to delete version because the following aliases reference it: [%s]",
                  users);
        goto out;
    }
    struct api_conf *c = f->versions[at];
    memmove(f->versions + at, f->versions + at + 1,
            (f->version_count - at - 1) * sizeof(*f->versions));
    f->version_count--;
    if (api_function_save(api, f, &err) != 0) {
        memmove(f->versions + at + 1, f->versions + at,
                (f->version_count - at) * sizeof(*f->versions));
        f->versions[at] = c;
        f->version_count++;
        api_error(r, "ServiceException", "%s", err.msg);
        goto out;
    }
    api_conf_free(api, c);
    free(c);
    api_function_collect_code(api, f);
    r->status = 204;
out:
    /* Lambda discards a deleted function's pending asynchronous invocations. Under the registry
     * lock (taken before the queue's, as everywhere), so a function re-created meanwhile keeps
     * its own. */
    if (deleted)
        api_events_forget_function(api, t->name);
    api_unlock(api);
}

/*
 * Under the lock: what every write to $LATEST checks first (the function, no
 * update in progress, RevisionId). NULL: r is set.
 */
static struct api_function *find_for_update(struct pt_api *api, const struct api_target *t,
                                            json_t *body, struct pt_api_response *r)
{
    struct api_function *f = find_or_404(api, t, r);
    char rev[37];
    if (f)
        api_conf_revision(f, &f->latest, rev);
    if (!f || refuse_busy(api, f, r) || revision_mismatch(body, rev, r))
        return NULL;
    return f;
}

/*
 * Under the lock: next becomes $LATEST (with publish_it, also a new version),
 * acknowledged only once saved, and the update window starts. The replaced
 * $LATEST keeps serving invocations until the window ends. 0: next was taken
 * and *shown is the configuration to answer with; -1: r is set, nothing changed.
 */
static int update_commit(struct pt_api *api, struct api_function *f, struct api_conf *next,
                         bool publish_it, struct api_conf **shown, struct pt_api_response *r)
{
    struct pt_error err = {0};
    struct api_conf *old = malloc(sizeof(*old));
    if (!old) {
        api_error(r, "ServiceException", "out of memory");
        return -1;
    }
    api_last_modified_now(next->last_modified);
    pt_uuid4(next->revision_id);
    next->revision_epoch = 1; /* a new RevisionId once Successful */
    *old = f->latest;
    f->latest = *next;
    *shown = &f->latest;
    int rc = publish_it && !(*shown = publish(f, NULL, &err)) ? -1 : 0;
    if (!rc && api_function_save(api, f, &err) != 0) {
        if (*shown != &f->latest)
            unpublish(api, f, *shown);
        rc = -1;
    }
    if (rc) {
        f->latest = *old;
        free(old);
        api_error(r, "ServiceException", "%s", err.msg);
        return -1;
    }
    api_function_drop_previous(api, f); /* its window is over, or refuse_busy refused */
    start_window(api, f, false);
    if (f->busy_until_ms) {
        f->previous = old;
    } else {
        api_conf_free(api, old);
        free(old);
    }
    api_function_collect_code(api, f);
    return 0;
}

/*
 * The change one update makes to next, a copy of $LATEST, under the lock.
 * 0: commit next; 1: r is answered and next is dropped (a dry run); -1: r is set.
 */
typedef int (*update_apply_fn)(struct pt_api *api, struct api_function *f, json_t *body,
                               void *arg, struct api_conf *next, struct pt_api_response *r);

/*
 * One update of $LATEST, as UpdateFunctionConfiguration and UpdateFunctionCode
 * make it: checked, applied to a copy, committed (with publish_it, also as a
 * new version) and answered with what it made.
 */
static void update_latest(struct pt_api *api, const struct api_target *t, json_t *body,
                          bool publish_it, update_apply_fn apply, void *arg,
                          struct pt_api_response *r)
{
    struct pt_error err = {0};
    struct api_conf next, *shown;
    api_lock(api);
    struct api_function *f = find_for_update(api, t, body, r);
    if (!f)
        goto out;
    if (api_conf_copy(&next, &f->latest, &err) != 0) {
        api_error(r, "ServiceException", "%s", err.msg);
        goto out;
    }
    if (apply(api, f, body, arg, &next, r) == 0 &&
        update_commit(api, f, &next, publish_it, &shown, r) == 0) {
        api_resp_json(r, 200,
                      api_conf_json(api, f, shown,
                                    shown == &f->latest ? API_VIEW_UNQUALIFIED
                                                        : API_VIEW_QUALIFIED));
        goto out;
    }
    api_conf_free(api, &next);
    api_function_collect_code(api, f); /* code an update installed and did not keep */
out:
    api_unlock(api);
}

static int configuration_apply(struct pt_api *api, struct api_function *f, json_t *body,
                               void *arg, struct api_conf *next, struct pt_api_response *r)
{
    (void)api;
    (void)f;
    (void)arg;
    struct pt_error err = {0};
    const char *etype = NULL;
    if (role_refused(body, false, r))
        return -1;
    if (api_conf_apply(next, body, &etype, &err) != 0) {
        conf_error(r, etype, &err);
        return -1;
    }
    if (pt_function_validate(&next->cfg, &err) != 0) {
        conf_error(r, NULL, &err);
        return -1;
    }
    return 0;
}

void api_op_update_configuration(struct pt_api *api, const struct api_target *t,
                                 const struct pt_api_request *req, struct pt_api_response *r)
{
    json_t *body = body_object(req, false, r);
    if (!body)
        return;
    update_latest(api, t, body, false, configuration_apply, NULL, r);
    json_decref(body);
}

/* arg: the unpacked struct upload. */
static int code_apply(struct pt_api *api, struct api_function *f, json_t *body, void *arg,
                      struct api_conf *next, struct pt_api_response *r)
{
    struct upload *up = arg;
    struct pt_error err = {0};
    const char *etype = NULL;
    json_t *arch = json_object_get(body, "Architectures");
    json_t *only = arch ? json_pack("{s:O}", "Architectures", arch) : NULL;
    int rc = only ? api_conf_apply(next, only, &etype, &err) : 0;
    json_decref(only);
    if (rc) {
        conf_error(r, etype, &err);
        return -1;
    }
    if (json_is_true(json_object_get(body, "DryRun"))) {
        pt_strlcpy(next->code_sha256, up->sha, sizeof(next->code_sha256));
        next->code_size = up->size;
        api_resp_json(r, 200, api_conf_json(api, f, next, API_VIEW_UNQUALIFIED));
        return 1;
    }
    return upload_install(api, up, next, r);
}

/*
 * Takes the lock: a code update refused before its upload is unpacked (a missing or busy
 * function must not cost 50 MB of unzip). update_latest checks again under the lock.
 */
static bool refuse_before_upload(struct pt_api *api, const struct api_target *t,
                                 struct pt_api_response *r)
{
    api_lock(api);
    struct api_function *f = find_or_404(api, t, r);
    bool refused = !f || refuse_busy(api, f, r);
    api_unlock(api);
    return refused;
}

void api_op_update_code(struct pt_api *api, const struct api_target *t,
                        const struct pt_api_request *req, struct pt_api_response *r)
{
    json_t *body = body_object(req, false, r);
    if (!body)
        return;
    struct upload up = {0};
    if (!refuse_before_upload(api, t, r) &&
        upload_unpack(api, json_object_get(body, "ZipFile"), &up, r) == 0)
        update_latest(api, t, body, json_is_true(json_object_get(body, "Publish")), code_apply,
                      &up, r);
    upload_discard(&up);
    json_decref(body);
}

/* ---- versions ---- */

void api_op_publish_version(struct pt_api *api, const struct api_target *t,
                            const struct pt_api_request *req, struct pt_api_response *r)
{
    json_t *body = body_object(req, true, r);
    if (!body)
        return;
    struct pt_error err = {0};
    api_lock(api);
    struct api_function *f = find_for_update(api, t, body, r);
    if (!f)
        goto out;
    const char *sha = json_string_value(json_object_get(body, "CodeSha256"));
    if (sha && strcmp(sha, f->latest.code_sha256) != 0) {
        api_error(r, "InvalidParameterValueException",
                  "CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). Please "
                  "try again with the CodeSHA256 in $LATEST.",
                  sha, f->latest.code_sha256);
        goto out;
    }
    const char *desc = json_string_value(json_object_get(body, "Description"));
    if (desc && strlen(desc) > PT_DESCRIPTION_MAX) {
        api_error(r, "ValidationException",
                  "1 validation error detected: Value at 'description' failed to satisfy "
                  "constraint: Member must have length less than or equal to %d",
                  PT_DESCRIPTION_MAX);
        goto out;
    }
    size_t before = f->version_count;
    struct api_conf *c = publish(f, desc, &err);
    if (!c) {
        api_error(r, "ServiceException", "%s", err.msg);
        goto out;
    }
    if (f->version_count != before && api_function_save(api, f, &err) != 0) {
        unpublish(api, f, c);
        api_error(r, "ServiceException", "%s", err.msg);
        goto out;
    }
    api_resp_json(r, 201, api_conf_json(api, f, c, API_VIEW_QUALIFIED));
out:
    api_unlock(api);
    json_decref(body);
}

void api_op_list_versions(struct pt_api *api, const struct api_target *t,
                          const struct pt_api_request *req, struct pt_api_response *r)
{
    struct page pg;
    if (page_start(req, true, &pg, r))
        return;
    api_lock(api);
    struct api_function *f = find_or_404(api, t, r);
    if (f) {
        json_t *list = json_array();
        for (size_t i = 0; i <= f->version_count; i++) {
            const struct api_conf *c = i == 0 ? &f->latest : f->versions[i - 1];
            if (page_take(&pg, f->latest.cfg.name, c->version))
                json_array_append_new(list, listed_conf_json(api, f, c, API_VIEW_QUALIFIED));
        }
        json_t *o = json_object();
        json_object_set_new(o, "Versions", list);
        page_finish(&pg, o);
        api_resp_json(r, 200, o);
    }
    api_unlock(api);
}

/* ---- aliases ---- */

/* Under the lock: applies RoutingConfig (one additional version, weight in [0, 1]). */
static int routing_apply(struct pt_api *api, struct api_function *f, json_t *routing,
                         struct api_alias *a, struct pt_api_response *r)
{
    (void)api;
    json_t *w = json_object_get(routing, "AdditionalVersionWeights");
    if (routing && !json_is_object(routing)) {
        api_error(r, "InvalidParameterValueException", "RoutingConfig must be an object");
        return -1;
    }
    if (!w || json_object_size(w) == 0) {
        a->extra_version[0] = '\0';
        a->extra_weight = 0;
        return 0;
    }
    if (!json_is_object(w) || json_object_size(w) > 1) {
        api_error(r, "InvalidParameterValueException",
                  "Number of items in AdditionalVersionWeights cannot be greater than 1");
        return -1;
    }
    const char *ver = NULL;
    json_t *val = NULL;
    const char *k;
    json_t *v;
    json_object_foreach(w, k, v) {
        ver = k;
        val = v;
    }
    double weight = json_number_value(val);
    if (!json_is_number(val) || weight < 0.0 || weight > 1.0) {
        api_error(r, "ValidationException",
                  "1 validation error detected: Value '{%s=%g}' at "
                  "'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map "
                  "value must satisfy constraint: [Member must have value less than or equal to "
                  "1.0, Member must have value greater than or equal to 0.0]",
                  ver, weight);
        return -1;
    }
    /* The key is checked as the model says (a version number, 1-1024 characters) before it
     * is looked up: "$LATEST" or "x" is a ValidationException, not a missing function. */
    if (!all_digits(ver) || strlen(ver) > 1024) {
        api_error(r, "ValidationException",
                  "1 validation error detected: Value '{%.64s=%g}' at "
                  "'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map "
                  "keys must satisfy constraint: [Member must have length less than or equal to "
                  "1024, Member must have length greater than or equal to 1, Member must satisfy "
                  "regular expression pattern: [0-9]+, Member must not be null]",
                  ver, weight);
        return -1;
    }
    if (strlen(ver) >= sizeof(a->extra_version) || !api_function_conf(f, ver)) {
        char arn[API_ARN_MAX];
        api_function_arn(api, f->latest.cfg.name, ver, arn, sizeof(arn));
        api_error(r, "ResourceNotFoundException", "Function not found: %s", arn);
        return -1;
    }
    if (strcmp(ver, a->version) == 0) {
        api_error(r, "InvalidParameterValueException",
                  "Invalid function version %s. Function version %s is already included in "
                  "routing configuration.",
                  ver, ver);
        return -1;
    }
    if (strcmp(a->version, "$LATEST") == 0) {
        api_error(r, "InvalidParameterValueException",
                  "$LATEST is not supported for an alias pointing to more than 1 version");
        return -1;
    }
    pt_strlcpy(a->extra_version, ver, sizeof(a->extra_version));
    a->extra_weight = weight;
    return 0;
}

static int alias_version_apply(struct pt_api *api, struct api_function *f, json_t *v,
                               struct api_alias *a, struct pt_api_response *r)
{
    const char *ver = json_string_value(v);
    if (!ver || (!all_digits(ver) && strcmp(ver, "$LATEST") != 0) ||
        strlen(ver) >= sizeof(a->version)) {
        api_error(r, "ValidationException",
                  "1 validation error detected: Value '%s' at 'functionVersion' failed to "
                  "satisfy constraint: Member must satisfy regular expression pattern: "
                  "(\\$LATEST|[0-9]+)",
                  ver ? ver : "null");
        return -1;
    }
    if (!api_function_conf(f, ver)) {
        char arn[API_ARN_MAX];
        api_function_arn(api, f->latest.cfg.name, ver, arn, sizeof(arn));
        api_error(r, "ResourceNotFoundException", "Function not found: %s", arn);
        return -1;
    }
    pt_strlcpy(a->version, ver, sizeof(a->version));
    return 0;
}

static int alias_description_apply(json_t *v, struct api_alias *a, struct pt_api_response *r)
{
    if (!v)
        return 0;
    const char *d = json_string_value(v);
    if (!d || strlen(d) > PT_DESCRIPTION_MAX) {
        api_error(r, "ValidationException",
                  "1 validation error detected: Value at 'description' failed to satisfy "
                  "constraint: Member must have length less than or equal to %d",
                  PT_DESCRIPTION_MAX);
        return -1;
    }
    pt_strlcpy(a->description, d, sizeof(a->description));
    return 0;
}

/* GetAlias's and UpdateAlias's words differ, as Lambda's do. */
static void alias_not_found(struct pt_api *api, const struct api_target *t, const char *alias,
                            const char *words, struct pt_api_response *r)
{
    char arn[API_ARN_MAX];
    api_function_arn(api, t->name, alias, arn, sizeof(arn));
    api_error(r, "ResourceNotFoundException", "%s %s", words, arn);
}

void api_op_create_alias(struct pt_api *api, const struct api_target *t,
                         const struct pt_api_request *req, struct pt_api_response *r)
{
    json_t *body = body_object(req, false, r);
    if (!body)
        return;
    struct pt_error err = {0};
    api_lock(api);
    struct api_function *f = find_or_404(api, t, r);
    if (!f)
        goto out;
    struct api_alias a;
    memset(&a, 0, sizeof(a));
    const char *name = json_string_value(json_object_get(body, "Name"));
    if (!name || !pt_aws_lambda_alias_name_ok(name)) {
        api_error(r, "ValidationException",
                  "1 validation error detected: Value '%s' at 'name' failed to satisfy "
                  "constraint: Member must satisfy regular expression pattern: "
                  "(?!^[0-9]+$)([a-zA-Z0-9-_]+)",
                  name ? name : "null");
        goto out;
    }
    pt_strlcpy(a.name, name, sizeof(a.name));
    if (api_alias_find(f, name)) {
        char arn[API_ARN_MAX];
        api_function_arn(api, t->name, name, arn, sizeof(arn));
        api_error(r, "ResourceConflictException", "Alias already exists: %s", arn);
        goto out;
    }
    if (alias_version_apply(api, f, json_object_get(body, "FunctionVersion"), &a, r) ||
        alias_description_apply(json_object_get(body, "Description"), &a, r) ||
        routing_apply(api, f, json_object_get(body, "RoutingConfig"), &a, r))
        goto out;
    pt_uuid4(a.revision_id);
    struct api_alias *v = realloc(f->aliases, (f->alias_count + 1) * sizeof(*v));
    if (!v) {
        api_error(r, "ServiceException", "out of memory");
        goto out;
    }
    f->aliases = v;
    f->aliases[f->alias_count++] = a;
    if (api_function_save(api, f, &err) != 0) {
        f->alias_count--;
        api_error(r, "ServiceException", "%s", err.msg);
        goto out;
    }
    api_resp_json(r, 201, api_alias_json(api, f, &f->aliases[f->alias_count - 1]));
out:
    api_unlock(api);
    json_decref(body);
}

void api_op_get_alias(struct pt_api *api, const struct api_target *t, const char *alias,
                      struct pt_api_response *r)
{
    api_lock(api);
    struct api_function *f = find_or_404(api, t, r);
    struct api_alias *a = f ? api_alias_find(f, alias) : NULL;
    if (f && !a)
        alias_not_found(api, t, alias, "Cannot find alias arn:", r);
    if (a)
        api_resp_json(r, 200, api_alias_json(api, f, a));
    api_unlock(api);
}

void api_op_update_alias(struct pt_api *api, const struct api_target *t, const char *alias,
                         const struct pt_api_request *req, struct pt_api_response *r)
{
    json_t *body = body_object(req, true, r);
    if (!body)
        return;
    struct pt_error err = {0};
    api_lock(api);
    struct api_function *f = find_or_404(api, t, r);
    struct api_alias *a = f ? api_alias_find(f, alias) : NULL;
    if (f && !a)
        alias_not_found(api, t, alias, "Alias not found:", r);
    if (!a || revision_mismatch(body, a->revision_id, r))
        goto out;
    struct api_alias next = *a;
    json_t *v;
    if ((v = json_object_get(body, "FunctionVersion")) &&
        alias_version_apply(api, f, v, &next, r))
        goto out;
    if (alias_description_apply(json_object_get(body, "Description"), &next, r))
        goto out;
    if ((v = json_object_get(body, "RoutingConfig"))) {
        if (routing_apply(api, f, v, &next, r))
            goto out;
    } else if (next.extra_version[0] && strcmp(next.extra_version, next.version) == 0) {
        api_error(r, "InvalidParameterValueException",
                  "Invalid function version %s. Function version %s is already included in "
                  "routing configuration.",
                  next.version, next.version);
        goto out;
    } else if (next.extra_version[0] && strcmp(next.version, "$LATEST") == 0) {
        /* The weights it keeps would route part of the traffic next to $LATEST. */
        api_error(r, "InvalidParameterValueException",
                  "$LATEST is not supported for an alias pointing to more than 1 version");
        goto out;
    }
    pt_uuid4(next.revision_id);
    struct api_alias old = *a;
    *a = next;
    if (api_function_save(api, f, &err) != 0) {
        *a = old;
        api_error(r, "ServiceException", "%s", err.msg);
        goto out;
    }
    api_resp_json(r, 200, api_alias_json(api, f, a));
out:
    api_unlock(api);
    json_decref(body);
}

void api_op_delete_alias(struct pt_api *api, const struct api_target *t, const char *alias,
                         struct pt_api_response *r)
{
    struct pt_error err = {0};
    api_lock(api);
    struct api_function *f = find_or_404(api, t, r);
    struct api_alias *a = f ? api_alias_find(f, alias) : NULL;
    /* Lambda answers 204 for an alias that is not there (its model lists no
     * ResourceNotFoundException for DeleteAlias): deleting twice, or after someone else did,
     * is not an error. */
    if (f && !a)
        r->status = 204;
    if (a) {
        size_t at = (size_t)(a - f->aliases);
        struct api_alias old = *a;
        memmove(f->aliases + at, f->aliases + at + 1,
                (f->alias_count - at - 1) * sizeof(*f->aliases));
        f->alias_count--;
        if (api_function_save(api, f, &err) != 0) {
            memmove(f->aliases + at + 1, f->aliases + at,
                    (f->alias_count - at) * sizeof(*f->aliases));
            f->aliases[at] = old;
            f->alias_count++;
            api_error(r, "ServiceException", "%s", err.msg);
        } else {
            r->status = 204;
        }
    }
    api_unlock(api);
}

static int alias_by_name(const void *a, const void *b)
{
    return strcmp((*(const struct api_alias *const *)a)->name,
                  (*(const struct api_alias *const *)b)->name);
}

void api_op_list_aliases(struct pt_api *api, const struct api_target *t,
                         const struct pt_api_request *req, struct pt_api_response *r)
{
    struct page pg;
    if (page_start(req, false, &pg, r))
        return;
    char fv[API_VERSION_MAX];
    bool filter = api_query_get(req->query, "FunctionVersion", fv, sizeof(fv)) > 0;
    api_lock(api);
    struct api_function *f = find_or_404(api, t, r);
    /* In name order, the order of the Marker's keys. */
    const struct api_alias **sorted = f ? calloc(f->alias_count + 1, sizeof(*sorted)) : NULL;
    if (f && !sorted)
        api_error(r, "ServiceException", "out of memory");
    if (sorted) {
        for (size_t i = 0; i < f->alias_count; i++)
            sorted[i] = &f->aliases[i];
        qsort(sorted, f->alias_count, sizeof(*sorted), alias_by_name);
        json_t *list = json_array();
        for (size_t i = 0; i < f->alias_count; i++) {
            const struct api_alias *a = sorted[i];
            if ((!filter || strcmp(a->version, fv) == 0) && page_take(&pg, a->name, NULL))
                json_array_append_new(list, api_alias_json(api, f, a));
        }
        json_t *o = json_object();
        json_object_set_new(o, "Aliases", list);
        page_finish(&pg, o);
        api_resp_json(r, 200, o);
    }
    api_unlock(api);
    free(sorted);
}

/* ---- reserved concurrency ---- */

static bool refuse_qualified(const struct api_target *t, struct pt_api_response *r)
{
    if (!t->qualifier[0])
        return false;
    api_error(r, "InvalidParameterValueException",
              "This operation is permitted on Lambda functions only. Aliases and versions do not "
              "support this operation. Please specify either a function name or an unqualified "
              "function ARN.");
    return true;
}

/* Under the lock: 404 with the $LATEST ARN, as the concurrency calls answer. */
static struct api_function *find_latest_or_404(struct pt_api *api, const struct api_target *t,
                                               struct pt_api_response *r)
{
    struct api_function *f = api_function_find(api, t->name);
    if (!f) {
        char arn[API_ARN_MAX];
        api_function_arn(api, t->name, "$LATEST", arn, sizeof(arn));
        api_error(r, "ResourceNotFoundException", "Function not found: %s", arn);
    }
    return f;
}

/* Under the lock: sets f's reserved concurrency; every registration is redone with it. */
static int reserved_set(struct pt_api *api, struct api_function *f, int value,
                        struct pt_api_response *r)
{
    struct pt_error err = {0};
    int old = f->reserved;
    api_function_set_reserved(api, f, value);
    if (api_function_save(api, f, &err) != 0) {
        api_function_set_reserved(api, f, old);
        api_error(r, "ServiceException", "%s", err.msg);
        return -1;
    }
    /* New registrations, so that new invocations count against the new pool. */
    api_function_retire_all(api, f);
    return 0;
}

void api_op_put_concurrency(struct pt_api *api, const struct api_target *t,
                            const struct pt_api_request *req, struct pt_api_response *r)
{
    if (refuse_qualified(t, r))
        return;
    json_t *body = body_object(req, false, r);
    if (!body)
        return;
    json_t *v = json_object_get(body, "ReservedConcurrentExecutions");
    api_lock(api);
    struct api_function *f = find_latest_or_404(api, t, r);
    if (!f)
        goto out;
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        api_error(r, "ValidationException",
                  "1 validation error detected: Value at 'reservedConcurrentExecutions' failed "
                  "to satisfy constraint: Member must have value greater than or equal to 0");
        goto out;
    }
    json_int_t want = json_integer_value(v);
    long others = 0;
    for (size_t i = 0; i < api->fn_count; i++)
        if (api->fns[i] != f && api->fns[i]->reserved > 0)
            others += api->fns[i]->reserved;
    /* Lambda keeps 100 of the account's concurrency unreserved. want is any JSON integer up to
     * INT64_MAX: compared, never added to (want + others could overflow). */
    if (want > (json_int_t)api->account_concurrency - 100 - others) {
        api_error(r, "InvalidParameterValueException",
                  "Specified ReservedConcurrentExecutions for function decreases account's "
                  "UnreservedConcurrentExecution below its minimum value of [100].");
        goto out;
    }
    if (reserved_set(api, f, (int)want, r) == 0)
        api_resp_json(r, 200, json_pack("{s:I}", "ReservedConcurrentExecutions", want));
out:
    api_unlock(api);
    json_decref(body);
}

void api_op_get_concurrency(struct pt_api *api, const struct api_target *t,
                            struct pt_api_response *r)
{
    if (refuse_qualified(t, r))
        return;
    api_lock(api);
    struct api_function *f = find_latest_or_404(api, t, r);
    if (f)
        api_resp_json(r, 200,
                      f->reserved >= 0
                          ? json_pack("{s:i}", "ReservedConcurrentExecutions", f->reserved)
                          : json_object());
    api_unlock(api);
}

void api_op_delete_concurrency(struct pt_api *api, const struct api_target *t,
                               struct pt_api_response *r)
{
    if (refuse_qualified(t, r))
        return;
    api_lock(api);
    struct api_function *f = find_latest_or_404(api, t, r);
    if (f && reserved_set(api, f, -1, r) == 0)
        r->status = 204;
    api_unlock(api);
}

/* ---- account and code ---- */

void api_op_account_settings(struct pt_api *api, struct pt_api_response *r)
{
    long long total = 0;
    long reserved = 0;
    api_lock(api);
    size_t count = api->fn_count;
    for (size_t i = 0; i < api->fn_count; i++) {
        total += api->fns[i]->latest.code_size;
        for (size_t k = 0; k < api->fns[i]->version_count; k++)
            total += api->fns[i]->versions[k]->code_size;
        if (api->fns[i]->reserved > 0)
            reserved += api->fns[i]->reserved;
    }
    api_unlock(api);
    api_resp_json(r, 200,
                  json_pack("{s:{s:I,s:I,s:I,s:i,s:i},s:{s:I,s:I}}", "AccountLimit",
                            "TotalCodeSize", (json_int_t)80530636800LL, "CodeSizeUnzipped",
                            (json_int_t)PT_API_UNZIPPED_MAX, "CodeSizeZipped",
                            (json_int_t)52428800, "ConcurrentExecutions",
                            api->account_concurrency, "UnreservedConcurrentExecutions",
                            api->account_concurrency - (int)reserved, "AccountUsage",
                            "TotalCodeSize", (json_int_t)total, "FunctionCount",
                            (json_int_t)count));
}

void api_op_code_download(struct pt_api *api, const char *name, const char *file,
                          struct pt_api_response *r)
{
    size_t n = strlen(file);
    bool ok = n > 4 && n < API_CODE_ID_MAX + 4 && strcmp(file + n - 4, ".zip") == 0;
    for (size_t i = 0; ok && i < n - 4; i++)
        ok = (file[i] >= '0' && file[i] <= '9') || (file[i] >= 'a' && file[i] <= 'f');
    struct pt_aws_lambda_arn arn;
    if (!ok || pt_aws_lambda_arn_parse(name, &arn, NULL) != 0 || arn.form != PT_AWS_ARN_NAME ||
        arn.qualifier[0]) {
        api_error(r, "ResourceNotFoundException", "No such code package");
        return;
    }
    char path[PATH_MAX + 400];
    snprintf(path, sizeof(path), "%s/functions/%s/code/%s", api->root, name, file);
    struct pt_buf b;
    pt_buf_init(&b, 64 * 1024 * 1024);
    struct pt_error err = {0};
    if (pt_file_read(path, b.limit, &b, &err) != 0) {
        pt_buf_free(&b);
        api_error(r, "ResourceNotFoundException", "No such code package");
        return;
    }
    size_t len = 0;
    r->body = pt_buf_steal(&b, &len);
    r->body_len = len;
    r->content_type = "application/zip";
    r->status = 200;
    pt_buf_free(&b);
}
