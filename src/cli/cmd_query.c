/*
 * volta query [--host URL | --data DIR] [--db DB] [--rp RP] [--flux] [--format table|json|csv]
 *             [--epoch ns|u|ms|s|m|h] [--file FILE] [--pretty] [QUERY]
 *
 * Runs InfluxQL (or Flux) against a server (--host, POST /query or /api/v2/query) or in-process
 * on a data directory no server holds (--data). The query text comes from QUERY, --file, or
 * stdin; an InfluxQL query may hold several statements separated by ';'.
 *
 * Design: every InfluxQL answer is first obtained as InfluxDB 1.x JSON — from the server, or
 * from a qr_writer in JSON mode in-process (what the server's handler does) — and every output
 * format is derived from that one document, so both modes print the same bytes:
 *   json   the document as received (--pretty: re-indented like Go's json.MarshalIndent with
 *          four spaces; scalars keep their exact text).
 *   table  per series "name: m", "tags: k=v, ..." and columns aligned like the influx CLI's
 *          tabwriter (cell width + 1 space; last column unpadded); values as the JSON gives them
 *          (strings unquoted, null empty); time RFC3339 unless --epoch.
 *   csv    InfluxDB's CSV. The document is requested with epoch=ns and replayed into a CSV
 *          qr_writer (query/result.h) with the asked epoch, which yields the server's CSV byte
 *          for byte; unlike InfluxDB's own CSV (which drops failed statements silently), the
 *          replay sees each statement's error, so the exit code can report it.
 * Statement errors go to stderr as "statement N: error: MSG" (N is the statement_id); an HTTP
 * error (4xx/5xx, a syntax error is a 400) prints the server's message. Flux answers are CSV:
 * printed as received for csv; for table, each CSV block is aligned (annotation rows dropped).
 *
 * The JSON reader below is a small DOM over the response text allocated from one arena: every
 * value keeps its raw span (so numbers are never re-formatted and uint64 values survive), and
 * strings are decoded once. Nesting is bounded (QJ_MAX_DEPTH).
 *
 * Exit codes: 0 ok; 1 a statement failed, the server answered 4xx/5xx, or it could not be
 * reached / the data directory could not be opened; 2 bad usage.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/cli_http.h"
#include "common/buf.h"
#include "common/error.h"
#include "core/node.h"
#include "query/arena.h"
#include "query/flux_exec.h"
#include "query/influxql_exec.h"
#include "query/influxql_parser.h"
#include "query/result.h"

#define QUERY_MAX_TEXT ((size_t)64 << 20) /* query text read from --file or stdin */
#define QJ_MAX_DEPTH 64

typedef enum query_format { QUERY_FMT_TABLE, QUERY_FMT_JSON, QUERY_FMT_CSV } query_format;

typedef struct query_opts {
    const char *host;
    const char *data;
    const char *db;
    const char *rp;
    const char *file;
    const char *epoch; /* as given (NULL: none) */
    int64_t epoch_div; /* 0: RFC3339 */
    bool flux;
    bool pretty;
    query_format format;
} query_opts;

/* An answer: the HTTP status (in-process: what the server would answer) and the body. */
typedef struct query_reply {
    long status;
    vt_buf body;
} query_reply;

/* ---- a raw-preserving JSON DOM ---- */

typedef enum qj_kind { QJ_NULL, QJ_FALSE, QJ_TRUE, QJ_NUM, QJ_STR, QJ_ARR, QJ_OBJ } qj_kind;

typedef struct qj {
    qj_kind kind;
    const char *raw; /* the value's text in the document */
    size_t rawlen;
    const char *key;    /* object member: decoded key */
    const char *keyraw; /* and its text, quotes included */
    size_t keyrawlen;
    const char *s; /* QJ_STR: decoded, NUL-terminated */
    size_t slen;
    struct qj *first, *next; /* QJ_ARR / QJ_OBJ children, in order */
    size_t n;
} qj;

typedef struct qj_parser {
    const char *p, *end;
    arena *a;
    const char *err;
} qj_parser;

static void qj_ws(qj_parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int qj_hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    return v;
}

static char *qj_put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xc0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xe0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *o++ = (char)(0xf0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    }
    return o;
}

/* A string at ps->p (a '"'): decoded into the arena (never longer than its text). */
static bool qj_string(qj_parser *ps, const char **out, size_t *outlen)
{
    const char *q = ++ps->p;
    while (q < ps->end && *q != '"') {
        if (*q == '\\')
            q++;
        q++;
    }
    if (q >= ps->end) {
        ps->err = "unterminated string";
        return false;
    }
    char *d = arena_alloc(ps->a, (size_t)(q - ps->p) + 1);
    if (!d) {
        ps->err = "out of memory";
        return false;
    }
    char *o = d;
    while (ps->p < q) {
        char c = *ps->p++;
        if (c != '\\') {
            *o++ = c;
            continue;
        }
        c = *ps->p++;
        switch (c) {
        case '"':
        case '\\':
        case '/': *o++ = c; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            int h = q - ps->p >= 4 ? qj_hex4(ps->p) : -1;
            if (h < 0) {
                ps->err = "bad \\u escape";
                return false;
            }
            ps->p += 4;
            uint32_t cp = (uint32_t)h;
            if (cp >= 0xd800 && cp < 0xdc00 && q - ps->p >= 6 && ps->p[0] == '\\' &&
                ps->p[1] == 'u') {
                int lo = qj_hex4(ps->p + 2);
                if (lo >= 0xdc00 && lo < 0xe000) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
                    ps->p += 6;
                }
            }
            if (cp >= 0xd800 && cp < 0xe000)
                cp = 0xfffd;
            o = qj_put_utf8(o, cp);
            break;
        }
        default: ps->err = "bad escape in string"; return false;
        }
    }
    *o = '\0';
    *out = d;
    *outlen = (size_t)(o - d);
    ps->p = q + 1;
    return true;
}

