/*
 * query/qexpr.c — compiled-expression evaluation, InfluxQL value semantics, regexes, and the
 * catalog snapshot the executor plans from (see exec_int.h).
 *
 * Value semantics (InfluxDB 1.x influxql ValuerEval):
 *   - integer op integer: + - * % & | ^ stay integer (wrapping); / is float division;
 *     division or modulo by zero gives 0 (InfluxDB's rule, not an error);
 *   - a float with an integer or unsigned: the other side is converted to float;
 *   - booleans: & | ^ and = !=; strings: = != < <= > >= (bytewise) and =~ !~;
 *   - anything with null is null; a comparison with null or across kinds is false.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/point.h"
#include "common/timefmt.h"
#include "engine/engine.h"
#include "query/exec_int.h"
#include "query/influxql_parser.h"

/* ---- regexes ---- */

struct qx_regex {
    pcre2_code *code;
    pcre2_match_data *md;
    qx_regex *next;
};

void qx_ctx_init(qx_ctx *c, arena *a)
{
    c->a = a;
    c->regexes = NULL;
}

void qx_ctx_free(qx_ctx *c)
{
    qx_regex *r = c->regexes;
    while (r) {
        qx_regex *next = r->next;
        pcre2_match_data_free(r->md);
        pcre2_code_free(r->code);
        free(r);
        r = next;
    }
    c->regexes = NULL;
}

void qx_ctx_adopt(qx_ctx *c, qx_regex *list)
{
    if (!list)
        return;
    qx_regex *last = list;
    while (last->next)
        last = last->next;
    last->next = c->regexes;
    c->regexes = list;
}

qx_regex *qx_regex_compile(qx_ctx *c, const char *pattern, vt_err *err)
{
    int code;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        vt_err_set(err, VT_EINVAL, "error parsing regexp: %s at offset %zu: `%s`", (char *)msg,
                   (size_t)off, pattern);
        return NULL;
    }
    qx_regex *r = calloc(1, sizeof *r);
    pcre2_match_data *md = r ? pcre2_match_data_create_from_pattern(re, NULL) : NULL;
    if (!md) {
        free(r);
        pcre2_code_free(re);
        vt_err_set(err, VT_ENOMEM, "out of memory compiling a regex");
        return NULL;
    }
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    r->code = re;
    r->md = md;
    r->next = c->regexes;
    c->regexes = r;
    return r;
}

bool qx_regex_match(qx_regex *re, const char *s, size_t n)
{
    int rc = pcre2_match(re->code, (PCRE2_SPTR)(s ? s : ""), n, 0, 0, re->md, NULL);
    return rc >= 0;
}

/* ---- values ---- */

vt_str qx_tag_value(const vt_tag *tags, size_t ntags, const char *key)
{
    size_t klen = strlen(key);
    size_t lo = 0, hi = ntags;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const vt_str *k = &tags[mid].key;
        size_t m = k->len < klen ? k->len : klen;
        int c = memcmp(k->ptr, key, m);
        if (c == 0)
            c = k->len < klen ? -1 : k->len > klen ? 1 : 0;
        if (c == 0)
            return tags[mid].value;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (vt_str){"", 0};
}

bool qx_tag_present(const vt_tag *tags, size_t ntags, const char *key)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i < ntags; i++)
        if (tags[i].key.len == klen && memcmp(tags[i].key.ptr, key, klen) == 0)
            return true;
    return false;
}

static bool qx_is_num(const vt_value *v)
{
    return v->type == VT_TYPE_FLOAT || v->type == VT_TYPE_INT || v->type == VT_TYPE_UINT;
}

static double qx_as_float(const vt_value *v)
{
    switch (v->type) {
    case VT_TYPE_FLOAT: return v->v.f;
    case VT_TYPE_INT: return (double)v->v.i;
    case VT_TYPE_UINT: return (double)v->v.u;
    default: return 0;
    }
}

static vt_value qx_null(void)
{
    vt_value v;
    memset(&v, 0, sizeof v);
    return v;
}

static vt_value qx_float(double f)
{
    vt_value v = {.type = VT_TYPE_FLOAT};
    v.v.f = f;
    return v;
}

static vt_value qx_int(int64_t i)
{
    vt_value v = {.type = VT_TYPE_INT};
    v.v.i = i;
    return v;
}

