/*
 * query/exec_meta.c — the statement loop, and every statement but SELECT: SHOW DATABASES,
 * MEASUREMENTS, TAG KEYS, TAG VALUES, FIELD KEYS, SERIES, RETENTION POLICIES; CREATE/DROP
 * DATABASE; DELETE, DROP SERIES, DROP MEASUREMENT.
 *
 * Result shapes are InfluxDB 1.6's:
 *   SHOW DATABASES              one series "databases", column name
 *   SHOW MEASUREMENTS           one series "measurements", column name
 *   SHOW TAG KEYS               a series per measurement, column tagKey
 *   SHOW TAG VALUES             a series per measurement, columns key, value (sorted, distinct)
 *   SHOW FIELD KEYS             a series per measurement, columns fieldKey, fieldType
 *   SHOW SERIES                 one unnamed series, column key ("m,k=v" escaped as in LP)
 *   SHOW RETENTION POLICIES     columns name, duration, shardGroupDuration, replicaN, default
 * WHERE on SHOW statements filters series by their tags (time conditions are ignored, as the
 * 1.6 in-memory index does). LIMIT/OFFSET apply to the values of each series, SLIMIT/SOFFSET
 * to the series.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "query/exec_int.h"

/* ---- statement loop ---- */

vt_rc iql_resolve_db(const iql_env *env, const char *stmt_db, const char **out, vt_err *err)
{
    const char *db = stmt_db && stmt_db[0] ? stmt_db : env->db;
    if (!db || !db[0])
        return vt_err_set(err, VT_EINVAL, "database name required");
    if (!engine_has_db(node_engine(env->node), db))
        return vt_err_set(err, VT_ENOTFOUND, "database not found: %s", db);
    *out = db;
    return VT_OK;
}

vt_rc iql_execute(const iql_env *env, const influxql_query *q, qr_writer *w)
{
    size_t i = 0;
    for (; i < q->nstmts; i++) {
        arena *a = arena_new(0);
        vt_err err;
        vt_err_clear(&err);
        if (!a)
            return VT_ENOMEM;
        qr_statement_begin(w, (int)i);
        const influxql_stmt *st = q->stmts[i];
        vt_rc rc = st->kind == IQL_STMT_SELECT ? iql_exec_select(env, a, st->u.select, w, &err)
                                               : iql_exec_meta(env, a, st, w, &err);
        arena_free(a);
        if (qr_aborted(w))
            return VT_EIO;
        if (rc == VT_OK) {
            qr_statement_end(w);
            continue;
        }
        if (rc == VT_ENOMEM && !err.msg[0])
            vt_err_set(&err, VT_ENOMEM, "out of memory");
        qr_statement_error(w, (int)i, err.msg[0] ? err.msg : vt_rc_name(rc));
        for (i++; i < q->nstmts; i++) {
            qr_statement_begin(w, (int)i);
            qr_statement_error(w, (int)i, "not executed");
        }
        break;
    }
    return VT_OK;
}

/* ---- helpers ---- */

static const char *const col_name[] = {"name"};

typedef struct meta_names {
    char **v;
    size_t n, cap;
} meta_names;

static void meta_names_cb(void *ctx, const char *name)
{
    meta_names *m = ctx;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        char **v = realloc(m->v, cap * sizeof *v);
        if (!v)
            return;
        m->v = v;
        m->cap = cap;
    }
    m->v[m->n] = strdup(name);
    if (m->v[m->n])
        m->n++;
}

static vt_value meta_str(const char *s, size_t n)
{
    vt_value v = {.type = VT_TYPE_STRING};
    v.v.s = (vt_str){s, n};
    return v;
}

/* Resolver for SHOW conditions: every name is a tag except time (fields unknown). */
static qx_kind meta_resolve(void *ctx, const char *name, influxql_datatype type, int *slot)
{
    (void)ctx;
    (void)slot;
    if (strcasecmp(name, "time") == 0)
        return QX_UNKNOWN;
    if (type == IQL_TYPE_FIELD)
        return QX_UNKNOWN;
    return QX_TAG;
}

