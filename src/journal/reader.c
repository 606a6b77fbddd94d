/*
 * journal/reader.c — sequential reader over a journal directory, live or not.
 *
 * The reader takes no lock and may follow a journal another thread or process is appending to
 * (format and writer rules: top of journal.c). It relies on three writer guarantees:
 *   - a record is one write() at the end of the last segment, so at the tail of the last segment
 *     a reader may see a partial record: that is "nothing more yet" (have = false), and the next
 *     call reads the same offset again;
 *   - a segment is complete and fsynced before the next one is created, so once a later segment
 *     exists, damage in an earlier one is real (after one re-read, to close the race where the
 *     writer finished the record and rolled between our read and our directory listing);
 *   - a new segment is named after exactly the seq following the previous one's last record.
 *
 * Reads go through a window buffer refilled with pread (READ_CHUNK at a time), so replaying a
 * segment of small records costs a syscall per megabyte, not per record. A returned record's
 * data points into that window: valid until the next reader call.
 *
 * from_seq == 0 means "from the oldest record kept". A from_seq below the oldest retained seq
 * fails with VT_ENOTFOUND: the records asked for are gone, and skipping them silently would make
 * an applier lose data.
 */
#include "journal/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "journal/journal_int.h"

#define READ_CHUNK (1u << 20)

struct journal_reader {
    char *dir;
    uint64_t from_seq;
    uint64_t next_seq;   /* seq the next record must carry */
    int fd;              /* current segment, -1 before one is picked */
    uint64_t seg_first;
    char path[PATH_MAX];
    bool hdr_ok;         /* the current segment's header was read and checked */
    uint64_t off;        /* offset of the next record in the current segment */
    vt_buf win;          /* file bytes [win_off, win_off + win.len) of the current segment */
    uint64_t win_off;
};

/* Makes the window hold file bytes [off, off + n), or as many as the file has; *p points at
 * byte off and *got says how many of the n are there. */
static vt_rc reader_fetch(journal_reader *r, uint64_t off, size_t n, const uint8_t **p, size_t *got,
                          vt_err *err)
{
    if (off >= r->win_off && off - r->win_off <= r->win.len && n <= r->win.len - (off - r->win_off)) {
        *p = r->win.data + (off - r->win_off);
        *got = n;
        return VT_OK;
    }
    size_t want = n > READ_CHUNK ? n : READ_CHUNK;
    vt_buf_reset(&r->win);
    r->win_off = off;
    if (!vt_buf_reserve(&r->win, want)) {
        r->win.oom = false;
        return vt_err_set(err, VT_ENOMEM, "journal: reading %s: out of memory (%zu bytes)", r->path, want);
    }
    size_t have = 0;
    while (have < want) {
        ssize_t k = pread(r->fd, r->win.data + have, want - have, (off_t)(off + have));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return vt_err_set(err, VT_EIO, "journal: read %s at offset %" PRIu64 ": %s", r->path, off + have,
                              strerror(errno));
        if (k == 0)
            break;
        have += (size_t)k;
    }
    r->win.len = have;
    *p = r->win.data;
    *got = have < n ? have : n;
    return VT_OK;
}

static vt_rc reader_open_segment(journal_reader *r, uint64_t first, vt_err *err)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    if (!jnl_seg_path(r->path, sizeof r->path, r->dir, first))
        return vt_err_set(err, VT_EINVAL, "journal: path too long in %s", r->dir);
    r->fd = open(r->path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0)
        return vt_err_set(err, VT_EIO, "journal: open %s: %s", r->path, strerror(errno));
    r->seg_first = first;
    r->next_seq = first;
    r->hdr_ok = false;
    r->off = 0;
    vt_buf_reset(&r->win);
    r->win_off = 0;
    return VT_OK;
}

