/*
 * cli/cmd_backup.c — `volta backup [create]|list|verify|expire`: backups of a node into a backup
 * repository (ops/backup.h; the repository format is ops/backup_repo.h). create runs on the
 * running server through POST /api/v1/backups (--host, the default) or in-process on a data
 * directory no server holds (--data); list, verify and expire read the repository directly.
 */
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli/cli.h"
#include "cli/cli_http.h"
#include "core/node.h"
#include "meta/meta.h"
#include "ops/backup.h"

#define DEFAULT_HOST "http://127.0.0.1:8086"

static void backup_usage(FILE *out)
{
    fprintf(out,
            "usage: volta backup [create] --repo DIR [--full] [--host URL | --data DIR]\n"
            "       volta backup list   --repo DIR [--json]\n"
            "       volta backup verify --repo DIR [ID]\n"
            "       volta backup expire --repo DIR --keep N [--keep-days D] [--yes]\n"
            "                           [--data DIR]\n"
            "\n"
            "Backups into a repository directory of content-addressed files (objects/) and one\n"
            "manifest per backup (backups/<YYYYMMDD_HHMMSS>/MANIFEST.json). A backup copies only\n"
            "the files the repository does not hold yet (incremental), or every file (--full),\n"
            "and archives the journal since the previous backup (point-in-time restore:\n"
            "`volta restore ID --repo DIR --until TIME`).\n"
            "\n"
            "  --repo DIR      the backup repository (created by the first backup)\n"
            "  --full          copy every file again (re-verifies the repository's objects)\n"
            "  --host URL      the running server takes the backup (default %s)\n"
            "  --data DIR      a data directory no server is using (in-process)\n"
            "  --json          list: one JSON object per backup\n"
            "  verify [ID]     re-read every object of backup ID (default: every backup) and\n"
            "                  check it against the manifest\n"
            "  --keep N        expire: keep the newest N full backups and every backup after them\n"
            "  --keep-days D   expire: keep every backup newer than D days too (--keep 0: by age)\n"
            "  --yes           expire: do not ask (without it, a terminal is asked and anything\n"
            "                  else only sees what would be deleted)\n"
            "  --data DIR      expire: the data directory whose catalog lists the backups\n"
            "                  (default: the source of the repository's newest backup, if local)\n"
            "\n"
            "Exit status: 0 ok; 1 failed (verify: a problem found); 2 bad usage.\n",
            DEFAULT_HOST);
}

static void when_str(int64_t ns, char *out, size_t cap)
{
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- progress ---- */

static void show_progress(void *ctx, const backup_progress *p)
{
    (void)ctx;
    double mb = (double)p->bytes_done / 1e6;
    fprintf(stderr, "\rvolta backup: %-6s %" PRIu64 "/%" PRIu64 " files, %.1f/%.1f MB, %.1f MB/s   %s",
            p->phase, p->files_done, p->files_total, mb, (double)p->bytes_total / 1e6,
            p->seconds > 0 ? mb / p->seconds : 0.0, p->done ? "\n" : "");
    fflush(stderr);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print_summary(const char *id, const char *kind, unsigned long long files,
                          unsigned long long bytes, unsigned long long new_files,
                          unsigned long long new_bytes, unsigned long long seq_first,
                          unsigned long long seq, double seconds)
{
    printf("backup %s (%s): %llu files, %.1f MB; new: %llu files, %.1f MB; journal %llu..%llu; "
           "%.2f s, %.1f MB/s\n",
           id, kind, files, (double)bytes / 1e6, new_files, (double)new_bytes / 1e6, seq_first,
           seq, seconds, seconds > 0 ? (double)new_bytes / 1e6 / seconds : 0.0);
}

/* ---- create ---- */

static int create_remote(const char *host, const char *repo, bool full)
{
    char abs[PATH_MAX];
    if (repo[0] == '/') {
        snprintf(abs, sizeof abs, "%s", repo);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd)) {
            fprintf(stderr, "volta backup: getcwd failed\n");
            return 1;
        }
        snprintf(abs, sizeof abs, "%s/%s", cwd, repo);
    }
    char *esc = curl_easy_escape(NULL, abs, 0);
    if (!esc) {
        fprintf(stderr, "volta backup: out of memory\n");
        return 1;
    }
    char url[PATH_MAX * 3 + 2100], errbuf[512];
    snprintf(url, sizeof url, "%s/api/v1/backups?repo=%s%s", host, esc, full ? "&full=true" : "");
    curl_free(esc);
    vt_buf resp;
    vt_buf_init(&resp);
    long status = 0;
    double t0 = now_s();
    if (cli_http("POST", url, "", 0, "application/json", 24 * 3600, &resp, &status, errbuf) != 0) {
        fprintf(stderr, "volta backup: %s: %s\n", host, errbuf);
        vt_buf_free(&resp);
        return 1;
    }
    double secs = now_s() - t0;
    json_t *doc = json_loadb((const char *)resp.data, resp.len, 0, NULL);
    int code = 0;
    if (status >= 300 || !doc) {
        const char *e = json_string_value(json_object_get(doc, "error"));
        fprintf(stderr, "volta backup: server answered %ld: %s\n", status,
                e ? e : vt_buf_cstr(&resp));
        code = 1;
    } else {
#define U(k) ((unsigned long long)json_integer_value(json_object_get(doc, k)))
        json_t *s = json_object_get(doc, "seconds");
        print_summary(json_string_value(json_object_get(doc, "id")),
                      json_string_value(json_object_get(doc, "kind")), U("files"), U("bytes"),
                      U("new_files"), U("new_bytes"), U("seq_first"), U("seq"),
                      s ? json_number_value(s) : secs);
#undef U
    }
    json_decref(doc);
    vt_buf_free(&resp);
    return code;
}

