#include "core/record.h"

#include "engine/series_index.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECORD_VERSION 1
#define RECORD_WRITE_POINTS 2 /* WRITE version 2 (record.h) */

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
    if (version != RECORD_VERSION && version != RECORD_WRITE_POINTS)
        return vt_err_set(err, VT_ECORRUPT, "write record: unknown version %u", version);
    if (precision > LP_PRECISION_H)
        return vt_err_set(err, VT_ECORRUPT, "write record: bad precision %u", precision);
    if (!vt_read_u16(&r, &db_len) || !vt_read_bytes(&r, db_len, &db) || !vt_read_u16(&r, &rp_len) ||
        !vt_read_bytes(&r, rp_len, &rp) || !vt_read_u64(&r, &t))
        return vt_err_set(err, VT_ECORRUPT, "write record: truncated header");
    out->version = version;
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

/* ---- WRITE version 2: points ---- */

void record_points_scratch_free(record_points_scratch *s)
{
    free(s->slots);
    free(s->key_of);
    free(s->keys);
    free(s->names);
    free(s->name_of);
    memset(s, 0, sizeof *s);
}

static bool grow_u32(uint32_t **v, size_t *cap, size_t need)
{
    if (need <= *cap)
        return true;
    size_t nc = *cap ? *cap : 64;
    while (nc < need)
        nc *= 2;
    uint32_t *nv = realloc(*v, nc * sizeof *nv);
    if (!nv)
        return false;
    *v = nv;
    *cap = nc;
    return true;
}

/* Fills s->key_of (per point: its key index) and s->keys (per key: its first point); returns
 * the number of keys, or SIZE_MAX on out-of-memory. Keys are told apart by hash, then bytes. */
static size_t points_index_keys(const uint8_t *base, const engine_key *keys, size_t n,
                                record_points_scratch *s)
{
    size_t want = 16;
    while (want < 2 * n)
        want *= 2;
    if (want > s->nslots) {
        uint32_t *ns = realloc(s->slots, want * sizeof *ns);
        if (!ns)
            return SIZE_MAX;
        s->slots = ns;
        s->nslots = want;
    }
    size_t mask = want - 1;
    memset(s->slots, 0, want * sizeof *s->slots);
    if (!grow_u32(&s->key_of, &s->key_of_cap, n) || !grow_u32(&s->keys, &s->keys_cap, n))
        return SIZE_MAX;
    size_t nkeys = 0;
    for (size_t i = 0; i < n; i++) {
        const engine_key *k = &keys[i];
        size_t at = (size_t)k->hash & mask;
        for (;;) {
            uint32_t slot = s->slots[at];
            if (slot == 0) {
                s->slots[at] = (uint32_t)nkeys + 1;
                s->keys[nkeys] = (uint32_t)i;
                s->key_of[i] = (uint32_t)nkeys++;
                break;
            }
            const engine_key *o = &keys[s->keys[slot - 1]];
            const uint8_t *ob = engine_key_bytes(base, o), *kb = engine_key_bytes(base, k);
            /* the same bytes (a key of the node's series cache, shared by the points of one
             * series) need no comparison */
            if (o->hash == k->hash && o->len == k->len &&
                (ob == kb || memcmp(ob, kb, k->len) == 0)) {
                s->key_of[i] = slot - 1;
                break;
            }
            at = (at + 1) & mask;
        }
    }
    return nkeys;
}

/* The index of name in s->names[0..*nnames), appending it when new; SIZE_MAX on OOM. */
static size_t points_name_index(record_points_scratch *s, size_t *nnames, vt_str name)
{
    for (size_t j = *nnames; j-- > 0;)
        if (vt_str_eq(s->names[j], name))
            return j;
    if (*nnames == s->names_cap) {
        size_t nc = s->names_cap ? s->names_cap * 2 : 8;
        vt_str *nv = realloc(s->names, nc * sizeof *nv);
        if (!nv)
            return SIZE_MAX;
        s->names = nv;
        s->names_cap = nc;
    }
    s->names[*nnames] = name;
    return (*nnames)++;
}

