/*
 * query/select_raw.c — raw SELECT: rows of a group read shard by shard, ordered exactly as
 * InfluxDB orders them (a replay of its heap merge), streamed to the writer.
 */
#include "query/select_int.h"

/* ---- raw execution ---- */

/*
 * Row order of a raw group. InfluxDB merges the series of a group shard by shard (7-day shard
 * groups of the default retention policy) with Go's container/heap ordered by time only, so
 * rows with equal times come out in the heap's order. volta replays the same heap operations
 * over the same inputs (series in key order) so that ties come out as InfluxDB prints them.
 */

typedef struct sel_heap_item {
    size_t pos, end; /* next row, one past the last (ascending); desc walks end-1 .. pos */
} sel_heap_item;

typedef struct sel_heap {
    sel_heap_item *it;
    size_t n;
    const int64_t *t;
    bool desc;
    const sel *q;
    const sel_rows *rows;
    const sel_group *g;
} sel_heap;

static vt_value sel_aux_value(const sel_heap *h, size_t row, const sel_aux *a)
{
    if (a->tag) {
        const qc_series *s = h->g->series[h->rows->series[row]];
        vt_value v = {.type = VT_TYPE_STRING};
        v.v.s = qx_tag_value(s->tags, s->ntags, a->name);
        if (!qx_tag_present(s->tags, s->ntags, a->name))
            v.type = VT_TYPE_NONE; /* a missing tag is a nil aux value */
        return v;
    }
    return h->rows->v[row * h->rows->nf + (size_t)a->slot];
}

static int64_t sel_heap_time(const sel_heap *h, size_t i)
{
    return h->desc ? h->t[h->it[i].end - 1] : h->t[h->it[i].pos];
}

static bool sel_heap_less(const sel_heap *h, size_t i, size_t j)
{
    int64_t a = sel_heap_time(h, i), b = sel_heap_time(h, j);
    if (a != b)
        return h->desc ? a > b : a < b;
    size_t ra = h->desc ? h->it[i].end - 1 : h->it[i].pos;
    size_t rb = h->desc ? h->it[j].end - 1 : h->it[j].pos;
    if (h->q->virt) /* a subquery's output streams in series order: ties stay in that order */
        return h->rows->series[ra] < h->rows->series[rb];
    /* equal times: InfluxDB compares the aux values while they are strings */
    for (size_t k = 0; k < h->q->naux; k++) {
        vt_value x = sel_aux_value(h, ra, &h->q->aux[k]), y = sel_aux_value(h, rb, &h->q->aux[k]);
        if (x.type != VT_TYPE_STRING || y.type != VT_TYPE_STRING)
            return false;
        size_t n = x.v.s.len < y.v.s.len ? x.v.s.len : y.v.s.len;
        int c = n ? memcmp(x.v.s.ptr, y.v.s.ptr, n) : 0;
        if (c == 0)
            c = x.v.s.len < y.v.s.len ? -1 : x.v.s.len > y.v.s.len;
        if (c == 0)
            continue;
        return h->desc ? c > 0 : c < 0;
    }
    return false;
}

static void sel_heap_swap(sel_heap *h, size_t i, size_t j)
{
    sel_heap_item x = h->it[i];
    h->it[i] = h->it[j];
    h->it[j] = x;
}

static void sel_heap_up(sel_heap *h, size_t j)
{
    while (j > 0) {
        size_t i = (j - 1) / 2;
        if (!sel_heap_less(h, j, i))
            break;
        sel_heap_swap(h, i, j);
        j = i;
    }
}

static void sel_heap_down(sel_heap *h, size_t i, size_t n)
{
    for (;;) {
        size_t j1 = 2 * i + 1;
        if (j1 >= n)
            break;
        size_t j = j1;
        if (j1 + 1 < n && sel_heap_less(h, j1 + 1, j1))
            j = j1 + 1;
        if (!sel_heap_less(h, j, i))
            break;
        sel_heap_swap(h, i, j);
        i = j;
    }
}

/* The shard group of t: its start, aligned as InfluxDB (Go's Time.Truncate) aligns it. */
static int64_t sel_shard(const sel *q, int64_t t)
{
    return node_shard_group_start(t, q->shard_ns > 0 ? q->shard_ns : SEL_DEFAULT_SHARD_NS);
}

