/*
 * meta/meta.h — the control plane: `<data>/meta.db`, an SQLite database in WAL mode.
 *
 * It holds what the operators and the ingest pipeline must remember across restarts and
 * crashes, transactionally: the ingest ledger (one row per landing-zone file), the appliers'
 * cursors (last journal seq each backend has durably applied), per-backend state (needs resync),
 * and an audit log. Later issues add flags, API keys, the rollback journal and the snapshot and
 * backup catalog as new schema versions.
 *
 * Schema versions (PRAGMA user_version) are applied in order by meta_open inside one
 * transaction each; a database newer than this binary is refused (VT_EUNSUPPORTED). The schema
 * text is at the top of meta.c and in docs/CONTROL-PLANE.md.
 *
 * Concurrency: one meta handle may be used from several threads (its calls are serialised by a
 * mutex); several processes may open the same meta.db (SQLite's locking + busy timeout of 5 s),
 * e.g. `volta status` while the server runs. Every write is its own transaction unless stated.
 * Durability: synchronous=FULL — a call that returned VT_OK survives kill -9 and power loss.
 *
 * Ledger file states (column `state`):
 *     loading  the load started (row written before the first journal record); a crash leaves
 *              it so, and the next scan loads the file again (idempotent: LWW on series+time).
 *     loaded   every row of the file is journaled; seq_first..seq_last is the range it produced.
 *     failed   the whole file was refused (unreadable, bad header); `error` says why. Retried
 *              when the file changes (another size or hash).
 *     stale    another file's reload deleted a time range this file wrote into: load it again.
 */
#ifndef META_META_H
#define META_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef struct meta meta;

#define META_PATH_MAX 4096
#define META_NAME_MAX 128
#define META_HASH_HEX 64 /* SHA-256 / BLAKE-style 32-byte digest as lowercase hex */

/* Opens (creating and migrating) path. */
vt_rc meta_open(const char *path, meta **out, vt_err *err);
void meta_close(meta *m);
/* The schema version in use (the highest migration applied). */
int meta_schema_version(meta *m);

/* ---- ledger ---- */

typedef enum meta_file_state {
    META_FILE_LOADING = 0,
    META_FILE_LOADED,
    META_FILE_FAILED,
    META_FILE_STALE,
} meta_file_state;

const char *meta_file_state_name(meta_file_state s);

typedef struct meta_file {
    int64_t id;                  /* row id (0 before insert) */
    char path[META_PATH_MAX];    /* path relative to the landing zone (or absolute for volta load) */
    char dataset[32];            /* generation | load | interchange | balance | lp */
    char database[META_NAME_MAX];
    uint64_t size;
    int64_t mtime_ns;
    char hash[META_HASH_HEX + 1]; /* content hash, lowercase hex */
    meta_file_state state;
    uint64_t rows_read, rows_loaded, rows_rejected, rows_empty, empty_values, points;
    int64_t min_time, max_time;  /* ns UTC of the points written; 0/0 when none */
    uint64_t seq_first, seq_last; /* journal records it produced (0/0 when none) */
    /* a reload of a changed file first deletes what the previous version wrote:
     * measurement(s) `del_measurements` (comma-separated; "*" = every measurement of the
     * database) over [del_min, del_max] (0/0 = none) */
    char del_measurements[4096];
    int64_t del_min, del_max;
    int64_t started_at, finished_at; /* ns wall clock */
    uint32_t loads;              /* how many times the file was (re)loaded */
    char error[512];             /* why the file failed, or the first rejected row */
} meta_file;

/* The row of path, VT_ENOTFOUND when the file was never seen. */
vt_rc meta_file_get(meta *m, const char *path, meta_file *out, vt_err *err);
/* The row with id, VT_ENOTFOUND when none. */
vt_rc meta_file_get_id(meta *m, int64_t id, meta_file *out, vt_err *err);
/* Inserts f (id 0: a new row, f->id is set) or replaces the row with f->id. */
vt_rc meta_file_put(meta *m, meta_file *f, vt_err *err);
/* Every row (ordered by path); *out malloc'ed (free()), *n rows. state_filter < 0 = all states. */
vt_rc meta_file_list(meta *m, int state_filter, meta_file **out, size_t *n, vt_err *err);
/* Marks every loaded file of database db whose [min_time, max_time] intersects [tmin, tmax] and
 * whose dataset writes measurement (see meta_file.dataset: the caller passes the datasets that
 * write it), other than except_id, as stale. Returns how many through *marked. */