/* Writes v as a uvarint at d (room for 10 bytes); returns the byte after it. */
static inline uint8_t *put_uvarint(uint8_t *d, uint64_t v)
{
    while (v >= 0x80) {
        *d++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *d++ = (uint8_t)v;
    return d;
}

bool record_points_encode(vt_buf *out, const char *db, const char *rp, const vt_point *pts,
                          const uint8_t *base, const engine_key *keys, size_t n,
                          record_points_scratch *s)
{
    if (n > UINT32_MAX - 1)
        return false;
    size_t nkeys = points_index_keys(base, keys, n, s);
    if (nkeys == SIZE_MAX)
        return false;
    size_t db_len = strlen(db), rp_len = rp ? strlen(rp) : 0;
    vt_buf_putc(out, RECORD_WRITE_POINTS);
    vt_buf_putc(out, (uint8_t)LP_PRECISION_NS);
    vt_buf_put_u16(out, (uint16_t)db_len);
    vt_buf_append(out, db, db_len);
    vt_buf_put_u16(out, (uint16_t)rp_len);
    vt_buf_append(out, rp, rp_len);
    vt_buf_put_u64(out, 0);
    vt_buf_put_uvarint(out, nkeys);
    for (size_t k = 0; k < nkeys; k++) {
        const engine_key *ek = &keys[s->keys[k]];
        vt_buf_put_uvarint(out, ek->len);
        vt_buf_append(out, engine_key_bytes(base, ek), ek->len);
    }
    /* the names: a first pass collects them (the dictionary precedes the points), keeps each
     * field's index for the second and bounds the points' encoded size */
    size_t nnames = 0, nf = 0;
    size_t bound = 10; /* the point count */
    for (size_t i = 0; i < n; i++) {
        if (!grow_u32(&s->name_of, &s->name_of_cap, nf + pts[i].nfields))
            return false;
        bound += 5 + 10 + 10; /* key index, time delta, field count */
        for (size_t f = 0; f < pts[i].nfields; f++) {
            const vt_field *fl = &pts[i].fields[f];
            size_t j = points_name_index(s, &nnames, fl->key);
            if (j == SIZE_MAX)
                return false;
            s->name_of[nf++] = (uint32_t)j;
            bound += 5 + 1 + 10; /* name index, type, value */
            if (fl->value.type == VT_TYPE_STRING) {
                if (fl->value.v.s.len > SIZE_MAX / 2 - bound)
                    return false;
                bound += fl->value.v.s.len;
            }
        }
    }
    vt_buf_put_uvarint(out, nnames);
    for (size_t j = 0; j < nnames; j++) {
        vt_buf_put_uvarint(out, s->names[j].len);
        vt_buf_append(out, s->names[j].ptr, s->names[j].len);
    }
    /* the points, written straight into room reserved for the bound */
    if (!vt_buf_reserve(out, bound))
        return false;
    uint8_t *d = out->data + out->len;
    d = put_uvarint(d, n);
    int64_t prev = 0;
    nf = 0;
    for (size_t i = 0; i < n; i++) {
        const vt_point *p = &pts[i];
        d = put_uvarint(d, s->key_of[i]);
        d = put_uvarint(d, vt_zigzag((int64_t)((uint64_t)p->time - (uint64_t)prev)));
        prev = p->time;
        d = put_uvarint(d, p->nfields);
        for (size_t f = 0; f < p->nfields; f++) {
            const vt_field *fl = &p->fields[f];
            d = put_uvarint(d, s->name_of[nf++]);
            *d++ = (uint8_t)fl->value.type;
            switch (fl->value.type) {
            case VT_TYPE_FLOAT: {
                uint64_t bits;
                memcpy(&bits, &fl->value.v.f, 8);
                vt_put_u64(d, bits);
                d += 8;
                break;
            }
            case VT_TYPE_INT:
                d = put_uvarint(d, vt_zigzag(fl->value.v.i));
                break;
            case VT_TYPE_UINT:
                d = put_uvarint(d, fl->value.v.u);
                break;
            case VT_TYPE_BOOL:
                *d++ = fl->value.v.b ? 1 : 0;
                break;
            default:
                d = put_uvarint(d, fl->value.v.s.len);
                if (fl->value.v.s.len)
                    memcpy(d, fl->value.v.s.ptr, fl->value.v.s.len);
                d += fl->value.v.s.len;
                break;
            }
        }
    }
    out->len = (size_t)(d - out->data);
    return !out->oom;
}

void record_points_close(record_points_reader *rd)
{
    free(rd->keys);
    free(rd->meas);
    free(rd->names);
    free(rd->fields);
    memset(rd, 0, sizeof *rd);
}

vt_rc record_points_open(record_points_reader *rd, const record_write *w, vt_err *err)
{
    memset(rd, 0, sizeof *rd);
    if (w->version != RECORD_WRITE_POINTS)
        return vt_err_set(err, VT_EINVAL, "write record: version %u holds no points",
                          w->version);
    vt_reader_init(&rd->r, w->body, w->body_len);
    uint64_t nkeys, nnames, npoints;
    const char *what = "truncated key dictionary";
    /* every key takes at least 3 bytes, every name and every point at least 1 */
    if (!vt_read_uvarint(&rd->r, &nkeys) || nkeys > vt_reader_left(&rd->r) / 3)
        goto bad;
    rd->keys = malloc((nkeys ? nkeys : 1) * sizeof *rd->keys);
    rd->meas = malloc((nkeys ? nkeys : 1) * sizeof *rd->meas);
    if (!rd->keys || !rd->meas) {
        record_points_close(rd);
        return vt_err_set(err, VT_ENOMEM, "write record: out of memory");
    }
    for (uint64_t k = 0; k < nkeys; k++) {
        uint64_t len;
        const uint8_t *key;
        size_t ntags;
        if (!vt_read_uvarint(&rd->r, &len) || len > vt_reader_left(&rd->r) ||
            !vt_read_bytes(&rd->r, (size_t)len, &key))
            goto bad;
        if (!series_key_parse(key, (size_t)len, &rd->meas[k], NULL, 0, &ntags) ||
            rd->meas[k].len == 0) {
            what = "malformed series key";
            goto bad;
        }
        rd->keys[k] = (record_key){key, (size_t)len};
    }
    rd->nkeys = (size_t)nkeys;
    what = "truncated name dictionary";
    if (!vt_read_uvarint(&rd->r, &nnames) || nnames > vt_reader_left(&rd->r))
        goto bad;
    rd->names = malloc((nnames ? nnames : 1) * sizeof *rd->names);
    if (!rd->names) {
        record_points_close(rd);
        return vt_err_set(err, VT_ENOMEM, "write record: out of memory");
    }
    for (uint64_t j = 0; j < nnames; j++) {
        uint64_t len;
        const uint8_t *name;
        if (!vt_read_uvarint(&rd->r, &len) || len > vt_reader_left(&rd->r) ||
            !vt_read_bytes(&rd->r, (size_t)len, &name))
            goto bad;
        rd->names[j] = (vt_str){(const char *)name, (size_t)len};
    }
    rd->nnames = (size_t)nnames;
    what = "truncated point count";
    if (!vt_read_uvarint(&rd->r, &npoints) || npoints > vt_reader_left(&rd->r))
        goto bad;
    rd->npoints = rd->left = (size_t)npoints;
    return VT_OK;
bad:
    record_points_close(rd);
    return vt_err_set(err, VT_ECORRUPT, "write record: %s", what);
}

vt_rc record_points_next(record_points_reader *rd, vt_point *pt, size_t *key_index, bool *have,
                         vt_err *err)
{
    *have = false;
    if (rd->left == 0) {
        if (vt_reader_left(&rd->r))
            return vt_err_set(err, VT_ECORRUPT, "write record: %zu bytes after the last point",
                              vt_reader_left(&rd->r));
        return VT_OK;
    }
    uint64_t k, nfields;
    int64_t dt;
    if (!vt_read_uvarint(&rd->r, &k) || !vt_read_varint(&rd->r, &dt) ||
        !vt_read_uvarint(&rd->r, &nfields))
        return vt_err_set(err, VT_ECORRUPT, "write record: truncated point");
    if (k >= rd->nkeys)
        return vt_err_set(err, VT_ECORRUPT, "write record: key index %llu of %zu",
                          (unsigned long long)k, rd->nkeys);
    /* every field takes at least 3 bytes */
    if (nfields == 0 || nfields > vt_reader_left(&rd->r) / 3 + 1)
        return vt_err_set(err, VT_ECORRUPT, "write record: bad field count %llu",
                          (unsigned long long)nfields);
    if (nfields > rd->fields_cap) {
        size_t nc = rd->fields_cap ? rd->fields_cap : 4;
        while (nc < nfields)
            nc *= 2;
        vt_field *nf = realloc(rd->fields, nc * sizeof *nf);
        if (!nf)
            return vt_err_set(err, VT_ENOMEM, "write record: out of memory");
        rd->fields = nf;
        rd->fields_cap = nc;
    }
    for (uint64_t f = 0; f < nfields; f++) {
        vt_field *fl = &rd->fields[f];
        uint64_t name, u;
        uint8_t type, b;
        int64_t i;
        const uint8_t *bytes;
        if (!vt_read_uvarint(&rd->r, &name) || !vt_read_u8(&rd->r, &type))
            return vt_err_set(err, VT_ECORRUPT, "write record: truncated field");
        if (name >= rd->nnames)
            return vt_err_set(err, VT_ECORRUPT, "write record: name index %llu of %zu",
                              (unsigned long long)name, rd->nnames);
        fl->key = rd->names[name];
        fl->value.type = (vt_type)type;
        bool ok;
        switch (type) {
        case VT_TYPE_FLOAT:
            ok = vt_read_u64(&rd->r, &u);
            memcpy(&fl->value.v.f, &u, 8);
            break;
        case VT_TYPE_INT:
            ok = vt_read_varint(&rd->r, &i);
            fl->value.v.i = i;
            break;
        case VT_TYPE_UINT:
            ok = vt_read_uvarint(&rd->r, &u);
            fl->value.v.u = u;
            break;
        case VT_TYPE_BOOL:
            ok = vt_read_u8(&rd->r, &b) && b <= 1;
            fl->value.v.b = b == 1;
            break;
        case VT_TYPE_STRING:
            ok = vt_read_uvarint(&rd->r, &u) && u <= vt_reader_left(&rd->r) &&
                 vt_read_bytes(&rd->r, (size_t)u, &bytes);
            if (ok)
                fl->value.v.s = (vt_str){(const char *)bytes, (size_t)u};
            break;
        default:
            return vt_err_set(err, VT_ECORRUPT, "write record: bad field type %u", type);
        }
        if (!ok)
            return vt_err_set(err, VT_ECORRUPT, "write record: truncated or bad field value");
    }
    rd->time = (int64_t)((uint64_t)rd->time + (uint64_t)dt);
    *pt = (vt_point){rd->meas[k], NULL, 0, rd->fields, (size_t)nfields, rd->time};
    *key_index = (size_t)k;
    rd->left--;
    *have = true;
    return VT_OK;
}

vt_rc record_points_render_lp(const record_write *w, vt_buf *out, vt_err *err)
{
    record_points_reader rd;
    vt_rc rc = record_points_open(&rd, w, err);
    if (rc != VT_OK)
        return rc;
    vt_tag *tags = NULL;
    size_t tags_cap = 0;
    for (;;) {
        vt_point pt;
        size_t k;
        bool have;
        if ((rc = record_points_next(&rd, &pt, &k, &have, err)) != VT_OK || !have)
            break;
        size_t ntags = 0;
        vt_str meas;
        series_key_parse(rd.keys[k].p, rd.keys[k].len, &meas, tags, tags_cap, &ntags);
        if (ntags > tags_cap) {
            vt_tag *nt = realloc(tags, ntags * sizeof *nt);
            if (!nt) {
                rc = vt_err_set(err, VT_ENOMEM, "write record: out of memory");
                break;
            }
            tags = nt;
            tags_cap = ntags;
            series_key_parse(rd.keys[k].p, rd.keys[k].len, &meas, tags, tags_cap, &ntags);
        }
        pt.tags = tags;
        pt.ntags = ntags;
        lp_write_point(out, &pt);
    }
    free(tags);
    record_points_close(&rd);
    if (rc == VT_OK && out->oom)
        rc = vt_err_set(err, VT_ENOMEM, "write record: out of memory rendering line protocol");
    return rc;
}
