/*
 * ops/import.c — the streaming import (formats in import.h and export.h).
 *
 * NOTES ON THE DESIGN
 *
 * 1. Layers: the caller's reader -> in_stream (64 KiB raw buffer; inflate when the first bytes
 *    are gzip's magic 1f 8b; a push-back buffer for the bytes format detection looked at) ->
 *    either the JSON tokenizer (jtok, its own 64 KiB buffer) or the line-protocol scanner.
 *    Nothing holds more than one element / one entry beyond these buffers and the current
 *    batch, so memory does not grow with the input.
 *
 * 2. JSON: a pull tokenizer plus a recursive-descent reader that knows only the document's
 *    shape (top-level object; "data" array of flat objects; "data_count" integer;
 *    "field_types" object of objects of strings; anything else skipped with a bracket stack
 *    bounded at JT_MAX_DEPTH). An element's keys and values go into one byte buffer (offsets,
 *    since it may move while it grows), then become a vt_point written with lp_write_point
 *    (the parser's own escaping rules) into the batch.
 *
 * 3. Line protocol: entries are cut without parsing: the scanner tracks the three sections of
 *    a line (series, fields, timestamp), backslash escapes, and double quotes in the field
 *    section only, so a string field holding a newline stays one entry. Validation is the
 *    writer's (node_write or the server's /write), which reports rejected lines.
 *
 * 4. Batches: batch_points entries per write; after a writer reports rejected lines the import
 *    goes on and counts them; the first message is kept (with the input line / element index
 *    where the batch began). Any other writer error stops the import.
 */
#include "ops/import.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "common/timefmt.h"
#include "ingest/lineproto.h"

#define IN_RAW 65536
#define JT_MAX_DEPTH 256
#define LP_MAX_ENTRY (16u << 20)

/* ---- input layer (note 1) ---- */

typedef struct in_stream {
    import_read_fn read;
    void *ctx;
    uint8_t raw[IN_RAW];
    size_t raw_pos, raw_len;
    bool raw_eof;
    bool gzip, gz_init, member_open;
    z_stream zs;
    uint8_t *pb; /* push-back (decoded bytes) */
    size_t pb_pos, pb_len;
    uint64_t bytes_in;
    bool failed;
    vt_err err;
} in_stream;

static bool in_fill_raw(in_stream *in)
{
    if (in->raw_eof)
        return true;
    ssize_t n = in->read(in->ctx, in->raw, sizeof in->raw);
    if (n < 0) {
        in->failed = true;
        vt_err_set(&in->err, VT_EIO, "reading the input: %s", strerror(errno));
        return false;
    }
    in->raw_pos = 0;
    in->raw_len = (size_t)n;
    in->bytes_in += (uint64_t)n;
    if (n == 0)
        in->raw_eof = true;
    return true;
}

static ssize_t in_read(void *arg, uint8_t *buf, size_t cap)
{
    in_stream *in = arg;
    if (in->failed)
        return -1;
    if (in->pb_pos < in->pb_len) {
        size_t k = in->pb_len - in->pb_pos < cap ? in->pb_len - in->pb_pos : cap;
        memcpy(buf, in->pb + in->pb_pos, k);
        in->pb_pos += k;
        return (ssize_t)k;
    }
    if (!in->gzip) {
        if (in->raw_pos == in->raw_len && !in_fill_raw(in))
            return -1;
        size_t k = in->raw_len - in->raw_pos < cap ? in->raw_len - in->raw_pos : cap;
        memcpy(buf, in->raw + in->raw_pos, k);
        in->raw_pos += k;
        return (ssize_t)k;
    }
    if (cap > UINT32_MAX)
        cap = UINT32_MAX;
    for (;;) {
        if (in->raw_pos == in->raw_len) {
            if (!in_fill_raw(in))
                return -1;
            if (in->raw_len == 0) {
                if (in->member_open) {
                    in->failed = true;
                    vt_err_set(&in->err, VT_EPARSE,
                               "gzip: the input ends inside a member "
                               "(truncated file)");
                    return -1;
                }
                return 0;
            }
        }
        if (!in->member_open) {
            inflateReset(&in->zs);
            in->member_open = true;
        }
        in->zs.next_in = in->raw + in->raw_pos;
        in->zs.avail_in = (uInt)(in->raw_len - in->raw_pos);
        in->zs.next_out = buf;
        in->zs.avail_out = (uInt)cap;
        int r = inflate(&in->zs, Z_NO_FLUSH);
        in->raw_pos = in->raw_len - in->zs.avail_in;
        size_t produced = cap - in->zs.avail_out;
        if (r == Z_STREAM_END) {
            in->member_open = false;
        } else if (r != Z_OK && r != Z_BUF_ERROR) {
            in->failed = true;
            vt_err_set(&in->err, VT_EPARSE, "gzip: corrupt data (%s) near compressed byte %" PRIu64,
                       in->zs.msg ? in->zs.msg : "inflate failed",
                       in->bytes_in - (in->raw_len - in->raw_pos));
            return -1;
        }
        if (produced)
            return (ssize_t)produced;
    }
}

ssize_t import_read_file(void *ctx, uint8_t *buf, size_t cap)
{
    FILE *f = ctx;
    size_t n = fread(buf, 1, cap, f);
    if (n == 0 && ferror(f)) {
        if (!errno)
            errno = EIO;
        return -1;
    }
    return (ssize_t)n;
}

/* ---- the tokenizer ---- */

void jtok_init(jtok *t, import_read_fn read, void *ctx)
{
    memset(t, 0, offsetof(jtok, buf));
    t->read = read;
    t->ctx = ctx;
    t->pos = t->len = 0;
    t->eof = false;
    t->offset = 0;
    t->line = t->col = 1;
    t->tok_offset = 0;
    t->tok_line = t->tok_col = 1;
    vt_buf_init(&t->text);
    t->is_float = false;
    vt_err_clear(&t->err);
}

