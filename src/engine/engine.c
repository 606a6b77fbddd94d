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
 */
#include "engine/engine.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/durable.h"
#include "engine/manifest.h"
#include "engine/memtable.h"
#include "engine/segment.h"
#include "engine/series_index.h"

#define ENGINE_CHUNK 4096
#define ENGINE_PATH_MAX 4096

typedef struct edb {
    char *name;
    uint32_t id;
    sidx idx;
    seg_reader **segs; /* oldest first */
    size_t nsegs, scap;
} edb;

struct engine {
    char *dir;
    engine_options opt;
    pthread_rwlock_t lock;
    edb **dbs; /* sorted by name */
    size_t ndbs, dcap;
    memtable *active, *imm;
    uint64_t checkpoint, applied, next_segment_id;
    uint32_t next_db_id;
    bool failed;
    char fail_msg[VT_ERR_MSG_MAX]; /* what made the engine fail */
    vt_buf keybuf; /* series key scratch of apply (under the write lock) */
    uint64_t flushes, compactions;
    atomic_uint_fast64_t corrupt_blocks;
    /* background work */
    pthread_mutex_t bg_mu;
    pthread_cond_t bg_cv;
    bool busy, flush_wanted, stop, thread_started;
    pthread_t thread;
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

static edb *db_find(engine *e, const char *name)
{
    for (size_t i = 0; i < e->ndbs; i++)
        if (strcmp(e->dbs[i]->name, name) == 0)
            return e->dbs[i];
    return NULL;
}

static void db_free(edb *d)
{
    if (!d)
        return;
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
    for (size_t i = 0; i < e->ndbs; i++)
        free(m.dbs[i].segments);
    free(m.dbs);
    vt_buf_free(&b);
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
        if (b->max_time < s->tmin)
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

static void srcs_free(src *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        seg_col_free(&s[i].col);
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
    for (size_t i = 0; i < m->nseries; i++)
        if (m->series[i]->db == db && m->series[i]->ncols > 0)
            list[nlist++] = m->series[i];
    qsort(list, nlist, sizeof *list, ms_cmp);
    defs = calloc(nlist ? nlist : 1, sizeof *defs);
    if (!defs) {
        rc = vt_err_set(err, VT_ENOMEM, "flush: out of memory");
        goto cleanup;
    }
    rc = seg_writer_begin(&w, path, seg_id, e->opt.block_points, err);
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
    memtable *fresh = memtable_new(e->active->gen + 1);
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
            has = m->series[i]->db == e->dbs[d] && m->series[i]->ncols > 0;
        if (has)
            job->parts[job->nparts++] = (flush_part){e->dbs[d], e->next_segment_id++, NULL};
    }
    e->imm = m;
    e->active = fresh;
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
} compact_job;

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
        defs[i] = (seg_series_def){sid, newest->measurement, newest->tags, newest->ntags, fd, nf};
        for (size_t f = 0; f < nf; f++) {
            size_t ns = 0;
            for (size_t k = job->nold; k-- > 0;) {
                bool added;
                src_segment(&srcs[ns], job->old[k], sid, fs[f].name.ptr, fs[f].name.len,
                            fs[f].type, INT64_MIN, INT64_MAX, &added);
                if (added)
                    ns++;
            }
            seg_col acc;
            seg_col_init(&acc, fs[f].type);
            accum_ctx ac = {&acc};
            rc = merge_sources(srcs, ns, fs[f].type, accum_emit, &ac, err);
            for (size_t q = 0; q < ns; q++)
                seg_col_free(&srcs[q].col);
            if (rc == VT_OK && acc.oom)
                rc = vt_err_set(err, VT_ENOMEM, "compact: out of memory");
            if (rc == VT_OK) {
                seg_col_fix_strings(&acc);
                rc = seg_writer_add(&w, sid, (uint32_t)f, &acc, err);
            }
            seg_col_free(&acc);
            if (rc != VT_OK)
                goto cleanup;
        }
    }
    began = false;
    rc = seg_writer_finish(&w, defs, nids, NULL, err);
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
    for (size_t i = 0; defs && i < nids; i++)
        free((void *)defs[i].fields);
    for (size_t i = 0; fieldsets && i < nids; i++)
        free(fieldsets[i]);
    free(fieldsets);
    free(defs);
    free(srcs);
    free(ids);
    return rc;
}

