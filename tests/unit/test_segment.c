/* tests/unit/test_segment.c — segment files: writer/reader round trip, index pruning, and
 * detection of every corrupted byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>

#include "common/buf.h"
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
    fx.data[16 + 3] ^= 0x10; /* inside block 0's timestamps (after the uvarint ts_len) */
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

/* Format 2: blocks carry no header (index entries are varints); seg_fix_checksums restores
 * every CRC after the checksum bytes themselves were damaged. */
static void test_compact_format_and_fix_checksums(void **state)
{
    (void)state;
    fixture fx;
    write_sample(&fx, 4);
    seg_reader *r = NULL;
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(seg_open_mem("ok", fx.data, fx.len, &r, &err), VT_OK);
    assert_int_equal(r->nblocks, 4); /* floats 4 + 3, strings 2, integers 3 */
    assert_int_equal(r->blocks[0].offset, 16);
    uint64_t framing = 0;
    for (size_t i = 0; i < r->nblocks; i++) {
        if (i > 0) /* contiguous */
            assert_int_equal(r->blocks[i].offset,
                             r->blocks[i - 1].offset + r->blocks[i - 1].length);
        framing += 5; /* uvarint ts_len (1 byte here) + CRC */
    }
    seg_breakdown bd;
    seg_get_breakdown(r, &bd);
    assert_int_equal(bd.points, 12);
    assert_int_equal(bd.blocks, 4);
    assert_int_equal(bd.block_framing, framing);
    assert_int_equal(bd.ts_bytes + bd.val_bytes + bd.block_framing + bd.meta_bytes, fx.len);
    seg_unref(r);
    uint8_t *copy = malloc(fx.len);
    assert_non_null(copy);
    memcpy(copy, fx.data, fx.len);
    size_t last_crc = (size_t)(16 + bd.ts_bytes + bd.val_bytes + bd.block_framing - 4);
    copy[last_crc] ^= 0xFF;    /* last block's CRC */
    copy[fx.len - 8] ^= 0x01;  /* footer CRC */
    copy[fx.len - 12] ^= 0x01; /* series/index CRC */
    assert_int_equal(seg_open_mem("bad", copy, fx.len, &r, &err), VT_ECORRUPT);
    seg_fix_checksums(copy, fx.len);
    assert_memory_equal(copy, fx.data, fx.len);
    for (size_t cut = 0; cut < 64 && cut < fx.len; cut++) /* never out of bounds */
        seg_fix_checksums(copy, cut);
    free(copy);
    cleanup(&fx);
}

/* ---- pre-aggregates ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

#define PA_N 600
#define PA_BLOCK 50

/* Expected pre-aggregates of one block, computed independently of segment.c. */
static void expect_float(const double *v, size_t n, seg_preagg *a)
{
    memset(a, 0, sizeof *a);
    a->sum.f = -0.0;
    a->min.f = INFINITY;
    a->max.f = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (v[i] != v[i]) {
            a->nan_count++;
            continue;
        }
        a->sum.f += v[i];
        a->min.f = v[i] < a->min.f ? v[i] : a->min.f;
        a->max.f = v[i] > a->max.f ? v[i] : a->max.f;
    }
}

static void expect_int(const int64_t *v, size_t n, seg_preagg *a)
{
    memset(a, 0, sizeof *a);
    __int128 sum = 0;
    a->min.i = INT64_MAX;
    a->max.i = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        sum += v[i];
        a->min.i = v[i] < a->min.i ? v[i] : a->min.i;
        a->max.i = v[i] > a->max.i ? v[i] : a->max.i;
    }
    a->sum_overflow = sum > INT64_MAX || sum < INT64_MIN;
    a->sum.u = (uint64_t)(unsigned __int128)sum;
}

