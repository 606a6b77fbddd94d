/*
 * journal/journal.c — the durable journal: segment files, group commit, recovery, retention.
 *
 * THE FILE FORMAT
 *
 * A journal is a directory of segment files named after the seq of their first record, as 20
 * zero-padded decimal digits: 00000000000000000001.vjl, 00000000000000004097.vjl, ... Other
 * files in the directory are ignored. All integers are little-endian.
 *
 * The segment header is 40 bytes in size and consists of the following fields:
 *
 *     0   8  magic: the ASCII bytes "VOLTAJNL"
 *     8   4  u32 format version (1)
 *    12   4  u32 reserved, written as zero, ignored on read
 *    16   8  u64 first seq: the seq of the first record of the segment (equals the file name)
 *    24   8  i64 creation time, ns since the Unix epoch (informational)
 *    32   4  u32 CRC32C of bytes 0..31
 *    36   4  u32 reserved, written as zero, ignored on read
 *
 * Records follow the header back to back, with no padding, to the end of the file. A record is a
 * 28-byte record header followed by the payload:
 *
 *     0   4  u32 payload length in bytes (at most 1 GiB; the open-time limit is lower)
 *     4   2  u16 record type (JOURNAL_REC_*; the payload format belongs to the producer)
 *     6   2  u16 reserved, written as zero, ignored on read
 *     8   8  u64 seq: the first record of a segment has the segment's first seq, each later
 *                 record the previous seq + 1, and the first record of the next segment follows on
 *    16   8  i64 wall-clock time of the append, ns since the epoch; never decreases along seq
 *    24   4  u32 CRC32C of the payload followed by bytes 0..23 of this header
 *    28   n  payload
 *
 * (The payload is checksummed first so that its CRC can be computed before the writer takes the
 * journal mutex; the header bytes, which hold the seq assigned under the mutex, extend it.)
 *
 * NOTES ON THE DESIGN
 *
 * 1. One writer handle per directory: journal_open takes flock(LOCK_EX) on the directory. Readers
 *    (reader.c) and journal_verify take no lock and may run against a live journal.
 * 2. Appending is one write() of header+payload built in a reusable buffer (payloads up to
 *    JNL_COPY_MAX), or for larger payloads a write() of the header followed by one of the payload
 *    from the caller's memory (no copy under the mutex), at the end of the active (last) segment,
 *    under j->mu. A record is never rewritten in place.
 * 3. Seqs are assigned under j->mu in write order; written_seq is the last seq whose write()
 *    returned, durable_seq the last seq known to be on stable storage. durable_seq <= written_seq.
 * 4. Group commit (journal_sync_to): if durable_seq already covers the seq, return. If a sync in
 *    flight will cover it (its target >= seq), or JNL_SYNC_SLOTS syncs are in flight, wait on
 *    j->cv and look again. Otherwise become a leader: take a free slot, note target =
 *    written_seq, drop the mutex, fdatasync the slot's descriptor, retake the mutex, publish
 *    durable_seq = max(durable_seq, target), free the slot, broadcast. Every record written
 *    before a leader's fdatasync started rides on it: fdatasync makes durable everything
 *    written to the file before the call, whatever other syncs run (it waits for pages another
 *    sync is writing back). Two syncs may be in flight, so a record written while one runs is
 *    synced at once by a second rather than after the first: the mean wait for the disk falls
 *    from about 1.5 syncs to 1 (bench/ingest: 4-8 % more points/s; a third slot added
 *    nothing). Each slot syncs its own descriptor, the active segment opened again
 *    (sync_fds_open): a writeback error is reported once per open file description, so with
 *    one shared descriptor one sync could take the error meant for the other, which would
 *    then publish records that never reached the disk. With a descriptor each, an error that
 *    hit any record up to a target fails that target's sync. A sync that succeeds after
 *    another failed publishes nothing.
 *    Under FSYNC_ALWAYS a syncer thread (eager_main)
 *    is woken by every journal_write and leads a sync at once, so the fdatasync of a record
 *    runs while its writer still works between journal_write and journal_sync_to (the engine
 *    apply, core/node.c): one client alone got 6-20 % more points/s (docs/BENCHMARKS.md). A
 *    writer that finds no sync covering its record still leads one itself. Whoever leads, a
 *    failed fdatasync fails the journal (note 6): the leader gets VT_EIO, writers waiting
 *    VT_EFATAL.
 * 5. Rolling to a new segment happens in journal_write, before a record, once the active segment
 *    holds at least one record and has reached segment_bytes. The roller waits until no sync runs
 *    (so a descriptor a leader is syncing is never closed under it), fsyncs the old segment and
 *    publishes durable_seq = written_seq, closes it, then creates the new one: create (O_EXCL),
 *    write the header, fsync the file, fsync the directory, open it for the sync slots (note
 *    4). Hence every segment but the last is complete and durable, and a new seq is never
 *    reported durable before its predecessors'.
 * 6. Sticky failure: any failed write or fsync on a segment (or the directory fsync of a new
 *    segment) sets j->failed with a message. Every later write/sync/append returns VT_EFATAL; an
 *    fsync is never retried (the kernel may have dropped the dirty pages, so a retry could
 *    "succeed" without the data). The handle must be closed and the journal reopened.
 * 7. Recovery (journal_open) scans every segment in order, checking headers, every record's CRC
 *    and seq continuity within and across segments:
 *      - Only the last segment may end in a torn tail: from the first bad or partial record to the
 *        end of file, with no valid record (complete, CRC-good, seq within JNL_SEQ_WINDOW of the
 *        expected one) anywhere after it. The file is truncated there (ftruncate + fsync) and the
 *        byte count reported. A crash or a failed write mid-append leaves exactly this.
 *      - A bad record followed by a valid one, any damage in an earlier segment, a header whose
 *        first seq does not match its name, or a seq gap is corruption: open fails VT_ECORRUPT
 *        naming file and offset. Nothing is ever skipped silently.
 *      - A last segment shorter than its header, or exactly header-sized with a bad header (a
 *        crash while creating it) is recreated empty under the same name (counted as torn).
 *    Open fsyncs the active segment once, so everything found on disk counts as durable.
 * 8. Retention (journal_truncate_before) unlinks whole segments, oldest first, never the active
 *    one, then fsyncs the directory; a crash in between leaves a contiguous suffix of segments.
 */
#include "journal/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/crc32c.h"
#include "common/durable.h"
#include "common/faultinj.h"
#include "common/thread.h"
#include "journal/journal_int.h"

#define JNL_DEFAULT_INTERVAL_MS 100u
#define JNL_DEFAULT_SEGMENT_BYTES (64ull << 20)
#define JNL_DEFAULT_MAX_RECORD (256u << 20)
/* Payloads up to this size are copied behind their header and written in one write() */
#define JNL_COPY_MAX (64u << 10)
/* Syncs that may be in flight at once (design note 4) */
#define JNL_SYNC_SLOTS 2

