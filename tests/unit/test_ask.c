/* Unit tests for src/ask: normalisation, typo correction, time expressions (Brasília time, DST
 * dates included), understanding, the InfluxQL planned, and BM25 over the project's docs. The
 * end-to-end answers (numbers checked against InfluxQL) are in tests/e2e/test_ask.py. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ask/ask_int.h"
#include "common/timefmt.h"

#define NS 1000000000LL

static const vt_tz *sp(void)
{
    vt_err err;
    const vt_tz *tz = vt_tz_get(ASK_TZ, &err);
    assert_non_null(tz);
    return tz;
}

static int64_t at(const char *rfc3339)
{
    int64_t ns = 0;
    vt_err err;
    assert_int_equal(vt_time_parse(rfc3339, strlen(rfc3339), NULL, &ns, &err), VT_OK);
    return ns;
}

static void test_fold_and_tokens(void **state)
{
    (void)state;
    char out[128];
    ask_fold_lower("Geração Hidráulica no SUL, ÇÃO!", out, sizeof out);
    assert_string_equal(out, "geracao hidraulica no sul, cao!");
    ask_text t;
    ask_tokenize("Carga do SE/CO em 15/03/2024 às 14:00, centro-oeste 12,5 %", &t);
    const char *want[] = {"carga", "do", "se", "co", "em", "15/03/2024", "as", "14:00",
                          "centro-oeste", "12,5", "%"};
    assert_int_equal(t.n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < t.n; i++)
        assert_string_equal(t.t[i].s, want[i]);
    assert_true(t.t[2].upper);  /* "SE" */
    assert_false(t.t[0].upper); /* "Carga" */
}

static void test_edit_distance_and_typos(void **state)
{
    (void)state;
    assert_int_equal(ask_edit_distance("geracao", "geracao", 2), 0);
    assert_int_equal(ask_edit_distance("gercao", "geracao", 2), 1);
    assert_int_equal(ask_edit_distance("hoej", "hoje", 2), 1); /* transposition */
    assert_int_equal(ask_edit_distance("abc", "xyz12", 2), 3); /* capped at max+1 */
    ask_text t;
    ask_tokenize("qual a gercao eolca do nordste hoej", &t);
    ask_correct_typos(&t);
    assert_string_equal(t.t[2].s, "geracao");
    assert_string_equal(t.t[3].s, "eolica");
    assert_string_equal(t.t[5].s, "nordeste");
    assert_string_equal(t.t[6].s, "hoje");
    assert_int_equal(t.ncorr, 4);
    assert_string_equal(t.t[0].s, "qual"); /* stop words are never corrected */
    ask_tokenize("quais foram", &t);
    ask_correct_typos(&t);
    assert_int_equal(t.ncorr, 0);
}

static void test_language_and_numbers(void **state)
{
    (void)state;
    ask_text t;
    ask_tokenize("What was the peak load yesterday?", &t);
    assert_int_equal(ask_detect_language("What was the peak load yesterday?", &t), ASK_EN);
    ask_tokenize("Qual é a geração atual?", &t);
    assert_int_equal(ask_detect_language("Qual é a geração atual?", &t), ASK_PT);
    char b[64];
    ask_fmt_number(b, sizeof b, 1234567.891, 1, ASK_PT);
    assert_string_equal(b, "1.234.567,9");
    ask_fmt_number(b, sizeof b, -1234.5, 1, ASK_EN);
    assert_string_equal(b, "-1,234.5");
    ask_fmt_number(b, sizeof b, 999.94, 1, ASK_EN);
    assert_string_equal(b, "999.9");
}

