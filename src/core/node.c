/*
 * core/node.c — the write path and the journal replay (see node.h for the picture).
 *
 * NOTES ON THE DESIGN
 *
 * 1. A write is parsed once into a batch (points copied out of the parser's scratch storage into
 *    the batch's own arrays, reused from request to request: no allocation in the steady state).
 * 2. The batch is type-checked against the engine. Lines that fail to parse or to type-check are
 *    dropped; only accepted lines are journaled (verbatim when every line was accepted, else the
 *    accepted lines copied one by one), so replay never meets a bad line.
 * 3. Seq order without one long critical section: journal_write (under the journal's own mutex)
 *    assigns the seq and writes the record; then the writer waits for its turn under apply_lock
 *    (every record before its seq applied: apply_turn_wait) and applies. So the engine sees
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
 * 8. Deletes (node_delete, node_drop_measurement) take the same path as writes: the record
 *    (record.h: series named by canonical key, or the measurement by name) is journaled, applied
 *    in its seq turn, then synced. The ids a DELETE names are turned into keys before the record
 *    is written; a series that disappears meanwhile is simply not found at apply time, live and
 *    on replay alike. A huge DROP SERIES is split into records of at most 16 MiB.
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
#include "core/record.h"
#include "engine/series_index.h"

#define NODE_NAME_MAX 255

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
} skc_entry;

typedef struct series_cache {
    sidx_map map; /* sidx_hash(raw) -> skc_entry */
    skc_entry *all;
    size_t n, bytes;
    const skc_entry *last; /* the entry of the last successful skc_lookup */
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
    const char **line_ptr; /* per point: its line in the body */
    size_t *line_len;
    bool *rejected;
    engine_key *keys; /* per point: its series key in keybuf (built outside the apply lock) */
    const skc_entry **entry; /* per point: its series-cache entry, or NULL (note 7) */
    vt_buf keybuf;
    series_cache cache;
    vt_buf record; /* journal payload under construction */
    struct node_batch *next_free;
} node_batch;

struct node {
    char datadir[PATH_MAX];
    int lock_fd;
    node_options opts;
    journal *jr;
    engine *eng;
    pthread_mutex_t apply_lock; /* turns of engine applies in seq order (note 3) */
    pthread_cond_t apply_turn;
    uint64_t applied_upto; /* every record <= this seq has been applied (or failed to) */
    pthread_mutex_t pool_lock;
    node_batch *free_batches;
    pthread_t maint_thread;
    bool maint_running;
    bool maint_stop;
    pthread_mutex_t maint_lock;
    pthread_cond_t maint_cond;
    uint64_t trimmed_to; /* journal trimmed below this seq */
};

