/*
 * Unit tests for src/query/transform: each transform on raw rows, over GROUP BY time rows with
 * nulls (fill(null)) and filled values, ORDER BY time DESC, equal timestamps, types and error
 * messages. Expectations were observed on a real InfluxDB 1.6.7 with the same points.
 */

/* cmocka needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <math.h>
#include <string.h>

#include "query/transform.h"

#define S(x) ((int64_t)((x)*1000000000.0))
#define MAXR 16

/* "x": 0s=1 2s=3 3s=2 4s=2 8s=6 9s=1 (written both as float and integer) */
static const double x_t[] = {0, 2, 3, 4, 8, 9};
static const double x_v[] = {1, 3, 2, 2, 6, 1};

typedef struct out {
    size_t n;
    xf_row r[MAXR];
} out;

static vt_value fval(double f)
{
    vt_value v;
    memset(&v, 0, sizeof v);
    v.type = VT_TYPE_FLOAT;
    v.v.f = f;
    return v;
}

static vt_value ival(int64_t i)
{
    vt_value v;
    memset(&v, 0, sizeof v);
    v.type = VT_TYPE_INT;
    v.v.i = i;
    return v;
}

static vt_value nullv(void)
{
    vt_value v;
    memset(&v, 0, sizeof v);
    return v;
}

/* Feeds (t[i], v[i]) in order (reverse when desc); NaN in v = null row. */
static out run(xf_kind k, int64_t arg, int64_t interval, bool desc, vt_type in, const double *t,
               const double *v, size_t n)
{
    out o;
    memset(&o, 0, sizeof o);
    xf_state *s = xf_new(k, arg, interval, !desc, in);
    assert_non_null(s);
    for (size_t j = 0; j < n; j++) {
        size_t i = desc ? n - 1 - j : j;
        vt_value x = isnan(v[i]) ? nullv() : in == VT_TYPE_INT ? ival((int64_t)v[i]) : fval(v[i]);
        xf_row row;
        int got = xf_push(s, S(t[i]), &x, &row);
        assert_true(got == 0 || got == 1);
        if (got) {
            assert_true(o.n < MAXR);
            o.r[o.n++] = row;
        }
    }
    xf_free(s);
    return o;
}

static void expect(const out *o, const double *t, const double *v, size_t n, vt_type type)
{
    assert_int_equal(o->n, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(o->r[i].time, S(t[i]));
        assert_int_equal(o->r[i].v.type, type);
        if (type == VT_TYPE_FLOAT)
            assert_true(fabs(o->r[i].v.v.f - v[i]) < 1e-12);
        else
            assert_int_equal(o->r[i].v.v.i, (int64_t)v[i]);
    }
}

static void test_names_and_types(void **state)
{
    (void)state;
    xf_kind k;
    assert_true(xf_lookup("non_negative_difference", &k) && k == XF_NON_NEGATIVE_DIFFERENCE);
    assert_true(xf_lookup("moving_average", &k) && k == XF_MOVING_AVERAGE);
    assert_false(xf_lookup("mean", &k));
    assert_string_equal(xf_name(XF_ELAPSED), "elapsed");
    assert_int_equal(xf_output_type(XF_DERIVATIVE, VT_TYPE_INT), VT_TYPE_FLOAT);
    assert_int_equal(xf_output_type(XF_DIFFERENCE, VT_TYPE_INT), VT_TYPE_INT);
    assert_int_equal(xf_output_type(XF_DIFFERENCE, VT_TYPE_UINT), VT_TYPE_UINT);
    assert_int_equal(xf_output_type(XF_CUMULATIVE_SUM, VT_TYPE_INT), VT_TYPE_INT);
    assert_int_equal(xf_output_type(XF_MOVING_AVERAGE, VT_TYPE_INT), VT_TYPE_FLOAT);
    assert_int_equal(xf_output_type(XF_ELAPSED, VT_TYPE_STRING), VT_TYPE_INT);
    assert_int_equal(xf_output_type(XF_ELAPSED, VT_TYPE_BOOL), VT_TYPE_INT);
    assert_int_equal(xf_output_type(XF_DERIVATIVE, VT_TYPE_BOOL), VT_TYPE_NONE);
    char buf[128];
    assert_null(xf_type_error(XF_ELAPSED, VT_TYPE_STRING, buf, sizeof buf));
    /* 1.6.7 messages */
    assert_string_equal(xf_type_error(XF_DERIVATIVE, VT_TYPE_STRING, buf, sizeof buf),
                        "unsupported derivative iterator type: *query.stringInterruptIterator");
    assert_string_equal(xf_type_error(XF_NON_NEGATIVE_DERIVATIVE, VT_TYPE_STRING, buf, sizeof buf),
                        "unsupported derivative iterator type: *query.stringInterruptIterator");
    assert_string_equal(xf_type_error(XF_DERIVATIVE, VT_TYPE_BOOL, buf, sizeof buf),
                        "unsupported derivative iterator type: *query.booleanInterruptIterator");
    assert_string_equal(xf_type_error(XF_NON_NEGATIVE_DIFFERENCE, VT_TYPE_STRING, buf, sizeof buf),
                        "unsupported difference iterator type: *query.stringInterruptIterator");
    assert_string_equal(xf_type_error(XF_CUMULATIVE_SUM, VT_TYPE_STRING, buf, sizeof buf),
                        "unsupported cumulative sum iterator type: *query.stringInterruptIterator");
    assert_string_equal(xf_type_error(XF_MOVING_AVERAGE, VT_TYPE_STRING, buf, sizeof buf),
                        "unsupported moving average iterator type: *query.stringInterruptIterator");
    assert_null(xf_new(XF_DERIVATIVE, 0, 0, true, VT_TYPE_STRING));
    assert_null(xf_new(XF_MOVING_AVERAGE, 0, 0, true, VT_TYPE_FLOAT));
}

