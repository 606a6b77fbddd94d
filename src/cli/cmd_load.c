/*
 * cli/cmd_load.c — `volta load <path>...`: load ONS CSV and line-protocol files through the
 * ledger (ingest/loader.h), by hand.
 *
 *   --data DIR (default): in-process on a data directory no server holds, with a progress bar;
 *   --host URL: the running server loads them (POST /api/v1/load; the paths must be readable
 *               by the server) and answers when done.
 * A directory argument loads every loadable file under it. Ledger keys are absolute paths.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_http.h"
#include "core/node.h"
#include "ingest/loader.h"
#include "meta/meta.h"

static void load_usage(FILE *out)
{
    fprintf(out,
            "usage: volta load [--data DIR | --host URL] [--db NAME] [--force] [--quiet] PATH...\n"
            "\n"
            "Loads ONS CSV files (generation, load, interchange, balance: by ONS file name or\n"
            "under dataset=<name>/ directories) and line-protocol files (.lp, .lp.gz) exactly\n"
            "once: the ledger in <data>/meta.db skips unchanged files and reloads changed ones\n"
            "(deleting the points the previous version wrote). A directory loads every such\n"
            "file under it.\n"
            "\n"
            "  --data DIR   data directory no server is using (default ./volta-data)\n"
            "  --host URL   ask the running server at URL to load the files (absolute paths it\n"
            "               can read)\n"
            "  --db NAME    database (default ons)\n"
            "  --force      load even files the ledger has as unchanged\n"
            "  --quiet      no progress bar, no per-row rejections\n"
            "\n"
            "Exit status: 0 every file loaded or unchanged; 1 a file was refused or rows were\n"
            "rejected (the rest loaded); 2 bad usage; >2 the node or the ledger failed.\n");
}

typedef struct load_cli {
    bool tty, quiet;
    const char *file;
    double t0;
    uint64_t rejects_printed;
} load_cli;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress(void *ctx, uint64_t done, uint64_t total)
{
    load_cli *c = ctx;
    if (!c->tty || c->quiet)
        return;
    double frac = total ? (double)done / (double)total : 1.0;
    int width = 30, fill = (int)(frac * width);
    char bar[32];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    double el = now_s() - c->t0;
    fprintf(stderr, "\r[%s] %3.0f%% %7.1f/%.1f MB %6.1f MB/s  %.40s", bar, frac * 100,
            (double)done / 1e6, (double)total / 1e6, el > 0 ? (double)done / 1e6 / el : 0.0,
            c->file);
    fflush(stderr);
}

static void reject(void *ctx, const char *file, uint64_t line, const char *reason)
{
    load_cli *c = ctx;
    if (c->quiet || c->rejects_printed++ >= 20)
        return;
    if (c->tty)
        fprintf(stderr, "\r\033[K");
    fprintf(stderr, "%s:%llu: rejected: %s\n", file, (unsigned long long)line, reason);
}

typedef struct path_vec {
    char **v;
    size_t n, cap;
} path_vec;

static void push(path_vec *p, const char *s)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 16;
        p->v = realloc(p->v, p->cap * sizeof *p->v);
        if (!p->v) {
            fprintf(stderr, "volta load: out of memory\n");
            exit(5);
        }
    }
    p->v[p->n++] = strdup(s);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Files under path (absolute), sorted; a file argument must be loadable. */
static int collect(const char *arg, path_vec *out, bool top)
{
    char abs[PATH_MAX];
    if (!realpath(arg, abs)) {
        fprintf(stderr, "volta load: %s: %s\n", arg, strerror(errno));
        return 1;
    }
    struct stat st;
    if (stat(abs, &st) != 0)
        return 1;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(abs);
        if (!d) {
            fprintf(stderr, "volta load: %s: %s\n", abs, strerror(errno));
            return 1;
        }
        path_vec sub = {0};
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char p[PATH_MAX * 2];
            snprintf(p, sizeof p, "%s/%s", abs, e->d_name);
            push(&sub, p);
        }
        closedir(d);
        if (sub.n)
            qsort(sub.v, sub.n, sizeof *sub.v, cmp_str);
        int rc = 0;
        for (size_t i = 0; i < sub.n; i++) {
            rc |= collect(sub.v[i], out, false);
            free(sub.v[i]);
        }
        free(sub.v);
        return rc;
    }
    char ds[32];
    if (ingest_classify(abs, ds, sizeof ds) == INGEST_IGNORE) {
        if (top) {
            fprintf(stderr,
                    "volta load: %s: not a file volta loads (ONS CSV named like "
                    "GERACAO_USINA-2_2024_01.csv or under dataset=<name>/, .lp, .lp.gz)\n",
                    arg);
            return 1;
        }
        return 0;
    }
    push(out, abs);
    return 0;
}

