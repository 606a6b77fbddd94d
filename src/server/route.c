/*
 * server/route.c — the read router: while the read_backend flag is "backup", /query and
 * /api/v2/query are answered by the backup backend.
 *
 * NOTES ON THE DESIGN
 *  1. Which backend is "the backup": [server] read_backup = "<name>" in the config, else the
 *     first [backend.<name>] (replication_read_backup). GET /api/v1/backends shows it.
 *  2. What stays on the primary, even under read_backend=backup:
 *       - POST /query with a JSON body: a natural-language question (the ask handler), which
 *         decides itself where its data comes from;
 *       - /query text that modifies data or schema (route_influxql_modifies: CREATE, DROP,
 *         DELETE, ALTER, SELECT ... INTO ...): writes go through the primary's journal, which
 *         replicates them to every backend; run on the backup alone they would fork it. The
 *         text is parsed for this (only while reads go to the backup).
 *  3. A native backup is a volta data directory opened in-process: the request runs through the
 *     very same handlers (handlers_v1.c, handlers_v2.c) with rq->node set to the backup's node,
 *     so the answer is byte for byte what `volta serve --data <backup>` would give.
 *  4. An influx backup is proxied with libcurl (backend_forward): method, path, the query
 *     string re-encoded without the client's `u`/`p` (volta's own credentials, never sent to a
 *     backend; the backend's configured ones are added instead), the body (a form body without
 *     `u`/`p` too), Content-Type and Accept. The answer is buffered (at most
 *     ROUTE_MAX_ANSWER_BYTES) and returned with its status and Content-Type. Unreachable ->
 *     502 {"error":"backup backend <name> unreachable: ..."}.
 *  5. Flux to a backend without Flux (InfluxDB 1.x): 403 {"code":"forbidden","message":"the
 *     backup backend <name> speaks no Flux ..."}, in the shape /api/v2/query errors have.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend/replication.h"
#include "gateway/gateway.h"
#include "query/arena.h"
#include "query/influxql_parser.h"
#include "server/route.h"
#include "server/server_int.h"

#define ROUTE_MAX_ANSWER_BYTES (256u << 20)

/* ---- re-encoding the query string ---- */

static void route_pct_encode(vt_buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            vt_buf_putc(out, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            vt_buf_append(out, e, 3);
        }
    }
}

/* The client's credentials (v1 u/p) are volta's, never a backend's. */
static bool route_is_credential(const char *key)
{
    return strcmp(key, "u") == 0 || strcmp(key, "p") == 0;
}

static enum MHD_Result route_arg_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    vt_buf *qs = cls;
    if (!key || route_is_credential(key))
        return MHD_YES;
    if (qs->len > 0)
        vt_buf_putc(qs, '&');
    route_pct_encode(qs, key);
    if (value) {
        vt_buf_putc(qs, '=');
        route_pct_encode(qs, value);
    }
    return MHD_YES;
}

/* A form body without its u/p fields (fields kept as they were encoded). */
static void route_form_without_credentials(const char *body, size_t len, vt_buf *out)
{
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *fend = amp ? amp : end;
        size_t kn = (size_t)(fend - p);
        const char *eq = memchr(p, '=', kn);
        if (eq)
            kn = (size_t)(eq - p);
        bool cred = kn == 1 && (p[0] == 'u' || p[0] == 'p');
        if (!cred && fend > p) {
            if (out->len > 0)
                vt_buf_putc(out, '&');
            vt_buf_append(out, p, (size_t)(fend - p));
        }
        p = amp ? amp + 1 : end;
    }
}

/* ---- what stays on the primary ---- */

