/*
 * tests/unit/test_check.c — covers src/ops/check.c (the checks of `volta check`).
 *
 * In-process: nodes and meta.db in temp directories. Checked: real ONS data (loaded through the
 * ledger) passes every check; a bit flip in a segment file fails checksums naming file and block
 * (and a read of it fails naming them too); a segment written with a duplicate timestamp (by the
 * segment writer, which trusts its caller) fails timestamps_duplicados naming file, block,
 * series and time, and one with overlapping blocks of a column too; 200 zero loads fail
 * valores_nulos at tolerance 100 and pass at 1000, missing hours are counted; an hour deleted
 * after a load fails consistencia_dados naming that hour, no ledger row is ERRO; a native backup
 * that diverges by one point fails backends_consistentes naming the series and hour.
 * consistencia_dados against the loader's exact histograms (meta.db v4): an LP file whose hours
 * hold different numbers of points (10 in hour A, 2 in hour B: the old even spread would flag B)
 * passes, fails when hour A loses half and when hour B is deleted, naming measurement and hour;
 * a refused line and a second measurement (escaped name, no timestamp) are counted exactly; a
 * changed file's reload replaces its histogram; ledger rows of a v3 meta.db are estimated.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/backend.h"
#include "core/node.h"
#include "engine/engine.h"
#include "engine/segment.h"
#include "ingest/loader.h"
#include "meta/meta.h"
#include "ops/check.h"
#include "query/influxql_exec.h"

#include <sqlite3.h>

#define HOUR INT64_C(3600000000000)
#define T0 INT64_C(1704078000000000000) /* 2024-01-01T03:00:00Z */

static char *make_tmpdir(void)
{
    char tmpl[] = "/tmp/volta-check-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static void rm_rf(const char *path)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    assert_int_equal(system(cmd), 0);
}

static node *open_node(const char *dir)
{
    node_options o;
    node_options_default(&o);
    o.journal.fsync = JOURNAL_FSYNC_NEVER;
    o.retention = false;
    node *n = NULL;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = node_open(dir, &o, &n, NULL, &err);
    if (rc != VT_OK)
        fail_msg("node_open %s: %s", dir, err.msg);
    vt_err_clear(&err);
    assert_int_equal(node_create_db(n, "ons", &err), VT_OK);
    return n;
}

static void write_lp(node *n, const char *lp)
{
    node_write_result res;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = node_write(n, "ons", "", LP_PRECISION_NS, 0, lp, strlen(lp), &res, &err);
    if (rc != VT_OK)
        fail_msg("node_write: %s (%s)", err.msg, res.error);
}

static bool has_item(const check_result *r, const char *a, const char *b)
{
    for (size_t i = 0; i < r->nitems; i++)
        if (strstr(r->items[i], a) && (!b || strstr(r->items[i], b)))
            return true;
    return false;
}

static void dump(const check_result *r)
{
    printf("# %s: %d %s\n", r->name, (int)r->status, r->details);
    for (size_t i = 0; i < r->nitems && i < 10; i++)
        printf("#    %s\n", r->items[i]);
}

/* hourly load points for 4 subsystems over hours [0, hours) */
static void write_load(node *n, int hours, double value)
{
    vt_buf b;
    vt_buf_init(&b);
    static const char *const subs[] = {"N", "NE", "S", "SE"};
    for (int h = 0; h < hours; h++)
        for (int s = 0; s < 4; s++)
            vt_buf_printf(&b, "load,subsystem=%s value=%g %" PRId64 "\n", subs[s],
                          value + s + h, T0 + h * HOUR);
    write_lp(n, vt_buf_cstr(&b));
    vt_buf_free(&b);
}

/* ---- healthy real data ---- */

