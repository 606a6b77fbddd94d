/* Unit tests for src/common/timefmt: Go-exact floats, times, durations and InfluxQL time
 * literals. Every expected string below was printed by InfluxDB 1.6.7 (Go 1.19) for the same
 * input, or follows Go's documented rules (strconv / time / encoding/json). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/timefmt.h"
#include "common/tz.h"

#define NS 1000000000LL

static void json_is(double v, const char *want)
{
    char out[VT_FMT_JSON_FLOAT_MAX];
    size_t n = vt_fmt_json_float(out, v);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void csv_is(double v, const char *want)
{
    char out[VT_FMT_CSV_FLOAT_MAX];
    size_t n = vt_fmt_csv_float(out, v);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void test_json_float(void **state)
{
    (void)state;
    /* all from `SELECT v FROM m` on InfluxDB 1.6.7 */
    json_is(0.1, "0.1");
    json_is(100, "100");
    json_is(1e21, "1e+21");
    json_is(123456789012345680000.0, "123456789012345680000");
    json_is(1e20, "100000000000000000000");
    json_is(1e-7, "1e-7");
    json_is(-0.0, "-0");
    json_is(0.0, "0");
    json_is(1.5e-6, "0.0000015");
    json_is(0.000001, "0.000001");
    json_is(12345.678, "12345.678");
    json_is(1.7976931348623157e308, "1.7976931348623157e+308");
    json_is(5e-324, "5e-324");
    json_is(-1.5e-300, "-1.5e-300");
    json_is(9007199254740993.0, "9007199254740992");
    json_is(0.3, "0.3");
    json_is(2.5e-7, "2.5e-7");
    json_is(1, "1");
    json_is(-2.5, "-2.5");
    json_is(0.1 + 0.2, "0.30000000000000004");
    json_is(1.0 / 3, "0.3333333333333333");
    json_is(1e-10, "1e-10");
    json_is(123e-20, "1.23e-18");
    json_is(2.2250738585072014e-308, "2.2250738585072014e-308");
    char out[VT_FMT_JSON_FLOAT_MAX];
    assert_int_equal(vt_fmt_json_float(out, NAN), 0);
    assert_int_equal(vt_fmt_json_float(out, INFINITY), 0);
    assert_int_equal(vt_fmt_json_float(out, -INFINITY), 0);
}

static void test_csv_float(void **state)
{
    (void)state;
    /* from the same query with Accept: application/csv */
    csv_is(1e21, "1000000000000000000000");
    csv_is(1e-7, "0.0000001");
    csv_is(-0.0, "-0");
    csv_is(2.5e-7, "0.00000025");
    csv_is(12345.678, "12345.678");
    csv_is(9007199254740993.0, "9007199254740992");
    char big[VT_FMT_CSV_FLOAT_MAX];
    size_t n = vt_fmt_csv_float(big, 1.7976931348623157e308);
    assert_int_equal(n, 309);
    assert_memory_equal(big, "17976931348623157", 17);
    for (size_t i = 17; i < n; i++)
        assert_int_equal(big[i], '0');
    n = vt_fmt_csv_float(big, 5e-324);
    assert_int_equal(n, 326);
    assert_memory_equal(big, "0.000", 5);
    assert_string_equal(big + 325, "5");
    n = vt_fmt_csv_float(big, -2.4703282292062327e-323); /* 17-ish digit subnormal */
    assert_true(n < VT_FMT_CSV_FLOAT_MAX);
    assert_int_equal(big[0], '-');
    assert_true(strtod(big, NULL) == -2.4703282292062327e-323);
    csv_is(NAN, "NaN");
    csv_is(INFINITY, "+Inf");
    csv_is(-INFINITY, "-Inf");
}

