/*
 * engine/engine.c — the native storage engine (contract in engine.h).
 *
 * NOTES ON THE DESIGN OF THE ENGINE
 *
 * Files under <dir>:
 *     MANIFEST                         the truth: databases, their segments, checkpoint seq
 *     seg/<db id>-<segment id>.vseg    immutable segment files (format: segment.c)
 *     *.tmp                            temp files of an interrupted publish; removed on open
 * Segment files that the MANIFEST does not list are leftovers of a flush or compaction that
 * failed or crashed before its manifest was published; open removes them, verify warns.
 *
 * State and locks:
 *   1. `lock` (rwlock) guards the databases, series indexes, memtables and segment lists.
 *      Writers (apply, create/drop, the publish steps of flush and compaction) take it
 *      exclusively; reads (read, foreach_series, check_types, stats) take it shared for their
 *      whole duration, callbacks included (a callback must not write to the engine).
 *   2. Maintenance (flush, compaction, drop, close) is done by whoever holds the maintenance
 *      token (`busy`, under `bg_mu`): the background thread or an explicit caller. Only the
 *      token holder adds or removes segments, so a flush or compaction can write its files
 *      without holding `lock`. Lock order: bg_mu is never held while waiting for `lock`.
 *   3. Memtables: `active` takes writes; `imm` is the memtable being flushed (read-only, read by
 *      the flusher and by readers). Each index series points at its slot in both (mt_active is
 *      valid only while mt_gen equals active->gen, so swapping memtables is O(1) for writers).
 *   4. A flush swaps memtables under the lock and records checkpoint = applied seq at the swap;
 *      it writes one segment per database, then publishes the MANIFEST listing them with the new
 *      checkpoint, then frees imm. A compaction writes one merged segment for a database,
 *      publishes the MANIFEST without the old ones, then unlinks them (readers keep them alive
 *      through their references until they let go).
 *   5. Sticky failure: any error writing or publishing sets `failed`; the on-disk state is the
 *      last published MANIFEST; every later write or maintenance returns VT_EFATAL; imm stays
 *      in memory and readable.
 *   6. Last write wins on (series, field, time): within a memtable the later append, across
 *      sources active > imm > segments newest first (segment order in the MANIFEST).
 *   7. Deletes (engine_delete*, engine_drop_measurement) take the maintenance token, then the
 *      lock, so no flush or compaction is in flight: imm is NULL and the segment list is
 *      stable. A delete of series s over [tmin, tmax]:
 *        a. removes the points of s in range from the active memtable (in place);
 *        b. when some segment holds s, adds the tombstone (s, tmin, tmax, seg_bound =
 *           next_segment_id): it hides those points in every segment whose id is below
 *           seg_bound, i.e. every segment existing now. Segments written later (flushes of the
 *           memtable purged in a., compactions) get higher ids, so the tombstone never hides a
 *           point written after the delete;
 *        c. if s has no point left (memtable, or segments minus tombstones, decoding only the
 *           blocks a tombstone cuts), s is removed from the index and its memtable slot freed;
 *           its tombstones become one over all time, so that open can tell it is gone without
 *           reading its blocks (index_segment skips a series a whole-time tombstone covers).
 *      Why tombstones rather than rewriting segments: a DELETE costs no segment I/O (a DROP
 *      SERIES over a large store would otherwise rewrite every segment, under the token), and
 *      compaction already rewrites everything: it applies the tombstones of each input while
 *      merging, drops series left empty from its output, then drops every tombstone whose
 *      seg_bound is not above the oldest remaining segment id (they hide nothing any more).
 *   8. Durability of deletes: the journal record is the delete's WAL. Tombstones live in
 *      memory and in every MANIFEST published afterwards (MANIFEST version 2); a MANIFEST whose
 *      checkpoint is >= the delete's seq is published only after the delete was applied, so it
 *      carries its tombstones (or a compaction already purged the data). Before that, replay
 *      re-applies the delete: it purges the replayed memtable and re-adds the tombstones
 *      (covering every segment: all hold data older than the delete).
 *   9. Tombstones are read by readers (shared lock) and by the compactor (token, no lock); they
 *      change only under the token plus the exclusive lock. Removed series are freed at once:
 *      nothing outside the lock keeps pointers to index series (the memtable being flushed is
 *      the only one, and deletes wait for the token), and the read APIs copy what they return.
 *  10. Repair (engine_segment_rewrite) replaces a segment file by a copy without some blocks
 *      (those that no longer read back), under the token. The copy keeps the segment's id and
 *      file name: the MANIFEST requires ids ascending in list order, the list order is the
 *      last-write-wins order, and tombstones address segments by id, so any other id would
 *      change what the segment means. It is written as <name>.tmp, fsynced and renamed over
 *      the old file (durable_commit): a crash leaves either the old or the new file under the
 *      name, both valid for the same MANIFEST, and the .tmp is removed on open. The MANIFEST
 *      is not touched. Every kept block is copied byte for byte (seg_writer_copy_block: its
 *      CRC covers its identity, not its offset); tombstones keep applying at read time. Readers
 *      holding the old reader keep its mapping (the old inode) until they let go; snapshots
 *      hold hard links to the old inode. A failure writing or renaming is sticky (note 5).
 *  11. Parallel file work (parallel_for): open parses every segment file (header, footer, zstd
 *      meta, index) on up to one thread per CPU, then indexes them one by one in MANIFEST order
 *      (the series index is not thread-safe, and the order decides which file's error is
 *      reported). Offline verification and the checksum check of a loaded engine also take one
 *      file per worker and report the problems in MANIFEST order afterwards.
 *  12. Provisional segments. A flush writes its segment with the quick encoders (encoding.c
 *      note 10: ENC_QUICK, floats as Gorilla) and marks it provisional (segment.c header
 *      flags); compactions write with the best encoders. So the CPU of the exhaustive encoding
 *      search is spent once per point, by the compaction that rewrites the flushed data
 *      anyway, and not by the flush that runs under ingest. A database whose only segment is
 *      provisional has nothing to merge, so compact_begin takes it alone: cold compaction
 *      (cold_due) and engine_compact rewrite it; the trigger compaction (compact_trigger
 *      segments) never meets that case. With compact_cold_seconds = 0 and fewer flushes than
 *      compact_trigger, a database keeps its provisional segments: readable like any other,
 *      only larger (~4x on the demo set).
 *  13. Series hints (engine_series_hint). The node keeps, per cached series key, the series
 *      the last apply found, so the next apply skips the index probe. A hint is followed only
 *      when its db is the edb being written and its epoch equals that edb's series_epoch.
 *      series_epoch is drawn from a process-wide counter when an edb is made and again
 *      whenever series leave its index (delete_series: deletes, DROP SERIES / MEASUREMENT,
 *      retention); an edb is freed only with its index. So a hint can point only at a live
 *      series of this very edb: a stale one (series removed, database dropped and made again
 *      at the same address, engine closed and opened) has an epoch nobody holds any more.
 *  14. Write back-pressure. With background work, the memtable taking writes is swapped out
 *      only when the flusher gets to it; while the flusher writes the previous one or runs a
 *      compaction, a fast writer could grow it without bound. engine_write_admit bounds it at
 *      memtable_max_bytes: past that, the writer asks for a flush and waits, holding no engine
 *      lock, until a flush swaps the memtable (`swaps`, bumped under `lock` by flush_begin and
 *      broadcast on bg_cv under bg_mu afterwards, so a waiter that saw the old count is already
 *      waiting when the broadcast comes), the engine fails or closes. The fast path reads an
 *      atomic copy of the active memtable's size (`active_bytes`, stored by every apply and
 *      swap); a stale value only sends a writer to the slow path, which checks the real size
 *      under the shared lock. The waits are timed (50 ms) so a flush that fails, or a size
 *      that shrank by a delete, never leaves a writer asleep. Peak memory is then about
 *      memtable_max_bytes + memtable_bytes (the one being flushed) + the series index; the
 *      column heap (colheap.h) keeps up to memtable_bytes of free slabs mapped between flushes
 *      and, once written to, memtable_bytes / 4 of touched slabs in reserve.
 *      The background thread ("volta-engine") runs background_nice nice steps below its
 *      opener (common/thread.h): when the CPUs are all busy, writers and queries get them
 *      first, and this back-pressure is what still lets a flush that fell behind run (the
 *      writers wait, the flusher alone has work). bench/ingest: +1 to +5 % points/s at 4
 *      connections (five sets of alternating pairs); a 13 M-point load with a compaction: no
 *      change in stalls or points/s.
 *  15. Apply fast path (apply_point_fast). A steady writer sends each series with the same
 *      fields interval after interval; once the series' slot in the active memtable has a
 *      column for each, a point is appended straight to those columns. A column exists only
 *      for a field the series holds, with that field's type, so a point whose every field
 *      matches a column by name and type passes the type check without the index. Any other
 *      point (new series, new field, other type, a fresh memtable) takes the full path.
 *  16. Type checks without the lock (engine_check_types with an engine_type_cache). The check
 *      before journaling took the shared lock for the whole batch and waited there for every
 *      apply (which holds the lock exclusively): with 4 writers, ~0.3 ms per request. A field's
 *      type, once in the index, changes only by disappearing: when its measurement's last
 *      series is removed (delete_series) or its database is dropped or truncated. Each
 *      of those bumps types_epoch (under the exclusive lock). A writer's cache holds the
 *      (measurement, field) -> type pairs it found in the index, with the epoch read under the
 *      lock; a batch whose every pair is in a cache of the current epoch is checked against
 *      the cache alone. Pairs not yet in the index (new fields) are never cached: their type is
 *      decided by the apply that creates them. The check stays advisory either way: apply
 *      re-checks under the exclusive lock (a concurrent write or delete between check and apply
 *      shows as a skipped point), so a check that raced with a drop is no less right than one
 *      that ran just before it.
 *  17. Memory during a long compaction. The background thread does both flushes and
 *      compactions, and a compaction of a large database runs for seconds. Before, a memtable
 *      that filled up meanwhile waited for the compaction to end, growing to
 *      memtable_max_bytes with writers stalled at that bound; and every page of the inputs the
 *      compaction read stayed mapped in the process. On a 13.35 M-point load (bench/ingest
 *      --days 1095) that made the peak RSS 157 MiB: 95 anonymous, 62 of segment files. Now:
 *        - compact_write calls compact_yield before each series: when the memtable has reached
 *          memtable_bytes, the compacting thread flushes it there and then (flush_unlocked, as
 *          bg_flush does; it holds the token, so nothing else changes segment lists). The
 *          flushed segment joins the end of its database's list; compact_finish replaces only
 *          the first nold segments, so the list stays in id order (the merged segment's id was
 *          drawn in compact_begin, before the flush's) and last-write-wins order holds: the
 *          flushed points are newer than every input's. A failed flush fails the engine
 *          (note 5) and stops the compaction, which then publishes nothing.
 *          volta_engine_compaction_flushes_total counts these flushes.
 *        - once a series is merged, seg_release_series_pages gives back the input pages that
 *          hold only that series' blocks (madvise MADV_DONTNEED on the read-only file
 *          mapping: the page cache keeps them; a query reading them maps them again).
 *      Compactions run inline with the lock held (engine_compact, tools) never flush: the
 *      lock is not re-entrant and the caller asked for a compaction alone.
 */
#include "engine/engine.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/durable.h"
#include "common/thread.h"
#include "engine/manifest.h"
#include "engine/memtable.h"
#include "engine/segment.h"
#include "engine/series_index.h"

#define ENGINE_CHUNK 4096
#define ENGINE_PATH_MAX 4096

/* A tombstone (note 7) and the tombstones of one series. */
typedef struct etomb {
    int64_t tmin, tmax;
    uint64_t seg_bound; /* hides points in segments with id < seg_bound */
} etomb;

typedef struct etomb_list {
    uint64_t sid; /* the map key */
    etomb *v;
    size_t n, cap;
} etomb_list;

/* A time range [lo, hi]; arrays of them are sorted and disjoint (coalesced). */
typedef struct trange {
    int64_t lo, hi;
} trange;

typedef struct edb {
    char *name;
    uint32_t id;
    sidx idx;
    seg_reader **segs; /* oldest first */
    size_t nsegs, scap;
    sidx_map tombs; /* series id -> etomb_list */
    size_t ntombs;  /* tombstones in all lists */
    uint8_t *meta;  /* the user's metadata blob (engine_set_db_meta), owned; NULL = none */
    size_t meta_len;
    uint64_t series_epoch; /* note 13: changes whenever a series leaves idx */
} edb;

/* A series epoch no edb has held before (note 13). */
static uint64_t series_epoch_next(void)
{
    static atomic_uint_fast64_t source;
    return (uint64_t)atomic_fetch_add(&source, 1) + 1;
}

struct engine {
    char *dir;
    engine_options opt;
    pthread_rwlock_t lock;
    edb **dbs; /* sorted by name */
    size_t ndbs, dcap;
    memtable *active, *imm;
    colheap *colheap; /* the memtables' column arrays (under lock) */
    uint64_t checkpoint, applied, next_segment_id;
    uint32_t next_db_id;
    atomic_bool failed; /* sticky (note 5); engine_failed reads it without the lock */
    atomic_uint_fast64_t types_epoch; /* note 16: bumped whenever field types may disappear */
    char fail_msg[VT_ERR_MSG_MAX]; /* what made the engine fail */
    vt_buf keybuf; /* series key scratch of apply (under the write lock) */
    uint64_t flushes, compactions;
    atomic_uint_fast64_t corrupt_blocks;
    /* background work */
    pthread_mutex_t bg_mu;
    pthread_cond_t bg_cv;
    bool busy, flush_wanted, stop, thread_started;
    pthread_t thread;
    atomic_int_fast64_t last_write_ms; /* monotonic ms of the last apply (cold compaction) */
    /* back-pressure (note 14) */
    atomic_size_t active_bytes;      /* active->bytes as of the last apply or swap */
    atomic_uint_fast64_t swaps;      /* memtable swaps (flush_begin) */
    atomic_uint_fast64_t write_stalls;
    atomic_uint_fast64_t compaction_flushes; /* flushes run by a compaction (note 17) */
    atomic_uint_fast64_t locked_type_checks; /* engine_check_types that took the lock */
};

/* ---- small helpers ---- */

static int vstr_cmp(vt_str a, vt_str b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
    if (c)
        return c;
    return a.len < b.len ? -1 : a.len > b.len;
}

/* Index of database name in e->dbs, or e->ndbs when absent. */
static size_t db_index(const engine *e, const char *name)
{
    size_t at = 0;
    while (at < e->ndbs && strcmp(e->dbs[at]->name, name) != 0)
        at++;
    return at;
}

static edb *db_find(engine *e, const char *name)
{
    size_t at = db_index(e, name);
    return at < e->ndbs ? e->dbs[at] : NULL;
}

static void tombs_free(edb *d)
{
    for (size_t i = 0; i < d->tombs.cap; i++) {
        etomb_list *l = d->tombs.slots[i].key ? d->tombs.slots[i].val : NULL;
        if (l) {
            free(l->v);
            free(l);
        }
    }
    sidx_map_free(&d->tombs);
    d->ntombs = 0;
}

static etomb_list *tombs_of(const edb *d, uint64_t sid)
{
    return sidx_map_get(&d->tombs, sidx_hash(&sid, sizeof sid), &sid, sizeof sid);
}

/* Adds a tombstone, merging it into one of the same seg_bound that it overlaps or touches. */
static bool tomb_add(edb *d, uint64_t sid, int64_t tmin, int64_t tmax, uint64_t bound)
{
    etomb_list *l = tombs_of(d, sid);
    if (!l) {
        l = calloc(1, sizeof *l);
        if (!l)
            return false;
        l->sid = sid;
        if (!sidx_map_put(&d->tombs, sidx_hash(&sid, sizeof sid), &l->sid, sizeof l->sid, l)) {
            free(l);
            return false;
        }
    }
    for (size_t i = 0; i < l->n; i++) {
        etomb *t = &l->v[i];
        /* [tmin, tmax] and [t->tmin, t->tmax] overlap or are adjacent */
        bool touch = (t->tmax == INT64_MAX || tmin <= t->tmax + 1) &&
                     (tmax == INT64_MAX || t->tmin <= tmax + 1);
        if (t->seg_bound == bound && touch) {
            if (tmin < t->tmin)
                t->tmin = tmin;
            if (tmax > t->tmax)
                t->tmax = tmax;
            return true;
        }
    }
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 2;
        etomb *nv = realloc(l->v, nc * sizeof *nv);
        if (!nv)
            return false;
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n++] = (etomb){tmin, tmax, bound};
    d->ntombs++;
    return true;
}

/* Replaces the tombstones of sid by one over all time (the series is gone, note 7c). */
static bool tomb_kill(edb *d, uint64_t sid, uint64_t bound)
{
    etomb_list *l = tombs_of(d, sid);
    if (l) {
        d->ntombs -= l->n;
        l->n = 0;
    }
    return tomb_add(d, sid, INT64_MIN, INT64_MAX, bound);
}

/* Drops the tombstones that hide nothing: seg_bound not above the oldest segment's id. */
static void tombs_purge(edb *d)
{
    uint64_t oldest = d->nsegs ? d->segs[0]->segment_id : UINT64_MAX;
    if (d->ntombs == 0)
        return;
    if (d->nsegs == 0) {
        tombs_free(d);
        return;
    }
    size_t nempty = 0;
    for (size_t i = 0; i < d->tombs.cap; i++) {
        etomb_list *l = d->tombs.slots[i].key ? d->tombs.slots[i].val : NULL;
        if (!l)
            continue;
        size_t k = 0;
        for (size_t j = 0; j < l->n; j++)
            if (l->v[j].seg_bound > oldest)
                l->v[k++] = l->v[j];
        d->ntombs -= l->n - k;
        l->n = k;
        nempty += k == 0;
    }
    if (nempty == 0)
        return;
    uint64_t *gone = malloc(nempty * sizeof *gone);
    if (!gone)
        return; /* empty lists are harmless */
    size_t g = 0;
    for (size_t i = 0; i < d->tombs.cap; i++) {
        etomb_list *l = d->tombs.slots[i].key ? d->tombs.slots[i].val : NULL;
        if (l && l->n == 0)
            gone[g++] = l->sid;
    }
    for (size_t i = 0; i < g; i++) {
        etomb_list *l = sidx_map_del(&d->tombs, sidx_hash(&gone[i], sizeof gone[i]), &gone[i],
                                     sizeof gone[i]);
        if (l) {
            free(l->v);
            free(l);
        }
    }
    free(gone);
}

static int trange_cmp(const void *a, const void *b)
{
    const trange *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The ranges of sid hidden in segment seg_id, sorted and coalesced, in *out (malloc'ed, NULL
 * when none). false on out-of-memory. */
static bool tomb_ranges(const edb *d, uint64_t sid, uint64_t seg_id, trange **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    const etomb_list *l = d->ntombs ? tombs_of(d, sid) : NULL;
    size_t k = 0;
    for (size_t i = 0; l && i < l->n; i++)
        k += l->v[i].seg_bound > seg_id;
    if (k == 0)
        return true;
    trange *r = malloc(k * sizeof *r);
    if (!r)
        return false;
    k = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].seg_bound > seg_id)
            r[k++] = (trange){l->v[i].tmin, l->v[i].tmax};
    qsort(r, k, sizeof *r, trange_cmp);
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        if (m > 0 && (r[m - 1].hi == INT64_MAX || r[i].lo <= r[m - 1].hi + 1)) {
            if (r[i].hi > r[m - 1].hi)
                r[m - 1].hi = r[i].hi;
        } else {
            r[m++] = r[i];
        }
    }
    *out = r;
    *n = m;
    return true;
}

/* True when one range holds all of [lo, hi]. */
static bool ranges_cover(const trange *r, size_t n, int64_t lo, int64_t hi)
{
    for (size_t i = 0; i < n; i++)
        if (r[i].lo <= lo && hi <= r[i].hi)
            return true;
    return false;
}

