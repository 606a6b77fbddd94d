/*
 * query/aggregate.c — InfluxQL aggregate/selector accumulators (contract in aggregate.h).
 *
 * Design notes:
 *  1. Three families of state. Scalar functions (count, sum, mean, spread, first, last, min,
 *     max) keep O(1) running values and are order-independent because every tie rule compares
 *     (time, value), never arrival order. Buffered functions (distinct, median, mode, stddev,
 *     percentile, integral, top, bottom) keep every point as an `apoint` {time, value, seq,
 *     aux} and compute at agg_result; seq is the arrival number so sorts can be made stable
 *     (equal keys keep push order, like Go's insertion sort for the small windows InfluxDB's
 *     tests use). Equal values are ordered by (time, seq): InfluxDB feeds median, mode and
 *     percentile the group's points merged by time (observed: percentile picks the earlier of
 *     two equal values from different series). sample keeps a reservoir of N points.
 *  2. top/bottom compact their buffer when it reaches max(4N, 1024) points: reduce to the best
 *     point per tag (when a tag argument is used), then keep the best N. A dropped point can
 *     never return to the result: N better points (of distinct tags) exist already.
 *  3. Strings are copied into malloc'd buffers owned by the state: the running first/last
 *     value owns one buffer (reused), buffered points own one each, tag values are interned in
 *     `tags` (one copy per distinct value). Everything is released by agg_free.
 *  4. Integer arithmetic that Go lets wrap (sum, spread, int mean sum) is done in uint64_t.
 *  5. Block summaries (agg_summary_use / agg_push_summary): a selector takes a block as its one
 *     candidate point (first at start, last at end, max/min at the earliest time holding it;
 *     top/bottom the max/min point, which is all a tag keeps of a series' block), so by note 1
 *     the state is the one its points would give. A block is skipped when the selection already
 *     beats the block's best imaginable point — its max (min) at its start time — which every
 *     point of the block ranks after; this needs only the block's span and min/max, so it also
 *     works for blocks written without selector statistics. NaN blocks are never summarised for
 *     min/max/top/bottom (the points path's NaN handling is order-dependent), only skipped where
 *     a NaN point cannot win (min/max: never replaces a selection).
 */
#include "query/aggregate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef union num {
    double f;
    int64_t i;
    uint64_t u;
    bool b;
    vt_str s;
} num;

typedef struct apoint {
    int64_t time;
    num v;
    uint64_t seq;
    uint32_t tag; /* index into agg_state.tags, or NO_TAG */
} apoint;

#define NO_TAG UINT32_MAX

struct agg_state {
    agg_kind kind;
    agg_args args;
    vt_type in;
    bool failed, finalized;
    uint64_t seq;

    /* scalar */
    uint64_t count;
    double sum_f;
    uint64_t sum_u; /* int and unsigned sums (two's complement wrap) */
    bool have;
    int64_t sel_time;
    num sel;       /* first/last/min/max; spread: min */
    num sel2;      /* spread: max */
    char *sel_buf; /* owned copy of sel.s */
    size_t sel_cap;

    /* buffered */
    apoint *pts;
    size_t npts, cap;
    vt_str *tags;
    size_t ntags, tagcap;
    uint32_t last_tag; /* the tag interned last: pushes come series by series */
    uint32_t *tag_best; /* top/bottom with a tag: index in pts of each tag's best point */
    size_t tag_best_cap;
    uint64_t rng;

    /* result */
    agg_row *rows;
    size_t nrows;
};

static const char *const kind_names[AGG_KIND_COUNT] = {
    "count", "distinct", "integral", "mean", "median",     "mode",   "spread", "stddev", "sum",
    "first", "last",     "max",      "min",  "percentile", "sample", "top",    "bottom",
};

bool agg_lookup(const char *name, agg_kind *out)
{
    if (!name)
        return false;
    for (int k = 0; k < AGG_KIND_COUNT; k++) {
        if (strcmp(name, kind_names[k]) == 0) {
            if (out)
                *out = (agg_kind)k;
            return true;
        }
    }
    return false;
}

const char *agg_name(agg_kind k)
{
    return (k >= 0 && k < AGG_KIND_COUNT) ? kind_names[k] : "?";
}

bool agg_is_selector(agg_kind k)
{
    switch (k) {
    case AGG_FIRST:
    case AGG_LAST:
    case AGG_MAX:
    case AGG_MIN:
    case AGG_PERCENTILE:
    case AGG_SAMPLE:
    case AGG_TOP:
    case AGG_BOTTOM: return true;
    default: return false;
    }
}

static bool is_numeric(vt_type t)
{
    return t == VT_TYPE_FLOAT || t == VT_TYPE_INT || t == VT_TYPE_UINT;
}

vt_type agg_output_type(agg_kind k, vt_type t)
{
    if (t < VT_TYPE_FLOAT || t > VT_TYPE_STRING)
        return VT_TYPE_NONE;
    switch (k) {
    case AGG_COUNT: return VT_TYPE_INT;
    case AGG_DISTINCT:
    case AGG_FIRST:
    case AGG_LAST:
    case AGG_MODE:
    case AGG_SAMPLE: return t;
    case AGG_MAX:
    case AGG_MIN: return t == VT_TYPE_STRING ? VT_TYPE_NONE : t;
    case AGG_MEAN:
    case AGG_MEDIAN:
    case AGG_STDDEV:
    case AGG_INTEGRAL: return is_numeric(t) ? VT_TYPE_FLOAT : VT_TYPE_NONE;
    case AGG_SPREAD:
    case AGG_SUM:
    case AGG_PERCENTILE:
    case AGG_TOP:
    case AGG_BOTTOM: return is_numeric(t) ? t : VT_TYPE_NONE;
    default: return VT_TYPE_NONE;
    }
}

static const char *iter_type_name(vt_type t)
{
    switch (t) {
    case VT_TYPE_FLOAT: return "float";
    case VT_TYPE_INT: return "integer";
    case VT_TYPE_UINT: return "unsigned";
    case VT_TYPE_BOOL: return "boolean";
    case VT_TYPE_STRING: return "string";
    default: return "nil";
    }
}

const char *agg_type_error(agg_kind k, vt_type t, char *buf, size_t cap)
{
    if (agg_output_type(k, t) != VT_TYPE_NONE)
        return NULL;
    if (buf && cap) {
        /* InfluxDB's mode() names itself "median" in this message (call_iterator.go), but
         * mode accepts every type so that text is unreachable. */
        snprintf(buf, cap, "unsupported %s iterator type: *query.%sInterruptIterator", agg_name(k),
                 iter_type_name(t));
    }
    return buf;
}