/* Drops time comparisons from a SHOW condition (they are ignored). */
static const influxql_expr *meta_strip_time(arena *a, const influxql_expr *e)
{
    if (!e)
        return NULL;
    const influxql_expr *u = e;
    while (u->kind == IQL_EXPR_PAREN)
        u = u->u.paren;
    if (u->kind != IQL_EXPR_BINARY)
        return e;
    if (u->u.bin.op == IQL_OP_AND || u->u.bin.op == IQL_OP_OR) {
        const influxql_expr *l = meta_strip_time(a, u->u.bin.lhs);
        const influxql_expr *r = meta_strip_time(a, u->u.bin.rhs);
        if (!l)
            return r;
        if (!r)
            return l;
        if (l == u->u.bin.lhs && r == u->u.bin.rhs)
            return e;
        influxql_expr *n = arena_calloc(a, 1, sizeof *n);
        if (!n)
            return e;
        *n = *u;
        n->u.bin.lhs = (influxql_expr *)l;
        n->u.bin.rhs = (influxql_expr *)r;
        return n;
    }
    const influxql_expr *l = u->u.bin.lhs, *r = u->u.bin.rhs;
    while (l->kind == IQL_EXPR_PAREN)
        l = l->u.paren;
    while (r->kind == IQL_EXPR_PAREN)
        r = r->u.paren;
    if ((l->kind == IQL_EXPR_VARREF && strcasecmp(l->u.ref.name, "time") == 0) ||
        (r->kind == IQL_EXPR_VARREF && strcasecmp(r->u.ref.name, "time") == 0))
        return NULL;
    return e;
}

typedef struct meta_ctx {
    const iql_env *env;
    arena *a;
    qx_ctx xc;
    const char *db;
    qc_measurement *ms;
    size_t nms;
    qx *cond;
} meta_ctx;

/* Loads the measurements a SHOW statement addresses and compiles its condition. */
/* Loads the measurements a SHOW / DELETE statement addresses: those of store, or (store NULL)
 * of every retention policy of the database, as InfluxDB's SHOW statements span them all. */
static vt_rc meta_prepare_store(meta_ctx *m, const iql_env *env, arena *a,
                                const influxql_show *sh, const char *store, vt_err *err)
{
    memset(m, 0, sizeof *m);
    m->env = env;
    m->a = a;
    qx_ctx_init(&m->xc, a);
    vt_rc rc = iql_resolve_db(env, sh->db, &m->db, err);
    if (rc != VT_OK)
        return rc;
    engine *e = node_engine(env->node);
    const char **stores = &store;
    size_t nstores = 1;
    if (!store) {
        rc = iql_db_stores(env, a, m->db, &stores, &nstores, err);
        if (rc != VT_OK)
            return rc;
    }
    rc = qc_load_stores(e, a, &m->xc, stores, nstores, sh->sources, sh->nsources, &m->ms,
                        &m->nms, err);
    if (rc != VT_OK)
        return rc;
    const influxql_expr *where = meta_strip_time(a, sh->where);
    if (where) {
        qx_compile_opts o = {.resolve = meta_resolve, .env = env};
        rc = qx_compile(&m->xc, where, &o, &m->cond, err);
        if (rc != VT_OK)
            return rc;
    }
    return VT_OK;
}

static vt_rc meta_prepare(meta_ctx *m, const iql_env *env, arena *a, const influxql_show *sh,
                          vt_err *err)
{
    return meta_prepare_store(m, env, a, sh, NULL, err);
}

static bool meta_series_match(meta_ctx *m, const qc_series *s)
{
    if (!m->cond)
        return true;
    qx_row row = {.tags = s->tags, .ntags = s->ntags, .series_level = true};
    return qx_eval_cond(m->cond, &row) != QX_FALSE;
}

/* LIMIT/OFFSET window over n values: [*from, *to). */
static void meta_window(size_t n, int64_t limit, int64_t offset, size_t *from, size_t *to)
{
    size_t f = offset > 0 ? (size_t)offset : 0;
    if (f > n)
        f = n;
    size_t t = n;
    if (limit > 0 && f + (size_t)limit < t)
        t = f + (size_t)limit;
    *from = f;
    *to = t;
}

