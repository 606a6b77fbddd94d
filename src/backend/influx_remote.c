/*
 * backend/influx_remote.c — replays journal records on a remote InfluxDB v1 HTTP API.
 *
 * NOTES ON THE DESIGN
 *
 * 1. Request shapes (every request goes through http_perform on the handle's one curl easy
 *    handle; curl_easy_reset between requests keeps the keep-alive connection):
 *      GET  /ping                                   204 + X-Influxdb-Version
 *      POST /write?db=&rp=&precision=[&u=&p=]       body: line protocol (gzip when asked)
 *      POST /query[?u=&p=]                          form body q=...&db=...
 *    rp is left out when the record's rp is "" (the remote's default policy). The token, when
 *    set, goes in "Authorization: Token <token>". "Expect:" is suppressed (no 100-continue
 *    round trip on large bodies).
 *
 * 2. WRITE records are streamed, not copied. A batch is a list of segments (seg): slices of the
 *    journal records' bodies, or small pieces of the handle's scratch buffer; curl pulls them
 *    through a read callback. A record whose entries are all "clean" (a timestamp, LF-ended,
 *    nothing between them) contributes its body as one segment (plus a "\n" when it lacks the
 *    final LF): no copy, no allocation per point. Any other entry is cut out of the run: a
 *    segment of its content alone (no leading blanks, comments, trailing spaces or CR —
 *    InfluxDB 1.x refuses a CR before the LF) followed by "\n", or, when it has no timestamp,
 *    by a scratch piece " <floor(default_time / unit)>\n": the primary stored such a line at
 *    default_time floored to the record's precision (lineproto.c), so the remote parses the
 *    very same content plus that instant, in the record's own precision (always exact).
 *
 *    Finding the lines without a timestamp: in an accepted entry the last space-separated token
 *    of its content is all [-0-9] exactly when it is the timestamp (a field value never holds
 *    an unescaped space outside a string, and a string ends with '"'). Entry boundaries come
 *    from splitting at LF when the body holds no '"' (no string can span lines); otherwise the
 *    line protocol parser (lp_parser, scratch reused) supplies them.
 *
 *    Version 2 WRITE records (parsed points, core/record.h) are first rendered as line
 *    protocol with ns timestamps (record_points_render_lp) into buffers of the handle
 *    (r->rendered), then go the same way; segments point into those buffers, so they live
 *    until the batch holding them was sent (rendered_keep_last, rendered_free).
 *
 *    Consecutive WRITE records of the same (db, rp, precision) share one request until the
 *    next entry would pass max_body_bytes; a record larger than that is split at entry
 *    boundaries (a single entry larger than the limit is sent alone and the remote decides).
 *    A record counts as applied once the request holding its last entry succeeded.
 *
 * 3. Other records are InfluxQL, `;`-joined where there are several statements:
 *      CREATE_DB / DROP_DB     CREATE DATABASE "x" / DROP DATABASE "x" (both idempotent)
 *      DB_META                 CREATE DATABASE "x"; SHOW RETENTION POLICIES ON "x"  then one
 *                              request of CREATE (policies the remote lacks) or ALTER (the
 *                              others) RETENTION POLICY ... DURATION d REPLICATION n SHARD
 *                              DURATION s [DEFAULT], then DROP RETENTION POLICY for the remote's
 *                              policies the catalog lacks (after the new default is set)
 *      DELETE                  SHOW TAG KEYS FROM "m" for each measurement of the record (256
 *                              per request), then per key DELETE FROM "m" WHERE "k"='v' AND ...
 *                              AND "lacking"='' [AND time >= a] [AND time <= b], or DROP SERIES
 *                              FROM "m" WHERE ... for the unbounded range; up to 256 statements
 *                              or 1 MiB per request. A database the remote does not have holds
 *                              nothing to delete: "database not found" counts as done.
 *      DROP_MEASUREMENT        DROP MEASUREMENT "m" (same rule for a missing database)
 *      RETENTION               nothing
 *    Identifiers are double-quoted with '"' and '\' escaped; string literals single-quoted with
 *    '\'' and '\' escaped. Durations are written in the largest of h, m, s, ms, u, ns that
 *    divides them exactly; 0 is INF.
 *
 * 4. Errors: a transport failure (refused, reset, timeout, resolve) or HTTP 5xx / 429 / 408 is
 *    VT_EBUSY; any other 4xx (after the one "database not found" retry of a write) is VT_EINVAL
 *    quoting the remote's {"error": ...} (or X-Influxdb-Error, or the body); a statement error
 *    in results[i].error is VT_EINVAL too; everything else (curl out of memory, a response that
 *    is not the expected JSON) is VT_EIO. When a batch of several WRITE records is refused, the
 *    records are sent again one by one (harmless: writes are idempotent) so that *applied
 *    stops exactly at the record the remote refuses. InfluxDB answers such a request with a
 *    "partial write": the points it took, including those of records after the refused one in
 *    the same request, are already stored. They are not counted as applied and will be sent
 *    again; since a batch holds only writes, in order, this changes no final state.
 */
#include "backend/influx_remote.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "common/buf.h"
#include "core/record.h"

#define RESPONSE_MAX ((size_t)256 << 20) /* largest response body kept */
#define STMT_BATCH 256                   /* statements per /query request */
#define QUERY_BATCH_BYTES ((size_t)1 << 20)
#define INFLUX_MIN_TIME (INT64_MIN + 2) /* InfluxDB's time range */
#define INFLUX_MAX_TIME (INT64_MAX - 1)

/* A slice of a write body: p != NULL points into a record, else scratch.data + off. */
typedef struct seg {
    const char *p;
    size_t off;
    size_t len;
} seg;

struct influx_remote {
    influx_remote_options o;
    CURL *curl;
    influx_remote_stats st;

    /* response of the last request */
    vt_buf resp;
    char version[64];
    char remote_err[256]; /* X-Influxdb-Error */
    bool resp_too_big;

    /* write batch */
    seg *segs;
    size_t nsegs, segcap;
    vt_buf scratch;
    vt_buf gz;
    size_t rd_seg, rd_off; /* read callback cursor */

    vt_buf url;
    vt_buf q; /* statements being built */
    lp_parser *lp;

    /* line protocol rendered from version 2 (points) records, which segments point into: after
     * a flush only the newest buffer is kept (the record being added may go on after it), all
     * are released when the run of records is done (rendered_free) */
    vt_buf *rendered;
    size_t nrendered, rendered_cap;
};