void jtok_free(jtok *t)
{
    vt_buf_free(&t->text);
}

static jtok_kind jt_fail_at(jtok *t, uint64_t off, uint64_t line, uint64_t col, const char *fmt,
                            ...) __attribute__((format(printf, 5, 6)));
static jtok_kind jt_fail_at(jtok *t, uint64_t off, uint64_t line, uint64_t col, const char *fmt,
                            ...)
{
    if (t->err.rc != VT_OK)
        return JT_ERROR;
    char what[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    vt_err_set(&t->err, VT_EPARSE,
               "JSON: %s at byte %" PRIu64 " (line %" PRIu64 ", column %" PRIu64 ")", what, off,
               line, col);
    return JT_ERROR;
}
#define jt_fail(t, ...) jt_fail_at(t, (t)->offset, (t)->line, (t)->col, __VA_ARGS__)

/* The next byte, -1 at the end, -2 on a read error. */
static int jt_peek(jtok *t)
{
    if (t->pos == t->len) {
        if (t->eof)
            return -1;
        ssize_t n = t->read(t->ctx, t->buf, sizeof t->buf);
        if (n < 0) {
            jt_fail(t, "read error (%s)", strerror(errno));
            return -2;
        }
        t->pos = 0;
        t->len = (size_t)n;
        if (n == 0) {
            t->eof = true;
            return -1;
        }
    }
    return t->buf[t->pos];
}

static void jt_adv(jtok *t)
{
    if (t->buf[t->pos] == '\n') {
        t->line++;
        t->col = 1;
    } else {
        t->col++;
    }
    t->offset++;
    t->pos++;
}

static void put_utf8(vt_buf *b, uint32_t cp)
{
    uint8_t o[4];
    size_t n;
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        o[0] = (uint8_t)(0xC0 | (cp >> 6));
        o[1] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | (cp >> 12));
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        o[0] = (uint8_t)(0xF0 | (cp >> 18));
        o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
        o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        o[3] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 4;
    }
    vt_buf_append(b, o, n);
}

/* Reads 4 hex digits after "\u"; -1 on error (reported). */
static long jt_hex4(jtok *t)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int c = jt_peek(t);
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) {
            jt_fail(t, "invalid \\u escape in string");
            return -1;
        }
        jt_adv(t);
        v = v * 16 + d;
    }
    return v;
}

static jtok_kind jt_string(jtok *t)
{
    jt_adv(t); /* the quote */
    for (;;) {
        int c = jt_peek(t);
        if (c == -2)
            return JT_ERROR;
        if (c == -1)
            return jt_fail_at(t, t->tok_offset, t->tok_line, t->tok_col, "unterminated string");
        if (t->text.len > JTOK_MAX_STRING)
            return jt_fail_at(t, t->tok_offset, t->tok_line, t->tok_col,
                              "string longer than %u bytes", JTOK_MAX_STRING);
        if (c == '"') {
            jt_adv(t);
            break;
        }
        if (c < 0x20)
            return jt_fail(t, "control character 0x%02x in string", c);
        if (c != '\\') {
            vt_buf_putc(&t->text, (uint8_t)c);
            jt_adv(t);
            continue;
        }
        jt_adv(t);
        int e = jt_peek(t);
        if (e < 0)
            return e == -2 ? JT_ERROR : jt_fail(t, "unterminated string");
        jt_adv(t);
        switch (e) {
        case '"': vt_buf_putc(&t->text, '"'); break;
        case '\\': vt_buf_putc(&t->text, '\\'); break;
        case '/': vt_buf_putc(&t->text, '/'); break;
        case 'b': vt_buf_putc(&t->text, '\b'); break;
        case 'f': vt_buf_putc(&t->text, '\f'); break;
        case 'n': vt_buf_putc(&t->text, '\n'); break;
        case 'r': vt_buf_putc(&t->text, '\r'); break;
        case 't': vt_buf_putc(&t->text, '\t'); break;
        case 'u': {
            long cp = jt_hex4(t);
            if (cp < 0)
                return JT_ERROR;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                /* a high surrogate: a low one should follow */
                if (jt_peek(t) == '\\') {
                    jt_adv(t);
                    if (jt_peek(t) != 'u')
                        return jt_fail(t, "invalid escape after a \\u surrogate");
                    jt_adv(t);
                    long lo = jt_hex4(t);
                    if (lo < 0)
                        return JT_ERROR;
                    if (lo >= 0xDC00 && lo <= 0xDFFF) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    } else {
                        put_utf8(&t->text, 0xFFFD);
                        cp = lo;
                    }
                } else {
                    cp = 0xFFFD;
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                cp = 0xFFFD;
            }
            put_utf8(&t->text, (uint32_t)cp);
            break;
        }
        default: return jt_fail(t, "invalid escape '\\%c' in string", e);
        }
    }
    return JT_STRING;
}

/* JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool number_valid(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-')
        i++;
    if (i >= n)
        return false;
    if (s[i] == '0') {
        i++;
    } else if (s[i] >= '1' && s[i] <= '9') {
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    } else {
        return false;
    }
    if (i < n && s[i] == '.') {
        i++;
        size_t d = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == d)
            return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t d = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == d)
            return false;
    }
    return i == n;
}

static jtok_kind jt_number(jtok *t)
{
    t->is_float = false;
    for (;;) {
        int c = jt_peek(t);
        if (c == -2)
            return JT_ERROR;
        if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'))
            break;
        if (c == '.' || c == 'e' || c == 'E')
            t->is_float = true;
        if (t->text.len >= 400)
            return jt_fail_at(t, t->tok_offset, t->tok_line, t->tok_col, "number too long");
        vt_buf_putc(&t->text, (uint8_t)c);
        jt_adv(t);
    }
    if (!number_valid((const char *)t->text.data, t->text.len))
        return jt_fail_at(t, t->tok_offset, t->tok_line, t->tok_col, "invalid number '%.*s'",
                          (int)t->text.len, (const char *)t->text.data);
    return JT_NUMBER;
}

static jtok_kind jt_literal(jtok *t, const char *word, jtok_kind kind)
{
    for (const char *w = word; *w; w++) {
        int c = jt_peek(t);
        if (c == -2)
            return JT_ERROR;
        if (c != *w)
            return jt_fail_at(t, t->tok_offset, t->tok_line, t->tok_col,
                              "invalid literal (expected %s)", word);
        jt_adv(t);
    }
    vt_buf_append(&t->text, word, strlen(word));
    return kind;
}

jtok_kind jtok_next(jtok *t)
{
    if (t->err.rc != VT_OK)
        return JT_ERROR;
    vt_buf_reset(&t->text);
    int c;
    for (;;) {
        c = jt_peek(t);
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            jt_adv(t);
        else
            break;
    }
    t->tok_offset = t->offset;
    t->tok_line = t->line;
    t->tok_col = t->col;
    jtok_kind k;
    switch (c) {
    case -2: return JT_ERROR;
    case -1: return JT_END;
    case '{': jt_adv(t); return JT_LBRACE;
    case '}': jt_adv(t); return JT_RBRACE;
    case '[': jt_adv(t); return JT_LBRACKET;
    case ']': jt_adv(t); return JT_RBRACKET;
    case ':': jt_adv(t); return JT_COLON;
    case ',': jt_adv(t); return JT_COMMA;
    case '"': k = jt_string(t); break;
    case 't': k = jt_literal(t, "true", JT_TRUE); break;
    case 'f': k = jt_literal(t, "false", JT_FALSE); break;
    case 'n': k = jt_literal(t, "null", JT_NULL); break;
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            k = jt_number(t);
            break;
        }
        if (c >= 0x20 && c < 0x7F)
            return jt_fail(t, "unexpected character '%c'", c);
        return jt_fail(t, "unexpected byte 0x%02x", c);
    }
    if (k != JT_ERROR) {
        vt_buf_cstr(&t->text);
        if (t->text.oom)
            return jt_fail(t, "out of memory");
    }
    return k;
}

/* ---- the import ---- */

typedef struct ftype {
    char *key; /* measurement \0 field */
    size_t len;
    vt_type type;
} ftype;

typedef struct elem_entry {
    size_t koff, klen, voff, vlen;
    jtok_kind kind;
    bool is_float;
} elem_entry;

typedef struct imp {
    in_stream *in;
    const import_options *o;
    import_stats *st;
    size_t batch_points;
    vt_buf batch;
    size_t batch_n;
    uint64_t batch_first; /* LP: input line; JSON: element index (1-based) */
    vt_err err;
    /* JSON */
    jtok *t;
    ftype *ftypes;
    size_t nftypes, ftcap;
    vt_buf estr;
    elem_entry *ents;
    size_t nents, entcap;
    vt_tag *tags;
    vt_field *fields;
    size_t tfcap;
    vt_buf key;
} imp;

static vt_rc flush_batch(imp *x)
{
    if (x->batch_n == 0)
        return VT_OK;
    if (x->batch.oom)
        return vt_err_set(&x->err, VT_ENOMEM, "out of memory");
    size_t accepted = 0;
    vt_err e;
    vt_err_clear(&e);
    vt_rc rc = x->o->write(x->o->write_ctx, (const char *)x->batch.data, x->batch.len, x->batch_n,
                           &accepted, &e);
    x->st->batches++;
    if (rc == VT_OK) {
        x->st->points_written += x->batch_n;
    } else if (rc == VT_EPARSE || rc == VT_ETYPE) {
        if (accepted > x->batch_n)
            accepted = x->batch_n;
        x->st->points_written += accepted;
        x->st->points_rejected += x->batch_n - accepted;
        if (!x->st->first_rejection[0])
            snprintf(x->st->first_rejection, sizeof x->st->first_rejection,
                     "batch %" PRIu64 " (from %s %" PRIu64 "): %s", x->st->batches,
                     x->st->format == OPS_FORMAT_JSON ? "element" : "input line", x->batch_first,
                     e.msg);
    } else {
        x->err = e;
        if (!x->err.msg[0])
            vt_err_set(&x->err, rc, "writing batch %" PRIu64 " failed: %s", x->st->batches,
                       vt_rc_name(rc));
        return rc;
    }
    vt_buf_reset(&x->batch);
    x->batch_n = 0;
    if (x->o->progress)
        x->o->progress(x->o->progress_ctx, x->st);
    return VT_OK;
}

/* One more entry is in x->batch. */
static vt_rc point_added(imp *x, uint64_t where)
{
    if (x->batch_n == 0)
        x->batch_first = where;
    x->batch_n++;
    x->st->points_read++;
    return x->batch_n >= x->batch_points ? flush_batch(x) : VT_OK;
}

/* ---- line protocol (note 3) ---- */

/* Length of the entry at p (through its '\n'), or 0 when it is not complete yet (more input
 * needed and not at the end). *is_point: not blank and not a comment. *lines: newlines in it. */
