/*
 * server/http.h — volta's HTTP server (libmicrohttpd): InfluxDB 1.x API (/ping, /write, /query),
 * /api/v2/write, /health and /metrics over one node (core/node.h). Endpoints, parameters and
 * error bodies are documented in docs/API.md.
 *
 * Threading: libmicrohttpd runs an internal thread pool (epoll, one event loop per thread); a
 * request is handled entirely on the thread that read it, and node_write blocks that thread until
 * the write is durable (concurrent writers share the fsync). Counters are atomics.
 *
 * Lifecycle (volta serve):
 *     http_server_start(n, &opts, &srv, &err);  ...  http_server_stop(srv);  node_close(n, ...);
 * The node must outlive the server. Block SIGTERM/SIGINT/SIGPIPE before starting it: the pool's
 * threads inherit the mask.
 */
#ifndef SERVER_HTTP_H
#define SERVER_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "core/node.h"

typedef struct http_options {
    const char *listen; /* "host:port", "[v6addr]:port", ":port" (all interfaces); port 0 = any */
    size_t max_body_bytes;         /* request body limit, after gunzip too; default 32 MiB */
    unsigned threads; /* 0 (default): one thread per connection; N: a pool of N threads, each
                       * serving many connections from its own epoll loop */
    unsigned connection_limit;     /* default 1024 */
    unsigned connection_timeout_s; /* idle connection timeout; default 120 */
    /* the ingest pipeline, when the server runs one (NULL otherwise): reported in /health and
     * /metrics, driven by the admin endpoints */
    struct meta *meta;
    struct replication *replication;
    struct landing *landing;
    const char *landing_db; /* database landing-zone files go to */
    /* the gateway (flags, keys, rate limits; gateway/gateway.h), or NULL: no admission control */
    struct gateway *gateway;
} http_options;

typedef struct http_server http_server;

/* Defaults for everything (listen "127.0.0.1:8086"). */
void http_options_default(http_options *opts);

/* Binds the listen address and starts the worker threads. Errors name the address
 * (VT_EINVAL for a malformed address, VT_EIO for bind/listen failures). */
vt_rc http_server_start(node *n, const http_options *opts, http_server **out, vt_err *err);

/* The bound port (useful with port 0) and whether the address is a loopback one. */
uint16_t http_server_port(const http_server *s);
int http_server_is_loopback(const http_server *s);
/* The size of the worker pool; 0 when each connection has its own thread. */
unsigned http_server_threads(const http_server *s);

/* Stops accepting, lets requests in progress finish (up to a few seconds), stops the threads and
 * frees s. The node is left open. */
void http_server_stop(http_server *s);

/* One JSON line on stderr: {"ts":"...","level":"...","msg":"..."<,fields>}. fields is NULL or
 * extra members already in JSON ("\"addr\":\"127.0.0.1:8086\""). Thread-safe (one write(2)). */
void http_log(const char *level, const char *fields, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