static void test_healthy_ons(void **state)
{
    (void)state;
    char path[600];
    snprintf(path, sizeof path, "%s/ons/CURVA_CARGA_2024.csv", VOLTA_SHARED_DATA);
    char gen[600], inter[600];
    snprintf(gen, sizeof gen, "%s/ons/GERACAO_USINA-2_2021_01_first2hours.csv", VOLTA_SHARED_DATA);
    snprintf(inter, sizeof inter, "%s/ons/intercambio_nacional_sample.csv", VOLTA_SHARED_DATA);
    if (access(path, R_OK) != 0) {
        printf("# skipped: %s absent\n", path);
        skip();
    }
    char *dir = make_tmpdir();
    node *n = open_node(dir);
    char mp[700];
    snprintf(mp, sizeof mp, "%s/meta.db", dir);
    meta *m = NULL;
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(meta_open(mp, &m, &err), VT_OK);
    const char *files[] = {path, gen, inter};
    for (size_t i = 0; i < 3; i++) {
        if (access(files[i], R_OK) != 0)
            continue;
        loader_options lo = {.database = "ons"};
        load_result lr;
        assert_int_equal(loader_load_file(n, m, files[i], files[i], &lo, &lr, &err), VT_OK);
        assert_int_equal(lr.outcome, LOAD_LOADED);
    }
    assert_int_equal(engine_flush(node_engine(n), &err), VT_OK);
    check_options o;
    check_options_default(&o);
    o.node = n;
    o.meta = m;
    o.data_dir = dir;
    check_report rep;
    check_run(&o, &rep);
    for (size_t i = 0; i < rep.n; i++) {
        dump(&rep.results[i]);
        assert_int_equal(rep.results[i].status, CHECK_PASS);
    }
    assert_int_equal(rep.n, 5);
    assert_int_equal(check_report_exit_code(&rep), 0);
    vt_buf t;
    vt_buf_init(&t);
    check_report_text(&rep, true, &t);
    assert_non_null(strstr(vt_buf_cstr(&t), "✓ timestamps_duplicados: PASSOU - "));
    assert_non_null(strstr(vt_buf_cstr(&t), "5 passed, 0 failed, 0 errors\n"));
    vt_buf_reset(&t);
    check_report_json(&rep, &t);
    assert_non_null(strstr(vt_buf_cstr(&t), "\"exit_code\":0"));
    vt_buf_free(&t);
    check_report_free(&rep);
    meta_close(m);
    node_close(n, &err);
    rm_rf(dir);
    free(dir);
}

/* ---- checksums ---- */

static bool first_segment(const char *dir, char *out, size_t cap)
{
    char sd[600];
    snprintf(sd, sizeof sd, "%s/engine/seg", dir);
    DIR *d = opendir(sd);
    struct dirent *de;
    bool found = false;
    while (d && (de = readdir(d)) != NULL)
        if (strstr(de->d_name, ".vseg") && !found) {
            snprintf(out, cap, "%s/%s", sd, de->d_name);
            found = true;
        }
    if (d)
        closedir(d);
    return found;
}

static void test_bit_flip(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    node *n = open_node(dir);
    write_load(n, 48, 1000);
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(node_close(n, &err), VT_OK);
    char seg[900];
    assert_true(first_segment(dir, seg, sizeof seg));
    check_options o;
    check_options_default(&o);
    o.data_dir = dir;
    check_result r;
    check_checksums(&o, &r);
    assert_int_equal(r.status, CHECK_PASS);
    check_result_free(&r);
    int fd = open(seg, O_RDWR);
    assert_true(fd >= 0);
    uint8_t byte;
    assert_int_equal(pread(fd, &byte, 1, 24), 1);
    byte ^= 0x10;
    assert_int_equal(pwrite(fd, &byte, 1, 24), 1);
    close(fd);
    check_checksums(&o, &r);
    dump(&r);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_true(has_item(&r, seg, "block 0"));
    check_result_free(&r);
    /* a query reading it fails naming file and block */
    n = open_node(dir);
    uint64_t *ids = NULL;
    size_t nids = 0;
    assert_int_equal(engine_series_of_measurement(node_engine(n), "ons", "load", &ids, &nids, &err),
                     VT_OK);
    assert_true(nids > 0);
    vt_err_clear(&err);
    assert_int_equal(engine_read(node_engine(n), "ons", ids[0], "value", INT64_MIN, INT64_MAX,
                                 NULL, NULL, &err),
                     VT_ECORRUPT);
    assert_non_null(strstr(err.msg, seg));
    assert_non_null(strstr(err.msg, "block 0"));
    free(ids);
    /* the whole report: checksums FALHA, exit 1 */
    o.node = n;
    o.checks = CHECK_CHECKSUMS | CHECK_DUPLICATES;
    check_report rep;
    check_run(&o, &rep);
    assert_int_equal(rep.results[0].status, CHECK_FAIL);
    assert_int_equal(check_report_exit_code(&rep), 1);
    check_report_free(&rep);
    node_close(n, &err);
    rm_rf(dir);
    free(dir);
}

