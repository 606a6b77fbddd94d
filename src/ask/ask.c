/*
 * ask/ask.c — runs a question end to end: tag values, understanding, InfluxQL, aggregation, the
 * answer sentence and the JSON document (format in docs/ASK.md).
 *
 * Design notes:
 *  1. Only numbers that came out of a query are written: a value is either computed from the
 *     rows of the InfluxQL listed in "influxql" (and reported in "rows"), or null with a sentence
 *     saying there is no data. A question not understood gets 422 with suggestions.
 *  2. "atual/agora/now" is the latest hour with data: SELECT last("value") finds its time, then
 *     the main query reads [that hour, +1h). With an aggregation but no time ("pico de carga"),
 *     the range is the last 24 hours of data (the answer says so and the confidence drops).
 *  3. Hourly sums are aggregated here: mean (MWmed), max/min (MW, with the hour), total (MWh:
 *     an hourly MWmed is the hour's energy in MWh), shares (% of the summed energy), per hour or
 *     per Brasília day.
 *  4. All memory of a request is freed before returning; the document is built with jansson and
 *     written once.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ask/ask_int.h"
#include "ask/ask_llm.h"
#include "common/timefmt.h"

#define ASK_MAX_ROWS_OUT 1000
#define ASK_MAX_SENTENCE_ITEMS 24

typedef struct ask_pt {
    int64_t t;
    double v;
} ask_pt;

typedef struct ask_series {
    char label[192]; /* group label (subsystem code, plant, plant_type, "N->SE") */
    char origin[8], dest[8];
    ask_pt *p;
    size_t n, cap;
    double agg; /* aggregated value */
    int64_t at; /* time of max/min */
    double sum;
} ask_series;

typedef struct ask_run {
    const ask_request *rq;
    const vt_tz *tz;
    const char *db;
    json_t *influxql;
    unsigned status;
    char error[VT_ERR_MSG_MAX + 64];
    bool oom;
} ask_run;

/* ---- small helpers ---- */

static double round3(double v)
{
    return round(v * 1000.0) / 1000.0;
}

static int64_t wall_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void series_push(ask_series *s, int64_t t, double v)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        ask_pt *np = realloc(s->p, nc * sizeof *np);
        if (!np)
            return;
        s->p = np;
        s->cap = nc;
    }
    s->p[s->n++] = (ask_pt){t, v};
}

static void series_free(ask_series *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(s[i].p);
    free(s);
}

static int cmp_pt(const void *a, const void *b)
{
    const ask_pt *x = a, *y = b;
    return x->t < y->t ? -1 : x->t > y->t;
}

/* Sorts by time and merges equal times (summing). */
static void series_merge(ask_series *s)
{
    if (s->n < 2)
        return;
    qsort(s->p, s->n, sizeof *s->p, cmp_pt);
    size_t o = 0;
    for (size_t i = 1; i < s->n; i++) {
        if (s->p[i].t == s->p[o].t)
            s->p[o].v += s->p[i].v;
        else
            s->p[++o] = s->p[i];
    }
    s->n = o + 1;
}

static void aggregate(const ask_pt *p, size_t n, ask_agg agg, double *value, int64_t *at, double *sum)
{
    double s = 0, best = 0;
    int64_t bt = n ? p[0].t : 0;
    for (size_t i = 0; i < n; i++) {
        s += p[i].v;
        if (i == 0 || (agg == ASK_AGG_MAX && p[i].v > best) || (agg == ASK_AGG_MIN && p[i].v < best)) {
            best = p[i].v;
            bt = p[i].t;
        }
    }
    *sum = s;
    *at = bt;
    switch (agg) {
    case ASK_AGG_MAX:
    case ASK_AGG_MIN: *value = best; break;
    case ASK_AGG_SUM: *value = s; break;
    default: *value = n ? s / (double)n : 0; break;
    }
}

/* ---- running queries ---- */

static int64_t json_time(json_t *j)
{
    if (json_is_integer(j))
        return (int64_t)json_integer_value(j);
    if (json_is_string(j)) {
        int64_t ns = 0;
        vt_err e;
        const char *s = json_string_value(j);
        if (vt_time_parse(s, strlen(s), NULL, &ns, &e) == VT_OK)
            return ns;
    }
    return 0;
}

/* Runs q; the first statement's series are appended to *out (NULL when none). false on error
 * (r->status and r->error set). */
