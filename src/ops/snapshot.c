/*
 * ops/snapshot.c — snapshots (the layout and the consistency argument are in snapshot.h).
 */
#include "ops/snapshot.h"

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

#include <pthread.h>

#include "common/buf.h"
#include "common/durable.h"
#include "engine/engine.h"
#include "journal/journal.h"

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void snapshot_make_id(int64_t now_ns, char *out, size_t cap)
{
    time_t sec = (time_t)(now_ns / 1000000000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    snprintf(out, cap, "%04d%02d%02d_%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Removes a directory tree (the snapshot's own files: regular files and directories only). */
static int remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char sub[PATH_MAX];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(sub, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            rc |= remove_tree(sub);
        else if (unlink(sub) != 0)
            rc = -1;
    }
    closedir(d);
    if (rmdir(path) != 0)
        rc = -1;
    return rc;
}

/* The journal time of record seq (0 when it cannot be read). */
static int64_t record_time(const char *journal_dir, uint64_t seq)
{
    if (seq == 0)
        return 0;
    journal_reader *r = NULL;
    vt_err e;
    vt_err_clear(&e);
    if (journal_reader_open(journal_dir, seq, &r, &e) != VT_OK)
        return 0;
    int64_t t = 0;
    for (;;) {
        journal_record rec;
        bool have = false;
        if (journal_reader_next(r, &rec, &have, &e) != VT_OK || !have)
            break;
        if (rec.seq == seq) {
            t = rec.time;
            break;
        }
        if (rec.seq > seq)
            break;
    }
    journal_reader_close(r);
    return t;
}

/* ---- the newest snapshot's journal hold ---- */

#define HOLD_SLOTS 8

static struct {
    node *n;
    meta *m;
    int hold; /* node journal hold id, -1 when none */
} holds[HOLD_SLOTS];
static pthread_mutex_t holds_mu = PTHREAD_MUTEX_INITIALIZER;

/* The newest complete snapshot's seq in m's catalog; false when none. */
static bool newest_seq(meta *m, uint64_t *seq)
{
    meta_catalog *list = NULL;
    size_t cnt = 0;
    vt_err e;
    vt_err_clear(&e);
    bool any = false;
    if (meta_catalog_list(m, "snapshot", &list, &cnt, &e) == VT_OK) {
        for (size_t i = 0; i < cnt; i++) {
            if (strcmp(list[i].state, "complete") != 0)
                continue;
            if (!any || list[i].seq > *seq)
                *seq = list[i].seq;
            any = true;
        }
    }
    free(list);
    return any;
}

/* Sets slot i's hold to keep_from, or removes it (any = false). holds_mu held. */
static void hold_apply(int i, bool any, uint64_t keep_from)
{
    if (!any) {
        if (holds[i].hold >= 0)
            node_journal_hold_remove(holds[i].n, holds[i].hold);
        holds[i].hold = -1;
    } else if (holds[i].hold >= 0) {
        node_journal_hold_set(holds[i].n, holds[i].hold, keep_from);
    } else {
        holds[i].hold = node_journal_hold_add(holds[i].n, "snapshot", keep_from);
    }
}

int snapshot_hold_start(node *n, meta *m, vt_err *err)
{
    uint64_t seq = 0;
    bool any = newest_seq(m, &seq);
    pthread_mutex_lock(&holds_mu);
    int slot = -1;
    for (int i = 0; i < HOLD_SLOTS; i++) {
        if (holds[i].n == n) {
            slot = i;
            break;
        }
        if (slot < 0 && holds[i].n == NULL)
            slot = i;
    }
    int rc = 0;
    if (slot < 0) {
        rc = -1;
        vt_err_set(err, VT_ELIMIT, "snapshot: too many nodes hold their journal for snapshots");
    } else {
        if (holds[slot].n != n) {
            holds[slot].n = n;
            holds[slot].hold = -1;
        }
        holds[slot].m = m;
        hold_apply(slot, any, seq + 1);
    }
    pthread_mutex_unlock(&holds_mu);
    return rc;
}

void snapshot_hold_stop(node *n)
{
    pthread_mutex_lock(&holds_mu);
    for (int i = 0; i < HOLD_SLOTS; i++) {
        if (holds[i].n == n) {
            /* the hold itself stays until node_close, like the backup's and the appliers' */
            holds[i].n = NULL;
            holds[i].m = NULL;
            holds[i].hold = -1;
        }
    }
    pthread_mutex_unlock(&holds_mu);
}

/* After a create or delete in m's catalog: every registered node of m follows its newest. */
static void holds_follow(meta *m)
{
    uint64_t seq = 0;
    bool any = newest_seq(m, &seq);
    pthread_mutex_lock(&holds_mu);
    for (int i = 0; i < HOLD_SLOTS; i++)
        if (holds[i].n && holds[i].m == m)
            hold_apply(i, any, seq + 1);
    pthread_mutex_unlock(&holds_mu);
}

/* ---- create, list, delete ---- */

vt_rc snapshot_create(node *n, meta *m, meta_catalog *out, vt_err *err)
{
    return snapshot_create_owned(n, m, NULL, out, err);
}

#define TEMPORARY_PREFIX "temporary:"

vt_rc snapshot_create_owned(node *n, meta *m, const char *owner, meta_catalog *out, vt_err *err)
{
    memset(out, 0, sizeof *out);
    int64_t now = wall_ns();
    char base[PATH_MAX], dir[PATH_MAX], sub[PATH_MAX + 16];
    snprintf(base, sizeof base, "%s/snapshots", node_datadir(n));
    vt_rc rc = durable_mkdirs(base, err);
    if (rc != VT_OK)
        return rc;
    /* a unique id: YYYYMMDD_HHMMSS, then _2, _3 ... within the same second */
    char id[META_NAME_MAX];
    snapshot_make_id(now, id, sizeof id);
    for (int k = 2;; k++) {
        snprintf(dir, sizeof dir, "%s/%s", base, id);
        if (mkdir(dir, 0755) == 0)
            break;
        if (errno != EEXIST || k > 1000)
            return vt_err_set(err, VT_EIO, "snapshot: mkdir %s: %s", dir, strerror(errno));
        char stem[32];
        snapshot_make_id(now, stem, sizeof stem);
        snprintf(id, sizeof id, "%s_%d", stem, k);
    }
    snprintf(sub, sizeof sub, "%s/engine", dir);
    if (mkdir(sub, 0755) != 0)
        rc = vt_err_set(err, VT_EIO, "snapshot: mkdir %s: %s", sub, strerror(errno));
    snprintf(sub, sizeof sub, "%s/journal", dir);
    if (rc == VT_OK && mkdir(sub, 0755) != 0)
        rc = vt_err_set(err, VT_EIO, "snapshot: mkdir %s: %s", sub, strerror(errno));
    if (rc != VT_OK) {
        remove_tree(dir);
        return rc;
    }

    /* hold the whole journal while linking: a flush after the engine's links may move the
     * checkpoint, and the trim must not delete records between the two */
    int hold = node_journal_hold_add(n, "snapshot", 0);
    uint64_t ckpt = 0, efiles = 0, ebytes = 0, seq = 0, jfiles = 0, jbytes = 0;
    snprintf(sub, sizeof sub, "%s/engine", dir);
    rc = engine_snapshot(node_engine(n), sub, &ckpt, &efiles, &ebytes, err);
    snprintf(sub, sizeof sub, "%s/journal", dir);
    if (rc == VT_OK)
        rc = journal_link_segments(node_journal(n), sub, &seq, &jfiles, &jbytes, err);
    node_journal_hold_remove(n, hold);
    if (rc != VT_OK) {
        remove_tree(dir);
        return rc;
    }
    if (seq < ckpt)
        seq = ckpt; /* an empty journal: every record is in the engine files */
    snprintf(out->id, sizeof out->id, "%s", id);
    snprintf(out->kind, sizeof out->kind, "snapshot");
    snprintf(out->location, sizeof out->location, "%s", dir);
    out->created_at = now;
    out->checkpoint = ckpt;
    out->seq = seq;
    out->time_last = record_time(sub, seq);
    out->files = efiles + jfiles;
    out->bytes = ebytes + jbytes;
    snprintf(out->state, sizeof out->state, "complete");
    if (owner)
        snprintf(out->parent, sizeof out->parent, TEMPORARY_PREFIX "%s", owner);

    vt_buf doc;
    vt_buf_init(&doc);
    vt_buf_printf(&doc,
                  "{\"version\":1,\"id\":\"%s\",\"created_at\":%" PRId64 ",\"checkpoint\":%" PRIu64
                  ",\"seq\":%" PRIu64 ",\"time_last\":%" PRId64 ",\"engine_files\":%" PRIu64
                  ",\"journal_files\":%" PRIu64 ",\"bytes\":%" PRIu64 "}\n",
                  id, now, ckpt, seq, out->time_last, efiles, jfiles, out->bytes);
    snprintf(sub, sizeof sub, "%s/SNAPSHOT", dir);
    rc = doc.oom ? vt_err_set(err, VT_ENOMEM, "out of memory")
                 : durable_publish(sub, doc.data, doc.len, err);
    vt_buf_free(&doc);
    if (rc == VT_OK)
        rc = durable_fsync_dir(base, err);
    if (rc == VT_OK)
        rc = meta_catalog_put(m, out, err);
    if (rc != VT_OK)
        remove_tree(dir);
    else
        holds_follow(m);
    return rc;
}

vt_rc snapshot_list(meta *m, meta_catalog **out, size_t *n, vt_err *err)
{
    return meta_catalog_list(m, "snapshot", out, n, err);
}

vt_rc snapshot_delete(meta *m, const char *id, vt_err *err)
{
    meta_catalog c;
    vt_rc rc = meta_catalog_get(m, "snapshot", id, &c, err);
    if (rc != VT_OK)
        return rc;
    /* the SNAPSHOT file first: a half-removed directory is never mistaken for a snapshot */
    char path[META_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/SNAPSHOT", c.location);
    if (unlink(path) != 0 && errno != ENOENT)
        return vt_err_set(err, VT_EIO, "snapshot %s: unlink %s: %s", id, path, strerror(errno));
    if (remove_tree(c.location) != 0)
        return vt_err_set(err, VT_EIO, "snapshot %s: cannot remove %s completely", id,
                          c.location);
    rc = meta_catalog_delete(m, "snapshot", id, err);
    if (rc == VT_OK)
        holds_follow(m);
    return rc;
}

unsigned snapshot_remove_temporary(meta *m, vt_err *err)
{
    meta_catalog *list = NULL;
    size_t cnt = 0;
    if (meta_catalog_list(m, "snapshot", &list, &cnt, err) != VT_OK)
        return 0;
    unsigned removed = 0;
    for (size_t i = 0; i < cnt; i++) {
        if (strncmp(list[i].parent, TEMPORARY_PREFIX, strlen(TEMPORARY_PREFIX)) != 0)
            continue;
        vt_err e;
        vt_err_clear(&e);
        if (snapshot_delete(m, list[i].id, &e) == VT_OK)
            removed++;
        else if (err && err->rc == VT_OK)
            *err = e;
    }
    free(list);
    return removed;
}
