/*
 * tests/unit/test_journal.c — covers src/journal/{journal,reader,verify}.c.
 *
 * Round trip with segment rolls, reopen, torn tails at every kind of offset, corruption in the
 * middle and in earlier segments, crash-mid-roll leftovers, fault injection on every write and
 * fsync of an append sequence (then reopen: every acknowledged record is there and verify is
 * clean), group commit under threads, fsync policies, retention, verify counts, live reader.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "common/faultinj.h"
#include "journal/journal.h"
#include "journal/journal_int.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static void make_dir(char *out, size_t cap)
{
    snprintf(out, cap, "/tmp/volta_journal_XXXXXX");
    assert_non_null(mkdtemp(out));
}

static void remove_dir(const char *dir)
{
    uint64_t *segs = NULL;
    size_t n = 0;
    vt_err err;
    if (jnl_list_segments(dir, &segs, &n, &err) == VT_OK) {
        for (size_t i = 0; i < n; i++) {
            char p[PATH_MAX];
            jnl_seg_path(p, sizeof p, dir, segs[i]);
            unlink(p);
        }
    }
    free(segs);
    rmdir(dir);
}

/* Deterministic payload of record seq: length 0..299, bytes derived from seq. */
static size_t payload_for(uint64_t seq, uint8_t *buf)
{
    size_t len = (size_t)((seq * 37u) % 300u);
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(seq * 131u + i * 7u);
    return len;
}

static uint16_t type_for(uint64_t seq)
{
    return (uint16_t)(1 + seq % 3);
}

static uint64_t rec_size(uint64_t seq)
{
    uint8_t b[300];
    return JNL_REC_HDR_SIZE + payload_for(seq, b);
}

static journal *open_ok(const char *dir, journal_fsync_policy pol, uint64_t seg_bytes, journal_open_info *info)
{
    journal_options o = {.fsync = pol, .segment_bytes = seg_bytes, .interval_ms = 20};
    journal *j = NULL;
    vt_err err;
    vt_rc rc = journal_open(dir, &o, &j, info, &err);
    if (rc != VT_OK)
        fail_msg("journal_open(%s): %s", dir, err.msg);
    return j;
}

static uint64_t append_seq(journal *j, uint64_t expect)
{
    uint8_t b[300];
    size_t len = payload_for(expect, b);
    uint64_t seq = 0;
    vt_err err;
    vt_rc rc = journal_append(j, type_for(expect), b, len, &seq, &err);
    if (rc != VT_OK)
        fail_msg("append %" PRIu64 ": %s", expect, err.msg);
    assert_int_equal(seq, expect);
    return seq;
}

/* Reads from `from_arg` (0 = the oldest) and expects exactly the records from..to with their
 * payloads. */
static void check_records_from(const char *dir, uint64_t from_arg, uint64_t from, uint64_t to)
{
    journal_reader *r = NULL;
    vt_err err;
    vt_rc rc = journal_reader_open(dir, from_arg, &r, &err);
    if (rc != VT_OK)
        fail_msg("reader_open: %s", err.msg);
    uint8_t b[300];
    for (uint64_t s = from; s <= to; s++) {
        journal_record rec;
        bool have = false;
        rc = journal_reader_next(r, &rec, &have, &err);
        if (rc != VT_OK)
            fail_msg("reader_next at %" PRIu64 ": %s", s, err.msg);
        assert_true(have);
        assert_int_equal(rec.seq, s);
        assert_int_equal(rec.type, type_for(s));
        size_t len = payload_for(s, b);
        assert_int_equal(rec.len, len);
        if (len)
            assert_memory_equal(rec.data, b, len);
        assert_true(rec.time > 0);
    }
    journal_record rec;
    bool have = true;
    assert_int_equal(journal_reader_next(r, &rec, &have, &err), VT_OK);
    assert_false(have);
    journal_reader_close(r);
}

static void check_records(const char *dir, uint64_t from, uint64_t to)
{
    check_records_from(dir, from, from, to);
}

static void last_segment_path(const char *dir, char *out, size_t cap)
{
    uint64_t *segs = NULL;
    size_t n = 0;
    vt_err err;
    assert_int_equal(jnl_list_segments(dir, &segs, &n, &err), VT_OK);
    assert_true(n > 0);
    jnl_seg_path(out, cap, dir, segs[n - 1]);
    free(segs);
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

static void flip_byte(const char *path, uint64_t off)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t c;
    assert_int_equal(pread(fd, &c, 1, (off_t)off), 1);
    c ^= 0x40;
    assert_int_equal(pwrite(fd, &c, 1, (off_t)off), 1);
    close(fd);
}

static void truncate_file(const char *path, uint64_t size)
{
    assert_int_equal(truncate(path, (off_t)size), 0);
}

typedef struct report_log {
    unsigned n;
    uint64_t offsets[16];
    char msgs[16][256];
} report_log;

static void log_report(void *ctx, const char *file, uint64_t offset, const char *problem)
{
    report_log *l = ctx;
    if (l->n < 16) {
        l->offsets[l->n] = offset;
        snprintf(l->msgs[l->n], sizeof l->msgs[0], "%s: %s", file, problem);
    }
    l->n++;
}

