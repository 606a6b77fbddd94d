/*
 * ops/check.c — the integrity checks of `volta check` (contract: check.h; behaviour, thresholds
 * and names: docs/CHECK.md).
 *
 * NOTES ON THE DESIGN
 *  1. Every check reads through the same paths queries use (engine_read: merged memtable +
 *     segments with last-write-wins, tombstones applied) or, where the question is about the
 *     files themselves (checksums, order inside one segment), through the file readers
 *     (journal_verify, engine_verify, seg_open_file). Nothing is written.
 *  2. Online the journal and engine directories are live. Segment files are immutable (a
 *     compaction publishes new ones and unlinks the old: an mmap of an unlinked file stays
 *     valid; a file unlinked between listing and opening is skipped). The journal is append-only:
 *     journal_verify may see the record being appended as a "torn tail" of the last segment, and
 *     a segment trimmed between listing and opening as "cannot open"; online both are ignored.
 *  3. Hours are UTC hours: hour index = floor(t / 1h). ONS data is hourly (time = hour start), so
 *     "a point per hour" is the unit of the missing-value and ledger checks. consistencia_dados
 *     compares whole hours: its window is widened to the UTC hours it touches, since the
 *     ledger's expectation (meta_hours_sum) is per hour.
 *  4. Backends are compared with the same InfluxQL on both sides (count and sum per series per
 *     hour, fill(none)), answered in InfluxDB's JSON with RFC3339 times, so the primary's
 *     answer and any InfluxDB-compatible backup's compare as text keys.
 *  5. consistencia_dados takes the expected points per (measurement, hour) from the histograms
 *     the loader stored with each loaded file (meta.db v4, meta_hours_*); a loaded file without
 *     one (loaded before v4, or the loader could not attribute refused lines) is estimated: its
 *     points spread evenly over its hours, under its dataset's measurement (or the one
 *     measurement an LP file wrote); the details count such files.
 */
#include "ops/check.h"

#include <errno.h>
#include <dirent.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/backend.h"
#include "common/timefmt.h"
#include "engine/encoding.h"
#include "engine/engine.h"
#include "journal/journal.h"
#include "meta/meta.h"
#include "query/influxql_exec.h"
#include "query/influxql_parser.h"
#include "query/result.h"

#define HOUR_NS INT64_C(3600000000000)
#define MAX_HOURS ((int64_t)1 << 22) /* ~478 years of hourly buckets per measurement */

static const char *const check_names[CHECK_COUNT] = {
    "checksums", "timestamps_duplicados", "valores_nulos", "consistencia_dados",
    "backends_consistentes",
};

/* ---- small helpers ---- */

static int64_t hour_of(int64_t t)
{
    return t >= 0 ? t / HOUR_NS : -((-(t + 1)) / HOUR_NS) - 1;
}

static void fmt_time(char out[VT_FMT_TIME_MAX], int64_t t)
{
    vt_fmt_rfc3339nano(out, t);
}

static void fmt_hour(char out[VT_FMT_TIME_MAX], int64_t h)
{
    vt_fmt_rfc3339nano(out, h * HOUR_NS);
}

void check_options_default(check_options *o)
{
    memset(o, 0, sizeof *o);
    o->db = "ons";
    o->start = INT64_MIN;
    o->end = INT64_MAX;
    o->tolerance = 100;
    o->ratio = 0.9;
    o->required[0] = "generation.value";
    o->required[1] = "load.value";
    o->required[2] = "interchange.value";
    o->nrequired = 3;
    o->zero_fields[0] = "load.value";
    o->nzero = 1;
    o->checks = CHECK_ALL;
}

const char *check_name(unsigned bit)
{
    for (unsigned i = 0; i < CHECK_COUNT; i++)
        if (bit == 1u << i)
            return check_names[i];
    return "?";
}

vt_rc check_parse_list(const char *list, unsigned *mask, vt_err *err)
{
    *mask = 0;
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        bool found = false;
        if (len == 3 && strncmp(p, "all", 3) == 0) {
            *mask |= CHECK_ALL;
            found = true;
        }
        for (unsigned i = 0; i < CHECK_COUNT && !found; i++)
            if (strlen(check_names[i]) == len && strncmp(p, check_names[i], len) == 0) {
                *mask |= 1u << i;
                found = true;
            }
        if (!found && len > 0)
            return vt_err_set(err, VT_EINVAL,
                              "unknown check \"%.*s\" (checks: checksums, timestamps_duplicados, "
                              "valores_nulos, consistencia_dados, backends_consistentes, all)",
                              (int)len, p);
        if (!e)
            break;
        p = e + 1;
    }
    if (*mask == 0)
        return vt_err_set(err, VT_EINVAL, "no check named");
    return VT_OK;
}

vt_rc check_parse_window(const char *s, int64_t *ns, vt_err *err)
{
    influxql_error ie;
    memset(&ie, 0, sizeof ie);
    if (influxql_parse_duration(s, strlen(s), ns, &ie) != VT_OK || *ns <= 0)
        return vt_err_set(err, VT_EINVAL, "window \"%s\": a positive duration is required (24h, 7d, 30m)",
                          s);
    return VT_OK;
}

void check_result_init(check_result *r, const char *name)
{
    memset(r, 0, sizeof *r);
    r->name = name;
}

void check_result_free(check_result *r)
{
    for (size_t i = 0; i < r->nitems; i++)
        free(r->items[i]);
    free(r->items);
    r->items = NULL;
    r->nitems = r->items_cap = 0;
}

void check_result_item(check_result *r, const char *fmt, ...)
{
    r->items_total++;
    if (r->nitems >= CHECK_MAX_ITEMS)
        return;
    if (r->nitems == r->items_cap) {
        size_t nc = r->items_cap ? r->items_cap * 2 : 16;
        char **ni = realloc(r->items, nc * sizeof *ni);
        if (!ni)
            return;
        r->items = ni;
        r->items_cap = nc;
    }
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int rc = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (rc >= 0)
        r->items[r->nitems++] = s;
}

static void set_status(check_result *r, check_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_status(check_result *r, check_status st, const char *fmt, ...)
{
    r->status = st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->details, sizeof r->details, fmt, ap);
    va_end(ap);
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* ---- series of a store, copied out of the engine ---- */

typedef struct ser {
    uint64_t id;
    char *key; /* measurement,k=v,... */
    char *measurement;
    size_t nfields;
    char **fields;
} ser;

typedef struct ser_list {
    ser *v;
    size_t n, cap;
    bool oom;
} ser_list;

static void ser_list_free(ser_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].key);
        free(l->v[i].measurement);
        for (size_t f = 0; f < l->v[i].nfields; f++)
            free(l->v[i].fields[f]);
        free(l->v[i].fields);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

