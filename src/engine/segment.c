/*
 * engine/segment.c — segment files.
 *
 * NOTES ON THE SEGMENT FILE FORMAT (version 5, written; versions 4 and 3, still read;
 * docs/format/segment.md has the same, with tables)
 *
 * Version 5 has exactly version 4's layout (everything below that says "version 4" holds for
 * 5). What changed is inside the blocks: their columns may use istream packing 3 (Rice2,
 * engine/encoding.c note 3), which a version 4 reader does not know. The version number says
 * so up front, so an older volta refuses the file as "unsupported version 5" instead of
 * reporting every such block as corrupt (which could send an operator to `volta repair`).
 *
 * A segment is an immutable file holding columns of one database. All integers are
 * little-endian; "uvarint" is LEB128, zz() zigzag. A file is laid out as
 *
 *     header | block 0 | block 1 | ... | meta (series section + index) | footer
 *
 * The header is 16 bytes:
 *     0   4  magic "VSEG"
 *     4   2  version (5; 4 and 3 for files of older releases)
 *     6   2  flags: bit 0 = provisional (written by a flush with the quick encoders,
 *              encoding.c note 10: compaction rewrites such a file even when it is a
 *              database's only one); the other bits are 0 and ignored on read. Version 3 and
 *              4 files have 0. Not covered by a CRC: a flipped flag costs at most one
 *              needless or one missed rewrite, never a wrong answer.
 *     8   8  segment id (also in the file name)
 *
 * BLOCKS (the same in versions 3 and 4). A block holds up to block_points points of one
 * column (series id, field), time-ascending with unique times. Blocks are contiguous: block 0
 * starts at 16, each next one where the previous ends, the last ends at the meta section. A
 * block of length L is
 *     uvarint ts_len (>= 1) | ts_len bytes: encoded timestamps (engine/encoding.h: tag byte +
 *     payload) | L - 4 - len(uvarint) - ts_len (>= 1) bytes: encoded values | u32 CRC-32C
 * where the CRC covers the block's identity taken from its index entry (series id u64, field
 * number u32, type u8, count u32, min time i64, max time i64: 33 bytes) followed by the block
 * bytes [0, L-4). Nothing else is stored in the block: the index has the rest, and the
 * identity in the CRC catches a block read through the wrong entry.
 *
 * VERSION 4 META. The series section and the index are one byte string ("meta"), stored as is
 * or as one zstd frame (whichever is smaller; the footer says which):
 *
 *   Series section: uvarint nseries, then per series ascending by id:
 *       uvarint id - previous id (the first: the id; later ones >= 1), uvarint len +
 *       measurement, uvarint ntags, ntags x (uvarint len + key, uvarint len + value) sorted by
 *       key, uvarint nfields (>= 1), nfields x (u8 type, uvarint len + name) sorted by name
 *
 *   Index: one entry per block, sorted by (series id, field number, min time):
 *       uvarint series id - previous series id | uvarint field number |
 *       u8 type (bits 0-2) + time scale e (bits 3-7, 0..18) | uvarint count | uvarint L |
 *       uvarint zz((min time - previous max time) / 10^e) | uvarint (max time - min time) / 10^e |
 *       pre-aggregates (by type) | selector times
 *     ("previous" = the previous entry; 0 for the first; differences wrap modulo 2^64.) e is
 *     the largest power of ten (<= 18) dividing every time difference of the entry, so
 *     hourly nanosecond times cost 1-3 bytes each instead of 6-8.
 *     Pre-aggregates (semantics in segment.h, seg_preagg):
 *       float:    uvarint nan_count, then
 *                 all NaN: f64 first | f64 last (sum -0.0, min +Inf, max -Inf implied)
 *                 else: u8 fmt (bits 0-4: d, 0..22 = decimal digits, 31 = raw; bit 5: sum
 *                 raw; bits 6-7: 0), then
 *                   decimal (d): uvarint zz(Mmin) | uvarint Mmax - Mmin | uvarint Mfirst - Mmin
 *                     | uvarint Mlast - Mmin, where value = (double)M / 10^d bit for bit
 *                     (|M| <= 2^53), and unless bit 5: the sum as uvarint zz(S) | uvarint
 *                     zz(bits(sum) - bits((double)S / 10^d)) (a correction in units in the
 *                     last place, modulo 2^64); with bit 5: f64 sum
 *                   raw (31): f64 min | f64 max | f64 first | f64 last | f64 sum
 *       integer:  u8 flags (bit 0: sum overflowed) | uvarint zz(sum) | uvarint zz(min) |
 *                 uvarint max - min | uvarint first - min | uvarint last - min
 *       unsigned: u8 flags | uvarint sum | uvarint min | uvarint max - min | uvarint first - min
 *                 | uvarint last - min
 *       boolean:  uvarint true count | u8 (bit 0: first, bit 1: last; other bits 0)
 *       string:   nothing
 *     Selector times, present when the type is not string, count > 1 and (float) not every
 *     value is NaN: uvarint (min_at - min time) / 10^e | uvarint (max_at - min time) / 10^e.
 *     Absent: count = 1 gives min_at = max_at = min time; string and all-NaN blocks leave
 *     them 0.
 *
 *   Footer, the last 44 bytes:
 *     0   8  offset of the meta section (where the blocks end)
 *     8   8  decoded meta length
 *    16   8  series section length (in the decoded meta; the index follows it)
 *    24   4  number of blocks
 *    28   1  meta encoding: 0 = stored, 1 = one zstd frame
 *    29   1  version 5: the version again (5), so that a flipped bit of the header's version
 *            cannot pass a version 5 file off as version 4 or back; version 4: 0
 *    30   2  reserved (0)
 *    32   4  CRC-32C of the stored meta bytes [meta offset, footer offset)
 *    36   4  CRC-32C of footer bytes [0, 36)
 *    40   4  magic "VSGF"
 *
 * VERSION 3 (read only; written by seg_writer_begin_version for tests): the same blocks, then
 *   Series section: u32 nseries, then per series: u64 id, then as in version 4.
 *   Index entries: uvarint series id delta | uvarint field number | u8 type | uvarint count |
 *     uvarint L | uvarint zz(min time - previous max time) | uvarint max time - min time |
 *     float: uvarint nan_count | f64 sum | f64 min | f64 max; integer: u8 flags | uvarint
 *     zz(sum) | uvarint zz(min) | uvarint max - min; unsigned: u8 flags | uvarint sum |
 *     uvarint min | uvarint max - min; boolean: uvarint true count; string: nothing. No
 *     selector statistics (has_selectors = false).
 *   Footer (32 bytes): u64 series offset | u64 index offset | u32 nblocks | u32 CRC-32C of
 *     [series offset, footer offset) | u32 CRC-32C of footer [0, 24) | magic "VSGF".
 *
 * The meta CRC covers the pre-aggregates; the block CRC does not (they are checked against
 * the decoded values instead). A reader decodes the meta once on open (a zstd meta into a
 * buffer the reader owns; series names and tags point into it).
 *
 * INVARIANTS checked on open: magics and version; footer CRC; offsets in range; meta CRC;
 * (v4) encoding known, reserved bytes 0, zstd frame decodes to exactly the stated length,
 * series length <= meta length; series ids strictly ascending, field names strictly ascending
 * per series; the index holds exactly nblocks entries and nothing after them; the blocks tile
 * [16, meta offset) exactly, each of length >= 7; each entry names an existing series and
 * field with the field's type, has 1 <= count <= 2^20, min <= max, max - min >= count - 1
 * (and = 0 exactly when count = 1), no scaled time difference overflows, and the blocks of one
 * column do not overlap in time; pre-aggregates: nan_count and true count <= count, flags in
 * {0, 1}, min + (max - min) does not overflow, first/last - min <= max - min, float min <= max
 * (neither NaN) unless all are NaN, decimal mantissas within 2^53, selector times within
 * [min time, max time]. On every block read: CRC (with the identity), column lengths, times
 * strictly ascending and equal to min/max at the ends, values decode to exactly count values,
 * and the pre-aggregates (selector statistics included, for v4) recomputed from the values
 * equal the index entry's bit for bit.
 */
#include "engine/segment.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "common/bigalloc.h"
#include "common/crc32c.h"
#include "common/pow10.h"
#include "engine/encoding.h"

#define SEG_MAGIC "VSEG"
#define SEG_FLAG_PROVISIONAL 1u
#define SEG_FOOTER_MAGIC "VSGF"
#define SEG_VERSION 5    /* written: version 4's layout; blocks may use istream packing 3 */
#define SEG_VERSION_V4 4 /* still read (same layout, no Rice2 in its blocks) */
#define SEG_VERSION_V3 3 /* still read */
#define SEG_HEADER_LEN 16
#define SEG_BLOCK_MIN 7 /* uvarint ts_len, two tags, CRC */
#define SEG_INDEX_MIN 7 /* smallest index entry */
#define SEG_FOOTER_LEN_V3 32
#define SEG_FOOTER_LEN_V4 44
#define SEG_META_STORED 0
#define SEG_META_ZSTD 1
#define SEG_META_LEVEL 3             /* zstd level of the meta section */
#define SEG_META_MAX ((size_t)1 << 31) /* decoded meta bound (a reader allocates it) */
#define SEG_TSCALE_MAX 18
#define SEG_FMT_RAW 31
#define SEG_FMT_SUM_RAW 0x20
#define SEG_PENDING_FLUSH (1u << 20)

/* ---- columns ---- */

void seg_col_init(seg_col *c, vt_type type)
{
    memset(c, 0, sizeof *c);
    c->type = type;
    vt_buf_init(&c->arena);
}

void seg_col_free(seg_col *c)
{
    free(c->time);
    free(c->val);
    vt_buf_free(&c->arena);
    memset(c, 0, sizeof *c);
}

void seg_col_clear(seg_col *c)
{
    c->n = 0;
    vt_buf_reset(&c->arena);
}

