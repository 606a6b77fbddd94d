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
 */
#ifndef CORE_RECORD_H
#define CORE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "ingest/lineproto.h"

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

#endif
