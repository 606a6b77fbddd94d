/*
 * ops/resync.c — repairs a backup backend (the procedure is in resync.h).
 */
#include "ops/resync.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/record.h"
#include "ingest/loader.h"
#include "query/result.h"

#define APPLY_BATCH 256

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Sends one record (built here, so it has no journal seq: 0) to the backend. */
static vt_rc send_record(backend *b, uint16_t type, const vt_buf *payload, vt_err *err)
{
    if (payload->oom)
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    journal_record rec = {0, type, wall_ns(), payload->data, (uint32_t)payload->len};
    size_t applied = 0;
    return backend_apply(b, &rec, 1, &applied, err);
}

typedef struct db_list {
    char **v;
    size_t n, cap;
} db_list;

static void db_cb(void *ctx, const char *name)
{
    db_list *l = ctx;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 8;
        char **nv = realloc(l->v, nc * sizeof *nv);
        if (!nv)
            return;
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n] = strdup(name);
    if (l->v[l->n])
        l->n++;
}

/* Every database of the primary and its catalog, as CREATE_DB + DB_META records. */
static vt_rc send_catalogs(node *primary, backend *b, bool dry_run, resync_report *rep,
                           vt_buf *text, vt_err *err)
{
    db_list dbs = {0};
    engine_list_dbs(node_engine(primary), db_cb, &dbs);
    vt_rc rc = VT_OK;
    vt_buf p;
    vt_buf_init(&p);
    for (size_t i = 0; rc == VT_OK && i < dbs.n; i++) {
        record_rpcat cat;
        if (node_rp_catalog(primary, dbs.v[i], &cat, err) != VT_OK) {
            vt_err_clear(err);
            continue; /* dropped meanwhile */
        }
        if (text)
            vt_buf_printf(text, "%s database %s and its %zu retention policies\n",
                          dry_run ? "would create" : "created", dbs.v[i], cat.n);
        if (!dry_run) {
            vt_buf_reset(&p);
            record_dbop_encode(&p, dbs.v[i]);
            rc = send_record(b, JOURNAL_REC_CREATE_DB, &p, err);
            if (rc == VT_OK) {
                vt_buf_reset(&p);
                record_db_meta_encode(&p, dbs.v[i], &cat);
                rc = send_record(b, RECORD_TYPE_DB_META, &p, err);
            }
        }
        record_rpcat_free(&cat);
        rep->databases++;
    }
    vt_buf_free(&p);
    for (size_t i = 0; i < dbs.n; i++)
        free(dbs.v[i]);
    free(dbs.v);
    return rc;
}

typedef struct file_sink {
    backend *b;
    const char *db;
    vt_buf rec;
    uint64_t points;
} file_sink;

static vt_rc file_sink_write(void *ctx, const char *lp, size_t len, vt_err *err)
{
    file_sink *s = ctx;
    vt_buf_reset(&s->rec);
    record_write_header(&s->rec, LP_PRECISION_NS, s->db, "", wall_ns());
    vt_buf_append(&s->rec, lp, len);
    for (size_t i = 0; i < len; i++)
        s->points += lp[i] == '\n';
    return send_record(s->b, JOURNAL_REC_WRITE, &s->rec, err);
}

