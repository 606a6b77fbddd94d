/*
 * query/arena.c — bump allocator (see arena.h).
 *
 * Layout: a singly linked list of chunks, newest first. Each chunk is one malloc holding a
 * header followed by its payload; `used` counts the payload bytes handed out. An allocation
 * that does not fit the newest chunk gets a new chunk of max(ARENA_CHUNK, n) bytes; the tail
 * of the previous chunk is abandoned (at most one allocation's worth of waste per chunk).
 */
#include "query/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK ((size_t)64 * 1024)
#define ARENA_ALIGN (alignof(max_align_t))

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t cap;
    size_t used;
    alignas(max_align_t) unsigned char data[];
} arena_chunk;

struct arena {
    arena_chunk *head;
    size_t max_bytes; /* 0 = unlimited */
    size_t total;     /* bytes handed out, including alignment padding */
};

arena *arena_new(size_t max_bytes)
{
    arena *a = calloc(1, sizeof(*a));
    if (a)
        a->max_bytes = max_bytes;
    return a;
}

void arena_free(arena *a)
{
    if (!a)
        return;
    arena_chunk *c = a->head;
    while (c) {
        arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    free(a);
}

void *arena_alloc(arena *a, size_t n)
{
    if (!a)
        return NULL;
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - ARENA_ALIGN)
        return NULL;
    size_t rounded = (n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
    if (a->max_bytes && (rounded > a->max_bytes || a->total > a->max_bytes - rounded))
        return NULL;
    arena_chunk *c = a->head;
    if (!c || c->cap - c->used < rounded) {
        size_t cap = rounded > ARENA_CHUNK ? rounded : ARENA_CHUNK;
        if (cap > SIZE_MAX - sizeof(arena_chunk))
            return NULL;
        c = malloc(sizeof(arena_chunk) + cap);
        if (!c)
            return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += rounded;
    a->total += rounded;
    return p;
}

void *arena_calloc(arena *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    size_t bytes = n * size;
    void *p = arena_alloc(a, bytes);
    if (p)
        memset(p, 0, bytes ? bytes : 1);
    return p;
}

char *arena_strndup(arena *a, const char *s, size_t len)
{
    if (len == SIZE_MAX)
        return NULL;
    char *p = arena_alloc(a, len + 1);
    if (!p)
        return NULL;
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

size_t arena_used(const arena *a)
{
    return a ? a->total : 0;
}