/* ---- small helpers ----------------------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void put_ident(vt_buf *b, const char *s, size_t len)
{
    vt_buf_putc(b, '"');
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\')
            vt_buf_putc(b, '\\');
        vt_buf_putc(b, (uint8_t)s[i]);
    }
    vt_buf_putc(b, '"');
}

static void put_string(vt_buf *b, const char *s, size_t len)
{
    vt_buf_putc(b, '\'');
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\'' || s[i] == '\\')
            vt_buf_putc(b, '\\');
        vt_buf_putc(b, (uint8_t)s[i]);
    }
    vt_buf_putc(b, '\'');
}

/* inf: how 0 is spelled ("INF" for a policy's duration, "0s" = automatic for shards). */
static void put_duration(vt_buf *b, int64_t ns, const char *inf)
{
    static const struct {
        int64_t ns;
        const char *unit;
    } units[] = {{3600000000000LL, "h"}, {60000000000LL, "m"}, {1000000000LL, "s"},
                 {1000000LL, "ms"},      {1000LL, "u"},        {1LL, "ns"}};
    if (ns <= 0) {
        vt_buf_printf(b, "%s", inf);
        return;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (ns % units[i].ns == 0) {
            vt_buf_printf(b, "%" PRId64 "%s", ns / units[i].ns, units[i].unit);
            return;
        }
}

static const char *precision_param(lp_precision p)
{
    switch (p) {
    case LP_PRECISION_US: return "u";
    case LP_PRECISION_MS: return "ms";
    case LP_PRECISION_S: return "s";
    case LP_PRECISION_M: return "m";
    case LP_PRECISION_H: return "h";
    case LP_PRECISION_NS:
    default: return "ns";
    }
}

/* Appends "&name=<escaped value>" (or "?name=" when first). false on out-of-memory. */
static bool url_param(influx_remote *r, bool *first, const char *name, const char *v, size_t len)
{
    char *e = curl_easy_escape(r->curl, len ? v : "", (int)len); /* 0 would mean strlen */
    if (e == NULL)
        return false;
    vt_buf_printf(&r->url, "%c%s=%s", *first ? '?' : '&', name, e);
    curl_free(e);
    *first = false;
    return !r->url.oom;
}

static bool url_auth(influx_remote *r, bool *first)
{
    if (r->o.username[0] == '\0' && r->o.password[0] == '\0')
        return true;
    return url_param(r, first, "u", r->o.username, strlen(r->o.username)) &&
           url_param(r, first, "p", r->o.password, strlen(r->o.password));
}

/* ---- HTTP -------------------------------------------------------------------------------- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    influx_remote *r = ud;
    size_t n = size * nmemb;
    if (r->resp.len + n > RESPONSE_MAX) {
        r->resp_too_big = true;
        return 0;
    }
    vt_buf_append(&r->resp, ptr, n);
    return r->resp.oom ? 0 : n;
}

static void header_value(const char *line, size_t n, char *out, size_t cap)
{
    const char *v = memchr(line, ':', n);
    if (v == NULL)
        return;
    v++;
    const char *e = line + n;
    while (v < e && (*v == ' ' || *v == '\t'))
        v++;
    while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
        e--;
    size_t len = (size_t)(e - v);
    if (len >= cap)
        len = cap - 1;
    memcpy(out, v, len);
    out[len] = '\0';
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    influx_remote *r = ud;
    size_t n = size * nmemb;
    static const char ver[] = "X-Influxdb-Version:", erh[] = "X-Influxdb-Error:";
    if (n > sizeof ver - 1 && strncasecmp(ptr, ver, sizeof ver - 1) == 0)
        header_value(ptr, n, r->version, sizeof r->version);
    else if (n > sizeof erh - 1 && strncasecmp(ptr, erh, sizeof erh - 1) == 0)
        header_value(ptr, n, r->remote_err, sizeof r->remote_err);
    return n;
}

static const char *seg_ptr(const influx_remote *r, const seg *s)
{
    return s->p ? s->p : (const char *)r->scratch.data + s->off;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud)
{
    influx_remote *r = ud;
    size_t cap = size * nitems, n = 0;
    while (n < cap && r->rd_seg < r->nsegs) {
        const seg *s = &r->segs[r->rd_seg];
        size_t take = s->len - r->rd_off;
        if (take > cap - n)
            take = cap - n;
        memcpy(buf + n, seg_ptr(r, s) + r->rd_off, take);
        n += take;
        r->rd_off += take;
        if (r->rd_off == s->len) {
            r->rd_seg++;
            r->rd_off = 0;
        }
    }
    return n;
}

/* Body of a request: none (GET), bytes, or the handle's segments. */
typedef struct http_body {
    bool post;
    const char *data; /* NULL with post: the segments */
    size_t len;
    const char *content_type;
    bool gzip;
} http_body;

/* Performs one request on r->url. VT_OK when a response came back (*status filled, body in
 * r->resp); a transport failure is VT_EBUSY (or VT_EIO), counted as a failure. */
static vt_rc http_perform(influx_remote *r, const http_body *b, long *status, vt_err *err)
{
    CURL *c = r->curl;
    struct curl_slist *hdrs = NULL, *h;
    char line[600];
    vt_rc rc = VT_OK;

    vt_buf_reset(&r->resp);
    r->version[0] = r->remote_err[0] = '\0';
    r->resp_too_big = false;
    if (r->url.oom)
        return vt_err_set(err, VT_EIO, "influx remote: out of memory building the URL");

    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, vt_buf_cstr(&r->url));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)r->o.timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)r->o.connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);

    h = curl_slist_append(hdrs, "Expect:");
    if (h == NULL)
        goto oom;
    hdrs = h;
    if (r->o.token[0]) {
        snprintf(line, sizeof line, "Authorization: Token %s", r->o.token);
        if ((h = curl_slist_append(hdrs, line)) == NULL)
            goto oom;
        hdrs = h;
    }
    if (b->post) {
        snprintf(line, sizeof line, "Content-Type: %s", b->content_type);
        if ((h = curl_slist_append(hdrs, line)) == NULL)
            goto oom;
        hdrs = h;
        if (b->gzip) {
            if ((h = curl_slist_append(hdrs, "Content-Encoding: gzip")) == NULL)
                goto oom;
            hdrs = h;
        }
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->len);
        if (b->data) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, b->data);
        } else {
            r->rd_seg = 0;
            r->rd_off = 0;
            curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
            curl_easy_setopt(c, CURLOPT_READDATA, r);
        }
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);

    r->st.requests++;
    CURLcode cc = curl_easy_perform(c);
    if (cc == CURLE_OK) {
        r->st.bytes_sent += b->post ? b->len : 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    } else {
        r->st.failures++;
        const char *url = vt_buf_cstr(&r->url);
        const char *qm = strchr(url, '?');
        int ulen = qm ? (int)(qm - url) : (int)strlen(url);
        switch (cc) {
        case CURLE_OUT_OF_MEMORY:
            rc = vt_err_set(err, VT_EIO, "%.*s: curl: out of memory", ulen, url);
            break;
        case CURLE_WRITE_ERROR:
            rc = vt_err_set(err, VT_EIO, "%.*s: %s", ulen, url,
                            r->resp_too_big ? "response too large" : "out of memory");
            break;
        case CURLE_URL_MALFORMAT:
        case CURLE_UNSUPPORTED_PROTOCOL:
            rc = vt_err_set(err, VT_EIO, "%.*s: %s", ulen, url, curl_easy_strerror(cc));
            break;
        default: /* connect, resolve, send/recv, timeout, TLS handshake...: may pass */
            rc = vt_err_set(err, VT_EBUSY, "%.*s: %s", ulen, url, curl_easy_strerror(cc));
            break;
        }
    }
    curl_slist_free_all(hdrs);
    return rc;