static bool qj_digits(qj_parser *ps)
{
    const char *s = ps->p;
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
        ps->p++;
    return ps->p > s;
}

static qj *qj_value(qj_parser *ps, int depth)
{
    qj_ws(ps);
    if (ps->p >= ps->end) {
        ps->err = "unexpected end of document";
        return NULL;
    }
    qj *v = arena_calloc(ps->a, 1, sizeof *v);
    if (!v) {
        ps->err = "out of memory";
        return NULL;
    }
    v->raw = ps->p;
    char c = *ps->p;
    size_t rest = (size_t)(ps->end - ps->p);
    if (c == '{' || c == '[') {
        if (depth >= QJ_MAX_DEPTH) {
            ps->err = "nested too deeply";
            return NULL;
        }
        bool obj = c == '{';
        char close = obj ? '}' : ']';
        v->kind = obj ? QJ_OBJ : QJ_ARR;
        ps->p++;
        qj **tail = &v->first;
        qj_ws(ps);
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
        } else {
            for (;;) {
                const char *key = NULL, *keyraw = NULL;
                size_t keylen = 0, keyrawlen = 0;
                if (obj) {
                    qj_ws(ps);
                    if (ps->p >= ps->end || *ps->p != '"') {
                        ps->err = "expected an object key";
                        return NULL;
                    }
                    keyraw = ps->p;
                    if (!qj_string(ps, &key, &keylen))
                        return NULL;
                    keyrawlen = (size_t)(ps->p - keyraw);
                    qj_ws(ps);
                    if (ps->p >= ps->end || *ps->p != ':') {
                        ps->err = "expected ':'";
                        return NULL;
                    }
                    ps->p++;
                }
                qj *child = qj_value(ps, depth + 1);
                if (!child)
                    return NULL;
                if (obj) {
                    child->key = key;
                    child->keyraw = keyraw;
                    child->keyrawlen = keyrawlen;
                }
                *tail = child;
                tail = &child->next;
                v->n++;
                qj_ws(ps);
                if (ps->p < ps->end && *ps->p == ',') {
                    ps->p++;
                    continue;
                }
                if (ps->p < ps->end && *ps->p == close) {
                    ps->p++;
                    break;
                }
                ps->err = obj ? "expected ',' or '}'" : "expected ',' or ']'";
                return NULL;
            }
        }
    } else if (c == '"') {
        v->kind = QJ_STR;
        if (!qj_string(ps, &v->s, &v->slen))
            return NULL;
    } else if (rest >= 4 && memcmp(ps->p, "true", 4) == 0) {
        v->kind = QJ_TRUE;
        ps->p += 4;
    } else if (rest >= 5 && memcmp(ps->p, "false", 5) == 0) {
        v->kind = QJ_FALSE;
        ps->p += 5;
    } else if (rest >= 4 && memcmp(ps->p, "null", 4) == 0) {
        v->kind = QJ_NULL;
        ps->p += 4;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        v->kind = QJ_NUM;
        if (c == '-')
            ps->p++;
        bool ok = qj_digits(ps);
        if (ok && ps->p < ps->end && *ps->p == '.') {
            ps->p++;
            ok = qj_digits(ps);
        }
        if (ok && ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
            ps->p++;
            if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
                ps->p++;
            ok = qj_digits(ps);
        }
        if (!ok) {
            ps->err = "malformed number";
            return NULL;
        }
    } else {
        ps->err = "unexpected character";
        return NULL;
    }
    v->rawlen = (size_t)(ps->p - v->raw);
    return v;
}

/* Parses doc[0..len) (one value, then only whitespace); NULL with *err / *off on failure. */
static qj *qj_parse(arena *a, const char *doc, size_t len, const char **err, size_t *off)
{
    qj_parser ps = {.p = doc, .end = doc + len, .a = a, .err = NULL};
    qj *v = qj_value(&ps, 0);
    if (v) {
        qj_ws(&ps);
        if (ps.p != ps.end) {
            ps.err = "trailing data after the document";
            v = NULL;
        }
    }
    if (!v) {
        *err = ps.err;
        *off = (size_t)(ps.p - doc);
    }
    return v;
}

static const qj *qj_get(const qj *o, const char *key)
{
    if (!o || o->kind != QJ_OBJ)
        return NULL;
    for (const qj *c = o->first; c; c = c->next)
        if (strcmp(c->key, key) == 0)
            return c;
    return NULL;
}

static void qj_indent(vt_buf *b, int depth)
{
    for (int i = 0; i < depth; i++)
        vt_buf_append(b, "    ", 4);
}

/* Go json.MarshalIndent(v, "", "    ") layout; scalars and keys keep their text. */
static void qj_pretty(vt_buf *b, const qj *v, int depth)
{
    if (v->kind != QJ_ARR && v->kind != QJ_OBJ) {
        vt_buf_append(b, v->raw, v->rawlen);
        return;
    }
    bool obj = v->kind == QJ_OBJ;
    vt_buf_putc(b, obj ? '{' : '[');
    if (!v->n) {
        vt_buf_putc(b, obj ? '}' : ']');
        return;
    }
    for (const qj *c = v->first; c; c = c->next) {
        vt_buf_putc(b, '\n');
        qj_indent(b, depth + 1);
        if (obj) {
            vt_buf_append(b, c->keyraw, c->keyrawlen);
            vt_buf_append(b, ": ", 2);
        }
        qj_pretty(b, c, depth + 1);
        if (c->next)
            vt_buf_putc(b, ',');
    }
    vt_buf_putc(b, '\n');
    qj_indent(b, depth);
    vt_buf_putc(b, obj ? '}' : ']');
}

