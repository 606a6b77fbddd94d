/*
 * ops/recover.c — `volta recover` (the procedure is in recover.h).
 *
 * Implementation notes:
 * - The offline verification of an available-looking directory is engine_verify +
 *   journal_verify, which read every block and record without opening the directory as a node
 *   (a server may hold it; nothing is written).
 * - The source is chosen by the journal seq it holds: a snapshot of the primary and a backup of
 *   the same primary are comparable that way (same journal numbering); ties go to the newer.
 * - Roll-forward is restore_run with until = INT64_MAX: "as far as the records go". The restore
 *   then reports partial ("the archive ends before the requested time"), which here is the
 *   expected outcome, not a failure.
 */
#include "ops/recover.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine.h"
#include "journal/journal.h"
#include "meta/meta.h"
#include "ops/backup_repo.h"
#include "ops/snapshot.h"

static const char *const primary_state_names[] = {"available", "failed", "missing"};

const char *primary_state_name(primary_state s)
{
    return (unsigned)s < 3 ? primary_state_names[s] : "unknown";
}

void recover_options_default(recover_options *o)
{
    memset(o, 0, sizeof *o);
    o->health_status = -1;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- step 1: assessment ---- */

typedef struct problems {
    unsigned n;
    char first[VT_ERR_MSG_MAX];
} problems;

static void note_problem(void *ctx, const char *file, uint64_t offset, const char *problem)
{
    problems *p = ctx;
    if (p->n++ == 0)
        snprintf(p->first, sizeof p->first, "%s at offset %" PRIu64 ": %s", file, offset,
                 problem);
}

static void assess(const recover_options *o, recover_result *res)
{
    char engine_dir[PATH_MAX], journal_dir[PATH_MAX];
    snprintf(engine_dir, sizeof engine_dir, "%s/engine", o->data);
    snprintf(journal_dir, sizeof journal_dir, "%s/journal", o->data);
    bool has_engine = is_dir(engine_dir), has_journal = is_dir(journal_dir);
    if (o->health_status == 200) {
        res->state = PRIMARY_AVAILABLE;
        snprintf(res->state_detail, sizeof res->state_detail,
                 "its server answers /health 200 (ready for queries and writes)");
        return;
    }
    if (!is_dir(o->data) || (!has_engine && !has_journal)) {
        res->state = PRIMARY_MISSING;
        snprintf(res->state_detail, sizeof res->state_detail, "%s %s", o->data,
                 is_dir(o->data) ? "holds no engine or journal" : "does not exist");
        return;
    }
    if (!has_engine || !has_journal) {
        res->state = PRIMARY_FAILED;
        snprintf(res->state_detail, sizeof res->state_detail, "%s/%s is missing", o->data,
                 has_engine ? "journal" : "engine");
        return;
    }
    if (o->health_status > 0) {
        res->state = PRIMARY_FAILED;
        snprintf(res->state_detail, sizeof res->state_detail,
                 "its server answers /health %d (a storage failure: writes refused)",
                 o->health_status);
        return;
    }
    problems p;
    memset(&p, 0, sizeof p);
    unsigned files = 0, segs = 0;
    uint64_t blocks = 0, records = 0;
    engine_verify(engine_dir, note_problem, &p, &files, &blocks);
    journal_verify(journal_dir, note_problem, &p, &records, &segs);
    if (p.n > 0) {
        res->state = PRIMARY_FAILED;
        snprintf(res->state_detail, sizeof res->state_detail, "%u problem(s) found, first: %s",
                 p.n, p.first);
        return;
    }
    res->state = PRIMARY_AVAILABLE;
    snprintf(res->state_detail, sizeof res->state_detail,
             "no server answers, but the directory verifies: %u engine file(s), %" PRIu64
             " block(s), %" PRIu64 " journal record(s) in %u segment(s) — start it with "
             "`volta serve --data %s`",
             files, blocks, records, segs, o->data);
}

/* The last record of a journal directory, reading every record (0 when it cannot be read). */
static uint64_t journal_last(const char *dir)
{
    /* a trimmed journal starts at its oldest segment, named by its first seq */
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    uint64_t first = UINT64_MAX;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        uint64_t s;
        if (journal_segment_name_seq(e->d_name, &s) && s < first)
            first = s;
    }
    closedir(d);
    if (first == UINT64_MAX)
        return 0;
    journal_reader *r = NULL;
    vt_err err;
    vt_err_clear(&err);
    if (journal_reader_open(dir, first, &r, &err) != VT_OK)
        return 0;
    uint64_t last = first - 1; /* an empty journal after a trim: the previous record */
    for (;;) {
        journal_record rec;
        bool have = false;
        if (journal_reader_next(r, &rec, &have, &err) != VT_OK) {
            last = 0; /* unreadable in the middle: the end is unknown */
            break;
        }
        if (!have)
            break;
        last = rec.seq;
    }
    journal_reader_close(r);
    return last;
}

