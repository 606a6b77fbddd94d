/*
 * volta export --data DIR | --host URL --db NAME [--rp RP] [--measurement M]... [--start T]
 *              [--end T] [--format lp|json] [--gzip] [--out FILE|-]
 *
 * Streams a database as line protocol or the runbook's JSON (ops/export.h), from a data
 * directory not in use by a server (opened here: its journal is replayed as `volta serve`
 * would) or from a running server (GET /api/v1/export). --out FILE is written as FILE.tmp and
 * renamed when complete (a device or fifo is written directly); a name ending in .gz means --gzip.
 * Without --db (data directory, line protocol only) every database is written, each after its `#
 * database: NAME` line.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_http.h"
#include "common/buf.h"
#include "core/node.h"
#include "ops/export.h"

static void export_usage(FILE *out)
{
    fprintf(out,
            "usage: volta export (--data DIR | --host URL) --db NAME [--rp RP]\n"
            "                    [--measurement M[,M2...]]... [--start T] [--end T]\n"
            "                    [--format lp|json] [--gzip] [--out FILE|-]\n\n"
            "Streams a database as line protocol (one line per point, every field of the\n"
            "series at that time, ns timestamps) or as JSON {\"data\":[...],\"data_count\":N}.\n"
            "  --data DIR     a data directory not in use by a server\n"
            "  --host URL     a running server (GET /api/v1/export)\n"
            "  --start/--end  inclusive bounds: ns since the epoch, RFC3339 or YYYY-MM-DD\n"
            "  --gzip         compress (implied by an --out name ending in .gz)\n"
            "  --out FILE     write to FILE (via FILE.tmp, renamed when complete); default stdout\n"
            "Without --db, --data and line protocol: every database.\n");
}

typedef struct file_sink {
    FILE *f;
    bool failed;
} file_sink;

static bool sink_file(void *ctx, const uint8_t *data, size_t len)
{
    file_sink *s = ctx;
    if (fwrite(data, 1, len, s->f) != len) {
        s->failed = true;
        return false;
    }
    return true;
}

typedef struct name_vec {
    char **v;
    size_t n;
} name_vec;

static bool add_names(name_vec *nv, const char *list)
{
    char *copy = strdup(list);
    if (!copy)
        return false;
    for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!*t)
            continue;
        char **v = realloc(nv->v, (nv->n + 1) * sizeof *v);
        if (!v || !(v[nv->n] = strdup(t))) {
            if (v)
                nv->v = v;
            free(copy);
            return false;
        }
        nv->v = v;
        nv->n++;
    }
    free(copy);
    return true;
}

static void names_free(name_vec *nv)
{
    for (size_t i = 0; i < nv->n; i++)
        free(nv->v[i]);
    free(nv->v);
}

typedef struct db_list {
    name_vec names;
    bool oom;
} db_list;

static void collect_db(void *ctx, const char *name)
{
    db_list *l = ctx;
    if (!l->oom && !add_names(&l->names, name))
        l->oom = true;
}

/* ---- from a server ---- */

typedef struct http_sink {
    CURL *c;
    FILE *f;
    long status;
    vt_buf errbody;
    uint64_t bytes;
    bool failed;
} http_sink;

static size_t http_body(char *p, size_t sz, size_t n, void *ctx)
{
    http_sink *h = ctx;
    size_t len = sz * n;
    if (h->status == 0)
        curl_easy_getinfo(h->c, CURLINFO_RESPONSE_CODE, &h->status);
    if (h->status != 200) {
        if (h->errbody.len < 4096)
            vt_buf_append(&h->errbody, p, len);
        return len;
    }
    if (fwrite(p, 1, len, h->f) != len) {
        h->failed = true;
        return 0;
    }
    h->bytes += len;
    return len;
}

static void url_param(vt_buf *u, CURL *c, const char *key, const char *val)
{
    if (!val || !val[0])
        return;
    char *e = curl_easy_escape(c, val, 0);
    vt_buf_printf(u, "&%s=%s", key, e ? e : "");
    curl_free(e);
}

