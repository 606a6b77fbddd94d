/*
 * ingest/lineproto.h — InfluxDB line protocol parser.
 *
 * Implements the whole syntax (measurement, tag set, field set, optional timestamp; escapes;
 * quoted string fields; float, integer `i`, unsigned `u`, boolean spellings; comments `#`;
 * LF and CRLF line ends; precisions; a default time for lines without one) with the stricter
 * rules of the line-protocol v2 proposal that the conformance corpus follows (e.g. invalid
 * UTF-8 is an error).
 *
 * Usage:
 *     lp_parser *p = lp_parser_new(&opts);
 *     lp_parser_reset(p, body, len);
 *     vt_point pt; lp_error e; int r;
 *     while ((r = lp_parser_next(p, &pt, &e)) != LP_END) {
 *         if (r == LP_POINT) use(&pt); else report(&e);   // r == LP_ERROR: that line is skipped
 *     }
 *
 * Ownership: the point's strings, tags and fields live in the parser's scratch storage and stay
 * valid until the next lp_parser_next/lp_parser_reset/lp_parser_free. The body is not copied and
 * must outlive the points. No allocation per point once the scratch storage has grown to fit the
 * largest line.
 */
#ifndef INGEST_LINEPROTO_H
#define INGEST_LINEPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/point.h"

typedef enum lp_precision {
    LP_PRECISION_NS = 0,
    LP_PRECISION_US,
    LP_PRECISION_MS,
    LP_PRECISION_S,
    LP_PRECISION_M,
    LP_PRECISION_H,
} lp_precision;

/* Parses "ns", "n", "u", "us", "µs", "ms", "s", "m", "h" (and the corpus' "1ns", "1µs", ...).
 * An empty or NULL string means ns. Returns -1 on an unknown spelling. */
int lp_precision_parse(const char *s, lp_precision *out);
/* Nanoseconds per unit of p. */
int64_t lp_precision_ns(lp_precision p);

typedef struct lp_limits {
    size_t max_line_bytes;  /* default 1 MiB   */
    size_t max_tags;        /* default 256     */
    size_t max_fields;      /* default 1024    */
    size_t max_body_bytes;  /* default 256 MiB (checked by lp_parser_reset) */
} lp_limits;

typedef struct lp_options {
    lp_precision precision;
    int64_t default_time; /* ns; used for lines without a timestamp */
    lp_limits limits;     /* zero members take the defaults */
} lp_options;

typedef struct lp_error {
    size_t line;   /* 1-based line number in the body */
    size_t column; /* 1-based byte column in that line */
    char msg[256]; /* what is wrong, e.g. "invalid field value" */
    const char *line_start; /* the offending line (not NUL-terminated) */
    size_t line_len;
} lp_error;

enum { LP_END = 0, LP_POINT = 1, LP_ERROR = -1 };

typedef struct lp_parser lp_parser;

/* Returns NULL only when out of memory. */
lp_parser *lp_parser_new(const lp_options *opts);
void lp_parser_free(lp_parser *p);
/* Replaces the options of p (as lp_parser_new takes them; NULL = defaults), keeping its scratch
 * storage, so one parser can serve many bodies with different precisions and default times.
 * The parser then needs an lp_parser_reset before lp_parser_next. */
void lp_parser_set_options(lp_parser *p, const lp_options *opts);
/* Starts parsing a new body. Returns VT_ELIMIT when len exceeds max_body_bytes (then every
 * lp_parser_next returns LP_END). */
vt_rc lp_parser_reset(lp_parser *p, const char *body, size_t len);
/* Parses the next point: LP_POINT (out filled), LP_ERROR (err filled; the parser has moved on
 * to the next line), or LP_END. Blank lines and comments are skipped. */
int lp_parser_next(lp_parser *p, vt_point *out, lp_error *err);
/* Byte range of the line that produced the last point or error (for copying accepted lines). */
void lp_parser_last_line(const lp_parser *p, const char **start, size_t *len);

/* Writes a point as canonical line protocol (escaped, explicit ns timestamp, '\n' ended) into
 * out (a vt_buf*). Used to forward points whose original line lacked a timestamp. */
struct vt_buf;
void lp_write_point(struct vt_buf *out, const vt_point *pt);

/* Added by the lp module (not part of the original contract): */

/* Writes the shortest of %.15g/%.16g/%.17g that reads back to the same double into out
 * (NUL-terminated); returns its length. Used by lp_write_point and `volta lp parse`. */
size_t lp_format_float(char out[32], double v);
/* Same measurement, tags, fields (types and values; floats bit for bit) and time. */
bool lp_point_equal(const vt_point *a, const vt_point *b);

/* Series-part cache support (added by perf2, for the write path's series-key cache).
 *
 * The series part of a line is its bytes from the measurement up to the first space that is
 * not preceded by a backslash: `measurement,tag=v,...` exactly as written, before unescaping
 * and sorting. Everything the parser derives from it (the unescaped measurement and the sorted,
 * unescaped tags) depends on those bytes alone, so a caller may remember it per spelling.
 *
 * lp_parser_next_cached works like lp_parser_next and returns the same points, but first looks
 * the series part up with lookup(ctx, raw, len, &series). When lookup returns true it must have
 * filled series->measurement, ->tags and ->ntags with what an earlier call produced for the same
 * bytes; the parser then skips the measurement and tags and parses fields and timestamp only,
 * and out's measurement/tags are series'. On return, for LP_POINT: span->raw/len is the series
 * part (len 0: not cacheable) and span->hit whether lookup supplied it. After a miss
 * (LP_POINT, len > 0, !hit) the caller may remember raw[0..len) -> out's measurement and tags
 * (copied: they live in the parser's scratch storage). */
typedef bool (*lp_series_lookup)(void *ctx, const char *raw, size_t len, vt_point *series);
/* Optional, for lp_parser_next_cached (same ctx): guess(ctx, line, avail) returns n > 0 when
 * line[0..n) (n < avail; avail counts the bytes from line to the end of the body, as the
 * line's end is not looked for yet) equals, byte for byte, a series part that an earlier
 * LP_POINT reported in its span, else 0. When line[n] is then a space, the parser takes
 * line[0..n) as the series part without scanning for it: such a part has no newline, no
 * unescaped space and does not end with a backslash, so the scan would end at line[n] too.
 * The lookup that follows gets exactly those bytes. */
typedef size_t (*lp_series_guess)(void *ctx, const char *line, size_t avail);
void lp_parser_set_guess(lp_parser *p, lp_series_guess guess);
typedef struct lp_series_span {
    const char *raw;
    size_t len;
    bool hit;
} lp_series_span;
int lp_parser_next_cached(lp_parser *p, vt_point *out, lp_error *err, lp_series_lookup lookup,
                          void *ctx, lp_series_span *span);

#endif
