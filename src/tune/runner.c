/*
 * runner.c - the run loop (see runner.h). Fixed runs take each power in turn; --adaptive
 * runs take the powers in rounds and ask adaptive.c after each round which to sample next.
 */
#include "tune/runner.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/rand.h"
#include "base/str.h"

#define RUNNER_CONCURRENCY_DEFAULT 10
#define RUNNER_THROTTLE_RETRIES_DEFAULT 8
#define RUNNER_BACKOFF_BASE_MS 50
#define RUNNER_BACKOFF_CAP_MS 5000

struct runner {
    const struct pt_tune_input *in;
    struct pt_target *target;
    const struct pt_runner_options *opt;
    struct pt_runner_report *rep;
    size_t rep_cap;
    pthread_mutex_t lock;
    /* The power being run. */
    int power;
    const struct pt_tune_payloads *payloads;
    const int *order; /* payload of each invocation index; NULL: payloads->payload_of */
    long next; /* next invocation index of this power */
    long num;
    /* Outcome. */
    int rc;
    struct pt_error err;
    bool stop;
    struct pt_runner_progress prog;
};

void pt_target_result_free(struct pt_target_result *r)
{
    free(r->payload);
    r->payload = NULL;
    r->payload_len = 0;
}

void pt_runner_report_free(struct pt_runner_report *r)
{
    free(r->samples);
    pt_adaptive_free(&r->adaptive);
    memset(r, 0, sizeof(*r));
}

static bool runner_allowed(const struct pt_tune_input *in, const char *type)
{
    for (size_t i = 0; i < in->n_allowed; i++)
        if (strcmp(in->allowed_exceptions[i], type) == 0)
            return true;
    return false;
}

/* Called with the lock held. */
static int runner_record(struct runner *r, const struct pt_tune_sample *s, struct pt_error *err)
{
    struct pt_runner_report *rep = r->rep;
    if (rep->n_samples == r->rep_cap) {
        size_t cap = r->rep_cap ? r->rep_cap * 2 : 256;
        struct pt_tune_sample *v = realloc(rep->samples, cap * sizeof(*v));
        if (!v)
            return pt_error_set(err, PT_ENOMEM, "out of memory for %zu samples", cap);
        rep->samples = v;
        r->rep_cap = cap;
    }
    rep->samples[rep->n_samples++] = *s;
    if (r->opt->samples)
        return pt_samples_write(r->opt->samples, s, err);
    return 0;
}

/* Called with the lock held: the first error wins and stops every worker. */
static void runner_fail(struct runner *r, int rc, const struct pt_error *err)
{
    if (!r->rc) {
        r->rc = rc;
        r->err = *err;
    }
    r->stop = true;
}

/* Sleeps ms, cut short by Ctrl-C: PT_EINTR if it came. */
static int runner_pause(const struct runner *r, int64_t ms, struct pt_error *err)
{
    if (pt_sleep_ms_unless(ms, r->opt->interrupted, r->opt->interrupted_arg))
        return pt_error_set(err, PT_EINTR, "interrupted");
    return 0;
}

/* Full-jitter exponential backoff: a random wait in [0, min(cap, base x 2^attempt)]. */
static int runner_backoff(const struct runner *r, int attempt, struct pt_error *err)
{
    long base = r->opt->backoff_base_ms > 0 ? r->opt->backoff_base_ms : RUNNER_BACKOFF_BASE_MS;
    long ceiling = base << (attempt < 16 ? attempt : 16);
    if (ceiling > RUNNER_BACKOFF_CAP_MS)
        ceiling = RUNNER_BACKOFF_CAP_MS;
    char hex[9];
    pt_random_hex(hex, 8);
    unsigned long rnd = strtoul(hex, NULL, 16);
    return runner_pause(r, (int64_t)(rnd % (unsigned long)(ceiling + 1)), err);
}

static bool runner_is_null_text(const char *p, size_t n)
{
    while (n && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')) {
        p++;
        n--;
    }
    return n == 0 || (n >= 4 && memcmp(p, "null", 4) == 0);
}

/*
 * A throttle answered: counted, then a backoff unless attempt was the last one allowed
 * (*give_up). PT_EINTR if Ctrl-C came during the backoff.
 */
static int runner_throttled(struct runner *r, int attempt, bool *give_up, struct pt_error *err)
{
    int max = r->opt->max_throttle_retries > 0 ? r->opt->max_throttle_retries
                                               : RUNNER_THROTTLE_RETRIES_DEFAULT;
    pthread_mutex_lock(&r->lock);
    r->rep->throttles++;
    *give_up = attempt + 1 >= max || r->stop;
    if (*give_up)
        r->rep->throttle_failures++;
    pthread_mutex_unlock(&r->lock);
    return *give_up ? 0 : runner_backoff(r, attempt, err);
}

