/*
 * query/flux_csv.c — Flux tables (query/flux_table.h) and their annotated-CSV encoding, as
 * InfluxDB 2.x writes the body of /api/v2/query (docs.influxdata.com, reference/syntax/
 * annotated-csv; Flux's csv.ResultEncoder).
 *
 * Format written, per result (one yield):
 *   - every line ends with CRLF; every line starts with the annotation column: the annotation
 *     name on annotation rows, empty on the header and on records;
 *   - then the columns `result` and `table`, then the table's own columns;
 *   - a table starts a new block (annotation rows in the dialect's order, then the header)
 *     when it is the first of the result or its schema (labels, types, key flags) differs
 *     from the previous table's; a block that is not the first is preceded by an empty line;
 *   - #group: false for result/table, then true for key columns; #datatype: string, long,
 *     then the column types (dateTime:RFC3339, double, long, unsignedLong, boolean, string);
 *     #default: the result name under `result`, empty elsewhere;
 *   - records: `result` empty when the #default row carries it, else the name; `table` is
 *     the table's index in the result (from 0); nulls are empty fields;
 *   - values: floats as Go's strconv.FormatFloat(f, 'f', -1, 64), times RFC 3339 UTC with
 *     trailing fraction zeros trimmed, strings quoted (RFC 4180) when they hold the
 *     delimiter, a quote, CR or LF;
 *   - a result that wrote anything ends with an empty line.
 * Tables without rows are not written.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timefmt.h"
#include "query/flux_table.h"

/* ---- tables ---- */

fx_table *fx_table_new(size_t ncols)
{
    fx_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->cols = calloc(ncols ? ncols : 1, sizeof *t->cols);
    if (!t->cols) {
        free(t);
        return NULL;
    }
    t->ncols = ncols;
    return t;
}

void fx_table_free(fx_table *t)
{
    if (!t)
        return;
    free(t->cols);
    free(t->rows);
    free(t);
}

fx_val *fx_table_add_row(fx_table *t)
{
    if (t->nrows == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 16;
        size_t per = t->ncols ? t->ncols : 1;
        if (ncap > SIZE_MAX / sizeof(fx_val) / per)
            return NULL;
        fx_val *r = realloc(t->rows, ncap * per * sizeof(fx_val));
        if (!r)
            return NULL;
        t->rows = r;
        t->cap = ncap;
    }
    fx_val *row = &t->rows[t->nrows * t->ncols];
    memset(row, 0, t->ncols * sizeof *row);
    t->nrows++;
    return row;
}

int fx_table_col(const fx_table *t, const char *label)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].label, label) == 0)
            return (int)i;
    return -1;
}

/* ---- CSV ---- */

const char *fx_csv_datatype(fx_type t)
{
    switch (t) {
    case FX_T_FLOAT: return "double";
    case FX_T_INT: return "long";
    case FX_T_UINT: return "unsignedLong";
    case FX_T_BOOL: return "boolean";
    case FX_T_TIME: return "dateTime:RFC3339";
    default: return "string";
    }
}

void fx_csv_init(fx_csv *w, const char *name, const flux_exec_options *o)
{
    memset(w, 0, sizeof *w);
    w->name = name;
    w->o = o;
    vt_buf_init(&w->buf);
}

void fx_csv_free(fx_csv *w)
{
    vt_buf_free(&w->buf);
    free(w->last);
    w->last = NULL;
}

static void csv_str(vt_buf *b, const char *s, size_t n, char delim)
{
    bool quote = false;
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == delim || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (!quote) {
        vt_buf_append(b, s, n);
        return;
    }
    vt_buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            vt_buf_putc(b, '"');
        vt_buf_putc(b, (uint8_t)s[i]);
    }
    vt_buf_putc(b, '"');
}

