/*
 * Unit tests of ops/export and ops/import: the incremental JSON tokenizer (tokens across buffer
 * refills, escapes, malformed input naming byte offset / line / column), JSON and line-protocol
 * import into a recording writer (typing, escapes, batches, data_count checks, gzip input), and
 * export -> import -> export round trips through real nodes (every field type, filters, the
 * per-series window merge beyond EXPORT_WINDOW points).
 */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "common/buf.h"
#include "core/node.h"
#include "ops/export.h"
#include "ops/import.h"

/* ---- readers ---- */

typedef struct mem_reader {
    const uint8_t *p;
    size_t n, pos, step; /* step: bytes per read (1 = worst case for refills) */
} mem_reader;

static ssize_t mem_read(void *ctx, uint8_t *buf, size_t cap)
{
    mem_reader *r = ctx;
    size_t k = r->n - r->pos;
    if (k > cap)
        k = cap;
    if (r->step && k > r->step)
        k = r->step;
    memcpy(buf, r->p + r->pos, k);
    r->pos += k;
    return (ssize_t)k;
}

static mem_reader reader_of(const char *s, size_t step)
{
    mem_reader r = {(const uint8_t *)s, strlen(s), 0, step};
    return r;
}

/* ---- the tokenizer ---- */

static void test_tokens_across_refills(void **state)
{
    (void)state;
    const char *doc = " {\"a\\u00e9\\ud83d\\ude00\\n\": [1, -2.5e3, true, false, null, \"x\"]}\n";
    static const jtok_kind want[] = {JT_LBRACE,   JT_STRING, JT_COLON, JT_LBRACKET, JT_NUMBER,
                                     JT_COMMA,    JT_NUMBER, JT_COMMA, JT_TRUE,     JT_COMMA,
                                     JT_FALSE,    JT_COMMA,  JT_NULL,  JT_COMMA,    JT_STRING,
                                     JT_RBRACKET, JT_RBRACE, JT_END};
    for (size_t step = 1; step <= 3; step += 2) {
        mem_reader r = reader_of(doc, step);
        jtok *t = malloc(sizeof *t);
        assert_non_null(t);
        jtok_init(t, mem_read, &r);
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
            jtok_kind k = jtok_next(t);
            assert_int_equal(k, want[i]);
            if (i == 1)
                assert_string_equal((const char *)t->text.data, "a\xc3\xa9\xf0\x9f\x98\x80\n");
            if (i == 4) {
                assert_string_equal((const char *)t->text.data, "1");
                assert_false(t->is_float);
            }
            if (i == 6) {
                assert_string_equal((const char *)t->text.data, "-2.5e3");
                assert_true(t->is_float);
            }
        }
        jtok_free(t);
        free(t);
    }
}

static void expect_error(const char *doc, const char *what, const char *where)
{
    mem_reader r = reader_of(doc, 7);
    jtok *t = malloc(sizeof *t);
    assert_non_null(t);
    jtok_init(t, mem_read, &r);
    jtok_kind k;
    while ((k = jtok_next(t)) != JT_ERROR && k != JT_END)
        ;
    assert_int_equal(k, JT_ERROR);
    assert_int_equal(t->err.rc, VT_EPARSE);
    if (!strstr(t->err.msg, what) || !strstr(t->err.msg, where))
        fail_msg("for %s: got '%s', want '%s' and '%s'", doc, t->err.msg, what, where);
    assert_int_equal(jtok_next(t), JT_ERROR); /* sticky */
    jtok_free(t);
    free(t);
}

static void test_tokenizer_errors(void **state)
{
    (void)state;
    expect_error("{\"a\": 01}", "invalid number '01'", "byte 6 (line 1, column 7)");
    expect_error("[1.]", "invalid number '1.'", "byte 1 (line 1, column 2)");
    expect_error("[\n  -]", "invalid number '-'", "byte 4 (line 2, column 3)");
    expect_error("{\"abc", "unterminated string", "byte 1 (line 1, column 2)");
    expect_error("[\"a\nb\"]", "control character 0x0a", "byte 3 (line 1, column 4)");
    expect_error("[tru]", "invalid literal (expected true)", "byte 1");
    expect_error("\n\n  @", "unexpected character '@'", "byte 4 (line 3, column 3)");
    expect_error("[\"\\x\"]", "invalid escape '\\x'", "line 1");
    expect_error("[\"\\u12g4\"]", "invalid \\u escape", "line 1");
}

