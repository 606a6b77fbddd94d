/*
 * query/select_read.c — windows (InfluxDB's Window()), reading points (engine or a subquery's
 * output) into rows, grouping series by GROUP BY tags, and printing an output series.
 */
#include "query/select_int.h"

/* ---- windows (InfluxDB's IteratorOptions.Window) ---- */

int64_t sel_zone(const sel *q, int64_t t)
{
    return q->tz ? (int64_t)vt_tz_offset(q->tz, t) * 1000000000 : 0;
}

void sel_window(const sel *q, int64_t t, int64_t *start, int64_t *end)
{
    if (!q->group_time) {
        *start = q->tmin;
        *end = q->tmax;
        return;
    }
    int64_t d = q->interval;
    t -= q->ioffset;
    int64_t zone = sel_zone(q, t);
    int64_t dt = (t + zone) % d;
    if (dt < 0)
        dt += d;
    int64_t s = (SEL_MIN_TIME + dt >= t) ? SEL_MIN_TIME : t - dt;
    if (q->tz) {
        int64_t o = zone - sel_zone(q, s);
        if (o != 0 && llabs(o) < d)
            s += o;
    }
    s += q->ioffset;
    int64_t rem = d - dt;
    int64_t e = (SEL_MAX_TIME - rem <= t) ? SEL_MAX_TIME : t + rem;
    e += q->ioffset;
    if (q->tz) {
        int64_t o = zone - sel_zone(q, e);
        if (o != 0 && llabs(o) < d)
            e += o;
    }
    *start = s;
    *end = e;
}

int64_t sel_window_next(const sel *q, int64_t t, int64_t end)
{
    /* For t' in [t, end) whose zone offset is the one at t, sel_window(t') computes the same dt
     * shifted by t' - t, hence the same window: the first t' that can differ is the window's
     * end or the next zone change, whichever comes first (an end moved by the zone, o != 0
     * above, only happens when a change lies inside the window, before that end). Next to a
     * zone change the moved end can fall at or before t itself (a day starting in a skipped
     * hour): then step as a scan would, by the interval up to 15 minutes. */
    int64_t step = q->interval < INT64_C(900000000000) ? q->interval : INT64_C(900000000000);
    int64_t next = end > t ? end : (t <= SEL_MAX_TIME - step ? t + step : INT64_MAX);
    if (q->tz && !vt_tz_is_utc(q->tz)) {
        int64_t u = t - q->ioffset;
        int64_t sec = u / 1000000000 - (u % 1000000000 < 0);
        int64_t change;
        vt_tz_lookup(q->tz, sec, NULL, NULL, &change, NULL);
        int64_t ns;
        if (change != INT64_MAX && !__builtin_mul_overflow(change, INT64_C(1000000000), &ns) &&
            !__builtin_add_overflow(ns, q->ioffset, &ns) && ns > t && ns < next)
            next = ns;
    }
    return next;
}

/* ---- reading ---- */

