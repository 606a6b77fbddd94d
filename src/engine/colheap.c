/*
 * engine/colheap.c — see colheap.h.
 *
 * NOTES ON THE DESIGN
 *  1. Slabs. A slab is COLHEAP_SLAB_BYTES (2 MiB) of anonymous memory at an address aligned to
 *     its size: mmap twice the size, unmap the unaligned ends, madvise(MADV_HUGEPAGE) (an error
 *     there, e.g. huge pages disabled, only means 4 KiB pages). The slab's descriptor lives on
 *     the C heap, in h->slabs sorted by address, so a block finds its slab by binary search.
 *  2. Buddy blocks. Sizes are 2^k bytes, COLHEAP_MIN_SHIFT <= k <= COLHEAP_SLAB_SHIFT, a block
 *     of 2^k at an offset that is a multiple of 2^k. Its buddy is the block at offset ^ 2^k:
 *     together they make the block of 2^(k+1) at offset & ~2^k. Allocation takes the smallest
 *     free block that fits and splits it, putting the upper halves on the free lists; release
 *     merges the block with its buddy while the buddy is free and whole, up to the slab.
 *  3. Free lists and the free map. One doubly linked list per size; a free block holds its own
 *     links in its first 16 bytes. Whether the buddy is free cannot be read from the buddy (a
 *     block in use holds arbitrary data), so each slab keeps a free map: one byte per
 *     COLHEAP_MIN_BLOCK unit, k at the first unit of a free block of 2^k, 0 elsewhere.
 *  4. Whole free slabs are the free blocks of size 2^COLHEAP_SLAB_SHIFT. Up to keep_free slabs
 *     of them stay mapped (a flushed memtable's memory, for the next one); past that a slab
 *     that becomes whole is unmapped. Blocks larger than a slab have mappings of their own
 *     (aligned like a slab, advised the same), unmapped when released.
 *  5. The reserve. Mapping a slab is cheap; touching it is not: the first write to fresh memory
 *     costs the kernel a zeroed huge page and, on a virtual machine, the hypervisor its backing
 *     (measured: ~4 ms per 2 MiB slab on the PVM machines of bench/). A slab mapped by
 *     colheap_alloc is touched by the memtable append that asked for it, and appends run one at
 *     a time (core/node.c), so every writer waited. With reserve_target > 0 a thread of the heap
 *     ("volta-heap") keeps slabs mapped and touched ahead of need; slab_add takes one from
 *     it before mapping its own, and wakes the thread when it fell below its target. The
 *     reserve grows with the heap (note 7). The reserve is the only state shared with the
 *     thread: h->reserve and h->reserve_want, under h->reserve_mu. A slab in the reserve is in no
 *     list, map or count of the heap's. The thread runs reserve_nice nice steps below the
 *     writer that started it (common/thread.h): its work is ahead of need, and when it falls
 *     behind, slab_add maps and touches a slab itself, as without a reserve.
 *  6. AddressSanitizer does not watch mmap'd memory, so in sanitizer builds the heap poisons a
 *     free block (all but its links) and unpoisons a block it hands out; every mapping is
 *     unpoisoned before it is unmapped, or the address range would stay poisoned for whoever
 *     maps it next.
 *  7. The reserve grows with the heap. Its target (h->reserve_want) is half the slabs the heap
 *     holds when it needs one more, up to reserve_target; slab_add raises it, nothing lowers
 *     it. So the thread starts when a heap of two slabs needs a third. Why: a reserve is only
 *     worth its memory under a bulk load, which adds slab after slab; a small store holds a
 *     slab or two and would keep reserve_target touched slabs it never uses. On the ingest
 *     benchmark's ONS load (101,664 points, two slabs) that was 6 MiB of volta's ~26 MiB peak
 *     RSS (-> ~20 MiB). A bulk load takes its slabs from the reserve from its fourth on, and
 *     has the whole reserve from its (2 x reserve_target + 1)th; the few slabs it touches
 *     itself before cost nothing measurable (bench/ingest/pairs.sh, 12 pairs on the demo
 *     file: points/s 1.013, server CPU 0.986, i.e. noise).
 */
#include "engine/colheap.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/thread.h"

#if defined(__SANITIZE_ADDRESS__)
#define COLHEAP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COLHEAP_ASAN 1
#endif
#endif