vt_value qx_arith(influxql_op op, const vt_value *a, const vt_value *b)
{
    if (a->type == VT_TYPE_NONE || b->type == VT_TYPE_NONE)
        return qx_null();
    if (a->type == VT_TYPE_BOOL && b->type == VT_TYPE_BOOL) {
        vt_value v = {.type = VT_TYPE_BOOL};
        switch (op) {
        case IQL_OP_BITAND: v.v.b = a->v.b && b->v.b; return v;
        case IQL_OP_BITOR: v.v.b = a->v.b || b->v.b; return v;
        case IQL_OP_BITXOR: v.v.b = a->v.b != b->v.b; return v;
        default: return qx_null();
        }
    }
    if (!qx_is_num(a) || !qx_is_num(b))
        return qx_null();
    if (a->type == VT_TYPE_INT && b->type == VT_TYPE_INT) {
        uint64_t x = (uint64_t)a->v.i, y = (uint64_t)b->v.i;
        switch (op) {
        case IQL_OP_ADD: return qx_int((int64_t)(x + y));
        case IQL_OP_SUB: return qx_int((int64_t)(x - y));
        case IQL_OP_MUL: return qx_int((int64_t)(x * y));
        case IQL_OP_DIV:
            return b->v.i == 0 ? qx_float(0) : qx_float((double)a->v.i / (double)b->v.i);
        case IQL_OP_MOD:
            if (b->v.i == 0)
                return qx_int(0);
            if (b->v.i == -1)
                return qx_int(0);
            return qx_int(a->v.i % b->v.i);
        case IQL_OP_BITAND: return qx_int((int64_t)(x & y));
        case IQL_OP_BITOR: return qx_int((int64_t)(x | y));
        case IQL_OP_BITXOR: return qx_int((int64_t)(x ^ y));
        default: return qx_null();
        }
    }
    if (a->type == VT_TYPE_UINT && b->type == VT_TYPE_UINT) {
        vt_value v = {.type = VT_TYPE_UINT};
        uint64_t x = a->v.u, y = b->v.u;
        switch (op) {
        case IQL_OP_ADD: v.v.u = x + y; return v;
        case IQL_OP_SUB: v.v.u = x - y; return v;
        case IQL_OP_MUL: v.v.u = x * y; return v;
        case IQL_OP_DIV: return y == 0 ? qx_float(0) : qx_float((double)x / (double)y);
        case IQL_OP_MOD: v.v.u = y == 0 ? 0 : x % y; return v;
        case IQL_OP_BITAND: v.v.u = x & y; return v;
        case IQL_OP_BITOR: v.v.u = x | y; return v;
        case IQL_OP_BITXOR: v.v.u = x ^ y; return v;
        default: return qx_null();
        }
    }
    double x = qx_as_float(a), y = qx_as_float(b);
    switch (op) {
    case IQL_OP_ADD: return qx_float(x + y);
    case IQL_OP_SUB: return qx_float(x - y);
    case IQL_OP_MUL: return qx_float(x * y);
    case IQL_OP_DIV: return y == 0 ? qx_float(0) : qx_float(x / y);
    case IQL_OP_MOD: return y == 0 ? qx_float(0) : qx_float(fmod(x, y));
    default: return qx_null();
    }
}

static int qx_strcmp(vt_str a, vt_str b)
{
    size_t m = a.len < b.len ? a.len : b.len;
    int c = m ? memcmp(a.ptr, b.ptr, m) : 0;
    if (c)
        return c;
    return a.len < b.len ? -1 : a.len > b.len ? 1 : 0;
}

static qx_truth qx_from_cmp(influxql_op op, int c)
{
    switch (op) {
    case IQL_OP_EQ: return c == 0 ? QX_TRUE : QX_FALSE;
    case IQL_OP_NEQ: return c != 0 ? QX_TRUE : QX_FALSE;
    case IQL_OP_LT: return c < 0 ? QX_TRUE : QX_FALSE;
    case IQL_OP_LTE: return c <= 0 ? QX_TRUE : QX_FALSE;
    case IQL_OP_GT: return c > 0 ? QX_TRUE : QX_FALSE;
    case IQL_OP_GTE: return c >= 0 ? QX_TRUE : QX_FALSE;
    default: return QX_FALSE;
    }
}

qx_truth qx_compare(influxql_op op, const vt_value *a, const vt_value *b)
{
    if (a->type == VT_TYPE_NONE || b->type == VT_TYPE_NONE)
        return QX_FALSE;
    if (a->type == VT_TYPE_STRING && b->type == VT_TYPE_STRING)
        return qx_from_cmp(op, qx_strcmp(a->v.s, b->v.s));
    if (a->type == VT_TYPE_BOOL && b->type == VT_TYPE_BOOL) {
        if (op != IQL_OP_EQ && op != IQL_OP_NEQ)
            return QX_FALSE;
        return qx_from_cmp(op, a->v.b == b->v.b ? 0 : 1);
    }
    if (!qx_is_num(a) || !qx_is_num(b))
        return QX_FALSE;
    if (a->type == VT_TYPE_INT && b->type == VT_TYPE_INT)
        return qx_from_cmp(op, a->v.i < b->v.i ? -1 : a->v.i > b->v.i);
    if (a->type == VT_TYPE_UINT && b->type == VT_TYPE_UINT)
        return qx_from_cmp(op, a->v.u < b->v.u ? -1 : a->v.u > b->v.u);
    double x = qx_as_float(a), y = qx_as_float(b);
    if (isnan(x) || isnan(y))
        return op == IQL_OP_NEQ ? QX_TRUE : QX_FALSE;
    return qx_from_cmp(op, x < y ? -1 : x > y);
}

