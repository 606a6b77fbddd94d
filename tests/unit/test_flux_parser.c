/*
 * tests/unit/test_flux_parser.c — Flux lexer/parser/printer (src/query/flux_*).
 *
 * Tables: OK_CASES (program -> canonical text, NULL when the program is already canonical;
 * the canonical text must be a fixpoint) and ERR_CASES (program -> the exact Flux-style error
 * with its position). Then direct AST checks (values, shapes, precedence, positions), the
 * helpers (durations, date-times, unparen, identifiers, token names), limits (length, depth,
 * height, arena budget) and NUL handling.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/arena.h"
#include "query/flux_lexer.h"
#include "query/flux_parser.h"

typedef struct ok_case {
    const char *in;
    const char *out; /* canonical text without the final newline; NULL = same as in */
} ok_case;

typedef struct err_case {
    const char *in;
    const char *msg;
} err_case;

static const ok_case OK_CASES[] = {
    {"from(bucket: \"ons\") |> range(start: -1h) |> filter(fn: (r) => r._measurement == \"generation\" and r.subsystem == \"SE\") |> aggregateWindow(every: 5m, fn: mean, createEmpty: false) |> yield(name: \"mean\")", NULL},
    {"from(bucket:\"ons\") |> range(start: 2024-01-01T00:00:00Z, stop: 2024-02-01T00:00:00Z)\n  |> group(columns: [\"subsystem\"]) |> sum()", "from(bucket: \"ons\") |> range(start: 2024-01-01T00:00:00Z, stop: 2024-02-01T00:00:00Z) |> group(columns: [\"subsystem\"]) |> sum()"},
    {"from(bucket: \"ons\")\n  |> range(start: -1h)\n  |> filter(fn: (r) => r._measurement == \"generation\")\n  |> count()", "from(bucket: \"ons\") |> range(start: -1h) |> filter(fn: (r) => r._measurement == \"generation\") |> count()"},
    {"from(bucket: \"ons\") |> range(start: -7d, stop: now()) |> filter(fn: (r) => r._field == \"value\" or r._field == \"mw\")", NULL},
    {"from(bucket: \"ons/autogen\") |> range(start: -30m) |> filter(fn: (r) => r.subsystem =~ /^(SE|S)$/ and not r.source !~ /wind/)", NULL},
    {"from(bucket: \"b\") |> range(start: -1h) |> filter(fn: (r) => exists r.host)", NULL},
    {"from(bucket: \"b\") |> range(start: -1h) |> window(every: 10m) |> mean() |> duplicate(column: \"_stop\", as: \"_time\") |> window(every: inf)", NULL},
    {"from(bucket: \"b\") |> range(start: -1h) |> keep(columns: [\"_time\", \"_value\"]) |> drop(columns: [\"host\"]) |> rename(columns: {_value: \"mw\"})", NULL},
    {"from(bucket: \"b\") |> range(start: -1h) |> sort(columns: [\"_value\"], desc: true) |> limit(n: 10, offset: 2)", NULL},
    {"from(bucket: \"b\") |> range(start: -1h) |> pivot(rowKey: [\"_time\"], columnKey: [\"_field\"], valueColumn: \"_value\")", NULL},
    {"from(bucket: \"b\") |> range(start: -1h) |> map(fn: (r) => ({r with _value: r._value * 1000.0}))", NULL},
    {"from(bucket: \"b\") |> range(start: -1h) |> map(fn: (r) => ({_time: r._time, total: r.a + r.b}))", NULL},
    {"from(bucket: \"b\") |> range(start: -1h) |> group(columns: [\"host\"], mode: \"by\") |> median()", NULL},
    {"from(bucket: \"b\") |> range(start: -1h) |> group() |> first() |> last() |> min() |> max()", NULL},
    {"from(bucket: \"b\") |> range(start: -1h) |> aggregateWindow(every: 1mo, fn: sum)", NULL},
    {"package main", NULL},
    {"package main\nimport \"strings\"\nimport s \"strings\"\nx = s.toUpper(v: \"a\")", NULL},
    {"import \"influxdata/influxdb/schema\"\nschema.tagValues(bucket: \"b\", tag: \"host\")", NULL},
    {"option now = () => 2020-01-01T00:00:00Z", NULL},
    {"option task = {name: \"cq\", every: 1h, offset: 5m}", NULL},
    {"option v.timeRangeStart = -1h", NULL},
    {"option location = timezone.location(name: \"Europe/London\")", NULL},
    {"x = 1", NULL},
    {"x = 1\ny = 2\nx + y", NULL},
    {"a = 1 b = 2", "a = 1\nb = 2"},
    {"f = (r) => {\n    x = r.a\n    return x * 2\n}", NULL},
    {"f = () => {\n    return 1\n}", NULL},
    {"f = (tables=<-, fn) => tables |> map(fn: fn)", NULL},
    {"f = (a, b=2, c=\"x\") => a + b", NULL},
    {"f = () => 1", NULL},
    {"g = (r) => (r) => r + 1", NULL},
    {"return 1", NULL},
    {"x = 0", NULL},
    {"x = 9223372036854775807", NULL},
    {"x = 1.5", NULL},
    {"x = .5", "x = 0.5"},
    {"x = 10.", "x = 10.0"},
    {"x = 0.001", NULL},
    {"x = 1234567.890", "x = 1234567.89"},
    {"x = 100000000000000000000000.0", NULL},
    {"x = \"plain\"", NULL},
    {"x = \"\"", NULL},
    {"x = \"esc \\n \\r \\t \\\\ \\\" \\${x}\"", NULL},
    {"x = \"dollar $ and $y\"", NULL},
    {"x = \"\\x41\\x7f\"", "x = \"A\\x7f\""},
    {"x = \"h\xc3""\xa9""llo w\xc3""\xb6""rld\"", NULL},
    {"x = \"line1\nline2\"", "x = \"line1\\nline2\""},
    {"x = \"hello ${name}!\"", NULL},
    {"x = \"${a}${b}\"", NULL},
    {"x = \"v=${r._value + 1} ${\"inner\"}\"", NULL},
    {"x = \"$${a}\"", NULL},
    {"x = 1h30m", NULL},
    {"x = 1mo", NULL},
    {"x = 1y2mo3w4d5h6m7s8ms9us10ns", NULL},
    {"x = 5\xc2""\xb5""s", "x = 5us"},
    {"x = -5m", NULL},
    {"x = 0s", NULL},
    {"x = 2019-01-01", "x = 2019-01-01T00:00:00Z"},
    {"x = 2019-01-01T00:00:00Z", NULL},
    {"x = 2019-01-01T10:20:30.123456789+01:30", NULL},
    {"x = 2020-02-29T23:59:59.5-08:00", NULL},
    {"x = 2019-01-01T00:00:00.000Z", "x = 2019-01-01T00:00:00Z"},
    {"x = 2019-01-01T00:00:00+00:00", "x = 2019-01-01T00:00:00Z"},
    {"x = /abc/", NULL},
    {"x = /a\\/b/", NULL},
    {"x = /^\\d+\\.\\d*$/", NULL},
    {"x = /[a-z]+/ =~ \"a\"", NULL},
    {"x = true", NULL},
    {"x = false", NULL},
    {"x = [1, 2, 3]", NULL},
    {"x = []", NULL},
    {"x = [1, 2,]", "x = [1, 2]"},
    {"x = [[1], [2, 3]]", NULL},
    {"x = [:]", NULL},
    {"x = [\"a\": 1, \"b\": 2]", NULL},
    {"x = {}", NULL},
    {"x = {a: 1, b}", NULL},
    {"x = {\"a b\": 1, c: \"d\"}", NULL},
    {"x = {r with a: 1}", NULL},
    {"x = {r with}", NULL},
    {"x = {a: 1,}", "x = {a: 1}"},
    {"x = r.a", NULL},
    {"x = r[\"a b\"]", NULL},
    {"x = r.a.b.c", NULL},
    {"x = arr[0]", NULL},
    {"x = arr[i + 1][2]", NULL},
    {"x = f()", NULL},
    {"x = f(a: 1)", NULL},
    {"x = f(a)", NULL},
    {"x = f(a: 1,)", "x = f(a: 1)"},
    {"x = f(\"k\": 1)", NULL},
    {"x = f()()", NULL},
    {"x = a.b(c: 1).d", NULL},
    {"x = 1 .a", NULL},
    {"x = 1 + 2 * 3", NULL},
    {"x = (1 + 2) * 3", NULL},
    {"x = 1 - 2 - 3", NULL},
    {"x = 2 ^ 3 ^ 2", NULL},
    {"x = 7 % 3 / 2", NULL},
    {"x = a == b", NULL},
    {"x = a != b and c < d or e <= f and g > h or i >= j", NULL},
    {"x = not a and b", NULL},
    {"x = not not a", NULL},
    {"x = exists r.a and exists r.b", NULL},
    {"x = -a * -b", NULL},
    {"x = - -1", "x = --1"},
    {"x = +1", NULL},
    {"x = -(1 + 2)", NULL},
    {"x = a |> b() ^ 2", NULL},
    {"x = (a + b) |> f()", NULL},
    {"x = r._value =~ /x/ and r.y !~ /z/", NULL},
    {"x = if a then b else c", NULL},
    {"x = if a > 0 then \"pos\" else if a < 0 then \"neg\" else \"zero\"", NULL},
    {"x = if not a then 1 else 2", NULL},
    {"x = {a: if b then 1 else 2}", NULL},
    {"x = (((a)))", NULL},
    {"(a)", NULL},
    {"/re/", NULL},
    {"-1", NULL},
    {"x = a / b / c", NULL},
    {"x = <-", NULL},
    {"// leading comment\nx = 1 // trailing\n// end", "x = 1"},
    {"x=1\ty=2\r\nz=3", "x = 1\ny = 2\nz = 3"},
    {"from(bucket:\"b\")\n|>range(start:-1h)\n|>filter(fn:(r)=>r.a==1)", "from(bucket: \"b\") |> range(start: -1h) |> filter(fn: (r) => r.a == 1)"},
    {"x = 1\n\n\ny = 2", "x = 1\ny = 2"},
    {"x = 1.0e10", "x = 1.0\ne10"},
};

