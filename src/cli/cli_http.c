/*
 * cli/cli_http.c — see cli_http.h. When $VOLTA_API_KEY is set, every request carries it as
 * `x-api-key` (so operator commands work against a server that has API keys; docs/AUTH.md).
 */
#include "cli/cli_http.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t sink(char *data, size_t size, size_t n, void *ctx)
{
    vt_buf_append(ctx, data, size * n);
    return ((vt_buf *)ctx)->oom ? 0 : size * n;
}

int cli_http(const char *method, const char *url, const char *body, size_t len,
             const char *content_type, long timeout_s, vt_buf *resp, long *status, char *errbuf)
{
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(errbuf, 256, "cannot initialise libcurl");
        return -1;
    }
    struct curl_slist *hdr = NULL;
    char ct[128];
    errbuf[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    if (strcmp(method, "DELETE") == 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        snprintf(ct, sizeof ct, "Content-Type: %s",
                 content_type ? content_type : "application/json");
        hdr = curl_slist_append(hdr, ct);
    }
    hdr = cli_http_auth_header(hdr);
    /* an operator command: passes maintenance and rate limits when its key is an admin one */
    hdr = curl_slist_append(hdr, "X-Volta-Operator: cli");
    if (hdr)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "volta-cli/" VOLTA_VERSION);
    CURLcode cc = curl_easy_perform(c);
    int rc = 0;
    if (cc != CURLE_OK) {
        if (!errbuf[0])
            snprintf(errbuf, 256, "%s", curl_easy_strerror(cc));
        rc = -1;
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    }
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    return rc;
}

struct curl_slist *cli_http_auth_header(struct curl_slist *hdr)
{
    const char *key = getenv("VOLTA_API_KEY");
    char kh[512];
    if (key && key[0] && strlen(key) < sizeof kh - 16 && !strpbrk(key, "\r\n")) {
        snprintf(kh, sizeof kh, "x-api-key: %s", key);
        struct curl_slist *with = curl_slist_append(hdr, kh); /* copies kh */
        explicit_bzero(kh, sizeof kh);
        return with;
    }
    return hdr;
}

json_t *cli_admin_json(const char *cmd, const char *host, const char *method, const char *path,
                       const json_t *body, int *exit_code)
{
    char url[4096], errbuf[512];
    snprintf(url, sizeof url, "%s%s", host, path);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (body && !text) {
        fprintf(stderr, "volta %s: out of memory (or a value that is not UTF-8)\n", cmd);
        *exit_code = 2;
        return NULL;
    }
    vt_buf resp;
    vt_buf_init(&resp);
    long status = 0;
    int rc = cli_http(method, url, text ? text : "", text ? strlen(text) : 0, "application/json",
                      60, &resp, &status, errbuf);
    free(text);
    if (rc != 0) {
        fprintf(stderr, "volta %s: %s: %s\n", cmd, host, errbuf);
        vt_buf_free(&resp);
        *exit_code = 2;
        return NULL;
    }
    json_t *doc = json_loadb((const char *)resp.data, resp.len, 0, NULL);
    if (status >= 300 || !doc) {
        const char *e = json_string_value(json_object_get(doc, "error"));
        fprintf(stderr, "volta %s: server answered %ld: %s\n", cmd, status,
                e ? e : resp.len ? vt_buf_cstr(&resp) : "(no body)");
        json_decref(doc);
        doc = NULL;
        *exit_code = status == 400 ? 2 : 1;
    }
    vt_buf_free(&resp);
    return doc;
}

void cli_user(char *out, size_t cap)
{
    const char *u = getenv("USER");
    if (!u || !u[0]) {
        struct passwd *pw = getpwuid(getuid());
        u = pw ? pw->pw_name : "unknown";
    }
    snprintf(out, cap, "cli:%s", u);
}
