/* tests/unit/test_density.c — on-disk density of the native engine (bytes per point).
 *
 * Builds an engine in a temp dir from (a) the demo generator (hourly 3-decimal floats) and
 * (b) the real ONS CURVA_CARGA files when VOLTA_SHARED_DATA has them, flushes and compacts,
 * then prints bytes/point of the segment files (apparent size and allocated blocks) with the
 * breakdown of seg_breakdown (timestamps, values, block framing, series section + index), and
 * asserts bounds reflecting what the format achieves. Also prints encode/decode speed of the
 * float column encoder on the demo values. Environment: VOLTA_DENSITY_DAYS (default 60),
 * VOLTA_DENSITY_BLOCK (block_points, default 1024 like the engine), VOLTA_DENSITY_KEEP (keep
 * the temp data dirs, printed, to look at their files). */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "engine/encoding.h"
#include "engine/engine.h"
#include "engine/segment.h"
#include "ingest/demo_gen.h"
#include "ingest/lineproto.h"

#ifndef VOLTA_SHARED_DATA
#define VOLTA_SHARED_DATA "../shared/data"
#endif

typedef struct density {
    uint64_t points, files, apparent, allocated;
    seg_breakdown bd;
} density;

static void must(vt_rc rc, const vt_err *err)
{
    if (rc != VT_OK)
        fail_msg("%s", err->msg);
}

static size_t env_size(const char *name, size_t dflt)
{
    const char *s = getenv(name);
    return s && *s ? (size_t)strtoull(s, NULL, 10) : dflt;
}

static engine *open_engine(const char *dir)
{
    engine_options o = {0};
    o.memtable_bytes = 256u << 20;
    o.compact_trigger = 1000;
    o.block_points = env_size("VOLTA_DENSITY_BLOCK", 1024);
    engine *e = NULL;
    vt_err err;
    vt_err_clear(&err);
    must(engine_open(dir, &o, &e, NULL, &err), &err);
    return e;
}

/* Flushes, compacts, closes, then measures every segment file of dir/seg. */
static void measure(engine *e, const char *dir, density *d)
{
    vt_err err;
    vt_err_clear(&err);
    must(engine_flush(e, &err), &err);
    must(engine_compact(e, &err), &err);
    must(engine_close(e, &err), &err);
    char segdir[256];
    snprintf(segdir, sizeof segdir, "%s/seg", dir);
    DIR *dh = opendir(segdir);
    assert_non_null(dh);
    struct dirent *de;
    while ((de = readdir(dh)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 5, ".vseg") != 0)
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", segdir, de->d_name);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        d->files++;
        d->apparent += (uint64_t)st.st_size;
        d->allocated += (uint64_t)st.st_blocks * 512u;
        seg_reader *r = NULL;
        must(seg_open_file(path, &r, &err), &err);
        seg_breakdown b;
        seg_get_breakdown(r, &b);
        d->bd.points += b.points;
        d->bd.blocks += b.blocks;
        d->bd.ts_bytes += b.ts_bytes;
        d->bd.val_bytes += b.val_bytes;
        d->bd.block_framing += b.block_framing;
        d->bd.meta_bytes += b.meta_bytes;
        assert_int_equal(seg_verify(r, NULL, NULL, NULL), 0);
        seg_unref(r);
    }
    closedir(dh);
    assert_true(d->files >= 1);
    assert_int_equal(d->bd.points, d->points);
}

static void report(const char *what, const density *d)
{
    double n = (double)d->points;
    printf("density %s: %llu points, %llu blocks, %llu file(s)\n", what,
           (unsigned long long)d->points, (unsigned long long)d->bd.blocks,
           (unsigned long long)d->files);
    printf("  apparent %.4f B/pt, allocated %.4f B/pt\n", (double)d->apparent / n,
           (double)d->allocated / n);
    printf("  timestamps %.4f, values %.4f, block framing %.4f, series+index+header+footer "
           "%.4f B/pt\n",
           (double)d->bd.ts_bytes / n, (double)d->bd.val_bytes / n, (double)d->bd.block_framing / n,
           (double)d->bd.meta_bytes / n);
}

