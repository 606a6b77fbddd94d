/*
 * query/exec_select.c — compiles and runs an InfluxQL SELECT over the native engine: the entry
 * point, subqueries and SELECT ... INTO. The parts live in select_compile.c (compile),
 * select_read.c (windows, reading, groups, output), select_raw.c (raw rows) and select_agg.c
 * (aggregates, fill, transforms); select_int.h is what they share.
 *
 * Compile (sel_compile):
 *   1. the database and the measurements of FROM (names, regexes), loaded with their series,
 *      tag keys and fields (qc_load_sources);
 *   2. GROUP BY: time(interval[, offset]) and the tag dimensions (names, regexes, *);
 *   3. WHERE: the time bounds of the top-level AND chain become [tmin, tmax]; the rest compiles
 *      to a qx tree over tags, field slots and time, evaluated per series (three-valued: a
 *      series is skipped only when the condition is false whatever its points) and per row;
 *   4. the SELECT list: wildcards expanded (fields and tags, sorted), each function call
 *      registered as a "call slot" (aggregates and selectors via query/aggregate.h, transforms
 *      via query/transform.h, count(distinct(x)) as a distinct slot counted at the end), each
 *      column compiled to a qx tree over field slots, tags and call slots, and named as
 *      InfluxDB names it (alias; function name; varrefs and calls joined with '_'; duplicates
 *      suffixed _1, _2 ...).
 *
 * Run, per measurement (sorted), per group of series with equal GROUP BY tag values (sorted):
 *   raw:       the needed fields of each series are read over [tmin, tmax] (engine_read:
 *              memtable + segments merged, last write wins, block checksums verified), merged
 *              into rows per series, filtered, merged across the group by time (ties in series
 *              order), then columns are evaluated; a row whose field columns are all null is
 *              dropped (InfluxDB's rule).
 *   aggregate: windows come from GROUP BY time (InfluxDB's Window(): offset, tz() zone offset
 *              at the window start) or are one window [tmin, tmax]. Each call slot keeps one
 *              accumulator per window; points stream from engine_read straight into the
 *              accumulators of their window (or, when the condition reads fields, from the
 *              filtered rows). Then per window: fill() for empty slots, transforms over the
 *              window sequence, columns.
 * Output: one series per (measurement, group): name, group tags, columns time + the SELECT
 * list; ORDER BY time DESC reverses rows; LIMIT/OFFSET per series, SLIMIT/SOFFSET over series.
 *
 * Memory: a raw group is materialised (rows of the group) before output; aggregates keep one
 * accumulator per (call, window) with data. Limits in iql_env bound both.
 */
#include "query/select_int.h"

/* ---- subqueries ---- */

static vt_rc sel_execute(sel *q, qr_writer *w);

