/*
 * ingest/loader.c — one file -> ledger + journal (contract and crash story in loader.h).
 *
 * NOTES
 *  1. Change detection: size + mtime equal to the loaded row -> unchanged without reading the
 *     file. Otherwise the content hash (XXH3-128 of the bytes, hex) decides: the same hash only
 *     refreshes size/mtime in the row. A new file is hashed while it loads (one read).
 *  2. Batching: the ONS reader (ons_csv.h) or the LP file yields whole lines; a batch of
 *     batch_bytes of line protocol goes to node_write as one journal record. The seq range and
 *     time range of the file are the union over its batches.
 *  3. Line protocol files: a chunk is cut at its last newline, the tail carried to the next;
 *     lines node_write rejects are counted (rows_rejected) and the first error kept. Their
 *     measurements (for deletion on reload) are collected from the line starts.
 *  4. Deletion on reload: node_delete of every series of each measurement the previous version
 *     wrote, over [del_min, del_max], in the database's default retention policy store.
 *  5. An ONS load is a two-stage pipeline: while a writer thread journals, applies and fsyncs
 *     batch k (node_write), the loading thread converts batch k+1; buffers are swapped, never
 *     copied, and every result is accounted for on the loading thread (the row has one owner).
 *     Journal order is the file's order: one batch in flight at a time.
 *  6. Points per (measurement, UTC hour), the expectation `volta check` compares the store
 *     with (meta_hours_put): node_write_observed hands back the points each write journaled
 *     (parsed by the write path itself, type-checked, inside the retention policy), and they are
 *     counted into the batch's hash map of (measurement index, hour), with no allocation per
 *     point. When the count is the write's res->points the batch joins the file's counts; when
 *     it is not (a concurrent write's type conflict skipped some at apply) the file gets no
 *     histogram and the check estimates it. The histogram is stored while the row is still
 *     `loading`, so a crash leaves nothing that counts; it replaces the previous version's.
 */
#include "ingest/loader.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>
#include <zlib.h>

#include "common/filehash.h"
#include "ingest/ons_csv.h"

#define CHUNK_BYTES ((size_t)1 << 20)
#define DEFAULT_BATCH_BYTES ((size_t)4 << 20)
#define MAX_REJECTS_REPORTED 1000

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

ingest_kind ingest_classify(const char *relpath, char *dataset, size_t cap)
{
    const char *base = strrchr(relpath, '/');
    base = base ? base + 1 : relpath;
    if (!base[0] || base[0] == '.' || ends_with(base, ".tmp") || ends_with(base, ".part") ||
        ends_with(base, "~"))
        return INGEST_IGNORE;
    if (ends_with(base, ".lp.gz")) {
        snprintf(dataset, cap, "lp");
        return INGEST_LP_GZ;
    }
    if (ends_with(base, ".lp")) {
        snprintf(dataset, cap, "lp");
        return INGEST_LP;
    }
    if (!ends_with(base, ".csv"))
        return INGEST_IGNORE;
    /* the innermost dataset=<name> partition wins */
    ons_dataset d = ONS_UNKNOWN;
    for (const char *p = relpath; (p = strstr(p, "dataset=")) != NULL; p += 8) {
        if (p != relpath && p[-1] != '/')
            continue;
        const char *v = p + 8;
        size_t len = strcspn(v, "/");
        ons_dataset pd = ons_dataset_parse(v, len);
        if (pd != ONS_UNKNOWN)
            d = pd;
    }
    if (d == ONS_UNKNOWN)
        d = ons_dataset_from_filename(base);
    if (d == ONS_UNKNOWN)
        return INGEST_IGNORE;
    snprintf(dataset, cap, "%s", ons_dataset_name(d));
    return INGEST_ONS_CSV;
}

/* ---- hashing (note 1) ---- */

static vt_rc hash_file(const char *path, char *hex, size_t cap, vt_err *err)
{
    char h[VT_FILEHASH_HEX + 1];
    vt_rc rc = vt_hash_file(path, h, NULL, err);
    if (rc == VT_OK)
        snprintf(hex, cap, "%s", h);
    return rc;
}

/* ---- points per (measurement, hour) (note 6) ---- */

#define HOURS_MAX_PAIRS ((size_t)1 << 20) /* a file with more (measurement, hour) pairs: none */
#define HOUR_NS INT64_C(3600000000000)

static int64_t hour_of(int64_t t)
{
    return t >= 0 ? t / HOUR_NS : -((-(t + 1)) / HOUR_NS) - 1;
}

/* (measurement index + 1, hour) -> points; open addressing, linear probing, load <= 1/2 */
typedef struct hour_slot {
    uint32_t meas; /* 0 = empty */
    int64_t hour;
    uint64_t points;
} hour_slot;

typedef struct hour_map {
    hour_slot *slots;
    size_t cap, used;
    size_t last;    /* the slot added to last (consecutive points share it) */
    uint64_t total; /* points counted */
} hour_map;

typedef struct hour_counts {
    /* measurement names (unescaped), NUL-terminated in `names`; index i at off[i] */
    vt_buf names;
    uint32_t *off;
    size_t nnames, off_cap;
    uint32_t *name_slots; /* name hash table: index + 1, 0 = empty */
    size_t name_cap;
    uint32_t last;        /* the index + 1 of the last measurement seen (points repeat it) */
    hour_map file;        /* the file's counts */
    hour_map batch;       /* the batch being written */
    bool inexact;         /* a batch's count differed from what it wrote: no histogram */
    bool oom;
} hour_counts;

static void hour_map_free(hour_map *h)
{
    free(h->slots);
    memset(h, 0, sizeof *h);
}

