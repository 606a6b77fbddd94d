/*
 * common/point.h — the data model shared by ingest, the journal payloads and the engine.
 *
 * A point = measurement + tag set (sorted by key, unique keys) + one or more typed fields + a
 * timestamp in nanoseconds since the Unix epoch (UTC). Strings are (ptr, len) slices, already
 * unescaped, not NUL-terminated; who owns the bytes is said where a point is produced (the line
 * protocol parser's points live until its next call).
 */
#ifndef COMMON_POINT_H
#define COMMON_POINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct vt_str {
    const char *ptr;
    size_t len;
} vt_str;

typedef enum vt_type {
    VT_TYPE_NONE = 0,
    VT_TYPE_FLOAT = 1,
    VT_TYPE_INT = 2,
    VT_TYPE_UINT = 3,
    VT_TYPE_BOOL = 4,
    VT_TYPE_STRING = 5,
} vt_type;

/* "float", "integer", "unsigned", "boolean", "string" — InfluxDB's own spelling. */
const char *vt_type_name(vt_type t);

typedef struct vt_value {
    vt_type type;
    union {
        double f;
        int64_t i;
        uint64_t u;
        bool b;
        vt_str s;
    } v;
} vt_value;

typedef struct vt_tag {
    vt_str key;
    vt_str value;
} vt_tag;

typedef struct vt_field {
    vt_str key;
    vt_value value;
} vt_field;

typedef struct vt_point {
    vt_str measurement;
    const vt_tag *tags; /* sorted by key (bytewise), keys unique */
    size_t ntags;
    const vt_field *fields; /* in the order written; keys unique (last one wins on input) */
    size_t nfields;
    int64_t time; /* ns since epoch */
} vt_point;

/* a[0..n) == b[0..n). Inline for up to 16 bytes (field names and measurements, compared per
 * point on the write path, where a call to memcmp cost more than the comparison); memcmp
 * beyond. */
static inline bool vt_mem_eq(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    if (n > 16)
        return __builtin_memcmp(x, y, n) == 0;
    if (n >= 8) { /* two 8-byte words, overlapping when n < 16 */
        uint64_t x0, y0, x1, y1;
        __builtin_memcpy(&x0, x, 8);
        __builtin_memcpy(&y0, y, 8);
        __builtin_memcpy(&x1, x + n - 8, 8);
        __builtin_memcpy(&y1, y + n - 8, 8);
        return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    if (n >= 4) { /* two 4-byte words, overlapping when n < 8 */
        uint32_t x0, y0, x1, y1;
        __builtin_memcpy(&x0, x, 4);
        __builtin_memcpy(&y0, y, 4);
        __builtin_memcpy(&x1, x + n - 4, 4);
        __builtin_memcpy(&y1, y + n - 4, 4);
        return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i])
            return false;
    return true;
}

static inline bool vt_str_eq(vt_str a, vt_str b)
{
    return a.len == b.len && vt_mem_eq(a.ptr, b.ptr, a.len);
}

static inline vt_str vt_str_c(const char *s)
{
    vt_str r = {s, __builtin_strlen(s)};
    return r;
}

/* double -> int64 as Go converts on amd64 (InfluxDB's and Flux's int(float)): truncation in
 * range; NaN and values out of range give INT64_MIN (the CPU's "integer indefinite"), where a
 * C cast would be undefined. */
static inline int64_t vt_f64_to_i64(double d)
{
    if (d >= -9223372036854775808.0 && d < 9223372036854775808.0)
        return (int64_t)d;
    return INT64_MIN;
}

/* double -> uint64 for d >= 0: truncation below 2^64; NaN and larger values give 2^63 (Go on
 * amd64). */
static inline uint64_t vt_f64_to_u64(double d)
{
    if (d >= 0 && d < 18446744073709551616.0)
        return (uint64_t)d;
    return UINT64_C(1) << 63;
}

#endif