/* ---- step 2: the source ---- */

typedef struct candidate {
    bool found;
    bool is_backup;
    char id[128];
    char kind[16];
    uint64_t seq;
    int64_t created_at;
} candidate;

static void consider(candidate *best, bool is_backup, const char *id, const char *kind,
                     uint64_t seq, int64_t created_at)
{
    if (best->found && (seq < best->seq || (seq == best->seq && created_at <= best->created_at)))
        return;
    best->found = true;
    best->is_backup = is_backup;
    snprintf(best->id, sizeof best->id, "%s", id);
    snprintf(best->kind, sizeof best->kind, "%s", kind);
    best->seq = seq;
    best->created_at = created_at;
}

static vt_rc choose_source(const recover_options *o, meta *pm, candidate *best, vt_err *err)
{
    memset(best, 0, sizeof *best);
    if (pm) {
        meta_catalog *snaps = NULL;
        size_t n = 0;
        if (snapshot_list(pm, &snaps, &n, err) == VT_OK) {
            for (size_t i = 0; i < n; i++) {
                if (strcmp(snaps[i].state, "complete") != 0)
                    continue;
                if (o->id && strcmp(o->id, snaps[i].id) != 0)
                    continue;
                consider(best, false, snaps[i].id, "snapshot", snaps[i].seq, snaps[i].created_at);
            }
            free(snaps);
        }
        vt_err_clear(err);
    }
    if (o->repo) {
        char **ids = NULL;
        size_t n = 0;
        vt_rc rc = backup_repo_list(o->repo, &ids, &n, err);
        if (rc != VT_OK)
            return rc;
        for (size_t i = 0; i < n; i++) {
            if (!o->id || strcmp(o->id, ids[i]) == 0) {
                backup_manifest m;
                memset(&m, 0, sizeof m);
                vt_err e;
                vt_err_clear(&e);
                if (backup_manifest_read(o->repo, ids[i], &m, &e) == VT_OK)
                    consider(best, true, m.id, m.kind, m.seq, m.created_at);
                backup_manifest_free(&m);
            }
            free(ids[i]);
        }
        free(ids);
    }
    if (!best->found) {
        if (o->id)
            return vt_err_set(err, VT_ENOTFOUND,
                              "recover: no snapshot of %s and no backup%s%s named %s", o->data,
                              o->repo ? " in " : "", o->repo ? o->repo : "", o->id);
        return vt_err_set(err, VT_ENOTFOUND,
                          "recover: nothing to recover from: no readable snapshot catalog in "
                          "%s/meta.db%s%s",
                          o->data, o->repo ? " and no backup in " : " and no --repo given",
                          o->repo ? o->repo : "");
    }
    return VT_OK;
}

/* ---- step 3: restore, rolled forward ---- */

static vt_rc restore_from(const recover_options *o, const candidate *c, const char *to,
                          recover_result *res, vt_err *err)
{
    restore_options ro;
    restore_options_default(&ro);
    ro.id = c->id;
    ro.to = to;
    if (o->threads)
        ro.threads = o->threads;
    ro.progress = o->progress;
    ro.progress_ctx = o->progress_ctx;
    if (c->is_backup)
        ro.repo = o->repo;
    else
        ro.data = o->data;
    ro.has_until = true;
    ro.until = INT64_MAX;
    vt_rc rc = restore_run(&ro, &res->restore, err);
    if (rc == VT_OK)
        return VT_OK;
    if (rc == VT_EEXIST || rc == VT_EINVAL || rc == VT_ENOMEM)
        return rc;
    /* the archive or the surviving journal could not be replayed: the source alone */
    snprintf(res->replay_note, sizeof res->replay_note,
             "records after the %s could not be replayed: %s", c->kind, err->msg);
    vt_err_clear(err);
    ro.has_until = false;
    ro.until = 0;
    return restore_run(&ro, &res->restore, err);
}

/* ---- step 4: the control plane ---- */

