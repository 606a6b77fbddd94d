/*
 * server/handlers_admin.c — the operator endpoints of the ingest pipeline:
 *
 *   POST /api/v1/load     {"paths": ["/abs/file.csv", ...], "force": false, "db": "ons"}
 *                         loads server-side files through the ledger (volta load --host)
 *   POST /api/v1/resync?backend=<name>&dry_run=true|false
 *                         pauses the backend's applier, repairs it (ops/resync.h), resumes it
 *   GET  /api/v1/ledger   the ledger rows, newest state of every file
 * Answers are JSON; errors {"error": "..."} with the status of their vt_rc.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/replication.h"
#include "common/faultinj.h"
#include "ingest/landing.h"
#include "ingest/loader.h"
#include "meta/meta.h"
#include "ops/resync.h"
#include "query/result.h"
#include "server/server_int.h"

static enum MHD_Result fail(http_request *rq, vt_rc rc, const char *msg)
{
    return http_respond_error(rq, (unsigned)vt_rc_http_status(rc), msg);
}

static void json_str(vt_buf *b, const char *s)
{
    qr_json_str(b, s, strlen(s));
}

static void file_json(vt_buf *b, const meta_file *f)
{
    vt_buf_printf(b, "{\"path\":");
    json_str(b, f->path);
    vt_buf_printf(b, ",\"dataset\":");
    json_str(b, f->dataset);
    vt_buf_printf(b, ",\"database\":");
    json_str(b, f->database);
    vt_buf_printf(b,
                  ",\"state\":\"%s\",\"size\":%llu,\"hash\":\"%s\",\"rows_read\":%llu,"
                  "\"rows_loaded\":%llu,\"rows_rejected\":%llu,\"rows_empty\":%llu,"
                  "\"empty_values\":%llu,\"points\":%llu,\"min_time\":%lld,\"max_time\":%lld,"
                  "\"seq_first\":%llu,\"seq_last\":%llu,\"loads\":%u,\"error\":",
                  meta_file_state_name(f->state), (unsigned long long)f->size, f->hash,
                  (unsigned long long)f->rows_read, (unsigned long long)f->rows_loaded,
                  (unsigned long long)f->rows_rejected, (unsigned long long)f->rows_empty,
                  (unsigned long long)f->empty_values, (unsigned long long)f->points,
                  (long long)f->min_time, (long long)f->max_time, (unsigned long long)f->seq_first,
                  (unsigned long long)f->seq_last, f->loads);
    json_str(b, f->error);
    vt_buf_putc(b, '}');
}

static const char *outcome_name(load_outcome o)
{
    switch (o) {
    case LOAD_SKIPPED_UNCHANGED: return "unchanged";
    case LOAD_LOADED: return "loaded";
    case LOAD_RELOADED: return "reloaded";
    case LOAD_FAILED: return "failed";
    case LOAD_SKIPPED_FAILED: return "failed_unchanged";
    }
    return "?";
}

enum MHD_Result http_handle_admin_load(http_request *rq)
{
    http_server *srv = rq->srv;
    if (!srv->opts.meta)
        return fail(rq, VT_EUNSUPPORTED, "this server runs no ingest pipeline");
    json_error_t je;
    json_t *root =
        json_loadb(rq->body.data ? (const char *)rq->body.data : "", rq->body.len, 0, &je);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        char msg[300];
        snprintf(msg, sizeof msg,
                 "request body: expected {\"paths\": [...]}: %s (line %d, "
                 "column %d)",
                 je.text, je.line, je.column);
        return fail(rq, VT_EINVAL, msg);
    }
    json_t *paths = json_object_get(root, "paths");
    const char *db = json_string_value(json_object_get(root, "db"));
    bool force = json_is_true(json_object_get(root, "force"));
    if (!json_is_array(paths) || json_array_size(paths) == 0) {
        json_decref(root);
        return fail(rq, VT_EINVAL,
                    "request body: \"paths\" must be a non-empty array of "
                    "absolute server-side paths");
    }
    vt_buf b;
    vt_buf_init(&b);
    vt_buf_printf(&b, "{\"files\":[");
    size_t i;
    json_t *p;
    vt_rc rc = VT_OK;
    vt_err err;
    vt_err_clear(&err);
    json_array_foreach(paths, i, p)
    {
        const char *path = json_string_value(p);
        if (!path || path[0] != '/') {
            rc = vt_err_set(&err, VT_EINVAL, "paths[%zu]: an absolute path is required", i);
            break;
        }
        loader_options o = {.database = db && db[0] ? db : srv->opts.landing_db, .force = force};
        load_result r;
        rc = loader_load_file(srv->node, srv->opts.meta, path, path, &o, &r, &err);
        if (rc != VT_OK)
            break;
        vt_buf_printf(&b, "%s{\"outcome\":\"%s\",\"seconds\":%.3f,\"file\":", i ? "," : "",
                      outcome_name(r.outcome), r.seconds);
        file_json(&b, &r.file);
        vt_buf_putc(&b, '}');
    }
    json_decref(root);
    if (rc != VT_OK) {
        vt_buf_free(&b);
        return fail(rq, rc, err.msg);
    }
    vt_buf_printf(&b, "]}\n");
    return http_respond(rq, 200, &b);
}

enum MHD_Result http_handle_admin_ledger(http_request *rq)
{
    http_server *srv = rq->srv;
    if (!srv->opts.meta)
        return fail(rq, VT_EUNSUPPORTED, "this server runs no ingest pipeline");
    meta_file *files = NULL;
    size_t n = 0;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = meta_file_list(srv->opts.meta, -1, &files, &n, &err);
    if (rc != VT_OK)
        return fail(rq, rc, err.msg);
    vt_buf b;
    vt_buf_init(&b);
    vt_buf_printf(&b, "{\"files\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            vt_buf_putc(&b, ',');
        file_json(&b, &files[i]);
    }
    vt_buf_printf(&b, "]}\n");
    free(files);
    return http_respond(rq, 200, &b);
}

enum MHD_Result http_handle_admin_resync(http_request *rq)
{
    http_server *srv = rq->srv;
    if (!srv->opts.meta || !srv->opts.replication || replication_count(srv->opts.replication) == 0)
        return fail(rq, VT_ENOTFOUND, "no backup backend is configured");
    const char *name = http_arg(rq, "backend");
    const char *dry = http_arg(rq, "dry_run");
    bool dry_run = dry && (strcmp(dry, "true") == 0 || strcmp(dry, "1") == 0);
    vt_buf b;
    vt_buf_init(&b);
    vt_buf_printf(&b, "{\"results\":[");
    vt_rc rc = VT_OK;
    vt_err err;
    vt_err_clear(&err);
    bool any = false;
    for (size_t i = 0; i < replication_count(srv->opts.replication); i++) {
        applier *a = replication_get(srv->opts.replication, i);
        applier_status st;
        applier_get_status(a, &st);
        if (name && name[0] && strcmp(name, st.name) != 0)
            continue;
        any = true;
        applier_pause(a, true);
        resync_report rep;
        vt_buf text;
        vt_buf_init(&text);
        rc = resync_backend(srv->node, srv->opts.meta, applier_backend(a), st.name,
                            srv->opts.landing ? landing_root(srv->opts.landing) : NULL, dry_run,
                            &rep, &text, &err);
        applier_reset(a); /* reloads cursor and state, resumes */
        if (rc != VT_OK) {
            vt_buf_free(&text);
            break;
        }
        if (b.len > 13)
            vt_buf_putc(&b, ',');
        vt_buf_printf(&b, "{\"report\":");
        resync_report_json(&rep, st.name, dry_run, &b);
        vt_buf_printf(&b, ",\"text\":");
        qr_json_str(&b, (const char *)text.data, text.len);
        vt_buf_putc(&b, '}');
        vt_buf_free(&text);
    }
    if (rc == VT_OK && !any) {
        char msg[200];
        snprintf(msg, sizeof msg, "backend not found: %s", name ? name : "");
        vt_buf_free(&b);
        return fail(rq, VT_ENOTFOUND, msg);
    }
    if (rc != VT_OK) {
        vt_buf_free(&b);
        return fail(rq, rc, err.msg);
    }
    vt_buf_printf(&b, "]}\n");
    return http_respond(rq, 200, &b);
}

