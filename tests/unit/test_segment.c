/* tests/unit/test_segment.c — segment files: writer/reader round trip, index pruning, and
 * detection of every corrupted byte, in format version 4 (meta stored and zstd-compressed) and
 * version 3 (written by seg_writer_begin_version, and the fuzz seeds the version 3 code wrote);
 * pre-aggregates and selector statistics exact for every type and edge case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/durable.h"
#include "engine/segment.h"

#ifndef VOLTA_SOURCE_DIR
#define VOLTA_SOURCE_DIR "."
#endif

/* Formats a test runs in: version 5 as written by default (version 4's layout), version 5
 * with the meta stored uncompressed (so tests can edit index bytes), and version 3. (The
 * names V4* are kept: the layout they test is version 4's.) */
typedef struct format {
    unsigned version;
    int meta_level;   /* -1: the writer's default */
    bool provisional; /* seg_writer_begin_provisional: fast encoders, header flag */
} format;
static const format V4 = {5, -1, false}, V4_STORED = {5, 0, false}, V3 = {3, -1, false},
                    V5_PROVISIONAL = {5, -1, true};
#define NFORMATS 4
static const format *const FORMATS[NFORMATS] = {&V4, &V4_STORED, &V3, &V5_PROVISIONAL};

static void begin(seg_writer *w, const char *path, uint64_t id, size_t block_points,
                  const format *fm)
{
    vt_err err;
    vt_err_clear(&err);
    if (fm->provisional)
        assert_int_equal(seg_writer_begin_provisional(w, path, id, block_points, &err), VT_OK);
    else
        assert_int_equal(seg_writer_begin_version(w, path, id, block_points, fm->version, &err),
                         VT_OK);
    if (fm->meta_level >= 0)
        w->meta_level = fm->meta_level;
}

static size_t footer_len(const format *fm)
{
    return fm->version == 3 ? 32 : 44;
}

typedef struct fixture {
    char dir[64];
    char path[128];
    char *data;
    size_t len;
} fixture;

/* series 1 (cpu,host=a): f float x 7, s string x 2; series 5 (mem): n integer x 3 */
static void write_sample(fixture *fx, size_t block_points, const format *fm)
{
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_segment.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof fx->path, "%s/1.vseg", fx->dir);
    seg_writer w;
    vt_err err;
    vt_err_clear(&err);
    begin(&w, fx->path, 42, block_points, fm);
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
    for (int fi = 0; fi < NFORMATS; fi++) {
        const format *fm = FORMATS[fi];
        fixture fx;
        write_sample(&fx, 3, fm);
        seg_reader *r;
        vt_err err;
        vt_err_clear(&err);
        assert_int_equal(seg_open_file(fx.path, &r, &err), VT_OK);
        assert_int_equal(r->version, fm->version);
        assert_int_equal(r->provisional, fm->provisional);
        assert_int_equal((unsigned char)fx.data[6], fm->provisional ? 1 : 0); /* header flags */
        assert_int_equal(r->segment_id, 42);
        assert_int_equal(r->nseries, 2);
        assert_int_equal(r->nblocks, 3 + 1 + 1); /* 7 floats in blocks of 3 */
        const seg_series *s = seg_find_series(r, 1);
        assert_non_null(s);
        assert_int_equal(s->ntags, 1);
        assert_true(vt_str_eq(s->measurement, vt_str_c("cpu")));
        assert_true(vt_str_eq(s->tags[0].value, vt_str_c("a")));
        assert_int_equal(seg_field_no(s, "s", 1), 1);
        assert_null(seg_find_series(r, 2));
        assert_non_null(seg_find_series(r, 5));
        size_t first, count;
        seg_find_blocks(r, 1, 0, &first, &count);
        assert_int_equal(first, 0);
        assert_int_equal(count, 3);
        assert_int_equal(r->blocks[1].min_time, 130);
        assert_int_equal(r->blocks[1].max_time, 150);
        assert_int_equal(r->blocks[2].count, 1);
        /* selector statistics: version 4 only */
        for (size_t b = 0; b < r->nblocks; b++)
            assert_int_equal(r->blocks[b].agg.has_selectors, fm->version >= 4);
        if (fm->version >= 4) {
            const seg_preagg *a = &r->blocks[1].agg; /* 3.75, 5, 6.25 at 130, 140, 150 */
            assert_true(a->first.f == 3.75 && a->last.f == 6.25);
            assert_int_equal(a->min_at, 130);
            assert_int_equal(a->max_at, 150);
            a = &r->blocks[2].agg; /* single point 7.5 at 160 */
            assert_true(a->first.f == 7.5 && a->last.f == 7.5);
            assert_int_equal(a->min_at, 160);
            assert_int_equal(a->max_at, 160);
            a = &r->blocks[4].agg; /* integers 0, -1, -2 at 0, 1, 2 */
            assert_int_equal(a->first.i, 0);
            assert_int_equal(a->last.i, -2);
            assert_int_equal(a->min_at, 2);
            assert_int_equal(a->max_at, 0);
        }
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
    /* no other version is written */
    seg_writer w;
    vt_err err;
    assert_int_equal(seg_writer_begin_version(&w, "/tmp/never.vseg", 1, 10, 2, &err), VT_EINVAL);
    seg_writer_abort(&w);
    /* version 4 is read, never written: its readers do not know Rice2 blocks */
    assert_int_equal(seg_writer_begin_version(&w, "/tmp/never.vseg", 1, 10, 4, &err), VT_EINVAL);
    seg_writer_abort(&w);
}

