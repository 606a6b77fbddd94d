/*
 * server/http.c — server lifecycle, request accumulation, routing, responses, /metrics.
 *
 * NOTES ON THE DESIGN
 *  1. The listen socket is made here (getaddrinfo + bind + listen) and handed to libmicrohttpd
 *     with MHD_OPTION_LISTEN_SOCKET, so a failure names the address and errno, and port 0 works.
 *  2. MHD calls the access handler several times per request: once after the headers
 *     (*con_cls == NULL), once per piece of body, and once more with *upload_data_size == 0.
 *     Requests that carry no body we use (GET, HEAD, and any method on a route that takes none)
 *     are answered on the last call (answering on the first makes MHD close the connection). Body
 * routes (POST /write, /api/v2/write, /api/v2/query, /query) get an http_request that accumulates
 * the body:
 *       - plain: appended to rq->body, reserved once from Content-Length (one copy: MHD's read
 *         buffer -> rq->body; node_write parses it in place);
 *       - Content-Encoding: gzip: inflated as it arrives (zlib, gzip wrapper, concatenated
 *         members allowed) straight into rq->body; the compressed bytes are never kept.
 *     Past max_body_bytes (raw or inflated) the body is dropped and the rest of the upload is
 *     read and discarded, so the client gets its 413 instead of a reset connection. Bad gzip is
 *     recorded the same way and answered 400 at the end.
 *  3. Every response carries X-Influxdb-Version (1.8.10-volta-<version>: clients parse the 1.8),
 *     X-Influxdb-Build and Request-Id / X-Request-Id; JSON bodies are written directly.
 *  4. Shutdown: MHD_quiesce_daemon stops accepting, requests with a body in progress get up to
 *     5 s to finish (their node_write completes either way: MHD_stop_daemon joins the threads).
 *  5. Body buffers are pooled: a finished request gives its buffer back (http_body_give) and the
 *     next one takes it (http_body_take), so a stream of 1 MB writes reuses mapped pages instead
 *     of having malloc map, fault in and unmap fresh ones for every request (that was ~5 % of
 *     the server's CPU under bench/ingest). The pool is bounded (HTTP_BODY_POOL_SLOTS buffers,
 *     HTTP_BODY_POOL_BYTES in all); a larger buffer is freed as before.
 *  6. Threads. A write holds the thread that handles it until its journal fsync returns (group
 *     commit), a few milliseconds. By default every connection has its own thread
 *     (MHD_USE_THREAD_PER_CONNECTION), so one client's fsync never holds up another's request:
 *     with a fixed pool of epoll threads, connections land on threads at random (whichever
 *     thread wins the accept), and two of the benchmark's 4 connections shared a thread in
 *     most runs, each waiting for the other's fsync (docs/BENCHMARKS.md, 2026-12-07 session
 *     10). `threads = N` in the config still selects a pool of N epoll threads, for
 *     deployments with many idle connections; connection_limit bounds the threads either way.
 */
#include "server/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server/server_int.h"

#include "server/failover.h"

#include "backend/replication.h"
#include "common/log.h"
#include "ingest/landing.h"

/* streamed /query responses at once, per online CPU (see http_server_start) */
#define HTTP_QUERY_THREADS_PER_CPU 8u

#define HTTP_ERROR_TOO_LARGE "request entity too large"

static const unsigned http_status_slot_codes[HTTP_STATUS_SLOTS - 1] = {
    200, 204, 400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500, 501, 502, 503,
};

static const char *const http_endpoint_names[] = {
    "ping", "health", "write", "api_v2_write", "query", "metrics", "api_v2_query",
    "admin_load", "admin_resync", "admin_ledger", "admin_export", "admin_check", "admin_snapshots",
    "admin_backups", "admin_flags", "admin_ratelimit", "admin_keys", "admin_backends",
    "admin_rollback", "admin_repair", "admin_fault", "other",
};
_Static_assert(sizeof http_endpoint_names / sizeof http_endpoint_names[0] == HTTP_EP_COUNT,
               "http_endpoint_names must name every http_endpoint");

const char *http_endpoint_name(http_endpoint ep)
{
    return (unsigned)ep < HTTP_EP_COUNT ? http_endpoint_names[ep] : "other";
}

/* ---- logging ---- */

void http_log(const char *level, const char *fields, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    vt_log_fields(level, NULL, fields, "%s", msg);
}

__attribute__((format(printf, 2, 0))) static void http_mhd_logger(void *cls, const char *fmt,
                                                                  va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    http_log("warn", NULL, "libmicrohttpd: %s", msg);
}

/* ---- JSON ---- */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid. */
static size_t http_utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && s[1] < 0xA0)
            return 0; /* overlong */
        if (c == 0xED && s[1] >= 0xA0)
            return 0; /* surrogates */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && s[1] < 0x90)
            return 0;
        if (c == 0xF4 && s[1] >= 0x90)
            return 0;
        return 4;
    }
    return 0;
}

