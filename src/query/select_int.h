/*
 * query/select_int.h — what the files of the SELECT executor share (exec_select.c,
 * select_compile.c, select_read.c, select_raw.c, select_agg.c). Not a contract for other modules:
 * the entry point is iql_exec_select (query/exec_int.h). The design is described at the top of
 * exec_select.c and in docs/QUERY.md.
 */
#ifndef QUERY_SELECT_INT_H
#define QUERY_SELECT_INT_H

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/tz.h"
#include "engine/engine.h"
#include "ingest/lineproto.h"
#include "query/aggregate.h"
#include "query/exec_int.h"
#include "query/influxql_parser.h"
#include "query/transform.h"

#define SEL_MIN_TIME (INT64_MIN + 2) /* InfluxDB's influxql.MinTime */
#define SEL_MAX_TIME (INT64_MAX - 1) /* influxql.MaxTime */
#define SEL_DEFAULT_MAX_BUCKETS 2000000
#define SEL_DEFAULT_SHARD_NS ((int64_t)7 * 24 * 3600 * 1000000000) /* autogen's shard groups */

typedef struct sel_call {
    const influxql_expr *expr;
    const char *fname;
    bool is_xf;
    agg_kind ak;
    agg_args aa;
    xf_kind xk;
    int64_t xarg;
    bool xarg_set;
    int inner; /* xf: the aggregate call it reads, or -1 (raw field) */
    int field; /* aggregate input / raw xf input: field slot */
    bool count_distinct;
    const char *tag_arg; /* top/bottom(field, tag, N) */
} sel_call;

typedef struct sel_col {
    const char *name;
    qx *x;
    bool data; /* reads a field or a call (a row whose data columns are all null is dropped) */
} sel_col;

typedef struct sel {
    const iql_env *env;
    arena *a;
    qx_ctx xc;
    vt_err *err;
    const influxql_select *s;
    const char *db;    /* the database (INTO's default target) */
    const char *store; /* the engine store of (db, rp) the data is read from */
    int64_t shard_ns;  /* shard group duration of that policy (raw merge order) */
    qc_measurement *ms;
    size_t nms;
    const char **fields; /* field slots */
    size_t nfields, fcap;
    sel_call *calls;
    size_t ncalls, ccap;
    sel_col *cols;
    size_t ncols;
    qx *cond;
    bool cond_rows; /* the condition reads fields or time: evaluate per row */
    bool empty;     /* the condition can match nothing (InfluxDB: time under OR) */
    int64_t tmin, tmax;
    bool has_tmin, has_tmax;
    int64_t read_tmin; /* reads start here: tmin, or one window earlier for transforms */
    int64_t out_tmin;  /* aggregate rows before this window start are not printed */
    bool group_time;
    int64_t interval, ioffset;
    const vt_tz *tz;
    const char **gkeys; /* explicit GROUP BY tag names */
    size_t ngkeys;
    bool gstar;
    qx_regex **gres;
    size_t ngres;
    bool aggregate; /* the SELECT list has calls */
    bool has_xf;
    bool selector_time; /* one selector alone: rows carry the selected point's time */
    bool sel_aux;       /* one selector with other variables, read from the selected point */
    int sel_call;       /* that selector's call slot */
    int multi_call;     /* the call returning several rows (top, bottom, distinct, sample), or -1 */
    uint64_t points_read;
    uint64_t blocks_summarised; /* blocks answered from their pre-aggregates */
    bool *col_field; /* field slots the SELECT list reads (a raw row needs one non-null) */
    /* InfluxDB's aux list: the SELECT list's variables sorted by name; ties between rows of
     * equal time are broken by their string values in this order (see sel_raw_order) */
    struct sel_aux *aux;
    size_t naux;
    struct sel_virt
        *virt; /* FROM (subquery): the inner query's output, read instead of the engine */
    struct sel_virt *capture; /* this is an inner query: output goes here, not to the writer */
} sel;

/* The output of a subquery, kept in memory as the outer query's series: one per output series
 * of the inner query (name = measurement, group tags = tags, columns = fields). */