/* nseries series of 3 floats each (many similar names: a meta zstd compresses well). */
static void write_many(fixture *fx, unsigned nseries, size_t points, size_t block_points,
                       const format *fm)
{
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_segment.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof fx->path, "%s/m.vseg", fx->dir);
    seg_writer w;
    vt_err err;
    vt_err_clear(&err);
    begin(&w, fx->path, 9, block_points, fm);
    seg_series_def *defs = calloc(nseries, sizeof *defs);
    char (*names)[32] = calloc(nseries, sizeof *names);
    assert_non_null(defs);
    assert_non_null(names);
    vt_tag *tags = calloc(nseries * 2, sizeof *tags);
    assert_non_null(tags);
    seg_field_def fd[1] = {{vt_str_c("value"), VT_TYPE_FLOAT}};
    seg_col c;
    seg_col_init(&c, VT_TYPE_FLOAT);
    for (unsigned i = 0; i < nseries; i++) {
        seg_col_clear(&c);
        for (size_t k = 0; k < points; k++) {
            double v = (double)((i * 7 + k * 13) % 1000) / 8.0;
            seg_col_push(&c, (int64_t)(k * 3600) * 1000000000LL, &v);
        }
        assert_int_equal(seg_writer_add(&w, 10 + i * 3, 0, &c, &err), VT_OK);
        snprintf(names[i], sizeof names[i], "plant %u", i);
        tags[2 * i] = (vt_tag){vt_str_c("plant"), vt_str_c(names[i])};
        tags[2 * i + 1] = (vt_tag){vt_str_c("region"), vt_str_c("southeast")};
        defs[i] = (seg_series_def){10 + i * 3, vt_str_c("generation"), &tags[2 * i], 2, fd, 1};
    }
    seg_col_free(&c);
    uint64_t bytes = 0;
    assert_int_equal(seg_writer_finish(&w, defs, nseries, &bytes, &err), VT_OK);
    free(defs);
    free(names);
    free(tags);
    assert_int_equal(file_read_all(fx->path, &fx->data, &fx->len, &err), VT_OK);
    assert_int_equal(bytes, fx->len);
}

static void flips_detected(const fixture *fx)
{
    uint8_t *copy = malloc(fx->len);
    assert_non_null(copy);
    for (size_t off = 0; off < fx->len; off++) {
        if (off >= 6 && off < 16)
            continue; /* flags and segment id: checked against the manifest by the engine */
        memcpy(copy, fx->data, fx->len);
        copy[off] ^= 0x01;
        seg_reader *r = NULL;
        vt_err err;
        vt_err_clear(&err);
        vt_rc rc = seg_open_mem("flip", copy, fx->len, &r, &err);
        if (rc == VT_OK) {
            unsigned p = seg_verify(r, NULL, NULL, NULL);
            seg_unref(r);
            if (p == 0)
                fail_msg("flip at offset %zu of %zu not detected", off, fx->len);
        } else {
            assert_int_equal(rc, VT_ECORRUPT);
            assert_non_null(strstr(err.msg, "segment flip"));
        }
    }
    /* every truncation is rejected */
    for (size_t len = 0; len < fx->len; len++) {
        seg_reader *r = NULL;
        vt_err err;
        assert_int_equal(seg_open_mem("trunc", fx->data, len, &r, &err), VT_ECORRUPT);
    }
    free(copy);
}

/* Flipping any byte after the header is caught by open or by verify. */
static void test_every_byte_flip_detected(void **state)
{
    (void)state;
    for (int fi = 0; fi < NFORMATS; fi++) {
        fixture fx;
        write_sample(&fx, 4, FORMATS[fi]);
        flips_detected(&fx);
        cleanup(&fx);
    }
    /* a compressed meta */
    fixture fx;
    write_many(&fx, 40, 5, 4, &V4);
    seg_reader *r = NULL;
    vt_err err;
    assert_int_equal(seg_open_mem("z", fx.data, fx.len, &r, &err), VT_OK);
    assert_non_null(r->meta_owned);
    seg_unref(r);
    flips_detected(&fx);
    cleanup(&fx);
}

static void test_block_error_message(void **state)
{
    (void)state;
    for (int fi = 0; fi < NFORMATS; fi++) {
        fixture fx;
        write_sample(&fx, 1000, FORMATS[fi]);
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
}

/* Blocks carry no header (index entries are varints); seg_fix_checksums restores every CRC
 * after the checksum bytes themselves were damaged (v3, v4 stored, v4 zstd). */
static void fix_checksums_restores(const fixture *fx)
{
    seg_reader *r = NULL;
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(seg_open_mem("ok", fx->data, fx->len, &r, &err), VT_OK);
    uint64_t framing = 0;
    for (size_t i = 0; i < r->nblocks; i++) {
        if (i > 0) /* contiguous */
            assert_int_equal(r->blocks[i].offset,
                             r->blocks[i - 1].offset + r->blocks[i - 1].length);
        framing += 5; /* uvarint ts_len (1 byte here) + CRC */
    }
    assert_int_equal(r->blocks[0].offset, 16);
    seg_breakdown bd;
    seg_get_breakdown(r, &bd);
    assert_int_equal(bd.blocks, r->nblocks);
    assert_int_equal(bd.block_framing, framing);
    assert_int_equal(bd.ts_bytes + bd.val_bytes + bd.block_framing + bd.meta_bytes, fx->len);
    seg_unref(r);
    uint8_t *copy = malloc(fx->len);
    assert_non_null(copy);
    memcpy(copy, fx->data, fx->len);
    size_t last_crc = (size_t)(16 + bd.ts_bytes + bd.val_bytes + bd.block_framing - 4);
    copy[last_crc] ^= 0xFF;     /* last block's CRC */
    copy[16 + 4] ^= 0xFF;       /* a byte of the first block's CRC (a 5-byte block... or data) */
    copy[fx->len - 8] ^= 0x01;  /* footer CRC */
    copy[fx->len - 12] ^= 0x01; /* series/index (meta) CRC */
    assert_int_equal(seg_open_mem("bad", copy, fx->len, &r, &err), VT_ECORRUPT);
    copy[16 + 4] ^= 0xFF;
    seg_fix_checksums(copy, fx->len);
    assert_memory_equal(copy, fx->data, fx->len);
    for (size_t cut = 0; cut < 64 && cut < fx->len; cut++) /* never out of bounds */
        seg_fix_checksums(copy, cut);
    free(copy);
}

static void test_compact_format_and_fix_checksums(void **state)
{
    (void)state;
    for (int fi = 0; fi < NFORMATS; fi++) {
        fixture fx;
        write_sample(&fx, 4, FORMATS[fi]);
        seg_reader *r = NULL;
        vt_err err;
        assert_int_equal(seg_open_mem("ok", fx.data, fx.len, &r, &err), VT_OK);
        assert_int_equal(r->nblocks, 4); /* floats 4 + 3, strings 2, integers 3 */
        seg_breakdown bd;
        seg_get_breakdown(r, &bd);
        assert_int_equal(bd.points, 12);
        seg_unref(r);
        fix_checksums_restores(&fx);
        cleanup(&fx);
    }
    fixture fx;
    write_many(&fx, 40, 5, 4, &V4);
    fix_checksums_restores(&fx);
    /* a zstd meta that no longer decodes still gets its meta and footer CRC fixed */
    uint8_t *copy = malloc(fx.len);
    assert_non_null(copy);
    memcpy(copy, fx.data, fx.len);
    uint64_t meta_off;
    memcpy(&meta_off, copy + fx.len - 44, 8);
    copy[meta_off + 6] ^= 0x55;
    seg_fix_checksums(copy, fx.len);
    seg_reader *r = NULL;
    vt_err err;
    assert_int_equal(seg_open_mem("z.vseg", copy, fx.len, &r, &err), VT_ECORRUPT);
    assert_non_null(strstr(err.msg, "zstd"));
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

static uint64_t bits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

/* Expected pre-aggregates of one block (values v at times t), computed independently of
 * segment.c: min_at/max_at are found by a second pass looking for the first equal value. */
static void expect_float(const double *v, const int64_t *t, size_t n, seg_preagg *a)
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
    a->has_selectors = true;
    a->first.u = bits(v[0]);
    a->last.u = bits(v[n - 1]);
    if (a->nan_count == n)
        return;
    size_t i = 0;
    while (!(v[i] == a->min.f))
        i++;
    a->min_at = t[i];
    i = 0;
    while (!(v[i] == a->max.f))
        i++;
    a->max_at = t[i];
}

static void expect_int(const int64_t *v, const int64_t *t, size_t n, seg_preagg *a)
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
    a->has_selectors = true;
    a->first.i = v[0];
    a->last.i = v[n - 1];
    size_t i = 0, j = 0;
    while (v[i] != a->min.i)
        i++;
    while (v[j] != a->max.i)
        j++;
    a->min_at = t[i];
    a->max_at = t[j];
}

