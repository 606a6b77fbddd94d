/*
 * query/result.h — writes query results in InfluxDB 1.x's response formats.
 *
 * The executor describes results as a stream of events, and the writer turns them into bytes:
 *
 *     qr_begin
 *       qr_statement_begin(id)                    one per statement, in order
 *         qr_series_begin(name, tags, columns)    zero or more series
 *           qr_row(time, values)                  zero or more rows
 *         qr_series_end
 *       qr_statement_end        or   qr_statement_error(id, message)
 *     qr_end
 *
 * JSON (InfluxDB 1.x, Go encoding/json byte for byte):
 *     {"results":[{"statement_id":0,"series":[{"name":"m","tags":{"k":"v"},
 *       "columns":["time","value"],"values":[["2024-01-01T00:00:00Z",1.5]]}]}]}
 *   - a statement without series is {"statement_id":N}; an error {"statement_id":N,"error":"..."}
 *   - "name" is omitted when empty (SHOW SERIES), "tags" when there are none
 *   - time: RFC3339 with trimmed nanoseconds in UTC (or the tz() location's offset), or an
 *     integer in the `epoch` unit (ns, u/µ, ms, s, m, h; truncated towards zero like Go's
 *     integer division)
 *   - floats: Go's shortest round-trip text (exponent form below 1e-6 and from 1e21)
 *   - strings: Go's escaping (<, >, & as \u003c..., invalid UTF-8 as \ufffd)
 * Chunked JSON (chunked=true): each chunk of at most chunk_size rows of a series is a whole
 * response object on its own line; a series continued in the next chunk carries "partial":true.
 *
 * CSV (Accept: application/csv): a header `name,tags,time,<columns>` whenever the columns
 * change, then `<name>,<k=v,...>,<time>,<values>` per row; time in the epoch unit, nanoseconds
 * by default; statements without rows write nothing; errors write `error\n<msg>`? — see
 * qr_statement_error. Values quoted when they contain a comma, quote or newline.
 *
 * The writer appends to a vt_buf; when flush_cb is set, it is called with the bytes whenever a
 * chunk (chunked JSON) or about 64 KiB (other modes) is ready, so large results stream.
 */
#ifndef QUERY_RESULT_H
#define QUERY_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/point.h"
#include "common/timefmt.h"

struct vt_tz;

typedef enum qr_format {
    QR_JSON = 0,
    QR_CSV,
} qr_format;

/* epoch units: divisor of nanoseconds; 0 = RFC3339 text */
typedef struct qr_options {
    qr_format format;
    int64_t epoch_div; /* 0: RFC3339; 1: ns; 1000: u; 1000000: ms; ... */
    bool chunked;
    size_t chunk_size; /* rows per chunk when chunked (default 10000) */
    /* called with output ready to send; returns false to abort (client gone) */
    bool (*flush_cb)(void *ctx, const uint8_t *data, size_t len);
    void *flush_ctx;
} qr_options;

typedef struct qr_writer {
    qr_options opt;
    vt_buf out;
    /* state */
    int stmt_id;
    bool in_stmt, stmt_has_series, in_series, series_has_rows, any_result;
    size_t ncols;
    size_t rows_in_chunk;
    const struct vt_tz *tz; /* the current statement's tz() location (NULL = UTC) */
    vt_fmt_time_memo tmemo; /* RFC 3339 times: the last date printed */
    /* current series, kept to re-open it in the next chunk */
    vt_buf series_head; /* JSON: {"name":..,"tags":..,"columns":[..] without the values */
    vt_buf csv_cols;    /* CSV: the current header line; CSV: name,tags prefix of rows */
    vt_buf csv_prefix;
    bool aborted;
    bool keep_empty;
} qr_writer;

/* Parses InfluxDB's epoch parameter ("", "ns", "n", "u", "µ", "ms", "s", "m", "h"); false when
 * unknown. */
bool qr_parse_epoch(const char *s, int64_t *div);

void qr_init(qr_writer *w, const qr_options *opt);
void qr_free(qr_writer *w);

void qr_begin(qr_writer *w);
void qr_statement_begin(qr_writer *w, int id);
/* The location used for time values of the current statement (NULL = UTC). */
void qr_set_tz(qr_writer *w, const struct vt_tz *tz);
/* columns[0] is "time" when the rows carry a time; has_time tells qr_row how to read them. */
void qr_series_begin(qr_writer *w, const char *name, const vt_tag *tags, size_t ntags,
                     const char *const *columns, size_t ncols);
/* One row: time (when the series has a time column: columns[0] == "time") then ncols-1 (or
 * ncols) values; VT_TYPE_NONE is null. */
void qr_row(qr_writer *w, bool has_time, int64_t time, const vt_value *vals, size_t n);
void qr_series_end(qr_writer *w);
/* Prints the current series even when it has no rows (SHOW DATABASES does). */
void qr_series_keep_empty(qr_writer *w);
void qr_statement_end(qr_writer *w);
/* Ends the current statement (if open) with an error. */
void qr_statement_error(qr_writer *w, int id, const char *msg);
void qr_end(qr_writer *w);

/* Go encoding/json string literal (quotes included). */
void qr_json_str(vt_buf *b, const char *s, size_t n);
/* One value as JSON (null, number, string, bool). */
void qr_json_value(vt_buf *b, const vt_value *v);

/* Re-indents compact JSON as Go's json.MarshalIndent(v, "", "    ") prints it (InfluxDB's
 * pretty=true), keeping every scalar's text as it is. false on malformed input. */
bool qr_json_pretty(const uint8_t *in, size_t n, vt_buf *out);

/* True when the writer was told to stop by flush_cb. */
static inline bool qr_aborted(const qr_writer *w) { return w->aborted; }

#endif
