/*
 * query/select_agg.c — aggregate SELECT: window list, accumulators fed from the engine (block
 * pre-aggregates when possible), selectors with other columns, fill and transforms per call.
 *
 * Feeding from blocks (engine_read_agg_ex, for count, sum, mean, spread, first, last, min, max,
 * top, bottom): each segment block that no other source overlaps is offered with its index
 * entry, and every call of the field says what it does with it (agg_summary_use):
 *  1. summary — count/sum/mean/spread from the block's sums; first/last/min/max/top/bottom
 *     from its selector statistics (segment format v4; aggregate.c note 5);
 *  2. skip — no point of the block can change the call (max() holding a value above the
 *     block's max, ...): needs only min/max and the block's span, so v3 blocks skip too, and
 *     so do blocks the query's time range cuts (their statistics still bound the points inside);
 *  3. points — the block is decoded (only its part inside the range is pushed).
 *     When all calls of the field are one of last, max, min, or top/bottom with a tag, such
 *     blocks are set aside and read after the rest, best first (last: newest first; max/top:
 *     greatest max first; ...), each only if a call can still use it (sel_read_deferred): a
 *     year of v3 blocks then costs one decoded block per series for last().
 * Results do not depend on the order: every tie rule compares (time, value).
 */
#include "query/select_int.h"

/* ---- aggregate execution ---- */

