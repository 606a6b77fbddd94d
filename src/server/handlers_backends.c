/*
 * server/handlers_backends.c — the backends as the router sees them (docs/API.md):
 *
 *   GET  /api/v1/backends        where reads go (the read_backend flag and the backup it names),
 *                                each backup backend's health, cursor, lag and capabilities; and
 *                                for `volta status`: errors in the last minute, the rollback
 *                                state, query latency per class against its baseline.
 *   POST /api/v1/backends        {"record_baseline":true[,"min_samples":n]}: records the current
 *                                p50/p95 of each query class as its baseline (meta.db).
 *   POST /api/v1/backends/query  {"backend":"<name>|primary|backup","db":"..","q":"<InfluxQL>"}:
 *                                runs InfluxQL on one backend and answers its InfluxDB 1.x JSON
 *                                (502 when it is unreachable). Read-only on backups: a statement
 *                                that modifies must go through the primary (and its journal).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/replication.h"
#include "gateway/gateway.h"
#include "query/influxql_exec.h"
#include "server/metrics.h"
#include "server/route.h"
#include "server/server_int.h"

static void backend_caps_json(vt_buf *b, unsigned caps)
{
    vt_buf_printf(b, "[");
    const char *sep = "";
    if (caps & BACKEND_CAP_INFLUXQL) {
        vt_buf_printf(b, "\"influxql\"");
        sep = ",";
    }
    if (caps & BACKEND_CAP_FLUX) {
        vt_buf_printf(b, "%s\"flux\"", sep);
        sep = ",";
    }
    if (caps & BACKEND_CAP_SNAPSHOT)
        vt_buf_printf(b, "%s\"snapshot\"", sep);
    vt_buf_printf(b, "]");
}

static void latency_json(http_server *srv, vt_buf *b)
{
    http_latency_class lat[HTTP_QC_COUNT];
    http_latency_get(srv, lat);
    vt_buf_printf(b, "\"latency_window_seconds\":%d,\"latency\":[", HTTP_LATENCY_WINDOW_S);
    for (size_t c = 0; c < HTTP_QC_COUNT; c++) {
        const http_latency_class *l = &lat[c];
        vt_buf_printf(b,
                      "%s{\"class\":\"%s\",\"samples\":%zu,\"p50_ms\":%.3f,\"p95_ms\":%.3f,"
                      "\"p99_ms\":%.3f,\"baseline\":",
                      c ? "," : "", l->cls, l->samples, l->p50_ms, l->p95_ms, l->p99_ms);
        if (l->has_baseline)
            vt_buf_printf(b,
                          "{\"p50_ms\":%.3f,\"p95_ms\":%.3f,\"samples\":%lld,\"recorded_at_ns\":"
                          "%lld},\"ratio_pct\":%.1f}",
                          l->base_p50_ms, l->base_p95_ms, (long long)l->base_samples,
                          (long long)l->base_recorded_at, l->ratio_pct);
        else
            vt_buf_printf(b, "null,\"ratio_pct\":null}");
    }
    vt_buf_printf(b, "]");
}

static enum MHD_Result backends_list(http_request *rq)
{
    http_server *srv = rq->srv;
    replication *repl = srv->opts.replication;
    gateway *gw = srv->opts.gateway;
    bool to_backup = gw && flags_read_backend(gateway_flags(gw)) == READ_BACKUP;
    applier *rb = replication_read_backup(repl);
    applier_status st;
    vt_buf b;
    vt_buf_init(&b);
    vt_buf_printf(&b, "{\"read_backend\":\"%s\",\"backup\":", to_backup ? "backup" : "primary");
    if (rb) {
        applier_get_status(rb, &st);
        http_json_cstr(&b, st.name);
    } else {
        vt_buf_printf(&b, "null");
    }
    journal *j = node_journal(srv->node);
    vt_buf_printf(&b,
                  ",\"primary\":{\"type\":\"native\",\"healthy\":%s,\"journal_last_seq\":%llu},"
                  "\"backends\":[",
                  node_failed(srv->node) ? "false" : "true",
                  (unsigned long long)journal_acked_seq(j));
    for (size_t i = 0; i < replication_count(repl); i++) {
        applier *a = replication_get(repl, i);
        backend *be = applier_backend(a);
        applier_get_status(a, &st);
        char detail[1024] = "";
        vt_err err;
        vt_err_clear(&err);
        bool healthy = backend_health(be, detail, sizeof detail, &err) == VT_OK;
        vt_buf_printf(&b, "%s{\"name\":", i ? "," : "");
        http_json_cstr(&b, st.name);
        vt_buf_printf(&b, ",\"type\":\"%s\",\"role\":\"%s\",\"healthy\":%s,\"detail\":", st.type,
                      st.role, healthy ? "true" : "false");
        http_json_cstr(&b, detail);
        if (!healthy) {
            vt_buf_printf(&b, ",\"health_error\":");
            http_json_cstr(&b, err.msg);
        }
        vt_buf_printf(&b,
                      ",\"state\":\"%s\",\"cursor\":%llu,\"journal_last_seq\":%llu,"
                      "\"lag_records\":%llu,\"lag_seconds\":%.3f,\"needs_resync\":%s,"
                      "\"reads\":%s,\"last_error\":",
                      st.state, (unsigned long long)st.cursor,
                      (unsigned long long)st.primary_seq, (unsigned long long)st.lag_records,
                      st.lag_seconds, strcmp(st.state, "needs_resync") == 0 ? "true" : "false",
                      to_backup && a == rb ? "true" : "false");
        http_json_cstr(&b, st.last_error);
        vt_buf_printf(&b, ",\"caps\":");
        backend_caps_json(&b, backend_caps(be));
        vt_buf_putc(&b, '}');
    }
    vt_buf_printf(&b, "],\"errors_last_minute\":%llu,\"rollback_state\":%d,",
                  (unsigned long long)http_errors_last_minute(srv), http_rollback_state(srv));
    latency_json(srv, &b);
    vt_buf_printf(&b, "}\n");
    return http_respond(rq, 200, &b);
}

static json_t *body_json(http_request *rq, char *msg, size_t cap)
{
    json_error_t je;
    json_t *j = json_loadb(rq->body.data ? (const char *)rq->body.data : "", rq->body.len, 0, &je);
    if (!j) {
        snprintf(msg, cap, "request body is not JSON: %s (line %d, column %d)", je.text, je.line,
                 je.column);
        return NULL;
    }
    if (!json_is_object(j)) {
        snprintf(msg, cap, "request body must be a JSON object");
        json_decref(j);
        return NULL;
    }
    return j;
}

static enum MHD_Result backends_record_baseline(http_request *rq)
{
    char msg[VT_ERR_MSG_MAX + 64];
    json_t *j = body_json(rq, msg, sizeof msg);
    if (!j)
        return http_respond_error(rq, 400, msg);
    json_t *rec = json_object_get(j, "record_baseline");
    json_t *ms = json_object_get(j, "min_samples");
    size_t min_samples = HTTP_LATENCY_MIN_SAMPLES;
    if (ms && json_is_integer(ms) && json_integer_value(ms) >= 1)
        min_samples = (size_t)json_integer_value(ms);
    bool ok = rec && json_is_true(rec) && (!ms || json_is_integer(ms));
    json_decref(j);
    if (!ok)
        return http_respond_error(rq, 400, "POST /api/v1/backends expects "
                                           "{\"record_baseline\":true[,\"min_samples\":n]}");
    char who[48], names[256];
    snprintf(who, sizeof who, "api:%s", rq->key_id[0] ? rq->key_id : "local");
    size_t recorded = 0;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = http_latency_record_baseline(rq->srv, min_samples, who, &recorded, names,
                                            sizeof names, &err);
    if (rc != VT_OK)
        return http_respond_error(rq, rc == VT_EINVAL ? 409 : 500, err.msg);
    vt_buf b;
    vt_buf_init(&b);
    vt_buf_printf(&b, "{\"recorded\":%zu,\"classes\":", recorded);
    http_json_cstr(&b, names);
    vt_buf_putc(&b, ',');
    latency_json(rq->srv, &b);
    vt_buf_printf(&b, "}\n");
    return http_respond(rq, 200, &b);
}

/* Runs q on the primary: its JSON, or an error status. */
static enum MHD_Result query_primary(http_request *rq, const char *db, const char *q)
{
    vt_buf out;
    vt_buf_init(&out);
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = iql_run_json(rq->srv->node, db, "", q, strlen(q), 0, &out, &err);
    if (rc != VT_OK) {
        vt_buf_free(&out);
        return http_respond_error(rq, rc == VT_EPARSE ? 400 : 500, err.msg);
    }
    return http_respond(rq, 200, &out);
}

