/*
 * ops/backup.c — backup, verify, expire (the steps and the journal chain are in backup.h; the
 * repository format in backup_repo.h).
 *
 * Implementation notes:
 * 1. Work is shared by WORKERS threads pulling item indices from an atomic counter; the calling
 *    thread only reports progress and joins them. The first error wins (under a mutex) and
 *    stops the others at their next item.
 * 2. A file of a snapshot is immutable (hard links of published files), so hashing it and then
 *    copying it read the same bytes; the copy hashes what it writes anyway, so a disk that
 *    returns other bytes the second time fails the backup instead of storing a wrong object.
 * 3. Objects are shared by backups: expire deletes manifests first, then only objects that no
 *    remaining manifest lists, under the repository's exclusive lock.
 */
#include "ops/backup.h"

#include "engine/engine.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "common/durable.h"
#include "common/filehash.h"
#include "journal/journal.h"
#include "ops/snapshot.h"

#define WORKERS 4
#define COPY_CHUNK (1u << 20)

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the repository lock (backup.h: Concurrency) ---- */

/* ---- parallel work (note 1) ---- */

typedef struct work {
    size_t count;
    atomic_size_t next;
    atomic_uint_fast64_t files_done, bytes_done;
    uint64_t bytes_total;
    pthread_mutex_t mu;
    vt_rc rc;
    vt_err err;
    void (*fn)(struct work *w, size_t i);
    void *ctx;
} work;

static void work_fail(work *w, const vt_err *e)
{
    pthread_mutex_lock(&w->mu);
    if (w->rc == VT_OK) {
        w->rc = e->rc;
        w->err = *e;
    }
    pthread_mutex_unlock(&w->mu);
}

static bool work_failed(work *w)
{
    pthread_mutex_lock(&w->mu);
    bool f = w->rc != VT_OK;
    pthread_mutex_unlock(&w->mu);
    return f;
}

static void *work_main(void *arg)
{
    work *w = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&w->next, 1);
        if (i >= w->count || work_failed(w))
            break;
        w->fn(w, i);
    }
    return NULL;
}