static bool run_query(ask_run *r, const char *q, ask_series **out, size_t *nout)
{
    *out = NULL;
    *nout = 0;
    json_array_append_new(r->influxql, json_string(q));
    char *text = NULL;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = r->rq->run(r->rq->run_ctx, r->db, q, &text, &err);
    if (rc != VT_OK) {
        r->status = rc == VT_ENOMEM ? 500 : 502;
        snprintf(r->error, sizeof r->error, "query failed: %s", err.msg[0] ? err.msg : vt_rc_name(rc));
        free(text);
        return false;
    }
    json_error_t jerr;
    json_t *root = text ? json_loads(text, 0, &jerr) : NULL;
    free(text);
    if (!root) {
        r->status = 502;
        snprintf(r->error, sizeof r->error, "query answer is not JSON");
        return false;
    }
    json_t *res0 = json_array_get(json_object_get(root, "results"), 0);
    const char *serr = json_string_value(json_object_get(res0, "error"));
    if (!serr)
        serr = json_string_value(json_object_get(root, "error"));
    if (serr) {
        r->status = strncmp(serr, "database not found", 18) == 0 ? 404 : 502;
        snprintf(r->error, sizeof r->error, "%s", serr);
        json_decref(root);
        return false;
    }
    json_t *series = json_object_get(res0, "series");
    size_t ns = json_array_size(series);
    ask_series *s = ns ? calloc(ns, sizeof *s) : NULL;
    if (ns && !s) {
        r->oom = true;
        json_decref(root);
        return false;
    }
    for (size_t i = 0; i < ns; i++) {
        json_t *sj = json_array_get(series, i);
        json_t *tags = json_object_get(sj, "tags");
        const char *k;
        json_t *v;
        json_object_foreach(tags, k, v)
        {
            const char *val = json_string_value(v);
            if (!val)
                continue;
            if (strcmp(k, "origin") == 0)
                snprintf(s[i].origin, sizeof s[i].origin, "%s", val);
            else if (strcmp(k, "destination") == 0)
                snprintf(s[i].dest, sizeof s[i].dest, "%s", val);
            else
                snprintf(s[i].label, sizeof s[i].label, "%s", val);
        }
        if (s[i].origin[0])
            snprintf(s[i].label, sizeof s[i].label, "%s->%s", s[i].origin, s[i].dest);
        json_t *vals = json_object_get(sj, "values");
        size_t nv = json_array_size(vals);
        for (size_t j = 0; j < nv; j++) {
            json_t *row = json_array_get(vals, j);
            json_t *val = json_array_get(row, json_array_size(row) - 1);
            json_t *tcell = json_array_get(row, 0);
            if (json_array_size(row) < 2 || !json_is_number(val))
                continue;
            series_push(&s[i], json_time(tcell), json_number_value(val));
        }
    }
    json_decref(root);
    *out = s;
    *nout = ns;
    return true;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* SHOW TAG VALUES of generation: plant, plant_type, fuel. A missing database leaves tv empty
 * and r->status set (the data answer reports it; a docs answer does not need it). */
static void fetch_tagvals(ask_run *r, ask_tagvals *tv)
{
    memset(tv, 0, sizeof *tv);
    const char *q = "SHOW TAG VALUES FROM \"generation\" WITH KEY IN (\"fuel\", \"plant\", \"plant_type\")";
    json_array_append_new(r->influxql, json_string(q));
    char *text = NULL;
    vt_err err;
    vt_err_clear(&err);
    if (r->rq->run(r->rq->run_ctx, r->db, q, &text, &err) != VT_OK) {
        r->status = 502;
        snprintf(r->error, sizeof r->error, "query failed: %s", err.msg);
        free(text);
        return;
    }
    json_t *root = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    json_t *res0 = json_array_get(json_object_get(root, "results"), 0);
    const char *serr = json_string_value(json_object_get(res0, "error"));
    if (serr) {
        r->status = strncmp(serr, "database not found", 18) == 0 ? 404 : 502;
        snprintf(r->error, sizeof r->error, "%s", serr);
    }
    json_t *series = json_object_get(res0, "series");
    for (size_t i = 0; i < json_array_size(series); i++) {
        json_t *vals = json_object_get(json_array_get(series, i), "values");
        size_t nv = json_array_size(vals);
        for (size_t j = 0; j < nv; j++) {
            json_t *row = json_array_get(vals, j);
            const char *key = json_string_value(json_array_get(row, 0));
            const char *val = json_string_value(json_array_get(row, 1));
            if (!key || !val)
                continue;
            char ***arr = strcmp(key, "plant") == 0        ? &tv->plant
                          : strcmp(key, "plant_type") == 0 ? &tv->plant_type
                          : strcmp(key, "fuel") == 0       ? &tv->fuel
                                                           : NULL;
            size_t *cnt = strcmp(key, "plant") == 0        ? &tv->nplant
                          : strcmp(key, "plant_type") == 0 ? &tv->nplant_type
                                                           : &tv->nfuel;
            if (!arr || *cnt >= ASK_MAX_TAGVALS)
                continue;
            char **na = realloc(*arr, (*cnt + 1) * sizeof **arr);
            if (!na)
                continue;
            *arr = na;
            na[*cnt] = strdup(val);
            if (na[*cnt])
                (*cnt)++;
        }
    }
    json_decref(root);
}

static void tagvals_free(ask_tagvals *tv)
{
    free_strv(tv->plant, tv->nplant);
    free_strv(tv->plant_type, tv->nplant_type);
    free_strv(tv->fuel, tv->nfuel);
}

/* ---- words of the answer ---- */

static const char *subsystem_name(int s, ask_lang l)
{
    static const char *const pt[] = {"Norte", "Nordeste", "Sudeste/Centro-Oeste", "Sul"};
    static const char *const en[] = {"North", "Northeast", "Southeast/Center-West", "South"};
    return l == ASK_PT ? pt[s] : en[s];
}

static const char *source_name(int s, ask_lang l)
{
    static const char *const pt[] = {"hidráulica", "térmica", "eólica", "solar", "nuclear",
                                     "a gás", "a carvão", "de biomassa", "a óleo"};
    static const char *const en[] = {"hydro", "thermal", "wind", "solar", "nuclear",
                                     "gas", "coal", "biomass", "oil"};
    return l == ASK_PT ? pt[s] : en[s];
}

static int subsystem_index(const char *code)
{
    for (int i = 0; i < ASK_SUBSYSTEMS; i++)
        if (strcmp(ask_subsystem_code[i], code) == 0)
            return i;
    return -1;
}

static int source_of_type(const char *plant_type)
{
    for (int s = 0; s < ASK_SRC_TYPES; s++) {
        const char *vals[1];
        ask_tagvals one = {.plant_type = (char **)&plant_type, .nplant_type = 1};
        if (ask_source_values(&one, (ask_source)s, vals, 1))
            return s;
    }
    return -1;
}

/* "geração eólica da usina X no Nordeste" / "wind generation of plant X in the Northeast" */
static void subject(const ask_intent *in, vt_buf *b, bool with_place)
{
    bool pt = in->lang == ASK_PT;
    if (in->measure == ASK_M_GEN) {
        if (!pt && in->sources) {
            int n = 0;
            for (int s = 0; s < ASK_SRC_COUNT; s++)
                if (in->sources & (1u << s))
                    vt_buf_printf(b, "%s%s", n++ ? " and " : "", source_name(s, in->lang));
            vt_buf_putc(b, ' ');
        }
        vt_buf_printf(b, "%s", pt ? "geração" : "generation");
        if (pt && in->sources) {
            int n = 0;
            for (int s = 0; s < ASK_SRC_COUNT; s++)
                if (in->sources & (1u << s))
                    vt_buf_printf(b, "%s%s", n++ ? " e " : " ", source_name(s, in->lang));
        }
        if (in->plant)
            vt_buf_printf(b, pt ? " da usina %s" : " of plant %s", in->plant);
    } else if (in->measure == ASK_M_LOAD) {
        vt_buf_printf(b, "%s", pt ? "carga" : "load");
    } else {
        if (in->nsubsys >= 2)
            vt_buf_printf(b, pt ? "intercâmbio de %s para %s" : "interchange from %s to %s",
                          subsystem_name(in->subsys[0], in->lang),
                          subsystem_name(in->subsys[1], in->lang));
        else if (in->nsubsys == 1)
            vt_buf_printf(b, pt ? "intercâmbio líquido do %s (exportação positiva)"
                                : "net interchange of the %s (export positive)",
                          subsystem_name(in->subsys[0], in->lang));
        else
            vt_buf_printf(b, "%s", pt ? "intercâmbio" : "interchange");
        return;
    }
    if (!with_place)
        return;
    if (in->nsubsys && !(in->share && in->group == ASK_G_SUBSYSTEM)) {
        for (size_t i = 0; i < in->nsubsys; i++)
            vt_buf_printf(b, "%s%s", i == 0 ? (pt ? " no " : " in the ") : (pt ? " e no " : " and the "),
                          subsystem_name(in->subsys[i], in->lang));
    } else if (!in->plant) {
        vt_buf_printf(b, "%s", pt ? " no SIN" : " in the SIN (whole grid)");
    }
}

static void time_phrase(const ask_run *r, const ask_intent *in, int64_t s, int64_t e, bool latest,
                        vt_buf *b)
{
    char a[64], z[64];
    ask_fmt_local_human(a, sizeof a, r->tz, s, in->lang);
    ask_fmt_local_human(z, sizeof z, r->tz, e, in->lang);
    bool pt = in->lang == ASK_PT;
    if (in->time.single_hour || e - s == ASK_NS_HOUR)
        vt_buf_printf(b, pt ? " em %s (horário de Brasília%s)" : " at %s (Brasília time%s)", a,
                      latest ? (pt ? ", dado mais recente" : ", latest data") : "");
    else
        vt_buf_printf(b, pt ? " entre %s e %s (horário de Brasília%s)" : " from %s to %s (Brasília time%s)",
                      a, z,
                      in->time_defaulted ? (pt ? ", últimas 24 horas com dados" : ", last 24 hours of data")
                                         : "");
}

static const char *unit_of(const ask_intent *in, bool single)
{
    if (in->share)
        return "%";
    if (single)
        return "MW";
    switch (in->agg) {
    case ASK_AGG_SUM: return "MWh";
    case ASK_AGG_MAX:
    case ASK_AGG_MIN: return "MW";
    default: return "MWmed";
    }
}

static void fmt_value(vt_buf *b, double v, const char *unit, ask_lang l)
{
    char n[64], big[64];
    if (strcmp(unit, "%") == 0) {
        ask_fmt_number(n, sizeof n, v, 1, l);
        vt_buf_printf(b, "%s %%", n);
        return;
    }
    ask_fmt_number(n, sizeof n, v, 1, l);
    vt_buf_printf(b, "%s %s", n, unit);
    double a = fabs(v);
    if (strcmp(unit, "MWh") == 0 && a >= 1e7) {
        ask_fmt_number(big, sizeof big, v / 1e6, 2, l);
        vt_buf_printf(b, " (%s TWh)", big);
    } else if (strcmp(unit, "MWh") == 0 && a >= 1e4) {
        ask_fmt_number(big, sizeof big, v / 1e3, 1, l);
        vt_buf_printf(b, " (%s GWh)", big);
    } else if (strcmp(unit, "MWh") != 0 && a >= 1e4) {
        ask_fmt_number(big, sizeof big, v / 1e3, 1, l);
        vt_buf_printf(b, " (%s %s)", big, strcmp(unit, "MWmed") == 0 ? "GWmed" : "GW");
    }
}

static void capitalize_first(vt_buf *b, size_t from)
{
    if (b->len > from && b->data[from] >= 'a' && b->data[from] <= 'z')
        b->data[from] = (uint8_t)(b->data[from] - 'a' + 'A');
}

/* A group's label for people: subsystem name, source name, link, plant. */
static void group_label(const ask_intent *in, const ask_series *s, char *out, size_t cap)
{
    if (in->group == ASK_G_SUBSYSTEM) {
        int i = subsystem_index(s->label);
        snprintf(out, cap, "%s", i >= 0 ? subsystem_name(i, in->lang) : s->label);
    } else if (in->group == ASK_G_SOURCE) {
        int i = source_of_type(s->label);
        snprintf(out, cap, "%s", i >= 0 ? source_name(i, in->lang) : s->label);
    } else {
        snprintf(out, cap, "%s", s->label);
    }
}

/* ---- the document ---- */

static json_t *suggestions(ask_lang l)
{
    static const char *const pt[] = {
        "Qual é a geração de energia atual?",
        "Qual foi a carga média do Sudeste ontem?",
        "Qual foi o pico de carga no Nordeste na semana passada?",
        "Quanto as usinas eólicas geraram em março de 2024?",
        "Quais as 5 usinas que mais geraram nos últimos 7 dias?",
        "Qual a participação da energia solar na geração hoje?",
        "Qual o intercâmbio entre Norte e Sudeste agora?",
        "Como faço rollback para o backup?",
    };
    static const char *const en[] = {
        "What is the current power generation?",
        "What was the average load in the Southeast yesterday?",
        "What was the peak load in the Northeast last week?",
        "How much did wind plants generate in March 2024?",
        "Top 5 plants by generation in the last 7 days",
        "What is the share of solar in generation today?",
        "What is the interchange between North and Southeast now?",
        "How do I restore a backup?",
    };
    json_t *a = json_array();
    for (size_t i = 0; i < 8; i++)
        json_array_append_new(a, json_string(l == ASK_PT ? pt[i] : en[i]));
    return a;
}

static json_t *interpretation(const ask_intent *in, const ask_text *t)
{
    static const char *const measures[] = {NULL, "generation", "load", "interchange"};
    static const char *const aggs[] = {NULL, "mean", "max", "min", "sum"};
    static const char *const grans[] = {NULL, "hour", "day"};
    static const char *const groups[] = {NULL, "plant", "subsystem", "source", "link"};
    static const char *const srcs[] = {"hydro", "thermal", "wind", "solar", "nuclear",
                                       "gas", "coal", "biomass", "oil"};
    json_t *o = json_object();
    json_object_set_new(o, "measure", in->measure ? json_string(measures[in->measure]) : json_null());
    json_t *subs = json_array();
    for (size_t i = 0; i < in->nsubsys; i++)
        json_array_append_new(subs, json_string(ask_subsystem_code[in->subsys[i]]));
    json_object_set_new(o, "subsystems", subs);
    json_t *so = json_array();
    for (int s = 0; s < ASK_SRC_COUNT; s++)
        if (in->sources & (1u << s))
            json_array_append_new(so, json_string(srcs[s]));
    json_object_set_new(o, "sources", so);
    json_object_set_new(o, "plant", in->plant ? json_string(in->plant) : json_null());
    json_object_set_new(o, "aggregation", in->agg ? json_string(aggs[in->agg]) : json_null());
    json_object_set_new(o, "per", in->gran ? json_string(grans[in->gran]) : json_null());
    json_object_set_new(o, "group_by", in->group ? json_string(groups[in->group]) : json_null());
    json_object_set_new(o, "top", json_integer(in->top_n));
    json_object_set_new(o, "ascending", json_boolean(in->ascending));
    json_object_set_new(o, "share", json_boolean(in->share));
    json_t *c = json_array();
    for (size_t i = 0; i < t->ncorr; i++)
        json_array_append_new(c, json_pack("{s:s,s:s}", "from", t->corr[i].from, "to", t->corr[i].to));
    json_object_set_new(o, "corrections", c);
    return o;
}

static void set_time_range(ask_run *r, json_t *doc, int64_t s, int64_t e)
{
    char a[64], z[64];
    ask_fmt_local_iso(a, sizeof a, r->tz, s);
    ask_fmt_local_iso(z, sizeof z, r->tz, e);
    json_object_set_new(doc, "time_range",
                        json_pack("{s:s,s:s,s:s}", "start", a, "end", z, "timezone", ASK_TZ));
}

static json_t *row_time(ask_run *r, int64_t t, double v)
{
    char a[64];
    ask_fmt_local_iso(a, sizeof a, r->tz, t);
    return json_pack("{s:s,s:f}", "time", a, "value", round3(v));
}

/* ---- answering data questions ---- */

/* Hourly series of the intent (no group): merged and signed. */
static bool hourly(ask_run *r, const ask_intent *in, const ask_tagvals *tv, int64_t s, int64_t e,
                   ask_series *out)
{
    vt_buf q;
    vt_buf_init(&q);
    ask_plan_query(in, tv, s, e, &q);
    ask_series *ss;
    size_t n;
    bool ok = !q.oom && run_query(r, (const char *)q.data, &ss, &n);
    vt_buf_free(&q);
    if (!ok)
        return false;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        double sign = 1;
        if (in->measure == ASK_M_INTER && in->nsubsys >= 1)
            sign = strcmp(ss[i].origin, ask_subsystem_code[in->subsys[0]]) == 0 ? 1 : -1;
        for (size_t k = 0; k < ss[i].n; k++)
            series_push(out, ss[i].p[k].t, sign * ss[i].p[k].v);
    }
    series_free(ss, n);
    series_merge(out);
    return true;
}

