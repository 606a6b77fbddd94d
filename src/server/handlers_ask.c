/*
 * server/handlers_ask.c — POST /query with a JSON body {"question": "..."}: questions in plain
 * language (ask/ask.h; docs/ASK.md).
 *
 * The /query handler calls http_ask_try first. It takes the request only when all of these hold:
 * method POST, Content-Type application/json, no `q` in the URL (InfluxDB client libraries send
 * Content-Type application/json with q in the URL: those stay InfluxQL), and a body that is a JSON
 * object with a string member "question". Optional members: "db" (default: the `db` URL
 * parameter, else "ons") and "now" (RFC3339: the instant relative times are measured from, for
 * reproducible answers; default the wall clock).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ask/ask.h"
#include "ask/ask_node.h"
#include "common/timefmt.h"
#include "server/server_int.h"

bool http_ask_try(http_request *rq, enum MHD_Result *r)
{
    if (strcmp(rq->method, "POST") != 0 || rq->body.len == 0)
        return false;
    const char *ct =
        MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!ct || strncasecmp(ct, "application/json", 16) != 0)
        return false;
    const char *q = http_arg(rq, "q");
    if (q && q[0])
        return false;
    json_t *body = json_loadb((const char *)rq->body.data, rq->body.len, 0, NULL);
    json_t *question = json_object_get(body, "question");
    if (!json_is_object(body) || !question) {
        json_decref(body);
        return false;
    }
    if (!json_is_string(question)) {
        json_decref(body);
        *r = http_respond_error(rq, 400, "\"question\" must be a string");
        return true;
    }
    const char *db = json_string_value(json_object_get(body, "db"));
    if (!db || !db[0])
        db = http_arg(rq, "db");
    int64_t now = 0;
    const char *now_s = json_string_value(json_object_get(body, "now"));
    if (now_s && now_s[0]) {
        vt_err e;
        if (vt_time_parse(now_s, strlen(now_s), NULL, &now, &e) != VT_OK) {
            json_decref(body);
            *r = http_respond_error(rq, 400, "\"now\" must be an RFC3339 time, e.g. 2024-03-14T15:00:00Z");
            return true;
        }
    }
    ask_request ar = {
        .question = json_string_value(question),
        .db = db,
        .now = now,
        .run = ask_run_node,
        .run_ctx = rq->srv->node,
    };
    vt_buf out;
    vt_buf_init(&out);
    unsigned status = 500;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = ask_answer(&ar, &status, &out, &err);
    json_decref(body);
    if (rc != VT_OK) {
        vt_buf_free(&out);
        *r = http_respond_error(rq, 500, err.msg);
        return true;
    }
    *r = http_respond(rq, status, &out);
    return true;
}
