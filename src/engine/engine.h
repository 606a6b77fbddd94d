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
 * Deletes (DELETE, DROP SERIES, DROP MEASUREMENT) are applied in seq order like writes: points
 * in the memtable are removed at once; points in segments are hidden by tombstones kept in the
 * MANIFEST and applied at read time, until a compaction rewrites the data without them. A series
 * left without any point disappears from the index (and a measurement without series, with its
 * field types). See the design note of engine.c and docs/format/segment.md.
 *
 * Threading: any number of readers and writers; writers are serialised inside (callers that need
 * seq order, like the node, already apply in seq order). Reads see every applied point and never
 * a deleted one.
 */
#ifndef ENGINE_ENGINE_H
#define ENGINE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/point.h"
#include "engine/segment.h"

typedef struct engine_options {
    size_t memtable_bytes;      /* flush when the memtable passes this; default 24 MiB */
    /* background only: writers wait in engine_write_admit while the memtable taking writes
     * holds this much (its flush has not started: the flusher is busy with the previous one
     * or a compaction). Default (0): 2 x memtable_bytes; never below memtable_bytes. */
    size_t memtable_max_bytes;
    unsigned compact_trigger;   /* compact a database when it has this many segments; default 8 */
    /* background only: merge a database's segments into one after this long without writes
     * (InfluxDB's compact-full-write-cold-duration). 0 = never (tools, tests); the node sets
     * 60 s by default. */
    unsigned compact_cold_ms;
    /* background only: flush a non-empty memtable after this long without writes (InfluxDB's
     * cache-snapshot-write-cold-duration), so an idle node holds everything in segments and
     * its journal replays nothing. Checked before cold compaction. 0 = never (the default: a
     * cold flush followed by a cold compaction rewrites the whole database each time, which
     * a trickle of hourly writes would make hourly). */
    unsigned flush_cold_ms;
    size_t block_points;        /* max points per block; default 1024 (as InfluxDB: range queries decode less) */
    bool background;            /* flush/compact on a background thread (serve) or inline (tools) */
    /* background only: the flush/compaction thread and the memtable heap's reserve thread run
     * this many nice steps below the thread that opened the engine / first wrote (0 = the
     * same priority, the default; the node sets 10: common/thread.h says why) */
    int background_nice;
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
/* Calls cb for each database name, sorted, sub-stores (below) excepted. */
void engine_list_dbs(engine *e, void (*cb)(void *ctx, const char *name), void *ctx);

/* ---- stores: the data namespaces of retention policies ----
 * Every engine database is a store. A name holding ENGINE_STORE_SEP is a sub-store: the node
 * names the store of retention policy rp of database db "<db>\x1f<rp>", except autogen's,
 * which is the database "<db>" itself (so data directories from before retention policies are
 * that database's autogen data). engine_list_dbs hides sub-stores; engine_list_stores lists
 * every store. The engine gives the names no other meaning. */
#define ENGINE_STORE_SEP '\x1f'
#define ENGINE_STORE_NAME_MAX 511
struct vt_buf;
void engine_list_stores(engine *e, void (*cb)(void *ctx, const char *name), void *ctx);
/* A metadata blob per store, opaque to the engine (the node keeps its retention policy catalog
 * there, core/record.h), published in the MANIFEST (version 3) at once: set it in the journal
 * record's seq turn like create/drop. get appends a copy to *out (empty = never set). */
vt_rc engine_set_db_meta(engine *e, const char *name, uint64_t seq, const void *data, size_t len,
                         vt_err *err);
vt_rc engine_get_db_meta(engine *e, const char *name, struct vt_buf *out, vt_err *err);
/* Deletes every point and series of store name, keeping the store and its metadata (DROP
 * RETENTION POLICY autogen). The store gets a new database id; its old segments are unlinked. */
vt_rc engine_truncate_db(engine *e, const char *name, uint64_t seq, vt_err *err);
/* Retention: deletes the points of store name with time < cutoff (tombstones, as DELETE does;
 * series left empty disappear). Journaled by the caller, idempotent on replay. */
vt_rc engine_drop_before(engine *e, uint64_t seq, const char *name, int64_t cutoff, vt_err *err);

/* A writer's memory of the field types it found (engine_check_types; engine.c note 16). One per
 * writer, not thread-safe; freed with engine_type_cache_free (NULL is fine). */
typedef struct engine_type_cache engine_type_cache;
engine_type_cache *engine_type_cache_new(void);
void engine_type_cache_free(engine_type_cache *tc);

/* Type check before journaling: for each point, rejected[i] is set to true (and *nrejected
 * counted) when one of its fields has a type other than the one stored for that
 * (measurement, field) — or than an earlier point of the same batch. err gets InfluxDB's message
 * for the first conflict: `field type conflict: input field "f" on measurement "m" is type
 * integer, already exists as type float`. Returns VT_ENOTFOUND when db does not exist. With a
 * cache (may be NULL), a batch whose fields all have types the cache learned is checked
 * without the engine lock, and a locked check teaches the cache the types it found. */
vt_rc engine_check_types(engine *e, const char *db, const vt_point *pts, size_t n,
                         bool *rejected, size_t *nrejected, engine_type_cache *tc, vt_err *err);

/* Applies the points of journal record seq to db. Points whose types conflict are skipped and
 * counted in *skipped (may be NULL). Idempotent (LWW). */
vt_rc engine_apply(engine *e, uint64_t seq, const char *db, const vt_point *pts, size_t n,
                   size_t *skipped, vt_err *err);

/* Series keys computed ahead of engine_apply_keyed, without any engine lock: the writer's own
 * thread builds and hashes the canonical series key of every point (the bulk of the per-point
 * cost of an apply), so that only the index lookup and the memtable append run under the lock. */
/* What an earlier engine_apply_keyed found for a series key: lets the next apply of the same
 * key skip the series index lookup (a hash probe and a comparison of the whole key). Opaque to
 * the caller, who keeps it next to the key (the node's series-key cache) and zeroes it when it
 * makes the entry. The engine follows it only when it is still valid: same database object and
 * the same series epoch, which every removal of a series from that database changes and which
 * is drawn from a process-wide counter whenever a database object is made (so a hint from a
 * dropped database or a closed engine never matches). Engine.c note 13. */
typedef struct engine_series_hint {
    const void *db;
    const void *series;
    uint64_t epoch;
} engine_series_hint;

typedef struct engine_key {
    size_t off, len; /* the canonical series key of the point at base + off, unless ptr is set */
    uint64_t hash;   /* its hash (series index hash) */
    engine_series_hint *hint; /* NULL, or the caller's hint of this key (read and updated by
                               * engine_apply_keyed under the engine's write lock) */
    const uint8_t *ptr; /* NULL, or the key's bytes themselves (off is then unused): a key
                         * that lives elsewhere, e.g. in the node's series-key cache */
} engine_key;

/* The bytes of key k given the base its offset is relative to. */
static inline const uint8_t *engine_key_bytes(const uint8_t *base, const engine_key *k)
{
    return k->ptr ? k->ptr : base + k->off;
}

/* Appends the series keys of pts[0..n) to *kb (a vt_buf; the caller resets it) and fills
 * keys[0..n). Returns false on out-of-memory. */
struct vt_buf;
bool engine_build_keys(const vt_point *pts, size_t n, struct vt_buf *kb, engine_key *keys);

/* engine_apply with keys from engine_build_keys over the same points (base = kb->data once the
 * build is complete), or made the same way elsewhere (a key's bytes at engine_key_bytes(base,
 * &keys[i])). Same result as engine_apply. */
vt_rc engine_apply_keyed(engine *e, uint64_t seq, const char *db, const vt_point *pts,
                         const uint8_t *base, const engine_key *keys, size_t n, size_t *skipped,
                         vt_err *err);

/* Write back-pressure (engine.c note 14): returns at once while the memtable taking writes is
 * below memtable_max_bytes; past it, asks for a flush and waits until one has swapped the
 * memtable (or the engine failed or is closing). Call it holding no lock of the caller's that
 * an apply or a flush could need: the node calls it before journaling a write. Inline engines
 * (background off) flush in the apply itself and never wait. */
void engine_write_admit(engine *e);

/* Writes the memtable to a segment and publishes a manifest with the new checkpoint. */
vt_rc engine_flush(engine *e, vt_err *err);
/* Hard-links the engine's current MANIFEST to dst/MANIFEST and every segment file it lists to
 * dst/seg/ (dst exists; seg/ is created). Consistent: no flush or compaction publishes while it
 * runs. *checkpoint = the MANIFEST's checkpoint (replaying the journal from checkpoint + 1 over
 * the linked files rebuilds the state). Constant time in the data size. */
vt_rc engine_snapshot(engine *e, const char *dst, uint64_t *checkpoint, uint64_t *files,
                      uint64_t *bytes, vt_err *err);
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

/* ---- deletes ----
 * All three are journaled by the caller (seq; 0 when not journaled) and idempotent on replay.
 * A series whose last point goes disappears: SHOW SERIES / MEASUREMENTS / TAG VALUES no longer
 * list it, its id is never returned again (engine_read on it: VT_ENOTFOUND), and a later write
 * of the same series key re-creates it with a new id and only the new points. A measurement
 * losing its last series forgets its field types. tmin > tmax deletes nothing. */

/* Deletes the points (every field) of the series ids[0..n) with tmin <= time <= tmax. Ids that
 * name no series are ignored. DROP SERIES = INT64_MIN..INT64_MAX. */
vt_rc engine_delete(engine *e, uint64_t seq, const char *db, const uint64_t *ids, size_t n,
                    int64_t tmin, int64_t tmax, vt_err *err);
/* The same, the series named by canonical series keys (engine_key_bytes(base, &keys[i]),
 * keys[i].len, hash = sidx_hash of the key), as in the journal: ids are per engine, keys are
 * not. Unknown keys are ignored. */
vt_rc engine_delete_keyed(engine *e, uint64_t seq, const char *db, const uint8_t *base,
                          const engine_key *keys, size_t n, int64_t tmin, int64_t tmax,
                          vt_err *err);
/* Deletes every series of measurement over all time (no-op when it has none). */
vt_rc engine_drop_measurement(engine *e, uint64_t seq, const char *db, const char *measurement,
                              vt_err *err);
/* Appends to *kb the canonical keys of the live series among ids[0..n) and fills
 * keys[0..*nfound) (offsets into kb->data, hashes). keys must have room for n entries. */
vt_rc engine_series_keys(engine *e, const char *db, const uint64_t *ids, size_t n,
                         struct vt_buf *kb, engine_key *keys, size_t *nfound, vt_err *err);

/* ---- metadata reads for the query executor ----
 * Lifetime: what these return is either a copy the caller owns (id arrays, the store of
 * engine_series_lookup) or valid only during the callback. Nothing is handed out that a
 * concurrent DROP SERIES could free: every call copies under the engine's read lock. An id
 * obtained here may be deleted before the caller reads it: engine_read / engine_read_agg then
 * return VT_ENOTFOUND, which an executor treats as "no points". */

/* Calls cb with each measurement of db that has at least one series, sorted by name (bytewise);
 * cb returns false to stop. */
vt_rc engine_foreach_measurement(engine *e, const char *db,
                                 bool (*cb)(void *ctx, const char *name), void *ctx, vt_err *err);
/* Ids (ascending) of the series of measurement that carry tag key=value (from the tag postings;
 * measurement NULL = of every measurement). *ids is malloc'ed (NULL when *n = 0): free() it. */
vt_rc engine_series_by_tag(engine *e, const char *db, const char *measurement, const char *key,
                           const char *value, uint64_t **ids, size_t *n, vt_err *err);
/* Ids (ascending) of every series of measurement; same ownership. */
vt_rc engine_series_of_measurement(engine *e, const char *db, const char *measurement,
                                   uint64_t **ids, size_t *n, vt_err *err);
/* Fills *out for series id (as engine_foreach_series would): every pointer of out points into
 * bytes appended to *store, valid until the caller next changes or frees store. VT_ENOTFOUND
 * when db or the series does not exist (e.g. deleted). */
vt_rc engine_series_lookup(engine *e, const char *db, uint64_t id, struct vt_buf *store,
                           engine_series_info *out, vt_err *err);
/* Type of (measurement, field) in db, VT_TYPE_NONE when unknown. */
vt_type engine_field_type(engine *e, const char *db, const char *measurement, const char *field);
/* Calls cb with each field key of measurement (the union of its series' fields since it last had
 * no series) and its type, sorted by name; the info is valid during the call. */
vt_rc engine_foreach_field(engine *e, const char *db, const char *measurement,
                           bool (*cb)(void *ctx, const engine_field_info *f), void *ctx,
                           vt_err *err);

/* ---- pre-aggregated reads ---- */

/* A whole segment block, described by its index entry (see seg_preagg for agg). */
typedef struct engine_block_agg {
    int64_t min_time, max_time; /* of its first and last points */
    uint32_t count;
    vt_type type;
    seg_preagg agg;
    bool partial; /* the block reaches outside [tmin, tmax]: count and agg cover points the
                   * read does not, so they may only prove that the block cannot matter */
} engine_block_agg;

/* Like engine_read, but each segment block lying entirely inside [tmin, tmax] whose time span
 * holds no point of the same column from any other source (memtable, other segments — judged by
 * their block spans — or a tombstone) is first offered to block_cb without being decoded:
 * block_cb returns 1 = consumed, 0 = deliver its points (those inside [tmin, tmax]) to
 * points_cb instead, -1 = stop.
 * Blocks and point runs are delivered in ascending time order, never overlapping; points_cb
 * returning false stops. block_cb may be NULL (then this is engine_read). */
vt_rc engine_read_agg(engine *e, const char *db, uint64_t series_id, const char *field,
                      int64_t tmin, int64_t tmax,
                      int (*block_cb)(void *ctx, const engine_block_agg *b),
                      bool (*points_cb)(void *ctx, const engine_points *pts), void *ctx,
                      vt_err *err);
/* The same with flags: ENGINE_AGG_PARTIAL also offers the blocks that tmin or tmax cuts (with
 * partial set; block_cb must then only consume a block whose points cannot matter). */
#define ENGINE_AGG_PARTIAL 1u
vt_rc engine_read_agg_ex(engine *e, const char *db, uint64_t series_id, const char *field,
                         int64_t tmin, int64_t tmax, unsigned flags,
                         int (*block_cb)(void *ctx, const engine_block_agg *b),
                         bool (*points_cb)(void *ctx, const engine_points *pts), void *ctx,
                         vt_err *err);

typedef struct engine_stats {
    uint64_t series;
    uint64_t memtable_points;
    uint64_t memtable_bytes;
    uint64_t memtable_heap_bytes; /* mapped by the column heap (colheap.h), free slabs included */
    uint64_t memtable_heap_reserve_bytes; /* touched slabs in the heap's reserve (not above) */
    unsigned segments;
    unsigned provisional_segments; /* written by flushes, not yet compacted (engine.c note 12) */
    uint64_t segment_bytes;
    uint64_t flushes;
    uint64_t compactions;
    uint64_t corrupt_blocks; /* seen by reads */
    uint64_t write_stalls;   /* writes that waited in engine_write_admit */
    uint64_t compaction_flushes; /* flushes a background compaction ran between two series */
    uint64_t locked_type_checks; /* engine_check_types that took the lock (note 16) */
} engine_stats;
void engine_get_stats(engine *e, engine_stats *st);

/* ---- repair (ops/repair.h; design note 10 of engine.c) ---- */

/* A segment block that does not read back (checksum, decoding or pre-aggregates), as its index
 * entry (CRC-protected apart from the block) describes it. Valid during the callback only. */
typedef struct engine_bad_block {
    const char *db;   /* the store */
    const char *file; /* the segment file */
    uint64_t segment_id;
    size_t block;     /* index of the block in its segment */
    uint64_t offset;  /* of the block in the file */
    uint64_t series_id;
    vt_str measurement;
    const vt_tag *tags; /* sorted */
    size_t ntags;
    vt_str field;
    vt_type type;
    int64_t min_time, max_time; /* of the block's first and last points */
    uint32_t count;             /* points it holds */
    const char *problem;        /* "segment <file>: block <n> at offset <o>: <what>" */
} engine_bad_block;

/* Reads every block of every segment of every store (as volta check's checksum scan does, but
 * through the open engine, so each bad block comes with its series and field) and calls cb for
 * each one that fails. Runs under the shared lock: cb must not call the engine. *segments and
 * *blocks (may be NULL) count what was read. */
vt_rc engine_scan_blocks(engine *e, void (*cb)(void *ctx, const engine_bad_block *b), void *ctx,
                         uint64_t *segments, uint64_t *blocks, vt_err *err);

/* Points that take the place of a dropped block in the rewritten segment (so they keep the
 * block's place in last-write-wins order): of the block's type, time-ascending without
 * duplicates, every time inside [min_time, max_time] of the block; strings fixed. */
typedef struct engine_patch {
    size_t block;          /* one of the blocks dropped */
    const seg_col *points; /* borrowed; n may be 0 */
} engine_patch;

/* What a rewrite took out of a segment: one entry per dropped block, in block order. */
typedef struct engine_lost {
    size_t block;
    uint64_t offset;
    uint64_t series_id;
    char *series; /* "measurement,k=v,..." (owned) */
    char *field;  /* owned */
    vt_type type;
    int64_t min_time, max_time;
    uint32_t count;        /* points the block held (tombstones may have hidden some) */
    size_t patched_points; /* points written in its place (engine_patch); 0 = lost */
    bool patched;
} engine_lost;

/* Rewrites segment segment_id of store db without blocks drop[0..ndrop) (indices as in
 * engine_bad_block.block), writing the patches in their place; every other block is copied
 * byte for byte. The new file keeps the segment's id and name and replaces the old one
 * atomically (design note 10): the MANIFEST, tombstones and every other segment are unchanged.
 * A series left without any block is left out of the file. *lost (malloc'ed, free with
 * engine_lost_free) lists exactly what was dropped and what was written instead.
 * Errors: VT_ENOTFOUND (no such store or segment), VT_EINVAL (a bad block index or patch),
 * VT_EFATAL (engine failed earlier), VT_EIO (write, fsync or rename failed: sticky, the old file
 * is still in place). */
vt_rc engine_segment_rewrite(engine *e, const char *db, uint64_t segment_id, const size_t *drop,
                             size_t ndrop, const engine_patch *patches, size_t npatches,
                             engine_lost **lost, size_t *nlost, vt_err *err);
void engine_lost_free(engine_lost *lost, size_t n);

/* ---- offline verification (volta verify) ---- */

/* Checks every segment file under dir (block CRCs, decodes every block, footer, index, order)
 * and the manifest. Reports each problem with file and byte offset; returns the problem count
 * and fills the counts of files and blocks checked. */
typedef void (*engine_verify_report)(void *ctx, const char *file, uint64_t offset,
                                     const char *problem);
unsigned engine_verify(const char *dir, engine_verify_report report, void *ctx, unsigned *files,
                       uint64_t *blocks);
/* The same checks without decoding the blocks: the manifest, every file's header, footer and
 * index (their CRCs), and every block's CRC32C and column framing. About an order of magnitude
 * less CPU; what `volta restore` runs after checking every copied file's hash against the backup
 * manifest (`--full-verify` runs engine_verify). */
unsigned engine_verify_checksums(const char *dir, engine_verify_report report, void *ctx,
                                 unsigned *files, uint64_t *blocks);
/* engine_verify_checksums' block checks on the segment files an open engine has loaded (their
 * manifest, headers, footers and indexes were checked when they were opened): every block's
 * CRC32C and framing, without opening any file again. Problems are reported with the file and
 * the block's offset. */
unsigned engine_verify_loaded_checksums(engine *e, engine_verify_report report, void *ctx,
                                        unsigned *files, uint64_t *blocks);

#endif
