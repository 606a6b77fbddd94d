/*
 * query/exec_int.h — what the executor's files share (exec_meta.c, exec_select.c, qexpr.c).
 * Not a contract for other modules.
 *
 * Compiled expressions (qx): the executor resolves every name of an InfluxQL expression once,
 * at compile time, into a tag reference, a field slot, the time, or a call slot, so evaluating a
 * condition or a column per row is a walk over a small tree without any name lookup but tags
 * (binary search over a series' few tags).
 *
 * Evaluation follows InfluxQL: a missing tag is "", a missing field is null; arithmetic with
 * null is null; a comparison with null is false; AND/OR are Kleene three-valued when the row
 * does not know a value yet (series-level filtering treats fields and time as unknown, so a
 * series is skipped only when the condition is false whatever its points hold).
 */
#ifndef QUERY_EXEC_INT_H
#define QUERY_EXEC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/point.h"
#include "query/arena.h"
#include "query/influxql_ast.h"
#include "query/influxql_exec.h"

/* ---- regular expressions (PCRE2, unanchored search like Go's MatchString) ---- */

typedef struct qx_regex qx_regex;
typedef struct qx_ctx {
    arena *a;
    qx_regex *regexes; /* every compiled regex, freed by qx_ctx_free */
} qx_ctx;

void qx_ctx_init(qx_ctx *c, arena *a);
void qx_ctx_free(qx_ctx *c);
/* Takes over the regexes of another context (a subquery's) so they are freed with c. */
void qx_ctx_adopt(qx_ctx *c, qx_regex *list);
/* NULL with err set (VT_EINVAL "error parsing regexp: ...") on a bad pattern. */
qx_regex *qx_regex_compile(qx_ctx *c, const char *pattern, vt_err *err);
bool qx_regex_match(qx_regex *re, const char *s, size_t n);

/* ---- compiled expressions ---- */

typedef enum qx_kind {
    QX_NULL = 0, /* an unknown name, or no value */
    QX_LIT,      /* lit */
    QX_TAG,      /* the series' tag `name` ("" when absent) */
    QX_FIELD,    /* slot: value of field slot in the row */
    QX_TIME,     /* the row's time (integer ns) */
    QX_CALL,     /* slot: value of call slot in the row */
    QX_REGEX,    /* re: right-hand side of =~ / !~ */
    QX_BIN,      /* op, l, r */
    QX_UNKNOWN,  /* series-level evaluation of a field/time: three-valued unknown */
} qx_kind;

typedef struct qx qx;
struct qx {
    qx_kind kind;
    influxql_op op;
    qx *l, *r;
    vt_value lit;
    int slot;
    const char *name; /* tag key (QX_TAG), or the field name (QX_FIELD) */
    qx_regex *re;
};

/* What an expression sees of one row. */
typedef struct qx_row {
    const vt_tag *tags; /* the series' tags, sorted by key */
    size_t ntags;
    int64_t time;
    const vt_value *fields; /* by field slot */
    const vt_value *calls;  /* by call slot */
    bool series_level;      /* fields and time are unknown (see the note above) */
} qx_row;

/* Three-valued truth. */
typedef enum qx_truth { QX_FALSE = 0, QX_TRUE = 1, QX_MAYBE = 2 } qx_truth;

/* Value of e for row (VT_TYPE_NONE = null). String results point into the row or the tree. */
vt_value qx_eval(const qx *e, const qx_row *row);
qx_truth qx_eval_cond(const qx *e, const qx_row *row);
/* Tag value by key in a sorted tag array ("" when absent). */
vt_str qx_tag_value(const vt_tag *tags, size_t ntags, const char *key);
bool qx_tag_present(const vt_tag *tags, size_t ntags, const char *key);
/* QX_TAG with slot == QX_TAG_NULL_IF_MISSING reads a missing tag as null (SELECT columns);
 * otherwise as "" (conditions: `WHERE tag = ''` matches series without the tag). */
#define QX_TAG_NULL_IF_MISSING 1

/* a op b for arithmetic ops (+ - * / % & | ^); null when either is null or types do not mix. */
vt_value qx_arith(influxql_op op, const vt_value *a, const vt_value *b);
/* a op b for comparisons (= != < <= > >=); QX_FALSE when either is null or types differ. */
qx_truth qx_compare(influxql_op op, const vt_value *a, const vt_value *b);

/* Resolves a name of an expression: returns QX_TAG, QX_FIELD (with *slot), QX_TIME,
 * QX_UNKNOWN or QX_NULL. ctx is the resolver's. */
typedef qx_kind (*qx_resolve_fn)(void *ctx, const char *name, influxql_datatype type, int *slot);

