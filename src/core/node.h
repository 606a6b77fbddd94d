/*
 * core/node.h — one volta node: the journal in front of the native engine, and the write path.
 *
 *     body --parse/validate--> accepted lines --journal_write--> seq --engine_apply--> memtable
 *                                                     \--journal_sync_to(seq) (group commit)--> ack
 *
 * Layout of a data directory:
 *     <data>/journal/     journal segments (journal/journal.h)
 *     <data>/engine/      native engine (engine/engine.h)
 *
 * Ordering: the journal assigns seqs in the order records are written; each writer then applies
 * its record to the engine in its seq turn, so the engine sees records in seq order (live and on
 * replay alike: LWW gives the same answer) while one writer's journal write overlaps another's
 * apply. The fsync comes last, shared by concurrent writers. A write is acknowledged only after
 * its record is durable per the fsync policy.
 *
 * Open: the engine loads its segments; the journal records after the engine's checkpoint are
 * replayed into it. Close: flushes the memtable, so the next open replays nothing.
 */
#ifndef CORE_NODE_H
#define CORE_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "core/record.h"
#include "engine/engine.h"
#include "ingest/lineproto.h"
#include "journal/journal.h"

typedef struct node_options {
    journal_options journal;
    engine_options engine;
    lp_limits limits;
    /* Delete journal segments all of whose records are in the engine's segment files (checked
     * twice a second by a maintenance thread). Default true. Later issues add the other holders
     * of the journal (appliers of backup backends, point-in-time restore retention). */
    bool journal_trim;
    /* Enforce retention policies: the maintenance thread drops data older than each policy's
     * duration (whole shard groups, as InfluxDB). Default true. */
    bool retention;
    /* Hold the whole journal from open until node_journal_release_startup_hold: a server
     * registers its appliers' holds after node_open, and the maintenance thread must not trim
     * what they need in between. Default false. */
    bool journal_startup_hold;
    /* The clock of retention (enforcement and the write-time check), ns since the epoch;
     * NULL = CLOCK_REALTIME. A test hook. */
    int64_t (*clock)(void *ctx);
    void *clock_ctx;
} node_options;

typedef struct node_open_info {
    uint64_t replayed_records;
    uint64_t replayed_points;
    uint64_t torn_bytes;
    uint64_t checkpoint_seq;
    uint64_t last_seq;
} node_open_info;

typedef struct node node;

/* Fills opts with the defaults (fsync always, 24 MiB memtable, 4096-point blocks, journal trim). */
void node_options_default(node_options *opts);
vt_rc node_open(const char *datadir, const node_options *opts, node **out, node_open_info *info,
                vt_err *err);
vt_rc node_close(node *n, vt_err *err);

typedef struct node_write_result {
    size_t points;   /* points accepted and durable */
    size_t lines_rejected; /* lines that failed to parse or had a type conflict */
    uint64_t seq;    /* journal record (0 when nothing was accepted) */
    /* first problem, in InfluxDB's wording; the line/column of a parse error */
    char error[512];
    bool type_conflict;
    /* points dropped because they are older than the policy keeps (InfluxDB: "partial write:
     * points beyond retention policy dropped=N"; reported unless there is a type conflict) */
    size_t retention_dropped;
    /* time range (ns) of the points accepted; meaningful only when points > 0 */
    int64_t min_time, max_time;
} node_write_result;

/* Writes a body of line protocol to db. Lines that parse and type-check are journaled, applied
 * and acknowledged; the others are reported. Returns:
 *   VT_OK        every line accepted (or nothing to write)
 *   VT_EPARSE    some lines rejected: res->points says how many were accepted ("partial write")
 *   VT_ETYPE     like VT_EPARSE, the first problem being a type conflict
 *   VT_ENOTFOUND database not found (nothing written)
 *   VT_ELIMIT    body too large (nothing written)
 *   VT_EFATAL / VT_EIO  the journal or engine failed: nothing acknowledged
 *              or retention policy not found ("retention policy not found: x")
 * rp names the retention policy ("" = the database's default). Points older than now minus its
 * duration are dropped as InfluxDB does (unless a point of the same write inside the policy
 * falls in the same shard group): counted in res->retention_dropped, and unless a type conflict
 * is reported the result is VT_EPARSE with err "partial write: points beyond retention policy
 * dropped=N" (which, as in InfluxDB, takes precedence over parse errors). default_time is used
 * for lines without a timestamp (the server's now). */
vt_rc node_write(node *n, const char *db, const char *rp, lp_precision precision,
                 int64_t default_time, const char *body, size_t len, node_write_result *res,
                 vt_err *err);
/* node_write, and once the write is durable, observe(ctx, points, n) with the points it
 * journaled (parsed, type-checked, inside the retention policy; measurement unescaped, time in
 * ns), before it returns and on its thread. A point a concurrent write's type conflict skipped
 * at apply (res->points < n) is among them. What `volta load` counts its expected points per
 * hour from (ingest/loader.c note 6). */
typedef void (*node_write_observer)(void *ctx, const vt_point *points, size_t n);
vt_rc node_write_observed(node *n, const char *db, const char *rp, lp_precision precision,
                          int64_t default_time, const char *body, size_t len,
                          node_write_observer observe, void *observe_ctx,
                          node_write_result *res, vt_err *err);

/* CREATE DATABASE without WITH: a new database gets the default catalog (autogen); an existing
 * one is left alone. VT_EINVAL "invalid name" for names InfluxDB refuses. */
vt_rc node_create_db(node *n, const char *name, vt_err *err);
/* DROP DATABASE: the database and the data of all its retention policies. */
vt_rc node_drop_db(node *n, const char *name, vt_err *err);

