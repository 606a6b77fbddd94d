/* Unit tests for src/common: crc32c, vt_buf / vt_reader, durable publish, fault injection, file
 * hashes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bigalloc.h"
#include "common/buf.h"
#include "common/crc32c.h"
#include "common/point.h"
#include "common/durable.h"
#include "common/error.h"
#include "common/faultinj.h"
#include "common/filehash.h"
#include "common/thread.h"
#include "thread_probe.h"

#include <inttypes.h>
#include <xxhash.h>

static void test_crc32c_vectors(void **state)
{
    (void)state;
    assert_int_equal(crc32c("123456789", 9), 0xE3069283u);
    assert_int_equal(crc32c("", 0), 0u);
    unsigned char zeros[32] = {0};
    assert_int_equal(crc32c(zeros, 32), 0x8A9136AAu); /* RFC 3720 B.4 */
    unsigned char ones[32];
    memset(ones, 0xff, sizeof ones);
    assert_int_equal(crc32c(ones, 32), 0x62A8AB43u);
    /* incremental == one shot, at every split point and alignment */
    char data[300];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)(i * 31 + 7);
    uint32_t whole = crc32c(data, sizeof data);
    for (size_t split = 0; split <= sizeof data; split += 13)
        assert_int_equal(crc32c_update(crc32c(data, split), data + split, sizeof data - split),
                         whole);
    for (size_t off = 1; off < 8; off++)
        assert_int_not_equal(crc32c(data + off, 100), 0u);
}

static void test_varint_roundtrip(void **state)
{
    (void)state;
    static const int64_t cases[] = {0, 1, -1, 63, -64, 64, 127, 128, 300, -300, INT64_MAX, INT64_MIN,
                                    (int64_t)1 << 62, -((int64_t)1 << 40)};
    vt_buf b;
    vt_buf_init(&b);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vt_buf_put_varint(&b, cases[i]);
        vt_buf_put_uvarint(&b, (uint64_t)cases[i]);
    }
    vt_buf_put_u16(&b, 0xBEEF);
    vt_buf_put_u32(&b, 0xDEADBEEF);
    vt_buf_put_u64(&b, 0x0123456789ABCDEFull);
    assert_false(b.oom);
    vt_reader r;
    vt_reader_init(&r, b.data, b.len);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t v;
        uint64_t u;
        assert_true(vt_read_varint(&r, &v));
        assert_true(v == cases[i]);
        assert_true(vt_read_uvarint(&r, &u));
        assert_true(u == (uint64_t)cases[i]);
    }
    uint16_t a;
    uint32_t c;
    uint64_t d;
    assert_true(vt_read_u16(&r, &a));
    assert_true(vt_read_u32(&r, &c));
    assert_true(vt_read_u64(&r, &d));
    assert_int_equal(a, 0xBEEF);
    assert_int_equal(c, 0xDEADBEEFu);
    assert_true(d == 0x0123456789ABCDEFull);
    assert_int_equal(vt_reader_left(&r), 0);
    /* reading past the end fails and stays failed */
    assert_false(vt_read_u8(&r, (uint8_t *)&a));
    assert_true(r.bad);
    vt_buf_free(&b);
}