/* Under lock: plans the compaction of db (false when it has fewer than two segments). */
static vt_rc compact_begin(engine *e, edb *db, compact_job *job, bool *work, vt_err *err)
{
    memset(job, 0, sizeof *job);
    *work = false;
    if (db->nsegs < 2)
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

static void bg_flush(engine *e)
{
    vt_err err;
    vt_err_clear(&err);
    flush_job job;
    bool work = false;
    pthread_rwlock_wrlock(&e->lock);
    vt_rc rc = VT_OK;
    if (!e->failed && !e->imm && e->active->bytes >= e->opt.memtable_bytes)
        rc = flush_begin(e, &job, &work, &err);
    pthread_rwlock_unlock(&e->lock);
    if (rc != VT_OK || !work)
        return;
    rc = flush_write(e, &job, &err);
    pthread_rwlock_wrlock(&e->lock);
    rc = flush_finish(e, &job, rc, &err); /* a failure is kept in e->fail_msg */
    pthread_rwlock_unlock(&e->lock);
    if (rc != VT_OK)
        return;
    /* compactions, one database at a time, writing without the lock */
    for (;;) {
        compact_job cj;
        work = false;
        pthread_rwlock_wrlock(&e->lock);
        for (size_t i = 0; i < e->ndbs && !work && !e->failed; i++)
            if (e->dbs[i]->nsegs >= e->opt.compact_trigger)
                rc = compact_begin(e, e->dbs[i], &cj, &work, &err);
        pthread_rwlock_unlock(&e->lock);
        if (rc != VT_OK || !work)
            return;
        rc = compact_write(e, &cj, &err);
        pthread_rwlock_wrlock(&e->lock);
        rc = compact_finish(e, &cj, rc, &err);
        pthread_rwlock_unlock(&e->lock);
        if (rc != VT_OK)
            return;
    }
}

static void *bg_main(void *arg)
{
    engine *e = arg;
    pthread_mutex_lock(&e->bg_mu);
    for (;;) {
        while (!e->stop && (!e->flush_wanted || e->busy))
            pthread_cond_wait(&e->bg_cv, &e->bg_mu);
        if (e->stop)
            break;
        e->flush_wanted = false;
        e->busy = true;
        pthread_mutex_unlock(&e->bg_mu);
        bg_flush(e);
        pthread_mutex_lock(&e->bg_mu);
        e->busy = false;
        pthread_cond_broadcast(&e->bg_cv);
    }
    pthread_mutex_unlock(&e->bg_mu);
    return NULL;
}

/* ---- open / close ---- */

static bool db_name_ok(const char *name)
{
    size_t n = strlen(name);
    return n > 0 && n <= 255 && !strchr(name, '/');
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

/* Adds the series and fields of segment r to the index of d. */
static vt_rc index_segment(edb *d, const seg_reader *r, vt_buf *kb, vt_err *err)
{
    for (size_t i = 0; i < r->nseries; i++) {
        const seg_series *ss = &r->series[i];
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
        e->opt.memtable_bytes = 32u << 20;
    if (e->opt.compact_trigger == 0)
        e->opt.compact_trigger = 8;
    if (e->opt.block_points == 0)
        e->opt.block_points = 4096;
    if (e->opt.block_points > SEG_MAX_BLOCK_POINTS)
        e->opt.block_points = SEG_MAX_BLOCK_POINTS;
    manifest m;
    memset(&m, 0, sizeof m);
    vt_buf kb;
    vt_buf_init(&kb);
    vt_rc rc;
    e->dir = strdup(dir);
    e->active = memtable_new(1);
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
    for (size_t i = 0; i < m.ndbs; i++) {
        edb *d = calloc(1, sizeof *d);
        if (!d) {
            rc = vt_err_set(err, VT_ENOMEM, "engine: out of memory");
            goto fail;
        }
        e->dbs[e->ndbs++] = d;
        sidx_init(&d->idx);
        d->name = m.dbs[i].name;
        m.dbs[i].name = NULL;
        d->id = m.dbs[i].id;
        for (size_t s = 0; s < m.dbs[i].nsegments; s++) {
            char path[ENGINE_PATH_MAX];
            seg_path(e, path, sizeof path, d->id, m.dbs[i].segments[s]);
            seg_reader *r;
            rc = seg_open_file(path, &r, err);
            if (rc != VT_OK)
                goto fail;
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
    *out = e;
    return VT_OK;
fail:
    manifest_free(&m);
    vt_buf_free(&kb);
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

static void memtable_forget_db(memtable *m, edb *d)
{
    size_t k = 0;
    for (size_t i = 0; i < m->nseries; i++) {
        mt_series *ms = m->series[i];
        if (ms->db == d) {
            for (size_t c = 0; c < ms->ncols; c++) {
                m->points -= ms->cols[c].n;
                free(ms->cols[c].time);
                free(ms->cols[c].val);
            }
            free(ms->cols);
            free(ms);
        } else {
            m->series[k++] = ms;
        }
    }
    m->nseries = k;
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
    size_t at = 0;
    while (at < e->ndbs && strcmp(e->dbs[at]->name, name) != 0)
        at++;
    if (at == e->ndbs) {
        rc = vt_err_set(err, VT_ENOTFOUND, "database not found: %s", name);
        goto done;
    }
    edb *d = e->dbs[at];
    memmove(e->dbs + at, e->dbs + at + 1, (e->ndbs - at - 1) * sizeof *e->dbs);
    e->ndbs--;
    memtable_forget_db(e->active, d);
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
        cb(ctx, e->dbs[i]->name);
    pthread_rwlock_unlock(&e->lock);
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
} batch_type;

vt_rc engine_check_types(engine *e, const char *db, const vt_point *pts, size_t n,
                         bool *rejected, size_t *nrejected, vt_err *err)
{
    size_t nrej = 0;
    vt_rc rc = VT_OK;
    batch_type *seen = NULL;
    size_t nseen = 0, seen_cap = 0;
    bool first = true;
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
            size_t s;
            for (s = nseen; s-- > 0;)
                if (vt_str_eq(seen[s].field, fl->key) && vt_str_eq(seen[s].meas, p->measurement))
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
                                             have != VT_TYPE_NONE ? have : fl->value.type};
                have = seen[nseen - 1].type;
            }
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
done:
    pthread_rwlock_unlock(&e->lock);
    free(seen);
    if (nrejected)
        *nrejected = nrej;
    return rc;
}

/* Looks up or creates the series of p; NULL with *skip when the point must be skipped. */
static vt_rc apply_point(engine *e, edb *d, const vt_point *p, const uint8_t *key, size_t klen,
                         uint64_t h, bool *skip, vt_err *err)
{
    *skip = false;
    if (p->nfields == 0 || p->measurement.len == 0) {
        *skip = true;
        return VT_OK;
    }
    sidx_series *s = sidx_find(&d->idx, key, klen, h);
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
        mt_column *c = NULL;
        /* fast path: the memtable column is usually found by name directly */
        for (size_t k = 0; k < ms->ncols; k++)
            if (ms->cols[k].nlen == fl->key.len &&
                memcmp(ms->cols[k].name, fl->key.ptr, fl->key.len) == 0) {
                c = &ms->cols[k];
                break;
            }
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
            rc = apply_point(e, d, &pts[i], base + keys[i].off, keys[i].len, keys[i].hash, &skip,
                             err);
        } else {
            vt_buf *kb = &e->keybuf;
            vt_buf_reset(kb);
            series_key_build(kb, pts[i].measurement, pts[i].tags, pts[i].ntags);
            if (kb->oom)
                rc = vt_err_set(err, VT_ENOMEM, "apply: out of memory");
            else
                rc = apply_point(e, d, &pts[i], kb->data, kb->len, sidx_hash(kb->data, kb->len),
                                 &skip, err);
        }
        if (rc != VT_OK) {
            fail_sticky(e, rc, err); /* the memtable may hold part of the batch */
            goto done;
        }
        nskip += skip;
    }
    note_seq(e, seq);
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
    return apply_points(e, seq, db, pts, NULL, NULL, n, skipped, err);
}

vt_rc engine_apply_keyed(engine *e, uint64_t seq, const char *db, const vt_point *pts,
                         const uint8_t *base, const engine_key *keys, size_t n, size_t *skipped,
                         vt_err *err)
{
    return apply_points(e, seq, db, pts, base, keys, n, skipped, err);
}

vt_rc engine_flush(engine *e, vt_err *err)
{
    token_take(e);
    pthread_rwlock_wrlock(&e->lock);
    vt_rc rc = flush_locked(e, err);
    pthread_rwlock_unlock(&e->lock);
    token_give(e);
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

bool engine_failed(engine *e)
{
    pthread_rwlock_rdlock(&e->lock);
    bool v = e->failed;
    pthread_rwlock_unlock(&e->lock);
    return v;
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
    return rc->cb(rc->ctx, &p);
}

static const mt_column *mt_find_col(const mt_series *ms, const char *field, size_t flen)
{
    for (size_t k = 0; ms && k < ms->ncols; k++)
        if (ms->cols[k].nlen == flen && memcmp(ms->cols[k].name, field, flen) == 0)
            return &ms->cols[k];
    return NULL;
}

vt_rc engine_read(engine *e, const char *db, uint64_t series_id, const char *field, int64_t tmin,
                  int64_t tmax, bool (*cb)(void *ctx, const engine_points *pts), void *ctx,
                  vt_err *err)
{
    vt_rc rc = VT_OK;
    src *srcs = NULL;
    size_t ns = 0;
    pthread_rwlock_rdlock(&e->lock);
    edb *d = db_find(e, db);
    if (!d) {
        rc = vt_err_set(err, VT_ENOTFOUND, "database not found: %s", db);
        goto done;
    }
    sidx_series *s = sidx_find_id(&d->idx, series_id);
    if (!s) {
        rc = vt_err_set(err, VT_ENOTFOUND, "series %" PRIu64 " not found in database %s",
                        series_id, db);
        goto done;
    }
    size_t flen = strlen(field);
    int fi = sidx_series_field(s, field, flen);
    if (fi < 0 || tmin > tmax)
        goto done;
    vt_type type = s->fields[fi].type;
    srcs = calloc(d->nsegs + 2, sizeof *srcs);
    if (!srcs) {
        rc = vt_err_set(err, VT_ENOMEM, "read: out of memory");
        goto done;
    }
    const mt_series *mss[2] = {s->mt_gen == e->active->gen ? s->mt_active : NULL, s->mt_imm};
    for (int k = 0; k < 2; k++) {
        const mt_column *c = mt_find_col(mss[k], field, flen);
        if (!c || c->type != type)
            continue;
        src *sr = &srcs[ns];
        seg_col_init(&sr->col, type);
        ns++;
        if (!mt_column_snapshot(c, tmin, tmax, &sr->col)) {
            rc = vt_err_set(err, VT_ENOMEM, "read: out of memory");
            goto done;
        }
    }
    for (size_t k = d->nsegs; k-- > 0;) {
        bool added;
        src_segment(&srcs[ns], d->segs[k], series_id, field, flen, type, tmin, tmax, &added);
        if (added)
            ns++;
    }
    read_ctx rctx = {cb, ctx};
    rc = merge_sources(srcs, ns, type, read_emit, &rctx, err);
done:
    pthread_rwlock_unlock(&e->lock);
    if (srcs)
        srcs_free(srcs, ns);
    return rc;
}

void engine_get_stats(engine *e, engine_stats *st)
{
    memset(st, 0, sizeof *st);
    pthread_rwlock_rdlock(&e->lock);
    for (size_t i = 0; i < e->ndbs; i++) {
        st->series += e->dbs[i]->idx.n;
        st->segments += (unsigned)e->dbs[i]->nsegs;
        for (size_t s = 0; s < e->dbs[i]->nsegs; s++)
            st->segment_bytes += e->dbs[i]->segs[s]->size;
    }
    st->memtable_points = e->active->points + (e->imm ? e->imm->points : 0);
    st->memtable_bytes = e->active->bytes + (e->imm ? e->imm->bytes : 0);
    st->flushes = e->flushes;
    st->compactions = e->compactions;
    st->corrupt_blocks = atomic_load(&e->corrupt_blocks);
    pthread_rwlock_unlock(&e->lock);
}

/* ---- offline verification ---- */

unsigned engine_verify(const char *dir, engine_verify_report report, void *ctx, unsigned *files,
                       uint64_t *blocks)
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
    for (size_t i = 0; i < m.ndbs; i++) {
        for (size_t s = 0; s < m.dbs[i].nsegments; s++) {
            manifest_segment_path(path, sizeof path, dir, m.dbs[i].id, m.dbs[i].segments[s]);
            seg_reader *r;
            vt_err_clear(&err);
            nfiles++;
            if (seg_open_file(path, &r, &err) != VT_OK) {
                if (report)
                    report(ctx, path, 0, err.msg);
                problems++;
                continue;
            }
            if (r->segment_id != m.dbs[i].segments[s]) {
                if (report)
                    report(ctx, path, 8, "segment id in the header does not match the manifest");
                problems++;
            }
            problems += seg_verify(r, report, ctx, &nblocks);
            seg_unref(r);
        }
    }
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
