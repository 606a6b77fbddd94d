/*
 * meta/meta.c — the control plane in SQLite (contract: meta/meta.h; operator's view:
 * docs/CONTROL-PLANE.md).
 *
 * NOTES ON THE DESIGN
 *
 * 1. Connection. One sqlite3 connection per handle, opened NOMUTEX: the handle's own pthread
 *    mutex serialises every call, which also keeps sqlite3_errmsg() tied to the call that failed.
 *    Per connection: busy_timeout 5000 ms, journal_mode=WAL (persistent in the file; refused if
 *    SQLite cannot switch), synchronous=FULL (each commit fsyncs the WAL: a call that returned
 *    VT_OK survives kill -9 and power loss), foreign_keys=ON.
 *
 * 2. Schema and migrations. `migrations[i]` takes the database from user_version i to i + 1.
 *    meta_open reads user_version first — before it changes anything — and refuses a database
 *    newer than the binary (VT_EUNSUPPORTED naming both versions). Each pending migration runs in
 *    its own BEGIN IMMEDIATE transaction which re-reads user_version (another process may have
 *    migrated meanwhile), applies the SQL (which ends by setting user_version itself: PRAGMA
 *    takes no bound parameters, and no SQL here is ever formatted at run time), checks the new
 *    version and commits. Migrations are append-only: a released one is never edited.
 *
 * 3. Statements. Every statement with a value in it is prepared once per handle (lazily, on
 *    first use, PERSISTENT) with bound parameters, reset and unbound after each use. Text is
 *    bound with strnlen() over the struct array holding it, so an unterminated array is never
 *    over-read; text read back is truncated to the destination array (at a UTF-8 character
 *    boundary), never overflowing it.
 *
 * 4. Integers. SQLite integers are signed 64-bit. The uint64_t fields (sizes, counts, journal
 *    seqs) are stored as their value, so writes above INT64_MAX are refused (VT_EINVAL) and a
 *    bound above INT64_MAX (meta_files_applied_upto) is clamped — no stored value exceeds it.
 *
 * 5. Single-statement writes. Multi-row or create-or-update writes are one statement each, hence
 *    one atomic autocommit transaction: the applied marks are one INSERT OR IGNORE ... SELECT;
 *    the backend updates are UPSERTs (the row is created on first use). The cursor UPSERT carries
 *    the monotonic rule in its WHERE: a cursor that would move backwards without force leaves
 *    the row untouched (applied_records included) and the call still returns VT_OK.
 *
 * 6. Ledger invariant kept by a trigger: when a file row's seq_first/seq_last change (a reload
 *    journaled new records), its file_applied marks are deleted — they were for the old records.
 */
#include "meta/meta.h"
#include "meta/meta_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/durable.h"
#include "common/faultinj.h"

/* ---- schema -------------------------------------------------------------------------------- */

static const char *const migrations[] = {
    /* version 1: ingest ledger, per-backend applied marks, backends, audit log */
    "CREATE TABLE files (\n"
    "    id               INTEGER PRIMARY KEY,\n"
    "    path             TEXT    NOT NULL UNIQUE,\n"
    "    dataset          TEXT    NOT NULL DEFAULT '',\n"
    "    database         TEXT    NOT NULL DEFAULT '',\n"
    "    size             INTEGER NOT NULL DEFAULT 0,\n"
    "    mtime_ns         INTEGER NOT NULL DEFAULT 0,\n"
    "    hash             TEXT    NOT NULL DEFAULT '',\n"
    "    state            TEXT    NOT NULL\n"
    "                     CHECK (state IN ('loading', 'loaded', 'failed', 'stale')),\n"
    "    rows_read        INTEGER NOT NULL DEFAULT 0,\n"
    "    rows_loaded      INTEGER NOT NULL DEFAULT 0,\n"
    "    rows_rejected    INTEGER NOT NULL DEFAULT 0,\n"
    "    rows_empty       INTEGER NOT NULL DEFAULT 0,\n"
    "    empty_values     INTEGER NOT NULL DEFAULT 0,\n"
    "    points           INTEGER NOT NULL DEFAULT 0,\n"
    "    min_time         INTEGER NOT NULL DEFAULT 0,\n"
    "    max_time         INTEGER NOT NULL DEFAULT 0,\n"
    "    seq_first        INTEGER NOT NULL DEFAULT 0,\n"
    "    seq_last         INTEGER NOT NULL DEFAULT 0,\n"
    "    del_measurements TEXT    NOT NULL DEFAULT '',\n"
    "    del_min          INTEGER NOT NULL DEFAULT 0,\n"
    "    del_max          INTEGER NOT NULL DEFAULT 0,\n"
    "    started_at       INTEGER NOT NULL DEFAULT 0,\n"
    "    finished_at      INTEGER NOT NULL DEFAULT 0,\n"
    "    loads            INTEGER NOT NULL DEFAULT 0,\n"
    "    error            TEXT    NOT NULL DEFAULT ''\n"
    ");\n"
    "CREATE INDEX files_by_database_time ON files(database, state, min_time);\n"
    "CREATE INDEX files_by_seq ON files(seq_first);\n"
    "CREATE TABLE file_applied (\n"
    "    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,\n"
    "    backend TEXT    NOT NULL,\n"
    "    at_ns   INTEGER NOT NULL,\n"
    "    PRIMARY KEY (file_id, backend)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TRIGGER files_seq_changed AFTER UPDATE OF seq_first, seq_last ON files\n"
    "    WHEN old.seq_first IS NOT new.seq_first OR old.seq_last IS NOT new.seq_last\n"
    "BEGIN\n"
    "    DELETE FROM file_applied WHERE file_id = new.id;\n"
    "END;\n"
    "CREATE TABLE backends (\n"
    "    name            TEXT    PRIMARY KEY,\n"
    "    cursor          INTEGER NOT NULL DEFAULT 0,\n"
    "    cursor_time     INTEGER NOT NULL DEFAULT 0,\n"
    "    updated_at      INTEGER NOT NULL DEFAULT 0,\n"
    "    needs_resync    INTEGER NOT NULL DEFAULT 0 CHECK (needs_resync IN (0, 1)),\n"
    "    resync_reason   TEXT    NOT NULL DEFAULT '',\n"
    "    applied_records INTEGER NOT NULL DEFAULT 0,\n"
    "    failures        INTEGER NOT NULL DEFAULT 0,\n"
    "    last_error      TEXT    NOT NULL DEFAULT '',\n"
    "    last_error_at   INTEGER NOT NULL DEFAULT 0\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE audit (\n"
    "    id     INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "    at_ns  INTEGER NOT NULL,\n"
    "    who    TEXT    NOT NULL,\n"
    "    action TEXT    NOT NULL,\n"
    "    detail TEXT    NOT NULL DEFAULT ''\n"
    ");\n"
    "PRAGMA user_version = 1;\n",
    /* version 2: the catalog of snapshots and backups (ops/snapshot.h, ops/backup.h) */
    "CREATE TABLE catalog (\n"
    "    id          TEXT    NOT NULL,\n"
    "    kind        TEXT    NOT NULL CHECK (kind IN ('snapshot', 'full', 'incremental')),\n"
    "    location    TEXT    NOT NULL,\n"
    "    parent      TEXT    NOT NULL DEFAULT '',\n"
    "    created_at  INTEGER NOT NULL,\n"
    "    checkpoint  INTEGER NOT NULL DEFAULT 0,\n"
    "    seq         INTEGER NOT NULL DEFAULT 0,\n"
    "    seq_first   INTEGER NOT NULL DEFAULT 0,\n"
    "    time_last   INTEGER NOT NULL DEFAULT 0,\n"
    "    files       INTEGER NOT NULL DEFAULT 0,\n"
    "    bytes       INTEGER NOT NULL DEFAULT 0,\n"
    "    new_files   INTEGER NOT NULL DEFAULT 0,\n"
    "    new_bytes   INTEGER NOT NULL DEFAULT 0,\n"
    "    state       TEXT    NOT NULL DEFAULT 'complete',\n"
    "    PRIMARY KEY (kind, id)\n"
    ") WITHOUT ROWID;\n"
    "PRAGMA user_version = 2;\n",
    /* version 3: the gateway's control plane — versioned feature flags, API keys, the rollback
     * state machine, the recorded query-latency baselines — and control_gen, bumped by triggers whenever flags or keys change, which
     * servers poll to pick up changes made by other processes (gateway/flags.h) */
    "CREATE TABLE control_gen (\n"
    "    id  INTEGER PRIMARY KEY CHECK (id = 1),\n"
    "    gen INTEGER NOT NULL\n"
    ");\n"
    "INSERT INTO control_gen (id, gen) VALUES (1, 1);\n"
    "CREATE TABLE flags (\n"
    "    name    TEXT    PRIMARY KEY,\n"
    "    value   TEXT    NOT NULL,\n"
    "    version INTEGER NOT NULL\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE flag_versions (\n"
    "    version INTEGER PRIMARY KEY,\n"
    "    at_ns   INTEGER NOT NULL,\n"
    "    who     TEXT    NOT NULL,\n"
    "    why     TEXT    NOT NULL DEFAULT ''\n"
    ");\n"
    "CREATE TABLE flag_changes (\n"
    "    version INTEGER NOT NULL REFERENCES flag_versions(version),\n"
    "    name    TEXT    NOT NULL,\n"
    "    old     TEXT,\n"
    "    new     TEXT    NOT NULL,\n"
    "    PRIMARY KEY (version, name)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE api_keys (\n"
    "    id           TEXT    PRIMARY KEY,\n"
    "    name         TEXT    NOT NULL DEFAULT '',\n"
    "    hash         TEXT    NOT NULL,\n"
    "    scopes       TEXT    NOT NULL,\n"
    "    db           TEXT    NOT NULL DEFAULT '',\n"
    "    rate_rps     REAL    NOT NULL DEFAULT 0,\n"
    "    created_at   INTEGER NOT NULL,\n"
    "    created_by   TEXT    NOT NULL DEFAULT '',\n"
    "    revoked_at   INTEGER NOT NULL DEFAULT 0,\n"
    "    last_used_at INTEGER NOT NULL DEFAULT 0\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE rollbacks (\n"
    "    id         INTEGER PRIMARY KEY,\n"
    "    kind       TEXT    NOT NULL,\n"
    "    state      TEXT    NOT NULL,\n"
    "    step       INTEGER NOT NULL DEFAULT 0,\n"
    "    started_at INTEGER NOT NULL,\n"
    "    updated_at INTEGER NOT NULL,\n"
    "    who        TEXT    NOT NULL DEFAULT '',\n"
    "    detail     TEXT    NOT NULL DEFAULT '{}',\n"
    "    error      TEXT    NOT NULL DEFAULT ''\n"
    ");\n"
    "CREATE TABLE query_baselines (\n"
    "    class       TEXT    PRIMARY KEY,\n"
    "    p50_ms      REAL    NOT NULL,\n"
    "    p95_ms      REAL    NOT NULL,\n"
    "    samples     INTEGER NOT NULL,\n"
    "    recorded_at INTEGER NOT NULL\n"
    ") WITHOUT ROWID;\n"
    "CREATE TRIGGER flags_gen_ins AFTER INSERT ON flags BEGIN\n"
    "    UPDATE control_gen SET gen = gen + 1 WHERE id = 1; END;\n"
    "CREATE TRIGGER flags_gen_upd AFTER UPDATE ON flags BEGIN\n"
    "    UPDATE control_gen SET gen = gen + 1 WHERE id = 1; END;\n"
    "CREATE TRIGGER flags_gen_del AFTER DELETE ON flags BEGIN\n"
    "    UPDATE control_gen SET gen = gen + 1 WHERE id = 1; END;\n"
    "CREATE TRIGGER keys_gen_ins AFTER INSERT ON api_keys BEGIN\n"
    "    UPDATE control_gen SET gen = gen + 1 WHERE id = 1; END;\n"
    "CREATE TRIGGER keys_gen_upd AFTER UPDATE OF hash, scopes, db, rate_rps, revoked_at\n"
    "    ON api_keys BEGIN\n"
    "    UPDATE control_gen SET gen = gen + 1 WHERE id = 1; END;\n"
    "CREATE TRIGGER keys_gen_del AFTER DELETE ON api_keys BEGIN\n"
    "    UPDATE control_gen SET gen = gen + 1 WHERE id = 1; END;\n"
    "PRAGMA user_version = 3;\n",
    /* version 4: expected points per (file, measurement, UTC hour), counted by the loader as it
     * loads (meta_hours.c); `volta check` sums them over the loaded files. Files loaded before
     * this version have no rows (their expectation is estimated from files.points). */
    "CREATE TABLE file_hours (\n"
    "    file_id     INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,\n"
    "    measurement TEXT    NOT NULL,\n"
    "    hour        INTEGER NOT NULL,\n"
    "    points      INTEGER NOT NULL CHECK (points > 0),\n"
    "    PRIMARY KEY (file_id, measurement, hour)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX file_hours_by_hour ON file_hours(hour);\n"
    "PRAGMA user_version = 4;\n",
};