static void expect_uint(const uint64_t *v, const int64_t *t, size_t n, seg_preagg *a)
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
    a->has_selectors = true;
    a->first.u = v[0];
    a->last.u = v[n - 1];
    size_t i = 0, j = 0;
    while (v[i] != a->min.u)
        i++;
    while (v[j] != a->max.u)
        j++;
    a->min_at = t[i];
    a->max_at = t[j];
}

static void expect_bool(const bool *v, const int64_t *t, size_t n, seg_preagg *a)
{
    memset(a, 0, sizeof *a);
    for (size_t i = 0; i < n; i++)
        a->true_count += v[i];
    a->has_selectors = true;
    a->first.u = v[0];
    a->last.u = v[n - 1];
    bool mn = a->true_count == n, mx = a->true_count > 0;
    size_t i = 0, j = 0;
    while (v[i] != mn)
        i++;
    while (v[j] != mx)
        j++;
    a->min_at = t[i];
    a->max_at = t[j];
}

static void expect_str_agg(seg_preagg *a)
{
    memset(a, 0, sizeof *a);
    a->has_selectors = true;
}

/* A version 3 entry holds no selector statistics. */
static void expect_v3(seg_preagg *a)
{
    a->has_selectors = false;
    a->first.u = a->last.u = 0;
    a->min_at = a->max_at = 0;
}

static void assert_agg(const seg_preagg *got, const seg_preagg *want, size_t block)
{
    if (got->sum.u != want->sum.u || got->min.u != want->min.u || got->max.u != want->max.u ||
        got->nan_count != want->nan_count || got->true_count != want->true_count ||
        got->sum_overflow != want->sum_overflow || got->has_selectors != want->has_selectors ||
        got->first.u != want->first.u || got->last.u != want->last.u ||
        got->min_at != want->min_at || got->max_at != want->max_at)
        fail_msg("block %zu: pre-aggregates differ: sum %016llx/%016llx min %016llx/%016llx "
                 "max %016llx/%016llx nan %u/%u true %u/%u ovf %d/%d sel %d/%d "
                 "first %016llx/%016llx last %016llx/%016llx min_at %lld/%lld max_at %lld/%lld",
                 block, (unsigned long long)got->sum.u, (unsigned long long)want->sum.u,
                 (unsigned long long)got->min.u, (unsigned long long)want->min.u,
                 (unsigned long long)got->max.u, (unsigned long long)want->max.u,
                 got->nan_count, want->nan_count, got->true_count, want->true_count,
                 got->sum_overflow, want->sum_overflow, got->has_selectors,
                 want->has_selectors, (unsigned long long)got->first.u,
                 (unsigned long long)want->first.u, (unsigned long long)got->last.u,
                 (unsigned long long)want->last.u, (long long)got->min_at,
                 (long long)want->min_at, (long long)got->max_at, (long long)want->max_at);
    assert_true(seg_preagg_equal(got, want));
}

/* Writes columns of the five types (fields b, f, i, s, u of series 3, measurement "m") with the
 * given values and times, in blocks of block_points, in format fm; returns the open reader. */
typedef struct cols {
    size_t n;
    const int64_t *t;
    const bool *b;
    const double *f;
    const int64_t *i;
    const uint64_t *u;
} cols;