struct journal {
    char *dir;
    journal_options opts;
    int dirfd; /* holds the flock */

    pthread_mutex_t mu;
    pthread_cond_t cv; /* a sync finished, or the interval thread / syncer must stop */
    pthread_cond_t cv_written; /* FSYNC_ALWAYS: a record was written (wakes the syncer) */

    /* all below under mu */
    int fd;              /* active (last) segment, O_APPEND; -1 after a failed roll */
    uint64_t seg_first;  /* first seq of the active segment */
    uint64_t seg_size;   /* bytes in the active segment */
    uint64_t *segs;      /* first seqs of all segments, ascending; the last is the active one */
    size_t nsegs, segs_cap;
    uint64_t first_seq;  /* oldest record kept, 0 when none */
    uint64_t next_seq;   /* seq the next record gets */
    uint64_t durable_seq;
    int64_t last_time;   /* time of the last record (times never decrease) */
    int sync_fd[JNL_SYNC_SLOTS]; /* the active segment opened again, one per sync (note 4) */
    bool sync_busy[JNL_SYNC_SLOTS];
    unsigned syncing;         /* syncs in flight */
    uint64_t sync_target_max; /* the highest target of a sync in flight */
    bool failed;
    char fail_msg[384];
    vt_buf rec;          /* reusable record buffer */

    atomic_uint_fast64_t fsyncs;

    bool stopping;
    bool thread_started;
    pthread_t thread;
};

/* ------------------------------------------------------------------------------------------ */
/* Shared format helpers (declared in journal_int.h)                                          */

void jnl_seg_header_encode(uint8_t *out, uint64_t first_seq, int64_t created)
{
    memset(out, 0, JNL_SEG_HDR_SIZE);
    memcpy(out, JNL_MAGIC, 8);
    vt_put_u32(out + 8, JNL_VERSION);
    vt_put_u64(out + 16, first_seq);
    vt_put_u64(out + 24, (uint64_t)created);
    vt_put_u32(out + JNL_SEG_HDR_CRC_OFF, crc32c(out, JNL_SEG_HDR_CRC_OFF));
}

bool jnl_seg_header_decode(const uint8_t *p, jnl_seg_header *h, char *why, size_t whylen)
{
    if (memcmp(p, JNL_MAGIC, 8) != 0) {
        snprintf(why, whylen, "bad segment magic (not a volta journal segment)");
        return false;
    }
    uint32_t stored = vt_get_u32(p + JNL_SEG_HDR_CRC_OFF);
    uint32_t computed = crc32c(p, JNL_SEG_HDR_CRC_OFF);
    if (stored != computed) {
        snprintf(why, whylen, "segment header CRC mismatch (stored %08" PRIx32 ", computed %08" PRIx32 ")",
                 stored, computed);
        return false;
    }
    h->version = vt_get_u32(p + 8);
    if (h->version != JNL_VERSION) {
        snprintf(why, whylen, "unsupported segment format version %" PRIu32 " (this build reads %u)",
                 h->version, JNL_VERSION);
        return false;
    }
    h->first_seq = vt_get_u64(p + 16);
    h->created = (int64_t)vt_get_u64(p + 24);
    return true;
}

void jnl_rec_header_encode(uint8_t *out, uint32_t len, uint16_t type, uint64_t seq, int64_t time,
                           uint32_t payload_crc)
{
    vt_put_u32(out, len);
    out[4] = (uint8_t)type;
    out[5] = (uint8_t)(type >> 8);
    out[6] = 0;
    out[7] = 0;
    vt_put_u64(out + 8, seq);
    vt_put_u64(out + 16, (uint64_t)time);
    vt_put_u32(out + JNL_REC_CRC_OFF, crc32c_update(payload_crc, out, JNL_REC_CRC_OFF));
}

jnl_rec_status jnl_rec_parse(const uint8_t *p, size_t avail, jnl_rec_view *out)
{
    if (avail < JNL_REC_HDR_SIZE)
        return JNL_REC_SHORT;
    uint32_t len = vt_get_u32(p);
    if (len > JNL_HARD_MAX_RECORD)
        return JNL_REC_BADLEN;
    if (avail - JNL_REC_HDR_SIZE < len)
        return JNL_REC_SHORT;
    const uint8_t *data = p + JNL_REC_HDR_SIZE;
    uint32_t crc = crc32c_update(crc32c(data, len), p, JNL_REC_CRC_OFF);
    if (crc != vt_get_u32(p + JNL_REC_CRC_OFF))
        return JNL_REC_BADCRC;
    out->len = len;
    out->type = vt_get_u16(p + 4);
    out->seq = vt_get_u64(p + 8);
    out->time = (int64_t)vt_get_u64(p + 16);
    out->data = data;
    return JNL_REC_OK;
}

const char *jnl_rec_status_name(jnl_rec_status st)
{
    switch (st) {
    case JNL_REC_OK:
        return "ok";
    case JNL_REC_SHORT:
        return "record runs past the end of the file";
    case JNL_REC_BADLEN:
        return "record length above the 1 GiB limit";
    case JNL_REC_BADCRC:
        return "record CRC mismatch";
    }
    return "?";
}

size_t jnl_find_next_valid(const uint8_t *image, size_t size, size_t from, uint64_t min_seq,
                           uint64_t *seq_out)
{
    if (size < JNL_REC_HDR_SIZE)
        return SIZE_MAX;
    for (size_t off = from; off <= size - JNL_REC_HDR_SIZE; off++) {
        const uint8_t *p = image + off;
        uint64_t seq = vt_get_u64(p + 8);
        if (seq < min_seq || seq - min_seq >= JNL_SEQ_WINDOW)
            continue; /* the cheap filter: almost every offset stops here */
        jnl_rec_view v;
        if (jnl_rec_parse(p, size - off, &v) == JNL_REC_OK) {
            if (seq_out)
                *seq_out = v.seq;
            return off;
        }
    }
    return SIZE_MAX;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* "<20 digits>.vjl" -> seq */
bool journal_segment_name_seq(const char *name, uint64_t *seq)
{
    if (strlen(name) != JNL_NAME_DIGITS + strlen(JNL_SUFFIX) ||
        strcmp(name + JNL_NAME_DIGITS, JNL_SUFFIX) != 0)
        return false;
    uint64_t v = 0;
    for (int i = 0; i < JNL_NAME_DIGITS; i++) {
        if (name[i] < '0' || name[i] > '9')
            return false;
        unsigned d = (unsigned)(name[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *seq = v;
    return true;
}

vt_rc jnl_list_segments(const char *dir, uint64_t **out, size_t *n, vt_err *err)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return vt_err_set(err, errno == ENOENT ? VT_ENOTFOUND : VT_EIO, "journal: open directory %s: %s",
                          dir, strerror(errno));
    uint64_t *v = NULL;
    size_t len = 0, cap = 0;
    vt_rc rc = VT_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        uint64_t seq;
        if (!journal_segment_name_seq(e->d_name, &seq))
            continue;
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            uint64_t *nv = realloc(v, ncap * sizeof *nv);
            if (!nv) {
                rc = vt_err_set(err, VT_ENOMEM, "journal: listing %s: out of memory", dir);
                goto cleanup;
            }
            v = nv;
            cap = ncap;
        }
        v[len++] = seq;
    }
    if (len > 1)
        qsort(v, len, sizeof *v, u64_cmp);
    *out = v;
    *n = len;
    v = NULL;
cleanup:
    free(v);
    closedir(d);
    return rc;
}

bool jnl_seg_path(char *buf, size_t cap, const char *dir, uint64_t first_seq)
{
    int w = snprintf(buf, cap, "%s/%020" PRIu64 "%s", dir, first_seq, JNL_SUFFIX);
    return w > 0 && (size_t)w < cap;
}

vt_rc jnl_image_map(int fd, const char *path, jnl_image *img, vt_err *err)
{
    img->data = NULL;
    img->size = 0;
    struct stat st;
    if (fstat(fd, &st) != 0)
        return vt_err_set(err, VT_EIO, "journal: stat %s: %s", path, strerror(errno));
    if (st.st_size == 0)
        return VT_OK;
    if ((uint64_t)st.st_size > SIZE_MAX)
        return vt_err_set(err, VT_ELIMIT, "journal: %s is too large to map", path);
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED)
        return vt_err_set(err, VT_EIO, "journal: mmap %s: %s", path, strerror(errno));
    img->data = m;
    img->size = (size_t)st.st_size;
    return VT_OK;
}