/* Fills order[0..rows->n) with row indexes in InfluxDB's output order. */
static bool sel_raw_order(const sel *q, const sel_group *g, const sel_rows *rows, bool desc,
                          size_t *order)
{
    size_t nseries = g->nseries;
    size_t *start = calloc(nseries + 1, sizeof *start);
    sel_heap h = {.it = calloc(nseries ? nseries : 1, sizeof *h.it),
                  .t = rows->t,
                  .desc = desc,
                  .q = q,
                  .rows = rows,
                  .g = g};
    size_t *cur = calloc(nseries ? nseries : 1, sizeof *cur); /* per series: rows consumed */
    if (!start || !h.it || !cur) {
        free(start);
        free(h.it);
        free(cur);
        return false;
    }
    /* rows are grouped by series, ascending */
    for (size_t i = 0; i < rows->n; i++)
        start[rows->series[i] + 1]++;
    for (size_t s = 0; s < nseries; s++)
        start[s + 1] += start[s];
    size_t out = 0;
    while (out < rows->n) {
        /* the next shard: the earliest (latest for desc) remaining row's shard */
        bool have = false;
        int64_t shard = 0;
        for (size_t s = 0; s < nseries; s++) {
            size_t lo = start[s], hi = start[s + 1];
            if (cur[s] >= hi - lo)
                continue;
            int64_t t = desc ? rows->t[hi - 1 - cur[s]] : rows->t[lo + cur[s]];
            int64_t sh = sel_shard(q, t);
            if (!have || (desc ? sh > shard : sh < shard))
                shard = sh;
            have = true;
        }
        if (!have)
            break;
        /* heap items: each series' rows inside this shard */
        h.n = 0;
        for (size_t s = 0; s < nseries; s++) {
            size_t lo = start[s], hi = start[s + 1];
            if (cur[s] >= hi - lo)
                continue;
            size_t a = desc ? lo : lo + cur[s], b = desc ? hi - cur[s] : hi;
            /* narrow [a, b) to the shard */
            if (desc) {
                size_t k = b;
                while (k > a && sel_shard(q, rows->t[k - 1]) == shard)
                    k--;
                if (k == b)
                    continue;
                h.it[h.n++] = (sel_heap_item){k, b};
            } else {
                size_t k = a;
                while (k < b && sel_shard(q, rows->t[k]) == shard)
                    k++;
                if (k == a)
                    continue;
                h.it[h.n++] = (sel_heap_item){a, k};
            }
        }
        for (size_t i = h.n / 2; i-- > 0;)
            sel_heap_down(&h, i, h.n);
        while (h.n) {
            /* Pop: swap root and last, sift down, take the last */
            sel_heap_swap(&h, 0, h.n - 1);
            sel_heap_down(&h, 0, h.n - 1);
            sel_heap_item it = h.it[h.n - 1];
            h.n--;
            size_t r = desc ? it.end - 1 : it.pos;
            order[out++] = r;
            cur[rows->series[r]]++;
            if (desc)
                it.end--;
            else
                it.pos++;
            if (it.pos < it.end) { /* Push: append, sift up */
                h.it[h.n++] = it;
                sel_heap_up(&h, h.n - 1);
            }
        }
    }
    free(start);
    free(h.it);
    free(cur);
    return out == rows->n;
}

/* Where raw rows go: straight to the writer (LIMIT/OFFSET/SLIMIT applied on the way), or into
 * a sel_out when the output is captured (subquery, INTO) and printed by sel_print. */

/* Returns false when no more rows are wanted (LIMIT reached, series excluded, OOM). */
static bool sel_sink_row(sel_sink *sk, int64_t t, const vt_value *vals)
{
    sel *q = sk->q;
    if (sk->o) {
        if (!sel_out_push(sk->o, t, vals))
            return false;
        return !(q->s->limit > 0 &&
                 sk->o->n >= (size_t)(q->s->limit + (q->s->offset > 0 ? q->s->offset : 0)));
    }
    if (sk->skip)
        return false;
    if (sk->rows == 0) { /* first row: this series counts for SLIMIT/SOFFSET */
        sk->em->series_seen++;
        if ((q->s->soffset > 0 && sk->em->series_seen <= (size_t)q->s->soffset) ||
            (q->s->slimit > 0 && sk->em->series_emitted >= (size_t)q->s->slimit)) {
            sk->skip = true;
            return false;
        }
    }
    sk->rows++;
    if (q->s->offset > 0 && sk->rows <= (size_t)q->s->offset)
        return true;
    if (!sk->started) {
        sk->em->series_emitted++;
        qr_series_begin(sk->w, sk->g->m->name, sk->g->tags, sk->g->ntags, sk->em->colnames,
                        q->ncols + 1);
        sk->started = true;
    }
    qr_row(sk->w, true, t, vals, q->ncols);
    sk->emitted++;
    if (qr_aborted(sk->w))
        return false;
    return !(q->s->limit > 0 && sk->emitted >= (size_t)q->s->limit);
}

void sel_sink_end(sel_sink *sk)
{
    if (sk->started)
        qr_series_end(sk->w);
}

/* The first time >= from of any point the group's selected fields hold (false: none). */
static vt_rc sel_group_next_time(sel *q, const sel_group *g, int64_t from, int64_t *t, bool *any)
{
    sel_first_ctx fc = {0};
    for (size_t i = 0; i < g->nseries; i++)
        for (size_t f = 0; f < q->nfields; f++) {
            if (!sel_series_has_field(g->series[i], q->fields[f], NULL))
                continue;
            vt_rc rc = sel_source_read(q, g->series[i]->id, q->fields[f], from, q->tmax,
                                       sel_first_cb, &fc);
            if (rc != VT_OK)
                return rc;
        }
    *t = fc.t;
    *any = fc.any;
    return VT_OK;
}

