/*
 * server/metrics.c — per-request observations for /metrics: latency histograms by endpoint,
 * errors over the last minute, the gateway's and router's series.
 *
 * Not written yet: nothing is observed beyond http.c's request counters.
 */
#include "server/server_int.h"

void http_observe(http_request *rq, unsigned status)
{
    (void)rq;
    (void)status;
}

void http_metrics_gateway(http_server *srv, vt_buf *b)
{
    (void)srv;
    (void)b;
}
