/*
 * tests/unit/test_encoding.c — column encodings: bit-exact round trips, the chooser's picks,
 * sizes, and that truncated / corrupted / mismatched input is refused (never a crash).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/encoding.h"

#ifndef VOLTA_SHARED_DATA
#define VOLTA_SHARED_DATA "/work/shared/data"
#endif

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return x;
}

static double dbl_of(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static const int64_t HOUR_NS = 3600LL * 1000000000LL;
static const int64_t T2023 = 1672531200LL * 1000000000LL;

/* ---- generic round-trip helpers ------------------------------------------------------- */

static uint8_t ts_rt_eff(enc_effort eff, const int64_t *ts, size_t n, size_t *size)
{
    vt_buf b;
    vt_err err;
    vt_buf_init(&b);
    enc_ts_encode_e(ts, n, eff, &b);
    assert_false(b.oom);
    int64_t *back = calloc(n ? n : 1, sizeof *back);
    assert_non_null(back);
    vt_rc rc = enc_ts_decode(b.data, b.len, back, n, &err);
    if (rc != VT_OK)
        fail_msg("ts decode (%s): %s", enc_name(b.data[0]), err.msg);
    assert_true(n == 0 || memcmp(back, ts, n * sizeof *ts) == 0);
    uint8_t tag = b.data[0];
    if (size)
        *size = b.len;
    free(back);
    vt_buf_free(&b);
    return tag;
}

/* Round trip with the best encoders (its tag and size are returned) and with the fast ones. */
static uint8_t ts_rt(const int64_t *ts, size_t n, size_t *size)
{
    ts_rt_eff(ENC_FAST, ts, n, NULL);
    ts_rt_eff(ENC_QUICK, ts, n, NULL);
    return ts_rt_eff(ENC_BEST, ts, n, size);
}

static uint8_t f64_rt_eff(enc_effort eff, const double *v, size_t n, size_t *size)
{
    vt_buf b;
    vt_err err;
    vt_buf_init(&b);
    enc_f64_encode_e(v, n, eff, &b);
    assert_false(b.oom);
    double *back = calloc(n ? n : 1, sizeof *back);
    assert_non_null(back);
    vt_rc rc = enc_f64_decode(b.data, b.len, back, n, &err);
    if (rc != VT_OK)
        fail_msg("f64 decode (%s): %s", enc_name(b.data[0]), err.msg);
    for (size_t i = 0; i < n; i++)
        if (memcmp(&back[i], &v[i], sizeof(double)) != 0)
            fail_msg("f64 %s: value %zu differs: %.17g vs %.17g", enc_name(b.data[0]), i,
                     back[i], v[i]);
    uint8_t tag = b.data[0];
    if (size)
        *size = b.len;
    free(back);
    vt_buf_free(&b);
    return tag;
}

/* Round trip with the best encoders (its tag and size are returned) and with the fast ones. */
static uint8_t f64_rt(const double *v, size_t n, size_t *size)
{
    f64_rt_eff(ENC_FAST, v, n, NULL);
    f64_rt_eff(ENC_QUICK, v, n, NULL);
    return f64_rt_eff(ENC_BEST, v, n, size);
}

static uint8_t i64_rt_eff(enc_effort eff, const int64_t *v, size_t n, size_t *size)
{
    vt_buf b;
    vt_err err;
    vt_buf_init(&b);
    enc_i64_encode_e(v, n, eff, &b);
    assert_false(b.oom);
    int64_t *back = calloc(n ? n : 1, sizeof *back);
    assert_non_null(back);
    vt_rc rc = enc_i64_decode(b.data, b.len, back, n, &err);
    if (rc != VT_OK)
        fail_msg("i64 decode (%s): %s", enc_name(b.data[0]), err.msg);
    assert_true(n == 0 || memcmp(back, v, n * sizeof *v) == 0);
    uint8_t tag = b.data[0];
    if (size)
        *size = b.len;
    free(back);
    vt_buf_free(&b);
    return tag;
}

/* Round trip with the best encoders (its tag and size are returned) and with the fast ones. */
static uint8_t i64_rt(const int64_t *v, size_t n, size_t *size)
{
    i64_rt_eff(ENC_FAST, v, n, NULL);
    i64_rt_eff(ENC_QUICK, v, n, NULL);
    return i64_rt_eff(ENC_BEST, v, n, size);
}

static uint8_t u64_rt_eff(enc_effort eff, const uint64_t *v, size_t n, size_t *size)
{
    vt_buf b;
    vt_err err;
    vt_buf_init(&b);
    enc_u64_encode_e(v, n, eff, &b);
    assert_false(b.oom);
    uint64_t *back = calloc(n ? n : 1, sizeof *back);
    assert_non_null(back);
    vt_rc rc = enc_u64_decode(b.data, b.len, back, n, &err);
    if (rc != VT_OK)
        fail_msg("u64 decode (%s): %s", enc_name(b.data[0]), err.msg);
    assert_true(n == 0 || memcmp(back, v, n * sizeof *v) == 0);
    uint8_t tag = b.data[0];
    if (size)
        *size = b.len;
    free(back);
    vt_buf_free(&b);
    return tag;
}

/* Round trip with the best encoders (its tag and size are returned) and with the fast ones. */
static uint8_t u64_rt(const uint64_t *v, size_t n, size_t *size)
{
    u64_rt_eff(ENC_FAST, v, n, NULL);
    u64_rt_eff(ENC_QUICK, v, n, NULL);
    return u64_rt_eff(ENC_BEST, v, n, size);
}

/* Every strict prefix of an encoded column must be refused; so must one extra byte. */
typedef vt_rc (*decode_fn)(const uint8_t *p, size_t len, void *out, size_t n, vt_err *err);

static vt_rc dec_ts(const uint8_t *p, size_t len, void *out, size_t n, vt_err *err)
{
    return enc_ts_decode(p, len, out, n, err);
}
static vt_rc dec_f64(const uint8_t *p, size_t len, void *out, size_t n, vt_err *err)
{
    return enc_f64_decode(p, len, out, n, err);
}
static vt_rc dec_i64(const uint8_t *p, size_t len, void *out, size_t n, vt_err *err)
{
    return enc_i64_decode(p, len, out, n, err);
}
static vt_rc dec_u64(const uint8_t *p, size_t len, void *out, size_t n, vt_err *err)
{
    return enc_u64_decode(p, len, out, n, err);
}
static vt_rc dec_bool(const uint8_t *p, size_t len, void *out, size_t n, vt_err *err)
{
    return enc_bool_decode(p, len, out, n, err);
}