/* True when some range meets [lo, hi]. */
static bool ranges_meet(const trange *r, size_t n, int64_t lo, int64_t hi)
{
    for (size_t i = 0; i < n; i++)
        if (r[i].lo <= hi && lo <= r[i].hi)
            return true;
    return false;
}

/* Drops the points of c from index from on that fall in a range (times ascending). */
static void col_drop_ranges(seg_col *c, size_t from, const trange *r, size_t n)
{
    size_t es = seg_type_size(c->type), k = from, j = 0;
    uint8_t *val = c->val;
    for (size_t i = from; i < c->n; i++) {
        int64_t t = c->time[i];
        while (j < n && r[j].hi < t)
            j++;
        if (j < n && r[j].lo <= t)
            continue;
        if (k != i) {
            c->time[k] = t;
            memcpy(val + k * es, val + i * es, es);
        }
        k++;
    }
    c->n = k;
}

static void db_free(edb *d)
{
    if (!d)
        return;
    tombs_free(d);
    free(d->meta);
    for (size_t i = 0; i < d->nsegs; i++)
        seg_unref(d->segs[i]);
    free(d->segs);
    sidx_free(&d->idx);
    free(d->name);
    free(d);
}

static bool db_push_seg(edb *d, seg_reader *r)
{
    if (d->nsegs == d->scap) {
        size_t nc = d->scap ? d->scap * 2 : 8;
        seg_reader **ns = realloc(d->segs, nc * sizeof *ns);
        if (!ns)
            return false;
        d->segs = ns;
        d->scap = nc;
    }
    d->segs[d->nsegs++] = r;
    return true;
}

static void seg_path(engine *e, char *out, size_t n, uint32_t db_id, uint64_t seg_id)
{
    manifest_segment_path(out, n, e->dir, db_id, seg_id);
}

static int mtomb_cmp(const void *a, const void *b)
{
    const manifest_tomb *x = a, *y = b;
    if (x->series_id != y->series_id)
        return x->series_id < y->series_id ? -1 : 1;
    if (x->seg_bound != y->seg_bound)
        return x->seg_bound < y->seg_bound ? -1 : 1;
    return x->tmin < y->tmin ? -1 : x->tmin > y->tmin;
}

/* Publishes the MANIFEST of the current state with checkpoint ckpt (caller holds lock). */
static vt_rc publish_manifest(engine *e, uint64_t ckpt, vt_err *err)
{
    manifest m = {ckpt, e->next_segment_id, e->next_db_id, NULL, e->ndbs};
    vt_rc rc = VT_OK;
    vt_buf b;
    vt_buf_init(&b);
    m.dbs = calloc(e->ndbs ? e->ndbs : 1, sizeof *m.dbs);
    if (!m.dbs)
        return vt_err_set(err, VT_ENOMEM, "manifest: out of memory");
    for (size_t i = 0; i < e->ndbs; i++) {
        edb *d = e->dbs[i];
        m.dbs[i].name = d->name;
        m.dbs[i].id = d->id;
        m.dbs[i].nsegments = d->nsegs;
        m.dbs[i].segments = calloc(d->nsegs ? d->nsegs : 1, sizeof(uint64_t));
        if (!m.dbs[i].segments) {
            rc = vt_err_set(err, VT_ENOMEM, "manifest: out of memory");
            goto cleanup;
        }
        for (size_t s = 0; s < d->nsegs; s++)
            m.dbs[i].segments[s] = d->segs[s]->segment_id;
        m.dbs[i].meta = d->meta; /* borrowed: not freed below */
        m.dbs[i].meta_len = d->meta_len;
        if (d->ntombs == 0)
            continue;
        m.dbs[i].tombs = malloc(d->ntombs * sizeof *m.dbs[i].tombs);
        if (!m.dbs[i].tombs) {
            rc = vt_err_set(err, VT_ENOMEM, "manifest: out of memory");
            goto cleanup;
        }
        /* tombstones that hide nothing (no segment below their bound) are not kept */
        uint64_t oldest = d->nsegs ? d->segs[0]->segment_id : UINT64_MAX;
        size_t nt = 0;
        for (size_t k = 0; k < d->tombs.cap; k++) {
            const etomb_list *l = d->tombs.slots[k].key ? d->tombs.slots[k].val : NULL;
            for (size_t j = 0; l && j < l->n && nt < d->ntombs; j++)
                if (l->v[j].seg_bound > oldest)
                    m.dbs[i].tombs[nt++] =
                        (manifest_tomb){l->sid, l->v[j].tmin, l->v[j].tmax, l->v[j].seg_bound};
        }
        qsort(m.dbs[i].tombs, nt, sizeof *m.dbs[i].tombs, mtomb_cmp);
        m.dbs[i].ntombs = nt;
    }
    manifest_encode(&m, &b);
    if (b.oom) {
        rc = vt_err_set(err, VT_ENOMEM, "manifest: out of memory");
        goto cleanup;
    }
    char path[ENGINE_PATH_MAX];
    snprintf(path, sizeof path, "%s/MANIFEST", e->dir);
    rc = durable_publish(path, b.data, b.len, err);
cleanup:
    for (size_t i = 0; i < e->ndbs; i++) {
        free(m.dbs[i].segments);
        free(m.dbs[i].tombs);
    }
    free(m.dbs);
    vt_buf_free(&b);
    return rc;
}

vt_rc engine_snapshot(engine *e, const char *dst, uint64_t *checkpoint, uint64_t *files,
                      uint64_t *bytes, vt_err *err)
{
    vt_rc rc = VT_OK;
    *files = *bytes = 0;
    char seg[ENGINE_PATH_MAX], src[ENGINE_PATH_MAX], to[ENGINE_PATH_MAX];
    snprintf(seg, sizeof seg, "%s/seg", dst);
    if (mkdir(seg, 0755) != 0 && errno != EEXIST)
        return vt_err_set(err, VT_EIO, "snapshot: mkdir %s: %s", seg, strerror(errno));
    /* the shared lock keeps flushes and compactions from publishing meanwhile: the MANIFEST on
     * disk lists exactly the segments in memory, and its checkpoint is e->checkpoint */
    pthread_rwlock_rdlock(&e->lock);
    *checkpoint = e->checkpoint;
    snprintf(src, sizeof src, "%s/MANIFEST", e->dir);
    snprintf(to, sizeof to, "%s/MANIFEST", dst);
    if (link(src, to) != 0 && errno != ENOENT) /* no MANIFEST yet: an empty engine */
        rc = vt_err_set(err, VT_EIO, "snapshot: link %s: %s", src, strerror(errno));
    for (size_t i = 0; rc == VT_OK && i < e->ndbs; i++) {
        edb *d = e->dbs[i];
        for (size_t k = 0; rc == VT_OK && k < d->nsegs; k++) {
            const char *name = d->segs[k]->name;
            const char *base = strrchr(name, '/');
            base = base ? base + 1 : name;
            snprintf(to, sizeof to, "%s/%s", seg, base);
            if (link(name, to) != 0) {
                rc = vt_err_set(err, VT_EIO, "snapshot: link %s: %s", name, strerror(errno));
                break;
            }
            (*files)++;
            *bytes += d->segs[k]->size;
        }
    }
    pthread_rwlock_unlock(&e->lock);
    return rc;
}

/* Marks the engine failed; the failing call itself returns its own rc (VT_EIO...), every later
 * write VT_EFATAL. */
static vt_rc fail_sticky(engine *e, vt_rc rc, vt_err *err)
{
    if (!e->failed)
        snprintf(e->fail_msg, sizeof e->fail_msg, "%s", err ? err->msg : vt_rc_name(rc));
    e->failed = true;
    return rc;
}

static vt_rc refuse(engine *e, vt_err *err)
{
    return vt_err_set(err, VT_EFATAL, "engine: refusing writes since an earlier failure (%s); "
                      "restart to recover from the last published manifest", e->fail_msg);
}

/* ---- merging sources (reads and compaction) ---- */

typedef struct src {
    seg_col col;
    size_t pos;
    const seg_reader *r; /* NULL for a memtable snapshot */
    size_t bnext, bend;
    int64_t tmin, tmax;
    trange *tr; /* tombstone ranges hiding points of this segment (owned unless tr_shared) */
    size_t ntr;
    bool tr_shared;
} src;

/* Makes src->pos point at a point in range, loading blocks as needed; false when exhausted. */
static vt_rc src_fill(src *s, bool *has, vt_err *err)
{
    while (s->pos >= s->col.n) {
        if (!s->r || s->bnext >= s->bend) {
            *has = false;
            return VT_OK;
        }
        const seg_index_entry *b = &s->r->blocks[s->bnext];
        if (b->min_time > s->tmax) {
            s->bnext = s->bend;
            continue;
        }
        size_t bi = s->bnext++;
        if (b->max_time < s->tmin || ranges_cover(s->tr, s->ntr, b->min_time, b->max_time))
            continue;
        seg_col_clear(&s->col);
        s->pos = 0;
        vt_rc rc = seg_read_block(s->r, bi, &s->col, err);
        if (rc != VT_OK)
            return rc;
        while (s->pos < s->col.n && s->col.time[s->pos] < s->tmin)
            s->pos++;
        while (s->col.n > s->pos && s->col.time[s->col.n - 1] > s->tmax)
            s->col.n--;
        if (s->ntr && ranges_meet(s->tr, s->ntr, b->min_time, b->max_time))
            col_drop_ranges(&s->col, s->pos, s->tr, s->ntr);
    }
    *has = true;
    return VT_OK;
}

typedef bool (*emit_fn)(void *ctx, seg_col *chunk);

/* Merges srcs (index 0 newest) with last-write-wins, emitting chunks of ascending times. */
static vt_rc merge_sources(src *srcs, size_t n, vt_type type, emit_fn emit, void *ctx,
                           vt_err *err)
{
    seg_col out;
    seg_col_init(&out, type);
    size_t es = seg_type_size(type);
    vt_rc rc = VT_OK;
    for (;;) {
        int best = -1;
        int64_t bt = 0;
        for (size_t i = 0; i < n; i++) {
            bool has;
            rc = src_fill(&srcs[i], &has, err);
            if (rc != VT_OK)
                goto cleanup;
            if (!has)
                continue;
            int64_t t = srcs[i].col.time[srcs[i].pos];
            if (best < 0 || t < bt) {
                best = (int)i;
                bt = t;
            }
        }
        if (best < 0)
            break;
        src *b = &srcs[best];
        /* Fast path: the run of b's points strictly before every other source's next point
         * cannot be shadowed, so it goes to emit as a view of b's decoded column (no copy).
         * Strings stay on the copying path (their bytes may be arena offsets until fixed). */
        if (type != VT_TYPE_STRING) {
            int64_t limit = INT64_MAX;
            for (size_t i = 0; i < n; i++)
                if ((int)i != best && srcs[i].pos < srcs[i].col.n &&
                    srcs[i].col.time[srcs[i].pos] < limit)
                    limit = srcs[i].col.time[srcs[i].pos];
            if (limit > bt) {
                size_t lo = b->pos, hi = b->col.n;
                while (lo < hi) { /* first point at or after limit */
                    size_t mid = lo + (hi - lo) / 2;
                    if (b->col.time[mid] < limit)
                        lo = mid + 1;
                    else
                        hi = mid;
                }
                size_t run = lo - b->pos;
                if (run >= 16 || limit == INT64_MAX) {
                    if (out.n > 0) {
                        if (!emit(ctx, &out))
                            goto cleanup;
                        seg_col_clear(&out);
                    }
                    seg_col view = b->col;
                    view.time = b->col.time + b->pos;
                    view.val = (uint8_t *)b->col.val + b->pos * es;
                    view.n = run;
                    b->pos = lo;
                    if (!emit(ctx, &view))
                        goto cleanup;
                    continue;
                }
            }
        }
        seg_col_push_copy(&out, bt, (const uint8_t *)b->col.val + b->pos * es);
        if (out.oom) {
            rc = vt_err_set(err, VT_ENOMEM, "read: out of memory");
            goto cleanup;
        }
        for (size_t i = 0; i < n; i++)
            if (srcs[i].pos < srcs[i].col.n && srcs[i].col.time[srcs[i].pos] == bt)
                srcs[i].pos++;
        if (out.n >= ENGINE_CHUNK) {
            seg_col_fix_strings(&out);
            if (!emit(ctx, &out))
                goto cleanup;
            seg_col_clear(&out);
        }
    }
    if (out.n > 0) {
        seg_col_fix_strings(&out);
        emit(ctx, &out);
    }
cleanup:
    seg_col_free(&out);
    return rc;
}

/* Adds the blocks of (series, field) of segment r as a source. */
static void src_segment(src *s, const seg_reader *r, uint64_t sid, const char *field, size_t flen,
                        vt_type type, int64_t tmin, int64_t tmax, bool *added)
{
    *added = false;
    const seg_series *ss = seg_find_series(r, sid);
    if (!ss)
        return;
    int fno = seg_field_no(ss, field, flen);
    if (fno < 0 || ss->fields[fno].type != type)
        return;
    size_t first, count;
    seg_find_blocks(r, sid, (uint32_t)fno, &first, &count);
    /* skip blocks ending before tmin (blocks of a column are time-ordered) */
    size_t lo = first, hi = first + count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->blocks[mid].max_time < tmin)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo >= first + count)
        return;
    memset(s, 0, sizeof *s);
    seg_col_init(&s->col, type);
    s->r = r;
    s->bnext = lo;
    s->bend = first + count;
    s->tmin = tmin;
    s->tmax = tmax;
    *added = true;
}

/* Attaches the tombstone ranges of (sid, segment of s) to segment source s. */
static bool src_tombs(src *s, const edb *d, uint64_t sid)
{
    return tomb_ranges(d, sid, s->r->segment_id, &s->tr, &s->ntr);
}

static void src_release(src *s)
{
    seg_col_free(&s->col);
    if (!s->tr_shared)
        free(s->tr);
    s->tr = NULL;
    s->ntr = 0;
}

static void srcs_free(src *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        src_release(&s[i]);
    free(s);
}

/* ---- flush ---- */

typedef struct flush_part {
    edb *db;
    uint64_t seg_id;
    seg_reader *reader;
} flush_part;

typedef struct flush_job {
    memtable *imm;
    uint64_t ckpt;
    flush_part *parts;
    size_t nparts;
} flush_job;

static int ms_cmp(const void *a, const void *b)
{
    const mt_series *x = *(mt_series *const *)a, *y = *(mt_series *const *)b;
    return x->series->id < y->series->id ? -1 : x->series->id > y->series->id;
}

typedef struct col_ref {
    const mt_column *c;
} col_ref;

static int colref_cmp(const void *a, const void *b)
{
    const col_ref *x = a, *y = b;
    vt_str xs = {x->c->name, x->c->nlen}, ys = {y->c->name, y->c->nlen};
    return vstr_cmp(xs, ys);
}

/* Writes the part of memtable m that belongs to db as segment seg_id. */
static vt_rc write_memtable_segment(engine *e, memtable *m, edb *db, uint64_t seg_id,
                                    seg_reader **out, vt_err *err)
{
    char path[ENGINE_PATH_MAX];
    seg_path(e, path, sizeof path, db->id, seg_id);
    mt_series **list = NULL;
    seg_series_def *defs = NULL;
    size_t nlist = 0;
    vt_rc rc = VT_OK;
    seg_writer w;
    bool began = false;
    list = malloc((m->nseries ? m->nseries : 1) * sizeof *list);
    if (!list)
        return vt_err_set(err, VT_ENOMEM, "flush: out of memory");
    for (size_t i = 0; i < m->nseries; i++) /* a series a delete emptied is not written */
        if (m->series[i]->db == db && mt_series_has_points(m->series[i]))
            list[nlist++] = m->series[i];
    qsort(list, nlist, sizeof *list, ms_cmp);
    defs = calloc(nlist ? nlist : 1, sizeof *defs);
    if (!defs) {
        rc = vt_err_set(err, VT_ENOMEM, "flush: out of memory");
        goto cleanup;
    }
    rc = seg_writer_begin_provisional(&w, path, seg_id, e->opt.block_points, err); /* note 12 */
    if (rc != VT_OK)
        goto cleanup;
    began = true;
    for (size_t i = 0; i < nlist; i++) {
        mt_series *ms = list[i];
        sidx_series *s = ms->series;
        col_ref *refs = malloc(ms->ncols * sizeof *refs);
        seg_field_def *fd = calloc(ms->ncols, sizeof *fd);
        if (!refs || !fd) {
            free(refs);
            free(fd);
            rc = vt_err_set(err, VT_ENOMEM, "flush: out of memory");
            goto cleanup;
        }
        for (size_t c = 0; c < ms->ncols; c++)
            refs[c].c = &ms->cols[c];
        qsort(refs, ms->ncols, sizeof *refs, colref_cmp);
        defs[i] = (seg_series_def){s->id, s->measurement, s->tags, s->ntags, fd, ms->ncols};
        for (size_t c = 0; c < ms->ncols && rc == VT_OK; c++) {
            const mt_column *col = refs[c].c;
            fd[c].name = (vt_str){col->name, col->nlen};
            fd[c].type = col->type;
            seg_col sc;
            seg_col_init(&sc, col->type);
            if (!mt_column_snapshot(col, INT64_MIN, INT64_MAX, &sc))
                rc = vt_err_set(err, VT_ENOMEM, "flush: out of memory");
            else
                rc = seg_writer_add(&w, s->id, (uint32_t)c, &sc, err);
            seg_col_free(&sc);
        }
        free(refs);
        if (rc != VT_OK)
            goto cleanup;
    }
    began = false;
    rc = seg_writer_finish(&w, defs, nlist, NULL, err);
    if (rc != VT_OK)
        goto cleanup;
    rc = seg_open_file(path, out, err);
    if (rc != VT_OK) {
        unlink(path);
        goto cleanup;
    }
    (*out)->corrupt_counter = &e->corrupt_blocks;
cleanup:
    if (began)
        seg_writer_abort(&w);
    if (defs)
        for (size_t i = 0; i < nlist; i++)
            free((void *)defs[i].fields);
    free(defs);
    free(list);
    return rc;
}

/* Under lock: swaps memtables and plans the segments. Returns false when nothing to write. */
static vt_rc flush_begin(engine *e, flush_job *job, bool *work, vt_err *err)
{
    memset(job, 0, sizeof *job);
    *work = false;
    if (e->active->points == 0)
        return VT_OK;
    memtable *fresh = memtable_new(e->active->gen + 1, e->colheap);
    if (!fresh)
        return vt_err_set(err, VT_ENOMEM, "flush: out of memory");
    job->parts = calloc(e->ndbs ? e->ndbs : 1, sizeof *job->parts);
    if (!job->parts) {
        memtable_free(fresh);
        return vt_err_set(err, VT_ENOMEM, "flush: out of memory");
    }
    memtable *m = e->active;
    for (size_t i = 0; i < m->nseries; i++) {
        mt_series *ms = m->series[i];
        ms->series->mt_imm = ms;
    }
    for (size_t d = 0; d < e->ndbs; d++) {
        bool has = false;
        for (size_t i = 0; i < m->nseries && !has; i++)
            has = m->series[i]->db == e->dbs[d] && mt_series_has_points(m->series[i]);
        if (has)
            job->parts[job->nparts++] = (flush_part){e->dbs[d], e->next_segment_id++, NULL};
    }
    e->imm = m;
    e->active = fresh;
    atomic_store(&e->active_bytes, 0);
    atomic_fetch_add(&e->swaps, 1); /* note 14: swap_notify wakes the writers waiting for it */
    job->imm = m;
    job->ckpt = e->applied;
    *work = true;
    return VT_OK;
}

static vt_rc flush_write(engine *e, flush_job *job, vt_err *err)
{
    for (size_t i = 0; i < job->nparts; i++) {
        vt_rc rc = write_memtable_segment(e, job->imm, job->parts[i].db, job->parts[i].seg_id,
                                          &job->parts[i].reader, err);
        if (rc != VT_OK)
            return rc;
    }
    return VT_OK;
}

