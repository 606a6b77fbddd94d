/* tests/unit/test_colheap.c — the memtables' column heap (engine/colheap.c): sizes, alignment,
 * no two blocks overlapping under random use, buddies merging back into whole slabs, the bound
 * on kept free slabs, and blocks larger than a slab. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/thread.h"
#include "engine/colheap.h"
#include "thread_probe.h"

static void test_block_size(void **state)
{
    (void)state;
    assert_int_equal(colheap_block_size(0), 0);
    assert_int_equal(colheap_block_size(1), COLHEAP_MIN_BLOCK);
    assert_int_equal(colheap_block_size(64), 64);
    assert_int_equal(colheap_block_size(65), 128);
    assert_int_equal(colheap_block_size(4096), 4096);
    assert_int_equal(colheap_block_size(COLHEAP_SLAB_BYTES), COLHEAP_SLAB_BYTES);
    assert_int_equal(colheap_block_size(COLHEAP_SLAB_BYTES + 1), 2 * COLHEAP_SLAB_BYTES);
    assert_int_equal(colheap_block_size(SIZE_MAX), 0);
    colheap *h = colheap_new(0, 0, 0);
    assert_non_null(h);
    assert_null(colheap_alloc(h, 0));
    assert_null(colheap_alloc(h, SIZE_MAX));
    colheap_free(h);
}

typedef struct live {
    unsigned char *p;
    size_t bytes;
    unsigned char tag;
} live;

static void fill(const live *b)
{
    memset(b->p, b->tag, b->bytes);
}

static void check(const live *b)
{
    for (size_t i = 0; i < b->bytes; i++)
        if (b->p[i] != b->tag)
            fail_msg("block of %zu bytes at %p: byte %zu is %u, want %u (overlapped)", b->bytes,
                     (void *)b->p, i, b->p[i], b->tag);
}

/* Random allocations and releases: every block is aligned to its size, keeps what was written
 * into it (no block overlaps another), and the heap's count of bytes handed out is exact. */
static void test_random_use(void **state)
{
    (void)state;
    srand(42);
    colheap *h = colheap_new(64 * COLHEAP_SLAB_BYTES, 0, 0);
    assert_non_null(h);
    enum { SLOTS = 300 };
    live v[SLOTS];
    memset(v, 0, sizeof v);
    size_t handed = 0;
    for (int op = 0; op < 6000; op++) {
        int i = rand() % SLOTS;
        if (v[i].p) {
            check(&v[i]);
            colheap_release(h, v[i].p, v[i].bytes);
            handed -= colheap_block_size(v[i].bytes);
            v[i].p = NULL;
            continue;
        }
        unsigned shift = (unsigned)(rand() % 20); /* up to 512 KiB, mostly small */
        size_t bytes = ((size_t)1 << shift) + (size_t)(rand() % 3) * ((size_t)1 << shift) / 4;
        v[i].p = colheap_alloc(h, bytes);
        assert_non_null(v[i].p);
        v[i].bytes = bytes;
        v[i].tag = (unsigned char)(op % 251 + 1);
        size_t size = colheap_block_size(bytes);
        assert_true(((uintptr_t)v[i].p & (size - 1)) == 0);
        fill(&v[i]);
        handed += size;
        colheap_stats st;
        colheap_get_stats(h, &st);
        assert_int_equal(st.used_bytes, handed);
        assert_true(st.mapped_bytes >= st.used_bytes);
    }
    for (int i = 0; i < SLOTS; i++)
        if (v[i].p) {
            check(&v[i]);
            colheap_release(h, v[i].p, v[i].bytes);
        }
    colheap_stats st;
    colheap_get_stats(h, &st);
    assert_int_equal(st.used_bytes, 0);
    assert_true(st.slabs > 0);
    assert_int_equal(st.free_slabs, st.slabs); /* every buddy merged back */
    assert_int_equal(st.slab_unmaps, 0);       /* all within the bound of 64 slabs */
    colheap_free(h);
}

/* A slab cut into the smallest blocks, released in random order, is whole again: the next
 * slab-sized block takes it, and no slab is mapped for it. */
