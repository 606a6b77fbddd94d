/*
 * server/metrics.c — per-request observations for /metrics (server/metrics.h): latency
 * histograms by endpoint, 5xx answers of the data endpoints over the last minute, query latency
 * per class with its recorded baseline, and the gateway's and router's series.
 *
 * NOTES ON THE DESIGN
 *  1. The request path stays cheap: http_observe does one atomic add per histogram bucket and
 *     sum, one compare-and-swap when the answer is a 5xx of a data endpoint, and — for a 2xx
 *     answer of a query endpoint — one short mutex-held store into its class's sample window.
 *     Sorting for quantiles happens only on a scrape (common/window.h).
 *  2. Streamed /query answers (handlers_v1.c) are queued before the query runs; such a request
 *     is marked rq->streamed and its query thread reports its full duration at the end
 *     (http_observe_stream_end) instead.
 *  3. What lives in meta.db (the baselines, the latest rollback record) is read at most every
 *     METRICS_CACHE_NS, under a mutex, so a scrape storm does not become a SQLite storm and the
 *     request path never touches SQLite.
 *  4. The state is process-wide (see metrics.h): plain statics, the windows' mutexes created
 *     once (pthread_once), nothing allocated, so nothing leaks.
 */
#include "server/metrics.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/window.h"
#include "gateway/gateway.h"
#include "meta/meta_baseline.h"
#include "meta/meta_rollback.h"
#include "server/server_int.h"

#define METRICS_CACHE_NS (5ll * 1000 * 1000 * 1000)

static const char *const qclass_names[HTTP_QC_COUNT] = {"influxql_select", "influxql_meta",
                                                        "flux", "ask"};

static vt_hist m_hist[HTTP_EP_COUNT];
static vt_ring60 m_errors;
static vt_window m_class[HTTP_QC_COUNT];
static pthread_once_t m_once = PTHREAD_ONCE_INIT;

/* meta.db reads, cached (note 3) */
static pthread_mutex_t m_cache_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t m_cache_at;  /* mono ns of the last refresh; 0 = never */
static const void *m_cache_meta; /* the meta handle the cache was read from */
static meta_baseline m_base[HTTP_QC_COUNT];
static bool m_has_base[HTTP_QC_COUNT];
static int m_rollback_state;

static void metrics_init_once(void)
{
    for (size_t i = 0; i < HTTP_QC_COUNT; i++)
        vt_window_init(&m_class[i]);
}

const char *http_qclass_name(http_qclass c)
{
    return c >= 0 && c < HTTP_QC_COUNT ? qclass_names[c] : "none";
}

static bool data_endpoint(http_endpoint ep)
{
    return ep == HTTP_EP_WRITE || ep == HTTP_EP_V2_WRITE || ep == HTTP_EP_QUERY ||
           ep == HTTP_EP_V2_QUERY;
}

/* ---- classification ---- */

/* Is the first word of s (after blanks and "--" comments) SELECT? */
static bool starts_with_select(const char *s, size_t n)
{
    size_t i = 0;
    for (;;) {
        while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' ||
                         s[i] == '('))
            i++;
        if (i + 1 < n && s[i] == '-' && s[i + 1] == '-') {
            while (i < n && s[i] != '\n')
                i++;
            continue;
        }
        break;
    }
    return n - i >= 6 && strncasecmp(s + i, "select", 6) == 0 &&
           (n - i == 6 || !((s[i + 6] >= 'a' && s[i + 6] <= 'z') ||
                            (s[i + 6] >= 'A' && s[i + 6] <= 'Z') || s[i + 6] == '_'));
}

/* The start of `q` in a form body, decoded into buf (enough for the first word). */
static size_t form_q_prefix(const char *body, size_t len, char *buf, size_t cap)
{
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *fend = amp ? amp : end;
        if (fend - p >= 2 && p[0] == 'q' && p[1] == '=') {
            size_t o = 0;
            for (const char *v = p + 2; v < fend && o < cap; v++) {
                if (*v == '+') {
                    buf[o++] = ' ';
                } else if (*v == '%' && fend - v >= 3) {
                    char hex[3] = {v[1], v[2], 0};
                    buf[o++] = (char)strtol(hex, NULL, 16);
                    v += 2;
                } else {
                    buf[o++] = *v;
                }
            }
            return o;
        }
        p = amp ? amp + 1 : end;
    }
    return 0;
}