vt_rc meta_file_mark_stale(meta *m, const char *database, const char *dataset, int64_t tmin,
                           int64_t tmax, int64_t except_id, unsigned *marked, vt_err *err);

/* When each backend applied a file: one row per (file, backend). */
vt_rc meta_file_applied(meta *m, int64_t file_id, const char *backend, int64_t at_ns,
                        vt_err *err);
/* Records, for every loaded file with seq_first > 0 and seq_last <= upto not yet marked for
 * backend, that backend applied it at at_ns. Returns how many through *marked (may be NULL). */
vt_rc meta_files_applied_upto(meta *m, const char *backend, uint64_t upto, int64_t at_ns,
                              unsigned *marked, vt_err *err);
/* When backend applied file_id; *at_ns = 0 when it has not. */
vt_rc meta_file_applied_at(meta *m, int64_t file_id, const char *backend, int64_t *at_ns,
                           vt_err *err);
/* Loaded files (seq_first > 0) backend has not applied, ordered by seq_first: the resync list. */
vt_rc meta_files_not_applied(meta *m, const char *backend, meta_file **out, size_t *n,
                             vt_err *err);

/* Marks every loaded file that produced journal records after seq as stale (they are loaded
 * again by the next landing-zone scan): recovery uses it when the recovered journal ends at seq.
 * *marked (may be NULL) = how many. */
vt_rc meta_files_stale_after_seq(meta *m, uint64_t seq, unsigned *marked, vt_err *err);

/* ---- expected points per hour (schema version 4; meta_hours.c) ----
 * The loader counts the points it wrote per (measurement, UTC hour) and stores that histogram
 * with the file's ledger row (table file_hours); `volta check` (consistencia_dados) sums the
 * histograms of the `loaded` files. hour = floor(time / 1 h), hours since the epoch, UTC. A file
 * with no rows has no histogram: loaded before version 4, or the loader could not tell which
 * lines were refused (its expectation is then estimated from files.points). */
typedef struct meta_hour_count {
    const char *measurement; /* caller-owned, NUL-terminated */
    int64_t hour;
    uint64_t points;         /* > 0; at most INT64_MAX */
} meta_hour_count;

/* Replaces file_id's histogram by rows[0..n) (n = 0: the file has none), in one transaction.
 * VT_EEXIST when rows hold the same (measurement, hour) twice, VT_ENOTFOUND for an unknown
 * file_id; nothing is changed then. */
vt_rc meta_hours_put(meta *m, int64_t file_id, const meta_hour_count *rows, size_t n,
                     vt_err *err);
/* Called per row; the strings are valid during the call only. Return false to stop. Runs with
 * the handle's lock held: it must not call back into m. */
typedef bool (*meta_hours_fn)(void *ctx, const char *measurement, int64_t hour, uint64_t points);
/* file_id's histogram, ordered by measurement, hour. */
vt_rc meta_hours_of_file(meta *m, int64_t file_id, meta_hours_fn fn, void *ctx, vt_err *err);
/* The sum over the `loaded` files of database of points per (measurement, hour) for hours in
 * [h0, h1], ordered by measurement, hour. */
vt_rc meta_hours_sum(meta *m, const char *database, int64_t h0, int64_t h1, meta_hours_fn fn,
                     void *ctx, vt_err *err);
/* Ids of the `loaded` files of database that have a histogram, ascending; *ids malloc'ed
 * (free(); NULL when *n = 0). */
vt_rc meta_hours_files(meta *m, const char *database, int64_t **ids, size_t *n, vt_err *err);

