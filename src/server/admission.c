/*
 * server/admission.c — the gateway in front of every handler (http_admit, called by
 * http_dispatch once a request's body is in).
 *
 * Order, first refusal wins (docs/GATEWAY.md):
 *   1. authentication and scope (gateway/auth.h) — every endpoint but /ping and /health.
 *      Scope: /metrics read; /write, /api/v2/write write; /query read, or write when the
 *      InfluxQL text (URL `q` and form-body `q`, the larger need of the two) modifies anything;
 *      /api/v2/query read; /api/v1/... admin. The database is the `db` (or `bucket`, "db/rp")
 *      parameter. Refused: 401 (no or bad key) / 403 (scope, database, protected mode).
 *   2. maintenance mode — data endpoints only (/write, /api/v2/write, /query, /api/v2/query):
 *      503, Retry-After: 30.
 *   3. rate limits — data endpoints only: the global bucket (rate_limit_rps) and the key's own
 *      one; 429 with Retry-After.
 *   4. enable_flux_queries=false — /api/v2/query: 403.
 * /metrics and the /api/v1/... admin endpoints are never subject to 2-4: operators are never
 * locked out by the switches they need to turn things back on.
 *
 * Error bodies: {"error":"..."} as InfluxDB 1.x; /api/v2/... ones {"code","message"} as 2.x.
 * Refusals are counted per reason (gateway_count_refusal) for /metrics.
 *
 * Without a gateway (srv->opts.gateway NULL: unit tests' servers) every request is admitted.
 */
#include <jansson.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "gateway/gateway.h"
#include "server/server_int.h"
#include "query/influxql_parser.h"
#include "query/influxql_exec.h"
#include "query/arena.h"

#define MAINTENANCE_RETRY_S 30

static bool is_v2(const http_request *rq)
{
    return strncmp(rq->url, "/api/v2/", 8) == 0;
}

static bool is_data(http_endpoint ep)
{
    return ep == HTTP_EP_WRITE || ep == HTTP_EP_V2_WRITE || ep == HTTP_EP_QUERY ||
           ep == HTTP_EP_V2_QUERY;
}

static bool is_admin(http_endpoint ep)
{
    return ep >= HTTP_EP_ADMIN_LOAD && ep < HTTP_EP_OTHER; /* every admin route (/api/v1/...) */
}

/* Queues the refusal: {"error":msg}, or {"code","message"} on /api/v2/... */
static enum MHD_Result refuse(http_request *rq, unsigned status, const char *msg,
                              unsigned retry_after_s)
{
    vt_buf b;
    vt_buf_init(&b);
    if (is_v2(rq)) {
        const char *code = status == 401   ? "unauthorized"
                           : status == 403 ? "forbidden"
                           : status == 429 ? "too many requests"
                           : status == 503 ? "unavailable"
                                           : "invalid";
        vt_buf_append(&b, "{\"code\":", 8);
        http_json_cstr(&b, code);
        vt_buf_append(&b, ",\"message\":", 11);
    } else {
        vt_buf_append(&b, "{\"error\":", 9);
    }
    http_json_cstr(&b, msg);
    vt_buf_append(&b, "}\n", 2);
    if (retry_after_s > 0)
        return http_respond_retry(rq, status, &b, retry_after_s);
    return http_respond(rq, status, &b);
}

static bool client_is_loopback(http_request *rq)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(rq->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return false;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return true;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
            return in6->sin6_addr.s6_addr[12] == 127;
    }
    if (sa->sa_family == AF_UNIX)
        return true;
    return false;
}

static bool form_body(http_request *rq)
{
    const char *ct =
        MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    return ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0 &&
           rq->body.len > 0 && rq->body.data;
}

/* The scope /query needs: the larger of what the URL's and the form body's `q` need. */
static auth_scope query_scope(http_request *rq)
{
    auth_scope need = AUTH_READ;
    const char *q = http_arg(rq, "q");
    if (q)
        need = auth_influxql_scope(q, strlen(q));
    if (need < AUTH_WRITE && form_body(rq)) {
        char *fq = http_form_value((const char *)rq->body.data, rq->body.len, "q");
        if (fq) {
            auth_scope s = auth_influxql_scope(fq, strlen(fq));
            if (s > need)
                need = s;
            free(fq);
        }
    }
    return need;
}

/* The database the request touches into buf ("" when none). */
static const char *request_db(http_request *rq, char *buf, size_t cap)
{
    buf[0] = 0;
    const char *db = http_arg(rq, "db");
    if (db && db[0]) {
        snprintf(buf, cap, "%s", db);
        return buf;
    }
    const char *bucket = http_arg(rq, "bucket");
    if (bucket && bucket[0]) {
        const char *slash = strchr(bucket, '/');
        size_t n = slash ? (size_t)(slash - bucket) : strlen(bucket);
        snprintf(buf, cap, "%.*s", (int)(n < cap ? n : cap - 1), bucket);
        return buf;
    }
    if (rq->ep == HTTP_EP_QUERY && form_body(rq)) {
        char *fdb = http_form_value((const char *)rq->body.data, rq->body.len, "db");
        if (fdb) {
            snprintf(buf, cap, "%s", fdb);
            free(fdb);
        }
    }
    return buf;
}

/* ---- keys limited to one database: every database a /query names must be that one ---- */

typedef struct db_scan {
    const char *allowed;
    char other[128]; /* the first other database named */
} db_scan;

static void db_seen(void *ctx, const char *db)
{
    db_scan *d = ctx;
    if (!d->other[0] && strcmp(db, d->allowed) != 0)
        snprintf(d->other, sizeof d->other, "%s", db);
}

