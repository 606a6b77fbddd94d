/*
 * cli/cmd_recover.c — `volta recover`: the runbook's primary instance recovery (ops/recover.h
 * does the work). This file asks the primary's server for /health (when --host is given),
 * prints the report, and with --serve execs `volta serve` on the recovered directory.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_http.h"
#include "common/buf.h"
#include "ops/recover.h"

static void recover_usage(FILE *out)
{
    fprintf(out,
            "usage: volta recover --data DIR [ID] [--repo DIR] [--host URL] [--to DIR]\n"
            "                     [--dry-run] [--json] [--threads N]\n"
            "                     [--serve ADDR [--config FILE]]\n"
            "\n"
            "The runbook's primary instance recovery. Assesses the primary (its server's\n"
            "/health with --host; otherwise its data directory, verified offline): available ->\n"
            "a health report, nothing changed. Failed or missing -> the newest snapshot (from\n"
            "the primary's catalog) or backup (from --repo), or ID, restored into\n"
            "<DIR>-recovery, rolled forward through the archived and surviving journal,\n"
            "verified; the control plane (keys, flags, ledger) copied when readable; backends\n"
            "and ledger files past the recovered journal set to be replayed and reloaded.\n"
            "\n"
            "  --data DIR       the primary's data directory\n"
            "  --repo DIR       a backup repository to recover from\n"
            "  --host URL       the primary's server (asked for /health)\n"
            "  --to DIR         the recovered directory (default <DIR>-recovery)\n"
            "  --dry-run        assess and choose the source; change nothing\n"
            "  --serve ADDR     then run `volta serve --data <recovered> --listen ADDR`\n"
            "  --config FILE    with --serve: the server's configuration file\n"
            "  --threads N      restore copy workers (default 4)\n"
            "  --json           the report as JSON\n"
            "\n"
            "Exit status: 0 the primary is available, or it was recovered and verified;\n"
            "1 recovery failed or nothing to recover from; 2 bad usage.\n");
}

static void show_progress(void *ctx, const restore_progress *p)
{
    (void)ctx;
    double mb = (double)p->bytes_done / 1e6;
    fprintf(stderr, "\rvolta recover: %" PRIu64 "/%" PRIu64 " files, %.1f/%.1f MB   %s",
            p->files_done, p->files_total, mb, (double)p->bytes_total / 1e6, p->done ? "\n" : "");
    fflush(stderr);
}

/* GET <host>/health: its status, or -1 when the server cannot be reached. */
static int health_status(const char *host)
{
    char url[2048], errbuf[512];
    snprintf(url, sizeof url, "%s/health", host);
    vt_buf resp;
    vt_buf_init(&resp);
    long status = 0;
    int rc = cli_http("GET", url, NULL, 0, NULL, 5, &resp, &status, errbuf);
    vt_buf_free(&resp);
    return rc == 0 ? (int)status : -1;
}

static void print_json(const recover_options *o, const recover_result *r, vt_rc rc,
                       const vt_err *err)
{
    json_t *j = json_object();
    json_object_set_new(j, "primary", json_string(primary_state_name(r->state)));
    json_object_set_new(j, "detail", json_string(r->state_detail));
    json_object_set_new(j, "dry_run", json_boolean(o->dry_run));
    json_object_set_new(j, "recovered", json_boolean(r->recovered));
    if (r->source_id[0]) {
        json_object_set_new(j, "source", json_pack("{s:s,s:s,s:s,s:I}", "kind", r->source_kind,
                                                   "id", r->source_id, "where", r->source_where,
                                                   "seq", (json_int_t)r->source_seq));
        json_object_set_new(j, "target", json_string(r->restore.target));
    }
    if (r->recovered) {
        json_object_set_new(
            j, "restore",
            json_pack("{s:I,s:I,s:I,s:I,s:b,s:s,s:f}", "files", (json_int_t)r->restore.files,
                      "bytes", (json_int_t)r->restore.bytes, "seq", (json_int_t)r->restore.seq,
                      "replayed_records", (json_int_t)r->restore.chained_records, "verified",
                      r->restore.verified, "note", r->replay_note, "seconds",
                      r->restore.seconds));
        if (r->restore.partial)
            json_object_set_new(j, "roll_forward_end", json_string(r->restore.partial_reason));
        json_object_set_new(j, "primary_last_seq", json_integer((json_int_t)r->primary_last_seq));
        json_object_set_new(j, "missing_records", json_integer((json_int_t)r->missing_records));
        json_object_set_new(j, "missing_held_by", json_string(r->holders));
        json_object_set_new(j, "control_plane_copied", json_boolean(r->meta_copied));
        json_object_set_new(j, "cursors_moved_back", json_integer(r->cursors_moved_back));
        json_object_set_new(j, "files_to_reload", json_integer(r->files_reloaded));
    }
    if (rc != VT_OK)
        json_object_set_new(j, "error", json_string(err->msg));
    json_object_set_new(j, "seconds", json_real(r->seconds));
    char *s = json_dumps(j, JSON_COMPACT);
    if (s)
        printf("%s\n", s);
    free(s);
    json_decref(j);
}