/* Parses question's time with now; checks [start, end) against RFC3339 strings. */
static void check_time(const char *question, const char *now, ask_time_kind kind, const char *start,
                       const char *end)
{
    ask_text t;
    ask_tokenize(question, &t);
    ask_time tm;
    ask_time_extract(&t, at(now), sp(), &tm);
    if (tm.kind != kind)
        fail_msg("%s: kind %d, want %d", question, tm.kind, kind);
    if (kind != ASK_T_RANGE)
        return;
    if (tm.start != at(start) || tm.end != at(end)) {
        char a[64], z[64];
        vt_fmt_rfc3339nano(a, tm.start);
        vt_fmt_rfc3339nano(z, tm.end);
        fail_msg("%s: [%s, %s), want [%s, %s)", question, a, z, start, end);
    }
}

static void test_time_expressions(void **state)
{
    (void)state;
    const char *now = "2024-03-14T15:30:00-03:00"; /* a Thursday */
    check_time("geração atual", now, ASK_T_LATEST, NULL, NULL);
    check_time("what is the load now", now, ASK_T_LATEST, NULL, NULL);
    check_time("carga hoje", now, ASK_T_RANGE, "2024-03-14T03:00:00Z", "2024-03-14T18:30:00Z");
    check_time("load today", now, ASK_T_RANGE, "2024-03-14T03:00:00Z", "2024-03-14T18:30:00Z");
    check_time("carga de ontem", now, ASK_T_RANGE, "2024-03-13T03:00:00Z", "2024-03-14T03:00:00Z");
    check_time("yesterday", now, ASK_T_RANGE, "2024-03-13T03:00:00Z", "2024-03-14T03:00:00Z");
    check_time("na última hora", now, ASK_T_RANGE, "2024-03-14T17:30:00Z", "2024-03-14T18:30:00Z");
    check_time("nas últimas 6 horas", now, ASK_T_RANGE, "2024-03-14T12:30:00Z", "2024-03-14T18:30:00Z");
    check_time("in the last 24h", now, ASK_T_RANGE, "2024-03-13T18:30:00Z", "2024-03-14T18:30:00Z");
    check_time("last 100000h", now, ASK_T_RANGE, "2012-10-17T02:30:00Z", "2024-03-14T18:30:00Z");
    /* more hours than the same bound as "últimas N horas" (found by fuzz/ask: the product
     * overflowed int64): not a time expression */
    check_time("in the last 5555555555555555h", now, ASK_T_NONE, NULL, NULL);
    check_time("last 100001h", now, ASK_T_NONE, NULL, NULL);
    check_time("últimos 7 dias", now, ASK_T_RANGE, "2024-03-07T18:30:00Z", "2024-03-14T18:30:00Z");
    check_time("past 2 days", now, ASK_T_RANGE, "2024-03-12T18:30:00Z", "2024-03-14T18:30:00Z");
    check_time("esta semana", now, ASK_T_RANGE, "2024-03-11T03:00:00Z", "2024-03-14T18:30:00Z");
    check_time("this week", now, ASK_T_RANGE, "2024-03-11T03:00:00Z", "2024-03-14T18:30:00Z");
    check_time("semana passada", now, ASK_T_RANGE, "2024-03-04T03:00:00Z", "2024-03-11T03:00:00Z");
    check_time("last week", now, ASK_T_RANGE, "2024-03-04T03:00:00Z", "2024-03-11T03:00:00Z");
    check_time("mês passado", now, ASK_T_RANGE, "2024-02-01T03:00:00Z", "2024-03-01T03:00:00Z");
    check_time("last month", now, ASK_T_RANGE, "2024-02-01T03:00:00Z", "2024-03-01T03:00:00Z");
    check_time("este mês", now, ASK_T_RANGE, "2024-03-01T03:00:00Z", "2024-03-14T18:30:00Z");
    check_time("em março de 2024", now, ASK_T_RANGE, "2024-03-01T03:00:00Z", "2024-04-01T03:00:00Z");
    check_time("in March 2024", now, ASK_T_RANGE, "2024-03-01T03:00:00Z", "2024-04-01T03:00:00Z");
    check_time("em fevereiro", now, ASK_T_RANGE, "2024-02-01T03:00:00Z", "2024-03-01T03:00:00Z");
    check_time("em dezembro", now, ASK_T_RANGE, "2023-12-01T03:00:00Z", "2024-01-01T03:00:00Z");
    check_time("em 2023", now, ASK_T_RANGE, "2023-01-01T03:00:00Z", "2024-01-01T03:00:00Z");
    check_time("em 05/03/2024", now, ASK_T_RANGE, "2024-03-05T03:00:00Z", "2024-03-06T03:00:00Z");
    check_time("on 2024-03-05", now, ASK_T_RANGE, "2024-03-05T03:00:00Z", "2024-03-06T03:00:00Z");
    check_time("5 de março de 2024", now, ASK_T_RANGE, "2024-03-05T03:00:00Z", "2024-03-06T03:00:00Z");
    check_time("March 5, 2024", now, ASK_T_RANGE, "2024-03-05T03:00:00Z", "2024-03-06T03:00:00Z");
    check_time("em 05/03/2024 às 14h", now, ASK_T_RANGE, "2024-03-05T17:00:00Z", "2024-03-05T18:00:00Z");
    check_time("às 14h de 05/03/2024", now, ASK_T_RANGE, "2024-03-05T17:00:00Z", "2024-03-05T18:00:00Z");
    check_time("entre 01/03/2024 e 05/03/2024", now, ASK_T_RANGE, "2024-03-01T03:00:00Z",
               "2024-03-06T03:00:00Z");
    check_time("between 2024-03-01 and 2024-03-03", now, ASK_T_RANGE, "2024-03-01T03:00:00Z",
               "2024-03-04T03:00:00Z");
    check_time("de 1 de março a 3 de março", now, ASK_T_RANGE, "2024-03-01T03:00:00Z",
               "2024-03-04T03:00:00Z");
    check_time("desde 10/03/2024", now, ASK_T_RANGE, "2024-03-10T03:00:00Z", "2024-03-14T18:30:00Z");
    check_time("top 5 usinas", now, ASK_T_NONE, NULL, NULL);
    check_time("31/02/2024", now, ASK_T_NONE, NULL, NULL); /* no such day */
}

