/*
 * engine/colheap.h — the memory of the memtables' column arrays: a buddy allocator over 2 MiB
 * slabs that the kernel may back with transparent huge pages.
 *
 * Why: a column array from malloc is fresh anonymous memory whose pages fault in one at a
 * time as the column fills, and on the virtual machines volta runs on a page fault costs about
 * 10 us (a trap to the hypervisor). Loading the 4.45 M-point demo file took ~19,000 such faults
 * for column arrays alone, over a tenth of the server's CPU. Slabs are 2 MiB-aligned and
 * advised MADV_HUGEPAGE, so one fault maps a whole slab when the kernel has a huge page to
 * give; and a flushed memtable's arrays go back to the heap, where the next memtable finds
 * them already mapped.
 *
 * Contract: blocks have power-of-two sizes of at least COLHEAP_MIN_BLOCK bytes (a request is
 * rounded up; colheap_block_size says to what), are aligned to their size within their slab,
 * and are released with the size they were asked with. Blocks up to COLHEAP_SLAB_BYTES come
 * from slabs; larger ones get a mapping of their own, unmapped when released. Whole free slabs
 * stay mapped up to keep_free_bytes (the memory the next memtable will want); past that they
 * are unmapped. A heap made with a reserve has a thread that keeps up to that many slabs mapped
 * and touched ahead of need (colheap.c note 5), so that an append growing a column does not pay
 * for faulting fresh memory in; the reserve grows with the heap, half its slabs (note 7). Not
 * thread-safe otherwise: the engine uses it under its lock, like the memtables.
 * In AddressSanitizer builds free blocks are poisoned, so a read of a released array is caught.
 */
#ifndef ENGINE_COLHEAP_H
#define ENGINE_COLHEAP_H

#include <stddef.h>
#include <stdint.h>

#define COLHEAP_SLAB_SHIFT 21
#define COLHEAP_SLAB_BYTES ((size_t)1 << COLHEAP_SLAB_SHIFT)
#define COLHEAP_MIN_SHIFT 6
#define COLHEAP_MIN_BLOCK ((size_t)1 << COLHEAP_MIN_SHIFT)

typedef struct colheap colheap;

typedef struct colheap_stats {
    size_t mapped_bytes;             /* slabs and own mappings */
    size_t used_bytes;               /* in blocks handed out (rounded sizes) */
    size_t slabs;                    /* mapped slabs, free or not */
    size_t free_slabs;               /* slabs with no block handed out */
    uint64_t slab_maps, slab_unmaps; /* since colheap_new; slab_maps: by colheap_alloc itself */
    size_t reserve_slabs;            /* touched slabs waiting in the reserve (not in slabs) */
    uint64_t reserve_maps;           /* slabs the reserve thread mapped */
    uint64_t reserve_taken;          /* slabs colheap_alloc took from the reserve */
} colheap_stats;

/* A heap keeping up to keep_free_bytes of whole free slabs mapped and, when reserve_bytes holds
 * a slab or more, a reserve of up to that many touched slabs (rounded down to whole slabs; half
 * the slabs the heap holds, colheap.c note 7) filled by a thread of its own ("volta-heap"),
 * started by the allocation that adds the heap's third slab, which runs reserve_nice nice steps
 * below that allocating thread (common/thread.h; 0 = the same priority); NULL on out-of-memory. */
colheap *colheap_new(size_t keep_free_bytes, size_t reserve_bytes, int reserve_nice);
/* Stops the reserve thread; unmaps the reserve and every slab: blocks still handed out from slabs
 * are gone with them. A block larger than a slab has a mapping the heap does not track: release it
 * first. NULL is fine. */
void colheap_free(colheap *h);

/* The size a request of bytes bytes is given: the next power of two, at least
 * COLHEAP_MIN_BLOCK; 0 when bytes is 0 or too large to round. */
size_t colheap_block_size(size_t bytes);
/* A block of at least bytes bytes (not zeroed); NULL when bytes is 0, on overflow, or when no
 * memory can be mapped. */
void *colheap_alloc(colheap *h, size_t bytes);
/* Gives back p (NULL is fine), which colheap_alloc(h, bytes) returned. */
void colheap_release(colheap *h, void *p, size_t bytes);

/* Takes the reserve's mutex for a moment; otherwise under the caller's lock like the rest. */
void colheap_get_stats(colheap *h, colheap_stats *st);

#endif