/* A value as the table shows it: strings unquoted, null empty, everything else its text. */
static const char *qj_cell(arena *a, const qj *v)
{
    switch (v->kind) {
    case QJ_STR: return v->s;
    case QJ_NULL: return "";
    default: return arena_strndup(a, v->raw, v->rawlen);
    }
}

/* A JSON value back as the typed value the server's CSV writer would have had. Integers that
 * fit stay integers (a float with an integral value prints the same digits in CSV); "-0" and
 * anything with a fraction or exponent is a float. */
static vt_value qj_to_value(const qj *v)
{
    vt_value r;
    memset(&r, 0, sizeof r);
    switch (v->kind) {
    case QJ_STR:
        r.type = VT_TYPE_STRING;
        r.v.s.ptr = v->s;
        r.v.s.len = v->slen;
        break;
    case QJ_TRUE:
    case QJ_FALSE:
        r.type = VT_TYPE_BOOL;
        r.v.b = v->kind == QJ_TRUE;
        break;
    case QJ_NUM: {
        char tmp[400];
        size_t n = v->rawlen < sizeof tmp - 1 ? v->rawlen : sizeof tmp - 1;
        memcpy(tmp, v->raw, n);
        tmp[n] = '\0';
        bool integral = strpbrk(tmp, ".eE") == NULL && strcmp(tmp, "-0") != 0;
        if (integral) {
            errno = 0;
            if (tmp[0] == '-') {
                long long i = strtoll(tmp, NULL, 10);
                if (errno == 0) {
                    r.type = VT_TYPE_INT;
                    r.v.i = i;
                    break;
                }
            } else {
                unsigned long long u = strtoull(tmp, NULL, 10);
                if (errno == 0) {
                    if (u <= (unsigned long long)INT64_MAX) {
                        r.type = VT_TYPE_INT;
                        r.v.i = (int64_t)u;
                    } else {
                        r.type = VT_TYPE_UINT;
                        r.v.u = u;
                    }
                    break;
                }
            }
        }
        r.type = VT_TYPE_FLOAT;
        r.v.f = strtod(tmp, NULL);
        break;
    }
    default: r.type = VT_TYPE_NONE; break;
    }
    return r;
}

/* ---- aligned text tables ---- */

static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

/* cells[r * ncols + c]; like Go's tabwriter(minwidth 0, padding 1, ' '): every column but the
 * last is padded to its widest cell plus one space. */
static bool table_print(FILE *out, const char *const *cells, size_t nrows, size_t ncols)
{
    size_t *width = calloc(ncols ? ncols : 1, sizeof *width);
    if (!width)
        return false;
    for (size_t r = 0; r < nrows; r++)
        for (size_t c = 0; c + 1 < ncols; c++) {
            size_t w = text_width(cells[r * ncols + c]);
            if (w > width[c])
                width[c] = w;
        }
    for (size_t r = 0; r < nrows; r++) {
        for (size_t c = 0; c < ncols; c++) {
            const char *s = cells[r * ncols + c];
            fputs(s, out);
            if (c + 1 < ncols)
                fprintf(out, "%*s", (int)(width[c] - text_width(s) + 1), "");
        }
        fputc('\n', out);
    }
    free(width);
    return true;
}

/* Header, dashes and rows of one table into an arena array. */
static const char **table_cells(arena *a, size_t nrows, size_t ncols)
{
    return arena_calloc(a, (nrows + 2) * (ncols ? ncols : 1), sizeof(const char *));
}

static const char *dashes(arena *a, const char *name)
{
    size_t n = strlen(name);
    char *d = arena_alloc(a, n + 1);
    if (d) {
        memset(d, '-', n);
        d[n] = '\0';
    }
    return d;
}

/* ---- rendering an InfluxQL answer ---- */

static void report_statement_error(FILE *out, const qj *r, const qj *err)
{
    const qj *id = qj_get(r, "statement_id");
    fflush(out);
    fprintf(stderr, "statement %.*s: error: %s\n", id ? (int)id->rawlen : 1, id ? id->raw : "?",
            err->kind == QJ_STR ? err->s : "(unreadable error)");
}

/* Counts (and reports on stderr) the failed statements of a results document. */
static int count_errors(FILE *out, const qj *results)
{
    int failed = 0;
    for (const qj *r = results->first; r; r = r->next) {
        const qj *err = qj_get(r, "error");
        if (err) {
            report_statement_error(out, r, err);
            failed++;
        }
    }
    return failed;
}

