/*
 * meta/meta_keys.c — SQL of the API keys (see meta_keys.h).
 *
 * Statements are prepared per call (key changes are rare; the 200 ms poll reads the table only
 * when control_gen moved). Every function holds the handle's mutex throughout (meta_int.h).
 * Audit rows are inserted directly inside the change's transaction (meta_audit would take the
 * mutex again), with details that name the key id, never its secret or hash.
 */
#include "meta/meta_keys.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/meta_int.h"

#define KEY_COLS                                                                                   \
    "id, name, hash, scopes, db, rate_rps, created_at, created_by, revoked_at, last_used_at"

static void copy_col(char *dst, size_t cap, sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

/* Binds and steps one write statement; *changes = rows changed (may be NULL). Lock held. */
static vt_rc exec_write(meta *m, sqlite3_stmt *s, int x, int *changes, vt_err *err,
                        const char *op, const char *id)
{
    sqlite3 *db = meta_sqlite(m);
    if (x == SQLITE_OK)
        x = sqlite3_step(s);
    vt_rc rc = x == SQLITE_DONE ? VT_OK
                                : meta_db_fail(m, err, sqlite3_extended_errcode(db), "%s %s", op,
                                               id);
    if (rc == VT_OK && changes)
        *changes = sqlite3_changes(db);
    sqlite3_finalize(s);
    return rc;
}

/* Appends an audit row inside the caller's transaction. Lock held. */
static vt_rc audit_row(meta *m, const char *who, const char *action, const char *detail,
                       vt_err *err, const char *id)
{
    sqlite3_stmt *s = NULL;
    int x = sqlite3_prepare_v2(meta_sqlite(m),
                               "INSERT INTO audit (at_ns, who, action, detail) "
                               "VALUES (?1, ?2, ?3, ?4)",
                               -1, &s, NULL);
    if (x == SQLITE_OK)
        x = sqlite3_bind_int64(s, 1, meta_now_ns());
    if (x == SQLITE_OK)
        x = sqlite3_bind_text(s, 2, who ? who : "", -1, SQLITE_TRANSIENT);
    if (x == SQLITE_OK)
        x = sqlite3_bind_text(s, 3, action, -1, SQLITE_STATIC);
    if (x == SQLITE_OK)
        x = sqlite3_bind_text(s, 4, detail, -1, SQLITE_TRANSIENT);
    return exec_write(m, s, x, NULL, err, "audit", id);
}

/* Ends a write transaction: commit when rc is VT_OK, else roll back. Lock held. */
static vt_rc finish_tx(meta *m, bool in_tx, vt_rc rc, vt_err *err)
{
    if (!in_tx)
        return rc;
    if (rc == VT_OK)
        return meta_commit(m, err);
    meta_rollback(m);
    return rc;
}

vt_rc meta_keys_insert(meta *m, const meta_key_row *row, vt_err *err)
{
    if (!m || !row)
        return vt_err_set(err, VT_EINVAL, "meta_keys_insert: NULL argument");
    char detail[512];
    snprintf(detail, sizeof detail, "key %s name=%.100s scope=%s db=%.100s rps=%g", row->id,
             row->name, row->scopes, row->db[0] ? row->db : "*", row->rate_rps);
    meta_lock(m);
    sqlite3 *db = meta_sqlite(m);
    vt_rc rc = meta_begin(m, err);
    bool in_tx = rc == VT_OK;
    if (rc == VT_OK) {
        sqlite3_stmt *s = NULL;
        int x = sqlite3_prepare_v2(db, "INSERT INTO api_keys (" KEY_COLS ") "
                                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, 0)",
                                   -1, &s, NULL);
        const char *texts[] = {row->id, row->name, row->hash, row->scopes, row->db};
        for (int i = 0; x == SQLITE_OK && i < 5; i++)
            x = sqlite3_bind_text(s, i + 1, texts[i], -1, SQLITE_TRANSIENT);
        if (x == SQLITE_OK)
            x = sqlite3_bind_double(s, 6, row->rate_rps);
        if (x == SQLITE_OK)
            x = sqlite3_bind_int64(s, 7, row->created_at);
        if (x == SQLITE_OK)
            x = sqlite3_bind_text(s, 8, row->created_by, -1, SQLITE_TRANSIENT);
        if (x == SQLITE_OK)
            x = sqlite3_step(s);
        int xx = sqlite3_extended_errcode(db);
        if (x == SQLITE_DONE)
            rc = VT_OK;
        else if (xx == SQLITE_CONSTRAINT_PRIMARYKEY || xx == SQLITE_CONSTRAINT_UNIQUE)
            rc = vt_err_set(err, VT_EEXIST, "meta_keys_insert: key id %s exists", row->id);
        else
            rc = meta_db_fail(m, err, xx, "meta_keys_insert %s", row->id);
        sqlite3_finalize(s);
    }
    if (rc == VT_OK)
        rc = audit_row(m, row->created_by, "keys.create", detail, err, row->id);
    rc = finish_tx(m, in_tx, rc, err);
    meta_unlock(m);
    return rc;
}

