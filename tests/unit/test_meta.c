/*
 * tests/unit/test_meta.c — covers src/meta/meta.c.
 *
 * Open/create/migrate, reopen, every ledger field round-tripped, truncation of long stored text,
 * list order and state filter, mark_stale interval logic, applied marks (bulk, idempotent, reset
 * by a reload), the resync list, backend cursors/flags/failures, the audit log, two handles and
 * threads on one file, a database from the future, error messages, and durability across a child
 * that _exit()s without closing (kill -9 after the call returned).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "meta/meta.h"

/* ---- helpers ------------------------------------------------------------------------------ */

typedef struct fixture {
    char dir[64];
    char path[128];
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/volta_meta_XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    snprintf(fx->path, sizeof fx->path, "%s/meta.db", fx->dir);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    const char *suffix[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < 4; i++) {
        char p[160];
        snprintf(p, sizeof p, "%s%s", fx->path, suffix[i]);
        unlink(p);
    }
    char junk[160];
    snprintf(junk, sizeof junk, "%s/junk", fx->dir);
    unlink(junk);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

static meta *open_ok(const char *path)
{
    meta *m = NULL;
    vt_err err = {0};
    vt_rc rc = meta_open(path, &m, &err);
    if (rc != VT_OK)
        print_error("meta_open: %s\n", err.msg);
    assert_int_equal(rc, VT_OK);
    assert_non_null(m);
    return m;
}

/* A ledger row with the fields the interval and seq logic look at. */
static meta_file mkfile(const char *path, const char *db, const char *dataset,
                        meta_file_state st, int64_t tmin, int64_t tmax, uint64_t sf, uint64_t sl)
{
    meta_file f;
    memset(&f, 0, sizeof f);
    snprintf(f.path, sizeof f.path, "%s", path);
    snprintf(f.database, sizeof f.database, "%s", db);
    snprintf(f.dataset, sizeof f.dataset, "%s", dataset);
    f.state = st;
    f.min_time = tmin;
    f.max_time = tmax;
    f.points = (tmin || tmax) ? 10 : 0;
    f.seq_first = sf;
    f.seq_last = sl;
    return f;
}

static int64_t put_ok(meta *m, meta_file *f)
{
    vt_err err = {0};
    vt_rc rc = meta_file_put(m, f, &err);
    if (rc != VT_OK)
        print_error("meta_file_put: %s\n", err.msg);
    assert_int_equal(rc, VT_OK);
    assert_true(f->id > 0);
    return f->id;
}

static meta_file_state state_of(meta *m, const char *path)
{
    meta_file f;
    vt_err err;
    assert_int_equal(meta_file_get(m, path, &f, &err), VT_OK);
    return f.state;
}

/* Runs sql on path through a separate raw connection (the test's own view of the file). */
static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char *emsg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &emsg);
    if (rc != SQLITE_OK)
        print_error("raw_exec %s: %s\n", sql, emsg ? emsg : "?");
    sqlite3_free(emsg);
    assert_int_equal(rc, SQLITE_OK);
    sqlite3_close(db);
}

static int64_t raw_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static void raw_text(const char *path, const char *sql, char *out, size_t cap)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    snprintf(out, cap, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(db);
}

/* ---- open, schema, reopen ----------------------------------------------------------------- */

static void test_open_creates_schema(void **state)
{
    fixture *fx = *state;
    struct stat st;
    assert_int_not_equal(stat(fx->path, &st), 0);
    meta *m = open_ok(fx->path);
    assert_int_equal(stat(fx->path, &st), 0);
    assert_int_equal(meta_schema_version(m), 4);

    assert_int_equal(raw_int(fx->path, "PRAGMA user_version"), 4);
    char mode[16];
    raw_text(fx->path, "PRAGMA journal_mode", mode, sizeof mode);
    assert_string_equal(mode, "wal");
    assert_int_equal(raw_int(fx->path, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' "
                                       "AND name IN ('files', 'file_applied', 'backends', "
                                       "'audit', 'catalog')"),
                     5);
    assert_int_equal(raw_int(fx->path, "SELECT count(*) FROM sqlite_schema WHERE type = "
                                       "'trigger' AND name = 'files_seq_changed'"),
                     1);
    meta_close(m);

    /* a second open of a current database migrates nothing */
    m = open_ok(fx->path);
    assert_int_equal(meta_schema_version(m), 4);
    meta_close(m);
    meta_close(NULL);
}