/* Picks the segment holding from_seq (or the oldest). *found = false when there is none yet. */
static vt_rc reader_pick(journal_reader *r, bool *found, vt_err *err)
{
    uint64_t *segs;
    size_t n;
    *found = false;
    vt_rc rc = jnl_list_segments(r->dir, &segs, &n, err);
    if (rc != VT_OK)
        return rc;
    if (n == 0)
        goto cleanup;
    size_t idx = 0;
    if (r->from_seq != 0) {
        if (segs[0] > r->from_seq) {
            rc = vt_err_set(err, VT_ENOTFOUND,
                            "journal %s: seq %" PRIu64 " is no longer retained (the oldest segment starts at %" PRIu64
                            ")",
                            r->dir, r->from_seq, segs[0]);
            goto cleanup;
        }
        while (idx + 1 < n && segs[idx + 1] <= r->from_seq)
            idx++;
    }
    rc = reader_open_segment(r, segs[idx], err);
    if (rc == VT_OK)
        *found = true;
cleanup:
    free(segs);
    return rc;
}

/* The first segment after the current one: *later = 0 when there is none. */
static vt_rc reader_later_segment(journal_reader *r, uint64_t *later, vt_err *err)
{
    uint64_t *segs;
    size_t n;
    *later = 0;
    vt_rc rc = jnl_list_segments(r->dir, &segs, &n, err);
    if (rc != VT_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (segs[i] > r->seg_first) {
            *later = segs[i];
            break;
        }
    }
    free(segs);
    return VT_OK;
}

vt_rc journal_reader_open(const char *dir, uint64_t from_seq, journal_reader **out, vt_err *err)
{
    *out = NULL;
    journal_reader *r = calloc(1, sizeof *r);
    if (!r)
        return vt_err_set(err, VT_ENOMEM, "journal: out of memory");
    r->fd = -1;
    r->from_seq = from_seq;
    vt_buf_init(&r->win);
    r->dir = strdup(dir);
    if (!r->dir) {
        free(r);
        return vt_err_set(err, VT_ENOMEM, "journal: out of memory");
    }
    bool found;
    vt_rc rc = reader_pick(r, &found, err);
    if (rc != VT_OK) {
        journal_reader_close(r);
        return rc;
    }
    *out = r;
    return VT_OK;
}

void journal_reader_close(journal_reader *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    vt_buf_free(&r->win);
    free(r->dir);
    free(r);
}

/* Is there a complete, valid record with seq >= next_seq after off in the current segment? */
static vt_rc reader_valid_after(journal_reader *r, uint64_t off, bool *yes, vt_err *err)
{
    jnl_image img;
    *yes = false;
    vt_rc rc = jnl_image_map(r->fd, r->path, &img, err);
    if (rc != VT_OK)
        return rc;
    if (img.size > off)
        *yes = jnl_find_next_valid(img.data, img.size, (size_t)off + 1, r->next_seq, NULL) != SIZE_MAX;
    jnl_image_unmap(&img);
    return VT_OK;
}