static size_t lp_scan(const uint8_t *p, size_t n, bool eof, bool *is_point, uint64_t *lines)
{
    size_t i = 0;
    *lines = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'))
        i++;
    bool comment = i < n && p[i] == '#';
    bool blank = i >= n || p[i] == '\n';
    int section = 0;
    bool inq = false;
    while (i < n) {
        uint8_t c = p[i];
        if (c == '\n')
            (*lines)++;
        if (comment) {
            if (c == '\n') {
                *is_point = false;
                return i + 1;
            }
            i++;
            continue;
        }
        if (c == '\\') {
            if (i + 1 >= n)
                break;
            if (p[i + 1] == '\n')
                (*lines)++;
            i += 2;
            continue;
        }
        if (inq) {
            if (c == '"')
                inq = false;
            i++;
            continue;
        }
        if (c == '\n') {
            *is_point = !blank;
            return i + 1;
        }
        if (section == 0 && c == ' ')
            section = 1;
        else if (section == 1 && c == '"')
            inq = true;
        else if (section == 1 && c == ' ')
            section = 2;
        i++;
    }
    if (!eof || n == 0)
        return 0;
    *is_point = !comment && !blank;
    for (size_t k = 0; k < n; k++) /* whitespace only: not a point */
        if (p[k] != ' ' && p[k] != '\t' && p[k] != '\r' && p[k] != '\n')
            return n;
    *is_point = false;
    return n;
}

static vt_rc import_lp(imp *x)
{
    vt_buf lb;
    vt_buf_init(&lb);
    size_t start = 0;
    bool eof = false;
    uint64_t line = 1;
    vt_rc rc = VT_OK;
    while (rc == VT_OK) {
        /* cut every complete entry */
        for (;;) {
            bool is_point = false;
            uint64_t nl = 0;
            size_t len = lp_scan(lb.data + start, lb.len - start, eof, &is_point, &nl);
            if (len == 0)
                break;
            if (is_point) {
                vt_buf_append(&x->batch, lb.data + start, len);
                if (lb.data[start + len - 1] != '\n')
                    vt_buf_putc(&x->batch, '\n');
                rc = point_added(x, line);
                if (rc != VT_OK)
                    break;
            }
            line += nl;
            start += len;
        }
        if (rc != VT_OK || eof)
            break;
        if (lb.len - start > LP_MAX_ENTRY) {
            rc = vt_err_set(&x->err, VT_ELIMIT, "line %" PRIu64 ": entry longer than %u bytes",
                            line, LP_MAX_ENTRY);
            break;
        }
        if (start > 0) {
            memmove(lb.data, lb.data + start, lb.len - start);
            lb.len -= start;
            start = 0;
        }
        if (!vt_buf_reserve(&lb, IN_RAW)) {
            rc = vt_err_set(&x->err, VT_ENOMEM, "out of memory");
            break;
        }
        ssize_t n = in_read(x->in, lb.data + lb.len, IN_RAW);
        if (n < 0) {
            x->err = x->in->err;
            rc = x->err.rc;
            break;
        }
        if (n == 0)
            eof = true;
        lb.len += (size_t)n;
    }
    vt_buf_free(&lb);
    if (rc == VT_OK)
        rc = flush_batch(x);
    return rc;
}

/* ---- JSON (note 2) ---- */

