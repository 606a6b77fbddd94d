/*
 * Unit tests of the InfluxQL executor (query/influxql_exec.h) over a real node:
 *   - results computed independently in the test (counts, sums, means per window) match;
 *   - the same queries give byte-identical JSON with the data in the memtable, flushed to
 *     segments, and compacted — and once flushed, count/sum/mean use block pre-aggregates;
 *   - selectors (first/last/min/max/top/bottom) answered from block statistics (format v4) or
 *     by skipping blocks (v3 files, rewritten here) give the memtable's exact JSON;
 *   - a corrupt block makes the query fail with an error naming file and block, never data;
 *   - GROUP BY time() with tz(): the windows found by probing window ends and zone changes are
 *     every window a fine scan finds (zones with DST, half-hour DST, a 15-minute offset change),
 *     and a century of windows is enumerated without scanning it.
 * Differential tests against a real InfluxDB are in tests/e2e/test_influxql_diff.py.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "core/node.h"
#include "engine/segment.h"
#include "query/influxql_exec.h"
#include "query/influxql_parser.h"
#include "query/result.h"
#include "query/select_int.h"

#define T0 INT64_C(1700000000000000000) /* 2023-11-14T22:13:20Z */
#define NPTS 20000               /* per series: several blocks of 4096 */
#define STEP INT64_C(60000000000)      /* 1 minute */

