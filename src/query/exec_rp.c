/*
 * query/exec_rp.c — retention policy statements: CREATE DATABASE [WITH ...], CREATE / ALTER /
 * DROP RETENTION POLICY, SHOW RETENTION POLICIES; and iql_resolve_store, which maps a
 * statement's (db, rp) to the engine store the data lives in.
 *
 * The rules and messages are InfluxDB 1.6's and live in the node (core/node.h: node_create_rp
 * ...), which journals every change; this file translates statements and prints results:
 *   SHOW RETENTION POLICIES [ON db]   one unnamed series, columns name, duration,
 *                                     shardGroupDuration, replicaN, default; one row per policy
 *                                     in creation order; durations as Go prints them ("0s" =
 *                                     INF, "168h0m0s"); default = the policy is named by the
 *                                     database's default (InfluxDB keeps that name when its
 *                                     policy is dropped, so then no row is the default).
 */
#include <string.h>

#include "common/timefmt.h"
#include "query/exec_int.h"

vt_rc iql_resolve_store(const iql_env *env, arena *a, const char *db, const char *rp,
                        const char **store, vt_err *err)
{
    char buf[ENGINE_STORE_NAME_MAX + 1];
    if (!rp || !rp[0])
        rp = env->rp && env->rp[0] ? env->rp : NULL;
    vt_rc rc = node_resolve_store(env->node, db, rp, buf, sizeof buf, err);
    if (rc != VT_OK)
        return rc;
    *store = arena_strndup(a, buf, strlen(buf));
    return *store ? VT_OK : vt_err_set(err, VT_ENOMEM, "out of memory");
}

static node_rp_spec rp_spec(const influxql_rp_spec *r)
{
    node_rp_spec s;
    memset(&s, 0, sizeof s);
    s.name = r->name;
    s.has_duration = r->has_duration;
    s.duration = r->duration;
    s.has_replication = r->has_replication;
    s.replication = r->replication;
    s.has_shard_duration = r->has_shard_duration;
    s.shard_duration = r->shard_duration;
    return s;
}

static vt_value rp_str(const char *s, size_t n)
{
    vt_value v = {.type = VT_TYPE_STRING};
    v.v.s = (vt_str){s, n};
    return v;
}

static vt_rc show_rps(const iql_env *env, const influxql_show *sh, qr_writer *w, vt_err *err)
{
    const char *db;
    vt_rc rc = iql_resolve_db(env, sh->db, &db, err);
    if (rc != VT_OK)
        return rc;
    record_rpcat c;
    rc = node_rp_catalog(env->node, db, &c, err);
    if (rc != VT_OK)
        return rc;
    static const char *const cols[] = {"name", "duration", "shardGroupDuration", "replicaN",
                                       "default"};
    qr_series_begin(w, NULL, NULL, 0, cols, 5);
    for (size_t i = 0; i < c.n; i++) {
        const record_rp *rp = &c.rps[i];
        char d[VT_FMT_DURATION_MAX], s[VT_FMT_DURATION_MAX];
        size_t dl = vt_duration_format_go(d, rp->duration);
        size_t sl = vt_duration_format_go(s, rp->shard_duration);
        vt_value v[5] = {rp_str(rp->name, strlen(rp->name)), rp_str(d, dl), rp_str(s, sl),
                         {.type = VT_TYPE_INT}, {.type = VT_TYPE_BOOL}};
        v[3].v.i = rp->replica_n;
        v[4].v.b = strcmp(rp->name, c.default_rp) == 0;
        qr_row(w, false, 0, v, 5);
    }
    qr_series_end(w);
    record_rpcat_free(&c);
    return VT_OK;
}

vt_rc iql_exec_rp(const iql_env *env, arena *a, const influxql_stmt *st, qr_writer *w,
                  vt_err *err)
{
    (void)a;
    const influxql_rp_spec *r = &st->u.rp;
    node_rp_spec spec = rp_spec(r);
    switch (st->kind) {
    case IQL_STMT_CREATE_DATABASE:
        if (!r->has_with)
            return node_create_db(env->node, r->db, err);
        return node_create_db_with(env->node, r->db, &spec, err);
    case IQL_STMT_CREATE_RETENTION_POLICY:
        return node_create_rp(env->node, r->db, &spec, r->is_default, err);
    case IQL_STMT_ALTER_RETENTION_POLICY:
        return node_alter_rp(env->node, r->db, &spec, r->is_default, err);
    case IQL_STMT_DROP_RETENTION_POLICY:
        return node_drop_rp(env->node, r->db, r->name, err);
    case IQL_STMT_SHOW_RETENTION_POLICIES: return show_rps(env, &st->u.show, w, err);
    default: return vt_err_set(err, VT_EUNSUPPORTED, "not a retention policy statement");
    }
}
