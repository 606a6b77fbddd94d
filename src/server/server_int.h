/*
 * server/server_int.h — what http.c shares with the handler files (handlers_v1.c, handlers_v2.c).
 * Not a contract for other modules.
 */
#ifndef SERVER_SERVER_INT_H
#define SERVER_SERVER_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "common/buf.h"
#include "core/node.h"
#include "server/http.h"

typedef enum http_endpoint {
    HTTP_EP_PING = 0,
    HTTP_EP_HEALTH,
    HTTP_EP_WRITE,
    HTTP_EP_V2_WRITE,
    HTTP_EP_QUERY,
    HTTP_EP_METRICS,
    HTTP_EP_V2_QUERY, /* POST /api/v2/query (Flux) */
    HTTP_EP_ADMIN_LOAD,   /* POST /api/v1/load: load files through the ledger */
    HTTP_EP_ADMIN_RESYNC, /* POST /api/v1/resync: repair a backend */
    HTTP_EP_ADMIN_LEDGER, /* GET /api/v1/ledger: the ingest ledger */
    HTTP_EP_ADMIN_EXPORT, /* GET /api/v1/export: stream a database as line protocol or JSON */
    HTTP_EP_ADMIN_CHECK,  /* POST /api/v1/check: the integrity checks */
    HTTP_EP_ADMIN_SNAPSHOTS, /* GET|POST /api/v1/snapshots, DELETE /api/v1/snapshots?id= */
    HTTP_EP_ADMIN_BACKUPS,   /* GET|POST /api/v1/backups (list / take one) */
    HTTP_EP_ADMIN_FLAGS,     /* /api/v1/flags, /api/v1/flags/history, /api/v1/flags/revert */
    HTTP_EP_ADMIN_RATELIMIT, /* GET|POST /api/v1/ratelimit */
    HTTP_EP_ADMIN_KEYS,      /* GET|POST /api/v1/keys, DELETE /api/v1/keys?id= */
    HTTP_EP_ADMIN_BACKENDS,  /* GET /api/v1/backends, POST /api/v1/backends/query */
    HTTP_EP_ADMIN_ROLLBACK,  /* /api/v1/rollback (the rollback state machine's record) */
    HTTP_EP_ADMIN_REPAIR,    /* POST /api/v1/repair: rebuild corrupt blocks */
    HTTP_EP_ADMIN_FAULT,     /* POST /api/v1/fault: drills' latency fault (test-only switch) */
    HTTP_EP_OTHER,
    HTTP_EP_COUNT
} http_endpoint;

/* Statuses counted per endpoint in volta_http_requests_total; the last slot is "other". */
#define HTTP_STATUS_SLOTS 17

/* Request-body buffers kept for reuse: at most this many, of at most HTTP_BODY_POOL_BYTES in
 * all. */
#define HTTP_BODY_POOL_SLOTS 16
#define HTTP_BODY_POOL_BYTES ((size_t)16 << 20)

struct http_server {
    struct MHD_Daemon *daemon;
    node *node;
    http_options opts;
    char listen[256];
    int listen_fd;
    uint16_t port;
    bool loopback;
    unsigned threads;       /* worker pool size; 0 = a thread per connection (note 6) */
    int query_thread_limit; /* streamed /query responses at once (query_threads) */
    char version[64]; /* X-Influxdb-Version value: 1.8.10-volta-<VOLTA_VERSION> */
    uint64_t id_seed;
    atomic_uint_fast64_t next_id;
    atomic_int inflight; /* requests with a body being read or handled */
    atomic_int query_threads; /* /query responses being streamed by their own thread */
    atomic_uint_fast64_t requests[HTTP_EP_COUNT][HTTP_STATUS_SLOTS];
    atomic_uint_fast64_t points_written;
    atomic_uint_fast64_t write_errors;
    /* request-body buffers kept for the next request (http.c note 5) */
    pthread_mutex_t body_pool_mu;
    vt_buf body_pool[HTTP_BODY_POOL_SLOTS];
    unsigned body_pool_n;
    size_t body_pool_bytes;
};

/* One request. Handlers read rq->body (NUL-terminated when non-empty: body.data[len] == 0 after
 * http.c finishes it; may be NULL when empty). */
typedef struct http_request {
    http_server *srv;
    struct MHD_Connection *conn;
    http_endpoint ep;
    const char *method;
    const char *url; /* the path, without the query string */
    vt_buf body;
    bool has_ctx; /* allocated across calls (a body endpoint) */
    bool too_large;
    bool gzip;
    bool gz_init, gz_done, gz_bad;
    uint64_t gz_in;
    z_stream zs;
    char id[40];
    int64_t start_ns; /* monotonic clock when the request's headers were read */
    /* set by the gateway (admission.c) once the request is admitted */
    char key_id[16];  /* the API key used ("" when none) */
    int scope;        /* auth_scope granted */
    /* set by the router (route.c): the node /query and /api/v2/query run on — a native backup's
     * when reads go to the backup; NULL = srv->node (read it through http_rq_node) */
    node *node;
    bool streamed; /* the answer is streamed by a query thread, which reports it to metrics.c */
} http_request;