static void rm_tree(const char *dir)
{
    if (getenv("VOLTA_DENSITY_KEEP")) { /* keep the data dir to look at its files */
        printf("  kept %s\n", dir);
        return;
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- demo data ---- */

static void test_demo_density(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_density.XXXXXX";
    assert_non_null(mkdtemp(dir));
    engine *e = open_engine(dir);
    vt_err err;
    vt_err_clear(&err);
    must(engine_create_db(e, "demo", 1, &err), &err);
    demo_gen_options o;
    demo_gen_options_default(&o);
    o.days = (uint32_t)env_size("VOLTA_DENSITY_DAYS", 60);
    o.plants = 500;
    demo_gen *g = NULL;
    must(demo_gen_new(&o, &g, &err), &err);
    lp_options lo;
    memset(&lo, 0, sizeof lo);
    lp_parser *p = lp_parser_new(&lo);
    assert_non_null(p);
    vt_buf body;
    vt_buf_init(&body);
    density d;
    memset(&d, 0, sizeof d);
    uint64_t seq = 2;
    /* a sample column (plant 0) for the encoder speed measurement */
    size_t nh = (size_t)demo_gen_hours(g), ns = 0;
    double *sample = calloc(nh * 8, sizeof *sample);
    assert_non_null(sample);
    for (uint64_t h = 0; h < nh; h++) {
        vt_buf_reset(&body);
        demo_gen_append_lp(g, h, &body);
        assert_false(body.oom);
        assert_int_equal(lp_parser_reset(p, (const char *)body.data, body.len), VT_OK);
        vt_point pt;
        lp_error le;
        int k;
        while ((k = lp_parser_next(p, &pt, &le)) != LP_END) {
            assert_int_equal(k, LP_POINT);
            size_t skipped = 0;
            must(engine_apply(e, seq++, "demo", &pt, 1, &skipped, &err), &err);
            assert_int_equal(skipped, 0);
            d.points += pt.nfields;
        }
        demo_hour dh;
        demo_gen_compute(g, h, &dh);
        for (int j = 0; j < 8; j++) /* 8 plants, column-major */
            sample[(size_t)j * nh + h] = /* 3 decimals, as the line protocol carries them */
                (double)llround(dh.generation[j * 37 % demo_gen_plant_count(g)] * 1000.0) / 1000.0;
    }
    ns = nh * 8;
    measure(e, dir, &d);
    report("demo", &d);

    /* encoder speed on 8 plant columns, blocks of 1000 */
    vt_err_clear(&err);
    double *back = calloc(1000, sizeof *back);
    assert_non_null(back);
    double t3 = now_s();
    vt_buf out;
    vt_buf_init(&out);
    for (int rep = 0; rep < 3; rep++)
        for (size_t i = 0; i + 1000 <= ns; i += 1000) {
            vt_buf_reset(&out);
            enc_f64_encode(sample + i, 1000, &out);
        }
    vt_buf_free(&out);
    double t4 = now_s();
    size_t nb = ns / 1000;
    vt_buf *enc = calloc(nb ? nb : 1, sizeof *enc);
    assert_non_null(enc);
    for (size_t b = 0; b < nb; b++) {
        vt_buf_init(&enc[b]);
        enc_f64_encode(sample + b * 1000, 1000, &enc[b]);
    }
    double t5 = now_s();
    for (int rep = 0; rep < 3; rep++)
        for (size_t b = 0; b < nb; b++)
            must(enc_f64_decode(enc[b].data, enc[b].len, back, 1000, &err), &err);
    double t6 = now_s();
    for (size_t b = 0; b < nb; b++) {
        must(enc_f64_decode(enc[b].data, enc[b].len, back, 1000, &err), &err);
        assert_memory_equal(back, sample + b * 1000, 1000 * sizeof *back);
    }
    printf("  float encode %.1f M values/s, decode %.1f M values/s (plant columns, this build)\n",
           (double)(3 * nb * 1000) / (t4 - t3) / 1e6, (double)(3 * nb * 1000) / (t6 - t5) / 1e6);
    for (size_t b = 0; b < nb; b++)
        vt_buf_free(&enc[b]);
    free(enc);
    free(back);
    free(sample);
    vt_buf_free(&body);
    lp_parser_free(p);
    demo_gen_free(g);
    rm_tree(dir);
    /* What the format achieves (docs/format/segment.md, "Block size"), format 4 (compact,
     * zstd-compressed series section + index, selector statistics) with Rice2 value streams
     * (docs/format/encoding.md, "Measured: Rice2"): 60 days x 500 plants = 1.444 B/pt with
     * blocks of 4096, 1.481 with the default 1024 (before Rice2: 1.510 and 1.546); 365 days =
     * 1.485 (before: 1.553). The foundation issue's target is <= 1.5 B/pt at 365 days. */
    size_t days = env_size("VOLTA_DENSITY_DAYS", 60);
    size_t block = env_size("VOLTA_DENSITY_BLOCK", 1024);
    if (days == 60 && block == 4096)
        assert_true((double)d.apparent / (double)d.points < 1.46);
    if (days == 60 && (block == 1000 || block == 1024))
        assert_true((double)d.apparent / (double)d.points < 1.50);
    if (days == 365 && (block == 1000 || block == 1024))
        assert_true((double)d.allocated / (double)d.points <= 1.50);
    if (days == 60 && (block == 1000 || block == 1024)) /* series section + index */
        assert_true((double)d.bd.meta_bytes / (double)d.points < 0.05);
    assert_true((double)d.apparent / (double)d.points < 1.75);
}

/* ---- ONS CURVA_CARGA ---- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned dd)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + dd - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void test_ons_density(void **state)
{
    (void)state;
    const char *years[3] = {"2022", "2023", "2024"};
    char path[512];
    snprintf(path, sizeof path, "%s/ons/CURVA_CARGA_2023.csv", VOLTA_SHARED_DATA);
    if (access(path, R_OK) != 0) {
        printf("SKIP: ONS data not found at %s (needs ../shared/data)\n", path);
        skip();
    }
    char dir[] = "/tmp/test_density.XXXXXX";
    assert_non_null(mkdtemp(dir));
    engine *e = open_engine(dir);
    vt_err err;
    vt_err_clear(&err);
    must(engine_create_db(e, "ons", 1, &err), &err);
    density d;
    memset(&d, 0, sizeof d);
    uint64_t seq = 2;
    for (int y = 0; y < 3; y++) {
        snprintf(path, sizeof path, "%s/ons/CURVA_CARGA_%s.csv", VOLTA_SHARED_DATA, years[y]);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        char line[512];
        bool header = true;
        while (fgets(line, sizeof line, f)) {
            if (header) {
                header = false;
                continue;
            }
            char *save = NULL;
            char *id = strtok_r(line, ";\r\n", &save);
            char *name = strtok_r(NULL, ";\r\n", &save);
            char *when = strtok_r(NULL, ";\r\n", &save);
            char *val = strtok_r(NULL, ";\r\n", &save);
            if (!id || !name || !when || !val)
                continue;
            int Y, M, D, hh, mm, ss;
            if (sscanf(when, "%d-%d-%d %d:%d:%d", &Y, &M, &D, &hh, &mm, &ss) != 6)
                continue;
            char *end;
            double v = strtod(val, &end);
            if (end == val)
                continue;
            int64_t t =
                ((days_from_civil(Y, (unsigned)M, (unsigned)D) * 24 + hh) * 3600 + mm * 60 + ss) *
                1000000000LL;
            vt_tag tag = {vt_str_c("id_subsistema"), vt_str_c(id)};
            vt_field fl;
            memset(&fl, 0, sizeof fl);
            fl.key = vt_str_c("val_cargaenergiahomwmed");
            fl.value.type = VT_TYPE_FLOAT;
            fl.value.v.f = v;
            vt_point pt = {vt_str_c("curva_carga"), &tag, 1, &fl, 1, t};
            must(engine_apply(e, seq++, "ons", &pt, 1, NULL, &err), &err);
            d.points++;
        }
        fclose(f);
    }
    measure(e, dir, &d);
    report("ons CURVA_CARGA 2022-2024", &d);
    rm_tree(dir);
    /* Format 4: 2.723 B/pt with blocks of 4096 (2.779 with 1024; format 3: 2.726 / 2.789): ~22
     * bits a value, near the entropy bound of these series (docs/format/encoding.md,
     * "Measured"). */
    assert_true((double)d.apparent / (double)d.points < 2.80);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_density),
        cmocka_unit_test(test_ons_density),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