static bool render_table(FILE *out, arena *a, const qj *results, int *failed)
{
    bool first_block = true;
    for (const qj *r = results->first; r; r = r->next) {
        const qj *msgs = qj_get(r, "messages");
        if (msgs && msgs->kind == QJ_ARR)
            for (const qj *m = msgs->first; m; m = m->next) {
                const qj *lvl = qj_get(m, "level"), *txt = qj_get(m, "text");
                fprintf(out, "%s: %s.\n", lvl && lvl->kind == QJ_STR ? lvl->s : "info",
                        txt && txt->kind == QJ_STR ? txt->s : "");
            }
        const qj *err = qj_get(r, "error");
        if (err) {
            report_statement_error(out, r, err);
            (*failed)++;
            continue;
        }
        const qj *series = qj_get(r, "series");
        if (!series || series->kind != QJ_ARR)
            continue;
        for (const qj *s = series->first; s; s = s->next) {
            const qj *name = qj_get(s, "name"), *tags = qj_get(s, "tags");
            const qj *cols = qj_get(s, "columns"), *vals = qj_get(s, "values");
            if (!first_block)
                fputc('\n', out);
            first_block = false;
            if (name && name->kind == QJ_STR && name->slen)
                fprintf(out, "name: %s\n", name->s);
            if (tags && tags->kind == QJ_OBJ && tags->n) {
                fputs("tags: ", out);
                for (const qj *t = tags->first; t; t = t->next)
                    fprintf(out, "%s=%s%s", t->key, t->kind == QJ_STR ? t->s : "",
                            t->next ? ", " : "");
                fputc('\n', out);
            }
            size_t ncols = cols && cols->kind == QJ_ARR ? cols->n : 0;
            size_t nrows = vals && vals->kind == QJ_ARR ? vals->n : 0;
            if (!ncols)
                continue;
            const char **cells = table_cells(a, nrows, ncols);
            if (!cells)
                return false;
            size_t c = 0;
            for (const qj *col = cols->first; col; col = col->next, c++) {
                cells[c] = qj_cell(a, col);
                cells[ncols + c] = cells[c] ? dashes(a, cells[c]) : NULL;
            }
            size_t row = 2;
            for (const qj *v = nrows ? vals->first : NULL; v; v = v->next, row++) {
                c = 0;
                if (v->kind == QJ_ARR)
                    for (const qj *x = v->first; x && c < ncols; x = x->next, c++)
                        cells[row * ncols + c] = qj_cell(a, x);
                for (; c < ncols; c++)
                    cells[row * ncols + c] = "";
            }
            for (size_t i = 0; i < (nrows + 2) * ncols; i++)
                if (!cells[i])
                    return false; /* arena out of memory */
            if (!table_print(out, cells, nrows + 2, ncols))
                return false;
        }
    }
    return true;
}

static bool csv_sink(void *ctx, const uint8_t *data, size_t len)
{
    return fwrite(data, 1, len, (FILE *)ctx) == len;
}

/* An integer JSON number (its raw span is not NUL-terminated: copied first). */
static long long qj_int(const qj *v)
{
    char tmp[32];
    size_t n = v->rawlen < sizeof tmp - 1 ? v->rawlen : sizeof tmp - 1;
    memcpy(tmp, v->raw, n);
    tmp[n] = '\0';
    return strtoll(tmp, NULL, 10);
}

/* Replays the (epoch=ns) JSON document into InfluxDB's CSV writer with the asked epoch. */
static bool render_csv(FILE *out, const qj *results, int64_t epoch_div, int *failed)
{
    qr_options o = {
        .format = QR_CSV, .epoch_div = epoch_div, .flush_cb = csv_sink, .flush_ctx = out};
    qr_writer w;
    qr_init(&w, &o);
    qr_begin(&w);
    bool ok = true;
    vt_tag *tagv = NULL;
    const char **colv = NULL;
    vt_value *valv = NULL;
    for (const qj *r = results->first; r && ok; r = r->next) {
        const qj *idv = qj_get(r, "statement_id");
        int id = idv && idv->kind == QJ_NUM ? (int)qj_int(idv) : 0;
        qr_statement_begin(&w, id);
        const qj *err = qj_get(r, "error");
        if (err) {
            qr_statement_error(&w, id, err->kind == QJ_STR ? err->s : "");
            report_statement_error(out, r, err);
            (*failed)++;
            continue;
        }
        const qj *series = qj_get(r, "series");
        for (const qj *s = series && series->kind == QJ_ARR ? series->first : NULL; s && ok;
             s = s->next) {
            const qj *name = qj_get(s, "name"), *tags = qj_get(s, "tags");
            const qj *cols = qj_get(s, "columns"), *vals = qj_get(s, "values");
            size_t ntags = tags && tags->kind == QJ_OBJ ? tags->n : 0;
            size_t ncols = cols && cols->kind == QJ_ARR ? cols->n : 0;
            free(tagv);
            free(colv);
            free(valv);
            tagv = calloc(ntags + 1, sizeof *tagv);
            colv = calloc(ncols + 1, sizeof *colv);
            valv = calloc(ncols + 1, sizeof *valv);
            if (!tagv || !colv || !valv) {
                ok = false;
                break;
            }
            size_t i = 0;
            for (const qj *t = ntags ? tags->first : NULL; t; t = t->next, i++) {
                tagv[i].key = vt_str_c(t->key);
                tagv[i].value = t->kind == QJ_STR ? (vt_str){t->s, t->slen} : vt_str_c("");
            }
            i = 0;
            for (const qj *c = ncols ? cols->first : NULL; c; c = c->next, i++)
                colv[i] = c->kind == QJ_STR ? c->s : "";
            bool has_time = ncols && strcmp(colv[0], "time") == 0;
            qr_series_begin(&w, name && name->kind == QJ_STR ? name->s : "", tagv, ntags, colv,
                            ncols);
            for (const qj *row = vals && vals->kind == QJ_ARR ? vals->first : NULL; row;
                 row = row->next) {
                const qj *x = row->kind == QJ_ARR ? row->first : NULL;
                int64_t t = 0;
                if (has_time && x) {
                    t = x->kind == QJ_NUM ? qj_int(x) : 0;
                    x = x->next;
                }
                size_t nv = 0;
                for (; x && nv < ncols; x = x->next)
                    valv[nv++] = qj_to_value(x);
                qr_row(&w, has_time, t, valv, nv);
            }
            qr_series_end(&w);
        }
        qr_statement_end(&w);
    }
    qr_end(&w);
    ok = ok && !w.out.oom && !qr_aborted(&w);
    qr_free(&w);
    free(tagv);
    free(colv);
    free(valv);
    return ok;
}

