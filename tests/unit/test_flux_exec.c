/*
 * tests/unit/test_flux_exec.c — the Flux executor (query/flux_exec.h) over a real node: a small
 * ONS-like data set goes in through node_write, Flux programs run with a fixed now(), and the
 * annotated CSV that comes out is compared byte for byte (expected texts are written with "\n";
 * the helper turns them into the CRLF line ends InfluxDB 2.x writes).
 *
 * Format rules checked here come from the InfluxDB 2.x "Annotated CSV" reference
 * (docs.influxdata.com/influxdb/v2/reference/syntax/annotated-csv): the leading annotation
 * column, result/table columns, #group/#datatype/#default rows, result name in #default and
 * empty in records, a blank line plus a new annotation block when the schema changes, CRLF.
 * The table layout (_start,_stop,_time,_value,_field,_measurement,<tags>, group key) follows
 * the same page's example and the Flux data model; aggregate/selector output shapes follow the
 * Flux stdlib documentation (aggregates keep the group key and _value; selectors keep rows).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "core/node.h"
#include "query/flux_exec.h"

#define T0 INT64_C(1704067200000000000) /* 2024-01-01T00:00:00Z */
#define MIN INT64_C(60000000000)
#define NOW (T0 + 15 * MIN)

typedef struct fixture {
    char dir[64];
    node *n;
} fixture;

static void write_lp(node *n, const char *db, const char *lp)
{
    vt_err err;
    vt_err_clear(&err);
    node_write_result res;
    memset(&res, 0, sizeof res);
    if (node_write(n, db, "", LP_PRECISION_NS, 0, lp, strlen(lp), &res, &err) != VT_OK)
        fail_msg("node_write %s: %s %s", db, err.msg, res.error);
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/volta-test-flux-XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    node_options o;
    node_options_default(&o);
    o.engine.background = false;
    o.journal.fsync = JOURNAL_FSYNC_NEVER;
    vt_err err;
    vt_err_clear(&err);
    if (node_open(fx->dir, &o, &fx->n, NULL, &err) != VT_OK)
        return -1;
    const char *dbs[] = {"ons", "misc", "cal"};
    for (int i = 0; i < 3; i++)
        if (node_create_db(fx->n, dbs[i], &err) != VT_OK)
            return -1;
    char lp[2048];
    snprintf(lp, sizeof lp,
             "generation,source=hydro,subsystem=SE value=10 %" PRId64 "\n"
             "generation,source=hydro,subsystem=SE value=20 %" PRId64 "\n"
             "generation,source=hydro,subsystem=SE value=30 %" PRId64 "\n"
             "generation,source=hydro,subsystem=SE value=40 %" PRId64 "\n"
             "generation,source=wind,subsystem=S value=5 %" PRId64 "\n"
             "generation,source=wind,subsystem=S value=7.5 %" PRId64 "\n",
             T0, T0 + MIN, T0 + 5 * MIN, T0 + 11 * MIN, T0, T0 + 2 * MIN);
    write_lp(fx->n, "ons", lp);
    snprintf(lp, sizeof lp,
             "load,subsystem=SE mw=100i %" PRId64 "\n"
             "load,subsystem=SE mw=200i %" PRId64 "\n"
             "load,subsystem=S mw=50i %" PRId64 "\n"
             "status,subsystem=SE ok=true,msg=\"a,b \\\"q\\\"\" %" PRId64 "\n",
             T0, T0 + 10 * MIN, T0, T0);
    write_lp(fx->n, "misc", lp);
    write_lp(fx->n, "cal",
             "m v=1i 1705276800000000000\n"  /* 2024-01-15 */
             "m v=1i 1707523200000000000\n"  /* 2024-02-10 */
             "m v=1i 1708387200000000000\n"  /* 2024-02-20 */
             "m v=1i 1709596800000000000\n"); /* 2024-03-05 */
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    vt_err err;
    node_close(fx->n, &err);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    int rc = system(cmd);
    free(fx);
    return rc == 0 ? 0 : -1;
}