/* Builds the outer query's catalog from the inner query's output. */
static vt_rc sel_virt_catalog(sel *q, sel_virt *v)
{
    size_t nm = 0;
    for (size_t i = 0; i < v->n; i++)
        if (i == 0 || strcmp(v->s[i - 1].name, v->s[i].name) != 0)
            nm++;
    qc_measurement *ms = arena_calloc(q->a, nm ? nm : 1, sizeof *ms);
    qc_series *all = arena_calloc(q->a, v->n ? v->n : 1, sizeof *all);
    if (!ms || !all)
        return vt_err_set(q->err, VT_ENOMEM, "out of memory");
    size_t mi = 0;
    for (size_t i = 0; i < v->n;) {
        size_t j = i;
        while (j < v->n && strcmp(v->s[j].name, v->s[i].name) == 0)
            j++;
        qc_measurement *m = &ms[mi++];
        m->name = v->s[i].name;
        m->series = &all[i];
        m->nseries = j - i;
        size_t nk = 0;
        for (size_t k = i; k < j; k++)
            nk += v->s[k].ntags;
        const char **keys = arena_calloc(q->a, nk ? nk : 1, sizeof *keys);
        qc_field *mf = arena_calloc(q->a, v->ncols ? v->ncols : 1, sizeof *mf);
        if (!keys || !mf)
            return vt_err_set(q->err, VT_ENOMEM, "out of memory");
        size_t nkeys = 0, nmf = 0;
        for (size_t k = i; k < j; k++) {
            const sel_vseries *vs = &v->s[k];
            qc_series *qs = &all[k];
            qs->id = k;
            qs->measurement = vs->name;
            qs->tags = vs->tags;
            qs->ntags = vs->ntags;
            qs->fields = arena_calloc(q->a, v->ncols ? v->ncols : 1, sizeof *qs->fields);
            if (!qs->fields)
                return vt_err_set(q->err, VT_ENOMEM, "out of memory");
            for (size_t c = 0; c < v->ncols; c++) {
                vt_type t = VT_TYPE_NONE;
                for (size_t r = 0; r < vs->n && t == VT_TYPE_NONE; r++)
                    t = vs->v[r * v->ncols + c].type;
                if (t == VT_TYPE_NONE)
                    continue;
                qs->fields[qs->nfields++] = (qc_field){v->cols[c], t};
                bool seen = false;
                for (size_t x = 0; x < nmf && !seen; x++)
                    seen = strcmp(mf[x].name, v->cols[c]) == 0;
                if (!seen)
                    mf[nmf++] = (qc_field){v->cols[c], t};
            }
            for (size_t t = 0; t < vs->ntags; t++) {
                bool seen = false;
                for (size_t x = 0; x < nkeys && !seen; x++)
                    seen = strcmp(keys[x], vs->tags[t].key.ptr) == 0;
                if (!seen)
                    keys[nkeys++] = vs->tags[t].key.ptr;
            }
        }
        /* sorted, as qc_load gives them */
        for (size_t a1 = 1; a1 < nkeys; a1++)
            for (size_t b1 = a1; b1 > 0 && strcmp(keys[b1 - 1], keys[b1]) > 0; b1--) {
                const char *tmp = keys[b1];
                keys[b1] = keys[b1 - 1];
                keys[b1 - 1] = tmp;
            }
        for (size_t a1 = 1; a1 < nmf; a1++)
            for (size_t b1 = a1; b1 > 0 && strcmp(mf[b1 - 1].name, mf[b1].name) > 0; b1--) {
                qc_field tmp = mf[b1];
                mf[b1] = mf[b1 - 1];
                mf[b1 - 1] = tmp;
            }
        m->tag_keys = keys;
        m->ntag_keys = nkeys;
        m->fields = mf;
        m->nfields = nmf;
        i = j;
    }
    q->ms = ms;
    q->nms = nm;
    return VT_OK;
}

/* Runs the inner query of FROM (subquery) into memory and makes it q's catalog. The outer
 * time range applies to the inner query when the inner has none of its own (InfluxDB). */
vt_rc sel_run_subquery(sel *q, const influxql_select *sub)
{
    vt_rc rc = VT_OK;
    /* the outer time bounds, without touching q's own compile state */
    sel probe;
    memset(&probe, 0, sizeof probe);
    probe.env = q->env;
    probe.a = q->a;
    probe.err = q->err;
    probe.tz = q->tz;
    if (q->s->where) {
        (void)sel_split_time(&probe, q->s->where, &rc);
        if (rc != VT_OK)
            return rc;
    }
    sel *in = arena_calloc(q->a, 1, sizeof *in);
    sel_virt *v = arena_calloc(q->a, 1, sizeof *v);
    if (!in || !v)
        return vt_err_set(q->err, VT_ENOMEM, "out of memory");
    in->env = q->env;
    in->a = q->a;
    in->err = q->err;
    in->s = sub;
    in->capture = v;
    qx_ctx_init(&in->xc, q->a);
    in->tmin = probe.tmin;
    in->tmax = probe.tmax;
    in->has_tmin = probe.has_tmin;
    in->has_tmax = probe.has_tmax;
    rc = sel_compile(in);
    if (rc == VT_OK && in->ncols && in->nms) {
        v->cols = arena_calloc(q->a, in->ncols, sizeof *v->cols);
        if (!v->cols)
            rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
        for (size_t i = 0; rc == VT_OK && i < in->ncols; i++)
            v->cols[i] = in->cols[i].name;
        v->ncols = in->ncols;
        if (rc == VT_OK)
            rc = sel_execute(in, NULL);
    }
    /* the inner query's regexes stay alive with the arena; free them with q's */
    if (in->xc.regexes) {
        qx_regex *r = in->xc.regexes;
        in->xc.regexes = NULL;
        qx_ctx_adopt(&q->xc, r);
    }
    if (rc != VT_OK)
        return rc;
    q->db = in->db;
    q->store = in->store;
    q->shard_ns = in->shard_ns;
    q->virt = v;
    return sel_virt_catalog(q, v);
}

