/*
 * server/handlers_export.c — GET /api/v1/export: the running node's data as line protocol or
 * the runbook's JSON (ops/export.h), streamed.
 *
 *   GET /api/v1/export?db=NAME[&rp=RP][&measurement=M[,M2...]][&start=T][&end=T]
 *                     [&format=lp|json][&gzip=true]
 *
 * Arguments are checked (and db/rp resolved: 404 when missing) before the answer starts; the
 * export itself runs on its own thread writing into a pipe MHD sends from, as streamed /query
 * responses do (handlers_v1.c), sharing their thread limit and the shutdown wait
 * (srv->query_threads). A failure after the 200 went out truncates the document in a way the
 * importer notices (export.h). Content-Type: text/plain (LP), application/json, or
 * application/gzip when gzip=true.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops/export.h"
#include "server/server_int.h"

typedef struct export_job {
    http_server *srv;
    char *db, *rp, *mlist;
    char **ms;
    size_t nms;
    export_options opt;
    int fd;
} export_job;

static void export_job_free(export_job *j)
{
    if (!j)
        return;
    free(j->db);
    free(j->rp);
    free(j->mlist);
    free(j->ms);
    free(j);
}

static bool export_pipe_write(void *ctx, const uint8_t *data, size_t len)
{
    export_job *j = ctx;
    while (len > 0) {
        ssize_t n = write(j->fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false; /* client gone */
        data += n;
        len -= (size_t)n;
    }
    return true;
}

static void *export_thread(void *arg)
{
    export_job *j = arg;
    http_server *srv = j->srv;
    vt_err err;
    vt_err_clear(&err);
    export_stats st;
    vt_rc rc = export_run(srv->node, &j->opt, export_pipe_write, j, &st, &err);
    if (rc != VT_OK && rc != VT_EIO)
        http_log("error", NULL, "export of \"%s\" failed: %s", j->db, err.msg);
    close(j->fd);
    export_job_free(j);
    atomic_fetch_sub(&srv->query_threads, 1);
    return NULL;
}

/* Splits a comma-separated list in place (j->mlist) into j->ms. */
static bool split_measurements(export_job *j)
{
    size_t n = 1;
    for (const char *c = j->mlist; *c; c++)
        n += *c == ',';
    j->ms = calloc(n, sizeof *j->ms);
    if (!j->ms)
        return false;
    for (char *save = NULL, *tok = strtok_r(j->mlist, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save))
        if (*tok)
            j->ms[j->nms++] = tok;
    return true;
}

enum MHD_Result http_handle_admin_export(http_request *rq)
{
    http_server *srv = rq->srv;
    const char *db = http_arg(rq, "db"), *rp = http_arg(rq, "rp");
    const char *m = http_arg(rq, "measurement"), *start = http_arg(rq, "start");
    const char *end = http_arg(rq, "end"), *format = http_arg(rq, "format");
    const char *gz = http_arg(rq, "gzip");
    if (!db || !db[0])
        return http_respond_error(rq, 400, "missing required parameter \"db\"");
    export_job *j = calloc(1, sizeof *j);
    if (!j)
        return http_respond_error(rq, 500, "out of memory");
    export_options_default(&j->opt);
    vt_err err;
    vt_err_clear(&err);
    enum MHD_Result r;
    if (format && format[0] && !ops_format_parse(format, &j->opt.format)) {
        r = http_respond_error(rq, 400, "format must be lp or json");
        goto fail;
    }
    if ((start && start[0] && export_parse_time(start, &j->opt.tmin, &err) != VT_OK) ||
        (end && end[0] && export_parse_time(end, &j->opt.tmax, &err) != VT_OK)) {
        r = http_respond_error(rq, 400, err.msg);
        goto fail;
    }
    j->opt.gzip = gz && (strcmp(gz, "true") == 0 || strcmp(gz, "1") == 0);
    j->db = strdup(db);
    j->rp = strdup(rp ? rp : "");
    j->mlist = strdup(m ? m : "");
    if (!j->db || !j->rp || !j->mlist || !split_measurements(j)) {
        r = http_respond_error(rq, 500, "out of memory");
        goto fail;
    }
    j->opt.db = j->db;
    j->opt.rp = j->rp;
    j->opt.measurements = (const char *const *)j->ms;
    j->opt.nmeasurements = j->nms;
    char store[ENGINE_STORE_NAME_MAX + 1];
    vt_rc rc = node_resolve_store(srv->node, db, rp, store, sizeof store, &err);
    if (rc != VT_OK) {
        r = http_respond_error(rq, (unsigned)vt_rc_http_status(rc), err.msg);
        goto fail;
    }
    int limit = srv->query_thread_limit;
    if (atomic_fetch_add(&srv->query_threads, 1) >= limit) {
        atomic_fetch_sub(&srv->query_threads, 1);
        r = http_respond_error(rq, 503, "too many streaming responses; try again later");
        goto fail;
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        atomic_fetch_sub(&srv->query_threads, 1);
        r = http_respond_error(rq, 500, "cannot create a pipe");
        goto fail;
    }
    j->srv = srv;
    j->fd = fds[1];
    const char *ct = j->opt.gzip                        ? "application/gzip"
                     : j->opt.format == OPS_FORMAT_JSON ? "application/json"
                                                        : "text/plain; charset=utf-8";
    pthread_t th;
    pthread_attr_t attr;
    bool ok = pthread_attr_init(&attr) == 0;
    if (ok) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        ok = pthread_create(&th, &attr, export_thread, j) == 0;
        pthread_attr_destroy(&attr);
    }
    if (!ok) {
        close(fds[0]);
        close(fds[1]);
        atomic_fetch_sub(&srv->query_threads, 1);
        r = http_respond_error(rq, 500, "cannot start the export thread");
        goto fail;
    }
    return http_respond_pipe(rq, 200, fds[0], ct); /* the thread owns j now */
fail:
    export_job_free(j);
    return r;
}