static vt_rc work_run(work *w, const char *phase, backup_progress_fn progress, void *pctx,
                      vt_err *err)
{
    pthread_t th[WORKERS];
    unsigned started = 0;
    double t0 = mono_s();
    unsigned nthreads = w->count < WORKERS ? (unsigned)w->count : WORKERS;
    for (unsigned k = 0; k < nthreads; k++)
        if (pthread_create(&th[k], NULL, work_main, w) == 0)
            started++;
    if (started == 0 && w->count > 0)
        work_main(w); /* no thread could start: do it here */
    while (started > 0) {
        if (atomic_load(&w->files_done) >= w->count || work_failed(w))
            break;
        if (progress) {
            backup_progress p = {phase, atomic_load(&w->files_done), w->count,
                                 atomic_load(&w->bytes_done), w->bytes_total, mono_s() - t0,
                                 false};
            progress(pctx, &p);
        }
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    for (unsigned k = 0; k < started; k++)
        pthread_join(th[k], NULL);
    if (progress) {
        backup_progress p = {phase,        atomic_load(&w->files_done), w->count,
                             atomic_load(&w->bytes_done), w->bytes_total, mono_s() - t0,
                             true};
        progress(pctx, &p);
    }
    if (w->rc != VT_OK) {
        if (err)
            *err = w->err;
        return w->rc;
    }
    return VT_OK;
}

static void work_init(work *w, size_t count, uint64_t bytes_total,
                      void (*fn)(work *w, size_t i), void *ctx)
{
    memset(w, 0, sizeof *w);
    w->count = count;
    atomic_init(&w->next, 0);
    atomic_init(&w->files_done, 0);
    atomic_init(&w->bytes_done, 0);
    w->bytes_total = bytes_total;
    pthread_mutex_init(&w->mu, NULL);
    w->rc = VT_OK;
    w->fn = fn;
    w->ctx = ctx;
}

static void work_destroy(work *w)
{
    pthread_mutex_destroy(&w->mu);
}

/* ---- the journal hold registry (backup.h: THE JOURNAL CHAIN) ---- */

#define HOLD_SLOTS 8
static struct {
    node *n;
    int hold;
} holds[HOLD_SLOTS];
static pthread_mutex_t holds_mu = PTHREAD_MUTEX_INITIALIZER;
/* backups of one process are serialised */
static pthread_mutex_t backup_mu = PTHREAD_MUTEX_INITIALIZER;

int backup_hold_start(node *n, meta *m, vt_err *err)
{
    meta_catalog *list = NULL;
    size_t cnt = 0;
    uint64_t newest = 0;
    bool any = false;
    if (m && meta_catalog_list(m, "backup", &list, &cnt, err) == VT_OK) {
        for (size_t i = 0; i < cnt; i++) {
            if (!any || list[i].seq > newest)
                newest = list[i].seq;
            any = true;
        }
    }
    free(list);
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
    int id = -1;
    if (slot < 0) {
        vt_err_set(err, VT_ELIMIT, "backup: too many nodes hold their journal for backups");
    } else {
        if (holds[slot].n != n) {
            holds[slot].n = n;
            holds[slot].hold = -1;
        }
        if (any) {
            if (holds[slot].hold >= 0) {
                node_journal_hold_set(n, holds[slot].hold, newest + 1);
            } else {
                holds[slot].hold = node_journal_hold_add(n, "backup", newest + 1);
                if (holds[slot].hold < 0)
                    vt_err_set(err, VT_ELIMIT, "backup: no journal hold slot is free");
            }
        }
        id = holds[slot].hold;
    }
    pthread_mutex_unlock(&holds_mu);
    return id;
}

void backup_hold_stop(node *n)
{
    pthread_mutex_lock(&holds_mu);
    for (int i = 0; i < HOLD_SLOTS; i++) {
        if (holds[i].n == n) {
            /* the node's hold itself stays until node_close: its last flush + trim must keep
             * the records the next backup archives (as appliers' holds do) */
            holds[i].n = NULL;
            holds[i].hold = -1;
        }
    }
    pthread_mutex_unlock(&holds_mu);
}

/* Moves a registered node's hold to keep_from (adds it on the first backup). */
static void hold_move(node *n, uint64_t keep_from)
{
    pthread_mutex_lock(&holds_mu);
    for (int i = 0; i < HOLD_SLOTS; i++) {
        if (holds[i].n != n)
            continue;
        if (holds[i].hold >= 0)
            node_journal_hold_set(n, holds[i].hold, keep_from);
        else
            holds[i].hold = node_journal_hold_add(n, "backup", keep_from);
    }
    pthread_mutex_unlock(&holds_mu);
}

/* ---- listing ---- */

void backup_manifests_free(backup_manifest *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        backup_manifest_free(&list[i]);
    free(list);
}

static void free_ids(char **ids, size_t n)
{
    for (size_t i = 0; ids && i < n; i++)
        free(ids[i]);
    free(ids);
}

vt_rc backup_list(const char *repo, backup_manifest **out, size_t *n, vt_err *err)
{
    *out = NULL;
    *n = 0;
    char **ids = NULL;
    size_t cnt = 0;
    vt_rc rc = backup_repo_list(repo, &ids, &cnt, err);
    if (rc != VT_OK)
        return rc;
    backup_manifest *list = cnt ? calloc(cnt, sizeof *list) : NULL;
    if (cnt && !list) {
        free_ids(ids, cnt);
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    }
    size_t got = 0;
    for (size_t i = 0; i < cnt && rc == VT_OK; i++) {
        rc = backup_manifest_read(repo, ids[i], &list[i], err);
        if (rc == VT_OK)
            got++;
    }
    free_ids(ids, cnt);
    if (rc != VT_OK) {
        backup_manifests_free(list, got);
        return rc;
    }
    *out = list;
    *n = cnt;
    return VT_OK;
}

/* ---- create ---- */

typedef struct src_file {
    char rel[512];      /* path in the data directory (engine/..., journal/...) */
    char abs[PATH_MAX]; /* in the snapshot */
    char hash[BACKUP_HASH_HEX + 1];
    uint64_t size;
    bool copy;          /* first file of its object that must be copied */
} src_file;

typedef struct create_ctx {
    const char *repo;
    src_file *files;
    size_t *copy_idx; /* indices of files[] to copy */
} create_ctx;

static void hash_one(work *w, size_t i)
{
    create_ctx *c = w->ctx;
    src_file *f = &c->files[i];
    vt_err e;
    vt_err_clear(&e);
    if (backup_hash_file(f->abs, f->hash, &f->size, &e) != VT_OK)
        work_fail(w, &e);
    atomic_fetch_add(&w->files_done, 1);
    atomic_fetch_add(&w->bytes_done, f->size);
}

/* note 2: copies f into its object, hashing what it writes */
static vt_rc copy_object(const char *repo, const src_file *f, atomic_uint_fast64_t *bytes_done,
                         vt_err *err)
{
    char obj[PATH_MAX], dir[PATH_MAX];
    backup_repo_object_path(repo, f->hash, obj, sizeof obj);
    snprintf(dir, sizeof dir, "%s/objects/%.2s", repo, f->hash);
    vt_rc rc = durable_mkdirs(dir, err);
    if (rc != VT_OK)
        return rc;
    int in = open(f->abs, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return vt_err_set(err, VT_EIO, "open %s: %s", f->abs, strerror(errno));
    (void)posix_fadvise(in, 0, 0, POSIX_FADV_SEQUENTIAL);
    uint8_t *buf = malloc(COPY_CHUNK);
    XXH3_state_t *st = XXH3_createState();
    durable_file df;
    df.fd = -1;
    if (!buf || !st) {
        rc = vt_err_set(err, VT_ENOMEM, "out of memory");
        goto done;
    }
    rc = durable_begin(&df, obj, err);
    if (rc != VT_OK)
        goto done;
    XXH3_128bits_reset(st);
    uint64_t total = 0;
    for (;;) {
        ssize_t r = read(in, buf, COPY_CHUNK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = vt_err_set(err, VT_EIO, "read %s at offset %" PRIu64 ": %s", f->abs, total,
                            strerror(errno));
            break;
        }
        if (r == 0)
            break;
        XXH3_128bits_update(st, buf, (size_t)r);
        rc = durable_write(&df, buf, (size_t)r, err);
        if (rc != VT_OK)
            break;
        total += (uint64_t)r;
        atomic_fetch_add(bytes_done, (uint64_t)r);
    }
    if (rc == VT_OK) {
        XXH128_hash_t h = XXH3_128bits_digest(st);
        char hex[BACKUP_HASH_HEX + 1];
        snprintf(hex, sizeof hex, "%016" PRIx64 "%016" PRIx64, (uint64_t)h.high64,
                 (uint64_t)h.low64);
        if (strcmp(hex, f->hash) != 0 || total != f->size)
            rc = vt_err_set(err, VT_ECORRUPT,
                            "%s changed while backed up: %" PRIu64 " bytes hash %s, then %" PRIu64
                            " bytes hash %s",
                            f->abs, f->size, f->hash, total, hex);
    }
    if (rc == VT_OK)
        rc = durable_commit(&df, err);
    else
        durable_abort(&df);
done:
    free(buf);
    if (st)
        XXH3_freeState(st);
    close(in);
    return rc;
}

static void copy_one(work *w, size_t i)
{
    create_ctx *c = w->ctx;
    src_file *f = &c->files[c->copy_idx[i]];
    vt_err e;
    vt_err_clear(&e);
    if (copy_object(c->repo, f, &w->bytes_done, &e) != VT_OK)
        work_fail(w, &e);
    atomic_fetch_add(&w->files_done, 1);
}

typedef struct file_list {
    src_file *v;
    size_t n, cap;
} file_list;

static vt_rc list_add(file_list *l, const char *rel, const char *abs, vt_err *err)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        src_file *g = realloc(l->v, ncap * sizeof *g);
        if (!g)
            return vt_err_set(err, VT_ENOMEM, "out of memory");
        l->v = g;
        l->cap = ncap;
    }
    src_file *f = &l->v[l->n++];
    memset(f, 0, sizeof *f);
    snprintf(f->rel, sizeof f->rel, "%s", rel);
    snprintf(f->abs, sizeof f->abs, "%s", abs);
    return VT_OK;
}

