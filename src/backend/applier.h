/*
 * backend/applier.h — one thread per backup backend, replaying the primary's journal into it.
 *
 * State machine of an applier (reported as `state`):
 *
 *     starting --> following <--> retrying
 *                      |              |
 *                      +--> needs_resync <--+   (journal no longer holds its next record)
 *     any --stop--> stopped
 *
 *  following     reads the journal from cursor + 1 up to the acknowledged seq
 *                (journal_acked_seq), in batches (batch_records / batch_bytes), applies each
 *                batch, then persists the cursor in the control plane (meta_backend_set_cursor)
 *                and marks the ledger files the cursor has passed as applied by this backend.
 *  retrying      the backend failed (unreachable, refused): the same batch is retried after a
 *                backoff doubling from 100 ms up to retry_max_ms. Nothing is ever skipped: a
 *                record the backend refuses blocks the applier (its lag grows, the error is
 *                in /health, /metrics and `volta status`) until an operator fixes the cause.
 *  needs_resync  the next record is gone from the journal (trimmed after the backend was
 *                down longer than hold_max_seconds, or the backend was added after the primary
 *                trimmed its journal): the applier waits for `volta resync`, which copies what
 *                is missing and moves the cursor.
 *
 * Journal hold: while following or retrying, the applier holds the journal from cursor + 1
 * (node_journal_hold_*), so the primary never trims what the backend still needs — unless the
 * backend stays behind for longer than hold_max_seconds (oldest unapplied record older than
 * that), when the hold is released and the backend marked needs_resync in the control plane.
 *
 * Crash safety: the cursor moves only after the backend acknowledged the batch (a native
 * backend has it in its own fsynced journal; InfluxDB answered 204). A crash between the apply
 * and the cursor write re-applies that batch on restart — harmless (backend.h).
 */
#ifndef BACKEND_APPLIER_H
#define BACKEND_APPLIER_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/backend.h"
#include "common/error.h"
#include "core/config.h"
#include "core/node.h"
#include "meta/meta.h"

typedef struct applier applier;

typedef struct applier_status {
    char name[CONFIG_NAME_MAX];
    char type[16];
    char role[16];
    char state[16];           /* starting | following | retrying | needs_resync | stopped */
    uint64_t cursor;          /* last seq applied */
    uint64_t primary_seq;     /* the primary's acknowledged seq */
    uint64_t lag_records;     /* primary_seq - cursor */
    double lag_seconds;       /* age of the oldest record not yet applied; 0 when caught up */
    uint64_t applied_records; /* since start */
    uint64_t failures;        /* failed apply attempts since start */
    char last_error[512];
    int64_t last_error_at; /* ns wall clock */
    char resync_reason[256];
} applier_status;

/* Starts the applier of backend b (taken over: closed by applier_stop) fed from primary's
 * journal; cursors and state live in m. */
vt_rc applier_start(node *primary, meta *m, backend *b, const config_backend *cfg, applier **out,
                    vt_err *err);
/* Stops the thread (an apply in progress finishes or times out) and closes the backend. The
 * journal hold stays in place until the node closes (the node's closing trim must not delete what
 * the backend still needs). */
void applier_stop(applier *a);
void applier_get_status(applier *a, applier_status *out);
backend *applier_backend(applier *a);
/* Blocks until the applier's cursor reaches seq or timeout_ms passes; true when reached. */
bool applier_wait_for(applier *a, uint64_t seq, unsigned timeout_ms);
/* Pauses (true) or resumes the applier's thread (resync works on the backend while paused). */
void applier_pause(applier *a, bool pause);
/* After a resync: reloads the cursor and state from the control plane and follows again. */
void applier_reset(applier *a);

#endif