static seg_reader *write_cols(const char *dir, const cols *cl, size_t block_points,
                              const format *fm)
{
    char path[160];
    snprintf(path, sizeof path, "%s/c%u-%d.vseg", dir, fm->version, fm->meta_level);
    seg_writer w;
    vt_err err;
    vt_err_clear(&err);
    begin(&w, path, 7, block_points, fm);
    vt_type types[5] = {VT_TYPE_BOOL, VT_TYPE_FLOAT, VT_TYPE_INT, VT_TYPE_STRING, VT_TYPE_UINT};
    const void *src[5] = {cl->b, cl->f, cl->i, NULL, cl->u};
    for (int t = 0; t < 5; t++) {
        seg_col c;
        seg_col_init(&c, types[t]);
        for (size_t k = 0; k < cl->n; k++) {
            vt_str sv = vt_str_c("x");
            const void *v = &sv;
            if (src[t])
                v = (const uint8_t *)src[t] + k * seg_type_size(types[t]);
            seg_col_push(&c, cl->t[k], v);
        }
        assert_int_equal(seg_writer_add(&w, 3, (uint32_t)t, &c, &err), VT_OK);
        seg_col_free(&c);
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
    assert_int_equal(r->version, fm->version);
    unlink(path);
    return r;
}

/* Every block's pre-aggregates equal the expected ones (independently computed); returns the
 * number of blocks with integer / unsigned overflow and with NaN through the out params. */
static void check_cols(const seg_reader *r, const cols *cl, size_t block_points, unsigned *int_ovf,
                       unsigned *uint_ovf, unsigned *nan_blocks)
{
    for (int t = 0; t < 5; t++) {
        size_t first, count;
        seg_find_blocks(r, 3, (uint32_t)t, &first, &count);
        assert_int_equal(count, (cl->n + block_points - 1) / block_points);
        for (size_t b = 0; b < count; b++) {
            const seg_index_entry *e = &r->blocks[first + b];
            size_t at = b * block_points;
            size_t n = cl->n - at < block_points ? cl->n - at : block_points;
            const int64_t *tt = cl->t + at;
            seg_preagg want;
            switch (t) {
            case 0:
                expect_bool(cl->b + at, tt, n, &want);
                break;
            case 1:
                expect_float(cl->f + at, tt, n, &want);
                *nan_blocks += want.nan_count > 0;
                break;
            case 2:
                expect_int(cl->i + at, tt, n, &want);
                *int_ovf += want.sum_overflow;
                break;
            case 3:
                expect_str_agg(&want);
                break;
            default:
                expect_uint(cl->u + at, tt, n, &want);
                *uint_ovf += want.sum_overflow;
                break;
            }
            if (r->version == 3)
                expect_v3(&want);
            assert_int_equal(e->count, n);
            assert_agg(&e->agg, &want, first + b);
        }
    }
    uint64_t blocks = 0;
    assert_int_equal(seg_verify(r, NULL, NULL, &blocks), 0);
    assert_int_equal(blocks, r->nblocks);
}

/* Random float/int/uint/bool/string columns in blocks of 50, with NaN, ±Inf, -0.0 and integer
 * overflow blocks: every index entry's pre-aggregates equal the ones computed here, in every
 * format. */
static void test_preagg_exact(void **state)
{
    (void)state;
    static double f[PA_N];
    static int64_t iv[PA_N], tv[PA_N];
    static uint64_t uv[PA_N];
    static bool bv[PA_N];
    for (size_t k = 0; k < PA_N; k++) {
        uint64_t x = rnd();
        tv[k] = 1000 + (int64_t)k * 3;
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

    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/test_segment.XXXXXX");
    assert_non_null(mkdtemp(dir));
    cols cl = {PA_N, tv, bv, f, iv, uv};
    for (int fi = 0; fi < NFORMATS; fi++) {
        seg_reader *r = write_cols(dir, &cl, PA_BLOCK, FORMATS[fi]);
        unsigned nb = PA_N / PA_BLOCK, int_ovf = 0, uint_ovf = 0, nan_blocks = 0;
        assert_int_equal(r->nblocks, 5 * nb);
        check_cols(r, &cl, PA_BLOCK, &int_ovf, &uint_ovf, &nan_blocks);
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
        seg_unref(r);
    }
    rmdir(dir);
}

/* Selector statistics on purpose-made edge cases, checked against hand-written values and
 * against the independent computation, in version 4 (stored and zstd meta). Blocks of 4:
 *   block 0: ties (min and max both appear twice: the FIRST time counts)
 *   block 1: NaN first and last, values between
 *   block 2: all NaN (min_at/max_at unset, first/last keep their NaN bits)
 *   block 3: -0.0 then 0.0 (min and max are -0.0 at the first point), +Inf
 *   block 4: a single point (the column's last) */
static void test_selectors(void **state)
{
    (void)state;
    const double nan1 = NAN, nan2 = -NAN;
    double f[17] = {5,    1,    5,    1,    nan2, 2.5,  0.125,    nan1, nan2,
                    nan1, nan2, nan1, nan2, -0.0, 0.0,  INFINITY, 42.001};
    int64_t iv[17] = {3, -7, 3, -7, INT64_MIN, 0, INT64_MAX, INT64_MIN, 1, 1, 1, 1, 0, -1, 0, -1, 9};
    uint64_t uv[17] = {3, 7, 3, 7, UINT64_MAX, 0, UINT64_MAX, 0, 1, 1, 1, 1, 2, 2, 0, 0, 5};
    bool bv[17] = {true, false, true, false, true, true, true, true, false, false, false, false,
                   false, true, false, true, true};
    int64_t tv[17];
    for (int k = 0; k < 17; k++) /* hourly nanoseconds, one gap: times scale by 10^11 */
        tv[k] = (int64_t)1700000000 * 1000000000LL + (k + (k > 9) * 5) * 3600000000000LL;
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/test_segment.XXXXXX");
    assert_non_null(mkdtemp(dir));
    cols cl = {17, tv, bv, f, iv, uv};
    for (int fi = 0; fi < 2; fi++) {
        seg_reader *r = write_cols(dir, &cl, 4, FORMATS[fi]);
        unsigned a = 0, b = 0, c = 0;
        check_cols(r, &cl, 4, &a, &b, &c);
        size_t ff, fc;
        seg_find_blocks(r, 3, 1, &ff, &fc); /* floats */
        assert_int_equal(fc, 5);
        const seg_preagg *p = &r->blocks[ff].agg;
        assert_true(p->min.f == 1 && p->max.f == 5 && p->first.f == 5 && p->last.f == 1);
        assert_int_equal(p->min_at, tv[1]);
        assert_int_equal(p->max_at, tv[0]);
        p = &r->blocks[ff + 1].agg;
        assert_int_equal(p->nan_count, 2);
        assert_int_equal(p->first.u, bits(nan2));
        assert_int_equal(p->last.u, bits(nan1));
        assert_int_equal(p->min_at, tv[6]);
        assert_int_equal(p->max_at, tv[5]);
        p = &r->blocks[ff + 2].agg;
        assert_int_equal(p->nan_count, 4);
        assert_int_equal(p->first.u, bits(nan2));
        assert_int_equal(p->last.u, bits(nan1));
        assert_int_equal(p->min_at, 0);
        assert_int_equal(p->max_at, 0);
        p = &r->blocks[ff + 3].agg;
        assert_int_equal(p->min.u, bits(-0.0));
        assert_int_equal(p->min_at, tv[13]);
        assert_true(p->max.f == INFINITY);
        assert_int_equal(p->max_at, tv[15]);
        assert_int_equal(p->first.u, bits(nan2));
        p = &r->blocks[ff + 4].agg;
        assert_int_equal(r->blocks[ff + 4].count, 1);
        assert_true(p->first.f == 42.001 && p->last.f == 42.001 && p->min.f == 42.001);
        assert_int_equal(p->min_at, tv[16]);
        assert_int_equal(p->max_at, tv[16]);
        seg_find_blocks(r, 3, 2, &ff, &fc); /* integers */
        p = &r->blocks[ff].agg;
        assert_int_equal(p->min_at, tv[1]);
        assert_int_equal(p->max_at, tv[0]);
        p = &r->blocks[ff + 1].agg;
        assert_int_equal(p->min.i, INT64_MIN);
        assert_int_equal(p->min_at, tv[4]);
        assert_int_equal(p->max_at, tv[6]);
        assert_int_equal(p->last.i, INT64_MIN);
        p = &r->blocks[ff + 2].agg; /* all equal */
        assert_int_equal(p->min_at, tv[8]);
        assert_int_equal(p->max_at, tv[8]);
        seg_find_blocks(r, 3, 4, &ff, &fc); /* unsigned */
        p = &r->blocks[ff + 1].agg;
        assert_int_equal(p->max.u, UINT64_MAX);
        assert_int_equal(p->max_at, tv[4]);
        assert_int_equal(p->min_at, tv[5]);
        assert_int_equal(p->first.u, UINT64_MAX);
        assert_int_equal(p->last.u, 0);
        seg_find_blocks(r, 3, 0, &ff, &fc); /* booleans */
        p = &r->blocks[ff].agg; /* true false true false */
        assert_int_equal(p->first.u, 1);
        assert_int_equal(p->last.u, 0);
        assert_int_equal(p->min_at, tv[1]);
        assert_int_equal(p->max_at, tv[0]);
        p = &r->blocks[ff + 1].agg; /* all true */
        assert_int_equal(p->min_at, tv[4]);
        assert_int_equal(p->max_at, tv[4]);
        p = &r->blocks[ff + 2].agg; /* all false */
        assert_int_equal(p->first.u, 0);
        assert_int_equal(p->min_at, tv[8]);
        assert_int_equal(p->max_at, tv[8]);
        seg_find_blocks(r, 3, 3, &ff, &fc); /* strings: selectors unset */
        p = &r->blocks[ff].agg;
        assert_true(p->has_selectors);
        assert_int_equal(p->first.u, 0);
        assert_int_equal(p->min_at, 0);
        seg_unref(r);
    }
    rmdir(dir);
}

/* Times at both ends of int64 (differences that wrap, INT64_MIN itself): every format opens,
 * verifies and keeps the selector times. */
static void test_extreme_times(void **state)
{
    (void)state;
    int64_t tv[6] = {INT64_MIN, INT64_MIN + 1, -1, 0, INT64_MAX - 1, INT64_MAX};
    double f[6] = {1, -2, 3, 3, -2, 0.5};
    int64_t iv[6] = {0, 1, 2, 3, 4, 5};
    uint64_t uv[6] = {9, 9, 1, 1, 0, 0};
    bool bv[6] = {false, true, false, true, false, true};
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/test_segment.XXXXXX");
    assert_non_null(mkdtemp(dir));
    for (size_t bp = 1; bp <= 6; bp++) {
        cols cl = {6, tv, bv, f, iv, uv};
        for (int fi = 0; fi < NFORMATS; fi++) {
            seg_reader *r = write_cols(dir, &cl, bp, FORMATS[fi]);
            unsigned a = 0, b = 0, c = 0;
            check_cols(r, &cl, bp, &a, &b, &c);
            seg_unref(r);
        }
    }
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

/* copy with byte foot - back set to val, checksums fixed: opens, and verify reports exactly
 * block bi as a pre-aggregate mismatch. */
static void expect_mismatch(const fixture *fx, uint8_t *copy, size_t at, uint8_t val, size_t bi,
                            uint64_t block_off)
{
    memcpy(copy, fx->data, fx->len);
    copy[at] = val;
    seg_fix_checksums(copy, fx->len);
    seg_reader *r = NULL;
    vt_err err;
    vt_err_clear(&err);
    if (seg_open_mem("pa.vseg", copy, fx->len, &r, &err) != VT_OK)
        fail_msg("byte %zu = %u: open failed: %s", at, val, err.msg);
    reports rp;
    memset(&rp, 0, sizeof rp);
    assert_int_equal(seg_verify(r, on_report, &rp, NULL), 1);
    assert_string_equal(rp.file, "pa.vseg");
    assert_int_equal(rp.offset, block_off);
    char want[64];
    snprintf(want, sizeof want, "block %zu at offset", bi);
    assert_non_null(strstr(rp.problem, want));
    assert_non_null(strstr(rp.problem, "pre-aggregates do not match the values"));
    seg_unref(r);
}

/* An index pre-aggregate altered (with every CRC fixed afterwards) opens, but verify and reads of
 * that block report the mismatch with file and block offset. Version 3 and version 4 (stored
 * meta, so that index bytes can be edited; a zstd meta is covered by its CRC). */
static void test_preagg_mismatch_detected(void **state)
{
    (void)state;
    for (int fi = 1; fi < 3; fi++) {
        const format *fm = FORMATS[fi];
        fixture fx;
        write_sample(&fx, 4, fm);
        seg_reader *r = NULL;
        vt_err err;
        vt_err_clear(&err);
        assert_int_equal(seg_open_mem("ok", fx.data, fx.len, &r, &err), VT_OK);
        assert_null(r->meta_owned);
        assert_int_equal(r->nblocks, 4);
        assert_true(r->blocks[0].agg.max.f == 3.75); /* 0, 1.25, 2.5, 3.75 */
        assert_true(r->blocks[0].agg.sum.f == 7.5);
        assert_int_equal(r->blocks[3].agg.sum.i, -3); /* integers 0, -1, -2 at 0, 1, 2 */
        assert_int_equal(r->blocks[3].agg.min.i, -2);
        assert_int_equal(r->blocks[3].agg.max.i, 0);
        uint64_t off0 = r->blocks[0].offset, off3 = r->blocks[3].offset;
        seg_unref(r);
        size_t foot = fx.len - footer_len(fm);
        uint8_t *copy = malloc(fx.len);
        assert_non_null(copy);

        if (fm->version == 3) {
            /* (a) float block 0: max 3.75 -> next double up */
            uint64_t index_off = 0;
            memcpy(&index_off, fx.data + foot + 8, 8); /* little-endian host */
            double mx = 3.75;
            uint8_t pat[8];
            memcpy(pat, &mx, 8);
            size_t hit = 0;
            for (size_t at = (size_t)index_off; at + 8 <= foot && !hit; at++)
                if (memcmp(fx.data + at, pat, 8) == 0)
                    hit = at;
            assert_true(hit > 0);
            expect_mismatch(&fx, copy, hit, (uint8_t)(fx.data[hit] ^ 0x01), 0, off0);
            /* (b) the integer block is the last entry: flags, zz(sum), zz(min), max - min */
            assert_int_equal(fx.data[foot - 4], 0); /* flags */
            assert_int_equal(fx.data[foot - 3], 5); /* zz(-3) */
            assert_int_equal(fx.data[foot - 2], 3); /* zz(-2) */
            assert_int_equal(fx.data[foot - 1], 2); /* 0 - -2 */
            expect_mismatch(&fx, copy, foot - 3, 7, 3, off3); /* sum -4 */
            expect_mismatch(&fx, copy, foot - 4, 1, 3, off3); /* the overflow flag alone */
            /* (c) structurally impossible pre-aggregates are refused on open */
            memcpy(copy, fx.data, fx.len);
            copy[foot - 4] = 2; /* unknown flag */
        } else {
            /* the integer entry ends: flags, zz(sum), zz(min), max - min, first - min,
             * last - min, min_at - min time, max_at - min time */
            const uint8_t want[8] = {0, 5, 3, 2, 2, 0, 2, 0};
            assert_memory_equal(fx.data + foot - 8, want, 8);
            expect_mismatch(&fx, copy, foot - 7, 7, 3, off3); /* sum */
            expect_mismatch(&fx, copy, foot - 8, 1, 3, off3); /* overflow flag */
            expect_mismatch(&fx, copy, foot - 4, 1, 3, off3); /* first = -1 */
            expect_mismatch(&fx, copy, foot - 3, 1, 3, off3); /* last = -1 */
            expect_mismatch(&fx, copy, foot - 2, 1, 3, off3); /* min_at = 1 */
            expect_mismatch(&fx, copy, foot - 1, 1, 3, off3); /* max_at = 1 */
            /* (a) every bit-0 flip of an index byte (entries of all four blocks: identity,
             * time scale, decimal float coding, selector times) is refused on open or caught
             * by verify, with every checksum fixed */
            uint64_t meta_off, series_len;
            memcpy(&meta_off, fx.data + foot, 8);
            memcpy(&series_len, fx.data + foot + 16, 8);
            unsigned caught = 0;
            for (size_t at = (size_t)(meta_off + series_len); at < foot; at++) {
                memcpy(copy, fx.data, fx.len);
                copy[at] ^= 0x01;
                seg_fix_checksums(copy, fx.len);
                if (seg_open_mem("pa.vseg", copy, fx.len, &r, &err) != VT_OK)
                    continue;
                reports rp;
                memset(&rp, 0, sizeof rp);
                unsigned p = seg_verify(r, on_report, &rp, NULL);
                seg_unref(r);
                if (p == 0)
                    fail_msg("byte %zu: flip not detected", at);
                if (strstr(rp.problem, "pre-aggregates do not match"))
                    caught++;
            }
            assert_true(caught >= 12);
            /* (c) structurally impossible: first - min > max - min */
            memcpy(copy, fx.data, fx.len);
            copy[foot - 4] = 3;
        }
        seg_fix_checksums(copy, fx.len);
        assert_int_equal(seg_open_mem("pa.vseg", copy, fx.len, &r, &err), VT_ECORRUPT);
        assert_non_null(strstr(err.msg, "bad pre-aggregates"));
        free(copy);
        cleanup(&fx);
    }
}

/* Files written by the version 3 code (the fuzz seeds, checked in before version 4 existed)
 * still open, verify and read; copied block by block into a version 4 file they gain selector
 * statistics equal to the ones computed from their values. */
static void test_v3_fixture(void **state)
{
    (void)state;
    const char *seeds[2] = {"seed-all.vseg", "seed-float.vseg"};
    for (int k = 0; k < 2; k++) {
        char path[512];
        snprintf(path, sizeof path, "%s/tests/fuzz/corpus/segment/%s", VOLTA_SOURCE_DIR,
                 seeds[k]);
        seg_reader *r = NULL;
        vt_err err;
        vt_err_clear(&err);
        assert_int_equal(seg_open_file(path, &r, &err), VT_OK);
        assert_int_equal(r->version, 3);
        assert_true(r->nblocks > 0);
        uint64_t blocks = 0;
        assert_int_equal(seg_verify(r, NULL, NULL, &blocks), 0);
        assert_int_equal(blocks, r->nblocks);
        char dir[64], out[128];
        snprintf(dir, sizeof dir, "/tmp/test_segment.XXXXXX");
        assert_non_null(mkdtemp(dir));
        snprintf(out, sizeof out, "%s/v4.vseg", dir);
        seg_writer w;
        assert_int_equal(seg_writer_begin(&w, out, r->segment_id, 1000, &err), VT_OK);
        for (size_t b = 0; b < r->nblocks; b++) {
            assert_false(r->blocks[b].agg.has_selectors);
            assert_int_equal(seg_writer_copy_block(&w, r, b, &err), VT_OK);
        }
        seg_series_def *defs = calloc(r->nseries, sizeof *defs);
        assert_non_null(defs);
        for (size_t i = 0; i < r->nseries; i++) {
            const seg_series *s = &r->series[i];
            defs[i] = (seg_series_def){s->id, s->measurement, s->tags, s->ntags, s->fields,
                                       s->nfields};
        }
        assert_int_equal(seg_writer_finish(&w, defs, r->nseries, NULL, &err), VT_OK);
        free(defs);
        seg_reader *n = NULL;
        assert_int_equal(seg_open_file(out, &n, &err), VT_OK);
        assert_int_equal(n->version, 5);
        assert_int_equal(n->nblocks, r->nblocks);
        for (size_t b = 0; b < n->nblocks; b++) {
            const seg_index_entry *e = &n->blocks[b];
            assert_true(e->agg.has_selectors);
            seg_col c;
            seg_col_init(&c, (vt_type)e->type);
            assert_int_equal(seg_read_block(n, b, &c, &err), VT_OK);
            seg_preagg want;
            seg_preagg_compute(c.type, c.time, c.val, c.n, &want);
            assert_agg(&e->agg, &want, b);
            seg_preagg old = r->blocks[b].agg; /* the version 3 part is unchanged */
            want.has_selectors = false;
            want.first.u = want.last.u = 0;
            want.min_at = want.max_at = 0;
            assert_agg(&old, &want, b);
            seg_col_free(&c);
        }
        assert_int_equal(seg_verify(n, NULL, NULL, NULL), 0);
        seg_unref(n);
        seg_unref(r);
        unlink(out);
        rmdir(dir);
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A segment with 120 000 index entries (2 000 series x 60 blocks of 24 hourly points): prints
 * size and open time in versions 3 and 4, meta stored and compressed (no timed assertion);
 * each is smaller than the one before. */
/* Files written by the version 4 code and by the first version 5 code (fuzz seeds: the v5 one
 * is a flushed segment of `volta gen --days 21 --plants 5`, Rice2 blocks included) still open,
 * verify (blocks decoded) and read; one whose header says version 6 is refused by version,
 * naming it, not reported as corrupt blocks; a version 5 file whose header says 4 (footer byte
 * 29 still 5) is refused as corrupt. */
static void test_v4_fixture(void **state)
{
    (void)state;
    const char *seeds[2] = {"seed-v5-demo.vseg", "seed-v4-all.vseg"};
    seg_reader *r = NULL;
    vt_err err;
    char path[512];
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/tests/fuzz/corpus/segment/%s", VOLTA_SOURCE_DIR,
                 seeds[k]);
        vt_err_clear(&err);
        r = NULL;
        assert_int_equal(seg_open_file(path, &r, &err), VT_OK);
        assert_int_equal(r->version, k == 0 ? 5 : 4);
        assert_true(r->nblocks > 0);
        uint64_t blocks = 0;
        assert_int_equal(seg_verify(r, NULL, NULL, &blocks), 0);
        assert_int_equal(blocks, r->nblocks);
        if (k == 0) {
            uint8_t *v4 = malloc(r->size);
            assert_non_null(v4);
            memcpy(v4, r->data, r->size);
            v4[4] = 4;
            seg_reader *bad = NULL;
            assert_int_equal(seg_open_mem("v5as4", v4, r->size, &bad, &err), VT_ECORRUPT);
            assert_null(bad);
            free(v4);
            seg_unref(r);
        }
    }
    /* the same bytes labelled version 6 */
    uint8_t *copy = malloc(r->size);
    assert_non_null(copy);
    memcpy(copy, r->data, r->size);
    size_t size = r->size;
    seg_unref(r);
    copy[4] = 6;
    copy[5] = 0;
    r = NULL;
    assert_int_not_equal(seg_open_mem("v6", copy, size, &r, &err), VT_OK);
    assert_null(r);
    assert_non_null(strstr(err.msg, "unsupported version 6"));
    free(copy);
}

/* seg_preload: a parsed reader is handed to the next seg_open_file of the same file (and reads
 * the same); a file changed after the preload is parsed again (its new content is what the
 * open returns); a damaged file is not kept, and its open reports the damage; what is never
 * taken is freed by seg_preload_clear (the leak checker watches). */
static void test_preload(void **state)
{
    (void)state;
    fixture fx;
    write_sample(&fx, 4, &V4);
    /* taken, same content */
    seg_preload(fx.path);
    assert_int_equal(seg_preload_count(), 1);
    seg_reader *r = NULL;
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(seg_open_file(fx.path, &r, &err), VT_OK);
    assert_int_equal(seg_preload_count(), 0);
    uint64_t blocks = 0;
    assert_int_equal(seg_verify(r, NULL, NULL, &blocks), 0);
    assert_int_equal(blocks, r->nblocks);
    size_t nblocks = r->nblocks;
    seg_unref(r);
    /* changed after the preload: a byte of the last block's CRC flipped, mtime moved on */
    seg_preload(fx.path);
    assert_int_equal(seg_preload_count(), 1);
    seg_reader *probe = NULL;
    assert_int_equal(seg_open_mem("probe", fx.data, fx.len, &probe, &err), VT_OK);
    size_t crc_at = (size_t)(probe->blocks[nblocks - 1].offset + probe->blocks[nblocks - 1].length - 1);
    seg_unref(probe);
    FILE *f = fopen(fx.path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, (long)crc_at, SEEK_SET), 0);
    int flipped = (unsigned char)fx.data[crc_at] ^ 0x40;
    assert_int_equal(fputc(flipped, f), flipped);
    assert_int_equal(fclose(f), 0);
    struct timespec later[2] = {{0, UTIME_OMIT}, {time(NULL) + 5, 0}};
    assert_int_equal(utimensat(AT_FDCWD, fx.path, later, 0), 0);
    r = NULL;
    assert_int_equal(seg_open_file(fx.path, &r, &err), VT_OK); /* structure intact */
    assert_int_equal(seg_preload_count(), 0);
    assert_int_not_equal(seg_verify(r, NULL, NULL, NULL), 0); /* the new bytes were read */
    seg_unref(r);
    /* a file that does not parse is not kept */
    f = fopen(fx.path, "r+b");
    assert_non_null(f);
    assert_int_equal(fputc('X', f), 'X'); /* the magic */
    assert_int_equal(fclose(f), 0);
    seg_preload(fx.path);
    assert_int_equal(seg_preload_count(), 0);
    r = NULL;
    assert_int_equal(seg_open_file(fx.path, &r, &err), VT_ECORRUPT);
    assert_non_null(strstr(err.msg, "bad magic"));
    /* never taken: freed by clear */
    char other[160];
    snprintf(other, sizeof other, "%s.copy", fx.path);
    f = fopen(other, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(fx.data, 1, fx.len, f), fx.len);
    assert_int_equal(fclose(f), 0);
    seg_preload(other);
    assert_int_equal(seg_preload_count(), 1);
    seg_preload_clear();
    assert_int_equal(seg_preload_count(), 0);
    unlink(other);
    cleanup(&fx);
}

static void test_large_index(void **state)
{
    (void)state;
    uint64_t size[3];
    const format *fms[3] = {&V3, &V4_STORED, &V4};
    for (int v = 0; v < 3; v++) {
        fixture fx;
        write_many(&fx, 2000, 60 * 24, 24, fms[v]);
        size[v] = fx.len;
        double best = 1e9;
        for (int rep = 0; rep < 5; rep++) {
            seg_reader *r = NULL;
            vt_err err;
            double t0 = now_s();
            assert_int_equal(seg_open_mem("big", fx.data, fx.len, &r, &err), VT_OK);
            double t1 = now_s();
            best = t1 - t0 < best ? t1 - t0 : best;
            assert_int_equal(r->nblocks, 120000);
            if (rep == 0)
                assert_int_equal(seg_verify(r, NULL, NULL, NULL), 0);
            seg_unref(r);
        }
        printf("  version %u%s: %zu bytes, open %.2f ms (best of 5, this build)\n",
               fms[v]->version, fms[v]->meta_level == 0 ? " (meta stored)" : "", fx.len,
               best * 1e3);
        cleanup(&fx);
    }
    assert_true(size[1] < size[0] && size[2] < size[1]);
}

/* Resident kB of this process's mapping of path (/proc/self/smaps), -1 when not mapped. */
static long mapping_rss_kb(const char *path)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    assert_non_null(f);
    char line[1024];
    bool in = false;
    long rss = -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long a, b;
        if (sscanf(line, "%lx-%lx ", &a, &b) == 2) {
            line[strcspn(line, "\n")] = '\0';
            size_t n = strlen(line), pl = strlen(path);
            in = n >= pl && strcmp(line + n - pl, path) == 0;
            if (in && rss < 0)
                rss = 0;
        } else if (in && strncmp(line, "Rss:", 4) == 0) {
            rss += atol(line + 4);
        }
    }
    fclose(f);
    return rss;
}