/* Reads (series, field) over [tmin, tmax] from the engine, or from the subquery's output. */
vt_rc sel_source_read(sel *q, uint64_t sid, const char *field, int64_t tmin, int64_t tmax,
                      bool (*cb)(void *ctx, const engine_points *pts), void *ctx)
{
    if (!q->virt) {
        vt_rc rc =
            engine_read(node_engine(q->env->node), q->store, sid, field, tmin, tmax, cb, ctx, q->err);
        if (rc == VT_ENOTFOUND) { /* deleted since the catalog was loaded: no points */
            vt_err_clear(q->err);
            return VT_OK;
        }
        return rc;
    }
    const sel_virt *v = q->virt;
    const sel_vseries *vs = &v->s[sid];
    size_t col = 0;
    while (col < v->ncols && strcmp(v->cols[col], field) != 0)
        col++;
    if (col == v->ncols)
        return VT_OK;
    /* the column's type: the first non-null value's; others converted or skipped */
    vt_type type = VT_TYPE_NONE;
    for (size_t i = 0; i < vs->n && type == VT_TYPE_NONE; i++)
        type = vs->v[i * v->ncols + col].type;
    if (type == VT_TYPE_NONE)
        return VT_OK;
    size_t cap = vs->n ? vs->n : 1;
    int64_t *t = malloc(cap * sizeof *t);
    void *vals = malloc(cap * sizeof(vt_value));
    if (!t || !vals) {
        free(t);
        free(vals);
        return vt_err_set(q->err, VT_ENOMEM, "out of memory");
    }
    size_t n = 0;
    for (size_t i = 0; i < vs->n; i++) {
        const vt_value *x = &vs->v[i * v->ncols + col];
        if (vs->t[i] < tmin || vs->t[i] > tmax || x->type == VT_TYPE_NONE)
            continue;
        if (n && vs->t[i] == t[n - 1])
            continue; /* several rows at one time (top, distinct): the first wins */
        t[n] = vs->t[i];
        switch (type) {
        case VT_TYPE_FLOAT:
            ((double *)vals)[n] = x->type == VT_TYPE_FLOAT  ? x->v.f
                                  : x->type == VT_TYPE_INT  ? (double)x->v.i
                                  : x->type == VT_TYPE_UINT ? (double)x->v.u
                                                            : 0;
            break;
        case VT_TYPE_INT:
            ((int64_t *)vals)[n] = x->type == VT_TYPE_INT ? x->v.i : (int64_t)x->v.f;
            break;
        case VT_TYPE_UINT: ((uint64_t *)vals)[n] = x->v.u; break;
        case VT_TYPE_BOOL: ((bool *)vals)[n] = x->v.b; break;
        case VT_TYPE_STRING: ((vt_str *)vals)[n] = x->v.s; break;
        default: break;
        }
        if (x->type == type ||
            (type == VT_TYPE_FLOAT && x->type != VT_TYPE_STRING && x->type != VT_TYPE_BOOL))
            n++;
    }
    engine_points p = {.n = n, .time = t, .type = type};
    switch (type) {
    case VT_TYPE_FLOAT: p.f = vals; break;
    case VT_TYPE_INT: p.i = vals; break;
    case VT_TYPE_UINT: p.u = vals; break;
    case VT_TYPE_BOOL: p.b = vals; break;
    default: p.s = vals;
    }
    if (n)
        cb(ctx, &p);
    free(t);
    free(vals);
    return VT_OK;
}

/* A column of one field of one series over [tmin, tmax]. */
typedef struct sel_colbuf {
    int64_t *t;
    vt_value *v;
    size_t n, cap;
    bool oom;
} sel_colbuf;

static bool sel_colbuf_cb(void *ctx, const engine_points *p)
{
    sel_colbuf *c = ctx;
    if (c->n + p->n > c->cap) {
        size_t cap = c->cap ? c->cap : 256;
        while (cap < c->n + p->n)
            cap *= 2;
        int64_t *t = realloc(c->t, cap * sizeof *t);
        if (t)
            c->t = t;
        vt_value *v = realloc(c->v, cap * sizeof *v);
        if (v)
            c->v = v;
        if (!t || !v) {
            c->oom = true;
            return false;
        }
        c->cap = cap;
    }
    for (size_t i = 0; i < p->n; i++) {
        vt_value *x = &c->v[c->n + i];
        x->type = p->type;
        switch (p->type) {
        case VT_TYPE_FLOAT: x->v.f = p->f[i]; break;
        case VT_TYPE_INT: x->v.i = p->i[i]; break;
        case VT_TYPE_UINT: x->v.u = p->u[i]; break;
        case VT_TYPE_BOOL: x->v.b = p->b[i]; break;
        case VT_TYPE_STRING: x->v.s = p->s[i]; break;
        default: x->type = VT_TYPE_NONE;
        }
        c->t[c->n + i] = p->time[i];
    }
    c->n += p->n;
    return true;
}

static void sel_colbuf_free(sel_colbuf *c)
{
    free(c->t);
    free(c->v);
    memset(c, 0, sizeof *c);
}

bool sel_series_has_field(const qc_series *s, const char *f, vt_type *type)
{
    for (size_t i = 0; i < s->nfields; i++)
        if (strcmp(s->fields[i].name, f) == 0) {
            if (type)
                *type = s->fields[i].type;
            return true;
        }
    return false;
}

