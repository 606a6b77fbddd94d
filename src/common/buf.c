#include "common/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void vt_buf_init(vt_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->oom = false;
}

void vt_buf_free(vt_buf *b)
{
    free(b->data);
    vt_buf_init(b);
}

bool vt_buf_reserve(vt_buf *b, size_t extra)
{
    if (b->oom)
        return false;
    if (extra > SIZE_MAX - b->len - 1) {
        b->oom = true;
        return false;
    }
    size_t need = b->len + extra + 1; /* +1 keeps room for vt_buf_cstr's NUL */
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    uint8_t *d = realloc(b->data, cap);
    if (!d) {
        b->oom = true;
        return false;
    }
    b->data = d;
    b->cap = cap;
    return true;
}

void vt_buf_append(vt_buf *b, const void *data, size_t len)
{
    if (len == 0 || !vt_buf_reserve(b, len))
        return;
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

void vt_buf_putc(vt_buf *b, uint8_t c)
{
    if (!vt_buf_reserve(b, 1))
        return;
    b->data[b->len++] = c;
}

void vt_buf_put_u16(vt_buf *b, uint16_t v)
{
    uint8_t t[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    vt_buf_append(b, t, 2);
}

void vt_buf_put_u32(vt_buf *b, uint32_t v)
{
    uint8_t t[4];
    vt_put_u32(t, v);
    vt_buf_append(b, t, 4);
}

void vt_buf_put_u64(vt_buf *b, uint64_t v)
{
    uint8_t t[8];
    vt_put_u64(t, v);
    vt_buf_append(b, t, 8);
}

void vt_buf_put_uvarint(vt_buf *b, uint64_t v)
{
    uint8_t t[10];
    size_t n = 0;
    while (v >= 0x80) {
        t[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    t[n++] = (uint8_t)v;
    vt_buf_append(b, t, n);
}

void vt_buf_put_varint(vt_buf *b, int64_t v)
{
    vt_buf_put_uvarint(b, vt_zigzag(v));
}

void vt_buf_printf(vt_buf *b, const char *fmt, ...)
{
    va_list ap;
    char small[256];
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        vt_buf_append(b, small, (size_t)n);
        return;
    }
    if (!vt_buf_reserve(b, (size_t)n + 1))
        return;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

const char *vt_buf_cstr(vt_buf *b)
{
    if (!vt_buf_reserve(b, 0))
        return "";
    b->data[b->len] = '\0';
    return (const char *)b->data;
}

bool vt_read_u8(vt_reader *r, uint8_t *v)
{
    if (r->bad || r->p >= r->end)
        return !(r->bad = true);
    *v = *r->p++;
    return true;
}

bool vt_read_u16(vt_reader *r, uint16_t *v)
{
    if (r->bad || vt_reader_left(r) < 2)
        return !(r->bad = true);
    *v = vt_get_u16(r->p);
    r->p += 2;
    return true;
}

bool vt_read_u32(vt_reader *r, uint32_t *v)
{
    if (r->bad || vt_reader_left(r) < 4)
        return !(r->bad = true);
    *v = vt_get_u32(r->p);
    r->p += 4;
    return true;
}

bool vt_read_u64(vt_reader *r, uint64_t *v)
{
    if (r->bad || vt_reader_left(r) < 8)
        return !(r->bad = true);
    *v = vt_get_u64(r->p);
    r->p += 8;
    return true;
}

bool vt_read_uvarint(vt_reader *r, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (r->bad || r->p >= r->end)
            return !(r->bad = true);
        uint8_t c = *r->p++;
        if (shift == 63 && c > 1)
            return !(r->bad = true);
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = x;
            return true;
        }
    }
    return !(r->bad = true);
}

bool vt_read_varint(vt_reader *r, int64_t *v)
{
    uint64_t u;
    if (!vt_read_uvarint(r, &u))
        return false;
    *v = vt_unzigzag(u);
    return true;
}

bool vt_read_bytes(vt_reader *r, size_t len, const uint8_t **out)
{
    if (r->bad || vt_reader_left(r) < len)
        return !(r->bad = true);
    *out = r->p;
    r->p += len;
    return true;
}