/* Compiles a condition or value expression. Calls are rejected unless call_slot is given (it
 * returns the call slot of a call node, or -1 with err set). Comparisons between time and a
 * literal convert the literal with iql_time_value. Fails (VT_EINVAL) on bad regexes or time
 * literals. */
typedef struct qx_compile_opts {
    qx_resolve_fn resolve;
    void *ctx;
    int (*call_slot)(void *ctx, const influxql_expr *call, vt_err *err);
    const iql_env *env;
    const struct vt_tz *tz;
} qx_compile_opts;
vt_rc qx_compile(qx_ctx *c, const influxql_expr *e, const qx_compile_opts *o, qx **out,
                 vt_err *err);
/* Evaluates a time expression (string literal, integer ns, duration, now(), +/- of those). */
vt_rc iql_time_value(const influxql_expr *e, const iql_env *env, const struct vt_tz *tz,
                     int64_t *out, vt_err *err);

/* ---- catalog helpers (over the engine) ---- */

typedef struct qc_field {
    const char *name;
    vt_type type;
} qc_field;

typedef struct qc_series {
    uint64_t id;
    const char *measurement;
    vt_tag *tags; /* sorted, arena copies */
    size_t ntags;
    qc_field *fields; /* sorted by name */
    size_t nfields;
} qc_series;

typedef struct qc_measurement {
    const char *name;
    qc_series *series;
    size_t nseries;
    const char **tag_keys; /* sorted, distinct, union over series */
    size_t ntag_keys;
    qc_field *fields; /* sorted by name, union over series (first type seen) */
    size_t nfields;
} qc_measurement;

/* Every measurement of db (sorted by name) with its series, tag keys and fields, copied into the
 * arena. measurement (may be NULL) restricts the load to one name. */
vt_rc qc_load(engine *e, arena *a, const char *db, const char *measurement, qc_measurement **out,
              size_t *n, vt_err *err);
/* qc_load of one measurement restricted, through the tag postings, to the series carrying
 * every keys[i]=vals[i] (WHERE tag = 'v' AND ...); the measurement's field list is complete. */
vt_rc qc_load_pinned(engine *e, arena *a, const char *db, const char *measurement,
                     const char *const *keys, const char *const *vals, size_t npins,
                     qc_measurement **out, size_t *n, vt_err *err);
/* Measurements matching a FROM list (names or regexes); sources of kind subquery ignored. */
vt_rc qc_load_sources(engine *e, arena *a, qx_ctx *xc, const char *db, const influxql_source *src,
                      size_t nsrc, qc_measurement **out, size_t *n, vt_err *err);

/* Like qc_load_sources (qc_load when nsrc is 0) over several stores, merged by measurement
 * name: the SHOW statements of a database with several retention policies. */
vt_rc qc_load_stores(engine *e, arena *a, qx_ctx *xc, const char *const *stores, size_t nstores,
                     const influxql_source *src, size_t nsrc, qc_measurement **out, size_t *n,
                     vt_err *err);

/* ---- statements ---- */

/* The database a statement addresses: the statement's own, else the query's db parameter.
 * Fails with InfluxDB's messages ("database name required", "database not found: x"). */
vt_rc iql_resolve_db(const iql_env *env, const char *stmt_db, const char **out, vt_err *err);

vt_rc iql_exec_select(const iql_env *env, arena *a, const influxql_select *s, qr_writer *w,
                      vt_err *err);
vt_rc iql_exec_meta(const iql_env *env, arena *a, const influxql_stmt *st, qr_writer *w,
                    vt_err *err);
/* CREATE DATABASE (with or without WITH), CREATE / ALTER / DROP RETENTION POLICY and SHOW
 * RETENTION POLICIES (exec_rp.c), with InfluxDB 1.6's results and messages. */
vt_rc iql_exec_rp(const iql_env *env, arena *a, const influxql_stmt *st, qr_writer *w,
                  vt_err *err);
/* The engine store holding the data of retention policy rp of db: rp NULL or "" = the query's
 * `rp` parameter, else db's default policy. *store is allocated in a. Fails with VT_ENOTFOUND
 * "database not found: db" / "retention policy not found: rp". Use it wherever a statement
 * reads or deletes data (engine calls take the store, not the database name). */
vt_rc iql_resolve_store(const iql_env *env, arena *a, const char *db, const char *rp,
                        const char **store, vt_err *err);
/* Shard group duration of policy rp of db (NULL/"": the query's rp parameter, else the
 * default); 7 days when unknown. */
int64_t iql_shard_duration(const iql_env *env, const char *db, const char *rp);
/* The engine stores of every retention policy of db (InfluxDB's SHOW and DELETE statements span
 * all of them); allocated in a. */
vt_rc iql_db_stores(const iql_env *env, arena *a, const char *db, const char ***stores, size_t *n,
                    vt_err *err);

#endif