/* Runs q; returns the CSV (caller frees) or NULL with *fe filled. */
static char *run_opts(void **state, const char *q, bool annotations, flux_exec_error *fe)
{
    fixture *fx = *state;
    flux_exec_options o;
    flux_exec_options_default(&o);
    o.now_ns = NOW;
    if (annotations) {
        o.nann = 3;
        o.ann[0] = FLUX_ANN_GROUP;
        o.ann[1] = FLUX_ANN_DATATYPE;
        o.ann[2] = FLUX_ANN_DEFAULT;
    }
    vt_buf out;
    vt_buf_init(&out);
    vt_rc rc = flux_exec_run(node_engine(fx->n), q, strlen(q), &o, &out, fe);
    if (rc != VT_OK) {
        vt_buf_free(&out);
        return NULL;
    }
    char *s = strndup(out.data ? (const char *)out.data : "", out.len);
    vt_buf_free(&out);
    return s;
}

static char *crlf(const char *s)
{
    vt_buf b;
    vt_buf_init(&b);
    for (; *s; s++) {
        if (*s == '\n')
            vt_buf_putc(&b, '\r');
        vt_buf_putc(&b, (uint8_t)*s);
    }
    char *r = strndup(b.data ? (const char *)b.data : "", b.len);
    vt_buf_free(&b);
    return r;
}

static void expect_csv(void **state, const char *q, bool annotations, const char *want)
{
    flux_exec_error fe;
    char *got = run_opts(state, q, annotations, &fe);
    if (!got)
        fail_msg("query failed (%d %s): %s\n%s", fe.http_status, fe.code, fe.msg, q);
    char *w = crlf(want);
    if (strcmp(got, w) != 0)
        fail_msg("query:\n%s\ngot:\n%s\nwant:\n%s", q, got, w);
    free(w);
    free(got);
}

static void expect_error(void **state, const char *q, int status, const char *code,
                         const char *msg)
{
    flux_exec_error fe;
    char *got = run_opts(state, q, false, &fe);
    if (got)
        fail_msg("query succeeded, expected an error:\n%s\n%s", q, got);
    assert_int_equal(fe.http_status, status);
    assert_string_equal(fe.code, code);
    if (strcmp(fe.msg, msg) != 0)
        fail_msg("query:\n%s\ngot message:  %s\nwant message: %s", q, fe.msg, msg);
}

/* The runbook's first query (annotations as the influx CLI asks for them). */
static void test_runbook_aggregate_window(void **state)
{
    expect_csv(state,
               "from(bucket: \"ons\") |> range(start: -1h)\n"
               "  |> filter(fn: (r) => r._measurement == \"generation\" and r.subsystem == \"SE\")\n"
               "  |> aggregateWindow(every: 5m, fn: mean, createEmpty: false)\n"
               "  |> yield(name: \"mean\")",
               true,
               "#group,false,false,true,true,false,false,true,true,true,true\n"
               "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,double,"
               "string,string,string,string\n"
               "#default,mean,,,,,,,,,\n"
               ",result,table,_start,_stop,_time,_value,_field,_measurement,source,subsystem\n"
               ",,0,2023-12-31T23:15:00Z,2024-01-01T00:15:00Z,2024-01-01T00:05:00Z,15,value,"
               "generation,hydro,SE\n"
               ",,0,2023-12-31T23:15:00Z,2024-01-01T00:15:00Z,2024-01-01T00:10:00Z,30,value,"
               "generation,hydro,SE\n"
               ",,0,2023-12-31T23:15:00Z,2024-01-01T00:15:00Z,2024-01-01T00:15:00Z,40,value,"
               "generation,hydro,SE\n"
               "\n");
}

/* The runbook's second query: regroup by subsystem and sum. */
static void test_runbook_group_sum(void **state)
{
    expect_csv(state,
               "from(bucket:\"ons\") |> range(start: 2024-01-01T00:00:00Z, stop: "
               "2024-02-01T00:00:00Z)\n  |> group(columns: [\"subsystem\"]) |> sum()",
               true,
               "#group,false,false,true,false\n"
               "#datatype,string,long,string,double\n"
               "#default,_result,,,\n"
               ",result,table,subsystem,_value\n"
               ",,0,S,12.5\n"
               ",,1,SE,100\n"
               "\n");
}

