/*
 * server/failover.h — automatic failover: the runbook's rollback triggers watched by the server
 * itself (flag `failover` = off | alert | auto; gateway/flags.h).
 *
 * A monitor thread looks once a second at
 *   - unavailability: the node refuses writes (a journal or engine write/fsync failure,
 *     node_failed) for longer than `failover_unavailable_s` (default 1800 s, the runbook's 30 min);
 *   - corruption: a segment block failed its checksum on a read (the engine's corrupt-block count
 *     grew since the server started);
 *   - latency: a query class's p95 above `failover_latency_pct` (default 300) % of its recorded
 *     baseline (server/metrics.h, http_latency_degraded).
 * Nothing is evaluated while reads already go to the backup or a rollback is running.
 *
 * On a trigger (once per episode: a condition must clear before it fires again):
 *   alert  an error line in the log ({"msg":"failover trigger: ..."}), an audit entry
 *          `failover.alert`, and volta_failover_triggers_total{reason,action="alert"};
 *   auto   the same with action "rollback", then the rollback itself: this executable is run
 *          as `volta rollback --to backup --yes --dwell <failover_ramp_dwell_s> --host <this
 *          server>`, with a temporary admin API key (created for it, revoked when it ends;
 *          both audited) in VOLTA_API_KEY; its output goes to <data>/failover-<time>.log and
 *          its exit status to the audit log (`failover.rollback`).
 */
#ifndef SERVER_FAILOVER_H
#define SERVER_FAILOVER_H

#include "common/buf.h"
#include "common/error.h"
#include "core/node.h"
#include "gateway/gateway.h"
#include "server/http.h"

typedef struct failover failover;

/* self_url: how the rollback reaches this server ("http://127.0.0.1:8086"). */
vt_rc failover_start(http_server *srv, node *n, gateway *gw, const char *self_url,
                     failover **out, vt_err *err);
/* Stops the monitor (a rollback it started keeps running to its end: it is waited for). */
void failover_stop(failover *f);

/* volta_failover_triggers_total for /metrics (process-wide). */
void failover_metrics(vt_buf *b);

#endif