/* ---------- value helpers ---------- */

static int str_cmp(vt_str a, vt_str b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
    if (c)
        return c < 0 ? -1 : 1;
    return a.len < b.len ? -1 : (a.len > b.len ? 1 : 0);
}

/* Go's `<` on the type (NaN compares false both ways -> 0). */
static int num_cmp(vt_type t, const num *a, const num *b)
{
    switch (t) {
    case VT_TYPE_FLOAT: return a->f < b->f ? -1 : (a->f > b->f ? 1 : 0);
    case VT_TYPE_INT: return a->i < b->i ? -1 : (a->i > b->i ? 1 : 0);
    case VT_TYPE_UINT: return a->u < b->u ? -1 : (a->u > b->u ? 1 : 0);
    case VT_TYPE_BOOL: return (int)a->b - (int)b->b;
    case VT_TYPE_STRING: return str_cmp(a->s, b->s);
    default: return 0;
    }
}

static bool num_eq(vt_type t, const num *a, const num *b)
{
    if (t == VT_TYPE_FLOAT)
        return a->f == b->f;
    return num_cmp(t, a, b) == 0;
}

static num load(vt_type t, const void *values, size_t i)
{
    num v;
    memset(&v, 0, sizeof v);
    switch (t) {
    case VT_TYPE_FLOAT: v.f = ((const double *)values)[i]; break;
    case VT_TYPE_INT: v.i = ((const int64_t *)values)[i]; break;
    case VT_TYPE_UINT: v.u = ((const uint64_t *)values)[i]; break;
    case VT_TYPE_BOOL: v.b = ((const bool *)values)[i]; break;
    case VT_TYPE_STRING: v.s = ((const vt_str *)values)[i]; break;
    default: break;
    }
    return v;
}

static num from_value(const vt_value *x)
{
    num v;
    memset(&v, 0, sizeof v);
    switch (x->type) {
    case VT_TYPE_FLOAT: v.f = x->v.f; break;
    case VT_TYPE_INT: v.i = x->v.i; break;
    case VT_TYPE_UINT: v.u = x->v.u; break;
    case VT_TYPE_BOOL: v.b = x->v.b; break;
    case VT_TYPE_STRING: v.s = x->v.s; break;
    default: break;
    }
    return v;
}

static vt_value to_value(vt_type t, const num *v)
{
    vt_value x;
    memset(&x, 0, sizeof x);
    x.type = t;
    switch (t) {
    case VT_TYPE_FLOAT: x.v.f = v->f; break;
    case VT_TYPE_INT: x.v.i = v->i; break;
    case VT_TYPE_UINT: x.v.u = v->u; break;
    case VT_TYPE_BOOL: x.v.b = v->b; break;
    case VT_TYPE_STRING: x.v.s = v->s; break;
    default: break;
    }
    return x;
}

static vt_value float_value(double f)
{
    vt_value x;
    memset(&x, 0, sizeof x);
    x.type = VT_TYPE_FLOAT;
    x.v.f = f;
    return x;
}

static double as_double(vt_type t, const num *v)
{
    switch (t) {
    case VT_TYPE_FLOAT: return v->f;
    case VT_TYPE_INT: return (double)v->i;
    case VT_TYPE_UINT: return (double)v->u;
    default: return 0;
    }
}

static vt_str str_dup(vt_str s, bool *ok)
{
    vt_str r = {NULL, s.len};
    char *p = malloc(s.len ? s.len : 1);
    if (!p) {
        *ok = false;
        r.len = 0;
        r.ptr = "";
        return r;
    }
    if (s.len)
        memcpy(p, s.ptr, s.len);
    r.ptr = p;
    return r;
}

/* ---------- construction ---------- */

static uint64_t rng_next(uint64_t *x)
{
    /* xorshift64* */
    uint64_t v = *x;
    v ^= v >> 12;
    v ^= v << 25;
    v ^= v >> 27;
    *x = v;
    return v * 0x2545F4914F6CDD1Dull;
}

agg_state *agg_new(agg_kind k, const agg_args *a, vt_type input_type)
{
    if (agg_output_type(k, input_type) == VT_TYPE_NONE)
        return NULL;
    agg_args args;
    memset(&args, 0, sizeof args);
    if (a)
        args = *a;
    if ((k == AGG_TOP || k == AGG_BOTTOM || k == AGG_SAMPLE) && args.n < 1)
        return NULL;
    if (args.integral_unit_ns <= 0)
        args.integral_unit_ns = 1000000000;
    if (args.interval_ns < 0)
        return NULL;
    agg_state *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->kind = k;
    s->args = args;
    s->in = input_type;
    s->rng = args.seed ? args.seed : ((uint64_t)(uintptr_t)s * 0x9E3779B97F4A7C15ull) | 1u;
    return s;
}

static void free_point_strings(agg_state *s)
{
    if (s->in != VT_TYPE_STRING)
        return;
    for (size_t i = 0; i < s->npts; i++)
        free((void *)s->pts[i].v.s.ptr);
}

void agg_free(agg_state *s)
{
    if (!s)
        return;
    free_point_strings(s);
    free(s->pts);
    for (size_t i = 0; i < s->ntags; i++)
        free((void *)s->tags[i].ptr);
    free(s->tags);
    free(s->tag_best);
    free(s->sel_buf);
    free(s->rows);
    free(s);
}

bool agg_failed(const agg_state *s)
{
    return !s || s->failed;
}

/* ---------- scalar accumulation ---------- */

static void set_sel_string(agg_state *s, vt_str v)
{
    if (v.len > s->sel_cap) {
        char *p = realloc(s->sel_buf, v.len);
        if (!p) {
            s->failed = true;
            return;
        }
        s->sel_buf = p;
        s->sel_cap = v.len;
    }
    if (v.len)
        memcpy(s->sel_buf, v.ptr, v.len);
    s->sel.s.ptr = s->sel_buf ? s->sel_buf : "";
    s->sel.s.len = v.len;
}

static void set_sel(agg_state *s, int64_t t, const num *v)
{
    s->sel_time = t;
    if (s->in == VT_TYPE_STRING)
        set_sel_string(s, v->s);
    else
        s->sel = *v;
    s->have = true;
}