oom:
    curl_slist_free_all(hdrs);
    return vt_err_set(err, VT_EIO, "influx remote: out of memory");
}

/* The remote's own words for the failure of the last request, copied into out. */
static const char *remote_message(influx_remote *r, char *out, size_t cap)
{
    json_t *root = json_loadb((const char *)r->resp.data, r->resp.len, 0, NULL);
    const char *s = root ? json_string_value(json_object_get(root, "error")) : NULL;
    if (s)
        snprintf(out, cap, "%s", s);
    else if (r->remote_err[0])
        snprintf(out, cap, "%s", r->remote_err);
    else if (r->resp.len)
        snprintf(out, cap, "%.*s", (int)(r->resp.len > 200 ? 200 : r->resp.len),
                 (const char *)r->resp.data);
    else
        snprintf(out, cap, "(no message)");
    json_decref(root);
    return out;
}

/* Classifies an HTTP status; what names the request for the message. */
static vt_rc classify_status(influx_remote *r, long status, const char *what, vt_err *err)
{
    char msg[300];
    if (status >= 200 && status < 300)
        return VT_OK;
    r->st.failures++;
    remote_message(r, msg, sizeof msg);
    if (status >= 500 || status == 429 || status == 408)
        return vt_err_set(err, VT_EBUSY, "%s: HTTP %ld: %s", what, status, msg);
    if (status >= 400)
        return vt_err_set(err, VT_EINVAL, "%s: refused (HTTP %ld): %s", what, status, msg);
    return vt_err_set(err, VT_EIO, "%s: unexpected HTTP %ld: %s", what, status, msg);
}

static bool is_db_not_found(influx_remote *r)
{
    char msg[300];
    remote_message(r, msg, sizeof msg);
    return strstr(msg, "database not found") != NULL;
}

/* ---- queries ----------------------------------------------------------------------------- */

/* POST /query; on VT_OK *root is the parsed response (json_decref it), statement errors not
 * yet looked at. */
static vt_rc query_raw(influx_remote *r, const char *db, const char *q, size_t qlen, json_t **root,
                       vt_err *err)
{
    vt_buf form;
    long status = 0;
    bool first = true;
    vt_rc rc;
    *root = NULL;

    vt_buf_reset(&r->url);
    vt_buf_append(&r->url, r->o.url, strlen(r->o.url));
    vt_buf_append(&r->url, "/query", 6);
    if (!url_auth(r, &first))
        return vt_err_set(err, VT_EIO, "influx remote: out of memory");

    vt_buf_init(&form);
    if (qlen > INT32_MAX)
        return vt_err_set(err, VT_ELIMIT, "query: %zu bytes is too long", qlen);
    char *e = curl_easy_escape(r->curl, qlen ? q : "", (int)qlen);
    if (e == NULL)
        return vt_err_set(err, VT_EIO, "influx remote: out of memory");
    vt_buf_append(&form, "q=", 2);
    vt_buf_append(&form, e, strlen(e));
    curl_free(e);
    if (db && db[0]) {
        if ((e = curl_easy_escape(r->curl, db, 0)) == NULL) {
            vt_buf_free(&form);
            return vt_err_set(err, VT_EIO, "influx remote: out of memory");
        }
        vt_buf_append(&form, "&db=", 4);
        vt_buf_append(&form, e, strlen(e));
        curl_free(e);
    }
    if (form.oom) {
        vt_buf_free(&form);
        return vt_err_set(err, VT_EIO, "influx remote: out of memory");
    }
    http_body b = {.post = true,
                   .data = vt_buf_cstr(&form),
                   .len = form.len,
                   .content_type = "application/x-www-form-urlencoded"};
    rc = http_perform(r, &b, &status, err);
    vt_buf_free(&form);
    if (rc != VT_OK)
        return rc;
    if ((rc = classify_status(r, status, "query", err)) != VT_OK)
        return rc;
    json_error_t je;
    *root = json_loadb((const char *)r->resp.data, r->resp.len, 0, &je);
    if (*root == NULL || !json_is_array(json_object_get(*root, "results"))) {
        r->st.failures++;
        json_decref(*root);
        *root = NULL;
        return vt_err_set(err, VT_EIO, "query: malformed response (%s)",
                          je.text[0] ? je.text : "no results array");
    }
    return VT_OK;
}

/* VT_EINVAL quoting the first results[i].error. With db_missing_ok, a "database not found"
 * anywhere makes the whole batch a success (every statement was about that database). */
static vt_rc check_results(influx_remote *r, json_t *root, bool db_missing_ok, vt_err *err)
{
    json_t *results = json_object_get(root, "results"), *res;
    size_t i;
    const char *first = NULL;
    json_array_foreach(results, i, res)
    {
        const char *e = json_string_value(json_object_get(res, "error"));
        if (e == NULL)
            continue;
        if (db_missing_ok && strstr(e, "database not found"))
            return VT_OK;
        if (first == NULL)
            first = e;
    }
    if (first == NULL)
        return VT_OK;
    r->st.failures++;
    return vt_err_set(err, VT_EINVAL, "query refused: %s", first);
}

static vt_rc query_exec(influx_remote *r, const char *db, const char *q, size_t qlen,
                        bool db_missing_ok, vt_err *err)
{
    json_t *root;
    vt_rc rc = query_raw(r, db, q, qlen, &root, err);
    if (rc == VT_OK)
        rc = check_results(r, root, db_missing_ok, err);
    json_decref(root);
    return rc;
}

/* ---- writes ------------------------------------------------------------------------------ */

static bool seg_push(influx_remote *r, const char *p, size_t off, size_t len)
{
    if (len == 0)
        return true;
    if (r->nsegs == r->segcap) {
        size_t cap = r->segcap ? r->segcap * 2 : 64;
        seg *n = realloc(r->segs, cap * sizeof *n);
        if (n == NULL)
            return false;
        r->segs = n;
        r->segcap = cap;
    }
    r->segs[r->nsegs++] = (seg){p, off, len};
    return true;
}

static void segs_reset(influx_remote *r)
{
    r->nsegs = 0;
    vt_buf_reset(&r->scratch);
}