void http_json_str(vt_buf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    vt_buf_reserve(b, n + 2);
    vt_buf_putc(b, '"');
    size_t i = 0;
    while (i < n) {
        unsigned char c = u[i];
        if (c == '"' || c == '\\') {
            vt_buf_putc(b, '\\');
            vt_buf_putc(b, c);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            switch (c) {
            case '\n': vt_buf_append(b, "\\n", 2); break;
            case '\r': vt_buf_append(b, "\\r", 2); break;
            case '\t': vt_buf_append(b, "\\t", 2); break;
            default: vt_buf_printf(b, "\\u%04x", c);
            }
            i++;
        } else if (c < 0x80) {
            size_t j = i;
            while (j < n && u[j] >= 0x20 && u[j] < 0x7f && u[j] != '"' && u[j] != '\\')
                j++;
            vt_buf_append(b, s + i, j - i);
            i = j;
        } else {
            size_t l = http_utf8_len(u + i, n - i);
            if (l == 0) {
                vt_buf_append(b, "\\ufffd", 6);
                i++;
            } else {
                vt_buf_append(b, s + i, l);
                i += l;
            }
        }
    }
    vt_buf_putc(b, '"');
}

void http_json_cstr(vt_buf *b, const char *s)
{
    http_json_str(b, s, strlen(s));
}

int64_t http_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t http_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- URL decoding ---- */

static int http_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* In-place form decoding ('+' = space, %XX); returns the new length. */
static size_t http_form_decode(char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            s[o++] = ' ';
        } else if (s[i] == '%' && i + 2 < n && http_hexval(s[i + 1]) >= 0 &&
                   http_hexval(s[i + 2]) >= 0) {
            s[o++] = (char)(http_hexval(s[i + 1]) * 16 + http_hexval(s[i + 2]));
            i += 2;
        } else {
            s[o++] = s[i];
        }
    }
    return o;
}

static size_t http_unescape_cb(void *cls, struct MHD_Connection *c, char *s)
{
    size_t n = http_form_decode(s, strlen(s));
    s[n] = '\0';
    return n;
}

char *http_form_value(const char *body, size_t len, const char *key)
{
    size_t klen = strlen(key);
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *fend = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(fend - p));
        const char *kend = eq ? eq : fend;
        /* keys are compared decoded: copy and decode the (short) key */
        size_t kn = (size_t)(kend - p);
        if (kn < 64) {
            char k[64];
            memcpy(k, p, kn);
            kn = http_form_decode(k, kn);
            if (kn == klen && memcmp(k, key, klen) == 0) {
                const char *v = eq ? eq + 1 : fend;
                size_t vn = (size_t)(fend - v);
                char *out = malloc(vn + 1);
                if (!out)
                    return NULL;
                memcpy(out, v, vn);
                vn = http_form_decode(out, vn);
                out[vn] = '\0';
                return out;
            }
        }
        p = amp ? amp + 1 : end;
    }
    return NULL;
}

const char *http_arg(http_request *rq, const char *key)
{
    return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, key);
}

/* ---- responses ---- */

static void http_count(http_server *srv, http_endpoint ep, unsigned status)
{
    size_t slot = HTTP_STATUS_SLOTS - 1;
    for (size_t i = 0; i < HTTP_STATUS_SLOTS - 1; i++)
        if (http_status_slot_codes[i] == status)
            slot = i;
    atomic_fetch_add_explicit(&srv->requests[ep][slot], 1, memory_order_relaxed);
}

static void http_request_id(http_server *srv, char *out, size_t cap)
{
    uint64_t n = atomic_fetch_add_explicit(&srv->next_id, 1, memory_order_relaxed);
    uint64_t a = srv->id_seed, b = n * 0x9E3779B97F4A7C15ull ^ srv->id_seed;
    snprintf(out, cap, "%08" PRIx32 "-%04" PRIx32 "-%04" PRIx32 "-%04" PRIx32 "-%012" PRIx64,
             (uint32_t)(a >> 32), (uint32_t)(a >> 16) & 0xffff, (uint32_t)n & 0xffff,
             (uint32_t)(b >> 48) & 0xffff, (uint64_t)(b & 0xffffffffffffull));
}

static enum MHD_Result http_queue(http_request *rq, unsigned status, vt_buf *json,
                                  const char *allow, const char *content_type,
                                  unsigned retry_after_s)
{
    struct MHD_Response *resp;
    if (json && json->oom) {
        vt_buf_free(json);
        json = NULL;
        status = 500;
    }
    if (json && json->len > 0) {
        resp = MHD_create_response_from_buffer(json->len, json->data, MHD_RESPMEM_MUST_FREE);
        if (resp)
            vt_buf_init(json); /* MHD owns the bytes now */
        else
            vt_buf_free(json);
    } else {
        if (json)
            vt_buf_free(json);
        json = NULL;
        resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    }
    if (!resp)
        return MHD_NO;
    if (rq->id[0] == '\0')
        http_request_id(rq->srv, rq->id, sizeof rq->id);
    MHD_add_response_header(resp, "X-Influxdb-Version", rq->srv->version);
    MHD_add_response_header(resp, "X-Influxdb-Build", "OSS");
    MHD_add_response_header(resp, "Request-Id", rq->id);
    MHD_add_response_header(resp, "X-Request-Id", rq->id);
    if (json)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                content_type ? content_type : "application/json");
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    if (retry_after_s > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%u", retry_after_s);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    enum MHD_Result r = MHD_queue_response(rq->conn, status, resp);
    MHD_destroy_response(resp);
    http_count(rq->srv, rq->ep, status);
    http_observe(rq, status);
    return r;
}