static int meta_cstr_cmp(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* ---- SHOW DATABASES ---- */

static vt_rc show_databases(const iql_env *env, qr_writer *w)
{
    meta_names names = {0};
    engine_list_dbs(node_engine(env->node), meta_names_cb, &names);
    qr_series_begin(w, "databases", NULL, 0, col_name, 1);
    qr_series_keep_empty(w);
    for (size_t i = 0; i < names.n; i++) {
        vt_value v = meta_str(names.v[i], strlen(names.v[i]));
        qr_row(w, false, 0, &v, 1);
        free(names.v[i]);
    }
    qr_series_end(w);
    free(names.v);
    return VT_OK;
}

/* ---- SHOW MEASUREMENTS ---- */

static vt_rc show_measurements(const iql_env *env, arena *a, const influxql_show *sh, qr_writer *w,
                               vt_err *err)
{
    meta_ctx m;
    influxql_show copy = *sh;
    copy.sources = NULL;
    copy.nsources = 0;
    vt_rc rc = meta_prepare(&m, env, a, &copy, err);
    if (rc == VT_ENOTFOUND) { /* InfluxDB: SHOW MEASUREMENTS of a missing database is empty */
        qx_ctx_free(&m.xc);
        return VT_OK;
    }
    if (rc != VT_OK) {
        qx_ctx_free(&m.xc);
        return rc;
    }
    qx_regex *re = NULL;
    const influxql_source *wm = sh->with_measurement;
    if (wm && wm->regex) {
        re = qx_regex_compile(&m.xc, wm->regex, err);
        if (!re) {
            qx_ctx_free(&m.xc);
            return err->rc;
        }
    }
    const char **names = arena_calloc(a, m.nms ? m.nms : 1, sizeof *names);
    size_t n = 0;
    for (size_t i = 0; names && i < m.nms; i++) {
        const qc_measurement *ms = &m.ms[i];
        if (wm && (re ? !qx_regex_match(re, ms->name, strlen(ms->name))
                      : strcmp(ms->name, wm->name) != 0))
            continue;
        bool any = false;
        for (size_t j = 0; j < ms->nseries && !any; j++)
            any = meta_series_match(&m, &ms->series[j]);
        if (any)
            names[n++] = ms->name;
    }
    size_t from, to;
    meta_window(n, sh->limit, sh->offset, &from, &to);
    if (to > from) {
        qr_series_begin(w, "measurements", NULL, 0, col_name, 1);
        for (size_t i = from; i < to; i++) {
            vt_value v = meta_str(names[i], strlen(names[i]));
            qr_row(w, false, 0, &v, 1);
        }
        qr_series_end(w);
    }
    qx_ctx_free(&m.xc);
    return names ? VT_OK : vt_err_set(err, VT_ENOMEM, "out of memory");
}

/* ---- SHOW TAG KEYS / FIELD KEYS ---- */

static vt_rc show_keys(const iql_env *env, arena *a, const influxql_show *sh, bool tags,
                       qr_writer *w, vt_err *err)
{
    meta_ctx m;
    vt_rc rc = meta_prepare(&m, env, a, sh, err);
    if (rc != VT_OK) {
        qx_ctx_free(&m.xc);
        return rc;
    }
    static const char *const tag_cols[] = {"tagKey"};
    static const char *const field_cols[] = {"fieldKey", "fieldType"};
    size_t emitted = 0, skipped = 0;
    for (size_t i = 0; i < m.nms; i++) {
        const qc_measurement *ms = &m.ms[i];
        size_t nvals;
        const char **keys = NULL;
        if (tags) {
            /* keys of the series that match the condition */
            keys = arena_calloc(a, ms->ntag_keys ? ms->ntag_keys : 1, sizeof *keys);
            bool *has = arena_calloc(a, ms->ntag_keys ? ms->ntag_keys : 1, sizeof *has);
            if (!keys || !has) {
                qx_ctx_free(&m.xc);
                return vt_err_set(err, VT_ENOMEM, "out of memory");
            }
            for (size_t j = 0; j < ms->nseries; j++) {
                if (!meta_series_match(&m, &ms->series[j]))
                    continue;
                for (size_t t = 0; t < ms->series[j].ntags; t++)
                    for (size_t k = 0; k < ms->ntag_keys; k++)
                        if (strcmp(ms->tag_keys[k], ms->series[j].tags[t].key.ptr) == 0)
                            has[k] = true;
            }
            nvals = 0;
            for (size_t k = 0; k < ms->ntag_keys; k++)
                if (has[k])
                    keys[nvals++] = ms->tag_keys[k];
        } else {
            nvals = ms->nfields;
        }
        if (nvals == 0)
            continue;
        if (sh->soffset > 0 && skipped < (size_t)sh->soffset) {
            skipped++;
            continue;
        }
        if (sh->slimit > 0 && emitted >= (size_t)sh->slimit)
            break;
        size_t from, to;
        meta_window(nvals, sh->limit, sh->offset, &from, &to);
        if (to <= from)
            continue;
        emitted++;
        qr_series_begin(w, ms->name, NULL, 0, tags ? tag_cols : field_cols, tags ? 1 : 2);
        for (size_t k = from; k < to; k++) {
            if (tags) {
                vt_value v = meta_str(keys[k], strlen(keys[k]));
                qr_row(w, false, 0, &v, 1);
            } else {
                const char *tn = vt_type_name(ms->fields[k].type);
                vt_value v[2] = {meta_str(ms->fields[k].name, strlen(ms->fields[k].name)),
                                 meta_str(tn, strlen(tn))};
                qr_row(w, false, 0, v, 2);
            }
        }
        qr_series_end(w);
    }
    qx_ctx_free(&m.xc);
    return VT_OK;
}

/* ---- SHOW TAG VALUES ---- */

typedef struct meta_kv {
    vt_str key, value;
} meta_kv;

static int meta_vtstr_cmp(vt_str a, vt_str b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
    if (c)
        return c;
    return a.len < b.len ? -1 : a.len > b.len ? 1 : 0;
}

static int meta_kv_cmp(const void *x, const void *y)
{
    const meta_kv *a = x, *b = y;
    int c = meta_vtstr_cmp(a->key, b->key);
    return c ? c : meta_vtstr_cmp(a->value, b->value);
}

static bool meta_key_selected(const influxql_show *sh, qx_regex *re, vt_str key)
{
    switch (sh->key_op) {
    case IQL_KEY_EQ:
        return strlen(sh->keys[0]) == key.len && memcmp(sh->keys[0], key.ptr, key.len) == 0;
    case IQL_KEY_NEQ:
        return !(strlen(sh->keys[0]) == key.len && memcmp(sh->keys[0], key.ptr, key.len) == 0);
    case IQL_KEY_IN:
        for (size_t i = 0; i < sh->nkeys; i++)
            if (strlen(sh->keys[i]) == key.len && memcmp(sh->keys[i], key.ptr, key.len) == 0)
                return true;
        return false;
    case IQL_KEY_EQREGEX: return qx_regex_match(re, key.ptr, key.len);
    case IQL_KEY_NEQREGEX: return !qx_regex_match(re, key.ptr, key.len);
    default: return false;
    }
}

/* Sorts and dedupes a measurement's (key, value) pairs and prints them as one series, with
 * LIMIT/OFFSET on the values and SLIMIT/SOFFSET counted in *emitted / *skipped. */
static void meta_emit_tag_values(qr_writer *w, const influxql_show *sh, const char *name,
                                 meta_kv *kv, size_t n, size_t *emitted, size_t *skipped)
{
    static const char *const cols[] = {"key", "value"};
    if (n)
        qsort(kv, n, sizeof *kv, meta_kv_cmp);
    size_t u = 0;
    for (size_t j = 0; j < n; j++)
        if (u == 0 || meta_kv_cmp(&kv[u - 1], &kv[j]) != 0)
            kv[u++] = kv[j];
    size_t from, to;
    meta_window(u, sh->limit, sh->offset, &from, &to);
    if (to <= from)
        return;
    if (sh->soffset > 0 && *skipped < (size_t)sh->soffset) {
        (*skipped)++;
        return;
    }
    if (sh->slimit > 0 && *emitted >= (size_t)sh->slimit)
        return;
    (*emitted)++;
    qr_series_begin(w, name, NULL, 0, cols, 2);
    for (size_t j = from; j < to; j++) {
        vt_value v[2] = {meta_str(kv[j].key.ptr, kv[j].key.len),
                         meta_str(kv[j].value.ptr, kv[j].value.len)};
        qr_row(w, false, 0, v, 2);
    }
    qr_series_end(w);
}

/* SHOW TAG VALUES without WHERE: the (key, value) pairs are taken straight from the engine's
 * series callbacks (only the selected keys copied), instead of a full catalog snapshot. */
typedef struct meta_tv_ctx {
    const influxql_show *sh;
    qx_regex *re;
    arena *a;
    meta_kv *kv;
    size_t n, cap;
    bool oom;
} meta_tv_ctx;

static bool meta_tv_series_cb(void *ctx, const engine_series_info *si)
{
    meta_tv_ctx *c = ctx;
    for (size_t t = 0; t < si->ntags; t++) {
        if (!meta_key_selected(c->sh, c->re, si->tags[t].key))
            continue;
        if (c->n == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 256;
            meta_kv *v = realloc(c->kv, cap * sizeof *v);
            if (!v) {
                c->oom = true;
                return false;
            }
            c->kv = v;
            c->cap = cap;
        }
        /* the series' strings live only during the callback: keep the distinct ones */
        const vt_tag *tg = &si->tags[t];
        if (c->n && c->kv[c->n - 1].key.len == tg->key.len &&
            memcmp(c->kv[c->n - 1].key.ptr, tg->key.ptr, tg->key.len) == 0 &&
            c->kv[c->n - 1].value.len == tg->value.len &&
            memcmp(c->kv[c->n - 1].value.ptr, tg->value.ptr, tg->value.len) == 0)
            continue;
        char *k = arena_strndup(c->a, tg->key.ptr, tg->key.len);
        char *v = arena_strndup(c->a, tg->value.ptr, tg->value.len);
        if (!k || !v) {
            c->oom = true;
            return false;
        }
        c->kv[c->n++] = (meta_kv){{k, tg->key.len}, {v, tg->value.len}};
    }
    return true;
}

typedef struct meta_mlist {
    arena *a;
    const char **v;
    size_t n, cap;
    bool oom;
} meta_mlist;

static bool meta_mlist_cb(void *ctx, const char *name)
{
    meta_mlist *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        const char **v = arena_calloc(l->a, cap, sizeof *v);
        if (!v) {
            l->oom = true;
            return false;
        }
        if (l->n)
            memcpy(v, l->v, l->n * sizeof *v);
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n] = arena_strndup(l->a, name, strlen(name));
    if (!l->v[l->n]) {
        l->oom = true;
        return false;
    }
    l->n++;
    return true;
}

