/*
 * gateway/gateway.h — the gateway's state for one server: the flags, the API keys and the rate
 * limits, plus a poller thread that picks up changes other processes made to meta.db (every
 * 200 ms: flags_refresh, auth_refresh, and the global bucket follows the rate flags).
 *
 *     gateway_open(meta, &gw, &err);   // volta serve, before http_server_start
 *     opts.gateway = gw;               // http_options
 *     ...  http_server_stop(srv);  gateway_close(gw);
 */
#ifndef GATEWAY_GATEWAY_H
#define GATEWAY_GATEWAY_H

#include <stdint.h>

#include "common/error.h"
#include "gateway/auth.h"
#include "gateway/flags.h"
#include "gateway/ratelimit.h"
#include "meta/meta.h"

typedef struct gateway gateway;

vt_rc gateway_open(meta *m, gateway **out, vt_err *err);
void gateway_close(gateway *gw);

flags *gateway_flags(gateway *gw);
auth *gateway_auth(gateway *gw);
ratelimit *gateway_ratelimit(gateway *gw);
meta *gateway_meta(gateway *gw);

/* Applies the rate flags to the global bucket now (the poller also does it every 200 ms):
 * called after a change made through this process's flags handle. */
void gateway_sync(gateway *gw);

/* Requests the admission (server/admission.c) refused, by reason, for /metrics. */
typedef enum gateway_refusal {
    GW_REFUSED_AUTH = 0,    /* 401/403 from auth_check */
    GW_REFUSED_MAINTENANCE, /* 503 maintenance mode */
    GW_REFUSED_RATE,        /* 429 (same as ratelimit_refused) */
    GW_REFUSED_FLUX,        /* 403 enable_flux_queries=false */
    GW_REFUSED_COUNT
} gateway_refusal;
void gateway_count_refusal(gateway *gw, gateway_refusal why);
uint64_t gateway_refused(const gateway *gw, gateway_refusal why);
/* volta_auth_failures_total */
uint64_t gateway_auth_failures(const gateway *gw);
/* volta_ratelimit_refused_total */
uint64_t gateway_ratelimit_refused(const gateway *gw);

#endif