static void expect_uint(const uint64_t *v, size_t n, seg_preagg *a)
{
    memset(a, 0, sizeof *a);
    unsigned __int128 sum = 0;
    a->min.u = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
        sum += v[i];
        a->min.u = v[i] < a->min.u ? v[i] : a->min.u;
        a->max.u = v[i] > a->max.u ? v[i] : a->max.u;
    }
    a->sum_overflow = sum > UINT64_MAX;
    a->sum.u = (uint64_t)sum;
}

static void expect_bool(const bool *v, size_t n, seg_preagg *a)
{
    memset(a, 0, sizeof *a);
    for (size_t i = 0; i < n; i++)
        a->true_count += v[i];
}

static void assert_agg(const seg_preagg *got, const seg_preagg *want, size_t block)
{
    if (got->sum.u != want->sum.u || got->min.u != want->min.u || got->max.u != want->max.u ||
        got->nan_count != want->nan_count || got->true_count != want->true_count ||
        got->sum_overflow != want->sum_overflow)
        fail_msg("block %zu: pre-aggregates differ: sum %016llx/%016llx min %016llx/%016llx "
                 "max %016llx/%016llx nan %u/%u true %u/%u ovf %d/%d",
                 block, (unsigned long long)got->sum.u, (unsigned long long)want->sum.u,
                 (unsigned long long)got->min.u, (unsigned long long)want->min.u,
                 (unsigned long long)got->max.u, (unsigned long long)want->max.u,
                 got->nan_count, want->nan_count, got->true_count, want->true_count,
                 got->sum_overflow, want->sum_overflow);
    assert_true(seg_preagg_equal(got, want));
}

/* Random float/int/uint/bool/string columns in blocks of 50, with NaN, ±Inf, -0.0 and integer
 * overflow blocks: every index entry's pre-aggregates equal the ones computed here. */