static int export_http(const char *host, const export_options *o, const char *mlist,
                       const char *start, const char *end, FILE *f)
{
    http_sink h = {0};
    vt_buf_init(&h.errbody);
    h.f = f;
    h.c = curl_easy_init();
    if (!h.c) {
        fprintf(stderr, "volta export: cannot initialise libcurl\n");
        return 3;
    }
    vt_buf url;
    vt_buf_init(&url);
    size_t hl = strlen(host);
    while (hl > 0 && host[hl - 1] == '/')
        hl--;
    vt_buf_printf(&url, "%.*s/api/v1/export?format=%s", (int)hl, host,
                  o->format == OPS_FORMAT_JSON ? "json" : "lp");
    url_param(&url, h.c, "db", o->db);
    url_param(&url, h.c, "rp", o->rp);
    url_param(&url, h.c, "measurement", mlist);
    url_param(&url, h.c, "start", start);
    url_param(&url, h.c, "end", end);
    if (o->gzip)
        vt_buf_printf(&url, "&gzip=true");
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h.c, CURLOPT_URL, vt_buf_cstr(&url));
    curl_easy_setopt(h.c, CURLOPT_WRITEFUNCTION, http_body);
    curl_easy_setopt(h.c, CURLOPT_WRITEDATA, &h);
    curl_easy_setopt(h.c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h.c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h.c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h.c, CURLOPT_USERAGENT, "volta-cli/" VOLTA_VERSION);
    struct curl_slist *auth_hdr = cli_http_auth_header(NULL);
    if (auth_hdr)
        curl_easy_setopt(h.c, CURLOPT_HTTPHEADER, auth_hdr);
    CURLcode cc = curl_easy_perform(h.c);
    curl_slist_free_all(auth_hdr);
    int status = 0;
    if (cc == CURLE_OK)
        curl_easy_getinfo(h.c, CURLINFO_RESPONSE_CODE, &h.status);
    if (h.failed) {
        fprintf(stderr, "volta export: writing the output failed\n");
        status = 3;
    } else if (cc != CURLE_OK) {
        fprintf(stderr, "volta export: %s: %s\n", host,
                errbuf[0] ? errbuf : curl_easy_strerror(cc));
        status = 3;
    } else if (h.status != 200) {
        fprintf(stderr, "volta export: the server answered %ld: %s\n", h.status,
                vt_buf_cstr(&h.errbody));
        status = h.status == 404 ? 1 : h.status == 400 ? 2 : 3;
    } else {
        fprintf(stderr, "volta export: %" PRIu64 " bytes from %s\n", h.bytes, host);
    }
    vt_buf_free(&url);
    vt_buf_free(&h.errbody);
    curl_easy_cleanup(h.c);
    return status;
}

/* ---- from a data directory ---- */

static int export_dir(const char *datadir, export_options *o, FILE *f)
{
    node_options nopts;
    node_options_default(&nopts);
    nopts.engine.background = false;
    node *n = NULL;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = node_open(datadir, &nopts, &n, NULL, &err);
    if (rc != VT_OK) {
        fprintf(stderr, "volta export: %s\n", err.msg);
        return vt_rc_exit_code(rc);
    }
    db_list dbs = {0};
    if (o->db) {
        if (!add_names(&dbs.names, o->db))
            dbs.oom = true;
    } else {
        engine_list_dbs(node_engine(n), collect_db, &dbs);
    }
    file_sink sink = {f, false};
    export_stats total = {0};
    int status = 0;
    if (dbs.oom) {
        fprintf(stderr, "volta export: out of memory\n");
        status = vt_rc_exit_code(VT_ENOMEM);
    }
    for (size_t i = 0; i < dbs.names.n && status == 0; i++) {
        o->db = dbs.names.v[i];
        export_stats st;
        rc = export_run(n, o, sink_file, &sink, &st, &err);
        total.points += st.points;
        total.series += st.series;
        total.bytes += st.bytes;
        if (rc != VT_OK) {
            fprintf(stderr, "volta export: %s%s\n", err.msg,
                    sink.failed ? " (writing the output failed)" : "");
            status = vt_rc_exit_code(rc);
        }
    }
    names_free(&dbs.names);
    if (node_close(n, &err) != VT_OK && status == 0) {
        fprintf(stderr, "volta export: closing: %s\n", err.msg);
        status = 3;
    }
    fprintf(stderr, "volta export: %" PRIu64 " points, %" PRIu64 " series, %" PRIu64 " bytes\n",
            total.points, total.series, total.bytes);
    return status;
}