static void flush_drop_files(engine *e, flush_job *job)
{
    for (size_t i = 0; i < job->nparts; i++) {
        if (job->parts[i].reader) {
            /* not unlinked: a failed directory fsync may follow a rename that landed; files the
             * MANIFEST does not list are removed on the next open */
            seg_unref(job->parts[i].reader);
            job->parts[i].reader = NULL;
        }
    }
    (void)e;
}

/* Under lock: attaches the segments and publishes the MANIFEST; frees imm on success. */
static vt_rc flush_finish(engine *e, flush_job *job, vt_rc wrc, vt_err *err)
{
    vt_rc rc = wrc;
    size_t attached = 0;
    if (rc == VT_OK) {
        for (; attached < job->nparts; attached++)
            if (!db_push_seg(job->parts[attached].db, job->parts[attached].reader))
                break;
        if (attached < job->nparts)
            rc = vt_err_set(err, VT_ENOMEM, "flush: out of memory");
        else
            rc = publish_manifest(e, job->ckpt, err);
    }
    if (rc != VT_OK) {
        for (size_t i = 0; i < attached; i++)
            job->parts[i].db->nsegs--;
        flush_drop_files(e, job);
        free(job->parts);
        job->parts = NULL;
        return fail_sticky(e, rc, err);
    }
    e->checkpoint = job->ckpt;
    for (size_t i = 0; i < job->imm->nseries; i++) {
        mt_series *ms = job->imm->series[i];
        if (ms->series->mt_imm == ms)
            ms->series->mt_imm = NULL;
    }
    memtable_free(job->imm);
    e->imm = NULL;
    e->flushes++;
    free(job->parts);
    job->parts = NULL;
    return VT_OK;
}

/* Whole flush with the lock held (inline mode, explicit flush, close). */
static vt_rc flush_locked(engine *e, vt_err *err)
{
    if (e->failed)
        return refuse(e, err);
    if (e->imm)
        return vt_err_set(err, VT_EBUSY, "flush: a flush is already in progress");
    flush_job job;
    bool work;
    vt_rc rc = flush_begin(e, &job, &work, err);
    if (rc != VT_OK)
        return rc;
    if (!work) {
        if (e->applied > e->checkpoint) {
            rc = publish_manifest(e, e->applied, err);
            if (rc != VT_OK)
                return fail_sticky(e, rc, err);
            e->checkpoint = e->applied;
        }
        return VT_OK;
    }
    rc = flush_write(e, &job, err);
    return flush_finish(e, &job, rc, err);
}

/* ---- compaction ---- */

typedef struct compact_job {
    edb *db;
    seg_reader **old; /* referenced, oldest first */
    size_t nold;
    uint64_t seg_id;
    seg_reader *merged;
    bool background; /* run by the background thread without the lock: may flush (note 17) */
} compact_job;

static vt_rc compact_yield(engine *e, vt_err *err);

typedef struct accum_ctx {
    seg_col *col;
} accum_ctx;

static bool accum_emit(void *ctx, seg_col *chunk)
{
    accum_ctx *a = ctx;
    size_t es = seg_type_size(chunk->type);
    for (size_t i = 0; i < chunk->n; i++)
        seg_col_push_copy(a->col, chunk->time[i], (const uint8_t *)chunk->val + i * es);
    return !a->col->oom;
}

typedef struct cfield {
    vt_str name;
    vt_type type;
} cfield;

static int cfield_cmp(const void *a, const void *b)
{
    return vstr_cmp(((const cfield *)a)->name, ((const cfield *)b)->name);
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static vt_rc compact_write(engine *e, compact_job *job, vt_err *err)
{
    char path[ENGINE_PATH_MAX];
    seg_path(e, path, sizeof path, job->db->id, job->seg_id);
    vt_rc rc = VT_OK;
    uint64_t *ids = NULL;
    size_t nids = 0, idcap = 0;
    size_t ndefs = 0; /* series with points left (the others are not written) */
    seg_series_def *defs = NULL;
    cfield **fieldsets = NULL;
    src *srcs = NULL;
    seg_writer w;
    bool began = false;
    for (size_t k = 0; k < job->nold; k++)
        idcap += job->old[k]->nseries;
    ids = malloc((idcap ? idcap : 1) * sizeof *ids);
    srcs = calloc(job->nold ? job->nold : 1, sizeof *srcs);
    if (!ids || !srcs) {
        rc = vt_err_set(err, VT_ENOMEM, "compact: out of memory");
        goto cleanup;
    }
    for (size_t k = 0; k < job->nold; k++)
        for (size_t i = 0; i < job->old[k]->nseries; i++)
            ids[nids++] = job->old[k]->series[i].id;
    qsort(ids, nids, sizeof *ids, u64_cmp);
    size_t u = 0;
    for (size_t i = 0; i < nids; i++)
        if (u == 0 || ids[u - 1] != ids[i])
            ids[u++] = ids[i];
    nids = u;
    defs = calloc(nids ? nids : 1, sizeof *defs);
    fieldsets = calloc(nids ? nids : 1, sizeof *fieldsets);
    if (!defs || !fieldsets) {
        rc = vt_err_set(err, VT_ENOMEM, "compact: out of memory");
        goto cleanup;
    }
    rc = seg_writer_begin(&w, path, job->seg_id, e->opt.block_points, err);
    if (rc != VT_OK)
        goto cleanup;
    began = true;
    for (size_t i = 0; i < nids; i++) {
        uint64_t sid = ids[i];
        if (job->background && (rc = compact_yield(e, err)) != VT_OK)
            goto cleanup; /* the flush failed: the engine refuses writes now (note 5) */
        size_t nf = 0, fcap = 0;
        const seg_series *newest = NULL;
        for (size_t k = 0; k < job->nold; k++) {
            const seg_series *ss = seg_find_series(job->old[k], sid);
            if (ss) {
                fcap += ss->nfields;
                newest = ss;
            }
        }
        cfield *fs = calloc(fcap ? fcap : 1, sizeof *fs);
        if (!fs) {
            rc = vt_err_set(err, VT_ENOMEM, "compact: out of memory");
            goto cleanup;
        }
        fieldsets[i] = fs;
        /* newest first, so the first occurrence of a name carries the newest type */
        for (size_t k = job->nold; k-- > 0;) {
            const seg_series *ss = seg_find_series(job->old[k], sid);
            for (size_t f = 0; ss && f < ss->nfields; f++) {
                bool seen = false;
                for (size_t q = 0; q < nf && !seen; q++)
                    seen = vt_str_eq(fs[q].name, ss->fields[f].name);
                if (!seen)
                    fs[nf++] = (cfield){ss->fields[f].name, ss->fields[f].type};
            }
        }
        qsort(fs, nf, sizeof *fs, cfield_cmp);
        /* seg_field_def and cfield have the same layout by construction */
        seg_field_def *fd = calloc(nf ? nf : 1, sizeof *fd);
        if (!fd) {
            rc = vt_err_set(err, VT_ENOMEM, "compact: out of memory");
            goto cleanup;
        }
        for (size_t f = 0; f < nf; f++)
            fd[f] = (seg_field_def){fs[f].name, fs[f].type};
        defs[ndefs] = (seg_series_def){sid, newest->measurement, newest->tags, newest->ntags, fd,
                                       nf};
        size_t written = 0;
        for (size_t f = 0; f < nf; f++) {
            size_t ns = 0;
            for (size_t k = job->nold; k-- > 0;) {
                bool added;
                src_segment(&srcs[ns], job->old[k], sid, fs[f].name.ptr, fs[f].name.len,
                            fs[f].type, INT64_MIN, INT64_MAX, &added);
                if (!added)
                    continue;
                /* tombstones hide their points: the merged segment no longer has them */
                if (!src_tombs(&srcs[ns], job->db, sid)) {
                    src_release(&srcs[ns]);
                    for (size_t q = 0; q < ns; q++)
                        src_release(&srcs[q]);
                    rc = vt_err_set(err, VT_ENOMEM, "compact: out of memory");
                    goto cleanup_def;
                }
                ns++;
            }
            seg_col acc;
            seg_col_init(&acc, fs[f].type);
            accum_ctx ac = {&acc};
            rc = merge_sources(srcs, ns, fs[f].type, accum_emit, &ac, err);
            for (size_t q = 0; q < ns; q++)
                src_release(&srcs[q]);
            if (rc == VT_OK && acc.oom)
                rc = vt_err_set(err, VT_ENOMEM, "compact: out of memory");
            if (rc == VT_OK) {
                seg_col_fix_strings(&acc);
                written += acc.n;
                rc = seg_writer_add(&w, sid, (uint32_t)f, &acc, err);
            }
            seg_col_free(&acc);
            if (rc != VT_OK)
                goto cleanup_def;
        }
        /* the inputs' pages of this series are read: out of the process's memory (note 17) */
        for (size_t k = 0; k < job->nold; k++)
            seg_release_series_pages(job->old[k], sid);
        if (written > 0) {
            ndefs++; /* else every point was deleted: the series is left out */
            continue;
        }
    cleanup_def:
        free(fd);
        defs[ndefs].fields = NULL;
        if (rc != VT_OK)
            goto cleanup;
    }
    began = false;
    rc = seg_writer_finish(&w, defs, ndefs, NULL, err);
    if (rc != VT_OK)
        goto cleanup;
    rc = seg_open_file(path, &job->merged, err);
    if (rc != VT_OK) {
        unlink(path);
        goto cleanup;
    }
    job->merged->corrupt_counter = &e->corrupt_blocks;
cleanup:
    if (began)
        seg_writer_abort(&w);
    for (size_t i = 0; defs && i < ndefs; i++)
        free((void *)defs[i].fields);
    for (size_t i = 0; fieldsets && i < nids; i++)
        free(fieldsets[i]);
    free(fieldsets);
    free(defs);
    free(srcs);
    free(ids);
    return rc;
}

/* Whether db has something to compact: several segments, or one provisional (note 12). */
static bool compact_has_work(const edb *db)
{
    return db->nsegs >= 2 || (db->nsegs == 1 && db->segs[0]->provisional);
}

/* Under lock: plans the compaction of db (false when there is nothing to compact). */
static vt_rc compact_begin(engine *e, edb *db, compact_job *job, bool *work, vt_err *err)
{
    memset(job, 0, sizeof *job);
    *work = false;
    if (!compact_has_work(db))
        return VT_OK;
    job->old = malloc(db->nsegs * sizeof *job->old);
    if (!job->old)
        return vt_err_set(err, VT_ENOMEM, "compact: out of memory");
    for (size_t i = 0; i < db->nsegs; i++) {
        job->old[i] = db->segs[i];
        seg_ref(db->segs[i]);
    }
    job->nold = db->nsegs;
    job->db = db;
    job->seg_id = e->next_segment_id++;
    *work = true;
    return VT_OK;
}

static void compact_release(compact_job *job)
{
    for (size_t i = 0; i < job->nold; i++)
        seg_unref(job->old[i]);
    free(job->old);
    job->old = NULL;
    job->nold = 0;
}

/* Under lock: replaces the old segments by the merged one, publishes, unlinks the old files. */
static vt_rc compact_finish(engine *e, compact_job *job, vt_rc wrc, vt_err *err)
{
    edb *db = job->db;
    vt_rc rc = wrc;
    if (rc == VT_OK) {
        /* only the token holder changes segment lists: the old ones are still the first nold */
        seg_reader **saved = malloc(db->nsegs * sizeof *saved);
        if (!saved) {
            rc = vt_err_set(err, VT_ENOMEM, "compact: out of memory");
        } else {
            size_t nsaved = db->nsegs;
            memcpy(saved, db->segs, nsaved * sizeof *saved);
            db->segs[0] = job->merged;
            memmove(db->segs + 1, saved + job->nold, (nsaved - job->nold) * sizeof *saved);
            db->nsegs = nsaved - job->nold + 1;
            rc = publish_manifest(e, e->checkpoint, err);
            if (rc != VT_OK) {
                memcpy(db->segs, saved, nsaved * sizeof *saved);
                db->nsegs = nsaved;
            } else {
                for (size_t i = 0; i < job->nold; i++) {
                    unlink(job->old[i]->name);
                    seg_unref(saved[i]); /* the list's reference */
                }
                job->merged = NULL;
                e->compactions++;
                /* the old segments are gone, and with them what their tombstones hid (the
                 * MANIFEST just published already left those tombstones out) */
                tombs_purge(db);
            }
            free(saved);
        }
    }
    if (job->merged) {
        seg_unref(job->merged); /* left on disk: see flush_drop_files */
        job->merged = NULL;
    }
    compact_release(job);
    /* a corrupt input block (or no memory) stops this compaction before anything was published:
     * the store is unchanged, so that is not a reason to refuse writes */
    if (rc != VT_OK && !(wrc != VT_OK && (wrc == VT_ECORRUPT || wrc == VT_ENOMEM)))
        return fail_sticky(e, rc, err);
    return rc;
}

static vt_rc compact_db_locked(engine *e, edb *db, vt_err *err)
{
    compact_job job;
    bool work;
    vt_rc rc = compact_begin(e, db, &job, &work, err);
    if (rc != VT_OK || !work)
        return rc;
    rc = compact_write(e, &job, err);
    return compact_finish(e, &job, rc, err);
}

static vt_rc auto_compact_locked(engine *e, vt_err *err)
{
    unsigned trig = e->opt.compact_trigger;
    for (size_t i = 0; i < e->ndbs; i++) {
        if (e->dbs[i]->nsegs >= trig) {
            vt_rc rc = compact_db_locked(e, e->dbs[i], err);
            if (rc != VT_OK)
                return rc;
        }
    }
    return VT_OK;
}

/* ---- maintenance token and background thread ---- */

static void token_take(engine *e)
{
    pthread_mutex_lock(&e->bg_mu);
    while (e->busy)
        pthread_cond_wait(&e->bg_cv, &e->bg_mu);
    e->busy = true;
    pthread_mutex_unlock(&e->bg_mu);
}

static void token_give(engine *e)
{
    pthread_mutex_lock(&e->bg_mu);
    e->busy = false;
    pthread_cond_broadcast(&e->bg_cv);
    pthread_mutex_unlock(&e->bg_mu);
}

/* Wakes the writers waiting in engine_write_admit after a memtable swap (note 14). */
static void swap_notify(engine *e)
{
    pthread_mutex_lock(&e->bg_mu);
    pthread_cond_broadcast(&e->bg_cv);
    pthread_mutex_unlock(&e->bg_mu);
}

/* Compacts, one database at a time and writing without the lock, every database that has at
 * least min_segs segments (the flush trigger), or (cold) anything to compact: several
 * segments or a provisional one (note 12). A failure is kept in e->fail_msg by
 * compact_finish. */
static void bg_compact(engine *e, unsigned min_segs, bool cold)
{
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = VT_OK;
    for (;;) {
        compact_job cj;
        bool work = false;
        pthread_rwlock_wrlock(&e->lock);
        for (size_t i = 0; i < e->ndbs && !work && !e->failed; i++)
            if (e->dbs[i]->nsegs >= min_segs || (cold && compact_has_work(e->dbs[i])))
                rc = compact_begin(e, e->dbs[i], &cj, &work, &err);
        pthread_rwlock_unlock(&e->lock);
        if (rc != VT_OK || !work)
            return;
        cj.background = true;
        rc = compact_write(e, &cj, &err);
        pthread_rwlock_wrlock(&e->lock);
        rc = compact_finish(e, &cj, rc, &err);
        pthread_rwlock_unlock(&e->lock);
        if (rc != VT_OK)
            return;
    }
}

/* With the token: flushes the memtable when it is full (or, cold, whenever it holds points),
 * writing without the lock. *flushed tells whether it did; a failure is kept in e->fail_msg. */
static vt_rc flush_unlocked(engine *e, bool cold, bool *flushed, vt_err *err)
{
    flush_job job;
    bool work = false;
    *flushed = false;
    pthread_rwlock_wrlock(&e->lock);
    vt_rc rc = VT_OK;
    if (!e->failed && !e->imm && (cold || e->active->bytes >= e->opt.memtable_bytes))
        rc = flush_begin(e, &job, &work, err);
    pthread_rwlock_unlock(&e->lock);
    if (rc != VT_OK || !work)
        return rc;
    swap_notify(e);
    rc = flush_write(e, &job, err);
    pthread_rwlock_wrlock(&e->lock);
    rc = flush_finish(e, &job, rc, err);
    pthread_rwlock_unlock(&e->lock);
    *flushed = rc == VT_OK;
    return rc;
}

/* Between two series of a background compaction (note 17): a memtable that filled up since is
 * flushed now, by the compacting thread, instead of growing to memtable_max_bytes while the
 * writers wait for the compaction to end. */
static vt_rc compact_yield(engine *e, vt_err *err)
{
    if (atomic_load(&e->active_bytes) < e->opt.memtable_bytes)
        return VT_OK;
    bool flushed;
    vt_rc rc = flush_unlocked(e, false, &flushed, err);
    if (flushed)
        atomic_fetch_add(&e->compaction_flushes, 1);
    return rc;
}

/* Flushes the memtable when it is full (or, cold, whenever it holds points), then compacts the
 * databases that reached compact_trigger segments. */
static void bg_flush(engine *e, bool cold)
{
    vt_err err;
    vt_err_clear(&err);
    bool flushed;
    if (flush_unlocked(e, cold, &flushed, &err) != VT_OK || !flushed)
        return;
    bg_compact(e, e->opt.compact_trigger, false);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool idle_for(engine *e, unsigned ms)
{
    return ms > 0 && mono_ms() - atomic_load(&e->last_write_ms) >= (int64_t)ms;
}

/* Cold flush (InfluxDB's cache-snapshot-write-cold-duration): the memtable holds points and no
 * write has arrived for flush_cold_ms. */
static bool flush_cold_due(engine *e)
{
    if (!idle_for(e, e->opt.flush_cold_ms))
        return false;
    pthread_rwlock_rdlock(&e->lock);
    bool due = !e->failed && !e->imm && e->active->points > 0;
    pthread_rwlock_unlock(&e->lock);
    return due;
}

/* Cold compaction (InfluxDB's compact-full-write-cold-duration): once no write has arrived for
 * compact_cold_ms, a database left with several segments (or a provisional one, note 12) is
 * merged into one, so reads see a
 * single non-overlapping source again (block pre-aggregates need blocks no other source
 * overlaps; loads from concurrent writers leave segments whose spans interleave). bg_main
 * checks once a second, after the cold flush (flush_cold_due); the merge itself is
 * bg_compact(e, 2, true). */
static bool cold_due(engine *e)
{
    if (!idle_for(e, e->opt.compact_cold_ms))
        return false;
    bool due = false;
    pthread_rwlock_rdlock(&e->lock);
    for (size_t i = 0; i < e->ndbs && !due; i++)
        due = compact_has_work(e->dbs[i]) && !e->failed;
    pthread_rwlock_unlock(&e->lock);
    return due;
}

static void *bg_main(void *arg)
{
    engine *e = arg;
    vt_thread_name("volta-engine");
    vt_thread_nicer(e->opt.background_nice); /* refused: the work runs at normal priority */
    pthread_mutex_lock(&e->bg_mu);
    for (;;) {
        while (!e->stop && (!e->flush_wanted || e->busy)) {
            /* wake once a second to look for cold databases */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            int w = pthread_cond_timedwait(&e->bg_cv, &e->bg_mu, &ts);
            if (w == ETIMEDOUT && !e->stop && !e->busy && !e->flush_wanted) {
                e->busy = true;
                pthread_mutex_unlock(&e->bg_mu);
                if (flush_cold_due(e))
                    bg_flush(e, true);
                if (cold_due(e))
                    bg_compact(e, 2, true);
                pthread_mutex_lock(&e->bg_mu);
                e->busy = false;
                pthread_cond_broadcast(&e->bg_cv);
            }
        }
        if (e->stop)
            break;
        e->flush_wanted = false;
        e->busy = true;
        pthread_mutex_unlock(&e->bg_mu);
        bg_flush(e, false);
        pthread_mutex_lock(&e->bg_mu);
        e->busy = false;
        pthread_cond_broadcast(&e->bg_cv);
    }
    pthread_mutex_unlock(&e->bg_mu);
    return NULL;
}

/* ---- deletes (note 7) ---- */

static void note_seq(engine *e, uint64_t seq);

static mt_series *active_slot(engine *e, const sidx_series *s)
{
    return s->mt_active && s->mt_gen == e->active->gen ? s->mt_active : NULL;
}

static bool series_in_segments(const edb *d, uint64_t sid)
{
    for (size_t k = 0; k < d->nsegs; k++)
        if (seg_find_series(d->segs[k], sid))
            return true;
    return false;
}

/* Whether s still has a point: in a memtable, or in a segment outside its tombstones (only
 * blocks a tombstone cuts are decoded). A block that cannot be read counts as holding points
 * (the series is kept; the read reports the corruption). */
static vt_rc series_alive(engine *e, const edb *d, const sidx_series *s, bool *alive, vt_err *err)
{
    *alive = true;
    if (mt_series_has_points(active_slot(e, s)) || mt_series_has_points(s->mt_imm))
        return VT_OK;
    for (size_t k = 0; k < d->nsegs; k++) {
        const seg_reader *r = d->segs[k];
        const seg_series *ss = seg_find_series(r, s->id);
        if (!ss)
            continue;
        trange *tr;
        size_t ntr;
        if (!tomb_ranges(d, s->id, r->segment_id, &tr, &ntr))
            return vt_err_set(err, VT_ENOMEM, "delete: out of memory");
        for (size_t f = 0; f < ss->nfields; f++) {
            size_t first, count;
            seg_find_blocks(r, s->id, (uint32_t)f, &first, &count);
            for (size_t b = first; b < first + count; b++) {
                const seg_index_entry *be = &r->blocks[b];
                if (ranges_cover(tr, ntr, be->min_time, be->max_time))
                    continue;
                bool any = true;
                if (ranges_meet(tr, ntr, be->min_time, be->max_time)) {
                    seg_col col;
                    seg_col_init(&col, (vt_type)be->type);
                    vt_err rerr;
                    vt_err_clear(&rerr);
                    vt_rc rc = seg_read_block(r, b, &col, &rerr);
                    if (rc == VT_OK)
                        col_drop_ranges(&col, 0, tr, ntr);
                    any = rc != VT_OK || col.n > 0;
                    seg_col_free(&col);
                    if (rc == VT_ENOMEM) {
                        free(tr);
                        return vt_err_set(err, rc, "%s", rerr.msg);
                    }
                }
                if (any) {
                    free(tr);
                    return VT_OK;
                }
            }
        }
        free(tr);
    }
    *alive = false;
    return VT_OK;
}

/* Under the token and the lock: deletes [tmin, tmax] of the distinct series v[0..n) of d. A
 * failure after the first change makes the engine fail (replay redoes the delete). */
static vt_rc delete_series(engine *e, edb *d, sidx_series **v, size_t n, int64_t tmin,
                           int64_t tmax, vt_err *err)
{
    if (n == 0 || tmin > tmax)
        return VT_OK;
    if (e->imm) /* cannot happen: deletes hold the token (note 7) */
        return vt_err_set(err, VT_EBUSY, "delete: a flush is in progress");
    bool all_time = tmin == INT64_MIN && tmax == INT64_MAX;
    uint64_t bound = e->next_segment_id;
    vt_rc rc = VT_OK;
    sidx_series **dead = malloc(n * sizeof *dead);
    mt_series **slots = malloc(n * sizeof *slots);
    size_t ndead = 0, nslots = 0;
    if (!dead || !slots) {
        free(dead);
        free(slots);
        return vt_err_set(err, VT_ENOMEM, "delete: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        sidx_series *s = v[i];
        mt_series *ms = active_slot(e, s);
        for (size_t c = 0; ms && c < ms->ncols; c++)
            mt_column_delete(e->active, &ms->cols[c], tmin, tmax);
        bool in_segs = series_in_segments(d, s->id);
        if (in_segs && !all_time && !tomb_add(d, s->id, tmin, tmax, bound)) {
            rc = vt_err_set(err, VT_ENOMEM, "delete: out of memory");
            goto fail;
        }
        bool alive = false;
        if (!all_time) {
            rc = series_alive(e, d, s, &alive, err);
            if (rc != VT_OK)
                goto fail;
        }
        if (alive)
            continue;
        if (in_segs && !tomb_kill(d, s->id, bound)) {
            rc = vt_err_set(err, VT_ENOMEM, "delete: out of memory");
            goto fail;
        }
        dead[ndead++] = s;
        if (ms)
            slots[nslots++] = ms;
    }
    /* index first: sidx_remove fails (out of memory) before changing anything */
    if (!sidx_remove(&d->idx, dead, ndead)) {
        rc = vt_err_set(err, VT_ENOMEM, "delete: out of memory");
        goto fail;
    }
    if (ndead) {
        d->series_epoch = series_epoch_next(); /* hints of the removed series die (note 13) */
        atomic_fetch_add_explicit(&e->types_epoch, 1, memory_order_release); /* note 16 */
    }
    memtable_remove_series(e->active, slots, nslots);
    free(dead);
    free(slots);
    return VT_OK;
fail:
    free(dead);
    free(slots);
    return fail_sticky(e, rc, err);
}

/* At open: removes the series whose every point a tombstone hides. */
static vt_rc drop_emptied_series(engine *e, edb *d, vt_err *err)
{
    if (d->ntombs == 0)
        return VT_OK;
    size_t cap = d->tombs.n, n = 0;
    sidx_series **v = malloc((cap ? cap : 1) * sizeof *v);
    if (!v)
        return vt_err_set(err, VT_ENOMEM, "engine: out of memory");
    for (size_t i = 0; i < d->tombs.cap && n < cap; i++) {
        const etomb_list *l = d->tombs.slots[i].key ? d->tombs.slots[i].val : NULL;
        sidx_series *s = l && l->n ? sidx_find_id(&d->idx, l->sid) : NULL;
        if (s)
            v[n++] = s;
    }
    vt_rc rc = VT_OK;
    size_t k = 0;
    for (size_t i = 0; i < n && rc == VT_OK; i++) {
        bool alive;
        rc = series_alive(e, d, v[i], &alive, err);
        if (rc == VT_OK && !alive)
            v[k++] = v[i];
    }
    if (rc == VT_OK)
        rc = delete_series(e, d, v, k, INT64_MIN, INT64_MAX, err);
    free(v);
    return rc;
}

static int sptr_cmp(const void *a, const void *b)
{
    const sidx_series *x = *(sidx_series *const *)a, *y = *(sidx_series *const *)b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Sorts v by id and drops duplicates; returns the new count. */
static size_t sptr_unique(sidx_series **v, size_t n)
{
    qsort(v, n, sizeof *v, sptr_cmp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || v[k - 1] != v[i])
            v[k++] = v[i];
    return k;
}

/* Takes the token and the lock and finds db; on VT_OK the caller ends with delete_end. */
static vt_rc delete_begin(engine *e, const char *db, uint64_t seq, edb **d, vt_err *err)
{
    token_take(e);
    pthread_rwlock_wrlock(&e->lock);
    vt_rc rc = VT_OK;
    if (e->failed) {
        rc = refuse(e, err);
    } else {
        note_seq(e, seq);
        *d = db_find(e, db);
        if (!*d)
            rc = vt_err_set(err, VT_ENOTFOUND, "database not found: %s", db);
    }
    if (rc != VT_OK) {
        pthread_rwlock_unlock(&e->lock);
        token_give(e);
    }
    return rc;
}

static void delete_end(engine *e)
{
    pthread_rwlock_unlock(&e->lock);
    token_give(e);
}

vt_rc engine_delete(engine *e, uint64_t seq, const char *db, const uint64_t *ids, size_t n,
                    int64_t tmin, int64_t tmax, vt_err *err)
{
    edb *d;
    vt_rc rc = delete_begin(e, db, seq, &d, err);
    if (rc != VT_OK)
        return rc;
    sidx_series **v = malloc((n ? n : 1) * sizeof *v);
    if (!v) {
        rc = vt_err_set(err, VT_ENOMEM, "delete: out of memory");
    } else {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            sidx_series *s = sidx_find_id(&d->idx, ids[i]);
            if (s)
                v[k++] = s;
        }
        rc = delete_series(e, d, v, sptr_unique(v, k), tmin, tmax, err);
        free(v);
    }
    delete_end(e);
    return rc;
}

vt_rc engine_delete_keyed(engine *e, uint64_t seq, const char *db, const uint8_t *base,
                          const engine_key *keys, size_t n, int64_t tmin, int64_t tmax,
                          vt_err *err)
{
    edb *d;
    vt_rc rc = delete_begin(e, db, seq, &d, err);
    if (rc != VT_OK)
        return rc;
    sidx_series **v = malloc((n ? n : 1) * sizeof *v);
    if (!v) {
        rc = vt_err_set(err, VT_ENOMEM, "delete: out of memory");
    } else {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            sidx_series *s =
                sidx_find(&d->idx, engine_key_bytes(base, &keys[i]), keys[i].len, keys[i].hash);
            if (s)
                v[k++] = s;
        }
        rc = delete_series(e, d, v, sptr_unique(v, k), tmin, tmax, err);
        free(v);
    }
    delete_end(e);
    return rc;
}

vt_rc engine_drop_measurement(engine *e, uint64_t seq, const char *db, const char *measurement,
                              vt_err *err)
{
    edb *d;
    vt_rc rc = delete_begin(e, db, seq, &d, err);
    if (rc != VT_OK)
        return rc;
    const sidx_list *l = sidx_measurement(&d->idx, vt_str_c(measurement));
    if (l && l->n) {
        sidx_series **v = malloc(l->n * sizeof *v);
        if (!v) {
            rc = vt_err_set(err, VT_ENOMEM, "drop measurement: out of memory");
        } else {
            size_t n = l->n; /* l is freed by the removal of its last series */
            memcpy(v, l->series, n * sizeof *v);
            rc = delete_series(e, d, v, n, INT64_MIN, INT64_MAX, err);
            free(v);
        }
    }
    delete_end(e);
    return rc;
}

vt_rc engine_series_keys(engine *e, const char *db, const uint64_t *ids, size_t n, vt_buf *kb,
                         engine_key *keys, size_t *nfound, vt_err *err)
{
    vt_rc rc = VT_OK;
    size_t k = 0;
    pthread_rwlock_rdlock(&e->lock);
    edb *d = db_find(e, db);
    if (!d) {
        rc = vt_err_set(err, VT_ENOTFOUND, "database not found: %s", db);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const sidx_series *s = sidx_find_id(&d->idx, ids[i]);
        if (!s)
            continue;
        keys[k] = (engine_key){kb->len, s->keylen, s->hash, NULL, NULL};
        vt_buf_append(kb, s->key, s->keylen);
        k++;
    }
    if (kb->oom)
        rc = vt_err_set(err, VT_ENOMEM, "out of memory");
done:
    pthread_rwlock_unlock(&e->lock);
    *nfound = k;
    return rc;
}

/* ---- open / close ---- */

static bool db_name_ok(const char *name)
{
    size_t n = strlen(name);
    return n > 0 && n <= ENGINE_STORE_NAME_MAX && !strchr(name, '/');
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void remove_tmp_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    char path[ENGINE_PATH_MAX];
    while ((de = readdir(d)) != NULL) {
        if (ends_with(de->d_name, ".tmp")) {
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            unlink(path);
        }
    }
    closedir(d);
}

static bool manifest_lists(const manifest *m, const char *fname)
{
    char want[128];
    for (size_t i = 0; i < m->ndbs; i++)
        for (size_t s = 0; s < m->dbs[i].nsegments; s++) {
            snprintf(want, sizeof want, "%06" PRIu32 "-%012" PRIu64 ".vseg", m->dbs[i].id,
                     m->dbs[i].segments[s]);
            if (strcmp(want, fname) == 0)
                return true;
        }
    return false;
}

/* Loads MANIFEST; a missing one is an empty store. */
static vt_rc load_manifest(const char *dir, manifest *m, bool *exists, vt_err *err)
{
    char path[ENGINE_PATH_MAX];
    snprintf(path, sizeof path, "%s/MANIFEST", dir);
    char *data = NULL;
    size_t len = 0;
    memset(m, 0, sizeof *m);
    *exists = false;
    vt_rc rc = file_read_all(path, &data, &len, err);
    if (rc == VT_ENOTFOUND) {
        vt_err_clear(err);
        m->next_segment_id = 1;
        m->next_db_id = 1;
        return VT_OK;
    }
    if (rc != VT_OK)
        return rc;
    *exists = true;
    rc = manifest_decode(path, (const uint8_t *)data, len, m, err);
    free(data);
    return rc;
}

/* True when a whole-time tombstone of sid covers segment seg_id: the series is gone there. */
static bool series_killed_in(const edb *d, uint64_t sid, uint64_t seg_id)
{
    const etomb_list *l = d->ntombs ? tombs_of(d, sid) : NULL;
    for (size_t i = 0; l && i < l->n; i++)
        if (l->v[i].tmin == INT64_MIN && l->v[i].tmax == INT64_MAX && l->v[i].seg_bound > seg_id)
            return true;
    return false;
}

/* ---- parallel file work (note 11) ---- */

#define PAR_MAX_THREADS 8

typedef struct par_job {
    void (*fn)(void *ctx, size_t i);
    void *ctx;
    size_t n;
    atomic_size_t next;
} par_job;

static void *par_worker(void *arg)
{
    par_job *j = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->n)
            return NULL;
        j->fn(j->ctx, i);
    }
}