static vt_rc gzip_segments(influx_remote *r, vt_err *err)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return vt_err_set(err, VT_EIO, "influx remote: deflateInit failed");
    vt_buf_reset(&r->gz);
    vt_rc rc = VT_OK;
    for (size_t i = 0; i <= r->nsegs && rc == VT_OK; i++) {
        bool last = i == r->nsegs;
        z.next_in = last ? NULL : (Bytef *)seg_ptr(r, &r->segs[i]);
        z.avail_in = last ? 0 : (uInt)r->segs[i].len;
        if (!last && r->segs[i].len > UINT32_MAX) {
            rc = vt_err_set(err, VT_EIO, "influx remote: segment too large to compress");
            break;
        }
        int zr;
        do {
            if (!vt_buf_reserve(&r->gz, 65536)) {
                rc = vt_err_set(err, VT_EIO, "influx remote: out of memory compressing");
                break;
            }
            z.next_out = r->gz.data + r->gz.len;
            z.avail_out = 65536;
            zr = deflate(&z, last ? Z_FINISH : Z_NO_FLUSH);
            r->gz.len += 65536 - z.avail_out;
            if (zr == Z_STREAM_ERROR) {
                rc = vt_err_set(err, VT_EIO, "influx remote: deflate failed");
                break;
            }
        } while (last ? zr != Z_STREAM_END : z.avail_in > 0 || z.avail_out == 0);
    }
    deflateEnd(&z);
    return rc;
}

/* Sends r->segs as one /write. A 404 "database not found" creates the database and retries. */
static vt_rc send_write(influx_remote *r, const char *db, size_t db_len, const char *rp,
                        size_t rp_len, lp_precision prec, size_t npoints, vt_err *err)
{
    size_t len = 0;
    for (size_t i = 0; i < r->nsegs; i++)
        len += r->segs[i].len;
    if (len == 0)
        return VT_OK;

    bool first = true;
    vt_buf_reset(&r->url);
    vt_buf_append(&r->url, r->o.url, strlen(r->o.url));
    vt_buf_append(&r->url, "/write", 6);
    if (!url_param(r, &first, "db", db, db_len) ||
        (rp_len && !url_param(r, &first, "rp", rp, rp_len)) ||
        !url_param(r, &first, "precision", precision_param(prec), strlen(precision_param(prec))) ||
        !url_auth(r, &first))
        return vt_err_set(err, VT_EIO, "influx remote: out of memory");
    /* the URL is rebuilt by the CREATE DATABASE query: keep a copy for the retry */
    char *url = strdup(vt_buf_cstr(&r->url));
    if (url == NULL)
        return vt_err_set(err, VT_EIO, "influx remote: out of memory");

    http_body b = {.post = true,
                   .data = NULL,
                   .len = len,
                   .content_type = "text/plain; charset=utf-8",
                   .gzip = r->o.gzip};
    vt_rc rc = VT_OK;
    if (r->o.gzip) {
        if ((rc = gzip_segments(r, err)) != VT_OK)
            goto out;
        b.data = (const char *)r->gz.data;
        b.len = r->gz.len;
    }
    for (int attempt = 0;; attempt++) {
        long status = 0;
        vt_buf_reset(&r->url);
        vt_buf_append(&r->url, url, strlen(url));
        if ((rc = http_perform(r, &b, &status, err)) != VT_OK)
            break;
        if (status == 404 && attempt == 0 && is_db_not_found(r)) {
            r->st.failures++;
            vt_buf_reset(&r->q);
            vt_buf_append(&r->q, "CREATE DATABASE ", 16);
            put_ident(&r->q, db, db_len);
            if (r->q.oom) {
                rc = vt_err_set(err, VT_EIO, "influx remote: out of memory");
                break;
            }
            if ((rc = query_exec(r, NULL, (const char *)r->q.data, r->q.len, false, err)) != VT_OK)
                break;
            continue;
        }
        rc = classify_status(r, status, "write", err);
        if (rc == VT_OK)
            r->st.points_sent += npoints;
        else
            vt_err_prefix(err, "db \"%.*s\"", (int)db_len, db);
        break;
    }
out:
    free(url);
    return rc;
}

/* Entries of a body: [cs, ce) the content (no leading blanks, no trailing spaces/CR), next the
 * byte after its line end, has_ts whether it carries a timestamp. */
typedef struct entry_scan {
    const char *pos, *end;
    lp_parser *lp; /* NULL: split at LF (the body holds no '"') */
} entry_scan;

static bool ends_with_timestamp(const char *a, const char *e)
{
    const char *t = e;
    while (t > a && t[-1] >= '0' && t[-1] <= '9')
        t--;
    if (t == e)
        return false;
    if (t > a && t[-1] == '-')
        t--;
    return t > a && t[-1] == ' ';
}

static const char *trim_end(const char *a, const char *e)
{
    while (e > a && (e[-1] == ' ' || e[-1] == '\r'))
        e--;
    return e;
}

static bool scan_next(entry_scan *s, const char **cs, const char **ce, const char **next,
                      bool *has_ts)
{
    if (s->lp) {
        vt_point pt;
        lp_error le;
        const char *ls;
        size_t ll;
        if (lp_parser_next(s->lp, &pt, &le) == LP_END)
            return false;
        lp_parser_last_line(s->lp, &ls, &ll);
        const char *e = ls + ll, *n = e;
        if (n < s->end && *n == '\r')
            n++;
        if (n < s->end && *n == '\n')
            n++;
        *cs = ls;
        *ce = trim_end(ls, e);
        *next = n;
        *has_ts = ends_with_timestamp(*cs, *ce);
        return true;
    }
    while (s->pos < s->end) {
        const char *a = s->pos;
        const char *nl = memchr(a, '\n', (size_t)(s->end - a));
        const char *le = nl ? nl : s->end;
        s->pos = nl ? nl + 1 : s->end;
        while (a < le && *a == ' ')
            a++;
        const char *e = trim_end(a, le);
        if (a == e || *a == '#')
            continue;
        *cs = a;
        *ce = e;
        *next = s->pos;
        *has_ts = ends_with_timestamp(a, e);
        return true;
    }
    return false;
}

/* The batch of WRITE records being assembled in r->segs. */
typedef struct wbatch {
    bool open;
    const char *db, *rp;
    size_t db_len, rp_len;
    lp_precision prec;
    size_t bytes, points;
    size_t first_rec, last_rec; /* records with bytes in this batch */
    bool last_complete;         /* last_rec's final entry is in it */
    size_t *done;               /* records fully applied so far */
} wbatch;

/* Renders a version 2 WRITE record as line protocol (ns) and points w at the text, so the rest
 * of the write path sees a version 1 record. */
static vt_rc render_points(influx_remote *r, record_write *w, vt_err *err)
{
    if (r->nrendered == r->rendered_cap) {
        size_t nc = r->rendered_cap ? r->rendered_cap * 2 : 4;
        vt_buf *nb = realloc(r->rendered, nc * sizeof *nb);
        if (!nb)
            return vt_err_set(err, VT_EIO, "influx remote: out of memory");
        r->rendered = nb;
        r->rendered_cap = nc;
    }
    vt_buf *out = &r->rendered[r->nrendered++];
    vt_buf_init(out);
    vt_rc rc = record_points_render_lp(w, out, err);
    if (rc != VT_OK)
        return rc;
    w->version = 1;
    w->precision = LP_PRECISION_NS;
    w->default_time = 0;
    w->body = out->len ? (const char *)out->data : "";
    w->body_len = out->len;
    return VT_OK;
}

