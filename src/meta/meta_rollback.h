/*
 * meta/meta_rollback.h — the rollback record: table `rollbacks` of meta.db (schema v3), the
 * durable state of `volta rollback` / `volta rollforward` (the state machine is ops/rollback.h).
 *
 * One row per run. At most one row is `running` at a time: meta_rollback_start refuses a
 * second one (VT_EEXIST, the message naming the running one), so two operators (or the
 * automatic failover and an operator) never drive the flags at once.
 *
 *     state    running -> done | failed | aborted   (terminal states never change again)
 *     step     the last step completed (0 = pre-checks passed, nothing changed yet; 1..5)
 *     detail   a JSON object; each call's detail is merged into it (keys of the new object
 *              replace the same keys), so the driver adds what it must remember across a
 *              crash (the flags version before the rollback, the last good ramp level ...)
 *
 * Every function writes one transaction (synchronous=FULL: it survives kill -9 of any
 * process). The functions here do not write the audit log: the caller (the admin endpoint)
 * does, with the actor it knows.
 *
 * Naming: meta_rollback() itself (meta_int.h) is the SQL transaction rollback; everything here
 * is meta_rollback_<verb> about the rollback *record*.
 */
#ifndef META_META_ROLLBACK_H
#define META_META_ROLLBACK_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "meta/meta.h"

#define META_ROLLBACK_DETAIL_MAX 8192

typedef struct meta_rollback_rec {
    int64_t id;
    char kind[16];  /* "rollback" | "rollforward" */
    char state[16]; /* "running" | "done" | "failed" | "aborted" */
    int step;
    int64_t started_at, updated_at; /* ns wall clock */
    char who[128];
    char detail[META_ROLLBACK_DETAIL_MAX]; /* JSON object text */
    char error[512];
} meta_rollback_rec;

/* Starts a record (state running, step 0). kind must be rollback or rollforward; detail a JSON
 * object text or NULL ("{}"). VT_EEXIST "rollback 3 (rollback) is running since <time>, at step
 * 2 ..." when one is running (*out then holds that running record). */
vt_rc meta_rollback_start(meta *m, const char *kind, const char *who, const char *detail,
                          meta_rollback_rec *out, vt_err *err);
/* The running record moves to step (any value 0..5: re-recording a step is harmless), detail
 * merged. id 0 = whichever is running. VT_ENOTFOUND when none is running (or id is not the running
 * one). *out (may be NULL) = the record after the change. */
vt_rc meta_rollback_step(meta *m, int64_t id, int step, const char *detail,
                         meta_rollback_rec *out, vt_err *err);
/* The running record ends in state ("done" | "failed" | "aborted") with error text (may be NULL)
 * and detail merged. VT_ENOTFOUND when none is running. */
vt_rc meta_rollback_finish(meta *m, int64_t id, const char *state, const char *error,
                           const char *detail, meta_rollback_rec *out, vt_err *err);
/* The running record, else the most recent one; VT_ENOTFOUND "no rollback recorded". */
vt_rc meta_rollback_current(meta *m, meta_rollback_rec *out, vt_err *err);
/* The last `limit` records, newest first; *out malloc'ed (free()). */
vt_rc meta_rollback_list(meta *m, size_t limit, meta_rollback_rec **out, size_t *n, vt_err *err);

#endif