static bool collect_series(void *ctx, const engine_series_info *s)
{
    ser_list *l = ctx;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        ser *nv = realloc(l->v, nc * sizeof *nv);
        if (!nv) {
            l->oom = true;
            return false;
        }
        l->v = nv;
        l->cap = nc;
    }
    ser *x = &l->v[l->n];
    memset(x, 0, sizeof *x);
    vt_buf k;
    vt_buf_init(&k);
    vt_buf_append(&k, s->measurement, strlen(s->measurement));
    for (size_t t = 0; t < s->ntags; t++) {
        vt_buf_putc(&k, ',');
        vt_buf_append(&k, s->tags[t].key.ptr, s->tags[t].key.len);
        vt_buf_putc(&k, '=');
        vt_buf_append(&k, s->tags[t].value.ptr, s->tags[t].value.len);
    }
    x->id = s->id;
    x->key = strdup(vt_buf_cstr(&k));
    vt_buf_free(&k);
    x->measurement = strdup(s->measurement);
    x->fields = calloc(s->nfields ? s->nfields : 1, sizeof *x->fields);
    l->n++;
    if (!x->key || !x->measurement || !x->fields) {
        l->oom = true;
        return false;
    }
    for (size_t f = 0; f < s->nfields; f++) {
        x->fields[f] = strdup(s->fields[f].name);
        if (!x->fields[f]) {
            l->oom = true;
            return false;
        }
        x->nfields++;
    }
    return true;
}

static vt_rc list_series(engine *e, const char *store, const char *measurement, ser_list *out,
                         vt_err *err)
{
    memset(out, 0, sizeof *out);
    vt_rc rc = engine_foreach_series(e, store, measurement, collect_series, out, err);
    if (rc == VT_OK && out->oom)
        rc = vt_err_set(err, VT_ENOMEM, "out of memory listing the series of %s", store);
    return rc;
}

typedef struct store_list {
    const char *db;
    size_t dblen;
    char *names[64];
    size_t n;
} store_list;

static void collect_store(void *ctx, const char *name)
{
    store_list *l = ctx;
    if (l->n < 64 && strncmp(name, l->db, l->dblen) == 0 &&
        (name[l->dblen] == 0 || name[l->dblen] == ENGINE_STORE_SEP))
        l->names[l->n++] = strdup(name);
}

static void store_list_free(store_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    l->n = 0;
}

/* The printable name of a store: "ons" or "ons.rp". */
static void store_label(const char *store, char *out, size_t cap)
{
    snprintf(out, cap, "%s", store);
    char *s = strchr(out, ENGINE_STORE_SEP);
    if (s)
        *s = '.';
}

/* ---- 1. checksums ---- */

typedef struct sum_ctx {
    check_result *r;
    bool online;
    bool journal;
    uint64_t problems, warnings, ignored;
} sum_ctx;

static void sum_report(void *ctx, const char *file, uint64_t offset, const char *problem)
{
    sum_ctx *c = ctx;
    if (strncmp(problem, "warning:", 8) == 0) {
        c->warnings++;
        return;
    }
    if (c->online && c->journal && strncmp(problem, "torn tail", 9) == 0) {
        c->ignored++; /* the record being appended (design note 2) */
        return;
    }
    if (c->online && !file_exists(file)) {
        c->ignored++; /* trimmed or compacted away while we looked */
        return;
    }
    c->problems++;
    check_result_item(c->r, "%s @ offset %" PRIu64 ": %s", file, offset, problem);
}

void check_checksums(const check_options *o, check_result *r)
{
    check_result_init(r, check_names[0]);
    if (!o->data_dir) {
        set_status(r, CHECK_ERROR, "no data directory");
        return;
    }
    char jdir[PATH_MAX], edir[PATH_MAX];
    snprintf(jdir, sizeof jdir, "%s/journal", o->data_dir);
    snprintf(edir, sizeof edir, "%s/engine", o->data_dir);
    if (!file_exists(jdir) && !file_exists(edir)) {
        set_status(r, CHECK_ERROR, "%s holds no journal/ nor engine/: not a volta data directory",
                   o->data_dir);
        return;
    }
    sum_ctx jc = {r, o->online, true, 0, 0, 0};
    uint64_t records = 0, blocks = 0;
    unsigned segments = 0, files = 0;
    if (file_exists(jdir))
        journal_verify(jdir, sum_report, &jc, &records, &segments);
    sum_ctx ec = {r, o->online, false, 0, 0, 0};
    if (file_exists(edir))
        engine_verify(edir, sum_report, &ec, &files, &blocks);
    uint64_t problems = jc.problems + ec.problems;
    char tail[128] = "";
    if (ec.warnings)
        snprintf(tail, sizeof tail, "; %" PRIu64 " leftover file(s) (removed on next open)",
                 ec.warnings);
    set_status(r, problems ? CHECK_FAIL : CHECK_PASS,
               "%" PRIu64 " problem(s): journal %" PRIu64 " records in %u segments, engine %" PRIu64
               " blocks in %u files%s",
               problems, records, segments, blocks, files, tail);
}

/* ---- 2. timestamps_duplicados ---- */

static void series_label(const seg_reader *seg, uint64_t sid, uint32_t fno, char *out, size_t cap)
{
    const seg_series *s = seg_find_series(seg, sid);
    if (!s) {
        snprintf(out, cap, "series id %" PRIu64, sid);
        return;
    }
    size_t at = (size_t)snprintf(out, cap, "%.*s", (int)s->measurement.len, s->measurement.ptr);
    for (size_t t = 0; t < s->ntags && at < cap; t++)
        at += (size_t)snprintf(out + at, cap - at, ",%.*s=%.*s", (int)s->tags[t].key.len,
                               s->tags[t].key.ptr, (int)s->tags[t].value.len,
                               s->tags[t].value.ptr);
    if (at < cap && fno < s->nfields)
        snprintf(out + at, cap - at, " field %.*s", (int)s->fields[fno].name.len,
                 s->fields[fno].name.ptr);
}

/* Decodes only the timestamps of block bi (the CRC was found valid by seg_read_block). */
static int64_t *decode_block_times(const seg_reader *seg, size_t bi)
{
    const seg_index_entry *e = &seg->blocks[bi];
    vt_reader br;
    vt_reader_init(&br, seg->data + e->offset, e->length - 4);
    uint64_t ts_len;
    if (!vt_read_uvarint(&br, &ts_len) || ts_len == 0 || ts_len >= vt_reader_left(&br))
        return NULL;
    int64_t *ts = malloc((size_t)e->count * sizeof *ts);
    vt_err derr;
    if (!ts || enc_ts_decode(br.p, (size_t)ts_len, ts, e->count, &derr) != VT_OK) {
        free(ts);
        return NULL;
    }
    return ts;
}