enum MHD_Result http_respond_pipe(http_request *rq, unsigned status, int fd,
                                  const char *content_type)
{
    struct MHD_Response *resp = MHD_create_response_from_pipe(fd);
    if (!resp) {
        close(fd);
        return MHD_NO;
    }
    if (rq->id[0] == '\0')
        http_request_id(rq->srv, rq->id, sizeof rq->id);
    MHD_add_response_header(resp, "X-Influxdb-Version", rq->srv->version);
    MHD_add_response_header(resp, "X-Influxdb-Build", "OSS");
    MHD_add_response_header(resp, "Request-Id", rq->id);
    MHD_add_response_header(resp, "X-Request-Id", rq->id);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    enum MHD_Result r = MHD_queue_response(rq->conn, status, resp);
    MHD_destroy_response(resp);
    http_count(rq->srv, rq->ep, status);
    http_observe(rq, status);
    return r;
}

enum MHD_Result http_respond(http_request *rq, unsigned status, vt_buf *json)
{
    return http_queue(rq, status, json, NULL, NULL, 0);
}

enum MHD_Result http_respond_typed(http_request *rq, unsigned status, vt_buf *body,
                                   const char *content_type)
{
    return http_queue(rq, status, body, NULL, content_type, 0);
}

enum MHD_Result http_respond_retry(http_request *rq, unsigned status, vt_buf *json,
                                   unsigned retry_after_s)
{
    return http_queue(rq, status, json, NULL, NULL, retry_after_s);
}

enum MHD_Result http_respond_error(http_request *rq, unsigned status, const char *msg)
{
    vt_buf b;
    vt_buf_init(&b);
    vt_buf_append(&b, "{\"error\":", 9);
    http_json_cstr(&b, msg);
    vt_buf_append(&b, "}\n", 2);
    return http_queue(rq, status, &b, NULL, NULL, 0);
}

enum MHD_Result http_respond_method(http_request *rq, const char *allow)
{
    vt_buf b;
    vt_buf_init(&b);
    vt_buf_printf(&b, "{\"error\":\"method not allowed\"}\n");
    return http_queue(rq, 405, &b, allow, NULL, 0);
}

/* ---- /metrics ---- */

static enum MHD_Result http_handle_metrics(http_request *rq)
{
    http_server *srv = rq->srv;
    vt_buf b;
    vt_buf_init(&b);
    vt_buf_printf(&b, "# HELP volta_http_requests_total HTTP requests by endpoint and status.\n"
                      "# TYPE volta_http_requests_total counter\n");
    for (size_t e = 0; e < HTTP_EP_COUNT; e++)
        for (size_t s = 0; s < HTTP_STATUS_SLOTS; s++) {
            uint64_t v = atomic_load_explicit(&srv->requests[e][s], memory_order_relaxed);
            /* count this very request too, so a first scrape is not empty */
            if (e == HTTP_EP_METRICS && s == 0)
                v++;
            if (v == 0)
                continue;
            if (s < HTTP_STATUS_SLOTS - 1)
                vt_buf_printf(
                    &b, "volta_http_requests_total{endpoint=\"%s\",status=\"%u\"} %" PRIu64 "\n",
                    http_endpoint_names[e], http_status_slot_codes[s], v);
            else
                vt_buf_printf(
                    &b, "volta_http_requests_total{endpoint=\"%s\",status=\"other\"} %" PRIu64 "\n",
                    http_endpoint_names[e], v);
        }
    engine_stats st;
    memset(&st, 0, sizeof st);
    engine_get_stats(node_engine(srv->node), &st);
    uint64_t last_seq = journal_last_seq(node_journal(srv->node));
    vt_buf_printf(
        &b,
        "# HELP volta_points_written_total Points accepted by /write and /api/v2/write.\n"
        "# TYPE volta_points_written_total counter\n"
        "volta_points_written_total %" PRIu64 "\n"
        "# HELP volta_write_errors_total Write requests answered with an error.\n"
        "# TYPE volta_write_errors_total counter\n"
        "volta_write_errors_total %" PRIu64 "\n"
        "# HELP volta_journal_last_seq Sequence number of the newest journal record.\n"
        "# TYPE volta_journal_last_seq gauge\n"
        "volta_journal_last_seq %" PRIu64 "\n"
        "# HELP volta_engine_series Series in the native engine.\n"
        "# TYPE volta_engine_series gauge\n"
        "volta_engine_series %" PRIu64 "\n"
        "# HELP volta_engine_segments Segment files of the native engine.\n"
        "# TYPE volta_engine_segments gauge\n"
        "volta_engine_segments %u\n"
        "# HELP volta_engine_provisional_segments Segment files written by flushes with the fast "
        "encoders and not yet rewritten by a compaction.\n"
        "# TYPE volta_engine_provisional_segments gauge\n"
        "volta_engine_provisional_segments %u\n"
        "# HELP volta_engine_memtable_bytes Bytes held in the memtable.\n"
        "# TYPE volta_engine_memtable_bytes gauge\n"
        "volta_engine_memtable_bytes %" PRIu64 "\n"
        "# HELP volta_engine_memtable_heap_bytes Memory mapped for memtable columns (in use, "
        "free, and whole free slabs kept for the next memtable).\n"
        "# TYPE volta_engine_memtable_heap_bytes gauge\n"
        "volta_engine_memtable_heap_bytes %" PRIu64 "\n"
        "# HELP volta_engine_memtable_heap_reserve_bytes Memory mapped and touched ahead of need "
        "for memtable columns, not yet in the heap (a quarter of memtable_bytes).\n"
        "# TYPE volta_engine_memtable_heap_reserve_bytes gauge\n"
        "volta_engine_memtable_heap_reserve_bytes %" PRIu64 "\n"
        "# HELP volta_engine_write_stalls_total Writes that waited for a flush because the "
        "memtable reached memtable_max_bytes (back-pressure).\n"
        "# TYPE volta_engine_write_stalls_total counter\n"
        "volta_engine_write_stalls_total %" PRIu64 "\n"
        "# HELP volta_engine_flushes_total Memtables flushed to segment files.\n"
        "# TYPE volta_engine_flushes_total counter\n"
        "volta_engine_flushes_total %" PRIu64 "\n"
        "# HELP volta_engine_compaction_flushes_total Of those, flushes a background compaction "
        "ran between two series because the memtable filled up meanwhile.\n"
        "# TYPE volta_engine_compaction_flushes_total counter\n"
        "volta_engine_compaction_flushes_total %" PRIu64 "\n"
        "# HELP volta_engine_compactions_total Compactions that merged a database's segments.\n"
        "# TYPE volta_engine_compactions_total counter\n"
        "volta_engine_compactions_total %" PRIu64 "\n"
        "# HELP volta_corrupt_blocks_total Segment blocks that failed their checksum or structure "
        "check when read (the read failed naming file and block; nothing was served).\n"
        "# TYPE volta_corrupt_blocks_total counter\n"
        "volta_corrupt_blocks_total %" PRIu64 "\n"
        "# HELP volta_node_failed 1 when a storage failure makes the node refuse writes.\n"
        "# TYPE volta_node_failed gauge\n"
        "volta_node_failed %d\n",
        (uint64_t)atomic_load_explicit(&srv->points_written, memory_order_relaxed),
        (uint64_t)atomic_load_explicit(&srv->write_errors, memory_order_relaxed), last_seq,
        st.series, st.segments, st.provisional_segments, st.memtable_bytes, st.memtable_heap_bytes,
        st.memtable_heap_reserve_bytes, st.write_stalls, st.flushes, st.compaction_flushes,
        st.compactions, st.corrupt_blocks,
        node_failed(srv->node) ? 1 : 0);
    if (srv->opts.replication)
        replication_metrics(srv->opts.replication, &b);
    http_metrics_gateway(srv, &b);
    failover_metrics(&b);
    if (srv->opts.landing) {
        landing_stats ls;
        landing_get_stats(srv->opts.landing, &ls);
        vt_buf_printf(&b,
                      "# HELP volta_landing_files_total Landing-zone files by outcome.\n"
                      "# TYPE volta_landing_files_total counter\n"
                      "volta_landing_files_total{outcome=\"loaded\"} %" PRIu64 "\n"
                      "volta_landing_files_total{outcome=\"reloaded\"} %" PRIu64 "\n"
                      "volta_landing_files_total{outcome=\"failed\"} %" PRIu64 "\n"
                      "# HELP volta_landing_rows_total Landing-zone rows loaded and rejected.\n"
                      "# TYPE volta_landing_rows_total counter\n"
                      "volta_landing_rows_total{outcome=\"loaded\"} %" PRIu64 "\n"
                      "volta_landing_rows_total{outcome=\"rejected\"} %" PRIu64 "\n",
                      ls.loaded, ls.reloaded, ls.failed, ls.rows_loaded, ls.rows_rejected);
    }
    return http_queue(rq, 200, &b, NULL, "text/plain; version=0.0.4; charset=utf-8", 0);
}

