/* tests/unit/test_segment.c — segment files: writer/reader round trip, index pruning, and
 * detection of every corrupted byte. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/durable.h"
#include "engine/segment.h"

typedef struct fixture {
    char dir[64];
    char path[128];
    char *data;
    size_t len;
} fixture;

/* series 1 (cpu,host=a): f float x 7, s string x 2; series 5 (mem): n integer x 3 */
static void write_sample(fixture *fx, size_t block_points)
{
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_segment.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof fx->path, "%s/1.vseg", fx->dir);
    seg_writer w;
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(seg_writer_begin(&w, fx->path, 42, block_points, &err), VT_OK);
    seg_col c;
    seg_col_init(&c, VT_TYPE_FLOAT);
    for (int i = 0; i < 7; i++) {
        double v = i * 1.25;
        seg_col_push(&c, 100 + i * 10, &v);
    }
    assert_int_equal(seg_writer_add(&w, 1, 0, &c, &err), VT_OK);
    seg_col_free(&c);
    seg_col_init(&c, VT_TYPE_STRING);
    vt_str s1 = vt_str_c("hello"), s2 = vt_str_c("");
    seg_col_push(&c, 5, &s1);
    seg_col_push(&c, 6, &s2);
    assert_int_equal(seg_writer_add(&w, 1, 1, &c, &err), VT_OK);
    seg_col_free(&c);
    seg_col_init(&c, VT_TYPE_INT);
    for (int i = 0; i < 3; i++) {
        int64_t v = -i;
        seg_col_push(&c, i, &v);
    }
    assert_int_equal(seg_writer_add(&w, 5, 0, &c, &err), VT_OK);
    seg_col_free(&c);
    vt_tag tags[1] = {{vt_str_c("host"), vt_str_c("a")}};
    seg_field_def f1[2] = {{vt_str_c("f"), VT_TYPE_FLOAT}, {vt_str_c("s"), VT_TYPE_STRING}};
    seg_field_def f5[1] = {{vt_str_c("n"), VT_TYPE_INT}};
    seg_series_def defs[2] = {{1, vt_str_c("cpu"), tags, 1, f1, 2},
                              {5, vt_str_c("mem"), NULL, 0, f5, 1}};
    uint64_t bytes = 0;
    assert_int_equal(seg_writer_finish(&w, defs, 2, &bytes, &err), VT_OK);
    assert_int_equal(file_read_all(fx->path, &fx->data, &fx->len, &err), VT_OK);
    assert_int_equal(bytes, fx->len);
}

static void cleanup(fixture *fx)
{
    free(fx->data);
    unlink(fx->path);
    rmdir(fx->dir);
}

static void test_roundtrip(void **state)
{
    (void)state;
    fixture fx;
    write_sample(&fx, 3);
    seg_reader *r;
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(seg_open_file(fx.path, &r, &err), VT_OK);
    assert_int_equal(r->segment_id, 42);
    assert_int_equal(r->nseries, 2);
    assert_int_equal(r->nblocks, 3 + 1 + 1); /* 7 floats in blocks of 3 */
    const seg_series *s = seg_find_series(r, 1);
    assert_non_null(s);
    assert_int_equal(s->ntags, 1);
    assert_true(vt_str_eq(s->measurement, vt_str_c("cpu")));
    assert_int_equal(seg_field_no(s, "s", 1), 1);
    assert_null(seg_find_series(r, 2));
    size_t first, count;
    seg_find_blocks(r, 1, 0, &first, &count);
    assert_int_equal(first, 0);
    assert_int_equal(count, 3);
    assert_int_equal(r->blocks[1].min_time, 130);
    assert_int_equal(r->blocks[1].max_time, 150);
    assert_int_equal(r->blocks[2].count, 1);
    seg_col c;
    seg_col_init(&c, VT_TYPE_FLOAT);
    for (size_t b = 0; b < 3; b++)
        assert_int_equal(seg_read_block(r, b, &c, &err), VT_OK);
    assert_int_equal(c.n, 7);
    for (int i = 0; i < 7; i++) {
        assert_int_equal(c.time[i], 100 + i * 10);
        assert_true(((double *)c.val)[i] == i * 1.25);
    }
    seg_col_free(&c);
    seg_col_init(&c, VT_TYPE_STRING);
    assert_int_equal(seg_read_block(r, 3, &c, &err), VT_OK);
    assert_int_equal(c.n, 2);
    assert_true(vt_str_eq(((vt_str *)c.val)[0], vt_str_c("hello")));
    assert_int_equal(((vt_str *)c.val)[1].len, 0);
    seg_col_free(&c);
    /* a block read into a column of another type is refused */
    seg_col_init(&c, VT_TYPE_BOOL);
    assert_int_equal(seg_read_block(r, 4, &c, &err), VT_ECORRUPT);
    seg_col_free(&c);
    uint64_t blocks = 0;
    assert_int_equal(seg_verify(r, NULL, NULL, &blocks), 0);
    assert_int_equal(blocks, 5);
    seg_unref(r);
    cleanup(&fx);
}

