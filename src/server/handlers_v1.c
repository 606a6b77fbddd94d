/*
 * server/handlers_v1.c — the InfluxDB 1.x endpoints: /ping, /health, /write, /query.
 * Error bodies follow InfluxDB 1.8 word for word (clients match on them); see docs/API.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>

#include "common/faultinj.h"
#include "query/influxql_exec.h"
#include "query/influxql_parser.h"
#include "query/result.h"
#include "server/metrics.h"
#include "server/server_int.h"

#include "backend/replication.h"
#include "gateway/gateway.h"
#include "ingest/landing.h"

enum MHD_Result http_handle_ping(http_request *rq)
{
    const char *verbose = http_arg(rq, "verbose");
    if (verbose && strcmp(verbose, "true") == 0) {
        vt_buf b;
        vt_buf_init(&b);
        vt_buf_printf(&b, "{\"version\":");
        http_json_cstr(&b, rq->srv->version);
        vt_buf_printf(&b, "}\n");
        return http_respond(rq, 200, &b);
    }
    return http_respond(rq, 204, NULL);
}

enum MHD_Result http_handle_health(http_request *rq)
{
    node *n = rq->srv->node;
    bool failed = node_failed(n);
    vt_buf b;
    vt_buf_init(&b);
    vt_buf_printf(&b, "{\"name\":\"volta\",\"message\":");
    if (!failed)
        http_json_cstr(&b, "ready for queries and writes");
    else if (journal_failed(node_journal(n)))
        http_json_cstr(&b, "journal write or fsync failed: writes are refused until restart");
    else
        http_json_cstr(&b, "storage engine write or fsync failed: writes are refused until "
                           "restart");
    vt_buf_printf(&b, ",\"status\":\"%s\",\"checks\":[],\"version\":", failed ? "fail" : "pass");
    http_json_cstr(&b, rq->srv->version);
    flags *gwf = rq->srv->opts.gateway ? gateway_flags(rq->srv->opts.gateway) : NULL;
    vt_buf_printf(&b, ",\"maintenance\":%s,\"read_backend\":\"%s\"",
                  gwf && flags_maintenance(gwf) ? "true" : "false",
                  gwf && flags_read_backend(gwf) == READ_BACKUP ? "backup" : "primary");
    journal *j = node_journal(n);
    vt_buf_printf(&b, ",\"primary\":{\"type\":\"native\",\"journal_first_seq\":%llu,"
                      "\"journal_last_seq\":%llu}",
                  (unsigned long long)journal_first_seq(j),
                  (unsigned long long)journal_acked_seq(j));
    if (rq->srv->opts.replication) {
        vt_buf_putc(&b, ',');
        replication_health_json(rq->srv->opts.replication, &b);
    }
    if (rq->srv->opts.landing) {
        landing_stats ls;
        landing_get_stats(rq->srv->opts.landing, &ls);
        vt_buf_printf(&b, ",\"landing\":{\"root\":");
        http_json_cstr(&b, landing_root(rq->srv->opts.landing));
        vt_buf_printf(&b, ",\"scans\":%llu,\"files\":%llu,\"loaded\":%llu,\"reloaded\":%llu,"
                          "\"failed\":%llu,\"rows_loaded\":%llu,\"rows_rejected\":%llu}",
                      (unsigned long long)ls.scans, (unsigned long long)ls.files_seen,
                      (unsigned long long)ls.loaded, (unsigned long long)ls.reloaded,
                      (unsigned long long)ls.failed, (unsigned long long)ls.rows_loaded,
                      (unsigned long long)ls.rows_rejected);
    }
    vt_buf_printf(&b, "}\n");
    return http_respond(rq, failed ? 503 : 200, &b);
}

/* ---- /write ---- */

enum MHD_Result http_handle_write(http_request *rq)
{
    http_server *srv = rq->srv;
    const char *db = http_arg(rq, "db");
    if (!db || !db[0]) {
        atomic_fetch_add_explicit(&srv->write_errors, 1, memory_order_relaxed);
        return http_respond_error(rq, 400, "database is required");
    }
    const char *rp = http_arg(rq, "rp");
    const char *ps = http_arg(rq, "precision");
    lp_precision prec = LP_PRECISION_NS;
    if (ps && ps[0] && lp_precision_parse(ps, &prec) != 0) {
        atomic_fetch_add_explicit(&srv->write_errors, 1, memory_order_relaxed);
        char msg[160];
        snprintf(msg, sizeof msg, "invalid precision \"%.64s\" (use n, u, ms, s, m or h)", ps);
        return http_respond_error(rq, 400, msg);
    }
    int64_t now = http_now_ns(); /* the parser floors it to the precision */