static int cmp_series_desc(const void *a, const void *b)
{
    const ask_series *x = a, *y = b;
    return x->agg < y->agg ? 1 : x->agg > y->agg ? -1 : strcmp(x->label, y->label);
}

static int cmp_series_asc(const void *a, const void *b)
{
    return -cmp_series_desc(a, b);
}

static void answer_value(ask_run *r, const ask_intent *in, const ask_tagvals *tv, int64_t s,
                         int64_t e, bool latest, json_t *doc, vt_buf *sent)
{
    ask_series h;
    if (!hourly(r, in, tv, s, e, &h))
        return;
    bool pt = in->lang == ASK_PT;
    bool single = in->time.single_hour && h.n <= 1;
    const char *unit = unit_of(in, single);
    json_t *rows = json_array();
    for (size_t i = 0; i < h.n && i < ASK_MAX_ROWS_OUT; i++)
        json_array_append_new(rows, row_time(r, h.p[i].t, h.p[i].v));
    json_object_set_new(doc, "rows", rows);
    json_object_set_new(doc, "rows_total", json_integer((json_int_t)h.n));
    json_object_set_new(doc, "unit", json_string(unit));
    size_t start = sent->len;
    if (h.n == 0) {
        vt_buf_printf(sent, pt ? "Não há dados de " : "There is no data for ");
        subject(in, sent, true);
        time_phrase(r, in, s, e, false, sent);
        vt_buf_putc(sent, '.');
        json_object_set_new(doc, "value", json_null());
        free(h.p);
        return;
    }
    double value;
    int64_t at;
    double sum;
    aggregate(h.p, h.n, in->agg, &value, &at, &sum);
    static const char *const pre_pt[] = {"", "média de ", "pico de ", "mínimo de ", "total de "};
    static const char *const pre_en[] = {"", "average ", "peak ", "minimum ", "total "};
    if (!single)
        vt_buf_printf(sent, "%s", pt ? pre_pt[in->agg ? in->agg : ASK_AGG_MEAN]
                                     : pre_en[in->agg ? in->agg : ASK_AGG_MEAN]);
    subject(in, sent, true);
    if (in->gran)
        vt_buf_printf(sent, pt ? (in->gran == ASK_GRAN_HOUR ? " por hora" : " por dia")
                               : (in->gran == ASK_GRAN_HOUR ? " per hour" : " per day"));
    time_phrase(r, in, s, e, latest, sent);
    vt_buf_printf(sent, ": ");
    capitalize_first(sent, start);
    json_t *values = json_array();
    if (in->gran == ASK_GRAN_HOUR || in->gran == ASK_GRAN_DAY) {
        /* buckets: hours, or Brasília days */
        size_t i = 0, items = 0;
        while (i < h.n) {
            size_t j = i + 1;
            int64_t y0;
            unsigned m0, d0;
            ask_local_fields(r->tz, h.p[i].t, &y0, &m0, &d0, NULL, NULL, NULL);
            if (in->gran == ASK_GRAN_DAY) {
                for (; j < h.n; j++) {
                    int64_t y1;
                    unsigned m1, d1;
                    ask_local_fields(r->tz, h.p[j].t, &y1, &m1, &d1, NULL, NULL, NULL);
                    if (y1 != y0 || m1 != m0 || d1 != d0)
                        break;
                }
            }
            double bv, bs;
            int64_t bat;
            aggregate(h.p + i, j - i, in->agg, &bv, &bat, &bs);
            int64_t key = in->gran == ASK_GRAN_DAY ? ask_local_day_start(r->tz, y0, m0, d0) : h.p[i].t;
            json_t *item = row_time(r, key, bv);
            if (in->agg == ASK_AGG_MAX || in->agg == ASK_AGG_MIN) {
                char a[64];
                ask_fmt_local_iso(a, sizeof a, r->tz, bat);
                json_object_set_new(item, "at", json_string(a));
            }
            json_array_append_new(values, item);
            if (items < ASK_MAX_SENTENCE_ITEMS) {
                char when[64];
                ask_fmt_local_human(when, sizeof when, r->tz, key, in->lang);
                if (in->gran == ASK_GRAN_DAY)
                    when[pt ? 10 : 10] = '\0';
                vt_buf_printf(sent, "%s%s ", items ? "; " : "", when);
                fmt_value(sent, bv, unit, in->lang);
            } else if (items == ASK_MAX_SENTENCE_ITEMS) {
                vt_buf_printf(sent, "; …");
            }
            items++;
            i = j;
        }
        vt_buf_printf(sent, ".");
        json_object_set_new(doc, "values", values);
    } else {
        json_decref(values);
        fmt_value(sent, value, unit, in->lang);
        if (in->agg == ASK_AGG_MAX || in->agg == ASK_AGG_MIN) {
            char when[64], iso[64];
            ask_fmt_local_human(when, sizeof when, r->tz, at, in->lang);
            ask_fmt_local_iso(iso, sizeof iso, r->tz, at);
            vt_buf_printf(sent, pt ? ", em %s" : ", at %s", when);
            json_object_set_new(doc, "at", json_string(iso));
        }
        vt_buf_printf(sent, ".");
    }
    json_object_set_new(doc, "value", json_real(round3(value)));
    free(h.p);
}