static const err_case ERR_CASES[] = {
    {"from(",
     "error @1:1-1:6: expected RPAREN, got EOF"},
    {"from(bucket: \"x\"",
     "error @1:1-1:17: expected RPAREN, got EOF"},
    {"from(bucket: \"x\" |> range()",
     "error @1:1-1:28: expected RPAREN, got EOF"},
    {"a = 1 +",
     "error @1:8-1:8: invalid expression: invalid token for primary expression: EOF"},
    {"a = (1 + 2",
     "error @1:5-1:11: expected RPAREN, got EOF"},
    {"a = * 2",
     "error @1:5-1:6: invalid expression: invalid token for primary expression: MUL"},
    {"f(a: 1 2)",
     "error @1:8-1:9: expected comma in property list, got INT"},
    {"f(: 1)",
     "error @1:3-1:4: missing property key"},
    {"f(a: 1,, b: 2)",
     "error @1:8-1:9: missing property in property list"},
    {"f(1)",
     "error @1:3-1:4: unexpected token for property key: INT (1)"},
    {"f(a: )",
     "error @1:6-1:7: missing property value"},
    {"a |> b",
     "error @1:6-1:7: pipe destination must be a function call"},
    {"x = (r) => ",
     "error @1:12-1:12: invalid expression: invalid token for primary expression: EOF"},
    {"x = (a, 1) => a",
     "error @1:9-1:10: expected IDENT, got INT (1) at 1:9"},
    {"x = {a b}",
     "error @1:8-1:9: expected comma in property list, got IDENT"},
    {"x = [1 2]",
     "error @1:8-1:9: expected COMMA, got INT (2) at 1:8"},
    {"x = [1, 2",
     "error @1:5-1:10: expected RBRACK, got EOF"},
    {"x = r.",
     "error @1:7-1:7: expected IDENT, got EOF"},
    {"x = r[]",
     "error @1:7-1:8: no expression included in brackets"},
    {"x = \"abc",
     "error @1:5-1:9: got unexpected token in string expression @1:9-1:9: EOF"},
    {"x = \"a\\q\"",
     "error @1:5-1:9: got unexpected token in string expression @1:7-1:9: ILLEGAL"},
    {"x = \"${a\"",
     "error @1:9-1:10: expected RBRACE, got QUOTE (\") at 1:9"},
    {"x = if a then b",
     "error @1:16-1:16: expected ELSE, got EOF"},
    {"x = if a b",
     "error @1:10-1:11: expected THEN, got IDENT (b) at 1:10"},
    {"x = 99999999999999999999",
     "error @1:5-1:25: invalid integer literal \"99999999999999999999\": value out of range"},
    {"x = 2019-13-01",
     "error @1:5-1:15: invalid expression: invalid token for primary expression: TIME"},
    {"x = 2019-02-29",
     "error @1:5-1:15: invalid expression: invalid token for primary expression: TIME"},
    {"x = 2019-01-01T10:00:00",
     "error @1:5-1:24: invalid expression: invalid token for primary expression: TIME"},
    {"x = 2019-01-01T24:00:00Z",
     "error @1:5-1:25: invalid expression: invalid token for primary expression: TIME"},
    {"x = 99999999999999999999h",
     "error @1:5-1:26: invalid expression: invalid token for primary expression: DURATION"},
    {"import 1",
     "error @1:8-1:9: expected STRING, got INT (1) at 1:8"},
    {"package 1",
     "error @1:9-1:10: expected IDENT, got INT (1) at 1:9"},
    {"option = 1",
     "error @1:8-1:9: expected IDENT, got ASSIGN (=) at 1:8"},
    {"option a",
     "error @1:9-1:9: expected ASSIGN, got EOF"},
    {"@",
     "error @1:1-1:2: invalid statement: @"},
    {"x = 1\n# comment",
     "error @2:1-2:2: invalid statement: #"},
    {"x = 1 )",
     "error @1:7-1:8: invalid statement: )"},
    {"x = (a b)",
     "error @1:5-1:9: expected RPAREN, got IDENT"},
    {"x = f(a: 1]",
     "error @1:11-1:12: expected comma in property list, got RBRACK"},
    {"x = \"\\x00\"",
     "error @1:5-1:11: invalid byte value \\x00: strings cannot contain NUL"},
    {"x = !a",
     "error @1:5-1:6: invalid expression: invalid token for primary expression: ILLEGAL"},
    {"x = a | b",
     "error @1:7-1:8: invalid statement: |"},
    {"return",
     "error @1:7-1:7: invalid expression: invalid token for primary expression: EOF"},
    {"f = () => { return 1",
     "error @1:11-1:21: expected RBRACE, got EOF"},
    {"f = () => { return 1 )",
     "error @1:11-1:23: expected RBRACE, got RPAREN"},
    {"x = {a: 1,",
     "error @1:5-1:11: expected RBRACE, got EOF"},
    {"x = [\"a\": 1, \"b\"]",
     "error @1:17-1:18: expected COLON, got RBRACK (]) at 1:17"},
    {"x = [:",
     "error @1:5-1:7: expected RBRACK, got EOF"},
    {"x = (a=1 b) => a",
     "error @1:5-1:11: expected RPAREN, got IDENT"},
    {"x = .",
     "error @1:5-1:6: invalid expression: invalid token for primary expression: DOT"},
    {"x = a ? b",
     "error @1:7-1:8: invalid statement: ?"},
    {"x = (a, b)",
     "error @1:11-1:11: expected ARROW, got EOF"},
    {"x = ()",
     "error @1:7-1:7: expected ARROW, got EOF"},
    {"x = 1\ny = )",
     "error @2:5-2:6: invalid expression: invalid token for primary expression: RPAREN"},
    {"x = f(a: 1)\n  |> g(\n",
     "error @2:6-3:1: expected RPAREN, got EOF"},
    {"x = {\"a\": 1 \"b\": 2}",
     "error @1:13-1:16: expected comma in property list, got STRING"},
    {"x = a.b.",
     "error @1:9-1:9: expected IDENT, got EOF"},
    {"x = 1 + (2 * )",
     "error @1:14-1:15: invalid expression: invalid token for primary expression: RPAREN"},
};