vt_rc meta_keys_load(meta *m, bool active_only, meta_key_row **out, size_t *n, int64_t *gen,
                     vt_err *err)
{
    if (!m || !out || !n)
        return vt_err_set(err, VT_EINVAL, "meta_keys_load: NULL argument");
    *out = NULL;
    *n = 0;
    meta_key_row *arr = NULL;
    size_t cnt = 0, cap = 0;
    int64_t g = 0;
    meta_lock(m);
    sqlite3 *db = meta_sqlite(m);
    int bx = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL); /* one read snapshot */
    vt_rc rc = bx == SQLITE_OK ? VT_OK : meta_db_fail(m, err, bx, "meta_keys_load: begin");
    if (rc == VT_OK) {
        sqlite3_stmt *gs = NULL;
        int gx = sqlite3_prepare_v2(db, "SELECT gen FROM control_gen WHERE id = 1", -1, &gs, NULL);
        if (gx == SQLITE_OK && (gx = sqlite3_step(gs)) == SQLITE_ROW) {
            g = sqlite3_column_int64(gs, 0);
            gx = SQLITE_DONE;
        }
        if (gx != SQLITE_DONE)
            rc = meta_db_fail(m, err, sqlite3_extended_errcode(db), "meta_keys_load: control_gen");
        sqlite3_finalize(gs);
    }
    sqlite3_stmt *s = NULL;
    int x = SQLITE_DONE;
    if (rc == VT_OK) {
        x = sqlite3_prepare_v2(db,
                               active_only ? "SELECT " KEY_COLS " FROM api_keys WHERE revoked_at = 0 "
                                             "ORDER BY created_at DESC, id"
                                           : "SELECT " KEY_COLS " FROM api_keys "
                                             "ORDER BY created_at DESC, id",
                               -1, &s, NULL);
        while (x == SQLITE_OK && (x = sqlite3_step(s)) == SQLITE_ROW) {
            if (cnt == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                meta_key_row *na = realloc(arr, ncap * sizeof *na);
                if (!na) {
                    rc = vt_err_set(err, VT_ENOMEM, "meta_keys_load: out of memory");
                    break;
                }
                arr = na;
                cap = ncap;
            }
            meta_key_row *r = &arr[cnt++];
            memset(r, 0, sizeof *r);
            copy_col(r->id, sizeof r->id, s, 0);
            copy_col(r->name, sizeof r->name, s, 1);
            copy_col(r->hash, sizeof r->hash, s, 2);
            copy_col(r->scopes, sizeof r->scopes, s, 3);
            copy_col(r->db, sizeof r->db, s, 4);
            r->rate_rps = sqlite3_column_double(s, 5);
            r->created_at = sqlite3_column_int64(s, 6);
            copy_col(r->created_by, sizeof r->created_by, s, 7);
            r->revoked_at = sqlite3_column_int64(s, 8);
            r->last_used_at = sqlite3_column_int64(s, 9);
            x = SQLITE_OK;
        }
        if (rc == VT_OK && x != SQLITE_DONE)
            rc = meta_db_fail(m, err, sqlite3_extended_errcode(db), "meta_keys_load");
        sqlite3_finalize(s);
    }
    if (bx == SQLITE_OK)
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    meta_unlock(m);
    if (rc != VT_OK) {
        free(arr);
        return rc;
    }
    *out = arr;
    *n = cnt;
    if (gen)
        *gen = g;
    return VT_OK;
}

/* revoked_at of id into *revoked (*found = false when no row). Lock held. */
static vt_rc key_state(meta *m, const char *id, bool *found, int64_t *revoked, vt_err *err,
                       const char *op)
{
    sqlite3 *db = meta_sqlite(m);
    sqlite3_stmt *s = NULL;
    int x = sqlite3_prepare_v2(db, "SELECT revoked_at FROM api_keys WHERE id = ?1", -1, &s, NULL);
    if (x == SQLITE_OK)
        x = sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
    *found = false;
    *revoked = 0;
    if (x == SQLITE_OK && (x = sqlite3_step(s)) == SQLITE_ROW) {
        *found = true;
        *revoked = sqlite3_column_int64(s, 0);
        x = SQLITE_DONE;
    }
    vt_rc rc = x == SQLITE_DONE ? VT_OK
                                : meta_db_fail(m, err, sqlite3_extended_errcode(db), "%s %s", op,
                                               id);
    sqlite3_finalize(s);
    return rc;
}