static int create_offline(const char *data, const char *repo, bool full)
{
    node_options o;
    node_options_default(&o);
    o.engine.background = false;
    o.retention = false;
    o.journal_trim = false;
    node *n = NULL;
    meta *m = NULL;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = node_open(data, &o, &n, NULL, &err);
    if (rc == VT_EBUSY) {
        fprintf(stderr, "volta backup: %s is in use by a running volta: use --host\n", data);
        return 1;
    }
    char mp[PATH_MAX + 16];
    snprintf(mp, sizeof mp, "%s/meta.db", data);
    if (rc == VT_OK)
        rc = meta_open(mp, &m, &err);
    meta_catalog c;
    double t0 = now_s();
    if (rc == VT_OK)
        rc = backup_create(n, m, repo, full, isatty(STDERR_FILENO) ? show_progress : NULL, NULL,
                           &c, &err);
    double secs = now_s() - t0;
    if (rc == VT_OK)
        print_summary(c.id, c.kind, (unsigned long long)c.files, (unsigned long long)c.bytes,
                      (unsigned long long)c.new_files, (unsigned long long)c.new_bytes,
                      (unsigned long long)c.seq_first, (unsigned long long)c.seq, secs);
    else
        fprintf(stderr, "volta backup: %s\n", err.msg);
    meta_close(m);
    if (n)
        node_close(n, NULL);
    return rc == VT_OK ? 0 : 1;
}

/* ---- list ---- */

static int do_list(const char *repo, bool json)
{
    backup_manifest *list = NULL;
    size_t n = 0;
    vt_err err;
    vt_err_clear(&err);
    if (backup_list(repo, &list, &n, &err) != VT_OK) {
        fprintf(stderr, "volta backup: %s\n", err.msg);
        return 1;
    }
    if (!json && n > 0)
        printf("%-20s %-11s %-20s %-21s %6s %10s %10s\n", "ID", "KIND", "CREATED", "JOURNAL",
               "FILES", "MB", "NEW MB");
    for (size_t i = 0; i < n; i++) {
        const backup_manifest *b = &list[i];
        uint64_t bytes = 0;
        for (size_t k = 0; k < b->nfiles; k++)
            bytes += b->files[k].size;
        char when[32], range[48];
        when_str(b->created_at, when, sizeof when);
        if (json) {
            printf("{\"id\":\"%s\",\"kind\":\"%s\",\"parent\":\"%s\",\"created_at\":%" PRId64
                   ",\"checkpoint\":%" PRIu64 ",\"seq_first\":%" PRIu64 ",\"seq\":%" PRIu64
                   ",\"time_first\":%" PRId64 ",\"time_last\":%" PRId64 ",\"files\":%zu,"
                   "\"bytes\":%" PRIu64 ",\"new_files\":%" PRIu64 ",\"new_bytes\":%" PRIu64 "}\n",
                   b->id, b->kind, b->parent, b->created_at, b->checkpoint, b->seq_first, b->seq,
                   b->time_first, b->time_last, b->nfiles, bytes, b->new_files, b->new_bytes);
            continue;
        }
        snprintf(range, sizeof range, "%" PRIu64 "..%" PRIu64, b->seq_first, b->seq);
        printf("%-20s %-11s %-20s %-21s %6zu %10.1f %10.1f\n", b->id, b->kind, when, range,
               b->nfiles, (double)bytes / 1e6, (double)b->new_bytes / 1e6);
    }
    if (!json && n == 0)
        printf("no backups in %s\n", repo);
    backup_manifests_free(list, n);
    return 0;
}