static int cmp_rel(const void *a, const void *b)
{
    return strcmp(((const src_file *)a)->rel, ((const src_file *)b)->rel);
}

/* Every regular file under <snap>/<rel_dir>, recursively, as rel_dir/... */
static vt_rc walk(const char *snap, const char *rel_dir, file_list *l, vt_err *err)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s", snap, rel_dir);
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? VT_OK
                               : vt_err_set(err, VT_EIO, "open %s: %s", dir, strerror(errno));
    vt_rc rc = VT_OK;
    struct dirent *e;
    while (rc == VT_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char rel[512], abs[PATH_MAX + 600];
        snprintf(rel, sizeof rel, "%s/%s", rel_dir, e->d_name);
        snprintf(abs, sizeof abs, "%s/%s", snap, rel);
        struct stat st;
        if (lstat(abs, &st) != 0)
            rc = vt_err_set(err, VT_EIO, "stat %s: %s", abs, strerror(errno));
        else if (S_ISDIR(st.st_mode))
            rc = walk(snap, rel, l, err);
        else if (S_ISREG(st.st_mode))
            rc = list_add(l, rel, abs, err);
    }
    closedir(d);
    return rc;
}

/* first seq of a journal segment from its name (<20 digits>.vjl); 0 when not one */
static uint64_t segment_first_seq(const char *rel)
{
    const char *base = strrchr(rel, '/');
    base = base ? base + 1 : rel;
    size_t len = strlen(base);
    if (len < 5 || strcmp(base + len - 4, ".vjl") != 0)
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i + 4 < len; i++) {
        if (base[i] < '0' || base[i] > '9')
            return 0;
        v = v * 10 + (uint64_t)(base[i] - '0');
    }
    return v;
}

static int64_t record_time(const char *dir, uint64_t seq)
{
    journal_reader *r = NULL;
    vt_err e;
    vt_err_clear(&e);
    if (seq == 0 || journal_reader_open(dir, seq, &r, &e) != VT_OK)
        return 0;
    int64_t t = 0;
    for (;;) {
        journal_record rec;
        bool have = false;
        if (journal_reader_next(r, &rec, &have, &e) != VT_OK || !have || rec.seq > seq)
            break;
        if (rec.seq == seq) {
            t = rec.time;
            break;
        }
    }
    journal_reader_close(r);
    return t;
}

static int cmp_hash_idx(const void *a, const void *b, void *arg)
{
    const src_file *f = arg;
    return strcmp(f[*(const size_t *)a].hash, f[*(const size_t *)b].hash);
}

