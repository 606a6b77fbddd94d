/*
 * libFuzzer target for ingest/lineproto: parses arbitrary bytes with small limits; every point
 * is written back with lp_write_point and re-parsed, and must come back identical (abort
 * otherwise). Errors must carry a line and column inside the body.
 */
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
    return 0;
}
