#include "core/record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECORD_VERSION 1

void record_write_header(vt_buf *out, lp_precision precision, const char *db, const char *rp,
                         int64_t default_time)
{
    size_t db_len = strlen(db), rp_len = rp ? strlen(rp) : 0;
    vt_buf_putc(out, RECORD_VERSION);
    vt_buf_putc(out, (uint8_t)precision);
    vt_buf_put_u16(out, (uint16_t)db_len);
    vt_buf_append(out, db, db_len);
    vt_buf_put_u16(out, (uint16_t)rp_len);
    vt_buf_append(out, rp, rp_len);
    vt_buf_put_u64(out, (uint64_t)default_time);
}

vt_rc record_write_decode(const uint8_t *data, size_t len, record_write *out, vt_err *err)
{
    vt_reader r;
    uint8_t version, precision;
    uint16_t db_len, rp_len;
    uint64_t t;
    const uint8_t *db, *rp;
    vt_reader_init(&r, data, len);
    if (!vt_read_u8(&r, &version) || !vt_read_u8(&r, &precision))
        return vt_err_set(err, VT_ECORRUPT, "write record: truncated header");
    if (version != RECORD_VERSION)
        return vt_err_set(err, VT_ECORRUPT, "write record: unknown version %u", version);
    if (precision > LP_PRECISION_H)
        return vt_err_set(err, VT_ECORRUPT, "write record: bad precision %u", precision);
    if (!vt_read_u16(&r, &db_len) || !vt_read_bytes(&r, db_len, &db) || !vt_read_u16(&r, &rp_len) ||
        !vt_read_bytes(&r, rp_len, &rp) || !vt_read_u64(&r, &t))
        return vt_err_set(err, VT_ECORRUPT, "write record: truncated header");
    out->precision = (lp_precision)precision;
    out->db = (const char *)db;
    out->db_len = db_len;
    out->rp = (const char *)rp;
    out->rp_len = rp_len;
    out->default_time = (int64_t)t;
    out->body = (const char *)r.p;
    out->body_len = vt_reader_left(&r);
    return VT_OK;
}

void record_dbop_encode(vt_buf *out, const char *name)
{
    size_t n = strlen(name);
    vt_buf_putc(out, RECORD_VERSION);
    vt_buf_put_u16(out, (uint16_t)n);
    vt_buf_append(out, name, n);
}

vt_rc record_dbop_decode(const uint8_t *data, size_t len, char *name, size_t cap, vt_err *err)
{
    vt_reader r;
    uint8_t version;
    uint16_t n;
    const uint8_t *p;
    vt_reader_init(&r, data, len);
    if (!vt_read_u8(&r, &version) || version != RECORD_VERSION || !vt_read_u16(&r, &n) ||
        !vt_read_bytes(&r, n, &p) || n >= cap)
        return vt_err_set(err, VT_ECORRUPT, "database record: malformed (%zu bytes)", len);
    memcpy(name, p, n);
    name[n] = '\0';
    return VT_OK;
}

void record_delete_encode(vt_buf *out, const char *db, int64_t tmin, int64_t tmax,
                          const uint8_t *base, const size_t *off, const size_t *len, size_t n)
{
    size_t db_len = strlen(db);
    vt_buf_putc(out, RECORD_VERSION);
    vt_buf_put_u16(out, (uint16_t)db_len);
    vt_buf_append(out, db, db_len);
    vt_buf_put_u64(out, (uint64_t)tmin);
    vt_buf_put_u64(out, (uint64_t)tmax);
    vt_buf_put_u32(out, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        vt_buf_put_u32(out, (uint32_t)len[i]);
        vt_buf_append(out, base + off[i], len[i]);
    }
}

vt_rc record_delete_decode(const uint8_t *data, size_t len, record_delete *out, vt_err *err)
{
    vt_reader r;
    uint8_t version;
    uint16_t db_len;
    uint64_t lo, hi;
    uint32_t n;
    const uint8_t *db;
    memset(out, 0, sizeof *out);
    vt_reader_init(&r, data, len);
    if (!vt_read_u8(&r, &version) || version != RECORD_VERSION || !vt_read_u16(&r, &db_len) ||
        !vt_read_bytes(&r, db_len, &db) || !vt_read_u64(&r, &lo) || !vt_read_u64(&r, &hi) ||
        !vt_read_u32(&r, &n) || n > vt_reader_left(&r) / 4)
        return vt_err_set(err, VT_ECORRUPT, "delete record: malformed header (%zu bytes)", len);
    out->keys = malloc((n ? n : 1) * sizeof *out->keys);
    if (!out->keys)
        return vt_err_set(err, VT_ENOMEM, "delete record: out of memory");
    for (uint32_t i = 0; i < n; i++) {
        uint32_t kl;
        const uint8_t *kp;
        if (!vt_read_u32(&r, &kl) || !vt_read_bytes(&r, kl, &kp)) {
            free(out->keys);
            out->keys = NULL;
            return vt_err_set(err, VT_ECORRUPT, "delete record: key %u truncated", i);
        }
        out->keys[i] = (record_key){kp, kl};
    }
    if (vt_reader_left(&r) != 0) {
        free(out->keys);
        out->keys = NULL;
        return vt_err_set(err, VT_ECORRUPT, "delete record: trailing bytes");
    }
    out->db = (const char *)db;
    out->db_len = db_len;
    out->tmin = (int64_t)lo;
    out->tmax = (int64_t)hi;
    out->nkeys = n;
    return VT_OK;
}