static void form_field(vt_buf *f, const char *key, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    if (f->len)
        vt_buf_putc(f, '&');
    vt_buf_printf(f, "%s=", key);
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            vt_buf_putc(f, *p);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            vt_buf_append(f, e, 3);
        }
    }
}

static enum MHD_Result query_backend(http_request *rq, backend *be, const char *db, const char *q)
{
    char msg[VT_ERR_MSG_MAX + 128];
    vt_err err;
    vt_err_clear(&err);
    if (backend_node(be)) {
        char *json = NULL;
        vt_rc rc = backend_query(be, db, q, &json, &err);
        if (rc != VT_OK) {
            free(json);
            snprintf(msg, sizeof msg, "backend %s: %s", backend_name(be), err.msg);
            return http_respond_error(rq, rc == VT_EPARSE ? 400 : 500, msg);
        }
        vt_buf out;
        vt_buf_init(&out);
        vt_buf_append(&out, json, strlen(json));
        free(json);
        return http_respond(rq, 200, &out);
    }
    /* influx: the raw answer (statement errors inside it, as InfluxDB gives them) */
    vt_buf form;
    vt_buf_init(&form);
    form_field(&form, "q", q);
    if (db && db[0])
        form_field(&form, "db", db);
    backend_http_request fr = {
        .method = "POST",
        .path = "/query",
        .body = form.data ? (const char *)form.data : "",
        .body_len = form.len,
        .content_type = "application/x-www-form-urlencoded",
        .accept = "application/json",
    };
    backend_http_response resp;
    memset(&resp, 0, sizeof resp);
    vt_buf_init(&resp.body);
    vt_rc rc = form.oom ? vt_err_set(&err, VT_ENOMEM, "out of memory")
                        : backend_forward(be, &fr, 64u << 20, &resp, &err);
    vt_buf_free(&form);
    enum MHD_Result r;
    if (rc == VT_OK) {
        r = http_respond_typed(rq, (unsigned)resp.status, &resp.body,
                               resp.content_type[0] ? resp.content_type : "application/json");
    } else {
        snprintf(msg, sizeof msg, "backend %s %s: %s", backend_name(be),
                 rc == VT_EBUSY ? "unreachable" : "failed", err.msg);
        r = http_respond_error(rq, 502, msg);
    }
    vt_buf_free(&resp.body);
    return r;
}

