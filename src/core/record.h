/*
 * core/record.h — payloads of the journal records the node writes.
 *
 * JOURNAL_REC_WRITE, version 1 (all integers little-endian):
 *     u8   version            = 1
 *     u8   precision          lp_precision of the body's timestamps
 *     u16  db_len, db bytes   database name (UTF-8, no NUL)
 *     u16  rp_len, rp bytes   retention policy ("" = default)
 *     i64  default_time       ns; the time of lines written without a timestamp
 *     ...  body               the accepted lines of line protocol, verbatim, '\n'-separated
 * Replaying = parsing the body with (precision, default_time): the same points, bit for bit, as
 * the original write produced. Only lines that were accepted are kept, so a replay never meets
 * a line that failed to parse. Written by older releases and by `volta resync`; still read.
 *
 * JOURNAL_REC_WRITE, version 2 ("points"; what the node writes since 2026-12): the accepted
 * points already parsed, each series key once. 4-6x smaller than the text on ONS-shaped data,
 * and the journal write is a serialized step of every write (bench/ingest):
 *     u8   version            = 2
 *     u8   precision          0 (unused: times are ns)
 *     u16  db_len, db bytes; u16 rp_len, rp bytes   as in version 1
 *     i64  default_time       0 (unused)
 *     uvarint nkeys, nkeys x (uvarint len, canonical series key: engine/series_index.h)
 *     uvarint nnames, nnames x (uvarint len, field name)
 *     uvarint npoints, npoints x point:
 *         uvarint key index (< nkeys) | uvarint zz(time - previous point's time; the first
 *         point's previous time is 0), wrapping | uvarint nfields (>= 1) | nfields x (uvarint
 *         name index (< nnames), u8 type (1 float .. 5 string, common/point.h), value: float
 *         f64 LE bits; integer uvarint zz; unsigned uvarint; boolean u8 0/1; string uvarint
 *         len + bytes)
 *     and nothing after the last point.
 * Replaying applies the points by their keys (engine_apply_keyed), in record order: the same
 * points, bit for bit. Forwarding to an InfluxDB backend renders them as line protocol
 * (record_points_render_lp).
 *
 * JOURNAL_REC_CREATE_DB / JOURNAL_REC_DROP_DB, version 1:
 *     u8   version = 1
 *     u16  name_len, name bytes
 *
 * RECORD_TYPE_DELETE (journal type 4), version 1 — DELETE / DROP SERIES:
 *     u8   version = 1
 *     u16  db_len, db bytes
 *     i64  tmin, i64 tmax     ns, inclusive (DROP SERIES: INT64_MIN, INT64_MAX)
 *     u32  nkeys
 *     nkeys x (u32 key_len, key bytes)   canonical series keys (engine/series_index.h), never
 *                                        ids: ids are per engine and not replay-stable
 * RECORD_TYPE_DROP_MEASUREMENT (journal type 5), version 1:
 *     u8   version = 1
 *     u16  db_len, db bytes
 *     u16  name_len, measurement bytes
 * Both are applied in seq order like writes, live and on replay (engine_delete_keyed /
 * engine_drop_measurement); replaying one again is harmless.
 *
 * Since retention policies, the rp of a WRITE record is the policy the write was resolved to
 * (never "" in new records; "" in older ones means the database's default policy).
 *
 * RECORD_TYPE_DB_META (journal type 6), version 1 — CREATE DATABASE ... WITH, CREATE / ALTER /
 * DROP RETENTION POLICY: the database's whole catalog after the change (a state, not a delta,
 * so replaying it again is harmless):
 *     u8   version = 1
 *     u16  db_len, db bytes
 *     ...  catalog (below)
 * Applying it creates the database if missing, drops the store of every policy the previous
 * catalog had and this one lacks, creates the store of every new policy, and publishes the
 * catalog as the database's engine metadata (engine_set_db_meta).
 *
 * Catalog (also the engine metadata blob of database <db>; an empty blob — every database from
 * before retention policies, or made by a plain CREATE DATABASE — is the default catalog:
 * autogen, INF, 168h shard groups, replicaN 1, default):
 *     u8   version = 1
 *     u16  len, bytes         name of the default policy (may name no policy: InfluxDB keeps
 *                             the name when its policy is dropped)
 *     u16  n                  policies, in creation order (SHOW RETENTION POLICIES order)
 *     n x (u16 len, name bytes, i64 duration ns (0 = INF), i64 shard group duration ns,
 *          u32 replicaN)
 *
 * RECORD_TYPE_RETENTION (journal type 7), version 1 — retention enforcement:
 *     u8   version = 1
 *     u16  store_len, store bytes   engine store (engine.h: "<db>" or "<db>\x1f<rp>")
 *     i64  cutoff                   ns: every point with time < cutoff is dropped
 */
