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
} node_options;

typedef struct node_open_info {
    uint64_t replayed_records;
    uint64_t replayed_points;
    uint64_t torn_bytes;
    uint64_t checkpoint_seq;
    uint64_t last_seq;
} node_open_info;

typedef struct node node;

/* Fills opts with the defaults (fsync always, 32 MiB memtable, 4096-point blocks, journal trim). */
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
} node_write_result;

/* Writes a body of line protocol to db. Lines that parse and type-check are journaled, applied
 * and acknowledged; the others are reported. Returns:
 *   VT_OK        every line accepted (or nothing to write)
 *   VT_EPARSE    some lines rejected: res->points says how many were accepted ("partial write")
 *   VT_ETYPE     like VT_EPARSE, the first problem being a type conflict
 *   VT_ENOTFOUND database not found (nothing written)
 *   VT_ELIMIT    body too large (nothing written)
 *   VT_EFATAL / VT_EIO  the journal or engine failed: nothing acknowledged
 * rp is accepted for compatibility ("" or "autogen"). default_time is used for lines without a
 * timestamp (the server's now). */
vt_rc node_write(node *n, const char *db, const char *rp, lp_precision precision,
                 int64_t default_time, const char *body, size_t len, node_write_result *res,
                 vt_err *err);

vt_rc node_create_db(node *n, const char *name, vt_err *err);
vt_rc node_drop_db(node *n, const char *name, vt_err *err);
/* Deletes the points (all fields) of series_ids[0..nseries) of db with tmin <= time <= tmax
 * (DROP SERIES: INT64_MIN..INT64_MAX). Journaled with the series' canonical keys (record.h),
 * applied in seq order like writes, durable when it returns (per the fsync policy). Ids that no
 * longer name a series are ignored; a series left without points disappears (engine.h).
 * VT_ENOTFOUND when db does not exist. */
vt_rc node_delete(node *n, const char *db, const uint64_t *series_ids, size_t nseries,
                  int64_t tmin, int64_t tmax, vt_err *err);
/* DROP MEASUREMENT: deletes every series of measurement (journaled by name: series written to
 * it before the record's seq are dropped, on replay too). VT_OK when it has none. */
vt_rc node_drop_measurement(node *n, const char *db, const char *measurement, vt_err *err);
/* Runs one journal trim now (what the maintenance thread does); returns segments deleted. */
unsigned node_trim_journal(node *n, vt_err *err);
engine *node_engine(node *n);
journal *node_journal(node *n);
/* True when the journal or engine hit a sticky failure: writes are refused until restart. */
bool node_failed(node *n);

#endif