static unsigned verify_dir(const char *dir, report_log *log, uint64_t *records, unsigned *segments)
{
    report_log local;
    memset(&local, 0, sizeof local);
    if (!log)
        log = &local;
    unsigned p = journal_verify(dir, log_report, log, records, segments);
    assert_int_equal(p, log->n);
    for (unsigned i = 0; i < log->n && i < 16; i++)
        print_message("  verify: %s (offset %" PRIu64 ")\n", log->msgs[i], log->offsets[i]);
    return p;
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_round_trip_rolls_reopen(void **state)
{
    (void)state;
    char dir[64];
    make_dir(dir, sizeof dir);
    journal_open_info info;
    journal *j = open_ok(dir, JOURNAL_FSYNC_NEVER, 4096, &info);
    assert_int_equal(info.first_seq, 0);
    assert_int_equal(info.last_seq, 0);
    assert_int_equal(info.segments, 1);
    for (uint64_t s = 1; s <= 1000; s++)
        append_seq(j, s);
    assert_int_equal(journal_last_seq(j), 1000);
    assert_int_equal(journal_first_seq(j), 1);
    journal_close(j);

    check_records(dir, 1, 1000);
    check_records_from(dir, 0, 1, 1000); /* 0 = from the oldest */

    j = open_ok(dir, JOURNAL_FSYNC_ALWAYS, 4096, &info);
    assert_int_equal(info.first_seq, 1);
    assert_int_equal(info.last_seq, 1000);
    assert_int_equal(info.torn_bytes, 0);
    assert_true(info.segments > 30); /* ~150 KB in 4 KB segments */
    append_seq(j, 1001);
    journal_close(j);
    check_records(dir, 1, 1001);

    uint64_t records = 0;
    unsigned segments = 0;
    assert_int_equal(verify_dir(dir, NULL, &records, &segments), 0);
    assert_int_equal(records, 1001);
    assert_int_equal(segments, info.segments);
    remove_dir(dir);
}

/* journal_write2 (head ++ body written from two buffers) stores the same payload and checksum as
 * journal_write of the concatenation: small records (copied whole), a large body (written from
 * the caller's memory after the head), a large head alone, and an empty head or body. */
static void test_write2_head_and_body(void **state)
{
    (void)state;
    char dir[64];
    make_dir(dir, sizeof dir);
    journal *j = open_ok(dir, JOURNAL_FSYNC_NEVER, 1 << 20, NULL);
    size_t big = 200 * 1024;
    uint8_t *buf = malloc(big + 64);
    assert_non_null(buf);
    for (size_t i = 0; i < big + 64; i++)
        buf[i] = (uint8_t)(i * 31u + (i >> 9));
    const struct {
        size_t head, body;
    } shapes[] = {{10, 20}, {0, 50}, {30, 0}, {0, 0}, {40, big}, {big, 0}, {big, 64}};
    const size_t nshapes = sizeof shapes / sizeof shapes[0];
    vt_err err;
    for (size_t k = 0; k < nshapes; k++) {
        uint64_t seq = 0;
        vt_rc rc = journal_write2(j, 1, buf, shapes[k].head, buf + shapes[k].head,
                                  shapes[k].body, &seq, &err);
        if (rc != VT_OK)
            fail_msg("write2 %zu: %s", k, err.msg);
        assert_int_equal(seq, k + 1);
    }
    journal_close(j);
    assert_int_equal(verify_dir(dir, NULL, NULL, NULL), 0);
    journal_reader *r = NULL;
    assert_int_equal(journal_reader_open(dir, 1, &r, &err), VT_OK);
    for (size_t k = 0; k < nshapes; k++) {
        journal_record rec;
        bool have = false;
        assert_int_equal(journal_reader_next(r, &rec, &have, &err), VT_OK);
        assert_true(have);
        assert_int_equal(rec.seq, k + 1);
        assert_int_equal(rec.len, shapes[k].head + shapes[k].body);
        if (rec.len)
            assert_memory_equal(rec.data, buf, rec.len);
    }
    journal_reader_close(r);
    free(buf);
    remove_dir(dir);
}

static void test_reader_from_middle(void **state)
{
    (void)state;
    char dir[64];
    make_dir(dir, sizeof dir);
    journal *j = open_ok(dir, JOURNAL_FSYNC_NEVER, 2048, NULL);
    for (uint64_t s = 1; s <= 700; s++)
        append_seq(j, s);
    journal_close(j);
    check_records(dir, 537, 700);
    check_records(dir, 700, 700);
    check_records(dir, 701, 700); /* nothing yet */
    remove_dir(dir);
}

static void test_torn_tail(void **state)
{
    (void)state;
    srand(12345);
    /* cut inside the last record's header, at its very first byte, inside the payload, one byte
     * short; plus a complete last record with a bad CRC */
    for (int c = 0; c < 9; c++) {
        char dir[64];
        make_dir(dir, sizeof dir);
        journal *j = open_ok(dir, JOURNAL_FSYNC_NEVER, 1 << 20, NULL);
        for (uint64_t s = 1; s <= 20; s++)
            append_seq(j, s);
        journal_close(j);

        char path[PATH_MAX];
        last_segment_path(dir, path, sizeof path);
        uint64_t size = file_size(path);
        uint64_t last = rec_size(20);
        uint64_t start = size - last;
        uint64_t keep; /* bytes of the last record left */
        uint64_t torn;
        if (c == 0) {
            keep = 1;
        } else if (c == 1) {
            keep = last - 1;
        } else if (c == 2) {
            keep = 27; /* header minus one byte */
        } else if (c < 8) {
            keep = 1 + (uint64_t)rand() % (last - 1);
        } else {
            keep = last;
            flip_byte(path, size - 3);
        }
        if (keep < last)
            truncate_file(path, start + keep);
        torn = keep;

        journal_open_info info;
        j = open_ok(dir, JOURNAL_FSYNC_ALWAYS, 1 << 20, &info);
        assert_int_equal(info.torn_bytes, torn);
        assert_int_equal(info.last_seq, 19);
        assert_int_equal(file_size(path), start);
        append_seq(j, 20);
        journal_close(j);
        check_records(dir, 1, 20);
        assert_int_equal(verify_dir(dir, NULL, NULL, NULL), 0);
        remove_dir(dir);
    }
}

static uint64_t record_offset(uint64_t seq)
{
    uint64_t off = JNL_SEG_HDR_SIZE;
    for (uint64_t s = 1; s < seq; s++)
        off += rec_size(s);
    return off;
}

static void test_flipped_byte_middle_is_corrupt(void **state)
{
    (void)state;
    char dir[64];
    make_dir(dir, sizeof dir);
    journal *j = open_ok(dir, JOURNAL_FSYNC_NEVER, 1 << 20, NULL);
    for (uint64_t s = 1; s <= 50; s++)
        append_seq(j, s);
    journal_close(j);
    char path[PATH_MAX];
    last_segment_path(dir, path, sizeof path);
    uint64_t off25 = record_offset(25);
    flip_byte(path, off25 + JNL_REC_HDR_SIZE + 5); /* inside record 25's payload */

    journal *j2 = NULL;
    vt_err err;
    assert_int_equal(journal_open(dir, NULL, &j2, NULL, &err), VT_ECORRUPT);
    assert_null(j2);
    char want[64];
    snprintf(want, sizeof want, "offset %" PRIu64, off25);
    assert_non_null(strstr(err.msg, want));
    assert_non_null(strstr(err.msg, path));
    assert_int_equal(file_size(path), record_offset(51)); /* nothing truncated */

    report_log log;
    memset(&log, 0, sizeof log);
    uint64_t records;
    assert_int_equal(verify_dir(dir, &log, &records, NULL), 1);
    assert_int_equal(log.offsets[0], off25);
    assert_int_equal(records, 49);

    /* the reader delivers 1..24, then reports the damage */
    journal_reader *r;
    assert_int_equal(journal_reader_open(dir, 1, &r, &err), VT_OK);
    journal_record rec;
    bool have;
    for (uint64_t s = 1; s <= 24; s++) {
        assert_int_equal(journal_reader_next(r, &rec, &have, &err), VT_OK);
        assert_true(have);
        assert_int_equal(rec.seq, s);
    }
    assert_int_equal(journal_reader_next(r, &rec, &have, &err), VT_ECORRUPT);
    assert_non_null(strstr(err.msg, want));
    journal_reader_close(r);

    /* a damaged length field (claims to run past the end) is corruption too, not a torn tail */
    flip_byte(path, off25 + JNL_REC_HDR_SIZE + 5); /* repair */
    uint64_t off30 = record_offset(30);
    flip_byte(path, off30 + 3); /* high byte of the length */
    assert_int_equal(journal_open(dir, NULL, &j2, NULL, &err), VT_ECORRUPT);
    snprintf(want, sizeof want, "offset %" PRIu64, off30);
    assert_non_null(strstr(err.msg, want));
    remove_dir(dir);
}

static void test_damage_in_earlier_segment(void **state)
{
    (void)state;
    for (int c = 0; c < 3; c++) {
        char dir[64];
        make_dir(dir, sizeof dir);
        journal *j = open_ok(dir, JOURNAL_FSYNC_NEVER, 1024, NULL);
        for (uint64_t s = 1; s <= 100; s++)
            append_seq(j, s);
        journal_close(j);
        uint64_t *segs;
        size_t n;
        vt_err err;
        assert_int_equal(jnl_list_segments(dir, &segs, &n, &err), VT_OK);
        assert_true(n >= 3);
        char path[PATH_MAX];
        jnl_seg_path(path, sizeof path, dir, segs[1]);
        uint64_t size = file_size(path);
        if (c == 0)
            flip_byte(path, size - 2); /* last record of a non-last segment: not a torn tail */
        else if (c == 1)
            truncate_file(path, size - 1);
        else
            unlink(path); /* a missing segment: seq gap */
        journal *j2 = NULL;
        assert_int_equal(journal_open(dir, NULL, &j2, NULL, &err), VT_ECORRUPT);
        assert_non_null(strstr(err.msg, c == 2 ? "gap" : path));
        assert_true(verify_dir(dir, NULL, NULL, NULL) >= 1);
        free(segs);
        remove_dir(dir);
    }
}

static void test_crash_mid_roll_leftovers(void **state)
{
    (void)state;
    for (int c = 0; c < 2; c++) {
        char dir[64];
        make_dir(dir, sizeof dir);
        journal *j = open_ok(dir, JOURNAL_FSYNC_NEVER, 1 << 20, NULL);
        for (uint64_t s = 1; s <= 10; s++)
            append_seq(j, s);
        journal_close(j);
        /* a new segment 11 left by a crash: header only, or a torn header */
        char path[PATH_MAX];
        jnl_seg_path(path, sizeof path, dir, 11);
        uint8_t hdr[JNL_SEG_HDR_SIZE];
        jnl_seg_header_encode(hdr, 11, 1);
        size_t n = c == 0 ? sizeof hdr : 15;
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, hdr, n), (ssize_t)n);
        close(fd);

        journal_open_info info;
        j = open_ok(dir, JOURNAL_FSYNC_ALWAYS, 1 << 20, &info);
        assert_int_equal(info.last_seq, 10);
        assert_int_equal(info.segments, 2);
        assert_int_equal(info.torn_bytes, c == 0 ? 0 : 15);
        append_seq(j, 11);
        journal_close(j);
        assert_int_equal(file_size(path), JNL_SEG_HDR_SIZE + rec_size(11));
        check_records(dir, 1, 11);
        assert_int_equal(verify_dir(dir, NULL, NULL, NULL), 0);
        remove_dir(dir);
    }
}

