/*
 * logs.c - pt_logs_analyze: inputs -> tasks -> threads -> one merged result.
 *
 * Tasks are whole inputs, except big plain line-format files, which are cut at line boundaries
 * into one byte range per thread so that one 1 GB file still uses every core. Each task has its
 * own records and counters (no locks while reading); the merge renumbers lines (a later range's
 * line numbers are relative to its start), names functions and computes the figures.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/str.h"
#include "logs/logs_internal.h"

#define PT_LOGS_DIR_DEPTH 12
#define PT_LOGS_SOURCES_MAX (1u << 20)

void pt_logs_options_init(struct pt_logs_options *o)
{
    memset(o, 0, sizeof(*o));
    o->quota = 1000;
    o->reserved = -1;
    o->minutes_before = 6;
    pt_strlcpy(o->region, "us-east-1", sizeof(o->region));
    pt_strlcpy(o->architecture, "x86_64", sizeof(o->architecture));
    o->price_gb_s = -1;
    o->price_requests = -1;
    o->threads = 0;
    o->split_min_bytes = PT_LOGS_SPLIT_MIN_DEFAULT;
    o->max_invocations = PT_LOGS_MAX_INVOCATIONS_DEFAULT;
    o->max_line = PT_LOGS_LINE_MAX_DEFAULT;
}

/* ---------------------------------------------------------------- names */

static bool all_digits(const char *p, size_t n, size_t want)
{
    if (n != want)
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

/* Path components, last first (at most max of them). */
static size_t path_components(const char *path, const char **comp, size_t *len, size_t max)
{
    size_t nc = 0;
    const char *end = path + strlen(path);
    while (nc < max && end > path) {
        const char *s = end;
        while (s > path && s[-1] != '/')
            s--;
        if (end > s) {
            comp[nc] = s;
            len[nc] = (size_t)(end - s);
            nc++;
        }
        end = s > path ? s - 1 : path;
    }
    return nc;
}

/* "YYYY", "MM", "DD" at comp[k + 2], comp[k + 1], comp[k]: a Lambda log stream's date. */
static bool stream_date(const char *const *comp, const size_t *len, size_t k)
{
    return all_digits(comp[k], len[k], 2) && all_digits(comp[k + 1], len[k + 1], 2) &&
           all_digits(comp[k + 2], len[k + 2], 4);
}

/*
 * A CloudWatch export to S3 (CreateExportTask), downloaded as is:
 * <prefix>/<task id>/<YYYY>/<MM>/<DD>/[<version>]<instance>/000000.gz, the log stream's name
 * "YYYY/MM/DD/[<version>]<instance>" spread over four directories, each object a gzip part
 * numbered from 000000.
 */
static bool export_layout(const char *const *comp, const size_t *len, size_t nc)
{
    return nc >= 6 && len[0] == 9 && all_digits(comp[0], 6, 6) &&
           memcmp(comp[0] + 6, ".gz", 3) == 0 && len[1] > 2 && comp[1][0] == '[' &&
           memchr(comp[1], ']', len[1]) != NULL && stream_date(comp, len, 2);
}

/* "/aws/lambda/<name>/" in the path (a prefix named after the log group), or NULL. */
static char *log_group_in_path(const char *path)
{
    const char *aws = strstr(path, "/aws/lambda/");
    if (aws) {
        const char *s = aws + 12, *e = strchr(s, '/');
        if (e && e > s)
            return strndup(s, (size_t)(e - s));
    }
    return NULL;
}

/* The function an input belongs to, from its path alone (see logs.h). */
static char *name_from_path(const char *path)
{
    if (strcmp(path, "-") == 0)
        return strdup("stdin");
    const char *comp[7];
    size_t len[7];
    size_t nc = path_components(path, comp, len, 7);
    /* <fn>/YYYY/MM/DD/<stream>.log is the engine's layout. */
    if (nc >= 5 && stream_date(comp, len, 1))
        return strndup(comp[4], len[4]);
    char *group = log_group_in_path(path);
    if (group)
        return group;
    /* An S3 export names no function: its prefix does (the directory above the task's), else
     * (a path relative to the prefix: "T/2026/..." or "./T/...") the task, all of whose
     * streams are one log group's. */
    if (export_layout(comp, len, nc)) {
        bool prefix = nc >= 7 && !(len[6] == 1 && comp[6][0] == '.') &&
                      !(len[6] == 2 && comp[6][0] == '.' && comp[6][1] == '.');
        return prefix ? strndup(comp[6], len[6]) : strndup(comp[5], len[5]);
    }
    if (nc == 0)
        return strdup(path);
    size_t n = len[0];
    const char *b = comp[0];
    static const char *const exts[] = {".gz", ".log", ".jsonl", ".json", ".txt"};
    for (size_t k = 0; k < sizeof(exts) / sizeof(exts[0]); k++) {
        size_t en = strlen(exts[k]);
        if (n > en && memcmp(b + n - en, exts[k], en) == 0)
            n -= en;
    }
    return strndup(b, n);
}

/*
 * The log stream an input holds, from its path: "YYYY/MM/DD/[<version>]<instance>" in the
 * engine's layout and in an S3 export; NULL otherwise (or out of memory: it is only shown).
 */
static char *stream_from_path(const char *path)
{
    const char *comp[6];
    size_t len[6];
    size_t nc = path_components(path, comp, len, 6);
    size_t k; /* the stream's last part: comp[k], its date above it */
    size_t last;
    if (export_layout(comp, len, nc)) {
        k = 1;
        last = len[1];
    } else if (nc >= 5 && stream_date(comp, len, 1) && pt_str_ends_with(comp[0], ".log")) {
        k = 0;
        last = len[0] - 4;
    } else {
        return NULL;
    }
    char *out = NULL;
    if (asprintf(&out, "%.*s/%.*s/%.*s/%.*s", (int)len[k + 3], comp[k + 3], (int)len[k + 2],
                 comp[k + 2], (int)len[k + 1], comp[k + 1], (int)last, comp[k]) < 0)
        return NULL;
    return out;
}

/* ---------------------------------------------------------------- inputs */

struct path_list {
    char **v;
    size_t n, cap;
};

static int path_push(struct path_list *l, const char *p, struct pt_error *err)
{
    if (l->n >= PT_LOGS_SOURCES_MAX)
        return pt_error_set(err, PT_ELIMIT, "more than %u input files", PT_LOGS_SOURCES_MAX);
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 16;
        char **nv = realloc(l->v, ncap * sizeof(*nv));
        if (!nv)
            return pt_error_set(err, PT_ENOMEM, "out of memory");
        l->v = nv;
        l->cap = ncap;
    }
    l->v[l->n] = strdup(p);
    if (!l->v[l->n])
        return pt_error_set(err, PT_ENOMEM, "out of memory");
    l->n++;
    return 0;
}

