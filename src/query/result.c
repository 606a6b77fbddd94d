/*
 * query/result.c — InfluxDB 1.x JSON / CSV result writer (see result.h for the formats).
 *
 * JSON is produced directly (no DOM): the executor's events map one to one onto the text, so a
 * result of any size costs one pass and, in streaming modes, a bounded buffer.
 *
 * Chunked JSON: InfluxDB sends one response object per chunk of rows. A chunk may hold several
 * series; the series that continues in the next chunk is marked "partial":true, and so is the
 * result while more chunks of the statement follow. The writer therefore keeps the current
 * series' head ({"name":..,"tags":..,"columns":[..]) to re-open it after a flush.
 */
#include "query/result.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/timefmt.h"
#include "common/tz.h"

#define QR_STREAM_BYTES (64 * 1024)

bool qr_parse_epoch(const char *s, int64_t *div)
{
    if (!s || !*s) {
        *div = 0;
        return true;
    }
    static const struct {
        const char *name;
        int64_t div;
    } units[] = {
        {"ns", 1},       {"n", 1},          {"u", 1000},        {"\xc2\xb5", 1000},
        {"ms", 1000000}, {"s", 1000000000}, {"m", 60000000000}, {"h", 3600000000000},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(s, units[i].name) == 0) {
            *div = units[i].div;
            return true;
        }
    return false;
}

/* ---- JSON primitives (Go encoding/json) ---- */

static size_t qr_utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