static void test_reopen_keeps_data(void **state)
{
    fixture *fx = *state;
    meta *m = open_ok(fx->path);
    meta_file f = mkfile("gen/2024-01.csv", "grid", "generation", META_FILE_LOADED, 10, 20, 1, 5);
    int64_t id = put_ok(m, &f);
    vt_err err;
    assert_int_equal(meta_backend_set_cursor(m, "native", 5, 20, 5, false, &err), VT_OK);
    assert_int_equal(meta_audit(m, "system", "load", "gen/2024-01.csv", &err), VT_OK);
    meta_close(m);

    m = open_ok(fx->path);
    meta_file g;
    assert_int_equal(meta_file_get(m, "gen/2024-01.csv", &g, &err), VT_OK);
    assert_int_equal(g.id, id);
    assert_int_equal(g.seq_last, 5);
    meta_backend b;
    assert_int_equal(meta_backend_get(m, "native", &b, &err), VT_OK);
    assert_int_equal(b.cursor, 5);
    meta_audit_entry *a = NULL;
    size_t n = 0;
    assert_int_equal(meta_audit_list(m, 10, &a, &n, &err), VT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(a[0].detail, "gen/2024-01.csv");
    free(a);
    meta_close(m);
}

/* ---- ledger rows -------------------------------------------------------------------------- */

static void assert_file_equal(const meta_file *a, const meta_file *b)
{
    assert_int_equal(a->id, b->id);
    assert_string_equal(a->path, b->path);
    assert_string_equal(a->dataset, b->dataset);
    assert_string_equal(a->database, b->database);
    assert_int_equal(a->size, b->size);
    assert_int_equal(a->mtime_ns, b->mtime_ns);
    assert_string_equal(a->hash, b->hash);
    assert_int_equal(a->state, b->state);
    assert_int_equal(a->rows_read, b->rows_read);
    assert_int_equal(a->rows_loaded, b->rows_loaded);
    assert_int_equal(a->rows_rejected, b->rows_rejected);
    assert_int_equal(a->rows_empty, b->rows_empty);
    assert_int_equal(a->empty_values, b->empty_values);
    assert_int_equal(a->points, b->points);
    assert_int_equal(a->min_time, b->min_time);
    assert_int_equal(a->max_time, b->max_time);
    assert_int_equal(a->seq_first, b->seq_first);
    assert_int_equal(a->seq_last, b->seq_last);
    assert_string_equal(a->del_measurements, b->del_measurements);
    assert_int_equal(a->del_min, b->del_min);
    assert_int_equal(a->del_max, b->del_max);
    assert_int_equal(a->started_at, b->started_at);
    assert_int_equal(a->finished_at, b->finished_at);
    assert_int_equal(a->loads, b->loads);
    assert_string_equal(a->error, b->error);
}

static void test_file_roundtrip(void **state)
{
    fixture *fx = *state;
    meta *m = open_ok(fx->path);
    vt_err err;

    meta_file f;
    memset(&f, 0, sizeof f);
    snprintf(f.path, sizeof f.path, "landing/generation/2024/gen-2024-03-31.csv");
    snprintf(f.dataset, sizeof f.dataset, "generation");
    snprintf(f.database, sizeof f.database, "grid \"uk\" 'quoted'; DROP TABLE files;--");
    f.size = 123456789012ULL;
    f.mtime_ns = 1711843200123456789LL;
    snprintf(f.hash, sizeof f.hash, "%s",
             "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    f.state = META_FILE_LOADED;
    f.rows_read = 17520;
    f.rows_loaded = 17500;
    f.rows_rejected = 3;
    f.rows_empty = 17;
    f.empty_values = 42;
    f.points = 350000;
    f.min_time = -86400000000000LL; /* before 1970: negative times survive */
    f.max_time = 1711929599999999999LL;
    f.seq_first = 1000001;
    f.seq_last = (uint64_t)INT64_MAX;
    snprintf(f.del_measurements, sizeof f.del_measurements, "generation,generation_mix");
    f.del_min = 1711843200000000000LL;
    f.del_max = 1711929599000000000LL;
    f.started_at = 1711950000000000001LL;
    f.finished_at = 1711950000900000002LL;
    f.loads = 4000000000u;
    snprintf(f.error, sizeof f.error, "line 7 column 3: bad number \"1,2\" — ünïcödé");
    int64_t id = put_ok(m, &f);

    meta_file g;
    assert_int_equal(meta_file_get(m, f.path, &g, &err), VT_OK);
    assert_file_equal(&f, &g);
    assert_int_equal(meta_file_get_id(m, id, &g, &err), VT_OK);
    assert_file_equal(&f, &g);

    /* every state name round-trips; replace by id keeps the id */
    for (int s = META_FILE_LOADING; s <= META_FILE_STALE; s++) {
        f.state = (meta_file_state)s;
        f.loads = (uint32_t)s + 1;
        put_ok(m, &f);
        assert_int_equal(f.id, id);
        assert_int_equal(meta_file_get(m, f.path, &g, &err), VT_OK);
        assert_file_equal(&f, &g);
    }
    assert_string_equal(meta_file_state_name(META_FILE_LOADING), "loading");
    assert_string_equal(meta_file_state_name(META_FILE_LOADED), "loaded");
    assert_string_equal(meta_file_state_name(META_FILE_FAILED), "failed");
    assert_string_equal(meta_file_state_name(META_FILE_STALE), "stale");
    assert_string_equal(meta_file_state_name((meta_file_state)99), "unknown");

    /* not found */
    assert_int_equal(meta_file_get(m, "nope.csv", &g, &err), VT_ENOTFOUND);
    assert_non_null(strstr(err.msg, "nope.csv"));
    assert_int_equal(meta_file_get_id(m, id + 100, &g, &err), VT_ENOTFOUND);
    meta_file ghost = mkfile("ghost.csv", "grid", "load", META_FILE_LOADED, 0, 0, 0, 0);
    ghost.id = id + 100;
    assert_int_equal(meta_file_put(m, &ghost, &err), VT_ENOTFOUND);
    assert_non_null(strstr(err.msg, "meta_file_put"));

    /* a second row with the same path: refused, the error names the operation and SQLite's */
    meta_file dup = f;
    dup.id = 0;
    assert_int_equal(meta_file_put(m, &dup, &err), VT_EEXIST);
    assert_non_null(strstr(err.msg, "meta_file_put"));
    assert_non_null(strstr(err.msg, "UNIQUE constraint failed"));
    assert_non_null(strstr(err.msg, fx->path));

    /* values SQLite cannot hold as signed 64-bit */
    meta_file big = mkfile("big.csv", "grid", "load", META_FILE_LOADED, 0, 0, 0, 0);
    big.seq_last = (uint64_t)INT64_MAX + 1;
    assert_int_equal(meta_file_put(m, &big, &err), VT_EINVAL);
    assert_non_null(strstr(err.msg, "seq_last"));
    assert_int_equal(big.id, 0);
    big.seq_last = 0;
    big.state = (meta_file_state)7;
    assert_int_equal(meta_file_put(m, &big, &err), VT_EINVAL);

    /* struct arrays that are full (no NUL) are read up to their size only */
    meta_file full = mkfile("x", "grid", "load", META_FILE_FAILED, 0, 0, 0, 0);
    memset(full.dataset, 'd', sizeof full.dataset);
    memset(full.error, 'e', sizeof full.error);
    put_ok(m, &full);
    assert_int_equal(meta_file_get_id(m, full.id, &g, &err), VT_OK);
    assert_int_equal(strlen(g.dataset), sizeof g.dataset - 1);
    assert_int_equal(strlen(g.error), sizeof g.error - 1);
    assert_int_equal(raw_int(fx->path, "SELECT length(error) FROM files WHERE path = 'x'"),
                     (int64_t)sizeof full.error);

    meta_close(m);
}

static void test_long_text_truncated_on_read(void **state)
{
    fixture *fx = *state;
    meta *m = open_ok(fx->path);
    meta_file f = mkfile("t.csv", "grid", "load", META_FILE_FAILED, 0, 0, 0, 0);
    int64_t id = put_ok(m, &f);
    meta_close(m);

    /* text longer than the struct arrays, written behind the API's back */
    raw_exec(fx->path, "UPDATE files SET error = printf('%.3000c', 'E'), "
                       "hash = printf('%.200c', 'h'), "
                       "database = replace(printf('%.200c', '*'), '*', 'é'), "
                       "path = printf('%.6000c', 'p') WHERE path = 't.csv'");
    raw_exec(fx->path, "INSERT INTO audit (at_ns, who, action, detail) VALUES "
                       "(1, printf('%.500c', 'w'), printf('%.500c', 'a'), "
                       "printf('%.5000c', 'D'))");
    raw_exec(fx->path, "INSERT INTO backends (name, resync_reason, last_error) VALUES "
                       "('long', printf('%.900c', 'r'), printf('%.900c', 'l'))");

    m = open_ok(fx->path);
    vt_err err;
    meta_file g;
    memset(&g, 0x5a, sizeof g);
    assert_int_equal(meta_file_get_id(m, id, &g, &err), VT_OK);
    assert_int_equal(strlen(g.error), sizeof g.error - 1);
    assert_int_equal(strlen(g.hash), META_HASH_HEX);
    assert_int_equal(strlen(g.path), META_PATH_MAX - 1);
    /* 'é' is 2 bytes: 127 bytes would split one, so 126 are kept */
    assert_int_equal(strlen(g.database), 126);
    assert_memory_equal(g.database, "éé", 4);

    meta_audit_entry *a = NULL;
    size_t n = 0;
    assert_int_equal(meta_audit_list(m, 1, &a, &n, &err), VT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(strlen(a[0].who), META_NAME_MAX - 1);
    assert_int_equal(strlen(a[0].action), META_NAME_MAX - 1);
    assert_int_equal(strlen(a[0].detail), sizeof a[0].detail - 1);
    free(a);

    meta_backend b;
    assert_int_equal(meta_backend_get(m, "long", &b, &err), VT_OK);
    assert_int_equal(strlen(b.resync_reason), sizeof b.resync_reason - 1);
    assert_int_equal(strlen(b.last_error), sizeof b.last_error - 1);
    meta_close(m);
}

static void test_list_order_and_filter(void **state)
{
    fixture *fx = *state;
    meta *m = open_ok(fx->path);
    vt_err err;
    const char *paths[] = {"m.csv", "a.csv", "z/b.csv", "b.csv", "a/z.csv"};
    meta_file_state states[] = {META_FILE_LOADED, META_FILE_FAILED, META_FILE_LOADED,
                                META_FILE_LOADING, META_FILE_LOADED};
    for (int i = 0; i < 5; i++) {
        meta_file f = mkfile(paths[i], "grid", "load", states[i], 0, 0, 0, 0);
        put_ok(m, &f);
    }
    meta_file *l = NULL;
    size_t n = 0;
    assert_int_equal(meta_file_list(m, -1, &l, &n, &err), VT_OK);
    assert_int_equal(n, 5);
    const char *sorted[] = {"a.csv", "a/z.csv", "b.csv", "m.csv", "z/b.csv"};
    for (size_t i = 0; i < n; i++)
        assert_string_equal(l[i].path, sorted[i]);
    free(l);

    assert_int_equal(meta_file_list(m, META_FILE_LOADED, &l, &n, &err), VT_OK);
    assert_int_equal(n, 3);
    assert_string_equal(l[0].path, "a/z.csv");
    assert_string_equal(l[1].path, "m.csv");
    assert_string_equal(l[2].path, "z/b.csv");
    for (size_t i = 0; i < n; i++)
        assert_int_equal(l[i].state, META_FILE_LOADED);
    free(l);

    assert_int_equal(meta_file_list(m, META_FILE_FAILED, &l, &n, &err), VT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(l[0].path, "a.csv");
    free(l);

    assert_int_equal(meta_file_list(m, META_FILE_STALE, &l, &n, &err), VT_OK);
    assert_int_equal(n, 0);
    assert_null(l);

    assert_int_equal(meta_file_list(m, 9, &l, &n, &err), VT_EINVAL);
    meta_close(m);
}

static void test_mark_stale(void **state)
{
    fixture *fx = *state;
    meta *m = open_ok(fx->path);
    vt_err err;
    struct {
        const char *path, *db, *dataset;
        meta_file_state st;
        int64_t tmin, tmax;
        bool expect_stale;
    } rows[] = {
        {"touch-low.csv", "grid", "generation", META_FILE_LOADED, 100, 200, true},  /* ends at tmin */
        {"touch-high.csv", "grid", "generation", META_FILE_LOADED, 300, 400, true}, /* starts at tmax */
        {"inside.csv", "grid", "generation", META_FILE_LOADED, 220, 230, true},
        {"covers.csv", "grid", "generation", META_FILE_LOADED, 50, 500, true},
        {"point.csv", "grid", "generation", META_FILE_LOADED, 250, 250, true},
        {"after.csv", "grid", "generation", META_FILE_LOADED, 301, 400, false},
        {"before.csv", "grid", "generation", META_FILE_LOADED, 0, 199, false},
        {"self.csv", "grid", "generation", META_FILE_LOADED, 150, 250, false},  /* except_id */
        {"other-ds.csv", "grid", "load", META_FILE_LOADED, 150, 250, false},
        {"other-db.csv", "gridx", "generation", META_FILE_LOADED, 150, 250, false},
        {"failed.csv", "grid", "generation", META_FILE_FAILED, 150, 250, false},
        {"loading.csv", "grid", "generation", META_FILE_LOADING, 150, 250, false},
        {"stale.csv", "grid", "generation", META_FILE_STALE, 150, 250, false}, /* already */
    };
    size_t nrows = sizeof rows / sizeof rows[0];
    int64_t self_id = 0;
    for (size_t i = 0; i < nrows; i++) {
        meta_file f = mkfile(rows[i].path, rows[i].db, rows[i].dataset, rows[i].st, rows[i].tmin,
                             rows[i].tmax, 0, 0);
        put_ok(m, &f);
        if (strcmp(rows[i].path, "self.csv") == 0)
            self_id = f.id;
    }
    unsigned marked = 99;
    assert_int_equal(
        meta_file_mark_stale(m, "grid", "generation", 200, 300, self_id, &marked, &err), VT_OK);
    assert_int_equal(marked, 5);
    for (size_t i = 0; i < nrows; i++) {
        meta_file_state want = rows[i].expect_stale ? META_FILE_STALE : rows[i].st;
        if (state_of(m, rows[i].path) != want)
            print_error("%s: state %d, want %d\n", rows[i].path, state_of(m, rows[i].path), want);
        assert_int_equal(state_of(m, rows[i].path), want);
    }
    /* again: nothing left to mark */
    assert_int_equal(
        meta_file_mark_stale(m, "grid", "generation", 200, 300, self_id, &marked, &err), VT_OK);
    assert_int_equal(marked, 0);
    /* except_id 0 excludes nothing: self.csv goes now */
    assert_int_equal(meta_file_mark_stale(m, "grid", "generation", 200, 300, 0, &marked, &err),
                     VT_OK);
    assert_int_equal(marked, 1);
    assert_int_equal(state_of(m, "self.csv"), META_FILE_STALE);
    /* dataset NULL: every dataset of the database */
    assert_int_equal(meta_file_mark_stale(m, "grid", NULL, 240, 240, 0, &marked, &err), VT_OK);
    assert_int_equal(marked, 1);
    assert_int_equal(state_of(m, "other-ds.csv"), META_FILE_STALE);
    assert_int_equal(state_of(m, "other-db.csv"), META_FILE_LOADED);

    /* a loaded file that wrote no points (0/0) intersects nothing, even a range holding 0 */
    meta_file empty = mkfile("empty.csv", "grid", "generation", META_FILE_LOADED, 0, 0, 0, 0);
    put_ok(m, &empty);
    assert_int_equal(meta_file_mark_stale(m, "grid", "generation", -1000, 1000, 0, &marked, &err),
                     VT_OK);
    assert_int_equal(marked, 2); /* before.csv [0,199], after.csv [301,400] */
    assert_int_equal(state_of(m, "before.csv"), META_FILE_STALE);
    assert_int_equal(state_of(m, "after.csv"), META_FILE_STALE);
    assert_int_equal(state_of(m, "empty.csv"), META_FILE_LOADED);

    assert_int_equal(meta_file_mark_stale(m, NULL, NULL, 0, 1, 0, &marked, &err), VT_EINVAL);
    meta_close(m);
}

/* ---- applied marks ------------------------------------------------------------------------ */

static void test_applied_upto(void **state)
{
    fixture *fx = *state;
    meta *m = open_ok(fx->path);
    vt_err err;
    meta_file a = mkfile("a.csv", "grid", "load", META_FILE_LOADED, 1, 2, 1, 10);
    meta_file b = mkfile("b.csv", "grid", "load", META_FILE_LOADED, 1, 2, 11, 20);
    meta_file c = mkfile("c.csv", "grid", "load", META_FILE_LOADED, 1, 2, 21, 30);
    meta_file none = mkfile("none.csv", "grid", "load", META_FILE_LOADED, 0, 0, 0, 0);
    meta_file loading = mkfile("loading.csv", "grid", "load", META_FILE_LOADING, 1, 2, 5, 6);
    meta_file stale = mkfile("stale.csv", "grid", "load", META_FILE_STALE, 1, 2, 7, 8);
    meta_file *all[] = {&a, &b, &c, &none, &loading, &stale};
    for (size_t i = 0; i < 6; i++)
        put_ok(m, all[i]);

    unsigned marked = 99;
    assert_int_equal(meta_files_applied_upto(m, "native", 20, 1000, &marked, &err), VT_OK);
    assert_int_equal(marked, 2);
    int64_t at = -1;
    assert_int_equal(meta_file_applied_at(m, a.id, "native", &at, &err), VT_OK);
    assert_int_equal(at, 1000);
    assert_int_equal(meta_file_applied_at(m, b.id, "native", &at, &err), VT_OK);
    assert_int_equal(at, 1000);
    for (size_t i = 2; i < 6; i++) {
        assert_int_equal(meta_file_applied_at(m, all[i]->id, "native", &at, &err), VT_OK);
        assert_int_equal(at, 0);
    }
    /* idempotent: the first time stays */
    assert_int_equal(meta_files_applied_upto(m, "native", 20, 2000, &marked, &err), VT_OK);
    assert_int_equal(marked, 0);
    assert_int_equal(meta_file_applied_at(m, a.id, "native", &at, &err), VT_OK);
    assert_int_equal(at, 1000);
    /* c ends at 30 > 29 */
    assert_int_equal(meta_files_applied_upto(m, "native", 29, 3000, &marked, &err), VT_OK);
    assert_int_equal(marked, 0);
    assert_int_equal(meta_files_applied_upto(m, "native", 30, 3000, NULL, &err), VT_OK);
    assert_int_equal(meta_file_applied_at(m, c.id, "native", &at, &err), VT_OK);
    assert_int_equal(at, 3000);
    /* backends are independent; a huge bound is fine */
    assert_int_equal(meta_files_applied_upto(m, "influx", UINT64_MAX, 4000, &marked, &err),
                     VT_OK);
    assert_int_equal(marked, 3);
    assert_int_equal(raw_int(fx->path, "SELECT count(*) FROM file_applied"), 6);

    /* single mark; idempotent too; an unknown file id is refused by the foreign key */
    assert_int_equal(meta_file_applied(m, loading.id, "native", 5000, &err), VT_OK);
    assert_int_equal(meta_file_applied(m, loading.id, "native", 6000, &err), VT_OK);
    assert_int_equal(meta_file_applied_at(m, loading.id, "native", &at, &err), VT_OK);
    assert_int_equal(at, 5000);
    assert_int_equal(meta_file_applied(m, 424242, "native", 1, &err), VT_ENOTFOUND);
    assert_non_null(strstr(err.msg, "meta_file_applied"));
    assert_non_null(strstr(err.msg, "FOREIGN KEY"));

    /* a reload that journals new records drops the old marks; other updates keep them */
    a.rows_loaded = 99;
    put_ok(m, &a);
    assert_int_equal(meta_file_applied_at(m, a.id, "native", &at, &err), VT_OK);
    assert_int_equal(at, 1000);
    a.seq_first = 31;
    a.seq_last = 40;
    put_ok(m, &a);
    assert_int_equal(meta_file_applied_at(m, a.id, "native", &at, &err), VT_OK);
    assert_int_equal(at, 0);
    assert_int_equal(meta_file_applied_at(m, a.id, "influx", &at, &err), VT_OK);
    assert_int_equal(at, 0);
    assert_int_equal(meta_file_applied_at(m, b.id, "influx", &at, &err), VT_OK);
    assert_int_equal(at, 4000);
    meta_close(m);
}

static void test_files_not_applied(void **state)
{
    fixture *fx = *state;
    meta *m = open_ok(fx->path);
    vt_err err;
    /* inserted out of seq order */
    meta_file c = mkfile("c.csv", "grid", "load", META_FILE_LOADED, 1, 2, 21, 30);
    meta_file a = mkfile("a.csv", "grid", "load", META_FILE_LOADED, 1, 2, 1, 10);
    meta_file none = mkfile("none.csv", "grid", "load", META_FILE_LOADED, 0, 0, 0, 0);
    meta_file b = mkfile("b.csv", "grid", "load", META_FILE_LOADED, 1, 2, 11, 20);
    meta_file failed = mkfile("failed.csv", "grid", "load", META_FILE_FAILED, 0, 0, 0, 0);
    meta_file *all[] = {&c, &a, &none, &b, &failed};
    for (size_t i = 0; i < 5; i++)
        put_ok(m, all[i]);

    meta_file *l = NULL;
    size_t n = 0;
    assert_int_equal(meta_files_not_applied(m, "native", &l, &n, &err), VT_OK);
    assert_int_equal(n, 3);
    assert_string_equal(l[0].path, "a.csv");
    assert_string_equal(l[1].path, "b.csv");
    assert_string_equal(l[2].path, "c.csv");
    assert_int_equal(l[2].seq_first, 21);
    free(l);

    assert_int_equal(meta_files_applied_upto(m, "native", 10, 1, NULL, &err), VT_OK);
    assert_int_equal(meta_file_applied(m, c.id, "native", 2, &err), VT_OK);
    assert_int_equal(meta_files_not_applied(m, "native", &l, &n, &err), VT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(l[0].path, "b.csv");
    free(l);

    assert_int_equal(meta_files_not_applied(m, "influx", &l, &n, &err), VT_OK);
    assert_int_equal(n, 3);
    free(l);

    assert_int_equal(meta_files_applied_upto(m, "native", 100, 3, NULL, &err), VT_OK);
    assert_int_equal(meta_files_not_applied(m, "native", &l, &n, &err), VT_OK);
    assert_int_equal(n, 0);
    assert_null(l);
    meta_close(m);
}

/* ---- backends ----------------------------------------------------------------------------- */

static void test_backend_cursor(void **state)
{
    fixture *fx = *state;
    meta *m = open_ok(fx->path);
    vt_err err;
    meta_backend b;
    meta_backend *l = NULL;
    size_t n = 9;
    assert_int_equal(meta_backend_list(m, &l, &n, &err), VT_OK);
    assert_int_equal(n, 0);

    /* created on first get */
    assert_int_equal(meta_backend_get(m, "native", &b, &err), VT_OK);
    assert_string_equal(b.name, "native");
    assert_int_equal(b.cursor, 0);
    assert_int_equal(b.cursor_time, 0);
    assert_int_equal(b.applied_records, 0);
    assert_false(b.needs_resync);
    assert_int_equal(b.failures, 0);
    assert_int_equal(meta_backend_list(m, &l, &n, &err), VT_OK);
    assert_int_equal(n, 1);
    free(l);

    assert_int_equal(meta_backend_set_cursor(m, "native", 100, 5000, 100, false, &err), VT_OK);
    assert_int_equal(meta_backend_get(m, "native", &b, &err), VT_OK);
    assert_int_equal(b.cursor, 100);
    assert_int_equal(b.cursor_time, 5000);
    assert_int_equal(b.applied_records, 100);
    assert_true(b.updated_at > 0);
    int64_t updated = b.updated_at;

    /* same position: allowed (records still counted) */
    assert_int_equal(meta_backend_set_cursor(m, "native", 100, 5000, 0, false, &err), VT_OK);
    /* backwards without force: VT_OK, row untouched */
    assert_int_equal(meta_backend_set_cursor(m, "native", 50, 2500, 7, false, &err), VT_OK);
    assert_int_equal(meta_backend_get(m, "native", &b, &err), VT_OK);
    assert_int_equal(b.cursor, 100);
    assert_int_equal(b.cursor_time, 5000);
    assert_int_equal(b.applied_records, 100);
    assert_true(b.updated_at >= updated);

    assert_int_equal(meta_backend_set_cursor(m, "native", 150, 7000, 50, false, &err), VT_OK);
    assert_int_equal(meta_backend_get(m, "native", &b, &err), VT_OK);
    assert_int_equal(b.cursor, 150);
    assert_int_equal(b.applied_records, 150);

    /* force moves it back (resync from scratch) */
    assert_int_equal(meta_backend_set_cursor(m, "native", 0, 0, 0, true, &err), VT_OK);
    assert_int_equal(meta_backend_get(m, "native", &b, &err), VT_OK);
    assert_int_equal(b.cursor, 0);
    assert_int_equal(b.cursor_time, 0);
    assert_int_equal(b.applied_records, 150);

    /* set_cursor on a backend never seen creates it */
    assert_int_equal(meta_backend_set_cursor(m, "influx", 42, 4200, 42, false, &err), VT_OK);
    assert_int_equal(meta_backend_get(m, "influx", &b, &err), VT_OK);
    assert_int_equal(b.cursor, 42);
    assert_int_equal(b.applied_records, 42);

    assert_int_equal(meta_backend_list(m, &l, &n, &err), VT_OK);
    assert_int_equal(n, 2);
    assert_string_equal(l[0].name, "influx"); /* ordered by name */
    assert_string_equal(l[1].name, "native");
    free(l);

    assert_int_equal(
        meta_backend_set_cursor(m, "native", (uint64_t)INT64_MAX + 1, 0, 0, true, &err),
        VT_EINVAL);
    assert_int_equal(meta_backend_get(m, "", &b, &err), VT_EINVAL);
    meta_close(m);
}

static void test_backend_resync_and_failures(void **state)
{
    fixture *fx = *state;
    meta *m = open_ok(fx->path);
    vt_err err;
    meta_backend b;
    assert_int_equal(meta_backend_set_cursor(m, "native", 10, 1, 10, false, &err), VT_OK);
    assert_int_equal(meta_backend_set_resync(m, "native", true,
                                             "journal trimmed past cursor 10 (oldest seq 500)",
                                             &err),
                     VT_OK);
    assert_int_equal(meta_backend_get(m, "native", &b, &err), VT_OK);
    assert_true(b.needs_resync);
    assert_string_equal(b.resync_reason, "journal trimmed past cursor 10 (oldest seq 500)");
    assert_int_equal(b.cursor, 10); /* the flag leaves the cursor alone */
    assert_int_equal(meta_backend_set_resync(m, "native", false, NULL, &err), VT_OK);
    assert_int_equal(meta_backend_get(m, "native", &b, &err), VT_OK);
    assert_false(b.needs_resync);
    assert_string_equal(b.resync_reason, "");

    /* a backend first seen through set_resync */
    assert_int_equal(meta_backend_set_resync(m, "remote", true, "new", &err), VT_OK);
    assert_int_equal(meta_backend_get(m, "remote", &b, &err), VT_OK);
    assert_true(b.needs_resync);
    assert_int_equal(b.cursor, 0);

    /* failures: counted, last message and time kept */
    assert_int_equal(meta_backend_failure(m, "native", "connection refused", &err), VT_OK);
    assert_int_equal(meta_backend_get(m, "native", &b, &err), VT_OK);
    assert_int_equal(b.failures, 1);
    int64_t first_at = b.last_error_at;
    assert_true(first_at > 0);
    assert_int_equal(meta_backend_failure(m, "native", "timeout", &err), VT_OK);
    assert_int_equal(meta_backend_failure(m, "native", "HTTP 500: shard write failed", &err),
                     VT_OK);
    assert_int_equal(meta_backend_get(m, "native", &b, &err), VT_OK);
    assert_int_equal(b.failures, 3);
    assert_string_equal(b.last_error, "HTTP 500: shard write failed");
    assert_true(b.last_error_at >= first_at);
    assert_int_equal(b.cursor, 10);
    assert_int_equal(b.applied_records, 10);

    assert_int_equal(meta_backend_failure(m, "fresh", "boom", &err), VT_OK);
    assert_int_equal(meta_backend_get(m, "fresh", &b, &err), VT_OK);
    assert_int_equal(b.failures, 1);
    assert_string_equal(b.last_error, "boom");
    meta_close(m);
}

/* ---- audit -------------------------------------------------------------------------------- */

static void test_audit(void **state)
{
    fixture *fx = *state;
    meta *m = open_ok(fx->path);
    vt_err err;
    meta_audit_entry *a = NULL;
    size_t n = 9;
    assert_int_equal(meta_audit_list(m, 10, &a, &n, &err), VT_OK);
    assert_int_equal(n, 0);
    for (int i = 0; i < 5; i++) {
        char action[16], detail[32];
        snprintf(action, sizeof action, "act%d", i);
        snprintf(detail, sizeof detail, "detail %d", i);
        assert_int_equal(meta_audit(m, i % 2 ? "cli:alice" : "system", action,
                                    i == 4 ? NULL : detail, &err),
                         VT_OK);
    }
    assert_int_equal(meta_audit_list(m, 3, &a, &n, &err), VT_OK);
    assert_int_equal(n, 3);
    assert_string_equal(a[0].action, "act4");
    assert_string_equal(a[0].detail, "");
    assert_string_equal(a[0].who, "system");
    assert_string_equal(a[1].action, "act3");
    assert_string_equal(a[1].who, "cli:alice");
    assert_string_equal(a[1].detail, "detail 3");
    assert_string_equal(a[2].action, "act2");
    assert_true(a[0].id > a[1].id && a[1].id > a[2].id);
    assert_true(a[0].at_ns >= a[1].at_ns && a[1].at_ns >= a[2].at_ns && a[2].at_ns > 0);
    free(a);
    assert_int_equal(meta_audit_list(m, 100, &a, &n, &err), VT_OK);
    assert_int_equal(n, 5);
    assert_string_equal(a[4].action, "act0");
    free(a);
    assert_int_equal(meta_audit_list(m, 0, &a, &n, &err), VT_OK);
    assert_int_equal(n, 0);
    assert_null(a);
    assert_int_equal(meta_audit(m, NULL, "x", "y", &err), VT_EINVAL);
    meta_close(m);
}

/* ---- several handles, threads, processes -------------------------------------------------- */

static void test_two_handles(void **state)
{
    fixture *fx = *state;
    meta *m1 = open_ok(fx->path);
    meta *m2 = open_ok(fx->path);
    vt_err err;
    meta_file f = mkfile("shared.csv", "grid", "load", META_FILE_LOADING, 0, 0, 0, 0);
    put_ok(m1, &f);
    meta_file g;
    assert_int_equal(meta_file_get(m2, "shared.csv", &g, &err), VT_OK);
    assert_int_equal(g.id, f.id);
    assert_int_equal(g.state, META_FILE_LOADING);
    g.state = META_FILE_LOADED;
    g.seq_first = 1;
    g.seq_last = 9;
    put_ok(m2, &g);
    assert_int_equal(meta_file_get(m1, "shared.csv", &f, &err), VT_OK);
    assert_int_equal(f.state, META_FILE_LOADED);
    assert_int_equal(f.seq_last, 9);

    assert_int_equal(meta_backend_set_cursor(m2, "native", 9, 90, 9, false, &err), VT_OK);
    meta_backend b;
    assert_int_equal(meta_backend_get(m1, "native", &b, &err), VT_OK);
    assert_int_equal(b.cursor, 9);
    /* the monotonic rule holds across handles */
    assert_int_equal(meta_backend_set_cursor(m1, "native", 3, 30, 3, false, &err), VT_OK);
    assert_int_equal(meta_backend_get(m2, "native", &b, &err), VT_OK);
    assert_int_equal(b.cursor, 9);
    meta_close(m1);
    meta_close(m2);
}

typedef struct writer_arg {
    meta *m;
    int id;
    int n;
    vt_rc rc;
} writer_arg;

static void *writer(void *p)
{
    writer_arg *w = p;
    vt_err err;
    char name[32];
    snprintf(name, sizeof name, "b%d", w->id);
    w->rc = VT_OK;
    for (int i = 0; i < w->n && w->rc == VT_OK; i++) {
        char detail[32];
        snprintf(detail, sizeof detail, "t%d-%d", w->id, i);
        w->rc = meta_audit(w->m, "system", "tick", detail, &err);
        if (w->rc == VT_OK)
            w->rc = meta_backend_set_cursor(w->m, name, (uint64_t)i + 1, i, 1, false, &err);
        if (w->rc == VT_OK)
            w->rc = meta_backend_failure(w->m, "shared", detail, &err);
    }
    if (w->rc != VT_OK)
        fprintf(stderr, "writer %d: %s\n", w->id, err.msg);
    return NULL;
}

static void test_threads_and_handles(void **state)
{
    fixture *fx = *state;
    meta *m1 = open_ok(fx->path);
    meta *m2 = open_ok(fx->path);
    enum { NT = 4, PER = 25 };
    pthread_t th[NT];
    writer_arg args[NT];
    for (int i = 0; i < NT; i++) {
        args[i] = (writer_arg){.m = i % 2 ? m2 : m1, .id = i, .n = PER};
        assert_int_equal(pthread_create(&th[i], NULL, writer, &args[i]), 0);
    }
    for (int i = 0; i < NT; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].rc, VT_OK);
    }
    vt_err err;
    meta_audit_entry *a = NULL;
    size_t n = 0;
    assert_int_equal(meta_audit_list(m1, 1000, &a, &n, &err), VT_OK);
    assert_int_equal(n, NT * PER);
    free(a);
    meta_backend b;
    assert_int_equal(meta_backend_get(m2, "shared", &b, &err), VT_OK);
    assert_int_equal(b.failures, NT * PER);
    for (int i = 0; i < NT; i++) {
        char name[32];
        snprintf(name, sizeof name, "b%d", i);
        assert_int_equal(meta_backend_get(m1, name, &b, &err), VT_OK);
        assert_int_equal(b.cursor, PER);
        assert_int_equal(b.applied_records, PER);
    }
    meta_close(m1);
    meta_close(m2);
}

static void test_catalog(void **state)
{
    fixture *fx = *state;
    meta *m = open_ok(fx->path);
    vt_err err = {0};
    meta_catalog c;
    memset(&c, 0, sizeof c);
    snprintf(c.id, sizeof c.id, "20261128_050000");
    snprintf(c.kind, sizeof c.kind, "snapshot");
    snprintf(c.location, sizeof c.location, "/data/snapshots/20261128_050000");
    c.created_at = 10;
    c.checkpoint = 5;
    c.seq = 9;
    c.files = 3;
    c.bytes = 1234;
    assert_int_equal(meta_catalog_put(m, &c, &err), VT_OK);
    meta_catalog b = c;
    snprintf(b.id, sizeof b.id, "20261128_060000");
    snprintf(b.kind, sizeof b.kind, "full");
    snprintf(b.location, sizeof b.location, "/repo");
    b.created_at = 20;
    b.new_files = 3;
    assert_int_equal(meta_catalog_put(m, &b, &err), VT_OK);
    meta_catalog i = b;
    snprintf(i.id, sizeof i.id, "20261128_070000");
    snprintf(i.kind, sizeof i.kind, "incremental");
    snprintf(i.parent, sizeof i.parent, "20261128_060000");
    i.created_at = 30;
    assert_int_equal(meta_catalog_put(m, &i, &err), VT_OK);

    meta_catalog got;
    assert_int_equal(meta_catalog_get(m, "snapshot", c.id, &got, &err), VT_OK);
    assert_string_equal(got.location, c.location);
    assert_int_equal(got.checkpoint, 5);
    assert_int_equal(got.seq, 9);
    assert_int_equal(got.bytes, 1234);
    assert_string_equal(got.state, "complete");
    assert_int_equal(meta_catalog_get(m, "backup", c.id, &got, &err), VT_ENOTFOUND);
    assert_int_equal(meta_catalog_get(m, "backup", i.id, &got, &err), VT_OK);
    assert_string_equal(got.parent, "20261128_060000");
    assert_int_equal(meta_catalog_get(m, NULL, b.id, &got, &err), VT_OK);

    meta_catalog *list = NULL;
    size_t n = 0;
    assert_int_equal(meta_catalog_list(m, "backup", &list, &n, &err), VT_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].id, i.id); /* newest first */
    assert_string_equal(list[1].id, b.id);
    free(list);
    assert_int_equal(meta_catalog_list(m, NULL, &list, &n, &err), VT_OK);
    assert_int_equal(n, 3);
    free(list);

    assert_int_equal(meta_catalog_delete(m, "backup", c.id, &err), VT_ENOTFOUND);
    assert_int_equal(meta_catalog_delete(m, "snapshot", c.id, &err), VT_OK);
    assert_int_equal(meta_catalog_list(m, "snapshot", &list, &n, &err), VT_OK);
    assert_int_equal(n, 0);
    free(list);
    meta_close(m);
}

static void test_future_schema_refused(void **state)
{
    fixture *fx = *state;
    raw_exec(fx->path, "CREATE TABLE later (x); PRAGMA user_version = 999;");
    meta *m = (meta *)0x1;
    vt_err err = {0};
    assert_int_equal(meta_open(fx->path, &m, &err), VT_EUNSUPPORTED);
    assert_null(m);
    assert_non_null(strstr(err.msg, "meta_open"));
    assert_non_null(strstr(err.msg, "999"));
    assert_non_null(strstr(err.msg, "version 4"));
    /* untouched: still version 999, not switched to WAL */
    assert_int_equal(raw_int(fx->path, "PRAGMA user_version"), 999);
    char mode[16];
    raw_text(fx->path, "PRAGMA journal_mode", mode, sizeof mode);
    assert_string_equal(mode, "delete");
}

static void test_open_errors(void **state)
{
    fixture *fx = *state;
    meta *m = NULL;
    vt_err err = {0};
    char p[192];
    snprintf(p, sizeof p, "%s/no/such/dir/meta.db", fx->dir);
    assert_int_not_equal(meta_open(p, &m, &err), VT_OK);
    assert_null(m);
    assert_non_null(strstr(err.msg, "meta_open"));

    snprintf(p, sizeof p, "%s/junk", fx->dir);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    for (int i = 0; i < 64; i++)
        fputs("this is not an SQLite database at all!\n", fp);
    fclose(fp);
    assert_int_equal(meta_open(p, &m, &err), VT_ECORRUPT);
    assert_null(m);
    assert_non_null(strstr(err.msg, "meta_open"));
    assert_non_null(strstr(err.msg, "not a database"));
    assert_int_equal(meta_open(NULL, &m, &err), VT_EINVAL);
}

static void test_durable_after_child_exit(void **state)
{
    fixture *fx = *state;
    /* the parent holds no connection across fork */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        meta *m = NULL;
        vt_err err;
        if (meta_open(fx->path, &m, &err) != VT_OK)
            _exit(2);
        meta_file f = mkfile("crash.csv", "grid", "load", META_FILE_LOADED, 5, 6, 7, 8);
        if (meta_file_put(m, &f, &err) != VT_OK)
            _exit(3);
        if (meta_backend_set_cursor(m, "native", 8, 6, 2, false, &err) != VT_OK)
            _exit(4);
        if (meta_audit(m, "system", "crash-test", "before _exit", &err) != VT_OK)
            _exit(5);
        _exit(0); /* no meta_close: no checkpoint, the WAL holds the commits */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* the commits are in the WAL, never checkpointed into the main file */
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", fx->path);
    struct stat st;
    assert_int_equal(stat(wal, &st), 0);
    assert_true(st.st_size > 0);

    /* and a real SIGKILL right after a call returned */
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        meta *m = NULL;
        vt_err err;
        if (meta_open(fx->path, &m, &err) != VT_OK)
            _exit(2);
        if (meta_backend_set_cursor(m, "influx", 77, 7, 77, false, &err) != VT_OK)
            _exit(3);
        if (write(pfd[1], "k", 1) != 1)
            _exit(4);
        for (;;)
            pause();
    }
    close(pfd[1]);
    char ch = 0;
    assert_int_equal(read(pfd[0], &ch, 1), 1);
    close(pfd[0]);
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));

    meta *m = open_ok(fx->path);
    vt_err err;
    meta_file f;
    assert_int_equal(meta_file_get(m, "crash.csv", &f, &err), VT_OK);
    assert_int_equal(f.state, META_FILE_LOADED);
    assert_int_equal(f.seq_last, 8);
    meta_backend b;
    assert_int_equal(meta_backend_get(m, "native", &b, &err), VT_OK);
    assert_int_equal(b.cursor, 8);
    meta_audit_entry *a = NULL;
    size_t n = 0;
    assert_int_equal(meta_audit_list(m, 5, &a, &n, &err), VT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(a[0].action, "crash-test");
    free(a);
    assert_int_equal(meta_backend_get(m, "influx", &b, &err), VT_OK);
    assert_int_equal(b.cursor, 77);
    meta_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_text_truncated_on_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_order_and_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mark_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_applied_upto, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files_not_applied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backend_cursor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backend_resync_and_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_handles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_and_handles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_catalog, setup, teardown),
        cmocka_unit_test_setup_teardown(test_future_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_durable_after_child_exit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
