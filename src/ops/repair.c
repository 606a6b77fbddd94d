/*
 * ops/repair.c — `volta repair` (the steps are in repair.h; docs/REPAIR.md).
 *
 * Implementation notes:
 * 1. Sources a and c are both a volta node in a scratch directory <data>/.repair-<pid>/<name>
 *    (replayed journal, or restored backup): the same lookup reads them (series by its exact
 *    tag set, then engine_read of the field over the range). The directory is removed at the
 *    end whatever happens.
 * 2. The backend query asks for the field with the series' tags in the WHERE clause and
 *    GROUP BY *, then keeps the one group whose tags are exactly the series' (a group of a
 *    series with more tags shows them; ours shows the others as ""). Times come back as
 *    RFC3339 with nanoseconds (exact); floats as Go's shortest round-trip text (exact through
 *    strtod).
 * 3. A source's points are kept per item only until the rewrite of its segment; items are
 *    handled segment by segment, so memory is bounded by one segment's bad blocks.
 */
#include "ops/repair.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/backend.h"
#include "common/timefmt.h"
#include "core/record.h"
#include "engine/engine.h"
#include "engine/segment.h"
#include "journal/journal.h"
#include "ops/check.h"
#include "ops/restore.h"
#include "query/influxql_parser.h"

void repair_options_default(repair_options *o)
{
    memset(o, 0, sizeof *o);
    o->use_journal = true;
}

/* ---- step 1: the scan ---- */

typedef struct scan_ctx {
    repair_report *rep;
    size_t cap;
    bool oom;
} scan_ctx;

static char *dup_str(vt_str s)
{
    char *p = malloc(s.len + 1);
    if (p) {
        if (s.len)
            memcpy(p, s.ptr, s.len);
        p[s.len] = '\0';
    }
    return p;
}

static void scan_cb(void *ctx, const engine_bad_block *b)
{
    scan_ctx *c = ctx;
    repair_report *rep = c->rep;
    if (c->oom)
        return;
    if (rep->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 16;
        repair_item *ni = realloc(rep->items, nc * sizeof *ni);
        if (!ni) {
            c->oom = true;
            return;
        }
        rep->items = ni;
        c->cap = nc;
    }
    repair_item *it = &rep->items[rep->n];
    memset(it, 0, sizeof *it);
    snprintf(it->store, sizeof it->store, "%s", b->db);
    snprintf(it->file, sizeof it->file, "%s", b->file);
    it->segment_id = b->segment_id;
    it->block = b->block;
    it->offset = b->offset;
    snprintf(it->problem, sizeof it->problem, "%s", b->problem);
    it->measurement = dup_str(b->measurement);
    it->tags = calloc(b->ntags ? b->ntags : 1, sizeof *it->tags);
    if (!it->measurement || !it->tags) {
        free(it->measurement);
        free(it->tags);
        c->oom = true;
        return;
    }
    rep->n++; /* owned from here: repair_report_free releases it */
    size_t at = (size_t)snprintf(it->series, sizeof it->series, "%s", it->measurement);
    for (size_t t = 0; t < b->ntags; t++) {
        char *k = dup_str(b->tags[t].key), *v = dup_str(b->tags[t].value);
        it->tags[it->ntags++] = (vt_tag){{k, k ? b->tags[t].key.len : 0},
                                         {v, v ? b->tags[t].value.len : 0}};
        if (!k || !v) {
            c->oom = true;
            return;
        }
        if (at < sizeof it->series)
            at += (size_t)snprintf(it->series + at, sizeof it->series - at, ",%s=%s", k, v);
    }
    snprintf(it->field, sizeof it->field, "%.*s", (int)b->field.len, b->field.ptr);
    it->type = b->type;
    it->min_time = b->min_time;
    it->max_time = b->max_time;
    it->count = b->count;
    it->status = REPAIR_UNRECOVERABLE;
}

void repair_report_free(repair_report *rep)
{
    for (size_t i = 0; i < rep->n; i++) {
        repair_item *it = &rep->items[i];
        for (size_t t = 0; t < it->ntags; t++) {
            free((void *)it->tags[t].key.ptr);
            free((void *)it->tags[t].value.ptr);
        }
        free(it->tags);
        free(it->measurement);
    }
    free(rep->items);
    memset(rep, 0, sizeof *rep);
}

