/*
 * engine/segment.c — segment files.
 *
 * NOTES ON THE SEGMENT FILE FORMAT (version 3; docs/format/segment.md has the same)
 *
 * A segment is an immutable file holding columns of one database. All integers are
 * little-endian; "uvarint" is LEB128, zz() zigzag. A file is laid out as
 *
 *     header | block 0 | block 1 | ... | series section | index | footer
 *
 * The header is 16 bytes:
 *     0   4  magic "VSEG"
 *     4   2  version (3)
 *     6   2  flags (0)
 *     8   8  segment id (also in the file name)
 *
 * A block holds up to block_points points of one column (series id, field), time-ascending
 * with unique times. Blocks are contiguous: block 0 starts at 16, each next one where the
 * previous ends, the last ends at the series section. A block of length L is
 *     uvarint ts_len (>= 1) | ts_len bytes: encoded timestamps (engine/encoding.h: tag byte +
 *     payload) | L - 4 - len(uvarint) - ts_len (>= 1) bytes: encoded values | u32 CRC-32C
 * where the CRC covers the block's identity taken from its index entry (series id u64, field
 * number u32, type u8, count u32, min time i64, max time i64: 33 bytes) followed by the block
 * bytes [0, L-4). Nothing else is stored in the block: the index has the rest, and the
 * identity in the CRC catches a block read through the wrong entry.
 *
 * The series section lists each series of the segment, ascending by id:
 *     u32 nseries, then per series:
 *       u64 id, uvarint len + measurement, uvarint ntags, ntags x (uvarint len + key,
 *       uvarint len + value) sorted by key, uvarint nfields, nfields x (u8 type, uvarint len +
 *       name) sorted by name (bytewise)
 *
 * The index has one entry per block, sorted by (series id, field number, min time):
 *     uvarint series id - previous series id | uvarint field number | u8 type |
 *     uvarint count | uvarint L | uvarint zz(min time - previous max time) |
 *     uvarint max time - min time | pre-aggregates (by type, below)
 * ("previous" is the previous entry; 0 for the first; time arithmetic wraps modulo 2^64).
 * The block offset is implied by the lengths. Parsed once on open into seg_index_entry[].
 * Pre-aggregates of the block's values (version 3; semantics in segment.h, seg_preagg):
 *     float:    uvarint nan_count | f64 sum | f64 min | f64 max   (raw IEEE bits, LE; over the
 *               non-NaN values, sum folded in time order from -0.0; all NaN: -0.0, +Inf, -Inf)
 *     integer:  u8 flags (bit 0: sum overflowed int64; other bits 0) | uvarint zz(sum mod 2^64)
 *               | uvarint zz(min) | uvarint max - min
 *     unsigned: u8 flags (bit 0: sum overflowed uint64) | uvarint sum mod 2^64 | uvarint min |
 *               uvarint max - min
 *     boolean:  uvarint number of true values
 *     string:   nothing
 * (a float entry costs 25 bytes more, an integer one 4..31, a boolean one 1..3.) The index CRC
 * covers them; the block CRC does not (they are checked against the decoded values instead).
 *
 * The footer is the last 32 bytes:
 *     0   8  offset of the series section
 *     8   8  offset of the index (the index ends where the footer begins)
 *    16   4  number of blocks
 *    20   4  CRC-32C of the bytes [series offset, footer offset) (series section + index)
 *    24   4  CRC-32C of footer bytes [0, 24)
 *    28   4  magic "VSGF"
 *
 * INVARIANTS checked on open: magics and version; footer CRC; 16 <= series offset <= index
 * offset; section CRC; series ids strictly ascending, field names strictly ascending per
 * series; the index holds exactly nblocks entries and nothing after them; the blocks tile
 * [16, series offset) exactly, each of length >= 7; each entry names an existing series and
 * field with the field's type, has 1 <= count <= 2^20, min <= max, max - min >= count - 1
 * (and = 0 exactly when count = 1), and the blocks of one column do not overlap in time;
 * pre-aggregates: nan_count and true count <= count, flags in {0, 1}, integer/unsigned
 * min + (max - min) does not overflow, float min <= max (neither NaN) unless all are NaN. On
 * every block read: CRC (with the identity), column lengths, times strictly ascending and
 * equal to min/max at the ends, values decode to exactly count values, and the pre-aggregates
 * recomputed from the values equal the index entry's bit for bit.
 */