static const char *outcome_text(load_outcome o)
{
    switch (o) {
    case LOAD_SKIPPED_UNCHANGED: return "unchanged (skipped)";
    case LOAD_LOADED: return "loaded";
    case LOAD_RELOADED: return "reloaded (the previous version's points replaced)";
    case LOAD_FAILED: return "REFUSED";
    case LOAD_SKIPPED_FAILED: return "REFUSED earlier, unchanged since";
    }
    return "?";
}

static int load_offline(const char *data, const char *db, bool force, load_cli *c, path_vec *files)
{
    node_options opts;
    node_options_default(&opts);
    node *n = NULL;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = node_open(data, &opts, &n, NULL, &err);
    if (rc == VT_EBUSY) {
        fprintf(stderr,
                "volta load: data directory %s is in use by a running volta: use --host "
                "(or drop the files into its landing zone)\n",
                data);
        return 1;
    }
    if (rc != VT_OK) {
        fprintf(stderr, "volta load: %s\n", err.msg);
        return vt_rc_exit_code(rc);
    }
    char mp[PATH_MAX + 16];
    snprintf(mp, sizeof mp, "%s/meta.db", data);
    meta *m = NULL;
    rc = meta_open(mp, &m, &err);
    if (rc != VT_OK) {
        fprintf(stderr, "volta load: %s\n", err.msg);
        node_close(n, NULL);
        return vt_rc_exit_code(rc);
    }
    int exit_code = 0;
    uint64_t rows = 0, points = 0, rejected = 0;
    double t0 = now_s();
    for (size_t i = 0; i < files->n; i++) {
        c->file = files->v[i];
        c->t0 = now_s();
        loader_options o = {
            .database = db, .force = force, .progress = progress, .reject = reject, .ctx = c};
        load_result r;
        rc = loader_load_file(n, m, files->v[i], files->v[i], &o, &r, &err);
        if (c->tty && !c->quiet)
            fprintf(stderr, "\r\033[K");
        if (rc != VT_OK) {
            fprintf(stderr, "volta load: %s: %s\n", files->v[i], err.msg);
            exit_code = vt_rc_exit_code(rc);
            break;
        }
        printf("%s: %s", files->v[i], outcome_text(r.outcome));
        if (r.outcome == LOAD_LOADED || r.outcome == LOAD_RELOADED) {
            printf(" — %llu rows read, %llu loaded, %llu rejected, %llu empty values, %llu points"
                   " in %.2f s (%.0f rows/s)",
                   (unsigned long long)r.file.rows_read, (unsigned long long)r.file.rows_loaded,
                   (unsigned long long)r.file.rows_rejected,
                   (unsigned long long)r.file.empty_values, (unsigned long long)r.file.points,
                   r.seconds, r.seconds > 0 ? (double)r.file.rows_read / r.seconds : 0.0);
            rows += r.file.rows_loaded;
            points += r.file.points;
            rejected += r.file.rows_rejected;
            if (r.file.rows_rejected && exit_code == 0)
                exit_code = 1;
        } else if (r.outcome == LOAD_FAILED || r.outcome == LOAD_SKIPPED_FAILED) {
            printf(": %s", r.file.error);
            if (exit_code == 0)
                exit_code = 1;
        }
        printf("\n");
    }
    printf("total: %zu files, %llu rows loaded, %llu rejected, %llu points, %.2f s\n", files->n,
           (unsigned long long)rows, (unsigned long long)rejected, (unsigned long long)points,
           now_s() - t0);
    meta_close(m);
    vt_err_clear(&err);
    if (node_close(n, &err) != VT_OK) {
        fprintf(stderr, "volta load: close: %s\n", err.msg);
        if (!exit_code)
            exit_code = vt_rc_exit_code(err.rc);
    }
    return exit_code;
}