/*
 * One invocation of the function tuned (processor NULL) or of a pre/post-processor, its
 * throttles backed off (runner_throttled). *invoke_rc is the invocation's own result
 * (PT_ETHROTTLED with *gave_up once every retry was throttled); the return value is the
 * backoff's (PT_EINTR: Ctrl-C during it).
 */
static int runner_invoke_backoff(struct runner *r, const char *processor, const char *payload,
                                 size_t len, struct pt_target_result *out, int *invoke_rc,
                                 bool *gave_up, struct pt_error *err)
{
    *gave_up = false;
    for (int attempt = 0;; attempt++) {
        memset(out, 0, sizeof(*out));
        *invoke_rc = processor ? r->target->ops->invoke_processor(r->target->ctx, processor,
                                                                  payload, len, out, err)
                               : r->target->ops->invoke(r->target->ctx, r->power, payload, len,
                                                        r->in->only_cold_starts, out, err);
        if (*invoke_rc != PT_ETHROTTLED)
            return 0;
        int rc = runner_throttled(r, attempt, gave_up, err);
        if (rc || *gave_up)
            return rc;
    }
}

/*
 * A pre/post-processor; any failure fails the run, as in the reference. Throttles are backed
 * off as for the function (the reference's SDK retries them), and fail the run once given up.
 */
static int runner_processor(struct runner *r, const char *which, const char *function,
                            const char *payload, size_t len, struct pt_target_result *out,
                            struct pt_error *err)
{
    int rc;
    bool gave_up;
    int brc = runner_invoke_backoff(r, function, payload, len, out, &rc, &gave_up, err);
    if (brc)
        return brc;
    if (rc)
        return pt_error_wrap(err, "%s %s failed", which, function);
    if (out->function_error) {
        rc = pt_error_set(err, PT_EIO, "%s %s failed with %s: %.*s", which, function,
                          out->error_type, (int)(out->payload_len < 300 ? out->payload_len : 300),
                          out->payload ? out->payload : "");
        pt_target_result_free(out);
    }
    return rc;
}

/* One invocation of the main function (with processors, backoff and the sample). */
static int runner_one(struct runner *r, long index, struct pt_error *err)
{
    const struct pt_tune_input *in = r->in;
    const struct pt_tune_payloads *pl = r->payloads;
    int pidx = r->order ? r->order[index] : pl->payload_of[index];
    const char *payload = pl->texts[pidx];
    size_t payload_len = pl->text_len[pidx];
    struct pt_target_result pre = {0}, res = {0}, post = {0};
    int rc = 0;
    if (in->pre_processor[0]) {
        rc = runner_processor(r, "PreProcessor", in->pre_processor, payload, payload_len, &pre,
                              err);
        if (rc)
            goto out;
        if (pre.payload && !runner_is_null_text(pre.payload, pre.payload_len)) {
            payload = pre.payload; /* the pre-processor's output replaces the payload */
            payload_len = pre.payload_len;
        }
    }
    int invoke_rc;
    bool gave_up;
    rc = runner_invoke_backoff(r, NULL, payload, payload_len, &res, &invoke_rc, &gave_up, err);
    if (!rc && gave_up) {
        /* Recorded as a failed invocation of this power: the run goes on. Nothing ran: no
         * Init Duration (the result was zeroed: 0 would count as a 0 ms cold start). */
        res.function_error = true;
        res.init_ms = -1;
        pt_strlcpy(res.error_type, PT_TUNE_THROTTLED_ERROR, sizeof(res.error_type));
    } else if (!rc) {
        rc = invoke_rc;
    }
    if (rc)
        goto out;
    if (in->post_processor[0]) {
        rc = runner_processor(r, "PostProcessor", in->post_processor,
                              res.payload ? res.payload : "null",
                              res.payload ? res.payload_len : 4, &post, err);
        if (rc)
            goto out;
    }
    struct pt_tune_sample s = {
        .power = r->power,
        .duration_ms = res.duration_ms,
        .billed_ms = res.billed_ms,
        .init_ms = res.init_ms,
        .max_memory_used_mb = res.max_memory_used_mb,
        .cpu_time_ms = res.cpu_time_ms,
        .cold_start = res.cold_start,
        .payload_index = pidx,
        .t_ms = pt_epoch_ms(),
    };
    if (res.function_error)
        pt_strlcpy(s.error, res.error_type[0] ? res.error_type : "Unhandled", sizeof(s.error));
    pthread_mutex_lock(&r->lock);
    rc = runner_record(r, &s, err);
    if (res.degraded)
        r->rep->degraded = true;
    r->prog.done++;
    if (r->opt->progress)
        r->opt->progress(r->opt->progress_arg, &r->prog);
    pthread_mutex_unlock(&r->lock);
    if (!rc && res.function_error && in->fail_fast && !runner_allowed(in, s.error)) {
        /* The reference's message (power-tuning.md 7.3), for users who rely on it. */
        rc = pt_error_set(err, PT_EIO,
                          "Invocation error (running in %s) - original error type: \"%s\", "
                          "original error message: %.*s",
                          in->parallel ? "parallel" : "series", s.error,
                          (int)(res.payload_len < 500 ? res.payload_len : 500),
                          res.payload ? res.payload : "");
    }
    if (!rc && !in->parallel && in->sleep_between_runs_ms > 0) /* after the post-processor */
        rc = runner_pause(r, in->sleep_between_runs_ms, err);
out:
    pt_target_result_free(&pre);
    pt_target_result_free(&res);
    pt_target_result_free(&post);
    return rc;
}

