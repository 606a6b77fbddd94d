/*
 * ops/rollback.h — the runbook's emergency rollback (and rollforward) as a state machine
 * driven over the admin API of a running server (docs/OPERATIONS.md; design notes at the top
 * of rollback.c). The state is the server's rollback record (meta/meta_rollback.h, reached
 * through /api/v1/rollback): this process holds nothing that a kill -9 could lose.
 *
 * The HTTP transport is a parameter (the CLI passes cli_http), so this module depends on no
 * front-end. Output goes to o->out (the report and one line per step).
 */
#ifndef OPS_ROLLBACK_H
#define OPS_ROLLBACK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/buf.h"

/* Same contract as cli_http (cli/cli_http.h): 0 with *status, or -1 with errbuf (>= 256 bytes). */
typedef int (*ops_http_fn)(const char *method, const char *url, const char *body, size_t len,
                           const char *content_type, long timeout_s, vt_buf *resp, long *status,
                           char *errbuf);

/* A client of one server's admin API. */
typedef struct ops_api {
    const char *host; /* "http://127.0.0.1:8086" */
    ops_http_fn http;
} ops_api;

/* method path [body] -> *status and *doc (the parsed JSON answer, NULL when not JSON; caller
 * json_decref's it). Returns 0, or -1 when the server could not be reached (errbuf says why). */
int ops_api_call(const ops_api *a, const char *method, const char *path, json_t *body,
                 long *status, json_t **doc, char errbuf[512]);
/* The count of points in the last `window` ("1h", "5m") on backend ("primary" | "backup" |
 * name) over every measurement of db (NULL: of every database but _internal), and the time of
 * the newest one (*max_ns, 0 when none). Returns 0, or -1 with errbuf. */
int ops_backend_freshness(const ops_api *a, const char *backend, const char *db,
                          const char *window, unsigned long long *count, long long *max_ns,
                          char *db_used, size_t db_cap, char errbuf[512]);

typedef struct rollback_options {
    ops_api api;
    const char *db;        /* the database to check; NULL = every database */
    double dwell_s;        /* seconds at each ramp level (default 30) */
    double catchup_s;      /* bound on the wait for the backup's applier (default 60) */
    bool dry_run;          /* print the plan and the pre-checks, change nothing */
    bool resume;           /* continue the running record from its recorded step */
    bool abort_running;    /* end the running record as aborted (flags untouched) */
    bool json;             /* a JSON summary on stdout (the human lines then go to stderr) */
    const char *who;       /* recorded as the actor: "cli:<user>" */
    /* Asks the operator (NULL: proceed). Returns true to go on. */
    bool (*confirm)(void *ctx, const char *prompt);
    void *confirm_ctx;
} rollback_options;

void rollback_options_default(rollback_options *o);

/* `volta rollback --to backup`. Returns the exit status: 0 done (reads served by the backup,
 * traffic restored); 1 failed or stopped (the message says which step and what to do);
 * 2 could not run (server unreachable, refused confirmation, nothing to resume). */
int rollback_run(const rollback_options *o);
/* `volta rollforward`: reads back to the primary once it is healthy and every backend caught up. */
int rollforward_run(const rollback_options *o);

#endif
