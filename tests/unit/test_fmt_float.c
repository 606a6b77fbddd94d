/* Unit tests for the fast paths of src/common/timefmt.c: the decimal float path and the integer
 * writers must print exactly what the printf/strtod search printed before them, and the
 * memoised RFC 3339 writer exactly what vt_fmt_go_time prints.
 *
 * The oracle is the search as it was before the fast path (copied below verbatim, prefixed
 * old_): the fast path is an optimisation, so "byte-identical to the old output for every
 * double" is the whole contract. The sweep covers decimals of 1..17 digits at every scale,
 * uniformly random bit patterns (subnormals, huge and tiny exponents), powers of ten and their
 * neighbours, the 1e-6 / 1e-7 / 1e21 boundaries of Go's %v, integers near 2^53, and sums and
 * means of decimals (what aggregates print). FMT_FLOAT_SCALE=N multiplies the counts (a long
 * run: FMT_FLOAT_SCALE=20 on a Release build). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timefmt.h"
#include "common/tz.h"

/* ---- the old implementation (src/common/timefmt.c before the decimal fast path) ---- */

static int old_parse_e(const char *buf, char *dig, int *exp10)
{
    int n = 0;
    const char *p = buf;
    while (*p && *p != 'e') {
        if (*p >= '0' && *p <= '9')
            dig[n++] = *p;
        p++;
    }
    *exp10 = *p == 'e' ? atoi(p + 1) : 0;
    return n;
}

static double old_read(const char *dig, int n, int exp10)
{
    char buf[48];
    int k = 0;
    buf[k++] = dig[0];
    if (n > 1) {
        buf[k++] = '.';
        memcpy(buf + k, dig + 1, (size_t)n - 1);
        k += n - 1;
    }
    snprintf(buf + k, sizeof buf - (size_t)k, "e%d", exp10);
    return strtod(buf, NULL);
}

static bool old_try(double v, int n, char *dig, int *exp10)
{
    char buf[48];
    snprintf(buf, sizeof buf, "%.*e", n - 1, v);
    int got = old_parse_e(buf, dig, exp10);
    if (got != n)
        return false;
    double r = strtod(buf, NULL);
    if (r == v)
        return true;
    if (r < v) {
        int i = n - 1;
        while (i >= 0 && dig[i] == '9')
            dig[i--] = '0';
        if (i < 0) {
            dig[0] = '1';
            (*exp10)++;
        } else {
            dig[i]++;
        }
    } else {
        int i = n - 1;
        while (i >= 0 && dig[i] == '0')
            dig[i--] = '9';
        dig[i]--;
        if (dig[0] == '0') {
            memmove(dig, dig + 1, (size_t)n - 1);
            dig[n - 1] = '9';
            (*exp10)--;
        }
    }
    return old_read(dig, n, *exp10) == v;
}

static int old_shortest_digits(double v, char digits[18], int *dp)
{
    v = fabs(v);
    char dig[24];
    int e10 = 0;
    int lo = 1, hi = 17;
    bool fast = false;
    if (v >= DBL_MIN) {
        char buf[48];
        snprintf(buf, sizeof buf, "%.14e", v);
        fast = strtod(buf, NULL) == v && old_parse_e(buf, dig, &e10) == 15;
        if (fast)
            lo = hi = 15;
    }
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (old_try(v, mid, dig, &e10))
            hi = mid;
        else
            lo = mid + 1;
    }
    if (!fast && !old_try(v, hi, dig, &e10)) {
        char buf[48];
        snprintf(buf, sizeof buf, "%.16e", v);
        hi = old_parse_e(buf, dig, &e10);
    }
    int n = hi;
    while (n > 1 && dig[n - 1] == '0')
        n--;
    memcpy(digits, dig, (size_t)n);
    digits[n] = '\0';
    *dp = e10 + 1;
    return n;
}

