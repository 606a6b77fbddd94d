/*
 * ops/restore.c — `volta restore` (the steps, the staging directory and the publication rule are
 * in restore.h).
 *
 * Implementation notes:
 * - The file list is built first (source paths, restored paths, sizes, hashes), so the copy is a
 *   pool of workers taking the next index from an atomic counter; the first failure stops the
 *   others (they finish their current file). Bytes are counted per chunk, so the progress moves
 *   inside large segment files.
 * - Restored paths come from outside (a manifest): absolute paths and ".." components are
 *   refused, so a manifest cannot write outside the staging directory.
 * - The chain of a point-in-time restore reads the later backups' journal files in place,
 *   through a directory of symbolic links to their objects (named as the journal expects), after
 *   checking each object's hash: no archived byte is copied twice.
 */
#include "ops/restore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/durable.h"
#include "common/faultinj.h"
#include "common/filehash.h"
#include "core/node.h"
#include "engine/engine.h"
#include "engine/segment.h"
#include "journal/journal.h"
#include "meta/meta.h"
#include "ops/backup_repo.h"
#include "ops/snapshot.h"

#define RESTORE_DEFAULT_THREADS 4u
#define RESTORE_MAX_THREADS 64u
#define COPY_CHUNK (8u << 20)
#define RW_BUFFER (1u << 20)

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void restore_options_default(restore_options *o)
{
    memset(o, 0, sizeof *o);
    o->threads = RESTORE_DEFAULT_THREADS;
}

int restore_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(path);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char sub[PATH_MAX];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        rc |= restore_remove_tree(sub);
    }
    closedir(d);
    if (rmdir(path) != 0)
        rc = -1;
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* The file list                                                                               */

typedef struct rfile {
    char *src;  /* where the bytes are (a snapshot file or a repository object) */
    char *rel;  /* where they go, relative to the data directory */
    uint64_t size;
    char hash[BACKUP_HASH_HEX + 1]; /* "" for snapshots */
} rfile;

typedef struct rlist {
    rfile *v;
    size_t n, cap;
    uint64_t bytes;
} rlist;

static void rlist_free(rlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].src);
        free(l->v[i].rel);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

static vt_rc rlist_add(rlist *l, const char *src, const char *rel, uint64_t size,
                       const char *hash, vt_err *err)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        rfile *nv = realloc(l->v, ncap * sizeof *nv);
        if (!nv)
            return vt_err_set(err, VT_ENOMEM, "restore: out of memory");
        l->v = nv;
        l->cap = ncap;
    }
    rfile *f = &l->v[l->n];
    memset(f, 0, sizeof *f);
    f->src = strdup(src);
    f->rel = strdup(rel);
    if (!f->src || !f->rel) {
        free(f->src);
        free(f->rel);
        return vt_err_set(err, VT_ENOMEM, "restore: out of memory");
    }
    f->size = size;
    if (hash)
        snprintf(f->hash, sizeof f->hash, "%s", hash);
    l->n++;
    l->bytes += size;
    return VT_OK;
}

/* A restored path must stay inside the data directory. */
static bool rel_path_ok(const char *rel)
{
    if (rel[0] == '\0' || rel[0] == '/' || strlen(rel) > 1024)
        return false;
    const char *p = rel;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        if (!slash)
            break;
        p = slash + 1;
        if (*p == '\0')
            return false;
    }
    return true;
}

