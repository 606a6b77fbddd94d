/*
 * ops/recover.h — `volta recover`: the runbook's primary instance recovery (§2).
 *
 * THE PROCEDURE
 *
 * 1. Assessment. The primary is
 *      available  its server answers /health 200 (the CLI asks it), or, with no server, its data
 *                 directory passes the offline verification (every segment block and journal
 *                 record checked, as `volta verify`);
 *      failed     /health answers 503, or the verification finds a problem;
 *      missing    the data directory is gone or holds no engine/journal.
 *    Available: a health report, nothing changed. Failed or missing: steps 2-5.
 * 2. Source: the given snapshot/backup id, else the newest of (the snapshots in the primary's
 *    catalog, when its meta.db can still be read) and (the backups of --repo), the one holding
 *    the highest journal seq winning.
 * 3. Restore (ops/restore.h) into <data>-recovery (or --to), rolled forward as far as records
 *    exist: through the later backups' archived journal, and through the primary's own surviving
 *    journal for a snapshot of it. A surviving journal that cannot be read (corrupt) is not
 *    replayed: the restore then stops at the source's own seq, and the report says why.
 * 4. Control plane: when the primary's meta.db can be read, it is copied (SQLite online backup)
 *    into the recovered directory — API keys, flags, the ingest ledger, backends and catalog
 *    survive. Then, for what the recovered journal does not hold (records after its last seq):
 *    backends whose cursor is past it are moved back to it (the records the recovered node
 *    writes next reuse those seqs, and must reach every backend), and ledger files that produced
 *    records past it are marked stale, so the landing zone loads them again (their points are
 *    not lost if the files are still there).
 * 5. Verification: restore_run verified the directory (hashes, node open, every block and
 *    record); the report gives the records recovered, the records known to be missing (the
 *    primary journal's last seq, when it could be read, minus the recovered seq) and where they
 *    still are (the backends whose cursor had reached them).
 *
 * Serving the recovered directory (`volta serve --data <data>-recovery`, or `volta recover
 * --serve ADDR`, which execs it) is the switch of the runbook's step "point every loader and
 * processor at it".
 */
#ifndef OPS_RECOVER_H
#define OPS_RECOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "ops/restore.h"

typedef enum primary_state {
    PRIMARY_AVAILABLE = 0,
    PRIMARY_FAILED,
    PRIMARY_MISSING,
} primary_state;

const char *primary_state_name(primary_state s);

typedef struct recover_options {
    const char *data;  /* the primary's data directory (required) */
    const char *repo;  /* a backup repository (optional) */
    const char *id;    /* a snapshot or backup id (optional: the newest) */
    const char *to;    /* the recovered directory (default <data>-recovery) */
    bool dry_run;      /* assess and choose the source, change nothing */
    /* what the CLI learnt from the primary's server: -1 not asked / unreachable, else the
     * HTTP status of GET /health (200 available, 503 failed) */
    int health_status;
    unsigned threads;
    restore_progress_fn progress;
    void *progress_ctx;
} recover_options;

void recover_options_default(recover_options *o);

typedef struct recover_result {
    primary_state state;
    char state_detail[512];
    bool recovered;              /* steps 2-5 ran and passed */
    char source_kind[16];        /* "snapshot", "full", "incremental" */
    char source_id[128];
    char source_where[4096];     /* the primary's catalog or the repository */
    uint64_t source_seq;         /* the source's own last record */
    restore_result restore;
    char replay_note[512];       /* why the surviving journal was not replayed ("" when it was) */
    uint64_t primary_last_seq;   /* last record of the primary's journal (0 when unreadable) */
    uint64_t missing_records;    /* primary_last_seq - recovered seq, when known */
    bool meta_copied;            /* the control plane came along */
    unsigned cursors_moved_back; /* backends whose cursor was past the recovered seq */
    unsigned files_reloaded;     /* ledger files marked stale for the landing zone */
    char holders[512];           /* backends that had applied the missing records */
    double seconds;
} recover_result;

/* Runs the procedure. VT_OK when the primary is available (res->recovered false) or when it
 * was recovered; VT_ENOTFOUND when nothing to recover from exists; other codes from restore. */
vt_rc recover_run(const recover_options *o, recover_result *res, vt_err *err);

#endif