static void *runner_worker(void *p)
{
    struct runner *r = p;
    for (;;) {
        pthread_mutex_lock(&r->lock);
        bool more = !r->stop && r->next < r->num;
        long index = more ? r->next++ : 0;
        pthread_mutex_unlock(&r->lock);
        if (!more)
            break;
        struct pt_error err = {0};
        int rc = runner_one(r, index, &err);
        if (rc) {
            pthread_mutex_lock(&r->lock);
            runner_fail(r, rc, &err);
            pthread_mutex_unlock(&r->lock);
            break;
        }
    }
    return NULL;
}

static long runner_resumed_count(const struct pt_samples_file *resume, int power)
{
    long n = 0;
    for (size_t i = 0; resume && i < resume->n; i++)
        n += resume->samples[i].power == power;
    return n;
}

/* Invocations [start, end) of one prepared power, in series or by up to --concurrency
 * workers; the outcome is in r->rc / r->stop. */
static void runner_batch(struct runner *r, size_t power_index, const struct pt_tune_payloads *pl,
                         const int *order, long start, long end)
{
    int power = r->in->powers[power_index];
    pthread_mutex_lock(&r->lock);
    r->power = power;
    r->payloads = pl;
    r->order = order;
    r->next = start;
    r->num = end;
    r->prog.power = power;
    r->prog.power_index = power_index;
    pthread_mutex_unlock(&r->lock);

    long workers = 1;
    if (r->in->parallel) {
        int cap = r->opt->concurrency > 0 ? r->opt->concurrency : RUNNER_CONCURRENCY_DEFAULT;
        workers = end - start < cap ? end - start : cap;
    }
    pthread_t *threads = workers > 1 ? calloc((size_t)workers - 1, sizeof(*threads)) : NULL;
    long started = 0;
    for (; threads && started < workers - 1; started++)
        if (pthread_create(&threads[started], NULL, runner_worker, r) != 0)
            break;
    runner_worker(r);
    for (long i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    free(threads);
}

struct interleave_item {
    double key;
    int payload;
};

static int interleave_cmp(const void *x, const void *y)
{
    const struct interleave_item *a = x, *b = y;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return (a->payload > b->payload) - (a->payload < b->payload);
}

/*
 * The payload of each invocation index of a power from start on: the payloads still owed
 * (the allocation minus what the samples recorded so far - resumed ones - already sent), so
 * that the run that reaches num sends the reference's allocation exactly. The samples say
 * which payloads were sent, not their index: a parallel run interrupted leaves a set of
 * finished invocations that is not a prefix, and resuming from index start would resend the
 * payloads of the first indices and never send some others.
 * blocks: in the reference's order, all of the first payload owed, then the second... (a
 * fixed run). Otherwise (adaptive: a power may stop early, and would then have seen the first
 * block only) interleaved in proportion: the k-th of payload p's owed invocations sits at
 * (k + 0.5) / owed_p, so every prefix holds them in proportion.
 */
static int runner_payload_order(const struct pt_tune_payloads *pl,
                                const struct pt_runner_report *rep, int power, long start,
                                bool blocks, int **out, struct pt_error *err)
{
    long num = pl->num;
    int *order = malloc((size_t)(num ? num : 1) * sizeof(*order));
    long *owed = calloc(pl->n_texts ? pl->n_texts : 1, sizeof(*owed));
    struct interleave_item *items = NULL;
    int rc = 0;
    if (!order || !owed) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory for %ld payload indices", num);
        goto out;
    }
    memcpy(order, pl->payload_of, (size_t)num * sizeof(*order));
    for (long i = 0; i < num; i++)
        owed[pl->payload_of[i]]++;
    for (size_t j = 0; j < rep->n_samples; j++) {
        int p = rep->samples[j].payload_index;
        if (rep->samples[j].power == power && p >= 0 && (size_t)p < pl->n_texts && owed[p] > 0)
            owed[p]--;
    }
    size_t total = 0;
    for (size_t p = 0; p < pl->n_texts; p++)
        total += (size_t)owed[p];
    items = calloc(total ? total : 1, sizeof(*items));
    if (!items) {
        rc = pt_error_set(err, PT_ENOMEM, "out of memory for %zu payload indices", total);
        goto out;
    }
    size_t m = 0;
    for (size_t p = 0; p < pl->n_texts; p++)
        for (long k = 0; k < owed[p]; k++)
            items[m++] = (struct interleave_item){
                blocks ? (double)p : ((double)k + 0.5) / (double)owed[p], (int)p};
    qsort(items, total, sizeof(*items), interleave_cmp);
    for (size_t i = 0; i < total && start + (long)i < num; i++)
        order[start + (long)i] = items[i].payload;
    *out = order;
    order = NULL;
out:
    free(order);
    free(owed);
    free(items);
    return rc;
}

