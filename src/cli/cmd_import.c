/*
 * volta import --data DIR | --host URL --db NAME [--rp RP] [--format lp|json] [--batch N]
 *              [--create-db] [--quiet] FILE|-
 *
 * Streams line protocol or the runbook's JSON (ops/import.h; gzip'ed input is recognised by its
 * magic bytes) into a data directory not in use by a server (node_write) or into a running
 * server (POST /write?db=&rp=&precision=ns), in batches of N points (1000). A progress line on a
 * terminal; a summary at the end. Exit 1 when points were rejected, the input is malformed or
 * the JSON's data_count does not match what was read (after writing what was read).
 */
#include <curl/curl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_http.h"
#include "common/buf.h"
#include "core/node.h"
#include "ops/import.h"

static void import_usage(FILE *out)
{
    fprintf(out,
            "usage: volta import (--data DIR | --host URL) --db NAME [--rp RP]\n"
            "                    [--format lp|json] [--batch N] [--create-db] [--quiet] FILE|-\n\n"
            "Loads line protocol or JSON {\"data\":[...],\"data_count\":N} (from volta export;\n"
            "gzip'ed or not) in batches of N points (default 1000).\n"
            "  --data DIR     a data directory not in use by a server\n"
            "  --host URL     a running server (POST /write)\n"
            "  --format       lp or json (default: detected from the first byte)\n"
            "  --create-db    create the database first\n");
}

/* ---- writing to a server ---- */

typedef struct http_writer {
    CURL *c;
    char *url;
    vt_buf resp;
    struct curl_slist *hdr;
} http_writer;