static vt_rc show_tag_values_direct(const iql_env *env, arena *a, const influxql_show *sh,
                                    qr_writer *w, vt_err *err)
{
    const char *db;
    vt_rc rc = iql_resolve_db(env, sh->db, &db, err);
    if (rc != VT_OK)
        return rc;
    const char **stores;
    size_t nstores;
    rc = iql_db_stores(env, a, db, &stores, &nstores, err);
    if (rc != VT_OK)
        return rc;
    engine *e = node_engine(env->node);
    qx_ctx xc;
    qx_ctx_init(&xc, a);
    meta_tv_ctx c = {.sh = sh, .a = a};
    if (sh->key_op == IQL_KEY_EQREGEX || sh->key_op == IQL_KEY_NEQREGEX) {
        c.re = qx_regex_compile(&xc, sh->key_regex, err);
        if (!c.re) {
            qx_ctx_free(&xc);
            return err->rc;
        }
    }
    /* measurement names: FROM names and regexes over every store's measurements */
    meta_mlist ml = {.a = a};
    for (size_t si = 0; si < nstores && rc == VT_OK; si++)
        rc = engine_foreach_measurement(e, stores[si], meta_mlist_cb, &ml, err);
    if (rc == VT_OK && ml.oom)
        rc = vt_err_set(err, VT_ENOMEM, "out of memory");
    if (rc != VT_OK) {
        qx_ctx_free(&xc);
        return rc;
    }
    if (ml.n)
        qsort(ml.v, ml.n, sizeof *ml.v, meta_cstr_cmp);
    size_t u = 0;
    for (size_t i = 0; i < ml.n; i++)
        if (u == 0 || strcmp(ml.v[u - 1], ml.v[i]) != 0)
            ml.v[u++] = ml.v[i];
    ml.n = u;
    /* FROM regexes, compiled once */
    qx_regex **sre = arena_calloc(a, sh->nsources ? sh->nsources : 1, sizeof *sre);
    if (!sre)
        rc = vt_err_set(err, VT_ENOMEM, "out of memory");
    for (size_t k = 0; rc == VT_OK && k < sh->nsources; k++)
        if (sh->sources[k].kind == IQL_SOURCE_MEASUREMENT && sh->sources[k].regex &&
            !(sre[k] = qx_regex_compile(&xc, sh->sources[k].regex, err)))
            rc = err->rc;
    size_t emitted = 0, skipped = 0;
    for (size_t mi = 0; mi < ml.n && rc == VT_OK; mi++) {
        bool take = sh->nsources == 0;
        for (size_t k = 0; k < sh->nsources && !take; k++) {
            const influxql_source *src = &sh->sources[k];
            if (src->kind != IQL_SOURCE_MEASUREMENT)
                continue;
            take = sre[k] ? qx_regex_match(sre[k], ml.v[mi], strlen(ml.v[mi]))
                          : strcmp(src->name, ml.v[mi]) == 0;
        }
        if (!take)
            continue;
        c.n = 0;
        for (size_t si = 0; si < nstores && rc == VT_OK; si++)
            rc = engine_foreach_series(e, stores[si], ml.v[mi], meta_tv_series_cb, &c, err);
        if (rc == VT_OK && c.oom)
            rc = vt_err_set(err, VT_ENOMEM, "out of memory");
        if (rc != VT_OK)
            break;
        meta_emit_tag_values(w, sh, ml.v[mi], c.kv, c.n, &emitted, &skipped);
    }
    free(c.kv);
    qx_ctx_free(&xc);
    return rc;
}