/* Fail the nth write or fsync of an append sequence (with segment rolls in it); afterwards the
 * journal is failed for good, and a reopen finds every acknowledged record and verifies clean. */
static void test_fault_injection(void **state)
{
    (void)state;
    const vt_fault_op ops[2] = {VT_FAULT_WRITE, VT_FAULT_FSYNC};
    for (int o = 0; o < 2; o++) {
        for (unsigned long nth = 1; nth <= 12; nth++) {
            char dir[64];
            make_dir(dir, sizeof dir);
            journal *j = open_ok(dir, JOURNAL_FSYNC_ALWAYS, 700, NULL);
            vt_fault_reset();
            vt_fault_arm(ops[o], nth, 0);
            uint64_t acked = 0;
            vt_rc rc = VT_OK;
            vt_err err;
            uint8_t b[300];
            for (uint64_t s = 1; s <= 40; s++) {
                size_t len = payload_for(s, b);
                uint64_t seq = 0;
                rc = journal_append(j, type_for(s), b, len, &seq, &err);
                if (rc != VT_OK)
                    break;
                assert_int_equal(seq, s);
                acked = s;
            }
            assert_int_equal(vt_fault_injected(), 1);
            /* VT_EIO when this writer led the failed fsync, VT_EFATAL when the syncer did
             * (journal.c note 4); a failed write is always this writer's own */
            if (ops[o] == VT_FAULT_WRITE)
                assert_int_equal(rc, VT_EIO);
            else
                assert_true(rc == VT_EIO || rc == VT_EFATAL);
            assert_true(journal_failed(j));
            assert_non_null(strstr(err.msg, "restart"));
            /* sticky: even with the fault gone */
            vt_fault_reset();
            assert_int_equal(journal_append(j, 1, "x", 1, NULL, &err), VT_EFATAL);
            assert_non_null(strstr(err.msg, "restart"));
            assert_int_equal(journal_write(j, 1, "x", 1, NULL, &err), VT_EFATAL);
            journal_close(j);

            journal_open_info info;
            j = open_ok(dir, JOURNAL_FSYNC_ALWAYS, 700, &info);
            /* acknowledged records are all there; the failed one may be too (it was written) */
            assert_true(info.last_seq == acked || info.last_seq == acked + 1);
            if (ops[o] == VT_FAULT_WRITE)
                assert_int_equal(info.last_seq, acked); /* its write was cut in half */
            uint64_t next = info.last_seq + 1;
            append_seq(j, next);
            journal_close(j);
            check_records(dir, 1, next);
            assert_int_equal(verify_dir(dir, NULL, NULL, NULL), 0);
            remove_dir(dir);
        }
    }
    vt_fault_reset();
}

