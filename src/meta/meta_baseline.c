/*
 * meta/meta_baseline.c — the recorded query-latency baselines (meta/meta_baseline.h).
 */
#include "meta/meta_baseline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/meta_int.h"

vt_rc meta_baseline_record(meta *m, const meta_baseline *b, size_t n, vt_err *err)
{
    if (n == 0)
        return VT_OK;
    meta_lock(m);
    sqlite3 *db = meta_sqlite(m);
    sqlite3_stmt *s = NULL;
    vt_rc rc = meta_begin(m, err);
    if (rc != VT_OK)
        goto done;
    int x = sqlite3_prepare_v2(db,
                               "INSERT OR REPLACE INTO query_baselines "
                               "(class, p50_ms, p95_ms, samples, recorded_at) "
                               "VALUES (?1, ?2, ?3, ?4, ?5)",
                               -1, &s, NULL);
    if (x != SQLITE_OK) {
        rc = meta_db_fail(m, err, x, "meta_baseline_record");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        sqlite3_reset(s);
        sqlite3_bind_text(s, 1, b[i].cls, -1, SQLITE_STATIC);
        sqlite3_bind_double(s, 2, b[i].p50_ms);
        sqlite3_bind_double(s, 3, b[i].p95_ms);
        sqlite3_bind_int64(s, 4, b[i].samples);
        sqlite3_bind_int64(s, 5, b[i].recorded_at ? b[i].recorded_at : meta_now_ns());
        x = sqlite3_step(s);
        if (x != SQLITE_DONE) {
            rc = meta_db_fail(m, err, x, "meta_baseline_record %s", b[i].cls);
            goto fail;
        }
    }
    sqlite3_finalize(s);
    s = NULL;
    rc = meta_commit(m, err);
    goto done;
fail:
    sqlite3_finalize(s);
    meta_rollback(m);
done:
    meta_unlock(m);
    return rc;
}

vt_rc meta_baseline_list(meta *m, meta_baseline **out, size_t *n, vt_err *err)
{
    *out = NULL;
    *n = 0;
    meta_lock(m);
    sqlite3 *db = meta_sqlite(m);
    sqlite3_stmt *s = NULL;
    vt_rc rc = VT_OK;
    meta_baseline *v = NULL;
    size_t cnt = 0, cap = 0;
    int x = sqlite3_prepare_v2(db,
                               "SELECT class, p50_ms, p95_ms, samples, recorded_at "
                               "FROM query_baselines ORDER BY class",
                               -1, &s, NULL);
    if (x != SQLITE_OK) {
        rc = meta_db_fail(m, err, x, "meta_baseline_list");
        goto done;
    }
    while ((x = sqlite3_step(s)) == SQLITE_ROW) {
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 8;
            meta_baseline *nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                rc = vt_err_set(err, VT_ENOMEM, "meta_baseline_list: out of memory");
                goto done;
            }
            v = nv;
            cap = nc;
        }
        meta_baseline *b = &v[cnt++];
        memset(b, 0, sizeof *b);
        const unsigned char *t = sqlite3_column_text(s, 0);
        snprintf(b->cls, sizeof b->cls, "%s", t ? (const char *)t : "");
        b->p50_ms = sqlite3_column_double(s, 1);
        b->p95_ms = sqlite3_column_double(s, 2);
        b->samples = sqlite3_column_int64(s, 3);
        b->recorded_at = sqlite3_column_int64(s, 4);
    }
    if (x != SQLITE_DONE)
        rc = meta_db_fail(m, err, x, "meta_baseline_list");
done:
    sqlite3_finalize(s);
    meta_unlock(m);
    if (rc != VT_OK) {
        free(v);
        return rc;
    }
    *out = v;
    *n = cnt;
    return VT_OK;
}
