/*
 * query/select_raw.c — raw SELECT: rows of a group read shard by shard, ordered exactly as
 * InfluxDB orders them (a replay of its heap merge), streamed to the writer.
 */
#include "query/select_int.h"

/* ---- raw execution ---- */

#define SEL_RAW_BATCH_ROWS 65536 /* rows read at once per group, about (see sel_run_raw_group) */
#define SEL_RAW_BATCH_SLICES 64  /* slices read at once, at most: a year of 7-day slices fits */

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

/* The width of the query's shard slices (the retention policy's shard group duration). */
static int64_t sel_shard_width(const sel *q)
{
    return q->shard_ns > 0 ? q->shard_ns : SEL_DEFAULT_SHARD_NS;
}

/* The shard group of t: its start, aligned as InfluxDB (Go's Time.Truncate) aligns it. */
static int64_t sel_shard(const sel *q, int64_t t)
{
    return node_shard_group_start(t, sel_shard_width(q));
}

/* sel_shard(q, t) == shard, for a shard start: a range test (shard groups are contiguous
 * [start, start + width)), except at the clamped start INT64_MIN. */
static bool sel_in_shard(const sel *q, int64_t shard, int64_t t)
{
    if (shard == INT64_MIN)
        return sel_shard(q, t) == shard;
    int64_t width = sel_shard_width(q);
    return t >= shard && (uint64_t)t - (uint64_t)shard < (uint64_t)width;
}

/* Fills order[0..rows->n) with row indexes in InfluxDB's output order. */
static bool sel_raw_order(const sel *q, const sel_group *g, const sel_rows *rows, bool desc,
                          size_t *order)
{
    size_t nseries = g->nseries;
    if (nseries == 1) { /* one series: the heap pops its rows in time order */
        for (size_t i = 0; i < rows->n; i++)
            order[i] = desc ? rows->n - 1 - i : i;
        return true;
    }
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
                while (k > a && sel_in_shard(q, shard, rows->t[k - 1]))
                    k--;
                if (k == b)
                    continue;
                h.it[h.n++] = (sel_heap_item){k, b};
            } else {
                size_t k = a;
                while (k < b && sel_in_shard(q, shard, rows->t[k]))
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

/* The shard slices of a group that hold data, found by probing: each probe reads the first
 * chunk of every (series, field) from `from` on. engine_read streams a series in ascending
 * chunks, so a chunk holds every point of its series up to its last time: every slice a chunk
 * touches holds data, and below the smallest of the chunks' last times nothing was missed.
 * The next probe starts past that, or past the slice of the earliest point, whichever is
 * further (that slice is known to hold data whatever the rest of it holds). */
typedef struct sel_probe {
    const sel *q;
    int64_t *shards; /* slices seen, unordered, with repeats */
    size_t n, cap;
    bool any, oom;
    int64_t first, last; /* of the chunk */
} sel_probe;

static bool sel_probe_add(sel_probe *p, int64_t shard)
{
    if (p->n && p->shards[p->n - 1] == shard)
        return true;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 32;
        int64_t *ns = realloc(p->shards, cap * sizeof *ns);
        if (!ns) {
            p->oom = true;
            return false;
        }
        p->shards = ns;
        p->cap = cap;
    }
    p->shards[p->n++] = shard;
    return true;
}

static bool sel_probe_cb(void *ctx, const engine_points *pts)
{
    sel_probe *p = ctx;
    if (!pts->n)
        return true; /* an empty chunk says nothing: wait for one with points */
    p->any = true;
    p->first = pts->time[0];
    p->last = pts->time[pts->n - 1];
    int64_t cur = sel_shard(p->q, pts->time[0]);
    if (!sel_probe_add(p, cur))
        return false;
    for (size_t i = 1; i < pts->n; i++)
        if (!sel_in_shard(p->q, cur, pts->time[i])) {
            cur = sel_shard(p->q, pts->time[i]);
            if (!sel_probe_add(p, cur))
                return false;
        }
    return false;
}