/* ---- reading points (note 1) ---- */

typedef struct find_ctx {
    const repair_item *it;
    bool found;
    uint64_t id;
    vt_type type;
} find_ctx;

static bool tags_equal(const vt_tag *a, size_t na, const vt_tag *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (!vt_str_eq(a[i].key, b[i].key) || !vt_str_eq(a[i].value, b[i].value))
            return false;
    return true;
}

static bool find_cb(void *ctx, const engine_series_info *s)
{
    find_ctx *f = ctx;
    if (!tags_equal(s->tags, s->ntags, f->it->tags, f->it->ntags))
        return true;
    f->found = true;
    f->id = s->id;
    for (size_t i = 0; i < s->nfields; i++)
        if (strcmp(s->fields[i].name, f->it->field) == 0)
            f->type = s->fields[i].type;
    return false;
}

static bool collect_cb(void *ctx, const engine_points *p)
{
    seg_col *c = ctx;
    for (size_t i = 0; i < p->n; i++) {
        switch (p->type) {
        case VT_TYPE_FLOAT:
            seg_col_push_copy(c, p->time[i], &p->f[i]);
            break;
        case VT_TYPE_INT:
            seg_col_push_copy(c, p->time[i], &p->i[i]);
            break;
        case VT_TYPE_UINT:
            seg_col_push_copy(c, p->time[i], &p->u[i]);
            break;
        case VT_TYPE_BOOL:
            seg_col_push_copy(c, p->time[i], &p->b[i]);
            break;
        default:
            seg_col_push_copy(c, p->time[i], &p->s[i]);
            break;
        }
    }
    return !c->oom;
}

/* The points of the item's (series, field) in [min, max] held by the engine of n, appended to
 * out (out->type = the item's type; a column of another type there counts as none). */
static vt_rc engine_points_of(engine *e, const repair_item *it, seg_col *out, vt_err *err)
{
    if (!engine_has_db(e, it->store))
        return VT_OK;
    find_ctx f = {it, false, 0, VT_TYPE_NONE};
    vt_rc rc = engine_foreach_series(e, it->store, it->measurement, find_cb, &f, err);
    if (rc == VT_ENOTFOUND)
        return VT_OK;
    if (rc != VT_OK || !f.found || f.type != it->type)
        return rc;
    rc = engine_read(e, it->store, f.id, it->field, it->min_time, it->max_time, collect_cb, out,
                     err);
    if (rc == VT_ENOTFOUND)
        rc = VT_OK;
    if (rc == VT_OK && out->oom)
        rc = vt_err_set(err, VT_ENOMEM, "repair: out of memory");
    return rc;
}

/* ---- source b: a backend (note 2) ---- */

static void split_store(const char *store, char *db, size_t dbcap, char *rp, size_t rpcap)
{
    const char *sep = strchr(store, ENGINE_STORE_SEP);
    if (!sep) {
        snprintf(db, dbcap, "%s", store);
        snprintf(rp, rpcap, "autogen");
        return;
    }
    snprintf(db, dbcap, "%.*s", (int)(sep - store), store);
    snprintf(rp, rpcap, "%s", sep + 1);
}

static bool group_matches(json_t *tags, const repair_item *it)
{
    for (size_t t = 0; t < it->ntags; t++) {
        json_t *v = json_object_get(tags, it->tags[t].key.ptr);
        if (!json_is_string(v) || strcmp(json_string_value(v), it->tags[t].value.ptr) != 0)
            return false;
    }
    const char *k;
    json_t *v;
    json_object_foreach(tags, k, v)
    {
        bool ours = false;
        for (size_t t = 0; t < it->ntags && !ours; t++)
            ours = strcmp(it->tags[t].key.ptr, k) == 0;
        if (!ours && (!json_is_string(v) || json_string_value(v)[0] != '\0'))
            return false;
    }
    return true;
}