#define META_SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

/* ---- statements ---------------------------------------------------------------------------- */

#define FILE_COLS                                                                                  \
    "id, path, dataset, database, size, mtime_ns, hash, state, rows_read, rows_loaded, "          \
    "rows_rejected, rows_empty, empty_values, points, min_time, max_time, seq_first, seq_last, "  \
    "del_measurements, del_min, del_max, started_at, finished_at, loads, error"

#define BACKEND_COLS                                                                               \
    "name, cursor, cursor_time, updated_at, needs_resync, resync_reason, applied_records, "       \
    "failures, last_error, last_error_at"

#define CATALOG_COLS                                                                               \
    "id, kind, location, parent, created_at, checkpoint, seq, seq_first, time_last, files, "      \
    "bytes, new_files, new_bytes, state"

typedef enum stmt_id {
    ST_USER_VERSION,
    ST_FILE_GET_PATH,
    ST_FILE_GET_ID,
    ST_FILE_INSERT,
    ST_FILE_UPDATE,
    ST_FILE_LIST,
    ST_FILE_MARK_STALE,
    ST_APPLIED_INSERT,
    ST_APPLIED_UPTO,
    ST_APPLIED_AT,
    ST_NOT_APPLIED,
    ST_BACKEND_GET,
    ST_BACKEND_CREATE,
    ST_BACKEND_CURSOR,
    ST_BACKEND_RESYNC,
    ST_BACKEND_FAILURE,
    ST_BACKEND_LIST,
    ST_AUDIT_INSERT,
    ST_AUDIT_LIST,
    ST_CATALOG_PUT,
    ST_CATALOG_GET,
    ST_CATALOG_LIST,
    ST_CATALOG_DELETE,
    ST_COUNT
} stmt_id;

