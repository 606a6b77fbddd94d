/*
 * core/node.c — the write path and the journal replay (see node.h for the picture).
 *
 * NOTES ON THE DESIGN
 *
 * 1. A write is parsed once into a batch (points copied out of the parser's scratch storage into
 *    the batch's own arrays, reused from request to request: no allocation in the steady state).
 *    Those arrays (~150 bytes a point with its key and field: ~0.7 MB for a 5,000-line body,
 *    next to the body itself) do not stay in a core's cache from one request to the next. A
 *    software prefetch of the entries 24 ahead was tried (session 13) and removed (session 15):
 *    measured again in 72 alternating pairs of bench/ingest/pairs.sh, both orders, it cost
 *    1.3 % points/s and 1.3 % server CPU instead of saving them.
 * 2. The batch is type-checked against the engine. Lines that fail to parse or to type-check are
 *    dropped; only accepted lines are journaled (verbatim when every line was accepted, else the
 *    accepted lines copied one by one), so replay never meets a bad line.
 * 3. Seq order without one long critical section: journal_write (under the journal's own mutex)
 *    assigns the seq and writes the record; then the writer waits for its turn under apply_lock
 *    (every record before its seq applied: apply_turn_wait, on a condition of its own, which
 *    the end of the previous turn signals) and applies. So the engine sees
 *    records in seq order, live and on replay, and last-write-wins resolves the same way both
 *    times; yet one writer's journal write (the kernel copying the body into the page cache)
 *    overlaps another's engine apply. Everything that does not need the order is done before:
 *    parsing, type check, the journal payload, and the series key + hash of every point
 *    (built by batch_parse, from the series-key cache of note 7 when it can), so that in its turn
 *    the engine only looks series up and appends. A record whose apply fails still ends its turn
 *    (apply_turn_done), so no writer waits for ever. The fsync (journal_sync_to) happens last and
 *    is shared by every writer that wrote before it started (group commit).
 * 4. The client is answered only after journal_sync_to returns: an acknowledged point is on disk.
 *    If the engine rejects a point at apply time that passed the check (two writers raced to
 *    create a field with different types), the record still holds it and replay rejects it the
 *    same way; the writer is told it was dropped.
 * 5. Journal trim: a maintenance thread deletes journal segments whose records all sit at or
 *    below the engine checkpoint (they are in segment files). The active segment is never deleted.
 * 6. Open: lock the directory (flock on <data>/LOCK: one process per data directory), open the
 *    engine (checkpoint C), open the journal (its torn tail is truncated), replay records C+1..last.
 * 7. Series-key cache: each pooled batch keeps a map from a line's raw series part (its bytes up
 *    to the first unescaped space, lp_parser_next_cached) to the parsed measurement, sorted
 *    unescaped tags, canonical series key and key hash, all in cache-owned memory. On a hit the
 *    parser skips the tags and batch_parse skips copying them, building the key and hashing it;
 *    points of a hit reference the entry. What is cached is a pure function of the raw bytes
 *    (no series id, no database), so there is nothing to invalidate when a database is dropped
 *    or a series created, and the series lookup itself still happens under the apply lock. A
 *    batch is used by one request at a time, so the cache needs no lock. Bounded: no insertion
 *    past SKC_MAX_ENTRIES / SKC_MAX_BYTES; a full cache is emptied at the start of the next
 *    parse (never during one: points of the current batch point into it).
 *    Two things ride on an entry besides: the engine's series hint (engine.c note 13), and
 *    `succ`, the entry of the line that followed this one last time. Writers send their series
 *    in the same order interval after interval (every plant for an hour, then the next hour),
 *    so skc_lookup first compares the line with the previous line's successor, byte for byte,
 *    and only hashes and probes the map when that guess is wrong. The parser asks for the
 *    same guess before it scans a line for the end of its series part (skc_guess,
 *    lp_series_guess): when the line starts with the successor's bytes and a space follows,
 *    that is the end, found without the scan, and the lookup then skips its comparison.
 *    Entries are freed all at once (skc_reset), so a succ pointer never dangles.
 * 8. Deletes (node_delete, node_drop_measurement) take the same path as writes: the record
 *    (record.h: series named by canonical key, or the measurement by name) is journaled, applied
 *    in its seq turn, then synced. The ids a DELETE names are turned into keys before the record
 *    is written; a series that disappears meanwhile is simply not found at apply time, live and
 *    on replay alike. A huge DROP SERIES is split into records of at most 16 MiB.
 * 9. Retention policies. Each database has a catalog (record.h: policies in creation order and
 *    the default's name), kept as the engine metadata of store "<db>" and cached in `cats`
 *    (cat_lock). Each policy's data is its own engine store (engine.h). A catalog change takes
 *    meta_mu (one change at a time, validated against the current catalog), is journaled as the
 *    whole new catalog (RECORD_TYPE_DB_META) and applied in its seq turn by apply_db_meta: the
 *    stores of dropped policies are dropped (autogen's, "<db>" itself, truncated), new ones
 *    created, the catalog published. Replay applies the same records in order onto the state
 *    of the MANIFEST, which may already include some of them: a state record re-applied is a
 *    no-op, and a store it drops held only data older than the record (the engine checkpoint
 *    is below it), which the live apply dropped too.
 * 10. Writes name the policy they were resolved to in their record, so a replay lands in the
 *    same store whatever the default is by then; a record whose store is gone is skipped.
 *    Points beyond the policy's duration are dropped before journaling, as InfluxDB's shard
 *    mapping does (a point before now - duration survives only when a point of the same write
 *    inside the policy opened its shard group).
 * 11. Enforcement: the maintenance thread computes per store the start of the oldest shard
 *    group still alive (node_enforce_retention) and, when it moved past what was last dropped,
 *    journals RECORD_TYPE_RETENTION and applies engine_drop_before in its seq turn.
 */
#include "core/node.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/durable.h"
#include "common/thread.h"
#include "core/record.h"
#include "engine/series_index.h"

/* database names; node_delete / node_drop_measurement also take store names (engine.h) */
#define NODE_NAME_MAX ENGINE_STORE_NAME_MAX

/* Series-key cache bounds, per pooled batch (note 7). */
#define SKC_MAX_ENTRIES 16384
#define SKC_MAX_BYTES ((size_t)4 << 20)

/* One cached series part: the raw bytes as written -> the parsed series and its canonical key.
 * One allocation: this struct, the tags, then raw bytes, measurement, tag strings and key. */
typedef struct skc_entry {
    struct skc_entry *next; /* all entries, for freeing */
    const char *raw;
    size_t raw_len;
    vt_str measurement;
    vt_tag *tags;
    size_t ntags;
    const uint8_t *key; /* canonical series key (series_key_build) */
    size_t key_len;
    uint64_t key_hash; /* sidx_hash of key */
    engine_series_hint hint; /* the engine's, for engine_apply_keyed (engine.c note 13) */
    struct skc_entry *succ;  /* the entry of the line that followed this one last time */
} skc_entry;

typedef struct series_cache {
    sidx_map map; /* sidx_hash(raw) -> skc_entry */
    skc_entry *all;
    size_t n, bytes;
    skc_entry *last; /* the entry of the last successful skc_lookup */
    skc_entry *prev; /* the entry of the previous line (NULL: none, or not cached) */
    const char *guessed_line; /* the line skc_guess matched to guessed, or NULL */
    skc_entry *guessed;
} series_cache;

/* A parsed write: points with their own storage, and where each came from in the body. */
typedef struct node_batch {
    lp_parser *parser;
    vt_point *points;
    size_t npoints, cap_points;
    vt_tag *tags;
    size_t ntags, cap_tags;
    vt_field *fields;
    size_t nfields, cap_fields;
    vt_buf strings;        /* copies of unescaped strings that don't live in the body */
    bool *rejected;
    engine_key *keys; /* per point: its series key, in keybuf or the cache (built outside the
                       * apply lock) */
    const skc_entry **entry; /* per point: its series-cache entry, or NULL (note 7) */
    vt_buf keybuf;
    series_cache cache;
    vt_buf record; /* journal payload under construction */
    record_points_scratch rscratch; /* of record_points_encode */
    engine_type_cache *types;       /* of engine_check_types (engine.c note 16); may be NULL */
    struct node_batch *next_free;
} node_batch;

/* The cached catalog of one database (note 9). */
typedef struct node_dbcat {
    char *db;
    record_rpcat cat;
} node_dbcat;

typedef struct node_enf {
    char store[ENGINE_STORE_NAME_MAX + 1];
    int64_t cutoff;
} node_enf;

struct node {
    char datadir[PATH_MAX];
    int lock_fd;
    node_options opts;
    journal *jr;
    engine *eng;
    pthread_mutex_t apply_lock; /* turns of engine applies in seq order (note 3) */
    struct turn_waiter *turn_waiters; /* writers waiting for their turn (under apply_lock) */
    uint64_t applied_upto; /* every record <= this seq has been applied (or failed to) */
    pthread_mutex_t pool_lock;
    node_batch *free_batches;
    pthread_t maint_thread;
    bool maint_running;
    bool maint_stop;
    pthread_mutex_t maint_lock;
    pthread_cond_t maint_cond;
    uint64_t trimmed_to; /* journal trimmed below this seq */
    pthread_mutex_t hold_mu; /* guards holds */
    struct {
        bool used;
        char name[64];
        uint64_t keep_from;
    } holds[NODE_MAX_HOLDS]; /* appliers of backup backends (node_journal_hold_add) */
    int startup_hold;        /* node_options.journal_startup_hold's, or -1 */
    /* retention policies (note 9) */
    pthread_mutex_t meta_mu;  /* one catalog change at a time; held by enforcement passes */
    pthread_rwlock_t cat_lock; /* guards cats */
    node_dbcat *cats;
    size_t ncats, capcats;
    node_enf *enf; /* per store: the cutoff last dropped below (under meta_mu) */
    size_t nenf, capenf;
};

void node_options_default(node_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->journal.fsync = JOURNAL_FSYNC_ALWAYS;
    opts->journal.interval_ms = 100;
    opts->journal.segment_bytes = 64u << 20;
    opts->engine.memtable_bytes = 24u << 20; /* InfluxDB: cache-snapshot-memory-size 25 MB */
    opts->engine.compact_trigger = 8;
    opts->engine.block_points = 1024;
    opts->engine.background_nice = 10; /* common/thread.h */
    opts->engine.compact_cold_ms = 60000;
    opts->engine.background = true;
    opts->limits.max_body_bytes = 32u << 20;
    opts->journal_trim = true;
    opts->retention = true;
}

/* ---- series-key cache (note 7) ---- */