/* ---- entry ---- */

static vt_rc sel_execute(sel *q, qr_writer *w)
{
    vt_rc rc = VT_OK;
    const char **colnames = arena_calloc(q->a, q->ncols + 1, sizeof *colnames);
    if (!colnames)
        return vt_err_set(q->err, VT_ENOMEM, "out of memory");
    colnames[0] = "time";
    for (size_t i = 0; i < q->ncols; i++)
        colnames[i + 1] = q->cols[i].name;
    sel_emit em = {.colnames = colnames};
    sel_win win = {0};
    if (q->aggregate) {
        rc = sel_make_windows(q, &win);
        if (rc != VT_OK)
            return rc;
    }
    for (size_t m = 0; m < q->nms && rc == VT_OK; m++) {
        sel_group *groups = NULL;
        size_t ng = 0;
        rc = sel_groups(q, &q->ms[m], &groups, &ng);
        for (size_t gk = 0; rc == VT_OK && gk < ng; gk++) {
            size_t gi = sel_desc(q) ? ng - 1 - gk : gk; /* InfluxDB reverses tag sets too */
            sel_out o = {.ncols = q->ncols};
            if (q->aggregate) {
                rc = sel_run_agg_group(q, &groups[gi], &win, &o);
                if (rc == VT_OK)
                    sel_print(q, &em, &groups[gi], &o, w);
            } else {
                sel_sink sk = {
                    .q = q, .em = &em, .g = &groups[gi], .w = w, .o = q->capture ? &o : NULL};
                rc = sel_run_raw_group(q, &groups[gi], &sk);
                if (q->capture) {
                    if (rc == VT_OK)
                        sel_print(q, &em, &groups[gi], &o, w);
                } else {
                    sel_sink_end(&sk);
                }
            }
            if (rc == VT_OK && o.oom)
                rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
            sel_out_free(&o);
            if (w && qr_aborted(w))
                rc = VT_EIO;
        }
    }
    free(win.start);
    return rc;
}

/* ---- SELECT ... INTO ---- */

#define SEL_INTO_BATCH 5000 /* points per node_write */

/* Writes the captured output of q as points: measurement = the INTO name (or the source's for
 * :MEASUREMENT), tags = the GROUP BY tags (empty values left out, as InfluxDB does), fields = the
 * non-null columns, time = the row's time. Counts the points written. */