/* ---- backends: cursors and state ---- */

typedef struct meta_backend {
    char name[META_NAME_MAX];
    uint64_t cursor;          /* last journal seq durably applied (0 = none) */
    int64_t cursor_time;      /* journal time (ns) of that record; 0 when none */
    int64_t updated_at;       /* ns wall clock of the last cursor move */
    bool needs_resync;        /* the journal no longer holds records past its cursor */
    char resync_reason[256];
    uint64_t applied_records; /* totals since the row was created */
    uint64_t failures;
    char last_error[512];
    int64_t last_error_at;
} meta_backend;

/* The row of backend name; a backend never seen gets a fresh row (cursor 0) — created on the
 * first call, so a new backend starts from the beginning of the journal unless the caller sets
 * its cursor first. */
vt_rc meta_backend_get(meta *m, const char *name, meta_backend *out, vt_err *err);
/* Moves the cursor (and cursor_time, applied_records += records). Never moves it backwards
 * unless force (resync from scratch). */
vt_rc meta_backend_set_cursor(meta *m, const char *name, uint64_t cursor, int64_t cursor_time,
                              uint64_t records, bool force, vt_err *err);
vt_rc meta_backend_set_resync(meta *m, const char *name, bool needs_resync, const char *reason,
                              vt_err *err);
/* failures++, last_error = msg, last_error_at = now. */
vt_rc meta_backend_failure(meta *m, const char *name, const char *msg, vt_err *err);
vt_rc meta_backend_list(meta *m, meta_backend **out, size_t *n, vt_err *err);

/* ---- catalog of snapshots and backups (schema version 2) ----
 * kind: "snapshot" (location = its directory), "full" or "incremental" (a backup; location = its
 * repository). In get/list/delete, kind "backup" matches both backup kinds and NULL any kind. */
typedef struct meta_catalog {
    char id[META_NAME_MAX];       /* YYYYMMDD_HHMMSS (a suffix _2, _3 ... within one second) */
    char kind[16];
    char location[META_PATH_MAX];
    char parent[META_NAME_MAX];   /* incremental: the backup it builds on */
    int64_t created_at;           /* ns wall clock */
    uint64_t checkpoint;          /* engine checkpoint of the files it holds */
    uint64_t seq;                 /* last journal record it holds */
    uint64_t seq_first;           /* first journal record it holds (archived journal) */
    int64_t time_last;            /* journal time (ns) of record seq: point-in-time bound */
    uint64_t files, bytes;        /* everything it references */
    uint64_t new_files, new_bytes; /* backups: what this one copied (incremental) */
    char state[16];               /* "complete" | "failed" | "partial" */
} meta_catalog;

vt_rc meta_catalog_put(meta *m, const meta_catalog *c, vt_err *err);
/* VT_ENOTFOUND "<kind> not found: <id>". */
vt_rc meta_catalog_get(meta *m, const char *kind, const char *id, meta_catalog *out, vt_err *err);
/* Newest first; *out malloc'ed (free()). */
vt_rc meta_catalog_list(meta *m, const char *kind, meta_catalog **out, size_t *n, vt_err *err);
vt_rc meta_catalog_delete(meta *m, const char *kind, const char *id, vt_err *err);

/* A consistent copy of the whole database into dst_path (SQLite's online backup; dst_path must
 * not exist), fsynced. */
vt_rc meta_copy_to(meta *m, const char *dst_path, vt_err *err);

/* ---- audit log ---- */

/* Appends (time, who, action, detail). who: "cli:<user>", "api:<key id>", "system". */
vt_rc meta_audit(meta *m, const char *who, const char *action, const char *detail, vt_err *err);

typedef struct meta_audit_entry {
    int64_t id;
    int64_t at_ns;
    char who[META_NAME_MAX];
    char action[META_NAME_MAX];
    char detail[1024];
} meta_audit_entry;
/* The last `limit` entries, newest first. */
vt_rc meta_audit_list(meta *m, size_t limit, meta_audit_entry **out, size_t *n, vt_err *err);

#endif