static bool qx_is_cmp(influxql_op op)
{
    return op == IQL_OP_EQ || op == IQL_OP_NEQ || op == IQL_OP_LT || op == IQL_OP_LTE ||
           op == IQL_OP_GT || op == IQL_OP_GTE;
}

/* Series-level: is this operand unknown until points are read? */
static bool qx_unknown(const qx *e, const qx_row *row)
{
    if (!row->series_level)
        return false;
    switch (e->kind) {
    case QX_FIELD:
    case QX_TIME:
    case QX_CALL:
    case QX_UNKNOWN: return true;
    case QX_BIN: return qx_unknown(e->l, row) || qx_unknown(e->r, row);
    default: return false;
    }
}

qx_truth qx_eval_cond(const qx *e, const qx_row *row)
{
    if (!e)
        return QX_TRUE;
    if (e->kind == QX_BIN) {
        if (e->op == IQL_OP_AND) {
            qx_truth a = qx_eval_cond(e->l, row);
            if (a == QX_FALSE)
                return QX_FALSE;
            qx_truth b = qx_eval_cond(e->r, row);
            if (b == QX_FALSE)
                return QX_FALSE;
            return a == QX_TRUE && b == QX_TRUE ? QX_TRUE : QX_MAYBE;
        }
        if (e->op == IQL_OP_OR) {
            qx_truth a = qx_eval_cond(e->l, row);
            if (a == QX_TRUE)
                return QX_TRUE;
            qx_truth b = qx_eval_cond(e->r, row);
            if (b == QX_TRUE)
                return QX_TRUE;
            return a == QX_FALSE && b == QX_FALSE ? QX_FALSE : QX_MAYBE;
        }
        if (qx_unknown(e, row))
            return QX_MAYBE;
        if (e->op == IQL_OP_EQREGEX || e->op == IQL_OP_NEQREGEX) {
            vt_value v = qx_eval(e->l, row);
            if (e->r->kind != QX_REGEX || v.type != VT_TYPE_STRING)
                return QX_FALSE;
            bool m = qx_regex_match(e->r->re, v.v.s.ptr, v.v.s.len);
            return (m == (e->op == IQL_OP_EQREGEX)) ? QX_TRUE : QX_FALSE;
        }
        if (qx_is_cmp(e->op)) {
            vt_value a = qx_eval(e->l, row), b = qx_eval(e->r, row);
            return qx_compare(e->op, &a, &b);
        }
    }
    if (qx_unknown(e, row))
        return QX_MAYBE;
    vt_value v = qx_eval(e, row);
    return v.type == VT_TYPE_BOOL && v.v.b ? QX_TRUE : QX_FALSE;
}

vt_value qx_eval(const qx *e, const qx_row *row)
{
    switch (e->kind) {
    case QX_LIT: return e->lit;
    case QX_TAG: {
        vt_value v = {.type = VT_TYPE_STRING};
        v.v.s = qx_tag_value(row->tags, row->ntags, e->name);
        if (e->slot == QX_TAG_NULL_IF_MISSING && v.v.s.ptr && v.v.s.len == 0 &&
            !qx_tag_present(row->tags, row->ntags, e->name))
            v.type = VT_TYPE_NONE;
        return v;
    }
    case QX_FIELD: return row->fields ? row->fields[e->slot] : qx_null();
    case QX_CALL: return row->calls ? row->calls[e->slot] : qx_null();
    case QX_TIME: return qx_int(row->time);
    case QX_BIN: {
        if (e->op == IQL_OP_AND || e->op == IQL_OP_OR || qx_is_cmp(e->op) ||
            e->op == IQL_OP_EQREGEX || e->op == IQL_OP_NEQREGEX) {
            qx_truth t = qx_eval_cond(e, row);
            vt_value v = {.type = VT_TYPE_BOOL};
            v.v.b = t == QX_TRUE;
            return v;
        }
        vt_value a = qx_eval(e->l, row), b = qx_eval(e->r, row);
        return qx_arith(e->op, &a, &b);
    }
    default: return qx_null();
    }
}

/* ---- catalog ---- */

typedef struct qc_load_ctx {
    arena *a;
    qc_series *v;
    size_t n, cap;
    bool oom;
} qc_load_ctx;

static bool qc_load_cb(void *ctx, const engine_series_info *s)
{
    qc_load_ctx *c = ctx;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        qc_series *v = realloc(c->v, cap * sizeof *v);
        if (!v) {
            c->oom = true;
            return false;
        }
        c->v = v;
        c->cap = cap;
    }
    qc_series *q = &c->v[c->n];
    q->id = s->id;
    q->measurement = arena_strndup(c->a, s->measurement, strlen(s->measurement));
    q->ntags = s->ntags;
    q->tags = arena_calloc(c->a, s->ntags ? s->ntags : 1, sizeof *q->tags);
    q->nfields = s->nfields;
    q->fields = arena_calloc(c->a, s->nfields ? s->nfields : 1, sizeof *q->fields);
    if (!q->measurement || !q->tags || !q->fields) {
        c->oom = true;
        return false;
    }
    for (size_t i = 0; i < s->ntags; i++) {
        char *k = arena_strndup(c->a, s->tags[i].key.ptr, s->tags[i].key.len);
        char *v = arena_strndup(c->a, s->tags[i].value.ptr, s->tags[i].value.len);
        if (!k || !v) {
            c->oom = true;
            return false;
        }
        q->tags[i].key = (vt_str){k, s->tags[i].key.len};
        q->tags[i].value = (vt_str){v, s->tags[i].value.len};
    }
    for (size_t i = 0; i < s->nfields; i++) {
        q->fields[i].name = arena_strndup(c->a, s->fields[i].name, strlen(s->fields[i].name));
        q->fields[i].type = s->fields[i].type;
        if (!q->fields[i].name) {
            c->oom = true;
            return false;
        }
    }
    c->n++;
    return true;
}