static int runner_power(struct runner *r, size_t power_index, const json_t *payload,
                        struct pt_error *err)
{
    const struct pt_tune_input *in = r->in;
    int power = in->powers[power_index];
    long num = pt_tune_input_runs_per_power(in);
    long start = runner_resumed_count(r->opt->resume, power);
    if (start >= num)
        return 0; /* done before the interruption */
    struct pt_tune_payloads pl = {0};
    int *order = NULL; /* resumed: what is still owed; else the allocation's own order */
    /* The allocation is num's (validated): a dry run sends its first payload, where the
     * reference fails (weighted payloads cannot be allocated to one invocation). */
    int rc = pt_tune_payloads_generate(payload, in->num, &pl, err);
    if (!rc && start > 0)
        rc = runner_payload_order(&pl, r->rep, power, start, true, &order, err);
    if (rc) {
        pt_tune_payloads_free(&pl);
        return rc;
    }
    rc = r->target->ops->prepare_power(r->target->ctx, power, err);
    if (rc) {
        pt_tune_payloads_free(&pl);
        free(order);
        return pt_error_wrap(err, "power %d MB", power);
    }
    runner_batch(r, power_index, &pl, order, start, num);
    r->target->ops->finish_power(r->target->ctx, power);
    pt_tune_payloads_free(&pl);
    free(order);
    pthread_mutex_lock(&r->lock);
    r->payloads = NULL;
    r->order = NULL;
    pthread_mutex_unlock(&r->lock);
    return 0;
}

/* ------------------------------------------------------------ adaptive -- */

static long runner_sample_count(const struct pt_runner_report *rep, int power)
{
    long n = 0;
    for (size_t i = 0; i < rep->n_samples; i++)
        n += rep->samples[i].power == power;
    return n;
}

/* What an adaptive run holds per power between rounds. */
struct adaptive_power_run {
    struct pt_tune_payloads pl;
    int *order;
    bool prepared;
};

/* Prepared on its first batch (resumed powers already at num never are). */
static int runner_adaptive_prepare(struct runner *r, size_t i, const json_t *payload, long done,
                                   struct adaptive_power_run *run, struct pt_error *err)
{
    int power = r->in->powers[i];
    int rc = pt_tune_payloads_generate(payload, r->rep->adaptive.num, &run->pl, err);
    if (!rc)
        rc = runner_payload_order(&run->pl, r->rep, power, done, false, &run->order, err);
    if (!rc && (rc = r->target->ops->prepare_power(r->target->ctx, power, err)))
        pt_error_wrap(err, "power %d MB", power);
    run->prepared = rc == 0;
    return rc;
}

/*
 * Rounds: each power adaptive.c wants sampled is brought to the round's target (min_samples,
 * then batch more per round, in input order; a power sampled again after a pause catches up
 * at once), then adaptive.c takes its look. Ends when nothing is to be sampled; the samples,
 * the samples file and resume are the fixed run's.
 */