static vt_rc show_tag_values(const iql_env *env, arena *a, const influxql_show *sh, qr_writer *w,
                             vt_err *err)
{
    if (!sh->where)
        return show_tag_values_direct(env, a, sh, w, err);
    meta_ctx m;
    vt_rc rc = meta_prepare(&m, env, a, sh, err);
    if (rc != VT_OK) {
        qx_ctx_free(&m.xc);
        return rc;
    }
    qx_regex *re = NULL;
    if (sh->key_op == IQL_KEY_EQREGEX || sh->key_op == IQL_KEY_NEQREGEX) {
        re = qx_regex_compile(&m.xc, sh->key_regex, err);
        if (!re) {
            qx_ctx_free(&m.xc);
            return err->rc;
        }
    }
    size_t emitted = 0, skipped = 0;
    for (size_t i = 0; i < m.nms; i++) {
        const qc_measurement *ms = &m.ms[i];
        size_t cap = 0;
        for (size_t j = 0; j < ms->nseries; j++)
            cap += ms->series[j].ntags;
        meta_kv *kv = malloc((cap ? cap : 1) * sizeof *kv);
        if (!kv) {
            qx_ctx_free(&m.xc);
            return vt_err_set(err, VT_ENOMEM, "out of memory");
        }
        size_t n = 0;
        for (size_t j = 0; j < ms->nseries; j++) {
            const qc_series *s = &ms->series[j];
            if (!meta_series_match(&m, s))
                continue;
            for (size_t t = 0; t < s->ntags; t++)
                if (meta_key_selected(sh, re, s->tags[t].key))
                    kv[n++] = (meta_kv){s->tags[t].key, s->tags[t].value};
        }
        meta_emit_tag_values(w, sh, ms->name, kv, n, &emitted, &skipped);
        free(kv);
    }
    qx_ctx_free(&m.xc);
    return VT_OK;
}