uint64_t check_segment_times(const seg_reader *seg, int64_t start, int64_t end, check_result *r,
                             uint64_t *unreadable, uint64_t *blocks)
{
    uint64_t bad = 0;
    seg_col col;
    memset(&col, 0, sizeof col);
    bool have_prev = false;
    int64_t prev = 0;
    for (size_t bi = 0; bi < seg->nblocks; bi++) {
        const seg_index_entry *e = &seg->blocks[bi];
        if (bi == 0 || e->series_id != seg->blocks[bi - 1].series_id ||
            e->field_no != seg->blocks[bi - 1].field_no)
            have_prev = false;
        if (e->max_time < start || e->min_time > end)
            continue;
        if (blocks)
            (*blocks)++;
        seg_col_free(&col);
        seg_col_init(&col, (vt_type)e->type);
        vt_err err;
        vt_err_clear(&err);
        vt_rc rc = seg_read_block(seg, bi, &col, &err);
        const int64_t *ts = col.time;
        int64_t *own = NULL;
        size_t n = col.n;
        if (rc != VT_OK) {
            if (rc == VT_ECORRUPT && strstr(err.msg, "timestamps not ascending")) {
                own = decode_block_times(seg, bi); /* CRC good: the writer stored them so */
                ts = own;
                n = e->count;
            }
            if (!ts) {
                if (unreadable)
                    (*unreadable)++;
                have_prev = false;
                continue;
            }
        }
        for (size_t i = 0; i < n; i++) {
            if (have_prev && ts[i] <= prev) {
                char lab[512], tb[VT_FMT_TIME_MAX];
                series_label(seg, e->series_id, e->field_no, lab, sizeof lab);
                fmt_time(tb, ts[i]);
                check_result_item(r, "%s: block %zu at offset %" PRIu64 ": %s: time %s %s", seg->name,
                                  bi, e->offset, lab, tb,
                                  ts[i] == prev ? "appears twice" : "out of order");
                bad++;
            }
            if (!have_prev || ts[i] > prev)
                prev = ts[i];
            have_prev = true;
        }
        free(own);
    }
    seg_col_free(&col);
    return bad;
}

typedef struct dup_read {
    bool have;
    int64_t prev;
    uint64_t points, dups;
    int64_t first_dup;
} dup_read;

static bool dup_cb(void *ctx, const engine_points *p)
{
    dup_read *d = ctx;
    for (size_t i = 0; i < p->n; i++) {
        if (d->have && p->time[i] <= d->prev) {
            if (d->dups == 0)
                d->first_dup = p->time[i];
            d->dups++;
        }
        d->prev = p->time[i];
        d->have = true;
    }
    d->points += p->n;
    return true;
}

void check_duplicates(const check_options *o, check_result *r)
{
    check_result_init(r, check_names[1]);
    uint64_t seg_dups = 0, unreadable = 0, blocks = 0, segfiles = 0;
    /* (a) inside each segment file */
    if (o->data_dir) {
        char segdir[PATH_MAX];
        snprintf(segdir, sizeof segdir, "%s/engine/seg", o->data_dir);
        DIR *dd = opendir(segdir);
        struct dirent *de;
        while (dd && (de = readdir(dd)) != NULL) {
            size_t nl = strlen(de->d_name);
            if (nl < 5 || strcmp(de->d_name + nl - 5, ".vseg") != 0)
                continue;
            char path[PATH_MAX + 300];
            snprintf(path, sizeof path, "%s/%s", segdir, de->d_name);
            seg_reader *seg = NULL;
            vt_err err;
            vt_err_clear(&err);
            if (seg_open_file(path, &seg, &err) != VT_OK) {
                if (strstr(err.msg, "out of order")) {
                    /* blocks of one column overlapping in time (or unsorted): an order violation
                     * the structure check refuses before any block is read */
                    check_result_item(r, "%s", err.msg);
                    seg_dups++;
                } else if (!(o->online && !file_exists(path))) {
                    unreadable++;
                }
                continue;
            }
            segfiles++;
            seg_dups += check_segment_times(seg, o->start, o->end, r, &unreadable, &blocks);
            seg_unref(seg);
        }
        if (dd)
            closedir(dd);
    }
    /* (b) what reads serve: merged view, per series and field */
    uint64_t served_dups = 0, points = 0, nseries = 0;
    if (!o->node) {
        set_status(r, CHECK_ERROR, "no node open");
        return;
    }
    engine *e = node_engine(o->node);
    store_list sl = {o->db, strlen(o->db), {0}, 0};
    engine_list_stores(e, collect_store, &sl);
    if (sl.n == 0) {
        set_status(r, CHECK_ERROR, "database not found: %s", o->db);
        return;
    }
    vt_err err;
    vt_err_clear(&err);
    for (size_t s = 0; s < sl.n; s++) {
        ser_list L;
        if (list_series(e, sl.names[s], NULL, &L, &err) != VT_OK) {
            ser_list_free(&L);
            store_list_free(&sl);
            set_status(r, CHECK_ERROR, "%s", err.msg);
            return;
        }
        nseries += L.n;
        for (size_t i = 0; i < L.n; i++) {
            for (size_t f = 0; f < L.v[i].nfields; f++) {
                dup_read d = {0};
                vt_err_clear(&err);
                vt_rc rc = engine_read(e, sl.names[s], L.v[i].id, L.v[i].fields[f], o->start,
                                       o->end, dup_cb, &d, &err);
                if (rc == VT_ECORRUPT) {
                    unreadable++;
                    continue;
                }
                points += d.points;
                if (d.dups) {
                    char lab[600], tb[VT_FMT_TIME_MAX];
                    store_label(sl.names[s], lab, sizeof lab);
                    fmt_time(tb, d.first_dup);
                    check_result_item(r, "%s %s field %s: %" PRIu64 " timestamp(s) served twice "
                                      "or out of order (first %s)",
                                      lab, L.v[i].key, L.v[i].fields[f], d.dups, tb);
                    served_dups += d.dups;
                }
            }
        }
        ser_list_free(&L);
    }
    store_list_free(&sl);
    if (seg_dups || served_dups)
        set_status(r, CHECK_FAIL,
                   "%" PRIu64 " duplicate/out-of-order timestamp(s) inside segment files, %" PRIu64
                   " served by reads (%" PRIu64 " series, %" PRIu64 " points read)",
                   seg_dups, served_dups, nseries, points);
    else if (unreadable)
        set_status(r, CHECK_ERROR,
                   "%" PRIu64 " block(s)/file(s) could not be read (see checksums); no duplicate "
                   "in the rest",
                   unreadable);
    else
        set_status(r, CHECK_PASS,
                   "no duplicate timestamp: %" PRIu64 " series, %" PRIu64 " points read; %" PRIu64
                   " segment files, %" PRIu64 " blocks decoded",
                   nseries, points, segfiles, blocks);
}

/* ---- 3. valores_nulos ---- */

static bool split_field(const char *mf, char *m, size_t mcap, const char **field)
{
    const char *dot = strrchr(mf, '.');
    if (!dot || dot == mf || !dot[1] || (size_t)(dot - mf) >= mcap)
        return false;
    memcpy(m, mf, (size_t)(dot - mf));
    m[dot - mf] = 0;
    *field = dot + 1;
    return true;
}

typedef struct null_read {
    bool zeros;     /* count value == 0 */
    bool have;
    int64_t last_hour, first_hour;
    uint64_t hours; /* distinct hours with a point */
    uint64_t nzero, nnan;
    int64_t first_zero, first_nan;
} null_read;

