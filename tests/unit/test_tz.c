/* Unit tests for src/common/tz: TZif loading, Go-compatible offsets and wall-time resolution.
 * Expected values come from InfluxDB 1.6.7 (Go 1.19) answering tz() queries on the same
 * /usr/share/zoneinfo, and from zdump. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/tz.h"

#define NS 1000000000LL

static int64_t utc_sec(int64_t y, unsigned mo, unsigned d, int h, int mi, int s)
{
    return vt_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

static vt_tz *load(const char *name)
{
    vt_tz *tz = NULL;
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(vt_tz_load(name, &tz, &err), VT_OK);
    assert_non_null(tz);
    return tz;
}

static void test_civil(void **state)
{
    (void)state;
    assert_int_equal(vt_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(vt_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(vt_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(utc_sec(2018, 11, 4, 3, 0, 0), 1541300400);
    assert_int_equal(utc_sec(2040, 3, 25, 1, 0, 0), 2216250000LL);
    for (int64_t d = -800000; d < 800000; d += 997) {
        int64_t y;
        unsigned m, dd;
        vt_civil_from_days(d, &y, &m, &dd);
        assert_int_equal(vt_days_from_civil(y, m, dd), d);
    }
}

static void test_sao_paulo_offsets(void **state)
{
    (void)state;
    vt_tz *sp = load("America/Sao_Paulo");
    assert_string_equal(vt_tz_name(sp), "America/Sao_Paulo");
    assert_false(vt_tz_is_utc(sp));
    /* 2018-11-04 03:00Z: -03 -> -02 (00:00 local did not exist) */
    assert_int_equal(vt_tz_offset(sp, (1541300400LL - 1) * NS), -10800);
    assert_int_equal(vt_tz_offset(sp, 1541300400LL * NS), -7200);
    assert_int_equal(vt_tz_offset(sp, 1541300400LL * NS - 1), -10800);
    /* 2019-02-17 02:00Z: -02 -> -03 (23:00-23:59 on the 16th happened twice) */
    assert_int_equal(vt_tz_offset(sp, (1550368800LL - 1) * NS), -7200);
    assert_int_equal(vt_tz_offset(sp, 1550368800LL * NS), -10800);
    /* 2017 DST: 2017-10-15 03:00Z start, 2018-02-18 02:00Z end */
    assert_int_equal(vt_tz_offset(sp, utc_sec(2017, 10, 15, 2, 59, 59) * NS), -10800);
    assert_int_equal(vt_tz_offset(sp, utc_sec(2017, 10, 15, 3, 0, 0) * NS), -7200);
    assert_int_equal(vt_tz_offset(sp, utc_sec(2018, 2, 18, 1, 59, 59) * NS), -7200);
    assert_int_equal(vt_tz_offset(sp, utc_sec(2018, 2, 18, 2, 0, 0) * NS), -10800);
    /* no DST since 2019, and far in the future (footer "<-03>3") */
    assert_int_equal(vt_tz_offset(sp, utc_sec(2020, 1, 15, 12, 0, 0) * NS), -10800);
    assert_int_equal(vt_tz_offset(sp, INT64_MAX), -10800);
    /* before 1914: LMT -3:06:28; and 1969 was -03 */
    assert_int_equal(vt_tz_offset(sp, INT64_MIN), -11188);
    assert_int_equal(vt_tz_offset(sp, -1000000001LL), -10800);
    vt_tz_free(sp);
}