#define GC_THREADS 4
#define GC_APPENDS 100

typedef struct gc_arg {
    journal *j;
    uint64_t seqs[GC_APPENDS];
    int two_phase;
} gc_arg;

static void *gc_main(void *p)
{
    gc_arg *a = p;
    uint8_t b[64];
    memset(b, 0xab, sizeof b);
    for (int i = 0; i < GC_APPENDS; i++) {
        vt_err err;
        uint64_t seq = 0;
        vt_rc rc;
        if (a->two_phase) {
            rc = journal_write(a->j, JOURNAL_REC_WRITE, b, sizeof b, &seq, &err);
            if (rc == VT_OK)
                rc = journal_sync_to(a->j, seq, &err);
        } else {
            rc = journal_append(a->j, JOURNAL_REC_WRITE, b, sizeof b, &seq, &err);
        }
        a->seqs[i] = rc == VT_OK ? seq : 0;
    }
    return NULL;
}

static void test_group_commit(void **state)
{
    (void)state;
    char dir[64];
    make_dir(dir, sizeof dir);
    journal *j = open_ok(dir, JOURNAL_FSYNC_ALWAYS, 8192, NULL); /* with rolls */
    uint64_t before = journal_fsync_count(j);
    pthread_t t[GC_THREADS];
    static gc_arg args[GC_THREADS];
    for (int i = 0; i < GC_THREADS; i++) {
        args[i].j = j;
        args[i].two_phase = i % 2;
        assert_int_equal(pthread_create(&t[i], NULL, gc_main, &args[i]), 0);
    }
    for (int i = 0; i < GC_THREADS; i++)
        pthread_join(t[i], NULL);
    uint64_t fsyncs = journal_fsync_count(j) - before;
    const uint64_t total = GC_THREADS * GC_APPENDS;
    print_message("  group commit: %d threads x %d appends = %" PRIu64 " appends, %" PRIu64 " fsyncs\n",
                  GC_THREADS, GC_APPENDS, total, fsyncs);
    assert_true(fsyncs < total);
    assert_int_equal(journal_last_seq(j), total);
    static uint8_t seen[GC_THREADS * GC_APPENDS + 1];
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < GC_THREADS; i++) {
        for (int k = 0; k < GC_APPENDS; k++) {
            uint64_t s = args[i].seqs[k];
            assert_true(s >= 1 && s <= total);
            assert_int_equal(seen[s], 0);
            seen[s] = 1;
            if (k > 0)
                assert_true(s > args[i].seqs[k - 1]);
        }
    }
    journal_close(j);
    uint64_t records;
    assert_int_equal(verify_dir(dir, NULL, &records, NULL), 0);
    assert_int_equal(records, total);
    remove_dir(dir);
}