/* seg_release_series_pages: the pages of a series' blocks leave the process once read (what a
 * compaction does after each series, engine.c note 17), and reading them again still works. */
static void test_release_series_pages(void **state)
{
    (void)state;
    fixture fx;
    write_many(&fx, 40, 16000, 1000, &V5_PROVISIONAL); /* Gorilla: a few MB */
    seg_reader *r;
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(seg_open_file(fx.path, &r, &err), VT_OK);
    seg_col c;
    seg_col_init(&c, VT_TYPE_FLOAT);
    for (size_t b = 0; b < r->nblocks; b++)
        assert_int_equal(seg_read_block(r, b, &c, &err), VT_OK);
    long before = mapping_rss_kb(fx.path);
    assert_true(before * 1024 > (long)fx.len / 2); /* read: resident */
    for (unsigned i = 0; i < 40; i++)
        seg_release_series_pages(r, 10 + i * 3);
    seg_release_series_pages(r, 11); /* no such series: nothing */
    long after = mapping_rss_kb(fx.path);
    printf("  mapping of %zu bytes: %ld kB resident after reading every block, %ld kB after "
           "releasing every series\n", fx.len, before, after);
    assert_true(after >= 0 && after * 8 < before);
    /* the data reads back the same */
    seg_col again;
    seg_col_init(&again, VT_TYPE_FLOAT);
    for (size_t b = 0; b < r->nblocks; b++)
        assert_int_equal(seg_read_block(r, b, &again, &err), VT_OK);
    assert_int_equal(again.n, c.n);
    assert_memory_equal(again.time, c.time, c.n * sizeof *c.time);
    assert_memory_equal(again.val, c.val, c.n * sizeof(double));
    seg_col_free(&again);
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
        cmocka_unit_test(test_compact_format_and_fix_checksums),
        cmocka_unit_test(test_preagg_exact),
        cmocka_unit_test(test_selectors),
        cmocka_unit_test(test_extreme_times),
        cmocka_unit_test(test_preagg_mismatch_detected),
        cmocka_unit_test(test_v3_fixture),
        cmocka_unit_test(test_v4_fixture),
        cmocka_unit_test(test_preload),
        cmocka_unit_test(test_large_index),
        cmocka_unit_test(test_release_series_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
