/*
 * server/mhd_lazy.c — libmicrohttpd, loaded on first use.
 *
 * Why: libmicrohttpd links gnutls, which pulls ten more shared libraries into the process
 * (p11-kit, nettle, hogweed, gmp, idn2, unistring, tasn1, ffi, ...). Paging them in and
 * relocating them costs 10-20 ms of every cold start — a sixth of a cold `volta restore` or
 * `volta check`, which never serve HTTP. volta is therefore not linked against libmicrohttpd;
 * the first call of any function below dlopen()s "libmicrohttpd.so.12" (the soname of Debian's
 * libmicrohttpd12 / libmicrohttpd-dev) and resolves the functions volta uses. Only `volta serve`
 * (and tests that start a server) load it. Same scheme as common/curl_lazy.c.
 *
 * How: each function here has libmicrohttpd's own name and signature (microhttpd.h), so the
 * call sites are plain libmicrohttpd code, type-checked by the header. The two variadic entry
 * points are forwarded without guessing at their arguments: MHD_start_daemon hands its option
 * list to the library's MHD_start_daemon_va; MHD_get_connection_info passes no extra argument,
 * which is what every info type volta asks for takes (the client address). The executable
 * does not export these symbols (no -rdynamic), so the library's internal calls never resolve
 * to them.
 *
 * Failure: when the library cannot be loaded, MHD_start_daemon returns NULL (its documented
 * failure; the server reports it) after printing the reason (dlerror's text) to stderr once;
 * nothing else can be reached without a daemon. Loading happens once (pthread_once), so it is
 * thread-safe.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "common/dlload.h"

#define MHD_SONAME "libmicrohttpd.so.12"

static struct {
    struct MHD_Daemon *(*start_daemon_va)(unsigned int, uint16_t, MHD_AcceptPolicyCallback, void *,
                                          MHD_AccessHandlerCallback, void *, va_list);
    void (*stop_daemon)(struct MHD_Daemon *);
    MHD_socket (*quiesce_daemon)(struct MHD_Daemon *);
    const char *(*lookup_connection_value)(struct MHD_Connection *, enum MHD_ValueKind,
                                           const char *);
    int (*get_connection_values)(struct MHD_Connection *, enum MHD_ValueKind,
                                 MHD_KeyValueIterator, void *);
    const union MHD_ConnectionInfo *(*get_connection_info)(struct MHD_Connection *,
                                                          enum MHD_ConnectionInfoType, ...);
    enum MHD_Result (*queue_response)(struct MHD_Connection *, unsigned int,
                                      struct MHD_Response *);
    struct MHD_Response *(*create_response_from_buffer)(size_t, void *,
                                                        enum MHD_ResponseMemoryMode);
    struct MHD_Response *(*create_response_from_pipe)(int);
    enum MHD_Result (*add_response_header)(struct MHD_Response *, const char *, const char *);
    void (*destroy_response)(struct MHD_Response *);
} lm;

static pthread_once_t lm_once = PTHREAD_ONCE_INIT;
static bool lm_ok;

static void lm_load(void)
{
    const vt_dl_sym syms[] = {
        {"MHD_start_daemon_va", &lm.start_daemon_va},
        {"MHD_stop_daemon", &lm.stop_daemon},
        {"MHD_quiesce_daemon", &lm.quiesce_daemon},
        {"MHD_lookup_connection_value", &lm.lookup_connection_value},
        {"MHD_get_connection_values", &lm.get_connection_values},
        {"MHD_get_connection_info", &lm.get_connection_info},
        {"MHD_queue_response", &lm.queue_response},
        {"MHD_create_response_from_buffer", &lm.create_response_from_buffer},
        {"MHD_create_response_from_pipe", &lm.create_response_from_pipe},
        {"MHD_add_response_header", &lm.add_response_header},
        {"MHD_destroy_response", &lm.destroy_response},
    };
    char why[256];
    lm_ok = vt_dl_load(MHD_SONAME, "libmicrohttpd12", syms, sizeof syms / sizeof syms[0], why,
                       sizeof why);
    if (!lm_ok)
        fprintf(stderr, "volta: %s\n", why);
}

static bool lm_ready(void)
{
    pthread_once(&lm_once, lm_load);
    return lm_ok;
}

/* Every function but MHD_start_daemon needs a daemon, a connection or a response, which only
 * exist once the library is loaded: they call through without checking. */

struct MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port,
                                    MHD_AcceptPolicyCallback apc, void *apc_cls,
                                    MHD_AccessHandlerCallback dh, void *dh_cls, ...)
{
    if (!lm_ready())
        return NULL;
    va_list ap;
    va_start(ap, dh_cls);
    struct MHD_Daemon *d = lm.start_daemon_va(flags, port, apc, apc_cls, dh, dh_cls, ap);
    va_end(ap);
    return d;
}

void MHD_stop_daemon(struct MHD_Daemon *daemon)
{
    if (lm_ready())
        lm.stop_daemon(daemon);
}

MHD_socket MHD_quiesce_daemon(struct MHD_Daemon *daemon)
{
    return lm_ready() ? lm.quiesce_daemon(daemon) : MHD_INVALID_SOCKET;
}

const char *MHD_lookup_connection_value(struct MHD_Connection *connection,
                                        enum MHD_ValueKind kind, const char *key)
{
    return lm.lookup_connection_value(connection, kind, key);
}

int MHD_get_connection_values(struct MHD_Connection *connection, enum MHD_ValueKind kind,
                              MHD_KeyValueIterator iterator, void *iterator_cls)
{
    return lm.get_connection_values(connection, kind, iterator, iterator_cls);
}

const union MHD_ConnectionInfo *MHD_get_connection_info(struct MHD_Connection *connection,
                                                        enum MHD_ConnectionInfoType info_type,
                                                        ...)
{
    return lm.get_connection_info(connection, info_type);
}

enum MHD_Result MHD_queue_response(struct MHD_Connection *connection, unsigned int status_code,
                                   struct MHD_Response *response)
{
    return lm.queue_response(connection, status_code, response);
}

struct MHD_Response *MHD_create_response_from_buffer(size_t size, void *buffer,
                                                     enum MHD_ResponseMemoryMode mode)
{
    return lm_ready() ? lm.create_response_from_buffer(size, buffer, mode) : NULL;
}

struct MHD_Response *MHD_create_response_from_pipe(int fd)
{
    return lm_ready() ? lm.create_response_from_pipe(fd) : NULL;
}

enum MHD_Result MHD_add_response_header(struct MHD_Response *response, const char *header,
                                        const char *content)
{
    return lm.add_response_header(response, header, content);
}

void MHD_destroy_response(struct MHD_Response *response)
{
    lm.destroy_response(response);
}
