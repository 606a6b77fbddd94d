/*
 * engine/manifest.c — MANIFEST encoding.
 *
 * Layout (versions 1 and 2, little-endian):
 *     0   4  magic "VMAN"
 *     4   2  version (1)
 *     6   2  flags (0)
 *     8   8  checkpoint seq
 *    16   8  next segment id
 *    24   4  next database id
 *    28   4  number of databases
 *    32      per database, sorted by name:
 *              u32 id, u16 name length, name bytes (1..255, no '/' or NUL),
 *              u32 number of segments, that many u64 segment ids (oldest first, ascending)
 *              versions 2 and 3: u32 number of tombstones, that many 32-byte tombstones
 *                  u64 series id, i64 tmin, i64 tmax, u64 seg_bound
 *              version 3 only: u32 metadata length (<= 16 MiB), that many bytes: an opaque
 *                  blob the engine keeps for its user (the node's retention policy catalog,
 *                  core/record.h); 0 = none
 *     .   4  CRC-32C of every preceding byte
 * The file ends right after the CRC. Database ids and segment ids are unique and below the
 * "next" counters. A tombstone deletes the points of its series with tmin <= time <= tmax from
 * the segments of its database whose id is below seg_bound (tmin <= tmax, seg_bound <= next
 * segment id). Version 1 is written whenever no database has a tombstone or metadata, so a store
 * that never saw a DELETE or a retention policy change keeps the original layout byte for byte;
 * version 2 when some database has tombstones and none has metadata; else version 3.
 */
#include "engine/manifest.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crc32c.h"

#define MAN_MAGIC "VMAN"
#define MAN_VERSION 1
#define MAN_VERSION_TOMBS 2
#define MAN_VERSION_META 3
#define MAN_META_MAX ((uint32_t)16 << 20)
#define MAN_TOMB_BYTES 32

void manifest_encode(const manifest *m, vt_buf *out)
{
    size_t start = out->len;
    bool tombs = false, meta = false;
    for (size_t i = 0; i < m->ndbs; i++) {
        tombs = tombs || m->dbs[i].ntombs > 0;
        meta = meta || m->dbs[i].meta_len > 0;
    }
    tombs = tombs || meta;
    vt_buf_append(out, MAN_MAGIC, 4);
    vt_buf_put_u16(out, meta ? MAN_VERSION_META : tombs ? MAN_VERSION_TOMBS : MAN_VERSION);
    vt_buf_put_u16(out, 0);
    vt_buf_put_u64(out, m->checkpoint_seq);
    vt_buf_put_u64(out, m->next_segment_id);
    vt_buf_put_u32(out, m->next_db_id);
    vt_buf_put_u32(out, (uint32_t)m->ndbs);
    for (size_t i = 0; i < m->ndbs; i++) {
        const manifest_db *d = &m->dbs[i];
        size_t nl = strlen(d->name);
        vt_buf_put_u32(out, d->id);
        vt_buf_put_u16(out, (uint16_t)nl);
        vt_buf_append(out, d->name, nl);
        vt_buf_put_u32(out, (uint32_t)d->nsegments);
        for (size_t s = 0; s < d->nsegments; s++)
            vt_buf_put_u64(out, d->segments[s]);
        if (!tombs)
            continue;
        vt_buf_put_u32(out, (uint32_t)d->ntombs);
        for (size_t t = 0; t < d->ntombs; t++) {
            vt_buf_put_u64(out, d->tombs[t].series_id);
            vt_buf_put_u64(out, (uint64_t)d->tombs[t].tmin);
            vt_buf_put_u64(out, (uint64_t)d->tombs[t].tmax);
            vt_buf_put_u64(out, d->tombs[t].seg_bound);
        }
        if (!meta)
            continue;
        vt_buf_put_u32(out, (uint32_t)d->meta_len);
        vt_buf_append(out, d->meta, d->meta_len);
    }
    if (!out->oom)
        vt_buf_put_u32(out, crc32c(out->data + start, out->len - start));
}

void manifest_free(manifest *m)
{
    for (size_t i = 0; i < m->ndbs; i++) {
        free(m->dbs[i].name);
        free(m->dbs[i].segments);
        free(m->dbs[i].tombs);
        free(m->dbs[i].meta);
    }
    free(m->dbs);
    memset(m, 0, sizeof *m);
}

#define BAD(off, ...)                                                                              \
    do {                                                                                           \
        char what_[256];                                                                           \
        snprintf(what_, sizeof what_, __VA_ARGS__);                                                \
        vt_err_set(err, VT_ECORRUPT, "manifest %s: offset %zu: %s", name, (size_t)(off), what_); \
        goto fail;                                                                                 \
    } while (0)

