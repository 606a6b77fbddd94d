/*
 * engine/memtable.c — see memtable.h.
 *
 * Memory accounting: bytes counts the capacity of every column array, the string chunks and
 * a fixed overhead per series and column; growth doubles, so appends are amortised O(1) and
 * there is no allocation per point.
 *
 * Column arrays come from the engine's column heap (colheap.h) when the memtable has one:
 * power-of-two blocks in huge-page slabs. An outgrown array goes back to the heap at once and
 * merges with its free neighbours, and a flushed memtable's arrays go back when it is freed,
 * so a steady writer's memtables reuse memory that is already mapped instead of asking malloc
 * for fresh pages that fault in one by one. A memtable without a heap (NULL) uses malloc.
 *
 * Columns start empty and grow by doubling. (Until 2026-12, a new memtable reserved each
 * column's count in the previous one, to spare the growth copies. With huge-page slabs that
 * made the whole next memtable resident at once, while the previous one was still being
 * flushed: +20 MiB peak RSS in bench/ingest. The copies from reused slabs cost nothing
 * measurable: docs/BENCHMARKS.md, 2026-12-07 session 11.)
 */
#include "engine/memtable.h"

#include <stdlib.h>
#include <string.h>

#define MT_CHUNK_BYTES (64u * 1024u)

struct mt_chunk {
    mt_chunk *next;
    size_t used, cap;
    char data[];
};

/* ---- column arrays: from the engine's column heap, or malloc when the memtable has none ---- */

static void *array_get(memtable *m, size_t bytes)
{
    return m->heap ? colheap_alloc(m->heap, bytes) : malloc(bytes);
}

static void array_put(memtable *m, void *b, size_t bytes)
{
    if (m->heap)
        colheap_release(m->heap, b, bytes);
    else
        free(b);
}

static void column_release(memtable *m, mt_column *c)
{
    size_t es = seg_type_size(c->type);
    array_put(m, c->time, c->cap * sizeof *c->time);
    array_put(m, c->val, c->cap * es);
    c->time = NULL;
    c->val = NULL;
    c->cap = 0;
}

memtable *memtable_new(uint64_t gen, colheap *heap)
{
    memtable *m = calloc(1, sizeof *m);
    if (m) {
        m->gen = gen;
        m->heap = heap;
    }
    return m;
}

void memtable_free(memtable *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nseries; i++) {
        mt_series *ms = m->series[i];
        for (size_t c = 0; c < ms->ncols; c++)
            column_release(m, &ms->cols[c]);
        free(ms->cols);
        free(ms);
    }
    free(m->series);
    while (m->chunks) {
        mt_chunk *n = m->chunks->next;
        free(m->chunks);
        m->chunks = n;
    }
    free(m);
}

mt_series *memtable_add_series(memtable *m, void *db, sidx_series *s)
{
    if (m->nseries == m->scap) {
        size_t nc = m->scap ? m->scap * 2 : 256;
        mt_series **ns = realloc(m->series, nc * sizeof *ns);
        if (!ns)
            return NULL;
        m->bytes += (nc - m->scap) * sizeof *ns;
        m->series = ns;
        m->scap = nc;
    }
    mt_series *ms = calloc(1, sizeof *ms);
    if (!ms)
        return NULL;
    ms->db = db;
    ms->series = s;
    m->series[m->nseries++] = ms;
    m->bytes += sizeof *ms;
    return ms;
}

/* Doubles c's capacity (8 for an empty column; capacities are powers of two, like the heap's
 * blocks) and counts the new room in m->bytes; false on out-of-memory (c unchanged). */
static bool column_grow(memtable *m, mt_column *c)
{
    size_t es = seg_type_size(c->type);
    if (c->cap > SIZE_MAX / 64)
        return false;
    size_t pow2 = c->cap ? c->cap * 2 : 8;
    int64_t *nt = array_get(m, pow2 * sizeof *nt);
    void *nv = nt ? array_get(m, pow2 * es) : NULL;
    if (!nv) {
        array_put(m, nt, pow2 * sizeof *nt);
        return false;
    }
    if (c->n) {
        memcpy(nt, c->time, c->n * sizeof *nt);
        memcpy(nv, c->val, c->n * es);
    }
    array_put(m, c->time, c->cap * sizeof *c->time);
    array_put(m, c->val, c->cap * es);
    m->bytes += (pow2 - c->cap) * (sizeof *c->time + es);
    c->time = nt;
    c->val = nv;
    c->cap = pow2;
    return true;
}

