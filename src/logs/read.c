/*
 * read.c - streams one task's bytes (a whole input or a byte range of a big plain file) through
 * the scanner: plain reads or zlib inflate, line framing with a length cap, and a small streaming
 * JSON tokenizer that cuts the events out of `aws logs ...` documents one at a time.
 *
 * Nothing here holds more than one buffer of input: a line longer than max_line is skipped up to
 * its newline (and counted), an event bigger than its cap likewise, a truncated or corrupt gzip
 * stream ends the input with an unparsed-line note instead of failing the whole run.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "base/str.h"
#include "logs/logs_internal.h"

/* Reads land in a buffer that stays in L2 while it is scanned (the copy is the cost). */
#define PT_LOGS_BUF_MIN (256u * 1024)
#define PT_LOGS_ZIN (256u * 1024)
#define PT_LOGS_JSON_DEPTH 64

struct reader {
    const char *path;
    int fd;
    bool own_fd;
    bool use_pread;
    bool may_be_gz;          /* only the start of an input can be a gzip header */
    off_t pos, end;          /* end < 0: to EOF */
    unsigned char *zin;      /* raw bytes read ahead (sniffing, inflate input) */
    size_t zin_len, zin_off;
    bool gz, gz_in_member, raw_eof;
    z_stream zs;
    bool zs_ready;
    const char *damage;      /* set when a compressed stream ends badly: reading stops */
    char damage_msg[80];
};

static int raw_read(struct reader *r, void *dst, size_t cap, size_t *got, struct pt_error *err)
{
    *got = 0;
    if (r->end >= 0) {
        if (r->pos >= r->end)
            return 0;
        if ((off_t)cap > r->end - r->pos)
            cap = (size_t)(r->end - r->pos);
    }
    for (;;) {
        ssize_t k = r->use_pread ? pread(r->fd, dst, cap, r->pos) : read(r->fd, dst, cap);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return pt_error_errno(err, PT_EIO, errno, "reading %s", r->path);
        r->pos += k;
        *got = (size_t)k;
        return 0;
    }
}

/* Reads ahead into zin and decides whether the stream is gzip (magic 1f 8b). */
static int reader_start(struct reader *r, struct pt_error *err)
{
    r->zin = malloc(PT_LOGS_ZIN);
    if (!r->zin)
        return pt_error_set(err, PT_ENOMEM, "out of memory");
    int rc = raw_read(r, r->zin, PT_LOGS_ZIN, &r->zin_len, err);
    if (rc)
        return rc;
    r->raw_eof = r->zin_len == 0;
    if (r->may_be_gz && r->zin_len >= 2 && r->zin[0] == 0x1f && r->zin[1] == 0x8b) {
        r->gz = true;
        memset(&r->zs, 0, sizeof(r->zs));
        if (inflateInit2(&r->zs, 16 + MAX_WBITS) != Z_OK)
            return pt_error_set(err, PT_ENOMEM, "zlib: cannot start inflate");
        r->zs_ready = true;
        r->zs.next_in = r->zin;
        r->zs.avail_in = (uInt)r->zin_len;
        r->gz_in_member = true;
    }
    return 0;
}

static void reader_damaged(struct reader *r, const char *what)
{
    snprintf(r->damage_msg, sizeof(r->damage_msg), "%s", what);
    r->damage = r->damage_msg;
}

/* Up to cap decompressed (or plain) bytes; *got == 0 only at the end of the input. */
static int reader_read(struct reader *r, char *dst, size_t cap, size_t *got, struct pt_error *err)
{
    *got = 0;
    if (r->damage)
        return 0;
    if (!r->gz) {
        if (r->zin_off < r->zin_len) {
            size_t n = r->zin_len - r->zin_off;
            if (n > cap)
                n = cap;
            memcpy(dst, r->zin + r->zin_off, n);
            r->zin_off += n;
            *got = n;
            return 0;
        }
        return r->raw_eof ? 0 : raw_read(r, dst, cap, got, err);
    }
    while (*got == 0) {
        if (r->zs.avail_in == 0 && !r->raw_eof) {
            size_t n;
            int rc = raw_read(r, r->zin, PT_LOGS_ZIN, &n, err);
            if (rc)
                return rc;
            r->raw_eof = n == 0;
            r->zs.next_in = r->zin;
            r->zs.avail_in = (uInt)n;
        }
        if (r->zs.avail_in == 0 && r->raw_eof) {
            if (r->gz_in_member)
                reader_damaged(r, "gzip data ends early (truncated file)");
            return 0;
        }
        if (!r->gz_in_member) {
            /* Another member follows (concatenated .gz files), or trailing garbage. */
            if (r->zs.next_in[0] != 0x1f) {
                if (r->zs.next_in[0] != 0) /* zero padding is common and harmless */
                    reader_damaged(r, "data after the end of the gzip stream");
                r->zs.avail_in = 0;
                r->raw_eof = true;
                return 0;
            }
            inflateReset(&r->zs);
            r->gz_in_member = true;
        }
        r->zs.next_out = (unsigned char *)dst;
        r->zs.avail_out = (uInt)cap;
        int z = inflate(&r->zs, Z_NO_FLUSH);
        *got = cap - r->zs.avail_out;
        if (z == Z_STREAM_END) {
            r->gz_in_member = false;
        } else if (z == Z_BUF_ERROR) {
            if (r->zs.avail_in != 0) {
                reader_damaged(r, "corrupt gzip data");
                return 0;
            }
        } else if (z != Z_OK) {
            char what[80];
            snprintf(what, sizeof(what), "corrupt gzip data (%s)",
                     r->zs.msg ? r->zs.msg : "zlib error");
            reader_damaged(r, what);
            return 0;
        }
    }
    return 0;
}

