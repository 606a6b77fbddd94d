/*
 * query/select_compile.c — compiling a SELECT: sources, GROUP BY, WHERE (time bounds + residual
 * condition), the SELECT list (wildcards, call slots, column names), type checks, the aux list
 * and tag-postings pins. See exec_select.c for the whole design.
 */
#include "query/select_int.h"

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
const influxql_expr *sel_split_time(sel *q, const influxql_expr *e, vt_rc *rc)
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
        op = op == IQL_OP_LT    ? IQL_OP_GT
             : op == IQL_OP_GT  ? IQL_OP_LT
             : op == IQL_OP_LTE ? IQL_OP_GTE
             : op == IQL_OP_GTE ? IQL_OP_LTE
                                : op;
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

/* ---- compile: calls ---- */

/* Go's type name of a literal, as InfluxDB's argument errors print it. */
static const char *sel_go_type(const influxql_expr *e)
{
    switch (e->kind) {
    case IQL_EXPR_INTEGER: return "*influxql.IntegerLiteral";
    case IQL_EXPR_UNSIGNED: return "*influxql.UnsignedLiteral";
    case IQL_EXPR_NUMBER: return "*influxql.NumberLiteral";
    case IQL_EXPR_STRING: return "*influxql.StringLiteral";
    case IQL_EXPR_BOOLEAN: return "*influxql.BooleanLiteral";
    case IQL_EXPR_DURATION: return "*influxql.DurationLiteral";
    case IQL_EXPR_REGEX: return "*influxql.RegexLiteral";
    case IQL_EXPR_VARREF: return "*influxql.VarRef";
    case IQL_EXPR_CALL: return "*influxql.Call";
    case IQL_EXPR_BINARY: return "*influxql.BinaryExpr";
    case IQL_EXPR_WILDCARD: return "*influxql.Wildcard";
    default: return "*influxql.Expr";
    }
}

/* The arguments after the first of a transform, checked as InfluxDB 1.6 does (same messages):
 * derivative, non_negative_derivative and elapsed take an optional positive duration,
 * moving_average an integer window above 1, the others nothing. */