void jnl_image_unmap(jnl_image *img)
{
    if (img->data)
        munmap((void *)img->data, img->size);
    img->data = NULL;
    img->size = 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Writer internals                                                                            */

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Marks the journal failed (sticky). Called with mu held. */
static void journal_fail(journal *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void journal_fail(journal *j, const char *fmt, ...)
{
    if (!j->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(j->fail_msg, sizeof j->fail_msg, fmt, ap);
        va_end(ap);
        j->failed = true;
    }
    pthread_cond_broadcast(&j->cv);
}

static vt_rc journal_fatal(journal *j, vt_err *err)
{
    return vt_err_set(err, VT_EFATAL,
                      "journal %s refuses writes after an earlier I/O failure (%s); restart needed",
                      j->dir, j->fail_msg);
}

/* Closes the sync descriptors (note 4). mu held, no sync in flight. */
static void sync_fds_close(journal *j)
{
    for (int i = 0; i < JNL_SYNC_SLOTS; i++) {
        if (j->sync_fd[i] >= 0)
            close(j->sync_fd[i]);
        j->sync_fd[i] = -1;
    }
}

/* Opens the active segment once per sync slot (note 4), after its descriptor j->fd was made
 * and synced. mu held (or j not yet shared), no sync in flight. */
static vt_rc sync_fds_open(journal *j, vt_err *err)
{
    char path[PATH_MAX];
    if (!jnl_seg_path(path, sizeof path, j->dir, j->seg_first))
        return vt_err_set(err, VT_EINVAL, "journal: path too long in %s", j->dir);
    for (int i = 0; i < JNL_SYNC_SLOTS; i++) {
        j->sync_fd[i] = open(path, O_RDONLY | O_CLOEXEC);
        if (j->sync_fd[i] < 0) {
            vt_err_set(err, VT_EIO, "journal: open %s to sync it: %s", path, strerror(errno));
            sync_fds_close(j);
            return VT_EIO;
        }
    }
    return VT_OK;
}

static bool segs_push(journal *j, uint64_t first)
{
    if (j->nsegs == j->segs_cap) {
        size_t ncap = j->segs_cap ? j->segs_cap * 2 : 16;
        uint64_t *n = realloc(j->segs, ncap * sizeof *n);
        if (!n)
            return false;
        j->segs = n;
        j->segs_cap = ncap;
    }
    j->segs[j->nsegs++] = first;
    return true;
}

/* Creates segment <first>.vjl: create, header, fsync file, fsync directory. On success *fd_out
 * is the open (O_APPEND) descriptor. Does not touch j's state beyond the fsync counter. */
static vt_rc segment_create(journal *j, uint64_t first, int *fd_out, vt_err *err)
{
    char path[PATH_MAX];
    if (!jnl_seg_path(path, sizeof path, j->dir, first))
        return vt_err_set(err, VT_EINVAL, "journal: path too long in %s", j->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return vt_err_set(err, VT_EIO, "journal: create segment %s: %s", path, strerror(errno));
    uint8_t hdr[JNL_SEG_HDR_SIZE];
    jnl_seg_header_encode(hdr, first, wall_ns());
    if (vt_io_write_all(fd, hdr, sizeof hdr) != 0) {
        vt_err_set(err, VT_EIO, "journal: write header of %s: %s", path, strerror(errno));
        close(fd);
        return VT_EIO;
    }
    atomic_fetch_add(&j->fsyncs, 1);
    if (vt_io_fsync(fd) != 0) {
        vt_err_set(err, VT_EIO, "journal: fsync new segment %s: %s", path, strerror(errno));
        close(fd);
        return VT_EIO;
    }
    vt_rc rc = durable_fsync_dir(j->dir, err);
    if (rc != VT_OK) {
        vt_err_prefix(err, "journal: new segment %s", path);
        close(fd);
        return rc;
    }
    *fd_out = fd;
    return VT_OK;
}

/* Closes the active segment (after syncing it) and starts a new one at next_seq. mu held. */
static vt_rc journal_roll(journal *j, vt_err *err)
{
    while (j->syncing)
        pthread_cond_wait(&j->cv, &j->mu);
    if (j->failed)
        return journal_fatal(j, err);
    char path[PATH_MAX];
    jnl_seg_path(path, sizeof path, j->dir, j->seg_first);
    uint64_t written = j->next_seq - 1;
    if (j->durable_seq < written) {
        atomic_fetch_add(&j->fsyncs, 1);
        if (vt_io_fdatasync(j->fd) != 0) {
            int e = errno;
            journal_fail(j, "fsync of %s before rolling to a new segment failed: %s", path, strerror(e));
            return vt_err_set(err, VT_EIO, "journal: fsync %s: %s; the journal refuses writes until restart",
                              path, strerror(e));
        }
        j->durable_seq = written;
        pthread_cond_broadcast(&j->cv);
    }
    sync_fds_close(j);
    close(j->fd);
    j->fd = -1;
    vt_err e;
    vt_err_clear(&e);
    vt_rc rc = segment_create(j, j->next_seq, &j->fd, &e);
    if (rc == VT_OK && !segs_push(j, j->next_seq))
        rc = vt_err_set(&e, VT_ENOMEM, "journal: out of memory rolling to a new segment");
    if (rc != VT_OK) {
        journal_fail(j, "%s", e.msg);
        return vt_err_set(err, rc, "%s; the journal refuses writes until restart", e.msg);
    }
    j->seg_first = j->next_seq;
    j->seg_size = JNL_SEG_HDR_SIZE;
    rc = sync_fds_open(j, &e);
    if (rc != VT_OK) {
        journal_fail(j, "%s", e.msg);
        return vt_err_set(err, rc, "%s; the journal refuses writes until restart", e.msg);
    }
    return VT_OK;
}

/*
 * Makes every record up to seq durable (group commit, design note 4). mu held on entry and exit.
 * Callers apply the fsync policy (journal_sync_to syncs only under FSYNC_ALWAYS; journal_sync,
 * the interval thread, rolls and close always do).
 */
static vt_rc journal_sync_locked(journal *j, uint64_t seq, vt_err *err)
{
    for (;;) {
        if (j->durable_seq >= seq)
            return VT_OK;
        if (j->failed)
            return journal_fatal(j, err);
        if (seq >= j->next_seq)
            return vt_err_set(err, VT_EINVAL, "journal: sync to seq %" PRIu64 ", but only %" PRIu64 " written",
                              seq, j->next_seq - 1);
        if (j->syncing > 0 && (seq <= j->sync_target_max || j->syncing >= JNL_SYNC_SLOTS)) {
            pthread_cond_wait(&j->cv, &j->mu); /* a sync in flight covers seq, or no slot */
            continue;
        }
        /* leader */
        int slot = 0;
        while (j->sync_busy[slot])
            slot++;
        uint64_t target = j->next_seq - 1;
        int fd = j->sync_fd[slot];
        j->sync_busy[slot] = true;
        j->syncing++;
        if (target > j->sync_target_max)
            j->sync_target_max = target;
        pthread_mutex_unlock(&j->mu);
        atomic_fetch_add(&j->fsyncs, 1);
        int r = vt_io_fdatasync(fd);
        int e = errno;
        pthread_mutex_lock(&j->mu);
        j->sync_busy[slot] = false;
        j->syncing--;
        if (r == 0 && j->failed) {
            pthread_cond_broadcast(&j->cv); /* the other sync failed: publish nothing */
            return journal_fatal(j, err);
        }
        if (r != 0) {
            char path[PATH_MAX];
            jnl_seg_path(path, sizeof path, j->dir, j->seg_first);
            journal_fail(j, "fsync of %s failed: %s", path, strerror(e));
            return vt_err_set(err, VT_EIO,
                              "journal: fsync %s: %s; the journal refuses writes until restart", path,
                              strerror(e));
        }
        if (target > j->durable_seq)
            j->durable_seq = target;
        pthread_cond_broadcast(&j->cv);
    }
}

/* FSYNC_ALWAYS (design note 4): leads a sync as soon as a record is written, so the writer's
 * own work between journal_write and journal_sync_to overlaps the disk's. */
static void *eager_main(void *arg)
{
    journal *j = arg;
    vt_thread_name("volta-journal");
    pthread_mutex_lock(&j->mu);
    for (;;) {
        while (!j->stopping && (j->failed || j->durable_seq >= j->next_seq - 1))
            pthread_cond_wait(&j->cv_written, &j->mu);
        if (j->stopping)
            break;
        (void)journal_sync_locked(j, j->next_seq - 1, NULL); /* failure is sticky in j */
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

static void *interval_main(void *arg)
{
    journal *j = arg;
    vt_thread_name("volta-journal");
    pthread_mutex_lock(&j->mu);
    while (!j->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t ns = (uint64_t)ts.tv_nsec + (uint64_t)j->opts.interval_ms * 1000000ull;
        ts.tv_sec += (time_t)(ns / 1000000000ull);
        ts.tv_nsec = (long)(ns % 1000000000ull);
        int w = 0;
        while (!j->stopping && w != ETIMEDOUT)
            w = pthread_cond_timedwait(&j->cv, &j->mu, &ts);
        if (j->stopping)
            break;
        if (!j->failed && j->durable_seq < j->next_seq - 1)
            (void)journal_sync_locked(j, j->next_seq - 1, NULL); /* failure is sticky in j */
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Open and recovery                                                                          */

/* Truncates the active segment's torn tail at off (design note 7). */
static vt_rc truncate_tail(journal *j, int fd, const char *path, uint64_t off, vt_err *err)
{
    if (ftruncate(fd, (off_t)off) != 0)
        return vt_err_set(err, VT_EIO, "journal: truncate torn tail of %s at offset %" PRIu64 ": %s", path,
                          off, strerror(errno));
    atomic_fetch_add(&j->fsyncs, 1);
    if (vt_io_fsync(fd) != 0)
        return vt_err_set(err, VT_EIO, "journal: fsync %s after truncating its torn tail: %s", path,
                          strerror(errno));
    return VT_OK;
}

/*
 * Scans segment i (design note 7). *expect is the seq its first record must have (0 for the first
 * segment: any); on return it is the seq after its last record. For the last segment, *fd_out is
 * left open read-write at the valid end for appending.
 */
static vt_rc recover_segment(journal *j, size_t i, bool last, uint64_t *expect, uint64_t *torn,
                             int *fd_out, vt_err *err)
{
    uint64_t first = j->segs[i];
    char path[PATH_MAX];
    if (!jnl_seg_path(path, sizeof path, j->dir, first))
        return vt_err_set(err, VT_EINVAL, "journal: path too long in %s", j->dir);
    if (first == 0)
        return vt_err_set(err, VT_ECORRUPT, "journal: %s: segment named seq 0 (seqs start at 1)", path);
    if (i > 0 && first != *expect)
        return vt_err_set(err, VT_ECORRUPT,
                          "journal: %s at offset 0: seq gap: the previous segment ends before seq %" PRIu64
                          " but this one starts at %" PRIu64,
                          path, *expect, first);

    int fd = open(path, (last ? O_RDWR | O_APPEND : O_RDONLY) | O_CLOEXEC);
    if (fd < 0)
        return vt_err_set(err, VT_EIO, "journal: open %s: %s", path, strerror(errno));
    jnl_image img;
    vt_rc rc = jnl_image_map(fd, path, &img, err);
    if (rc != VT_OK)
        goto cleanup;

    char why[160];
    jnl_seg_header h;
    if (img.size < JNL_SEG_HDR_SIZE ||
        (img.size == JNL_SEG_HDR_SIZE && !jnl_seg_header_decode(img.data, &h, why, sizeof why))) {
        /* a crash while creating the segment: only acceptable at the very end */
        if (!last) {
            rc = vt_err_set(err, VT_ECORRUPT, "journal: %s at offset 0: truncated or bad segment header "
                            "(%zu bytes) in a segment that is not the last", path, img.size);
            goto cleanup;
        }
        *torn += img.size;
        jnl_image_unmap(&img);
        close(fd);
        fd = -1;
        if (unlink(path) != 0) {
            rc = vt_err_set(err, VT_EIO, "journal: remove torn segment %s: %s", path, strerror(errno));
            goto cleanup;
        }
        rc = segment_create(j, first, fd_out, err);
        if (rc == VT_OK) {
            j->seg_size = JNL_SEG_HDR_SIZE;
            *expect = first;
        }
        goto cleanup;
    }
    if (!jnl_seg_header_decode(img.data, &h, why, sizeof why)) {
        rc = vt_err_set(err, VT_ECORRUPT, "journal: %s at offset 0: %s", path, why);
        goto cleanup;
    }
    if (h.first_seq != first) {
        rc = vt_err_set(err, VT_ECORRUPT,
                        "journal: %s at offset 16: header says first seq %" PRIu64 ", the name %" PRIu64,
                        path, h.first_seq, first);
        goto cleanup;
    }

    uint64_t seq = first;
    size_t off = JNL_SEG_HDR_SIZE;
    while (off < img.size) {
        jnl_rec_view v;
        jnl_rec_status st = jnl_rec_parse(img.data + off, img.size - off, &v);
        if (st == JNL_REC_OK && v.seq == seq) {
            if (v.time > j->last_time)
                j->last_time = v.time;
            seq++;
            off += JNL_REC_HDR_SIZE + v.len;
            continue;
        }
        if (st == JNL_REC_OK) {
            rc = vt_err_set(err, VT_ECORRUPT,
                            "journal: %s at offset %zu: record has seq %" PRIu64 ", expected %" PRIu64, path,
                            off, v.seq, seq);
            goto cleanup;
        }
        if (!last) {
            rc = vt_err_set(err, VT_ECORRUPT,
                            "journal: %s at offset %zu: %s (seq %" PRIu64 ") in a segment that is not the last",
                            path, off, jnl_rec_status_name(st), seq);
            goto cleanup;
        }
        uint64_t nseq = 0;
        size_t next = jnl_find_next_valid(img.data, img.size, off + 1, seq, &nseq);
        if (next != SIZE_MAX) {
            rc = vt_err_set(err, VT_ECORRUPT,
                            "journal: %s at offset %zu: %s (seq %" PRIu64 "), yet a valid record (seq %" PRIu64
                            ") follows at offset %zu: corruption, not a torn tail",
                            path, off, jnl_rec_status_name(st), seq, nseq, next);
            goto cleanup;
        }
        /* torn tail */
        *torn += img.size - off;
        jnl_image_unmap(&img);
        rc = truncate_tail(j, fd, path, off, err);
        if (rc != VT_OK)
            goto cleanup;
        break;
    }
    *expect = seq;
    if (last) {
        j->seg_size = off;
        *fd_out = fd;
        fd = -1;
    }
cleanup:
    jnl_image_unmap(&img);
    if (fd >= 0)
        close(fd);
    return rc;
}

static void resolve_options(const journal_options *in, journal_options *o)
{
    memset(o, 0, sizeof *o);
    if (in)
        *o = *in;
    if (o->interval_ms == 0)
        o->interval_ms = JNL_DEFAULT_INTERVAL_MS;
    if (o->segment_bytes == 0)
        o->segment_bytes = JNL_DEFAULT_SEGMENT_BYTES;
    if (o->max_record_bytes == 0)
        o->max_record_bytes = JNL_DEFAULT_MAX_RECORD;
    if (o->max_record_bytes > JNL_HARD_MAX_RECORD)
        o->max_record_bytes = JNL_HARD_MAX_RECORD;
}

vt_rc journal_open(const char *dir, const journal_options *opts, journal **out,
                   journal_open_info *info, vt_err *err)
{
    *out = NULL;
    if (info)
        memset(info, 0, sizeof *info);
    if (opts && opts->fsync > JOURNAL_FSYNC_NEVER)
        return vt_err_set(err, VT_EINVAL, "journal: unknown fsync policy %d", (int)opts->fsync);
    vt_rc rc = durable_mkdirs(dir, err);
    if (rc != VT_OK)
        return rc;

    journal *j = calloc(1, sizeof *j);
    if (!j)
        return vt_err_set(err, VT_ENOMEM, "journal: out of memory");
    j->dirfd = -1;
    j->fd = -1;
    for (int i = 0; i < JNL_SYNC_SLOTS; i++)
        j->sync_fd[i] = -1;
    resolve_options(opts, &j->opts);
    vt_buf_init(&j->rec);
    atomic_init(&j->fsyncs, 0);
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    pthread_cond_init(&j->cv_written, NULL);
    j->dir = strdup(dir);
    if (!j->dir) {
        rc = vt_err_set(err, VT_ENOMEM, "journal: out of memory");
        goto fail;
    }
    j->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (j->dirfd < 0) {
        rc = vt_err_set(err, VT_EIO, "journal: open directory %s: %s", dir, strerror(errno));
        goto fail;
    }
    if (flock(j->dirfd, LOCK_EX | LOCK_NB) != 0) {
        rc = vt_err_set(err, errno == EWOULDBLOCK ? VT_EBUSY : VT_EIO,
                        "journal: %s is already open for writing (%s)", dir, strerror(errno));
        goto fail;
    }

    size_t n;
    rc = jnl_list_segments(dir, &j->segs, &n, err);
    if (rc != VT_OK)
        goto fail;
    j->nsegs = j->segs_cap = n;
    uint64_t torn = 0;
    if (n == 0) {
        if (!segs_push(j, 1)) {
            rc = vt_err_set(err, VT_ENOMEM, "journal: out of memory");
            goto fail;
        }
        rc = segment_create(j, 1, &j->fd, err);
        if (rc != VT_OK)
            goto fail;
        j->seg_size = JNL_SEG_HDR_SIZE;
        j->next_seq = 1;
    } else {
        uint64_t expect = 0;
        for (size_t i = 0; i < n; i++) {
            rc = recover_segment(j, i, i + 1 == n, &expect, &torn, &j->fd, err);
            if (rc != VT_OK)
                goto fail;
        }
        j->next_seq = expect;
        /* what a previous run left in the page cache becomes durable now */
        atomic_fetch_add(&j->fsyncs, 1);
        if (vt_io_fsync(j->fd) != 0) {
            rc = vt_err_set(err, VT_EIO, "journal: fsync active segment of %s at open: %s", dir,
                            strerror(errno));
            goto fail;
        }
    }
    j->seg_first = j->segs[j->nsegs - 1];
    j->first_seq = j->next_seq > j->segs[0] ? j->segs[0] : 0;
    j->durable_seq = j->next_seq - 1;
    rc = sync_fds_open(j, err);
    if (rc != VT_OK)
        goto fail;

    if (j->opts.fsync != JOURNAL_FSYNC_NEVER) {
        void *(*main_fn)(void *) =
            j->opts.fsync == JOURNAL_FSYNC_INTERVAL ? interval_main : eager_main;
        if (pthread_create(&j->thread, NULL, main_fn, j) != 0) {
            rc = vt_err_set(err, VT_EIO, "journal: cannot start the fsync thread");
            goto fail;
        }
        j->thread_started = true;
    }
    if (info) {
        info->first_seq = j->first_seq;
        info->last_seq = j->next_seq - 1;
        info->torn_bytes = torn;
        info->segments = (unsigned)j->nsegs;
    }
    *out = j;
    return VT_OK;

fail:
    sync_fds_close(j);
    if (j->fd >= 0)
        close(j->fd);
    if (j->dirfd >= 0)
        close(j->dirfd);
    free(j->segs);
    free(j->dir);
    vt_buf_free(&j->rec);
    pthread_cond_destroy(&j->cv);
    pthread_cond_destroy(&j->cv_written);
    pthread_mutex_destroy(&j->mu);
    free(j);
    return rc;
}

void journal_close(journal *j)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->mu);
    j->stopping = true;
    pthread_cond_broadcast(&j->cv);
    pthread_cond_broadcast(&j->cv_written);
    pthread_mutex_unlock(&j->mu);
    if (j->thread_started)
        pthread_join(j->thread, NULL);

    pthread_mutex_lock(&j->mu);
    if (!j->failed && j->fd >= 0 && j->durable_seq < j->next_seq - 1)
        (void)journal_sync_locked(j, j->next_seq - 1, NULL); /* a failure here has nobody to tell */
    while (j->syncing)
        pthread_cond_wait(&j->cv, &j->mu);
    sync_fds_close(j);
    pthread_mutex_unlock(&j->mu);

    if (j->fd >= 0)
        close(j->fd);
    if (j->dirfd >= 0)
        close(j->dirfd); /* releases the flock */
    free(j->segs);
    free(j->dir);
    vt_buf_free(&j->rec);
    pthread_cond_destroy(&j->cv);
    pthread_cond_destroy(&j->cv_written);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

/* ------------------------------------------------------------------------------------------ */
/* Appending                                                                                  */

vt_rc journal_write(journal *j, uint16_t type, const void *payload, size_t len,
                    uint64_t *seq_out, vt_err *err)
{
    return journal_write2(j, type, payload, len, NULL, 0, seq_out, err);
}

vt_rc journal_write2(journal *j, uint16_t type, const void *head, size_t head_len,
                     const void *body, size_t body_len, uint64_t *seq_out, vt_err *err)
{
    size_t len = head_len + body_len;
    if (head_len > j->opts.max_record_bytes || body_len > j->opts.max_record_bytes - head_len)
        return vt_err_set(err, VT_ELIMIT, "journal: record of %zu bytes exceeds the limit of %" PRIu32 " bytes",
                          len, j->opts.max_record_bytes);
    if ((head_len > 0 && !head) || (body_len > 0 && !body))
        return vt_err_set(err, VT_EINVAL, "journal: NULL payload of %zu bytes", len);
    /* outside the mutex */
    uint32_t pcrc = crc32c_update(crc32c(head, head_len), body, body_len);

    vt_rc rc = VT_OK;
    pthread_mutex_lock(&j->mu);
    if (j->failed) {
        rc = journal_fatal(j, err);
        goto out;
    }
    if (j->seg_size >= j->opts.segment_bytes && j->next_seq > j->seg_first) {
        rc = journal_roll(j, err);
        if (rc != VT_OK)
            goto out;
    }
    uint64_t seq = j->next_seq;
    int64_t now = wall_ns();
    if (now < j->last_time)
        now = j->last_time;

    /* The record header and a small head go out in one write(); a large body follows from the
     * caller's memory (no copy of a large payload under the mutex). A crash or failure between
     * the two leaves a partial record at the end: a torn tail (note 7). */
    uint8_t hdr[JNL_REC_HDR_SIZE];
    jnl_rec_header_encode(hdr, (uint32_t)len, type, seq, now, pcrc);
    size_t copied = len <= JNL_COPY_MAX ? len : head_len <= JNL_COPY_MAX ? head_len : 0;
    vt_buf_reset(&j->rec);
    if (!vt_buf_reserve(&j->rec, JNL_REC_HDR_SIZE + copied)) {
        j->rec.oom = false; /* allow a later, smaller record */
        rc = vt_err_set(err, VT_ENOMEM, "journal: out of memory for a record of %zu bytes", len);
        goto out;
    }
    vt_buf_append(&j->rec, hdr, JNL_REC_HDR_SIZE);
    if (copied >= head_len) {
        vt_buf_append(&j->rec, head, head_len);
        vt_buf_append(&j->rec, body, copied - head_len);
    }
    int wr = vt_io_write_all(j->fd, j->rec.data, j->rec.len);
    if (wr == 0 && copied < head_len)
        wr = vt_io_write_all(j->fd, head, head_len);
    if (wr == 0 && copied < len && body_len > 0)
        wr = vt_io_write_all(j->fd, body, body_len);
    if (wr != 0) {
        int e = errno;
        char path[PATH_MAX];
        jnl_seg_path(path, sizeof path, j->dir, j->seg_first);
        journal_fail(j, "write of record seq %" PRIu64 " to %s failed: %s", seq, path, strerror(e));
        rc = vt_err_set(err, VT_EIO,
                        "journal: write record seq %" PRIu64 " to %s: %s; the journal refuses writes "
                        "until restart", seq, path, strerror(e));
        goto out;
    }
    j->next_seq = seq + 1;
    j->last_time = now;
    j->seg_size += JNL_REC_HDR_SIZE + len;
    if (j->opts.fsync == JOURNAL_FSYNC_ALWAYS)
        pthread_cond_signal(&j->cv_written);
    if (j->first_seq == 0)
        j->first_seq = seq;
    if (seq_out)
        *seq_out = seq;
out:
    pthread_mutex_unlock(&j->mu);
    return rc;
}

vt_rc journal_sync_to(journal *j, uint64_t seq, vt_err *err)
{
    vt_rc rc = VT_OK;
    pthread_mutex_lock(&j->mu);
    if (j->opts.fsync == JOURNAL_FSYNC_ALWAYS)
        rc = journal_sync_locked(j, seq, err);
    else if (j->failed)
        rc = journal_fatal(j, err);
    pthread_mutex_unlock(&j->mu);
    return rc;
}

vt_rc journal_sync(journal *j, vt_err *err)
{
    pthread_mutex_lock(&j->mu);
    vt_rc rc = journal_sync_locked(j, j->next_seq - 1, err);
    pthread_mutex_unlock(&j->mu);
    return rc;
}

vt_rc journal_append(journal *j, uint16_t type, const void *payload, size_t len,
                     uint64_t *seq_out, vt_err *err)
{
    uint64_t seq;
    vt_rc rc = journal_write(j, type, payload, len, &seq, err);
    if (rc != VT_OK)
        return rc;
    rc = journal_sync_to(j, seq, err);
    if (rc == VT_OK && seq_out)
        *seq_out = seq;
    return rc;
}

uint64_t journal_last_seq(journal *j)
{
    pthread_mutex_lock(&j->mu);
    uint64_t v = j->next_seq - 1;
    pthread_mutex_unlock(&j->mu);
    return v;
}

vt_rc journal_link_segments(journal *j, const char *dst, uint64_t *last_seq, uint64_t *files,
                            uint64_t *bytes, vt_err *err)
{
    vt_rc rc = VT_OK;
    *files = *bytes = 0;
    pthread_mutex_lock(&j->mu);
    if (j->failed) {
        rc = journal_fatal(j, err);
        goto out;
    }
    /* the active segment is closed first (fsynced), so every linked file is immutable */
    if (j->seg_size > JNL_SEG_HDR_SIZE) {
        rc = journal_roll(j, err);
        if (rc != VT_OK)
            goto out;
    }
    *last_seq = j->next_seq - 1;
    for (size_t i = 0; i + 1 < j->nsegs; i++) { /* all but the (new, empty) active one */
        char src[PATH_MAX], to[PATH_MAX];
        jnl_seg_path(src, sizeof src, j->dir, j->segs[i]);
        jnl_seg_path(to, sizeof to, dst, j->segs[i]);
        if (link(src, to) != 0) {
            rc = vt_err_set(err, VT_EIO, "journal: link %s -> %s: %s", src, to, strerror(errno));
            goto out;
        }
        struct stat st;
        if (stat(to, &st) == 0)
            *bytes += (uint64_t)st.st_size;
        (*files)++;
    }
out:
    pthread_mutex_unlock(&j->mu);
    return rc;
}

const char *journal_dir(const journal *j)
{
    return j->dir;
}

uint64_t journal_acked_seq(journal *j)
{
    pthread_mutex_lock(&j->mu);
    uint64_t v = j->opts.fsync == JOURNAL_FSYNC_ALWAYS ? j->durable_seq : j->next_seq - 1;
    pthread_mutex_unlock(&j->mu);
    return v;
}

uint64_t journal_first_seq(journal *j)
{
    pthread_mutex_lock(&j->mu);
    uint64_t v = j->first_seq;
    pthread_mutex_unlock(&j->mu);
    return v;
}

bool journal_failed(journal *j)
{
    pthread_mutex_lock(&j->mu);
    bool v = j->failed;
    pthread_mutex_unlock(&j->mu);
    return v;
}

uint64_t journal_fsync_count(journal *j)
{
    return atomic_load(&j->fsyncs);
}

/* ------------------------------------------------------------------------------------------ */
/* Retention                                                                                  */

vt_rc journal_truncate_before(journal *j, uint64_t keep_from, vt_err *err)
{
    vt_rc rc = VT_OK;
    size_t removed = 0;
    pthread_mutex_lock(&j->mu);
    /* every record, the active segment's included, is disposable: roll to a fresh segment so the
     * full one can go too (a clean shutdown then leaves only an empty segment) */
    if (keep_from >= j->next_seq && !j->failed && j->seg_size > JNL_SEG_HDR_SIZE) {
        rc = journal_roll(j, err);
        if (rc != VT_OK) {
            pthread_mutex_unlock(&j->mu);
            return rc;
        }
    }
    /* segment k holds [segs[k], segs[k+1]); it can go when segs[k+1] <= keep_from */
    while (removed + 1 < j->nsegs && j->segs[removed + 1] <= keep_from) {
        char path[PATH_MAX];
        jnl_seg_path(path, sizeof path, j->dir, j->segs[removed]);
        if (unlink(path) != 0 && errno != ENOENT) {
            rc = vt_err_set(err, VT_EIO, "journal: remove %s: %s", path, strerror(errno));
            break;
        }
        removed++;
    }
    if (removed > 0) {
        memmove(j->segs, j->segs + removed, (j->nsegs - removed) * sizeof *j->segs);
        j->nsegs -= removed;
        j->first_seq = j->next_seq > j->segs[0] ? j->segs[0] : 0;
        vt_err tmp;
        vt_rc r2 = durable_fsync_dir(j->dir, rc == VT_OK ? err : &tmp);
        if (rc == VT_OK)
            rc = r2;
    }
    pthread_mutex_unlock(&j->mu);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Offline tools of `volta restore` (journal.h): cutting a restored journal at a record, and    */
/* extending it with the records of an archived one. No handle is open on the directory; both   */
/* work on whole files with the format helpers above and fsync what they change.               */

/* The records of one segment file as laid out on disk: the end offset of the last valid record
 * at or before stop_seq (or of the last one when stop_seq is UINT64_MAX), its seq and time. */
typedef struct jnl_seg_scan {
    uint64_t first;     /* from the header */
    uint64_t last_seq;  /* first - 1 when the segment holds no record (up to stop_seq) */
    int64_t last_time;  /* 0 when no record */
    uint64_t end;       /* byte offset just after that record (the header size when none) */
    uint64_t size;      /* file size */
} jnl_seg_scan;

static vt_rc jnl_scan_segment(int fd, const char *path, uint64_t stop_seq, jnl_seg_scan *s,
                              vt_err *err)
{
    memset(s, 0, sizeof *s);
    jnl_image img;
    vt_rc rc = jnl_image_map(fd, path, &img, err);
    if (rc != VT_OK)
        return rc;
    s->size = img.size;
    char why[160];
    jnl_seg_header h;
    if (img.size < JNL_SEG_HDR_SIZE || !jnl_seg_header_decode(img.data, &h, why, sizeof why)) {
        rc = vt_err_set(err, VT_ECORRUPT, "journal: %s at offset 0: %s", path,
                        img.size < JNL_SEG_HDR_SIZE ? "shorter than its header" : why);
        goto cleanup;
    }
    s->first = h.first_seq;
    s->last_seq = h.first_seq - 1;
    s->end = JNL_SEG_HDR_SIZE;
    size_t off = JNL_SEG_HDR_SIZE;
    uint64_t expect = h.first_seq;
    while (off < img.size) {
        jnl_rec_view v;
        jnl_rec_status st = jnl_rec_parse(img.data + off, img.size - off, &v);
        if (st != JNL_REC_OK && stop_seq != UINT64_MAX && s->last_seq == stop_seq)
            break; /* damage after the cut: it goes with the cut */
        if (st != JNL_REC_OK) {
            rc = vt_err_set(err, VT_ECORRUPT, "journal: %s at offset %zu: %s", path, off,
                            jnl_rec_status_name(st));
            goto cleanup;
        }
        if (v.seq != expect) {
            rc = vt_err_set(err, VT_ECORRUPT,
                            "journal: %s at offset %zu: record seq %" PRIu64 ", expected %" PRIu64,
                            path, off, v.seq, expect);
            goto cleanup;
        }
        if (v.seq > stop_seq)
            break;
        off += JNL_REC_HDR_SIZE + v.len;
        s->last_seq = v.seq;
        s->last_time = v.time;
        s->end = off;
        expect++;
    }
cleanup:
    jnl_image_unmap(&img);
    return rc;
}

static vt_rc jnl_create_empty_segment(const char *dir, uint64_t first, vt_err *err)
{
    char path[PATH_MAX];
    if (!jnl_seg_path(path, sizeof path, dir, first))
        return vt_err_set(err, VT_EINVAL, "journal: path too long in %s", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return vt_err_set(err, VT_EIO, "journal: create segment %s: %s", path, strerror(errno));
    uint8_t hdr[JNL_SEG_HDR_SIZE];
    jnl_seg_header_encode(hdr, first, wall_ns());
    vt_rc rc = VT_OK;
    if (vt_io_write_all(fd, hdr, sizeof hdr) != 0 || vt_io_fsync(fd) != 0)
        rc = vt_err_set(err, VT_EIO, "journal: write segment %s: %s", path, strerror(errno));
    close(fd);
    return rc;
}

vt_rc journal_truncate_after(const char *dir, uint64_t keep_upto_seq, vt_err *err)
{
    uint64_t *segs = NULL;
    size_t n = 0;
    vt_rc rc = jnl_list_segments(dir, &segs, &n, err);
    if (rc != VT_OK)
        return rc;
    char path[PATH_MAX];
    int fd = -1;
    if (n == 0) {
        rc = jnl_create_empty_segment(dir, keep_upto_seq + 1, err);
        goto done;
    }
    /* segs[0..k) start at or before keep_upto_seq; segs[k..n) hold only later records */
    size_t k = n;
    while (k > 0 && segs[k - 1] > keep_upto_seq)
        k--;
    size_t cut_from = k; /* the segments deleted */
    if (k == 0) {
        if (segs[0] != keep_upto_seq + 1) {
            rc = vt_err_set(err, VT_ENOTFOUND,
                            "journal %s starts at seq %" PRIu64 ": records up to %" PRIu64
                            " are missing",
                            dir, segs[0], keep_upto_seq);
            goto done;
        }
        /* the first segment starts right after: keep it, empty */
        jnl_seg_path(path, sizeof path, dir, segs[0]);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || ftruncate(fd, JNL_SEG_HDR_SIZE) != 0 || vt_io_fsync(fd) != 0) {
            rc = vt_err_set(err, VT_EIO, "journal: truncate %s: %s", path, strerror(errno));
            goto done;
        }
        cut_from = 1;
    } else {
        jnl_seg_path(path, sizeof path, dir, segs[k - 1]);
        fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0) {
            rc = vt_err_set(err, VT_EIO, "journal: open %s: %s", path, strerror(errno));
            goto done;
        }
        jnl_seg_scan s;
        rc = jnl_scan_segment(fd, path, keep_upto_seq, &s, err);
        if (rc != VT_OK)
            goto done;
        if (s.last_seq != keep_upto_seq) {
            rc = vt_err_set(err, VT_ENOTFOUND,
                            "journal %s ends at seq %" PRIu64 ", before seq %" PRIu64, dir,
                            s.last_seq, keep_upto_seq);
            goto done;
        }
        if (s.end < s.size &&
            (ftruncate(fd, (off_t)s.end) != 0 || vt_io_fsync(fd) != 0)) {
            rc = vt_err_set(err, VT_EIO, "journal: truncate %s at offset %" PRIu64 ": %s", path,
                            s.end, strerror(errno));
            goto done;
        }
    }
    for (size_t i = cut_from; i < n; i++) {
        jnl_seg_path(path, sizeof path, dir, segs[i]);
        if (unlink(path) != 0 && errno != ENOENT) {
            rc = vt_err_set(err, VT_EIO, "journal: remove %s: %s", path, strerror(errno));
            goto done;
        }
    }
done:
    if (fd >= 0)
        close(fd);
    free(segs);
    if (rc == VT_OK)
        rc = durable_fsync_dir(dir, err);
    return rc;
}

vt_rc journal_import_until(const char *dst_dir, const char *src_dir, int64_t until_time,
                           uint64_t *last_seq, int64_t *last_time, uint64_t *imported,
                           bool *reached, vt_err *err)
{
    *imported = 0;
    *reached = false;
    uint64_t *segs = NULL;
    size_t n = 0;
    journal_reader *r = NULL;
    int fd = -1;
    vt_rc rc = jnl_list_segments(dst_dir, &segs, &n, err);
    if (rc != VT_OK)
        return rc;
    if (n == 0) {
        free(segs);
        return vt_err_set(err, VT_EINVAL, "journal %s has no segment to extend", dst_dir);
    }
    char path[PATH_MAX];
    jnl_seg_path(path, sizeof path, dst_dir, segs[n - 1]);
    fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
    if (fd < 0) {
        rc = vt_err_set(err, VT_EIO, "journal: open %s: %s", path, strerror(errno));
        goto done;
    }
    jnl_seg_scan s;
    rc = jnl_scan_segment(fd, path, UINT64_MAX, &s, err);
    if (rc != VT_OK)
        goto done;
    *last_seq = s.last_seq;
    *last_time = s.last_time;
    rc = journal_reader_open(src_dir, s.last_seq + 1, &r, err);
    if (rc == VT_ENOTFOUND) {
        vt_err_prefix(err, "archive gap after seq %" PRIu64, s.last_seq);
        goto done;
    }
    if (rc != VT_OK)
        goto done;
    for (;;) {
        journal_record rec;
        bool have = false;
        rc = journal_reader_next(r, &rec, &have, err);
        if (rc != VT_OK || !have)
            break;
        if (rec.seq != *last_seq + 1) {
            rc = vt_err_set(err, VT_ENOTFOUND,
                            "archive gap: journal %s continues at seq %" PRIu64 ", not %" PRIu64,
                            src_dir, rec.seq, *last_seq + 1);
            break;
        }
        if (rec.time > until_time) {
            *reached = true;
            break;
        }
        uint8_t h[JNL_REC_HDR_SIZE];
        jnl_rec_header_encode(h, rec.len, rec.type, rec.seq, rec.time, crc32c(rec.data, rec.len));
        if (vt_io_write_all(fd, h, sizeof h) != 0 ||
            (rec.len && vt_io_write_all(fd, rec.data, rec.len) != 0)) {
            rc = vt_err_set(err, VT_EIO, "journal: append to %s: %s", path, strerror(errno));
            break;
        }
        *last_seq = rec.seq;
        *last_time = rec.time;
        (*imported)++;
    }
    if (rc == VT_OK && *imported > 0 && vt_io_fsync(fd) != 0)
        rc = vt_err_set(err, VT_EIO, "journal: fsync %s: %s", path, strerror(errno));
done:
    journal_reader_close(r);
    if (fd >= 0)
        close(fd);
    free(segs);
    return rc;
}
