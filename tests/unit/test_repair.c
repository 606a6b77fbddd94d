/* tests/unit/test_repair.c — engine_scan_blocks / engine_segment_rewrite (engine.c note 10), the
 * engine half of `volta repair`: a rewrite without a block keeps every other block bit for bit,
 * reports exactly the (series, field, range) it dropped, writes patches in place, keeps
 * tombstones working, and a failed write/fsync/rename leaves the old file in place. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/durable.h"
#include "common/faultinj.h"
#include "engine/engine.h"
#include "engine/segment.h"

#define T0 INT64_C(1704067200000000000)
#define HOUR INT64_C(3600000000000)
#define NPTS 350 /* per plant: blocks of 100, 100, 100, 50 */

static const char *plants[3] = {"A", "B", "C"};

static void must(vt_rc rc, const vt_err *err)
{
    if (rc != VT_OK)
        fail_msg("rc %d: %s", rc, err->msg);
}

static double value_of(int plant, int i)
{
    return plant * 1000.0 + i * 0.25 + 0.1;
}

static engine *open_engine(const char *dir)
{
    engine_options o = {0};
    o.block_points = 100;
    engine *e = NULL;
    vt_err err;
    vt_err_clear(&err);
    must(engine_open(dir, &o, &e, NULL, &err), &err);
    return e;
}

static void close_engine(engine *e)
{
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = engine_close(e, &err);
    if (rc != VT_OK && rc != VT_EFATAL)
        fail_msg("engine_close: %s", err.msg);
}

/* A data dir with store "d": 3 series power,plant=A|B|C, field value, NPTS hourly points each,
 * flushed into one segment. Fills path with the segment file and returns its id. */
static uint64_t make_store(char *dir, size_t dn, char *path, size_t pn)
{
    snprintf(dir, dn, "/tmp/test_repair.XXXXXX");
    assert_non_null(mkdtemp(dir));
    engine *e = open_engine(dir);
    vt_err err;
    vt_err_clear(&err);
    must(engine_create_db(e, "d", 1, &err), &err);
    uint64_t seq = 2;
    for (int p = 0; p < 3; p++)
        for (int i = 0; i < NPTS; i++) {
            vt_tag tag = {vt_str_c("plant"), vt_str_c(plants[p])};
            vt_field f = {vt_str_c("value"), {.type = VT_TYPE_FLOAT, .v.f = value_of(p, i)}};
            vt_point pt = {vt_str_c("power"), &tag, 1, &f, 1, T0 + i * HOUR};
            must(engine_apply(e, seq++, "d", &pt, 1, NULL, &err), &err);
        }
    must(engine_flush(e, &err), &err);
    close_engine(e);
    char segdir[600];
    snprintf(segdir, sizeof segdir, "%s/seg", dir);
    DIR *d = opendir(segdir);
    assert_non_null(d);
    struct dirent *de;
    uint64_t id = 0;
    while ((de = readdir(d)) != NULL) {
        unsigned dbid;
        unsigned long long sid;
        if (sscanf(de->d_name, "%u-%llu.vseg", &dbid, &sid) == 2) {
            assert_int_equal(id, 0); /* exactly one */
            id = sid;
            snprintf(path, pn, "%s/%s", segdir, de->d_name);
        }
    }
    closedir(d);
    assert_true(id > 0);
    return id;
}

static void rm_rf(const char *dir)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    char *data = NULL;
    vt_err err;
    vt_err_clear(&err);
    must(file_read_all(path, &data, len, &err), &err);
    return (uint8_t *)data;
}

static void flip(const char *path, uint64_t off)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, (long)off, SEEK_SET), 0);
    int c = fgetc(f);
    assert_int_equal(fseek(f, (long)off, SEEK_SET), 0);
    fputc(c ^ 0x10, f);
    fclose(f);
}

/* The block of plant p (series id p+1) holding point i, in the freshly made segment. */
static size_t block_of(int p, int i)
{
    return (size_t)p * 4 + (size_t)i / 100;
}