static size_t sel_win_find(const sel_win *w, int64_t t)
{
    size_t lo = 0, hi = w->n;
    while (lo + 1 < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->start[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* First time of any selected point (for GROUP BY time without a lower bound). */

bool sel_first_cb(void *ctx, const engine_points *p)
{
    sel_first_ctx *c = ctx;
    if (p->n && (!c->any || p->time[0] < c->t)) {
        c->t = p->time[0];
        c->any = true;
    }
    return false;
}

static vt_rc sel_data_start(sel *q, int64_t *out, bool *any)
{
    sel_first_ctx fc = {0};
    for (size_t i = 0; i < q->nms; i++)
        for (size_t j = 0; j < q->ms[i].nseries; j++)
            for (size_t f = 0; f < q->nfields; f++) {
                if (!sel_series_has_field(&q->ms[i].series[j], q->fields[f], NULL))
                    continue;
                vt_rc rc = sel_source_read(q, q->ms[i].series[j].id, q->fields[f], q->read_tmin,
                                           q->tmax, sel_first_cb, &fc);
                if (rc != VT_OK)
                    return rc;
            }
    *out = fc.t;
    *any = fc.any;
    return VT_OK;
}

vt_rc sel_make_windows(sel *q, sel_win *w)
{
    int64_t lo = q->tmin, hi = q->tmax;
    if (!q->group_time) {
        w->start = malloc(sizeof *w->start);
        if (!w->start)
            return vt_err_set(q->err, VT_ENOMEM, "out of memory");
        w->start[0] = q->tmin;
        w->n = 1;
        return VT_OK;
    }
    if (!q->has_tmin) {
        bool any;
        vt_rc rc = sel_data_start(q, &lo, &any);
        if (rc != VT_OK)
            return rc;
        if (!any) {
            w->n = 0;
            return VT_OK;
        }
    }
    if (!q->has_tmax)
        hi = q->env->now;
    int64_t extra = 0;
    for (size_t i = 0; i < q->ncalls; i++) {
        const sel_call *c = &q->calls[i];
        if (!c->is_xf)
            continue;
        int64_t e = 0;
        switch (c->xk) {
        case XF_MOVING_AVERAGE: e = c->xarg_set ? c->xarg - 1 : 0; break;
        case XF_CUMULATIVE_SUM: e = 0; break;
        default: e = 1;
        }
        if (e > extra)
            extra = e;
    }
    if (extra > 0 && q->has_tmin && lo - extra * q->interval > SEL_MIN_TIME) {
        /* InfluxDB runs transforms from one interval before the start, so the first window
         * has a previous value; rows before the start are dropped */
        int64_t s0, e0, sp, ep;
        sel_window(q, lo, &s0, &e0);
        sel_window(q, lo - extra * q->interval, &sp, &ep);
        q->out_tmin = s0;
        q->read_tmin = lo - extra * q->interval;
        lo = sp;
    }
    if (hi < lo) {
        w->n = 0;
        return VT_OK;
    }
    uint64_t limit = q->env->max_buckets ? q->env->max_buckets : SEL_DEFAULT_MAX_BUCKETS;
    size_t cap = 64, n = 0;
    int64_t *v = malloc(cap * sizeof *v);
    int64_t s, e;
    sel_window(q, lo, &s, &e);
    if (q->tz && v) {
        /* window lengths vary with the zone offset: take every distinct Window() start,
         * probing at each window end and zone change (sel_window_next) */
        v[n++] = s;
        for (int64_t t = lo, ne = e;;) {
            int64_t ns;
            t = sel_window_next(q, t, ne);
            if (t > hi)
                break;
            sel_window(q, t, &ns, &ne);
            if (ns <= v[n - 1])
                continue;
            if (n == cap) {
                cap *= 2;
                int64_t *nv = realloc(v, cap * sizeof *nv);
                if (!nv) {
                    free(v);
                    return vt_err_set(q->err, VT_ENOMEM, "out of memory");
                }
                v = nv;
            }
            v[n++] = ns;
            if (n > limit) {
                free(v);
                return vt_err_set(q->err, VT_ELIMIT,
                                  "max-select-buckets limit exceeded: (%zu/%" PRIu64 ")", n, limit);
            }
        }
        w->start = v;
        w->n = n;
        return VT_OK;
    }
    while (v) {
        if (n == cap) {
            cap *= 2;
            int64_t *nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                free(v);
                v = NULL;
                break;
            }
            v = nv;
        }
        v[n++] = s;
        if (n > limit) {
            free(v);
            return vt_err_set(q->err, VT_ELIMIT,
                              "max-select-buckets limit exceeded: (%zu/%" PRIu64 ")", n, limit);
        }
        if (e > hi || e >= SEL_MAX_TIME)
            break;
        int64_t ns, ne;
        sel_window(q, e, &ns, &ne);
        if (ns <= s)
            break;
        s = ns;
        e = ne;
    }
    if (!v)
        return vt_err_set(q->err, VT_ENOMEM, "out of memory");
    w->start = v;
    w->n = n;
    return VT_OK;
}

typedef struct sel_agg_ctx {
    sel *q;
    const sel_win *w;
    agg_state **st;   /* [call * nwin + win] */
    const int *calls; /* calls reading this field */
    size_t ncalls;
    vt_type type;
    vt_str aux;
    bool has_aux;
    bool oom;
    size_t cur; /* window cursor */
    int64_t tmin, tmax; /* the range read */
    /* blocks set aside for a best-first second pass (sel_read_deferred) */
    bool deferring;
    struct sel_defer *defer;
    size_t ndefer, defer_cap;
} sel_agg_ctx;

/* A whole block that needs its points, read after the others in the order where its call is
 * most likely to skip the rest (see sel_read_deferred). */
typedef struct sel_defer {
    size_t win;
    agg_summary sm; /* of the whole block */
    int64_t lo, hi; /* the span to read: the block's, cut by the read's range */
} sel_defer;

/* integral over GROUP BY time keeps one state for all windows of a group (window 0's slot) */
static bool sel_group_wide(const sel *q, const sel_call *c)
{
    return !c->is_xf && c->ak == AGG_INTEGRAL && q->group_time;
}

static agg_state *sel_state(sel_agg_ctx *c, int call, size_t win, vt_type type)
{
    if (sel_group_wide(c->q, &c->q->calls[call]))
        win = 0;
    agg_state **slot = &c->st[(size_t)call * c->w->n + win];
    if (!*slot) {
        sel_call *sc = &c->q->calls[call];
        agg_args a = sc->aa;
        a.interval_ns = c->q->group_time ? c->q->interval : 0;
        a.offset_ns = c->q->ioffset;
        *slot = agg_new(sc->ak, &a, type);
        if (!*slot)
            c->oom = true;
    }
    return *slot;
}

/* The state of (call, window) if it exists. */
static agg_state *sel_state_peek(sel_agg_ctx *c, int call, size_t win)
{
    if (sel_group_wide(c->q, &c->q->calls[call]))
        win = 0;
    return c->st[(size_t)call * c->w->n + win];
}

static size_t sel_type_size(vt_type t)
{
    switch (t) {
    case VT_TYPE_FLOAT: return sizeof(double);
    case VT_TYPE_INT: return sizeof(int64_t);
    case VT_TYPE_UINT: return sizeof(uint64_t);
    case VT_TYPE_BOOL: return sizeof(bool);
    case VT_TYPE_STRING: return sizeof(vt_str);
    default: return 0;
    }
}

static const void *sel_points_vals(const engine_points *p)
{
    switch (p->type) {
    case VT_TYPE_FLOAT: return p->f;
    case VT_TYPE_INT: return p->i;
    case VT_TYPE_UINT: return p->u;
    case VT_TYPE_BOOL: return p->b;
    case VT_TYPE_STRING: return p->s;
    default: return NULL;
    }
}

/* Block pre-aggregates: a whole segment block inside one window is answered from its index
 * entry without being decoded — count/sum/mean/spread from its sums, first/last/min/max and
 * top/bottom from its selector statistics (format v4), or skipped outright when it cannot
 * change any call's result (see aggregate.c note 5; needs only min/max, so v3 blocks too).
 * engine_read_agg offers only blocks that no other source overlaps, so last-write-wins cannot
 * change them. */
static bool sel_summary_ok(const sel_call *c)
{
    if (c->is_xf || c->count_distinct)
        return false;
    switch (c->ak) {
    case AGG_COUNT:
    case AGG_SUM:
    case AGG_MEAN:
    case AGG_SPREAD:
    case AGG_FIRST:
    case AGG_LAST:
    case AGG_MAX:
    case AGG_MIN:
    case AGG_TOP:
    case AGG_BOTTOM: return true;
    default: return false;
    }
}

static vt_value sel_num_value(vt_type t, const seg_num *n)
{
    vt_value v;
    memset(&v, 0, sizeof v);
    v.type = t;
    switch (t) {
    case VT_TYPE_FLOAT: v.v.f = n->f; break;
    case VT_TYPE_INT: v.v.i = n->i; break;
    case VT_TYPE_UINT: v.v.u = n->u; break;
    case VT_TYPE_BOOL: v.v.b = n->u != 0; break;
    default: v.type = VT_TYPE_NONE; break;
    }
    return v;
}

/* The agg_summary of a block's index entry (what it does not know stays VT_TYPE_NONE). */
static void sel_block_summary(const engine_block_agg *b, agg_summary *sm)
{
    const seg_preagg *p = &b->agg;
    memset(sm, 0, sizeof *sm);
    sm->count = b->count;
    sm->start = b->min_time;
    sm->end = b->max_time;
    switch (b->type) {
    case VT_TYPE_FLOAT:
    case VT_TYPE_INT:
    case VT_TYPE_UINT:
        sm->nan = b->type == VT_TYPE_FLOAT && p->nan_count > 0;
        if (!sm->nan && !p->sum_overflow) /* seg's float sum leaves NaN out; the points' would not */
            sm->sum = sel_num_value(b->type, &p->sum);
        sm->min = sel_num_value(b->type, &p->min);
        sm->max = sel_num_value(b->type, &p->max);
        break;
    case VT_TYPE_BOOL: break;
    default: return; /* strings: no statistics */
    }
    if (!p->has_selectors)
        return;
    sm->first = sel_num_value(b->type, &p->first);
    sm->last = sel_num_value(b->type, &p->last);
    if (b->type != VT_TYPE_BOOL && p->nan_count < b->count) {
        sm->has_at = true;
        sm->min_time = p->min_at;
        sm->max_time = p->max_at;
    }
}

static int sel_defer_block(sel_agg_ctx *c, size_t win, const agg_summary *sm, int64_t lo,
                           int64_t hi)
{
    if (c->ndefer == c->defer_cap) {
        size_t cap = c->defer_cap ? c->defer_cap * 2 : 16;
        sel_defer *nd = realloc(c->defer, cap * sizeof *nd);
        if (!nd) {
            c->oom = true;
            return -1;
        }
        c->defer = nd;
        c->defer_cap = cap;
    }
    c->defer[c->ndefer++] = (sel_defer){win, *sm, lo, hi};
    return 1; /* consumed for now: its span is read again by sel_read_deferred */
}

/* A block cut by the read's range (b->partial) has statistics of points outside it too: they
 * still bound the points inside (values within [min, max], times within the block's span), so
 * they may prove the block irrelevant (AGG_BLOCK_SKIP), never answer it. Only states that hold
 * points already can skip, so none is created for it (the range may hold none of its points). */
static int sel_agg_block_cb(void *ctx, const engine_block_agg *b)
{
    sel_agg_ctx *c = ctx;
    if (b->count == 0)
        return 0;
    int64_t lo = b->min_time, hi = b->max_time; /* where its points that are read lie */
    if (b->partial) {
        lo = lo < c->tmin ? c->tmin : lo;
        hi = hi > c->tmax ? c->tmax : hi;
    }
    size_t win = sel_win_find(c->w, lo);
    if (lo < c->w->start[win])
        return 0;
    if (c->q->group_time && win + 1 < c->w->n && hi >= c->w->start[win + 1])
        return 0; /* spans two windows */
    agg_summary sm;
    sel_block_summary(b, &sm);
    const vt_str *aux = c->has_aux ? &c->aux : NULL;
    /* every call must take or skip it, or the block is decoded for all of them */
    bool skip = true;
    for (size_t k = 0; k < c->ncalls; k++) {
        agg_state *st = b->partial ? sel_state_peek(c, c->calls[k], win)
                                   : sel_state(c, c->calls[k], win, b->type);
        if (!st && !b->partial)
            return -1;
        agg_block_use use = st ? agg_summary_use(st, &sm, aux) : AGG_BLOCK_POINTS;
        if (use == AGG_BLOCK_POINTS || (b->partial && use != AGG_BLOCK_SKIP))
            return c->deferring ? sel_defer_block(c, win, &sm, lo, hi) : 0;
        skip = skip && use == AGG_BLOCK_SKIP;
    }
    if (b->partial) { /* every call skips it */
        c->q->blocks_summarised++;
        return 1;
    }
    for (size_t k = 0; k < c->ncalls && !skip; k++) {
        if (!agg_push_summary(sel_state(c, c->calls[k], win, b->type), &sm, aux)) {
            c->oom = true; /* agg_summary_use said it would take it: only OOM fails */
            return -1;
        }
    }
    c->q->points_read += b->count;
    c->q->blocks_summarised++;
    return 1;
}

static bool sel_agg_cb(void *ctx, const engine_points *p)
{
    sel_agg_ctx *c = ctx;
    const uint8_t *vals = sel_points_vals(p);
    size_t sz = sel_type_size(p->type);
    size_t i = 0;
    c->q->points_read += p->n;
    if (c->q->env->max_points && c->q->points_read > c->q->env->max_points)
        return false;
    while (i < p->n) {
        size_t win = sel_win_find(c->w, p->time[i]);
        if (p->time[i] < c->w->start[win]) { /* before the first window */
            i++;
            continue;
        }
        size_t j = i + 1;
        int64_t end = win + 1 < c->w->n ? c->w->start[win + 1] : INT64_MAX;
        if (!c->q->group_time)
            end = INT64_MAX;
        while (j < p->n && p->time[j] < end)
            j++;
        for (size_t k = 0; k < c->ncalls; k++) {
            agg_state *st = sel_state(c, c->calls[k], win, p->type);
            if (!st)
                return false;
            agg_push(st, p->time + i, vals + i * sz, j - i, c->has_aux ? &c->aux : NULL);
        }
        i = j;
    }
    return true;
}

/* Whether the field's calls gain from reading their undecodable blocks best-first: one kind
 * whose blocks can be skipped once a good point is held (first() is best-first already). */
static bool sel_defer_ok(const sel *q, const int *calls, size_t n)
{
    if (n == 0)
        return false;
    const sel_call *c0 = &q->calls[calls[0]];
    for (size_t k = 1; k < n; k++)
        if (q->calls[calls[k]].ak != c0->ak)
            return false;
    switch (c0->ak) {
    case AGG_LAST:
    case AGG_MAX:
    case AGG_MIN: return true;
    case AGG_TOP:
    case AGG_BOTTOM: return c0->tag_arg != NULL;
    default: return false;
    }
}

static double sel_value_key(const vt_value *v)
{
    switch (v->type) {
    case VT_TYPE_FLOAT: return v->v.f;
    case VT_TYPE_INT: return (double)v->v.i;
    case VT_TYPE_UINT: return (double)v->v.u;
    default: return 0;
    }
}

/* Reads the deferred blocks of series sid best-first — last(): newest first; max() and top():
 * greatest max first; min() and bottom(): smallest min first — each only if some call can
 * still use it (agg_summary_use says which cannot). The order only saves work: every tie rule
 * compares (time, value), so results do not depend on it. A block was alone in its span when
 * deferred, so reading the span reads exactly its points (or a later state of them). */
static vt_rc sel_read_deferred(sel_agg_ctx *c, uint64_t sid, const char *field)
{
    sel *q = c->q;
    agg_kind k0 = q->calls[c->calls[0]].ak;
    double *key = malloc(c->ndefer * sizeof *key);
    size_t *ord = malloc(c->ndefer * sizeof *ord);
    vt_rc rc = VT_OK;
    if (!key || !ord) {
        rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < c->ndefer; i++) {
        const agg_summary *m = &c->defer[i].sm;
        ord[i] = i;
        switch (k0) {
        case AGG_LAST: key[i] = -(double)m->end; break;
        case AGG_MAX:
        case AGG_TOP: key[i] = -sel_value_key(&m->max); break;
        default: key[i] = sel_value_key(&m->min); break;
        }
    }
    for (size_t i = 1; i < c->ndefer; i++) { /* insertion sort: a series has few blocks */
        size_t x = ord[i], j = i;
        while (j > 0 && key[ord[j - 1]] > key[x]) {
            ord[j] = ord[j - 1];
            j--;
        }
        ord[j] = x;
    }
    const vt_str *aux = c->has_aux ? &c->aux : NULL;
    for (size_t i = 0; i < c->ndefer && rc == VT_OK; i++) {
        const sel_defer *d = &c->defer[ord[i]];
        bool skip = true;
        for (size_t k = 0; k < c->ncalls && skip; k++) {
            agg_state *st = sel_state_peek(c, c->calls[k], d->win);
            skip = st && agg_summary_use(st, &d->sm, aux) == AGG_BLOCK_SKIP;
        }
        if (skip) {
            q->blocks_summarised++;
            continue;
        }
        rc = engine_read_agg(node_engine(q->env->node), q->store, sid, field, d->lo, d->hi, NULL,
                             sel_agg_cb, c, q->err);
        if (rc == VT_ENOTFOUND) { /* deleted meanwhile: no points */
            vt_err_clear(q->err);
            rc = VT_OK;
        }
        if (rc == VT_OK && c->oom)
            rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
    }
done:
    free(key);
    free(ord);
    return rc;
}

/* Pushes one filtered row's field values into the accumulators (condition on fields). */
static bool sel_agg_push_row(sel *q, const sel_win *w, agg_state **st, int64_t t,
                             const vt_value *fv, const qc_series *s)
{
    size_t win = sel_win_find(w, t);
    if (t < w->start[win])
        return true;
    sel_agg_ctx c = {.q = q, .w = w, .st = st};
    for (size_t k = 0; k < q->ncalls; k++) {
        const sel_call *sc = &q->calls[k];
        if (sc->is_xf)
            continue;
        const vt_value *v = &fv[sc->field];
        if (v->type == VT_TYPE_NONE)
            continue;
        agg_state *a = sel_state(&c, (int)k, win, v->type);
        if (!a)
            return false;
        vt_str aux = {"", 0};
        if (sc->tag_arg)
            aux = qx_tag_value(s->tags, s->ntags, sc->tag_arg);
        const void *val = v->type == VT_TYPE_FLOAT  ? (const void *)&v->v.f
                          : v->type == VT_TYPE_INT  ? (const void *)&v->v.i
                          : v->type == VT_TYPE_UINT ? (const void *)&v->v.u
                          : v->type == VT_TYPE_BOOL ? (const void *)&v->v.b
                                                    : (const void *)&v->v.s;
        agg_push(a, &t, val, 1, sc->tag_arg ? &aux : NULL);
    }
    return true;
}

/* sel_aux: points row at the selected point (time t, value v of the selector's field; for
 * top/bottom with a tag, the tag value too): its series' tags and its fields. The first series
 * of the group (in key order) holding that exact point wins. */
static void sel_aux_lookup(const sel *q, const sel_group *g, const sel_rows *rows,
                           const size_t *start, int64_t t, const vt_value *v, const vt_str *tagv,
                           qx_row *row)
{
    const sel_call *c = &q->calls[q->sel_call];
    int f = c->field;
    for (size_t si = 0; start && si < g->nseries; si++) {
        const qc_series *s = g->series[si];
        if (tagv && c->tag_arg) {
            vt_str tv = qx_tag_value(s->tags, s->ntags, c->tag_arg);
            if (tv.len != tagv->len || (tv.len && memcmp(tv.ptr, tagv->ptr, tv.len) != 0))
                continue;
        }
        size_t lo = start[si], hi = start[si + 1];
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (rows->t[mid] < t)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (; lo < start[si + 1] && rows->t[lo] == t; lo++) {
            const vt_value *x = &rows->v[lo * rows->nf + (size_t)f];
            bool eq = x->type == v->type;
            if (eq) {
                switch (x->type) {
                case VT_TYPE_FLOAT: eq = memcmp(&x->v.f, &v->v.f, sizeof x->v.f) == 0; break;
                case VT_TYPE_INT: eq = x->v.i == v->v.i; break;
                case VT_TYPE_UINT: eq = x->v.u == v->v.u; break;
                case VT_TYPE_BOOL: eq = x->v.b == v->v.b; break;
                case VT_TYPE_STRING:
                    eq = x->v.s.len == v->v.s.len &&
                         (x->v.s.len == 0 || memcmp(x->v.s.ptr, v->v.s.ptr, x->v.s.len) == 0);
                    break;
                default: eq = false;
                }
            }
            if (eq) {
                row->tags = s->tags;
                row->ntags = s->ntags;
                row->fields = &rows->v[lo * rows->nf];
                return;
            }
        }
    }
}

/* ---- GROUP BY time output: per-call streams ----
 *
 * InfluxDB builds, per call of the SELECT list, an iterator chain
 *     call (one point per window with data, time = window start)
 *       -> fill (emits the missing windows, stepping time by the interval and adjusting it at
 *                tz offset changes: this is where DST days get their odd buckets)
 *       -> transform (derivative, ... over the filled points)
 * and the emitter zips the chains by time. volta does the same with arrays ("streams").
 */
typedef struct sel_stream {
    int64_t *t;
    vt_value *v;
    size_t n, cap;
} sel_stream;

static bool sel_stream_push(sel_stream *s, int64_t t, vt_value v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        int64_t *nt = realloc(s->t, cap * sizeof *nt);
        if (nt)
            s->t = nt;
        vt_value *nv = realloc(s->v, cap * sizeof *nv);
        if (nv)
            s->v = nv;
        if (!nt || !nv)
            return false;
        s->cap = cap;
    }
    s->t[s->n] = t;
    s->v[s->n] = v;
    s->n++;
    return true;
}

static void sel_stream_free(sel_stream *s)
{
    free(s->t);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* InfluxDB's linearFloat / linearInteger: slope * (x - x1) + y1 (integer division for ints). */
static vt_value sel_linear(int64_t x, int64_t x1, int64_t x2, const vt_value *y1,
                           const vt_value *y2)
{
    vt_value r = {0};
    if (y1->type == VT_TYPE_FLOAT && y2->type == VT_TYPE_FLOAT) {
        double m = (y2->v.f - y1->v.f) / (double)(x2 - x1);
        r.type = VT_TYPE_FLOAT;
        r.v.f = m * (double)(x - x1) + y1->v.f;
    } else if (y1->type == VT_TYPE_INT && y2->type == VT_TYPE_INT) {
        int64_t m = (y2->v.i - y1->v.i) / (x2 - x1);
        r.type = VT_TYPE_INT;
        r.v.i = m * (x - x1) + y1->v.i;
    } else if (y1->type == VT_TYPE_UINT && y2->type == VT_TYPE_UINT) {
        uint64_t m = (y2->v.u - y1->v.u) / (uint64_t)(x2 - x1);
        r.type = VT_TYPE_UINT;
        r.v.u = m * (uint64_t)(x - x1) + y1->v.u;
    }
    return r;
}

/* InfluxDB's fillIterator (ascending) over data points whose times are window starts. */
static bool sel_fill_stream(sel *q, const sel_stream *in, bool count_like, sel_stream *out)
{
    const influxql_select *s = q->s;
    if (s->fill == IQL_FILL_NONE || in->n == 0) {
        for (size_t i = 0; i < in->n; i++)
            if (!sel_stream_push(out, in->t[i], in->v[i]))
                return false;
        return true;
    }
    int64_t d = q->interval, ws, we;
    int64_t wt;
    if (q->has_tmin) {
        sel_window(q, q->read_tmin, &ws, &we);
        wt = ws;
    } else {
        sel_window(q, in->t[0], &ws, &we);
        wt = ws;
    }
    int64_t end;
    sel_window(q, q->has_tmax ? q->tmax : q->env->now, &end, &we);
    int64_t off = sel_zone(q, wt);
    vt_value prev = {0};
    int64_t prev_t = 0;
    bool has_prev = false;
    size_t i = 0;
    for (;;) {
        bool have_p = i < in->n;
        if (!have_p && wt > end)
            break;
        if (have_p && in->t[i] <= wt) {
            if (!sel_stream_push(out, in->t[i], in->v[i]))
                return false;
            prev = in->v[i];
            prev_t = in->t[i];
            has_prev = true;
            i++;
        } else {
            vt_value v = {0};
            switch (s->fill) {
            case IQL_FILL_NULL:
                if (count_like) {
                    v.type = VT_TYPE_INT;
                    v.v.i = 0;
                }
                break;
            case IQL_FILL_NUMBER:
                if (s->fill_is_int) {
                    v.type = VT_TYPE_INT;
                    v.v.i = s->fill_int;
                } else {
                    v.type = VT_TYPE_FLOAT;
                    v.v.f = s->fill_float;
                }
                break;
            case IQL_FILL_PREVIOUS:
                if (has_prev)
                    v = prev;
                break;
            case IQL_FILL_LINEAR:
                if (has_prev && have_p && in->t[i] != prev_t)
                    v = sel_linear(wt, prev_t, in->t[i], &prev, &in->v[i]);
                break;
            default: break;
            }
            if (!sel_stream_push(out, wt, v))
                return false;
        }
        wt += d;
        if (q->tz) {
            int64_t o2 = sel_zone(q, wt - 1);
            if (o2 != off) {
                int64_t diff = off - o2;
                if (llabs(diff) < d)
                    wt += diff;
                off = o2;
            }
        }
    }
    return true;
}

static bool sel_call_used(const qx *x, int k)
{
    if (!x)
        return false;
    if (x->kind == QX_CALL)
        return x->slot == k;
    if (x->kind == QX_BIN)
        return sel_call_used(x->l, k) || sel_call_used(x->r, k);
    return false;
}

static vt_rc sel_emit_streams(sel *q, const sel_group *g, const sel_win *w, const vt_value *cv,
                              const bool *has, sel_out *o)
{
    size_t nc = q->ncalls, nw = w->n;
    bool desc = sel_desc(q);
    vt_rc rc = VT_OK;
    sel_stream *st = calloc(nc ? nc : 1, sizeof *st);
    bool *top = calloc(nc ? nc : 1, sizeof *top);
    size_t *cur = calloc(nc ? nc : 1, sizeof *cur);
    vt_value *rowc = calloc(nc ? nc : 1, sizeof *rowc);
    vt_value *vals = calloc(q->ncols ? q->ncols : 1, sizeof *vals);
    sel_stream data = {0};
    int64_t *times = NULL;
    if (!st || !top || !cur || !rowc || !vals) {
        rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
        goto done;
    }
    /* aggregate calls: data points, then fill */
    for (size_t k = 0; k < nc; k++) {
        const sel_call *c = &q->calls[k];
        for (size_t x = 0; x < q->ncols; x++)
            top[k] |= sel_call_used(q->cols[x].x, (int)k);
        if (c->is_xf)
            continue;
        data.n = 0;
        for (size_t x = 0; x < nw; x++)
            if (has[k * nw + x] && !sel_stream_push(&data, w->start[x], cv[k * nw + x])) {
                rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
                goto done;
            }
        if (!sel_fill_stream(q, &data, c->ak == AGG_COUNT || c->count_distinct, &st[k])) {
            rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
            goto done;
        }
    }
    /* transforms over their inner call's filled stream (in output order) */
    for (size_t k = 0; k < nc; k++) {
        const sel_call *c = &q->calls[k];
        if (!c->is_xf)
            continue;
        const sel_call *inner = &q->calls[c->inner];
        vt_type in = inner->count_distinct
                         ? VT_TYPE_INT
                         : agg_output_type(inner->ak, sel_field_type(q, q->fields[inner->field]));
        xf_state *xs;
        rc = sel_xf_new(q, c, q->interval, desc, in, &xs);
        if (rc != VT_OK)
            goto done;
        const sel_stream *is = &st[c->inner];
        sel_stream tmp = {0};
        for (size_t y = 0; y < is->n; y++) {
            size_t i = desc ? is->n - 1 - y : y;
            xf_row xr;
            if (xf_push(xs, is->t[i], &is->v[i], &xr) > 0 &&
                !sel_stream_push(&tmp, xr.time, xr.v)) {
                xf_free(xs);
                sel_stream_free(&tmp);
                rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
                goto done;
            }
        }
        xf_free(xs);
        /* keep streams ascending */
        for (size_t y = 0; y < tmp.n; y++) {
            size_t i = desc ? tmp.n - 1 - y : y;
            if (!sel_stream_push(&st[k], tmp.t[i], tmp.v[i])) {
                sel_stream_free(&tmp);
                rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
                goto done;
            }
        }
        sel_stream_free(&tmp);
    }
    /* zip the streams the columns read, by time */
    size_t total = 0;
    for (size_t k = 0; k < nc; k++)
        if (top[k])
            total += st[k].n;
    times = malloc((total ? total : 1) * sizeof *times);
    if (!times) {
        rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
        goto done;
    }
    size_t nt = 0;
    for (size_t k = 0; k < nc; k++)
        if (top[k])
            for (size_t i = 0; i < st[k].n; i++)
                times[nt++] = st[k].t[i];
    for (size_t i = 1; i < nt; i++) { /* insertion sort: streams are nearly sorted already */
        int64_t x = times[i];
        size_t j = i;
        while (j > 0 && times[j - 1] > x) {
            times[j] = times[j - 1];
            j--;
        }
        times[j] = x;
    }
    size_t u = 0;
    for (size_t i = 0; i < nt; i++)
        if (u == 0 || times[u - 1] != times[i])
            times[u++] = times[i];
    nt = u;
    for (size_t y = 0; y < nt; y++) {
        size_t i = desc ? nt - 1 - y : y;
        int64_t t = times[i];
        if (t < q->out_tmin)
            continue;
        for (size_t k = 0; k < nc; k++) {
            memset(&rowc[k], 0, sizeof rowc[k]);
            if (!top[k])
                continue;
            /* streams are ascending: binary search */
            size_t lo = 0, hi = st[k].n;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (st[k].t[mid] < t)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo < st[k].n && st[k].t[lo] == t)
                rowc[k] = st[k].v[lo];
        }
        qx_row row = {.tags = g->tags, .ntags = g->ntags, .time = t, .calls = rowc};
        for (size_t c = 0; c < q->ncols; c++)
            vals[c] = qx_eval(q->cols[c].x, &row);
        if (!sel_out_push(o, t, vals)) {
            rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
            goto done;
        }
    }
done:
    for (size_t k = 0; st && k < nc; k++)
        sel_stream_free(&st[k]);
    sel_stream_free(&data);
    free(st);
    free(top);
    free(cur);
    free(rowc);
    free(vals);
    free(times);
    return rc;
}

vt_rc sel_run_agg_group(sel *q, const sel_group *g, const sel_win *w, sel_out *o)
{
    size_t nw = w->n, nc = q->ncalls;
    size_t ncw = nc * nw > 0 ? nc * nw : 1;
    vt_rc rc = VT_OK;
    if (nw == 0)
        return VT_OK;
    agg_state **st = calloc(ncw, sizeof *st);
    int *fcalls = calloc(nc ? nc : 1, sizeof *fcalls);
    if (!st || !fcalls) {
        free(st);
        free(fcalls);
        return vt_err_set(q->err, VT_ENOMEM, "out of memory");
    }
    /* feed */
    sel_rows grows = {.nf = q->nfields}; /* sel_aux: the group's rows, kept for the lookup */
    size_t *gstart = NULL;
    for (size_t si = 0; si < g->nseries && rc == VT_OK; si++) {
        const qc_series *s = g->series[si];
        if (q->sel_aux) {
            size_t before = grows.n;
            rc = sel_series_rows(q, s, (uint32_t)si, &grows);
            for (size_t r = before; rc == VT_OK && r < grows.n; r++)
                if (!sel_agg_push_row(q, w, st, grows.t[r], &grows.v[r * grows.nf], s))
                    rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
            continue;
        }
        if (q->cond_rows || q->virt) {
            sel_rows rows = {.nf = q->nfields};
            rc = sel_series_rows(q, s, (uint32_t)si, &rows);
            for (size_t r = 0; rc == VT_OK && r < rows.n; r++)
                if (!sel_agg_push_row(q, w, st, rows.t[r], &rows.v[r * rows.nf], s))
                    rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
            sel_rows_free(&rows);
            continue;
        }
        for (size_t f = 0; f < q->nfields && rc == VT_OK; f++) {
            vt_type type;
            if (!sel_series_has_field(s, q->fields[f], &type))
                continue;
            /* calls reading field f, grouped by top/bottom tag argument */
            for (size_t k0 = 0; k0 < nc; k0++) {
                const sel_call *c0 = &q->calls[k0];
                if (c0->is_xf || c0->field != (int)f)
                    continue;
                bool first = true;
                for (size_t k1 = 0; k1 < k0; k1++) {
                    const sel_call *c1 = &q->calls[k1];
                    if (!c1->is_xf && c1->field == (int)f &&
                        ((c1->tag_arg == NULL) == (c0->tag_arg == NULL)) &&
                        (!c1->tag_arg || strcmp(c1->tag_arg, c0->tag_arg) == 0))
                        first = false;
                }
                if (!first)
                    continue;
                size_t n = 0;
                for (size_t k = k0; k < nc; k++) {
                    const sel_call *ck = &q->calls[k];
                    if (!ck->is_xf && ck->field == (int)f &&
                        ((ck->tag_arg == NULL) == (c0->tag_arg == NULL)) &&
                        (!ck->tag_arg || strcmp(ck->tag_arg, c0->tag_arg) == 0))
                        fcalls[n++] = (int)k;
                }
                sel_agg_ctx c = {
                    .q = q, .w = w, .st = st, .calls = fcalls, .ncalls = n, .type = type};
                if (c0->tag_arg) {
                    c.aux = qx_tag_value(s->tags, s->ntags, c0->tag_arg);
                    c.has_aux = true;
                }
                bool summaries = !q->virt;
                for (size_t k = 0; k < n && summaries; k++)
                    summaries = sel_summary_ok(&q->calls[fcalls[k]]);
                if (summaries) {
                    c.tmin = q->read_tmin;
                    c.tmax = q->tmax;
                    c.deferring = sel_defer_ok(q, fcalls, n);
                    rc = engine_read_agg_ex(node_engine(q->env->node), q->store, s->id,
                                            q->fields[f], q->read_tmin, q->tmax,
                                            ENGINE_AGG_PARTIAL, sel_agg_block_cb, sel_agg_cb, &c,
                                            q->err);
                    if (rc == VT_ENOTFOUND) { /* deleted meanwhile: no points */
                        vt_err_clear(q->err);
                        rc = VT_OK;
                    }
                    if (rc == VT_OK && !c.oom && c.ndefer)
                        rc = sel_read_deferred(&c, s->id, q->fields[f]);
                    free(c.defer);
                } else {
                    rc = sel_source_read(q, s->id, q->fields[f], q->read_tmin, q->tmax, sel_agg_cb,
                                         &c);
                }
                if (rc == VT_OK && c.oom)
                    rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
                if (rc == VT_OK && q->env->max_points && q->points_read > q->env->max_points)
                    rc = vt_err_set(q->err, VT_ELIMIT,
                                    "max-select-point limit exceeded: (%" PRIu64 "/%" PRIu64 ")",
                                    q->points_read, q->env->max_points);
            }
        }
    }
    if (rc == VT_OK && q->sel_aux) {
        gstart = calloc(g->nseries + 1, sizeof *gstart);
        if (!gstart)
            rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
        for (size_t i = 0; gstart && i < grows.n; i++)
            gstart[grows.series[i] + 1]++;
        for (size_t i = 0; gstart && i < g->nseries; i++)
            gstart[i + 1] += gstart[i];
    }
    if (rc != VT_OK)
        goto done;
    /* a group without any point in range gives no series */
    {
        bool any = false;
        for (size_t i = 0; i < nc * nw && !any; i++)
            any = st[i] != NULL;
        if (!any)
            goto done;
    }
    /* results per window */
    {
        vt_value *cv = calloc(ncw, sizeof *cv); /* call values */
        int64_t *ct = calloc(ncw, sizeof *ct);  /* selected times */
        bool *has = calloc(ncw, sizeof *has);   /* window had data */
        vt_value *vals = calloc(q->ncols ? q->ncols : 1, sizeof *vals);
        vt_value *rowc = calloc(nc ? nc : 1, sizeof *rowc);
        agg_row *mrows = NULL;
        size_t mcap = 0;
        if (!cv || !ct || !has || !vals || !rowc) {
            rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
            goto res_done;
        }
        for (size_t k = 0; k < nc; k++) {
            const sel_call *sc = &q->calls[k];
            if (sc->is_xf)
                continue;
            for (size_t x = 0; x < nw; x++) {
                agg_state *a = st[k * nw + x];
                size_t idx = k * nw + x;
                if (!a) {
                    if (sc->ak == AGG_COUNT || sc->count_distinct) {
                        /* empty window: count is 0 (filled below unless fill says otherwise) */
                    }
                    continue;
                }
                agg_row r;
                size_t got = 0;
                if (sel_group_wide(q, sc)) {
                    /* one state, rows for each window that had points */
                    size_t cnt = agg_result(a, NULL, 0);
                    agg_row *rs = cnt ? malloc(cnt * sizeof *rs) : NULL;
                    if (cnt && !rs) {
                        rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
                        goto res_done;
                    }
                    cnt = agg_result(a, rs, cnt);
                    for (size_t r2 = 0; r2 < cnt; r2++) {
                        size_t wx = sel_win_find(w, rs[r2].time);
                        cv[k * nw + wx] = rs[r2].v;
                        ct[k * nw + wx] = w->start[wx];
                        has[k * nw + wx] = true;
                    }
                    free(rs);
                    break; /* the other windows' slots are empty */
                }
                if (sc->count_distinct) {
                    size_t cnt = agg_result(a, NULL, 0);
                    cv[idx].type = VT_TYPE_INT;
                    cv[idx].v.i = (int64_t)cnt;
                    has[idx] = true;
                    continue;
                }
                if ((int)k == q->multi_call)
                    continue; /* emitted below, several rows */
                got = agg_result(a, &r, 1);
                if (got) {
                    cv[idx] = r.v;
                    ct[idx] = r.has_time ? r.time : w->start[x];
                    has[idx] = true;
                    if (cv[idx].type == VT_TYPE_STRING) {
                        char *p = arena_strndup(q->a, cv[idx].v.s.ptr ? cv[idx].v.s.ptr : "",
                                                cv[idx].v.s.len);
                        if (!p) {
                            rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
                            goto res_done;
                        }
                        cv[idx].v.s.ptr = p;
                    }
                }
            }
        }
        if (q->group_time && q->multi_call < 0 && !q->sel_aux) {
            rc = sel_emit_streams(q, g, w, cv, has, o);
            goto res_done;
        }
        /* transforms over the window sequence of their inner call */
        bool desc = sel_desc(q);
        bool *xhas = calloc(ncw, sizeof *xhas);
        if (!xhas) {
            rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
            goto res_done;
        }
        /* fill of the aggregate slots first (transforms see filled values) */
        const influxql_select *s = q->s;
        for (size_t k = 0; k < nc; k++) {
            const sel_call *sc = &q->calls[k];
            if (sc->is_xf || (int)k == q->multi_call)
                continue;
            bool count_like = sc->ak == AGG_COUNT || sc->count_distinct;
            vt_value prev = {0};
            bool has_prev = false;
            for (size_t x = 0; x < nw; x++) {
                size_t idx = k * nw + x;
                if (has[idx]) {
                    prev = cv[idx];
                    has_prev = true;
                    continue;
                }
                ct[idx] = w->start[x];
                switch (s->fill) {
                case IQL_FILL_NULL:
                    if (count_like && q->group_time) {
                        cv[idx].type = VT_TYPE_INT;
                        cv[idx].v.i = 0;
                    }
                    break;
                case IQL_FILL_NUMBER:
                    if (s->fill_is_int) {
                        cv[idx].type = VT_TYPE_INT;
                        cv[idx].v.i = s->fill_int;
                    } else {
                        cv[idx].type = VT_TYPE_FLOAT;
                        cv[idx].v.f = s->fill_float;
                    }
                    break;
                case IQL_FILL_PREVIOUS:
                    if (has_prev)
                        cv[idx] = prev;
                    break;
                case IQL_FILL_LINEAR: {
                    /* interpolate between the previous and next windows with data */
                    size_t nx = x + 1;
                    while (nx < nw && !has[k * nw + nx])
                        nx++;
                    if (has_prev && nx < nw) {
                        size_t px = x;
                        while (px > 0 && !has[k * nw + px - 1])
                            px--;
                        px--;
                        const vt_value *a = &cv[k * nw + px], *b = &cv[k * nw + nx];
                        double ta = (double)w->start[px], tb = (double)w->start[nx];
                        double tx = (double)w->start[x];
                        if (a->type == VT_TYPE_FLOAT && b->type == VT_TYPE_FLOAT) {
                            cv[idx].type = VT_TYPE_FLOAT;
                            cv[idx].v.f = a->v.f + (b->v.f - a->v.f) * (tx - ta) / (tb - ta);
                        } else if (a->type == VT_TYPE_INT && b->type == VT_TYPE_INT) {
                            cv[idx].type = VT_TYPE_INT;
                            cv[idx].v.i = a->v.i + (int64_t)((double)(b->v.i - a->v.i) * (tx - ta) /
                                                             (tb - ta));
                        }
                    }
                    break;
                }
                default: break;
                }
            }
        }
        for (size_t k = 0; k < nc; k++) {
            const sel_call *sc = &q->calls[k];
            if (!sc->is_xf)
                continue;
            const sel_call *inner = &q->calls[sc->inner];
            vt_type in =
                inner->count_distinct
                    ? VT_TYPE_INT
                    : agg_output_type(inner->ak, sel_field_type(q, q->fields[inner->field]));
            xf_state *xs;
            rc = sel_xf_new(q, sc, q->interval, desc, in, &xs);
            if (rc != VT_OK) {
                free(xhas);
                goto res_done;
            }
            for (size_t y = 0; y < nw; y++) {
                size_t x = desc ? nw - 1 - y : y;
                size_t inx = (size_t)sc->inner * nw + x;
                bool window_used = false;
                for (size_t kk = 0; kk < nc && !window_used; kk++)
                    window_used = has[kk * nw + x];
                if (s->fill == IQL_FILL_NONE && !window_used)
                    continue;
                xf_row xr;
                if (xf_push(xs, w->start[x], &cv[inx], &xr) > 0) {
                    cv[k * nw + x] = xr.v;
                    ct[k * nw + x] = w->start[x];
                    xhas[k * nw + x] = true;
                }
            }
            xf_free(xs);
        }
        /* rows */
        for (size_t y = 0; y < nw; y++) {
            size_t x = desc ? nw - 1 - y : y;
            bool any = false, any_xf = false;
            for (size_t k = 0; k < nc; k++) {
                any |= has[k * nw + x];
                any_xf |= xhas[k * nw + x];
            }
            if (q->multi_call >= 0) {
                agg_state *a = st[(size_t)q->multi_call * nw + x];
                if (!a)
                    continue;
                size_t cnt = agg_result(a, NULL, 0);
                if (cnt > mcap) {
                    agg_row *nr = realloc(mrows, cnt * sizeof *nr);
                    if (!nr) {
                        rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
                        break;
                    }
                    mrows = nr;
                    mcap = cnt;
                }
                cnt = agg_result(a, mrows, cnt);
                for (size_t r = 0; r < cnt; r++) {
                    rowc[q->multi_call] = mrows[r].v;
                    int64_t t = mrows[r].has_time && (q->calls[q->multi_call].ak != AGG_DISTINCT)
                                    ? mrows[r].time
                                    : (q->group_time ? w->start[x] : (q->has_tmin ? q->tmin : 0));
                    qx_row row = {.tags = g->tags, .ntags = g->ntags, .time = t, .calls = rowc};
                    if (q->sel_aux)
                        sel_aux_lookup(q, g, &grows, gstart, mrows[r].has_time ? mrows[r].time : t,
                                       &mrows[r].v, &mrows[r].aux, &row);
                    for (size_t c = 0; c < q->ncols; c++) {
                        vt_value v = qx_eval(q->cols[c].x, &row);
                        if (q->cols[c].x->kind == QX_TAG && q->calls[q->multi_call].tag_arg &&
                            strcmp(q->cols[c].x->name, q->calls[q->multi_call].tag_arg) == 0) {
                            v.type = VT_TYPE_STRING;
                            v.v.s = mrows[r].aux;
                        }
                        vals[c] = v;
                        if (v.type == VT_TYPE_STRING) {
                            char *p = arena_strndup(q->a, v.v.s.ptr ? v.v.s.ptr : "", v.v.s.len);
                            if (!p)
                                o->oom = true;
                            else
                                vals[c].v.s.ptr = p;
                        }
                    }
                    if (!sel_out_push(o, t, vals))
                        break;
                }
                if (o->oom)
                    rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
                continue;
            }
            if (q->group_time && w->start[x] < q->out_tmin)
                continue;
            if (q->has_xf) {
                if (!any_xf)
                    continue;
            } else if (!any && (s->fill == IQL_FILL_NONE || !q->group_time)) {
                continue;
            }
            int64_t t = q->group_time ? w->start[x] : (q->has_tmin ? q->tmin : 0);
            if (!q->group_time && nc == 1 && !q->calls[0].is_xf && q->calls[0].ak == AGG_INTEGRAL)
                t = 0; /* InfluxDB's integral reducer stamps its point at time 0 */
            for (size_t k = 0; k < nc; k++) {
                rowc[k] = (q->calls[k].is_xf && !xhas[k * nw + x]) ? (vt_value){0} : cv[k * nw + x];
                if (q->selector_time && has[k * nw + x])
                    t = ct[k * nw + x];
            }
            qx_row row = {.tags = g->tags, .ntags = g->ntags, .time = t, .calls = rowc};
            if (q->sel_aux && has[(size_t)q->sel_call * nw + x])
                sel_aux_lookup(q, g, &grows, gstart, ct[(size_t)q->sel_call * nw + x],
                               &cv[(size_t)q->sel_call * nw + x], NULL, &row);
            for (size_t c = 0; c < q->ncols; c++) {
                vals[c] = qx_eval(q->cols[c].x, &row);
                if (vals[c].type == VT_TYPE_STRING) {
                    char *p = arena_strndup(q->a, vals[c].v.s.ptr ? vals[c].v.s.ptr : "",
                                            vals[c].v.s.len);
                    if (p)
                        vals[c].v.s.ptr = p;
                }
            }
            if (!sel_out_push(o, t, vals)) {
                rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
                break;
            }
        }
        free(xhas);
    res_done:
        free(mrows);
        free(cv);
        free(ct);
        free(has);
        free(vals);
        free(rowc);
    }
done:
    sel_rows_free(&grows);
    free(gstart);
    for (size_t i = 0; i < nc * nw; i++)
        if (st[i])
            agg_free(st[i]);
    free(st);
    free(fcalls);
    return rc;
}
