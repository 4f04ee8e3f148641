/*
 * output.c - the reference's output object (power-tuning.md 2) plus ours under "powertune".
 */
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "tune/jsjson.h"
#include "tune/tune.h"

#define PT_OUTPUT_VERSION 1

int pt_tune_json_text(const json_t *v, int indent, struct pt_buf *out, struct pt_error *err)
{
    return pt_js_stringify(v, indent, out, err);
}

/* A JSON string from C text; ill-formed UTF-8 (an errorType from a misbehaving function)
 * becomes '?' per bad byte rather than failing the whole document. */
static json_t *str(const char *s)
{
    json_t *v = json_string(s);
    if (v)
        return v;
    char *copy = strdup(s);
    if (!copy)
        return NULL;
    pt_utf8_make_valid(copy);
    v = json_string(copy);
    free(copy);
    return v;
}

/* json_object_set_new that remembers a failure (allocation) instead of checking each call. */
static void put(json_t *o, const char *key, json_t *v, bool *ok)
{
    if (!v || json_object_set_new(o, key, v) < 0)
        *ok = false;
}

/* put with a key from C text (error types), sanitised like str(). */
static void put_key(json_t *o, const char *key, json_t *v, bool *ok)
{
    json_t *k = str(key);
    if (!k) {
        json_decref(v);
        *ok = false;
        return;
    }
    put(o, json_string_value(k), v, ok);
    json_decref(k);
}

static json_t *power_json(const struct pt_tune_power_stats *st, bool *ok)
{
    json_t *o = json_object();
    if (!o) {
        *ok = false;
        return NULL;
    }
    put(o, "power", json_integer(st->power), ok);
    put(o, "invocations", json_integer((json_int_t)st->invocations), ok);
    put(o, "counted", json_integer((json_int_t)st->counted), ok);
    put(o, "failed", json_integer((json_int_t)st->failed), ok);
    put(o, "coldStarts", json_integer((json_int_t)st->cold_starts), ok);
    put(o, "averageDuration", json_real(st->average_duration), ok);
    put(o, "averageBilledDuration", json_real(st->average_billed), ok);
    put(o, "averagePrice", json_real(st->average_price), ok);
    put(o, "totalCost", json_real(st->total_cost), ok);

    json_t *d = json_object();
    if (d) {
        put(d, "min", json_real(st->duration.min), ok);
        put(d, "max", json_real(st->duration.max), ok);
        put(d, "mean", json_real(st->duration.mean), ok);
        put(d, "stddev", json_real(st->duration.stddev), ok);
        put(d, "p50", json_real(st->duration.p50), ok);
        put(d, "p90", json_real(st->duration.p90), ok);
        put(d, "p99", json_real(st->duration.p99), ok);
    }
    put(o, "duration", d, ok);
    put(o, "maxMemoryUsedMB", json_integer(st->max_memory_used_mb), ok);
    json_t *cpu = json_object();
    if (cpu) {
        put(cpu, "mean", json_real(st->cpu_mean_ms), ok);
        put(cpu, "max", json_real(st->cpu_max_ms), ok);
    }
    put(o, "cpuTimeMs", cpu, ok);
    json_t *init = json_object();
    if (init) {
        put(init, "count", json_integer((json_int_t)st->init.count), ok);
        put(init, "mean", json_real(st->init.mean), ok);
        put(init, "median", json_real(st->init.median), ok);
        put(init, "max", json_real(st->init.max), ok);
        put(init, "min", json_real(st->init.min), ok);
        put(init, "variance", json_real(st->init.variance), ok);
    }
    put(o, "initDuration", init, ok);
    json_t *errors = json_object();
    for (size_t i = 0; errors && i < st->n_errors; i++) {
        json_t *e = json_object();
        if (e) {
            put(e, "count", json_integer((json_int_t)st->errors[i].count), ok);
            put(e, "allowed", json_boolean(st->errors[i].allowed), ok);
        }
        put_key(errors, st->errors[i].type, e, ok);
    }
    put(o, "errors", errors, ok);
    put(o, "excluded", json_boolean(st->excluded), ok);
    put(o, "excludedReason", st->excluded ? str(st->excluded_reason) : json_null(), ok);
    return o;
}

