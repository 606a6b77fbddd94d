/*
 * engine/series_index.h — the series index of one database.
 *
 * A series is identified by its canonical key (series_key_build): measurement and sorted tags as
 * length-prefixed byte strings, so two spellings of one series can never collide. The index maps
 *   canonical key        -> series (id, measurement, tags, typed fields)
 *   series id            -> series
 *   tag key=value        -> posting list of series ids (ascending)
 *   measurement          -> list of series
 *   (measurement, field) -> type (one type per field of a measurement, InfluxDB's rule)
 * It lives in memory only and is rebuilt on open from the series sections of the segments.
 *
 * Deletion (sidx_remove, used by DELETE / DROP SERIES / DROP MEASUREMENT): a series is taken out
 * of every map and list and freed; a posting or measurement list left empty is freed too, and a
 * measurement losing its last series forgets its (measurement, field) types, so that a later
 * write may give a field another type (InfluxDB 1.x). Each measurement list keeps the
 * measurement's field set (name, type) in the order fields first appeared; the types map keys
 * are owned by those entries.
 *
 * Ownership: the index owns every series and string it returns; they stay valid (and at the
 * same address) until sidx_free. A series' field array may grow (realloc) when a field is added,
 * but each field name is a separate allocation that never moves.
 */
#ifndef ENGINE_SERIES_INDEX_H
#define ENGINE_SERIES_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/point.h"

/* Open-addressing hash map over byte keys; the key bytes are owned by the caller and must
 * outlive the entry. Deletion shifts the following entries back (no tombstone slots). */
typedef struct sidx_slot {
    uint64_t hash;
    const uint8_t *key; /* NULL = empty slot */
    size_t klen;
    void *val;
} sidx_slot;

typedef struct sidx_map {
    sidx_slot *slots;
    size_t cap; /* power of two or 0 */
    size_t n;
} sidx_map;

uint64_t sidx_hash(const void *data, size_t len);
void *sidx_map_get(const sidx_map *m, uint64_t hash, const void *key, size_t klen);
/* Inserts or replaces; returns false on out-of-memory. */
bool sidx_map_put(sidx_map *m, uint64_t hash, const void *key, size_t klen, void *val);
/* Removes key; returns the value it had (NULL when absent). */
void *sidx_map_del(sidx_map *m, uint64_t hash, const void *key, size_t klen);
void sidx_map_free(sidx_map *m);

typedef struct sidx_field {
    char *name; /* NUL-terminated, owned */
    size_t len;
    vt_type type;
} sidx_field;

typedef struct sidx_series {
    uint64_t id;
    uint8_t *key; /* canonical key, owned */
    size_t keylen;
    uint64_t hash;
    vt_str measurement; /* slices into key */
    vt_tag *tags;       /* slices into key, sorted */
    size_t ntags;
    sidx_field *fields; /* in order of creation */
    size_t nfields, fcap;
    /* memtable hooks, owned by the engine: the series' slot in the active memtable (valid when
     * mt_gen equals the active memtable's generation) and in the memtable being flushed */
    void *mt_active;
    uint64_t mt_gen;
    void *mt_imm;
    size_t all_pos; /* index in sidx.all */
    bool dead;      /* being removed (sidx_remove) */
} sidx_series;

typedef struct sidx {
    sidx_map by_key;
    sidx_map by_id;
    sidx_map types;    /* "measurement\0field" -> (void *)(uintptr_t)vt_type */
    sidx_map postings; /* "key\0value" -> sidx_list */
    sidx_map measurements; /* measurement -> sidx_list */
    sidx_series **all;
    size_t n, cap;
    uint64_t next_id; /* ids start at 1 */
} sidx;

/* One field of a measurement; tkey ("measurement\0field", owned) is the types map key, name
 * points into it (NUL-terminated). */
typedef struct sidx_mfield {
    uint8_t *tkey;
    size_t tklen;
    const char *name;
    size_t len;
    vt_type type;
} sidx_mfield;

typedef struct sidx_list {
    uint8_t *key; /* owned */
    size_t klen;
    uint64_t *ids;
    sidx_series **series;
    size_t n, cap;
    sidx_mfield *mfields; /* measurement lists only: the measurement's fields */
    size_t nmfields, mfcap;
    bool dirty; /* scratch of sidx_remove */
} sidx_list;

/* Canonical key: uvarint len + measurement, uvarint ntags, per tag uvarint len + key, uvarint
 * len + value. Appends to b (which the caller resets). */
void series_key_build(vt_buf *b, vt_str measurement, const vt_tag *tags, size_t ntags);
/* Splits a canonical key back into its measurement and tags (slices into key): *ntags is the
 * key's tag count; tags[0..min(cap, *ntags)) are filled. false when key is not a well-formed
 * canonical key (truncated, trailing bytes). */
bool series_key_parse(const uint8_t *key, size_t len, vt_str *measurement, vt_tag *tags,
                      size_t cap, size_t *ntags);

void sidx_init(sidx *x);
void sidx_free(sidx *x);
sidx_series *sidx_find(const sidx *x, const uint8_t *key, size_t klen, uint64_t hash);
sidx_series *sidx_find_id(const sidx *x, uint64_t id);
/* Adds a series with the given canonical key; id 0 assigns the next id. Returns NULL on
 * out-of-memory or a malformed key. */
sidx_series *sidx_add(sidx *x, uint64_t id, const uint8_t *key, size_t klen, uint64_t hash);
/* Index of field name in s->fields, or -1. */
int sidx_series_field(const sidx_series *s, const char *name, size_t len);
/* Appends a field to s; returns its index or -1 on out-of-memory. */
int sidx_series_add_field(sidx_series *s, const char *name, size_t len, vt_type type);
/* Type of (measurement, field) in this database, VT_TYPE_NONE when never written. */
vt_type sidx_field_type(const sidx *x, vt_str measurement, const char *field, size_t flen);
bool sidx_set_field_type(sidx *x, vt_str measurement, const char *field, size_t flen, vt_type t);
/* Series carrying tag key=value / of a measurement (NULL when none). */
const sidx_list *sidx_postings(const sidx *x, vt_str key, vt_str value);
const sidx_list *sidx_measurement(const sidx *x, vt_str measurement);
/* Removes series v[0..n) (distinct, all in x) from the index and frees them; the pointers are
 * invalid afterwards. Lists left empty are freed; a measurement left without series forgets its
 * field types. Returns false on out-of-memory (nothing removed then). */
bool sidx_remove(sidx *x, sidx_series **v, size_t n);

#endif
