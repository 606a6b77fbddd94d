/*
 * server/handlers_snapshot.c — snapshots of the running server's node:
 *
 *   GET    /api/v1/snapshots           {"snapshots":[{<catalog row>}, ...]}, newest first
 *   POST   /api/v1/snapshots           takes one: 201 {<catalog row>}
 *   DELETE /api/v1/snapshots?id=<id>   204, or 404 {"error":"snapshot not found: <id>"}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/meta.h"
#include "ops/snapshot.h"
#include "query/result.h"
#include "server/server_int.h"

static void catalog_json(vt_buf *b, const meta_catalog *c)
{
    vt_buf_printf(b, "{\"id\":");
    qr_json_str(b, c->id, strlen(c->id));
    vt_buf_printf(b, ",\"kind\":\"%s\",\"location\":", c->kind);
    qr_json_str(b, c->location, strlen(c->location));
    vt_buf_printf(b,
                  ",\"created_at\":%lld,\"checkpoint\":%llu,\"seq\":%llu,\"time_last\":%lld,"
                  "\"files\":%llu,\"bytes\":%llu,\"state\":\"%s\"}",
                  (long long)c->created_at, (unsigned long long)c->checkpoint,
                  (unsigned long long)c->seq, (long long)c->time_last,
                  (unsigned long long)c->files, (unsigned long long)c->bytes, c->state);
}

enum MHD_Result http_handle_admin_snapshots(http_request *rq)
{
    http_server *srv = rq->srv;
    meta *m = srv->opts.meta;
    if (!m)
        return http_respond_error(rq, 501, "this server runs no control plane");
    vt_err err;
    vt_err_clear(&err);
    vt_buf b;
    vt_buf_init(&b);
    if (strcmp(rq->method, "GET") == 0) {
        meta_catalog *list = NULL;
        size_t n = 0;
        vt_rc rc = snapshot_list(m, &list, &n, &err);
        if (rc != VT_OK)
            return http_respond_error(rq, (unsigned)vt_rc_http_status(rc), err.msg);
        vt_buf_printf(&b, "{\"snapshots\":[");
        for (size_t i = 0; i < n; i++) {
            if (i)
                vt_buf_putc(&b, ',');
            catalog_json(&b, &list[i]);
        }
        vt_buf_printf(&b, "]}\n");
        free(list);
        return http_respond(rq, 200, &b);
    }
    if (strcmp(rq->method, "POST") == 0) {
        meta_catalog c;
        vt_rc rc = snapshot_create(srv->node, m, &c, &err);
        if (rc != VT_OK)
            return http_respond_error(rq, (unsigned)vt_rc_http_status(rc), err.msg);
        catalog_json(&b, &c);
        vt_buf_putc(&b, '\n');
        return http_respond(rq, 201, &b);
    }
    const char *id = http_arg(rq, "id");
    if (!id || !id[0])
        return http_respond_error(rq, 400, "missing parameter: id");
    vt_rc rc = snapshot_delete(m, id, &err);
    if (rc != VT_OK)
        return http_respond_error(rq, (unsigned)vt_rc_http_status(rc), err.msg);
    return http_respond(rq, 204, NULL);
}