/* POST /api/v1/fault {"query_delay_ms": N}: the drills' latency fault (common/faultinj.h).
 * Exists only when the server runs with VOLTA_FAULT_INJECTION=1 (404 otherwise, as any unknown
 * path): a production server never exposes it. */
enum MHD_Result http_handle_admin_fault(http_request *rq)
{
    const char *on = getenv("VOLTA_FAULT_INJECTION");
    if (!on || strcmp(on, "1") != 0)
        return http_respond_error(rq, 404, "not found");
    json_error_t jerr;
    json_t *doc = rq->body.len ? json_loadb((const char *)rq->body.data, rq->body.len, 0, &jerr)
                               : NULL;
    json_t *v = doc ? json_object_get(doc, "query_delay_ms") : NULL;
    if (!v || !json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > 60000) {
        json_decref(doc);
        return http_respond_error(rq, 400,
                                  "body: {\"query_delay_ms\": <0..60000>} (0 disarms the fault)");
    }
    unsigned ms = (unsigned)json_integer_value(v);
    json_decref(doc);
    vt_fault_set_query_delay_ms(ms);
    vt_buf b;
    vt_buf_init(&b);
    vt_buf_printf(&b, "{\"query_delay_ms\":%u}\n", ms);
    return http_respond(rq, 200, &b);
}
