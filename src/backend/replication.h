/*
 * backend/replication.h — the set of appliers a server runs (one per [backend.<name>]), and
 * their reports for /health, /metrics and `volta status`.
 */
#ifndef BACKEND_REPLICATION_H
#define BACKEND_REPLICATION_H

#include <stddef.h>

#include "backend/applier.h"
#include "common/buf.h"
#include "core/config.h"
#include "core/node.h"
#include "meta/meta.h"

typedef struct replication replication;

/* Opens every configured backend and starts its applier. A backend that cannot be opened (a
 * native directory locked by another process...) fails the start: better refuse to serve than
 * silently run without the backup the configuration promises. */
vt_rc replication_start(node *n, meta *m, const volta_config *cfg, replication **out, vt_err *err);
void replication_stop(replication *r);

size_t replication_count(const replication *r);
applier *replication_get(replication *r, size_t i);
applier *replication_find(replication *r, const char *name);

/* The backend reads go to when the read_backend flag is "backup": the one [server] read_backup
 * names, else the first configured; NULL when no backend is configured. */
applier *replication_read_backup(replication *r);

/* `"backends":[{...},...]` (no surrounding braces): name, type, role, state, cursor,
 * primary_seq, lag_records, lag_seconds, applied_records, failures, last_error. */
void replication_health_json(replication *r, vt_buf *out);
/* Prometheus text: volta_backend_lag_records, volta_backend_lag_seconds,
 * volta_backend_applied_records_total, volta_backend_failures_total, volta_backend_up. */
void replication_metrics(replication *r, vt_buf *out);

#endif
