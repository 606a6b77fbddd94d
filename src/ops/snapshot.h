/*
 * ops/snapshot.h — `volta snapshot create|list|delete`: online, consistent snapshots of a node in
 * constant time.
 *
 * A snapshot is a directory <data>/snapshots/<id>/ (same file system: hard links):
 *
 *     SNAPSHOT               what it is (JSON, below), published last: a directory without it is
 *                            an interrupted snapshot and is ignored / removed by delete
 *     engine/MANIFEST        hard link of the engine's MANIFEST at checkpoint C
 *     engine/seg/<name>.vseg  hard links of the immutable segment files that MANIFEST lists
 *     journal/<seq>.vjl       hard links of the journal segments up to record S (the active
 *                            segment is closed first, so every linked file is immutable)
 *
 *     SNAPSHOT = {"version":1,"id":"20261128_050000","created_at":<ns>,"checkpoint":C,"seq":S,
 *                 "time_last":<journal time of S, ns>,"engine_files":N,"journal_files":M,
 *                 "bytes":B}
 *
 * Consistency: the engine files hold every record <= C; the journal files hold (C, S] (and
 * possibly older records, skipped by replay); opening a copy of the directory replays C+1..S, so
 * the snapshot is exactly the node's state after record S — a prefix of its history, whatever was
 * being written meanwhile. While the links are made, a journal hold keeps the trim from deleting
 * what the snapshot needs, and the engine's shared lock keeps flushes and compactions from
 * publishing. No byte of data is copied: the time is a few link(2) calls per file.
 *
 * Space: hard links keep files alive after compaction or journal trim deletes them from the live
 * directories; delete old snapshots (or back them up and delete them) to free the space.
 * A snapshot is read-only: never open it in place (`volta restore` copies it to a new directory).
 */
#ifndef OPS_SNAPSHOT_H
#define OPS_SNAPSHOT_H

#include "common/error.h"
#include "core/node.h"
#include "meta/meta.h"

/* Takes a snapshot of n, records it in m's catalog (kind "snapshot") and fills *out. */
vt_rc snapshot_create(node *n, meta *m, meta_catalog *out, vt_err *err);
/* A snapshot another operation owns for its duration (a backup takes one and deletes it when
 * done): catalogued with parent "temporary:<owner>", so one a crash left behind is recognised
 * and removed by snapshot_remove_temporary (volta serve calls it at start). */
vt_rc snapshot_create_owned(node *n, meta *m, const char *owner, meta_catalog *out, vt_err *err);
/* Deletes every temporary snapshot of the catalog; returns how many (err: the first failure). */
unsigned snapshot_remove_temporary(meta *m, vt_err *err);

/* The snapshots of the catalog, newest first (free(*out)). */
vt_rc snapshot_list(meta *m, meta_catalog **out, size_t *n, vt_err *err);
/* Removes snapshot id: its directory, then its catalog row. VT_ENOTFOUND when unknown. */
vt_rc snapshot_delete(meta *m, const char *id, vt_err *err);

/* Journal hold for the newest snapshot (volta serve): the live journal keeps every record after
 * the newest snapshot's seq, so the snapshot rolled forward through it reaches the present
 * (`volta recover`). Registered per node (with the meta holding its catalog); snapshot_create
 * moves the hold to the new snapshot, snapshot_delete of the newest moves it back to the next
 * newest, or releases it when none is left. Returns 0, or -1 with err set. */
int snapshot_hold_start(node *n, meta *m, vt_err *err);
void snapshot_hold_stop(node *n);

/* A backup/restore id for time now_ns: "YYYYMMDD_HHMMSS" (UTC). */
void snapshot_make_id(int64_t now_ns, char *out, size_t cap);

#endif