/* ---- retention policies (InfluxDB 1.6 semantics and messages) ----
 * Each (database, policy) is its own engine store (engine.h: "<db>" for autogen, else
 * "<db>\x1f<rp>"). Changes are journaled (record.h RECORD_TYPE_DB_META) and published in the
 * engine MANIFEST. */
typedef struct node_rp_spec {
    const char *name; /* NULL: CREATE DATABASE ... WITH without NAME (= "autogen") */
    bool has_duration;
    int64_t duration; /* ns, 0 = INF */
    bool has_replication;
    int replication;
    bool has_shard_duration;
    int64_t shard_duration; /* ns; 0 = by duration (< 2d: 1h, < 180d: 1d, else 7d) */
} node_rp_spec;

/* CREATE DATABASE name WITH ...: creates the database with that policy as its default, or, when
 * the database exists, checks that the policy matches ("retention policy conflicts with an
 * existing policy" if not; a database without any policy gets it). */
vt_rc node_create_db_with(node *n, const char *name, const node_rp_spec *spec, vt_err *err);
/* CREATE RETENTION POLICY: "retention policy already exists" (other settings),
 * "retention policy conflicts with an existing policy" (same settings, DEFAULT asked but it is
 * not the default), "retention policy duration must be at least 1h0m0s", "retention policy
 * duration must be greater than the shard duration", "database not found: x". */
vt_rc node_create_rp(node *n, const char *db, const node_rp_spec *spec, bool make_default,
                     vt_err *err);
/* ALTER RETENTION POLICY (only the has_* fields change): "retention policy not found: x" ... */
vt_rc node_alter_rp(node *n, const char *db, const node_rp_spec *spec, bool make_default,
                    vt_err *err);
/* DROP RETENTION POLICY: deletes its data; a missing policy is not an error. The database's
 * default name is kept (as InfluxDB 1.6 does). */
vt_rc node_drop_rp(node *n, const char *db, const char *name, vt_err *err);
/* A copy of db's catalog (free with record_rpcat_free); VT_ENOTFOUND "database not found: x". */
vt_rc node_rp_catalog(node *n, const char *db, record_rpcat *out, vt_err *err);
/* The engine store of (db, rp); rp NULL or "" = db's default policy. Fails with VT_ENOTFOUND
 * "database not found: db" or "retention policy not found: rp". out has room for
 * ENGINE_STORE_NAME_MAX + 1 bytes. */
vt_rc node_resolve_store(node *n, const char *db, const char *rp, char *out, size_t cap,
                         vt_err *err);
/* Runs one retention pass at time now (ns) — what the maintenance thread does with the node's
 * clock: for each policy with a duration, drops the points of its store older than the start of
 * the oldest shard group that has not expired (a group expires when its end is before now -
 * duration; groups are aligned as Go's time.Truncate aligns them). Returns the number of
 * stores it dropped data from (journaled as RECORD_TYPE_RETENTION). */
unsigned node_enforce_retention(node *n, int64_t now, vt_err *err);
/* Start of the shard group holding t for shard group duration sgd (Go: t.Truncate(sgd), i.e.
 * aligned on Go's zero time: 7-day groups start on Mondays). */
int64_t node_shard_group_start(int64_t t, int64_t sgd);
/* node_delete and node_drop_measurement address one engine store: db is "<db>" (its autogen
 * data) or a store name from node_resolve_store; a statement over every policy of a database
 * calls them once per policy.
 * Deletes the points (all fields) of series_ids[0..nseries) of db with tmin <= time <= tmax
 * (DROP SERIES: INT64_MIN..INT64_MAX). Journaled with the series' canonical keys (record.h),
 * applied in seq order like writes, durable when it returns (per the fsync policy). Ids that no
 * longer name a series are ignored; a series left without points disappears (engine.h).
 * VT_ENOTFOUND when db does not exist. */
vt_rc node_delete(node *n, const char *db, const uint64_t *series_ids, size_t nseries,
                  int64_t tmin, int64_t tmax, vt_err *err);
/* DROP MEASUREMENT: deletes every series of measurement (journaled by name: series written to
 * it before the record's seq are dropped, on replay too). VT_OK when it has none. */
vt_rc node_drop_measurement(node *n, const char *db, const char *measurement, vt_err *err);
/* ---- followers of the journal ----
 * Applies records of another node's journal (a native backup backend fed by its applier): each
 * is written to this node's own journal (so this data directory is a complete volta instance,
 * servable by `volta serve` after a rollback) and applied to the engine exactly as replay does
 * (no retention check: the source already did it). Synced once at the end. recs[i].seq is the
 * source seq (used in messages only). */
vt_rc node_apply_records(node *n, const journal_record *recs, size_t count, vt_err *err);

/* Journal holds: a holder (an applier of a backup backend) needs the records from keep_from
 * on; the journal trim never deletes them (it keeps min(engine checkpoint + 1, every hold)).
 * _add returns the hold's id, or -1 when NODE_MAX_HOLDS are in use. */
#define NODE_MAX_HOLDS 16
int node_journal_hold_add(node *n, const char *name, uint64_t keep_from);
void node_journal_hold_set(node *n, int hold, uint64_t keep_from);
void node_journal_hold_remove(node *n, int hold);
/* Drops the hold node_options.journal_startup_hold took at open (no-op without one). */
void node_journal_release_startup_hold(node *n);

/* Runs one journal trim now (what the maintenance thread does); returns segments deleted. */
unsigned node_trim_journal(node *n, vt_err *err);
engine *node_engine(node *n);
/* The data directory the node was opened on. */
const char *node_datadir(const node *n);
journal *node_journal(node *n);
/* True when the journal or engine hit a sticky failure: writes are refused until restart. */
bool node_failed(node *n);

#endif