/* ---- duplicates inside a segment ---- */

static void write_dup_segment(const char *path, size_t block_points, const int64_t *ts, size_t n)
{
    seg_writer w;
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(seg_writer_begin(&w, path, 999, block_points, &err), VT_OK);
    seg_col c;
    seg_col_init(&c, VT_TYPE_FLOAT);
    for (size_t i = 0; i < n; i++) {
        double v = 10.0 + (double)i;
        seg_col_push(&c, ts[i], &v);
    }
    assert_int_equal(seg_writer_add(&w, 1, 0, &c, &err), VT_OK);
    seg_col_free(&c);
    vt_tag tag = {{"subsystem", 9}, {"N", 1}};
    seg_field_def f = {{"value", 5}, VT_TYPE_FLOAT};
    seg_series_def s = {1, {"load", 4}, &tag, 1, &f, 1};
    uint64_t bytes;
    if (seg_writer_finish(&w, &s, 1, &bytes, &err) != VT_OK)
        fail_msg("seg_writer_finish: %s", err.msg);
}

static void test_segment_duplicate(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char segdir[600], p1[700], p2[700];
    snprintf(segdir, sizeof segdir, "%s/engine/seg", dir);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", segdir);
    assert_int_equal(system(cmd), 0);
    const int64_t ts[] = {T0, T0 + HOUR, T0 + HOUR, T0 + 2 * HOUR};
    /* one block holding T0+1h twice */
    snprintf(p1, sizeof p1, "%s/1-999.vseg", segdir);
    write_dup_segment(p1, 1024, ts, 4);
    seg_reader *seg = NULL;
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(seg_open_file(p1, &seg, &err), VT_OK);
    check_result r;
    check_result_init(&r, "timestamps_duplicados");
    uint64_t unreadable = 0, blocks = 0;
    assert_int_equal(check_segment_times(seg, INT64_MIN, INT64_MAX, &r, &unreadable, &blocks), 1);
    dump(&r);
    assert_true(has_item(&r, "block 0", "load,subsystem=N field value: time 2024-01-01T04:00:00Z "
                                        "appears twice"));
    assert_int_equal(unreadable, 0);
    check_result_free(&r);
    /* outside the window: nothing decoded */
    check_result_init(&r, "timestamps_duplicados");
    assert_int_equal(check_segment_times(seg, T0 + 3 * HOUR, INT64_MAX, &r, NULL, NULL), 0);
    check_result_free(&r);
    seg_unref(seg);
    /* two blocks of the column overlapping on T0+1h: refused by the structure check */
    snprintf(p2, sizeof p2, "%s/1-998.vseg", segdir);
    write_dup_segment(p2, 2, ts, 4);
    /* check_duplicates over the directory, on a live node elsewhere (the merged view is clean) */
    char *dir2 = make_tmpdir();
    node *n = open_node(dir2);
    write_load(n, 3, 5);
    check_options o;
    check_options_default(&o);
    o.node = n;
    o.data_dir = dir;
    check_duplicates(&o, &r);
    dump(&r);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_true(has_item(&r, p1, "appears twice"));
    assert_true(has_item(&r, p2, "out of order"));
    check_result_free(&r);
    o.data_dir = dir2;
    check_duplicates(&o, &r);
    assert_int_equal(r.status, CHECK_PASS);
    check_result_free(&r);
    node_close(n, &err);
    rm_rf(dir);
    rm_rf(dir2);
    free(dir);
    free(dir2);
}