/* ---- rendering a Flux answer (annotated CSV) as tables ---- */

/* One CSV record from *pp (quotes, "" and embedded newlines handled). Returns false at the end
 * of the text; *nf = 0 for an empty line. Fields are arena strings in *fields (grown with
 * realloc; *cap tracks its size). */
static bool csv_record(arena *a, const char **pp, const char *end, const char ***fields,
                       size_t *cap, size_t *nf, bool *oom)
{
    const char *p = *pp;
    *nf = 0;
    if (p >= end)
        return false;
    if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')) {
        *pp = p + (*p == '\r' ? 2 : 1);
        return true;
    }
    vt_buf f;
    vt_buf_init(&f);
    for (;;) {
        vt_buf_reset(&f);
        if (p < end && *p == '"') {
            p++;
            while (p < end) {
                if (*p == '"') {
                    if (p + 1 < end && p[1] == '"') {
                        vt_buf_putc(&f, '"');
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                vt_buf_putc(&f, (uint8_t)*p++);
            }
        }
        while (p < end && *p != ',' && *p != '\n' && *p != '\r')
            vt_buf_putc(&f, (uint8_t)*p++);
        if (*nf == *cap) {
            size_t ncap = *cap ? *cap * 2 : 16;
            const char **nfields = realloc(*fields, ncap * sizeof *nfields);
            if (!nfields) {
                *oom = true;
                break;
            }
            *fields = nfields;
            *cap = ncap;
        }
        const char *s = arena_strndup(a, f.len ? (const char *)f.data : "", f.len);
        if (!s || f.oom) {
            *oom = true;
            break;
        }
        (*fields)[(*nf)++] = s;
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p < end && *p == '\r')
            p++;
        if (p < end && *p == '\n')
            p++;
        break;
    }
    vt_buf_free(&f);
    *pp = p;
    return true;
}

static bool render_flux_table(FILE *out, arena *a, const char *csv, size_t len)
{
    const char *p = csv, *end = csv + len;
    const char **fields = NULL;
    size_t cap = 0, nf = 0;
    bool oom = false, first_block = true;
    /* the current block: rows of ncols cells (header first), column 0 dropped when it is the
     * annotation column */
    const char **cells = NULL;
    size_t ncells_cap = 0, nrows = 0, ncols = 0, skip = 0;
    bool more = true;
    while (more && !oom) {
        more = csv_record(a, &p, end, &fields, &cap, &nf, &oom);
        bool block_end = !more || nf == 0;
        if (!block_end && fields[0][0] == '#')
            continue; /* #datatype, #group, #default */
        if (!block_end) {
            if (nrows == 0) {
                skip = nf > 1 && fields[0][0] == '\0' ? 1 : 0;
                ncols = nf - skip;
            }
            size_t need = (nrows + 2) * ncols;
            if (need > ncells_cap) {
                size_t ncap = need * 2;
                const char **n = realloc(cells, ncap * sizeof *n);
                if (!n) {
                    oom = true;
                    break;
                }
                cells = n;
                ncells_cap = ncap;
            }
            for (size_t c = 0; c < ncols; c++)
                cells[nrows * ncols + c] = c + skip < nf ? fields[c + skip] : "";
            nrows++;
            if (nrows == 1) { /* the dashes under the header */
                for (size_t c = 0; c < ncols; c++) {
                    cells[ncols + c] = dashes(a, cells[c]);
                    oom = oom || !cells[ncols + c];
                }
                nrows++;
            }
            continue;
        }
        if (nrows && ncols) {
            if (!first_block)
                fputc('\n', out);
            first_block = false;
            oom = oom || !table_print(out, cells, nrows, ncols);
        }
        nrows = 0;
    }
    free(fields);
    free(cells);
    return !oom;
}

/* ---- getting the answer ---- */

static size_t curl_sink(char *data, size_t size, size_t n, void *ctx)
{
    vt_buf *b = ctx;
    vt_buf_append(b, data, size * n);
    return b->oom ? 0 : size * n;
}

static bool form_add(vt_buf *b, CURL *c, const char *key, const char *value)
{
    if (!value || !*value)
        return true;
    char *e = curl_easy_escape(c, value, (int)strlen(value));
    if (!e)
        return false;
    if (b->len)
        vt_buf_putc(b, '&');
    vt_buf_printf(b, "%s=%s", key, e);
    curl_free(e);
    return true;
}

