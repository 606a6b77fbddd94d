/*
 * cli/cmd_rollback.c — `volta rollback --to backup` and `volta rollforward`: the runbook's
 * emergency rollback, driven over the admin API of the running server (ops/rollback.h; the
 * operator's guide is docs/OPERATIONS.md).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_http.h"
#include "ops/rollback.h"

static void rollback_usage(FILE *out)
{
    fprintf(out,
            "usage: volta rollback --to backup [--host URL] [--yes] [--dry-run] [--resume]\n"
            "                      [--dwell SECONDS] [--catchup-timeout SECONDS] [--db NAME]\n"
            "                      [--json] [--api-key KEY]\n"
            "       volta rollback --abort [--host URL]\n"
            "\n"
            "The runbook's emergency rollback: pre-checks (primary state, backup freshness,\n"
            "applier lags, flags, API health, time estimate), the confirmation\n"
            "`Prosseguir com rollback? (sim/nao)`, then\n"
            "  1 maintenance on, rate limit 1/s\n"
            "  2 reads to the backup (Flux off when the backup has none)\n"
            "  3 the backup's applier caught up, a count over the last 5 minutes answers\n"
            "  4 configuration (failover auto -> alert while rolled back)\n"
            "  5 count over the last hour on the backup > 0 (else abort: flags reverted),\n"
            "    maintenance off, a probe query, the ramp 10 -> 50 -> 100 -> 500 req/s\n"
            "    (stopped above 5 errors in the last minute), rate limit restored.\n"
            "The state is recorded by the server: a rollback interrupted at any point\n"
            "continues with --resume; each step is idempotent.\n"
            "\n"
            "  --to backup            the only target (reads go to the backend the server\n"
            "                         names as backup in /api/v1/backends)\n"
            "  --host URL             the running server (default http://127.0.0.1:8086)\n"
            "  --yes                  do not ask (needed when stdin is not a terminal)\n"
            "  --dry-run              print the pre-checks and the plan; change nothing\n"
            "  --resume               continue the running rollback from its recorded step\n"
            "  --abort                end the running rollback record (flags untouched)\n"
            "  --dwell SECONDS        wait at each ramp level (default 30)\n"
            "  --catchup-timeout S    bound on the wait for the backup's applier (default 60)\n"
            "  --db NAME              the database to check (default: every database)\n"
            "  --json                 a JSON summary on stdout (progress on stderr)\n"
            "  --api-key KEY          admin key (default $VOLTA_API_KEY)\n"
            "\n"
            "Exit status: 0 done; 1 a step failed or the ramp stopped (the message says what\n"
            "to do); 2 bad usage, server unreachable, not confirmed or nothing to resume.\n");
}

static void rollforward_usage(FILE *out)
{
    fprintf(out,
            "usage: volta rollforward [--host URL] [--yes] [--dry-run] [--catchup-timeout S]\n"
            "                         [--json] [--api-key KEY]\n"
            "\n"
            "Returns reads to the primary after a rollback, once the primary is healthy\n"
            "(/health 200, no node failure) and every backend is caught up (lag 0, waited for\n"
            "at most --catchup-timeout seconds, default 60): read_backend=primary, Flux and the\n"
            "failover mode back to their pre-rollback values, a probe query. Confirmation\n"
            "`Prosseguir com rollforward? (sim/nao)` unless --yes.\n"
            "\n"
            "Exit status: 0 done; 1 not ready or a step failed; 2 bad usage, server\n"
            "unreachable or not confirmed.\n");
}

static bool confirm_tty(void *ctx, const char *prompt)
{
    (void)ctx;
    for (;;) {
        fputs(prompt, stderr);
        fflush(stderr);
        char line[64];
        if (!fgets(line, sizeof line, stdin))
            return false;
        line[strcspn(line, "\r\n")] = '\0';
        if (!strcasecmp(line, "sim") || !strcasecmp(line, "s") || !strcasecmp(line, "yes") ||
            !strcasecmp(line, "y"))
            return true;
        if (!strcasecmp(line, "nao") || !strcasecmp(line, "não") || !strcasecmp(line, "n") ||
            !strcasecmp(line, "no"))
            return false;
        fputs("responda sim ou nao (yes/no)\n", stderr);
    }
}

/* Shared option parsing. Returns -1 to go on, else the exit status. */
static int parse(int argc, char **argv, bool forward, rollback_options *o, bool *yes)
{
    const char *cmd = forward ? "rollforward" : "rollback";
    const char *to = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            (forward ? rollforward_usage : rollback_usage)(stdout);
            return 0;
        } else if (!strcmp(a, "--yes") || !strcmp(a, "-y")) {
            *yes = true;
        } else if (!strcmp(a, "--dry-run")) {
            o->dry_run = true;
        } else if (!strcmp(a, "--json")) {
            o->json = true;
        } else if (!forward && !strcmp(a, "--resume")) {
            o->resume = true;
        } else if (!forward && !strcmp(a, "--abort")) {
            o->abort_running = true;
        } else if (!strcmp(a, "--host") && has) {
            o->api.host = argv[++i];
        } else if (!strcmp(a, "--api-key") && has) {
            setenv("VOLTA_API_KEY", argv[++i], 1);
        } else if (!forward && !strcmp(a, "--to") && has) {
            to = argv[++i];
        } else if (!forward && !strcmp(a, "--db") && has) {
            o->db = argv[++i];
        } else if ((!forward && !strcmp(a, "--dwell")) || !strcmp(a, "--catchup-timeout")) {
            char *end = NULL;
            double v = has ? strtod(argv[i + 1], &end) : -1;
            if (!has || !end || *end || v < 0) {
                fprintf(stderr, "volta %s: %s expects a number of seconds >= 0\n", cmd, a);
                return 2;
            }
            *(a[2] == 'd' ? &o->dwell_s : &o->catchup_s) = v;
            i++;
        } else {
            fprintf(stderr, "volta %s: unknown option or missing value: %s\n\n", cmd, a);
            (forward ? rollforward_usage : rollback_usage)(stderr);
            return 2;
        }
    }
    if (!forward && !o->abort_running && (!to || strcmp(to, "backup") != 0)) {
        fprintf(stderr, "volta rollback: %s\n\n",
                to ? "the only rollback target is --to backup" : "missing --to backup");
        rollback_usage(stderr);
        return 2;
    }
    if (!o->dry_run && !o->abort_running && !*yes && !isatty(STDIN_FILENO)) {
        fprintf(stderr, "volta %s: stdin is not a terminal: pass --yes to proceed without the "
                        "confirmation (or --dry-run to see the plan)\n",
                cmd);
        return 2;
    }
    return -1;
}

static int run(int argc, char **argv, bool forward)
{
    rollback_options o;
    rollback_options_default(&o);
    o.api.http = cli_http;
    char who[160];
    cli_user(who, sizeof who);
    o.who = who;
    bool yes = false;
    int rc = parse(argc, argv, forward, &o, &yes);
    if (rc >= 0)
        return rc;
    if (!yes)
        o.confirm = confirm_tty;
    return forward ? rollforward_run(&o) : rollback_run(&o);
}

int cmd_rollback(int argc, char **argv)
{
    return run(argc, argv, false);
}

int cmd_rollforward(int argc, char **argv)
{
    return run(argc, argv, true);
}
