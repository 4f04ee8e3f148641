/*
 * adaptive.h - `powertune tune --adaptive`: stop sampling a power value once it can no
 * longer win under the run's strategy.
 *
 * The procedure (successive elimination in rounds):
 *   - Every power first gets min_samples invocations (5, or more when discardTopBottom
 *     would leave fewer than 3 values after trimming), then rounds of `batch` (3) more,
 *     in input order, up to num.
 *   - After each round that leaves some power below num, each power still in the race is
 *     compared with the leader (the best point estimate under the strategy) by Yuen's
 *     trimmed-mean t-test with Welch-Satterthwaite degrees of freedom - Welch's t-test on
 *     the trimmed means, trimmed by the run's discardTopBottom, the same trimmed mean the
 *     recommendation is made from (with discardTopBottom 0 it is Welch's t-test itself).
 *     The score of one invocation is its price (cost), its Duration + Init (speed), or
 *     w x price / maxCost + (1 - w) x duration / maxDuration (balanced; the maxima are the
 *     current trimmed means over the powers, taken as constants for the round).
 *   - A power whose one-sided confidence bound on (its score - the leader's score) is above
 *     0 stops: it is worse than the leader. A power whose invocations fail beyond
 *     allowedExceptions stops too (the analysis excludes it anyway).
 *   - The run ends when every power still in the race reached num, or when one is left.
 *
 * Confidence: 95 % family-wise. Each comparison is made at alpha = 0.05 / (L x (K - 1)),
 * L the number of rounds that can test, K the number of powers (Bonferroni over the
 * repeated looks and over the leader being chosen from the data), so the chance that the
 * truly best power is ever stopped is at most 5 % as far as the t approximation holds.
 * Samples are treated as independent draws; the cold start is one of them (trimming and
 * winsorising blunt it). With weighted payloads the runner interleaves the payloads so
 * that every prefix of a power's invocations holds them in proportion.
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

#define PT_ADAPTIVE_MIN_SAMPLES 5   /* per power before the first comparison */
#define PT_ADAPTIVE_MIN_TRIMMED 3   /* values left after trimming, at least */
#define PT_ADAPTIVE_BATCH 3         /* invocations per power per round */
#define PT_ADAPTIVE_CONFIDENCE 0.95 /* family-wise */
#define PT_ADAPTIVE_ALPHA 0.05      /* 1 - confidence, exactly (1 - 0.95 is not 0.05) */
#define PT_ADAPTIVE_TEST_NAME \
    "Yuen's trimmed-mean t-test (Welch-Satterthwaite df), one-sided, each power against the " \
    "leader; Bonferroni over rounds and powers"

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
/* True when the one-sided (1 - alpha) lower bound of a - b is above 0: a is larger. With
 * se 0 (no spread in either) the difference is taken as exact. */
bool pt_yuen_greater(const struct pt_yuen_diff *d, double alpha);

enum pt_adaptive_state {
    PT_ADAPTIVE_RUNNING = 0, /* still sampled */
    PT_ADAPTIVE_FULL,        /* reached num */
    PT_ADAPTIVE_STOPPED,     /* worse than the leader: cannot win */
    PT_ADAPTIVE_EXCLUDED,    /* failed beyond allowedExceptions */
    PT_ADAPTIVE_LAST,        /* the only one left: nothing to compare it with */
};

struct pt_adaptive_power {
    int power;
    long invocations;         /* samples of this power, resumed ones included */
    enum pt_adaptive_state state;
    int beaten_by;            /* STOPPED: the leader's power */
    long round;               /* the round it left the race in (-1: still in it) */
    double score;             /* last trimmed mean of its score (NaN: none yet) */
};

struct pt_adaptive {
    bool enabled;
    enum pt_tune_strategy strategy;
    double weight, trim;
    long num;
    long min_samples, batch;
    double confidence, alpha; /* family-wise, and per comparison */
    long max_looks;           /* L */
    long looks;               /* rounds that tested */
    long rounds;
    const char (*allowed)[PT_TUNE_ERROR_TYPE_MAX];
    size_t n_allowed;
    struct pt_price_model price;
    struct pt_adaptive_power *powers; /* in->powers order */
    size_t n_powers;
};

/* Everything from in (strategy, weight, discardTopBottom, num, powers, allowedExceptions)
 * and the price model (copied). in must outlive a (allowedExceptions are referenced). */
int pt_adaptive_init(struct pt_adaptive *a, const struct pt_tune_input *in,
                     const struct pt_price_model *price, struct pt_error *err);
void pt_adaptive_free(struct pt_adaptive *a);
/* What every power in the race should have after round k (0-based): min_samples, then
 * batch more per round, capped at num. */
long pt_adaptive_round_target(const struct pt_adaptive *a, long round);
/*
 * After round `round` (whose target is pt_adaptive_round_target): counts the samples,
 * marks failed powers EXCLUDED and powers at num FULL, then, if the round's target is
 * below num, runs the comparisons. Samples of powers not in the run are ignored.
 */
int pt_adaptive_update(struct pt_adaptive *a, long round, const struct pt_tune_sample *samples,
                       size_t n, struct pt_error *err);
bool pt_adaptive_running(const struct pt_adaptive *a, size_t i);
size_t pt_adaptive_n_running(const struct pt_adaptive *a);
long pt_adaptive_invocations(const struct pt_adaptive *a);
const char *pt_adaptive_state_name(enum pt_adaptive_state s);
/* {"test", "confidence", "perComparisonAlpha", "minSamples", "batch", "rounds", "looks",
 *  "invocations", "fixedInvocations", "saved", "powers": [{"power", "invocations",
 *  "state", "beatenBy"}]}. NULL on allocation failure. */
json_t *pt_adaptive_json(const struct pt_adaptive *a);

#endif