/* FSYNC_ALWAYS: the syncer (journal.c note 4) makes a record durable on its own, without its
 * writer calling journal_sync_to; the writer's journal_sync_to then finds it durable. */
static void test_eager_syncer(void **state)
{
    (void)state;
    char dir[64];
    make_dir(dir, sizeof dir);
    journal *j = open_ok(dir, JOURNAL_FSYNC_ALWAYS, 1 << 20, NULL);
    vt_err err;
    for (uint64_t s = 1; s <= 5; s++) {
        uint8_t b[300];
        size_t len = payload_for(s, b);
        uint64_t seq = 0;
        uint64_t f0 = journal_fsync_count(j);
        assert_int_equal(journal_write(j, type_for(s), b, len, &seq, &err), VT_OK);
        assert_int_equal(seq, s);
        for (int i = 0; i < 1000 && journal_acked_seq(j) < seq; i++)
            usleep(2 * 1000);
        assert_int_equal(journal_acked_seq(j), seq); /* durable, nobody asked */
        assert_true(journal_fsync_count(j) > f0);
        uint64_t f1 = journal_fsync_count(j);
        assert_int_equal(journal_sync_to(j, seq, &err), VT_OK);
        assert_int_equal(journal_fsync_count(j), f1); /* nothing left to sync */
    }
    journal_close(j);
    check_records(dir, 1, 5);
    remove_dir(dir);
}

static void test_policies(void **state)
{
    (void)state;
    char dir[64];
    make_dir(dir, sizeof dir);
    /* NEVER: appends do not fsync; journal_sync does */
    journal *j = open_ok(dir, JOURNAL_FSYNC_NEVER, 1 << 20, NULL);
    uint64_t f0 = journal_fsync_count(j);
    for (uint64_t s = 1; s <= 20; s++)
        append_seq(j, s);
    assert_int_equal(journal_fsync_count(j), f0);
    vt_err err;
    assert_int_equal(journal_sync(j, &err), VT_OK);
    assert_int_equal(journal_fsync_count(j), f0 + 1);
    assert_int_equal(journal_sync(j, &err), VT_OK); /* nothing new: no fsync */
    assert_int_equal(journal_fsync_count(j), f0 + 1);
    journal_close(j);

    /* INTERVAL: appends return at once; the background thread syncs within interval_ms */
    j = open_ok(dir, JOURNAL_FSYNC_INTERVAL, 1 << 20, NULL);
    f0 = journal_fsync_count(j);
    for (uint64_t s = 21; s <= 40; s++)
        append_seq(j, s);
    uint64_t f1 = journal_fsync_count(j);
    assert_true(f1 - f0 < 20);
    for (int i = 0; i < 100 && journal_fsync_count(j) == f1; i++)
        usleep(10 * 1000);
    assert_true(journal_fsync_count(j) > f1);
    journal_close(j);
    check_records(dir, 1, 40);

    /* a failed background fsync is sticky too */
    j = open_ok(dir, JOURNAL_FSYNC_INTERVAL, 1 << 20, NULL);
    vt_fault_reset();
    vt_fault_arm(VT_FAULT_FSYNC, 1, 0);
    append_seq(j, 41); /* returns before the sync */
    for (int i = 0; i < 200 && !journal_failed(j); i++)
        usleep(5 * 1000);
    assert_true(journal_failed(j));
    assert_int_equal(vt_fault_injected(), 1);
    vt_fault_reset();
    assert_int_equal(journal_append(j, 1, "x", 1, NULL, &err), VT_EFATAL);
    assert_non_null(strstr(err.msg, "fsync"));
    journal_close(j);
    j = open_ok(dir, JOURNAL_FSYNC_NEVER, 1 << 20, NULL);
    assert_int_equal(journal_last_seq(j), 41); /* written, in the page cache: found again */
    journal_close(j);

    /* limits are not sticky failures */
    journal_options o = {.max_record_bytes = 100};
    assert_int_equal(journal_open(dir, &o, &j, NULL, &err), VT_OK);
    uint8_t big[101] = {0};
    assert_int_equal(journal_append(j, 1, big, sizeof big, NULL, &err), VT_ELIMIT);
    assert_false(journal_failed(j));
    uint64_t seq;
    assert_int_equal(journal_append(j, 1, big, 100, &seq, &err), VT_OK);
    assert_int_equal(seq, 42);
    /* one writer per directory */
    journal *j2 = NULL;
    assert_int_equal(journal_open(dir, NULL, &j2, NULL, &err), VT_EBUSY);
    assert_null(j2);
    journal_close(j);
    remove_dir(dir);
}