/* Parses src and returns the canonical text (final newline dropped) or the error message, in a
 * static buffer; *rc gets the parse result. */
static const char *parse_to_text(const char *src, size_t len, vt_rc *rc)
{
    static char out[16384];
    arena *a = arena_new(0);
    assert_non_null(a);
    flux_file *f = NULL;
    flux_error err;
    *rc = flux_parse(a, src, len, &f, &err);
    if (*rc != VT_OK) {
        assert_null(f);
        snprintf(out, sizeof(out), "%s", err.msg);
    } else {
        vt_buf b;
        vt_buf_init(&b);
        flux_format(f, &b);
        assert_false(b.oom);
        size_t n = b.len;
        if (n && b.data[n - 1] == '\n')
            n--;
        snprintf(out, sizeof(out), "%.*s", (int)n, b.data ? (const char *)b.data : "");
        vt_buf_free(&b);
    }
    arena_free(a);
    return out;
}

static void test_ok_cases(void **state)
{
    (void)state;
    size_t n = sizeof(OK_CASES) / sizeof(OK_CASES[0]);
    for (size_t i = 0; i < n; i++) {
        const ok_case *c = &OK_CASES[i];
        const char *want = c->out ? c->out : c->in;
        vt_rc rc;
        char got[16384];
        snprintf(got, sizeof(got), "%s", parse_to_text(c->in, strlen(c->in), &rc));
        if (rc != VT_OK || strcmp(got, want) != 0)
            fail_msg("case %zu %s\n  want: %s\n  got:  %s (rc %d)", i, c->in, want, got, (int)rc);
        const char *again = parse_to_text(got, strlen(got), &rc);
        if (rc != VT_OK || strcmp(again, got) != 0)
            fail_msg("fixpoint %zu %s\n  first:  %s\n  second: %s", i, c->in, got, again);
    }
    assert_true(n >= 80);
}