/* After a flush: every rendered buffer but the newest is no longer pointed into. */
static void rendered_keep_last(influx_remote *r)
{
    if (r->nrendered <= 1)
        return;
    for (size_t i = 0; i + 1 < r->nrendered; i++)
        vt_buf_free(&r->rendered[i]);
    r->rendered[0] = r->rendered[r->nrendered - 1];
    r->nrendered = 1;
}

static void rendered_free(influx_remote *r)
{
    for (size_t i = 0; i < r->nrendered; i++)
        vt_buf_free(&r->rendered[i]);
    r->nrendered = 0;
}

static vt_rc batch_flush(influx_remote *r, wbatch *b, vt_err *err)
{
    vt_rc rc = VT_OK;
    if (b->bytes)
        rc = send_write(r, b->db, b->db_len, b->rp, b->rp_len, b->prec, b->points, err);
    if (rc == VT_OK) {
        size_t d = b->last_complete ? b->last_rec + 1 : b->last_rec;
        if (*b->done < d)
            *b->done = d;
    }
    segs_reset(r);
    rendered_keep_last(r);
    b->bytes = b->points = 0;
    if (rc == VT_OK)
        b->first_rec = b->last_rec; /* on failure the range stays for the caller */
    return rc;
}

/* Adds record idx (decoded as w) to the batch, flushing whenever max_body_bytes is reached. */
static vt_rc batch_add(influx_remote *r, wbatch *b, size_t idx, const record_write *w, vt_err *err)
{
    vt_rc rc;
    if (b->open && b->bytes &&
        (b->prec != w->precision || b->db_len != w->db_len || b->rp_len != w->rp_len ||
         memcmp(b->db, w->db, w->db_len) != 0 || memcmp(b->rp, w->rp, w->rp_len) != 0)) {
        if ((rc = batch_flush(r, b, err)) != VT_OK)
            return rc;
    }
    if (!b->open || b->bytes == 0)
        b->first_rec = idx;
    b->open = true;
    b->db = w->db;
    b->db_len = w->db_len;
    b->rp = w->rp;
    b->rp_len = w->rp_len;
    b->prec = w->precision;
    b->last_rec = idx;
    b->last_complete = false;

    const char *body = w->body, *end = body + w->body_len;
    entry_scan s = {.pos = body, .end = end, .lp = NULL};
    if (memchr(body, '"', w->body_len) != NULL) {
        lp_options lo = {.precision = w->precision,
                         .default_time = w->default_time,
                         .limits = {.max_line_bytes = SIZE_MAX / 4,
                                    .max_tags = SIZE_MAX / 4,
                                    .max_fields = SIZE_MAX / 4,
                                    .max_body_bytes = SIZE_MAX / 4}};
        lp_parser_set_options(r->lp, &lo);
        lp_parser_reset(r->lp, body, w->body_len);
        s.lp = r->lp;
    }
    int64_t unit = lp_precision_ns(w->precision);
    int64_t q = w->default_time / unit;
    if (w->default_time % unit != 0 && w->default_time < 0)
        q--;
    char ts[32];
    int tslen = snprintf(ts, sizeof ts, " %" PRId64 "\n", q);

    const char *run = body, *region = body, *cs, *ce, *next;
    bool has_ts;
    size_t max = r->o.max_body_bytes;
    while (scan_next(&s, &cs, &ce, &next, &has_ts)) {
        /* clean: nothing between the previous entry and this one, a plain LF (or the end of
         * the body) after it, and a timestamp: it travels inside the run, as it is */
        bool clean = has_ts && region == cs && (next == ce || (next == ce + 1 && *ce == '\n'));
        size_t pending = (size_t)(region - run);
        size_t entry =
            clean ? (size_t)(next - cs) : (size_t)(ce - cs) + (has_ts ? 1 : (size_t)tslen);
        if (b->bytes + pending > 0 && b->bytes + pending + entry > max) {
            if (!seg_push(r, run, 0, pending))
                return vt_err_set(err, VT_EIO, "influx remote: out of memory");
            b->bytes += pending;
            if ((rc = batch_flush(r, b, err)) != VT_OK)
                return rc;
            run = region;
            pending = 0;
        }
        if (!clean) {
            /* the content alone, then its timestamp or a LF (InfluxDB 1.x takes neither CR
             * nor a blank line holding one) */
            size_t off = r->scratch.len;
            if (!has_ts)
                vt_buf_append(&r->scratch, ts, (size_t)tslen);
            if (r->scratch.oom || !seg_push(r, run, 0, pending) ||
                !seg_push(r, cs, 0, (size_t)(ce - cs)) ||
                !(has_ts ? seg_push(r, "\n", 0, 1) : seg_push(r, NULL, off, (size_t)tslen)))
                return vt_err_set(err, VT_EIO, "influx remote: out of memory");
            b->bytes += pending + entry;
            run = next;
        }
        b->points++;
        region = next;
    }
    /* the run up to the last entry (what follows it is blanks and comments) and a final LF */
    if (!seg_push(r, run, 0, (size_t)(region - run)))
        return vt_err_set(err, VT_EIO, "influx remote: out of memory");
    b->bytes += (size_t)(region - run);
    if (region > run && region[-1] != '\n') {
        if (!seg_push(r, "\n", 0, 1))
            return vt_err_set(err, VT_EIO, "influx remote: out of memory");
        b->bytes++;
    }
    b->last_complete = true;
    return VT_OK;
}

/* Sends one record on its own (used to find the record a batch was refused for). */
static vt_rc write_one(influx_remote *r, const journal_record *rec, vt_err *err)
{
    record_write w;
    size_t done = 0;
    vt_rc rc = record_write_decode(rec->data, rec->len, &w, err);
    if (rc == VT_OK && w.version == 2)
        rc = render_points(r, &w, err);
    if (rc != VT_OK) {
        rendered_free(r);
        return rc;
    }
    wbatch b = {.done = &done};
    segs_reset(r);
    if ((rc = batch_add(r, &b, 0, &w, err)) == VT_OK)
        rc = batch_flush(r, &b, err);
    segs_reset(r);
    rendered_free(r);
    return rc;
}

