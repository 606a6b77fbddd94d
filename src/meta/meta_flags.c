/*
 * meta/meta_flags.c — SQL of the feature flags (see meta_flags.h).
 *
 * Statements are prepared per call (control-plane calls are rare; the 200 ms poll only calls
 * meta_control_gen unless the generation moved). Every function holds the handle's mutex
 * throughout (meta_int.h); writes run inside BEGIN IMMEDIATE so the "old" values compared and
 * recorded are those of the committed state, whichever process wrote last.
 */
#include "meta/meta_flags.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/meta_int.h"

static void copy_col(char *dst, size_t cap, sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

/* Runs a statement that returns one integer (0 when NULL). Lock held. */
static vt_rc query_int(meta *m, const char *sql, int64_t bind1, bool has_bind, int64_t *out,
                       vt_err *err, const char *op)
{
    sqlite3 *db = meta_sqlite(m);
    sqlite3_stmt *s = NULL;
    int x = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    if (x == SQLITE_OK && has_bind)
        x = sqlite3_bind_int64(s, 1, bind1);
    if (x == SQLITE_OK) {
        x = sqlite3_step(s);
        if (x == SQLITE_ROW) {
            *out = sqlite3_column_int64(s, 0);
            x = SQLITE_OK;
        } else if (x == SQLITE_DONE) {
            *out = 0;
            x = SQLITE_OK;
        }
    }
    vt_rc rc = x == SQLITE_OK ? VT_OK : meta_db_fail(m, err, sqlite3_extended_errcode(db), "%s", op);
    sqlite3_finalize(s);
    return rc;
}

/* Reads rows of a (name, value) query. Lock held. */
static vt_rc read_rows(meta *m, const char *sql, int64_t bind1, bool has_bind,
                       meta_flag_row *rows, size_t cap, size_t *n, vt_err *err, const char *op)
{
    sqlite3 *db = meta_sqlite(m);
    sqlite3_stmt *s = NULL;
    size_t cnt = 0;
    int x = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    if (x == SQLITE_OK && has_bind)
        x = sqlite3_bind_int64(s, 1, bind1);
    while (x == SQLITE_OK && (x = sqlite3_step(s)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(s, 0);
        size_t i = 0;
        while (i < cnt && strcmp(rows[i].name, name ? name : "") != 0)
            i++; /* state_at: a later change of the same flag replaces the earlier one */
        if (i == cnt) {
            if (cnt == cap) {
                x = SQLITE_OK;
                continue; /* more flags than this binary knows: ignored */
            }
            copy_col(rows[cnt].name, sizeof rows[cnt].name, s, 0);
            cnt++;
        }
        copy_col(rows[i].value, sizeof rows[i].value, s, 1);
        x = SQLITE_OK;
    }
    vt_rc rc = x == SQLITE_DONE ? VT_OK
                                : meta_db_fail(m, err, sqlite3_extended_errcode(db), "%s", op);
    sqlite3_finalize(s);
    *n = cnt;
    return rc;
}

vt_rc meta_flags_load(meta *m, meta_flag_row *rows, size_t cap, size_t *n, int64_t *version,
                      int64_t *gen, vt_err *err)
{
    int64_t g = 0, v = 0;
    meta_lock(m);
    sqlite3 *db = meta_sqlite(m);
    int x = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL); /* one read snapshot */
    vt_rc rc = x == SQLITE_OK ? VT_OK : meta_db_fail(m, err, x, "meta_flags_load: begin");
    if (rc == VT_OK)
        rc = query_int(m, "SELECT gen FROM control_gen WHERE id = 1", 0, false, &g, err,
                       "meta_flags_load: control_gen");
    if (rc == VT_OK)
        rc = query_int(m, "SELECT MAX(version) FROM flag_versions", 0, false, &v, err,
                       "meta_flags_load: version");
    if (rc == VT_OK)
        rc = read_rows(m, "SELECT name, value FROM flags ORDER BY name", 0, false, rows, cap, n,
                       err, "meta_flags_load: flags");
    if (x == SQLITE_OK)
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    meta_unlock(m);
    if (rc == VT_OK) {
        if (gen)
            *gen = g;
        if (version)
            *version = v;
    }
    return rc;
}

vt_rc meta_flags_gen(meta *m, int64_t *gen, vt_err *err)
{
    return meta_control_gen(m, gen, err);
}

/* The stored value of name into out (found = false when no row). Lock held. */
static vt_rc stored_value(meta *m, const char *name, char *out, size_t cap, bool *found,
                          vt_err *err)
{
    sqlite3 *db = meta_sqlite(m);
    sqlite3_stmt *s = NULL;
    int x = sqlite3_prepare_v2(db, "SELECT value FROM flags WHERE name = ?1", -1, &s, NULL);
    if (x == SQLITE_OK)
        x = sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
    *found = false;
    if (x == SQLITE_OK) {
        x = sqlite3_step(s);
        if (x == SQLITE_ROW) {
            copy_col(out, cap, s, 0);
            *found = true;
            x = SQLITE_DONE;
        }
    }
    vt_rc rc = x == SQLITE_DONE ? VT_OK
                                : meta_db_fail(m, err, sqlite3_extended_errcode(db),
                                               "meta_flags_apply: read flag %s", name);
    sqlite3_finalize(s);
    return rc;
}

/* Runs one write statement with text/int binds described by fmt ('t' text or NULL, 'i' int64). */
static vt_rc exec_write(meta *m, const char *sql, const char *fmt, const void *const *args,
                        vt_err *err, const char *op)
{
    sqlite3 *db = meta_sqlite(m);
    sqlite3_stmt *s = NULL;
    int x = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    for (int i = 0; x == SQLITE_OK && fmt[i]; i++) {
        if (fmt[i] == 'i')
            x = sqlite3_bind_int64(s, i + 1, *(const int64_t *)args[i]);
        else if (args[i])
            x = sqlite3_bind_text(s, i + 1, (const char *)args[i], -1, SQLITE_TRANSIENT);
        else
            x = sqlite3_bind_null(s, i + 1);
    }
    if (x == SQLITE_OK)
        x = sqlite3_step(s);
    vt_rc rc = x == SQLITE_DONE ? VT_OK
                                : meta_db_fail(m, err, sqlite3_extended_errcode(db), "%s", op);
    sqlite3_finalize(s);
    return rc;
}

static void append(char *dst, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char *dst, size_t cap, const char *fmt, ...)
{
    size_t len = strlen(dst);
    if (len + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst + len, cap - len, fmt, ap);
    va_end(ap);
}

vt_rc meta_flags_apply(meta *m, size_t n, const char *const *names, const char *const *values,
                       const char *const *defaults, const char *who, const char *why,
                       bool *changed, int64_t *version_out, vt_err *err)
{
    if (!m || (n && (!names || !values || !defaults)) || !who || !version_out)
        return vt_err_set(err, VT_EINVAL, "meta_flags_apply: NULL argument");
    if (!why)
        why = "";
    bool *chg = calloc(n ? n : 1, sizeof *chg);
    char(*olds)[META_FLAG_VALUE_MAX] = calloc(n ? n : 1, sizeof *olds);
    bool *had = calloc(n ? n : 1, sizeof *had);
    if (!chg || !olds || !had) {
        free(chg);
        free(olds);
        free(had);
        return vt_err_set(err, VT_ENOMEM, "meta_flags_apply: out of memory");
    }
    meta_lock(m);
    int64_t version = 0;
    vt_rc rc = meta_begin(m, err);
    bool in_tx = rc == VT_OK;
    if (rc == VT_OK)
        rc = query_int(m, "SELECT MAX(version) FROM flag_versions", 0, false, &version, err,
                       "meta_flags_apply: version");
    size_t n_changed = 0;
    for (size_t i = 0; rc == VT_OK && i < n; i++) {
        rc = stored_value(m, names[i], olds[i], sizeof olds[i], &had[i], err);
        const char *cur = had[i] ? olds[i] : defaults[i];
        if (rc == VT_OK && strcmp(cur, values[i]) != 0) {
            chg[i] = true;
            n_changed++;
        }
    }
    if (rc == VT_OK && n_changed > 0) {
        version++;
        int64_t now = meta_now_ns();
        const void *va[] = {&version, &now, who, why};
        rc = exec_write(m, "INSERT INTO flag_versions (version, at_ns, who, why) "
                           "VALUES (?1, ?2, ?3, ?4)",
                        "iitt", va, err, "meta_flags_apply: insert version");
        char detail[1024] = "";
        for (size_t i = 0; rc == VT_OK && i < n; i++) {
            if (!chg[i])
                continue;
            const void *ca[] = {&version, names[i], had[i] ? olds[i] : NULL, values[i]};
            rc = exec_write(m, "INSERT INTO flag_changes (version, name, old, new) "
                               "VALUES (?1, ?2, ?3, ?4)",
                            "ittt", ca, err, "meta_flags_apply: insert change");
            if (rc == VT_OK) {
                const void *fa[] = {names[i], values[i], &version};
                rc = exec_write(m, "INSERT INTO flags (name, value, version) VALUES (?1, ?2, ?3) "
                                   "ON CONFLICT(name) DO UPDATE SET value = excluded.value, "
                                   "version = excluded.version",
                                "tti", fa, err, "meta_flags_apply: write flag");
            }
            append(detail, sizeof detail, "%s%s: %s -> %s", detail[0] ? ", " : "", names[i],
                   had[i] ? olds[i] : defaults[i], values[i]);
        }
        if (why[0])
            append(detail, sizeof detail, "; %s", why);
        if (rc == VT_OK) {
            const char *action = "flags.set";
            const void *aa[] = {&now, who, action, detail};
            rc = exec_write(m, "INSERT INTO audit (at_ns, who, action, detail) "
                               "VALUES (?1, ?2, ?3, ?4)",
                            "ittt", aa, err, "meta_flags_apply: audit");
        }
    }
    if (in_tx) {
        if (rc == VT_OK && n_changed > 0)
            rc = meta_commit(m, err);
        if (rc != VT_OK || n_changed == 0)
            meta_rollback(m);
    }
    meta_unlock(m);
    if (rc == VT_OK) {
        *version_out = version;
        if (changed)
            memcpy(changed, chg, n * sizeof *chg);
    }
    free(chg);
    free(olds);
    free(had);
    return rc;
}

vt_rc meta_flags_state_at(meta *m, int64_t version, meta_flag_row *rows, size_t cap, size_t *n,
                          vt_err *err)
{
    *n = 0;
    if (version < 0)
        return vt_err_set(err, VT_EINVAL, "flags version %lld: must be >= 0", (long long)version);
    if (version == 0)
        return VT_OK;
    meta_lock(m);
    int64_t found = 0;
    vt_rc rc = query_int(m, "SELECT COUNT(*) FROM flag_versions WHERE version = ?1", version, true,
                         &found, err, "meta_flags_state_at");
    if (rc == VT_OK && !found) {
        int64_t latest = 0;
        rc = query_int(m, "SELECT MAX(version) FROM flag_versions", 0, false, &latest, err,
                       "meta_flags_state_at");
        if (rc == VT_OK)
            rc = vt_err_set(err, VT_ENOTFOUND, "flags version %lld does not exist (latest: %lld)",
                            (long long)version, (long long)latest);
    }
    if (rc == VT_OK)
        rc = read_rows(m, "SELECT name, new FROM flag_changes WHERE version <= ?1 "
                          "ORDER BY version, name",
                       version, true, rows, cap, n, err, "meta_flags_state_at");
    meta_unlock(m);
    return rc;
}

vt_rc meta_flags_history(meta *m, size_t limit, meta_flag_version **out, size_t *n, vt_err *err)
{
    *out = NULL;
    *n = 0;
    if (limit == 0)
        return VT_OK;
    if (limit > 100000)
        limit = 100000;
    meta_lock(m);
    sqlite3 *db = meta_sqlite(m);
    meta_flag_version *arr = NULL;
    size_t cnt = 0, cap = 0;
    vt_rc rc = VT_OK;
    sqlite3_stmt *s = NULL;
    int x = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    bool in_tx = x == SQLITE_OK;
    if (x == SQLITE_OK)
        x = sqlite3_prepare_v2(db, "SELECT version, at_ns, who, why FROM flag_versions "
                                   "ORDER BY version DESC LIMIT ?1",
                               -1, &s, NULL);
    if (x == SQLITE_OK)
        x = sqlite3_bind_int64(s, 1, (int64_t)limit);
    while (x == SQLITE_OK && (x = sqlite3_step(s)) == SQLITE_ROW) {
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 16;
            meta_flag_version *na = realloc(arr, nc * sizeof *na);
            if (!na) {
                rc = vt_err_set(err, VT_ENOMEM, "meta_flags_history: out of memory");
                break;
            }
            arr = na;
            cap = nc;
        }
        meta_flag_version *v = &arr[cnt++];
        memset(v, 0, sizeof *v);
        v->version = sqlite3_column_int64(s, 0);
        v->at_ns = sqlite3_column_int64(s, 1);
        copy_col(v->who, sizeof v->who, s, 2);
        copy_col(v->why, sizeof v->why, s, 3);
        x = SQLITE_OK;
    }
    if (rc == VT_OK && x != SQLITE_DONE)
        rc = meta_db_fail(m, err, sqlite3_extended_errcode(db), "meta_flags_history: versions");
    sqlite3_finalize(s);
    s = NULL;
    if (rc == VT_OK && cnt > 0) {
        x = sqlite3_prepare_v2(db, "SELECT name, old, new FROM flag_changes WHERE version = ?1 "
                                   "ORDER BY name",
                               -1, &s, NULL);
        for (size_t i = 0; x == SQLITE_OK && i < cnt; i++) {
            meta_flag_version *v = &arr[i];
            sqlite3_reset(s);
            x = sqlite3_bind_int64(s, 1, v->version);
            while (x == SQLITE_OK && (x = sqlite3_step(s)) == SQLITE_ROW) {
                if (v->n_changes < META_FLAGS_MAX) {
                    meta_flag_change *c = &v->changes[v->n_changes++];
                    copy_col(c->name, sizeof c->name, s, 0);
                    copy_col(c->old_value, sizeof c->old_value, s, 1);
                    copy_col(c->new_value, sizeof c->new_value, s, 2);
                }
                x = SQLITE_OK;
            }
            if (x == SQLITE_DONE)
                x = SQLITE_OK;
        }
        if (x != SQLITE_OK)
            rc = meta_db_fail(m, err, sqlite3_extended_errcode(db), "meta_flags_history: changes");
        sqlite3_finalize(s);
    }
    if (in_tx)
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    else if (rc == VT_OK)
        rc = meta_db_fail(m, err, sqlite3_extended_errcode(db), "meta_flags_history: begin");
    meta_unlock(m);
    if (rc != VT_OK) {
        free(arr);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return VT_OK;
}
