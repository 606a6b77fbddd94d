/*
 * gateway/ratelimit.h — token buckets for the data endpoints: one global bucket and one per API
 * key, rates changed at run time (the global one follows the rate_limit_rps flag; a key's from
 * its rate_rps). A rate of 0 means unlimited. Thread-safe and cheap: a bucket is refilled
 * lazily from the monotonic clock when it is taken from.
 */
#ifndef GATEWAY_RATELIMIT_H
#define GATEWAY_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

typedef struct ratelimit ratelimit;

vt_rc ratelimit_new(ratelimit **out, vt_err *err);
void ratelimit_free(ratelimit *rl);

/* Sets the global rate (requests per second, > 0; 0 = unlimited) and burst (bucket size;
 * 0 = max(1, rate)). A lowered rate applies at once (tokens above the new burst are dropped). */
void ratelimit_set_global(ratelimit *rl, double rps, double burst);

/* Takes one token from the global bucket and, when key_id is non-NULL and key_rps > 0, from the
 * key's bucket (created on first use; burst max(1, key_rps)). Returns true when allowed; when
 * refused, *retry_after_s (>= 1) is how long until a token is available and *which says which
 * bucket refused ("global" or "key"). now_ns: monotonic clock (tests pass their own). */
bool ratelimit_take(ratelimit *rl, const char *key_id, double key_rps, int64_t now_ns,
                    unsigned *retry_after_s, const char **which);

/* Requests refused since start (for /metrics). */
uint64_t ratelimit_refused(const ratelimit *rl);

#endif