/* Runs fn(ctx, i) for every i in [0, n) on up to min(online CPUs, PAR_MAX_THREADS, n) threads,
 * this one included, and returns when all are done. A thread that cannot be started leaves its
 * share to the others, so fn runs exactly once per i whatever happens. */
static void parallel_for(size_t n, void (*fn)(void *ctx, size_t i), void *ctx)
{
    par_job job = {.fn = fn, .ctx = ctx, .n = n};
    atomic_init(&job.next, 0);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nthreads = cpus > 1 ? (size_t)cpus : 1;
    if (nthreads > PAR_MAX_THREADS)
        nthreads = PAR_MAX_THREADS;
    if (nthreads > n)
        nthreads = n;
    pthread_t th[PAR_MAX_THREADS];
    size_t started = 0;
    for (size_t t = 1; t < nthreads; t++)
        if (pthread_create(&th[started], NULL, par_worker, &job) == 0)
            started++;
    par_worker(&job);
    for (size_t t = 0; t < started; t++)
        pthread_join(th[t], NULL);
}

/* One segment file engine_open parses on a worker (note 11). */
typedef struct open_file {
    char path[ENGINE_PATH_MAX];
    seg_reader *reader; /* NULL when the open failed: err says why */
    vt_rc rc;
    vt_err err;
} open_file;

static void open_file_run(void *ctx, size_t i)
{
    open_file *f = (open_file *)ctx + i;
    vt_err_clear(&f->err);
    f->rc = seg_open_file(f->path, &f->reader, &f->err);
}

/* Adds the series and fields of segment r to the index of d. */
static vt_rc index_segment(edb *d, const seg_reader *r, vt_buf *kb, vt_err *err)
{
    for (size_t i = 0; i < r->nseries; i++) {
        const seg_series *ss = &r->series[i];
        if (series_killed_in(d, ss->id, r->segment_id)) {
            /* deleted (note 7c); its id is not given to another series while data remains */
            if (ss->id >= d->idx.next_id)
                d->idx.next_id = ss->id + 1;
            continue;
        }
        vt_buf_reset(kb);
        series_key_build(kb, ss->measurement, ss->tags, ss->ntags);
        if (kb->oom)
            return vt_err_set(err, VT_ENOMEM, "open: out of memory");
        uint64_t h = sidx_hash(kb->data, kb->len);
        sidx_series *s = sidx_find(&d->idx, kb->data, kb->len, h);
        if (!s) {
            if (sidx_find_id(&d->idx, ss->id))
                return vt_err_set(err, VT_ECORRUPT,
                                  "segment %s: series id %" PRIu64 " names two series", r->name,
                                  ss->id);
            s = sidx_add(&d->idx, ss->id, kb->data, kb->len, h);
            if (!s)
                return vt_err_set(err, VT_ENOMEM, "open: out of memory");
        } else if (s->id != ss->id) {
            return vt_err_set(err, VT_ECORRUPT,
                              "segment %s: series %" PRIu64 " already known as id %" PRIu64,
                              r->name, ss->id, s->id);
        }
        for (size_t f = 0; f < ss->nfields; f++) {
            const seg_field_def *fd = &ss->fields[f];
            if (sidx_series_field(s, fd->name.ptr, fd->name.len) >= 0)
                continue;
            if (sidx_series_add_field(s, fd->name.ptr, fd->name.len, fd->type) < 0)
                return vt_err_set(err, VT_ENOMEM, "open: out of memory");
            if (sidx_field_type(&d->idx, s->measurement, fd->name.ptr, fd->name.len) ==
                    VT_TYPE_NONE &&
                !sidx_set_field_type(&d->idx, s->measurement, fd->name.ptr, fd->name.len,
                                     fd->type))
                return vt_err_set(err, VT_ENOMEM, "open: out of memory");
        }
    }
    return VT_OK;
}

static void engine_free(engine *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->ndbs; i++)
        db_free(e->dbs[i]);
    free(e->dbs);
    memtable_free(e->active);
    memtable_free(e->imm);
    colheap_free(e->colheap);
    vt_buf_free(&e->keybuf);
    pthread_rwlock_destroy(&e->lock);
    pthread_mutex_destroy(&e->bg_mu);
    pthread_cond_destroy(&e->bg_cv);
    free(e->dir);
    free(e);
}

