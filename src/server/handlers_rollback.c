/*
 * server/handlers_rollback.c — the rollback record (meta/meta_rollback.h) over the admin API.
 *
 *   GET  /api/v1/rollback          {"rollback":{<record>}|null}: the running record, else the last
 *   GET  /api/v1/rollback?all=1    {"rollbacks":[{<record>}, ...]} newest first (?limit=, 50)
 *   POST /api/v1/rollback          {"action":"start|step|done|fail|abort", "kind", "step",
 *                                   "detail":{...}, "error", "id", "who"}
 *        start -> 201 {"rollback":{...}}; 409 {"error":"rollback 3 is running ...","rollback":{...}}
 *        step|done|fail|abort -> 200 {"rollback":{...}}; 404 when none is running
 *
 * The record lives in the server's meta.db, so the driver (`volta rollback`, a separate process)
 * can be killed at any point and the recorded step survives it. Every transition is written to
 * the audit log (action "rollback.<action>", detail "<kind> <id> step <n> ...").
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/meta.h"
#include "meta/meta_rollback.h"
#include "query/result.h"
#include "server/server_int.h"

static void record_json(vt_buf *b, const meta_rollback_rec *r)
{
    vt_buf_printf(b, "{\"id\":%lld,\"kind\":\"%s\",\"state\":\"%s\",\"step\":%d,"
                     "\"started_at\":%lld,\"updated_at\":%lld,\"who\":",
                  (long long)r->id, r->kind, r->state, r->step, (long long)r->started_at,
                  (long long)r->updated_at);
    qr_json_str(b, r->who, strlen(r->who));
    vt_buf_printf(b, ",\"detail\":%s,\"error\":", r->detail[0] ? r->detail : "{}");
    qr_json_str(b, r->error, strlen(r->error));
    vt_buf_putc(b, '}');
}

static enum MHD_Result respond_record(http_request *rq, unsigned status, const char *error,
                                      const meta_rollback_rec *r)
{
    vt_buf b;
    vt_buf_init(&b);
    vt_buf_putc(&b, '{');
    if (error) {
        vt_buf_printf(&b, "\"error\":");
        qr_json_str(&b, error, strlen(error));
        vt_buf_putc(&b, ',');
    }
    vt_buf_printf(&b, "\"rollback\":");
    if (r)
        record_json(&b, r);
    else
        vt_buf_printf(&b, "null");
    vt_buf_printf(&b, "}\n");
    return http_respond(rq, status, &b);
}

static enum MHD_Result get_records(http_request *rq, meta *m)
{
    vt_err err;
    vt_err_clear(&err);
    const char *all = http_arg(rq, "all");
    if (all && strcmp(all, "0") != 0 && strcmp(all, "false") != 0) {
        const char *lim = http_arg(rq, "limit");
        long limit = lim ? strtol(lim, NULL, 10) : 50;
        meta_rollback_rec *list = NULL;
        size_t n = 0;
        vt_rc rc = meta_rollback_list(m, limit > 0 ? (size_t)limit : 50, &list, &n, &err);
        if (rc != VT_OK)
            return http_respond_error(rq, (unsigned)vt_rc_http_status(rc), err.msg);
        vt_buf b;
        vt_buf_init(&b);
        vt_buf_printf(&b, "{\"rollbacks\":[");
        for (size_t i = 0; i < n; i++) {
            if (i)
                vt_buf_putc(&b, ',');
            record_json(&b, &list[i]);
        }
        vt_buf_printf(&b, "]}\n");
        free(list);
        return http_respond(rq, 200, &b);
    }
    meta_rollback_rec *r = malloc(sizeof *r);
    if (!r)
        return http_respond_error(rq, 500, "out of memory");
    vt_rc rc = meta_rollback_current(m, r, &err);
    enum MHD_Result res;
    if (rc == VT_OK)
        res = respond_record(rq, 200, NULL, r);
    else if (rc == VT_ENOTFOUND)
        res = respond_record(rq, 200, NULL, NULL);
    else
        res = http_respond_error(rq, (unsigned)vt_rc_http_status(rc), err.msg);
    free(r);
    return res;
}

/* The audit line of a transition; failures to audit are logged, not fatal (the record is
 * already durable). */