/* ---- import into a recording writer ---- */

typedef struct rec_writer {
    vt_buf lp;
    size_t calls;
    size_t sizes[64];
    size_t reject; /* reject this many lines of each batch */
} rec_writer;

static vt_rc rec_write(void *ctx, const char *lp, size_t len, size_t npoints, size_t *accepted,
                       vt_err *err)
{
    rec_writer *w = ctx;
    vt_buf_append(&w->lp, lp, len);
    if (w->calls < 64)
        w->sizes[w->calls] = npoints;
    w->calls++;
    if (w->reject) {
        *accepted = npoints - (w->reject < npoints ? w->reject : npoints);
        return vt_err_set(err, VT_EPARSE, "unable to parse 'x'");
    }
    *accepted = npoints;
    return VT_OK;
}

static vt_rc run_import(const char *doc, size_t doc_len, size_t batch, rec_writer *w,
                        import_stats *st, vt_err *err)
{
    mem_reader r = {(const uint8_t *)doc, doc_len, 0, 5};
    import_options o = {.batch_points = batch, .write = rec_write, .write_ctx = w};
    vt_buf_init(&w->lp);
    return import_run(mem_read, &r, &o, st, err);
}

static void test_import_json_typing(void **state)
{
    (void)state;
    const char *doc =
        "{\"data_count\": 3, \"field_types\": {\"m\": {\"u\": \"unsigned\", \"g\": \"float\"}},"
        " \"other\": [{\"x\": [1, {}]}],\n"
        " \"data\": [\n"
        " {\"_measurement\": \"m x,y\", \"_time\": \"2024-01-01T00:00:00.5Z\", \"tag_b\": \"2 3\","
        "  \"tag_a\": \"1=,\", \"field_f\": 1.0, \"field_i\": -9223372036854775808,"
        "  \"field_big\": 18446744073709551615, \"field_s\": \"q\\\"\\\\\\n\\u00fc\","
        "  \"field_t\": true, \"field_n\": null, \"ignored\": 5},\n"
        " {\"_measurement\": \"m\", \"_time\": 1704067200000000000, \"field_u\": 7, \"field_g\": "
        "2},\n"
        " {\"_measurement\": \"m\", \"_time\": \"2024-01-01\", \"field_e\": 1e21}\n"
        "]}";
    rec_writer w = {0};
    import_stats st;
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(run_import(doc, strlen(doc), 1000, &w, &st, &err), VT_OK);
    assert_int_equal(st.format, OPS_FORMAT_JSON);
    assert_int_equal(st.points_read, 3);
    assert_int_equal(st.points_written, 3);
    assert_true(st.has_data_count);
    assert_int_equal(w.calls, 1);
    assert_string_equal(vt_buf_cstr(&w.lp),
                        "m\\ x\\,y,a=1\\=\\,,b=2\\ 3 f=1,i=-9223372036854775808i,"
                        "big=18446744073709551615u,s=\"q\\\"\\\\\n\xc3\xbc\",t=true "
                        "1704067200500000000\n"
                        "m u=7u,g=2 1704067200000000000\n"
                        "m e=1e+21 1704067200000000000\n");
    vt_buf_free(&w.lp);
}

