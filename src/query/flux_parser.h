/*
 * query/flux_parser.h — Flux parser and canonical printer (the language subset of
 * docs/FLUX.md: package/import clauses, option/variable/expression/return statements, every
 * literal kind, records, arrays, dictionaries, member/index/call/pipe, functions with
 * expression or block bodies, operators with Flux precedence, if/then/else).
 *
 *   arena *a = arena_new(0);
 *   flux_file *f;
 *   flux_error perr;
 *   if (flux_parse(a, text, len, &f, &perr) != VT_OK)
 *       reply 400 {"code":"invalid","message":"compilation failed: <perr.msg>"};
 *   ... use f ...
 *   arena_free(a);            // frees the whole tree
 *
 * Syntax errors are worded like Flux's (libflux parser + ast check), prefixed with a span:
 *     error @1:1-1:6: expected RPAREN, got EOF          (unclosed call: from the callee)
 *     error @1:8-1:9: expected comma in property list, got INT
 *     error @1:5-1:6: invalid expression: invalid token for primary expression: MUL
 *     error @1:1-1:2: invalid statement: #
 *     error @1:12-1:14: expected ARROW, got IDENT (x1) at 1:12
 * An unclosed (), [], {} or string spans from where the construct starts to the end of the
 * offending token (Flux attaches those errors to the enclosing node); every other error spans
 * the offending token. Flux reports every error it recovers from; this parser stops at the
 * first one. The "compilation failed: " prefix is the HTTP handler's, not part of msg.
 *
 * Limits: a source longer than FLUX_MAX_SRC_LEN fails with VT_ELIMIT; nesting deeper than
 * FLUX_MAX_DEPTH or a node taller than FLUX_MAX_HEIGHT fails with VT_EPARSE and a message
 * naming the limit. An arena budget reached mid-parse gives VT_ENOMEM.
 */
#ifndef QUERY_FLUX_PARSER_H
#define QUERY_FLUX_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "query/arena.h"
#include "query/flux_ast.h"

typedef struct flux_error {
    vt_rc rc;                   /* VT_EPARSE, VT_ELIMIT or VT_ENOMEM */
    bool has_pos;               /* msg starts with "error @L:C-L:C: " */
    uint32_t line, col;         /* 1-based start of the offending token (0 when !has_pos) */
    uint32_t end_line, end_col; /* just past its end */
    char msg[VT_ERR_MSG_MAX];
} flux_error;

/* Parses src[0..len) (read up to its first NUL byte). On VT_OK *out is the FLUX_NODE_FILE
 * node, allocated from a (at least zero statements). On failure err is filled and *out is
 * NULL; whatever was allocated stays in the arena. */
vt_rc flux_parse(arena *a, const char *src, size_t len, flux_file **out, flux_error *err);

/* Appends the canonical text of a file, statement or expression: one statement per line,
 * block bodies indented by four spaces, single spaces around binary operators and after
 * commas/colons, parentheses exactly where the tree has PAREN nodes, durations as written
 * (µs as us), floats in shortest round-trip decimal form with a '.', date-times in RFC 3339
 * with the written offset (Z for +00:00) and no trailing fraction zeros, strings re-escaped.
 * Parsing the output gives a tree that prints the same. */
void flux_format(const flux_node *n, vt_buf *out);

/* "+", "==", "=~", "and", "not", "exists". */
const char *flux_op_name(flux_op op);
/* "ns", "us", "ms", "s", "m", "h", "d", "w", "mo", "y". */
const char *flux_duration_unit_name(flux_duration_unit u);

/* The duration as months plus nanoseconds (Flux adds the months first, then the rest):
 * VT_OK, or VT_ELIMIT when a sum overflows int64. */
vt_rc flux_duration_value(const flux_node *d, int64_t *months, int64_t *ns);
/* A DATETIME as nanoseconds since the epoch: VT_OK, or VT_ELIMIT when it does not fit an
 * int64 (before 1677-09-21 or after 2262-04-11). */
vt_rc flux_datetime_ns(const flux_node *t, int64_t *ns);

/* The node under any number of PAREN wrappers. */
const flux_node *flux_unparen(const flux_node *n);

#endif
