/*
 * libFuzzer target for ingest/ons_csv. The first byte picks the dataset (or header detection) and
 * a chunk size; the rest is the CSV file. The file is read twice, whole and in chunks: output,
 * counts, rejected lines and the error (if any) must be identical. Every line written must be
 * line protocol that volta's parser accepts, with the dataset's measurement and a float field,
 * and the counts must agree with it (points, fields, min/max time, rows_read = loaded + rejected
 * + empty). Rejected line numbers are > 1 and increasing. Aborts otherwise.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "ingest/lineproto.h"
#include "ingest/ons_csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct rej_log {
    uint64_t count;
    uint64_t last_line;
    uint64_t sum; /* of line numbers, to compare two runs */
} rej_log;

static void on_reject(void *ctx, uint64_t line, const char *reason)
{
    rej_log *l = ctx;
    if (line <= 1 || line <= l->last_line || reason == NULL || reason[0] == '\0')
        abort();
    l->count++;
    l->last_line = line;
    l->sum += line;
}

static vt_rc read_once(ons_dataset ds, const uint8_t *d, size_t n, size_t chunk, vt_buf *out,
                       ons_stats *st, rej_log *log, vt_err *err)
{
    ons_reader *r = NULL;
    if (ons_reader_new(ds, "fuzz.csv", on_reject, log, &r, err) != VT_OK)
        abort();
    vt_rc rc = VT_OK;
    for (size_t off = 0; off < n && rc == VT_OK; off += chunk)
        rc = ons_reader_feed(r, d + off, n - off < chunk ? n - off : chunk, out, err);
    if (rc == VT_OK)
        rc = ons_reader_finish(r, out, err);
    *st = *ons_reader_stats(r);
    ons_reader_free(r);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const ons_dataset ds_of[5] = {ONS_UNKNOWN, ONS_GENERATION, ONS_LOAD, ONS_INTERCHANGE,
                                         ONS_BALANCE};
    ons_dataset ds = ds_of[data[0] % 5];
    size_t chunk = (size_t)(data[0] / 5) % 17 + 1;
    const uint8_t *body = data + 1;
    size_t n = size - 1;

    vt_buf whole, parts;
    vt_buf_init(&whole);
    vt_buf_init(&parts);
    ons_stats sw, sp;
    rej_log lw = {0, 0, 0}, lp = {0, 0, 0};
    vt_err ew, ep;
    vt_rc rw = read_once(ds, body, n, n ? n : 1, &whole, &sw, &lw, &ew);
    vt_rc rp = read_once(ds, body, n, chunk, &parts, &sp, &lp, &ep);
    if (rw != rp || whole.oom || parts.oom)
        abort();
    if (rw != VT_OK) {
        /* a file-level error: same message; rows before it may differ only in being cut later */
        if (strcmp(ew.msg, ep.msg) != 0 || rw != VT_EPARSE || strncmp(ew.msg, "fuzz.csv:", 9) != 0)
            abort();
        goto done;
    }
    if (whole.len != parts.len || (whole.len && memcmp(whole.data, parts.data, whole.len) != 0) ||
        memcmp(&sw, &sp, sizeof sw) != 0 || lw.count != lp.count || lw.sum != lp.sum)
        abort();
    if (sw.rows_read != sw.rows_loaded + sw.rows_rejected + sw.rows_empty ||
        sw.points != sw.rows_loaded || sw.rows_rejected != lw.count)
        abort();

    lp_options o;
    memset(&o, 0, sizeof o);
    lp_parser *p = lp_parser_new(&o);
    const char *lines = whole.data ? (const char *)whole.data : ""; /* no NULL + 0 */
    if (p == NULL || lp_parser_reset(p, lines, whole.len) != VT_OK)
        abort();
    uint64_t points = 0, fields = 0;
    int64_t tmin = INT64_MAX, tmax = INT64_MIN;
    vt_point pt;
    lp_error e;
    int r;
    while ((r = lp_parser_next(p, &pt, &e)) != LP_END) {
        if (r != LP_POINT) {
            fprintf(stderr, "output line %zu does not parse: %s\n", e.line, e.msg);
            abort();
        }
        const char *m = ons_dataset_measurement(ds == ONS_UNKNOWN ? ONS_UNKNOWN : ds);
        if (ds != ONS_UNKNOWN && !vt_str_eq(pt.measurement, vt_str_c(m)))
            abort();
        for (size_t i = 0; i < pt.nfields; i++)
            if (pt.fields[i].value.type != VT_TYPE_FLOAT)
                abort();
        for (size_t i = 0; i < pt.ntags; i++)
            if (pt.tags[i].value.len == 0)
                abort();
        points++;
        fields += pt.nfields;
        tmin = pt.time < tmin ? pt.time : tmin;
        tmax = pt.time > tmax ? pt.time : tmax;
    }
    lp_parser_free(p);
    if (points != sw.points || fields != sw.fields || tmin != sw.min_time || tmax != sw.max_time)
        abort();
done:
    vt_buf_free(&whole);
    vt_buf_free(&parts);
    return 0;
}
