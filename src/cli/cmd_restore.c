/*
 * cli/cmd_restore.c — `volta restore`: a snapshot or a backup into a new data directory
 * (ops/restore.h does the work), or into a database of a running server: restored into a
 * temporary directory, then exported (ops/export.h) and written through POST /write in batches
 * (an existing database is merged into: last write wins per series and time).
 */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_http.h"
#include "common/buf.h"
#include "core/node.h"
#include "ops/export.h"
#include "ops/restore.h"

#define DEFAULT_HOST "http://127.0.0.1:8086"
#define DEFAULT_BATCH 1000 /* the runbook's batch size */

static void restore_usage(FILE *out)
{
    fprintf(out,
            "usage: volta restore [ID] (--repo DIR | --data DIR | --snapshot-dir PATH)\n"
            "                     [--to DIR [--replace [--yes]] | --to-db NAME [--host URL]\n"
            "                      [--db SOURCE] [--batch N]]\n"
            "                     [--until TIME [--allow-partial]] [--threads N] [--full-verify]\n"
            "\n"
            "Restores backup or snapshot ID (default: the newest; with --until, the newest\n"
            "taken at or before TIME) into a new data directory, copies the files in parallel,\n"
            "then verifies the result (hashes against the backup manifest, then the directory\n"
            "opened as a node: journal replayed, every segment block and journal record\n"
            "checked against its CRC32C).\n"
            "\n"
            "  --repo DIR          a backup repository (ID is a backup)\n"
            "  --data DIR          the data directory whose snapshot catalog holds ID\n"
            "  --snapshot-dir P    a snapshot directory (its SNAPSHOT file names it)\n"
            "  --to DIR            the new data directory (default: <source>-restore-<ID>);\n"
            "                      a non-empty one is refused unless --replace\n"
            "  --replace           move the existing DIR aside to DIR.replaced-<time> once the\n"
            "                      restore is verified (asks `Substituir DIR? (sim/nao)`)\n"
            "  --yes               do not ask (automation)\n"
            "  --until TIME        point in time (RFC3339 or ns): journal records up to TIME,\n"
            "                      continued from later backups' archived journal\n"
            "  --allow-partial     exit 0 when the archive stops before TIME (a gap)\n"
            "  --to-db NAME        write the restored points into database NAME of the server\n"
            "                      at --host (created if missing; merged if it exists)\n"
            "  --db SOURCE         with --to-db: only this database of the source\n"
            "  --batch N           with --to-db: points per POST /write (default %d)\n"
            "  --threads N         copy workers (default 4)\n"
            "  --full-verify       also decode every block and check it against its index\n"
            "                      entry and pre-aggregates (about 10x the CPU; what `volta\n"
            "                      verify` does)\n"
            "\n"
            "Exit status: 0 restored and verified; 1 failed, failed verification, or partial;\n"
            "2 bad usage.\n",
            DEFAULT_BATCH);
}

/* ---- progress and confirmation ---- */

static void show_copy_progress(void *ctx, const restore_progress *p)
{
    (void)ctx;
    double mb = (double)p->bytes_done / 1e6;
    fprintf(stderr, "\rvolta restore: %" PRIu64 "/%" PRIu64 " files, %.1f/%.1f MB, %.1f MB/s   %s",
            p->files_done, p->files_total, mb, (double)p->bytes_total / 1e6,
            p->seconds > 0 ? mb / p->seconds : 0.0, p->done ? "\n" : "");
    fflush(stderr);
}

static bool confirm(const char *dir)
{
    fprintf(stderr, "Substituir %s? (sim/nao) ", dir);
    fflush(stderr);
    char line[64];
    if (!fgets(line, sizeof line, stdin))
        return false;
    line[strcspn(line, "\r\n")] = '\0';
    return strcmp(line, "sim") == 0 || strcmp(line, "s") == 0 || strcmp(line, "yes") == 0 ||
           strcmp(line, "y") == 0;
}

static void fmt_time(int64_t ns, char *out, size_t cap)
{
    if (ns <= 0) {
        snprintf(out, cap, "unknown");
        return;
    }
    time_t sec = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%s.%09" PRId64 "Z", base, ns % 1000000000);
}