static void reader_close(struct reader *r)
{
    if (r->zs_ready)
        inflateEnd(&r->zs);
    free(r->zin);
    if (r->own_fd)
        close(r->fd);
}

/* ---------------------------------------------------------------- format sniffing */

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A JSON document (aws logs output) or lines (text, JSON log format)? From the first bytes. */
static enum pt_logs_format sniff(const char *p, size_t n)
{
    static const char *const doc_keys[] = {
        "\"events\"", "\"logEvents\"", "\"messageType\"", "\"nextToken\"",
        "\"searchedLogStreams\"", "\"nextForwardToken\"", "\"nextBackwardToken\"", "\"owner\"",
        "\"logGroup\"",
    };
    size_t i = 0;
    if (n >= 3 && (unsigned char)p[0] == 0xef && (unsigned char)p[1] == 0xbb &&
        (unsigned char)p[2] == 0xbf)
        i = 3;
    while (i < n && is_ws(p[i]))
        i++;
    if (i == n)
        return PT_LOGS_FMT_LINES;
    if (p[i] == '[')
        return PT_LOGS_FMT_DOCUMENT;
    if (p[i] != '{')
        return PT_LOGS_FMT_LINES;
    i++;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'))
        i++;
    if (i == n || p[i] == '\n')
        return PT_LOGS_FMT_DOCUMENT; /* "{" alone on the first line: pretty-printed */
    for (size_t k = 0; k < sizeof(doc_keys) / sizeof(doc_keys[0]); k++) {
        size_t kn = strlen(doc_keys[k]);
        if (n - i >= kn && memcmp(p + i, doc_keys[k], kn) == 0)
            return PT_LOGS_FMT_DOCUMENT;
    }
    return PT_LOGS_FMT_LINES;
}

/* ---------------------------------------------------------------- line framing */

static int read_lines(struct pt_logs_scan *s, struct reader *rd, char *buf, size_t cap,
                      size_t have)
{
    struct pt_logs_task *t = s->task;
    const size_t max_line = s->run->opt->max_line;
    bool skipping = false;
    int rc = 0;
    for (;;) {
        if (atomic_load_explicit(&s->run->stop, memory_order_relaxed))
            break;
        size_t got = 0;
        bool eof = false;
        /* A full buffer (the first inflated block fills it) is framed before reading more: a
         * read of 0 bytes would look like the end of the input. */
        if (have < cap) {
            rc = reader_read(rd, buf + have, cap - have, &got, &t->err);
            if (rc)
                break;
            eof = got == 0;
        }
        t->bytes += got;
        have += got;
        char *start = buf, *end = buf + have;
        if (skipping) {
            char *nl = memchr(start, '\n', have);
            if (!nl) {
                have = 0;
                if (eof)
                    break;
                continue;
            }
            skipping = false;
            start = nl + 1;
        }
        if (eof) {
            if (start < end)
                rc = pt_logs_scan_lines(s, start, end);
            break;
        }
        char *last = memrchr(start, '\n', (size_t)(end - start));
        if (!last) {
            size_t len = (size_t)(end - start);
            if (len > max_line) {
                s->line++;
                pt_logs_scan_unparsed(s, "line over the %zu-byte limit", max_line);
                skipping = true;
                have = 0;
                continue;
            }
            memmove(buf, start, len);
            have = len;
            continue;
        }
        rc = pt_logs_scan_lines(s, start, last + 1);
        if (rc)
            break;
        have = (size_t)(end - (last + 1));
        memmove(buf, last + 1, have);
    }
    if (!rc && rd->damage) {
        s->line++;
        pt_logs_scan_unparsed(s, "%s", rd->damage);
    }
    return rc;
}

