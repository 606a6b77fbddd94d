/*
 * engine/memtable.h — the in-memory write buffer of the engine.
 *
 * Per series (mt_series), per field a growable column (mt_column) of (time, value) in arrival
 * order, with a flag telling whether arrival order is already strictly time-ascending. Readers
 * and the flusher never sort in place: mt_column_snapshot copies a time range and sorts the copy
 * (stable, so that of equal times the later write wins) and drops the overwritten duplicates.
 *
 * Ownership: the memtable owns its columns and the bytes of every string value (copied at
 * append into chunked storage that never moves). mt_series point back at the index's series
 * (series_index.h) and at field names owned by it; those outlive the memtable.
 * Not thread-safe: the engine locks around it.
 */
#ifndef ENGINE_MEMTABLE_H
#define ENGINE_MEMTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/point.h"
#include "engine/colheap.h"
#include "engine/segment.h"
#include "engine/series_index.h"

typedef struct mt_column {
    const char *name; /* owned by the series index */
    size_t nlen;
    vt_type type;
    size_t n, cap;
    int64_t *time;
    void *val; /* double / int64_t / uint64_t / bool / vt_str by type */
    bool sorted; /* times strictly ascending in arrival order */
} mt_column;

typedef struct mt_series {
    void *db; /* the engine's database (opaque here) */
    sidx_series *series;
    mt_column *cols;
    size_t ncols, ccap;
} mt_series;

typedef struct mt_chunk mt_chunk;

typedef struct memtable {
    uint64_t gen;
    mt_series **series; /* in creation order */
    size_t nseries, scap;
    size_t bytes;    /* memory held, for the flush trigger */
    uint64_t points; /* appended (duplicates included) */
    mt_chunk *chunks; /* string storage */
    colheap *heap;    /* column arrays; NULL: from malloc */
    bool oom;
} memtable;

/* A memtable whose column arrays come from heap (NULL: malloc), which must outlive it and is
 * used under the same lock. */
memtable *memtable_new(uint64_t gen, colheap *heap);
void memtable_free(memtable *m);

/* Adds a series slot; NULL on out-of-memory. */
mt_series *memtable_add_series(memtable *m, void *db, sidx_series *s);
/* The column of field name[0..nlen) in ms, or NULL when it has none yet (or ms is NULL). */
static inline mt_column *mt_series_column(const mt_series *ms, const char *name, size_t nlen)
{
    for (size_t i = 0; ms && i < ms->ncols; i++)
        if (ms->cols[i].nlen == nlen && vt_mem_eq(ms->cols[i].name, name, nlen))
            return &ms->cols[i];
    return NULL;
}

/* Column of field (name owned by the caller, lives as long as the memtable), empty when new;
 * NULL on OOM. */
mt_column *memtable_column(memtable *m, mt_series *ms, const char *name, size_t nlen, vt_type type);
/* Appends one value (of the column's type); false on out-of-memory. */
bool memtable_append(memtable *m, mt_column *c, int64_t time, const vt_value *v);

/* Deletes the points of c with tmin <= time <= tmax (arrival order of the others kept, so last
 * write wins as before); returns how many were removed (m->points is reduced by as many). */
size_t mt_column_delete(memtable *m, mt_column *c, int64_t tmin, int64_t tmax);
/* Removes and frees the slots v[0..n) (all in m); their points are gone. */
void memtable_remove_series(memtable *m, mt_series *const *v, size_t n);
/* Removes and frees every slot of database db (ms->db == db); their points are gone. */
void memtable_remove_db(memtable *m, const void *db);
/* True when some column of ms holds a point. */
bool mt_series_has_points(const mt_series *ms);

/* Appends to out (type = column type) the points of c with tmin <= time <= tmax, ascending, last
 * write winning on equal times. Strings in out point into the memtable. false on OOM. */
bool mt_column_snapshot(const mt_column *c, int64_t tmin, int64_t tmax, seg_col *out);

#endif
