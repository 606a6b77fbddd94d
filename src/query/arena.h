/*
 * query/arena.h — a bump allocator for per-query memory (the AST of a parsed query, its
 * strings, the lexer's unescaped literals). Everything allocated from an arena is released by
 * one arena_free; there is no per-object free.
 *
 * Memory comes in chunks (64 KiB, or larger for a big single request). An arena may carry a
 * byte budget (max_bytes > 0): an allocation that would take the total past it fails (NULL),
 * like a failed malloc, so untrusted input cannot make a query's memory grow without bound.
 */
#ifndef QUERY_ARENA_H
#define QUERY_ARENA_H

#include <stddef.h>

typedef struct arena arena;

/* A new, empty arena; max_bytes = 0 means no budget. NULL when out of memory. */
arena *arena_new(size_t max_bytes);
/* Releases every allocation and the arena itself. NULL is a no-op. */
void arena_free(arena *a);
/* n bytes aligned for any type (max_align_t), uninitialised. NULL when out of memory or over
 * budget. n = 0 returns a valid unique pointer. */
void *arena_alloc(arena *a, size_t n);
/* Like arena_alloc, zero-filled; n * size is checked for overflow. */
void *arena_calloc(arena *a, size_t n, size_t size);
/* Copies s[0..len) and appends a NUL. */
char *arena_strndup(arena *a, const char *s, size_t len);
/* Bytes handed out so far (for tests and limits). */
size_t arena_used(const arena *a);

#endif