/* POSTs to host + path; false (message on stderr) when the server could not be reached. */
static bool host_post(const query_opts *qo, const char *text, size_t len, const char *json_epoch,
                      query_reply *rep)
{
    bool ok = false;
    vt_buf url, body;
    vt_buf_init(&url);
    vt_buf_init(&body);
    struct curl_slist *hdr = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *c = curl_easy_init();
    if (!c) {
        fprintf(stderr, "volta query: cannot initialise libcurl\n");
        goto done;
    }
    size_t hl = strlen(qo->host);
    while (hl && qo->host[hl - 1] == '/')
        hl--;
    vt_buf_printf(&url, "%.*s%s", (int)hl, qo->host, qo->flux ? "/api/v2/query" : "/query");
    if (qo->flux) {
        json_t *j =
            json_pack("{s:s%, s:s, s:{s:b, s:[sss]}}", "query", text, len, "type", "flux",
                      "dialect", "header", 1, "annotations", "datatype", "group", "default");
        char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        if (!s) {
            fprintf(stderr, "volta query: cannot encode the Flux request (invalid UTF-8?)\n");
            goto done;
        }
        vt_buf_append(&body, s, strlen(s));
        free(s);
        hdr = curl_slist_append(hdr, "Content-Type: application/json");
        hdr = curl_slist_append(hdr, "Accept: application/csv");
    } else {
        char *q = malloc(len + 1); /* text is not NUL-terminated: no strndup */
        if (q) {
            memcpy(q, text, len);
            q[len] = '\0';
        }
        bool fok = q && form_add(&body, c, "q", q) && form_add(&body, c, "db", qo->db) &&
                   form_add(&body, c, "rp", qo->rp) && form_add(&body, c, "epoch", json_epoch);
        free(q);
        if (!fok) {
            fprintf(stderr, "volta query: out of memory\n");
            goto done;
        }
        hdr = curl_slist_append(hdr, "Content-Type: application/x-www-form-urlencoded");
        hdr = curl_slist_append(hdr, "Accept: application/json");
    }
    if (url.oom || body.oom || !hdr) {
        fprintf(stderr, "volta query: out of memory\n");
        goto done;
    }
    hdr = cli_http_auth_header(hdr);
    curl_easy_setopt(c, CURLOPT_URL, vt_buf_cstr(&url));
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)body.data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &rep->body);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "volta-query/" VOLTA_VERSION);
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        fprintf(stderr, "volta query: %s: %s\n", vt_buf_cstr(&url),
                rep->body.oom ? "out of memory reading the answer"
                : errbuf[0]   ? errbuf
                              : curl_easy_strerror(cc));
        goto done;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rep->status);
    ok = true;
done:
    if (c)
        curl_easy_cleanup(c);
    curl_slist_free_all(hdr);
    vt_buf_free(&url);
    vt_buf_free(&body);
    return ok;
}

static int64_t wall_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void reply_error(query_reply *rep, long status, const char *prefix, const char *msg)
{
    vt_buf m;
    vt_buf_init(&m);
    vt_buf_printf(&m, "%s%s", prefix, msg);
    rep->status = status;
    vt_buf_reset(&rep->body);
    vt_buf_append(&rep->body, "{\"error\":", 9);
    qr_json_str(&rep->body, (const char *)m.data, m.len);
    vt_buf_append(&rep->body, "}\n", 2);
    vt_buf_free(&m);
}

/* What POST /query would answer, computed on the open node (as the server's handler does). */
static void data_influxql(node *n, const query_opts *qo, const char *text, size_t len,
                          int64_t json_epoch_div, query_reply *rep)
{
    arena *a = arena_new(0);
    if (!a) {
        reply_error(rep, 500, "", "out of memory");
        return;
    }
    influxql_query *q = NULL;
    influxql_error perr;
    memset(&perr, 0, sizeof perr);
    vt_rc rc = influxql_parse(a, text, len, NULL, &q, &perr);
    if (rc == VT_OK && !iql_check_regexes(q, &perr))
        rc = VT_EPARSE;
    if (rc != VT_OK) {
        reply_error(rep, rc == VT_ENOMEM ? 500 : 400, "error parsing query: ", perr.msg);
        arena_free(a);
        return;
    }
    qr_options o = {.format = QR_JSON, .epoch_div = json_epoch_div};
    qr_writer w;
    qr_init(&w, &o);
    iql_env env = {
        .node = n, .db = qo->db ? qo->db : "", .rp = qo->rp ? qo->rp : "", .now = wall_now_ns()};
    qr_begin(&w);
    rc = iql_execute(&env, q, &w);
    qr_end(&w);
    if (rc != VT_OK || w.out.oom) {
        reply_error(rep, 500, "", vt_rc_name(rc != VT_OK ? rc : VT_ENOMEM));
    } else {
        vt_buf_free(&rep->body);
        rep->body = w.out;
        vt_buf_init(&w.out);
        rep->status = 200;
    }
    qr_free(&w);
    arena_free(a);
}

static void data_flux(node *n, const char *text, size_t len, query_reply *rep)
{
    flux_exec_options o;
    flux_exec_options_default(&o);
    o.nann = 3;
    o.ann[0] = FLUX_ANN_DATATYPE;
    o.ann[1] = FLUX_ANN_GROUP;
    o.ann[2] = FLUX_ANN_DEFAULT;
    flux_exec_error fe;
    memset(&fe, 0, sizeof fe);
    vt_buf_reset(&rep->body);
    if (flux_exec_run(node_engine(n), text, len, &o, &rep->body, &fe) != VT_OK) {
        rep->status = fe.http_status ? fe.http_status : 500;
        vt_buf_reset(&rep->body);
        vt_buf_append(&rep->body, "{\"code\":", 8);
        qr_json_str(&rep->body, fe.code ? fe.code : "internal error",
                    strlen(fe.code ? fe.code : "internal error"));
        vt_buf_append(&rep->body, ",\"message\":", 11);
        qr_json_str(&rep->body, fe.msg, strlen(fe.msg));
        vt_buf_append(&rep->body, "}\n", 2);
        return;
    }
    rep->status = 200;
}

/* Opens DIR (which must exist) for an in-process query; 0 or the exit code. */
static int data_open(const char *dir, node **out)
{
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "volta query: %s: no such data directory\n", dir);
        return 1;
    }
    node_options opts;
    node_options_default(&opts);
    opts.engine.background = false;
    opts.journal_trim = false;
    opts.retention = false;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = node_open(dir, &opts, out, NULL, &err);
    if (rc == VT_EBUSY) {
        fprintf(stderr, "volta query: data directory %s is in use by a running volta; use --host\n",
                dir);
        return 1;
    }
    if (rc != VT_OK) {
        fprintf(stderr, "volta query: %s\n", err.msg);
        return 1;
    }
    return 0;
}