static void test_raw_ascending(void **state)
{
    (void)state;
    out o;
    {
        const double t[] = {2, 3, 4, 8, 9}, v[] = {1, -1, 0, 1, -5};
        o = run(XF_DERIVATIVE, 0, 0, false, VT_TYPE_FLOAT, x_t, x_v, 6);
        expect(&o, t, v, 5, VT_TYPE_FLOAT);
        o = run(XF_DERIVATIVE, 0, 0, false, VT_TYPE_INT, x_t, x_v, 6);
        expect(&o, t, v, 5, VT_TYPE_FLOAT);
        const double v2[] = {2, -2, 0, 2, -10};
        o = run(XF_DERIVATIVE, S(2), 0, false, VT_TYPE_FLOAT, x_t, x_v, 6);
        expect(&o, t, v2, 5, VT_TYPE_FLOAT);
        const double d[] = {2, -1, 0, 4, -5};
        o = run(XF_DIFFERENCE, 0, 0, false, VT_TYPE_INT, x_t, x_v, 6);
        expect(&o, t, d, 5, VT_TYPE_INT);
        o = run(XF_DIFFERENCE, 0, 0, false, VT_TYPE_FLOAT, x_t, x_v, 6);
        expect(&o, t, d, 5, VT_TYPE_FLOAT);
        const double ma[] = {2, 2.5, 2, 4, 3.5};
        o = run(XF_MOVING_AVERAGE, 2, 0, false, VT_TYPE_INT, x_t, x_v, 6);
        expect(&o, t, ma, 5, VT_TYPE_FLOAT);
        o = run(XF_MOVING_AVERAGE, 2, 0, false, VT_TYPE_FLOAT, x_t, x_v, 6);
        expect(&o, t, ma, 5, VT_TYPE_FLOAT);
        const double el[] = {2e9, 1e9, 1e9, 4e9, 1e9}, el1[] = {2, 1, 1, 4, 1};
        o = run(XF_ELAPSED, 0, 0, false, VT_TYPE_FLOAT, x_t, x_v, 6);
        expect(&o, t, el, 5, VT_TYPE_INT);
        o = run(XF_ELAPSED, S(1), 0, false, VT_TYPE_FLOAT, x_t, x_v, 6);
        expect(&o, t, el1, 5, VT_TYPE_INT);
    }
    {
        const double t[] = {2, 4, 8}, v[] = {1, 0, 1}, d[] = {2, 0, 4};
        o = run(XF_NON_NEGATIVE_DERIVATIVE, 0, 0, false, VT_TYPE_FLOAT, x_t, x_v, 6);
        expect(&o, t, v, 3, VT_TYPE_FLOAT);
        o = run(XF_NON_NEGATIVE_DIFFERENCE, 0, 0, false, VT_TYPE_INT, x_t, x_v, 6);
        expect(&o, t, d, 3, VT_TYPE_INT);
    }
    {
        const double cs[] = {1, 4, 6, 8, 14, 15};
        o = run(XF_CUMULATIVE_SUM, 0, 0, false, VT_TYPE_INT, x_t, x_v, 6);
        expect(&o, x_t, cs, 6, VT_TYPE_INT);
        o = run(XF_CUMULATIVE_SUM, 0, 0, false, VT_TYPE_FLOAT, x_t, x_v, 6);
        expect(&o, x_t, cs, 6, VT_TYPE_FLOAT);
    }
}