static void check_corruption(const vt_buf *enc, size_t n, size_t elem, decode_fn fn)
{
    void *out = calloc(n + 2, elem);
    assert_non_null(out);
    vt_err err;
    /* Truncations: exact-size heap copies so ASan catches any over-read. */
    for (size_t cut = 0; cut < enc->len; cut++) {
        uint8_t *c = malloc(cut ? cut : 1);
        assert_non_null(c);
        memcpy(c, enc->data, cut);
        vt_rc rc = fn(c, cut, out, n, &err);
        if (rc != VT_ECORRUPT)
            fail_msg("%s: prefix of %zu/%zu bytes accepted", enc_name(enc->data[0]), cut,
                     enc->len);
        assert_true(strlen(err.msg) > 0);
        free(c);
    }
    /* A trailing byte. */
    uint8_t *c = malloc(enc->len + 1);
    assert_non_null(c);
    memcpy(c, enc->data, enc->len);
    c[enc->len] = 0x5A;
    assert_int_equal(fn(c, enc->len + 1, out, n, &err), VT_ECORRUPT);
    /* Random byte flips: any result but a crash; an unknown tag must be refused. */
    for (int t = 0; t < 300; t++) {
        memcpy(c, enc->data, enc->len);
        size_t at = rnd() % enc->len;
        c[at] ^= (uint8_t)(1 + rnd() % 255);
        (void)fn(c, enc->len, out, n, &err);
    }
    c[0] = 0xEE;
    assert_int_equal(fn(c, enc->len, out, n, &err), VT_ECORRUPT);
    free(c);
    free(out);
}

/* ---- simple8b --------------------------------------------------------------------------- */

static void test_simple8b_roundtrip(void **state)
{
    (void)state;
    enum { N = 5000 };
    uint64_t *v = malloc(N * sizeof *v), *back = malloc(N * sizeof *back);
    assert_non_null(v);
    assert_non_null(back);
    for (unsigned bits = 0; bits <= 60; bits++) {
        for (size_t i = 0; i < N; i++) {
            uint64_t mask = bits == 0 ? 0 : (bits == 64 ? ~0ull : ((1ull << bits) - 1));
            v[i] = (i % 97 < 40) ? 0 : (rnd() & mask); /* runs of zeros and noise */
            if (i % 1000 == 999)
                v[i] = mask; /* the widest value of that width */
        }
        vt_buf b;
        vt_err err;
        size_t used = 0;
        vt_buf_init(&b);
        assert_true(simple8b_encode(v, N, &b));
        assert_int_equal(b.len % 8, 0);
        assert_int_equal(simple8b_decode(b.data, b.len, back, N, &used, &err), VT_OK);
        assert_int_equal(used, b.len);
        assert_memory_equal(v, back, N * sizeof *v);
        /* Fewer words than needed: an error naming the count. */
        assert_int_equal(simple8b_decode(b.data, b.len - 8, back, N, &used, &err),
                         VT_ECORRUPT);
        assert_non_null(strstr(err.msg, "stream ends after"));
        vt_buf_free(&b);
    }
    free(v);
    free(back);
}

static void test_simple8b_runs_and_limits(void **state)
{
    (void)state;
    enum { N = 100000 };
    uint64_t *v = calloc(N, sizeof *v), *back = calloc(N, sizeof *back);
    assert_non_null(v);
    assert_non_null(back);
    vt_buf b;
    vt_err err;
    size_t used;
    vt_buf_init(&b);
    /* 100000 zeros: one run word. */
    assert_true(simple8b_encode(v, N, &b));
    assert_int_equal(b.len, 8);
    assert_int_equal(simple8b_decode(b.data, b.len, back, N, &used, &err), VT_OK);
    assert_memory_equal(v, back, N * sizeof *v);
    /* The run holds more than asked for: refused. */
    assert_int_equal(simple8b_decode(b.data, b.len, back, N - 1, &used, &err), VT_ECORRUPT);
    /* Runs of a repeated larger value. */
    vt_buf_reset(&b);
    for (size_t i = 0; i < N; i++)
        v[i] = 0xFFFFFFFFu;
    assert_true(simple8b_encode(v, N, &b));
    assert_int_equal(b.len, 8);
    assert_int_equal(simple8b_decode(b.data, b.len, back, N, &used, &err), VT_OK);
    assert_memory_equal(v, back, N * sizeof *v);
    /* 2^60 - 1 packs, 2^60 does not (and out is left alone). */
    vt_buf_reset(&b);
    v[0] = (1ull << 60) - 1;
    assert_true(simple8b_encode(v, 1, &b));
    assert_int_equal(b.len, 8);
    vt_buf_reset(&b);
    v[0] = 1ull << 60;
    assert_false(simple8b_encode(v, 1, &b));
    assert_int_equal(b.len, 0);
    /* n = 0 */
    assert_true(simple8b_encode(v, 0, &b));
    assert_int_equal(b.len, 0);
    assert_int_equal(simple8b_decode(NULL, 0, back, 0, &used, &err), VT_OK);
    assert_int_equal(used, 0);
    vt_buf_free(&b);

    /* Hand-made bad words. */
    uint8_t w[8];
    vt_put_u64(w, 1ull << 60); /* reserved selector 1 */
    assert_int_equal(simple8b_decode(w, 8, back, 1, &used, &err), VT_ECORRUPT);
    assert_non_null(strstr(err.msg, "reserved"));
    vt_put_u64(w, 0); /* run of 0 values */
    assert_int_equal(simple8b_decode(w, 8, back, 1, &used, &err), VT_ECORRUPT);
    vt_put_u64(w, (9ull << 60) | (1ull << 59)); /* 7x8 with a bit in the unused top 4 */
    assert_int_equal(simple8b_decode(w, 8, back, 7, &used, &err), VT_ECORRUPT);
    vt_put_u64(w, 2ull << 60); /* 60 x 1 bit, only 5 wanted */
    assert_int_equal(simple8b_decode(w, 8, back, 5, &used, &err), VT_ECORRUPT);
    assert_int_equal(simple8b_decode(w, 7, back, 5, &used, &err), VT_ECORRUPT);
    free(v);
    free(back);
}

/* ---- timestamps ------------------------------------------------------------------------- */

static void test_ts_hourly_rle(void **state)
{
    (void)state;
    enum { N = 1000 };
    int64_t ts[N];
    for (size_t i = 0; i < N; i++)
        ts[i] = T2023 + (int64_t)i * HOUR_NS;
    size_t sz;
    assert_int_equal(ts_rt(ts, N, &sz), ENC_TS_RLE);
    print_message("hourly timestamps: %zu values in %zu bytes\n", (size_t)N, sz);
    assert_true(sz <= 24);
    /* Constant timestamps (step 0) and a negative step are RLE too. */
    for (size_t i = 0; i < N; i++)
        ts[i] = -5;
    assert_int_equal(ts_rt(ts, N, &sz), ENC_TS_RLE);
    for (size_t i = 0; i < N; i++)
        ts[i] = 1000 - (int64_t)i * 7;
    assert_int_equal(ts_rt(ts, N, &sz), ENC_TS_RLE);
    /* Wrapping constant step across INT64_MAX -> INT64_MIN still round-trips. */
    for (size_t i = 0; i < N; i++)
        ts[i] = (int64_t)((uint64_t)INT64_MAX - 10 + (uint64_t)i * 3);
    assert_int_equal(ts_rt(ts, N, &sz), ENC_TS_RLE);

    vt_buf b;
    vt_buf_init(&b);
    for (size_t i = 0; i < N; i++)
        ts[i] = T2023 + (int64_t)i * HOUR_NS;
    enc_ts_encode(ts, N, &b);
    check_corruption(&b, N, sizeof(int64_t), dec_ts);
    /* The count in the RLE header must match n. */
    vt_err err;
    int64_t out[N + 1];
    assert_int_equal(enc_ts_decode(b.data, b.len, out, N + 1, &err), VT_ECORRUPT);
    assert_int_equal(enc_ts_decode(b.data, b.len, out, N - 1, &err), VT_ECORRUPT);
    vt_buf_free(&b);
}

