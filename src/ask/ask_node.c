/*
 * ask/ask_node.c — the ask executor callback over a node in-process (iql_run_json), used by the
 * server's handler and by `volta ask --data`.
 */
#include <stdlib.h>
#include <string.h>

#include "ask/ask_node.h"
#include "query/influxql_exec.h"
#include "query/result.h"

vt_rc ask_run_node(void *ctx, const char *db, const char *influxql, char **json_out, vt_err *err)
{
    node *n = ctx;
    int64_t div = 1;
    qr_parse_epoch("ns", &div);
    vt_buf b;
    vt_buf_init(&b);
    vt_rc rc = iql_run_json(n, db, "", influxql, strlen(influxql), div, &b, err);
    if (rc == VT_OK && b.oom)
        rc = vt_err_set(err, VT_ENOMEM, "out of memory holding a query answer");
    if (rc != VT_OK) {
        vt_buf_free(&b);
        *json_out = NULL;
        return rc;
    }
    vt_buf_cstr(&b);
    char *text = malloc(b.len + 1);
    if (!text) {
        vt_buf_free(&b);
        return vt_err_set(err, VT_ENOMEM, "out of memory holding a query answer");
    }
    memcpy(text, b.data, b.len);
    text[b.len] = '\0';
    vt_buf_free(&b);
    *json_out = text;
    return VT_OK;
}