void qr_json_str(vt_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    vt_buf_reserve(b, n + 2);
    vt_buf_putc(b, '"');
    size_t i = 0;
    while (i < n) {
        unsigned char c = u[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
            size_t j = i + 1;
            while (j < n && u[j] >= 0x20 && u[j] < 0x80 && u[j] != '"' && u[j] != '\\' &&
                   u[j] != '<' && u[j] != '>' && u[j] != '&')
                j++;
            vt_buf_append(b, s + i, j - i);
            i = j;
            continue;
        }
        if (c < 0x80) {
            switch (c) {
            case '"': vt_buf_append(b, "\\\"", 2); break;
            case '\\': vt_buf_append(b, "\\\\", 2); break;
            case '\n': vt_buf_append(b, "\\n", 2); break;
            case '\r': vt_buf_append(b, "\\r", 2); break;
            case '\t': vt_buf_append(b, "\\t", 2); break;
            default: {
                char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                vt_buf_append(b, e, 6);
            }
            }
            i++;
            continue;
        }
        size_t l = qr_utf8_len(u + i, n - i);
        if (l == 0) {
            vt_buf_append(b, "\\ufffd", 6);
            i++;
        } else if (l == 3 && u[i] == 0xe2 && u[i + 1] == 0x80 &&
                   (u[i + 2] == 0xa8 || u[i + 2] == 0xa9)) {
            vt_buf_append(b, u[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
            i += 3;
        } else {
            vt_buf_append(b, s + i, l);
            i += l;
        }
    }
    vt_buf_putc(b, '"');
}

/* Room any non-string JSON value needs (a float's text and its NUL; an integer's is shorter). */
#define QR_JSON_SCALAR_MAX VT_FMT_JSON_FLOAT_MAX

/* A non-string value as JSON, written at p (QR_JSON_SCALAR_MAX bytes of room); returns the
 * length. */
static size_t qr_json_scalar(char *p, const vt_value *v)
{
    switch (v->type) {
    case VT_TYPE_FLOAT: {
        size_t n = vt_fmt_json_float(p, v->v.f);
        if (n) /* NaN / Inf: not representable in JSON; InfluxDB fails the response */
            return n;
        break;
    }
    case VT_TYPE_INT: return vt_fmt_i64(p, v->v.i);
    case VT_TYPE_UINT: return vt_fmt_u64(p, v->v.u);
    case VT_TYPE_BOOL:
        memcpy(p, v->v.b ? "true" : "false", v->v.b ? 4 : 5);
        return v->v.b ? 4 : 5;
    default: break;
    }
    memcpy(p, "null", 4);
    return 4;
}

void qr_json_value(vt_buf *b, const vt_value *v)
{
    if (v->type == VT_TYPE_STRING) {
        qr_json_str(b, v->v.s.ptr, v->v.s.len);
        return;
    }
    if (!vt_buf_reserve(b, QR_JSON_SCALAR_MAX))
        return;
    b->len += qr_json_scalar((char *)b->data + b->len, v);
}

/* ---- CSV primitives (Go encoding/csv) ---- */

static void qr_csv_field(vt_buf *b, const char *s, size_t n)
{
    bool quote = n > 0 && (s[0] == ' ' || s[0] == '\t');
    for (size_t i = 0; i < n && !quote; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
            quote = true;
    if (n == 2 && s[0] == '\\' && s[1] == '.')
        quote = true; /* Go quotes a lone `\.` field */
    if (!quote) {
        vt_buf_append(b, s, n);
        return;
    }
    vt_buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            vt_buf_putc(b, '"');
        if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
            continue; /* Go writes \r\n inside quotes as \n (UseCRLF false) */
        vt_buf_putc(b, (uint8_t)s[i]);
    }
    vt_buf_putc(b, '"');
}

static void qr_csv_value(vt_buf *b, const vt_value *v)
{
    char tmp[VT_FMT_CSV_FLOAT_MAX];
    size_t n;
    switch (v->type) {
    case VT_TYPE_FLOAT:
        n = vt_fmt_csv_float(tmp, v->v.f);
        vt_buf_append(b, tmp, n);
        break;
    case VT_TYPE_INT:
        n = vt_fmt_i64(tmp, v->v.i);
        vt_buf_append(b, tmp, n);
        break;
    case VT_TYPE_UINT:
        n = vt_fmt_u64(tmp, v->v.u);
        vt_buf_append(b, tmp, n);
        break;
    case VT_TYPE_BOOL: vt_buf_append(b, v->v.b ? "true" : "false", v->v.b ? 4 : 5); break;
    case VT_TYPE_STRING: qr_csv_field(b, v->v.s.ptr, v->v.s.len); break;
    default: break; /* null: empty field (InfluxDB repeats the previous row's value: a bug) */
    }
}

/* Line-protocol escaping of a tag key or value, as InfluxDB's HashKey does. */
static void qr_tag_escape(vt_buf *b, vt_str s)
{
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (c == ',' || c == ' ' || c == '=')
            vt_buf_putc(b, '\\');
        vt_buf_putc(b, (uint8_t)c);
    }
}

/* ---- writer ---- */

void qr_init(qr_writer *w, const qr_options *opt)
{
    memset(w, 0, sizeof *w);
    w->opt = *opt;
    if (w->opt.chunk_size == 0)
        w->opt.chunk_size = 10000;
    vt_buf_init(&w->out);
    vt_buf_init(&w->series_head);
    vt_buf_init(&w->csv_cols);
    vt_buf_init(&w->csv_prefix);
    vt_fmt_time_memo_init(&w->tmemo);
    w->stmt_id = -1;
}

void qr_free(qr_writer *w)
{
    vt_buf_free(&w->out);
    vt_buf_free(&w->series_head);
    vt_buf_free(&w->csv_cols);
    vt_buf_free(&w->csv_prefix);
}

static void qr_flush(qr_writer *w, bool force)
{
    if (!w->opt.flush_cb || w->aborted)
        return;
    if (!force && w->out.len < QR_STREAM_BYTES)
        return;
    if (w->out.len && !w->opt.flush_cb(w->opt.flush_ctx, w->out.data, w->out.len))
        w->aborted = true;
    vt_buf_reset(&w->out);
}

static bool qr_json_chunked(const qr_writer *w)
{
    return w->opt.format == QR_JSON && w->opt.chunked;
}

void qr_begin(qr_writer *w)
{
    if (w->opt.format == QR_JSON && !w->opt.chunked)
        vt_buf_append(&w->out, "{\"results\":[", 12);
}

/* Opens the result object of the current statement in the output. */
static void qr_open_result(qr_writer *w)
{
    if (qr_json_chunked(w)) {
        vt_buf_printf(&w->out, "{\"results\":[{\"statement_id\":%d", w->stmt_id);
    } else {
        if (w->any_result)
            vt_buf_putc(&w->out, ',');
        vt_buf_printf(&w->out, "{\"statement_id\":%d", w->stmt_id);
    }
    w->any_result = true;
}

void qr_statement_begin(qr_writer *w, int id)
{
    w->stmt_id = id;
    w->in_stmt = true;
    w->stmt_has_series = false;
    w->tz = NULL;
    if (w->opt.format == QR_JSON)
        qr_open_result(w);
}

void qr_set_tz(qr_writer *w, const struct vt_tz *tz)
{
    w->tz = tz;
}

/* Room a row's time needs in JSON: a quoted RFC 3339 text or an integer. */
#define QR_JSON_TIME_MAX (VT_FMT_TIME_MAX + 2)

/* The time of a row as JSON at p (QR_JSON_TIME_MAX bytes of room); returns the length. */
static size_t qr_time_json(qr_writer *w, char *p, int64_t t)
{
    if (w->opt.epoch_div)
        return vt_fmt_i64(p, t / w->opt.epoch_div);
    p[0] = '"';
    size_t n = vt_fmt_rfc3339nano_memo(&w->tmemo, p + 1, t, w->tz);
    p[n + 1] = '"';
    return n + 2;
}

void qr_series_begin(qr_writer *w, const char *name, const vt_tag *tags, size_t ntags,
                     const char *const *columns, size_t ncols)
{
    w->in_series = true;
    w->series_has_rows = false;
    w->ncols = ncols;
    if (w->opt.format == QR_CSV) {
        /* header when the statement changes (InfluxDB prints the first series' columns) */
        if (!w->stmt_has_series) {
            if (w->any_result)
                vt_buf_putc(&w->out, '\n');
            w->any_result = true;
            vt_buf_append(&w->out, "name,tags", 9);
            for (size_t i = 0; i < ncols; i++) {
                vt_buf_putc(&w->out, ',');
                qr_csv_field(&w->out, columns[i], strlen(columns[i]));
            }
            vt_buf_putc(&w->out, '\n');
        }
        w->stmt_has_series = true;
        vt_buf_reset(&w->csv_prefix);
        qr_csv_field(&w->csv_prefix, name ? name : "", name ? strlen(name) : 0);
        vt_buf_putc(&w->csv_prefix, ',');
        vt_buf tagtext;
        vt_buf_init(&tagtext);
        for (size_t i = 0; i < ntags; i++) {
            if (i)
                vt_buf_putc(&tagtext, ',');
            qr_tag_escape(&tagtext, tags[i].key);
            vt_buf_putc(&tagtext, '=');
            qr_tag_escape(&tagtext, tags[i].value);
        }
        qr_csv_field(&w->csv_prefix, (const char *)tagtext.data, tagtext.len);
        vt_buf_free(&tagtext);
        return;
    }
    vt_buf *h = &w->series_head;
    vt_buf_reset(h);
    vt_buf_putc(h, '{');
    bool comma = false;
    if (name && name[0]) {
        vt_buf_append(h, "\"name\":", 7);
        qr_json_str(h, name, strlen(name));
        comma = true;
    }
    if (ntags) {
        if (comma)
            vt_buf_putc(h, ',');
        vt_buf_append(h, "\"tags\":{", 8);
        for (size_t i = 0; i < ntags; i++) {
            if (i)
                vt_buf_putc(h, ',');
            qr_json_str(h, tags[i].key.ptr, tags[i].key.len);
            vt_buf_putc(h, ':');
            qr_json_str(h, tags[i].value.ptr, tags[i].value.len);
        }
        vt_buf_putc(h, '}');
        comma = true;
    }
    if (ncols) {
        if (comma)
            vt_buf_putc(h, ',');
        vt_buf_append(h, "\"columns\":[", 11);
        for (size_t i = 0; i < ncols; i++) {
            if (i)
                vt_buf_putc(h, ',');
            qr_json_str(h, columns[i], strlen(columns[i]));
        }
        vt_buf_putc(h, ']');
    }
    /* written lazily with the first row: a series without rows is not printed */
}

/* JSON: writes the series head (opening "series" when first in the result object). */
static void qr_json_open_series(qr_writer *w)
{
    if (!w->stmt_has_series) {
        vt_buf_append(&w->out, ",\"series\":[", 11);
        w->stmt_has_series = true;
    } else {
        vt_buf_putc(&w->out, ',');
    }
    vt_buf_append(&w->out, w->series_head.data, w->series_head.len);
    vt_buf_append(&w->out, ",\"values\":[", 11);
    w->series_has_rows = false;
}

/* Chunked JSON: ends the current response object, marking what continues as partial. */
static void qr_json_chunk_break(qr_writer *w)
{
    if (w->in_series && w->series_has_rows)
        vt_buf_append(&w->out, "],\"partial\":true}", 17);
    vt_buf_append(&w->out, "],\"partial\":true}]}\n", 20);
    qr_flush(w, true);
    w->rows_in_chunk = 0;
    vt_buf_printf(&w->out, "{\"results\":[{\"statement_id\":%d", w->stmt_id);
    w->stmt_has_series = false;
    w->series_has_rows = false;
}

void qr_row(qr_writer *w, bool has_time, int64_t time, const vt_value *vals, size_t n)
{
    if (w->aborted)
        return;
    if (w->opt.format == QR_CSV) {
        vt_buf_append(&w->out, w->csv_prefix.data, w->csv_prefix.len);
        if (has_time) {
            char tmp[VT_FMT_INT_MAX + 1];
            tmp[0] = ',';
            size_t tn = vt_fmt_i64(tmp + 1, w->opt.epoch_div ? time / w->opt.epoch_div : time);
            vt_buf_append(&w->out, tmp, tn + 1);
        }
        for (size_t i = 0; i < n; i++) {
            vt_buf_putc(&w->out, ',');
            qr_csv_value(&w->out, &vals[i]);
        }
        vt_buf_putc(&w->out, '\n');
        w->series_has_rows = true;
        qr_flush(w, false);
        return;
    }
    if (qr_json_chunked(w) &&
        (w->rows_in_chunk >= w->opt.chunk_size || (!w->series_has_rows && w->stmt_has_series)))
        qr_json_chunk_break(w); /* InfluxDB sends each series in its own chunk */
    if (!w->series_has_rows)
        qr_json_open_series(w);
    /* The row is written in place: room for everything but strings is reserved at once (a
     * string value reserves its own and the rest again). */
    vt_buf *b = &w->out;
    if (!vt_buf_reserve(b, 2 + QR_JSON_TIME_MAX + n * (QR_JSON_SCALAR_MAX + 1) + 1))
        return;
    char *p = (char *)b->data + b->len;
    if (w->series_has_rows)
        *p++ = ',';
    *p++ = '[';
    if (has_time) {
        p += qr_time_json(w, p, time);
        if (n)
            *p++ = ',';
    }
    for (size_t i = 0; i < n; i++) {
        if (i)
            *p++ = ',';
        if (vals[i].type == VT_TYPE_STRING) {
            b->len = (size_t)((uint8_t *)p - b->data);
            qr_json_str(b, vals[i].v.s.ptr, vals[i].v.s.len);
            if (!vt_buf_reserve(b, (n - i) * (QR_JSON_SCALAR_MAX + 1) + 1))
                return;
            p = (char *)b->data + b->len;
            continue;
        }
        p += qr_json_scalar(p, &vals[i]);
    }
    *p++ = ']';
    b->len = (size_t)((uint8_t *)p - b->data);
    w->series_has_rows = true;
    w->rows_in_chunk++;
    if (!w->opt.chunked)
        qr_flush(w, false);
}

void qr_series_keep_empty(qr_writer *w)
{
    w->keep_empty = true;
}

void qr_series_end(qr_writer *w)
{
    if (w->opt.format == QR_JSON && w->in_series) {
        if (w->series_has_rows) {
            vt_buf_append(&w->out, "]}", 2);
        } else if (w->keep_empty) {
            /* a series without rows is printed only when asked (SHOW DATABASES) */
            if (!w->stmt_has_series) {
                vt_buf_append(&w->out, ",\"series\":[", 11);
                w->stmt_has_series = true;
            } else {
                vt_buf_putc(&w->out, ',');
            }
            vt_buf_append(&w->out, w->series_head.data, w->series_head.len);
            vt_buf_putc(&w->out, '}');
        }
    }
    w->in_series = false;
    w->series_has_rows = false;
    w->keep_empty = false;
}

void qr_statement_end(qr_writer *w)
{
    if (!w->in_stmt)
        return;
    if (w->opt.format == QR_JSON) {
        if (w->stmt_has_series)
            vt_buf_putc(&w->out, ']');
        vt_buf_putc(&w->out, '}');
        if (w->opt.chunked) {
            vt_buf_append(&w->out, "]}\n", 3);
            qr_flush(w, true);
            w->rows_in_chunk = 0;
        }
    }
    w->in_stmt = false;
}

void qr_statement_error(qr_writer *w, int id, const char *msg)
{
    if (w->opt.format == QR_CSV) {
        /* InfluxDB's CSV writer prints nothing for an error (see docs/COMPATIBILITY.md) */
        w->in_stmt = false;
        return;
    }
    if (w->in_stmt && w->stmt_id == id) {
        /* discard nothing already sent; close any series and add the error */
        if (w->in_series && w->series_has_rows)
            vt_buf_append(&w->out, "]}", 2);
        w->in_series = false;
        if (w->stmt_has_series)
            vt_buf_putc(&w->out, ']');
    } else {
        w->stmt_id = id;
        qr_open_result(w);
    }
    vt_buf_append(&w->out, ",\"error\":", 9);
    qr_json_str(&w->out, msg, strlen(msg));
    vt_buf_putc(&w->out, '}');
    if (w->opt.chunked) {
        vt_buf_append(&w->out, "]}\n", 3);
        qr_flush(w, true);
    }
    w->in_stmt = false;
}

void qr_end(qr_writer *w)
{
    if (w->opt.format == QR_JSON && !w->opt.chunked)
        vt_buf_append(&w->out, "]}\n", 3);
    qr_flush(w, true);
}

/* ---- pretty printing (Go's json.MarshalIndent with four spaces) ---- */

static void qr_indent(vt_buf *b, int depth)
{
    vt_buf_putc(b, '\n');
    for (int i = 0; i < depth; i++)
        vt_buf_append(b, "    ", 4);
}

bool qr_json_pretty(const uint8_t *in, size_t n, vt_buf *out)
{
    int depth = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = in[i];
        switch (c) {
        case '"': {
            size_t j = i + 1;
            while (j < n && in[j] != '"')
                j += in[j] == '\\' ? 2 : 1;
            if (j >= n)
                return false;
            vt_buf_append(out, in + i, j - i + 1);
            i = j;
            break;
        }
        case '{':
        case '[': {
            uint8_t close = c == '{' ? '}' : ']';
            vt_buf_putc(out, c);
            if (i + 1 < n && in[i + 1] == close) { /* empty: {} / [] */
                vt_buf_putc(out, close);
                i++;
                break;
            }
            qr_indent(out, ++depth);
            break;
        }
        case '}':
        case ']':
            if (depth == 0)
                return false;
            qr_indent(out, --depth);
            vt_buf_putc(out, c);
            break;
        case ',':
            vt_buf_putc(out, ',');
            qr_indent(out, depth);
            break;
        case ':': vt_buf_append(out, ": ", 2); break;
        case ' ':
        case '\t':
        case '\r':
        case '\n': break; /* compact input: whitespace only between documents */
        default: vt_buf_putc(out, c);
        }
    }
    return depth == 0 && !out->oom;
}