/* §3 of the runbook: the latest point of the last 7 days (last() keeps the whole row). */
static void test_runbook_last(void **state)
{
    expect_csv(state,
               "from(bucket: \"ons\") |> range(start: -7d) |> last()", false,
               ",result,table,_start,_stop,_time,_value,_field,_measurement,source,subsystem\n"
               ",_result,0,2023-12-25T00:15:00Z,2024-01-01T00:15:00Z,2024-01-01T00:11:00Z,40,"
               "value,generation,hydro,SE\n"
               ",_result,1,2023-12-25T00:15:00Z,2024-01-01T00:15:00Z,2024-01-01T00:02:00Z,7.5,"
               "value,generation,wind,S\n"
               "\n");
}

/* §4 of the runbook used duplicate(column: "_time") without as: a compilation error in Flux. */
static void test_runbook_duplicate_needs_as(void **state)
{
    expect_error(state,
                 "from(bucket: \"ons\") |> range(start: -24h) |> duplicate(column: \"_time\")",
                 400, "invalid",
                 "compilation failed: error @1:46-1:72: missing required argument as");
}

/* Without a dialect: no annotation rows, the result name in every record. */
static void test_no_annotations(void **state)
{
    expect_csv(state,
               "from(bucket:\"ons\") |> range(start: 2024-01-01T00:00:00Z, stop: "
               "2024-01-02T00:00:00Z) |> filter(fn: (r) => r.source == \"wind\")",
               false,
               ",result,table,_start,_stop,_time,_value,_field,_measurement,source,subsystem\n"
               ",_result,0,2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,2024-01-01T00:00:00Z,5,"
               "value,generation,wind,S\n"
               ",_result,0,2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,2024-01-01T00:02:00Z,7.5,"
               "value,generation,wind,S\n"
               "\n");
}

/* Tables of different schemas: blank line + new annotation block; integer, string (quoted
 * per RFC 4180) and boolean values; tables numbered across the result. */
static void test_schemas_and_types(void **state)
{
    expect_csv(state,
               "from(bucket:\"misc\") |> range(start: 2024-01-01T00:00:00Z, stop: "
               "2024-01-02T00:00:00Z)",
               true,
               "#group,false,false,true,true,false,false,true,true,true\n"
               "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,long,"
               "string,string,string\n"
               "#default,_result,,,,,,,,\n"
               ",result,table,_start,_stop,_time,_value,_field,_measurement,subsystem\n"
               ",,0,2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,2024-01-01T00:00:00Z,50,mw,load,S\n"
               ",,1,2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,2024-01-01T00:00:00Z,100,mw,load,"
               "SE\n"
               ",,1,2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,2024-01-01T00:10:00Z,200,mw,load,"
               "SE\n"
               "\n"
               "#group,false,false,true,true,false,false,true,true,true\n"
               "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,string,"
               "string,string,string\n"
               "#default,_result,,,,,,,,\n"
               ",result,table,_start,_stop,_time,_value,_field,_measurement,subsystem\n"
               ",,2,2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,2024-01-01T00:00:00Z,"
               "\"a,b \"\"q\"\"\",msg,status,SE\n"
               "\n"
               "#group,false,false,true,true,false,false,true,true,true\n"
               "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,boolean,"
               "string,string,string\n"
               "#default,_result,,,,,,,,\n"
               ",result,table,_start,_stop,_time,_value,_field,_measurement,subsystem\n"
               ",,3,2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,2024-01-01T00:00:00Z,true,ok,"
               "status,SE\n"
               "\n");
}

/* Two yields -> two results, in program order; a variable holds the shared source. */
static void test_multiple_yields(void **state)
{
    expect_csv(state,
               "data = from(bucket:\"ons\") |> range(start: 2024-01-01T00:00:00Z, stop: "
               "2024-01-02T00:00:00Z)\n"
               "data |> filter(fn: (r) => r.subsystem == \"S\") |> count() |> yield(name: \"n\")\n"
               "data |> filter(fn: (r) => r.subsystem == \"S\") |> max() |> yield(name: \"top\")\n",
               false,
               ",result,table,_start,_stop,_field,_measurement,source,subsystem,_value\n"
               ",n,0,2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,value,generation,wind,S,2\n"
               "\n"
               ",result,table,_start,_stop,_time,_value,_field,_measurement,source,subsystem\n"
               ",top,0,2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,2024-01-01T00:02:00Z,7.5,value,"
               "generation,wind,S\n"
               "\n");
}