static int load_remote(const char *host, const char *db, bool force, path_vec *files)
{
    json_t *req = json_object(), *arr = json_array();
    for (size_t i = 0; i < files->n; i++)
        json_array_append_new(arr, json_string(files->v[i]));
    json_object_set_new(req, "paths", arr);
    json_object_set_new(req, "force", json_boolean(force));
    if (db)
        json_object_set_new(req, "db", json_string(db));
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    char url[2048], errbuf[512];
    snprintf(url, sizeof url, "%s/api/v1/load", host);
    vt_buf resp;
    vt_buf_init(&resp);
    long status = 0;
    int rc =
        cli_http("POST", url, body, strlen(body), "application/json", 3600, &resp, &status, errbuf);
    free(body);
    if (rc != 0) {
        fprintf(stderr, "volta load: %s: %s\n", host, errbuf);
        vt_buf_free(&resp);
        return 1;
    }
    json_t *doc = json_loadb((const char *)resp.data, resp.len, 0, NULL);
    int exit_code = 0;
    if (status != 200) {
        const char *e = json_string_value(json_object_get(doc, "error"));
        fprintf(stderr, "volta load: server answered %ld: %s\n", status,
                e ? e : vt_buf_cstr(&resp));
        exit_code = 1;
    } else {
        size_t i;
        json_t *f;
        json_array_foreach(json_object_get(doc, "files"), i, f)
        {
            json_t *file = json_object_get(f, "file");
            const char *outcome = json_string_value(json_object_get(f, "outcome"));
            printf("%s: %s", json_string_value(json_object_get(file, "path")), outcome);
            if (outcome && (strcmp(outcome, "loaded") == 0 || strcmp(outcome, "reloaded") == 0))
                printf(" — %lld rows loaded, %lld rejected, %lld points",
                       json_integer_value(json_object_get(file, "rows_loaded")),
                       json_integer_value(json_object_get(file, "rows_rejected")),
                       json_integer_value(json_object_get(file, "points")));
            if (outcome && strncmp(outcome, "failed", 6) == 0) {
                printf(": %s", json_string_value(json_object_get(file, "error")));
                exit_code = 1;
            }
            if (json_integer_value(json_object_get(file, "rows_rejected")) > 0)
                exit_code = 1;
            printf("\n");
        }
    }
    json_decref(doc);
    vt_buf_free(&resp);
    return exit_code;
}

int cmd_load(int argc, char **argv)
{
    const char *data = NULL, *host = NULL, *db = NULL;
    bool force = false, quiet = false;
    path_vec files = {0};
    int bad = 0;
    int npaths = 0;
    char **paths = calloc((size_t)argc, sizeof *paths);
    if (!paths)
        return 5;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            load_usage(stdout);
            free(paths);
            return 0;
        }
        if (strcmp(a, "--force") == 0) {
            force = true;
        } else if (strcmp(a, "--quiet") == 0) {
            quiet = true;
        } else if ((strcmp(a, "--data") == 0 || strcmp(a, "--host") == 0 ||
                    strcmp(a, "--db") == 0) &&
                   i + 1 < argc) {
            const char **slot = a[2] == 'd' && a[3] == 'a' ? &data : a[2] == 'h' ? &host : &db;
            *slot = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "volta load: unknown option or missing value: %s\n\n", a);
            load_usage(stderr);
            free(paths);
            return 2;
        } else {
            paths[npaths++] = argv[i];
        }
    }
    if (npaths == 0 || (data && host)) {
        fprintf(stderr, npaths == 0 ? "volta load: no file given\n\n"
                                    : "volta load: --data and --host exclude each other\n\n");
        load_usage(stderr);
        free(paths);
        return 2;
    }
    for (int i = 0; i < npaths; i++)
        bad |= collect(paths[i], &files, true);
    free(paths);
    int rc;
    if (bad) {
        rc = 1;
    } else if (files.n == 0) {
        fprintf(stderr, "volta load: no loadable file found\n");
        rc = 1;
    } else if (host) {
        rc = load_remote(host, db, force, &files);
    } else {
        load_cli c = {.tty = isatty(2) != 0, .quiet = quiet};
        rc = load_offline(data ? data : "./volta-data", db ? db : "ons", force, &c, &files);
    }
    for (size_t i = 0; i < files.n; i++)
        free(files.v[i]);
    free(files.v);
    return rc;
}
