/*
 * query/influxql_parser.h — InfluxQL parser and canonical printer (InfluxDB 1.x dialect).
 *
 *   arena *a = arena_new(0);
 *   influxql_query *q;
 *   influxql_error perr;
 *   if (influxql_parse(a, text, len, &params, &q, &perr) != VT_OK)
 *       reply 400 {"error":"error parsing query: <perr.msg>"};
 *   ... use q ...
 *   arena_free(a);            // frees the whole tree
 *
 * Syntax errors are worded like InfluxDB 1.x, e.g.
 *     found EOF, expected FROM at line 1, char 9
 *     found FORM, expected FROM at line 1, char 10
 *     unable to parse integer at line 1, char 8
 *     invalid duration                      (some InfluxDB errors carry no position)
 * The "error parsing query: " prefix is the HTTP handler's, not part of msg.
 *
 * Limits: a query longer than INFLUXQL_MAX_QUERY_LEN fails with VT_ELIMIT; nesting deeper than
 * INFLUXQL_MAX_DEPTH (parentheses, calls, subqueries) or an expression taller than
 * INFLUXQL_MAX_HEIGHT fails with VT_EPARSE and a message naming the limit and the position.
 */
#ifndef QUERY_INFLUXQL_PARSER_H
#define QUERY_INFLUXQL_PARSER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "query/arena.h"
#include "query/influxql_ast.h"

typedef struct influxql_error {
    vt_rc rc;           /* VT_EPARSE, VT_ELIMIT or VT_ENOMEM */
    bool has_pos;       /* msg ends with " at line L, char C" */
    uint32_t line, col; /* 1-based, as InfluxDB prints them (0 when !has_pos) */
    char msg[VT_ERR_MSG_MAX];
} influxql_error;

/* Bound parameters ($name), as InfluxDB's "params" JSON object gives them. A parameter's
 * value replaces the $name token by a token of its type, so e.g. an IDENT parameter can name
 * a measurement and a REGEX parameter can follow =~. */
typedef enum influxql_param_kind {
    IQL_PARAM_STRING = 1, /* s: 'string' literal */
    IQL_PARAM_INTEGER,    /* i */
    IQL_PARAM_FLOAT,      /* f */
    IQL_PARAM_BOOLEAN,    /* b */
    IQL_PARAM_IDENT,      /* s: an identifier      ({"identifier": "x"} in JSON) */
    IQL_PARAM_REGEX,      /* s: a regex pattern    ({"regex": "x"}) */
    IQL_PARAM_DURATION,   /* i: nanoseconds        ({"duration": "1h"} or integer ns) */
    IQL_PARAM_ERROR,      /* s: message reported if the parameter is used */
} influxql_param_kind;

typedef struct influxql_param {
    const char *name; /* without the '$' */
    influxql_param_kind kind;
    const char *s;
    int64_t i;
    double f;
    bool b;
} influxql_param;

typedef struct influxql_params {
    const influxql_param *v;
    size_t n;
} influxql_params;

/* Converts a JSON object {"name": value, ...} (the /query "params" form field, decoded) into
 * params allocated from a: strings, integers, reals, booleans, and objects with one key among
 * "identifier", "regex", "string", "integer", "float", "boolean", "duration". Other values
 * become IQL_PARAM_ERROR (an error only if the query uses them). VT_EPARSE if obj is not an
 * object; VT_ENOMEM. */
vt_rc influxql_params_from_json(arena *a, const json_t *obj, influxql_params *out,
                                influxql_error *err);

/* Parses q[0..len) (statements separated by ';'; empty statements are skipped). params may be
 * NULL. On VT_OK *out is the query (allocated from a; at least zero statements). On failure
 * err is filled and *out is NULL; whatever was allocated stays in the arena. */
vt_rc influxql_parse(arena *a, const char *q, size_t len, const influxql_params *params,
                     influxql_query **out, influxql_error *err);

/* Prints a statement back as InfluxDB's String() does: keywords upper-case, identifiers quoted
 * only when needed, durations in the largest exact unit, numbers with 3 decimals
 * ("1.500"), regexes as /.../. Parsing the output gives a statement that prints the same. */
void influxql_format_statement(const influxql_stmt *s, vt_buf *out);
/* Statements joined with ";\n". */
void influxql_format_query(const influxql_query *q, vt_buf *out);
void influxql_format_expr(const influxql_expr *e, vt_buf *out);
/* InfluxDB's FormatDuration: "0s", "90m", "1w", "1500ms", "10u", "7ns". */
void influxql_format_duration(int64_t ns, vt_buf *out);
/* Identifier, quoted and escaped when influxql_ident_needs_quotes says so. */
void influxql_format_ident(const char *s, vt_buf *out);
/* 'string' with \\ \' \n escaped. */
void influxql_format_string(const char *s, vt_buf *out);

/* InfluxDB's ParseDuration ("1h30m", "10u", "5µ", "2w"): VT_OK and *ns, or VT_EPARSE with
 * err->msg "invalid duration" / "overflowed duration ...". */
vt_rc influxql_parse_duration(const char *s, size_t len, int64_t *ns, influxql_error *err);

/* The operator's text ("+", "AND", "=~") and precedence (1 OR .. 5 * / % &). */
const char *influxql_op_name(influxql_op op);
int influxql_op_precedence(influxql_op op);

#endif