static bool log_file_name(const char *name)
{
    return pt_str_ends_with(name, ".log") || pt_str_ends_with(name, ".txt") ||
           pt_str_ends_with(name, ".json") || pt_str_ends_with(name, ".jsonl") ||
           pt_str_ends_with(name, ".gz");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds the log files under dir (sorted, so that results do not depend on readdir order). */
static int walk_dir(const char *dir, int depth, struct path_list *l, struct pt_error *err)
{
    if (depth > PT_LOGS_DIR_DEPTH)
        return 0; /* deeper is not a log layout; also stops symlink loops */
    DIR *d = opendir(dir);
    if (!d)
        return pt_error_errno(err, PT_EIO, errno, "cannot read directory %s", dir);
    struct path_list here = {0};
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        size_t need = strlen(dir) + strlen(de->d_name) + 2;
        char *p = malloc(need);
        if (!p) {
            rc = pt_error_set(err, PT_ENOMEM, "out of memory");
            break;
        }
        snprintf(p, need, "%s/%s", dir, de->d_name);
        rc = path_push(&here, p, err);
        free(p);
        if (rc)
            break;
    }
    closedir(d);
    /* An empty directory leaves here.v NULL, which qsort must not get even for no elements. */
    if (!rc && here.n)
        qsort(here.v, here.n, sizeof(*here.v), cmp_str);
    for (size_t i = 0; i < here.n; i++) {
        struct stat st;
        if (!rc && stat(here.v[i], &st) == 0) {
            if (S_ISDIR(st.st_mode))
                rc = walk_dir(here.v[i], depth + 1, l, err);
            else if (S_ISREG(st.st_mode) && log_file_name(here.v[i]))
                rc = path_push(l, here.v[i], err);
        }
        free(here.v[i]);
    }
    free(here.v);
    return rc;
}