static void skc_reset(series_cache *c)
{
    while (c->all) {
        skc_entry *e = c->all;
        c->all = e->next;
        free(e);
    }
    sidx_map_free(&c->map);
    memset(c, 0, sizeof *c);
}

/* The parser's guess (lp_series_guess): whether the line starts with the series part of the
 * previous line's successor (note 7). A match is remembered, so the lookup that follows for
 * the same bytes need not compare them again. */
static size_t skc_guess(void *ctx, const char *line, size_t avail)
{
    series_cache *c = ctx;
    skc_entry *e = c->prev ? c->prev->succ : NULL;
    c->guessed_line = NULL;
    if (!e || e->raw_len >= avail || memcmp(e->raw, line, e->raw_len) != 0)
        return 0;
    c->guessed_line = line;
    c->guessed = e;
    return e->raw_len;
}

static bool skc_lookup(void *ctx, const char *raw, size_t len, vt_point *series)
{
    series_cache *c = ctx;
    if (c->n == 0)
        return false;
    skc_entry *e = c->prev ? c->prev->succ : NULL; /* the guess of note 7 */
    if (c->guessed_line == raw && e == c->guessed && e->raw_len == len) {
        /* skc_guess compared these very bytes */
    } else if (!e || e->raw_len != len || memcmp(e->raw, raw, len) != 0) {
        e = sidx_map_get(&c->map, sidx_hash(raw, len), raw, len);
        if (!e) {
            c->last = NULL;
            return false;
        }
        if (c->prev)
            c->prev->succ = e;
    }
    c->last = c->prev = e;
    series->measurement = e->measurement;
    series->tags = e->tags;
    series->ntags = e->ntags;
    return true;
}

/* Remembers raw -> pt's series with its canonical key key[0..klen) and hash. Returns the entry,
 * or NULL when the cache is full or out of memory (the caller then keeps its own copies). */
static skc_entry *skc_insert(series_cache *c, const char *raw, size_t raw_len,
                                   const vt_point *pt, const uint8_t *key, size_t klen,
                                   uint64_t khash)
{
    if (c->n >= SKC_MAX_ENTRIES || c->bytes >= SKC_MAX_BYTES)
        return NULL;
    size_t size = sizeof(skc_entry) + pt->ntags * sizeof(vt_tag) + raw_len +
                  pt->measurement.len + klen;
    for (size_t i = 0; i < pt->ntags; i++)
        size += pt->tags[i].key.len + pt->tags[i].value.len;
    if (size > SKC_MAX_BYTES)
        return NULL;
    skc_entry *e = malloc(size);
    if (!e)
        return NULL;
    e->tags = (vt_tag *)(void *)(e + 1);
    char *d = (char *)(e->tags + pt->ntags);
    memcpy(d, raw, raw_len);
    e->raw = d;
    e->raw_len = raw_len;
    d += raw_len;
    memcpy(d, pt->measurement.ptr, pt->measurement.len);
    e->measurement = (vt_str){d, pt->measurement.len};
    d += pt->measurement.len;
    for (size_t i = 0; i < pt->ntags; i++) {
        vt_str k = pt->tags[i].key, v = pt->tags[i].value;
        memcpy(d, k.ptr, k.len);
        e->tags[i].key = (vt_str){d, k.len};
        d += k.len;
        memcpy(d, v.ptr, v.len);
        e->tags[i].value = (vt_str){d, v.len};
        d += v.len;
    }
    e->ntags = pt->ntags;
    memcpy(d, key, klen);
    e->key = (const uint8_t *)d;
    e->key_len = klen;
    e->key_hash = khash;
    memset(&e->hint, 0, sizeof e->hint); /* none yet */
    e->succ = NULL;
    if (!sidx_map_put(&c->map, sidx_hash(raw, raw_len), e->raw, raw_len, e)) {
        free(e);
        return NULL;
    }
    e->next = c->all;
    c->all = e;
    c->n++;
    c->bytes += size;
    return e;
}

/* ---- batches ---- */

static void batch_free(node_batch *b)
{
    if (!b)
        return;
    skc_reset(&b->cache);
    free(b->entry);
    lp_parser_free(b->parser);
    free(b->points);
    free(b->tags);
    free(b->fields);
    free(b->rejected);
    free(b->keys);
    vt_buf_free(&b->keybuf);
    vt_buf_free(&b->strings);
    vt_buf_free(&b->record);
    record_points_scratch_free(&b->rscratch);
    engine_type_cache_free(b->types);
    free(b);
}

static node_batch *batch_get(node *n)
{
    pthread_mutex_lock(&n->pool_lock);
    node_batch *b = n->free_batches;
    if (b)
        n->free_batches = b->next_free;
    pthread_mutex_unlock(&n->pool_lock);
    if (b)
        return b;
    b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    vt_buf_init(&b->strings);
    vt_buf_init(&b->keybuf);
    vt_buf_init(&b->record);
    b->types = engine_type_cache_new(); /* NULL (out of memory): checks take the lock */
    return b;
}

static void batch_put(node *n, node_batch *b)
{
    /* don't keep a huge batch's memory around for ever */
    if (b->cap_points > (1u << 20) || b->strings.cap > (64u << 20) || b->record.cap > (64u << 20) ||
        b->keybuf.cap > (64u << 20)) {
        batch_free(b);
        return;
    }
    pthread_mutex_lock(&n->pool_lock);
    b->next_free = n->free_batches;
    n->free_batches = b;
    pthread_mutex_unlock(&n->pool_lock);
}

static bool grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    if (c > SIZE_MAX / elem)
        return false;
    void *p = realloc(*arr, c * elem);
    if (!p)
        return false;
    *arr = p;
    *cap = c;
    return true;
}

/* Grows the per-point arrays together (they share cap_points). */
static bool grow_points(node_batch *b)
{
    size_t cap = b->cap_points ? b->cap_points * 2 : 1024;
    vt_point *pts = realloc(b->points, cap * sizeof *pts);
    if (!pts)
        return false;
    b->points = pts;
    bool *rj = realloc(b->rejected, cap * sizeof *rj);
    if (!rj)
        return false;
    b->rejected = rj;
    engine_key *ek = realloc(b->keys, cap * sizeof *ek);
    if (!ek)
        return false;
    b->keys = ek;
    const skc_entry **en = realloc(b->entry, cap * sizeof *en);
    if (!en)
        return false;
    b->entry = en;
    b->cap_points = cap;
    return true;
}

/* Strings of a point either live in the body or in the parser's scratch storage. The latter are
 * copied into b->strings; since that buffer may move while growing, they are stored as offsets
 * tagged by a NULL base and resolved once the batch is complete (batch_resolve). */
typedef struct {
    const char *body;
    size_t body_len;
} body_range;

static bool in_body(body_range br, vt_str s)
{
    return s.len == 0 || (s.ptr >= br.body && s.ptr + s.len <= br.body + br.body_len);
}

static vt_str keep_str(node_batch *b, body_range br, vt_str s)
{
    if (in_body(br, s))
        return s;
    size_t off = b->strings.len;
    vt_buf_append(&b->strings, s.ptr, s.len);
    vt_str r = {(const char *)(uintptr_t)(off + 1), s.len}; /* offset + 1; resolved later */
    return r;
}

static void resolve(node_batch *b, body_range br, vt_str *s)
{
    if (!in_body(br, *s))
        s->ptr = (const char *)b->strings.data + ((uintptr_t)s->ptr - 1);
}

static void batch_resolve(node_batch *b, body_range br)
{
    for (size_t i = 0; i < b->ntags; i++) {
        resolve(b, br, &b->tags[i].key);
        resolve(b, br, &b->tags[i].value);
    }
    for (size_t i = 0; i < b->nfields; i++) {
        resolve(b, br, &b->fields[i].key);
        if (b->fields[i].value.type == VT_TYPE_STRING)
            resolve(b, br, &b->fields[i].value.v.s);
    }
    for (size_t i = 0; i < b->npoints; i++) {
        const skc_entry *e = b->entry[i];
        if (e) {
            b->points[i].measurement = e->measurement;
            b->points[i].tags = e->tags;
        } else {
            resolve(b, br, &b->points[i].measurement);
            /* tags were stored as indexes into the batch arrays */
            b->points[i].tags = b->tags + (uintptr_t)b->points[i].tags;
        }
        b->points[i].fields = b->fields + (uintptr_t)b->points[i].fields;
    }
}

typedef struct parse_outcome {
    size_t lines_rejected;
    size_t first_line;
    char first_error[512];
} parse_outcome;

/* Parses body into b, with the series key + hash of every point in b->keys/b->keybuf. Returns
 * VT_ENOMEM or VT_ELIMIT for the whole body; line errors are counted in out. */
