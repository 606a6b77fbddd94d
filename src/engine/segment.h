/*
 * engine/segment.h — immutable segment files: writer, reader, verifier.
 *
 * A segment holds columns (series id, field) of one database as CRC-protected blocks of at most
 * block_points points, a series section (series keys and field types) and a footer index. The
 * byte layout is documented at the top of segment.c and in docs/format/segment.md.
 *
 * Readers work over bytes in memory (an mmap of the file, or a caller's buffer for fuzzing);
 * every structure is validated when the segment is opened (footer, series section, index), and
 * every block is CRC-checked and decoded on each read: a bad block yields VT_ECORRUPT
 * "segment <file>: block <n> at offset <o>: ...", never wrong data.
 */
#ifndef ENGINE_SEGMENT_H
#define ENGINE_SEGMENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/durable.h"
#include "common/error.h"
#include "common/point.h"

#define SEG_MAX_BLOCK_POINTS (1u << 20)

/* A column run in memory: times plus values in the array matching type (bool: bool[],
 * string: vt_str[]). Strings either point at storage someone else owns, or — when appended with
 * seg_col_push_copy — into the column's own arena (call seg_col_fix_strings before reading them). */
typedef struct seg_col {
    vt_type type;
    size_t n, cap;
    int64_t *time;
    void *val;
    vt_buf arena;
    bool oom;
} seg_col;

/* Bytes of one value of type t in a seg_col's val array. */
static inline size_t seg_type_size(vt_type t)
{
    switch (t) {
    case VT_TYPE_FLOAT:
        return sizeof(double);
    case VT_TYPE_INT:
        return sizeof(int64_t);
    case VT_TYPE_UINT:
        return sizeof(uint64_t);
    case VT_TYPE_BOOL:
        return sizeof(bool);
    case VT_TYPE_STRING:
        return sizeof(vt_str);
    default:
        return 8;
    }
}

void seg_col_init(seg_col *c, vt_type type);
void seg_col_free(seg_col *c);
void seg_col_clear(seg_col *c); /* n = 0, arena emptied, capacity kept */
bool seg_col_reserve(seg_col *c, size_t extra);
/* Appends (time, *val); val points at a value of the column's element type. */
void seg_col_push(seg_col *c, int64_t time, const void *val);
/* Same, copying string bytes into the column's arena (stored as offsets until fixed). */
void seg_col_push_copy(seg_col *c, int64_t time, const void *val);
void seg_col_fix_strings(seg_col *c);

/* ---- writer ---- */

typedef struct seg_field_def {
    vt_str name;
    vt_type type;
} seg_field_def;

typedef struct seg_series_def {
    uint64_t id;
    vt_str measurement;
    const vt_tag *tags;
    size_t ntags;
    const seg_field_def *fields; /* sorted by name; a block's field_no indexes this */
    size_t nfields;
} seg_series_def;

/* A value of a numeric column: .f (float), .i (integer) or .u (unsigned), per the block type. */
typedef union seg_num {
    double f;
    int64_t i;
    uint64_t u;
} seg_num;

/* Pre-aggregates of one block, stored in its index entry (format versions 3, 4 and 5) so that a query can
 * answer a whole block from the index without reading it. Which members are meaningful depends
 * on the block type (the others are 0):
 *   float:    sum, min, max over the values that are not NaN (nan_count of them are NaN; if all
 *             are, sum = 0, min = +Inf, max = -Inf). sum adds in time order in double (it may be
 *             ±Inf, or NaN when both +Inf and -Inf occur); min/max compare with < and > and keep
 *             the first of equal values (so -0.0 vs 0.0 depends on order). Bits are exact.
 *   integer:  sum = the exact sum modulo 2^64 (two's complement); sum_overflow is set when the
 *             exact sum is outside int64 (the query must then decode the block); min, max.
 *   unsigned: the same in uint64 (sum_overflow: exact sum > UINT64_MAX).
 *   boolean:  true_count = number of true values.
 *   string:   nothing.
 * Every read of a block (seg_read_block, hence seg_verify and engine_verify) checks them against
 * the decoded values: a mismatch is corruption ("pre-aggregates do not match the values"). */