static enum MHD_Result backends_query(http_request *rq)
{
    char msg[VT_ERR_MSG_MAX + 64];
    json_t *j = body_json(rq, msg, sizeof msg);
    if (!j)
        return http_respond_error(rq, 400, msg);
    const char *name = json_string_value(json_object_get(j, "backend"));
    const char *db = json_string_value(json_object_get(j, "db"));
    const char *q = json_string_value(json_object_get(j, "q"));
    enum MHD_Result r;
    if (!name || !name[0] || !q || !q[0]) {
        r = http_respond_error(rq, 400, "POST /api/v1/backends/query expects {\"backend\":"
                                        "\"<name>|primary|backup\",\"db\":\"..\",\"q\":\"..\"}");
        goto done;
    }
    if (strcmp(name, "primary") == 0) {
        r = query_primary(rq, db ? db : "", q);
        goto done;
    }
    replication *repl = rq->srv->opts.replication;
    applier *a = strcmp(name, "backup") == 0 ? replication_read_backup(repl)
                                             : replication_find(repl, name);
    if (!a) {
        vt_buf known;
        vt_buf_init(&known);
        vt_buf_printf(&known, "primary");
        for (size_t i = 0; i < replication_count(repl); i++)
            vt_buf_printf(&known, ", %s", backend_name(applier_backend(replication_get(repl, i))));
        snprintf(msg, sizeof msg, "unknown backend: %s (known: %s%s)", name,
                 known.data ? vt_buf_cstr(&known) : "primary",
                 replication_count(repl) ? ", backup" : "");
        vt_buf_free(&known);
        r = http_respond_error(rq, 404, msg);
        goto done;
    }
    if (route_influxql_modifies(q, strlen(q))) {
        r = http_respond_error(rq, 400,
                               "backends/query runs read-only statements on a backup backend: "
                               "a statement that modifies data or schema must go through the "
                               "primary (POST /query), whose journal replicates it");
        goto done;
    }
    r = query_backend(rq, applier_backend(a), db ? db : "", q);
done:
    json_decref(j);
    return r;
}

enum MHD_Result http_handle_admin_backends(http_request *rq)
{
    bool get = strcmp(rq->method, "GET") == 0, post = strcmp(rq->method, "POST") == 0;
    if (strcmp(rq->url, "/api/v1/backends/query") == 0)
        return post ? backends_query(rq) : http_respond_method(rq, "POST");
    if (get)
        return backends_list(rq);
    if (post)
        return backends_record_baseline(rq);
    return http_respond_method(rq, "GET, POST");
}
