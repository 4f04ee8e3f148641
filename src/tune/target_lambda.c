#include "tune/target_lambda.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/fs.h"
#include "base/str.h"
#include "tune/tune.h"

/* Whether an alias's version is Active, known before its first invocation (lambda_await_active). */
enum lambda_activity {
    LAMBDA_UNCHECKED = 0,
    LAMBDA_CHECKING, /* one invocation waits for it; the others wait for that one */
    LAMBDA_ACTIVE,
    LAMBDA_FAILED,   /* State Failed: its invocations fail without being sent */
    LAMBDA_UNKNOWN,  /* the wait failed (timed out, interrupted, an API error): the run stops */
};

/* One alias the run made, and the version it points at. */
struct lambda_alias_slot {
    char alias[PT_LAMBDA_ALIAS_MAX];
    char version[PT_LAMBDA_VERSION_MAX]; /* "" until published */
    char previous[PT_LAMBDA_VERSION_MAX]; /* the alias's version before the run, "" if ours */
    bool created;                         /* the alias is pointed by the run (so must be undone) */
    bool used;                            /* onlyColdStarts: already invoked */
    bool version_ours;                    /* published by the run (or by the journal's run) */
    /* Guarded by the target's lock, as `used`. */
    enum lambda_activity activity;
    int wait_rc;   /* LAMBDA_UNKNOWN: the wait's error */
    char *failure; /* LAMBDA_FAILED: what GetFunctionConfiguration said (malloc'd) */
};

struct lambda_power {
    int power;
    struct lambda_alias_slot *slots;
    size_t n_slots;
};

struct pt_lambda_target {
    struct pt_aws_client *client;
    char function[PT_TUNE_FUNCTION_MAX];
    long num;
    bool only_cold;
    long wait_ms, poll_ms;
    long active_wait_ms; /* a version's way to Active: a SnapStart snapshot takes minutes */
    struct pt_lambda_function_config original;
    long max_version_before; /* versions up to this one are the user's */
    /* Prepared powers; changed only in prepare/finish_power, which never run during invokes. */
    struct lambda_power *powers;
    size_t n_powers, cap_powers;
    pthread_mutex_t lock; /* guards the slots' `used`, `activity` and `failure` across invoking
                           * threads, and failed_versions */
    pthread_cond_t activity_known; /* a slot left LAMBDA_CHECKING */
    char failed_versions[PT_ERROR_MSG_MAX]; /* "RAM512 (version 7) is Failed: ...; ..." */
    struct pt_error cleanup_err; /* first failure of finish_power (which cannot return one) */
    char left[PT_ERROR_MSG_MAX / 2]; /* what the cleanup could not remove, for the error */
    bool finished;
    bool changed; /* an UpdateFunctionConfiguration was sent: $LATEST needs restoring */
    bool (*interrupted)(void *arg);
    void *interrupted_arg;
    /* What cleanups could not remove (an alias, or a version: alias ""), kept for the journal. */
    struct lambda_alias_slot *leftovers;
    size_t n_leftovers;
    /* The journal (see target_lambda.h): its path, its locked descriptor (-1: none). */
    char journal_path[PATH_MAX];
    int journal_fd;
    char notice[PT_ERROR_MSG_MAX];
};

/* Adds item to a bounded list of size bytes, separated by sep ("..." once full). */
static void lambda_list_add(char *list, size_t size, const char *sep, const char *item)
{
    size_t n = strlen(list), k = strlen(sep);
    if (n + k + 4 >= size)
        return;
    if (n + k + strlen(item) + 4 >= size)
        snprintf(list + n, size - n, "%s...", n ? sep : "");
    else
        snprintf(list + n, size - n, "%s%s", n ? sep : "", item);
}