/* ---- SHOW SERIES ---- */

static void meta_escape(vt_buf *b, const char *s, size_t n, bool measurement)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == ',' || c == ' ' || (!measurement && c == '='))
            vt_buf_putc(b, '\\');
        vt_buf_putc(b, (uint8_t)c);
    }
}

static vt_rc show_series(const iql_env *env, arena *a, const influxql_show *sh, qr_writer *w,
                         vt_err *err)
{
    meta_ctx m;
    vt_rc rc = meta_prepare(&m, env, a, sh, err);
    if (rc != VT_OK) {
        qx_ctx_free(&m.xc);
        return rc;
    }
    size_t total = 0;
    for (size_t i = 0; i < m.nms; i++)
        total += m.ms[i].nseries;
    char **keys = malloc((total ? total : 1) * sizeof *keys);
    size_t n = 0;
    vt_buf b;
    vt_buf_init(&b);
    for (size_t i = 0; keys && i < m.nms; i++) {
        for (size_t j = 0; j < m.ms[i].nseries; j++) {
            const qc_series *s = &m.ms[i].series[j];
            if (!meta_series_match(&m, s))
                continue;
            vt_buf_reset(&b);
            meta_escape(&b, s->measurement, strlen(s->measurement), true);
            for (size_t t = 0; t < s->ntags; t++) {
                vt_buf_putc(&b, ',');
                meta_escape(&b, s->tags[t].key.ptr, s->tags[t].key.len, false);
                vt_buf_putc(&b, '=');
                meta_escape(&b, s->tags[t].value.ptr, s->tags[t].value.len, false);
            }
            keys[n] = arena_strndup(a, (const char *)b.data, b.len);
            if (keys[n])
                n++;
        }
    }
    vt_buf_free(&b);
    if (!keys) {
        qx_ctx_free(&m.xc);
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    }
    qsort(keys, n, sizeof *keys, meta_cstr_cmp);
    size_t from, to;
    meta_window(n, sh->limit, sh->offset, &from, &to);
    static const char *const cols[] = {"key"};
    if (to > from) {
        qr_series_begin(w, NULL, NULL, 0, cols, 1);
        for (size_t i = from; i < to; i++) {
            vt_value v = meta_str(keys[i], strlen(keys[i]));
            qr_row(w, false, 0, &v, 1);
        }
        qr_series_end(w);
    }
    free(keys);
    qx_ctx_free(&m.xc);
    return VT_OK;
}

/* ---- DELETE / DROP SERIES / DROP MEASUREMENT ---- */