static void test_sao_paulo_wall_times(void **state)
{
    (void)state;
    vt_tz *sp = load("America/Sao_Paulo");
    /* gap: '2018-11-04 00:30:00' tz('America/Sao_Paulo') -> 2018-11-03T23:30:00-03:00 */
    assert_int_equal(vt_tz_local_to_utc(sp, utc_sec(2018, 11, 4, 0, 30, 0) * NS),
                     1541298600LL * NS);
    /* '2018-11-04' -> 2018-11-03T23:00:00-03:00 */
    assert_int_equal(vt_tz_local_to_utc(sp, utc_sec(2018, 11, 4, 0, 0, 0) * NS),
                     utc_sec(2018, 11, 4, 2, 0, 0) * NS);
    /* just after the gap: 01:00 local is -02 */
    assert_int_equal(vt_tz_local_to_utc(sp, utc_sec(2018, 11, 4, 1, 0, 0) * NS),
                     utc_sec(2018, 11, 4, 3, 0, 0) * NS);
    /* overlap: '2019-02-16 23:30:00' -> the first one, 2019-02-16T23:30:00-02:00 */
    assert_int_equal(vt_tz_local_to_utc(sp, utc_sec(2019, 2, 16, 23, 30, 0) * NS),
                     1550367000LL * NS);
    /* '2019-02-16 22:59:59.999' -> -02:00 */
    assert_int_equal(vt_tz_local_to_utc(sp, utc_sec(2019, 2, 16, 22, 59, 59) * NS + 999000000),
                     utc_sec(2019, 2, 17, 0, 59, 59) * NS + 999000000);
    /* 2019-02-17 00:00 local exists once, at -03 */
    assert_int_equal(vt_tz_local_to_utc(sp, utc_sec(2019, 2, 17, 0, 0, 0) * NS),
                     utc_sec(2019, 2, 17, 3, 0, 0) * NS);
    /* ordinary times: local + 3h / + 2h */
    assert_int_equal(vt_tz_local_to_utc(sp, utc_sec(2018, 7, 1, 12, 0, 0) * NS),
                     utc_sec(2018, 7, 1, 15, 0, 0) * NS);
    assert_int_equal(vt_tz_local_to_utc(sp, utc_sec(2018, 12, 25, 12, 0, 0) * NS + 7),
                     utc_sec(2018, 12, 25, 14, 0, 0) * NS + 7);
    /* saturation instead of overflow */
    assert_int_equal(vt_tz_local_to_utc(sp, INT64_MAX), INT64_MAX);
    vt_tz_free(sp);
}

static void test_london(void **state)
{
    (void)state;
    vt_tz *lon = load("Europe/London");
    /* gap '2019-03-31 01:30:00' -> 02:30:00+01:00 (later, unlike Sao Paulo) */
    assert_int_equal(vt_tz_local_to_utc(lon, utc_sec(2019, 3, 31, 1, 30, 0) * NS),
                     1553995800LL * NS);
    /* overlap '2019-10-27 01:30:00' -> the second one, 01:30:00Z */
    assert_int_equal(vt_tz_local_to_utc(lon, utc_sec(2019, 10, 27, 1, 30, 0) * NS),
                     1572139800LL * NS);
    assert_int_equal(vt_tz_offset(lon, utc_sec(2019, 7, 1, 0, 0, 0) * NS), 3600);
    assert_int_equal(vt_tz_offset(lon, utc_sec(2019, 1, 1, 0, 0, 0) * NS), 0);
    /* 2040 (footer GMT0BST,M3.5.0/1,M10.5.0 or table: the same answer) */
    assert_int_equal(vt_tz_offset(lon, (2216250000LL - 1) * NS), 0);
    assert_int_equal(vt_tz_offset(lon, 2216250000LL * NS), 3600);
    assert_int_equal(vt_tz_offset(lon, (2234998800LL - 1) * NS), 3600);
    assert_int_equal(vt_tz_offset(lon, 2234998800LL * NS), 0);
    /* 1970: British Standard Time (+01 all year 1968-1971) */
    assert_int_equal(vt_tz_offset(lon, 0), 3600);
    vt_tz_free(lon);
}

