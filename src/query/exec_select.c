/*
 * query/exec_select.c — compiles and runs an InfluxQL SELECT over the native engine.
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
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/tz.h"
#include "engine/engine.h"
#include "query/aggregate.h"
#include "ingest/lineproto.h"
#include "query/exec_int.h"
#include "query/influxql_parser.h"
#include "query/transform.h"

#define SEL_MIN_TIME (INT64_MIN + 2) /* InfluxDB's influxql.MinTime */
#define SEL_MAX_TIME (INT64_MAX - 1) /* influxql.MaxTime */
#define SEL_DEFAULT_MAX_BUCKETS 2000000

typedef struct sel_call {
    const influxql_expr *expr;
    const char *fname;
    bool is_xf;
    agg_kind ak;
    agg_args aa;
    xf_kind xk;
    int64_t xarg;
    bool xarg_set;
    int inner; /* xf: the aggregate call it reads, or -1 (raw field) */
    int field; /* aggregate input / raw xf input: field slot */
    bool count_distinct;
    const char *tag_arg; /* top/bottom(field, tag, N) */
} sel_call;

typedef struct sel_col {
    const char *name;
    qx *x;
    bool data; /* reads a field or a call (a row whose data columns are all null is dropped) */
} sel_col;

typedef struct sel {
    const iql_env *env;
    arena *a;
    qx_ctx xc;
    vt_err *err;
    const influxql_select *s;
    const char *db;
    qc_measurement *ms;
    size_t nms;
    const char **fields; /* field slots */
    size_t nfields, fcap;
    sel_call *calls;
    size_t ncalls, ccap;
    sel_col *cols;
    size_t ncols;
    qx *cond;
    bool cond_rows; /* the condition reads fields or time: evaluate per row */
    bool empty;     /* the condition can match nothing (InfluxDB: time under OR) */
    int64_t tmin, tmax;
    bool has_tmin, has_tmax;
    int64_t read_tmin;  /* reads start here: tmin, or one window earlier for transforms */
    int64_t out_tmin;   /* aggregate rows before this window start are not printed */
    bool group_time;
    int64_t interval, ioffset;
    const vt_tz *tz;
    const char **gkeys; /* explicit GROUP BY tag names */
    size_t ngkeys;
    bool gstar;
    qx_regex **gres;
    size_t ngres;
    bool aggregate; /* the SELECT list has calls */
    bool has_xf;
    bool selector_time; /* one selector alone: rows carry the selected point's time */
    bool sel_aux;       /* one selector with other variables, read from the selected point */
    int sel_call;       /* that selector's call slot */
    int multi_call;     /* the call returning several rows (top, bottom, distinct, sample), or -1 */
    uint64_t points_read;
    uint64_t blocks_summarised; /* blocks answered from their pre-aggregates */
    bool *col_field; /* field slots the SELECT list reads (a raw row needs one non-null) */
    /* InfluxDB's aux list: the SELECT list's variables sorted by name; ties between rows of
     * equal time are broken by their string values in this order (see sel_raw_order) */
    struct sel_aux *aux;
    size_t naux;
    struct sel_virt *virt;    /* FROM (subquery): the inner query's output, read instead of the engine */
    struct sel_virt *capture; /* this is an inner query: output goes here, not to the writer */
} sel;

/* The output of a subquery, kept in memory as the outer query's series: one per output series
 * of the inner query (name = measurement, group tags = tags, columns = fields). */
typedef struct sel_vseries {
    const char *name;
    vt_tag *tags;
    size_t ntags;
    int64_t *t;  /* ascending */
    vt_value *v; /* n * ncols */
    size_t n;
} sel_vseries;

typedef struct sel_virt {
    sel_vseries *s;
    size_t n, cap;
    const char **cols; /* without time */
    size_t ncols;
} sel_virt;

/* ---- compile: names ---- */

static bool sel_is_field(const sel *q, const char *name)
{
    for (size_t i = 0; i < q->nms; i++)
        for (size_t j = 0; j < q->ms[i].nfields; j++)
            if (strcmp(q->ms[i].fields[j].name, name) == 0)
                return true;
    return false;
}

static bool sel_is_tag(const sel *q, const char *name)
{
    for (size_t i = 0; i < q->nms; i++)
        for (size_t j = 0; j < q->ms[i].ntag_keys; j++)
            if (strcmp(q->ms[i].tag_keys[j], name) == 0)
                return true;
    return false;
}

static int sel_field_slot(sel *q, const char *name)
{
    for (size_t i = 0; i < q->nfields; i++)
        if (strcmp(q->fields[i], name) == 0)
            return (int)i;
    if (q->nfields == q->fcap) {
        size_t cap = q->fcap ? q->fcap * 2 : 8;
        const char **v = arena_calloc(q->a, cap, sizeof *v);
        if (!v)
            return -1;
        if (q->nfields)
            memcpy(v, q->fields, q->nfields * sizeof *v);
        q->fields = v;
        q->fcap = cap;
    }
    q->fields[q->nfields] = name;
    return (int)q->nfields++;
}

static qx_kind sel_resolve(void *ctx, const char *name, influxql_datatype type, int *slot)
{
    sel *q = ctx;
    if (strcasecmp(name, "time") == 0)
        return QX_TIME;
    if (type == IQL_TYPE_TAG ||
        (type != IQL_TYPE_FIELD && !sel_is_field(q, name) && sel_is_tag(q, name))) {
        *slot = QX_TAG_NULL_IF_MISSING;
        return QX_TAG;
    }
    *slot = sel_field_slot(q, name);
    return *slot < 0 ? QX_NULL : QX_FIELD;
}

/* WHERE: a name that is not a field is a tag (a missing tag reads as ""). */
static qx_kind sel_resolve_cond(void *ctx, const char *name, influxql_datatype type, int *slot)
{
    sel *q = ctx;
    if (strcasecmp(name, "time") == 0)
        return QX_TIME;
    if (type == IQL_TYPE_TAG || (type != IQL_TYPE_FIELD && !sel_is_field(q, name)))
        return QX_TAG;
    *slot = sel_field_slot(q, name);
    return *slot < 0 ? QX_NULL : QX_FIELD;
}

/* ---- compile: time range ---- */

static const influxql_expr *sel_unparen(const influxql_expr *e)
{
    while (e && e->kind == IQL_EXPR_PAREN)
        e = e->u.paren;
    return e;
}

static bool sel_is_time(const influxql_expr *e)
{
    e = sel_unparen(e);
    return e && e->kind == IQL_EXPR_VARREF && strcasecmp(e->u.ref.name, "time") == 0;
}

/* Takes the time comparisons out of the top-level AND chain of e into q's bounds; returns the
 * rest (NULL when nothing is left). */