int cmd_export(int argc, char **argv)
{
    static const struct option longopts[] = {{"data", required_argument, NULL, 'd'},
                                             {"host", required_argument, NULL, 'H'},
                                             {"db", required_argument, NULL, 'b'},
                                             {"rp", required_argument, NULL, 'r'},
                                             {"measurement", required_argument, NULL, 'm'},
                                             {"start", required_argument, NULL, 's'},
                                             {"end", required_argument, NULL, 'e'},
                                             {"format", required_argument, NULL, 'f'},
                                             {"gzip", no_argument, NULL, 'z'},
                                             {"out", required_argument, NULL, 'o'},
                                             {"help", no_argument, NULL, 'h'},
                                             {0}};
    const char *datadir = NULL, *host = NULL, *out = NULL, *start = NULL, *end = NULL;
    export_options o;
    export_options_default(&o);
    name_vec ms = {0};
    vt_buf mlist;
    vt_buf_init(&mlist);
    int status = 2;
    int c;
    vt_err err;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': datadir = optarg; break;
        case 'H': host = optarg; break;
        case 'b': o.db = optarg; break;
        case 'r': o.rp = optarg; break;
        case 'm':
            if (!add_names(&ms, optarg)) {
                fprintf(stderr, "volta export: out of memory\n");
                goto done;
            }
            vt_buf_printf(&mlist, "%s%s", mlist.len ? "," : "", optarg);
            break;
        case 's':
        case 'e':
            if (export_parse_time(optarg, c == 's' ? &o.tmin : &o.tmax, &err) != VT_OK) {
                fprintf(stderr, "volta export: --%s: %s\n", c == 's' ? "start" : "end", err.msg);
                goto done;
            }
            if (c == 's')
                start = optarg;
            else
                end = optarg;
            break;
        case 'f':
            if (!ops_format_parse(optarg, &o.format)) {
                fprintf(stderr, "volta export: --format must be lp or json, not '%s'\n", optarg);
                goto done;
            }
            break;
        case 'z': o.gzip = true; break;
        case 'o': out = optarg; break;
        case 'h':
            export_usage(stdout);
            status = 0;
            goto done;
        default: export_usage(stderr); goto done;
        }
    }
    if (optind != argc || (!datadir == !host)) {
        export_usage(stderr);
        goto done;
    }
    if (!o.db && (host || o.format == OPS_FORMAT_JSON)) {
        fprintf(stderr, "volta export: --db is required%s\n",
                host ? " with --host" : " for --format json");
        goto done;
    }
    o.measurements = (const char *const *)ms.v;
    o.nmeasurements = ms.n;
    bool to_stdout = !out || strcmp(out, "-") == 0;
    size_t olen = to_stdout ? 0 : strlen(out);
    if (olen > 3 && strcmp(out + olen - 3, ".gz") == 0)
        o.gzip = true;
    if (to_stdout && o.gzip && isatty(STDOUT_FILENO)) {
        fprintf(stderr, "volta export: not writing gzip to a terminal (use --out FILE)\n");
        goto done;
    }
    char *tmp = NULL;
    FILE *f = stdout;
    struct stat sb;
    if (!to_stdout && stat(out, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        /* a device or a pipe (/dev/null, a fifo): written directly, never replaced */
        if (!(f = fopen(out, "wb"))) {
            fprintf(stderr, "volta export: cannot open %s: %m\n", out);
            status = 3;
            goto done;
        }
        status = host ? export_http(host, &o, vt_buf_cstr(&mlist), start, end, f)
                      : export_dir(datadir, &o, f);
        if (fclose(f) != 0 && status == 0)
            status = 3;
        goto done;
    }
    if (!to_stdout) {
        if (asprintf(&tmp, "%s.tmp", out) < 0 || !(f = fopen(tmp, "wb"))) {
            fprintf(stderr, "volta export: cannot create %s: %m\n", tmp ? tmp : out);
            free(tmp);
            status = 3;
            goto done;
        }
    }
    status = host ? export_http(host, &o, vt_buf_cstr(&mlist), start, end, f)
                  : export_dir(datadir, &o, f);
    if (fflush(f) != 0 && status == 0) {
        fprintf(stderr, "volta export: writing the output failed: %m\n");
        status = 3;
    }
    if (!to_stdout) {
        if (fsync(fileno(f)) != 0 && status == 0)
            status = 3;
        if (fclose(f) != 0 && status == 0)
            status = 3;
        if (status == 0 && rename(tmp, out) != 0) {
            fprintf(stderr, "volta export: rename %s: %m\n", out);
            status = 3;
        }
        if (status != 0)
            unlink(tmp);
        free(tmp);
    }
done:
    names_free(&ms);
    vt_buf_free(&mlist);
    return status;
}
