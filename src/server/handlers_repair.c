/*
 * server/handlers_repair.c — POST /api/v1/repair: `volta repair` (ops/repair.h, docs/REPAIR.md)
 * on the live node.
 *
 *   POST /api/v1/repair[?dry_run=true][&journal=false][&backends=false][&backend=NAME]
 *                      [&from=REPO_OR_SNAPSHOT[&from_id=ID]][&drop_unrecoverable=true]
 *
 * Sources: the live journal, the backups of the replication set (each applier is first given up
 * to 10 s to catch up with the primary's acknowledged writes), and `from` (a path on the
 * server's machine, or a snapshot id of its data directory). Answers 200 with the JSON report
 * (repair_report_json) plus "text" (the text report) whatever was found; 400 for bad
 * parameters; 500 when the repair could not run.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "backend/replication.h"
#include "journal/journal.h"
#include "ops/repair.h"
#include "server/server_int.h"

static bool arg_bool(http_request *rq, const char *name, bool dflt, bool *bad)
{
    const char *v = http_arg(rq, name);
    if (!v || !v[0])
        return dflt;
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
        return true;
    if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
        return false;
    *bad = true;
    return dflt;
}

enum MHD_Result http_handle_admin_repair(http_request *rq)
{
    http_server *srv = rq->srv;
    if (strcmp(rq->method, "POST") != 0)
        return http_respond_method(rq, "POST");
    repair_options o;
    repair_options_default(&o);
    o.node = srv->node;
    o.online = true;
    bool bad = false;
    o.dry_run = arg_bool(rq, "dry_run", false, &bad);
    o.use_journal = arg_bool(rq, "journal", true, &bad);
    o.drop_unrecoverable = arg_bool(rq, "drop_unrecoverable", false, &bad);
    bool use_backends = arg_bool(rq, "backends", true, &bad);
    if (bad)
        return http_respond_error(rq, 400,
                                  "dry_run, journal, backends, drop_unrecoverable: true or false");
    const char *from = http_arg(rq, "from"), *from_id = http_arg(rq, "from_id");
    const char *only = http_arg(rq, "backend");
    o.from = from && from[0] ? from : NULL;
    o.from_id = from_id && from_id[0] ? from_id : NULL;
    /* the data directory: the journal's parent */
    char data_dir[PATH_MAX];
    snprintf(data_dir, sizeof data_dir, "%s", journal_dir(node_journal(srv->node)));
    char *slash = strrchr(data_dir, '/');
    if (slash && slash != data_dir)
        *slash = 0;
    else
        snprintf(data_dir, sizeof data_dir, ".");
    o.data_dir = data_dir;
    struct backend *backends[CONFIG_MAX_BACKENDS];
    const char *names[CONFIG_MAX_BACKENDS];
    applier_status st[CONFIG_MAX_BACKENDS];
    size_t nb = 0;
    bool found = !(only && only[0]);
    if (srv->opts.replication && use_backends) {
        uint64_t acked = journal_acked_seq(node_journal(srv->node));
        for (size_t i = 0; i < replication_count(srv->opts.replication) && nb < CONFIG_MAX_BACKENDS;
             i++) {
            applier *a = replication_get(srv->opts.replication, i);
            applier_get_status(a, &st[nb]);
            if (only && only[0] && strcmp(only, st[nb].name) != 0)
                continue;
            found = true;
            applier_wait_for(a, acked, 10000);
            backends[nb] = applier_backend(a);
            names[nb] = st[nb].name;
            nb++;
        }
    }
    if (!found) {
        char msg[300];
        snprintf(msg, sizeof msg, "backend %s: not configured", only);
        return http_respond_error(rq, 400, msg);
    }
    o.backends = backends;
    o.backend_names = names;
    o.nbackends = nb;
    repair_report rep;
    vt_err err;
    vt_err_clear(&err);
    if (repair_run(&o, &rep, &err) != VT_OK) {
        repair_report_free(&rep);
        return http_respond_error(rq, 500, err.msg);
    }
    vt_buf js, text;
    vt_buf_init(&js);
    vt_buf_init(&text);
    repair_report_json(&rep, &js);
    repair_report_text(&rep, &text);
    repair_report_free(&rep);
    json_t *doc = json_loadb((const char *)js.data, js.len, 0, NULL);
    vt_buf_reset(&js);
    if (doc) {
        json_object_set_new(doc, "text", json_stringn((const char *)text.data, text.len));
        char *s = json_dumps(doc, JSON_COMPACT);
        if (s) {
            vt_buf_append(&js, s, strlen(s));
            free(s);
        }
        json_decref(doc);
    }
    vt_buf_free(&text);
    if (js.len == 0) {
        vt_buf_free(&js);
        return http_respond_error(rq, 500, "repair: out of memory");
    }
    return http_respond(rq, 200, &js);
}