static void hour_map_clear(hour_map *h)
{
    if (h->used)
        memset(h->slots, 0, h->cap * sizeof *h->slots);
    h->used = 0;
    h->total = 0;
}

static size_t hour_hash(uint32_t meas, int64_t hour)
{
    uint64_t x = ((uint64_t)hour * UINT64_C(0x9E3779B97F4A7C15)) ^ ((uint64_t)meas << 32) ^ meas;
    x ^= x >> 29;
    return (size_t)x;
}

/* Adds points to (meas, hour); false when out of memory or past HOURS_MAX_PAIRS. */
static bool hour_map_add(hour_map *h, uint32_t meas, int64_t hour, uint64_t points)
{
    if (h->cap && h->slots[h->last].meas == meas && h->slots[h->last].hour == hour) {
        h->slots[h->last].points += points;
        h->total += points;
        return true;
    }
    if ((h->used + 1) * 2 > h->cap) {
        if (h->used >= HOURS_MAX_PAIRS)
            return false;
        size_t ncap = h->cap ? h->cap * 2 : 64;
        hour_slot *ns = calloc(ncap, sizeof *ns);
        if (!ns)
            return false;
        for (size_t i = 0; i < h->cap; i++) {
            if (!h->slots[i].meas)
                continue;
            size_t j = hour_hash(h->slots[i].meas, h->slots[i].hour) & (ncap - 1);
            while (ns[j].meas)
                j = (j + 1) & (ncap - 1);
            ns[j] = h->slots[i];
        }
        free(h->slots);
        h->slots = ns;
        h->cap = ncap;
    }
    size_t j = hour_hash(meas, hour) & (h->cap - 1);
    while (h->slots[j].meas && (h->slots[j].meas != meas || h->slots[j].hour != hour))
        j = (j + 1) & (h->cap - 1);
    if (!h->slots[j].meas) {
        h->slots[j].meas = meas;
        h->slots[j].hour = hour;
        h->used++;
    }
    h->slots[j].points += points;
    h->total += points;
    h->last = j;
    return true;
}

static void hour_counts_init(hour_counts *hc)
{
    memset(hc, 0, sizeof *hc);
    vt_buf_init(&hc->names);
}

static void hour_counts_free(hour_counts *hc)
{
    vt_buf_free(&hc->names);
    free(hc->off);
    free(hc->name_slots);
    hour_map_free(&hc->file);
    hour_map_free(&hc->batch);
}

static size_t name_hash(const char *s, size_t len)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)s[i]) * UINT64_C(1099511628211);
    return (size_t)h;
}

/* The index + 1 of measurement name[0..len) (unescaped), added when new; 0 = out of memory. */
static uint32_t name_index(hour_counts *hc, const char *name, size_t len)
{
    if (hc->name_cap) {
        size_t j = name_hash(name, len) & (hc->name_cap - 1);
        for (; hc->name_slots[j]; j = (j + 1) & (hc->name_cap - 1)) {
            const char *s = (const char *)hc->names.data + hc->off[hc->name_slots[j] - 1];
            if (strlen(s) == len && memcmp(s, name, len) == 0)
                return hc->name_slots[j];
        }
    }
    if (memchr(name, '\0', len) || hc->nnames >= UINT32_MAX / 2 ||
        hc->names.len > UINT32_MAX - len - 1)
        return 0;
    if ((hc->nnames + 1) * 2 > hc->name_cap) {
        size_t ncap = hc->name_cap ? hc->name_cap * 2 : 16;
        uint32_t *ns = calloc(ncap, sizeof *ns);
        if (!ns)
            return 0;
        for (size_t i = 0; i < hc->nnames; i++) {
            const char *s = (const char *)hc->names.data + hc->off[i];
            size_t j = name_hash(s, strlen(s)) & (ncap - 1);
            while (ns[j])
                j = (j + 1) & (ncap - 1);
            ns[j] = (uint32_t)(i + 1);
        }
        free(hc->name_slots);
        hc->name_slots = ns;
        hc->name_cap = ncap;
    }
    if (hc->nnames == hc->off_cap) {
        size_t ncap = hc->off_cap ? hc->off_cap * 2 : 16;
        uint32_t *no = realloc(hc->off, ncap * sizeof *no);
        if (!no)
            return 0;
        hc->off = no;
        hc->off_cap = ncap;
    }
    uint32_t off = (uint32_t)hc->names.len;
    vt_buf_append(&hc->names, name, len);
    vt_buf_putc(&hc->names, '\0');
    if (hc->names.oom)
        return 0;
    hc->off[hc->nnames] = off;
    uint32_t idx = (uint32_t)++hc->nnames;
    size_t j = name_hash(name, len) & (hc->name_cap - 1);
    while (hc->name_slots[j])
        j = (j + 1) & (hc->name_cap - 1);
    hc->name_slots[j] = idx;
    return idx;
}

/* node_write_observed's observer (note 6): the points a write journaled, into the batch's map
 * (cleared before the write). */
static void count_points(void *ctx, const vt_point *pts, size_t n)
{
    hour_counts *hc = ctx;
    for (size_t i = 0; i < n && !hc->oom; i++) {
        const vt_str *m = &pts[i].measurement;
        uint32_t idx = hc->last;
        if (!idx || strlen((const char *)hc->names.data + hc->off[idx - 1]) != m->len ||
            memcmp(hc->names.data + hc->off[idx - 1], m->ptr, m->len) != 0)
            idx = hc->last = name_index(hc, m->ptr, m->len);
        if (!idx || !hour_map_add(&hc->batch, idx, hour_of(pts[i].time), 1))
            hc->oom = true;
    }
}