static void test_map_keep(void **state)
{
    expect_csv(state,
               "from(bucket:\"misc\") |> range(start: 2024-01-01T00:00:00Z, stop: "
               "2024-01-02T00:00:00Z)\n"
               "  |> filter(fn: (r) => r._measurement == \"load\")\n"
               "  |> map(fn: (r) => ({r with _value: float(v: r._value) / 2.0, note: "
               "\"mw=${r._value}\"}))\n"
               "  |> keep(columns: [\"_time\", \"_value\", \"subsystem\", \"note\"])",
               true,
               "#group,false,false,false,false,true,false\n"
               "#datatype,string,long,dateTime:RFC3339,double,string,string\n"
               "#default,_result,,,,,\n"
               ",result,table,_time,_value,subsystem,note\n"
               ",,0,2024-01-01T00:00:00Z,25,S,mw=50\n"
               ",,1,2024-01-01T00:00:00Z,50,SE,mw=100\n"
               ",,1,2024-01-01T00:10:00Z,100,SE,mw=200\n"
               "\n");
}

static void test_pivot_fields_as_cols(void **state)
{
    const char *want =
        "#group,false,false,true,true,true,true,false,false,false\n"
        "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,string,string,dateTime:RFC3339,"
        "string,boolean\n"
        "#default,_result,,,,,,,,\n"
        ",result,table,_start,_stop,_measurement,subsystem,_time,msg,ok\n"
        ",,0,2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,status,SE,2024-01-01T00:00:00Z,"
        "\"a,b \"\"q\"\"\",true\n"
        "\n";
    expect_csv(state,
               "import \"influxdata/influxdb/schema\"\n"
               "from(bucket:\"misc\") |> range(start: 2024-01-01T00:00:00Z, stop: "
               "2024-01-02T00:00:00Z)\n"
               "  |> filter(fn: (r) => r._measurement == \"status\") |> schema.fieldsAsCols()",
               true, want);
    expect_csv(state,
               "from(bucket:\"misc/autogen\") |> range(start: 2024-01-01T00:00:00Z, stop: "
               "2024-01-02T00:00:00Z)\n"
               "  |> filter(fn: (r) => r._measurement == \"status\")\n"
               "  |> pivot(rowKey: [\"_time\"], columnKey: [\"_field\"], valueColumn: \"_value\")",
               true, want);
}

static void test_window_count(void **state)
{
    expect_csv(state,
               "from(bucket:\"ons\") |> range(start: 2024-01-01T00:00:00Z, stop: "
               "2024-01-01T00:12:00Z)\n"
               "  |> filter(fn: (r) => r.source =~ /^hy/) |> window(every: 5m) |> count()",
               false,
               ",result,table,_start,_stop,_field,_measurement,source,subsystem,_value\n"
               ",_result,0,2024-01-01T00:00:00Z,2024-01-01T00:05:00Z,value,generation,hydro,SE,2\n"
               ",_result,1,2024-01-01T00:05:00Z,2024-01-01T00:10:00Z,value,generation,hydro,SE,1\n"
               ",_result,2,2024-01-01T00:10:00Z,2024-01-01T00:12:00Z,value,generation,hydro,SE,1\n"
               "\n");
}

static void test_create_empty_count(void **state)
{
    expect_csv(state,
               "from(bucket:\"ons\") |> range(start: 2024-01-01T00:00:00Z, stop: "
               "2024-01-01T00:15:00Z)\n"
               "  |> filter(fn: (r) => r.source == \"wind\") |> aggregateWindow(every: 5m, fn: "
               "count)",
               false,
               ",result,table,_start,_stop,_time,_value,_field,_measurement,source,subsystem\n"
               ",_result,0,2024-01-01T00:00:00Z,2024-01-01T00:15:00Z,2024-01-01T00:05:00Z,2,"
               "value,generation,wind,S\n"
               ",_result,0,2024-01-01T00:00:00Z,2024-01-01T00:15:00Z,2024-01-01T00:10:00Z,0,"
               "value,generation,wind,S\n"
               ",_result,0,2024-01-01T00:00:00Z,2024-01-01T00:15:00Z,2024-01-01T00:15:00Z,0,"
               "value,generation,wind,S\n"
               "\n");
    /* mean of an empty window is null (an empty field) */
    expect_csv(state,
               "from(bucket:\"ons\") |> range(start: 2024-01-01T00:00:00Z, stop: "
               "2024-01-01T00:10:00Z)\n"
               "  |> filter(fn: (r) => r.source == \"wind\") |> aggregateWindow(every: 5m, fn: "
               "mean) |> keep(columns: [\"_time\", \"_value\"])",
               false,
               ",result,table,_time,_value\n"
               ",_result,0,2024-01-01T00:05:00Z,6.25\n"
               ",_result,0,2024-01-01T00:10:00Z,\n"
               "\n");
}