#include "engine/segment.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "engine/encoding.h"

#define SEG_MAGIC "VSEG"
#define SEG_FOOTER_MAGIC "VSGF"
#define SEG_VERSION 3
#define SEG_HEADER_LEN 16
#define SEG_BLOCK_MIN 7 /* uvarint ts_len, two tags, CRC */
#define SEG_INDEX_MIN 7 /* smallest index entry */
#define SEG_FOOTER_LEN 32
#define SEG_PENDING_FLUSH (1u << 20)

/* ---- columns ---- */

size_t seg_type_size(vt_type t)
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

void seg_preagg_compute(vt_type t, const void *val, size_t n, seg_preagg *out)
{
    memset(out, 0, sizeof *out);
    switch (t) {
    case VT_TYPE_FLOAT: {
        const double *v = val;
        double sum = -0.0, mn = INFINITY, mx = -INFINITY;
        uint32_t nan = 0;
        for (size_t i = 0; i < n; i++) {
            double x = v[i];
            if (isnan(x)) {
                nan++;
                continue;
            }
            sum += x;
            if (x < mn)
                mn = x;
            if (x > mx)
                mx = x;
        }
        out->sum.f = sum;
        out->min.f = mn;
        out->max.f = mx;
        out->nan_count = nan;
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
            if (i == 0 || v[i] < out->min.i)
                out->min.i = v[i];
            if (i == 0 || v[i] > out->max.i)
                out->max.i = v[i];
        }
        /* exact sum = sum + carry * 2^64, inside int64 exactly when carry == 0 */
        out->sum.i = sum;
        out->sum_overflow = carry != 0;
        break;
    }
    case VT_TYPE_UINT: {
        const uint64_t *v = val;
        uint64_t sum = 0;
        for (size_t i = 0; i < n; i++) {
            if (__builtin_add_overflow(sum, v[i], &sum))
                out->sum_overflow = true;
            if (i == 0 || v[i] < out->min.u)
                out->min.u = v[i];
            if (i == 0 || v[i] > out->max.u)
                out->max.u = v[i];
        }
        out->sum.u = sum;
        break;
    }
    case VT_TYPE_BOOL: {
        const bool *v = val;
        uint32_t k = 0;
        for (size_t i = 0; i < n; i++)
            k += v[i] ? 1u : 0u;
        out->true_count = k;
        break;
    }
    default:
        break;
    }
}

bool seg_preagg_equal(const seg_preagg *a, const seg_preagg *b)
{
    return a->sum.u == b->sum.u && a->min.u == b->min.u && a->max.u == b->max.u &&
           a->nan_count == b->nan_count && a->true_count == b->true_count &&
           a->sum_overflow == b->sum_overflow;
}

static void put_f64(vt_buf *b, double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    vt_buf_put_u64(b, u);
}

static bool read_f64(vt_reader *rd, double *x)
{
    uint64_t u;
    if (!vt_read_u64(rd, &u))
        return false;
    memcpy(x, &u, sizeof u);
    return true;
}

/* Appends index entry e (prev_sid / prev_max: the previous entry's, 0 for the first). */
static void index_put(vt_buf *b, const seg_index_entry *e, uint64_t prev_sid, int64_t prev_max)
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
        put_f64(b, a->sum.f);
        put_f64(b, a->min.f);
        put_f64(b, a->max.f);
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

