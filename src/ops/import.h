/*
 * ops/import.h — streams line protocol or the runbook's JSON document (ops/export.h) into a
 * writer, in batches, in bounded memory.
 *
 * Input: any byte stream (a file, stdin, ...) read through import_read_fn; gzip'ed input is
 * recognised by its magic bytes (1f 8b) and inflated on the fly (concatenated members too).
 * The format is detected from the first byte that is not white space ('{' = JSON, else line
 * protocol) unless given.
 *
 * Line protocol: entries are passed through verbatim (a string field may span lines: the scanner
 * knows the quotes); comments and blank lines are dropped.
 *
 * JSON: {"data":[{...},...],"data_count":N} in either key order, plus the optional
 * "field_types" of export.h (used only when it comes before "data"); other top-level keys are
 * skipped. Each element becomes one point:
 *   "_measurement" (string, required), "_time" (RFC3339 string or integer ns, required),
 *   "tag_<k>" (a string; numbers and booleans are taken as their text), "field_<k>" (typed; null
 *   = absent), other keys ignored. At least one field is required.
 * Number typing: the type in field_types when known, else the type the target already has
 * (import_options.field_type); otherwise a number with '.', 'e' or 'E' is
 * a float, any other an integer (written with `i`), or unsigned (`u`) when above the int64
 * range. (export writes floats always with a '.' or exponent: 1.0, never Go's 1.)
 * The document is read by an incremental tokenizer (jtok below): memory holds one element.
 * At the end data_count must equal the number of elements read: a mismatch or a missing
 * data_count is an error (VT_EPARSE), reported after everything read has been written.
 */
#ifndef OPS_IMPORT_H
#define OPS_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/error.h"
#include "core/node.h"
#include "ops/export.h"

/* Reads up to cap bytes into buf: the count, 0 at the end, -1 on error (errno set). */
typedef ssize_t (*import_read_fn)(void *ctx, uint8_t *buf, size_t cap);

/* ---- the incremental JSON tokenizer ----
 * Error messages name the byte offset (0-based, of the decompressed input), line and column
 * (1-based): "JSON: invalid number at byte 17 (line 2, column 5)". */
typedef enum jtok_kind {
    JT_ERROR = -1,
    JT_END = 0,
    JT_LBRACE,
    JT_RBRACE,
    JT_LBRACKET,
    JT_RBRACKET,
    JT_COLON,
    JT_COMMA,
    JT_STRING, /* text: the decoded string (UTF-8), NUL-terminated; len may include NULs */
    JT_NUMBER, /* text: the number as written; is_float when it has '.', 'e' or 'E' */
    JT_TRUE,
    JT_FALSE,
    JT_NULL,
} jtok_kind;

#define JTOK_MAX_STRING (1u << 20) /* longest string accepted (1 MiB) */
#define JTOK_BUF 65536

typedef struct jtok {
    import_read_fn read;
    void *ctx;
    uint8_t buf[JTOK_BUF];
    size_t pos, len;
    bool eof;
    uint64_t offset;                        /* of buf[pos] in the input */
    uint64_t line, col;                     /* of buf[pos] */
    uint64_t tok_offset, tok_line, tok_col; /* where the last token started */
    vt_buf text;
    bool is_float;
    vt_err err;
} jtok;

void jtok_init(jtok *t, import_read_fn read, void *ctx);
void jtok_free(jtok *t);
/* The next token (JT_ERROR: t->err says what and where; every later call returns JT_ERROR). */
jtok_kind jtok_next(jtok *t);

/* ---- the import ---- */

/* Writes one batch of line protocol (npoints entries). Returns VT_OK, or VT_EPARSE/VT_ETYPE
 * when some lines were rejected (*accepted = how many were written; err says why): the import
 * goes on; any other code stops it. */
typedef vt_rc (*import_write_fn)(void *ctx, const char *lp, size_t len, size_t npoints,
                                 size_t *accepted, vt_err *err);

typedef struct import_stats {
    uint64_t points_read;    /* LP entries / JSON elements */
    uint64_t points_written; /* accepted by the writer */
    uint64_t points_rejected;
    uint64_t batches;
    uint64_t bytes_in; /* input bytes (compressed when gzip) */
    bool gzip;
    ops_format format;
    bool has_data_count;
    uint64_t data_count;
    char first_rejection[VT_ERR_MSG_MAX];
} import_stats;

typedef struct import_options {
    ops_format format;   /* AUTO = detect */
    size_t batch_points; /* 0 = 1000 */
    import_write_fn write;
    void *write_ctx;
    /* The type of a field the document leaves untyped (not in its field_types), when the
     * target knows it (may be NULL; VT_TYPE_NONE = unknown): an integral JSON number for a float
     * field, as Go writes 1.0, then imports as a float. Asked once per (measurement, field). */
    vt_type (*field_type)(void *ctx, const char *measurement, const char *field);
    void *field_type_ctx;
    /* called after each batch (may be NULL) */
    void (*progress)(void *ctx, const import_stats *st);
    void *progress_ctx;
} import_options;

/* Reads everything from read and writes it in batches. Returns VT_OK when the input was read
 * whole, every point was accepted and (JSON) data_count matched; VT_EPARSE for malformed input
 * (err names byte offset / line), rejected points or a data_count mismatch ("data_count is 5
 * but data holds 4 objects"); the writer's error when it stopped the import. st (required) says
 * what was read and written in every case. */
vt_rc import_run(import_read_fn read, void *rctx, const import_options *o, import_stats *st,
                 vt_err *err);

/* A writer into a node (in-process): node_write(db, rp, ns precision). ctx = import_node_ctx. */
typedef struct import_node_ctx {
    node *node;
    const char *db;
    const char *rp;
} import_node_ctx;
vt_rc import_write_node(void *ctx, const char *lp, size_t len, size_t npoints, size_t *accepted,
                        vt_err *err);
/* import_options.field_type for an import_node_ctx: the type stored in the target store. */
vt_type import_node_field_type(void *ctx, const char *measurement, const char *field);

/* import_read_fn over a FILE* (ctx). */
ssize_t import_read_file(void *ctx, uint8_t *buf, size_t cap);

#endif
