/*
 * tests/unit/test_metrics_window.c — common/window.c: the latency histogram, the 60-second error
 * ring and the rolling quantile window behind /metrics (server/metrics.c).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/window.h"

#define MS (1000000ll)

static void test_hist_buckets(void **state)
{
    (void)state;
    static vt_hist h; /* zeroed */
    memset(&h, 0, sizeof h);
    vt_hist_observe(&h, 500 * 1000); /* 0.5 ms -> le 0.001 */
    vt_hist_observe(&h, 1 * MS);     /* exactly 1 ms -> le 0.001 (bounds are inclusive) */
    vt_hist_observe(&h, 3 * MS);     /* -> le 0.005 */
    vt_hist_observe(&h, 700 * MS);   /* -> le 1 */
    vt_hist_observe(&h, 20000 * MS); /* 20 s -> +Inf only */
    vt_hist_observe(&h, -5);         /* negative counts as 0 */
    uint64_t cum[VT_HIST_BOUNDS + 1];
    double sum;
    vt_hist_snapshot(&h, cum, &sum);
    assert_int_equal(cum[0], 3);              /* le 0.001 */
    assert_int_equal(cum[1], 3);              /* le 0.0025 */
    assert_int_equal(cum[2], 4);              /* le 0.005 */
    assert_int_equal(cum[8], 4);              /* le 0.5 */
    assert_int_equal(cum[9], 5);              /* le 1 */
    assert_int_equal(cum[12], 5);             /* le 10 */
    assert_int_equal(cum[VT_HIST_BOUNDS], 6); /* +Inf = count */
    assert_true(sum > 20.7044 && sum < 20.7046); /* 0.5 + 1 + 3 + 700 + 20000 ms */
    for (size_t i = 1; i <= VT_HIST_BOUNDS; i++)
        assert_true(cum[i] >= cum[i - 1]);
}

static void test_ring_window(void **state)
{
    (void)state;
    vt_ring60 r;
    memset(&r, 0, sizeof r);
    int64_t t0 = 1000000;
    assert_int_equal(vt_ring60_sum(&r, t0), 0);
    vt_ring60_add(&r, t0, 1);
    vt_ring60_add(&r, t0, 2);
    vt_ring60_add(&r, t0 + 30, 4);
    assert_int_equal(vt_ring60_sum(&r, t0), 3);
    assert_int_equal(vt_ring60_sum(&r, t0 + 30), 7);
    assert_int_equal(vt_ring60_sum(&r, t0 + 59), 7); /* t0 is still inside (now-60, now] */
    assert_int_equal(vt_ring60_sum(&r, t0 + 60), 4); /* t0 left the window */
    assert_int_equal(vt_ring60_sum(&r, t0 + 90), 0);
    /* the slot of t0 is reused by t0 + 60: the old count is replaced, not added to */
    vt_ring60_add(&r, t0 + 60, 5);
    assert_int_equal(vt_ring60_sum(&r, t0 + 60), 9);
    /* a whole minute later nothing counts */
    assert_int_equal(vt_ring60_sum(&r, t0 + 3600), 0);
}

typedef struct ring_thread_arg {
    vt_ring60 *r;
    int64_t now;
} ring_thread_arg;

static void *ring_adder(void *p)
{
    ring_thread_arg *a = p;
    for (int i = 0; i < 10000; i++)
        vt_ring60_add(a->r, a->now, 1);
    return NULL;
}

static void test_ring_concurrent(void **state)
{
    (void)state;
    vt_ring60 r;
    memset(&r, 0, sizeof r);
    ring_thread_arg a = {&r, 4242};
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, ring_adder, &a), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(vt_ring60_sum(&r, 4242), 40000); /* no increment lost */
}

static void test_window_quantiles(void **state)
{
    (void)state;
    vt_window *w = malloc(sizeof *w);
    assert_non_null(w);
    vt_window_init(w);
    double qs[3] = {0.5, 0.95, 0.99}, out[3];
    assert_int_equal(vt_window_quantiles(w, 0, qs, 3, out), 0);
    assert_true(out[0] == 0 && out[1] == 0 && out[2] == 0);
    /* 1..100 ms, in a scrambled order */
    for (int i = 0; i < 100; i++)
        vt_window_add(w, (double)((i * 37) % 100 + 1), 1000 + i);
    assert_int_equal(vt_window_quantiles(w, 0, qs, 3, out), 100);
    assert_true(out[0] == 50.0); /* nearest rank: ceil(0.5 * 100) = 50th */
    assert_true(out[1] == 95.0);
    assert_true(out[2] == 99.0);
    /* only samples at or after since count */
    assert_int_equal(vt_window_quantiles(w, 1090, qs, 1, out), 10);
    double q1 = 1.0;
    assert_int_equal(vt_window_quantiles(w, 0, &q1, 1, out), 100);
    assert_true(out[0] == 100.0);
    vt_window_destroy(w);
    free(w);
}

static void test_window_wraps(void **state)
{
    (void)state;
    vt_window *w = malloc(sizeof *w);
    assert_non_null(w);
    vt_window_init(w);
    /* CAP slow samples, then CAP fast ones: only the fast ones are left */
    for (int i = 0; i < VT_WINDOW_CAP; i++)
        vt_window_add(w, 1000.0, i);
    for (int i = 0; i < VT_WINDOW_CAP; i++)
        vt_window_add(w, 2.0, VT_WINDOW_CAP + i);
    double q = 0.99, out;
    assert_int_equal(vt_window_quantiles(w, 0, &q, 1, &out), VT_WINDOW_CAP);
    assert_true(out == 2.0);
    /* half a window of slow samples: p50 is still fast, p95 slow */
    for (int i = 0; i < VT_WINDOW_CAP / 10; i++)
        vt_window_add(w, 500.0, 3 * VT_WINDOW_CAP + i);
    double qs[2] = {0.5, 0.95}, o2[2];
    vt_window_quantiles(w, 0, qs, 2, o2);
    assert_true(o2[0] == 2.0);
    assert_true(o2[1] == 500.0);
    vt_window_destroy(w);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hist_buckets),     cmocka_unit_test(test_ring_window),
        cmocka_unit_test(test_ring_concurrent),  cmocka_unit_test(test_window_quantiles),
        cmocka_unit_test(test_window_wraps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