#ifndef CORE_RECORD_H
#define CORE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "engine/engine.h"
#include "ingest/lineproto.h"

/* Journal record types the node writes besides journal.h's JOURNAL_REC_WRITE / CREATE_DB /
 * DROP_DB (the journal stores any u16 type; payload formats are the producer's). */
enum {
    RECORD_TYPE_DELETE = 4,
    RECORD_TYPE_DROP_MEASUREMENT = 5,
    RECORD_TYPE_DB_META = 6,
    RECORD_TYPE_RETENTION = 7,
};

/* Longest database or retention policy name. */
#define RECORD_NAME_MAX 255

/* One retention policy of a database's catalog. */
typedef struct record_rp {
    char name[RECORD_NAME_MAX + 1];
    int64_t duration;       /* ns; 0 = INF (keep for ever) */
    int64_t shard_duration; /* ns; shard group duration (> 0) */
    uint32_t replica_n;
} record_rp;

/* A database's retention policies (the catalog above). */
typedef struct record_rpcat {
    char default_rp[RECORD_NAME_MAX + 1];
    record_rp *rps; /* malloc'ed, creation order */
    size_t n, cap;
} record_rpcat;

/* The catalog of a database made without WITH: autogen, INF, 168h, 1, default. false = OOM. */
bool record_rpcat_default(record_rpcat *c);
void record_rpcat_free(record_rpcat *c);
/* Deep copy; false on out-of-memory (dst is then empty). */
bool record_rpcat_copy(record_rpcat *dst, const record_rpcat *src);
/* The policy named name, or NULL. */
record_rp *record_rpcat_find(const record_rpcat *c, const char *name);
/* Appends rp; false on out-of-memory. */
bool record_rpcat_add(record_rpcat *c, const record_rp *rp);
void record_rpcat_remove(record_rpcat *c, const char *name);
void record_rpcat_encode(vt_buf *out, const record_rpcat *c);
/* Decodes a catalog; an empty blob is the default catalog. c is overwritten (free it after). */
vt_rc record_rpcat_decode(const uint8_t *data, size_t len, record_rpcat *c, vt_err *err);

void record_db_meta_encode(vt_buf *out, const char *db, const record_rpcat *c);
/* Copies db (NUL-terminated, at most cap bytes) and decodes the catalog into c. */
vt_rc record_db_meta_decode(const uint8_t *data, size_t len, char *db, size_t cap,
                            record_rpcat *c, vt_err *err);
void record_retention_encode(vt_buf *out, const char *store, int64_t cutoff);
vt_rc record_retention_decode(const uint8_t *data, size_t len, char *store, size_t cap,
                              int64_t *cutoff, vt_err *err);

/* A canonical series key inside a record's bytes. */
typedef struct record_key {
    const uint8_t *p;
    size_t len;
} record_key;

typedef struct record_write {
    unsigned version; /* 1: body is line protocol; 2: points (record_points_*) */
    lp_precision precision;
    const char *db; /* not NUL-terminated in a decoded record: use db_len */
    size_t db_len;
    const char *rp;
    size_t rp_len;
    int64_t default_time;
    const char *body; /* version 1: the lines; version 2: the encoded points (after the header) */
    size_t body_len;
} record_write;