static const influxql_expr *sel_split_time(sel *q, const influxql_expr *e, vt_rc *rc)
{
    const influxql_expr *u = sel_unparen(e);
    if (!u || u->kind != IQL_EXPR_BINARY)
        return e;
    if (u->u.bin.op == IQL_OP_AND) {
        const influxql_expr *l = sel_split_time(q, u->u.bin.lhs, rc);
        if (*rc != VT_OK)
            return NULL;
        const influxql_expr *r = sel_split_time(q, u->u.bin.rhs, rc);
        if (*rc != VT_OK)
            return NULL;
        if (!l)
            return r;
        if (!r)
            return l;
        if (l == u->u.bin.lhs && r == u->u.bin.rhs)
            return e;
        influxql_expr *n = arena_calloc(q->a, 1, sizeof *n);
        if (!n) {
            *rc = vt_err_set(q->err, VT_ENOMEM, "out of memory");
            return NULL;
        }
        *n = *u;
        n->u.bin.lhs = (influxql_expr *)l;
        n->u.bin.rhs = (influxql_expr *)r;
        return n;
    }
    influxql_op op = u->u.bin.op;
    bool lt = sel_is_time(u->u.bin.lhs), rt = sel_is_time(u->u.bin.rhs);
    if ((!lt && !rt) || (op != IQL_OP_GT && op != IQL_OP_GTE && op != IQL_OP_LT &&
                         op != IQL_OP_LTE && op != IQL_OP_EQ))
        return e;
    int64_t t;
    *rc = iql_time_value(lt ? u->u.bin.rhs : u->u.bin.lhs, q->env, q->tz, &t, q->err);
    if (*rc != VT_OK)
        return NULL;
    if (rt)
        op = op == IQL_OP_LT ? IQL_OP_GT : op == IQL_OP_GT ? IQL_OP_LT
           : op == IQL_OP_LTE ? IQL_OP_GTE : op == IQL_OP_GTE ? IQL_OP_LTE : op;
    switch (op) {
    case IQL_OP_GT: t = t == INT64_MAX ? t : t + 1; /* fall through */
    case IQL_OP_GTE:
        if (!q->has_tmin || t > q->tmin)
            q->tmin = t;
        q->has_tmin = true;
        break;
    case IQL_OP_LT: t = t == INT64_MIN ? t : t - 1; /* fall through */
    case IQL_OP_LTE:
        if (!q->has_tmax || t < q->tmax)
            q->tmax = t;
        q->has_tmax = true;
        break;
    default: /* = */
        if (!q->has_tmin || t > q->tmin)
            q->tmin = t;
        if (!q->has_tmax || t < q->tmax)
            q->tmax = t;
        q->has_tmin = q->has_tmax = true;
    }
    return NULL;
}

static bool qx_reads_rows(const qx *x)
{
    if (!x)
        return false;
    if (x->kind == QX_FIELD || x->kind == QX_TIME)
        return true;
    if (x->kind == QX_BIN)
        return qx_reads_rows(x->l) || qx_reads_rows(x->r);
    return false;
}

static bool qx_has_time(const qx *x)
{
    if (!x)
        return false;
    if (x->kind == QX_TIME)
        return true;
    if (x->kind == QX_BIN)
        return qx_has_time(x->l) || qx_has_time(x->r);
    return false;
}

static bool qx_reads_call(const qx *x)
{
    if (!x)
        return false;
    if (x->kind == QX_CALL)
        return true;
    if (x->kind == QX_BIN)
        return qx_reads_call(x->l) || qx_reads_call(x->r);
    return false;
}

static bool qx_reads_ref(const qx *x)
{
    if (!x)
        return false;
    if (x->kind == QX_FIELD || x->kind == QX_TAG)
        return true;
    if (x->kind == QX_BIN)
        return qx_reads_ref(x->l) || qx_reads_ref(x->r);
    return false;
}

static bool qx_reads_data(const qx *x)
{
    if (!x)
        return false;
    if (x->kind == QX_FIELD || x->kind == QX_CALL)
        return true;
    if (x->kind == QX_BIN)
        return qx_reads_data(x->l) || qx_reads_data(x->r);
    return false;
}

static vt_type sel_field_type(const sel *q, const char *name);

/* ---- compile: calls ---- */

static vt_rc sel_arg_error(sel *q, const char *fname, const char *what)
{
    return vt_err_set(q->err, VT_EINVAL, "invalid argument%s%s for %s()", what[0] ? " " : "",
                      what, fname);
}

static int sel_add_call(sel *q, const sel_call *c)
{
    if (q->ncalls == q->ccap) {
        size_t cap = q->ccap ? q->ccap * 2 : 8;
        sel_call *v = arena_calloc(q->a, cap, sizeof *v);
        if (!v)
            return -1;
        if (q->ncalls)
            memcpy(v, q->calls, q->ncalls * sizeof *v);
        q->calls = v;
        q->ccap = cap;
    }
    q->calls[q->ncalls] = *c;
    return (int)q->ncalls++;
}

static bool sel_int_arg(const influxql_expr *e, int64_t *out)
{
    e = sel_unparen(e);
    if (e->kind == IQL_EXPR_INTEGER) {
        *out = e->u.integer;
        return true;
    }
    return false;
}

static bool sel_num_arg(const influxql_expr *e, double *out)
{
    e = sel_unparen(e);
    if (e->kind == IQL_EXPR_INTEGER) {
        *out = (double)e->u.integer;
        return true;
    }
    if (e->kind == IQL_EXPR_NUMBER) {
        *out = e->u.num;
        return true;
    }
    return false;
}

static int sel_call_slot(void *ctx, const influxql_expr *e, vt_err *err);

/* The field an aggregate reads: a varref (or DISTINCT keyword form handled by the caller). */
static int sel_call_field(sel *q, const influxql_expr *call, const influxql_expr *arg)
{
    arg = sel_unparen(arg);
    if (arg->kind != IQL_EXPR_VARREF) {
        vt_err_set(q->err, VT_EINVAL, "expected field argument in %s()", call->u.call.name);
        return -1;
    }
    int slot = sel_field_slot(q, arg->u.ref.name);
    if (slot < 0)
        vt_err_set(q->err, VT_ENOMEM, "out of memory");
    return slot;
}

