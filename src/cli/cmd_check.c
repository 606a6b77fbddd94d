/*
 * cli/cmd_check.c — `volta check`: the integrity checks of ops/check.h (docs/CHECK.md), offline
 * on a data directory or online through POST /api/v1/check.
 */
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "backend/backend.h"
#include "cli/cli.h"
#include "cli/cli_http.h"
#include "core/config.h"
#include "core/node.h"
#include "meta/meta.h"
#include "ops/check.h"
#include "ops/export.h"

#define HOUR_NS INT64_C(3600000000000)

static void check_usage(FILE *out)
{
    fprintf(out,
            "usage: volta check [--data DIR [--config FILE] | --host URL] [--db NAME]\n"
            "                   [--window 24h | --start T --end T] [--checks LIST]\n"
            "                   [--tolerance N] [--ratio R] [--field M.F]... [--zero-field M.F]...\n"
            "                   [--json] [--quiet]\n"
            "\n"
            "Detects corruption and gaps (docs/CHECK.md): checksums, timestamps_duplicados,\n"
            "valores_nulos, consistencia_dados, backends_consistentes. Prints\n"
            "`✓ name: PASSOU - details`, `✗ name: FALHA - ...`, `? name: ERRO - ...` and a summary.\n"
            "\n"
            "  --data DIR      offline on a data directory not in use by a server\n"
            "  --config FILE   offline: the server's settings (data dir, [backend.*] to compare)\n"
            "  --host URL      a running server (default http://127.0.0.1:8086)\n"
            "  --db NAME       database (default ons)\n"
            "  --window D      the last D (24h, 7d); default: all data offline, 24h online\n"
            "  --start/--end T RFC3339, a date or ns (instead of --window)\n"
            "  --checks LIST   comma-separated check names (default all)\n"
            "  --tolerance N   valores_nulos fails above N bad values (default 100)\n"
            "  --ratio R       consistencia_dados fails below R (default 0.9)\n"
            "  --field M.F     required field (repeatable; default generation.value,\n"
            "                  load.value, interchange.value)\n"
            "  --zero-field M.F  a required field where 0 counts as bad (default load.value)\n"
            "  --json          print the report as JSON\n"
            "  --quiet         no item lists under each check\n"
            "\n"
            "Exit status: 0 every check passed; 1 a check failed; 2 a check could not run (or\n"
            "bad usage).\n");
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void url_arg(char *url, size_t cap, const char *key, const char *val)
{
    if (!val)
        return;
    size_t at = strlen(url);
    at += (size_t)snprintf(url + at, cap > at ? cap - at : 0, "&%s=", key);
    for (const unsigned char *p = (const unsigned char *)val; *p && at + 4 < cap; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-_.~,", *p))
            url[at++] = (char)*p;
        else
            at += (size_t)snprintf(url + at, cap - at, "%%%02X", *p);
    }
    url[at] = 0;
}

/* Prints the server's JSON report as text (the same lines check_report_text writes). */
static int print_remote(json_t *doc, bool items)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(doc, "checks"), i, c)
    {
        const char *st = json_string_value(json_object_get(c, "status"));
        const char *mark = st && strcmp(st, "PASS") == 0 ? "✓" : st && strcmp(st, "FAIL") == 0 ? "✗" : "?";
        printf("%s %s: %s - %s\n", mark, json_string_value(json_object_get(c, "name")),
               json_string_value(json_object_get(c, "label")),
               json_string_value(json_object_get(c, "details")));
        if (!items)
            continue;
        size_t k;
        json_t *it;
        json_int_t shown = 0;
        json_array_foreach(json_object_get(c, "items"), k, it)
        {
            if (shown == CHECK_TEXT_ITEMS)
                break;
            printf("    %s\n", json_string_value(it));
            shown++;
        }
        json_int_t total = json_integer_value(json_object_get(c, "items_total"));
        if (total > shown)
            printf("    ... and %lld more (--json lists up to %d)\n", (long long)(total - shown),
                   CHECK_MAX_ITEMS);
    }
    json_t *s = json_object_get(doc, "summary");
    printf("%lld passed, %lld failed, %lld errors\n",
           (long long)json_integer_value(json_object_get(s, "passed")),
           (long long)json_integer_value(json_object_get(s, "failed")),
           (long long)json_integer_value(json_object_get(s, "errors")));
    return (int)json_integer_value(json_object_get(doc, "exit_code"));
}

typedef struct check_args {
    const char *host, *data, *config, *db, *window, *start, *end, *checks, *tolerance, *ratio;
    const char *fields[CHECK_MAX_FIELDS];
    size_t nfields;
    const char *zero[CHECK_MAX_FIELDS];
    size_t nzero;
    bool zero_given, json, quiet;
} check_args;