static void test_ts_irregular(void **state)
{
    (void)state;
    enum { N = 1000 };
    int64_t ts[N];
    size_t sz;
    /* Hourly with a few missing hours and second-level jitter. */
    int64_t t = T2023;
    for (size_t i = 0; i < N; i++) {
        t += HOUR_NS * ((i % 97 == 13) ? 2 : 1);
        ts[i] = t + (int64_t)(rnd() % 3) * 1000000000LL;
    }
    uint8_t tag = ts_rt(ts, N, &sz);
    assert_true(tag == ENC_TS_DOD || tag == ENC_TS_SIMPLE8B);
    assert_true(sz < N * 8 / 2);
    print_message("jittered hourly timestamps: %s, %zu bytes\n", enc_name(tag), sz);
    /* Regular with a few gaps: cheap dod. */
    t = T2023;
    for (size_t i = 0; i < N; i++) {
        t += (i % 100 == 50) ? 5 * HOUR_NS : HOUR_NS;
        ts[i] = t;
    }
    tag = ts_rt(ts, N, &sz);
    assert_true(tag == ENC_TS_DOD || tag == ENC_TS_SIMPLE8B);
    assert_true(sz < 250);

    vt_buf b;
    vt_buf_init(&b);
    enc_ts_encode(ts, N, &b);
    check_corruption(&b, N, sizeof(int64_t), dec_ts);
    vt_buf_free(&b);

    /* Random, unsorted, negative, huge gaps, extremes. */
    for (size_t i = 0; i < N; i++)
        ts[i] = (int64_t)rnd();
    assert_int_equal(ts_rt(ts, N, &sz), ENC_TS_RAW);
    vt_buf_init(&b);
    enc_ts_encode(ts, 50, &b);
    check_corruption(&b, 50, sizeof(int64_t), dec_ts);
    vt_buf_free(&b);
    for (size_t i = 0; i < N; i++)
        ts[i] = -(int64_t)(rnd() % 1000000) * 1000;
    ts_rt(ts, N, NULL);
    int64_t ext[] = {INT64_MIN, INT64_MAX, 0, INT64_MIN, -1, INT64_MAX, INT64_MAX, 1, INT64_MIN};
    ts_rt(ext, sizeof ext / sizeof ext[0], NULL);
    int64_t gaps[] = {-HOUR_NS * 1000000, 0, HOUR_NS * 1000000, HOUR_NS * 1000001,
                      HOUR_NS * 1000002, INT64_MAX / 2, INT64_MAX};
    ts_rt(gaps, sizeof gaps / sizeof gaps[0], NULL);
    /* Each dod bucket, forward and backward. */
    int64_t buckets[64];
    int64_t acc = 0, d = 0;
    for (size_t i = 0; i < 64; i++) {
        int64_t dd = (int64_t)1 << (i % 63);
        d += (i & 1) ? -dd : dd;
        acc = (int64_t)((uint64_t)acc + (uint64_t)d);
        buckets[i] = acc;
    }
    ts_rt(buckets, 64, NULL);
    /* Single point, two points, empty. */
    int64_t one = T2023;
    ts_rt(&one, 1, &sz);
    assert_true(sz <= 12);
    int64_t two[2] = {5, -7};
    ts_rt(two, 2, NULL);
    assert_int_equal(ts_rt(NULL, 0, &sz), ENC_TS_RAW);
    assert_int_equal(sz, 1);
}

/* ---- floats ------------------------------------------------------------------------------ */

static void test_f64_edge_values(void **state)
{
    (void)state;
    double edge[] = {0.0,
                     -0.0,
                     NAN,
                     -NAN,
                     dbl_of(0x7FF0000000000001ull), /* signalling NaN payload */
                     dbl_of(0x7FF8DEADBEEF0001ull), /* quiet NaN payload */
                     dbl_of(0xFFFFFFFFFFFFFFFFull),
                     INFINITY,
                     -INFINITY,
                     DBL_MIN,
                     -DBL_MIN,
                     DBL_MAX,
                     -DBL_MAX,
                     DBL_TRUE_MIN,
                     dbl_of(0x000FFFFFFFFFFFFFull), /* largest denormal */
                     1.0,
                     -1.0,
                     0.1,
                     9007199254740993.0,
                     1e300,
                     -1e-300};
    size_t n = sizeof edge / sizeof edge[0];
    uint8_t tag = f64_rt(edge, n, NULL);
    assert_int_not_equal(tag, ENC_F64_DECIMAL);
    for (size_t i = 0; i < n; i++)
        f64_rt(&edge[i], 1, NULL);
    /* Values that would be decimal except for one -0.0 / NaN / Inf: must not be decimal. */
    double d[10] = {1.5, 2.25, 3.125, 4.0, 5.5, 6.75, 7.0, 8.5, 9.0, 10.25};
    assert_int_equal(f64_rt(d, 10, NULL), ENC_F64_DECIMAL);
    double specials[] = {-0.0, NAN, INFINITY, -INFINITY, DBL_TRUE_MIN};
    for (size_t s = 0; s < sizeof specials / sizeof specials[0]; s++) {
        double e[10];
        memcpy(e, d, sizeof d);
        e[4] = specials[s];
        assert_int_not_equal(f64_rt(e, 10, NULL), ENC_F64_DECIMAL);
    }
    /* Empty. */
    size_t sz;
    assert_int_equal(f64_rt(NULL, 0, &sz), ENC_F64_RAW);
    assert_int_equal(sz, 1);
}

static void test_f64_random_bits(void **state)
{
    (void)state;
    enum { N = 2000 };
    double *v = malloc(N * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < N; i++)
        v[i] = dbl_of(rnd());
    assert_int_equal(f64_rt(v, N, NULL), ENC_F64_RAW);
    /* Random walk of doubles: gorilla. */
    double x = 1000.0;
    for (size_t i = 0; i < N; i++) {
        x += (double)(int64_t)(rnd() % 2001 - 1000) / 7.0;
        v[i] = x;
    }
    uint8_t tag = f64_rt(v, N, NULL);
    assert_true(tag == ENC_F64_GORILLA || tag == ENC_F64_RAW);
    /* Constant, alternating, monotonic. */
    for (size_t i = 0; i < N; i++)
        v[i] = M_PI;
    size_t sz;
    tag = f64_rt(v, N, &sz);
    assert_int_equal(tag, ENC_F64_GORILLA);
    assert_true(sz < N / 8 + 16);
    for (size_t i = 0; i < N; i++)
        v[i] = (i & 1) ? M_PI : -M_E;
    f64_rt(v, N, NULL);
    for (size_t i = 0; i < N; i++)
        v[i] = (i & 1) ? NAN : -0.0;
    f64_rt(v, N, NULL);
    for (size_t i = 0; i < N; i++)
        v[i] = (double)i * 0.25;
    assert_int_equal(f64_rt(v, N, NULL), ENC_F64_DECIMAL);
    /* Mixed doubles: shuffled specials among random ones. */
    double sp[] = {NAN, -0.0, INFINITY, DBL_TRUE_MIN, DBL_MAX, 0.0};
    for (size_t i = 0; i < N; i++)
        v[i] = (rnd() % 4 == 0) ? sp[rnd() % 6] : (double)(int64_t)(rnd() % 100000) / 1000.0;
    f64_rt(v, N, NULL);

    vt_buf b;
    vt_buf_init(&b);
    for (size_t i = 0; i < 40; i++)
        v[i] = 1.0 / (double)(i / 8 + 3); /* runs of repeated values */
    enc_f64_encode(v, 40, &b);
    assert_int_equal(b.data[0], ENC_F64_GORILLA);
    check_corruption(&b, 40, sizeof(double), dec_f64);
    vt_buf_reset(&b);
    enc_f64_encode(v, 3, &b);
    check_corruption(&b, 3, sizeof(double), dec_f64);
    vt_buf_reset(&b);
    for (size_t i = 0; i < 40; i++)
        v[i] = dbl_of(rnd());
    enc_f64_encode(v, 40, &b);
    assert_int_equal(b.data[0], ENC_F64_RAW);
    check_corruption(&b, 40, sizeof(double), dec_f64);
    vt_buf_free(&b);
    free(v);
}