/* Rows of a group: time, series, field values (nfields per row). Strings point into arena
 * copies so the rows outlive engine_read's callback. */

static bool sel_rows_push(sel_rows *r, int64_t t, uint32_t s, const vt_value *vals)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 1024;
        int64_t *nt = realloc(r->t, cap * sizeof *nt);
        if (nt)
            r->t = nt;
        uint32_t *ns = realloc(r->series, cap * sizeof *ns);
        if (ns)
            r->series = ns;
        vt_value *nv = realloc(r->v, cap * (r->nf ? r->nf : 1) * sizeof *nv);
        if (nv)
            r->v = nv;
        if (!nt || !ns || !nv) {
            r->oom = true;
            return false;
        }
        r->cap = cap;
    }
    r->t[r->n] = t;
    r->series[r->n] = s;
    if (r->nf)
        memcpy(&r->v[r->n * r->nf], vals, r->nf * sizeof *vals);
    r->n++;
    return true;
}

void sel_rows_free(sel_rows *r)
{
    free(r->t);
    free(r->series);
    free(r->v);
    memset(r, 0, sizeof *r);
}

typedef struct sel_str_ctx {
    sel *q;
    sel_colbuf *c;
} sel_str_ctx;

static bool sel_colbuf_str_cb(void *ctx, const engine_points *p)
{
    sel_str_ctx *sc = ctx;
    size_t before = sc->c->n;
    if (!sel_colbuf_cb(sc->c, p))
        return false;
    if (p->type == VT_TYPE_STRING) {
        for (size_t i = before; i < sc->c->n; i++) {
            char *s = arena_strndup(sc->q->a, sc->c->v[i].v.s.ptr ? sc->c->v[i].v.s.ptr : "",
                                    sc->c->v[i].v.s.len);
            if (!s) {
                sc->c->oom = true;
                return false;
            }
            sc->c->v[i].v.s.ptr = s;
        }
    }
    return true;
}

static vt_rc sel_read_column(sel *q, const qc_series *s, const char *field, int64_t lo, int64_t hi,
                             sel_colbuf *c)
{
    sel_str_ctx sc = {q, c};
    vt_rc rc = sel_source_read(q, s->id, field, lo, hi, sel_colbuf_str_cb, &sc);
    if (rc != VT_OK)
        return rc;
    if (c->oom)
        return vt_err_set(q->err, VT_ENOMEM, "out of memory reading %s", field);
    q->points_read += c->n;
    if (q->env->max_points && q->points_read > q->env->max_points)
        return vt_err_set(q->err, VT_ELIMIT,
                          "max-select-point limit exceeded: (%" PRIu64 "/%" PRIu64 ")",
                          q->points_read, q->env->max_points);
    return VT_OK;
}

/* Appends the rows of series s (index si in the group) to out: every field slot read, merged
 * by time, filtered by the condition. */
/* sel_series_rows over a subquery's output: its rows as they are (equal times included). */
static vt_rc sel_virt_rows(sel *q, const qc_series *s, uint32_t si, int64_t lo, int64_t hi,
                           sel_rows *out)
{
    const sel_virt *v = q->virt;
    const sel_vseries *vs = &v->s[s->id];
    size_t nf = q->nfields;
    int *map = calloc(nf ? nf : 1, sizeof *map);
    vt_value *vals = calloc(nf ? nf : 1, sizeof *vals);
    vt_rc rc = VT_OK;
    if (!map || !vals) {
        rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t f = 0; f < nf; f++) {
        map[f] = -1;
        for (size_t c = 0; c < v->ncols; c++)
            if (strcmp(v->cols[c], q->fields[f]) == 0)
                map[f] = (int)c;
    }
    for (size_t r = 0; r < vs->n; r++) {
        int64_t t = vs->t[r];
        if (t < lo || t > hi)
            continue;
        bool any = false;
        for (size_t f = 0; f < nf; f++) {
            if (map[f] >= 0)
                vals[f] = vs->v[r * v->ncols + (size_t)map[f]];
            else
                memset(&vals[f], 0, sizeof vals[f]);
            any |= vals[f].type != VT_TYPE_NONE;
        }
        if (!any)
            continue;
        if (q->cond) {
            qx_row row = {.tags = s->tags, .ntags = s->ntags, .time = t, .fields = vals};
            if (qx_eval_cond(q->cond, &row) != QX_TRUE)
                continue;
        }
        if (!sel_rows_push(out, t, si, vals)) {
            rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
            goto done;
        }
    }
done:
    free(map);
    free(vals);
    return rc;
}