static void test_varint_malformed(void **state)
{
    (void)state;
    /* 11 continuation bytes: longer than any uint64 */
    uint8_t bad[11];
    memset(bad, 0x80, sizeof bad);
    vt_reader r;
    uint64_t v;
    vt_reader_init(&r, bad, sizeof bad);
    assert_false(vt_read_uvarint(&r, &v));
    /* truncated varint */
    vt_reader_init(&r, bad, 3);
    assert_false(vt_read_uvarint(&r, &v));
    /* 10th byte > 1 overflows */
    uint8_t over[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    vt_reader_init(&r, over, sizeof over);
    assert_false(vt_read_uvarint(&r, &v));
}

static void test_buf_printf_and_cstr(void **state)
{
    (void)state;
    vt_buf b;
    vt_buf_init(&b);
    vt_buf_printf(&b, "%s=%d", "x", 42);
    char big[1000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    vt_buf_printf(&b, "[%s]", big);
    assert_int_equal(b.len, 4 + 1001);
    assert_string_equal(vt_buf_cstr(&b) + 0 + 4 + 1001 - 1, "]");
    assert_memory_equal(b.data, "x=42[aaa", 8);
    vt_buf_free(&b);
}

static char *make_tmpdir(void)
{
    char tmpl[] = "/tmp/volta-test-common-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static void test_durable_publish(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/sub/dir/file", dir);
    vt_err err;
    char sub[512];
    snprintf(sub, sizeof sub, "%s/sub/dir", dir);
    assert_int_equal(durable_mkdirs(sub, &err), VT_OK);
    assert_int_equal(durable_publish(path, "hello", 5, &err), VT_OK);
    char *data;
    size_t len;
    assert_int_equal(file_read_all(path, &data, &len, &err), VT_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(data, "hello", 5);
    free(data);

    /* each failure point leaves the previous version in place and no temp file */
    vt_fault_op ops[] = {VT_FAULT_WRITE, VT_FAULT_FSYNC, VT_FAULT_RENAME};
    for (size_t i = 0; i < 3; i++) {
        vt_fault_reset();
        vt_fault_arm(ops[i], 1, 0);
        assert_int_equal(durable_publish(path, "world!", 6, &err), VT_EIO);
        assert_non_null(strstr(err.msg, path));
        assert_int_equal(vt_fault_injected(), 1);
        assert_int_equal(file_read_all(path, &data, &len, &err), VT_OK);
        assert_int_equal(len, 5);
        assert_memory_equal(data, "hello", 5);
        free(data);
        char tmp[600];
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        struct stat st;
        assert_int_not_equal(stat(tmp, &st), 0);
    }
    vt_fault_reset();
    assert_int_equal(durable_publish(path, "world!", 6, &err), VT_OK);
    assert_int_equal(file_read_all(path, &data, &len, &err), VT_OK);
    assert_int_equal(len, 6);
    free(data);

    assert_int_equal(file_read_all("/nonexistent/volta", &data, &len, &err), VT_ENOTFOUND);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

static void test_fault_nth_and_sticky(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/f", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    int fd = fileno(f);
    vt_fault_reset();
    vt_fault_arm(VT_FAULT_FSYNC, 3, 0);
    assert_int_equal(vt_io_fsync(fd), 0);
    assert_int_equal(vt_io_fsync(fd), 0);
    assert_int_equal(vt_io_fsync(fd), -1);
    assert_int_equal(errno, EIO);
    assert_int_equal(vt_io_fsync(fd), 0); /* not sticky */
    vt_fault_arm(VT_FAULT_WRITE, 2, 1);
    assert_int_equal(vt_io_write_all(fd, "ab", 2), 0);
    assert_int_equal(vt_io_write_all(fd, "cd", 2), -1);
    assert_int_equal(vt_io_write_all(fd, "ef", 2), -1); /* sticky */
    assert_int_equal(vt_fault_injected(), 2);
    vt_fault_reset();
    assert_int_equal(vt_io_write_all(fd, "gh", 2), 0);
    fclose(f);
    unlink(path);
    rmdir(dir);
    free(dir);
}

static void test_error_mapping(void **state)
{
    (void)state;
    assert_int_equal(vt_rc_http_status(VT_ENOTFOUND), 404);
    assert_int_equal(vt_rc_http_status(VT_EPARSE), 400);
    assert_int_equal(vt_rc_http_status(VT_ELIMIT), 413);
    assert_int_equal(vt_rc_exit_code(VT_OK), 0);
    assert_int_not_equal(vt_rc_exit_code(VT_ECORRUPT), 0);
    for (int rc = 0; rc < VT_RC_COUNT; rc++)
        assert_string_not_equal(vt_rc_name((vt_rc)rc), "unknown");
    vt_err e;
    vt_err_set(&e, VT_EIO, "write %s", "x.vjl");
    vt_err_prefix(&e, "journal %d", 3);
    assert_string_equal(e.msg, "journal 3: write x.vjl");
    assert_int_equal(e.rc, VT_EIO);
}

/* vt_hash_file (read) and vt_hash_file_stable (mmap windows) give XXH3-128 of the bytes, for
 * sizes around the read chunk and across two mmap windows (64 MiB); a missing file is
 * VT_ENOTFOUND for both; a character device (no mmap) is read by the stable variant too. */
static void test_filehash_paths_agree(void **state)
{
    (void)state;
    char dir[] = "/tmp/volta-filehash-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/f", dir);
    const size_t sizes[] = {0, 1, 65535, 65536, 65537, (3u << 20) + 5, (64u << 20) + 3};
    size_t maxn = sizes[sizeof sizes / sizeof sizes[0] - 1];
    unsigned char *data = malloc(maxn);
    assert_non_null(data);
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < maxn; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        data[i] = (unsigned char)x;
    }
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, n, f), n);
        assert_int_equal(fclose(f), 0);
        XXH128_hash_t want = XXH3_128bits(data, n);
        char hex[VT_FILEHASH_HEX + 1];
        snprintf(hex, sizeof hex, "%016" PRIx64 "%016" PRIx64, (uint64_t)want.high64,
                 (uint64_t)want.low64);
        char h1[VT_FILEHASH_HEX + 1], h2[VT_FILEHASH_HEX + 1];
        uint64_t s1 = 1, s2 = 1;
        vt_err err;
        assert_int_equal(vt_hash_file(path, h1, &s1, &err), VT_OK);
        assert_int_equal(vt_hash_file_stable(path, h2, &s2, &err), VT_OK);
        assert_string_equal(h1, hex);
        assert_string_equal(h2, hex);
        assert_int_equal(s1, n);
        assert_int_equal(s2, n);
    }
    free(data);
    char h[VT_FILEHASH_HEX + 1];
    uint64_t sz = 7;
    vt_err err;
    assert_int_equal(vt_hash_file_stable("/dev/null", h, &sz, &err), VT_OK);
    assert_int_equal(sz, 0);
    XXH128_hash_t empty = XXH3_128bits("", 0);
    char hex[VT_FILEHASH_HEX + 1];
    snprintf(hex, sizeof hex, "%016" PRIx64 "%016" PRIx64, (uint64_t)empty.high64,
             (uint64_t)empty.low64);
    assert_string_equal(h, hex);
    unlink(path);
    assert_int_equal(vt_hash_file(path, h, NULL, &err), VT_ENOTFOUND);
    assert_int_equal(vt_hash_file_stable(path, h, NULL, &err), VT_ENOTFOUND);
    rmdir(dir);
}

