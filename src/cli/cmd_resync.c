/*
 * cli/cmd_resync.c — `volta resync`: find what a backup backend is missing and repair it
 * (ops/resync.h). On a running server through POST /api/v1/resync (the server pauses the
 * backend's applier meanwhile); offline on a data directory with the backends of --config.
 */
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "cli/cli.h"
#include "cli/cli_http.h"
#include "core/config.h"
#include "core/node.h"
#include "meta/meta.h"
#include "ops/resync.h"

static void resync_usage(FILE *out)
{
    fprintf(out,
            "usage: volta resync [--backend NAME] [--dry-run] [--host URL]\n"
            "       volta resync [--backend NAME] [--dry-run] --config FILE [--data DIR]\n"
            "\n"
            "Finds what a backup backend is missing — journal records past its cursor, ledger\n"
            "files it never applied (re-read from the landing zone when the journal no longer\n"
            "holds them) — repairs it, and prints what it found and did. Idempotent.\n"
            "\n"
            "  --backend NAME  only this backend (default: every configured backend)\n"
            "  --dry-run       report only, change nothing\n"
            "  --host URL      the running server (default http://127.0.0.1:8086)\n"
            "  --config FILE   offline: the server's settings (backends, landing zone); the data\n"
            "                  directory must not be in use\n"
            "  --data DIR      offline: overrides the config's data directory\n"
            "\n"
            "Exit status: 0 repaired (or nothing missing); 1 failed; 2 bad usage.\n");
}

static int resync_remote(const char *host, const char *name, bool dry_run)
{
    char url[2048], errbuf[512];
    snprintf(url, sizeof url, "%s/api/v1/resync?dry_run=%s%s%s", host, dry_run ? "true" : "false",
             name ? "&backend=" : "", name ? name : "");
    vt_buf resp;
    vt_buf_init(&resp);
    long status = 0;
    if (cli_http("POST", url, "", 0, "application/json", 3600, &resp, &status, errbuf) != 0) {
        fprintf(stderr, "volta resync: %s: %s\n", host, errbuf);
        vt_buf_free(&resp);
        return 1;
    }
    json_t *doc = json_loadb((const char *)resp.data, resp.len, 0, NULL);
    int rc = 0;
    if (status != 200) {
        const char *e = json_string_value(json_object_get(doc, "error"));
        fprintf(stderr, "volta resync: server answered %ld: %s\n", status,
                e ? e : vt_buf_cstr(&resp));
        rc = 1;
    } else {
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(doc, "results"), i, r)
            fputs(json_string_value(json_object_get(r, "text")), stdout);
    }
    json_decref(doc);
    vt_buf_free(&resp);
    return rc;
}

static int resync_offline(const char *config, const char *data, const char *name, bool dry_run)
{
    volta_config *cfg = malloc(sizeof *cfg);
    if (!cfg)
        return 5;
    config_defaults(cfg);
    vt_err err;
    vt_err_clear(&err);
    int exit_code = 0;
    node *n = NULL;
    meta *m = NULL;
    if (config_load_file(config, cfg, &err) != VT_OK) {
        fprintf(stderr, "volta resync: %s\n", err.msg);
        free(cfg);
        return 2;
    }
    if (data)
        snprintf(cfg->data, sizeof cfg->data, "%s", data);
    if (!cfg->ingest.landing[0])
        snprintf(cfg->ingest.landing, sizeof cfg->ingest.landing, "%s/landing", cfg->data);
    node_options o = cfg->node;
    vt_rc rc = node_open(cfg->data, &o, &n, NULL, &err);
    if (rc == VT_EBUSY) {
        fprintf(stderr, "volta resync: %s is in use by a running volta: use --host\n", cfg->data);
        exit_code = 1;
        goto out;
    }
    char mp[CONFIG_PATH_MAX + 16];
    snprintf(mp, sizeof mp, "%s/meta.db", cfg->data);
    if (rc == VT_OK)
        rc = meta_open(mp, &m, &err);
    if (rc != VT_OK) {
        fprintf(stderr, "volta resync: %s\n", err.msg);
        exit_code = vt_rc_exit_code(rc);
        goto out;
    }
    bool any = false;
    for (size_t i = 0; i < cfg->nbackends && exit_code == 0; i++) {
        if (name && strcmp(name, cfg->backends[i].name) != 0)
            continue;
        any = true;
        backend *b = NULL;
        rc = backend_open(&cfg->backends[i], &b, &err);
        resync_report rep;
        vt_buf text;
        vt_buf_init(&text);
        if (rc == VT_OK)
            rc = resync_backend(n, m, b, cfg->backends[i].name, cfg->ingest.landing, dry_run, &rep,
                                &text, &err);
        fputs(vt_buf_cstr(&text), stdout);
        vt_buf_free(&text);
        backend_close(b);
        if (rc != VT_OK) {
            fprintf(stderr, "volta resync: %s: %s\n", cfg->backends[i].name, err.msg);
            exit_code = 1;
        }
    }
    if (!any) {
        fprintf(stderr, "volta resync: %s\n",
                name ? "no such backend in the configuration" : "no backend is configured");
        exit_code = 1;
    }
out:
    meta_close(m);
    if (n)
        node_close(n, NULL);
    free(cfg);
    return exit_code;
}

int cmd_resync(int argc, char **argv)
{
    const char *host = NULL, *config = NULL, *data = NULL, *name = NULL;
    bool dry_run = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            resync_usage(stdout);
            return 0;
        }
        if (strcmp(a, "--dry-run") == 0) {
            dry_run = true;
            continue;
        }
        const char **slot = strcmp(a, "--host") == 0      ? &host
                            : strcmp(a, "--config") == 0  ? &config
                            : strcmp(a, "--data") == 0    ? &data
                            : strcmp(a, "--backend") == 0 ? &name
                                                          : NULL;
        if (!slot || i + 1 >= argc) {
            fprintf(stderr, "volta resync: %s: %s\n\n", a,
                    slot ? "needs a value" : "unknown option");
            resync_usage(stderr);
            return 2;
        }
        *slot = argv[++i];
    }
    if (host && (config || data)) {
        fprintf(stderr, "volta resync: --host excludes --config/--data\n\n");
        resync_usage(stderr);
        return 2;
    }
    if (data && !config) {
        fprintf(stderr, "volta resync: offline resync needs --config (the backends)\n\n");
        resync_usage(stderr);
        return 2;
    }
    if (config)
        return resync_offline(config, data, name, dry_run);
    return resync_remote(host ? host : "http://127.0.0.1:8086", name, dry_run);
}