vt_rc meta_keys_revoke(meta *m, const char *id, int64_t at, const char *who, bool *was_revoked,
                       vt_err *err)
{
    if (!m || !id)
        return vt_err_set(err, VT_EINVAL, "meta_keys_revoke: NULL argument");
    bool found = false;
    int64_t revoked = 0;
    meta_lock(m);
    sqlite3 *db = meta_sqlite(m);
    vt_rc rc = meta_begin(m, err);
    bool in_tx = rc == VT_OK;
    if (rc == VT_OK)
        rc = key_state(m, id, &found, &revoked, err, "meta_keys_revoke");
    if (rc == VT_OK && !found)
        rc = vt_err_set(err, VT_ENOTFOUND, "no API key with id '%s'", id);
    if (rc == VT_OK && revoked == 0) {
        sqlite3_stmt *s = NULL;
        int x = sqlite3_prepare_v2(db, "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1", -1,
                                   &s, NULL);
        if (x == SQLITE_OK)
            x = sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
        if (x == SQLITE_OK)
            x = sqlite3_bind_int64(s, 2, at);
        rc = exec_write(m, s, x, NULL, err, "meta_keys_revoke", id);
        char detail[64];
        snprintf(detail, sizeof detail, "key %s", id);
        if (rc == VT_OK)
            rc = audit_row(m, who, "keys.revoke", detail, err, id);
    }
    rc = finish_tx(m, in_tx, rc, err);
    meta_unlock(m);
    if (was_revoked)
        *was_revoked = rc == VT_OK && revoked != 0;
    return rc;
}

vt_rc meta_keys_set_rate(meta *m, const char *id, double rate_rps, const char *who, vt_err *err)
{
    if (!m || !id)
        return vt_err_set(err, VT_EINVAL, "meta_keys_set_rate: NULL argument");
    meta_lock(m);
    sqlite3 *db = meta_sqlite(m);
    vt_rc rc = meta_begin(m, err);
    bool in_tx = rc == VT_OK;
    double old = 0;
    bool found = false;
    if (rc == VT_OK) {
        sqlite3_stmt *s = NULL;
        int x = sqlite3_prepare_v2(db, "SELECT rate_rps FROM api_keys WHERE id = ?1", -1, &s,
                                   NULL);
        if (x == SQLITE_OK)
            x = sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
        if (x == SQLITE_OK && (x = sqlite3_step(s)) == SQLITE_ROW) {
            found = true;
            old = sqlite3_column_double(s, 0);
            x = SQLITE_DONE;
        }
        if (x != SQLITE_DONE)
            rc = meta_db_fail(m, err, sqlite3_extended_errcode(db), "meta_keys_set_rate %s", id);
        sqlite3_finalize(s);
    }
    if (rc == VT_OK && !found)
        rc = vt_err_set(err, VT_ENOTFOUND, "no API key with id '%s'", id);
    if (rc == VT_OK) {
        sqlite3_stmt *s = NULL;
        int x = sqlite3_prepare_v2(db, "UPDATE api_keys SET rate_rps = ?2 WHERE id = ?1", -1, &s,
                                   NULL);
        if (x == SQLITE_OK)
            x = sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
        if (x == SQLITE_OK)
            x = sqlite3_bind_double(s, 2, rate_rps);
        rc = exec_write(m, s, x, NULL, err, "meta_keys_set_rate", id);
    }
    if (rc == VT_OK) {
        char detail[128];
        snprintf(detail, sizeof detail, "key %s rps: %g -> %g", id, old, rate_rps);
        rc = audit_row(m, who, "keys.rate", detail, err, id);
    }
    rc = finish_tx(m, in_tx, rc, err);
    meta_unlock(m);
    return rc;
}

vt_rc meta_keys_touch(meta *m, const char (*ids)[16], const int64_t *at, size_t n, vt_err *err)
{
    if (!m || (n && (!ids || !at)))
        return vt_err_set(err, VT_EINVAL, "meta_keys_touch: NULL argument");
    if (n == 0)
        return VT_OK;
    meta_lock(m);
    sqlite3 *db = meta_sqlite(m);
    vt_rc rc = meta_begin(m, err);
    bool in_tx = rc == VT_OK;
    sqlite3_stmt *s = NULL;
    int x = SQLITE_OK;
    if (rc == VT_OK) {
        x = sqlite3_prepare_v2(db,
                               "UPDATE api_keys SET last_used_at = ?2 "
                               "WHERE id = ?1 AND last_used_at < ?2",
                               -1, &s, NULL);
        for (size_t i = 0; x == SQLITE_OK && i < n; i++) {
            x = sqlite3_bind_text(s, 1, ids[i], -1, SQLITE_TRANSIENT);
            if (x == SQLITE_OK)
                x = sqlite3_bind_int64(s, 2, at[i]);
            if (x == SQLITE_OK && (x = sqlite3_step(s)) == SQLITE_DONE)
                x = sqlite3_reset(s);
        }
        if (x != SQLITE_OK)
            rc = meta_db_fail(m, err, sqlite3_extended_errcode(db), "meta_keys_touch");
        sqlite3_finalize(s);
    }
    rc = finish_tx(m, in_tx, rc, err);
    meta_unlock(m);
    return rc;
}