static int qc_tags_cmp(const vt_tag *a, size_t na, const vt_tag *b, size_t nb)
{
    for (size_t i = 0; i < na && i < nb; i++) {
        int c = qx_strcmp(a[i].key, b[i].key);
        if (c)
            return c;
        c = qx_strcmp(a[i].value, b[i].value);
        if (c)
            return c;
    }
    return na < nb ? -1 : na > nb ? 1 : 0;
}

static int qc_series_cmp(const void *x, const void *y)
{
    const qc_series *a = x, *b = y;
    int c = strcmp(a->measurement, b->measurement);
    if (c)
        return c;
    return qc_tags_cmp(a->tags, a->ntags, b->tags, b->ntags);
}

static int qc_cstr_cmp(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static int qc_field_cmp(const void *x, const void *y)
{
    return strcmp(((const qc_field *)x)->name, ((const qc_field *)y)->name);
}

/* Fills m's tag-key and field unions from its series. */
static bool qc_finish_measurement(arena *a, qc_measurement *m)
{
    size_t nk = 0, nf = 0;
    for (size_t i = 0; i < m->nseries; i++) {
        nk += m->series[i].ntags;
        nf += m->series[i].nfields;
    }
    const char **keys = arena_calloc(a, nk ? nk : 1, sizeof *keys);
    qc_field *fields = arena_calloc(a, nf ? nf : 1, sizeof *fields);
    if (!keys || !fields)
        return false;
    size_t k = 0, f = 0;
    for (size_t i = 0; i < m->nseries; i++) {
        for (size_t j = 0; j < m->series[i].ntags; j++)
            keys[k++] = m->series[i].tags[j].key.ptr;
        for (size_t j = 0; j < m->series[i].nfields; j++)
            fields[f++] = m->series[i].fields[j];
    }
    qsort(keys, k, sizeof *keys, qc_cstr_cmp);
    qsort(fields, f, sizeof *fields, qc_field_cmp);
    size_t uk = 0, uf = 0;
    for (size_t i = 0; i < k; i++)
        if (uk == 0 || strcmp(keys[uk - 1], keys[i]) != 0)
            keys[uk++] = keys[i];
    for (size_t i = 0; i < f; i++)
        if (uf == 0 || strcmp(fields[uf - 1].name, fields[i].name) != 0)
            fields[uf++] = fields[i];
    m->tag_keys = keys;
    m->ntag_keys = uk;
    m->fields = fields;
    m->nfields = uf;
    return true;
}

vt_rc qc_load(engine *e, arena *a, const char *db, const char *measurement, qc_measurement **out,
              size_t *n, vt_err *err)
{
    qc_load_ctx c = {.a = a};
    vt_rc rc = engine_foreach_series(e, db, measurement, qc_load_cb, &c, err);
    if (rc != VT_OK) {
        free(c.v);
        return rc;
    }
    if (c.oom) {
        free(c.v);
        return vt_err_set(err, VT_ENOMEM, "out of memory loading the series of %s", db);
    }
    if (c.n)
        qsort(c.v, c.n, sizeof *c.v, qc_series_cmp);
    qc_series *all = arena_calloc(a, c.n ? c.n : 1, sizeof *all);
    if (!all) {
        free(c.v);
        return vt_err_set(err, VT_ENOMEM, "out of memory loading the series of %s", db);
    }
    if (c.n)
        memcpy(all, c.v, c.n * sizeof *all);
    free(c.v);
    size_t nm = 0;
    for (size_t i = 0; i < c.n; i++)
        if (i == 0 || strcmp(all[i - 1].measurement, all[i].measurement) != 0)
            nm++;
    qc_measurement *ms = arena_calloc(a, nm ? nm : 1, sizeof *ms);
    if (!ms)
        return vt_err_set(err, VT_ENOMEM, "out of memory loading the series of %s", db);
    size_t mi = 0;
    for (size_t i = 0; i < c.n;) {
        size_t j = i;
        while (j < c.n && strcmp(all[j].measurement, all[i].measurement) == 0)
            j++;
        ms[mi].name = all[i].measurement;
        ms[mi].series = &all[i];
        ms[mi].nseries = j - i;
        if (!qc_finish_measurement(a, &ms[mi]))
            return vt_err_set(err, VT_ENOMEM, "out of memory loading the series of %s", db);
        mi++;
        i = j;
    }
    *out = ms;
    *n = nm;
    return VT_OK;
}

typedef struct qc_field_ctx {
    arena *a;
    qc_field *v;
    size_t n, cap;
    bool oom;
} qc_field_ctx;

static bool qc_field_cb(void *ctx, const engine_field_info *f)
{
    qc_field_ctx *c = ctx;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        qc_field *v = arena_calloc(c->a, cap, sizeof *v);
        if (!v) {
            c->oom = true;
            return false;
        }
        if (c->n)
            memcpy(v, c->v, c->n * sizeof *v);
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n].name = arena_strndup(c->a, f->name, strlen(f->name));
    c->v[c->n].type = f->type;
    if (!c->v[c->n].name) {
        c->oom = true;
        return false;
    }
    c->n++;
    return true;
}