static bool push_json_value(seg_col *c, int64_t t, json_t *v)
{
    switch (c->type) {
    case VT_TYPE_FLOAT: {
        if (!json_is_number(v))
            return false;
        double x = json_number_value(v);
        seg_col_push_copy(c, t, &x);
        return true;
    }
    case VT_TYPE_INT: {
        if (!json_is_integer(v))
            return false;
        int64_t x = (int64_t)json_integer_value(v);
        seg_col_push_copy(c, t, &x);
        return true;
    }
    case VT_TYPE_UINT: {
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return false;
        uint64_t x = (uint64_t)json_integer_value(v);
        seg_col_push_copy(c, t, &x);
        return true;
    }
    case VT_TYPE_BOOL: {
        if (!json_is_boolean(v))
            return false;
        bool x = json_is_true(v);
        seg_col_push_copy(c, t, &x);
        return true;
    }
    default: {
        if (!json_is_string(v))
            return false;
        vt_str x = {json_string_value(v), json_string_length(v)};
        seg_col_push_copy(c, t, &x);
        return true;
    }
    }
}

static vt_rc backend_points_of(struct backend *b, const repair_item *it, seg_col *out,
                               vt_err *err)
{
    char db[512], rp[512];
    split_store(it->store, db, sizeof db, rp, sizeof rp);
    vt_buf q;
    vt_buf_init(&q);
    vt_buf_printf(&q, "SELECT ");
    influxql_format_ident(it->field, &q);
    vt_buf_printf(&q, " FROM ");
    influxql_format_ident(rp, &q);
    vt_buf_putc(&q, '.');
    influxql_format_ident(it->measurement, &q);
    vt_buf_printf(&q, " WHERE time >= %" PRId64 " AND time <= %" PRId64, it->min_time,
                  it->max_time);
    for (size_t t = 0; t < it->ntags; t++) {
        vt_buf_printf(&q, " AND ");
        influxql_format_ident(it->tags[t].key.ptr, &q);
        vt_buf_printf(&q, " = ");
        influxql_format_string(it->tags[t].value.ptr, &q);
    }
    vt_buf_printf(&q, " GROUP BY *");
    char *js = NULL;
    vt_rc rc = q.oom ? vt_err_set(err, VT_ENOMEM, "repair: out of memory")
                     : backend_query(b, db, vt_buf_cstr(&q), &js, err);
    vt_buf_free(&q);
    if (rc != VT_OK)
        return rc;
    json_error_t jerr;
    json_t *doc = json_loads(js ? js : "", 0, &jerr);
    free(js);
    if (!doc)
        return vt_err_set(err, VT_EPARSE, "answer is not JSON: %s", jerr.text);
    json_t *res = json_array_get(json_object_get(doc, "results"), 0);
    json_t *qerr = json_object_get(res, "error");
    if (json_is_string(qerr)) {
        const char *m = json_string_value(qerr);
        /* a database the backend never had holds nothing */
        rc = strncmp(m, "database not found", 18) == 0 || strncmp(m, "retention policy not", 20) == 0
                 ? VT_OK
                 : vt_err_set(err, VT_EINVAL, "%s", m);
        json_decref(doc);
        return rc;
    }
    size_t si;
    json_t *ser;
    json_array_foreach(json_object_get(res, "series"), si, ser)
    {
        if (!group_matches(json_object_get(ser, "tags"), it))
            continue;
        size_t ri;
        json_t *row;
        json_array_foreach(json_object_get(ser, "values"), ri, row)
        {
            json_t *tv = json_array_get(row, 0), *v = json_array_get(row, 1);
            int64_t t;
            vt_err terr;
            if (json_is_null(v))
                continue;
            if (!json_is_string(tv) ||
                vt_time_parse(json_string_value(tv), json_string_length(tv), NULL, &t, &terr) !=
                    VT_OK) {
                json_decref(doc);
                return vt_err_set(err, VT_EPARSE, "row %zu: bad time", ri);
            }
            if (!push_json_value(out, t, v)) {
                json_decref(doc);
                return vt_err_set(err, VT_ETYPE, "row %zu: value is not of type %s", ri,
                                  vt_type_name(it->type));
            }
        }
    }
    json_decref(doc);
    return out->oom ? vt_err_set(err, VT_ENOMEM, "repair: out of memory") : VT_OK;
}

/* ---- sources a and c: scratch nodes (note 1) ---- */

typedef struct scratch {
    char dir[4096];
    node *n;
} scratch;

static void scratch_options(node_options *no)
{
    node_options_default(no);
    no->journal.fsync = JOURNAL_FSYNC_NEVER; /* thrown away at the end */
    no->journal_trim = false;
    no->retention = false;
    no->engine.background = false;
    no->engine.compact_cold_ms = 0;
}

