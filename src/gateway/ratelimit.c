/*
 * gateway/ratelimit.c — token buckets (see ratelimit.h).
 *
 * Design:
 *   - A bucket holds `tokens` (a double, at most `burst`) and the monotonic time it was last
 *     refilled. Taking refills it lazily: tokens += (now - last) * rate / 1e9, capped at burst.
 *     A clock that goes backwards (a test passing its own) refills nothing.
 *   - One mutex guards everything: a take is a few arithmetic operations, so contention is
 *     not worth anything finer.
 *   - Both buckets must have a token before either is charged: a request the key bucket refuses
 *     does not eat the global budget of the other clients (and the other way round).
 *   - Per-key buckets live in a fixed table of RL_KEYS slots (open addressing on the key id);
 *     when it is full the least recently used slot is reused. Memory stays bounded whatever
 *     the clients send (only valid key ids reach this table anyway: auth runs first).
 *   - Retry-After = ceil((1 - tokens) / rate) seconds, at least 1.
 */
#include "gateway/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RL_KEYS 1024
#define RL_KEY_MAX 32

typedef struct rl_bucket {
    double rate;   /* tokens per second; 0 = unlimited */
    double burst;  /* capacity */
    double tokens;
    int64_t last_ns;
    bool primed;   /* last_ns is meaningful */
} rl_bucket;

typedef struct rl_key {
    char id[RL_KEY_MAX]; /* "" = free slot */
    rl_bucket b;
    int64_t used_ns;
} rl_key;

struct ratelimit {
    pthread_mutex_t mu;
    rl_bucket global;
    rl_key keys[RL_KEYS];
    atomic_uint_fast64_t refused;
};

static double burst_for(double rps, double burst)
{
    if (burst <= 0)
        burst = rps;
    return burst < 1 ? 1 : burst;
}

/* Sets a bucket's rate; a bucket that was unlimited starts full, a lowered burst drops the
 * tokens above it. */
static void bucket_set(rl_bucket *b, double rps, double burst)
{
    if (!(rps > 0) || !isfinite(rps)) {
        b->rate = 0;
        b->burst = 0;
        b->tokens = 0;
        b->primed = false;
        return;
    }
    double nb = burst_for(rps, burst);
    if (b->rate == 0)
        b->tokens = nb;
    else if (b->tokens > nb)
        b->tokens = nb;
    b->rate = rps;
    b->burst = nb;
}

static void bucket_refill(rl_bucket *b, int64_t now_ns)
{
    if (!b->primed) {
        b->last_ns = now_ns;
        b->primed = true;
        return;
    }
    if (now_ns > b->last_ns) {
        b->tokens += (double)(now_ns - b->last_ns) * b->rate / 1e9;
        if (b->tokens > b->burst)
            b->tokens = b->burst;
        b->last_ns = now_ns;
    }
}

static unsigned bucket_wait_s(const rl_bucket *b)
{
    double s = ceil((1.0 - b->tokens) / b->rate);
    if (!(s >= 1))
        return 1;
    if (s > 86400)
        return 86400;
    return (unsigned)s;
}

vt_rc ratelimit_new(ratelimit **out, vt_err *err)
{
    ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl)
        return vt_err_set(err, VT_ENOMEM, "ratelimit_new: out of memory");
    if (pthread_mutex_init(&rl->mu, NULL) != 0) {
        free(rl);
        return vt_err_set(err, VT_ENOMEM, "ratelimit_new: pthread_mutex_init failed");
    }
    atomic_init(&rl->refused, 0);
    *out = rl;
    return VT_OK;
}

void ratelimit_free(ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl);
}

void ratelimit_set_global(ratelimit *rl, double rps, double burst)
{
    pthread_mutex_lock(&rl->mu);
    bucket_set(&rl->global, rps, burst);
    pthread_mutex_unlock(&rl->mu);
}

static uint64_t key_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* The slot of key id (created, or the least recently used one reused). Lock held. */
static rl_key *key_slot(ratelimit *rl, const char *id, int64_t now_ns)
{
    size_t start = (size_t)(key_hash(id) % RL_KEYS);
    rl_key *lru = NULL;
    for (size_t i = 0; i < RL_KEYS; i++) {
        rl_key *k = &rl->keys[(start + i) % RL_KEYS];
        if (k->id[0] == 0) {
            lru = k;
            break;
        }
        if (strncmp(k->id, id, RL_KEY_MAX) == 0) {
            k->used_ns = now_ns;
            return k;
        }
        if (!lru || k->used_ns < lru->used_ns)
            lru = k;
    }
    memset(lru, 0, sizeof *lru);
    snprintf(lru->id, sizeof lru->id, "%s", id);
    lru->used_ns = now_ns;
    return lru;
}

bool ratelimit_take(ratelimit *rl, const char *key_id, double key_rps, int64_t now_ns,
                    unsigned *retry_after_s, const char **which)
{
    bool ok = true;
    unsigned wait = 0;
    const char *who = NULL;
    pthread_mutex_lock(&rl->mu);
    rl_bucket *g = rl->global.rate > 0 ? &rl->global : NULL;
    rl_bucket *kb = NULL;
    if (key_id && key_id[0] && key_rps > 0 && isfinite(key_rps)) {
        rl_key *k = key_slot(rl, key_id, now_ns);
        if (k->b.rate != key_rps) {
            if (k->b.rate > 0)
                bucket_refill(&k->b, now_ns); /* what accrued at the old rate */
            bucket_set(&k->b, key_rps, 0);
        }
        kb = &k->b;
    }
    if (g) {
        bucket_refill(g, now_ns);
        if (g->tokens < 1.0) {
            ok = false;
            wait = bucket_wait_s(g);
            who = "global";
        }
    }
    if (kb) {
        bucket_refill(kb, now_ns);
        if (kb->tokens < 1.0) {
            unsigned kw = bucket_wait_s(kb);
            if (ok || kw > wait) {
                wait = kw;
                who = "key";
            }
            ok = false;
        }
    }
    if (ok) {
        if (g)
            g->tokens -= 1.0;
        if (kb)
            kb->tokens -= 1.0;
    }
    pthread_mutex_unlock(&rl->mu);
    if (!ok) {
        atomic_fetch_add(&rl->refused, 1);
        if (retry_after_s)
            *retry_after_s = wait;
        if (which)
            *which = who;
    }
    return ok;
}

uint64_t ratelimit_refused(const ratelimit *rl)
{
    return atomic_load(&((ratelimit *)rl)->refused);
}