/* Applies the run of WRITE records recs[i..j); *done advances past every applied record. */
static vt_rc apply_writes(influx_remote *r, const journal_record *recs, size_t i, size_t j,
                          size_t *done, vt_err *err)
{
    wbatch b = {.done = done};
    vt_rc rc = VT_OK;
    segs_reset(r);
    for (size_t k = i; k < j; k++) {
        record_write w;
        vt_err derr;
        vt_rc drc = record_write_decode(recs[k].data, recs[k].len, &w, &derr);
        if (drc == VT_OK && w.version == 2)
            drc = render_points(r, &w, &derr);
        if (drc != VT_OK) {
            /* send what precedes the bad record; then report the record */
            if (b.open && (rc = batch_flush(r, &b, err)) != VT_OK)
                break;
            b.open = false;
            rc = vt_err_set(err, drc, "record %" PRIu64 ": %s", recs[k].seq, derr.msg);
            break;
        }
        if ((rc = batch_add(r, &b, k, &w, err)) != VT_OK)
            break;
    }
    if (rc == VT_OK && b.open)
        rc = batch_flush(r, &b, err);
    segs_reset(r);
    rendered_free(r); /* nothing points into them any more */
    if (rc == VT_EINVAL && b.open && b.last_rec > b.first_rec) {
        /* several records shared the refused request: find the one the remote refuses */
        size_t from = b.first_rec, to = b.last_rec;
        for (size_t k = from; k <= to; k++) {
            if ((rc = write_one(r, &recs[k], err)) != VT_OK) {
                vt_err_prefix(err, "record %" PRIu64, recs[k].seq);
                return rc;
            }
            *done = k + 1;
        }
        /* each went through on its own: carry on after them */
        return *done < j ? apply_writes(r, recs, *done, j, done, err) : VT_OK;
    }
    if (rc == VT_EINVAL && *done < j)
        vt_err_prefix(err, "record %" PRIu64, recs[*done].seq);
    segs_reset(r);
    return rc;
}

/* ---- other records ----------------------------------------------------------------------- */

static vt_rc apply_dbop(influx_remote *r, const journal_record *rec, vt_err *err)
{
    char name[RECORD_NAME_MAX + 1];
    vt_rc rc = record_dbop_decode(rec->data, rec->len, name, sizeof name, err);
    if (rc != VT_OK)
        return rc;
    vt_buf_reset(&r->q);
    vt_buf_printf(&r->q, "%s DATABASE ", rec->type == JOURNAL_REC_CREATE_DB ? "CREATE" : "DROP");
    put_ident(&r->q, name, strlen(name));
    if (r->q.oom)
        return vt_err_set(err, VT_EIO, "influx remote: out of memory");
    return query_exec(r, NULL, (const char *)r->q.data, r->q.len, false, err);
}

static void put_rp_clauses(vt_buf *q, const record_rp *p, bool is_default)
{
    vt_buf_printf(q, " DURATION ");
    put_duration(q, p->duration, "INF");
    vt_buf_printf(q, " REPLICATION %u SHARD DURATION ", p->replica_n ? p->replica_n : 1u);
    put_duration(q, p->shard_duration, "0s");
    if (is_default)
        vt_buf_printf(q, " DEFAULT");
}

static vt_rc apply_db_meta(influx_remote *r, const journal_record *rec, vt_err *err)
{
    char db[RECORD_NAME_MAX + 1];
    record_rpcat cat;
    memset(&cat, 0, sizeof cat);
    vt_rc rc = record_db_meta_decode(rec->data, rec->len, db, sizeof db, &cat, err);
    if (rc != VT_OK)
        return rc;
    size_t dblen = strlen(db);
    json_t *root = NULL;
    size_t nremote = 0;
    const char **remote = NULL;

    vt_buf_reset(&r->q);
    vt_buf_printf(&r->q, "CREATE DATABASE ");
    put_ident(&r->q, db, dblen);
    vt_buf_printf(&r->q, "; SHOW RETENTION POLICIES ON ");
    put_ident(&r->q, db, dblen);
    if (r->q.oom) {
        rc = vt_err_set(err, VT_EIO, "influx remote: out of memory");
        goto out;
    }
    if ((rc = query_raw(r, NULL, (const char *)r->q.data, r->q.len, &root, err)) != VT_OK ||
        (rc = check_results(r, root, false, err)) != VT_OK)
        goto out;
    /* names of the remote's policies: results[1].series[0].values[*][0] */
    json_t *vals = json_object_get(
        json_array_get(
            json_object_get(json_array_get(json_object_get(root, "results"), 1), "series"), 0),
        "values");
    size_t nv = json_array_size(vals);
    if (nv && (remote = calloc(nv, sizeof *remote)) == NULL) {
        rc = vt_err_set(err, VT_EIO, "influx remote: out of memory");
        goto out;
    }
    for (size_t i = 0; i < nv; i++) {
        const char *nm = json_string_value(json_array_get(json_array_get(vals, i), 0));
        if (nm)
            remote[nremote++] = nm;
    }

    vt_buf_reset(&r->q);
    for (size_t i = 0; i < cat.n; i++) {
        const record_rp *p = &cat.rps[i];
        bool exists = false;
        for (size_t k = 0; k < nremote && !exists; k++)
            exists = strcmp(remote[k], p->name) == 0;
        if (r->q.len)
            vt_buf_printf(&r->q, "; ");
        vt_buf_printf(&r->q, "%s RETENTION POLICY ", exists ? "ALTER" : "CREATE");
        put_ident(&r->q, p->name, strlen(p->name));
        vt_buf_printf(&r->q, " ON ");
        put_ident(&r->q, db, dblen);
        put_rp_clauses(&r->q, p, strcmp(p->name, cat.default_rp) == 0);
    }
    for (size_t k = 0; k < nremote; k++) {
        if (record_rpcat_find(&cat, remote[k]) != NULL)
            continue;
        if (r->q.len)
            vt_buf_printf(&r->q, "; ");
        vt_buf_printf(&r->q, "DROP RETENTION POLICY ");
        put_ident(&r->q, remote[k], strlen(remote[k]));
        vt_buf_printf(&r->q, " ON ");
        put_ident(&r->q, db, dblen);
    }
    if (r->q.oom) {
        rc = vt_err_set(err, VT_EIO, "influx remote: out of memory");
        goto out;
    }
    if (r->q.len)
        rc = query_exec(r, NULL, (const char *)r->q.data, r->q.len, false, err);
out:
    if (rc != VT_OK)
        vt_err_prefix(err, "catalog of \"%s\"", db);
    free(remote);
    json_decref(root);
    record_rpcat_free(&cat);
    return rc;
}

static vt_rc apply_drop_measurement(influx_remote *r, const journal_record *rec, vt_err *err)
{
    char db[RECORD_NAME_MAX + 1], m[65536];
    vt_rc rc = record_drop_measurement_decode(rec->data, rec->len, db, sizeof db, m, sizeof m, err);
    if (rc != VT_OK)
        return rc;
    vt_buf_reset(&r->q);
    vt_buf_printf(&r->q, "DROP MEASUREMENT ");
    put_ident(&r->q, m, strlen(m));
    if (r->q.oom)
        return vt_err_set(err, VT_EIO, "influx remote: out of memory");
    return query_exec(r, db, (const char *)r->q.data, r->q.len, true, err);
}

/* A series key decoded (engine/series_index.h series_key_build). */
typedef struct skey {
    const char *m;
    size_t mlen;
    uint64_t ntags;
    vt_reader tags; /* positioned at the first tag */
} skey;

