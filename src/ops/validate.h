/*
 * ops/validate.h — the post-rollback checklist of the runbook (§6) against a running server's
 * admin API: one "✓ item - details" / "✗ item - details" line per item, then the number of
 * failures. Items:
 *     processors active        /health 200 and every backend's applier following
 *     backup store reachable   SHOW DATABASES on the backup via /api/v1/backends/query
 *     API health               GET /health answers 200
 *     recent data              a count over the last hour > 0 on the backend reads go to
 *     maintenance mode off     the enable_maintenance_mode flag is false
 */
#ifndef OPS_VALIDATE_H
#define OPS_VALIDATE_H

#include <stdbool.h>
#include <stdio.h>

#include "ops/rollback.h"

/* Prints the checklist to out (or a JSON document when json). db: the database for the recent
 * data check (NULL: every database). Returns the exit status: 0 all pass, 1 any failed, 2 the
 * server could not be reached at all. */
int validate_run(const ops_api *api, const char *db, bool json, FILE *out);

#endif
