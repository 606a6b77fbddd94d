/*
 * meta/meta_keys.h — the SQL of the API keys (meta.db schema v3: table api_keys). What a key
 * means, how it is generated and checked lives in gateway/auth.c; this layer stores rows.
 *
 *     api_keys  id (12 base32 chars), name, hash (hex BLAKE2b-256 of the secret — never the
 *               secret), scopes ("read" | "write" | "admin"), db ("" = every database),
 *               rate_rps, created_at / revoked_at / last_used_at (ns since the epoch; 0 = never),
 *               created_by.
 *
 * Every change (insert, revoke, rate) is one transaction (BEGIN IMMEDIATE) that also appends
 * the audit row (actions "keys.create", "keys.revoke", "keys.rate"), so the table and the audit
 * log never disagree. Triggers bump control_gen on those changes (not on last_used_at, which
 * auth_refresh writes without waking every server).
 */
#ifndef META_META_KEYS_H
#define META_META_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "meta/meta.h"

#define META_KEY_ID_LEN 12
#define META_KEY_HASH_HEX 64

typedef struct meta_key_row {
    char id[16];
    char name[128];
    char hash[META_KEY_HASH_HEX + 1];
    char scopes[16];
    char db[128];
    double rate_rps;
    int64_t created_at;
    char created_by[128];
    int64_t revoked_at;
    int64_t last_used_at;
} meta_key_row;

/* Inserts a key (VT_EEXIST when the id is taken) and its audit row. */
vt_rc meta_keys_insert(meta *m, const meta_key_row *row, vt_err *err);

/* Every key (active_only: those with revoked_at = 0), newest first, and control_gen read in
 * the same snapshot (gen may be NULL). *out malloc'ed (free()), NULL when none. */
vt_rc meta_keys_load(meta *m, bool active_only, meta_key_row **out, size_t *n, int64_t *gen,
                     vt_err *err);

/* Sets revoked_at = at (kept when already revoked: *was_revoked = true, nothing written).
 * VT_ENOTFOUND for an unknown id. */
vt_rc meta_keys_revoke(meta *m, const char *id, int64_t at, const char *who, bool *was_revoked,
                       vt_err *err);

/* Sets a key's own rate. VT_ENOTFOUND for an unknown id. */
vt_rc meta_keys_set_rate(meta *m, const char *id, double rate_rps, const char *who, vt_err *err);

/* Writes last_used_at = at[i] for ids[i] (only ever moving it forward), in one transaction. */
vt_rc meta_keys_touch(meta *m, const char (*ids)[16], const int64_t *at, size_t n, vt_err *err);

#endif