/* A batch node_write has answered: its counts join the file's when they are the points it
 * accepted; otherwise the file gets no histogram. */
static void hours_settle(hour_counts *hc, const node_write_result *res)
{
    if (hc->inexact || hc->oom)
        return;
    if (hc->batch.total != res->points) {
        hc->inexact = true;
        return;
    }
    hour_map *b = &hc->batch;
    for (size_t i = 0; i < b->cap; i++)
        if (b->slots[i].meas &&
            !hour_map_add(&hc->file, b->slots[i].meas, b->slots[i].hour, b->slots[i].points)) {
            hc->oom = true;
            return;
        }
}

/* Stores the file's histogram (none when it could not be counted) with its ledger row. */
static vt_rc hours_store(hour_counts *hc, meta *m, const meta_file *f, vt_err *err)
{
    bool none = hc->inexact || hc->oom || hc->file.total != f->points;
    size_t n = none ? 0 : hc->file.used;
    meta_hour_count *rows = n ? malloc(n * sizeof *rows) : NULL;
    if (n && !rows)
        n = 0; /* out of memory: the file is estimated rather than the load failed */
    size_t k = 0;
    for (size_t i = 0; i < hc->file.cap && k < n; i++) {
        const hour_slot *s = &hc->file.slots[i];
        if (!s->meas)
            continue;
        rows[k].measurement = (const char *)hc->names.data + hc->off[s->meas - 1];
        rows[k].hour = s->hour;
        rows[k].points = s->points;
        k++;
    }
    vt_rc rc = meta_hours_put(m, f->id, rows, k, err);
    free(rows);
    return rc;
}

/* ---- one load ---- */

typedef struct load_ctx {
    node *n;
    const loader_options *o;
    const char *db;
    meta_file *f;
    const char *label;
    uint64_t rejects_reported;
    bool any_points;
    /* LP files: measurements seen (note 3); "*" once they do not fit or one holds a comma */
    char meas[4096];
    vt_err *err;
    loader_sink_fn sink; /* loader_read_file: batches go here instead of node_write */
    void *sink_ctx;
    uint64_t write_rejected; /* lines node_write refused or dropped (retention) */
    hour_counts *hours; /* points per (measurement, hour); NULL when not counted (note 6) */
} load_ctx;

static void on_reject(void *vctx, uint64_t line, const char *reason)
{
    load_ctx *c = vctx;
    if (!c->f->error[0])
        snprintf(c->f->error, sizeof c->f->error, "%s:%" PRIu64 ": %s", c->label, line, reason);
    if (c->o->reject && c->rejects_reported++ < MAX_REJECTS_REPORTED)
        c->o->reject(c->o->ctx, c->label, line, reason);
}

/* Writes a batch of whole lines; counts what node_write rejected (LP files). */
static vt_rc account(load_ctx *c, vt_rc rc, const node_write_result *r, const vt_err *werr,
                     uint64_t first_line);

/* node_write, counting the points it journals per (measurement, hour) when the file's
 * histogram is still being kept (note 6). */
static vt_rc node_write_counted(load_ctx *c, const char *data, size_t len,
                                node_write_result *res, vt_err *werr)
{
    hour_counts *hc = c->hours;
    bool counting = hc && !hc->oom && !hc->inexact;
    if (counting)
        hour_map_clear(&hc->batch);
    return node_write_observed(c->n, c->db, "", LP_PRECISION_NS, wall_ns(), data, len,
                               counting ? count_points : NULL, hc, res, werr);
}

static vt_rc write_batch(load_ctx *c, const char *data, size_t len, uint64_t first_line)
{
    if (len == 0)
        return VT_OK;
    if (c->sink) {
        uint64_t lines = 0;
        for (size_t i = 0; i < len; i++)
            lines += data[i] == '\n';
        c->f->points += lines;
        return c->sink(c->sink_ctx, data, len, c->err);
    }
    node_write_result res;
    vt_err werr;
    vt_err_clear(&werr);
    vt_rc rc = node_write_counted(c, data, len, &res, &werr);
    return account(c, rc, &res, &werr, first_line);
}

/* What one node_write did, added to the file's row (always on the loading thread). */
static vt_rc account(load_ctx *c, vt_rc rc, const node_write_result *r, const vt_err *werr,
                     uint64_t first_line)
{
    const node_write_result res = *r;
    if (rc != VT_OK && rc != VT_EPARSE && rc != VT_ETYPE) {
        *c->err = *werr;
        return rc;
    }
    if (c->hours)
        hours_settle(c->hours, &res);
    if (res.lines_rejected || res.retention_dropped) {
        uint64_t refused = res.lines_rejected + res.retention_dropped;
        c->f->rows_rejected += refused;
        c->write_rejected += refused;
        char why[700];
        if (res.retention_dropped && !res.lines_rejected)
            snprintf(why, sizeof why,
                     "%zu points older than the retention policy keeps were "
                     "dropped",
                     res.retention_dropped);
        else
            snprintf(why, sizeof why, "%s", res.error);
        if (c->sink == NULL && first_line)
            snprintf(why + strlen(why), sizeof why - strlen(why),
                     " (batch starting at line %" PRIu64 ")", first_line);
        on_reject(c, first_line, why);
    }
    if (res.points) {
        if (!c->any_points || res.min_time < c->f->min_time)
            c->f->min_time = res.min_time;
        if (!c->any_points || res.max_time > c->f->max_time)
            c->f->max_time = res.max_time;
        c->any_points = true;
        c->f->points += res.points;
    }
    if (res.seq) {
        if (!c->f->seq_first)
            c->f->seq_first = res.seq;
        c->f->seq_last = res.seq;
    }
    return VT_OK;
}