/* Step 1: journal records from `from` on, applied in batches. */
static vt_rc apply_journal(node *primary, backend *b, uint64_t from, uint64_t upto,
                           uint64_t *applied, uint64_t *cursor, vt_err *err)
{
    journal_reader *r = NULL;
    vt_rc rc = journal_reader_open(journal_dir(node_journal(primary)), from, &r, err);
    if (rc != VT_OK)
        return rc;
    journal_record batch[APPLY_BATCH];
    uint8_t *copies[APPLY_BATCH];
    size_t nb = 0;
    uint64_t expect = from;
    for (;;) {
        journal_record rec;
        bool have = false;
        rc = journal_reader_next(r, &rec, &have, err);
        bool last = rc != VT_OK || !have || rec.seq > upto;
        if (!last && rec.seq >= from && rec.seq != expect) {
            rc = vt_err_set(err, VT_ENOTFOUND,
                            "journal record %llu is gone (trimmed while the resync ran): run "
                            "the resync again",
                            (unsigned long long)expect);
            last = true;
        }
        if (!last && rec.seq >= from) {
            expect = rec.seq + 1;
            copies[nb] = malloc(rec.len ? rec.len : 1);
            if (!copies[nb]) {
                rc = vt_err_set(err, VT_ENOMEM, "out of memory");
                last = true;
            } else {
                memcpy(copies[nb], rec.data, rec.len);
                batch[nb] = rec;
                batch[nb].data = copies[nb];
                nb++;
            }
        }
        if ((nb == APPLY_BATCH || last) && nb) {
            size_t done = 0;
            vt_rc arc = backend_apply(b, batch, nb, &done, err);
            if (done) {
                *applied += done;
                *cursor = batch[done - 1].seq;
            }
            for (size_t i = 0; i < nb; i++)
                free(copies[i]);
            nb = 0;
            if (arc != VT_OK) {
                rc = arc;
                break;
            }
        }
        if (last)
            break;
    }
    for (size_t i = 0; i < nb; i++)
        free(copies[i]);
    journal_reader_close(r);
    return rc;
}