/* Notes an alias or version the cleanup could not remove. */
static void lambda_left(struct pt_lambda_target *t, const char *fmt, ...)
{
    char item[PT_LAMBDA_ALIAS_MAX + PT_LAMBDA_VERSION_MAX + 32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(item, sizeof(item), fmt, ap);
    va_end(ap);
    lambda_list_add(t->left, sizeof(t->left), ", ", item);
}

/* Keeps what a cleanup could not remove for the journal; alias_too false: only the version. */
static void lambda_keep_leftover(struct pt_lambda_target *t, const struct lambda_alias_slot *s,
                                 bool alias_too)
{
    struct lambda_alias_slot *v = realloc(t->leftovers, (t->n_leftovers + 1) * sizeof(*v));
    if (!v)
        return; /* the error message still names it */
    t->leftovers = v;
    v[t->n_leftovers] = *s;
    v[t->n_leftovers].failure = NULL; /* the slot's, freed with it */
    v[t->n_leftovers].created = alias_too;
    if (!alias_too)
        v[t->n_leftovers].alias[0] = '\0';
    t->n_leftovers++;
}

static int lambda_check_interrupt(const struct pt_lambda_target *t, struct pt_error *err)
{
    if (t->interrupted && t->interrupted(t->interrupted_arg))
        return pt_error_set(err, PT_EINTR, "interrupted");
    return 0;
}

static struct lambda_power *lambda_find(struct pt_lambda_target *t, int power)
{
    for (size_t i = 0; i < t->n_powers; i++)
        if (t->powers[i].power == power)
            return &t->powers[i];
    return NULL;
}

static bool version_is_ours(const struct pt_lambda_target *t, const char *version)
{
    long v;
    return pt_parse_long(version, 1, 1L << 40, &v) == 0 && v > t->max_version_before;
}

/*
 * onlyColdStarts' "<original> - <alias>", the original shortened (at a character) so that the
 * whole fits Lambda's 256 characters: a long Description would make every update fail.
 */
static void lambda_cold_description(const char *original, const char *alias, char *out,
                                    size_t size)
{
    size_t room = PT_LAMBDA_DESCRIPTION_CHARS - (strlen(alias) + 3), units = 0, at = 0;
    size_t n = strlen(original);
    while (at < n) {
        size_t k = pt_utf8_seq((const unsigned char *)original + at, n - at);
        size_t u = k == 4 ? 2 : 1; /* Lambda counts UTF-16 units: astral characters are 2 */
        if (units + u > room)
            break;
        units += u;
        at += k ? k : 1;
    }
    snprintf(out, size, "%.*s - %s", (int)at, original, alias);
}

/* ---- the journal of a run (target_lambda.h) ---- */

#define LAMBDA_JOURNAL_MAX (256 * 1024)

static int lambda_cleanup_power(struct pt_lambda_target *t, struct lambda_power *p,
                                struct pt_error *err);

static json_t *lambda_journal_json(const struct pt_lambda_target *t)
{
    char started[32];
    pt_format_iso8601_ms(pt_epoch_ms(), started, sizeof(started));
    json_t *aliases = json_array();
    json_t *j = json_pack("{s:s, s:i, s:s, s:i, s:s, s:i, s:s, s:o}", "powertune", "tune-journal",
                          "version", 1, "functionArn", t->original.function_arn, "pid",
                          (int)getpid(), "startedAt", started, "memorySize",
                          t->original.memory_mb, "description", t->original.description,
                          "aliases", aliases);
    /* Power n_powers: the leftovers. */
    for (size_t i = 0; j && aliases && i <= t->n_powers; i++) {
        const struct lambda_alias_slot *slots = i < t->n_powers ? t->powers[i].slots : t->leftovers;
        size_t n = i < t->n_powers ? t->powers[i].n_slots : t->n_leftovers;
        for (size_t k = 0; k < n; k++) {
            const struct lambda_alias_slot *s = &slots[k];
            if ((s->created || (i == t->n_powers && s->version_ours)) &&
                json_array_append_new(aliases, json_pack("{s:s, s:s, s:s, s:b}", "alias",
                                                         s->alias, "version", s->version,
                                                         "previous", s->previous, "ours",
                                                         s->version_ours)) != 0) {
                json_decref(j);
                return NULL;
            }
        }
    }
    return j;
}

/*
 * Rewrites the journal in place (the lock is on its descriptor, so no rename), synced before a
 * change to the function depends on it. A torn write is refused at the next open, by name.
 */
static int lambda_journal_write(struct pt_lambda_target *t, struct pt_error *err)
{
    if (t->journal_fd < 0)
        return 0;
    json_t *j = lambda_journal_json(t);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    int rc = 0;
    if (!text)
        return pt_error_set(err, PT_ENOMEM, "out of memory for the journal %s", t->journal_path);
    size_t n = strlen(text);
    ssize_t w = pwrite(t->journal_fd, text, n, 0);
    if (w != (ssize_t)n || ftruncate(t->journal_fd, (off_t)n) != 0 || fsync(t->journal_fd) != 0)
        rc = pt_error_errno(err, PT_ESYS, w < 0 ? errno : EIO, "cannot write the journal %s",
                            t->journal_path);
    free(text);
    return rc;
}

/* The journal's aliases, as a power whose slots the cleanup undoes. */
static int lambda_journal_leftovers(json_t *aliases, struct lambda_power *p, struct pt_error *err)
{
    size_t n = json_array_size(aliases);
    memset(p, 0, sizeof(*p));
    if (n == 0)
        return 0;
    if (!(p->slots = calloc(n, sizeof(*p->slots))))
        return pt_error_set(err, PT_ENOMEM, "out of memory for %zu aliases", n);
    size_t i;
    json_t *a;
    json_array_foreach(aliases, i, a) {
        struct lambda_alias_slot *s = &p->slots[p->n_slots];
        const char *alias = NULL, *version = NULL, *previous = NULL;
        int ours = 0;
        if (json_unpack(a, "{s:s, s:s, s:s, s:b}", "alias", &alias, "version", &version,
                        "previous", &previous, "ours", &ours) != 0 ||
            pt_strlcpy(s->alias, alias, sizeof(s->alias)) >= sizeof(s->alias) ||
            pt_strlcpy(s->version, version, sizeof(s->version)) >= sizeof(s->version) ||
            pt_strlcpy(s->previous, previous, sizeof(s->previous)) >= sizeof(s->previous))
            return pt_error_set(err, PT_EPROTO, "aliases[%zu]: expected {\"alias\", \"version\", "
                                "\"previous\": strings within Lambda's limits, \"ours\": "
                                "boolean}", i);
        s->created = s->alias[0] != '\0'; /* "": a version left without its alias */
        s->version_ours = ours;
        p->n_slots++;
    }
    return 0;
}

/*
 * An unfinished run's journal: its original configuration replaces the one just read (which is
 * that run's last tuned size), and what it left is removed now.
 */
static int lambda_journal_recover(struct pt_lambda_target *t, const char *text,
                                  struct pt_error *err)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    const char *arn = NULL, *description = NULL, *started = "?";
    json_t *aliases = NULL;
    int memory = 0, pid = 0;
    struct lambda_power left = {0};
    int rc = 0;
    if (!j || json_unpack(j, "{s:s, s:i, s?s, s:i, s:s, s:o}", "functionArn", &arn, "pid", &pid,
                          "startedAt", &started, "memorySize", &memory, "description",
                          &description, "aliases", &aliases) != 0 ||
        !json_is_array(aliases) || memory < PT_TUNE_POWER_MIN || memory > PT_TUNE_POWER_MAX ||
        pt_strlcpy(t->original.description, description, sizeof(t->original.description)) >=
            sizeof(t->original.description)) {
        rc = pt_error_set(err, PT_EPROTO, "expected functionArn, pid, memorySize (%d..%d), "
                          "description and aliases%s%s", PT_TUNE_POWER_MIN, PT_TUNE_POWER_MAX,
                          j ? "" : ": ", j ? "" : je.text);
        goto out;
    }
    if (strcmp(arn, t->original.function_arn) != 0) {
        rc = pt_error_set(err, PT_EPROTO, "it is the journal of %s, not of %s", arn,
                          t->original.function_arn);
        goto out;
    }
    if ((rc = lambda_journal_leftovers(aliases, &left, err)))
        goto out;
    int tuned = t->original.memory_mb;
    t->original.memory_mb = memory;
    t->changed = true; /* $LATEST is at that run's size: restore it even if this run changes nothing */
    struct pt_error e;
    if (left.n_slots && lambda_cleanup_power(t, &left, &e) && !t->cleanup_err.code)
        t->cleanup_err = e;
    snprintf(t->notice, sizeof(t->notice),
             "a run on this function that did not finish (pid %d, started %.40s) left $LATEST at "
             "MemorySize %d MB; its original configuration (MemorySize %d MB, Description "
             "\"%.200s\") is what this run restores%s (journal %.300s)", pid, started, tuned, memory,
             t->original.description, left.n_slots ? ", and its aliases were removed" : "",
             t->journal_path);
out:
    free(left.slots);
    json_decref(j);
    return rc;
}