static void answer_grouped(ask_run *r, const ask_intent *in, const ask_tagvals *tv, int64_t s,
                           int64_t e, bool latest, json_t *doc, vt_buf *sent)
{
    vt_buf q;
    vt_buf_init(&q);
    ask_plan_query(in, tv, s, e, &q);
    ask_series *ss;
    size_t n;
    bool ok = !q.oom && run_query(r, (const char *)q.data, &ss, &n);
    vt_buf_free(&q);
    if (!ok)
        return;
    bool pt = in->lang == ASK_PT;
    bool single = in->time.single_hour;
    /* sources: merge plant types of one source */
    if (in->group == ASK_G_SOURCE) {
        for (size_t i = 0; i < n; i++) {
            int si = source_of_type(ss[i].label);
            for (size_t j = 0; j < i && si >= 0; j++) {
                if (ss[j].n && source_of_type(ss[j].label) == si) {
                    for (size_t k = 0; k < ss[i].n; k++)
                        series_push(&ss[j], ss[i].p[k].t, ss[i].p[k].v);
                    ss[i].n = 0;
                    break;
                }
            }
        }
    }
    size_t m = 0;
    json_t *rows = json_array();
    size_t rows_total = 0;
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ss[i].n == 0)
            continue;
        series_merge(&ss[i]);
        for (size_t k = 0; k < ss[i].n; k++, rows_total++) {
            if (json_array_size(rows) >= ASK_MAX_ROWS_OUT)
                continue;
            json_t *row = row_time(r, ss[i].p[k].t, ss[i].p[k].v);
            json_object_set_new(row, "group", json_string(ss[i].label));
            json_array_append_new(rows, row);
        }
        aggregate(ss[i].p, ss[i].n, in->share ? ASK_AGG_SUM : in->agg, &ss[i].agg, &ss[i].at, &ss[i].sum);
        total += ss[i].sum;
        if (m != i) {
            free(ss[m].p);
            ss[m] = ss[i];
            ss[i].p = NULL;
            ss[i].n = 0;
        }
        m++;
    }
    json_object_set_new(doc, "rows", rows);
    json_object_set_new(doc, "rows_total", json_integer((json_int_t)rows_total));
    const char *unit = unit_of(in, single);
    json_object_set_new(doc, "unit", json_string(unit));
    size_t start = sent->len;
    if (m == 0) {
        vt_buf_printf(sent, pt ? "Não há dados de " : "There is no data for ");
        subject(in, sent, true);
        time_phrase(r, in, s, e, false, sent);
        vt_buf_putc(sent, '.');
        json_object_set_new(doc, "value", json_null());
        series_free(ss, n);
        return;
    }
    if (in->share)
        for (size_t i = 0; i < m; i++)
            ss[i].agg = total != 0 ? 100.0 * ss[i].sum / total : 0;
    qsort(ss, m, sizeof *ss, in->ascending ? cmp_series_asc : cmp_series_desc);
    /* the subject of a share: the plant, source or subsystem named */
    ssize_t subj = -1;
    if (in->share) {
        for (size_t i = 0; i < m && subj < 0; i++) {
            if (in->group == ASK_G_PLANT && in->plant && strcmp(ss[i].label, in->plant) == 0)
                subj = (ssize_t)i;
            if (in->group == ASK_G_SOURCE && in->sources) {
                int si = source_of_type(ss[i].label);
                if (si >= 0 && (in->sources & (1u << si)))
                    subj = (ssize_t)i;
            }
            if (in->group == ASK_G_SUBSYSTEM && in->nsubsys &&
                subsystem_index(ss[i].label) == in->subsys[0])
                subj = (ssize_t)i;
        }
    }
    size_t shown = in->top_n > 0 && (size_t)in->top_n < m ? (size_t)in->top_n : m;
    static const char *const by_pt[] = {"", "usina", "subsistema", "fonte", "intercâmbio"};
    static const char *const by_en[] = {"", "plant", "subsystem", "source", "link"};
    static const char *const agg_pt[] = {"média", "média", "máximo", "mínimo", "total"};
    static const char *const agg_en[] = {"average", "average", "maximum", "minimum", "total"};
    if (subj >= 0) {
        char lab[200];
        group_label(in, &ss[subj], lab, sizeof lab);
        vt_buf_printf(sent, pt ? "Participação de %s na " : "Share of %s in ", lab);
        ask_intent base = *in;
        base.sources = in->group == ASK_G_SOURCE ? 0 : in->sources;
        base.plant = NULL;
        if (in->group == ASK_G_SUBSYSTEM)
            base.nsubsys = 0;
        subject(&base, sent, true);
        time_phrase(r, in, s, e, latest, sent);
        vt_buf_printf(sent, ": ");
        fmt_value(sent, ss[subj].agg, "%", in->lang);
        char a[64], b[64];
        ask_fmt_number(a, sizeof a, ss[subj].sum, 1, in->lang);
        ask_fmt_number(b, sizeof b, total, 1, in->lang);
        vt_buf_printf(sent, pt ? " (%s de %s %s)." : " (%s of %s %s).", a, b, single ? "MW" : "MWh");
        json_object_set_new(doc, "value", json_real(round3(ss[subj].agg)));
    } else {
        if (in->share)
            vt_buf_printf(sent, pt ? "Participação por %s na " : "Share by %s of ",
                          pt ? by_pt[in->group] : by_en[in->group]);
        else if (in->top_n > 0)
            vt_buf_printf(sent, pt ? "%s %s por %s (%s) de " : "%s %s by %s (%s) of ",
                          pt ? (in->ascending ? "Menores" : "Maiores")
                             : (in->ascending ? "Lowest" : "Highest"),
                          in->top_n == 1 ? "" : "", pt ? by_pt[in->group] : by_en[in->group],
                          single ? (pt ? "valor da hora" : "hourly value")
                                 : (pt ? agg_pt[in->agg] : agg_en[in->agg]));
        else
            vt_buf_printf(sent, pt ? "Por %s (%s), " : "By %s (%s), ",
                          pt ? by_pt[in->group] : by_en[in->group],
                          single ? (pt ? "valor da hora" : "hourly value")
                                 : (pt ? agg_pt[in->agg] : agg_en[in->agg]));
        subject(in, sent, true);
        time_phrase(r, in, s, e, latest, sent);
        vt_buf_printf(sent, ": ");
        json_object_set_new(doc, "value", json_real(round3(ss[0].agg)));
        json_object_set_new(doc, "label", json_string(ss[0].label));
    }
    json_t *values = json_array();
    for (size_t i = 0; i < m; i++) {
        char lab[200];
        group_label(in, &ss[i], lab, sizeof lab);
        json_t *item = json_pack("{s:s,s:s,s:f}", "group", ss[i].label, "label", lab, "value",
                                 round3(ss[i].agg));
        if (in->share)
            json_object_set_new(item, "total", json_real(round3(ss[i].sum)));
        if (!in->share && (in->agg == ASK_AGG_MAX || in->agg == ASK_AGG_MIN) && !single) {
            char a[64];
            ask_fmt_local_iso(a, sizeof a, r->tz, ss[i].at);
            json_object_set_new(item, "at", json_string(a));
        }
        if (i < shown)
            json_array_append_new(values, item);
        else
            json_decref(item);
        if (subj < 0 && i < shown && i < ASK_MAX_SENTENCE_ITEMS) {
            vt_buf_printf(sent, "%s%zu. %s ", i ? "; " : "", i + 1, lab);
            fmt_value(sent, ss[i].agg, unit, in->lang);
        }
    }
    if (subj < 0)
        vt_buf_printf(sent, "%s.", shown > ASK_MAX_SENTENCE_ITEMS ? "; …" : "");
    capitalize_first(sent, start);
    json_object_set_new(doc, "values", values);
    series_free(ss, n);
}