typedef struct bad_list {
    engine_bad_block v[8];
    char series[8][64];
    size_t n;
} bad_list;

static void bad_cb(void *ctx, const engine_bad_block *b)
{
    bad_list *l = ctx;
    assert_true(l->n < 8);
    l->v[l->n] = *b;
    snprintf(l->series[l->n], sizeof l->series[0], "%.*s,%.*s=%.*s", (int)b->measurement.len,
             b->measurement.ptr, (int)b->tags[0].key.len, b->tags[0].key.ptr,
             (int)b->tags[0].value.len, b->tags[0].value.ptr);
    l->v[l->n].problem = NULL; /* only valid during the call */
    l->v[l->n].measurement = (vt_str){NULL, 0};
    l->v[l->n].tags = NULL;
    l->v[l->n].field = (vt_str){NULL, 0};
    l->v[l->n].file = NULL;
    l->v[l->n].db = NULL;
    l->n++;
}

typedef struct pts {
    size_t n;
    int64_t t[NPTS];
    double v[NPTS];
} pts;

static bool pts_cb(void *ctx, const engine_points *p)
{
    pts *c = ctx;
    for (size_t i = 0; i < p->n; i++) {
        assert_true(c->n < NPTS);
        c->t[c->n] = p->time[i];
        c->v[c->n++] = p->f[i];
    }
    return true;
}

static vt_rc read_plant(engine *e, uint64_t sid, pts *out, vt_err *err)
{
    out->n = 0;
    return engine_read(e, "d", sid, "value", INT64_MIN, INT64_MAX, pts_cb, out, err);
}

/* Every point of plant p but those with index in [skip_lo, skip_hi). */
static void expect_plant(engine *e, int p, int skip_lo, int skip_hi)
{
    pts got;
    vt_err err;
    vt_err_clear(&err);
    must(read_plant(e, (uint64_t)p + 1, &got, &err), &err);
    size_t k = 0;
    for (int i = 0; i < NPTS; i++) {
        if (i >= skip_lo && i < skip_hi)
            continue;
        assert_true(k < got.n);
        assert_int_equal(got.t[k], T0 + i * HOUR);
        assert_true(got.v[k] == value_of(p, i));
        k++;
    }
    assert_int_equal(got.n, k);
}

/* ---- tests ---- */