/* Appends the header of a WRITE record to out; the caller appends the body after it. */
void record_write_header(vt_buf *out, lp_precision precision, const char *db, const char *rp,
                         int64_t default_time);
vt_rc record_write_decode(const uint8_t *data, size_t len, record_write *out, vt_err *err);

/* Scratch of record_points_encode, reused from record to record (zero-initialise it). */
typedef struct record_points_scratch {
    uint32_t *slots; /* key hash table: index + 1 (0 = empty) */
    size_t nslots;
    uint32_t *key_of; /* per point: its key index */
    size_t key_of_cap;
    uint32_t *keys; /* per key index: the first point using it */
    size_t keys_cap;
    vt_str *names;
    size_t names_cap;
    uint32_t *name_of; /* per field of the record, in order: its name index */
    size_t name_of_cap;
} record_points_scratch;
void record_points_scratch_free(record_points_scratch *s);

/* Appends a whole version 2 WRITE record of pts[0..n) to out: keys[i] is the canonical key of
 * pts[i] at engine_key_bytes(base, &keys[i]) (hash = sidx_hash of it). false on out-of-memory. */
bool record_points_encode(vt_buf *out, const char *db, const char *rp, const vt_point *pts,
                          const uint8_t *base, const engine_key *keys, size_t n,
                          record_points_scratch *s);

/* Reads the points of a decoded version 2 WRITE record, one at a time. */
typedef struct record_points_reader {
    vt_reader r;
    record_key *keys; /* malloc'ed: the canonical keys (slices of the record) */
    vt_str *meas;     /* malloc'ed: the measurement of each key */
    size_t nkeys;
    vt_str *names; /* malloc'ed */
    size_t nnames;
    size_t npoints, left;
    int64_t time;
    vt_field *fields; /* malloc'ed, grown: the fields of the last point */
    size_t fields_cap;
} record_points_reader;
/* Checks the dictionaries of w (version 2) and positions rd before the first point. */
vt_rc record_points_open(record_points_reader *rd, const record_write *w, vt_err *err);
/* The next point: measurement (from its key), no tags (apply and render go by the key), its
 * fields (valid until the next call) and time; *key_index its key. *have = false after the
 * last point (then the record must end there: trailing bytes are VT_ECORRUPT). */
vt_rc record_points_next(record_points_reader *rd, vt_point *pt, size_t *key_index, bool *have,
                         vt_err *err);
void record_points_close(record_points_reader *rd);
/* Appends the points of w (version 2) as line protocol with ns timestamps to out. */
vt_rc record_points_render_lp(const record_write *w, vt_buf *out, vt_err *err);

void record_dbop_encode(vt_buf *out, const char *name);
/* Copies the name into name (NUL-terminated, at most cap bytes). */
vt_rc record_dbop_decode(const uint8_t *data, size_t len, char *name, size_t cap, vt_err *err);


/* A decoded DELETE record; db and keys point into the record's bytes. */
typedef struct record_delete {
    const char *db; /* not NUL-terminated */
    size_t db_len;
    int64_t tmin, tmax;
    record_key *keys; /* malloc'ed by record_delete_decode: free() it */
    size_t nkeys;
} record_delete;

/* keys[i] is the canonical key at base + off[i] of length len[i]. */
void record_delete_encode(vt_buf *out, const char *db, int64_t tmin, int64_t tmax,
                          const uint8_t *base, const size_t *off, const size_t *len, size_t n);
vt_rc record_delete_decode(const uint8_t *data, size_t len, record_delete *out, vt_err *err);

void record_drop_measurement_encode(vt_buf *out, const char *db, const char *measurement);
/* Copies db and measurement (NUL-terminated, at most cap bytes each). */
vt_rc record_drop_measurement_decode(const uint8_t *data, size_t len, char *db, size_t db_cap,
                                     char *measurement, size_t m_cap, vt_err *err);

#endif