/* vt_big_calloc: zeroed, 64-byte aligned, writable to the last byte, on both paths (calloc
 * below VT_BIG_MIN, a populated mapping from it on); overflow is NULL; free(NULL) is fine. */
/* common/thread.h: a thread lowers its own priority, not its creator's; clamped at 19 */
typedef struct nicer_probe {
    int base, by;
    int after, after_clamp, seen_by_name, seen_ok;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool measured, done;
} nicer_probe;

static void *nicer_main(void *arg)
{
    nicer_probe *p = arg;
    vt_thread_name("vt-nicer-probe-long-name"); /* truncated to 15 bytes */
    assert_int_equal(vt_thread_nicer(p->by), 0);
    p->after = vt_thread_nice();
    pthread_mutex_lock(&p->mu);
    p->measured = true;
    pthread_cond_broadcast(&p->cv);
    while (!p->done)
        pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    assert_int_equal(vt_thread_nicer(0), 0); /* nothing */
    assert_int_equal(vt_thread_nice(), p->after);
    assert_int_equal(vt_thread_nicer(100), 0);
    p->after_clamp = vt_thread_nice();
    return NULL;
}

static void test_thread_nicer(void **state)
{
    (void)state;
    nicer_probe p = {.base = vt_thread_nice(), .by = 3};
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, nicer_main, &p), 0);
    pthread_mutex_lock(&p.mu);
    while (!p.measured)
        pthread_cond_wait(&p.cv, &p.mu);
    pthread_mutex_unlock(&p.mu);
    int want = p.base + 3 > 19 ? 19 : p.base + 3;
    assert_int_equal(p.after, want);
    /* the kernel sees the name and the priority on that thread alone */
    int nice = -100;
    assert_true(thread_probe_nice("vt-nicer-probe-", &nice)); /* 15 bytes kept */
    assert_int_equal(nice, want);
    assert_int_equal(vt_thread_nice(), p.base);
    pthread_mutex_lock(&p.mu);
    p.done = true;
    pthread_cond_broadcast(&p.cv);
    pthread_mutex_unlock(&p.mu);
    pthread_join(th, NULL);
    assert_int_equal(p.after_clamp, 19);
    assert_int_equal(vt_thread_nice(), p.base);
    pthread_cond_destroy(&p.cv);
    pthread_mutex_destroy(&p.mu);
}