/* reserves backups/<id> (YYYYMMDD_HHMMSS, _2, _3 ...) */
/* A backup id is unique in its repository (the mkdir decides) AND in this node's catalog,
 * which is keyed (kind, id) without the repository: two repositories written in the same second
 * would otherwise give the same id, and the second catalog row would replace the first. */
static vt_rc reserve_id(meta *m, const char *repo, int64_t now, char *id, size_t cap, vt_err *err)
{
    char stem[32], dir[PATH_MAX];
    snapshot_make_id(now, stem, sizeof stem);
    snprintf(id, cap, "%s", stem);
    for (int k = 2;; k++) {
        if (k > 10000)
            return vt_err_set(err, VT_EIO, "backup: no free backup id after %s_%d", stem, k - 1);
        meta_catalog c;
        vt_err lookup;
        vt_err_clear(&lookup);
        vt_rc rc = meta_catalog_get(m, "backup", id, &c, &lookup);
        if (rc == VT_OK) { /* taken by a backup in another repository */
            snprintf(id, cap, "%s_%d", stem, k);
            continue;
        }
        if (rc != VT_ENOTFOUND)
            return vt_err_set(err, rc, "backup: catalog: %s", lookup.msg);
        snprintf(dir, sizeof dir, "%s/backups/%s", repo, id);
        if (mkdir(dir, 0755) == 0)
            return durable_fsync_dir(dir, err) == VT_OK ? VT_OK : err->rc;
        if (errno != EEXIST)
            return vt_err_set(err, VT_EIO, "backup: mkdir %s: %s", dir, strerror(errno));
        snprintf(id, cap, "%s_%d", stem, k);
    }
}

static void remove_reserved(const char *repo, const char *id)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/backups/%s/MANIFEST.json.tmp", repo, id);
    unlink(path);
    snprintf(path, sizeof path, "%s/backups/%s", repo, id);
    rmdir(path);
}