static vt_rc batch_parse(node *n, node_batch *b, lp_precision precision, int64_t default_time,
                         const char *body, size_t len, parse_outcome *out, vt_err *err)
{
    lp_options o;
    memset(&o, 0, sizeof o);
    o.precision = precision;
    o.default_time = default_time;
    o.limits = n->opts.limits;
    /* one parser per batch, reused from write to write with this write's options */
    if (b->parser)
        lp_parser_set_options(b->parser, &o);
    else if (!(b->parser = lp_parser_new(&o)))
        return vt_err_set(err, VT_ENOMEM, "out of memory creating the parser");
    lp_parser_set_guess(b->parser, skc_guess);
    b->cache.guessed_line = NULL;

    b->npoints = b->ntags = b->nfields = 0;
    vt_buf_reset(&b->strings);
    vt_buf_reset(&b->keybuf);
    /* entries stay put while a batch references them: the cache is only emptied here */
    if (b->cache.n >= SKC_MAX_ENTRIES || b->cache.bytes >= SKC_MAX_BYTES)
        skc_reset(&b->cache);
    memset(out, 0, sizeof *out);
    if (lp_parser_reset(b->parser, body, len) != VT_OK)
        return vt_err_set(err, VT_ELIMIT, "request body of %zu bytes exceeds the limit", len);

    body_range br = {body, len};
    vt_point pt;
    lp_error le;
    lp_series_span span;
    int r;
    while ((r = lp_parser_next_cached(b->parser, &pt, &le, skc_lookup, &b->cache, &span)) !=
           LP_END) {
        if (r == LP_ERROR) {
            if (out->lines_rejected++ == 0) {
                int shown = le.line_len > 200 ? 200 : (int)le.line_len;
                snprintf(out->first_error, sizeof out->first_error,
                         "unable to parse '%.*s': %s (line %zu, column %zu)", shown,
                         le.line_start ? le.line_start : "", le.msg, le.line, le.column);
                out->first_line = le.line;
            }
            continue;
        }
        if (b->npoints == b->cap_points && !grow_points(b))
            goto oom;
        if (!grow((void **)&b->fields, &b->cap_fields, b->nfields + pt.nfields, sizeof *b->fields))
            goto oom;
        /* the series: from the cache (hit), or parsed, keyed and then cached (miss) */
        skc_entry *ent = NULL;
        engine_key *k = &b->keys[b->npoints];
        k->off = b->keybuf.len;
        k->ptr = NULL;
        if (span.hit) {
            ent = b->cache.last; /* what skc_lookup found for this line */
            k->ptr = ent->key; /* the cache's copy: entries outlive the write (note 7) */
            k->len = ent->key_len;
            k->hash = ent->key_hash;
        } else {
            series_key_build(&b->keybuf, pt.measurement, pt.tags, pt.ntags);
            if (b->keybuf.oom)
                goto oom;
            k->len = b->keybuf.len - k->off;
            k->hash = sidx_hash(b->keybuf.data + k->off, k->len);
            if (span.len)
                ent = skc_insert(&b->cache, span.raw, span.len, &pt, b->keybuf.data + k->off,
                                 k->len, k->hash);
            if (b->cache.prev && ent)
                b->cache.prev->succ = ent; /* note 7: the guess for next time */
            b->cache.prev = ent;
        }
        if (b->keybuf.oom)
            goto oom;
        k->hint = ent ? &ent->hint : NULL; /* entries outlive the write (note 7) */
        b->entry[b->npoints] = ent;
        vt_point *dst = &b->points[b->npoints];
        if (!ent) {
            if (!grow((void **)&b->tags, &b->cap_tags, b->ntags + pt.ntags, sizeof *b->tags))
                goto oom;
            dst->measurement = keep_str(b, br, pt.measurement);
            dst->tags = (const vt_tag *)(uintptr_t)b->ntags;
            for (size_t i = 0; i < pt.ntags; i++) {
                b->tags[b->ntags].key = keep_str(b, br, pt.tags[i].key);
                b->tags[b->ntags].value = keep_str(b, br, pt.tags[i].value);
                b->ntags++;
            }
        }
        dst->ntags = pt.ntags;
        dst->fields = (const vt_field *)(uintptr_t)b->nfields;
        dst->nfields = pt.nfields;
        dst->time = pt.time;
        for (size_t i = 0; i < pt.nfields; i++) {
            vt_field *f = &b->fields[b->nfields++];
            *f = pt.fields[i];
            f->key = keep_str(b, br, pt.fields[i].key);
            if (f->value.type == VT_TYPE_STRING)
                f->value.v.s = keep_str(b, br, pt.fields[i].value.v.s);
        }
        b->rejected[b->npoints] = false;
        b->npoints++;
    }
    if (b->strings.oom)
        goto oom;
    batch_resolve(b, br);
    return VT_OK;
oom:
    return vt_err_set(err, VT_ENOMEM, "out of memory parsing a %zu-byte body", len);
}

/* ---- retention policy catalogs (note 9) ---- */

#define NS_PER_HOUR ((int64_t)3600 * 1000000000)

static int64_t node_now(node *n)
{
    if (n->opts.clock)
        return n->opts.clock(n->opts.clock_ctx);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* InfluxDB's meta.ValidName: non-empty, printable, not "." or "..", no '/'. Deviation: InfluxDB
 * also refuses '\\'; volta accepts it (existing databases and tests use such names). */
static bool valid_name(const char *name)
{
    if (!name[0] || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
        strlen(name) > RECORD_NAME_MAX)
        return false;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '/')
            return false;
    return true;
}

/* The engine store of policy rp of db (engine.h). */
static void store_name(const char *db, const char *rp, char *out, size_t cap)
{
    if (strcmp(rp, "autogen") == 0)
        snprintf(out, cap, "%s", db);
    else
        snprintf(out, cap, "%s%c%s", db, ENGINE_STORE_SEP, rp);
}

/* cat_lock held: the cached catalog of db, or NULL. */
static node_dbcat *cat_find(node *n, const char *db)
{
    for (size_t i = 0; i < n->ncats; i++)
        if (strcmp(n->cats[i].db, db) == 0)
            return &n->cats[i];
    return NULL;
}

/* Caches a copy of c as db's catalog. */
static vt_rc cat_set(node *n, const char *db, const record_rpcat *c, vt_err *err)
{
    record_rpcat copy;
    if (!record_rpcat_copy(&copy, c))
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    vt_rc rc = VT_OK;
    pthread_rwlock_wrlock(&n->cat_lock);
    node_dbcat *dc = cat_find(n, db);
    if (dc) {
        record_rpcat_free(&dc->cat);
        dc->cat = copy;
    } else if (n->ncats == n->capcats &&
               !grow((void **)&n->cats, &n->capcats, n->ncats + 1, sizeof *n->cats)) {
        record_rpcat_free(&copy);
        rc = vt_err_set(err, VT_ENOMEM, "out of memory");
    } else if (!(n->cats[n->ncats].db = strdup(db))) {
        record_rpcat_free(&copy);
        rc = vt_err_set(err, VT_ENOMEM, "out of memory");
    } else {
        n->cats[n->ncats++].cat = copy;
    }
    pthread_rwlock_unlock(&n->cat_lock);
    return rc;
}

static void cat_remove(node *n, const char *db)
{
    pthread_rwlock_wrlock(&n->cat_lock);
    node_dbcat *dc = cat_find(n, db);
    if (dc) {
        free(dc->db);
        record_rpcat_free(&dc->cat);
        *dc = n->cats[--n->ncats];
    }
    pthread_rwlock_unlock(&n->cat_lock);
}

static void cats_free(node *n)
{
    for (size_t i = 0; i < n->ncats; i++) {
        free(n->cats[i].db);
        record_rpcat_free(&n->cats[i].cat);
    }
    free(n->cats);
    n->cats = NULL;
    n->ncats = n->capcats = 0;
}

/* Copies db's catalog; VT_ENOTFOUND with InfluxDB's message when db does not exist. */
static vt_rc cat_get(node *n, const char *db, record_rpcat *out, vt_err *err)
{
    pthread_rwlock_rdlock(&n->cat_lock);
    node_dbcat *dc = cat_find(n, db);
    bool ok = dc && record_rpcat_copy(out, &dc->cat);
    pthread_rwlock_unlock(&n->cat_lock);
    if (!dc)
        return vt_err_set(err, VT_ENOTFOUND, "database not found: %s", db);
    return ok ? VT_OK : vt_err_set(err, VT_ENOMEM, "out of memory");
}

/* Loads db's catalog from the engine metadata into the cache. */
static vt_rc cat_load(node *n, const char *db, vt_err *err)
{
    vt_buf blob;
    vt_buf_init(&blob);
    record_rpcat c;
    memset(&c, 0, sizeof c);
    vt_rc rc = engine_get_db_meta(n->eng, db, &blob, err);
    if (rc == VT_OK)
        rc = record_rpcat_decode(blob.data, blob.len, &c, err);
    if (rc == VT_OK)
        rc = cat_set(n, db, &c, err);
    if (rc != VT_OK)
        vt_err_prefix(err, "database %s: retention policies", db);
    record_rpcat_free(&c);
    vt_buf_free(&blob);
    return rc;
}

typedef struct name_list {
    char **v;
    size_t n, cap;
    bool oom;
} name_list;