vt_rc resync_backend(node *primary, meta *m, backend *b, const char *name, const char *landing_root,
                     bool dry_run, resync_report *rep, vt_buf *text, vt_err *err)
{
    memset(rep, 0, sizeof *rep);
    meta_backend mb;
    vt_rc rc = meta_backend_get(m, name, &mb, err);
    if (rc != VT_OK)
        return rc;
    journal *j = node_journal(primary);
    uint64_t first = journal_first_seq(j), last = journal_acked_seq(j);
    if (first == 0)
        first = journal_last_seq(j) + 1; /* empty (trimmed): the next record will be the first */
    rep->cursor_before = rep->cursor_after = mb.cursor;
    rep->journal_first = first;
    rep->journal_last = last;
    rep->was_needs_resync = mb.needs_resync;
    if (text)
        vt_buf_printf(
            text,
            "backend %s: cursor %" PRIu64 ", primary journal holds %" PRIu64 "..%" PRIu64 "%s\n",
            name, mb.cursor, first, last, mb.needs_resync ? " (marked: needs resync)" : "");
    uint64_t cursor = mb.cursor;
    bool gap = first > 0 && mb.cursor + 1 < first;
    if (gap) {
        rep->gap_records = first - 1 - mb.cursor;
        if (text)
            vt_buf_printf(text,
                          "gap: records %" PRIu64 "..%" PRIu64 " are gone from the "
                          "journal\n",
                          mb.cursor + 1, first - 1);
        rc = send_catalogs(primary, b, dry_run, rep, text, err);
        if (rc != VT_OK)
            return rc;
        meta_file *files = NULL;
        size_t nf = 0;
        rc = meta_files_not_applied(m, name, &files, &nf, err);
        if (rc != VT_OK)
            return rc;
        file_sink sink = {.b = b};
        vt_buf_init(&sink.rec);
        for (size_t i = 0; rc == VT_OK && i < nf; i++) {
            meta_file *f = &files[i];
            if (f->seq_first >= first)
                continue; /* still in the journal: step 1 sends it */
            rep->files_missing++;
            char full[META_PATH_MAX + 4096];
            if (f->path[0] == '/' || !landing_root)
                snprintf(full, sizeof full, "%s", f->path);
            else
                snprintf(full, sizeof full, "%s/%s", landing_root, f->path);
            if (dry_run) {
                if (text)
                    vt_buf_printf(text, "would re-send %s (%" PRIu64 " points)\n", f->path,
                                  f->points);
                continue;
            }
            sink.db = f->database;
            uint64_t before = sink.points, lines = 0;
            vt_err ferr;
            vt_err_clear(&ferr);
            vt_rc frc = loader_read_file(full, f->path, 0, file_sink_write, &sink, &lines, &ferr);
            if (frc == VT_ENOTFOUND) {
                rep->files_gone++;
                if (text)
                    vt_buf_printf(text, "cannot re-send %s: no longer in the landing zone\n",
                                  f->path);
                continue;
            }
            if (frc != VT_OK) {
                *err = ferr;
                rc = frc;
                break;
            }
            rep->files_applied++;
            rep->points_sent += sink.points - before;
            vt_err merr;
            vt_err_clear(&merr);
            meta_file_applied(m, f->id, name, wall_ns(), &merr);
            if (text)
                vt_buf_printf(text, "re-sent %s: %" PRIu64 " points\n", f->path,
                              sink.points - before);
        }
        vt_buf_free(&sink.rec);
        free(files);
        if (rc != VT_OK)
            return rc;
        if (text && rep->gap_records)
            vt_buf_printf(text, "note: writes made through the HTTP API inside the gap (not "
                                "from landing-zone files) cannot be rebuilt from the ledger\n");
        cursor = first - 1;
        if (!dry_run) {
            rc = meta_backend_set_cursor(m, name, cursor, 0, 0, true, err);
            if (rc != VT_OK)
                return rc;
        }
    }
    if (last > cursor) {
        if (dry_run) {
            if (text)
                vt_buf_printf(text, "would apply journal records %" PRIu64 "..%" PRIu64 "\n",
                              cursor + 1, last);
        } else {
            uint64_t applied = 0, moved = cursor;
            rc = apply_journal(primary, b, cursor + 1, last, &applied, &moved, err);
            rep->records_applied = applied;
            if (moved > cursor) {
                vt_err cerr;
                vt_err_clear(&cerr);
                meta_backend_set_cursor(m, name, moved, wall_ns(), applied, false, &cerr);
                meta_files_applied_upto(m, name, moved, wall_ns(), NULL, &cerr);
                cursor = moved;
            }
            if (text)
                vt_buf_printf(text,
                              "applied journal records: %" PRIu64 " (cursor now %" PRIu64 ")\n",
                              applied, cursor);
            if (rc != VT_OK)
                return rc;
        }
    } else if (text && !gap) {
        vt_buf_printf(text, "nothing missing: the backend has every journal record\n");
    }
    rep->cursor_after = cursor;
    if (!dry_run && mb.needs_resync) {
        rc = meta_backend_set_resync(m, name, false, "", err);
        if (text && rc == VT_OK)
            vt_buf_printf(text, "cleared the needs-resync mark\n");
    }
    return rc;
}

void resync_report_json(const resync_report *rep, const char *name, bool dry_run, vt_buf *out)
{
    vt_buf_printf(out, "{\"backend\":");
    qr_json_str(out, name, strlen(name));
    vt_buf_printf(out,
                  ",\"dry_run\":%s,\"cursor_before\":%" PRIu64 ",\"cursor_after\":%" PRIu64
                  ",\"journal_first\":%" PRIu64 ",\"journal_last\":%" PRIu64
                  ",\"records_applied\":%" PRIu64 ",\"gap_records\":%" PRIu64
                  ",\"databases\":%u,\"files_missing\":%u,\"files_applied\":%u,"
                  "\"files_gone\":%u,\"points_sent\":%" PRIu64 ",\"was_needs_resync\":%s}",
                  dry_run ? "true" : "false", rep->cursor_before, rep->cursor_after,
                  rep->journal_first, rep->journal_last, rep->records_applied, rep->gap_records,
                  rep->databases, rep->files_missing, rep->files_applied, rep->files_gone,
                  rep->points_sent, rep->was_needs_resync ? "true" : "false");
}