    node_write_result res;
    vt_err err;
    vt_err_clear(&err);
    const char *body = rq->body.data ? (const char *)rq->body.data : "";
    vt_rc rc = node_write(srv->node, db, rp ? rp : "", prec, now, body, rq->body.len, &res, &err);
    if (res.points > 0)
        atomic_fetch_add_explicit(&srv->points_written, res.points, memory_order_relaxed);
    if (rc == VT_OK)
        return http_respond(rq, 204, NULL);
    atomic_fetch_add_explicit(&srv->write_errors, 1, memory_order_relaxed);

    char msg[VT_ERR_MSG_MAX + 64];
    switch (rc) {
    case VT_EPARSE:
        if (res.retention_dropped && !res.type_conflict) { /* wins over parse errors */
            snprintf(msg, sizeof msg, "partial write: points beyond retention policy dropped=%zu",
                     res.retention_dropped);
            return http_respond_error(rq, 400, msg);
        }
        if (res.points == 0) /* nothing written: the parse error alone, as InfluxDB does */
            return http_respond_error(rq, 400, res.error[0] ? res.error : err.msg);
        /* some lines were written: a partial write */
        __attribute__((fallthrough));
    case VT_ETYPE:
        snprintf(msg, sizeof msg, "partial write: %s dropped=%zu",
                 res.error[0] ? res.error : err.msg, res.lines_rejected);
        return http_respond_error(rq, 400, msg);
    case VT_ENOTFOUND: /* InfluxDB: an unknown retention policy is a 500, a database a 404 */
        return http_respond_error(rq, strncmp(err.msg, "retention policy", 16) == 0 ? 500 : 404,
                                  err.msg);
    case VT_EINVAL: return http_respond_error(rq, 400, err.msg);
    case VT_ELIMIT: return http_respond_error(rq, 413, "request entity too large");
    default:
        http_log("error", NULL, "write to \"%s\" failed (%s): %s", db, vt_rc_name(rc), err.msg);
        return http_respond_error(rq, 500, err.msg[0] ? err.msg : vt_rc_name(rc));
    }
}

/* ---- /query ---- */

/* pretty=true: re-indented as InfluxDB (Go's MarshalIndent) prints it, numbers untouched.
 * Keeps b on failure. */
static void http_pretty(vt_buf *b)
{
    vt_buf out;
    vt_buf_init(&out);
    size_t n = b->len;
    while (n && (b->data[n - 1] == '\n' || b->data[n - 1] == ' '))
        n--;
    if (qr_json_pretty(b->data, n, &out)) {
        vt_buf_putc(&out, '\n');
        vt_buf_free(b);
        *b = out;
        return;
    }
    vt_buf_free(&out);
}

/*
 * Streaming: a query's response is produced by its own thread into a pipe that MHD sends from,
 * so a result of any size is held in at most one 64 KiB buffer (or one chunk) plus the pipe,
 * and a slow client slows the query instead of growing memory. pretty=true (needs the whole
 * document) and the case where too many streams already run use the buffered path.
 */
typedef struct http_query_job {
    http_server *srv;
    arena *a; /* owns the parsed query */
    influxql_query *query;
    char *db, *rp;
    int64_t now;
    qr_options opt;
    int fd; /* write end */
    node *node;       /* the node it runs on (a native backup's under read routing) */
    int64_t start_ns; /* the request's start, for metrics.c */
    http_qclass qclass;
} http_query_job;