static int check_remote(const check_args *a)
{
    char url[8192];
    snprintf(url, sizeof url, "%s/api/v1/check?", a->host);
    url_arg(url, sizeof url, "db", a->db);
    url_arg(url, sizeof url, "window", a->window);
    url_arg(url, sizeof url, "start", a->start);
    url_arg(url, sizeof url, "end", a->end);
    url_arg(url, sizeof url, "checks", a->checks);
    url_arg(url, sizeof url, "tolerance", a->tolerance);
    url_arg(url, sizeof url, "ratio", a->ratio);
    char list[2048];
    if (a->nfields) {
        list[0] = 0;
        for (size_t i = 0; i < a->nfields; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? "," : "",
                     a->fields[i]);
        url_arg(url, sizeof url, "fields", list);
    }
    if (a->zero_given) {
        list[0] = 0;
        for (size_t i = 0; i < a->nzero; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? "," : "",
                     a->zero[i]);
        url_arg(url, sizeof url, "zero_fields", list);
    }
    vt_buf resp;
    vt_buf_init(&resp);
    long status = 0;
    char errbuf[512];
    if (cli_http("POST", url, "", 0, "application/json", 3600, &resp, &status, errbuf) != 0) {
        fprintf(stderr, "volta check: %s: %s\n", a->host, errbuf);
        vt_buf_free(&resp);
        return 2;
    }
    json_t *doc = json_loadb((const char *)resp.data, resp.len, 0, NULL);
    int rc;
    if (status != 200 || !doc) {
        const char *e = json_string_value(json_object_get(doc, "error"));
        fprintf(stderr, "volta check: server answered %ld: %s\n", status,
                e ? e : vt_buf_cstr(&resp));
        rc = 2;
    } else if (a->json) {
        fwrite(resp.data, 1, resp.len, stdout);
        rc = (int)json_integer_value(json_object_get(doc, "exit_code"));
    } else {
        rc = print_remote(doc, !a->quiet);
    }
    json_decref(doc);
    vt_buf_free(&resp);
    return rc;
}

static int check_offline(const check_args *a, check_options *o)
{
    volta_config *cfg = malloc(sizeof *cfg);
    if (!cfg)
        return 2;
    config_defaults(cfg);
    vt_err err;
    vt_err_clear(&err);
    if (a->config && config_load_file(a->config, cfg, &err) != VT_OK) {
        fprintf(stderr, "volta check: %s\n", err.msg);
        free(cfg);
        return 2;
    }
    if (a->data)
        snprintf(cfg->data, sizeof cfg->data, "%s", a->data);
    struct stat sb;
    if (stat(cfg->data, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "volta check: %s: not a directory\n", cfg->data);
        free(cfg);
        return 2;
    }
    o->data_dir = cfg->data;
    /* checksums first, on the files as they are, before the node replays anything */
    unsigned only_sums = o->checks & CHECK_CHECKSUMS;
    check_result sums;
    bool have_sums = false;
    if (only_sums) {
        check_checksums(o, &sums);
        have_sums = true;
    }
    node *n = NULL;
    meta *m = NULL;
    backend *backends[CONFIG_MAX_BACKENDS];
    const char *names[CONFIG_MAX_BACKENDS];
    size_t nb = 0;
    int exit_code = 0;
    node_options no = cfg->node;
    no.retention = false;   /* a check changes nothing it can avoid changing */
    no.journal_trim = false;
    vt_rc rc = VT_OK;
    if (o->checks & ~(unsigned)CHECK_CHECKSUMS) {
        rc = node_open(cfg->data, &no, &n, NULL, &err);
        if (rc == VT_EBUSY) {
            fprintf(stderr, "volta check: %s is in use by a running volta: use --host\n",
                    cfg->data);
            exit_code = 2;
            goto out;
        }
        if (rc != VT_OK)
            fprintf(stderr, "volta check: %s\n", err.msg); /* the checks report ERRO */
        char mp[CONFIG_PATH_MAX + 16];
        snprintf(mp, sizeof mp, "%s/meta.db", cfg->data);
        if (stat(mp, &sb) == 0 && meta_open(mp, &m, &err) != VT_OK)
            fprintf(stderr, "volta check: %s\n", err.msg);
        for (size_t i = 0; i < cfg->nbackends && (o->checks & CHECK_BACKENDS); i++) {
            if (backend_open(&cfg->backends[i], &backends[nb], &err) != VT_OK) {
                fprintf(stderr, "volta check: backend %s: %s\n", cfg->backends[i].name, err.msg);
                exit_code = 2;
                goto out;
            }
            names[nb++] = cfg->backends[i].name;
        }
    }
    o->node = n;
    o->meta = m;
    o->backends = backends;
    o->backend_names = names;
    o->nbackends = nb;
    o->checks &= ~(unsigned)CHECK_CHECKSUMS;
    check_report rep;
    check_run(o, &rep);
    if (have_sums) { /* put checksums first, as the report order says */
        memmove(&rep.results[1], &rep.results[0], rep.n * sizeof rep.results[0]);
        rep.results[0] = sums;
        rep.n++;
        have_sums = false;
        if (sums.status == CHECK_PASS)
            rep.passed++;
        else if (sums.status == CHECK_FAIL)
            rep.failed++;
        else
            rep.errors++;
    }
    vt_buf out;
    vt_buf_init(&out);
    if (a->json)
        check_report_json(&rep, &out);
    else
        check_report_text(&rep, !a->quiet, &out);
    fwrite(out.data, 1, out.len, stdout);
    vt_buf_free(&out);
    exit_code = check_report_exit_code(&rep);
    check_report_free(&rep);
out:
    if (have_sums)
        check_result_free(&sums);
    for (size_t i = 0; i < nb; i++)
        backend_close(backends[i]);
    meta_close(m);
    if (n)
        node_close(n, NULL);
    free(cfg);
    return exit_code;
}

