/* tests/unit/test_record.c — journal record payloads (core/record.h): WRITE version 2, the
 * parsed points the node journals since 2026-12. Round trips of every field type and of the
 * time extremes, line protocol rendering against the parser, and refusal of damaged records. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "core/record.h"
#include "engine/engine.h"
#include "engine/series_index.h"
#include "ingest/lineproto.h"

/* A small batch: 3 series (one repeated), every field type, several fields per point, times
 * that go back and forth and reach both ends of int64. */
enum { NPTS = 7 };

typedef struct sample {
    vt_point pts[NPTS];
    vt_field fields[NPTS][4];
    vt_tag tags[NPTS][2];
    vt_buf kb;
    engine_key keys[NPTS];
} sample;

static void make_sample(sample *s)
{
    memset(s, 0, sizeof *s);
    static const char *meas[NPTS] = {"generation", "load", "generation", "weird m,eas",
                                     "generation", "load", "generation"};
    static const char *plant[NPTS] = {"UHE A", "N", "UHE B", "x=y", "UHE A", "N", "UHE A"};
    static const int64_t times[NPTS] = {1704078000000000000LL, 1704078000000000000LL, 5, -7,
                                        INT64_MIN, INT64_MAX, 1704081600000000000LL};
    for (int i = 0; i < NPTS; i++) {
        vt_point *p = &s->pts[i];
        s->tags[i][0] = (vt_tag){vt_str_c("plant"), vt_str_c(plant[i])};
        s->tags[i][1] = (vt_tag){vt_str_c("sub"), vt_str_c(i % 2 ? "NE" : "SE")};
        vt_field *f = s->fields[i];
        size_t nf = 1;
        f[0].key = vt_str_c("value");
        f[0].value.type = VT_TYPE_FLOAT;
        /* line protocol has no NaN or infinity: those never reach a record */
        f[0].value.v.f = i == 2 ? -0.0 : i == 3 ? 4.9e-324 : i == 4 ? -1.7976931348623157e308
                                                                     : 1234.567 * i;
        if (i % 3 == 0) {
            f[nf].key = vt_str_c("count");
            f[nf].value.type = i == 3 ? VT_TYPE_UINT : VT_TYPE_INT;
            if (i == 3)
                f[nf].value.v.u = UINT64_MAX;
            else
                f[nf].value.v.i = i == 0 ? INT64_MIN : -42;
            nf++;
            f[nf].key = vt_str_c(i == 3 ? "note" : "ok");
            f[nf].value.type = i == 3 ? VT_TYPE_STRING : VT_TYPE_BOOL;
            if (i == 3)
                f[nf].value.v.s = vt_str_c("line one\nline \"two\" \\ end");
            else
                f[nf].value.v.b = i == 0;
            nf++;
        }
        if (i == 6) { /* an empty string value */
            f[nf].key = vt_str_c("note");
            f[nf].value.type = VT_TYPE_STRING;
            f[nf].value.v.s = vt_str_c("");
            nf++;
        }
        *p = (vt_point){vt_str_c(meas[i]), s->tags[i], 2, f, nf, times[i]};
    }
    vt_buf_init(&s->kb);
    assert_true(engine_build_keys(s->pts, NPTS, &s->kb, s->keys));
}

static void encode_sample(const sample *s, vt_buf *rec, record_points_scratch *scratch)
{
    vt_buf_init(rec);
    assert_true(record_points_encode(rec, "ons", "autogen", s->pts, s->kb.data, s->keys, NPTS,
                                     scratch));
}

static bool field_equal(const vt_field *a, const vt_field *b)
{
    if (!vt_str_eq(a->key, b->key) || a->value.type != b->value.type)
        return false;
    switch (a->value.type) {
    case VT_TYPE_FLOAT:
        return memcmp(&a->value.v.f, &b->value.v.f, sizeof(double)) == 0;
    case VT_TYPE_INT:
        return a->value.v.i == b->value.v.i;
    case VT_TYPE_UINT:
        return a->value.v.u == b->value.v.u;
    case VT_TYPE_BOOL:
        return a->value.v.b == b->value.v.b;
    default:
        return vt_str_eq(a->value.v.s, b->value.v.s);
    }
}