static void test_time_dst(void **state)
{
    (void)state;
    /* summer time (UTC-2) in January 2018 */
    check_time("em 15/01/2018", "2024-03-14T12:00:00Z", ASK_T_RANGE, "2018-01-15T02:00:00Z",
               "2018-01-16T02:00:00Z");
    /* 2018-11-04: midnight did not exist (00:00 -> 01:00): the day starts at 01:00-02:00 and
     * has 23 hours */
    check_time("em 04/11/2018", "2024-03-14T12:00:00Z", ASK_T_RANGE, "2018-11-04T03:00:00Z",
               "2018-11-05T02:00:00Z");
    /* 2019-02-16 had 25 hours (23:00 happened twice): "ontem" seen from the 17th */
    check_time("ontem", "2019-02-17T12:00:00-03:00", ASK_T_RANGE, "2019-02-16T02:00:00Z",
               "2019-02-17T03:00:00Z");
    /* February 2019: starts in summer time, ends in standard time */
    check_time("em fevereiro de 2019", "2024-03-14T12:00:00Z", ASK_T_RANGE, "2019-02-01T02:00:00Z",
               "2019-03-01T03:00:00Z");
    /* an hour of a DST day */
    check_time("em 04/11/2018 às 12h", "2024-03-14T12:00:00Z", ASK_T_RANGE, "2018-11-04T14:00:00Z",
               "2018-11-04T15:00:00Z");
    assert_int_equal(ask_local_day_start(sp(), 2018, 11, 4), at("2018-11-04T03:00:00Z"));
    char b[64];
    ask_fmt_local_iso(b, sizeof b, sp(), at("2018-01-15T02:00:00Z"));
    assert_string_equal(b, "2018-01-15T00:00:00-02:00");
}

