/*
 * backend/backend.c — the two backend kinds behind one interface (backend.h).
 *
 * native: a node (core/node.h) over the backend's own data directory, opened without retention
 *         enforcement (the primary's RETENTION records drive it) and with its own journal trim.
 * influx: an influx_remote handle (backend/influx_remote.h). A handle is used by one thread at a
 *         time (its applier); queries from other threads (checks, resync) take the lock too.
 */
#include "backend/backend.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/influx_remote.h"
#include "common/log.h"
#include "core/node.h"
#include "query/influxql_exec.h"

typedef enum backend_kind { KIND_NATIVE, KIND_INFLUX } backend_kind;

struct backend {
    char name[CONFIG_NAME_MAX];
    backend_kind kind;
    char where[1024]; /* path or url */
    pthread_mutex_t mu;
    node *node;            /* native */
    influx_remote *remote; /* influx */
};

vt_rc backend_open(const config_backend *cfg, backend **out, vt_err *err)
{
    backend *b = calloc(1, sizeof *b);
    if (!b)
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    pthread_mutex_init(&b->mu, NULL);
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