void node_options_default(node_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->journal.fsync = JOURNAL_FSYNC_ALWAYS;
    opts->journal.interval_ms = 100;
    opts->journal.segment_bytes = 64u << 20;
    opts->engine.memtable_bytes = 32u << 20;
    opts->engine.compact_trigger = 8;
    opts->engine.block_points = 4096;
    opts->engine.background = true;
    opts->limits.max_body_bytes = 32u << 20;
    opts->journal_trim = true;
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

static bool skc_lookup(void *ctx, const char *raw, size_t len, vt_point *series)
{
    series_cache *c = ctx;
    if (c->n == 0)
        return false;
    const skc_entry *e = sidx_map_get(&c->map, sidx_hash(raw, len), raw, len);
    if (!e)
        return false;
    c->last = e;
    series->measurement = e->measurement;
    series->tags = e->tags;
    series->ntags = e->ntags;
    return true;
}

/* Remembers raw -> pt's series with its canonical key key[0..klen) and hash. Returns the entry,
 * or NULL when the cache is full or out of memory (the caller then keeps its own copies). */
static const skc_entry *skc_insert(series_cache *c, const char *raw, size_t raw_len,
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
    free(b->line_ptr);
    free(b->line_len);
    free(b->rejected);
    free(b->keys);
    vt_buf_free(&b->keybuf);
    vt_buf_free(&b->strings);
    vt_buf_free(&b->record);
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
    const char **lp = realloc(b->line_ptr, cap * sizeof *lp);
    if (!lp)
        return false;
    b->line_ptr = lp;
    size_t *ll = realloc(b->line_len, cap * sizeof *ll);
    if (!ll)
        return false;
    b->line_len = ll;
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
        const skc_entry *ent = NULL;
        engine_key *k = &b->keys[b->npoints];
        k->off = b->keybuf.len;
        if (span.hit) {
            ent = b->cache.last; /* what skc_lookup found for this line */
            vt_buf_append(&b->keybuf, ent->key, ent->key_len);
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
        }
        if (b->keybuf.oom)
            goto oom;
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
        lp_parser_last_line(b->parser, &b->line_ptr[b->npoints], &b->line_len[b->npoints]);
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
    parse_outcome po;
    rc = batch_parse(n, b, w.precision, w.default_time, w.body, w.body_len, &po, err);
    if (rc != VT_OK)
        return rc;
    if (po.lines_rejected)
        return vt_err_set(err, VT_ECORRUPT, "journal record %llu: line %zu does not parse: %s",
                          (unsigned long long)rec->seq, po.first_line, po.first_error);
    if (!engine_has_db(n->eng, db))
        return VT_OK; /* dropped later in the journal, and the drop is already in the engine */
    size_t skipped = 0;
    rc = engine_apply_keyed(n->eng, rec->seq, db, b->points, b->keybuf.data, b->keys, b->npoints,
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
                               sidx_hash(rd.keys[i].p, rd.keys[i].len)};
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
        char name[NODE_NAME_MAX + 1];
        switch (rec.type) {
        case JOURNAL_REC_WRITE:
            rc = replay_write(n, b, &rec, info, err);
            break;
        case JOURNAL_REC_CREATE_DB:
            rc = record_dbop_decode(rec.data, rec.len, name, sizeof name, err);
            if (rc == VT_OK && !engine_has_db(n->eng, name))
                rc = engine_create_db(n->eng, name, rec.seq, err);
            break;
        case JOURNAL_REC_DROP_DB:
            rc = record_dbop_decode(rec.data, rec.len, name, sizeof name, err);
            if (rc == VT_OK && engine_has_db(n->eng, name))
                rc = engine_drop_db(n->eng, name, rec.seq, err);
            break;
        case RECORD_TYPE_DELETE:
            rc = replay_delete(n, &rec, err);
            break;
        case RECORD_TYPE_DROP_MEASUREMENT:
            rc = replay_drop_measurement(n, &rec, err);
            break;
        default:
            rc = vt_err_set(err, VT_ECORRUPT, "journal record %llu: unknown type %u",
                            (unsigned long long)rec.seq, rec.type);
        }
        if (rc != VT_OK)
            break;
        if (info)
            info->replayed_records++;
    }
    batch_put(n, b);
    journal_reader_close(r);
    return rc;
}

unsigned node_trim_journal(node *n, vt_err *err)
{
    uint64_t ckpt = engine_checkpoint_seq(n->eng);
    if (ckpt == 0 || ckpt + 1 <= n->trimmed_to)
        return 0;
    uint64_t before = journal_first_seq(n->jr);
    if (journal_truncate_before(n->jr, ckpt + 1, err) != VT_OK)
        return 0;
    n->trimmed_to = ckpt + 1;
    return journal_first_seq(n->jr) != before ? 1 : 0;
}