/* "arn:aws:lambda:us-east-1:1:function:f" -> "arn_aws_lambda_us-east-1_1_function_f.json" */
static int lambda_journal_path(struct pt_lambda_target *t, const char *dir, struct pt_error *err)
{
    char name[NAME_MAX + 1];
    size_t n = 0;
    size_t len = strlen(t->original.function_arn);
    if (len > 8 && strcmp(t->original.function_arn + len - 8, ":$LATEST") == 0)
        len -= 8; /* the function's journal, whichever way its ARN was read */
    for (const char *c = t->original.function_arn; c < t->original.function_arn + len &&
                                                   n + 6 < sizeof(name); c++)
        name[n++] = (isalnum((unsigned char)*c) || *c == '-' || *c == '.') ? *c : '_';
    snprintf(name + n, sizeof(name) - n, ".json");
    int rc = pt_mkdir_p(dir, 0700, err);
    if (!rc && pt_path_join(t->journal_path, sizeof(t->journal_path), dir, name) != 0)
        rc = pt_error_set(err, PT_EUSAGE, "journal directory %s: path too long", dir);
    return rc;
}

/*
 * Opens and locks the function's journal. Held by a live process: another run is tuning the
 * function, refused. Left by a dead one: recovered. Then it holds this run's original.
 */