static int expand_inputs(const char *const *paths, size_t npaths, struct path_list *l,
                         struct pt_error *err)
{
    size_t stdin_count = 0;
    for (size_t i = 0; i < npaths; i++) {
        int rc;
        struct stat st;
        if (strcmp(paths[i], "-") == 0) {
            if (++stdin_count > 1)
                return pt_error_set(err, PT_EUSAGE, "\"-\" (stdin) given more than once");
            rc = path_push(l, "-", err);
        } else if (stat(paths[i], &st) != 0) {
            return pt_error_errno(err, errno == ENOENT ? PT_ENOTFOUND : PT_EIO, errno,
                                  "cannot read %s", paths[i]);
        } else if (S_ISDIR(st.st_mode)) {
            size_t before = l->n;
            rc = walk_dir(paths[i], 0, l, err);
            if (!rc && l->n == before)
                return pt_error_set(err, PT_ENOTFOUND,
                                    "no log files (*.log, *.txt, *.json, *.jsonl, *.gz) under %s",
                                    paths[i]);
        } else {
            rc = path_push(l, paths[i], err);
        }
        if (rc)
            return rc;
    }
    return 0;
}

struct file_id {
    dev_t dev;
    ino_t ino;
    size_t index;
};

static int cmp_file_id(const void *a, const void *b)
{
    const struct file_id *x = a, *y = b;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino)
        return x->ino < y->ino ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * One file reached twice (a symlink to a log or to a parent directory, `logs *.log app.log`,
 * a directory and a file in it) is read once: read twice, its invocations would be counted
 * twice, inflating every figure. The first occurrence keeps its place.
 */
static int drop_duplicate_files(struct path_list *l, struct pt_error *err)
{
    struct file_id *ids = calloc(l->n ? l->n : 1, sizeof(*ids));
    if (!ids)
        return pt_error_set(err, PT_ENOMEM, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++) {
        struct stat st;
        if (strcmp(l->v[i], "-") != 0 && stat(l->v[i], &st) == 0)
            ids[n++] = (struct file_id){st.st_dev, st.st_ino, i};
    }
    if (n)
        qsort(ids, n, sizeof(*ids), cmp_file_id);
    for (size_t k = 1; k < n; k++)
        if (ids[k].dev == ids[k - 1].dev && ids[k].ino == ids[k - 1].ino) {
            free(l->v[ids[k].index]);
            l->v[ids[k].index] = NULL;
        }
    size_t kept = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i])
            l->v[kept++] = l->v[i];
    l->n = kept;
    free(ids);
    return 0;
}

/* ---------------------------------------------------------------- planning */

static int plan_tasks(struct pt_logs_run *run, int threads, struct pt_error *err)
{
    const struct pt_logs_options *o = run->opt;
    size_t cap = run->nsources + (size_t)threads;
    run->tasks = calloc(cap, sizeof(*run->tasks));
    if (!run->tasks)
        return pt_error_set(err, PT_ENOMEM, "out of memory");
    for (size_t i = 0; i < run->nsources; i++) {
        const char *path = run->sources[i].path;
        off_t cuts[PT_LOGS_THREADS_MAX + 1];
        int ncuts = 0;
        struct stat st;
        if (threads > 1 && strcmp(path, "-") != 0 && stat(path, &st) == 0 &&
            S_ISREG(st.st_mode) && (size_t)st.st_size >= o->split_min_bytes &&
            cap - run->ntasks >= (size_t)threads) {
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd >= 0 && pt_logs_splittable(fd)) {
                cuts[ncuts++] = 0;
                for (int k = 1; k < threads; k++) {
                    off_t at = pt_logs_next_record_start(fd, st.st_size / threads * k,
                                                         st.st_size, o->max_line);
                    if (at > cuts[ncuts - 1] && at < st.st_size)
                        cuts[ncuts++] = at;
                }
            }
            if (fd >= 0)
                close(fd);
        }
        if (ncuts <= 1) {
            struct pt_logs_task *t = &run->tasks[run->ntasks++];
            t->source = i;
            t->begin = 0;
            t->end = -1;
            continue;
        }
        for (int k = 0; k < ncuts; k++) {
            struct pt_logs_task *t = &run->tasks[run->ntasks++];
            t->source = i;
            t->part = k;
            t->begin = cuts[k];
            t->end = k + 1 < ncuts ? cuts[k + 1] : -1;
        }
    }
    return 0;
}