/* ---- missing and zero values ---- */

static void test_zero_values(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    node *n = open_node(dir);
    write_load(n, 10, 100);
    vt_buf b;
    vt_buf_init(&b);
    for (int i = 0; i < 200; i++)
        vt_buf_printf(&b, "load,subsystem=SIN value=0 %" PRId64 "\n", T0 - (200 - i) * HOUR);
    write_lp(n, vt_buf_cstr(&b));
    vt_buf_free(&b);
    /* generation at 0 is legitimate (solar at night): not counted by default */
    write_lp(n, "generation,plant=Solar value=0 1704078000000000000\n"
                "generation,plant=Solar value=0 1704081600000000000\n");
    check_options o;
    check_options_default(&o);
    o.node = n;
    check_result r;
    check_nulls(&o, &r);
    dump(&r);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_non_null(strstr(r.details, "200 zero(s)"));
    assert_true(has_item(&r, "load,subsystem=SIN value", "200 zero(s)"));
    check_result_free(&r);
    o.tolerance = 1000;
    check_nulls(&o, &r);
    assert_int_equal(r.status, CHECK_PASS);
    check_result_free(&r);
    /* missing hours: subsystem N stops 5 hours before the others */
    vt_err err;
    vt_err_clear(&err);
    vt_buf q;
    vt_buf_init(&q);
    vt_buf_printf(&q, "DELETE FROM load WHERE subsystem='N' AND time >= %" PRId64, T0 + 5 * HOUR);
    assert_int_equal(iql_run_json(n, "ons", NULL, (const char *)q.data, q.len, 0, &q, &err), VT_OK);
    vt_buf_free(&q);
    o.tolerance = 100;
    o.start = T0;
    check_nulls(&o, &r);
    dump(&r);
    assert_int_equal(r.status, CHECK_PASS);
    assert_non_null(strstr(r.details, "5 bad value(s) (tolerance 100): 5 missing hour(s)"));
    assert_true(has_item(&r, "load,subsystem=N value: 5 missing hour(s) of 10", NULL));
    check_result_free(&r);
    o.tolerance = 4;
    check_nulls(&o, &r);
    assert_int_equal(r.status, CHECK_FAIL);
    check_result_free(&r);
    node_close(n, &err);
    rm_rf(dir);
    free(dir);
}

/* ---- points per hour against the ledger ---- */

