/*
 * cli/cmd_repair.c — `volta repair`: rebuilds corrupt segment blocks from the journal, a backup
 * backend or a backup / snapshot (ops/repair.h, docs/REPAIR.md). Offline on a data directory;
 * online through POST /api/v1/repair (--host).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "backend/backend.h"
#include "cli/cli.h"
#include "cli/cli_http.h"
#include "core/config.h"
#include "core/node.h"
#include "ops/repair.h"

static void repair_usage(FILE *out)
{
    fprintf(out,
            "usage: volta repair [--data DIR [--config FILE] | --host URL]\n"
            "                    [--from REPO_OR_SNAPSHOT [--from-id ID]] [--backend NAME]\n"
            "                    [--no-journal] [--no-backends] [--drop-unrecoverable]\n"
            "                    [--dry-run] [--json]\n"
            "\n"
            "Finds every segment block that no longer reads back (checksums over all segments,\n"
            "as volta check does), rebuilds the series and time range each held from, in order:\n"
            "the journal (the records it still holds), the backup backends ([backend.<name>] of\n"
            "--config, or only --backend NAME), and --from (a backup repository, a snapshot\n"
            "directory or a snapshot id); rewrites each segment without the bad blocks and with\n"
            "the rebuilt points in their place; then verifies again (checksum scan, point counts).\n"
            "\n"
            "  --data DIR            the data directory (offline: no server may hold it)\n"
            "  --config FILE         the server's settings: data dir and the backends to read\n"
            "  --host URL            a running server (POST /api/v1/repair)\n"
            "  --from PATH|ID        also rebuild from a backup repository (newest backup, or\n"
            "                        --from-id), a snapshot directory or a snapshot id\n"
            "  --backend NAME        of the configured backends, read only this one\n"
            "  --no-journal          do not read the journal   --no-backends  nor the backends\n"
            "  --drop-unrecoverable  drop blocks no source holds (their range is then lost);\n"
            "                        by default they stay, and queries keep failing on them\n"
            "  --dry-run             say what would be rebuilt from where; change nothing\n"
            "  --json                the report as JSON\n"
            "\n"
            "Exit: 0 nothing corrupt or everything rebuilt and verified, 1 something could not\n"
            "be rebuilt (named with its series and range) or verified, 2 could not run.\n");
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

typedef struct repair_args {
    const char *host, *data, *config, *from, *from_id, *backend;
    bool no_journal, no_backends, drop, dry_run, json;
} repair_args;

static int repair_remote(const repair_args *a)
{
    char url[8192];
    snprintf(url, sizeof url, "%s/api/v1/repair?", a->host);
    url_arg(url, sizeof url, "from", a->from);
    url_arg(url, sizeof url, "from_id", a->from_id);
    url_arg(url, sizeof url, "backend", a->backend);
    if (a->no_journal)
        url_arg(url, sizeof url, "journal", "false");
    if (a->no_backends)
        url_arg(url, sizeof url, "backends", "false");
    if (a->drop)
        url_arg(url, sizeof url, "drop_unrecoverable", "true");
    if (a->dry_run)
        url_arg(url, sizeof url, "dry_run", "true");
    vt_buf resp;
    vt_buf_init(&resp);
    long status = 0;
    char errbuf[512];
    if (cli_http("POST", url, "", 0, "application/json", 3600, &resp, &status, errbuf) != 0) {
        fprintf(stderr, "volta repair: %s: %s\n", a->host, errbuf);
        vt_buf_free(&resp);
        return 2;
    }
    json_t *doc = json_loadb((const char *)resp.data, resp.len, 0, NULL);
    int rc;
    if (status != 200 || !doc) {
        const char *e = json_string_value(json_object_get(doc, "error"));
        fprintf(stderr, "volta repair: server answered %ld: %s\n", status,
                e ? e : vt_buf_cstr(&resp));
        rc = 2;
    } else {
        const char *text = json_string_value(json_object_get(doc, "text"));
        if (a->json) {
            json_object_del(doc, "text");
            char *s = json_dumps(doc, JSON_COMPACT);
            printf("%s\n", s ? s : "{}");
            free(s);
        } else {
            fputs(text ? text : "", stdout);
        }
        rc = (int)json_integer_value(json_object_get(doc, "exit_code"));
    }
    json_decref(doc);
    vt_buf_free(&resp);
    return rc;
}

static int repair_offline(const repair_args *a)
{
    volta_config *cfg = malloc(sizeof *cfg);
    if (!cfg)
        return 2;
    config_defaults(cfg);
    vt_err err;
    vt_err_clear(&err);
    int exit_code = 2;
    node *n = NULL;
    backend *backends[CONFIG_MAX_BACKENDS];
    const char *names[CONFIG_MAX_BACKENDS];
    size_t nb = 0;
    if (a->config && config_load_file(a->config, cfg, &err) != VT_OK) {
        fprintf(stderr, "volta repair: %s\n", err.msg);
        goto out;
    }
    if (a->data)
        snprintf(cfg->data, sizeof cfg->data, "%s", a->data);
    struct stat sb;
    if (stat(cfg->data, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "volta repair: %s: not a directory\n", cfg->data);
        goto out;
    }
    bool found = a->backend == NULL;
    for (size_t i = 0; i < cfg->nbackends && !a->no_backends; i++) {
        if (a->backend && strcmp(a->backend, cfg->backends[i].name) != 0)
            continue;
        found = true;
        if (backend_open(&cfg->backends[i], &backends[nb], &err) != VT_OK) {
            fprintf(stderr, "volta repair: backend %s: %s\n", cfg->backends[i].name, err.msg);
            goto out;
        }
        names[nb++] = cfg->backends[i].name;
    }
    if (!found) {
        fprintf(stderr, "volta repair: --backend %s: no [backend.%s] in %s\n", a->backend,
                a->backend, a->config ? a->config : "the configuration (give --config)");
        goto out;
    }
    node_options no = cfg->node;
    no.retention = false; /* a repair changes nothing it can avoid changing */
    no.journal_trim = false;
    vt_rc rc = node_open(cfg->data, &no, &n, NULL, &err);
    if (rc != VT_OK) {
        if (rc == VT_EBUSY)
            fprintf(stderr, "volta repair: %s is in use by a running volta: use --host\n",
                    cfg->data);
        else
            fprintf(stderr, "volta repair: %s\n", err.msg);
        goto out;
    }
    repair_options o;
    repair_options_default(&o);
    o.node = n;
    o.data_dir = cfg->data;
    o.use_journal = !a->no_journal;
    o.backends = backends;
    o.backend_names = names;
    o.nbackends = nb;
    o.from = a->from;
    o.from_id = a->from_id;
    o.dry_run = a->dry_run;
    o.drop_unrecoverable = a->drop;
    repair_report rep;
    rc = repair_run(&o, &rep, &err);
    if (rc != VT_OK) {
        fprintf(stderr, "volta repair: %s\n", err.msg);
        repair_report_free(&rep);
        goto out;
    }
    vt_buf b;
    vt_buf_init(&b);
    if (a->json)
        repair_report_json(&rep, &b);
    else
        repair_report_text(&rep, &b);
    fwrite(b.data, 1, b.len, stdout);
    vt_buf_free(&b);
    exit_code = repair_exit_code(&rep);
    repair_report_free(&rep);