static void test_f64_decimal(void **state)
{
    (void)state;
    enum { N = 1000 };
    double *v = malloc(N * sizeof *v);
    assert_non_null(v);
    size_t sz;
    /* 3-decimal load values: decimal, and much smaller than gorilla would be. */
    int64_t x = 5990553;
    for (size_t i = 0; i < N; i++) {
        x += (int64_t)(rnd() % 200001) - 100000;
        v[i] = (double)x / 1e3;
    }
    assert_int_equal(f64_rt(v, N, &sz), ENC_F64_DECIMAL);
    assert_true(sz * 8 < N * 24);
    print_message("3-decimal random walk: %.2f bits/value\n", (double)sz * 8 / N);
    /* ONS style: mostly 3 decimals written as x.xxx - 1e-8, some arbitrary 8 decimals. */
    x = 1045581800000LL;
    for (size_t i = 0; i < N; i++) {
        x += ((int64_t)(rnd() % 200001) - 100000) * 100000;
        int64_t y = x;
        uint64_t r = rnd() % 100;
        if (r < 40)
            y -= 1;
        else if (r < 43)
            y += (int64_t)(rnd() % 2001) - 1000;
        char s[64];
        snprintf(s, sizeof s, "%lld.%08lld", (long long)(y / 100000000),
                 (long long)(y % 100000000));
        v[i] = strtod(s, NULL);
    }
    assert_int_equal(f64_rt(v, N, &sz), ENC_F64_DECIMAL);
    print_message("ONS-like 8-decimal values: %.2f bits/value\n", (double)sz * 8 / N);
    assert_true(sz * 8 < N * 24);
    /* Integers, negatives, large scales. */
    for (size_t i = 0; i < N; i++)
        v[i] = (double)((int64_t)(rnd() % 2000000) - 1000000);
    assert_int_equal(f64_rt(v, N, NULL), ENC_F64_DECIMAL);
    for (size_t i = 0; i < N; i++)
        v[i] = (double)((int64_t)(rnd() % 2000000) - 1000000) / 1e12;
    assert_int_equal(f64_rt(v, N, NULL), ENC_F64_DECIMAL);
    /* 2^53 is the largest scaled magnitude; beyond it: not decimal but exact anyway. */
    v[0] = 9007199254740992.0;
    v[1] = -9007199254740992.0;
    v[2] = 18014398509481984.0;
    f64_rt(v, 3, NULL);
    f64_rt(v, 2, NULL);
    for (size_t i = 0; i < N; i++)
        v[i] = 9007199254740992.0 - (double)i;
    assert_int_equal(f64_rt(v, N, NULL), ENC_F64_DECIMAL);

    /* Constant decimal series. */
    for (size_t i = 0; i < N; i++)
        v[i] = 5990.553;
    assert_int_not_equal(f64_rt(v, N, &sz), ENC_F64_RAW);
    assert_true(sz < 40);

    vt_buf b;
    vt_buf_init(&b);
    for (size_t i = 0; i < 60; i++) {
        char s[64];
        int64_t y = (int64_t)(rnd() % 100000) * 100000 - (i % 2);
        snprintf(s, sizeof s, "%lld.%08lld", (long long)(y / 100000000),
                 (long long)(y % 100000000));
        v[i] = strtod(s, NULL);
    }
    enc_f64_encode(v, 60, &b);
    assert_int_equal(b.data[0], ENC_F64_DECIMAL);
    check_corruption(&b, 60, sizeof(double), dec_f64);
    /* Bad scale bytes. */
    vt_err err;
    uint8_t bad[] = {ENC_F64_DECIMAL, 13, 0, 0, 0};
    assert_int_equal(enc_f64_decode(bad, sizeof bad, v, 1, &err), VT_ECORRUPT);
    uint8_t bad2[] = {ENC_F64_DECIMAL, 3, 4, 0, 0};
    assert_int_equal(enc_f64_decode(bad2, sizeof bad2, v, 1, &err), VT_ECORRUPT);
    vt_buf_free(&b);
    free(v);
}

/* The real ONS file: column 4 per subsystem, blocks of 1000, bits per value. */
static void test_f64_ons_file(void **state)
{
    (void)state;
    const char *path = VOLTA_SHARED_DATA "/ons/CURVA_CARGA_2023.csv";
    FILE *f = fopen(path, "r");
    if (!f) {
        print_message("skipping: %s not found\n", path);
        skip();
    }
    const char *subs[4] = {"N", "NE", "S", "SE"};
    enum { MAXV = 20000, BLOCK = 1000 };
    double *vals[4];
    size_t cnt[4] = {0, 0, 0, 0};
    for (int s = 0; s < 4; s++) {
        vals[s] = malloc(MAXV * sizeof(double));
        assert_non_null(vals[s]);
    }
    char line[256];
    while (fgets(line, sizeof line, f)) {
        char *semi1 = strchr(line, ';');
        if (!semi1)
            continue;
        *semi1 = '\0';
        char *c4 = strrchr(semi1 + 1, ';');
        if (!c4)
            continue;
        for (int s = 0; s < 4; s++)
            if (strcmp(line, subs[s]) == 0 && cnt[s] < MAXV)
                vals[s][cnt[s]++] = strtod(c4 + 1, NULL);
    }
    fclose(f);
    size_t total_vals = 0, total_bytes = 0;
    for (int s = 0; s < 4; s++) {
        size_t bytes = 0, ndec = 0, nblocks = 0;
        assert_true(cnt[s] > 8000);
        for (size_t off = 0; off < cnt[s]; off += BLOCK) {
            size_t n = cnt[s] - off < BLOCK ? cnt[s] - off : BLOCK;
            size_t sz;
            uint8_t tag = f64_rt(vals[s] + off, n, &sz);
            ndec += tag == ENC_F64_DECIMAL;
            nblocks++;
            bytes += sz;
        }
        print_message("ONS %-2s: %zu values, %zu blocks (%zu decimal), %.2f bits/value\n",
                      subs[s], cnt[s], nblocks, ndec, (double)bytes * 8 / (double)cnt[s]);
        assert_int_equal(ndec, nblocks);
        total_vals += cnt[s];
        total_bytes += bytes;
        free(vals[s]);
    }
    double bpv = (double)total_bytes * 8 / (double)total_vals;
    print_message("ONS all: %.2f bits/value\n", bpv);
    assert_true(bpv < 24.0);
}