static const char *const stmt_sql[ST_COUNT] = {
    [ST_USER_VERSION] = "PRAGMA user_version",
    [ST_FILE_GET_PATH] = "SELECT " FILE_COLS " FROM files WHERE path = ?1",
    [ST_FILE_GET_ID] = "SELECT " FILE_COLS " FROM files WHERE id = ?1",
    [ST_FILE_INSERT] =
        "INSERT INTO files (path, dataset, database, size, mtime_ns, hash, state, rows_read, "
        "rows_loaded, rows_rejected, rows_empty, empty_values, points, min_time, max_time, "
        "seq_first, seq_last, del_measurements, del_min, del_max, started_at, finished_at, loads, "
        "error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
        "?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
    [ST_FILE_UPDATE] =
        "UPDATE files SET path = ?1, dataset = ?2, database = ?3, size = ?4, mtime_ns = ?5, "
        "hash = ?6, state = ?7, rows_read = ?8, rows_loaded = ?9, rows_rejected = ?10, "
        "rows_empty = ?11, empty_values = ?12, points = ?13, min_time = ?14, max_time = ?15, "
        "seq_first = ?16, seq_last = ?17, del_measurements = ?18, del_min = ?19, del_max = ?20, "
        "started_at = ?21, finished_at = ?22, loads = ?23, error = ?24 WHERE id = ?25",
    [ST_FILE_LIST] = "SELECT " FILE_COLS " FROM files WHERE ?1 IS NULL OR state = ?1 "
                     "ORDER BY path",
    /* a loaded file with no points (0/0) wrote nothing and so cannot intersect */
    [ST_FILE_MARK_STALE] =
        "UPDATE files SET state = 'stale' WHERE state = 'loaded' AND database = ?1 "
        "AND (?2 IS NULL OR dataset = ?2) AND min_time <= ?4 AND max_time >= ?3 AND id <> ?5 "
        "AND NOT (points = 0 AND min_time = 0 AND max_time = 0)",
    [ST_APPLIED_INSERT] = "INSERT OR IGNORE INTO file_applied (file_id, backend, at_ns) "
                          "VALUES (?1, ?2, ?3)",
    [ST_APPLIED_UPTO] = "INSERT OR IGNORE INTO file_applied (file_id, backend, at_ns) "
                        "SELECT id, ?1, ?3 FROM files WHERE state = 'loaded' AND seq_first > 0 "
                        "AND seq_last <= ?2",
    [ST_APPLIED_AT] = "SELECT at_ns FROM file_applied WHERE file_id = ?1 AND backend = ?2",
    [ST_NOT_APPLIED] = "SELECT " FILE_COLS " FROM files f WHERE state = 'loaded' "
                       "AND seq_first > 0 AND NOT EXISTS (SELECT 1 FROM file_applied a "
                       "WHERE a.file_id = f.id AND a.backend = ?1) ORDER BY seq_first, id",
    [ST_BACKEND_GET] = "SELECT " BACKEND_COLS " FROM backends WHERE name = ?1",
    [ST_BACKEND_CREATE] = "INSERT OR IGNORE INTO backends (name) VALUES (?1)",
    [ST_BACKEND_CURSOR] =
        "INSERT INTO backends (name, cursor, cursor_time, updated_at, applied_records) "
        "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (name) DO UPDATE SET "
        "cursor = excluded.cursor, cursor_time = excluded.cursor_time, "
        "updated_at = excluded.updated_at, "
        "applied_records = applied_records + excluded.applied_records "
        "WHERE ?6 OR cursor <= excluded.cursor",
    [ST_BACKEND_RESYNC] =
        "INSERT INTO backends (name, needs_resync, resync_reason) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (name) DO UPDATE SET needs_resync = excluded.needs_resync, "
        "resync_reason = excluded.resync_reason",
    [ST_BACKEND_FAILURE] =
        "INSERT INTO backends (name, failures, last_error, last_error_at) VALUES (?1, 1, ?2, ?3) "
        "ON CONFLICT (name) DO UPDATE SET failures = failures + 1, "
        "last_error = excluded.last_error, last_error_at = excluded.last_error_at",
    [ST_BACKEND_LIST] = "SELECT " BACKEND_COLS " FROM backends ORDER BY name",
    [ST_AUDIT_INSERT] = "INSERT INTO audit (at_ns, who, action, detail) VALUES (?1, ?2, ?3, ?4)",
    [ST_AUDIT_LIST] = "SELECT id, at_ns, who, action, detail FROM audit ORDER BY id DESC "
                      "LIMIT ?1",
    [ST_CATALOG_PUT] =
        "INSERT OR REPLACE INTO catalog (id, kind, location, parent, created_at, checkpoint, seq, "
        "seq_first, time_last, files, bytes, new_files, new_bytes, state) VALUES (?1, ?2, ?3, "
        "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    [ST_CATALOG_GET] = "SELECT " CATALOG_COLS " FROM catalog WHERE id = ?1 "
                       "AND (?2 IS NULL OR kind = ?2 OR (?2 = 'backup' AND kind <> 'snapshot'))",
    [ST_CATALOG_LIST] = "SELECT " CATALOG_COLS " FROM catalog WHERE ?1 IS NULL OR kind = ?1 "
                        "OR (?1 = 'backup' AND kind <> 'snapshot') ORDER BY created_at DESC, id DESC",
    [ST_CATALOG_DELETE] = "DELETE FROM catalog WHERE id = ?1 AND (kind = ?2 OR "
                          "(?2 = 'backup' AND kind <> 'snapshot'))",
};

struct meta {
    sqlite3 *db;
    pthread_mutex_t mu;
    int version;
    sqlite3_stmt *stmts[ST_COUNT];
    char path[META_PATH_MAX];
};

/* ---- helpers ------------------------------------------------------------------------------- */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static vt_rc rc_from_sqlite(int xrc)
{
    switch (xrc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return VT_EBUSY;
    case SQLITE_NOMEM:
        return VT_ENOMEM;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_SCHEMA:
        return VT_ECORRUPT;
    case SQLITE_CONSTRAINT:
        if (xrc == SQLITE_CONSTRAINT_UNIQUE || xrc == SQLITE_CONSTRAINT_PRIMARYKEY)
            return VT_EEXIST;
        if (xrc == SQLITE_CONSTRAINT_FOREIGNKEY)
            return VT_ENOTFOUND;
        return VT_EINVAL;
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
        return VT_EINVAL;
    default:
        return VT_EIO;
    }
}

/* Fills err with "<op>: <sqlite3_errmsg> [<meta.db path>]"; the code follows SQLite's. */
static vt_rc db_fail(meta *m, vt_err *err, int xrc, const char *op, ...)
    __attribute__((format(printf, 4, 5)));
static vt_rc db_fail(meta *m, vt_err *err, int xrc, const char *op, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, op);
    vsnprintf(what, sizeof what, op, ap);
    va_end(ap);
    return vt_err_set(err, rc_from_sqlite(xrc), "%s: %s [%s]", what, sqlite3_errmsg(m->db),
                      m->path);
}

/* The cached statement id, prepared on first use. */
static vt_rc stmt_get(meta *m, stmt_id id, sqlite3_stmt **out, vt_err *err, const char *op)
{
    if (!m->stmts[id]) {
        int src = sqlite3_prepare_v3(m->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                     &m->stmts[id], NULL);
        if (src != SQLITE_OK) {
            m->stmts[id] = NULL;
            return db_fail(m, err, sqlite3_extended_errcode(m->db), "%s: prepare", op);
        }
    }
    *out = m->stmts[id];
    return VT_OK;
}

static void stmt_done(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* Binding: each helper does nothing once *b holds an error, so a sequence is checked once. */
static void bind_i64(sqlite3_stmt *s, int i, int64_t v, int *b)
{
    if (*b == SQLITE_OK)
        *b = sqlite3_bind_int64(s, i, (sqlite3_int64)v);
}

static void bind_text(sqlite3_stmt *s, int i, const char *v, size_t cap, int *b)
{
    if (*b != SQLITE_OK)
        return;
    if (!v) {
        *b = sqlite3_bind_null(s, i);
        return;
    }
    size_t len = strnlen(v, cap);
    if (len > INT32_MAX) {
        *b = SQLITE_TOOBIG;
        return;
    }
    *b = sqlite3_bind_text(s, i, v, (int)len, SQLITE_STATIC);
}

/* Copies column i into dst[cap] (cap >= 1), truncating at a UTF-8 boundary; NULL reads as "". */
static void col_text(sqlite3_stmt *s, int i, char *dst, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    size_t len = t ? (size_t)sqlite3_column_bytes(s, i) : 0;
    if (len >= cap) {
        len = cap - 1;
        while (len > 0 && (t[len] & 0xC0) == 0x80) /* t[len] continues a character: back off */
            len--;
    }
    if (len)
        memcpy(dst, t, len);
    dst[len] = '\0';
}

static uint64_t col_u64(sqlite3_stmt *s, int i)
{
    sqlite3_int64 v = sqlite3_column_int64(s, i);
    return v < 0 ? 0 : (uint64_t)v;
}

static const char *const state_names[] = {
    [META_FILE_LOADING] = "loading",
    [META_FILE_LOADED] = "loaded",
    [META_FILE_FAILED] = "failed",
    [META_FILE_STALE] = "stale",
};
#define STATE_COUNT ((int)(sizeof state_names / sizeof state_names[0]))

const char *meta_file_state_name(meta_file_state s)
{
    return ((int)s >= 0 && (int)s < STATE_COUNT) ? state_names[s] : "unknown";
}

static vt_rc read_file_row(meta *m, sqlite3_stmt *s, meta_file *f, vt_err *err)
{
    memset(f, 0, sizeof *f);
    f->id = sqlite3_column_int64(s, 0);
    col_text(s, 1, f->path, sizeof f->path);
    col_text(s, 2, f->dataset, sizeof f->dataset);
    col_text(s, 3, f->database, sizeof f->database);
    f->size = col_u64(s, 4);
    f->mtime_ns = sqlite3_column_int64(s, 5);
    col_text(s, 6, f->hash, sizeof f->hash);
    const char *st = (const char *)sqlite3_column_text(s, 7);
    int state = -1;
    for (int i = 0; st && i < STATE_COUNT; i++)
        if (strcmp(st, state_names[i]) == 0)
            state = i;
    if (state < 0)
        return vt_err_set(err, VT_ECORRUPT, "meta: files row %" PRId64 ": unknown state '%s' [%s]",
                          f->id, st ? st : "(null)", m->path);
    f->state = (meta_file_state)state;
    f->rows_read = col_u64(s, 8);
    f->rows_loaded = col_u64(s, 9);
    f->rows_rejected = col_u64(s, 10);
    f->rows_empty = col_u64(s, 11);
    f->empty_values = col_u64(s, 12);
    f->points = col_u64(s, 13);
    f->min_time = sqlite3_column_int64(s, 14);
    f->max_time = sqlite3_column_int64(s, 15);
    f->seq_first = col_u64(s, 16);
    f->seq_last = col_u64(s, 17);
    col_text(s, 18, f->del_measurements, sizeof f->del_measurements);
    f->del_min = sqlite3_column_int64(s, 19);
    f->del_max = sqlite3_column_int64(s, 20);
    f->started_at = sqlite3_column_int64(s, 21);
    f->finished_at = sqlite3_column_int64(s, 22);
    sqlite3_int64 loads = sqlite3_column_int64(s, 23);
    f->loads = loads < 0 ? 0 : loads > UINT32_MAX ? UINT32_MAX : (uint32_t)loads;
    col_text(s, 24, f->error, sizeof f->error);
    return VT_OK;
}

static void read_backend_row(sqlite3_stmt *s, meta_backend *b)
{
    memset(b, 0, sizeof *b);
    col_text(s, 0, b->name, sizeof b->name);
    b->cursor = col_u64(s, 1);
    b->cursor_time = sqlite3_column_int64(s, 2);
    b->updated_at = sqlite3_column_int64(s, 3);
    b->needs_resync = sqlite3_column_int64(s, 4) != 0;
    col_text(s, 5, b->resync_reason, sizeof b->resync_reason);
    b->applied_records = col_u64(s, 6);
    b->failures = col_u64(s, 7);
    col_text(s, 8, b->last_error, sizeof b->last_error);
    b->last_error_at = sqlite3_column_int64(s, 9);
}

/* Grows *arr (elements of size elem) so that it holds at least need elements. */
static vt_rc grow(void **arr, size_t *cap, size_t need, size_t elem, vt_err *err, const char *op)
{
    if (need <= *cap)
        return VT_OK;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return vt_err_set(err, VT_ENOMEM, "%s: too many rows", op);
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / elem)
        return vt_err_set(err, VT_ENOMEM, "%s: too many rows", op);
    void *p = realloc(*arr, ncap * elem);
    if (!p)
        return vt_err_set(err, VT_ENOMEM, "%s: out of memory for %zu rows", op, ncap);
    *arr = p;
    *cap = ncap;
    return VT_OK;
}