static int sel_call_slot(void *ctx, const influxql_expr *e, vt_err *err)
{
    sel *q = ctx;
    (void)err;
    const char *name = e->u.call.name;
    size_t nargs = e->u.call.nargs;
    influxql_expr **args = e->u.call.args;
    sel_call c;
    memset(&c, 0, sizeof c);
    c.expr = e;
    c.fname = name;
    c.inner = -1;
    c.field = -1;
    xf_kind xk;
    if (xf_lookup(name, &xk)) {
        c.is_xf = true;
        c.xk = xk;
        if (nargs < 1) {
            vt_err_set(q->err, VT_EINVAL, "invalid number of arguments for %s, expected at least 1, got 0", name);
            return -1;
        }
        const influxql_expr *a0 = sel_unparen(args[0]);
        if (a0->kind == IQL_EXPR_CALL) {
            c.inner = sel_call_slot(q, a0, err);
            if (c.inner < 0)
                return -1;
            if (q->calls[c.inner].is_xf) {
                vt_err_set(q->err, VT_EINVAL, "%s() cannot be nested in %s()", q->calls[c.inner].fname, name);
                return -1;
            }
        } else {
            c.field = sel_call_field(q, e, a0);
            if (c.field < 0)
                return -1;
        }
        if (nargs >= 2) {
            const influxql_expr *a1 = sel_unparen(args[1]);
            if (a1->kind == IQL_EXPR_DURATION) {
                c.xarg = a1->u.duration;
                c.xarg_set = true;
            } else if (a1->kind == IQL_EXPR_INTEGER) {
                c.xarg = a1->u.integer;
                c.xarg_set = true;
            } else {
                sel_arg_error(q, name, "");
                return -1;
            }
        }
        q->has_xf = true;
        return sel_add_call(q, &c);
    }
    if (strcmp(name, "count") == 0 && nargs == 1) {
        const influxql_expr *a0 = sel_unparen(args[0]);
        const char *dfield = NULL;
        if (a0->kind == IQL_EXPR_CALL && strcmp(a0->u.call.name, "distinct") == 0 &&
            a0->u.call.nargs == 1 && sel_unparen(a0->u.call.args[0])->kind == IQL_EXPR_VARREF)
            dfield = sel_unparen(a0->u.call.args[0])->u.ref.name;
        else if (a0->kind == IQL_EXPR_DISTINCT)
            dfield = a0->u.distinct;
        if (dfield) {
            c.ak = AGG_DISTINCT;
            c.count_distinct = true;
            c.field = sel_field_slot(q, dfield);
            return c.field < 0 ? -1 : sel_add_call(q, &c);
        }
    }
    agg_kind ak;
    if (!agg_lookup(name, &ak)) {
        vt_err_set(q->err, VT_EINVAL, "undefined function %s()", name);
        return -1;
    }
    c.ak = ak;
    if (nargs < 1) {
        vt_err_set(q->err, VT_EINVAL, "invalid number of arguments for %s, expected 1, got 0", name);
        return -1;
    }
    const influxql_expr *a0 = sel_unparen(args[0]);
    if (ak == AGG_DISTINCT && a0->kind == IQL_EXPR_DISTINCT) {
        c.field = sel_field_slot(q, a0->u.distinct);
        return c.field < 0 ? -1 : sel_add_call(q, &c);
    }
    if (a0->kind == IQL_EXPR_CALL) {
        vt_err_set(q->err, VT_EINVAL, "expected field argument in %s()", name);
        return -1;
    }
    c.field = sel_call_field(q, e, a0);
    if (c.field < 0)
        return -1;
    switch (ak) {
    case AGG_PERCENTILE:
        if (nargs != 2) {
            vt_err_set(q->err, VT_EINVAL, "invalid number of arguments for percentile, expected 2, got %zu", nargs);
            return -1;
        }
        if (!sel_num_arg(args[1], &c.aa.percentile)) {
            vt_err_set(q->err, VT_EINVAL, "expected float argument in percentile()");
            return -1;
        }
        break;
    case AGG_SAMPLE:
        if (nargs != 2) {
            vt_err_set(q->err, VT_EINVAL, "invalid number of arguments for sample, expected 2, got %zu", nargs);
            return -1;
        }
        if (!sel_int_arg(args[1], &c.aa.n)) {
            vt_err_set(q->err, VT_EINVAL, "expected integer argument in sample()");
            return -1;
        }
        if (c.aa.n <= 0) {
            vt_err_set(q->err, VT_EINVAL, "sample window must be greater than 1, got %" PRId64, c.aa.n);
            return -1;
        }
        break;
    case AGG_TOP:
    case AGG_BOTTOM: {
        if (nargs < 2) {
            vt_err_set(q->err, VT_EINVAL, "invalid number of arguments for %s, expected at least 2, got %zu", name, nargs);
            return -1;
        }
        if (!sel_int_arg(args[nargs - 1], &c.aa.n)) {
            vt_err_set(q->err, VT_EINVAL, "expected integer as last argument in %s(), found %s", name,
                       nargs < 2 ? "nothing" : "an expression");
            return -1;
        }
        if (c.aa.n <= 0) {
            vt_err_set(q->err, VT_EINVAL, "limit (%" PRId64 ") in %s function must be at least 1", c.aa.n, name);
            return -1;
        }
        if (nargs == 3) {
            const influxql_expr *t = sel_unparen(args[1]);
            if (t->kind != IQL_EXPR_VARREF) {
                vt_err_set(q->err, VT_EINVAL, "only fields or tags are allowed in %s(), found %s", name, "an expression");
                return -1;
            }
            c.tag_arg = t->u.ref.name;
        } else if (nargs > 3) {
            vt_err_set(q->err, VT_EINVAL, "%s() with several tags is not supported by volta", name);
            return -1;
        }
        break;
    }
    case AGG_INTEGRAL:
        if (nargs == 2) {
            const influxql_expr *u = sel_unparen(args[1]);
            if (u->kind != IQL_EXPR_DURATION) {
                vt_err_set(q->err, VT_EINVAL, "second argument must be a duration");
                return -1;
            }
            c.aa.integral_unit_ns = u->u.duration;
        }
        break;
    default:
        if (nargs != 1) {
            vt_err_set(q->err, VT_EINVAL, "invalid number of arguments for %s, expected 1, got %zu", name, nargs);
            return -1;
        }
    }
    return sel_add_call(q, &c);
}

/* ---- compile: column names ---- */

static void sel_name_parts(const influxql_expr *e, vt_buf *b)
{
    e = sel_unparen(e);
    switch (e->kind) {
    case IQL_EXPR_VARREF:
        if (b->len)
            vt_buf_putc(b, '_');
        vt_buf_append(b, e->u.ref.name, strlen(e->u.ref.name));
        break;
    case IQL_EXPR_CALL:
        if (b->len)
            vt_buf_putc(b, '_');
        vt_buf_append(b, e->u.call.name, strlen(e->u.call.name));
        break;
    case IQL_EXPR_BINARY:
        sel_name_parts(e->u.bin.lhs, b);
        sel_name_parts(e->u.bin.rhs, b);
        break;
    case IQL_EXPR_DISTINCT:
        if (b->len)
            vt_buf_putc(b, '_');
        vt_buf_append(b, "distinct", 8);
        break;
    default: break;
    }
}

/* ---- compile: the SELECT list ---- */

typedef struct sel_field_src {
    const influxql_expr *expr;
    const char *alias;
} sel_field_src;