/* xorshift64*: deterministic random doubles */
static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static void test_float_round_trip_and_minimal(void **state)
{
    (void)state;
    uint64_t seed = 88172645463325252ULL;
    for (int i = 0; i < 100000; i++) {
        uint64_t bits = rnd(&seed);
        double v;
        if (i % 3 == 0) { /* short decimals are the common case in real data */
            v = (double)(rnd(&seed) % 100000000) / pow(10, (double)(rnd(&seed) % 12));
        } else {
            memcpy(&v, &bits, sizeof v);
        }
        if (!isfinite(v) || v == 0)
            continue;
        char j[VT_FMT_JSON_FLOAT_MAX], c[VT_FMT_CSV_FLOAT_MAX];
        vt_fmt_json_float(j, v);
        vt_fmt_csv_float(c, v);
        assert_true(strtod(j, NULL) == v);
        assert_true(strtod(c, NULL) == v);
        char d[18];
        int dp;
        int nd = vt_fmt_shortest_digits(v, d, &dp);
        assert_true(nd >= 1 && nd <= 17);
        assert_int_not_equal(d[nd - 1], '0');
        if (nd > 1) { /* minimal: no (nd-1)-digit decimal reads back as v */
            char buf[48];
            snprintf(buf, sizeof buf, "%.*e", nd - 2, fabs(v));
            assert_true(strtod(buf, NULL) != fabs(v));
        }
    }
    /* the asymmetric-interval case at powers of two, e.g. 2^-1074*2^k boundaries */
    for (int e = -1070; e < 1020; e += 7) {
        double p = ldexp(1.0, e);
        double below = nextafter(p, 0);
        char j[VT_FMT_JSON_FLOAT_MAX];
        vt_fmt_json_float(j, p);
        assert_true(strtod(j, NULL) == p);
        vt_fmt_json_float(j, below);
        assert_true(strtod(j, NULL) == below);
    }
    json_is(9007199254740992.0, "9007199254740992");
    json_is(ldexp(1.0, 70), "1.1805916207174113e+21");
    json_is(ldexp(1.0, 69), "590295810358705700000");
}

