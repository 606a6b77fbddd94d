/*
 * Unit tests for ingest/demo_gen: determinism, counts, shapes (solar at night, bounds, balance),
 * timestamps and that the output is line protocol that volta's own parser accepts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingest/demo_gen.h"
#include "ingest/lineproto.h"

#define NS_PER_HOUR 3600000000000LL

static demo_gen *make(uint32_t days, uint32_t plants, uint64_t seed)
{
    demo_gen_options o;
    demo_gen_options_default(&o);
    o.days = days;
    o.plants = plants;
    o.seed = seed;
    demo_gen *g = NULL;
    vt_err err;
    assert_int_equal(demo_gen_new(&o, &g, &err), VT_OK);
    assert_non_null(g);
    return g;
}

static void render(demo_gen *g, uint64_t from, uint64_t to, vt_buf *out)
{
    for (uint64_t h = from; h < to; h++)
        demo_gen_append_lp(g, h, out);
    assert_false(out->oom);
}

static void test_determinism(void **state)
{
    (void)state;
    demo_gen *a = make(3, 60, 42), *b = make(3, 60, 42), *c = make(3, 60, 43);
    vt_buf ba, bb, bc;
    vt_buf_init(&ba);
    vt_buf_init(&bb);
    vt_buf_init(&bc);
    render(a, 0, 72, &ba);
    /* b computes the hours out of order first: values must not depend on the order */
    demo_hour hr;
    demo_gen_compute(b, 50, &hr);
    demo_gen_compute(b, 3, &hr);
    render(b, 0, 72, &bb);
    render(c, 0, 72, &bc);
    assert_true(ba.len > 0);
    assert_int_equal(ba.len, bb.len);
    assert_memory_equal(ba.data, bb.data, ba.len);
    assert_true(ba.len != bc.len || memcmp(ba.data, bc.data, ba.len) != 0);
    vt_buf_free(&ba);
    vt_buf_free(&bb);
    vt_buf_free(&bc);
    demo_gen_free(a);
    demo_gen_free(b);
    demo_gen_free(c);
}

static void test_counts_via_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/volta-demo-gen-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/out.lp", dir);
    demo_gen *g = make(2, 30, 7);
    assert_int_equal(demo_gen_hours(g), 48);
    assert_int_equal(demo_gen_lines_per_hour(g), 38);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint64_t lines = 0;
    vt_err err;
    assert_int_equal(demo_gen_write(g, f, &lines, &err), VT_OK);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(lines, 48 * 38);

    f = fopen(path, "rb");
    assert_non_null(f);
    char line[1024];
    uint64_t n = 0, ngen = 0, nload = 0, nic = 0;
    while (fgets(line, sizeof line, f)) {
        n++;
        assert_non_null(strchr(line, '\n'));
        if (strncmp(line, "generation,", 11) == 0)
            ngen++;
        else if (strncmp(line, "load,", 5) == 0)
            nload++;
        else if (strncmp(line, "interchange,", 12) == 0)
            nic++;
    }
    fclose(f);
    assert_int_equal(n, 48 * 38);
    assert_int_equal(ngen, 48 * 30);
    assert_int_equal(nload, 48 * 4);
    assert_int_equal(nic, 48 * 4);
    demo_gen_free(g);
    unlink(path);
    rmdir(dir);
}

static void test_solar_zero_at_night_and_bounds(void **state)
{
    (void)state;
    demo_gen *g = make(366, 300, 1);
    size_t np = demo_gen_plant_count(g);
    size_t nsolar = 0;
    for (size_t i = 0; i < np; i++)
        nsolar += demo_gen_plant(g, i)->type == DEMO_SOLAR;
    assert_true(nsolar > 0);
    double day_sum = 0;
    for (uint64_t h = 0; h < demo_gen_hours(g); h++) {
        demo_hour hr;
        demo_gen_compute(g, h, &hr);
        /* local hour: timestamps are UTC, Brasília is UTC-3 */
        int64_t local_hour = ((hr.time_ns / NS_PER_HOUR - 3) % 24 + 24) % 24;
        assert_int_equal(local_hour, (int64_t)(h % 24));
        bool night = local_hour >= 19 || local_hour <= 4;
        for (size_t i = 0; i < np; i++) {
            const demo_plant *p = demo_gen_plant(g, i);
            double v = hr.generation[i];
            assert_true(isfinite(v));
            assert_true(v >= 0.0);
            assert_true(v <= p->capacity_mw);
            if (p->type == DEMO_SOLAR) {
                if (night)
                    assert_true(v == 0.0);
                else if (local_hour >= 10 && local_hour <= 14)
                    day_sum += v;
            }
        }
        for (int s = 0; s < DEMO_SUBSYSTEMS; s++) {
            assert_true(isfinite(hr.load[s]));
            assert_true(hr.load[s] > 0.0);
        }
        for (int l = 0; l < DEMO_LINKS; l++)
            assert_true(isfinite(hr.interchange[l]));
    }
    assert_true(day_sum > 0.0);
    demo_gen_free(g);
}

