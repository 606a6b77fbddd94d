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
 * a line that failed to parse.
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
 */
#ifndef CORE_RECORD_H
#define CORE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "ingest/lineproto.h"

/* Journal record types the node writes besides journal.h's JOURNAL_REC_WRITE / CREATE_DB /
 * DROP_DB (the journal stores any u16 type; payload formats are the producer's). */
enum {
    RECORD_TYPE_DELETE = 4,
    RECORD_TYPE_DROP_MEASUREMENT = 5,
};

typedef struct record_write {
    lp_precision precision;
    const char *db; /* not NUL-terminated in a decoded record: use db_len */
    size_t db_len;
    const char *rp;
    size_t rp_len;
    int64_t default_time;
    const char *body;
    size_t body_len;
} record_write;

/* Appends the header of a WRITE record to out; the caller appends the body after it. */
void record_write_header(vt_buf *out, lp_precision precision, const char *db, const char *rp,
                         int64_t default_time);
vt_rc record_write_decode(const uint8_t *data, size_t len, record_write *out, vt_err *err);

void record_dbop_encode(vt_buf *out, const char *name);
/* Copies the name into name (NUL-terminated, at most cap bytes). */
vt_rc record_dbop_decode(const uint8_t *data, size_t len, char *name, size_t cap, vt_err *err);

/* A decoded DELETE record; db and keys point into the record's bytes. */
typedef struct record_key {
    const uint8_t *p;
    size_t len;
} record_key;

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
