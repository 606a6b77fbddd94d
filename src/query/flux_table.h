/*
 * query/flux_table.h — the table model of the Flux executor and its annotated-CSV writer
 * (shared by flux_exec.c and flux_csv.c; not a contract for other modules).
 *
 * A table (Flux's data model, InfluxDB 2.x): named, typed columns, some of them forming the
 * group key (constant over the table's rows); rows stored row-major, ncols values per row.
 * A value whose type is FX_T_NULL is null. Strings point into the query's arena (never into a
 * table), so copying a row copies no bytes. Labels likewise live in the arena or are literals.
 *
 * Invariants: every non-null value of a column has the column's type (FX_T_TIME values carry
 * nanoseconds in v.i); key columns hold the same value on every row.
 */
#ifndef QUERY_FLUX_TABLE_H
#define QUERY_FLUX_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/point.h"
#include "query/flux_exec.h"

typedef enum fx_type {
    FX_T_NULL = 0, /* a null value; as a column type: no value seen (written "string") */
    FX_T_FLOAT,
    FX_T_INT,
    FX_T_UINT,
    FX_T_BOOL,
    FX_T_STRING,
    FX_T_TIME,
    FX_T_UNKNOWN, /* expression evaluation only: not known at series level (pushdown) */
    FX_T_REGEX,   /* expression evaluation only: v.re is a compiled regex */
} fx_type;

typedef struct fx_val {
    uint8_t type;
    union {
        double f;
        int64_t i; /* INT and TIME (ns) */
        uint64_t u;
        bool b;
        vt_str s;
        void *re;
    } v;
} fx_val;

typedef struct fx_col {
    const char *label;
    uint8_t type;
    bool key;
} fx_col;

typedef struct fx_table {
    size_t ncols, nrows, cap; /* cap: rows allocated */
    fx_col *cols;             /* malloc'd */
    fx_val *rows;             /* malloc'd, nrows * ncols */
} fx_table;

/* A new empty table with room for ncols columns (labels set by the caller); NULL on OOM. */
fx_table *fx_table_new(size_t ncols);
void fx_table_free(fx_table *t);
/* A new zeroed (null) row; NULL on OOM. */
fx_val *fx_table_add_row(fx_table *t);
/* Index of the column labelled label, or -1. */
int fx_table_col(const fx_table *t, const char *label);
static inline fx_val *fx_cell(const fx_table *t, size_t row, size_t col)
{
    return &t->rows[row * t->ncols + col];
}

/* One result of the response (a yield name) being written. */
typedef struct fx_csv {
    const char *name;
    const flux_exec_options *o;
    vt_buf buf;
    size_t ntables; /* tables written (the next table id) */
    fx_col *last;   /* schema of the previous table (malloc'd copy) */
    size_t nlast;
} fx_csv;

void fx_csv_init(fx_csv *w, const char *name, const flux_exec_options *o);
void fx_csv_free(fx_csv *w);
/* Writes a table (nothing for a table without rows). false on OOM. */
bool fx_csv_table(fx_csv *w, const fx_table *t);
/* Appends the finished result to out (a trailing empty line after a non-empty result). */
void fx_csv_finish(fx_csv *w, vt_buf *out);
/* The #datatype name of a column type. */
const char *fx_csv_datatype(fx_type t);

#endif