/* Finds the latest hour with data for the intent's series; false when there is none. */
static bool latest_hour(ask_run *r, const ask_intent *in, const ask_tagvals *tv, int64_t *hour)
{
    ask_intent f = *in;
    f.share = false;
    f.group = ASK_G_NONE;
    vt_buf w;
    vt_buf_init(&w);
    ask_plan_filter(&f, tv, &w);
    vt_buf q;
    vt_buf_init(&q);
    const char *m = in->measure == ASK_M_LOAD ? "load" : in->measure == ASK_M_INTER ? "interchange" : "generation";
    vt_buf_printf(&q, "SELECT last(\"value\") FROM \"%s\"", m);
    if (w.len) {
        vt_buf_printf(&q, " WHERE ");
        vt_buf_append(&q, w.data, w.len);
    }
    vt_buf_cstr(&q);
    ask_series *ss;
    size_t n;
    bool ok = !q.oom && !w.oom && run_query(r, (const char *)q.data, &ss, &n);
    vt_buf_free(&w);
    vt_buf_free(&q);
    if (!ok)
        return false;
    bool found = false;
    int64_t best = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < ss[i].n; k++)
            if (!found || ss[i].p[k].t > best) {
                best = ss[i].p[k].t;
                found = true;
            }
    series_free(ss, n);
    if (found) {
        int64_t rem = best % ASK_NS_HOUR;
        *hour = best - (rem < 0 ? rem + ASK_NS_HOUR : rem);
    }
    return found;
}