/* ---- verify ---- */

static void report_problem(void *ctx, const char *object, const char *id, const char *path,
                           const char *problem)
{
    bool *tty = ctx;
    fprintf(stderr, "%sFAILED backup %s file %s: object %s: %s\n", *tty ? "\r\033[K" : "", id,
            path, object, problem);
}

static int do_verify(const char *repo, const char *id)
{
    bool tty = isatty(STDERR_FILENO) != 0;
    backup_verify_result res;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = backup_verify(repo, id, tty ? show_progress : NULL, NULL, report_problem, &tty,
                             &res, &err);
    double mb = (double)res.bytes / 1e6;
    if (rc == VT_OK) {
        printf("verified %" PRIu64 " backup(s): %" PRIu64 " objects, %.1f MB in %.2f s "
               "(%.1f MB/s): OK\n",
               res.backups, res.objects, mb, res.seconds, res.seconds > 0 ? mb / res.seconds : 0);
        return 0;
    }
    if (rc == VT_ECORRUPT && res.problems > 0)
        printf("verified %" PRIu64 " backup(s): %" PRIu64 " objects, %.1f MB: %" PRIu64
               " problem(s)\n",
               res.backups, res.objects, mb, res.problems);
    fprintf(stderr, "volta backup: verify failed: %s\n", err.msg);
    return 1;
}

/* ---- expire ---- */

static bool confirm(size_t n, const char *repo)
{
    fprintf(stderr, "Expirar %zu backup(s) de %s? (sim/nao) ", n, repo);
    fflush(stderr);
    char line[64];
    if (!fgets(line, sizeof line, stdin))
        return false;
    line[strcspn(line, "\r\n")] = '\0';
    return strcmp(line, "sim") == 0 || strcmp(line, "s") == 0 || strcmp(line, "yes") == 0 ||
           strcmp(line, "y") == 0;
}

static int do_expire(const char *repo, const char *data, unsigned keep, unsigned days, bool yes)
{
    vt_err err;
    vt_err_clear(&err);
    backup_expire_result plan;
    vt_rc rc = backup_expire(repo, NULL, keep, days, 0, true, &plan, &err);
    if (rc != VT_OK) {
        fprintf(stderr, "volta backup: %s\n", err.msg);
        return 1;
    }
    for (size_t i = 0; i < plan.nexpired; i++)
        printf("%s %s\n", yes ? "expiring" : "would expire", plan.expired[i]);
    printf("%zu backup(s) kept; %zu to expire; %" PRIu64 " objects (%.1f MB) no longer "
           "referenced\n",
           plan.kept, plan.nexpired, plan.objects_deleted, (double)plan.bytes_freed / 1e6);
    size_t nexp = plan.nexpired;
    uint64_t nobj = plan.objects_deleted;
    backup_expire_result_free(&plan);
    if (nexp == 0 && nobj == 0)
        return 0;
    if (!yes) {
        if (!isatty(STDIN_FILENO)) {
            fprintf(stderr, "volta backup: nothing deleted (pass --yes to expire)\n");
            return 1;
        }
        if (!confirm(nexp, repo)) {
            fprintf(stderr, "volta backup: nothing deleted\n");
            return 1;
        }
    }
    /* the catalog: --data, else the source of the newest backup when it is a local directory */
    char mp[PATH_MAX + 16] = "";
    if (data) {
        snprintf(mp, sizeof mp, "%s/meta.db", data);
    } else {
        backup_manifest *list = NULL;
        size_t n = 0;
        if (backup_list(repo, &list, &n, &err) == VT_OK && n > 0) {
            snprintf(mp, sizeof mp, "%s/meta.db", list[n - 1].source);
            if (access(mp, R_OK | W_OK) != 0)
                mp[0] = '\0';
        }
        backup_manifests_free(list, n);
    }
    meta *m = NULL;
    if (mp[0] && meta_open(mp, &m, &err) != VT_OK) {
        fprintf(stderr, "volta backup: %s (the catalog is left as is)\n", err.msg);
        m = NULL;
    }
    backup_expire_result res;
    rc = backup_expire(repo, m, keep, days, 0, false, &res, &err);
    meta_close(m);
    if (rc != VT_OK) {
        fprintf(stderr, "volta backup: %s\n", err.msg);
        backup_expire_result_free(&res);
        return 1;
    }
    printf("expired %zu backup(s), deleted %" PRIu64 " objects (%.1f MB); %zu kept\n",
           res.nexpired, res.objects_deleted, (double)res.bytes_freed / 1e6, res.kept);
    backup_expire_result_free(&res);
    return 0;
}