/* ---- routing ---- */

static http_endpoint http_route(const char *url)
{
    if (strcmp(url, "/write") == 0)
        return HTTP_EP_WRITE;
    if (strcmp(url, "/query") == 0)
        return HTTP_EP_QUERY;
    if (strcmp(url, "/ping") == 0)
        return HTTP_EP_PING;
    if (strcmp(url, "/api/v2/write") == 0)
        return HTTP_EP_V2_WRITE;
    if (strcmp(url, "/api/v2/query") == 0)
        return HTTP_EP_V2_QUERY;
    if (strcmp(url, "/health") == 0)
        return HTTP_EP_HEALTH;
    if (strcmp(url, "/metrics") == 0)
        return HTTP_EP_METRICS;
    if (strcmp(url, "/api/v1/load") == 0)
        return HTTP_EP_ADMIN_LOAD;
    if (strcmp(url, "/api/v1/resync") == 0)
        return HTTP_EP_ADMIN_RESYNC;
    if (strcmp(url, "/api/v1/ledger") == 0)
        return HTTP_EP_ADMIN_LEDGER;
    if (strcmp(url, "/api/v1/export") == 0)
        return HTTP_EP_ADMIN_EXPORT;
    if (strcmp(url, "/api/v1/check") == 0)
        return HTTP_EP_ADMIN_CHECK;
    if (strcmp(url, "/api/v1/snapshots") == 0)
        return HTTP_EP_ADMIN_SNAPSHOTS;
    if (strcmp(url, "/api/v1/backups") == 0)
        return HTTP_EP_ADMIN_BACKUPS;
    if (strcmp(url, "/api/v1/flags") == 0 || strcmp(url, "/api/v1/flags/history") == 0 ||
        strcmp(url, "/api/v1/flags/revert") == 0)
        return HTTP_EP_ADMIN_FLAGS;
    if (strcmp(url, "/api/v1/ratelimit") == 0)
        return HTTP_EP_ADMIN_RATELIMIT;
    if (strcmp(url, "/api/v1/keys") == 0)
        return HTTP_EP_ADMIN_KEYS;
    if (strcmp(url, "/api/v1/backends") == 0 || strcmp(url, "/api/v1/backends/query") == 0)
        return HTTP_EP_ADMIN_BACKENDS;
    if (strcmp(url, "/api/v1/rollback") == 0)
        return HTTP_EP_ADMIN_ROLLBACK;
    if (strcmp(url, "/api/v1/repair") == 0)
        return HTTP_EP_ADMIN_REPAIR;
    if (strcmp(url, "/api/v1/fault") == 0)
        return HTTP_EP_ADMIN_FAULT;
    return HTTP_EP_OTHER;
}