/* Steps s (bound by the caller) to the end, collecting meta_file rows; resets s. */
static vt_rc collect_files(meta *m, sqlite3_stmt *s, meta_file **out, size_t *n, vt_err *err,
                           const char *op)
{
    meta_file *arr = NULL;
    size_t cnt = 0, cap = 0;
    vt_rc rc = VT_OK;
    int src;
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        rc = grow((void **)&arr, &cap, cnt + 1, sizeof *arr, err, op);
        if (rc != VT_OK)
            goto done;
        rc = read_file_row(m, s, &arr[cnt], err);
        if (rc != VT_OK)
            goto done;
        cnt++;
    }
    if (src != SQLITE_DONE)
        rc = db_fail(m, err, sqlite3_extended_errcode(m->db), "%s", op);
done:
    stmt_done(s);
    if (rc != VT_OK) {
        free(arr);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return VT_OK;
}

/* Runs a statement that returns no rows; resets it. */
static vt_rc exec_stmt(meta *m, sqlite3_stmt *s, vt_err *err, const char *op)
{
    int src = sqlite3_step(s);
    vt_rc rc = VT_OK;
    if (src != SQLITE_DONE && src != SQLITE_ROW)
        rc = db_fail(m, err, sqlite3_extended_errcode(m->db), "%s", op);
    stmt_done(s);
    return rc;
}

static vt_rc bind_fail(meta *m, sqlite3_stmt *s, int b, vt_err *err, const char *op)
{
    vt_rc rc = db_fail(m, err, b, "%s: bind", op);
    stmt_done(s);
    return rc;
}

/* Runs fixed SQL text (pragmas, transaction control, migrations) — never formatted. */
static vt_rc exec_sql(meta *m, const char *sql, vt_err *err, const char *op)
{
    char *emsg = NULL;
    int src = sqlite3_exec(m->db, sql, NULL, NULL, &emsg);
    if (src == SQLITE_OK)
        return VT_OK;
    vt_rc rc = vt_err_set(err, rc_from_sqlite(sqlite3_extended_errcode(m->db)), "%s: %s [%s]", op,
                          emsg ? emsg : sqlite3_errstr(src), m->path);
    sqlite3_free(emsg);
    return rc;
}

static vt_rc read_user_version(meta *m, int *out, vt_err *err)
{
    sqlite3_stmt *s = NULL;
    vt_rc rc = stmt_get(m, ST_USER_VERSION, &s, err, "meta_open: read user_version");
    if (rc != VT_OK)
        return rc;
    int src = sqlite3_step(s);
    if (src == SQLITE_ROW)
        *out = sqlite3_column_int(s, 0);
    else
        rc = db_fail(m, err, sqlite3_extended_errcode(m->db), "meta_open: read user_version");
    stmt_done(s);
    return rc;
}

static vt_rc refuse_newer(meta *m, int found, vt_err *err)
{
    return vt_err_set(err, VT_EUNSUPPORTED,
                      "meta_open: %s has schema version %d, newer than this binary supports "
                      "(version %d): upgrade volta",
                      m->path, found, META_SCHEMA_VERSION);
}