static vt_rc json_error(imp *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static vt_rc json_error(imp *x, const char *fmt, ...)
{
    jtok *t = x->t;
    if (t->err.rc != VT_OK) {
        x->err = x->in->failed ? x->in->err : t->err;
        return x->err.rc;
    }
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return vt_err_set(&x->err, VT_EPARSE,
                      "JSON: %s at byte %" PRIu64 " (line %" PRIu64 ", column %" PRIu64 ")", what,
                      t->tok_offset, t->tok_line, t->tok_col);
}

static const char *tok_name(jtok_kind k)
{
    switch (k) {
    case JT_END: return "the end of the input";
    case JT_LBRACE: return "'{'";
    case JT_RBRACE: return "'}'";
    case JT_LBRACKET: return "'['";
    case JT_RBRACKET: return "']'";
    case JT_COLON: return "':'";
    case JT_COMMA: return "','";
    case JT_STRING: return "a string";
    case JT_NUMBER: return "a number";
    case JT_TRUE:
    case JT_FALSE: return "a boolean";
    case JT_NULL: return "null";
    default: return "an error";
    }
}

static vt_rc expect(imp *x, jtok_kind want, const char *what)
{
    jtok_kind k = jtok_next(x->t);
    if (k != want)
        return json_error(x, "expected %s, found %s", what, tok_name(k));
    return VT_OK;
}

/* Skips the value whose first token is k. */
static vt_rc skip_value(imp *x, jtok_kind k)
{
    uint8_t stack[JT_MAX_DEPTH];
    size_t depth = 0;
    for (;;) {
        switch (k) {
        case JT_LBRACE:
        case JT_LBRACKET:
            if (depth == JT_MAX_DEPTH)
                return json_error(x, "nested deeper than %d", JT_MAX_DEPTH);
            stack[depth++] = k == JT_LBRACE ? '}' : ']';
            break;
        case JT_RBRACE:
        case JT_RBRACKET:
            if (depth == 0 || stack[depth - 1] != (k == JT_RBRACE ? '}' : ']'))
                return json_error(x, "unexpected %s", tok_name(k));
            depth--;
            break;
        case JT_STRING:
        case JT_NUMBER:
        case JT_TRUE:
        case JT_FALSE:
        case JT_NULL:
        case JT_COLON:
        case JT_COMMA:
            if (depth == 0 && (k == JT_COLON || k == JT_COMMA))
                return json_error(x, "expected a value, found %s", tok_name(k));
            break;
        default: return json_error(x, "expected a value, found %s", tok_name(k));
        }
        if (depth == 0)
            return VT_OK;
        k = jtok_next(x->t);
    }
}

static int ftype_cmp(const void *a, const void *b)
{
    const ftype *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static vt_type type_from_name(const char *s)
{
    static const vt_type all[] = {VT_TYPE_FLOAT, VT_TYPE_INT, VT_TYPE_UINT, VT_TYPE_BOOL,
                                  VT_TYPE_STRING};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(s, vt_type_name(all[i])) == 0)
            return all[i];
    return VT_TYPE_NONE;
}

/* "field_types": {"<m>": {"<f>": "<type>", ...}, ...} */
static vt_rc read_field_types(imp *x)
{
    vt_rc rc = expect(x, JT_LBRACE, "an object for field_types");
    if (rc != VT_OK)
        return rc;
    vt_buf m;
    vt_buf_init(&m);
    jtok_kind k = jtok_next(x->t);
    while (rc == VT_OK && k != JT_RBRACE) {
        if (k != JT_STRING) {
            rc = json_error(x, "expected a measurement name, found %s", tok_name(k));
            break;
        }
        vt_buf_reset(&m);
        vt_buf_append(&m, x->t->text.data, x->t->text.len);
        if ((rc = expect(x, JT_COLON, "':'")) != VT_OK ||
            (rc = expect(x, JT_LBRACE, "an object of field types")) != VT_OK)
            break;
        k = jtok_next(x->t);
        while (k != JT_RBRACE) {
            if (k != JT_STRING) {
                rc = json_error(x, "expected a field name, found %s", tok_name(k));
                break;
            }
            if (x->nftypes == x->ftcap) {
                size_t cap = x->ftcap ? x->ftcap * 2 : 16;
                ftype *v = realloc(x->ftypes, cap * sizeof *v);
                if (!v) {
                    rc = vt_err_set(&x->err, VT_ENOMEM, "out of memory");
                    break;
                }
                x->ftypes = v;
                x->ftcap = cap;
            }
            ftype *f = &x->ftypes[x->nftypes];
            f->len = m.len + 1 + x->t->text.len;
            if (!(f->key = malloc(f->len))) {
                rc = vt_err_set(&x->err, VT_ENOMEM, "out of memory");
                break;
            }
            if (m.len)
                memcpy(f->key, m.data, m.len);
            f->key[m.len] = '\0';
            memcpy(f->key + m.len + 1, x->t->text.data, x->t->text.len);
            x->nftypes++;
            if ((rc = expect(x, JT_COLON, "':'")) != VT_OK ||
                (rc = expect(x, JT_STRING, "a type name")) != VT_OK)
                break;
            f->type = type_from_name((const char *)x->t->text.data);
            k = jtok_next(x->t);
            if (k == JT_COMMA)
                k = jtok_next(x->t);
            else if (k != JT_RBRACE)
                rc = json_error(x, "expected ',' or '}', found %s", tok_name(k));
        }
        if (rc != VT_OK)
            break;
        k = jtok_next(x->t);
        if (k == JT_COMMA)
            k = jtok_next(x->t);
        else if (k != JT_RBRACE)
            rc = json_error(x, "expected ',' or '}', found %s", tok_name(k));
    }
    vt_buf_free(&m);
    if (rc == VT_OK && x->nftypes > 1)
        qsort(x->ftypes, x->nftypes, sizeof *x->ftypes, ftype_cmp);
    return rc;
}

static vt_type lookup_type(imp *x, vt_str m, vt_str f)
{
    if (x->nftypes == 0 && !x->o->field_type)
        return VT_TYPE_NONE;
    vt_buf_reset(&x->key);
    vt_buf_append(&x->key, m.ptr, m.len);
    vt_buf_putc(&x->key, 0);
    vt_buf_append(&x->key, f.ptr, f.len);
    if (x->key.oom)
        return VT_TYPE_NONE;
    ftype k = {(char *)x->key.data, x->key.len, VT_TYPE_NONE};
    ftype *hit =
        x->nftypes ? bsearch(&k, x->ftypes, x->nftypes, sizeof *x->ftypes, ftype_cmp) : NULL;
    if (hit || !x->o->field_type)
        return hit ? hit->type : VT_TYPE_NONE;
    /* ask the target once, and remember the answer (even "unknown") in the sorted table */
    vt_buf_putc(&x->key, 0); /* "m\0f\0": both NUL-terminated for the callback */
    if (x->key.oom)
        return VT_TYPE_NONE;
    k.key = (char *)x->key.data; /* the buffer may have moved */
    const char *mz = (const char *)x->key.data;
    vt_type t = x->o->field_type(x->o->field_type_ctx, mz, mz + m.len + 1);
    if (x->nftypes == x->ftcap) {
        size_t cap = x->ftcap ? x->ftcap * 2 : 16;
        ftype *v = realloc(x->ftypes, cap * sizeof *v);
        if (!v)
            return t;
        x->ftypes = v;
        x->ftcap = cap;
    }
    char *copy = malloc(k.len);
    if (!copy)
        return t;
    memcpy(copy, x->key.data, k.len);
    size_t at = 0;
    while (at < x->nftypes && ftype_cmp(&x->ftypes[at], &k) < 0)
        at++;
    memmove(x->ftypes + at + 1, x->ftypes + at, (x->nftypes - at) * sizeof *x->ftypes);
    x->ftypes[at] = (ftype){copy, k.len, t};
    x->nftypes++;
    return t;
}

static int tag_cmp(const void *a, const void *b)
{
    const vt_tag *x = a, *y = b;
    size_t n = x->key.len < y->key.len ? x->key.len : y->key.len;
    int c = n ? memcmp(x->key.ptr, y->key.ptr, n) : 0;
    return c ? c : (x->key.len > y->key.len) - (x->key.len < y->key.len);
}

/* A number's text as a C string (for strtoll/strtod: the element buffer is not terminated). */
static bool num_text(const char *s, size_t n, char out[416])
{
    if (n >= 416)
        return false;
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

static vt_rc number_value(imp *x, uint64_t idx, vt_str key, const char *s, size_t n, bool is_float,
                          vt_type want, vt_value *v)
{
    char txt[416];
    if (!num_text(s, n, txt))
        return vt_err_set(&x->err, VT_EPARSE, "element %" PRIu64 ": number too long", idx);
    char *end;
    errno = 0;
    if (want == VT_TYPE_FLOAT || (want != VT_TYPE_INT && want != VT_TYPE_UINT && is_float)) {
        v->type = VT_TYPE_FLOAT;
        v->v.f = strtod(txt, &end);
        if (!isfinite(v->v.f))
            return vt_err_set(&x->err, VT_EPARSE,
                              "element %" PRIu64 ": field %.*s: %s is out of "
                              "range for a float",
                              idx, (int)key.len, key.ptr, txt);
        return VT_OK;
    }
    if (is_float)
        return vt_err_set(&x->err, VT_EPARSE, "element %" PRIu64 ": field %.*s is %s but holds %s",
                          idx, (int)key.len, key.ptr, vt_type_name(want), txt);
    if (want == VT_TYPE_UINT) {
        if (txt[0] == '-')
            return vt_err_set(&x->err, VT_EPARSE,
                              "element %" PRIu64 ": field %.*s is unsigned "
                              "but holds %s",
                              idx, (int)key.len, key.ptr, txt);
        v->type = VT_TYPE_UINT;
        v->v.u = strtoull(txt, &end, 10);
    } else {
        v->type = VT_TYPE_INT;
        v->v.i = strtoll(txt, &end, 10);
        if (errno == ERANGE && want == VT_TYPE_NONE && txt[0] != '-') {
            errno = 0;
            v->type = VT_TYPE_UINT;
            v->v.u = strtoull(txt, &end, 10);
        }
    }
    if (errno == ERANGE)
        return vt_err_set(&x->err, VT_EPARSE,
                          "element %" PRIu64 ": field %.*s: %s is out of "
                          "range for %s",
                          idx, (int)key.len, key.ptr, txt,
                          v->type == VT_TYPE_UINT ? "an unsigned integer" : "an integer");
    return VT_OK;
}

/* Converts the element held in x->ents / x->estr and adds it to the batch. */
static vt_rc element_to_point(imp *x, uint64_t idx)
{
    const char *base = (const char *)x->estr.data;
    if (x->nents > x->tfcap) {
        vt_tag *t = realloc(x->tags, x->nents * sizeof *t);
        if (!t)
            return vt_err_set(&x->err, VT_ENOMEM, "out of memory");
        x->tags = t;
        vt_field *f = realloc(x->fields, x->nents * sizeof *f);
        if (!f)
            return vt_err_set(&x->err, VT_ENOMEM, "out of memory");
        x->fields = f;
        x->tfcap = x->nents;
    }
    vt_point p = {.tags = x->tags, .fields = x->fields};
    bool has_m = false, has_t = false;
    for (size_t i = 0; i < x->nents; i++) {
        const elem_entry *e = &x->ents[i];
        vt_str k = {base + e->koff, e->klen}, v = {base + e->voff, e->vlen};
        if (k.len == 12 && memcmp(k.ptr, "_measurement", 12) == 0) {
            if (e->kind != JT_STRING || v.len == 0)
                return vt_err_set(&x->err, VT_EPARSE,
                                  "element %" PRIu64 ": _measurement must be a non-empty string",
                                  idx);
            p.measurement = v;
            has_m = true;
        } else if (k.len == 5 && memcmp(k.ptr, "_time", 5) == 0) {
            vt_err te;
            if (e->kind == JT_STRING && vt_time_parse(v.ptr, v.len, NULL, &p.time, &te) == VT_OK) {
                has_t = true;
            } else if (e->kind == JT_NUMBER && !e->is_float) {
                char txt[416];
                errno = 0;
                if (num_text(v.ptr, v.len, txt)) {
                    p.time = strtoll(txt, NULL, 10);
                    has_t = errno == 0;
                }
            }
            if (!has_t)
                return vt_err_set(&x->err, VT_EPARSE,
                                  "element %" PRIu64 ": _time must be an "
                                  "RFC3339 time or an integer of ns, not %.*s",
                                  idx, (int)(v.len > 64 ? 64 : v.len), v.ptr);
        }
    }
    if (!has_m)
        return vt_err_set(&x->err, VT_EPARSE, "element %" PRIu64 ": no _measurement", idx);
    if (!has_t)
        return vt_err_set(&x->err, VT_EPARSE, "element %" PRIu64 ": no _time", idx);
    size_t nt = 0, nf = 0;
    for (size_t i = 0; i < x->nents; i++) {
        const elem_entry *e = &x->ents[i];
        vt_str k = {base + e->koff, e->klen}, v = {base + e->voff, e->vlen};
        if (e->kind == JT_NULL)
            continue;
        if (k.len > 4 && memcmp(k.ptr, "tag_", 4) == 0) {
            if (v.len == 0)
                continue; /* line protocol has no empty tag values */
            x->tags[nt].key = (vt_str){k.ptr + 4, k.len - 4};
            x->tags[nt].value = v;
            nt++;
        } else if (k.len > 6 && memcmp(k.ptr, "field_", 6) == 0) {
            vt_field *f = &x->fields[nf];
            f->key = (vt_str){k.ptr + 6, k.len - 6};
            if (e->kind == JT_STRING) {
                f->value.type = VT_TYPE_STRING;
                f->value.v.s = v;
            } else if (e->kind == JT_TRUE || e->kind == JT_FALSE) {
                f->value.type = VT_TYPE_BOOL;
                f->value.v.b = e->kind == JT_TRUE;
            } else {
                vt_rc rc = number_value(x, idx, f->key, v.ptr, v.len, e->is_float,
                                        lookup_type(x, p.measurement, f->key), &f->value);
                if (rc != VT_OK)
                    return rc;
            }
            nf++;
        }
    }
    if (nf == 0)
        return vt_err_set(&x->err, VT_EPARSE, "element %" PRIu64 ": no field_<key>", idx);
    if (nt > 1)
        qsort(x->tags, nt, sizeof *x->tags, tag_cmp);
    p.ntags = nt;
    p.nfields = nf;
    lp_write_point(&x->batch, &p);
    return point_added(x, idx);
}

/* Reads one element after its '{'. */
static vt_rc read_element(imp *x, uint64_t idx)
{
    x->nents = 0;
    vt_buf_reset(&x->estr);
    jtok_kind k = jtok_next(x->t);
    while (k != JT_RBRACE) {
        if (k != JT_STRING)
            return json_error(x, "element %" PRIu64 ": expected a key, found %s", idx, tok_name(k));
        if (x->nents == x->entcap) {
            size_t cap = x->entcap ? x->entcap * 2 : 16;
            if (cap > 100000)
                return json_error(x, "element %" PRIu64 ": too many keys", idx);
            elem_entry *v = realloc(x->ents, cap * sizeof *v);
            if (!v)
                return vt_err_set(&x->err, VT_ENOMEM, "out of memory");
            x->ents = v;
            x->entcap = cap;
        }
        elem_entry *e = &x->ents[x->nents];
        e->koff = x->estr.len;
        e->klen = x->t->text.len;
        vt_buf_append(&x->estr, x->t->text.data, x->t->text.len);
        vt_rc rc = expect(x, JT_COLON, "':'");
        if (rc != VT_OK)
            return rc;
        k = jtok_next(x->t);
        if (k != JT_STRING && k != JT_NUMBER && k != JT_TRUE && k != JT_FALSE && k != JT_NULL)
            return json_error(x,
                              "element %" PRIu64 ": the value of \"%.*s\" must be a string, "
                              "number, boolean or null, found %s",
                              idx, (int)(e->klen > 64 ? 64 : e->klen),
                              (const char *)x->estr.data + e->koff, tok_name(k));
        e->kind = k;
        e->is_float = k == JT_NUMBER && x->t->is_float;
        e->voff = x->estr.len;
        e->vlen = x->t->text.len;
        vt_buf_append(&x->estr, x->t->text.data, x->t->text.len);
        if (x->estr.oom)
            return vt_err_set(&x->err, VT_ENOMEM, "out of memory");
        x->nents++;
        k = jtok_next(x->t);
        if (k == JT_COMMA)
            k = jtok_next(x->t);
        else if (k != JT_RBRACE)
            return json_error(x, "element %" PRIu64 ": expected ',' or '}', found %s", idx,
                              tok_name(k));
    }
    return element_to_point(x, idx);
}

static vt_rc read_data(imp *x)
{
    vt_rc rc = expect(x, JT_LBRACKET, "an array for data");
    if (rc != VT_OK)
        return rc;
    uint64_t idx = 0;
    jtok_kind k = jtok_next(x->t);
    if (k == JT_RBRACKET)
        return VT_OK;
    for (;;) {
        if (k != JT_LBRACE)
            return json_error(x, "expected an object in data, found %s", tok_name(k));
        rc = read_element(x, ++idx);
        if (rc != VT_OK)
            return rc;
        k = jtok_next(x->t);
        if (k == JT_RBRACKET)
            return VT_OK;
        if (k != JT_COMMA)
            return json_error(x, "expected ',' or ']' after element %" PRIu64 ", found %s", idx,
                              tok_name(k));
        k = jtok_next(x->t);
    }
}

static vt_rc import_json(imp *x)
{
    jtok *t = malloc(sizeof *t);
    if (!t)
        return vt_err_set(&x->err, VT_ENOMEM, "out of memory");
    jtok_init(t, in_read, x->in);
    x->t = t;
    bool seen_data = false;
    vt_rc rc = expect(x, JT_LBRACE, "'{'");
    jtok_kind k = rc == VT_OK ? jtok_next(t) : JT_ERROR;
    while (rc == VT_OK && k != JT_RBRACE) {
        if (k != JT_STRING) {
            rc = json_error(x, "expected a key, found %s", tok_name(k));
            break;
        }
        char key[32];
        snprintf(key, sizeof key, "%s", t->text.len < sizeof key ? (const char *)t->text.data : "");
        if ((rc = expect(x, JT_COLON, "':'")) != VT_OK)
            break;
        if (strcmp(key, "data") == 0) {
            if (seen_data) {
                rc = json_error(x, "a second \"data\" array");
                break;
            }
            seen_data = true;
            rc = read_data(x);
        } else if (strcmp(key, "data_count") == 0) {
            k = jtok_next(t);
            char txt[416];
            if (k != JT_NUMBER || t->is_float || t->text.data[0] == '-' ||
                !num_text((const char *)t->text.data, t->text.len, txt)) {
                rc = json_error(x, "data_count must be a non-negative integer");
                break;
            }
            errno = 0;
            x->st->data_count = strtoull(txt, NULL, 10);
            if (errno) {
                rc = json_error(x, "data_count out of range");
                break;
            }
            x->st->has_data_count = true;
        } else if (strcmp(key, "field_types") == 0 && !seen_data) {
            rc = read_field_types(x);
        } else {
            rc = skip_value(x, jtok_next(t));
        }
        if (rc != VT_OK)
            break;
        k = jtok_next(t);
        if (k == JT_COMMA)
            k = jtok_next(t);
        else if (k != JT_RBRACE)
            rc = json_error(x, "expected ',' or '}', found %s", tok_name(k));
    }
    if (rc == VT_OK && (k = jtok_next(t)) != JT_END)
        rc = json_error(x, "unexpected %s after the document", tok_name(k));
    /* what was read is written, whatever comes next (note 4) */
    vt_err keep = x->err;
    vt_rc frc = flush_batch(x);
    if (rc != VT_OK) {
        x->err = keep;
    } else if (frc != VT_OK) {
        rc = frc;
    } else if (!seen_data) {
        rc = vt_err_set(&x->err, VT_EPARSE, "the document has no \"data\" array");
    } else if (!x->st->has_data_count) {
        rc = vt_err_set(&x->err, VT_EPARSE,
                        "the document has no data_count (a truncated "
                        "export?): %" PRIu64 " objects read",
                        x->st->points_read);
    } else if (x->st->data_count != x->st->points_read) {
        rc = vt_err_set(&x->err, VT_EPARSE,
                        "data_count is %" PRIu64 " but data holds %" PRIu64 " objects",
                        x->st->data_count, x->st->points_read);
    }
    jtok_free(t);
    free(t);
    x->t = NULL;
    return rc;
}

vt_rc import_run(import_read_fn read, void *rctx, const import_options *o, import_stats *st,
                 vt_err *err)
{
    memset(st, 0, sizeof *st);
    if (!o->write)
        return vt_err_set(err, VT_EINVAL, "import: no writer");
    in_stream *in = calloc(1, sizeof *in);
    imp *x = calloc(1, sizeof *x);
    if (!in || !x) {
        free(in);
        free(x);
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    }
    in->read = read;
    in->ctx = rctx;
    x->in = in;
    x->o = o;
    x->st = st;
    x->batch_points = o->batch_points ? o->batch_points : 1000;
    vt_buf_init(&x->batch);
    vt_buf_init(&x->estr);
    vt_buf_init(&x->key);
    vt_rc rc = VT_OK;
    /* gzip? (magic 1f 8b) */
    if (!in_fill_raw(in)) {
        x->err = in->err;
        rc = x->err.rc;
        goto done;
    }
    if (in->raw_len >= 2 && in->raw[0] == 0x1f && in->raw[1] == 0x8b) {
        if (inflateInit2(&in->zs, 15 + 16) != Z_OK) {
            rc = vt_err_set(&x->err, VT_ENOMEM, "cannot initialise gzip");
            goto done;
        }
        in->gzip = in->gz_init = st->gzip = true;
        in->member_open = true;
    }
    /* format: the first byte that is not white space (or a UTF-8 BOM) */
    ops_format fmt = o->format;
    {
        uint8_t *pb = malloc(IN_RAW);
        if (!pb) {
            rc = vt_err_set(&x->err, VT_ENOMEM, "out of memory");
            goto done;
        }
        in->pb = pb;
        for (;;) {
            ssize_t n = in_read(in, pb, IN_RAW);
            if (n < 0) {
                x->err = in->err;
                rc = x->err.rc;
                goto done;
            }
            size_t i = 0;
            if (n >= 3 && pb[0] == 0xEF && pb[1] == 0xBB && pb[2] == 0xBF)
                i = 3;
            while (i < (size_t)n &&
                   (pb[i] == ' ' || pb[i] == '\t' || pb[i] == '\r' || pb[i] == '\n'))
                i++;
            if (n == 0 || i < (size_t)n) {
                if (fmt == OPS_FORMAT_AUTO)
                    fmt = n > 0 && pb[i] == '{' ? OPS_FORMAT_JSON : OPS_FORMAT_LP;
                in->pb_pos = i;
                in->pb_len = (size_t)n;
                break;
            }
        }
    }
    st->format = fmt;
    rc = fmt == OPS_FORMAT_JSON ? import_json(x) : import_lp(x);
    if (rc == VT_OK && st->points_rejected > 0)
        rc = vt_err_set(&x->err, VT_EPARSE, "%" PRIu64 " of %" PRIu64 " points rejected; first: %s",
                        st->points_rejected, st->points_read, st->first_rejection);
done:
    st->bytes_in = in->bytes_in;
    if (rc != VT_OK && err)
        *err = x->err;
    if (in->gz_init)
        inflateEnd(&in->zs);
    for (size_t i = 0; i < x->nftypes; i++)
        free(x->ftypes[i].key);
    free(x->ftypes);
    free(x->ents);
    free(x->tags);
    free(x->fields);
    vt_buf_free(&x->batch);
    vt_buf_free(&x->estr);
    vt_buf_free(&x->key);
    free(in->pb);
    free(in);
    free(x);
    return rc;
}

vt_rc import_write_node(void *ctx, const char *lp, size_t len, size_t npoints, size_t *accepted,
                        vt_err *err)
{
    import_node_ctx *c = ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    node_write_result res;
    memset(&res, 0, sizeof res);
    vt_rc rc =
        node_write(c->node, c->db, c->rp ? c->rp : "", LP_PRECISION_NS, now, lp, len, &res, err);
    *accepted = res.points;
    if ((rc == VT_EPARSE || rc == VT_ETYPE) && res.error[0])
        vt_err_set(err, rc, "%s", res.error);
    (void)npoints;
    return rc;
}

vt_type import_node_field_type(void *ctx, const char *measurement, const char *field)
{
    import_node_ctx *c = ctx;
    char store[ENGINE_STORE_NAME_MAX + 1];
    vt_err err;
    if (node_resolve_store(c->node, c->db, c->rp, store, sizeof store, &err) != VT_OK)
        return VT_TYPE_NONE;
    return engine_field_type(node_engine(c->node), store, measurement, field);
}