/* Does candidate (t, v) replace the current selection? Mirrors the *Reduce functions. */
static bool sel_wins(const agg_state *s, int64_t t, const num *v)
{
    if (!s->have)
        return true;
    vt_type ty = s->in;
    switch (s->kind) {
    case AGG_FIRST:
        if (t != s->sel_time)
            return t < s->sel_time;
        if (ty == VT_TYPE_BOOL)
            return !v->b && s->sel.b;
        return num_cmp(ty, v, &s->sel) > 0;
    case AGG_LAST:
        if (t != s->sel_time)
            return t > s->sel_time;
        if (ty == VT_TYPE_BOOL)
            return v->b && !s->sel.b;
        return num_cmp(ty, v, &s->sel) > 0;
    case AGG_MAX:
        if (ty == VT_TYPE_BOOL) {
            if (v->b != s->sel.b)
                return v->b;
            return t < s->sel_time;
        }
        if (num_cmp(ty, v, &s->sel) > 0)
            return true;
        return num_eq(ty, v, &s->sel) && t < s->sel_time;
    case AGG_MIN:
        if (ty == VT_TYPE_BOOL) {
            if (v->b != s->sel.b)
                return !v->b;
            return t < s->sel_time;
        }
        if (num_cmp(ty, v, &s->sel) < 0)
            return true;
        return num_eq(ty, v, &s->sel) && t < s->sel_time;
    default: return false;
    }
}

static void add_sum(agg_state *s, const num *v, uint64_t weight)
{
    switch (s->in) {
    case VT_TYPE_FLOAT: s->sum_f += v->f; break;
    case VT_TYPE_INT: s->sum_u += (uint64_t)v->i; break;
    case VT_TYPE_UINT: s->sum_u += v->u; break;
    default: break;
    }
    s->count += weight;
}

static void spread_add(agg_state *s, const num *v)
{
    if (!s->have) {
        s->sel = *v;
        s->sel2 = *v;
        s->have = true;
        return;
    }
    if (s->in == VT_TYPE_FLOAT) { /* Go's math.Min / math.Max: NaN is sticky */
        if (isnan(s->sel.f) || isnan(v->f)) {
            s->sel.f = NAN;
            s->sel2.f = NAN;
            return;
        }
        s->sel.f = fmin(s->sel.f, v->f);
        s->sel2.f = fmax(s->sel2.f, v->f);
        return;
    }
    if (num_cmp(s->in, v, &s->sel) < 0)
        s->sel = *v;
    if (num_cmp(s->in, v, &s->sel2) > 0)
        s->sel2 = *v;
}

/* ---------- buffered accumulation ---------- */

static bool reserve_pts(agg_state *s, size_t extra)
{
    if (s->npts + extra <= s->cap)
        return true;
    size_t want = s->cap ? s->cap : 16;
    while (want < s->npts + extra) {
        if (want > SIZE_MAX / 2 / sizeof(apoint))
            return false;
        want *= 2;
    }
    apoint *p = realloc(s->pts, want * sizeof *p);
    if (!p)
        return false;
    s->pts = p;
    s->cap = want;
    return true;
}

static uint32_t intern_tag(agg_state *s, const vt_str *aux)
{
    if (!aux)
        return NO_TAG;
    if (s->last_tag < s->ntags && vt_str_eq(s->tags[s->last_tag], *aux))
        return s->last_tag;
    for (size_t i = 0; i < s->ntags; i++)
        if (vt_str_eq(s->tags[i], *aux)) {
            s->last_tag = (uint32_t)i;
            return (uint32_t)i;
        }
    if (s->ntags == s->tagcap) {
        size_t want = s->tagcap ? s->tagcap * 2 : 8;
        vt_str *p = realloc(s->tags, want * sizeof *p);
        if (!p) {
            s->failed = true;
            return NO_TAG;
        }
        s->tags = p;
        s->tagcap = want;
    }
    bool ok = true;
    vt_str c = str_dup(*aux, &ok);
    if (!ok) {
        s->failed = true;
        return NO_TAG;
    }
    s->tags[s->ntags] = c;
    s->last_tag = (uint32_t)s->ntags;
    return (uint32_t)s->ntags++;
}

/* Ranking for top (better = greater value, then earlier time, then earlier arrival). */
static int rank_cmp(const agg_state *s, const apoint *a, const apoint *b)
{
    int c = num_cmp(s->in, &a->v, &b->v);
    if (s->kind == AGG_TOP)
        c = -c;
    if (c)
        return c;
    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    return a->seq < b->seq ? -1 : (a->seq > b->seq ? 1 : 0);
}

/* Minimal merge sort (stable, no global state). */
typedef int (*pt_cmp_fn)(const agg_state *s, const apoint *a, const apoint *b);

static void msort(const agg_state *s, apoint *a, apoint *tmp, size_t n, pt_cmp_fn cmp)
{
    if (n < 2)
        return;
    if (n <= 12) { /* insertion sort */
        for (size_t i = 1; i < n; i++) {
            apoint x = a[i];
            size_t j = i;
            while (j > 0 && cmp(s, &x, &a[j - 1]) < 0) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = x;
        }
        return;
    }
    size_t h = n / 2;
    msort(s, a, tmp, h, cmp);
    msort(s, a + h, tmp, n - h, cmp);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = cmp(s, &a[j], &a[i]) < 0 ? a[j++] : a[i++];
    while (i < h)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof *a);
}

static bool sort_pts(agg_state *s, apoint *a, size_t n, pt_cmp_fn cmp)
{
    if (n < 2)
        return true;
    apoint *tmp = n > 12 ? malloc(n * sizeof *tmp) : NULL;
    if (n > 12 && !tmp)
        return false;
    msort(s, a, tmp, n, cmp);
    free(tmp);
    return true;
}

/* By value; equal values in the order InfluxDB feeds its slice reducers: the group's points
 * merged by time (equal times: push order). */
static int cmp_value_seq(const agg_state *s, const apoint *a, const apoint *b)
{
    int c = num_cmp(s->in, &a->v, &b->v);
    if (c)
        return c;
    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    return a->seq < b->seq ? -1 : (a->seq > b->seq ? 1 : 0);
}

/*
 * Order statistics for percentile and median: the point at rank k of cmp_value_seq order,
 * found by selection (introselect: quickselect with a median-of-three pivot, and a sort of the
 * remaining range when the partitions stop shrinking) instead of sorting all n points.
 * Without NaN, cmp_value_seq is a strict total order (seq is unique), so the k-th point is
 * one definite point and any correct selection finds the very point the sort put at k.
 * Floats are compared inline (`<` on the values as num_cmp does: -0 == +0, ties by time,
 * seq). A float NaN compares equal to everything, which is no order at all: such input takes
 * the merge sort, so the answer stays the one the sort gives.
 */
