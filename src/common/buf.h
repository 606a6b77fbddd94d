/*
 * common/buf.h — a growable byte buffer, and little-endian / varint put/get helpers used by
 * every on-disk format (journal, segments, manifests). All on-disk integers are little-endian.
 *
 * Ownership: a vt_buf owns its data; vt_buf_free releases it. vt_buf_reset keeps the capacity
 * (reuse on the hot path without allocating).
 */
#ifndef COMMON_BUF_H
#define COMMON_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct vt_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    bool oom; /* set when a growth failed; later appends are no-ops. Check once at the end. */
} vt_buf;

void vt_buf_init(vt_buf *b);
void vt_buf_free(vt_buf *b);
static inline void vt_buf_reset(vt_buf *b)
{
    b->len = 0;
}
/* Makes room for extra more bytes; returns false (and sets oom) when it cannot. */
bool vt_buf_reserve(vt_buf *b, size_t extra);
void vt_buf_append(vt_buf *b, const void *data, size_t len);
void vt_buf_putc(vt_buf *b, uint8_t c);
void vt_buf_put_u16(vt_buf *b, uint16_t v);
void vt_buf_put_u32(vt_buf *b, uint32_t v);
void vt_buf_put_u64(vt_buf *b, uint64_t v);
void vt_buf_put_uvarint(vt_buf *b, uint64_t v);
void vt_buf_put_varint(vt_buf *b, int64_t v); /* zigzag */
void vt_buf_printf(vt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* NUL-terminates without counting the NUL in len; returns data as a C string. */
const char *vt_buf_cstr(vt_buf *b);

static inline uint16_t vt_get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t vt_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t vt_get_u64(const uint8_t *p)
{
    return (uint64_t)vt_get_u32(p) | ((uint64_t)vt_get_u32(p + 4) << 32);
}
static inline void vt_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline void vt_put_u64(uint8_t *p, uint64_t v)
{
    vt_put_u32(p, (uint32_t)v);
    vt_put_u32(p + 4, (uint32_t)(v >> 32));
}
static inline uint64_t vt_zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
static inline int64_t vt_unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Bounds-checked reader over a byte range: every get fails (returns false, sets bad) instead
 * of reading past the end, so decoders of untrusted bytes never overrun. */
typedef struct vt_reader {
    const uint8_t *p;
    const uint8_t *end;
    bool bad;
} vt_reader;

static inline void vt_reader_init(vt_reader *r, const void *data, size_t len)
{
    r->p = data;
    r->end = r->p + len;
    r->bad = false;
}
static inline size_t vt_reader_left(const vt_reader *r)
{
    return (size_t)(r->end - r->p);
}
bool vt_read_u8(vt_reader *r, uint8_t *v);
bool vt_read_u16(vt_reader *r, uint16_t *v);
bool vt_read_u32(vt_reader *r, uint32_t *v);
bool vt_read_u64(vt_reader *r, uint64_t *v);
bool vt_read_uvarint(vt_reader *r, uint64_t *v);
bool vt_read_varint(vt_reader *r, int64_t *v);
/* Points *out at the next len bytes (no copy). */
bool vt_read_bytes(vt_reader *r, size_t len, const uint8_t **out);

#endif