static void test_utc_and_unknown(void **state)
{
    (void)state;
    vt_tz *u = load("UTC");
    assert_true(vt_tz_is_utc(u));
    assert_int_equal(vt_tz_offset(u, 123), 0);
    assert_int_equal(vt_tz_local_to_utc(u, 42), 42);
    vt_tz_free(u);
    u = load("");
    assert_string_equal(vt_tz_name(u), "UTC");
    vt_tz_free(u);
    /* Etc/UTC is a real file, zero offset everywhere */
    u = load("Etc/UTC");
    assert_false(vt_tz_is_utc(u));
    assert_int_equal(vt_tz_offset(u, INT64_MIN), 0);
    assert_int_equal(vt_tz_offset(u, INT64_MAX), 0);
    vt_tz_free(u);
    assert_int_equal(vt_tz_offset(NULL, 5), 0);
    assert_int_equal(vt_tz_local_to_utc(NULL, 5), 5);

    const char *bad[] = {"Nope/Nope", "../etc/passwd", "America/../../etc/passwd", "/etc/localtime",
                         "\\x", "America", "America/Sao_Paulo/", "Sao Paulo"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vt_tz *tz = (vt_tz *)1;
        vt_err err;
        vt_err_clear(&err);
        assert_int_equal(vt_tz_load(bad[i], &tz, &err), VT_EINVAL);
        assert_null(tz);
        char want[256];
        snprintf(want, sizeof want, "unable to find time zone %s", bad[i]);
        assert_string_equal(err.msg, want);
    }
    /* a non-TZif regular file is rejected the same way */
    vt_tz *tz = NULL;
    vt_err err;
    assert_int_equal(vt_tz_load("zone.tab", &tz, &err), VT_EINVAL);
    assert_string_equal(err.msg, "unable to find time zone zone.tab");
}

/* ---- synthetic TZif files ---- */

typedef struct tzw {
    uint8_t b[4096];
    size_t n;
} tzw;

static void w8(tzw *w, uint8_t v)
{
    w->b[w->n++] = v;
}
static void w32(tzw *w, uint32_t v)
{
    for (int i = 3; i >= 0; i--)
        w8(w, (uint8_t)(v >> (i * 8)));
}
static void whdr(tzw *w, char ver, uint32_t timecnt, uint32_t typecnt, uint32_t charcnt)
{
    memcpy(w->b + w->n, "TZif", 4);
    w->n += 4;
    w8(w, (uint8_t)ver);
    for (int i = 0; i < 15; i++)
        w8(w, 0);
    w32(w, 0); /* isut */
    w32(w, 0); /* isstd */
    w32(w, 0); /* leap */
    w32(w, timecnt);
    w32(w, typecnt);
    w32(w, charcnt);
}

/* A v2 file with no transitions, one type (std_off) and footer `footer`. */
static vt_tz *footer_only(const char *footer, int32_t std_off)
{
    tzw w = {.n = 0};
    whdr(&w, '2', 0, 1, 4);
    w32(&w, (uint32_t)std_off);
    w8(&w, 0);
    w8(&w, 0);
    memcpy(w.b + w.n, "XXX", 4);
    w.n += 4;
    whdr(&w, '2', 0, 1, 4);
    w32(&w, (uint32_t)std_off);
    w8(&w, 0);
    w8(&w, 0);
    memcpy(w.b + w.n, "XXX", 4);
    w.n += 4;
    w8(&w, '\n');
    memcpy(w.b + w.n, footer, strlen(footer));
    w.n += strlen(footer);
    w8(&w, '\n');
    vt_tz *tz = NULL;
    vt_err err;
    assert_int_equal(vt_tz_load_tzif("synthetic", w.b, w.n, &tz, &err), VT_OK);
    return tz;
}

static void compare_zones(const vt_tz *a, const vt_tz *b, int64_t from, int64_t to, int64_t step)
{
    for (int64_t s = from; s < to; s += step) {
        assert_int_equal(vt_tz_offset(a, s * NS), vt_tz_offset(b, s * NS));
        assert_int_equal(vt_tz_local_to_utc(a, s * NS), vt_tz_local_to_utc(b, s * NS));
    }
}

