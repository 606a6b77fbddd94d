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

#include "common/buf.h"
#include "common/error.h"
#include "core/config.h"
#include "core/node.h"
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

/* ---- read routing (server/route.c, server/handlers_backends.c) ---- */

/* native: the backend's own node, on which reads routed to the backup run (it stays open while
 * the backend is); NULL for an influx backend. */
node *backend_node(backend *b);

/* One HTTP request forwarded as it is to an influx backend (read routing). */
typedef struct backend_http_request {
    const char *method;       /* "GET" | "POST" */
    const char *path;         /* "/query" */
    const char *query_string; /* already URL-encoded, without '?'; may be NULL */
    const char *body;         /* may be NULL */
    size_t body_len;
    const char *content_type; /* Content-Type to send, or NULL */
    const char *accept;       /* Accept to send, or NULL */
} backend_http_request;

typedef struct backend_http_response {
    long status;
    char content_type[128]; /* "" when the remote sent none */
    vt_buf body;            /* the caller frees it (vt_buf_free), also on error */
} backend_http_response;

/* Forwards rq to an influx backend's URL with the backend's own credentials (v1 u/p when a
 * username is configured, "Authorization: Token" when a token is), buffering the answer up to
 * max_bytes. Uses its own connection, so it never waits for the applier. Errors: VT_EBUSY the
 * backend is unreachable or timed out (the message says why), VT_ELIMIT the answer is larger
 * than max_bytes, VT_EINVAL b is not an influx backend. out->body must be initialised
 * (vt_buf_init) by the caller. */
vt_rc backend_forward(backend *b, const backend_http_request *rq, size_t max_bytes,
                      backend_http_response *out, vt_err *err);

#endif