mt_column *memtable_column(memtable *m, mt_series *ms, const char *name, size_t nlen, vt_type type)
{
    mt_column *have = mt_series_column(ms, name, nlen);
    if (have)
        return have;
    if (ms->ncols == ms->ccap) {
        size_t nc = ms->ccap ? ms->ccap * 2 : 1;
        mt_column *ncols = realloc(ms->cols, nc * sizeof *ncols);
        if (!ncols)
            return NULL;
        m->bytes += (nc - ms->ccap) * sizeof *ncols;
        ms->cols = ncols;
        ms->ccap = nc;
    }
    mt_column *c = &ms->cols[ms->ncols++];
    memset(c, 0, sizeof *c);
    c->name = name;
    c->nlen = nlen;
    c->type = type;
    c->sorted = true;
    return c;
}

static const char *store_string(memtable *m, vt_str s)
{
    if (s.len == 0)
        return "";
    mt_chunk *c = m->chunks;
    if (!c || c->cap - c->used < s.len) {
        size_t cap = s.len > MT_CHUNK_BYTES ? s.len : MT_CHUNK_BYTES;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->used = 0;
        c->cap = cap;
        /* a big string gets its own chunk behind the current one, keeping the current's room */
        if (cap > MT_CHUNK_BYTES && m->chunks) {
            c->next = m->chunks->next;
            m->chunks->next = c;
        } else {
            c->next = m->chunks;
            m->chunks = c;
        }
        m->bytes += sizeof *c + cap;
    }
    char *p = c->data + c->used;
    memcpy(p, s.ptr, s.len);
    c->used += s.len;
    return p;
}

bool memtable_append(memtable *m, mt_column *c, int64_t time, const vt_value *v)
{
    size_t es = seg_type_size(c->type);
    if (c->n == c->cap && !column_grow(m, c))
        return false;
    uint8_t *slot = (uint8_t *)c->val + c->n * es;
    /* constant sizes, so each copy is a store and not a call to memcpy */
    switch (c->type) {
    case VT_TYPE_FLOAT:
        memcpy(slot, &v->v.f, sizeof v->v.f);
        break;
    case VT_TYPE_INT:
        memcpy(slot, &v->v.i, sizeof v->v.i);
        break;
    case VT_TYPE_UINT:
        memcpy(slot, &v->v.u, sizeof v->v.u);
        break;
    case VT_TYPE_BOOL:
        memcpy(slot, &v->v.b, sizeof v->v.b);
        break;
    default: {
        vt_str s = {store_string(m, v->v.s), v->v.s.len};
        if (!s.ptr)
            return false;
        memcpy(slot, &s, sizeof s);
        break;
    }
    }
    if (c->n > 0 && time <= c->time[c->n - 1])
        c->sorted = false;
    c->time[c->n++] = time;
    m->points++;
    return true;
}

size_t mt_column_delete(memtable *m, mt_column *c, int64_t tmin, int64_t tmax)
{
    size_t es = seg_type_size(c->type), k = 0;
    uint8_t *val = c->val;
    for (size_t i = 0; i < c->n; i++) {
        if (c->time[i] >= tmin && c->time[i] <= tmax)
            continue;
        if (k != i) {
            c->time[k] = c->time[i];
            memcpy(val + k * es, val + i * es, es);
        }
        k++;
    }
    size_t removed = c->n - k;
    c->n = k;
    m->points -= removed;
    return removed;
}

static void series_slot_free(memtable *m, mt_series *ms)
{
    for (size_t c = 0; c < ms->ncols; c++) {
        m->points -= ms->cols[c].n;
        column_release(m, &ms->cols[c]);
    }
    free(ms->cols);
    free(ms);
}

/* Removes and frees the slots of database db (NULL: the slots marked as victims). */
static void remove_slots_of(memtable *m, const void *db)
{
    size_t k = 0;
    for (size_t i = 0; i < m->nseries; i++) {
        mt_series *ms = m->series[i];
        if (ms->db == db)
            series_slot_free(m, ms);
        else
            m->series[k++] = ms;
    }
    m->nseries = k;
}

void memtable_remove_series(memtable *m, mt_series *const *v, size_t n)
{
    if (n == 0)
        return;
    for (size_t i = 0; i < n; i++)
        v[i]->db = NULL; /* marks the victims */
    remove_slots_of(m, NULL);
}