static void *maintenance_main(void *arg)
{
    node *n = arg;
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
        node_trim_journal(n, &err);
        if (err.rc != VT_OK)
            fprintf(stderr, "{\"level\":\"error\",\"msg\":\"journal trim: %s\"}\n", err.msg);
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
    pthread_cond_init(&n->apply_turn, NULL);
    pthread_mutex_init(&n->pool_lock, NULL);
    pthread_mutex_init(&n->maint_lock, NULL);
    pthread_cond_init(&n->maint_cond, NULL);
    if (opts)
        n->opts = *opts;
    else
        node_options_default(&n->opts);
    if (strlen(datadir) >= sizeof n->datadir - 32) {
        free(n);
        return vt_err_set(err, VT_EINVAL, "data directory path too long");
    }
    snprintf(n->datadir, sizeof n->datadir, "%s", datadir);

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
    if (n->opts.journal_trim) {
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
    pthread_cond_destroy(&n->apply_turn);
    pthread_mutex_destroy(&n->pool_lock);
    pthread_mutex_destroy(&n->maint_lock);
    pthread_cond_destroy(&n->maint_cond);
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

/* apply_lock held: waits until every record before seq has been applied (note 3). */
static void apply_turn_wait(node *n, uint64_t seq)
{
    while (n->applied_upto + 1 < seq)
        pthread_cond_wait(&n->apply_turn, &n->apply_lock);
}

/* apply_lock held: record seq is applied (or failed); the next one may go. */
static void apply_turn_done(node *n, uint64_t seq)
{
    if (seq > n->applied_upto)
        n->applied_upto = seq;
    pthread_cond_broadcast(&n->apply_turn);
}

vt_rc node_write(node *n, const char *db, const char *rp, lp_precision precision,
                 int64_t default_time, const char *body, size_t len, node_write_result *res,
                 vt_err *err)
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
    if (rp && rp[0] && strcmp(rp, "autogen") != 0)
        return vt_err_set(err, VT_ENOTFOUND, "retention policy not found: %s", rp);
    if (!engine_has_db(n->eng, db))
        return vt_err_set(err, VT_ENOTFOUND, "database not found: \"%s\"", db);

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
        rc = engine_check_types(n->eng, db, b->points, b->npoints, b->rejected, &nrejected, &terr);
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
    size_t accepted = b->npoints - nrejected;

    /* the journal payload: header + the accepted lines */
    vt_buf_reset(&b->record);
    record_write_header(&b->record, precision, db, rp ? rp : "", default_time);
    if (accepted == b->npoints && po.lines_rejected == 0) {
        vt_buf_append(&b->record, body, len);
    } else {
        size_t k = 0;
        for (size_t i = 0; i < b->npoints; i++) {
            if (b->rejected[i])
                continue;
            vt_buf_append(&b->record, b->line_ptr[i], b->line_len[i]);
            vt_buf_putc(&b->record, '\n');
            /* compact the accepted points (and their keys) to the front for engine_apply */
            b->keys[k] = b->keys[i];
            b->points[k++] = b->points[i];
        }
        b->npoints = k;
    }
    if (b->record.oom) {
        rc = vt_err_set(err, VT_ENOMEM, "out of memory building the journal record");
        goto done;
    }

    if (accepted > 0) {
        /* series keys and their hashes were made by batch_parse, outside the lock (notes 3, 7) */
        size_t skipped = 0;
        rc = journal_write(n->jr, JOURNAL_REC_WRITE, b->record.data, b->record.len, &res->seq,
                           err);
        if (rc == VT_OK) {
            pthread_mutex_lock(&n->apply_lock);
            apply_turn_wait(n, res->seq);
            rc = engine_apply_keyed(n->eng, res->seq, db, b->points, b->keybuf.data, b->keys,
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
done:
    batch_put(n, b);
    return rc;
}

static vt_rc db_op(node *n, uint16_t type, const char *name, vt_err *err)
{
    if (check_name(name, err) != VT_OK)
        return VT_EINVAL;
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
    pthread_mutex_lock(&n->apply_lock);
    bool exists = engine_has_db(n->eng, name);
    if ((type == JOURNAL_REC_CREATE_DB && exists) || (type == JOURNAL_REC_DROP_DB && !exists)) {
        pthread_mutex_unlock(&n->apply_lock); /* idempotent, as in InfluxDB */
        vt_buf_free(&rec);
        return VT_OK;
    }
    rc = journal_write(n->jr, type, rec.data, rec.len, &seq, err);
    if (rc == VT_OK) {
        apply_turn_wait(n, seq); /* releases apply_lock while earlier records apply */
        /* an earlier record in the queue may have done the same already: replay treats the
         * duplicate the same way (create of an existing / drop of a missing database: no-op) */
        exists = engine_has_db(n->eng, name);
        if (type == JOURNAL_REC_CREATE_DB && !exists)
            rc = engine_create_db(n->eng, name, seq, err);
        else if (type == JOURNAL_REC_DROP_DB && exists)
            rc = engine_drop_db(n->eng, name, seq, err);
        apply_turn_done(n, seq);
    }
    pthread_mutex_unlock(&n->apply_lock);
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

journal *node_journal(node *n)
{
    return n->jr;
}

bool node_failed(node *n)
{
    return journal_failed(n->jr) || engine_failed(n->eng);
}
