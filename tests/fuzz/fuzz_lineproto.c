/*
 * libFuzzer target for ingest/lineproto: parses arbitrary bytes with small limits; every point
 * is written back with lp_write_point and re-parsed, and must come back identical (abort
 * otherwise). Errors must carry a line and column inside the body. A second pass parses the same
 * body with lp_parser_next_cached and a small series cache: every result (point or error, line
 * and column) must equal the plain parser's.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "ingest/lineproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lp_parser *reparser;
static vt_buf out;

static void check_roundtrip(const vt_point *pt)
{
    vt_buf_reset(&out);
    lp_write_point(&out, pt);
    if (out.oom)
        abort();
    if (lp_parser_reset(reparser, (const char *)out.data, out.len) != VT_OK)
        abort();
    vt_point again;
    lp_error e;
    int r = lp_parser_next(reparser, &again, &e);
    if (r != LP_POINT) {
        fprintf(stderr, "re-parse of \"%.*s\" failed: %s\n", (int)out.len, (const char *)out.data,
                e.msg);
        abort();
    }
    if (!lp_point_equal(pt, &again)) {
        fprintf(stderr, "round trip changed the point: \"%.*s\"\n", (int)out.len,
                (const char *)out.data);
        abort();
    }
    if (lp_parser_next(reparser, &again, &e) != LP_END)
        abort();
}

/* A tiny series cache for the second pass: raw series bytes -> copies of measurement and tags. */
#define FZ_CACHE 8
typedef struct fz_entry {
    char raw[600];
    size_t raw_len;
    char strings[1400];
    vt_tag tags[8];
    vt_str measurement;
    size_t ntags;
} fz_entry;
static fz_entry fz_cache[FZ_CACHE];
static size_t fz_used;

static bool fz_lookup(void *ctx, const char *raw, size_t len, vt_point *series)
{
    (void)ctx;
    for (size_t i = 0; i < fz_used; i++) {
        if (fz_cache[i].raw_len == len && memcmp(fz_cache[i].raw, raw, len) == 0) {
            series->measurement = fz_cache[i].measurement;
            series->tags = fz_cache[i].tags;
            series->ntags = fz_cache[i].ntags;
            return true;
        }
    }
    return false;
}

/* The parser's guess: the first cached series part the line starts with (lp_series_guess);
 * the parser must still check that a space follows. */
static size_t fz_guess(void *ctx, const char *line, size_t avail)
{
    (void)ctx;
    for (size_t i = 0; i < fz_used; i++)
        if (fz_cache[i].raw_len < avail && memcmp(fz_cache[i].raw, line, fz_cache[i].raw_len) == 0)
            return fz_cache[i].raw_len;
    return 0;
}

static vt_str fz_copy(char **w, const char *end, vt_str s, bool *ok)
{
    vt_str r = {*w, s.len};
    if ((size_t)(end - *w) < s.len) {
        *ok = false;
        return r;
    }
    memcpy(*w, s.ptr, s.len);
    *w += s.len;
    return r;
}

static void fz_remember(const lp_series_span *span, const vt_point *pt)
{
    if (fz_used == FZ_CACHE || span->len == 0 || span->len > sizeof fz_cache[0].raw ||
        pt->ntags > 8)
        return;
    fz_entry *e = &fz_cache[fz_used];
    bool ok = true;
    char *w = e->strings, *end = e->strings + sizeof e->strings;
    memcpy(e->raw, span->raw, span->len);
    e->raw_len = span->len;
    e->measurement = fz_copy(&w, end, pt->measurement, &ok);
    for (size_t i = 0; i < pt->ntags; i++) {
        e->tags[i].key = fz_copy(&w, end, pt->tags[i].key, &ok);
        e->tags[i].value = fz_copy(&w, end, pt->tags[i].value, &ok);
    }
    e->ntags = pt->ntags;
    if (ok)
        fz_used++;
}

/* Parses body with both entry points in lock step; aborts on any difference. */
static void compare_cached(const lp_options *o, const char *body, size_t size)
{
    lp_parser *plain = lp_parser_new(o), *cached = lp_parser_new(o);
    if (!plain || !cached)
        abort();
    if (size % 2) /* half the inputs with the guess */
        lp_parser_set_guess(cached, fz_guess);
    if (lp_parser_reset(plain, body, size) != VT_OK || lp_parser_reset(cached, body, size) != VT_OK)
        abort();
    fz_used = 0;
    for (;;) {
        vt_point a, b;
        lp_error ea, eb;
        lp_series_span span;
        int ra = lp_parser_next(plain, &a, &ea);
        int rb = lp_parser_next_cached(cached, &b, &eb, fz_lookup, NULL, &span);
        if (ra != rb)
            abort();
        if (ra == LP_END)
            break;
        if (ra == LP_POINT) {
            if (!lp_point_equal(&a, &b))
                abort();
            if (!span.hit)
                fz_remember(&span, &b);
        } else if (ea.line != eb.line || ea.column != eb.column) {
            abort();
        }
    }
    lp_parser_free(plain);
    lp_parser_free(cached);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (reparser == NULL) {
        lp_options ro;
        memset(&ro, 0, sizeof ro);
        reparser = lp_parser_new(&ro); /* default limits: escaping may lengthen a line */
        vt_buf_init(&out);
        if (reparser == NULL)
            abort();
    }
    lp_options o;
    memset(&o, 0, sizeof o);
    o.precision = (lp_precision)(size % 6);
    o.default_time = (int64_t)(size * 7919) - 50000;
    o.limits.max_line_bytes = 512;
    o.limits.max_tags = 8;
    o.limits.max_fields = 16;
    o.limits.max_body_bytes = 64 * 1024;
    lp_parser *p = lp_parser_new(&o);
    if (p == NULL)
        abort();
    const char *body = (const char *)data;
    if (lp_parser_reset(p, body, size) != VT_OK) {
        lp_parser_free(p);
        return 0;
    }
    vt_point pt;
    lp_error e;
    int r;
    size_t guard = 0;
    while ((r = lp_parser_next(p, &pt, &e)) != LP_END) {
        if (++guard > size + 1)
            abort(); /* every call must consume input */
        const char *ls;
        size_t ll;
        lp_parser_last_line(p, &ls, &ll);
        if (ls < body || ls + ll > body + size)
            abort();
        if (r == LP_POINT) {
            if (pt.ntags > 8 || pt.nfields == 0 || pt.nfields > 16)
                abort();
            for (size_t i = 1; i < pt.ntags; i++) {
                size_t n = pt.tags[i - 1].key.len < pt.tags[i].key.len ? pt.tags[i - 1].key.len
                                                                       : pt.tags[i].key.len;
                int c = memcmp(pt.tags[i - 1].key.ptr, pt.tags[i].key.ptr, n);
                if (c > 0 || (c == 0 && pt.tags[i - 1].key.len >= pt.tags[i].key.len))
                    abort(); /* sorted, unique */
            }
            check_roundtrip(&pt);
        } else if (r == LP_ERROR) {
            if (e.line < 1 || e.column < 1 || e.msg[0] == '\0')
                abort();
            if (e.line_start < body || e.line_start + e.line_len > body + size)
                abort();
        } else {
            abort();
        }
    }
    lp_parser_free(p);
    compare_cached(&o, body, size);
    return 0;
}
