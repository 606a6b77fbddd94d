/*
 * query/transform.c — InfluxQL transformations (contract in transform.h).
 *
 * Design notes: each state is a small fixed struct except moving_average, which owns a ring of
 * N values allocated once in xf_new (no allocation in xf_push). Values are held as the input
 * type (int64/uint64 arithmetic wraps like Go's); derivative converts to double like InfluxDB
 * (integer: float64(curr - prev); unsigned: the signed distance as float).
 */
#include "query/transform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/point.h"

typedef union xnum {
    double f;
    int64_t i;
    uint64_t u;
} xnum;

struct xf_state {
    xf_kind kind;
    vt_type in;
    bool ascending;
    int64_t unit; /* derivative / elapsed */
    bool have;    /* a previous point exists */
    int64_t prev_t;
    xnum prev;
    /* cumulative_sum */
    xnum acc;
    /* moving_average */
    size_t n, len, pos;
    xnum sum;
    xnum *ring;
};

static const char *const kind_names[XF_KIND_COUNT] = {
    "derivative",     "non_negative_derivative", "difference", "non_negative_difference",
    "moving_average", "cumulative_sum",          "elapsed",
};

bool xf_lookup(const char *name, xf_kind *out)
{
    if (!name)
        return false;
    for (int k = 0; k < XF_KIND_COUNT; k++) {
        if (strcmp(name, kind_names[k]) == 0) {
            if (out)
                *out = (xf_kind)k;
            return true;
        }
    }
    return false;
}

const char *xf_name(xf_kind k)
{
    return (k >= 0 && k < XF_KIND_COUNT) ? kind_names[k] : "?";
}

static bool numeric(vt_type t)
{
    return t == VT_TYPE_FLOAT || t == VT_TYPE_INT || t == VT_TYPE_UINT;
}

vt_type xf_output_type(xf_kind k, vt_type t)
{
    if (t < VT_TYPE_FLOAT || t > VT_TYPE_STRING)
        return VT_TYPE_NONE;
    switch (k) {
    case XF_ELAPSED: return VT_TYPE_INT;
    case XF_DERIVATIVE:
    case XF_NON_NEGATIVE_DERIVATIVE:
    case XF_MOVING_AVERAGE: return numeric(t) ? VT_TYPE_FLOAT : VT_TYPE_NONE;
    case XF_DIFFERENCE:
    case XF_NON_NEGATIVE_DIFFERENCE:
    case XF_CUMULATIVE_SUM: return numeric(t) ? t : VT_TYPE_NONE;
    default: return VT_TYPE_NONE;
    }
}

static const char *iter_name(vt_type t)
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

const char *xf_type_error(xf_kind k, vt_type t, char *buf, size_t cap)
{
    if (xf_output_type(k, t) != VT_TYPE_NONE)
        return NULL;
    const char *fn = "derivative";
    if (k == XF_DIFFERENCE || k == XF_NON_NEGATIVE_DIFFERENCE)
        fn = "difference";
    else if (k == XF_MOVING_AVERAGE)
        fn = "moving average";
    else if (k == XF_CUMULATIVE_SUM)
        fn = "cumulative sum";
    else if (k == XF_ELAPSED)
        fn = "elapsed";
    if (buf && cap)
        snprintf(buf, cap, "unsupported %s iterator type: *query.%sInterruptIterator", fn,
                 iter_name(t));
    return buf;
}

xf_state *xf_new(xf_kind k, int64_t arg, int64_t group_interval_ns, bool ascending,
                 vt_type input_type)
{
    if (xf_output_type(k, input_type) == VT_TYPE_NONE || arg < 0 || group_interval_ns < 0)
        return NULL;
    if (k == XF_MOVING_AVERAGE && arg < 1)
        return NULL;
    xf_state *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->kind = k;
    s->in = input_type;
    s->ascending = ascending;
    switch (k) {
    case XF_DERIVATIVE:
    case XF_NON_NEGATIVE_DERIVATIVE:
        s->unit = arg ? arg : (group_interval_ns ? group_interval_ns : 1000000000);
        break;
    case XF_ELAPSED: s->unit = arg ? arg : 1; break;
    case XF_MOVING_AVERAGE:
        s->n = (size_t)arg;
        if (s->n > SIZE_MAX / sizeof(xnum) || !(s->ring = calloc(s->n, sizeof(xnum)))) {
            free(s);
            return NULL;
        }
        break;
    default: break;
    }
    return s;
}

void xf_free(xf_state *s)
{
    if (!s)
        return;
    free(s->ring);
    free(s);
}

