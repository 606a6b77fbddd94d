/* tests/fuzz/fuzz_segment.c — libFuzzer target: any byte string opened as a segment file must
 * be rejected cleanly or read without crashing; every block is verified and decoded, and every
 * column is read back through the calls the engine uses.
 *
 * Each input is tried twice: as is (exercises the checksum and structure checks), and with all
 * its CRCs recomputed by seg_fix_checksums (block CRCs from the index, then the series/index
 * CRC, then the footer CRC) so that mutations reach the structure validation, the column
 * decoders and the pre-aggregate checks behind them. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    read_everything(data, size);
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    seg_fix_checksums(copy, size);
    read_everything(copy, size);
    free(copy);
    return 0;
}