/* The measurement of each line of an LP chunk, collected unescaped into c->meas (note 3). A name
 * holding a comma, or more names than fit, turn the list into "*": a reload then deletes every
 * measurement of the database over the file's range (and reloads the files that overlap it). */
static void collect_measurements(load_ctx *c, const char *p, size_t len)
{
    const char *end = p + len;
    while (p < end && strcmp(c->meas, "*") != 0) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        const char *q = p;
        while (q < eol && (*q == ' ' || *q == '\t'))
            q++;
        if (q < eol && *q != '#') {
            char name[512];
            size_t mlen = 0;
            bool comma = false, too_long = false;
            while (q < eol && *q != ',' && *q != ' ') {
                if (*q == '\\' && q + 1 < eol && (q[1] == ',' || q[1] == ' ' || q[1] == '\\'))
                    q++;
                comma |= *q == ',';
                if (mlen + 1 < sizeof name)
                    name[mlen++] = *q;
                else
                    too_long = true;
                q++;
            }
            name[mlen] = '\0';
            bool found = false;
            for (const char *s = c->meas; *s && !found;) {
                size_t sl = strcspn(s, ",");
                found = sl == mlen && memcmp(s, name, mlen) == 0;
                s += sl + (s[sl] == ',');
            }
            size_t used = strlen(c->meas);
            if (!found && mlen) {
                if (comma || too_long || used + mlen + 2 >= sizeof c->meas) {
                    snprintf(c->meas, sizeof c->meas, "*");
                } else {
                    if (used)
                        c->meas[used++] = ',';
                    memcpy(c->meas + used, name, mlen + 1);
                }
            }
        }
        p = eol + 1;
    }
}

/* ---- the batch writer (note 5) ---- */

typedef struct batch_writer {
    load_ctx *c;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool busy, stop, pending; /* pending: a finished job not yet accounted for */
    vt_buf job;
    vt_rc rc;
    node_write_result res;
    vt_err err;
} batch_writer;

static void *writer_main(void *arg)
{
    batch_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->busy && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->busy)
            break;
        pthread_mutex_unlock(&w->mu);
        vt_err_clear(&w->err);
        w->rc = node_write_counted(w->c, (const char *)w->job.data, w->job.len, &w->res,
                                   &w->err);
        pthread_mutex_lock(&w->mu);
        w->busy = false;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void writer_start(batch_writer *w, load_ctx *c)
{
    memset(w, 0, sizeof *w);
    w->c = c;
    vt_buf_init(&w->job);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->started = pthread_create(&w->thread, NULL, writer_main, w) == 0;
}

/* Waits for the batch in flight and accounts for it here, on the loading thread. */
static vt_rc writer_wait(batch_writer *w)
{
    pthread_mutex_lock(&w->mu);
    while (w->busy)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    if (!w->pending)
        return VT_OK;
    w->pending = false;
    return account(w->c, w->rc, &w->res, &w->err, 0);
}

/* Hands *lp to the writer (swapping buffers: *lp comes back empty) once the previous batch is
 * done; without a thread, writes it here. */
static vt_rc writer_submit(batch_writer *w, vt_buf *lp)
{
    if (!w->started) {
        vt_rc rc = write_batch(w->c, (const char *)lp->data, lp->len, 0);
        vt_buf_reset(lp);
        return rc;
    }
    vt_rc rc = writer_wait(w);
    if (rc != VT_OK || lp->len == 0)
        return rc;
    vt_buf t = w->job;
    w->job = *lp;
    *lp = t;
    vt_buf_reset(lp);
    pthread_mutex_lock(&w->mu);
    w->busy = w->pending = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return VT_OK;
}

/* Waits for the last batch (accounted unless an earlier error is being returned) and stops. */
static vt_rc writer_finish(batch_writer *w, vt_rc rc)
{
    if (w->started) {
        vt_rc wrc = writer_wait(w);
        if (rc == VT_OK)
            rc = wrc;
        pthread_mutex_lock(&w->mu);
        w->stop = true;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL);
    }
    vt_buf_free(&w->job);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    return rc;
}

