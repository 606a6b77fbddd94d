/*
 * meta/meta_hours.c — expected points per (file, measurement, UTC hour): table file_hours of
 * meta.db schema version 4 (contract: the "expected points per hour" section of meta/meta.h;
 * operator's view: docs/CONTROL-PLANE.md, docs/CHECK.md).
 *
 * NOTES
 *  1. A histogram is replaced whole, in one BEGIN IMMEDIATE transaction (delete the file's rows,
 *     insert the new ones), so a reader sees the old histogram or the new one, never a mix.
 *  2. The loader writes the histogram while the file's row is still `loading` and marks the row
 *     `loaded` afterwards; every reader here counts only `loaded` rows, so a crash in between
 *     leaves a row that counts for nothing until the next scan loads the file again (and
 *     replaces the histogram).
 *  3. The sum is one GROUP BY over file_hours joined to the file rows (state, database); SQLite
 *     picks the plan: the hour index for a short window over a long ledger, or the files'
 *     (database, state) index and file_hours' primary key per file.
 */
#include "meta/meta.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "meta/meta_int.h"

vt_rc meta_hours_put(meta *m, int64_t file_id, const meta_hour_count *rows, size_t n,
                     vt_err *err)
{
    if (!m || (n && !rows))
        return vt_err_set(err, VT_EINVAL, "meta_hours_put: NULL argument");
    for (size_t i = 0; i < n; i++) {
        if (!rows[i].measurement || !rows[i].measurement[0])
            return vt_err_set(err, VT_EINVAL, "meta_hours_put file %" PRId64 ": row %zu has no "
                              "measurement", file_id, i);
        if (rows[i].points == 0 || rows[i].points > (uint64_t)INT64_MAX)
            return vt_err_set(err, VT_EINVAL, "meta_hours_put file %" PRId64 ": %s hour %" PRId64
                              ": points %" PRIu64 " out of range (1 .. INT64_MAX)", file_id,
                              rows[i].measurement, rows[i].hour, rows[i].points);
    }
    meta_lock(m);
    sqlite3 *db = meta_sqlite(m);
    sqlite3_stmt *del = NULL, *ins = NULL, *chk = NULL;
    vt_rc rc = meta_begin(m, err);
    if (rc != VT_OK)
        goto done;
    int x = sqlite3_prepare_v2(db, "SELECT 1 FROM files WHERE id = ?1", -1, &chk, NULL);
    if (x == SQLITE_OK)
        x = sqlite3_bind_int64(chk, 1, file_id);
    if (x == SQLITE_OK) {
        x = sqlite3_step(chk);
        if (x == SQLITE_DONE) {
            rc = vt_err_set(err, VT_ENOTFOUND, "meta_hours_put: no ledger row with id %" PRId64,
                            file_id);
            goto fail;
        }
        x = x == SQLITE_ROW ? SQLITE_OK : x;
    }
    if (x == SQLITE_OK)
        x = sqlite3_prepare_v2(db, "DELETE FROM file_hours WHERE file_id = ?1", -1, &del, NULL);
    if (x == SQLITE_OK)
        x = sqlite3_bind_int64(del, 1, file_id);
    if (x == SQLITE_OK)
        x = sqlite3_step(del) == SQLITE_DONE ? SQLITE_OK : sqlite3_extended_errcode(db);
    if (x == SQLITE_OK)
        x = sqlite3_prepare_v2(db,
                               "INSERT INTO file_hours (file_id, measurement, hour, points) "
                               "VALUES (?1, ?2, ?3, ?4)",
                               -1, &ins, NULL);
    if (x != SQLITE_OK) {
        rc = meta_db_fail(m, err, sqlite3_extended_errcode(db), "meta_hours_put file %" PRId64,
                          file_id);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        sqlite3_reset(ins);
        x = sqlite3_bind_int64(ins, 1, file_id);
        if (x == SQLITE_OK)
            x = sqlite3_bind_text(ins, 2, rows[i].measurement, -1, SQLITE_STATIC);
        if (x == SQLITE_OK)
            x = sqlite3_bind_int64(ins, 3, rows[i].hour);
        if (x == SQLITE_OK)
            x = sqlite3_bind_int64(ins, 4, (sqlite3_int64)rows[i].points);
        if (x == SQLITE_OK && sqlite3_step(ins) != SQLITE_DONE)
            x = sqlite3_extended_errcode(db);
        if (x != SQLITE_OK) {
            rc = meta_db_fail(m, err, x, "meta_hours_put file %" PRId64 " %s hour %" PRId64,
                              file_id, rows[i].measurement, rows[i].hour);
            goto fail;
        }
    }
    sqlite3_finalize(chk);
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    chk = del = ins = NULL;
    rc = meta_commit(m, err);
    if (rc != VT_OK)
        meta_rollback(m);
    goto done;
fail:
    sqlite3_finalize(chk);
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    meta_rollback(m);
done:
    meta_unlock(m);
    return rc;
}

