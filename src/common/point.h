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

static inline bool vt_str_eq(vt_str a, vt_str b)
{
    return a.len == b.len && (a.len == 0 || __builtin_memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline vt_str vt_str_c(const char *s)
{
    vt_str r = {s, __builtin_strlen(s)};
    return r;
}

#endif
