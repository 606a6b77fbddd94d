/*
 * cli/cmd_validate.c — `volta validate`: the post-rollback checklist (ops/validate.h).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_http.h"
#include "ops/validate.h"

static void validate_usage(FILE *out)
{
    fprintf(out,
            "usage: volta validate [--host URL] [--db NAME] [--json] [--api-key KEY]\n"
            "\n"
            "The post-rollback checklist, one line per item (✓ item - details / ✗ item -\n"
            "details), then the number of failures:\n"
            "  processors active       /health 200 and every backend's applier following\n"
            "  backup store reachable  SHOW DATABASES answered by the backup backend\n"
            "  API health              GET /health answers 200\n"
            "  recent data             points in the last hour on the backend reads go to\n"
            "  maintenance mode off    enable_maintenance_mode is false\n"
            "\n"
            "  --host URL     the running server (default http://127.0.0.1:8086)\n"
            "  --db NAME      the database of the recent-data item (default: every database)\n"
            "  --json         {\"items\":[{\"item\",\"ok\",\"detail\"}],\"failures\":N,\"ok\":bool}\n"
            "  --api-key KEY  admin key (default $VOLTA_API_KEY)\n"
            "\n"
            "Exit status: 0 every item passed; 1 any failed; 2 bad usage or server unreachable.\n");
}

int cmd_validate(int argc, char **argv)
{
    ops_api api = {.host = "http://127.0.0.1:8086", .http = cli_http};
    const char *db = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            validate_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--host") && i + 1 < argc) {
            api.host = argv[++i];
        } else if (!strcmp(a, "--db") && i + 1 < argc) {
            db = argv[++i];
        } else if (!strcmp(a, "--api-key") && i + 1 < argc) {
            setenv("VOLTA_API_KEY", argv[++i], 1);
        } else {
            fprintf(stderr, "volta validate: unknown option or missing value: %s\n\n", a);
            validate_usage(stderr);
            return 2;
        }
    }
    return validate_run(&api, db, json, stdout);
}