/* Every regular file under root/sub, as sub/... */
static vt_rc walk_snapshot(const char *root, const char *sub, rlist *l, vt_err *err)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s", root, sub);
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return VT_OK;
        return vt_err_set(err, VT_EIO, "restore: open %s: %s", dir, strerror(errno));
    }
    vt_rc rc = VT_OK;
    struct dirent *e;
    while (rc == VT_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char rel[PATH_MAX], src[PATH_MAX * 2];
        snprintf(rel, sizeof rel, "%s/%s", sub, e->d_name);
        snprintf(src, sizeof src, "%s/%s", root, rel);
        struct stat st;
        if (lstat(src, &st) != 0) {
            rc = vt_err_set(err, VT_EIO, "restore: stat %s: %s", src, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            rc = walk_snapshot(root, rel, l, err);
        } else if (S_ISREG(st.st_mode)) {
            rc = rlist_add(l, src, rel, (uint64_t)st.st_size, NULL, err);
        }
    }
    closedir(d);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* The source                                                                                  */

typedef struct rsource {
    bool is_backup;
    char id[128];
    char kind[16];
    char location[META_PATH_MAX]; /* snapshot directory / repository */
    char origin[META_PATH_MAX];   /* the data directory it was taken from ("" when unknown) */
    uint64_t checkpoint, seq;
    int64_t time_last;
    /* backups: every manifest of the repository (ascending), base = the one restored */
    backup_manifest *mans;
    size_t nmans;
    size_t base;
} rsource;

static void rsource_free(rsource *s)
{
    for (size_t i = 0; i < s->nmans; i++)
        backup_manifest_free(&s->mans[i]);
    free(s->mans);
    s->mans = NULL;
    s->nmans = 0;
}

static vt_rc read_snapshot_file(const char *dir, rsource *s, vt_err *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/SNAPSHOT", dir);
    json_error_t je;
    json_t *doc = json_load_file(path, 0, &je);
    if (!doc)
        return vt_err_set(err, errno == ENOENT ? VT_ENOTFOUND : VT_ECORRUPT,
                          "restore: %s: %s (an incomplete snapshot has no SNAPSHOT file)", path,
                          je.text);
    const char *id = json_string_value(json_object_get(doc, "id"));
    snprintf(s->id, sizeof s->id, "%s", id ? id : "");
    s->checkpoint = (uint64_t)json_integer_value(json_object_get(doc, "checkpoint"));
    s->seq = (uint64_t)json_integer_value(json_object_get(doc, "seq"));
    s->time_last = (int64_t)json_integer_value(json_object_get(doc, "time_last"));
    json_decref(doc);
    if (!id)
        return vt_err_set(err, VT_ECORRUPT, "restore: %s has no id", path);
    return VT_OK;
}

static vt_rc resolve_snapshot(const restore_options *o, rsource *s, vt_err *err)
{
    snprintf(s->kind, sizeof s->kind, "snapshot");
    if (o->snapshot_dir) {
        snprintf(s->location, sizeof s->location, "%s", o->snapshot_dir);
        return read_snapshot_file(o->snapshot_dir, s, err);
    }
    char mp[PATH_MAX];
    snprintf(mp, sizeof mp, "%s/meta.db", o->data);
    if (access(mp, F_OK) != 0)
        return vt_err_set(err, VT_ENOTFOUND, "restore: %s has no meta.db (no snapshot catalog)",
                          o->data);
    meta *m = NULL;
    vt_rc rc = meta_open(mp, &m, err);
    if (rc != VT_OK)
        return rc;
    meta_catalog *list = NULL;
    size_t n = 0;
    rc = meta_catalog_list(m, "snapshot", &list, &n, err);
    meta_close(m);
    if (rc != VT_OK)
        return rc;
    const meta_catalog *pick = NULL;
    for (size_t i = 0; i < n && !pick; i++) { /* newest first */
        if (strcmp(list[i].state, "complete") != 0)
            continue;
        if (o->id ? strcmp(list[i].id, o->id) == 0
                  : (!o->has_until || list[i].time_last <= o->until))
            pick = &list[i];
    }
    if (!pick && !o->id && o->has_until && n > 0)
        pick = &list[n - 1]; /* none old enough: the oldest may still hold the time */
    if (!pick) {
        rc = vt_err_set(err, VT_ENOTFOUND, "snapshot not found: %s (in %s)",
                        o->id ? o->id : "(none)", mp);
    } else {
        snprintf(s->location, sizeof s->location, "%s", pick->location);
        snprintf(s->origin, sizeof s->origin, "%s", o->data);
        rc = read_snapshot_file(pick->location, s, err);
    }
    free(list);
    return rc;
}

static vt_rc resolve_backup(const restore_options *o, rsource *s, vt_err *err)
{
    s->is_backup = true;
    snprintf(s->location, sizeof s->location, "%s", o->repo);
    char **ids = NULL;
    size_t n = 0;
    vt_rc rc = backup_repo_list(o->repo, &ids, &n, err);
    if (rc != VT_OK)
        return rc;
    if (n > 0) {
        s->mans = calloc(n, sizeof *s->mans);
        if (!s->mans)
            rc = vt_err_set(err, VT_ENOMEM, "restore: out of memory");
    }
    for (size_t i = 0; rc == VT_OK && i < n; i++) {
        rc = backup_manifest_read(o->repo, ids[i], &s->mans[i], err);
        if (rc == VT_OK)
            s->nmans++;
    }
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    if (rc != VT_OK)
        return rc;
    size_t pick = SIZE_MAX;
    for (size_t i = s->nmans; i-- > 0 && pick == SIZE_MAX;) { /* newest first */
        if (o->id ? strcmp(s->mans[i].id, o->id) == 0
                  : (!o->has_until || s->mans[i].time_last <= o->until))
            pick = i;
    }
    if (pick == SIZE_MAX && !o->id && o->has_until && s->nmans > 0)
        pick = 0;
    if (pick == SIZE_MAX)
        return vt_err_set(err, VT_ENOTFOUND, "backup not found: %s (in %s)",
                          o->id ? o->id : "(none)", o->repo);
    s->base = pick;
    const backup_manifest *b = &s->mans[pick];
    snprintf(s->id, sizeof s->id, "%s", b->id);
    snprintf(s->kind, sizeof s->kind, "%s", b->kind);
    snprintf(s->origin, sizeof s->origin, "%s", b->source);
    s->checkpoint = b->checkpoint;
    s->seq = b->seq;
    s->time_last = b->time_last;
    return VT_OK;
}

/* Every file of the source. */
static vt_rc build_list_all(const rsource *s, rlist *l, vt_err *err)
{
    if (!s->is_backup) {
        vt_rc rc = walk_snapshot(s->location, "engine", l, err);
        if (rc == VT_OK)
            rc = walk_snapshot(s->location, "journal", l, err);
        return rc;
    }
    const backup_manifest *b = &s->mans[s->base];
    for (size_t i = 0; i < b->nfiles; i++) {
        const backup_file *f = &b->files[i];
        if (!rel_path_ok(f->path))
            return vt_err_set(err, VT_ECORRUPT,
                              "restore: backup %s: file path '%s' leaves the data directory", b->id,
                              f->path);
        char obj[PATH_MAX];
        backup_repo_object_path(s->location, f->hash, obj, sizeof obj);
        vt_rc rc = rlist_add(l, obj, f->path, f->size, f->hash, err);
        if (rc != VT_OK)
            return rc;
    }
    return VT_OK;
}

/* "journal/<segment file>" -> the segment's first seq. */
static bool journal_segment_first(const char *rel, uint64_t *first)
{
    return strncmp(rel, "journal/", 8) == 0 && journal_segment_name_seq(rel + 8, first);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Drops the journal segments whose every record is already in the engine files (seq <=
 * checkpoint): opening the restored directory replays only records after the checkpoint, so
 * copying and verifying those segments would be wasted work. A segment ends where the next one
 * starts, so every segment but the last is judged by its successor's first seq. The last one
 * holds records up to the source's seq at least (and possibly later ones, which the restore
 * cuts): it is dropped too when seq <= checkpoint — the restored state is then entirely in the
 * engine files, and the journal restarts empty at seq + 1 (cut_journal ->
 * journal_truncate_after on an empty directory), where a point-in-time chain continues. */
static void drop_checkpointed_journal(rlist *l, uint64_t checkpoint, uint64_t seq)
{
    if (checkpoint == 0)
        return;
    bool all = seq <= checkpoint;
    uint64_t *firsts = malloc((l->n + 1) * sizeof *firsts);
    if (!firsts)
        return; /* copying everything is still correct */
    size_t nf = 0;
    for (size_t i = 0; i < l->n; i++)
        if (journal_segment_first(l->v[i].rel, &firsts[nf]))
            nf++;
    qsort(firsts, nf, sizeof *firsts, cmp_u64);
    size_t keep = 0;
    for (size_t i = 0; i < l->n; i++) {
        uint64_t first;
        bool drop = false;
        if (journal_segment_first(l->v[i].rel, &first)) {
            /* the next segment's first seq, by binary search over the sorted firsts */
            size_t lo = 0, hi = nf;
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (firsts[mid] <= first)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            drop = all || (lo < nf && firsts[lo] <= checkpoint + 1);
        }
        if (drop) {
            l->bytes -= l->v[i].size;
            free(l->v[i].src);
            free(l->v[i].rel);
        } else {
            l->v[keep++] = l->v[i];
        }
    }
    l->n = keep;
    free(firsts);
}

static vt_rc build_list(const rsource *s, rlist *l, vt_err *err)
{
    vt_rc rc = build_list_all(s, l, err);
    if (rc == VT_OK)
        drop_checkpointed_journal(l, s->checkpoint, s->seq);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* The parallel copy                                                                           */

typedef struct copy_job {
    const rlist *files;
    const char *root;
    atomic_size_t next;
    atomic_size_t files_done;
    atomic_uint_fast64_t bytes_done;
    atomic_uint workers_left;
    atomic_bool stop;
    pthread_mutex_t mu;
    pthread_cond_t finished; /* a worker ended (signalled with mu held) */
    vt_rc rc; /* first failure */
    vt_err err;
} copy_job;

static void job_fail(copy_job *j, const vt_err *e)
{
    pthread_mutex_lock(&j->mu);
    if (j->rc == VT_OK) {
        j->rc = e->rc;
        j->err = *e;
    }
    pthread_mutex_unlock(&j->mu);
    atomic_store(&j->stop, true);
}

/* A segment file just copied (and hashed) is parsed now, on this copy worker, while the others
 * still wait for the disk; step 5's node open takes the parsed reader (seg_preload). */
static void preload_segment(const char *rel, const char *dst)
{
    size_t n = strlen(rel);
    if (strncmp(rel, "engine/seg/", 11) == 0 && n > 5 && strcmp(rel + n - 5, ".vseg") == 0)
        seg_preload(dst);
}

static vt_rc copy_one(copy_job *j, const rfile *f, vt_err *err)
{
    char dst[PATH_MAX * 2];
    snprintf(dst, sizeof dst, "%s/%s", j->root, f->rel);
    int in = open(f->src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return vt_err_set(err, errno == ENOENT ? VT_ENOTFOUND : VT_EIO, "restore: %s: open %s: %s",
                          f->rel, f->src, strerror(errno));
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0) {
        close(in);
        return vt_err_set(err, VT_EIO, "restore: create %s: %s", dst, strerror(errno));
    }
    vt_rc rc = VT_OK;
    bool kernel_copy = true;
    uint8_t *buf = NULL;
    uint64_t total = 0;
    for (;;) {
        ssize_t k;
        if (kernel_copy) {
            k = copy_file_range(in, NULL, out, NULL, COPY_CHUNK, 0);
            if (k < 0 && total == 0 &&
                (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
                kernel_copy = false;
                continue;
            }
        } else {
            if (!buf && !(buf = malloc(RW_BUFFER))) {
                rc = vt_err_set(err, VT_ENOMEM, "restore: out of memory");
                break;
            }
            k = read(in, buf, RW_BUFFER);
            if (k > 0 && vt_io_write_all(out, buf, (size_t)k) != 0) {
                rc = vt_err_set(err, VT_EIO, "restore: write %s: %s", dst, strerror(errno));
                break;
            }
        }
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            rc = vt_err_set(err, VT_EIO, "restore: copy %s to %s: %s", f->src, dst,
                            strerror(errno));
            break;
        }
        if (k == 0)
            break;
        total += (uint64_t)k;
        atomic_fetch_add(&j->bytes_done, (uint64_t)k);
        if (atomic_load(&j->stop))
            break;
    }
    free(buf);
    if (rc == VT_OK && !atomic_load(&j->stop) && total != f->size)
        rc = vt_err_set(err, VT_ECORRUPT, "restore: %s: source %s holds %" PRIu64
                        " bytes, expected %" PRIu64, f->rel, f->src, total, f->size);
    if (rc == VT_OK && vt_io_fsync(out) != 0)
        rc = vt_err_set(err, VT_EIO, "restore: fsync %s: %s", dst, strerror(errno));
    close(in);
    if (close(out) != 0 && rc == VT_OK)
        rc = vt_err_set(err, VT_EIO, "restore: close %s: %s", dst, strerror(errno));
    if (rc != VT_OK || atomic_load(&j->stop))
        return rc;
    if (!f->hash[0]) { /* a snapshot's file: nothing to compare with */
        preload_segment(f->rel, dst);
        return VT_OK;
    }
    /* verification: the restored file, read back, against the manifest */
    char h[BACKUP_HASH_HEX + 1];
    uint64_t size = 0;
    rc = vt_hash_file_stable(dst, h, &size, err);
    if (rc != VT_OK)
        return rc;
    if (strcmp(h, f->hash) != 0 || size != f->size)
        return vt_err_set(err, VT_ECORRUPT,
                          "restore: verification failed: %s (object %s) has hash %s, %" PRIu64
                          " bytes; the manifest says %s, %" PRIu64 " bytes",
                          f->rel, f->src, h, size, f->hash, f->size);
    preload_segment(f->rel, dst);
    return VT_OK;
}

static void *copy_worker(void *arg)
{
    copy_job *j = arg;
    while (!atomic_load(&j->stop)) {
        size_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->files->n)
            break;
        vt_err e;
        vt_err_clear(&e);
        if (copy_one(j, &j->files->v[i], &e) != VT_OK) {
            job_fail(j, &e);
            break;
        }
        atomic_fetch_add(&j->files_done, 1);
    }
    pthread_mutex_lock(&j->mu);
    atomic_fetch_sub(&j->workers_left, 1);
    pthread_cond_signal(&j->finished);
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The directories of the restored files (relative, sorted, unique), created durably. */
static vt_rc make_dirs(const char *root, const rlist *l, char ***dirs_out, size_t *ndirs,
                       vt_err *err)
{
    char **dirs = calloc(l->n + 2, sizeof *dirs);
    if (!dirs)
        return vt_err_set(err, VT_ENOMEM, "restore: out of memory");
    size_t n = 0;
    vt_rc rc = VT_OK;
    dirs[n++] = strdup("engine");
    dirs[n++] = strdup("journal");
    for (size_t i = 0; i < l->n; i++) {
        const char *slash = strrchr(l->v[i].rel, '/');
        if (slash)
            dirs[n++] = strndup(l->v[i].rel, (size_t)(slash - l->v[i].rel));
    }
    for (size_t i = 0; i < n; i++)
        if (!dirs[i])
            rc = vt_err_set(err, VT_ENOMEM, "restore: out of memory");
    if (rc == VT_OK) {
        qsort(dirs, n, sizeof *dirs, cmp_str);
        size_t u = 0;
        for (size_t i = 0; i < n; i++) {
            if (u > 0 && strcmp(dirs[u - 1], dirs[i]) == 0)
                free(dirs[i]);
            else
                dirs[u++] = dirs[i];
        }
        n = u;
        for (size_t i = 0; rc == VT_OK && i < n; i++) {
            char p[PATH_MAX * 2];
            snprintf(p, sizeof p, "%s/%s", root, dirs[i]);
            rc = durable_mkdirs(p, err);
        }
    }
    if (rc != VT_OK) {
        for (size_t i = 0; i < n; i++)
            free(dirs[i]);
        free(dirs);
        return rc;
    }
    *dirs_out = dirs;
    *ndirs = n;
    return VT_OK;
}

static vt_rc copy_all(const restore_options *o, const char *root, const rlist *l,
                      restore_result *res, vt_err *err)
{
    char **dirs = NULL;
    size_t ndirs = 0;
    vt_rc rc = make_dirs(root, l, &dirs, &ndirs, err);
    if (rc != VT_OK)
        return rc;
    unsigned nthreads = o->threads ? o->threads : RESTORE_DEFAULT_THREADS;
    if (nthreads > RESTORE_MAX_THREADS)
        nthreads = RESTORE_MAX_THREADS;
    if (nthreads > l->n)
        nthreads = l->n ? (unsigned)l->n : 1;
    copy_job j;
    memset(&j, 0, sizeof j);
    j.files = l;
    j.root = root;
    atomic_init(&j.next, 0);
    atomic_init(&j.files_done, 0);
    atomic_init(&j.bytes_done, 0);
    atomic_init(&j.workers_left, nthreads);
    atomic_init(&j.stop, false);
    pthread_mutex_init(&j.mu, NULL);
    pthread_cond_init(&j.finished, NULL);
    vt_err_clear(&j.err);
    pthread_t th[RESTORE_MAX_THREADS];
    unsigned started = 0;
    double t0 = mono_s();
    for (; started < nthreads; started++) {
        if (pthread_create(&th[started], NULL, copy_worker, &j) != 0) {
            atomic_fetch_sub(&j.workers_left, nthreads - started);
            break;
        }
    }
    if (started == 0) { /* no thread could start: copy here */
        atomic_store(&j.workers_left, 1);
        copy_worker(&j);
    }
    restore_progress p;
    memset(&p, 0, sizeof p);
    p.files_total = l->n;
    p.bytes_total = l->bytes;
    for (;;) {
        pthread_mutex_lock(&j.mu);
        if (atomic_load(&j.workers_left) > 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 200 * 1000 * 1000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&j.finished, &j.mu, &ts);
        }
        bool all_done = atomic_load(&j.workers_left) == 0;
        pthread_mutex_unlock(&j.mu);
        if (all_done)
            break;
        if (o->progress) {
            p.files_done = atomic_load(&j.files_done);
            p.bytes_done = atomic_load(&j.bytes_done);
            p.seconds = mono_s() - t0;
            o->progress(o->progress_ctx, &p);
        }
    }
    for (unsigned i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    res->copy_seconds = mono_s() - t0;
    res->files = atomic_load(&j.files_done);
    res->bytes = atomic_load(&j.bytes_done);
    if (o->progress) {
        p.files_done = res->files;
        p.bytes_done = res->bytes;
        p.seconds = res->copy_seconds;
        p.done = true;
        o->progress(o->progress_ctx, &p);
    }
    rc = j.rc;
    if (rc != VT_OK)
        *err = j.err;
    else if (j.files_done != l->n)
        rc = vt_err_set(err, VT_EIO, "restore: copied %zu of %zu files",
                        (size_t)atomic_load(&j.files_done), l->n);
    pthread_mutex_destroy(&j.mu);
    pthread_cond_destroy(&j.finished);
    /* the directory entries of the new files */
    for (size_t i = 0; i < ndirs; i++) {
        char p2[PATH_MAX * 2];
        snprintf(p2, sizeof p2, "%s/%s", root, dirs[i]);
        if (rc == VT_OK)
            rc = durable_fsync_dir(p2, err);
        free(dirs[i]);
    }
    free(dirs);
    if (rc == VT_OK)
        rc = durable_fsync_dir(root, err);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* The journal: cut and chain                                                                  */

/* The last record of dir's journal with time <= until (*seq = 0 when none), whether a later one
 * exists, and the time of that record. */
static vt_rc journal_scan_until(const char *dir, int64_t until, uint64_t *seq, int64_t *time,
                                bool *later, vt_err *err)
{
    *seq = 0;
    *time = 0;
    *later = false;
    journal_reader *r = NULL;
    vt_rc rc = journal_reader_open(dir, 0, &r, err);
    if (rc != VT_OK)
        return rc;
    for (;;) {
        journal_record rec;
        bool have = false;
        rc = journal_reader_next(r, &rec, &have, err);
        if (rc != VT_OK || !have)
            break;
        if (rec.time > until) {
            *later = true;
            break;
        }
        *seq = rec.seq;
        *time = rec.time;
    }
    journal_reader_close(r);
    return rc;
}

static vt_rc remove_segments(const char *dir, vt_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return vt_err_set(err, VT_EIO, "restore: open %s: %s", dir, strerror(errno));
    struct dirent *e;
    vt_rc rc = VT_OK;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".vjl") != 0)
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (unlink(p) != 0)
            rc = vt_err_set(err, VT_EIO, "restore: remove %s: %s", p, strerror(errno));
    }
    closedir(d);
    return rc == VT_OK ? durable_fsync_dir(dir, err) : rc;
}