/* Expands wildcards into concrete expressions. */
static vt_rc sel_expand(sel *q, sel_field_src **out, size_t *nout)
{
    const influxql_select *s = q->s;
    /* union of fields and tags, sorted */
    size_t cap = 0;
    for (size_t i = 0; i < q->nms; i++)
        cap += q->ms[i].nfields + q->ms[i].ntag_keys;
    typedef struct {
        const char *name;
        bool tag;
    } ent;
    ent *all = arena_calloc(q->a, cap ? cap : 1, sizeof *all);
    size_t nall = 0;
    if (!all)
        return vt_err_set(q->err, VT_ENOMEM, "out of memory");
    for (size_t i = 0; i < q->nms; i++) {
        for (size_t j = 0; j < q->ms[i].nfields; j++)
            all[nall++] = (ent){q->ms[i].fields[j].name, false};
        for (size_t j = 0; j < q->ms[i].ntag_keys; j++)
            all[nall++] = (ent){q->ms[i].tag_keys[j], true};
    }
    /* sort by name (fields first on equal names), dedupe */
    for (size_t i = 1; i < nall; i++) {
        ent x = all[i];
        size_t j = i;
        while (j > 0 && (strcmp(all[j - 1].name, x.name) > 0 ||
                         (strcmp(all[j - 1].name, x.name) == 0 && all[j - 1].tag && !x.tag))) {
            all[j] = all[j - 1];
            j--;
        }
        all[j] = x;
    }
    size_t u = 0;
    for (size_t i = 0; i < nall; i++)
        if (u == 0 || strcmp(all[u - 1].name, all[i].name) != 0)
            all[u++] = all[i];
    nall = u;

    size_t n = 0, ncap = s->nfields + nall * s->nfields + 1;
    sel_field_src *v = arena_calloc(q->a, ncap, sizeof *v);
    if (!v)
        return vt_err_set(q->err, VT_ENOMEM, "out of memory");
    for (size_t i = 0; i < s->nfields; i++) {
        const influxql_expr *e = s->fields[i].expr;
        const influxql_expr *ue = sel_unparen(e);
        if (ue->kind == IQL_EXPR_CALL && strcmp(ue->u.call.name, "distinct") == 0 &&
            ue->u.call.nargs >= 1 &&
            (sel_unparen(ue->u.call.args[0])->kind == IQL_EXPR_WILDCARD ||
             sel_unparen(ue->u.call.args[0])->kind == IQL_EXPR_REGEX))
            return vt_err_set(q->err, VT_EINVAL, "expected field argument in distinct()");
        bool call_wild = ue->kind == IQL_EXPR_CALL && ue->u.call.nargs >= 1 &&
                         (sel_unparen(ue->u.call.args[0])->kind == IQL_EXPR_WILDCARD ||
                          sel_unparen(ue->u.call.args[0])->kind == IQL_EXPR_REGEX);
        if (ue->kind == IQL_EXPR_WILDCARD || ue->kind == IQL_EXPR_REGEX) {
            qx_regex *re = NULL;
            if (ue->kind == IQL_EXPR_REGEX) {
                re = qx_regex_compile(&q->xc, ue->u.regex, q->err);
                if (!re)
                    return q->err->rc;
            }
            for (size_t j = 0; j < nall; j++) {
                if (all[j].tag && (ue->kind == IQL_EXPR_WILDCARD
                                       ? ue->u.wildcard == IQL_TYPE_FIELD
                                       : false))
                    continue;
                if (!all[j].tag && ue->kind == IQL_EXPR_WILDCARD && ue->u.wildcard == IQL_TYPE_TAG)
                    continue;
                if (re && !qx_regex_match(re, all[j].name, strlen(all[j].name)))
                    continue;
                /* GROUP BY tags are not repeated as columns */
                bool grouped = false;
                for (size_t k = 0; all[j].tag && k < q->ngkeys; k++)
                    grouped |= strcmp(q->gkeys[k], all[j].name) == 0;
                if (all[j].tag && (grouped || q->gstar))
                    continue;
                influxql_expr *ref = arena_calloc(q->a, 1, sizeof *ref);
                if (!ref)
                    return vt_err_set(q->err, VT_ENOMEM, "out of memory");
                ref->kind = IQL_EXPR_VARREF;
                ref->u.ref.name = (char *)all[j].name;
                ref->u.ref.type = all[j].tag ? IQL_TYPE_TAG : IQL_TYPE_FIELD;
                v[n++] = (sel_field_src){ref, NULL};
            }
            continue;
        }
        if (call_wild) {
            const influxql_expr *w = sel_unparen(ue->u.call.args[0]);
            qx_regex *re = NULL;
            if (w->kind == IQL_EXPR_REGEX) {
                re = qx_regex_compile(&q->xc, w->u.regex, q->err);
                if (!re)
                    return q->err->rc;
            }
            for (size_t j = 0; j < nall; j++) {
                if (all[j].tag)
                    continue;
                if (re && !qx_regex_match(re, all[j].name, strlen(all[j].name)))
                    continue;
                influxql_expr *ref = arena_calloc(q->a, 1, sizeof *ref);
                influxql_expr *call = arena_calloc(q->a, 1, sizeof *call);
                influxql_expr **args = arena_calloc(q->a, ue->u.call.nargs, sizeof *args);
                if (!ref || !call || !args)
                    return vt_err_set(q->err, VT_ENOMEM, "out of memory");
                ref->kind = IQL_EXPR_VARREF;
                ref->u.ref.name = (char *)all[j].name;
                *call = *ue;
                memcpy(args, ue->u.call.args, ue->u.call.nargs * sizeof *args);
                args[0] = ref;
                call->u.call.args = args;
                /* name: <function>_<field> */
                size_t len = strlen(ue->u.call.name) + 1 + strlen(all[j].name);
                char *alias = arena_alloc(q->a, len + 1);
                if (!alias)
                    return vt_err_set(q->err, VT_ENOMEM, "out of memory");
                snprintf(alias, len + 1, "%s_%s", ue->u.call.name, all[j].name);
                v[n++] = (sel_field_src){call, s->fields[i].alias ? s->fields[i].alias : alias};
            }
            continue;
        }
        v[n++] = (sel_field_src){e, s->fields[i].alias};
    }
    *out = v;
    *nout = n;
    return VT_OK;
}

static bool sel_has_call(const influxql_expr *e)
{
    e = sel_unparen(e);
    if (!e)
        return false;
    if (e->kind == IQL_EXPR_CALL)
        return strcmp(e->u.call.name, "now") != 0;
    if (e->kind == IQL_EXPR_BINARY)
        return sel_has_call(e->u.bin.lhs) || sel_has_call(e->u.bin.rhs);
    return false;
}

static bool sel_has_field_ref(const sel *q, const influxql_expr *e)
{
    e = sel_unparen(e);
    if (!e)
        return false;
    if (e->kind == IQL_EXPR_VARREF)
        return e->u.ref.type != IQL_TYPE_TAG &&
               (e->u.ref.type == IQL_TYPE_FIELD || !sel_is_tag(q, e->u.ref.name) ||
                sel_is_field(q, e->u.ref.name));
    if (e->kind == IQL_EXPR_BINARY)
        return sel_has_field_ref(q, e->u.bin.lhs) || sel_has_field_ref(q, e->u.bin.rhs);
    return false;
}

/* ---- compile: type check of arithmetic (InfluxDB's "type error: ...") ---- */

static vt_type sel_expr_type(const sel *q, const influxql_expr *e)
{
    e = sel_unparen(e);
    switch (e->kind) {
    case IQL_EXPR_VARREF:
        if (e->u.ref.type == IQL_TYPE_TAG)
            return VT_TYPE_NONE;
        return sel_field_type(q, e->u.ref.name);
    case IQL_EXPR_INTEGER: return VT_TYPE_INT;
    case IQL_EXPR_NUMBER: return VT_TYPE_FLOAT;
    case IQL_EXPR_STRING: return VT_TYPE_STRING;
    case IQL_EXPR_BOOLEAN: return VT_TYPE_BOOL;
    case IQL_EXPR_BINARY: {
        vt_type l = sel_expr_type(q, e->u.bin.lhs), r = sel_expr_type(q, e->u.bin.rhs);
        if (l == VT_TYPE_FLOAT || r == VT_TYPE_FLOAT)
            return VT_TYPE_FLOAT;
        return l == r ? l : VT_TYPE_NONE;
    }
    default: return VT_TYPE_NONE;
    }
}

/* A copy of e whose field references carry their types, for the error text. */
static influxql_expr *sel_typed_copy(sel *q, const influxql_expr *e)
{
    influxql_expr *c = arena_calloc(q->a, 1, sizeof *c);
    if (!c)
        return NULL;
    *c = *e;
    switch (e->kind) {
    case IQL_EXPR_VARREF: {
        vt_type t = e->u.ref.type == IQL_TYPE_UNKNOWN ? sel_field_type(q, e->u.ref.name) : VT_TYPE_NONE;
        if (t == VT_TYPE_FLOAT) c->u.ref.type = IQL_TYPE_FLOAT;
        else if (t == VT_TYPE_INT) c->u.ref.type = IQL_TYPE_INTEGER;
        else if (t == VT_TYPE_UINT) c->u.ref.type = IQL_TYPE_UNSIGNED;
        else if (t == VT_TYPE_STRING) c->u.ref.type = IQL_TYPE_STRING;
        else if (t == VT_TYPE_BOOL) c->u.ref.type = IQL_TYPE_BOOLEAN;
        break;
    }
    case IQL_EXPR_PAREN: c->u.paren = sel_typed_copy(q, e->u.paren); break;
    case IQL_EXPR_BINARY:
        c->u.bin.lhs = sel_typed_copy(q, e->u.bin.lhs);
        c->u.bin.rhs = sel_typed_copy(q, e->u.bin.rhs);
        if (!c->u.bin.lhs || !c->u.bin.rhs)
            return NULL;
        break;
    default: break;
    }
    return c;
}

