/*
 * server/route.h — what the read router (route.c) shares with the admin handlers.
 */
#ifndef SERVER_ROUTE_H
#define SERVER_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

/* Does the InfluxQL text q[0..len) change data or schema (CREATE, DROP, DELETE, ALTER, SELECT
 * ... INTO, GRANT, KILL ...)? Parsed with the InfluxQL parser; text that does not parse (bind
 * parameters without their values ...) falls back to auth_influxql_scope's keyword scan, which
 * never under-estimates. Such statements always run on the primary, whose journal replicates
 * them: run on a backup alone they would fork it. */
bool route_influxql_modifies(const char *q, size_t len);

#endif
