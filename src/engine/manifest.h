/*
 * engine/manifest.h — the engine's MANIFEST: which databases exist, which segment files hold
 * their data (oldest first), and the checkpoint (highest journal seq contained in segments).
 * Byte layout at the top of manifest.c and in docs/format/segment.md. Published atomically
 * with durable_publish; the MANIFEST on disk is the whole truth (segment files it does not
 * list are leftovers of an interrupted flush or compaction).
 */
#ifndef ENGINE_MANIFEST_H
#define ENGINE_MANIFEST_H

#include <stdint.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/error.h"

/* A tombstone: the points of series series_id with tmin <= time <= tmax are deleted from every
 * segment of the database whose id is below seg_bound (segments written later hold only points
 * written after the delete). Applied at read time, purged by compaction. */
typedef struct manifest_tomb {
    uint64_t series_id;
    int64_t tmin, tmax;
    uint64_t seg_bound;
} manifest_tomb;

typedef struct manifest_db {
    char *name; /* owned */
    uint32_t id;
    uint64_t *segments; /* owned, oldest first */
    size_t nsegments;
    manifest_tomb *tombs; /* owned (version 2) */
    size_t ntombs;
    uint8_t *meta; /* owned (version 3): the database's metadata blob, opaque to the engine */
    size_t meta_len;
} manifest_db;

typedef struct manifest {
    uint64_t checkpoint_seq;
    uint64_t next_segment_id;
    uint32_t next_db_id;
    manifest_db *dbs; /* owned, sorted by name */
    size_t ndbs;
} manifest;

/* Writes version 1 when no database has tombstones or metadata, version 2 when some have
 * tombstones but none has metadata, else version 3. */
void manifest_encode(const manifest *m, vt_buf *out);
/* Parses and validates (CRC, structure); name is used in messages. Fills m (caller frees). */
vt_rc manifest_decode(const char *name, const uint8_t *data, size_t len, manifest *m,
                      vt_err *err);
void manifest_free(manifest *m);

/* File name of a segment under <dir>/seg: "<db id>-<segment id>.vseg" (both decimal, zero-padded
 * to 6 and 12 digits). */
void manifest_segment_path(char *out, size_t outlen, const char *dir, uint32_t db_id,
                           uint64_t segment_id);

#endif