static size_t old_format_go(char *out, double v, char fmt)
{
    size_t k = 0;
    if (signbit(v))
        out[k++] = '-';
    char d[18];
    int nd = 0, dp = 0;
    if (v != 0)
        nd = old_shortest_digits(v, d, &dp);
    if (fmt == 'e') {
        out[k++] = nd ? d[0] : '0';
        if (nd > 1) {
            out[k++] = '.';
            memcpy(out + k, d + 1, (size_t)nd - 1);
            k += (size_t)nd - 1;
        }
        int exp = nd ? dp - 1 : 0;
        out[k++] = 'e';
        out[k++] = exp < 0 ? '-' : '+';
        if (exp < 0)
            exp = -exp;
        if (exp < 10) {
            out[k++] = '0';
            out[k++] = (char)('0' + exp);
        } else if (exp < 100) {
            out[k++] = (char)('0' + exp / 10);
            out[k++] = (char)('0' + exp % 10);
        } else {
            out[k++] = (char)('0' + exp / 100);
            out[k++] = (char)('0' + exp / 10 % 10);
            out[k++] = (char)('0' + exp % 10);
        }
    } else {
        if (dp > 0) {
            int m = nd < dp ? nd : dp;
            memcpy(out + k, d, (size_t)m);
            k += (size_t)m;
            for (; m < dp; m++)
                out[k++] = '0';
        } else {
            out[k++] = '0';
        }
        int prec = nd - dp > 0 ? nd - dp : 0;
        if (prec > 0) {
            out[k++] = '.';
            for (int i = 1; i <= prec; i++) {
                int j = dp + i - 1;
                out[k++] = j >= 0 && j < nd ? d[j] : '0';
            }
        }
    }
    out[k] = '\0';
    return k;
}

static size_t old_json_float(char *out, double v)
{
    if (!isfinite(v)) {
        out[0] = '\0';
        return 0;
    }
    double a = fabs(v);
    char fmt = a != 0 && (a < 1e-6 || a >= 1e21) ? 'e' : 'f';
    size_t n = old_format_go(out, v, fmt);
    if (fmt == 'e' && n >= 4 && out[n - 4] == 'e' && out[n - 3] == '-' && out[n - 2] == '0') {
        out[n - 2] = out[n - 1];
        out[--n] = '\0';
    }
    return n;
}

static size_t old_csv_float(char *out, double v)
{
    const char *s = NULL;
    if (isnan(v))
        s = "NaN";
    else if (isinf(v))
        s = v > 0 ? "+Inf" : "-Inf";
    if (s) {
        size_t n = strlen(s);
        memcpy(out, s, n + 1);
        return n;
    }
    return old_format_go(out, v, 'f');
}

/* ---- comparison ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static size_t scale(void)
{
    const char *s = getenv("FMT_FLOAT_SCALE");
    long n = s ? atol(s) : 1;
    return n > 0 ? (size_t)n : 1;
}

static size_t n_checked;

/* Compares every float entry point on v (and -v) with the old implementation. */
static void same(double v)
{
    for (int neg = 0; neg < 2; neg++, v = -v) {
        char a[VT_FMT_CSV_FLOAT_MAX], b[VT_FMT_CSV_FLOAT_MAX];
        size_t na = vt_fmt_json_float(a, v), nb = old_json_float(b, v);
        if (na != nb || strcmp(a, b) != 0) {
            print_error("json %a (%.17g): new \"%s\", old \"%s\"\n", v, v, a, b);
            fail();
        }
        na = vt_fmt_csv_float(a, v);
        nb = old_csv_float(b, v);
        if (na != nb || strcmp(a, b) != 0) {
            print_error("csv %a (%.17g): new \"%s\", old \"%s\"\n", v, v, a, b);
            fail();
        }
        if (isfinite(v) && v != 0) {
            char da[18], db[18];
            int pa = 0, pb = 0;
            int la = vt_fmt_shortest_digits(v, da, &pa), lb = old_shortest_digits(v, db, &pb);
            if (la != lb || pa != pb || strcmp(da, db) != 0) {
                print_error("digits %a: new %s/%d, old %s/%d\n", v, da, pa, db, pb);
                fail();
            }
        }
        n_checked++;
    }
}

static double decimal(uint64_t m, int k)
{
    char buf[48];
    snprintf(buf, sizeof buf, "%" PRIu64 "e-%d", m, k);
    return strtod(buf, NULL);
}