typedef struct seg_preagg {
    seg_num sum, min, max;
    uint32_t nan_count;  /* float */
    uint32_t true_count; /* boolean */
    bool sum_overflow;   /* integer, unsigned */
    /* Selector statistics (format versions 4 and 5; has_selectors is false for blocks of older files):
     * first/last = the values at the block's min_time and max_time (boolean: .u = 0 or 1;
     * string: unset); min_at/max_at = the time of the FIRST point (in time order) holding the
     * min / the max (float: over the non-NaN values; unset when every value is NaN).
     * ("unset" = 0. Float first/last keep the exact bits, NaN payloads included. Boolean:
     * min_at = the first false, else the first true; max_at = the first true, else the first
     * false. String blocks have has_selectors = true in versions 4 and 5 with every selector unset.) */
    bool has_selectors;
    seg_num first, last;
    int64_t min_at, max_at;
} seg_preagg;

/* Computes the pre-aggregates of n values of type t at the n ascending times time[] (the
 * writer's and the reader's definition), selector statistics included (has_selectors = true). */
void seg_preagg_compute(vt_type t, const int64_t *time, const void *val, size_t n,
                        seg_preagg *out);
/* Bitwise equality of two pre-aggregates (float bits compared exactly, NaN included); the
 * selector statistics are compared when both have them, and has_selectors must agree. */
bool seg_preagg_equal(const seg_preagg *a, const seg_preagg *b);

typedef struct seg_index_entry {
    uint64_t offset;
    uint32_t length; /* whole block, CRC included */
    uint64_t series_id;
    uint32_t field_no;
    uint8_t type;
    uint32_t count;
    int64_t min_time, max_time;
    seg_preagg agg; /* pre-aggregates of the block's values (see seg_preagg) */
} seg_index_entry;

typedef struct seg_writer {
    durable_file file;
    bool open;
    size_t block_points;
    uint64_t offset; /* bytes written so far (flushed + pending) */
    vt_buf pending;  /* bytes not yet handed to durable_write */
    vt_buf ts, vals; /* scratch encoders */
    seg_index_entry *index;
    size_t nindex, index_cap;
    unsigned version; /* format version written (5; 3 only for tests and tools) */
    bool provisional; /* seg_writer_begin_provisional: fast encoders, header flag set */
    int meta_level;   /* zstd level of the version 4/5 meta section; 0 = store it as is. May be
                       * changed before seg_writer_finish (tests). */
} seg_writer;

vt_rc seg_writer_begin(seg_writer *w, const char *path, uint64_t segment_id, size_t block_points,
                       vt_err *err);
/* Same, for a flush (segment.c header flags, encoding.c note 10): the blocks are encoded with
 * ENC_FAST and the file is marked provisional, so compaction rewrites it with ENC_BEST even when
 * it is its database's only segment. */
vt_rc seg_writer_begin_provisional(seg_writer *w, const char *path, uint64_t segment_id,
                                   size_t block_points, vt_err *err);
/* Same, writing format version `version` (5, or 3 as older releases did: for tests of the
 * version 3 read path and for measurements; its blocks still use today's encoders). Version 4
 * is read, never written (its blocks must not hold Rice2). VT_EINVAL for another version. */
vt_rc seg_writer_begin_version(seg_writer *w, const char *path, uint64_t segment_id,
                               size_t block_points, unsigned version, vt_err *err);
/* Writes the column of (series_id, field_no); c must be time-ascending without duplicates.
 * Columns must come in (series_id, field_no) order. */
vt_rc seg_writer_add(seg_writer *w, uint64_t series_id, uint32_t field_no, const seg_col *c,
                     vt_err *err);
/* Appends block bi of r byte for byte, with its index entry (pre-aggregates included) at its
 * new offset: the block CRC covers its identity and bytes, not its offset, so the copy verifies
 * as the original did (repair: engine_segment_rewrite). A version 3 block copied into a
 * version 4 file is read (and so verified) to compute its selector statistics. Same ordering rule as seg_writer_add;
 * the series section given to seg_writer_finish must list the block's series with the same
 * fields (field numbers are part of the identity). */
struct seg_reader;
vt_rc seg_writer_copy_block(seg_writer *w, const struct seg_reader *r, size_t bi, vt_err *err);
/* Writes series section, index and footer, then commits the file durably. series sorted by id.
 * Releases the writer whatever the outcome (no seg_writer_abort needed afterwards). */
vt_rc seg_writer_finish(seg_writer *w, const seg_series_def *series, size_t nseries,
                        uint64_t *file_bytes, vt_err *err);
/* Abandons the file (temp file removed); safe after any failure. */
void seg_writer_abort(seg_writer *w);

/* ---- reader ---- */

