/*
 * server/handlers_backup.c — backups of the running server's node (ops/backup.h):
 *
 *   GET  /api/v1/backups?repo=DIR         {"backups":[{<manifest summary>}, ...]}, oldest first
 *   GET  /api/v1/backups                  {"backups":[{<catalog row>}, ...]}, newest first
 *   POST /api/v1/backups?repo=DIR[&full=true]
 *                                         takes one: 201 {<catalog row>,"seconds":S}
 *
 * DIR is a path on the server's machine (absolute; `volta backup` sends its own absolute).
 * The request holds its connection thread for the whole backup (the server serialises them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meta/meta.h"
#include "ops/backup.h"
#include "query/result.h"
#include "server/server_int.h"

static void catalog_json(vt_buf *b, const meta_catalog *c)
{
    vt_buf_printf(b, "{\"id\":");
    qr_json_str(b, c->id, strlen(c->id));
    vt_buf_printf(b, ",\"kind\":\"%s\",\"location\":", c->kind);
    qr_json_str(b, c->location, strlen(c->location));
    vt_buf_printf(b, ",\"parent\":");
    qr_json_str(b, c->parent, strlen(c->parent));
    vt_buf_printf(b,
                  ",\"created_at\":%lld,\"checkpoint\":%llu,\"seq_first\":%llu,\"seq\":%llu,"
                  "\"time_last\":%lld,\"files\":%llu,\"bytes\":%llu,\"new_files\":%llu,"
                  "\"new_bytes\":%llu,\"state\":\"%s\"",
                  (long long)c->created_at, (unsigned long long)c->checkpoint,
                  (unsigned long long)c->seq_first, (unsigned long long)c->seq,
                  (long long)c->time_last, (unsigned long long)c->files,
                  (unsigned long long)c->bytes, (unsigned long long)c->new_files,
                  (unsigned long long)c->new_bytes, c->state);
}

static void manifest_json(vt_buf *b, const backup_manifest *m)
{
    unsigned long long bytes = 0;
    for (size_t i = 0; i < m->nfiles; i++)
        bytes += m->files[i].size;
    vt_buf_printf(b, "{\"id\":");
    qr_json_str(b, m->id, strlen(m->id));
    vt_buf_printf(b, ",\"kind\":\"%s\",\"parent\":", m->kind);
    qr_json_str(b, m->parent, strlen(m->parent));
    vt_buf_printf(b, ",\"source\":");
    qr_json_str(b, m->source, strlen(m->source));
    vt_buf_printf(b,
                  ",\"created_at\":%lld,\"checkpoint\":%llu,\"seq_first\":%llu,\"seq\":%llu,"
                  "\"time_first\":%lld,\"time_last\":%lld,\"files\":%zu,\"bytes\":%llu,"
                  "\"new_files\":%llu,\"new_bytes\":%llu}",
                  (long long)m->created_at, (unsigned long long)m->checkpoint,
                  (unsigned long long)m->seq_first, (unsigned long long)m->seq,
                  (long long)m->time_first, (long long)m->time_last, m->nfiles, bytes,
                  (unsigned long long)m->new_files, (unsigned long long)m->new_bytes);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum MHD_Result http_handle_admin_backups(http_request *rq)
{
    http_server *srv = rq->srv;
    meta *m = srv->opts.meta;
    vt_err err;
    vt_err_clear(&err);
    vt_buf b;
    vt_buf_init(&b);
    const char *repo = http_arg(rq, "repo");
    if (strcmp(rq->method, "GET") == 0) {
        if (repo && repo[0]) {
            backup_manifest *list = NULL;
            size_t n = 0;
            vt_rc rc = backup_list(repo, &list, &n, &err);
            if (rc != VT_OK)
                return http_respond_error(rq, (unsigned)vt_rc_http_status(rc), err.msg);
            vt_buf_printf(&b, "{\"backups\":[");
            for (size_t i = 0; i < n; i++) {
                if (i)
                    vt_buf_putc(&b, ',');
                manifest_json(&b, &list[i]);
            }
            vt_buf_printf(&b, "]}\n");
            backup_manifests_free(list, n);
            return http_respond(rq, 200, &b);
        }
        if (!m)
            return http_respond_error(rq, 501, "this server runs no control plane");
        meta_catalog *list = NULL;
        size_t n = 0;
        vt_rc rc = meta_catalog_list(m, "backup", &list, &n, &err);
        if (rc != VT_OK)
            return http_respond_error(rq, (unsigned)vt_rc_http_status(rc), err.msg);
        vt_buf_printf(&b, "{\"backups\":[");
        for (size_t i = 0; i < n; i++) {
            if (i)
                vt_buf_putc(&b, ',');
            catalog_json(&b, &list[i]);
            vt_buf_putc(&b, '}');
        }
        vt_buf_printf(&b, "]}\n");
        free(list);
        return http_respond(rq, 200, &b);
    }
    if (strcmp(rq->method, "POST") != 0)
        return http_respond_method(rq, "GET, POST");
    if (!m)
        return http_respond_error(rq, 501, "this server runs no control plane");
    if (!repo || !repo[0])
        return http_respond_error(rq, 400, "missing parameter: repo");
    if (repo[0] != '/')
        return http_respond_error(rq, 400, "repo must be an absolute path on the server");
    const char *f = http_arg(rq, "full");
    bool full = f && (strcmp(f, "true") == 0 || strcmp(f, "1") == 0);
    meta_catalog c;
    double t0 = mono_s();
    vt_rc rc = backup_create(srv->node, m, repo, full, NULL, NULL, &c, &err);
    double secs = mono_s() - t0;
    if (rc != VT_OK)
        return http_respond_error(rq, (unsigned)vt_rc_http_status(rc), err.msg);
    catalog_json(&b, &c);
    vt_buf_printf(&b, ",\"seconds\":%.3f}\n", secs);
    return http_respond(rq, 201, &b);
}