static int lambda_journal_open(struct pt_lambda_target *t, const char *dir, struct pt_error *err)
{
    int rc = lambda_journal_path(t, dir, err);
    char *text = NULL;
    if (rc)
        return rc;
    for (;;) {
        int fd = open(t->journal_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
            return pt_error_errno(err, PT_ESYS, errno, "cannot open the journal %s",
                                  t->journal_path);
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            char other[512] = "";
            ssize_t r = pread(fd, other, sizeof(other) - 1, 0);
            other[r > 0 ? r : 0] = '\0';
            json_t *j = json_loads(other, 0, NULL);
            json_int_t pid = json_integer_value(json_object_get(j, "pid"));
            json_decref(j);
            close(fd);
            if (e != EWOULDBLOCK)
                return pt_error_errno(err, PT_ESYS, e, "cannot lock the journal %s",
                                      t->journal_path);
            return pt_error_set(err, PT_ESTATE, "another powertune tune (pid %lld) is tuning %s "
                                "now: two runs would change each other's MemorySize (its journal: "
                                "%s)", (long long)pid, t->original.function_arn,
                                t->journal_path);
        }
        /* Unlinked by its finished owner between our open and our lock: take the new one. */
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(t->journal_path, &b) == 0 && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev) {
            t->journal_fd = fd;
            break;
        }
        close(fd);
    }
    struct pt_buf buf;
    pt_buf_init(&buf, LAMBDA_JOURNAL_MAX);
    rc = pt_file_read(t->journal_path, LAMBDA_JOURNAL_MAX, &buf, err);
    if (!rc && buf.len > 0) {
        text = buf.data;
        if ((rc = lambda_journal_recover(t, text, err)))
            pt_error_wrap(err, "the journal of an unfinished run, %s, is unreadable; put %s's "
                          "MemorySize and Description back as they were before that run, then "
                          "delete the file", t->journal_path, t->original.function_arn);
    }
    pt_buf_free(&buf);
    if (!rc)
        rc = lambda_journal_write(t, err);
    if (rc) {
        close(t->journal_fd);
        t->journal_fd = -1;
    }
    return rc;
}

/* Restored: the journal goes. Not restored: it stays for the next run, which restores it. */
static void lambda_journal_close(struct pt_lambda_target *t, bool restored)
{
    if (t->journal_fd < 0)
        return;
    if (restored)
        unlink(t->journal_path);
    else
        lambda_journal_write(t, NULL);
    close(t->journal_fd);
    t->journal_fd = -1;
}

/* Update, wait, publish, point the alias (the reference's Publisher, one configuration). */
static int lambda_publish_alias(struct pt_lambda_target *t, int power, const char *description,
                                struct lambda_alias_slot *slot, struct pt_error *err)
{
    t->changed = true; /* before the call: a failed one may still have been applied */
    int rc = pt_lambda_update_configuration(t->client, t->function, power, description, NULL, err);
    if (!rc)
        rc = pt_lambda_wait_updated(t->client, t->function, t->poll_ms, t->wait_ms, err);
    if (!rc)
        rc = pt_lambda_publish_version(t->client, t->function, NULL, slot->version, err);
    if (!rc) {
        slot->version_ours = version_is_ours(t, slot->version);
        rc = pt_lambda_point_alias(t->client, t->function, slot->alias, slot->version,
                                   slot->previous, err);
    }
    if (!rc) {
        slot->created = true;
        rc = lambda_journal_write(t, err);
    }
    return rc;
}