static void test_merge_to_slab(void **state)
{
    (void)state;
    srand(7);
    colheap *h = colheap_new(COLHEAP_SLAB_BYTES, 0, 0);
    size_t n = COLHEAP_SLAB_BYTES / COLHEAP_MIN_BLOCK;
    void **v = malloc(n * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < n; i++) {
        v[i] = colheap_alloc(h, 1);
        assert_non_null(v[i]);
        memset(v[i], 0x5a, COLHEAP_MIN_BLOCK);
    }
    colheap_stats st;
    colheap_get_stats(h, &st);
    assert_int_equal(st.slabs, 1);
    assert_int_equal(st.used_bytes, COLHEAP_SLAB_BYTES);
    for (size_t i = n - 1; i > 0; i--) { /* shuffle */
        size_t j = (size_t)rand() % (i + 1);
        void *t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
    for (size_t i = 0; i < n; i++)
        colheap_release(h, v[i], 1);
    colheap_get_stats(h, &st);
    assert_int_equal(st.free_slabs, 1);
    void *whole = colheap_alloc(h, COLHEAP_SLAB_BYTES);
    assert_non_null(whole);
    memset(whole, 1, COLHEAP_SLAB_BYTES);
    colheap_get_stats(h, &st);
    assert_int_equal(st.slab_maps, 1);
    assert_int_equal(st.free_slabs, 0);
    colheap_release(h, whole, COLHEAP_SLAB_BYTES);
    free(v);
    colheap_free(h);
}

/* Whole free slabs past keep_free_bytes are unmapped; those within it are kept for reuse. */
static void test_keep_bound(void **state)
{
    (void)state;
    colheap *h = colheap_new(COLHEAP_SLAB_BYTES, 0, 0); /* keep one */
    void *b[3];
    for (int i = 0; i < 3; i++) {
        b[i] = colheap_alloc(h, COLHEAP_SLAB_BYTES);
        assert_non_null(b[i]);
        memset(b[i], i, COLHEAP_SLAB_BYTES);
    }
    colheap_stats st;
    colheap_get_stats(h, &st);
    assert_int_equal(st.slabs, 3);
    assert_int_equal(st.mapped_bytes, 3 * COLHEAP_SLAB_BYTES);
    for (int i = 0; i < 3; i++)
        colheap_release(h, b[i], COLHEAP_SLAB_BYTES);
    colheap_get_stats(h, &st);
    assert_int_equal(st.slabs, 1);
    assert_int_equal(st.free_slabs, 1);
    assert_int_equal(st.slab_unmaps, 2);
    assert_int_equal(st.mapped_bytes, COLHEAP_SLAB_BYTES);
    void *again = colheap_alloc(h, 1000); /* from the kept slab */
    assert_non_null(again);
    colheap_get_stats(h, &st);
    assert_int_equal(st.slab_maps, 3);
    colheap_release(h, again, 1000);
    colheap_free(h);
}

/* A block larger than a slab has a mapping of its own, gone when released. */
static void test_big_block(void **state)
{
    (void)state;
    colheap *h = colheap_new(0, 0, 0);
    size_t bytes = 5 * COLHEAP_SLAB_BYTES / 2; /* 5 MiB: an 8 MiB block */
    unsigned char *p = colheap_alloc(h, bytes);
    assert_non_null(p);
    assert_true(((uintptr_t)p & (COLHEAP_SLAB_BYTES - 1)) == 0);
    memset(p, 0xa5, bytes);
    assert_true(p[bytes - 1] == 0xa5);
    colheap_stats st;
    colheap_get_stats(h, &st);
    assert_int_equal(st.slabs, 0);
    assert_int_equal(st.used_bytes, 4 * COLHEAP_SLAB_BYTES);
    assert_int_equal(st.mapped_bytes, 4 * COLHEAP_SLAB_BYTES);
    colheap_release(h, p, bytes);
    colheap_get_stats(h, &st);
    assert_int_equal(st.used_bytes, 0);
    assert_int_equal(st.mapped_bytes, 0);
    colheap_free(h);
}

/* Waits (without a time limit: ctest's timeout bounds it) until the reserve holds n slabs. */
static void wait_reserve(colheap *h, size_t n)
{
    colheap_stats st;
    for (;;) {
        colheap_get_stats(h, &st);
        if (st.reserve_slabs == n)
            return;
        assert_true(st.reserve_slabs < n);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

/* With a reserve, slabs come from the reserve thread while it has any (colheap.c note 5): the
 * heap maps none itself once the thread runs, and the thread makes up for those taken. The
 * reserve grows with the heap (note 7): none while the heap holds fewer than two slabs (no
 * thread either), then half the heap's slabs, up to the reserve asked for. Freeing the heap
 * stops the thread and unmaps the reserve (LeakSanitizer and ASan watch the rest). */
static void test_reserve(void **state)
{
    (void)state;
    colheap *h = colheap_new(0, 3 * COLHEAP_SLAB_BYTES + 1000, 0); /* whole slabs only: 3 */
    colheap_stats st;
    void *first = colheap_alloc(h, 100); /* the heap's first slab, mapped by the heap */
    assert_non_null(first);
    enum { N = 8 };
    void *b[N];
    /* before the allocation of b[i] the heap holds i + 1 slabs: the reserve's target is
     * min((i + 1) / 2, 3); b[0] and b[1] are mapped by the heap (b[1], its third slab, starts
     * the thread); every later one comes from the reserve */
    static const size_t want[N] = {0, 1, 1, 2, 2, 3, 3, 3};
    for (int i = 0; i < N; i++) {
        b[i] = colheap_alloc(h, COLHEAP_SLAB_BYTES);
        assert_non_null(b[i]);
        memset(b[i], 0x11 * (i + 1), COLHEAP_SLAB_BYTES);
        wait_reserve(h, want[i]); /* and never more than that */
        colheap_get_stats(h, &st);
        assert_int_equal(st.slabs, (size_t)i + 2);
        assert_int_equal(st.slab_maps, i < 2 ? (uint64_t)i + 2 : 3);
        assert_int_equal(st.reserve_taken, i < 2 ? 0 : (uint64_t)i - 1);
        assert_int_equal(st.reserve_maps, want[i] + st.reserve_taken); /* held + taken */
    }
    assert_int_equal(st.reserve_maps, 9);
    colheap_release(h, first, 100); /* keep_free 0: unmapped */
    for (int i = 0; i < N; i++) {
        const unsigned char *c = b[i];
        assert_true(c[0] == 0x11 * (i + 1) && c[COLHEAP_SLAB_BYTES - 1] == 0x11 * (i + 1));
        colheap_release(h, b[i], COLHEAP_SLAB_BYTES);
    }
    colheap_get_stats(h, &st);
    assert_int_equal(st.slabs, 0);
    assert_int_equal(st.slab_unmaps, N + 1);
    assert_int_equal(st.reserve_slabs, 3); /* not shrunk: a flushed memtable is refilled */
    colheap_free(h);

    /* a heap that never holds two slabs has no reserve and no thread */
    h = colheap_new(0, 3 * COLHEAP_SLAB_BYTES, 0);
    void *one = colheap_alloc(h, COLHEAP_SLAB_BYTES);
    assert_non_null(one);
    colheap_release(h, one, COLHEAP_SLAB_BYTES);
    one = colheap_alloc(h, 100);
    assert_non_null(one);
    colheap_get_stats(h, &st);
    assert_int_equal(st.slab_maps, 2);
    assert_int_equal(st.reserve_maps, 0);
    assert_false(thread_probe_nice("volta-heap", &(int){0}));
    colheap_release(h, one, 100);
    colheap_free(h);

    /* less than a slab: no reserve, no thread; the heap maps its own */
    h = colheap_new(0, COLHEAP_SLAB_BYTES - 1, 0);
    void *p = colheap_alloc(h, 100);
    assert_non_null(p);
    colheap_get_stats(h, &st);
    assert_int_equal(st.slab_maps, 1);
    assert_int_equal(st.reserve_slabs, 0);
    assert_int_equal(st.reserve_taken, 0);
    colheap_release(h, p, 100);
    colheap_free(h);
}

/* The reserve thread is named and lowers its own priority by the heap's reserve_nice
 * (common/thread.h), not its creator's. */
static void test_reserve_priority(void **state)
{
    (void)state;
    int base = vt_thread_nice();
    colheap *h = colheap_new(0, 2 * COLHEAP_SLAB_BYTES, 6);
    void *p = colheap_alloc(h, 100);
    void *q = colheap_alloc(h, COLHEAP_SLAB_BYTES);
    void *r = colheap_alloc(h, COLHEAP_SLAB_BYTES); /* the heap's third slab starts the thread */
    assert_true(p && q && r);
    wait_reserve(h, 1);
    int nice = -100;
    assert_true(thread_probe_nice("volta-heap", &nice));
    assert_int_equal(nice, base + 6 > 19 ? 19 : base + 6);
    assert_int_equal(vt_thread_nice(), base);
    colheap_release(h, p, 100);
    colheap_release(h, q, COLHEAP_SLAB_BYTES);
    colheap_release(h, r, COLHEAP_SLAB_BYTES);
    colheap_free(h);
    assert_false(thread_probe_nice("volta-heap", &nice)); /* joined */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_size),
        cmocka_unit_test(test_random_use),
        cmocka_unit_test(test_merge_to_slab),
        cmocka_unit_test(test_keep_bound),
        cmocka_unit_test(test_big_block),
        cmocka_unit_test(test_reserve),
        cmocka_unit_test(test_reserve_priority),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
