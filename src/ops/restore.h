/*
 * ops/restore.h — `volta restore`: turns a snapshot (ops/snapshot.h) or a backup (ops/backup_repo.h)
 * into a new data directory, optionally at a point in time, and proves the result.
 *
 * THE RESTORE, STEP BY STEP
 *
 * 1. Source. A snapshot: its catalog row in <data>/meta.db (kind "snapshot") or a snapshot
 *    directory given as such; its files are every regular file under engine/ and journal/. A
 *    backup: <repo>/backups/<id>/MANIFEST.json; its files are the manifest's list, each read
 *    from <repo>/objects/<h[0:2]>/<h>. Without an id: the newest snapshot/backup, or with
 *    --until T the newest whose time_last <= T.
 * 2. Staging. Everything is written into <to>.restore-<pid> beside the target (same file
 *    system, so step 6 is a rename): engine files to engine/..., journal files to journal/....
 *    Files are COPIED by `threads` workers (copy_file_range, else read/write with a 1 MiB buffer),
 *    never linked: the restored node appends to its journal and compacts its segments. Every file
 *    and every directory is fsynced.
 * 3. Hashes (backups): every restored file is read back from the staging directory and hashed;
 *    a mismatch with the manifest fails the restore naming the file (VT_ECORRUPT).
 * 4. The journal is cut where the restored state ends (journal_truncate_after): at the source's
 *    seq, or with --until T at the last record whose journal time is <= T. For a point in time
 *    after the source's time_last, the archived journal continues the chain: the journal files of
 *    each later backup (oldest first), then the source directory's live journal <data>/journal
 *    (a snapshot's; for a backup, the directory that took it, only while its catalog still lists
 *    that backup with the same seq — a directory recreated under the same path is another
 *    instance), are read in place and their records up to T appended byte for byte
 *    (journal_import_until). Snapshots and backups hold the live journal from their seq on
 *    (snapshot_hold_start, backup_hold_start), so the chain reaches the present. A later backup that does not hold the next seq is a gap: the
 *    restore stops there, consistent, and reports partial (so does a T past the newest
 *    archived record: the archive cannot prove nothing was written in between).
 * 5. Verification: the staging directory is opened as a node (which replays the journal onto
 *    the engine files), its journal must end exactly at the record of step 4, then closed;
 *    engine_verify_checksums (every segment's manifest, header, footer, index and block CRC32C
 *    and framing) and journal_verify (every record's CRC) must report no problem. The blocks are
 *    not decoded by default: step 3 has proved every file is the one the backup holds, the CRCs
 *    prove those bytes are the ones the engine wrote, and decoding would only re-check the
 *    engine's own encoder at about 10x the CPU; full_verify (`--full-verify`) decodes every
 *    block and checks it against its index entry and pre-aggregates (engine_verify). When the
 *    open replayed nothing, the checksums are checked on the open node's loaded segment readers
 *    (engine_verify_loaded_checksums) rather than by opening every file again.
 * 6. Publication. A target that does not exist (or is an empty directory) is replaced by the
 *    staging directory (rename + fsync of the parent). A non-empty target is refused
 *    (VT_EEXIST) unless replace: then it is renamed to <to>.replaced-<YYYYMMDD_HHMMSS> — never
 *    deleted — and only then the staging directory takes its name. A restore that fails leaves
 *    the target untouched and removes the staging directory.
 */
#ifndef OPS_RESTORE_H
#define OPS_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* Progress, called from the copying threads' coordinator about 5 times a second and once at the
 * end of the copy (done = true). */
typedef struct restore_progress {
    uint64_t files_done, files_total;
    uint64_t bytes_done, bytes_total;
    double seconds;
    bool done;
} restore_progress;
typedef void (*restore_progress_fn)(void *ctx, const restore_progress *p);

typedef struct restore_options {
    const char *id;           /* snapshot or backup id; NULL = the newest (<= until) */
    const char *repo;         /* a backup repository: the source is a backup */
    const char *data;         /* a data directory: the source is one of its snapshots */
    const char *snapshot_dir; /* a snapshot directory (with its SNAPSHOT file) */
    const char *to;           /* the data directory to create */
    bool replace;             /* a non-empty `to` is moved aside (the caller confirmed) */
    bool has_until;
    int64_t until;            /* ns: point in time (journal time) */
    unsigned threads;         /* copy workers; 0 = 4 */
    bool full_verify;         /* step 5 decodes every block too (engine_verify) */
    restore_progress_fn progress;
    void *progress_ctx;
} restore_options;

/* Fills o with the defaults (4 threads, nothing else set). */
void restore_options_default(restore_options *o);

typedef struct restore_result {
    char id[128];             /* the snapshot or backup restored */
    char kind[16];            /* "snapshot", "full" or "incremental" */
    char target[4096];        /* the directory now holding the restore */
    char replaced[4200];      /* where the previous `to` was moved ("" when none) */
    uint64_t files, bytes;    /* copied */
    double copy_seconds, seconds; /* the copy; the whole restore */
    double open_seconds;          /* step 5: opening the restored directory as a node */
    double verify_seconds;        /* step 5: every segment block and journal record checked */
    uint64_t checkpoint;      /* engine checkpoint of the restored files */
    uint64_t seq;             /* last journal record the restored node holds */
    int64_t time_last;        /* its journal time (0 when unknown) */
    uint64_t chained_records; /* records appended from later archives (point in time) */
    unsigned chained_backups;
    bool partial;             /* the requested time was not reached (why in partial_reason) */
    char partial_reason[512];
    bool verified;            /* steps 3 and 5 passed */
    uint64_t verify_records;  /* journal records checked */
    unsigned verify_files;    /* engine files checked */
} restore_result;

/* Runs the restore (steps above). VT_OK also when partial (res->partial says so; the directory
 * is published: it holds a consistent prefix). Errors: VT_EINVAL (bad options), VT_ENOTFOUND (no
 * such snapshot/backup, or none old enough for until), VT_EEXIST (non-empty target without
 * replace), VT_ECORRUPT (verification failed: err names the file, and nothing is published),
 * VT_EIO. */
vt_rc restore_run(const restore_options *o, restore_result *res, vt_err *err);

/* Removes a directory tree (regular files, symbolic links and directories); 0 or -1. */
int restore_remove_tree(const char *path);

#endif
