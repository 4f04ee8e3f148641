/*
 * adaptive.h - `powertune tune --adaptive`: stop sampling once the recommendation under the
 * run's strategy is statistically settled, within a tolerance under which two powers count
 * as equally good.
 *
 * The score of one invocation is its price (cost), its Duration + Init (speed), or
 * w x price / maxCost + (1 - w) x duration / maxDuration (balanced; the maxima are the
 * current trimmed means over the powers, constants for the look). Lower is better.
 *
 * The procedure, in rounds. Every power first gets min_samples invocations, then each round
 * brings the powers still sampled to batch more, up to num. After every round (a "look"):
 *   - leader: the power with the lowest trimmed-mean score (discardTopBottom's trimming, the
 *     recommendation's own estimate). Cold starts are left out of the test's values unless
 *     the run is onlyColdStarts: a power's first invocation is always cold, an outlier the
 *     full run's trimming drops anyway.
 *   - candidates: the powers whose estimate is within half the tolerance of the leader's;
 *     the pick is the candidate the strategy's tie-break prefers: cost - the lowest trimmed
 *     Duration + Init, speed - the lowest trimmed price (the reference's tie-break
 *     directions, power-tuning.md 4), balanced - the first in input order (the reference has
 *     no other); then input order.
 *   - every other power i is settled when the one-sided upper confidence bound of
 *     score(pick) - score(i) (Yuen's trimmed-mean t-test, Welch-Satterthwaite df) is below
 *     the margin, tolerance x the leader's estimate: the pick is not worse than i by more
 *     than the tolerance. It is also labelled: "worse" (i's lower bound above the pick's),
 *     "equivalent" (two one-sided tests put the difference within +-margin) or "notBetter".
 *   - a power not settled is "tied" when the same comparison, projected to num invocations
 *     of both (the spread and difference seen now, the variance of a trimmed mean falling as
 *     1 / values kept), would not settle it either: a fixed run of num could not tell the two
 *     apart at the tolerance, so more samples buy nothing (a futility stop). Tested again at
 *     every look, so new samples of the pick can undo it. Not with tolerance 0, where every
 *     difference matters and more samples sharpen the pick even when they cannot prove it.
 *   - a power neither settled nor tied is "behind" when num invocations would settle it but,
 *     by the predictive distribution of the difference at num (flat prior: centred on today's
 *     difference, with the variance the invocations to come leave unknown, d(now) - d(num) per
 *     power; t with today's df), it has under PT_ADAPTIVE_BEHIND_BETA of getting ahead of the
 *     pick by half the tolerance: more samples would prove the pick without being able to
 *     change it (a second futility stop). Not with tolerance 0 either.
 *   - sampled next round: the powers neither settled, tied nor behind, and the pick while any is.
 *     When the pick changes, every power is tested again against the new pick on all
 *     samples, and one no longer settled is sampled again.
 *   - the run ends when nothing is sampled: everything settled ("stop": "settled"), the rest
 *     tied or behind, at least one tied ("tied"), the rest behind ("behind"), or num reached
 *     ("num"); "settled" is false unless the first.
 *
 * Confidence: 95 % family-wise that the pick's score is within the tolerance of the best
 * power's. On the event that every comparison of the truly best power b with the others
 * holds at every look ((K - 1) one-sided bounds per look, K powers), a settled pick p has
 * score(p) - score(b) < margin (Hsu's multiple comparisons with the best: the pick being
 * chosen from the data costs no extra comparisons). The looks share alpha by Bonferroni:
 * each comparison is made at alpha / ((K - 1) x L), L the number of looks the run can take.
 * A settlement stands while the pick stays the same power: it asserts something about true
 * scores, proven at its own look's alpha; testing it again would only add looks. As
 * far as the t approximation holds, and with the margin's scale (the leader's estimate)
 * taken as known. With tolerance 0 it is the plain test "the pick is the best". The
 * statement covers settled powers only: a tied one was stopped by a projection from point
 * estimates, not a test; what is known of it is that num invocations would not have ordered
 * it against the pick at the tolerance; of a behind one, that num would very likely not
 * have made it the pick.
 *
 * The tolerance (--adaptive-tolerance, default 5 %): differences under it are within
 * Lambda's run-to-run variation of duration and the 1 ms billing step of a 20 ms function,
 * and a fixed run of num 20 does not reproduce its own winner among powers that close (the
 * bench's noise ceiling). A larger tolerance settles sooner on a noisy host.
 *
 * Pure code: no I/O; the runner feeds it the samples taken so far.
 */