static bool http_is(const char *method, const char *m)
{
    return strcmp(method, m) == 0;
}

static enum MHD_Result http_dispatch(http_request *rq)
{
    enum MHD_Result admitted;
    if (!http_admit(rq, &admitted))
        return admitted;
    const char *m = rq->method;
    bool get = http_is(m, MHD_HTTP_METHOD_GET), head = http_is(m, MHD_HTTP_METHOD_HEAD);
    bool post = http_is(m, MHD_HTTP_METHOD_POST);
    switch (rq->ep) {
    case HTTP_EP_PING:
        return get || head ? http_handle_ping(rq) : http_respond_method(rq, "GET, HEAD");
    case HTTP_EP_HEALTH:
        return get || head ? http_handle_health(rq) : http_respond_method(rq, "GET, HEAD");
    case HTTP_EP_METRICS: return get ? http_handle_metrics(rq) : http_respond_method(rq, "GET");
    case HTTP_EP_ADMIN_LEDGER:
        return get ? http_handle_admin_ledger(rq) : http_respond_method(rq, "GET");
    case HTTP_EP_ADMIN_EXPORT:
        return get ? http_handle_admin_export(rq) : http_respond_method(rq, "GET");
    case HTTP_EP_ADMIN_SNAPSHOTS:
        if (!get && !post && !http_is(m, MHD_HTTP_METHOD_DELETE))
            return http_respond_method(rq, "GET, POST, DELETE");
        return http_handle_admin_snapshots(rq);
    case HTTP_EP_ADMIN_BACKUPS:
        if (!get && !post)
            return http_respond_method(rq, "GET, POST");
        return http_handle_admin_backups(rq);
    case HTTP_EP_ADMIN_FLAGS:
    case HTTP_EP_ADMIN_RATELIMIT:
    case HTTP_EP_ADMIN_KEYS:
    case HTTP_EP_ADMIN_BACKENDS:
    case HTTP_EP_ADMIN_ROLLBACK:
        if (rq->too_large)
            return http_respond_error(rq, 413, HTTP_ERROR_TOO_LARGE);
        if (rq->body.len > 0)
            vt_buf_cstr(&rq->body);
        return rq->ep == HTTP_EP_ADMIN_FLAGS       ? http_handle_admin_flags(rq)
               : rq->ep == HTTP_EP_ADMIN_RATELIMIT ? http_handle_admin_ratelimit(rq)
               : rq->ep == HTTP_EP_ADMIN_KEYS      ? http_handle_admin_keys(rq)
               : rq->ep == HTTP_EP_ADMIN_BACKENDS  ? http_handle_admin_backends(rq)
                                                   : http_handle_admin_rollback(rq);
    case HTTP_EP_ADMIN_CHECK:
    case HTTP_EP_ADMIN_LOAD:
    case HTTP_EP_ADMIN_RESYNC:
    case HTTP_EP_ADMIN_REPAIR:
    case HTTP_EP_ADMIN_FAULT:
        if (!post)
            return http_respond_method(rq, "POST");
        if (rq->too_large)
            return http_respond_error(rq, 413, HTTP_ERROR_TOO_LARGE);
        if (rq->body.len > 0)
            vt_buf_cstr(&rq->body);
        return rq->ep == HTTP_EP_ADMIN_LOAD     ? http_handle_admin_load(rq)
               : rq->ep == HTTP_EP_ADMIN_RESYNC ? http_handle_admin_resync(rq)
               : rq->ep == HTTP_EP_ADMIN_REPAIR ? http_handle_admin_repair(rq)
               : rq->ep == HTTP_EP_ADMIN_FAULT  ? http_handle_admin_fault(rq)
                                                : http_handle_admin_check(rq);
    case HTTP_EP_WRITE:
    case HTTP_EP_V2_WRITE:
    case HTTP_EP_V2_QUERY:
    case HTTP_EP_QUERY:
        if (rq->ep == HTTP_EP_QUERY ? !(get || post) : !post)
            return http_respond_method(rq, rq->ep == HTTP_EP_QUERY ? "GET, POST" : "POST");
        if (rq->too_large) {
            atomic_fetch_add_explicit(&rq->srv->write_errors,
                                      rq->ep == HTTP_EP_WRITE || rq->ep == HTTP_EP_V2_WRITE,
                                      memory_order_relaxed);
            if (rq->ep == HTTP_EP_V2_WRITE || rq->ep == HTTP_EP_V2_QUERY) {
                vt_buf b;
                vt_buf_init(&b);
                vt_buf_printf(&b,
                              "{\"code\":\"request too large\",\"message\":\"request body "
                              "exceeds the limit of %zu bytes\"}\n",
                              rq->srv->opts.max_body_bytes);
                return http_respond(rq, 413, &b);
            }
            return http_respond_error(rq, 413, HTTP_ERROR_TOO_LARGE);
        }
        if (rq->gz_bad || (rq->gzip && rq->gz_in > 0 && !rq->gz_done)) {
            atomic_fetch_add_explicit(&rq->srv->write_errors,
                                      rq->ep == HTTP_EP_WRITE || rq->ep == HTTP_EP_V2_WRITE,
                                      memory_order_relaxed);
            const char *why = rq->gz_bad ? "invalid gzip data in request body"
                                         : "truncated gzip data in request body";
            if (rq->ep == HTTP_EP_V2_WRITE || rq->ep == HTTP_EP_V2_QUERY) {
                vt_buf b;
                vt_buf_init(&b);
                vt_buf_printf(&b, "{\"code\":\"invalid\",\"message\":\"%s\"}\n", why);
                return http_respond(rq, 400, &b);
            }
            return http_respond_error(rq, 400, why);
        }
        if (rq->body.len > 0) {
            vt_buf_cstr(&rq->body); /* reserved: never fails once the bytes are in */
        }
        if (rq->ep == HTTP_EP_QUERY || rq->ep == HTTP_EP_V2_QUERY) {
            enum MHD_Result routed;
            if (http_route_read(rq, &routed))
                return routed;
        }
        if (rq->ep == HTTP_EP_WRITE)
            return http_handle_write(rq);
        if (rq->ep == HTTP_EP_V2_WRITE)
            return http_handle_v2_write(rq);
        if (rq->ep == HTTP_EP_V2_QUERY)
            return http_handle_v2_query(rq);
        return http_handle_query(rq);
    case HTTP_EP_OTHER:
    case HTTP_EP_COUNT: break;
    }
    return http_respond_error(rq, 404, "not found");
}