static void test_bigalloc(void **state)
{
    (void)state;
    const size_t sizes[] = {1, 100, VT_BIG_MIN - 1, VT_BIG_MIN, 3 * VT_BIG_MIN + 7};
    for (size_t k = 0; k < 2 * sizeof sizes / sizeof sizes[0]; k++) {
        /* first round as the build does it (heap under sanitizers), second with the mapping */
        vt_big_force_mapping(k >= sizeof sizes / sizeof sizes[0]);
        size_t n = sizes[k % (sizeof sizes / sizeof sizes[0])];
        unsigned char *p = vt_big_calloc(n, 1);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 64, 0);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(p[i], 0);
        memset(p, 0xA5, n);
        vt_big_free(p);
    }
    vt_big_force_mapping(false);
    uint64_t *v = vt_big_calloc(100000, sizeof *v);
    assert_non_null(v);
    v[99999] = 7;
    vt_big_free(v);
    assert_null(vt_big_calloc(SIZE_MAX / 2, 4));
    vt_big_free(NULL);
}

/* vt_mem_eq (point.h) against memcmp: every length 0..40 (the inline cases 0-7 and 8-16 and
 * memcmp beyond), equal buffers at odd alignments, and a one-byte difference at every offset. */
/* Go's amd64 float -> int conversions, defined where a C cast is not (found by fuzz/query:
 * WHERE time >= 1.5e40). */
static void test_f64_conversions(void **state)
{
    (void)state;
    assert_true(vt_f64_to_i64(1.9) == 1);
    assert_true(vt_f64_to_i64(-1.9) == -1);
    assert_true(vt_f64_to_i64(-9223372036854775808.0) == INT64_MIN);
    assert_true(vt_f64_to_i64(9223372036854774784.0) == INT64_C(9223372036854774784));
    assert_true(vt_f64_to_i64(9223372036854775808.0) == INT64_MIN);
    assert_true(vt_f64_to_i64(1.5e40) == INT64_MIN);
    assert_true(vt_f64_to_i64(-1.5e40) == INT64_MIN);
    assert_true(vt_f64_to_i64(NAN) == INT64_MIN);
    assert_true(vt_f64_to_i64(INFINITY) == INT64_MIN);
    assert_true(vt_f64_to_u64(0.5) == 0);
    assert_true(vt_f64_to_u64(18446744073709549568.0) == UINT64_C(18446744073709549568));
    assert_true(vt_f64_to_u64(18446744073709551616.0) == UINT64_C(1) << 63);
    assert_true(vt_f64_to_u64(NAN) == UINT64_C(1) << 63);
}

static void test_mem_eq(void **state)
{
    (void)state;
    unsigned char a[64], b[64];
    for (size_t i = 0; i < sizeof a; i++)
        a[i] = (unsigned char)(i * 37 + 11);
    for (size_t n = 0; n <= 40; n++) {
        for (size_t off = 0; off < 3; off++) {
            memcpy(b + off, a + 1, n);
            assert_true(vt_mem_eq(a + 1, b + off, n));
            for (size_t at = 0; at < n; at++) {
                b[off + at] ^= 0x20;
                assert_false(vt_mem_eq(a + 1, b + off, n));
                assert_int_equal(vt_mem_eq(a + 1, b + off, n),
                                 memcmp(a + 1, b + off, n) == 0);
                b[off + at] ^= 0x20;
            }
        }
    }
    assert_true(vt_str_eq(vt_str_c("value"), vt_str_c("value")));
    assert_false(vt_str_eq(vt_str_c("value"), vt_str_c("values")));
    assert_true(vt_str_eq(vt_str_c(""), vt_str_c("")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mem_eq),
        cmocka_unit_test(test_f64_conversions),
        cmocka_unit_test(test_crc32c_vectors),     cmocka_unit_test(test_varint_roundtrip),
        cmocka_unit_test(test_varint_malformed),   cmocka_unit_test(test_buf_printf_and_cstr),
        cmocka_unit_test(test_durable_publish),    cmocka_unit_test(test_fault_nth_and_sticky),
        cmocka_unit_test(test_error_mapping),      cmocka_unit_test(test_filehash_paths_agree),
        cmocka_unit_test(test_bigalloc),          cmocka_unit_test(test_thread_nicer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
