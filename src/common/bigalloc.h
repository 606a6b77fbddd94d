/*
 * common/bigalloc.h — zeroed memory for large arrays that are filled right after allocation
 * (a segment's index entries, its decompressed meta section).
 *
 * Why: a fresh multi-megabyte calloc is an anonymous mapping whose pages fault in one at a
 * time as they are first written; on this kind of virtual machine a page fault costs several
 * microseconds, and opening a data directory of 50,000 blocks took ~1,600 of them (a fifth of
 * a cold `volta restore`). At or above VT_BIG_MIN bytes the memory is mapped with
 * MAP_POPULATE, so the kernel fills every page table entry in one call; below it, calloc.
 * Either way the memory is zeroed and freed with vt_big_free (sanitizer builds always use the
 * heap, which AddressSanitizer watches). A header before the returned
 * pointer records how it was obtained (the caller keeps no size).
 */
#ifndef COMMON_BIGALLOC_H
#define COMMON_BIGALLOC_H

#include <stdbool.h>
#include <stddef.h>

#define VT_BIG_MIN ((size_t)256 << 10)

/* n * size zeroed bytes, aligned to 64; NULL when out of memory or when n * size overflows. */
void *vt_big_calloc(size_t n, size_t size);
/* Frees what vt_big_calloc returned (NULL is fine). */
void vt_big_free(void *p);
/* Tests: take the mapping path at or above VT_BIG_MIN even in a sanitizer build. */
void vt_big_force_mapping(bool on);

#endif