static void test_points_roundtrip(void **state)
{
    (void)state;
    sample s;
    make_sample(&s);
    record_points_scratch scratch;
    memset(&scratch, 0, sizeof scratch);
    vt_buf rec;
    encode_sample(&s, &rec, &scratch);
    record_write w;
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(record_write_decode(rec.data, rec.len, &w, &err), VT_OK);
    assert_int_equal(w.version, 2);
    assert_int_equal(w.db_len, 3);
    assert_memory_equal(w.db, "ons", 3);
    assert_int_equal(w.rp_len, 7);
    assert_memory_equal(w.rp, "autogen", 7);
    record_points_reader rd;
    assert_int_equal(record_points_open(&rd, &w, &err), VT_OK);
    assert_int_equal(rd.nkeys, 4); /* generation/UHE A/SE three times, load/N/NE twice */
    assert_int_equal(rd.npoints, NPTS);
    for (int i = 0; i < NPTS; i++) {
        vt_point pt;
        size_t k;
        bool have = false;
        assert_int_equal(record_points_next(&rd, &pt, &k, &have, &err), VT_OK);
        assert_true(have);
        assert_true(vt_str_eq(pt.measurement, s.pts[i].measurement));
        assert_int_equal(pt.time, s.pts[i].time);
        assert_int_equal(pt.nfields, s.pts[i].nfields);
        for (size_t f = 0; f < pt.nfields; f++)
            assert_true(field_equal(&pt.fields[f], &s.pts[i].fields[f]));
        /* the key of the point, byte for byte */
        assert_int_equal(rd.keys[k].len, s.keys[i].len);
        assert_memory_equal(rd.keys[k].p, s.kb.data + s.keys[i].off, s.keys[i].len);
    }
    vt_point pt;
    size_t k;
    bool have = true;
    assert_int_equal(record_points_next(&rd, &pt, &k, &have, &err), VT_OK);
    assert_false(have);
    record_points_close(&rd);
    /* the scratch is reused by the next record: the same bytes again */
    vt_buf again;
    encode_sample(&s, &again, &scratch);
    assert_int_equal(again.len, rec.len);
    assert_memory_equal(again.data, rec.data, rec.len);
    vt_buf_free(&again);
    vt_buf_free(&rec);
    vt_buf_free(&s.kb);
    record_points_scratch_free(&scratch);
}

/* Rendered line protocol parses back (volta's own parser, ns) to the very points. */
static void test_points_render_lp(void **state)
{
    (void)state;
    sample s;
    make_sample(&s);
    record_points_scratch scratch;
    memset(&scratch, 0, sizeof scratch);
    vt_buf rec, lp;
    encode_sample(&s, &rec, &scratch);
    record_write w;
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(record_write_decode(rec.data, rec.len, &w, &err), VT_OK);
    vt_buf_init(&lp);
    assert_int_equal(record_points_render_lp(&w, &lp, &err), VT_OK);
    lp_options o;
    memset(&o, 0, sizeof o);
    o.precision = LP_PRECISION_NS;
    lp_parser *p = lp_parser_new(&o);
    assert_non_null(p);
    assert_int_equal(lp_parser_reset(p, (const char *)lp.data, lp.len), VT_OK);
    for (int i = 0; i < NPTS; i++) {
        vt_point got;
        lp_error le;
        int r = lp_parser_next(p, &got, &le);
        if (r != LP_POINT)
            fail_msg("point %d does not parse: %s (%.*s)", i, le.msg, (int)lp.len,
                     (const char *)lp.data);
        /* the parser sorts tags; the sample's are sorted already */
        if (!lp_point_equal(&got, &s.pts[i]))
            fail_msg("point %d differs after rendering: %.*s", i, (int)lp.len,
                     (const char *)lp.data);
    }
    vt_point got;
    lp_error le;
    assert_int_equal(lp_parser_next(p, &got, &le), LP_END);
    lp_parser_free(p);
    vt_buf_free(&lp);
    vt_buf_free(&rec);
    vt_buf_free(&s.kb);
    record_points_scratch_free(&scratch);
}

/* Reads a whole record; VT_OK only when every point and the end check pass. */
static vt_rc read_all_points(const uint8_t *data, size_t len, vt_err *err)
{
    record_write w;
    vt_rc rc = record_write_decode(data, len, &w, err);
    if (rc != VT_OK)
        return rc;
    record_points_reader rd;
    if ((rc = record_points_open(&rd, &w, err)) != VT_OK)
        return rc;
    for (;;) {
        vt_point pt;
        size_t k;
        bool have;
        if ((rc = record_points_next(&rd, &pt, &k, &have, err)) != VT_OK || !have)
            break;
    }
    record_points_close(&rd);
    return rc;
}

