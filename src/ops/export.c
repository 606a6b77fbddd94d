/*
 * ops/export.c — the streaming export (format in export.h).
 *
 * NOTES ON THE DESIGN
 *
 * 1. Order: measurements sorted by name (engine_foreach_measurement), then each measurement's
 *    series by id, then time. Ids are copied out (engine_series_of_measurement) and each
 *    series' metadata is copied into our own store (engine_series_lookup), so no engine lock is
 *    held while we read or while the sink blocks. A series dropped meanwhile reads as
 *    VT_ENOTFOUND and is skipped.
 *
 * 2. Merging the fields of a series by timestamp, in bounded memory: engine_read pushes points
 *    of one field at a time. We read the series in windows starting at `cursor`: each field is
 *    read from cursor, keeping at most EXPORT_WINDOW points (the read is stopped there). A field
 *    that filled its window is known only up to its last buffered time; the window ends at the
 *    smallest such time (wend), so every field is complete over [cursor, wend]. The points up to
 *    wend are merged (k-way, by time) and written; the rest are dropped and read again in the
 *    next window, from wend + 1. Each window emits at least EXPORT_WINDOW points of some field,
 *    so reading costs at most twice a plain read, and memory is nfields x EXPORT_WINDOW points.
 *
 * 3. Output goes through one buffer (and a gzip deflate stream when asked) flushed to the sink
 *    at 64 KiB.
 */
#include "ops/export.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/buf.h"
#include "common/timefmt.h"
#include "ingest/lineproto.h"
#include "query/result.h"

#define EXPORT_FLUSH_BYTES (64 * 1024)

bool ops_format_parse(const char *s, ops_format *out)
{
    if (!s)
        return false;
    if (strcmp(s, "lp") == 0 || strcmp(s, "line") == 0 || strcmp(s, "line-protocol") == 0) {
        *out = OPS_FORMAT_LP;
        return true;
    }
    if (strcmp(s, "json") == 0) {
        *out = OPS_FORMAT_JSON;
        return true;
    }
    return false;
}

void export_options_default(export_options *o)
{
    memset(o, 0, sizeof *o);
    o->tmin = INT64_MIN;
    o->tmax = INT64_MAX;
    o->format = OPS_FORMAT_LP;
}

vt_rc export_parse_time(const char *s, int64_t *out, vt_err *err)
{
    if (!s || !*s)
        return vt_err_set(err, VT_EINVAL, "empty time");
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    bool digits = *p != '\0';
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9')
            digits = false;
    if (digits) {
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno || *end)
            return vt_err_set(err, VT_EINVAL, "time '%s' is out of range", s);
        *out = v;
        return VT_OK;
    }
    vt_err e2;
    if (vt_time_parse(s, strlen(s), NULL, out, &e2) != VT_OK)
        return vt_err_set(err, VT_EINVAL,
                          "'%s' is not a time (ns since the epoch, RFC3339 or YYYY-MM-DD): %s", s,
                          e2.msg);
    return VT_OK;
}

/* ---- output: buffer + optional gzip ---- */

typedef struct exp_out {
    export_sink sink;
    void *ctx;
    bool gzip, gz_init, failed;
    z_stream zs;
    vt_buf text; /* uncompressed text not yet handed on */
    vt_buf zbuf; /* compressed output */
    uint64_t bytes;
} exp_out;

static bool out_emit(exp_out *o, const uint8_t *data, size_t len)
{
    if (o->failed)
        return false;
    if (len == 0)
        return true;
    if (!o->sink(o->ctx, data, len)) {
        o->failed = true;
        return false;
    }
    o->bytes += len;
    return true;
}