vt_rc sel_series_rows_in(sel *q, const qc_series *s, uint32_t si, int64_t lo, int64_t hi,
                         sel_rows *out)
{
    if (q->virt)
        return sel_virt_rows(q, s, si, lo, hi, out);
    size_t nf = q->nfields;
    sel_colbuf *cols = calloc(nf ? nf : 1, sizeof *cols);
    size_t *pos = calloc(nf ? nf : 1, sizeof *pos);
    vt_value *vals = calloc(nf ? nf : 1, sizeof *vals);
    vt_rc rc = VT_OK;
    if (!cols || !pos || !vals) {
        rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t f = 0; f < nf; f++) {
        if (!sel_series_has_field(s, q->fields[f], NULL))
            continue;
        rc = sel_read_column(q, s, q->fields[f], lo, hi, &cols[f]);
        if (rc != VT_OK)
            goto done;
    }
    for (;;) {
        int64_t t = INT64_MAX;
        bool any = false;
        for (size_t f = 0; f < nf; f++)
            if (pos[f] < cols[f].n && (!any || cols[f].t[pos[f]] < t)) {
                t = cols[f].t[pos[f]];
                any = true;
            }
        if (!any)
            break;
        for (size_t f = 0; f < nf; f++) {
            if (pos[f] < cols[f].n && cols[f].t[pos[f]] == t) {
                vals[f] = cols[f].v[pos[f]];
                pos[f]++;
            } else {
                memset(&vals[f], 0, sizeof vals[f]);
            }
        }
        if (q->cond) {
            qx_row row = {.tags = s->tags, .ntags = s->ntags, .time = t, .fields = vals};
            if (qx_eval_cond(q->cond, &row) != QX_TRUE)
                continue;
        }
        if (!sel_rows_push(out, t, si, vals)) {
            rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
            goto done;
        }
    }
done:
    for (size_t f = 0; cols && f < nf; f++)
        sel_colbuf_free(&cols[f]);
    free(cols);
    free(pos);
    free(vals);
    return rc;
}

vt_rc sel_series_rows(sel *q, const qc_series *s, uint32_t si, sel_rows *out)
{
    return sel_series_rows_in(q, s, si, q->read_tmin, q->tmax, out);
}

/* ---- groups ---- */

static int sel_vtstr_cmp(vt_str a, vt_str b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
    if (c)
        return c;
    return a.len < b.len ? -1 : a.len > b.len ? 1 : 0;
}

typedef struct sel_gsort {
    const qc_series *s;
    vt_str *key;
} sel_gsort;

static _Thread_local size_t sel_sort_nkeys;

static int sel_gsort_cmp(const void *x, const void *y)
{
    const sel_gsort *a = x, *b = y;
    for (size_t i = 0; i < sel_sort_nkeys; i++) {
        int c = sel_vtstr_cmp(a->key[i], b->key[i]);
        if (c)
            return c;
    }
    return a->s < b->s ? -1 : a->s > b->s; /* series order (array order) */
}

/* The GROUP BY tag keys of measurement m, sorted and distinct. */
static vt_rc sel_group_keys(sel *q, const qc_measurement *m, const char ***out, size_t *n)
{
    size_t cap = q->ngkeys + m->ntag_keys;
    const char **k = arena_calloc(q->a, cap ? cap : 1, sizeof *k);
    if (!k)
        return vt_err_set(q->err, VT_ENOMEM, "out of memory");
    size_t nk = 0;
    for (size_t i = 0; i < q->ngkeys; i++)
        k[nk++] = q->gkeys[i];
    for (size_t i = 0; i < m->ntag_keys; i++) {
        bool take = q->gstar;
        for (size_t r = 0; r < q->ngres && !take; r++)
            take = qx_regex_match(q->gres[r], m->tag_keys[i], strlen(m->tag_keys[i]));
        if (take)
            k[nk++] = m->tag_keys[i];
    }
    for (size_t i = 1; i < nk; i++) {
        const char *x = k[i];
        size_t j = i;
        while (j > 0 && strcmp(k[j - 1], x) > 0) {
            k[j] = k[j - 1];
            j--;
        }
        k[j] = x;
    }
    size_t u = 0;
    for (size_t i = 0; i < nk; i++)
        if (u == 0 || strcmp(k[u - 1], k[i]) != 0)
            k[u++] = k[i];
    *out = k;
    *n = u;
    return VT_OK;
}