static int lambda_prepare_power(void *ctx, int power, struct pt_error *err)
{
    struct pt_lambda_target *t = ctx;
    int rc = lambda_check_interrupt(t, err);
    if (rc)
        return rc;
    if (lambda_find(t, power))
        return pt_error_set(err, PT_ESTATE, "power %d MB is already prepared", power);
    if (t->n_powers == t->cap_powers) {
        size_t cap = t->cap_powers ? t->cap_powers * 2 : 8;
        struct lambda_power *v = realloc(t->powers, cap * sizeof(*v));
        if (!v)
            return pt_error_set(err, PT_ENOMEM, "out of memory for %zu powers", cap);
        t->powers = v;
        t->cap_powers = cap;
    }
    size_t n = t->only_cold ? (size_t)t->num : 1;
    struct lambda_power *p = &t->powers[t->n_powers];
    p->power = power;
    p->n_slots = n;
    if (!(p->slots = calloc(n, sizeof(*p->slots))))
        return pt_error_set(err, PT_ENOMEM, "out of memory for %zu aliases", n);
    /* Registered before the calls, so finish cleans up whatever a failure leaves behind. */
    t->n_powers++;
    for (size_t i = 0; i < n && !rc; i++) {
        struct lambda_alias_slot *s = &p->slots[i];
        if (t->only_cold) {
            char desc[PT_LAMBDA_DESCRIPTION_MAX + PT_LAMBDA_ALIAS_MAX + 8];
            snprintf(s->alias, sizeof(s->alias), "RAM%d-%zu", power, i);
            /* A distinct Description makes PublishVersion create a distinct version. */
            lambda_cold_description(t->original.description, s->alias, desc, sizeof(desc));
            rc = lambda_publish_alias(t, power, desc, s, err);
        } else {
            snprintf(s->alias, sizeof(s->alias), "RAM%d", power);
            rc = lambda_publish_alias(t, power, NULL, s, err);
        }
    }
    return rc;
}

static void lambda_fill_result(struct pt_lambda_invoke_result *r, struct pt_target_result *out)
{
    out->payload = r->payload;
    out->payload_len = r->payload_len;
    r->payload = NULL;
    if (r->function_error[0]) {
        out->function_error = true;
        json_t *j = json_loadb(out->payload ? out->payload : "", out->payload_len, 0, NULL);
        json_t *et = json_object_get(j, "errorType");
        pt_strlcpy(out->error_type, json_is_string(et) ? json_string_value(et) : r->function_error,
                   sizeof(out->error_type));
        json_decref(j);
    }
    if (!r->has_report) {
        /* Without a REPORT there is no duration: a failed sample, never a silent 0 ms. */
        if (!out->function_error) {
            out->function_error = true;
            pt_strlcpy(out->error_type, "Powertune.NoReportInLogTail", sizeof(out->error_type));
        }
        out->init_ms = -1;
        return;
    }
    const struct pt_lambda_report *rep = &r->report;
    out->duration_ms = rep->duration_ms;
    out->billed_ms = rep->billed_ms + rep->billed_restore_ms;
    /* The reference counts Init and Restore Duration in the performance figure. */
    if (rep->init_ms >= 0)
        out->init_ms = rep->init_ms + rep->restore_ms;
    else
        out->init_ms = rep->restore_ms > 0 ? rep->restore_ms : -1;
    out->cold_start = out->init_ms >= 0;
    out->max_memory_used_mb = rep->max_memory_used_mb;
    out->cpu_time_ms = 0; /* Lambda does not report it */
}

static int lambda_invoke_qualified(struct pt_lambda_target *t, const char *function,
                                   const char *qualifier, const char *payload, size_t len,
                                   struct pt_target_result *out, struct pt_error *err)
{
    struct pt_lambda_invoke_result r;
    int rc = pt_lambda_invoke(t->client, function, qualifier, payload, len, true, &r,
                              out->throttle_reason, err);
    if (rc)
        return rc;
    lambda_fill_result(&r, out);
    pt_lambda_invoke_result_free(&r);
    return 0;
}

/* A Failed version's invocation, as a failed sample: nothing was sent, nothing billed. */
static int lambda_failed_result(const char *failure, struct pt_target_result *out,
                                struct pt_error *err)
{
    json_t *doc = json_pack("{s:s, s:s}", "errorType", PT_TUNE_VERSION_FAILED_ERROR, "errorMessage",
                            failure);
    out->payload = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!out->payload)
        return pt_error_set(err, PT_ENOMEM, "out of memory");
    out->payload_len = strlen(out->payload);
    out->function_error = true;
    pt_strlcpy(out->error_type, PT_TUNE_VERSION_FAILED_ERROR, sizeof(out->error_type));
    out->init_ms = -1;
    return 0;
}

/*
 * Before the first invocation of s's alias, its version must be Active (the reference's
 * Executor waits with waitUntilFunctionActive: a published version is Pending while Lambda makes
 * it ready, a SnapStart one while its snapshot is made). Asked once per alias and remembered:
 * of the threads of a --parallel run, one waits and the others wait for its answer. *failed: the
 * version is Failed, out holds the failed sample.
 */
