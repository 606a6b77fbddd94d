/*
 * engine/segment.c — segment files.
 *
 * NOTES ON THE SEGMENT FILE FORMAT (version 1)
 *
 * A segment is an immutable file holding columns of one database. All integers are
 * little-endian; "uvarint" is LEB128. A file is laid out as
 *
 *     header | block 0 | block 1 | ... | series section | index | footer
 *
 * The header is 16 bytes:
 *     0   4  magic "VSEG"
 *     4   2  version (1)
 *     6   2  flags (0)
 *     8   8  segment id (also in the file name)
 *
 * A block holds up to block_points points of one column (series id, field), time-ascending
 * with unique times. Its length L = 72 + ts_len + val_len:
 *     0   8  series id
 *     8   4  field number: index into the series' field list in the series section
 *    12   1  value type (1 float, 2 integer, 3 unsigned, 4 boolean, 5 string)
 *    13   1  timestamp encoding tag (informative copy of the first timestamp byte)
 *    14   1  value encoding tag (informative copy of the first value byte)
 *    15   1  reserved (0)
 *    16   4  count (1 .. 2^20)
 *    20   8  min time (signed ns)
 *    28   8  max time
 *    36   8  pre-aggregate sum as IEEE-754 double (float/integer/unsigned; number of true
 *            values for booleans; 0 for strings)
 *    44   8  pre-aggregate min: double bits for floats, int64 / uint64 for integers /
 *            unsigned, 0 for booleans and strings
 *    52   8  pre-aggregate max (same encoding as min)
 *    60   4  ts_len
 *    64   4  val_len
 *    68   ts_len   encoded timestamps (engine/encoding.h: tag byte + payload)
 *     .   val_len  encoded values
 *   L-4   4  CRC-32C of bytes [0, L-4) of the block
 *
 * The series section lists each series of the segment, ascending by id:
 *     u32 nseries, then per series:
 *       u64 id, uvarint len + measurement, uvarint ntags, ntags x (uvarint len + key,
 *       uvarint len + value) sorted by key, uvarint nfields, nfields x (u8 type, uvarint len +
 *       name) sorted by name (bytewise)
 *
 * The index has one 45-byte entry per block, sorted by (series id, field number, min time):
 *     0 u64 block offset | 8 u32 block length | 12 u64 series id | 20 u32 field number |
 *    24 u8 type | 25 u32 count | 29 i64 min time | 37 i64 max time
 * so a reader can choose blocks by column and time range without touching them.
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
 * offset; index offset + 45 * nblocks = footer offset; section CRC; series ids strictly
 * ascending, field names strictly ascending per series; each index entry lies inside
 * [16, series offset), after the previous block, names an existing series and field with the
 * field's type, has 1 <= count <= 2^20 and min <= max, and the blocks of one column do not
 * overlap in time. On every block read: CRC, header equal to the index entry, lengths, times
 * strictly ascending and equal to min/max at the ends, values decode to exactly count values.
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
#define SEG_VERSION 1
#define SEG_HEADER_LEN 16
#define SEG_BLOCK_HDR 68
#define SEG_BLOCK_MIN (SEG_BLOCK_HDR + 4)
#define SEG_INDEX_ENTRY 45
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
    w->block_points = block_points == 0 ? 1000 : block_points;
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

static uint64_t f64_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

static void block_aggregates(vt_type t, const void *val, size_t n, double *sum, uint64_t *mn,
                             uint64_t *mx)
{
    *sum = 0;
    *mn = *mx = 0;
    if (t == VT_TYPE_FLOAT) {
        const double *v = val;
        double lo = v[0], hi = v[0], s = 0;
        for (size_t i = 0; i < n; i++) {
            s += v[i];
            if (v[i] < lo)
                lo = v[i];
            if (v[i] > hi)
                hi = v[i];
        }
        *sum = s;
        *mn = f64_bits(lo);
        *mx = f64_bits(hi);
    } else if (t == VT_TYPE_INT) {
        const int64_t *v = val;
        int64_t lo = v[0], hi = v[0];
        double s = 0;
        for (size_t i = 0; i < n; i++) {
            s += (double)v[i];
            lo = v[i] < lo ? v[i] : lo;
            hi = v[i] > hi ? v[i] : hi;
        }
        *sum = s;
        *mn = (uint64_t)lo;
        *mx = (uint64_t)hi;
    } else if (t == VT_TYPE_UINT) {
        const uint64_t *v = val;
        uint64_t lo = v[0], hi = v[0];
        double s = 0;
        for (size_t i = 0; i < n; i++) {
            s += (double)v[i];
            lo = v[i] < lo ? v[i] : lo;
            hi = v[i] > hi ? v[i] : hi;
        }
        *sum = s;
        *mn = lo;
        *mx = hi;
    } else if (t == VT_TYPE_BOOL) {
        const bool *v = val;
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += v[i] ? 1 : 0;
        *sum = s;
    }
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
        double sum;
        uint64_t mn, mx;
        block_aggregates(c->type, val, n, &sum, &mn, &mx);
        size_t hdr_at = w->pending.len;
        vt_buf_put_u64(&w->pending, series_id);
        vt_buf_put_u32(&w->pending, field_no);
        vt_buf_putc(&w->pending, (uint8_t)c->type);
        vt_buf_putc(&w->pending, w->ts.data[0]);
        vt_buf_putc(&w->pending, w->vals.data[0]);
        vt_buf_putc(&w->pending, 0);
        vt_buf_put_u32(&w->pending, (uint32_t)n);
        vt_buf_put_u64(&w->pending, (uint64_t)ts[0]);
        vt_buf_put_u64(&w->pending, (uint64_t)ts[n - 1]);
        vt_buf_put_u64(&w->pending, f64_bits(sum));
        vt_buf_put_u64(&w->pending, mn);
        vt_buf_put_u64(&w->pending, mx);
        vt_buf_put_u32(&w->pending, (uint32_t)w->ts.len);
        vt_buf_put_u32(&w->pending, (uint32_t)w->vals.len);
        vt_buf_append(&w->pending, w->ts.data, w->ts.len);
        vt_buf_append(&w->pending, w->vals.data, w->vals.len);
        if (w->pending.oom)
            return vt_err_set(err, VT_ENOMEM, "segment %s: out of memory", w->file.path);
        uint32_t crc = crc32c(w->pending.data + hdr_at, w->pending.len - hdr_at);
        vt_buf_put_u32(&w->pending, crc);
        size_t len = w->pending.len - hdr_at;
        seg_index_entry e = {w->offset, (uint32_t)len, series_id, field_no, (uint8_t)c->type,
                             (uint32_t)n, ts[0], ts[n - 1]};
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
    for (size_t i = 0; i < w->nindex; i++) {
        const seg_index_entry *e = &w->index[i];
        vt_buf_put_u64(b, e->offset);
        vt_buf_put_u32(b, e->length);
        vt_buf_put_u64(b, e->series_id);
        vt_buf_put_u32(b, e->field_no);
        vt_buf_putc(b, e->type);
        vt_buf_put_u32(b, e->count);
        vt_buf_put_u64(b, (uint64_t)e->min_time);
        vt_buf_put_u64(b, (uint64_t)e->max_time);
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
        (foot - index_off) / SEG_INDEX_ENTRY != nblocks || (foot - index_off) % SEG_INDEX_ENTRY)
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
    uint64_t prev_end = SEG_HEADER_LEN;
    const seg_series *cur = NULL;
    for (uint32_t i = 0; i < nblocks; i++) {
        const uint8_t *p = d + index_off + (size_t)i * SEG_INDEX_ENTRY;
        uint64_t at = index_off + (uint64_t)i * SEG_INDEX_ENTRY;
        seg_index_entry *e = &r->blocks[i];
        e->offset = vt_get_u64(p);
        e->length = vt_get_u32(p + 8);
        e->series_id = vt_get_u64(p + 12);
        e->field_no = vt_get_u32(p + 20);
        e->type = p[24];
        e->count = vt_get_u32(p + 25);
        e->min_time = (int64_t)vt_get_u64(p + 29);
        e->max_time = (int64_t)vt_get_u64(p + 37);
        if (e->offset < prev_end || e->length < SEG_BLOCK_MIN || e->offset > series_off ||
            e->length > series_off - e->offset)
            BAD("segment %s: offset %" PRIu64 ": index entry %u: block out of range", nm, at, i);
        prev_end = e->offset + e->length;
        if (e->count == 0 || e->count > SEG_MAX_BLOCK_POINTS || e->min_time > e->max_time)
            BAD("segment %s: offset %" PRIu64 ": index entry %u: bad count or time range", nm,
                at, i);
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
    if (crc32c(b, len - 4) != vt_get_u32(b + len - 4))
        return block_bad(r, bi, "checksum mismatch", err);
    uint32_t ts_len = vt_get_u32(b + 60), val_len = vt_get_u32(b + 64);
    if (vt_get_u64(b) != e->series_id || vt_get_u32(b + 8) != e->field_no || b[12] != e->type ||
        vt_get_u32(b + 16) != e->count || (int64_t)vt_get_u64(b + 20) != e->min_time ||
        (int64_t)vt_get_u64(b + 28) != e->max_time)
        return block_bad(r, bi, "block header does not match the index", err);
    if ((uint64_t)ts_len + val_len + SEG_BLOCK_MIN != len || ts_len == 0 || val_len == 0)
        return block_bad(r, bi, "bad column lengths", err);
    if (out->type != (vt_type)e->type)
        return block_bad(r, bi, "type does not match the column", err);
    size_t n = e->count;
    if (!seg_col_reserve(out, n))
        return vt_err_set(err, VT_ENOMEM, "segment %s: block %zu: out of memory", r->name, bi);
    int64_t *ts = out->time + out->n;
    void *val = (uint8_t *)out->val + out->n * seg_type_size(out->type);
    const uint8_t *tp = b + SEG_BLOCK_HDR, *vp = tp + ts_len;
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