typedef struct sel_vseries {
    const char *name;
    vt_tag *tags;
    size_t ntags;
    int64_t *t;  /* ascending */
    vt_value *v; /* n * ncols */
    size_t n;
} sel_vseries;

typedef struct sel_virt {
    sel_vseries *s;
    size_t n, cap;
    const char **cols; /* without time */
    size_t ncols;
} sel_virt;

typedef struct sel_aux {
    const char *name;
    bool tag;
    int slot;
} sel_aux;

typedef struct sel_rows {
    int64_t *t;
    uint32_t *series; /* index into the group's series array */
    vt_value *v;      /* n * nf */
    size_t n, cap, nf;
    bool oom;
} sel_rows;

typedef struct sel_group {
    const qc_measurement *m;
    const qc_series **series;
    size_t nseries;
    vt_tag *tags; /* group-by tag values */
    size_t ntags;
} sel_group;

typedef struct sel_out {
    int64_t *t;
    vt_value *v; /* n * ncols */
    size_t n, cap, ncols;
    bool oom;
} sel_out;

typedef struct sel_emit {
    size_t series_seen, series_emitted;
    const char **colnames;
} sel_emit;

typedef struct sel_first_ctx {
    int64_t t;
    bool any;
} sel_first_ctx;

typedef struct sel_sink {
    sel *q;
    sel_emit *em;
    const sel_group *g;
    qr_writer *w;
    sel_out *o;     /* capture mode */
    bool started;   /* series header written */
    bool skip;      /* SOFFSET/SLIMIT excluded this series */
    size_t rows;    /* rows seen (before OFFSET) */
    size_t emitted; /* rows written */
} sel_sink;

typedef struct sel_win {
    int64_t *start; /* window starts, ascending */
    size_t n;
} sel_win;

/* select_compile.c */
const influxql_expr *sel_split_time(sel *q, const influxql_expr *e, vt_rc *rc);
vt_rc sel_compile(sel *q);

/* select_read.c */
int64_t sel_zone(const sel *q, int64_t t);
void sel_window(const sel *q, int64_t t, int64_t *start, int64_t *end);
/* The first instant after t whose window may differ from t's (end: the end of t's window):
 * every window start is found by probing t, sel_window_next(t), ... (not a fixed step). */
int64_t sel_window_next(const sel *q, int64_t t, int64_t end);
vt_rc sel_source_read(sel *q, uint64_t sid, const char *field, int64_t tmin, int64_t tmax,
                      bool (*cb)(void *ctx, const engine_points *pts), void *ctx);
bool sel_series_has_field(const qc_series *s, const char *f, vt_type *type);
void sel_rows_free(sel_rows *r);
vt_rc sel_series_rows_in(sel *q, const qc_series *s, uint32_t si, int64_t lo, int64_t hi,
                         sel_rows *out);
vt_rc sel_series_rows(sel *q, const qc_series *s, uint32_t si, sel_rows *out);
vt_rc sel_groups(sel *q, const qc_measurement *m, sel_group **out, size_t *nout);
bool sel_out_push(sel_out *o, int64_t t, const vt_value *vals);
void sel_out_free(sel_out *o);
bool sel_desc(const sel *q);
void sel_print(sel *q, sel_emit *em, const sel_group *g, sel_out *o, qr_writer *w);
vt_type sel_field_type(const sel *q, const char *name);
vt_rc sel_xf_new(sel *q, const sel_call *c, int64_t interval, bool desc, vt_type in,
                 xf_state **out);

/* select_raw.c */
void sel_sink_end(sel_sink *sk);
vt_rc sel_run_raw_group(sel *q, const sel_group *g, sel_sink *sk);

/* select_agg.c */
bool sel_first_cb(void *ctx, const engine_points *p);
vt_rc sel_make_windows(sel *q, sel_win *w);
vt_rc sel_run_agg_group(sel *q, const sel_group *g, const sel_win *w, sel_out *o);

/* exec_select.c */
vt_rc sel_run_subquery(sel *q, const influxql_select *sub);

#endif