vt_rc engine_open(const char *dir, const engine_options *opts, engine **out,
                  engine_open_info *info, vt_err *err)
{
    *out = NULL;
    if (strlen(dir) > ENGINE_PATH_MAX - 64)
        return vt_err_set(err, VT_EINVAL, "engine: directory path too long: %s", dir);
    engine *e = calloc(1, sizeof *e);
    if (!e)
        return vt_err_set(err, VT_ENOMEM, "engine: out of memory");
    pthread_rwlock_init(&e->lock, NULL);
    pthread_mutex_init(&e->bg_mu, NULL);
    pthread_cond_init(&e->bg_cv, NULL);
    vt_buf_init(&e->keybuf);
    atomic_init(&e->corrupt_blocks, 0);
    if (opts)
        e->opt = *opts;
    if (e->opt.memtable_bytes == 0)
        e->opt.memtable_bytes = 24u << 20;
    if (e->opt.memtable_max_bytes == 0)
        e->opt.memtable_max_bytes = 2 * e->opt.memtable_bytes;
    if (e->opt.memtable_max_bytes < e->opt.memtable_bytes)
        e->opt.memtable_max_bytes = e->opt.memtable_bytes;
    if (e->opt.compact_trigger == 0)
        e->opt.compact_trigger = 8;
    atomic_store(&e->last_write_ms, mono_ms());
    if (e->opt.block_points == 0)
        e->opt.block_points = 1024;
    if (e->opt.block_points > SEG_MAX_BLOCK_POINTS)
        e->opt.block_points = SEG_MAX_BLOCK_POINTS;
    manifest m;
    memset(&m, 0, sizeof m);
    vt_buf kb;
    vt_buf_init(&kb);
    open_file *files = NULL;   /* every segment of the MANIFEST, parsed in parallel */
    size_t nfiles = 0, nopened = 0;
    vt_rc rc;
    e->dir = strdup(dir);
    /* up to a quarter of a memtable touched ahead of need, growing with use (colheap.c notes 5
     * and 7); none below 8 MiB of memtable (less than a slab) */
    e->colheap = colheap_new(e->opt.memtable_bytes, e->opt.memtable_bytes / 4,
                             e->opt.background ? e->opt.background_nice : 0);
    e->active = e->colheap ? memtable_new(1, e->colheap) : NULL;
    if (!e->dir || !e->active) {
        rc = vt_err_set(err, VT_ENOMEM, "engine: out of memory");
        goto fail;
    }
    char segdir[ENGINE_PATH_MAX];
    snprintf(segdir, sizeof segdir, "%s/seg", dir);
    rc = durable_mkdirs(segdir, err);
    if (rc != VT_OK)
        goto fail;
    remove_tmp_files(dir);
    remove_tmp_files(segdir);
    bool exists;
    rc = load_manifest(dir, &m, &exists, err);
    if (rc != VT_OK)
        goto fail;
    e->checkpoint = e->applied = m.checkpoint_seq;
    e->next_segment_id = m.next_segment_id ? m.next_segment_id : 1;
    e->next_db_id = m.next_db_id ? m.next_db_id : 1;
    e->dbs = calloc(m.ndbs ? m.ndbs : 1, sizeof *e->dbs);
    if (!e->dbs) {
        rc = vt_err_set(err, VT_ENOMEM, "engine: out of memory");
        goto fail;
    }
    e->dcap = m.ndbs ? m.ndbs : 1;
    for (size_t i = 0; i < m.ndbs; i++)
        nfiles += m.dbs[i].nsegments;
    files = calloc(nfiles ? nfiles : 1, sizeof *files);
    if (!files) {
        rc = vt_err_set(err, VT_ENOMEM, "engine: out of memory");
        goto fail;
    }
    for (size_t i = 0, k = 0; i < m.ndbs; i++)
        for (size_t s = 0; s < m.dbs[i].nsegments; s++, k++)
            seg_path(e, files[k].path, sizeof files[k].path, m.dbs[i].id,
                     m.dbs[i].segments[s]);
    parallel_for(nfiles, open_file_run, files);
    for (size_t i = 0; i < m.ndbs; i++) {
        edb *d = calloc(1, sizeof *d);
        if (!d) {
            rc = vt_err_set(err, VT_ENOMEM, "engine: out of memory");
            goto fail;
        }
        d->series_epoch = series_epoch_next();
        e->dbs[e->ndbs++] = d;
        sidx_init(&d->idx);
        d->name = m.dbs[i].name;
        m.dbs[i].name = NULL;
        d->id = m.dbs[i].id;
        d->meta = m.dbs[i].meta;
        d->meta_len = m.dbs[i].meta_len;
        m.dbs[i].meta = NULL;
        for (size_t t = 0; t < m.dbs[i].ntombs; t++) {
            const manifest_tomb *mt = &m.dbs[i].tombs[t];
            if (!tomb_add(d, mt->series_id, mt->tmin, mt->tmax, mt->seg_bound)) {
                rc = vt_err_set(err, VT_ENOMEM, "engine: out of memory");
                goto fail;
            }
        }
        for (size_t s = 0; s < m.dbs[i].nsegments; s++) {
            open_file *f = &files[nopened++];
            seg_reader *r = f->reader;
            f->reader = NULL; /* d owns it from here (or it is unreffed below) */
            if (f->rc != VT_OK) {
                rc = f->rc;
                *err = f->err;
                goto fail;
            }
            const char *path = f->path;
            r->corrupt_counter = &e->corrupt_blocks;
            if (!db_push_seg(d, r)) {
                seg_unref(r);
                rc = vt_err_set(err, VT_ENOMEM, "engine: out of memory");
                goto fail;
            }
            if (r->segment_id != m.dbs[i].segments[s]) {
                rc = vt_err_set(err, VT_ECORRUPT, "segment %s: header names segment %" PRIu64,
                                path, r->segment_id);
                goto fail;
            }
            rc = index_segment(d, r, &kb, err);
            if (rc != VT_OK)
                goto fail;
        }
        tombs_purge(d);
        rc = drop_emptied_series(e, d, err);
        if (rc != VT_OK)
            goto fail;
    }
    /* leftovers of interrupted flushes/compactions: the MANIFEST does not list them */
    DIR *dd = opendir(segdir);
    if (dd) {
        struct dirent *de;
        while ((de = readdir(dd)) != NULL) {
            if (ends_with(de->d_name, ".vseg") && !manifest_lists(&m, de->d_name)) {
                char path[ENGINE_PATH_MAX];
                snprintf(path, sizeof path, "%s/%s", segdir, de->d_name);
                unlink(path);
            }
        }
        closedir(dd);
    }
    if (info) {
        memset(info, 0, sizeof *info);
        info->checkpoint_seq = e->checkpoint;
        for (size_t i = 0; i < e->ndbs; i++) {
            info->segments += (unsigned)e->dbs[i]->nsegs;
            info->series += e->dbs[i]->idx.n;
        }
    }
    if (e->opt.background) {
        if (pthread_create(&e->thread, NULL, bg_main, e) != 0) {
            rc = vt_err_set(err, VT_ENOMEM, "engine: cannot start the background thread");
            goto fail;
        }
        e->thread_started = true;
    }
    manifest_free(&m);
    vt_buf_free(&kb);
    free(files);
    *out = e;
    return VT_OK;
fail:
    manifest_free(&m);
    vt_buf_free(&kb);
    for (size_t k = nopened; files && k < nfiles; k++)
        if (files[k].reader)
            seg_unref(files[k].reader);
    free(files);
    engine_free(e);
    return rc;
}

vt_rc engine_close(engine *e, vt_err *err)
{
    if (!e)
        return VT_OK;
    if (e->thread_started) {
        pthread_mutex_lock(&e->bg_mu);
        e->stop = true;
        pthread_cond_broadcast(&e->bg_cv);
        pthread_mutex_unlock(&e->bg_mu);
        pthread_join(e->thread, NULL);
    }
    vt_rc rc = VT_OK;
    pthread_rwlock_wrlock(&e->lock);
    if (!e->failed)
        rc = flush_locked(e, err);
    pthread_rwlock_unlock(&e->lock);
    engine_free(e);
    return rc;
}

/* ---- databases ---- */

static void note_seq(engine *e, uint64_t seq)
{
    if (seq > e->applied)
        e->applied = seq;
}

/* The checkpoint a metadata-only manifest may carry: everything applied when nothing is
 * buffered, else the current one. */
static uint64_t meta_checkpoint(engine *e)
{
    return (e->active->points == 0 && !e->imm) ? e->applied : e->checkpoint;
}

vt_rc engine_create_db(engine *e, const char *name, uint64_t seq, vt_err *err)
{
    if (!db_name_ok(name))
        return vt_err_set(err, VT_EINVAL, "invalid database name '%s'", name);
    pthread_rwlock_wrlock(&e->lock);
    vt_rc rc = VT_OK;
    if (e->failed) {
        rc = refuse(e, err);
        goto done;
    }
    note_seq(e, seq);
    if (db_find(e, name)) {
        rc = vt_err_set(err, VT_EEXIST, "database %s already exists", name);
        goto done;
    }
    if (e->ndbs == e->dcap) {
        size_t nc = e->dcap ? e->dcap * 2 : 4;
        edb **nd = realloc(e->dbs, nc * sizeof *nd);
        if (!nd) {
            rc = vt_err_set(err, VT_ENOMEM, "create database: out of memory");
            goto done;
        }
        e->dbs = nd;
        e->dcap = nc;
    }
    edb *d = calloc(1, sizeof *d);
    if (!d || !(d->name = strdup(name))) {
        free(d);
        rc = vt_err_set(err, VT_ENOMEM, "create database: out of memory");
        goto done;
    }
    d->series_epoch = series_epoch_next();
    sidx_init(&d->idx);
    d->id = e->next_db_id++;
    size_t at = 0;
    while (at < e->ndbs && strcmp(e->dbs[at]->name, name) < 0)
        at++;
    memmove(e->dbs + at + 1, e->dbs + at, (e->ndbs - at) * sizeof *e->dbs);
    e->dbs[at] = d;
    e->ndbs++;
    uint64_t ckpt = meta_checkpoint(e);
    rc = publish_manifest(e, ckpt, err);
    if (rc != VT_OK) {
        memmove(e->dbs + at, e->dbs + at + 1, (e->ndbs - at - 1) * sizeof *e->dbs);
        e->ndbs--;
        db_free(d);
        rc = fail_sticky(e, rc, err);
        goto done;
    }
    e->checkpoint = ckpt;
done:
    pthread_rwlock_unlock(&e->lock);
    return rc;
}

vt_rc engine_drop_db(engine *e, const char *name, uint64_t seq, vt_err *err)
{
    token_take(e);
    pthread_rwlock_wrlock(&e->lock);
    vt_rc rc = VT_OK;
    if (e->failed) {
        rc = refuse(e, err);
        goto done;
    }
    note_seq(e, seq);
    size_t at = db_index(e, name);
    if (at == e->ndbs) {
        rc = vt_err_set(err, VT_ENOTFOUND, "database not found: %s", name);
        goto done;
    }
    edb *d = e->dbs[at];
    memmove(e->dbs + at, e->dbs + at + 1, (e->ndbs - at - 1) * sizeof *e->dbs);
    e->ndbs--;
    atomic_fetch_add_explicit(&e->types_epoch, 1, memory_order_release); /* note 16 */
    memtable_remove_db(e->active, d);
    uint64_t ckpt = meta_checkpoint(e);
    rc = publish_manifest(e, ckpt, err);
    if (rc != VT_OK) {
        /* on disk the database still exists; its buffered points are gone: fail hard */
        memmove(e->dbs + at + 1, e->dbs + at, (e->ndbs - at) * sizeof *e->dbs);
        e->dbs[at] = d;
        e->ndbs++;
        rc = fail_sticky(e, rc, err);
        goto done;
    }
    e->checkpoint = ckpt;
    for (size_t i = 0; i < d->nsegs; i++)
        unlink(d->segs[i]->name);
    db_free(d);
done:
    pthread_rwlock_unlock(&e->lock);
    token_give(e);
    return rc;
}

bool engine_has_db(engine *e, const char *name)
{
    pthread_rwlock_rdlock(&e->lock);
    bool has = db_find(e, name) != NULL;
    pthread_rwlock_unlock(&e->lock);
    return has;
}

void engine_list_dbs(engine *e, void (*cb)(void *ctx, const char *name), void *ctx)
{
    pthread_rwlock_rdlock(&e->lock);
    for (size_t i = 0; i < e->ndbs; i++)
        if (!strchr(e->dbs[i]->name, ENGINE_STORE_SEP))
            cb(ctx, e->dbs[i]->name);
    pthread_rwlock_unlock(&e->lock);
}

/* ---- stores and their metadata (retention policies; engine.h) ---- */

void engine_list_stores(engine *e, void (*cb)(void *ctx, const char *name), void *ctx)
{
    pthread_rwlock_rdlock(&e->lock);
    for (size_t i = 0; i < e->ndbs; i++)
        cb(ctx, e->dbs[i]->name);
    pthread_rwlock_unlock(&e->lock);
}

vt_rc engine_get_db_meta(engine *e, const char *name, vt_buf *out, vt_err *err)
{
    pthread_rwlock_rdlock(&e->lock);
    const edb *d = db_find(e, name);
    if (d)
        vt_buf_append(out, d->meta, d->meta_len);
    pthread_rwlock_unlock(&e->lock);
    if (!d)
        return vt_err_set(err, VT_ENOTFOUND, "database not found: %s", name);
    return out->oom ? vt_err_set(err, VT_ENOMEM, "out of memory") : VT_OK;
}

vt_rc engine_set_db_meta(engine *e, const char *name, uint64_t seq, const void *data, size_t len,
                         vt_err *err)
{
    if (len > ((size_t)16 << 20))
        return vt_err_set(err, VT_ELIMIT, "database metadata of %zu bytes is too large", len);
    uint8_t *copy = NULL;
    if (len && !(copy = malloc(len)))
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    if (len)
        memcpy(copy, data, len);
    pthread_rwlock_wrlock(&e->lock);
    vt_rc rc = VT_OK;
    edb *d = NULL;
    if (e->failed) {
        rc = refuse(e, err);
        goto done;
    }
    note_seq(e, seq);
    d = db_find(e, name);
    if (!d) {
        rc = vt_err_set(err, VT_ENOTFOUND, "database not found: %s", name);
        goto done;
    }
    uint8_t *old = d->meta;
    size_t old_len = d->meta_len;
    d->meta = copy;
    d->meta_len = len;
    copy = NULL;
    uint64_t ckpt = meta_checkpoint(e);
    rc = publish_manifest(e, ckpt, err);
    if (rc != VT_OK) {
        copy = d->meta;
        d->meta = old;
        d->meta_len = old_len;
        rc = fail_sticky(e, rc, err);
        goto done;
    }
    e->checkpoint = ckpt;
    free(old);
done:
    pthread_rwlock_unlock(&e->lock);
    free(copy);
    return rc;
}

vt_rc engine_truncate_db(engine *e, const char *name, uint64_t seq, vt_err *err)
{
    token_take(e);
    pthread_rwlock_wrlock(&e->lock);
    vt_rc rc = VT_OK;
    if (e->failed) {
        rc = refuse(e, err);
        goto done;
    }
    note_seq(e, seq);
    size_t at = db_index(e, name);
    if (at == e->ndbs) {
        rc = vt_err_set(err, VT_ENOTFOUND, "database not found: %s", name);
        goto done;
    }
    edb *d = e->dbs[at];
    edb *nd = calloc(1, sizeof *nd);
    if (nd)
        nd->series_epoch = series_epoch_next();
    if (!nd || !(nd->name = strdup(name))) {
        free(nd);
        rc = vt_err_set(err, VT_ENOMEM, "truncate database: out of memory");
        goto done;
    }
    sidx_init(&nd->idx);
    nd->id = e->next_db_id++;
    nd->meta = d->meta;
    nd->meta_len = d->meta_len;
    e->dbs[at] = nd;
    atomic_fetch_add_explicit(&e->types_epoch, 1, memory_order_release); /* note 16 */
    uint64_t ckpt = meta_checkpoint(e);
    rc = publish_manifest(e, ckpt, err);
    if (rc != VT_OK) {
        e->dbs[at] = d;
        nd->meta = NULL;
        db_free(nd);
        rc = fail_sticky(e, rc, err);
        goto done;
    }
    /* its buffered points go only once the new empty store is published */
    memtable_remove_db(e->active, d);
    e->checkpoint = ckpt;
    d->meta = NULL;
    for (size_t i = 0; i < d->nsegs; i++)
        unlink(d->segs[i]->name);
    db_free(d);
done:
    pthread_rwlock_unlock(&e->lock);
    token_give(e);
    return rc;
}

/* Whether series s of d holds a point older than cutoff that no tombstone hides yet (memtable
 * columns, then the first block of each field in each segment: blocks are in time order). */
static bool series_has_before(engine *e, const edb *d, const sidx_series *s, int64_t cutoff)
{
    const mt_series *ms = active_slot(e, s);
    for (size_t c = 0; ms && c < ms->ncols; c++)
        for (size_t i = 0; i < ms->cols[c].n; i++)
            if (ms->cols[c].time[i] < cutoff)
                return true;
    for (size_t k = 0; k < d->nsegs; k++) {
        const seg_reader *r = d->segs[k];
        const seg_series *ss = seg_find_series(r, s->id);
        if (!ss)
            continue;
        trange *tr;
        size_t ntr;
        if (!tomb_ranges(d, s->id, r->segment_id, &tr, &ntr))
            return true; /* out of memory: let the delete decide */
        bool any = false;
        for (size_t f = 0; f < ss->nfields && !any; f++) {
            size_t first, count;
            seg_find_blocks(r, s->id, (uint32_t)f, &first, &count);
            for (size_t b = first; b < first + count && !any; b++) {
                const seg_index_entry *be = &r->blocks[b];
                if (be->min_time >= cutoff)
                    break;
                int64_t hi = be->max_time < cutoff ? be->max_time : cutoff - 1;
                any = !ranges_cover(tr, ntr, be->min_time, hi);
            }
        }
        free(tr);
        if (any)
            return true;
    }
    return false;
}

vt_rc engine_drop_before(engine *e, uint64_t seq, const char *name, int64_t cutoff, vt_err *err)
{
    edb *d;
    vt_rc rc = delete_begin(e, name, seq, &d, err);
    if (rc != VT_OK)
        return rc;
    size_t n = d->idx.n, k = 0;
    sidx_series **v = malloc((n ? n : 1) * sizeof *v);
    if (!v) {
        rc = vt_err_set(err, VT_ENOMEM, "retention: out of memory");
    } else {
        for (size_t i = 0; i < n; i++)
            if (d->idx.all[i] && series_has_before(e, d, d->idx.all[i], cutoff))
                v[k++] = d->idx.all[i];
        if (cutoff > INT64_MIN)
            rc = delete_series(e, d, v, sptr_unique(v, k), INT64_MIN, cutoff - 1, err);
        free(v);
    }
    delete_end(e);
    return rc;
}

/* ---- writes ---- */

static const char *type_name(vt_type t)
{
    return vt_type_name(t);
}

static vt_rc conflict(vt_err *err, vt_str field, vt_str meas, vt_type got, vt_type have)
{
    return vt_err_set(err, VT_ETYPE,
                      "field type conflict: input field \"%.*s\" on measurement \"%.*s\" is type "
                      "%s, already exists as type %s",
                      (int)field.len, field.ptr, (int)meas.len, meas.ptr, type_name(got),
                      type_name(have));
}

static bool type_valid(vt_type t)
{
    return t >= VT_TYPE_FLOAT && t <= VT_TYPE_STRING;
}

typedef struct batch_type {
    vt_str meas, field;
    vt_type type;
    bool stored; /* the index's type (else the batch's first: a new field) */
} batch_type;

/* ---- writers' type caches (note 16) ---- */

#define TYPE_CACHE_PAIRS 64

typedef struct type_pair {
    vt_str meas, field; /* in one allocation: meas bytes, then field bytes */
    vt_type type;
} type_pair;

struct engine_type_cache {
    char *store;      /* the store the pairs belong to; NULL: empty */
    uint64_t epoch;   /* types_epoch when they were read */
    type_pair pairs[TYPE_CACHE_PAIRS];
    size_t n, last;
};

engine_type_cache *engine_type_cache_new(void)
{
    return calloc(1, sizeof(engine_type_cache));
}

static void type_cache_clear(engine_type_cache *tc)
{
    for (size_t i = 0; i < tc->n; i++)
        free((char *)tc->pairs[i].meas.ptr);
    free(tc->store);
    tc->store = NULL;
    tc->n = tc->last = 0;
}

void engine_type_cache_free(engine_type_cache *tc)
{
    if (!tc)
        return;
    type_cache_clear(tc);
    free(tc);
}

/* The pair (meas, field) in tc, starting with the last one found; NULL when absent. */
static const type_pair *type_cache_find(engine_type_cache *tc, vt_str meas, vt_str field)
{
    size_t i = tc->last;
    if (i < tc->n && vt_str_eq(tc->pairs[i].field, field) && vt_str_eq(tc->pairs[i].meas, meas))
        return &tc->pairs[i];
    for (i = 0; i < tc->n; i++)
        if (vt_str_eq(tc->pairs[i].field, field) && vt_str_eq(tc->pairs[i].meas, meas)) {
            tc->last = i;
            return &tc->pairs[i];
        }
    return NULL;
}

/* Under the lock: remembers the index's types found by a locked check of store db. */
static void type_cache_learn(engine *e, engine_type_cache *tc, const char *db,
                             const batch_type *seen, size_t nseen)
{
    uint64_t epoch = atomic_load_explicit(&e->types_epoch, memory_order_acquire);
    if (tc->store && (tc->epoch != epoch || strcmp(tc->store, db) != 0))
        type_cache_clear(tc);
    if (!tc->store && !(tc->store = strdup(db)))
        return;
    tc->epoch = epoch;
    for (size_t s = 0; s < nseen && tc->n < TYPE_CACHE_PAIRS; s++) {
        if (!seen[s].stored || type_cache_find(tc, seen[s].meas, seen[s].field))
            continue;
        char *mem = malloc(seen[s].meas.len + seen[s].field.len + 1);
        if (!mem)
            return;
        memcpy(mem, seen[s].meas.ptr, seen[s].meas.len);
        memcpy(mem + seen[s].meas.len, seen[s].field.ptr, seen[s].field.len);
        tc->pairs[tc->n++] = (type_pair){{mem, seen[s].meas.len},
                                         {mem + seen[s].meas.len, seen[s].field.len},
                                         seen[s].type};
    }
}

