/*
 * server/handlers_v1.c — the InfluxDB 1.x endpoints: /ping, /health, /write, /query.
 * Error bodies follow InfluxDB 1.8 word for word (clients match on them); see docs/API.md.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/influxql_admin.h"
#include "server/server_int.h"

enum MHD_Result http_handle_ping(http_request *rq)
{
    const char *verbose = http_arg(rq, "verbose");
    if (verbose && strcmp(verbose, "true") == 0) {
        vt_buf b;
        vt_buf_init(&b);
        vt_buf_printf(&b, "{\"version\":");
        http_json_cstr(&b, rq->srv->version);
        vt_buf_printf(&b, "}\n");
        return http_respond(rq, 200, &b);
    }
    return http_respond(rq, 204, NULL);
}

enum MHD_Result http_handle_health(http_request *rq)
{
    node *n = rq->srv->node;
    bool failed = node_failed(n);
    vt_buf b;
    vt_buf_init(&b);
    vt_buf_printf(&b, "{\"name\":\"volta\",\"message\":");
    if (!failed)
        http_json_cstr(&b, "ready for queries and writes");
    else if (journal_failed(node_journal(n)))
        http_json_cstr(&b, "journal write or fsync failed: writes are refused until restart");
    else
        http_json_cstr(&b, "storage engine write or fsync failed: writes are refused until "
                           "restart");
    vt_buf_printf(&b, ",\"status\":\"%s\",\"checks\":[],\"version\":", failed ? "fail" : "pass");
    http_json_cstr(&b, rq->srv->version);
    vt_buf_printf(&b, "}\n");
    return http_respond(rq, failed ? 503 : 200, &b);
}

/* ---- /write ---- */

enum MHD_Result http_handle_write(http_request *rq)
{
    http_server *srv = rq->srv;
    const char *db = http_arg(rq, "db");
    if (!db || !db[0]) {
        atomic_fetch_add_explicit(&srv->write_errors, 1, memory_order_relaxed);
        return http_respond_error(rq, 400, "database is required");
    }
    const char *rp = http_arg(rq, "rp");
    const char *ps = http_arg(rq, "precision");
    lp_precision prec = LP_PRECISION_NS;
    if (ps && ps[0] && lp_precision_parse(ps, &prec) != 0) {
        atomic_fetch_add_explicit(&srv->write_errors, 1, memory_order_relaxed);
        char msg[160];
        snprintf(msg, sizeof msg, "invalid precision \"%.64s\" (use n, u, ms, s, m or h)", ps);
        return http_respond_error(rq, 400, msg);
    }
    int64_t now = http_now_ns(); /* the parser floors it to the precision */

    node_write_result res;
    vt_err err;
    vt_err_clear(&err);
    const char *body = rq->body.data ? (const char *)rq->body.data : "";
    vt_rc rc = node_write(srv->node, db, rp ? rp : "", prec, now, body, rq->body.len, &res, &err);
    if (res.points > 0)
        atomic_fetch_add_explicit(&srv->points_written, res.points, memory_order_relaxed);
    if (rc == VT_OK)
        return http_respond(rq, 204, NULL);
    atomic_fetch_add_explicit(&srv->write_errors, 1, memory_order_relaxed);

    char msg[VT_ERR_MSG_MAX + 64];
    switch (rc) {
    case VT_EPARSE:
        if (res.points == 0) /* nothing written: the parse error alone, as InfluxDB does */
            return http_respond_error(rq, 400, res.error[0] ? res.error : err.msg);
        /* some lines were written: a partial write */
        __attribute__((fallthrough));
    case VT_ETYPE:
        snprintf(msg, sizeof msg, "partial write: %s dropped=%zu",
                 res.error[0] ? res.error : err.msg, res.lines_rejected);
        return http_respond_error(rq, 400, msg);
    case VT_ENOTFOUND: return http_respond_error(rq, 404, err.msg);
    case VT_EINVAL: return http_respond_error(rq, 400, err.msg);
    case VT_ELIMIT: return http_respond_error(rq, 413, "request entity too large");
    default:
        http_log("error", NULL, "write to \"%s\" failed (%s): %s", db, vt_rc_name(rc), err.msg);
        return http_respond_error(rq, 500, err.msg[0] ? err.msg : vt_rc_name(rc));
    }
}

/* ---- /query ---- */

typedef struct http_list_ctx {
    vt_buf b;
    size_t count;
} http_list_ctx;

static void http_list_db_cb(void *ctx, const char *name)
{
    http_list_ctx *lc = ctx;
    if (lc->count)
        vt_buf_append(&lc->b, ",[", 2);
    else
        vt_buf_append(&lc->b, ",\"values\":[[", 12);
    http_json_cstr(&lc->b, name);
    vt_buf_putc(&lc->b, ']');
    lc->count++;
}