static const char *route_header(http_request *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

static bool route_is_form(const char *ct)
{
    return ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0;
}

bool route_influxql_modifies(const char *q, size_t len)
{
    arena *a = arena_new(0);
    influxql_query *query = NULL;
    influxql_error perr;
    memset(&perr, 0, sizeof perr);
    if (!a || influxql_parse(a, q, len, NULL, &query, &perr) != VT_OK) {
        arena_free(a);
        return auth_influxql_scope(q, len) >= AUTH_WRITE;
    }
    bool modifies = false;
    for (size_t i = 0; i < query->nstmts && !modifies; i++) {
        const influxql_stmt *st = query->stmts[i];
        switch (st->kind) {
        case IQL_STMT_SELECT: modifies = st->u.select->has_into; break;
        case IQL_STMT_EXPLAIN: modifies = st->u.explain.select->has_into; break;
        case IQL_STMT_SHOW_DATABASES:
        case IQL_STMT_SHOW_MEASUREMENTS:
        case IQL_STMT_SHOW_TAG_KEYS:
        case IQL_STMT_SHOW_TAG_VALUES:
        case IQL_STMT_SHOW_FIELD_KEYS:
        case IQL_STMT_SHOW_SERIES:
        case IQL_STMT_SHOW_RETENTION_POLICIES: break;
        case IQL_STMT_OTHER:
            modifies = !st->u.other.keyword || strncasecmp(st->u.other.keyword, "SHOW", 4) != 0;
            break;
        default: modifies = true; break;
        }
    }
    arena_free(a);
    return modifies;
}

/* Does the /query text modify anything (note 2)? */
static bool route_query_modifies(http_request *rq)
{
    const char *q = http_arg(rq, "q");
    char *owned = NULL;
    if ((!q || !q[0]) && rq->body.len > 0 && route_is_form(route_header(rq, "Content-Type")))
        q = owned = http_form_value((const char *)rq->body.data, rq->body.len, "q");
    bool modifies = q && q[0] && route_influxql_modifies(q, strlen(q));
    free(owned);
    return modifies;
}

/* ---- the influx proxy ---- */

static enum MHD_Result route_v2_error(http_request *rq, unsigned status, const char *code,
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

static enum MHD_Result route_proxy(http_request *rq, backend *b)
{
    char msg[VT_ERR_MSG_MAX + 128];
    const char *name = backend_name(b);
    if (rq->ep == HTTP_EP_V2_QUERY && !(backend_caps(b) & BACKEND_CAP_FLUX)) {
        snprintf(msg, sizeof msg,
                 "the backup backend %s speaks no Flux (InfluxDB 1.x API): while read_backend is "
                 "\"backup\", query it with InfluxQL on /query",
                 name);
        return route_v2_error(rq, 403, "forbidden", msg);
    }
    vt_buf qs, body;
    vt_buf_init(&qs);
    vt_buf_init(&body);
    MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, route_arg_cb, &qs);
    const char *ct = route_header(rq, "Content-Type");
    const char *send_body = rq->body.data ? (const char *)rq->body.data : "";
    size_t send_len = rq->body.len;
    if (route_is_form(ct) && send_len > 0) {
        route_form_without_credentials(send_body, send_len, &body);
        send_body = body.data ? (const char *)body.data : "";
        send_len = body.len;
    }
    backend_http_request fr = {
        .method = rq->method,
        .path = rq->url,
        .query_string = qs.len ? vt_buf_cstr(&qs) : "",
        .body = send_body,
        .body_len = send_len,
        .content_type = ct,
        .accept = route_header(rq, "Accept"),
    };
    backend_http_response resp;
    memset(&resp, 0, sizeof resp);
    vt_buf_init(&resp.body);
    vt_err err;
    vt_err_clear(&err);
    enum MHD_Result r;
    if (qs.oom || body.oom) {
        r = http_respond_error(rq, 500, "out of memory");
        goto done;
    }
    vt_rc rc = backend_forward(b, &fr, ROUTE_MAX_ANSWER_BYTES, &resp, &err);
    if (rc == VT_EBUSY) {
        snprintf(msg, sizeof msg, "backup backend %s unreachable: %s", name, err.msg);
        http_log("warn", NULL, "read routing: %s", msg);
        r = http_respond_error(rq, 502, msg);
    } else if (rc != VT_OK) {
        snprintf(msg, sizeof msg, "backup backend %s: %s", name, err.msg);
        r = http_respond_error(rq, 502, msg);
    } else if (resp.status < 100 || resp.status > 599) {
        snprintf(msg, sizeof msg, "backup backend %s answered HTTP status %ld", name,
                 resp.status);
        r = http_respond_error(rq, 502, msg);
    } else {
        r = http_respond_typed(rq, (unsigned)resp.status, &resp.body,
                               resp.content_type[0] ? resp.content_type : "application/json");
    }
done:
    vt_buf_free(&resp.body);
    vt_buf_free(&qs);
    vt_buf_free(&body);
    return r;
}

/* ---- the hook ---- */

bool http_route_read(http_request *rq, enum MHD_Result *r)
{
    http_server *srv = rq->srv;
    gateway *gw = srv->opts.gateway;
    if (!gw || flags_read_backend(gateway_flags(gw)) != READ_BACKUP)
        return false;
    if (rq->ep == HTTP_EP_QUERY) {
        const char *ct = route_header(rq, "Content-Type");
        if (strcmp(rq->method, "POST") == 0 && ct && strncasecmp(ct, "application/json", 16) == 0)
            return false; /* a question for the ask handler (note 2) */
        if (route_query_modifies(rq))
            return false;
    }
    applier *a = replication_read_backup(srv->opts.replication);
    if (!a) {
        const char *msg = "read_backend is \"backup\" but no backup backend is configured "
                          "([backend.<name>] in the config file)";
        *r = rq->ep == HTTP_EP_V2_QUERY ? route_v2_error(rq, 503, "unavailable", msg)
                                        : http_respond_error(rq, 503, msg);
        return true;
    }
    backend *b = applier_backend(a);
    node *bn = backend_node(b);
    if (bn) {
        rq->node = bn;
        *r = rq->ep == HTTP_EP_V2_QUERY ? http_handle_v2_query(rq) : http_handle_query(rq);
        return true;
    }
    *r = route_proxy(rq, b);
    return true;
}