static vt_rc sel_write_into(sel *q, const sel_virt *v, uint64_t *written)
{
    const influxql_select *s = q->s;
    const char *db = s->into_db && s->into_db[0] ? s->into_db : q->db;
    if (!engine_has_db(node_engine(q->env->node), db))
        return vt_err_set(q->err, VT_ENOTFOUND, "database not found: %s", db);
    vt_buf lp;
    vt_buf_init(&lp);
    vt_field *fields = calloc(v->ncols ? v->ncols : 1, sizeof *fields);
    vt_tag *tags = NULL;
    size_t pending = 0;
    vt_rc rc = VT_OK;
    if (!fields) {
        vt_buf_free(&lp);
        return vt_err_set(q->err, VT_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < v->n && rc == VT_OK; i++) {
        const sel_vseries *vs = &v->s[i];
        free(tags);
        tags = calloc(vs->ntags ? vs->ntags : 1, sizeof *tags);
        if (!tags) {
            rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
            break;
        }
        size_t nt = 0;
        for (size_t t = 0; t < vs->ntags; t++)
            if (vs->tags[t].value.len)
                tags[nt++] = vs->tags[t];
        const char *name = s->into_name ? s->into_name : vs->name;
        for (size_t r = 0; r < vs->n && rc == VT_OK; r++) {
            size_t nf = 0;
            for (size_t c = 0; c < v->ncols; c++) {
                const vt_value *x = &vs->v[r * v->ncols + c];
                if (x->type == VT_TYPE_NONE)
                    continue;
                fields[nf].key = (vt_str){v->cols[c], strlen(v->cols[c])};
                fields[nf].value = *x;
                nf++;
            }
            if (nf == 0)
                continue;
            vt_point pt = {.measurement = {name, strlen(name)},
                           .tags = tags,
                           .ntags = nt,
                           .fields = fields,
                           .nfields = nf,
                           .time = vs->t[r]};
            lp_write_point(&lp, &pt);
            if (++pending == SEL_INTO_BATCH || (r + 1 == vs->n && i + 1 == v->n)) {
                node_write_result res;
                memset(&res, 0, sizeof res);
                rc = node_write(q->env->node, db, s->into_rp ? s->into_rp : "", LP_PRECISION_NS, 0,
                                (const char *)lp.data, lp.len, &res, q->err);
                *written += res.points;
                if (rc == VT_EPARSE || rc == VT_ETYPE)
                    rc = vt_err_set(q->err, VT_EINVAL, "partial write: %s", res.error);
                vt_buf_reset(&lp);
                pending = 0;
            }
        }
    }
    if (rc == VT_OK && pending) {
        node_write_result res;
        memset(&res, 0, sizeof res);
        rc = node_write(q->env->node, db, s->into_rp ? s->into_rp : "", LP_PRECISION_NS, 0,
                        (const char *)lp.data, lp.len, &res, q->err);
        *written += res.points;
        if (rc == VT_EPARSE || rc == VT_ETYPE)
            rc = vt_err_set(q->err, VT_EINVAL, "partial write: %s", res.error);
    }
    if (lp.oom && rc == VT_OK)
        rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
    free(tags);
    free(fields);
    vt_buf_free(&lp);
    return rc;
}

vt_rc iql_exec_select(const iql_env *env, arena *a, const influxql_select *s, qr_writer *w,
                      vt_err *err)
{
    sel q;
    memset(&q, 0, sizeof q);
    q.env = env;
    q.a = a;
    q.err = err;
    q.s = s;
    qx_ctx_init(&q.xc, a);
    vt_rc rc = sel_compile(&q);
    if (rc == VT_OK && s->has_into) {
        /* InfluxDB answers one row: written = points written (0 when nothing matched) */
        sel_virt *v = arena_calloc(a, 1, sizeof *v);
        uint64_t written = 0;
        if (!v) {
            rc = vt_err_set(err, VT_ENOMEM, "out of memory");
        } else if (q.ncols && q.nms && !q.empty) {
            v->cols = arena_calloc(a, q.ncols, sizeof *v->cols);
            if (!v->cols)
                rc = vt_err_set(err, VT_ENOMEM, "out of memory");
            for (size_t i = 0; rc == VT_OK && i < q.ncols; i++)
                v->cols[i] = q.cols[i].name;
            v->ncols = q.ncols;
            q.capture = v;
            if (rc == VT_OK)
                rc = sel_execute(&q, NULL);
            if (rc == VT_OK)
                rc = sel_write_into(&q, v, &written);
        }
        if (rc == VT_OK) {
            static const char *const cols[] = {"time", "written"};
            vt_value n = {.type = VT_TYPE_INT};
            n.v.i = (int64_t)written;
            qr_series_begin(w, "result", NULL, 0, cols, 2);
            qr_row(w, true, 0, &n, 1);
            qr_series_end(w);
        }
    } else if (rc == VT_OK && q.ncols && q.nms && !q.empty) {
        {
            qr_set_tz(w, q.tz);
            rc = sel_execute(&q, w);
        }
    }
    if (env->stats) {
        env->stats->points_read += q.points_read;
        env->stats->blocks_summarised += q.blocks_summarised;
    }
    qx_ctx_free(&q.xc);
    return rc;
}