static bool http_pipe_write(void *ctx, const uint8_t *data, size_t len)
{
    http_query_job *job = ctx;
    while (len > 0) {
        ssize_t n = write(job->fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false; /* client gone (EPIPE): stop the query */
        data += n;
        len -= (size_t)n;
    }
    return true;
}

static void *http_query_thread(void *arg)
{
    http_query_job *job = arg;
    job->opt.flush_cb = http_pipe_write;
    job->opt.flush_ctx = job;
    qr_writer w;
    qr_init(&w, &job->opt);
    iql_env env = {.node = job->node, .db = job->db, .rp = job->rp, .now = job->now};
    qr_begin(&w);
    vt_rc rc = iql_execute(&env, job->query, &w);
    qr_end(&w);
    if (rc != VT_OK && rc != VT_EIO)
        http_log("error", NULL, "streamed query failed: %s", vt_rc_name(rc));
    qr_free(&w);
    close(job->fd);
    arena_free(job->a);
    free(job->db);
    free(job->rp);
    http_observe_stream_end(job->srv, HTTP_EP_QUERY, job->qclass, job->start_ns);
    atomic_fetch_sub(&job->srv->query_threads, 1);
    free(job);
    return NULL;
}

/* Starts the streaming thread; on VT_OK *rfd is the pipe's read end and a owns nothing more. */
static bool http_query_stream(http_request *rq, arena *a, influxql_query *query, const char *db,
                              const char *rp, const qr_options *opt, int *rfd)
{
    http_server *srv = rq->srv;
    int limit = srv->query_thread_limit;
    if (atomic_fetch_add(&srv->query_threads, 1) >= limit) {
        atomic_fetch_sub(&srv->query_threads, 1);
        return false;
    }
    int fds[2];
    http_query_job *job = calloc(1, sizeof *job);
    if (!job || pipe2(fds, O_CLOEXEC) != 0) {
        free(job);
        atomic_fetch_sub(&srv->query_threads, 1);
        return false;
    }
    job->srv = srv;
    job->a = a;
    job->query = query;
    job->db = strdup(db ? db : "");
    job->rp = strdup(rp ? rp : "");
    job->now = http_now_ns();
    job->opt = *opt;
    job->fd = fds[1];
    job->node = http_rq_node(rq);
    job->start_ns = rq->start_ns;
    job->qclass = http_query_class(rq);
    pthread_t th;
    pthread_attr_t attr;
    bool ok = job->db && job->rp && pthread_attr_init(&attr) == 0;
    if (ok) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        ok = pthread_create(&th, &attr, http_query_thread, job) == 0;
        pthread_attr_destroy(&attr);
    }
    if (!ok) {
        close(fds[0]);
        close(fds[1]);
        free(job->db);
        free(job->rp);
        free(job);
        atomic_fetch_sub(&srv->query_threads, 1);
        return false;
    }
    *rfd = fds[0];
    rq->streamed = true; /* the thread reports it to metrics.c when done */
    return true;
}

/* A /query parameter from the URL, else from an application/x-www-form-urlencoded body
 * (malloc'd into *owned when it came from the body). */
static const char *http_query_param(http_request *rq, bool form, const char *key, char **owned)
{
    const char *v = http_arg(rq, key);
    if (v && v[0])
        return v;
    if (form && rq->body.len > 0) {
        *owned = http_form_value((const char *)rq->body.data, rq->body.len, key);
        if (*owned)
            return *owned;
    }
    return v;
}

