/*
 * cli/cli_http.h — the one HTTP call operator commands make to a running server (libcurl).
 */
#ifndef CLI_CLI_HTTP_H
#define CLI_CLI_HTTP_H

#include <stddef.h>

#include "common/buf.h"

/* method "GET", "POST" or "DELETE" (body/len/content_type used for POST). The response body is appended
 * to resp; *status = the HTTP status. Returns 0, or -1 with errbuf (>= 256 bytes) saying why
 * the server could not be reached. */
int cli_http(const char *method, const char *url, const char *body, size_t len,
             const char *content_type, long timeout_s, vt_buf *resp, long *status, char *errbuf);

/* Appends "x-api-key: $VOLTA_API_KEY" to hdr when the variable is set (commands that build
 * their own libcurl requests call it, so every command works against a server with keys). */
struct curl_slist;
struct curl_slist *cli_http_auth_header(struct curl_slist *hdr);

#endif