static size_t qc_intersect(uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
    size_t i = 0, j = 0, k = 0;
    while (i < na && j < nb) {
        if (a[i] < b[j])
            i++;
        else if (a[i] > b[j])
            j++;
        else {
            a[k++] = a[i];
            i++;
            j++;
        }
    }
    return k;
}

vt_rc qc_load_pinned(engine *e, arena *a, const char *db, const char *measurement,
                     const char *const *keys, const char *const *vals, size_t npins,
                     qc_measurement **out, size_t *n, vt_err *err)
{
    uint64_t *ids = NULL;
    size_t nids = 0;
    vt_rc rc = VT_OK;
    for (size_t p = 0; p < npins && rc == VT_OK; p++) {
        uint64_t *pi = NULL;
        size_t np = 0;
        rc = engine_series_by_tag(e, db, measurement, keys[p], vals[p], &pi, &np, err);
        if (rc != VT_OK)
            break;
        if (p == 0) {
            ids = pi;
            nids = np;
        } else {
            nids = qc_intersect(ids, nids, pi, np);
            free(pi);
        }
    }
    if (rc != VT_OK) {
        free(ids);
        return rc;
    }
    qc_load_ctx c = {.a = a};
    vt_buf store;
    vt_buf_init(&store);
    for (size_t i = 0; i < nids && !c.oom; i++) {
        engine_series_info info;
        vt_buf_reset(&store);
        vt_rc lr = engine_series_lookup(e, db, ids[i], &store, &info, err);
        if (lr == VT_ENOTFOUND) { /* deleted meanwhile */
            vt_err_clear(err);
            continue;
        }
        if (lr != VT_OK) {
            rc = lr;
            break;
        }
        qc_load_cb(&c, &info);
    }
    vt_buf_free(&store);
    free(ids);
    if (rc == VT_OK && c.oom)
        rc = vt_err_set(err, VT_ENOMEM, "out of memory loading series");
    if (rc != VT_OK) {
        free(c.v);
        return rc;
    }
    if (c.n == 0) {
        free(c.v);
        *out = NULL;
        *n = 0;
        return VT_OK;
    }
    if (c.n)
        qsort(c.v, c.n, sizeof *c.v, qc_series_cmp);
    qc_series *all = arena_calloc(a, c.n, sizeof *all);
    qc_measurement *m = arena_calloc(a, 1, sizeof *m);
    if (!all || !m) {
        free(c.v);
        return vt_err_set(err, VT_ENOMEM, "out of memory loading series");
    }
    memcpy(all, c.v, c.n * sizeof *all);
    free(c.v);
    m->name = all[0].measurement;
    m->series = all;
    m->nseries = c.n;
    if (!qc_finish_measurement(a, m))
        return vt_err_set(err, VT_ENOMEM, "out of memory loading series");
    /* the measurement's fields are all of them, not only the pinned series' */
    qc_field_ctx fc = {.a = a};
    rc = engine_foreach_field(e, db, measurement, qc_field_cb, &fc, err);
    if (rc != VT_OK)
        return rc;
    if (fc.oom)
        return vt_err_set(err, VT_ENOMEM, "out of memory loading fields");
    if (fc.n) {
        m->fields = fc.v;
        m->nfields = fc.n;
    }
    *out = m;
    *n = 1;
    return VT_OK;
}

vt_rc qc_load_sources(engine *e, arena *a, qx_ctx *xc, const char *db, const influxql_source *src,
                      size_t nsrc, qc_measurement **out, size_t *n, vt_err *err)
{
    /* one source naming one measurement: load only it */
    if (nsrc == 1 && src[0].kind == IQL_SOURCE_MEASUREMENT && src[0].name)
        return qc_load(e, a, db, src[0].name, out, n, err);
    qc_measurement *all;
    size_t nall;
    vt_rc rc = qc_load(e, a, db, NULL, &all, &nall, err);
    if (rc != VT_OK)
        return rc;
    bool *keep = arena_calloc(a, nall ? nall : 1, sizeof *keep);
    if (!keep)
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    for (size_t s = 0; s < nsrc; s++) {
        if (src[s].kind != IQL_SOURCE_MEASUREMENT)
            continue;
        qx_regex *re = NULL;
        if (src[s].regex) {
            re = qx_regex_compile(xc, src[s].regex, err);
            if (!re)
                return err->rc;
        }
        for (size_t i = 0; i < nall; i++) {
            if (re ? qx_regex_match(re, all[i].name, strlen(all[i].name))
                   : strcmp(all[i].name, src[s].name) == 0)
                keep[i] = true;
        }
    }
    size_t k = 0;
    for (size_t i = 0; i < nall; i++)
        if (keep[i])
            all[k++] = all[i];
    *out = all;
    *n = k;
    return VT_OK;
}

