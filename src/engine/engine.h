/*
 * engine/engine.h — the native storage engine (the embedded default backend).
 *
 * Model: databases hold series; a series = measurement + sorted tag set; each field of a series
 * is a column of (time, value) with one type for life (a write with another type is rejected, as
 * InfluxDB does: "field type conflict"). Points are last-write-wins on (series, field, time).
 *
 * Write path: engine_apply inserts into the memtable. The engine keeps no WAL of its own: the
 * journal is its WAL. A flush writes the memtable to an immutable segment file and publishes a
 * new manifest whose checkpoint is the highest journal seq contained in segments; on open the
 * caller replays the journal from checkpoint + 1 (re-applying a record is harmless: LWW).
 *
 * Files (byte layouts at the top of segment.c / manifest code and in docs/FORMAT.md):
 *   <dir>/MANIFEST            current manifest (databases, segment list, checkpoint seq)
 *   <dir>/seg/<db>-<id>.vseg  immutable segment files, CRC32C per block, footer index + CRC
 * Every file is published through durable_publish / durable_commit. A failed write, fsync or
 * rename on these paths makes the engine refuse every later write (VT_EFATAL, sticky).
 *
 * Reads verify block checksums: a corrupt block yields VT_ECORRUPT naming file and block, never
 * wrong data.
 *
 * Threading: any number of readers and writers; writers are serialised inside (callers that need
 * seq order, like the node, already apply in seq order). Reads see every applied point.
 */
#ifndef ENGINE_ENGINE_H
#define ENGINE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/point.h"

typedef struct engine_options {
    size_t memtable_bytes;      /* flush when the memtable passes this; default 32 MiB */
    unsigned compact_trigger;   /* compact a database when it has this many segments; default 8 */
    size_t block_points;        /* max points per block; default 4096 */
    bool background;            /* flush/compact on a background thread (serve) or inline (tools) */
} engine_options;

typedef struct engine_open_info {
    uint64_t checkpoint_seq; /* replay the journal from checkpoint_seq + 1 */
    unsigned segments;
    uint64_t series;
} engine_open_info;

typedef struct engine engine;

vt_rc engine_open(const char *dir, const engine_options *opts, engine **out,
                  engine_open_info *info, vt_err *err);
/* Flushes the memtable (when not failed) and releases everything. */
vt_rc engine_close(engine *e, vt_err *err);

/* Databases. seq is the journal record that asked for it (0 when not journaled). */
vt_rc engine_create_db(engine *e, const char *name, uint64_t seq, vt_err *err);
vt_rc engine_drop_db(engine *e, const char *name, uint64_t seq, vt_err *err);
bool engine_has_db(engine *e, const char *name);
/* Calls cb for each database name, sorted. */
void engine_list_dbs(engine *e, void (*cb)(void *ctx, const char *name), void *ctx);

/* Type check before journaling: for each point, rejected[i] is set to true (and *nrejected
 * counted) when one of its fields has a type other than the one stored for that
 * (measurement, field) — or than an earlier point of the same batch. err gets InfluxDB's message
 * for the first conflict: `field type conflict: input field "f" on measurement "m" is type
 * integer, already exists as type float`. Returns VT_ENOTFOUND when db does not exist. */
vt_rc engine_check_types(engine *e, const char *db, const vt_point *pts, size_t n,
                         bool *rejected, size_t *nrejected, vt_err *err);

/* Applies the points of journal record seq to db. Points whose types conflict are skipped and
 * counted in *skipped (may be NULL). Idempotent (LWW). */
vt_rc engine_apply(engine *e, uint64_t seq, const char *db, const vt_point *pts, size_t n,
                   size_t *skipped, vt_err *err);

/* Series keys computed ahead of engine_apply_keyed, without any engine lock: the writer's own
 * thread builds and hashes the canonical series key of every point (the bulk of the per-point
 * cost of an apply), so that only the index lookup and the memtable append run under the lock. */
typedef struct engine_key {
    size_t off, len; /* the canonical series key of the point at base + off (see below) */
    uint64_t hash;   /* its hash (series index hash) */
} engine_key;

/* Appends the series keys of pts[0..n) to *kb (a vt_buf; the caller resets it) and fills
 * keys[0..n). Returns false on out-of-memory. */
struct vt_buf;
bool engine_build_keys(const vt_point *pts, size_t n, struct vt_buf *kb, engine_key *keys);

/* engine_apply with keys from engine_build_keys over the same points (base = kb->data once the
 * build is complete). Same result as engine_apply. */
vt_rc engine_apply_keyed(engine *e, uint64_t seq, const char *db, const vt_point *pts,
                         const uint8_t *base, const engine_key *keys, size_t n, size_t *skipped,
                         vt_err *err);

/* Writes the memtable to a segment and publishes a manifest with the new checkpoint. */
vt_rc engine_flush(engine *e, vt_err *err);
/* Merges each database's segments into one (LWW on (series, field, time)). */
vt_rc engine_compact(engine *e, vt_err *err);
uint64_t engine_checkpoint_seq(engine *e);
/* Highest seq applied (memtable included). */
uint64_t engine_applied_seq(engine *e);
bool engine_failed(engine *e);

/* ---- reads ---- */

typedef struct engine_field_info {
    const char *name;
    vt_type type;
} engine_field_info;

typedef struct engine_series_info {
    uint64_t id;
    const char *measurement;
    const vt_tag *tags; /* sorted */
    size_t ntags;
    const engine_field_info *fields; /* sorted by name */
    size_t nfields;
} engine_series_info;

/* Calls cb for each series of db (of measurement only, when non-NULL), in series-key order.
 * cb returns false to stop. The info is valid during the call. */
vt_rc engine_foreach_series(engine *e, const char *db, const char *measurement,
                            bool (*cb)(void *ctx, const engine_series_info *s), void *ctx,
                            vt_err *err);

/* A run of points of one column, time-ascending, no duplicate times. Exactly one value array
 * matches the column's type. */
typedef struct engine_points {
    size_t n;
    const int64_t *time;
    vt_type type;
    const double *f;
    const int64_t *i;
    const uint64_t *u;
    const bool *b;
    const vt_str *s;
} engine_points;

/* Streams the points of (series_id, field) with tmin <= time <= tmax, merged from memtable and
 * segments with last-write-wins, in ascending time, in chunks to cb (return false to stop).
 * Corrupt blocks fail with VT_ECORRUPT naming the file and block. */
vt_rc engine_read(engine *e, const char *db, uint64_t series_id, const char *field, int64_t tmin,
                  int64_t tmax, bool (*cb)(void *ctx, const engine_points *pts), void *ctx,
                  vt_err *err);

typedef struct engine_stats {
    uint64_t series;
    uint64_t memtable_points;
    uint64_t memtable_bytes;
    unsigned segments;
    uint64_t segment_bytes;
    uint64_t flushes;
    uint64_t compactions;
    uint64_t corrupt_blocks; /* seen by reads */
} engine_stats;
void engine_get_stats(engine *e, engine_stats *st);

/* ---- offline verification (volta verify) ---- */

/* Checks every segment file under dir (block CRCs, decodes every block, footer, index, order)
 * and the manifest. Reports each problem with file and byte offset; returns the problem count
 * and fills the counts of files and blocks checked. */
typedef void (*engine_verify_report)(void *ctx, const char *file, uint64_t offset,
                                     const char *problem);
unsigned engine_verify(const char *dir, engine_verify_report report, void *ctx, unsigned *files,
                       uint64_t *blocks);

#endif