/* Splits the series of m that may match the condition into groups. */
vt_rc sel_groups(sel *q, const qc_measurement *m, sel_group **out, size_t *nout)
{
    const char **keys = NULL;
    size_t nk = 0;
    vt_rc rc = sel_group_keys(q, m, &keys, &nk);
    if (rc != VT_OK)
        return rc;
    sel_gsort *v = arena_calloc(q->a, m->nseries ? m->nseries : 1, sizeof *v);
    if (!v)
        return vt_err_set(q->err, VT_ENOMEM, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < m->nseries; i++) {
        const qc_series *s = &m->series[i];
        if (q->cond) {
            qx_row row = {.tags = s->tags, .ntags = s->ntags, .series_level = true};
            if (qx_eval_cond(q->cond, &row) == QX_FALSE)
                continue;
        }
        v[n].s = s;
        v[n].key = arena_calloc(q->a, nk ? nk : 1, sizeof *v[n].key);
        if (!v[n].key)
            return vt_err_set(q->err, VT_ENOMEM, "out of memory");
        for (size_t k = 0; k < nk; k++)
            v[n].key[k] = qx_tag_value(s->tags, s->ntags, keys[k]);
        n++;
    }
    if (q->env->max_series && n > q->env->max_series)
        return vt_err_set(q->err, VT_ELIMIT, "max-select-series limit exceeded: (%zu/%" PRIu64 ")",
                          n, q->env->max_series);
    sel_sort_nkeys = nk;
    qsort(v, n, sizeof *v, sel_gsort_cmp);
    size_t ng = 0;
    for (size_t i = 0; i < n; i++) {
        bool same = i > 0;
        for (size_t k = 0; same && k < nk; k++)
            same = sel_vtstr_cmp(v[i].key[k], v[i - 1].key[k]) == 0;
        if (!same)
            ng++;
    }
    sel_group *g = arena_calloc(q->a, ng ? ng : 1, sizeof *g);
    const qc_series **sv = arena_calloc(q->a, n ? n : 1, sizeof *sv);
    if (!g || !sv)
        return vt_err_set(q->err, VT_ENOMEM, "out of memory");
    size_t gi = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        for (; j < n; j++) {
            bool same = true;
            for (size_t k = 0; same && k < nk; k++)
                same = sel_vtstr_cmp(v[j].key[k], v[i].key[k]) == 0;
            if (!same)
                break;
        }
        g[gi].m = m;
        g[gi].series = &sv[i];
        g[gi].nseries = j - i;
        for (size_t x = i; x < j; x++)
            sv[x] = v[x].s;
        g[gi].ntags = nk;
        g[gi].tags = arena_calloc(q->a, nk ? nk : 1, sizeof *g[gi].tags);
        if (!g[gi].tags)
            return vt_err_set(q->err, VT_ENOMEM, "out of memory");
        for (size_t k = 0; k < nk; k++)
            g[gi].tags[k] = (vt_tag){{keys[k], strlen(keys[k])}, v[i].key[k]};
        gi++;
        i = j;
    }
    *out = g;
    *nout = ng;
    return VT_OK;
}

/* ---- output ---- */

bool sel_out_push(sel_out *o, int64_t t, const vt_value *vals)
{
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 256;
        int64_t *nt = realloc(o->t, cap * sizeof *nt);
        if (nt)
            o->t = nt;
        vt_value *nv = realloc(o->v, cap * (o->ncols ? o->ncols : 1) * sizeof *nv);
        if (nv)
            o->v = nv;
        if (!nt || !nv) {
            o->oom = true;
            return false;
        }
        o->cap = cap;
    }
    o->t[o->n] = t;
    memcpy(&o->v[o->n * o->ncols], vals, o->ncols * sizeof *vals);
    o->n++;
    return true;
}