http_qclass http_query_class(http_request *rq)
{
    if (rq->ep == HTTP_EP_V2_QUERY)
        return HTTP_QC_FLUX;
    if (rq->ep != HTTP_EP_QUERY || !rq->conn)
        return HTTP_QC_NONE;
    const char *ct =
        MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (strcmp(rq->method, "POST") == 0 && ct && strncasecmp(ct, "application/json", 16) == 0)
        return HTTP_QC_ASK;
    const char *q = http_arg(rq, "q");
    if (q && q[0])
        return starts_with_select(q, strlen(q)) ? HTTP_QC_INFLUXQL_SELECT : HTTP_QC_INFLUXQL_META;
    if (rq->body.len > 0 && ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0) {
        char buf[256];
        size_t n = form_q_prefix((const char *)rq->body.data, rq->body.len, buf, sizeof buf);
        if (n > 0)
            return starts_with_select(buf, n) ? HTTP_QC_INFLUXQL_SELECT : HTTP_QC_INFLUXQL_META;
    }
    return HTTP_QC_NONE;
}

/* ---- observations ---- */

static int64_t mono_s(int64_t mono_ns)
{
    return mono_ns / 1000000000;
}

static void observe_class(http_qclass cls, int64_t dur_ns, int64_t now_ns)
{
    if (cls < 0 || cls >= HTTP_QC_COUNT)
        return;
    pthread_once(&m_once, metrics_init_once);
    vt_window_add(&m_class[cls], (double)dur_ns / 1e6, now_ns);
}

/* A 503 while maintenance mode is on is the admission's deliberate refusal, not an error:
 * counting it would stop the rollback's ramp, which runs under maintenance. */
static bool maintenance_refusal(const http_request *rq, unsigned status)
{
    gateway *gw = rq->srv->opts.gateway;
    return status == 503 && gw && flags_maintenance(gateway_flags(gw));
}

void http_observe(http_request *rq, unsigned status)
{
    if (rq->streamed)
        return; /* its query thread reports it (note 2) */
    int64_t now = http_mono_ns();
    int64_t dur = rq->start_ns ? now - rq->start_ns : 0;
    if (rq->ep < HTTP_EP_COUNT)
        vt_hist_observe(&m_hist[rq->ep], dur);
    if (status >= 500 && data_endpoint(rq->ep) && !maintenance_refusal(rq, status))
        vt_ring60_add(&m_errors, mono_s(now), 1);
    if (status >= 200 && status < 300 && (rq->ep == HTTP_EP_QUERY || rq->ep == HTTP_EP_V2_QUERY))
        observe_class(http_query_class(rq), dur, now);
}

void http_observe_stream_end(http_server *srv, int ep, http_qclass cls, int64_t start_ns)
{
    (void)srv;
    int64_t now = http_mono_ns();
    int64_t dur = now - start_ns;
    if (ep >= 0 && ep < HTTP_EP_COUNT)
        vt_hist_observe(&m_hist[ep], dur);
    observe_class(cls, dur, now);
}

uint64_t http_errors_last_minute(http_server *srv)
{
    (void)srv;
    return vt_ring60_sum(&m_errors, mono_s(http_mono_ns()));
}

/* ---- meta.db cache ---- */

static int rollback_state_of(const char *state)
{
    if (strcmp(state, "running") == 0)
        return 1;
    if (strcmp(state, "failed") == 0 || strcmp(state, "aborted") == 0)
        return 2;
    return 0;
}

/* Refreshes the cache when stale (or force); m_cache_mu held by the caller. */
static void cache_refresh(http_server *srv, bool force)
{
    meta *m = srv->opts.meta;
    int64_t now = http_mono_ns();
    if (!force && m_cache_at != 0 && m_cache_meta == m && now - m_cache_at < METRICS_CACHE_NS)
        return;
    m_cache_at = now;
    m_cache_meta = m;
    memset(m_has_base, 0, sizeof m_has_base);
    m_rollback_state = 0;
    if (!m)
        return;
    vt_err err;
    vt_err_clear(&err);
    meta_baseline *b = NULL;
    size_t n = 0;
    if (meta_baseline_list(m, &b, &n, &err) == VT_OK) {
        for (size_t i = 0; i < n; i++)
            for (size_t c = 0; c < HTTP_QC_COUNT; c++)
                if (strcmp(b[i].cls, qclass_names[c]) == 0) {
                    m_base[c] = b[i];
                    m_has_base[c] = true;
                }
        free(b);
    } else {
        http_log("warn", NULL, "metrics: cannot read the query baselines: %s", err.msg);
    }
    meta_rollback_rec *rec = malloc(sizeof *rec);
    if (rec) {
        vt_err_clear(&err);
        if (meta_rollback_current(m, rec, &err) == VT_OK)
            m_rollback_state = rollback_state_of(rec->state);
        free(rec);
    }
}