/* ---- into a live server ---- */

typedef struct db_writer {
    const char *host, *db, *rp;
    size_t batch;
    vt_buf pending;    /* complete lines not yet sent */
    size_t lines;      /* in pending */
    vt_buf partial;    /* the line being received */
    int section;       /* 0 key, 1 fields, 2 timestamp; -1 comment */
    bool in_string, escaped;
    uint64_t written;
    uint64_t batches;
    bool tty;
    char error[768];
} db_writer;

static char *url_escape(const char *s)
{
    CURL *c = curl_easy_init();
    char *e = c ? curl_easy_escape(c, s, 0) : NULL;
    char *out = e ? strdup(e) : NULL;
    curl_free(e);
    if (c)
        curl_easy_cleanup(c);
    return out;
}

static bool post_batch(db_writer *w)
{
    if (w->lines == 0)
        return true;
    char *edb = url_escape(w->db), *erp = w->rp ? url_escape(w->rp) : NULL;
    vt_buf url, resp;
    vt_buf_init(&url);
    vt_buf_init(&resp);
    vt_buf_printf(&url, "%s/write?db=%s&precision=ns", w->host, edb ? edb : "");
    if (erp)
        vt_buf_printf(&url, "&rp=%s", erp);
    long status = 0;
    char errbuf[512];
    int rc = cli_http("POST", vt_buf_cstr(&url), (const char *)w->pending.data, w->pending.len,
                      "text/plain; charset=utf-8", 120, &resp, &status, errbuf);
    bool ok = rc == 0 && status == 204;
    if (rc != 0)
        snprintf(w->error, sizeof w->error, "%s: %s", w->host, errbuf);
    else if (!ok)
        snprintf(w->error, sizeof w->error, "POST /write?db=%s answered %ld: %s", w->db, status,
                 vt_buf_cstr(&resp));
    if (ok) {
        w->written += w->lines;
        w->batches++;
        if (w->tty) {
            fprintf(stderr, "\rvolta restore: %" PRIu64 " points written to %s   ", w->written,
                    w->db);
            fflush(stderr);
        }
    }
    vt_buf_reset(&w->pending);
    w->lines = 0;
    free(edb);
    free(erp);
    vt_buf_free(&url);
    vt_buf_free(&resp);
    return ok;
}

/* Splits the export stream into points: a newline ends one unless it is inside a string field
 * (line protocol lets a string span lines); comment lines are dropped. */
static bool sink_points(void *ctx, const uint8_t *data, size_t len)
{
    db_writer *w = ctx;
    for (size_t i = 0; i < len; i++) {
        uint8_t ch = data[i];
        if (w->partial.len == 0 && w->section == 0 && ch == '#')
            w->section = -1;
        if (w->section != -1)
            vt_buf_putc(&w->partial, ch);
        if (w->escaped) {
            w->escaped = false;
            continue;
        }
        if (ch == '\\' && w->section != -1) {
            w->escaped = true;
            continue;
        }
        if (w->in_string) {
            if (ch == '"')
                w->in_string = false;
            continue;
        }
        if (ch == '"' && w->section == 1) {
            w->in_string = true;
        } else if (ch == ' ' && w->section >= 0 && w->section < 2) {
            w->section++;
        } else if (ch == '\n') {
            if (w->section != -1 && w->partial.len > 1) {
                vt_buf_append(&w->pending, w->partial.data, w->partial.len);
                w->lines++;
            }
            vt_buf_reset(&w->partial);
            w->section = 0;
            if (w->lines >= w->batch && !post_batch(w))
                return false;
        }
    }
    return !w->pending.oom && !w->partial.oom;
}

