/*
 * gateway/auth.h — API keys: creation, storage (hashed, never in clear), and the check made on
 * every request.
 *
 * A key is shown once, at creation: "vk_<id>_<secret>", id 12 lowercase base32 characters,
 * secret 32 random bytes in lowercase base32 (libsodium randombytes). meta.db's api_keys
 * keeps id, BLAKE2b-256 of the secret (hex), scopes, database, per-key rate, who created it and
 * when, revoked_at, last_used_at. Checking a key looks its id up in an in-memory table
 * (refreshed like the flags when control_gen moves) and compares the hashes in constant time
 * (sodium_memcmp). A request may present its key as `x-api-key: <key>`, `Authorization: Token
 * <key>`, `Authorization: Bearer <key>`, basic auth (password = key, user ignored) or the v1
 * `u`/`p` query parameters (p = key).
 *
 * Scopes: read < write < admin (admin implies write implies read), optionally limited to one
 * database (db = "" for all).
 *
 * Protected mode (as Redis'): while no (unrevoked) key exists, requests from loopback clients
 * are allowed with every scope and requests from any other address are refused 403 with a
 * message that says how to create a key. Once a key exists, every request to a protected
 * endpoint must carry a valid key.
 */
#ifndef GATEWAY_AUTH_H
#define GATEWAY_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "meta/meta.h"

typedef enum auth_scope { AUTH_NONE = 0, AUTH_READ = 1, AUTH_WRITE = 2, AUTH_ADMIN = 3 } auth_scope;

typedef struct auth auth;

vt_rc auth_open(meta *m, auth **out, vt_err *err);
void auth_close(auth *a);

/* Picks up keys created or revoked by another process (cheap when nothing changed). */
vt_rc auth_refresh(auth *a, vt_err *err);
/* Unrevoked keys in the in-memory table (0 = protected mode). */
size_t auth_key_count(auth *a);

/* What a request presents. Any field may be NULL. */
typedef struct auth_request {
    const char *x_api_key;     /* x-api-key header */
    const char *authorization; /* Authorization header: "Token k", "Bearer k", "Basic b64" */
    const char *v1_password;   /* the `p` query parameter */
    bool loopback;             /* the client address is a loopback one */
    auth_scope need;           /* what the endpoint requires */
    const char *db;            /* the database the request touches, or NULL */
} auth_request;

typedef struct auth_result {
    unsigned status;      /* 0 allowed; 401 no/bad key; 403 key lacks the scope or database,
                             or protected mode refused a non-loopback client */
    char message[256];    /* the JSON error's text when refused */
    char key_id[16];      /* the key used ("" when none: protected-mode loopback) */
    char key_db[128];     /* the one database the key is limited to ("" = every database) */
    auth_scope granted;   /* what the caller may do: the key's scope, or admin for a
                             protected-mode loopback client */
    double key_rps;       /* the key's own rate limit (0 = none) */
} auth_result;

/* Thread-safe; no allocation. Never logs or stores the presented secret. */
void auth_check(auth *a, const auth_request *in, auth_result *out);

/* The scope an InfluxQL text needs: AUTH_WRITE when any statement modifies data or schema
 * (CREATE, DROP, DELETE, ALTER, GRANT, REVOKE, KILL, SELECT ... INTO), AUTH_READ otherwise.
 * A cheap keyword scan that skips quoted strings and identifiers; never under-estimates. */
auth_scope auth_influxql_scope(const char *q, size_t len);

/* ---- management (CLI and admin API) ---- */

typedef struct auth_key_info {
    char id[16];
    char name[128];
    auth_scope scope;
    char db[128];
    double rate_rps;
    int64_t created_at;
    char created_by[128];
    int64_t revoked_at;   /* 0 = active */
    int64_t last_used_at; /* updated at most once a minute per key */
} auth_key_info;

/* Creates a key; the full key text (shown once) is written to key_out (>= 96 bytes). */
vt_rc auth_key_create(meta *m, const char *name, auth_scope scope, const char *db, double rate_rps,
                      const char *who, char *key_out, size_t key_cap, auth_key_info *info,
                      vt_err *err);
/* Every key, newest first, revoked ones included; *out malloc'ed (free()). */
vt_rc auth_key_list(meta *m, auth_key_info **out, size_t *n, vt_err *err);
/* VT_ENOTFOUND for an unknown id; revoking a revoked key is VT_OK. */
vt_rc auth_key_revoke(meta *m, const char *id, const char *who, vt_err *err);
/* Sets a key's own rate (0 = none). */
vt_rc auth_key_set_rate(meta *m, const char *id, double rate_rps, const char *who, vt_err *err);

const char *auth_scope_name(auth_scope s);
/* "read" | "write" | "admin"; VT_EINVAL otherwise. */
vt_rc auth_scope_parse(const char *s, auth_scope *out, vt_err *err);

#endif