static void test_scan_and_drop_exact(void **state)
{
    (void)state;
    char dir[64], path[700];
    uint64_t sid = make_store(dir, sizeof dir, path, sizeof path);
    size_t before_len;
    uint8_t *before = slurp(path, &before_len);
    seg_reader *orig;
    vt_err err;
    vt_err_clear(&err);
    must(seg_open_mem("orig", before, before_len, &orig, &err), &err);
    size_t bad = block_of(1, 150); /* plant B, points 100..199 */
    flip(path, orig->blocks[bad].offset + 5);

    engine *e = open_engine(dir);
    bad_list bl = {0};
    uint64_t nseg = 0, nblk = 0;
    must(engine_scan_blocks(e, bad_cb, &bl, &nseg, &nblk, &err), &err);
    assert_int_equal(nseg, 1);
    assert_int_equal(nblk, 12);
    assert_int_equal(bl.n, 1);
    assert_int_equal(bl.v[0].block, bad);
    assert_int_equal(bl.v[0].segment_id, sid);
    assert_int_equal(bl.v[0].offset, orig->blocks[bad].offset);
    assert_string_equal(bl.series[0], "power,plant=B");
    assert_int_equal(bl.v[0].min_time, T0 + 100 * HOUR);
    assert_int_equal(bl.v[0].max_time, T0 + 199 * HOUR);
    assert_int_equal(bl.v[0].count, 100);
    assert_int_equal(bl.v[0].type, VT_TYPE_FLOAT);
    /* a read reaching it fails naming file and block */
    pts got;
    vt_err_clear(&err);
    assert_int_equal(read_plant(e, 2, &got, &err), VT_ECORRUPT);
    assert_non_null(strstr(err.msg, path));
    char want[64];
    snprintf(want, sizeof want, "block %zu at offset %" PRIu64, bad, orig->blocks[bad].offset);
    assert_non_null(strstr(err.msg, want));

    engine_lost *lost = NULL;
    size_t nlost = 0;
    vt_err_clear(&err);
    must(engine_segment_rewrite(e, "d", sid, &bad, 1, NULL, 0, &lost, &nlost, &err), &err);
    assert_int_equal(nlost, 1);
    assert_string_equal(lost[0].series, "power,plant=B");
    assert_string_equal(lost[0].field, "value");
    assert_int_equal(lost[0].series_id, 2);
    assert_int_equal(lost[0].min_time, T0 + 100 * HOUR);
    assert_int_equal(lost[0].max_time, T0 + 199 * HOUR);
    assert_int_equal(lost[0].count, 100);
    assert_int_equal(lost[0].block, bad);
    assert_false(lost[0].patched);
    engine_lost_free(lost, nlost);
    assert_false(engine_failed(e));
    /* every other point reads back; B misses exactly its block */
    expect_plant(e, 0, 0, 0);
    expect_plant(e, 1, 100, 200);
    expect_plant(e, 2, 0, 0);

    /* every other block is the same bytes (and index entry) as before the flip */
    seg_reader *now;
    must(seg_open_file(path, &now, &err), &err);
    assert_int_equal(now->segment_id, sid);
    assert_int_equal(now->nblocks, orig->nblocks - 1);
    for (size_t i = 0, k = 0; i < orig->nblocks; i++) {
        if (i == bad)
            continue;
        const seg_index_entry *a = &orig->blocks[i], *b = &now->blocks[k++];
        assert_int_equal(a->length, b->length);
        assert_int_equal(a->series_id, b->series_id);
        assert_int_equal(a->field_no, b->field_no);
        assert_int_equal(a->count, b->count);
        assert_int_equal(a->min_time, b->min_time);
        assert_int_equal(a->max_time, b->max_time);
        assert_true(seg_preagg_equal(&a->agg, &b->agg));
        assert_memory_equal(orig->data + a->offset, now->data + b->offset, a->length);
    }
    assert_int_equal(seg_verify(now, NULL, NULL, NULL), 0);
    seg_unref(now);
    close_engine(e);

    /* durable: a reopened engine sees the same, and verify finds nothing */
    assert_int_equal(engine_verify(dir, NULL, NULL, NULL, NULL), 0);
    e = open_engine(dir);
    expect_plant(e, 0, 0, 0);
    expect_plant(e, 1, 100, 200);
    expect_plant(e, 2, 0, 0);
    bl.n = 0;
    must(engine_scan_blocks(e, bad_cb, &bl, NULL, NULL, &err), &err);
    assert_int_equal(bl.n, 0);
    close_engine(e);
    seg_unref(orig);
    free(before);
    rm_rf(dir);
}