static void test_posix_footer(void **state)
{
    (void)state;
    /* the footer alone must reproduce the real zones in years governed by the same rule */
    vt_tz *syn = footer_only("GMT0BST,M3.5.0/1,M10.5.0", 0);
    vt_tz *lon = load("Europe/London");
    compare_zones(syn, lon, utc_sec(1997, 1, 1, 0, 0, 0), utc_sec(2037, 1, 1, 0, 0, 0), 1800 + 7);
    /* around every transition, minute by minute */
    for (int y = 2000; y < 2037; y++) {
        compare_zones(syn, lon, utc_sec(y, 3, 24, 0, 0, 0), utc_sec(y, 4, 1, 0, 0, 0), 60);
        compare_zones(syn, lon, utc_sec(y, 10, 24, 0, 0, 0), utc_sec(y, 11, 1, 0, 0, 0), 60);
    }
    vt_tz_free(syn);
    vt_tz_free(lon);

    /* southern hemisphere (DST across the new year) */
    syn = footer_only("AEST-10AEDT,M10.1.0,M4.1.0/3", 36000);
    vt_tz *syd = load("Australia/Sydney");
    compare_zones(syn, syd, utc_sec(2008, 6, 1, 0, 0, 0), utc_sec(2037, 1, 1, 0, 0, 0), 1800 + 7);
    vt_tz_free(syn);
    vt_tz_free(syd);

    /* fixed offsets, with and without quoting; Julian and day-of-year rules */
    syn = footer_only("<-03>3", -10800);
    assert_int_equal(vt_tz_offset(syn, 0), -10800);
    assert_int_equal(vt_tz_offset(syn, INT64_MIN), -10800);
    vt_tz_free(syn);
    syn = footer_only("<+0530>-5:30", 19800);
    assert_int_equal(vt_tz_offset(syn, 1000 * NS), 19800);
    vt_tz_free(syn);
    syn = footer_only("EST5EDT", -18000); /* default US rules M3.2.0,M11.1.0 */
    assert_int_equal(vt_tz_offset(syn, utc_sec(2021, 3, 14, 6, 59, 59) * NS), -18000);
    assert_int_equal(vt_tz_offset(syn, utc_sec(2021, 3, 14, 7, 0, 0) * NS), -14400);
    assert_int_equal(vt_tz_offset(syn, utc_sec(2021, 11, 7, 5, 59, 59) * NS), -14400);
    assert_int_equal(vt_tz_offset(syn, utc_sec(2021, 11, 7, 6, 0, 0) * NS), -18000);
    vt_tz_free(syn);
    syn = footer_only("XXX0YYY,J60/0,300/0", 0); /* Mar 1 (J60, no leap day) .. day 300 */
    assert_int_equal(vt_tz_offset(syn, utc_sec(2024, 2, 29, 23, 59, 59) * NS), 0);
    assert_int_equal(vt_tz_offset(syn, utc_sec(2024, 3, 1, 0, 0, 0) * NS), 3600);
    assert_int_equal(vt_tz_offset(syn, utc_sec(2023, 3, 1, 0, 0, 0) * NS), 3600);
    /* day 300 (0-based) of 2023 = Oct 28; end at 00:00 local DST = 23:00Z on Oct 27 */
    assert_int_equal(vt_tz_offset(syn, utc_sec(2023, 10, 27, 22, 59, 59) * NS), 3600);
    assert_int_equal(vt_tz_offset(syn, utc_sec(2023, 10, 27, 23, 0, 0) * NS), 0);
    vt_tz_free(syn);
    /* an unparsable footer: fall back to the last (here: the only) zone */
    syn = footer_only("garbage!", 7200);
    assert_int_equal(vt_tz_offset(syn, 0), 7200);
    vt_tz_free(syn);
}

