/*
 * tests/fuzz/fuzz_query.c — libFuzzer target for the InfluxQL executor (query/influxql_exec.h).
 *
 * Once per process a node is opened in a temporary directory and loaded with a small data set
 * (floats, integers, booleans, strings; several series and measurements; part of it flushed to a
 * segment so both the memtable and the segment read paths run). Each input is parsed; a query
 * that parses is executed — SELECT (without INTO) and SHOW statements only, so the data set never
 * changes — with small limits on points and windows, and its JSON output must be well formed
 * (jansson parses it). Seeds: the differential test's queries (tests/e2e/influxql_cases.py).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "core/node.h"
#include "query/influxql_exec.h"
#include "query/influxql_parser.h"
#include "query/result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static node *g_node;

static void fuzz_die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_query: %s\n%s\n", what, detail ? detail : "");
    abort();
}

static void fuzz_write(const char *lp)
{
    node_write_result res;
    memset(&res, 0, sizeof res);
    vt_err err;
    vt_err_clear(&err);
    if (node_write(g_node, "db", "", LP_PRECISION_S, 0, lp, strlen(lp), &res, &err) != VT_OK)
        fuzz_die("setup write failed", err.msg[0] ? err.msg : res.error);
}

static void fuzz_setup(void)
{
    char tmpl[] = "/tmp/volta-fuzz-query-XXXXXX";
    char *dir = mkdtemp(tmpl);
    if (!dir)
        fuzz_die("mkdtemp", NULL);
    node_options o;
    node_options_default(&o);
    o.engine.background = false;
    o.engine.block_points = 16;
    o.journal.fsync = JOURNAL_FSYNC_NEVER;
    vt_err err;
    vt_err_clear(&err);
    if (node_open(dir, &o, &g_node, NULL, &err) != VT_OK)
        fuzz_die("node_open", err.msg);
    if (node_create_db(g_node, "db", &err) != VT_OK)
        fuzz_die("create db", err.msg);
    vt_buf b;
    vt_buf_init(&b);
    const char *subs[] = {"N", "NE", "S", "SE"};
    for (int i = 0; i < 96; i++) {
        int64_t t = 1540000000 + (int64_t)i * 1800;
        for (int s = 0; s < 4; s++)
            vt_buf_printf(&b, "load,subsystem=%s value=%d.%d %lld\n", subs[s], 1000 + (i * 37 + s * 11) % 500,
                          i % 10, (long long)t);
        vt_buf_printf(&b,
                      "sensor,host=h%d temp=%d.5,count=%di,ok=%s,status=\"s%d\" %lld\n", i % 3,
                      i % 40 - 10, i * 3, i % 2 ? "true" : "false", i % 5, (long long)t);
        if (i % 7 == 0)
            vt_buf_printf(&b, "gen\\ x,plant=p%d,type=hydro value=%d %lld\n", i % 4, i, (long long)t);
    }
    vt_buf_putc(&b, 0);
    fuzz_write((const char *)b.data);
    vt_buf_free(&b);
    /* half in a segment, half in the memtable */
    if (engine_flush(node_engine(g_node), &err) != VT_OK)
        fuzz_die("flush", err.msg);
    fuzz_write("load,subsystem=N value=1.5 1540100000\nsensor,host=h9 temp=3.5 1540000000\n");
}

static bool fuzz_safe(const influxql_query *q)
{
    for (size_t i = 0; i < q->nstmts; i++) {
        const influxql_stmt *st = q->stmts[i];
        switch (st->kind) {
        case IQL_STMT_SELECT:
            if (st->u.select->has_into)
                return false;
            break;
        case IQL_STMT_SHOW_DATABASES:
        case IQL_STMT_SHOW_MEASUREMENTS:
        case IQL_STMT_SHOW_TAG_KEYS:
        case IQL_STMT_SHOW_TAG_VALUES:
        case IQL_STMT_SHOW_FIELD_KEYS:
        case IQL_STMT_SHOW_SERIES:
        case IQL_STMT_SHOW_RETENTION_POLICIES: break;
        default: return false;
        }
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_node)
        fuzz_setup();
    arena *a = arena_new(0);
    if (!a)
        return 0;
    influxql_query *q = NULL;
    influxql_error perr;
    if (influxql_parse(a, (const char *)data, size, NULL, &q, &perr) != VT_OK ||
        !iql_check_regexes(q, &perr) || !fuzz_safe(q)) {
        arena_free(a);
        return 0;
    }
    qr_options opt = {.format = (size && (data[0] & 1)) ? QR_CSV : QR_JSON,
                      .chunked = size > 1 && (data[1] & 1)};
    qr_writer w;
    qr_init(&w, &opt);
    iql_env env = {.node = g_node,
                   .db = "db",
                   .rp = "",
                   .now = INT64_C(1540200000000000000),
                   .max_points = 100000,
                   .max_buckets = 20000,
                   .max_series = 1000};
    qr_begin(&w);
    if (iql_execute(&env, q, &w) != VT_OK)
        fuzz_die("iql_execute failed", (const char *)data);
    qr_end(&w);
    if (opt.format == QR_JSON && !opt.chunked && !w.out.oom) {
        json_error_t je;
        json_t *j = json_loadb((const char *)w.out.data, w.out.len, 0, &je);
        if (!j) {
            vt_buf_putc(&w.out, 0);
            fuzz_die("output is not JSON", (const char *)w.out.data);
        }
        json_decref(j);
    }
    qr_free(&w);
    arena_free(a);
    return 0;
}