static void test_err_cases(void **state)
{
    (void)state;
    size_t n = sizeof(ERR_CASES) / sizeof(ERR_CASES[0]);
    for (size_t i = 0; i < n; i++) {
        const err_case *c = &ERR_CASES[i];
        vt_rc rc;
        const char *got = parse_to_text(c->in, strlen(c->in), &rc);
        if (rc != VT_EPARSE || strcmp(got, c->msg) != 0)
            fail_msg("case %zu %s\n  want: %s\n  got:  %s (rc %d)", i, c->in, c->msg, got, (int)rc);
    }
    assert_true(n >= 40);
}

/* ---- AST checks ------------------------------------------------------------------------ */

typedef struct fixture {
    arena *a;
    flux_file *f;
    flux_error err;
} fixture;

static const flux_node *parse_ok(fixture *fx, const char *src)
{
    if (!fx->a)
        fx->a = arena_new(0);
    vt_rc rc = flux_parse(fx->a, src, strlen(src), &fx->f, &fx->err);
    if (rc != VT_OK)
        fail_msg("%s: %s", src, fx->err.msg);
    assert_int_equal(fx->f->kind, FLUX_NODE_FILE);
    return fx->f;
}

/* The init expression of the only statement, `x = <expr>`. */
static const flux_node *init_of(fixture *fx, const char *src)
{
    const flux_node *f = parse_ok(fx, src);
    assert_int_equal(f->u.file.nbody, 1);
    const flux_node *s = f->u.file.body[0];
    assert_int_equal(s->kind, FLUX_STMT_VAR);
    return s->u.assign.init;
}

static void fx_free(fixture *fx)
{
    arena_free(fx->a);
    fx->a = NULL;
}