/* ---- body accumulation ---- */

/* b (empty, initialised) becomes a pooled buffer when there is one (note 5), with room for
 * want bytes (0: as it comes). A failed reservation leaves b->oom set, as vt_buf_reserve does. */
static void http_body_take(http_server *s, vt_buf *b, size_t want)
{
    pthread_mutex_lock(&s->body_pool_mu);
    if (s->body_pool_n > 0) {
        *b = s->body_pool[--s->body_pool_n]; /* the most recently used: its pages are warm */
        s->body_pool_bytes -= b->cap;
    }
    pthread_mutex_unlock(&s->body_pool_mu);
    b->len = 0;
    if (want > 0)
        vt_buf_reserve(b, want);
}

/* Gives b's buffer back to the pool, or frees it; b is empty afterwards. */
static void http_body_give(http_server *s, vt_buf *b)
{
    if (b->data && !b->oom) {
        pthread_mutex_lock(&s->body_pool_mu);
        if (s->body_pool_n < HTTP_BODY_POOL_SLOTS &&
            b->cap <= HTTP_BODY_POOL_BYTES - s->body_pool_bytes) {
            s->body_pool[s->body_pool_n++] = *b;
            s->body_pool_bytes += b->cap;
            vt_buf_init(b);
        }
        pthread_mutex_unlock(&s->body_pool_mu);
    }
    vt_buf_free(b);
}

/* The request context of requests without a body we read (its address is the marker). */
static http_request http_no_body;

static void http_body_drop(http_request *rq)
{
    rq->too_large = true;
    vt_buf_free(&rq->body);
}

static void http_body_plain(http_request *rq, const char *data, size_t n)
{
    size_t limit = rq->srv->opts.max_body_bytes;
    if (n > limit || rq->body.len > limit - n) {
        http_body_drop(rq);
        return;
    }
    vt_buf_append(&rq->body, data, n);
    if (rq->body.oom)
        http_body_drop(rq); /* answered as too large: nothing better to say */
}

static void http_body_gzip(http_request *rq, const char *data, size_t n)
{
    size_t limit = rq->srv->opts.max_body_bytes;
    z_stream *zs = &rq->zs;
    rq->gz_in += n;
    while (n > 0) {
        uInt piece = n > (1u << 30) ? (1u << 30) : (uInt)n;
        zs->next_in = (Bytef *)(uintptr_t)data;
        zs->avail_in = piece;
        while (zs->avail_in > 0) {
            if (rq->gz_done) {
                /* another gzip member follows */
                if (inflateReset(zs) != Z_OK) {
                    rq->gz_bad = true;
                    return;
                }
                rq->gz_done = false;
            }
            /* room for one byte past the limit, so "exactly at the limit" is not "over it" */
            size_t room = limit + 1 - rq->body.len;
            size_t chunk = room < 65536 ? room : 65536;
            if (!vt_buf_reserve(&rq->body, chunk)) {
                http_body_drop(rq);
                return;
            }
            zs->next_out = rq->body.data + rq->body.len;
            zs->avail_out = (uInt)chunk;
            int zr = inflate(zs, Z_NO_FLUSH);
            rq->body.len += chunk - zs->avail_out;
            if (rq->body.len > limit) {
                http_body_drop(rq);
                return;
            }
            if (zr == Z_STREAM_END) {
                rq->gz_done = true;
                continue;
            }
            if (zr == Z_BUF_ERROR && zs->avail_in == 0)
                break;        /* needs more input */
            if (zr != Z_OK) { /* data error, or no progress possible */
                rq->gz_bad = true;
                vt_buf_free(&rq->body);
                return;
            }
        }
        data += piece;
        n -= piece;
    }
}