#ifdef COLHEAP_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define NSIZES (COLHEAP_SLAB_SHIFT - COLHEAP_MIN_SHIFT + 1)
#define MAP_UNITS (COLHEAP_SLAB_BYTES >> COLHEAP_MIN_SHIFT)

typedef struct free_block {
    struct free_block *prev, *next;
} free_block;

typedef struct slab {
    char *base;
    uint8_t free_map[MAP_UNITS]; /* note 3 */
} slab;

struct colheap {
    slab **slabs; /* sorted by base */
    size_t nslabs, slab_cap;
    free_block *free[NSIZES]; /* index: shift - COLHEAP_MIN_SHIFT */
    size_t keep_free, free_slabs;
    size_t used_bytes, own_bytes; /* own_bytes: blocks larger than a slab */
    uint64_t slab_maps, slab_unmaps;
    uint64_t reserve_taken; /* slabs slab_add took from the reserve */

    /* note 5: shared with the reserve thread, under reserve_mu */
    pthread_mutex_t reserve_mu;
    pthread_cond_t reserve_cv;
    char **reserve; /* bases of touched slabs, reserve_target of room */
    size_t nreserve, reserve_target;
    size_t reserve_want; /* the thread's target now: <= reserve_target, grows (note 7) */
    uint64_t reserve_maps;
    bool reserve_stop, reserve_thread;
    bool reserve_tried; /* the thread was started, or failed to (not under reserve_mu) */
    int reserve_nice;   /* the thread lowers its priority by this much (colheap_new) */
    pthread_t reserve_tid;
};

size_t colheap_block_size(size_t bytes)
{
    if (bytes == 0 || bytes > (SIZE_MAX >> 2))
        return 0;
    size_t size = COLHEAP_MIN_BLOCK;
    while (size < bytes)
        size <<= 1;
    return size;
}

static unsigned shift_of(size_t size)
{
    return (unsigned)(63 - __builtin_clzll((unsigned long long)size));
}

/* len bytes at an address aligned to COLHEAP_SLAB_BYTES (len a multiple of it), advised for
 * huge pages; NULL when it cannot be mapped. */
static char *map_aligned(size_t len)
{
    size_t span = len + COLHEAP_SLAB_BYTES;
    char *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    uintptr_t at = ((uintptr_t)raw + COLHEAP_SLAB_BYTES - 1) & ~(uintptr_t)(COLHEAP_SLAB_BYTES - 1);
    char *base = (char *)at;
    if (base > raw)
        munmap(raw, (size_t)(base - raw));
    char *end = raw + span;
    if (end > base + len)
        munmap(base + len, (size_t)(end - (base + len)));
    (void)madvise(base, len, MADV_HUGEPAGE); /* advice only (note 1) */
    return base;
}

static void unmap(char *base, size_t len)
{
    UNPOISON(base, len);
    munmap(base, len);
}

/* Writes one byte per 4 KiB page, so that every page of the slab is mapped (one fault per huge
 * page when the kernel gives huge pages, one per page otherwise). */
static void touch(char *base)
{
    for (size_t off = 0; off < COLHEAP_SLAB_BYTES; off += 4096)
        ((volatile char *)base)[off] = 0;
}

/* The reserve thread (note 5): fills the reserve up to its target, then sleeps until slab_add
 * takes from it or colheap_free stops it. A slab it cannot map is tried again when woken. */
static void *reserve_main(void *arg)
{
    colheap *h = arg;
    vt_thread_name("volta-heap");
    vt_thread_nicer(h->reserve_nice); /* refused: it fills the reserve at normal priority */
    pthread_mutex_lock(&h->reserve_mu);
    while (!h->reserve_stop) {
        if (h->nreserve >= h->reserve_want) {
            pthread_cond_wait(&h->reserve_cv, &h->reserve_mu);
            continue;
        }
        pthread_mutex_unlock(&h->reserve_mu);
        char *base = map_aligned(COLHEAP_SLAB_BYTES);
        if (base)
            touch(base);
        pthread_mutex_lock(&h->reserve_mu);
        if (!base) {
            pthread_cond_wait(&h->reserve_cv, &h->reserve_mu);
            continue;
        }
        h->reserve[h->nreserve++] = base;
        h->reserve_maps++;
    }
    pthread_mutex_unlock(&h->reserve_mu);
    return NULL;
}