int cmd_check(int argc, char **argv)
{
    check_args a;
    memset(&a, 0, sizeof a);
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
            check_usage(stdout);
            return 0;
        }
        if (strcmp(s, "--json") == 0) {
            a.json = true;
            continue;
        }
        if (strcmp(s, "--quiet") == 0) {
            a.quiet = true;
            continue;
        }
        if ((strcmp(s, "--field") == 0 || strcmp(s, "--zero-field") == 0) && i + 1 < argc) {
            bool zero = s[2] == 'z';
            size_t *n = zero ? &a.nzero : &a.nfields;
            if (*n == CHECK_MAX_FIELDS) {
                fprintf(stderr, "volta check: at most %d %s\n", CHECK_MAX_FIELDS, s);
                return 2;
            }
            (zero ? a.zero : a.fields)[(*n)++] = argv[++i];
            a.zero_given |= zero;
            continue;
        }
        const char **slot = strcmp(s, "--host") == 0        ? &a.host
                            : strcmp(s, "--data") == 0      ? &a.data
                            : strcmp(s, "--config") == 0    ? &a.config
                            : strcmp(s, "--db") == 0        ? &a.db
                            : strcmp(s, "--window") == 0    ? &a.window
                            : strcmp(s, "--start") == 0     ? &a.start
                            : strcmp(s, "--end") == 0       ? &a.end
                            : strcmp(s, "--checks") == 0    ? &a.checks
                            : strcmp(s, "--tolerance") == 0 ? &a.tolerance
                            : strcmp(s, "--ratio") == 0     ? &a.ratio
                                                            : NULL;
        if (!slot || i + 1 >= argc) {
            fprintf(stderr, "volta check: %s: %s\n\n", s, slot ? "needs a value" : "unknown option");
            check_usage(stderr);
            return 2;
        }
        *slot = argv[++i];
    }
    if (a.host && (a.data || a.config)) {
        fprintf(stderr, "volta check: --host excludes --data/--config\n\n");
        check_usage(stderr);
        return 2;
    }
    if (a.window && (a.start || a.end)) {
        fprintf(stderr, "volta check: --window excludes --start/--end\n\n");
        return 2;
    }
    check_options o;
    check_options_default(&o);
    vt_err err;
    vt_err_clear(&err);
    if (a.db)
        o.db = a.db;
    if (a.checks && check_parse_list(a.checks, &o.checks, &err) != VT_OK) {
        fprintf(stderr, "volta check: %s\n", err.msg);
        return 2;
    }
    if (a.tolerance) {
        char *end;
        o.tolerance = strtoull(a.tolerance, &end, 10);
        if (*end || a.tolerance[0] == '-' || !a.tolerance[0]) {
            fprintf(stderr, "volta check: --tolerance: a non-negative integer is required\n");
            return 2;
        }
    }
    if (a.ratio) {
        char *end;
        o.ratio = strtod(a.ratio, &end);
        if (*end || !(o.ratio >= 0)) {
            fprintf(stderr, "volta check: --ratio: a non-negative number is required\n");
            return 2;
        }
    }
    if (a.start && export_parse_time(a.start, &o.start, &err) != VT_OK) {
        fprintf(stderr, "volta check: --start: %s\n", err.msg);
        return 2;
    }
    if (a.end && export_parse_time(a.end, &o.end, &err) != VT_OK) {
        fprintf(stderr, "volta check: --end: %s\n", err.msg);
        return 2;
    }
    if (a.nfields) {
        memcpy(o.required, a.fields, a.nfields * sizeof *a.fields);
        o.nrequired = a.nfields;
    }
    if (a.zero_given) {
        memcpy(o.zero_fields, a.zero, a.nzero * sizeof *a.zero);
        o.nzero = a.nzero;
    }
    if (!a.data && !a.config) {
        if (!a.host)
            a.host = "http://127.0.0.1:8086";
        return check_remote(&a);
    }
    if (a.window && strcmp(a.window, "all") != 0) {
        int64_t w;
        if (check_parse_window(a.window, &w, &err) != VT_OK) {
            fprintf(stderr, "volta check: %s\n", err.msg);
            return 2;
        }
        o.end = now_ns();
        o.start = o.end - w;
        o.start -= ((o.start % HOUR_NS) + HOUR_NS) % HOUR_NS;
    }
    return check_offline(&a, &o);
}