static int runner_adaptive(struct runner *r, const json_t *payload, struct pt_error *err)
{
    const struct pt_tune_input *in = r->in;
    struct pt_adaptive *ad = &r->rep->adaptive;
    struct pt_price_model own;
    const struct pt_price_model *price = r->opt->price;
    int rc = 0;
    if (!price) {
        rc = pt_price_model_init(&own, in->pricing, in->region[0] ? in->region : "us-east-1",
                                 in->architecture, in->price_per_gb_s, err);
        if (rc)
            return rc;
        price = &own;
    }
    if ((rc = pt_adaptive_init(ad, in, price, err)))
        return rc;
    struct adaptive_power_run *runs = calloc(in->n_powers ? in->n_powers : 1, sizeof(*runs));
    if (!runs)
        return pt_error_set(err, PT_ENOMEM, "out of memory for %zu powers", in->n_powers);
    for (long round = 0; !rc && pt_adaptive_n_running(ad) > 0; round++) {
        long target = pt_adaptive_round_target(ad, round);
        for (size_t i = 0; !rc && i < in->n_powers; i++) {
            if (!pt_adaptive_running(ad, i))
                continue;
            long done = runner_sample_count(r->rep, in->powers[i]);
            if (done >= target)
                continue; /* resumed past this round */
            if (!runs[i].prepared && (rc = runner_adaptive_prepare(r, i, payload, done, &runs[i],
                                                                   err)))
                break;
            runner_batch(r, i, &runs[i].pl, runs[i].order, done, target);
            if (r->rc) {
                rc = r->rc;
                *err = r->err;
            }
        }
        if (!rc)
            rc = pt_adaptive_update(ad, round, r->rep->samples, r->rep->n_samples, err);
        if (!rc) {
            /* Powers not sampled leave the total: the bar ends at what actually ran. */
            pthread_mutex_lock(&r->lock);
            r->prog.total = r->prog.done;
            for (size_t i = 0; i < ad->n_powers; i++)
                if (pt_adaptive_running(ad, i) && ad->powers[i].invocations < ad->num)
                    r->prog.total += ad->num - ad->powers[i].invocations;
            if (r->opt->progress && r->prog.done == r->prog.total)
                r->opt->progress(r->opt->progress_arg, &r->prog);
            pthread_mutex_unlock(&r->lock);
        }
    }
    for (size_t i = 0; i < in->n_powers; i++) {
        if (runs[i].prepared)
            r->target->ops->finish_power(r->target->ctx, in->powers[i]);
        pt_tune_payloads_free(&runs[i].pl);
        free(runs[i].order);
    }
    free(runs);
    pthread_mutex_lock(&r->lock);
    r->payloads = NULL;
    r->order = NULL;
    pthread_mutex_unlock(&r->lock);
    return rc;
}

int pt_runner_run(const struct pt_tune_input *in, const json_t *payload, struct pt_target *target,
                  const struct pt_runner_options *opt, struct pt_runner_report *report,
                  struct pt_error *err)
{
    memset(report, 0, sizeof(*report));
    struct runner r = {.in = in, .target = target, .opt = opt, .rep = report};
    pthread_mutex_init(&r.lock, NULL);
    int rc = 0;
    long num = pt_tune_input_runs_per_power(in);
    r.prog.n_powers = in->n_powers;
    for (size_t i = 0; i < in->n_powers; i++) {
        long done = runner_resumed_count(opt->resume, in->powers[i]);
        r.prog.total += num > done ? num - done : 0;
    }
    /* Resumed samples come first, as if this run had taken them. */
    for (size_t i = 0; opt->resume && i < opt->resume->n && !rc; i++) {
        struct pt_tune_sample s = opt->resume->samples[i];
        const struct pt_runner_options *saved = r.opt;
        struct pt_runner_options no_write = *opt;
        no_write.samples = NULL; /* already in the file */
        r.opt = &no_write;
        rc = runner_record(&r, &s, err);
        r.opt = saved;
    }
    bool adaptive = in->adaptive && !in->dry_run; /* a dry run is one invocation anyway */
    if (!rc && adaptive)
        rc = runner_adaptive(&r, payload, err);
    for (size_t i = 0; i < in->n_powers && !rc && !adaptive; i++) {
        rc = runner_power(&r, i, payload, err);
        if (!rc && r.rc) {
            rc = r.rc;
            *err = r.err;
        }
    }
    report->aborted = rc != 0;
    pthread_mutex_destroy(&r.lock);
    return rc;
}