/* Cuts the restored journal at seq; a journal that ends before it is acceptable only when the
 * engine files hold everything up to seq (then the journal restarts empty at seq + 1). */
static vt_rc cut_journal(const char *jdir, uint64_t seq, uint64_t checkpoint, vt_err *err)
{
    vt_rc rc = journal_truncate_after(jdir, seq, err);
    if (rc == VT_ENOTFOUND && seq <= checkpoint) {
        rc = remove_segments(jdir, err);
        if (rc == VT_OK)
            rc = journal_truncate_after(jdir, seq, err);
    }
    return rc;
}

/* Links the journal files of backup m into dir (after checking each object's hash). */
static vt_rc link_backup_journal(const char *repo, const backup_manifest *m, const char *dir,
                                 vt_err *err)
{
    vt_rc rc = durable_mkdirs(dir, err);
    for (size_t i = 0; rc == VT_OK && i < m->nfiles; i++) {
        const backup_file *f = &m->files[i];
        if (strncmp(f->path, "journal/", 8) != 0 || strchr(f->path + 8, '/') ||
            !rel_path_ok(f->path))
            continue;
        char obj[PATH_MAX], link_path[PATH_MAX * 2], h[BACKUP_HASH_HEX + 1];
        backup_repo_object_path(repo, f->hash, obj, sizeof obj);
        uint64_t size = 0;
        rc = vt_hash_file_stable(obj, h, &size, err);
        if (rc != VT_OK)
            break;
        if (strcmp(h, f->hash) != 0 || size != f->size) {
            rc = vt_err_set(err, VT_ECORRUPT,
                            "restore: verification failed: %s of backup %s (object %s) has hash "
                            "%s; the manifest says %s",
                            f->path, m->id, obj, h, f->hash);
            break;
        }
        char abs_obj[PATH_MAX];
        if (!realpath(obj, abs_obj)) {
            rc = vt_err_set(err, VT_EIO, "restore: %s: %s", obj, strerror(errno));
            break;
        }
        snprintf(link_path, sizeof link_path, "%s/%s", dir, f->path + 8);
        if (symlink(abs_obj, link_path) != 0)
            rc = vt_err_set(err, VT_EIO, "restore: symlink %s: %s", link_path, strerror(errno));
    }
    return rc;
}