/* Hands o->text on (compressed when gzip); finish ends the gzip stream. */
static bool out_flush(exp_out *o, bool finish)
{
    if (o->failed)
        return false;
    if (!o->gzip) {
        bool ok = out_emit(o, o->text.data, o->text.len);
        vt_buf_reset(&o->text);
        return ok;
    }
    o->zs.next_in = o->text.data;
    o->zs.avail_in = (uInt)o->text.len;
    int zr;
    do {
        if (!vt_buf_reserve(&o->zbuf, EXPORT_FLUSH_BYTES))
            return false;
        o->zs.next_out = o->zbuf.data;
        o->zs.avail_out = EXPORT_FLUSH_BYTES;
        zr = deflate(&o->zs, finish ? Z_FINISH : Z_NO_FLUSH);
        if (zr == Z_STREAM_ERROR)
            return false;
        size_t have = EXPORT_FLUSH_BYTES - o->zs.avail_out;
        if (!out_emit(o, o->zbuf.data, have))
            return false;
    } while (o->zs.avail_out == 0 || (finish && zr != Z_STREAM_END));
    vt_buf_reset(&o->text);
    return true;
}

static bool out_maybe_flush(exp_out *o)
{
    return o->text.len < EXPORT_FLUSH_BYTES || out_flush(o, false);
}

/* ---- per-series window (note 2) ---- */

typedef struct field_win {
    const char *name;
    vt_type type;
    size_t n, cap, pos;
    int64_t *time;
    vt_value *val;
    vt_buf strings; /* string values of this window; val[i].v.s.ptr = offset until fixed up */
    bool full;
    bool oom;
} field_win;

static bool win_collect(void *arg, const engine_points *pts)
{
    field_win *w = arg;
    for (size_t i = 0; i < pts->n && w->n < EXPORT_WINDOW; i++) {
        if (w->n == w->cap) {
            size_t cap = w->cap ? w->cap * 2 : 256;
            if (cap > EXPORT_WINDOW)
                cap = EXPORT_WINDOW;
            int64_t *t = realloc(w->time, cap * sizeof *t);
            if (!t) {
                w->oom = true;
                return false;
            }
            w->time = t;
            vt_value *v = realloc(w->val, cap * sizeof *v);
            if (!v) {
                w->oom = true;
                return false;
            }
            w->val = v;
            w->cap = cap;
        }
        vt_value *v = &w->val[w->n];
        v->type = pts->type;
        switch (pts->type) {
        case VT_TYPE_FLOAT: v->v.f = pts->f[i]; break;
        case VT_TYPE_INT: v->v.i = pts->i[i]; break;
        case VT_TYPE_UINT: v->v.u = pts->u[i]; break;
        case VT_TYPE_BOOL: v->v.b = pts->b[i]; break;
        case VT_TYPE_STRING:
            /* offset for now: strings may move while the buffer grows */
            v->v.s.ptr = (const char *)(uintptr_t)w->strings.len;
            v->v.s.len = pts->s[i].len;
            vt_buf_append(&w->strings, pts->s[i].ptr, pts->s[i].len);
            break;
        default: continue;
        }
        w->time[w->n++] = pts->time[i];
    }
    if (w->n >= EXPORT_WINDOW) {
        w->full = true;
        return false;
    }
    return true;
}

typedef struct exp_run {
    node *node;
    engine *eng;
    const export_options *o;
    char store[ENGINE_STORE_NAME_MAX + 1];
    exp_out out;
    export_stats st;
    field_win *wins;
    size_t nwins;
    vt_field *fields; /* the merged point's fields */
    vt_buf line;
    vt_err err;
} exp_run;

static void write_json_float(vt_buf *b, double v)
{
    char tmp[VT_FMT_JSON_FLOAT_MAX];
    size_t n = vt_fmt_json_float(tmp, v);
    if (n == 0) { /* NaN/Inf cannot be stored; never produced */
        vt_buf_append(b, "null", 4);
        return;
    }
    vt_buf_append(b, tmp, n);
    if (!memchr(tmp, '.', n) && !memchr(tmp, 'e', n) && !memchr(tmp, 'E', n))
        vt_buf_append(b, ".0", 2);
}