/*
 * Raw rows of a group, shard by shard (7-day slices, the unit InfluxDB merges in): each slice's
 * rows are read, ordered as InfluxDB orders them, and streamed out, so memory holds one slice of
 * one group whatever the range. Slices without data are skipped by probing the next point.
 */
vt_rc sel_run_raw_group(sel *q, const sel_group *g, sel_sink *sk)
{
    vt_rc rc = VT_OK;
    bool desc = sel_desc(q);
    vt_value *vals = calloc(q->ncols ? q->ncols : 1, sizeof *vals);
    vt_value *calls = calloc(q->ncalls ? q->ncalls : 1, sizeof *calls);
    xf_state **xs = calloc(q->ncalls ? q->ncalls : 1, sizeof *xs);
    int64_t *shards = NULL;
    size_t nshards = 0, scap = 0;
    if (!vals || !calls || !xs) {
        rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t c = 0; c < q->ncalls; c++) {
        vt_type in = sel_field_type(q, q->fields[q->calls[c].field]);
        rc = sel_xf_new(q, &q->calls[c], 0, desc, in, &xs[c]);
        if (rc != VT_OK)
            goto done;
    }
    /* the slices holding data, ascending */
    for (int64_t from = q->read_tmin;;) {
        int64_t t;
        bool any;
        rc = sel_group_next_time(q, g, from, &t, &any);
        if (rc != VT_OK)
            goto done;
        if (!any || t > q->tmax)
            break;
        int64_t sh = sel_shard(q, t); /* the group's start */
        if (nshards == scap) {
            scap = scap ? scap * 2 : 16;
            int64_t *ns = realloc(shards, scap * sizeof *ns);
            if (!ns) {
                rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
                goto done;
            }
            shards = ns;
        }
        shards[nshards++] = sh;
        int64_t width = q->shard_ns > 0 ? q->shard_ns : SEL_DEFAULT_SHARD_NS;
        if (sh > INT64_MAX - width || sh + width > q->tmax)
            break;
        from = sh + width;
    }
    bool more = true;
    for (size_t k = 0; k < nshards && more && rc == VT_OK; k++) {
        int64_t sh = shards[desc ? nshards - 1 - k : k];
        int64_t width = q->shard_ns > 0 ? q->shard_ns : SEL_DEFAULT_SHARD_NS;
        int64_t lo = sh, hi = sh > INT64_MAX - width ? INT64_MAX : sh + (width - 1);
        if (lo < q->read_tmin)
            lo = q->read_tmin;
        if (hi > q->tmax)
            hi = q->tmax;
        sel_rows rows = {.nf = q->nfields};
        size_t *order = NULL;
        for (size_t i = 0; i < g->nseries && rc == VT_OK; i++)
            rc = sel_series_rows_in(q, g->series[i], (uint32_t)i, lo, hi, &rows);
        if (rc == VT_OK) {
            order = malloc((rows.n ? rows.n : 1) * sizeof *order);
            if (!order || !sel_raw_order(q, g, &rows, desc, order))
                rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
        }
        for (size_t j = 0; rc == VT_OK && more && j < rows.n; j++) {
            size_t r = order[j];
            const qc_series *s = g->series[rows.series[r]];
            const vt_value *fv = &rows.v[r * rows.nf];
            int64_t t = rows.t[r];
            bool any_xf = false;
            for (size_t c = 0; c < q->ncalls; c++) {
                memset(&calls[c], 0, sizeof calls[c]);
                xf_row xr;
                if (xf_push(xs[c], t, &fv[q->calls[c].field], &xr) > 0) {
                    calls[c] = xr.v;
                    any_xf = true;
                }
            }
            if (q->ncalls && !any_xf)
                continue;
            qx_row row = {
                .tags = s->tags, .ntags = s->ntags, .time = t, .fields = fv, .calls = calls};
            /* InfluxDB drops a row when every field the SELECT list reads is null */
            bool any = q->ncalls > 0;
            for (size_t f = 0; f < q->nfields && !any; f++)
                any = q->col_field[f] && fv[f].type != VT_TYPE_NONE;
            if (!any)
                continue;
            for (size_t c = 0; c < q->ncols; c++)
                vals[c] = qx_eval(q->cols[c].x, &row);
            more = sel_sink_row(sk, t, vals);
            if (sk->o && sk->o->oom)
                rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
        }
        free(order);
        sel_rows_free(&rows);
    }
done:
    for (size_t c = 0; xs && c < q->ncalls; c++)
        xf_free(xs[c]);
    free(xs);
    free(calls);
    free(vals);
    free(shards);
    return rc;
}