/* An HTTP error answer: its "error" / "message" when it is JSON, else its text. */
static void report_http_error(const query_reply *rep)
{
    arena *a = arena_new(0);
    const char *perr;
    size_t off;
    const qj *doc =
        a ? qj_parse(a, (const char *)rep->body.data, rep->body.len, &perr, &off) : NULL;
    const qj *m = qj_get(doc, "error");
    if (!m)
        m = qj_get(doc, "message");
    if (m && m->kind == QJ_STR) {
        fprintf(stderr, "volta query: %s\n", m->s);
    } else {
        size_t n = rep->body.len;
        while (n && (rep->body.data[n - 1] == '\n' || rep->body.data[n - 1] == '\r'))
            n--;
        fprintf(stderr, "volta query: HTTP %ld%s%.*s\n", rep->status, n ? ": " : "", (int)n,
                n ? (const char *)rep->body.data : "");
    }
    arena_free(a);
}

/* Prints an InfluxQL answer (status 200) in the asked format; the exit code. */
static int print_influxql(const query_opts *qo, const query_reply *rep)
{
    FILE *out = stdout;
    arena *a = arena_new(0);
    if (!a) {
        fprintf(stderr, "volta query: out of memory\n");
        return 1;
    }
    const char *perr = NULL;
    size_t off = 0;
    const qj *doc = qj_parse(a, (const char *)rep->body.data, rep->body.len, &perr, &off);
    if (!doc) {
        fprintf(stderr, "volta query: unreadable answer (not JSON: %s at byte %zu)\n", perr, off);
        arena_free(a);
        return 1;
    }
    int failed = 0, status = 0;
    const qj *results = qj_get(doc, "results");
    const qj *top_err = qj_get(doc, "error");
    if (top_err) {
        fprintf(stderr, "volta query: %s\n", top_err->kind == QJ_STR ? top_err->s : "error");
        failed++;
    }
    if (!results || results->kind != QJ_ARR) {
        if (!top_err)
            fprintf(stderr, "volta query: unexpected answer (no \"results\")\n");
        arena_free(a);
        return 1;
    }
    bool ok = true;
    switch (qo->format) {
    case QUERY_FMT_JSON:
        if (qo->pretty) {
            vt_buf b;
            vt_buf_init(&b);
            qj_pretty(&b, doc, 0);
            vt_buf_putc(&b, '\n');
            ok = !b.oom && fwrite(b.data, 1, b.len, out) == b.len;
            vt_buf_free(&b);
        } else {
            ok = fwrite(rep->body.data, 1, rep->body.len, out) == rep->body.len;
        }
        failed += count_errors(out, results);
        break;
    case QUERY_FMT_TABLE: ok = render_table(out, a, results, &failed); break;
    case QUERY_FMT_CSV: ok = render_csv(out, results, qo->epoch_div, &failed); break;
    }
    if (fflush(out) != 0)
        ok = false;
    if (!ok) {
        fprintf(stderr,
                "volta query: writing the result failed (out of memory or closed output)\n");
        status = 1;
    }
    arena_free(a);
    return failed ? 1 : status;
}

static int print_flux(const query_opts *qo, const query_reply *rep)
{
    bool ok;
    if (qo->format == QUERY_FMT_TABLE) {
        arena *a = arena_new(0);
        ok = a && render_flux_table(stdout, a, (const char *)rep->body.data, rep->body.len);
        arena_free(a);
    } else {
        ok = fwrite(rep->body.data, 1, rep->body.len, stdout) == rep->body.len;
    }
    if (fflush(stdout) != 0 || !ok) {
        fprintf(stderr, "volta query: writing the result failed\n");
        return 1;
    }
    return 0;
}

/* ---- command ---- */

static void query_usage(FILE *out)
{
    fprintf(out, "usage: volta query [--host URL | --data DIR] [--db DB] [--rp RP] [--flux]\n"
                 "                   [--format table|json|csv] [--epoch ns|u|ms|s|m|h]\n"
                 "                   [--file FILE] [--pretty] [QUERY]\n\n"
                 "Runs an InfluxQL query (statements separated by ';') or, with --flux, a Flux\n"
                 "query. The text comes from QUERY, --file FILE, or standard input.\n\n"
                 "  --host URL    server to ask (default http://127.0.0.1:8086)\n"
                 "  --data DIR    run in-process on a data directory no server is using\n"
                 "  --db, --rp    database and retention policy of the query\n"
                 "  --flux        the query is Flux (POST /api/v2/query; answers CSV)\n"
                 "  --format F    table (default), json (the server's JSON), csv\n"
                 "  --epoch U     times as integers in unit U (default RFC3339; csv: ns)\n"
                 "  --pretty      indent the JSON\n\n"
                 "Exit status: 0 ok; 1 a statement failed or the server answered an error;\n"
                 "2 bad usage.\n");
}

static bool read_all(FILE *f, vt_buf *out)
{
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (out->len + n > QUERY_MAX_TEXT)
            return false;
        vt_buf_append(out, chunk, n);
    }
    return !ferror(f) && !out->oom;
}