static void test_consistency(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    node *n = open_node(dir);
    char mp[700], csv[700];
    snprintf(mp, sizeof mp, "%s/meta.db", dir);
    snprintf(csv, sizeof csv, "%s/CURVA_CARGA_2024.csv", dir);
    meta *m = NULL;
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(meta_open(mp, &m, &err), VT_OK);
    check_options o;
    check_options_default(&o);
    o.node = n;
    o.meta = m;
    check_result r;
    check_consistency(&o, &r);
    assert_int_equal(r.status, CHECK_ERROR);
    assert_non_null(strstr(r.details, "no ledger data in the window"));
    check_result_free(&r);
    FILE *f = fopen(csv, "w");
    assert_non_null(f);
    fputs("id_subsistema;nom_subsistema;din_instante;val_cargaenergiahomwmed\n", f);
    static const char *const subs[] = {"N", "NE", "S", "SE"};
    for (int h = 0; h < 12; h++)
        for (int s = 0; s < 4; s++)
            fprintf(f, "%s;X;2024-01-01 %02d:00:00;%d.5\n", subs[s], h, 1000 + h);
    fclose(f);
    loader_options lo = {.database = "ons"};
    load_result lr;
    assert_int_equal(loader_load_file(n, m, csv, csv, &lo, &lr, &err), VT_OK);
    assert_int_equal(lr.file.points, 48);
    check_consistency(&o, &r);
    dump(&r);
    assert_int_equal(r.status, CHECK_PASS);
    assert_non_null(strstr(r.details, "0 of 12 hour(s)"));
    check_result_free(&r);
    /* delete one hour (2024-01-01T08:00:00Z, local 05:00) */
    vt_buf q;
    vt_buf_init(&q);
    vt_buf_printf(&q, "DELETE FROM load WHERE time >= %" PRId64 " AND time < %" PRId64,
                  T0 + 5 * HOUR, T0 + 6 * HOUR);
    assert_int_equal(iql_run_json(n, "ons", NULL, (const char *)q.data, q.len, 0, &q, &err), VT_OK);
    vt_buf_free(&q);
    check_consistency(&o, &r);
    dump(&r);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_int_equal(r.items_total, 1);
    assert_true(has_item(&r, "load 2024-01-01T08:00:00Z: 0 point(s), 4.0 expected", NULL));
    check_result_free(&r);
    /* outside the window the missing hour does not count */
    o.start = T0 + 6 * HOUR;
    check_consistency(&o, &r);
    assert_int_equal(r.status, CHECK_PASS);
    assert_null(strstr(r.details, "estimated"));
    check_result_free(&r);
    /* a meta.db of schema v3 (no histograms): upgraded on open, its rows estimated */
    meta_close(m);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(mp, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "DROP TABLE file_hours; PRAGMA user_version = 3;", NULL,
                                  NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(meta_open(mp, &m, &err), VT_OK);
    assert_int_equal(meta_schema_version(m), 4);
    o.meta = m;
    o.start = INT64_MIN;
    check_consistency(&o, &r);
    dump(&r);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_true(has_item(&r, "load 2024-01-01T08:00:00Z: 0 point(s), 4.0 expected", NULL));
    assert_non_null(strstr(r.details, "1 file(s) estimated"));
    check_result_free(&r);
    meta_close(m);
    node_close(n, &err);
    rm_rf(dir);
    free(dir);
}

/* rows of a file's histogram as "measurement@hour=points;" (hours relative to T0) */
static bool collect_hours(void *ctx, const char *measurement, int64_t hour, uint64_t points)
{
    vt_buf *b = ctx;
    vt_buf_printf(b, "%s@%" PRId64 "=%" PRIu64 ";", measurement, hour - T0 / HOUR, points);
    return true;
}

static void expect_hours(meta *m, int64_t file_id, const char *want)
{
    vt_buf b;
    vt_buf_init(&b);
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(meta_hours_of_file(m, file_id, collect_hours, &b, &err), VT_OK);
    assert_string_equal(vt_buf_cstr(&b), want);
    vt_buf_free(&b);
}

static void delete_range(node *n, const char *measurement, int64_t t0, int64_t t1)
{
    vt_buf q;
    vt_buf_init(&q);
    vt_err err;
    vt_err_clear(&err);
    vt_buf_printf(&q, "DELETE FROM %s WHERE time >= %" PRId64 " AND time < %" PRId64,
                  measurement, t0, t1);
    assert_int_equal(iql_run_json(n, "ons", NULL, (const char *)q.data, q.len, 0, &q, &err), VT_OK);
    vt_buf_free(&q);
}

static void test_consistency_lp(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    node *n = open_node(dir);
    char mp[700], lp[700];
    snprintf(mp, sizeof mp, "%s/meta.db", dir);
    snprintf(lp, sizeof lp, "%s/plants.lp", dir);
    meta *m = NULL;
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(meta_open(mp, &m, &err), VT_OK);
    /* hour A (T0): 10 points of one series a minute apart; hour B: 2 series; another
     * measurement with an escaped space, a string with a space and an escaped quote, a CRLF
     * line, a comment and a blank line */
    FILE *f = fopen(lp, "w");
    assert_non_null(f);
    fputs("# plants\n\n", f);
    for (int i = 0; i < 10; i++)
        fprintf(f, "power,plant=a mw=%d.5 %" PRId64 "\n", 100 + i, T0 + i * 60 * INT64_C(1000000000));
    fprintf(f, "power,plant=a mw=1 %" PRId64 "\n", T0 + HOUR);
    fprintf(f, "power,plant=b mw=2,note=\"x \\\" 9\" %" PRId64 "\r\n", T0 + HOUR);
    fprintf(f, "temp\\ c,site=s v=1i %" PRId64 "\n", T0);
    fprintf(f, "  temp\\ c,site=s v=2i   %" PRId64 "  \n", T0 + 5);
    fclose(f);
    loader_options lo = {.database = "ons"};
    load_result lr;
    assert_int_equal(loader_load_file(n, m, lp, lp, &lo, &lr, &err), VT_OK);
    assert_int_equal(lr.outcome, LOAD_LOADED);
    assert_int_equal(lr.file.points, 14);
    assert_int_equal(lr.file.rows_rejected, 0);
    expect_hours(m, lr.file.id, "power@0=10;power@1=2;temp c@0=2;");
    /* a file with a line the parser refuses: not among the points the write journaled, so the
     * count stays exact */
    char lp2[700];
    snprintf(lp2, sizeof lp2, "%s/wind.lp", dir);
    f = fopen(lp2, "w");
    assert_non_null(f);
    fprintf(f, "wind,plant=z mw=1 %" PRId64 "\n", T0 + 3 * HOUR);
    fprintf(f, "wind,plant=z mw= %" PRId64 "\n", T0 + 3 * HOUR); /* refused: no value */
    fprintf(f, "wind,plant=z mw=2 %" PRId64 "\n", T0 + 3 * HOUR + 1);
    fclose(f);
    load_result lr2;
    assert_int_equal(loader_load_file(n, m, lp2, lp2, &lo, &lr2, &err), VT_OK);
    assert_int_equal(lr2.file.points, 2);
    assert_int_equal(lr2.file.rows_rejected, 1);
    expect_hours(m, lr2.file.id, "wind@3=2;");

    check_options o;
    check_options_default(&o);
    o.node = n;
    o.meta = m;
    check_result r;
    check_consistency(&o, &r);
    dump(&r);
    assert_int_equal(r.status, CHECK_PASS); /* the even spread (7 per hour) would flag hour B */
    assert_non_null(strstr(r.details, "0 of 4 hour(s) below ratio 0.90"));
    assert_non_null(strstr(r.details, "against 2 ledger file(s)"));
    assert_null(strstr(r.details, "estimated"));
    check_result_free(&r);

    /* hour A loses half of its points */
    delete_range(n, "power", T0, T0 + 5 * 60 * INT64_C(1000000000));
    check_consistency(&o, &r);
    dump(&r);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_int_equal(r.items_total, 1);
    assert_true(has_item(&r, "power 2024-01-01T03:00:00Z: 5 point(s), 10.0 expected (ratio 0.500)",
                         NULL));
    check_result_free(&r);
    /* and hour B is deleted */
    delete_range(n, "power", T0 + HOUR, T0 + 2 * HOUR);
    check_consistency(&o, &r);
    dump(&r);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_int_equal(r.items_total, 2);
    assert_true(has_item(&r, "power 2024-01-01T04:00:00Z: 0 point(s), 2.0 expected", NULL));
    check_result_free(&r);

    /* the file changes: the reload replaces its histogram (and its points) */
    f = fopen(lp, "w");
    assert_non_null(f);
    for (int i = 0; i < 4; i++)
        fprintf(f, "power,plant=p%d mw=%d %" PRId64 "\n", i, i, T0);
    for (int i = 0; i < 3; i++)
        fprintf(f, "power,plant=p%d mw=%d %" PRId64 "\n", i, i, T0 + 2 * HOUR);
    fclose(f);
    assert_int_equal(loader_load_file(n, m, lp, lp, &lo, &lr, &err), VT_OK);
    assert_int_equal(lr.outcome, LOAD_RELOADED);
    assert_int_equal(lr.file.points, 7);
    expect_hours(m, lr.file.id, "power@0=4;power@2=3;");
    check_consistency(&o, &r);
    dump(&r);
    assert_int_equal(r.status, CHECK_PASS);
    assert_non_null(strstr(r.details, "0 of 3 hour(s)"));
    check_result_free(&r);
    /* a window inside hour 2 is widened to the whole hour */
    o.start = T0 + 2 * HOUR + 30 * 60 * INT64_C(1000000000);
    check_consistency(&o, &r);
    dump(&r);
    assert_int_equal(r.status, CHECK_PASS);
    assert_non_null(strstr(r.details, "0 of 2 hour(s)")); /* hour 2 (whole) and wind's hour 3 */
    check_result_free(&r);

    meta_close(m);
    node_close(n, &err);
    rm_rf(dir);
    free(dir);
}

/* ---- primary vs a native backup ---- */

static void test_backends(void **state)
{
    (void)state;
    char *pdir = make_tmpdir(), *bdir = make_tmpdir();
    node *p = open_node(pdir);
    node *b = open_node(bdir);
    write_load(p, 30, 50);
    write_load(b, 30, 50);
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(node_close(b, &err), VT_OK);
    config_backend cb;
    config_backend_defaults(&cb);
    snprintf(cb.name, sizeof cb.name, "backup");
    snprintf(cb.type, sizeof cb.type, "native");
    snprintf(cb.path, sizeof cb.path, "%s", bdir);
    backend *be = NULL;
    assert_int_equal(backend_open(&cb, &be, &err), VT_OK);
    check_options o;
    check_options_default(&o);
    o.node = p;
    check_result r;
    check_backends(&o, &r);
    assert_int_equal(r.status, CHECK_PASS);
    assert_string_equal(r.details, "no backup backend configured");
    check_result_free(&r);
    const char *names[] = {"backup"};
    o.backends = &be;
    o.backend_names = names;
    o.nbackends = 1;
    check_backends(&o, &r);
    dump(&r);
    assert_int_equal(r.status, CHECK_PASS);
    check_result_free(&r);
    backend_close(be);
    /* the backup gets one point the primary never had, and loses one value */
    b = open_node(bdir);
    write_lp(b, "load,subsystem=NE value=1 1704099600000000000\n" /* T0 + 6h + 0s, extra? no: same time, other value */
                "load,subsystem=S value=7 1704200000000000000\n");
    assert_int_equal(node_close(b, &err), VT_OK);
    assert_int_equal(backend_open(&cb, &be, &err), VT_OK);
    check_backends(&o, &r);
    dump(&r);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_int_equal(r.items_total, 2);
    assert_true(has_item(&r, "backup: load,subsystem=NE 2024-01-01T09:00:00Z:", "sum_value primary 57 backup 1"));
    assert_true(has_item(&r, "backup: load: 1 point(s) after 2024-01-02T08:00:00Z", NULL));
    check_result_free(&r);
    /* with a window covering it, the point is listed with its series and hour */
    o.start = T0;
    o.end = T0 + 48 * HOUR;
    check_backends(&o, &r);
    dump(&r);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_int_equal(r.items_total, 2);
    assert_true(has_item(&r, "backup: load,subsystem=S 2024-01-02T12:00:00Z:",
                         "count_value primary absent backup 1"));
    check_result_free(&r);
    backend_close(be);
    node_close(p, &err);
    rm_rf(pdir);
    rm_rf(bdir);
    free(pdir);
    free(bdir);
}

static void test_parse(void **state)
{
    (void)state;
    unsigned mask;
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(check_parse_list("checksums,valores_nulos", &mask, &err), VT_OK);
    assert_int_equal(mask, CHECK_CHECKSUMS | CHECK_NULLS);
    assert_int_equal(check_parse_list("all", &mask, &err), VT_OK);
    assert_int_equal(mask, CHECK_ALL);
    assert_int_equal(check_parse_list("checksums,nope", &mask, &err), VT_EINVAL);
    assert_non_null(strstr(err.msg, "\"nope\""));
    int64_t w;
    assert_int_equal(check_parse_window("24h", &w, &err), VT_OK);
    assert_int_equal(w, 24 * HOUR);
    assert_int_equal(check_parse_window("x", &w, &err), VT_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_healthy_ons),
        cmocka_unit_test(test_bit_flip),
        cmocka_unit_test(test_segment_duplicate),
        cmocka_unit_test(test_zero_values),
        cmocka_unit_test(test_consistency),
        cmocka_unit_test(test_consistency_lp),
        cmocka_unit_test(test_backends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