static void *worker(void *p)
{
    struct pt_logs_run *run = p;
    for (;;) {
        if (atomic_load(&run->stop))
            break;
        size_t i = atomic_fetch_add(&run->next_task, 1);
        if (i >= run->ntasks)
            break;
        if (pt_logs_read_task(run, &run->tasks[i]) != 0)
            atomic_store(&run->stop, true);
    }
    return NULL;
}

static int run_threads(struct pt_logs_run *run, int threads)
{
    pthread_t tids[PT_LOGS_THREADS_MAX];
    int started = 0;
    for (; started < threads - 1; started++)
        if (pthread_create(&tids[started], NULL, worker, run) != 0)
            break; /* fewer threads is slower, not wrong */
    worker(run);
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    return 0;
}

/* ---------------------------------------------------------------- merge */

struct fn_name {
    const char *name;
    size_t source;
};

static int cmp_fn_name(const void *a, const void *b)
{
    const struct fn_name *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->source > y->source) - (x->source < y->source);
}

static void free_run(struct pt_logs_run *run)
{
    for (size_t i = 0; i < run->ntasks; i++) {
        free(run->tasks[i].invs);
        free(run->tasks[i].figs);
        free(run->tasks[i].colds);
        free(run->tasks[i].inits);
        free(run->tasks[i].groups);
    }
    free(run->tasks);
}

static void counts_add(struct pt_logs_counts *dst, const struct pt_logs_counts *src)
{
    dst->invocations += src->invocations;
    dst->timeouts += src->timeouts;
    dst->errors += src->errors;
    dst->init_reports += src->init_reports;
    dst->init_failures += src->init_failures;
    dst->mem_overflow += src->mem_overflow;
    for (size_t k = 0; k < src->nmem; k++)
        pt_logs_counts_add_mem(dst, &src->mem[k]);
}