static void test_import_json_batches_and_counts(void **state)
{
    (void)state;
    vt_buf doc;
    vt_buf_init(&doc);
    vt_buf_printf(&doc, "{\"data\":[");
    for (int i = 0; i < 2500; i++)
        vt_buf_printf(&doc, "%s{\"_measurement\":\"m\",\"_time\":%d,\"field_v\":%d}", i ? "," : "",
                      i, i);
    vt_buf_printf(&doc, "],\"data_count\":2500}");
    rec_writer w = {0};
    import_stats st;
    vt_err err;
    assert_int_equal(run_import((const char *)doc.data, doc.len, 1000, &w, &st, &err), VT_OK);
    assert_int_equal(w.calls, 3);
    assert_int_equal(w.sizes[0], 1000);
    assert_int_equal(w.sizes[1], 1000);
    assert_int_equal(w.sizes[2], 500);
    assert_int_equal(st.batches, 3);
    vt_buf_free(&w.lp);

    /* data_count mismatch: everything read is written, then the error */
    char *bad = strdup(vt_buf_cstr(&doc));
    memcpy(strstr(bad, "2500}"), "2501}", 5);
    memset(&w, 0, sizeof w);
    assert_int_equal(run_import(bad, strlen(bad), 1000, &w, &st, &err), VT_EPARSE);
    assert_string_equal(err.msg, "data_count is 2501 but data holds 2500 objects");
    assert_int_equal(st.points_written, 2500);
    vt_buf_free(&w.lp);

    /* no data_count (a truncated export) */
    strcpy(strstr(bad, ",\"data_count\""), "}");
    memset(&w, 0, sizeof w);
    assert_int_equal(run_import(bad, strlen(bad), 1000, &w, &st, &err), VT_EPARSE);
    assert_non_null(strstr(err.msg, "no data_count"));
    vt_buf_free(&w.lp);

    /* cut inside an element: the error names where; what came before is written */
    strcpy(strstr(bad, "{\"_measurement\":\"m\",\"_time\":2000,"), "{\"_measurement\":\"m\"");
    memset(&w, 0, sizeof w);
    assert_int_equal(run_import(bad, strlen(bad), 1000, &w, &st, &err), VT_EPARSE);
    assert_non_null(strstr(err.msg, "element 2001"));
    assert_non_null(strstr(err.msg, "byte "));
    assert_int_equal(st.points_written, 2000);
    vt_buf_free(&w.lp);
    free(bad);
    vt_buf_free(&doc);
}