static void test_v1_and_corrupt(void **state)
{
    (void)state;
    /* version 1 file: 32-bit transitions, no footer; +01 until t=1000, then +02 (dst) */
    tzw w = {.n = 0};
    whdr(&w, 0, 1, 2, 4);
    w32(&w, 1000);
    w8(&w, 1);
    w32(&w, 3600);
    w8(&w, 0);
    w8(&w, 0);
    w32(&w, 7200);
    w8(&w, 1);
    w8(&w, 0);
    memcpy(w.b + w.n, "ABC", 4);
    w.n += 4;
    vt_tz *tz = NULL;
    vt_err err;
    assert_int_equal(vt_tz_load_tzif("v1", w.b, w.n, &tz, &err), VT_OK);
    assert_int_equal(vt_tz_offset(tz, 999 * NS), 3600);
    assert_int_equal(vt_tz_offset(tz, 1000 * NS), 7200);
    assert_int_equal(vt_tz_offset(tz, INT64_MAX), 7200);
    int32_t off;
    int64_t st, en;
    bool dst;
    vt_tz_lookup(tz, 5, &off, &st, &en, &dst);
    assert_int_equal(off, 3600);
    assert_int_equal(st, INT64_MIN);
    assert_int_equal(en, 1000);
    assert_false(dst);
    vt_tz_lookup(tz, 5000, &off, &st, &en, &dst);
    assert_int_equal(st, 1000);
    assert_int_equal(en, INT64_MAX);
    assert_true(dst);
    vt_tz_free(tz);

    /* every truncation of a real file fails cleanly; so do bad magic and a bad type index */
    FILE *f = fopen("/usr/share/zoneinfo/America/Sao_Paulo", "rb");
    assert_non_null(f);
    static uint8_t buf[8192];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_true(n > 100);
    for (size_t cut = 0; cut < n; cut += (cut < 120 ? 1 : 37)) {
        tz = NULL;
        vt_rc rc = vt_tz_load_tzif("cut", buf, cut, &tz, &err);
        if (rc == VT_OK) /* only possible once the 64-bit block is whole (footer cut) */
            vt_tz_free(tz);
        else
            assert_string_equal(err.msg, "unable to find time zone cut");
    }
    buf[0] = 'X';
    assert_int_equal(vt_tz_load_tzif("x", buf, n, &tz, &err), VT_EINVAL);
    w.b[44 + 4] = 9; /* transition type index 9 >= typecnt 2 */
    assert_int_equal(vt_tz_load_tzif("x", w.b, w.n, &tz, &err), VT_EINVAL);
}

static void *cache_worker(void *arg)
{
    const vt_tz **slot = arg;
    vt_err err;
    for (int i = 0; i < 200; i++)
        *slot = vt_tz_get(i % 2 ? "America/Sao_Paulo" : "Europe/London", &err);
    *slot = vt_tz_get("America/Sao_Paulo", &err);
    return NULL;
}

static void test_cache(void **state)
{
    (void)state;
    vt_err err;
    const vt_tz *a = vt_tz_get("America/Sao_Paulo", &err);
    assert_non_null(a);
    assert_ptr_equal(vt_tz_get("America/Sao_Paulo", &err), a);
    assert_ptr_equal(vt_tz_get("UTC", &err), vt_tz_utc());
    assert_ptr_equal(vt_tz_get("", &err), vt_tz_utc());
    assert_null(vt_tz_get("Nope/Nope", &err));
    assert_int_equal(err.rc, VT_EINVAL);
    assert_string_equal(err.msg, "unable to find time zone Nope/Nope");
    pthread_t th[4];
    const vt_tz *got[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, cache_worker, &got[i]), 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_ptr_equal(got[i], a);
    }
    /* Local resolves to something usable (UTC in this container unless /etc/localtime says
     * otherwise) and is named "Local" */
    const vt_tz *loc = vt_tz_get("Local", &err);
    assert_non_null(loc);
    assert_string_equal(vt_tz_name(loc), "Local");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_civil),
        cmocka_unit_test(test_sao_paulo_offsets),
        cmocka_unit_test(test_sao_paulo_wall_times),
        cmocka_unit_test(test_london),
        cmocka_unit_test(test_utc_and_unknown),
        cmocka_unit_test(test_posix_footer),
        cmocka_unit_test(test_v1_and_corrupt),
        cmocka_unit_test(test_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