out:
    if (n && node_close(n, &err) != VT_OK) {
        fprintf(stderr, "volta repair: closing %s: %s\n", cfg->data, err.msg);
        exit_code = 2;
    }
    for (size_t i = 0; i < nb; i++)
        backend_close(backends[i]);
    free(cfg);
    return exit_code;
}

int cmd_repair(int argc, char **argv)
{
    repair_args a;
    memset(&a, 0, sizeof a);
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
            repair_usage(stdout);
            return 0;
        }
        bool *flag = strcmp(s, "--json") == 0                 ? &a.json
                     : strcmp(s, "--dry-run") == 0            ? &a.dry_run
                     : strcmp(s, "--no-journal") == 0         ? &a.no_journal
                     : strcmp(s, "--no-backends") == 0        ? &a.no_backends
                     : strcmp(s, "--drop-unrecoverable") == 0 ? &a.drop
                                                              : NULL;
        if (flag) {
            *flag = true;
            continue;
        }
        const char **slot = strcmp(s, "--host") == 0      ? &a.host
                            : strcmp(s, "--data") == 0    ? &a.data
                            : strcmp(s, "--config") == 0  ? &a.config
                            : strcmp(s, "--from") == 0    ? &a.from
                            : strcmp(s, "--from-id") == 0 ? &a.from_id
                            : strcmp(s, "--backend") == 0 ? &a.backend
                                                          : NULL;
        if (!slot || i + 1 >= argc) {
            fprintf(stderr, "volta repair: %s: %s\n\n", s, slot ? "needs a value" : "unknown option");
            repair_usage(stderr);
            return 2;
        }
        *slot = argv[++i];
    }
    if (a.host && (a.data || a.config)) {
        fprintf(stderr, "volta repair: --host excludes --data/--config\n\n");
        repair_usage(stderr);
        return 2;
    }
    if (a.from_id && !a.from) {
        fprintf(stderr, "volta repair: --from-id needs --from (the repository)\n");
        return 2;
    }
    if (a.backend && a.no_backends) {
        fprintf(stderr, "volta repair: --backend excludes --no-backends\n");
        return 2;
    }
    if (!a.data && !a.config) {
        if (!a.host) {
            fprintf(stderr, "volta repair: --data DIR, --config FILE or --host URL is required\n\n");
            repair_usage(stderr);
            return 2;
        }
        return repair_remote(&a);
    }
    return repair_offline(&a);
}