static bool null_cb(void *ctx, const engine_points *p)
{
    null_read *d = ctx;
    for (size_t i = 0; i < p->n; i++) {
        int64_t h = hour_of(p->time[i]);
        if (!d->have) {
            d->first_hour = h;
            d->hours = 1;
            d->have = true;
        } else if (h != d->last_hour) {
            d->hours++;
        }
        d->last_hour = h;
        double v;
        if (p->f)
            v = p->f[i];
        else if (p->i)
            v = (double)p->i[i];
        else if (p->u)
            v = (double)p->u[i];
        else
            continue;
        if (isnan(v)) {
            if (d->nnan++ == 0)
                d->first_nan = p->time[i];
        } else if (d->zeros && v == 0) {
            if (d->nzero++ == 0)
                d->first_zero = p->time[i];
        }
    }
    return true;
}

void check_nulls(const check_options *o, check_result *r)
{
    check_result_init(r, check_names[2]);
    if (!o->node) {
        set_status(r, CHECK_ERROR, "no node open");
        return;
    }
    engine *e = node_engine(o->node);
    char store[ENGINE_STORE_NAME_MAX + 1];
    vt_err err;
    vt_err_clear(&err);
    if (node_resolve_store(o->node, o->db, NULL, store, sizeof store, &err) != VT_OK) {
        set_status(r, CHECK_ERROR, "%s", err.msg);
        return;
    }
    uint64_t missing = 0, zeros = 0, nans = 0, points_series = 0;
    for (size_t q = 0; q < o->nrequired; q++) {
        char m[256];
        const char *field;
        if (!split_field(o->required[q], m, sizeof m, &field)) {
            set_status(r, CHECK_ERROR, "required field \"%s\": expected measurement.field",
                       o->required[q]);
            return;
        }
        bool count_zero = false;
        for (size_t z = 0; z < o->nzero; z++)
            count_zero |= strcmp(o->zero_fields[z], o->required[q]) == 0;
        ser_list L;
        if (list_series(e, store, m, &L, &err) != VT_OK) {
            ser_list_free(&L);
            set_status(r, CHECK_ERROR, "%s", err.msg);
            return;
        }
        null_read *rd = calloc(L.n ? L.n : 1, sizeof *rd);
        if (!rd) {
            ser_list_free(&L);
            set_status(r, CHECK_ERROR, "out of memory");
            return;
        }
        int64_t m_last = INT64_MIN;
        for (size_t i = 0; i < L.n; i++) {
            rd[i].zeros = count_zero;
            vt_err_clear(&err);
            vt_rc rc = engine_read(e, store, L.v[i].id, field, o->start, o->end, null_cb, &rd[i],
                                   &err);
            if (rc == VT_ECORRUPT) {
                ser_list_free(&L);
                free(rd);
                set_status(r, CHECK_ERROR, "%s", err.msg);
                return;
            }
            if (rd[i].have && rd[i].last_hour > m_last)
                m_last = rd[i].last_hour;
        }
        for (size_t i = 0; i < L.n; i++) {
            if (!rd[i].have)
                continue;
            points_series++;
            /* expected: every hour from the series' first hour in the window to the last hour
             * any series of the measurement has (a series that stopped is missing too) */
            uint64_t expect = (uint64_t)(m_last - rd[i].first_hour) + 1;
            uint64_t miss = expect > rd[i].hours ? expect - rd[i].hours : 0;
            if (miss || rd[i].nzero || rd[i].nnan) {
                char a[VT_FMT_TIME_MAX], b[VT_FMT_TIME_MAX], c[VT_FMT_TIME_MAX];
                fmt_hour(a, rd[i].first_hour);
                fmt_hour(b, m_last);
                fmt_time(c, rd[i].nzero ? rd[i].first_zero : rd[i].first_nan);
                check_result_item(r,
                                  "%s %s: %" PRIu64 " missing hour(s) of %" PRIu64 " (%s .. %s), %" PRIu64
                                  " zero(s), %" PRIu64 " NaN%s%s",
                                  L.v[i].key, field, miss, expect, a, b, rd[i].nzero, rd[i].nnan,
                                  rd[i].nzero || rd[i].nnan ? ", first at " : "",
                                  rd[i].nzero || rd[i].nnan ? c : "");
            }
            missing += miss;
            zeros += rd[i].nzero;
            nans += rd[i].nnan;
        }
        free(rd);
        ser_list_free(&L);
    }
    uint64_t total = missing + zeros + nans;
    set_status(r, total > o->tolerance ? CHECK_FAIL : CHECK_PASS,
               "%" PRIu64 " bad value(s) (tolerance %" PRIu64 "): %" PRIu64 " missing hour(s), %" PRIu64
               " zero(s), %" PRIu64 " NaN over %" PRIu64 " series",
               total, o->tolerance, missing, zeros, nans, points_series);
}

/* ---- 4. consistencia_dados ---- */

/* One measurement's hours [h0, h1]: expected points (the ledger) and actual (the store). */
typedef struct hour_span {
    char *measurement;
    int64_t h0, h1;
    double *expected;
    uint64_t *actual;
} hour_span;

typedef struct span_set {
    hour_span *v;
    size_t n, cap;
    size_t last; /* the span found last (rows come ordered by measurement) */
    bool oom;
} span_set;

/* One row of the ledger's histograms, kept between the range pass and the fill pass. */
typedef struct hist_row {
    uint32_t span;
    int64_t hour;
    uint64_t points;
} hist_row;

typedef struct hist_rows {
    span_set *spans;
    hist_row *v;
    size_t n, cap;
    bool oom;
} hist_rows;

static const char *dataset_measurement(const char *ds)
{
    static const char *const known[] = {"generation", "load", "interchange", "balance"};
    for (size_t i = 0; i < 4; i++)
        if (strcmp(ds, known[i]) == 0)
            return known[i];
    return NULL;
}

/* The index of measurement m's span; S->n when it has none. */
static size_t span_find(span_set *S, const char *m)
{
    size_t s = S->last;
    if (s >= S->n || strcmp(S->v[s].measurement, m) != 0)
        for (s = 0; s < S->n && strcmp(S->v[s].measurement, m) != 0; s++)
            ;
    return s;
}

/* The span of measurement m (created with [h0, h1] when new), extended to [h0, h1]; NULL when
 * out of memory. */
static hour_span *span_for(span_set *S, const char *m, int64_t h0, int64_t h1)
{
    size_t s = span_find(S, m);
    if (s == S->n) {
        if (S->n == S->cap) {
            size_t nc = S->cap ? S->cap * 2 : 8;
            hour_span *nv = realloc(S->v, nc * sizeof *nv);
            if (!nv) {
                S->oom = true;
                return NULL;
            }
            S->v = nv;
            S->cap = nc;
        }
        memset(&S->v[s], 0, sizeof S->v[s]);
        S->v[s].measurement = strdup(m);
        if (!S->v[s].measurement) {
            S->oom = true;
            return NULL;
        }
        S->v[s].h0 = h0;
        S->v[s].h1 = h1;
        S->n++;
    }
    S->last = s;
    hour_span *sp = &S->v[s];
    sp->h0 = h0 < sp->h0 ? h0 : sp->h0;
    sp->h1 = h1 > sp->h1 ? h1 : sp->h1;
    return sp;
}

