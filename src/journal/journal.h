/*
 * journal/journal.h — the durable, segmented, CRC-checked log of accepted writes.
 *
 * Every accepted batch becomes one record, numbered by a strictly increasing seq (1, 2, 3...).
 * Records are appended to segment files `<dir>/<first-seq as 20 digits>.vjl`; a segment is
 * closed (and a new one started) when it passes segment_bytes. The byte layout is documented
 * at the top of journal.c and in docs/FORMAT.md.
 *
 * Durability: journal_append returns once the record is durable according to the fsync policy
 * (default: fsynced). Concurrent appenders share fsyncs (group commit): one thread syncs for
 * every record written before its sync started. A failed write or fsync makes the journal
 * refuse every later append (VT_EFATAL) until it is reopened: an fsync is never retried.
 *
 * Recovery (journal_open): the last segment's torn tail (a partial or CRC-failing record at
 * the very end, left by a crash mid-append) is truncated away and reported in the open info.
 * A bad record followed by valid data, or damage in an earlier segment, is corruption: open
 * fails with VT_ECORRUPT naming file and offset — it is never skipped silently.
 */
#ifndef JOURNAL_JOURNAL_H
#define JOURNAL_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef enum journal_fsync_policy {
    JOURNAL_FSYNC_ALWAYS = 0, /* fsync before append returns (default) */
    JOURNAL_FSYNC_INTERVAL,   /* a background thread fsyncs every interval_ms; append returns at once */
    JOURNAL_FSYNC_NEVER,      /* leave it to the OS (tests, bulk loads you can redo) */
} journal_fsync_policy;

typedef struct journal_options {
    journal_fsync_policy fsync;
    unsigned interval_ms;    /* for JOURNAL_FSYNC_INTERVAL; default 100 */
    uint64_t segment_bytes;  /* roll to a new segment past this size; default 64 MiB */
    uint32_t max_record_bytes; /* default 256 MiB */
} journal_options;

/* Record types (the payload format of each is owned by its producer, see core/record.h). */
enum {
    JOURNAL_REC_WRITE = 1,     /* a batch of points for one database */
    JOURNAL_REC_CREATE_DB = 2, /* CREATE DATABASE */
    JOURNAL_REC_DROP_DB = 3,   /* DROP DATABASE */
};

typedef struct journal_record {
    uint64_t seq;
    uint16_t type;
    int64_t time;        /* wall clock (ns) when appended: point-in-time restore keys on it */
    const uint8_t *data; /* payload; valid until the next reader call */
    uint32_t len;
} journal_record;

typedef struct journal_open_info {
    uint64_t first_seq;      /* oldest record kept (0 when empty) */
    uint64_t last_seq;       /* newest record (0 when empty) */
    uint64_t torn_bytes;     /* bytes truncated from the tail on open */
    unsigned segments;
} journal_open_info;

typedef struct journal journal;

/* Opens (creating when absent) the journal in dir. info may be NULL. */
vt_rc journal_open(const char *dir, const journal_options *opts, journal **out,
                   journal_open_info *info, vt_err *err);
/* Syncs what is written and closes. */
void journal_close(journal *j);

/* Appends one record and waits for durability per policy. On success *seq_out is its seq. */
vt_rc journal_append(journal *j, uint16_t type, const void *payload, size_t len,
                     uint64_t *seq_out, vt_err *err);

/* Two-phase append for callers that must order something (the engine apply) by seq without
 * holding a lock across the fsync:  journal_write assigns the seq and writes the bytes;
 * journal_sync_to(seq) waits until that record is durable (group commit). */
vt_rc journal_write(journal *j, uint16_t type, const void *payload, size_t len,
                    uint64_t *seq_out, vt_err *err);
/* journal_write of the payload head ++ body (either may be empty), without the caller having to
 * copy them into one buffer: the node writes a record header and a request body this way. */
vt_rc journal_write2(journal *j, uint16_t type, const void *head, size_t head_len,
                     const void *body, size_t body_len, uint64_t *seq_out, vt_err *err);
vt_rc journal_sync_to(journal *j, uint64_t seq, vt_err *err);

uint64_t journal_last_seq(journal *j);
uint64_t journal_first_seq(journal *j);
/* The last seq a writer may have been acknowledged for: under FSYNC_ALWAYS the last durable
 * record, under the other policies the last written one. Followers of the journal (appliers of
 * backup backends) read up to this seq, so a backup never holds a record the primary could
 * lose in a crash. */
