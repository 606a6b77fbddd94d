/*
 * server/handlers_v2.c — POST /api/v2/write and POST /api/v2/query (Flux; see the note above
 * http_handle_v2_query) for InfluxDB 2.x compatibility, as InfluxDB 1.8 offers. Write:
 * bucket = "db" or "db/rp", org ignored, precision ns|us|ms|s. Errors are InfluxDB 2.x bodies:
 * {"code":"invalid"|"not found"|"internal error"|"request too large","message":"..."}.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "query/flux_exec.h"
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
        if (res.retention_dropped && !res.type_conflict) {
            snprintf(msg, sizeof msg, "partial write: points beyond retention policy dropped=%zu",
                     res.retention_dropped);
            return v2_error(rq, 400, "invalid", msg);
        }
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

/* ---- POST /api/v2/query (Flux) ----
 * Body: JSON {"query": "...", "type": "flux", "dialect": {"header", "delimiter",
 * "annotations": ["group", "datatype", "default"]}} or, with Content-Type
 * application/vnd.flux, the raw Flux text. As InfluxDB 2.x (QueryRequest.WithDefaults): no
 * annotations unless the dialect lists them, header true, delimiter ",". org/orgID are accepted
 * and ignored. The result is annotated CSV (query/flux_exec.h), text/csv; charset=utf-8. */

static enum MHD_Result v2_query_error(http_request *rq, unsigned status, const char *code,
                                      const char *message)
{
    vt_buf b;
    vt_buf_init(&b);
    vt_buf_append(&b, "{\"code\":", 8);
    http_json_cstr(&b, code);
    vt_buf_append(&b, ",\"message\":", 11);
    http_json_cstr(&b, message);
    vt_buf_append(&b, "}\n", 2);
    return http_respond(rq, status, &b);
}

enum MHD_Result http_handle_v2_query(http_request *rq)
{
    const char *ct =
        MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    const char *body = rq->body.data ? (const char *)rq->body.data : "";
    size_t blen = rq->body.len;
    flux_exec_options o;
    flux_exec_options_default(&o);
    json_t *root = NULL;
    const char *query = NULL;
    size_t qlen = 0;
    char msg[VT_ERR_MSG_MAX + 64];
    if (ct && strncasecmp(ct, "application/vnd.flux", 20) == 0) {
        query = body;
        qlen = blen;
    } else {
        json_error_t je;
        root = json_loadb(body, blen, 0, &je);
        if (!root || !json_is_object(root)) {
            snprintf(msg, sizeof msg,
                     "failed parsing request body as JSON; if sending a raw Flux script, set "
                     "'Content-Type: application/vnd.flux' in your request headers: %s",
                     root ? "expected a JSON object" : je.text);
            json_decref(root);
            return v2_query_error(rq, 400, "invalid", msg);
        }
        json_t *q = json_object_get(root, "query");
        json_t *ty = json_object_get(root, "type");
        if (ty && json_is_string(ty) && json_string_length(ty) > 0 &&
            strcmp(json_string_value(ty), "flux") != 0) {
            snprintf(msg, sizeof msg, "unknown query type: %s", json_string_value(ty));
            json_decref(root);
            return v2_query_error(rq, 400, "invalid", msg);
        }
        if (q && json_is_string(q)) {
            query = json_string_value(q);
            qlen = json_string_length(q);
        }
        json_t *d = json_object_get(root, "dialect");
        if (d && json_is_object(d)) {
            json_t *h = json_object_get(d, "header");
            if (h && json_is_boolean(h))
                o.header = json_is_true(h);
            json_t *dl = json_object_get(d, "delimiter");
            if (dl && json_is_string(dl) && json_string_length(dl) > 0) {
                if (json_string_length(dl) != 1) {
                    json_decref(root);
                    return v2_query_error(rq, 400, "invalid",
                                          "invalid dialect delimeter: must be length 1");
                }
                o.delimiter = json_string_value(dl)[0];
            }
            json_t *an = json_object_get(d, "annotations");
            size_t i;
            json_t *it;
            if (an && json_is_array(an)) {
                json_array_foreach(an, i, it)
                {
                    const char *s = json_is_string(it) ? json_string_value(it) : "";
                    flux_annotation a;
                    if (strcmp(s, "group") == 0)
                        a = FLUX_ANN_GROUP;
                    else if (strcmp(s, "datatype") == 0)
                        a = FLUX_ANN_DATATYPE;
                    else if (strcmp(s, "default") == 0)
                        a = FLUX_ANN_DEFAULT;
                    else {
                        snprintf(msg, sizeof msg, "unknown annotation type: %.64s", s);
                        json_decref(root);
                        return v2_query_error(rq, 400, "invalid", msg);
                    }
                    bool dup = false;
                    for (unsigned k = 0; k < o.nann; k++)
                        dup = dup || o.ann[k] == a;
                    if (!dup && o.nann < 3)
                        o.ann[o.nann++] = a;
                }
            }
        }
    }
    if (!query || qlen == 0) {
        json_decref(root);
        return v2_query_error(rq, 400, "invalid", "request body requires either query or AST");
    }
    vt_buf out;
    vt_buf_init(&out);
    flux_exec_error fe;
    vt_rc rc = flux_exec_run(node_engine(http_rq_node(rq)), query, qlen, &o, &out, &fe);
    json_decref(root);
    if (rc != VT_OK) {
        vt_buf_free(&out);
        if (fe.http_status >= 500)
            http_log("error", NULL, "flux query failed (%s): %s", vt_rc_name(rc), fe.msg);
        return v2_query_error(rq, (unsigned)fe.http_status, fe.code, fe.msg);
    }
    return http_respond_typed(rq, 200, &out, "text/csv; charset=utf-8");
}
