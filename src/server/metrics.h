/*
 * server/metrics.h — what the server measures about its own answers, for /metrics, the admin
 * API (GET /api/v1/backends), `volta status` and the failover trigger (query latency above
 * failover_latency_pct of the recorded baseline).
 *
 * Query classes: every 2xx answer of a query endpoint is one latency sample of its class —
 *     influxql_select   /query whose (first) statement is a SELECT
 *     influxql_meta     /query with any other statement (SHOW, CREATE, DROP, ...)
 *     flux              /api/v2/query
 *     ask               POST /query with a JSON body (a natural-language question)
 * Quantiles are taken over the samples of the last HTTP_LATENCY_WINDOW_S seconds (at most the
 * last 2048 per class). A streamed /query is measured until its last byte is written.
 *
 * The state is process-wide (one `volta serve` per process): servers started side by side in one
 * process (unit tests) share it.
 */
#ifndef SERVER_METRICS_H
#define SERVER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "server/http.h"

typedef enum http_qclass {
    HTTP_QC_NONE = -1,
    HTTP_QC_INFLUXQL_SELECT = 0,
    HTTP_QC_INFLUXQL_META,
    HTTP_QC_FLUX,
    HTTP_QC_ASK,
    HTTP_QC_COUNT
} http_qclass;

/* Seconds of samples the current quantiles are taken over. */
#define HTTP_LATENCY_WINDOW_S 300
/* Fewest samples in the window for a class to be compared with (or recorded as) a baseline. */
#define HTTP_LATENCY_MIN_SAMPLES 20
/* Baselines below this are compared as this (a 0.2 ms query becoming 0.8 ms is no degradation). */
#define HTTP_LATENCY_BASELINE_FLOOR_MS 1.0

const char *http_qclass_name(http_qclass c);

typedef struct http_latency_class {
    const char *cls;
    size_t samples; /* in the window */
    double p50_ms, p95_ms, p99_ms;
    bool has_baseline;
    double base_p50_ms, base_p95_ms;
    int64_t base_samples;
    int64_t base_recorded_at; /* ns wall clock */
    /* current p95 / max(baseline p95, floor) * 100; 0 without a baseline or samples */
    double ratio_pct;
} http_latency_class;

/* Current latency of every class, with its baseline (read from meta.db at most every few
 * seconds). */
void http_latency_get(http_server *srv, http_latency_class out[HTTP_QC_COUNT]);

/* 5xx answers of the data endpoints (/write, /api/v2/write, /query, /api/v2/query) in the last
 * 60 seconds. */
uint64_t http_errors_last_minute(http_server *srv);

/* Records the current p50/p95 of every class with at least min_samples samples as its baseline
 * (meta.db query_baselines; audit "baseline.record" by who). *recorded = how many classes, names
 * listed in names (may be NULL) separated by ", ". VT_EINVAL "no query class has ..." when none
 * has enough samples; VT_EINVAL when the server has no control plane. */
vt_rc http_latency_record_baseline(http_server *srv, size_t min_samples, const char *who,
                                   size_t *recorded, char *names, size_t names_cap, vt_err *err);

/* The failover trigger: true when a class with a baseline and at least HTTP_LATENCY_MIN_SAMPLES
 * samples has ratio_pct above pct; why (may be NULL) says which and by how much. */
bool http_latency_degraded(http_server *srv, double pct, char *why, size_t cap);

/* 0 no rollback or the last one done, 1 one running, 2 the last one failed or aborted (the
 * volta_rollback_state series; cached a few seconds). */
int http_rollback_state(http_server *srv);

/* ---- for the handlers (server_int.h's http_request) ---- */

struct http_request;
/* The class of a query request, or HTTP_QC_NONE. */
http_qclass http_query_class(struct http_request *rq);
/* A streamed /query finished: counts its whole duration (start_ns: http_mono_ns at its start). */
void http_observe_stream_end(http_server *srv, int ep, http_qclass cls, int64_t start_ns);

#endif