/* ---- compiling ---- */

static const influxql_expr *qx_unparen(const influxql_expr *e)
{
    while (e && e->kind == IQL_EXPR_PAREN)
        e = e->u.paren;
    return e;
}

static bool qx_is_time_ref(const influxql_expr *e)
{
    e = qx_unparen(e);
    return e && e->kind == IQL_EXPR_VARREF && strcasecmp(e->u.ref.name, "time") == 0;
}

vt_rc iql_time_value(const influxql_expr *e, const iql_env *env, const struct vt_tz *tz,
                     int64_t *out, vt_err *err)
{
    e = qx_unparen(e);
    switch (e->kind) {
    case IQL_EXPR_STRING: return vt_time_parse(e->u.str, strlen(e->u.str), tz, out, err);
    case IQL_EXPR_INTEGER: *out = e->u.integer; return VT_OK;
    case IQL_EXPR_NUMBER: *out = vt_f64_to_i64(e->u.num); return VT_OK;
    case IQL_EXPR_DURATION: *out = e->u.duration; return VT_OK;
    case IQL_EXPR_CALL:
        if (strcmp(e->u.call.name, "now") == 0 && e->u.call.nargs == 0) {
            *out = env->now;
            return VT_OK;
        }
        break;
    case IQL_EXPR_BINARY:
        if (e->u.bin.op == IQL_OP_ADD || e->u.bin.op == IQL_OP_SUB) {
            int64_t a, b;
            vt_rc rc = iql_time_value(e->u.bin.lhs, env, tz, &a, err);
            if (rc != VT_OK)
                return rc;
            rc = iql_time_value(e->u.bin.rhs, env, tz, &b, err);
            if (rc != VT_OK)
                return rc;
            /* wrapping, as Go's int64 arithmetic in InfluxDB (a signed overflow is UB in C) */
            *out = (int64_t)(e->u.bin.op == IQL_OP_ADD ? (uint64_t)a + (uint64_t)b
                                                       : (uint64_t)a - (uint64_t)b);
            return VT_OK;
        }
        break;
    default: break;
    }
    return vt_err_set(err, VT_EINVAL, "invalid operation: time and %s are not compatible",
                      e->kind == IQL_EXPR_BOOLEAN  ? "*influxql.BooleanLiteral"
                      : e->kind == IQL_EXPR_VARREF ? "*influxql.VarRef"
                                                   : "*influxql.BinaryExpr");
}

static qx *qx_new(qx_ctx *c, qx_kind k)
{
    qx *x = arena_calloc(c->a, 1, sizeof *x);
    if (x)
        x->kind = k;
    return x;
}