uint64_t journal_acked_seq(journal *j);
/* Snapshots: closes the active segment (fsynced) when it holds records, then hard-links every
 * closed segment file into dst (same file names). *last_seq = the last record linked (every
 * record written so far). Constant time in the data size: no byte is copied. The links must
 * never be appended to (a restore copies them into a new journal directory). */
vt_rc journal_link_segments(journal *j, const char *dst, uint64_t *last_seq, uint64_t *files,
                            uint64_t *bytes, vt_err *err);
/* The directory the journal lives in (for readers following it). */
const char *journal_dir(const journal *j);
/* True once a write/fsync failed: every later append returns VT_EFATAL. */
bool journal_failed(journal *j);

/* Deletes whole segments all of whose records have seq < keep_from (retention). When every
 * record written so far is below keep_from, the active segment is rolled first so it can go too. */
vt_rc journal_truncate_before(journal *j, uint64_t keep_from, vt_err *err);

/* A segment file's name ("<20 digits>.vjl") -> the seq of its first record; false for any other
 * name. */
bool journal_segment_name_seq(const char *name, uint64_t *seq);

/* Sequential reader from a given seq (inclusive), over the live journal or a directory.
 * It sees records durable or written at the time of each call. */
typedef struct journal_reader journal_reader;
vt_rc journal_reader_open(const char *dir, uint64_t from_seq, journal_reader **out, vt_err *err);
/* VT_OK with *have = true when rec is filled, *have = false past the last record;
 * VT_ECORRUPT (naming file and offset) or VT_EIO on damage. */
vt_rc journal_reader_next(journal_reader *r, journal_record *rec, bool *have, vt_err *err);
void journal_reader_close(journal_reader *r);

/* Checks every record of every segment in dir (CRC, seq continuity, structure). Calls report
 * once per problem with the file, byte offset and what is wrong; returns the number of problems
 * (0 = clean) and fills the counts of records and segments seen. */
typedef void (*journal_verify_report)(void *ctx, const char *file, uint64_t offset,
                                      const char *problem);
unsigned journal_verify(const char *dir, journal_verify_report report, void *ctx,
                        uint64_t *records, unsigned *segments);

/* ---- Additions (journal module) ---- */

/* Forces everything written so far to disk, whatever the fsync policy (used before a backup or
 * a snapshot, and by tests of the INTERVAL/NEVER policies). VT_EFATAL once the journal failed. */
vt_rc journal_sync(journal *j, vt_err *err);
/* Number of fsync/fdatasync calls made on segment files by this handle since open (group commit
 * makes this far smaller than the number of appends under concurrency). */
uint64_t journal_fsync_count(journal *j);

/* ---- Offline tools of `volta restore` (no journal handle may be open on dir) ---- */

/* Makes the journal in dir end exactly at record keep_upto_seq: deletes the segments whose
 * records all come after it, cuts the segment holding it right after that record (ftruncate),
 * fsyncs the file and the directory. A journal opened there afterwards continues at
 * keep_upto_seq + 1. When dir holds no segment at all (every record of the restored node is in
 * its engine files), an empty segment named keep_upto_seq + 1 is created. VT_ENOTFOUND when dir
 * holds records but none at or after keep_upto_seq (the journal ends before it); VT_ECORRUPT
 * naming file and offset when a segment before the cut does not parse. */
vt_rc journal_truncate_after(const char *dir, uint64_t keep_upto_seq, vt_err *err);

/* Appends to the journal in dst_dir the records of the journal in src_dir that follow dst's last
 * record, in seq order, while their journal time is <= until_time, byte for byte (seq, type,
 * time and payload kept), to the end of dst's last segment; then fsyncs it. src_dir may be a
 * directory of symbolic links to segment files, or a live journal (read as journal_reader
 * does). *last_seq / *last_time: dst's last record afterwards (time 0 when unknown);
 * *imported: records appended; *reached: a record of src_dir later than until_time was seen
 * (the time is reached). VT_ENOTFOUND when src_dir does not hold the record following dst's
 * last (a gap in the archive); VT_ECORRUPT naming file and offset on damage. */
vt_rc journal_import_until(const char *dst_dir, const char *src_dir, int64_t until_time,
                           uint64_t *last_seq, int64_t *last_time, uint64_t *imported,
                           bool *reached, vt_err *err);

#endif
