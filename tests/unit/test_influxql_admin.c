/* Unit tests for server/influxql_admin: the admin statements, splitting, and syntax errors. */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <string.h>

#include "server/influxql_admin.h"

static vt_rc parse(const char *q, influxql_admin_query *out, vt_err *err)
{
    vt_err_clear(err);
    return influxql_admin_parse(q, strlen(q), out, err);
}

static void test_admin_statements(void **state)
{
    influxql_admin_query q;
    vt_err err;
    assert_int_equal(parse("CREATE DATABASE mydb", &q, &err), VT_OK);
    assert_int_equal(q.n, 1);
    assert_int_equal(q.stmts[0].kind, IQA_CREATE_DATABASE);
    assert_string_equal(q.stmts[0].name, "mydb");
    influxql_admin_free(&q);

    assert_int_equal(
        parse("  create   database \"my db;\\\"x\" ; drop DATABASE other;show databases", &q, &err),
        VT_OK);
    assert_int_equal(q.n, 3);
    assert_int_equal(q.stmts[0].kind, IQA_CREATE_DATABASE);
    assert_string_equal(q.stmts[0].name, "my db;\"x");
    assert_int_equal(q.stmts[1].kind, IQA_DROP_DATABASE);
    assert_string_equal(q.stmts[1].name, "other");
    assert_int_equal(q.stmts[2].kind, IQA_SHOW_DATABASES);
    assert_null(q.stmts[2].name);
    influxql_admin_free(&q);

    /* empty statements and comments are skipped; non-ASCII identifiers */
    assert_int_equal(parse(";; -- a comment\n/* block ; */ CREATE DATABASE geração;\n;", &q, &err),
                     VT_OK);
    assert_int_equal(q.n, 1);
    assert_string_equal(q.stmts[0].name, "geração");
    influxql_admin_free(&q);

    assert_int_equal(parse("   ", &q, &err), VT_OK);
    assert_int_equal(q.n, 0);
    influxql_admin_free(&q);
}

static void test_other_statements(void **state)
{
    influxql_admin_query q;
    vt_err err;
    assert_int_equal(parse("select * from \"m;x\" where t = 'a;b'; SHOW MEASUREMENTS; "
                           "CREATE DATABASE d WITH DURATION 1d",
                           &q, &err),
                     VT_OK);
    assert_int_equal(q.n, 3);
    assert_int_equal(q.stmts[0].kind, IQA_OTHER);
    assert_string_equal(q.stmts[0].keyword, "SELECT");
    assert_int_equal(q.stmts[1].kind, IQA_OTHER);
    assert_string_equal(q.stmts[1].keyword, "SHOW");
    assert_int_equal(q.stmts[2].kind, IQA_OTHER);
    assert_string_equal(q.stmts[2].keyword, "CREATE DATABASE ... WITH");
    assert_null(q.stmts[2].name);
    influxql_admin_free(&q);
}

typedef struct syntax_case {
    const char *q;
    const char *msg;
} syntax_case;

static void test_syntax_errors(void **state)
{
    static const syntax_case cases[] = {
        {"CREATE DATABASE", "found EOF, expected identifier at line 1, char 16"},
        {"CREATE DATABASE 'x'", "found 'x', expected identifier at line 1, char 17"},
        {"DROP DATABASE ;", "found ;, expected identifier at line 1, char 15"},
        {"CREATE DATABASE foo bar", "found bar, expected ; at line 1, char 21"},
        {"SHOW DATABASES foo", "found foo, expected ; at line 1, char 16"},
        {"CREATE DATABASE a;\n  SHOW DATABASES x", "found x, expected ; at line 2, char 18"},
        {"FOO", "found FOO, expected SELECT, DELETE, SHOW, CREATE, DROP, EXPLAIN, GRANT, "
                "REVOKE, ALTER, SET, KILL at line 1, char 1"},
        {"123", "found 123, expected SELECT, DELETE, SHOW, CREATE, DROP, EXPLAIN, GRANT, "
                "REVOKE, ALTER, SET, KILL at line 1, char 1"},
        {"CREATE DATABASE \"abc", "found unterminated quoted string, expected identifier at "
                                  "line 1, char 17"},
        {"SELECT 'abc", "found unterminated quoted string, expected ; at line 1, char 8"},
        {"create database x database", "found DATABASE, expected ; at line 1, char 19"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        influxql_admin_query q;
        vt_err err;
        vt_rc rc = parse(cases[i].q, &q, &err);
        if (rc != VT_EPARSE || strcmp(err.msg, cases[i].msg) != 0)
            fail_msg("case %zu (%s): rc %d '%s', want '%s'", i, cases[i].q, rc, err.msg,
                     cases[i].msg);
        assert_int_equal(q.n, 0);
        assert_null(q.stmts);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_admin_statements),
        cmocka_unit_test(test_other_statements),
        cmocka_unit_test(test_syntax_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