static void write_json_point(exp_run *x, const vt_point *p)
{
    vt_buf *b = &x->out.text;
    if (x->st.points > 0)
        vt_buf_append(b, ",\n", 2);
    vt_buf_append(b, "{\"_measurement\":", 16);
    qr_json_str(b, p->measurement.ptr, p->measurement.len);
    char t[VT_FMT_TIME_MAX];
    size_t tn = vt_fmt_rfc3339nano(t, p->time);
    vt_buf_append(b, ",\"_time\":\"", 10);
    vt_buf_append(b, t, tn);
    vt_buf_putc(b, '"');
    vt_buf *key = &x->line;
    for (size_t i = 0; i < p->ntags; i++) {
        vt_buf_reset(key);
        vt_buf_append(key, "tag_", 4);
        vt_buf_append(key, p->tags[i].key.ptr, p->tags[i].key.len);
        vt_buf_putc(b, ',');
        qr_json_str(b, (const char *)key->data, key->len);
        vt_buf_putc(b, ':');
        qr_json_str(b, p->tags[i].value.ptr, p->tags[i].value.len);
    }
    for (size_t i = 0; i < p->nfields; i++) {
        const vt_field *f = &p->fields[i];
        vt_buf_reset(key);
        vt_buf_append(key, "field_", 6);
        vt_buf_append(key, f->key.ptr, f->key.len);
        vt_buf_putc(b, ',');
        qr_json_str(b, (const char *)key->data, key->len);
        vt_buf_putc(b, ':');
        switch (f->value.type) {
        case VT_TYPE_FLOAT: write_json_float(b, f->value.v.f); break;
        case VT_TYPE_INT: vt_buf_printf(b, "%" PRId64, f->value.v.i); break;
        case VT_TYPE_UINT: vt_buf_printf(b, "%" PRIu64, f->value.v.u); break;
        case VT_TYPE_BOOL: vt_buf_printf(b, "%s", f->value.v.b ? "true" : "false"); break;
        case VT_TYPE_STRING: qr_json_str(b, f->value.v.s.ptr, f->value.v.s.len); break;
        default: vt_buf_append(b, "null", 4); break;
        }
    }
    vt_buf_putc(b, '}');
}

static bool emit_point(exp_run *x, const vt_point *p)
{
    if (x->o->format == OPS_FORMAT_JSON) {
        write_json_point(x, p);
    } else {
        lp_write_point(&x->out.text, p);
    }
    if (x->out.text.oom || x->line.oom)
        return false;
    x->st.points++;
    return out_maybe_flush(&x->out);
}

static vt_rc export_series(exp_run *x, const engine_series_info *s)
{
    if (s->nfields > x->nwins) {
        field_win *w = realloc(x->wins, s->nfields * sizeof *w);
        if (!w)
            return vt_err_set(&x->err, VT_ENOMEM, "out of memory");
        memset(w + x->nwins, 0, (s->nfields - x->nwins) * sizeof *w);
        for (size_t i = x->nwins; i < s->nfields; i++)
            vt_buf_init(&w[i].strings);
        x->wins = w;
        x->nwins = s->nfields;
        vt_field *f = realloc(x->fields, s->nfields * sizeof *f);
        if (!f)
            return vt_err_set(&x->err, VT_ENOMEM, "out of memory");
        x->fields = f;
    }
    vt_point p = {.measurement = vt_str_c(s->measurement),
                  .tags = s->tags,
                  .ntags = s->ntags,
                  .fields = x->fields};
    int64_t cursor = x->o->tmin;
    bool any = false;
    for (;;) {
        int64_t wend = x->o->tmax;
        for (size_t f = 0; f < s->nfields; f++) {
            field_win *w = &x->wins[f];
            w->name = s->fields[f].name;
            w->type = s->fields[f].type;
            w->n = w->pos = 0;
            w->full = w->oom = false;
            vt_buf_reset(&w->strings);
            vt_err e;
            vt_rc rc = engine_read(x->eng, x->store, s->id, w->name, cursor, x->o->tmax,
                                   win_collect, w, &e);
            if (rc == VT_ENOTFOUND) {
                w->n = 0; /* field or series gone meanwhile */
                continue;
            }
            if (rc != VT_OK) {
                x->err = e;
                return rc;
            }
            if (w->strings.oom || w->oom)
                return vt_err_set(&x->err, VT_ENOMEM, "out of memory");
            for (size_t i = 0; i < w->n; i++)
                if (w->val[i].type == VT_TYPE_STRING)
                    w->val[i].v.s.ptr =
                        (const char *)w->strings.data + (uintptr_t)w->val[i].v.s.ptr;
            if (w->full && w->time[w->n - 1] < wend)
                wend = w->time[w->n - 1];
        }
        /* k-way merge of the windows up to wend */
        for (;;) {
            int64_t t = INT64_MAX;
            bool found = false;
            for (size_t f = 0; f < s->nfields; f++) {
                field_win *w = &x->wins[f];
                if (w->pos < w->n && w->time[w->pos] <= wend && (!found || w->time[w->pos] < t)) {
                    t = w->time[w->pos];
                    found = true;
                }
            }
            if (!found)
                break;
            p.nfields = 0;
            for (size_t f = 0; f < s->nfields; f++) {
                field_win *w = &x->wins[f];
                if (w->pos < w->n && w->time[w->pos] == t) {
                    x->fields[p.nfields].key = vt_str_c(w->name);
                    x->fields[p.nfields].value = w->val[w->pos];
                    p.nfields++;
                    w->pos++;
                }
            }
            p.time = t;
            if (!emit_point(x, &p))
                return x->out.failed ? vt_err_set(&x->err, VT_EIO, "the output was closed")
                                     : vt_err_set(&x->err, VT_ENOMEM, "out of memory");
            any = true;
        }
        bool more = false;
        for (size_t f = 0; f < s->nfields; f++)
            more = more || x->wins[f].full;
        if (!more || wend == INT64_MAX || wend >= x->o->tmax)
            break;
        cursor = wend + 1;
    }
    if (any)
        x->st.series++;
    return VT_OK;
}