typedef struct seg_series {
    uint64_t id;
    vt_str measurement; /* slices into the segment bytes (or the reader's decoded meta) */
    vt_tag *tags;
    size_t ntags;
    seg_field_def *fields;
    size_t nfields;
} seg_series;

typedef struct seg_reader {
    char *name; /* file path (or name given to seg_open_mem) */
    uint64_t segment_id;
    unsigned version; /* format version of the file (3, 4 or 5) */
    bool provisional; /* header flag bit 0 (version 5): written by a flush, to be rewritten */
    const uint8_t *data;
    size_t size;
    void *map;        /* mmap base when mapped */
    uint8_t *owned;   /* copy when opened from memory */
    uint8_t *meta_owned; /* decoded series section + index of a version 4 file with a zstd meta */
    atomic_int refs;
    seg_series *series; /* sorted by id */
    size_t nseries;
    seg_index_entry *blocks; /* sorted by (series_id, field_no, min_time) */
    size_t nblocks;
    atomic_uint_fast64_t *corrupt_counter; /* optional: incremented per corrupt block read */
} seg_reader;

/* Opens (mmaps) and validates the structure of a segment file; one reference held. */
vt_rc seg_open_file(const char *path, seg_reader **out, vt_err *err);
/* Parses path now and keeps the reader for the next seg_open_file of the same path, which gets
 * it without parsing again if the path still names the same file (device, inode, size, mtime).
 * For a restore's copy workers, whose CPU otherwise waits for the disk. A file that does not
 * parse is not kept (its real open reports the problem). Thread-safe. */
void seg_preload(const char *path);
/* Drops every preloaded reader not taken yet. */
void seg_preload_clear(void);
/* Readers preloaded and not taken yet (tests). */
size_t seg_preload_count(void);
/* Same over a copy of len bytes at data (fuzzing, tests). */
vt_rc seg_open_mem(const char *name, const void *data, size_t len, seg_reader **out, vt_err *err);
void seg_ref(seg_reader *r);
void seg_unref(seg_reader *r);

const seg_series *seg_find_series(const seg_reader *r, uint64_t id);
int seg_field_no(const seg_series *s, const char *name, size_t len);
/* Blocks [*first, *first + *count) of (series_id, field_no), ascending in time. */
void seg_find_blocks(const seg_reader *r, uint64_t series_id, uint32_t field_no, size_t *first,
                     size_t *count);
/* CRC-checks and decodes block bi, appending its points to out (out->type must match). */
vt_rc seg_read_block(const seg_reader *r, size_t bi, seg_col *out, vt_err *err);
/* Gives back the process's mapped pages (not the page cache's) that lie wholly within the
 * blocks of series_id: they count in the resident set of the process once read, and a
 * compaction reads every block of its inputs once (engine.c note 17). A later read of those
 * blocks maps the pages again. No-op for a reader over memory (seg_open_mem). */
void seg_release_series_pages(const seg_reader *r, uint64_t series_id);

/* Reads every block; reports each problem; returns the number of problems. */
typedef void (*seg_report_fn)(void *ctx, const char *file, uint64_t offset, const char *problem);
unsigned seg_verify(const seg_reader *r, seg_report_fn report, void *ctx, uint64_t *blocks);
/* Like seg_verify, but checks only each block's CRC32C and column framing, without decoding
 * (what a restore whose files matched their manifest hashes needs; seg_verify also decodes). */
unsigned seg_verify_checksums(const seg_reader *r, seg_report_fn report, void *ctx,
                              uint64_t *blocks);

/* Size accounting of a segment (added by the density work): where its bytes go. */
typedef struct seg_breakdown {
    uint64_t points, blocks;
    uint64_t ts_bytes;      /* encoded timestamp columns (tags included) */
    uint64_t val_bytes;     /* encoded value columns (tags included) */
    uint64_t block_framing; /* block headers and CRCs */
    uint64_t meta_bytes;    /* file header, series section, index, footer (as stored) */
} seg_breakdown;
void seg_get_breakdown(const seg_reader *r, seg_breakdown *out);

/* For fuzzing: recomputes, in place, every checksum of a (possibly mutated) segment image — the
 * block CRCs of the entries the index yields (with their identities), then the series/index
 * (meta) CRC, then the footer CRC; a version 4 zstd meta that does not decode gets only the
 * last two — so that mutations reach the structure checks and the decoders.
 * Never reads out of [d, d + size); stops at the first index entry it cannot parse. */
void seg_fix_checksums(uint8_t *d, size_t size);

#endif