static void test_truncate_before(void **state)
{
    (void)state;
    char dir[64];
    make_dir(dir, sizeof dir);
    journal *j = open_ok(dir, JOURNAL_FSYNC_NEVER, 2048, NULL);
    for (uint64_t s = 1; s <= 300; s++)
        append_seq(j, s);
    uint64_t *segs;
    size_t n;
    vt_err err;
    assert_int_equal(jnl_list_segments(dir, &segs, &n, &err), VT_OK);
    assert_true(n > 5);
    /* the segment holding 150 stays, everything wholly below it goes */
    size_t k = 0;
    while (k + 1 < n && segs[k + 1] <= 150)
        k++;
    assert_int_equal(journal_truncate_before(j, 150, &err), VT_OK);
    assert_int_equal(journal_first_seq(j), segs[k]);
    uint64_t *after;
    size_t m;
    assert_int_equal(jnl_list_segments(dir, &after, &m, &err), VT_OK);
    assert_int_equal(m, n - k);
    assert_int_equal(after[0], segs[k]);
    free(after);

    journal_reader *r = NULL;
    assert_int_equal(journal_reader_open(dir, 1, &r, &err), VT_ENOTFOUND);
    assert_null(r);
    check_records(dir, 150, 300);
    check_records_from(dir, 0, segs[k], 300); /* from the oldest */

    /* the active segment stays while it holds a record at or above keep_from */
    assert_int_equal(journal_truncate_before(j, 300, &err), VT_OK);
    assert_int_equal(jnl_list_segments(dir, &after, &m, &err), VT_OK);
    assert_int_equal(m, 1);
    assert_int_equal(after[0], segs[n - 1]);
    assert_int_equal(journal_first_seq(j), segs[n - 1]);
    free(after);
    /* when every record is below keep_from, the active segment is rolled and goes too */
    assert_int_equal(journal_truncate_before(j, 301, &err), VT_OK);
    assert_int_equal(jnl_list_segments(dir, &after, &m, &err), VT_OK);
    assert_int_equal(m, 1);
    assert_int_equal(after[0], 301); /* the fresh, empty segment */
    assert_int_equal(journal_first_seq(j), 0);
    assert_int_equal(journal_last_seq(j), 300);
    free(after);
    append_seq(j, 301);
    journal_close(j);

    journal_open_info info;
    j = open_ok(dir, JOURNAL_FSYNC_NEVER, 2048, &info);
    assert_int_equal(info.first_seq, 301);
    assert_int_equal(info.last_seq, 301);
    journal_close(j);
    assert_int_equal(verify_dir(dir, NULL, NULL, NULL), 0);
    free(segs);
    remove_dir(dir);
}

static void test_verify_counts(void **state)
{
    (void)state;
    char dir[64];
    make_dir(dir, sizeof dir);
    uint64_t records = 99;
    unsigned segments = 99;
    assert_int_equal(journal_verify(dir, NULL, NULL, &records, &segments), 0);
    assert_int_equal(records, 0);
    assert_int_equal(segments, 0);
    journal *j = open_ok(dir, JOURNAL_FSYNC_NEVER, 1 << 20, NULL);
    for (uint64_t s = 1; s <= 60; s++)
        append_seq(j, s);
    journal_close(j);
    assert_int_equal(verify_dir(dir, NULL, &records, &segments), 0);
    assert_int_equal(records, 60);
    assert_int_equal(segments, 1);

    /* two problems: a damaged record in the middle, a torn tail */
    char path[PATH_MAX];
    last_segment_path(dir, path, sizeof path);
    flip_byte(path, record_offset(10) + 20);
    truncate_file(path, file_size(path) - 5);
    report_log log;
    memset(&log, 0, sizeof log);
    assert_int_equal(verify_dir(dir, &log, &records, NULL), 2);
    assert_int_equal(records, 58);
    assert_int_equal(log.offsets[0], record_offset(10));
    assert_int_equal(log.offsets[1], record_offset(60));
    assert_non_null(strstr(log.msgs[1], "torn tail"));
    /* absent directory */
    assert_int_equal(journal_verify("/tmp/volta_journal_does_not_exist", NULL, NULL, &records, &segments), 1);
    remove_dir(dir);
}

