/*
 * server/handlers_v2.c — POST /api/v2/write (InfluxDB 2.x compatibility, as InfluxDB 1.8 offers):
 * bucket = "db" or "db/rp", org ignored, precision ns|us|ms|s. Errors are InfluxDB 2.x bodies:
 * {"code":"invalid"|"not found"|"internal error"|"request too large","message":"..."}.
 */
#include <stdio.h>
#include <string.h>

#include "server/server_int.h"

static enum MHD_Result v2_error(http_request *rq, unsigned status, const char *code,
                                const char *message)
{
    atomic_fetch_add_explicit(&rq->srv->write_errors, 1, memory_order_relaxed);
    vt_buf b;
    vt_buf_init(&b);
    vt_buf_append(&b, "{\"code\":", 8);
    http_json_cstr(&b, code);
    vt_buf_append(&b, ",\"message\":", 11);
    http_json_cstr(&b, message);
    vt_buf_append(&b, "}\n", 2);
    return http_respond(rq, status, &b);
}

enum MHD_Result http_handle_v2_write(http_request *rq)
{
    http_server *srv = rq->srv;
    const char *bucket = http_arg(rq, "bucket");
    if (!bucket || !bucket[0])
        return v2_error(rq, 400, "invalid", "bucket is required");
    char db[256], rp[256];
    const char *slash = strchr(bucket, '/');
    size_t dn = slash ? (size_t)(slash - bucket) : strlen(bucket);
    if (dn == 0 || dn >= sizeof db || (slash && strlen(slash + 1) >= sizeof rp))
        return v2_error(rq, 400, "invalid", "invalid bucket: expected \"db\" or \"db/rp\"");
    memcpy(db, bucket, dn);
    db[dn] = '\0';
    snprintf(rp, sizeof rp, "%s", slash ? slash + 1 : "");

    lp_precision prec = LP_PRECISION_NS;
    const char *ps = http_arg(rq, "precision");
    if (ps && ps[0]) {
        if (strcmp(ps, "ns") == 0)
            prec = LP_PRECISION_NS;
        else if (strcmp(ps, "us") == 0)
            prec = LP_PRECISION_US;
        else if (strcmp(ps, "ms") == 0)
            prec = LP_PRECISION_MS;
        else if (strcmp(ps, "s") == 0)
            prec = LP_PRECISION_S;
        else {
            char msg[160];
            snprintf(msg, sizeof msg, "invalid precision \"%.64s\" (use ns, us, ms or s)", ps);
            return v2_error(rq, 400, "invalid", msg);
        }
    }
    int64_t now = http_now_ns(); /* the parser floors it to the precision */

    node_write_result res;
    vt_err err;
    vt_err_clear(&err);
    const char *body = rq->body.data ? (const char *)rq->body.data : "";
    vt_rc rc = node_write(srv->node, db, rp, prec, now, body, rq->body.len, &res, &err);
    if (res.points > 0)
        atomic_fetch_add_explicit(&srv->points_written, res.points, memory_order_relaxed);
    if (rc == VT_OK)
        return http_respond(rq, 204, NULL);

    char msg[VT_ERR_MSG_MAX + 64];
    switch (rc) {
    case VT_EPARSE:
        if (res.points == 0)
            return v2_error(rq, 400, "invalid", res.error[0] ? res.error : err.msg);
        __attribute__((fallthrough));
    case VT_ETYPE:
        snprintf(msg, sizeof msg, "partial write: %s dropped=%zu",
                 res.error[0] ? res.error : err.msg, res.lines_rejected);
        return v2_error(rq, 400, "invalid", msg);
    case VT_ENOTFOUND:
        if (strncmp(err.msg, "database not found", 18) == 0)
            snprintf(msg, sizeof msg, "bucket \"%s\" not found", bucket);
        else
            snprintf(msg, sizeof msg, "%s", err.msg);
        return v2_error(rq, 404, "not found", msg);
    case VT_EINVAL: return v2_error(rq, 400, "invalid", err.msg);
    case VT_ELIMIT: return v2_error(rq, 413, "request too large", err.msg);
    default:
        http_log("error", NULL, "v2 write to \"%s\" failed (%s): %s", bucket, vt_rc_name(rc),
                 err.msg);
        return v2_error(rq, 500, "internal error", err.msg[0] ? err.msg : vt_rc_name(rc));
    }
}