/* ---- Rice packing and seasonal deltas ---------------------------------------------------- */

/* Hourly 3-decimal values with a daily shape and small noise: the value stream must pick Rice
 * packing of seasonal deltas (period 24), round-trip, and refuse every corruption. */
static void test_rice_seasonal(void **state)
{
    (void)state;
    enum { N = 1000 };
    static const int shape[24] = {930, 880, 850, 830, 820, 830, 860, 910, 970, 1020, 1050, 1070,
                                  1060, 1070, 1090, 1100, 1090, 1070, 1080, 1090, 1070, 1040,
                                  1000, 960};
    double *v = malloc(N * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < N; i++) {
        int64_t m = (int64_t)shape[i % 24] * 40000 + (int64_t)(rnd() % 200) + (int64_t)i * 7;
        v[i] = (double)m / 1000.0;
    }
    vt_buf b;
    vt_buf_init(&b);
    enc_f64_encode(v, N, &b);
    assert_false(b.oom);
    assert_int_equal(b.data[0], ENC_F64_DECIMAL);
    assert_int_equal(b.data[1], 3); /* k */
    assert_int_equal(b.data[2], 0); /* s */
    uint8_t mode = b.data[3];
    assert_int_equal(mode & 3, 3);        /* seasonal delta */
    assert_int_equal((mode >> 2) & 3, 2); /* Rice */
    /* ~8 bits of noise difference a value, well under the plain deltas' 20+ bits */
    print_message("seasonal: %zu bytes for %d values\n", b.len, N);
    assert_true(b.len < N * 12 / 8);
    assert_int_equal(f64_rt(v, N, NULL), ENC_F64_DECIMAL);
    check_corruption(&b, N, sizeof(double), dec_f64);
    vt_buf_free(&b);

    /* Rice with escapes: mostly small deltas, a few huge jumps */
    int64_t *iv = malloc(N * sizeof *iv);
    assert_non_null(iv);
    for (size_t i = 0; i < N; i++)
        iv[i] = (int64_t)(rnd() % 16) + (i % 97 == 5 ? (int64_t)1 << 50 : 0) -
                (i % 131 == 7 ? INT64_MAX / 2 : 0);
    i64_rt(iv, N, NULL);
    vt_buf_init(&b);
    enc_i64_encode(iv, N, &b);
    check_corruption(&b, N, sizeof(int64_t), dec_i64);
    vt_buf_free(&b);
    /* seasonal pattern at the int64 extremes (wrapping arithmetic) */
    for (size_t i = 0; i < N; i++)
        iv[i] = (i % 24 < 12 ? INT64_MAX - (int64_t)(i % 24) : INT64_MIN + (int64_t)(i % 24)) -
                (int64_t)(rnd() % 3);
    i64_rt(iv, N, NULL);
    /* all-zero groups and constant runs mixed with noise */
    for (size_t i = 0; i < N; i++)
        iv[i] = (i / 64) % 2 ? (int64_t)(rnd() % 1000) : 5;
    i64_rt(iv, N, NULL);
    for (size_t n = 1; n < 80; n++) /* short columns around the group and period sizes */
        i64_rt(iv, n, NULL);
    free(iv);
    free(v);

    /* hand-made streams: seasonal period 0 / too large, Rice2 (packing 3) cut short */
    int64_t out[4];
    vt_err err;
    const uint8_t p0[] = {ENC_I64_SIMPLE8B, 0x0B, 0x00, 0x00, 0x00};
    assert_int_equal(enc_i64_decode(p0, sizeof p0, out, 4, &err), VT_ECORRUPT);
    const uint8_t pbig[] = {ENC_I64_SIMPLE8B, 0x0B, 0x00, 0x81, 0x40, 0x00};
    assert_int_equal(enc_i64_decode(pbig, sizeof pbig, out, 4, &err), VT_ECORRUPT);
    const uint8_t pk3[] = {ENC_I64_SIMPLE8B, 0x0C, 0x00, 0x00}; /* Rice2 ending after 1 value */
    assert_int_equal(enc_i64_decode(pk3, sizeof pk3, out, 4, &err), VT_ECORRUPT);
    /* a valid hand-made Rice stream: DELTA, v0 = 0, one all-zero group -> four zeros */
    const uint8_t ok[] = {ENC_I64_SIMPLE8B, 0x08, 0x00, 0xFC};
    assert_int_equal(enc_i64_decode(ok, sizeof ok, out, 4, &err), VT_OK);
    for (int i = 0; i < 4; i++)
        assert_int_equal(out[i], 0);
}

/* ---- Rice2: context Rice with Exp-Golomb escapes (packing 3) ------------------------------- */

/* Mode byte of the first istream of a DECIMAL column (tag, k, s, mode). */
static unsigned dec_packing(const vt_buf *b)
{
    assert_true(b->len > 3);
    assert_int_equal(b->data[0], ENC_F64_DECIMAL);
    return (b->data[3] >> 2) & 3;
}

/* Demo-shaped columns: solar (zero at night, noisy by day) and hydro (daily shape, noise, a
 * level jump each midnight) must pick Rice2, round-trip and refuse every corruption. */
static void test_rice2_demo_shapes(void **state)
{
    (void)state;
    enum { N = 1024 };
    double *v = malloc(N * sizeof *v);
    assert_non_null(v);
    vt_buf b;
    size_t size;
    /* solar: 0 from 18h to 6h, a sine hump by day with 6 % multiplicative noise */
    for (size_t i = 0; i < N; i++) {
        double h = (double)(i % 24), x = (h + 0.5 - 6.0) / 12.0;
        double sun = x <= 0 || x >= 1 ? 0 : sin(3.141592653589793 * x);
        double m = 250000.0 * sun * (0.97 + 0.06 * (double)(rnd() % 10000) / 10000.0);
        v[i] = (double)(int64_t)m / 1000.0;
    }
    vt_buf_init(&b);
    enc_f64_encode(v, N, &b);
    assert_false(b.oom);
    assert_int_equal(dec_packing(&b), 3);
    print_message("rice2 solar: %zu bytes for %d values\n", b.len, N);
    assert_true(b.len < N * 10 / 8); /* night zeros ~1 bit (Rice alone: 1818 bytes) */
    assert_int_equal(f64_rt(v, N, &size), ENC_F64_DECIMAL);
    check_corruption(&b, N, sizeof(double), dec_f64);
    vt_buf_free(&b);
    /* hydro: daily shape x a level drawn each day x 1 % noise */
    double level = 1.0;
    for (size_t i = 0; i < N; i++) {
        if (i % 24 == 0)
            level = 0.75 + 0.5 * (double)(rnd() % 10000) / 10000.0;
        double shape = 1.0 + 0.15 * sin(2 * 3.141592653589793 * (double)(i % 24) / 24.0);
        double m = 300000.0 * level * shape * (0.995 + 0.01 * (double)(rnd() % 10000) / 10000.0);
        v[i] = (double)(int64_t)m / 1000.0;
    }
    vt_buf_init(&b);
    enc_f64_encode(v, N, &b);
    assert_false(b.oom);
    assert_int_equal(dec_packing(&b), 3);
    print_message("rice2 hydro: %zu bytes for %d values\n", b.len, N);
    assert_true(b.len < 1840); /* the midnight jumps escape cheaply (Rice alone: 1882 bytes) */
    assert_int_equal(f64_rt(v, N, NULL), ENC_F64_DECIMAL);
    check_corruption(&b, N, sizeof(double), dec_f64);
    vt_buf_free(&b);
    free(v);
}