bool seg_col_reserve(seg_col *c, size_t extra)
{
    if (c->oom)
        return false;
    if (extra <= c->cap - c->n)
        return true;
    size_t need = c->n + extra;
    size_t ncap = c->cap ? c->cap : 64;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 32) {
            c->oom = true;
            return false;
        }
        ncap *= 2;
    }
    int64_t *nt = realloc(c->time, ncap * sizeof *nt);
    if (!nt) {
        c->oom = true;
        return false;
    }
    c->time = nt;
    void *nv = realloc(c->val, ncap * seg_type_size(c->type));
    if (!nv) {
        c->oom = true;
        return false;
    }
    c->val = nv;
    c->cap = ncap;
    return true;
}

void seg_col_push(seg_col *c, int64_t time, const void *val)
{
    if (!seg_col_reserve(c, 1))
        return;
    size_t es = seg_type_size(c->type);
    c->time[c->n] = time;
    memcpy((uint8_t *)c->val + c->n * es, val, es);
    c->n++;
}

void seg_col_push_copy(seg_col *c, int64_t time, const void *val)
{
    if (c->type != VT_TYPE_STRING) {
        seg_col_push(c, time, val);
        return;
    }
    vt_str s;
    memcpy(&s, val, sizeof s);
    size_t off = c->arena.len;
    vt_buf_append(&c->arena, s.ptr, s.len);
    if (c->arena.oom)
        c->oom = true;
    vt_str stored = {(const char *)(uintptr_t)off, s.len};
    seg_col_push(c, time, &stored);
}

void seg_col_fix_strings(seg_col *c)
{
    if (c->type != VT_TYPE_STRING)
        return;
    vt_str *s = c->val;
    for (size_t i = 0; i < c->n; i++) {
        uintptr_t off = (uintptr_t)s[i].ptr;
        s[i].ptr = c->arena.data ? (const char *)c->arena.data + off : "";
    }
}

/* ---- pre-aggregates ---- */

void seg_preagg_compute(vt_type t, const int64_t *time, const void *val, size_t n,
                        seg_preagg *out)
{
    memset(out, 0, sizeof *out);
    out->has_selectors = true;
    switch (t) {
    case VT_TYPE_FLOAT: {
        const double *v = val;
        double sum = -0.0, mn = INFINITY, mx = -INFINITY;
        uint32_t nan = 0;
        bool have = false;
        for (size_t i = 0; i < n; i++) {
            double x = v[i];
            if (isnan(x)) {
                nan++;
                continue;
            }
            sum += x;
            /* the first non-NaN value sets both: +Inf / -Inf alone still get their time */
            if (!have || x < mn) {
                mn = x;
                out->min_at = time[i];
            }
            if (!have || x > mx) {
                mx = x;
                out->max_at = time[i];
            }
            have = true;
        }
        out->sum.f = sum;
        out->min.f = mn;
        out->max.f = mx;
        out->nan_count = nan;
        if (n) { /* bits copied: NaN payloads kept */
            memcpy(&out->first.u, &v[0], sizeof(double));
            memcpy(&out->last.u, &v[n - 1], sizeof(double));
        }
        break;
    }
    case VT_TYPE_INT: {
        const int64_t *v = val;
        int64_t sum = 0, carry = 0;
        for (size_t i = 0; i < n; i++) {
            int64_t r;
            if (__builtin_add_overflow(sum, v[i], &r)) /* r holds the wrapped sum */
                carry += v[i] < 0 ? -1 : 1;
            sum = r;
            if (i == 0 || v[i] < out->min.i) {
                out->min.i = v[i];
                out->min_at = time[i];
            }
            if (i == 0 || v[i] > out->max.i) {
                out->max.i = v[i];
                out->max_at = time[i];
            }
        }
        /* exact sum = sum + carry * 2^64, inside int64 exactly when carry == 0 */
        out->sum.i = sum;
        out->sum_overflow = carry != 0;
        if (n) {
            out->first.i = v[0];
            out->last.i = v[n - 1];
        }
        break;
    }
    case VT_TYPE_UINT: {
        const uint64_t *v = val;
        uint64_t sum = 0;
        for (size_t i = 0; i < n; i++) {
            if (__builtin_add_overflow(sum, v[i], &sum))
                out->sum_overflow = true;
            if (i == 0 || v[i] < out->min.u) {
                out->min.u = v[i];
                out->min_at = time[i];
            }
            if (i == 0 || v[i] > out->max.u) {
                out->max.u = v[i];
                out->max_at = time[i];
            }
        }
        out->sum.u = sum;
        if (n) {
            out->first.u = v[0];
            out->last.u = v[n - 1];
        }
        break;
    }
    case VT_TYPE_BOOL: {
        const bool *v = val;
        uint32_t k = 0;
        bool mn = true, mx = false;
        for (size_t i = 0; i < n; i++) {
            k += v[i] ? 1u : 0u;
            if (i == 0 || (!v[i] && mn)) { /* min: the first false (else the first true) */
                mn = v[i];
                out->min_at = time[i];
            }
            if (i == 0 || (v[i] && !mx)) { /* max: the first true (else the first false) */
                mx = v[i];
                out->max_at = time[i];
            }
        }
        out->true_count = k;
        if (n) {
            out->first.u = v[0] ? 1 : 0;
            out->last.u = v[n - 1] ? 1 : 0;
        }
        break;
    }
    default:
        break;
    }
}

bool seg_preagg_equal(const seg_preagg *a, const seg_preagg *b)
{
    if (a->sum.u != b->sum.u || a->min.u != b->min.u || a->max.u != b->max.u ||
        a->nan_count != b->nan_count || a->true_count != b->true_count ||
        a->sum_overflow != b->sum_overflow || a->has_selectors != b->has_selectors)
        return false;
    return !a->has_selectors || (a->first.u == b->first.u && a->last.u == b->last.u &&
                                 a->min_at == b->min_at && a->max_at == b->max_at);
}

/* Turns computed pre-aggregates into what a version 3 entry holds (no selector statistics). */
static void preagg_drop_selectors(seg_preagg *a)
{
    a->has_selectors = false;
    a->first.u = a->last.u = 0;
    a->min_at = a->max_at = 0;
}