vt_rc manifest_decode(const char *name, const uint8_t *data, size_t len, manifest *m,
                      vt_err *err)
{
    memset(m, 0, sizeof *m);
    if (len < 36)
        BAD(0, "file too short (%zu bytes)", len);
    if (memcmp(data, MAN_MAGIC, 4) != 0)
        BAD(0, "bad magic");
    if (crc32c(data, len - 4) != vt_get_u32(data + len - 4))
        BAD(len - 4, "checksum mismatch");
    uint16_t version = vt_get_u16(data + 4);
    if (version != MAN_VERSION && version != MAN_VERSION_TOMBS && version != MAN_VERSION_META)
        BAD(4, "unsupported version %u", version);
    vt_reader r;
    vt_reader_init(&r, data + 8, len - 12);
    uint32_t ndbs;
    vt_read_u64(&r, &m->checkpoint_seq);
    vt_read_u64(&r, &m->next_segment_id);
    vt_read_u32(&r, &m->next_db_id);
    vt_read_u32(&r, &ndbs);
    if (ndbs > vt_reader_left(&r) / 11)
        BAD(28, "bad database count %u", ndbs);
    m->dbs = calloc(ndbs ? ndbs : 1, sizeof *m->dbs);
    if (!m->dbs)
        return vt_err_set(err, VT_ENOMEM, "manifest %s: out of memory", name);
    for (uint32_t i = 0; i < ndbs; i++) {
        size_t at = (size_t)(r.p - data);
        manifest_db *d = &m->dbs[i];
        m->ndbs = i + 1;
        uint16_t nl;
        uint32_t nseg;
        const uint8_t *np;
        if (!vt_read_u32(&r, &d->id) || !vt_read_u16(&r, &nl) || nl == 0 ||
            !vt_read_bytes(&r, nl, &np))
            BAD(at, "malformed database entry %u", i);
        if (memchr(np, '\0', nl) || memchr(np, '/', nl))
            BAD(at, "bad database name");
        d->name = malloc((size_t)nl + 1);
        if (!d->name)
            return vt_err_set(err, VT_ENOMEM, "manifest %s: out of memory", name);
        memcpy(d->name, np, nl);
        d->name[nl] = '\0';
        if (d->id >= m->next_db_id)
            BAD(at, "database id %u not below next id %u", d->id, m->next_db_id);
        for (uint32_t k = 0; k < i; k++)
            if (m->dbs[k].id == d->id || strcmp(m->dbs[k].name, d->name) >= 0)
                BAD(at, "database '%s' duplicate or out of order", d->name);
        if (!vt_read_u32(&r, &nseg) || nseg > vt_reader_left(&r) / 8)
            BAD(at, "bad segment count for database '%s'", d->name);
        d->segments = calloc(nseg ? nseg : 1, sizeof *d->segments);
        if (!d->segments)
            return vt_err_set(err, VT_ENOMEM, "manifest %s: out of memory", name);
        d->nsegments = nseg;
        for (uint32_t s = 0; s < nseg; s++) {
            vt_read_u64(&r, &d->segments[s]);
            if (d->segments[s] >= m->next_segment_id || (s > 0 && d->segments[s] <= d->segments[s - 1]))
                BAD(at, "database '%s': segment id %" PRIu64 " out of order or range", d->name,
                    d->segments[s]);
        }
        if (version == MAN_VERSION)
            continue;
        uint32_t ntombs;
        size_t tat = (size_t)(r.p - data);
        if (!vt_read_u32(&r, &ntombs) || ntombs > vt_reader_left(&r) / MAN_TOMB_BYTES)
            BAD(tat, "bad tombstone count for database '%s'", d->name);
        d->tombs = calloc(ntombs ? ntombs : 1, sizeof *d->tombs);
        if (!d->tombs)
            return vt_err_set(err, VT_ENOMEM, "manifest %s: out of memory", name);
        d->ntombs = ntombs;
        for (uint32_t t = 0; t < ntombs; t++) {
            manifest_tomb *tb = &d->tombs[t];
            uint64_t lo, hi;
            tat = (size_t)(r.p - data);
            vt_read_u64(&r, &tb->series_id);
            vt_read_u64(&r, &lo);
            vt_read_u64(&r, &hi);
            vt_read_u64(&r, &tb->seg_bound);
            tb->tmin = (int64_t)lo;
            tb->tmax = (int64_t)hi;
            if (tb->tmin > tb->tmax || tb->seg_bound > m->next_segment_id || tb->series_id == 0)
                BAD(tat, "database '%s': bad tombstone %u", d->name, t);
        }
        if (version != MAN_VERSION_META)
            continue;
        uint32_t mlen;
        const uint8_t *mp;
        tat = (size_t)(r.p - data);
        if (!vt_read_u32(&r, &mlen) || mlen > MAN_META_MAX || !vt_read_bytes(&r, mlen, &mp))
            BAD(tat, "database '%s': bad metadata length", d->name);
        if (mlen) {
            d->meta = malloc(mlen);
            if (!d->meta)
                return vt_err_set(err, VT_ENOMEM, "manifest %s: out of memory", name);
            memcpy(d->meta, mp, mlen);
            d->meta_len = mlen;
        }
    }
    if (r.bad)
        BAD(len - 4, "truncated");
    if (vt_reader_left(&r) != 0)
        BAD((size_t)(r.p - data), "trailing bytes");
    return VT_OK;
fail:
    manifest_free(m);
    return VT_ECORRUPT;
}

void manifest_segment_path(char *out, size_t outlen, const char *dir, uint32_t db_id,
                           uint64_t segment_id)
{
    snprintf(out, outlen, "%s/seg/%06" PRIu32 "-%012" PRIu64 ".vseg", dir, db_id, segment_id);
}