static void test_import_json_element_errors(void **state)
{
    (void)state;
    static const struct {
        const char *doc, *msg;
    } cases[] = {
        {"{\"data\":[{\"_time\":1,\"field_v\":1}],\"data_count\":1}", "element 1: no _measurement"},
        {"{\"data\":[{\"_measurement\":\"m\",\"field_v\":1}],\"data_count\":1}",
         "element 1: no _time"},
        {"{\"data\":[{\"_measurement\":\"m\",\"_time\":\"yesterday\",\"field_v\":1}]}",
         "_time must be"},
        {"{\"data\":[{\"_measurement\":\"m\",\"_time\":1}]}", "no field_<key>"},
        {"{\"data\":[{\"_measurement\":\"m\",\"_time\":1,\"field_v\":[1]}]}",
         "must be a string, number"},
        {"{\"data\":[{\"_measurement\":\"m\",\"_time\":1,\"field_v\":1e999}]}", "out of range"},
        {"{\"data\":[]} 5", "unexpected a number after the document"},
        {"{\"data\":[], \"data_count\": -1}", "data_count must be a non-negative integer"},
        {"{\"nodata\":1}", "no \"data\" array"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rec_writer w = {0};
        import_stats st;
        vt_err err;
        vt_err_clear(&err);
        vt_rc rc = run_import(cases[i].doc, strlen(cases[i].doc), 10, &w, &st, &err);
        if (rc != VT_EPARSE || !strstr(err.msg, cases[i].msg))
            fail_msg("case %zu: rc %d msg '%s', want '%s'", i, rc, err.msg, cases[i].msg);
        vt_buf_free(&w.lp);
    }
    /* an empty data array with a matching count is fine, in either key order */
    const char *ok[] = {"{\"data\":[],\"data_count\":0}", "{\"data_count\":0,\"data\":[]}"};
    for (size_t i = 0; i < 2; i++) {
        rec_writer w = {0};
        import_stats st;
        vt_err err;
        assert_int_equal(run_import(ok[i], strlen(ok[i]), 10, &w, &st, &err), VT_OK);
        assert_int_equal(w.calls, 0);
        vt_buf_free(&w.lp);
    }
}

static void test_import_lp_passthrough_and_gzip(void **state)
{
    (void)state;
    const char *lp = "# header\n"
                     "\n"
                     "m,t=a\\ b s=\"multi\nline \\\" # not a comment\",v=1i 1\n"
                     "   # indented comment\n"
                     "m\\ x v=2 2\r\n"
                     "m v=3 3"; /* no final newline */
    rec_writer w = {0};
    import_stats st;
    vt_err err;
    assert_int_equal(run_import(lp, strlen(lp), 2, &w, &st, &err), VT_OK);
    assert_int_equal(st.format, OPS_FORMAT_LP);
    assert_int_equal(st.points_read, 3);
    assert_int_equal(w.calls, 2);
    assert_string_equal(vt_buf_cstr(&w.lp),
                        "m,t=a\\ b s=\"multi\nline \\\" # not a comment\",v=1i 1\n"
                        "m\\ x v=2 2\r\n"
                        "m v=3 3\n");
    vt_buf_free(&w.lp);

    /* the same, gzip'ed in two members */
    uint8_t gz[4096];
    size_t gzlen = 0;
    size_t half = strlen(lp) / 2;
    const char *parts[2] = {lp, lp + half};
    size_t lens[2] = {half, strlen(lp) - half};
    for (int m = 0; m < 2; m++) {
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
        zs.next_in = (Bytef *)(uintptr_t)parts[m];
        zs.avail_in = (uInt)lens[m];
        zs.next_out = gz + gzlen;
        zs.avail_out = (uInt)(sizeof gz - gzlen);
        assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
        gzlen = sizeof gz - zs.avail_out;
        deflateEnd(&zs);
    }
    memset(&w, 0, sizeof w);
    assert_int_equal(run_import((const char *)gz, gzlen, 1000, &w, &st, &err), VT_OK);
    assert_true(st.gzip);
    assert_int_equal(st.points_read, 3);
    assert_string_equal(vt_buf_cstr(&w.lp),
                        "m,t=a\\ b s=\"multi\nline \\\" # not a comment\",v=1i 1\n"
                        "m\\ x v=2 2\r\n"
                        "m v=3 3\n");
    vt_buf_free(&w.lp);

    /* truncated gzip */
    memset(&w, 0, sizeof w);
    assert_int_equal(run_import((const char *)gz, gzlen - 10, 1000, &w, &st, &err), VT_EPARSE);
    assert_non_null(strstr(err.msg, "gzip"));
    vt_buf_free(&w.lp);

    /* rejected lines are counted and reported, the import goes on */
    memset(&w, 0, sizeof w);
    w.reject = 1;
    assert_int_equal(run_import(lp, strlen(lp), 2, &w, &st, &err), VT_EPARSE);
    assert_int_equal(st.points_rejected, 2);
    assert_int_equal(st.points_written, 1);
    assert_non_null(strstr(err.msg, "2 of 3 points rejected"));
    assert_non_null(strstr(err.msg, "input line 3"));
    vt_buf_free(&w.lp);
}

/* ---- round trips through nodes ---- */

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static node *open_node(char *dir)
{
    assert_non_null(mkdtemp(dir));
    node_options o;
    node_options_default(&o);
    o.engine.background = false;
    o.journal.fsync = JOURNAL_FSYNC_NEVER;
    node *n = NULL;
    vt_err err;
    assert_int_equal(node_open(dir, &o, &n, NULL, &err), VT_OK);
    return n;
}

static void close_node(node *n, const char *dir)
{
    vt_err err;
    assert_int_equal(node_close(n, &err), VT_OK);
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_lp(node *n, const char *db, const char *lp)
{
    node_write_result res;
    vt_err err;
    vt_rc rc = node_write(n, db, "", LP_PRECISION_NS, 0, lp, strlen(lp), &res, &err);
    if (rc != VT_OK)
        fail_msg("write: %s / %s", err.msg, res.error);
}

static bool buf_sink(void *ctx, const uint8_t *data, size_t len)
{
    vt_buf_append(ctx, data, len);
    return true;
}

static void export_to(node *n, const char *db, ops_format f, bool gz, vt_buf *out, export_stats *st)
{
    export_options o;
    export_options_default(&o);
    o.db = db;
    o.format = f;
    o.gzip = gz;
    vt_err err;
    vt_buf_init(out);
    vt_rc rc = export_run(n, &o, buf_sink, out, st, &err);
    if (rc != VT_OK)
        fail_msg("export: %s", err.msg);
}

static const char *ALL_TYPES =
    "m\\ 1,t\\,k=a\\ b\\=c,z=\xc3\xbc f=1,i=-9223372036854775808i,u=18446744073709551615u,"
    "b=true,s=\"q\\\"uo\\\\te\nnl \xe2\x82\xac\" 1704067200000000000\n"
    "m\\ 1,t\\,k=a\\ b\\=c,z=\xc3\xbc f=-0.5,i=9223372036854775807i,u=0u,b=false,s=\"\" "
    "1704067201000000000\n"
    "m\\ 1,t\\,k=a\\ b\\=c,z=\xc3\xbc f=1e-7 1704067202000000000\n"
    "m\\ 1,t\\,k=a\\ b\\=c,z=\xc3\xbc f=1e21,u=5u 1704067203000000000\n"
    "cpu,host=h f=1.5 -1000000000\n";

static void test_round_trip_all_types(void **state)
{
    (void)state;
    for (int gz = 0; gz < 2; gz++) {
        for (ops_format f = OPS_FORMAT_LP; f <= OPS_FORMAT_JSON; f++) {
            char d1[] = "/tmp/volta-export-XXXXXX", d2[] = "/tmp/volta-export-XXXXXX";
            node *a = open_node(d1), *b = open_node(d2);
            vt_err err;
            assert_int_equal(node_create_db(a, "src", &err), VT_OK);
            assert_int_equal(node_create_db(b, "src", &err), VT_OK);
            write_lp(a, "src", ALL_TYPES);
            vt_buf out1, out2;
            export_stats st;
            export_to(a, "src", f, gz, &out1, &st);
            assert_int_equal(st.points, 5);
            assert_int_equal(st.series, 2);
            mem_reader r = {out1.data, out1.len, 0, 0};
            import_node_ctx nc = {b, "src", NULL};
            import_options io = {.write = import_write_node, .write_ctx = &nc, .batch_points = 2};
            import_stats ist;
            vt_rc rc = import_run(mem_read, &r, &io, &ist, &err);
            if (rc != VT_OK)
                fail_msg("import (format %d gzip %d): %s", f, gz, err.msg);
            assert_int_equal(ist.points_written, 5);
            assert_int_equal(ist.batches, 3);
            export_to(b, "src", f, gz, &out2, &st);
            assert_int_equal(out1.len, out2.len);
            assert_memory_equal(out1.data, out2.data, out1.len);
            if (f == OPS_FORMAT_JSON && !gz) {
                const char *j = vt_buf_cstr(&out1);
                assert_non_null(strstr(j, "\"field_f\":1.0,"));
                assert_non_null(strstr(j, "\"field_f\":1e-7}"));
                assert_non_null(strstr(j, "\"field_f\":1e+21,"));
                assert_non_null(strstr(j, "\"_time\":\"1969-12-31T23:59:59Z\""));
                assert_non_null(strstr(j, "\"tag_t,k\":\"a b=c\""));
                assert_non_null(strstr(j, "\"field_s\":\"q\\\"uo\\\\te\\nnl \xe2\x82\xac\""));
                assert_non_null(strstr(j, "\"field_u\":18446744073709551615"));
                assert_non_null(strstr(j, "\"field_u\":0}"));
                assert_non_null(strstr(j, "],\"data_count\":5}\n"));
            }
            vt_buf_free(&out1);
            vt_buf_free(&out2);
            close_node(a, d1);
            close_node(b, d2);
        }
    }
}

static void test_filters_and_window_merge(void **state)
{
    (void)state;
    char d1[] = "/tmp/volta-export-XXXXXX";
    node *a = open_node(d1);
    vt_err err;
    assert_int_equal(node_create_db(a, "db", &err), VT_OK);
    /* field a every second for 10000 s, field b every third second: 2.4 windows of a */
    vt_buf lp;
    vt_buf_init(&lp);
    for (int t = 0; t < 10000; t++) {
        if (t % 3 == 0)
            vt_buf_printf(&lp, "m,s=1 a=%di,b=%d.5 %lld\n", t, t, t * 1000000000LL);
        else
            vt_buf_printf(&lp, "m,s=1 a=%di %lld\n", t, t * 1000000000LL);
        vt_buf_printf(&lp, "other v=1 %lld\n", t * 1000000000LL);
    }
    write_lp(a, "db", vt_buf_cstr(&lp));
    vt_buf_free(&lp);
    export_options o;
    export_options_default(&o);
    o.db = "db";
    const char *ms[] = {"m"};
    o.measurements = ms;
    o.nmeasurements = 1;
    vt_buf out;
    vt_buf_init(&out);
    export_stats st;
    assert_int_equal(export_run(a, &o, buf_sink, &out, &st, &err), VT_OK);
    assert_int_equal(st.points, 10000);
    /* every line in order, b merged into a's line exactly every third second */
    const char *p = vt_buf_cstr(&out);
    p = strchr(p, '\n') + 1; /* # database: db */
    for (int t = 0; t < 10000; t++) {
        char want[96];
        if (t % 3 == 0)
            snprintf(want, sizeof want, "m,s=1 a=%di,b=%d.5 %lld\n", t, t, t * 1000000000LL);
        else
            snprintf(want, sizeof want, "m,s=1 a=%di %lld\n", t, t * 1000000000LL);
        if (strncmp(p, want, strlen(want)) != 0)
            fail_msg("t=%d: got %.60s want %s", t, p, want);
        p += strlen(want);
    }
    assert_int_equal(*p, '\0');
    vt_buf_free(&out);
    /* time range, inclusive, RFC3339 */
    assert_int_equal(export_parse_time("1970-01-01T00:00:10Z", &o.tmin, &err), VT_OK);
    assert_int_equal(export_parse_time("19000000000", &o.tmax, &err), VT_OK);
    o.nmeasurements = 0;
    vt_buf_init(&out);
    assert_int_equal(export_run(a, &o, buf_sink, &out, &st, &err), VT_OK);
    assert_int_equal(st.points, 20); /* 10 s of m and of other */
    vt_buf_free(&out);
    assert_int_equal(export_parse_time("yesterday", &o.tmin, &err), VT_EINVAL);
    /* unknown database / policy */
    o.db = "nope";
    assert_int_equal(export_run(a, &o, buf_sink, &out, &st, &err), VT_ENOTFOUND);
    o.db = "db";
    o.rp = "nope";
    assert_int_equal(export_run(a, &o, buf_sink, &out, &st, &err), VT_ENOTFOUND);
    close_node(a, d1);
}

/* A document without field_types (as other tools write it: Go prints the float 2.0 as 2) takes
 * the types the target already has. */
static void test_import_uses_target_types(void **state)
{
    (void)state;
    char d1[] = "/tmp/volta-export-XXXXXX";
    node *a = open_node(d1);
    vt_err err;
    assert_int_equal(node_create_db(a, "db", &err), VT_OK);
    write_lp(a, "db", "m v=1.5,u=1u 1\n");
    const char *doc = "{\"data\":[{\"_measurement\":\"m\",\"_time\":2,\"field_v\":2,"
                      "\"field_u\":3,\"field_n\":4}],\"data_count\":1}";
    mem_reader r = reader_of(doc, 0);
    import_node_ctx nc = {a, "db", NULL};
    import_options io = {.write = import_write_node,
                         .write_ctx = &nc,
                         .field_type = import_node_field_type,
                         .field_type_ctx = &nc};
    import_stats st;
    vt_rc rc = import_run(mem_read, &r, &io, &st, &err);
    if (rc != VT_OK)
        fail_msg("import: %s", err.msg);
    vt_buf out;
    export_stats est;
    export_to(a, "db", OPS_FORMAT_LP, false, &out, &est);
    assert_string_equal(vt_buf_cstr(&out), "# database: db\n"
                                           "m u=1u,v=1.5 1\n"
                                           "m n=4i,u=3u,v=2 2\n");
    vt_buf_free(&out);
    close_node(a, d1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens_across_refills),
        cmocka_unit_test(test_tokenizer_errors),
        cmocka_unit_test(test_import_json_typing),
        cmocka_unit_test(test_import_json_batches_and_counts),
        cmocka_unit_test(test_import_json_element_errors),
        cmocka_unit_test(test_import_lp_passthrough_and_gzip),
        cmocka_unit_test(test_round_trip_all_types),
        cmocka_unit_test(test_filters_and_window_merge),
        cmocka_unit_test(test_import_uses_target_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