/* ---------------------------------------------------------------- JSON documents */

struct jdoc {
    int depth;
    bool in_str, esc;
    uint64_t events_mask;    /* bit d: the container at depth d is an events array */
    char str[PT_LOGS_NAME_MAX];
    size_t strn;
    bool str_is_value;
    char key[32];
    bool after_colon;
    bool capturing, cap_over, broken;
    bool groups_over;        /* the note on too many log groups was made */
    int cap_depth;
    uint64_t cap_line;
    char *cbuf;
    size_t cn, ccap;
};

static bool key_is(const struct jdoc *j, const char *k)
{
    return strcmp(j->key, k) == 0;
}

/*
 * A document's "logGroup" (before its "logEvents", as CloudWatch writes subscription payloads)
 * names the function of the events that follow. The input's first group names the input; a file
 * of concatenated payloads (Firehose's delivery to S3) may hold others, whose events and counts
 * go to their own function instead of the first one's.
 */
static int jdoc_log_group(struct pt_logs_scan *s, struct jdoc *j, const char *group)
{
    struct pt_logs_task *t = s->task;
    const char *name = group;
    if (strncmp(name, "/aws/lambda/", 12) == 0 && name[12])
        name += 12;
    if (!name[0])
        return 0; /* CloudWatch's CONTROL_MESSAGE names no group */
    if (!t->found_name[0])
        pt_strlcpy(t->found_name, name, sizeof(t->found_name));
    if (strcmp(t->found_name, name) == 0) {
        s->slot = 0;
        s->counts = &t->counts;
        return 0;
    }
    size_t k = 0;
    while (k < t->ngroups && strcmp(t->groups[k].name, name) != 0)
        k++;
    if (k == t->ngroups) {
        if (t->ngroups == PT_LOGS_GROUPS_MAX) {
            if (!j->groups_over)
                pt_logs_scan_unparsed(s, "more than %d log groups in one input: the events of "
                                         "the others count under %.60s", PT_LOGS_GROUPS_MAX + 1,
                                      t->found_name);
            j->groups_over = true;
            s->slot = 0;
            s->counts = &t->counts;
            return 0;
        }
        struct pt_logs_group *g = realloc(t->groups, (t->ngroups + 1) * sizeof(*g));
        if (!g)
            return pt_error_set(&t->err, PT_ENOMEM, "out of memory (log groups)");
        t->groups = g;
        memset(&g[k], 0, sizeof(g[k]));
        pt_strlcpy(g[k].name, name, sizeof(g[k].name));
        t->ngroups++;
    }
    s->slot = (uint32_t)k + 1;
    s->counts = &t->groups[k].counts;
    return 0;
}

static int jdoc_feed(struct pt_logs_scan *s, struct jdoc *j, const char *p, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && !j->broken; i++) {
        char ch = p[i];
        if (ch == '\n')
            s->line++;
        if (j->capturing) {
            if (j->cn < j->ccap)
                j->cbuf[j->cn++] = ch;
            else
                j->cap_over = true;
        }
        if (j->in_str) {
            if (j->esc) {
                j->esc = false;
            } else if (ch == '\\') {
                j->esc = true;
            } else if (ch == '"') {
                j->in_str = false;
                j->str[j->strn] = '\0';
                if (!j->capturing && j->str_is_value && j->depth == 1 &&
                    key_is(j, "logGroup") && (rc = jdoc_log_group(s, j, j->str)) != 0)
                    return rc;
            } else if (!j->capturing && j->strn < sizeof(j->str) - 1) {
                j->str[j->strn++] = ch;
            }
            continue;
        }
        switch (ch) {
        case '"':
            j->in_str = true;
            j->strn = 0;
            j->str_is_value = j->after_colon;
            j->after_colon = false;
            break;
        case ':':
            pt_strlcpy(j->key, j->str, sizeof(j->key));
            j->after_colon = true;
            break;
        case '{':
        case '[':
            if (j->depth >= PT_LOGS_JSON_DEPTH - 1) {
                pt_logs_scan_unparsed(s, "JSON nested deeper than %d levels", PT_LOGS_JSON_DEPTH);
                j->broken = true;
                break;
            }
            if (ch == '{' && !j->capturing && (j->events_mask >> j->depth) & 1) {
                j->capturing = true;
                j->cap_over = false;
                j->cap_depth = j->depth;
                j->cap_line = s->line;
                j->cbuf[0] = '{';
                j->cn = 1;
            }
            j->depth++;
            j->events_mask &= ~(1ull << j->depth);
            if (ch == '[' && !j->capturing && j->after_colon &&
                (key_is(j, "events") || key_is(j, "logEvents")))
                j->events_mask |= 1ull << j->depth;
            j->after_colon = false;
            break;
        case '}':
        case ']':
            if (j->depth == 0) {
                pt_logs_scan_unparsed(s, "unbalanced '%c' in the JSON document", ch);
                j->broken = true;
                break;
            }
            j->events_mask &= ~(1ull << j->depth);
            j->depth--;
            j->after_colon = false;
            if (j->capturing && j->depth == j->cap_depth) {
                j->capturing = false;
                uint64_t here = s->line;
                s->line = j->cap_line;
                if (j->cap_over)
                    pt_logs_scan_unparsed(s, "log event over the %zu-byte limit", j->ccap);
                else
                    rc = pt_logs_scan_event(s, j->cbuf, j->cn);
                s->line = here;
                if (rc)
                    return rc;
            }
            break;
        case ',':
            j->after_colon = false;
            break;
        default:
            break;
        }
    }
    return rc;
}