static http_request *http_request_new(http_server *srv, struct MHD_Connection *conn,
                                      http_endpoint ep, const char *method, const char *url)
{
    http_request *rq = calloc(1, sizeof *rq);
    if (!rq)
        return NULL;
    rq->srv = srv;
    rq->conn = conn;
    rq->ep = ep;
    rq->method = method;
    rq->url = url;
    rq->has_ctx = true;
    rq->start_ns = http_mono_ns();
    vt_buf_init(&rq->body);
    const char *enc =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING);
    if (enc && strcasecmp(enc, "gzip") == 0) {
        rq->gzip = true;
        if (inflateInit2(&rq->zs, 16 + MAX_WBITS) != Z_OK) {
            free(rq);
            return NULL;
        }
        rq->gz_init = true;
        http_body_take(srv, &rq->body, 0);
    } else {
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(cl, &end, 10);
            if (errno == 0 && *end == '\0') {
                if (v > srv->opts.max_body_bytes)
                    rq->too_large = true;
                else
                    http_body_take(srv, &rq->body, (size_t)v);
            }
        }
    }
    atomic_fetch_add_explicit(&srv->inflight, 1, memory_order_relaxed);
    return rq;
}

static void http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    http_request *rq = *con_cls;
    *con_cls = NULL;
    if (!rq || rq == &http_no_body)
        return;
    if (rq->gz_init)
        inflateEnd(&rq->zs);
    http_body_give(rq->srv, &rq->body);
    atomic_fetch_sub_explicit(&rq->srv->inflight, 1, memory_order_relaxed);
    free(rq);
}

static enum MHD_Result http_access(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **con_cls)
{
    http_server *srv = cls;
    http_request *rq = *con_cls;
    if (!rq) {
        http_endpoint ep = http_route(url);
        bool body_route = (ep == HTTP_EP_WRITE || ep == HTTP_EP_V2_WRITE || ep == HTTP_EP_QUERY ||
                           ep == HTTP_EP_V2_QUERY || ep == HTTP_EP_ADMIN_LOAD ||
                           ep == HTTP_EP_ADMIN_RESYNC || ep == HTTP_EP_ADMIN_CHECK ||
                           ep == HTTP_EP_ADMIN_SNAPSHOTS || ep == HTTP_EP_ADMIN_BACKUPS ||
                           ep == HTTP_EP_ADMIN_FLAGS || ep == HTTP_EP_ADMIN_RATELIMIT ||
                           ep == HTTP_EP_ADMIN_KEYS || ep == HTTP_EP_ADMIN_BACKENDS ||
                           ep == HTTP_EP_ADMIN_ROLLBACK || ep == HTTP_EP_ADMIN_REPAIR ||
                           ep == HTTP_EP_ADMIN_FAULT) &&
                          (http_is(method, MHD_HTTP_METHOD_POST) ||
                           http_is(method, MHD_HTTP_METHOD_PUT));
        if (!body_route) {
            /* answered once the request is complete (answering now would make MHD close the
             * connection, since it cannot tell the body was not wanted) */
            *con_cls = &http_no_body;
            return MHD_YES;
        }
        rq = http_request_new(srv, conn, ep, method, url);
        if (!rq)
            return MHD_NO;
        *con_cls = rq;
        return MHD_YES;
    }
    if (rq == &http_no_body) {
        if (*upload_data_size > 0) {
            *upload_data_size = 0; /* a body nobody reads */
            return MHD_YES;
        }
        http_request one;
        memset(&one, 0, sizeof one);
        one.srv = srv;
        one.conn = conn;
        one.ep = http_route(url);
        one.method = method;
        one.url = url;
        one.start_ns = http_mono_ns();
        return http_dispatch(&one);
    }
    if (*upload_data_size > 0) {
        if (!rq->too_large && !rq->gz_bad) {
            if (rq->gzip)
                http_body_gzip(rq, upload_data, *upload_data_size);
            else
                http_body_plain(rq, upload_data, *upload_data_size);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    return http_dispatch(rq);
}

/* ---- lifecycle ---- */

void http_options_default(http_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->listen = "127.0.0.1:8086";
    opts->max_body_bytes = 32u << 20;
    opts->threads = 0;
    opts->connection_limit = 1024;
    opts->connection_timeout_s = 120;
}

static bool http_addr_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return true;
        return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
    }
    return false;
}

/* Splits "host:port", "[v6]:port", ":port" and binds. */
static vt_rc http_bind(http_server *s, const char *listen_addr, vt_err *err)
{
    char host[256], port[16];
    const char *colon;
    if (listen_addr[0] == '[') {
        const char *close = strchr(listen_addr, ']');
        if (!close || close[1] != ':')
            return vt_err_set(err, VT_EINVAL, "listen address '%s': expected [addr]:port",
                              listen_addr);
        size_t hn = (size_t)(close - listen_addr - 1);
        if (hn >= sizeof host)
            return vt_err_set(err, VT_EINVAL, "listen address '%s': host too long", listen_addr);
        memcpy(host, listen_addr + 1, hn);
        host[hn] = '\0';
        colon = close + 1;
    } else {
        colon = strrchr(listen_addr, ':');
        if (!colon)
            return vt_err_set(err, VT_EINVAL, "listen address '%s': expected host:port",
                              listen_addr);
        size_t hn = (size_t)(colon - listen_addr);
        if (hn >= sizeof host)
            return vt_err_set(err, VT_EINVAL, "listen address '%s': host too long", listen_addr);
        memcpy(host, listen_addr, hn);
        host[hn] = '\0';
    }
    const char *ps = colon + 1;
    size_t pn = strlen(ps);
    if (pn == 0 || pn > 5 || strspn(ps, "0123456789") != pn || atoi(ps) > 65535)
        return vt_err_set(err, VT_EINVAL, "listen address '%s': invalid port '%s'", listen_addr,
                          ps);
    snprintf(port, sizeof port, "%s", ps);

    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    hints.ai_family = host[0] ? AF_UNSPEC : AF_INET;
    int gr = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (gr != 0)
        return vt_err_set(err, VT_EINVAL, "listen address '%s': %s", listen_addr, gai_strerror(gr));
    int last_errno = 0;
    const char *what = "bind";
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd =
            socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            what = "socket";
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            last_errno = errno;
            what = "bind";
            close(fd);
            continue;
        }
        if (listen(fd, 1024) != 0) {
            last_errno = errno;
            what = "listen";
            close(fd);
            continue;
        }
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
            if (ss.ss_family == AF_INET)
                s->port = ntohs(((struct sockaddr_in *)(void *)&ss)->sin_port);
            else if (ss.ss_family == AF_INET6)
                s->port = ntohs(((struct sockaddr_in6 *)(void *)&ss)->sin6_port);
        }
        s->loopback = http_addr_loopback(ai->ai_addr);
        s->listen_fd = fd;
        freeaddrinfo(res);
        return VT_OK;
    }
    freeaddrinfo(res);
    return vt_err_set(err, VT_EIO, "%s %s: %s", what, listen_addr, strerror(last_errno));
}