int http_rollback_state(http_server *srv)
{
    pthread_mutex_lock(&m_cache_mu);
    cache_refresh(srv, false);
    int s = m_rollback_state;
    pthread_mutex_unlock(&m_cache_mu);
    return s;
}

void http_latency_get(http_server *srv, http_latency_class out[HTTP_QC_COUNT])
{
    pthread_once(&m_once, metrics_init_once);
    static const double qs[3] = {0.5, 0.95, 0.99};
    int64_t since = http_mono_ns() - (int64_t)HTTP_LATENCY_WINDOW_S * 1000000000ll;
    pthread_mutex_lock(&m_cache_mu);
    cache_refresh(srv, false);
    for (size_t c = 0; c < HTTP_QC_COUNT; c++) {
        http_latency_class *l = &out[c];
        memset(l, 0, sizeof *l);
        l->cls = qclass_names[c];
        double v[3];
        l->samples = vt_window_quantiles(&m_class[c], since, qs, 3, v);
        l->p50_ms = v[0];
        l->p95_ms = v[1];
        l->p99_ms = v[2];
        if (m_has_base[c]) {
            l->has_baseline = true;
            l->base_p50_ms = m_base[c].p50_ms;
            l->base_p95_ms = m_base[c].p95_ms;
            l->base_samples = m_base[c].samples;
            l->base_recorded_at = m_base[c].recorded_at;
            if (l->samples > 0) {
                double base = l->base_p95_ms > HTTP_LATENCY_BASELINE_FLOOR_MS
                                  ? l->base_p95_ms
                                  : HTTP_LATENCY_BASELINE_FLOOR_MS;
                l->ratio_pct = l->p95_ms / base * 100.0;
            }
        }
    }
    pthread_mutex_unlock(&m_cache_mu);
}

vt_rc http_latency_record_baseline(http_server *srv, size_t min_samples, const char *who,
                                   size_t *recorded, char *names, size_t names_cap, vt_err *err)
{
    *recorded = 0;
    if (names && names_cap)
        names[0] = '\0';
    if (!srv->opts.meta)
        return vt_err_set(err, VT_EINVAL, "this server has no control plane (meta.db)");
    http_latency_class cur[HTTP_QC_COUNT];
    http_latency_get(srv, cur);
    meta_baseline b[HTTP_QC_COUNT];
    size_t n = 0;
    int64_t now = http_now_ns();
    for (size_t c = 0; c < HTTP_QC_COUNT; c++) {
        if (cur[c].samples < min_samples || cur[c].samples == 0)
            continue;
        memset(&b[n], 0, sizeof b[n]);
        snprintf(b[n].cls, sizeof b[n].cls, "%s", cur[c].cls);
        b[n].p50_ms = cur[c].p50_ms;
        b[n].p95_ms = cur[c].p95_ms;
        b[n].samples = (int64_t)cur[c].samples;
        b[n].recorded_at = now;
        n++;
    }
    if (n == 0)
        return vt_err_set(err, VT_EINVAL,
                          "no query class has %zu samples in the last %d s to record as a "
                          "baseline (run the usual queries first)",
                          min_samples ? min_samples : 1, HTTP_LATENCY_WINDOW_S);
    vt_rc rc = meta_baseline_record(srv->opts.meta, b, n, err);
    if (rc != VT_OK)
        return rc;
    char detail[512];
    size_t o = 0;
    detail[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(detail + o, sizeof detail - o, "%s%s p50=%.3fms p95=%.3fms n=%" PRId64,
                         i ? "; " : "", b[i].cls, b[i].p50_ms, b[i].p95_ms, b[i].samples);
        if (w > 0 && (size_t)w < sizeof detail - o)
            o += (size_t)w;
        if (names && names_cap) {
            size_t nl = strlen(names);
            snprintf(names + nl, names_cap - nl, "%s%s", i ? ", " : "", b[i].cls);
        }
    }
    vt_err aerr;
    vt_err_clear(&aerr);
    if (meta_audit(srv->opts.meta, who && who[0] ? who : "api", "baseline.record", detail,
                   &aerr) != VT_OK)
        http_log("warn", NULL, "audit of baseline.record failed: %s", aerr.msg);
    pthread_mutex_lock(&m_cache_mu);
    cache_refresh(srv, true);
    pthread_mutex_unlock(&m_cache_mu);
    *recorded = n;
    return VT_OK;
}