static uint64_t f64_bits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static double f64_from(uint64_t u)
{
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

static bool read_f64(vt_reader *rd, double *x)
{
    uint64_t u;
    if (!vt_read_u64(rd, &u))
        return false;
    *x = f64_from(u);
    return true;
}

static unsigned uvarint_len(uint64_t v)
{
    unsigned n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

#define SEG_DEC_MAX 22 /* 10^22 is the largest power of ten exact in a double */
#define SEG_TWO53 ((int64_t)1 << 53)

/* M with (double)M / 10^d == x bit for bit and |M| <= 2^53, or false (NaN, Inf, -0.0, too
 * many digits). */
static bool dec_of(double x, unsigned d, int64_t *m)
{
    double y = x * vt_pow10_f64[d];
    if (!(y >= -9007199254740992.0 && y <= 9007199254740992.0))
        return false;
    int64_t i = (int64_t)(y < 0 ? y - 0.5 : y + 0.5);
    uint64_t want = f64_bits(x);
    for (int k = 0; k < 3; k++) {
        int64_t c = k == 0 ? i : k == 1 ? i + 1 : i - 1;
        if (c >= -SEG_TWO53 && c <= SEG_TWO53 && f64_bits((double)c / vt_pow10_f64[d]) == want) {
            *m = c;
            return true;
        }
    }
    return false;
}

/* Does the entry store selector times (see the format notes)? */
static bool has_sel_times(uint8_t ty, uint64_t count, uint64_t nan)
{
    return ty != VT_TYPE_STRING && count > 1 && !(ty == VT_TYPE_FLOAT && nan == count);
}

static uint64_t mag(int64_t x)
{
    return x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
}

/* Version 3 entry (prev_sid / prev_max: the previous entry's, 0 for the first). */
static void index_put_v3(vt_buf *b, const seg_index_entry *e, uint64_t prev_sid,
                         int64_t prev_max)
{
    vt_buf_put_uvarint(b, e->series_id - prev_sid);
    vt_buf_put_uvarint(b, e->field_no);
    vt_buf_putc(b, e->type);
    vt_buf_put_uvarint(b, e->count);
    vt_buf_put_uvarint(b, e->length);
    vt_buf_put_uvarint(b, vt_zigzag((int64_t)((uint64_t)e->min_time - (uint64_t)prev_max)));
    vt_buf_put_uvarint(b, (uint64_t)e->max_time - (uint64_t)e->min_time);
    const seg_preagg *a = &e->agg;
    switch (e->type) {
    case VT_TYPE_FLOAT:
        vt_buf_put_uvarint(b, a->nan_count);
        vt_buf_put_u64(b, a->sum.u);
        vt_buf_put_u64(b, a->min.u);
        vt_buf_put_u64(b, a->max.u);
        break;
    case VT_TYPE_INT:
        vt_buf_putc(b, a->sum_overflow ? 1 : 0);
        vt_buf_put_uvarint(b, vt_zigzag(a->sum.i));
        vt_buf_put_uvarint(b, vt_zigzag(a->min.i));
        vt_buf_put_uvarint(b, a->max.u - a->min.u);
        break;
    case VT_TYPE_UINT:
        vt_buf_putc(b, a->sum_overflow ? 1 : 0);
        vt_buf_put_uvarint(b, a->sum.u);
        vt_buf_put_uvarint(b, a->min.u);
        vt_buf_put_uvarint(b, a->max.u - a->min.u);
        break;
    case VT_TYPE_BOOL:
        vt_buf_put_uvarint(b, a->true_count);
        break;
    default:
        break;
    }
}

/* Float pre-aggregates of a version 4 entry (not all NaN). */
static void put_float_v4(vt_buf *b, const seg_preagg *a)
{
    int64_t m[4];
    const double v[4] = {a->min.f, a->max.f, f64_from(a->first.u), f64_from(a->last.u)};
    unsigned d = 0;
    for (; d <= SEG_DEC_MAX; d++) {
        int k = 0;
        while (k < 4 && dec_of(v[k], d, &m[k]))
            k++;
        if (k == 4)
            break;
    }
    if (d > SEG_DEC_MAX) {
        vt_buf_putc(b, SEG_FMT_RAW);
        vt_buf_put_u64(b, a->min.u);
        vt_buf_put_u64(b, a->max.u);
        vt_buf_put_u64(b, a->first.u);
        vt_buf_put_u64(b, a->last.u);
        vt_buf_put_u64(b, a->sum.u);
        return;
    }
    /* the sum as a decimal S plus a correction in ulps, when that is shorter than 8 bytes */
    bool sum_raw = true;
    int64_t S = 0;
    uint64_t corr = 0;
    double y = a->sum.f * vt_pow10_f64[d];
    if (isfinite(a->sum.f) && y > -4.0e18 && y < 4.0e18) {
        S = (int64_t)(y < 0 ? y - 0.5 : y + 0.5);
        corr = vt_zigzag((int64_t)(a->sum.u - f64_bits((double)S / vt_pow10_f64[d])));
        sum_raw = uvarint_len(vt_zigzag(S)) + uvarint_len(corr) >= 8;
    }
    vt_buf_putc(b, (uint8_t)(d | (sum_raw ? SEG_FMT_SUM_RAW : 0)));
    vt_buf_put_uvarint(b, vt_zigzag(m[0]));
    for (int k = 1; k < 4; k++)
        vt_buf_put_uvarint(b, (uint64_t)(m[k] - m[0]));
    if (sum_raw) {
        vt_buf_put_u64(b, a->sum.u);
    } else {
        vt_buf_put_uvarint(b, vt_zigzag(S));
        vt_buf_put_uvarint(b, corr);
    }
}

/* Version 4 entry (see the format notes). */
static void index_put_v4(vt_buf *b, const seg_index_entry *e, uint64_t prev_sid,
                         int64_t prev_max)
{
    const seg_preagg *a = &e->agg;
    int64_t dmin = (int64_t)((uint64_t)e->min_time - (uint64_t)prev_max);
    uint64_t span = (uint64_t)e->max_time - (uint64_t)e->min_time;
    bool times = has_sel_times(e->type, e->count, a->nan_count);
    uint64_t dmin_at = times ? (uint64_t)a->min_at - (uint64_t)e->min_time : 0;
    uint64_t dmax_at = times ? (uint64_t)a->max_at - (uint64_t)e->min_time : 0;
    unsigned sc = 0;
    while (sc < SEG_TSCALE_MAX) {
        uint64_t p = vt_pow10_u64[sc + 1];
        if (mag(dmin) % p || span % p || dmin_at % p || dmax_at % p)
            break;
        sc++;
    }
    uint64_t p = vt_pow10_u64[sc];
    vt_buf_put_uvarint(b, e->series_id - prev_sid);
    vt_buf_put_uvarint(b, e->field_no);
    vt_buf_putc(b, (uint8_t)(e->type | sc << 3));
    vt_buf_put_uvarint(b, e->count);
    vt_buf_put_uvarint(b, e->length);
    vt_buf_put_uvarint(b, vt_zigzag(dmin / (int64_t)p));
    vt_buf_put_uvarint(b, span / p);
    switch (e->type) {
    case VT_TYPE_FLOAT:
        vt_buf_put_uvarint(b, a->nan_count);
        if (a->nan_count == e->count) {
            vt_buf_put_u64(b, a->first.u);
            vt_buf_put_u64(b, a->last.u);
        } else {
            put_float_v4(b, a);
        }
        break;
    case VT_TYPE_INT:
    case VT_TYPE_UINT:
        vt_buf_putc(b, a->sum_overflow ? 1 : 0);
        vt_buf_put_uvarint(b, e->type == VT_TYPE_INT ? vt_zigzag(a->sum.i) : a->sum.u);
        vt_buf_put_uvarint(b, e->type == VT_TYPE_INT ? vt_zigzag(a->min.i) : a->min.u);
        vt_buf_put_uvarint(b, a->max.u - a->min.u);
        vt_buf_put_uvarint(b, a->first.u - a->min.u);
        vt_buf_put_uvarint(b, a->last.u - a->min.u);
        break;
    case VT_TYPE_BOOL:
        vt_buf_put_uvarint(b, a->true_count);
        vt_buf_putc(b, (uint8_t)((a->first.u ? 1 : 0) | (a->last.u ? 2 : 0)));
        break;
    default:
        break;
    }
    if (times) {
        vt_buf_put_uvarint(b, dmin_at / p);
        vt_buf_put_uvarint(b, dmax_at / p);
    }
}

/* An index entry as stored, before validation; times already unscaled (v4). */
typedef struct raw_entry {
    uint64_t dsid, fno, cnt, len, span;
    int64_t dmin;
    uint8_t ty;
    uint8_t flags;
    uint64_t nan, ntrue, delta;     /* float NaN count, boolean true count, max - min */
    uint64_t dfirst, dlast;         /* v4 integer/unsigned: first - min, last - min */
    uint64_t dmin_at, dmax_at;      /* v4: selector times - min time */
    bool times;                     /* v4: selector times stored */
    bool bad;                       /* v4: a value out of its range (scaled time, mantissa) */
    seg_preagg agg;                 /* as stored: sum and min (float: all but NaN count) */
} raw_entry;

/* Reads one version 3 entry; false when truncated. Unknown types carry no pre-aggregates. */
static bool index_read_v3(vt_reader *ir, raw_entry *x)
{
    memset(x, 0, sizeof *x);
    uint64_t u;
    if (!vt_read_uvarint(ir, &x->dsid) || !vt_read_uvarint(ir, &x->fno) ||
        !vt_read_u8(ir, &x->ty) || !vt_read_uvarint(ir, &x->cnt) ||
        !vt_read_uvarint(ir, &x->len) || !vt_read_uvarint(ir, &u) ||
        !vt_read_uvarint(ir, &x->span))
        return false;
    x->dmin = vt_unzigzag(u);
    switch (x->ty) {
    case VT_TYPE_FLOAT:
        return vt_read_uvarint(ir, &x->nan) && read_f64(ir, &x->agg.sum.f) &&
               read_f64(ir, &x->agg.min.f) && read_f64(ir, &x->agg.max.f);
    case VT_TYPE_INT:
        if (!vt_read_u8(ir, &x->flags) || !vt_read_uvarint(ir, &u))
            return false;
        x->agg.sum.i = vt_unzigzag(u);
        if (!vt_read_uvarint(ir, &u))
            return false;
        x->agg.min.i = vt_unzigzag(u);
        return vt_read_uvarint(ir, &x->delta);
    case VT_TYPE_UINT:
        return vt_read_u8(ir, &x->flags) && vt_read_uvarint(ir, &x->agg.sum.u) &&
               vt_read_uvarint(ir, &x->agg.min.u) && vt_read_uvarint(ir, &x->delta);
    case VT_TYPE_BOOL:
        return vt_read_uvarint(ir, &x->ntrue);
    default:
        return true;
    }
}

/* Float pre-aggregates of a version 4 entry that is not all NaN. */
static bool read_float_v4(vt_reader *ir, raw_entry *x)
{
    seg_preagg *a = &x->agg;
    uint8_t fmt;
    if (!vt_read_u8(ir, &fmt))
        return false;
    unsigned d = fmt & 0x1f;
    if (d == SEG_FMT_RAW) {
        if (fmt != SEG_FMT_RAW)
            x->bad = true;
        return vt_read_u64(ir, &a->min.u) && vt_read_u64(ir, &a->max.u) &&
               vt_read_u64(ir, &a->first.u) && vt_read_u64(ir, &a->last.u) &&
               vt_read_u64(ir, &a->sum.u);
    }
    uint64_t z, dv[3];
    if (!vt_read_uvarint(ir, &z) || !vt_read_uvarint(ir, &dv[0]) ||
        !vt_read_uvarint(ir, &dv[1]) || !vt_read_uvarint(ir, &dv[2]))
        return false;
    int64_t m0 = vt_unzigzag(z);
    if (d > SEG_DEC_MAX || (fmt & ~(SEG_FMT_SUM_RAW | 0x1f)) || m0 < -SEG_TWO53 ||
        m0 > SEG_TWO53 || dv[0] > (uint64_t)(SEG_TWO53 - m0) || dv[1] > dv[0] ||
        dv[2] > dv[0]) {
        x->bad = true;
        d = 0;
        m0 = 0;
        dv[0] = dv[1] = dv[2] = 0;
    }
    double p = vt_pow10_f64[d];
    a->min.f = (double)m0 / p;
    a->max.f = (double)(m0 + (int64_t)dv[0]) / p;
    a->first.u = f64_bits((double)(m0 + (int64_t)dv[1]) / p);
    a->last.u = f64_bits((double)(m0 + (int64_t)dv[2]) / p);
    if (fmt & SEG_FMT_SUM_RAW)
        return vt_read_u64(ir, &a->sum.u);
    uint64_t corr;
    if (!vt_read_uvarint(ir, &z) || !vt_read_uvarint(ir, &corr))
        return false;
    a->sum.u = f64_bits((double)vt_unzigzag(z) / p) + (uint64_t)vt_unzigzag(corr);
    return true;
}

/* Reads one version 4 entry; false when truncated (x->bad: a value out of range). */
static bool index_read_v4(vt_reader *ir, raw_entry *x)
{
    memset(x, 0, sizeof *x);
    uint64_t zmin, sspan;
    uint8_t tt;
    if (!vt_read_uvarint(ir, &x->dsid) || !vt_read_uvarint(ir, &x->fno) ||
        !vt_read_u8(ir, &tt) || !vt_read_uvarint(ir, &x->cnt) ||
        !vt_read_uvarint(ir, &x->len) || !vt_read_uvarint(ir, &zmin) ||
        !vt_read_uvarint(ir, &sspan))
        return false;
    x->ty = tt & 7;
    unsigned sc = tt >> 3;
    if (sc > SEG_TSCALE_MAX) {
        x->bad = true;
        sc = 0;
    }
    uint64_t p = vt_pow10_u64[sc];
    int64_t q = vt_unzigzag(zmin);
    if ((sc > 0 && mag(q) > (uint64_t)INT64_MAX / p) || sspan > UINT64_MAX / p) {
        x->bad = true; /* (scale 1: any difference, INT64_MIN included, as in version 3) */
    } else {
        x->dmin = (int64_t)((uint64_t)q * p);
        x->span = sspan * p;
    }
    seg_preagg *a = &x->agg;
    switch (x->ty) {
    case VT_TYPE_FLOAT:
        if (!vt_read_uvarint(ir, &x->nan))
            return false;
        if (x->nan == x->cnt) {
            a->min.f = INFINITY;
            a->max.f = -INFINITY;
            a->sum.f = -0.0;
            if (!vt_read_u64(ir, &a->first.u) || !vt_read_u64(ir, &a->last.u))
                return false;
        } else if (!read_float_v4(ir, x)) {
            return false;
        }
        break;
    case VT_TYPE_INT:
    case VT_TYPE_UINT:
        if (!vt_read_u8(ir, &x->flags) || !vt_read_uvarint(ir, &a->sum.u) ||
            !vt_read_uvarint(ir, &a->min.u) || !vt_read_uvarint(ir, &x->delta) ||
            !vt_read_uvarint(ir, &x->dfirst) || !vt_read_uvarint(ir, &x->dlast))
            return false;
        if (x->ty == VT_TYPE_INT) {
            a->sum.i = vt_unzigzag(a->sum.u);
            a->min.i = vt_unzigzag(a->min.u);
        }
        break;
    case VT_TYPE_BOOL:
        if (!vt_read_uvarint(ir, &x->ntrue) || !vt_read_u8(ir, &x->flags))
            return false;
        break;
    default:
        break;
    }
    x->times = has_sel_times(x->ty, x->cnt, x->nan);
    if (x->times) {
        if (!vt_read_uvarint(ir, &x->dmin_at) || !vt_read_uvarint(ir, &x->dmax_at))
            return false;
        if (x->dmin_at > sspan || x->dmax_at > sspan)
            x->bad = true;
        x->dmin_at *= p; /* <= span: no overflow */
        x->dmax_at *= p;
    }
    return true;
}

static bool index_read(unsigned version, vt_reader *ir, raw_entry *x)
{
    return version == SEG_VERSION_V3 ? index_read_v3(ir, x) : index_read_v4(ir, x);
}

/* Validates the stored pre-aggregates of x against its type and count (count already checked)
 * and completes them into e->agg (e: time range set); false when they cannot be right. */
static bool preagg_finish(unsigned version, raw_entry *x, seg_index_entry *e)
{
    seg_preagg *a = &x->agg;
    bool ok = true;
    switch (x->ty) {
    case VT_TYPE_FLOAT:
        if (x->nan > x->cnt)
            return false;
        a->nan_count = (uint32_t)x->nan;
        ok = x->nan == x->cnt || (!isnan(a->min.f) && !isnan(a->max.f) && a->min.f <= a->max.f);
        break;
    case VT_TYPE_INT:
        if (x->flags > 1 || x->delta > (uint64_t)INT64_MAX - (uint64_t)a->min.i)
            return false;
        a->sum_overflow = x->flags != 0;
        a->max.u = a->min.u + x->delta;
        break;
    case VT_TYPE_UINT:
        if (x->flags > 1 || x->delta > UINT64_MAX - a->min.u)
            return false;
        a->sum_overflow = x->flags != 0;
        a->max.u = a->min.u + x->delta;
        break;
    case VT_TYPE_BOOL:
        if (x->ntrue > x->cnt)
            return false;
        a->true_count = (uint32_t)x->ntrue;
        break;
    default:
        break;
    }
    if (!ok || version == SEG_VERSION_V3) {
        e->agg = *a;
        return ok;
    }
    if (x->bad)
        return false;
    a->has_selectors = true;
    switch (x->ty) {
    case VT_TYPE_INT:
    case VT_TYPE_UINT:
        if (x->dfirst > x->delta || x->dlast > x->delta)
            return false;
        a->first.u = a->min.u + x->dfirst;
        a->last.u = a->min.u + x->dlast;
        break;
    case VT_TYPE_BOOL:
        if (x->flags > 3)
            return false;
        a->first.u = x->flags & 1;
        a->last.u = x->flags >> 1;
        break;
    default:
        break;
    }
    if (x->times) {
        a->min_at = (int64_t)((uint64_t)e->min_time + x->dmin_at);
        a->max_at = (int64_t)((uint64_t)e->min_time + x->dmax_at);
    } else if (x->ty != VT_TYPE_STRING && !(x->ty == VT_TYPE_FLOAT && x->nan == x->cnt)) {
        a->min_at = a->max_at = e->min_time; /* a single point */
    }
    e->agg = *a;
    return true;
}

/* ---- writer ---- */

static vt_rc writer_drain(seg_writer *w, vt_err *err)
{
    if (w->pending.oom)
        return vt_err_set(err, VT_ENOMEM, "segment %s: out of memory", w->file.path);
    if (w->pending.len == 0)
        return VT_OK;
    vt_rc rc = durable_write(&w->file, w->pending.data, w->pending.len, err);
    vt_buf_reset(&w->pending);
    return rc;
}

vt_rc seg_writer_begin(seg_writer *w, const char *path, uint64_t segment_id, size_t block_points,
                       vt_err *err)
{
    return seg_writer_begin_version(w, path, segment_id, block_points, SEG_VERSION, err);
}

static vt_rc writer_begin(seg_writer *w, const char *path, uint64_t segment_id,
                          size_t block_points, unsigned version, bool provisional, vt_err *err);

vt_rc seg_writer_begin_provisional(seg_writer *w, const char *path, uint64_t segment_id,
                                   size_t block_points, vt_err *err)
{
    return writer_begin(w, path, segment_id, block_points, SEG_VERSION, true, err);
}

vt_rc seg_writer_begin_version(seg_writer *w, const char *path, uint64_t segment_id,
                               size_t block_points, unsigned version, vt_err *err)
{
    return writer_begin(w, path, segment_id, block_points, version, false, err);
}

static vt_rc writer_begin(seg_writer *w, const char *path, uint64_t segment_id,
                          size_t block_points, unsigned version, bool provisional, vt_err *err)
{
    memset(w, 0, sizeof *w);
    vt_buf_init(&w->pending);
    vt_buf_init(&w->ts);
    vt_buf_init(&w->vals);
    if (version != SEG_VERSION && version != SEG_VERSION_V3)
        return vt_err_set(err, VT_EINVAL, "segment %s: cannot write format version %u", path,
                          version);
    w->version = version;
    w->provisional = provisional;
    w->meta_level = SEG_META_LEVEL;
    w->block_points = block_points == 0 ? 4096 : block_points;
    if (w->block_points > SEG_MAX_BLOCK_POINTS)
        w->block_points = SEG_MAX_BLOCK_POINTS;
    vt_rc rc = durable_begin(&w->file, path, err);
    if (rc != VT_OK)
        return rc;
    w->open = true;
    vt_buf_append(&w->pending, SEG_MAGIC, 4);
    vt_buf_put_u16(&w->pending, (uint16_t)version);
    vt_buf_put_u16(&w->pending, provisional ? SEG_FLAG_PROVISIONAL : 0);
    vt_buf_put_u64(&w->pending, segment_id);
    w->offset = SEG_HEADER_LEN;
    return VT_OK;
}

/* CRC-32C of a block: the identity its index entry gives it (series id u64, field number u32,
 * type u8, count u32, min time i64, max time i64: 33 bytes LE), then the block bytes before
 * the CRC. A block moved to another entry, or an entry edited, fails the check. */
static uint32_t block_crc(const seg_index_entry *e, const uint8_t *b, size_t len)
{
    uint8_t id[33];
    vt_put_u64(id, e->series_id);
    vt_put_u32(id + 8, e->field_no);
    id[12] = e->type;
    vt_put_u32(id + 13, e->count);
    vt_put_u64(id + 17, (uint64_t)e->min_time);
    vt_put_u64(id + 25, (uint64_t)e->max_time);
    return crc32c_update(crc32c(id, sizeof id), b, len);
}

static void encode_values(vt_type t, const void *val, size_t n, enc_effort eff, vt_buf *out)
{
    switch (t) {
    case VT_TYPE_FLOAT:
        enc_f64_encode_e(val, n, eff, out);
        break;
    case VT_TYPE_INT:
        enc_i64_encode_e(val, n, eff, out);
        break;
    case VT_TYPE_UINT:
        enc_u64_encode_e(val, n, eff, out);
        break;
    case VT_TYPE_BOOL:
        enc_bool_encode(val, n, out);
        break;
    default:
        enc_str_encode(val, n, out);
        break;
    }
}

static bool index_push(seg_writer *w, const seg_index_entry *e)
{
    if (w->nindex == w->index_cap) {
        size_t nc = w->index_cap ? w->index_cap * 2 : 256;
        seg_index_entry *ni = realloc(w->index, nc * sizeof *ni);
        if (!ni)
            return false;
        w->index = ni;
        w->index_cap = nc;
    }
    w->index[w->nindex++] = *e;
    return true;
}

vt_rc seg_writer_add(seg_writer *w, uint64_t series_id, uint32_t field_no, const seg_col *c,
                     vt_err *err)
{
    size_t es = seg_type_size(c->type);
    for (size_t start = 0; start < c->n; start += w->block_points) {
        size_t n = c->n - start < w->block_points ? c->n - start : w->block_points;
        const int64_t *ts = c->time + start;
        const void *val = (const uint8_t *)c->val + start * es;
        vt_buf_reset(&w->ts);
        vt_buf_reset(&w->vals);
        enc_effort eff = w->provisional ? ENC_QUICK : ENC_BEST;
        enc_ts_encode_e(ts, n, eff, &w->ts);
        encode_values(c->type, val, n, eff, &w->vals);
        if (w->ts.oom || w->vals.oom || w->ts.len == 0 || w->vals.len == 0)
            return vt_err_set(err, VT_ENOMEM, "segment %s: encoding failed (out of memory)",
                              w->file.path);
        if (w->ts.len > UINT32_MAX / 4 || w->vals.len > UINT32_MAX / 4)
            return vt_err_set(err, VT_ELIMIT, "segment %s: block too large", w->file.path);
        size_t hdr_at = w->pending.len;
        vt_buf_put_uvarint(&w->pending, w->ts.len);
        vt_buf_append(&w->pending, w->ts.data, w->ts.len);
        vt_buf_append(&w->pending, w->vals.data, w->vals.len);
        if (w->pending.oom)
            return vt_err_set(err, VT_ENOMEM, "segment %s: out of memory", w->file.path);
        size_t len = w->pending.len - hdr_at + 4;
        if (len > UINT32_MAX)
            return vt_err_set(err, VT_ELIMIT, "segment %s: block too large", w->file.path);
        seg_index_entry e;
        memset(&e, 0, sizeof e);
        e.offset = w->offset;
        e.length = (uint32_t)len;
        e.series_id = series_id;
        e.field_no = field_no;
        e.type = (uint8_t)c->type;
        e.count = (uint32_t)n;
        e.min_time = ts[0];
        e.max_time = ts[n - 1];
        seg_preagg_compute(c->type, ts, val, n, &e.agg);
        if (w->version == SEG_VERSION_V3)
            preagg_drop_selectors(&e.agg);
        uint32_t crc = block_crc(&e, w->pending.data + hdr_at, len - 4);
        vt_buf_put_u32(&w->pending, crc);
        if (!index_push(w, &e))
            return vt_err_set(err, VT_ENOMEM, "segment %s: out of memory", w->file.path);
        w->offset += len;
        if (w->pending.len >= SEG_PENDING_FLUSH) {
            vt_rc rc = writer_drain(w, err);
            if (rc != VT_OK)
                return rc;
        }
    }
    return VT_OK;
}

vt_rc seg_writer_copy_block(seg_writer *w, const seg_reader *r, size_t bi, vt_err *err)
{
    const seg_index_entry *src = &r->blocks[bi];
    seg_index_entry e = *src;
    e.offset = w->offset;
    if (w->version == SEG_VERSION_V3) {
        preagg_drop_selectors(&e.agg);
    } else if (!e.agg.has_selectors) {
        /* a version 3 block into a version 4 file: its selector statistics come from its
         * values (the read also verifies the block) */
        seg_col col;
        seg_col_init(&col, (vt_type)src->type);
        vt_rc rc = seg_read_block(r, bi, &col, err);
        if (rc == VT_OK)
            seg_preagg_compute(col.type, col.time, col.val, col.n, &e.agg);
        seg_col_free(&col);
        if (rc != VT_OK)
            return rc;
    }
    vt_buf_append(&w->pending, r->data + src->offset, src->length);
    if (w->pending.oom || !index_push(w, &e))
        return vt_err_set(err, VT_ENOMEM, "segment %s: out of memory", w->file.path);
    w->offset += src->length;
    if (w->pending.len >= SEG_PENDING_FLUSH)
        return writer_drain(w, err);
    return VT_OK;
}

/* Appends the series section of the given version to b. */
static void put_series(vt_buf *b, unsigned version, const seg_series_def *series, size_t nseries)
{
    if (version == SEG_VERSION_V3)
        vt_buf_put_u32(b, (uint32_t)nseries);
    else
        vt_buf_put_uvarint(b, nseries);
    uint64_t prev_id = 0;
    for (size_t i = 0; i < nseries; i++) {
        const seg_series_def *s = &series[i];
        if (version == SEG_VERSION_V3)
            vt_buf_put_u64(b, s->id);
        else
            vt_buf_put_uvarint(b, s->id - prev_id);
        prev_id = s->id;
        vt_buf_put_uvarint(b, s->measurement.len);
        vt_buf_append(b, s->measurement.ptr, s->measurement.len);
        vt_buf_put_uvarint(b, s->ntags);
        for (size_t t = 0; t < s->ntags; t++) {
            vt_buf_put_uvarint(b, s->tags[t].key.len);
            vt_buf_append(b, s->tags[t].key.ptr, s->tags[t].key.len);
            vt_buf_put_uvarint(b, s->tags[t].value.len);
            vt_buf_append(b, s->tags[t].value.ptr, s->tags[t].value.len);
        }
        vt_buf_put_uvarint(b, s->nfields);
        for (size_t f = 0; f < s->nfields; f++) {
            vt_buf_putc(b, (uint8_t)s->fields[f].type);
            vt_buf_put_uvarint(b, s->fields[f].name.len);
            vt_buf_append(b, s->fields[f].name.ptr, s->fields[f].name.len);
        }
    }
}

static vt_rc writer_finish(seg_writer *w, const seg_series_def *series, size_t nseries,
                           uint64_t *file_bytes, vt_err *err)
{
    vt_buf meta, z;
    vt_buf_init(&meta);
    vt_buf_init(&z);
    vt_rc rc = VT_OK;
    put_series(&meta, w->version, series, nseries);
    size_t series_len = meta.len;
    uint64_t prev_sid = 0;
    int64_t prev_max = 0;
    for (size_t i = 0; i < w->nindex; i++) {
        const seg_index_entry *e = &w->index[i];
        if (w->version == SEG_VERSION_V3)
            index_put_v3(&meta, e, prev_sid, prev_max);
        else
            index_put_v4(&meta, e, prev_sid, prev_max);
        prev_sid = e->series_id;
        prev_max = e->max_time;
    }
    if (meta.oom) {
        rc = vt_err_set(err, VT_ENOMEM, "segment %s: out of memory", w->file.path);
        goto cleanup;
    }
    if (meta.len > SEG_META_MAX) {
        rc = vt_err_set(err, VT_ELIMIT, "segment %s: index of %zu bytes is too large",
                        w->file.path, meta.len);
        goto cleanup;
    }
    /* the stored meta: as is, or one zstd frame when that is smaller (version 4) */
    const uint8_t *stored = meta.data;
    size_t stored_len = meta.len;
    uint8_t enc = SEG_META_STORED;
    if (w->version != SEG_VERSION_V3 && w->meta_level > 0 && meta.len > 0) {
        size_t bound = ZSTD_compressBound(meta.len);
        if (!vt_buf_reserve(&z, bound)) {
            rc = vt_err_set(err, VT_ENOMEM, "segment %s: out of memory", w->file.path);
            goto cleanup;
        }
        size_t zn = ZSTD_compress(z.data, bound, meta.data, meta.len, w->meta_level);
        if (ZSTD_isError(zn)) {
            rc = vt_err_set(err, VT_EIO, "segment %s: zstd: %s", w->file.path,
                            ZSTD_getErrorName(zn));
            goto cleanup;
        }
        if (zn < meta.len) {
            stored = z.data;
            stored_len = zn;
            enc = SEG_META_ZSTD;
        }
    }
    vt_buf *b = &w->pending;
    size_t start = b->len;
    uint64_t meta_off = w->offset;
    vt_buf_append(b, stored, stored_len);
    uint32_t meta_crc = crc32c(stored, stored_len);
    size_t foot_at = b->len;
    if (w->version == SEG_VERSION_V3) {
        vt_buf_put_u64(b, meta_off);
        vt_buf_put_u64(b, meta_off + series_len);
        vt_buf_put_u32(b, (uint32_t)w->nindex);
        vt_buf_put_u32(b, meta_crc);
    } else {
        vt_buf_put_u64(b, meta_off);
        vt_buf_put_u64(b, meta.len);
        vt_buf_put_u64(b, series_len);
        vt_buf_put_u32(b, (uint32_t)w->nindex);
        vt_buf_putc(b, enc);
        vt_buf_putc(b, (uint8_t)w->version); /* the version again (see the format notes) */
        vt_buf_put_u16(b, 0);
        vt_buf_put_u32(b, meta_crc);
    }
    if (b->oom) {
        rc = vt_err_set(err, VT_ENOMEM, "segment %s: out of memory", w->file.path);
        goto cleanup;
    }
    vt_buf_put_u32(b, crc32c(b->data + foot_at, b->len - foot_at));
    vt_buf_append(b, SEG_FOOTER_MAGIC, 4);
    w->offset += b->len - start;
    rc = writer_drain(w, err);
    if (rc != VT_OK)
        goto cleanup;
    w->open = false;
    rc = durable_commit(&w->file, err);
    if (file_bytes)
        *file_bytes = w->offset;
cleanup:
    vt_buf_free(&meta);
    vt_buf_free(&z);
    return rc;
}

vt_rc seg_writer_finish(seg_writer *w, const seg_series_def *series, size_t nseries,
                        uint64_t *file_bytes, vt_err *err)
{
    vt_rc rc = writer_finish(w, series, nseries, file_bytes, err);
    seg_writer_abort(w); /* releases memory; removes the temp file unless committed */
    return rc;
}

void seg_writer_abort(seg_writer *w)
{
    if (w->open)
        durable_abort(&w->file);
    w->open = false;
    vt_buf_free(&w->pending);
    vt_buf_free(&w->ts);
    vt_buf_free(&w->vals);
    free(w->index);
    w->index = NULL;
    w->nindex = w->index_cap = 0;
}

/* ---- reader ---- */

static void reader_free(seg_reader *r)
{
    if (!r)
        return;
    if (r->map)
        munmap(r->map, r->size);
    free(r->owned);
    for (size_t i = 0; i < r->nseries; i++) {
        free(r->series[i].tags);
        free(r->series[i].fields);
    }
    free(r->series);
    vt_big_free(r->blocks);
    vt_big_free(r->meta_owned);
    free(r->name);
    free(r);
}

void seg_ref(seg_reader *r)
{
    atomic_fetch_add(&r->refs, 1);
}

void seg_unref(seg_reader *r)
{
    if (r && atomic_fetch_sub(&r->refs, 1) == 1)
        reader_free(r);
}

static bool rd_str(vt_reader *rd, vt_str *s)
{
    uint64_t len;
    const uint8_t *p;
    if (!vt_read_uvarint(rd, &len) || len > vt_reader_left(rd) ||
        !vt_read_bytes(rd, (size_t)len, &p))
        return false;
    s->ptr = (const char *)p;
    s->len = (size_t)len;
    return true;
}

static int str_cmp(vt_str a, vt_str b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
    if (c)
        return c;
    return a.len < b.len ? -1 : a.len > b.len;
}

#define BAD(...)                                                                                   \
    do {                                                                                           \
        vt_err_set(err, VT_ECORRUPT, __VA_ARGS__);                                                 \
        goto fail;                                                                                 \
    } while (0)

/* Where the parts of a segment are, from its footer (both versions). */
typedef struct seg_layout {
    uint64_t blocks_end;     /* = file offset of the meta */
    const uint8_t *series;   /* series section (in the file, or in the decoded meta) */
    size_t series_len;
    const uint8_t *index;
    size_t index_len;
    uint32_t nblocks;
    bool in_file;            /* series/index are file bytes: offsets in messages are exact */
} seg_layout;

/* Reads the footer of d (size bytes, header checked) into *lo, decoding a zstd meta into
 * *owned (caller frees). check: verify checksums (seg_fix_checksums passes false). On failure
 * returns false with *what set. */
static bool layout_read(const uint8_t *d, size_t size, unsigned version, bool check,
                        seg_layout *lo, uint8_t **owned, const char **what, size_t *what_at)
{
    memset(lo, 0, sizeof *lo);
    *owned = NULL;
    size_t flen = version == SEG_VERSION_V3 ? SEG_FOOTER_LEN_V3 : SEG_FOOTER_LEN_V4;
    *what_at = 0;
    if (size < SEG_HEADER_LEN + flen) {
        *what = "file too short";
        return false;
    }
    size_t foot = size - flen;
    const uint8_t *f = d + foot;
    *what_at = foot;
    if (check && memcmp(f + flen - 4, SEG_FOOTER_MAGIC, 4) != 0) {
        *what_at = foot + flen - 4;
        *what = "bad footer magic";
        return false;
    }
    if (check && crc32c(f, flen - 8) != vt_get_u32(f + flen - 8)) {
        *what = "footer checksum mismatch";
        return false;
    }
    uint64_t meta_off = vt_get_u64(f);
    if (meta_off < SEG_HEADER_LEN || meta_off > foot) {
        *what = "footer offsets out of range";
        return false;
    }
    lo->blocks_end = meta_off;
    size_t stored_len = foot - (size_t)meta_off;
    if (version == SEG_VERSION_V3) {
        uint64_t index_off = vt_get_u64(f + 8);
        lo->nblocks = vt_get_u32(f + 16);
        if (index_off < meta_off || index_off > foot ||
            (foot - index_off) / SEG_INDEX_MIN < lo->nblocks) {
            *what = "footer offsets out of range";
            return false;
        }
        if (check && crc32c(d + meta_off, stored_len) != vt_get_u32(f + 20)) {
            *what_at = meta_off;
            *what = "series/index checksum mismatch";
            return false;
        }
        lo->series = d + meta_off;
        lo->series_len = (size_t)(index_off - meta_off);
        lo->index = d + index_off;
        lo->index_len = foot - (size_t)index_off;
        lo->in_file = true;
        return true;
    }
    uint64_t raw_len = vt_get_u64(f + 8), series_len = vt_get_u64(f + 16);
    lo->nblocks = vt_get_u32(f + 24);
    uint8_t enc = f[28];
    /* byte 29: 0 in version 4, the version again in version 5 (a flipped header version bit
     * would otherwise turn one into the other unnoticed: their layouts are the same) */
    uint8_t ver_again = version == SEG_VERSION_V4 ? 0 : (uint8_t)version;
    if (enc > SEG_META_ZSTD || f[29] != ver_again || f[30] || f[31] || raw_len > SEG_META_MAX ||
        series_len > raw_len || (raw_len - series_len) / SEG_INDEX_MIN < lo->nblocks ||
        (enc == SEG_META_STORED && raw_len != stored_len)) {
        *what = "bad footer (meta length or encoding)";
        return false;
    }
    if (check && crc32c(d + meta_off, stored_len) != vt_get_u32(f + 32)) {
        *what_at = meta_off;
        *what = "series/index checksum mismatch";
        return false;
    }
    const uint8_t *meta = d + meta_off;
    if (enc == SEG_META_ZSTD) {
        *what_at = meta_off;
        unsigned long long fcs = ZSTD_getFrameContentSize(meta, stored_len);
        if (fcs != raw_len || ZSTD_findFrameCompressedSize(meta, stored_len) != stored_len) {
            *what = "meta: not one zstd frame of the stated length";
            return false;
        }
        uint8_t *buf = vt_big_calloc(raw_len ? (size_t)raw_len : 1, 1);
        if (!buf) {
            *what = "out of memory";
            return false;
        }
        size_t got = ZSTD_decompress(buf, (size_t)raw_len, meta, stored_len);
        if (ZSTD_isError(got) || got != raw_len) {
            vt_big_free(buf);
            *what = "meta: zstd frame does not decode";
            return false;
        }
        *owned = buf;
        meta = buf;
    } else {
        lo->in_file = true;
    }
    lo->series = meta;
    lo->series_len = (size_t)series_len;
    lo->index = meta + series_len;
    lo->index_len = (size_t)(raw_len - series_len);
    return true;
}

/* File offset of p in the series section or index (the meta's offset when it is compressed). */
static uint64_t layout_at(const seg_layout *lo, const uint8_t *d, const uint8_t *p)
{
    return lo->in_file ? (uint64_t)(p - d) : lo->blocks_end;
}

/* Validates footer, series section and index (see INVARIANTS). */
static vt_rc reader_parse(seg_reader *r, vt_err *err)
{
    const uint8_t *d = r->data;
    size_t size = r->size;
    const char *nm = r->name;
    if (size < SEG_HEADER_LEN)
        BAD("segment %s: file too short (%zu bytes)", nm, size);
    if (memcmp(d, SEG_MAGIC, 4) != 0)
        BAD("segment %s: offset 0: bad magic", nm);
    unsigned version = vt_get_u16(d + 4);
    if (version != SEG_VERSION && version != SEG_VERSION_V4 && version != SEG_VERSION_V3)
        BAD("segment %s: offset 4: unsupported version %u", nm, version);
    r->version = version;
    r->provisional = version == SEG_VERSION && (vt_get_u16(d + 6) & SEG_FLAG_PROVISIONAL) != 0;
    r->segment_id = vt_get_u64(d + 8);
    seg_layout lo;
    const char *what = NULL;
    size_t what_at = 0;
    if (!layout_read(d, size, version, true, &lo, &r->meta_owned, &what, &what_at)) {
        if (strcmp(what, "out of memory") == 0)
            return vt_err_set(err, VT_ENOMEM, "segment %s: out of memory", nm);
        if (strcmp(what, "file too short") == 0)
            BAD("segment %s: file too short (%zu bytes)", nm, size);
        BAD("segment %s: offset %zu: %s", nm, what_at, what);
    }
    uint64_t series_off = lo.blocks_end;

    vt_reader rd;
    vt_reader_init(&rd, lo.series, lo.series_len);
    uint64_t nseries;
    if (version == SEG_VERSION_V3) {
        uint32_t n32;
        if (!vt_read_u32(&rd, &n32) || n32 > vt_reader_left(&rd) / 11)
            BAD("segment %s: offset %" PRIu64 ": bad series count", nm, series_off);
        nseries = n32;
    } else if (!vt_read_uvarint(&rd, &nseries) || nseries > vt_reader_left(&rd) / 6) {
        BAD("segment %s: offset %" PRIu64 ": bad series count", nm, series_off);
    }
    r->series = calloc(nseries ? (size_t)nseries : 1, sizeof *r->series);
    if (!r->series)
        return vt_err_set(err, VT_ENOMEM, "segment %s: out of memory", nm);
    for (size_t i = 0; i < nseries; i++) {
        seg_series *s = &r->series[i];
        r->nseries = i + 1;
        uint64_t at = layout_at(&lo, d, rd.p);
        uint64_t ntags, nfields;
        bool id_ok;
        if (version == SEG_VERSION_V3) {
            id_ok = vt_read_u64(&rd, &s->id);
        } else {
            uint64_t did = 0;
            id_ok = vt_read_uvarint(&rd, &did);
            s->id = (i > 0 ? r->series[i - 1].id : 0) + did;
            if (id_ok && i > 0 && (did == 0 || s->id < did))
                BAD("segment %s: offset %" PRIu64 ": series ids not ascending", nm, at);
        }
        if (!id_ok || !rd_str(&rd, &s->measurement) || !vt_read_uvarint(&rd, &ntags) ||
            ntags > vt_reader_left(&rd) / 2)
            BAD("segment %s: offset %" PRIu64 ": malformed series entry", nm, at);
        if (i > 0 && s->id <= r->series[i - 1].id)
            BAD("segment %s: offset %" PRIu64 ": series ids not ascending", nm, at);
        s->tags = calloc(ntags ? (size_t)ntags : 1, sizeof *s->tags);
        if (!s->tags)
            return vt_err_set(err, VT_ENOMEM, "segment %s: out of memory", nm);
        s->ntags = (size_t)ntags;
        for (size_t t = 0; t < s->ntags; t++) {
            if (!rd_str(&rd, &s->tags[t].key) || !rd_str(&rd, &s->tags[t].value))
                BAD("segment %s: offset %" PRIu64 ": malformed tag", nm, at);
            if (t > 0 && str_cmp(s->tags[t - 1].key, s->tags[t].key) >= 0)
                BAD("segment %s: offset %" PRIu64 ": tags not sorted", nm, at);
        }
        if (!vt_read_uvarint(&rd, &nfields) || nfields == 0 || nfields > vt_reader_left(&rd) / 2)
            BAD("segment %s: offset %" PRIu64 ": bad field count", nm, at);
        s->fields = calloc((size_t)nfields, sizeof *s->fields);
        if (!s->fields)
            return vt_err_set(err, VT_ENOMEM, "segment %s: out of memory", nm);
        s->nfields = (size_t)nfields;
        for (size_t k = 0; k < s->nfields; k++) {
            uint8_t ty;
            if (!vt_read_u8(&rd, &ty) || ty < VT_TYPE_FLOAT || ty > VT_TYPE_STRING ||
                !rd_str(&rd, &s->fields[k].name) || s->fields[k].name.len == 0)
                BAD("segment %s: offset %" PRIu64 ": malformed field", nm, at);
            s->fields[k].type = (vt_type)ty;
            if (k > 0 && str_cmp(s->fields[k - 1].name, s->fields[k].name) >= 0)
                BAD("segment %s: offset %" PRIu64 ": fields not sorted", nm, at);
        }
    }
    if (vt_reader_left(&rd) != 0)
        BAD("segment %s: offset %" PRIu64 ": trailing bytes in series section", nm, series_off);

    uint32_t nblocks = lo.nblocks;
    r->blocks = vt_big_calloc(nblocks ? nblocks : 1, sizeof *r->blocks);
    if (!r->blocks)
        return vt_err_set(err, VT_ENOMEM, "segment %s: out of memory", nm);
    uint64_t prev_end = SEG_HEADER_LEN, prev_sid = 0;
    int64_t prev_max = 0;
    const seg_series *cur = NULL;
    vt_reader ir;
    vt_reader_init(&ir, lo.index, lo.index_len);
    for (uint32_t i = 0; i < nblocks; i++) {
        uint64_t at = layout_at(&lo, d, ir.p);
        seg_index_entry *e = &r->blocks[i];
        raw_entry x;
        if (!index_read(version, &ir, &x))
            BAD("segment %s: offset %" PRIu64 ": index entry %u: truncated", nm, at, i);
        uint64_t cnt = x.cnt, len = x.len, span = x.span;
        if (x.fno > UINT32_MAX || len < SEG_BLOCK_MIN || len > series_off - prev_end)
            BAD("segment %s: offset %" PRIu64 ": index entry %u: block out of range", nm, at, i);
        e->offset = prev_end;
        e->length = (uint32_t)len;
        e->series_id = prev_sid + x.dsid;
        e->field_no = (uint32_t)x.fno;
        e->type = x.ty;
        if (i > 0 && e->series_id < prev_sid)
            BAD("segment %s: offset %" PRIu64 ": index entry %u: out of order", nm, at, i);
        e->min_time = (int64_t)((uint64_t)prev_max + (uint64_t)x.dmin);
        e->max_time = (int64_t)((uint64_t)e->min_time + span);
        prev_sid = e->series_id;
        prev_max = e->max_time;
        prev_end = e->offset + e->length;
        if (cnt == 0 || cnt > SEG_MAX_BLOCK_POINTS || e->min_time > e->max_time ||
            (cnt == 1) != (span == 0) || span < cnt - 1)
            BAD("segment %s: offset %" PRIu64 ": index entry %u: bad count or time range", nm,
                at, i);
        e->count = (uint32_t)cnt;
        if (!preagg_finish(version, &x, e))
            BAD("segment %s: offset %" PRIu64 ": index entry %u: bad pre-aggregates", nm, at, i);
        if (!cur || cur->id != e->series_id)
            cur = seg_find_series(r, e->series_id);
        if (!cur || e->field_no >= cur->nfields || cur->fields[e->field_no].type != e->type)
            BAD("segment %s: offset %" PRIu64 ": index entry %u: unknown series/field", nm, at,
                i);
        if (i > 0) {
            const seg_index_entry *q = &r->blocks[i - 1];
            bool same = q->series_id == e->series_id && q->field_no == e->field_no;
            if (q->series_id > e->series_id ||
                (q->series_id == e->series_id && q->field_no > e->field_no) ||
                (same && q->max_time >= e->min_time))
                BAD("segment %s: offset %" PRIu64 ": index entry %u: out of order", nm, at, i);
        }
        r->nblocks = i + 1;
    }
    if (vt_reader_left(&ir) != 0)
        BAD("segment %s: offset %" PRIu64 ": %zu trailing bytes after the index", nm,
            layout_at(&lo, d, lo.index), vt_reader_left(&ir));
    if (prev_end != series_off)
        BAD("segment %s: offset %" PRIu64 ": blocks end at %" PRIu64
            ", not at the series section", nm, series_off, prev_end);
    return VT_OK;
fail:
    return VT_ECORRUPT;
}

static vt_rc reader_new(const char *name, seg_reader **out, vt_err *err)
{
    seg_reader *r = calloc(1, sizeof *r);
    if (!r)
        return vt_err_set(err, VT_ENOMEM, "segment %s: out of memory", name);
    r->name = strdup(name);
    if (!r->name) {
        free(r);
        return vt_err_set(err, VT_ENOMEM, "segment %s: out of memory", name);
    }
    atomic_init(&r->refs, 1);
    *out = r;
    return VT_OK;
}

/* ---- preloaded readers (seg_preload) ----
 *
 * A restore copies segment files on several workers whose CPU mostly waits for the disk; each
 * worker parses the file it just copied and hashed (seg_preload), and the node open that
 * follows finds the parsed reader here instead of parsing the file again. An entry is taken
 * only when the path names the same file as when it was parsed (device, inode, size, mtime);
 * anything else is dropped and the file opened normally. The list is short-lived: the caller
 * empties it (seg_preload_clear) once its open is done. */
typedef struct preload {
    struct preload *next;
    char *path;
    struct stat st;
    seg_reader *r;
} preload;

static pthread_mutex_t preload_mu = PTHREAD_MUTEX_INITIALIZER;
static preload *preloads;
static atomic_bool preload_any; /* lets seg_open_file skip the mutex when nothing is preloaded */

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static vt_rc open_parse(const char *path, seg_reader **out, vt_err *err);

void seg_preload(const char *path)
{
    preload *p = calloc(1, sizeof *p);
    if (!p)
        return;
    vt_err err;
    vt_err_clear(&err);
    if (stat(path, &p->st) != 0 || !(p->path = strdup(path)) ||
        open_parse(path, &p->r, &err) != VT_OK) {
        /* not kept: the real open reports whatever is wrong */
        free(p->path);
        free(p);
        return;
    }
    pthread_mutex_lock(&preload_mu);
    p->next = preloads;
    preloads = p;
    atomic_store(&preload_any, true);
    pthread_mutex_unlock(&preload_mu);
}

void seg_preload_clear(void)
{
    pthread_mutex_lock(&preload_mu);
    preload *p = preloads;
    preloads = NULL;
    atomic_store(&preload_any, false);
    pthread_mutex_unlock(&preload_mu);
    while (p) {
        preload *next = p->next;
        seg_unref(p->r);
        free(p->path);
        free(p);
        p = next;
    }
}

size_t seg_preload_count(void)
{
    pthread_mutex_lock(&preload_mu);
    size_t n = 0;
    for (const preload *p = preloads; p; p = p->next)
        n++;
    pthread_mutex_unlock(&preload_mu);
    return n;
}

/* The preloaded reader of path, removed from the list, when it is still that file. */
static seg_reader *preload_take(const char *path)
{
    if (!atomic_load(&preload_any))
        return NULL;
    pthread_mutex_lock(&preload_mu);
    preload **at = &preloads;
    while (*at && strcmp((*at)->path, path) != 0)
        at = &(*at)->next;
    preload *p = *at;
    if (p)
        *at = p->next;
    pthread_mutex_unlock(&preload_mu);
    if (!p)
        return NULL;
    struct stat now;
    seg_reader *r = NULL;
    if (stat(path, &now) == 0 && same_file(&now, &p->st))
        r = p->r;
    else
        seg_unref(p->r);
    free(p->path);
    free(p);
    return r;
}

vt_rc seg_open_file(const char *path, seg_reader **out, vt_err *err)
{
    seg_reader *pre = preload_take(path);
    if (pre) {
        *out = pre;
        return VT_OK;
    }
    return open_parse(path, out, err);
}

static vt_rc open_parse(const char *path, seg_reader **out, vt_err *err)
{
    seg_reader *r;
    vt_rc rc = reader_new(path, &r, err);
    if (rc != VT_OK)
        return rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = vt_err_set(err, errno == ENOENT ? VT_ENOTFOUND : VT_EIO, "segment %s: open: %s",
                        path, strerror(errno));
        reader_free(r);
        return rc;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = vt_err_set(err, VT_EIO, "segment %s: stat: %s", path, strerror(errno));
        close(fd);
        reader_free(r);
        return rc;
    }
    r->size = (size_t)st.st_size;
    if (r->size > 0) {
        void *m = mmap(NULL, r->size, PROT_READ, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED) {
            rc = vt_err_set(err, VT_EIO, "segment %s: mmap: %s", path, strerror(errno));
            close(fd);
            reader_free(r);
            return rc;
        }
        r->map = m;
        r->data = m;
    } else {
        r->data = (const uint8_t *)"";
    }
    close(fd);
    rc = reader_parse(r, err);
    if (rc != VT_OK) {
        reader_free(r);
        return rc;
    }
    *out = r;
    return VT_OK;
}

vt_rc seg_open_mem(const char *name, const void *data, size_t len, seg_reader **out, vt_err *err)
{
    seg_reader *r;
    vt_rc rc = reader_new(name, &r, err);
    if (rc != VT_OK)
        return rc;
    r->owned = malloc(len ? len : 1);
    if (!r->owned) {
        reader_free(r);
        return vt_err_set(err, VT_ENOMEM, "segment %s: out of memory", name);
    }
    if (len)
        memcpy(r->owned, data, len);
    r->data = r->owned;
    r->size = len;
    rc = reader_parse(r, err);
    if (rc != VT_OK) {
        reader_free(r);
        return rc;
    }
    *out = r;
    return VT_OK;
}

const seg_series *seg_find_series(const seg_reader *r, uint64_t id)
{
    size_t lo = 0, hi = r->nseries;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->series[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < r->nseries && r->series[lo].id == id ? &r->series[lo] : NULL;
}

int seg_field_no(const seg_series *s, const char *name, size_t len)
{
    vt_str k = {name, len};
    for (size_t i = 0; i < s->nfields; i++)
        if (vt_str_eq(s->fields[i].name, k))
            return (int)i;
    return -1;
}

static bool entry_before(const seg_index_entry *e, uint64_t sid, uint32_t fno)
{
    return e->series_id < sid || (e->series_id == sid && e->field_no < fno);
}

void seg_find_blocks(const seg_reader *r, uint64_t series_id, uint32_t field_no, size_t *first,
                     size_t *count)
{
    size_t lo = 0, hi = r->nblocks;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (entry_before(&r->blocks[mid], series_id, field_no))
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < r->nblocks && r->blocks[end].series_id == series_id &&
           r->blocks[end].field_no == field_no)
        end++;
    *first = lo;
    *count = end - lo;
}

void seg_release_series_pages(const seg_reader *r, uint64_t series_id)
{
    if (!r->map)
        return;
    size_t first, count;
    seg_find_blocks(r, series_id, 0, &first, &count); /* the series' first block, any field */
    uint64_t lo = UINT64_MAX, hi = 0;
    for (size_t b = first; b < r->nblocks && r->blocks[b].series_id == series_id; b++) {
        if (r->blocks[b].offset < lo)
            lo = r->blocks[b].offset;
        if (r->blocks[b].offset + r->blocks[b].length > hi)
            hi = r->blocks[b].offset + r->blocks[b].length;
    }
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    if (hi > r->size || lo >= hi || page == 0 || (page & (page - 1)) != 0)
        return;
    uint64_t from = (lo + page - 1) & ~(page - 1), to = hi & ~(page - 1); /* whole pages only */
    if (from < to)
        madvise((char *)r->map + from, (size_t)(to - from), MADV_DONTNEED);
}

static vt_rc block_bad(const seg_reader *r, size_t bi, const char *what, vt_err *err)
{
    if (r->corrupt_counter)
        atomic_fetch_add(r->corrupt_counter, 1);
    return vt_err_set(err, VT_ECORRUPT, "segment %s: block %zu at offset %" PRIu64 ": %s",
                      r->name, bi, r->blocks[bi].offset, what);
}

/* The checksum-level check of one block: its CRC32C (which covers the index entry's identity,
 * see block_crc) and its column framing, without decoding the columns. On success the columns
 * are [*cols, *cols + *ts_len) (timestamps) and [*cols + *ts_len, *cols + *ts_len + *val_len)
 * (values). The first step of every block read (seg_read_block). */
static vt_rc seg_check_block(const seg_reader *r, size_t bi, const uint8_t **cols, size_t *ts_len,
                             size_t *val_len, vt_err *err)
{
    const seg_index_entry *e = &r->blocks[bi];
    const uint8_t *b = r->data + e->offset;
    size_t len = e->length;
    if (block_crc(e, b, len - 4) != vt_get_u32(b + len - 4))
        return block_bad(r, bi, "checksum mismatch", err);
    vt_reader br;
    uint64_t tl;
    vt_reader_init(&br, b, len - 4);
    if (!vt_read_uvarint(&br, &tl) || tl == 0 || tl >= vt_reader_left(&br))
        return block_bad(r, bi, "bad column lengths", err);
    *cols = br.p;
    *ts_len = (size_t)tl;
    *val_len = vt_reader_left(&br) - (size_t)tl;
    return VT_OK;
}

vt_rc seg_read_block(const seg_reader *r, size_t bi, seg_col *out, vt_err *err)
{
    const seg_index_entry *e = &r->blocks[bi];
    const uint8_t *tp;
    size_t ts_len, val_len;
    vt_rc crc = seg_check_block(r, bi, &tp, &ts_len, &val_len, err);
    if (crc != VT_OK)
        return crc;
    if (out->type != (vt_type)e->type)
        return block_bad(r, bi, "type does not match the column", err);
    size_t n = e->count;
    if (!seg_col_reserve(out, n))
        return vt_err_set(err, VT_ENOMEM, "segment %s: block %zu: out of memory", r->name, bi);
    int64_t *ts = out->time + out->n;
    void *val = (uint8_t *)out->val + out->n * seg_type_size(out->type);
    const uint8_t *vp = tp + ts_len;
    vt_err derr;
    vt_err_clear(&derr);
    vt_rc rc = enc_ts_decode(tp, ts_len, ts, n, &derr);
    if (rc == VT_OK) {
        switch (out->type) {
        case VT_TYPE_FLOAT:
            rc = enc_f64_decode(vp, val_len, val, n, &derr);
            break;
        case VT_TYPE_INT:
            rc = enc_i64_decode(vp, val_len, val, n, &derr);
            break;
        case VT_TYPE_UINT:
            rc = enc_u64_decode(vp, val_len, val, n, &derr);
            break;
        case VT_TYPE_BOOL:
            rc = enc_bool_decode(vp, val_len, val, n, &derr);
            break;
        default:
            rc = enc_str_decode(vp, val_len, val, n, &out->arena, &derr);
            break;
        }
    }
    if (rc == VT_ENOMEM)
        return vt_err_set(err, rc, "segment %s: block %zu: out of memory", r->name, bi);
    if (rc != VT_OK) {
        char what[VT_ERR_MSG_MAX];
        snprintf(what, sizeof what, "decode: %s", derr.msg);
        return block_bad(r, bi, what, err);
    }
    if (ts[0] != e->min_time || ts[n - 1] != e->max_time)
        return block_bad(r, bi, "timestamps do not match min/max", err);
    for (size_t i = 1; i < n; i++)
        if (ts[i] <= ts[i - 1])
            return block_bad(r, bi, "timestamps not ascending", err);
    seg_preagg agg;
    seg_preagg_compute(out->type, ts, val, n, &agg);
    if (!e->agg.has_selectors) /* version 3 */
        preagg_drop_selectors(&agg);
    if (!seg_preagg_equal(&agg, &e->agg))
        return block_bad(r, bi, "pre-aggregates do not match the values", err);
    out->n += n;
    return VT_OK;
}

unsigned seg_verify(const seg_reader *r, seg_report_fn report, void *ctx, uint64_t *blocks)
{
    unsigned problems = 0;
    seg_col col;
    for (size_t i = 0; i < r->nblocks; i++) {
        seg_col_init(&col, (vt_type)r->blocks[i].type);
        vt_err err;
        vt_err_clear(&err);
        if (seg_read_block(r, i, &col, &err) != VT_OK) {
            problems++;
            if (report)
                report(ctx, r->name, r->blocks[i].offset, err.msg);
        }
        seg_col_free(&col);
        if (blocks)
            (*blocks)++;
    }
    return problems;
}

unsigned seg_verify_checksums(const seg_reader *r, seg_report_fn report, void *ctx,
                              uint64_t *blocks)
{
    unsigned problems = 0;
    for (size_t i = 0; i < r->nblocks; i++) {
        vt_err err;
        vt_err_clear(&err);
        const uint8_t *cols;
        size_t ts_len, val_len;
        if (seg_check_block(r, i, &cols, &ts_len, &val_len, &err) != VT_OK) {
            problems++;
            if (report)
                report(ctx, r->name, r->blocks[i].offset, err.msg);
        }
        if (blocks)
            (*blocks)++;
    }
    return problems;
}

void seg_get_breakdown(const seg_reader *r, seg_breakdown *out)
{
    memset(out, 0, sizeof *out);
    uint64_t in_blocks = 0;
    for (size_t i = 0; i < r->nblocks; i++) {
        const seg_index_entry *e = &r->blocks[i];
        vt_reader br;
        uint64_t ts_len = 0;
        vt_reader_init(&br, r->data + e->offset, e->length - 4);
        if (!vt_read_uvarint(&br, &ts_len) || ts_len > vt_reader_left(&br))
            ts_len = 0;
        uint64_t val_len = ts_len ? vt_reader_left(&br) - ts_len : 0;
        out->points += e->count;
        out->ts_bytes += ts_len;
        out->val_bytes += val_len;
        in_blocks += e->length;
    }
    out->blocks = r->nblocks;
    out->block_framing = in_blocks - out->ts_bytes - out->val_bytes;
    out->meta_bytes = r->size - in_blocks;
}

void seg_fix_checksums(uint8_t *d, size_t size)
{
    if (size < SEG_HEADER_LEN)
        return;
    unsigned version = vt_get_u16(d + 4);
    if (version != SEG_VERSION && version != SEG_VERSION_V4 && version != SEG_VERSION_V3)
        version = SEG_VERSION;
    size_t flen = version == SEG_VERSION_V3 ? SEG_FOOTER_LEN_V3 : SEG_FOOTER_LEN_V4;
    if (size < SEG_HEADER_LEN + flen)
        return;
    size_t foot = size - flen;
    uint8_t *f = d + foot;
    seg_layout lo;
    uint8_t *owned = NULL;
    const char *what;
    size_t what_at;
    bool ok = layout_read(d, size, version, false, &lo, &owned, &what, &what_at);
    if (ok) {
        vt_reader ir;
        vt_reader_init(&ir, lo.index, lo.index_len);
        uint64_t prev_end = SEG_HEADER_LEN, prev_sid = 0;
        int64_t prev_max = 0;
        for (uint32_t i = 0; i < lo.nblocks; i++) {
            raw_entry x;
            if (!index_read(version, &ir, &x) || x.len < SEG_BLOCK_MIN ||
                x.len > lo.blocks_end - prev_end)
                break;
            uint64_t len = x.len;
            seg_index_entry e;
            memset(&e, 0, sizeof e);
            e.offset = prev_end;
            e.length = (uint32_t)len;
            e.series_id = prev_sid + x.dsid;
            e.field_no = (uint32_t)x.fno;
            e.type = x.ty;
            e.count = (uint32_t)x.cnt;
            e.min_time = (int64_t)((uint64_t)prev_max + (uint64_t)x.dmin);
            e.max_time = (int64_t)((uint64_t)e.min_time + x.span);
            vt_put_u32(d + prev_end + len - 4, block_crc(&e, d + prev_end, (size_t)len - 4));
            prev_end += len;
            prev_sid = e.series_id;
            prev_max = e.max_time;
        }
        vt_big_free(owned);
    }
    /* the meta CRC whenever the meta offset is in range (even if the meta does not decode) */
    uint64_t meta_off = vt_get_u64(f);
    if (meta_off >= SEG_HEADER_LEN && meta_off <= foot)
        vt_put_u32(f + (version == SEG_VERSION_V3 ? 20 : 32),
                   crc32c(d + meta_off, foot - (size_t)meta_off));
    vt_put_u32(f + flen - 8, crc32c(f, flen - 8));
}