/* The check without the lock (note 16): true when every field's (measurement, field) is in tc
 * at the current epoch, with rejected[] and *nrejected set (err: the first conflict); false
 * when some pair is not known there (nothing decided: the caller takes the lock). */
static bool check_types_cached(engine *e, const char *db, const vt_point *pts, size_t n,
                               bool *rejected, size_t *nrejected, engine_type_cache *tc,
                               vt_err *err)
{
    if (!tc->store || tc->epoch != atomic_load_explicit(&e->types_epoch, memory_order_acquire) ||
        strcmp(tc->store, db) != 0)
        return false;
    size_t nrej = 0;
    const vt_field *bad = NULL;
    vt_str bad_meas = {NULL, 0};
    vt_type bad_have = VT_TYPE_NONE;
    for (size_t i = 0; i < n; i++) {
        const vt_point *p = &pts[i];
        rejected[i] = false;
        for (size_t f = 0; f < p->nfields; f++) {
            const type_pair *tp = type_cache_find(tc, p->measurement, p->fields[f].key);
            if (!tp)
                return false;
            if (tp->type != p->fields[f].value.type && !rejected[i]) {
                rejected[i] = true;
                nrej++;
                if (!bad) {
                    bad = &p->fields[f];
                    bad_meas = p->measurement;
                    bad_have = tp->type;
                }
            }
        }
    }
    if (bad)
        conflict(err, bad->key, bad_meas, bad->value.type, bad_have);
    if (nrejected)
        *nrejected = nrej;
    return true;
}

vt_rc engine_check_types(engine *e, const char *db, const vt_point *pts, size_t n,
                         bool *rejected, size_t *nrejected, engine_type_cache *tc, vt_err *err)
{
    if (tc && check_types_cached(e, db, pts, n, rejected, nrejected, tc, err))
        return VT_OK;
    size_t nrej = 0;
    vt_rc rc = VT_OK;
    batch_type *seen = NULL;
    size_t nseen = 0, seen_cap = 0, last = 0;
    bool first = true;
    atomic_fetch_add_explicit(&e->locked_type_checks, 1, memory_order_relaxed);
    pthread_rwlock_rdlock(&e->lock);
    edb *d = db_find(e, db);
    if (!d) {
        rc = vt_err_set(err, VT_ENOTFOUND, "database not found: %s", db);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const vt_point *p = &pts[i];
        rejected[i] = false;
        for (size_t f = 0; f < p->nfields && !rejected[i]; f++) {
            const vt_field *fl = &p->fields[f];
            vt_type have = VT_TYPE_NONE;
            size_t s = last; /* the pair of the previous field first: runs of one measurement */
            if (s >= nseen || !vt_str_eq(seen[s].field, fl->key) ||
                !vt_str_eq(seen[s].meas, p->measurement))
                for (s = nseen; s-- > 0;)
                    if (vt_str_eq(seen[s].field, fl->key) &&
                        vt_str_eq(seen[s].meas, p->measurement))
                        break;
            if (s != (size_t)-1) {
                have = seen[s].type;
            } else {
                have = sidx_field_type(&d->idx, p->measurement, fl->key.ptr, fl->key.len);
                if (nseen == seen_cap) {
                    size_t nc = seen_cap ? seen_cap * 2 : 16;
                    batch_type *ns = realloc(seen, nc * sizeof *ns);
                    if (!ns) {
                        rc = vt_err_set(err, VT_ENOMEM, "check types: out of memory");
                        goto done;
                    }
                    seen = ns;
                    seen_cap = nc;
                }
                seen[nseen++] = (batch_type){p->measurement, fl->key,
                                             have != VT_TYPE_NONE ? have : fl->value.type,
                                             have != VT_TYPE_NONE};
                have = seen[nseen - 1].type;
                s = nseen - 1;
            }
            last = s;
            if (have != fl->value.type) {
                rejected[i] = true;
                if (first)
                    conflict(err, fl->key, p->measurement, fl->value.type, have);
                first = false;
            }
        }
        if (rejected[i])
            nrej++;
    }
    if (tc)
        type_cache_learn(e, tc, db, seen, nseen);
done:
    pthread_rwlock_unlock(&e->lock);
    free(seen);
    if (nrejected)
        *nrejected = nrej;
    return rc;
}

/* The fast path of apply_point (note 15): when the series' slot in the active memtable already
 * has a column of every field's name and type, the point's types are right (a column is made
 * only for a field the series holds with that type) and it is appended without index lookups.
 * Returns 1 when appended, 0 with nothing appended when some field has no such column (the
 * caller's full path), -1 on out-of-memory. */
#define APPLY_FAST_FIELDS 8
static int apply_point_fast(engine *e, sidx_series *s, const vt_point *p)
{
    memtable *m = e->active;
    mt_series *ms = s->mt_active;
    if (!ms || s->mt_gen != m->gen || p->nfields == 0 || p->nfields > APPLY_FAST_FIELDS)
        return 0;
    mt_column *cols[APPLY_FAST_FIELDS];
    for (size_t f = 0; f < p->nfields; f++) {
        const vt_field *fl = &p->fields[f];
        mt_column *c = mt_series_column(ms, fl->key.ptr, fl->key.len);
        if (!c || c->type != fl->value.type)
            return 0;
        cols[f] = c;
    }
    for (size_t f = 0; f < p->nfields; f++)
        if (!memtable_append(m, cols[f], p->time, &p->fields[f].value))
            return -1;
    return 1;
}

/* Looks up or creates the series of p; NULL with *skip when the point must be skipped. */
static vt_rc apply_point(engine *e, edb *d, const vt_point *p, const uint8_t *key, size_t klen,
                         uint64_t h, engine_series_hint *hint, bool *skip, vt_err *err)
{
    *skip = false;
    if (p->nfields == 0 || p->measurement.len == 0) {
        *skip = true;
        return VT_OK;
    }
    sidx_series *s;
    if (hint && hint->db == d && hint->epoch == d->series_epoch && hint->series)
        s = (sidx_series *)(uintptr_t)hint->series; /* note 13 */
    else
        s = sidx_find(&d->idx, key, klen, h);
    int fast = s ? apply_point_fast(e, s, p) : 0;
    if (fast < 0)
        return vt_err_set(err, VT_ENOMEM, "apply: out of memory");
    if (fast > 0) {
        if (hint)
            *hint = (engine_series_hint){d, s, d->series_epoch};
        return VT_OK;
    }
    /* type check the whole point first */
    for (size_t f = 0; f < p->nfields; f++) {
        const vt_field *fl = &p->fields[f];
        vt_type want = fl->value.type;
        if (!type_valid(want) || fl->key.len == 0) {
            *skip = true;
            return VT_OK;
        }
        int fi = s ? sidx_series_field(s, fl->key.ptr, fl->key.len) : -1;
        vt_type have = fi >= 0 ? s->fields[fi].type
                               : sidx_field_type(&d->idx, p->measurement, fl->key.ptr, fl->key.len);
        if (have != VT_TYPE_NONE && have != want) {
            *skip = true;
            return VT_OK;
        }
    }
    if (!s) {
        s = sidx_add(&d->idx, 0, key, klen, h);
        if (!s)
            return vt_err_set(err, VT_ENOMEM, "apply: out of memory");
    }
    if (hint)
        *hint = (engine_series_hint){d, s, d->series_epoch};
    memtable *m = e->active;
    mt_series *ms = s->mt_active;
    if (!ms || s->mt_gen != m->gen) {
        ms = memtable_add_series(m, d, s);
        if (!ms)
            return vt_err_set(err, VT_ENOMEM, "apply: out of memory");
        s->mt_active = ms;
        s->mt_gen = m->gen;
    }
    for (size_t f = 0; f < p->nfields; f++) {
        const vt_field *fl = &p->fields[f];
        /* the memtable column is usually found by name directly */
        mt_column *c = mt_series_column(ms, fl->key.ptr, fl->key.len);
        if (!c) {
            int fi = sidx_series_field(s, fl->key.ptr, fl->key.len);
            if (fi < 0) {
                if (sidx_field_type(&d->idx, p->measurement, fl->key.ptr, fl->key.len) ==
                        VT_TYPE_NONE &&
                    !sidx_set_field_type(&d->idx, s->measurement, fl->key.ptr, fl->key.len,
                                         fl->value.type))
                    return vt_err_set(err, VT_ENOMEM, "apply: out of memory");
                fi = sidx_series_add_field(s, fl->key.ptr, fl->key.len, fl->value.type);
                if (fi < 0)
                    return vt_err_set(err, VT_ENOMEM, "apply: out of memory");
            }
            c = memtable_column(m, ms, s->fields[fi].name, s->fields[fi].len, s->fields[fi].type);
            if (!c)
                return vt_err_set(err, VT_ENOMEM, "apply: out of memory");
        }
        if (!memtable_append(m, c, p->time, &fl->value))
            return vt_err_set(err, VT_ENOMEM, "apply: out of memory");
    }
    return VT_OK;
}

bool engine_build_keys(const vt_point *pts, size_t n, vt_buf *kb, engine_key *keys)
{
    for (size_t i = 0; i < n; i++) {
        size_t off = kb->len;
        series_key_build(kb, pts[i].measurement, pts[i].tags, pts[i].ntags);
        if (kb->oom)
            return false;
        keys[i].off = off;
        keys[i].len = kb->len - off;
        keys[i].hash = sidx_hash(kb->data + off, kb->len - off);
        keys[i].hint = NULL;
        keys[i].ptr = NULL;
    }
    return true;
}

/* engine_apply and engine_apply_keyed: with keys, the series keys come from the caller;
 * without, each is built here into e->keybuf (under the write lock). */
static vt_rc apply_points(engine *e, uint64_t seq, const char *db, const vt_point *pts,
                          const uint8_t *base, const engine_key *keys, size_t n, size_t *skipped,
                          vt_err *err)
{
    size_t nskip = 0;
    vt_rc rc = VT_OK;
    bool want_bg = false;
    pthread_rwlock_wrlock(&e->lock);
    if (e->failed) {
        rc = refuse(e, err);
        goto done;
    }
    edb *d = db_find(e, db);
    if (!d) {
        rc = vt_err_set(err, VT_ENOTFOUND, "database not found: %s", db);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        bool skip = false;
        if (keys) {
            rc = apply_point(e, d, &pts[i], engine_key_bytes(base, &keys[i]), keys[i].len,
                             keys[i].hash, keys[i].hint, &skip, err);
        } else {
            vt_buf *kb = &e->keybuf;
            vt_buf_reset(kb);
            series_key_build(kb, pts[i].measurement, pts[i].tags, pts[i].ntags);
            if (kb->oom)
                rc = vt_err_set(err, VT_ENOMEM, "apply: out of memory");
            else
                rc = apply_point(e, d, &pts[i], kb->data, kb->len, sidx_hash(kb->data, kb->len),
                                 NULL, &skip, err);
        }
        if (rc != VT_OK) {
            fail_sticky(e, rc, err); /* the memtable may hold part of the batch */
            goto done;
        }
        nskip += skip;
    }
    note_seq(e, seq);
    atomic_store(&e->active_bytes, e->active->bytes);
    if (e->active->bytes >= e->opt.memtable_bytes) {
        if (e->opt.background) {
            want_bg = true;
        } else {
            rc = flush_locked(e, err);
            if (rc == VT_OK)
                rc = auto_compact_locked(e, err);
        }
    }
done:
    pthread_rwlock_unlock(&e->lock);
    if (want_bg) {
        pthread_mutex_lock(&e->bg_mu);
        e->flush_wanted = true;
        pthread_cond_broadcast(&e->bg_cv);
        pthread_mutex_unlock(&e->bg_mu);
    }
    if (skipped)
        *skipped = nskip;
    return rc;
}

vt_rc engine_apply(engine *e, uint64_t seq, const char *db, const vt_point *pts, size_t n,
                   size_t *skipped, vt_err *err)
{
    atomic_store(&e->last_write_ms, mono_ms());
    return apply_points(e, seq, db, pts, NULL, NULL, n, skipped, err);
}

vt_rc engine_apply_keyed(engine *e, uint64_t seq, const char *db, const vt_point *pts,
                         const uint8_t *base, const engine_key *keys, size_t n, size_t *skipped,
                         vt_err *err)
{
    atomic_store(&e->last_write_ms, mono_ms());
    return apply_points(e, seq, db, pts, base, keys, n, skipped, err);
}

void engine_write_admit(engine *e)
{
    size_t cap = e->opt.memtable_max_bytes;
    if (!e->opt.background || atomic_load(&e->active_bytes) < cap)
        return;
    bool stalled = false;
    for (;;) {
        uint64_t seen = atomic_load(&e->swaps);
        pthread_rwlock_rdlock(&e->lock);
        size_t now = e->active->bytes;
        bool wait = !e->failed && now >= cap;
        pthread_rwlock_unlock(&e->lock);
        atomic_store(&e->active_bytes, now);
        if (!wait)
            return;
        if (!stalled) {
            atomic_fetch_add(&e->write_stalls, 1);
            stalled = true;
        }
        pthread_mutex_lock(&e->bg_mu);
        if (e->stop) {
            pthread_mutex_unlock(&e->bg_mu);
            return;
        }
        e->flush_wanted = true;
        pthread_cond_broadcast(&e->bg_cv);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        while (atomic_load(&e->swaps) == seen && !e->stop)
            if (pthread_cond_timedwait(&e->bg_cv, &e->bg_mu, &ts) == ETIMEDOUT)
                break;
        pthread_mutex_unlock(&e->bg_mu);
    }
}

vt_rc engine_flush(engine *e, vt_err *err)
{
    token_take(e);
    pthread_rwlock_wrlock(&e->lock);
    vt_rc rc = flush_locked(e, err);
    pthread_rwlock_unlock(&e->lock);
    token_give(e); /* also wakes writers waiting for the swap (note 14) */
    return rc;
}

vt_rc engine_compact(engine *e, vt_err *err)
{
    token_take(e);
    pthread_rwlock_wrlock(&e->lock);
    vt_rc rc = VT_OK;
    if (e->failed)
        rc = refuse(e, err);
    for (size_t i = 0; i < e->ndbs && rc == VT_OK; i++)
        rc = compact_db_locked(e, e->dbs[i], err);
    pthread_rwlock_unlock(&e->lock);
    token_give(e);
    return rc;
}

uint64_t engine_checkpoint_seq(engine *e)
{
    pthread_rwlock_rdlock(&e->lock);
    uint64_t v = e->checkpoint;
    pthread_rwlock_unlock(&e->lock);
    return v;
}

uint64_t engine_applied_seq(engine *e)
{
    pthread_rwlock_rdlock(&e->lock);
    uint64_t v = e->applied;
    pthread_rwlock_unlock(&e->lock);
    return v;
}

/* Without the lock: node_write asks before every write, and must not wait there for another
 * writer's apply. */
bool engine_failed(engine *e)
{
    return atomic_load(&e->failed);
}

/* ---- reads ---- */

static int series_cmp(const void *a, const void *b)
{
    const sidx_series *x = *(sidx_series *const *)a, *y = *(sidx_series *const *)b;
    int c = vstr_cmp(x->measurement, y->measurement);
    if (c)
        return c;
    for (size_t i = 0; i < x->ntags && i < y->ntags; i++) {
        if ((c = vstr_cmp(x->tags[i].key, y->tags[i].key)) != 0)
            return c;
        if ((c = vstr_cmp(x->tags[i].value, y->tags[i].value)) != 0)
            return c;
    }
    return x->ntags < y->ntags ? -1 : x->ntags > y->ntags;
}

static int finfo_cmp(const void *a, const void *b)
{
    return strcmp(((const engine_field_info *)a)->name, ((const engine_field_info *)b)->name);
}

vt_rc engine_foreach_series(engine *e, const char *db, const char *measurement,
                            bool (*cb)(void *ctx, const engine_series_info *s), void *ctx,
                            vt_err *err)
{
    vt_rc rc = VT_OK;
    sidx_series **list = NULL;
    engine_field_info *fi = NULL;
    size_t ficap = 0;
    pthread_rwlock_rdlock(&e->lock);
    edb *d = db_find(e, db);
    if (!d) {
        rc = vt_err_set(err, VT_ENOTFOUND, "database not found: %s", db);
        goto done;
    }
    size_t n = 0;
    if (measurement) {
        const sidx_list *l = sidx_measurement(&d->idx, vt_str_c(measurement));
        if (!l)
            goto done;
        list = malloc(l->n * sizeof *list);
        if (!list) {
            rc = vt_err_set(err, VT_ENOMEM, "out of memory");
            goto done;
        }
        memcpy(list, l->series, l->n * sizeof *list);
        n = l->n;
    } else {
        list = malloc((d->idx.n ? d->idx.n : 1) * sizeof *list);
        if (!list) {
            rc = vt_err_set(err, VT_ENOMEM, "out of memory");
            goto done;
        }
        if (d->idx.n) /* an empty store has no array yet */
            memcpy(list, d->idx.all, d->idx.n * sizeof *list);
        n = d->idx.n;
    }
    qsort(list, n, sizeof *list, series_cmp);
    for (size_t i = 0; i < n; i++) {
        sidx_series *s = list[i];
        if (s->nfields > ficap) {
            engine_field_info *nf = realloc(fi, s->nfields * sizeof *nf);
            if (!nf) {
                rc = vt_err_set(err, VT_ENOMEM, "out of memory");
                goto done;
            }
            fi = nf;
            ficap = s->nfields;
        }
        for (size_t f = 0; f < s->nfields; f++)
            fi[f] = (engine_field_info){s->fields[f].name, s->fields[f].type};
        if (s->nfields > 1)
            qsort(fi, s->nfields, sizeof *fi, finfo_cmp);
        engine_series_info info = {s->id, NULL, s->tags, s->ntags, fi, s->nfields};
        /* measurement as a C string: copy (the key slice is not NUL-terminated) */
        char mbuf[256];
        char *mp = mbuf;
        if (s->measurement.len >= sizeof mbuf) {
            mp = malloc(s->measurement.len + 1);
            if (!mp) {
                rc = vt_err_set(err, VT_ENOMEM, "out of memory");
                goto done;
            }
        }
        memcpy(mp, s->measurement.ptr, s->measurement.len);
        mp[s->measurement.len] = '\0';
        info.measurement = mp;
        bool go = cb(ctx, &info);
        if (mp != mbuf)
            free(mp);
        if (!go)
            break;
    }
done:
    pthread_rwlock_unlock(&e->lock);
    free(list);
    free(fi);
    return rc;
}

typedef struct read_ctx {
    bool (*cb)(void *ctx, const engine_points *pts);
    void *ctx;
    bool stopped; /* cb returned false */
} read_ctx;

static bool read_emit(void *ctx, seg_col *c)
{
    read_ctx *rc = ctx;
    engine_points p;
    memset(&p, 0, sizeof p);
    p.n = c->n;
    p.time = c->time;
    p.type = c->type;
    switch (c->type) {
    case VT_TYPE_FLOAT:
        p.f = c->val;
        break;
    case VT_TYPE_INT:
        p.i = c->val;
        break;
    case VT_TYPE_UINT:
        p.u = c->val;
        break;
    case VT_TYPE_BOOL:
        p.b = c->val;
        break;
    default:
        p.s = c->val;
        break;
    }
    bool go = rc->cb(rc->ctx, &p);
    if (!go)
        rc->stopped = true;
    return go;
}

/* Under the read lock: the sources of (s, field) over [tmin, tmax], newest first: memtable
 * snapshots, then segments (not yet filled) with the tombstone ranges that apply to each. */
