/*
 * server/handlers_check.c — POST /api/v1/check: the integrity checks (ops/check.h,
 * docs/CHECK.md) on the live node.
 *
 *   POST /api/v1/check?db=ons&window=24h&checks=a,b&tolerance=100&ratio=0.9
 *                     [&start=T&end=T][&fields=m.f,...][&zero_fields=m.f,...]
 *
 * Answers 200 with the JSON report (check_report_json) whatever the checks found; 400 for bad
 * parameters. The window defaults to the last 24 h (start aligned down to the hour); start/end
 * (RFC3339, a date or ns) replace it; window=all checks everything. Before comparing backends
 * each applier is given up to 10 s to catch up with the primary's acknowledged writes, so that
 * replication lag is not reported as divergence.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/replication.h"
#include "journal/journal.h"
#include "ops/check.h"
#include "ops/export.h"
#include "server/server_int.h"

#define HOUR_NS INT64_C(3600000000000)

static enum MHD_Result bad(http_request *rq, const char *msg)
{
    return http_respond_error(rq, 400, msg);
}

/* Splits a comma list into dst (pointers into the copy buf). */
static size_t split_list(char *buf, const char **dst, size_t cap)
{
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && n < cap;
         t = strtok_r(NULL, ",", &save))
        dst[n++] = t;
    return n;
}

enum MHD_Result http_handle_admin_check(http_request *rq)
{
    http_server *srv = rq->srv;
    if (strcmp(rq->method, "POST") != 0)
        return http_respond_method(rq, "POST");
    check_options o;
    check_options_default(&o);
    vt_err err;
    vt_err_clear(&err);
    o.node = srv->node;
    o.meta = srv->opts.meta;
    o.online = true;
    const char *db = http_arg(rq, "db");
    if (db && db[0])
        o.db = db;
    else if (srv->opts.landing_db && srv->opts.landing_db[0])
        o.db = srv->opts.landing_db;
    const char *checks = http_arg(rq, "checks");
    if (checks && checks[0] && check_parse_list(checks, &o.checks, &err) != VT_OK)
        return bad(rq, err.msg);
    const char *v;
    if ((v = http_arg(rq, "tolerance")) && v[0]) {
        char *end;
        unsigned long long t = strtoull(v, &end, 10);
        if (*end || v[0] == '-')
            return bad(rq, "tolerance: a non-negative integer is required");
        o.tolerance = t;
    }
    if ((v = http_arg(rq, "ratio")) && v[0]) {
        char *end;
        double r = strtod(v, &end);
        if (*end || !(r >= 0 && r <= 1e6))
            return bad(rq, "ratio: a non-negative number is required");
        o.ratio = r;
    }
    const char *start = http_arg(rq, "start"), *endp = http_arg(rq, "end");
    const char *window = http_arg(rq, "window");
    int64_t now = http_now_ns();
    if ((start && start[0]) || (endp && endp[0])) {
        if (start && start[0] && export_parse_time(start, &o.start, &err) != VT_OK)
            return bad(rq, err.msg);
        if (endp && endp[0] && export_parse_time(endp, &o.end, &err) != VT_OK)
            return bad(rq, err.msg);
    } else if (window && strcmp(window, "all") == 0) {
        /* everything */
    } else {
        int64_t w = 24 * HOUR_NS;
        if (window && window[0] && check_parse_window(window, &w, &err) != VT_OK)
            return bad(rq, err.msg);
        o.start = now - w;
        o.start -= ((o.start % HOUR_NS) + HOUR_NS) % HOUR_NS;
        o.end = now;
    }
    if (o.start > o.end)
        return bad(rq, "start is after end");
    char fields_buf[2048], zero_buf[2048];
    if ((v = http_arg(rq, "fields")) && v[0]) {
        snprintf(fields_buf, sizeof fields_buf, "%s", v);
        o.nrequired = split_list(fields_buf, o.required, CHECK_MAX_FIELDS);
    }
    if ((v = http_arg(rq, "zero_fields"))) {
        snprintf(zero_buf, sizeof zero_buf, "%s", v);
        o.nzero = split_list(zero_buf, o.zero_fields, CHECK_MAX_FIELDS);
    }
    /* the data directory: the journal's parent */
    char data_dir[PATH_MAX];
    snprintf(data_dir, sizeof data_dir, "%s", journal_dir(node_journal(srv->node)));
    char *slash = strrchr(data_dir, '/');
    if (slash && slash != data_dir)
        *slash = 0;
    else
        snprintf(data_dir, sizeof data_dir, ".");
    o.data_dir = data_dir;
    /* the backups of the replication set */
    struct backend *backends[CONFIG_MAX_BACKENDS];
    const char *names[CONFIG_MAX_BACKENDS];
    applier_status st[CONFIG_MAX_BACKENDS];
    size_t nb = 0;
    if (srv->opts.replication && (o.checks & CHECK_BACKENDS)) {
        uint64_t acked = journal_acked_seq(node_journal(srv->node));
        for (size_t i = 0; i < replication_count(srv->opts.replication) && nb < CONFIG_MAX_BACKENDS;
             i++) {
            applier *a = replication_get(srv->opts.replication, i);
            applier_wait_for(a, acked, 10000);
            applier_get_status(a, &st[nb]);
            backends[nb] = applier_backend(a);
            names[nb] = st[nb].name;
            nb++;
        }
    }
    o.backends = backends;
    o.backend_names = names;
    o.nbackends = nb;
    check_report rep;
    check_run(&o, &rep);
    vt_buf b;
    vt_buf_init(&b);
    check_report_json(&rep, &b);
    check_report_free(&rep);
    return http_respond(rq, 200, &b);
}