static void print_text(const recover_options *o, const recover_result *r)
{
    printf("primary %s: %s\n", primary_state_name(r->state), r->state_detail);
    if (r->state == PRIMARY_AVAILABLE) {
        printf("nothing to recover (%.2f s)\n", r->seconds);
        return;
    }
    printf("source: %s %s (%s), journal up to seq %" PRIu64 "\n", r->source_kind, r->source_id,
           r->source_where, r->source_seq);
    if (o->dry_run) {
        printf("dry run: would restore into %s and roll forward; nothing changed\n",
               r->restore.target);
        return;
    }
    const restore_result *x = &r->restore;
    printf("restored into %s: %" PRIu64 " files, %.1f MB, journal up to seq %" PRIu64
           " (%" PRIu64 " record(s) replayed past the %s), verified: %s\n",
           x->target, x->files, (double)x->bytes / 1e6, x->seq, x->chained_records,
           r->source_kind, x->verified ? "yes" : "NO");
    if (r->replay_note[0])
        printf("note: %s\n", r->replay_note);
    /* "the archive ends before the requested time" is the expected end of a roll-forward "as
     * far as records go"; any other reason is a gap worth reading */
    if (x->partial && !strstr(x->partial_reason, "before the requested time"))
        printf("roll-forward stopped: %s\n", x->partial_reason);
    if (r->primary_last_seq > 0)
        printf("primary journal ended at seq %" PRIu64 ": %" PRIu64 " record(s) not recovered%s%s\n",
               r->primary_last_seq, r->missing_records,
               r->holders[0] && r->missing_records ? "; applied by backend(s) " : "",
               r->missing_records ? r->holders : "");
    else
        printf("the primary's journal could not be read to its end: records after seq %" PRIu64
               " may be missing%s%s\n",
               x->seq, r->holders[0] ? "; backends past it: " : "", r->holders);
    if (r->meta_copied)
        printf("control plane copied (keys, flags, ledger): %u backend cursor(s) moved back, "
               "%u ledger file(s) to reload from the landing zone\n",
               r->cursors_moved_back, r->files_reloaded);
    else
        printf("control plane: the primary's meta.db could not be read; the recovered instance "
               "starts with a fresh one (create API keys again)\n");
    printf("recovered in %.2f s; serve it: volta serve --data %s\n", r->seconds, x->target);
}

int cmd_recover(int argc, char **argv)
{
    recover_options o;
    recover_options_default(&o);
    const char *host = NULL, *serve = NULL, *config = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_next = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            recover_usage(stdout);
            return 0;
        } else if (strcmp(a, "--data") == 0 && has_next) {
            o.data = argv[++i];
        } else if (strcmp(a, "--repo") == 0 && has_next) {
            o.repo = argv[++i];
        } else if (strcmp(a, "--host") == 0 && has_next) {
            host = argv[++i];
        } else if (strcmp(a, "--to") == 0 && has_next) {
            o.to = argv[++i];
        } else if (strcmp(a, "--serve") == 0 && has_next) {
            serve = argv[++i];
        } else if (strcmp(a, "--config") == 0 && has_next) {
            config = argv[++i];
        } else if (strcmp(a, "--threads") == 0 && has_next) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > 64) {
                fprintf(stderr, "volta recover: --threads: a number from 1 to 64, got '%s'\n",
                        argv[i]);
                return 2;
            }
            o.threads = (unsigned)v;
        } else if (strcmp(a, "--dry-run") == 0) {
            o.dry_run = true;
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (a[0] != '-' && !o.id) {
            o.id = a;
        } else {
            fprintf(stderr, "volta recover: unknown or incomplete option '%s'\n", a);
            recover_usage(stderr);
            return 2;
        }
    }
    if (!o.data) {
        fprintf(stderr, "volta recover: --data DIR (the primary's data directory) is required\n");
        recover_usage(stderr);
        return 2;
    }
    if (config && !serve) {
        fprintf(stderr, "volta recover: --config goes with --serve\n");
        return 2;
    }
    if (host)
        o.health_status = health_status(host);
    if (!json && isatty(STDERR_FILENO)) {
        o.progress = show_progress;
    }
    recover_result r;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = recover_run(&o, &r, &err);
    if (json)
        print_json(&o, &r, rc, &err);
    else if (rc == VT_OK)
        print_text(&o, &r);
    if (rc != VT_OK) {
        if (!json) {
            printf("primary %s: %s\n", primary_state_name(r.state), r.state_detail);
            fprintf(stderr, "volta recover: %s\n", err.msg);
        }
        return 1;
    }
    if (r.state == PRIMARY_AVAILABLE || o.dry_run)
        return 0;
    if (!r.recovered)
        return 1;
    if (serve) {
        fflush(stdout);
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0) {
            fprintf(stderr, "volta recover: cannot find the volta executable: %s\n",
                    strerror(errno));
            return 1;
        }
        self[n] = '\0';
        char *args[10];
        int k = 0;
        args[k++] = self;
        args[k++] = "serve";
        args[k++] = "--data";
        args[k++] = r.restore.target;
        args[k++] = "--listen";
        args[k++] = (char *)serve;
        if (config) {
            args[k++] = "--config";
            args[k++] = (char *)config;
        }
        args[k] = NULL;
        execv(self, args);
        fprintf(stderr, "volta recover: exec %s serve: %s\n", self, strerror(errno));
        return 1;
    }
    return 0;
}