static int cmp_init(const void *a, const void *b)
{
    const struct pt_logs_init *x = a, *y = b;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/*
 * INIT reports read twice (overlapping exports) count once, like REPORTs (dedupe.c): same time
 * and same content, the first in input order kept; the copies' functions give their counts back.
 * They are few (at most one per cold start), so a sort does.
 */
static int dedupe_inits(struct pt_logs_run *run, const uint32_t *fid,
                        struct pt_logs_counts *fcounts, struct pt_error *err)
{
    size_t n = 0;
    for (size_t i = 0; i < run->ntasks; i++)
        n += run->tasks[i].ninit;
    if (n < 2)
        return 0;
    struct pt_logs_init *all = malloc(n * sizeof(*all));
    if (!all)
        return pt_error_set(err, PT_ENOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < run->ntasks; i++) {
        const struct pt_logs_task *t = &run->tasks[i];
        for (size_t j = 0; j < t->ninit; j++, k++) {
            all[k] = t->inits[j];
            all[k].fn = t->inits[j].fn ? t->groups[t->inits[j].fn - 1].fid : fid[t->source];
            all[k].seq = (uint32_t)k;
        }
    }
    qsort(all, n, sizeof(*all), cmp_init);
    for (size_t j = 1, kept = 0; j < n; j++) {
        if (all[j].end == all[kept].end && all[j].id == all[kept].id) {
            struct pt_logs_counts *c = &fcounts[all[j].fn];
            c->init_reports -= c->init_reports > 0;
            c->init_failures -= all[j].failed && c->init_failures > 0;
        } else {
            kept = j;
        }
    }
    free(all);
    return 0;
}

static int merge(struct pt_logs_run *run, struct pt_logs_result *r, struct pt_error *err)
{
    int rc = 0;
    struct fn_name *names = NULL;
    uint32_t *fid = NULL;
    struct pt_logs_inv *invs = NULL, *sorted = NULL;
    struct pt_logs_fig *figs = NULL;
    uint64_t *fdups = NULL;
    struct pt_logs_dedupe dedupe = {0};
    struct pt_logs_cold *colds = NULL, *csorted = NULL;
    struct pt_logs_counts *fcounts = NULL;
    const struct pt_logs_counts **cptr = NULL;
    size_t *istart = NULL, *cstart = NULL, *ipos = NULL, *cpos = NULL;
    size_t ninv = 0, ncold = 0;

    /* Lines, bytes, unparsed lines with absolute line numbers (tasks are in input order). */
    uint64_t offset = 0;
    for (size_t i = 0; i < run->ntasks; i++) {
        struct pt_logs_task *t = &run->tasks[i];
        struct pt_logs_source *src = &r->sources[t->source];
        if (t->part == 0)
            offset = 0;
        src->lines += t->lines;
        src->bytes += t->bytes;
        if (t->part == 0) {
            src->compressed = t->compressed;
            src->format = t->format;
        }
        r->lines += t->lines;
        r->bytes += t->bytes;
        r->other_lines += t->other_lines;
        r->unparsed += t->unparsed;
        for (size_t k = 0; k < t->nkept && r->nkept < PT_LOGS_UNPARSED_KEEP; k++) {
            r->kept[r->nkept] = t->kept[k];
            r->kept[r->nkept].line += offset;
            r->nkept++;
        }
        offset += t->lines;
        ninv += t->ninv;
        ncold += t->ncold;
        if (!src->name_forced && t->found_name[0]) {
            free(src->name);
            src->name = strdup(t->found_name);
            src->name_forced = true; /* the first range's name wins */
            if (!src->name)
                return pt_error_set(err, PT_ENOMEM, "out of memory");
        }
    }

    /* Functions: sorted unique names, of the inputs and of the other log groups in them (not
     * under --function, which names everything). An other group is numbered nsources + its
     * rank among all tasks' groups. */
    size_t nnames = r->nsources;
    for (size_t i = 0; i < run->ntasks && !run->opt->function; i++)
        nnames += run->tasks[i].ngroups;
    names = calloc(nnames ? nnames : 1, sizeof(*names));
    fid = calloc(nnames ? nnames : 1, sizeof(*fid));
    if (!names || !fid) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < r->nsources; i++)
        names[i] = (struct fn_name){r->sources[i].name, i};
    for (size_t i = 0, n = r->nsources; i < run->ntasks && !run->opt->function; i++)
        for (size_t k = 0; k < run->tasks[i].ngroups; k++, n++)
            names[n] = (struct fn_name){run->tasks[i].groups[k].name, n};
    qsort(names, nnames, sizeof(*names), cmp_fn_name);
    r->functions = calloc(nnames ? nnames : 1, sizeof(*r->functions));
    if (!r->functions) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nnames; i++) {
        if (i == 0 || strcmp(names[i].name, names[i - 1].name) != 0) {
            struct pt_logs_scope *f = &r->functions[r->nfunctions++];
            f->name = strdup(names[i].name);
            if (!f->name) {
                rc = pt_error_set(err, PT_ENOMEM, "out of memory");
                goto out;
            }
        }
        fid[names[i].source] = (uint32_t)(r->nfunctions - 1);
    }
    for (size_t i = 0, n = r->nsources; i < run->ntasks; i++)
        for (size_t k = 0; k < run->tasks[i].ngroups; k++)
            run->tasks[i].groups[k].fid =
                run->opt->function ? fid[run->tasks[i].source] : fid[n++];

    /*
     * One array of each record kind, with function ids; task arrays are freed as we go. The
     * biggest task's array is grown into the whole (realloc of a large block remaps its pages
     * instead of copying them), so a split 1 GB file copies half its records, not all.
     */
    size_t big = 0;
    for (size_t i = 1; i < run->ntasks; i++)
        if (run->tasks[i].ninv > run->tasks[big].ninv)
            big = i;
    size_t big_n = run->ntasks ? run->tasks[big].ninv : 0;
    if (big_n) {
        invs = realloc(run->tasks[big].invs, ninv * sizeof(*invs));
        if (invs)
            run->tasks[big].invs = NULL;
        figs = realloc(run->tasks[big].figs, ninv * sizeof(*figs));
        if (figs)
            run->tasks[big].figs = NULL;
    } else {
        invs = malloc((ninv ? ninv : 1) * sizeof(*invs));
        figs = malloc((ninv ? ninv : 1) * sizeof(*figs));
    }
    colds = malloc((ncold ? ncold : 1) * sizeof(*colds));
    fcounts = calloc(r->nfunctions ? r->nfunctions : 1, sizeof(*fcounts));
    fdups = calloc(r->nfunctions ? r->nfunctions : 1, sizeof(*fdups));
    if (!invs || !figs || !colds || !fcounts || !fdups) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory (%zu invocations)", ninv);
        goto out;
    }
    pt_logs_big_array(invs, ninv * sizeof(*invs));
    pt_logs_big_array(figs, ninv * sizeof(*figs));
    /* The duplicate check's time buckets are counted while the records are copied. */
    int64_t end_min = INT64_MAX, end_max = INT64_MIN;
    for (size_t i = 0; i < run->ntasks; i++) {
        if (run->tasks[i].ninv && run->tasks[i].end_min < end_min)
            end_min = run->tasks[i].end_min;
        if (run->tasks[i].ninv && run->tasks[i].end_max > end_max)
            end_max = run->tasks[i].end_max;
    }
    rc = pt_logs_dedupe_begin(&dedupe, ninv, end_min, end_max, err);
    if (rc)
        goto out;
    if (big_n) {
        const struct pt_logs_task *t = &run->tasks[big];
        uint32_t f = fid[t->source];
        for (size_t k = 0; k < big_n; k++) {
            invs[k].fn = invs[k].fn ? t->groups[invs[k].fn - 1].fid : f;
            pt_logs_dedupe_count(&dedupe, invs[k].end);
        }
    }
    size_t ai = big_n, ac = 0;
    for (size_t i = 0; i < run->ntasks; i++) {
        struct pt_logs_task *t = &run->tasks[i];
        uint32_t f = fid[t->source];
        size_t first = i == big ? 0 : ai; /* where the task's records start in invs */
        /* Records are tagged 0 (the input's own function) or k + 1 (its log group k). */
        if (i != big && t->ninv)
            memcpy(figs + ai, t->figs, t->ninv * sizeof(*figs));
        for (size_t k = 0; k < t->ninv && i != big; k++) {
            invs[ai] = t->invs[k];
            invs[ai].fn = t->invs[k].fn ? t->groups[t->invs[k].fn - 1].fid : f;
            pt_logs_dedupe_count(&dedupe, invs[ai].end);
            ai++;
        }
        for (size_t k = 0; k < t->ncold; k++) {
            colds[ac] = t->colds[k];
            colds[ac].fn = t->colds[k].fn ? t->groups[t->colds[k].fn - 1].fid : f;
            colds[ac].inv = (uint32_t)(first + t->colds[k].inv);
            ac++;
        }
        free(t->invs);
        t->invs = NULL;
        free(t->figs);
        t->figs = NULL;
        free(t->colds);
        t->colds = NULL;
        counts_add(&fcounts[f], &t->counts);
        for (size_t k = 0; k < t->ngroups; k++)
            counts_add(&fcounts[t->groups[k].fid], &t->groups[k].counts);
    }

    /* The same log event read twice (overlapping exports, a file and its .gz) counts once. */
    size_t ndup = 0;
    rc = dedupe_inits(run, fid, fcounts, err);
    if (!rc)
        rc = pt_logs_dedupe_run(&dedupe, invs, figs, ninv, &ndup, err);
    if (rc)
        goto out;
    if (ndup) {
        size_t kept = 0;
        for (size_t k = 0; k < ninv; k++) {
            if (pt_logs_fig_flags(&figs[k]) & PT_LOGS_FIG_DUP) {
                pt_logs_counts_remove_report(&fcounts[invs[k].fn], &figs[k]);
                fdups[invs[k].fn]++;
            } else {
                invs[kept++] = invs[k];
            }
        }
        size_t ckept = 0;
        for (size_t k = 0; k < ncold; k++)
            if (!(pt_logs_fig_flags(&figs[colds[k].inv]) & PT_LOGS_FIG_DUP))
                colds[ckept++] = colds[k];
        ninv = kept;
        ncold = ckept;
    }
    free(figs);
    figs = NULL;

    cptr = malloc((r->nfunctions ? r->nfunctions : 1) * sizeof(*cptr));
    if (!cptr) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t f = 0; f < r->nfunctions; f++)
        cptr[f] = &fcounts[f];
    if (r->nfunctions == 1) {
        /* One function: its figures are the account's (the sweep did both limits). */
        rc = pt_logs_scope_compute(&r->functions[0], r, invs, ninv, colds, ncold, cptr, 1, true,
                                   err);
        if (!rc)
            rc = pt_logs_scope_clone(&r->all, &r->functions[0], err);
        if (rc)
            goto out;
        pt_logs_scope_finish(&r->functions[0], false);
        free(r->all.name);
        r->all.name = strdup("*");
        if (!r->all.name) {
            rc = pt_error_set(err, PT_ENOMEM, "out of memory");
            goto out;
        }
        pt_logs_scope_finish(&r->all, true);
        r->functions[0].duplicates = r->all.duplicates = ndup;
        goto out;
    }

    /* Everything (the account's view: the quota is shared by every function). */
    r->all.name = strdup("*");
    if (!r->all.name) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory");
        goto out;
    }
    rc = pt_logs_scope_compute(&r->all, r, invs, ninv, colds, ncold, cptr, r->nfunctions, true,
                               err);
    if (rc)
        goto out;
    pt_logs_scope_finish(&r->all, true);
    r->all.duplicates = ndup;

    /* Per function: a counting sort by function id, then one slice each. */
    sorted = malloc((ninv ? ninv : 1) * sizeof(*sorted));
    csorted = malloc((ncold ? ncold : 1) * sizeof(*csorted));
    istart = calloc(r->nfunctions + 1, sizeof(size_t));
    cstart = calloc(r->nfunctions + 1, sizeof(size_t));
    ipos = calloc(r->nfunctions + 1, sizeof(size_t));
    cpos = calloc(r->nfunctions + 1, sizeof(size_t));
    if (!sorted || !csorted || !istart || !cstart || !ipos || !cpos) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t k = 0; k < ninv; k++)
        istart[invs[k].fn + 1]++;
    for (size_t k = 0; k < ncold; k++)
        cstart[colds[k].fn + 1]++;
    for (size_t f = 0; f < r->nfunctions; f++) {
        istart[f + 1] += istart[f];
        cstart[f + 1] += cstart[f];
    }
    memcpy(ipos, istart, (r->nfunctions + 1) * sizeof(size_t));
    memcpy(cpos, cstart, (r->nfunctions + 1) * sizeof(size_t));
    for (size_t k = 0; k < ninv; k++)
        sorted[ipos[invs[k].fn]++] = invs[k];
    for (size_t k = 0; k < ncold; k++)
        csorted[cpos[colds[k].fn]++] = colds[k];
    free(invs);
    invs = NULL;
    free(colds);
    colds = NULL;
    for (size_t f = 0; f < r->nfunctions && !rc; f++) {
        const struct pt_logs_counts *one = &fcounts[f];
        rc = pt_logs_scope_compute(&r->functions[f], r, sorted + istart[f],
                                   istart[f + 1] - istart[f], csorted + cstart[f],
                                   cstart[f + 1] - cstart[f], &one, 1, r->nfunctions <= 8, err);
        pt_logs_scope_finish(&r->functions[f], false);
        r->functions[f].duplicates = fdups[f];
    }
