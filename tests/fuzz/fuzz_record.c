/*
 * tests/fuzz/fuzz_record.c — libFuzzer target for journal WRITE records (core/record.h).
 *
 * The input is a record payload as the journal hands it to replay and to the InfluxDB
 * backend's applier: record_write_decode, then, for version 2 (points), every point through
 * record_points_next and the whole record through record_points_render_lp. Must never crash or
 * read out of bounds; a record whose points all read must also render, at least one line per
 * point.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    record_write w;
    vt_err err;
    vt_err_clear(&err);
    if (record_write_decode(data, size, &w, &err) != VT_OK) {
        if (err.msg[0] == '\0')
            abort(); /* every refusal says why */
        return 0;
    }
    if (w.version != 2)
        return 0;
    record_points_reader rd;
    if (record_points_open(&rd, &w, &err) != VT_OK)
        return 0;
    size_t points = 0;
    vt_rc rc;
    for (;;) {
        vt_point pt;
        size_t k;
        bool have;
        if ((rc = record_points_next(&rd, &pt, &k, &have, &err)) != VT_OK || !have)
            break;
        if (k >= rd.nkeys || pt.nfields == 0)
            abort();
        points++;
    }
    record_points_close(&rd);
    if (rc != VT_OK)
        return 0;
    vt_buf lp;
    vt_buf_init(&lp);
    if (record_points_render_lp(&w, &lp, &err) != VT_OK)
        abort(); /* it read whole above */
    /* at least one line per point (names from fuzzed bytes may hold a newline of their own) */
    size_t lines = 0;
    for (size_t i = 0; i < lp.len; i++)
        lines += lp.data[i] == '\n';
    if (lines < points)
        abort();
    vt_buf_free(&lp);
    return 0;
}