/* Generation of each subsystem = load + net export, up to small clamps. */
static void test_balance_and_magnitudes(void **state)
{
    (void)state;
    demo_gen *g = make(60, 500, 3);
    size_t np = demo_gen_plant_count(g);
    double load_sum[DEMO_SUBSYSTEMS] = {0};
    uint64_t hours = demo_gen_hours(g);
    for (uint64_t h = 0; h < hours; h++) {
        demo_hour hr;
        demo_gen_compute(g, h, &hr);
        double gen[DEMO_SUBSYSTEMS] = {0}, exp[DEMO_SUBSYSTEMS] = {0};
        for (size_t i = 0; i < np; i++)
            gen[demo_gen_plant(g, i)->subsystem] += hr.generation[i];
        for (int l = 0; l < DEMO_LINKS; l++) {
            int o, d;
            demo_link(l, &o, &d);
            exp[o] += hr.interchange[l];
            exp[d] -= hr.interchange[l];
        }
        for (int s = 0; s < DEMO_SUBSYSTEMS; s++) {
            double gap = fabs(gen[s] - (hr.load[s] + exp[s]));
            assert_true(gap < 0.02 * hr.load[s]);
            load_sum[s] += hr.load[s];
        }
    }
    /* ONS-like magnitudes: N ~6 GW, NE ~11 GW, SE ~40 GW, S ~12 GW */
    static const double expect[DEMO_SUBSYSTEMS] = {6000, 11000, 40000, 12000};
    for (int s = 0; s < DEMO_SUBSYSTEMS; s++) {
        double avg = load_sum[s] / (double)hours;
        assert_true(avg > 0.85 * expect[s] && avg < 1.15 * expect[s]);
    }
    demo_gen_free(g);
}

static void test_weekend_load_lower(void **state)
{
    (void)state;
    /* 2024-01-01 is a Monday (and a holiday): weekdays Tue..Fri = days 1..4, Sat 5, Sun 6 */
    demo_gen *g = make(14, 10, 9);
    double weekday = 0, sunday = 0;
    for (uint64_t h = 0; h < demo_gen_hours(g); h++) {
        demo_hour hr;
        demo_gen_compute(g, h, &hr);
        uint64_t day = h / 24 % 7;
        if (day >= 1 && day <= 4)
            weekday += hr.load[2] / 4.0;
        else if (day == 6)
            sunday += hr.load[2];
    }
    assert_true(sunday < 0.95 * weekday);
    demo_gen_free(g);
}

static void test_lp_parses(void **state)
{
    (void)state;
    demo_gen *g = make(2, 40, 5);
    vt_buf b;
    vt_buf_init(&b);
    uint64_t h0 = 30;
    demo_gen_append_lp(g, h0, &b);
    assert_false(b.oom);
    demo_hour hr;
    demo_gen_compute(g, h0, &hr); /* same values as the line protocol just written */

    lp_options lo;
    memset(&lo, 0, sizeof lo);
    lo.precision = LP_PRECISION_NS;
    lp_parser *p = lp_parser_new(&lo);
    assert_non_null(p);
    assert_int_equal(lp_parser_reset(p, (const char *)b.data, b.len), VT_OK);
    vt_point pt;
    lp_error e;
    int r;
    size_t n = 0;
    while ((r = lp_parser_next(p, &pt, &e)) != LP_END) {
        if (r != LP_POINT)
            fail_msg("line %zu col %zu: %s", e.line, e.column, e.msg);
        assert_int_equal(pt.time, hr.time_ns);
        assert_int_equal(pt.time % NS_PER_HOUR, 0);
        assert_int_equal(pt.nfields, 1);
        assert_true(vt_str_eq(pt.fields[0].key, vt_str_c("value")));
        assert_int_equal(pt.fields[0].value.type, VT_TYPE_FLOAT);
        double v = pt.fields[0].value.v.f;
        if (n < 40) {
            const demo_plant *pl = demo_gen_plant(g, n);
            assert_true(vt_str_eq(pt.measurement, vt_str_c("generation")));
            assert_int_equal(pt.ntags, 7);
            static const char *const keys[7] = {"fuel", "modality", "ons_id", "plant",
                                                "plant_type", "state", "subsystem"};
            for (size_t t = 0; t < 7; t++)
                assert_true(vt_str_eq(pt.tags[t].key, vt_str_c(keys[t])));
            assert_true(vt_str_eq(pt.tags[3].value, vt_str_c(pl->name)));
            assert_true(vt_str_eq(pt.tags[4].value, vt_str_c(demo_plant_type_name(pl->type))));
            assert_true(vt_str_eq(pt.tags[6].value, vt_str_c(demo_subsystem_name(pl->subsystem))));
            assert_true(fabs(v - hr.generation[n]) <= 0.0005 + 1e-9);
        } else if (n < 44) {
            assert_true(vt_str_eq(pt.measurement, vt_str_c("load")));
            assert_int_equal(pt.ntags, 1);
            assert_true(fabs(v - hr.load[n - 40]) <= 0.0005 + 1e-9);
        } else {
            assert_true(vt_str_eq(pt.measurement, vt_str_c("interchange")));
            assert_int_equal(pt.ntags, 2);
            int o, d;
            demo_link((int)(n - 44), &o, &d);
            assert_true(vt_str_eq(pt.tags[0].value, vt_str_c(demo_subsystem_name(d))));
            assert_true(vt_str_eq(pt.tags[1].value, vt_str_c(demo_subsystem_name(o))));
            assert_true(fabs(v - hr.interchange[n - 44]) <= 0.0005 + 1e-9);
        }
        n++;
    }
    assert_int_equal(n, 48);
    /* every value is written with exactly 3 decimals */
    const char *s = vt_buf_cstr(&b);
    size_t checked = 0;
    for (const char *q = strstr(s, " value="); q; q = strstr(q + 1, " value=")) {
        const char *sp = strchr(q + 7, ' ');
        assert_non_null(sp);
        assert_true(sp - q - 7 >= 5);
        assert_int_equal(sp[-4], '.');
        checked++;
    }
    assert_int_equal(checked, 48);
    lp_parser_free(p);
    vt_buf_free(&b);
    demo_gen_free(g);
}