static bool parse_uint(const char *s, unsigned *out)
{
    char *end = NULL;
    unsigned long v = strtoul(s, &end, 10);
    if (!s[0] || *end || v > 1000000 || s[0] == '-')
        return false;
    *out = (unsigned)v;
    return true;
}

int cmd_backup(int argc, char **argv)
{
    const char *host = NULL, *data = NULL, *repo = NULL, *verb = NULL, *id = NULL;
    bool full = false, json = false, yes = false, have_keep = false;
    unsigned keep = 0, days = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool val = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            backup_usage(stdout);
            return 0;
        } else if (strcmp(a, "--full") == 0) {
            full = true;
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--yes") == 0 || strcmp(a, "-y") == 0) {
            yes = true;
        } else if (strcmp(a, "--repo") == 0 && val) {
            repo = argv[++i];
        } else if (strcmp(a, "--host") == 0 && val) {
            host = argv[++i];
        } else if (strcmp(a, "--data") == 0 && val) {
            data = argv[++i];
        } else if (strcmp(a, "--keep") == 0 && val) {
            have_keep = true;
            if (!parse_uint(argv[++i], &keep)) {
                fprintf(stderr, "volta backup: --keep wants a number: %s\n", argv[i]);
                return 2;
            }
        } else if (strcmp(a, "--keep-days") == 0 && val) {
            if (!parse_uint(argv[++i], &days)) {
                fprintf(stderr, "volta backup: --keep-days wants a number: %s\n", argv[i]);
                return 2;
            }
        } else if (a[0] == '-') {
            fprintf(stderr, "volta backup: unknown option or missing value: %s\n\n", a);
            backup_usage(stderr);
            return 2;
        } else if (!verb) {
            verb = a;
        } else if (!id) {
            id = a;
        } else {
            fprintf(stderr, "volta backup: unexpected argument '%s'\n\n", a);
            backup_usage(stderr);
            return 2;
        }
    }
    if (!verb)
        verb = "create";
    const char *problem = NULL;
    bool create = strcmp(verb, "create") == 0;
    if (!create && strcmp(verb, "list") != 0 && strcmp(verb, "verify") != 0 &&
        strcmp(verb, "expire") != 0)
        problem = "expected create, list, verify or expire";
    else if (!repo)
        problem = "--repo DIR is required";
    else if (id && strcmp(verb, "verify") != 0)
        problem = "only verify takes a backup id";
    else if (create && host && data)
        problem = "--host and --data exclude each other";
    else if (strcmp(verb, "expire") == 0 && !have_keep)
        problem = "expire needs --keep N";
    else if (strcmp(verb, "expire") == 0 && keep == 0 && days == 0)
        problem = "--keep 0 needs --keep-days D (expire never deletes every backup)";
    if (problem) {
        fprintf(stderr, "volta backup: %s\n\n", problem);
        backup_usage(stderr);
        return 2;
    }
    if (create)
        return data ? create_offline(data, repo, full)
                    : create_remote(host ? host : DEFAULT_HOST, repo, full);
    if (strcmp(verb, "list") == 0)
        return do_list(repo, json);
    if (strcmp(verb, "verify") == 0)
        return do_verify(repo, id);
    return do_expire(repo, data, keep, days, yes);
}
