/* tests/fuzz/fuzz_segment.c — libFuzzer target: any byte string opened as a segment file must
 * be rejected cleanly or read without crashing; every block is verified and decoded, and every
 * column is read back through the calls the engine uses.
 *
 * Each input is tried twice: as is (exercises the checksum and structure checks), and with all
 * its CRCs recomputed (block CRCs from the index, then the series/index CRC, then the footer
 * CRC) so that mutations reach the structure validation and the column decoders behind them. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/crc32c.h"
#include "engine/segment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_everything(const uint8_t *data, size_t size)
{
    seg_reader *r = NULL;
    vt_err err;
    if (seg_open_mem("fuzz.vseg", data, size, &r, &err) != VT_OK)
        return;
    uint64_t blocks = 0;
    seg_verify(r, NULL, NULL, &blocks);
    for (size_t i = 0; i < r->nseries; i++) {
        const seg_series *s = &r->series[i];
        for (size_t f = 0; f < s->nfields; f++) {
            size_t first, count;
            seg_find_blocks(r, s->id, (uint32_t)f, &first, &count);
            seg_col c;
            seg_col_init(&c, s->fields[f].type);
            for (size_t b = first; b < first + count; b++)
                if (seg_read_block(r, b, &c, &err) != VT_OK)
                    break;
            for (size_t k = 1; k < c.n; k++) /* what was read is time-ascending */
                if (c.time[k] <= c.time[k - 1])
                    __builtin_trap();
            seg_col_free(&c);
        }
    }
    seg_unref(r);
}

static void fix_crcs(uint8_t *d, size_t size)
{
    if (size < 48)
        return;
    uint8_t *f = d + size - 32;
    uint64_t series_off = vt_get_u64(f), index_off = vt_get_u64(f + 8);
    size_t foot = size - 32;
    if (series_off <= index_off && index_off <= foot) {
        for (uint64_t at = index_off; at + 45 <= foot; at += 45) {
            uint64_t off = vt_get_u64(d + at);
            uint32_t len = vt_get_u32(d + at + 8);
            if (len >= 72 && off <= series_off && len <= series_off - off)
                vt_put_u32(d + off + len - 4, crc32c(d + off, len - 4));
        }
        vt_put_u32(f + 20, crc32c(d + series_off, foot - series_off));
    }
    vt_put_u32(f + 24, crc32c(f, 24));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    read_everything(data, size);
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    fix_crcs(copy, size);
    read_everything(copy, size);
    free(copy);
    return 0;
}