static void test_literal_values(void **state)
{
    (void)state;
    fixture fx = {0};
    const flux_node *e = init_of(&fx, "x = 9223372036854775807");
    assert_int_equal(e->kind, FLUX_EXPR_INT);
    assert_true(e->u.integer == INT64_MAX);
    e = init_of(&fx, "x = 2.25");
    assert_int_equal(e->kind, FLUX_EXPR_FLOAT);
    assert_true(e->u.flt == 2.25);
    e = init_of(&fx, "x = \"a\\tb\\x41\\${c}\\\"$d\"");
    assert_int_equal(e->kind, FLUX_EXPR_STRING);
    assert_string_equal(e->u.str, "a\tbA${c}\"$d");
    e = init_of(&fx, "x = /a\\/b\\d/");
    assert_int_equal(e->kind, FLUX_EXPR_REGEX);
    assert_string_equal(e->u.regex, "a/b\\d");
    e = init_of(&fx, "x = true");
    assert_int_equal(e->kind, FLUX_EXPR_IDENT);
    assert_string_equal(e->u.ident, "true");
    e = init_of(&fx, "x = <-");
    assert_int_equal(e->kind, FLUX_EXPR_PIPE_LIT);

    e = init_of(&fx, "x = 1h30m");
    assert_int_equal(e->kind, FLUX_EXPR_DURATION);
    assert_int_equal(e->u.duration.nparts, 2);
    assert_int_equal(e->u.duration.parts[0].magnitude, 1);
    assert_int_equal(e->u.duration.parts[0].unit, FLUX_DUR_H);
    assert_int_equal(e->u.duration.parts[1].magnitude, 30);
    assert_int_equal(e->u.duration.parts[1].unit, FLUX_DUR_M);
    int64_t mo, ns;
    assert_int_equal(flux_duration_value(e, &mo, &ns), VT_OK);
    assert_int_equal(mo, 0);
    assert_true(ns == 5400LL * 1000000000LL);
    e = init_of(&fx, "x = 1y2mo3ms4us5ns6µs");
    assert_int_equal(e->u.duration.nparts, 6);
    assert_int_equal(e->u.duration.parts[5].unit, FLUX_DUR_US);
    assert_int_equal(flux_duration_value(e, &mo, &ns), VT_OK);
    assert_int_equal(mo, 14);
    assert_int_equal(ns, 3000000 + 4000 + 5 + 6000);
    e = init_of(&fx, "x = 9223372036854775807w");
    assert_int_equal(flux_duration_value(e, &mo, &ns), VT_ELIMIT);

    e = init_of(&fx, "x = -5m");
    assert_int_equal(e->kind, FLUX_EXPR_UNARY);
    assert_int_equal(e->u.unary.op, FLUX_OP_SUB);
    assert_int_equal(e->u.unary.arg->kind, FLUX_EXPR_DURATION);
    fx_free(&fx);
}

static void test_datetime_values(void **state)
{
    (void)state;
    fixture fx = {0};
    int64_t ns;
    const flux_node *e = init_of(&fx, "x = 2024-01-01T00:00:00Z");
    assert_int_equal(e->kind, FLUX_EXPR_DATETIME);
    assert_true(e->u.datetime.secs == 1704067200);
    assert_int_equal(e->u.datetime.nsecs, 0);
    assert_int_equal(flux_datetime_ns(e, &ns), VT_OK);
    assert_true(ns == 1704067200LL * 1000000000LL);
    e = init_of(&fx, "x = 2019-01-01T10:20:30.5+01:30");
    assert_true(e->u.datetime.secs == 1546338030 - 5400);
    assert_int_equal(e->u.datetime.nsecs, 500000000);
    assert_int_equal(e->u.datetime.offset_min, 90);
    e = init_of(&fx, "x = 1969-12-31T23:59:59.999999999Z");
    assert_true(e->u.datetime.secs == -1);
    assert_int_equal(e->u.datetime.nsecs, 999999999);
    assert_int_equal(flux_datetime_ns(e, &ns), VT_OK);
    assert_true(ns == -1);
    e = init_of(&fx, "x = 2020-02-29");
    assert_true(e->u.datetime.secs == 1582934400);
    e = init_of(&fx, "x = 2019-01-01T00:00:00.1234567891Z"); /* digits past 9 are dropped */
    assert_int_equal(e->u.datetime.nsecs, 123456789);
    e = init_of(&fx, "x = 9999-12-31T23:59:59Z");
    assert_int_equal(flux_datetime_ns(e, &ns), VT_ELIMIT);
    fx_free(&fx);
}