static json_t *powertune_json(const struct pt_tune_input *in, const struct pt_tune_analysis *a,
                              const char *const *notes, size_t n_notes, bool *ok)
{
    json_t *o = json_object();
    if (!o) {
        *ok = false;
        return NULL;
    }
    put(o, "version", json_integer(PT_OUTPUT_VERSION), ok);
    put(o, "function", str(in->function), ok);
    put(o, "region", str(a->price.region), ok);
    put(o, "architecture", str(a->price.architecture), ok);
    json_t *pr = json_object();
    if (pr) {
        put(pr, "mode", json_string(pt_pricing_mode_name(a->price.mode)), ok);
        put(pr, "currency", json_string(a->price.cny ? "CNY" : "USD"), ok);
        if (a->price.mode == PT_PRICING_POWER_TUNING) {
            put(pr, "baseCostPerMsAt128MB", json_real(a->price.base_cost), ok);
        } else {
            put(pr, "pricePerGbS", json_real(a->price.gb_s), ok);
            put(pr, "pricePerRequest", json_real(a->price.request), ok);
        }
    }
    put(o, "pricing", pr, ok);
    put(o, "strategy", json_string(pt_tune_strategy_name(in->strategy)), ok);
    put(o, "balancedWeight", json_real(in->balanced_weight), ok);
    put(o, "discardTopBottom", json_real(in->discard_top_bottom), ok);
    put(o, "num", json_integer(in->num), ok);
    put(o, "onlyColdStarts", json_boolean(in->only_cold_starts), ok);
    json_t *rec = json_object();
    for (int s = 0; rec && s < PT_STRATEGY_COUNT; s++)
        put(rec, pt_tune_strategy_name((enum pt_tune_strategy)s),
            a->best[s] < 0 ? json_null() : json_integer(a->powers[a->best[s]].power), ok);
    put(o, "recommendations", rec, ok);
    put(o, "stepFunctionsEquivalentCost", json_real(a->sf_equivalent_cost), ok);
    put(o, "totalLambdaCost", json_real(a->lambda_cost_all), ok);
    json_t *powers = json_array();
    for (size_t i = 0; powers && i < a->n_powers; i++)
        if (json_array_append_new(powers, power_json(&a->powers[i], ok)) < 0)
            *ok = false;
    put(o, "powers", powers, ok);
    json_t *w = json_array();
    for (unsigned i = 0; w && i < PT_TUNE_WARN_COUNT; i++)
        if (in->warnings & (1u << i))
            if (json_array_append_new(w, json_string(pt_tune_warning_text(1u << i))) < 0)
                *ok = false;
    put(o, "warnings", w, ok);
    json_t *nt = json_array();
    for (size_t i = 0; nt && i < n_notes; i++)
        if (json_array_append_new(nt, str(notes[i])) < 0)
            *ok = false;
    put(o, "notes", nt, ok);
    return o;
}

json_t *pt_tune_output_json(const struct pt_tune_input *in, const struct pt_tune_analysis *a,
                            const char *const *notes, size_t n_notes)
{
    /* Dry run: the Analyzer returns undefined, the execution's output is null. */
    if (in->dry_run)
        return json_null();

    bool ok = true;
    json_t *o = json_object();
    if (!o)
        return NULL;
    const struct pt_tune_power_stats *w = a->winner >= 0 ? &a->powers[a->winner] : NULL;
    /* Key order of the reference's object: power, cost, duration, stateMachine, stats. */
    put(o, "power", w ? json_integer(w->power) : json_null(), &ok);
    put(o, "cost", w ? json_real(w->average_price) : json_null(), &ok);
    put(o, "duration", w ? json_real(w->average_duration) : json_null(), &ok);
    json_t *sm = json_object();
    if (sm) {
        put(sm, "executionCost", json_real(a->execution_cost), &ok);
        put(sm, "lambdaCost", json_real(a->lambda_cost), &ok);
        put(sm, "visualization", str(a->visualization ? a->visualization : ""), &ok);
    }
    put(o, "stateMachine", sm, &ok);
    if (in->include_output_results) {
        /* event.stats.map(...): every power in Map order, excluded ones included. */
        json_t *stats = json_array();
        for (size_t i = 0; stats && i < a->n_powers; i++) {
            json_t *s = json_object();
            if (s) {
                put(s, "value", json_integer(a->powers[i].power), &ok);
                put(s, "averagePrice", json_real(a->powers[i].average_price), &ok);
                put(s, "averageDuration", json_real(a->powers[i].average_duration), &ok);
            }
            if (!s || json_array_append_new(stats, s) < 0)
                ok = false;
        }
        put(o, "stats", stats, &ok);
    }
    put(o, "powertune", powertune_json(in, a, notes, n_notes, &ok), &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}