static void csv_val(vt_buf *b, const fx_val *v, char delim)
{
    char tmp[VT_FMT_CSV_FLOAT_MAX];
    size_t n;
    switch ((fx_type)v->type) {
    case FX_T_FLOAT:
        n = vt_fmt_csv_float(tmp, v->v.f);
        vt_buf_append(b, tmp, n);
        break;
    case FX_T_INT: vt_buf_printf(b, "%" PRId64, v->v.i); break;
    case FX_T_UINT: vt_buf_printf(b, "%" PRIu64, v->v.u); break;
    case FX_T_BOOL: vt_buf_append(b, v->v.b ? "true" : "false", v->v.b ? 4 : 5); break;
    case FX_T_TIME:
        n = vt_fmt_rfc3339nano(tmp, v->v.i);
        vt_buf_append(b, tmp, n);
        break;
    case FX_T_STRING: csv_str(b, v->v.s.ptr, v->v.s.len, delim); break;
    default: break; /* null: empty */
    }
}

static bool same_schema(const fx_csv *w, const fx_table *t)
{
    if (!w->last || w->nlast != t->ncols)
        return false;
    for (size_t i = 0; i < t->ncols; i++) {
        const fx_col *a = &w->last[i], *c = &t->cols[i];
        if (a->type != c->type || a->key != c->key || strcmp(a->label, c->label) != 0)
            return false;
    }
    return true;
}

static bool wants_default(const flux_exec_options *o)
{
    for (unsigned i = 0; i < o->nann; i++)
        if (o->ann[i] == FLUX_ANN_DEFAULT)
            return true;
    return false;
}

static void write_block_head(fx_csv *w, const fx_table *t)
{
    vt_buf *b = &w->buf;
    char d = w->o->delimiter;
    for (unsigned a = 0; a < w->o->nann; a++) {
        switch (w->o->ann[a]) {
        case FLUX_ANN_GROUP:
            vt_buf_printf(b, "#group%cfalse%cfalse", d, d);
            for (size_t i = 0; i < t->ncols; i++)
                vt_buf_printf(b, "%c%s", d, t->cols[i].key ? "true" : "false");
            break;
        case FLUX_ANN_DATATYPE:
            vt_buf_printf(b, "#datatype%cstring%clong", d, d);
            for (size_t i = 0; i < t->ncols; i++)
                vt_buf_printf(b, "%c%s", d, fx_csv_datatype((fx_type)t->cols[i].type));
            break;
        case FLUX_ANN_DEFAULT:
            vt_buf_printf(b, "#default%c", d);
            csv_str(b, w->name, strlen(w->name), d);
            vt_buf_putc(b, (uint8_t)d);
            for (size_t i = 0; i < t->ncols; i++)
                vt_buf_putc(b, (uint8_t)d);
            break;
        }
        vt_buf_append(b, "\r\n", 2);
    }
    if (w->o->header) {
        vt_buf_printf(b, "%cresult%ctable", d, d);
        for (size_t i = 0; i < t->ncols; i++) {
            vt_buf_putc(b, (uint8_t)d);
            csv_str(b, t->cols[i].label, strlen(t->cols[i].label), d);
        }
        vt_buf_append(b, "\r\n", 2);
    }
}

bool fx_csv_table(fx_csv *w, const fx_table *t)
{
    if (t->nrows == 0)
        return true;
    vt_buf *b = &w->buf;
    char d = w->o->delimiter;
    if (!same_schema(w, t)) {
        if (w->ntables > 0)
            vt_buf_append(b, "\r\n", 2);
        write_block_head(w, t);
        free(w->last);
        w->last = malloc((t->ncols ? t->ncols : 1) * sizeof *w->last);
        if (!w->last)
            return false;
        memcpy(w->last, t->cols, t->ncols * sizeof *w->last);
        w->nlast = t->ncols;
    }
    bool dflt = wants_default(w->o);
    size_t id = w->ntables++;
    for (size_t r = 0; r < t->nrows; r++) {
        vt_buf_putc(b, (uint8_t)d);
        if (!dflt)
            csv_str(b, w->name, strlen(w->name), d);
        vt_buf_printf(b, "%c%zu", d, id);
        const fx_val *row = &t->rows[r * t->ncols];
        for (size_t i = 0; i < t->ncols; i++) {
            vt_buf_putc(b, (uint8_t)d);
            csv_val(b, &row[i], d);
        }
        vt_buf_append(b, "\r\n", 2);
    }
    return !b->oom;
}

void fx_csv_finish(fx_csv *w, vt_buf *out)
{
    if (w->ntables == 0)
        return;
    vt_buf_append(out, w->buf.data, w->buf.len);
    vt_buf_append(out, "\r\n", 2);
}