static void test_timestamps_and_plants(void **state)
{
    (void)state;
    demo_gen_options o;
    demo_gen_options_default(&o);
    vt_err err;
    assert_int_equal(demo_parse_date("2023-03-15", &o.start_day, &err), VT_OK);
    o.days = 1;
    o.plants = 600;
    demo_gen *g = NULL;
    assert_int_equal(demo_gen_new(&o, &g, &err), VT_OK);
    demo_hour hr;
    demo_gen_compute(g, 0, &hr);
    /* 2023-03-15 00:00 Brasília = 03:00 UTC = 1678849200 s */
    assert_int_equal(hr.time_ns, 1678849200LL * 1000000000LL);
    demo_gen_compute(g, 23, &hr);
    assert_int_equal(hr.time_ns, (1678849200LL + 23 * 3600) * 1000000000LL);
    /* names and ids are unique; every type appears; nuclear only in SE */
    size_t np = demo_gen_plant_count(g);
    int types[DEMO_PLANT_TYPES] = {0};
    for (size_t i = 0; i < np; i++) {
        const demo_plant *a = demo_gen_plant(g, i);
        types[a->type]++;
        assert_int_equal(strlen(a->state), 2);
        assert_true(a->capacity_mw > 0);
        if (a->type == DEMO_NUCLEAR)
            assert_string_equal(demo_subsystem_name(a->subsystem), "SE");
        for (size_t j = i + 1; j < np; j++) {
            const demo_plant *b = demo_gen_plant(g, j);
            assert_string_not_equal(a->name, b->name);
            assert_string_not_equal(a->ons_id, b->ons_id);
        }
    }
    for (int t = 0; t < DEMO_PLANT_TYPES; t++)
        assert_true(types[t] > 0);
    assert_null(demo_gen_plant(g, np));
    demo_gen_free(g);
}

static void test_options_rejected(void **state)
{
    (void)state;
    vt_err err;
    int64_t d;
    assert_int_equal(demo_parse_date("2024-02-29", &d, &err), VT_OK);
    assert_int_equal(demo_parse_date("1970-01-01", &d, &err), VT_OK);
    assert_int_equal(d, 0);
    assert_int_equal(demo_parse_date("2023-02-29", &d, &err), VT_EINVAL);
    assert_int_equal(demo_parse_date("2023-13-01", &d, &err), VT_EINVAL);
    assert_int_equal(demo_parse_date("2023-1-01", &d, &err), VT_EINVAL);
    assert_int_equal(demo_parse_date("20x3-01-01", &d, &err), VT_EINVAL);
    assert_int_equal(demo_parse_date(NULL, &d, &err), VT_EINVAL);

    demo_gen_options o;
    demo_gen_options_default(&o);
    demo_gen *g = (demo_gen *)&o;
    o.plants = 3;
    assert_int_equal(demo_gen_new(&o, &g, &err), VT_EINVAL);
    assert_null(g);
    assert_non_null(strstr(err.msg, "plants"));
    demo_gen_options_default(&o);
    o.days = 0;
    assert_int_equal(demo_gen_new(&o, &g, &err), VT_EINVAL);
    assert_non_null(strstr(err.msg, "days"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_counts_via_file),
        cmocka_unit_test(test_solar_zero_at_night_and_bounds),
        cmocka_unit_test(test_balance_and_magnitudes),
        cmocka_unit_test(test_weekend_load_lower),
        cmocka_unit_test(test_lp_parses),
        cmocka_unit_test(test_timestamps_and_plants),
        cmocka_unit_test(test_options_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
