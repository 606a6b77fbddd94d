/*
 * cli/cmd_serve.c — `volta serve`: open the node (replaying the journal), serve HTTP until
 * SIGTERM/SIGINT, then stop HTTP and close the node (which flushes the memtable). Exit 0 on a
 * clean shutdown; startup failures exit with vt_rc_exit_code.
 *
 * Around the node: the control plane (<data>/meta.db), one applier per configured backup
 * backend, and the landing-zone watcher (<data>/landing unless [ingest] landing says otherwise).
 * Shutdown order: HTTP, landing watcher, appliers, node.
 *
 * Signals: SIGTERM, SIGINT and SIGHUP are blocked before any thread starts (the node's and MHD's
 * threads inherit the mask) and collected with sigwait in the main thread; SIGPIPE is ignored.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ask/ask.h"
#include "ask/ask_llm.h"
#include "backend/replication.h"
#include "cli/cli.h"
#include "core/config.h"
#include "core/demo.h"
#include "core/node.h"
#include "gateway/gateway.h"
#include "ingest/landing.h"
#include "meta/meta.h"
#include "ops/backup.h"
#include "ops/snapshot.h"
#include "server/failover.h"
#include "server/http.h"

/* How this server's own operator commands reach it (the failover's rollback): the listen
 * address, with a wildcard host replaced by the loopback address of its family. */