static void set_partial(restore_result *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_partial(restore_result *res, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    res->partial = true;
    vsnprintf(res->partial_reason, sizeof res->partial_reason, fmt, ap);
    va_end(ap);
}

/* Whether the data directory a backup names as its source is still the instance that took it
 * (its catalog lists the backup with the same seq) — only then may its journal continue the
 * backup's: a directory recreated under the same path has its own, unrelated seq numbering. */
static bool origin_took_backup(const char *origin, const backup_manifest *b)
{
    char mp[PATH_MAX];
    snprintf(mp, sizeof mp, "%s/meta.db", origin);
    if (access(mp, R_OK) != 0)
        return false;
    meta *m = NULL;
    vt_err e;
    vt_err_clear(&e);
    if (meta_open(mp, &m, &e) != VT_OK)
        return false;
    meta_catalog c;
    bool same = meta_catalog_get(m, "backup", b->id, &c, &e) == VT_OK && c.seq == b->seq;
    meta_close(m);
    return same;
}

/* Step 4 (restore.h). *expect_seq: where the restored journal ends. */
static vt_rc settle_journal(const restore_options *o, const rsource *s, const char *root,
                            const char *chain_root, restore_result *res, vt_err *err)
{
    char jdir[PATH_MAX];
    snprintf(jdir, sizeof jdir, "%s/journal", root);
    res->seq = s->seq;
    res->time_last = s->time_last;
    if (!o->has_until)
        return cut_journal(jdir, s->seq, s->checkpoint, err);

    if (s->time_last > o->until) {
        /* the source itself goes past the time: cut inside its journal */
        uint64_t seq;
        int64_t t;
        bool later;
        vt_rc rc = journal_scan_until(jdir, o->until, &seq, &t, &later, err);
        if (rc != VT_OK)
            return rc;
        if (seq < s->checkpoint)
            return vt_err_set(err, VT_ENOTFOUND,
                              "restore: %s %s cannot go back to that time: its engine files hold "
                              "records up to seq %" PRIu64 " (pick an older one)",
                              s->kind, s->id, s->checkpoint);
        res->seq = seq;
        res->time_last = t;
        return cut_journal(jdir, seq, s->checkpoint, err);
    }

    vt_rc rc = cut_journal(jdir, s->seq, s->checkpoint, err);
    if (rc != VT_OK)
        return rc;
    /* roll forward through the archive */
    bool reached = false;
    uint64_t cur = s->seq;
    int64_t cur_time = s->time_last;
    if (s->is_backup) {
        for (size_t i = s->base + 1; i < s->nmans && !reached && !res->partial; i++) {
            const backup_manifest *m = &s->mans[i];
            if (m->seq <= cur)
                continue;
            char dir[PATH_MAX];
            snprintf(dir, sizeof dir, "%s/%s", chain_root, m->id);
            rc = link_backup_journal(s->location, m, dir, err);
            if (rc != VT_OK)
                return rc;
            uint64_t last = cur, imported = 0;
            int64_t last_time = cur_time;
            vt_err e;
            vt_err_clear(&e);
            vt_rc r2 = journal_import_until(jdir, dir, o->until, &last, &last_time, &imported,
                                            &reached, &e);
            if (r2 == VT_ENOTFOUND) {
                set_partial(res, "gap in the archive: backup %s does not hold seq %" PRIu64
                            " (%s)", m->id, cur + 1, e.msg);
                break;
            }
            if (r2 != VT_OK) {
                *err = e;
                return r2;
            }
            if (imported > 0) {
                res->chained_backups++;
                res->chained_records += imported;
                cur = last;
                cur_time = last_time;
            }
            if (!reached && cur < m->seq) {
                set_partial(res, "gap in the archive: backup %s claims records up to seq %" PRIu64
                            " but its journal files end at seq %" PRIu64, m->id, m->seq, cur);
                break;
            }
        }
    }
    /* then the source directory's own journal, when it is still there (a snapshot's, or the
     * directory a backup was taken from): backups and snapshots hold it from their seq on */
    if (!reached && !res->partial && s->origin[0] &&
        (!s->is_backup || origin_took_backup(s->origin, &s->mans[s->base]))) {
        char live[PATH_MAX];
        snprintf(live, sizeof live, "%s/journal", s->origin);
        uint64_t last = cur, imported = 0;
        int64_t last_time = cur_time;
        vt_err e;
        vt_err_clear(&e);
        vt_rc r2 = access(live, F_OK) == 0
                       ? journal_import_until(jdir, live, o->until, &last, &last_time, &imported,
                                              &reached, &e)
                       : VT_OK;
        if (r2 == VT_ENOTFOUND) {
            set_partial(res, "the journal of %s no longer holds seq %" PRIu64 " (%s)", s->origin,
                        cur + 1, e.msg);
        } else if (r2 != VT_OK) {
            *err = e;
            return r2;
        }
        res->chained_records += imported;
        cur = last;
        cur_time = last_time;
    }
    res->seq = cur;
    res->time_last = cur_time;
    if (!reached && !res->partial)
        set_partial(res, "the archive ends at seq %" PRIu64 " (journal time %" PRId64
                    " ns), before the requested time", cur, cur_time);
    return VT_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Verification and publication                                                                */

typedef struct verify_ctx {
    unsigned problems;
    char first[VT_ERR_MSG_MAX];
} verify_ctx;

static void verify_report(void *ctx, const char *file, uint64_t offset, const char *problem)
{
    verify_ctx *v = ctx;
    if (v->problems++ == 0)
        snprintf(v->first, sizeof v->first, "%s at offset %" PRIu64 ": %s", file, offset,
                 problem);
}

static vt_rc verify_restored(const char *root, bool full, restore_result *res, vt_err *err)
{
    node_options no;
    node_options_default(&no);
    no.engine.background = false;
    no.retention = false;
    no.journal_trim = false;
    node *n = NULL;
    node_open_info info;
    memset(&info, 0, sizeof info);
    double t0 = mono_s();
    vt_rc rc = node_open(root, &no, &n, &info, err);
    if (rc != VT_OK) {
        vt_err_prefix(err, "restore: verification failed: opening the restored directory");
        return rc == VT_ENOMEM ? rc : VT_ECORRUPT;
    }
    uint64_t last = info.last_seq;
    res->checkpoint = info.checkpoint_seq;
    /* Nothing replayed (the common case: a backup flushes before its snapshot): the node's
     * segment files are exactly the restored ones, already opened (manifest, headers, footers,
     * indexes checked), so their blocks are checked on the loaded readers instead of opening
     * every file a second time. Otherwise the files are checked after the close, which may
     * have flushed the replayed records into a new segment. */
    verify_ctx v;
    memset(&v, 0, sizeof v);
    uint64_t blocks = 0;
    bool on_loaded = !full && last == info.checkpoint_seq;
    double loaded_s = 0;
    if (on_loaded) {
        double t1 = mono_s();
        engine_verify_loaded_checksums(node_engine(n), verify_report, &v, &res->verify_files,
                                       &blocks);
        loaded_s = mono_s() - t1;
    }
    rc = node_close(n, err);
    res->open_seconds = mono_s() - t0 - loaded_s;
    if (rc != VT_OK)
        return rc;
    if (last != res->seq)
        return vt_err_set(err, VT_ECORRUPT,
                          "restore: verification failed: the restored journal ends at seq %" PRIu64
                          ", expected %" PRIu64,
                          last, res->seq);
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/LOCK", root);
    unlink(p);
    t0 = mono_s();
    snprintf(p, sizeof p, "%s/engine", root);
    if (full)
        engine_verify(p, verify_report, &v, &res->verify_files, &blocks);
    else if (!on_loaded)
        engine_verify_checksums(p, verify_report, &v, &res->verify_files, &blocks);
    snprintf(p, sizeof p, "%s/journal", root);
    unsigned segs = 0;
    journal_verify(p, verify_report, &v, &res->verify_records, &segs);
    res->verify_seconds = mono_s() - t0 + loaded_s;
    if (v.problems)
        return vt_err_set(err, VT_ECORRUPT, "restore: verification failed: %u problem(s), first: %s",
                          v.problems, v.first);
    return VT_OK;
}

/* -1: cannot tell (errno), 0: absent or an empty directory, 1: holds something. */
static int target_state(const char *to)
{
    struct stat st;
    if (lstat(to, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return 1;
    DIR *d = opendir(to);
    if (!d)
        return -1;
    struct dirent *e;
    int full = 0;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            full = 1;
    closedir(d);
    return full;
}

/* Does a running volta hold directory `to` (its LOCK file)? */
static bool target_busy(const char *to)
{
    char lp[PATH_MAX];
    snprintf(lp, sizeof lp, "%s/LOCK", to);
    int fd = open(lp, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool busy = flock(fd, LOCK_EX | LOCK_NB) != 0;
    close(fd);
    return busy;
}

static vt_rc publish(const restore_options *o, const char *staging, const char *to,
                     restore_result *res, vt_err *err)
{
    int state = target_state(to);
    if (state < 0)
        return vt_err_set(err, VT_EIO, "restore: %s: %s", to, strerror(errno));
    if (state == 1 && !o->replace)
        return vt_err_set(err, VT_EEXIST, "restore: %s is not empty (use --replace, or another "
                          "directory)", to);
    int lock_fd = -1;
    if (state == 1) {
        /* never move a directory a running volta holds */
        char lp[PATH_MAX];
        snprintf(lp, sizeof lp, "%s/LOCK", to);
        lock_fd = open(lp, O_RDONLY | O_CLOEXEC);
        if (lock_fd >= 0 && flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
            close(lock_fd);
            return vt_err_set(err, VT_EBUSY, "restore: %s is in use by a running volta: stop it "
                              "first", to);
        }
        char stamp[32];
        snapshot_make_id(wall_ns(), stamp, sizeof stamp);
        snprintf(res->replaced, sizeof res->replaced, "%s.replaced-%s", to, stamp);
        for (int k = 2; access(res->replaced, F_OK) == 0 && k < 1000; k++)
            snprintf(res->replaced, sizeof res->replaced, "%s.replaced-%s_%d", to, stamp, k);
        if (rename(to, res->replaced) != 0) {
            vt_rc rc = vt_err_set(err, VT_EIO, "restore: move %s aside to %s: %s", to,
                                  res->replaced, strerror(errno));
            res->replaced[0] = '\0';
            if (lock_fd >= 0)
                close(lock_fd);
            return rc;
        }
    } else if (state == 0 && access(to, F_OK) == 0 && rmdir(to) != 0) {
        return vt_err_set(err, VT_EIO, "restore: rmdir %s: %s", to, strerror(errno));
    }
    vt_rc rc = VT_OK;
    if (rename(staging, to) != 0) {
        rc = vt_err_set(err, VT_EIO, "restore: rename %s to %s: %s", staging, to,
                        strerror(errno));
        if (res->replaced[0] && rename(res->replaced, to) == 0)
            res->replaced[0] = '\0'; /* put the old one back */
    }
    if (lock_fd >= 0)
        close(lock_fd);
    if (rc == VT_OK)
        rc = durable_fsync_dir(to, err);
    if (rc == VT_OK) {
        char parent[PATH_MAX];
        snprintf(parent, sizeof parent, "%s", to);
        char *slash = strrchr(parent, '/');
        if (slash == parent)
            slash[1] = '\0';
        else if (slash)
            *slash = '\0';
        else
            snprintf(parent, sizeof parent, ".");
        rc = durable_fsync_dir(parent, err);
    }
    return rc;
}

static vt_rc restore_locked(const restore_options *o, restore_result *res, vt_err *err);

/* A repository is read under its shared lock: an expire (exclusive) cannot delete objects
 * while they are being restored. */
vt_rc restore_run(const restore_options *o, restore_result *res, vt_err *err)
{
    memset(res, 0, sizeof *res);
    int fd = -1;
    if (o->repo) {
        fd = backup_repo_lock(o->repo, false, err);
        if (fd < 0)
            return err->rc;
    }
    vt_rc rc = restore_locked(o, res, err);
    seg_preload_clear(); /* what the verification did not take (copy_one preloads) */
    backup_repo_unlock(fd);
    return rc;
}

static vt_rc restore_locked(const restore_options *o, restore_result *res, vt_err *err)
{
    memset(res, 0, sizeof *res);
    double t0 = mono_s();
    int nsrc = (o->repo != NULL) + (o->data != NULL && !o->snapshot_dir) + (o->snapshot_dir != NULL);
    if (nsrc != 1)
        return vt_err_set(err, VT_EINVAL,
                          "restore: give one source: --repo, --data or --snapshot-dir");
    rsource s;
    memset(&s, 0, sizeof s);
    vt_rc rc = o->repo ? resolve_backup(o, &s, err) : resolve_snapshot(o, &s, err);
    if (rc != VT_OK) {
        rsource_free(&s);
        return rc;
    }
    snprintf(res->id, sizeof res->id, "%s", s.id);
    snprintf(res->kind, sizeof res->kind, "%s", s.kind);

    /* the target: --to, or the runbook's new instance <name>-restore-<id> beside the source */
    char to[PATH_MAX];
    if (o->to && o->to[0])
        snprintf(to, sizeof to, "%s", o->to);
    else if (s.origin[0])
        snprintf(to, sizeof to, "%s-restore-%s", s.origin, s.id);
    else
        snprintf(to, sizeof to, "volta-restore-%s", s.id);
    size_t tl = strlen(to);
    while (tl > 1 && to[tl - 1] == '/')
        to[--tl] = '\0';
    snprintf(res->target, sizeof res->target, "%s", to);
    int state = target_state(to);
    if (state == 1 && !o->replace) {
        rsource_free(&s);
        return vt_err_set(err, VT_EEXIST,
                          "restore: %s is not empty: restore under another name, or --replace", to);
    }
    if (state == 1 && target_busy(to)) {
        rsource_free(&s);
        return vt_err_set(err, VT_EBUSY, "restore: %s is in use by a running volta: stop it first",
                          to);
    }

    char staging[PATH_MAX + 32], chain[PATH_MAX + 40];
    snprintf(staging, sizeof staging, "%s.restore-%ld", to, (long)getpid());
    snprintf(chain, sizeof chain, "%s.chain", staging);
    restore_remove_tree(staging);
    restore_remove_tree(chain);
    rlist l;
    memset(&l, 0, sizeof l);
    rc = build_list(&s, &l, err);
    if (rc == VT_OK)
        rc = durable_mkdirs(staging, err);
    if (rc == VT_OK)
        rc = copy_all(o, staging, &l, res, err);
    if (rc == VT_OK)
        rc = settle_journal(o, &s, staging, chain, res, err);
    restore_remove_tree(chain);
    if (rc == VT_OK)
        rc = verify_restored(staging, o->full_verify, res, err);
    if (rc == VT_OK) {
        res->verified = true;
        rc = publish(o, staging, to, res, err);
    }
    if (rc != VT_OK)
        restore_remove_tree(staging);
    rlist_free(&l);
    rsource_free(&s);
    res->seconds = mono_s() - t0;
    return rc;
}
