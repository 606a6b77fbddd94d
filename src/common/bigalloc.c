/*
 * common/bigalloc.c — see bigalloc.h.
 *
 * Layout: [header: 64 bytes, the first 8 holding the mapped length, or 0 for the heap path]
 * [memory]. 64 bytes keep the returned memory cache-line aligned on both paths (mmap is page
 * aligned; the heap path uses posix_memalign(64) with exactly header + n bytes, so a
 * sanitizer build still sees an access past the end). Sanitizer builds take the heap path
 * always: AddressSanitizer does not watch anonymous mappings.
 */
#include "common/bigalloc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define BIG_HEADER 64

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static atomic_bool force_map; /* vt_big_force_mapping (tests) */

void vt_big_force_mapping(bool on)
{
    atomic_store(&force_map, on);
}

void *vt_big_calloc(size_t n, size_t size)
{
    if (size != 0 && n > (SIZE_MAX - 2 * BIG_HEADER) / size)
        return NULL;
    size_t bytes = n * size;
    if (bytes >= VT_BIG_MIN && (!SANITIZED || atomic_load(&force_map))) {
        size_t len = bytes + BIG_HEADER;
        void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                       -1, 0);
        if (m != MAP_FAILED) {
            uint64_t *h = m;
            h[0] = len;
            return (uint8_t *)m + BIG_HEADER;
        }
        /* no mapping (limits): the heap below */
    }
    void *raw = NULL;
    if (posix_memalign(&raw, BIG_HEADER, bytes + BIG_HEADER) != 0)
        return NULL;
    memset(raw, 0, bytes + BIG_HEADER);
    return (uint8_t *)raw + BIG_HEADER; /* header word 0 = 0: not mapped */
}

void vt_big_free(void *p)
{
    if (!p)
        return;
    uint64_t *h = (uint64_t *)((uint8_t *)p - BIG_HEADER);
    if (h[0] != 0)
        munmap(h, (size_t)h[0]);
    else
        free(h);
}
