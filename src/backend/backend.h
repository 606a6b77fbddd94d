/*
 * backend/backend.h — a store the journal is replicated to.
 *
 * The primary is the node's own native engine, fed synchronously by the write path
 * (core/node.h). Every other backend is fed asynchronously by its applier (backend/applier.h)
 * with the same journal records, in seq order:
 *
 *   native   a volta data directory of its own, opened in-process (core/node.h): each record
 *            is written to its own journal and applied to its own engine, so the directory is a
 *            complete instance `volta serve --data <path>` can serve after a rollback.
 *   influx   a remote InfluxDB-compatible server over the v1 HTTP API (backend/influx_remote.h):
 *            a real InfluxDB 1.x, or another `volta serve`.
 *
 * Applying a record twice is harmless (last write wins on series + time; deletes and catalog
 * records are states), so an applier that crashes between applying and saving its cursor
 * simply applies the tail again.
 */
#ifndef BACKEND_BACKEND_H
#define BACKEND_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "core/config.h"
#include "journal/journal.h"

typedef struct backend backend;

/* What a backend can do beyond applying records (read routing and checks use these). */
enum {
    BACKEND_CAP_INFLUXQL = 1u << 0,
    BACKEND_CAP_FLUX = 1u << 1,
    BACKEND_CAP_SNAPSHOT = 1u << 2,
};

/* Opens the backend a config section describes. A native backend's directory is created when
 * absent and locked while open; an influx backend is not contacted until used. */
vt_rc backend_open(const config_backend *cfg, backend **out, vt_err *err);
void backend_close(backend *b);

const char *backend_name(const backend *b);
const char *backend_type(const backend *b);
unsigned backend_caps(const backend *b);

/* Applies recs[0..n) in order; *applied = how many leading records are done (also on error).
 * Errors: VT_EBUSY (transient: unreachable, overloaded — retry later), VT_EINVAL (the backend
 * refused a record; the message says why), others as the store reports them. */
vt_rc backend_apply(backend *b, const journal_record *recs, size_t n, size_t *applied, vt_err *err);

/* Is it reachable and healthy? VT_OK, or the reason (VT_EBUSY when unreachable). detail gets a
 * short description ("InfluxDB 1.6.7 at http://...", "native at /srv/backup, seq 123"). */
vt_rc backend_health(backend *b, char *detail, size_t cap, vt_err *err);

/* Runs InfluxQL on the backend (db may be NULL); *json_out receives InfluxDB's JSON response
 * (malloc'ed, free()). Used by resync and the checks to compare backends. */
vt_rc backend_query(backend *b, const char *db, const char *q, char **json_out, vt_err *err);

#endif
