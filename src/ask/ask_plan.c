/*
 * ask/ask_plan.c — the InfluxQL an intent runs.
 *
 * Design notes:
 *  1. Every quantity is an hourly series first: the grid data is hourly MWmed per plant (generation),
 *     per subsystem (load) or per link (interchange), so "generation in the NE" at an hour is the
 *     sum over the NE's plants at that hour: SELECT sum("value") ... GROUP BY time(1h) fill(none).
 *     Means, peaks, minimums, totals (energy, MWh) and daily buckets (Brasília days, DST-aware)
 *     are computed from those hourly sums by the executor, which also reports them as the rows
 *     used. Breakdowns by subsystem, source or link add that tag to the GROUP BY.
 *  2. Plant rankings aggregate each plant's own series directly (GROUP BY "plant"): mean, max,
 *     min or sum of value.
 *  3. Filters are tag equalities ORed per kind and ANDed across kinds; a share leaves out the
 *     filter of the kind it shares by (the share of wind needs every source's total).
 *  4. Interchange is signed by direction: the query keeps "origin" and "destination" in the
 *     GROUP BY and the executor turns each link into "from A to B" (or net export of A).
 *  5. Times are written as RFC3339 UTC literals, so the InfluxQL reads the same on any backend.
 */
#include <stdio.h>
#include <string.h>

#include "ask/ask_int.h"
#include "common/timefmt.h"

static const char *measurement_name(ask_measure m)
{
    return m == ASK_M_LOAD ? "load" : m == ASK_M_INTER ? "interchange" : "generation";
}

static void put_str_literal(vt_buf *out, const char *s)
{
    vt_buf_putc(out, '\'');
    for (; *s; s++) {
        if (*s == '\'' || *s == '\\')
            vt_buf_putc(out, '\\');
        vt_buf_putc(out, (uint8_t)*s);
    }
    vt_buf_putc(out, '\'');
}

static void put_eq(vt_buf *out, const char *key, const char *value)
{
    vt_buf_printf(out, "\"%s\" = ", key);
    put_str_literal(out, value);
}

static void and_sep(vt_buf *out)
{
    if (out->len)
        vt_buf_printf(out, " AND ");
}

void ask_plan_filter(const ask_intent *in, const ask_tagvals *tv, vt_buf *out)
{
    size_t start = out->len;
    (void)start;
    if (in->measure == ASK_M_INTER) {
        if (in->nsubsys >= 2) {
            const char *a = ask_subsystem_code[in->subsys[0]], *b = ask_subsystem_code[in->subsys[1]];
            vt_buf_printf(out, "((");
            put_eq(out, "origin", a);
            vt_buf_printf(out, " AND ");
            put_eq(out, "destination", b);
            vt_buf_printf(out, ") OR (");
            put_eq(out, "origin", b);
            vt_buf_printf(out, " AND ");
            put_eq(out, "destination", a);
            vt_buf_printf(out, "))");
        } else if (in->nsubsys == 1) {
            const char *a = ask_subsystem_code[in->subsys[0]];
            vt_buf_putc(out, '(');
            put_eq(out, "origin", a);
            vt_buf_printf(out, " OR ");
            put_eq(out, "destination", a);
            vt_buf_putc(out, ')');
        }
        return;
    }
    bool share_sub = in->share && in->group == ASK_G_SUBSYSTEM;
    bool share_src = in->share && in->group == ASK_G_SOURCE;
    bool share_plant = in->share && in->group == ASK_G_PLANT;
    if (in->nsubsys && !share_sub) {
        and_sep(out);
        vt_buf_putc(out, '(');
        for (size_t i = 0; i < in->nsubsys; i++) {
            if (i)
                vt_buf_printf(out, " OR ");
            put_eq(out, "subsystem", ask_subsystem_code[in->subsys[i]]);
        }
        vt_buf_putc(out, ')');
    }
    if (in->measure != ASK_M_GEN)
        return;
    if (in->sources && !share_src) {
        and_sep(out);
        vt_buf_putc(out, '(');
        size_t n = 0;
        for (int s = 0; s < ASK_SRC_COUNT; s++) {
            if (!(in->sources & (1u << s)))
                continue;
            const char *vals[16];
            size_t nv = ask_source_values(tv, (ask_source)s, vals, 16);
            for (size_t k = 0; k < nv; k++) {
                if (n++)
                    vt_buf_printf(out, " OR ");
                put_eq(out, s < ASK_SRC_TYPES ? "plant_type" : "fuel", vals[k]);
            }
            if (nv == 0) { /* nothing stored for that source: a filter that matches nothing */
                if (n++)
                    vt_buf_printf(out, " OR ");
                put_eq(out, s < ASK_SRC_TYPES ? "plant_type" : "fuel", "(none stored)");
            }
        }
        vt_buf_putc(out, ')');
    }
    if (in->plant && !share_plant) {
        and_sep(out);
        put_eq(out, "plant", in->plant);
    }
}

void ask_plan_time(int64_t start, int64_t end, vt_buf *out)
{
    char a[VT_FMT_TIME_MAX], b[VT_FMT_TIME_MAX];
    vt_fmt_rfc3339nano(a, start);
    vt_fmt_rfc3339nano(b, end);
    vt_buf_printf(out, "time >= '%s' AND time < '%s'", a, b);
}

void ask_plan_query(const ask_intent *in, const ask_tagvals *tv, int64_t start, int64_t end,
                    vt_buf *out)
{
    vt_buf where;
    vt_buf_init(&where);
    ask_plan_filter(in, tv, &where);
    if (where.len)
        vt_buf_printf(&where, " AND ");
    ask_plan_time(start, end, &where);
    vt_buf_cstr(&where);
    const char *m = measurement_name(in->measure);
    const char *w = where.oom ? "" : (const char *)where.data;
    if (in->group == ASK_G_PLANT) {
        const char *fn = in->share || in->agg == ASK_AGG_SUM ? "sum"
                         : in->agg == ASK_AGG_MAX            ? "max"
                         : in->agg == ASK_AGG_MIN            ? "min"
                                                             : "mean";
        vt_buf_printf(out, "SELECT %s(\"value\") FROM \"%s\" WHERE %s GROUP BY \"plant\"", fn, m, w);
    } else {
        const char *by = "";
        if (in->group == ASK_G_SUBSYSTEM)
            by = ", \"subsystem\"";
        else if (in->group == ASK_G_SOURCE)
            by = ", \"plant_type\"";
        else if (in->group == ASK_G_LINK || in->measure == ASK_M_INTER)
            by = ", \"origin\", \"destination\"";
        vt_buf_printf(out, "SELECT sum(\"value\") FROM \"%s\" WHERE %s GROUP BY time(1h)%s fill(none)",
                      m, w, by);
    }
    vt_buf_cstr(out);
    vt_buf_free(&where);
}