/* For a key limited to key_db: "" when the /query request stays inside it, else why not. The
 * InfluxQL is parsed here (a text that does not parse is left to the handler's error); a JSON
 * question may name its database in the body. */
static void query_db_violation(http_request *rq, const char *key_db, char *why, size_t cap)
{
    why[0] = '\0';
    db_scan d = {.allowed = key_db};
    const char *ct =
        MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (ct && strncasecmp(ct, "application/json", 16) == 0 && rq->body.len > 0 &&
        rq->body.data) {
        json_t *doc = json_loadb((const char *)rq->body.data, rq->body.len, 0, NULL);
        const char *db = doc ? json_string_value(json_object_get(doc, "db")) : NULL;
        if (db && db[0])
            db_seen(&d, db);
        json_decref(doc);
    }
    const char *q = http_arg(rq, "q");
    char *fq = NULL;
    if (!q && form_body(rq))
        q = fq = http_form_value((const char *)rq->body.data, rq->body.len, "q");
    bool every = false;
    if (q) {
        arena *a = arena_new(0);
        influxql_query *parsed = NULL;
        influxql_error perr;
        if (a && influxql_parse(a, q, strlen(q), NULL, &parsed, &perr) == VT_OK)
            iql_named_databases(parsed, db_seen, &d, &every);
        arena_free(a);
    }
    free(fq);
    if (every)
        snprintf(why, cap, "the query concerns every database");
    else if (d.other[0])
        snprintf(why, cap, "the query names database %s", d.other);
}

bool http_admit(http_request *rq, enum MHD_Result *r)
{
    gateway *gw = rq->srv->opts.gateway;
    http_endpoint ep = rq->ep;
    rq->key_id[0] = 0;
    rq->scope = AUTH_ADMIN;
    if (!gw || ep == HTTP_EP_PING || ep == HTTP_EP_HEALTH || ep == HTTP_EP_OTHER ||
        ep == HTTP_EP_COUNT)
        return true; /* OTHER answers 404 whoever asks */

    /* 1. authentication */
    auth_scope need = ep == HTTP_EP_WRITE || ep == HTTP_EP_V2_WRITE ? AUTH_WRITE
                      : ep == HTTP_EP_QUERY                         ? query_scope(rq)
                      : is_admin(ep)                                ? AUTH_ADMIN
                                                                    : AUTH_READ;
    char db[256];
    auth_request in = {
        .x_api_key = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "x-api-key"),
        .authorization = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_AUTHORIZATION),
        .v1_password = http_arg(rq, "p"),
        .loopback = client_is_loopback(rq),
        .need = need,
        .db = request_db(rq, db, sizeof db),
    };
    if (!in.db[0])
        in.db = NULL;
    auth_result res;
    memset(&res, 0, sizeof res);
    auth_check(gateway_auth(gw), &in, &res);
    if (res.status != 0) {
        gateway_count_refusal(gw, GW_REFUSED_AUTH);
        *r = refuse(rq, res.status,
                    res.message[0] ? res.message
                                   : (res.status == 401 ? "authorization failed" : "forbidden"),
                    0);
        return false;
    }
    if (res.key_db[0] && ep == HTTP_EP_QUERY) {
        char why[200], msg[400];
        query_db_violation(rq, res.key_db, why, sizeof why);
        if (why[0]) {
            gateway_count_refusal(gw, GW_REFUSED_AUTH);
            snprintf(msg, sizeof msg, "API key %s is limited to database %s: %s", res.key_id,
                     res.key_db, why);
            *r = refuse(rq, 403, msg, 0);
            return false;
        }
    }
    snprintf(rq->key_id, sizeof rq->key_id, "%s", res.key_id);
    rq->scope = (int)need;
    if (!is_data(ep))
        return true;

    /* an operator's own requests (the rollback's probe and ramp checks, a restore into a live
     * database) pass maintenance and the rate limits: they carry X-Volta-Operator and admin
     * rights — an admin key, or a loopback client in protected mode */
    bool operator_req =
        res.granted >= AUTH_ADMIN &&
        MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "X-Volta-Operator") != NULL;
    flags *fl = gateway_flags(gw);
    /* 2. maintenance */
    if (!operator_req && flags_maintenance(fl)) {
        gateway_count_refusal(gw, GW_REFUSED_MAINTENANCE);
        *r = refuse(rq, 503, "volta is in maintenance mode", MAINTENANCE_RETRY_S);
        return false;
    }
    /* 3. rate limits */
    unsigned retry = 1;
    const char *which = "global";
    if (!operator_req &&
        !ratelimit_take(gateway_ratelimit(gw), res.key_id[0] ? res.key_id : NULL, res.key_rps,
                        http_mono_ns(), &retry, &which)) {
        gateway_count_refusal(gw, GW_REFUSED_RATE);
        bool key = which && strcmp(which, "key") == 0;
        char msg[128];
        snprintf(msg, sizeof msg, "rate limit exceeded (%s %g/s)", key ? "key" : "global",
                 key ? res.key_rps : flags_rate_limit_rps(fl));
        *r = refuse(rq, 429, msg, retry);
        return false;
    }
    /* 4. Flux switched off */
    if (ep == HTTP_EP_V2_QUERY && !flags_flux(fl)) {
        gateway_count_refusal(gw, GW_REFUSED_FLUX);
        *r = refuse(rq, 403, "Flux queries are disabled (enable_flux_queries=false)", 0);
        return false;
    }
    return true;
}