/* Does a DELETE / DROP SERIES condition name a field of the addressed measurements? */
static bool meta_where_has_field(const meta_ctx *m, const influxql_expr *e)
{
    if (!e)
        return false;
    switch (e->kind) {
    case IQL_EXPR_PAREN: return meta_where_has_field(m, e->u.paren);
    case IQL_EXPR_BINARY:
        return meta_where_has_field(m, e->u.bin.lhs) || meta_where_has_field(m, e->u.bin.rhs);
    case IQL_EXPR_VARREF:
        if (e->u.ref.type == IQL_TYPE_FIELD)
            return true;
        for (size_t i = 0; i < m->nms; i++)
            for (size_t j = 0; j < m->ms[i].nfields; j++)
                if (strcmp(m->ms[i].fields[j].name, e->u.ref.name) == 0)
                    return true;
        return false;
    default: return false;
    }
}

static vt_rc meta_delete(const iql_env *env, arena *a, const influxql_stmt *st, bool drop,
                         vt_err *err)
{
    meta_ctx m;
    influxql_show sh;
    memset(&sh, 0, sizeof sh);
    sh.sources = st->u.del.sources;
    sh.nsources = st->u.del.nsources;
    /* the time range of DELETE */
    int64_t tmin = INT64_MIN, tmax = INT64_MAX;
    const influxql_expr *where = st->u.del.where;
    if (!drop && where) {
        /* collect the time bounds of the top-level AND chain */
        const influxql_expr *stack[64];
        size_t sp = 0;
        stack[sp++] = where;
        while (sp) {
            const influxql_expr *e = stack[--sp];
            while (e->kind == IQL_EXPR_PAREN)
                e = e->u.paren;
            if (e->kind != IQL_EXPR_BINARY)
                continue;
            if (e->u.bin.op == IQL_OP_AND) {
                if (sp + 2 <= 64) {
                    stack[sp++] = e->u.bin.lhs;
                    stack[sp++] = e->u.bin.rhs;
                }
                continue;
            }
            const influxql_expr *l = e->u.bin.lhs, *r = e->u.bin.rhs;
            bool lt = l->kind == IQL_EXPR_VARREF && strcasecmp(l->u.ref.name, "time") == 0;
            bool rt = r->kind == IQL_EXPR_VARREF && strcasecmp(r->u.ref.name, "time") == 0;
            if (!lt && !rt)
                continue;
            int64_t t;
            vt_rc rc = iql_time_value(lt ? r : l, env, NULL, &t, err);
            if (rc != VT_OK)
                return rc;
            influxql_op op = e->u.bin.op;
            if (rt) { /* literal op time: mirror */
                op = op == IQL_OP_LT    ? IQL_OP_GT
                     : op == IQL_OP_GT  ? IQL_OP_LT
                     : op == IQL_OP_LTE ? IQL_OP_GTE
                     : op == IQL_OP_GTE ? IQL_OP_LTE
                                        : op;
            }
            switch (op) {
            case IQL_OP_GT:
                if (t + 1 > tmin)
                    tmin = t + 1;
                break;
            case IQL_OP_GTE:
                if (t > tmin)
                    tmin = t;
                break;
            case IQL_OP_LT:
                if (t - 1 < tmax)
                    tmax = t - 1;
                break;
            case IQL_OP_LTE:
                if (t < tmax)
                    tmax = t;
                break;
            case IQL_OP_EQ: tmin = tmax = t; break;
            default: return vt_err_set(err, VT_EINVAL, "invalid time condition in DELETE");
            }
        }
    }
    sh.where = (influxql_expr *)where;
    /* every retention policy of the database, one store at a time */
    const char *db;
    vt_rc rc = iql_resolve_db(env, NULL, &db, err);
    if (rc != VT_OK)
        return rc;
    const char **stores;
    size_t nstores;
    rc = iql_db_stores(env, a, db, &stores, &nstores, err);
    for (size_t si = 0; rc == VT_OK && si < nstores; si++) {
        rc = meta_prepare_store(&m, env, a, &sh, stores[si], err);
        if (rc == VT_OK && where && meta_where_has_field(&m, where))
            rc = vt_err_set(err, VT_EINVAL, "fields not supported in WHERE clause during deletion");
        size_t total = 0;
        for (size_t i = 0; rc == VT_OK && i < m.nms; i++)
            total += m.ms[i].nseries;
        uint64_t *ids = rc == VT_OK ? malloc((total ? total : 1) * sizeof *ids) : NULL;
        if (rc == VT_OK && !ids)
            rc = vt_err_set(err, VT_ENOMEM, "out of memory");
        size_t n = 0;
        for (size_t i = 0; rc == VT_OK && i < m.nms; i++)
            for (size_t j = 0; j < m.ms[i].nseries; j++)
                if (meta_series_match(&m, &m.ms[i].series[j]))
                    ids[n++] = m.ms[i].series[j].id;
        if (rc == VT_OK && n)
            rc = node_delete(env->node, stores[si], ids, n, tmin, tmax, err);
        free(ids);
        qx_ctx_free(&m.xc);
    }
    return rc;
}

