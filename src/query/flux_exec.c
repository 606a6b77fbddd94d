/*
 * query/flux_exec.c — the Flux executor: compiles a parsed program into pipelines and runs them
 * over the native engine, writing annotated CSV (query/flux_csv.c).
 *
 * DESIGN
 *  1. Compilation. Every expression statement whose value is a table stream becomes a
 *     pipeline: the pipe chain is flattened (a chain starting at a variable continues the
 *     variable's own chain), its source must be from(bucket:) and it must contain range().
 *     Each other call becomes an op with its arguments checked and evaluated now (constants,
 *     durations, times, arrays, records, functions); a wrong or missing argument is a
 *     compilation error worded as libflux does ("missing required argument as") with the
 *     call's span. A chain that does not end in yield() gets an implicit yield "_result".
 *  2. Source. from + range read the engine: measurements sorted, series in series-key order,
 *     fields sorted — the order of InfluxDB 2.x storage, whose series keys sort _measurement
 *     first and _field last. One table per (series, field) with columns
 *     _start _stop _time _value _field _measurement <tags> and group key
 *     _start _stop _field _measurement <tags>. Filters standing between from and the first
 *     other op are pushed down: evaluated once per measurement and once per series with
 *     _value/_time unknown (three-valued), a series whose filter is certainly false or null is
 *     never read. They are still evaluated per row afterwards.
 *  3. Streaming. Tables go one at a time through the ops (push); per-table ops (filter, map,
 *     window, aggregates, keep/drop/rename/duplicate, limit, sort) transform and pass them on
 *     at once; regrouping ops (group, pivot) hold their input until the upstream is finished
 *     (finish), then emit their tables in group-key order. yield writes each table it sees to
 *     its result's CSV buffer and passes it on. So memory holds one input table at a time,
 *     except behind group/pivot.
 *  4. Values. Nulls follow Flux: a missing column reads as null; arithmetic and comparisons
 *     with a null operand give null; filter keeps a row only when its predicate is true.
 *  5. Output. Results are written in the order their yields appear in the program.
 *
 * All memory of a run comes from one arena (strings, labels, compiled program) plus malloc'd
 * tables freed as they leave the pipeline; flux_exec_run frees everything before returning.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/point.h"
#include "common/timefmt.h"
#include "query/arena.h"
#include "query/exec_int.h"
#include "query/flux_exec.h"
#include "query/flux_parser.h"
#include "query/flux_table.h"

#define FX_MAX_RESULTS 64
#define FX_MAX_VAR_DEPTH 32

typedef struct fx_dur {
    int64_t months, ns;
} fx_dur;

typedef enum agg_fn {
    AF_COUNT,
    AF_SUM,
    AF_MEAN,
    AF_MEDIAN,
    AF_MIN,
    AF_MAX,
    AF_FIRST,
    AF_LAST,
} agg_fn;

static const char *const agg_fn_names[] = {"count", "sum",  "mean",  "median",
                                           "min",   "max",  "first", "last"};

typedef enum op_kind {
    OP_FILTER,
    OP_GROUP,
    OP_AGGWIN,
    OP_WINDOW,
    OP_AGG,
    OP_KEEP,
    OP_DROP,
    OP_RENAME,
    OP_DUP,
    OP_LIMIT,
    OP_SORT,
    OP_YIELD,
    OP_MAP,
    OP_PIVOT,
} op_kind;

typedef struct fx_op {
    op_kind kind;
    const flux_node *call;
    const char *name;
    const flux_node *fn; /* filter / map: the function */
    const char *param;   /* its parameter name */
    bool keep_empty;     /* filter(onEmpty: "keep") */
    const char **cols;   /* group/keep/drop/sort columns, rename old names, pivot rowKey */
    size_t ncols;
    const char **cols2; /* rename new names, pivot columnKey */
    size_t ncols2;
    bool except, desc, create_empty;
    const char *column; /* aggregate column, duplicate column, pivot valueColumn */
    const char *as;     /* duplicate as, aggregateWindow timeSrc */
    fx_dur every, offset;
    agg_fn af;
    int64_t n, off;
    int result;
    /* group/pivot: held input */
    fx_table **held;
    size_t nheld, capheld;
} fx_op;

typedef struct fx_pipe {
    const char *bucket;
    const char *db;
    const flux_node *from_call;
    int64_t start, stop;
    fx_op *ops;
    size_t nops, cap;
    size_t npush; /* leading filter ops pushed down to series selection */
} fx_pipe;

typedef struct fx_ctx {
    arena *a;
    engine *eng;
    const flux_exec_options *o;
    int64_t now;
    flux_exec_error *err;
    const flux_file *file;
    qx_ctx xc;
    struct {
        const flux_node *n;
        qx_regex *re;
    } *rx;
    size_t nrx, caprx;
    fx_csv res[FX_MAX_RESULTS];
    size_t nres;
    int var_depth;
} fx_ctx;

/* ---- errors ---- */

static vt_rc fx_fail(fx_ctx *c, vt_rc rc, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static vt_rc fx_fail(fx_ctx *c, vt_rc rc, int status, const char *code, const char *fmt, ...)
{
    if (c->err->rc != VT_OK)
        return c->err->rc; /* the first error wins */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err->msg, sizeof c->err->msg, fmt, ap);
    va_end(ap);
    c->err->rc = rc;
    c->err->http_status = status;
    c->err->code = code;
    return rc;
}

static vt_rc fx_oom(fx_ctx *c)
{
    return fx_fail(c, VT_ENOMEM, 500, "internal error", "out of memory");
}