static void answer_data(ask_run *r, const ask_intent *in, const ask_tagvals *tv, json_t *doc,
                        vt_buf *sent)
{
    int64_t s = in->time.start, e = in->time.end;
    bool latest = in->time.kind == ASK_T_LATEST;
    if (latest) {
        int64_t h;
        if (!latest_hour(r, in, tv, &h)) {
            if (r->status)
                return;
            bool pt = in->lang == ASK_PT;
            vt_buf_printf(sent, pt ? "Não há dados de " : "There is no data for ");
            subject(in, sent, true);
            vt_buf_printf(sent, pt ? " no banco %s." : " in database %s.", r->db);
            json_object_set_new(doc, "value", json_null());
            json_object_set_new(doc, "time_range", json_null());
            return;
        }
        s = h;
        e = h + ASK_NS_HOUR;
        if (in->time_defaulted)
            s = e - 24 * ASK_NS_HOUR;
    }
    set_time_range(r, doc, s, e);
    if (in->group != ASK_G_NONE)
        answer_grouped(r, in, tv, s, e, latest, doc, sent);
    else
        answer_value(r, in, tv, s, e, latest, doc, sent);
}

/* ---- docs ---- */

static void answer_docs(ask_run *r, const ask_intent *in, const char *question, json_t *doc,
                        vt_buf *sent, bool *found)
{
    ask_passage ps[3];
    const char *why = NULL;
    const char *dir = r->rq->docs_dir && r->rq->docs_dir[0] ? r->rq->docs_dir : ask_docs_dir();
    size_t n = ask_docs_search(dir, question, ps, 3, &why);
    *found = n > 0;
    if (!n)
        return;
    bool pt = in->lang == ASK_PT;
    vt_buf_printf(sent, pt ? "Da documentação do volta (%s, \"%s\"): " : "From volta's documentation (%s, \"%s\"): ",
                  ps[0].file, ps[0].section);
    /* the first paragraph of the best passage */
    const char *text = ps[0].text;
    size_t len = strcspn(text, "\n");
    const char *para = strstr(text, "\n\n");
    if (para && (size_t)(para - text) > len)
        len = (size_t)(para - text);
    if (len > 600)
        len = 600;
    vt_buf_append(sent, text, len);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:f}", "file", ps[i].file, "section",
                                             ps[i].section, "text", ps[i].text, "score",
                                             round3(ps[i].score)));
    json_object_set_new(doc, "passages", arr);
    json_object_set_new(doc, "docs_dir", json_string(dir));
    double conf = ps[0].score >= 8 ? 0.8 : ps[0].score >= 4 ? 0.6 : 0.4;
    json_object_set_new(doc, "confidence", json_real(conf));
}