static vt_rc load_ons(load_ctx *c, const char *path, XXH3_state_t *hs, uint64_t total)
{
    char dataset[32];
    ingest_classify(c->f->path, dataset, sizeof dataset);
    ons_dataset d = ons_dataset_parse(c->f->dataset, strlen(c->f->dataset));
    ons_reader *r = NULL;
    vt_rc rc = ons_reader_new(d, c->label, on_reject, c, &r, c->err);
    if (rc != VT_OK)
        return rc;
    FILE *fp = fopen(path, "rb");
    uint8_t *buf = malloc(CHUNK_BYTES);
    vt_buf lp;
    vt_buf_init(&lp);
    uint64_t done = 0;
    if (!fp) {
        rc = vt_err_set(c->err, VT_EIO, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (!buf) {
        rc = vt_err_set(c->err, VT_ENOMEM, "out of memory");
        goto out;
    }
    size_t batch = c->o->batch_bytes ? c->o->batch_bytes : DEFAULT_BATCH_BYTES;
    batch_writer w;
    bool async = c->sink == NULL;
    if (async)
        writer_start(&w, c);
    for (;;) {
        size_t got = fread(buf, 1, CHUNK_BYTES, fp);
        if (got == 0) {
            if (ferror(fp))
                rc = vt_err_set(c->err, VT_EIO, "read %s: %s", path, strerror(errno));
            break;
        }
        if (hs)
            XXH3_128bits_update(hs, buf, got);
        rc = ons_reader_feed(r, buf, got, &lp, c->err);
        if (rc != VT_OK)
            break;
        if (!c->meas[0] && ons_reader_dataset(r) != ONS_UNKNOWN)
            snprintf(c->meas, sizeof c->meas, "%s", ons_dataset_measurement(ons_reader_dataset(r)));
        if (lp.len >= batch) {
            if (async) {
                rc = writer_submit(&w, &lp);
            } else {
                rc = write_batch(c, (const char *)lp.data, lp.len, 0);
                vt_buf_reset(&lp);
            }
            if (rc != VT_OK)
                break;
        }
        done += got;
        if (c->o->progress)
            c->o->progress(c->o->ctx, done, total);
    }
    if (rc == VT_OK)
        rc = ons_reader_finish(r, &lp, c->err);
    if (rc == VT_OK && lp.oom)
        rc = vt_err_set(c->err, VT_ENOMEM, "out of memory");
    if (rc == VT_OK && async)
        rc = writer_submit(&w, &lp);
    else if (rc == VT_OK)
        rc = write_batch(c, (const char *)lp.data, lp.len, 0);
    if (async)
        rc = writer_finish(&w, rc);
    if (rc == VT_OK) {
        const ons_stats *s = ons_reader_stats(r);
        c->f->rows_read = s->rows_read;
        c->f->rows_loaded =
            s->rows_loaded > c->write_rejected ? s->rows_loaded - c->write_rejected : 0;
        c->f->rows_rejected += s->rows_rejected;
        c->f->rows_empty = s->rows_empty;
        c->f->empty_values = s->empty_values;
        snprintf(c->f->dataset, sizeof c->f->dataset, "%s",
                 ons_dataset_name(ons_reader_dataset(r)));
        snprintf(c->meas, sizeof c->meas, "%s", ons_dataset_measurement(ons_reader_dataset(r)));
    }
out:
    vt_buf_free(&lp);
    free(buf);
    if (fp)
        fclose(fp);
    ons_reader_free(r);
    return rc;
}

static vt_rc load_lp(load_ctx *c, const char *path, bool gz, XXH3_state_t *hs, uint64_t total)
{
    /* the hash is of the file's bytes (compressed for .lp.gz): read them raw for it */
    if (hs) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return vt_err_set(c->err, VT_EIO, "%s: %s", path, strerror(errno));
        uint8_t *b = malloc(CHUNK_BYTES);
        ssize_t r;
        while (b && (r = read(fd, b, CHUNK_BYTES)) > 0)
            XXH3_128bits_update(hs, b, (size_t)r);
        free(b);
        close(fd);
    }
    gzFile gf = gzopen(path, "rb");
    if (!gf)
        return vt_err_set(c->err, VT_EIO, "%s: %s", path, strerror(errno));
    gzbuffer(gf, 256 * 1024);
    size_t batch = c->o->batch_bytes ? c->o->batch_bytes : DEFAULT_BATCH_BYTES;
    vt_buf acc;
    vt_buf_init(&acc);
    vt_rc rc = VT_OK;
    uint64_t lines_before = 0; /* lines fully handed to node_write */
    for (;;) {
        if (!vt_buf_reserve(&acc, CHUNK_BYTES)) {
            rc = vt_err_set(c->err, VT_ENOMEM, "out of memory");
            break;
        }
        int got = gzread(gf, acc.data + acc.len, (unsigned)CHUNK_BYTES);
        if (got < 0) {
            int zerr;
            const char *msg = gzerror(gf, &zerr);
            rc = vt_err_set(c->err, zerr == Z_ERRNO ? VT_EIO : VT_EPARSE, "%s", msg);
            break;
        }
        acc.len += (size_t)got;
        bool eof = got == 0;
        if (eof && gz) {
            int zerr = Z_OK;
            const char *msg = gzerror(gf, &zerr);
            if (zerr == Z_BUF_ERROR) {
                rc = vt_err_set(c->err, VT_EPARSE, "%s: truncated gzip stream (%s)", path, msg);
                break;
            }
        }
        if (c->o->progress && !gz)
            c->o->progress(c->o->ctx, (uint64_t)gzoffset(gf), total);
        if (acc.len < batch && !eof)
            continue;
        /* cut at the last newline (note 3) */
        size_t cut = acc.len;
        if (!eof) {
            while (cut > 0 && acc.data[cut - 1] != '\n')
                cut--;
            if (cut == 0)
                continue; /* one line longer than a batch: keep reading (node limits apply) */
        }
        uint64_t nl = 0;
        for (size_t i = 0; i < cut; i++)
            nl += acc.data[i] == '\n';
        if (cut && acc.data[cut - 1] != '\n')
            nl++;
        collect_measurements(c, (const char *)acc.data, cut);
        c->f->rows_read += nl;
        rc = write_batch(c, (const char *)acc.data, cut, lines_before + 1);
        if (rc != VT_OK)
            break;
        lines_before += nl;
        memmove(acc.data, acc.data + cut, acc.len - cut);
        acc.len -= cut;
        if (eof)
            break;
    }
    gzclose(gf);
    vt_buf_free(&acc);
    if (rc == VT_OK) {
        c->f->rows_loaded = c->f->points;
        if (c->o->progress)
            c->o->progress(c->o->ctx, total, total);
    }
    return rc;
}

static bool collect_name(void *ctx, const char *name)
{
    vt_buf *b = ctx;
    vt_buf_append(b, name, strlen(name) + 1);
    return true;
}

/* Deletes what the previous version of the file wrote (note 4). */
static vt_rc delete_previous(node *n, const char *db, const meta_file *f, vt_err *err)
{
    if (!f->del_measurements[0] || f->del_min > f->del_max)
        return VT_OK;
    char store[ENGINE_STORE_NAME_MAX + 1];
    vt_rc rc = node_resolve_store(n, db, "", store, sizeof store, err);
    if (rc == VT_ENOTFOUND)
        return VT_OK; /* nothing stored */
    if (rc != VT_OK)
        return rc;
    /* the names, NUL-separated: the list, or every measurement of the store for "*" */
    vt_buf names;
    vt_buf_init(&names);
    if (strcmp(f->del_measurements, "*") == 0) {
        rc = engine_foreach_measurement(node_engine(n), store, collect_name, &names, err);
    } else {
        for (const char *s = f->del_measurements; *s;) {
            size_t len = strcspn(s, ",");
            vt_buf_append(&names, s, len);
            vt_buf_putc(&names, '\0');
            s += len + (s[len] == ',');
        }
    }
    if (rc == VT_OK && names.oom)
        rc = vt_err_set(err, VT_ENOMEM, "out of memory");
    for (size_t off = 0; rc == VT_OK && off < names.len;) {
        const char *m = (const char *)names.data + off;
        off += strlen(m) + 1;
        uint64_t *ids = NULL;
        size_t nids = 0;
        rc = engine_series_of_measurement(node_engine(n), store, m, &ids, &nids, err);
        if (rc == VT_OK && nids)
            rc = node_delete(n, store, ids, nids, f->del_min, f->del_max, err);
        free(ids);
        if (rc == VT_ENOTFOUND)
            rc = VT_OK;
    }
    vt_buf_free(&names);
    return rc;
}

static void mark_backends_applied(meta *m, const meta_file *f)
{
    vt_err e;
    vt_err_clear(&e);
    meta_file_applied(m, f->id, "primary", f->finished_at, &e);
    meta_backend *bs = NULL;
    size_t nb = 0;
    if (meta_backend_list(m, &bs, &nb, &e) != VT_OK)
        return;
    for (size_t i = 0; i < nb; i++)
        if (bs[i].cursor >= f->seq_last && f->seq_last)
            meta_files_applied_upto(m, bs[i].name, bs[i].cursor, wall_ns(), NULL, &e);
    free(bs);
}

static vt_rc load_one(node *n, meta *m, const char *path, const char *key, const loader_options *o,
                      bool allow_overlaps, load_result *res, vt_err *err);

/* Other files that wrote into the range just deleted: load them again (loader.h step 2). */
static vt_rc reload_overlaps(node *n, meta *m, const meta_file *f, const loader_options *o,
                             unsigned *count, vt_err *err)
{
    unsigned marked = 0, more = 0;
    const char *db = f->database;
    bool all = strcmp(f->del_measurements, "*") == 0;
    vt_rc rc = meta_file_mark_stale(m, db, all ? NULL : f->dataset, f->del_min, f->del_max, f->id,
                                    &marked, err);
    if (rc == VT_OK && !all && strcmp(f->dataset, "lp") != 0)
        rc = meta_file_mark_stale(m, db, "lp", f->del_min, f->del_max, f->id, &more, err);
    /* an LP file may write the ONS datasets' measurements too */
    for (const char *s = f->del_measurements; rc == VT_OK && *s && strcmp(f->dataset, "lp") == 0;) {
        size_t len = strcspn(s, ",");
        ons_dataset d = ons_dataset_parse(s, len);
        unsigned k = 0;
        if (d != ONS_UNKNOWN)
            rc = meta_file_mark_stale(m, db, ons_dataset_name(d), f->del_min, f->del_max, f->id, &k,
                                      err);
        more += k;
        s += len + (s[len] == ',');
    }
    if (rc != VT_OK || marked + more == 0)
        return rc;
    meta_file *stale = NULL;
    size_t ns = 0;
    rc = meta_file_list(m, META_FILE_STALE, &stale, &ns, err);
    for (size_t i = 0; rc == VT_OK && i < ns; i++) {
        load_result r;
        loader_options oo = *o;
        oo.force = true;
        oo.progress = NULL;
        char full[META_PATH_MAX + 4096];
        if (stale[i].path[0] == '/' || !o->root || !o->root[0])
            snprintf(full, sizeof full, "%s", stale[i].path);
        else
            snprintf(full, sizeof full, "%s/%s", o->root, stale[i].path);
        struct stat st;
        if (stat(full, &st) != 0)
            continue; /* gone from disk: nothing to restore from (stays stale, reported) */
        rc = load_one(n, m, full, stale[i].path, &oo, false, &r, err);
        if (rc == VT_OK)
            (*count)++;
    }
    free(stale);
    return rc;
}

/* An ONS CSV file whose header the reader refuses is refused before anything is deleted: a bad
 * new version must not take the last good one's points with it. VT_OK or VT_EPARSE naming the
 * problem; other files pass. */
static vt_rc precheck_header(const char *path, ingest_kind kind, const char *dataset, vt_err *err)
{
    if (kind != INGEST_ONS_CSV)
        return VT_OK;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return vt_err_set(err, VT_EIO, "%s: %s", path, strerror(errno));
    char *buf = malloc(65536 + 1);
    size_t got = buf ? fread(buf, 1, 65536, fp) : 0;
    fclose(fp);
    if (!buf)
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    char *nl = memchr(buf, '\n', got);
    size_t hlen = nl ? (size_t)(nl - buf) + 1 : got;
    ons_reader *r = NULL;
    vt_rc rc =
        ons_reader_new(ons_dataset_parse(dataset, strlen(dataset)), path, NULL, NULL, &r, err);
    vt_buf out;
    vt_buf_init(&out);
    if (rc == VT_OK)
        rc = ons_reader_feed(r, buf, hlen, &out, err);
    if (rc == VT_OK && !nl)
        rc = ons_reader_finish(r, &out, err); /* the whole file is one line (or empty) */
    vt_buf_free(&out);
    ons_reader_free(r);
    free(buf);
    return rc;
}

/* f's deletion set := (a over [amin, amax]) union (b over [bmin, bmax]); an empty list is no
 * set; a list that does not fit becomes "*". */
static void merge_del(meta_file *f, const char *a, int64_t amin, int64_t amax, const char *b,
                      int64_t bmin, int64_t bmax)
{
    if (!a[0] && !b[0]) {
        f->del_measurements[0] = '\0';
        f->del_min = f->del_max = 0;
        return;
    }
    if (!a[0] || !b[0]) {
        bool only_a = a[0] != '\0';
        snprintf(f->del_measurements, sizeof f->del_measurements, "%s", only_a ? a : b);
        f->del_min = only_a ? amin : bmin;
        f->del_max = only_a ? amax : bmax;
        return;
    }
    size_t la = strlen(a), lb = strlen(b);
    if (strcmp(a, "*") == 0 || strcmp(b, "*") == 0 || la + lb + 2 > sizeof f->del_measurements)
        snprintf(f->del_measurements, sizeof f->del_measurements, "*");
    else if (strcmp(a, b) == 0)
        snprintf(f->del_measurements, sizeof f->del_measurements, "%s", a);
    else
        snprintf(f->del_measurements, sizeof f->del_measurements, "%s,%s", a, b);
    f->del_min = amin < bmin ? amin : bmin;
    f->del_max = amax > bmax ? amax : bmax;
}

static vt_rc load_one(node *n, meta *m, const char *path, const char *key, const loader_options *o,
                      bool allow_overlaps, load_result *res, vt_err *err)
{
    memset(res, 0, sizeof *res);
    int64_t t0 = wall_ns();
    char dataset[32];
    ingest_kind kind = ingest_classify(key, dataset, sizeof dataset);
    if (kind == INGEST_IGNORE) {
        ingest_kind k2 = ingest_classify(path, dataset, sizeof dataset);
        if (k2 == INGEST_IGNORE)
            return vt_err_set(err, VT_EINVAL,
                              "%s: not a file volta loads (ONS CSV named or partitioned by "
                              "dataset, .lp or .lp.gz)",
                              path);
        kind = k2;
    }
    struct stat st;
    if (stat(path, &st) != 0)
        return vt_err_set(err, errno == ENOENT ? VT_ENOTFOUND : VT_EIO, "%s: %s", path,
                          strerror(errno));
    int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    const char *db = o->database && o->database[0] ? o->database : "ons";

    meta_file *f = &res->file;
    meta_file prev;
    vt_rc rc = meta_file_get(m, key, &prev, err);
    bool known = rc == VT_OK;
    if (rc != VT_OK && rc != VT_ENOTFOUND)
        return rc;
    vt_err_clear(err);
    char hash[META_HASH_HEX + 1] = "";
    if (known && (prev.state == META_FILE_LOADED || prev.state == META_FILE_FAILED) && !o->force) {
        load_outcome same =
            prev.state == META_FILE_FAILED ? LOAD_SKIPPED_FAILED : LOAD_SKIPPED_UNCHANGED;
        if (prev.size == (uint64_t)st.st_size && prev.mtime_ns == mtime) {
            *f = prev;
            res->outcome = same;
            return VT_OK;
        }
        rc = hash_file(path, hash, sizeof hash, err);
        if (rc != VT_OK)
            return rc;
        if (strcmp(hash, prev.hash) == 0) { /* touched, not changed (note 1) */
            prev.size = (uint64_t)st.st_size;
            prev.mtime_ns = mtime;
            rc = meta_file_put(m, &prev, err);
            *f = prev;
            res->outcome = same;
            return rc;
        }
    }

    /* the row goes to `loading` before the first journal record (loader.h step 2), with what
     * must be deleted first: what the last loaded version wrote (kept through a failed or
     * interrupted attempt); a stale file is only written again (its range was just deleted) */
    memset(f, 0, sizeof *f);
    if (known) {
        f->id = prev.id;
        f->loads = prev.loads;
        if (prev.state != META_FILE_STALE) {
            snprintf(f->del_measurements, sizeof f->del_measurements, "%s", prev.del_measurements);
            f->del_min = prev.del_min;
            f->del_max = prev.del_max;
        }
    }
    bool had_version = f->del_measurements[0] != '\0';
    snprintf(f->path, sizeof f->path, "%s", key);
    snprintf(f->dataset, sizeof f->dataset, "%s", dataset);
    snprintf(f->database, sizeof f->database, "%s", db);
    f->size = (uint64_t)st.st_size;
    f->mtime_ns = mtime;
    snprintf(f->hash, sizeof f->hash, "%s", hash);
    f->state = META_FILE_LOADING;
    f->started_at = t0;
    f->loads++;
    rc = meta_file_put(m, f, err);
    if (rc != VT_OK)
        return rc;

    /* a header the reader refuses: refused before the previous version's points are deleted */
    vt_err herr;
    vt_err_clear(&herr);
    if (precheck_header(path, kind, dataset, &herr) == VT_EPARSE) {
        if (!f->hash[0] && hash_file(path, f->hash, sizeof f->hash, err) != VT_OK)
            return err->rc;
        snprintf(f->error, sizeof f->error, "%s", herr.msg);
        f->state = META_FILE_FAILED;
        f->finished_at = wall_ns();
        rc = meta_file_put(m, f, err);
        res->outcome = LOAD_FAILED;
        res->seconds = (double)(f->finished_at - t0) / 1e9;
        return rc;
    }

    /* the database, then what the previous version wrote */
    rc = node_create_db(n, db, err);
    if (rc == VT_OK)
        rc = delete_previous(n, db, f, err);
    if (rc == VT_OK && allow_overlaps && f->del_measurements[0])
        rc = reload_overlaps(n, m, f, o, &res->overlaps_reloaded, err);
    if (rc != VT_OK)
        return rc; /* the row stays `loading`: the next scan retries */

    /* the load itself: counts start from zero */
    char *keep_del = strdup(f->del_measurements);
    if (!keep_del)
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    int64_t keep_min = f->del_min, keep_max = f->del_max;
    f->min_time = f->max_time = 0;
    f->error[0] = '\0';
    hour_counts *hours = malloc(sizeof *hours);
    if (!hours) {
        free(keep_del);
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    }
    hour_counts_init(hours);
    load_ctx c = {.n = n, .o = o, .db = db, .f = f, .label = path, .err = err, .hours = hours};
    XXH3_state_t *hs = NULL;
    if (!hash[0]) {
        hs = XXH3_createState();
        if (!hs) {
            free(keep_del);
            hour_counts_free(hours);
            free(hours);
            return vt_err_set(err, VT_ENOMEM, "out of memory");
        }
        XXH3_128bits_reset(hs);
    }
    if (kind == INGEST_ONS_CSV)
        rc = load_ons(&c, path, hs, (uint64_t)st.st_size);
    else
        rc = load_lp(&c, path, kind == INGEST_LP_GZ, hs, (uint64_t)st.st_size);
    if (hs) {
        XXH128_hash_t h = XXH3_128bits_digest(hs);
        snprintf(f->hash, sizeof f->hash, "%016" PRIx64 "%016" PRIx64, (uint64_t)h.high64,
                 (uint64_t)h.low64);
        XXH3_freeState(hs);
    }
    f->finished_at = wall_ns();
    if (rc == VT_EPARSE || rc == VT_ELIMIT) {
        /* the whole file is refused (bad header...): recorded, retried when it changes */
        snprintf(f->error, sizeof f->error, "%s", err->msg);
        f->state = META_FILE_FAILED;
        /* still to delete on the next version: what the last loaded version wrote, plus what
         * this attempt wrote before it was refused */
        merge_del(f, keep_del, keep_min, keep_max, c.any_points ? c.meas : "", f->min_time,
                  f->max_time);
        vt_err_clear(err);
        rc = meta_file_put(m, f, err);
        res->outcome = LOAD_FAILED;
        res->seconds = (double)(f->finished_at - t0) / 1e9;
        free(keep_del);
        hour_counts_free(hours);
        free(hours);
        return rc;
    }
    free(keep_del);
    /* the histogram goes in while the row is still `loading` (note 6) */
    if (rc == VT_OK)
        rc = hours_store(hours, m, f, err);
    hour_counts_free(hours);
    free(hours);
    if (rc != VT_OK)
        return rc; /* node or ledger failure: the row stays `loading` */
    /* loaded: what this version wrote is what a later reload deletes */
    f->state = META_FILE_LOADED;
    snprintf(f->del_measurements, sizeof f->del_measurements, "%s", c.meas);
    f->del_min = f->min_time;
    f->del_max = f->max_time;
    if (!c.any_points)
        f->min_time = f->max_time = f->del_min = f->del_max = 0;
    rc = meta_file_put(m, f, err);
    if (rc != VT_OK)
        return rc;
    mark_backends_applied(m, f);
    res->outcome = had_version ? LOAD_RELOADED : LOAD_LOADED;
    res->seconds = (double)(f->finished_at - t0) / 1e9;
    return VT_OK;
}

vt_rc loader_read_file(const char *path, const char *key, size_t batch_bytes, loader_sink_fn sink,
                       void *ctx, uint64_t *lines, vt_err *err)
{
    char dataset[32];
    ingest_kind kind = ingest_classify(key, dataset, sizeof dataset);
    if (kind == INGEST_IGNORE)
        kind = ingest_classify(path, dataset, sizeof dataset);
    if (kind == INGEST_IGNORE)
        return vt_err_set(err, VT_EINVAL, "%s: not a file volta loads", path);
    struct stat st;
    if (stat(path, &st) != 0)
        return vt_err_set(err, errno == ENOENT ? VT_ENOTFOUND : VT_EIO, "%s: %s", path,
                          strerror(errno));
    meta_file *f = calloc(1, sizeof *f);
    if (!f)
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    snprintf(f->path, sizeof f->path, "%s", key);
    snprintf(f->dataset, sizeof f->dataset, "%s", dataset);
    loader_options o = {.batch_bytes = batch_bytes};
    load_ctx c = {.o = &o, .f = f, .label = path, .err = err, .sink = sink, .sink_ctx = ctx};
    vt_rc rc = kind == INGEST_ONS_CSV
                   ? load_ons(&c, path, NULL, (uint64_t)st.st_size)
                   : load_lp(&c, path, kind == INGEST_LP_GZ, NULL, (uint64_t)st.st_size);
    if (lines)
        *lines = f->points;
    free(f);
    return rc;
}

/* One load at a time in a process: the landing watcher and POST /api/v1/load may be handed the
 * same file; the second then finds the ledger row the first wrote (unchanged: skipped). */
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

vt_rc loader_load_file(node *n, meta *m, const char *path, const char *key, const loader_options *o,
                       load_result *res, vt_err *err)
{
    loader_options def;
    if (!o) {
        memset(&def, 0, sizeof def);
        o = &def;
    }
    pthread_mutex_lock(&load_lock);
    vt_rc rc = load_one(n, m, path, key, o, true, res, err);
    pthread_mutex_unlock(&load_lock);
    return rc;
}