typedef struct name_list {
    char **v;
    size_t n, cap;
    bool oom;
} name_list;

static bool name_list_add(name_list *l, const char *name)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return false;
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(name)))
        return false;
    l->n++;
    return true;
}

static void name_list_free(name_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

typedef struct meas_ctx {
    const export_options *o;
    name_list *l;
    bool oom;
} meas_ctx;

static bool collect_measurement(void *arg, const char *name)
{
    meas_ctx *m = arg;
    bool wanted = m->o->nmeasurements == 0;
    for (size_t i = 0; i < m->o->nmeasurements && !wanted; i++)
        wanted = strcmp(m->o->measurements[i], name) == 0;
    if (wanted && !name_list_add(m->l, name)) {
        m->oom = true;
        return false;
    }
    return true;
}

typedef struct ftype_ctx {
    vt_buf *b;
    bool first;
} ftype_ctx;

static bool write_field_type(void *arg, const engine_field_info *f)
{
    ftype_ctx *c = arg;
    if (!c->first)
        vt_buf_putc(c->b, ',');
    c->first = false;
    qr_json_str(c->b, f->name, strlen(f->name));
    vt_buf_putc(c->b, ':');
    const char *tn = vt_type_name(f->type);
    qr_json_str(c->b, tn, strlen(tn));
    return true;
}

static vt_rc export_measurement(exp_run *x, const char *m, vt_buf *store)
{
    uint64_t *ids = NULL;
    size_t nids = 0;
    vt_err e;
    vt_rc rc = engine_series_of_measurement(x->eng, x->store, m, &ids, &nids, &e);
    if (rc == VT_ENOTFOUND)
        return VT_OK;
    if (rc != VT_OK) {
        x->err = e;
        return rc;
    }
    for (size_t i = 0; i < nids && rc == VT_OK; i++) {
        engine_series_info info;
        vt_buf_reset(store);
        rc = engine_series_lookup(x->eng, x->store, ids[i], store, &info, &e);
        if (rc == VT_ENOTFOUND) {
            rc = VT_OK; /* dropped meanwhile */
            continue;
        }
        if (rc != VT_OK) {
            x->err = e;
            break;
        }
        rc = export_series(x, &info);
    }
    free(ids);
    return rc;
}

vt_rc export_run(node *n, const export_options *o, export_sink sink, void *ctx, export_stats *st,
                 vt_err *err)
{
    if (!o->db || !o->db[0])
        return vt_err_set(err, VT_EINVAL, "a database is required");
    if (o->format != OPS_FORMAT_LP && o->format != OPS_FORMAT_JSON)
        return vt_err_set(err, VT_EINVAL, "export format must be lp or json");
    exp_run *x = calloc(1, sizeof *x);
    if (!x)
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    x->node = n;
    x->eng = node_engine(n);
    x->o = o;
    x->out.sink = sink;
    x->out.ctx = ctx;
    x->out.gzip = o->gzip;
    vt_buf_init(&x->out.text);
    vt_buf_init(&x->out.zbuf);
    vt_buf_init(&x->line);
    vt_buf store;
    vt_buf_init(&store);
    name_list ms = {0};
    vt_rc rc = node_resolve_store(n, o->db, o->rp, x->store, sizeof x->store, &x->err);
    if (rc != VT_OK)
        goto done;
    meas_ctx mc = {o, &ms, false};
    rc = engine_foreach_measurement(x->eng, x->store, collect_measurement, &mc, &x->err);
    if (rc == VT_ENOTFOUND) /* a policy without data yet */
        rc = VT_OK;
    if (rc == VT_OK && mc.oom)
        rc = vt_err_set(&x->err, VT_ENOMEM, "out of memory");
    if (rc != VT_OK)
        goto done;
    if (o->gzip) {
        /* windowBits 15 + 16: a gzip header and trailer (what gunzip and import read) */
        if (deflateInit2(&x->out.zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            rc = vt_err_set(&x->err, VT_ENOMEM, "cannot initialise gzip");
            goto done;
        }
        x->out.gz_init = true;
    }
    if (o->format == OPS_FORMAT_JSON) {
        vt_buf *b = &x->out.text;
        vt_buf_append(b, "{\"field_types\":{", 16);
        for (size_t i = 0; i < ms.n; i++) {
            if (i)
                vt_buf_putc(b, ',');
            qr_json_str(b, ms.v[i], strlen(ms.v[i]));
            vt_buf_append(b, ":{", 2);
            ftype_ctx fc = {b, true};
            vt_err e;
            if (engine_foreach_field(x->eng, x->store, ms.v[i], write_field_type, &fc, &e) !=
                VT_OK) { /* measurement gone meanwhile: no types */
            }
            vt_buf_putc(b, '}');
        }
        vt_buf_append(b, "},\n\"data\":[\n", 12);
    } else {
        vt_buf_printf(&x->out.text, "# database: %s\n", o->db);
    }
    for (size_t i = 0; i < ms.n && rc == VT_OK; i++)
        rc = export_measurement(x, ms.v[i], &store);
    if (rc != VT_OK) {
        /* a visible end: JSON without its data_count, LP with a comment */
        if (o->format == OPS_FORMAT_LP && !x->out.failed)
            vt_buf_printf(&x->out.text, "\n# export failed: %s\n", x->err.msg);
        if (!x->out.failed)
            out_flush(&x->out, true);
        goto done;
    }
    if (o->format == OPS_FORMAT_JSON)
        vt_buf_printf(&x->out.text, "%s],\"data_count\":%" PRIu64 "}\n", x->st.points ? "\n" : "",
                      x->st.points);
    if (x->out.text.oom)
        rc = vt_err_set(&x->err, VT_ENOMEM, "out of memory");
    else if (!out_flush(&x->out, true))
        rc = x->out.failed ? vt_err_set(&x->err, VT_EIO, "the output was closed")
                           : vt_err_set(&x->err, VT_ENOMEM, "out of memory");
done:
    if (x->out.gz_init)
        deflateEnd(&x->out.zs);
    x->st.bytes = x->out.bytes;
    if (st)
        *st = x->st;
    if (rc != VT_OK && err)
        *err = x->err;
    for (size_t i = 0; i < x->nwins; i++) {
        free(x->wins[i].time);
        free(x->wins[i].val);
        vt_buf_free(&x->wins[i].strings);
    }
    free(x->wins);
    free(x->fields);
    vt_buf_free(&x->out.text);
    vt_buf_free(&x->out.zbuf);
    vt_buf_free(&x->line);
    vt_buf_free(&store);
    name_list_free(&ms);
    free(x);
    return rc;
}