static char *plants[] = {"UHE Serra Azul 3", "UHE Serra Azul 1", "EOL Ventos do Sul 2",
                         "UTE Porto Velha 7", "UFV Campo Dourada 4"};
static char *types[] = {"EOLICA", "FOTOVOLTAICA", "HIDROELETRICA", "NUCLEAR", "TERMICA"};
static char *fuels[] = {"Biomassa", "Carvao", "Eolica", "Gas", "Hidraulica", "Oleo Diesel"};

static const ask_tagvals tv = {plants, 5, types, 5, fuels, 6};

static void understand(const char *q, ask_intent *in)
{
    ask_text t;
    ask_tokenize(q, &t);
    ask_understand(&t, q, &tv, at("2024-03-14T15:30:00-03:00"), sp(), in);
}

static void test_understanding(void **state)
{
    (void)state;
    ask_intent in;
    understand("Qual é a geração de energia atual?", &in);
    assert_int_equal(in.measure, ASK_M_GEN);
    assert_int_equal(in.time.kind, ASK_T_LATEST);
    assert_true(in.time.single_hour);
    assert_int_equal(in.lang, ASK_PT);
    assert_false(in.docs);

    understand("Qual foi a carga média do Sudeste ontem?", &in);
    assert_int_equal(in.measure, ASK_M_LOAD);
    assert_int_equal(in.agg, ASK_AGG_MEAN);
    assert_int_equal(in.nsubsys, 1);
    assert_int_equal(in.subsys[0], 2);

    understand("peak load in the south east last week", &in);
    assert_int_equal(in.lang, ASK_EN);
    assert_int_equal(in.agg, ASK_AGG_MAX);
    assert_int_equal(in.subsys[0], 2);

    understand("se a carga do NE subir", &in); /* lowercase "se" is not a subsystem */
    assert_int_equal(in.nsubsys, 1);
    assert_int_equal(in.subsys[0], 1);

    understand("top 3 usinas eólicas em março de 2024", &in);
    assert_int_equal(in.group, ASK_G_PLANT);
    assert_int_equal(in.top_n, 3);
    assert_int_equal(in.sources, 1u << ASK_SRC_WIND);

    understand("qual subsistema tem a menor carga?", &in);
    assert_int_equal(in.group, ASK_G_SUBSYSTEM);
    assert_int_equal(in.top_n, 1);
    assert_true(in.ascending);

    understand("participação da eólica na geração do Nordeste", &in);
    assert_true(in.share);
    assert_int_equal(in.group, ASK_G_SOURCE);

    understand("geração da usina Serra Azul 3 ontem", &in);
    assert_string_equal(in.plant, "UHE Serra Azul 3");
    assert_int_equal(in.time.kind, ASK_T_RANGE); /* the 3 is the plant's, not a time */

    understand("geração da usina Serra Azul ontem", &in);
    assert_null(in.plant);
    assert_int_equal(in.nplant_candidates, 2); /* ambiguous: 422 with candidates */

    understand("intercâmbio entre Norte e Sudeste agora", &in);
    assert_int_equal(in.measure, ASK_M_INTER);
    assert_int_equal(in.nsubsys, 2);
    assert_int_equal(in.group, ASK_G_NONE);

    understand("carga por dia na semana passada", &in);
    assert_int_equal(in.gran, ASK_GRAN_DAY);

    understand("como faço rollback?", &in);
    assert_true(in.docs);

    understand("qual a cor do céu?", &in);
    assert_true(in.docs); /* no data entity: docs or 422 */
}

static void plan(const char *q, const char *want)
{
    ask_intent in;
    understand(q, &in);
    vt_buf b;
    vt_buf_init(&b);
    ask_plan_query(&in, &tv, at("2024-03-01T03:00:00Z"), at("2024-03-02T03:00:00Z"), &b);
    if (strcmp((const char *)b.data, want) != 0)
        fail_msg("%s:\n got  %s\n want %s", q, (const char *)b.data, want);
    vt_buf_free(&b);
}

