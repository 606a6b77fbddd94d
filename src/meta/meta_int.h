/*
 * meta/meta_int.h — what meta.c shares with the other files of the control plane
 * (meta_flags.c, meta_keys.c, meta_rollback.c). Not a contract for other modules.
 *
 * Those files prepare their own statements per call (control-plane calls are rare) and must
 * hold the handle's mutex around every use of the connection:
 *
 *     meta_lock(m);
 *     sqlite3 *db = meta_sqlite(m);
 *     ... prepare, bind, step, finalize; on failure: rc = meta_db_fail(m, err, xrc, "op %s", x);
 *     meta_unlock(m);
 *
 * Several statements that must commit together go between meta_begin / meta_commit (or
 * meta_rollback on failure), with the lock held throughout.
 */
#ifndef META_META_INT_H
#define META_META_INT_H

#include <sqlite3.h>
#include <stdint.h>

#include "meta/meta.h"

sqlite3 *meta_sqlite(meta *m);
void meta_lock(meta *m);
void meta_unlock(meta *m);
/* Fills err with "<op>: <sqlite3_errmsg> [<meta.db path>]" and returns the matching code. */
vt_rc meta_db_fail(meta *m, vt_err *err, int xrc, const char *op, ...)
    __attribute__((format(printf, 4, 5)));
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK (lock held by the caller). */
vt_rc meta_begin(meta *m, vt_err *err);
vt_rc meta_commit(meta *m, vt_err *err);
void meta_rollback(meta *m);
/* Wall clock, ns since the epoch. */
int64_t meta_now_ns(void);
/* control_gen: bumped by triggers whenever flags or API keys change. */
vt_rc meta_control_gen(meta *m, int64_t *gen, vt_err *err);

#endif