/* ---- entry point ---- */

static vt_rc finish(json_t *doc, unsigned status, unsigned *status_out, vt_buf *out, vt_err *err)
{
    char *text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(doc);
    if (!text)
        return vt_err_set(err, VT_ENOMEM, "out of memory writing the answer");
    vt_buf_append(out, text, strlen(text));
    vt_buf_putc(out, '\n');
    free(text);
    *status_out = status;
    return out->oom ? vt_err_set(err, VT_ENOMEM, "out of memory writing the answer") : VT_OK;
}

static json_t *error_doc(const char *question, ask_lang l, const char *msg)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "error", json_string(msg));
    json_object_set_new(doc, "question", json_string(question ? question : ""));
    json_object_set_new(doc, "language", json_string(l == ASK_PT ? "pt" : "en"));
    return doc;
}

vt_rc ask_answer(const ask_request *rq, unsigned *status, vt_buf *out, vt_err *err)
{
    const char *question = rq->question ? rq->question : "";
    size_t qlen = strlen(question);
    if (qlen == 0 || strspn(question, " \t\r\n") == qlen)
        return finish(error_doc(question, ASK_PT, "empty question: give {\"question\": \"...\"}"), 400,
                      status, out, err);
    if (qlen > ASK_MAX_QUESTION)
        return finish(error_doc("", ASK_PT, "question too long (at most 2000 bytes)"), 400, status,
                      out, err);
    json_t *qcheck = json_string(question); /* jansson refuses invalid UTF-8 */
    if (!qcheck)
        return finish(error_doc("", ASK_PT, "question is not valid UTF-8"), 400, status, out, err);
    json_decref(qcheck);
    vt_err tzerr;
    const vt_tz *tz = vt_tz_get(ASK_TZ, &tzerr);
    if (!tz)
        return finish(error_doc(question, ASK_PT, tzerr.msg), 500, status, out, err);

    ask_run r = {.rq = rq, .tz = tz, .db = rq->db && rq->db[0] ? rq->db : ASK_DEFAULT_DB};
    r.influxql = json_array();
    int64_t now = rq->now ? rq->now : wall_now_ns();

    ask_tagvals tv;
    fetch_tagvals(&r, &tv);
    unsigned tag_status = r.status;
    char tag_error[sizeof r.error];
    memcpy(tag_error, r.error, sizeof tag_error);
    r.status = 0;

    ask_text *t = malloc(sizeof *t);
    ask_intent *in = malloc(sizeof *in);
    if (!t || !in) {
        free(t);
        free(in);
        tagvals_free(&tv);
        json_decref(r.influxql);
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    }
    ask_tokenize(question, t);
    ask_understand(t, question, &tv, now, tz, in);

    json_t *doc = json_object();
    json_object_set_new(doc, "question", json_string(question));
    json_object_set_new(doc, "language", json_string(in->lang == ASK_PT ? "pt" : "en"));
    vt_buf sent;
    vt_buf_init(&sent);
    unsigned st = 200;

    if (in->nplant_candidates > 1 && !in->plant) {
        json_decref(doc);
        doc = error_doc(question, in->lang,
                        in->lang == ASK_PT ? "mais de uma usina corresponde ao nome: diga qual"
                                           : "more than one plant matches the name: say which");
        json_t *sug = json_array();
        for (size_t i = 0; i < in->nplant_candidates; i++)
            json_array_append_new(sug, json_string(in->plant_candidates[i]));
        json_object_set_new(doc, "candidates", sug);
        json_object_set_new(doc, "suggestions", suggestions(in->lang));
        st = 422;
    } else if (in->docs || in->howto) {
        bool found = false;
        json_object_set_new(doc, "kind", json_string("docs"));
        answer_docs(&r, in, question, doc, &sent, &found);
        if (!found && !in->docs) { /* "how ..." about the data after all */
            json_decref(doc);
            doc = json_object();
            json_object_set_new(doc, "question", json_string(question));
            json_object_set_new(doc, "language", json_string(in->lang == ASK_PT ? "pt" : "en"));
            in->howto = false;
            in->docs = false;
        }
        if (!found && in->docs) {
            json_decref(doc);
            doc = error_doc(question, in->lang,
                            in->lang == ASK_PT
                                ? "não entendi a pergunta: ela não fala de geração, carga ou "
                                  "intercâmbio, e nada na documentação responde"
                                : "question not understood: it names no generation, load or "
                                  "interchange, and nothing in the documentation answers it");
            json_object_set_new(doc, "suggestions", suggestions(in->lang));
            st = 422;
        }
    }
    if (st == 200 && !in->docs && !in->howto && !(in->nplant_candidates > 1 && !in->plant) &&
        tag_status) {
        json_decref(doc);
        doc = error_doc(question, in->lang, tag_error);
        st = tag_status;
    } else if (st == 200 && !in->docs && !in->howto && !(in->nplant_candidates > 1 && !in->plant)) {
        json_object_set_new(doc, "kind", json_string("data"));
        answer_data(&r, in, &tv, doc, &sent);
        if (r.status || r.oom) {
            json_decref(doc);
            doc = error_doc(question, in->lang, r.oom ? "out of memory" : r.error);
            st = r.oom ? 500 : r.status;
        } else {
            json_object_set_new(doc, "confidence", json_real(round(in->confidence * 100) / 100));
            json_object_set_new(doc, "interpretation", interpretation(in, t));
        }
    }
    if (st == 200) {
        vt_buf_cstr(&sent);
        json_object_set_new(doc, "answer", json_stringn(sent.oom ? "" : (const char *)sent.data, sent.len));
        ask_llm_phrase(doc); /* optional, off by default: adds "phrased" (ask/ask_llm.h) */
    }
    json_object_set_new(doc, "influxql", r.influxql);
    vt_buf_free(&sent);
    tagvals_free(&tv);
    free(t);
    free(in);
    return finish(doc, st, status, out, err);
}
