/*
 * server/influxql_admin.h — the few InfluxQL statements volta answers before full InfluxQL lands:
 *     CREATE DATABASE <name>      DROP DATABASE <name>      SHOW DATABASES
 * <name> is an identifier ([A-Za-z_][A-Za-z0-9_]*, non-ASCII bytes allowed) or a "double-quoted"
 * identifier (\" and \\ escapes). Statements are separated by ';' (quotes respected; empty
 * statements are skipped); "--" and C-style comments are whitespace. Any other statement that
 * starts with an InfluxQL keyword (SELECT, SHOW MEASUREMENTS, ...) parses as IQA_OTHER (its tokens
 * are skipped up to the next ';'), so the handler can answer "not implemented" for it alone.
 *
 * Syntax errors use InfluxDB 1.x's wording:
 *     found X, expected Y at line L, char C          (L and C 1-based)
 * and the handler prefixes "error parsing query: ".
 */
#ifndef SERVER_INFLUXQL_ADMIN_H
#define SERVER_INFLUXQL_ADMIN_H

#include <stddef.h>

#include "common/error.h"

typedef enum influxql_admin_kind {
    IQA_CREATE_DATABASE = 1,
    IQA_DROP_DATABASE,
    IQA_SHOW_DATABASES,
    IQA_OTHER, /* a statement volta does not implement yet */
} influxql_admin_kind;

typedef struct influxql_admin_stmt {
    influxql_admin_kind kind;
    char *name;       /* CREATE/DROP: the database name, unquoted, NUL-terminated (owned) */
    char keyword[48]; /* IQA_OTHER: the first keyword, upper-cased ("SELECT") */
} influxql_admin_stmt;

typedef struct influxql_admin_query {
    influxql_admin_stmt *stmts;
    size_t n;
} influxql_admin_query;

/* Parses q[0..len). On VT_EPARSE err->msg is "found X, expected Y at line L, char C" and out is
 * empty. VT_ENOMEM when out of memory. out is owned by the caller: influxql_admin_free. */
vt_rc influxql_admin_parse(const char *q, size_t len, influxql_admin_query *out, vt_err *err);
void influxql_admin_free(influxql_admin_query *q);

#endif
