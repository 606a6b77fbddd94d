/*
 * backend/backend.c — the two backend kinds behind one interface (backend.h).
 *
 * native: a node (core/node.h) over the backend's own data directory, opened without retention
 *         enforcement (the primary's RETENTION records drive it) and with its own journal trim.
 * influx: an influx_remote handle (backend/influx_remote.h). A handle is used by one thread at a
 *         time (its applier); queries from other threads (checks, resync) take the lock too.
 *         Reads routed to the backup (backend_forward) do not: each takes an idle curl handle of
 *         its own (up to BACKEND_FWD_IDLE kept for keep-alive), so a slow apply never holds
 *         client reads and reads run in parallel.
 */
#include "backend/backend.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend/influx_remote.h"
#include "common/log.h"
#include "core/node.h"
#include "query/influxql_exec.h"

/* idle connections kept per influx backend for forwarded reads */
#define BACKEND_FWD_IDLE 8

typedef enum backend_kind { KIND_NATIVE, KIND_INFLUX } backend_kind;

struct backend {
    char name[CONFIG_NAME_MAX];
    backend_kind kind;
    char where[1024]; /* path or url */
    pthread_mutex_t mu;
    node *node;            /* native */
    influx_remote *remote; /* influx */
    /* influx, for backend_forward: credentials, timeout, and idle curl handles kept for
     * keep-alive (taken and given back under fwd_mu; never used by two threads at once) */
    char username[128], password[256], token[512];
    unsigned timeout_ms;
    pthread_mutex_t fwd_mu;
    CURL *fwd_idle[BACKEND_FWD_IDLE];
    size_t fwd_nidle;
};

vt_rc backend_open(const config_backend *cfg, backend **out, vt_err *err)
{
    backend *b = calloc(1, sizeof *b);
    if (!b)
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    pthread_mutex_init(&b->mu, NULL);
    pthread_mutex_init(&b->fwd_mu, NULL);
    snprintf(b->name, sizeof b->name, "%s", cfg->name);
    vt_rc rc;
    if (strcmp(cfg->type, "native") == 0) {
        b->kind = KIND_NATIVE;
        snprintf(b->where, sizeof b->where, "%s", cfg->path);
        node_options o;
        node_options_default(&o);
        o.retention = false;
        rc = node_open(cfg->path, &o, &b->node, NULL, err);
        if (rc != VT_OK)
            vt_err_prefix(err, "backend %s: open %s", cfg->name, cfg->path);
    } else if (strcmp(cfg->type, "influx") == 0) {
        b->kind = KIND_INFLUX;
        snprintf(b->where, sizeof b->where, "%s", cfg->url);
        snprintf(b->username, sizeof b->username, "%s", cfg->username);
        snprintf(b->password, sizeof b->password, "%s", cfg->password);
        snprintf(b->token, sizeof b->token, "%s", cfg->token);
        b->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 30000;
        influx_remote_options o;
        influx_remote_options_default(&o);
        snprintf(o.url, sizeof o.url, "%s", cfg->url);
        snprintf(o.username, sizeof o.username, "%s", cfg->username);
        snprintf(o.password, sizeof o.password, "%s", cfg->password);
        snprintf(o.token, sizeof o.token, "%s", cfg->token);
        if (cfg->timeout_ms)
            o.timeout_ms = cfg->timeout_ms;
        if (cfg->batch_bytes)
            o.max_body_bytes = cfg->batch_bytes;
        rc = influx_remote_new(&o, &b->remote, err);
        if (rc != VT_OK)
            vt_err_prefix(err, "backend %s", cfg->name);
    } else {
        rc = vt_err_set(err, VT_EINVAL, "backend %s: unknown type \"%s\"", cfg->name, cfg->type);
    }
    if (rc != VT_OK) {
        backend_close(b);
        return rc;
    }
    *out = b;
    return VT_OK;
}