void record_drop_measurement_encode(vt_buf *out, const char *db, const char *measurement)
{
    size_t dl = strlen(db), ml = strlen(measurement);
    vt_buf_putc(out, RECORD_VERSION);
    vt_buf_put_u16(out, (uint16_t)dl);
    vt_buf_append(out, db, dl);
    vt_buf_put_u16(out, (uint16_t)ml);
    vt_buf_append(out, measurement, ml);
}

vt_rc record_drop_measurement_decode(const uint8_t *data, size_t len, char *db, size_t db_cap,
                                     char *measurement, size_t m_cap, vt_err *err)
{
    vt_reader r;
    uint8_t version;
    uint16_t dl, ml;
    const uint8_t *dp, *mp;
    vt_reader_init(&r, data, len);
    if (!vt_read_u8(&r, &version) || version != RECORD_VERSION || !vt_read_u16(&r, &dl) ||
        !vt_read_bytes(&r, dl, &dp) || !vt_read_u16(&r, &ml) || !vt_read_bytes(&r, ml, &mp) ||
        vt_reader_left(&r) != 0 || dl >= db_cap || ml >= m_cap)
        return vt_err_set(err, VT_ECORRUPT, "drop measurement record: malformed (%zu bytes)",
                          len);
    memcpy(db, dp, dl);
    db[dl] = '\0';
    memcpy(measurement, mp, ml);
    measurement[ml] = '\0';
    return VT_OK;
}

/* ---- retention policy catalogs ---- */

#define RPCAT_VERSION 1

bool record_rpcat_default(record_rpcat *c)
{
    memset(c, 0, sizeof *c);
    record_rp rp;
    memset(&rp, 0, sizeof rp);
    snprintf(rp.name, sizeof rp.name, "autogen");
    rp.duration = 0;
    rp.shard_duration = (int64_t)168 * 3600 * 1000000000;
    rp.replica_n = 1;
    snprintf(c->default_rp, sizeof c->default_rp, "autogen");
    return record_rpcat_add(c, &rp);
}

void record_rpcat_free(record_rpcat *c)
{
    free(c->rps);
    memset(c, 0, sizeof *c);
}

bool record_rpcat_copy(record_rpcat *dst, const record_rpcat *src)
{
    memset(dst, 0, sizeof *dst);
    memcpy(dst->default_rp, src->default_rp, sizeof dst->default_rp);
    for (size_t i = 0; i < src->n; i++)
        if (!record_rpcat_add(dst, &src->rps[i])) {
            record_rpcat_free(dst);
            return false;
        }
    return true;
}

record_rp *record_rpcat_find(const record_rpcat *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->rps[i].name, name) == 0)
            return &c->rps[i];
    return NULL;
}

bool record_rpcat_add(record_rpcat *c, const record_rp *rp)
{
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 4;
        record_rp *v = realloc(c->rps, nc * sizeof *v);
        if (!v)
            return false;
        c->rps = v;
        c->cap = nc;
    }
    c->rps[c->n++] = *rp;
    return true;
}

void record_rpcat_remove(record_rpcat *c, const char *name)
{
    record_rp *rp = record_rpcat_find(c, name);
    if (!rp)
        return;
    size_t at = (size_t)(rp - c->rps);
    memmove(c->rps + at, c->rps + at + 1, (c->n - at - 1) * sizeof *c->rps);
    c->n--;
}

void record_rpcat_encode(vt_buf *out, const record_rpcat *c)
{
    size_t dl = strlen(c->default_rp);
    vt_buf_putc(out, RPCAT_VERSION);
    vt_buf_put_u16(out, (uint16_t)dl);
    vt_buf_append(out, c->default_rp, dl);
    vt_buf_put_u16(out, (uint16_t)c->n);
    for (size_t i = 0; i < c->n; i++) {
        const record_rp *rp = &c->rps[i];
        size_t nl = strlen(rp->name);
        vt_buf_put_u16(out, (uint16_t)nl);
        vt_buf_append(out, rp->name, nl);
        vt_buf_put_u64(out, (uint64_t)rp->duration);
        vt_buf_put_u64(out, (uint64_t)rp->shard_duration);
        vt_buf_put_u32(out, rp->replica_n);
    }
}

