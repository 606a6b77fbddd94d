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

#endif