static void audit(meta *m, const char *who, const char *action, const meta_rollback_rec *r)
{
    char act[64], detail[1024];
    snprintf(act, sizeof act, "rollback.%s", action);
    snprintf(detail, sizeof detail, "%s %lld state %s step %d%s%.400s", r->kind, (long long)r->id,
             r->state, r->step, r->error[0] ? " error: " : "", r->error);
    vt_err err;
    vt_err_clear(&err);
    if (meta_audit(m, who, act, detail, &err) != VT_OK)
        http_log("warn", NULL, "rollback audit: %s", err.msg);
}

static enum MHD_Result post_action(http_request *rq, meta *m)
{
    json_error_t je;
    json_t *doc = rq->body.len ? json_loadb((const char *)rq->body.data, rq->body.len, 0, &je)
                               : NULL;
    if (!json_is_object(doc)) {
        json_decref(doc);
        return http_respond_error(rq, 400, "expected a JSON object {\"action\":\"start|step|done|"
                                           "fail|abort\", ...}");
    }
    const char *action = json_string_value(json_object_get(doc, "action"));
    const char *kind = json_string_value(json_object_get(doc, "kind"));
    const char *error = json_string_value(json_object_get(doc, "error"));
    const char *who_in = json_string_value(json_object_get(doc, "who"));
    json_t *jd = json_object_get(doc, "detail");
    json_t *jstep = json_object_get(doc, "step");
    int64_t id = json_integer_value(json_object_get(doc, "id"));
    char who[128];
    if (who_in && who_in[0])
        snprintf(who, sizeof who, "%s", who_in);
    else
        snprintf(who, sizeof who, "api%s%s", rq->key_id[0] ? ":" : "", rq->key_id);
    char *detail = NULL;
    if (jd && !json_is_null(jd)) {
        if (!json_is_object(jd)) {
            json_decref(doc);
            return http_respond_error(rq, 400, "detail: expected a JSON object");
        }
        detail = json_dumps(jd, JSON_COMPACT);
    }
    meta_rollback_rec *r = malloc(sizeof *r);
    if (!r || (jd && !json_is_null(jd) && !detail)) {
        free(r);
        free(detail);
        json_decref(doc);
        return http_respond_error(rq, 500, "out of memory");
    }
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = VT_OK;
    unsigned ok_status = 200;
    enum MHD_Result res;
    if (!action) {
        res = http_respond_error(rq, 400, "missing action: start, step, done, fail or abort");
        goto out;
    } else if (strcmp(action, "start") == 0) {
        rc = meta_rollback_start(m, kind ? kind : "rollback", who, detail, r, &err);
        ok_status = 201;
        if (rc == VT_EEXIST) {
            res = respond_record(rq, 409, err.msg, r);
            goto out;
        }
    } else if (strcmp(action, "step") == 0) {
        if (!json_is_integer(jstep)) {
            res = http_respond_error(rq, 400, "step: expected an integer 0 to 5");
            goto out;
        }
        rc = meta_rollback_step(m, id, (int)json_integer_value(jstep), detail, r, &err);
    } else if (strcmp(action, "done") == 0 || strcmp(action, "fail") == 0 ||
               strcmp(action, "abort") == 0) {
        const char *state = action[0] == 'd' ? "done" : action[0] == 'f' ? "failed" : "aborted";
        rc = meta_rollback_finish(m, id, state, error, detail, r, &err);
    } else {
        char msg[160];
        snprintf(msg, sizeof msg, "unknown action '%.60s': expected start, step, done, fail or "
                                  "abort", action);
        res = http_respond_error(rq, 400, msg);
        goto out;
    }
    if (rc != VT_OK) {
        res = http_respond_error(rq, (unsigned)vt_rc_http_status(rc), err.msg);
        goto out;
    }
    audit(m, who, action, r);
    http_log("info", NULL, "%s %lld: %s (state %s, step %d)", r->kind, (long long)r->id, action,
             r->state, r->step);
    res = respond_record(rq, ok_status, NULL, r);
out:
    free(r);
    free(detail);
    json_decref(doc);
    return res;
}

enum MHD_Result http_handle_admin_rollback(http_request *rq)
{
    meta *m = rq->srv->opts.meta;
    if (strcmp(rq->url, "/api/v1/rollback") != 0 && strcmp(rq->url, "/api/v1/rollback/") != 0)
        return http_respond_error(rq, 404, "not found");
    if (!m)
        return http_respond_error(rq, 501, "this server runs no control plane");
    if (strcmp(rq->method, "GET") == 0)
        return get_records(rq, m);
    if (strcmp(rq->method, "POST") == 0)
        return post_action(rq, m);
    return http_respond_method(rq, "GET, POST");
}