colheap *colheap_new(size_t keep_free_bytes, size_t reserve_bytes, int reserve_nice)
{
    colheap *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->keep_free = keep_free_bytes / COLHEAP_SLAB_BYTES;
    pthread_mutex_init(&h->reserve_mu, NULL);
    pthread_cond_init(&h->reserve_cv, NULL);
    h->reserve_target = reserve_bytes / COLHEAP_SLAB_BYTES; /* the thread starts with use */
    h->reserve_nice = reserve_nice;
    return h;
}

void colheap_free(colheap *h)
{
    if (!h)
        return;
    if (h->reserve_thread) {
        pthread_mutex_lock(&h->reserve_mu);
        h->reserve_stop = true;
        pthread_cond_signal(&h->reserve_cv);
        pthread_mutex_unlock(&h->reserve_mu);
        pthread_join(h->reserve_tid, NULL);
    }
    for (size_t i = 0; i < h->nreserve; i++)
        unmap(h->reserve[i], COLHEAP_SLAB_BYTES);
    free(h->reserve);
    pthread_cond_destroy(&h->reserve_cv);
    pthread_mutex_destroy(&h->reserve_mu);
    for (size_t i = 0; i < h->nslabs; i++) {
        unmap(h->slabs[i]->base, COLHEAP_SLAB_BYTES);
        free(h->slabs[i]);
    }
    free(h->slabs);
    free(h);
}