static void test_raw_descending(void **state)
{
    (void)state;
    out o;
    /* ORDER BY time DESC (1.6.7) */
    const double t[] = {8, 4, 3, 2, 0};
    const double der[] = {5, -1, 0, 1, -1}, dif[] = {5, -4, 0, 1, -2};
    const double el[] = {-1e9, -4e9, -1e9, -1e9, -2e9}, ma[] = {3.5, 4, 2, 2.5, 2};
    o = run(XF_DERIVATIVE, 0, 0, true, VT_TYPE_FLOAT, x_t, x_v, 6);
    expect(&o, t, der, 5, VT_TYPE_FLOAT);
    o = run(XF_DIFFERENCE, 0, 0, true, VT_TYPE_FLOAT, x_t, x_v, 6);
    expect(&o, t, dif, 5, VT_TYPE_FLOAT);
    o = run(XF_ELAPSED, 0, 0, true, VT_TYPE_INT, x_t, x_v, 6);
    expect(&o, t, el, 5, VT_TYPE_INT);
    o = run(XF_MOVING_AVERAGE, 2, 0, true, VT_TYPE_FLOAT, x_t, x_v, 6);
    expect(&o, t, ma, 5, VT_TYPE_FLOAT);
    const double tc[] = {9, 8, 4, 3, 2, 0}, cs[] = {1, 7, 9, 11, 14, 15};
    o = run(XF_CUMULATIVE_SUM, 0, 0, true, VT_TYPE_INT, x_t, x_v, 6);
    expect(&o, tc, cs, 6, VT_TYPE_INT);
}

/* mean(f) GROUP BY time(2s) over "x" from -2s (the executor's extra leading window) to 12s:
 * -2s null, 0s 1, 2s 2.5, 4s 2, 6s null, 8s 3.5, 10s null; sum(i): 1, 5, 2, null, 7. */
static const double g_t[] = {-2, 0, 2, 4, 6, 8, 10};
#define NUL NAN
static const double g_mean[] = {NUL, 1, 2.5, 2, NUL, 3.5, NUL};
static const double g_sum[] = {NUL, 1, 5, 2, NUL, 7, NUL};

static void test_group_by_nulls(void **state)
{
    (void)state;
    const int64_t iv = S(2);
    out o;
    const double t3[] = {2, 4, 8};
    const double der[] = {1.5, -0.5, 0.75}, der1s[] = {0.75, -0.25, 0.375};
    o = run(XF_DERIVATIVE, 0, iv, false, VT_TYPE_FLOAT, g_t, g_mean, 7);
    expect(&o, t3, der, 3, VT_TYPE_FLOAT);
    o = run(XF_DERIVATIVE, S(1), iv, false, VT_TYPE_FLOAT, g_t, g_mean, 7);
    expect(&o, t3, der1s, 3, VT_TYPE_FLOAT);
    const double dif[] = {1.5, -0.5, 1.5}, difs[] = {4, -3, 5};
    o = run(XF_DIFFERENCE, 0, iv, false, VT_TYPE_FLOAT, g_t, g_mean, 7);
    expect(&o, t3, dif, 3, VT_TYPE_FLOAT);
    o = run(XF_DIFFERENCE, 0, iv, false, VT_TYPE_INT, g_t, g_sum, 7);
    expect(&o, t3, difs, 3, VT_TYPE_INT);
    const double t2[] = {2, 8}, nnd[] = {4, 5}, nnder[] = {1.5, 0.75};
    o = run(XF_NON_NEGATIVE_DIFFERENCE, 0, iv, false, VT_TYPE_INT, g_t, g_sum, 7);
    expect(&o, t2, nnd, 2, VT_TYPE_INT);
    o = run(XF_NON_NEGATIVE_DERIVATIVE, 0, iv, false, VT_TYPE_FLOAT, g_t, g_mean, 7);
    expect(&o, t2, nnder, 2, VT_TYPE_FLOAT);
    const double ma[] = {1.75, 2.25, 2.75}, el[] = {2e9, 2e9, 4e9};
    o = run(XF_MOVING_AVERAGE, 2, iv, false, VT_TYPE_FLOAT, g_t, g_mean, 7);
    expect(&o, t3, ma, 3, VT_TYPE_FLOAT);
    o = run(XF_ELAPSED, 0, iv, false, VT_TYPE_FLOAT, g_t, g_mean, 7);
    expect(&o, t3, el, 3, VT_TYPE_INT);
    const double t4[] = {0, 2, 4, 8}, cs[] = {1, 6, 8, 15};
    o = run(XF_CUMULATIVE_SUM, 0, iv, false, VT_TYPE_INT, g_t, g_sum, 7);
    expect(&o, t4, cs, 4, VT_TYPE_INT);
    /* ORDER BY time DESC: 4s -0.75, 2s 0.5, 0s -1.5 */
    const double td[] = {4, 2, 0}, derd[] = {-0.75, 0.5, -1.5};
    o = run(XF_DERIVATIVE, 0, iv, true, VT_TYPE_FLOAT, g_t, g_mean, 7);
    expect(&o, td, derd, 3, VT_TYPE_FLOAT);
    /* fill(0): every window present, incl. the leading -2s one */
    const double f0[] = {0, 1, 2.5, 2, 0, 3.5, 0};
    const double tf[] = {0, 2, 4, 6, 8, 10}, derf[] = {1, 1.5, -0.5, -2, 3.5, -3.5};
    const double csf[] = {0, 1, 3.5, 5.5, 5.5, 9, 9}, maf[] = {0.5, 1.75, 2.25, 1, 1.75, 1.75};
    o = run(XF_DERIVATIVE, 0, iv, false, VT_TYPE_FLOAT, g_t, f0, 7);
    expect(&o, tf, derf, 6, VT_TYPE_FLOAT);
    o = run(XF_CUMULATIVE_SUM, 0, iv, false, VT_TYPE_FLOAT, g_t, f0, 7);
    expect(&o, g_t, csf, 7, VT_TYPE_FLOAT);
    o = run(XF_MOVING_AVERAGE, 2, iv, false, VT_TYPE_FLOAT, g_t, f0, 7);
    expect(&o, tf, maf, 6, VT_TYPE_FLOAT);
}

