/*
 * journal/verify.c — offline check of a journal directory (format: top of journal.c).
 *
 * Every segment is mapped and walked record by record: header (magic, version, CRC, first seq =
 * name), each record's length and CRC, seq continuity inside a segment and across segments. One
 * report per problem, with file and byte offset. After a damaged record the walk resynchronises
 * on the next valid record (seq within JNL_SEQ_WINDOW of the expected one) and goes on, so one
 * flipped byte is one problem, not a cascade. A torn tail of the last segment, which journal_open
 * would truncate, is reported as a problem too: verify answers "is every byte accounted for?".
 * verify takes no lock; run against a live journal it may report the record being appended as a
 * torn tail.
 */
#include "journal/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "journal/journal_int.h"

typedef struct verify_ctx {
    journal_verify_report report;
    void *ctx;
    unsigned problems;
} verify_ctx;

static void problem(verify_ctx *v, const char *file, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void problem(verify_ctx *v, const char *file, uint64_t off, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    v->problems++;
    if (v->report)
        v->report(v->ctx, file, off, msg);
}

/* Walks one segment. *expect: seq the first record must have (0 = unknown); updated to the seq
 * after the last record seen. */
static void verify_segment(verify_ctx *v, const char *path, uint64_t name_seq, bool last,
                           uint64_t *expect, uint64_t *records)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        problem(v, path, 0, "cannot open: %s", strerror(errno));
        *expect = 0;
        return;
    }
    jnl_image img;
    vt_err err;
    if (jnl_image_map(fd, path, &img, &err) != VT_OK) {
        problem(v, path, 0, "%s", err.msg);
        close(fd);
        *expect = 0;
        return;
    }
    close(fd);

    if (*expect != 0 && name_seq != *expect)
        problem(v, path, 0, "seq gap: the previous segment ends before seq %" PRIu64 ", this one starts at %" PRIu64,
                *expect, name_seq);

    jnl_seg_header h;
    char why[160];
    if (img.size < JNL_SEG_HDR_SIZE) {
        problem(v, path, 0, "segment header truncated (%zu of %u bytes)%s", img.size, JNL_SEG_HDR_SIZE,
                last ? ": a torn segment creation, open would recreate it" : "");
        *expect = name_seq;
        goto cleanup;
    }
    if (!jnl_seg_header_decode(img.data, &h, why, sizeof why)) {
        problem(v, path, 0, "%s", why);
        if (img.size == JNL_SEG_HDR_SIZE) {
            *expect = name_seq;
            goto cleanup;
        }
    } else if (h.first_seq != name_seq) {
        problem(v, path, 16, "header says first seq %" PRIu64 ", the file name %" PRIu64, h.first_seq, name_seq);
    }

    uint64_t seq = name_seq;
    size_t off = JNL_SEG_HDR_SIZE;
    while (off < img.size) {
        jnl_rec_view r;
        jnl_rec_status st = jnl_rec_parse(img.data + off, img.size - off, &r);
        if (st == JNL_REC_OK) {
            if (r.seq != seq)
                problem(v, path, off, "record has seq %" PRIu64 ", expected %" PRIu64, r.seq, seq);
            (*records)++;
            seq = r.seq + 1;
            off += JNL_REC_HDR_SIZE + r.len;
            continue;
        }
        uint64_t nseq = 0;
        size_t next = jnl_find_next_valid(img.data, img.size, off + 1, seq, &nseq);
        if (next == SIZE_MAX) {
            if (last)
                problem(v, path, off, "torn tail: %zu bytes (%s), would be truncated on open", img.size - off,
                        jnl_rec_status_name(st));
            else
                problem(v, path, off, "%s (seq %" PRIu64 "); the %zu bytes to the end of the segment are unreadable",
                        jnl_rec_status_name(st), seq, img.size - off);
            break;
        }
        problem(v, path, off, "%s (seq %" PRIu64 "); %zu bytes skipped up to the next valid record (seq %" PRIu64 ")",
                jnl_rec_status_name(st), seq, next - off, nseq);
        off = next;
        seq = nseq;
    }
    *expect = seq;
cleanup:
    jnl_image_unmap(&img);
}

unsigned journal_verify(const char *dir, journal_verify_report report, void *ctx,
                        uint64_t *records, unsigned *segments)
{
    verify_ctx v = {report, ctx, 0};
    uint64_t nrec = 0;
    unsigned nseg = 0;
    uint64_t *segs = NULL;
    size_t n = 0;
    vt_err err;
    if (jnl_list_segments(dir, &segs, &n, &err) != VT_OK) {
        problem(&v, dir, 0, "%s", err.msg);
        goto out;
    }
    uint64_t expect = 0;
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        if (!jnl_seg_path(path, sizeof path, dir, segs[i])) {
            problem(&v, dir, 0, "path too long");
            break;
        }
        nseg++;
        verify_segment(&v, path, segs[i], i + 1 == n, &expect, &nrec);
    }
out:
    free(segs);
    if (records)
        *records = nrec;
    if (segments)
        *segments = nseg;
    return v.problems;
}