/* ---- stores of a database ---- */

vt_rc iql_db_stores(const iql_env *env, arena *a, const char *db, const char ***stores, size_t *n,
                    vt_err *err)
{
    record_rpcat cat;
    memset(&cat, 0, sizeof cat);
    vt_rc rc = node_rp_catalog(env->node, db, &cat, err);
    if (rc != VT_OK)
        return rc;
    const char **v = arena_calloc(a, cat.n ? cat.n : 1, sizeof *v);
    size_t k = 0;
    for (size_t i = 0; v && i < cat.n; i++) {
        char buf[ENGINE_STORE_NAME_MAX + 1];
        if (node_resolve_store(env->node, db, cat.rps[i].name, buf, sizeof buf, err) != VT_OK) {
            vt_err_clear(err);
            continue;
        }
        v[k] = arena_strndup(a, buf, strlen(buf));
        if (!v[k]) {
            v = NULL;
            break;
        }
        k++;
    }
    record_rpcat_free(&cat);
    if (!v)
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    *stores = v;
    *n = k;
    return VT_OK;
}

int64_t iql_shard_duration(const iql_env *env, const char *db, const char *rp)
{
    int64_t d = (int64_t)7 * 24 * 3600 * 1000000000;
    if (!rp || !rp[0])
        rp = env->rp && env->rp[0] ? env->rp : NULL;
    record_rpcat cat;
    memset(&cat, 0, sizeof cat);
    vt_err err;
    vt_err_clear(&err);
    if (node_rp_catalog(env->node, db, &cat, &err) != VT_OK)
        return d;
    const record_rp *r = record_rpcat_find(&cat, rp ? rp : cat.default_rp);
    if (r && r->shard_duration > 0)
        d = r->shard_duration;
    record_rpcat_free(&cat);
    return d;
}

vt_rc iql_exec_meta(const iql_env *env, arena *a, const influxql_stmt *st, qr_writer *w,
                    vt_err *err)
{
    switch (st->kind) {
    case IQL_STMT_SHOW_DATABASES: return show_databases(env, w);
    case IQL_STMT_SHOW_MEASUREMENTS: return show_measurements(env, a, &st->u.show, w, err);
    case IQL_STMT_SHOW_TAG_KEYS: return show_keys(env, a, &st->u.show, true, w, err);
    case IQL_STMT_SHOW_FIELD_KEYS: return show_keys(env, a, &st->u.show, false, w, err);
    case IQL_STMT_SHOW_TAG_VALUES: return show_tag_values(env, a, &st->u.show, w, err);
    case IQL_STMT_SHOW_SERIES: return show_series(env, a, &st->u.show, w, err);
    case IQL_STMT_SHOW_RETENTION_POLICIES:
    case IQL_STMT_CREATE_DATABASE:
    case IQL_STMT_CREATE_RETENTION_POLICY:
    case IQL_STMT_ALTER_RETENTION_POLICY:
    case IQL_STMT_DROP_RETENTION_POLICY: return iql_exec_rp(env, a, st, w, err);
    case IQL_STMT_DROP_DATABASE: return node_drop_db(env->node, st->u.name, err);
    case IQL_STMT_DELETE: return meta_delete(env, a, st, false, err);
    case IQL_STMT_DROP_SERIES: return meta_delete(env, a, st, true, err);
    case IQL_STMT_DROP_MEASUREMENT: {
        const char *db;
        vt_rc rc = iql_resolve_db(env, NULL, &db, err);
        const char **stores = NULL;
        size_t nstores = 0;
        if (rc == VT_OK)
            rc = iql_db_stores(env, a, db, &stores, &nstores, err);
        for (size_t i = 0; rc == VT_OK && i < nstores; i++)
            rc = node_drop_measurement(env->node, stores[i], st->u.name, err);
        return rc;
    }
    case IQL_STMT_EXPLAIN:
        return vt_err_set(err, VT_EUNSUPPORTED, "EXPLAIN is not supported by this volta version");
    case IQL_STMT_OTHER:
        return vt_err_set(err, VT_EUNSUPPORTED, "%s is not supported by volta",
                          st->u.other.keyword);
    default: return vt_err_set(err, VT_EUNSUPPORTED, "statement not supported");
    }
}