static void span_set_free(span_set *S)
{
    for (size_t s = 0; s < S->n; s++) {
        free(S->v[s].measurement);
        free(S->v[s].expected);
        free(S->v[s].actual);
    }
    free(S->v);
}

static bool hist_row_cb(void *ctx, const char *measurement, int64_t hour, uint64_t points)
{
    hist_rows *R = ctx;
    hour_span *sp = span_for(R->spans, measurement, hour, hour);
    if (!sp) {
        R->oom = true;
        return false;
    }
    if (R->n == R->cap) {
        size_t nc = R->cap ? R->cap * 2 : 256;
        hist_row *nv = realloc(R->v, nc * sizeof *nv);
        if (!nv) {
            R->oom = true;
            return false;
        }
        R->v = nv;
        R->cap = nc;
    }
    R->v[R->n++] = (hist_row){(uint32_t)(sp - R->spans->v), hour, points};
    return true;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The measurement a file without a histogram is estimated under: its dataset's, or the one
 * measurement an LP file wrote (its deletion list); NULL when it cannot be told. */
static const char *estimate_measurement(const meta_file *f)
{
    const char *m = dataset_measurement(f->dataset);
    if (m)
        return m;
    if (strcmp(f->dataset, "lp") == 0 && f->del_measurements[0] &&
        strcmp(f->del_measurements, "*") != 0 && !strchr(f->del_measurements, ','))
        return f->del_measurements;
    return NULL;
}

typedef struct count_read {
    int64_t h0;
    uint64_t *per_hour; /* this field's counts */
} count_read;

static bool count_cb(void *ctx, const engine_points *p)
{
    count_read *c = ctx;
    for (size_t i = 0; i < p->n; i++)
        c->per_hour[hour_of(p->time[i]) - c->h0]++;
    return true;
}

void check_consistency(const check_options *o, check_result *r)
{
    check_result_init(r, check_names[3]);
    if (!o->node) {
        set_status(r, CHECK_ERROR, "no node open");
        return;
    }
    if (!o->meta) {
        set_status(r, CHECK_ERROR, "no ledger (meta.db) for this data directory");
        return;
    }
    vt_err err;
    vt_err_clear(&err);
    meta_file *files = NULL;
    int64_t *exact_ids = NULL;
    size_t nfiles = 0, nexact = 0;
    if (meta_file_list(o->meta, META_FILE_LOADED, &files, &nfiles, &err) != VT_OK ||
        meta_hours_files(o->meta, o->db, &exact_ids, &nexact, &err) != VT_OK) {
        free(files);
        set_status(r, CHECK_ERROR, "ledger: %s", err.msg);
        return;
    }
    /* whole UTC hours: the window is widened to the hours it touches (note 3) */
    int64_t wh0 = o->start == INT64_MIN ? INT64_MIN : hour_of(o->start);
    int64_t wh1 = o->end == INT64_MAX ? INT64_MAX : hour_of(o->end);
    span_set S = {0};
    hist_rows R = {.spans = &S};
    const char *fail = NULL;
    /* pass 1: the exact expectation, from the histograms of the loaded files */
    if (meta_hours_sum(o->meta, o->db, wh0, wh1, hist_row_cb, &R, &err) != VT_OK)
        fail = err.msg;
    else if (R.oom || S.oom)
        fail = "out of memory";
    /* the files it comes from, and the ones without a histogram (estimated) */
    unsigned exact = 0, estimated = 0, uncounted = 0;
    for (size_t i = 0; i < nfiles && !fail; i++) {
        meta_file *f = &files[i];
        if (strcmp(f->database, o->db) != 0 || f->points == 0 || hour_of(f->max_time) < wh0 ||
            hour_of(f->min_time) > wh1)
            continue;
        if (nexact && bsearch(&f->id, exact_ids, nexact, sizeof *exact_ids, cmp_i64)) {
            exact++;
            continue;
        }
        const char *m = estimate_measurement(f);
        if (!m) {
            uncounted++;
            continue;
        }
        int64_t a = hour_of(f->min_time), b = hour_of(f->max_time);
        if (!span_for(&S, m, a < wh0 ? wh0 : a, b > wh1 ? wh1 : b))
            fail = "out of memory";
        estimated++;
    }
    if (!fail && exact + estimated == 0) {
        free(files);
        free(exact_ids);
        free(R.v);
        span_set_free(&S);
        set_status(r, CHECK_ERROR, "no ledger data in the window (database %s)%s", o->db,
                   uncounted ? "; line-protocol files without a histogram are not counted" : "");
        return;
    }
    for (size_t s = 0; s < S.n && !fail; s++) {
        if (S.v[s].h1 - S.v[s].h0 + 1 > MAX_HOURS) {
            fail = "window too long (more than 2^22 hours of one measurement)";
            break;
        }
        size_t nh = (size_t)(S.v[s].h1 - S.v[s].h0 + 1);
        S.v[s].expected = calloc(nh, sizeof(double));
        S.v[s].actual = calloc(nh, sizeof(uint64_t));
        if (!S.v[s].expected || !S.v[s].actual)
            fail = "out of memory";
    }
    /* pass 2: expected per hour = the histograms, plus each estimated file's points spread
     * evenly over its hours */
    for (size_t i = 0; i < R.n && !fail; i++) {
        hour_span *sp = &S.v[R.v[i].span];
        sp->expected[R.v[i].hour - sp->h0] += (double)R.v[i].points;
    }
    for (size_t i = 0; i < nfiles && !fail; i++) {
        meta_file *f = &files[i];
        if (strcmp(f->database, o->db) != 0 || f->points == 0 || hour_of(f->max_time) < wh0 ||
            hour_of(f->min_time) > wh1 ||
            (nexact && bsearch(&f->id, exact_ids, nexact, sizeof *exact_ids, cmp_i64)))
            continue;
        const char *m = estimate_measurement(f);
        if (!m)
            continue;
        hour_span *sp = &S.v[span_find(&S, m)]; /* made in pass 1 */
        int64_t a = hour_of(f->min_time), b = hour_of(f->max_time);
        double per = (double)f->points / ((double)b - (double)a + 1);
        for (int64_t h = a < sp->h0 ? sp->h0 : a; h <= b && h <= sp->h1; h++)
            sp->expected[h - sp->h0] += per;
    }
    free(files);
    free(exact_ids);
    free(R.v);
    /* pass 3: actual points per hour, per series the most of its fields (one point = a line) */
    engine *e = node_engine(o->node);
    char store[ENGINE_STORE_NAME_MAX + 1];
    if (!fail && node_resolve_store(o->node, o->db, NULL, store, sizeof store, &err) != VT_OK)
        fail = err.msg;
    for (size_t s = 0; s < S.n && !fail; s++) {
        hour_span *sp = &S.v[s];
        size_t nh = (size_t)(sp->h1 - sp->h0 + 1);
        ser_list L;
        vt_rc lrc = list_series(e, store, sp->measurement, &L, &err);
        if (lrc == VT_ENOTFOUND) {
            ser_list_free(&L);
            continue; /* nothing stored: every expected hour is short */
        }
        if (lrc != VT_OK) {
            ser_list_free(&L);
            fail = err.msg;
            break;
        }
        uint64_t *best = calloc(nh, sizeof *best), *cur = calloc(nh, sizeof *cur);
        if (!best || !cur)
            fail = "out of memory";
        int64_t t0 = sp->h0 * HOUR_NS, t1 = sp->h1 * HOUR_NS + (HOUR_NS - 1);
        for (size_t i = 0; i < L.n && !fail; i++) {
            memset(best, 0, nh * sizeof *best);
            for (size_t f = 0; f < L.v[i].nfields && !fail; f++) {
                memset(cur, 0, nh * sizeof *cur);
                count_read c = {sp->h0, cur};
                vt_err_clear(&err);
                if (engine_read(e, store, L.v[i].id, L.v[i].fields[f], t0, t1, count_cb, &c,
                                &err) == VT_ECORRUPT)
                    fail = err.msg;
                for (size_t h = 0; h < nh; h++)
                    best[h] = cur[h] > best[h] ? cur[h] : best[h];
            }
            for (size_t h = 0; h < nh; h++)
                sp->actual[h] += best[h];
        }
        free(best);
        free(cur);
        ser_list_free(&L);
    }
    uint64_t hours = 0, low = 0;
    double min_ratio = INFINITY;
    if (!fail) {
        for (size_t s = 0; s < S.n; s++) {
            hour_span *sp = &S.v[s];
            for (int64_t h = sp->h0; h <= sp->h1; h++) {
                double exp = sp->expected[h - sp->h0];
                if (exp <= 0)
                    continue;
                hours++;
                double ratio = (double)sp->actual[h - sp->h0] / exp;
                if (ratio < min_ratio)
                    min_ratio = ratio;
                if (ratio < o->ratio) {
                    char tb[VT_FMT_TIME_MAX];
                    fmt_hour(tb, h);
                    check_result_item(r, "%s %s: %" PRIu64 " point(s), %.1f expected (ratio %.3f)",
                                      sp->measurement, tb, sp->actual[h - sp->h0], exp, ratio);
                    low++;
                }
            }
        }
    }
    if (fail) {
        set_status(r, CHECK_ERROR, "%s", fail);
        span_set_free(&S);
        return;
    }
    span_set_free(&S);
    char extra[256] = "";
    if (estimated)
        snprintf(extra, sizeof extra,
                 "; %u file(s) estimated (no per-hour counts in the ledger)",
                 estimated);
    if (uncounted)
        snprintf(extra + strlen(extra), sizeof extra - strlen(extra),
                 "; %u line-protocol file(s) not counted", uncounted);
    set_status(r, low ? CHECK_FAIL : CHECK_PASS,
               "%" PRIu64 " of %" PRIu64 " hour(s) below ratio %.2f (lowest %.3f) against %u ledger "
               "file(s)%s",
               low, hours, o->ratio, hours ? min_ratio : 1.0, exact + estimated, extra);
}

/* ---- 5. backends_consistentes ---- */

typedef struct agg_entry {
    char *key; /* series \x1f time \x1f column */
    double v;
} agg_entry;

typedef struct agg_set {
    agg_entry *v;
    size_t n, cap;
} agg_set;

static void agg_free(agg_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].key);
    free(s->v);
    memset(s, 0, sizeof *s);
}