static bool run_query(const char *host, const char *stmt, char *error, size_t cap)
{
    char *e = url_escape(stmt);
    vt_buf body, url, resp;
    vt_buf_init(&body);
    vt_buf_init(&url);
    vt_buf_init(&resp);
    vt_buf_printf(&body, "q=%s", e ? e : "");
    vt_buf_printf(&url, "%s/query", host);
    long status = 0;
    char errbuf[512];
    int rc = cli_http("POST", vt_buf_cstr(&url), (const char *)body.data, body.len,
                      "application/x-www-form-urlencoded", 60, &resp, &status, errbuf);
    bool ok = rc == 0 && status == 200 && !strstr(vt_buf_cstr(&resp), "\"error\"");
    if (rc != 0)
        snprintf(error, cap, "%s: %s", host, errbuf);
    else if (!ok)
        snprintf(error, cap, "%s answered %ld: %s", stmt, status, vt_buf_cstr(&resp));
    free(e);
    vt_buf_free(&body);
    vt_buf_free(&url);
    vt_buf_free(&resp);
    return ok;
}

static void quote_ident(vt_buf *b, const char *name)
{
    vt_buf_putc(b, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"' || *p == '\\')
            vt_buf_putc(b, '\\');
        vt_buf_putc(b, (uint8_t)*p);
    }
    vt_buf_putc(b, '"');
}

static void fmt_duration(vt_buf *b, int64_t ns)
{
    if (ns == 0)
        vt_buf_printf(b, "INF");
    else if (ns % INT64_C(3600000000000) == 0)
        vt_buf_printf(b, "%" PRId64 "h", ns / INT64_C(3600000000000));
    else if (ns % 1000000000 == 0)
        vt_buf_printf(b, "%" PRId64 "s", ns / 1000000000);
    else
        vt_buf_printf(b, "%" PRId64 "ns", ns);
}

typedef struct name_list {
    char **v;
    size_t n;
} name_list;

static void collect_name(void *ctx, const char *name)
{
    name_list *l = ctx;
    char **v = realloc(l->v, (l->n + 1) * sizeof *v);
    if (!v)
        return;
    l->v = v;
    if ((v[l->n] = strdup(name)) != NULL)
        l->n++;
}

/* Writes every point of restored directory dir (databases: only src_db when given) into
 * database to_db of host. */
static int write_to_server(const char *dir, const char *host, const char *to_db,
                           const char *src_db, size_t batch)
{
    node_options no;
    node_options_default(&no);
    no.engine.background = false;
    no.retention = false;
    no.journal_trim = false;
    node *n = NULL;
    vt_err err;
    vt_err_clear(&err);
    if (node_open(dir, &no, &n, NULL, &err) != VT_OK) {
        fprintf(stderr, "volta restore: open %s: %s\n", dir, err.msg);
        return 1;
    }
    char error[1024] = "";
    int exit_code = 0;
    name_list dbs = {0};
    engine_list_dbs(node_engine(n), collect_name, &dbs);
    vt_buf stmt;
    vt_buf_init(&stmt);
    vt_buf_printf(&stmt, "CREATE DATABASE ");
    quote_ident(&stmt, to_db);
    bool found = src_db == NULL;
    uint64_t total = 0;
    if (!run_query(host, vt_buf_cstr(&stmt), error, sizeof error))
        exit_code = 1;
    for (size_t i = 0; exit_code == 0 && i < dbs.n; i++) {
        if (src_db && strcmp(dbs.v[i], src_db) != 0)
            continue;
        found = true;
        record_rpcat cat;
        memset(&cat, 0, sizeof cat);
        if (node_rp_catalog(n, dbs.v[i], &cat, &err) != VT_OK) {
            snprintf(error, sizeof error, "%s", err.msg);
            exit_code = 1;
            break;
        }
        for (size_t r = 0; exit_code == 0 && r < cat.n; r++) {
            const record_rp *rp = &cat.rps[r];
            bool is_default = strcmp(rp->name, cat.default_rp) == 0;
            if (!is_default) {
                /* the policy must exist on the target; "already exists" is fine */
                vt_buf_reset(&stmt);
                vt_buf_printf(&stmt, "CREATE RETENTION POLICY ");
                quote_ident(&stmt, rp->name);
                vt_buf_printf(&stmt, " ON ");
                quote_ident(&stmt, to_db);
                vt_buf_printf(&stmt, " DURATION ");
                fmt_duration(&stmt, rp->duration);
                vt_buf_printf(&stmt, " REPLICATION 1");
                char ignored[1024];
                run_query(host, vt_buf_cstr(&stmt), ignored, sizeof ignored);
            }
            db_writer w;
            memset(&w, 0, sizeof w);
            w.host = host;
            w.db = to_db;
            w.rp = is_default ? NULL : rp->name;
            w.batch = batch;
            w.tty = isatty(STDERR_FILENO);
            vt_buf_init(&w.pending);
            vt_buf_init(&w.partial);
            export_options eo;
            export_options_default(&eo);
            eo.db = dbs.v[i];
            eo.rp = rp->name;
            eo.format = OPS_FORMAT_LP;
            export_stats st;
            vt_rc rc = export_run(n, &eo, sink_points, &w, &st, &err);
            if (rc == VT_OK && !post_batch(&w))
                rc = VT_EIO;
            if (rc != VT_OK) {
                snprintf(error, sizeof error, "%s.%s: %s", dbs.v[i], rp->name,
                         w.error[0] ? w.error : err.msg);
                exit_code = 1;
            }
            if (w.tty)
                fprintf(stderr, "\n");
            printf("wrote %" PRIu64 " points of %s.%s into database %s%s%s in %" PRIu64
                   " batches\n",
                   w.written, dbs.v[i], rp->name, to_db, w.rp ? "." : "", w.rp ? w.rp : "",
                   w.batches);
            total += w.written;
            vt_buf_free(&w.pending);
            vt_buf_free(&w.partial);
        }
        record_rpcat_free(&cat);
    }
    if (exit_code == 0 && !found) {
        snprintf(error, sizeof error, "the restored data has no database %s", src_db);
        exit_code = 1;
    }
    if (exit_code != 0)
        fprintf(stderr, "volta restore: %s\n", error);
    else
        printf("restored %" PRIu64 " points into database %s at %s\n", total, to_db, host);
    for (size_t i = 0; i < dbs.n; i++)
        free(dbs.v[i]);
    free(dbs.v);
    vt_buf_free(&stmt);
    node_close(n, NULL);
    return exit_code;
}

