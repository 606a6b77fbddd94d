/*
 * tests/fuzz/fuzz_influxql.c — libFuzzer target for query/influxql_parser.
 *
 * The input is parsed as a query (with a fixed set of bound parameters when byte 0 is odd, so
 * substitution paths are reached too). It must never crash or leak; a rejected query must carry
 * a message and VT_EPARSE/VT_ELIMIT. An accepted query is printed (s1), s1 is parsed again and
 * printed (s2): s1 must parse, and s2 must equal s1 (the printer's output is a fixpoint).
 *
 * No REGEX parameter here: InfluxDB's grammar lets a regex parameter stand where no /regex/
 * literal may (`a = $re`), and such a statement has no text form that parses back.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/influxql_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const influxql_param PARAMS[] = {
    {.name = "s", .kind = IQL_PARAM_STRING, .s = "it's\nx"},
    {.name = "i", .kind = IQL_PARAM_INTEGER, .i = -42},
    {.name = "f", .kind = IQL_PARAM_FLOAT, .f = 2.5},
    {.name = "b", .kind = IQL_PARAM_BOOLEAN, .b = true},
    {.name = "m", .kind = IQL_PARAM_IDENT, .s = "cpu load"},
    {.name = "d", .kind = IQL_PARAM_DURATION, .i = 90000000000},
    {.name = "e", .kind = IQL_PARAM_ERROR, .s = "bad parameter"},
};

static void die(const char *what, const char *a, const char *b)
{
    fprintf(stderr, "fuzz_influxql: %s\n  first:  %s\n  second: %s\n", what, a, b ? b : "");
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    influxql_params params = {PARAMS, sizeof(PARAMS) / sizeof(PARAMS[0])};
    const influxql_params *pp = (size > 0 && (data[0] & 1)) ? &params : NULL;
    arena *a = arena_new(0);
    if (!a)
        return 0;
    influxql_query *q = NULL;
    influxql_error err;
    vt_rc rc = influxql_parse(a, (const char *)data, size, pp, &q, &err);
    if (rc != VT_OK) {
        if ((rc != VT_EPARSE && rc != VT_ELIMIT && rc != VT_ENOMEM) || !err.msg[0] || q)
            die("bad error report", err.msg, NULL);
        arena_free(a);
        return 0;
    }
    vt_buf s1, s2;
    vt_buf_init(&s1);
    vt_buf_init(&s2);
    influxql_format_query(q, &s1);
    if (s1.oom)
        goto out;
    influxql_query *q2 = NULL;
    rc = influxql_parse(a, (const char *)s1.data, s1.len, pp, &q2, &err);
    if (rc != VT_OK)
        die("canonical text does not parse", vt_buf_cstr(&s1), err.msg);
    if (q2->nstmts != q->nstmts)
        die("statement count changed", vt_buf_cstr(&s1), NULL);
    influxql_format_query(q2, &s2);
    if (!s2.oom && (s1.len != s2.len || (s1.len && memcmp(s1.data, s2.data, s1.len) != 0)))
        die("not a fixpoint", vt_buf_cstr(&s1), vt_buf_cstr(&s2));
out:
    vt_buf_free(&s1);
    vt_buf_free(&s2);
    arena_free(a);
    return 0;
}