static void serve_self_url(const char *listen, unsigned port, char *out, size_t cap)
{
    char host[256] = "";
    if (listen[0] == '[') {
        const char *end = strchr(listen, ']');
        if (end)
            snprintf(host, sizeof host, "%.*s", (int)(end - listen - 1), listen + 1);
        if (!host[0] || strcmp(host, "::") == 0)
            snprintf(host, sizeof host, "::1");
        snprintf(out, cap, "http://[%s]:%u", host, port);
        return;
    }
    const char *colon = strrchr(listen, ':');
    if (colon)
        snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
    if (!host[0] || strcmp(host, "0.0.0.0") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    snprintf(out, cap, "http://%s:%u", host, port);
}

static void serve_usage(FILE *out)
{
    fprintf(out,
            "usage: volta serve [--data <dir>] [--listen <addr:port>] [--config <file>]\n"
            "\n"
            "Runs the server: the InfluxDB-compatible HTTP API over the journal and the native\n"
            "engine. Stops cleanly on SIGTERM or SIGINT (flushes, exit 0).\n"
            "\n"
            "  --data <dir>          data directory (default ./volta-data)\n"
            "  --listen <addr:port>  HTTP address (default 127.0.0.1:8086; [::1]:8086 for IPv6)\n"
            "  --config <file>       settings file (TOML subset, see docs/CONFIG.md);\n"
            "                        --data and --listen override it\n"
            "  --demo[=DAYS]         when the database 'ons' does not exist, create it and load\n"
            "                        DAYS (default 90) of ONS-shaped data made by `volta gen`\n"
            "                        (500 plants, 4 subsystems, 4 interchange links, hourly)\n"
            "  --landing <dir>       landing zone to watch (default <data>/landing)\n"
            "  --no-landing          do not watch a landing zone\n"
            "  --failover=MODE       set the `failover` flag at start: off, alert (the runbook's\n"
            "                        triggers raise an alert) or auto (they run the rollback);\n"
            "                        a versioned flag change like `volta flags set failover=...`\n");
}

static const char *fsync_name(journal_fsync_policy p)
{
    return p == JOURNAL_FSYNC_ALWAYS     ? "always"
           : p == JOURNAL_FSYNC_INTERVAL ? "interval"
                                         : "never";
}

int cmd_serve(int argc, char **argv)
{
    const char *data = NULL, *listen_addr = NULL, *config = NULL, *landing_dir = NULL;
    long demo_days = 0;
    bool no_landing = false;
    const char *failover_arg = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            serve_usage(stdout);
            return 0;
        }
        if (strcmp(a, "--demo") == 0 || strncmp(a, "--demo=", 7) == 0) {
            char *end = NULL;
            demo_days = a[6] == '=' ? strtol(a + 7, &end, 10) : 90;
            if (demo_days < 1 || demo_days > 3660 || (end && *end)) {
                fprintf(stderr, "volta serve: --demo takes a number of days (1..3660)\n");
                return 2;
            }
            continue;
        }
        if (strcmp(a, "--no-landing") == 0) {
            no_landing = true;
            continue;
        }
        if (strncmp(a, "--failover=", 11) == 0) {
            failover_arg = a + 11;
            if (strcmp(failover_arg, "off") != 0 && strcmp(failover_arg, "alert") != 0 &&
                strcmp(failover_arg, "auto") != 0) {
                fprintf(stderr, "volta serve: --failover takes off, alert or auto, not '%s'\n",
                        failover_arg);
                return 2;
            }
            continue;
        }
        const char **slot = strcmp(a, "--data") == 0      ? &data
                            : strcmp(a, "--landing") == 0 ? &landing_dir
                            : strcmp(a, "--listen") == 0 ? &listen_addr
                            : strcmp(a, "--config") == 0 ? &config
                                                         : NULL;
        if (!slot || i + 1 >= argc) {
            fprintf(stderr,
                    slot ? "volta serve: %s needs a value\n\n"
                         : "volta serve: unknown option '%s'\n\n",
                    a);
            serve_usage(stderr);
            return 2;
        }
        *slot = argv[++i];
    }

    vt_err err;
    vt_err_clear(&err);
    volta_config *cfg = malloc(sizeof *cfg);
    if (!cfg) {
        fprintf(stderr, "volta serve: out of memory\n");
        return vt_rc_exit_code(VT_ENOMEM);
    }
    config_defaults(cfg);
    vt_rc rc = VT_OK;
    node *n = NULL;
    http_server *srv = NULL;
    meta *mt = NULL;
    gateway *gw = NULL;
    failover *fo = NULL;
    replication *repl = NULL;
    landing *land = NULL;
    int exit_code = 0;
    if (config) {
        rc = config_load_file(config, cfg, &err);
        if (rc != VT_OK) {
            fprintf(stderr, "volta serve: %s\n", err.msg);
            exit_code = rc == VT_EIO || rc == VT_ENOMEM ? vt_rc_exit_code(rc) : 2; /* usage */
            goto cleanup;
        }
    }
    /* [ask]: the docs of operational questions, and the optional phrasing endpoint */
    if (cfg->ask.docs[0])
        ask_docs_set_dir(cfg->ask.docs);
    const char *llm_key = getenv("VOLTA_LLM_API_KEY");
    ask_llm_settings llm = {.url = cfg->ask.url, .model = cfg->ask.model,
                            .api_key = cfg->ask.api_key[0] ? cfg->ask.api_key : llm_key,
                            .timeout_ms = cfg->ask.timeout_ms};
    rc = ask_llm_configure(&llm, &err);
    if (rc != VT_OK) {
        fprintf(stderr, "volta serve: %s: [ask] %s\n", config ? config : "config", err.msg);
        exit_code = 2;
        goto cleanup;
    }
    if (data)
        snprintf(cfg->data, sizeof cfg->data, "%s", data);
    if (listen_addr)
        snprintf(cfg->listen, sizeof cfg->listen, "%s", listen_addr);
    cfg->node.engine.background = true;
    cfg->node.journal_startup_hold = true; /* until the appliers and the backup chain hold it */
    cfg->node.limits.max_body_bytes = cfg->max_body_bytes;

    /* before any thread exists: every thread inherits this mask */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    node_open_info info;
    memset(&info, 0, sizeof info);
    rc = node_open(cfg->data, &cfg->node, &n, &info, &err);
    if (rc != VT_OK) {
        fprintf(stderr, "volta serve: cannot open data directory %s: %s\n", cfg->data, err.msg);
        exit_code = vt_rc_exit_code(rc);
        goto cleanup;
    }
    char fields[512];
    snprintf(fields, sizeof fields,
             "\"replayed_records\":%llu,\"replayed_points\":%llu,\"torn_bytes\":%llu,"
             "\"checkpoint_seq\":%llu,\"last_seq\":%llu,\"fsync\":\"%s\"",
             (unsigned long long)info.replayed_records, (unsigned long long)info.replayed_points,
             (unsigned long long)info.torn_bytes, (unsigned long long)info.checkpoint_seq,
             (unsigned long long)info.last_seq, fsync_name(cfg->node.journal.fsync));
    http_log("info", fields, "opened %s: replayed %llu journal records (%llu points)", cfg->data,
             (unsigned long long)info.replayed_records, (unsigned long long)info.replayed_points);
    if (info.torn_bytes)
        http_log("warn", NULL, "journal: truncated a torn tail of %llu bytes (crash mid-append)",
                 (unsigned long long)info.torn_bytes);

    if (demo_days > 0 && !engine_has_db(node_engine(n), "ons")) {
        demo_gen_options dopts;
        demo_gen_options_default(&dopts);
        dopts.days = (uint32_t)demo_days;
        uint64_t points = 0;
        http_log("info", NULL, "demo: loading %ld days of generated ONS-shaped data into "
                 "database 'ons'...", demo_days);
        rc = demo_load(n, "ons", &dopts, &points, &err);
        if (rc != VT_OK) {
            fprintf(stderr, "volta serve: demo load failed: %s\n", err.msg);
            exit_code = vt_rc_exit_code(rc);
            goto cleanup;
        }
        http_log("info", NULL, "demo: loaded %llu points into database 'ons'",
                 (unsigned long long)points);
    }

    char path[CONFIG_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/meta.db", cfg->data);
    rc = meta_open(path, &mt, &err);
    if (rc != VT_OK) {
        fprintf(stderr, "volta serve: control plane %s: %s\n", path, err.msg);
        exit_code = vt_rc_exit_code(rc);
        goto cleanup;
    }
    (void)backup_hold_start(n, mt, NULL); /* the journal chain since the last backup */
    {
        vt_err terr;
        vt_err_clear(&terr);
        unsigned stale = snapshot_remove_temporary(mt, &terr); /* a crashed backup's */
        if (stale)
            http_log("warn", NULL, "removed %u temporary snapshot(s) an interrupted backup left",
                     stale);
        if (terr.rc != VT_OK)
            http_log("error", NULL, "temporary snapshots: %s", terr.msg);
    }
    (void)snapshot_hold_start(n, mt, NULL); /* the journal since the newest snapshot */
    rc = replication_start(n, mt, cfg, &repl, &err);
    if (rc != VT_OK) {
        fprintf(stderr, "volta serve: %s\n", err.msg);
        exit_code = vt_rc_exit_code(rc);
        goto cleanup;
    }
    node_journal_release_startup_hold(n);
    for (size_t i = 0; i < cfg->nbackends; i++)
        http_log("info", NULL, "replicating to backend %s (%s %s)", cfg->backends[i].name,
                 cfg->backends[i].type,
                 cfg->backends[i].url[0] ? cfg->backends[i].url : cfg->backends[i].path);
    if (landing_dir)
        snprintf(cfg->ingest.landing, sizeof cfg->ingest.landing, "%s", landing_dir);
    if (!cfg->ingest.landing[0])
        snprintf(cfg->ingest.landing, sizeof cfg->ingest.landing, "%s/landing", cfg->data);
    if (!no_landing) {
        rc = landing_start(n, mt, cfg->ingest.landing, cfg->ingest.database, cfg->ingest.watch,
                           cfg->ingest.rescan_seconds, &land, &err);
        if (rc != VT_OK) {
            fprintf(stderr, "volta serve: landing zone %s: %s\n", cfg->ingest.landing, err.msg);
            exit_code = vt_rc_exit_code(rc);
            goto cleanup;
        }
        http_log("info", NULL, "watching landing zone %s (database '%s')", cfg->ingest.landing,
                 cfg->ingest.database);
    }

    rc = gateway_open(mt, &gw, &err); /* flags, API keys, rate limits (polls meta.db) */
    if (rc != VT_OK) {
        fprintf(stderr, "volta serve: gateway (flags, API keys) on %s: %s\n", path, err.msg);
        exit_code = vt_rc_exit_code(rc);
        goto cleanup;
    }

    if (failover_arg) {
        const char *names[] = {"failover"}, *values[] = {failover_arg};
        int64_t version = 0;
        rc = flags_set(gateway_flags(gw), 1, names, values, "cli:serve", "volta serve --failover",
                       &version, &err);
        if (rc != VT_OK) {
            fprintf(stderr, "volta serve: --failover: %s\n", err.msg);
            exit_code = vt_rc_exit_code(rc);
            goto cleanup;
        }
    }

    http_options hopts;
    http_options_default(&hopts);
    hopts.gateway = gw;
    hopts.meta = mt;
    hopts.replication = repl;
    hopts.landing = land;
    hopts.landing_db = cfg->ingest.database;
    hopts.listen = cfg->listen;
    hopts.max_body_bytes = cfg->max_body_bytes;
    hopts.threads = cfg->threads;
    rc = http_server_start(n, &hopts, &srv, &err);
    if (rc != VT_OK) {
        fprintf(stderr, "volta serve: %s\n", err.msg);
        exit_code = vt_rc_exit_code(rc);
        goto cleanup;
    }
    snprintf(fields, sizeof fields,
             "\"listen\":\"%s\",\"port\":%u,\"threads\":%u,\"version\":\"%s\"", cfg->listen,
             (unsigned)http_server_port(srv), http_server_threads(srv), VOLTA_VERSION);
    http_log("info", fields, "volta %s listening on %s", VOLTA_VERSION, cfg->listen);
    if (ask_llm_enabled())
        http_log("info", NULL, "ask: answers are also phrased by %s at %s (numbers checked)",
                 cfg->ask.model, cfg->ask.url);
    if (!http_server_is_loopback(srv) && auth_key_count(gateway_auth(gw)) == 0)
        http_log("warn", NULL,
                 "listening on a non-loopback address (%s) with no API key: protected mode "
                 "refuses every client but loopback ones until one is created "
                 "(`volta keys create --data %s --scope admin`)",
                 cfg->listen, cfg->data);
    char self_url[300];
    serve_self_url(cfg->listen, http_server_port(srv), self_url, sizeof self_url);
    rc = failover_start(srv, n, gw, self_url, &fo, &err);
    if (rc != VT_OK) {
        fprintf(stderr, "volta serve: %s\n", err.msg);
        exit_code = vt_rc_exit_code(rc);
        goto cleanup;
    }

    int sig = 0;
    while (sigwait(&stop_signals, &sig) != 0) {
    }
    http_log("info", NULL, "received %s: shutting down",
             sig == SIGTERM  ? "SIGTERM"
             : sig == SIGINT ? "SIGINT"
                             : "SIGHUP");

cleanup:
    failover_stop(fo);
    if (srv)
        http_server_stop(srv);
    gateway_close(gw);
    landing_stop(land);
    replication_stop(repl);
    if (n)
        backup_hold_stop(n);
    if (n)
        snapshot_hold_stop(n);
    meta_close(mt);
    if (n) {
        vt_err cerr;
        vt_err_clear(&cerr);
        vt_rc crc = node_close(n, &cerr);
        if (crc != VT_OK) {
            http_log("error", NULL, "close failed: %s", cerr.msg);
            if (exit_code == 0)
                exit_code = vt_rc_exit_code(crc);
        } else if (exit_code == 0) {
            http_log("info", NULL, "stopped cleanly");
        }
    }
    free(cfg);
    return exit_code;
}