static inline bool pt_before(vt_type t, const apoint *a, const apoint *b)
{
    if (t == VT_TYPE_FLOAT) {
        if (a->v.f != b->v.f)
            return a->v.f < b->v.f;
    } else {
        int c = num_cmp(t, &a->v, &b->v);
        if (c)
            return c < 0;
    }
    if (a->time != b->time)
        return a->time < b->time;
    return a->seq < b->seq;
}

static inline void pt_swap(apoint *a, size_t i, size_t j)
{
    apoint x = a[i];
    a[i] = a[j];
    a[j] = x;
}

/* Rearranges a[0..n) so that a[k] is the point of rank k in cmp_value_seq order, the points
 * before it rank lower and those after it higher. k < n. *sorted: the input held a NaN and
 * a[0..n) was merge-sorted instead (every a[i] is then where the sort puts it). false on OOM. */
static bool select_pts(agg_state *s, apoint *a, size_t n, size_t k, bool *sorted)
{
    vt_type t = s->in;
    *sorted = false;
    if (t == VT_TYPE_FLOAT)
        for (size_t i = 0; i < n; i++)
            if (isnan(a[i].v.f)) {
                *sorted = true;
                return sort_pts(s, a, n, cmp_value_seq);
            }
    size_t lo = 0, hi = n; /* k is in [lo, hi) */
    int budget = 8;
    for (size_t m = n; m > 1; m >>= 1)
        budget += 2;
    while (hi - lo > 16) {
        if (budget-- == 0)
            return sort_pts(s, a + lo, hi - lo, cmp_value_seq);
        /* median of three: a[lo] <= a[lo + 1] (the pivot) <= a[hi - 1] */
        pt_swap(a, lo + 1, lo + (hi - lo) / 2);
        if (pt_before(t, &a[lo + 1], &a[lo]))
            pt_swap(a, lo, lo + 1);
        if (pt_before(t, &a[hi - 1], &a[lo + 1])) {
            pt_swap(a, lo + 1, hi - 1);
            if (pt_before(t, &a[lo + 1], &a[lo]))
                pt_swap(a, lo, lo + 1);
        }
        const apoint pivot = a[lo + 1];
        size_t i = lo + 1, j = hi - 1; /* a[lo] and a[hi - 1] stop the scans */
        for (;;) {
            do
                i++;
            while (pt_before(t, &a[i], &pivot));
            do
                j--;
            while (pt_before(t, &pivot, &a[j]));
            if (i >= j)
                break;
            pt_swap(a, i, j);
        }
        pt_swap(a, lo + 1, j); /* the pivot lands at its rank j */
        if (j == k)
            return true;
        if (k < j)
            hi = j;
        else
            lo = j + 1;
    }
    for (size_t i = lo + 1; i < hi; i++) { /* insertion sort of the last few */
        apoint x = a[i];
        size_t j = i;
        while (j > lo && pt_before(t, &x, &a[j - 1])) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = x;
    }
    return true;
}

static int cmp_time_seq(const agg_state *s, const apoint *a, const apoint *b)
{
    (void)s;
    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    return a->seq < b->seq ? -1 : (a->seq > b->seq ? 1 : 0);
}

static int cmp_time_rank(const agg_state *s, const apoint *a, const apoint *b)
{
    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    return rank_cmp(s, a, b);
}

static int cmp_tag_rank(const agg_state *s, const apoint *a, const apoint *b)
{
    if (a->tag != b->tag)
        return a->tag < b->tag ? -1 : 1;
    return rank_cmp(s, a, b);
}

/* distinct: by value, then earliest time */
static int cmp_value_time(const agg_state *s, const apoint *a, const apoint *b)
{
    int c = num_cmp(s->in, &a->v, &b->v);
    if (c)
        return c;
    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    return a->seq < b->seq ? -1 : (a->seq > b->seq ? 1 : 0);
}

static int cmp_time_value(const agg_state *s, const apoint *a, const apoint *b)
{
    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    return num_cmp(s->in, &a->v, &b->v);
}

static void drop_point(agg_state *s, apoint *p)
{
    if (s->in == VT_TYPE_STRING)
        free((void *)p->v.s.ptr);
}

/* top/bottom: keep at most one point per tag (when tags are in use), then the best n. */
static bool topn_compact(agg_state *s)
{
    bool tagged = false;
    for (size_t i = 0; i < s->npts; i++)
        if (s->pts[i].tag != NO_TAG)
            tagged = true;
    if (tagged) {
        if (!sort_pts(s, s->pts, s->npts, cmp_tag_rank))
            return false;
        size_t w = 0;
        for (size_t i = 0; i < s->npts; i++) {
            if (w > 0 && s->pts[w - 1].tag == s->pts[i].tag && s->pts[i].tag != NO_TAG) {
                drop_point(s, &s->pts[i]);
                continue;
            }
            s->pts[w++] = s->pts[i];
        }
        s->npts = w;
    }
    if (!sort_pts(s, s->pts, s->npts, rank_cmp))
        return false;
    size_t keep = (size_t)s->args.n;
    for (size_t i = keep; i < s->npts; i++)
        drop_point(s, &s->pts[i]);
    if (s->npts > keep)
        s->npts = keep;
    /* the per-tag index points into pts, which moved */
    for (size_t i = 0; i < s->tag_best_cap; i++)
        s->tag_best[i] = NO_TAG;
    for (size_t i = 0; i < s->npts; i++)
        if (s->pts[i].tag != NO_TAG && s->pts[i].tag < s->tag_best_cap)
            s->tag_best[s->pts[i].tag] = (uint32_t)i;
    return true;
}

/* top/bottom with a tag: only each tag's best point can ever be returned, so a point that
 * does not beat its tag's best is dropped at once and the buffer holds one point per tag
 * (compacting and sorting thousands of points per push was the cost of top(v, tag, N)).
 * Returns false on out-of-memory; *done says whether the point was handled here. */
static bool topn_tagged(agg_state *s, int64_t t, const num *v, uint32_t tag, bool *done)
{
    *done = false;
    if (tag == NO_TAG || s->in == VT_TYPE_STRING)
        return true;
    if (tag >= s->tag_best_cap) {
        size_t cap = s->tag_best_cap ? s->tag_best_cap : 64;
        while (cap <= tag)
            cap *= 2;
        uint32_t *nb = realloc(s->tag_best, cap * sizeof *nb);
        if (!nb)
            return false;
        for (size_t i = s->tag_best_cap; i < cap; i++)
            nb[i] = NO_TAG;
        s->tag_best = nb;
        s->tag_best_cap = cap;
    }
    uint32_t at = s->tag_best[tag];
    if (at == NO_TAG)
        return true; /* first point of this tag: buffered by the caller */
    apoint cand = {.time = t, .v = *v, .seq = s->seq++, .tag = tag};
    if (rank_cmp(s, &cand, &s->pts[at]) < 0)
        s->pts[at] = cand;
    *done = true;
    return true;
}