static void test_float_edges(void **state)
{
    (void)state;
    static const double fixed[] = {
        0.0, 0.1, 0.2, 0.3, 0.1 + 0.2, 1.0 / 3, 2.0 / 3, 100, 1e21, 1e20, 1e-6, 1e-7, 1.5e-6,
        9.999999e-7, 123456789012345680000.0, 9007199254740992.0, 9007199254740993.0,
        9007199254740991.0, 999999999999999.0, 1e15, 999999999999999.9, 99999999999999.99,
        0.000001, 0.0000015, 5251.451, 12345.678, 1.7976931348623157e308, DBL_MIN, DBL_TRUE_MIN,
        5e-324, 2.2250738585072009e-308, 4.9406564584124654e-324, 1e-22, 1e-23, 1e22, 1e23,
        0.30000000000000004, 5e-7, 4.35, 8.41, 0.07, 1.005, 2.675, 1e-5, 123e-20, 1.0 / 1024,
        HUGE_VAL, NAN, 1e308, 4.940656458412e-324, 1.1, 2.2, 3.3,
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        same(fixed[i]);
    /* powers of ten, their neighbours, and the neighbours of the %v boundaries */
    for (int e = -325; e <= 308; e++) {
        char buf[16];
        snprintf(buf, sizeof buf, "1e%d", e);
        double p = strtod(buf, NULL);
        same(p);
        same(nextafter(p, 0));
        same(nextafter(p, INFINITY));
        for (int d = 2; d <= 9; d++)
            same(p * d);
    }
    const double bounds[] = {1e-6, 1e-7, 1e21, 1e15, 1e-22, 9007199254740992.0};
    for (size_t i = 0; i < sizeof bounds / sizeof bounds[0]; i++) {
        double lo = bounds[i], hi = bounds[i];
        for (int j = 0; j < 64; j++) {
            lo = nextafter(lo, 0);
            hi = nextafter(hi, INFINITY);
            same(lo);
            same(hi);
        }
    }
    /* integers near 2^53 and 10^15 */
    for (int64_t x = -2000; x <= 2000; x++) {
        same((double)((1LL << 53) + x));
        same((double)(1000000000000000LL + x));
        same((double)x);
    }
    /* subnormals: every power of two and some random mantissas */
    for (int e = 0; e < 52; e++)
        same(ldexp(1, -1074 + e));
}

static void test_float_decimals(void **state)
{
    (void)state;
    size_t n = 400000 * scale();
    for (size_t i = 0; i < n; i++) {
        int digits = 1 + (int)(rnd() % 17);
        uint64_t m = rnd() % 100000000000000000ull; /* up to 17 digits */
        uint64_t cap = 1;
        for (int d = 0; d < digits; d++)
            cap *= 10;
        m %= cap;
        int k = (int)(rnd() % 24); /* 0 .. 23 decimal places */
        if (rnd() % 4 == 0)
            k = (int)(rnd() % 330);
        same(decimal(m, k));
    }
}

static void test_float_random_bits(void **state)
{
    (void)state;
    size_t n = 100000 * scale();
    for (size_t i = 0; i < n; i++) {
        uint64_t bits = rnd();
        double v;
        memcpy(&v, &bits, sizeof v);
        same(v);
        /* small exponents too: subnormals and values near the fast path's range */
        bits = (bits & 0x800FFFFFFFFFFFFFull) | ((uint64_t)(rnd() % 2100 < 1100 ? rnd() % 64
                                                                                 : 960 + rnd() % 150)
                                                 << 52);
        memcpy(&v, &bits, sizeof v);
        same(v);
    }
}

static void test_float_aggregates(void **state)
{
    (void)state;
    /* sums, means and differences of 3-decimal meter readings, as aggregates print them */
    size_t n = 200000 * scale();
    for (size_t i = 0; i < n; i++) {
        double a = decimal(rnd() % 10000000, 3), b = decimal(rnd() % 10000000, 3);
        same(a + b);
        same((a + b) / 2);
        same(a - b);
        same(a * 0.001);
    }
    print_message("fmt_float: %zu doubles compared with the old search\n", n_checked);
}

static void test_ints(void **state)
{
    (void)state;
    const int64_t vals[] = {0, 1, -1, 9, 10, 99, 100, -100, 12345, INT64_MAX, INT64_MIN,
                            INT64_MIN + 1, 1000000000000000000LL, -999999999999999999LL};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        char a[VT_FMT_INT_MAX], b[32];
        snprintf(b, sizeof b, "%" PRId64, vals[i]);
        assert_int_equal(vt_fmt_i64(a, vals[i]), strlen(b));
        assert_string_equal(a, b);
    }
    for (size_t i = 0; i < 200000; i++) {
        uint64_t u = rnd() >> (rnd() % 64);
        char a[VT_FMT_INT_MAX], b[32];
        snprintf(b, sizeof b, "%" PRIu64, u);
        assert_int_equal(vt_fmt_u64(a, u), strlen(b));
        assert_string_equal(a, b);
        snprintf(b, sizeof b, "%" PRId64, (int64_t)u);
        assert_int_equal(vt_fmt_i64(a, (int64_t)u), strlen(b));
        assert_string_equal(a, b);
    }
    char a[VT_FMT_INT_MAX];
    assert_int_equal(vt_fmt_u64(a, UINT64_MAX), 20);
    assert_string_equal(a, "18446744073709551615");
}