out:
    free(istart);
    free(cstart);
    free(ipos);
    free(cpos);
    free(names);
    free(fid);
    pt_logs_dedupe_end(&dedupe);
    free(invs);
    free(figs);
    free(fdups);
    free(sorted);
    free(colds);
    free(csorted);
    free(fcounts);
    free(cptr);
    return rc;
}

/* ---------------------------------------------------------------- entry point */

int pt_logs_analyze(const char *const *paths, size_t npaths, const struct pt_logs_options *o,
                    struct pt_logs_result **out, struct pt_error *err)
{
    struct path_list pl = {0};
    struct pt_logs_run run;
    struct pt_logs_result *r = NULL;
    int rc = 0;

    memset(&run, 0, sizeof(run));
    *out = NULL;
    if (npaths == 0)
        return pt_error_set(err, PT_EUSAGE, "no input (give FILE..., a directory or - for stdin)");
    /* Records are numbered in 32 bits (cold starts, duplicates, timeouts point at them). */
    if (o->max_line < 64 || o->max_invocations == 0 || o->max_invocations >= UINT32_MAX ||
        o->quota < 1 ||
        o->minutes_before < 0 || o->minutes_before > 1440)
        return pt_error_set(err, PT_EUSAGE, "bad options (max_line, max_invocations, quota, "
                                            "minutes_before)");
    r = calloc(1, sizeof(*r));
    if (!r)
        return pt_error_set(err, PT_ENOMEM, "out of memory");
    r->opt = *o;
    r->opt.function = NULL; /* not owned; only used while reading */
    rc = pt_logs_price(o->region, o->architecture, &r->price_gb_s, &r->price_requests, err);
    if (rc && o->price_gb_s >= 0 && o->price_requests >= 0 &&
        (strcmp(o->architecture, "x86_64") == 0 || strcmp(o->architecture, "arm64") == 0)) {
        rc = 0; /* both prices given: the region is only a label */
        pt_error_clear(err);
    }
    if (rc)
        goto out;
    if (o->price_gb_s >= 0)
        r->price_gb_s = o->price_gb_s;
    if (o->price_requests >= 0)
        r->price_requests = o->price_requests;