static int agg_cmp(const void *a, const void *b)
{
    return strcmp(((const agg_entry *)a)->key, ((const agg_entry *)b)->key);
}

/* Parses an InfluxQL JSON answer: each series' rows into entries; counts of 0 and nulls are
 * left out (equal to absent). Returns false with why. */
static bool agg_parse(const char *json, size_t len, agg_set *out, char *why, size_t cap)
{
    json_error_t je;
    json_t *doc = json_loadb(json, len, 0, &je);
    if (!doc) {
        snprintf(why, cap, "bad JSON answer: %s", je.text);
        return false;
    }
    json_t *res = json_array_get(json_object_get(doc, "results"), 0);
    const char *e = json_string_value(json_object_get(res, "error"));
    if (!e)
        e = json_string_value(json_object_get(doc, "error"));
    if (e) {
        snprintf(why, cap, "%s", e);
        json_decref(doc);
        return false;
    }
    size_t si, ri;
    json_t *series, *row;
    json_array_foreach(json_object_get(res, "series"), si, series)
    {
        vt_buf key;
        vt_buf_init(&key);
        const char *name = json_string_value(json_object_get(series, "name"));
        vt_buf_printf(&key, "%s", name ? name : "");
        const char *tk;
        json_t *tv;
        json_object_foreach(json_object_get(series, "tags"), tk, tv)
        {
            const char *v = json_string_value(tv);
            if (v && v[0])
                vt_buf_printf(&key, ",%s=%s", tk, v);
        }
        json_t *cols = json_object_get(series, "columns");
        json_array_foreach(json_object_get(series, "values"), ri, row)
        {
            const char *t = json_string_value(json_array_get(row, 0));
            char tnum[32];
            if (!t) {
                snprintf(tnum, sizeof tnum, "%" JSON_INTEGER_FORMAT,
                         json_integer_value(json_array_get(row, 0)));
                t = tnum;
            }
            for (size_t c = 1; c < json_array_size(row); c++) {
                json_t *v = json_array_get(row, c);
                const char *col = json_string_value(json_array_get(cols, c));
                if (!json_is_number(v) || !col)
                    continue;
                double d = json_number_value(v);
                if (strncmp(col, "count_", 6) == 0 && d == 0)
                    continue;
                if (out->n == out->cap) {
                    size_t nc = out->cap ? out->cap * 2 : 1024;
                    agg_entry *nv = realloc(out->v, nc * sizeof *nv);
                    if (!nv)
                        break;
                    out->v = nv;
                    out->cap = nc;
                }
                char *k = NULL;
                if (asprintf(&k, "%s\x1f%s\x1f%s", vt_buf_cstr(&key), t, col) < 0)
                    break;
                out->v[out->n].key = k;
                out->v[out->n].v = d;
                out->n++;
            }
        }
        vt_buf_free(&key);
    }
    json_decref(doc);
    return true;
}

static bool same_value(const char *key, double a, double b)
{
    const char *col = strrchr(key, '\x1f');
    if (col && strncmp(col + 1, "count_", 6) == 0)
        return a == b;
    if (a == b)
        return true;
    double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    return fabs(a - b) <= 1e-9 * m;
}

typedef struct bounds_ctx {
    int64_t lo, hi;
} bounds_ctx;

static int bounds_block(void *ctx, const engine_block_agg *b)
{
    bounds_ctx *c = ctx;
    c->lo = b->min_time < c->lo ? b->min_time : c->lo;
    c->hi = b->max_time > c->hi ? b->max_time : c->hi;
    return 1;
}

static bool bounds_points(void *ctx, const engine_points *p)
{
    bounds_ctx *c = ctx;
    if (p->n) {
        c->lo = p->time[0] < c->lo ? p->time[0] : c->lo;
        c->hi = p->time[p->n - 1] > c->hi ? p->time[p->n - 1] : c->hi;
    }
    return true;
}

typedef struct name_list {
    char *v[1024];
    size_t n;
} name_list;