static vt_rc sel_xf_args(sel *q, const char *name, xf_kind xk, influxql_expr **args, size_t nargs,
                         sel_call *c)
{
    const influxql_expr *a1 = nargs >= 2 ? sel_unparen(args[1]) : NULL;
    switch (xk) {
    case XF_DERIVATIVE:
    case XF_NON_NEGATIVE_DERIVATIVE:
    case XF_ELAPSED:
        if (nargs > 2)
            return vt_err_set(q->err, VT_EINVAL,
                              "invalid number of arguments for %s, expected at least 1 but no "
                              "more than 2, got %zu",
                              name, nargs);
        if (!a1)
            return VT_OK;
        if (a1->kind != IQL_EXPR_DURATION)
            return vt_err_set(q->err, VT_EINVAL, "second argument to %s must be a duration, got %s",
                              name, sel_go_type(a1));
        if (a1->u.duration <= 0) {
            char d[VT_FMT_DURATION_MAX];
            vt_duration_format_influxql(d, a1->u.duration);
            return vt_err_set(q->err, VT_EINVAL, "duration argument must be positive, got %s", d);
        }
        c->xarg = a1->u.duration;
        c->xarg_set = true;
        return VT_OK;
    case XF_MOVING_AVERAGE:
        if (nargs != 2)
            return vt_err_set(q->err, VT_EINVAL,
                              "invalid number of arguments for moving_average, expected 2, got %zu",
                              nargs);
        if (a1->kind != IQL_EXPR_INTEGER)
            return vt_err_set(q->err, VT_EINVAL,
                              "second argument for moving_average must be an integer, got %s",
                              sel_go_type(a1));
        c->xarg = a1->u.integer;
        c->xarg_set = true;
        return VT_OK;
    default:
        if (nargs != 1)
            return vt_err_set(q->err, VT_EINVAL,
                              "invalid number of arguments for %s, expected 1, got %zu", name,
                              nargs);
        return VT_OK;
    }
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
            vt_err_set(q->err, VT_EINVAL,
                       "invalid number of arguments for %s, expected at least 1, got 0", name);
            return -1;
        }
        const influxql_expr *a0 = sel_unparen(args[0]);
        if (a0->kind == IQL_EXPR_CALL) {
            c.inner = sel_call_slot(q, a0, err);
            if (c.inner < 0)
                return -1;
            if (q->calls[c.inner].is_xf) {
                vt_err_set(q->err, VT_EINVAL, "%s() cannot be nested in %s()",
                           q->calls[c.inner].fname, name);
                return -1;
            }
        } else {
            c.field = sel_call_field(q, e, a0);
            if (c.field < 0)
                return -1;
        }
        if (sel_xf_args(q, name, xk, args, nargs, &c) != VT_OK)
            return -1;
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
        vt_err_set(q->err, VT_EINVAL, "invalid number of arguments for %s, expected 1, got 0",
                   name);
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
            vt_err_set(q->err, VT_EINVAL,
                       "invalid number of arguments for percentile, expected 2, got %zu", nargs);
            return -1;
        }
        if (!sel_num_arg(args[1], &c.aa.percentile)) {
            vt_err_set(q->err, VT_EINVAL, "expected float argument in percentile()");
            return -1;
        }
        break;
    case AGG_SAMPLE:
        if (nargs != 2) {
            vt_err_set(q->err, VT_EINVAL,
                       "invalid number of arguments for sample, expected 2, got %zu", nargs);
            return -1;
        }
        if (!sel_int_arg(args[1], &c.aa.n)) {
            vt_err_set(q->err, VT_EINVAL, "expected integer argument in sample()");
            return -1;
        }
        if (c.aa.n <= 0) {
            vt_err_set(q->err, VT_EINVAL, "sample window must be greater than 1, got %" PRId64,
                       c.aa.n);
            return -1;
        }
        break;
    case AGG_TOP:
    case AGG_BOTTOM: {
        if (nargs < 2) {
            vt_err_set(q->err, VT_EINVAL,
                       "invalid number of arguments for %s, expected at least 2, got %zu", name,
                       nargs);
            return -1;
        }
        if (!sel_int_arg(args[nargs - 1], &c.aa.n)) {
            vt_err_set(q->err, VT_EINVAL, "expected integer as last argument in %s(), found %s",
                       name, nargs < 2 ? "nothing" : "an expression");
            return -1;
        }
        if (c.aa.n <= 0) {
            vt_err_set(q->err, VT_EINVAL, "limit (%" PRId64 ") in %s function must be at least 1",
                       c.aa.n, name);
            return -1;
        }
        if (nargs == 3) {
            const influxql_expr *t = sel_unparen(args[1]);
            if (t->kind != IQL_EXPR_VARREF) {
                vt_err_set(q->err, VT_EINVAL, "only fields or tags are allowed in %s(), found %s",
                           name, "an expression");
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
            vt_err_set(q->err, VT_EINVAL, "invalid number of arguments for %s, expected 1, got %zu",
                       name, nargs);
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
                if (all[j].tag &&
                    (ue->kind == IQL_EXPR_WILDCARD ? ue->u.wildcard == IQL_TYPE_FIELD : false))
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
        vt_type t =
            e->u.ref.type == IQL_TYPE_UNKNOWN ? sel_field_type(q, e->u.ref.name) : VT_TYPE_NONE;
        if (t == VT_TYPE_FLOAT)
            c->u.ref.type = IQL_TYPE_FLOAT;
        else if (t == VT_TYPE_INT)
            c->u.ref.type = IQL_TYPE_INTEGER;
        else if (t == VT_TYPE_UINT)
            c->u.ref.type = IQL_TYPE_UNSIGNED;
        else if (t == VT_TYPE_STRING)
            c->u.ref.type = IQL_TYPE_STRING;
        else if (t == VT_TYPE_BOOL)
            c->u.ref.type = IQL_TYPE_BOOLEAN;
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
                 op == IQL_OP_MOD || op == IQL_OP_BITAND || op == IQL_OP_BITOR ||
                 op == IQL_OP_BITXOR;
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
    qx_compile_opts o = {
        .resolve = sel_resolve, .ctx = q, .call_slot = sel_call_slot, .env = q->env, .tz = q->tz};
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
            snprintf(alt, len, "%.*s_%d", (int)name.len, name.data ? (const char *)name.data : "",
                     k);
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
        if (!c->count_distinct && (c->ak == AGG_TOP || c->ak == AGG_BOTTOM ||
                                   c->ak == AGG_DISTINCT || c->ak == AGG_SAMPLE))
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
        if (refs) { /* a top/bottom tag argument alone needs no lookup: the rows carry it */
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
        return vt_err_set(q->err, VT_EINVAL,
                          "selector function %s() cannot be combined with other functions",
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
    /* a transform of raw points next to an aggregate: InfluxDB requires an aggregate inside
     * with GROUP BY time, and without it merges two unrelated results into one series; volta
     * refuses both (docs/COMPATIBILITY.md) */
    if (q->aggregate) {
        for (size_t i = 0; i < q->ncalls; i++)
            if (q->calls[i].is_xf && q->calls[i].inner < 0)
                return q->group_time
                           ? vt_err_set(q->err, VT_EINVAL,
                                        "aggregate function required inside the call to %s",
                                        q->calls[i].fname)
                           : vt_err_set(q->err, VT_EINVAL,
                                        "mixing aggregate and non-aggregate queries is not "
                                        "supported");
    }
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

/* ---- compile: tag postings ---- */

static void sel_collect_pins(sel *q, const influxql_expr *e, const char **k, const char **v,
                             size_t cap, size_t *n)
{
    e = sel_unparen(e);
    if (!e || e->kind != IQL_EXPR_BINARY)
        return;
    if (e->u.bin.op == IQL_OP_AND) {
        sel_collect_pins(q, e->u.bin.lhs, k, v, cap, n);
        sel_collect_pins(q, e->u.bin.rhs, k, v, cap, n);
        return;
    }
    if (e->u.bin.op != IQL_OP_EQ || *n == cap)
        return;
    const influxql_expr *l = sel_unparen(e->u.bin.lhs), *r = sel_unparen(e->u.bin.rhs);
    if (l->kind == IQL_EXPR_STRING && r->kind == IQL_EXPR_VARREF) {
        const influxql_expr *t = l;
        l = r;
        r = t;
    }
    if (l->kind != IQL_EXPR_VARREF || r->kind != IQL_EXPR_STRING ||
        l->u.ref.type == IQL_TYPE_FIELD || strcasecmp(l->u.ref.name, "time") == 0 || !r->u.str[0])
        return;
    /* a field of that name makes it a field comparison */
    if (engine_field_type(node_engine(q->env->node), q->store, q->s->sources[0].name, l->u.ref.name) !=
        VT_TYPE_NONE)
        return;
    k[*n] = l->u.ref.name;
    v[*n] = r->u.str;
    (*n)++;
}

/* The `tag = 'value'` conjuncts of WHERE that let the series come from the tag postings instead
 * of a scan of the measurement. Only when nothing needs the measurement's whole tag set (wildcard
 * columns, GROUP BY * or a regex). */
static size_t sel_pins(sel *q, const char **k, const char **v, size_t cap)
{
    const influxql_select *s = q->s;
    if (!s->where || s->nsources != 1 || s->sources[0].kind != IQL_SOURCE_MEASUREMENT ||
        !s->sources[0].name)
        return 0;
    for (size_t i = 0; i < s->nfields; i++) {
        const influxql_expr *f = sel_unparen(s->fields[i].expr);
        if (f->kind == IQL_EXPR_WILDCARD || f->kind == IQL_EXPR_REGEX)
            return 0;
        if (f->kind == IQL_EXPR_CALL && f->u.call.nargs &&
            (sel_unparen(f->u.call.args[0])->kind == IQL_EXPR_WILDCARD ||
             sel_unparen(f->u.call.args[0])->kind == IQL_EXPR_REGEX))
            return 0;
    }
    for (size_t i = 0; i < s->ndims; i++) {
        const influxql_expr *d = sel_unparen(s->dims[i]);
        if (d->kind == IQL_EXPR_WILDCARD || d->kind == IQL_EXPR_REGEX)
            return 0;
    }
    size_t n = 0;
    sel_collect_pins(q, s->where, k, v, cap, &n);
    return n;
}

/* ---- compile: everything ---- */

vt_rc sel_compile(sel *q)
{
    const influxql_select *s = q->s;
    vt_rc rc;
    if (s->tz) {
        q->tz = vt_tz_get(s->tz, q->err);
        if (!q->tz)
            return q->err->rc ? q->err->rc : VT_EINVAL;
    }
    const char *sdb = NULL, *srp = NULL;
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
        if (s->sources[i].rp && s->sources[i].rp[0])
            srp = s->sources[i].rp;
    }
    if (sub) {
        rc = sel_run_subquery(q, sub);
        if (rc != VT_OK)
            return rc;
    } else {
        rc = iql_resolve_db(q->env, sdb, &q->db, q->err);
        if (rc != VT_OK)
            return rc;
        rc = iql_resolve_store(q->env, q->a, q->db, srp, &q->store, q->err);
        if (rc != VT_OK)
            return rc;
        q->shard_ns = iql_shard_duration(q->env, q->db, srp);
        const char *pk[16], *pv[16];
        size_t npins = sel_pins(q, pk, pv, 16);
        if (npins)
            rc = qc_load_pinned(node_engine(q->env->node), q->a, q->store, s->sources[0].name, pk, pv,
                                npins, &q->ms, &q->nms, q->err);
        else
            rc = qc_load_sources(node_engine(q->env->node), q->a, &q->xc, q->store, s->sources,
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
            if (strcmp(d->u.call.name, "time") != 0 || d->u.call.nargs < 1 || d->u.call.nargs > 2)
                return vt_err_set(q->err, VT_EINVAL, "only time() calls allowed in dimensions");
            if (q->group_time)
                return vt_err_set(q->err, VT_EINVAL, "multiple time dimensions not allowed");
            {
                const influxql_expr *iv = sel_unparen(d->u.call.args[0]);
                if (iv->kind != IQL_EXPR_DURATION)
                    return vt_err_set(q->err, VT_EINVAL,
                                      "time dimension must have duration argument");
                if (iv->u.duration < 0)
                    return vt_err_set(q->err, VT_EINVAL,
                                      "time dimension must have a positive duration");
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
                        return vt_err_set(q->err, VT_EINVAL,
                                          "time dimension offset must be duration or now()");
                    }
                }
                q->group_time = true;
            }
            break;
        case IQL_EXPR_VARREF:
            if (strcasecmp(d->u.ref.name, "time") == 0)
                return vt_err_set(q->err, VT_EINVAL,
                                  "time() is a function and expects at least one argument");
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