static vt_rc read_sources(engine *e, const edb *d, const sidx_series *s, const char *field,
                          size_t flen, vt_type type, int64_t tmin, int64_t tmax, src **out,
                          size_t *nout, vt_err *err)
{
    size_t ns = 0;
    src *srcs = calloc(d->nsegs + 2, sizeof *srcs);
    *out = srcs;
    *nout = 0;
    if (!srcs)
        return vt_err_set(err, VT_ENOMEM, "read: out of memory");
    const mt_series *mss[2] = {active_slot(e, s), s->mt_imm};
    for (int k = 0; k < 2; k++) {
        const mt_column *c = mt_series_column(mss[k], field, flen);
        if (!c || c->type != type)
            continue;
        src *sr = &srcs[ns];
        seg_col_init(&sr->col, type);
        *nout = ++ns;
        if (!mt_column_snapshot(c, tmin, tmax, &sr->col))
            return vt_err_set(err, VT_ENOMEM, "read: out of memory");
    }
    for (size_t k = d->nsegs; k-- > 0;) {
        bool added;
        src_segment(&srcs[ns], d->segs[k], s->id, field, flen, type, tmin, tmax, &added);
        if (!added)
            continue;
        *nout = ++ns;
        if (!src_tombs(&srcs[ns - 1], d, s->id))
            return vt_err_set(err, VT_ENOMEM, "read: out of memory");
    }
    return VT_OK;
}

/* Under the read lock: finds db, the series and the field's type (VT_TYPE_NONE when the series
 * has no such field). */
static vt_rc read_lookup(engine *e, const char *db, uint64_t series_id, const char *field,
                         edb **d, sidx_series **s, vt_type *type, vt_err *err)
{
    *type = VT_TYPE_NONE;
    *d = db_find(e, db);
    if (!*d)
        return vt_err_set(err, VT_ENOTFOUND, "database not found: %s", db);
    *s = sidx_find_id(&(*d)->idx, series_id);
    if (!*s)
        return vt_err_set(err, VT_ENOTFOUND, "series %" PRIu64 " not found in database %s",
                          series_id, db);
    int fi = sidx_series_field(*s, field, strlen(field));
    if (fi >= 0)
        *type = (*s)->fields[fi].type;
    return VT_OK;
}

vt_rc engine_read(engine *e, const char *db, uint64_t series_id, const char *field, int64_t tmin,
                  int64_t tmax, bool (*cb)(void *ctx, const engine_points *pts), void *ctx,
                  vt_err *err)
{
    return engine_read_agg(e, db, series_id, field, tmin, tmax, NULL, cb, ctx, err);
}

/* ---- pre-aggregated reads ---- */

typedef struct agg_cand {
    size_t src; /* index of the segment source */
    size_t bi;  /* block */
    int64_t lo, hi;
} agg_cand;