#ifndef PT_TUNE_ADAPTIVE_H
#define PT_TUNE_ADAPTIVE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "tune/tune.h"

#define PT_ADAPTIVE_MIN_SAMPLES 5   /* per power before the first look */
#define PT_ADAPTIVE_MIN_TRIMMED 3   /* test values left after trimming, at least */
#define PT_ADAPTIVE_BATCH 2         /* invocations per sampled power per round */
#define PT_ADAPTIVE_CONFIDENCE 0.95 /* family-wise */
#define PT_ADAPTIVE_ALPHA 0.05      /* 1 - confidence, exactly (1 - 0.95 is not 0.05) */
#define PT_ADAPTIVE_TEST_NAME                                                                     \
    "Yuen's trimmed-mean t-test (Welch-Satterthwaite df), one-sided, the pick against every "   \
    "other power, settled within the tolerance (multiple comparisons with the best); "         \
    "Bonferroni over powers and looks"

/* Student's t distribution: P(T > t) for df > 0 (non-integer allowed), and its inverse. */
double pt_student_t_upper(double t, double df);
/* The t with P(T > t) = p, for p in (0, 0.5]; NaN outside. */
double pt_student_t_quantile_upper(double p, double df);

/* Yuen's statistics of one sample (sorted in place): trimmed mean and d = (n - 1) x
 * winsorised variance / (h (h - 1)), h = n - 2 floor(n x trim) values kept. */
struct pt_yuen_sample {
    double mean;
    double d;
    size_t h;
};
/* PT_EUSAGE when fewer than 2 values would be kept. */
int pt_yuen_sample(double *values, size_t n, double trim, struct pt_yuen_sample *out,
                   struct pt_error *err);

/* The comparison of a against b: difference of trimmed means, its standard error and the
 * Welch-Satterthwaite degrees of freedom (infinite when both d are 0). */
struct pt_yuen_diff {
    double diff, se, df;
};
void pt_yuen_compare(const struct pt_yuen_sample *a, const struct pt_yuen_sample *b,
                     struct pt_yuen_diff *out);
/* One-sided (1 - alpha) bounds of a - b. With se 0 (no spread in either) the difference is
 * taken as exact. */
double pt_yuen_lower(const struct pt_yuen_diff *d, double alpha);
double pt_yuen_upper(const struct pt_yuen_diff *d, double alpha);
/* True when the lower bound of a - b is above 0: a is larger. */
bool pt_yuen_greater(const struct pt_yuen_diff *d, double alpha);
/* Two one-sided tests, each at alpha: -margin < a - b < margin is shown. */
bool pt_yuen_equivalent(const struct pt_yuen_diff *d, double margin, double alpha);

enum pt_adaptive_state {
    PT_ADAPTIVE_RUNNING = 0, /* not settled: sampled next round */
    PT_ADAPTIVE_PICK,        /* the current pick (sampled while anything is not settled) */
    PT_ADAPTIVE_WORSE,       /* settled: significantly worse than the pick */
    PT_ADAPTIVE_EQUIVALENT,  /* settled: within +-tolerance of the pick (two one-sided tests) */
    PT_ADAPTIVE_NOT_BETTER,  /* settled: not better than the pick by more than the tolerance */
    PT_ADAPTIVE_UNDECIDED,   /* reached num without being settled */
    PT_ADAPTIVE_EXCLUDED,    /* failed beyond allowedExceptions */
    PT_ADAPTIVE_TIED,        /* not settled, and num invocations would not settle it either */
    PT_ADAPTIVE_BEHIND,      /* not settled, and num invocations would not make it the pick */
};