static void http_stmt_error(vt_buf *out, size_t i, const char *msg)
{
    vt_buf_printf(out, "{\"statement_id\":%zu,\"error\":", i);
    http_json_cstr(out, msg);
    vt_buf_putc(out, '}');
}

/* Runs the statements; appends the "results" array members to out. */
static void http_run_statements(http_server *srv, const influxql_admin_query *q, vt_buf *out)
{
    size_t i = 0;
    for (; i < q->n; i++) {
        const influxql_admin_stmt *st = &q->stmts[i];
        if (i)
            vt_buf_putc(out, ',');
        vt_err err;
        vt_err_clear(&err);
        vt_rc rc = VT_OK;
        switch (st->kind) {
        case IQA_CREATE_DATABASE: rc = node_create_db(srv->node, st->name, &err); break;
        case IQA_DROP_DATABASE: rc = node_drop_db(srv->node, st->name, &err); break;
        case IQA_SHOW_DATABASES: {
            http_list_ctx lc;
            vt_buf_init(&lc.b);
            lc.count = 0;
            vt_buf_printf(&lc.b,
                          "{\"statement_id\":%zu,\"series\":[{\"name\":\"databases\","
                          "\"columns\":[\"name\"]",
                          i);
            engine_list_dbs(node_engine(srv->node), http_list_db_cb, &lc);
            vt_buf_append(&lc.b, lc.count ? "]}]}" : "}]}", lc.count ? 4 : 3);
            vt_buf_append(out, lc.b.data, lc.b.len);
            if (lc.b.oom)
                out->oom = true;
            vt_buf_free(&lc.b);
            continue;
        }
        case IQA_OTHER:
            rc = vt_err_set(&err, VT_EUNSUPPORTED, "not implemented in this volta version: %s",
                            st->keyword);
            break;
        }
        if (rc == VT_OK) {
            vt_buf_printf(out, "{\"statement_id\":%zu}", i);
            continue;
        }
        if (rc != VT_EUNSUPPORTED && rc != VT_EINVAL)
            http_log("error", NULL, "statement %zu failed (%s): %s", i, vt_rc_name(rc), err.msg);
        http_stmt_error(out, i, err.msg);
        /* InfluxDB stops at the first failing statement */
        for (i++; i < q->n; i++) {
            vt_buf_putc(out, ',');
            http_stmt_error(out, i, "not executed");
        }
        break;
    }
}

/* pretty=true: re-indent with jansson (4 spaces, like InfluxDB). Keeps b on failure. */
static void http_pretty(vt_buf *b)
{
    json_error_t jerr;
    json_t *j = json_loadb((const char *)b->data, b->len, 0, &jerr);
    if (!j)
        return;
    char *s = json_dumps(j, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (!s)
        return;
    vt_buf_reset(b);
    vt_buf_append(b, s, strlen(s));
    vt_buf_putc(b, '\n');
    free(s);
}

enum MHD_Result http_handle_query(http_request *rq)
{
    http_server *srv = rq->srv;
    char *form_q = NULL, *form_pretty = NULL;
    const char *q = http_arg(rq, "q");
    const char *pretty = http_arg(rq, "pretty");
    if ((!q || !q[0]) && rq->body.len > 0) {
        const char *ct =
            MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        if (ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0) {
            form_q = http_form_value((const char *)rq->body.data, rq->body.len, "q");
            q = form_q;
            if (!pretty) {
                form_pretty = http_form_value((const char *)rq->body.data, rq->body.len, "pretty");
                pretty = form_pretty;
            }
        }
    }
    enum MHD_Result r;
    if (!q || !q[0]) {
        r = http_respond_error(rq, 400, "missing required parameter \"q\"");
        goto cleanup;
    }
    influxql_admin_query parsed;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = influxql_admin_parse(q, strlen(q), &parsed, &err);
    if (rc == VT_EPARSE) {
        char msg[VT_ERR_MSG_MAX + 32];
        snprintf(msg, sizeof msg, "error parsing query: %s", err.msg);
        r = http_respond_error(rq, 400, msg);
        goto cleanup;
    }
    if (rc != VT_OK) {
        r = http_respond_error(rq, 500, err.msg);
        goto cleanup;
    }
    vt_buf out;
    vt_buf_init(&out);
    vt_buf_append(&out, "{\"results\":[", 12);
    http_run_statements(srv, &parsed, &out);
    vt_buf_append(&out, "]}", 2);
    influxql_admin_free(&parsed);
    if (pretty && strcmp(pretty, "true") == 0 && !out.oom)
        http_pretty(&out);
    else
        vt_buf_putc(&out, '\n');
    r = http_respond(rq, 200, &out);
cleanup:
    free(form_q);
    free(form_pretty);
    return r;
}