/* Steps s (bound) to the end, handing rows (measurement, hour, points) to fn. */
static vt_rc each_row(meta *m, sqlite3_stmt *s, meta_hours_fn fn, void *ctx, vt_err *err,
                      const char *op)
{
    int x;
    while ((x = sqlite3_step(s)) == SQLITE_ROW) {
        const char *meas = (const char *)sqlite3_column_text(s, 0);
        sqlite3_int64 pts = sqlite3_column_int64(s, 2);
        if (!fn(ctx, meas ? meas : "", sqlite3_column_int64(s, 1),
                pts < 0 ? 0 : (uint64_t)pts))
            return VT_OK;
    }
    if (x != SQLITE_DONE)
        return meta_db_fail(m, err, sqlite3_extended_errcode(meta_sqlite(m)), "%s", op);
    return VT_OK;
}

vt_rc meta_hours_of_file(meta *m, int64_t file_id, meta_hours_fn fn, void *ctx, vt_err *err)
{
    if (!m || !fn)
        return vt_err_set(err, VT_EINVAL, "meta_hours_of_file: NULL argument");
    meta_lock(m);
    sqlite3_stmt *s = NULL;
    vt_rc rc = VT_OK;
    int x = sqlite3_prepare_v2(meta_sqlite(m),
                               "SELECT measurement, hour, points FROM file_hours "
                               "WHERE file_id = ?1 ORDER BY measurement, hour",
                               -1, &s, NULL);
    if (x == SQLITE_OK)
        x = sqlite3_bind_int64(s, 1, file_id);
    if (x != SQLITE_OK)
        rc = meta_db_fail(m, err, sqlite3_extended_errcode(meta_sqlite(m)),
                          "meta_hours_of_file %" PRId64, file_id);
    else
        rc = each_row(m, s, fn, ctx, err, "meta_hours_of_file");
    sqlite3_finalize(s);
    meta_unlock(m);
    return rc;
}

vt_rc meta_hours_sum(meta *m, const char *database, int64_t h0, int64_t h1, meta_hours_fn fn,
                     void *ctx, vt_err *err)
{
    if (!m || !database || !fn)
        return vt_err_set(err, VT_EINVAL, "meta_hours_sum: NULL argument");
    meta_lock(m);
    sqlite3_stmt *s = NULL;
    vt_rc rc = VT_OK;
    int x = sqlite3_prepare_v2(meta_sqlite(m),
                               "SELECT h.measurement, h.hour, sum(h.points) FROM file_hours h "
                               "JOIN files f ON f.id = h.file_id "
                               "WHERE h.hour BETWEEN ?2 AND ?3 AND f.state = 'loaded' "
                               "AND f.database = ?1 "
                               "GROUP BY h.measurement, h.hour ORDER BY h.measurement, h.hour",
                               -1, &s, NULL);
    if (x == SQLITE_OK)
        x = sqlite3_bind_text(s, 1, database, -1, SQLITE_STATIC);
    if (x == SQLITE_OK)
        x = sqlite3_bind_int64(s, 2, h0);
    if (x == SQLITE_OK)
        x = sqlite3_bind_int64(s, 3, h1);
    if (x != SQLITE_OK)
        rc = meta_db_fail(m, err, sqlite3_extended_errcode(meta_sqlite(m)),
                          "meta_hours_sum %s", database);
    else
        rc = each_row(m, s, fn, ctx, err, "meta_hours_sum");
    sqlite3_finalize(s);
    meta_unlock(m);
    return rc;
}

vt_rc meta_hours_files(meta *m, const char *database, int64_t **ids, size_t *n, vt_err *err)
{
    if (!m || !database || !ids || !n)
        return vt_err_set(err, VT_EINVAL, "meta_hours_files: NULL argument");
    *ids = NULL;
    *n = 0;
    meta_lock(m);
    sqlite3_stmt *s = NULL;
    vt_rc rc = VT_OK;
    int64_t *v = NULL;
    size_t cnt = 0, cap = 0;
    int x = sqlite3_prepare_v2(meta_sqlite(m),
                               "SELECT id FROM files f WHERE state = 'loaded' AND database = ?1 "
                               "AND EXISTS (SELECT 1 FROM file_hours h WHERE h.file_id = f.id) "
                               "ORDER BY id",
                               -1, &s, NULL);
    if (x == SQLITE_OK)
        x = sqlite3_bind_text(s, 1, database, -1, SQLITE_STATIC);
    if (x != SQLITE_OK) {
        rc = meta_db_fail(m, err, sqlite3_extended_errcode(meta_sqlite(m)), "meta_hours_files %s",
                          database);
        goto done;
    }
    while ((x = sqlite3_step(s)) == SQLITE_ROW) {
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 64;
            int64_t *nv = nc <= SIZE_MAX / sizeof *nv ? realloc(v, nc * sizeof *nv) : NULL;
            if (!nv) {
                rc = vt_err_set(err, VT_ENOMEM, "meta_hours_files: out of memory");
                goto done;
            }
            v = nv;
            cap = nc;
        }
        v[cnt++] = sqlite3_column_int64(s, 0);
    }
    if (x != SQLITE_DONE)
        rc = meta_db_fail(m, err, sqlite3_extended_errcode(meta_sqlite(m)), "meta_hours_files %s",
                          database);
done:
    sqlite3_finalize(s);
    meta_unlock(m);
    if (rc != VT_OK) {
        free(v);
        return rc;
    }
    *ids = v;
    *n = cnt;
    return VT_OK;
}