static void test_planner(void **state)
{
    (void)state;
    const char *tr = "time >= '2024-03-01T03:00:00Z' AND time < '2024-03-02T03:00:00Z'";
    char want[1024];
    snprintf(want, sizeof want,
             "SELECT sum(\"value\") FROM \"load\" WHERE (\"subsystem\" = 'SE') AND %s GROUP BY "
             "time(1h) fill(none)", tr);
    plan("carga média do Sudeste", want);
    snprintf(want, sizeof want,
             "SELECT sum(\"value\") FROM \"generation\" WHERE (\"subsystem\" = 'NE') AND "
             "(\"plant_type\" = 'EOLICA') AND %s GROUP BY time(1h) fill(none)", tr);
    plan("geração eólica no Nordeste", want);
    snprintf(want, sizeof want,
             "SELECT sum(\"value\") FROM \"generation\" WHERE (\"fuel\" = 'Gas') AND %s GROUP BY "
             "time(1h) fill(none)", tr);
    plan("geração a gás", want);
    snprintf(want, sizeof want,
             "SELECT mean(\"value\") FROM \"generation\" WHERE %s GROUP BY \"plant\"", tr);
    plan("top 5 usinas", want);
    snprintf(want, sizeof want,
             "SELECT sum(\"value\") FROM \"generation\" WHERE %s GROUP BY \"plant\"", tr);
    plan("total gerado pelas 5 maiores usinas ontem", want);
    snprintf(want, sizeof want,
             "SELECT sum(\"value\") FROM \"generation\" WHERE (\"subsystem\" = 'NE') AND %s GROUP "
             "BY time(1h), \"plant_type\" fill(none)", tr);
    plan("participação da eólica no Nordeste", want);
    snprintf(want, sizeof want,
             "SELECT sum(\"value\") FROM \"interchange\" WHERE ((\"origin\" = 'N' AND "
             "\"destination\" = 'SE') OR (\"origin\" = 'SE' AND \"destination\" = 'N')) AND %s "
             "GROUP BY time(1h), \"origin\", \"destination\" fill(none)", tr);
    plan("intercâmbio do Norte para o Sudeste", want);
    snprintf(want, sizeof want,
             "SELECT sum(\"value\") FROM \"generation\" WHERE \"plant\" = 'UTE Porto Velha 7' AND %s "
             "GROUP BY time(1h) fill(none)", tr);
    plan("geração da UTE Porto Velha 7", want);
}

static void test_docs_bm25(void **state)
{
    (void)state;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/docs", VOLTA_SOURCE_DIR);
    ask_passage p[3];
    const char *why = NULL;
    size_t n = ask_docs_search(dir, "how do I restore a backup?", p, 3, &why);
    assert_true(n >= 1);
    assert_true(strcmp(p[0].file, "RESTORE.md") == 0 || strcmp(p[0].file, "BACKUP.md") == 0);
    assert_true(p[0].section[0] != '\0');
    assert_true(p[0].score > 0);
    n = ask_docs_search(dir, "como faço para restaurar uma cópia de segurança?", p, 3, &why);
    assert_true(n >= 1);
    assert_true(strcmp(p[0].file, "RESTORE.md") == 0 || strcmp(p[0].file, "BACKUP.md") == 0);
    n = ask_docs_search(dir, "xyzzy plugh", p, 3, &why);
    assert_int_equal(n, 0);
    n = ask_docs_search("/nonexistent-volta-docs", "restore", p, 3, &why);
    assert_int_equal(n, 0);
    assert_non_null(why);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fold_and_tokens),
        cmocka_unit_test(test_edit_distance_and_typos),
        cmocka_unit_test(test_language_and_numbers),
        cmocka_unit_test(test_time_expressions),
        cmocka_unit_test(test_time_dst),
        cmocka_unit_test(test_understanding),
        cmocka_unit_test(test_planner),
        cmocka_unit_test(test_docs_bm25),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