vt_rc http_server_start(node *n, const http_options *opts, http_server **out, vt_err *err)
{
    *out = NULL;
    http_server *s = calloc(1, sizeof *s);
    if (!s)
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    s->node = n;
    s->opts = *opts;
    s->listen_fd = -1;
    if (!s->opts.listen || !s->opts.listen[0])
        s->opts.listen = "127.0.0.1:8086";
    snprintf(s->listen, sizeof s->listen, "%s", s->opts.listen);
    s->opts.listen = s->listen;
    if (s->opts.max_body_bytes == 0)
        s->opts.max_body_bytes = 32u << 20;
    if (s->opts.connection_limit == 0)
        s->opts.connection_limit = 1024;
    if (s->opts.connection_timeout_s == 0)
        s->opts.connection_timeout_s = 120;
    s->threads = s->opts.threads; /* 0: a thread per connection (note 6) */
    if (s->threads) {
        s->query_thread_limit = 2 * (int)s->threads;
    } else {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        unsigned long t = (nc > 0 ? (unsigned long)nc : 1ul) * HTTP_QUERY_THREADS_PER_CPU;
        s->query_thread_limit = (int)(t > 128 ? 128 : t);
    }
    pthread_mutex_init(&s->body_pool_mu, NULL);
    snprintf(s->version, sizeof s->version, "1.8.10-volta-%s", VOLTA_VERSION);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    s->id_seed =
        ((uint64_t)ts.tv_sec * 1000000007ull) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);

    vt_rc rc = http_bind(s, s->listen, err);
    if (rc != VT_OK) {
        pthread_mutex_destroy(&s->body_pool_mu);
        free(s);
        return rc;
    }
    unsigned mhd_flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC;
    if (s->threads)
        mhd_flags |= MHD_USE_EPOLL;
    else
        mhd_flags |= MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
    /* the pool size goes last: with a thread per connection there is none, and MHD warns at
     * every start when told a size of 0, so the list ends there instead */
    s->daemon = MHD_start_daemon(
        mhd_flags, 0, NULL, NULL, http_access, s, MHD_OPTION_EXTERNAL_LOGGER, http_mhd_logger, s,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)s->listen_fd, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)s->opts.connection_limit, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)s->opts.connection_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(128 * 1024), MHD_OPTION_NOTIFY_COMPLETED, http_completed, s,
        MHD_OPTION_UNESCAPE_CALLBACK, http_unescape_cb, s,
        s->threads ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, (unsigned int)s->threads,
        MHD_OPTION_END);
    if (!s->daemon) {
        close(s->listen_fd);
        pthread_mutex_destroy(&s->body_pool_mu);
        free(s);
        return vt_err_set(err, VT_EIO, "cannot start the HTTP server on %s (see the log above)",
                          opts->listen ? opts->listen : "?");
    }
    *out = s;
    return VT_OK;
}

uint16_t http_server_port(const http_server *s)
{
    return s->port;
}

int http_server_is_loopback(const http_server *s)
{
    return s->loopback ? 1 : 0;
}

unsigned http_server_threads(const http_server *s)
{
    return s->threads;
}

void http_server_stop(http_server *s)
{
    if (!s)
        return;
    MHD_socket lfd = MHD_quiesce_daemon(s->daemon);
    /* let requests that are reading or handling a body finish (node_write in progress) */
    for (int i = 0; i < 500 && atomic_load(&s->inflight) > 0; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(s->daemon);
    if (lfd != MHD_INVALID_SOCKET)
        close(lfd);
    /* streaming /query threads: their pipes are closed now, so they stop at their next write;
     * the node must outlive them, so wait for every one (a long aggregate may take a while
     * before it writes again) */
    for (long i = 0; atomic_load(&s->query_threads) > 0; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (i % 500 == 499)
            http_log("info", NULL, "shutdown: waiting for %d streaming queries to stop",
                     (int)atomic_load(&s->query_threads));
    }
    for (unsigned i = 0; i < s->body_pool_n; i++)
        vt_buf_free(&s->body_pool[i]);
    pthread_mutex_destroy(&s->body_pool_mu);
    free(s);
}