bool http_latency_degraded(http_server *srv, double pct, char *why, size_t cap)
{
    http_latency_class cur[HTTP_QC_COUNT];
    http_latency_get(srv, cur);
    for (size_t c = 0; c < HTTP_QC_COUNT; c++) {
        const http_latency_class *l = &cur[c];
        if (!l->has_baseline || l->samples < HTTP_LATENCY_MIN_SAMPLES || l->ratio_pct <= pct)
            continue;
        if (why && cap)
            snprintf(why, cap,
                     "%s queries: p95 %.1f ms over the last %d s is %.0f%% of the baseline p95 "
                     "%.1f ms (threshold %.0f%%, %zu samples)",
                     l->cls, l->p95_ms, HTTP_LATENCY_WINDOW_S, l->ratio_pct, l->base_p95_ms, pct,
                     l->samples);
        return true;
    }
    if (why && cap)
        why[0] = '\0';
    return false;
}

/* ---- /metrics ---- */

static void print_flags(gateway *gw, vt_buf *b)
{
    flags *f = gateway_flags(gw);
    vt_buf_printf(b, "# HELP volta_flag Feature flags: booleans and numbers as values, enums as "
                     "1 for the current value.\n"
                     "# TYPE volta_flag gauge\n");
    for (int id = 0; id < FLAG_COUNT; id++) {
        const char *name = flag_name((flag_id)id);
        switch ((flag_id)id) {
        case FLAG_MAINTENANCE:
            vt_buf_printf(b, "volta_flag{name=\"%s\"} %d\n", name, flags_maintenance(f) ? 1 : 0);
            break;
        case FLAG_FLUX:
            vt_buf_printf(b, "volta_flag{name=\"%s\"} %d\n", name, flags_flux(f) ? 1 : 0);
            break;
        case FLAG_READ_BACKEND: {
            read_backend rb = flags_read_backend(f);
            vt_buf_printf(b,
                          "volta_flag{name=\"%s\",value=\"primary\"} %d\n"
                          "volta_flag{name=\"%s\",value=\"backup\"} %d\n",
                          name, rb == READ_PRIMARY, name, rb == READ_BACKUP);
            break;
        }
        case FLAG_FAILOVER: {
            failover_mode fm = flags_failover(f);
            vt_buf_printf(b,
                          "volta_flag{name=\"%s\",value=\"off\"} %d\n"
                          "volta_flag{name=\"%s\",value=\"alert\"} %d\n"
                          "volta_flag{name=\"%s\",value=\"auto\"} %d\n",
                          name, fm == FAILOVER_OFF, name, fm == FAILOVER_ALERT, name,
                          fm == FAILOVER_AUTO);
            break;
        }
        default:
            vt_buf_printf(b, "volta_flag{name=\"%s\"} %.17g\n", name,
                          flags_number(f, (flag_id)id));
            break;
        }
    }
    vt_buf_printf(b,
                  "# HELP volta_flags_version Version of the flags' current state.\n"
                  "# TYPE volta_flags_version gauge\n"
                  "volta_flags_version %" PRId64 "\n"
                  "# HELP volta_ratelimit_refused_total Requests refused by the rate limits.\n"
                  "# TYPE volta_ratelimit_refused_total counter\n"
                  "volta_ratelimit_refused_total %" PRIu64 "\n",
                  flags_version(f), gateway_ratelimit_refused(gw));
}

