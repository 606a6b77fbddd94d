/*
 * server/handlers_keys.c — the admin endpoints of the API keys (docs/AUTH.md, docs/API.md):
 *
 *   GET    /api/v1/keys        {"keys":[{"id","name","scope","db","rps","created_at",
 *                              "created_by","revoked_at","last_used_at","active"}]} newest first
 *                              (times RFC 3339, "" = never); never the secret nor its hash
 *   POST   /api/v1/keys        {"name":"..","scope":"read|write|admin","db":"..","rps":n}
 *                              -> 201 {"key":"vk_...","id":"..",...,"warning":".."}: the only
 *                              time the key is shown
 *   DELETE /api/v1/keys?id=ID  -> {"id":"..","revoked":true}; 404 for an unknown id
 *
 * Admin scope is enforced by the admission (admission.c), not here. The actor recorded in the
 * audit log is "api:<key id>" ("api:loopback" in protected mode). A change applies to this
 * server at once (auth_refresh before answering); other servers on the same meta.db pick it up
 * within their 200 ms poll.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/gateway.h"
#include "server/server_int.h"

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
    unsigned status = rc == VT_EINVAL ? 400 : rc == VT_ENOTFOUND ? 404 : rc == VT_EEXIST ? 409
                                                                 : (unsigned)vt_rc_http_status(rc);
    return http_respond_error(rq, status, err->msg[0] ? err->msg : vt_rc_name(rc));
}

/* ns since the epoch as RFC 3339 UTC ("" for 0). */
static json_t *time_json(int64_t ns)
{
    if (ns <= 0)
        return json_string("");
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char s[40];
    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(s);
}

static json_t *key_json(const auth_key_info *k)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "id", json_string(k->id));
    json_object_set_new(o, "name", json_string(k->name));
    json_object_set_new(o, "scope", json_string(auth_scope_name(k->scope)));
    json_object_set_new(o, "db", json_string(k->db));
    json_object_set_new(o, "rps", json_real(k->rate_rps));
    json_object_set_new(o, "created_at", time_json(k->created_at));
    json_object_set_new(o, "created_by", json_string(k->created_by));
    json_object_set_new(o, "revoked_at", time_json(k->revoked_at));
    json_object_set_new(o, "last_used_at", time_json(k->last_used_at));
    json_object_set_new(o, "active", json_boolean(k->revoked_at == 0));
    return o;
}

static void actor(const http_request *rq, char *out, size_t cap)
{
    snprintf(out, cap, "api:%s", rq->key_id[0] ? rq->key_id : "loopback");
}

/* Makes this server see a change at once (the poller would within 200 ms). */
static void refresh_now(http_request *rq)
{
    gateway *gw = rq->srv->opts.gateway;
    if (!gw)
        return;
    vt_err err;
    vt_err_clear(&err);
    (void)auth_refresh(gateway_auth(gw), &err); /* on failure the poller retries */
}

static enum MHD_Result handle_list(http_request *rq, meta *m)
{
    auth_key_info *keys = NULL;
    size_t n = 0;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = auth_key_list(m, &keys, &n, &err);
    if (rc != VT_OK)
        return respond_rc(rq, rc, &err);
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, key_json(&keys[i]));
    free(keys);
    json_t *doc = arr ? json_pack("{s:o}", "keys", arr) : NULL;
    return respond_json(rq, 200, doc);
}

static enum MHD_Result handle_create(http_request *rq, meta *m)
{
    json_t *doc = NULL;
    if (rq->body.data && rq->body.len) {
        json_error_t je;
        doc = json_loadb((const char *)rq->body.data, rq->body.len, 0, &je);
        if (!doc || !json_is_object(doc)) {
            char msg[256];
            snprintf(msg, sizeof msg, "invalid JSON body: %s",
                     doc ? "expected an object" : je.text);
            json_decref(doc);
            return http_respond_error(rq, 400, msg);
        }
    } else {
        doc = json_object(); /* every field has a default */
    }
    char msg[256] = "";
    json_t *jn = json_object_get(doc, "name"), *js = json_object_get(doc, "scope");
    json_t *jd = json_object_get(doc, "db"), *jr = json_object_get(doc, "rps");
    if ((jn && !json_is_string(jn)) || (js && !json_is_string(js)) ||
        (jd && !json_is_string(jd) && !json_is_null(jd)) || (jr && !json_is_number(jr)))
        snprintf(msg, sizeof msg, "body must be {\"name\":\"..\",\"scope\":\"read|write|admin\","
                                  "\"db\":\"..\",\"rps\":n} (every field optional)");
    auth_scope scope = AUTH_READ;
    vt_err err;
    vt_err_clear(&err);
    if (!msg[0] && js && auth_scope_parse(json_string_value(js), &scope, &err) != VT_OK)
        snprintf(msg, sizeof msg, "%s", err.msg);
    if (msg[0]) {
        json_decref(doc);
        return http_respond_error(rq, 400, msg);
    }
    char who[64];
    actor(rq, who, sizeof who);
    char key[128];
    auth_key_info info;
    vt_rc rc = auth_key_create(m, jn ? json_string_value(jn) : "", scope,
                               json_is_string(jd) ? json_string_value(jd) : "",
                               jr ? json_number_value(jr) : 0, who, key, sizeof key, &info, &err);
    json_decref(doc);
    if (rc != VT_OK)
        return respond_rc(rq, rc, &err);
    refresh_now(rq);
    json_t *out = key_json(&info);
    if (out) {
        json_object_set_new(out, "key", json_string(key));
        json_object_set_new(out, "warning", json_string("store this key now: it is shown only "
                                                        "once and cannot be recovered"));
    }
    memset(key, 0, sizeof key);
    return respond_json(rq, 201, out);
}

static enum MHD_Result handle_revoke(http_request *rq, meta *m)
{
    const char *id = http_arg(rq, "id");
    if (!id || !id[0])
        return http_respond_error(rq, 400, "missing id: DELETE /api/v1/keys?id=<key id>");
    char who[64];
    actor(rq, who, sizeof who);
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = auth_key_revoke(m, id, who, &err);
    if (rc != VT_OK)
        return respond_rc(rq, rc, &err);
    refresh_now(rq);
    return respond_json(rq, 200, json_pack("{s:s,s:b}", "id", id, "revoked", 1));
}

enum MHD_Result http_handle_admin_keys(http_request *rq)
{
    if (strcmp(rq->url, "/api/v1/keys") != 0)
        return http_respond_error(rq, 404, "not found");
    gateway *gw = rq->srv->opts.gateway;
    meta *m = gw ? gateway_meta(gw) : rq->srv->opts.meta;
    if (!m)
        return http_respond_error(rq, 501, "this server runs without meta.db (no API keys)");
    if (strcmp(rq->method, "GET") == 0)
        return handle_list(rq, m);
    if (strcmp(rq->method, "POST") == 0)
        return handle_create(rq, m);
    if (strcmp(rq->method, "DELETE") == 0)
        return handle_revoke(rq, m);
    return http_respond_method(rq, "GET, POST, DELETE");
}