static void test_calendar_months(void **state)
{
    expect_csv(state,
               "from(bucket:\"cal\") |> range(start: 2024-01-10T00:00:00Z, stop: "
               "2024-03-10T00:00:00Z)\n  |> aggregateWindow(every: 1mo, fn: sum)",
               false,
               ",result,table,_start,_stop,_time,_value,_field,_measurement\n"
               ",_result,0,2024-01-10T00:00:00Z,2024-03-10T00:00:00Z,2024-02-01T00:00:00Z,1,v,m\n"
               ",_result,0,2024-01-10T00:00:00Z,2024-03-10T00:00:00Z,2024-03-01T00:00:00Z,2,v,m\n"
               ",_result,0,2024-01-10T00:00:00Z,2024-03-10T00:00:00Z,2024-03-10T00:00:00Z,1,v,m\n"
               "\n");
}

static void test_group_sort_limit_rename(void **state)
{
    expect_csv(state,
               "from(bucket:\"ons\") |> range(start: 2024-01-01T00:00:00Z, stop: "
               "2024-01-02T00:00:00Z)\n"
               "  |> group() |> sort(columns: [\"_value\"], desc: true) |> limit(n: 2, offset: 1)\n"
               "  |> duplicate(column: \"_value\", as: \"v2\") |> rename(columns: {source: "
               "\"src\"})\n"
               "  |> drop(columns: [\"_start\", \"_stop\", \"_measurement\", \"_field\"])",
               true,
               "#group,false,false,false,false,false,false,false\n"
               "#datatype,string,long,dateTime:RFC3339,double,string,string,double\n"
               "#default,_result,,,,,,\n"
               ",result,table,_time,_value,src,subsystem,v2\n"
               ",,0,2024-01-01T00:05:00Z,30,hydro,SE,30\n"
               ",,0,2024-01-01T00:01:00Z,20,hydro,SE,20\n"
               "\n");
    /* mode: "except" keeps every other column in the key */
    expect_csv(state,
               "from(bucket:\"ons\") |> range(start: 2024-01-01T00:00:00Z, stop: "
               "2024-01-02T00:00:00Z)\n"
               "  |> group(columns: [\"_time\", \"_value\", \"source\"], mode: \"except\") |> "
               "median()",
               false,
               ",result,table,_start,_stop,_field,_measurement,subsystem,_value\n"
               ",_result,0,2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,value,generation,S,6.25\n"
               ",_result,1,2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,value,generation,SE,25\n"
               "\n");
}

static void test_selectors(void **state)
{
    expect_csv(state,
               "from(bucket:\"ons\") |> range(start: 2024-01-01T00:00:00Z, stop: "
               "2024-01-02T00:00:00Z)\n"
               "  |> filter(fn: (r) => r.source == \"hydro\" and r._value > 15.0 and not "
               "(r._value == 40.0))\n"
               "  |> min() |> keep(columns: [\"_time\", \"_value\"])",
               false,
               ",result,table,_time,_value\n"
               ",_result,0,2024-01-01T00:01:00Z,20\n"
               "\n");
    expect_csv(state,
               "from(bucket:\"ons\") |> range(start: 2024-01-01T00:00:00Z, stop: "
               "2024-01-02T00:00:00Z)\n"
               "  |> first() |> keep(columns: [\"_time\", \"_value\", \"source\"])",
               false,
               ",result,table,_time,_value,source\n"
               ",_result,0,2024-01-01T00:00:00Z,10,hydro\n"
               ",_result,1,2024-01-01T00:00:00Z,5,wind\n"
               "\n");
}

/* Pushed-down filters (right after from/range) give the same rows as the same filters
 * evaluated per row later in the pipeline. */