/* A compile-time error at node n: 400 "compilation failed: error @L:C-L:C: msg". */
static vt_rc fx_cerr(fx_ctx *c, const flux_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static vt_rc fx_cerr(fx_ctx *c, const flux_node *n, const char *fmt, ...)
{
    char m[VT_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    return fx_fail(c, VT_EINVAL, 400, "invalid", "compilation failed: error @%u:%u-%u:%u: %s",
                   n->line, n->col, n->end_line, n->end_col, m);
}

/* A runtime error of a call: 400 `error calling function "f" @L:C-L:C: msg`. */
static vt_rc fx_rerr(fx_ctx *c, const fx_op *op, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static vt_rc fx_rerr(fx_ctx *c, const fx_op *op, const char *fmt, ...)
{
    char m[VT_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    const flux_node *n = op->call;
    return fx_fail(c, VT_EINVAL, 400, "invalid", "error calling function \"%s\" @%u:%u-%u:%u: %s",
                   op->name, n->line, n->col, n->end_line, n->end_col, m);
}

/* ---- calendar arithmetic (proleptic Gregorian, UTC) ---- */

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = floordiv(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int64_t *m, int64_t *d)
{
    z += 719468;
    int64_t era = floordiv(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

#define NS_PER_DAY INT64_C(86400000000000)

/* t + k*d; months first (Go's AddDate normalisation: Jan 31 + 1mo = Mar 3), then ns. */
static int64_t time_add(int64_t t, fx_dur d, int64_t k)
{
    if (d.months) {
        int64_t day = floordiv(t, NS_PER_DAY), rem = t - day * NS_PER_DAY;
        int64_t y, m, dd;
        civil_from_days(day, &y, &m, &dd);
        int64_t mi = y * 12 + (m - 1) + d.months * k;
        int64_t ny = floordiv(mi, 12), nm = mi - ny * 12 + 1;
        t = (days_from_civil(ny, nm, 1) + dd - 1) * NS_PER_DAY + rem;
    }
    return t + d.ns * k;
}

/* Start of the window (every, offset) holding t, aligned to the epoch. */
static int64_t window_start(int64_t t, fx_dur every, fx_dur offset)
{
    if (every.months) {
        int64_t day = floordiv(t - offset.ns, NS_PER_DAY);
        int64_t y, m, dd;
        civil_from_days(day, &y, &m, &dd);
        int64_t mi = (y - 1970) * 12 + (m - 1);
        mi -= mi - floordiv(mi, every.months) * every.months;
        int64_t ny = 1970 + floordiv(mi, 12), nm = mi - floordiv(mi, 12) * 12 + 1;
        int64_t s = days_from_civil(ny, nm, 1) * NS_PER_DAY + offset.ns;
        if (s > t)
            s = time_add(s, every, -1);
        return s;
    }
    int64_t r = (t - offset.ns) % every.ns;
    if (r < 0)
        r += every.ns;
    return t - r;
}

/* ---- small helpers ---- */

static bool is_ident(const flux_node *n, const char *name)
{
    n = flux_unparen(n);
    return n && n->kind == FLUX_EXPR_IDENT && strcmp(n->u.ident, name) == 0;
}

static const flux_node *call_arg(const flux_node *call, const char *key)
{
    for (size_t i = 0; i < call->u.call.nargs; i++)
        if (strcmp(call->u.call.args[i].key, key) == 0)
            return call->u.call.args[i].value ? call->u.call.args[i].value : NULL;
    return NULL;
}

static const char *call_name(const flux_node *call)
{
    const flux_node *f = flux_unparen(call->u.call.callee);
    if (f->kind == FLUX_EXPR_IDENT)
        return f->u.ident;
    if (f->kind == FLUX_EXPR_MEMBER && flux_unparen(f->u.member.object)->kind == FLUX_EXPR_IDENT)
        return f->u.member.property; /* schema.fieldsAsCols */
    return NULL;
}

static const flux_node *find_var(fx_ctx *c, const char *name)
{
    const flux_node *found = NULL;
    for (size_t i = 0; i < c->file->u.file.nbody; i++) {
        const flux_node *s = c->file->u.file.body[i];
        if (s->kind == FLUX_STMT_VAR && strcmp(s->u.assign.name, name) == 0)
            found = s->u.assign.init;
    }
    return found;
}

static vt_str str_dup(fx_ctx *c, const char *s, size_t n)
{
    vt_str r = {arena_strndup(c->a, s ? s : "", n), n};
    return r;
}

/* ---- compile-time argument values ---- */

typedef enum cv_kind {
    CV_INT,
    CV_FLOAT,
    CV_STR,
    CV_BOOL,
    CV_DUR,
    CV_TIME,
    CV_ARRAY,
    CV_RECORD,
    CV_FUNC,
    CV_BUILTIN,
} cv_kind;

typedef struct fx_cval {
    cv_kind k;
    int64_t i;
    double f;
    const char *s;
    bool b;
    fx_dur d;
    const flux_node *n;
} fx_cval;

static const char *const cv_kind_names[] = {"int",   "float",  "string", "bool", "duration",
                                            "time",  "array",  "record", "function",
                                            "function"};

static vt_rc cv_eval(fx_ctx *c, const flux_node *n, fx_cval *out)
{
    n = flux_unparen(n);
    memset(out, 0, sizeof *out);
    out->n = n;
    switch (n->kind) {
    case FLUX_EXPR_INT: out->k = CV_INT; out->i = n->u.integer; return VT_OK;
    case FLUX_EXPR_FLOAT: out->k = CV_FLOAT; out->f = n->u.flt; return VT_OK;
    case FLUX_EXPR_STRING: out->k = CV_STR; out->s = n->u.str; return VT_OK;
    case FLUX_EXPR_DURATION:
        out->k = CV_DUR;
        if (flux_duration_value(n, &out->d.months, &out->d.ns) != VT_OK)
            return fx_cerr(c, n, "duration out of range");
        return VT_OK;
    case FLUX_EXPR_DATETIME:
        out->k = CV_TIME;
        if (flux_datetime_ns(n, &out->i) != VT_OK)
            return fx_cerr(c, n, "time out of range");
        return VT_OK;
    case FLUX_EXPR_ARRAY: out->k = CV_ARRAY; return VT_OK;
    case FLUX_EXPR_RECORD: out->k = CV_RECORD; return VT_OK;
    case FLUX_EXPR_FUNCTION: out->k = CV_FUNC; return VT_OK;
    case FLUX_EXPR_UNARY:
        if (n->u.unary.op == FLUX_OP_SUB || n->u.unary.op == FLUX_OP_ADD) {
            vt_rc rc = cv_eval(c, n->u.unary.arg, out);
            if (rc != VT_OK)
                return rc;
            out->n = n;
            if (n->u.unary.op == FLUX_OP_ADD)
                return VT_OK;
            if (out->k == CV_INT && out->i != INT64_MIN)
                out->i = -out->i;
            else if (out->k == CV_FLOAT)
                out->f = -out->f;
            else if (out->k == CV_DUR) {
                out->d.months = -out->d.months;
                out->d.ns = -out->d.ns;
            } else
                return fx_cerr(c, n, "invalid unary operator - on %s", cv_kind_names[out->k]);
            return VT_OK;
        }
        break;
    case FLUX_EXPR_IDENT: {
        if (strcmp(n->u.ident, "true") == 0 || strcmp(n->u.ident, "false") == 0) {
            out->k = CV_BOOL;
            out->b = n->u.ident[0] == 't';
            return VT_OK;
        }
        const flux_node *v = find_var(c, n->u.ident);
        if (v) {
            if (++c->var_depth > FX_MAX_VAR_DEPTH)
                return fx_cerr(c, n, "variable %s refers to itself", n->u.ident);
            vt_rc rc = cv_eval(c, v, out);
            c->var_depth--;
            return rc;
        }
        for (size_t i = 0; i < sizeof agg_fn_names / sizeof *agg_fn_names; i++)
            if (strcmp(n->u.ident, agg_fn_names[i]) == 0) {
                out->k = CV_BUILTIN;
                out->s = n->u.ident;
                return VT_OK;
            }
        return fx_cerr(c, n, "undefined identifier %s", n->u.ident);
    }
    case FLUX_EXPR_CALL:
        if (is_ident(n->u.call.callee, "now") && n->u.call.nargs == 0) {
            out->k = CV_TIME;
            out->i = c->now;
            return VT_OK;
        }
        break;
    default: break;
    }
    return fx_cerr(c, n, "volta cannot evaluate this argument expression before execution");
}

/* Argument key of call as kind k (required: error when absent). found may be NULL. */
static vt_rc arg_get(fx_ctx *c, const flux_node *call, const char *key, bool required,
                     fx_cval *out, bool *found)
{
    const flux_node *v = call_arg(call, key);
    if (found)
        *found = false;
    if (!v) {
        if (required)
            return fx_cerr(c, call, "missing required argument %s", key);
        return VT_OK;
    }
    vt_rc rc = cv_eval(c, v, out);
    if (rc == VT_OK && found)
        *found = true;
    return rc;
}

static vt_rc arg_typed(fx_ctx *c, const flux_node *call, const char *key, bool required,
                       cv_kind k, fx_cval *out, bool *found)
{
    bool f = false;
    vt_rc rc = arg_get(c, call, key, required, out, &f);
    if (rc != VT_OK)
        return rc;
    if (found)
        *found = f;
    if (f && out->k != k && !(k == CV_FUNC && out->k == CV_BUILTIN))
        return fx_cerr(c, out->n, "expected %s but found %s (argument %s)", cv_kind_names[k],
                       cv_kind_names[out->k], key);
    return VT_OK;
}

/* An array of strings. */
static vt_rc arg_strings(fx_ctx *c, const flux_node *call, const char *key, bool required,
                         const char ***out, size_t *n, bool *found)
{
    fx_cval v;
    bool f = false;
    vt_rc rc = arg_typed(c, call, key, required, CV_ARRAY, &v, &f);
    if (found)
        *found = f;
    if (rc != VT_OK || !f)
        return rc;
    size_t cnt = v.n->u.array.n;
    const char **arr = arena_calloc(c->a, cnt ? cnt : 1, sizeof *arr);
    if (!arr)
        return fx_oom(c);
    for (size_t i = 0; i < cnt; i++) {
        fx_cval e;
        rc = cv_eval(c, v.n->u.array.elems[i], &e);
        if (rc != VT_OK)
            return rc;
        if (e.k != CV_STR)
            return fx_cerr(c, e.n, "expected string but found %s (argument %s)",
                           cv_kind_names[e.k], key);
        arr[i] = e.s;
    }
    *out = arr;
    *n = cnt;
    return VT_OK;
}

/* A time bound: duration relative to now, time, or integer Unix seconds. */
static vt_rc arg_time(fx_ctx *c, const flux_node *call, const char *key, bool required,
                      int64_t *out, bool *found)
{
    fx_cval v;
    bool f = false;
    vt_rc rc = arg_get(c, call, key, required, &v, &f);
    if (found)
        *found = f;
    if (rc != VT_OK || !f)
        return rc;
    switch (v.k) {
    case CV_DUR: *out = time_add(c->now, v.d, 1); return VT_OK;
    case CV_TIME: *out = v.i; return VT_OK;
    case CV_INT:
        if (v.i > INT64_MAX / 1000000000 || v.i < INT64_MIN / 1000000000)
            return fx_cerr(c, v.n, "time out of range");
        *out = v.i * 1000000000;
        return VT_OK;
    default:
        return fx_cerr(c, v.n, "expected time but found %s (argument %s)", cv_kind_names[v.k],
                       key);
    }
}

/* ---- compilation ---- */

static fx_op *pipe_add(fx_ctx *c, fx_pipe *p, op_kind k, const flux_node *call, const char *name)
{
    if (p->nops == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 8;
        fx_op *ops = arena_calloc(c->a, ncap, sizeof *ops);
        if (!ops)
            return NULL;
        if (p->nops)
            memcpy(ops, p->ops, p->nops * sizeof *ops);
        p->ops = ops;
        p->cap = ncap;
    }
    fx_op *op = &p->ops[p->nops++];
    memset(op, 0, sizeof *op);
    op->kind = k;
    op->call = call;
    op->name = name;
    op->result = -1;
    return op;
}

static int result_index(fx_ctx *c, const char *name, const flux_node *at, vt_rc *rc)
{
    for (size_t i = 0; i < c->nres; i++)
        if (strcmp(c->res[i].name, name) == 0) {
            *rc = fx_cerr(c, at, "duplicate yield name \"%s\"", name);
            return -1;
        }
    if (c->nres == FX_MAX_RESULTS) {
        *rc = fx_cerr(c, at, "too many results (at most %d yields)", FX_MAX_RESULTS);
        return -1;
    }
    fx_csv_init(&c->res[c->nres], name, c->o);
    *rc = VT_OK;
    return (int)c->nres++;
}

static vt_rc fn_param(fx_ctx *c, const fx_cval *v, const char *key, const char **param)
{
    const flux_node *fn = v->n;
    if (fn->u.fn.nparams != 1 || fn->u.fn.is_block)
        return fx_cerr(c, fn, "volta executes %s functions of the form (r) => expression", key);
    *param = fn->u.fn.params[0].key;
    return VT_OK;
}

static bool agg_lookup_name(const char *name, agg_fn *out)
{
    for (size_t i = 0; i < sizeof agg_fn_names / sizeof *agg_fn_names; i++)
        if (strcmp(name, agg_fn_names[i]) == 0) {
            *out = (agg_fn)i;
            return true;
        }
    return false;
}

static vt_rc agg_by_name(fx_ctx *c, const flux_node *at, const char *name, agg_fn *out)
{
    if (agg_lookup_name(name, out))
        return VT_OK;
    return fx_cerr(c, at, "volta's aggregateWindow supports fn: count, sum, mean, median, "
                          "min, max, first, last (got %s)",
                   name);
}

static vt_rc compile_call(fx_ctx *c, fx_pipe *p, const flux_node *call)
{
    const char *name = call_name(call);
    if (!name)
        return fx_cerr(c, call, "volta executes calls of named functions only");
    vt_rc rc = VT_OK;
    fx_cval v;
    bool found;
    agg_fn af;
    if (strcmp(name, "range") == 0) {
        if (p->start != INT64_MIN)
            return fx_cerr(c, call, "volta executes one range() per pipeline");
        if ((rc = arg_time(c, call, "start", true, &p->start, NULL)) != VT_OK)
            return rc;
        p->stop = c->now;
        if ((rc = arg_time(c, call, "stop", false, &p->stop, NULL)) != VT_OK)
            return rc;
        if (p->nops != p->npush) /* only filters before range */
            return fx_cerr(c, call, "volta executes range() only right after from() and "
                                    "filter()");
        return VT_OK;
    }
    fx_op *op = NULL;
    if (strcmp(name, "filter") == 0) {
        op = pipe_add(c, p, OP_FILTER, call, name);
        if (!op)
            return fx_oom(c);
        if ((rc = arg_typed(c, call, "fn", true, CV_FUNC, &v, NULL)) != VT_OK)
            return rc;
        if (v.k != CV_FUNC)
            return fx_cerr(c, v.n, "expected a predicate function (argument fn)");
        op->fn = v.n;
        if ((rc = fn_param(c, &v, "filter", &op->param)) != VT_OK)
            return rc;
        if ((rc = arg_typed(c, call, "onEmpty", false, CV_STR, &v, &found)) != VT_OK)
            return rc;
        if (found) {
            if (strcmp(v.s, "keep") != 0 && strcmp(v.s, "drop") != 0)
                return fx_cerr(c, v.n, "onEmpty must be \"keep\" or \"drop\", got \"%s\"", v.s);
            op->keep_empty = v.s[0] == 'k';
        }
        if (p->npush == p->nops - 1)
            p->npush = p->nops; /* still in the leading run of filters */
        return VT_OK;
    }
    /* any other op ends the leading run of pushable filters */
    if (p->start == INT64_MIN)
        return fx_fail(c, VT_EINVAL, 400, "invalid",
                       "cannot submit unbounded read to \"%s\"; try bounding 'from' with a "
                       "call to 'range'",
                       p->bucket);
    if (strcmp(name, "group") == 0) {
        op = pipe_add(c, p, OP_GROUP, call, name);
        if (!op)
            return fx_oom(c);
        if ((rc = arg_strings(c, call, "columns", false, &op->cols, &op->ncols, NULL)) != VT_OK)
            return rc;
        if ((rc = arg_typed(c, call, "mode", false, CV_STR, &v, &found)) != VT_OK)
            return rc;
        if (found) {
            if (strcmp(v.s, "by") != 0 && strcmp(v.s, "except") != 0)
                return fx_cerr(c, v.n, "unknown group mode \"%s\"", v.s);
            op->except = v.s[0] == 'e';
        }
        return VT_OK;
    }
    if (strcmp(name, "aggregateWindow") == 0 || strcmp(name, "window") == 0) {
        bool aw = name[0] == 'a';
        op = pipe_add(c, p, aw ? OP_AGGWIN : OP_WINDOW, call, name);
        if (!op)
            return fx_oom(c);
        if ((rc = arg_typed(c, call, "every", true, CV_DUR, &v, NULL)) != VT_OK)
            return rc;
        op->every = v.d;
        if ((op->every.months < 0 || op->every.ns < 0) ||
            (op->every.months == 0 && op->every.ns == 0) || (op->every.months && op->every.ns))
            return fx_cerr(c, v.n, "every must be positive and either calendar months or a "
                                   "fixed duration");
        if ((rc = arg_typed(c, call, "period", false, CV_DUR, &v, &found)) != VT_OK)
            return rc;
        if (found && (v.d.months != op->every.months || v.d.ns != op->every.ns))
            return fx_cerr(c, v.n, "volta executes windows with period equal to every");
        if ((rc = arg_typed(c, call, "offset", false, CV_DUR, &v, &found)) != VT_OK)
            return rc;
        if (found) {
            if (v.d.months)
                return fx_cerr(c, v.n, "volta executes offsets in fixed units only");
            op->offset = v.d;
        }
        op->create_empty = aw;
        if ((rc = arg_typed(c, call, "createEmpty", false, CV_BOOL, &v, &found)) != VT_OK)
            return rc;
        if (found)
            op->create_empty = v.b;
        if (aw) {
            if ((rc = arg_get(c, call, "fn", true, &v, NULL)) != VT_OK)
                return rc;
            if (v.k != CV_BUILTIN)
                return fx_cerr(c, v.n, "volta's aggregateWindow takes fn: by name (mean, sum, "
                                       "count, min, max, first, last, median)");
            if ((rc = agg_by_name(c, v.n, v.s, &op->af)) != VT_OK)
                return rc;
            op->column = "_value";
            if ((rc = arg_typed(c, call, "column", false, CV_STR, &v, &found)) != VT_OK)
                return rc;
            if (found)
                op->column = v.s;
            op->as = "_stop";
            if ((rc = arg_typed(c, call, "timeSrc", false, CV_STR, &v, &found)) != VT_OK)
                return rc;
            if (found) {
                if (strcmp(v.s, "_start") != 0 && strcmp(v.s, "_stop") != 0)
                    return fx_cerr(c, v.n, "timeSrc must be \"_start\" or \"_stop\"");
                op->as = v.s;
            }
        }
        return VT_OK;
    }
    if (agg_lookup_name(name, &af)) {
        op = pipe_add(c, p, OP_AGG, call, name);
        if (!op)
            return fx_oom(c);
        op->af = af;
        op->column = "_value";
        if ((rc = arg_typed(c, call, "column", false, CV_STR, &v, &found)) != VT_OK)
            return rc;
        if (found)
            op->column = v.s;
        return VT_OK;
    }
    if (strcmp(name, "keep") == 0 || strcmp(name, "drop") == 0) {
        op = pipe_add(c, p, name[0] == 'k' ? OP_KEEP : OP_DROP, call, name);
        if (!op)
            return fx_oom(c);
        return arg_strings(c, call, "columns", true, &op->cols, &op->ncols, NULL);
    }
    if (strcmp(name, "rename") == 0) {
        op = pipe_add(c, p, OP_RENAME, call, name);
        if (!op)
            return fx_oom(c);
        if ((rc = arg_typed(c, call, "columns", true, CV_RECORD, &v, NULL)) != VT_OK)
            return rc;
        const flux_node *r = v.n;
        if (r->u.record.with)
            return fx_cerr(c, r, "rename columns must be a record literal");
        op->ncols = op->ncols2 = r->u.record.nprops;
        op->cols = arena_calloc(c->a, op->ncols + 1, sizeof *op->cols);
        op->cols2 = arena_calloc(c->a, op->ncols + 1, sizeof *op->cols2);
        if (!op->cols || !op->cols2)
            return fx_oom(c);
        for (size_t i = 0; i < op->ncols; i++) {
            fx_cval e;
            if (!r->u.record.props[i].value)
                return fx_cerr(c, r, "missing property value");
            if ((rc = cv_eval(c, r->u.record.props[i].value, &e)) != VT_OK)
                return rc;
            if (e.k != CV_STR)
                return fx_cerr(c, e.n, "expected string but found %s", cv_kind_names[e.k]);
            op->cols[i] = r->u.record.props[i].key;
            op->cols2[i] = e.s;
        }
        return VT_OK;
    }
    if (strcmp(name, "duplicate") == 0) {
        op = pipe_add(c, p, OP_DUP, call, name);
        if (!op)
            return fx_oom(c);
        if ((rc = arg_typed(c, call, "column", true, CV_STR, &v, NULL)) != VT_OK)
            return rc;
        op->column = v.s;
        if ((rc = arg_typed(c, call, "as", true, CV_STR, &v, NULL)) != VT_OK)
            return rc;
        op->as = v.s;
        return VT_OK;
    }
    if (strcmp(name, "limit") == 0) {
        op = pipe_add(c, p, OP_LIMIT, call, name);
        if (!op)
            return fx_oom(c);
        if ((rc = arg_typed(c, call, "n", true, CV_INT, &v, NULL)) != VT_OK)
            return rc;
        op->n = v.i;
        if ((rc = arg_typed(c, call, "offset", false, CV_INT, &v, &found)) != VT_OK)
            return rc;
        op->off = found ? v.i : 0;
        if (op->n < 0 || op->off < 0)
            return fx_cerr(c, call, "limit n and offset must not be negative");
        return VT_OK;
    }
    if (strcmp(name, "sort") == 0) {
        op = pipe_add(c, p, OP_SORT, call, name);
        if (!op)
            return fx_oom(c);
        if ((rc = arg_strings(c, call, "columns", false, &op->cols, &op->ncols, &found)) != VT_OK)
            return rc;
        if (!found) {
            op->cols = arena_calloc(c->a, 1, sizeof *op->cols);
            if (!op->cols)
                return fx_oom(c);
            op->cols[0] = "_value";
            op->ncols = 1;
        }
        if ((rc = arg_typed(c, call, "desc", false, CV_BOOL, &v, &found)) != VT_OK)
            return rc;
        op->desc = found && v.b;
        return VT_OK;
    }
    if (strcmp(name, "yield") == 0) {
        op = pipe_add(c, p, OP_YIELD, call, name);
        if (!op)
            return fx_oom(c);
        const char *rn = "_result";
        if ((rc = arg_typed(c, call, "name", false, CV_STR, &v, &found)) != VT_OK)
            return rc;
        if (found)
            rn = v.s;
        op->result = result_index(c, rn, call, &rc);
        return rc;
    }
    if (strcmp(name, "map") == 0) {
        op = pipe_add(c, p, OP_MAP, call, name);
        if (!op)
            return fx_oom(c);
        if ((rc = arg_typed(c, call, "fn", true, CV_FUNC, &v, NULL)) != VT_OK)
            return rc;
        if (v.k != CV_FUNC)
            return fx_cerr(c, v.n, "expected a function (argument fn)");
        op->fn = v.n;
        if ((rc = fn_param(c, &v, "map", &op->param)) != VT_OK)
            return rc;
        const flux_node *body = flux_unparen(op->fn->u.fn.expr);
        if (body->kind != FLUX_EXPR_RECORD)
            return fx_cerr(c, body, "volta executes map functions returning a record "
                                    "literal: (r) => ({...}) or ({r with ...})");
        if (body->u.record.with && strcmp(body->u.record.with, op->param) != 0)
            return fx_cerr(c, body, "undefined identifier %s", body->u.record.with);
        return VT_OK;
    }
    if (strcmp(name, "pivot") == 0 || strcmp(name, "fieldsAsCols") == 0) {
        op = pipe_add(c, p, OP_PIVOT, call, name);
        if (!op)
            return fx_oom(c);
        if (name[0] == 'f') {
            op->cols = arena_calloc(c->a, 1, sizeof *op->cols);
            op->cols2 = arena_calloc(c->a, 1, sizeof *op->cols2);
            if (!op->cols || !op->cols2)
                return fx_oom(c);
            op->cols[0] = "_time";
            op->cols2[0] = "_field";
            op->ncols = 1;
            op->ncols2 = 1;
            op->column = "_value";
            return VT_OK;
        }
        if ((rc = arg_strings(c, call, "rowKey", true, &op->cols, &op->ncols, NULL)) != VT_OK)
            return rc;
        if ((rc = arg_strings(c, call, "columnKey", true, &op->cols2, &op->ncols2, NULL)) !=
            VT_OK)
            return rc;
        if ((rc = arg_typed(c, call, "valueColumn", true, CV_STR, &v, NULL)) != VT_OK)
            return rc;
        op->column = v.s;
        if (op->ncols2 == 0)
            return fx_cerr(c, call, "pivot needs at least one columnKey");
        return VT_OK;
    }
    if (find_var(c, name))
        return fx_cerr(c, call, "volta does not call user-defined functions (%s)", name);
    static const char *const known[] = {"from", "to", "distinct", "unique", "difference",
                                        "derivative", "fill", "increase", "quantile", "top",
                                        "bottom", "spread", "stddev", "integral", "set",
                                        "timeShift", "histogram", "columns", "tail"};
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (strcmp(name, known[i]) == 0)
            return fx_fail(c, VT_EUNSUPPORTED, 400, "invalid",
                           "volta does not execute the Flux function %s() (see docs/FLUX.md)",
                           name);
    return fx_cerr(c, flux_unparen(call->u.call.callee), "undefined identifier %s", name);
}

/* Flattens the chain ending at n into p (source first). */
static vt_rc compile_chain(fx_ctx *c, fx_pipe *p, const flux_node *n)
{
    n = flux_unparen(n);
    if (n->kind == FLUX_EXPR_PIPE) {
        vt_rc rc = compile_chain(c, p, n->u.pipe.arg);
        if (rc != VT_OK)
            return rc;
        return compile_call(c, p, n->u.pipe.call);
    }
    if (n->kind == FLUX_EXPR_IDENT) {
        const flux_node *v = find_var(c, n->u.ident);
        if (!v)
            return fx_cerr(c, n, "undefined identifier %s", n->u.ident);
        if (++c->var_depth > FX_MAX_VAR_DEPTH)
            return fx_cerr(c, n, "variable %s refers to itself", n->u.ident);
        vt_rc rc = compile_chain(c, p, v);
        c->var_depth--;
        return rc;
    }
    if (n->kind == FLUX_EXPR_CALL) {
        const char *name = call_name(n);
        if (name && strcmp(name, "from") == 0) {
            fx_cval v;
            vt_rc rc;
            bool found;
            if ((rc = arg_typed(c, n, "bucketID", false, CV_STR, &v, &found)) != VT_OK)
                return rc;
            if (found)
                return fx_cerr(c, n, "volta's from() takes bucket: \"db\" or \"db/rp\"");
            if ((rc = arg_typed(c, n, "bucket", true, CV_STR, &v, NULL)) != VT_OK)
                return rc;
            p->bucket = v.s;
            p->from_call = n;
            const char *slash = strchr(v.s, '/');
            if (slash) {
                const char *rp = slash + 1;
                if (rp[0] && strcmp(rp, "autogen") != 0)
                    return fx_fail(c, VT_ENOTFOUND, 404, "not found",
                                   "failed to initialize execute state: could not find bucket "
                                   "\"%s\"",
                                   v.s);
                p->db = arena_strndup(c->a, v.s, (size_t)(slash - v.s));
            } else
                p->db = v.s;
            if (!p->db)
                return fx_oom(c);
            return VT_OK;
        }
        if (name && strcmp(name, "from") != 0)
            return fx_cerr(c, n, "volta executes pipelines that start with from() (got %s())",
                           name);
    }
    return fx_cerr(c, n, "volta executes pipelines that start with from()");
}

/* ---- expression evaluation ---- */

typedef struct fx_env {
    const char *param;
    const fx_col *cols;
    size_t ncols;
    const fx_val *row;
    int level; /* 0 row, 1 series (_value/_time unknown), 2 measurement (only it known) */
} fx_env;

static const fx_val fx_null = {.type = FX_T_NULL};
static const fx_val fx_unknown = {.type = FX_T_UNKNOWN};

static fx_val env_get(const fx_env *env, const char *label)
{
    for (size_t i = 0; i < env->ncols; i++)
        if (strcmp(env->cols[i].label, label) == 0)
            return env->row[i];
    if (env->level == 2)
        return fx_unknown;
    if (env->level == 1 && (strcmp(label, "_value") == 0 || strcmp(label, "_time") == 0 ||
                            strcmp(label, "_start") == 0 || strcmp(label, "_stop") == 0))
        return fx_unknown;
    return fx_null;
}

static qx_regex *regex_for(fx_ctx *c, const flux_node *n)
{
    for (size_t i = 0; i < c->nrx; i++)
        if (c->rx[i].n == n)
            return c->rx[i].re;
    vt_err e;
    vt_err_clear(&e);
    qx_regex *re = qx_regex_compile(&c->xc, n->u.regex, &e);
    if (!re) {
        fx_cerr(c, n, "%s", e.msg);
        return NULL;
    }
    if (c->nrx == c->caprx) {
        size_t ncap = c->caprx ? c->caprx * 2 : 8;
        void *nr = arena_calloc(c->a, ncap, sizeof *c->rx);
        if (!nr) {
            fx_oom(c);
            return NULL;
        }
        if (c->nrx)
            memcpy(nr, c->rx, c->nrx * sizeof *c->rx);
        c->rx = nr;
        c->caprx = ncap;
    }
    c->rx[c->nrx].n = n;
    c->rx[c->nrx].re = re;
    c->nrx++;
    return re;
}

static const char *type_name(uint8_t t)
{
    switch ((fx_type)t) {
    case FX_T_FLOAT: return "float";
    case FX_T_INT: return "int";
    case FX_T_UINT: return "uint";
    case FX_T_BOOL: return "bool";
    case FX_T_STRING: return "string";
    case FX_T_TIME: return "time";
    case FX_T_REGEX: return "regexp";
    default: return "null";
    }
}

static bool is_num(uint8_t t)
{
    return t == FX_T_FLOAT || t == FX_T_INT || t == FX_T_UINT;
}

static double num_f(const fx_val *v)
{
    return v->type == FX_T_FLOAT ? v->v.f : v->type == FX_T_INT ? (double)v->v.i : (double)v->v.u;
}

/* -1/0/1, or 2 when the values cannot be compared. Mixed numeric types compare as numbers. */
static int val_cmp(const fx_val *a, const fx_val *b)
{
    if (a->type != b->type) {
        if (!is_num(a->type) || !is_num(b->type))
            return 2;
        if (a->type == FX_T_INT && b->type == FX_T_UINT)
            return a->v.i < 0 ? -1 : (uint64_t)a->v.i < b->v.u ? -1 : (uint64_t)a->v.i > b->v.u;
        if (a->type == FX_T_UINT && b->type == FX_T_INT)
            return -val_cmp(b, a);
        double x = num_f(a), y = num_f(b);
        return x < y ? -1 : x > y ? 1 : 0;
    }
    switch ((fx_type)a->type) {
    case FX_T_FLOAT: return a->v.f < b->v.f ? -1 : a->v.f > b->v.f ? 1 : 0;
    case FX_T_INT:
    case FX_T_TIME: return a->v.i < b->v.i ? -1 : a->v.i > b->v.i;
    case FX_T_UINT: return a->v.u < b->v.u ? -1 : a->v.u > b->v.u;
    case FX_T_BOOL: return (int)a->v.b - (int)b->v.b;
    case FX_T_STRING: {
        size_t n = a->v.s.len < b->v.s.len ? a->v.s.len : b->v.s.len;
        int r = n ? memcmp(a->v.s.ptr, b->v.s.ptr, n) : 0;
        if (r)
            return r < 0 ? -1 : 1;
        return a->v.s.len < b->v.s.len ? -1 : a->v.s.len > b->v.s.len;
    }
    default: return 2;
    }
}

static bool val_eq(const fx_val *a, const fx_val *b)
{
    if (a->type == FX_T_NULL || b->type == FX_T_NULL)
        return a->type == b->type;
    return val_cmp(a, b) == 0;
}

static void val_text(fx_ctx *c, const fx_val *v, vt_buf *b)
{
    char tmp[VT_FMT_CSV_FLOAT_MAX];
    size_t n;
    (void)c;
    switch ((fx_type)v->type) {
    case FX_T_FLOAT:
        n = vt_fmt_csv_float(tmp, v->v.f);
        vt_buf_append(b, tmp, n);
        break;
    case FX_T_INT: vt_buf_printf(b, "%lld", (long long)v->v.i); break;
    case FX_T_UINT: vt_buf_printf(b, "%llu", (unsigned long long)v->v.u); break;
    case FX_T_BOOL: vt_buf_printf(b, "%s", v->v.b ? "true" : "false"); break;
    case FX_T_TIME:
        n = vt_fmt_rfc3339nano(tmp, v->v.i);
        vt_buf_append(b, tmp, n);
        break;
    case FX_T_STRING: vt_buf_append(b, v->v.s.ptr, v->v.s.len); break;
    default: break;
    }
}

static vt_rc ev(fx_ctx *c, const flux_node *n, const fx_env *env, fx_val *out);

static vt_rc ev_arith(fx_ctx *c, const flux_node *n, fx_val *l, fx_val *r, fx_val *out)
{
    flux_op op = n->u.binary.op;
    if (l->type == FX_T_STRING && r->type == FX_T_STRING && op == FLUX_OP_ADD) {
        size_t len = l->v.s.len + r->v.s.len;
        char *s = arena_alloc(c->a, len + 1);
        if (!s)
            return fx_oom(c);
        memcpy(s, l->v.s.ptr, l->v.s.len);
        memcpy(s + l->v.s.len, r->v.s.ptr, r->v.s.len);
        s[len] = '\0';
        out->type = FX_T_STRING;
        out->v.s.ptr = s;
        out->v.s.len = len;
        return VT_OK;
    }
    if (!is_num(l->type) || !is_num(r->type))
        return fx_cerr(c, n, "unsupported binary expression %s %s %s", type_name(l->type),
                       flux_op_name(op), type_name(r->type));
    if (l->type == r->type && l->type == FX_T_INT) {
        int64_t a = l->v.i, b = r->v.i, x = 0;
        switch (op) {
        case FLUX_OP_ADD: x = (int64_t)((uint64_t)a + (uint64_t)b); break;
        case FLUX_OP_SUB: x = (int64_t)((uint64_t)a - (uint64_t)b); break;
        case FLUX_OP_MUL: x = (int64_t)((uint64_t)a * (uint64_t)b); break;
        case FLUX_OP_DIV:
        case FLUX_OP_MOD:
            if (b == 0)
                return fx_fail(c, VT_EINVAL, 400, "invalid",
                               "runtime error @%u:%u-%u:%u: division by zero", n->line, n->col,
                               n->end_line, n->end_col);
            x = (a == INT64_MIN && b == -1) ? (op == FLUX_OP_DIV ? a : 0)
                                            : (op == FLUX_OP_DIV ? a / b : a % b);
            break;
        case FLUX_OP_POW: {
            out->type = FX_T_FLOAT;
            out->v.f = pow((double)a, (double)b);
            return VT_OK;
        }
        default: break;
        }
        out->type = FX_T_INT;
        out->v.i = x;
        return VT_OK;
    }
    if (l->type == r->type && l->type == FX_T_UINT) {
        uint64_t a = l->v.u, b = r->v.u, x = 0;
        switch (op) {
        case FLUX_OP_ADD: x = a + b; break;
        case FLUX_OP_SUB: x = a - b; break;
        case FLUX_OP_MUL: x = a * b; break;
        case FLUX_OP_DIV:
        case FLUX_OP_MOD:
            if (b == 0)
                return fx_fail(c, VT_EINVAL, 400, "invalid",
                               "runtime error @%u:%u-%u:%u: division by zero", n->line, n->col,
                               n->end_line, n->end_col);
            x = op == FLUX_OP_DIV ? a / b : a % b;
            break;
        case FLUX_OP_POW:
            out->type = FX_T_FLOAT;
            out->v.f = pow((double)a, (double)b);
            return VT_OK;
        default: break;
        }
        out->type = FX_T_UINT;
        out->v.u = x;
        return VT_OK;
    }
    double a = num_f(l), b = num_f(r), x = 0;
    switch (op) {
    case FLUX_OP_ADD: x = a + b; break;
    case FLUX_OP_SUB: x = a - b; break;
    case FLUX_OP_MUL: x = a * b; break;
    case FLUX_OP_DIV: x = a / b; break;
    case FLUX_OP_MOD: x = fmod(a, b); break;
    case FLUX_OP_POW: x = pow(a, b); break;
    default: break;
    }
    out->type = FX_T_FLOAT;
    out->v.f = x;
    return VT_OK;
}

static vt_rc ev_binary(fx_ctx *c, const flux_node *n, const fx_env *env, fx_val *out)
{
    flux_op op = n->u.binary.op;
    fx_val l, r;
    vt_rc rc = ev(c, n->u.binary.lhs, env, &l);
    if (rc == VT_OK)
        rc = ev(c, n->u.binary.rhs, env, &r);
    if (rc != VT_OK)
        return rc;
    if (l.type == FX_T_UNKNOWN || r.type == FX_T_UNKNOWN) {
        *out = fx_unknown;
        return VT_OK;
    }
    if (op == FLUX_OP_REGEXEQ || op == FLUX_OP_REGEXNEQ) {
        if (r.type != FX_T_REGEX)
            return fx_cerr(c, n->u.binary.rhs, "expected regexp but found %s",
                           type_name(r.type));
        if (l.type == FX_T_NULL) {
            *out = fx_null;
            return VT_OK;
        }
        if (l.type != FX_T_STRING)
            return fx_cerr(c, n->u.binary.lhs, "expected string but found %s",
                           type_name(l.type));
        bool m = qx_regex_match(r.v.re, l.v.s.ptr, l.v.s.len);
        out->type = FX_T_BOOL;
        out->v.b = op == FLUX_OP_REGEXEQ ? m : !m;
        return VT_OK;
    }
    if (l.type == FX_T_NULL || r.type == FX_T_NULL) {
        *out = fx_null;
        return VT_OK;
    }
    switch (op) {
    case FLUX_OP_EQ:
    case FLUX_OP_NEQ:
    case FLUX_OP_LT:
    case FLUX_OP_LTE:
    case FLUX_OP_GT:
    case FLUX_OP_GTE: {
        int cmp = val_cmp(&l, &r);
        if (cmp == 2)
            return fx_cerr(c, n, "unsupported comparison %s %s %s", type_name(l.type),
                           flux_op_name(op), type_name(r.type));
        bool b = op == FLUX_OP_EQ    ? cmp == 0
                 : op == FLUX_OP_NEQ ? cmp != 0
                 : op == FLUX_OP_LT  ? cmp < 0
                 : op == FLUX_OP_LTE ? cmp <= 0
                 : op == FLUX_OP_GT  ? cmp > 0
                                     : cmp >= 0;
        out->type = FX_T_BOOL;
        out->v.b = b;
        return VT_OK;
    }
    default: return ev_arith(c, n, &l, &r, out);
    }
}

/* Kleene logic; null counts as unknown-but-final (and: false wins; or: true wins). */
static vt_rc ev_logical(fx_ctx *c, const flux_node *n, const fx_env *env, fx_val *out)
{
    bool is_and = n->u.binary.op == FLUX_OP_AND;
    fx_val l, r;
    vt_rc rc = ev(c, n->u.binary.lhs, env, &l);
    if (rc != VT_OK)
        return rc;
    if (l.type == FX_T_BOOL && l.v.b != is_and) { /* short circuit */
        *out = l;
        return VT_OK;
    }
    if ((rc = ev(c, n->u.binary.rhs, env, &r)) != VT_OK)
        return rc;
    if ((l.type != FX_T_BOOL && l.type != FX_T_NULL && l.type != FX_T_UNKNOWN) ||
        (r.type != FX_T_BOOL && r.type != FX_T_NULL && r.type != FX_T_UNKNOWN))
        return fx_cerr(c, n, "expected bool operands of %s", is_and ? "and" : "or");
    if (r.type == FX_T_BOOL && r.v.b != is_and) {
        *out = r;
        return VT_OK;
    }
    if (l.type == FX_T_UNKNOWN || r.type == FX_T_UNKNOWN) {
        *out = fx_unknown;
        return VT_OK;
    }
    if (l.type == FX_T_NULL || r.type == FX_T_NULL) {
        *out = fx_null;
        return VT_OK;
    }
    *out = l; /* both equal to is_and */
    return VT_OK;
}

static vt_rc ev(fx_ctx *c, const flux_node *n, const fx_env *env, fx_val *out)
{
    vt_rc rc;
    switch (n->kind) {
    case FLUX_EXPR_PAREN: return ev(c, n->u.expr, env, out);
    case FLUX_EXPR_INT: out->type = FX_T_INT; out->v.i = n->u.integer; return VT_OK;
    case FLUX_EXPR_FLOAT: out->type = FX_T_FLOAT; out->v.f = n->u.flt; return VT_OK;
    case FLUX_EXPR_STRING:
        out->type = FX_T_STRING;
        out->v.s.ptr = n->u.str;
        out->v.s.len = strlen(n->u.str);
        return VT_OK;
    case FLUX_EXPR_DATETIME:
        out->type = FX_T_TIME;
        if (flux_datetime_ns(n, &out->v.i) != VT_OK)
            return fx_cerr(c, n, "time out of range");
        return VT_OK;
    case FLUX_EXPR_REGEX:
        out->type = FX_T_REGEX;
        out->v.re = regex_for(c, n);
        return out->v.re ? VT_OK : c->err->rc;
    case FLUX_EXPR_IDENT: {
        if (strcmp(n->u.ident, "true") == 0 || strcmp(n->u.ident, "false") == 0) {
            out->type = FX_T_BOOL;
            out->v.b = n->u.ident[0] == 't';
            return VT_OK;
        }
        if (strcmp(n->u.ident, env->param) == 0)
            return fx_cerr(c, n, "volta cannot use the record %s as a value", env->param);
        const flux_node *v = find_var(c, n->u.ident);
        if (!v)
            return fx_cerr(c, n, "undefined identifier %s", n->u.ident);
        if (++c->var_depth > FX_MAX_VAR_DEPTH)
            return fx_cerr(c, n, "variable %s refers to itself", n->u.ident);
        fx_env empty = {env->param, NULL, 0, NULL, 0};
        rc = ev(c, v, &empty, out);
        c->var_depth--;
        return rc;
    }
    case FLUX_EXPR_MEMBER: {
        const flux_node *o = flux_unparen(n->u.member.object);
        if (o->kind != FLUX_EXPR_IDENT || strcmp(o->u.ident, env->param) != 0)
            return fx_cerr(c, n, "volta evaluates members of the function's record %s only",
                           env->param);
        *out = env_get(env, n->u.member.property);
        return VT_OK;
    }
    case FLUX_EXPR_UNARY: {
        flux_op op = n->u.unary.op;
        if (op == FLUX_OP_EXISTS) {
            if ((rc = ev(c, n->u.unary.arg, env, out)) != VT_OK)
                return rc;
            if (out->type == FX_T_UNKNOWN)
                return VT_OK;
            bool e = out->type != FX_T_NULL;
            out->type = FX_T_BOOL;
            out->v.b = e;
            return VT_OK;
        }
        if ((rc = ev(c, n->u.unary.arg, env, out)) != VT_OK)
            return rc;
        if (out->type == FX_T_NULL || out->type == FX_T_UNKNOWN)
            return VT_OK;
        if (op == FLUX_OP_NOT) {
            if (out->type != FX_T_BOOL)
                return fx_cerr(c, n, "expected bool but found %s", type_name(out->type));
            out->v.b = !out->v.b;
            return VT_OK;
        }
        if (op == FLUX_OP_SUB) {
            if (out->type == FX_T_INT)
                out->v.i = (int64_t)(0 - (uint64_t)out->v.i);
            else if (out->type == FX_T_FLOAT)
                out->v.f = -out->v.f;
            else
                return fx_cerr(c, n, "invalid unary operator - on %s", type_name(out->type));
        }
        return VT_OK;
    }
    case FLUX_EXPR_BINARY: return ev_binary(c, n, env, out);
    case FLUX_EXPR_LOGICAL: return ev_logical(c, n, env, out);
    case FLUX_EXPR_CONDITIONAL: {
        fx_val t;
        if ((rc = ev(c, n->u.cond.test, env, &t)) != VT_OK)
            return rc;
        if (t.type == FX_T_UNKNOWN) {
            *out = fx_unknown;
            return VT_OK;
        }
        if (t.type != FX_T_BOOL && t.type != FX_T_NULL)
            return fx_cerr(c, n->u.cond.test, "expected bool but found %s", type_name(t.type));
        return ev(c, t.type == FX_T_BOOL && t.v.b ? n->u.cond.cons : n->u.cond.alt, env, out);
    }
    case FLUX_EXPR_STRING_INTERP: {
        vt_buf b;
        vt_buf_init(&b);
        for (size_t i = 0; i < n->u.interp.nparts; i++) {
            const flux_string_part *p = &n->u.interp.parts[i];
            if (p->text) {
                vt_buf_append(&b, p->text, strlen(p->text));
                continue;
            }
            fx_val v;
            if ((rc = ev(c, p->expr, env, &v)) != VT_OK) {
                vt_buf_free(&b);
                return rc;
            }
            if (v.type == FX_T_UNKNOWN) {
                vt_buf_free(&b);
                *out = fx_unknown;
                return VT_OK;
            }
            val_text(c, &v, &b);
        }
        if (b.oom) {
            vt_buf_free(&b);
            return fx_oom(c);
        }
        out->type = FX_T_STRING;
        out->v.s = str_dup(c, (const char *)b.data, b.len);
        vt_buf_free(&b);
        return out->v.s.ptr ? VT_OK : fx_oom(c);
    }
    case FLUX_EXPR_CALL: {
        /* float(v:), int(v:), string(v:), bool(v:) conversions */
        const char *name = call_name(n);
        const flux_node *a = call_arg(n, "v");
        if (name && a && n->u.call.nargs == 1) {
            fx_val v;
            if ((rc = ev(c, a, env, &v)) != VT_OK)
                return rc;
            if (v.type == FX_T_NULL || v.type == FX_T_UNKNOWN) {
                *out = v;
                return VT_OK;
            }
            if (strcmp(name, "float") == 0 && (is_num(v.type) || v.type == FX_T_BOOL)) {
                out->type = FX_T_FLOAT;
                out->v.f = v.type == FX_T_BOOL ? (v.v.b ? 1.0 : 0.0) : num_f(&v);
                return VT_OK;
            }
            if (strcmp(name, "int") == 0 && (is_num(v.type) || v.type == FX_T_BOOL ||
                                             v.type == FX_T_TIME)) {
                out->type = FX_T_INT;
                out->v.i = v.type == FX_T_FLOAT  ? vt_f64_to_i64(v.v.f)
                           : v.type == FX_T_UINT ? (int64_t)v.v.u
                           : v.type == FX_T_BOOL ? (int64_t)v.v.b
                                                 : v.v.i;
                return VT_OK;
            }
            if (strcmp(name, "string") == 0) {
                vt_buf b;
                vt_buf_init(&b);
                val_text(c, &v, &b);
                out->type = FX_T_STRING;
                out->v.s = str_dup(c, b.data ? (const char *)b.data : "", b.len);
                vt_buf_free(&b);
                return out->v.s.ptr ? VT_OK : fx_oom(c);
            }
        }
        return fx_cerr(c, n, "volta evaluates only float(v:), int(v:) and string(v:) calls in "
                             "functions");
    }
    default: return fx_cerr(c, n, "volta cannot evaluate this expression per row");
    }
}

/* ---- ops ---- */

static vt_rc push(fx_ctx *c, fx_pipe *p, size_t i, fx_table *t);

/* A new table with t's columns (labels, types, keys) and no rows. */
static fx_table *table_like(const fx_table *t)
{
    fx_table *o = fx_table_new(t->ncols);
    if (o)
        memcpy(o->cols, t->cols, t->ncols * sizeof *t->cols);
    return o;
}

static bool copy_row(fx_table *dst, const fx_table *src, size_t r)
{
    fx_val *row = fx_table_add_row(dst);
    if (!row)
        return false;
    memcpy(row, fx_cell(src, r, 0), src->ncols * sizeof *row);
    return true;
}

static vt_rc op_filter(fx_ctx *c, const fx_op *op, fx_table **tp)
{
    fx_table *t = *tp, *o = table_like(t);
    if (!o)
        return fx_oom(c);
    fx_env env = {op->param, t->cols, t->ncols, NULL, 0};
    for (size_t r = 0; r < t->nrows; r++) {
        fx_val v;
        env.row = fx_cell(t, r, 0);
        vt_rc rc = ev(c, op->fn->u.fn.expr, &env, &v);
        if (rc != VT_OK) {
            fx_table_free(o);
            return rc;
        }
        if (v.type != FX_T_BOOL && v.type != FX_T_NULL) {
            fx_table_free(o);
            return fx_rerr(c, op, "filter function must return a bool, got %s",
                           type_name(v.type));
        }
        if (v.type == FX_T_BOOL && v.v.b && !copy_row(o, t, r)) {
            fx_table_free(o);
            return fx_oom(c);
        }
    }
    fx_table_free(t);
    if (o->nrows == 0 && !op->keep_empty) {
        fx_table_free(o);
        o = NULL;
    }
    *tp = o;
    return VT_OK;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Result of an aggregate over rows idx[0..n) of column col: the value, or for a selector the
 * chosen row (*sel, -1 when none). */
static vt_rc agg_rows(fx_ctx *c, const fx_op *op, const fx_table *t, int col,
                      const size_t *idx, size_t n, fx_val *out, long *sel)
{
    *out = fx_null;
    *sel = -1;
    uint8_t ty = col >= 0 ? t->cols[col].type : FX_T_NULL;
    agg_fn af = op->af;
    if (af == AF_COUNT) {
        int64_t cnt = 0;
        for (size_t i = 0; i < n; i++)
            cnt += fx_cell(t, idx[i], (size_t)col)->type != FX_T_NULL;
        out->type = FX_T_INT;
        out->v.i = cnt;
        return VT_OK;
    }
    if (af == AF_FIRST || af == AF_LAST) {
        for (size_t k = 0; k < n; k++) {
            size_t i = af == AF_FIRST ? k : n - 1 - k;
            if (fx_cell(t, idx[i], (size_t)col)->type != FX_T_NULL) {
                *sel = (long)idx[i];
                return VT_OK;
            }
        }
        return VT_OK;
    }
    bool numeric = is_num(ty);
    if (!numeric && !(ty == FX_T_NULL) && !((af == AF_MIN || af == AF_MAX) && ty == FX_T_TIME))
        return fx_rerr(c, op, "unsupported input type for %s aggregate: %s", agg_fn_names[af],
                       type_name(ty));
    if (af == AF_MIN || af == AF_MAX) {
        const fx_val *best = NULL;
        for (size_t i = 0; i < n; i++) {
            const fx_val *v = fx_cell(t, idx[i], (size_t)col);
            if (v->type == FX_T_NULL)
                continue;
            int cmp = best ? val_cmp(v, best) : 0;
            if (!best || (af == AF_MIN ? cmp < 0 : cmp > 0)) {
                best = v;
                *sel = (long)idx[i];
            }
        }
        return VT_OK;
    }
    size_t cnt = 0;
    if (af == AF_SUM) {
        double fs = 0;
        int64_t is = 0;
        uint64_t us = 0;
        for (size_t i = 0; i < n; i++) {
            const fx_val *v = fx_cell(t, idx[i], (size_t)col);
            if (v->type == FX_T_NULL)
                continue;
            cnt++;
            if (ty == FX_T_FLOAT)
                fs += v->v.f;
            else if (ty == FX_T_INT)
                is = (int64_t)((uint64_t)is + (uint64_t)v->v.i);
            else
                us += v->v.u;
        }
        if (cnt == 0)
            return VT_OK;
        out->type = ty;
        if (ty == FX_T_FLOAT)
            out->v.f = fs;
        else if (ty == FX_T_INT)
            out->v.i = is;
        else
            out->v.u = us;
        return VT_OK;
    }
    if (af == AF_MEAN) {
        double s = 0;
        for (size_t i = 0; i < n; i++) {
            const fx_val *v = fx_cell(t, idx[i], (size_t)col);
            if (v->type == FX_T_NULL)
                continue;
            cnt++;
            s += num_f(v);
        }
        if (cnt) {
            out->type = FX_T_FLOAT;
            out->v.f = s / (double)cnt;
        }
        return VT_OK;
    }
    /* median: exact, the mean of the two middle values for an even count */
    double *vals = malloc((n ? n : 1) * sizeof *vals);
    if (!vals)
        return fx_oom(c);
    for (size_t i = 0; i < n; i++) {
        const fx_val *v = fx_cell(t, idx[i], (size_t)col);
        if (v->type != FX_T_NULL)
            vals[cnt++] = num_f(v);
    }
    if (cnt) {
        qsort(vals, cnt, sizeof *vals, cmpd);
        double lo = vals[(cnt - 1) / 2], hi = vals[cnt / 2];
        out->type = FX_T_FLOAT;
        out->v.f = lo + (hi - lo) / 2;
    }
    free(vals);
    return VT_OK;
}


static uint8_t agg_out_type(agg_fn af, uint8_t in)
{
    switch (af) {
    case AF_COUNT: return FX_T_INT;
    case AF_MEAN:
    case AF_MEDIAN: return FX_T_FLOAT;
    default: return in;
    }
}

static bool is_selector(agg_fn af)
{
    return af == AF_MIN || af == AF_MAX || af == AF_FIRST || af == AF_LAST;
}

static vt_rc op_agg(fx_ctx *c, const fx_op *op, fx_table **tp)
{
    fx_table *t = *tp, *o = NULL;
    int col = fx_table_col(t, op->column);
    if (col < 0 && op->af != AF_COUNT && !is_selector(op->af)) {
        return fx_rerr(c, op, "column \"%s\" does not exist", op->column);
    }
    if (col < 0)
        return fx_rerr(c, op, "column \"%s\" does not exist", op->column);
    size_t *idx = malloc((t->nrows ? t->nrows : 1) * sizeof *idx);
    if (!idx)
        return fx_oom(c);
    for (size_t i = 0; i < t->nrows; i++)
        idx[i] = i;
    fx_val res;
    long sel;
    vt_rc rc = agg_rows(c, op, t, col, idx, t->nrows, &res, &sel);
    free(idx);
    if (rc != VT_OK)
        return rc;
    if (is_selector(op->af)) {
        o = table_like(t);
        if (!o || (sel >= 0 && !copy_row(o, t, (size_t)sel))) {
            fx_table_free(o);
            return fx_oom(c);
        }
    } else {
        size_t nk = 0;
        for (size_t i = 0; i < t->ncols; i++)
            nk += t->cols[i].key && (int)i != col;
        o = fx_table_new(nk + 1);
        if (!o)
            return fx_oom(c);
        size_t k = 0;
        for (size_t i = 0; i < t->ncols; i++)
            if (t->cols[i].key && (int)i != col)
                o->cols[k++] = t->cols[i];
        o->cols[k].label = t->cols[col].label;
        o->cols[k].type = agg_out_type(op->af, t->cols[col].type);
        o->cols[k].key = false;
        fx_val *row = fx_table_add_row(o);
        if (!row) {
            fx_table_free(o);
            return fx_oom(c);
        }
        k = 0;
        for (size_t i = 0; i < t->ncols; i++)
            if (t->cols[i].key && (int)i != col)
                row[k++] = t->nrows ? *fx_cell(t, 0, i) : fx_null;
        row[k] = res;
    }
    fx_table_free(t);
    *tp = o;
    return VT_OK;
}

/* Row indices of t sorted by _time (stable); NULL on OOM. */
typedef struct time_idx {
    int64_t t;
    size_t i;
} time_idx;
static int time_idx_cmp(const void *a, const void *b)
{
    const time_idx *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static size_t *rows_by_time(const fx_table *t, int tcol, size_t *n)
{
    size_t *idx = malloc((t->nrows ? t->nrows : 1) * sizeof *idx);
    time_idx *ti = malloc((t->nrows ? t->nrows : 1) * sizeof *ti);
    if (!idx || !ti) {
        free(idx);
        free(ti);
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < t->nrows; i++) {
        const fx_val *v = fx_cell(t, i, (size_t)tcol);
        if (v->type != FX_T_TIME)
            continue; /* rows with a null time belong to no window */
        ti[k].t = v->v.i;
        ti[k].i = i;
        k++;
    }
    bool sorted = true;
    for (size_t i = 1; i < k && sorted; i++)
        sorted = ti[i - 1].t <= ti[i].t;
    if (!sorted)
        qsort(ti, k, sizeof *ti, time_idx_cmp);
    for (size_t i = 0; i < k; i++)
        idx[i] = ti[i].i;
    free(ti);
    *n = k;
    return idx;
}

/* The table's [start, stop) bounds (its _start/_stop key values). */
static vt_rc table_bounds(fx_ctx *c, const fx_op *op, const fx_table *t, int64_t *start,
                          int64_t *stop)
{
    int s = fx_table_col(t, "_start"), e = fx_table_col(t, "_stop");
    if (s < 0 || e < 0 || t->nrows == 0 || fx_cell(t, 0, (size_t)s)->type != FX_T_TIME ||
        fx_cell(t, 0, (size_t)e)->type != FX_T_TIME)
        return fx_rerr(c, op, "missing time bounds: the table has no _start/_stop (range())");
    *start = fx_cell(t, 0, (size_t)s)->v.i;
    *stop = fx_cell(t, 0, (size_t)e)->v.i;
    return VT_OK;
}

/* aggregateWindow: window + fn + _time from timeSrc + un-window, per table. Output columns:
 * the input's key columns, _time and the value column, in input order (_time added last when
 * the input has none); _start/_stop keep the table's bounds. */
static vt_rc op_aggwin(fx_ctx *c, const fx_op *op, fx_table **tp)
{
    fx_table *t = *tp;
    if (t->nrows == 0) {
        fx_table_free(t);
        *tp = NULL;
        return VT_OK;
    }
    int64_t start = 0, stop = 0;
    vt_rc rc = table_bounds(c, op, t, &start, &stop);
    if (rc != VT_OK)
        return rc;
    int tcol = fx_table_col(t, "_time"), vcol = fx_table_col(t, op->column);
    if (tcol < 0)
        return fx_rerr(c, op, "missing time column \"_time\"");
    if (vcol < 0)
        return fx_rerr(c, op, "column \"%s\" does not exist", op->column);
    /* output schema */
    size_t no = 0;
    int *map = malloc(t->ncols * sizeof *map);
    fx_table *o = fx_table_new(t->ncols);
    if (!map || !o) {
        free(map);
        fx_table_free(o);
        return fx_oom(c);
    }
    int otime = -1, oval = -1;
    for (size_t i = 0; i < t->ncols; i++) {
        if (!(t->cols[i].key || (int)i == tcol || (int)i == vcol))
            continue;
        map[no] = (int)i;
        o->cols[no] = t->cols[i];
        if ((int)i == tcol)
            otime = (int)no;
        if ((int)i == vcol) {
            oval = (int)no;
            o->cols[no].type = agg_out_type(op->af, t->cols[i].type);
            o->cols[no].key = false;
        }
        no++;
    }
    o->ncols = no;
    size_t n = 0;
    size_t *idx = rows_by_time(t, tcol, &n);
    if (!idx) {
        free(map);
        fx_table_free(o);
        return fx_oom(c);
    }
    size_t pos = 0;
    int64_t w = window_start(start, op->every, op->offset);
    size_t guard = 0;
    while (w < stop) {
        int64_t we = time_add(w, op->every, 1);
        if (we <= w || ++guard > 1000000) {
            rc = fx_rerr(c, op, "too many windows (more than 1000000 per table)");
            break;
        }
        int64_t ws = w < start ? start : w, wstop = we > stop ? stop : we;
        size_t first = pos;
        while (pos < n && fx_cell(t, idx[pos], (size_t)tcol)->v.i < we)
            pos++;
        /* rows before the range's start cannot occur (range filtered them) */
        size_t cnt = pos - first;
        w = we;
        if (!op->create_empty && pos < n) { /* jump over empty windows */
            int64_t next = window_start(fx_cell(t, idx[pos], (size_t)tcol)->v.i, op->every,
                                        op->offset);
            if (next > w)
                w = next;
        }
        if (cnt == 0 && !op->create_empty) {
            if (pos >= n)
                break;
            continue;
        }
        fx_val res;
        long sel;
        if ((rc = agg_rows(c, op, t, vcol, idx + first, cnt, &res, &sel)) != VT_OK)
            break;
        fx_val *row = fx_table_add_row(o);
        if (!row) {
            rc = fx_oom(c);
            break;
        }
        size_t src_row = sel >= 0 ? (size_t)sel : (cnt ? idx[first] : 0);
        for (size_t k = 0; k < no; k++)
            row[k] = *fx_cell(t, src_row, (size_t)map[k]);
        if (is_selector(op->af))
            row[oval] = sel >= 0 ? *fx_cell(t, (size_t)sel, (size_t)vcol) : fx_null;
        else
            row[oval] = res;
        row[otime].type = FX_T_TIME;
        row[otime].v.i = strcmp(op->as, "_start") == 0 ? ws : wstop;
    }
    free(idx);
    free(map);
    if (rc != VT_OK) {
        fx_table_free(o);
        return rc;
    }
    fx_table_free(t);
    if (o->nrows == 0) {
        fx_table_free(o);
        o = NULL;
    }
    *tp = o;
    return VT_OK;
}

/* window(): one table per window holding rows, _start/_stop set to the window's bounds
 * (clipped to the table's) and part of the group key. Pushes the windows on to op i+1. */
static vt_rc op_window(fx_ctx *c, fx_pipe *p, size_t i, fx_table *t)
{
    const fx_op *op = &p->ops[i];
    if (t->nrows == 0) {
        fx_table_free(t);
        return VT_OK;
    }
    int64_t start = 0, stop = 0;
    vt_rc rc = table_bounds(c, op, t, &start, &stop);
    int tcol = fx_table_col(t, "_time");
    if (rc == VT_OK && tcol < 0)
        rc = fx_rerr(c, op, "missing time column \"_time\"");
    if (rc != VT_OK) {
        fx_table_free(t);
        return rc;
    }
    int scol = fx_table_col(t, "_start"), ecol = fx_table_col(t, "_stop");
    size_t n = 0;
    size_t *idx = rows_by_time(t, tcol, &n);
    if (!idx) {
        fx_table_free(t);
        return fx_oom(c);
    }
    size_t pos = 0;
    while (rc == VT_OK && pos < n) {
        int64_t w = window_start(fx_cell(t, idx[pos], (size_t)tcol)->v.i, op->every, op->offset);
        int64_t we = time_add(w, op->every, 1);
        if (we <= w) {
            rc = fx_rerr(c, op, "invalid window");
            break;
        }
        int64_t ws = w < start ? start : w, wstop = we > stop ? stop : we;
        fx_table *o = table_like(t);
        if (!o) {
            rc = fx_oom(c);
            break;
        }
        while (rc == VT_OK && pos < n && fx_cell(t, idx[pos], (size_t)tcol)->v.i < we) {
            if (!copy_row(o, t, idx[pos]))
                rc = fx_oom(c);
            pos++;
        }
        if (rc != VT_OK) {
            fx_table_free(o);
            break;
        }
        for (size_t r = 0; r < o->nrows; r++) {
            fx_val *row = fx_cell(o, r, 0);
            row[scol].type = FX_T_TIME;
            row[scol].v.i = ws;
            row[ecol].type = FX_T_TIME;
            row[ecol].v.i = wstop;
        }
        rc = push(c, p, i + 1, o);
    }
    free(idx);
    fx_table_free(t);
    return rc;
}

static vt_rc op_keepdrop(fx_ctx *c, const fx_op *op, fx_table **tp)
{
    fx_table *t = *tp;
    size_t k = 0;
    int *map = malloc((t->ncols ? t->ncols : 1) * sizeof *map);
    if (!map)
        return fx_oom(c);
    for (size_t i = 0; i < t->ncols; i++) {
        bool listed = false;
        for (size_t j = 0; j < op->ncols && !listed; j++)
            listed = strcmp(op->cols[j], t->cols[i].label) == 0;
        if (listed == (op->kind == OP_KEEP))
            map[k++] = (int)i;
    }
    fx_table *o = fx_table_new(k);
    if (!o) {
        free(map);
        return fx_oom(c);
    }
    for (size_t j = 0; j < k; j++)
        o->cols[j] = t->cols[map[j]];
    for (size_t r = 0; r < t->nrows; r++) {
        fx_val *row = fx_table_add_row(o);
        if (!row) {
            free(map);
            fx_table_free(o);
            return fx_oom(c);
        }
        for (size_t j = 0; j < k; j++)
            row[j] = *fx_cell(t, r, (size_t)map[j]);
    }
    free(map);
    fx_table_free(t);
    *tp = o;
    return VT_OK;
}

static vt_rc op_rename(fx_ctx *c, const fx_op *op, fx_table *t)
{
    for (size_t j = 0; j < op->ncols; j++) {
        int i = fx_table_col(t, op->cols[j]);
        if (i < 0)
            return fx_rerr(c, op, "rename error: column \"%s\" doesn't exist", op->cols[j]);
        int other = fx_table_col(t, op->cols2[j]);
        if (other >= 0 && other != i)
            return fx_rerr(c, op, "rename error: column \"%s\" already exists", op->cols2[j]);
        t->cols[i].label = op->cols2[j];
    }
    return VT_OK;
}

static vt_rc op_dup(fx_ctx *c, const fx_op *op, fx_table **tp)
{
    fx_table *t = *tp;
    int src = fx_table_col(t, op->column);
    if (src < 0)
        return fx_rerr(c, op, "duplicate error: column \"%s\" doesn't exist", op->column);
    int dst = fx_table_col(t, op->as);
    if (dst >= 0) { /* overwrite */
        t->cols[dst].type = t->cols[src].type;
        for (size_t r = 0; r < t->nrows; r++)
            *fx_cell(t, r, (size_t)dst) = *fx_cell(t, r, (size_t)src);
        return VT_OK;
    }
    fx_table *o = fx_table_new(t->ncols + 1);
    if (!o)
        return fx_oom(c);
    memcpy(o->cols, t->cols, t->ncols * sizeof *t->cols);
    o->cols[t->ncols].label = op->as;
    o->cols[t->ncols].type = t->cols[src].type;
    o->cols[t->ncols].key = false;
    for (size_t r = 0; r < t->nrows; r++) {
        fx_val *row = fx_table_add_row(o);
        if (!row) {
            fx_table_free(o);
            return fx_oom(c);
        }
        memcpy(row, fx_cell(t, r, 0), t->ncols * sizeof *row);
        row[t->ncols] = *fx_cell(t, r, (size_t)src);
    }
    fx_table_free(t);
    *tp = o;
    return VT_OK;
}

static void op_limit(const fx_op *op, fx_table *t)
{
    size_t off = (uint64_t)op->off > t->nrows ? t->nrows : (size_t)op->off;
    size_t n = t->nrows - off;
    if ((uint64_t)op->n < n)
        n = (size_t)op->n;
    if (off && n)
        memmove(t->rows, fx_cell(t, off, 0), n * t->ncols * sizeof *t->rows);
    t->nrows = n;
}

typedef struct sort_ctx {
    const fx_table *t;
    const int *cols;
    size_t ncols;
    bool desc;
} sort_ctx;

/* nulls first ascending (last descending); ties keep input order */
static int sort_rows_cmp(const sort_ctx *s, size_t a, size_t b)
{
    for (size_t k = 0; k < s->ncols; k++) {
        if (s->cols[k] < 0)
            continue;
        const fx_val *x = fx_cell(s->t, a, (size_t)s->cols[k]);
        const fx_val *y = fx_cell(s->t, b, (size_t)s->cols[k]);
        int r;
        if (x->type == FX_T_NULL || y->type == FX_T_NULL)
            r = (x->type != FX_T_NULL) - (y->type != FX_T_NULL);
        else
            r = val_cmp(x, y);
        if (r == 2)
            r = 0;
        if (r)
            return s->desc ? -r : r;
    }
    return 0;
}

static void merge_sort(const sort_ctx *s, size_t *v, size_t *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    merge_sort(s, v, tmp, h);
    merge_sort(s, v + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = sort_rows_cmp(s, v[j], v[i]) < 0 ? v[j++] : v[i++];
    while (i < h)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

static vt_rc op_sort(fx_ctx *c, const fx_op *op, fx_table **tp)
{
    fx_table *t = *tp;
    int *cols = malloc((op->ncols ? op->ncols : 1) * sizeof *cols);
    size_t *idx = malloc((t->nrows ? t->nrows : 1) * sizeof *idx);
    size_t *tmp = malloc((t->nrows ? t->nrows : 1) * sizeof *tmp);
    fx_table *o = table_like(t);
    vt_rc rc = VT_OK;
    if (!cols || !idx || !tmp || !o) {
        rc = fx_oom(c);
        goto done;
    }
    for (size_t k = 0; k < op->ncols; k++)
        cols[k] = fx_table_col(t, op->cols[k]);
    for (size_t r = 0; r < t->nrows; r++)
        idx[r] = r;
    sort_ctx s = {t, cols, op->ncols, op->desc};
    merge_sort(&s, idx, tmp, t->nrows);
    for (size_t r = 0; r < t->nrows; r++)
        if (!copy_row(o, t, idx[r])) {
            rc = fx_oom(c);
            goto done;
        }
    fx_table_free(t);
    *tp = o;
    o = NULL;
done:
    free(cols);
    free(idx);
    free(tmp);
    fx_table_free(o);
    return rc;
}

/* map(fn: (r) => ({...}) / ({r with ...})): per row a record; the output columns are the
 * record's (with: the input's columns in order, then the new ones), typed by their first
 * non-null value; key columns that remain keep their key flag. */
static vt_rc op_map(fx_ctx *c, const fx_op *op, fx_table **tp)
{
    fx_table *t = *tp;
    const flux_node *rec = flux_unparen(op->fn->u.fn.expr);
    size_t np = rec->u.record.nprops;
    bool with = rec->u.record.with != NULL;
    /* columns: with -> input columns + new props; else the props */
    size_t maxc = (with ? t->ncols : 0) + np;
    fx_table *o = fx_table_new(maxc ? maxc : 1);
    int *pcol = malloc((np ? np : 1) * sizeof *pcol); /* prop -> output column */
    fx_val *vals = malloc((np ? np : 1) * sizeof *vals);
    vt_rc rc = VT_OK;
    if (!o || !pcol || !vals) {
        rc = fx_oom(c);
        goto done;
    }
    size_t nc = 0;
    if (with) {
        memcpy(o->cols, t->cols, t->ncols * sizeof *t->cols);
        nc = t->ncols;
    }
    for (size_t j = 0; j < np; j++) {
        const char *key = rec->u.record.props[j].key;
        int found = -1;
        for (size_t k = 0; k < nc; k++)
            if (strcmp(o->cols[k].label, key) == 0)
                found = (int)k;
        if (found < 0) {
            found = (int)nc;
            o->cols[nc].label = key;
            int in = fx_table_col(t, key);
            o->cols[nc].key = in >= 0 && t->cols[in].key;
            o->cols[nc].type = FX_T_NULL;
            nc++;
        } else if (with) {
            o->cols[found].type = FX_T_NULL; /* retyped by the values */
        }
        pcol[j] = found;
    }
    o->ncols = nc;
    fx_env env = {op->param, t->cols, t->ncols, NULL, 0};
    for (size_t r = 0; r < t->nrows && rc == VT_OK; r++) {
        env.row = fx_cell(t, r, 0);
        for (size_t j = 0; j < np && rc == VT_OK; j++) {
            const flux_property *pr = &rec->u.record.props[j];
            if (pr->value)
                rc = ev(c, pr->value, &env, &vals[j]);
            else
                vals[j] = env_get(&env, pr->key); /* {_value} shorthand is an identifier */
        }
        if (rc != VT_OK)
            break;
        fx_val *row = fx_table_add_row(o);
        if (!row) {
            rc = fx_oom(c);
            break;
        }
        if (with)
            memcpy(row, env.row, t->ncols * sizeof *row);
        for (size_t j = 0; j < np; j++) {
            fx_val v = vals[j];
            fx_col *col = &o->cols[pcol[j]];
            if (v.type == FX_T_REGEX || v.type == FX_T_UNKNOWN) {
                rc = fx_rerr(c, op, "column %s: a record value must be a basic type",
                             col->label);
                break;
            }
            if (v.type != FX_T_NULL) {
                if (col->type == FX_T_NULL)
                    col->type = v.type;
                else if (col->type != v.type) {
                    rc = fx_rerr(c, op, "column %s: type conflict: %s != %s", col->label,
                                 type_name(col->type), type_name(v.type));
                    break;
                }
            }
            row[pcol[j]] = v;
        }
    }
    if (rc == VT_OK && with) { /* untouched input columns keep their types */
        for (size_t k = 0; k < t->ncols; k++)
            if (o->cols[k].type == FX_T_NULL) {
                bool is_prop = false;
                for (size_t j = 0; j < np; j++)
                    is_prop = is_prop || pcol[j] == (int)k;
                if (!is_prop)
                    o->cols[k].type = t->cols[k].type;
            }
    }
done:
    free(pcol);
    free(vals);
    if (rc != VT_OK) {
        fx_table_free(o);
        return rc;
    }
    fx_table_free(t);
    *tp = o;
    return VT_OK;
}

static bool hold(fx_op *op, fx_table *t)
{
    if (op->nheld == op->capheld) {
        size_t ncap = op->capheld ? op->capheld * 2 : 16;
        fx_table **h = realloc(op->held, ncap * sizeof *h);
        if (!h)
            return false;
        op->held = h;
        op->capheld = ncap;
    }
    op->held[op->nheld++] = t;
    return true;
}

/* ---- group and pivot (regrouping, at finish) ---- */

typedef struct grp {
    const char **labels; /* key labels of this group, in first-seen column order */
    fx_val *vals;
    size_t nkey;
    fx_table *out;
} grp;

static bool in_list(const char *s, const char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

static int grp_cmp(const void *a, const void *b)
{
    const grp *x = a, *y = b;
    size_t n = x->nkey < y->nkey ? x->nkey : y->nkey;
    for (size_t i = 0; i < n; i++) {
        int r = strcmp(x->labels[i], y->labels[i]);
        if (r)
            return r;
        const fx_val *u = &x->vals[i], *v = &y->vals[i];
        if (u->type == FX_T_NULL || v->type == FX_T_NULL)
            r = (u->type != FX_T_NULL) - (v->type != FX_T_NULL);
        else
            r = val_cmp(u, v);
        if (r && r != 2)
            return r;
    }
    return x->nkey < y->nkey ? -1 : x->nkey > y->nkey;
}

static bool grp_match(const grp *g, const char **labels, const fx_val *vals, size_t nkey)
{
    if (g->nkey != nkey)
        return false;
    for (size_t i = 0; i < nkey; i++)
        if (strcmp(g->labels[i], labels[i]) != 0 || !val_eq(&g->vals[i], &vals[i]))
            return false;
    return true;
}

/* Adds column (label, type, key) to t when missing (existing rows get nulls); its index. */
static int ensure_col(fx_table *t, const char *label, uint8_t type, bool key, bool *oom)
{
    int i = fx_table_col(t, label);
    if (i >= 0) {
        if (t->cols[i].type == FX_T_NULL)
            t->cols[i].type = type;
        return i;
    }
    fx_col *nc = realloc(t->cols, (t->ncols + 1) * sizeof *nc);
    if (!nc) {
        *oom = true;
        return -1;
    }
    t->cols = nc;
    size_t old = t->ncols, nn = old + 1;
    if (t->cap) {
        fx_val *nr = malloc(t->cap * nn * sizeof *nr);
        if (!nr) {
            *oom = true;
            return -1;
        }
        for (size_t r = 0; r < t->nrows; r++) {
            memcpy(&nr[r * nn], &t->rows[r * old], old * sizeof *nr);
            nr[r * nn + old] = fx_null;
        }
        free(t->rows);
        t->rows = nr;
    }
    t->cols[old].label = label;
    t->cols[old].type = type;
    t->cols[old].key = key;
    t->ncols = nn;
    return (int)old;
}

/* FNV-1a over the key's labels and values (equal keys hash equally: val_eq is bytewise for
 * every type but mixed numerics, which never share a column). */
static uint64_t key_hash(const char **labels, const fx_val *vals, size_t nk)
{
    uint64_t h = UINT64_C(1469598103934665603);
#define FX_MIX(p, n)                                                                           \
    for (size_t q_ = 0; q_ < (n); q_++)                                                        \
        h = (h ^ ((const uint8_t *)(p))[q_]) * UINT64_C(1099511628211);
    for (size_t k = 0; k < nk; k++) {
        FX_MIX(labels[k], strlen(labels[k]) + 1);
        const fx_val *v = &vals[k];
        FX_MIX(&v->type, 1);
        switch ((fx_type)v->type) {
        case FX_T_STRING: FX_MIX(v->v.s.ptr, v->v.s.len); break;
        case FX_T_BOOL: FX_MIX(&v->v.b, 1); break;
        case FX_T_NULL: break;
        default: FX_MIX(&v->v.u, 8); break;
        }
    }
#undef FX_MIX
    return h;
}

static vt_rc finish_group(fx_ctx *c, fx_pipe *p, size_t i)
{
    size_t *slots = NULL; /* open addressing: group index + 1, 0 = empty */
    size_t nslots = 0;
    fx_op *op = &p->ops[i];
    grp *groups = NULL;
    size_t ng = 0, capg = 0;
    vt_rc rc = VT_OK;
    const char **labels = NULL;
    fx_val *vals = NULL;
    for (size_t h = 0; h < op->nheld && rc == VT_OK; h++) {
        fx_table *t = op->held[h];
        free(labels);
        free(vals);
        labels = malloc((t->ncols ? t->ncols : 1) * sizeof *labels);
        vals = malloc((t->ncols ? t->ncols : 1) * sizeof *vals);
        bool *iskey = calloc(t->ncols ? t->ncols : 1, sizeof *iskey);
        if (!labels || !vals || !iskey) {
            free(iskey);
            rc = fx_oom(c);
            break;
        }
        for (size_t k = 0; k < t->ncols; k++) {
            bool listed = in_list(t->cols[k].label, op->cols, op->ncols);
            iskey[k] = op->except ? !listed : listed;
        }
        for (size_t r = 0; r < t->nrows && rc == VT_OK; r++) {
            size_t nk = 0;
            for (size_t k = 0; k < t->ncols; k++)
                if (iskey[k]) {
                    labels[nk] = t->cols[k].label;
                    vals[nk++] = *fx_cell(t, r, k);
                }
            grp *g = NULL;
            uint64_t hv = key_hash(labels, vals, nk);
            size_t slot = 0;
            if (nslots) {
                for (slot = hv & (nslots - 1); slots[slot]; slot = (slot + 1) & (nslots - 1))
                    if (grp_match(&groups[slots[slot] - 1], labels, vals, nk)) {
                        g = &groups[slots[slot] - 1];
                        break;
                    }
            }
            if (!g && (ng + 1) * 2 > nslots) { /* grow the index, then find a free slot */
                size_t nn = nslots ? nslots * 2 : 64;
                size_t *ns = calloc(nn, sizeof *ns);
                if (!ns) {
                    rc = fx_oom(c);
                    break;
                }
                for (size_t j = 0; j < ng; j++) {
                    uint64_t gh = key_hash(groups[j].labels, groups[j].vals, groups[j].nkey);
                    size_t s2 = gh & (nn - 1);
                    while (ns[s2])
                        s2 = (s2 + 1) & (nn - 1);
                    ns[s2] = j + 1;
                }
                free(slots);
                slots = ns;
                nslots = nn;
                for (slot = hv & (nslots - 1); slots[slot]; slot = (slot + 1) & (nslots - 1))
                    ;
            }
            if (!g) {
                if (ng == capg) {
                    size_t ncap = capg ? capg * 2 : 16;
                    grp *ngs = realloc(groups, ncap * sizeof *ngs);
                    if (!ngs) {
                        rc = fx_oom(c);
                        break;
                    }
                    groups = ngs;
                    capg = ncap;
                }
                g = &groups[ng++];
                memset(g, 0, sizeof *g);
                g->labels = arena_calloc(c->a, nk + 1, sizeof *g->labels);
                g->vals = arena_calloc(c->a, nk + 1, sizeof *g->vals);
                g->out = fx_table_new(0);
                g->nkey = nk;
                if (!g->labels || !g->vals || !g->out) {
                    rc = fx_oom(c);
                    break;
                }
                memcpy(g->labels, labels, nk * sizeof *labels);
                memcpy(g->vals, vals, nk * sizeof *vals);
                slots[slot] = ng;
            }
            bool oom = false;
            int *map = malloc((t->ncols ? t->ncols : 1) * sizeof *map);
            if (!map) {
                rc = fx_oom(c);
                break;
            }
            for (size_t k = 0; k < t->ncols && !oom; k++)
                map[k] = ensure_col(g->out, t->cols[k].label, t->cols[k].type, iskey[k], &oom);
            fx_val *row = oom ? NULL : fx_table_add_row(g->out);
            if (!row) {
                free(map);
                rc = fx_oom(c);
                break;
            }
            for (size_t k = 0; k < t->ncols; k++) {
                const fx_val *v = fx_cell(t, r, k);
                if (v->type != FX_T_NULL && v->type != g->out->cols[map[k]].type) {
                    rc = fx_rerr(c, op, "schema collision detected: column \"%s\" is both of type %s and %s",
                                 t->cols[k].label, type_name(g->out->cols[map[k]].type),
                                 type_name(v->type));
                    break;
                }
                row[map[k]] = *v;
            }
            free(map);
        }
        free(iskey);
    }
    free(labels);
    free(vals);
    free(slots);
    for (size_t h = 0; h < op->nheld; h++)
        fx_table_free(op->held[h]);
    op->nheld = 0;
    if (rc == VT_OK)
        qsort(groups, ng, sizeof *groups, grp_cmp);
    for (size_t j = 0; j < ng; j++) {
        if (rc == VT_OK && groups[j].out) {
            rc = push(c, p, i + 1, groups[j].out);
        } else
            fx_table_free(groups[j].out);
    }
    free(groups);
    return rc;
}

static vt_rc finish_pivot(fx_ctx *c, fx_pipe *p, size_t i)
{
    fx_op *op = &p->ops[i];
    vt_rc rc = VT_OK;
    /* group the held tables by their key minus the columnKey and valueColumn columns */
    grp *groups = NULL;
    size_t ng = 0, capg = 0;
    size_t *tg = calloc(op->nheld ? op->nheld : 1, sizeof *tg); /* table -> group */
    if (!tg)
        rc = fx_oom(c);
    for (size_t h = 0; h < op->nheld && rc == VT_OK; h++) {
        fx_table *t = op->held[h];
        const char **labels = arena_calloc(c->a, t->ncols + 1, sizeof *labels);
        fx_val *vals = arena_calloc(c->a, t->ncols + 1, sizeof *vals);
        if (!labels || !vals) {
            rc = fx_oom(c);
            break;
        }
        size_t nk = 0;
        for (size_t k = 0; k < t->ncols; k++)
            if (t->cols[k].key && !in_list(t->cols[k].label, op->cols2, op->ncols2) &&
                strcmp(t->cols[k].label, op->column) != 0) {
                labels[nk] = t->cols[k].label;
                vals[nk++] = t->nrows ? *fx_cell(t, 0, k) : fx_null;
            }
        size_t j = 0;
        while (j < ng && !grp_match(&groups[j], labels, vals, nk))
            j++;
        if (j == ng) {
            if (ng == capg) {
                size_t ncap = capg ? capg * 2 : 16;
                grp *ngs = realloc(groups, ncap * sizeof *ngs);
                if (!ngs) {
                    rc = fx_oom(c);
                    break;
                }
                groups = ngs;
                capg = ncap;
            }
            memset(&groups[ng], 0, sizeof *groups);
            groups[ng].labels = labels;
            groups[ng].vals = vals;
            groups[ng].nkey = nk;
            ng++;
        }
        tg[h] = j;
    }
    /* per group: distinct row keys (sorted) x distinct column names (sorted) */
    for (size_t j = 0; j < ng && rc == VT_OK; j++) {
        /* collect (rowkey values, column name, value) triples */
        fx_table *trip = fx_table_new(op->ncols + 2);
        if (!trip) {
            rc = fx_oom(c);
            break;
        }
        for (size_t k = 0; k < op->ncols; k++) {
            trip->cols[k].label = op->cols[k];
            trip->cols[k].type = FX_T_NULL;
        }
        trip->cols[op->ncols].label = "";
        trip->cols[op->ncols].type = FX_T_STRING;
        trip->cols[op->ncols + 1].label = op->column;
        uint8_t vtype = FX_T_NULL;
        for (size_t h = 0; h < op->nheld && rc == VT_OK; h++) {
            if (tg[h] != j)
                continue;
            fx_table *t = op->held[h];
            int vcol = fx_table_col(t, op->column);
            int *rk = malloc((op->ncols ? op->ncols : 1) * sizeof *rk);
            int *ck = malloc(op->ncols2 * sizeof *ck);
            if (!rk || !ck) {
                free(rk);
                free(ck);
                rc = fx_oom(c);
                break;
            }
            for (size_t k = 0; k < op->ncols; k++) {
                rk[k] = fx_table_col(t, op->cols[k]);
                if (rk[k] >= 0 && trip->cols[k].type == FX_T_NULL)
                    trip->cols[k].type = t->cols[rk[k]].type;
            }
            for (size_t k = 0; k < op->ncols2; k++)
                ck[k] = fx_table_col(t, op->cols2[k]);
            if (vcol < 0) {
                free(rk);
                free(ck);
                rc = fx_rerr(c, op, "specified column does not exist in table: %s", op->column);
                break;
            }
            if (vtype == FX_T_NULL)
                vtype = t->cols[vcol].type;
            for (size_t r = 0; r < t->nrows; r++) {
                fx_val *row = fx_table_add_row(trip);
                if (!row) {
                    rc = fx_oom(c);
                    break;
                }
                for (size_t k = 0; k < op->ncols; k++)
                    row[k] = rk[k] >= 0 ? *fx_cell(t, r, (size_t)rk[k]) : fx_null;
                vt_buf nb;
                vt_buf_init(&nb);
                for (size_t k = 0; k < op->ncols2; k++) {
                    if (k)
                        vt_buf_putc(&nb, '_');
                    if (ck[k] >= 0)
                        val_text(c, fx_cell(t, r, (size_t)ck[k]), &nb);
                }
                row[op->ncols].type = FX_T_STRING;
                row[op->ncols].v.s = str_dup(c, nb.data ? (const char *)nb.data : "", nb.len);
                vt_buf_free(&nb);
                row[op->ncols + 1] = vcol >= 0 ? *fx_cell(t, r, (size_t)vcol) : fx_null;
                if (!row[op->ncols].v.s.ptr) {
                    rc = fx_oom(c);
                    break;
                }
            }
            free(rk);
            free(ck);
        }
        if (rc != VT_OK) {
            fx_table_free(trip);
            break;
        }
        /* distinct new column names, sorted */
        sort_ctx sc;
        int namecol = (int)op->ncols;
        size_t *idx = malloc((trip->nrows ? trip->nrows : 1) * sizeof *idx);
        size_t *tmp = malloc((trip->nrows ? trip->nrows : 1) * sizeof *tmp);
        int *rkc = malloc((op->ncols + 1) * sizeof *rkc);
        if (!idx || !tmp || !rkc) {
            free(idx);
            free(tmp);
            free(rkc);
            fx_table_free(trip);
            rc = fx_oom(c);
            break;
        }
        for (size_t r = 0; r < trip->nrows; r++)
            idx[r] = r;
        sc.t = trip;
        sc.cols = &namecol;
        sc.ncols = 1;
        sc.desc = false;
        merge_sort(&sc, idx, tmp, trip->nrows);
        size_t nnames = 0;
        const char **names = arena_calloc(c->a, trip->nrows + 1, sizeof *names);
        for (size_t r = 0; names && r < trip->nrows; r++) {
            const fx_val *v = fx_cell(trip, idx[r], (size_t)namecol);
            if (nnames == 0 || strcmp(names[nnames - 1], v->v.s.ptr) != 0)
                names[nnames++] = v->v.s.ptr;
        }
        /* output table: key cols, rowKey cols, names */
        fx_table *o = names ? fx_table_new(groups[j].nkey + op->ncols + nnames) : NULL;
        if (!o) {
            free(idx);
            free(tmp);
            free(rkc);
            fx_table_free(trip);
            rc = fx_oom(c);
            break;
        }
        size_t oc = 0;
        for (size_t k = 0; k < groups[j].nkey; k++) {
            o->cols[oc].label = groups[j].labels[k];
            o->cols[oc].type = groups[j].vals[k].type;
            o->cols[oc].key = true;
            oc++;
        }
        for (size_t k = 0; k < op->ncols; k++) {
            o->cols[oc].label = op->cols[k];
            o->cols[oc].type = trip->cols[k].type;
            o->cols[oc].key = false;
            oc++;
        }
        for (size_t k = 0; k < nnames; k++) {
            o->cols[oc].label = names[k];
            o->cols[oc].type = vtype; /* refined below by the values */
            o->cols[oc].key = false;
            oc++;
        }
        for (size_t k = 0; k < nnames; k++) {
            uint8_t ty = FX_T_NULL;
            for (size_t r = 0; r < trip->nrows && ty == FX_T_NULL; r++) {
                const fx_val *v = fx_cell(trip, r, op->ncols + 1);
                if (v->type != FX_T_NULL &&
                    strcmp(fx_cell(trip, r, (size_t)namecol)->v.s.ptr, names[k]) == 0)
                    ty = v->type;
            }
            if (ty != FX_T_NULL)
                o->cols[groups[j].nkey + op->ncols + k].type = ty;
        }
        /* fix key column types from held tables (a null key value has no type) */
        for (size_t h = 0; h < op->nheld; h++)
            if (tg[h] == j)
                for (size_t k = 0; k < groups[j].nkey; k++) {
                    int ci = fx_table_col(op->held[h], o->cols[k].label);
                    if (ci >= 0)
                        o->cols[k].type = op->held[h]->cols[ci].type;
                }
        /* rows sorted by row key */
        for (size_t k = 0; k < op->ncols; k++)
            rkc[k] = (int)k;
        for (size_t r = 0; r < trip->nrows; r++)
            idx[r] = r;
        sc.cols = rkc;
        sc.ncols = op->ncols;
        merge_sort(&sc, idx, tmp, trip->nrows);
        fx_val *cur = NULL;
        size_t prev = SIZE_MAX;
        for (size_t r = 0; r < trip->nrows; r++) {
            size_t tr = idx[r];
            if (prev == SIZE_MAX || sort_rows_cmp(&sc, prev, tr) != 0) {
                cur = fx_table_add_row(o);
                if (!cur) {
                    rc = fx_oom(c);
                    break;
                }
                for (size_t k = 0; k < groups[j].nkey; k++)
                    cur[k] = groups[j].vals[k];
                for (size_t k = 0; k < op->ncols; k++)
                    cur[groups[j].nkey + k] = *fx_cell(trip, tr, k);
            }
            prev = tr;
            const char *nm = fx_cell(trip, tr, (size_t)namecol)->v.s.ptr;
            size_t lo = 0, hi = nnames;
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (strcmp(names[mid], nm) < 0)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            cur[groups[j].nkey + op->ncols + lo] = *fx_cell(trip, tr, op->ncols + 1);
        }
        free(idx);
        free(tmp);
        free(rkc);
        fx_table_free(trip);
        groups[j].out = o;
    }
    free(tg);
    for (size_t h = 0; h < op->nheld; h++)
        fx_table_free(op->held[h]);
    op->nheld = 0;
    if (rc == VT_OK)
        qsort(groups, ng, sizeof *groups, grp_cmp);
    for (size_t j = 0; j < ng; j++) {
        if (rc == VT_OK && groups[j].out)
            rc = push(c, p, i + 1, groups[j].out);
        else
            fx_table_free(groups[j].out);
    }
    free(groups);
    return rc;
}

/* ---- the pipeline driver ---- */

static vt_rc push(fx_ctx *c, fx_pipe *p, size_t i, fx_table *t)
{
    vt_rc rc = VT_OK;
    for (; i < p->nops && t && rc == VT_OK; i++) {
        fx_op *op = &p->ops[i];
        switch (op->kind) {
        case OP_FILTER: rc = op_filter(c, op, &t); break;
        case OP_AGG: rc = op_agg(c, op, &t); break;
        case OP_AGGWIN: rc = op_aggwin(c, op, &t); break;
        case OP_WINDOW: return op_window(c, p, i, t);
        case OP_KEEP:
        case OP_DROP: rc = op_keepdrop(c, op, &t); break;
        case OP_RENAME: rc = op_rename(c, op, t); break;
        case OP_DUP: rc = op_dup(c, op, &t); break;
        case OP_LIMIT: op_limit(op, t); break;
        case OP_SORT: rc = op_sort(c, op, &t); break;
        case OP_MAP: rc = op_map(c, op, &t); break;
        case OP_YIELD:
            if (!fx_csv_table(&c->res[op->result], t))
                rc = fx_oom(c);
            break;
        case OP_GROUP:
        case OP_PIVOT:
            if (!hold(op, t)) {
                fx_table_free(t);
                return fx_oom(c);
            }
            return VT_OK;
        }
    }
    fx_table_free(t);
    return rc;
}

static vt_rc finish(fx_ctx *c, fx_pipe *p, size_t i)
{
    for (; i < p->nops; i++) {
        fx_op *op = &p->ops[i];
        if (op->kind != OP_GROUP && op->kind != OP_PIVOT)
            continue;
        vt_rc rc = op->kind == OP_GROUP ? finish_group(c, p, i) : finish_pivot(c, p, i);
        if (rc != VT_OK)
            return rc;
    }
    return VT_OK;
}

/* ---- the source: from + range over the engine ---- */

typedef struct src_series {
    const vt_tag *tags;
    size_t ntags;
    const engine_field_info *fields;
    size_t nfields;
    uint64_t id;
} src_series;

typedef struct src_state {
    fx_ctx *c;
    fx_pipe *p;
    const char *measurement;
    src_series *series;
    size_t n, cap;
    vt_rc rc;
    /* reading */
    fx_table *t;
    int64_t start, stop;
} src_state;

/* Pushed-down filters on what is known: level 2 (measurement) or 1 (series + field).
 * false = certainly excluded. */
static bool pushdown_ok(fx_ctx *c, fx_pipe *p, int level, const char *m, const vt_tag *tags,
                        size_t ntags, const char *field, vt_rc *rc)
{
    if (p->npush == 0)
        return true;
    fx_col cols[64 + 2];
    fx_val row[64 + 2];
    size_t n = 0;
    cols[n].label = "_measurement";
    row[n].type = FX_T_STRING;
    row[n++].v.s = vt_str_c(m);
    if (level == 1) {
        if (ntags > 64)
            return true;
        cols[n].label = "_field";
        row[n].type = FX_T_STRING;
        row[n++].v.s = vt_str_c(field);
        for (size_t i = 0; i < ntags; i++) {
            cols[n].label = tags[i].key.ptr; /* NUL-terminated copies (src_series_cb) */
            row[n].type = FX_T_STRING;
            row[n++].v.s = tags[i].value;
        }
    }
    for (size_t i = 0; i < p->npush; i++) {
        const fx_op *op = &p->ops[i];
        fx_env env = {op->param, cols, n, row, level};
        fx_val v;
        *rc = ev(c, op->fn->u.fn.expr, &env, &v);
        if (*rc != VT_OK)
            return false;
        if (v.type == FX_T_NULL || (v.type == FX_T_BOOL && !v.v.b))
            return false;
    }
    return true;
}

static bool src_series_cb(void *ctx, const engine_series_info *s)
{
    src_state *st = ctx;
    fx_ctx *c = st->c;
    if (st->n == st->cap) {
        size_t ncap = st->cap ? st->cap * 2 : 64;
        src_series *ns = realloc(st->series, ncap * sizeof *ns);
        if (!ns) {
            st->rc = fx_oom(c);
            return false;
        }
        st->series = ns;
        st->cap = ncap;
    }
    vt_tag *tags = arena_calloc(c->a, s->ntags + 1, sizeof *tags);
    engine_field_info *fields = arena_calloc(c->a, s->nfields + 1, sizeof *fields);
    if (!tags || !fields) {
        st->rc = fx_oom(c);
        return false;
    }
    for (size_t i = 0; i < s->ntags; i++) {
        tags[i].key = str_dup(c, s->tags[i].key.ptr, s->tags[i].key.len);
        tags[i].value = str_dup(c, s->tags[i].value.ptr, s->tags[i].value.len);
        if (!tags[i].key.ptr || !tags[i].value.ptr) {
            st->rc = fx_oom(c);
            return false;
        }
    }
    for (size_t i = 0; i < s->nfields; i++) {
        fields[i].name = arena_strndup(c->a, s->fields[i].name, strlen(s->fields[i].name));
        fields[i].type = s->fields[i].type;
        if (!fields[i].name) {
            st->rc = fx_oom(c);
            return false;
        }
    }
    src_series *e = &st->series[st->n++];
    e->tags = tags;
    e->ntags = s->ntags;
    e->fields = fields;
    e->nfields = s->nfields;
    e->id = s->id;
    return true;
}

static bool src_points_cb(void *ctx, const engine_points *pts)
{
    src_state *st = ctx;
    fx_table *t = st->t;
    for (size_t i = 0; i < pts->n; i++) {
        fx_val *row = fx_table_add_row(t);
        if (!row) {
            st->rc = fx_oom(st->c);
            return false;
        }
        /* _start _stop _time _value; key columns copied from row 0 after the read */
        row[0].type = FX_T_TIME;
        row[0].v.i = st->start;
        row[1].type = FX_T_TIME;
        row[1].v.i = st->stop;
        row[2].type = FX_T_TIME;
        row[2].v.i = pts->time[i];
        fx_val *v = &row[3];
        switch (pts->type) {
        case VT_TYPE_FLOAT: v->type = FX_T_FLOAT; v->v.f = pts->f[i]; break;
        case VT_TYPE_INT: v->type = FX_T_INT; v->v.i = pts->i[i]; break;
        case VT_TYPE_UINT: v->type = FX_T_UINT; v->v.u = pts->u[i]; break;
        case VT_TYPE_BOOL: v->type = FX_T_BOOL; v->v.b = pts->b[i]; break;
        case VT_TYPE_STRING:
            v->type = FX_T_STRING;
            v->v.s = str_dup(st->c, pts->s[i].ptr, pts->s[i].len);
            if (!v->v.s.ptr) {
                st->rc = fx_oom(st->c);
                return false;
            }
            break;
        default: break;
        }
    }
    return true;
}

static bool src_meas_cb(void *ctx, const char *name)
{
    vt_buf *names = ctx;
    vt_buf_append(names, name, strlen(name) + 1);
    return !names->oom;
}

static uint8_t fx_type_of(vt_type t)
{
    switch (t) {
    case VT_TYPE_FLOAT: return FX_T_FLOAT;
    case VT_TYPE_INT: return FX_T_INT;
    case VT_TYPE_UINT: return FX_T_UINT;
    case VT_TYPE_BOOL: return FX_T_BOOL;
    default: return FX_T_STRING;
    }
}

static vt_rc engine_fail(fx_ctx *c, const vt_err *e)
{
    if (c->err->rc != VT_OK)
        return c->err->rc;
    return fx_fail(c, e->rc ? e->rc : VT_EIO, 500, "internal error", "%s", e->msg);
}

static vt_rc run_pipe(fx_ctx *c, fx_pipe *p)
{
    vt_err e;
    vt_err_clear(&e);
    if (!engine_has_db(c->eng, p->db))
        return fx_fail(c, VT_ENOTFOUND, 404, "not found",
                       "failed to initialize execute state: could not find bucket \"%s\"",
                       p->bucket);
    if (p->stop <= p->start)
        return finish(c, p, 0); /* an empty range reads nothing */
    vt_buf names;
    vt_buf_init(&names);
    vt_rc rc = engine_foreach_measurement(c->eng, p->db, src_meas_cb, &names, &e);
    if (rc == VT_OK && names.oom)
        rc = fx_oom(c);
    else if (rc != VT_OK)
        rc = engine_fail(c, &e);
    src_state st;
    memset(&st, 0, sizeof st);
    st.c = c;
    st.p = p;
    st.start = p->start;
    st.stop = p->stop;
    for (size_t off = 0; rc == VT_OK && off < names.len;) {
        const char *m = (const char *)names.data + off;
        off += strlen(m) + 1;
        if (!pushdown_ok(c, p, 2, m, NULL, 0, NULL, &rc)) {
            if (rc != VT_OK)
                break;
            continue;
        }
        st.n = 0;
        st.measurement = m;
        vt_err_clear(&e);
        rc = engine_foreach_series(c->eng, p->db, m, src_series_cb, &st, &e);
        if (st.rc != VT_OK)
            rc = st.rc;
        else if (rc != VT_OK)
            rc = engine_fail(c, &e);
        const char *mcopy = rc == VT_OK ? arena_strndup(c->a, m, strlen(m)) : NULL;
        if (rc == VT_OK && !mcopy)
            rc = fx_oom(c);
        for (size_t si = 0; rc == VT_OK && si < st.n; si++) {
            const src_series *s = &st.series[si];
            for (size_t fi = 0; rc == VT_OK && fi < s->nfields; fi++) {
                const char *field = s->fields[fi].name;
                if (!pushdown_ok(c, p, 1, m, s->tags, s->ntags, field, &rc))
                    continue;
                fx_table *t = fx_table_new(6 + s->ntags);
                if (!t) {
                    rc = fx_oom(c);
                    break;
                }
                static const char *const fixed[] = {"_start", "_stop", "_time",
                                                    "_value", "_field", "_measurement"};
                for (size_t k = 0; k < 6; k++) {
                    t->cols[k].label = fixed[k];
                    t->cols[k].type = k < 3 ? FX_T_TIME : FX_T_STRING;
                    t->cols[k].key = k != 2 && k != 3;
                }
                t->cols[3].type = fx_type_of(s->fields[fi].type);
                for (size_t k = 0; k < s->ntags; k++) {
                    t->cols[6 + k].label = s->tags[k].key.ptr;
                    t->cols[6 + k].type = FX_T_STRING;
                    t->cols[6 + k].key = true;
                }
                st.t = t;
                st.rc = VT_OK;
                vt_err_clear(&e);
                vt_rc rr = engine_read(c->eng, p->db, s->id, field, p->start, p->stop - 1,
                                       src_points_cb, &st, &e);
                if (st.rc != VT_OK)
                    rc = st.rc;
                else if (rr != VT_OK && rr != VT_ENOTFOUND)
                    rc = engine_fail(c, &e);
                if (rc != VT_OK || t->nrows == 0) {
                    fx_table_free(t);
                    continue;
                }
                for (size_t r = 0; r < t->nrows; r++) {
                    fx_val *row = fx_cell(t, r, 0);
                    row[4].type = FX_T_STRING;
                    row[4].v.s = vt_str_c(field);
                    row[5].type = FX_T_STRING;
                    row[5].v.s = vt_str_c(mcopy);
                    for (size_t k = 0; k < s->ntags; k++) {
                        row[6 + k].type = FX_T_STRING;
                        row[6 + k].v.s = s->tags[k].value;
                    }
                }
                rc = push(c, p, 0, t);
            }
        }
    }
    free(st.series);
    vt_buf_free(&names);
    if (rc != VT_OK)
        return rc;
    return finish(c, p, 0);
}

static void pipe_free(fx_pipe *p)
{
    for (size_t i = 0; i < p->nops; i++) {
        for (size_t h = 0; h < p->ops[i].nheld; h++)
            fx_table_free(p->ops[i].held[h]);
        free(p->ops[i].held);
        p->ops[i].held = NULL;
        p->ops[i].nheld = 0;
    }
}

/* Does the expression (after unparen) end in a pipe chain or a from() call? */
static bool is_table_expr(fx_ctx *c, const flux_node *n, int depth)
{
    n = flux_unparen(n);
    if (depth > FX_MAX_VAR_DEPTH)
        return false;
    if (n->kind == FLUX_EXPR_PIPE)
        return true;
    if (n->kind == FLUX_EXPR_CALL) {
        const char *name = call_name(n);
        return name && strcmp(name, "from") == 0;
    }
    if (n->kind == FLUX_EXPR_IDENT) {
        const flux_node *v = find_var(c, n->u.ident);
        return v && is_table_expr(c, v, depth + 1);
    }
    return false;
}

/* ---- entry point ---- */

void flux_exec_options_default(flux_exec_options *o)
{
    memset(o, 0, sizeof *o);
    o->header = true;
    o->delimiter = ',';
}

static vt_rc check_imports(fx_ctx *c)
{
    const flux_file *f = c->file;
    for (size_t i = 0; i < f->u.file.nimports; i++) {
        const char *path = f->u.file.imports[i].path;
        if (strcmp(path, "influxdata/influxdb/schema") != 0 && strcmp(path, "strings") != 0 &&
            strcmp(path, "influxdata/influxdb/v1") != 0)
            return fx_fail(c, VT_EINVAL, 400, "invalid",
                           "compilation failed: error @%u:%u-%u:%u: volta does not provide "
                           "package \"%s\"",
                           f->u.file.imports[i].line, f->u.file.imports[i].col,
                           f->u.file.imports[i].line,
                           f->u.file.imports[i].col + (uint32_t)strlen(path) + 9, path);
    }
    return VT_OK;
}

vt_rc flux_exec_run(engine *e, const char *src, size_t len, const flux_exec_options *o,
                    vt_buf *out, flux_exec_error *err)
{
    memset(err, 0, sizeof *err);
    fx_ctx c;
    memset(&c, 0, sizeof c);
    c.eng = e;
    c.o = o;
    c.err = err;
    c.now = o->now_ns;
    if (c.now == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        c.now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    }
    c.a = arena_new(o->max_bytes);
    if (!c.a)
        return fx_oom(&c);
    qx_ctx_init(&c.xc, c.a);

    flux_file *f = NULL;
    flux_error perr;
    vt_rc rc = flux_parse(c.a, src, len, &f, &perr);
    if (rc != VT_OK) {
        if (perr.rc == VT_ELIMIT && !perr.has_pos)
            fx_fail(&c, VT_ELIMIT, 413, "request too large", "%s", perr.msg);
        else if (perr.rc == VT_ENOMEM)
            fx_oom(&c);
        else
            fx_fail(&c, VT_EPARSE, 400, "invalid", "compilation failed: %s", perr.msg);
        goto done;
    }
    c.file = f;
    if ((rc = check_imports(&c)) != VT_OK)
        goto done;

    /* compile every table-valued expression statement */
    size_t np = 0;
    fx_pipe *pipes = arena_calloc(c.a, f->u.file.nbody + 1, sizeof *pipes);
    if (!pipes) {
        rc = fx_oom(&c);
        goto done;
    }
    for (size_t i = 0; i < f->u.file.nbody; i++) {
        const flux_node *s = f->u.file.body[i];
        if (s->kind == FLUX_STMT_VAR) {
            /* a variable holding an undefined function is reported where it is used */
            continue;
        }
        if (s->kind == FLUX_STMT_OPTION)
            continue; /* options (now, task) are not interpreted */
        if (s->kind != FLUX_STMT_EXPR || !is_table_expr(&c, s->u.expr, 0)) {
            continue;
        }
        fx_pipe *p = &pipes[np++];
        p->start = INT64_MIN;
        rc = compile_chain(&c, p, s->u.expr);
        if (rc == VT_OK && p->start == INT64_MIN)
            rc = fx_fail(&c, VT_EINVAL, 400, "invalid",
                         "cannot submit unbounded read to \"%s\"; try bounding 'from' with a "
                         "call to 'range'",
                         p->bucket ? p->bucket : "");
        if (rc == VT_OK && (p->nops == 0 || p->ops[p->nops - 1].kind != OP_YIELD)) {
            fx_op *y = pipe_add(&c, p, OP_YIELD, s->u.expr, "yield");
            if (!y)
                rc = fx_oom(&c);
            else
                y->result = result_index(&c, "_result", s->u.expr, &rc);
        }
        if (rc != VT_OK)
            goto done;
    }
    if (np == 0) {
        rc = fx_fail(&c, VT_EINVAL, 400, "invalid", "no streaming data");
        goto done;
    }
    for (size_t i = 0; i < np && rc == VT_OK; i++) {
        rc = run_pipe(&c, &pipes[i]);
        pipe_free(&pipes[i]);
    }
    for (size_t i = np; i-- > 0;)
        pipe_free(&pipes[i]);
    if (rc != VT_OK)
        goto done;
    for (size_t i = 0; i < c.nres; i++)
        fx_csv_finish(&c.res[i], out);
    if (out->oom)
        rc = fx_oom(&c);
done:
    for (size_t i = 0; i < c.nres; i++)
        fx_csv_free(&c.res[i]);
    qx_ctx_free(&c.xc);
    arena_free(c.a);
    if (rc != VT_OK && err->rc == VT_OK)
        fx_fail(&c, rc, 500, "internal error", "%s", vt_rc_name(rc));
    return rc != VT_OK ? err->rc : VT_OK;
}