static void test_preagg_exact(void **state)
{
    (void)state;
    static double f[PA_N];
    static int64_t iv[PA_N];
    static uint64_t uv[PA_N];
    static bool bv[PA_N];
    for (size_t k = 0; k < PA_N; k++) {
        uint64_t x = rnd();
        f[k] = (double)(int64_t)(x % 2000001) / 1000.0 - 1000.0;
        bv[k] = (rnd() & 3) == 0;
        size_t blk = k / PA_BLOCK;
        /* block 0: large positive (overflows); 1: full range; 2-3: small; others: special
         * cases below */
        iv[k] = blk == 0 ? (int64_t)(rnd() >> 1)
                         : blk == 1 ? (int64_t)rnd() : (int64_t)(rnd() % 2001) - 1000;
        uv[k] = blk < 2 ? rnd() : rnd() % 100000;
    }
    for (size_t k = 2 * PA_BLOCK; k < 3 * PA_BLOCK; k += 7) /* block 2: some NaN */
        f[k] = k % 2 ? NAN : -NAN;
    for (size_t k = 3 * PA_BLOCK; k < 4 * PA_BLOCK; k++) /* block 3: all NaN */
        f[k] = NAN;
    f[4 * PA_BLOCK + 3] = INFINITY; /* block 4: +Inf and -Inf: sum is NaN */
    f[4 * PA_BLOCK + 9] = -INFINITY;
    f[5 * PA_BLOCK + 1] = INFINITY; /* block 5: +Inf only */
    f[6 * PA_BLOCK] = -0.0;         /* block 6: 1e308 twice overflows the sum to +Inf */
    f[6 * PA_BLOCK + 1] = 1e308;
    f[6 * PA_BLOCK + 2] = 1e308;
    for (size_t k = 7 * PA_BLOCK; k < 8 * PA_BLOCK; k++) /* block 7: zeros of both signs */
        f[k] = k % 3 ? 0.0 : -0.0;
    /* integers: block 4 overflows in the middle but the exact sum fits */
    iv[4 * PA_BLOCK] = INT64_MAX;
    iv[4 * PA_BLOCK + 1] = INT64_MAX;
    iv[4 * PA_BLOCK + 2] = INT64_MIN;
    iv[4 * PA_BLOCK + 3] = INT64_MIN;
    for (size_t k = 5 * PA_BLOCK; k < 6 * PA_BLOCK; k++) /* block 5: negative overflow */
        iv[k] = INT64_MIN / 4 - (int64_t)k;
    iv[6 * PA_BLOCK + 5] = INT64_MIN; /* block 6: extremes, sum fits */
    iv[6 * PA_BLOCK + 6] = INT64_MAX;
    uv[4 * PA_BLOCK] = UINT64_MAX; /* block 4: overflows by a little */
    uv[5 * PA_BLOCK] = UINT64_MAX - 10; /* block 5: max without overflow */
    for (size_t k = 5 * PA_BLOCK + 1; k < 6 * PA_BLOCK; k++)
        uv[k] = 0;
    for (size_t k = 6 * PA_BLOCK; k < 7 * PA_BLOCK; k++) /* block 6: all true */
        bv[k] = true;
    for (size_t k = 7 * PA_BLOCK; k < 8 * PA_BLOCK; k++) /* block 7: all false */
        bv[k] = false;

    char dir[64], path[128];
    snprintf(dir, sizeof dir, "/tmp/test_segment.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/pa.vseg", dir);
    seg_writer w;
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(seg_writer_begin(&w, path, 7, PA_BLOCK, &err), VT_OK);
    seg_col c[5];
    vt_type types[5] = {VT_TYPE_BOOL, VT_TYPE_FLOAT, VT_TYPE_INT, VT_TYPE_STRING, VT_TYPE_UINT};
    const void *src[5] = {bv, f, iv, NULL, uv};
    for (int t = 0; t < 5; t++) {
        seg_col_init(&c[t], types[t]);
        for (size_t k = 0; k < PA_N; k++) {
            vt_str sv = vt_str_c("x");
            const void *v = &sv;
            if (src[t])
                v = (const uint8_t *)src[t] + k * seg_type_size(types[t]);
            seg_col_push(&c[t], 1000 + (int64_t)k * 3, v);
        }
        assert_int_equal(seg_writer_add(&w, 3, (uint32_t)t, &c[t], &err), VT_OK);
    }
    seg_field_def fd[5] = {{vt_str_c("b"), VT_TYPE_BOOL},
                           {vt_str_c("f"), VT_TYPE_FLOAT},
                           {vt_str_c("i"), VT_TYPE_INT},
                           {vt_str_c("s"), VT_TYPE_STRING},
                           {vt_str_c("u"), VT_TYPE_UINT}};
    seg_series_def def = {3, vt_str_c("m"), NULL, 0, fd, 5};
    assert_int_equal(seg_writer_finish(&w, &def, 1, NULL, &err), VT_OK);

    seg_reader *r = NULL;
    assert_int_equal(seg_open_file(path, &r, &err), VT_OK);
    unsigned nb = PA_N / PA_BLOCK;
    assert_int_equal(r->nblocks, 5 * nb);
    unsigned int_ovf = 0, uint_ovf = 0, nan_blocks = 0;
    for (int t = 0; t < 5; t++) {
        size_t first, count;
        seg_find_blocks(r, 3, (uint32_t)t, &first, &count);
        assert_int_equal(count, nb);
        for (size_t b = 0; b < nb; b++) {
            const seg_index_entry *e = &r->blocks[first + b];
            size_t at = b * PA_BLOCK;
            seg_preagg want;
            memset(&want, 0, sizeof want);
            switch (types[t]) {
            case VT_TYPE_FLOAT:
                expect_float(f + at, PA_BLOCK, &want);
                nan_blocks += want.nan_count > 0;
                break;
            case VT_TYPE_INT:
                expect_int(iv + at, PA_BLOCK, &want);
                int_ovf += want.sum_overflow;
                break;
            case VT_TYPE_UINT:
                expect_uint(uv + at, PA_BLOCK, &want);
                uint_ovf += want.sum_overflow;
                break;
            case VT_TYPE_BOOL:
                expect_bool(bv + at, PA_BLOCK, &want);
                break;
            default:
                break;
            }
            assert_int_equal(e->count, PA_BLOCK);
            assert_agg(&e->agg, &want, first + b);
        }
    }
    /* the special cases were exercised */
    assert_true(int_ovf >= 2 && int_ovf < nb); /* blocks 0 and 5 (1: by chance) */
    assert_true(uint_ovf >= 3 && uint_ovf < nb);
    assert_int_equal(nan_blocks, 2);
    size_t ff, fc;
    seg_find_blocks(r, 3, 1, &ff, &fc);
    assert_int_equal(r->blocks[ff + 3].agg.nan_count, PA_BLOCK);
    assert_true(r->blocks[ff + 3].agg.min.f == INFINITY);
    assert_true(isnan(r->blocks[ff + 4].agg.sum.f));
    assert_true(r->blocks[ff + 5].agg.sum.f == INFINITY);
    assert_true(r->blocks[ff + 6].agg.sum.f == INFINITY);
    assert_true(r->blocks[ff + 6].agg.max.f == 1e308);
    seg_find_blocks(r, 3, 2, &ff, &fc);
    assert_false(r->blocks[ff + 4].agg.sum_overflow); /* wrapped twice, exact sum fits */
    assert_int_equal(r->blocks[ff + 4].agg.min.i, INT64_MIN);
    assert_int_equal(r->blocks[ff + 4].agg.max.i, INT64_MAX);
    assert_true(r->blocks[ff + 5].agg.sum_overflow);
    seg_find_blocks(r, 3, 0, &ff, &fc);
    assert_int_equal(r->blocks[ff + 6].agg.true_count, PA_BLOCK);
    assert_int_equal(r->blocks[ff + 7].agg.true_count, 0);
    seg_find_blocks(r, 3, 3, &ff, &fc);
    seg_preagg zero;
    memset(&zero, 0, sizeof zero);
    assert_true(seg_preagg_equal(&r->blocks[ff].agg, &zero)); /* strings: nothing */
    uint64_t blocks = 0;
    assert_int_equal(seg_verify(r, NULL, NULL, &blocks), 0);
    assert_int_equal(blocks, 5 * nb);
    seg_unref(r);
    for (int t = 0; t < 5; t++)
        seg_col_free(&c[t]);
    unlink(path);
    rmdir(dir);
}