void sel_out_free(sel_out *o)
{
    free(o->t);
    free(o->v);
    memset(o, 0, sizeof *o);
}

bool sel_desc(const sel *q)
{
    return q->s->nsort > 0 && !q->s->sort[0].asc;
}

/* Applies LIMIT/OFFSET and prints one series; honours SLIMIT/SOFFSET. */
void sel_print(sel *q, sel_emit *em, const sel_group *g, sel_out *o, qr_writer *w)
{
    if (o->n == 0)
        return;
    em->series_seen++;
    if (q->s->soffset > 0 && em->series_seen <= (size_t)q->s->soffset)
        return;
    if (q->s->slimit > 0 && em->series_emitted >= (size_t)q->s->slimit)
        return;
    size_t from = q->s->offset > 0 ? (size_t)q->s->offset : 0;
    if (from >= o->n)
        return;
    size_t to = o->n;
    if (q->s->limit > 0 && from + (size_t)q->s->limit < to)
        to = from + (size_t)q->s->limit;
    em->series_emitted++;
    if (q->capture) {
        sel_virt *v = q->capture;
        if (v->n == v->cap) {
            size_t cap = v->cap ? v->cap * 2 : 16;
            sel_vseries *ns = arena_calloc(q->a, cap, sizeof *ns);
            if (!ns) {
                o->oom = true;
                return;
            }
            if (v->n)
                memcpy(ns, v->s, v->n * sizeof *ns);
            v->s = ns;
            v->cap = cap;
        }
        sel_vseries *vs = &v->s[v->n];
        size_t n = to - from;
        vs->name = g->m->name;
        vs->tags = g->tags;
        vs->ntags = g->ntags;
        vs->t = arena_calloc(q->a, n, sizeof *vs->t);
        vs->v = arena_calloc(q->a, (n * o->ncols) > 0 ? n * o->ncols : 1, sizeof *vs->v);
        if (!vs->t || !vs->v) {
            o->oom = true;
            return;
        }
        /* ascending time (ORDER BY DESC output is reversed back) */
        bool desc = sel_desc(q);
        for (size_t i = 0; i < n; i++) {
            size_t src = desc ? to - 1 - i : from + i;
            vs->t[i] = o->t[src];
            memcpy(&vs->v[i * o->ncols], &o->v[src * o->ncols], o->ncols * sizeof *vs->v);
        }
        vs->n = n;
        v->n++;
        return;
    }
    qr_series_begin(w, g->m->name, g->tags, g->ntags, em->colnames, q->ncols + 1);
    for (size_t i = from; i < to; i++)
        qr_row(w, true, o->t[i], &o->v[i * o->ncols], o->ncols);
    qr_series_end(w);
}

/* The type of a field (the first measurement that has it); VT_TYPE_NONE when unknown. */
vt_type sel_field_type(const sel *q, const char *name)
{
    for (size_t i = 0; i < q->nms; i++)
        for (size_t j = 0; j < q->ms[i].nfields; j++)
            if (strcmp(q->ms[i].fields[j].name, name) == 0)
                return q->ms[i].fields[j].type;
    return VT_TYPE_NONE;
}

vt_rc sel_xf_new(sel *q, const sel_call *c, int64_t interval, bool desc, vt_type in, xf_state **out)
{
    char buf[256];
    if (in == VT_TYPE_NONE)
        in = VT_TYPE_FLOAT;
    const char *msg = xf_type_error(c->xk, in, buf, sizeof buf);
    if (msg)
        return vt_err_set(q->err, VT_EINVAL, "%s", msg);
    if (c->xk == XF_MOVING_AVERAGE && (!c->xarg_set || c->xarg < 1))
        return vt_err_set(q->err, VT_EINVAL,
                          "moving_average window must be greater than 1, got %" PRId64,
                          c->xarg_set ? c->xarg : 0);
    *out = xf_new(c->xk, c->xarg_set ? c->xarg : 0, interval, !desc, in);
    if (!*out)
        return vt_err_set(q->err, VT_EINVAL, "invalid arguments for %s()", c->fname);
    return VT_OK;
}