/* Random shapes through every istream user: zero runs, huge outliers, values near 2^64, every
 * length around the group size. Whatever the chooser picks must round-trip. */
static void test_rice2_random(void **state)
{
    (void)state;
    enum { N = 700 };
    int64_t *iv = malloc(N * sizeof *iv);
    uint64_t *uv = malloc(N * sizeof *uv);
    int64_t *ts = malloc(N * sizeof *ts);
    assert_non_null(iv);
    assert_non_null(uv);
    assert_non_null(ts);
    for (int shape = 0; shape < 40; shape++) {
        unsigned bits = 1 + (unsigned)(rnd() % 63);
        for (size_t i = 0; i < N; i++) {
            uint64_t r = rnd();
            bool zero = shape % 3 == 0 && (i / 12) % 2 == 0; /* night-like zero runs */
            uint64_t x = zero ? 0 : r >> (64 - bits);
            if (shape % 5 == 1 && i % 37 == 3)
                x = rnd(); /* outliers of any size */
            if (shape % 7 == 2 && i % 50 == 0)
                x = UINT64_MAX - (rnd() % 3);
            uv[i] = x;
            uint64_t walk = (i ? (uint64_t)iv[i - 1] : 0) + (x >> 2) - (x >> 3); /* wraps */
            iv[i] = shape % 2 ? (int64_t)x : (int64_t)walk;
            ts[i] = T2023 + (int64_t)i * HOUR_NS + (zero ? 0 : (int64_t)(x % 1000000));
        }
        size_t n = shape < 20 ? N : 1 + (size_t)(rnd() % 200);
        i64_rt(iv, n, NULL);
        u64_rt(uv, n, NULL);
        ts_rt(ts, n, NULL);
    }
    /* a block whose Rice2 stream the chooser must take: small values, zero runs, rare jumps */
    for (size_t i = 0; i < N; i++)
        iv[i] = (i / 30) % 2 ? (int64_t)(rnd() % 4000) + (i % 64 == 9 ? 1 << 30 : 0) : 0;
    vt_buf b;
    vt_buf_init(&b);
    enc_i64_encode(iv, N, &b);
    assert_int_equal(b.data[0], ENC_I64_SIMPLE8B);
    assert_int_equal((b.data[1] >> 2) & 3, 3);
    check_corruption(&b, N, sizeof(int64_t), dec_i64);
    vt_buf_free(&b);
    i64_rt(iv, N, NULL);
    free(iv);
    free(uv);
    free(ts);
}

/* Hand-made Rice2 streams (u64, PLAIN transform: mode 0x0F) pin the layout down bit by bit. */
static void test_rice2_layout(void **state)
{
    (void)state;
    uint64_t out[8];
    vt_err err;
    /* k = 5, context flag 1; 0 (first value: k = 5) "0 00000"; 3 (after a 0: k = 0) escape
     * "111" + Exp-Golomb(1) "1"; 40 (after 3: k = 5) "10" + "01000":
     * 000101 1 000000 1111 1001000 = 0x16 0x07 0xC8 */
    const uint8_t ok[] = {ENC_U64_SIMPLE8B, 0x0F, 0x16, 0x07, 0xC8};
    assert_int_equal(enc_u64_decode(ok, sizeof ok, out, 3, &err), VT_OK);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 3);
    assert_int_equal(out[2], 40);
    /* the same with flag 0: the 3 is coded with k = 5 -> different values, still valid */
    const uint8_t flag0[] = {ENC_U64_SIMPLE8B, 0x0F, 0x14, 0x07, 0xC8};
    vt_rc rc = enc_u64_decode(flag0, sizeof flag0, out, 3, &err);
    assert_true(rc == VT_OK || rc == VT_ECORRUPT);
    /* non-zero padding after an all-zero group (k = 63): 111111 + 01 */
    const uint8_t pad[] = {ENC_U64_SIMPLE8B, 0x0F, 0xFD};
    assert_int_equal(enc_u64_decode(pad, sizeof pad, out, 4, &err), VT_ECORRUPT);
    const uint8_t zeros[] = {ENC_U64_SIMPLE8B, 0x0F, 0xFC};
    assert_int_equal(enc_u64_decode(zeros, sizeof zeros, out, 4, &err), VT_OK);
    for (int i = 0; i < 4; i++)
        assert_int_equal(out[i], 0);
    /* escape whose Exp-Golomb prefix has more than 63 zeros: k = 0, flag 0, 111, 78 zeros */
    uint8_t longesc[16] = {ENC_U64_SIMPLE8B, 0x0F, 0x01, 0xC0};
    longesc[sizeof longesc - 1] = 0xFF;
    assert_int_equal(enc_u64_decode(longesc, sizeof longesc, out, 1, &err), VT_ECORRUPT);
    assert_non_null(strstr(err.msg, "longer than 64 bits"));
    /* quotient that does not fit at k = 62: 111110 0 111 010 (q = 4) */
    const uint8_t big[] = {ENC_U64_SIMPLE8B, 0x0F, 0xF9, 0xD0, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(enc_u64_decode(big, sizeof big, out, 1, &err), VT_ECORRUPT);
    assert_non_null(strstr(err.msg, "does not fit"));
    /* the largest value: k = 0, flag 0, 111, Exp-Golomb of 2^64 - 3 (63 zeros, 64 bits) */
    const uint8_t maxv[] = {ENC_U64_SIMPLE8B, 0x0F, 0x01, 0xC0, 0x00, 0x00, 0x00, 0x00,
                            0x00, 0x00, 0x00, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF,
                            0xFF, 0xFF, 0xFE, 0x80};
    assert_int_equal(enc_u64_decode(maxv, sizeof maxv, out, 1, &err), VT_OK);
    assert_true(out[0] == UINT64_MAX);
    /* Exp-Golomb of 2^64 - 2 would make q = 2^64: refused */
    uint8_t over[sizeof maxv];
    memcpy(over, maxv, sizeof maxv);
    over[18] = 0xFF, over[19] = 0x00; /* y = 2^64 - 2 */
    assert_int_equal(enc_u64_decode(over, sizeof over, out, 1, &err), VT_ECORRUPT);
    /* the encoder's own streams of extreme values round-trip */
    uint64_t col[70];
    for (size_t i = 0; i < 70; i++)
        col[i] = i % 2 ? UINT64_MAX - i : 0;
    u64_rt(col, 70, NULL);
}