vt_rc qx_compile(qx_ctx *c, const influxql_expr *e, const qx_compile_opts *o, qx **out, vt_err *err)
{
    e = qx_unparen(e);
    qx *x = NULL;
    switch (e->kind) {
    case IQL_EXPR_VARREF: {
        int slot = -1;
        qx_kind k = o->resolve(o->ctx, e->u.ref.name, e->u.ref.type, &slot);
        x = qx_new(c, k);
        if (!x)
            break;
        x->slot = slot;
        x->name = e->u.ref.name;
        break;
    }
    case IQL_EXPR_STRING:
        x = qx_new(c, QX_LIT);
        if (x) {
            x->lit.type = VT_TYPE_STRING;
            x->lit.v.s = (vt_str){e->u.str, strlen(e->u.str)};
        }
        break;
    case IQL_EXPR_NUMBER:
        x = qx_new(c, QX_LIT);
        if (x) {
            x->lit.type = VT_TYPE_FLOAT;
            x->lit.v.f = e->u.num;
        }
        break;
    case IQL_EXPR_INTEGER:
    case IQL_EXPR_DURATION:
        x = qx_new(c, QX_LIT);
        if (x) {
            x->lit.type = VT_TYPE_INT;
            x->lit.v.i = e->kind == IQL_EXPR_INTEGER ? e->u.integer : e->u.duration;
        }
        break;
    case IQL_EXPR_UNSIGNED:
        x = qx_new(c, QX_LIT);
        if (x) {
            x->lit.type = VT_TYPE_UINT;
            x->lit.v.u = e->u.uns;
        }
        break;
    case IQL_EXPR_BOOLEAN:
        x = qx_new(c, QX_LIT);
        if (x) {
            x->lit.type = VT_TYPE_BOOL;
            x->lit.v.b = e->u.boolean;
        }
        break;
    case IQL_EXPR_REGEX:
        x = qx_new(c, QX_REGEX);
        if (x) {
            x->re = qx_regex_compile(c, e->u.regex, err);
            if (!x->re)
                return err->rc;
        }
        break;
    case IQL_EXPR_CALL: {
        if (strcmp(e->u.call.name, "now") == 0 && e->u.call.nargs == 0) {
            x = qx_new(c, QX_LIT);
            if (x) {
                x->lit.type = VT_TYPE_INT;
                x->lit.v.i = o->env->now;
            }
            break;
        }
        if (!o->call_slot)
            return vt_err_set(err, VT_EINVAL, "invalid function call in condition: %s()",
                              e->u.call.name);
        int slot = o->call_slot(o->ctx, e, err);
        if (slot < 0)
            return err->rc ? err->rc : VT_EINVAL;
        x = qx_new(c, QX_CALL);
        if (x)
            x->slot = slot;
        break;
    }
    case IQL_EXPR_BINARY: {
        const influxql_expr *l = e->u.bin.lhs, *r = e->u.bin.rhs;
        influxql_op op = e->u.bin.op;
        bool cmp = op == IQL_OP_EQ || op == IQL_OP_NEQ || op == IQL_OP_LT || op == IQL_OP_LTE ||
                   op == IQL_OP_GT || op == IQL_OP_GTE;
        x = qx_new(c, QX_BIN);
        if (!x)
            break;
        x->op = op;
        if (cmp && (qx_is_time_ref(l) || qx_is_time_ref(r))) {
            /* time <op> literal: the literal becomes an integer time */
            const influxql_expr *lit = qx_is_time_ref(l) ? r : l;
            int64_t t;
            vt_rc rc = iql_time_value(lit, o->env, o->tz, &t, err);
            if (rc != VT_OK)
                return rc;
            qx *tl = qx_new(c, QX_TIME), *tv = qx_new(c, QX_LIT);
            if (!tl || !tv)
                break;
            tv->lit.type = VT_TYPE_INT;
            tv->lit.v.i = t;
            x->l = qx_is_time_ref(l) ? tl : tv;
            x->r = qx_is_time_ref(l) ? tv : tl;
            break;
        }
        vt_rc rc = qx_compile(c, l, o, &x->l, err);
        if (rc != VT_OK)
            return rc;
        rc = qx_compile(c, r, o, &x->r, err);
        if (rc != VT_OK)
            return rc;
        break;
    }
    case IQL_EXPR_WILDCARD:
        return vt_err_set(err, VT_EINVAL, "unsupported wildcard in an expression");
    default: return vt_err_set(err, VT_EINVAL, "unsupported expression");
    }
    if (!x)
        return vt_err_set(err, VT_ENOMEM, "out of memory compiling an expression");
    *out = x;
    return VT_OK;
}

/* ---- regex validation at parse time (InfluxDB compiles regexes while parsing) ---- */

/* Go's regexp/syntax wording for the common PCRE2 compile errors. */
static const char *qx_go_regex_error(int code, const char *pattern, size_t off, char *buf,
                                     size_t cap)
{
    switch (code) {
    case PCRE2_ERROR_MISSING_CLOSING_PARENTHESIS: return "missing closing )";
    case PCRE2_ERROR_MISSING_SQUARE_BRACKET: return "missing closing ]";
    case PCRE2_ERROR_UNMATCHED_CLOSING_PARENTHESIS: return "unexpected )";
    case PCRE2_ERROR_QUANTIFIER_INVALID:
    case PCRE2_ERROR_QUANTIFIER_OUT_OF_ORDER: return "invalid repeat count";
    case PCRE2_ERROR_END_BACKSLASH: return "trailing backslash at end of expression";
    case PCRE2_ERROR_CLASS_RANGE_ORDER: return "invalid character class range";
    default: break;
    }
    PCRE2_UCHAR msg[200];
    pcre2_get_error_message(code, msg, sizeof msg);
    (void)pattern;
    snprintf(buf, cap, "%s at offset %zu", (const char *)msg, off);
    return buf;
}

static bool qx_check_regex_expr(const influxql_expr *e, influxql_error *err)
{
    if (!e)
        return true;
    switch (e->kind) {
    case IQL_EXPR_REGEX: {
        int code;
        PCRE2_SIZE off;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)e->u.regex, PCRE2_ZERO_TERMINATED,
                                       PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code, &off, NULL);
        if (re) {
            pcre2_code_free(re);
            return true;
        }
        char buf[256];
        const char *m = qx_go_regex_error(code, e->u.regex, (size_t)off, buf, sizeof buf);
        uint32_t col = e->col;
        snprintf(err->msg, sizeof err->msg, "error parsing regexp: %s: `%s` at line %u, char %u", m,
                 e->u.regex, e->line, col);
        err->rc = VT_EPARSE;
        err->has_pos = true;
        err->line = e->line;
        err->col = col;
        return false;
    }
    case IQL_EXPR_PAREN: return qx_check_regex_expr(e->u.paren, err);
    case IQL_EXPR_BINARY:
        return qx_check_regex_expr(e->u.bin.lhs, err) && qx_check_regex_expr(e->u.bin.rhs, err);
    case IQL_EXPR_CALL:
        for (size_t i = 0; i < e->u.call.nargs; i++)
            if (!qx_check_regex_expr(e->u.call.args[i], err))
                return false;
        return true;
    default: return true;
    }
}