static size_t http_resp(char *p, size_t sz, size_t n, void *ctx)
{
    vt_buf *b = ctx;
    if (b->len < 65536)
        vt_buf_append(b, p, sz * n);
    return sz * n;
}

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static vt_rc write_http(void *ctx, const char *lp, size_t len, size_t npoints, size_t *accepted,
                        vt_err *err)
{
    http_writer *w = ctx;
    vt_buf_reset(&w->resp);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(w->c, CURLOPT_URL, w->url);
    curl_easy_setopt(w->c, CURLOPT_POST, 1L);
    curl_easy_setopt(w->c, CURLOPT_POSTFIELDS, lp);
    curl_easy_setopt(w->c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(w->c, CURLOPT_HTTPHEADER, w->hdr);
    curl_easy_setopt(w->c, CURLOPT_WRITEFUNCTION, http_resp);
    curl_easy_setopt(w->c, CURLOPT_WRITEDATA, &w->resp);
    curl_easy_setopt(w->c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(w->c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(w->c, CURLOPT_TIMEOUT, 300L);
    curl_easy_setopt(w->c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(w->c, CURLOPT_USERAGENT, "volta-cli/" VOLTA_VERSION);
    CURLcode cc = curl_easy_perform(w->c);
    *accepted = 0;
    if (cc != CURLE_OK)
        return vt_err_set(err, VT_EIO, "POST %s: %s", w->url,
                          errbuf[0] ? errbuf : curl_easy_strerror(cc));
    long status = 0;
    curl_easy_getinfo(w->c, CURLINFO_RESPONSE_CODE, &status);
    const char *body = vt_buf_cstr(&w->resp);
    if (status == 204 || status == 200) {
        *accepted = npoints;
        return VT_OK;
    }
    if (status == 400) {
        /* partial write: InfluxDB-compatible servers write the lines that parse; the body
         * names each line that did not ("unable to parse") or a count ("dropped=N") */
        size_t bad = count_of(body, "unable to parse");
        const char *d = strstr(body, "dropped=");
        if (bad == 0 && d)
            bad = (size_t)strtoull(d + 8, NULL, 10);
        if (bad == 0 || bad > npoints)
            bad = npoints;
        *accepted = npoints - bad;
        return vt_err_set(err, VT_EPARSE, "%s", body);
    }
    return vt_err_set(err, status == 404 ? VT_ENOTFOUND : VT_EIO, "POST /write answered %ld: %s",
                      status, body);
}

static int create_db_http(const char *host, const char *db)
{
    vt_buf q, url, resp;
    vt_buf_init(&q);
    vt_buf_init(&url);
    vt_buf_init(&resp);
    vt_buf_printf(&q, "q=");
    CURL *c = curl_easy_init();
    vt_buf stmt;
    vt_buf_init(&stmt);
    vt_buf_printf(&stmt, "CREATE DATABASE \"");
    for (const char *p = db; *p; p++) {
        if (*p == '"' || *p == '\\')
            vt_buf_putc(&stmt, '\\');
        vt_buf_putc(&stmt, (uint8_t)*p);
    }
    vt_buf_putc(&stmt, '"');
    char *e = c ? curl_easy_escape(c, vt_buf_cstr(&stmt), 0) : NULL;
    vt_buf_printf(&q, "%s", e ? e : "");
    curl_free(e);
    if (c)
        curl_easy_cleanup(c);
    vt_buf_printf(&url, "%s/query", host);
    long status = 0;
    char errbuf[256];
    int rc = cli_http("POST", vt_buf_cstr(&url), (const char *)q.data, q.len,
                      "application/x-www-form-urlencoded", 60, &resp, &status, errbuf);
    int out = 0;
    if (rc != 0) {
        fprintf(stderr, "volta import: %s: %s\n", host, errbuf);
        out = 3;
    } else if (status != 200 || strstr(vt_buf_cstr(&resp), "\"error\"")) {
        fprintf(stderr, "volta import: CREATE DATABASE answered %ld: %s\n", status,
                vt_buf_cstr(&resp));
        out = 3;
    }
    vt_buf_free(&q);
    vt_buf_free(&url);
    vt_buf_free(&resp);
    vt_buf_free(&stmt);
    return out;
}

/* ---- progress ---- */

typedef struct progress {
    bool tty;
    struct timespec start, last;
} progress;

static double since(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void show_progress(void *ctx, const import_stats *st)
{
    progress *p = ctx;
    if (!p->tty)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (since(&p->last, &now) < 0.2)
        return;
    p->last = now;
    double el = since(&p->start, &now);
    fprintf(stderr,
            "\rvolta import: %" PRIu64 " points in %" PRIu64 " batches, %.1f MB read, "
            "%.0f points/s   ",
            st->points_written, st->batches, (double)st->bytes_in / 1e6,
            el > 0 ? (double)st->points_written / el : 0.0);
}

int cmd_import(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"data", required_argument, NULL, 'd'},   {"host", required_argument, NULL, 'H'},
        {"db", required_argument, NULL, 'b'},     {"rp", required_argument, NULL, 'r'},
        {"format", required_argument, NULL, 'f'}, {"batch", required_argument, NULL, 'n'},
        {"create-db", no_argument, NULL, 'c'},    {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},         {0}};
    const char *datadir = NULL, *host = NULL, *db = NULL, *rp = NULL;
    bool create = false, quiet = false;
    import_options o = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': datadir = optarg; break;
        case 'H': host = optarg; break;
        case 'b': db = optarg; break;
        case 'r': rp = optarg; break;
        case 'f':
            if (!ops_format_parse(optarg, &o.format)) {
                fprintf(stderr, "volta import: --format must be lp or json, not '%s'\n", optarg);
                return 2;
            }
            break;
        case 'n': {
            char *end;
            long long v = strtoll(optarg, &end, 10);
            if (*end || v < 1 || v > 10000000) {
                fprintf(stderr, "volta import: --batch must be 1..10000000, not '%s'\n", optarg);
                return 2;
            }
            o.batch_points = (size_t)v;
            break;
        }
        case 'c': create = true; break;
        case 'q': quiet = true; break;
        case 'h': import_usage(stdout); return 0;
        default: import_usage(stderr); return 2;
        }
    }
    if (optind != argc - 1 || (!datadir == !host) || !db || !db[0]) {
        import_usage(stderr);
        return 2;
    }
    const char *path = argv[optind];
    FILE *in = stdin;
    if (strcmp(path, "-") != 0 && !(in = fopen(path, "rb"))) {
        fprintf(stderr, "volta import: cannot open %s: %m\n", path);
        return 2;
    }
    progress prog = {.tty = !quiet && isatty(STDERR_FILENO)};
    clock_gettime(CLOCK_MONOTONIC, &prog.start);
    prog.last = prog.start;
    o.progress = show_progress;
    o.progress_ctx = &prog;
    int status = 0;
    vt_err err;
    vt_err_clear(&err);
    node *n = NULL;
    import_node_ctx nctx = {NULL, db, rp};
    http_writer hw = {0};
    vt_buf_init(&hw.resp);
    if (datadir) {
        node_options nopts;
        node_options_default(&nopts);
        nopts.engine.background = false;
        vt_rc rc = node_open(datadir, &nopts, &n, NULL, &err);
        if (rc != VT_OK) {
            fprintf(stderr, "volta import: %s\n", err.msg);
            status = vt_rc_exit_code(rc);
            goto done;
        }
        if (create && (rc = node_create_db(n, db, &err)) != VT_OK) {
            fprintf(stderr, "volta import: creating %s: %s\n", db, err.msg);
            status = vt_rc_exit_code(rc);
            goto done;
        }
        nctx.node = n;
        o.write = import_write_node;
        o.write_ctx = &nctx;
        o.field_type = import_node_field_type;
        o.field_type_ctx = &nctx;
    } else {
        size_t hl = strlen(host);
        while (hl > 0 && host[hl - 1] == '/')
            hl--;
        char *h = strndup(host, hl);
        hw.c = curl_easy_init();
        if (!h || !hw.c) {
            free(h);
            fprintf(stderr, "volta import: cannot initialise libcurl\n");
            status = 3;
            goto done;
        }
        if (create && (status = create_db_http(h, db)) != 0) {
            free(h);
            goto done;
        }
        char *edb = curl_easy_escape(hw.c, db, 0);
        char *erp = curl_easy_escape(hw.c, rp ? rp : "", 0);
        if (asprintf(&hw.url, "%s/write?db=%s&rp=%s&precision=ns", h, edb ? edb : "",
                     erp ? erp : "") < 0)
            hw.url = NULL;
        curl_free(edb);
        curl_free(erp);
        free(h);
        hw.hdr = cli_http_auth_header(
            curl_slist_append(NULL, "Content-Type: text/plain; charset=utf-8"));
        if (!hw.url) {
            status = 3;
            goto done;
        }
        o.write = write_http;
        o.write_ctx = &hw;
    }
    import_stats st;
    vt_rc rc = import_run(import_read_file, in, &o, &st, &err);
    if (prog.tty)
        fprintf(stderr, "\n");
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!quiet || rc != VT_OK)
        fprintf(stderr,
                "volta import: %s%s: %" PRIu64 " points read, %" PRIu64 " written, %" PRIu64
                " rejected, %" PRIu64 " batches, %.1f s\n",
                st.format == OPS_FORMAT_JSON ? "json" : "line protocol", st.gzip ? " (gzip)" : "",
                st.points_read, st.points_written, st.points_rejected, st.batches,
                since(&prog.start, &now));
    if (st.has_data_count && !quiet)
        fprintf(stderr, "volta import: data_count %" PRIu64 "%s\n", st.data_count,
                st.data_count == st.points_read ? " (matches)" : " (MISMATCH)");
    if (rc != VT_OK) {
        fprintf(stderr, "volta import: %s\n", err.msg);
        status = rc == VT_EPARSE || rc == VT_ETYPE ? 1 : vt_rc_exit_code(rc);
    }
done:
    if (n && node_close(n, &err) != VT_OK && status == 0) {
        fprintf(stderr, "volta import: closing: %s\n", err.msg);
        status = 3;
    }
    if (hw.c)
        curl_easy_cleanup(hw.c);
    curl_slist_free_all(hw.hdr);
    free(hw.url);
    vt_buf_free(&hw.resp);
    if (in != stdin)
        fclose(in);
    return status;
}