static void test_pushdown_equivalence(void **state)
{
    static const char *const preds[] = {
        "r._measurement == \"generation\" and r.subsystem == \"SE\"",
        "r.source !~ /dr/ or r._field == \"mw\"",
        "not (r.subsystem == \"S\")",
        "exists r.source and r._field == \"value\"",
        "r.nosuchtag == \"x\"",
        "r._measurement =~ /^(load|status)$/",
    };
    for (size_t i = 0; i < sizeof preds / sizeof *preds; i++) {
        for (int db = 0; db < 2; db++) {
            char q1[512], q2[512];
            const char *b = db ? "misc" : "ons";
            snprintf(q1, sizeof q1,
                     "from(bucket:\"%s\") |> range(start: 2024-01-01T00:00:00Z, stop: "
                     "2024-01-02T00:00:00Z) |> filter(fn: (r) => %s)",
                     b, preds[i]);
            snprintf(q2, sizeof q2,
                     "from(bucket:\"%s\") |> range(start: 2024-01-01T00:00:00Z, stop: "
                     "2024-01-02T00:00:00Z) |> limit(n: 100) |> filter(fn: (r) => %s)",
                     b, preds[i]);
            flux_exec_error fe;
            char *a = run_opts(state, q1, true, &fe);
            if (!a)
                fail_msg("%s: %s", q1, fe.msg);
            char *c = run_opts(state, q2, true, &fe);
            if (!c)
                fail_msg("%s: %s", q2, fe.msg);
            if (strcmp(a, c) != 0)
                fail_msg("pushdown differs for %s on %s:\n%s\nvs\n%s", preds[i], b, a, c);
            free(a);
            free(c);
        }
    }
    /* nothing matches: an empty body */
    expect_csv(state,
               "from(bucket:\"misc\") |> range(start: 2024-01-01T00:00:00Z, stop: "
               "2024-01-02T00:00:00Z) |> filter(fn: (r) => exists r.source)",
               true, "");
}

static void test_errors(void **state)
{
    expect_error(state, "from(bucket:\"ons\") |> range(start: -1h", 400, "invalid",
                 "compilation failed: error @1:23-1:39: expected RPAREN, got EOF");
    expect_error(state, "from(bucket:\"nope\") |> range(start: -1h)", 404, "not found",
                 "failed to initialize execute state: could not find bucket \"nope\"");
    expect_error(state, "from(bucket:\"ons/weekly\") |> range(start: -1h)", 404, "not found",
                 "failed to initialize execute state: could not find bucket \"ons/weekly\"");
    expect_error(state, "from(bucket:\"ons\") |> sum()", 400, "invalid",
                 "cannot submit unbounded read to \"ons\"; try bounding 'from' with a call to "
                 "'range'");
    expect_error(state, "from(bucket:\"ons\") |> range(start: -1h) |> foo()", 400, "invalid",
                 "compilation failed: error @1:44-1:47: undefined identifier foo");
    expect_error(state, "from(bucket:\"ons\") |> range()", 400, "invalid",
                 "compilation failed: error @1:23-1:30: missing required argument start");
    expect_error(state,
                 "from(bucket:\"misc\") |> range(start: 2024-01-01T00:00:00Z) |> filter(fn: "
                 "(r) => r._field == \"ok\") |> mean()",
                 400, "invalid",
                 "error calling function \"mean\" @1:101-1:107: unsupported input type for mean "
                 "aggregate: bool");
    expect_error(state, "x = 1", 400, "invalid", "no streaming data");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runbook_aggregate_window),
        cmocka_unit_test(test_runbook_group_sum),
        cmocka_unit_test(test_runbook_last),
        cmocka_unit_test(test_runbook_duplicate_needs_as),
        cmocka_unit_test(test_no_annotations),
        cmocka_unit_test(test_schemas_and_types),
        cmocka_unit_test(test_multiple_yields),
        cmocka_unit_test(test_map_keep),
        cmocka_unit_test(test_pivot_fields_as_cols),
        cmocka_unit_test(test_window_count),
        cmocka_unit_test(test_create_empty_count),
        cmocka_unit_test(test_calendar_months),
        cmocka_unit_test(test_group_sort_limit_rename),
        cmocka_unit_test(test_selectors),
        cmocka_unit_test(test_pushdown_equivalence),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