/* Every truncation is refused with a message (never a crash or a short read passed off as
 * whole); so are a byte appended, a key index past the dictionary and an unknown type. */
static void test_points_damage(void **state)
{
    (void)state;
    sample s;
    make_sample(&s);
    record_points_scratch scratch;
    memset(&scratch, 0, sizeof scratch);
    vt_buf rec;
    encode_sample(&s, &rec, &scratch);
    vt_err err;
    assert_int_equal(read_all_points(rec.data, rec.len, &err), VT_OK);
    uint8_t *copy = malloc(rec.len + 1);
    assert_non_null(copy);
    for (size_t len = 0; len < rec.len; len++) {
        memcpy(copy, rec.data, len);
        vt_err_clear(&err);
        if (read_all_points(copy, len, &err) == VT_OK)
            fail_msg("a record cut to %zu of %zu bytes was read as whole", len, rec.len);
        assert_true(err.msg[0] != '\0');
    }
    memcpy(copy, rec.data, rec.len);
    copy[rec.len] = 0;
    assert_int_equal(read_all_points(copy, rec.len + 1, &err), VT_ECORRUPT);
    assert_non_null(strstr(err.msg, "after the last point"));
    /* the first point's key index is the first byte after the point count: make it 200 */
    record_write w;
    assert_int_equal(record_write_decode(rec.data, rec.len, &w, &err), VT_OK);
    record_points_reader rd;
    assert_int_equal(record_points_open(&rd, &w, &err), VT_OK);
    size_t first_point = (size_t)(rd.r.p - rec.data);
    record_points_close(&rd);
    memcpy(copy, rec.data, rec.len);
    copy[first_point] = 100;
    assert_int_equal(read_all_points(copy, rec.len, &err), VT_ECORRUPT);
    assert_non_null(strstr(err.msg, "key index"));
    /* its first field's type byte: key index, time delta (10 bytes for this point's time),
     * field count, name index */
    memcpy(copy, rec.data, rec.len);
    vt_reader r;
    vt_reader_init(&r, rec.data + first_point, rec.len - first_point);
    uint64_t u;
    int64_t v;
    assert_true(vt_read_uvarint(&r, &u) && vt_read_varint(&r, &v) && vt_read_uvarint(&r, &u) &&
                vt_read_uvarint(&r, &u));
    copy[(size_t)(r.p - rec.data)] = 9;
    assert_int_equal(read_all_points(copy, rec.len, &err), VT_ECORRUPT);
    assert_non_null(strstr(err.msg, "field type"));
    free(copy);
    vt_buf_free(&rec);
    vt_buf_free(&s.kb);
    record_points_scratch_free(&scratch);
}

/* series_key_parse is the inverse of series_key_build, and refuses damaged keys. */
static void test_series_key_parse(void **state)
{
    (void)state;
    vt_tag tags[3] = {{vt_str_c("a"), vt_str_c("1")},
                      {vt_str_c("b"), vt_str_c("")},
                      {vt_str_c("c d"), vt_str_c("x,y=z")}};
    vt_buf kb;
    vt_buf_init(&kb);
    series_key_build(&kb, vt_str_c("m"), tags, 3);
    vt_str m;
    vt_tag back[3];
    size_t n = 0;
    assert_true(series_key_parse(kb.data, kb.len, &m, back, 3, &n));
    assert_int_equal(n, 3);
    assert_true(vt_str_eq(m, vt_str_c("m")));
    for (int i = 0; i < 3; i++) {
        assert_true(vt_str_eq(back[i].key, tags[i].key));
        assert_true(vt_str_eq(back[i].value, tags[i].value));
    }
    assert_true(series_key_parse(kb.data, kb.len, &m, back, 1, &n)); /* count without room */
    assert_int_equal(n, 3);
    for (size_t len = 0; len < kb.len; len++)
        assert_false(series_key_parse(kb.data, len, &m, back, 3, &n));
    vt_buf_putc(&kb, 0);
    assert_false(series_key_parse(kb.data, kb.len, &m, back, 3, &n)); /* trailing byte */
    vt_buf_free(&kb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_points_roundtrip),
        cmocka_unit_test(test_points_render_lp),
        cmocka_unit_test(test_points_damage),
        cmocka_unit_test(test_series_key_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
