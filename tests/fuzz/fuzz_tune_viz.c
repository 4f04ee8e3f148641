/*
 * fuzz_tune_viz - pt_viz_decode (src/tune/viz.c) on arbitrary bytes.
 *
 * The decoder reads the visualization URL of another tool's output (--compare of the
 * reference tool's JSON): 3 or 8 ';'-separated parts of base64 and percent-escapes. It takes
 * a C string, so the input becomes one, in a buffer of exactly its size plus the NUL. What
 * decodes must encode again (pt_viz_url / pt_viz_url_compare, which sort by power, stably)
 * to a URL that decodes to the same points, currency and legends.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tune/tune.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The order pt_viz_url writes: ascending power, equal powers in their original order. */
static struct pt_viz_point *sorted_copy(const struct pt_viz_point *p, size_t n)
{
    struct pt_viz_point *s = malloc((n ? n : 1) * sizeof(*s));
    if (!s)
        abort();
    memcpy(s, p, n * sizeof(*s));
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && s[j - 1].power > s[j].power; j--) {
            struct pt_viz_point t = s[j];
            s[j] = s[j - 1];
            s[j - 1] = t;
        }
    return s;
}

static bool same_float(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

static void same_points(const struct pt_viz_point *want, size_t nw, const struct pt_viz_point *got,
                        size_t ng)
{
    if (nw != ng)
        abort();
    struct pt_viz_point *s = sorted_copy(want, nw);
    for (size_t i = 0; i < nw; i++)
        if (s[i].power != got[i].power || !same_float(s[i].duration, got[i].duration) ||
            !same_float(s[i].cost, got[i].cost))
            abort();
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = fuzz_cstr(data, size);
    if (!url)
        return 0;
    struct pt_viz_decoded d;
    struct pt_error err = {0};
    int rc = pt_viz_decode(url, &d, &err);
    fuzz_check_rc(rc, &err);
    if (rc < 0 && (d.a || d.b || d.legend1 || d.legend2))
        abort();
    if (rc == 0) {
        bool compare = d.legend1 != NULL;
        if (!d.a || (compare != (d.b != NULL)) || (compare != (d.legend2 != NULL)))
            abort();
        char *again = NULL;
        if (compare)
            rc = pt_viz_url_compare(NULL, d.cny, d.a, d.na, d.b, d.nb, d.legend1, d.legend2,
                                    &again, &err);
        else
            rc = pt_viz_url(NULL, d.cny, d.a, d.na, &again, &err);
        if (rc == 0) {
            struct pt_viz_decoded e;
            if (pt_viz_decode(again, &e, &err) != 0 || e.cny != d.cny)
                abort();
            same_points(d.a, d.na, e.a, e.na);
            if (compare) {
                same_points(d.b, d.nb, e.b, e.nb);
                /* Legends are C strings: bytes after a decoded %00 are not re-encoded. */
                if (!e.legend1 || !e.legend2 || strcmp(d.legend1, e.legend1) != 0 ||
                    strcmp(d.legend2, e.legend2) != 0)
                    abort();
            }
            pt_viz_decoded_free(&e);
            free(again);
        } else if (err.code != PT_ELIMIT) {
            abort(); /* only too many points are refused */
        }
        pt_viz_decoded_free(&d);
    }
    free(url);
    return 0;
}