static int read_document(struct pt_logs_scan *s, struct reader *rd, char *buf, size_t cap,
                         size_t have)
{
    struct pt_logs_task *t = s->task;
    struct jdoc j;
    memset(&j, 0, sizeof(j));
    /* An event's message is at most one (escaped) line: room for JSON escapes and fields. */
    j.ccap = s->run->opt->max_line * 2 + 4096;
    j.cbuf = malloc(j.ccap);
    if (!j.cbuf)
        return pt_error_set(&t->err, PT_ENOMEM, "out of memory");
    s->line = 1;
    int rc = jdoc_feed(s, &j, buf, have);
    while (!rc && !j.broken && !atomic_load_explicit(&s->run->stop, memory_order_relaxed)) {
        size_t got;
        rc = reader_read(rd, buf, cap, &got, &t->err);
        if (rc || got == 0)
            break;
        t->bytes += got;
        rc = jdoc_feed(s, &j, buf, got);
    }
    if (!rc && rd->damage)
        pt_logs_scan_unparsed(s, "%s", rd->damage);
    else if (!rc && !j.broken && (j.depth != 0 || j.in_str))
        pt_logs_scan_unparsed(s, "JSON document ends early (truncated)");
    free(j.cbuf);
    return rc;
}

/* ---------------------------------------------------------------- a task */