static int lambda_await_active(struct pt_lambda_target *t, struct lambda_alias_slot *s,
                               bool *failed, struct pt_target_result *out, struct pt_error *err)
{
    *failed = false;
    pthread_mutex_lock(&t->lock);
    while (s->activity == LAMBDA_CHECKING)
        pthread_cond_wait(&t->activity_known, &t->lock);
    if (s->activity == LAMBDA_UNCHECKED) {
        s->activity = LAMBDA_CHECKING;
        pthread_mutex_unlock(&t->lock);
        const struct pt_lambda_wait_options w = {.poll_ms = t->poll_ms,
                                                 .max_wait_ms = t->active_wait_ms,
                                                 .interrupted = t->interrupted,
                                                 .interrupted_arg = t->interrupted_arg};
        struct pt_lambda_function_config cfg;
        struct pt_error e = {0};
        int rc = pt_lambda_wait_active(t->client, t->function, s->alias, &w, &cfg, &e);
        char *failure = NULL;
        if (rc == PT_ESTATE && strcmp(cfg.state, "Failed") == 0 && !(failure = strdup(e.msg)))
            rc = pt_error_set(&e, PT_ENOMEM, "out of memory");
        pthread_mutex_lock(&t->lock);
        if (failure) {
            s->activity = LAMBDA_FAILED;
            s->failure = failure;
            lambda_list_add(t->failed_versions, sizeof(t->failed_versions), "; ", failure);
        } else {
            s->activity = rc ? LAMBDA_UNKNOWN : LAMBDA_ACTIVE;
            s->wait_rc = rc;
        }
        pthread_cond_broadcast(&t->activity_known);
        if (s->activity == LAMBDA_UNKNOWN) {
            pthread_mutex_unlock(&t->lock);
            if (err)
                *err = e;
            return rc;
        }
    } else if (s->activity == LAMBDA_UNKNOWN) {
        /* The run stops on the first invocation's error; this one only follows it. */
        int rc = s->wait_rc;
        pthread_mutex_unlock(&t->lock);
        return pt_error_set(err, rc, "waiting for %s to be Active failed", s->alias);
    }
    int rc = 0;
    if (s->activity == LAMBDA_FAILED) {
        *failed = true;
        rc = lambda_failed_result(s->failure, out, err);
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

static int lambda_invoke(void *ctx, int power, const char *payload, size_t len,
                         bool new_environment, struct pt_target_result *out, struct pt_error *err)
{
    (void)new_environment; /* Lambda cannot be asked for a cold start; onlyColdStarts uses aliases */
    struct pt_lambda_target *t = ctx;
    struct lambda_power *p = lambda_find(t, power);
    if (!p)
        return pt_error_set(err, PT_ESTATE, "power %d MB was not prepared", power);
    int irc = lambda_check_interrupt(t, err);
    if (irc)
        return irc;
    struct lambda_alias_slot *s = &p->slots[0];
    if (t->only_cold) {
        /* Each alias once; a throttled attempt gives its alias back for the retry. */
        s = NULL;
        pthread_mutex_lock(&t->lock);
        for (size_t i = 0; i < p->n_slots && !s; i++)
            if (!p->slots[i].used)
                s = &p->slots[i];
        if (s)
            s->used = true;
        pthread_mutex_unlock(&t->lock);
        if (!s)
            return pt_error_set(err, PT_ESTATE, "power %d MB: every RAM%d-<n> alias was invoked "
                                "already", power, power);
    }
    bool failed;
    int rc = lambda_await_active(t, s, &failed, out, err);
    if (rc || failed)
        return rc;
    rc = lambda_invoke_qualified(t, t->function, s->alias, payload, len, out, err);
    if (rc == PT_ETHROTTLED && t->only_cold) {
        pthread_mutex_lock(&t->lock);
        s->used = false;
        pthread_mutex_unlock(&t->lock);
    }
    return rc;
}

static int lambda_invoke_processor(void *ctx, const char *function, const char *payload,
                                   size_t len, struct pt_target_result *out, struct pt_error *err)
{
    struct pt_lambda_target *t = ctx;
    return lambda_invoke_qualified(t, function, NULL, payload, len, out, err);
}

static bool alias_in(const struct lambda_power *p, const char *name)
{
    for (size_t i = 0; i < p->n_slots; i++)
        if (strcmp(p->slots[i].alias, name) == 0)
            return true;
    return false;
}

/*
 * Deletes p's aliases, then each of their versions that is ours and that no other alias uses
 * (#124: a user's alias may point at the version PublishVersion handed back).
 */
static int lambda_cleanup_power(struct pt_lambda_target *t, struct lambda_power *p,
                                struct pt_error *err)
{
    int first = 0;
    struct pt_error e;
    for (size_t i = 0; i < p->n_slots; i++) {
        if (!p->slots[i].created)
            continue;
        /* An alias that existed before the run (a user's, or left by an interrupted run) is
         * pointed back, not deleted as the reference's Cleaner does: it is not ours. */
        int rc = p->slots[i].previous[0]
                     ? pt_lambda_update_alias(t->client, t->function, p->slots[i].alias,
                                              p->slots[i].previous, &e)
                     : pt_lambda_delete_alias(t->client, t->function, p->slots[i].alias, &e);
        if (rc && rc != PT_ENOTFOUND) {
            if (p->slots[i].previous[0])
                lambda_left(t, "alias %s (was on version %s)", p->slots[i].alias,
                            p->slots[i].previous);
            else
                lambda_left(t, "alias %s", p->slots[i].alias);
            lambda_keep_leftover(t, &p->slots[i], true);
            if (!first)
                first = pt_error_set(err, rc, "%s", e.msg);
        }
        p->slots[i].created = false;
    }
    struct pt_lambda_alias *aliases = NULL;
    size_t n_aliases = 0;
    int rc = pt_lambda_list_aliases(t->client, t->function, &aliases, &n_aliases, &e);
    if (rc) {
        /* Without the list no version can be proven unused: keep them all. */
        for (size_t i = 0; i < p->n_slots; i++)
            if (p->slots[i].version_ours) {
                lambda_left(t, "version %s", p->slots[i].version);
                lambda_keep_leftover(t, &p->slots[i], false);
            }
        if (!first)
            first = pt_error_set(err, rc, "versions kept: %s", e.msg);
        return first;
    }
    for (size_t i = 0; i < p->n_slots; i++) {
        const char *v = p->slots[i].version;
        bool keep = !p->slots[i].version_ours;
        for (size_t k = 0; k < n_aliases && !keep; k++)
            keep = pt_lambda_alias_uses(&aliases[k], v) && !alias_in(p, aliases[k].name);
        for (size_t k = 0; k < i && !keep; k++)
            keep = strcmp(p->slots[k].version, v) == 0; /* deleted already */
        if (!keep) {
            rc = pt_lambda_delete_version(t->client, t->function, v, &e);
            if (rc && rc != PT_ENOTFOUND) {
                lambda_left(t, "version %s", v);
                lambda_keep_leftover(t, &p->slots[i], false);
                if (!first)
                    first = pt_error_set(err, rc, "%s", e.msg);
            }
        }
    }
    free(aliases);
    return first;
}

static void lambda_forget(struct pt_lambda_target *t, struct lambda_power *p)
{
    for (size_t i = 0; i < p->n_slots; i++)
        free(p->slots[i].failure);
    free(p->slots);
    *p = t->powers[--t->n_powers];
}

static void lambda_finish_power(void *ctx, int power)
{
    struct pt_lambda_target *t = ctx;
    struct lambda_power *p = lambda_find(t, power);
    if (!p)
        return;
    struct pt_error e;
    if (lambda_cleanup_power(t, p, &e) && !t->cleanup_err.code)
        t->cleanup_err = e;
    lambda_forget(t, p);
    /* Best effort: a stale entry only makes the next run try to remove what is gone. */
    lambda_journal_write(t, NULL);
}

static const struct pt_target_ops lambda_ops = {
    .prepare_power = lambda_prepare_power,
    .invoke = lambda_invoke,
    .invoke_processor = lambda_invoke_processor,
    .finish_power = lambda_finish_power,
};

int pt_lambda_target_create(struct pt_lambda_target **out,
                            const struct pt_lambda_target_options *o, struct pt_error *err)
{
    if (o->num < 1)
        return pt_error_set(err, PT_EUSAGE, "num must be at least 1");
    struct pt_lambda_target *t = calloc(1, sizeof(*t));
    if (!t)
        return pt_error_set(err, PT_ENOMEM, "out of memory for the Lambda target");
    int rc = 0;
    t->client = o->client;
    t->num = o->num;
    t->only_cold = o->only_cold_starts;
    t->wait_ms = o->update_wait_ms > 0 ? o->update_wait_ms : 300000;
    /* The reference's FunctionActive waiter: maxDelay 900 s (power-tuning.md 6.2). */
    t->active_wait_ms = o->update_wait_ms > 0 ? o->update_wait_ms : 900000;
    t->poll_ms = o->poll_ms > 0 ? o->poll_ms : 500;
    t->interrupted = o->interrupted;
    t->interrupted_arg = o->interrupted_arg;
    t->journal_fd = -1;
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->activity_known, NULL);
    if (pt_strlcpy(t->function, o->function, sizeof(t->function)) >= sizeof(t->function)) {
        rc = pt_error_set(err, PT_EUSAGE, "function name too long");
        goto fail;
    }
    if ((rc = pt_lambda_get_configuration(t->client, t->function, "$LATEST", &t->original, err)))
        goto fail;
    if (o->journal_dir && (rc = lambda_journal_open(t, o->journal_dir, err)))
        goto fail;
    if ((rc = pt_lambda_max_version(t->client, t->function, &t->max_version_before, err)))
        goto fail;
    /* An update still in progress (someone just deployed) would make the first update fail. */
    if ((rc = pt_lambda_wait_updated(t->client, t->function, t->poll_ms, t->wait_ms, err)))
        goto fail;
    *out = t;
    return 0;
fail:
    /* Nothing was changed; a recovered journal stays for the next run. */
    lambda_journal_close(t, !t->changed);
    free(t->leftovers);
    pthread_cond_destroy(&t->activity_known);
    pthread_mutex_destroy(&t->lock);
    free(t);
    return rc;
}

const char *pt_lambda_target_notice(const struct pt_lambda_target *t)
{
    return t->notice[0] ? t->notice : NULL;
}

const char *pt_lambda_target_failed_versions(const struct pt_lambda_target *t)
{
    return t->failed_versions[0] ? t->failed_versions : NULL;
}

const struct pt_lambda_function_config *pt_lambda_target_original(const struct pt_lambda_target *t)
{
    return &t->original;
}

/* $LATEST back to the original configuration, or to the optimum (and its alias). */
static int lambda_restore(struct pt_lambda_target *t, int optimize_power,
                          const char *optimize_alias, char *version_out, struct pt_error *err)
{
    int memory = optimize_power > 0 ? optimize_power : t->original.memory_mb;
    /* No PublishVersion here: restoring must not leave a version behind (the reference's does). */
    int rc = pt_lambda_update_configuration(t->client, t->function, memory,
                                            t->original.description, NULL, err);
    if (!rc)
        rc = pt_lambda_wait_updated(t->client, t->function, t->poll_ms, t->wait_ms, err);
    if (rc)
        /* The user has to restore it: the original values are known only to this run. */
        return pt_error_wrap(err, "%s: $LATEST not restored to MemorySize %d MB, Description "
                             "\"%.200s\"%s%s", t->function, memory, t->original.description,
                             t->left[0] ? "; left behind: " : "", t->left);
    if (optimize_power > 0 && optimize_alias && optimize_alias[0]) {
        char version[PT_LAMBDA_VERSION_MAX];
        rc = pt_lambda_publish_version(t->client, t->function, NULL, version, err);
        if (!rc)
            rc = pt_lambda_point_alias(t->client, t->function, optimize_alias, version, NULL,
                                       err);
        if (rc)
            return pt_error_wrap(err, "autoOptimizeAlias %s", optimize_alias);
        if (version_out)
            pt_strlcpy(version_out, version, PT_LAMBDA_VERSION_MAX);
    }
    return 0;
}

int pt_lambda_target_finish(struct pt_lambda_target *t, int optimize_power,
                            const char *optimize_alias, char *version_out, struct pt_error *err)
{
    struct pt_error e = {0};
    /* What finish_power did not get to (a failed prepare, an interrupted run). */
    while (t->n_powers) {
        if (lambda_cleanup_power(t, &t->powers[0], &e) && !t->cleanup_err.code)
            t->cleanup_err = e;
        lambda_forget(t, &t->powers[0]);
    }
    if (t->finished)
        return 0;
    t->finished = true;
    /* A run refused before its first update (payloadS3 unreadable, Ctrl-C) writes nothing. */
    int rc = t->changed || optimize_power > 0
                 ? lambda_restore(t, optimize_power, optimize_alias, version_out, err)
                 : 0;
    /* After a failed restore, the journal lets the next run put the original back. */
    if (rc && t->journal_fd >= 0 && err) {
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof(err->msg) - n,
                 "; the next tune of this function restores it (journal %s)", t->journal_path);
    }
    lambda_journal_close(t, rc == 0);
    if (!rc && t->cleanup_err.code)
        rc = pt_error_set(err, t->cleanup_err.code, "cleaning up aliases and versions%s%s: %s",
                          t->left[0] ? ", left behind: " : "", t->left, t->cleanup_err.msg);
    return rc;
}

void pt_lambda_target_destroy(struct pt_lambda_target *t)
{
    if (!t)
        return;
    if (!t->finished || t->n_powers)
        pt_lambda_target_finish(t, 0, NULL, NULL, NULL);
    free(t->powers);
    free(t->leftovers);
    pthread_cond_destroy(&t->activity_known);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

void pt_lambda_target_as_target(struct pt_lambda_target *t, struct pt_target *out)
{
    out->ops = &lambda_ops;
    out->ctx = t;
    out->description = "Lambda API";
}