static void name_list_cb(void *ctx, const char *name)
{
    name_list *l = ctx;
    if (l->oom)
        return;
    char *c = strdup(name);
    if (!c || (l->n == l->cap && !grow((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v))) {
        free(c);
        l->oom = true;
        return;
    }
    l->v[l->n++] = c;
}

static void name_list_free(name_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

static vt_rc cats_load_all(node *n, vt_err *err)
{
    name_list l = {0};
    engine_list_dbs(n->eng, name_list_cb, &l);
    vt_rc rc = l.oom ? vt_err_set(err, VT_ENOMEM, "out of memory") : VT_OK;
    for (size_t i = 0; i < l.n && rc == VT_OK; i++)
        rc = cat_load(n, l.v[i], err);
    name_list_free(&l);
    return rc;
}

/* ---- applying catalog records (seq turn, or replay) ---- */

static vt_rc apply_create_db(node *n, uint64_t seq, const char *db, vt_err *err)
{
    if (engine_has_db(n->eng, db))
        return VT_OK; /* create of an existing database: no-op, live and on replay */
    vt_rc rc = engine_create_db(n->eng, db, seq, err);
    return rc == VT_OK ? cat_load(n, db, err) : rc;
}

static vt_rc apply_drop_db(node *n, uint64_t seq, const char *db, vt_err *err)
{
    name_list l = {0};
    engine_list_stores(n->eng, name_list_cb, &l);
    vt_rc rc = l.oom ? vt_err_set(err, VT_ENOMEM, "out of memory") : VT_OK;
    size_t dl = strlen(db);
    /* the sub-stores first: "<db>" goes last, so a crash in between replays the drop */
    for (size_t i = 0; i < l.n && rc == VT_OK; i++)
        if (strncmp(l.v[i], db, dl) == 0 && l.v[i][dl] == ENGINE_STORE_SEP)
            rc = engine_drop_db(n->eng, l.v[i], seq, err);
    if (rc == VT_OK && engine_has_db(n->eng, db))
        rc = engine_drop_db(n->eng, db, seq, err);
    if (rc == VT_OK)
        cat_remove(n, db);
    name_list_free(&l);
    return rc;
}

/* Makes next db's catalog: drops the stores of policies it lacks, creates those of new ones,
 * publishes it (note 9). */
static vt_rc apply_db_meta(node *n, uint64_t seq, const char *db, const record_rpcat *next,
                           vt_err *err)
{
    char store[ENGINE_STORE_NAME_MAX + 1];
    record_rpcat prev;
    memset(&prev, 0, sizeof prev);
    vt_rc rc = VT_OK;
    if (!engine_has_db(n->eng, db)) {
        rc = engine_create_db(n->eng, db, seq, err);
    } else {
        rc = cat_get(n, db, &prev, err);
        if (rc == VT_ENOTFOUND)
            rc = cat_load(n, db, err) == VT_OK ? cat_get(n, db, &prev, err) : VT_ENOTFOUND;
    }
    for (size_t i = 0; i < prev.n && rc == VT_OK; i++) {
        if (record_rpcat_find(next, prev.rps[i].name))
            continue;
        store_name(db, prev.rps[i].name, store, sizeof store);
        if (strcmp(store, db) == 0)
            rc = engine_truncate_db(n->eng, store, seq, err);
        else if (engine_has_db(n->eng, store))
            rc = engine_drop_db(n->eng, store, seq, err);
    }
    for (size_t i = 0; i < next->n && rc == VT_OK; i++) {
        store_name(db, next->rps[i].name, store, sizeof store);
        if (!engine_has_db(n->eng, store))
            rc = engine_create_db(n->eng, store, seq, err);
    }
    if (rc == VT_OK) {
        vt_buf blob;
        vt_buf_init(&blob);
        record_rpcat_encode(&blob, next);
        rc = blob.oom ? vt_err_set(err, VT_ENOMEM, "out of memory")
                      : engine_set_db_meta(n->eng, db, seq, blob.data, blob.len, err);
        vt_buf_free(&blob);
    }
    if (rc == VT_OK)
        rc = cat_set(n, db, next, err);
    record_rpcat_free(&prev);
    return rc;
}

static vt_rc apply_retention(node *n, uint64_t seq, const char *store, int64_t cutoff,
                             vt_err *err)
{
    if (!engine_has_db(n->eng, store))
        return VT_OK; /* its policy was dropped since */
    vt_rc rc = engine_drop_before(n->eng, seq, store, cutoff, err);
    return rc == VT_ENOTFOUND ? VT_OK : rc;
}

/* ---- shard groups ---- */

/* a * b mod m without overflow (m > 0). */
static uint64_t mulmod(uint64_t a, uint64_t b, uint64_t m)
{
    uint64_t r = 0;
    a %= m;
    while (b) {
        if (b & 1)
            r = (r >= m - a) ? r - (m - a) : r + a;
        a = (a >= m - a) ? a - (m - a) : a + a;
        b >>= 1;
    }
    return r;
}

int64_t node_shard_group_start(int64_t t, int64_t sgd)
{
    if (sgd <= 0)
        return t;
    /* Go truncates relative to its zero time, 0001-01-01, 62135596800 s before the epoch */
    uint64_t m = (uint64_t)sgd;
    uint64_t off = mulmod(62135596800u, 1000000000u, m);
    int64_t r = t % sgd;
    if (r < 0)
        r += sgd;
    uint64_t rr = ((uint64_t)r + off) % m;
    if (t < INT64_MIN + (int64_t)rr)
        return INT64_MIN;
    return t - (int64_t)rr;
}

/* Marks as rejected the accepted points of b beyond a policy of duration d (note 10); returns
 * how many. */
static size_t retention_filter(node_batch *b, int64_t now, int64_t d, int64_t sgd)
{
    if (d <= 0 || now < INT64_MIN + d)
        return 0;
    int64_t min = now - d;
    int64_t gs = node_shard_group_start(min, sgd);
    int64_t ge = gs > INT64_MAX - sgd ? INT64_MAX : gs + sgd;
    bool open_group = false;
    for (size_t i = 0; i < b->npoints && !open_group; i++)
        open_group = !b->rejected[i] && b->points[i].time >= min && b->points[i].time < ge;
    size_t dropped = 0;
    for (size_t i = 0; i < b->npoints; i++) {
        int64_t t = b->points[i].time;
        if (!b->rejected[i] && t < min && !(open_group && t >= gs)) {
            b->rejected[i] = true;
            dropped++;
        }
    }
    return dropped;
}

/* Resolves (db, rp) against the cache: the store, and the policy (copied into *out). */
static vt_rc resolve_rp(node *n, const char *db, const char *rp, char *store, size_t cap,
                        record_rp *out, vt_err *err)
{
    vt_rc rc = VT_OK;
    pthread_rwlock_rdlock(&n->cat_lock);
    node_dbcat *dc = cat_find(n, db);
    if (!dc) {
        rc = vt_err_set(err, VT_ENOTFOUND, "database not found: %s", db);
    } else {
        const char *name = rp && rp[0] ? rp : dc->cat.default_rp;
        const record_rp *p = record_rpcat_find(&dc->cat, name);
        if (!p) {
            rc = vt_err_set(err, VT_ENOTFOUND, "retention policy not found: %s", name);
        } else {
            if (out)
                *out = *p;
            store_name(db, p->name, store, cap);
        }
    }
    pthread_rwlock_unlock(&n->cat_lock);
    return rc;
}

/* ---- open / replay / close ---- */

static vt_rc lock_datadir(node *n, vt_err *err)
{
    char path[PATH_MAX + 8];
    snprintf(path, sizeof path, "%s/LOCK", n->datadir);
    n->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (n->lock_fd < 0)
        return vt_err_set(err, VT_EIO, "open %s: %s", path, strerror(errno));
    if (flock(n->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "?";
        ssize_t r = pread(n->lock_fd, pid, sizeof pid - 1, 0);
        if (r > 0) {
            pid[r] = '\0';
            pid[strcspn(pid, "\n")] = '\0';
        }
        return vt_err_set(err, VT_EBUSY,
                          "data directory %s is in use by another volta process (pid %s)",
                          n->datadir, pid);
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(n->lock_fd, 0) != 0 || pwrite(n->lock_fd, pid, (size_t)len, 0) != len)
        return vt_err_set(err, VT_EIO, "write %s: %s", path, strerror(errno));
    return VT_OK;
}

/* The points of a version 2 WRITE record into b (points, fields, keys into the record's bytes:
 * apply with base = rec->data). */
static vt_rc batch_from_points(node_batch *b, const journal_record *rec, const record_write *w,
                               vt_err *err)
{
    b->npoints = b->ntags = b->nfields = 0;
    record_points_reader rd;
    vt_rc rc = record_points_open(&rd, w, err);
    if (rc != VT_OK)
        return rc;
    uint64_t *hashes = malloc((rd.nkeys ? rd.nkeys : 1) * sizeof *hashes);
    if (!hashes) {
        record_points_close(&rd);
        return vt_err_set(err, VT_ENOMEM, "replay: out of memory");
    }
    for (size_t k = 0; k < rd.nkeys; k++)
        hashes[k] = sidx_hash(rd.keys[k].p, rd.keys[k].len);
    for (;;) {
        vt_point pt;
        size_t k;
        bool have;
        if ((rc = record_points_next(&rd, &pt, &k, &have, err)) != VT_OK || !have)
            break;
        if ((b->npoints == b->cap_points && !grow_points(b)) ||
            !grow((void **)&b->fields, &b->cap_fields, b->nfields + pt.nfields,
                  sizeof *b->fields)) {
            rc = vt_err_set(err, VT_ENOMEM, "replay: out of memory");
            break;
        }
        memcpy(b->fields + b->nfields, pt.fields, pt.nfields * sizeof *pt.fields);
        pt.fields = (const vt_field *)(uintptr_t)b->nfields; /* an index until the end */
        b->nfields += pt.nfields;
        b->keys[b->npoints] = (engine_key){(size_t)(rd.keys[k].p - rec->data), rd.keys[k].len,
                                           hashes[k], NULL, NULL};
        b->entry[b->npoints] = NULL;
        b->rejected[b->npoints] = false;
        b->points[b->npoints++] = pt;
    }
    for (size_t i = 0; rc == VT_OK && i < b->npoints; i++)
        b->points[i].fields = b->fields + (uintptr_t)b->points[i].fields;
    free(hashes);
    record_points_close(&rd);
    return rc;
}

static vt_rc replay_write(node *n, node_batch *b, const journal_record *rec, node_open_info *info,
                          vt_err *err)
{
    record_write w;
    vt_rc rc = record_write_decode(rec->data, rec->len, &w, err);
    if (rc != VT_OK)
        return rc;
    char db[NODE_NAME_MAX + 1];
    if (w.db_len > NODE_NAME_MAX)
        return vt_err_set(err, VT_ECORRUPT, "journal record %llu: database name too long",
                          (unsigned long long)rec->seq);
    memcpy(db, w.db, w.db_len);
    db[w.db_len] = '\0';
    const uint8_t *base = b->keybuf.data;
    if (w.version == 2) {
        rc = batch_from_points(b, rec, &w, err);
        if (rc != VT_OK) {
            vt_err_prefix(err, "journal record %llu", (unsigned long long)rec->seq);
            return rc;
        }
        base = rec->data;
    } else {
        parse_outcome po;
        rc = batch_parse(n, b, w.precision, w.default_time, w.body, w.body_len, &po, err);
        if (rc != VT_OK)
            return rc;
        if (po.lines_rejected)
            return vt_err_set(err, VT_ECORRUPT,
                              "journal record %llu: line %zu does not parse: %s",
                              (unsigned long long)rec->seq, po.first_line, po.first_error);
        base = b->keybuf.data;
    }
    if (!engine_has_db(n->eng, db))
        return VT_OK; /* dropped later in the journal, and the drop is already in the engine */
    /* the store of the record's policy (note 10; "" in records older than policies) */
    char rp[RECORD_NAME_MAX + 1], store[ENGINE_STORE_NAME_MAX + 1];
    if (w.rp_len > RECORD_NAME_MAX)
        return vt_err_set(err, VT_ECORRUPT, "journal record %llu: policy name too long",
                          (unsigned long long)rec->seq);
    memcpy(rp, w.rp, w.rp_len);
    rp[w.rp_len] = '\0';
    vt_err rerr;
    vt_err_clear(&rerr);
    if (resolve_rp(n, db, rp, store, sizeof store, NULL, &rerr) != VT_OK) {
        if (!rp[0])
            return VT_OK; /* no default policy any more: nothing to write to */
        store_name(db, rp, store, sizeof store);
    }
    if (!engine_has_db(n->eng, store))
        return VT_OK; /* its policy was dropped later in the journal */
    size_t skipped = 0;
    rc = engine_apply_keyed(n->eng, rec->seq, store, b->points, base, b->keys, b->npoints,
                            &skipped, err);
    if (rc == VT_OK && info)
        info->replayed_points += b->npoints - skipped;
    return rc;
}

static vt_rc replay_delete(node *n, const journal_record *rec, vt_err *err)
{
    record_delete rd;
    vt_rc rc = record_delete_decode(rec->data, rec->len, &rd, err);
    if (rc != VT_OK)
        return rc;
    char db[NODE_NAME_MAX + 1];
    engine_key *keys = NULL;
    if (rd.db_len > NODE_NAME_MAX) {
        rc = vt_err_set(err, VT_ECORRUPT, "journal record %llu: database name too long",
                        (unsigned long long)rec->seq);
        goto done;
    }
    memcpy(db, rd.db, rd.db_len);
    db[rd.db_len] = '\0';
    if (!engine_has_db(n->eng, db))
        goto done; /* dropped later in the journal */
    keys = malloc((rd.nkeys ? rd.nkeys : 1) * sizeof *keys);
    if (!keys) {
        rc = vt_err_set(err, VT_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < rd.nkeys; i++)
        keys[i] = (engine_key){(size_t)(rd.keys[i].p - rec->data), rd.keys[i].len,
                               sidx_hash(rd.keys[i].p, rd.keys[i].len), NULL, NULL};
    rc = engine_delete_keyed(n->eng, rec->seq, db, rec->data, keys, rd.nkeys, rd.tmin, rd.tmax,
                             err);
done:
    free(keys);
    free(rd.keys);
    return rc;
}

static vt_rc replay_drop_measurement(node *n, const journal_record *rec, vt_err *err)
{
    char db[NODE_NAME_MAX + 1];
    char *meas = malloc(UINT16_MAX + 1);
    if (!meas)
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    vt_rc rc = record_drop_measurement_decode(rec->data, rec->len, db, sizeof db, meas,
                                              UINT16_MAX + 1, err);
    if (rc == VT_OK && engine_has_db(n->eng, db))
        rc = engine_drop_measurement(n->eng, rec->seq, db, meas, err);
    free(meas);
    return rc;
}

static void apply_turn_wait(node *n, uint64_t seq);
static void apply_turn_done(node *n, uint64_t seq);

/* Applies one journal record to the engine (replay, and followers: node_apply_records). */
static vt_rc apply_record(node *n, node_batch *b, const journal_record *rec, node_open_info *info,
                          vt_err *err)
{
    char name[NODE_NAME_MAX + 1];
    vt_rc rc;
    switch (rec->type) {
    case JOURNAL_REC_WRITE:
        return replay_write(n, b, rec, info, err);
    case JOURNAL_REC_CREATE_DB:
        rc = record_dbop_decode(rec->data, rec->len, name, sizeof name, err);
        return rc == VT_OK ? apply_create_db(n, rec->seq, name, err) : rc;
    case JOURNAL_REC_DROP_DB:
        rc = record_dbop_decode(rec->data, rec->len, name, sizeof name, err);
        return rc == VT_OK ? apply_drop_db(n, rec->seq, name, err) : rc;
    case RECORD_TYPE_DB_META: {
        record_rpcat c;
        rc = record_db_meta_decode(rec->data, rec->len, name, sizeof name, &c, err);
        if (rc == VT_OK)
            rc = apply_db_meta(n, rec->seq, name, &c, err);
        record_rpcat_free(&c);
        return rc;
    }
    case RECORD_TYPE_RETENTION: {
        char store[ENGINE_STORE_NAME_MAX + 1];
        int64_t cutoff;
        rc = record_retention_decode(rec->data, rec->len, store, sizeof store, &cutoff, err);
        return rc == VT_OK ? apply_retention(n, rec->seq, store, cutoff, err) : rc;
    }
    case RECORD_TYPE_DELETE:
        return replay_delete(n, rec, err);
    case RECORD_TYPE_DROP_MEASUREMENT:
        return replay_drop_measurement(n, rec, err);
    default:
        return vt_err_set(err, VT_ECORRUPT, "journal record %llu: unknown type %u",
                          (unsigned long long)rec->seq, rec->type);
    }
}

static vt_rc replay(node *n, uint64_t from, node_open_info *info, vt_err *err)
{
    char dir[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/journal", n->datadir);
    journal_reader *r = NULL;
    vt_rc rc = journal_reader_open(dir, from, &r, err);
    if (rc != VT_OK)
        return rc;
    node_batch *b = batch_get(n);
    if (!b) {
        journal_reader_close(r);
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    }
    for (;;) {
        journal_record rec;
        bool have = false;
        rc = journal_reader_next(r, &rec, &have, err);
        if (rc != VT_OK || !have)
            break;
        if (rec.seq < from)
            continue;
        rc = apply_record(n, b, &rec, info, err);
        if (rc != VT_OK)
            break;
        if (info)
            info->replayed_records++;
    }
    batch_put(n, b);
    journal_reader_close(r);
    return rc;
}

vt_rc node_apply_records(node *n, const journal_record *recs, size_t count, vt_err *err)
{
    if (count == 0)
        return VT_OK;
    if (node_failed(n))
        return vt_err_set(err, VT_EFATAL, "writes refused: an earlier storage failure needs a "
                                          "restart");
    node_batch *b = batch_get(n);
    if (!b)
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    vt_rc rc = VT_OK;
    uint64_t last = 0;
    pthread_mutex_lock(&n->meta_mu); /* catalog changes among the records (note 9) */
    for (size_t i = 0; i < count && rc == VT_OK; i++) {
        uint64_t seq = 0;
        rc = journal_write(n->jr, recs[i].type, recs[i].data, recs[i].len, &seq, err);
        if (rc != VT_OK)
            break;
        journal_record local = recs[i];
        local.seq = seq;
        pthread_mutex_lock(&n->apply_lock);
        apply_turn_wait(n, seq);
        rc = apply_record(n, b, &local, NULL, err);
        apply_turn_done(n, seq);
        pthread_mutex_unlock(&n->apply_lock);
        if (rc != VT_OK)
            vt_err_prefix(err, "record %llu", (unsigned long long)recs[i].seq);
        last = seq;
    }
    pthread_mutex_unlock(&n->meta_mu);
    if (rc == VT_OK && last)
        rc = journal_sync_to(n->jr, last, err);
    batch_put(n, b);
    return rc;
}

int node_journal_hold_add(node *n, const char *name, uint64_t keep_from)
{
    pthread_mutex_lock(&n->hold_mu);
    int slot = -1;
    for (int i = 0; i < NODE_MAX_HOLDS; i++)
        if (!n->holds[i].used) {
            slot = i;
            break;
        }
    if (slot >= 0) {
        n->holds[slot].used = true;
        n->holds[slot].keep_from = keep_from;
        snprintf(n->holds[slot].name, sizeof n->holds[slot].name, "%s", name);
    }
    pthread_mutex_unlock(&n->hold_mu);
    return slot;
}

void node_journal_hold_set(node *n, int hold, uint64_t keep_from)
{
    if (hold < 0 || hold >= NODE_MAX_HOLDS)
        return;
    pthread_mutex_lock(&n->hold_mu);
    n->holds[hold].keep_from = keep_from;
    pthread_mutex_unlock(&n->hold_mu);
}

void node_journal_hold_remove(node *n, int hold)
{
    if (hold < 0 || hold >= NODE_MAX_HOLDS)
        return;
    pthread_mutex_lock(&n->hold_mu);
    n->holds[hold].used = false;
    pthread_mutex_unlock(&n->hold_mu);
}

void node_journal_release_startup_hold(node *n)
{
    node_journal_hold_remove(n, n->startup_hold);
    n->startup_hold = -1;
}

/* The lowest seq a holder still needs (UINT64_MAX when none). */
static uint64_t holds_min(node *n)
{
    uint64_t v = UINT64_MAX;
    pthread_mutex_lock(&n->hold_mu);
    for (int i = 0; i < NODE_MAX_HOLDS; i++)
        if (n->holds[i].used && n->holds[i].keep_from < v)
            v = n->holds[i].keep_from;
    pthread_mutex_unlock(&n->hold_mu);
    return v;
}

unsigned node_trim_journal(node *n, vt_err *err)
{
    uint64_t ckpt = engine_checkpoint_seq(n->eng);
    if (ckpt == 0)
        return 0;
    uint64_t keep_from = ckpt + 1, held = holds_min(n);
    if (held < keep_from)
        keep_from = held; /* a backup backend's applier still needs these records */
    if (keep_from <= n->trimmed_to)
        return 0;
    uint64_t before = journal_first_seq(n->jr);
    if (journal_truncate_before(n->jr, keep_from, err) != VT_OK)
        return 0;
    n->trimmed_to = keep_from;
    return journal_first_seq(n->jr) != before ? 1 : 0;
}

static void *maintenance_main(void *arg)
{
    node *n = arg;
    vt_thread_name("volta-maint");
    pthread_mutex_lock(&n->maint_lock);
    while (!n->maint_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 500 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&n->maint_cond, &n->maint_lock, &ts);
        if (n->maint_stop)
            break;
        pthread_mutex_unlock(&n->maint_lock);
        vt_err err;
        vt_err_clear(&err);
        if (n->opts.journal_trim)
            node_trim_journal(n, &err);
        if (err.rc != VT_OK)
            fprintf(stderr, "{\"level\":\"error\",\"msg\":\"journal trim: %s\"}\n", err.msg);
        vt_err_clear(&err);
        if (n->opts.retention && !node_failed(n))
            node_enforce_retention(n, node_now(n), &err);
        if (err.rc != VT_OK)
            fprintf(stderr, "{\"level\":\"error\",\"msg\":\"retention: %s\"}\n", err.msg);
        pthread_mutex_lock(&n->maint_lock);
    }
    pthread_mutex_unlock(&n->maint_lock);
    return NULL;
}

vt_rc node_open(const char *datadir, const node_options *opts, node **out, node_open_info *info,
                vt_err *err)
{
    node_open_info scratch;
    if (!info)
        info = &scratch;
    memset(info, 0, sizeof *info);
    node *n = calloc(1, sizeof *n);
    if (!n)
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    n->lock_fd = -1;
    pthread_mutex_init(&n->apply_lock, NULL);
    pthread_mutex_init(&n->pool_lock, NULL);
    pthread_mutex_init(&n->maint_lock, NULL);
    pthread_cond_init(&n->maint_cond, NULL);
    pthread_mutex_init(&n->meta_mu, NULL);
    pthread_mutex_init(&n->hold_mu, NULL);
    pthread_rwlock_init(&n->cat_lock, NULL);
    if (opts)
        n->opts = *opts;
    else
        node_options_default(&n->opts);
    if (strlen(datadir) >= sizeof n->datadir - 32) {
        free(n);
        return vt_err_set(err, VT_EINVAL, "data directory path too long");
    }
    snprintf(n->datadir, sizeof n->datadir, "%s", datadir);
    n->startup_hold = n->opts.journal_startup_hold ? node_journal_hold_add(n, "startup", 0) : -1;

    char path[PATH_MAX + 16];
    vt_rc rc = durable_mkdirs(n->datadir, err);
    if (rc != VT_OK)
        goto fail;
    rc = lock_datadir(n, err);
    if (rc != VT_OK)
        goto fail;

    engine_open_info ei;
    snprintf(path, sizeof path, "%s/engine", n->datadir);
    rc = durable_mkdirs(path, err);
    if (rc == VT_OK)
        rc = engine_open(path, &n->opts.engine, &n->eng, &ei, err);
    if (rc != VT_OK) {
        vt_err_prefix(err, "open engine");
        goto fail;
    }
    info->checkpoint_seq = ei.checkpoint_seq;
    rc = cats_load_all(n, err);
    if (rc != VT_OK)
        goto fail;

    journal_open_info ji;
    snprintf(path, sizeof path, "%s/journal", n->datadir);
    rc = durable_mkdirs(path, err);
    if (rc == VT_OK)
        rc = journal_open(path, &n->opts.journal, &n->jr, &ji, err);
    if (rc != VT_OK) {
        vt_err_prefix(err, "open journal");
        goto fail;
    }
    info->torn_bytes = ji.torn_bytes;
    info->last_seq = ji.last_seq;
    if (ji.last_seq < ei.checkpoint_seq) {
        rc = vt_err_set(err, VT_ECORRUPT,
                        "journal ends at seq %llu but the engine has data up to seq %llu: "
                        "the journal lost acknowledged records",
                        (unsigned long long)ji.last_seq, (unsigned long long)ei.checkpoint_seq);
        goto fail;
    }
    if (ji.last_seq > ei.checkpoint_seq) {
        if (ji.first_seq > ei.checkpoint_seq + 1) {
            rc = vt_err_set(err, VT_ECORRUPT,
                            "journal starts at seq %llu but the engine needs seq %llu onwards",
                            (unsigned long long)ji.first_seq,
                            (unsigned long long)ei.checkpoint_seq + 1);
            goto fail;
        }
        rc = replay(n, ei.checkpoint_seq + 1, info, err);
        if (rc != VT_OK) {
            vt_err_prefix(err, "replay journal");
            goto fail;
        }
    }
    n->applied_upto = journal_last_seq(n->jr); /* the next record written is the next turn */
    if (n->opts.journal_trim || n->opts.retention) {
        if (pthread_create(&n->maint_thread, NULL, maintenance_main, n) != 0) {
            rc = vt_err_set(err, VT_ENOMEM, "cannot start the maintenance thread");
            goto fail;
        }
        n->maint_running = true;
    }
    *out = n;
    return VT_OK;
fail:
    node_close(n, NULL);
    return rc;
}

vt_rc node_close(node *n, vt_err *err)
{
    if (!n)
        return VT_OK;
    vt_rc rc = VT_OK;
    if (n->maint_running) {
        pthread_mutex_lock(&n->maint_lock);
        n->maint_stop = true;
        pthread_cond_signal(&n->maint_cond);
        pthread_mutex_unlock(&n->maint_lock);
        pthread_join(n->maint_thread, NULL);
        n->maint_running = false;
    }
    if (n->eng && n->jr && !node_failed(n)) {
        /* flush first so the journal can be trimmed down to what the next open must replay
         * (nothing): a clean shutdown leaves no journal segment but the active one */
        vt_err ferr;
        vt_err_clear(&ferr);
        if (engine_flush(n->eng, &ferr) == VT_OK && n->opts.journal_trim)
            node_trim_journal(n, &ferr);
    }
    if (n->eng) {
        rc = engine_close(n->eng, err);
        n->eng = NULL;
    }
    if (n->jr)
        journal_close(n->jr);
    while (n->free_batches) {
        node_batch *b = n->free_batches;
        n->free_batches = b->next_free;
        batch_free(b);
    }
    if (n->lock_fd >= 0)
        close(n->lock_fd); /* releases the flock */
    pthread_mutex_destroy(&n->apply_lock);
    pthread_mutex_destroy(&n->pool_lock);
    pthread_mutex_destroy(&n->maint_lock);
    pthread_cond_destroy(&n->maint_cond);
    cats_free(n);
    free(n->enf);
    pthread_mutex_destroy(&n->meta_mu);
    pthread_mutex_destroy(&n->hold_mu);
    pthread_rwlock_destroy(&n->cat_lock);
    free(n);
    return rc;
}

/* ---- writes ---- */

static vt_rc check_name(const char *name, vt_err *err)
{
    size_t len = strlen(name);
    if (len == 0)
        return vt_err_set(err, VT_EINVAL, "database name required");
    if (len > NODE_NAME_MAX)
        return vt_err_set(err, VT_EINVAL, "database name longer than %d bytes", NODE_NAME_MAX);
    return VT_OK;
}

/* A writer waiting for its turn, on a condition of its own: the end of a turn wakes the writer
 * whose turn comes next, not every writer waiting (each of which would wake, take apply_lock
 * and sleep again: two context switches apiece, on a machine whose cores are all busy). */
typedef struct turn_waiter {
    uint64_t seq;
    pthread_cond_t cv;
    struct turn_waiter *next;
} turn_waiter;

/* apply_lock held: waits until every record before seq has been applied (note 3). */
static void apply_turn_wait(node *n, uint64_t seq)
{
    if (n->applied_upto + 1 >= seq)
        return;
    turn_waiter w = {.seq = seq, .next = n->turn_waiters};
    pthread_cond_init(&w.cv, NULL);
    n->turn_waiters = &w;
    while (n->applied_upto + 1 < seq)
        pthread_cond_wait(&w.cv, &n->apply_lock);
    for (turn_waiter **p = &n->turn_waiters; *p; p = &(*p)->next)
        if (*p == &w) {
            *p = w.next;
            break;
        }
    pthread_cond_destroy(&w.cv);
}

/* apply_lock held: record seq is applied (or failed); the next one may go. */
static void apply_turn_done(node *n, uint64_t seq)
{
    if (seq > n->applied_upto)
        n->applied_upto = seq;
    for (turn_waiter *w = n->turn_waiters; w; w = w->next)
        if (w->seq <= n->applied_upto + 1)
            pthread_cond_signal(&w->cv);
}

vt_rc node_write(node *n, const char *db, const char *rp, lp_precision precision,
                 int64_t default_time, const char *body, size_t len, node_write_result *res,
                 vt_err *err)
{
    return node_write_observed(n, db, rp, precision, default_time, body, len, NULL, NULL, res,
                               err);
}

vt_rc node_write_observed(node *n, const char *db, const char *rp, lp_precision precision,
                          int64_t default_time, const char *body, size_t len,
                          node_write_observer observe, void *observe_ctx,
                          node_write_result *res, vt_err *err)
{
    memset(res, 0, sizeof *res);
    if (node_failed(n))
        return vt_err_set(err, VT_EFATAL, "writes refused: an earlier storage failure needs a "
                                          "restart (see the server log)");
    if (n->opts.limits.max_body_bytes && len > n->opts.limits.max_body_bytes)
        return vt_err_set(err, VT_ELIMIT, "request body of %zu bytes exceeds the limit of %zu",
                          len, n->opts.limits.max_body_bytes);
    if (check_name(db, err) != VT_OK)
        return VT_EINVAL;
    char store[ENGINE_STORE_NAME_MAX + 1];
    record_rp pol;
    vt_rc rrc = resolve_rp(n, db, rp, store, sizeof store, &pol, err);
    if (rrc == VT_ENOTFOUND && strncmp(err->msg, "database", 8) == 0)
        return vt_err_set(err, VT_ENOTFOUND, "database not found: \"%s\"", db);
    if (rrc != VT_OK)
        return rrc;

    node_batch *b = batch_get(n);
    if (!b)
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    parse_outcome po;
    vt_rc rc = batch_parse(n, b, precision, default_time, body, len, &po, err);
    if (rc != VT_OK)
        goto done;
    res->lines_rejected = po.lines_rejected;
    if (po.lines_rejected)
        snprintf(res->error, sizeof res->error, "%s", po.first_error);

    size_t nrejected = 0;
    if (b->npoints) {
        vt_err terr;
        vt_err_clear(&terr);
        rc = engine_check_types(n->eng, store, b->points, b->npoints, b->rejected, &nrejected,
                                b->types, &terr);
        if (rc != VT_OK && rc != VT_ETYPE) {
            *err = terr;
            goto done;
        }
        if (nrejected) {
            res->lines_rejected += nrejected;
            if (!po.lines_rejected) {
                snprintf(res->error, sizeof res->error, "%s", terr.msg);
                res->type_conflict = true;
            }
        }
    }
    res->retention_dropped = retention_filter(b, node_now(n), pol.duration, pol.shard_duration);
    size_t accepted = b->npoints - nrejected - res->retention_dropped;

    if (accepted != b->npoints) {
        /* compact the accepted points (and their keys) to the front */
        size_t k = 0;
        for (size_t i = 0; i < b->npoints; i++) {
            if (b->rejected[i])
                continue;
            b->keys[k] = b->keys[i];
            b->points[k++] = b->points[i];
        }
        b->npoints = k;
    }
    /* the journal payload (record.h, WRITE version 2): the accepted points, with the resolved
     * policy (note 10) */
    vt_buf_reset(&b->record);
    if (accepted > 0 && !record_points_encode(&b->record, db, pol.name, b->points,
                                              b->keybuf.data, b->keys, b->npoints,
                                              &b->rscratch)) {
        rc = vt_err_set(err, VT_ENOMEM, "out of memory building the journal record");
        goto done;
    }

    if (accepted > 0) {
        res->min_time = INT64_MAX;
        res->max_time = INT64_MIN;
        for (size_t i = 0; i < b->npoints; i++) {
            if (b->points[i].time < res->min_time)
                res->min_time = b->points[i].time;
            if (b->points[i].time > res->max_time)
                res->max_time = b->points[i].time;
        }
        /* series keys and their hashes were made by batch_parse, outside the lock (notes 3, 7) */
        size_t skipped = 0;
        engine_write_admit(n->eng); /* back-pressure, holding no lock (engine.c note 14) */
        rc = journal_write(n->jr, JOURNAL_REC_WRITE, b->record.data, b->record.len, &res->seq,
                           err);
        if (rc == VT_OK) {
            pthread_mutex_lock(&n->apply_lock);
            apply_turn_wait(n, res->seq);
            rc = engine_apply_keyed(n->eng, res->seq, store, b->points, b->keybuf.data, b->keys,
                                    b->npoints, &skipped, err);
            apply_turn_done(n, res->seq);
            pthread_mutex_unlock(&n->apply_lock);
        }
        if (rc == VT_OK)
            rc = journal_sync_to(n->jr, res->seq, err);
        if (rc != VT_OK) {
            res->points = 0;
            goto done;
        }
        res->points = accepted - skipped;
        if (observe)
            observe(observe_ctx, b->points, b->npoints);
        if (skipped) {
            res->lines_rejected += skipped;
            if (!res->error[0]) {
                snprintf(res->error, sizeof res->error,
                         "field type conflict: %zu points conflict with a concurrent write",
                         skipped);
                res->type_conflict = true;
            }
        }
    }
    if (res->lines_rejected)
        rc = res->type_conflict ? VT_ETYPE : VT_EPARSE;
    if (rc != VT_OK && rc != VT_EPARSE && rc != VT_ETYPE)
        goto done;
    if (res->lines_rejected)
        vt_err_set(err, rc, "%s", res->error);
    if (res->retention_dropped && !res->type_conflict) {
        /* InfluxDB: the shard mapping's error wins over the parse errors */
        rc = VT_EPARSE;
        vt_err_set(err, rc, "partial write: points beyond retention policy dropped=%zu",
                   res->retention_dropped);
    }
done:
    batch_put(n, b);
    return rc;
}

static vt_rc db_op(node *n, uint16_t type, const char *name, vt_err *err)
{
    if (check_name(name, err) != VT_OK)
        return VT_EINVAL;
    if (type == JOURNAL_REC_CREATE_DB && !valid_name(name))
        return vt_err_set(err, VT_EINVAL, "invalid name");
    if (node_failed(n))
        return vt_err_set(err, VT_EFATAL, "writes refused: an earlier storage failure needs a "
                                          "restart");
    vt_buf rec;
    vt_buf_init(&rec);
    record_dbop_encode(&rec, name);
    if (rec.oom) {
        vt_buf_free(&rec);
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    }
    uint64_t seq = 0;
    vt_rc rc;
    pthread_mutex_lock(&n->meta_mu); /* catalogs change one at a time (note 9) */
    pthread_mutex_lock(&n->apply_lock);
    bool exists = engine_has_db(n->eng, name);
    if ((type == JOURNAL_REC_CREATE_DB && exists) || (type == JOURNAL_REC_DROP_DB && !exists)) {
        pthread_mutex_unlock(&n->apply_lock); /* idempotent, as in InfluxDB */
        pthread_mutex_unlock(&n->meta_mu);
        vt_buf_free(&rec);
        return VT_OK;
    }
    rc = journal_write(n->jr, type, rec.data, rec.len, &seq, err);
    if (rc == VT_OK) {
        apply_turn_wait(n, seq); /* releases apply_lock while earlier records apply */
        /* an earlier record in the queue may have done the same already: replay treats the
         * duplicate the same way (create of an existing / drop of a missing database: no-op) */
        rc = type == JOURNAL_REC_CREATE_DB ? apply_create_db(n, seq, name, err)
                                           : apply_drop_db(n, seq, name, err);
        apply_turn_done(n, seq);
    }
    pthread_mutex_unlock(&n->apply_lock);
    pthread_mutex_unlock(&n->meta_mu);
    if (rc == VT_OK)
        rc = journal_sync_to(n->jr, seq, err);
    vt_buf_free(&rec);
    return rc;
}

vt_rc node_create_db(node *n, const char *name, vt_err *err)
{
    return db_op(n, JOURNAL_REC_CREATE_DB, name, err);
}

vt_rc node_drop_db(node *n, const char *name, vt_err *err)
{
    return db_op(n, JOURNAL_REC_DROP_DB, name, err);
}

/* Journals one delete-like record and applies it in its seq turn (note 3). apply is called
 * with the record's seq. */
typedef vt_rc (*node_apply_fn)(node *n, uint64_t seq, void *arg, vt_err *err);

static vt_rc journal_and_apply(node *n, uint16_t type, const vt_buf *rec, node_apply_fn apply,
                               void *arg, vt_err *err)
{
    uint64_t seq = 0;
    vt_rc rc = journal_write(n->jr, type, rec->data, rec->len, &seq, err);
    if (rc != VT_OK)
        return rc;
    pthread_mutex_lock(&n->apply_lock);
    apply_turn_wait(n, seq);
    rc = apply(n, seq, arg, err);
    apply_turn_done(n, seq);
    pthread_mutex_unlock(&n->apply_lock);
    if (rc == VT_OK)
        rc = journal_sync_to(n->jr, seq, err);
    return rc;
}

typedef struct delete_args {
    const char *db;
    const uint8_t *base;
    const engine_key *keys;
    size_t n;
    int64_t tmin, tmax;
} delete_args;

static vt_rc apply_delete(node *n, uint64_t seq, void *arg, vt_err *err)
{
    delete_args *a = arg;
    return engine_delete_keyed(n->eng, seq, a->db, a->base, a->keys, a->n, a->tmin, a->tmax, err);
}

/* Keys per DELETE record at most (a huge DROP SERIES becomes several records; each is a delete
 * of its own, so splitting changes nothing). */
#define NODE_DELETE_CHUNK_BYTES ((size_t)16 << 20)

vt_rc node_delete(node *n, const char *db, const uint64_t *series_ids, size_t nseries,
                  int64_t tmin, int64_t tmax, vt_err *err)
{
    if (check_name(db, err) != VT_OK)
        return VT_EINVAL;
    if (node_failed(n))
        return vt_err_set(err, VT_EFATAL, "writes refused: an earlier storage failure needs a "
                                          "restart");
    if (!engine_has_db(n->eng, db))
        return vt_err_set(err, VT_ENOTFOUND, "database not found: %s", db);
    if (nseries == 0 || tmin > tmax)
        return VT_OK;
    vt_buf kb, rec;
    vt_buf_init(&kb);
    vt_buf_init(&rec);
    size_t *off = NULL, *len = NULL, found = 0;
    engine_key *keys = malloc(nseries * sizeof *keys);
    vt_rc rc = keys ? engine_series_keys(n->eng, db, series_ids, nseries, &kb, keys, &found, err)
                    : vt_err_set(err, VT_ENOMEM, "out of memory");
    if (rc != VT_OK || found == 0)
        goto done;
    off = malloc(found * sizeof *off);
    len = malloc(found * sizeof *len);
    if (!off || !len) {
        rc = vt_err_set(err, VT_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < found; i++) {
        off[i] = keys[i].off;
        len[i] = keys[i].len;
    }
    for (size_t from = 0; from < found && rc == VT_OK;) {
        size_t to = from, bytes = 0;
        while (to < found && (to == from || bytes + len[to] + 4 <= NODE_DELETE_CHUNK_BYTES))
            bytes += len[to++] + 4;
        vt_buf_reset(&rec);
        record_delete_encode(&rec, db, tmin, tmax, kb.data, off + from, len + from, to - from);
        if (rec.oom || kb.oom) {
            rc = vt_err_set(err, VT_ENOMEM, "out of memory");
            break;
        }
        delete_args a = {db, kb.data, keys + from, to - from, tmin, tmax};
        rc = journal_and_apply(n, RECORD_TYPE_DELETE, &rec, apply_delete, &a, err);
        from = to;
    }
done:
    free(keys);
    free(off);
    free(len);
    vt_buf_free(&kb);
    vt_buf_free(&rec);
    return rc;
}

static vt_rc apply_drop_measurement(node *n, uint64_t seq, void *arg, vt_err *err)
{
    const char *const *a = arg;
    return engine_drop_measurement(n->eng, seq, a[0], a[1], err);
}

vt_rc node_drop_measurement(node *n, const char *db, const char *measurement, vt_err *err)
{
    if (check_name(db, err) != VT_OK)
        return VT_EINVAL;
    if (strlen(measurement) > UINT16_MAX)
        return vt_err_set(err, VT_EINVAL, "measurement name longer than %d bytes", UINT16_MAX);
    if (node_failed(n))
        return vt_err_set(err, VT_EFATAL, "writes refused: an earlier storage failure needs a "
                                          "restart");
    if (!engine_has_db(n->eng, db))
        return vt_err_set(err, VT_ENOTFOUND, "database not found: %s", db);
    vt_buf rec;
    vt_buf_init(&rec);
    record_drop_measurement_encode(&rec, db, measurement);
    vt_rc rc;
    if (rec.oom) {
        rc = vt_err_set(err, VT_ENOMEM, "out of memory");
    } else {
        const char *a[2] = {db, measurement};
        rc = journal_and_apply(n, RECORD_TYPE_DROP_MEASUREMENT, &rec, apply_drop_measurement,
                               (void *)a, err);
    }
    vt_buf_free(&rec);
    return rc;
}

engine *node_engine(node *n)
{
    return n->eng;
}

const char *node_datadir(const node *n)
{
    return n->datadir;
}

journal *node_journal(node *n)
{
    return n->jr;
}

bool node_failed(node *n)
{
    return journal_failed(n->jr) || engine_failed(n->eng);
}

/* ---- retention policy statements (note 9) ---- */

#define MIN_RP_DURATION NS_PER_HOUR

/* InfluxDB's shardGroupDuration / normalisedShardDuration. */
static int64_t default_shard_duration(int64_t d)
{
    if (d == 0 || d >= 180 * 24 * NS_PER_HOUR)
        return 7 * 24 * NS_PER_HOUR;
    if (d >= 2 * 24 * NS_PER_HOUR)
        return 24 * NS_PER_HOUR;
    return NS_PER_HOUR;
}

static int64_t normalised_shard_duration(int64_t sgd, int64_t d)
{
    if (sgd == 0)
        return default_shard_duration(d);
    return sgd < MIN_RP_DURATION ? MIN_RP_DURATION : sgd;
}

static vt_rc duration_too_low(vt_err *err)
{
    return vt_err_set(err, VT_EINVAL, "retention policy duration must be at least 1h0m0s");
}

static vt_rc incompatible_durations(vt_err *err)
{
    return vt_err_set(err, VT_EINVAL,
                      "retention policy duration must be greater than the shard duration");
}

/* The policy a CREATE describes (name "autogen" when the spec has none), checked on its own. */
static vt_rc rp_from_spec(const node_rp_spec *spec, record_rp *rp, vt_err *err)
{
    memset(rp, 0, sizeof *rp);
    const char *name = spec->name ? spec->name : "autogen";
    if (!valid_name(name))
        return vt_err_set(err, VT_EINVAL, "invalid name");
    snprintf(rp->name, sizeof rp->name, "%s", name);
    rp->duration = spec->has_duration ? spec->duration : 0;
    if (rp->duration < 0 || (rp->duration != 0 && rp->duration < MIN_RP_DURATION))
        return duration_too_low(err);
    if (spec->has_replication && spec->replication < 1)
        return vt_err_set(err, VT_EINVAL, "replication factor must be greater than 0");
    rp->replica_n = spec->has_replication ? (uint32_t)spec->replication : 1;
    rp->shard_duration =
        normalised_shard_duration(spec->has_shard_duration ? spec->shard_duration : 0,
                                  rp->duration);
    if (rp->duration > 0 && rp->duration < rp->shard_duration)
        return incompatible_durations(err);
    return VT_OK;
}

typedef struct cat_edit {
    const node_rp_spec *spec;
    const char *name;
    record_rp rp;
    bool make_default;
} cat_edit;

/* Edits a copy of a catalog (exists = the database exists); sets *changed when there is
 * something to journal. */
typedef vt_rc (*cat_edit_fn)(record_rpcat *c, bool exists, bool *changed, cat_edit *e,
                             vt_err *err);

typedef struct meta_args {
    const char *db;
    const record_rpcat *cat;
} meta_args;

static vt_rc apply_meta_cb(node *n, uint64_t seq, void *arg, vt_err *err)
{
    meta_args *a = arg;
    return apply_db_meta(n, seq, a->db, a->cat, err);
}

/* One catalog change: validated against the current catalog and journaled, under meta_mu. */
static vt_rc catalog_change(node *n, const char *db, bool create_missing, cat_edit_fn edit,
                            cat_edit *e, vt_err *err)
{
    if (check_name(db, err) != VT_OK)
        return VT_EINVAL;
    if (node_failed(n))
        return vt_err_set(err, VT_EFATAL, "writes refused: an earlier storage failure needs a "
                                          "restart");
    record_rpcat c;
    memset(&c, 0, sizeof c);
    vt_buf rec;
    vt_buf_init(&rec);
    pthread_mutex_lock(&n->meta_mu);
    vt_rc rc = cat_get(n, db, &c, err);
    bool exists = rc == VT_OK, changed = false;
    if (rc == VT_ENOTFOUND && create_missing) {
        vt_err_clear(err);
        memset(&c, 0, sizeof c);
        rc = VT_OK;
    }
    if (rc == VT_OK)
        rc = edit(&c, exists, &changed, e, err);
    if (rc == VT_OK && changed) {
        record_db_meta_encode(&rec, db, &c);
        meta_args a = {db, &c};
        rc = rec.oom ? vt_err_set(err, VT_ENOMEM, "out of memory")
                     : journal_and_apply(n, RECORD_TYPE_DB_META, &rec, apply_meta_cb, &a, err);
    }
    pthread_mutex_unlock(&n->meta_mu);
    vt_buf_free(&rec);
    record_rpcat_free(&c);
    return rc;
}

static vt_rc edit_create(record_rpcat *c, bool exists, bool *changed, cat_edit *e, vt_err *err)
{
    (void)exists;
    const record_rp *cur = record_rpcat_find(c, e->rp.name);
    if (cur) {
        if (cur->replica_n != e->rp.replica_n || cur->duration != e->rp.duration ||
            cur->shard_duration != e->rp.shard_duration)
            return vt_err_set(err, VT_EEXIST, "retention policy already exists");
        if (e->make_default && strcmp(c->default_rp, e->rp.name) != 0)
            return vt_err_set(err, VT_EEXIST, "retention policy conflicts with an existing policy");
        return VT_OK;
    }
    if (!record_rpcat_add(c, &e->rp))
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    if (e->make_default)
        snprintf(c->default_rp, sizeof c->default_rp, "%s", e->rp.name);
    *changed = true;
    return VT_OK;
}

vt_rc node_create_rp(node *n, const char *db, const node_rp_spec *spec, bool make_default,
                     vt_err *err)
{
    cat_edit e = {spec, NULL, {{0}, 0, 0, 0}, make_default};
    if (!spec->name)
        return vt_err_set(err, VT_EINVAL, "invalid name");
    vt_rc rc = rp_from_spec(spec, &e.rp, err);
    return rc != VT_OK ? rc : catalog_change(n, db, false, edit_create, &e, err);
}

/* InfluxDB's RetentionPolicySpec.Matches. */
static bool spec_matches(const node_rp_spec *s, const record_rp *rp)
{
    if (!rp || (s->name && strcmp(s->name, rp->name) != 0) ||
        (s->has_duration && s->duration != rp->duration) ||
        (s->has_replication && (uint32_t)s->replication != rp->replica_n))
        return false;
    return normalised_shard_duration(s->has_shard_duration ? s->shard_duration : 0,
                                     rp->duration) == rp->shard_duration;
}

static vt_rc edit_create_db(record_rpcat *c, bool exists, bool *changed, cat_edit *e,
                            vt_err *err)
{
    if (!exists || c->n == 0) {
        e->make_default = true; /* the first policy of a database is its default */
        return edit_create(c, exists, changed, e, err);
    }
    if (!spec_matches(e->spec, record_rpcat_find(c, e->rp.name)))
        return vt_err_set(err, VT_EEXIST, "retention policy conflicts with an existing policy");
    return VT_OK;
}

vt_rc node_create_db_with(node *n, const char *name, const node_rp_spec *spec, vt_err *err)
{
    cat_edit e = {spec, NULL, {{0}, 0, 0, 0}, true};
    if (!valid_name(name))
        return vt_err_set(err, VT_EINVAL, "invalid name");
    vt_rc rc = rp_from_spec(spec, &e.rp, err);
    return rc != VT_OK ? rc : catalog_change(n, name, true, edit_create_db, &e, err);
}

static vt_rc edit_alter(record_rpcat *c, bool exists, bool *changed, cat_edit *e, vt_err *err)
{
    (void)exists;
    const node_rp_spec *s = e->spec;
    record_rp *rp = record_rpcat_find(c, e->name);
    if (!rp)
        return vt_err_set(err, VT_ENOTFOUND, "retention policy not found: %s", e->name);
    if ((s->has_duration && s->duration > 0 &&
         ((s->has_shard_duration && s->duration < s->shard_duration) ||
          (!s->has_shard_duration && s->duration < rp->shard_duration))) ||
        (!s->has_duration && rp->duration > 0 && s->has_shard_duration &&
         rp->duration < s->shard_duration))
        return incompatible_durations(err);
    record_rp before = *rp;
    if (s->has_duration)
        rp->duration = s->duration;
    if (s->has_replication)
        rp->replica_n = (uint32_t)s->replication;
    if (s->has_shard_duration)
        rp->shard_duration = normalised_shard_duration(s->shard_duration, rp->duration);
    *changed = memcmp(&before, rp, sizeof before) != 0;
    if (e->make_default && strcmp(c->default_rp, rp->name) != 0) {
        snprintf(c->default_rp, sizeof c->default_rp, "%s", rp->name);
        *changed = true;
    }
    return VT_OK;
}

vt_rc node_alter_rp(node *n, const char *db, const node_rp_spec *spec, bool make_default,
                    vt_err *err)
{
    cat_edit e = {spec, spec->name, {{0}, 0, 0, 0}, make_default};
    if (!spec->name)
        return vt_err_set(err, VT_EINVAL, "invalid name");
    if (spec->has_duration && spec->duration != 0 && spec->duration < MIN_RP_DURATION)
        return duration_too_low(err);
    if (spec->has_replication && spec->replication < 1)
        return vt_err_set(err, VT_EINVAL, "replication factor must be greater than 0");
    return catalog_change(n, db, false, edit_alter, &e, err);
}

static vt_rc edit_drop(record_rpcat *c, bool exists, bool *changed, cat_edit *e, vt_err *err)
{
    (void)exists;
    (void)err;
    if (!record_rpcat_find(c, e->name))
        return VT_OK;
    record_rpcat_remove(c, e->name);
    *changed = true;
    return VT_OK;
}

vt_rc node_drop_rp(node *n, const char *db, const char *name, vt_err *err)
{
    cat_edit e = {NULL, name, {{0}, 0, 0, 0}, false};
    return catalog_change(n, db, false, edit_drop, &e, err);
}

vt_rc node_rp_catalog(node *n, const char *db, record_rpcat *out, vt_err *err)
{
    memset(out, 0, sizeof *out);
    return cat_get(n, db, out, err);
}

vt_rc node_resolve_store(node *n, const char *db, const char *rp, char *out, size_t cap,
                         vt_err *err)
{
    return resolve_rp(n, db, rp, out, cap, NULL, err);
}

/* ---- retention enforcement (note 11) ---- */

typedef struct enf_job {
    char store[ENGINE_STORE_NAME_MAX + 1];
    int64_t cutoff;
} enf_job;

typedef struct ret_args {
    const char *store;
    int64_t cutoff;
} ret_args;

static vt_rc apply_ret_cb(node *n, uint64_t seq, void *arg, vt_err *err)
{
    ret_args *a = arg;
    return apply_retention(n, seq, a->store, a->cutoff, err);
}

unsigned node_enforce_retention(node *n, int64_t now, vt_err *err)
{
    unsigned done = 0;
    enf_job *jobs = NULL;
    size_t njobs = 0, cap = 0;
    vt_buf rec;
    vt_buf_init(&rec);
    pthread_mutex_lock(&n->meta_mu); /* no catalog change while a pass runs */
    pthread_rwlock_rdlock(&n->cat_lock);
    bool oom = false;
    for (size_t i = 0; i < n->ncats && !oom; i++) {
        const record_rpcat *c = &n->cats[i].cat;
        for (size_t k = 0; k < c->n && !oom; k++) {
            const record_rp *rp = &c->rps[k];
            if (rp->duration <= 0 || now <= INT64_MIN + rp->duration)
                continue;
            if (!grow((void **)&jobs, &cap, njobs + 1, sizeof *jobs)) {
                oom = true;
                break;
            }
            store_name(n->cats[i].db, rp->name, jobs[njobs].store, sizeof jobs[njobs].store);
            /* the oldest live group: groups ending before now - duration are expired */
            jobs[njobs++].cutoff =
                node_shard_group_start(now - rp->duration - 1, rp->shard_duration);
        }
    }
    pthread_rwlock_unlock(&n->cat_lock);
    if (oom)
        vt_err_set(err, VT_ENOMEM, "retention: out of memory");
    for (size_t j = 0; j < njobs && !oom; j++) {
        node_enf *ent = NULL;
        for (size_t k = 0; k < n->nenf && !ent; k++)
            if (strcmp(n->enf[k].store, jobs[j].store) == 0)
                ent = &n->enf[k];
        if (ent && ent->cutoff >= jobs[j].cutoff)
            continue;
        if (!ent) {
            if (!grow((void **)&n->enf, &n->capenf, n->nenf + 1, sizeof *n->enf)) {
                vt_err_set(err, VT_ENOMEM, "retention: out of memory");
                break;
            }
            ent = &n->enf[n->nenf++];
            snprintf(ent->store, sizeof ent->store, "%s", jobs[j].store);
            ent->cutoff = INT64_MIN;
        }
        vt_buf_reset(&rec);
        record_retention_encode(&rec, jobs[j].store, jobs[j].cutoff);
        ret_args a = {jobs[j].store, jobs[j].cutoff};
        if (rec.oom) {
            vt_err_set(err, VT_ENOMEM, "retention: out of memory");
            break;
        }
        if (journal_and_apply(n, RECORD_TYPE_RETENTION, &rec, apply_ret_cb, &a, err) != VT_OK)
            break;
        ent->cutoff = jobs[j].cutoff;
        done++;
    }
    pthread_mutex_unlock(&n->meta_mu);
    vt_buf_free(&rec);
    free(jobs);
    return done;
}