static vt_rc migrate(meta *m, vt_err *err)
{
    int cur = 0;
    vt_rc rc = read_user_version(m, &cur, err);
    if (rc != VT_OK)
        return rc;
    if (cur > META_SCHEMA_VERSION)
        return refuse_newer(m, cur, err);
    while (cur < META_SCHEMA_VERSION) {
        char op[64];
        snprintf(op, sizeof op, "meta_open: migrate to version %d", cur + 1);
        rc = exec_sql(m, "BEGIN IMMEDIATE", err, op);
        if (rc != VT_OK)
            return rc;
        int inside = 0;
        rc = read_user_version(m, &inside, err); /* another process may have migrated */
        if (rc == VT_OK && inside > META_SCHEMA_VERSION)
            rc = refuse_newer(m, inside, err);
        if (rc == VT_OK && inside == cur) {
            rc = exec_sql(m, migrations[cur], err, op);
            if (rc == VT_OK)
                rc = read_user_version(m, &inside, err);
            if (rc == VT_OK && inside != cur + 1)
                rc = vt_err_set(err, VT_ECORRUPT, "%s: migration left user_version %d [%s]", op,
                                inside, m->path);
        }
        if (rc == VT_OK)
            rc = exec_sql(m, "COMMIT", err, op);
        if (rc != VT_OK) {
            sqlite3_exec(m->db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
        cur = inside;
    }
    m->version = cur;
    return VT_OK;
}

/* ---- open / close -------------------------------------------------------------------------- */

static void meta_free(meta *m)
{
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(m->stmts[i]);
    sqlite3_close_v2(m->db);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

vt_rc meta_open(const char *path, meta **out, vt_err *err)
{
    if (!path || !out)
        return vt_err_set(err, VT_EINVAL, "meta_open: NULL argument");
    *out = NULL;
    if (strlen(path) >= META_PATH_MAX)
        return vt_err_set(err, VT_EINVAL, "meta_open: path too long (%zu bytes)", strlen(path));
    meta *m = calloc(1, sizeof *m);
    if (!m)
        return vt_err_set(err, VT_ENOMEM, "meta_open %s: out of memory", path);
    if (pthread_mutex_init(&m->mu, NULL) != 0) {
        free(m);
        return vt_err_set(err, VT_ENOMEM, "meta_open %s: pthread_mutex_init failed", path);
    }
    snprintf(m->path, sizeof m->path, "%s", path);
    bool created = access(path, F_OK) != 0;

    vt_rc rc;
    int src = sqlite3_open_v2(path, &m->db,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                              NULL);
    if (src != SQLITE_OK) {
        rc = m->db ? db_fail(m, err, sqlite3_extended_errcode(m->db), "meta_open")
                   : vt_err_set(err, VT_ENOMEM, "meta_open %s: %s", path, sqlite3_errstr(src));
        goto fail;
    }
    sqlite3_extended_result_codes(m->db, 1);
    sqlite3_busy_timeout(m->db, 5000);

    /* refuse a newer database before touching it (journal mode included) */
    int found = 0;
    rc = read_user_version(m, &found, err);
    if (rc != VT_OK)
        goto fail;
    if (found > META_SCHEMA_VERSION) {
        rc = refuse_newer(m, found, err);
        goto fail;
    }

    sqlite3_stmt *s = NULL;
    src = sqlite3_prepare_v2(m->db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
    if (src == SQLITE_OK)
        src = sqlite3_step(s);
    if (src != SQLITE_ROW) {
        rc = db_fail(m, err, sqlite3_extended_errcode(m->db), "meta_open: journal_mode=WAL");
        sqlite3_finalize(s);
        goto fail;
    }
    const char *mode = (const char *)sqlite3_column_text(s, 0);
    if (!mode || strcmp(mode, "wal") != 0) {
        rc = vt_err_set(err, VT_EIO, "meta_open: journal_mode=WAL refused (mode is %s) [%s]",
                        mode ? mode : "(null)", path);
        sqlite3_finalize(s);
        goto fail;
    }
    sqlite3_finalize(s);
    rc = exec_sql(m, "PRAGMA synchronous = FULL", err, "meta_open: synchronous=FULL");
    if (rc == VT_OK)
        rc = exec_sql(m, "PRAGMA foreign_keys = ON", err, "meta_open: foreign_keys=ON");
    if (rc == VT_OK)
        rc = migrate(m, err);
    if (rc == VT_OK && created)
        rc = durable_fsync_dir(path, err); /* the new file's directory entry */
    if (rc != VT_OK)
        goto fail;
    *out = m;
    return VT_OK;
fail:
    meta_free(m);
    return rc;
}

void meta_close(meta *m)
{
    if (m)
        meta_free(m);
}

int meta_schema_version(meta *m)
{
    return m ? m->version : 0;
}

/* ---- ledger -------------------------------------------------------------------------------- */

#define LOCK(m) pthread_mutex_lock(&(m)->mu)
#define UNLOCK(m) pthread_mutex_unlock(&(m)->mu)

static vt_rc file_get_by(meta *m, stmt_id id, const char *path, int64_t rowid, meta_file *out,
                         vt_err *err, const char *op)
{
    sqlite3_stmt *s = NULL;
    vt_rc rc = stmt_get(m, id, &s, err, op);
    if (rc != VT_OK)
        return rc;
    int b = SQLITE_OK;
    if (path)
        bind_text(s, 1, path, META_PATH_MAX, &b);
    else
        bind_i64(s, 1, rowid, &b);
    if (b != SQLITE_OK)
        return bind_fail(m, s, b, err, op);
    int src = sqlite3_step(s);
    if (src == SQLITE_ROW)
        rc = read_file_row(m, s, out, err);
    else if (src == SQLITE_DONE)
        rc = path ? vt_err_set(err, VT_ENOTFOUND, "%s: no ledger row for %s", op, path)
                  : vt_err_set(err, VT_ENOTFOUND, "%s: no ledger row with id %" PRId64, op, rowid);
    else
        rc = db_fail(m, err, sqlite3_extended_errcode(m->db), "%s", op);
    stmt_done(s);
    return rc;
}

vt_rc meta_file_get(meta *m, const char *path, meta_file *out, vt_err *err)
{
    if (!m || !path || !out)
        return vt_err_set(err, VT_EINVAL, "meta_file_get: NULL argument");
    LOCK(m);
    vt_rc rc = file_get_by(m, ST_FILE_GET_PATH, path, 0, out, err, "meta_file_get");
    UNLOCK(m);
    return rc;
}

vt_rc meta_file_get_id(meta *m, int64_t id, meta_file *out, vt_err *err)
{
    if (!m || !out)
        return vt_err_set(err, VT_EINVAL, "meta_file_get_id: NULL argument");
    LOCK(m);
    vt_rc rc = file_get_by(m, ST_FILE_GET_ID, NULL, id, out, err, "meta_file_get_id");
    UNLOCK(m);
    return rc;
}

static vt_rc check_u64(uint64_t v, const char *field, const char *path, vt_err *err)
{
    if (v > (uint64_t)INT64_MAX)
        return vt_err_set(err, VT_EINVAL, "meta_file_put %s: %s %" PRIu64 " exceeds INT64_MAX",
                          path, field, v);
    return VT_OK;
}

vt_rc meta_file_put(meta *m, meta_file *f, vt_err *err)
{
    if (!m || !f)
        return vt_err_set(err, VT_EINVAL, "meta_file_put: NULL argument");
    char path[256]; /* for messages only */
    snprintf(path, sizeof path, "%.*s", (int)strnlen(f->path, sizeof f->path), f->path);
    if (!path[0])
        return vt_err_set(err, VT_EINVAL, "meta_file_put: empty path");
    if ((int)f->state < 0 || (int)f->state >= STATE_COUNT)
        return vt_err_set(err, VT_EINVAL, "meta_file_put %s: bad state %d", path, (int)f->state);
    const struct {
        uint64_t v;
        const char *name;
    } u64s[] = {
        {f->size, "size"},
        {f->rows_read, "rows_read"},
        {f->rows_loaded, "rows_loaded"},
        {f->rows_rejected, "rows_rejected"},
        {f->rows_empty, "rows_empty"},
        {f->empty_values, "empty_values"},
        {f->points, "points"},
        {f->seq_first, "seq_first"},
        {f->seq_last, "seq_last"},
    };
    for (size_t i = 0; i < sizeof u64s / sizeof u64s[0]; i++) {
        vt_rc rc = check_u64(u64s[i].v, u64s[i].name, path, err);
        if (rc != VT_OK)
            return rc;
    }

    LOCK(m);
    bool insert = f->id == 0;
    sqlite3_stmt *s = NULL;
    vt_rc rc = stmt_get(m, insert ? ST_FILE_INSERT : ST_FILE_UPDATE, &s, err, "meta_file_put");
    if (rc != VT_OK)
        goto out;
    int b = SQLITE_OK;
    bind_text(s, 1, f->path, sizeof f->path, &b);
    bind_text(s, 2, f->dataset, sizeof f->dataset, &b);
    bind_text(s, 3, f->database, sizeof f->database, &b);
    bind_i64(s, 4, (int64_t)f->size, &b);
    bind_i64(s, 5, f->mtime_ns, &b);
    bind_text(s, 6, f->hash, sizeof f->hash, &b);
    bind_text(s, 7, state_names[f->state], 16, &b);
    bind_i64(s, 8, (int64_t)f->rows_read, &b);
    bind_i64(s, 9, (int64_t)f->rows_loaded, &b);
    bind_i64(s, 10, (int64_t)f->rows_rejected, &b);
    bind_i64(s, 11, (int64_t)f->rows_empty, &b);
    bind_i64(s, 12, (int64_t)f->empty_values, &b);
    bind_i64(s, 13, (int64_t)f->points, &b);
    bind_i64(s, 14, f->min_time, &b);
    bind_i64(s, 15, f->max_time, &b);
    bind_i64(s, 16, (int64_t)f->seq_first, &b);
    bind_i64(s, 17, (int64_t)f->seq_last, &b);
    bind_text(s, 18, f->del_measurements, sizeof f->del_measurements, &b);
    bind_i64(s, 19, f->del_min, &b);
    bind_i64(s, 20, f->del_max, &b);
    bind_i64(s, 21, f->started_at, &b);
    bind_i64(s, 22, f->finished_at, &b);
    bind_i64(s, 23, (int64_t)f->loads, &b);
    bind_text(s, 24, f->error, sizeof f->error, &b);
    if (!insert)
        bind_i64(s, 25, f->id, &b);
    if (b != SQLITE_OK) {
        rc = bind_fail(m, s, b, err, "meta_file_put");
        goto out;
    }
    int src = sqlite3_step(s);
    if (src != SQLITE_DONE) {
        rc = db_fail(m, err, sqlite3_extended_errcode(m->db), "meta_file_put %s", path);
    } else if (insert) {
        f->id = (int64_t)sqlite3_last_insert_rowid(m->db);
    } else if (sqlite3_changes(m->db) == 0) {
        rc = vt_err_set(err, VT_ENOTFOUND, "meta_file_put %s: no ledger row with id %" PRId64,
                        path, f->id);
    }
    stmt_done(s);
out:
    UNLOCK(m);
    return rc;
}

vt_rc meta_file_list(meta *m, int state_filter, meta_file **out, size_t *n, vt_err *err)
{
    if (!m || !out || !n)
        return vt_err_set(err, VT_EINVAL, "meta_file_list: NULL argument");
    *out = NULL;
    *n = 0;
    if (state_filter >= STATE_COUNT)
        return vt_err_set(err, VT_EINVAL, "meta_file_list: bad state filter %d", state_filter);
    LOCK(m);
    sqlite3_stmt *s = NULL;
    vt_rc rc = stmt_get(m, ST_FILE_LIST, &s, err, "meta_file_list");
    if (rc == VT_OK) {
        int b = SQLITE_OK;
        bind_text(s, 1, state_filter < 0 ? NULL : state_names[state_filter], 16, &b);
        rc = b != SQLITE_OK ? bind_fail(m, s, b, err, "meta_file_list")
                            : collect_files(m, s, out, n, err, "meta_file_list");
    }
    UNLOCK(m);
    return rc;
}

vt_rc meta_file_mark_stale(meta *m, const char *database, const char *dataset, int64_t tmin,
                           int64_t tmax, int64_t except_id, unsigned *marked, vt_err *err)
{
    if (marked)
        *marked = 0;
    if (!m || !database)
        return vt_err_set(err, VT_EINVAL, "meta_file_mark_stale: NULL argument");
    LOCK(m);
    sqlite3_stmt *s = NULL;
    vt_rc rc = stmt_get(m, ST_FILE_MARK_STALE, &s, err, "meta_file_mark_stale");
    if (rc != VT_OK)
        goto out;
    int b = SQLITE_OK;
    bind_text(s, 1, database, META_NAME_MAX, &b);
    bind_text(s, 2, dataset, META_NAME_MAX, &b);
    bind_i64(s, 3, tmin, &b);
    bind_i64(s, 4, tmax, &b);
    bind_i64(s, 5, except_id, &b);
    if (b != SQLITE_OK) {
        rc = bind_fail(m, s, b, err, "meta_file_mark_stale");
        goto out;
    }
    rc = exec_stmt(m, s, err, "meta_file_mark_stale");
    if (rc == VT_OK && marked)
        *marked = (unsigned)sqlite3_changes(m->db);
out:
    UNLOCK(m);
    return rc;
}

vt_rc meta_file_applied(meta *m, int64_t file_id, const char *backend, int64_t at_ns,
                        vt_err *err)
{
    if (!m || !backend)
        return vt_err_set(err, VT_EINVAL, "meta_file_applied: NULL argument");
    LOCK(m);
    sqlite3_stmt *s = NULL;
    vt_rc rc = stmt_get(m, ST_APPLIED_INSERT, &s, err, "meta_file_applied");
    if (rc == VT_OK) {
        int b = SQLITE_OK;
        bind_i64(s, 1, file_id, &b);
        bind_text(s, 2, backend, META_NAME_MAX, &b);
        bind_i64(s, 3, at_ns, &b);
        if (b != SQLITE_OK) {
            rc = bind_fail(m, s, b, err, "meta_file_applied");
        } else if (sqlite3_step(s) != SQLITE_DONE) {
            rc = db_fail(m, err, sqlite3_extended_errcode(m->db),
                         "meta_file_applied file %" PRId64 " backend %s", file_id, backend);
            stmt_done(s);
        } else {
            stmt_done(s);
        }
    }
    UNLOCK(m);
    return rc;
}

vt_rc meta_files_applied_upto(meta *m, const char *backend, uint64_t upto, int64_t at_ns,
                              unsigned *marked, vt_err *err)
{
    if (marked)
        *marked = 0;
    if (!m || !backend)
        return vt_err_set(err, VT_EINVAL, "meta_files_applied_upto: NULL argument");
    LOCK(m);
    sqlite3_stmt *s = NULL;
    vt_rc rc = stmt_get(m, ST_APPLIED_UPTO, &s, err, "meta_files_applied_upto");
    if (rc != VT_OK)
        goto out;
    int b = SQLITE_OK;
    bind_text(s, 1, backend, META_NAME_MAX, &b);
    bind_i64(s, 2, upto > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)upto, &b);
    bind_i64(s, 3, at_ns, &b);
    if (b != SQLITE_OK) {
        rc = bind_fail(m, s, b, err, "meta_files_applied_upto");
        goto out;
    }
    rc = exec_stmt(m, s, err, "meta_files_applied_upto");
    if (rc == VT_OK && marked)
        *marked = (unsigned)sqlite3_changes(m->db);
out:
    UNLOCK(m);
    return rc;
}

vt_rc meta_file_applied_at(meta *m, int64_t file_id, const char *backend, int64_t *at_ns,
                           vt_err *err)
{
    if (!m || !backend || !at_ns)
        return vt_err_set(err, VT_EINVAL, "meta_file_applied_at: NULL argument");
    *at_ns = 0;
    LOCK(m);
    sqlite3_stmt *s = NULL;
    vt_rc rc = stmt_get(m, ST_APPLIED_AT, &s, err, "meta_file_applied_at");
    if (rc != VT_OK)
        goto out;
    int b = SQLITE_OK;
    bind_i64(s, 1, file_id, &b);
    bind_text(s, 2, backend, META_NAME_MAX, &b);
    if (b != SQLITE_OK) {
        rc = bind_fail(m, s, b, err, "meta_file_applied_at");
        goto out;
    }
    int src = sqlite3_step(s);
    if (src == SQLITE_ROW)
        *at_ns = sqlite3_column_int64(s, 0);
    else if (src != SQLITE_DONE)
        rc = db_fail(m, err, sqlite3_extended_errcode(m->db), "meta_file_applied_at");
    stmt_done(s);
out:
    UNLOCK(m);
    return rc;
}

vt_rc meta_files_not_applied(meta *m, const char *backend, meta_file **out, size_t *n,
                             vt_err *err)
{
    if (!m || !backend || !out || !n)
        return vt_err_set(err, VT_EINVAL, "meta_files_not_applied: NULL argument");
    *out = NULL;
    *n = 0;
    LOCK(m);
    sqlite3_stmt *s = NULL;
    vt_rc rc = stmt_get(m, ST_NOT_APPLIED, &s, err, "meta_files_not_applied");
    if (rc == VT_OK) {
        int b = SQLITE_OK;
        bind_text(s, 1, backend, META_NAME_MAX, &b);
        rc = b != SQLITE_OK ? bind_fail(m, s, b, err, "meta_files_not_applied")
                            : collect_files(m, s, out, n, err, "meta_files_not_applied");
    }
    UNLOCK(m);
    return rc;
}

/* ---- backends ------------------------------------------------------------------------------ */

/* SELECT the row of name into out; *found says whether there was one. */
static vt_rc backend_select(meta *m, const char *name, meta_backend *out, bool *found,
                            vt_err *err)
{
    sqlite3_stmt *s = NULL;
    vt_rc rc = stmt_get(m, ST_BACKEND_GET, &s, err, "meta_backend_get");
    if (rc != VT_OK)
        return rc;
    int b = SQLITE_OK;
    bind_text(s, 1, name, META_NAME_MAX, &b);
    if (b != SQLITE_OK)
        return bind_fail(m, s, b, err, "meta_backend_get");
    int src = sqlite3_step(s);
    *found = src == SQLITE_ROW;
    if (src == SQLITE_ROW)
        read_backend_row(s, out);
    else if (src != SQLITE_DONE)
        rc = db_fail(m, err, sqlite3_extended_errcode(m->db), "meta_backend_get %s", name);
    stmt_done(s);
    return rc;
}

vt_rc meta_backend_get(meta *m, const char *name, meta_backend *out, vt_err *err)
{
    if (!m || !name || !out)
        return vt_err_set(err, VT_EINVAL, "meta_backend_get: NULL argument");
    if (!name[0])
        return vt_err_set(err, VT_EINVAL, "meta_backend_get: empty backend name");
    LOCK(m);
    bool found = false;
    vt_rc rc = backend_select(m, name, out, &found, err);
    if (rc == VT_OK && !found) {
        sqlite3_stmt *s;
        rc = stmt_get(m, ST_BACKEND_CREATE, &s, err, "meta_backend_get: create");
        if (rc == VT_OK) {
            int b = SQLITE_OK;
            bind_text(s, 1, name, META_NAME_MAX, &b);
            rc = b != SQLITE_OK ? bind_fail(m, s, b, err, "meta_backend_get: create")
                                : exec_stmt(m, s, err, "meta_backend_get: create");
        }
        if (rc == VT_OK)
            rc = backend_select(m, name, out, &found, err);
        if (rc == VT_OK && !found)
            rc = vt_err_set(err, VT_EIO, "meta_backend_get %s: row vanished after create [%s]",
                            name, m->path);
    }
    UNLOCK(m);
    return rc;
}

vt_rc meta_backend_set_cursor(meta *m, const char *name, uint64_t cursor, int64_t cursor_time,
                              uint64_t records, bool force, vt_err *err)
{
    if (!m || !name)
        return vt_err_set(err, VT_EINVAL, "meta_backend_set_cursor: NULL argument");
    if (!name[0])
        return vt_err_set(err, VT_EINVAL, "meta_backend_set_cursor: empty backend name");
    if (cursor > (uint64_t)INT64_MAX || records > (uint64_t)INT64_MAX)
        return vt_err_set(err, VT_EINVAL,
                          "meta_backend_set_cursor %s: cursor %" PRIu64 " or records %" PRIu64
                          " exceeds INT64_MAX",
                          name, cursor, records);
    LOCK(m);
    sqlite3_stmt *s = NULL;
    vt_rc rc = stmt_get(m, ST_BACKEND_CURSOR, &s, err, "meta_backend_set_cursor");
    if (rc == VT_OK) {
        int b = SQLITE_OK;
        bind_text(s, 1, name, META_NAME_MAX, &b);
        bind_i64(s, 2, (int64_t)cursor, &b);
        bind_i64(s, 3, cursor_time, &b);
        bind_i64(s, 4, now_ns(), &b);
        bind_i64(s, 5, (int64_t)records, &b);
        bind_i64(s, 6, force ? 1 : 0, &b);
        rc = b != SQLITE_OK ? bind_fail(m, s, b, err, "meta_backend_set_cursor")
                            : exec_stmt(m, s, err, "meta_backend_set_cursor");
        if (rc != VT_OK)
            vt_err_prefix(err, "backend %s", name);
    }
    UNLOCK(m);
    return rc;
}

vt_rc meta_backend_set_resync(meta *m, const char *name, bool needs_resync, const char *reason,
                              vt_err *err)
{
    if (!m || !name)
        return vt_err_set(err, VT_EINVAL, "meta_backend_set_resync: NULL argument");
    if (!name[0])
        return vt_err_set(err, VT_EINVAL, "meta_backend_set_resync: empty backend name");
    LOCK(m);
    sqlite3_stmt *s = NULL;
    vt_rc rc = stmt_get(m, ST_BACKEND_RESYNC, &s, err, "meta_backend_set_resync");
    if (rc == VT_OK) {
        int b = SQLITE_OK;
        bind_text(s, 1, name, META_NAME_MAX, &b);
        bind_i64(s, 2, needs_resync ? 1 : 0, &b);
        bind_text(s, 3, reason ? reason : "", sizeof ((meta_backend *)0)->resync_reason, &b);
        rc = b != SQLITE_OK ? bind_fail(m, s, b, err, "meta_backend_set_resync")
                            : exec_stmt(m, s, err, "meta_backend_set_resync");
        if (rc != VT_OK)
            vt_err_prefix(err, "backend %s", name);
    }
    UNLOCK(m);
    return rc;
}

vt_rc meta_backend_failure(meta *m, const char *name, const char *msg, vt_err *err)
{
    if (!m || !name)
        return vt_err_set(err, VT_EINVAL, "meta_backend_failure: NULL argument");
    if (!name[0])
        return vt_err_set(err, VT_EINVAL, "meta_backend_failure: empty backend name");
    LOCK(m);
    sqlite3_stmt *s = NULL;
    vt_rc rc = stmt_get(m, ST_BACKEND_FAILURE, &s, err, "meta_backend_failure");
    if (rc == VT_OK) {
        int b = SQLITE_OK;
        bind_text(s, 1, name, META_NAME_MAX, &b);
        bind_text(s, 2, msg ? msg : "", sizeof ((meta_backend *)0)->last_error, &b);
        bind_i64(s, 3, now_ns(), &b);
        rc = b != SQLITE_OK ? bind_fail(m, s, b, err, "meta_backend_failure")
                            : exec_stmt(m, s, err, "meta_backend_failure");
        if (rc != VT_OK)
            vt_err_prefix(err, "backend %s", name);
    }
    UNLOCK(m);
    return rc;
}

vt_rc meta_backend_list(meta *m, meta_backend **out, size_t *n, vt_err *err)
{
    if (!m || !out || !n)
        return vt_err_set(err, VT_EINVAL, "meta_backend_list: NULL argument");
    *out = NULL;
    *n = 0;
    LOCK(m);
    sqlite3_stmt *s = NULL;
    meta_backend *arr = NULL;
    size_t cnt = 0, cap = 0;
    vt_rc rc = stmt_get(m, ST_BACKEND_LIST, &s, err, "meta_backend_list");
    if (rc != VT_OK)
        goto out;
    int src;
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        rc = grow((void **)&arr, &cap, cnt + 1, sizeof *arr, err, "meta_backend_list");
        if (rc != VT_OK)
            break;
        read_backend_row(s, &arr[cnt++]);
    }
    if (rc == VT_OK && src != SQLITE_DONE)
        rc = db_fail(m, err, sqlite3_extended_errcode(m->db), "meta_backend_list");
    stmt_done(s);
out:
    UNLOCK(m);
    if (rc != VT_OK) {
        free(arr);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return VT_OK;
}

/* ---- audit log ----------------------------------------------------------------------------- */

vt_rc meta_audit(meta *m, const char *who, const char *action, const char *detail, vt_err *err)
{
    if (!m || !who || !action)
        return vt_err_set(err, VT_EINVAL, "meta_audit: NULL argument");
    LOCK(m);
    sqlite3_stmt *s = NULL;
    vt_rc rc = stmt_get(m, ST_AUDIT_INSERT, &s, err, "meta_audit");
    if (rc == VT_OK) {
        int b = SQLITE_OK;
        bind_i64(s, 1, now_ns(), &b);
        bind_text(s, 2, who, META_NAME_MAX, &b);
        bind_text(s, 3, action, META_NAME_MAX, &b);
        bind_text(s, 4, detail ? detail : "", sizeof ((meta_audit_entry *)0)->detail, &b);
        rc = b != SQLITE_OK ? bind_fail(m, s, b, err, "meta_audit")
                            : exec_stmt(m, s, err, "meta_audit");
        if (rc != VT_OK)
            vt_err_prefix(err, "%s %s", who, action);
    }
    UNLOCK(m);
    return rc;
}

vt_rc meta_audit_list(meta *m, size_t limit, meta_audit_entry **out, size_t *n, vt_err *err)
{
    if (!m || !out || !n)
        return vt_err_set(err, VT_EINVAL, "meta_audit_list: NULL argument");
    *out = NULL;
    *n = 0;
    if (limit == 0)
        return VT_OK;
    LOCK(m);
    sqlite3_stmt *s = NULL;
    meta_audit_entry *arr = NULL;
    size_t cnt = 0, cap = 0;
    vt_rc rc = stmt_get(m, ST_AUDIT_LIST, &s, err, "meta_audit_list");
    if (rc != VT_OK)
        goto out;
    int b = SQLITE_OK;
    bind_i64(s, 1, limit > (size_t)INT64_MAX ? INT64_MAX : (int64_t)limit, &b);
    if (b != SQLITE_OK) {
        rc = bind_fail(m, s, b, err, "meta_audit_list");
        goto out;
    }
    int src;
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        rc = grow((void **)&arr, &cap, cnt + 1, sizeof *arr, err, "meta_audit_list");
        if (rc != VT_OK)
            break;
        meta_audit_entry *e = &arr[cnt++];
        memset(e, 0, sizeof *e);
        e->id = sqlite3_column_int64(s, 0);
        e->at_ns = sqlite3_column_int64(s, 1);
        col_text(s, 2, e->who, sizeof e->who);
        col_text(s, 3, e->action, sizeof e->action);
        col_text(s, 4, e->detail, sizeof e->detail);
    }
    if (rc == VT_OK && src != SQLITE_DONE)
        rc = db_fail(m, err, sqlite3_extended_errcode(m->db), "meta_audit_list");
    stmt_done(s);
out:
    UNLOCK(m);
    if (rc != VT_OK) {
        free(arr);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return VT_OK;
}

/* ---- catalog of snapshots and backups ---- */

static void read_catalog_row(sqlite3_stmt *s, meta_catalog *c)
{
    memset(c, 0, sizeof *c);
    col_text(s, 0, c->id, sizeof c->id);
    col_text(s, 1, c->kind, sizeof c->kind);
    col_text(s, 2, c->location, sizeof c->location);
    col_text(s, 3, c->parent, sizeof c->parent);
    c->created_at = sqlite3_column_int64(s, 4);
    c->checkpoint = (uint64_t)sqlite3_column_int64(s, 5);
    c->seq = (uint64_t)sqlite3_column_int64(s, 6);
    c->seq_first = (uint64_t)sqlite3_column_int64(s, 7);
    c->time_last = sqlite3_column_int64(s, 8);
    c->files = (uint64_t)sqlite3_column_int64(s, 9);
    c->bytes = (uint64_t)sqlite3_column_int64(s, 10);
    c->new_files = (uint64_t)sqlite3_column_int64(s, 11);
    c->new_bytes = (uint64_t)sqlite3_column_int64(s, 12);
    col_text(s, 13, c->state, sizeof c->state);
}

vt_rc meta_catalog_put(meta *m, const meta_catalog *c, vt_err *err)
{
    if (!m || !c || !c->id[0] || !c->kind[0])
        return vt_err_set(err, VT_EINVAL, "meta_catalog_put: id and kind required");
    LOCK(m);
    sqlite3_stmt *s = NULL;
    vt_rc rc = stmt_get(m, ST_CATALOG_PUT, &s, err, "meta_catalog_put");
    if (rc == VT_OK) {
        int b = SQLITE_OK;
        bind_text(s, 1, c->id, sizeof c->id, &b);
        bind_text(s, 2, c->kind, sizeof c->kind, &b);
        bind_text(s, 3, c->location, sizeof c->location, &b);
        bind_text(s, 4, c->parent, sizeof c->parent, &b);
        bind_i64(s, 5, c->created_at, &b);
        bind_i64(s, 6, (int64_t)c->checkpoint, &b);
        bind_i64(s, 7, (int64_t)c->seq, &b);
        bind_i64(s, 8, (int64_t)c->seq_first, &b);
        bind_i64(s, 9, c->time_last, &b);
        bind_i64(s, 10, (int64_t)c->files, &b);
        bind_i64(s, 11, (int64_t)c->bytes, &b);
        bind_i64(s, 12, (int64_t)c->new_files, &b);
        bind_i64(s, 13, (int64_t)c->new_bytes, &b);
        bind_text(s, 14, c->state[0] ? c->state : "complete", sizeof c->state, &b);
        rc = b != SQLITE_OK ? bind_fail(m, s, b, err, "meta_catalog_put")
                            : exec_stmt(m, s, err, "meta_catalog_put");
    }
    UNLOCK(m);
    return rc;
}

vt_rc meta_catalog_get(meta *m, const char *kind, const char *id, meta_catalog *out, vt_err *err)
{
    if (!m || !id || !out)
        return vt_err_set(err, VT_EINVAL, "meta_catalog_get: NULL argument");
    LOCK(m);
    sqlite3_stmt *s = NULL;
    vt_rc rc = stmt_get(m, ST_CATALOG_GET, &s, err, "meta_catalog_get");
    if (rc == VT_OK) {
        int b = SQLITE_OK;
        bind_text(s, 1, id, META_NAME_MAX, &b);
        if (kind)
            bind_text(s, 2, kind, META_NAME_MAX, &b);
        else if (b == SQLITE_OK)
            b = sqlite3_bind_null(s, 2);
        if (b != SQLITE_OK) {
            rc = bind_fail(m, s, b, err, "meta_catalog_get");
        } else {
            int src = sqlite3_step(s);
            if (src == SQLITE_ROW)
                read_catalog_row(s, out);
            else if (src == SQLITE_DONE)
                rc = vt_err_set(err, VT_ENOTFOUND, "%s not found: %s", kind ? kind : "snapshot "
                                "or backup", id);
            else
                rc = db_fail(m, err, sqlite3_extended_errcode(m->db), "meta_catalog_get %s", id);
            stmt_done(s);
        }
    }
    UNLOCK(m);
    return rc;
}

vt_rc meta_catalog_list(meta *m, const char *kind, meta_catalog **out, size_t *n, vt_err *err)
{
    if (!m || !out || !n)
        return vt_err_set(err, VT_EINVAL, "meta_catalog_list: NULL argument");
    *out = NULL;
    *n = 0;
    LOCK(m);
    sqlite3_stmt *s = NULL;
    meta_catalog *arr = NULL;
    size_t cnt = 0, cap = 0;
    vt_rc rc = stmt_get(m, ST_CATALOG_LIST, &s, err, "meta_catalog_list");
    if (rc == VT_OK) {
        int b = SQLITE_OK;
        if (kind)
            bind_text(s, 1, kind, META_NAME_MAX, &b);
        else
            b = sqlite3_bind_null(s, 1);
        if (b != SQLITE_OK) {
            rc = bind_fail(m, s, b, err, "meta_catalog_list");
        } else {
            int src;
            while ((src = sqlite3_step(s)) == SQLITE_ROW) {
                rc = grow((void **)&arr, &cap, cnt + 1, sizeof *arr, err, "meta_catalog_list");
                if (rc != VT_OK)
                    break;
                read_catalog_row(s, &arr[cnt++]);
            }
            if (rc == VT_OK && src != SQLITE_DONE)
                rc = db_fail(m, err, sqlite3_extended_errcode(m->db), "meta_catalog_list");
            stmt_done(s);
        }
    }
    UNLOCK(m);
    if (rc != VT_OK) {
        free(arr);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return VT_OK;
}

vt_rc meta_catalog_delete(meta *m, const char *kind, const char *id, vt_err *err)
{
    if (!m || !kind || !id)
        return vt_err_set(err, VT_EINVAL, "meta_catalog_delete: NULL argument");
    LOCK(m);
    sqlite3_stmt *s = NULL;
    vt_rc rc = stmt_get(m, ST_CATALOG_DELETE, &s, err, "meta_catalog_delete");
    if (rc == VT_OK) {
        int b = SQLITE_OK;
        bind_text(s, 1, id, META_NAME_MAX, &b);
        bind_text(s, 2, kind, META_NAME_MAX, &b);
        rc = b != SQLITE_OK ? bind_fail(m, s, b, err, "meta_catalog_delete")
                            : exec_stmt(m, s, err, "meta_catalog_delete");
        if (rc == VT_OK && sqlite3_changes(m->db) == 0)
            rc = vt_err_set(err, VT_ENOTFOUND, "%s not found: %s", kind, id);
    }
    UNLOCK(m);
    return rc;
}

/* ---- shared with the other control-plane files (meta_int.h) -------------------------------- */

sqlite3 *meta_sqlite(meta *m)
{
    return m->db;
}

void meta_lock(meta *m)
{
    LOCK(m);
}

void meta_unlock(meta *m)
{
    UNLOCK(m);
}

vt_rc meta_db_fail(meta *m, vt_err *err, int xrc, const char *op, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, op);
    vsnprintf(what, sizeof what, op, ap);
    va_end(ap);
    return db_fail(m, err, xrc, "%s", what);
}

vt_rc meta_begin(meta *m, vt_err *err)
{
    return exec_sql(m, "BEGIN IMMEDIATE", err, "meta: begin");
}

vt_rc meta_commit(meta *m, vt_err *err)
{
    return exec_sql(m, "COMMIT", err, "meta: commit");
}

void meta_rollback(meta *m)
{
    sqlite3_exec(m->db, "ROLLBACK", NULL, NULL, NULL);
}

int64_t meta_now_ns(void)
{
    return now_ns();
}

vt_rc meta_control_gen(meta *m, int64_t *gen, vt_err *err)
{
    LOCK(m);
    sqlite3_stmt *s = NULL;
    int src = sqlite3_prepare_v2(m->db, "SELECT gen FROM control_gen WHERE id = 1", -1, &s, NULL);
    vt_rc rc = VT_OK;
    if (src == SQLITE_OK && (src = sqlite3_step(s)) == SQLITE_ROW)
        *gen = sqlite3_column_int64(s, 0);
    else
        rc = db_fail(m, err, sqlite3_extended_errcode(m->db), "meta_control_gen");
    sqlite3_finalize(s);
    UNLOCK(m);
    return rc;
}

vt_rc meta_files_stale_after_seq(meta *m, uint64_t seq, unsigned *marked, vt_err *err)
{
    LOCK(m);
    sqlite3_stmt *s = NULL;
    int src = sqlite3_prepare_v2(m->db,
                                 "UPDATE files SET state = 'stale' "
                                 "WHERE state = 'loaded' AND seq_last > ?1",
                                 -1, &s, NULL);
    vt_rc rc = VT_OK;
    if (src == SQLITE_OK)
        src = sqlite3_bind_int64(s, 1, (sqlite3_int64)seq);
    if (src == SQLITE_OK && (src = sqlite3_step(s)) == SQLITE_DONE) {
        if (marked)
            *marked = (unsigned)sqlite3_changes(m->db);
    } else {
        rc = db_fail(m, err, sqlite3_extended_errcode(m->db), "meta_files_stale_after_seq");
    }
    sqlite3_finalize(s);
    UNLOCK(m);
    return rc;
}

vt_rc meta_copy_to(meta *m, const char *dst_path, vt_err *err)
{
    if (access(dst_path, F_OK) == 0)
        return vt_err_set(err, VT_EEXIST, "meta_copy_to: %s exists", dst_path);
    sqlite3 *dst = NULL;
    int src = sqlite3_open_v2(dst_path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (src != SQLITE_OK) {
        vt_rc rc = vt_err_set(err, VT_EIO, "meta_copy_to: open %s: %s", dst_path,
                              dst ? sqlite3_errmsg(dst) : sqlite3_errstr(src));
        sqlite3_close(dst);
        return rc;
    }
    LOCK(m);
    sqlite3_backup *bk = sqlite3_backup_init(dst, "main", m->db, "main");
    if (bk) {
        src = sqlite3_backup_step(bk, -1);
        sqlite3_backup_finish(bk);
    }
    UNLOCK(m);
    vt_rc rc = VT_OK;
    if (!bk || src != SQLITE_DONE)
        rc = vt_err_set(err, VT_EIO, "meta_copy_to %s -> %s: %s", m->path, dst_path,
                        sqlite3_errmsg(dst));
    sqlite3_close(dst);
    if (rc == VT_OK) {
        int fd = open(dst_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || vt_io_fsync(fd) != 0)
            rc = vt_err_set(err, VT_EIO, "meta_copy_to: fsync %s: %s", dst_path, strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    if (rc != VT_OK)
        unlink(dst_path);
    return rc;
}