static bool buffer_point(agg_state *s, int64_t t, const num *v, uint32_t tag)
{
    if (!reserve_pts(s, 1))
        return false;
    apoint *p = &s->pts[s->npts];
    p->time = t;
    p->v = *v;
    p->seq = s->seq++;
    p->tag = tag;
    if (s->in == VT_TYPE_STRING) {
        bool ok = true;
        p->v.s = str_dup(v->s, &ok);
        if (!ok)
            return false;
    }
    s->npts++;
    return true;
}

static bool sample_point(agg_state *s, int64_t t, const num *v)
{
    size_t n = (size_t)s->args.n;
    s->count++;
    if (s->npts < n)
        return buffer_point(s, t, v, NO_TAG);
    uint64_t r = rng_next(&s->rng) % s->count;
    if (r >= n)
        return true;
    apoint *p = &s->pts[r];
    drop_point(s, p);
    p->time = t;
    p->v = *v;
    p->seq = s->seq++;
    if (s->in == VT_TYPE_STRING) {
        bool ok = true;
        p->v.s = str_dup(v->s, &ok);
        if (!ok) {
            p->v.s.ptr = NULL; /* freed above; keep free() safe */
            return false;
        }
    }
    return true;
}

static void push_one(agg_state *s, int64_t t, const num *v, uint32_t tag)
{
    switch (s->kind) {
    case AGG_COUNT: s->count++; break;
    case AGG_SUM:
    case AGG_MEAN: add_sum(s, v, 1); break;
    case AGG_SPREAD:
        spread_add(s, v);
        s->count++;
        break;
    case AGG_FIRST:
    case AGG_LAST:
    case AGG_MAX:
    case AGG_MIN:
        if (sel_wins(s, t, v))
            set_sel(s, t, v);
        break;
    case AGG_SAMPLE:
        if (!sample_point(s, t, v))
            s->failed = true;
        break;
    case AGG_TOP:
    case AGG_BOTTOM: {
        bool done;
        if (!topn_tagged(s, t, v, tag, &done)) {
            s->failed = true;
            break;
        }
        if (done)
            break;
        if (!buffer_point(s, t, v, tag)) {
            s->failed = true;
            break;
        }
        if (tag != NO_TAG && tag < s->tag_best_cap)
            s->tag_best[tag] = (uint32_t)(s->npts - 1);
        size_t lim = (size_t)s->args.n * 4;
        if (lim < 1024)
            lim = 1024;
        if (s->npts >= lim && !topn_compact(s))
            s->failed = true;
        break;
    }
    default:
        if (!buffer_point(s, t, v, NO_TAG))
            s->failed = true;
        break;
    }
}

/* top (greatest) / bottom (smallest): index of the first of the best values of a chunk; false
 * for a float chunk holding a NaN (ranked equal to every value, so no best exists). */
static bool topn_chunk_best(vt_type t, const void *values, size_t n, bool top, size_t *out)
{
    size_t best = 0;
    switch (t) {
    case VT_TYPE_FLOAT: {
        const double *f = values;
        for (size_t i = 0; i < n; i++) {
            if (isnan(f[i]))
                return false;
            if (top ? f[i] > f[best] : f[i] < f[best])
                best = i;
        }
        break;
    }
    case VT_TYPE_INT: {
        const int64_t *x = values;
        for (size_t i = 1; i < n; i++)
            if (top ? x[i] > x[best] : x[i] < x[best])
                best = i;
        break;
    }
    case VT_TYPE_UINT: {
        const uint64_t *x = values;
        for (size_t i = 1; i < n; i++)
            if (top ? x[i] > x[best] : x[i] < x[best])
                best = i;
        break;
    }
    default: return false;
    }
    *out = best;
    return true;
}

bool agg_push(agg_state *s, const int64_t *time, const void *values, size_t n, const vt_str *aux)
{
    if (!s || s->failed)
        return false;
    if (s->finalized)
        return true;
    uint32_t tag = NO_TAG;
    if (aux && (s->kind == AGG_TOP || s->kind == AGG_BOTTOM)) {
        tag = intern_tag(s, aux);
        if (s->failed)
            return false;
    }
    if (s->kind == AGG_COUNT) { /* no need to look at values */
        s->count += n;
        return true;
    }
    if (s->kind == AGG_SUM || s->kind == AGG_MEAN) {
        /* the hot loop of most dashboards: same order and arithmetic as add_sum per point */
        switch (s->in) {
        case VT_TYPE_FLOAT: {
            const double *f = values;
            double acc = s->sum_f;
            for (size_t i = 0; i < n; i++)
                acc += f[i];
            s->sum_f = acc;
            s->count += n;
            return true;
        }
        case VT_TYPE_INT: {
            const int64_t *x = values;
            uint64_t acc = s->sum_u;
            for (size_t i = 0; i < n; i++)
                acc += (uint64_t)x[i];
            s->sum_u = acc;
            s->count += n;
            return true;
        }
        case VT_TYPE_UINT: {
            const uint64_t *x = values;
            uint64_t acc = s->sum_u;
            for (size_t i = 0; i < n; i++)
                acc += x[i];
            s->sum_u = acc;
            s->count += n;
            return true;
        }
        default: break;
        }
    }
    if (n > 1 && (s->kind == AGG_FIRST || s->kind == AGG_LAST)) {
        /* one push holds one series' points in ascending time: only its first (last) point
         * can win, and pushing that point alone gives the same state */
        size_t i = s->kind == AGG_FIRST ? 0 : n - 1;
        num v = load(s->in, values, i);
        push_one(s, time[i], &v, tag);
        return !s->failed;
    }
    if (n > 1 && (s->kind == AGG_MAX || s->kind == AGG_MIN) &&
        (s->in == VT_TYPE_FLOAT || s->in == VT_TYPE_INT || s->in == VT_TYPE_UINT)) {
        /* the chunk's best point (the earliest among equal values: times ascend), then the
         * usual comparison with the state */
        bool max = s->kind == AGG_MAX;
        size_t best = 0;
        for (size_t i = 1; i < n; i++) {
            bool better;
            switch (s->in) {
            case VT_TYPE_FLOAT: {
                const double *f = values;
                better = max ? f[i] > f[best] : f[i] < f[best];
                break;
            }
            case VT_TYPE_INT: {
                const int64_t *x = values;
                better = max ? x[i] > x[best] : x[i] < x[best];
                break;
            }
            default: {
                const uint64_t *x = values;
                better = max ? x[i] > x[best] : x[i] < x[best];
                break;
            }
            }
            if (better)
                best = i;
        }
        num v = load(s->in, values, best);
        push_one(s, time[best], &v, tag);
        return !s->failed;
    }
    size_t best;
    if (n > 1 && tag != NO_TAG && (s->kind == AGG_TOP || s->kind == AGG_BOTTOM) &&
        topn_chunk_best(s->in, values, n, s->kind == AGG_TOP, &best)) {
        /* a tag keeps only its best point, and the chunk is one series (one tag): its best
         * point (the earliest among equal values) is all that can matter */
        num v = load(s->in, values, best);
        push_one(s, time[best], &v, tag);
        return !s->failed;
    }
    for (size_t i = 0; i < n && !s->failed; i++) {
        num v = load(s->in, values, i);
        push_one(s, time[i], &v, tag);
    }
    return !s->failed;
}