static void test_equal_timestamps(void **state)
{
    (void)state;
    /* "m" merged by time (series a before b): derivative/difference keep the first point at
     * each time; elapsed emits 0 for the duplicates (1.6.7). */
    const double t[] = {1, 1, 2, 2, 3, 4, 5, 5};
    const double v[] = {1.5, 2.5, 2.5, 7, 2.5, 0.5, -1, 7};
    const double td[] = {2, 3, 4, 5}, der[] = {1, 0, -2, -1.5};
    out o = run(XF_DERIVATIVE, 0, 0, false, VT_TYPE_FLOAT, t, v, 8);
    expect(&o, td, der, 4, VT_TYPE_FLOAT);
    o = run(XF_DIFFERENCE, 0, 0, false, VT_TYPE_FLOAT, t, v, 8);
    expect(&o, td, der, 4, VT_TYPE_FLOAT);
    const double te[] = {1, 2, 2, 3, 4, 5, 5}, el[] = {0, 1e9, 0, 1e9, 1e9, 1e9, 0};
    o = run(XF_ELAPSED, 0, 0, false, VT_TYPE_FLOAT, t, v, 8);
    expect(&o, te, el, 7, VT_TYPE_INT);
}

static void test_unsigned_and_nulls(void **state)
{
    (void)state;
    xf_state *s = xf_new(XF_DIFFERENCE, 0, 0, true, VT_TYPE_UINT);
    vt_value a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.type = b.type = VT_TYPE_UINT;
    a.v.u = 10;
    b.v.u = 3;
    xf_row r;
    assert_int_equal(xf_push(s, 1, &a, &r), 0);
    assert_int_equal(xf_push(s, 2, NULL, &r), 0); /* null row: ignored */
    assert_int_equal(xf_push(s, 3, &b, &r), 1);
    assert_int_equal(r.v.type, VT_TYPE_UINT);
    assert_true(r.v.v.u == (uint64_t)3 - 10u); /* wraps like Go */
    xf_free(s);
    s = xf_new(XF_NON_NEGATIVE_DIFFERENCE, 0, 0, true, VT_TYPE_UINT);
    assert_int_equal(xf_push(s, 1, &a, &r), 0);
    assert_int_equal(xf_push(s, 3, &b, &r), 0); /* 3 < 10: dropped */
    assert_int_equal(xf_push(s, 4, &a, &r), 1);
    assert_true(r.v.v.u == 7);
    xf_free(s);
    s = xf_new(XF_DERIVATIVE, 0, 0, true, VT_TYPE_UINT);
    assert_int_equal(xf_push(s, S(1), &a, &r), 0);
    assert_int_equal(xf_push(s, S(3), &b, &r), 1);
    assert_true(r.v.type == VT_TYPE_FLOAT && r.v.v.f == -3.5);
    xf_free(s);
    /* elapsed over strings */
    s = xf_new(XF_ELAPSED, 0, 0, true, VT_TYPE_STRING);
    vt_value str;
    memset(&str, 0, sizeof str);
    str.type = VT_TYPE_STRING;
    str.v.s = vt_str_c("q");
    assert_int_equal(xf_push(s, S(1), &str, &r), 0);
    assert_int_equal(xf_push(s, S(9), &str, &r), 1);
    assert_true(r.v.type == VT_TYPE_INT && r.v.v.i == S(8));
    xf_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_types),  cmocka_unit_test(test_raw_ascending),
        cmocka_unit_test(test_raw_descending),   cmocka_unit_test(test_group_by_nulls),
        cmocka_unit_test(test_equal_timestamps), cmocka_unit_test(test_unsigned_and_nulls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
