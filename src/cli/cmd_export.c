/*
 * volta export --data <dir> [--db NAME] [--measurement NAME] [--start NS] [--end NS]
 *
 * Writes the stored points of an (offline) data directory as line protocol on stdout, one line
 * per point and field, with nanosecond timestamps. Opening the directory replays its journal, as
 * `volta serve` would. (Backups, JSON format and filters by time string come with the backup
 * issue; this is the raw dump every later tool builds on.)
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "core/node.h"
#include "ingest/lineproto.h"

typedef struct export_ctx {
    engine *eng;
    const char *db;
    int64_t tmin, tmax;
    const engine_series_info *series;
    const char *field;
    vt_buf line;
    uint64_t points;
    vt_rc rc;
    vt_err err;
} export_ctx;

static bool export_points(void *arg, const engine_points *pts)
{
    export_ctx *x = arg;
    vt_field f;
    vt_point p;
    p.measurement = vt_str_c(x->series->measurement);
    p.tags = x->series->tags;
    p.ntags = x->series->ntags;
    p.fields = &f;
    p.nfields = 1;
    f.key = vt_str_c(x->field);
    f.value.type = pts->type;
    for (size_t i = 0; i < pts->n; i++) {
        switch (pts->type) {
        case VT_TYPE_FLOAT: f.value.v.f = pts->f[i]; break;
        case VT_TYPE_INT: f.value.v.i = pts->i[i]; break;
        case VT_TYPE_UINT: f.value.v.u = pts->u[i]; break;
        case VT_TYPE_BOOL: f.value.v.b = pts->b[i]; break;
        case VT_TYPE_STRING: f.value.v.s = pts->s[i]; break;
        default: continue;
        }
        p.time = pts->time[i];
        vt_buf_reset(&x->line);
        lp_write_point(&x->line, &p);
        fwrite(x->line.data, 1, x->line.len, stdout);
        x->points++;
    }
    return true;
}

static bool export_series(void *arg, const engine_series_info *s)
{
    export_ctx *x = arg;
    x->series = s;
    for (size_t i = 0; i < s->nfields; i++) {
        x->field = s->fields[i].name;
        x->rc = engine_read(x->eng, x->db, s->id, s->fields[i].name, x->tmin, x->tmax,
                            export_points, x, &x->err);
        if (x->rc != VT_OK)
            return false;
    }
    return true;
}

typedef struct db_list {
    char **names;
    size_t n, cap;
    bool oom;
} db_list;

static void collect_db(void *ctx, const char *name)
{
    db_list *l = ctx;
    if (l->oom)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **names = realloc(l->names, cap * sizeof *names);
        if (!names) {
            l->oom = true;
            return;
        }
        l->names = names;
        l->cap = cap;
    }
    if (!(l->names[l->n] = strdup(name)))
        l->oom = true;
    else
        l->n++;
}

static void db_list_free(db_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
}

static void export_usage(FILE *out)
{
    fprintf(out,
            "usage: volta export --data <dir> [--db NAME] [--measurement NAME]\n"
            "                    [--start NS] [--end NS]\n\n"
            "Writes the points stored in a data directory (not in use by a server) as line\n"
            "protocol on stdout; a '# database: NAME' comment starts each database.\n");
}

int cmd_export(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"data", required_argument, NULL, 'd'},  {"db", required_argument, NULL, 'b'},
        {"measurement", required_argument, NULL, 'm'}, {"start", required_argument, NULL, 's'},
        {"end", required_argument, NULL, 'e'},   {"help", no_argument, NULL, 'h'},
        {0}};
    const char *datadir = NULL, *only_db = NULL, *measurement = NULL;
    int64_t tmin = INT64_MIN, tmax = INT64_MAX;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': datadir = optarg; break;
        case 'b': only_db = optarg; break;
        case 'm': measurement = optarg; break;
        case 's':
        case 'e': {
            char *end;
            errno = 0;
            long long v = strtoll(optarg, &end, 10);
            if (errno || end == optarg || *end) {
                fprintf(stderr, "volta export: --%s takes a time in ns since the epoch, not '%s'\n",
                        c == 's' ? "start" : "end", optarg);
                return 2;
            }
            if (c == 's')
                tmin = v;
            else
                tmax = v;
            break;
        }
        case 'h': export_usage(stdout); return 0;
        default: export_usage(stderr); return 2;
        }
    }
    if (!datadir || optind != argc) {
        export_usage(stderr);
        return 2;
    }
    node_options opts;
    node_options_default(&opts);
    opts.engine.background = false;
    node *n = NULL;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = node_open(datadir, &opts, &n, NULL, &err);
    if (rc != VT_OK) {
        fprintf(stderr, "volta export: %s\n", err.msg);
        return vt_rc_exit_code(rc);
    }
    db_list dbs = {0};
    engine_list_dbs(node_engine(n), collect_db, &dbs);
    if (dbs.oom) {
        fprintf(stderr, "volta export: out of memory listing databases\n");
        db_list_free(&dbs);
        node_close(n, &err);
        return vt_rc_exit_code(VT_ENOMEM);
    }
    export_ctx x;
    memset(&x, 0, sizeof x);
    x.eng = node_engine(n);
    x.tmin = tmin;
    x.tmax = tmax;
    vt_buf_init(&x.line);
    for (size_t i = 0; i < dbs.n && x.rc == VT_OK; i++) {
        if (only_db && strcmp(only_db, dbs.names[i]) != 0)
            continue;
        printf("# database: %s\n", dbs.names[i]);
        x.db = dbs.names[i];
        rc = engine_foreach_series(x.eng, x.db, measurement, export_series, &x, &err);
        if (rc != VT_OK)
            x.rc = rc, x.err = err;
    }
    vt_buf_free(&x.line);
    db_list_free(&dbs);
    fflush(stdout);
    int status = 0;
    if (x.rc != VT_OK) {
        fprintf(stderr, "volta export: %s\n", x.err.msg);
        status = vt_rc_exit_code(x.rc);
    }
    if (node_close(n, &err) != VT_OK && status == 0) {
        fprintf(stderr, "volta export: closing: %s\n", err.msg);
        status = 3;
    }
    fprintf(stderr, "volta export: %llu points\n", (unsigned long long)x.points);
    return status;
}