int pt_logs_read_task(struct pt_logs_run *run, struct pt_logs_task *t)
{
    struct pt_logs_source *src = &run->sources[t->source];
    struct reader rd;
    struct pt_logs_scan s;
    char *buf = NULL;
    int rc = 0;

    memset(&rd, 0, sizeof(rd));
    rd.path = src->path;
    rd.fd = -1;
    rd.pos = t->begin;
    rd.end = t->end;
    pt_logs_scan_init(&s, run, t);
    if (strcmp(src->path, "-") == 0) {
        rd.fd = STDIN_FILENO; /* not ours to close */
        rd.use_pread = false;
    } else {
        rd.fd = open(src->path, O_RDONLY | O_CLOEXEC);
        if (rd.fd < 0) {
            rc = pt_error_errno(&t->err, errno == ENOENT ? PT_ENOTFOUND : PT_EIO, errno,
                                "cannot open %s", src->path);
            goto out;
        }
        rd.own_fd = true;
        /* A pipe (a FIFO, bash's <(zcat ...) as /dev/fd/63) has no offsets: read it as stdin. */
        struct stat fst;
        rd.use_pread = fstat(rd.fd, &fst) == 0 && S_ISREG(fst.st_mode);
        (void)posix_fadvise(rd.fd, t->begin, t->end < 0 ? 0 : t->end - t->begin,
                            POSIX_FADV_SEQUENTIAL);
    }
    /* Room for one whole line of max_line bytes plus a read: an overlong line is detected. */
    size_t cap = run->opt->max_line + 64 * 1024;
    if (cap < PT_LOGS_BUF_MIN)
        cap = PT_LOGS_BUF_MIN;
    buf = malloc(cap);
    if (!buf) {
        rc = pt_error_set(&t->err, PT_ENOMEM, "out of memory");
        goto out;
    }
    rd.may_be_gz = t->part == 0;
    rc = reader_start(&rd, &t->err);
    if (rc)
        goto out;
    t->compressed = rd.gz;
    off_t range_end = t->end;
    struct stat st;
    if (range_end < 0 && rd.use_pread && fstat(rd.fd, &st) == 0 && S_ISREG(st.st_mode))
        range_end = st.st_size;
    if (!rd.gz && range_end > t->begin && !t->invs) {
        /*
         * A plain byte range holds at most one invocation per 128 bytes (a REPORT line alone is
         * longer): reserve that much address space once, as huge pages where the system allows,
         * instead of growing the array by doubling. Only the records written touch memory.
         */
        size_t want = (size_t)((range_end - t->begin) / 128) + 1;
        if (want > run->opt->max_invocations + 1)
            want = run->opt->max_invocations + 1;
        if (want >= ((size_t)4 << 20) / sizeof(*t->invs)) {
            t->invs = malloc(want * sizeof(*t->invs));
            t->figs = malloc(want * sizeof(*t->figs));
            if (t->invs && t->figs) {
                t->capinv = want;
                pt_logs_big_array(t->invs, want * sizeof(*t->invs));
                pt_logs_big_array(t->figs, want * sizeof(*t->figs));
            } else {
                free(t->invs);
                free(t->figs);
                t->invs = NULL;
                t->figs = NULL;
            }
        }
    }
    size_t have = 0;
    if (t->part == 0) {
        /* Sniff the format on the first (decompressed) bytes; split parts inherit LINES. */
        rc = reader_read(&rd, buf, cap, &have, &t->err);
        if (rc)
            goto out;
        t->bytes += have;
        t->format = sniff(buf, have);
    } else {
        t->format = PT_LOGS_FMT_LINES;
    }
    if (t->format == PT_LOGS_FMT_DOCUMENT)
        rc = read_document(&s, &rd, buf, cap, have);
    else
        rc = read_lines(&s, &rd, buf, cap, have);
    /* the bytes of `have` were counted above; read_lines counts what it reads itself */
    if (!rc)
        rc = pt_logs_scan_finish(&s);
    if (!rc)
        rc = pt_logs_scan_flush(&s);
    t->lines = s.line;
out:
    pt_logs_scan_release(&s);
    if (rc && !t->err.msg[0])
        pt_error_set(&t->err, rc, "reading %s failed", src->path);
    t->rc = rc;
    reader_close(&rd);
    free(buf);
    return rc;
}

off_t pt_logs_next_line_start(int fd, off_t off, off_t size, size_t max_line)
{
    char window[65536];
    off_t limit = off + (off_t)max_line + 1;
    if (limit > size)
        limit = size;
    while (off < limit) {
        size_t want = sizeof(window);
        if ((off_t)want > limit - off)
            want = (size_t)(limit - off);
        ssize_t k = pread(fd, window, want, off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        char *nl = memchr(window, '\n', (size_t)k);
        if (nl)
            return off + (nl - window) + 1;
        off += k;
    }
    return -1;
}

/*
 * A cut inside an event `aws logs tail --format json` spread over lines ("<time> <stream> ",
 * "{", lines indented by four spaces, "}") would leave a piece to each half: the cut moves past
 * such lines and past a line ending in a space (maybe the header of the record that follows),
 * at most the size of one capped record further; failing that, no cut here (-1): one task reads
 * more, and the halves never differ from one task's reading.
 */
off_t pt_logs_next_record_start(int fd, off_t off, off_t size, size_t max_line)
{
    const off_t limit = off + (off_t)(max_line * 2 + 4096);
    off_t at = pt_logs_next_line_start(fd, off, size, max_line);
    while (at > 0 && at < size && at <= limit) {
        char head[2], last = '\n';
        ssize_t k;
        do
            k = pread(fd, head, sizeof(head), at);
        while (k < 0 && errno == EINTR);
        if (k <= 0)
            break;
        if (at >= 2 && pread(fd, &last, 1, at - 2) != 1)
            break;
        bool brace = (head[0] == '{' || head[0] == '}') &&
                     (k == 1 || head[1] == '\n' || head[1] == '\r');
        if (head[0] != ' ' && !brace && last != ' ')
            return at;
        at = pt_logs_next_line_start(fd, at, size, max_line);
    }
    return -1;
}

bool pt_logs_splittable(int fd)
{
    char head[65536];
    ssize_t k;
    do
        k = pread(fd, head, sizeof(head), 0);
    while (k < 0 && errno == EINTR);
    if (k < 2)
        return false;
    if ((unsigned char)head[0] == 0x1f && (unsigned char)head[1] == 0x8b)
        return false;
    return sniff(head, (size_t)k) == PT_LOGS_FMT_LINES;
}