/* The predictive probability under which a power counts as unable to overtake the pick. */
#define PT_ADAPTIVE_BEHIND_BETA 0.05

/* Why sampling ended. */
enum pt_adaptive_stop {
    PT_ADAPTIVE_STOP_NONE = 0, /* still sampling (or nothing valid to pick from) */
    PT_ADAPTIVE_STOP_SETTLED,  /* every other power settled against the pick */
    PT_ADAPTIVE_STOP_TIED,     /* the rest settled, tied or behind, at least one tied */
    PT_ADAPTIVE_STOP_BEHIND,   /* the rest settled or behind: num would not change the pick */
    PT_ADAPTIVE_STOP_NUM,      /* num reached with powers undecided */
};
const char *pt_adaptive_stop_name(enum pt_adaptive_stop s);

struct pt_adaptive_power {
    int power;
    long invocations;         /* samples of this power, resumed ones included */
    enum pt_adaptive_state state;
    long round;               /* the look that last changed its state */
    double score;             /* trimmed mean of its score at the last look (NaN: none) */
    bool sample;              /* to be sampled in the next round */
};

struct pt_adaptive {
    bool enabled;
    enum pt_tune_strategy strategy;
    double weight, trim;
    double tolerance;         /* relative, e.g. 0.05 */
    bool only_cold;           /* onlyColdStarts: cold starts are the test's values */
    long num;
    long min_samples, batch;
    double confidence;        /* family-wise */
    long max_looks;           /* rounds that can happen: targets min_samples.. up to num */
    long rounds;              /* looks taken */
    double last_alpha;        /* per comparison at the last look */
    double margin;            /* tolerance x the leader's estimate at the last look */
    long pick;                /* index of the pick (-1: none yet) */
    bool settled;             /* every other power settled against the pick */
    enum pt_adaptive_stop stop;
    const char (*allowed)[PT_TUNE_ERROR_TYPE_MAX];
    size_t n_allowed;
    struct pt_price_model price;
    struct pt_adaptive_power *powers; /* in->powers order */
    size_t n_powers;
};

/* Everything from in (strategy, weight, discardTopBottom, adaptive tolerance, num, powers,
 * onlyColdStarts, allowedExceptions) and the price model (copied). in must outlive a
 * (allowedExceptions are referenced). */
int pt_adaptive_init(struct pt_adaptive *a, const struct pt_tune_input *in,
                     const struct pt_price_model *price, struct pt_error *err);
void pt_adaptive_free(struct pt_adaptive *a);
/* What every sampled power should have after round k (0-based): min_samples, then batch
 * more per round, capped at num. */
long pt_adaptive_round_target(const struct pt_adaptive *a, long round);
/* The alpha of one comparison at look k (0-based): (1 - confidence) / ((K - 1) x L). */
double pt_adaptive_look_alpha(const struct pt_adaptive *a, long look);
/*
 * The look after round `round`: counts the samples, excludes failed powers, picks, settles,
 * and marks what the next round samples. Samples of powers not in the run are ignored.
 */
int pt_adaptive_update(struct pt_adaptive *a, long round, const struct pt_tune_sample *samples,
                       size_t n, struct pt_error *err);
/* Power i is to be sampled in the next round. */
bool pt_adaptive_running(const struct pt_adaptive *a, size_t i);
size_t pt_adaptive_n_running(const struct pt_adaptive *a);
long pt_adaptive_invocations(const struct pt_adaptive *a);
/* The recommended power (MB), or -1 when every power was excluded. */
int pt_adaptive_recommendation(const struct pt_adaptive *a);
const char *pt_adaptive_state_name(enum pt_adaptive_state s);
/* {"test", "confidence", "tolerance", "tieBreak", "settled", "recommendation", "margin",
 *  "lastAlpha", "minSamples", "batch", "rounds", "invocations", "fixedInvocations", "saved",
 *  "powers": [{"power", "invocations", "state", "score"}]}. NULL on allocation failure. */
json_t *pt_adaptive_json(const struct pt_adaptive *a);

#endif