static int cand_cmp(const void *a, const void *b)
{
    const agg_cand *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* First index of times[0..n) with times[i] >= t. */
static size_t lower_bound(const int64_t *times, size_t n, int64_t t)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (times[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Whether source x (not filled yet) may hold a point in [lo, hi]: a memtable snapshot is
 * searched, a segment judged by its block spans (disjoint and ascending within a column). */
static bool src_may_have(const src *x, int64_t lo, int64_t hi)
{
    if (!x->r) {
        size_t i = lower_bound(x->col.time, x->col.n, lo);
        return i < x->col.n && x->col.time[i] <= hi;
    }
    size_t a = x->bnext, b = x->bend;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (x->r->blocks[mid].max_time < lo)
            a = mid + 1;
        else
            b = mid;
    }
    return a < x->bend && x->r->blocks[a].min_time <= hi;
}

/* Merges the sources over [lo, hi] into rctx, through fresh cursors over the base sources
 * (memtable snapshots are viewed, not copied; tombstone ranges shared). */
static vt_rc merge_range(const src *base, size_t nbase, src *sub, uint64_t sid, const char *field,
                         size_t flen, vt_type type, int64_t lo, int64_t hi, read_ctx *rctx,
                         vt_err *err)
{
    size_t ns = 0;
    for (size_t j = 0; j < nbase; j++) {
        const src *b = &base[j];
        if (!b->r) {
            size_t from = lower_bound(b->col.time, b->col.n, lo);
            size_t to = hi == INT64_MAX ? b->col.n : lower_bound(b->col.time, b->col.n, hi + 1);
            if (from >= to)
                continue;
            sub[ns] = *b;
            sub[ns].pos = from;
            sub[ns].col.n = to;
            ns++;
            continue;
        }
        bool added;
        src_segment(&sub[ns], b->r, sid, field, flen, type, lo, hi, &added);
        if (!added)
            continue;
        sub[ns].tr = b->tr;
        sub[ns].ntr = b->ntr;
        sub[ns].tr_shared = true;
        ns++;
    }
    vt_rc rc = merge_sources(sub, ns, type, read_emit, rctx, err);
    for (size_t j = 0; j < ns; j++)
        if (sub[j].r)
            seg_col_free(&sub[j].col);
    return rc;
}

vt_rc engine_read_agg(engine *e, const char *db, uint64_t series_id, const char *field,
                      int64_t tmin, int64_t tmax,
                      int (*block_cb)(void *ctx, const engine_block_agg *b),
                      bool (*points_cb)(void *ctx, const engine_points *pts), void *ctx,
                      vt_err *err)
{
    return engine_read_agg_ex(e, db, series_id, field, tmin, tmax, 0, block_cb, points_cb, ctx,
                              err);
}

vt_rc engine_read_agg_ex(engine *e, const char *db, uint64_t series_id, const char *field,
                         int64_t tmin, int64_t tmax, unsigned flags,
                         int (*block_cb)(void *ctx, const engine_block_agg *b),
                         bool (*points_cb)(void *ctx, const engine_points *pts), void *ctx,
                         vt_err *err)
{
    vt_rc rc = VT_OK;
    src *srcs = NULL, *sub = NULL;
    size_t ns = 0, ncand = 0;
    agg_cand *cands = NULL;
    seg_col blk;
    bool blk_init = false;
    read_ctx rctx = {points_cb, ctx, false};
    pthread_rwlock_rdlock(&e->lock);
    edb *d;
    sidx_series *s;
    vt_type type;
    rc = read_lookup(e, db, series_id, field, &d, &s, &type, err);
    if (rc != VT_OK || type == VT_TYPE_NONE || tmin > tmax)
        goto done;
    size_t flen = strlen(field);
    rc = read_sources(e, d, s, field, flen, type, tmin, tmax, &srcs, &ns, err);
    if (rc != VT_OK)
        goto done;
    if (!block_cb) {
        rc = merge_sources(srcs, ns, type, read_emit, &rctx, err);
        goto done;
    }
    /* blocks that may be answered from the index: inside [tmin, tmax], not cut by a tombstone,
     * and no other source may hold a point in their span */
    size_t capc = 0;
    for (size_t k = 0; k < ns; k++)
        if (srcs[k].r)
            capc += srcs[k].bend - srcs[k].bnext;
    cands = malloc((capc ? capc : 1) * sizeof *cands);
    sub = calloc(ns ? ns : 1, sizeof *sub);
    if (!cands || !sub) {
        rc = vt_err_set(err, VT_ENOMEM, "read: out of memory");
        goto done;
    }
    for (size_t k = 0; k < ns; k++) {
        const src *x = &srcs[k];
        for (size_t bi = x->r ? x->bnext : 0; x->r && bi < x->bend; bi++) {
            const seg_index_entry *be = &x->r->blocks[bi];
            if (be->min_time > tmax)
                break;
            if (ranges_meet(x->tr, x->ntr, be->min_time, be->max_time) ||
                (!(flags & ENGINE_AGG_PARTIAL) && (be->min_time < tmin || be->max_time > tmax)))
                continue;
            bool alone = true;
            for (size_t j = 0; j < ns && alone; j++)
                alone = j == k || !src_may_have(&srcs[j], be->min_time, be->max_time);
            if (alone) /* a block cut by tmin/tmax is offered over its part inside */
                cands[ncand++] = (agg_cand){k, bi, be->min_time < tmin ? tmin : be->min_time,
                                            be->max_time > tmax ? tmax : be->max_time};
        }
    }
    qsort(cands, ncand, sizeof *cands, cand_cmp);
    seg_col_init(&blk, type);
    blk_init = true;
    int64_t cur = tmin;
    bool finished = false;
    for (size_t c = 0; c < ncand && !finished; c++) {
        const agg_cand *cd = &cands[c];
        bool gap = false; /* points between the previous block and this one? (usually none) */
        for (size_t j = 0; cd->lo > cur && j < ns && !gap; j++)
            gap = src_may_have(&srcs[j], cur, cd->lo - 1);
        if (gap) {
            rc = merge_range(srcs, ns, sub, series_id, field, flen, type, cur, cd->lo - 1, &rctx,
                             err);
            if (rc != VT_OK || rctx.stopped)
                goto done;
        }
        const seg_reader *r = srcs[cd->src].r;
        const seg_index_entry *be = &r->blocks[cd->bi];
        bool partial = be->min_time < cd->lo || be->max_time > cd->hi;
        engine_block_agg ba = {be->min_time, be->max_time, be->count, (vt_type)be->type, be->agg,
                               partial};
        int took = block_cb(ctx, &ba);
        if (took < 0)
            goto done;
        if (took == 0) {
            seg_col_clear(&blk);
            rc = seg_read_block(r, cd->bi, &blk, err);
            if (rc != VT_OK)
                goto done;
            seg_col in = blk; /* a view of the points inside [lo, hi] */
            if (partial) {
                size_t from = lower_bound(blk.time, blk.n, cd->lo);
                size_t to = cd->hi == INT64_MAX ? blk.n : lower_bound(blk.time, blk.n, cd->hi + 1);
                in.time += from;
                in.val = (char *)in.val + from * seg_type_size(blk.type);
                in.n = to - from;
            }
            if (in.n && !read_emit(&rctx, &in))
                goto done;
        }
        if (cd->hi == INT64_MAX)
            finished = true;
        else
            cur = cd->hi + 1;
    }
    if (!finished && cur <= tmax)
        rc = merge_range(srcs, ns, sub, series_id, field, flen, type, cur, tmax, &rctx, err);
done:
    pthread_rwlock_unlock(&e->lock);
    if (blk_init)
        seg_col_free(&blk);
    free(cands);
    free(sub);
    if (srcs)
        srcs_free(srcs, ns);
    return rc;
}

/* ---- metadata reads ---- */

typedef struct name_ref {
    const char *p;
    size_t len;
} name_ref;

static int name_ref_cmp(const void *a, const void *b)
{
    const name_ref *x = a, *y = b;
    return vstr_cmp((vt_str){x->p, x->len}, (vt_str){y->p, y->len});
}

vt_rc engine_foreach_measurement(engine *e, const char *db,
                                 bool (*cb)(void *ctx, const char *name), void *ctx, vt_err *err)
{
    vt_rc rc = VT_OK;
    name_ref *names = NULL;
    char *buf = NULL;
    size_t n = 0, total = 0;
    pthread_rwlock_rdlock(&e->lock);
    edb *d = db_find(e, db);
    if (!d) {
        rc = vt_err_set(err, VT_ENOTFOUND, "database not found: %s", db);
        goto done;
    }
    const sidx_map *m = &d->idx.measurements;
    names = malloc((m->n ? m->n : 1) * sizeof *names);
    if (!names) {
        rc = vt_err_set(err, VT_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < m->cap; i++) {
        const sidx_list *l = m->slots[i].key ? m->slots[i].val : NULL;
        if (l && l->n > 0) {
            names[n++] = (name_ref){(const char *)l->key, l->klen};
            total += l->klen + 1;
        }
    }
    qsort(names, n, sizeof *names, name_ref_cmp);
    /* copied out, so that cb runs on strings of its own (NUL-terminated) */
    buf = malloc(total ? total : 1);
    if (!buf) {
        rc = vt_err_set(err, VT_ENOMEM, "out of memory");
        goto done;
    }
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(buf + off, names[i].p, names[i].len);
        buf[off + names[i].len] = '\0';
        off += names[i].len + 1;
    }
    off = 0;
    for (size_t i = 0; i < n; i++) {
        if (!cb(ctx, buf + off))
            break;
        off += names[i].len + 1;
    }
done:
    pthread_rwlock_unlock(&e->lock);
    free(names);
    free(buf);
    return rc;
}

/* Copies the ids of l (ascending) that pass the measurement filter into a malloc'ed array. */
static vt_rc ids_copy(const sidx_list *l, const char *measurement, uint64_t **ids, size_t *n,
                      vt_err *err)
{
    *ids = NULL;
    *n = 0;
    if (!l || l->n == 0)
        return VT_OK;
    uint64_t *v = malloc(l->n * sizeof *v);
    if (!v)
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    vt_str m = measurement ? vt_str_c(measurement) : (vt_str){NULL, 0};
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++)
        if (!measurement || vt_str_eq(l->series[i]->measurement, m))
            v[k++] = l->ids[i];
    if (k == 0) {
        free(v);
        v = NULL;
    }
    *ids = v;
    *n = k;
    return VT_OK;
}

vt_rc engine_series_by_tag(engine *e, const char *db, const char *measurement, const char *key,
                           const char *value, uint64_t **ids, size_t *n, vt_err *err)
{
    vt_rc rc = VT_OK;
    *ids = NULL;
    *n = 0;
    pthread_rwlock_rdlock(&e->lock);
    edb *d = db_find(e, db);
    if (!d) {
        rc = vt_err_set(err, VT_ENOTFOUND, "database not found: %s", db);
    } else {
        const sidx_list *p = sidx_postings(&d->idx, vt_str_c(key), vt_str_c(value));
        const sidx_list *m = measurement ? sidx_measurement(&d->idx, vt_str_c(measurement)) : NULL;
        if (measurement && (!m || !p)) {
            /* nothing */
        } else if (measurement && m->n < p->n) {
            /* fewer series in the measurement than carry the tag: filter those by tag */
            uint64_t *v = malloc((m->n ? m->n : 1) * sizeof *v);
            if (!v) {
                rc = vt_err_set(err, VT_ENOMEM, "out of memory");
            } else {
                vt_str k = vt_str_c(key), val = vt_str_c(value);
                size_t c = 0;
                for (size_t i = 0; i < m->n; i++) {
                    const sidx_series *s = m->series[i];
                    for (size_t t = 0; t < s->ntags; t++)
                        if (vt_str_eq(s->tags[t].key, k)) {
                            if (vt_str_eq(s->tags[t].value, val))
                                v[c++] = m->ids[i];
                            break;
                        }
                }
                if (c == 0) {
                    free(v);
                    v = NULL;
                }
                *ids = v;
                *n = c;
            }
        } else {
            rc = ids_copy(p, measurement, ids, n, err);
        }
    }
    pthread_rwlock_unlock(&e->lock);
    return rc;
}

vt_rc engine_series_of_measurement(engine *e, const char *db, const char *measurement,
                                   uint64_t **ids, size_t *n, vt_err *err)
{
    vt_rc rc = VT_OK;
    *ids = NULL;
    *n = 0;
    pthread_rwlock_rdlock(&e->lock);
    edb *d = db_find(e, db);
    if (!d)
        rc = vt_err_set(err, VT_ENOTFOUND, "database not found: %s", db);
    else
        rc = ids_copy(sidx_measurement(&d->idx, vt_str_c(measurement)), NULL, ids, n, err);
    pthread_rwlock_unlock(&e->lock);
    return rc;
}

vt_rc engine_series_lookup(engine *e, const char *db, uint64_t id, vt_buf *store,
                           engine_series_info *out, vt_err *err)
{
    vt_rc rc = VT_OK;
    memset(out, 0, sizeof *out);
    pthread_rwlock_rdlock(&e->lock);
    edb *d = db_find(e, db);
    const sidx_series *s = d ? sidx_find_id(&d->idx, id) : NULL;
    if (!d) {
        rc = vt_err_set(err, VT_ENOTFOUND, "database not found: %s", db);
        goto done;
    }
    if (!s) {
        rc = vt_err_set(err, VT_ENOTFOUND, "series %" PRIu64 " not found in database %s", id,
                        db);
        goto done;
    }
    /* one reservation, then pointers: [pad][tags][fields][strings] */
    size_t align = _Alignof(max_align_t);
    size_t pad = (align - store->len % align) % align;
    size_t tags_at = pad, fields_at = tags_at + s->ntags * sizeof(vt_tag);
    size_t str_at = fields_at + s->nfields * sizeof(engine_field_info);
    size_t total = str_at + s->measurement.len + 1;
    for (size_t t = 0; t < s->ntags; t++)
        total += s->tags[t].key.len + s->tags[t].value.len + 2;
    for (size_t f = 0; f < s->nfields; f++)
        total += s->fields[f].len + 1;
    if (!vt_buf_reserve(store, total)) {
        rc = vt_err_set(err, VT_ENOMEM, "out of memory");
        goto done;
    }
    uint8_t *base = store->data + store->len;
    memset(base, 0, pad);
    vt_tag *tags = (vt_tag *)(void *)(base + tags_at);
    engine_field_info *fi = (engine_field_info *)(void *)(base + fields_at);
    char *sp = (char *)base + str_at;
#define COPY_STR(dst, p, len)                                                                      \
    do {                                                                                           \
        memcpy(sp, (p), (len));                                                                    \
        sp[(len)] = '\0';                                                                          \
        (dst) = sp;                                                                                \
        sp += (len) + 1;                                                                           \
    } while (0)
    const char *mp;
    COPY_STR(mp, s->measurement.ptr, s->measurement.len);
    for (size_t t = 0; t < s->ntags; t++) {
        const char *kp, *vp;
        COPY_STR(kp, s->tags[t].key.ptr, s->tags[t].key.len);
        COPY_STR(vp, s->tags[t].value.ptr, s->tags[t].value.len);
        tags[t] = (vt_tag){{kp, s->tags[t].key.len}, {vp, s->tags[t].value.len}};
    }
    for (size_t f = 0; f < s->nfields; f++) {
        const char *np;
        COPY_STR(np, s->fields[f].name, s->fields[f].len);
        fi[f] = (engine_field_info){np, s->fields[f].type};
    }
#undef COPY_STR
    if (s->nfields > 1)
        qsort(fi, s->nfields, sizeof *fi, finfo_cmp);
    store->len += total;
    *out = (engine_series_info){s->id, mp, s->ntags ? tags : NULL, s->ntags,
                                s->nfields ? fi : NULL, s->nfields};
done:
    pthread_rwlock_unlock(&e->lock);
    return rc;
}

vt_type engine_field_type(engine *e, const char *db, const char *measurement, const char *field)
{
    vt_type t = VT_TYPE_NONE;
    pthread_rwlock_rdlock(&e->lock);
    edb *d = db_find(e, db);
    if (d)
        t = sidx_field_type(&d->idx, vt_str_c(measurement), field, strlen(field));
    pthread_rwlock_unlock(&e->lock);
    return t;
}

vt_rc engine_foreach_field(engine *e, const char *db, const char *measurement,
                           bool (*cb)(void *ctx, const engine_field_info *f), void *ctx,
                           vt_err *err)
{
    vt_rc rc = VT_OK;
    engine_field_info *fi = NULL;
    char *names = NULL;
    size_t n = 0;
    pthread_rwlock_rdlock(&e->lock);
    edb *d = db_find(e, db);
    if (!d) {
        rc = vt_err_set(err, VT_ENOTFOUND, "database not found: %s", db);
        goto done;
    }
    const sidx_list *l = sidx_measurement(&d->idx, vt_str_c(measurement));
    if (!l || l->n == 0 || l->nmfields == 0)
        goto done;
    size_t total = 0;
    for (size_t i = 0; i < l->nmfields; i++)
        total += l->mfields[i].len + 1;
    fi = malloc(l->nmfields * sizeof *fi);
    names = malloc(total);
    if (!fi || !names) {
        rc = vt_err_set(err, VT_ENOMEM, "out of memory");
        goto done;
    }
    size_t off = 0;
    for (size_t i = 0; i < l->nmfields; i++) {
        memcpy(names + off, l->mfields[i].name, l->mfields[i].len + 1);
        fi[i] = (engine_field_info){names + off, l->mfields[i].type};
        off += l->mfields[i].len + 1;
    }
    n = l->nmfields;
    qsort(fi, n, sizeof *fi, finfo_cmp);
    /* cb runs after the lock is released: it sees copies */
    pthread_rwlock_unlock(&e->lock);
    for (size_t i = 0; i < n; i++)
        if (!cb(ctx, &fi[i]))
            break;
    free(fi);
    free(names);
    return VT_OK;
done:
    pthread_rwlock_unlock(&e->lock);
    free(fi);
    free(names);
    return rc;
}

void engine_get_stats(engine *e, engine_stats *st)
{
    memset(st, 0, sizeof *st);
    pthread_rwlock_rdlock(&e->lock);
    for (size_t i = 0; i < e->ndbs; i++) {
        st->series += e->dbs[i]->idx.n;
        st->segments += (unsigned)e->dbs[i]->nsegs;
        for (size_t s = 0; s < e->dbs[i]->nsegs; s++) {
            st->segment_bytes += e->dbs[i]->segs[s]->size;
            st->provisional_segments += e->dbs[i]->segs[s]->provisional;
        }
    }
    st->memtable_points = e->active->points + (e->imm ? e->imm->points : 0);
    st->memtable_bytes = e->active->bytes + (e->imm ? e->imm->bytes : 0);
    colheap_stats hs;
    colheap_get_stats(e->colheap, &hs);
    st->memtable_heap_bytes = hs.mapped_bytes;
    st->memtable_heap_reserve_bytes = hs.reserve_slabs * COLHEAP_SLAB_BYTES;
    st->flushes = e->flushes;
    st->compactions = e->compactions;
    st->write_stalls = atomic_load(&e->write_stalls);
    st->compaction_flushes = atomic_load(&e->compaction_flushes);
    st->locked_type_checks = atomic_load(&e->locked_type_checks);
    st->corrupt_blocks = atomic_load(&e->corrupt_blocks);
    pthread_rwlock_unlock(&e->lock);
}

/* ---- repair (note 10) ---- */

vt_rc engine_scan_blocks(engine *e, void (*cb)(void *ctx, const engine_bad_block *b), void *ctx,
                         uint64_t *segments, uint64_t *blocks, vt_err *err)
{
    (void)err;
    uint64_t nseg = 0, nblk = 0;
    seg_col col;
    pthread_rwlock_rdlock(&e->lock);
    for (size_t i = 0; i < e->ndbs; i++) {
        const edb *d = e->dbs[i];
        for (size_t k = 0; k < d->nsegs; k++) {
            const seg_reader *r = d->segs[k];
            nseg++;
            for (size_t bi = 0; bi < r->nblocks; bi++) {
                const seg_index_entry *x = &r->blocks[bi];
                vt_err berr;
                vt_err_clear(&berr);
                seg_col_init(&col, (vt_type)x->type);
                vt_rc rc = seg_read_block(r, bi, &col, &berr);
                seg_col_free(&col);
                nblk++;
                if (rc == VT_OK)
                    continue;
                /* reader_parse checked that every entry names a series and field */
                const seg_series *ss = seg_find_series(r, x->series_id);
                engine_bad_block b = {d->name,
                                      r->name,
                                      r->segment_id,
                                      bi,
                                      x->offset,
                                      x->series_id,
                                      ss->measurement,
                                      ss->tags,
                                      ss->ntags,
                                      ss->fields[x->field_no].name,
                                      (vt_type)x->type,
                                      x->min_time,
                                      x->max_time,
                                      x->count,
                                      berr.msg};
                cb(ctx, &b);
            }
        }
    }
    pthread_rwlock_unlock(&e->lock);
    if (segments)
        *segments = nseg;
    if (blocks)
        *blocks = nblk;
    return VT_OK;
}

void engine_lost_free(engine_lost *lost, size_t n)
{
    for (size_t i = 0; lost && i < n; i++) {
        free(lost[i].series);
        free(lost[i].field);
    }
    free(lost);
}

static char *series_display(const seg_series *ss)
{
    vt_buf b;
    vt_buf_init(&b);
    vt_buf_append(&b, ss->measurement.ptr, ss->measurement.len);
    for (size_t t = 0; t < ss->ntags; t++) {
        vt_buf_putc(&b, ',');
        vt_buf_append(&b, ss->tags[t].key.ptr, ss->tags[t].key.len);
        vt_buf_putc(&b, '=');
        vt_buf_append(&b, ss->tags[t].value.ptr, ss->tags[t].value.len);
    }
    vt_buf_putc(&b, '\0');
    if (b.oom) {
        vt_buf_free(&b);
        return NULL;
    }
    return (char *)b.data; /* the buffer's bytes, handed over */
}

static int size_cmp(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* Checks the drop list and patches against segment r; fills drop_at[bi] = 1 + patch index (or
 * SIZE_MAX for a drop without patch; 0 = kept). */
static vt_rc rewrite_plan(const seg_reader *r, const size_t *drop, size_t ndrop,
                          const engine_patch *patches, size_t npatches, size_t *drop_at,
                          vt_err *err)
{
    for (size_t i = 0; i < ndrop; i++) {
        if (drop[i] >= r->nblocks)
            return vt_err_set(err, VT_EINVAL, "segment %s: no block %zu (it has %zu)", r->name,
                              drop[i], r->nblocks);
        drop_at[drop[i]] = SIZE_MAX;
    }
    for (size_t p = 0; p < npatches; p++) {
        const engine_patch *pt = &patches[p];
        if (pt->block >= r->nblocks || drop_at[pt->block] != SIZE_MAX)
            return vt_err_set(err, VT_EINVAL, "segment %s: patch %zu is for block %zu, which is "
                              "not dropped", r->name, p, pt->block);
        const seg_index_entry *x = &r->blocks[pt->block];
        const seg_col *c = pt->points;
        if (c->n && c->type != (vt_type)x->type)
            return vt_err_set(err, VT_EINVAL, "segment %s: patch for block %zu has another type",
                              r->name, pt->block);
        for (size_t i = 0; i < c->n; i++)
            if (c->time[i] < x->min_time || c->time[i] > x->max_time ||
                (i > 0 && c->time[i] <= c->time[i - 1]))
                return vt_err_set(err, VT_EINVAL, "segment %s: patch for block %zu: time %" PRId64
                                  " out of order or outside the block's [%" PRId64 ", %" PRId64
                                  "]", r->name, pt->block, c->time[i], x->min_time, x->max_time);
        drop_at[pt->block] = p + 1;
    }
    return VT_OK;
}

/* Writes the copy of r (to its own path: the commit renames over it). */
static vt_rc rewrite_write(engine *e, const seg_reader *r, const size_t *drop_at,
                           const engine_patch *patches, engine_lost *lost, size_t *nlost,
                           vt_err *err)
{
    seg_writer w;
    seg_series_def *defs = calloc(r->nseries ? r->nseries : 1, sizeof *defs);
    if (!defs)
        return vt_err_set(err, VT_ENOMEM, "repair: out of memory");
    size_t ndefs = 0, bi = 0;
    /* a provisional segment stays provisional (its kept blocks are fast-encoded, note 12) */
    vt_rc rc = r->provisional
                   ? seg_writer_begin_provisional(&w, r->name, r->segment_id, e->opt.block_points,
                                                  err)
                   : seg_writer_begin(&w, r->name, r->segment_id, e->opt.block_points, err);
    if (rc != VT_OK) {
        free(defs);
        return rc;
    }
    for (size_t si = 0; si < r->nseries && rc == VT_OK; si++) {
        const seg_series *ss = &r->series[si];
        size_t written = 0;
        for (; bi < r->nblocks && r->blocks[bi].series_id == ss->id && rc == VT_OK; bi++) {
            const seg_index_entry *x = &r->blocks[bi];
            if (drop_at[bi] == 0) {
                rc = seg_writer_copy_block(&w, r, bi, err);
                written++;
                continue;
            }
            engine_lost *l = &lost[(*nlost)++];
            l->block = bi;
            l->offset = x->offset;
            l->series_id = ss->id;
            l->series = series_display(ss);
            l->field = strndup(ss->fields[x->field_no].name.ptr, ss->fields[x->field_no].name.len);
            l->type = (vt_type)x->type;
            l->min_time = x->min_time;
            l->max_time = x->max_time;
            l->count = x->count;
            if (!l->series || !l->field) {
                rc = vt_err_set(err, VT_ENOMEM, "repair: out of memory");
                break;
            }
            if (drop_at[bi] == SIZE_MAX)
                continue;
            const seg_col *c = patches[drop_at[bi] - 1].points;
            l->patched = true;
            l->patched_points = c->n;
            if (c->n) {
                rc = seg_writer_add(&w, ss->id, x->field_no, c, err);
                written++;
            }
        }
        if (written) /* seg_series and seg_series_def hold the same fields */
            defs[ndefs++] = (seg_series_def){ss->id,     ss->measurement, ss->tags,
                                             ss->ntags,  ss->fields,      ss->nfields};
    }
    if (rc == VT_OK && bi != r->nblocks)
        rc = vt_err_set(err, VT_ECORRUPT, "segment %s: blocks not in series order", r->name);
    if (rc == VT_OK)
        rc = seg_writer_finish(&w, defs, ndefs, NULL, err);
    else
        seg_writer_abort(&w);
    free(defs);
    return rc;
}

vt_rc engine_segment_rewrite(engine *e, const char *db, uint64_t segment_id, const size_t *drop,
                             size_t ndrop, const engine_patch *patches, size_t npatches,
                             engine_lost **lost, size_t *nlost, vt_err *err)
{
    *lost = NULL;
    *nlost = 0;
    token_take(e); /* no flush, compaction or drop changes the segment lists meanwhile */
    pthread_rwlock_rdlock(&e->lock);
    vt_rc rc = VT_OK;
    edb *d = NULL;
    size_t pos = 0;
    seg_reader *old = NULL, *fresh = NULL;
    size_t *drop_at = NULL, *order = NULL;
    engine_lost *out = NULL;
    size_t nout = 0;
    if (e->failed) {
        rc = refuse(e, err);
    } else if (!(d = db_find(e, db))) {
        rc = vt_err_set(err, VT_ENOTFOUND, "database not found: %s", db);
    } else {
        while (pos < d->nsegs && d->segs[pos]->segment_id != segment_id)
            pos++;
        if (pos == d->nsegs)
            rc = vt_err_set(err, VT_ENOTFOUND, "store %s has no segment %" PRIu64, db,
                            segment_id);
        else
            seg_ref(old = d->segs[pos]);
    }
    pthread_rwlock_unlock(&e->lock);
    if (rc != VT_OK)
        goto done;
    drop_at = calloc(old->nblocks ? old->nblocks : 1, sizeof *drop_at);
    order = malloc((ndrop ? ndrop : 1) * sizeof *order);
    out = calloc(ndrop ? ndrop : 1, sizeof *out);
    if (!drop_at || !order || !out) {
        rc = vt_err_set(err, VT_ENOMEM, "repair: out of memory");
        goto done;
    }
    if (ndrop)
        memcpy(order, drop, ndrop * sizeof *order);
    qsort(order, ndrop, sizeof *order, size_cmp);
    size_t u = 0;
    for (size_t i = 0; i < ndrop; i++)
        if (u == 0 || order[u - 1] != order[i])
            order[u++] = order[i];
    rc = rewrite_plan(old, order, u, patches, npatches, drop_at, err);
    if (rc != VT_OK)
        goto done;
    rc = rewrite_write(e, old, drop_at, patches, out, &nout, err);
    if (rc == VT_OK) {
        /* the rename landed: from here the file on disk is the copy */
        rc = seg_open_file(old->name, &fresh, err);
        pthread_rwlock_wrlock(&e->lock);
        if (rc == VT_OK) {
            fresh->corrupt_counter = &e->corrupt_blocks;
            d->segs[pos] = fresh; /* only the token holder changes segment lists */
            seg_unref(old);       /* the list's reference */
        } else {
            fail_sticky(e, rc, err);
        }
        pthread_rwlock_unlock(&e->lock);
    } else if (rc != VT_ENOMEM && rc != VT_EINVAL && rc != VT_ECORRUPT) {
        pthread_rwlock_wrlock(&e->lock);
        fail_sticky(e, rc, err); /* a write, fsync or rename failed (note 5) */
        pthread_rwlock_unlock(&e->lock);
    }
done:
    if (old)
        seg_unref(old);
    free(drop_at);
    free(order);
    token_give(e);
    if (rc != VT_OK) {
        engine_lost_free(out, nout);
        return rc;
    }
    *lost = out;
    *nlost = nout;
    return VT_OK;
}

/* ---- offline verification ---- */

/* engine_verify checks the segment files in parallel (decoding every block is CPU work; note
 * 11): each worker takes the next file, and the problems it finds are kept per file and
 * reported in the manifest's order afterwards, so the report is the same whatever the
 * scheduling. */
typedef struct verify_problem {
    uint64_t offset;
    char *text;
} verify_problem;

typedef struct verify_file {
    char path[ENGINE_PATH_MAX];
    uint64_t want_id;
    verify_problem *problems;
    size_t nproblems, cap;
    bool oom;
    uint64_t blocks;
} verify_file;

typedef struct verify_job {
    verify_file *files;
    bool decode; /* false: checksums and framing only (engine_verify_checksums) */
} verify_job;

static void verify_collect(void *ctx, const char *file, uint64_t offset, const char *problem)
{
    (void)file;
    verify_file *f = ctx;
    if (f->nproblems == f->cap) {
        size_t ncap = f->cap ? f->cap * 2 : 8;
        verify_problem *nv = realloc(f->problems, ncap * sizeof *nv);
        if (!nv) {
            f->oom = true;
            return;
        }
        f->problems = nv;
        f->cap = ncap;
    }
    char *t = strdup(problem);
    if (!t) {
        f->oom = true;
        return;
    }
    f->problems[f->nproblems++] = (verify_problem){.offset = offset, .text = t};
}

static void verify_one(verify_file *f, bool decode)
{
    seg_reader *r;
    vt_err err;
    vt_err_clear(&err);
    if (seg_open_file(f->path, &r, &err) != VT_OK) {
        verify_collect(f, f->path, 0, err.msg);
        return;
    }
    if (r->segment_id != f->want_id)
        verify_collect(f, f->path, 8, "segment id in the header does not match the manifest");
    if (decode)
        seg_verify(r, verify_collect, f, &f->blocks);
    else
        seg_verify_checksums(r, verify_collect, f, &f->blocks);
    seg_unref(r);
}

static void verify_run(void *ctx, size_t i)
{
    verify_job *j = ctx;
    verify_one(&j->files[i], j->decode);
}

/* Reports the problems collected per file, in order; frees them. Returns their number. */
static unsigned verify_report_files(verify_file *vf, size_t n, engine_verify_report report,
                                    void *ctx, uint64_t *nblocks)
{
    unsigned problems = 0;
    for (size_t i = 0; i < n; i++) {
        *nblocks += vf[i].blocks;
        for (size_t p = 0; p < vf[i].nproblems; p++) {
            if (report)
                report(ctx, vf[i].path, vf[i].problems[p].offset, vf[i].problems[p].text);
            free(vf[i].problems[p].text);
        }
        problems += (unsigned)vf[i].nproblems;
        if (vf[i].oom) {
            if (report)
                report(ctx, vf[i].path, 0, "out of memory recording the problems found");
            problems++;
        }
        free(vf[i].problems);
    }
    return problems;
}

static unsigned verify_dir(const char *dir, bool decode, engine_verify_report report, void *ctx,
                           unsigned *files, uint64_t *blocks)
{
    unsigned problems = 0, nfiles = 0;
    uint64_t nblocks = 0;
    manifest m;
    bool exists;
    vt_err err;
    vt_err_clear(&err);
    char path[ENGINE_PATH_MAX];
    snprintf(path, sizeof path, "%s/MANIFEST", dir);
    if (load_manifest(dir, &m, &exists, &err) != VT_OK) {
        if (report)
            report(ctx, path, 0, err.msg);
        problems++;
        memset(&m, 0, sizeof m);
    } else if (exists) {
        nfiles++;
    }
    size_t nseg = 0;
    for (size_t i = 0; i < m.ndbs; i++)
        nseg += m.dbs[i].nsegments;
    verify_file *vf = nseg ? calloc(nseg, sizeof *vf) : NULL;
    if (nseg && !vf) {
        if (report)
            report(ctx, path, 0, "out of memory listing the segment files");
        problems++;
        nseg = 0;
    }
    size_t k = 0;
    for (size_t i = 0; i < m.ndbs && vf; i++)
        for (size_t s = 0; s < m.dbs[i].nsegments; s++, k++) {
            manifest_segment_path(vf[k].path, sizeof vf[k].path, dir, m.dbs[i].id,
                                  m.dbs[i].segments[s]);
            vf[k].want_id = m.dbs[i].segments[s];
        }
    verify_job job = {.files = vf, .decode = decode};
    parallel_for(nseg, verify_run, &job);
    nfiles += (unsigned)nseg;
    problems += verify_report_files(vf, nseg, report, ctx, &nblocks);
    free(vf);
    char segdir[ENGINE_PATH_MAX];
    snprintf(segdir, sizeof segdir, "%s/seg", dir);
    DIR *dd = opendir(segdir);
    if (dd) {
        struct dirent *de;
        while ((de = readdir(dd)) != NULL) {
            bool tmp = ends_with(de->d_name, ".tmp");
            if ((ends_with(de->d_name, ".vseg") && !manifest_lists(&m, de->d_name)) || tmp) {
                snprintf(path, sizeof path, "%s/%s", segdir, de->d_name);
                if (report)
                    report(ctx, path, 0,
                           tmp ? "warning: temp file of an interrupted write (removed on open)"
                               : "warning: segment file not in the manifest (leftover of an "
                                 "interrupted flush or compaction; removed on open)");
            }
        }
        closedir(dd);
    }
    manifest_free(&m);
    if (files)
        *files = nfiles;
    if (blocks)
        *blocks = nblocks;
    return problems;
}

unsigned engine_verify(const char *dir, engine_verify_report report, void *ctx, unsigned *files,
                       uint64_t *blocks)
{
    return verify_dir(dir, true, report, ctx, files, blocks);
}

unsigned engine_verify_checksums(const char *dir, engine_verify_report report, void *ctx,
                                 unsigned *files, uint64_t *blocks)
{
    return verify_dir(dir, false, report, ctx, files, blocks);
}

/* engine_verify_loaded_checksums' per-file work: the engine's own readers, one per worker. */
typedef struct loaded_check {
    seg_reader **segs;
    verify_file *files;
} loaded_check;

static void loaded_check_run(void *ctx, size_t i)
{
    loaded_check *c = ctx;
    seg_verify_checksums(c->segs[i], verify_collect, &c->files[i], &c->files[i].blocks);
}

unsigned engine_verify_loaded_checksums(engine *e, engine_verify_report report, void *ctx,
                                        unsigned *files, uint64_t *blocks)
{
    unsigned problems = 0, nfiles = 0;
    uint64_t nblocks = 0;
    pthread_rwlock_rdlock(&e->lock);
    size_t n = 0;
    for (size_t i = 0; i < e->ndbs; i++)
        n += e->dbs[i]->nsegs;
    loaded_check c = {.segs = malloc((n ? n : 1) * sizeof *c.segs),
                      .files = calloc(n ? n : 1, sizeof *c.files)};
    if (c.segs && c.files) {
        for (size_t i = 0, k = 0; i < e->ndbs; i++)
            for (size_t j = 0; j < e->dbs[i]->nsegs; j++, k++) {
                c.segs[k] = e->dbs[i]->segs[j];
                snprintf(c.files[k].path, sizeof c.files[k].path, "%s", c.segs[k]->name);
            }
        parallel_for(n, loaded_check_run, &c);
        problems += verify_report_files(c.files, n, report, ctx, &nblocks);
        nfiles = (unsigned)n;
    } else {
        /* out of memory for the per-file lists: check one file after the other */
        for (size_t i = 0; i < e->ndbs; i++)
            for (size_t k = 0; k < e->dbs[i]->nsegs; k++) {
                problems += seg_verify_checksums(e->dbs[i]->segs[k], report, ctx, &nblocks);
                nfiles++;
            }
    }
    free(c.segs);
    free(c.files);
    pthread_rwlock_unlock(&e->lock);
    if (files)
        *files = nfiles;
    if (blocks)
        *blocks = nblocks;
    return problems;
}