void memtable_remove_db(memtable *m, const void *db)
{
    if (db)
        remove_slots_of(m, db);
}

bool mt_series_has_points(const mt_series *ms)
{
    for (size_t c = 0; ms && c < ms->ncols; c++)
        if (ms->cols[c].n > 0)
            return true;
    return false;
}

typedef struct mt_order {
    int64_t time;
    size_t idx;
} mt_order;

/* Sorts v[0..n) by time, stably (v is built in write order, so a later write of a time stays
 * after an earlier one). A column out of order is usually a few ascending runs interleaved
 * (concurrent writers, each in time order): a natural merge sort merges the runs it finds,
 * O(n log runs), instead of sorting from scratch. Returns false when out of memory. */
static bool order_sort(mt_order *v, size_t n)
{
    if (n < 2)
        return true;
    size_t nruns = 0;
    size_t *runs = malloc((n + 1) * sizeof *runs); /* run i is [runs[i], runs[i + 1]) */
    mt_order *tmp = malloc(n * sizeof *tmp);
    if (!runs || !tmp) {
        free(runs);
        free(tmp);
        return false;
    }
    for (size_t i = 0; i < n; i++)
        if (i == 0 || v[i].time < v[i - 1].time)
            runs[nruns++] = i;
    runs[nruns] = n;
    mt_order *src = v, *dst = tmp;
    while (nruns > 1) {
        size_t out = 0;
        for (size_t r = 0; r < nruns; r += 2) {
            size_t a = runs[r], m = runs[r + 1], b = r + 2 <= nruns ? runs[r + 2] : m;
            if (r + 1 == nruns) { /* an odd run out: copied as it is */
                memcpy(dst + a, src + a, (m - a) * sizeof *dst);
                runs[out++] = a;
                continue;
            }
            size_t i = a, j = m, k = a;
            while (i < m && j < b)
                dst[k++] = src[j].time < src[i].time ? src[j++] : src[i++];
            memcpy(dst + k, src + i, (m - i) * sizeof *dst);
            k += m - i;
            memcpy(dst + k, src + j, (b - j) * sizeof *dst);
            runs[out++] = a;
        }
        runs[out] = n;
        nruns = out;
        mt_order *t = src;
        src = dst;
        dst = t;
    }
    if (src != v)
        memcpy(v, src, n * sizeof *v);
    free(runs);
    free(tmp);
    return true;
}

bool mt_column_snapshot(const mt_column *c, int64_t tmin, int64_t tmax, seg_col *out)
{
    size_t es = seg_type_size(c->type);
    if (c->sorted) {
        size_t lo = 0, hi = c->n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (c->time[mid] < tmin)
                lo = mid + 1;
            else
                hi = mid;
        }
        size_t end = lo;
        hi = c->n;
        while (end < hi) {
            size_t mid = end + (hi - end) / 2;
            if (c->time[mid] <= tmax)
                end = mid + 1;
            else
                hi = mid;
        }
        size_t k = end - lo;
        if (!seg_col_reserve(out, k))
            return false;
        if (k) {
            memcpy(out->time + out->n, c->time + lo, k * sizeof(int64_t));
            memcpy((uint8_t *)out->val + out->n * es, (const uint8_t *)c->val + lo * es, k * es);
        }
        out->n += k;
        return true;
    }
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++)
        if (c->time[i] >= tmin && c->time[i] <= tmax)
            k++;
    if (k == 0)
        return true;
    mt_order *ord = malloc(k * sizeof *ord);
    if (!ord)
        return false;
    k = 0;
    for (size_t i = 0; i < c->n; i++)
        if (c->time[i] >= tmin && c->time[i] <= tmax)
            ord[k++] = (mt_order){c->time[i], i};
    if (!order_sort(ord, k) || !seg_col_reserve(out, k)) {
        free(ord);
        return false;
    }
    for (size_t i = 0; i < k; i++) {
        if (i + 1 < k && ord[i + 1].time == ord[i].time)
            continue; /* a later write of the same time wins */
        out->time[out->n] = ord[i].time;
        uint8_t *to = (uint8_t *)out->val + out->n * es;
        const uint8_t *from = (const uint8_t *)c->val + ord[i].idx * es;
        if (es == 8)
            memcpy(to, from, 8); /* floats and integers: one move, not a call */
        else
            memcpy(to, from, es);
        out->n++;
    }
    free(ord);
    return true;
}
