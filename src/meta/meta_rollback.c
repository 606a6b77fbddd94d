/*
 * meta/meta_rollback.c — the rollback record (contract: meta/meta_rollback.h).
 *
 * NOTES ON THE DESIGN
 *
 * 1. One running record. start is BEGIN IMMEDIATE; SELECT the running row; INSERT; COMMIT —
 *    the write lock taken by BEGIN IMMEDIATE makes check-and-insert atomic across processes.
 * 2. Transitions read the running row and update it in the same transaction, so a finish racing
 *    another finish ends the record once; the loser gets VT_ENOTFOUND (nothing running).
 * 3. detail is merged with jansson (json_object_update) in C, not with SQLite's JSON functions:
 *    the merged text is checked to fit META_ROLLBACK_DETAIL_MAX before it is written, so what is
 *    read back always parses.
 */
#include "meta/meta_rollback.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/meta_int.h"

#define COLS "id, kind, state, step, started_at, updated_at, who, detail, error"

static void copy_col(char *dst, size_t cap, sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static void read_row(sqlite3_stmt *s, meta_rollback_rec *r)
{
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(s, 0);
    copy_col(r->kind, sizeof r->kind, s, 1);
    copy_col(r->state, sizeof r->state, s, 2);
    r->step = sqlite3_column_int(s, 3);
    r->started_at = sqlite3_column_int64(s, 4);
    r->updated_at = sqlite3_column_int64(s, 5);
    copy_col(r->who, sizeof r->who, s, 6);
    copy_col(r->detail, sizeof r->detail, s, 7);
    copy_col(r->error, sizeof r->error, s, 8);
}

/* One row of sql (bound id when id_bind), lock held. VT_ENOTFOUND when none. */
static vt_rc query_one(meta *m, const char *sql, int64_t id, meta_rollback_rec *out, vt_err *err,
                       const char *op)
{
    sqlite3 *db = meta_sqlite(m);
    sqlite3_stmt *s = NULL;
    int x = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    if (x != SQLITE_OK)
        return meta_db_fail(m, err, x, "%s", op);
    if (id > 0)
        sqlite3_bind_int64(s, 1, id);
    vt_rc rc = VT_OK;
    x = sqlite3_step(s);
    if (x == SQLITE_ROW)
        read_row(s, out);
    else if (x == SQLITE_DONE)
        rc = vt_err_set(err, VT_ENOTFOUND, "%s: no rollback %s", op,
                        strstr(sql, "running") ? "is running" : "recorded");
    else
        rc = meta_db_fail(m, err, x, "%s", op);
    sqlite3_finalize(s);
    return rc;
}

static vt_rc running(meta *m, int64_t id, meta_rollback_rec *out, vt_err *err, const char *op)
{
    vt_rc rc = query_one(m, "SELECT " COLS " FROM rollbacks WHERE state = 'running' "
                            "ORDER BY id DESC LIMIT 1", 0, out, err, op);
    if (rc == VT_OK && id > 0 && out->id != id)
        rc = vt_err_set(err, VT_ENOTFOUND, "%s: rollback %lld is not the running one (%lld is)",
                        op, (long long)id, (long long)out->id);
    return rc;
}

/* base merged with add (a JSON object text or NULL) into out. */
static vt_rc merge_detail(const char *base, const char *add, char *out, size_t cap, vt_err *err)
{
    json_error_t je;
    json_t *b = json_loads(base && base[0] ? base : "{}", 0, &je);
    if (!json_is_object(b)) {
        json_decref(b);
        b = json_object();
    }
    if (add && add[0]) {
        json_t *a = json_loads(add, 0, &je);
        if (!json_is_object(a)) {
            json_decref(a);
            json_decref(b);
            return vt_err_set(err, VT_EINVAL, "rollback detail: not a JSON object: %.200s", add);
        }
        json_object_update(b, a);
        json_decref(a);
    }
    char *text = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(b);
    if (!text)
        return vt_err_set(err, VT_ENOMEM, "rollback detail: out of memory");
    size_t len = strlen(text);
    vt_rc rc = VT_OK;
    if (len >= cap)
        rc = vt_err_set(err, VT_ELIMIT, "rollback detail: %zu bytes, more than the %zu allowed",
                        len, cap - 1);
    else
        memcpy(out, text, len + 1);
    free(text);
    return rc;
}

static vt_rc update_row(meta *m, const meta_rollback_rec *r, vt_err *err, const char *op)
{
    sqlite3_stmt *s = NULL;
    int x = sqlite3_prepare_v2(meta_sqlite(m),
                               "UPDATE rollbacks SET state = ?1, step = ?2, updated_at = ?3, "
                               "detail = ?4, error = ?5 WHERE id = ?6",
                               -1, &s, NULL);
    if (x == SQLITE_OK) {
        sqlite3_bind_text(s, 1, r->state, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 2, r->step);
        sqlite3_bind_int64(s, 3, r->updated_at);
        sqlite3_bind_text(s, 4, r->detail, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, r->error, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 6, r->id);
        x = sqlite3_step(s);
    }
    sqlite3_finalize(s);
    return x == SQLITE_DONE ? VT_OK : meta_db_fail(m, err, x, "%s", op);
}

vt_rc meta_rollback_start(meta *m, const char *kind, const char *who, const char *detail,
                          meta_rollback_rec *out, vt_err *err)
{
    if (!m || !kind || !out)
        return vt_err_set(err, VT_EINVAL, "meta_rollback_start: NULL argument");
    if (strcmp(kind, "rollback") != 0 && strcmp(kind, "rollforward") != 0)
        return vt_err_set(err, VT_EINVAL, "rollback kind '%s': expected rollback or rollforward",
                          kind);
    meta_rollback_rec r;
    memset(&r, 0, sizeof r);
    vt_rc rc = merge_detail("{}", detail, r.detail, sizeof r.detail, err);
    if (rc != VT_OK)
        return rc;
    meta_lock(m);
    rc = meta_begin(m, err);
    if (rc != VT_OK) {
        meta_unlock(m);
        return rc;
    }
    rc = running(m, 0, out, err, "meta_rollback_start");
    if (rc == VT_OK) {
        meta_rollback(m);
        meta_unlock(m);
        return vt_err_set(err, VT_EEXIST,
                          "%s %lld is running (started by %s, at step %d%s%s): resume it with "
                          "--resume or end it with --abort",
                          out->kind, (long long)out->id, out->who[0] ? out->who : "?", out->step,
                          out->error[0] ? "; " : "", out->error);
    }
    if (rc != VT_ENOTFOUND)
        goto fail;
    vt_err_clear(err);
    snprintf(r.kind, sizeof r.kind, "%s", kind);
    snprintf(r.state, sizeof r.state, "running");
    snprintf(r.who, sizeof r.who, "%s", who ? who : "");
    r.started_at = r.updated_at = meta_now_ns();
    sqlite3_stmt *s = NULL;
    int x = sqlite3_prepare_v2(meta_sqlite(m),
                               "INSERT INTO rollbacks (kind, state, step, started_at, updated_at, "
                               "who, detail, error) VALUES (?1, 'running', 0, ?2, ?2, ?3, ?4, '')",
                               -1, &s, NULL);
    if (x == SQLITE_OK) {
        sqlite3_bind_text(s, 1, r.kind, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, r.started_at);
        sqlite3_bind_text(s, 3, r.who, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, r.detail, -1, SQLITE_STATIC);
        x = sqlite3_step(s);
    }
    sqlite3_finalize(s);
    if (x != SQLITE_DONE) {
        rc = meta_db_fail(m, err, x, "meta_rollback_start: insert");
        goto fail;
    }
    r.id = sqlite3_last_insert_rowid(meta_sqlite(m));
    rc = meta_commit(m, err);
    if (rc != VT_OK)
        goto fail;
    meta_unlock(m);
    *out = r;
    return VT_OK;
fail:
    meta_rollback(m);
    meta_unlock(m);
    return rc;
}

/* Shared by step and finish: state NULL keeps running and sets step. */
static vt_rc transition(meta *m, int64_t id, int step, const char *state, const char *error,
                        const char *detail, meta_rollback_rec *out, vt_err *err, const char *op)
{
    meta_rollback_rec *r = malloc(sizeof *r);
    if (!r)
        return vt_err_set(err, VT_ENOMEM, "%s: out of memory", op);
    meta_lock(m);
    vt_rc rc = meta_begin(m, err);
    if (rc != VT_OK) {
        meta_unlock(m);
        free(r);
        return rc;
    }
    rc = running(m, id, r, err, op);
    if (rc == VT_OK) {
        char merged[META_ROLLBACK_DETAIL_MAX];
        rc = merge_detail(r->detail, detail, merged, sizeof merged, err);
        if (rc == VT_OK) {
            memcpy(r->detail, merged, sizeof merged);
            if (state)
                snprintf(r->state, sizeof r->state, "%s", state);
            else
                r->step = step;
            if (error)
                snprintf(r->error, sizeof r->error, "%s", error);
            r->updated_at = meta_now_ns();
            rc = update_row(m, r, err, op);
        }
    }
    if (rc == VT_OK)
        rc = meta_commit(m, err);
    if (rc != VT_OK)
        meta_rollback(m);
    meta_unlock(m);
    if (rc == VT_OK && out)
        *out = *r;
    free(r);
    return rc;
}

vt_rc meta_rollback_step(meta *m, int64_t id, int step, const char *detail,
                         meta_rollback_rec *out, vt_err *err)
{
    if (!m)
        return vt_err_set(err, VT_EINVAL, "meta_rollback_step: NULL argument");
    if (step < 0 || step > 5)
        return vt_err_set(err, VT_EINVAL, "rollback step %d: expected 0 to 5", step);
    return transition(m, id, step, NULL, NULL, detail, out, err, "meta_rollback_step");
}

vt_rc meta_rollback_finish(meta *m, int64_t id, const char *state, const char *error,
                           const char *detail, meta_rollback_rec *out, vt_err *err)
{
    if (!m || !state)
        return vt_err_set(err, VT_EINVAL, "meta_rollback_finish: NULL argument");
    if (strcmp(state, "done") != 0 && strcmp(state, "failed") != 0 &&
        strcmp(state, "aborted") != 0)
        return vt_err_set(err, VT_EINVAL, "rollback state '%s': expected done, failed or aborted",
                          state);
    return transition(m, id, 0, state, error, detail, out, err, "meta_rollback_finish");
}

vt_rc meta_rollback_current(meta *m, meta_rollback_rec *out, vt_err *err)
{
    if (!m || !out)
        return vt_err_set(err, VT_EINVAL, "meta_rollback_current: NULL argument");
    meta_lock(m);
    vt_rc rc = query_one(m, "SELECT " COLS " FROM rollbacks "
                            "ORDER BY state = 'running' DESC, id DESC LIMIT 1",
                         0, out, err, "meta_rollback_current");
    meta_unlock(m);
    return rc;
}

vt_rc meta_rollback_list(meta *m, size_t limit, meta_rollback_rec **out, size_t *n, vt_err *err)
{
    if (!m || !out || !n)
        return vt_err_set(err, VT_EINVAL, "meta_rollback_list: NULL argument");
    *out = NULL;
    *n = 0;
    meta_lock(m);
    sqlite3_stmt *s = NULL;
    int x = sqlite3_prepare_v2(meta_sqlite(m),
                               "SELECT " COLS " FROM rollbacks ORDER BY id DESC LIMIT ?1", -1, &s,
                               NULL);
    vt_rc rc = VT_OK;
    meta_rollback_rec *arr = NULL;
    size_t cnt = 0, cap = 0;
    if (x == SQLITE_OK) {
        sqlite3_bind_int64(s, 1, limit > 100000 ? 100000 : (int64_t)limit);
        while ((x = sqlite3_step(s)) == SQLITE_ROW) {
            if (cnt == cap) {
                size_t nc = cap ? cap * 2 : 8;
                meta_rollback_rec *g = realloc(arr, nc * sizeof *arr);
                if (!g) {
                    rc = vt_err_set(err, VT_ENOMEM, "meta_rollback_list: out of memory");
                    break;
                }
                arr = g;
                cap = nc;
            }
            read_row(s, &arr[cnt++]);
        }
    }
    if (rc == VT_OK && x != SQLITE_DONE)
        rc = meta_db_fail(m, err, x, "meta_rollback_list");
    sqlite3_finalize(s);
    meta_unlock(m);
    if (rc != VT_OK) {
        free(arr);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return VT_OK;
}