static vt_rc sel_type_check(sel *q, const influxql_expr *e)
{
    e = sel_unparen(e);
    if (e->kind != IQL_EXPR_BINARY)
        return VT_OK;
    influxql_op op = e->u.bin.op;
    bool arith = op == IQL_OP_ADD || op == IQL_OP_SUB || op == IQL_OP_MUL || op == IQL_OP_DIV ||
                 op == IQL_OP_MOD || op == IQL_OP_BITAND || op == IQL_OP_BITOR || op == IQL_OP_BITXOR;
    vt_rc rc = sel_type_check(q, e->u.bin.lhs);
    if (rc == VT_OK)
        rc = sel_type_check(q, e->u.bin.rhs);
    if (rc != VT_OK || !arith)
        return rc;
    vt_type l = sel_expr_type(q, e->u.bin.lhs), r = sel_expr_type(q, e->u.bin.rhs);
    if (l == VT_TYPE_NONE || r == VT_TYPE_NONE)
        return VT_OK;
    bool bad_l = l == VT_TYPE_STRING || l == VT_TYPE_BOOL;
    bool bad_r = r == VT_TYPE_STRING || r == VT_TYPE_BOOL;
    bool bitwise = op == IQL_OP_BITAND || op == IQL_OP_BITOR || op == IQL_OP_BITXOR;
    if (!bad_l && !bad_r)
        return VT_OK;
    if (l == VT_TYPE_BOOL && r == VT_TYPE_BOOL && bitwise)
        return VT_OK;
    influxql_expr *typed = sel_typed_copy(q, e);
    vt_buf b;
    vt_buf_init(&b);
    if (typed)
        influxql_format_expr(typed, &b);
    vt_err_set(q->err, VT_EINVAL, "type error: %.*s: incompatible types: %s and %s", (int)b.len,
               b.data ? (const char *)b.data : "", vt_type_name(l), vt_type_name(r));
    vt_buf_free(&b);
    return VT_EINVAL;
}

static vt_rc sel_compile_fields(sel *q)
{
    sel_field_src *src = NULL;
    size_t n = 0;
    vt_rc rc = sel_expand(q, &src, &n);
    if (rc != VT_OK)
        return rc;
    if (n == 0)
        return VT_OK; /* nothing to select: no result (InfluxDB prints none) */
    bool only_time = true;
    for (size_t i = 0; i < n && only_time; i++)
        only_time = sel_is_time(src[i].expr);
    if (only_time)
        return vt_err_set(q->err, VT_EINVAL, "at least 1 non-time field must be queried");
    for (size_t i = 0; i < n; i++) {
        rc = sel_type_check(q, src[i].expr);
        if (rc != VT_OK)
            return rc;
    }
    bool any_call = false, any_raw = false;
    for (size_t i = 0; i < n; i++) {
        if (sel_has_call(src[i].expr))
            any_call = true;
        else if (sel_has_field_ref(q, src[i].expr))
            any_raw = true;
    }
    q->aggregate = any_call;
    q->cols = arena_calloc(q->a, n, sizeof *q->cols);
    if (!q->cols)
        return vt_err_set(q->err, VT_ENOMEM, "out of memory");
    qx_compile_opts o = {.resolve = sel_resolve, .ctx = q, .call_slot = sel_call_slot,
                         .env = q->env, .tz = q->tz};
    vt_buf name;
    vt_buf_init(&name);
    for (size_t i = 0; i < n; i++) {
        sel_col *c = &q->cols[i];
        rc = qx_compile(&q->xc, src[i].expr, &o, &c->x, q->err);
        if (rc != VT_OK) {
            vt_buf_free(&name);
            return rc;
        }
        c->data = qx_reads_data(c->x);
        vt_buf_reset(&name);
        if (src[i].alias)
            vt_buf_append(&name, src[i].alias, strlen(src[i].alias));
        else
            sel_name_parts(src[i].expr, &name);
        /* InfluxDB: duplicate names get _1, _2, ... */
        char *nm = arena_strndup(q->a, name.data ? (const char *)name.data : "", name.len);
        for (int k = 1; nm; k++) {
            bool dup = strcmp(nm, "time") == 0 && false;
            for (size_t j = 0; j < i && !dup; j++)
                dup = strcmp(q->cols[j].name, nm) == 0;
            if (!dup)
                break;
            size_t len = name.len + 24;
            char *alt = arena_alloc(q->a, len);
            if (!alt) {
                nm = NULL;
                break;
            }
            snprintf(alt, len, "%.*s_%d", (int)name.len, name.data ? (const char *)name.data : "", k);
            nm = alt;
        }
        if (!nm) {
            vt_buf_free(&name);
            return vt_err_set(q->err, VT_ENOMEM, "out of memory");
        }
        c->name = nm;
    }
    vt_buf_free(&name);
    q->ncols = n;
    q->multi_call = -1;
    size_t naggs = 0, nselectors = 0;
    for (size_t i = 0; i < q->ncalls; i++) {
        const sel_call *c = &q->calls[i];
        if (c->is_xf)
            continue;
        bool inner = false;
        for (size_t j = 0; j < q->ncalls; j++)
            inner |= q->calls[j].is_xf && q->calls[j].inner == (int)i;
        if (inner)
            continue;
        naggs++;
        if (!c->count_distinct && agg_is_selector(c->ak))
            nselectors++;
        if (!c->count_distinct &&
            (c->ak == AGG_TOP || c->ak == AGG_BOTTOM || c->ak == AGG_DISTINCT || c->ak == AGG_SAMPLE))
            q->multi_call = (int)i;
    }
    if (any_call && any_raw && !(naggs == 1 && nselectors == 1))
        return vt_err_set(q->err, VT_EINVAL,
                          "mixing aggregate and non-aggregate queries is not supported");
    if (any_call && naggs == 1 && nselectors == 1 && !q->has_xf) {
        /* one selector with other variables: they are read from the selected point */
        int sk = -1;
        for (size_t i = 0; i < q->ncalls; i++)
            if (!q->calls[i].is_xf)
                sk = (int)i;
        bool refs = false;
        for (size_t c = 0; c < q->ncols; c++)
            if (!qx_reads_call(q->cols[c].x) && qx_reads_ref(q->cols[c].x))
                refs = true;
        const char *tag = sk >= 0 ? q->calls[sk].tag_arg : NULL;
        if (refs || tag) {
            q->sel_aux = true;
            q->sel_call = sk;
        }
        if (tag) { /* top/bottom(f, tag, N): the tag becomes a column right after the call's */
            size_t at = 0;
            for (size_t c = 0; c < q->ncols; c++)
                if (qx_reads_call(q->cols[c].x))
                    at = c + 1;
            sel_col *nc = arena_calloc(q->a, q->ncols + 1, sizeof *nc);
            qx *tx = arena_calloc(q->a, 1, sizeof *tx);
            if (!nc || !tx)
                return vt_err_set(q->err, VT_ENOMEM, "out of memory");
            tx->kind = QX_TAG;
            tx->name = tag;
            memcpy(nc, q->cols, at * sizeof *nc);
            nc[at] = (sel_col){tag, tx, true};
            memcpy(nc + at + 1, q->cols + at, (q->ncols - at) * sizeof *nc);
            q->cols = nc;
            q->ncols++;
        }
    }
    if (q->multi_call >= 0 && naggs > 1) {
        const sel_call *m = &q->calls[q->multi_call];
        return vt_err_set(q->err, VT_EINVAL, "selector function %s() cannot be combined with other functions",
                          m->fname);
    }
    bool only_xf_on_raw = true;
    for (size_t i = 0; i < q->ncalls; i++)
        if (!q->calls[i].is_xf || q->calls[i].inner >= 0)
            only_xf_on_raw = false;
    if (any_call && only_xf_on_raw)
        q->aggregate = false; /* transforms over raw points */
    if (q->group_time && !q->aggregate && q->ncalls == 0)
        return vt_err_set(q->err, VT_EINVAL, "GROUP BY requires at least one aggregate function");
    if (q->group_time && !q->aggregate)
        return vt_err_set(q->err, VT_EINVAL, "%s aggregate requires a GROUP BY interval",
                          q->calls[0].fname);
    if (!q->group_time && q->aggregate) {
        for (size_t i = 0; i < q->ncalls; i++)
            if (q->calls[i].is_xf && q->calls[i].inner >= 0)
                return vt_err_set(q->err, VT_EINVAL, "%s aggregate requires a GROUP BY interval",
                                  q->calls[i].fname);
    }
    q->selector_time = !q->group_time && naggs == 1 && nselectors == 1 && !q->has_xf;
    for (size_t i = 0; i < q->ncalls; i++) {
        const sel_call *c = &q->calls[i];
        if (c->is_xf || c->count_distinct || c->field < 0)
            continue;
        char buf[256];
        vt_type t = sel_field_type(q, q->fields[c->field]);
        const char *msg = t == VT_TYPE_NONE ? NULL : agg_type_error(c->ak, t, buf, sizeof buf);
        if (msg)
            return vt_err_set(q->err, VT_EINVAL, "%s", msg);
    }
    return VT_OK;
}