    rc = expand_inputs(paths, npaths, &pl, err);
    if (!rc)
        rc = drop_duplicate_files(&pl, err);
    if (rc)
        goto out;
    r->sources = calloc(pl.n, sizeof(*r->sources));
    if (!r->sources) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < pl.n; i++) {
        struct pt_logs_source *s = &r->sources[r->nsources++];
        s->path = pl.v[i];
        pl.v[i] = NULL;
        s->name = o->function ? strdup(o->function) : name_from_path(s->path);
        s->name_forced = o->function != NULL;
        s->stream = stream_from_path(s->path);
        if (!s->name) {
            rc = pt_error_set(err, PT_ENOMEM, "out of memory");
            goto out;
        }
    }

    int threads = o->threads;
    if (threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (int)n : 1;
    }
    if (threads > PT_LOGS_THREADS_MAX)
        threads = PT_LOGS_THREADS_MAX;
    run.opt = o;
    run.sources = r->sources;
    run.nsources = r->nsources;
    atomic_init(&run.next_task, 0);
    atomic_init(&run.invocations, 0);
    atomic_init(&run.stop, false);
    rc = plan_tasks(&run, threads, err);
    if (rc)
        goto out;
    if ((size_t)threads > run.ntasks)
        threads = (int)run.ntasks;
    run_threads(&run, threads);
    /* The first failure in input order is the one reported (a limit hit elsewhere stops all). */
    for (size_t i = 0; i < run.ntasks; i++) {
        if (run.tasks[i].rc && run.tasks[i].rc != PT_ELIMIT) {
            if (err)
                *err = run.tasks[i].err;
            rc = run.tasks[i].rc;
            goto out;
        }
    }
    for (size_t i = 0; i < run.ntasks; i++) {
        if (run.tasks[i].rc) {
            if (err)
                *err = run.tasks[i].err;
            rc = run.tasks[i].rc;
            goto out;
        }
    }
    rc = merge(&run, r, err);
out:
    free_run(&run);
    for (size_t i = 0; i < pl.n; i++)
        free(pl.v[i]);
    free(pl.v);
    if (rc) {
        pt_logs_result_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void pt_logs_result_free(struct pt_logs_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nsources; i++) {
        free(r->sources[i].path);
        free(r->sources[i].name);
        free(r->sources[i].stream);
    }
    free(r->sources);
    pt_logs_scope_free(&r->all);
    for (size_t i = 0; i < r->nfunctions; i++)
        pt_logs_scope_free(&r->functions[i]);
    free(r->functions);
    free(r);
}