/* The patch of a dropped block holding exactly its points: the file comes back byte for byte. */
static void test_patch_in_place(void **state)
{
    (void)state;
    char dir[64], path[700];
    uint64_t sid = make_store(dir, sizeof dir, path, sizeof path);
    size_t before_len;
    uint8_t *before = slurp(path, &before_len);
    seg_reader *orig;
    vt_err err;
    vt_err_clear(&err);
    must(seg_open_mem("orig", before, before_len, &orig, &err), &err);
    size_t bad = block_of(2, 320); /* plant C's last block: points 300..349 */
    flip(path, orig->blocks[bad].offset + orig->blocks[bad].length - 6);
    engine *e = open_engine(dir);
    seg_col c;
    seg_col_init(&c, VT_TYPE_FLOAT);
    for (int i = 300; i < NPTS; i++) {
        double v = value_of(2, i);
        seg_col_push(&c, T0 + i * HOUR, &v);
    }
    engine_patch patch = {bad, &c};
    engine_lost *lost = NULL;
    size_t nlost = 0;
    must(engine_segment_rewrite(e, "d", sid, &bad, 1, &patch, 1, &lost, &nlost, &err), &err);
    assert_int_equal(nlost, 1);
    assert_true(lost[0].patched);
    assert_int_equal(lost[0].patched_points, 50);
    engine_lost_free(lost, nlost);
    for (int p = 0; p < 3; p++)
        expect_plant(e, p, 0, 0);
    close_engine(e);
    size_t after_len;
    uint8_t *after = slurp(path, &after_len);
    assert_int_equal(after_len, before_len);
    assert_memory_equal(after, before, before_len);
    free(after);

    /* a patch that is not for a dropped block, or outside its range, is refused */
    e = open_engine(dir);
    size_t other = block_of(0, 0);
    vt_err_clear(&err);
    assert_int_equal(engine_segment_rewrite(e, "d", sid, &other, 1, &patch, 1, &lost, &nlost,
                                            &err),
                     VT_EINVAL);
    patch.block = other;
    vt_err_clear(&err);
    assert_int_equal(engine_segment_rewrite(e, "d", sid, &other, 1, &patch, 1, &lost, &nlost,
                                            &err),
                     VT_EINVAL);
    assert_non_null(strstr(err.msg, "outside the block"));
    size_t nosuch = 99;
    vt_err_clear(&err);
    assert_int_equal(engine_segment_rewrite(e, "d", sid, &nosuch, 1, NULL, 0, &lost, &nlost, &err),
                     VT_EINVAL);
    vt_err_clear(&err);
    assert_int_equal(engine_segment_rewrite(e, "d", sid + 7, &other, 1, NULL, 0, &lost, &nlost,
                                            &err),
                     VT_ENOTFOUND);
    vt_err_clear(&err);
    assert_int_equal(engine_segment_rewrite(e, "nope", sid, &other, 1, NULL, 0, &lost, &nlost,
                                            &err),
                     VT_ENOTFOUND);
    assert_false(engine_failed(e));
    close_engine(e);
    after = slurp(path, &after_len);
    assert_memory_equal(after, before, before_len); /* refused: nothing written */
    free(after);
    seg_col_free(&c);
    seg_unref(orig);
    free(before);
    rm_rf(dir);
}

/* Dropping every block of a series leaves it out of the file; tombstones keep hiding. */
static void test_series_left_out_and_tombstones(void **state)
{
    (void)state;
    char dir[64], path[700];
    uint64_t sid = make_store(dir, sizeof dir, path, sizeof path);
    engine *e = open_engine(dir);
    vt_err err;
    vt_err_clear(&err);
    /* a delete of A's points 10..19: a tombstone over the segment */
    uint64_t ida = 1;
    must(engine_delete(e, 5000, "d", &ida, 1, T0 + 10 * HOUR, T0 + 19 * HOUR, &err), &err);
    size_t drop[4] = {block_of(2, 0), block_of(2, 100), block_of(2, 200), block_of(2, 300)};
    engine_lost *lost = NULL;
    size_t nlost = 0;
    must(engine_segment_rewrite(e, "d", sid, drop, 4, NULL, 0, &lost, &nlost, &err), &err);
    assert_int_equal(nlost, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(lost[i].series, "power,plant=C");
        assert_int_equal(lost[i].min_time, T0 + (int64_t)i * 100 * HOUR);
    }
    engine_lost_free(lost, nlost);
    expect_plant(e, 0, 10, 20);
    expect_plant(e, 1, 0, 0);
    close_engine(e);
    seg_reader *now;
    must(seg_open_file(path, &now, &err), &err);
    assert_int_equal(now->nseries, 2);
    assert_null(seg_find_series(now, 3));
    seg_unref(now);
    e = open_engine(dir);
    expect_plant(e, 0, 10, 20); /* the tombstone still applies after reopen */
    expect_plant(e, 1, 0, 0);
    close_engine(e);
    rm_rf(dir);
}