/* The memo writer equals vt_fmt_rfc3339nano(_tz) for any sequence of times. */
static void memo_same(vt_fmt_time_memo *m, int64_t ns, const vt_tz *tz)
{
    char a[VT_FMT_TIME_MAX], b[VT_FMT_TIME_MAX];
    size_t na = vt_fmt_rfc3339nano_memo(m, a, ns, tz);
    size_t nb = tz ? vt_fmt_rfc3339nano_tz(b, ns, tz) : vt_fmt_rfc3339nano(b, ns);
    if (na != nb || strcmp(a, b) != 0) {
        print_error("time %" PRId64 ": memo \"%s\", direct \"%s\"\n", ns, a, b);
        fail();
    }
}

static void test_time_memo(void **state)
{
    (void)state;
    vt_err err;
    vt_tz *sp = NULL, *lon = NULL;
    assert_int_equal(vt_tz_load("America/Sao_Paulo", &sp, &err), VT_OK);
    assert_int_equal(vt_tz_load("Europe/London", &lon, &err), VT_OK);
    const vt_tz *zones[] = {NULL, sp, lon};
    vt_fmt_time_memo m;
    vt_fmt_time_memo_init(&m);
    /* hourly rows over two years (DST changes), each zone, one memo for all (zone switches) */
    for (size_t z = 0; z < 3; z++)
        for (int64_t t = 1704078000LL * 1000000000; t < 1767236400LL * 1000000000;
             t += 3600LL * 1000000000)
            memo_same(&m, t, zones[z]);
    /* random instants, fractions, negative times, the int64 ends */
    const int64_t ends[] = {0, -1, 1, INT64_MAX, INT64_MIN, INT64_MIN + 1, -1000000000, 999999999,
                            -9000000000000000000LL};
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++)
        for (size_t z = 0; z < 3; z++)
            memo_same(&m, ends[i], zones[z]);
    for (size_t i = 0; i < 300000; i++) {
        int64_t t = (int64_t)rnd();
        if (i % 3 == 0)
            t = (int64_t)(rnd() % 4000000000000000000ull); /* 1970 .. 2096 */
        if (i % 5 == 0)
            t -= t % 1000; /* trailing zeros in the fraction */
        memo_same(&m, t, zones[rnd() % 3]);
        memo_same(&m, t + 1, zones[rnd() % 3]);
    }
    vt_tz_free(sp);
    vt_tz_free(lon);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_float_edges),     cmocka_unit_test(test_float_decimals),
        cmocka_unit_test(test_float_random_bits), cmocka_unit_test(test_float_aggregates),
        cmocka_unit_test(test_ints),            cmocka_unit_test(test_time_memo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