/* A reader follows a journal being appended to, across rolls, and treats a partial record at the
 * end of the last segment as "nothing more yet". */
static void test_live_reader(void **state)
{
    (void)state;
    char dir[64];
    make_dir(dir, sizeof dir);
    journal *j = open_ok(dir, JOURNAL_FSYNC_NEVER, 1024, NULL);
    journal_reader *r;
    vt_err err;
    assert_int_equal(journal_reader_open(dir, 1, &r, &err), VT_OK);
    journal_record rec;
    bool have = true;
    assert_int_equal(journal_reader_next(r, &rec, &have, &err), VT_OK);
    assert_false(have);
    uint64_t got = 0;
    uint8_t b[300];
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 17; i++)
            append_seq(j, journal_last_seq(j) + 1);
        for (;;) {
            vt_rc rc = journal_reader_next(r, &rec, &have, &err);
            if (rc != VT_OK)
                fail_msg("live reader: %s", err.msg);
            if (!have)
                break;
            assert_int_equal(rec.seq, got + 1);
            assert_int_equal(rec.len, payload_for(rec.seq, b));
            got = rec.seq;
        }
        assert_int_equal(got, journal_last_seq(j));
    }
    journal_close(j);
    /* a half-written record at the end: end for now, then readable once complete */
    char path[PATH_MAX];
    last_segment_path(dir, path, sizeof path);
    uint64_t seq = got + 1;
    size_t len = payload_for(seq, b);
    uint8_t full[JNL_REC_HDR_SIZE + 300];
    jnl_rec_header_encode(full, (uint32_t)len, type_for(seq), seq, 5, crc32c_update(0, b, len));
    memcpy(full + JNL_REC_HDR_SIZE, b, len);
    int fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    size_t half = (JNL_REC_HDR_SIZE + len) / 2;
    assert_int_equal(write(fd, full, half), (ssize_t)half);
    assert_int_equal(journal_reader_next(r, &rec, &have, &err), VT_OK);
    assert_false(have);
    assert_int_equal(write(fd, full + half, JNL_REC_HDR_SIZE + len - half), (ssize_t)(JNL_REC_HDR_SIZE + len - half));
    close(fd);
    assert_int_equal(journal_reader_next(r, &rec, &have, &err), VT_OK);
    assert_true(have);
    assert_int_equal(rec.seq, seq);
    journal_reader_close(r);
    remove_dir(dir);
}

typedef struct follow_arg {
    const char *dir;
    uint64_t total;
    uint64_t got;
    int errors;
} follow_arg;

static void *follow_main(void *p)
{
    follow_arg *a = p;
    journal_reader *r = NULL;
    vt_err err;
    if (journal_reader_open(a->dir, 1, &r, &err) != VT_OK) {
        a->errors++;
        return NULL;
    }
    uint8_t b[300];
    while (a->got < a->total) {
        journal_record rec;
        bool have;
        if (journal_reader_next(r, &rec, &have, &err) != VT_OK) {
            print_message("  follower: %s\n", err.msg);
            a->errors++;
            break;
        }
        if (!have) {
            usleep(200);
            continue;
        }
        size_t len = payload_for(rec.seq, b);
        if (rec.seq != a->got + 1 || rec.len != len || (len && memcmp(rec.data, b, len) != 0)) {
            a->errors++;
            break;
        }
        a->got = rec.seq;
    }
    journal_reader_close(r);
    return NULL;
}

/* A reader thread follows a writer thread through many segment rolls. */
static void test_live_reader_concurrent(void **state)
{
    (void)state;
    char dir[64];
    make_dir(dir, sizeof dir);
    journal *j = open_ok(dir, JOURNAL_FSYNC_NEVER, 1500, NULL);
    follow_arg a = {dir, 3000, 0, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, follow_main, &a), 0);
    for (uint64_t s = 1; s <= a.total; s++)
        append_seq(j, s);
    pthread_join(t, NULL);
    assert_int_equal(a.errors, 0);
    assert_int_equal(a.got, a.total);
    journal_close(j);
    remove_dir(dir);
}

