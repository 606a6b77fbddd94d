/*
 * ops/resync.h — `volta resync`: find what a backup backend is missing and repair it.
 *
 * What a backend can be missing, and how each is repaired (idempotently: re-applying data the
 * backend already has changes nothing):
 *   1. journal records past its cursor that are still in the journal: applied in order;
 *   2. a gap — records past its cursor the journal no longer holds (it was down longer than
 *      hold_max_seconds, or was added after the primary trimmed its journal):
 *        - the catalog first (every database and its retention policies, as CREATE_DB +
 *          DB_META records), so the files below have somewhere to go;
 *        - the ledger files the backend never applied: each re-read from the landing zone and
 *          sent to the backend as WRITE records (the same line protocol the loader journals);
 *          a file gone from the landing zone is reported, not invented;
 *        - then the cursor moves to just before the journal's first record and step 1 runs.
 *      Writes that came through the HTTP API (not from files) inside the gap cannot be rebuilt
 *      from the ledger: the report counts the gap's records and says so.
 *   3. needs_resync cleared.
 * With dry_run nothing is changed: the report lists what would be done.
 */
#ifndef OPS_RESYNC_H
#define OPS_RESYNC_H

#include <stdbool.h>

#include "backend/backend.h"
#include "common/buf.h"
#include "common/error.h"
#include "core/node.h"
#include "meta/meta.h"

typedef struct resync_report {
    uint64_t cursor_before, cursor_after;
    uint64_t journal_first, journal_last;
    uint64_t records_applied; /* step 1 */
    uint64_t gap_records;     /* records gone from the journal */
    unsigned databases;       /* catalogs sent (step 2) */
    unsigned files_missing;   /* ledger files the backend never applied */
    unsigned files_applied;   /* ... re-sent from the landing zone */
    unsigned files_gone;      /* ... no longer in the landing zone */
    uint64_t points_sent;
    bool was_needs_resync;
} resync_report;

/* Repairs backend b (named name in the control plane) from primary. landing_root resolves the
 * ledger's relative paths. The caller makes sure no applier feeds b meanwhile (pause it).
 * text (may be NULL) receives a human-readable account, one line per finding and action. */
vt_rc resync_backend(node *primary, meta *m, backend *b, const char *name, const char *landing_root,
                     bool dry_run, resync_report *rep, vt_buf *text, vt_err *err);

/* The report as a JSON object (the admin API's answer). */
void resync_report_json(const resync_report *rep, const char *name, bool dry_run, vt_buf *out);

#endif