/* Flipping any byte after the header is caught by open or by verify. */
static void test_every_byte_flip_detected(void **state)
{
    (void)state;
    fixture fx;
    write_sample(&fx, 4);
    uint8_t *copy = malloc(fx.len);
    assert_non_null(copy);
    for (size_t off = 0; off < fx.len; off++) {
        if (off >= 6 && off < 16)
            continue; /* flags and segment id: checked against the manifest by the engine */
        memcpy(copy, fx.data, fx.len);
        copy[off] ^= 0x01;
        seg_reader *r = NULL;
        vt_err err;
        vt_err_clear(&err);
        vt_rc rc = seg_open_mem("flip", copy, fx.len, &r, &err);
        if (rc == VT_OK) {
            unsigned p = seg_verify(r, NULL, NULL, NULL);
            seg_unref(r);
            if (p == 0)
                fail_msg("flip at offset %zu not detected", off);
        } else {
            assert_int_equal(rc, VT_ECORRUPT);
            assert_non_null(strstr(err.msg, "segment flip"));
        }
    }
    /* every truncation is rejected */
    for (size_t len = 0; len < fx.len; len++) {
        seg_reader *r = NULL;
        vt_err err;
        assert_int_equal(seg_open_mem("trunc", fx.data, len, &r, &err), VT_ECORRUPT);
    }
    free(copy);
    cleanup(&fx);
}

static void test_block_error_message(void **state)
{
    (void)state;
    fixture fx;
    write_sample(&fx, 1000);
    fx.data[16 + 70] ^= 0x10; /* inside block 0's timestamps */
    seg_reader *r;
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(seg_open_mem("x.vseg", fx.data, fx.len, &r, &err), VT_OK);
    atomic_uint_fast64_t counter = 0;
    r->corrupt_counter = &counter;
    seg_col c;
    seg_col_init(&c, VT_TYPE_FLOAT);
    assert_int_equal(seg_read_block(r, 0, &c, &err), VT_ECORRUPT);
    assert_string_equal(err.msg, "segment x.vseg: block 0 at offset 16: checksum mismatch");
    assert_int_equal(c.n, 0);
    assert_int_equal(atomic_load(&counter), 1);
    seg_col_free(&c);
    seg_unref(r);
    cleanup(&fx);
}

static void test_columns(void **state)
{
    (void)state;
    seg_col c;
    seg_col_init(&c, VT_TYPE_STRING);
    char buf[8];
    for (int i = 0; i < 1000; i++) {
        snprintf(buf, sizeof buf, "v%d", i);
        vt_str s = vt_str_c(buf);
        seg_col_push_copy(&c, i, &s);
    }
    seg_col_fix_strings(&c);
    assert_int_equal(c.n, 1000);
    assert_true(vt_str_eq(((vt_str *)c.val)[999], vt_str_c("v999")));
    assert_true(vt_str_eq(((vt_str *)c.val)[0], vt_str_c("v0")));
    seg_col_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_columns),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_every_byte_flip_detected),
        cmocka_unit_test(test_block_error_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