static char *make_tmpdir(void)
{
    char tmpl[] = "/tmp/volta-test-qexec-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static void rm_rf(char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

static node *open_node(const char *dir)
{
    node_options o;
    node_options_default(&o);
    o.engine.background = false;
    o.journal.fsync = JOURNAL_FSYNC_NEVER;
    node *n = NULL;
    vt_err err;
    vt_err_clear(&err);
    if (node_open(dir, &o, &n, NULL, &err) != VT_OK)
        fail_msg("node_open: %s", err.msg);
    return n;
}

/* value of series s at point i: integers, so sums are exact in double */
static double value_at(int s, int i)
{
    return (double)((i * 7 + s * 13) % 101) - 20.0;
}

static void load(node *n)
{
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(node_create_db(n, "db", &err), VT_OK);
    vt_buf b;
    vt_buf_init(&b);
    for (int s = 0; s < 3; s++) {
        for (int i = 0; i < NPTS; i++)
            vt_buf_printf(&b, "m,host=h%d v=%g %" PRId64 "\n", s, value_at(s, i), (int64_t)(T0 + (int64_t)i * STEP));
        node_write_result res;
        memset(&res, 0, sizeof res);
        vt_rc rc = node_write(n, "db", "", LP_PRECISION_NS, 0, (const char *)b.data, b.len, &res, &err);
        if (rc != VT_OK)
            fail_msg("node_write: %s %s", err.msg, res.error);
        vt_buf_reset(&b);
    }
    vt_buf_free(&b);
}

/* Runs q on db; returns the JSON text (caller frees) and fills stats. */
static char *run(node *n, const char *q, iql_stats *stats)
{
    arena *a = arena_new(0);
    assert_non_null(a);
    influxql_query *parsed = NULL;
    influxql_error perr;
    memset(&perr, 0, sizeof perr);
    if (influxql_parse(a, q, strlen(q), NULL, &parsed, &perr) != VT_OK)
        fail_msg("parse %s: %s", q, perr.msg);
    qr_options opt = {.format = QR_JSON, .epoch_div = 1};
    qr_writer w;
    qr_init(&w, &opt);
    iql_env env = {.node = n, .db = "db", .rp = "", .now = T0 + (int64_t)NPTS * STEP, .stats = stats};
    qr_begin(&w);
    assert_int_equal(iql_execute(&env, parsed, &w), VT_OK);
    qr_end(&w);
    char *out = strndup((const char *)w.out.data, w.out.len);
    qr_free(&w);
    arena_free(a);
    return out;
}

static json_t *values_of(const char *text, size_t series)
{
    json_error_t je;
    json_t *doc = json_loads(text, 0, &je);
    if (!doc)
        fail_msg("bad JSON %s: %s", text, je.text);
    json_t *vals = json_object_get(
        json_array_get(json_object_get(json_array_get(json_object_get(doc, "results"), 0), "series"), series),
        "values");
    if (!vals)
        fail_msg("no values in %s", text);
    json_incref(vals);
    json_decref(doc);
    return vals;
}

static const char *const queries[] = {
    "SELECT count(v), sum(v), mean(v) FROM m",
    "SELECT count(v), sum(v) FROM m GROUP BY host",
    "SELECT sum(v), count(v) FROM m WHERE time >= 1700000000000000000 AND time < 1701000000000000000 GROUP BY time(1d)",
    "SELECT max(v), min(v), first(v), last(v) FROM m GROUP BY host",
    "SELECT v FROM m WHERE host = 'h1' AND time >= 1700000600000000000 LIMIT 5",
    "SELECT spread(v), median(v) FROM m WHERE host =~ /h[02]/ GROUP BY time(7d) fill(none)",
};

static void test_results_independent(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    node *n = open_node(dir);
    load(n);
    /* count, sum, mean over all */
    double sum = 0;
    for (int s = 0; s < 3; s++)
        for (int i = 0; i < NPTS; i++)
            sum += value_at(s, i);
    char *out = run(n, queries[0], NULL);
    json_t *v = values_of(out, 0);
    json_t *row = json_array_get(v, 0);
    assert_int_equal(json_integer_value(json_array_get(row, 0)), 0); /* time 0: no lower bound */
    assert_int_equal(json_integer_value(json_array_get(row, 1)), 3 * NPTS);
    assert_true(json_number_value(json_array_get(row, 2)) == sum);
    assert_true(json_number_value(json_array_get(row, 3)) == sum / (3 * NPTS));
    json_decref(v);
    free(out);
    /* per day: window start times and counts */
    out = run(n, queries[2], NULL);
    v = values_of(out, 0);
    int64_t day = 86400000000000LL;
    int64_t first = T0 - T0 % day;
    assert_int_equal(json_integer_value(json_array_get(json_array_get(v, 0), 0)), first);
    int64_t pts0 = (first + day - T0 + STEP - 1) / STEP; /* points in the first (partial) day */
    assert_int_equal(json_integer_value(json_array_get(json_array_get(v, 0), 2)), 3 * pts0);
    assert_int_equal(json_integer_value(json_array_get(json_array_get(v, 1), 2)), 3 * 1440);
    json_decref(v);
    free(out);
    /* raw with LIMIT: the first 5 points of h1 from the bound */
    out = run(n, queries[4], NULL);
    v = values_of(out, 0);
    assert_int_equal(json_array_size(v), 5);
    for (int i = 0; i < 5; i++) {
        json_t *r = json_array_get(v, (size_t)i);
        assert_int_equal(json_integer_value(json_array_get(r, 0)), 1700000600000000000LL + i * STEP);
        assert_true(json_number_value(json_array_get(r, 1)) == value_at(1, 10 + i));
    }
    json_decref(v);
    free(out);
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(node_close(n, &err), VT_OK);
    rm_rf(dir);
}

static void test_memtable_segments_compacted_agree(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    node *n = open_node(dir);
    load(n);
    size_t nq = sizeof queries / sizeof queries[0];
    char *mem[8];
    for (size_t i = 0; i < nq; i++) {
        iql_stats st = {0};
        mem[i] = run(n, queries[i], &st);
        assert_int_equal(st.blocks_summarised, 0); /* nothing in segments yet */
    }
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(engine_flush(node_engine(n), &err), VT_OK);
    iql_stats st = {0};
    for (size_t i = 0; i < nq; i++) {
        char *seg = run(n, queries[i], &st);
        assert_string_equal(seg, mem[i]);
        free(seg);
    }
    assert_true(st.blocks_summarised > 0); /* count/sum/mean took whole blocks from the index */
    assert_int_equal(engine_compact(node_engine(n), &err), VT_OK);
    assert_int_equal(node_close(n, &err), VT_OK);
    n = open_node(dir);
    for (size_t i = 0; i < nq; i++) {
        char *cmp = run(n, queries[i], NULL);
        assert_string_equal(cmp, mem[i]);
        free(cmp);
        free(mem[i]);
    }
    assert_int_equal(node_close(n, &err), VT_OK);
    rm_rf(dir);
}

static void first_segment(const char *dir, char *out, size_t cap)
{
    char sdir[600];
    snprintf(sdir, sizeof sdir, "%s/engine/seg", dir);
    DIR *d = opendir(sdir);
    assert_non_null(d);
    struct dirent *de;
    out[0] = 0;
    while ((de = readdir(d)))
        if (strstr(de->d_name, ".vseg"))
            snprintf(out, cap, "%s/%s", sdir, de->d_name);
    closedir(d);
    assert_true(out[0] != 0);
}

static void test_corrupt_block_named(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    node *n = open_node(dir);
    load(n);
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(node_close(n, &err), VT_OK); /* flushes */
    char seg[800];
    first_segment(dir, seg, sizeof seg);
    seg_reader *sr = NULL;
    assert_int_equal(seg_open_file(seg, &sr, &err), VT_OK);
    off_t flip = (off_t)(sr->blocks[0].offset + sr->blocks[0].length / 2);
    seg_unref(sr);
    int fd = open(seg, O_RDWR);
    assert_true(fd >= 0);
    unsigned char byte;
    assert_int_equal(pread(fd, &byte, 1, flip), 1);
    byte ^= 0x20;
    assert_int_equal(pwrite(fd, &byte, 1, flip), 1);
    close(fd);
    n = open_node(dir);
    /* a raw read of every point must hit the bad block: an error naming it, no rows */
    char *out = run(n, "SELECT v FROM m", NULL);
    assert_non_null(strstr(out, "\"error\":\"segment "));
    assert_non_null(strstr(out, "block 0 at offset"));
    assert_null(strstr(out, "\"values\""));
    free(out);
    /* and it is counted (volta_corrupt_blocks_total in /metrics) */
    engine_stats st;
    memset(&st, 0, sizeof st);
    engine_get_stats(node_engine(n), &st);
    assert_true(st.corrupt_blocks >= 1);
    assert_int_equal(node_close(n, &err), VT_OK);
    rm_rf(dir);
}

/* Selector queries the block statistics answer (first/last/min/max/top/bottom), with windows
 * that cut blocks, ties between series (value_at repeats values) and several calls at once. */
static const char *const sel_queries[] = {
    "SELECT last(v) FROM m GROUP BY host",
    "SELECT first(v) FROM m WHERE time > 1700000600000000000",
    "SELECT max(v) FROM m",
    "SELECT min(v) FROM m WHERE host =~ /h[01]/",
    "SELECT max(v), min(v), first(v), last(v) FROM m GROUP BY host",
    "SELECT max(v) FROM m WHERE time >= 1700000000000000000 AND time < 1701000000000000000 GROUP BY time(1d)",
    "SELECT last(v) FROM m WHERE time >= 1700000000000000000 AND time < 1701000000000000000 GROUP BY time(2d), host",
    "SELECT top(v, host, 2) FROM m",
    "SELECT bottom(v, host, 3) FROM m WHERE time > 1700100000000000000",
    "SELECT top(v, 1) FROM m GROUP BY time(7d)",
    "SELECT bottom(v, 1) FROM m GROUP BY host",
    "SELECT top(v, 3) FROM m",
    "SELECT min(v) FROM m GROUP BY time(3d)",
    /* ranges that cut blocks at both ends: the cut blocks are skipped or read in part */
    "SELECT max(v) FROM m WHERE time >= 1700000600000000000 AND time < 1701000000000000000 GROUP BY host",
    "SELECT last(v) FROM m WHERE time < 1700500000000000000 GROUP BY host",
    "SELECT top(v, host, 1) FROM m WHERE time >= 1700000600000000000 AND time < 1700700000000000000",
};
#define NSEL (sizeof sel_queries / sizeof sel_queries[0])

/* Rewrites every segment of dir in format version 3 (no selector statistics), as an older
 * release wrote it. */
static void segments_to_v3(const char *dir)
{
    char sdir[600];
    snprintf(sdir, sizeof sdir, "%s/engine/seg", dir);
    DIR *d = opendir(sdir);
    assert_non_null(d);
    struct dirent *de;
    int rewritten = 0;
    while ((de = readdir(d))) {
        if (!strstr(de->d_name, ".vseg"))
            continue;
        char path[900];
        snprintf(path, sizeof path, "%s/%s", sdir, de->d_name);
        vt_err err;
        vt_err_clear(&err);
        seg_reader *r = NULL;
        assert_int_equal(seg_open_file(path, &r, &err), VT_OK);
        seg_writer w;
        if (seg_writer_begin_version(&w, path, r->segment_id, 1024, 3, &err) != VT_OK)
            fail_msg("v3 writer: %s", err.msg);
        for (size_t bi = 0; bi < r->nblocks; bi++)
            if (seg_writer_copy_block(&w, r, bi, &err) != VT_OK)
                fail_msg("copy block %zu: %s", bi, err.msg);
        seg_series_def *defs = calloc(r->nseries ? r->nseries : 1, sizeof *defs);
        assert_non_null(defs);
        for (size_t i = 0; i < r->nseries; i++)
            defs[i] = (seg_series_def){r->series[i].id, r->series[i].measurement,
                                       r->series[i].tags, r->series[i].ntags,
                                       r->series[i].fields, r->series[i].nfields};
        uint64_t bytes = 0;
        if (seg_writer_finish(&w, defs, r->nseries, &bytes, &err) != VT_OK)
            fail_msg("v3 finish: %s", err.msg);
        free(defs);
        seg_unref(r);
        r = NULL;
        assert_int_equal(seg_open_file(path, &r, &err), VT_OK);
        assert_true(r->nblocks > 0);
        assert_false(r->blocks[0].agg.has_selectors);
        seg_unref(r);
        rewritten++;
    }
    closedir(d);
    assert_true(rewritten > 0);
}

static void test_selectors_from_block_stats(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    node *n = open_node(dir);
    load(n);
    char *mem[NSEL];
    for (size_t i = 0; i < NSEL; i++)
        mem[i] = run(n, sel_queries[i], NULL);
    vt_err err;
    vt_err_clear(&err);
    /* version 4 segments: whole blocks answered from their selector statistics */
    assert_int_equal(engine_flush(node_engine(n), &err), VT_OK);
    for (size_t i = 0; i < NSEL; i++) {
        iql_stats st = {0};
        char *seg = run(n, sel_queries[i], &st);
        if (strcmp(seg, mem[i]) != 0)
            fail_msg("v4 %s:\n%s\nmemtable:\n%s", sel_queries[i], seg, mem[i]);
        if (i != 11) /* top(v, 3) without a tag needs every point */
            assert_true(st.blocks_summarised > 0);
        free(seg);
    }
    /* version 3 segments: min/max/top/bottom skip blocks, last() reads newest first */
    assert_int_equal(node_close(n, &err), VT_OK);
    segments_to_v3(dir);
    n = open_node(dir);
    for (size_t i = 0; i < NSEL; i++) {
        iql_stats st = {0};
        char *seg = run(n, sel_queries[i], &st);
        if (strcmp(seg, mem[i]) != 0)
            fail_msg("v3 %s:\n%s\nmemtable:\n%s", sel_queries[i], seg, mem[i]);
        if (i == 0 || i == 2 || i == 7 || i >= 13)
            assert_true(st.blocks_summarised > 0);
        free(seg);
        free(mem[i]);
    }
    assert_int_equal(node_close(n, &err), VT_OK);
    rm_rf(dir);
}

static void test_pretty_like_go(void **state)
{
    (void)state;
    const char *in = "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"a,b:c\",\"columns\":[\"t\"],"
                     "\"values\":[[0.1,-0,1e-7,\"x\\\"[,]\"]]}]},{\"statement_id\":1,\"series\":[]}]}";
    const char *want = "{\n"
                       "    \"results\": [\n"
                       "        {\n"
                       "            \"statement_id\": 0,\n"
                       "            \"series\": [\n"
                       "                {\n"
                       "                    \"name\": \"a,b:c\",\n"
                       "                    \"columns\": [\n"
                       "                        \"t\"\n"
                       "                    ],\n"
                       "                    \"values\": [\n"
                       "                        [\n"
                       "                            0.1,\n"
                       "                            -0,\n"
                       "                            1e-7,\n"
                       "                            \"x\\\"[,]\"\n"
                       "                        ]\n"
                       "                    ]\n"
                       "                }\n"
                       "            ]\n"
                       "        },\n"
                       "        {\n"
                       "            \"statement_id\": 1,\n"
                       "            \"series\": []\n"
                       "        }\n"
                       "    ]\n"
                       "}";
    vt_buf out;
    vt_buf_init(&out);
    assert_true(qr_json_pretty((const uint8_t *)in, strlen(in), &out));
    vt_buf_putc(&out, 0);
    assert_string_equal((const char *)out.data, want);
    vt_buf_free(&out);
    vt_buf_init(&out);
    assert_false(qr_json_pretty((const uint8_t *)"{\"a\":[1}", 9, &out)); /* unbalanced */
    vt_buf_free(&out);
}

/* Every distinct window start of [lo, hi], by a scan every `step` ns (the reference). */
static size_t windows_by_scan(const sel *q, int64_t lo, int64_t hi, int64_t step, int64_t *out,
                              size_t cap)
{
    size_t n = 0;
    for (int64_t t = lo; t <= hi; t += step) {
        int64_t s, e;
        sel_window(q, t, &s, &e);
        if (n == 0 || s > out[n - 1]) {
            assert_true(n < cap);
            out[n++] = s;
        }
    }
    return n;
}

/* The same, probing only where a window can change (what sel_make_windows does). */
static size_t windows_by_probe(const sel *q, int64_t lo, int64_t hi, int64_t *out, size_t cap)
{
    size_t n = 0;
    int64_t s, e;
    sel_window(q, lo, &s, &e);
    out[n++] = s;
    for (int64_t t = lo;;) {
        t = sel_window_next(q, t, e);
        if (t > hi)
            break;
        sel_window(q, t, &s, &e);
        if (s > out[n - 1]) {
            assert_true(n < cap);
            out[n++] = s;
        }
    }
    return n;
}

static void test_tz_windows_probe_finds_every_window(void **state)
{
    (void)state;
    const struct {
        const char *zone;
        int64_t from; /* 14 months from here */
    } zones[] = {
        {"America/Sao_Paulo", INT64_C(1514764800)},  /* 2018: DST ends Feb, starts Nov at 00:00 */
        {"Australia/Lord_Howe", INT64_C(1514764800)}, /* half-hour DST */
        {"Europe/London", INT64_C(1514764800)},
        {"Asia/Kathmandu", INT64_C(504921600)}, /* 1986-01-01: +5:30 -> +5:45 */
    };
    const int64_t H = INT64_C(3600000000000);
    const int64_t intervals[] = {H, 24 * H, 48 * H, 7 * 24 * H};
    const int64_t offsets[] = {0, H / 2};
    size_t cap = 20000;
    int64_t *a = malloc(cap * sizeof *a), *b = malloc(cap * sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
        vt_err err;
        vt_err_clear(&err);
        const vt_tz *tz = vt_tz_get(zones[z].zone, &err);
        if (!tz)
            fail_msg("%s: %s", zones[z].zone, err.msg);
        for (size_t i = 0; i < sizeof intervals / sizeof intervals[0]; i++) {
            for (size_t o = 0; o < 2; o++) {
                sel q;
                memset(&q, 0, sizeof q);
                q.group_time = true;
                q.interval = intervals[i];
                q.ioffset = offsets[o];
                q.tz = tz;
                int64_t lo = zones[z].from * 1000000000, hi = lo + 425 * 24 * H;
                /* offsets change by multiples of 15 minutes here and windows are >= 1 h long:
                 * a 5-minute scan sees every window */
                size_t na = windows_by_scan(&q, lo, hi, 5 * 60 * INT64_C(1000000000), a, cap);
                size_t nb = windows_by_probe(&q, lo, hi, b, cap);
                if (na != nb)
                    fail_msg("%s interval %" PRId64 " offset %" PRId64 ": %zu windows by scan, %zu by probe",
                             zones[z].zone, intervals[i], offsets[o], na, nb);
                for (size_t k = 0; k < na; k++)
                    if (a[k] != b[k])
                        fail_msg("%s interval %" PRId64 ": window %zu starts at %" PRId64 " by scan, %" PRId64 " by probe",
                                 zones[z].zone, intervals[i], k, a[k], b[k]);
            }
        }
    }
    free(a);
    free(b);
}

/* A century of 2-day windows in a zone with DST (found by fuzz/query: the old 15-minute scan
 * took seconds): sel_make_windows gives exactly the windows a 15-minute scan finds, and the
 * query counts every point once, in those windows. */
static void test_tz_windows_century(void **state)
{
    (void)state;
    const int64_t from = INT64_C(-1637179200000000000); /* 1918-02-14T04:00:00Z */
    const int64_t to = INT64_C(1701388800000000000);    /* 2023-12-01T00:00:00Z */
    vt_err err;
    vt_err_clear(&err);
    iql_env env = {.now = to};
    sel q;
    memset(&q, 0, sizeof q);
    q.env = &env;
    q.err = &err;
    q.group_time = true;
    q.interval = 48 * INT64_C(3600000000000);
    q.has_tmin = q.has_tmax = true;
    q.tmin = q.read_tmin = from;
    q.tmax = to - 1;
    q.tz = vt_tz_get("America/Sao_Paulo", &err);
    assert_non_null(q.tz);
    sel_win w;
    memset(&w, 0, sizeof w);
    assert_int_equal(sel_make_windows(&q, &w), VT_OK);
    size_t cap = 40000;
    int64_t *want = malloc(cap * sizeof *want);
    assert_non_null(want);
    size_t nwant = windows_by_scan(&q, from, to - 1, 900 * INT64_C(1000000000), want, cap);
    assert_in_range(nwant, 19000, 19500); /* 38,277 days */
    assert_int_equal(w.n, nwant);
    for (size_t i = 0; i < nwant; i++)
        assert_true(w.start[i] == want[i]);

    char *dir = make_tmpdir();
    node *n = open_node(dir);
    load(n);
    char *out = run(n, "SELECT count(v) FROM m WHERE time >= '1918-02-14T04:00:00Z' AND "
                       "time < '2023-12-01T00:00:00Z' GROUP BY time(2d) fill(none) "
                       "tz('America/Sao_Paulo')",
                    NULL);
    json_t *vals = values_of(out, 0);
    int64_t total = 0;
    size_t k = 0;
    for (size_t i = 0; i < json_array_size(vals); i++) {
        json_t *row = json_array_get(vals, i);
        int64_t t = (int64_t)json_integer_value(json_array_get(row, 0));
        while (k < w.n && w.start[k] < t)
            k++;
        assert_true(k < w.n && w.start[k] == t); /* a window start, in increasing order */
        total += (int64_t)json_integer_value(json_array_get(row, 1));
    }
    assert_int_equal(total, 3 * NPTS);
    json_decref(vals);
    free(out);
    free(want);
    free(w.start);
    assert_int_equal(node_close(n, &err), VT_OK);
    rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pretty_like_go),
        cmocka_unit_test(test_results_independent),
        cmocka_unit_test(test_memtable_segments_compacted_agree),
        cmocka_unit_test(test_corrupt_block_named),
        cmocka_unit_test(test_selectors_from_block_stats),
        cmocka_unit_test(test_tz_windows_probe_finds_every_window),
        cmocka_unit_test(test_tz_windows_century),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