static void test_shapes(void **state)
{
    (void)state;
    fixture fx = {0};
    /* pipe binds tighter than ^, ^ tighter than * */
    const flux_node *e = init_of(&fx, "x = a |> f() ^ 2 * 3");
    assert_int_equal(e->kind, FLUX_EXPR_BINARY);
    assert_int_equal(e->u.binary.op, FLUX_OP_MUL);
    assert_int_equal(e->u.binary.lhs->u.binary.op, FLUX_OP_POW);
    assert_int_equal(e->u.binary.lhs->u.binary.lhs->kind, FLUX_EXPR_PIPE);
    /* not binds looser than comparison, tighter than and */
    e = init_of(&fx, "x = not a == b and c");
    assert_int_equal(e->kind, FLUX_EXPR_LOGICAL);
    assert_int_equal(e->u.binary.op, FLUX_OP_AND);
    assert_int_equal(e->u.binary.lhs->kind, FLUX_EXPR_UNARY);
    assert_int_equal(e->u.binary.lhs->u.unary.op, FLUX_OP_NOT);
    assert_int_equal(e->u.binary.lhs->u.unary.arg->u.binary.op, FLUX_OP_EQ);
    /* or is loosest, left-associative chains */
    e = init_of(&fx, "x = a or b and c or d");
    assert_int_equal(e->u.binary.op, FLUX_OP_OR);
    assert_int_equal(e->u.binary.lhs->u.binary.op, FLUX_OP_OR);
    assert_int_equal(e->u.binary.lhs->u.binary.rhs->u.binary.op, FLUX_OP_AND);
    e = init_of(&fx, "x = 1 - 2 - 3");
    assert_int_equal(e->u.binary.lhs->kind, FLUX_EXPR_BINARY);
    assert_int_equal(e->u.binary.rhs->kind, FLUX_EXPR_INT);
    assert_int_equal(e->u.binary.rhs->u.integer, 3);
    /* conditional */
    e = init_of(&fx, "x = if a then 1 else 2");
    assert_int_equal(e->kind, FLUX_EXPR_CONDITIONAL);
    assert_int_equal(e->u.cond.alt->u.integer, 2);
    /* record with, shorthand, string keys */
    e = init_of(&fx, "x = {r with a: 1, b, \"c d\": 2}");
    assert_int_equal(e->kind, FLUX_EXPR_RECORD);
    assert_string_equal(e->u.record.with, "r");
    assert_int_equal(e->u.record.nprops, 3);
    assert_null(e->u.record.props[1].value);
    assert_true(e->u.record.props[2].key_is_string);
    assert_string_equal(e->u.record.props[2].key, "c d");
    /* member: dot and bracket; index */
    e = init_of(&fx, "x = r[\"a b\"].c[0]");
    assert_int_equal(e->kind, FLUX_EXPR_INDEX);
    assert_int_equal(e->u.index.object->kind, FLUX_EXPR_MEMBER);
    assert_string_equal(e->u.index.object->u.member.property, "c");
    assert_true(e->u.index.object->u.member.object->u.member.bracket);
    /* function with defaults and pipe literal */
    e = init_of(&fx, "x = (tables=<-, n=2) => tables |> limit(n)");
    assert_int_equal(e->kind, FLUX_EXPR_FUNCTION);
    assert_int_equal(e->u.fn.nparams, 2);
    assert_int_equal(e->u.fn.params[0].value->kind, FLUX_EXPR_PIPE_LIT);
    assert_false(e->u.fn.is_block);
    const flux_node *call = e->u.fn.expr->u.pipe.call;
    assert_int_equal(call->kind, FLUX_EXPR_CALL);
    assert_int_equal(call->u.call.nargs, 1);
    assert_string_equal(call->u.call.args[0].key, "n");
    assert_null(call->u.call.args[0].value);
    e = init_of(&fx, "x = (r) => { y = r return y }");
    assert_true(e->u.fn.is_block);
    assert_int_equal(e->u.fn.nbody, 2);
    assert_int_equal(e->u.fn.body[1]->kind, FLUX_STMT_RETURN);
    /* interpolation parts */
    e = init_of(&fx, "x = \"a${b}c\"");
    assert_int_equal(e->kind, FLUX_EXPR_STRING_INTERP);
    assert_int_equal(e->u.interp.nparts, 3);
    assert_string_equal(e->u.interp.parts[0].text, "a");
    assert_string_equal(e->u.interp.parts[1].expr->u.ident, "b");
    assert_string_equal(e->u.interp.parts[2].text, "c");
    /* dict */
    e = init_of(&fx, "x = [\"a\": 1, \"b\": 2]");
    assert_int_equal(e->kind, FLUX_EXPR_DICT);
    assert_int_equal(e->u.dict.n, 2);
    assert_int_equal(e->u.dict.values[1]->u.integer, 2);
    /* parens are kept; flux_unparen strips them */
    e = init_of(&fx, "x = ((a))");
    assert_int_equal(e->kind, FLUX_EXPR_PAREN);
    assert_int_equal(flux_unparen(e)->kind, FLUX_EXPR_IDENT);
    fx_free(&fx);
}

static void test_file_parts(void **state)
{
    (void)state;
    fixture fx = {0};
    const flux_node *f = parse_ok(&fx, "package main\nimport \"strings\"\nimport s \"x/y\"\n"
                                       "option task = {every: 1h}\noption v.a = 1\nreturn 2");
    assert_string_equal(f->u.file.package, "main");
    assert_int_equal(f->u.file.nimports, 2);
    assert_null(f->u.file.imports[0].alias);
    assert_string_equal(f->u.file.imports[1].alias, "s");
    assert_string_equal(f->u.file.imports[1].path, "x/y");
    assert_int_equal(f->u.file.imports[1].line, 3);
    assert_int_equal(f->u.file.nbody, 3);
    assert_int_equal(f->u.file.body[0]->kind, FLUX_STMT_OPTION);
    assert_null(f->u.file.body[0]->u.assign.member);
    assert_string_equal(f->u.file.body[1]->u.assign.member, "a");
    assert_int_equal(f->u.file.body[2]->kind, FLUX_STMT_RETURN);
    f = parse_ok(&fx, "");
    assert_int_equal(f->u.file.nbody, 0);
    f = parse_ok(&fx, "  // only a comment\n");
    assert_int_equal(f->u.file.nbody, 0);
    fx_free(&fx);
}