enum MHD_Result http_handle_query(http_request *rq)
{
    enum MHD_Result asked;
    if (http_ask_try(rq, &asked)) /* POST {"question": ...}: handlers_ask.c */
        return asked;
    unsigned delay_ms = vt_fault_query_delay_ms(); /* drills only (common/faultinj.h) */
    if (delay_ms > 0 && http_rq_node(rq) == rq->srv->node) {
        struct timespec ts = {.tv_sec = delay_ms / 1000, .tv_nsec = (long)(delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    const char *ct =
        MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    bool form = ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0;
    enum { P_Q, P_DB, P_RP, P_EPOCH, P_PRETTY, P_CHUNKED, P_CHUNK_SIZE, P_PARAMS, P_COUNT };
    static const char *const names[P_COUNT] = {"q", "db", "rp", "epoch", "pretty",
                                               "chunked", "chunk_size", "params"};
    char *owned[P_COUNT] = {0};
    const char *p[P_COUNT];
    for (int i = 0; i < P_COUNT; i++)
        p[i] = http_query_param(rq, form, names[i], &owned[i]);
    enum MHD_Result r;
    arena *a = NULL;
    if (!p[P_Q] || !p[P_Q][0]) {
        r = http_respond_error(rq, 400, "missing required parameter \"q\"");
        goto cleanup;
    }
    int64_t epoch_div = 0;
    if (!qr_parse_epoch(p[P_EPOCH], &epoch_div))
        epoch_div = 1; /* InfluxDB: any other non-empty epoch means nanoseconds */
    a = arena_new(0);
    if (!a) {
        r = http_respond_error(rq, 500, "out of memory");
        goto cleanup;
    }
    influxql_params params = {0};
    influxql_error perr;
    memset(&perr, 0, sizeof perr);
    if (p[P_PARAMS] && p[P_PARAMS][0]) {
        json_error_t jerr;
        json_t *j = json_loads(p[P_PARAMS], 0, &jerr);
        if (!j) {
            char msg[300];
            snprintf(msg, sizeof msg, "error parsing query parameters: %s", jerr.text);
            r = http_respond_error(rq, 400, msg);
            goto cleanup;
        }
        if (!json_is_object(j)) {
            /* Go's encoding/json wording, as InfluxDB answers */
            const char *what = json_is_array(j) ? "array" : json_is_string(j) ? "string"
                             : json_is_boolean(j) ? "bool" : json_is_null(j) ? "null" : "number";
            json_decref(j);
            if (strcmp(what, "null") != 0) {
                char msg[200];
                snprintf(msg, sizeof msg,
                         "error parsing query parameters: json: cannot unmarshal %s into Go value of "
                         "type map[string]interface {}",
                         what);
                r = http_respond_error(rq, 400, msg);
                goto cleanup;
            }
            j = json_object();
            if (!j) {
                r = http_respond_error(rq, 500, "out of memory");
                goto cleanup;
            }
        }
        vt_rc prc = influxql_params_from_json(a, j, &params, &perr);
        json_decref(j);
        if (prc != VT_OK) {
            char msg[VT_ERR_MSG_MAX + 40];
            snprintf(msg, sizeof msg, "error parsing query parameters: %s", perr.msg);
            r = http_respond_error(rq, 400, msg);
            goto cleanup;
        }
    }
    /* InfluxDB trims the query text first (error positions count from the trimmed text) */
    const char *qtext = p[P_Q];
    size_t qlen = strlen(qtext);
    while (qlen && (*qtext == ' ' || *qtext == '\t' || *qtext == '\n' || *qtext == '\r')) {
        qtext++;
        qlen--;
    }
    while (qlen && (qtext[qlen - 1] == ' ' || qtext[qlen - 1] == '\t' || qtext[qlen - 1] == '\n' ||
                    qtext[qlen - 1] == '\r'))
        qlen--;
    influxql_query *query = NULL;
    vt_rc rc = influxql_parse(a, qtext, qlen, &params, &query, &perr);
    if (rc == VT_OK && !iql_check_regexes(query, &perr))
        rc = VT_EPARSE;
    if (rc != VT_OK) {
        char msg[VT_ERR_MSG_MAX + 32];
        snprintf(msg, sizeof msg, "error parsing query: %s", perr.msg);
        r = http_respond_error(rq, rc == VT_ENOMEM ? 500 : 400, msg);
        goto cleanup;
    }
    const char *accept =
        MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    bool csv = accept && (strcmp(accept, "application/csv") == 0 || strcmp(accept, "text/csv") == 0);
    qr_options opt = {
        .format = csv ? QR_CSV : QR_JSON,
        .epoch_div = epoch_div,
        .chunked = p[P_CHUNKED] && strcmp(p[P_CHUNKED], "true") == 0,
    };
    if (p[P_CHUNK_SIZE] && p[P_CHUNK_SIZE][0]) {
        long long cs = strtoll(p[P_CHUNK_SIZE], NULL, 10);
        opt.chunk_size = cs > 0 ? (size_t)cs : 0;
    }
    bool pretty = !csv && !opt.chunked && p[P_PRETTY] && strcmp(p[P_PRETTY], "true") == 0;
    int rfd;
    if (!pretty && http_query_stream(rq, a, query, p[P_DB], p[P_RP], &opt, &rfd)) {
        a = NULL; /* the thread owns it */
        r = http_respond_pipe(rq, 200, rfd, csv ? "text/csv" : "application/json");
        goto cleanup;
    }
    qr_writer w;
    qr_init(&w, &opt);
    iql_env env = {
        .node = http_rq_node(rq),
        .db = p[P_DB] ? p[P_DB] : "",
        .rp = p[P_RP] ? p[P_RP] : "",
        .now = http_now_ns(),
    };
    qr_begin(&w);
    rc = iql_execute(&env, query, &w);
    qr_end(&w);
    if (rc != VT_OK) {
        qr_free(&w);
        r = http_respond_error(rq, 500, vt_rc_name(rc));
        goto cleanup;
    }
    vt_buf out = w.out;
    vt_buf_init(&w.out);
    qr_free(&w);
    if (!csv && !opt.chunked && p[P_PRETTY] && strcmp(p[P_PRETTY], "true") == 0 && !out.oom)
        http_pretty(&out);
    r = csv ? http_respond_typed(rq, 200, &out, "text/csv") : http_respond(rq, 200, &out);
cleanup:
    arena_free(a);
    for (int i = 0; i < P_COUNT; i++)
        free(owned[i]);
    return r;
}