void http_metrics_gateway(http_server *srv, vt_buf *b)
{
    pthread_once(&m_once, metrics_init_once);
    vt_buf_printf(b, "# HELP volta_http_request_duration_seconds Time from the request's headers "
                     "to its answer (streamed queries: to their last byte).\n"
                     "# TYPE volta_http_request_duration_seconds histogram\n");
    for (size_t e = 0; e < HTTP_EP_COUNT; e++) {
        uint64_t cum[VT_HIST_BOUNDS + 1];
        double sum;
        vt_hist_snapshot(&m_hist[e], cum, &sum);
        if (cum[VT_HIST_BOUNDS] == 0 && e != HTTP_EP_QUERY && e != HTTP_EP_WRITE)
            continue;
        const char *ep = http_endpoint_name((http_endpoint)e);
        for (size_t i = 0; i < VT_HIST_BOUNDS; i++)
            vt_buf_printf(b,
                          "volta_http_request_duration_seconds_bucket{endpoint=\"%s\",le=\"%g\"} "
                          "%" PRIu64 "\n",
                          ep, vt_hist_bounds[i], cum[i]);
        vt_buf_printf(b,
                      "volta_http_request_duration_seconds_bucket{endpoint=\"%s\",le=\"+Inf\"} "
                      "%" PRIu64 "\n"
                      "volta_http_request_duration_seconds_sum{endpoint=\"%s\"} %.9f\n"
                      "volta_http_request_duration_seconds_count{endpoint=\"%s\"} %" PRIu64 "\n",
                      ep, cum[VT_HIST_BOUNDS], ep, sum, ep, cum[VT_HIST_BOUNDS]);
    }
    vt_buf_printf(b,
                  "# HELP volta_http_errors_last_minute 5xx answers of /write, /api/v2/write, "
                  "/query and /api/v2/query in the last 60 seconds.\n"
                  "# TYPE volta_http_errors_last_minute gauge\n"
                  "volta_http_errors_last_minute %" PRIu64 "\n",
                  http_errors_last_minute(srv));
    if (srv->opts.gateway) {
        print_flags(srv->opts.gateway, b);
        vt_buf_printf(b,
                      "# HELP volta_auth_failures_total Requests refused 401/403 by "
                      "authentication or authorisation.\n"
                      "# TYPE volta_auth_failures_total counter\n"
                      "volta_auth_failures_total %" PRIu64 "\n",
                      gateway_auth_failures(srv->opts.gateway));
    }
    vt_buf_printf(b, "# HELP volta_rollback_state The latest rollback: 0 none or done, 1 "
                     "running, 2 failed or aborted.\n"
                     "# TYPE volta_rollback_state gauge\n"
                     "volta_rollback_state %d\n",
                  http_rollback_state(srv));

    http_latency_class lat[HTTP_QC_COUNT];
    http_latency_get(srv, lat);
    vt_buf_printf(b, "# HELP volta_query_latency_seconds Query latency per class over the last "
                     "%d s (2xx answers).\n"
                     "# TYPE volta_query_latency_seconds gauge\n",
                  HTTP_LATENCY_WINDOW_S);
    for (size_t c = 0; c < HTTP_QC_COUNT; c++)
        vt_buf_printf(b,
                      "volta_query_latency_seconds{class=\"%s\",quantile=\"0.5\"} %.6f\n"
                      "volta_query_latency_seconds{class=\"%s\",quantile=\"0.95\"} %.6f\n"
                      "volta_query_latency_seconds{class=\"%s\",quantile=\"0.99\"} %.6f\n",
                      lat[c].cls, lat[c].p50_ms / 1e3, lat[c].cls, lat[c].p95_ms / 1e3,
                      lat[c].cls, lat[c].p99_ms / 1e3);
    vt_buf_printf(b, "# HELP volta_query_latency_samples Samples in the latency window per "
                     "class.\n"
                     "# TYPE volta_query_latency_samples gauge\n");
    for (size_t c = 0; c < HTTP_QC_COUNT; c++)
        vt_buf_printf(b, "volta_query_latency_samples{class=\"%s\"} %zu\n", lat[c].cls,
                      lat[c].samples);
    vt_buf_printf(b, "# HELP volta_query_latency_baseline_seconds Recorded baseline p95 per "
                     "class (volta status --record-baseline).\n"
                     "# TYPE volta_query_latency_baseline_seconds gauge\n");
    for (size_t c = 0; c < HTTP_QC_COUNT; c++)
        if (lat[c].has_baseline)
            vt_buf_printf(b, "volta_query_latency_baseline_seconds{class=\"%s\"} %.6f\n",
                          lat[c].cls, lat[c].base_p95_ms / 1e3);
    vt_buf_printf(b, "# HELP volta_query_latency_ratio_percent Current p95 as a percentage of "
                     "the baseline p95 (the failover_latency_pct trigger).\n"
                     "# TYPE volta_query_latency_ratio_percent gauge\n");
    for (size_t c = 0; c < HTTP_QC_COUNT; c++)
        if (lat[c].has_baseline)
            vt_buf_printf(b, "volta_query_latency_ratio_percent{class=\"%s\"} %.1f\n", lat[c].cls,
                          lat[c].ratio_pct);
}