/* The value as the input type (numeric inputs of another numeric type are converted). */
static xnum to_xnum(vt_type want, const vt_value *v)
{
    xnum x;
    memset(&x, 0, sizeof x);
    double d = 0;
    int64_t i = 0;
    uint64_t u = 0;
    switch (v->type) {
    case VT_TYPE_FLOAT:
        d = v->v.f;
        i = vt_f64_to_i64(d);
        u = d < 0 ? 0 : vt_f64_to_u64(d);
        break;
    case VT_TYPE_INT:
        i = v->v.i;
        d = (double)i;
        u = (uint64_t)i;
        break;
    case VT_TYPE_UINT:
        u = v->v.u;
        d = (double)u;
        i = (int64_t)u;
        break;
    default: break;
    }
    if (want == VT_TYPE_FLOAT)
        x.f = d;
    else if (want == VT_TYPE_INT)
        x.i = i;
    else
        x.u = u;
    return x;
}

static vt_value out_value(vt_type t, xnum x)
{
    vt_value r;
    memset(&r, 0, sizeof r);
    r.type = t;
    if (t == VT_TYPE_FLOAT)
        r.v.f = x.f;
    else if (t == VT_TYPE_INT)
        r.v.i = x.i;
    else
        r.v.u = x.u;
    return r;
}

static double as_double(vt_type t, xnum x)
{
    return t == VT_TYPE_FLOAT ? x.f : t == VT_TYPE_INT ? (double)x.i : (double)x.u;
}

static int emit(xf_row *out, int64_t t, vt_value v)
{
    if (out) {
        out->time = t;
        out->v = v;
    }
    return 1;
}

int xf_push(xf_state *s, int64_t time, const vt_value *v, xf_row *out)
{
    if (!s || !v || v->type == VT_TYPE_NONE)
        return 0;
    if (s->kind == XF_ELAPSED) {
        int64_t prev_t = s->prev_t;
        bool had = s->have;
        s->have = true;
        s->prev_t = time;
        if (!had)
            return 0;
        xnum e;
        e.i = (int64_t)((uint64_t)time - (uint64_t)prev_t) / s->unit;
        return emit(out, time, out_value(VT_TYPE_INT, e));
    }
    if (!numeric(v->type))
        return 0;
    xnum x = to_xnum(s->in, v);
    switch (s->kind) {
    case XF_DERIVATIVE:
    case XF_NON_NEGATIVE_DERIVATIVE: {
        if (s->have && time == s->prev_t)
            return 0; /* same time as the accepted point: skipped */
        xnum p = s->prev;
        int64_t pt = s->prev_t;
        bool had = s->have;
        s->have = true;
        s->prev = x;
        s->prev_t = time;
        if (!had)
            return 0;
        double diff;
        if (s->in == VT_TYPE_FLOAT)
            diff = x.f - p.f;
        else if (s->in == VT_TYPE_INT)
            diff = (double)(int64_t)((uint64_t)x.i - (uint64_t)p.i);
        else
            diff = x.u > p.u ? (double)(x.u - p.u) : -(double)(p.u - x.u);
        int64_t elapsed = (int64_t)((uint64_t)time - (uint64_t)pt);
        if (!s->ascending)
            elapsed = -elapsed;
        if (s->kind == XF_NON_NEGATIVE_DERIVATIVE && diff < 0)
            return 0;
        xnum r;
        r.f = diff / ((double)elapsed / (double)s->unit);
        return emit(out, time, out_value(VT_TYPE_FLOAT, r));
    }
    case XF_DIFFERENCE:
    case XF_NON_NEGATIVE_DIFFERENCE: {
        if (s->have && time == s->prev_t)
            return 0;
        xnum p = s->prev;
        bool had = s->have;
        s->have = true;
        s->prev = x;
        s->prev_t = time;
        if (!had)
            return 0;
        xnum r;
        bool neg;
        if (s->in == VT_TYPE_FLOAT) {
            r.f = x.f - p.f;
            neg = r.f < 0;
        } else if (s->in == VT_TYPE_INT) {
            r.i = (int64_t)((uint64_t)x.i - (uint64_t)p.i);
            neg = r.i < 0;
        } else {
            r.u = x.u - p.u;
            neg = x.u < p.u;
        }
        if (s->kind == XF_NON_NEGATIVE_DIFFERENCE && neg)
            return 0;
        return emit(out, time, out_value(s->in, r));
    }
    case XF_CUMULATIVE_SUM:
        if (s->in == VT_TYPE_FLOAT)
            s->acc.f += x.f;
        else
            s->acc.u += x.u; /* int64 shares the bits */
        return emit(out, time, out_value(s->in, s->acc));
    case XF_MOVING_AVERAGE: {
        if (s->len < s->n) {
            s->ring[s->len++] = x;
        } else {
            if (s->in == VT_TYPE_FLOAT)
                s->sum.f -= s->ring[s->pos].f;
            else
                s->sum.u -= s->ring[s->pos].u;
            s->ring[s->pos] = x;
        }
        if (s->in == VT_TYPE_FLOAT)
            s->sum.f += x.f;
        else
            s->sum.u += x.u;
        if (++s->pos >= s->n)
            s->pos = 0;
        if (s->len < s->n)
            return 0;
        xnum r;
        r.f = as_double(s->in, s->sum) / (double)s->len;
        return emit(out, time, out_value(VT_TYPE_FLOAT, r));
    }
    default: return 0;
    }
}
