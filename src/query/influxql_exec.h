/*
 * query/influxql_exec.h — executes parsed InfluxQL statements against a node.
 *
 * The executor walks the statements of a query in order and describes each result to a
 * qr_writer (query/result.h), which prints InfluxDB 1.x's JSON or CSV. As in InfluxDB, the
 * first statement that fails ends the query: it reports its error and every later statement
 * reports "not executed".
 *
 * SELECT is compiled and run by query/exec_select.c (design note there); the metadata
 * statements (SHOW ..., CREATE/DROP ..., DELETE, DROP SERIES/MEASUREMENT) by exec_meta.c.
 */
#ifndef QUERY_INFLUXQL_EXEC_H
#define QUERY_INFLUXQL_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "core/node.h"
#include "query/influxql_ast.h"
#include "query/result.h"

/* What a query did (accumulated over its statements); optional. */
typedef struct iql_stats {
    uint64_t points_read;       /* points decoded or taken from block summaries */
    uint64_t blocks_summarised; /* segment blocks answered from their pre-aggregates */
    uint64_t series_read;       /* series whose data was read */
} iql_stats;

typedef struct iql_env {
    node *node;
    const char *db; /* the `db` parameter ("" or NULL when absent) */
    const char *rp; /* the `rp` parameter */
    int64_t now;    /* now() for every statement of the query, ns */
    /* Limits (0 = none): series and points a single SELECT may touch, windows of GROUP BY time */
    uint64_t max_series;
    uint64_t max_points;
    uint64_t max_buckets;
    iql_stats *stats; /* may be NULL */
} iql_env;

/* Runs every statement of q; results and statement errors go to w (qr_begin/qr_end are the
 * caller's). Returns VT_OK unless the writer was aborted (client gone) or memory ran out. */
vt_rc iql_execute(const iql_env *env, const influxql_query *q, qr_writer *w);

/* Parses and runs text on node n, appending InfluxDB's JSON response to out (epoch_div as in
 * qr_options: 0 = RFC3339 times). A syntax error is VT_EPARSE "error parsing query: ..."
 * (statement errors are inside the JSON, as the HTTP API returns them). */
vt_rc iql_run_json(node *n, const char *db, const char *rp, const char *text, size_t len,
                   int64_t epoch_div, vt_buf *out, vt_err *err);

/* Every database q names explicitly — ON clauses, db.rp.measurement sources (subqueries too),
 * INTO targets, CREATE/DROP DATABASE and retention-policy statements — is passed to fn; a
 * statement that concerns every database (SHOW DATABASES, ON *) sets *all_databases. Statements
 * without a database rely on the request's `db`. (The gateway uses it for keys limited to one
 * database.) */
void iql_named_databases(const influxql_query *q, void (*fn)(void *ctx, const char *db),
                         void *ctx, bool *all_databases);

struct influxql_error;
/* Compiles every regex of q's expressions, as InfluxDB does while parsing: false with err set
 * to "error parsing regexp: <Go's wording>: `re` at line L, char C" on the first bad one. */
bool iql_check_regexes(const influxql_query *q, struct influxql_error *err);

#endif