/* The index in h->slabs of the slab holding p, or of where a slab at p would go. */
static size_t slab_index(const colheap *h, const void *p)
{
    size_t lo = 0, hi = h->nslabs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((const char *)p < h->slabs[mid]->base + COLHEAP_SLAB_BYTES)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static void list_push(colheap *h, slab *s, char *block, unsigned shift)
{
    free_block *b = (free_block *)block;
    UNPOISON(b, sizeof *b);
    b->prev = NULL;
    b->next = h->free[shift - COLHEAP_MIN_SHIFT];
    if (b->next)
        b->next->prev = b;
    h->free[shift - COLHEAP_MIN_SHIFT] = b;
    s->free_map[(size_t)(block - s->base) >> COLHEAP_MIN_SHIFT] = (uint8_t)shift;
    POISON(block + sizeof *b, ((size_t)1 << shift) - sizeof *b);
}

static void list_remove(colheap *h, slab *s, char *block, unsigned shift)
{
    free_block *b = (free_block *)block;
    if (b->prev)
        b->prev->next = b->next;
    else
        h->free[shift - COLHEAP_MIN_SHIFT] = b->next;
    if (b->next)
        b->next->prev = b->prev;
    s->free_map[(size_t)(block - s->base) >> COLHEAP_MIN_SHIFT] = 0;
}

/* A touched slab from the reserve, or NULL when it is empty; wakes the reserve thread to make
 * up for it (note 5). */
static char *reserve_take(colheap *h)
{
    size_t want = h->nslabs / 2; /* note 7 */
    if (want > h->reserve_target)
        want = h->reserve_target;
    if (!h->reserve_thread) {
        if (want == 0 || h->reserve_tried)
            return NULL;
        /* the first time the heap wants a reserve starts the thread; without it (no memory,
         * no thread) the heap still works, mapping its own slabs */
        h->reserve_tried = true;
        h->reserve = calloc(h->reserve_target, sizeof *h->reserve);
        h->reserve_want = want; /* no thread yet to share it with */
        if (h->reserve)
            h->reserve_thread = pthread_create(&h->reserve_tid, NULL, reserve_main, h) == 0;
        return NULL;
    }
    char *base = NULL;
    pthread_mutex_lock(&h->reserve_mu);
    if (h->nreserve > 0)
        base = h->reserve[--h->nreserve];
    if (want > h->reserve_want)
        h->reserve_want = want;
    pthread_cond_signal(&h->reserve_cv);
    pthread_mutex_unlock(&h->reserve_mu);
    return base;
}

/* Puts a slab, from the reserve or mapped now, on the list of whole free slabs; false when out
 * of memory. */
static bool slab_add(colheap *h)
{
    if (h->nslabs == h->slab_cap) {
        size_t cap = h->slab_cap ? h->slab_cap * 2 : 16;
        slab **v = realloc(h->slabs, cap * sizeof *v);
        if (!v)
            return false;
        h->slabs = v;
        h->slab_cap = cap;
    }
    slab *s = calloc(1, sizeof *s);
    if (!s)
        return false;
    s->base = reserve_take(h);
    if (s->base) {
        h->reserve_taken++;
    } else {
        s->base = map_aligned(COLHEAP_SLAB_BYTES);
        if (!s->base) {
            free(s);
            return false;
        }
        h->slab_maps++;
    }
    size_t at = slab_index(h, s->base);
    memmove(&h->slabs[at + 1], &h->slabs[at], (h->nslabs - at) * sizeof *h->slabs);
    h->slabs[at] = s;
    h->nslabs++;
    list_push(h, s, s->base, COLHEAP_SLAB_SHIFT);
    h->free_slabs++;
    return true;
}

void *colheap_alloc(colheap *h, size_t bytes)
{
    size_t size = colheap_block_size(bytes);
    if (size == 0)
        return NULL;
    if (size > COLHEAP_SLAB_BYTES) { /* note 4 */
        char *own = map_aligned(size);
        if (own) {
            h->used_bytes += size;
            h->own_bytes += size;
        }
        return own;
    }
    unsigned want = shift_of(size), have = want;
    while (have <= COLHEAP_SLAB_SHIFT && !h->free[have - COLHEAP_MIN_SHIFT])
        have++;
    if (have > COLHEAP_SLAB_SHIFT) {
        if (!slab_add(h))
            return NULL;
        have = COLHEAP_SLAB_SHIFT;
    }
    char *block = (char *)h->free[have - COLHEAP_MIN_SHIFT];
    slab *s = h->slabs[slab_index(h, block)];
    list_remove(h, s, block, have);
    if (have == COLHEAP_SLAB_SHIFT)
        h->free_slabs--;
    while (have > want) { /* split: the upper half stays free */
        have--;
        list_push(h, s, block + ((size_t)1 << have), have);
    }
    UNPOISON(block, size);
    h->used_bytes += size;
    return block;
}

void colheap_release(colheap *h, void *p, size_t bytes)
{
    if (!p)
        return;
    size_t size = colheap_block_size(bytes);
    h->used_bytes -= size;
    if (size > COLHEAP_SLAB_BYTES) {
        h->own_bytes -= size;
        unmap(p, size);
        return;
    }
    size_t at = slab_index(h, p);
    slab *s = h->slabs[at];
    size_t off = (size_t)((char *)p - s->base);
    unsigned shift = shift_of(size);
    while (shift < COLHEAP_SLAB_SHIFT) { /* merge with the buddy while it is free and whole */
        size_t buddy = off ^ ((size_t)1 << shift);
        if (s->free_map[buddy >> COLHEAP_MIN_SHIFT] != shift)
            break;
        list_remove(h, s, s->base + buddy, shift);
        off &= ~((size_t)1 << shift);
        shift++;
    }
    if (shift < COLHEAP_SLAB_SHIFT) {
        list_push(h, s, s->base + off, shift);
        return;
    }
    if (h->free_slabs < h->keep_free) { /* note 4 */
        list_push(h, s, s->base, COLHEAP_SLAB_SHIFT);
        h->free_slabs++;
        return;
    }
    unmap(s->base, COLHEAP_SLAB_BYTES);
    free(s);
    memmove(&h->slabs[at], &h->slabs[at + 1], (h->nslabs - at - 1) * sizeof *h->slabs);
    h->nslabs--;
    h->slab_unmaps++;
}

void colheap_get_stats(colheap *h, colheap_stats *st)
{
    memset(st, 0, sizeof *st);
    pthread_mutex_lock(&h->reserve_mu);
    st->reserve_slabs = h->nreserve;
    st->reserve_maps = h->reserve_maps;
    pthread_mutex_unlock(&h->reserve_mu);
    st->reserve_taken = h->reserve_taken;
    st->mapped_bytes = h->nslabs * COLHEAP_SLAB_BYTES + h->own_bytes;
    st->used_bytes = h->used_bytes;
    st->slabs = h->nslabs;
    st->free_slabs = h->free_slabs;
    st->slab_maps = h->slab_maps;
    st->slab_unmaps = h->slab_unmaps;
}
