#include "core/record.h"

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