/* A tag's interned index without interning it (NO_TAG when unknown). */
static uint32_t find_tag(const agg_state *s, const vt_str *aux)
{
    if (s->last_tag < s->ntags && vt_str_eq(s->tags[s->last_tag], *aux))
        return s->last_tag;
    for (size_t i = 0; i < s->ntags; i++)
        if (vt_str_eq(s->tags[i], *aux))
            return (uint32_t)i;
    return NO_TAG;
}

/* max/min: does the current selection beat every point of a block whose best value is b and
 * whose points lie at or after start? (Equal values: the earlier time wins, and a point at the
 * same time does not replace the selection; a NaN selection is never replaced.) */
static bool sel_beats_block(const agg_state *s, const vt_value *b, int64_t start)
{
    if (!s->have)
        return false;
    if (s->in == VT_TYPE_FLOAT && isnan(s->sel.f))
        return true;
    num v = from_value(b);
    int c = num_cmp(s->in, &s->sel, &v);
    if (s->kind == AGG_MIN)
        c = -c;
    return c > 0 || (num_eq(s->in, &s->sel, &v) && s->sel_time <= start);
}

/* top/bottom with a tag: does the tag's best point rank before every point of the block?
 * (max, start) for top — (min, start) for bottom — ranks before every point of a block
 * without NaN; a later seq loses the last tie. */
static bool tag_beats_block(const agg_state *s, const vt_value *b, int64_t start,
                            const vt_str *aux)
{
    uint32_t tag = find_tag(s, aux);
    if (tag == NO_TAG || tag >= s->tag_best_cap || s->tag_best[tag] == NO_TAG)
        return false;
    apoint cand = {.time = start, .v = from_value(b), .seq = UINT64_MAX, .tag = tag};
    return rank_cmp(s, &s->pts[s->tag_best[tag]], &cand) < 0;
}

agg_block_use agg_summary_use(const agg_state *s, const agg_summary *sum, const vt_str *aux)
{
    if (!s || s->failed || !sum)
        return AGG_BLOCK_POINTS;
    if (s->finalized || sum->count == 0)
        return AGG_BLOCK_SKIP;
    bool numeric = is_numeric(s->in);
    switch (s->kind) {
    case AGG_COUNT: return AGG_BLOCK_SUMMARY;
    case AGG_SUM:
    case AGG_MEAN: return sum->sum.type == s->in ? AGG_BLOCK_SUMMARY : AGG_BLOCK_POINTS;
    case AGG_SPREAD:
        return numeric && !sum->nan && sum->min.type == s->in && sum->max.type == s->in
                   ? AGG_BLOCK_SUMMARY
                   : AGG_BLOCK_POINTS;
    case AGG_FIRST:
        if (s->have && s->sel_time < sum->start)
            return AGG_BLOCK_SKIP;
        return sum->first.type == s->in ? AGG_BLOCK_SUMMARY : AGG_BLOCK_POINTS;
    case AGG_LAST:
        if (s->have && s->sel_time > sum->end)
            return AGG_BLOCK_SKIP;
        return sum->last.type == s->in ? AGG_BLOCK_SUMMARY : AGG_BLOCK_POINTS;
    case AGG_MAX:
    case AGG_MIN: {
        const vt_value *b = s->kind == AGG_MAX ? &sum->max : &sum->min;
        if (!numeric || b->type != s->in)
            return AGG_BLOCK_POINTS;
        /* NaN points never replace a selection (Go's > and == are false), so a NaN block may
         * be skipped; it is not summarised (the points path may select a NaN first) */
        if (sel_beats_block(s, b, sum->start))
            return AGG_BLOCK_SKIP;
        return sum->has_at && !sum->nan ? AGG_BLOCK_SUMMARY : AGG_BLOCK_POINTS;
    }
    case AGG_TOP:
    case AGG_BOTTOM: {
        const vt_value *b = s->kind == AGG_TOP ? &sum->max : &sum->min;
        if (b->type != s->in || sum->nan)
            return AGG_BLOCK_POINTS;
        if (aux && tag_beats_block(s, b, sum->start, aux))
            return AGG_BLOCK_SKIP;
        /* the block's best point is all a tag keeps; without a tag only N = 1 is one point */
        if (!sum->has_at || (!aux && s->args.n != 1))
            return AGG_BLOCK_POINTS;
        return AGG_BLOCK_SUMMARY;
    }
    default: return AGG_BLOCK_POINTS;
    }
}

bool agg_push_summary(agg_state *s, const agg_summary *sum, const vt_str *aux)
{
    agg_block_use use = agg_summary_use(s, sum, aux);
    if (use == AGG_BLOCK_POINTS)
        return false;
    if (use == AGG_BLOCK_SKIP)
        return true;
    num v;
    switch (s->kind) {
    case AGG_COUNT: s->count += sum->count; return true;
    case AGG_SUM:
    case AGG_MEAN:
        v = from_value(&sum->sum);
        add_sum(s, &v, sum->count);
        return true;
    case AGG_SPREAD:
        v = from_value(&sum->min);
        spread_add(s, &v);
        v = from_value(&sum->max);
        spread_add(s, &v);
        s->count += sum->count;
        return true;
    case AGG_FIRST:
        v = from_value(&sum->first);
        if (sel_wins(s, sum->start, &v))
            set_sel(s, sum->start, &v);
        return !s->failed;
    case AGG_LAST:
        v = from_value(&sum->last);
        if (sel_wins(s, sum->end, &v))
            set_sel(s, sum->end, &v);
        return !s->failed;
    case AGG_MIN:
        v = from_value(&sum->min);
        if (sel_wins(s, sum->min_time, &v))
            set_sel(s, sum->min_time, &v);
        return true;
    case AGG_MAX:
        v = from_value(&sum->max);
        if (sel_wins(s, sum->max_time, &v))
            set_sel(s, sum->max_time, &v);
        return true;
    case AGG_TOP:
    case AGG_BOTTOM: {
        uint32_t tag = aux ? intern_tag(s, aux) : NO_TAG;
        if (s->failed)
            return false;
        bool top = s->kind == AGG_TOP;
        v = from_value(top ? &sum->max : &sum->min);
        push_one(s, top ? sum->max_time : sum->min_time, &v, tag);
        return !s->failed;
    }
    default: return false;
    }
}