void backend_close(backend *b)
{
    if (!b)
        return;
    if (b->node) {
        vt_err e;
        vt_err_clear(&e);
        if (node_close(b->node, &e) != VT_OK)
            vt_log("error", "backend", "%s: close: %s", b->name, e.msg);
    }
    influx_remote_free(b->remote);
    for (size_t i = 0; i < b->fwd_nidle; i++)
        curl_easy_cleanup(b->fwd_idle[i]);
    pthread_mutex_destroy(&b->fwd_mu);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

const char *backend_name(const backend *b)
{
    return b->name;
}

const char *backend_type(const backend *b)
{
    return b->kind == KIND_NATIVE ? "native" : "influx";
}

unsigned backend_caps(const backend *b)
{
    return b->kind == KIND_NATIVE ? BACKEND_CAP_INFLUXQL | BACKEND_CAP_FLUX | BACKEND_CAP_SNAPSHOT
                                  : BACKEND_CAP_INFLUXQL;
}

vt_rc backend_apply(backend *b, const journal_record *recs, size_t n, size_t *applied, vt_err *err)
{
    size_t done = 0;
    vt_rc rc;
    pthread_mutex_lock(&b->mu);
    if (b->kind == KIND_NATIVE) {
        /* node_apply_records stops at the first failing record; records before it are applied
         * and journaled, but only a whole batch is synced: count none done on failure (the
         * retry re-applies them, harmlessly) */
        rc = node_apply_records(b->node, recs, n, err);
        done = rc == VT_OK ? n : 0;
    } else {
        rc = influx_remote_apply(b->remote, recs, n, &done, err);
    }
    pthread_mutex_unlock(&b->mu);
    if (applied)
        *applied = done;
    return rc;
}

vt_rc backend_health(backend *b, char *detail, size_t cap, vt_err *err)
{
    vt_rc rc = VT_OK;
    pthread_mutex_lock(&b->mu);
    if (b->kind == KIND_NATIVE) {
        if (node_failed(b->node))
            rc = vt_err_set(err, VT_EFATAL, "native backend %s: storage failure, needs a restart",
                            b->name);
        if (detail)
            snprintf(detail, cap, "native volta data directory %s (journal seq %llu)", b->where,
                     (unsigned long long)journal_last_seq(node_journal(b->node)));
    } else {
        char version[64] = "";
        rc = influx_remote_ping(b->remote, version, sizeof version, err);
        if (detail)
            snprintf(detail, cap, "%s at %s%s", version[0] ? version : "InfluxDB-compatible",
                     b->where, rc == VT_OK ? "" : " (unreachable)");
    }
    pthread_mutex_unlock(&b->mu);
    return rc;
}

vt_rc backend_query(backend *b, const char *db, const char *q, char **json_out, vt_err *err)
{
    vt_rc rc;
    *json_out = NULL;
    pthread_mutex_lock(&b->mu);
    if (b->kind == KIND_NATIVE) {
        vt_buf out;
        vt_buf_init(&out);
        rc = iql_run_json(b->node, db, "", q, strlen(q), 0, &out, err);
        if (rc == VT_OK) {
            vt_buf_cstr(&out);
            *json_out = (char *)out.data;
        } else {
            vt_buf_free(&out);
        }
    } else {
        rc = influx_remote_query(b->remote, db, q, json_out, err);
    }
    pthread_mutex_unlock(&b->mu);
    return rc;
}

/* ---- read routing ---- */

node *backend_node(backend *b)
{
    return b->kind == KIND_NATIVE ? b->node : NULL;
}

typedef struct fwd_ctx {
    backend_http_response *out;
    size_t max_bytes;
    bool too_large;
} fwd_ctx;

static size_t fwd_on_body(char *data, size_t size, size_t n, void *arg)
{
    fwd_ctx *f = arg;
    size_t len = size * n;
    if (f->out->body.len + len > f->max_bytes) {
        f->too_large = true;
        return 0;
    }
    vt_buf_append(&f->out->body, data, len);
    return f->out->body.oom ? 0 : len;
}

static size_t fwd_on_header(char *data, size_t size, size_t n, void *arg)
{
    fwd_ctx *f = arg;
    size_t len = size * n;
    static const char name[] = "content-type:";
    if (len > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
        const char *v = data + sizeof name - 1, *end = data + len;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
            end--;
        snprintf(f->out->content_type, sizeof f->out->content_type, "%.*s", (int)(end - v), v);
    }
    return len;
}

vt_rc backend_forward(backend *b, const backend_http_request *rq, size_t max_bytes,
                      backend_http_response *out, vt_err *err)
{
    out->status = 0;
    out->content_type[0] = '\0';
    if (b->kind != KIND_INFLUX)
        return vt_err_set(err, VT_EINVAL, "backend %s is not an influx backend", b->name);
    CURL *c = NULL;
    pthread_mutex_lock(&b->fwd_mu);
    if (b->fwd_nidle > 0)
        c = b->fwd_idle[--b->fwd_nidle];
    pthread_mutex_unlock(&b->fwd_mu);
    if (c)
        curl_easy_reset(c);
    else if (!(c = curl_easy_init()))
        return vt_err_set(err, VT_ENOMEM, "backend %s: cannot create a curl handle", b->name);

    vt_buf url;
    vt_buf_init(&url);
    size_t wl = strlen(b->where);
    while (wl > 0 && b->where[wl - 1] == '/')
        wl--;
    vt_buf_append(&url, b->where, wl);
    vt_buf_printf(&url, "%s", rq->path);
    char sep = '?';
    if (rq->query_string && rq->query_string[0]) {
        vt_buf_printf(&url, "?%s", rq->query_string);
        sep = '&';
    }
    if (b->username[0]) {
        char *u = curl_easy_escape(c, b->username, 0), *p = curl_easy_escape(c, b->password, 0);
        if (u && p)
            vt_buf_printf(&url, "%cu=%s&p=%s", sep, u, p);
        curl_free(u);
        curl_free(p);
    }
    struct curl_slist *hdrs = NULL;
    char line[700];
    /* no Expect: 100-continue round trip; no Accept-Encoding the client did not ask for */
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (rq->content_type) {
        snprintf(line, sizeof line, "Content-Type: %s", rq->content_type);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (rq->accept) {
        snprintf(line, sizeof line, "Accept: %s", rq->accept);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (b->token[0]) {
        snprintf(line, sizeof line, "Authorization: Token %s", b->token);
        hdrs = curl_slist_append(hdrs, line);
    }
    fwd_ctx f = {.out = out, .max_bytes = max_bytes};
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, vt_buf_cstr(&url));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)b->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fwd_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &f);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, fwd_on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &f);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "volta-router/" VOLTA_VERSION);
    if (strcmp(rq->method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    CURLcode cc = curl_easy_perform(c);
    vt_rc rc = VT_OK;
    if (f.too_large) {
        rc = vt_err_set(err, VT_ELIMIT, "backend %s answered more than %zu bytes", b->name,
                        max_bytes);
    } else if (cc != CURLE_OK) {
        rc = vt_err_set(err, out->body.oom ? VT_ENOMEM : VT_EBUSY, "%s (%s)",
                        errbuf[0] ? errbuf : curl_easy_strerror(cc), b->where);
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    }
    curl_slist_free_all(hdrs);
    vt_buf_free(&url);
    bool kept = false;
    if (rc == VT_OK) {
        pthread_mutex_lock(&b->fwd_mu);
        if (b->fwd_nidle < BACKEND_FWD_IDLE) {
            b->fwd_idle[b->fwd_nidle++] = c;
            kept = true;
        }
        pthread_mutex_unlock(&b->fwd_mu);
    }
    if (!kept)
        curl_easy_cleanup(c);
    return rc;
}