/* ---- integers ---------------------------------------------------------------------------- */

static void test_i64(void **state)
{
    (void)state;
    enum { N = 1000 };
    int64_t v[N];
    size_t sz;
    for (size_t i = 0; i < N; i++)
        v[i] = 42 + 3 * (int64_t)i;
    assert_int_equal(i64_rt(v, N, &sz), ENC_I64_RLE);
    assert_true(sz < 12);
    for (size_t i = 0; i < N; i++)
        v[i] = 7;
    assert_int_equal(i64_rt(v, N, &sz), ENC_I64_RLE);
    for (size_t i = 0; i < N; i++)
        v[i] = (int64_t)(rnd() % 100) - 50;
    assert_int_equal(i64_rt(v, N, &sz), ENC_I64_SIMPLE8B);
    assert_true(sz < N);
    for (size_t i = 0; i < N; i++)
        v[i] = (int64_t)rnd();
    assert_int_equal(i64_rt(v, N, &sz), ENC_I64_RAW);
    for (size_t i = 0; i < N; i++)
        v[i] = (i & 1) ? INT64_MIN : INT64_MAX;
    i64_rt(v, N, NULL);
    int64_t ext[] = {INT64_MIN, INT64_MAX, 0, -1, 1, INT64_MIN + 1, INT64_MAX - 1};
    i64_rt(ext, 7, NULL);
    i64_rt(ext, 1, NULL);
    for (size_t i = 0; i < N; i++)
        v[i] = (int64_t)(i * i) - 30000; /* monotonic-ish quadratic: dod friendly */
    assert_int_equal(i64_rt(v, N, &sz), ENC_I64_SIMPLE8B);
    assert_int_equal(i64_rt(NULL, 0, &sz), ENC_I64_RAW);

    vt_buf b;
    vt_buf_init(&b);
    for (size_t i = 0; i < 100; i++)
        v[i] = (int64_t)(rnd() % 1000);
    enc_i64_encode(v, 100, &b);
    assert_int_equal(b.data[0], ENC_I64_SIMPLE8B);
    check_corruption(&b, 100, sizeof(int64_t), dec_i64);
    vt_buf_reset(&b);
    for (size_t i = 0; i < 100; i++)
        v[i] = 5 - (int64_t)i;
    enc_i64_encode(v, 100, &b);
    assert_int_equal(b.data[0], ENC_I64_RLE);
    check_corruption(&b, 100, sizeof(int64_t), dec_i64);
    vt_buf_reset(&b);
    for (size_t i = 0; i < 30; i++)
        v[i] = (int64_t)rnd();
    enc_i64_encode(v, 30, &b);
    assert_int_equal(b.data[0], ENC_I64_RAW);
    check_corruption(&b, 30, sizeof(int64_t), dec_i64);
    vt_buf_free(&b);
}

static void test_u64(void **state)
{
    (void)state;
    enum { N = 1000 };
    uint64_t v[N];
    size_t sz;
    for (size_t i = 0; i < N; i++)
        v[i] = rnd() % 1000;
    assert_int_equal(u64_rt(v, N, &sz), ENC_U64_SIMPLE8B);
    assert_true(sz < N * 2);
    for (size_t i = 0; i < N; i++)
        v[i] = UINT64_MAX - i * 5;
    assert_int_equal(u64_rt(v, N, &sz), ENC_U64_SIMPLE8B);
    assert_true(sz < 40);
    for (size_t i = 0; i < N; i++)
        v[i] = (i & 1) ? UINT64_MAX : 0;
    u64_rt(v, N, NULL);
    for (size_t i = 0; i < N; i++)
        v[i] = rnd();
    assert_int_equal(u64_rt(v, N, &sz), ENC_U64_RAW);
    uint64_t ext[] = {0, UINT64_MAX, 1ull << 63, (1ull << 63) - 1, 1ull << 60, (1ull << 60) - 1};
    u64_rt(ext, 6, NULL);
    assert_int_equal(u64_rt(NULL, 0, &sz), ENC_U64_RAW);

    vt_buf b;
    vt_buf_init(&b);
    for (size_t i = 0; i < 100; i++)
        v[i] = rnd() % 100000;
    enc_u64_encode(v, 100, &b);
    check_corruption(&b, 100, sizeof(uint64_t), dec_u64);
    vt_buf_free(&b);
}

/* ---- booleans ---------------------------------------------------------------------------- */

static void test_bool(void **state)
{
    (void)state;
    bool v[1003], back[1003];
    vt_err err;
    for (size_t n = 0; n < 1003; n += (n < 20 ? 1 : 97)) {
        for (size_t i = 0; i < n; i++)
            v[i] = rnd() & 1;
        vt_buf b;
        vt_buf_init(&b);
        enc_bool_encode(v, n, &b);
        assert_int_equal(b.len, 1 + (n + 7) / 8);
        assert_int_equal(enc_bool_decode(b.data, b.len, back, n, &err), VT_OK);
        assert_true(n == 0 || memcmp(v, back, n) == 0);
        if (n > 0)
            check_corruption(&b, n, sizeof(bool), dec_bool);
        if (n % 8) {
            b.data[b.len - 1] |= 0x80; /* a padding bit */
            assert_int_equal(enc_bool_decode(b.data, b.len, back, n, &err), VT_ECORRUPT);
        }
        vt_buf_free(&b);
    }
}

/* ---- strings ----------------------------------------------------------------------------- */

static void str_rt(const vt_str *v, size_t n, uint8_t want_tag)
{
    vt_buf b, arena;
    vt_err err;
    vt_buf_init(&b);
    vt_buf_init(&arena);
    vt_buf_append(&arena, "prefix", 6); /* the arena may already hold data */
    enc_str_encode(v, n, &b);
    assert_false(b.oom);
    if (want_tag)
        assert_int_equal(b.data[0], want_tag);
    vt_str *back = calloc(n ? n : 1, sizeof *back);
    assert_non_null(back);
    vt_rc rc = enc_str_decode(b.data, b.len, back, n, &arena, &err);
    if (rc != VT_OK)
        fail_msg("str decode: %s", err.msg);
    assert_memory_equal(arena.data, "prefix", 6);
    for (size_t i = 0; i < n; i++) {
        assert_true(vt_str_eq(v[i], back[i]));
        if (back[i].len)
            assert_true((const uint8_t *)back[i].ptr >= arena.data &&
                        (const uint8_t *)back[i].ptr + back[i].len <= arena.data + arena.len);
    }
    /* Truncations and flips: refused or decoded, never a crash; prefixes always refused. */
    for (size_t cut = 0; cut < b.len; cut += 1 + b.len / 200) {
        uint8_t *c = malloc(cut ? cut : 1);
        assert_non_null(c);
        memcpy(c, b.data, cut);
        vt_buf_reset(&arena);
        assert_int_equal(enc_str_decode(c, cut, back, n, &arena, &err), VT_ECORRUPT);
        free(c);
    }
    uint8_t *c = malloc(b.len);
    assert_non_null(c);
    for (int t = 0; t < 200; t++) {
        memcpy(c, b.data, b.len);
        c[rnd() % b.len] ^= (uint8_t)(1 + rnd() % 255);
        vt_buf_reset(&arena);
        if (enc_str_decode(c, b.len, back, n, &arena, &err) == VT_OK)
            for (size_t i = 0; i < n; i++)
                assert_true(back[i].len == 0 ||
                            ((const uint8_t *)back[i].ptr >= arena.data &&
                             (const uint8_t *)back[i].ptr + back[i].len <= arena.data + arena.len));
    }
    free(c);
    free(back);
    vt_buf_free(&b);
    vt_buf_free(&arena);
}