/* ---------- finalisation ---------- */

static bool add_row(agg_state *s, size_t *cap, int64_t t, bool has_time, vt_value v, vt_str aux)
{
    if (s->nrows == *cap) {
        size_t want = *cap ? *cap * 2 : 4;
        agg_row *p = realloc(s->rows, want * sizeof *p);
        if (!p)
            return false;
        s->rows = p;
        *cap = want;
    }
    agg_row *r = &s->rows[s->nrows++];
    r->time = t;
    r->has_time = has_time;
    r->v = v;
    r->aux = aux;
    return true;
}

static vt_str no_aux(void)
{
    vt_str e = {"", 0};
    return e;
}

static vt_value null_value(void)
{
    vt_value x;
    memset(&x, 0, sizeof x);
    x.type = VT_TYPE_NONE;
    return x;
}

static bool fin_median(agg_state *s, size_t *cap)
{
    size_t n = s->npts;
    if (n == 0)
        return true;
    if (n == 1) {
        /* the row shows the window start, not the point's time (1.6.7) */
        return add_row(s, cap, 0, false, float_value(as_double(s->in, &s->pts[0].v)), no_aux());
    }
    /* the points of rank n/2 and (even n) n/2 - 1: the greatest of those below rank n/2 */
    bool sorted;
    if (!select_pts(s, s->pts, n, n / 2, &sorted))
        return false;
    size_t below = n / 2 - 1;
    for (size_t i = 0; i < n / 2 && !sorted; i++)
        if (pt_before(s->in, &s->pts[below], &s->pts[i]))
            below = i;
    const num *lo = &s->pts[below].v, *hi = &s->pts[n / 2].v;
    double r;
    if (n % 2 == 1) {
        r = as_double(s->in, hi);
    } else if (s->in == VT_TYPE_FLOAT) {
        r = lo->f + (hi->f - lo->f) / 2;
    } else if (s->in == VT_TYPE_INT) {
        r = (double)lo->i + (double)(int64_t)((uint64_t)hi->i - (uint64_t)lo->i) / 2;
    } else {
        r = (double)lo->u + (double)(hi->u - lo->u) / 2;
    }
    return add_row(s, cap, 0, false, float_value(r), no_aux());
}

static bool fin_mode(agg_state *s, size_t *cap)
{
    size_t n = s->npts;
    if (n == 0)
        return true;
    if (n == 1)
        return add_row(s, cap, 0, false, to_value(s->in, &s->pts[0].v), no_aux());
    if (s->in == VT_TYPE_BOOL) {
        size_t t = 0, f = 0;
        for (size_t i = 0; i < n; i++)
            s->pts[i].v.b ? t++ : f++;
        num v;
        memset(&v, 0, sizeof v);
        v.b = t >= f;
        return add_row(s, cap, 0, false, to_value(VT_TYPE_BOOL, &v), no_aux());
    }
    if (!sort_pts(s, s->pts, n, cmp_value_seq))
        return false;
    /* InfluxDB's loop, step for step (see the header for what it amounts to). */
    size_t most_freq = 0, curr_freq = 0;
    const num *curr = &s->pts[0].v, *most = &s->pts[0].v;
    int64_t most_time = s->pts[0].time, curr_time = s->pts[0].time;
    for (size_t i = 0; i < n; i++) {
        apoint *p = &s->pts[i];
        if (!num_eq(s->in, &p->v, curr)) {
            curr_freq = 1;
            curr = &p->v;
            curr_time = p->time;
            continue;
        }
        curr_freq++;
        if (most_freq > curr_freq || (most_freq == curr_freq && curr_time > most_time))
            continue;
        most_freq = curr_freq;
        most = &p->v;
        most_time = p->time;
    }
    return add_row(s, cap, 0, false, to_value(s->in, most), no_aux());
}

static bool fin_stddev(agg_state *s, size_t *cap)
{
    size_t n = s->npts;
    if (n == 0)
        return true;
    if (n < 2)
        return add_row(s, cap, 0, false, null_value(), no_aux());
    if (!sort_pts(s, s->pts, n, cmp_time_seq)) /* InfluxDB's summation order */
        return false;
    double mean = 0;
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        double x = as_double(s->in, &s->pts[i].v);
        if (s->in == VT_TYPE_FLOAT && isnan(x))
            continue;
        count++;
        mean += (x - mean) / (double)count;
    }
    double var = 0;
    for (size_t i = 0; i < n; i++) {
        double x = as_double(s->in, &s->pts[i].v);
        if (s->in == VT_TYPE_FLOAT && isnan(x))
            continue;
        var += (x - mean) * (x - mean);
    }
    double r = sqrt(var / ((double)count - 1));
    if (isnan(r)) /* InfluxDB serialises NaN as null */
        return add_row(s, cap, 0, false, null_value(), no_aux());
    return add_row(s, cap, 0, false, float_value(r), no_aux());
}

static bool fin_percentile(agg_state *s, size_t *cap)
{
    size_t n = s->npts;
    double idx = floor((double)n * s->args.percentile / 100.0 + 0.5) - 1;
    if (n == 0 || !(idx >= 0) || idx >= (double)n)
        return true;
    bool sorted;
    if (!select_pts(s, s->pts, n, (size_t)idx, &sorted))
        return false;
    apoint *p = &s->pts[(size_t)idx];
    return add_row(s, cap, p->time, true, to_value(s->in, &p->v), no_aux());
}