typedef struct reports {
    unsigned n;
    char file[64];
    uint64_t offset;
    char problem[256];
} reports;

static void on_report(void *ctx, const char *file, uint64_t offset, const char *problem)
{
    reports *rp = ctx;
    rp->n++;
    snprintf(rp->file, sizeof rp->file, "%s", file);
    rp->offset = offset;
    snprintf(rp->problem, sizeof rp->problem, "%s", problem);
}

/* An index pre-aggregate altered (with every CRC fixed afterwards) opens, but verify and reads of
 * that block report the mismatch with file and block offset. */
static void test_preagg_mismatch_detected(void **state)
{
    (void)state;
    fixture fx;
    write_sample(&fx, 4);
    seg_reader *r = NULL;
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(seg_open_mem("ok", fx.data, fx.len, &r, &err), VT_OK);
    assert_int_equal(r->nblocks, 4);
    assert_true(r->blocks[0].agg.max.f == 3.75); /* 0, 1.25, 2.5, 3.75 */
    assert_true(r->blocks[0].agg.sum.f == 7.5);
    assert_int_equal(r->blocks[3].agg.sum.i, -3); /* integers 0, -1, -2 */
    assert_int_equal(r->blocks[3].agg.min.i, -2);
    assert_int_equal(r->blocks[3].agg.max.i, 0);
    uint64_t off0 = r->blocks[0].offset, off3 = r->blocks[3].offset;
    seg_unref(r);
    size_t foot = fx.len - 32;
    uint64_t index_off = 0;
    memcpy(&index_off, fx.data + foot + 8, 8); /* little-endian host */
    uint8_t *copy = malloc(fx.len);
    assert_non_null(copy);

    /* (a) float block 0: max 3.75 -> next double up */
    memcpy(copy, fx.data, fx.len);
    double mx = 3.75;
    uint8_t pat[8];
    memcpy(pat, &mx, 8);
    uint8_t *hit = NULL;
    for (size_t at = (size_t)index_off; at + 8 <= foot && !hit; at++)
        if (memcmp(copy + at, pat, 8) == 0)
            hit = copy + at;
    assert_non_null(hit);
    hit[0] ^= 0x01;
    seg_fix_checksums(copy, fx.len);
    assert_int_equal(seg_open_mem("pa.vseg", copy, fx.len, &r, &err), VT_OK);
    assert_true(r->blocks[0].agg.max.f > 3.75);
    reports rp;
    memset(&rp, 0, sizeof rp);
    assert_int_equal(seg_verify(r, on_report, &rp, NULL), 1);
    assert_int_equal(rp.n, 1);
    assert_string_equal(rp.file, "pa.vseg");
    assert_int_equal(rp.offset, off0);
    assert_non_null(strstr(rp.problem, "pre-aggregates do not match the values"));
    seg_col c;
    seg_col_init(&c, VT_TYPE_FLOAT);
    assert_int_equal(seg_read_block(r, 0, &c, &err), VT_ECORRUPT);
    assert_int_equal(c.n, 0);
    assert_int_equal(seg_read_block(r, 1, &c, &err), VT_OK); /* the other blocks still read */
    seg_col_free(&c);
    seg_unref(r);

    /* (b) the integer block is the last entry: ... flags, zz(sum), zz(min), max - min */
    memcpy(copy, fx.data, fx.len);
    assert_int_equal(copy[foot - 4], 0);    /* flags */
    assert_int_equal(copy[foot - 3], 5);    /* zz(-3) */
    assert_int_equal(copy[foot - 2], 3);    /* zz(-2) */
    assert_int_equal(copy[foot - 1], 2);    /* 0 - -2 */
    copy[foot - 3] = 7;                     /* sum -4 */
    seg_fix_checksums(copy, fx.len);
    assert_int_equal(seg_open_mem("pa.vseg", copy, fx.len, &r, &err), VT_OK);
    memset(&rp, 0, sizeof rp);
    assert_int_equal(seg_verify(r, on_report, &rp, NULL), 1);
    assert_int_equal(rp.offset, off3);
    assert_non_null(strstr(rp.problem, "block 3 at offset"));
    assert_non_null(strstr(rp.problem, "pre-aggregates do not match the values"));
    seg_unref(r);
    /* the overflow flag alone is a mismatch too */
    memcpy(copy, fx.data, fx.len);
    copy[foot - 4] = 1;
    seg_fix_checksums(copy, fx.len);
    assert_int_equal(seg_open_mem("pa.vseg", copy, fx.len, &r, &err), VT_OK);
    assert_int_equal(seg_verify(r, NULL, NULL, NULL), 1);
    seg_unref(r);

    /* (c) structurally impossible pre-aggregates are refused on open */
    memcpy(copy, fx.data, fx.len);
    copy[foot - 4] = 2; /* unknown flag */
    seg_fix_checksums(copy, fx.len);
    assert_int_equal(seg_open_mem("pa.vseg", copy, fx.len, &r, &err), VT_ECORRUPT);
    assert_non_null(strstr(err.msg, "bad pre-aggregates"));
    free(copy);
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
        cmocka_unit_test(test_compact_format_and_fix_checksums),
        cmocka_unit_test(test_preagg_exact),
        cmocka_unit_test(test_preagg_mismatch_detected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
