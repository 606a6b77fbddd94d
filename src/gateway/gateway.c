/*
 * gateway/gateway.c — the gateway's state for one server (see gateway.h).
 *
 * Design: gateway_open loads the flags and the keys, sets the global bucket from the rate
 * flags and starts one poller thread. Every GW_POLL_MS the poller calls flags_refresh and
 * auth_refresh (each compares control_gen first, so an idle tick is one tiny SELECT each) and
 * re-applies the rate flags to the global bucket (idempotent when they did not change). A
 * failing poll (meta.db busy past its 5 s timeout, disk error) is logged once per distinct
 * message and retried on the next tick: the server keeps its last known state.
 * gateway_close stops the poller (condition variable, so it does not wait a whole tick).
 */
#include "gateway/gateway.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/thread.h"

#define GW_POLL_MS 200

struct gateway {
    meta *m;
    flags *flags;
    auth *auth;
    ratelimit *rl;
    pthread_t poller;
    bool poller_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    char last_error[VT_ERR_MSG_MAX];
    atomic_uint_fast64_t refused[GW_REFUSED_COUNT];
};

void gateway_sync(gateway *gw)
{
    ratelimit_set_global(gw->rl, flags_rate_limit_rps(gw->flags), flags_rate_limit_burst(gw->flags));
}

static void poll_once(gateway *gw)
{
    vt_err err = {0};
    vt_rc rc = flags_refresh(gw->flags, NULL, &err);
    if (rc == VT_OK)
        rc = auth_refresh(gw->auth, &err);
    gateway_sync(gw);
    if (rc != VT_OK && strcmp(err.msg, gw->last_error) != 0) {
        vt_log("warn", "gateway", "refreshing flags/keys from meta.db failed (will retry): %s",
               err.msg);
        snprintf(gw->last_error, sizeof gw->last_error, "%s", err.msg);
    } else if (rc == VT_OK && gw->last_error[0]) {
        vt_log("info", "gateway", "refreshing flags/keys from meta.db works again");
        gw->last_error[0] = 0;
    }
}

static void *poller_main(void *arg)
{
    gateway *gw = arg;
    vt_thread_name("volta-gateway");
    pthread_mutex_lock(&gw->mu);
    while (!gw->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += GW_POLL_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec += 1;
            until.tv_nsec -= 1000000000L;
        }
        int w = 0;
        while (!gw->stop && w != ETIMEDOUT)
            w = pthread_cond_timedwait(&gw->cv, &gw->mu, &until);
        if (gw->stop)
            break;
        pthread_mutex_unlock(&gw->mu);
        poll_once(gw);
        pthread_mutex_lock(&gw->mu);
    }
    pthread_mutex_unlock(&gw->mu);
    return NULL;
}

vt_rc gateway_open(meta *m, gateway **out, vt_err *err)
{
    if (!m || !out)
        return vt_err_set(err, VT_EINVAL, "gateway_open: NULL argument");
    gateway *gw = calloc(1, sizeof *gw);
    if (!gw)
        return vt_err_set(err, VT_ENOMEM, "gateway_open: out of memory");
    gw->m = m;
    for (int i = 0; i < GW_REFUSED_COUNT; i++)
        atomic_init(&gw->refused[i], 0);
    pthread_condattr_t ca;
    bool sync_ok = pthread_mutex_init(&gw->mu, NULL) == 0;
    if (sync_ok && pthread_condattr_init(&ca) == 0) {
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        if (pthread_cond_init(&gw->cv, &ca) != 0) {
            pthread_mutex_destroy(&gw->mu);
            sync_ok = false;
        }
        pthread_condattr_destroy(&ca);
    } else if (sync_ok) {
        pthread_mutex_destroy(&gw->mu);
        sync_ok = false;
    }
    if (!sync_ok) {
        free(gw);
        return vt_err_set(err, VT_ENOMEM, "gateway_open: pthread init failed");
    }
    vt_rc rc = flags_open(m, &gw->flags, err);
    if (rc == VT_OK)
        rc = auth_open(m, &gw->auth, err);
    if (rc == VT_OK)
        rc = ratelimit_new(&gw->rl, err);
    if (rc == VT_OK) {
        gateway_sync(gw);
        if (pthread_create(&gw->poller, NULL, poller_main, gw) != 0)
            rc = vt_err_set(err, VT_ENOMEM, "gateway_open: cannot start the poller thread");
        else
            gw->poller_started = true;
    }
    if (rc != VT_OK) {
        gateway_close(gw);
        return rc;
    }
    *out = gw;
    return VT_OK;
}

void gateway_close(gateway *gw)
{
    if (!gw)
        return;
    if (gw->poller_started) {
        pthread_mutex_lock(&gw->mu);
        gw->stop = true;
        pthread_cond_broadcast(&gw->cv);
        pthread_mutex_unlock(&gw->mu);
        pthread_join(gw->poller, NULL);
    }
    ratelimit_free(gw->rl);
    if (gw->auth)
        auth_close(gw->auth);
    flags_close(gw->flags);
    pthread_cond_destroy(&gw->cv);
    pthread_mutex_destroy(&gw->mu);
    free(gw);
}

flags *gateway_flags(gateway *gw)
{
    return gw->flags;
}

auth *gateway_auth(gateway *gw)
{
    return gw->auth;
}

ratelimit *gateway_ratelimit(gateway *gw)
{
    return gw->rl;
}

meta *gateway_meta(gateway *gw)
{
    return gw->m;
}

void gateway_count_refusal(gateway *gw, gateway_refusal why)
{
    if (gw && (unsigned)why < GW_REFUSED_COUNT)
        atomic_fetch_add(&gw->refused[why], 1);
}

uint64_t gateway_refused(const gateway *gw, gateway_refusal why)
{
    if (!gw || (unsigned)why >= GW_REFUSED_COUNT)
        return 0;
    return atomic_load(&((gateway *)gw)->refused[why]);
}

uint64_t gateway_auth_failures(const gateway *gw)
{
    return gateway_refused(gw, GW_REFUSED_AUTH);
}

uint64_t gateway_ratelimit_refused(const gateway *gw)
{
    return gw ? ratelimit_refused(gw->rl) : 0;
}
