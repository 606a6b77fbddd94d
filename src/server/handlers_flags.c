/*
 * server/handlers_flags.c — the admin endpoints of the feature flags and the rate limits
 * (docs/API.md, docs/GATEWAY.md):
 *
 *   GET  /api/v1/flags                 {"version":N,"flags":{...}}
 *   POST /api/v1/flags                 {"set":{"name":value,...},"why":"..","who":".."}
 *                                      -> {"version":N,"changed":["name",...]}
 *   GET  /api/v1/flags/history?limit=N {"versions":[...]} newest first (default 20)
 *   POST /api/v1/flags/revert          {"version":N,"why":".."} -> {"version":M,"changed":[...]}
 *   GET  /api/v1/ratelimit             {"global":{"rps":x,"burst":y},"refused_total":n}
 *   POST /api/v1/ratelimit             {"rps":x[,"burst":y][,"why":".."]} (the rate flags: a
 *                                      flags version) or {"key":"<id>","rps":x} (one key's rate)
 *
 * The actor recorded is "api:<key id>" ("api:loopback" in protected mode); a "who" in the body
 * is added in parentheses, never replaces it. Changes apply to this server at once (the global
 * bucket is re-synced before answering); other servers on the same meta.db pick them up within
 * their 200 ms poll. Unknown flags and bad values are 400, an unknown version 404.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gateway.h"
#include "server/server_int.h"

#define HISTORY_DEFAULT 20
#define HISTORY_MAX 10000

static enum MHD_Result respond_json(http_request *rq, unsigned status, json_t *doc)
{
    if (!doc)
        return http_respond_error(rq, 500, "out of memory");
    char *s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!s)
        return http_respond_error(rq, 500, "out of memory");
    vt_buf b;
    vt_buf_init(&b);
    vt_buf_append(&b, s, strlen(s));
    vt_buf_putc(&b, '\n');
    free(s);
    return http_respond(rq, status, &b);
}

static enum MHD_Result respond_rc(http_request *rq, vt_rc rc, const vt_err *err)
{
    unsigned status = rc == VT_ENOTFOUND || rc == VT_EINVAL ? (rc == VT_EINVAL ? 400 : 404)
                                                            : (unsigned)vt_rc_http_status(rc);
    return http_respond_error(rq, status, err->msg[0] ? err->msg : vt_rc_name(rc));
}

static void actor(const http_request *rq, const char *body_who, char *out, size_t cap)
{
    const char *id = rq->key_id[0] ? rq->key_id : "loopback";
    if (body_who && body_who[0])
        snprintf(out, cap, "api:%s (%.96s)", id, body_who);
    else
        snprintf(out, cap, "api:%s", id);
}

static json_t *parse_body(http_request *rq, char *msg, size_t cap)
{
    if (!rq->body.data || rq->body.len == 0) {
        snprintf(msg, cap, "request body required: a JSON object");
        return NULL;
    }
    json_error_t je;
    json_t *doc = json_loadb((const char *)rq->body.data, rq->body.len, 0, &je);
    if (!doc) {
        snprintf(msg, cap, "invalid JSON body: %s (line %d, column %d)", je.text, je.line,
                 je.column);
        return NULL;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        snprintf(msg, cap, "invalid JSON body: expected an object");
        return NULL;
    }
    return doc;
}

/* A JSON value as a flag value's text (true -> "true", 2.5 -> "2.5", "backup"). */
static bool value_text(json_t *v, char *out, size_t cap)
{
    if (json_is_string(v))
        snprintf(out, cap, "%s", json_string_value(v));
    else if (json_is_boolean(v))
        snprintf(out, cap, "%s", json_is_true(v) ? "true" : "false");
    else if (json_is_integer(v))
        snprintf(out, cap, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(out, cap, "%.17g", json_real_value(v));
    else
        return false;
    return true;
}

/* Sets the flags of the object `set`; answers the change document. */
static enum MHD_Result set_flags(http_request *rq, gateway *gw, json_t *set, const char *who,
                                 const char *why)
{
    flags *f = gateway_flags(gw);
    size_t n = json_object_size(set);
    if (n == 0)
        return http_respond_error(rq, 400, "\"set\" must be an object with at least one flag");
    if (n > FLAG_COUNT)
        return http_respond_error(rq, 400, "\"set\" names more flags than there are");
    const char *names[FLAG_COUNT];
    char texts[FLAG_COUNT][64];
    const char *values[FLAG_COUNT];
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach(set, k, v) {
        if (!value_text(v, texts[i], sizeof texts[i])) {
            char msg[160];
            snprintf(msg, sizeof msg, "flag %.64s: value must be a string, number or boolean", k);
            return http_respond_error(rq, 400, msg);
        }
        names[i] = k;
        values[i] = texts[i];
        i++;
    }
    int64_t before = flags_version(f), version = 0;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = flags_set(f, n, names, values, who, why, &version, &err);
    if (rc == VT_ENOTFOUND)
        rc = VT_EINVAL; /* an unknown flag name is a bad request, not a missing resource */
    if (rc != VT_OK)
        return respond_rc(rq, rc, &err);
    gateway_sync(gw);
    return respond_json(rq, 200, flags_change_to_json(f, before, version));
}

static enum MHD_Result handle_flags_root(http_request *rq, gateway *gw)
{
    if (strcmp(rq->method, "GET") == 0)
        return respond_json(rq, 200, flags_to_json(gateway_flags(gw)));
    if (strcmp(rq->method, "POST") != 0 && strcmp(rq->method, "PUT") != 0)
        return http_respond_method(rq, "GET, POST");
    char msg[256];
    json_t *doc = parse_body(rq, msg, sizeof msg);
    if (!doc)
        return http_respond_error(rq, 400, msg);
    json_t *set = json_object_get(doc, "set");
    enum MHD_Result r;
    if (!json_is_object(set)) {
        r = http_respond_error(rq, 400, "body must be {\"set\":{\"name\":value,...},\"why\":\"..\"}");
    } else {
        char who[160];
        actor(rq, json_string_value(json_object_get(doc, "who")), who, sizeof who);
        const char *why = json_string_value(json_object_get(doc, "why"));
        r = set_flags(rq, gw, set, who, why ? why : "");
    }
    json_decref(doc);
    return r;
}

static enum MHD_Result handle_history(http_request *rq, gateway *gw)
{
    if (strcmp(rq->method, "GET") != 0)
        return http_respond_method(rq, "GET");
    size_t limit = HISTORY_DEFAULT;
    const char *l = http_arg(rq, "limit");
    if (l && l[0]) {
        char *end = NULL;
        long long v = strtoll(l, &end, 10);
        if (!end || *end || v < 1 || v > HISTORY_MAX) {
            char msg[128];
            snprintf(msg, sizeof msg, "invalid limit \"%.32s\": a number from 1 to %d", l,
                     HISTORY_MAX);
            return http_respond_error(rq, 400, msg);
        }
        limit = (size_t)v;
    }
    flag_version *hist = NULL;
    size_t n = 0;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = flags_history(gateway_flags(gw), limit, &hist, &n, &err);
    if (rc != VT_OK)
        return respond_rc(rq, rc, &err);
    json_t *doc = flags_history_to_json(hist, n);
    free(hist);
    return respond_json(rq, 200, doc);
}

static enum MHD_Result handle_revert(http_request *rq, gateway *gw)
{
    if (strcmp(rq->method, "POST") != 0)
        return http_respond_method(rq, "POST");
    char msg[256];
    json_t *doc = parse_body(rq, msg, sizeof msg);
    if (!doc)
        return http_respond_error(rq, 400, msg);
    json_t *jv = json_object_get(doc, "version");
    enum MHD_Result r;
    if (!json_is_integer(jv) || json_integer_value(jv) < 0) {
        r = http_respond_error(rq, 400, "body must be {\"version\":N,\"why\":\"..\"} (N >= 0)");
    } else {
        char who[160];
        actor(rq, json_string_value(json_object_get(doc, "who")), who, sizeof who);
        const char *why = json_string_value(json_object_get(doc, "why"));
        flags *f = gateway_flags(gw);
        int64_t before = flags_version(f), version = 0;
        vt_err err;
        vt_err_clear(&err);
        vt_rc rc = flags_revert(f, (int64_t)json_integer_value(jv), who, why ? why : "", &version,
                                &err);
        if (rc != VT_OK) {
            r = respond_rc(rq, rc, &err);
        } else {
            gateway_sync(gw);
            r = respond_json(rq, 200, flags_change_to_json(f, before, version));
        }
    }
    json_decref(doc);
    return r;
}

enum MHD_Result http_handle_admin_flags(http_request *rq)
{
    gateway *gw = rq->srv->opts.gateway;
    if (!gw)
        return http_respond_error(rq, 501, "this server runs without the gateway (no flags)");
    if (strcmp(rq->url, "/api/v1/flags/history") == 0)
        return handle_history(rq, gw);
    if (strcmp(rq->url, "/api/v1/flags/revert") == 0)
        return handle_revert(rq, gw);
    return handle_flags_root(rq, gw);
}

static json_t *number_json(double d)
{
    return d == (double)(long long)d && d < 9e15 ? json_integer((json_int_t)d) : json_real(d);
}

enum MHD_Result http_handle_admin_ratelimit(http_request *rq)
{
    gateway *gw = rq->srv->opts.gateway;
    if (!gw)
        return http_respond_error(rq, 501, "this server runs without the gateway (no rate limits)");
    flags *f = gateway_flags(gw);
    if (strcmp(rq->method, "GET") == 0) {
        return respond_json(rq, 200,
                            json_pack("{s:{s:o, s:o}, s:I}", "global", "rps",
                                      number_json(flags_rate_limit_rps(f)), "burst",
                                      number_json(flags_rate_limit_burst(f)), "refused_total",
                                      (json_int_t)gateway_ratelimit_refused(gw)));
    }
    if (strcmp(rq->method, "POST") != 0)
        return http_respond_method(rq, "GET, POST");
    char msg[256];
    json_t *doc = parse_body(rq, msg, sizeof msg);
    if (!doc)
        return http_respond_error(rq, 400, msg);
    json_t *rps = json_object_get(doc, "rps"), *burst = json_object_get(doc, "burst");
    json_t *key = json_object_get(doc, "key");
    const char *why = json_string_value(json_object_get(doc, "why"));
    char who[160];
    actor(rq, json_string_value(json_object_get(doc, "who")), who, sizeof who);
    enum MHD_Result r;
    if (!json_is_number(rps) || json_number_value(rps) < 0 ||
        (burst && (!json_is_number(burst) || json_number_value(burst) < 0))) {
        r = http_respond_error(rq, 400, "body must be {\"rps\":x[,\"burst\":y][,\"why\":\"..\"]} "
                                        "or {\"key\":\"<id>\",\"rps\":x} (numbers >= 0; 0 = off)");
    } else if (key) {
        vt_err err;
        vt_err_clear(&err);
        vt_rc rc = json_is_string(key)
                       ? auth_key_set_rate(gateway_meta(gw), json_string_value(key),
                                           json_number_value(rps), who, &err)
                       : vt_err_set(&err, VT_EINVAL, "\"key\" must be a key id (a string)");
        if (rc == VT_OK)
            rc = auth_refresh(gateway_auth(gw), &err);
        r = rc != VT_OK ? respond_rc(rq, rc, &err)
                        : respond_json(rq, 200,
                                       json_pack("{s:s, s:o}", "key", json_string_value(key),
                                                 "rps", number_json(json_number_value(rps))));
    } else {
        json_t *set = json_object();
        json_object_set(set, "rate_limit_rps", rps);
        if (burst)
            json_object_set(set, "rate_limit_burst", burst);
        r = set_flags(rq, gw, set, who, why ? why : "");
        json_decref(set);
    }
    json_decref(doc);
    return r;
}