/* A failed write, fsync or rename: the old file stays (bit for bit) or the new one is complete;
 * the engine refuses writes; reopening finds every good block. */
static void test_crash_safety(void **state)
{
    (void)state;
    vt_fault_op ops[3] = {VT_FAULT_WRITE, VT_FAULT_FSYNC, VT_FAULT_RENAME};
    for (int o = 0; o < 3; o++) {
        unsigned failures = 0, publishes_landed = 0;
        for (unsigned long nth = 1; nth <= 3; nth++) {
            char dir[64], path[700];
            uint64_t sid = make_store(dir, sizeof dir, path, sizeof path);
            size_t clean_len;
            uint8_t *clean = slurp(path, &clean_len);
            seg_reader *orig;
            vt_err err;
            vt_err_clear(&err);
            must(seg_open_mem("orig", clean, clean_len, &orig, &err), &err);
            size_t bad = block_of(1, 0);
            flip(path, orig->blocks[bad].offset + 3);
            size_t corrupt_len;
            uint8_t *corrupt = slurp(path, &corrupt_len);
            engine *e = open_engine(dir);
            vt_fault_arm(ops[o], nth, 0);
            engine_lost *lost = NULL;
            size_t nlost = 0;
            vt_rc rc = engine_segment_rewrite(e, "d", sid, &bad, 1, NULL, 0, &lost, &nlost, &err);
            bool fired = vt_fault_injected() > 0;
            vt_fault_reset();
            if (rc == VT_OK) {
                assert_false(fired);
                engine_lost_free(lost, nlost);
            } else {
                assert_true(fired);
                failures++;
                assert_true(engine_failed(e)); /* sticky */
                vt_err_clear(&err);
                size_t again = block_of(0, 0);
                assert_int_equal(engine_segment_rewrite(e, "d", sid, &again, 1, NULL, 0, &lost,
                                                        &nlost, &err),
                                 VT_EFATAL);
            }
            close_engine(e);
            /* on disk: the corrupt original, or the complete copy */
            size_t len;
            uint8_t *now = slurp(path, &len);
            bool is_old = len == corrupt_len && memcmp(now, corrupt, len) == 0;
            seg_reader *r;
            must(seg_open_file(path, &r, &err), &err);
            bool is_new = r->nblocks == orig->nblocks - 1 && seg_verify(r, NULL, NULL, NULL) == 0;
            seg_unref(r);
            assert_true(is_old || is_new);
            if (rc == VT_OK)
                assert_true(is_new);
            publishes_landed += rc != VT_OK && is_new; /* the directory fsync failed */
            free(now);
            /* no temp file survives an open; every good point reads */
            e = open_engine(dir);
            char tmp[800];
            snprintf(tmp, sizeof tmp, "%s.tmp", path);
            assert_int_not_equal(access(tmp, F_OK), 0);
            expect_plant(e, 0, 0, 0);
            expect_plant(e, 2, 0, 0);
            bad_list bl = {0};
            must(engine_scan_blocks(e, bad_cb, &bl, NULL, NULL, &err), &err);
            assert_int_equal(bl.n, is_old ? 1 : 0);
            if (is_new)
                expect_plant(e, 1, 0, 100);
            close_engine(e);
            seg_unref(orig);
            free(clean);
            free(corrupt);
            rm_rf(dir);
        }
        assert_true(failures > 0); /* the fault reached the rewrite */
        if (ops[o] == VT_FAULT_FSYNC)
            assert_true(publishes_landed > 0); /* fsync 2 = the directory, after the rename */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan_and_drop_exact),
        cmocka_unit_test(test_patch_in_place),
        cmocka_unit_test(test_series_left_out_and_tombstones),
        cmocka_unit_test(test_crash_safety),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