static void test_positions(void **state)
{
    (void)state;
    fixture fx = {0};
    const flux_node *f = parse_ok(&fx, "x = 1\n  y = a |> f(b: 2)\n");
    const flux_node *s = f->u.file.body[1];
    assert_int_equal(s->line, 2);
    assert_int_equal(s->col, 3);
    const flux_node *p = s->u.assign.init;
    assert_int_equal(p->kind, FLUX_EXPR_PIPE);
    assert_int_equal(p->line, 2);
    assert_int_equal(p->col, 7);
    assert_int_equal(p->end_line, 2);
    assert_int_equal(p->end_col, 19);
    assert_int_equal(p->u.pipe.call->col, 12);
    assert_int_equal(p->u.pipe.call->u.call.args[0].col, 14);
    /* columns count bytes, as Flux does */
    f = parse_ok(&fx, "x = \"é\" + y");
    const flux_node *y = f->u.file.body[0]->u.assign.init->u.binary.rhs;
    assert_int_equal(y->col, 12);
    fx_free(&fx);
}

static void test_error_struct(void **state)
{
    (void)state;
    arena *a = arena_new(0);
    flux_file *f = (flux_file *)1;
    flux_error err;
    const char *src = "x = 1\ny = (a";
    assert_int_equal(flux_parse(a, src, strlen(src), &f, &err), VT_EPARSE);
    assert_null(f);
    assert_int_equal(err.rc, VT_EPARSE);
    assert_true(err.has_pos);
    assert_int_equal(err.line, 2);
    assert_int_equal(err.col, 5);
    assert_int_equal(err.end_line, 2);
    assert_int_equal(err.end_col, 7);
    assert_string_equal(err.msg, "error @2:5-2:7: expected RPAREN, got EOF");
    arena_free(a);
}

static void test_nul_ends_input(void **state)
{
    (void)state;
    vt_rc rc;
    const char src[] = "x = 1\0garbage )";
    assert_string_equal(parse_to_text(src, sizeof(src) - 1, &rc), "x = 1");
    assert_int_equal(rc, VT_OK);
    const char src2[] = "x = \"ab\0c\"";
    const char *msg = parse_to_text(src2, sizeof(src2) - 1, &rc);
    assert_int_equal(rc, VT_EPARSE);
    assert_string_equal(msg,
                        "error @1:5-1:8: got unexpected token in string expression @1:8-1:8: EOF");
}

static void test_limits(void **state)
{
    (void)state;
    vt_rc rc;
    /* length */
    size_t big = FLUX_MAX_SRC_LEN + 1;
    char *s = malloc(big);
    assert_non_null(s);
    memset(s, ' ', big);
    const char *msg = parse_to_text(s, big, &rc);
    assert_int_equal(rc, VT_ELIMIT);
    assert_non_null(strstr(msg, "query too long"));
    /* depth: nested parentheses */
    size_t depth = 200;
    size_t n = 0;
    n += (size_t)sprintf(s + n, "x = ");
    for (size_t i = 0; i < depth; i++)
        s[n++] = '(';
    s[n++] = '1';
    for (size_t i = 0; i < depth; i++)
        s[n++] = ')';
    msg = parse_to_text(s, n, &rc);
    assert_int_equal(rc, VT_EPARSE);
    assert_non_null(strstr(msg, "Program is nested too deep (depth above 128)"));
    /* depth: prefix operators */
    n = (size_t)sprintf(s, "x = ");
    for (size_t i = 0; i < 100000; i++)
        s[n++] = '-';
    s[n++] = '1';
    msg = parse_to_text(s, n, &rc);
    assert_int_equal(rc, VT_EPARSE);
    assert_non_null(strstr(msg, "Program is nested too deep"));
    /* height: a long operator chain */
    n = (size_t)sprintf(s, "x = 1");
    for (size_t i = 0; i < 5000; i++)
        n += (size_t)sprintf(s + n, " + 1");
    msg = parse_to_text(s, n, &rc);
    assert_int_equal(rc, VT_EPARSE);
    assert_non_null(strstr(msg, "Program is nested too deep (height above 1024)"));
    /* within the limits */
    n = (size_t)sprintf(s, "x = 1");
    for (size_t i = 0; i < 500; i++)
        n += (size_t)sprintf(s + n, " |> f()");
    parse_to_text(s, n, &rc);
    assert_int_equal(rc, VT_OK);
    free(s);
}

static void test_arena_budget(void **state)
{
    (void)state;
    const char *src = "from(bucket: \"b\") |> range(start: -1h) |> filter(fn: (r) => r.a == 1)";
    bool saw_oom = false, saw_ok = false;
    for (size_t budget = 64; budget < (1u << 20); budget *= 2) {
        arena *a = arena_new(budget);
        assert_non_null(a);
        flux_file *f;
        flux_error err;
        vt_rc rc = flux_parse(a, src, strlen(src), &f, &err);
        if (rc == VT_ENOMEM) {
            saw_oom = true;
            assert_null(f);
            assert_string_equal(err.msg, "out of memory");
        } else {
            assert_int_equal(rc, VT_OK);
            saw_ok = true;
        }
        arena_free(a);
    }
    assert_true(saw_oom);
    assert_true(saw_ok);
}

