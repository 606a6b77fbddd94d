/*
 * ops/backup.h — `volta backup`: full and incremental backups of a node into a backup
 * repository (format: ops/backup_repo.h, docs/FORMAT.md), their verification and expiry.
 *
 * A BACKUP, STEP BY STEP
 *
 * 1. A snapshot (ops/snapshot.h) fixes a consistent state: engine files at checkpoint C and the
 *    closed journal segments up to record S, as hard links (constant time, no copy).
 * 2. Every file of the snapshot is hashed (XXH3-128). The journal files kept are those holding
 *    records after min(previous backup's seq, C) — "previous" = the newest backup of the same
 *    data directory in this repository — so the backup restores alone (C+1..S) and continues the
 *    previous backup's journal (point-in-time restore across backups).
 * 3. Objects the repository lacks (every object with `full`) are copied by a few threads:
 *    read -> hashed again while written to objects/<h[0:2]>/<h>.tmp -> fsync -> rename -> fsync
 *    of the directory. A file whose second hash differs from the first fails the backup.
 * 4. The manifest is published (temp + fsync + rename): the backup exists from then on, and
 *    only then. Then the catalog row (meta.h, kind "full"/"incremental", location = repo).
 * 5. The snapshot is deleted (it was only a temporary), whatever happened.
 *
 * Ids are YYYYMMDD_HHMMSS (UTC), _2, _3 ... for a second backup within one second; the id is
 * reserved by creating backups/<id>/ (a directory without MANIFEST.json is no backup).
 *
 * THE JOURNAL CHAIN. A primary must keep its journal until a backup has archived it, or the
 * next backup cannot continue the previous one. backup_hold_start registers, for a node, a
 * journal hold "backup" at (newest backup's seq in the catalog) + 1, and every backup_create on
 * that node moves it to its own seq + 1. A node without backup_hold_start gets no hold (an
 * offline `volta backup --data`): a backup always restores alone, but point-in-time restore
 * between two backups needs the chain.
 *
 * Concurrency: backups of one process are serialised. Processes share the repository through
 * flock(2) on <repo>/REPO: backup and verify take it shared, expire exclusive (it deletes
 * objects), so expire never removes an object a running backup has just found present.
 */
#ifndef OPS_BACKUP_H
#define OPS_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "core/node.h"
#include "meta/meta.h"
#include "ops/backup_repo.h"

/* Progress, called by the coordinating thread about 5 times a second during a phase and once
 * at its end (done = true). phase: "hash", "copy" (backup_create) or "verify". */
typedef struct backup_progress {
    const char *phase;
    uint64_t files_done, files_total;
    uint64_t bytes_done, bytes_total;
    double seconds; /* since the phase started */
    bool done;
} backup_progress;
typedef void (*backup_progress_fn)(void *ctx, const backup_progress *p);

/* Takes a backup of n into repo (created when absent): full = copy every object again (kind
 * "full"; the first backup of a data directory into a repository is "full" too). Fills *out
 * with its catalog row (files/bytes = every file it references, new_files/new_bytes = what it
 * copied). progress may be NULL. Returns VT_EBUSY when the node's journal failed. */
vt_rc backup_create(node *n, meta *m, const char *repo, bool full, backup_progress_fn progress,
                    void *progress_ctx, meta_catalog *out, vt_err *err);

/* The journal chain (see above). Registers n (a running server: call after node_open) and
 * returns the hold id, or -1 when no backup is in m's catalog yet (the first backup_create on n
 * takes the hold then) or no hold slot is free (err says so: VT_ELIMIT). */
int backup_hold_start(node *n, meta *m, vt_err *err);
/* Forgets n (call before node_close). The node's journal hold stays until node_close, so the
 * closing trim keeps the chain. No-op for an unregistered node. */
void backup_hold_stop(node *n);

/* Every manifest of repo, oldest first (*out malloc'ed: backup_manifests_free). A manifest that
 * does not parse fails the call (VT_ECORRUPT naming it). */
vt_rc backup_list(const char *repo, backup_manifest **out, size_t *n, vt_err *err);
void backup_manifests_free(backup_manifest *list, size_t n);

/* One problem found by verify: the object (its path in the repository), what is wrong, and
 * every backup id / restored path that references it. */
typedef void (*backup_verify_report)(void *ctx, const char *object, const char *id,
                                     const char *path, const char *problem);

typedef struct backup_verify_result {
    uint64_t backups;  /* manifests checked */
    uint64_t objects;  /* distinct objects re-read */
    uint64_t bytes;    /* bytes re-read */
    uint64_t problems; /* (object, backup, path) triples reported */
    double seconds;
} backup_verify_result;

/* Re-reads every object the backup id (NULL = every backup) references and checks its size and
 * hash against the manifest. report (may be NULL) is called once per problem and referencing
 * file. VT_OK when clean; VT_ECORRUPT when a problem was found, err naming the first (object,
 * backup id, path). */
vt_rc backup_verify(const char *repo, const char *id, backup_progress_fn progress,
                    void *progress_ctx, backup_verify_report report, void *report_ctx,
                    backup_verify_result *res, vt_err *err);

typedef struct backup_expire_result {
    char **expired;      /* ids of the backups deleted (or that would be: dry_run), oldest first */
    size_t nexpired;
    uint64_t objects_deleted, bytes_freed; /* dry_run: what would be */
    size_t kept;
} backup_expire_result;
void backup_expire_result_free(backup_expire_result *r);

/* Retention: keeps the newest keep_full "full" backups and every backup taken after the oldest
 * of them, plus (keep_days > 0) every backup newer than now - keep_days; the newest backup is
 * always kept. keep_full = 0 means "by age only" (then keep_days must be > 0). Fewer fulls than
 * keep_full: nothing expires by count. Deletes the expired manifests (MANIFEST.json first,
 * then the directory), their catalog rows in m (may be NULL; only rows whose location is this
 * repository), then every object no remaining manifest references. dry_run: computes the same
 * without deleting. now_ns: the clock (0 = now). */
vt_rc backup_expire(const char *repo, meta *m, unsigned keep_full, unsigned keep_days,
                    int64_t now_ns, bool dry_run, backup_expire_result *res, vt_err *err);

#endif
