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