/* Parses the options into qo; -1 to go on, else the exit code. */
static int query_parse_args(int argc, char **argv, query_opts *qo, const char **qtext)
{
    static const struct option longopts[] = {{"host", required_argument, NULL, 'H'},
                                             {"data", required_argument, NULL, 'd'},
                                             {"db", required_argument, NULL, 'b'},
                                             {"rp", required_argument, NULL, 'r'},
                                             {"flux", no_argument, NULL, 'F'},
                                             {"format", required_argument, NULL, 'f'},
                                             {"epoch", required_argument, NULL, 'e'},
                                             {"file", required_argument, NULL, 'i'},
                                             {"pretty", no_argument, NULL, 'p'},
                                             {"help", no_argument, NULL, 'h'},
                                             {0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'H': qo->host = optarg; break;
        case 'd': qo->data = optarg; break;
        case 'b': qo->db = optarg; break;
        case 'r': qo->rp = optarg; break;
        case 'F': qo->flux = true; break;
        case 'i': qo->file = optarg; break;
        case 'p': qo->pretty = true; break;
        case 'f':
            if (strcmp(optarg, "table") == 0)
                qo->format = QUERY_FMT_TABLE;
            else if (strcmp(optarg, "json") == 0)
                qo->format = QUERY_FMT_JSON;
            else if (strcmp(optarg, "csv") == 0)
                qo->format = QUERY_FMT_CSV;
            else {
                fprintf(stderr, "volta query: --format takes table, json or csv, not '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 'e':
            if (!optarg[0] || !qr_parse_epoch(optarg, &qo->epoch_div)) {
                fprintf(stderr, "volta query: --epoch takes ns, u, ms, s, m or h, not '%s'\n",
                        optarg);
                return 2;
            }
            qo->epoch = optarg;
            break;
        case 'h': query_usage(stdout); return 0;
        default: query_usage(stderr); return 2;
        }
    }
    const char *why = NULL;
    if (argc - optind > 1)
        why = "give the query as one argument (quote it)";
    else if (argc - optind == 1 && qo->file)
        why = "give the query either as an argument or with --file, not both";
    else if (qo->host && qo->data)
        why = "--host and --data exclude each other";
    else if (qo->flux && qo->format == QUERY_FMT_JSON)
        why = "Flux answers CSV: use --format table or csv";
    else if (qo->flux && qo->epoch)
        why = "--epoch applies to InfluxQL only";
    if (why) {
        fprintf(stderr, "volta query: %s\n", why);
        return 2;
    }
    *qtext = optind < argc ? argv[optind] : NULL;
    if (!qo->host)
        qo->host = "http://127.0.0.1:8086";
    return -1;
}

int cmd_query(int argc, char **argv)
{
    query_opts qo;
    memset(&qo, 0, sizeof qo);
    const char *arg_text = NULL;
    int rc = query_parse_args(argc, argv, &qo, &arg_text);
    if (rc >= 0)
        return rc;

    vt_buf text;
    vt_buf_init(&text);
    if (arg_text) {
        vt_buf_append(&text, arg_text, strlen(arg_text));
    } else {
        FILE *f = qo.file ? fopen(qo.file, "rb") : stdin;
        if (!f) {
            fprintf(stderr, "volta query: %s: %s\n", qo.file, strerror(errno));
            return 2;
        }
        bool ok = read_all(f, &text);
        if (f != stdin)
            fclose(f);
        if (!ok) {
            fprintf(stderr,
                    "volta query: cannot read the query from %s (I/O error or over %zu MiB)\n",
                    qo.file ? qo.file : "stdin", QUERY_MAX_TEXT >> 20);
            vt_buf_free(&text);
            return 2;
        }
    }
    /* as the server does: the query is the text without surrounding whitespace */
    const char *q = text.len ? (const char *)text.data : "";
    size_t qlen = text.len;
    while (qlen && strchr(" \t\r\n", *q)) {
        q++;
        qlen--;
    }
    while (qlen && strchr(" \t\r\n", q[qlen - 1]))
        qlen--;
    if (qlen == 0 || text.oom) {
        fprintf(stderr, "volta query: %s\n", text.oom ? "out of memory" : "no query given");
        query_usage(stderr);
        vt_buf_free(&text);
        return 2;
    }

    /* the JSON asked for: csv is replayed from nanosecond integers */
    const char *json_epoch = qo.format == QUERY_FMT_CSV ? "ns" : qo.epoch;
    int64_t json_epoch_div = qo.format == QUERY_FMT_CSV ? 1 : qo.epoch_div;
    query_reply rep = {.status = 0};
    vt_buf_init(&rep.body);
    int status = 0;
    if (qo.data) {
        node *n = NULL;
        status = data_open(qo.data, &n);
        if (status == 0) {
            if (qo.flux)
                data_flux(n, q, qlen, &rep);
            else
                data_influxql(n, &qo, q, qlen, json_epoch_div, &rep);
            vt_err err;
            vt_err_clear(&err);
            if (node_close(n, &err) != VT_OK) {
                fprintf(stderr, "volta query: closing %s: %s\n", qo.data, err.msg);
                status = 1;
            }
        }
    } else {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        if (!host_post(&qo, q, qlen, json_epoch, &rep))
            status = 1;
        curl_global_cleanup();
    }
    if (rep.body.oom) {
        fprintf(stderr, "volta query: out of memory holding the answer\n");
        status = 1;
    }
    if (status == 0 && rep.status) {
        int st;
        if (rep.status < 200 || rep.status >= 300) {
            report_http_error(&rep);
            st = 1;
        } else {
            st = qo.flux ? print_flux(&qo, &rep) : print_influxql(&qo, &rep);
        }
        status = st;
    }
    vt_buf_free(&rep.body);
    vt_buf_free(&text);
    return status;
}