/* An index entry as stored, before validation. */
typedef struct raw_entry {
    uint64_t dsid, fno, cnt, len, dmin, span;
    uint8_t ty;
    uint8_t flags;
    uint64_t nan, ntrue, delta; /* float NaN count, boolean true count, max - min */
    seg_preagg agg;             /* sum and min (float: also max) as stored */
} raw_entry;

/* Reads one index entry; false when truncated. Unknown types carry no pre-aggregates. */
static bool index_read(vt_reader *ir, raw_entry *x)
{
    memset(x, 0, sizeof *x);
    if (!vt_read_uvarint(ir, &x->dsid) || !vt_read_uvarint(ir, &x->fno) ||
        !vt_read_u8(ir, &x->ty) || !vt_read_uvarint(ir, &x->cnt) ||
        !vt_read_uvarint(ir, &x->len) || !vt_read_uvarint(ir, &x->dmin) ||
        !vt_read_uvarint(ir, &x->span))
        return false;
    uint64_t u;
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

/* Validates the stored pre-aggregates of x against its type and count (count already checked)
 * and completes x->agg; false when they cannot be right. */
static bool preagg_finish(raw_entry *x)
{
    seg_preagg *a = &x->agg;
    switch (x->ty) {
    case VT_TYPE_FLOAT:
        if (x->nan > x->cnt)
            return false;
        a->nan_count = (uint32_t)x->nan;
        return x->nan == x->cnt || (!isnan(a->min.f) && !isnan(a->max.f) && a->min.f <= a->max.f);
    case VT_TYPE_INT:
        if (x->flags > 1 || x->delta > (uint64_t)INT64_MAX - (uint64_t)a->min.i)
            return false;
        a->sum_overflow = x->flags != 0;
        a->max.u = a->min.u + x->delta;
        return true;
    case VT_TYPE_UINT:
        if (x->flags > 1 || x->delta > UINT64_MAX - a->min.u)
            return false;
        a->sum_overflow = x->flags != 0;
        a->max.u = a->min.u + x->delta;
        return true;
    case VT_TYPE_BOOL:
        if (x->ntrue > x->cnt)
            return false;
        a->true_count = (uint32_t)x->ntrue;
        return true;
    default:
        return true;
    }
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
    memset(w, 0, sizeof *w);
    vt_buf_init(&w->pending);
    vt_buf_init(&w->ts);
    vt_buf_init(&w->vals);
    w->block_points = block_points == 0 ? 4096 : block_points;
    if (w->block_points > SEG_MAX_BLOCK_POINTS)
        w->block_points = SEG_MAX_BLOCK_POINTS;
    vt_rc rc = durable_begin(&w->file, path, err);
    if (rc != VT_OK)
        return rc;
    w->open = true;
    vt_buf_append(&w->pending, SEG_MAGIC, 4);
    vt_buf_put_u16(&w->pending, SEG_VERSION);
    vt_buf_put_u16(&w->pending, 0);
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

static void encode_values(vt_type t, const void *val, size_t n, vt_buf *out)
{
    switch (t) {
    case VT_TYPE_FLOAT:
        enc_f64_encode(val, n, out);
        break;
    case VT_TYPE_INT:
        enc_i64_encode(val, n, out);
        break;
    case VT_TYPE_UINT:
        enc_u64_encode(val, n, out);
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
        enc_ts_encode(ts, n, &w->ts);
        encode_values(c->type, val, n, &w->vals);
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
        seg_index_entry e = {.offset = w->offset,
                             .length = (uint32_t)len,
                             .series_id = series_id,
                             .field_no = field_no,
                             .type = (uint8_t)c->type,
                             .count = (uint32_t)n,
                             .min_time = ts[0],
                             .max_time = ts[n - 1]};
        seg_preagg_compute(c->type, val, n, &e.agg);
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
    vt_buf_append(&w->pending, r->data + src->offset, src->length);
    if (w->pending.oom || !index_push(w, &e))
        return vt_err_set(err, VT_ENOMEM, "segment %s: out of memory", w->file.path);
    w->offset += src->length;
    if (w->pending.len >= SEG_PENDING_FLUSH)
        return writer_drain(w, err);
    return VT_OK;
}

static vt_rc writer_finish(seg_writer *w, const seg_series_def *series, size_t nseries,
                           uint64_t *file_bytes, vt_err *err)
{
    vt_buf *b = &w->pending;
    size_t meta_at = b->len;
    uint64_t series_off = w->offset;
    vt_buf_put_u32(b, (uint32_t)nseries);
    for (size_t i = 0; i < nseries; i++) {
        const seg_series_def *s = &series[i];
        vt_buf_put_u64(b, s->id);
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
    uint64_t index_off = series_off + (b->len - meta_at);
    uint64_t prev_sid = 0;
    int64_t prev_max = 0;
    for (size_t i = 0; i < w->nindex; i++) {
        const seg_index_entry *e = &w->index[i];
        index_put(b, e, prev_sid, prev_max);
        prev_sid = e->series_id;
        prev_max = e->max_time;
    }
    if (b->oom)
        return vt_err_set(err, VT_ENOMEM, "segment %s: out of memory", w->file.path);
    uint32_t meta_crc = crc32c(b->data + meta_at, b->len - meta_at);
    size_t foot_at = b->len;
    vt_buf_put_u64(b, series_off);
    vt_buf_put_u64(b, index_off);
    vt_buf_put_u32(b, (uint32_t)w->nindex);
    vt_buf_put_u32(b, meta_crc);
    if (b->oom)
        return vt_err_set(err, VT_ENOMEM, "segment %s: out of memory", w->file.path);
    vt_buf_put_u32(b, crc32c(b->data + foot_at, 24));
    vt_buf_append(b, SEG_FOOTER_MAGIC, 4);
    w->offset += b->len - meta_at;
    vt_rc rc = writer_drain(w, err);
    if (rc != VT_OK)
        return rc;
    w->open = false;
    rc = durable_commit(&w->file, err);
    if (file_bytes)
        *file_bytes = w->offset;
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
    free(r->blocks);
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

/* Validates footer, series section and index (see INVARIANTS). */
static vt_rc reader_parse(seg_reader *r, vt_err *err)
{
    const uint8_t *d = r->data;
    size_t size = r->size;
    const char *nm = r->name;
    if (size < SEG_HEADER_LEN + SEG_FOOTER_LEN)
        BAD("segment %s: file too short (%zu bytes)", nm, size);
    if (memcmp(d, SEG_MAGIC, 4) != 0)
        BAD("segment %s: offset 0: bad magic", nm);
    if (vt_get_u16(d + 4) != SEG_VERSION)
        BAD("segment %s: offset 4: unsupported version %u", nm, vt_get_u16(d + 4));
    r->segment_id = vt_get_u64(d + 8);
    size_t foot = size - SEG_FOOTER_LEN;
    const uint8_t *f = d + foot;
    if (memcmp(f + 28, SEG_FOOTER_MAGIC, 4) != 0)
        BAD("segment %s: offset %zu: bad footer magic", nm, foot + 28);
    if (crc32c(f, 24) != vt_get_u32(f + 24))
        BAD("segment %s: offset %zu: footer checksum mismatch", nm, foot);
    uint64_t series_off = vt_get_u64(f), index_off = vt_get_u64(f + 8);
    uint32_t nblocks = vt_get_u32(f + 16);
    if (series_off < SEG_HEADER_LEN || series_off > index_off || index_off > foot ||
        (foot - index_off) / SEG_INDEX_MIN < nblocks)
        BAD("segment %s: offset %zu: footer offsets out of range", nm, foot);
    if (crc32c(d + series_off, foot - series_off) != vt_get_u32(f + 20))
        BAD("segment %s: offset %" PRIu64 ": series/index checksum mismatch", nm, series_off);

    vt_reader rd;
    vt_reader_init(&rd, d + series_off, index_off - series_off);
    uint32_t nseries;
    if (!vt_read_u32(&rd, &nseries) || nseries > vt_reader_left(&rd) / 11)
        BAD("segment %s: offset %" PRIu64 ": bad series count", nm, series_off);
    r->series = calloc(nseries ? nseries : 1, sizeof *r->series);
    if (!r->series)
        return vt_err_set(err, VT_ENOMEM, "segment %s: out of memory", nm);
    for (uint32_t i = 0; i < nseries; i++) {
        seg_series *s = &r->series[i];
        r->nseries = i + 1;
        uint64_t at = series_off + (uint64_t)(rd.p - (d + series_off));
        uint64_t ntags, nfields;
        if (!vt_read_u64(&rd, &s->id) || !rd_str(&rd, &s->measurement) ||
            !vt_read_uvarint(&rd, &ntags) || ntags > vt_reader_left(&rd) / 2)
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

    r->blocks = calloc(nblocks ? nblocks : 1, sizeof *r->blocks);
    if (!r->blocks)
        return vt_err_set(err, VT_ENOMEM, "segment %s: out of memory", nm);
    uint64_t prev_end = SEG_HEADER_LEN, prev_sid = 0;
    int64_t prev_max = 0;
    const seg_series *cur = NULL;
    vt_reader ir;
    vt_reader_init(&ir, d + index_off, foot - index_off);
    for (uint32_t i = 0; i < nblocks; i++) {
        uint64_t at = index_off + (uint64_t)(ir.p - (d + index_off));
        seg_index_entry *e = &r->blocks[i];
        raw_entry x;
        if (!index_read(&ir, &x))
            BAD("segment %s: offset %" PRIu64 ": index entry %u: truncated", nm, at, i);
        uint64_t dsid = x.dsid, fno = x.fno, cnt = x.cnt, len = x.len, dmin = x.dmin,
                 span = x.span;
        uint8_t ty = x.ty;
        if (fno > UINT32_MAX || len < SEG_BLOCK_MIN || len > series_off - prev_end)
            BAD("segment %s: offset %" PRIu64 ": index entry %u: block out of range", nm, at, i);
        e->offset = prev_end;
        e->length = (uint32_t)len;
        e->series_id = prev_sid + dsid;
        e->field_no = (uint32_t)fno;
        e->type = ty;
        if (i > 0 && e->series_id < prev_sid)
            BAD("segment %s: offset %" PRIu64 ": index entry %u: out of order", nm, at, i);
        e->min_time = (int64_t)((uint64_t)prev_max + (uint64_t)vt_unzigzag(dmin));
        e->max_time = (int64_t)((uint64_t)e->min_time + span);
        prev_sid = e->series_id;
        prev_max = e->max_time;
        prev_end = e->offset + e->length;
        if (cnt == 0 || cnt > SEG_MAX_BLOCK_POINTS || e->min_time > e->max_time ||
            (cnt == 1) != (span == 0) || span < cnt - 1)
            BAD("segment %s: offset %" PRIu64 ": index entry %u: bad count or time range", nm,
                at, i);
        e->count = (uint32_t)cnt;
        if (!preagg_finish(&x))
            BAD("segment %s: offset %" PRIu64 ": index entry %u: bad pre-aggregates", nm, at, i);
        e->agg = x.agg;
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
        BAD("segment %s: offset %" PRIu64 ": %zu trailing bytes after the index", nm, index_off,
            vt_reader_left(&ir));
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

vt_rc seg_open_file(const char *path, seg_reader **out, vt_err *err)
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

static vt_rc block_bad(const seg_reader *r, size_t bi, const char *what, vt_err *err)
{
    if (r->corrupt_counter)
        atomic_fetch_add(r->corrupt_counter, 1);
    return vt_err_set(err, VT_ECORRUPT, "segment %s: block %zu at offset %" PRIu64 ": %s",
                      r->name, bi, r->blocks[bi].offset, what);
}

vt_rc seg_read_block(const seg_reader *r, size_t bi, seg_col *out, vt_err *err)
{
    const seg_index_entry *e = &r->blocks[bi];
    const uint8_t *b = r->data + e->offset;
    size_t len = e->length;
    if (block_crc(e, b, len - 4) != vt_get_u32(b + len - 4))
        return block_bad(r, bi, "checksum mismatch", err);
    vt_reader br;
    uint64_t ts_len64;
    vt_reader_init(&br, b, len - 4);
    if (!vt_read_uvarint(&br, &ts_len64) || ts_len64 == 0 || ts_len64 >= vt_reader_left(&br))
        return block_bad(r, bi, "bad column lengths", err);
    size_t ts_len = (size_t)ts_len64, val_len = vt_reader_left(&br) - ts_len;
    if (out->type != (vt_type)e->type)
        return block_bad(r, bi, "type does not match the column", err);
    size_t n = e->count;
    if (!seg_col_reserve(out, n))
        return vt_err_set(err, VT_ENOMEM, "segment %s: block %zu: out of memory", r->name, bi);
    int64_t *ts = out->time + out->n;
    void *val = (uint8_t *)out->val + out->n * seg_type_size(out->type);
    const uint8_t *tp = br.p, *vp = tp + ts_len;
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
    seg_preagg_compute(out->type, val, n, &agg);
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

/* The checksum-level check of one block: its CRC32C (which covers the index entry's identity,
 * see block_crc) and its column framing, without decoding the columns. */
static vt_rc seg_check_block(const seg_reader *r, size_t bi, vt_err *err)
{
    const seg_index_entry *e = &r->blocks[bi];
    const uint8_t *b = r->data + e->offset;
    size_t len = e->length;
    if (block_crc(e, b, len - 4) != vt_get_u32(b + len - 4))
        return block_bad(r, bi, "checksum mismatch", err);
    vt_reader br;
    uint64_t ts_len;
    vt_reader_init(&br, b, len - 4);
    if (!vt_read_uvarint(&br, &ts_len) || ts_len == 0 || ts_len >= vt_reader_left(&br))
        return block_bad(r, bi, "bad column lengths", err);
    return VT_OK;
}

unsigned seg_verify_checksums(const seg_reader *r, seg_report_fn report, void *ctx,
                              uint64_t *blocks)
{
    unsigned problems = 0;
    for (size_t i = 0; i < r->nblocks; i++) {
        vt_err err;
        vt_err_clear(&err);
        if (seg_check_block(r, i, &err) != VT_OK) {
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
    if (size < SEG_HEADER_LEN + SEG_FOOTER_LEN)
        return;
    size_t foot = size - SEG_FOOTER_LEN;
    uint8_t *f = d + foot;
    uint64_t series_off = vt_get_u64(f), index_off = vt_get_u64(f + 8);
    uint32_t nblocks = vt_get_u32(f + 16);
    if (series_off >= SEG_HEADER_LEN && series_off <= index_off && index_off <= foot) {
        vt_reader ir;
        vt_reader_init(&ir, d + index_off, foot - index_off);
        uint64_t prev_end = SEG_HEADER_LEN, prev_sid = 0;
        int64_t prev_max = 0;
        for (uint32_t i = 0; i < nblocks; i++) {
            raw_entry x;
            if (!index_read(&ir, &x) || x.len < SEG_BLOCK_MIN || x.len > series_off - prev_end)
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
            e.min_time = (int64_t)((uint64_t)prev_max + (uint64_t)vt_unzigzag(x.dmin));
            e.max_time = (int64_t)((uint64_t)e.min_time + x.span);
            vt_put_u32(d + prev_end + len - 4, block_crc(&e, d + prev_end, (size_t)len - 4));
            prev_end += len;
            prev_sid = e.series_id;
            prev_max = e.max_time;
        }
        vt_put_u32(f + 20, crc32c(d + series_off, foot - series_off));
    }
    vt_put_u32(f + 24, crc32c(f, 24));
}