static vt_rc carry_control_plane(meta *pm, const char *to, recover_result *res, vt_err *err)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/meta.db", to);
    /* the restore may have created a fresh one (opening the node does not; be safe) */
    struct stat st;
    if (stat(path, &st) == 0) {
        char aside[PATH_MAX + 64];
        snprintf(aside, sizeof aside, "%s.fresh", path);
        if (rename(path, aside) != 0)
            return vt_err_set(err, VT_EIO, "recover: move %s aside: %s", path, strerror(errno));
    }
    vt_rc rc = meta_copy_to(pm, path, err);
    if (rc != VT_OK)
        return rc;
    res->meta_copied = true;
    meta *rm = NULL;
    rc = meta_open(path, &rm, err);
    if (rc != VT_OK)
        return rc;
    uint64_t seq = res->restore.seq;
    meta_backend *bs = NULL;
    size_t nb = 0;
    rc = meta_backend_list(rm, &bs, &nb, err);
    size_t hl = 0;
    for (size_t i = 0; rc == VT_OK && i < nb; i++) {
        if (bs[i].cursor <= seq)
            continue;
        if (hl < sizeof res->holders - 1)
            hl += (size_t)snprintf(res->holders + hl, sizeof res->holders - hl, "%s%s (seq %" PRIu64 ")",
                                   hl ? ", " : "", bs[i].name, bs[i].cursor);
        if (hl >= sizeof res->holders)
            hl = sizeof res->holders - 1;
        rc = meta_backend_set_cursor(rm, bs[i].name, seq, 0, 0, true, err);
        if (rc == VT_OK)
            res->cursors_moved_back++;
    }
    free(bs);
    if (rc == VT_OK)
        rc = meta_files_stale_after_seq(rm, seq, &res->files_reloaded, err);
    if (rc == VT_OK) {
        char detail[1024];
        snprintf(detail, sizeof detail,
                 "recovered from %s %s up to seq %" PRIu64 "; %u backend cursor(s) moved back, "
                 "%u ledger file(s) to reload",
                 res->source_kind, res->source_id, seq, res->cursors_moved_back,
                 res->files_reloaded);
        rc = meta_audit(rm, "system", "recover", detail, err);
    }
    meta_close(rm);
    return rc;
}

/* ---- the procedure ---- */

vt_rc recover_run(const recover_options *o, recover_result *res, vt_err *err)
{
    memset(res, 0, sizeof *res);
    double t0 = mono_s();
    if (!o->data || !o->data[0])
        return vt_err_set(err, VT_EINVAL, "recover: the primary's data directory is required");
    assess(o, res);
    if (res->state == PRIMARY_AVAILABLE) {
        res->seconds = mono_s() - t0;
        return VT_OK;
    }

    /* the primary's control plane, when it can still be read */
    meta *pm = NULL;
    char mp[PATH_MAX + 16];
    snprintf(mp, sizeof mp, "%s/meta.db", o->data);
    if (access(mp, R_OK) == 0) {
        vt_err e;
        vt_err_clear(&e);
        if (meta_open(mp, &pm, &e) != VT_OK)
            pm = NULL;
    }
    candidate c;
    vt_rc rc = choose_source(o, pm, &c, err);
    if (rc != VT_OK) {
        if (pm)
            meta_close(pm);
        res->seconds = mono_s() - t0;
        return rc;
    }
    snprintf(res->source_kind, sizeof res->source_kind, "%s", c.kind);
    snprintf(res->source_id, sizeof res->source_id, "%s", c.id);
    snprintf(res->source_where, sizeof res->source_where, "%s",
             c.is_backup ? o->repo : "the primary's snapshot catalog");
    res->source_seq = c.seq;

    char to[PATH_MAX];
    if (o->to && o->to[0])
        snprintf(to, sizeof to, "%s", o->to);
    else
        snprintf(to, sizeof to, "%s-recovery", o->data);
    char jdir[PATH_MAX + 16];
    snprintf(jdir, sizeof jdir, "%s/journal", o->data);
    res->primary_last_seq = journal_last(jdir);

    if (o->dry_run) {
        snprintf(res->restore.target, sizeof res->restore.target, "%s", to);
        if (pm)
            meta_close(pm);
        res->seconds = mono_s() - t0;
        return VT_OK;
    }

    rc = restore_from(o, &c, to, res, err);
    if (rc == VT_OK && pm)
        rc = carry_control_plane(pm, to, res, err);
    if (pm)
        meta_close(pm);
    if (rc == VT_OK) {
        res->recovered = res->restore.verified;
        if (res->primary_last_seq > res->restore.seq)
            res->missing_records = res->primary_last_seq - res->restore.seq;
    }
    res->seconds = mono_s() - t0;
    return rc;
}