typedef struct store_list {
    char **v;
    size_t n, cap;
    bool oom;
} store_list;

static void list_cb(void *ctx, const char *name)
{
    store_list *l = ctx;
    if (l->oom)
        return;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 8;
        char **nv = realloc(l->v, nc * sizeof *nv);
        if (!nv) {
            l->oom = true;
            return;
        }
        l->v = nv;
        l->cap = nc;
    }
    if (!(l->v[l->n] = strdup(name)))
        l->oom = true;
    else
        l->n++;
}

static void store_list_free(store_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

/* Replays every record the primary's journal holds into a fresh node at s->dir. */
static vt_rc scratch_from_journal(const repair_options *o, scratch *s, uint64_t *records,
                                  vt_err *err)
{
    node_options no;
    scratch_options(&no);
    vt_rc rc = node_open(s->dir, &no, &s->n, NULL, err);
    if (rc != VT_OK)
        return rc;
    /* the catalogs first: the journal may begin after the CREATE DATABASE of a store */
    store_list dbs = {0};
    engine_list_dbs(node_engine(o->node), list_cb, &dbs);
    if (dbs.oom)
        rc = vt_err_set(err, VT_ENOMEM, "repair: out of memory");
    for (size_t i = 0; i < dbs.n && rc == VT_OK; i++) {
        record_rpcat cat;
        if (node_rp_catalog(o->node, dbs.v[i], &cat, err) != VT_OK)
            continue; /* dropped meanwhile */
        vt_buf b;
        vt_buf_init(&b);
        record_db_meta_encode(&b, dbs.v[i], &cat);
        record_rpcat_free(&cat);
        journal_record rec = {0, RECORD_TYPE_DB_META, 0, b.data, (uint32_t)b.len};
        rc = b.oom ? vt_err_set(err, VT_ENOMEM, "repair: out of memory")
                   : node_apply_records(s->n, &rec, 1, err);
        vt_buf_free(&b);
    }
    store_list_free(&dbs);
    if (rc != VT_OK)
        return rc;
    char jdir[4200];
    snprintf(jdir, sizeof jdir, "%s/journal", o->data_dir);
    journal_reader *r = NULL;
    rc = journal_reader_open(jdir, 0, &r, err);
    if (rc != VT_OK)
        return rc;
    for (;;) {
        journal_record rec;
        bool have = false;
        rc = journal_reader_next(r, &rec, &have, err);
        if (rc != VT_OK || !have)
            break;
        rc = node_apply_records(s->n, &rec, 1, err);
        if (rc != VT_OK)
            break;
        (*records)++;
    }
    journal_reader_close(r);
    return rc;
}

/* Restores --from into s->dir and opens it. */
static vt_rc scratch_from_backup(const repair_options *o, scratch *s, char *what, size_t cap,
                                 vt_err *err)
{
    restore_options ro;
    restore_options_default(&ro);
    char probe[4200];
    struct stat st;
    snprintf(probe, sizeof probe, "%s/SNAPSHOT", o->from);
    if (stat(probe, &st) == 0) {
        ro.snapshot_dir = o->from;
    } else {
        snprintf(probe, sizeof probe, "%s/backups", o->from);
        if (stat(probe, &st) == 0 && S_ISDIR(st.st_mode)) {
            ro.repo = o->from;
            ro.id = o->from_id;
        } else {
            ro.data = o->data_dir; /* a snapshot id of this data directory */
            ro.id = o->from;
        }
    }
    ro.to = s->dir;
    restore_result res;
    memset(&res, 0, sizeof res);
    vt_rc rc = restore_run(&ro, &res, err);
    if (rc != VT_OK)
        return rc;
    snprintf(what, cap, "%s %s", ro.repo ? "backup" : "snapshot", res.id);
    node_options no;
    scratch_options(&no);
    return node_open(s->dir, &no, &s->n, NULL, err);
}

static void scratch_close(scratch *s)
{
    if (s->n)
        node_close(s->n, NULL);
    s->n = NULL;
}

/* ---- the sources, in order ---- */

typedef enum src_kind { SRC_JOURNAL, SRC_BACKEND, SRC_FROM } src_kind;

typedef struct source {
    src_kind kind;
    char name[600];      /* "journal", "backend <name>", "backup <id>" */
    struct backend *b;   /* SRC_BACKEND */
    scratch sc;          /* SRC_JOURNAL, SRC_FROM (opened on first use) */
    bool tried, usable;
    char why[512];       /* why it is not usable */
} source;

static vt_rc source_ready(const repair_options *o, source *s, const char *root)
{
    if (s->tried)
        return s->usable ? VT_OK : VT_EIO;
    s->tried = true;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = VT_OK;
    if (s->kind == SRC_JOURNAL) {
        snprintf(s->sc.dir, sizeof s->sc.dir, "%s/journal", root);
        uint64_t records = 0;
        rc = scratch_from_journal(o, &s->sc, &records, &err);
        if (rc == VT_OK)
            snprintf(s->name, sizeof s->name, "journal (%" PRIu64 " records)", records);
    } else if (s->kind == SRC_FROM) {
        snprintf(s->sc.dir, sizeof s->sc.dir, "%s/from", root);
        char what[300] = "";
        rc = scratch_from_backup(o, &s->sc, what, sizeof what, &err);
        if (rc == VT_OK)
            snprintf(s->name, sizeof s->name, "%s (%s)", what, o->from);
    }
    if (rc != VT_OK) {
        snprintf(s->why, sizeof s->why, "%s", err.msg);
        scratch_close(&s->sc);
        return rc;
    }
    s->usable = true;
    return VT_OK;
}

static vt_rc source_points(source *s, const repair_item *it, seg_col *out, vt_err *err)
{
    if (s->kind == SRC_BACKEND)
        return backend_points_of(s->b, it, out, err);
    return engine_points_of(node_engine(s->sc.n), it, out, err);
}

/* Step 2 for one item: the first source holding the range; its points in *out. */
static bool item_rebuild_from(const repair_options *o, source *srcs, size_t nsrc,
                              const char *root, repair_item *it, seg_col *out)
{
    size_t at = 0;
    it->note[0] = '\0';
    for (size_t i = 0; i < nsrc; i++) {
        source *s = &srcs[i];
        vt_err err;
        vt_err_clear(&err);
        seg_col_clear(out);
        const char *sep = at ? "; " : "";
        if (source_ready(o, s, root) != VT_OK) {
            if (at < sizeof it->note)
                at += (size_t)snprintf(it->note + at, sizeof it->note - at, "%s%s: unusable",
                                       sep, s->name);
            continue;
        }
        vt_rc rc = source_points(s, it, out, &err);
        if (rc != VT_OK) {
            if (at < sizeof it->note)
                at += (size_t)snprintf(it->note + at, sizeof it->note - at, "%s%s: %s", sep,
                                       s->name, err.msg);
            continue;
        }
        if (out->n < it->count) {
            if (at < sizeof it->note)
                at += (size_t)snprintf(it->note + at, sizeof it->note - at,
                                       "%s%s: holds %zu of the %" PRIu32 " points", sep, s->name,
                                       out->n, it->count);
            continue;
        }
        seg_col_fix_strings(out);
        snprintf(it->source, sizeof it->source, "%s", s->name);
        it->source_points = out->n;
        return true;
    }
    return false;
}

/* ---- steps 3 and 4 ---- */

static bool count_cb(void *ctx, const engine_points *p)
{
    *(uint64_t *)ctx += p->n;
    return true;
}

static uint64_t store_points(engine *e, const repair_item *it, bool *ok)
{
    find_ctx f = {it, false, 0, VT_TYPE_NONE};
    vt_err err;
    vt_err_clear(&err);
    uint64_t n = 0;
    *ok = true;
    if (engine_foreach_series(e, it->store, it->measurement, find_cb, &f, &err) != VT_OK ||
        !f.found)
        return 0;
    if (engine_read(e, it->store, f.id, it->field, it->min_time, it->max_time, count_cb, &n,
                    &err) != VT_OK)
        *ok = false;
    return n;
}

/* Rewrites segment (items[first..end) share store and segment id). */
static vt_rc repair_segment(const repair_options *o, repair_report *rep, size_t first,
                            size_t end, source *srcs, size_t nsrc, const char *root, vt_err *err)
{
    size_t n = end - first;
    seg_col *cols = calloc(n, sizeof *cols);
    size_t *drop = calloc(n, sizeof *drop);
    engine_patch *patches = calloc(n, sizeof *patches);
    size_t ndrop = 0, npatch = 0;
    vt_rc rc = VT_OK;
    if (!cols || !drop || !patches) {
        rc = vt_err_set(err, VT_ENOMEM, "repair: out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        repair_item *it = &rep->items[first + i];
        seg_col_init(&cols[i], it->type);
        if (item_rebuild_from(o, srcs, nsrc, root, it, &cols[i])) {
            it->status = o->dry_run ? REPAIR_WOULD_REBUILD : REPAIR_REBUILT;
            drop[ndrop++] = it->block;
            patches[npatch++] = (engine_patch){it->block, &cols[i]};
        } else if (o->drop_unrecoverable) {
            it->status = REPAIR_DROPPED;
            drop[ndrop++] = it->block;
        } else {
            it->status = REPAIR_UNRECOVERABLE;
        }
    }
    if (o->dry_run || ndrop == 0)
        goto out;
    engine_lost *lost = NULL;
    size_t nlost = 0;
    rc = engine_segment_rewrite(node_engine(o->node), rep->items[first].store,
                                rep->items[first].segment_id, drop, ndrop, patches, npatch, &lost,
                                &nlost, err);
    engine_lost_free(lost, nlost);
out:
    for (size_t i = 0; cols && i < n; i++)
        seg_col_free(&cols[i]);
    free(cols);
    free(drop);
    free(patches);
    return rc;
}

static int item_cmp(const void *a, const void *b)
{
    const repair_item *x = a, *y = b;
    int c = strcmp(x->store, y->store);
    if (c)
        return c;
    if (x->segment_id != y->segment_id)
        return x->segment_id < y->segment_id ? -1 : 1;
    return x->block < y->block ? -1 : x->block > y->block;
}

vt_rc repair_run(const repair_options *o, repair_report *rep, vt_err *err)
{
    memset(rep, 0, sizeof *rep);
    rep->dry_run = o->dry_run;
    if (!o->node || !o->data_dir)
        return vt_err_set(err, VT_EINVAL, "repair: a node and its data directory are required");
    engine *e = node_engine(o->node);
    scan_ctx sc = {rep, 0, false};
    vt_rc rc = engine_scan_blocks(e, scan_cb, &sc, &rep->segments, &rep->blocks, err);
    if (rc == VT_OK && sc.oom)
        rc = vt_err_set(err, VT_ENOMEM, "repair: out of memory");
    if (rc != VT_OK)
        return rc;
    if (rep->n == 0) {
        rep->verified = !o->dry_run;
        snprintf(rep->verify, sizeof rep->verify, "no corrupt block in %" PRIu64
                 " blocks of %" PRIu64 " segments", rep->blocks, rep->segments);
        return VT_OK;
    }
    qsort(rep->items, rep->n, sizeof *rep->items, item_cmp);

    /* the sources (step 2), opened on first use */
    size_t nsrc = 0;
    source *srcs = calloc(o->nbackends + 2, sizeof *srcs);
    if (!srcs)
        return vt_err_set(err, VT_ENOMEM, "repair: out of memory");
    if (o->use_journal) {
        srcs[nsrc].kind = SRC_JOURNAL;
        snprintf(srcs[nsrc++].name, sizeof srcs->name, "journal");
    }
    for (size_t i = 0; i < o->nbackends; i++) {
        srcs[nsrc].kind = SRC_BACKEND;
        srcs[nsrc].b = o->backends[i];
        srcs[nsrc].tried = srcs[nsrc].usable = true;
        snprintf(srcs[nsrc++].name, sizeof srcs->name, "backend %s", o->backend_names[i]);
    }
    if (o->from) {
        srcs[nsrc].kind = SRC_FROM;
        snprintf(srcs[nsrc++].name, sizeof srcs->name, "--from %s", o->from);
    }
    char root[4200];
    snprintf(root, sizeof root, "%s/.repair-%ld", o->data_dir, (long)getpid());
    restore_remove_tree(root);
    if (mkdir(root, 0755) != 0) {
        free(srcs);
        return vt_err_set(err, VT_EIO, "repair: mkdir %s: %s", root, strerror(errno));
    }

    for (size_t i = 0; i < rep->n && rc == VT_OK;) {
        size_t j = i + 1;
        while (j < rep->n && rep->items[j].segment_id == rep->items[i].segment_id &&
               strcmp(rep->items[j].store, rep->items[i].store) == 0)
            j++;
        rc = repair_segment(o, rep, i, j, srcs, nsrc, root, err);
        i = j;
    }
    size_t at = 0;
    for (size_t i = 0; i < nsrc; i++) {
        source *s = &srcs[i];
        if (at < sizeof rep->sources)
            at += (size_t)snprintf(rep->sources + at, sizeof rep->sources - at, "%s%s%s%s",
                                   i ? "; " : "", s->name,
                                   s->tried && !s->usable ? ": unusable: " : "",
                                   s->tried && !s->usable ? s->why : "");
        scratch_close(&s->sc);
    }
    if (nsrc == 0)
        snprintf(rep->sources, sizeof rep->sources, "none");
    free(srcs);
    restore_remove_tree(root);
    if (rc != VT_OK)
        return rc;

    /* step 4 */
    for (size_t i = 0; i < rep->n; i++) {
        repair_item *it = &rep->items[i];
        if (it->status == REPAIR_REBUILT) {
            bool ok;
            it->after_points = store_points(e, it, &ok);
            if (!ok || it->after_points != it->source_points) {
                it->status = REPAIR_FAILED;
                snprintf(it->note, sizeof it->note,
                         "verification: the store holds %" PRIu64 " points in the range, the "
                         "source %" PRIu64 "%s",
                         it->after_points, it->source_points, ok ? "" : " (read failed)");
            }
        }
        rep->rebuilt += it->status == REPAIR_REBUILT || it->status == REPAIR_WOULD_REBUILD;
        rep->unrecoverable += it->status == REPAIR_UNRECOVERABLE;
        rep->dropped += it->status == REPAIR_DROPPED;
        rep->failed += it->status == REPAIR_FAILED;
    }
    if (!o->dry_run) {
        check_options co;
        check_options_default(&co);
        co.data_dir = o->data_dir;
        co.online = o->online;
        check_result cr;
        check_checksums(&co, &cr);
        rep->verified = cr.status == CHECK_PASS && rep->failed == 0;
        snprintf(rep->verify, sizeof rep->verify, "checksums: %s - %s",
                 cr.status == CHECK_PASS ? "passes" : "FAILS", cr.details);
        check_result_free(&cr);
    }
    return VT_OK;
}

int repair_exit_code(const repair_report *rep)
{
    if (rep->n == 0)
        return 0;
    if (rep->unrecoverable || rep->dropped || rep->failed)
        return 1;
    return rep->dry_run || rep->verified ? 0 : 1;
}

/* ---- reports ---- */

static const char *status_name(repair_status s)
{
    switch (s) {
    case REPAIR_REBUILT:
        return "rebuilt";
    case REPAIR_WOULD_REBUILD:
        return "would_rebuild";
    case REPAIR_UNRECOVERABLE:
        return "unrecoverable";
    case REPAIR_DROPPED:
        return "dropped";
    default:
        return "failed";
    }
}

static void range_text(const repair_item *it, char *out, size_t cap)
{
    char a[VT_FMT_TIME_MAX], b[VT_FMT_TIME_MAX];
    vt_fmt_rfc3339nano(a, it->min_time);
    vt_fmt_rfc3339nano(b, it->max_time);
    snprintf(out, cap, "[%s, %s]", a, b);
}

void repair_report_text(const repair_report *rep, vt_buf *out)
{
    if (rep->n == 0) {
        vt_buf_printf(out, "✓ nothing to repair: %s\n", rep->verify);
        return;
    }
    for (size_t i = 0; i < rep->n; i++) {
        const repair_item *it = &rep->items[i];
        char range[2 * VT_FMT_TIME_MAX + 8];
        range_text(it, range, sizeof range);
        const char *store = it->store;
        vt_buf_printf(out, "corrupt: %s\n    store %s, series %s, field %s (%s), %s, %" PRIu32
                           " points\n",
                      it->problem, store, it->series, it->field, vt_type_name(it->type), range,
                      it->count);
        switch (it->status) {
        case REPAIR_REBUILT:
            vt_buf_printf(out, "  ✓ rebuilt from %s: %" PRIu64 " points (the store now holds %" PRIu64
                               ")\n",
                          it->source, it->source_points, it->after_points);
            break;
        case REPAIR_WOULD_REBUILD:
            vt_buf_printf(out, "  → would rebuild from %s: %" PRIu64 " points\n", it->source,
                          it->source_points);
            break;
        case REPAIR_DROPPED:
            vt_buf_printf(out, "  ✗ LOST (block dropped): %s %s %s: %s\n", it->series, it->field,
                          range, it->note[0] ? it->note : "no source");
            break;
        case REPAIR_FAILED:
            vt_buf_printf(out, "  ✗ NOT VERIFIED (rebuilt from %s): %s\n", it->source, it->note);
            break;
        default:
            vt_buf_printf(out, "  ✗ NOT REBUILT (block left in place): %s %s %s: %s\n",
                          it->series, it->field, range, it->note[0] ? it->note : "no source");
            break;
        }
    }
    vt_buf_printf(out, "sources: %s\n", rep->sources);
    if (rep->dry_run)
        vt_buf_printf(out, "dry run: %zu corrupt block(s), %u rebuildable, %u not\n", rep->n,
                      rep->rebuilt, rep->unrecoverable + rep->dropped);
    else
        vt_buf_printf(out, "%zu corrupt block(s): %u rebuilt, %u not rebuilt, %u dropped, %u not "
                           "verified; %s\n",
                      rep->n, rep->rebuilt, rep->unrecoverable, rep->dropped, rep->failed,
                      rep->verify);
}

void repair_report_json(const repair_report *rep, vt_buf *out)
{
    json_t *doc = json_object();
    json_t *items = json_array();
    for (size_t i = 0; i < rep->n; i++) {
        const repair_item *it = &rep->items[i];
        char a[VT_FMT_TIME_MAX], b[VT_FMT_TIME_MAX];
        vt_fmt_rfc3339nano(a, it->min_time);
        vt_fmt_rfc3339nano(b, it->max_time);
        json_t *j = json_object();
        json_object_set_new(j, "store", json_string(it->store));
        json_object_set_new(j, "file", json_string(it->file));
        json_object_set_new(j, "segment_id", json_integer((json_int_t)it->segment_id));
        json_object_set_new(j, "block", json_integer((json_int_t)it->block));
        json_object_set_new(j, "offset", json_integer((json_int_t)it->offset));
        json_object_set_new(j, "problem", json_string(it->problem));
        json_object_set_new(j, "series", json_string(it->series));
        json_object_set_new(j, "field", json_string(it->field));
        json_object_set_new(j, "type", json_string(vt_type_name(it->type)));
        json_object_set_new(j, "min_time", json_integer(it->min_time));
        json_object_set_new(j, "max_time", json_integer(it->max_time));
        json_object_set_new(j, "min", json_string(a));
        json_object_set_new(j, "max", json_string(b));
        json_object_set_new(j, "count", json_integer(it->count));
        json_object_set_new(j, "status", json_string(status_name(it->status)));
        json_object_set_new(j, "source", json_string(it->source));
        json_object_set_new(j, "source_points", json_integer((json_int_t)it->source_points));
        json_object_set_new(j, "after_points", json_integer((json_int_t)it->after_points));
        json_object_set_new(j, "note", json_string(it->note));
        json_array_append_new(items, j);
    }
    json_object_set_new(doc, "dry_run", json_boolean(rep->dry_run));
    json_object_set_new(doc, "segments", json_integer((json_int_t)rep->segments));
    json_object_set_new(doc, "blocks", json_integer((json_int_t)rep->blocks));
    json_object_set_new(doc, "items", items);
    json_object_set_new(doc, "rebuilt", json_integer(rep->rebuilt));
    json_object_set_new(doc, "unrecoverable", json_integer(rep->unrecoverable));
    json_object_set_new(doc, "dropped", json_integer(rep->dropped));
    json_object_set_new(doc, "failed", json_integer(rep->failed));
    json_object_set_new(doc, "verified", json_boolean(rep->verified));
    json_object_set_new(doc, "verify", json_string(rep->verify));
    json_object_set_new(doc, "sources", json_string(rep->sources));
    json_object_set_new(doc, "exit_code", json_integer(repair_exit_code(rep)));
    char *s = json_dumps(doc, JSON_COMPACT);
    if (s) {
        vt_buf_append(out, s, strlen(s));
        vt_buf_putc(out, '\n');
        free(s);
    }
    json_decref(doc);
}
