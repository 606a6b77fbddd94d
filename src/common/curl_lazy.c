/*
 * common/curl_lazy.c — libcurl, loaded on first use.
 *
 * Why: libcurl pulls about 25 shared libraries into the process (openssl, krb5, ldap, ssh2,
 * rtmp, ...), and paging them in costs 20-40 ms of every cold start — a third of a cold
 * `volta restore`, which never speaks HTTP. volta is therefore not linked against libcurl; the
 * first call of any libcurl function below dlopen()s "libcurl.so.4" (the soname of Debian's
 * libcurl4 / libcurl4-openssl-dev) and resolves the functions volta uses. Commands and servers
 * that never reach HTTP client code never load it.
 *
 * How: each function here has libcurl's own name and signature (curl/curl.h), so the call sites
 * are plain libcurl code, type-checked by curl.h's macros; the definitions are parenthesised so
 * those macros do not expand. The variadic curl_easy_setopt forwards its one argument with the
 * type libcurl's option numbering gives it (CURLOPTTYPE_*: long below 10000, a pointer below
 * 20000, a function pointer below 30000, curl_off_t below 40000, a pointer above).
 * curl_easy_getinfo's argument is always a pointer. The executable does not export these
 * symbols (no -rdynamic), so libcurl's own internal calls never resolve to them.
 *
 * Failure: when the library cannot be loaded, curl_global_init returns CURLE_FAILED_INIT,
 * curl_easy_init and curl_slist_append return NULL, the others CURLE_FAILED_INIT (or nothing),
 * and curl_easy_strerror names the reason (dlerror's text): every caller already handles those.
 * Loading happens once (pthread_once), so it is thread-safe.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/dlload.h"

#define CURL_SONAME "libcurl.so.4"

static struct {
    CURLcode (*global_init)(long);
    void (*global_cleanup)(void);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    void (*easy_reset)(CURL *);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    char *(*easy_escape)(CURL *, const char *, int);
    void (*free_fn)(void *);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} lc;

static pthread_once_t lc_once = PTHREAD_ONCE_INIT;
static bool lc_ok;
static char lc_error[256];

static void lc_load(void)
{
    const vt_dl_sym syms[] = {
        {"curl_global_init", &lc.global_init},     {"curl_global_cleanup", &lc.global_cleanup},
        {"curl_easy_init", &lc.easy_init},         {"curl_easy_setopt", &lc.easy_setopt},
        {"curl_easy_perform", &lc.easy_perform},   {"curl_easy_getinfo", &lc.easy_getinfo},
        {"curl_easy_reset", &lc.easy_reset},       {"curl_easy_cleanup", &lc.easy_cleanup},
        {"curl_easy_strerror", &lc.easy_strerror}, {"curl_easy_escape", &lc.easy_escape},
        {"curl_free", &lc.free_fn},                {"curl_slist_append", &lc.slist_append},
        {"curl_slist_free_all", &lc.slist_free_all},
    };
    lc_ok = vt_dl_load(CURL_SONAME, "libcurl4", syms, sizeof syms / sizeof syms[0], lc_error,
                       sizeof lc_error);
}

static bool lc_ready(void)
{
    pthread_once(&lc_once, lc_load);
    return lc_ok;
}

CURLcode(curl_global_init)(long flags)
{
    return lc_ready() ? lc.global_init(flags) : CURLE_FAILED_INIT;
}

void(curl_global_cleanup)(void)
{
    if (lc_ready())
        lc.global_cleanup();
}

CURL *(curl_easy_init)(void)
{
    return lc_ready() ? lc.easy_init() : NULL;
}

CURLcode(curl_easy_setopt)(CURL *curl, CURLoption option, ...)
{
    if (!lc_ready())
        return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, option);
    CURLcode rc;
    if (option < CURLOPTTYPE_OBJECTPOINT) {
        long v = va_arg(ap, long);
        rc = lc.easy_setopt(curl, option, v);
    } else if (option < CURLOPTTYPE_FUNCTIONPOINT) {
        void *v = va_arg(ap, void *);
        rc = lc.easy_setopt(curl, option, v);
    } else if (option < CURLOPTTYPE_OFF_T) {
        void (*v)(void) = va_arg(ap, void (*)(void));
        rc = lc.easy_setopt(curl, option, v);
    } else if (option < CURLOPTTYPE_BLOB) {
        curl_off_t v = va_arg(ap, curl_off_t);
        rc = lc.easy_setopt(curl, option, v);
    } else {
        void *v = va_arg(ap, void *);
        rc = lc.easy_setopt(curl, option, v);
    }
    va_end(ap);
    return rc;
}

CURLcode(curl_easy_perform)(CURL *curl)
{
    return lc_ready() ? lc.easy_perform(curl) : CURLE_FAILED_INIT;
}

CURLcode(curl_easy_getinfo)(CURL *curl, CURLINFO info, ...)
{
    if (!lc_ready())
        return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, info);
    void *p = va_arg(ap, void *);
    va_end(ap);
    return lc.easy_getinfo(curl, info, p);
}

void(curl_easy_reset)(CURL *curl)
{
    if (lc_ready())
        lc.easy_reset(curl);
}

void(curl_easy_cleanup)(CURL *curl)
{
    if (lc_ready())
        lc.easy_cleanup(curl);
}

const char *(curl_easy_strerror)(CURLcode code)
{
    return lc_ready() ? lc.easy_strerror(code) : lc_error;
}

char *(curl_easy_escape)(CURL *curl, const char *s, int length)
{
    return lc_ready() ? lc.easy_escape(curl, s, length) : NULL;
}

void(curl_free)(void *p)
{
    if (lc_ready())
        lc.free_fn(p);
}

struct curl_slist *(curl_slist_append)(struct curl_slist *list, const char *s)
{
    return lc_ready() ? lc.slist_append(list, s) : NULL;
}

void(curl_slist_free_all)(struct curl_slist *list)
{
    if (lc_ready())
        lc.slist_free_all(list);
}