vt_rc journal_reader_next(journal_reader *r, journal_record *rec, bool *have, vt_err *err)
{
    *have = false;
    bool retried = false;
    for (;;) {
        vt_rc rc;
        if (r->fd < 0) {
            bool found;
            rc = reader_pick(r, &found, err);
            if (rc != VT_OK || !found)
                return rc;
        }
        const uint8_t *p;
        size_t got;
        if (!r->hdr_ok) {
            rc = reader_fetch(r, 0, JNL_SEG_HDR_SIZE, &p, &got, err);
            if (rc != VT_OK)
                return rc;
            if (got < JNL_SEG_HDR_SIZE) {
                /* being created right now, unless a later segment exists */
                uint64_t later;
                rc = reader_later_segment(r, &later, err);
                if (rc != VT_OK)
                    return rc;
                if (later == 0)
                    return VT_OK;
                if (!retried) {
                    retried = true;
                    continue;
                }
                return vt_err_set(err, VT_ECORRUPT, "journal: %s at offset 0: segment header truncated (%zu bytes)",
                                  r->path, got);
            }
            jnl_seg_header h;
            char why[160];
            if (!jnl_seg_header_decode(p, &h, why, sizeof why))
                return vt_err_set(err, VT_ECORRUPT, "journal: %s at offset 0: %s", r->path, why);
            if (h.first_seq != r->seg_first)
                return vt_err_set(err, VT_ECORRUPT,
                                  "journal: %s at offset 16: header says first seq %" PRIu64 ", the name %" PRIu64,
                                  r->path, h.first_seq, r->seg_first);
            r->hdr_ok = true;
            r->off = JNL_SEG_HDR_SIZE;
        }

        rc = reader_fetch(r, r->off, JNL_REC_HDR_SIZE, &p, &got, err);
        if (rc != VT_OK)
            return rc;
        if (got == 0) {
            /* clean end of this segment: move on if the next one exists */
            uint64_t later;
            rc = reader_later_segment(r, &later, err);
            if (rc != VT_OK || later == 0)
                return rc;
            struct stat st;
            if (fstat(r->fd, &st) != 0)
                return vt_err_set(err, VT_EIO, "journal: stat %s: %s", r->path, strerror(errno));
            if ((uint64_t)st.st_size > r->off)
                continue; /* it grew before the roll: read on */
            if (later != r->next_seq)
                return vt_err_set(err, VT_ECORRUPT,
                                  "journal: %s at offset %" PRIu64 ": seq gap: segment ends before seq %" PRIu64
                                  " but the next segment starts at %" PRIu64,
                                  r->path, r->off, r->next_seq, later);
            rc = reader_open_segment(r, later, err);
            if (rc != VT_OK)
                return rc;
            retried = false;
            continue;
        }
        jnl_rec_status st = JNL_REC_SHORT;
        jnl_rec_view v;
        if (got == JNL_REC_HDR_SIZE) {
            uint32_t len = vt_get_u32(p);
            if (len > JNL_HARD_MAX_RECORD) {
                st = JNL_REC_BADLEN;
            } else {
                struct stat sb;
                if (fstat(r->fd, &sb) != 0)
                    return vt_err_set(err, VT_EIO, "journal: stat %s: %s", r->path, strerror(errno));
                if ((uint64_t)sb.st_size >= r->off + JNL_REC_HDR_SIZE + len) {
                    rc = reader_fetch(r, r->off, JNL_REC_HDR_SIZE + (size_t)len, &p, &got, err);
                    if (rc != VT_OK)
                        return rc;
                    st = jnl_rec_parse(p, got, &v);
                }
            }
        }
        if (st != JNL_REC_OK) {
            uint64_t later;
            rc = reader_later_segment(r, &later, err);
            if (rc != VT_OK)
                return rc;
            bool damaged = later != 0;
            if (!damaged && st != JNL_REC_SHORT) {
                rc = reader_valid_after(r, r->off, &damaged, err);
                if (rc != VT_OK)
                    return rc;
            }
            if (!damaged)
                return VT_OK; /* a record still being written: nothing more for now */
            if (!retried) {
                retried = true;
                vt_buf_reset(&r->win); /* read it again from the file */
                continue;
            }
            return vt_err_set(err, VT_ECORRUPT, "journal: %s at offset %" PRIu64 ": %s (seq %" PRIu64 ")", r->path,
                              r->off, jnl_rec_status_name(st), r->next_seq);
        }
        if (v.seq != r->next_seq)
            return vt_err_set(err, VT_ECORRUPT,
                              "journal: %s at offset %" PRIu64 ": record has seq %" PRIu64 ", expected %" PRIu64,
                              r->path, r->off, v.seq, r->next_seq);
        r->off += JNL_REC_HDR_SIZE + v.len;
        r->next_seq++;
        retried = false;
        if (v.seq < r->from_seq)
            continue;
        rec->seq = v.seq;
        rec->type = v.type;
        rec->time = v.time;
        rec->data = v.data;
        rec->len = v.len;
        *have = true;
        return VT_OK;
    }
}
