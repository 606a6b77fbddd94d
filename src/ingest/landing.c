/*
 * ingest/landing.c — landing-zone scans and the watcher thread (see landing.h).
 *
 * NOTES
 *  1. The walk collects relative paths first, sorts them (byte order), then loads: the load
 *     order is deterministic, and a file rewritten while the walk runs is seen by the next pass.
 *  2. inotify: one watch per directory (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF
 *     ...); every event only schedules a scan (debounced), so the watch table never has to map
 *     a descriptor back to a path: new directories are picked up by re-adding watches during the
 *     scan's walk (inotify_add_watch on a watched directory is a no-op).
 */
#include "ingest/landing.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/durable.h"
#include "common/log.h"
#include "common/thread.h"

#define QUIET_NS 1000000000LL /* files younger than this wait for the next pass */

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

typedef struct path_list {
    char **v;
    size_t n, cap;
} path_list;

static bool path_add(path_list *l, const char *p)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        char **nv = realloc(l->v, nc * sizeof *nv);
        if (!nv)
            return false;
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n] = strdup(p);
    return l->v[l->n++] != NULL;
}

static void path_free(path_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collects loadable files under root/rel (rel "" = root); adds inotify watches when ifd >= 0. */
static vt_rc walk(const char *root, const char *rel, int ifd, path_list *out, vt_err *err)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s%s%s", root, rel[0] ? "/" : "", rel);
    if (ifd >= 0)
        inotify_add_watch(ifd, dir,
                          IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM |
                              IN_ONLYDIR);
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT && rel[0])
            return VT_OK; /* removed meanwhile */
        return vt_err_set(err, VT_EIO, "landing zone: opendir %s: %s", dir, strerror(errno));
    }
    vt_rc rc = VT_OK;
    struct dirent *e;
    while (rc == VT_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue; /* ., .., hidden files and directories */
        char sub[PATH_MAX];
        int len = snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        if (len < 0 || (size_t)len >= sizeof sub)
            continue;
        char full[PATH_MAX * 2];
        snprintf(full, sizeof full, "%s/%s", root, sub);
        struct stat st;
        if (stat(full, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            rc = walk(root, sub, ifd, out, err);
        } else if (S_ISREG(st.st_mode)) {
            char ds[32];
            if (ingest_classify(sub, ds, sizeof ds) != INGEST_IGNORE && !path_add(out, sub))
                rc = vt_err_set(err, VT_ENOMEM, "out of memory");
        }
    }
    closedir(d);
    return rc;
}

static vt_rc scan(node *n, meta *m, const char *root, const loader_options *o, int ifd,
                  landing_stats *stats, bool *deferred, vt_err *err)
{
    path_list files = {0};
    vt_rc rc = walk(root, "", ifd, &files, err);
    if (rc == VT_OK && files.n)
        qsort(files.v, files.n, sizeof *files.v, cmp_str);
    if (deferred)
        *deferred = false;
    int64_t now = wall_ns();
    if (stats) {
        stats->scans++;
        stats->files_seen = files.n;
    }
    loader_options lo = *o;
    lo.root = root;
    for (size_t i = 0; rc == VT_OK && i < files.n; i++) {
        char full[PATH_MAX * 2];
        snprintf(full, sizeof full, "%s/%s", root, files.v[i]);
        struct stat st;
        if (stat(full, &st) != 0)
            continue;
        int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
        if (now - mtime < QUIET_NS) {
            if (stats)
                stats->deferred++;
            if (deferred)
                *deferred = true;
            continue;
        }
        load_result r;
        rc = loader_load_file(n, m, full, files.v[i], &lo, &r, err);
        if (rc != VT_OK || !stats)
            continue;
        switch (r.outcome) {
        case LOAD_SKIPPED_UNCHANGED:
        case LOAD_SKIPPED_FAILED: stats->skipped++; break;
        case LOAD_LOADED: stats->loaded++; break;
        case LOAD_RELOADED: stats->reloaded++; break;
        case LOAD_FAILED: stats->failed++; break;
        }
        if (r.outcome == LOAD_LOADED || r.outcome == LOAD_RELOADED) {
            stats->rows_loaded += r.file.rows_loaded;
            stats->rows_rejected += r.file.rows_rejected;
            stats->points += r.file.points;
            vt_log("info", "landing",
                   "%s %s: %llu rows, %llu points, %llu rejected, %llu empty values, %.2f s",
                   r.outcome == LOAD_LOADED ? "loaded" : "reloaded (content changed)", files.v[i],
                   (unsigned long long)r.file.rows_loaded, (unsigned long long)r.file.points,
                   (unsigned long long)r.file.rows_rejected,
                   (unsigned long long)r.file.empty_values, r.seconds);
        } else if (r.outcome == LOAD_FAILED) {
            vt_log("error", "landing", "refused %s: %s", files.v[i], r.file.error);
        }
    }
    if (stats)
        stats->last_scan_at = wall_ns();
    path_free(&files);
    return rc;
}

vt_rc landing_scan(node *n, meta *m, const char *root, const loader_options *o,
                   landing_stats *stats, vt_err *err)
{
    return scan(n, m, root, o, -1, stats, NULL, err);
}

/* ---- the watcher ---- */