static bool fin_distinct(agg_state *s, size_t *cap)
{
    size_t n = s->npts;
    if (n == 0)
        return true;
    if (!sort_pts(s, s->pts, n, cmp_value_time))
        return false;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (w > 0 && num_eq(s->in, &s->pts[w - 1].v, &s->pts[i].v)) {
            drop_point(s, &s->pts[i]);
            continue;
        }
        s->pts[w++] = s->pts[i];
    }
    s->npts = w;
    if (!sort_pts(s, s->pts, w, cmp_time_value))
        return false;
    for (size_t i = 0; i < w; i++)
        if (!add_row(s, cap, 0, false, to_value(s->in, &s->pts[i].v), no_aux()))
            return false;
    return true;
}

static bool fin_topn(agg_state *s, size_t *cap)
{
    if (!topn_compact(s))
        return false;
    if (!sort_pts(s, s->pts, s->npts, cmp_time_rank))
        return false;
    for (size_t i = 0; i < s->npts; i++) {
        apoint *p = &s->pts[i];
        vt_str aux = p->tag == NO_TAG ? no_aux() : s->tags[p->tag];
        if (!add_row(s, cap, p->time, true, to_value(s->in, &p->v), aux))
            return false;
    }
    return true;
}

static bool fin_sample(agg_state *s, size_t *cap)
{
    if (!sort_pts(s, s->pts, s->npts, cmp_time_seq))
        return false;
    for (size_t i = 0; i < s->npts; i++)
        if (!add_row(s, cap, s->pts[i].time, true, to_value(s->in, &s->pts[i].v), no_aux()))
            return false;
    return true;
}

/* Window containing t for GROUP BY time(interval, offset): [start, start + interval). */
static void window_of(const agg_args *a, int64_t t, int64_t *start, int64_t *end)
{
    int64_t iv = a->interval_ns;
    int64_t off = a->offset_ns % iv;
    int64_t dt = (t - off) % iv;
    if (dt < 0)
        dt += iv;
    *start = t - dt;
    *end = (*start > INT64_MAX - iv) ? INT64_MAX : *start + iv;
}

static double linear(int64_t wt, int64_t pt, int64_t nt, double pv, double nv)
{
    double m = (nv - pv) / (double)(nt - pt);
    double x = (double)(wt - pt);
    return m * x + pv;
}

static bool fin_integral(agg_state *s, size_t *cap)
{
    size_t n = s->npts;
    if (n == 0)
        return true;
    if (!sort_pts(s, s->pts, n, cmp_time_seq))
        return false;
    const double unit = (double)s->args.integral_unit_ns;
    const bool grouped = s->args.interval_ns > 0;
    const bool is_float = s->in == VT_TYPE_FLOAT;
    int64_t wstart = 0, wend = INT64_MAX;
    int64_t prev_t = s->pts[0].time;
    double prev_v = as_double(s->in, &s->pts[0].v);
    double sum = 0;
    if (grouped)
        window_of(&s->args, prev_t, &wstart, &wend);
    for (size_t i = 1; i < n; i++) {
        int64_t t = s->pts[i].time;
        double v = as_double(s->in, &s->pts[i].v);
        if (t == prev_t) {
            prev_v = v;
            continue;
        }
        double value = v; /* integer variant: may become the interpolated value */
        if (grouped && t >= wend) {
            if (prev_t != wend) {
                double iv = linear(wend, prev_t, t, prev_v, v);
                sum += 0.5 * (iv + prev_v) * ((double)(wend - prev_t) / unit);
                if (is_float)
                    prev_v = iv;
                else
                    value = iv;
                prev_t = wend;
            }
            if (!add_row(s, cap, wstart, true, float_value(sum), no_aux()))
                return false;
            window_of(&s->args, t, &wstart, &wend);
            sum = 0;
        }
        sum += 0.5 * ((is_float ? v : value) + prev_v) * ((double)(t - prev_t) / unit);
        prev_t = t;
        prev_v = v;
    }
    if (prev_t != wstart)
        return add_row(s, cap, grouped ? wstart : 0, grouped, float_value(sum), no_aux());
    return true;
}

static bool finalize(agg_state *s)
{
    size_t cap = 0;
    num v;
    switch (s->kind) {
    case AGG_COUNT:
        memset(&v, 0, sizeof v);
        v.i = (int64_t)s->count;
        return add_row(s, &cap, 0, false, to_value(VT_TYPE_INT, &v), no_aux());
    case AGG_SUM:
        if (s->count == 0)
            return true;
        memset(&v, 0, sizeof v);
        if (s->in == VT_TYPE_FLOAT)
            v.f = s->sum_f;
        else
            v.u = s->sum_u; /* same bits for int64 */
        return add_row(s, &cap, 0, false, to_value(s->in, &v), no_aux());
    case AGG_MEAN: {
        if (s->count == 0)
            return true;
        double sum = s->in == VT_TYPE_FLOAT ? s->sum_f
                     : s->in == VT_TYPE_INT ? (double)(int64_t)s->sum_u
                                            : (double)s->sum_u;
        return add_row(s, &cap, 0, false, float_value(sum / (double)s->count), no_aux());
    }
    case AGG_SPREAD:
        if (!s->have)
            return true;
        memset(&v, 0, sizeof v);
        if (s->in == VT_TYPE_FLOAT)
            v.f = s->sel2.f - s->sel.f;
        else
            v.u = s->sel2.u - s->sel.u; /* int64: same bits, wraps like Go */
        return add_row(s, &cap, 0, false, to_value(s->in, &v), no_aux());
    case AGG_FIRST:
    case AGG_LAST:
    case AGG_MAX:
    case AGG_MIN:
        if (!s->have)
            return true;
        return add_row(s, &cap, s->sel_time, true, to_value(s->in, &s->sel), no_aux());
    case AGG_DISTINCT: return fin_distinct(s, &cap);
    case AGG_INTEGRAL: return fin_integral(s, &cap);
    case AGG_MEDIAN: return fin_median(s, &cap);
    case AGG_MODE: return fin_mode(s, &cap);
    case AGG_STDDEV: return fin_stddev(s, &cap);
    case AGG_PERCENTILE: return fin_percentile(s, &cap);
    case AGG_SAMPLE: return fin_sample(s, &cap);
    case AGG_TOP:
    case AGG_BOTTOM: return fin_topn(s, &cap);
    default: return true;
    }
}

size_t agg_result(agg_state *s, agg_row *rows, size_t cap)
{
    if (!s || s->failed)
        return 0;
    if (!s->finalized) {
        s->finalized = true;
        if (!finalize(s)) {
            s->failed = true;
            s->nrows = 0;
            return 0;
        }
    }
    size_t k = s->nrows < cap ? s->nrows : cap;
    if (k && rows)
        memcpy(rows, s->rows, k * sizeof *rows);
    return s->nrows;
}
