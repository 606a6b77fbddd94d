/*
 * query/influxql_run.c — one call from InfluxQL text to InfluxDB's JSON response, for callers
 * inside the process (a native backend's query, `volta query --data`, checks).
 */
#include <string.h>
#include <time.h>

#include "query/arena.h"
#include "query/influxql_exec.h"
#include "query/influxql_parser.h"

vt_rc iql_run_json(node *n, const char *db, const char *rp, const char *text, size_t len,
                   int64_t epoch_div, vt_buf *out, vt_err *err)
{
    arena *a = arena_new(0);
    if (!a)
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    influxql_query *q = NULL;
    influxql_error perr;
    memset(&perr, 0, sizeof perr);
    vt_rc rc = influxql_parse(a, text, len, NULL, &q, &perr);
    if (rc == VT_OK && !iql_check_regexes(q, &perr))
        rc = VT_EPARSE;
    if (rc != VT_OK) {
        vt_err_set(err, rc, "error parsing query: %s", perr.msg);
        arena_free(a);
        return rc;
    }
    qr_options o = {.format = QR_JSON, .epoch_div = epoch_div};
    qr_writer w;
    qr_init(&w, &o);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    iql_env env = {.node = n,
                   .db = db ? db : "",
                   .rp = rp ? rp : "",
                   .now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec};
    qr_begin(&w);
    rc = iql_execute(&env, q, &w);
    qr_end(&w);
    if (rc == VT_OK && w.out.oom)
        rc = VT_ENOMEM;
    if (rc != VT_OK) {
        vt_err_set(err, rc, "query failed: %s", vt_rc_name(rc));
    } else {
        vt_buf_append(out, w.out.data, w.out.len);
        if (out->oom)
            rc = vt_err_set(err, VT_ENOMEM, "out of memory");
    }
    qr_free(&w);
    arena_free(a);
    return rc;
}

/* ---- the databases a query names (iql_named_databases) ---- */

typedef void (*named_db_fn)(void *ctx, const char *db);

static void named_sources(const influxql_source *src, size_t n, named_db_fn fn, void *ctx);

static void named_select(const influxql_select *sel, named_db_fn fn, void *ctx)
{
    if (!sel)
        return;
    if (sel->has_into && sel->into_db)
        fn(ctx, sel->into_db);
    named_sources(sel->sources, sel->nsources, fn, ctx);
}

static void named_sources(const influxql_source *src, size_t n, named_db_fn fn, void *ctx)
{
    for (size_t i = 0; src && i < n; i++) {
        if (src[i].kind == IQL_SOURCE_SUBQUERY)
            named_select(src[i].subquery, fn, ctx);
        else if (src[i].db)
            fn(ctx, src[i].db);
    }
}

void iql_named_databases(const influxql_query *q, void (*fn)(void *ctx, const char *db),
                         void *ctx, bool *all_databases)
{
    *all_databases = false;
    for (size_t i = 0; q && i < q->nstmts; i++) {
        const influxql_stmt *st = q->stmts[i];
        switch (st->kind) {
        case IQL_STMT_SELECT: named_select(st->u.select, fn, ctx); break;
        case IQL_STMT_EXPLAIN: named_select(st->u.explain.select, fn, ctx); break;
        case IQL_STMT_SHOW_DATABASES: *all_databases = true; break;
        case IQL_STMT_SHOW_MEASUREMENTS:
        case IQL_STMT_SHOW_TAG_KEYS:
        case IQL_STMT_SHOW_TAG_VALUES:
        case IQL_STMT_SHOW_FIELD_KEYS:
        case IQL_STMT_SHOW_SERIES:
        case IQL_STMT_SHOW_RETENTION_POLICIES:
            if (st->u.show.db_wildcard)
                *all_databases = true;
            else if (st->u.show.db)
                fn(ctx, st->u.show.db);
            named_sources(st->u.show.sources, st->u.show.nsources, fn, ctx);
            if (st->u.show.with_measurement)
                named_sources(st->u.show.with_measurement, 1, fn, ctx);
            break;
        case IQL_STMT_CREATE_DATABASE:
        case IQL_STMT_CREATE_RETENTION_POLICY:
        case IQL_STMT_ALTER_RETENTION_POLICY:
        case IQL_STMT_DROP_RETENTION_POLICY:
            if (st->u.rp.db)
                fn(ctx, st->u.rp.db);
            break;
        case IQL_STMT_DROP_DATABASE:
            if (st->u.name)
                fn(ctx, st->u.name);
            break;
        case IQL_STMT_DELETE:
        case IQL_STMT_DROP_SERIES:
            named_sources(st->u.del.sources, st->u.del.nsources, fn, ctx);
            break;
        case IQL_STMT_DROP_MEASUREMENT:
            break;
        case IQL_STMT_OTHER:
            *all_databases = true; /* not modelled: assume the worst */
            break;
        }
    }
}