static void name_add(name_list *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return;
    if (l->n < 1024)
        l->v[l->n++] = strdup(s);
}

static bool meas_cb(void *ctx, const char *name)
{
    name_add(ctx, name);
    return true;
}

/* Compares one measurement on one backend; returns divergent (series, hour) pairs, or -1 with
 * why when a side could not answer. */
/* Points of m on the backup outside [t0, t1] (used when the window was taken from the
 * primary's data: the backup may hold points the primary has none near). */
static int64_t count_outside(struct backend *b, const char *db, const char *m, int64_t t0,
                             int64_t t1, bool before)
{
    vt_buf q;
    vt_buf_init(&q);
    vt_buf_printf(&q, "SELECT count(*) FROM ");
    influxql_format_ident(m, &q);
    vt_buf_printf(&q, " WHERE time %s %" PRId64, before ? "<" : ">", before ? t0 : t1);
    char *j = NULL;
    vt_err err;
    vt_err_clear(&err);
    agg_set S = {0};
    char w[400];
    int64_t n = 0;
    if (backend_query(b, db, vt_buf_cstr(&q), &j, &err) == VT_OK && j &&
        agg_parse(j, strlen(j), &S, w, sizeof w))
        for (size_t i = 0; i < S.n; i++)
            n = (int64_t)S.v[i].v > n ? (int64_t)S.v[i].v : n;
    free(j);
    agg_free(&S);
    vt_buf_free(&q);
    return n;
}

static int64_t compare_measurement(const check_options *o, struct backend *b, const char *bname,
                                   const char *m, int64_t t0, int64_t t1, check_result *r,
                                   char *why, size_t cap)
{
    vt_buf q;
    vt_buf_init(&q);
    vt_buf_printf(&q, "SELECT count(*), sum(*) FROM ");
    influxql_format_ident(m, &q);
    vt_buf_printf(&q, " WHERE time >= %" PRId64 " AND time <= %" PRId64
                      " GROUP BY time(1h), * fill(none)",
                  t0, t1);
    vt_buf pj;
    vt_buf_init(&pj);
    vt_err err;
    vt_err_clear(&err);
    agg_set P = {0}, B = {0};
    int64_t diverged = -1;
    char *bj = NULL;
    if (iql_run_json(o->node, o->db, NULL, (const char *)q.data, q.len, 0, &pj, &err) != VT_OK) {
        snprintf(why, cap, "primary: %s", err.msg);
        goto out;
    }
    char w[400];
    if (!agg_parse((const char *)pj.data, pj.len, &P, w, sizeof w)) {
        snprintf(why, cap, "primary: %s", w);
        goto out;
    }
    if (backend_query(b, o->db, vt_buf_cstr(&q), &bj, &err) != VT_OK) {
        snprintf(why, cap, "%s: %s", bname, err.msg);
        goto out;
    }
    if (!agg_parse(bj, strlen(bj), &B, w, sizeof w)) {
        if (strstr(w, "database not found")) {
            B.n = 0; /* the backup has nothing: every primary row diverges */
        } else {
            snprintf(why, cap, "%s: %s", bname, w);
            goto out;
        }
    }
    if (P.n)
        qsort(P.v, P.n, sizeof *P.v, agg_cmp);
    if (B.n)
        qsort(B.v, B.n, sizeof *B.v, agg_cmp);
    diverged = 0;
    size_t i = 0, j = 0;
    char last[1024] = "";
    vt_buf diff;
    vt_buf_init(&diff);
    while (i < P.n || j < B.n) {
        int c = i == P.n ? 1 : j == B.n ? -1 : strcmp(P.v[i].key, B.v[j].key);
        const char *key = c <= 0 ? P.v[i].key : B.v[j].key;
        double pv = c <= 0 ? P.v[i].v : 0, bv = c >= 0 ? B.v[j].v : 0;
        bool have_p = c <= 0, have_b = c >= 0;
        if (c <= 0)
            i++;
        if (c >= 0)
            j++;
        if (have_p && have_b && same_value(key, pv, bv))
            continue;
        /* key = series \x1f time \x1f column: group the columns of one (series, hour) */
        const char *col = strrchr(key, '\x1f');
        size_t sh = (size_t)(col - key);
        if (strlen(last) != sh || strncmp(last, key, sh) != 0) {
            if (diff.len) {
                check_result_item(r, "%s", vt_buf_cstr(&diff));
                vt_buf_reset(&diff);
            }
            snprintf(last, sizeof last, "%.*s", (int)sh, key);
            const char *ts = strchr(key, '\x1f');
            vt_buf_printf(&diff, "%s: %.*s %.*s:", bname, (int)(ts - key), key,
                          (int)(col - ts - 1), ts + 1);
            diverged++;
        }
        char a[32] = "absent", bb[32] = "absent";
        if (have_p)
            snprintf(a, sizeof a, "%.15g", pv);
        if (have_b)
            snprintf(bb, sizeof bb, "%.15g", bv);
        vt_buf_printf(&diff, " %s primary %s backup %s;", col + 1, a, bb);
    }
    if (diff.len)
        check_result_item(r, "%s", vt_buf_cstr(&diff));
    vt_buf_free(&diff);
    for (int side = 0; side < 2; side++) {
        bool before = side == 0;
        if ((before ? o->start : o->end) != (before ? INT64_MIN : INT64_MAX))
            continue; /* a window the caller gave: nothing outside it is compared */
        int64_t extra = count_outside(b, o->db, m, t0, t1, before);
        if (extra > 0) {
            char tb[VT_FMT_TIME_MAX];
            fmt_time(tb, before ? t0 : t1);
            check_result_item(r, "%s: %s: %" PRId64 " point(s) %s %s, where the primary has none",
                              bname, m, extra, before ? "before" : "after", tb);
            diverged++;
        }
    }
out:
    free(bj);
    agg_free(&P);
    agg_free(&B);
    vt_buf_free(&pj);
    vt_buf_free(&q);
    return diverged;
}