static bool skey_decode(const record_key *k, skey *out)
{
    vt_reader rd;
    uint64_t ml;
    const uint8_t *mp;
    vt_reader_init(&rd, k->p, k->len);
    if (!vt_read_uvarint(&rd, &ml) || ml > vt_reader_left(&rd) ||
        !vt_read_bytes(&rd, (size_t)ml, &mp) || !vt_read_uvarint(&rd, &out->ntags))
        return false;
    out->m = (const char *)mp;
    out->mlen = (size_t)ml;
    out->tags = rd;
    return true;
}

static bool skey_next_tag(vt_reader *rd, vt_str *key, vt_str *val)
{
    uint64_t l;
    const uint8_t *p;
    if (!vt_read_uvarint(rd, &l) || l > vt_reader_left(rd) || !vt_read_bytes(rd, (size_t)l, &p))
        return false;
    key->ptr = (const char *)p;
    key->len = (size_t)l;
    if (!vt_read_uvarint(rd, &l) || l > vt_reader_left(rd) || !vt_read_bytes(rd, (size_t)l, &p))
        return false;
    val->ptr = (const char *)p;
    val->len = (size_t)l;
    return true;
}

/* A measurement of a DELETE record and the remote's tag keys for it. */
typedef struct mtags {
    vt_str m;
    json_t *keys; /* borrowed from a response kept alive; array of [key] rows, or NULL */
} mtags;

static int mtags_cmp(const void *a, const void *b)
{
    const mtags *x = a, *y = b;
    size_t n = x->m.len < y->m.len ? x->m.len : y->m.len;
    int c = n ? memcmp(x->m.ptr, y->m.ptr, n) : 0;
    return c ? c : (x->m.len > y->m.len) - (x->m.len < y->m.len);
}

static vt_rc apply_delete(influx_remote *r, const journal_record *rec, vt_err *err)
{
    record_delete d;
    memset(&d, 0, sizeof d);
    vt_rc rc = record_delete_decode(rec->data, rec->len, &d, err);
    if (rc != VT_OK)
        return rc;
    char db[RECORD_NAME_MAX + 1];
    snprintf(db, sizeof db, "%.*s", (int)d.db_len, d.db);
    mtags *ms = NULL;
    size_t nm = 0;
    json_t **roots = NULL;
    size_t nroots = 0;

    if (d.nkeys == 0)
        goto out;
    ms = calloc(d.nkeys, sizeof *ms);
    roots = calloc(d.nkeys / STMT_BATCH + 1, sizeof *roots);
    if (ms == NULL || roots == NULL) {
        rc = vt_err_set(err, VT_EIO, "influx remote: out of memory");
        goto out;
    }
    for (size_t i = 0; i < d.nkeys; i++) {
        skey k;
        if (!skey_decode(&d.keys[i], &k)) {
            rc = vt_err_set(err, VT_ECORRUPT, "delete record: malformed series key %zu", i);
            goto out;
        }
        ms[nm++] = (mtags){{k.m, k.mlen}, NULL};
    }
    qsort(ms, nm, sizeof *ms, mtags_cmp);
    size_t u = 0;
    for (size_t i = 0; i < nm; i++)
        if (u == 0 || mtags_cmp(&ms[u - 1], &ms[i]) != 0)
            ms[u++] = ms[i];
    nm = u;

    /* the remote's tag keys of every measurement involved */
    for (size_t i = 0; i < nm; i += STMT_BATCH) {
        size_t e = i + STMT_BATCH < nm ? i + STMT_BATCH : nm;
        vt_buf_reset(&r->q);
        for (size_t k = i; k < e; k++) {
            vt_buf_printf(&r->q, "%sSHOW TAG KEYS FROM ", k > i ? "; " : "");
            put_ident(&r->q, ms[k].m.ptr, ms[k].m.len);
        }
        if (r->q.oom) {
            rc = vt_err_set(err, VT_EIO, "influx remote: out of memory");
            goto out;
        }
        json_t *root;
        if ((rc = query_raw(r, db, (const char *)r->q.data, r->q.len, &root, err)) != VT_OK)
            goto out;
        roots[nroots++] = root;
        json_t *results = json_object_get(root, "results");
        for (size_t k = i; k < e; k++) {
            json_t *res = json_array_get(results, k - i);
            const char *em = json_string_value(json_object_get(res, "error"));
            if (em && strstr(em, "database not found"))
                goto out; /* nothing to delete there */
            if (em) {
                rc = vt_err_set(err, VT_EINVAL, "query refused: %s", em);
                goto out;
            }
            ms[k].keys =
                json_object_get(json_array_get(json_object_get(res, "series"), 0), "values");
        }
    }

    bool drop = d.tmin == INT64_MIN && d.tmax == INT64_MAX;
    size_t stmts = 0;
    vt_buf_reset(&r->q);
    for (size_t i = 0; i < d.nkeys; i++) {
        skey k;
        skey_decode(&d.keys[i], &k);
        mtags probe = {{k.m, k.mlen}, NULL};
        mtags *mt = bsearch(&probe, ms, nm, sizeof *ms, mtags_cmp);
        if (stmts)
            vt_buf_printf(&r->q, "; ");
        vt_buf_printf(&r->q, drop ? "DROP SERIES FROM " : "DELETE FROM ");
        put_ident(&r->q, k.m, k.mlen);
        const char *sep = " WHERE ";
        vt_reader tr = k.tags;
        for (uint64_t t = 0; t < k.ntags; t++) {
            vt_str tk, tv;
            if (!skey_next_tag(&tr, &tk, &tv)) {
                rc = vt_err_set(err, VT_ECORRUPT, "delete record: malformed series key %zu", i);
                goto out;
            }
            vt_buf_printf(&r->q, "%s", sep);
            put_ident(&r->q, tk.ptr, tk.len);
            vt_buf_putc(&r->q, '=');
            put_string(&r->q, tv.ptr, tv.len);
            sep = " AND ";
        }
        size_t nrk = mt ? json_array_size(mt->keys) : 0;
        for (size_t x = 0; x < nrk; x++) {
            const char *rk = json_string_value(json_array_get(json_array_get(mt->keys, x), 0));
            if (rk == NULL)
                continue;
            size_t rkl = strlen(rk);
            bool has = false;
            vt_reader tr2 = k.tags;
            for (uint64_t t = 0; t < k.ntags && !has; t++) {
                vt_str tk, tv;
                skey_next_tag(&tr2, &tk, &tv);
                has = tk.len == rkl && memcmp(tk.ptr, rk, rkl) == 0;
            }
            if (has)
                continue;
            vt_buf_printf(&r->q, "%s", sep);
            put_ident(&r->q, rk, rkl);
            vt_buf_printf(&r->q, "=''");
            sep = " AND ";
        }
        if (!drop) {
            if (d.tmin > INFLUX_MIN_TIME) {
                vt_buf_printf(&r->q, "%stime >= %" PRId64, sep, d.tmin);
                sep = " AND ";
            }
            if (d.tmax < INFLUX_MAX_TIME)
                vt_buf_printf(&r->q, "%stime <= %" PRId64, sep, d.tmax);
        }
        stmts++;
        if (r->q.oom) {
            rc = vt_err_set(err, VT_EIO, "influx remote: out of memory");
            goto out;
        }
        if (stmts == STMT_BATCH || r->q.len >= QUERY_BATCH_BYTES || i + 1 == d.nkeys) {
            if ((rc = query_exec(r, db, (const char *)r->q.data, r->q.len, true, err)) != VT_OK)
                goto out;
            stmts = 0;
            vt_buf_reset(&r->q);
        }
    }
out:
    if (rc != VT_OK)
        vt_err_prefix(err, "delete in \"%s\"", db);
    for (size_t i = 0; i < nroots; i++)
        json_decref(roots[i]);
    free(roots);
    free(ms);
    free(d.keys);
    return rc;
}