/* ---- the command ---- */

int cmd_restore(int argc, char **argv)
{
    restore_options o;
    restore_options_default(&o);
    const char *to_db = NULL, *host = NULL, *src_db = NULL, *until = NULL;
    bool yes = false, allow_partial = false;
    long batch = DEFAULT_BATCH;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            restore_usage(stdout);
            return 0;
        } else if (strcmp(a, "--replace") == 0) {
            o.replace = true;
        } else if (strcmp(a, "--yes") == 0 || strcmp(a, "-y") == 0) {
            yes = true;
        } else if (strcmp(a, "--allow-partial") == 0) {
            allow_partial = true;
        } else if (strcmp(a, "--repo") == 0 && has) {
            o.repo = argv[++i];
        } else if (strcmp(a, "--data") == 0 && has) {
            o.data = argv[++i];
        } else if (strcmp(a, "--snapshot-dir") == 0 && has) {
            o.snapshot_dir = argv[++i];
        } else if (strcmp(a, "--to") == 0 && has) {
            o.to = argv[++i];
        } else if (strcmp(a, "--to-db") == 0 && has) {
            to_db = argv[++i];
        } else if (strcmp(a, "--host") == 0 && has) {
            host = argv[++i];
        } else if (strcmp(a, "--db") == 0 && has) {
            src_db = argv[++i];
        } else if (strcmp(a, "--full-verify") == 0) {
            o.full_verify = true;
        } else if (strcmp(a, "--until") == 0 && has) {
            until = argv[++i];
        } else if ((strcmp(a, "--threads") == 0 || strcmp(a, "--batch") == 0) && has) {
            char *end = NULL;
            long v = strtol(argv[++i], &end, 10);
            if (!end || *end || v < 1 || v > 1000000) {
                fprintf(stderr, "volta restore: %s wants a positive number\n\n", a);
                restore_usage(stderr);
                return 2;
            }
            if (a[2] == 't')
                o.threads = (unsigned)(v > 64 ? 64 : v);
            else
                batch = v;
        } else if (a[0] == '-') {
            fprintf(stderr, "volta restore: unknown option or missing value: %s\n\n", a);
            restore_usage(stderr);
            return 2;
        } else if (!o.id) {
            o.id = a;
        } else {
            fprintf(stderr, "volta restore: unexpected argument '%s'\n\n", a);
            restore_usage(stderr);
            return 2;
        }
    }
    const char *why = NULL;
    int nsrc = (o.repo != NULL) + (o.data != NULL) + (o.snapshot_dir != NULL);
    if (nsrc != 1)
        why = "give one source: --repo, --data or --snapshot-dir";
    else if (to_db && (o.to || o.replace))
        why = "--to-db writes into a server: it takes no --to or --replace";
    else if (!to_db && (host || src_db))
        why = "--host and --db go with --to-db";
    else if (o.replace && !o.to)
        why = "--replace needs --to DIR";
    if (why) {
        fprintf(stderr, "volta restore: %s\n\n", why);
        restore_usage(stderr);
        return 2;
    }
    if (until) {
        vt_err e;
        vt_err_clear(&e);
        if (export_parse_time(until, &o.until, &e) != VT_OK) {
            fprintf(stderr, "volta restore: --until %s: %s\n", until, e.msg);
            return 2;
        }
        o.has_until = true;
    }
    if (o.replace && !yes && access(o.to, F_OK) == 0) {
        if (!isatty(STDIN_FILENO)) {
            fprintf(stderr, "volta restore: --replace asks for confirmation on a terminal: add "
                            "--yes to run it unattended\n");
            return 2;
        }
        if (!confirm(o.to)) {
            fprintf(stderr, "volta restore: cancelled; %s untouched\n", o.to);
            return 1;
        }
    }
    bool tty = isatty(STDERR_FILENO);
    if (tty) {
        o.progress = show_copy_progress;
    }

    char tmp[4096] = "";
    char target[4200];
    if (to_db) {
        const char *base = getenv("TMPDIR");
        snprintf(tmp, sizeof tmp, "%s/volta-restore-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(tmp)) {
            fprintf(stderr, "volta restore: mkdtemp %s: %s\n", tmp, strerror(errno));
            return 1;
        }
        snprintf(target, sizeof target, "%s/data", tmp);
        o.to = target;
    }

    restore_result res;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = restore_run(&o, &res, &err);
    int exit_code = 0;
    if (rc != VT_OK) {
        fprintf(stderr, "volta restore: %s\n", err.msg);
        exit_code = rc == VT_EINVAL ? 2 : 1;
    } else {
        double mbs = res.copy_seconds > 0 ? (double)res.bytes / 1e6 / res.copy_seconds : 0.0;
        char when[64];
        fmt_time(res.time_last, when, sizeof when);
        printf("restored %" PRIu64 " files, %" PRIu64 " bytes in %.2f s (%.1f MB/s); verified "
               "(%.2f s in all: opening %.2f s, %s and record checks %.2f s)\n",
               res.files, res.bytes, res.copy_seconds, mbs, res.seconds, res.open_seconds,
               o.full_verify ? "block decoding" : "block checksum", res.verify_seconds);
        printf("%s %s -> %s: holds journal seq %" PRIu64 " (time %s), engine checkpoint %"
               PRIu64 "\n",
               res.kind, res.id, to_db ? "(temporary directory)" : res.target, res.seq, when,
               res.checkpoint);
        if (res.chained_records)
            printf("point in time: %" PRIu64 " archived journal records replayed from %u later "
                   "backup(s)\n",
                   res.chained_records, res.chained_backups);
        if (res.replaced[0])
            printf("the previous %s is kept as %s\n", res.target, res.replaced);
        if (res.partial) {
            fprintf(stderr, "volta restore: partial: %s; restored up to seq %" PRIu64
                    " (time %s)\n", res.partial_reason, res.seq, when);
            if (!allow_partial)
                exit_code = 1;
        }
        if (to_db && (exit_code == 0 || allow_partial))
            exit_code = write_to_server(res.target, host ? host : DEFAULT_HOST, to_db, src_db,
                                        (size_t)batch);
    }
    if (tmp[0])
        restore_remove_tree(tmp);
    return exit_code;
}