void check_backends(const check_options *o, check_result *r)
{
    check_result_init(r, check_names[4]);
    if (o->nbackends == 0) {
        set_status(r, CHECK_PASS, "no backup backend configured");
        return;
    }
    if (!o->node) {
        set_status(r, CHECK_ERROR, "no node open");
        return;
    }
    engine *e = node_engine(o->node);
    char store[ENGINE_STORE_NAME_MAX + 1];
    vt_err err;
    vt_err_clear(&err);
    if (node_resolve_store(o->node, o->db, NULL, store, sizeof store, &err) != VT_OK) {
        set_status(r, CHECK_ERROR, "%s", err.msg);
        return;
    }
    name_list meas = {{0}, 0};
    engine_foreach_measurement(e, store, meas_cb, &meas, &err);
    /* the window: unbounded sides from the primary's data (block spans, no decoding) */
    int64_t t0 = o->start, t1 = o->end;
    if (t0 == INT64_MIN || t1 == INT64_MAX) {
        bounds_ctx bc = {INT64_MAX, INT64_MIN};
        for (size_t k = 0; k < meas.n; k++) {
            ser_list L;
            if (list_series(e, store, meas.v[k], &L, &err) == VT_OK)
                for (size_t i = 0; i < L.n; i++)
                    for (size_t f = 0; f < L.v[i].nfields; f++)
                        engine_read_agg(e, store, L.v[i].id, L.v[i].fields[f], o->start, o->end,
                                        bounds_block, bounds_points, &bc, &err);
            ser_list_free(&L);
        }
        if (bc.lo > bc.hi) {
            bc.lo = 0;
            bc.hi = 0;
        }
        if (t0 == INT64_MIN)
            t0 = bc.lo;
        if (t1 == INT64_MAX)
            t1 = bc.hi;
    }
    uint64_t divergent = 0;
    char why[700] = "";
    for (size_t bi = 0; bi < o->nbackends && !why[0]; bi++) {
        const char *bname = o->backend_names ? o->backend_names[bi] : backend_name(o->backends[bi]);
        name_list all = {{0}, 0};
        for (size_t k = 0; k < meas.n; k++)
            name_add(&all, meas.v[k]);
        char *sj = NULL;
        vt_err_clear(&err);
        if (backend_query(o->backends[bi], o->db, "SHOW MEASUREMENTS", &sj, &err) == VT_OK && sj) {
            json_t *doc = json_loads(sj, 0, NULL);
            json_t *s0 = json_array_get(
                json_object_get(json_array_get(json_object_get(doc, "results"), 0), "series"), 0);
            size_t vi;
            json_t *row;
            json_array_foreach(json_object_get(s0, "values"), vi, row)
            {
                const char *nm = json_string_value(json_array_get(row, 0));
                if (nm)
                    name_add(&all, nm);
            }
            json_decref(doc);
        } else if (err.rc != VT_OK) {
            snprintf(why, sizeof why, "%s: %s", bname, err.msg);
        }
        free(sj);
        for (size_t k = 0; k < all.n && !why[0]; k++) {
            int64_t d = compare_measurement(o, o->backends[bi], bname, all.v[k], t0, t1, r, why,
                                            sizeof why);
            if (d > 0)
                divergent += (uint64_t)d;
        }
        for (size_t k = 0; k < all.n; k++)
            free(all.v[k]);
    }
    for (size_t k = 0; k < meas.n; k++)
        free(meas.v[k]);
    char a[VT_FMT_TIME_MAX], b[VT_FMT_TIME_MAX];
    fmt_time(a, t0);
    fmt_time(b, t1);
    if (why[0])
        set_status(r, CHECK_ERROR, "%s", why);
    else if (divergent)
        set_status(r, CHECK_FAIL,
                   "%" PRIu64 " (series, hour) pair(s) differ between the primary and %zu "
                   "backup(s) over %s .. %s",
                   divergent, o->nbackends, a, b);
    else
        set_status(r, CHECK_PASS,
                   "counts and sums per series per hour equal on the primary and %zu backup(s) "
                   "over %s .. %s",
                   o->nbackends, a, b);
}

/* ---- the report ---- */

void check_run(const check_options *o, check_report *rep)
{
    memset(rep, 0, sizeof *rep);
    rep->db = o->db;
    rep->start = o->start;
    rep->end = o->end;
    static void (*const fns[CHECK_COUNT])(const check_options *, check_result *) = {
        check_checksums, check_duplicates, check_nulls, check_consistency, check_backends,
    };
    for (unsigned i = 0; i < CHECK_COUNT; i++) {
        if (!(o->checks & (1u << i)))
            continue;
        check_result *r = &rep->results[rep->n++];
        fns[i](o, r);
        if (r->status == CHECK_PASS)
            rep->passed++;
        else if (r->status == CHECK_FAIL)
            rep->failed++;
        else
            rep->errors++;
    }
}

void check_report_free(check_report *rep)
{
    for (size_t i = 0; i < rep->n; i++)
        check_result_free(&rep->results[i]);
    rep->n = 0;
}

static const char *status_label(check_status s)
{
    return s == CHECK_PASS ? "PASSOU" : s == CHECK_FAIL ? "FALHA" : "ERRO";
}

static const char *status_name(check_status s)
{
    return s == CHECK_PASS ? "PASS" : s == CHECK_FAIL ? "FAIL" : "ERROR";
}

void check_report_text(const check_report *rep, bool items, vt_buf *out)
{
    for (size_t i = 0; i < rep->n; i++) {
        const check_result *r = &rep->results[i];
        const char *mark = r->status == CHECK_PASS ? "✓" : r->status == CHECK_FAIL ? "✗" : "?";
        vt_buf_printf(out, "%s %s: %s - %s\n", mark, r->name, status_label(r->status), r->details);
        if (!items)
            continue;
        size_t shown = r->nitems < CHECK_TEXT_ITEMS ? r->nitems : CHECK_TEXT_ITEMS;
        for (size_t k = 0; k < shown; k++)
            vt_buf_printf(out, "    %s\n", r->items[k]);
        if (r->items_total > shown)
            vt_buf_printf(out, "    ... and %" PRIu64 " more (--json lists up to %d)\n",
                          r->items_total - shown, CHECK_MAX_ITEMS);
    }
    vt_buf_printf(out, "%u passed, %u failed, %u errors\n", rep->passed, rep->failed, rep->errors);
}

static void json_cstr(vt_buf *b, const char *s)
{
    qr_json_str(b, s, strlen(s));
}

void check_report_json(const check_report *rep, vt_buf *out)
{
    vt_buf_printf(out, "{\"db\":");
    json_cstr(out, rep->db ? rep->db : "");
    char a[VT_FMT_TIME_MAX], b[VT_FMT_TIME_MAX];
    fmt_time(a, rep->start);
    fmt_time(b, rep->end);
    if (rep->start == INT64_MIN)
        vt_buf_printf(out, ",\"start\":null");
    else
        vt_buf_printf(out, ",\"start\":\"%s\"", a);
    if (rep->end == INT64_MAX)
        vt_buf_printf(out, ",\"end\":null");
    else
        vt_buf_printf(out, ",\"end\":\"%s\"", b);
    vt_buf_printf(out, ",\"checks\":[");
    for (size_t i = 0; i < rep->n; i++) {
        const check_result *r = &rep->results[i];
        vt_buf_printf(out, "%s{\"name\":\"%s\",\"status\":\"%s\",\"label\":\"%s\",\"details\":",
                      i ? "," : "", r->name, status_name(r->status), status_label(r->status));
        json_cstr(out, r->details);
        vt_buf_printf(out, ",\"items\":[");
        for (size_t k = 0; k < r->nitems; k++) {
            if (k)
                vt_buf_putc(out, ',');
            json_cstr(out, r->items[k]);
        }
        vt_buf_printf(out, "],\"items_total\":%" PRIu64 "}", r->items_total);
    }
    vt_buf_printf(out,
                  "],\"summary\":{\"passed\":%u,\"failed\":%u,\"errors\":%u},\"exit_code\":%d}\n",
                  rep->passed, rep->failed, rep->errors, check_report_exit_code(rep));
}

int check_report_exit_code(const check_report *rep)
{
    return rep->failed ? 1 : rep->errors ? 2 : 0;
}