/* ---- public API -------------------------------------------------------------------------- */

void influx_remote_options_default(influx_remote_options *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->url, sizeof o->url, "http://127.0.0.1:8086");
    o->timeout_ms = 30000;
    o->connect_timeout_ms = 2000;
    o->max_body_bytes = (size_t)8 << 20;
    o->gzip = false;
}

vt_rc influx_remote_new(const influx_remote_options *o, influx_remote **out, vt_err *err)
{
    *out = NULL;
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK)
        return vt_err_set(err, VT_EIO, "curl_global_init: %s", curl_easy_strerror(curl_init_rc));
    if (strncmp(o->url, "http://", 7) != 0 && strncmp(o->url, "https://", 8) != 0)
        return vt_err_set(err, VT_EINVAL, "influx remote: url \"%s\" is not http(s)://", o->url);
    influx_remote *r = calloc(1, sizeof *r);
    if (r == NULL)
        return vt_err_set(err, VT_ENOMEM, "influx remote: out of memory");
    r->o = *o;
    size_t ul = strlen(r->o.url);
    while (ul > 0 && r->o.url[ul - 1] == '/')
        r->o.url[--ul] = '\0';
    if (r->o.timeout_ms == 0)
        r->o.timeout_ms = 30000;
    if (r->o.connect_timeout_ms == 0)
        r->o.connect_timeout_ms = 2000;
    if (r->o.max_body_bytes == 0)
        r->o.max_body_bytes = (size_t)8 << 20;
    vt_buf_init(&r->resp);
    vt_buf_init(&r->scratch);
    vt_buf_init(&r->gz);
    vt_buf_init(&r->url);
    vt_buf_init(&r->q);
    r->curl = curl_easy_init();
    r->lp = lp_parser_new(NULL);
    if (r->curl == NULL || r->lp == NULL) {
        influx_remote_free(r);
        return vt_err_set(err, VT_ENOMEM, "influx remote: out of memory");
    }
    *out = r;
    return VT_OK;
}

void influx_remote_free(influx_remote *r)
{
    if (r == NULL)
        return;
    if (r->curl)
        curl_easy_cleanup(r->curl);
    lp_parser_free(r->lp);
    rendered_free(r);
    free(r->rendered);
    free(r->segs);
    vt_buf_free(&r->resp);
    vt_buf_free(&r->scratch);
    vt_buf_free(&r->gz);
    vt_buf_free(&r->url);
    vt_buf_free(&r->q);
    free(r);
}

vt_rc influx_remote_ping(influx_remote *r, char *version, size_t cap, vt_err *err)
{
    long status = 0;
    vt_buf_reset(&r->url);
    vt_buf_printf(&r->url, "%s/ping", r->o.url);
    http_body b = {.post = false};
    vt_rc rc = http_perform(r, &b, &status, err);
    if (rc != VT_OK)
        return rc;
    if (status != 204 && status != 200)
        return classify_status(r, status, "ping", err);
    if (version && cap)
        snprintf(version, cap, "%s", r->version);
    return VT_OK;
}

vt_rc influx_remote_write(influx_remote *r, const char *db, const char *rp, lp_precision precision,
                          const char *body, size_t len, vt_err *err)
{
    size_t lines = 0;
    for (const char *p = body, *e = body + len; p < e;) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        lines++;
        p = nl ? nl + 1 : e;
    }
    segs_reset(r);
    if (!seg_push(r, body, 0, len))
        return vt_err_set(err, VT_EIO, "influx remote: out of memory");
    vt_rc rc =
        send_write(r, db, strlen(db), rp ? rp : "", rp ? strlen(rp) : 0, precision, lines, err);
    segs_reset(r);
    return rc;
}

vt_rc influx_remote_query(influx_remote *r, const char *db, const char *q, char **json_out,
                          vt_err *err)
{
    json_t *root;
    if (json_out)
        *json_out = NULL;
    vt_rc rc = query_raw(r, db, q, strlen(q), &root, err);
    if (rc != VT_OK)
        return rc;
    rc = check_results(r, root, false, err);
    json_decref(root);
    if (rc == VT_OK && json_out) {
        *json_out = malloc(r->resp.len + 1);
        if (*json_out == NULL)
            return vt_err_set(err, VT_ENOMEM, "influx remote: out of memory");
        memcpy(*json_out, r->resp.data, r->resp.len);
        (*json_out)[r->resp.len] = '\0';
    }
    return rc;
}

vt_rc influx_remote_apply(influx_remote *r, const journal_record *recs, size_t n, size_t *applied,
                          vt_err *err)
{
    size_t done = 0;
    vt_rc rc = VT_OK;
    while (done < n && rc == VT_OK) {
        const journal_record *rec = &recs[done];
        switch (rec->type) {
        case JOURNAL_REC_WRITE: {
            size_t j = done;
            while (j < n && recs[j].type == JOURNAL_REC_WRITE)
                j++;
            rc = apply_writes(r, recs, done, j, &done, err);
            continue;
        }
        case JOURNAL_REC_CREATE_DB:
        case JOURNAL_REC_DROP_DB: rc = apply_dbop(r, rec, err); break;
        case RECORD_TYPE_DB_META: rc = apply_db_meta(r, rec, err); break;
        case RECORD_TYPE_DELETE: rc = apply_delete(r, rec, err); break;
        case RECORD_TYPE_DROP_MEASUREMENT: rc = apply_drop_measurement(r, rec, err); break;
        case RECORD_TYPE_RETENTION: break;
        default:
            rc = vt_err_set(err, VT_EINVAL, "record %" PRIu64 ": unknown type %u", rec->seq,
                            rec->type);
            break;
        }
        if (rc == VT_OK)
            done++;
        else if (rec->type != JOURNAL_REC_WRITE)
            vt_err_prefix(err, "record %" PRIu64, rec->seq);
    }
    if (applied)
        *applied = done;
    return rc;
}

void influx_remote_get_stats(const influx_remote *r, influx_remote_stats *out)
{
    *out = r->st;
}