/* The node a request's reads run on. */
static inline node *http_rq_node(const http_request *rq)
{
    return rq->node ? rq->node : rq->srv->node;
}

/* Queues a response. json (may be NULL for an empty body) is taken over: its data is handed to
 * MHD or freed. Adds the version, build and request-id headers, and Content-Type when a body is
 * given. Counts the request in the metrics. */
enum MHD_Result http_respond(http_request *rq, unsigned status, vt_buf *json);
/* Like http_respond, with a Retry-After: <seconds> header (429, 503). */
enum MHD_Result http_respond_retry(http_request *rq, unsigned status, vt_buf *json,
                                   unsigned retry_after_s);
/* Like http_respond with another Content-Type (text/csv ...). */
enum MHD_Result http_respond_typed(http_request *rq, unsigned status, vt_buf *body,
                                   const char *content_type);
/* A response whose body MHD reads from the pipe fd (taken over; closed by MHD). */
enum MHD_Result http_respond_pipe(http_request *rq, unsigned status, int fd,
                                  const char *content_type);
/* Admin endpoints (handlers_admin.c). */
enum MHD_Result http_handle_admin_load(http_request *rq);
enum MHD_Result http_handle_admin_resync(http_request *rq);
enum MHD_Result http_handle_admin_ledger(http_request *rq);
enum MHD_Result http_handle_admin_export(http_request *rq);    /* handlers_export.c */
enum MHD_Result http_handle_admin_check(http_request *rq);     /* handlers_check.c */
enum MHD_Result http_handle_admin_repair(http_request *rq);    /* handlers_repair.c */
enum MHD_Result http_handle_admin_fault(http_request *rq);     /* handlers_admin.c */
enum MHD_Result http_handle_admin_snapshots(http_request *rq); /* handlers_snapshot.c */
enum MHD_Result http_handle_admin_backups(http_request *rq);   /* handlers_backup.c */
/* These check the method and the sub-path (rq->url) themselves. */
enum MHD_Result http_handle_admin_flags(http_request *rq);     /* handlers_flags.c */
enum MHD_Result http_handle_admin_ratelimit(http_request *rq); /* handlers_flags.c */
enum MHD_Result http_handle_admin_keys(http_request *rq);      /* handlers_keys.c */
enum MHD_Result http_handle_admin_backends(http_request *rq);  /* handlers_backends.c */
enum MHD_Result http_handle_admin_rollback(http_request *rq);  /* handlers_rollback.c */

/* {"error":"<msg>"} with status. */
enum MHD_Result http_respond_error(http_request *rq, unsigned status, const char *msg);
/* 405 with an Allow header. */
enum MHD_Result http_respond_method(http_request *rq, const char *allow);

/* A query-string argument (decoded; '+' is a space), or NULL. */
const char *http_arg(http_request *rq, const char *key);
/* A field of an application/x-www-form-urlencoded body, decoded into a malloc'd string (caller
 * frees), or NULL when absent / out of memory. */
char *http_form_value(const char *body, size_t len, const char *key);

/* Appends s[0..n) as a JSON string literal: quotes, escapes, invalid UTF-8 as U+FFFD. */
void http_json_str(vt_buf *b, const char *s, size_t n);
void http_json_cstr(vt_buf *b, const char *s);

/* The endpoint's label in /metrics ("write", "admin_flags", ...). */
const char *http_endpoint_name(http_endpoint ep);

/* Wall clock, ns since the epoch. */
int64_t http_now_ns(void);
/* Monotonic clock, ns. */
int64_t http_mono_ns(void);

/* ---- the gateway and the router (called by http_dispatch) ---- */

/* admission.c: authentication, protected mode, maintenance mode, rate limits. Returns true when
 * the request may go on; false when a response was queued (*r is what to return to MHD). */
bool http_admit(http_request *rq, enum MHD_Result *r);
/* route.c: when reads go to the backup backend (the read_backend flag), answers a /query or
 * /api/v2/query request from it and returns true (*r set); false = serve it from the primary. */
bool http_route_read(http_request *rq, enum MHD_Result *r);
/* metrics.c: called once per response queued: latency histograms, error windows. */
void http_observe(http_request *rq, unsigned status);
/* metrics.c: appends the gateway's and router's series to a /metrics body. */
void http_metrics_gateway(http_server *srv, vt_buf *b);

enum MHD_Result http_handle_ping(http_request *rq);
enum MHD_Result http_handle_health(http_request *rq);
enum MHD_Result http_handle_write(http_request *rq);
enum MHD_Result http_handle_query(http_request *rq);
bool http_ask_try(http_request *rq, enum MHD_Result *r); /* handlers_ask.c: POST {"question"} */
enum MHD_Result http_handle_v2_write(http_request *rq);
enum MHD_Result http_handle_v2_query(http_request *rq);

#endif