/* ---- two syncs in flight (design note 4) ----
 * The fsync hook holds the first fdatasync (the syncer's, for record 1) until a second one has
 * started (a writer's, for record 2, written meanwhile): it proves the second sync does not
 * wait for the first. With fail_second, the second fails instead, and the first, released once
 * the journal has failed, succeeds: it must not publish record 1 as durable. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int entered, inflight, max_inflight;
    bool fail_second;
    journal *j;
} overlap = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, false, NULL};

static void overlap_hook(int fd)
{
    (void)fd;
    pthread_mutex_lock(&overlap.mu);
    int me = ++overlap.entered;
    overlap.inflight++;
    if (overlap.inflight > overlap.max_inflight)
        overlap.max_inflight = overlap.inflight;
    pthread_cond_broadcast(&overlap.cv);
    if (me == 1) {
        /* the first sync: held until the second started (and, with fail_second, until the
         * journal failed); bounded, so a regression fails the test instead of hanging it */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 30;
        while (overlap.entered < 2 || (overlap.fail_second && !journal_failed(overlap.j))) {
            if (pthread_cond_timedwait(&overlap.cv, &overlap.mu, &until) != 0)
                break;
        }
    } else if (me == 2 && overlap.fail_second) {
        vt_fault_arm(VT_FAULT_FSYNC, 1, 0); /* this very call fails */
    }
    overlap.inflight--;
    pthread_mutex_unlock(&overlap.mu);
}

/* the journal's failure is set by the failing sync after its fdatasync returns: wake the
 * first sync's wait to look again */
static void *overlap_poke_main(void *p)
{
    (void)p;
    for (int i = 0; i < 30000; i++) {
        pthread_mutex_lock(&overlap.mu);
        bool done = overlap.entered >= 2 && journal_failed(overlap.j);
        pthread_cond_broadcast(&overlap.cv);
        pthread_mutex_unlock(&overlap.mu);
        if (done)
            break;
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    return NULL;
}

typedef struct overlap_writer {
    journal *j;
    uint64_t seq;
    vt_rc rc;
} overlap_writer;

static void *overlap_writer_main(void *p)
{
    overlap_writer *w = p;
    uint8_t b[64];
    memset(b, 0x5c, sizeof b);
    vt_err err;
    w->rc = journal_write(w->j, JOURNAL_REC_WRITE, b, sizeof b, &w->seq, &err);
    if (w->rc == VT_OK)
        w->rc = journal_sync_to(w->j, w->seq, &err);
    return NULL;
}

static void run_overlap(bool fail_second)
{
    char dir[64];
    make_dir(dir, sizeof dir);
    journal *j = open_ok(dir, JOURNAL_FSYNC_ALWAYS, 1u << 20, NULL);
    pthread_mutex_lock(&overlap.mu);
    overlap.entered = overlap.inflight = overlap.max_inflight = 0;
    overlap.fail_second = fail_second;
    overlap.j = j;
    pthread_mutex_unlock(&overlap.mu);
    vt_fault_set_fsync_hook(overlap_hook);

    overlap_writer w1 = {.j = j};
    pthread_t t1, poke;
    assert_int_equal(pthread_create(&t1, NULL, overlap_writer_main, &w1), 0);
    pthread_mutex_lock(&overlap.mu); /* the first sync is held */
    while (overlap.entered < 1)
        pthread_cond_wait(&overlap.cv, &overlap.mu);
    pthread_mutex_unlock(&overlap.mu);
    assert_int_equal(pthread_create(&poke, NULL, overlap_poke_main, NULL), 0);

    overlap_writer w2 = {.j = j};
    overlap_writer_main(&w2); /* record 2 leads the second sync */
    pthread_join(t1, NULL);
    pthread_join(poke, NULL);
    vt_fault_reset();

    assert_int_equal(w1.seq, 1);
    assert_int_equal(w2.seq, 2);
    assert_int_equal(overlap.max_inflight, 2);
    if (!fail_second) {
        assert_int_equal(w1.rc, VT_OK);
        assert_int_equal(w2.rc, VT_OK);
        assert_int_equal(overlap.entered, 2);
        assert_false(journal_failed(j));
    } else {
        /* VT_EIO when the writer led the failed sync, VT_EFATAL when the syncer did */
        assert_true(w2.rc == VT_EIO || w2.rc == VT_EFATAL);
        assert_int_equal(w1.rc, VT_EFATAL); /* its sync succeeded, after the failure */
        assert_true(journal_failed(j));
    }
    journal_close(j);
}

static void test_two_syncs_in_flight(void **state)
{
    (void)state;
    run_overlap(false);
}

static void test_two_syncs_one_fails(void **state)
{
    (void)state;
    run_overlap(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_rolls_reopen),
        cmocka_unit_test(test_write2_head_and_body),
        cmocka_unit_test(test_reader_from_middle),
        cmocka_unit_test(test_torn_tail),
        cmocka_unit_test(test_flipped_byte_middle_is_corrupt),
        cmocka_unit_test(test_damage_in_earlier_segment),
        cmocka_unit_test(test_crash_mid_roll_leftovers),
        cmocka_unit_test(test_fault_injection),
        cmocka_unit_test(test_group_commit),
        cmocka_unit_test(test_eager_syncer),
        cmocka_unit_test(test_policies),
        cmocka_unit_test(test_truncate_before),
        cmocka_unit_test(test_verify_counts),
        cmocka_unit_test(test_live_reader),
        cmocka_unit_test(test_live_reader_concurrent),
        cmocka_unit_test(test_two_syncs_in_flight),
        cmocka_unit_test(test_two_syncs_one_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
