/*
 * jsjson.h - JSON text the way JavaScript writes it (private to src/tune).
 *
 * The reference tool is JavaScript: its payload conversion is JSON.stringify and its
 * output numbers are JavaScript numbers. To be byte-compatible we format doubles with
 * Number.prototype.toString (shortest round-trip digits, fixed notation for 1e-7 <= |x| <
 * 1e21) and objects with JavaScript's key order (array-index keys first, ascending).
 */
#ifndef PT_TUNE_JSJSON_H
#define PT_TUNE_JSJSON_H

#include <jansson.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/error.h"

#define PT_JS_NUMBER_MAX 32

/* Number.prototype.toString(x) for finite x ("NaN", "Infinity", "-Infinity" otherwise). */
size_t pt_js_number(double x, char out[PT_JS_NUMBER_MAX]);
/* The JSON.stringify form of a string, quotes included, appended to out. */
int pt_js_quote(const char *s, size_t n, struct pt_buf *out, struct pt_error *err);
/* JSON.stringify(v, null, indent); integers and reals both print as JavaScript numbers,
 * non-finite reals as null. */
int pt_js_stringify(const json_t *v, int indent, struct pt_buf *out, struct pt_error *err);
/* A JSON number as a double (integer or real). */
double pt_js_json_number(const json_t *v);

#endif