static void time_is(int64_t ns, const char *want)
{
    char out[VT_FMT_TIME_MAX];
    size_t n = vt_fmt_rfc3339nano(out, ns);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void time_tz_is(int64_t ns, const vt_tz *tz, const char *want)
{
    char out[VT_FMT_TIME_MAX];
    size_t n = vt_fmt_rfc3339nano_tz(out, ns, tz);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void test_rfc3339(void **state)
{
    (void)state;
    time_is(0, "1970-01-01T00:00:00Z");
    time_is(1000000000, "1970-01-01T00:00:01Z");
    time_is(-1000000001, "1969-12-31T23:59:58.999999999Z");
    time_is(1, "1970-01-01T00:00:00.000000001Z");
    time_is(1704067200LL * NS, "2024-01-01T00:00:00Z");
    time_is(1704067200LL * NS + 500000000, "2024-01-01T00:00:00.5Z");
    time_is(1704067200LL * NS + 120000, "2024-01-01T00:00:00.00012Z");
    time_is(INT64_MAX, "2262-04-11T23:47:16.854775807Z");
    time_is(INT64_MIN, "1677-09-21T00:12:43.145224192Z");
    time_is(INT64_MIN + 2, "1677-09-21T00:12:43.145224194Z");

    const vt_tz *sp = vt_tz_get("America/Sao_Paulo", NULL);
    const vt_tz *lon = vt_tz_get("Europe/London", NULL);
    assert_non_null(sp);
    assert_non_null(lon);
    /* tz('America/Sao_Paulo') output of InfluxDB 1.6.7 */
    time_tz_is(-1000000001, sp, "1969-12-31T20:59:58.999999999-03:00");
    time_tz_is(1000000000, sp, "1969-12-31T21:00:01-03:00");
    time_tz_is(1541300400LL * NS, sp, "2018-11-04T01:00:00-02:00");
    time_tz_is(1541300400LL * NS - NS, sp, "2018-11-03T23:59:59-03:00");
    time_tz_is(1550368800LL * NS, sp, "2019-02-16T23:00:00-03:00");
    time_tz_is(1550368800LL * NS - NS, sp, "2019-02-16T23:59:59-02:00");
    time_tz_is(INT64_MIN + 3, sp, "1677-09-20T21:06:15.145224195-03:06"); /* LMT -3:06:28 */
    time_tz_is(1572139800LL * NS, lon, "2019-10-27T01:30:00Z"); /* offset 0 prints Z */
    time_tz_is(1553995800LL * NS, lon, "2019-03-31T02:30:00+01:00");
    time_tz_is(5, NULL, "1970-01-01T00:00:00.000000005Z");
    const vt_tz *kol = vt_tz_get("Asia/Kolkata", NULL);
    time_tz_is(1548532800LL * NS, kol, "2019-01-27T01:30:00+05:30");

    char out[VT_FMT_TIME_MAX];
    vt_fmt_go_time(out, -62135596800LL - 86400, 0, 0, false); /* 0001-01-01 minus a day */
    assert_string_equal(out, "0000-12-31T00:00:00Z");
    vt_fmt_go_time(out, -62135596800LL - 367 * 86400, 0, 0, false); /* year 0 is a leap year */
    assert_string_equal(out, "-0001-12-31T00:00:00Z");
    vt_fmt_go_time(out, 253402300800LL, 0, 0, false);
    assert_string_equal(out, "10000-01-01T00:00:00Z");
    vt_fmt_go_time(out, 0, 5, -30, true); /* |offset| < 1 min: Go prints +00:00 */
    assert_string_equal(out, "1969-12-31T23:59:30.000000005+00:00");
}

static void dur_is(int64_t d, const char *iql, const char *go)
{
    char out[VT_FMT_DURATION_MAX];
    assert_int_equal(vt_duration_format_influxql(out, d), strlen(iql));
    assert_string_equal(out, iql);
    assert_int_equal(vt_duration_format_go(out, d), strlen(go));
    assert_string_equal(out, go);
}

static void test_durations(void **state)
{
    (void)state;
    dur_is(0, "0s", "0s");
    dur_is(1, "1ns", "1ns");
    dur_is(1000, "1u", "1\xc2\xb5s");
    dur_is(1500, "1500ns", "1.5\xc2\xb5s");
    dur_is(1000000, "1ms", "1ms");
    dur_is(1500000, "1500u", "1.5ms");
    dur_is(NS, "1s", "1s");
    dur_is(1500000000, "1500ms", "1.5s");
    dur_is(3600 * NS, "1h", "1h0m0s");          /* SHOW RETENTION POLICIES shard group */
    dur_is(5400 * NS, "90m", "1h30m0s");        /* DURATION 90m -> "1h30m0s" */
    dur_is(168 * 3600 * NS, "1w", "168h0m0s");  /* autogen shardGroupDuration */
    dur_is(24 * 3600 * NS, "1d", "24h0m0s");
    dur_is(36 * 3600 * NS, "36h", "36h0m0s");
    dur_is(-60500000000LL, "-60500ms", "-1m0.5s");
    dur_is(90061001000000LL, "90061001ms", "25h1m1.001s");
    dur_is(INT64_MIN, "-9223372036854775808ns", "-2562047h47m16.854775808s");
    dur_is(INT64_MAX, "9223372036854775807ns", "2562047h47m16.854775807s");
}

static void parse_ok(const char *s, const vt_tz *loc, int64_t want)
{
    int64_t got = 0;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = vt_time_parse(s, strlen(s), loc, &got, &err);
    if (rc != VT_OK)
        fail_msg("'%s': %s", s, err.msg);
    assert_int_equal(got, want);
}

static void parse_err(const char *s, const vt_tz *loc, const char *msg)
{
    int64_t got = 0;
    vt_err err;
    vt_err_clear(&err);
    if (vt_time_parse(s, strlen(s), loc, &got, &err) == VT_OK)
        fail_msg("'%s' parsed to %lld", s, (long long)got);
    assert_int_equal(err.rc, VT_EINVAL);
    assert_string_equal(err.msg, msg);
}

#define INVALID "invalid timestamp string"
#define NOTCOMPAT "invalid operation: time and *influxql.StringLiteral are not compatible"

static void test_time_literals(void **state)
{
    (void)state;
    /* each from `SELECT count(v) FROM m WHERE time >= '<lit>'` on InfluxDB 1.6.7 */
    parse_ok("1970-01-01T00:00:05Z", NULL, 5 * NS);
    parse_ok("1970-01-01 00:00:05", NULL, 5 * NS);
    parse_ok("1970-01-01 00:00:05.5", NULL, 5500000000LL);
    parse_ok("1970-01-01 00:00:05.123456789", NULL, 5123456789LL);
    parse_ok("1970-01-01 00:00:05.1234567", NULL, 5123456700LL);
    parse_ok("1970-01-01 00:00:05.000001", NULL, 5000001000LL);
    parse_ok("1970-01-01 00:00:05,5", NULL, 5500000000LL);
    parse_ok("1970-01-01  00:00:05", NULL, 5 * NS);
    parse_ok("1970-01-01 0:00:05", NULL, 5 * NS);
    parse_ok("1970-01-01T0:00:05Z", NULL, 5 * NS);
    parse_ok("1970-01-01", NULL, 0);
    parse_ok("1969-12-31", NULL, -86400 * NS);
    parse_ok("2016-02-29", NULL, 1456704000LL * NS);
    parse_ok("1970-01-01T00:00:05.5+01:00", NULL, -3594500000000LL);
    parse_ok("1970-01-01T00:00:05,5Z", NULL, 5500000000LL);
    parse_ok("1970-01-01T00:00:05.1Z", NULL, 5100000000LL);
    parse_ok("1970-01-01T00:00:05.000000000Z", NULL, 5 * NS);
    parse_ok("1970-01-01T00:00:05-00:00", NULL, 5 * NS);
    parse_ok("1970-01-01T00:00:05+24:00", NULL, (5 - 86400) * NS);
    parse_ok("1970-01-01T00:00:05+23:59", NULL, (5 - 86340) * NS);
    parse_ok("1970-01-01T00:00:05+01:60", NULL, (5 - 7200) * NS);
    parse_ok("1970-01-01T00:00:05+99:99", NULL, (5 - 362340) * NS);
    parse_ok("2262-04-11T23:47:16.854775806Z", NULL, INT64_MAX - 1);
    parse_ok("1677-09-21T00:12:43.145224195Z", NULL, INT64_MIN + 3);

    parse_err("1970-01-01 00:00:05.1234567891", NULL, INVALID);
    parse_err("1970-01-01T00:00:05.0123456789Z", NULL, INVALID);
    parse_err("1970-01-01T00:00:05.123456789123Z", NULL, INVALID);
    parse_err("1970-01-01T00:00:05", NULL, INVALID);
    parse_err("1970-01-01x", NULL, INVALID);
    parse_err("1970-01-01T00:00:05.Z", NULL, INVALID);
    parse_err("1970-01-01 00:00:05.", NULL, INVALID);
    parse_err("1970-01-01t00:00:05z", NULL, INVALID);
    parse_err("1970-01-01 24:00:00", NULL, INVALID);
    parse_err("1970-02-30", NULL, INVALID);
    parse_err("2015-02-29", NULL, INVALID);
    parse_err("1970-13-01", NULL, INVALID);
    parse_err("1970-00-01", NULL, INVALID);
    parse_err("1970-01-00", NULL, INVALID);
    parse_err("1970-01-01T00:00:60Z", NULL, INVALID);
    parse_err("1970-01-01T00:00:05+0100", NULL, INVALID);
    parse_err("1970-01-01T00:00:05 +01:00", NULL, INVALID);
    parse_err("1970-01-01T00:00:05+01", NULL, INVALID);
    parse_err("1970-01-01T00:00:05+01:00x", NULL, INVALID);
    parse_err("1970-01-01 00:00", NULL, INVALID);
    parse_err("1970-01-01 00:00:05Z", NULL, INVALID);
    parse_err("1970-01-01 00:00:05+01:00", NULL, INVALID);
    parse_err("1970-01-01 00:00:05 ", NULL, INVALID);
    parse_err("1970-01-01 1:2:3", NULL, INVALID);
    parse_err("1970-1-01", NULL, NOTCOMPAT);
    parse_err("abc", NULL, NOTCOMPAT);
    parse_err("", NULL, NOTCOMPAT);
    parse_err("1970-01-01\n", NULL, NOTCOMPAT); /* Go's '.' does not match a newline */

    parse_err("0000-01-01", NULL, "time 0000-01-01T00:00:00Z underflows time literal");
    parse_err("9999-12-31T23:59:59Z", NULL, "time 9999-12-31T23:59:59Z overflows time literal");
    parse_err("2262-04-11T23:47:16.854775807Z", NULL,
              "time 2262-04-11T23:47:16Z overflows time literal");
    parse_err("1677-09-21T00:12:43.145224194Z", NULL,
              "time 1677-09-21T00:12:43Z underflows time literal");
    parse_err("2262-04-11 23:47:17", NULL, "time 2262-04-11T23:47:17Z overflows time literal");
    parse_err("1677-09-20 19:12:43", NULL, "time 1677-09-20T19:12:43Z underflows time literal");
    parse_err("1970-01-01T00:00:00+05:00x", NULL, INVALID);
    parse_err("0000-01-01T00:00:00+05:00", NULL,
              "time 0000-01-01T00:00:00+05:00 underflows time literal");
}

static void test_time_literals_tz(void **state)
{
    (void)state;
    const vt_tz *sp = vt_tz_get("America/Sao_Paulo", NULL);
    const vt_tz *lon = vt_tz_get("Europe/London", NULL);
    const vt_tz *kol = vt_tz_get("Asia/Kolkata", NULL);
    /* results printed by InfluxDB 1.6.7 for WHERE time >= '<lit>' tz(...) */
    parse_ok("2018-11-04 00:30:00", sp, 1541298600LL * NS); /* 2018-11-03T23:30:00-03:00 */
    parse_ok("2018-11-04 00:00:00", sp, 1541296800LL * NS); /* 2018-11-03T23:00:00-03:00 */
    parse_ok("2018-11-04", sp, 1541296800LL * NS);
    parse_ok("2019-02-16 23:30:00", sp, 1550367000LL * NS); /* 2019-02-16T23:30:00-02:00 */
    parse_ok("2019-02-16 23:00:00", sp, 1550365200LL * NS);
    parse_ok("2019-02-16 22:59:59.999", sp, 1550365199999000000LL);
    parse_ok("1970-01-01 00:00:05", sp, (5 + 10800) * NS);
    parse_ok("1970-01-01T00:00:05Z", sp, 5 * NS); /* explicit zones ignore tz() */
    parse_ok("2019-03-31 01:30:00", lon, 1553995800LL * NS); /* 02:30:00+01:00 */
    parse_ok("2019-10-27 01:30:00", lon, 1572139800LL * NS); /* 01:30:00Z */
    parse_ok("2019-01-27T01:30:00+05:00", kol, (1548532800LL + 1800) * NS);
    parse_ok("1677-09-21 00:12:43", sp, (-9223372037LL + 11188) * NS);
    parse_err("1677-09-20 20:00:00", sp, "time 1677-09-20T20:00:00-03:06 underflows time literal");
    parse_ok("2262-04-12", vt_tz_get("Asia/Tokyo", NULL), 9223340400LL * NS); /* 11th 15:00Z */
    parse_err("2262-04-12", NULL, "time 2262-04-12T00:00:00Z overflows time literal");
    assert_true(vt_time_is_literal("2019-01-01", 10));
    assert_true(vt_time_is_literal("2019-01-01 whatever", 19));
    assert_false(vt_time_is_literal("2019-01-1", 9));
    assert_false(vt_time_is_literal("now()", 5));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_float),
        cmocka_unit_test(test_csv_float),
        cmocka_unit_test(test_float_round_trip_and_minimal),
        cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_time_literals),
        cmocka_unit_test(test_time_literals_tz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