static bool qx_check_regex_select(const influxql_select *s, influxql_error *err)
{
    if (!s)
        return true;
    for (size_t i = 0; i < s->nfields; i++)
        if (!qx_check_regex_expr(s->fields[i].expr, err))
            return false;
    for (size_t i = 0; i < s->ndims; i++)
        if (!qx_check_regex_expr(s->dims[i], err))
            return false;
    for (size_t i = 0; i < s->nsources; i++)
        if (s->sources[i].kind == IQL_SOURCE_SUBQUERY &&
            !qx_check_regex_select(s->sources[i].subquery, err))
            return false;
    return qx_check_regex_expr(s->where, err);
}

bool iql_check_regexes(const influxql_query *q, influxql_error *err)
{
    for (size_t i = 0; i < q->nstmts; i++) {
        const influxql_stmt *st = q->stmts[i];
        bool ok = true;
        switch (st->kind) {
        case IQL_STMT_SELECT: ok = qx_check_regex_select(st->u.select, err); break;
        case IQL_STMT_EXPLAIN: ok = qx_check_regex_select(st->u.explain.select, err); break;
        case IQL_STMT_DELETE:
        case IQL_STMT_DROP_SERIES: ok = qx_check_regex_expr(st->u.del.where, err); break;
        case IQL_STMT_SHOW_MEASUREMENTS:
        case IQL_STMT_SHOW_TAG_KEYS:
        case IQL_STMT_SHOW_TAG_VALUES:
        case IQL_STMT_SHOW_FIELD_KEYS:
        case IQL_STMT_SHOW_SERIES: ok = qx_check_regex_expr(st->u.show.where, err); break;
        default: break;
        }
        if (!ok)
            return false;
    }
    return true;
}

/* ---- several stores (every retention policy of a database) ---- */

vt_rc qc_load_stores(engine *e, arena *a, qx_ctx *xc, const char *const *stores, size_t nstores,
                     const influxql_source *src, size_t nsrc, qc_measurement **out, size_t *n,
                     vt_err *err)
{
    if (nstores == 1)
        return nsrc ? qc_load_sources(e, a, xc, stores[0], src, nsrc, out, n, err)
                    : qc_load(e, a, stores[0], NULL, out, n, err);
    /* load each store, then merge measurements of the same name (series concatenated) */
    qc_measurement **lists = arena_calloc(a, nstores ? nstores : 1, sizeof *lists);
    size_t *counts = arena_calloc(a, nstores ? nstores : 1, sizeof *counts);
    if (!lists || !counts)
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    size_t total = 0;
    for (size_t i = 0; i < nstores; i++) {
        vt_rc rc = nsrc ? qc_load_sources(e, a, xc, stores[i], src, nsrc, &lists[i], &counts[i], err)
                        : qc_load(e, a, stores[i], NULL, &lists[i], &counts[i], err);
        if (rc != VT_OK)
            return rc;
        total += counts[i];
    }
    const qc_measurement **all = arena_calloc(a, total ? total : 1, sizeof *all);
    if (!all)
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < nstores; i++)
        for (size_t j = 0; j < counts[i]; j++)
            all[k++] = &lists[i][j];
    /* stable insertion sort by name keeps store order within a name */
    for (size_t i = 1; i < k; i++)
        for (size_t j = i; j > 0 && strcmp(all[j - 1]->name, all[j]->name) > 0; j--) {
            const qc_measurement *t = all[j];
            all[j] = all[j - 1];
            all[j - 1] = t;
        }
    qc_measurement *ms = arena_calloc(a, k ? k : 1, sizeof *ms);
    if (!ms)
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    size_t nm = 0;
    for (size_t i = 0; i < k;) {
        size_t j = i, nser = 0;
        while (j < k && strcmp(all[j]->name, all[i]->name) == 0)
            nser += all[j++]->nseries;
        qc_series *ser = arena_calloc(a, nser ? nser : 1, sizeof *ser);
        if (!ser)
            return vt_err_set(err, VT_ENOMEM, "out of memory");
        size_t x = 0;
        for (size_t m = i; m < j; m++) {
            memcpy(ser + x, all[m]->series, all[m]->nseries * sizeof *ser);
            x += all[m]->nseries;
        }
        qsort(ser, x, sizeof *ser, qc_series_cmp);
        ms[nm].name = all[i]->name;
        ms[nm].series = ser;
        ms[nm].nseries = x;
        if (!qc_finish_measurement(a, &ms[nm]))
            return vt_err_set(err, VT_ENOMEM, "out of memory");
        nm++;
        i = j;
    }
    *out = ms;
    *n = nm;
    return VT_OK;
}