/* ---- compile: aux variables ---- */

typedef struct sel_aux {
    const char *name;
    bool tag;
    int slot;
} sel_aux;

static void sel_collect_aux(sel *q, const qx *x)
{
    if (!x)
        return;
    if (x->kind == QX_BIN) {
        sel_collect_aux(q, x->l);
        sel_collect_aux(q, x->r);
        return;
    }
    if (x->kind != QX_FIELD && x->kind != QX_TAG)
        return;
    if (x->kind == QX_FIELD)
        q->col_field[x->slot] = true;
    for (size_t i = 0; i < q->naux; i++)
        if (strcmp(q->aux[i].name, x->name) == 0)
            return;
    q->aux[q->naux++] = (sel_aux){x->name, x->kind == QX_TAG, x->slot};
}

static vt_rc sel_compile_aux(sel *q)
{
    size_t cap = q->nfields + 64;
    q->col_field = arena_calloc(q->a, q->nfields ? q->nfields : 1, sizeof *q->col_field);
    q->aux = arena_calloc(q->a, cap, sizeof *q->aux);
    if (!q->col_field || !q->aux)
        return vt_err_set(q->err, VT_ENOMEM, "out of memory");
    for (size_t c = 0; c < q->ncols && q->naux + 8 < cap; c++)
        sel_collect_aux(q, q->cols[c].x);
    for (size_t i = 1; i < q->naux; i++)
        for (size_t j = i; j > 0 && strcmp(q->aux[j - 1].name, q->aux[j].name) > 0; j--) {
            sel_aux t = q->aux[j];
            q->aux[j] = q->aux[j - 1];
            q->aux[j - 1] = t;
        }
    return VT_OK;
}

/* ---- compile: everything ---- */

static vt_rc sel_run_subquery(sel *q, const influxql_select *sub);

static vt_rc sel_compile(sel *q)
{
    const influxql_select *s = q->s;
    vt_rc rc;
    if (s->tz) {
        q->tz = vt_tz_get(s->tz, q->err);
        if (!q->tz)
            return q->err->rc ? q->err->rc : VT_EINVAL;
    }
    const char *sdb = NULL;
    const influxql_select *sub = NULL;
    for (size_t i = 0; i < s->nsources; i++) {
        if (s->sources[i].kind == IQL_SOURCE_SUBQUERY) {
            if (s->nsources > 1)
                return vt_err_set(q->err, VT_EUNSUPPORTED,
                                  "a subquery mixed with other sources is not supported by volta");
            sub = s->sources[i].subquery;
        }
        if (s->sources[i].db && s->sources[i].db[0])
            sdb = s->sources[i].db;
    }
    if (sub) {
        rc = sel_run_subquery(q, sub);
        if (rc != VT_OK)
            return rc;
    } else {
        rc = iql_resolve_db(q->env, sdb, &q->db, q->err);
        if (rc != VT_OK)
            return rc;
        rc = qc_load_sources(node_engine(q->env->node), q->a, &q->xc, q->db, s->sources,
                             s->nsources, &q->ms, &q->nms, q->err);
        if (rc != VT_OK)
            return rc;
    }
    /* GROUP BY */
    q->gkeys = arena_calloc(q->a, s->ndims ? s->ndims : 1, sizeof *q->gkeys);
    q->gres = arena_calloc(q->a, s->ndims ? s->ndims : 1, sizeof *q->gres);
    if (!q->gkeys || !q->gres)
        return vt_err_set(q->err, VT_ENOMEM, "out of memory");
    for (size_t i = 0; i < s->ndims; i++) {
        const influxql_expr *d = sel_unparen(s->dims[i]);
        switch (d->kind) {
        case IQL_EXPR_CALL:
            if (strcmp(d->u.call.name, "time") != 0 || d->u.call.nargs < 1 ||
                d->u.call.nargs > 2)
                return vt_err_set(q->err, VT_EINVAL, "only time() calls allowed in dimensions");
            if (q->group_time)
                return vt_err_set(q->err, VT_EINVAL, "multiple time dimensions not allowed");
            {
                const influxql_expr *iv = sel_unparen(d->u.call.args[0]);
                if (iv->kind != IQL_EXPR_DURATION)
                    return vt_err_set(q->err, VT_EINVAL, "time dimension must have duration argument");
                if (iv->u.duration < 0)
                    return vt_err_set(q->err, VT_EINVAL, "time dimension must have a positive duration");
                q->interval = iv->u.duration;
                if (q->interval == 0)
                    break; /* InfluxDB: time(0s) is no time grouping */
                if (d->u.call.nargs == 2) {
                    const influxql_expr *of = sel_unparen(d->u.call.args[1]);
                    if (of->kind == IQL_EXPR_DURATION) {
                        q->ioffset = of->u.duration % q->interval;
                    } else if (of->kind == IQL_EXPR_CALL && strcmp(of->u.call.name, "now") == 0) {
                        q->ioffset = q->env->now % q->interval;
                    } else {
                        return vt_err_set(q->err, VT_EINVAL, "time dimension offset must be duration or now()");
                    }
                }
                q->group_time = true;
            }
            break;
        case IQL_EXPR_VARREF:
            if (strcasecmp(d->u.ref.name, "time") == 0)
                return vt_err_set(q->err, VT_EINVAL, "time() is a function and expects at least one argument");
            q->gkeys[q->ngkeys++] = d->u.ref.name;
            break;
        case IQL_EXPR_WILDCARD: q->gstar = true; break;
        case IQL_EXPR_REGEX: {
            qx_regex *re = qx_regex_compile(&q->xc, d->u.regex, q->err);
            if (!re)
                return q->err->rc;
            q->gres[q->ngres++] = re;
            break;
        }
        default: return vt_err_set(q->err, VT_EINVAL, "only time and tag dimensions allowed");
        }
    }
    /* WHERE */
    if (!q->has_tmin)
        q->tmin = SEL_MIN_TIME;
    if (!q->has_tmax)
        q->tmax = SEL_MAX_TIME;
    if (s->where) {
        const influxql_expr *rest = sel_split_time(q, s->where, &rc);
        if (rc != VT_OK)
            return rc;
        if (rest) {
            qx_compile_opts o = {.resolve = sel_resolve_cond, .ctx = q, .env = q->env, .tz = q->tz};
            rc = qx_compile(&q->xc, rest, &o, &q->cond, q->err);
            if (rc != VT_OK)
                return rc;
            q->cond_rows = qx_reads_rows(q->cond);
            /* InfluxDB 1.6 answers nothing when time is compared under an OR */
            q->empty = qx_has_time(q->cond);
        }
    }
    if (q->has_tmin && q->tmin < SEL_MIN_TIME)
        q->tmin = SEL_MIN_TIME;
    if (q->has_tmax && q->tmax > SEL_MAX_TIME)
        q->tmax = SEL_MAX_TIME;
    q->read_tmin = q->tmin;
    q->out_tmin = SEL_MIN_TIME;
    rc = sel_compile_fields(q);
    if (rc != VT_OK)
        return rc;
    return sel_compile_aux(q);
}

