/* Unit tests for ask/ask_llm: the number guard (every number of a phrasing must be volta's), and
 * that phrasing stays off with no endpoint (nothing is added to the answer). The HTTP side is
 * tested end to end in tests/e2e/test_ask_llm.py against a real loopback server. */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <string.h>

#include "ask/ask_llm.h"

/* volta's material for "pico de carga no Nordeste semana passada" (Portuguese sentence, rows in
 * JSON's notation, a negative interchange value). */
static const char *const ref_pt =
    "Question (Portuguese): Qual foi o pico de carga no Nordeste na semana passada?\n"
    "volta's answer: Pico de carga no Nordeste entre 04/03/2024 00:00 e 11/03/2024 00:00 "
    "(horário de Brasília): 12.617,2 MW (12,6 GW), em 05/03/2024 15:00.\n"
    "Hourly rows used (time value):\n"
    "2024-03-05T15:00:00-03:00 12617.213\n"
    "2024-03-05T16:00:00-03:00 -350.5\n";

static bool ok(const char *text, const char *ref, char *bad)
{
    return ask_llm_numbers_ok(text, ref, bad, 64);
}

static void test_faithful_forms(void **state)
{
    char bad[64];
    /* as written, in the other convention, without separators, rounded to fewer digits */
    assert_true(ok("O pico foi de 12.617,2 MW em 05/03/2024 às 15:00.", ref_pt, bad));
    assert_true(ok("The peak was 12,617.2 MW on 2024-03-05 at 15:00.", ref_pt, bad));
    assert_true(ok("Peak: 12617.2 MW.", ref_pt, bad));
    assert_true(ok("Cerca de 12.617 MW (12,6 GW).", ref_pt, bad));
    assert_true(ok("About 12,617 MW, that is 13 GW.", ref_pt, bad));
    assert_true(ok("12617.21 MW", ref_pt, bad));
    /* day and month group by group, a sign dropped, a dotted date */
    assert_true(ok("No dia 5 de março de 2024, 350,5 MW exportados.", ref_pt, bad));
    assert_true(ok("Em 05.03.2024.", ref_pt, bad));
    /* no numbers at all */
    assert_true(ok("Não houve dados.", ref_pt, bad));
    assert_true(ok("", ref_pt, bad));
}

static void test_invented_numbers(void **state)
{
    char bad[64];
    assert_false(ok("O pico foi de 13.500 MW.", ref_pt, bad));
    assert_string_equal(bad, "13.500");
    assert_false(ok("The peak was 12,700.0 MW.", ref_pt, bad));
    assert_string_equal(bad, "12,700.0");
    /* more digits than volta gave: 12,63 is not a rounding of 12,6 or 12617.213 */
    assert_false(ok("Pico de 12,63 GW.", ref_pt, bad));
    assert_string_equal(bad, "12,63");
    /* a number converted (MW -> kW) is not volta's */
    assert_false(ok("12617213 kW", ref_pt, bad));
    assert_string_equal(bad, "12617213");
    /* the first offending number is named; the good ones before it pass */
    assert_false(ok("12.617,2 MW, 20% acima da média de 10.514 MW.", ref_pt, bad));
    assert_string_equal(bad, "20");
    /* a wrong hour */
    assert_false(ok("at 17:00", ref_pt, bad));
    assert_string_equal(bad, "17");
}

static void test_ambiguous_separators(void **state)
{
    char bad[64];
    /* "1.234" is 1.234 or 1234: either may match */
    assert_true(ok("1,234 MW", "total 1.234 MW", bad));
    assert_true(ok("1234 MW", "total 1.234 MW", bad));
    assert_true(ok("1.234", "share 1.234 %", bad));
    /* "1.234.567" is one number; "1.234,5" and "1,234.5" agree */
    assert_true(ok("1,234,567 MWh", "1.234.567 MWh", bad));
    assert_true(ok("1.234,5", "1,234.5", bad));
    assert_false(ok("1.234,6", "1,234.5", bad));
    assert_string_equal(bad, "1.234,6");
    /* a sentence's final period is not a decimal mark */
    assert_true(ok("It was 42.", "value 42", bad));
    /* long digit strings must appear verbatim */
    const char *longref = "id 12345678901234567890123456789012345678901234567890";
    assert_true(ok("12345678901234567890123456789012345678901234567890", longref, bad));
    assert_false(ok("12345678901234567890123456789012345678901234567899", longref, bad));
}

static void test_off_by_default(void **state)
{
    assert_false(ask_llm_enabled());
    json_t *doc = json_pack("{s:s,s:s,s:s}", "question", "carga atual", "language", "pt", "answer",
                            "Carga: 1,0 MW.");
    ask_llm_phrase(doc);
    assert_null(json_object_get(doc, "phrased"));
    json_decref(doc);
}

static void test_configure_checks(void **state)
{
    vt_err err;
    ask_llm_settings s = {.url = "ftp://x", .model = "m"};
    assert_int_equal(ask_llm_configure(&s, &err), VT_EINVAL);
    assert_non_null(strstr(err.msg, "http://"));
    s = (ask_llm_settings){.url = "http://127.0.0.1:1"};
    assert_int_equal(ask_llm_configure(&s, &err), VT_EINVAL);
    assert_non_null(strstr(err.msg, "model"));
    assert_false(ask_llm_enabled());
    s = (ask_llm_settings){.url = "http://127.0.0.1:1/", .model = "m", .timeout_ms = 200};
    assert_int_equal(ask_llm_configure(&s, &err), VT_OK);
    assert_true(ask_llm_enabled());
    /* nothing listens on port 1: the answer gets a refused phrasing, nothing else changes */
    json_t *doc = json_pack("{s:s,s:s,s:s,s:f}", "question", "carga atual", "language", "pt",
                            "answer", "Carga: 1,0 MW.", "value", 1.0);
    ask_llm_phrase(doc);
    json_t *ph = json_object_get(doc, "phrased");
    assert_true(json_is_object(ph));
    assert_true(json_is_false(json_object_get(ph, "accepted")));
    assert_true(json_is_null(json_object_get(ph, "text")));
    assert_string_equal(json_string_value(json_object_get(ph, "model")), "m");
    assert_string_equal(json_string_value(json_object_get(doc, "answer")), "Carga: 1,0 MW.");
    json_decref(doc);
    assert_int_equal(ask_llm_configure(NULL, &err), VT_OK);
    assert_false(ask_llm_enabled());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_faithful_forms),
        cmocka_unit_test(test_invented_numbers),
        cmocka_unit_test(test_ambiguous_separators),
        cmocka_unit_test(test_off_by_default),
        cmocka_unit_test(test_configure_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
