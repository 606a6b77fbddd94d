/*
 * cli/cli_http.h — the one HTTP call operator commands make to a running server (libcurl).
 */
#ifndef CLI_CLI_HTTP_H
#define CLI_CLI_HTTP_H

#include <stddef.h>

#include "common/buf.h"

/* Every request carries `X-Volta-Operator: cli`: with an admin key (or from loopback in protected
 * mode) it passes maintenance mode and the rate limits (docs/GATEWAY.md), so operator commands
 * keep working while clients are held back.
 * method "GET", "POST" or "DELETE" (body/len/content_type used for POST). The response body is appended
 * to resp; *status = the HTTP status. Returns 0, or -1 with errbuf (>= 256 bytes) saying why
 * the server could not be reached. */
int cli_http(const char *method, const char *url, const char *body, size_t len,
             const char *content_type, long timeout_s, vt_buf *resp, long *status, char *errbuf);

/* One call to a running server's admin API: METHOD <host><path> with a JSON body (may be NULL).
 * Returns the parsed JSON answer (json_decref it), or NULL after printing "volta <cmd>: ..." on
 * stderr with *exit_code set: 2 when the server cannot be reached or answers 400 (bad usage), 1
 * for any other status >= 300 or an answer that is not JSON. */
struct json_t;
struct json_t *cli_admin_json(const char *cmd, const char *host, const char *method,
                              const char *path, const struct json_t *body, int *exit_code);

/* "cli:<login name>" — who an operator command acts as, in the audit log. */
void cli_user(char *out, size_t cap);

/* Appends "x-api-key: $VOLTA_API_KEY" to hdr when the variable is set (commands that build
 * their own libcurl requests call it, so every command works against a server with keys). */
struct curl_slist;
struct curl_slist *cli_http_auth_header(struct curl_slist *hdr);

#endif