static int sel_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The group's slices holding data in [q->read_tmin, q->tmax], ascending, without repeats:
 * *shards (malloc'd, the caller frees) and *n. */
static vt_rc sel_group_slices(sel *q, const sel_group *g, int64_t **shards, size_t *n)
{
    sel_probe p = {.q = q};
    vt_rc rc = VT_OK;
    int64_t width = sel_shard_width(q);
    for (int64_t from = q->read_tmin; from <= q->tmax;) {
        bool any = false;
        int64_t covered = INT64_MAX, earliest = INT64_MAX;
        for (size_t i = 0; i < g->nseries && rc == VT_OK; i++)
            for (size_t f = 0; f < q->nfields && rc == VT_OK; f++) {
                if (!sel_series_has_field(g->series[i], q->fields[f], NULL))
                    continue;
                p.any = false;
                rc = sel_source_read(q, g->series[i]->id, q->fields[f], from, q->tmax,
                                     sel_probe_cb, &p);
                if (rc == VT_OK && p.oom)
                    rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
                if (rc != VT_OK || !p.any)
                    continue; /* no points at or after from: this one is done */
                any = true;
                if (p.last < covered)
                    covered = p.last;
                if (p.first < earliest)
                    earliest = p.first;
            }
        if (rc != VT_OK || !any)
            break;
        int64_t sh = sel_shard(q, earliest);
        int64_t next = sh > INT64_MAX - width ? INT64_MAX : sh + width;
        if (covered != INT64_MAX && covered + 1 > next)
            next = covered + 1;
        if (next == INT64_MAX || next <= from)
            break;
        from = next;
    }
    if (rc != VT_OK) {
        free(p.shards);
        return rc;
    }
    if (p.n > 1)
        qsort(p.shards, p.n, sizeof *p.shards, sel_cmp_i64);
    size_t u = 0;
    for (size_t i = 0; i < p.n; i++)
        if (u == 0 || p.shards[u - 1] != p.shards[i])
            p.shards[u++] = p.shards[i];
    *shards = p.shards;
    *n = u;
    return VT_OK;
}

/*
 * Raw rows of a group, shard by shard (7-day slices, the unit InfluxDB merges in): the slices
 * holding data are found first (sel_group_slices), then read a batch of consecutive slices at a
 * time, ordered as InfluxDB orders them (slice by slice) and streamed out, so memory holds a
 * bounded batch of one group whatever the range.
 */
vt_rc sel_run_raw_group(sel *q, const sel_group *g, sel_sink *sk)
{
    vt_rc rc = VT_OK;
    bool desc = sel_desc(q);
    vt_value *vals = calloc(q->ncols ? q->ncols : 1, sizeof *vals);
    vt_value *calls = calloc(q->ncalls ? q->ncalls : 1, sizeof *calls);
    xf_state **xs = calloc(q->ncalls ? q->ncalls : 1, sizeof *xs);
    int64_t *shards = NULL;
    size_t nshards = 0;
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
    rc = sel_group_slices(q, g, &shards, &nshards);
    if (rc != VT_OK)
        goto done;
    /* Slices are read a batch at a time: one read per series for several consecutive slices
     * (sel_raw_order merges them slice by slice), so a block is decoded once per batch, not
     * once per slice it overlaps. The batch grows while it yields few rows and shrinks when it
     * yields many, which keeps memory near SEL_RAW_BATCH_ROWS rows of one group (a batch grown
     * over sparse slices can meet denser ones: SEL_RAW_BATCH_SLICES bounds that). */
    bool more = true;
    size_t batch = 1;
    int64_t width = sel_shard_width(q);
    for (size_t k = 0; k < nshards && more && rc == VT_OK;) {
        size_t nb = batch < nshards - k ? batch : nshards - k;
        /* desc walks the slices from the last one */
        int64_t first = shards[desc ? nshards - k - nb : k];
        int64_t last = shards[desc ? nshards - 1 - k : k + nb - 1];
        k += nb;
        int64_t lo = first, hi = last > INT64_MAX - width ? INT64_MAX : last + (width - 1);
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
        if (rows.n < SEL_RAW_BATCH_ROWS / 4 && batch < SEL_RAW_BATCH_SLICES)
            batch *= 2;
        else if (rows.n > SEL_RAW_BATCH_ROWS && batch > 1)
            batch /= 2;
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