struct landing {
    node *node;
    meta *meta;
    char root[PATH_MAX];
    char database[128];
    bool watch;
    unsigned rescan_seconds;
    int ifd;
    int wake[2]; /* pipe: stop and kick */
    pthread_t thread;
    bool running;
    pthread_mutex_t mu;
    bool stop;
    landing_stats stats;
};

static void *landing_main(void *arg)
{
    landing *l = arg;
    vt_thread_name("volta-landing");
    int64_t next_rescan = 0, debounce_at = 0;
    for (;;) {
        int64_t now = wall_ns();
        pthread_mutex_lock(&l->mu);
        bool stop = l->stop;
        pthread_mutex_unlock(&l->mu);
        if (stop)
            break;
        if (now >= next_rescan || (debounce_at && now >= debounce_at)) {
            landing_stats st;
            pthread_mutex_lock(&l->mu);
            st = l->stats;
            pthread_mutex_unlock(&l->mu);
            loader_options o = {.database = l->database};
            vt_err err;
            vt_err_clear(&err);
            bool deferred = false;
            vt_rc rc = scan(l->node, l->meta, l->root, &o, l->ifd, &st, &deferred, &err);
            if (rc != VT_OK) {
                snprintf(st.last_error, sizeof st.last_error, "%s", err.msg);
                vt_log("error", "landing", "scan: %s", err.msg);
            }
            pthread_mutex_lock(&l->mu);
            l->stats = st;
            pthread_mutex_unlock(&l->mu);
            now = wall_ns();
            next_rescan = now + (int64_t)l->rescan_seconds * 1000000000LL;
            /* a failing pass (node or ledger trouble) or a young file: try again soon */
            debounce_at = rc != VT_OK || deferred ? now + QUIET_NS : 0;
        }
        int64_t until = next_rescan;
        if (debounce_at && debounce_at < until)
            until = debounce_at;
        int timeout = (int)((until - now) / 1000000);
        if (timeout < 0)
            timeout = 0;
        if (timeout > 1000)
            timeout = 1000;
        struct pollfd pf[2] = {{l->wake[0], POLLIN, 0}, {l->ifd, POLLIN, 0}};
        int np = l->ifd >= 0 ? 2 : 1;
        if (poll(pf, (nfds_t)np, timeout) <= 0)
            continue;
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        if (pf[0].revents & POLLIN) {
            ssize_t r = read(l->wake[0], buf, sizeof buf);
            (void)r;
            debounce_at = wall_ns(); /* a kick: scan now */
        }
        if (np == 2 && (pf[1].revents & POLLIN)) {
            ssize_t r = read(l->ifd, buf, sizeof buf);
            (void)r; /* any event (or IN_Q_OVERFLOW) schedules a scan (note 2) */
            debounce_at = wall_ns() + 300 * 1000000LL;
        }
    }
    return NULL;
}

vt_rc landing_start(node *n, meta *m, const char *root, const char *database, bool watch,
                    unsigned rescan_seconds, landing **out, vt_err *err)
{
    vt_rc rc = durable_mkdirs(root, err);
    if (rc != VT_OK)
        return rc;
    landing *l = calloc(1, sizeof *l);
    if (!l)
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    l->node = n;
    l->meta = m;
    snprintf(l->root, sizeof l->root, "%s", root);
    snprintf(l->database, sizeof l->database, "%s", database && database[0] ? database : "ons");
    l->watch = watch;
    l->rescan_seconds = rescan_seconds ? rescan_seconds : 60;
    l->ifd = -1;
    l->wake[0] = l->wake[1] = -1;
    pthread_mutex_init(&l->mu, NULL);
    if (pipe2(l->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        rc = vt_err_set(err, VT_EIO, "landing zone: pipe: %s", strerror(errno));
        goto fail;
    }
    if (watch) {
        l->ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (l->ifd < 0)
            vt_log("warn", "landing", "inotify unavailable (%s): rescanning every %u s only",
                   strerror(errno), l->rescan_seconds);
    }
    if (pthread_create(&l->thread, NULL, landing_main, l) != 0) {
        rc = vt_err_set(err, VT_ENOMEM, "landing zone: cannot start the watcher thread");
        goto fail;
    }
    l->running = true;
    *out = l;
    return VT_OK;
fail:
    landing_stop(l);
    return rc;
}

void landing_stop(landing *l)
{
    if (!l)
        return;
    if (l->running) {
        pthread_mutex_lock(&l->mu);
        l->stop = true;
        pthread_mutex_unlock(&l->mu);
        ssize_t w = write(l->wake[1], "x", 1);
        (void)w;
        pthread_join(l->thread, NULL);
    }
    if (l->ifd >= 0)
        close(l->ifd);
    if (l->wake[0] >= 0)
        close(l->wake[0]);
    if (l->wake[1] >= 0)
        close(l->wake[1]);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

void landing_get_stats(landing *l, landing_stats *out)
{
    pthread_mutex_lock(&l->mu);
    *out = l->stats;
    pthread_mutex_unlock(&l->mu);
}

void landing_kick(landing *l)
{
    ssize_t w = write(l->wake[1], "k", 1);
    (void)w;
}

const char *landing_root(const landing *l)
{
    return l->root;
}