/* ---- windows (InfluxDB's IteratorOptions.Window) ---- */

static int64_t sel_zone(const sel *q, int64_t t)
{
    return q->tz ? (int64_t)vt_tz_offset(q->tz, t) * 1000000000 : 0;
}

static void sel_window(const sel *q, int64_t t, int64_t *start, int64_t *end)
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

/* ---- reading ---- */

/* Reads (series, field) over [tmin, tmax] from the engine, or from the subquery's output. */
static vt_rc sel_source_read(sel *q, uint64_t sid, const char *field, int64_t tmin, int64_t tmax,
                             bool (*cb)(void *ctx, const engine_points *pts), void *ctx)
{
    if (!q->virt) {
        vt_rc rc = engine_read(node_engine(q->env->node), q->db, sid, field, tmin, tmax, cb, ctx,
                               q->err);
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
            ((double *)vals)[n] = x->type == VT_TYPE_FLOAT ? x->v.f
                                 : x->type == VT_TYPE_INT  ? (double)x->v.i
                                 : x->type == VT_TYPE_UINT ? (double)x->v.u : 0;
            break;
        case VT_TYPE_INT: ((int64_t *)vals)[n] = x->type == VT_TYPE_INT ? x->v.i : (int64_t)x->v.f; break;
        case VT_TYPE_UINT: ((uint64_t *)vals)[n] = x->v.u; break;
        case VT_TYPE_BOOL: ((bool *)vals)[n] = x->v.b; break;
        case VT_TYPE_STRING: ((vt_str *)vals)[n] = x->v.s; break;
        default: break;
        }
        if (x->type == type || (type == VT_TYPE_FLOAT && x->type != VT_TYPE_STRING && x->type != VT_TYPE_BOOL))
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

static bool sel_series_has_field(const qc_series *s, const char *f, vt_type *type)
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
typedef struct sel_rows {
    int64_t *t;
    uint32_t *series; /* index into the group's series array */
    vt_value *v;      /* n * nf */
    size_t n, cap, nf;
    bool oom;
} sel_rows;

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

static void sel_rows_free(sel_rows *r)
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

static vt_rc sel_read_column(sel *q, const qc_series *s, const char *field, int64_t lo,
                              int64_t hi, sel_colbuf *c)
{
    sel_str_ctx sc = {q, c};
    vt_rc rc = sel_source_read(q, s->id, field, lo, hi, sel_colbuf_str_cb, &sc);
    if (rc != VT_OK)
        return rc;
    if (c->oom)
        return vt_err_set(q->err, VT_ENOMEM, "out of memory reading %s", field);
    q->points_read += c->n;
    if (q->env->max_points && q->points_read > q->env->max_points)
        return vt_err_set(q->err, VT_ELIMIT, "max-select-point limit exceeded: (%" PRIu64 "/%" PRIu64 ")",
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

static vt_rc sel_series_rows_in(sel *q, const qc_series *s, uint32_t si, int64_t lo, int64_t hi,
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

static vt_rc sel_series_rows(sel *q, const qc_series *s, uint32_t si, sel_rows *out)
{
    return sel_series_rows_in(q, s, si, q->read_tmin, q->tmax, out);
}

/* ---- groups ---- */

typedef struct sel_group {
    const qc_measurement *m;
    const qc_series **series;
    size_t nseries;
    vt_tag *tags; /* group-by tag values */
    size_t ntags;
} sel_group;

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
static vt_rc sel_groups(sel *q, const qc_measurement *m, sel_group **out, size_t *nout)
{
    const char **keys;
    size_t nk;
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

typedef struct sel_out {
    int64_t *t;
    vt_value *v; /* n * ncols */
    size_t n, cap, ncols;
    bool oom;
} sel_out;

static bool sel_out_push(sel_out *o, int64_t t, const vt_value *vals)
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

static void sel_out_free(sel_out *o)
{
    free(o->t);
    free(o->v);
    memset(o, 0, sizeof *o);
}

typedef struct sel_emit {
    size_t series_seen, series_emitted;
    const char **colnames;
} sel_emit;

static bool sel_desc(const sel *q)
{
    return q->s->nsort > 0 && !q->s->sort[0].asc;
}

/* Applies LIMIT/OFFSET and prints one series; honours SLIMIT/SOFFSET. */
static void sel_print(sel *q, sel_emit *em, const sel_group *g, sel_out *o, qr_writer *w)
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
static vt_type sel_field_type(const sel *q, const char *name)
{
    for (size_t i = 0; i < q->nms; i++)
        for (size_t j = 0; j < q->ms[i].nfields; j++)
            if (strcmp(q->ms[i].fields[j].name, name) == 0)
                return q->ms[i].fields[j].type;
    return VT_TYPE_NONE;
}

static vt_rc sel_xf_new(sel *q, const sel_call *c, int64_t interval, bool desc, vt_type in,
                        xf_state **out)
{
    char buf[256];
    if (in == VT_TYPE_NONE)
        in = VT_TYPE_FLOAT;
    const char *msg = xf_type_error(c->xk, in, buf, sizeof buf);
    if (msg)
        return vt_err_set(q->err, VT_EINVAL, "%s", msg);
    if (c->xk == XF_MOVING_AVERAGE && (!c->xarg_set || c->xarg < 1))
        return vt_err_set(q->err, VT_EINVAL, "moving_average window must be greater than 1, got %" PRId64,
                          c->xarg_set ? c->xarg : 0);
    *out = xf_new(c->xk, c->xarg_set ? c->xarg : 0, interval, !desc, in);
    if (!*out)
        return vt_err_set(q->err, VT_EINVAL, "invalid arguments for %s()", c->fname);
    return VT_OK;
}

/* ---- raw execution ---- */

/*
 * Row order of a raw group. InfluxDB merges the series of a group shard by shard (7-day shard
 * groups of the default retention policy) with Go's container/heap ordered by time only, so
 * rows with equal times come out in the heap's order. volta replays the same heap operations
 * over the same inputs (series in key order) so that ties come out as InfluxDB prints them.
 */
#define SEL_SHARD_NS ((int64_t)7 * 24 * 3600 * 1000000000)

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

static int64_t sel_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Fills order[0..rows->n) with row indexes in InfluxDB's output order. */
static bool sel_raw_order(const sel *q, const sel_group *g, const sel_rows *rows, bool desc,
                          size_t *order)
{
    size_t nseries = g->nseries;
    size_t *start = calloc(nseries + 1, sizeof *start);
    sel_heap h = {.it = calloc(nseries ? nseries : 1, sizeof *h.it), .t = rows->t, .desc = desc,
                  .q = q, .rows = rows, .g = g};
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
            int64_t sh = sel_floor_div(t, SEL_SHARD_NS);
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
                while (k > a && sel_floor_div(rows->t[k - 1], SEL_SHARD_NS) == shard)
                    k--;
                if (k == b)
                    continue;
                h.it[h.n++] = (sel_heap_item){k, b};
            } else {
                size_t k = a;
                while (k < b && sel_floor_div(rows->t[k], SEL_SHARD_NS) == shard)
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

typedef struct sel_first_ctx {
    int64_t t;
    bool any;
} sel_first_ctx;
static bool sel_first_cb(void *ctx, const engine_points *p);

/* Where raw rows go: straight to the writer (LIMIT/OFFSET/SLIMIT applied on the way), or into
 * a sel_out when the output is captured (subquery, INTO) and printed by sel_print. */
typedef struct sel_sink {
    sel *q;
    sel_emit *em;
    const sel_group *g;
    qr_writer *w;
    sel_out *o;      /* capture mode */
    bool started;    /* series header written */
    bool skip;       /* SOFFSET/SLIMIT excluded this series */
    size_t rows;     /* rows seen (before OFFSET) */
    size_t emitted;  /* rows written */
} sel_sink;

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

static void sel_sink_end(sel_sink *sk)
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
static vt_rc sel_run_raw_group(sel *q, const sel_group *g, sel_sink *sk)
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
        int64_t sh = sel_floor_div(t, SEL_SHARD_NS);
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
        if (sh >= sel_floor_div(q->tmax, SEL_SHARD_NS) || sh + 1 > INT64_MAX / SEL_SHARD_NS)
            break;
        from = (sh + 1) * SEL_SHARD_NS;
    }
    bool more = true;
    for (size_t k = 0; k < nshards && more && rc == VT_OK; k++) {
        int64_t sh = shards[desc ? nshards - 1 - k : k];
        int64_t lo = sh * SEL_SHARD_NS, hi = lo + (SEL_SHARD_NS - 1);
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
            qx_row row = {.tags = s->tags, .ntags = s->ntags, .time = t, .fields = fv, .calls = calls};
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

/* ---- aggregate execution ---- */

typedef struct sel_win {
    int64_t *start; /* window starts, ascending */
    size_t n;
} sel_win;

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

static bool sel_first_cb(void *ctx, const engine_points *p)
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

static vt_rc sel_make_windows(sel *q, sel_win *w)
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
        /* window lengths vary with the zone offset: take every distinct Window() start */
        int64_t step = q->interval < 900000000000LL ? q->interval : 900000000000LL;
        v[n++] = s;
        for (int64_t t = s; t <= hi;) {
            int64_t ns, ne;
            if (t > SEL_MAX_TIME - step)
                break;
            t += step;
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
                return vt_err_set(q->err, VT_ELIMIT, "max-select-buckets limit exceeded: (%zu/%" PRIu64 ")",
                                  n, limit);
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
            return vt_err_set(q->err, VT_ELIMIT, "max-select-buckets limit exceeded: (%zu/%" PRIu64 ")",
                              n, limit);
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
    agg_state **st; /* [call * nwin + win] */
    const int *calls; /* calls reading this field */
    size_t ncalls;
    vt_type type;
    vt_str aux;
    bool has_aux;
    bool oom;
    size_t cur; /* window cursor */
} sel_agg_ctx;

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

/* Block pre-aggregates: a whole segment block inside one window feeds count/sum/mean/spread
 * from its index entry, without being decoded (engine_read_agg offers only blocks that no other
 * source overlaps, so last-write-wins cannot change them). */
static bool sel_summary_ok(const sel_call *c)
{
    if (c->is_xf || c->count_distinct || c->tag_arg)
        return false;
    return c->ak == AGG_COUNT || c->ak == AGG_SUM || c->ak == AGG_MEAN || c->ak == AGG_SPREAD;
}

static int sel_agg_block_cb(void *ctx, const engine_block_agg *b)
{
    sel_agg_ctx *c = ctx;
    if (b->count == 0)
        return 0;
    size_t win = sel_win_find(c->w, b->min_time);
    if (b->min_time < c->w->start[win])
        return 0;
    if (c->q->group_time && win + 1 < c->w->n && b->max_time >= c->w->start[win + 1])
        return 0; /* spans two windows */
    agg_summary sm;
    memset(&sm, 0, sizeof sm);
    sm.count = b->count;
    sm.min_time = b->min_time;
    sm.max_time = b->max_time;
    sm.sum.type = sm.min.type = sm.max.type = b->type;
    switch (b->type) {
    case VT_TYPE_FLOAT:
        if (b->agg.nan_count)
            return 0;
        sm.sum.v.f = b->agg.sum.f;
        sm.min.v.f = b->agg.min.f;
        sm.max.v.f = b->agg.max.f;
        break;
    case VT_TYPE_INT:
        if (b->agg.sum_overflow)
            return 0;
        sm.sum.v.i = b->agg.sum.i;
        sm.min.v.i = b->agg.min.i;
        sm.max.v.i = b->agg.max.i;
        break;
    case VT_TYPE_UINT:
        if (b->agg.sum_overflow)
            return 0;
        sm.sum.v.u = b->agg.sum.u;
        sm.min.v.u = b->agg.min.u;
        sm.max.v.u = b->agg.max.u;
        break;
    default: return 0;
    }
    /* every call must take it, or the block is decoded for all of them */
    for (size_t k = 0; k < c->ncalls; k++) {
        agg_state *st = sel_state(c, c->calls[k], win, b->type);
        if (!st)
            return -1;
        if (!agg_push_summary(st, &sm))
            return k == 0 ? 0 : -1; /* k > 0: a partial feed cannot be undone */
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
static vt_value sel_linear(int64_t x, int64_t x1, int64_t x2, const vt_value *y1, const vt_value *y2)
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
        vt_type in = inner->count_distinct ? VT_TYPE_INT
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
            if (xf_push(xs, is->t[i], &is->v[i], &xr) > 0 && !sel_stream_push(&tmp, xr.time, xr.v)) {
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

static vt_rc sel_run_agg_group(sel *q, const sel_group *g, const sel_win *w, sel_out *o)
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
                sel_agg_ctx c = {.q = q, .w = w, .st = st, .calls = fcalls, .ncalls = n,
                                 .type = type};
                if (c0->tag_arg) {
                    c.aux = qx_tag_value(s->tags, s->ntags, c0->tag_arg);
                    c.has_aux = true;
                }
                bool summaries = !q->virt;
                for (size_t k = 0; k < n && summaries; k++)
                    summaries = sel_summary_ok(&q->calls[fcalls[k]]);
                if (summaries) {
                    rc = engine_read_agg(node_engine(q->env->node), q->db, s->id, q->fields[f],
                                         q->read_tmin, q->tmax, sel_agg_block_cb, sel_agg_cb, &c,
                                         q->err);
                    if (rc == VT_ENOTFOUND) { /* deleted meanwhile: no points */
                        vt_err_clear(q->err);
                        rc = VT_OK;
                    }
                } else {
                    rc = sel_source_read(q, s->id, q->fields[f], q->read_tmin, q->tmax, sel_agg_cb, &c);
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
        vt_value *cv = calloc(ncw, sizeof *cv);   /* call values */
        int64_t *ct = calloc(ncw, sizeof *ct);    /* selected times */
        bool *has = calloc(ncw, sizeof *has);     /* window had data */
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
                        char *p = arena_strndup(q->a, cv[idx].v.s.ptr ? cv[idx].v.s.ptr : "", cv[idx].v.s.len);
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
                            cv[idx].v.i = a->v.i + (int64_t)((double)(b->v.i - a->v.i) * (tx - ta) / (tb - ta));
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
            vt_type in = inner->count_distinct ? VT_TYPE_INT
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
                    char *p = arena_strndup(q->a, vals[c].v.s.ptr ? vals[c].v.s.ptr : "", vals[c].v.s.len);
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
static vt_rc sel_run_subquery(sel *q, const influxql_select *sub)
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
                sel_sink sk = {.q = q, .em = &em, .g = &groups[gi], .w = w,
                               .o = q->capture ? &o : NULL};
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
            vt_point pt = {.measurement = {name, strlen(name)}, .tags = tags, .ntags = nt,
                           .fields = fields, .nfields = nf, .time = vs->t[r]};
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
