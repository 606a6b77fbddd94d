/*
 * ops/repair.h — `volta repair`: rebuilds what corrupt segment blocks held, from the journal, a
 * backup backend or a backup / snapshot, and proves the result (docs/REPAIR.md).
 *
 * THE REPAIR, STEP BY STEP
 *
 * 1. Scan. Every block of every segment of the node's engine is read back (CRC, decoding,
 *    pre-aggregates: engine_scan_blocks). Each bad block is an item: store, file, block, offset,
 *    and — from its index entry, which has its own CRC — series, field, type, [min, max] time
 *    and point count. Nothing bad: done (exit 0).
 * 2. Sources, in order of preference; each is asked for the points of the item's (series,
 *    field) with min <= time <= max:
 *      a. the journal: every record <data>/journal still holds is replayed into a scratch node
 *         (a temp directory under <data>, with the stores' retention-policy catalogs created
 *         first), exactly as node replay applies them (deletes and drops included), and read;
 *      b. backup backends (the config's [backend.<name>], or the one named): an InfluxQL
 *         SELECT of the field over the range, tags matched exactly (GROUP BY *);
 *      c. --from: a backup repository (newest backup, or --from-id), a snapshot directory or a
 *         snapshot id of this data directory, restored (ops/restore.h) into a temp directory
 *         and read like a.
 *    A source rebuilds an item when it holds at least as many points in the range as the block
 *    had (so a journal trimmed past the block's points, or a backend behind, falls through to
 *    the next). A source that fails (down, itself corrupt) is skipped, and said so.
 * 3. Rewrite. Each segment with bad blocks is rewritten once (engine_segment_rewrite): the bad
 *    blocks are left out and the rebuilt points written in their place — so they keep the
 *    block's place in last-write-wins order (a newer overwrite still wins; an older segment's
 *    value does not come back) — every other block copied byte for byte; the copy replaces the
 *    file atomically. A block no source could rebuild stays as it is (queries keep failing on
 *    it, naming it) unless drop_unrecoverable: then it is dropped and its range reported lost.
 * 4. Verify. The checksum scan of volta check (check_checksums) must pass, and for each rebuilt
 *    item the store must now hold exactly as many points of (series, field) in the range as the
 *    source had.
 *
 * The same function runs offline (the command opens the node) and online (the server's live
 * node: POST /api/v1/repair, server/handlers_repair.c): the rewrite takes the engine's
 * maintenance token and swaps the segment under its lock, readers never see a half state.
 */
#ifndef OPS_REPAIR_H
#define OPS_REPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/point.h"
#include "core/node.h"

struct backend;

typedef struct repair_options {
    node *node;           /* the primary (required) */
    const char *data_dir; /* its data directory (scratch directories, the checksum scan) */
    bool online;          /* the directory is live (checksum scan tolerates the journal tail) */
    bool use_journal;     /* source a; default true */
    struct backend *const *backends; /* source b, in this order */
    const char *const *backend_names;
    size_t nbackends;
    const char *from;     /* source c: repository dir, snapshot dir or snapshot id; NULL = none */
    const char *from_id;  /* backup id in that repository; NULL = the newest */
    bool dry_run;         /* steps 1 and 2 only: say what would be done */
    bool drop_unrecoverable; /* step 3: drop blocks no source rebuilds */
} repair_options;

typedef enum repair_status {
    REPAIR_REBUILT = 0,   /* rewritten with the source's points, verified */
    REPAIR_WOULD_REBUILD, /* dry run: a source holds it */
    REPAIR_UNRECOVERABLE, /* no source holds it; the block is left in place */
    REPAIR_DROPPED,       /* no source holds it; dropped (drop_unrecoverable): lost */
    REPAIR_FAILED,        /* rebuilt, but the verification found another count */
} repair_status;

typedef struct repair_item {
    char store[512];
    char file[4096];
    uint64_t segment_id;
    size_t block;
    uint64_t offset;
    char problem[512];
    char series[1024]; /* "measurement,k=v,..." */
    char *measurement; /* owned */
    vt_tag *tags;      /* owned, key and value strings owned (NUL-terminated) */
    size_t ntags;
    char field[256];
    vt_type type;
    int64_t min_time, max_time;
    uint32_t count;
    repair_status status;
    char source[512];  /* where it was (or would be) rebuilt from: "journal", "backend backup"... */
    uint64_t source_points; /* what that source held in the range */
    uint64_t after_points;  /* what the store holds there after the repair */
    char note[1024];   /* what each source said when not rebuilt; the verification mismatch */
} repair_item;

typedef struct repair_report {
    repair_item *items;
    size_t n;
    uint64_t segments, blocks; /* read by the scan */
    unsigned rebuilt, unrecoverable, dropped, failed;
    bool dry_run;
    bool verified;        /* step 4 passed (false in a dry run) */
    char verify[1024];    /* the checksum scan's details */
    char sources[1024];   /* the sources tried, and any that could not be used */
} repair_report;

void repair_options_default(repair_options *o);
/* Runs the repair (steps above). VT_OK whenever a report came back (look at its items; an
 * unusable source is not an error); an error only when the scan or a rewrite could not run. */
vt_rc repair_run(const repair_options *o, repair_report *rep, vt_err *err);
void repair_report_free(repair_report *rep);
/* 0: nothing corrupt, or everything rebuilt and verified (dry run: everything rebuildable);
 * 1: something not rebuilt, dropped, or not verified. */
int repair_exit_code(const repair_report *rep);
void repair_report_text(const repair_report *rep, vt_buf *out);
/* {"dry_run":..,"segments":..,"blocks":..,"items":[{"store","file","segment_id","block",
 *  "offset","problem","series","field","type","min_time","max_time","count","status",
 *  "source","source_points","after_points","note"}],"rebuilt":..,"unrecoverable":..,
 *  "dropped":..,"failed":..,"verified":..,"verify":..,"sources":..,"exit_code":..}
 * (times in ns and RFC3339 as "min","max"). */
void repair_report_json(const repair_report *rep, vt_buf *out);

#endif
