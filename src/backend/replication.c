/*
 * backend/replication.c — starts and reports the appliers (replication.h).
 */
#include "backend/replication.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/result.h"

struct replication {
    applier *ap[CONFIG_MAX_BACKENDS];
    size_t n;
    size_t read_backup; /* index in ap of the backend reads go to under read_backend=backup */
};

vt_rc replication_start(node *n, meta *m, const volta_config *cfg, replication **out, vt_err *err)
{
    replication *r = calloc(1, sizeof *r);
    if (!r)
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    for (size_t i = 0; i < cfg->nbackends; i++) {
        backend *b = NULL;
        vt_rc rc = backend_open(&cfg->backends[i], &b, err);
        if (rc == VT_OK)
            rc = applier_start(n, m, b, &cfg->backends[i], &r->ap[r->n], err);
        if (rc != VT_OK) {
            replication_stop(r);
            return rc;
        }
        if (cfg->read_backup[0] && strcmp(cfg->read_backup, cfg->backends[i].name) == 0)
            r->read_backup = r->n;
        r->n++;
    }
    *out = r;
    return VT_OK;
}

void replication_stop(replication *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        applier_stop(r->ap[i]);
    free(r);
}

size_t replication_count(const replication *r)
{
    return r ? r->n : 0;
}

applier *replication_get(replication *r, size_t i)
{
    return r && i < r->n ? r->ap[i] : NULL;
}

applier *replication_find(replication *r, const char *name)
{
    for (size_t i = 0; r && i < r->n; i++) {
        applier_status st;
        applier_get_status(r->ap[i], &st);
        if (strcmp(st.name, name) == 0)
            return r->ap[i];
    }
    return NULL;
}

applier *replication_read_backup(replication *r)
{
    return r && r->n > 0 ? r->ap[r->read_backup] : NULL;
}

void replication_health_json(replication *r, vt_buf *out)
{
    vt_buf_printf(out, "\"backends\":[");
    for (size_t i = 0; r && i < r->n; i++) {
        applier_status st;
        applier_get_status(r->ap[i], &st);
        vt_buf_printf(out, "%s{\"name\":", i ? "," : "");
        qr_json_str(out, st.name, strlen(st.name));
        vt_buf_printf(out,
                      ",\"type\":\"%s\",\"role\":\"%s\",\"state\":\"%s\",\"cursor\":%llu,"
                      "\"primary_seq\":%llu,\"lag_records\":%llu,\"lag_seconds\":%.3f,"
                      "\"applied_records\":%llu,\"failures\":%llu,\"last_error\":",
                      st.type, st.role, st.state, (unsigned long long)st.cursor,
                      (unsigned long long)st.primary_seq, (unsigned long long)st.lag_records,
                      st.lag_seconds, (unsigned long long)st.applied_records,
                      (unsigned long long)st.failures);
        qr_json_str(out, st.last_error, strlen(st.last_error));
        if (st.resync_reason[0]) {
            vt_buf_printf(out, ",\"resync_reason\":");
            qr_json_str(out, st.resync_reason, strlen(st.resync_reason));
        }
        vt_buf_putc(out, '}');
    }
    vt_buf_putc(out, ']');
}

void replication_metrics(replication *r, vt_buf *out)
{
    static const char *const help[][3] = {
        {"volta_backend_lag_records", "gauge", "journal records not yet applied by the backend"},
        {"volta_backend_lag_seconds", "gauge", "age of the oldest record not yet applied"},
        {"volta_backend_applied_records_total", "counter", "journal records applied since start"},
        {"volta_backend_failures_total", "counter", "failed apply attempts since start"},
        {"volta_backend_up", "gauge",
         "1 when the backend follows the journal, 0 when retrying "
         "or needing a resync"},
        {"volta_backend_cursor", "gauge", "last journal seq applied by the backend"},
    };
    applier_status st[CONFIG_MAX_BACKENDS];
    size_t n = replication_count(r);
    for (size_t i = 0; i < n; i++)
        applier_get_status(r->ap[i], &st[i]);
    for (size_t k = 0; k < sizeof help / sizeof help[0]; k++) {
        vt_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", help[k][0], help[k][2], help[k][0],
                      help[k][1]);
        for (size_t i = 0; i < n; i++) {
            vt_buf_printf(out, "%s{backend=\"%s\",type=\"%s\"} ", help[k][0], st[i].name,
                          st[i].type);
            switch (k) {
            case 0: vt_buf_printf(out, "%llu\n", (unsigned long long)st[i].lag_records); break;
            case 1: vt_buf_printf(out, "%.3f\n", st[i].lag_seconds); break;
            case 2: vt_buf_printf(out, "%llu\n", (unsigned long long)st[i].applied_records); break;
            case 3: vt_buf_printf(out, "%llu\n", (unsigned long long)st[i].failures); break;
            case 4: vt_buf_printf(out, "%d\n", strcmp(st[i].state, "following") == 0); break;
            default: vt_buf_printf(out, "%llu\n", (unsigned long long)st[i].cursor); break;
            }
        }
    }
}