/* Reads a u16-prefixed name into out (cap RECORD_NAME_MAX + 1). */
static bool read_name(vt_reader *r, char *out, bool allow_empty)
{
    uint16_t n;
    const uint8_t *p;
    if (!vt_read_u16(r, &n) || n > RECORD_NAME_MAX || (!allow_empty && n == 0) ||
        !vt_read_bytes(r, n, &p) || memchr(p, '\0', n))
        return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

static vt_rc rpcat_read(vt_reader *r, record_rpcat *c, vt_err *err)
{
    uint8_t version;
    uint16_t n;
    memset(c, 0, sizeof *c);
    if (!vt_read_u8(r, &version) || version != RPCAT_VERSION ||
        !read_name(r, c->default_rp, true) || !vt_read_u16(r, &n))
        return vt_err_set(err, VT_ECORRUPT, "retention policy catalog: malformed header");
    for (uint16_t i = 0; i < n; i++) {
        record_rp rp;
        uint64_t d, s;
        memset(&rp, 0, sizeof rp);
        if (!read_name(r, rp.name, false) || !vt_read_u64(r, &d) || !vt_read_u64(r, &s) ||
            !vt_read_u32(r, &rp.replica_n) || (int64_t)d < 0 || (int64_t)s <= 0) {
            record_rpcat_free(c);
            return vt_err_set(err, VT_ECORRUPT, "retention policy catalog: policy %u malformed",
                              i);
        }
        rp.duration = (int64_t)d;
        rp.shard_duration = (int64_t)s;
        if (!record_rpcat_add(c, &rp)) {
            record_rpcat_free(c);
            return vt_err_set(err, VT_ENOMEM, "out of memory");
        }
    }
    if (vt_reader_left(r) != 0) {
        record_rpcat_free(c);
        return vt_err_set(err, VT_ECORRUPT, "retention policy catalog: trailing bytes");
    }
    return VT_OK;
}

vt_rc record_rpcat_decode(const uint8_t *data, size_t len, record_rpcat *c, vt_err *err)
{
    if (len == 0)
        return record_rpcat_default(c) ? VT_OK : vt_err_set(err, VT_ENOMEM, "out of memory");
    vt_reader r;
    vt_reader_init(&r, data, len);
    return rpcat_read(&r, c, err);
}

void record_db_meta_encode(vt_buf *out, const char *db, const record_rpcat *c)
{
    size_t n = strlen(db);
    vt_buf_putc(out, RECORD_VERSION);
    vt_buf_put_u16(out, (uint16_t)n);
    vt_buf_append(out, db, n);
    record_rpcat_encode(out, c);
}

vt_rc record_db_meta_decode(const uint8_t *data, size_t len, char *db, size_t cap,
                            record_rpcat *c, vt_err *err)
{
    vt_reader r;
    uint8_t version;
    uint16_t n;
    const uint8_t *p;
    memset(c, 0, sizeof *c);
    vt_reader_init(&r, data, len);
    if (!vt_read_u8(&r, &version) || version != RECORD_VERSION || !vt_read_u16(&r, &n) ||
        n == 0 || n >= cap || !vt_read_bytes(&r, n, &p) || memchr(p, '\0', n))
        return vt_err_set(err, VT_ECORRUPT, "database metadata record: malformed (%zu bytes)",
                          len);
    memcpy(db, p, n);
    db[n] = '\0';
    return rpcat_read(&r, c, err);
}

void record_retention_encode(vt_buf *out, const char *store, int64_t cutoff)
{
    size_t n = strlen(store);
    vt_buf_putc(out, RECORD_VERSION);
    vt_buf_put_u16(out, (uint16_t)n);
    vt_buf_append(out, store, n);
    vt_buf_put_u64(out, (uint64_t)cutoff);
}

vt_rc record_retention_decode(const uint8_t *data, size_t len, char *store, size_t cap,
                              int64_t *cutoff, vt_err *err)
{
    vt_reader r;
    uint8_t version;
    uint16_t n;
    uint64_t c;
    const uint8_t *p;
    vt_reader_init(&r, data, len);
    if (!vt_read_u8(&r, &version) || version != RECORD_VERSION || !vt_read_u16(&r, &n) ||
        n == 0 || n >= cap || !vt_read_bytes(&r, n, &p) || memchr(p, '\0', n) ||
        !vt_read_u64(&r, &c) || vt_reader_left(&r) != 0)
        return vt_err_set(err, VT_ECORRUPT, "retention record: malformed (%zu bytes)", len);
    memcpy(store, p, n);
    store[n] = '\0';
    *cutoff = (int64_t)c;
    return VT_OK;
}
