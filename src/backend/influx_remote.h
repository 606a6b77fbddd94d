/*
 * backend/influx_remote.h — a remote InfluxDB-compatible server over the InfluxDB v1 HTTP API
 * (libcurl): a real InfluxDB 1.x, or another `volta serve`.
 *
 * Its job is to replay journal records (journal/journal.h, payloads in core/record.h) on the
 * remote so that it ends up holding the same data as the primary:
 *
 *   JOURNAL_REC_WRITE          POST /write?db=&rp=&precision=  with the record's line protocol.
 *                              Lines without a timestamp get the record's default_time (the body
 *                              is re-serialised only when such a line exists), so the remote
 *                              stores the instant the primary stored. Consecutive WRITE records
 *                              of the same (db, rp, precision) are sent as one request (up to
 *                              max_body_bytes).
 *   JOURNAL_REC_CREATE_DB      CREATE DATABASE "db"
 *   JOURNAL_REC_DROP_DB        DROP DATABASE "db"
 *   RECORD_TYPE_DB_META        the database's catalog made true on the remote: CREATE DATABASE,
 *                              then CREATE / ALTER RETENTION POLICY for every policy (DURATION,
 *                              REPLICATION, SHARD DURATION, DEFAULT), DROP RETENTION POLICY for
 *                              the remote's policies the catalog lacks (SHOW RETENTION POLICIES)
 *   RECORD_TYPE_DELETE         per series key: DELETE FROM "m" WHERE "k"='v' AND ... AND time >=
 *                              tmin AND time <= tmax (DROP SERIES FROM ... when the range is
 *                              unbounded); the tag keys the series lacks are matched as = '' so
 *                              the statement hits exactly that series; sent as `;`-joined batches
 *   RECORD_TYPE_DROP_MEASUREMENT  DROP MEASUREMENT "m"
 *   RECORD_TYPE_RETENTION      nothing: the remote enforces its own retention policies
 * Every statement is idempotent, so replaying a record twice is harmless.
 *
 * Errors are classified so the applier knows whether waiting helps:
 *   VT_EBUSY   transient: connection refused/reset, timeout, HTTP 5xx, 429 — retry with backoff
 *   VT_EINVAL  the remote refused the request (HTTP 4xx other than 404 "database not found",
 *              e.g. a field type conflict): retrying the same bytes will not help; the message
 *              quotes the remote's error
 *   VT_EIO     anything else (out of memory in curl, a malformed response)
 * A write answered 404 "database not found" creates the database and retries once (a remote
 * that lost its data directory is refilled rather than blocked).
 *
 * Thread safety: one handle per thread (it owns one curl easy handle, reused for keep-alive).
 */
#ifndef BACKEND_INFLUX_REMOTE_H
#define BACKEND_INFLUX_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "ingest/lineproto.h"
#include "journal/journal.h"

typedef struct influx_remote_options {
    char url[1024];     /* "http://127.0.0.1:8086" (no trailing path) */
    char username[128]; /* v1 u/p parameters when non-empty */
    char password[256];
    char token[512];             /* "Authorization: Token <token>" when non-empty */
    unsigned timeout_ms;         /* whole request; default 30000 */
    unsigned connect_timeout_ms; /* default 2000 */
    size_t max_body_bytes;       /* one /write request; default 8 MiB */
    bool gzip;                   /* Content-Encoding: gzip on /write bodies; default false */
} influx_remote_options;

typedef struct influx_remote influx_remote;

void influx_remote_options_default(influx_remote_options *o);
vt_rc influx_remote_new(const influx_remote_options *o, influx_remote **out, vt_err *err);
void influx_remote_free(influx_remote *r);

/* GET /ping: VT_OK on 204 (version = X-Influxdb-Version, may be NULL), else classified as above. */
vt_rc influx_remote_ping(influx_remote *r, char *version, size_t cap, vt_err *err);

/* POST /write of a body of line protocol. */
vt_rc influx_remote_write(influx_remote *r, const char *db, const char *rp, lp_precision precision,
                          const char *body, size_t len, vt_err *err);

/* POST /query with q (one or more statements separated by `;`), db may be NULL or "".
 * *json_out (may be NULL) receives the response body (malloc'ed, NUL-terminated; free()).
 * A statement error in results[i].error is VT_EINVAL quoting it. */
vt_rc influx_remote_query(influx_remote *r, const char *db, const char *q, char **json_out,
                          vt_err *err);

/* Applies recs[0..n) in order (see the table above). On error nothing after the failing record
 * is applied; *applied (may be NULL) says how many leading records are done, so the caller can
 * move its cursor past them and retry the rest. */
vt_rc influx_remote_apply(influx_remote *r, const journal_record *recs, size_t n, size_t *applied,
                          vt_err *err);

/* Counters since creation, for /metrics and `volta status`. */
typedef struct influx_remote_stats {
    uint64_t requests, failures, bytes_sent, points_sent;
} influx_remote_stats;
void influx_remote_get_stats(const influx_remote *r, influx_remote_stats *out);

#endif