static void test_lexer(void **state)
{
    (void)state;
    flux_lexer lx;
    flux_token t;
    const char *src = "a |> 1.5 2019-01-01T00:00:00Z 1h \"s\" \"\\q\" <- => =~ !~ /x/";
    flux_lexer_init(&lx, src, strlen(src));
    static const flux_tok want[] = {
        FLUX_T_IDENT,  FLUX_T_PIPE_FORWARD, FLUX_T_FLOAT,   FLUX_T_TIME,
        FLUX_T_DURATION, FLUX_T_STRING,     FLUX_T_QUOTE,   FLUX_T_ILLEGAL,
        FLUX_T_IDENT,  FLUX_T_QUOTE,  FLUX_T_PIPE_RECEIVE, FLUX_T_ARROW,   FLUX_T_REGEXEQ,
        FLUX_T_REGEXNEQ, FLUX_T_DIV,        FLUX_T_IDENT,   FLUX_T_DIV,
        FLUX_T_EOF,
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        flux_lexer_scan(&lx, &t, false);
        if (t.tok != want[i])
            fail_msg("token %zu: want %s got %s", i, flux_tok_name(want[i]), flux_tok_name(t.tok));
    }
    /* string-expression mode after a QUOTE */
    src = "\"a\\n${x}\"";
    flux_lexer_init(&lx, src, strlen(src));
    flux_lexer_scan(&lx, &t, false);
    assert_int_equal(t.tok, FLUX_T_QUOTE);
    flux_lexer_scan_string_part(&lx, &t);
    assert_int_equal(t.tok, FLUX_T_TEXT);
    assert_int_equal(t.end - t.off, 3);
    flux_lexer_scan_string_part(&lx, &t);
    assert_int_equal(t.tok, FLUX_T_STRINGEXPR);
    flux_lexer_scan(&lx, &t, false);
    assert_int_equal(t.tok, FLUX_T_IDENT);
    flux_lexer_scan(&lx, &t, false);
    assert_int_equal(t.tok, FLUX_T_RBRACE);
    flux_lexer_scan_string_part(&lx, &t);
    assert_int_equal(t.tok, FLUX_T_QUOTE);
    flux_lexer_scan_string_part(&lx, &t);
    assert_int_equal(t.tok, FLUX_T_EOF);
    /* the same regex with regex_ok */
    src = "/x\\/y/ //c\n/";
    flux_lexer_init(&lx, src, strlen(src));
    flux_lexer_scan(&lx, &t, true);
    assert_int_equal(t.tok, FLUX_T_REGEX);
    assert_int_equal(t.end - t.off, 6);
    flux_lexer_scan(&lx, &t, true);
    assert_int_equal(t.tok, FLUX_T_DIV); /* unterminated regex falls back */
    assert_int_equal(t.line, 2);
    assert_int_equal(t.col, 1);
    /* longest match at digits */
    src = "1m 1mo 1ms 2019-01-01 05 1.5h";
    flux_lexer_init(&lx, src, strlen(src));
    static const flux_tok want2[] = {FLUX_T_DURATION, FLUX_T_DURATION, FLUX_T_DURATION,
                                     FLUX_T_TIME,     FLUX_T_INT,      FLUX_T_INT,
                                     FLUX_T_FLOAT,    FLUX_T_IDENT,    FLUX_T_EOF};
    for (size_t i = 0; i < sizeof(want2) / sizeof(want2[0]); i++) {
        flux_lexer_scan(&lx, &t, false);
        if (t.tok != want2[i])
            fail_msg("token %zu: want %s got %s", i, flux_tok_name(want2[i]), flux_tok_name(t.tok));
    }
    assert_string_equal(flux_tok_name(FLUX_T_RPAREN), "RPAREN");
    assert_string_equal(flux_tok_name(FLUX_T_PIPE_FORWARD), "PIPE_FORWARD");
    assert_int_equal(flux_keyword("exists", 6), FLUX_T_EXISTS);
    assert_int_equal(flux_keyword("true", 4), FLUX_T_IDENT);
    assert_true(flux_is_ident("_value"));
    assert_true(flux_is_ident("héllo"));
    assert_false(flux_is_ident("and"));
    assert_false(flux_is_ident("1a"));
    assert_false(flux_is_ident("a b"));
    assert_false(flux_is_ident(""));
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(flux_op_name(FLUX_OP_REGEXNEQ), "!~");
    assert_string_equal(flux_op_name(FLUX_OP_EXISTS), "exists");
    assert_string_equal(flux_duration_unit_name(FLUX_DUR_MO), "mo");
    assert_string_equal(flux_duration_unit_name(FLUX_DUR_US), "us");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok_cases),       cmocka_unit_test(test_err_cases),
        cmocka_unit_test(test_literal_values), cmocka_unit_test(test_datetime_values),
        cmocka_unit_test(test_shapes),         cmocka_unit_test(test_file_parts),
        cmocka_unit_test(test_positions),      cmocka_unit_test(test_error_struct),
        cmocka_unit_test(test_nul_ends_input), cmocka_unit_test(test_limits),
        cmocka_unit_test(test_arena_budget),   cmocka_unit_test(test_lexer),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