vt_rc backup_create(node *n, meta *m, const char *repo_arg, bool full,
                    backup_progress_fn progress, void *progress_ctx, meta_catalog *out,
                    vt_err *err)
{
    vt_err local;
    if (!err)
        err = &local;
    memset(out, 0, sizeof *out);
    if (!m)
        return vt_err_set(err, VT_EINVAL, "backup: no control plane (meta.db) to record it in");
    if (node_failed(n))
        return vt_err_set(err, VT_EBUSY, "backup: the node's journal or engine failed");
    vt_rc rc = backup_repo_open(repo_arg, err);
    if (rc != VT_OK)
        return rc;
    char repo[PATH_MAX], source[PATH_MAX];
    if (!realpath(repo_arg, repo))
        return vt_err_set(err, VT_EIO, "realpath %s: %s", repo_arg, strerror(errno));
    if (!realpath(node_datadir(n), source))
        snprintf(source, sizeof source, "%s", node_datadir(n));

    pthread_mutex_lock(&backup_mu);
    int lock = backup_repo_lock(repo, false, err);
    if (lock < 0) {
        pthread_mutex_unlock(&backup_mu);
        return err->rc;
    }
    file_list fl = {0};
    size_t *copy_idx = NULL, *order = NULL;
    backup_manifest man;
    memset(&man, 0, sizeof man);
    meta_catalog snap;
    bool have_snap = false, reserved = false;
    int64_t now = wall_ns();

    /* the previous backup of this data directory in this repository */
    char parent[64] = "";
    uint64_t prev_seq = 0;
    {
        backup_manifest *list = NULL;
        size_t cnt = 0;
        rc = backup_list(repo, &list, &cnt, err);
        for (size_t i = cnt; rc == VT_OK && i-- > 0;) {
            if (strcmp(list[i].source, source) == 0) {
                snprintf(parent, sizeof parent, "%s", list[i].id);
                prev_seq = list[i].seq;
                break;
            }
        }
        backup_manifests_free(list, cnt);
        if (rc != VT_OK)
            goto cleanup;
    }
    rc = reserve_id(m, repo, now, man.id, sizeof man.id, err);
    if (rc != VT_OK)
        goto cleanup;
    reserved = true;

    /* the memtable into segment files first: the backup then holds compact, pre-aggregated
     * segments rather than a long journal tail that every restore would have to replay (the
     * journal chain is archived either way) */
    rc = engine_flush(node_engine(n), err);
    if (rc != VT_OK)
        goto cleanup;
    rc = snapshot_create_owned(n, m, man.id, &snap, err); /* removed below, or at the next
                                                          * start after a crash */
    if (rc != VT_OK)
        goto cleanup;
    have_snap = true;

    /* the snapshot's files; journal segments only from min(prev_seq, checkpoint) + 1 on */
    rc = walk(snap.location, "engine", &fl, err);
    if (rc == VT_OK)
        rc = walk(snap.location, "journal", &fl, err);
    if (rc != VT_OK)
        goto cleanup;
    if (fl.n > 1)
        qsort(fl.v, fl.n, sizeof *fl.v, cmp_rel);
    uint64_t from = (prev_seq < snap.checkpoint ? prev_seq : snap.checkpoint) + 1;
    {
        size_t keep = 0;
        for (size_t i = 0; i < fl.n; i++) {
            uint64_t first = segment_first_seq(fl.v[i].rel);
            if (strncmp(fl.v[i].rel, "journal/", 8) == 0 && first > 0) {
                uint64_t next_first = 0;
                for (size_t j = i + 1; j < fl.n && next_first == 0; j++)
                    next_first = segment_first_seq(fl.v[j].rel);
                uint64_t last = next_first ? next_first - 1 : snap.seq;
                if (last < from)
                    continue; /* every record of it is before the chain's start */
                if (man.seq_first == 0)
                    man.seq_first = first;
            }
            fl.v[keep++] = fl.v[i];
        }
        fl.n = keep;
    }

    /* hash every file */
    create_ctx cc = {repo, fl.v, NULL};
    uint64_t total_bytes = 0;
    for (size_t i = 0; i < fl.n; i++) {
        struct stat st;
        if (stat(fl.v[i].abs, &st) == 0)
            total_bytes += (uint64_t)st.st_size;
    }
    work w;
    work_init(&w, fl.n, total_bytes, hash_one, &cc);
    rc = work_run(&w, "hash", progress, progress_ctx, err);
    work_destroy(&w);
    if (rc != VT_OK)
        goto cleanup;

    /* which objects to copy: one file per distinct hash, missing (or every one with full) */
    order = fl.n ? malloc(fl.n * sizeof *order) : NULL;
    copy_idx = fl.n ? malloc(fl.n * sizeof *copy_idx) : NULL;
    if (fl.n && (!order || !copy_idx)) {
        rc = vt_err_set(err, VT_ENOMEM, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < fl.n; i++)
        order[i] = i;
    if (fl.n > 1)
        qsort_r(order, fl.n, sizeof *order, cmp_hash_idx, fl.v);
    bool any_before = parent[0] != '\0';
    if (!any_before)
        full = true; /* the first backup of this data directory here: every object is new */
    size_t ncopy = 0;
    uint64_t copy_bytes = 0;
    for (size_t k = 0; k < fl.n; k++) {
        src_file *f = &fl.v[order[k]];
        if (k > 0 && strcmp(fl.v[order[k - 1]].hash, f->hash) == 0)
            continue;
        char obj[PATH_MAX];
        backup_repo_object_path(repo, f->hash, obj, sizeof obj);
        struct stat st;
        bool present = stat(obj, &st) == 0 && S_ISREG(st.st_mode) &&
                       (uint64_t)st.st_size == f->size;
        if (full || !present) {
            f->copy = true;
            copy_idx[ncopy++] = order[k];
            copy_bytes += f->size;
        }
    }
    cc.copy_idx = copy_idx;
    work_init(&w, ncopy, copy_bytes, copy_one, &cc);
    rc = work_run(&w, "copy", progress, progress_ctx, err);
    work_destroy(&w);
    if (rc != VT_OK)
        goto cleanup;

    /* the manifest */
    snprintf(man.kind, sizeof man.kind, "%s", full ? "full" : "incremental");
    snprintf(man.parent, sizeof man.parent, "%s", parent);
    man.created_at = now;
    snprintf(man.source, sizeof man.source, "%s", source);
    man.checkpoint = snap.checkpoint;
    man.seq = snap.seq;
    if (man.seq_first) {
        char jdir[PATH_MAX];
        snprintf(jdir, sizeof jdir, "%s/journal", snap.location);
        man.time_first = record_time(jdir, man.seq_first);
    }
    man.time_last = snap.time_last;
    man.new_files = ncopy;
    man.new_bytes = copy_bytes;
    man.nfiles = fl.n;
    man.files = fl.n ? calloc(fl.n, sizeof *man.files) : NULL;
    if (fl.n && !man.files) {
        rc = vt_err_set(err, VT_ENOMEM, "out of memory");
        goto cleanup;
    }
    uint64_t bytes = 0;
    for (size_t i = 0; i < fl.n; i++) {
        snprintf(man.files[i].path, sizeof man.files[i].path, "%s", fl.v[i].rel);
        memcpy(man.files[i].hash, fl.v[i].hash, sizeof man.files[i].hash);
        man.files[i].size = fl.v[i].size;
        bytes += fl.v[i].size;
    }
    rc = backup_manifest_write(repo, &man, err);
    if (rc != VT_OK)
        goto cleanup;
    reserved = false; /* published: it is a backup now */

    /* the chain continues after this backup */
    hold_move(n, man.seq + 1);

    snprintf(out->id, sizeof out->id, "%s", man.id);
    snprintf(out->kind, sizeof out->kind, "%s", man.kind);
    snprintf(out->location, sizeof out->location, "%s", repo);
    snprintf(out->parent, sizeof out->parent, "%s", man.parent);
    out->created_at = man.created_at;
    out->checkpoint = man.checkpoint;
    out->seq = man.seq;
    out->seq_first = man.seq_first;
    out->time_last = man.time_last;
    out->files = man.nfiles;
    out->bytes = bytes;
    out->new_files = man.new_files;
    out->new_bytes = man.new_bytes;
    snprintf(out->state, sizeof out->state, "complete");
    if (m)
        rc = meta_catalog_put(m, out, err);
    if (rc != VT_OK)
        vt_err_prefix(err, "backup %s is complete in %s, but its catalog row failed", man.id,
                      repo);

cleanup:
    if (have_snap) {
        vt_err e2;
        vt_err_clear(&e2);
        (void)snapshot_delete(m, snap.id, &e2);
    }
    if (reserved)
        remove_reserved(repo, man.id);
    backup_manifest_free(&man);
    free(fl.v);
    free(order);
    free(copy_idx);
    backup_repo_unlock(lock);
    pthread_mutex_unlock(&backup_mu);
    return rc;
}

/* ---- verify ---- */

typedef struct vref {
    const char *hash;
    uint64_t size;
    const char *id;
    const char *path;
} vref;

typedef struct verify_ctx {
    const char *repo;
    vref *refs;
    size_t *first; /* per distinct object: index of its first ref */
    size_t *count; /* per distinct object: number of refs */
    backup_verify_report report;
    void *report_ctx;
    atomic_uint_fast64_t problems;
    pthread_mutex_t mu; /* serialises report calls and the first problem */
    bool have_first;
    vt_err first_err;
} verify_ctx;

static void verify_one(work *w, size_t i)
{
    verify_ctx *c = w->ctx;
    const vref *r = &c->refs[c->first[i]];
    char obj[PATH_MAX], hash[BACKUP_HASH_HEX + 1], problem[256];
    backup_repo_object_path(c->repo, r->hash, obj, sizeof obj);
    uint64_t size = 0;
    vt_err e;
    vt_err_clear(&e);
    vt_rc rc = vt_hash_file_stable(obj, hash, &size, &e);
    problem[0] = '\0';
    if (rc == VT_ENOTFOUND)
        snprintf(problem, sizeof problem, "object missing");
    else if (rc != VT_OK)
        snprintf(problem, sizeof problem, "unreadable: %s", e.msg);
    else if (size != r->size)
        snprintf(problem, sizeof problem, "size %" PRIu64 ", manifest says %" PRIu64, size,
                 r->size);
    else if (strcmp(hash, r->hash) != 0)
        snprintf(problem, sizeof problem, "content hash %s does not match its name", hash);
    if (problem[0]) {
        pthread_mutex_lock(&c->mu);
        for (size_t k = 0; k < c->count[i]; k++) {
            const vref *x = &c->refs[c->first[i] + k];
            atomic_fetch_add(&c->problems, 1);
            if (!c->have_first) {
                c->have_first = true;
                vt_err_set(&c->first_err, VT_ECORRUPT, "object %s (backup %s, file %s): %s", obj,
                           x->id, x->path, problem);
            }
            if (c->report)
                c->report(c->report_ctx, obj, x->id, x->path, problem);
        }
        pthread_mutex_unlock(&c->mu);
    }
    atomic_fetch_add(&w->files_done, 1);
    atomic_fetch_add(&w->bytes_done, r->size);
}

static int cmp_vref(const void *a, const void *b)
{
    const vref *x = a, *y = b;
    int c = strcmp(x->hash, y->hash);
    if (c)
        return c;
    c = strcmp(x->id, y->id);
    return c ? c : strcmp(x->path, y->path);
}

vt_rc backup_verify(const char *repo, const char *id, backup_progress_fn progress,
                    void *progress_ctx, backup_verify_report report, void *report_ctx,
                    backup_verify_result *res, vt_err *err)
{
    vt_err local;
    if (!err)
        err = &local;
    memset(res, 0, sizeof *res);
    double t0 = mono_s();
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/REPO", repo);
    struct stat st;
    if (stat(path, &st) != 0)
        return vt_err_set(err, VT_ENOTFOUND, "%s is not a backup repository (no REPO file)",
                          repo);
    vt_rc rc = backup_repo_open(repo, err);
    if (rc != VT_OK)
        return rc;
    int lock = backup_repo_lock(repo, false, err);
    if (lock < 0)
        return err->rc;
    backup_manifest *list = NULL;
    size_t cnt = 0;
    vref *refs = NULL;
    size_t *first = NULL, *count = NULL;
    if (id) {
        list = calloc(1, sizeof *list);
        if (!list) {
            rc = vt_err_set(err, VT_ENOMEM, "out of memory");
            goto done;
        }
        rc = backup_manifest_read(repo, id, &list[0], err);
        if (rc != VT_OK)
            goto done;
        cnt = 1;
    } else {
        rc = backup_list(repo, &list, &cnt, err);
        if (rc != VT_OK)
            goto done;
    }
    size_t nrefs = 0;
    for (size_t i = 0; i < cnt; i++)
        nrefs += list[i].nfiles;
    refs = nrefs ? calloc(nrefs, sizeof *refs) : NULL;
    first = nrefs ? calloc(nrefs, sizeof *first) : NULL;
    count = nrefs ? calloc(nrefs, sizeof *count) : NULL;
    if (nrefs && (!refs || !first || !count)) {
        rc = vt_err_set(err, VT_ENOMEM, "out of memory");
        goto done;
    }
    size_t k = 0;
    for (size_t i = 0; i < cnt; i++)
        for (size_t j = 0; j < list[i].nfiles; j++)
            refs[k++] = (vref){list[i].files[j].hash, list[i].files[j].size, list[i].id,
                               list[i].files[j].path};
    if (nrefs > 1)
        qsort(refs, nrefs, sizeof *refs, cmp_vref);
    size_t nobj = 0;
    uint64_t bytes = 0;
    for (size_t i = 0; i < nrefs; i++) {
        if (i > 0 && strcmp(refs[i].hash, refs[i - 1].hash) == 0) {
            count[nobj - 1]++;
            continue;
        }
        first[nobj] = i;
        count[nobj] = 1;
        bytes += refs[i].size;
        nobj++;
    }
    verify_ctx vc;
    memset(&vc, 0, sizeof vc);
    vc.repo = repo;
    vc.refs = refs;
    vc.first = first;
    vc.count = count;
    vc.report = report;
    vc.report_ctx = report_ctx;
    atomic_init(&vc.problems, 0);
    pthread_mutex_init(&vc.mu, NULL);
    work w;
    work_init(&w, nobj, bytes, verify_one, &vc);
    rc = work_run(&w, "verify", progress, progress_ctx, err);
    work_destroy(&w);
    pthread_mutex_destroy(&vc.mu);
    res->backups = cnt;
    res->objects = nobj;
    res->bytes = bytes;
    res->problems = atomic_load(&vc.problems);
    if (rc == VT_OK && vc.have_first) {
        rc = VT_ECORRUPT;
        *err = vc.first_err;
        if (res->problems > 1)
            vt_err_prefix(err, "%" PRIu64 " problems, the first", res->problems);
    }
done:
    res->seconds = mono_s() - t0;
    free(refs);
    free(first);
    free(count);
    backup_manifests_free(list, cnt);
    backup_repo_unlock(lock);
    return rc;
}

/* ---- expire ---- */

void backup_expire_result_free(backup_expire_result *r)
{
    free_ids(r->expired, r->nexpired);
    r->expired = NULL;
    r->nexpired = 0;
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool referenced(char **sorted, size_t n, const char *hash)
{
    return n && bsearch(&hash, sorted, n, sizeof *sorted, cmp_cstr) != NULL;
}

/* Deletes (or counts, dry_run) the objects of repo not in keep[0..nkeep) (sorted). */
static vt_rc collect_garbage(const char *repo, char **keep, size_t nkeep, bool dry_run,
                             int64_t now, backup_expire_result *res, vt_err *err)
{
    char odir[PATH_MAX];
    snprintf(odir, sizeof odir, "%s/objects", repo);
    DIR *d = opendir(odir);
    if (!d)
        return errno == ENOENT ? VT_OK
                               : vt_err_set(err, VT_EIO, "open %s: %s", odir, strerror(errno));
    vt_rc rc = VT_OK;
    struct dirent *e;
    while (rc == VT_OK && (e = readdir(d)) != NULL) {
        if (strlen(e->d_name) != 2)
            continue;
        char sub[PATH_MAX + 8];
        snprintf(sub, sizeof sub, "%s/%s", odir, e->d_name);
        DIR *s = opendir(sub);
        if (!s)
            continue;
        bool removed = false;
        struct dirent *o;
        while ((o = readdir(s)) != NULL) {
            if (o->d_name[0] == '.')
                continue;
            char p[PATH_MAX + 300];
            snprintf(p, sizeof p, "%s/%s", sub, o->d_name);
            struct stat st;
            if (lstat(p, &st) != 0 || !S_ISREG(st.st_mode))
                continue;
            bool tmp = strlen(o->d_name) > 4 &&
                       strcmp(o->d_name + strlen(o->d_name) - 4, ".tmp") == 0;
            if (tmp) {
                /* an interrupted copy: removed once it is a day old (a running backup holds
                 * the shared lock, so none is being written now, but be conservative) */
                if ((int64_t)st.st_mtime * 1000000000 > now - 86400LL * 1000000000)
                    continue;
            } else if (strlen(o->d_name) != BACKUP_HASH_HEX || referenced(keep, nkeep, o->d_name)) {
                continue;
            }
            if (!tmp) {
                res->objects_deleted++;
                res->bytes_freed += (uint64_t)st.st_size;
            }
            if (dry_run)
                continue;
            if (unlink(p) != 0) {
                rc = vt_err_set(err, VT_EIO, "unlink %s: %s", p, strerror(errno));
                break;
            }
            removed = true;
        }
        closedir(s);
        if (removed && rc == VT_OK)
            rc = durable_fsync_dir(sub, err);
    }
    closedir(d);
    return rc;
}

vt_rc backup_expire(const char *repo_arg, meta *m, unsigned keep_full, unsigned keep_days,
                    int64_t now_ns, bool dry_run, backup_expire_result *res, vt_err *err)
{
    vt_err local;
    if (!err)
        err = &local;
    memset(res, 0, sizeof *res);
    if (keep_full == 0 && keep_days == 0)
        return vt_err_set(err, VT_EINVAL,
                          "expire: keep at least one full backup or give a number of days");
    char repo[PATH_MAX], path[PATH_MAX];
    snprintf(path, sizeof path, "%s/REPO", repo_arg);
    struct stat st;
    if (stat(path, &st) != 0)
        return vt_err_set(err, VT_ENOTFOUND, "%s is not a backup repository (no REPO file)",
                          repo_arg);
    vt_rc rc = backup_repo_open(repo_arg, err);
    if (rc != VT_OK)
        return rc;
    if (!realpath(repo_arg, repo))
        return vt_err_set(err, VT_EIO, "realpath %s: %s", repo_arg, strerror(errno));
    int64_t now = now_ns ? now_ns : wall_ns();
    int lock = backup_repo_lock(repo, true, err);
    if (lock < 0)
        return err->rc;
    backup_manifest *list = NULL;
    size_t cnt = 0;
    char **keep = NULL;
    size_t nkeep = 0;
    rc = backup_list(repo, &list, &cnt, err);
    if (rc != VT_OK)
        goto done;

    /* the oldest backup kept by count: the keep_full-th newest full one */
    int64_t keep_from = INT64_MAX;
    if (keep_full > 0) {
        unsigned fulls = 0;
        keep_from = INT64_MIN; /* fewer fulls than keep_full: keep everything */
        for (size_t i = cnt; i-- > 0;) {
            if (strcmp(list[i].kind, "full") == 0 && ++fulls == keep_full) {
                keep_from = list[i].created_at;
                break;
            }
        }
    }
    int64_t age_limit = keep_days ? now - (int64_t)keep_days * 86400LL * 1000000000LL : INT64_MAX;
    bool *expire = cnt ? calloc(cnt, sizeof *expire) : NULL;
    if (cnt && !expire) {
        rc = vt_err_set(err, VT_ENOMEM, "out of memory");
        goto done;
    }
    size_t nexp = 0;
    for (size_t i = 0; i + 1 < cnt; i++) { /* the newest is always kept */
        bool by_count = list[i].created_at < keep_from;
        bool by_age = list[i].created_at < age_limit;
        expire[i] = keep_full > 0 ? (by_count && (keep_days == 0 || by_age)) : by_age;
        nexp += expire[i];
    }
    res->expired = nexp ? calloc(nexp, sizeof *res->expired) : NULL;
    if (nexp && !res->expired) {
        free(expire);
        rc = vt_err_set(err, VT_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < cnt && rc == VT_OK; i++) {
        if (!expire[i])
            continue;
        res->expired[res->nexpired] = strdup(list[i].id);
        if (!res->expired[res->nexpired]) {
            rc = vt_err_set(err, VT_ENOMEM, "out of memory");
            break;
        }
        res->nexpired++;
        if (dry_run)
            continue;
        /* the manifest first: from then on it is no backup, whatever else happens */
        char mp[PATH_MAX + 100], dir[PATH_MAX + 100];
        snprintf(dir, sizeof dir, "%s/backups/%s", repo, list[i].id);
        snprintf(mp, sizeof mp, "%s/MANIFEST.json", dir);
        if (unlink(mp) != 0 && errno != ENOENT) {
            rc = vt_err_set(err, VT_EIO, "unlink %s: %s", mp, strerror(errno));
            break;
        }
        rc = durable_fsync_dir(dir, err);
        if (rc == VT_OK && rmdir(dir) != 0)
            rc = vt_err_set(err, VT_EIO, "rmdir %s: %s", dir, strerror(errno));
        if (rc == VT_OK && m) {
            meta_catalog c;
            vt_err e2;
            vt_err_clear(&e2);
            if (meta_catalog_get(m, "backup", list[i].id, &c, &e2) == VT_OK &&
                strcmp(c.location, repo) == 0)
                rc = meta_catalog_delete(m, "backup", list[i].id, err);
        }
    }
    if (rc == VT_OK && !dry_run && nexp) {
        snprintf(path, sizeof path, "%s/backups", repo);
        rc = durable_fsync_dir(path, err);
    }
    res->kept = cnt - nexp;

    /* every object the remaining manifests reference */
    size_t nrefs = 0;
    for (size_t i = 0; i < cnt; i++)
        if (!expire[i])
            nrefs += list[i].nfiles;
    keep = nrefs ? calloc(nrefs, sizeof *keep) : NULL;
    if (nrefs && !keep) {
        free(expire);
        rc = vt_err_set(err, VT_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < cnt; i++)
        for (size_t j = 0; !expire[i] && j < list[i].nfiles; j++)
            keep[nkeep++] = list[i].files[j].hash;
    free(expire);
    if (nkeep > 1)
        qsort(keep, nkeep, sizeof *keep, cmp_cstr);
    if (rc == VT_OK)
        rc = collect_garbage(repo, keep, nkeep, dry_run, now, res, err);
done:
    free(keep);
    backup_manifests_free(list, cnt);
    backup_repo_unlock(lock);
    return rc;
}