static void test_strings(void **state)
{
    (void)state;
    enum { N = 500 };
    static char pool[N][40];
    vt_str v[N];
    const char *status[] = {"ok", "degraded", "offline", "maintenance"};
    for (size_t i = 0; i < N; i++) {
        snprintf(pool[i], sizeof pool[i], "%s-%zu", status[rnd() % 4], i % 7);
        v[i] = vt_str_c(pool[i]);
    }
    str_rt(v, N, ENC_STR_ZSTD);
    str_rt(v, 3, ENC_STR_RAW);
    /* Empty strings, embedded NULs, random bytes (incompressible -> raw). */
    for (size_t i = 0; i < N; i++) {
        for (size_t j = 0; j < 40; j++)
            pool[i][j] = (char)rnd();
        v[i].ptr = pool[i];
        v[i].len = (i % 5 == 0) ? 0 : (size_t)(rnd() % 40);
    }
    str_rt(v, N, 0);
    for (size_t i = 0; i < N; i++)
        v[i].len = 0;
    str_rt(v, N, ENC_STR_ZSTD);
    str_rt(v, 10, ENC_STR_RAW);
    str_rt(v, 0, ENC_STR_RAW);

    /* A zstd header that lies about its size, or a truncated frame: refused. */
    vt_buf b, arena;
    vt_err err;
    vt_buf_init(&b);
    vt_buf_init(&arena);
    for (size_t i = 0; i < N; i++) {
        snprintf(pool[i], sizeof pool[i], "value %zu", i % 3);
        v[i] = vt_str_c(pool[i]);
    }
    enc_str_encode(v, N, &b);
    assert_int_equal(b.data[0], ENC_STR_ZSTD);
    vt_buf lie;
    vt_buf_init(&lie);
    vt_reader r;
    uint64_t raw_len;
    vt_reader_init(&r, b.data + 1, b.len - 1);
    assert_true(vt_read_uvarint(&r, &raw_len));
    for (int delta = -1; delta <= 1; delta += 2) {
        vt_buf_reset(&lie);
        vt_buf_putc(&lie, ENC_STR_ZSTD);
        vt_buf_put_uvarint(&lie, raw_len + (uint64_t)delta);
        vt_buf_append(&lie, r.p, vt_reader_left(&r));
        vt_buf_reset(&arena);
        assert_int_equal(enc_str_decode(lie.data, lie.len, v, N, &arena, &err), VT_ECORRUPT);
    }
    vt_buf_reset(&lie);
    vt_buf_putc(&lie, ENC_STR_ZSTD);
    vt_buf_put_uvarint(&lie, 1ull << 40);
    vt_buf_append(&lie, r.p, vt_reader_left(&r));
    assert_int_equal(enc_str_decode(lie.data, lie.len, v, N, &arena, &err), VT_ECORRUPT);
    /* Wrong n. */
    assert_int_equal(enc_str_decode(b.data, b.len, v, N - 1, &arena, &err), VT_ECORRUPT);
    vt_buf_free(&lie);
    vt_buf_free(&b);
    vt_buf_free(&arena);
}

static void test_names_and_empty(void **state)
{
    (void)state;
    assert_string_equal(enc_name(ENC_TS_DOD), "dod");
    assert_string_equal(enc_name(ENC_F64_GORILLA), "gorilla");
    assert_string_equal(enc_name(ENC_F64_DECIMAL), "decimal");
    assert_string_equal(enc_name(0xEE), "unknown");
    vt_err err;
    int64_t t;
    uint8_t empty_dod[] = {ENC_TS_DOD};
    assert_int_equal(enc_ts_decode(empty_dod, 1, &t, 0, &err), VT_OK);
    assert_int_equal(enc_ts_decode(empty_dod, 1, &t, 1, &err), VT_ECORRUPT);
    assert_non_null(strstr(err.msg, "stream ends after 0 of 1"));
    assert_int_equal(enc_ts_decode(empty_dod, 0, &t, 0, &err), VT_ECORRUPT);
    uint8_t f_wrong[] = {ENC_TS_RAW};
    double d;
    assert_int_equal(enc_f64_decode(f_wrong, 1, &d, 0, &err), VT_ECORRUPT);
}

/* ENC_FAST (encoding.c note 10) gives up size for speed: on hourly solar-like values (zero at
 * night, a daily shape, 3 decimals), where the best encoders find a seasonal delta and Rice2,
 * the fast result is clearly larger (on the whole demo set the difference is ~6 %) but decodes
 * to the same values (f64_rt_eff checks that). */
static void test_fast_effort(void **state)
{
    (void)state;
    enum { N = 1024 };
    static double v[N];
    uint64_t x = 99;
    for (size_t i = 0; i < N; i++) {
        int h = (int)(i % 24);
        double base = h >= 6 && h <= 18 ? 800.0 * sin((h - 6) * 3.14159265358979 / 12.0) : 0.0;
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        double noise = base > 0 ? (double)(x >> 40) / (double)(1 << 24) * 40.0 : 0.0;
        v[i] = round((base + noise) * 1000.0) / 1000.0;
    }
    size_t best = 0, fast = 0, quick = 0;
    f64_rt_eff(ENC_BEST, v, N, &best);
    f64_rt_eff(ENC_FAST, v, N, &fast);
    f64_rt_eff(ENC_QUICK, v, N, &quick);
    printf("solar-like column of %d values: best %zu bytes, fast %zu bytes, quick %zu bytes\n", N,
           best, fast, quick);
    assert_true(fast > best);
    assert_true(fast < 2 * best); /* still a compact encoding: raw would be 8 KiB */
    assert_true(quick > fast);   /* Gorilla: no decimal search */
    assert_true(quick < 8 * N);  /* but not raw: the night's zeros cost a bit each */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple8b_roundtrip),
        cmocka_unit_test(test_simple8b_runs_and_limits),
        cmocka_unit_test(test_ts_hourly_rle),
        cmocka_unit_test(test_ts_irregular),
        cmocka_unit_test(test_f64_edge_values),
        cmocka_unit_test(test_f64_random_bits),
        cmocka_unit_test(test_f64_decimal),
        cmocka_unit_test(test_f64_ons_file),
        cmocka_unit_test(test_rice_seasonal),
        cmocka_unit_test(test_rice2_demo_shapes),
        cmocka_unit_test(test_rice2_random),
        cmocka_unit_test(test_rice2_layout),
        cmocka_unit_test(test_i64),
        cmocka_unit_test(test_u64),
        cmocka_unit_test(test_bool),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_names_and_empty),
        cmocka_unit_test(test_fast_effort),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
