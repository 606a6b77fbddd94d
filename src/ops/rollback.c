/*
 * ops/rollback.c — `volta rollback --to backup` and `volta rollforward` (contract: ops/rollback.h;
 * operator's guide: docs/OPERATIONS.md).
 *
 * NOTES ON THE DESIGN OF THE ROLLBACK STATE MACHINE
 *
 * 1. Where the state lives. Everything is done through the running server's admin API: flags
 *    (POST /api/v1/flags, /api/v1/flags/revert), backends (GET /api/v1/backends, POST
 *    /api/v1/backends/query), /health, /metrics, and the record (GET/POST /api/v1/rollback).
 *    The record is in the server's meta.db; this process keeps nothing a kill -9 could lose.
 *
 * 2. States of the record: running -> done | failed | aborted. `step` is the last step
 *    COMPLETED (0 = pre-checks passed and the record started; nothing changed yet). A run (or a
 *    --resume) executes steps step+1 .. 5. detail remembers what later steps and a resume need:
 *        pre_version   flags version before step 1 (the abort reverts to it)
 *        pre_rps, pre_burst, pre_flux, pre_failover   the values step 5 / rollforward restore
 *        backup, db    the backend reads went to, the database checked (NULL = all)
 *        ramp_good     the last ramp level that held (0 = none yet); a resume continues above it
 *
 * 3. Steps (each idempotent: it sets flags to target values, and setting a flag to its current
 *    value writes no version; waits and checks are read-only):
 *        1 divert traffic       maintenance on, rate limit 1/s (burst 1)            one version
 *        2 reads to the backup  read_backend=backup (+ enable_flux_queries=false when the
 *                               backup lacks the flux capability)                  one version
 *        3 backup pipeline      wait (bounded by catchup_s) until the backup's applier lag is 0
 *                               records, then a count over the last 5 minutes must answer
 *        4 configuration        failover=auto becomes alert (no second automatic rollback while
 *                               reads are on the backup); the flags are read back and checked
 *        5 validate + traffic   count over the last hour on the backup > 0, else ABORT (flags
 *                               reverted to pre_version, record failed, exit 1); maintenance off
 *                               (rate still 1/s: the probe and the ramp need traffic to flow —
 *                               the runbook lists maintenance off last, but a ramp measured
 *                               with every data request refused at 503 would measure nothing);
 *                               the probe query; the ramp 10 -> 50 -> 100 -> 500 /s with a dwell
 *                               each, stopped when volta_http_errors_last_minute > 5; then the
 *                               rate limit back to its pre-rollback value.
 *
 * 4. Failures. The empty-backup abort ends the record (failed) after reverting the flags. Any
 *    other failure (server unreachable, catch-up timeout, probe refused, ramp stopped) leaves the
 *    record running with detail.last_error and exits 1: the operator fixes the cause and runs
 *    --resume (or --abort). A stopped ramp leaves the rate at the last level that held.
 *
 * 5. Timing. Each step prints its duration. "reads on the backup" is measured from the start of
 *    the pre-checks to the end of step 2, minus the time spent at the confirmation prompt.
 */
#include "ops/rollback.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const double ramp_levels[] = {10, 50, 100, 500};
#define RAMP_N (sizeof ramp_levels / sizeof ramp_levels[0])
#define RAMP_MAX_ERRORS 5.0
#define PROBE_QUESTION "Qual é a geração de energia atual?"

void rollback_options_default(rollback_options *o)
{
    memset(o, 0, sizeof *o);
    o->api.host = "http://127.0.0.1:8086";
    o->dwell_s = 30;
    o->catchup_s = 60;
}

/* ---- small helpers ------------------------------------------------------------------------- */

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static FILE *human(const rollback_options *o)
{
    return o->json ? stderr : stdout;
}

static void say(const rollback_options *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say(const rollback_options *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(human(o), fmt, ap);
    va_end(ap);
    fflush(human(o));
}

/* "2024-01-01T00:00:00.5Z" -> ns; 0 when it does not parse. */
static long long parse_rfc3339(const char *s)
{
    int y, mo, d, h, mi, se, n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6)
        return 0;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                    .tm_min = mi, .tm_sec = se};
    long long ns = (long long)timegm(&tm) * 1000000000LL;
    const char *p = s + n;
    if (*p == '.') {
        long long frac = 0, scale = 100000000;
        for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
            frac += scale > 0 ? (*p - '0') * scale : 0;
        ns += frac;
    }
    return ns;
}

static void fmt_time(long long ns, char out[40])
{
    if (ns <= 0) {
        snprintf(out, 40, "none");
        return;
    }
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 40, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void url_encode(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t j = 0;
    for (; *s && j + 4 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out[j++] = (char)c;
        } else {
            out[j++] = '%';
            out[j++] = hex[c >> 4];
            out[j++] = hex[c & 15];
        }
    }
    out[j] = '\0';
}

/* ---- the admin API ------------------------------------------------------------------------- */

int ops_api_call(const ops_api *a, const char *method, const char *path, json_t *body,
                 long *status, json_t **doc, char errbuf[512])
{
    char url[4096];
    snprintf(url, sizeof url, "%s%s", a->host, path);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    vt_buf resp;
    vt_buf_init(&resp);
    *status = 0;
    if (doc)
        *doc = NULL;
    char eb[512];
    eb[0] = '\0';
    int rc = a->http(method, url, text ? text : "", text ? strlen(text) : 0, "application/json",
                     30, &resp, status, eb);
    free(text);
    if (rc != 0) {
        snprintf(errbuf, 512, "cannot reach %s: %s", a->host, eb);
        vt_buf_free(&resp);
        return -1;
    }
    if (doc && resp.len)
        *doc = json_loadb((const char *)resp.data, resp.len, 0, NULL);
    if (*status >= 300) {
        json_t *d = doc ? *doc : NULL;
        const char *e = json_string_value(json_object_get(d, "error"));
        snprintf(errbuf, 512, "%s %s answered %ld: %.300s", method, path, *status,
                 e ? e : resp.len ? vt_buf_cstr(&resp) : "");
        errbuf[strcspn(errbuf, "\r\n")] = '\0';
    }
    vt_buf_free(&resp);
    return 0;
}

/* A 2xx answer with a JSON document, else -1 with errbuf. */
static int api_ok(const ops_api *a, const char *method, const char *path, json_t *body,
                  json_t **doc, char errbuf[512])
{
    long status;
    json_t *d = NULL;
    if (ops_api_call(a, method, path, body, &status, &d, errbuf) != 0)
        return -1;
    if (status < 200 || status >= 300) {
        const char *e = json_string_value(json_object_get(d, "error"));
        if (e)
            snprintf(errbuf, 512, "%s %s answered %ld: %s", method, path, status, e);
        json_decref(d);
        return -1;
    }
    if (doc)
        *doc = d;
    else
        json_decref(d);
    return 0;
}

/* POST /api/v1/backends/query; the InfluxDB 1.x answer's first result, or -1 with errbuf. */
static int backend_query(const ops_api *a, const char *backend, const char *db, const char *q,
                         json_t **doc, char errbuf[512])
{
    json_t *body = json_pack("{s:s, s:s}", "backend", backend, "q", q);
    if (db)
        json_object_set_new(body, "db", json_string(db));
    int rc = api_ok(a, "POST", "/api/v1/backends/query", body, doc, errbuf);
    json_decref(body);
    if (rc != 0)
        return -1;
    const char *e = json_string_value(
        json_object_get(json_array_get(json_object_get(*doc, "results"), 0), "error"));
    if (!e)
        e = json_string_value(json_object_get(*doc, "error"));
    if (e) {
        snprintf(errbuf, 512, "backend %s: %s: %.300s", backend, q, e);
        json_decref(*doc);
        *doc = NULL;
        return -1;
    }
    return 0;
}

static json_t *first_series(json_t *doc)
{
    return json_object_get(json_array_get(json_object_get(doc, "results"), 0), "series");
}

int ops_backend_freshness(const ops_api *a, const char *backend, const char *db,
                          const char *window, unsigned long long *count, long long *max_ns,
                          char *db_used, size_t db_cap, char errbuf[512])
{
    *count = 0;
    *max_ns = 0;
    if (db_used && db_cap)
        db_used[0] = '\0';
    json_t *dbs = json_array();
    if (db) {
        json_array_append_new(dbs, json_string(db));
    } else {
        json_t *doc = NULL;
        if (backend_query(a, backend, NULL, "SHOW DATABASES", &doc, errbuf) != 0) {
            json_decref(dbs);
            return -1;
        }
        json_t *vals = json_object_get(json_array_get(first_series(doc), 0), "values");
        for (size_t i = 0; i < json_array_size(vals); i++) {
            const char *name = json_string_value(json_array_get(json_array_get(vals, i), 0));
            if (name && strcmp(name, "_internal") != 0)
                json_array_append_new(dbs, json_string(name));
        }
        json_decref(doc);
    }
    char q[256];
    unsigned long long best = 0;
    for (size_t i = 0; i < json_array_size(dbs); i++) {
        const char *name = json_string_value(json_array_get(dbs, i));
        json_t *doc = NULL;
        snprintf(q, sizeof q, "SELECT count(*) FROM /.*/ WHERE time > now() - %s", window);
        if (backend_query(a, backend, name, q, &doc, errbuf) != 0) {
            json_decref(dbs);
            return -1;
        }
        /* a point has at least one field: per measurement the largest count_<field> */
        unsigned long long in_db = 0;
        json_t *series = first_series(doc);
        for (size_t s = 0; s < json_array_size(series); s++) {
            json_t *row = json_array_get(json_object_get(json_array_get(series, s), "values"), 0);
            double mx = 0;
            for (size_t c = 1; c < json_array_size(row); c++) {
                double v = json_number_value(json_array_get(row, c));
                mx = v > mx ? v : mx;
            }
            in_db += (unsigned long long)mx;
        }
        json_decref(doc);
        *count += in_db;
        if (in_db > best && db_used && db_cap) {
            best = in_db;
            snprintf(db_used, db_cap, "%s", name);
        }
        if (in_db == 0)
            continue;
        snprintf(q, sizeof q,
                 "SELECT * FROM /.*/ WHERE time > now() - %s ORDER BY time DESC LIMIT 1", window);
        if (backend_query(a, backend, name, q, &doc, errbuf) != 0) {
            json_decref(dbs);
            return -1;
        }
        series = first_series(doc);
        for (size_t s = 0; s < json_array_size(series); s++) {
            json_t *row = json_array_get(json_object_get(json_array_get(series, s), "values"), 0);
            long long t = parse_rfc3339(json_string_value(json_array_get(row, 0)));
            *max_ns = t > *max_ns ? t : *max_ns;
        }
        json_decref(doc);
    }
    if (db && db_used && db_cap && !db_used[0])
        snprintf(db_used, db_cap, "%s", db);
    json_decref(dbs);
    return 0;
}

/* ---- pre-checks ---------------------------------------------------------------------------- */

typedef struct precheck {
    long health_status;
    const char *primary; /* available | failed | not found */
    json_t *flags;       /* the "flags" object of GET /api/v1/flags (owned) */
    long long flags_version;
    json_t *backends;    /* GET /api/v1/backends (owned) */
    char backup[128];    /* the backend reads go to when read_backend=backup */
    bool backup_known, backup_flux, backup_healthy, backup_resync;
    unsigned long long backup_lag;
    bool fresh_ok;
    unsigned long long count_1h;
    long long max_ns;
    char db[128];
    const char *fresh_backend; /* the backend the freshness was measured on */
    char fresh_err[512];
    double estimate_s;
} precheck;

static void precheck_free(precheck *p)
{
    json_decref(p->flags);
    json_decref(p->backends);
}

static json_t *backend_entry(json_t *backends, const char *name)
{
    json_t *arr = json_object_get(backends, "backends");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *b = json_array_get(arr, i);
        const char *n = json_string_value(json_object_get(b, "name"));
        if (n && strcmp(n, name) == 0)
            return b;
    }
    return NULL;
}

static bool has_cap(json_t *entry, const char *cap)
{
    json_t *caps = json_object_get(entry, "caps");
    for (size_t i = 0; i < json_array_size(caps); i++) {
        const char *c = json_string_value(json_array_get(caps, i));
        if (c && strcmp(c, cap) == 0)
            return true;
    }
    return false;
}

static const char *flag_str(json_t *flags, const char *name, char buf[64])
{
    json_t *v = json_object_get(flags, name);
    if (json_is_string(v))
        snprintf(buf, 64, "%s", json_string_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, 64, "%s", json_is_true(v) ? "on" : "off");
    else if (json_is_number(v))
        snprintf(buf, 64, "%g", json_number_value(v));
    else
        snprintf(buf, 64, "?");
    return buf;
}

/* Fills p (read-only). Returns 0, or 2 when the server cannot be reached (errbuf). */
static int run_prechecks(const rollback_options *o, const char *backend_for_freshness, precheck *p,
                         char errbuf[512])
{
    memset(p, 0, sizeof *p);
    const ops_api *a = &o->api;
    json_t *health = NULL;
    if (ops_api_call(a, "GET", "/health", NULL, &p->health_status, &health, errbuf) != 0)
        return 2;
    const char *st = json_string_value(json_object_get(health, "status"));
    p->primary = !json_object_get(health, "primary")                  ? "not found"
                 : p->health_status == 200 && st && !strcmp(st, "pass") ? "available"
                                                                        : "failed";
    json_decref(health);
    json_t *doc = NULL;
    if (api_ok(a, "GET", "/api/v1/flags", NULL, &doc, errbuf) != 0)
        return 2;
    p->flags = json_incref(json_object_get(doc, "flags"));
    p->flags_version = (long long)json_integer_value(json_object_get(doc, "version"));
    json_decref(doc);
    if (!json_is_object(p->flags)) {
        snprintf(errbuf, 512, "GET /api/v1/flags: no \"flags\" object in the answer");
        return 2;
    }
    if (api_ok(a, "GET", "/api/v1/backends", NULL, &p->backends, errbuf) != 0)
        return 2;
    const char *bk = json_string_value(json_object_get(p->backends, "backup"));
    snprintf(p->backup, sizeof p->backup, "%s", bk ? bk : "");
    json_t *e = p->backup[0] ? backend_entry(p->backends, p->backup) : NULL;
    p->backup_known = e != NULL;
    if (e) {
        p->backup_flux = has_cap(e, "flux");
        p->backup_healthy = json_is_true(json_object_get(e, "healthy"));
        p->backup_resync = json_is_true(json_object_get(e, "needs_resync"));
        p->backup_lag = (unsigned long long)json_integer_value(json_object_get(e, "lag_records"));
    }
    p->fresh_backend = backend_for_freshness;
    if (p->backup_known)
        p->fresh_ok = ops_backend_freshness(a, backend_for_freshness, o->db, "1h", &p->count_1h,
                                            &p->max_ns, p->db, sizeof p->db, p->fresh_err) == 0;
    /* measured: a flags change and a backends poll take milliseconds; the applier drains
     * thousands of records a second */
    p->estimate_s = 1.0 + (double)p->backup_lag / 5000.0;
    return 0;
}

static void print_prechecks(const rollback_options *o, const precheck *p, const char *title)
{
    char b1[64], b2[64], b3[64], b4[64], b5[64], b6[64], when[40];
    say(o, "%s — pre-checks (read-only)\n", title);
    say(o, "  primary            %s (/health %ld)\n", p->primary, p->health_status);
    if (p->backup_known)
        say(o, "  backup backend     %s (%s%s, caps%s%s)\n", p->backup,
            p->backup_healthy ? "healthy" : "NOT healthy",
            p->backup_resync ? ", needs resync" : "",
            has_cap(backend_entry(p->backends, p->backup), "influxql") ? " influxql" : "",
            p->backup_flux ? " flux" : "");
    else
        say(o, "  backup backend     none configured%s%s\n", p->backup[0] ? ": " : "", p->backup);
    fmt_time(p->max_ns, when);
    if (p->fresh_ok)
        say(o, "  %-7s freshness  %llu point(s) in the last hour, newest %s%s%s%s\n",
            p->fresh_backend, p->count_1h, when, o->db || p->db[0] ? " (db " : "", o->db ? o->db : p->db,
            o->db || p->db[0] ? ")" : "");
    else if (p->backup_known)
        say(o, "  %-7s freshness  ERROR: %s\n", p->fresh_backend, p->fresh_err);
    json_t *arr = json_object_get(p->backends, "backends");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *b = json_array_get(arr, i);
        say(o, "  applier lag        %s: %lld record(s), %.1f s%s\n",
            json_string_value(json_object_get(b, "name")),
            (long long)json_integer_value(json_object_get(b, "lag_records")),
            json_number_value(json_object_get(b, "lag_seconds")),
            json_is_true(json_object_get(b, "needs_resync")) ? " (needs resync)" : "");
    }
    say(o, "  flags (version %lld) maintenance %s, read_backend %s, flux %s, rate %s/s burst %s, "
           "failover %s\n",
        p->flags_version, flag_str(p->flags, "enable_maintenance_mode", b1),
        flag_str(p->flags, "read_backend", b2), flag_str(p->flags, "enable_flux_queries", b3),
        flag_str(p->flags, "rate_limit_rps", b4), flag_str(p->flags, "rate_limit_burst", b5),
        flag_str(p->flags, "failover", b6));
    say(o, "  API health         %ld\n", p->health_status);
}

/* ---- the record ---------------------------------------------------------------------------- */

/* POST /api/v1/rollback; *rec (may be NULL) = the "rollback" object (owned). */
static int record_post(const rollback_options *o, json_t *body, json_t **rec, long *status,
                       char errbuf[512])
{
    json_t *doc = NULL;
    if (!json_object_get(body, "who") && o->who)
        json_object_set_new(body, "who", json_string(o->who));
    int rc = ops_api_call(&o->api, "POST", "/api/v1/rollback", body, status, &doc, errbuf);
    json_decref(body);
    if (rc != 0)
        return -1;
    if (*status >= 300) {
        const char *e = json_string_value(json_object_get(doc, "error"));
        if (e)
            snprintf(errbuf, 512, "%s", e);
        json_decref(doc);
        return -1;
    }
    if (rec)
        *rec = json_incref(json_object_get(doc, "rollback"));
    json_decref(doc);
    return 0;
}

static int record_step(const rollback_options *o, int step, json_t *detail, char errbuf[512])
{
    long status;
    json_t *body = json_pack("{s:s, s:i}", "action", "step", "step", step);
    if (detail)
        json_object_set_new(body, "detail", detail);
    return record_post(o, body, NULL, &status, errbuf);
}

static void record_note_error(const rollback_options *o, int step, const char *msg)
{
    char eb[512];
    record_step(o, step, json_pack("{s:s}", "last_error", msg), eb);
}

static int record_finish(const rollback_options *o, const char *action, const char *error,
                         json_t *detail, char errbuf[512])
{
    long status;
    json_t *body = json_pack("{s:s}", "action", action);
    if (error)
        json_object_set_new(body, "error", json_string(error));
    if (detail)
        json_object_set_new(body, "detail", detail);
    return record_post(o, body, NULL, &status, errbuf);
}

/* GET /api/v1/rollback: the current/last record (owned) or NULL. */
static int record_get(const rollback_options *o, json_t **rec, char errbuf[512])
{
    json_t *doc = NULL;
    *rec = NULL;
    if (api_ok(&o->api, "GET", "/api/v1/rollback", NULL, &doc, errbuf) != 0)
        return -1;
    json_t *r = json_object_get(doc, "rollback");
    if (json_is_object(r))
        *rec = json_incref(r);
    json_decref(doc);
    return 0;
}

/* ---- flags --------------------------------------------------------------------------------- */

/* POST /api/v1/flags {"set":set,"why":why} (set is taken over). *version = the resulting one. */
static int flags_set(const rollback_options *o, json_t *set, const char *why, long long *version,
                     char errbuf[512])
{
    json_t *body = json_pack("{s:o, s:s}", "set", set, "why", why);
    if (o->who)
        json_object_set_new(body, "who", json_string(o->who));
    json_t *doc = NULL;
    int rc = api_ok(&o->api, "POST", "/api/v1/flags", body, &doc, errbuf);
    json_decref(body);
    if (rc == 0 && version)
        *version = (long long)json_integer_value(json_object_get(doc, "version"));
    json_decref(doc);
    return rc;
}

static int flags_get(const rollback_options *o, json_t **flags, long long *version,
                     char errbuf[512])
{
    json_t *doc = NULL;
    if (api_ok(&o->api, "GET", "/api/v1/flags", NULL, &doc, errbuf) != 0)
        return -1;
    *flags = json_incref(json_object_get(doc, "flags"));
    if (version)
        *version = (long long)json_integer_value(json_object_get(doc, "version"));
    json_decref(doc);
    return *flags ? 0 : -1;
}

static int flags_revert(const rollback_options *o, long long version, const char *why,
                        char errbuf[512])
{
    json_t *body = json_pack("{s:I, s:s}", "version", (json_int_t)version, "why", why);
    if (o->who)
        json_object_set_new(body, "who", json_string(o->who));
    int rc = api_ok(&o->api, "POST", "/api/v1/flags/revert", body, NULL, errbuf);
    json_decref(body);
    return rc;
}

/* volta_http_errors_last_minute from /metrics (labelled series summed). */
static int errors_last_minute(const rollback_options *o, double *v, char errbuf[512])
{
    char url[2048];
    snprintf(url, sizeof url, "%s/metrics", o->api.host);
    vt_buf resp;
    vt_buf_init(&resp);
    long status = 0;
    char eb[512];
    if (o->api.http("GET", url, NULL, 0, NULL, 30, &resp, &status, eb) != 0 || status != 200) {
        snprintf(errbuf, 512, "GET /metrics: %s", status ? "answered not 200" : eb);
        vt_buf_free(&resp);
        return -1;
    }
    const char *name = "volta_http_errors_last_minute";
    size_t nl = strlen(name);
    bool found = false;
    *v = 0;
    for (const char *p = vt_buf_cstr(&resp); p && *p;) {
        const char *eol = strchr(p, '\n');
        if (strncmp(p, name, nl) == 0 && (p[nl] == ' ' || p[nl] == '{')) {
            const char *end = eol ? eol : p + strlen(p), *sp = end;
            while (sp > p && sp[-1] != ' ')
                sp--;
            if (sp > p) {
                *v += strtod(sp, NULL);
                found = true;
            }
        }
        p = eol ? eol + 1 : NULL;
    }
    vt_buf_free(&resp);
    if (!found) {
        snprintf(errbuf, 512, "/metrics has no %s series", name);
        return -1;
    }
    return 0;
}

/* The probe: the question first; a SELECT when the server does not understand questions. */
static int probe_query(const rollback_options *o, const char *db, char *how, size_t how_cap,
                       char errbuf[512])
{
    for (int attempt = 0; attempt < 10; attempt++) {
        json_t *body = json_pack("{s:s}", "question", PROBE_QUESTION);
        if (db && db[0])
            json_object_set_new(body, "db", json_string(db));
        long status;
        int rc = ops_api_call(&o->api, "POST", "/query", body, &status, NULL, errbuf);
        json_decref(body);
        if (rc != 0)
            return -1;
        if (status == 429) { /* the rate is still 1/s: wait for a token */
            sleep_s(1.1);
            continue;
        }
        if (status == 200) {
            snprintf(how, how_cap, "question \"%s\" answered 200", PROBE_QUESTION);
            return 0;
        }
        if (status != 400 && status != 404 && status != 415 && status != 422)
            return -1;
        char q[512], path[1024], enc_q[700], enc_db[300];
        snprintf(q, sizeof q, "SELECT count(*) FROM /.*/ WHERE time > now() - 1h");
        url_encode(q, enc_q, sizeof enc_q);
        url_encode(db ? db : "", enc_db, sizeof enc_db);
        snprintf(path, sizeof path, "/query?db=%s&q=%s", enc_db, enc_q);
        for (int a2 = 0; a2 < 10; a2++) {
            if (ops_api_call(&o->api, "GET", path, NULL, &status, NULL, errbuf) != 0)
                return -1;
            if (status == 429) {
                sleep_s(1.1);
                continue;
            }
            if (status != 200)
                return -1;
            snprintf(how, how_cap,
                     "the question route is not available (HTTP 4xx): a SELECT on db %s "
                     "answered 200",
                     db && db[0] ? db : "(none)");
            return 0;
        }
        return -1;
    }
    snprintf(errbuf, 512, "POST /query: still rate limited (429) after 10 attempts");
    return -1;
}

/* ---- the rollback -------------------------------------------------------------------------- */

typedef struct run_state {
    const rollback_options *o;
    json_t *summary;     /* the --json summary: {"steps":[...]} */
    double t0, prompt_s; /* start of pre-checks; time spent at the prompt */
    double reads_s;      /* seconds to reads on the backup (< 0 until step 2 ran) */
    json_t *detail;      /* the record's detail (owned) */
} run_state;

static void step_line(run_state *rs, int step, const char *name, double started, bool ok,
                      const char *what)
{
    double d = mono_s() - started;
    say(rs->o, "  [%s] step %d %-22s %6.3f s  %s\n", ok ? "ok" : "FAIL", step, name, d, what);
    json_array_append_new(json_object_get(rs->summary, "steps"),
                          json_pack("{s:i, s:s, s:b, s:f, s:s}", "step", step, "name", name, "ok",
                                    ok, "seconds", d, "detail", what));
}

static double detail_num(json_t *detail, const char *key, double dflt)
{
    json_t *v = json_object_get(detail, key);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

static const char *detail_str(json_t *detail, const char *key)
{
    return json_string_value(json_object_get(detail, key));
}

/* The abort: the flags back to the pre-rollback version — `revert` when that version exists,
 * else (version 0: nothing was ever set) the values the pre-checks read, as one version. */
static int restore_pre_flags(run_state *rs, long long pre, char errbuf[512])
{
    const char *why = "rollback aborted: the backup holds no recent data";
    if (pre > 0)
        return flags_revert(rs->o, pre, why, errbuf);
    json_t *set = json_deep_copy(json_object_get(rs->detail, "pre_flags"));
    if (!json_is_object(set)) {
        json_decref(set);
        snprintf(errbuf, 512, "the record holds no pre_flags");
        return -1;
    }
    return flags_set(rs->o, set, why, NULL, errbuf);
}

/* Step 5's ramp. 0 done; 1 stopped (rate left at the last good level, record noted). */
static int ramp(run_state *rs, char errbuf[512])
{
    const rollback_options *o = rs->o;
    double good = detail_num(rs->detail, "ramp_good", 1);
    for (size_t i = 0; i < RAMP_N; i++) {
        double level = ramp_levels[i];
        if (level <= good)
            continue; /* a resume: this level already held */
        double t = mono_s();
        char why[128];
        snprintf(why, sizeof why, "rollback step 5: ramp %g/s", level);
        if (flags_set(o, json_pack("{s:f, s:i}", "rate_limit_rps", level, "rate_limit_burst", 0),
                      why, NULL, errbuf) != 0)
            return 1;
        sleep_s(o->dwell_s);
        double errors = 0;
        int mrc = errors_last_minute(o, &errors, errbuf);
        if (mrc != 0 || errors > RAMP_MAX_ERRORS) {
            char msg[512];
            if (mrc == 0)
                snprintf(msg, sizeof msg,
                         "ramp stopped at %g/s: %g errors in the last minute (more than %g); "
                         "rate limit left at %g/s",
                         level, errors, RAMP_MAX_ERRORS, good);
            else
                snprintf(msg, sizeof msg, "ramp stopped at %g/s: %.300s; rate limit left at %g/s",
                         level, errbuf, good);
            char eb[512];
            if (flags_set(o, json_pack("{s:f, s:i}", "rate_limit_rps", good, "rate_limit_burst", 0),
                          "rollback step 5: ramp stopped, rate back to the last good level", NULL,
                          eb) != 0)
                say(o, "  warning: could not put the rate back to %g/s: %s\n", good, eb);
            record_step(o, 4,
                        json_pack("{s:f, s:f, s:s}", "ramp_good", good, "ramp_stopped_at", level,
                                  "last_error", msg),
                        eb);
            step_line(rs, 5, "ramp", t, false, msg);
            snprintf(errbuf, 512, "%s", msg);
            return 1;
        }
        good = level;
        json_object_set_new(rs->detail, "ramp_good", json_real(good));
        if (record_step(o, 4, json_pack("{s:f}", "ramp_good", good), errbuf) != 0)
            return 1;
        char what[128];
        snprintf(what, sizeof what, "%g/s held %g s, %g error(s) in the last minute", level,
                 o->dwell_s, errors);
        step_line(rs, 5, "ramp", t, true, what);
    }
    return 0;
}

/* Runs steps first..5. Returns the exit status. */
static int run_steps(run_state *rs, const precheck *p, int first)
{
    const rollback_options *o = rs->o;
    char eb[512], what[512];
    const char *backup = detail_str(rs->detail, "backup");
    const char *db = detail_str(rs->detail, "db");
    const char *probe_db = db ? db : detail_str(rs->detail, "probe_db");
    if (!backup)
        backup = p->backup;
    int step = first;
    double t = mono_s();
    for (; step <= 5; step++) {
        t = mono_s();
        if (step == 1) {
            if (flags_set(o,
                          json_pack("{s:b, s:i, s:i}", "enable_maintenance_mode", 1,
                                    "rate_limit_rps", 1, "rate_limit_burst", 1),
                          "rollback step 1: divert traffic (maintenance on, rate limit 1/s)", NULL,
                          eb) != 0)
                goto failed;
            snprintf(what, sizeof what, "maintenance on, rate limit 1/s");
        } else if (step == 2) {
            json_t *set = json_pack("{s:s}", "read_backend", "backup");
            if (!p->backup_flux)
                json_object_set_new(set, "enable_flux_queries", json_false());
            if (flags_set(o, set, "rollback step 2: reads to the backup", NULL, eb) != 0)
                goto failed;
            rs->reads_s = mono_s() - rs->t0 - rs->prompt_s;
            snprintf(what, sizeof what, "read_backend=backup (%s)%s", backup,
                     p->backup_flux ? "" : ", enable_flux_queries=false (no flux on the backup)");
        } else if (step == 3) {
            double deadline = mono_s() + o->catchup_s;
            unsigned long long lag = 0;
            for (;;) {
                json_t *bk = NULL;
                if (api_ok(&o->api, "GET", "/api/v1/backends", NULL, &bk, eb) != 0)
                    goto failed;
                json_t *e = backend_entry(bk, backup);
                lag = (unsigned long long)json_integer_value(json_object_get(e, "lag_records"));
                bool resync = json_is_true(json_object_get(e, "needs_resync"));
                json_decref(bk);
                if (!e) {
                    snprintf(eb, sizeof eb, "backend %s is no longer listed by /api/v1/backends",
                             backup);
                    goto failed;
                }
                if (resync) {
                    snprintf(eb, sizeof eb, "backend %s needs a resync: run `volta resync %s` "
                                            "then --resume", backup, backup);
                    goto failed;
                }
                if (lag == 0)
                    break;
                if (mono_s() > deadline) {
                    snprintf(eb, sizeof eb,
                             "the applier of %s still lags %llu record(s) after %g s: check it "
                             "(volta status), then --resume",
                             backup, lag, o->catchup_s);
                    goto failed;
                }
                sleep_s(0.1);
            }
            unsigned long long c5 = 0;
            long long mx = 0;
            if (ops_backend_freshness(&o->api, "backup", db, "5m", &c5, &mx, NULL, 0, eb) != 0)
                goto failed;
            snprintf(what, sizeof what, "applier lag 0, %llu point(s) in the last 5 minutes", c5);
        } else if (step == 4) {
            char fb[64];
            json_t *fl = NULL;
            long long version = 0;
            if (flags_get(o, &fl, &version, eb) != 0)
                goto failed;
            bool auto_failover = !strcmp(flag_str(fl, "failover", fb), "auto");
            bool rb_ok = !strcmp(flag_str(fl, "read_backend", fb), "backup");
            json_decref(fl);
            if (!rb_ok) {
                snprintf(eb, sizeof eb, "read_backend is not backup (changed by someone else?)");
                goto failed;
            }
            if (auto_failover &&
                flags_set(o, json_pack("{s:s}", "failover", "alert"),
                          "rollback step 4: no second automatic rollback while reads are on the "
                          "backup",
                          &version, eb) != 0)
                goto failed;
            snprintf(what, sizeof what, "flags version %lld: read_backend=backup%s", version,
                     auto_failover ? ", failover auto -> alert" : "");
            json_object_set_new(rs->detail, "rolled_back_version", json_integer(version));
        } else {
            /* 5a-c, skipped by a resume that recorded them (the ramp is what remains) */
            if (json_is_true(json_object_get(rs->detail, "validated"))) {
                step_line(rs, 5, "validate", t, true, "recorded as done before the resume");
                goto ramp;
            }
            /* 5a: the backup must hold recent data */
            unsigned long long c = 0;
            long long mx = 0;
            if (ops_backend_freshness(&o->api, "backup", db, "1h", &c, &mx, NULL, 0, eb) != 0)
                goto failed;
            if (c == 0) {
                long long pre = (long long)detail_num(rs->detail, "pre_version", 0);
                char msg[512], eb2[512];
                snprintf(msg, sizeof msg,
                         "validation: the backup %s holds no point in the last hour%s%s: rollback "
                         "aborted, flags reverted to version %lld",
                         backup, db ? " in db " : "", db ? db : "", pre);
                if (restore_pre_flags(rs, pre, eb2) != 0)
                    say(o, "  ERROR: could not restore the flags of version %lld: %s\n", pre, eb2);
                record_finish(o, "fail", msg, NULL, eb2);
                step_line(rs, 5, "validate", t, false, msg);
                fprintf(stderr, "volta rollback: %s\n", msg);
                return 1;
            }
            char when[40];
            fmt_time(mx, when);
            snprintf(what, sizeof what, "%llu point(s) in the last hour on the backup, newest %s",
                     c, when);
            step_line(rs, 5, "validate", t, true, what);
            t = mono_s();
            if (flags_set(o, json_pack("{s:b}", "enable_maintenance_mode", 0),
                          "rollback step 5: maintenance off (rate limit still 1/s)", NULL,
                          eb) != 0)
                goto failed;
            step_line(rs, 5, "maintenance off", t, true, "data endpoints open at 1 request/s");
            t = mono_s();
            char how[256];
            if (probe_query(o, probe_db, how, sizeof how, eb) != 0)
                goto failed;
            step_line(rs, 5, "probe query", t, true, how);
            json_object_set_new(rs->detail, "validated", json_true());
            if (record_step(o, 4, json_pack("{s:b}", "validated", 1), eb) != 0)
                goto failed_recorded;
        ramp:
            if (ramp(rs, eb) != 0) {
                fprintf(stderr,
                        "volta rollback: %s\n  reads are served by the backup and maintenance is "
                        "off; when the errors subside run `volta rollback --to backup --resume` "
                        "to finish the ramp (or set the rate with `volta ratelimit`)\n",
                        eb);
                return 1;
            }
            t = mono_s();
            double rps = detail_num(rs->detail, "pre_rps", 0),
                   burst = detail_num(rs->detail, "pre_burst", 0);
            if (flags_set(o, json_pack("{s:f, s:f}", "rate_limit_rps", rps, "rate_limit_burst", burst),
                          "rollback step 5: rate limit back to the pre-rollback value", NULL,
                          eb) != 0)
                goto failed;
            snprintf(what, sizeof what, "rate limit back to %g/s (burst %g)", rps, burst);
            step_line(rs, 5, "traffic restored", t, true, what);
            if (record_step(o, 5, NULL, eb) != 0)
                goto failed_recorded;
            continue;
        }
        if (record_step(o, step, json_deep_copy(rs->detail), eb) != 0)
            goto failed_recorded;
        static const char *const names[] = {"", "divert traffic", "reads to the backup",
                                            "backup pipeline", "configuration"};
        step_line(rs, step, names[step], t, true, what);
        if (step == 2)
            say(o, "  reads served by the backup %.3f s after the start of the pre-checks "
                   "(target <= 5 s)\n",
                rs->reads_s);
    }
    if (record_finish(o, "done", NULL, json_pack("{s:n}", "last_error"), eb) != 0)
        goto failed_recorded;
    return 0;
failed:
    record_note_error(o, step - 1, eb);
failed_recorded:
    step_line(rs, step > 5 ? 5 : step, "failed", t, false, eb);
    fprintf(stderr,
            "volta rollback: step %d failed: %s\n  the record stays running at step %d: fix the "
            "cause and run `volta rollback --to backup --resume`, or end it with --abort\n",
            step > 5 ? 5 : step, eb, step - 1);
    return 1;
}

static void print_plan(const rollback_options *o, const precheck *p)
{
    say(o, "plan (--dry-run: nothing is changed)\n"
           "  step 1  maintenance on, rate limit 1/s                  (flags, one version)\n"
           "  step 2  read_backend=backup (%s)%s\n"
           "  step 3  wait until the backup's applier lag is 0 (at most %g s), count over the "
           "last 5 minutes\n"
           "  step 4  configuration: read back the flags%s\n"
           "  step 5  count over the last hour on the backup > 0 (else abort: flags back to "
           "version %lld); maintenance off; probe query; ramp 10 -> 50 -> 100 -> 500 /s, %g s "
           "each, stopped above 5 errors/minute; rate limit back to %g/s\n",
        p->backup[0] ? p->backup : "?",
        p->backup_flux ? "" : " and enable_flux_queries=false (the backup has no flux)",
        o->catchup_s,
        json_is_string(json_object_get(p->flags, "failover")) &&
                !strcmp(json_string_value(json_object_get(p->flags, "failover")), "auto")
            ? "; failover auto -> alert"
            : "",
        p->flags_version, o->dwell_s,
        json_number_value(json_object_get(p->flags, "rate_limit_rps")));
}

static int finish_summary(run_state *rs, int rc)
{
    double total = mono_s() - rs->t0 - rs->prompt_s;
    say(rs->o, "total %.3f s (excluding the confirmation prompt)", total);
    const char *kind = json_string_value(json_object_get(rs->summary, "kind"));
    if (rs->reads_s >= 0)
        say(rs->o, "; reads on the %s after %.3f s",
            kind && !strcmp(kind, "rollforward") ? "primary" : "backup", rs->reads_s);
    say(rs->o, "\n");
    if (rs->o->json) {
        json_object_set_new(rs->summary, "exit", json_integer(rc));
        json_object_set_new(rs->summary, "total_s", json_real(total));
        if (rs->reads_s >= 0)
            json_object_set_new(rs->summary, "reads_switched_s", json_real(rs->reads_s));
        json_dumpf(rs->summary, stdout, JSON_COMPACT);
        fputc('\n', stdout);
    }
    json_decref(rs->summary);
    json_decref(rs->detail);
    return rc;
}

static bool ask(run_state *rs, const char *prompt)
{
    const rollback_options *o = rs->o;
    if (!o->confirm)
        return true;
    double t = mono_s();
    bool yes = o->confirm(o->confirm_ctx, prompt);
    rs->prompt_s += mono_s() - t;
    return yes;
}

int rollback_run(const rollback_options *o)
{
    run_state rs = {.o = o, .summary = json_pack("{s:s, s:[]}", "kind", "rollback", "steps"),
                    .t0 = mono_s(), .reads_s = -1};
    char eb[512];
    json_t *rec = NULL;
    if (record_get(o, &rec, eb) != 0) {
        fprintf(stderr, "volta rollback: %s\n", eb);
        return finish_summary(&rs, 2);
    }
    bool running = rec && !strcmp(json_string_value(json_object_get(rec, "state")), "running");
    if (o->abort_running) {
        int rc = 0;
        if (!running) {
            fprintf(stderr, "volta rollback: no rollback is running: nothing to abort\n");
            rc = 2;
        } else if (record_finish(o, "abort", "aborted by the operator", NULL, eb) != 0) {
            fprintf(stderr, "volta rollback: %s\n", eb);
            rc = 1;
        } else {
            say(o, "%s %lld aborted at step %lld (flags left as they are: see `volta flags "
                   "history`; `volta flags revert %lld` restores the pre-rollback state)\n",
                json_string_value(json_object_get(rec, "kind")),
                (long long)json_integer_value(json_object_get(rec, "id")),
                (long long)json_integer_value(json_object_get(rec, "step")),
                (long long)json_integer_value(
                    json_object_get(json_object_get(rec, "detail"), "pre_version")));
        }
        json_decref(rec);
        return finish_summary(&rs, rc);
    }
    if (o->resume && (!running || strcmp(json_string_value(json_object_get(rec, "kind")),
                                         "rollback") != 0)) {
        fprintf(stderr, "volta rollback: --resume: no rollback is running (the last record is "
                        "%s)\n",
                rec ? json_string_value(json_object_get(rec, "state")) : "absent");
        json_decref(rec);
        return finish_summary(&rs, 2);
    }
    if (!o->resume && running && !o->dry_run) {
        fprintf(stderr, "volta rollback: %s %lld is already running (step %lld): run with "
                        "--resume to continue it, or --abort to end it\n",
                json_string_value(json_object_get(rec, "kind")),
                (long long)json_integer_value(json_object_get(rec, "id")),
                (long long)json_integer_value(json_object_get(rec, "step")));
        json_decref(rec);
        return finish_summary(&rs, 1);
    }
    precheck p;
    int prc = run_prechecks(o, "backup", &p, eb);
    if (prc != 0) {
        fprintf(stderr, "volta rollback: pre-checks: %s\n", eb);
        precheck_free(&p);
        json_decref(rec);
        return finish_summary(&rs, prc);
    }
    print_prechecks(o, &p, "volta rollback --to backup");
    int first = 1;
    if (o->resume) {
        rs.detail = json_deep_copy(json_object_get(rec, "detail"));
        first = (int)json_integer_value(json_object_get(rec, "step")) + 1;
        say(o, "  resuming rollback %lld after step %d\n",
            (long long)json_integer_value(json_object_get(rec, "id")), first - 1);
    }
    json_decref(rec);
    say(o, "  estimate           ~%.0f s to reads on the backup; %.0f s in all with the ramp "
           "(4 x %g s); data endpoints answer 503 (maintenance) from step 1 until step 5\n",
        p.estimate_s, p.estimate_s + 4 * o->dwell_s + 2, o->dwell_s);
    if (!p.backup_known) {
        fprintf(stderr, "volta rollback: no backup backend to roll back to (configure a "
                        "[[backend]] with role backup)\n");
        precheck_free(&p);
        return finish_summary(&rs, 1);
    }
    if (o->dry_run) {
        print_plan(o, &p);
        if (p.fresh_ok && p.count_1h == 0)
            say(o, "  warning: the backup holds no point in the last hour: step 5 would abort\n");
        precheck_free(&p);
        return finish_summary(&rs, 0);
    }
    if (!ask(&rs, "Prosseguir com rollback? (sim/nao) ")) {
        fprintf(stderr, "volta rollback: not confirmed: nothing changed\n");
        precheck_free(&p);
        return finish_summary(&rs, 2);
    }
    if (!o->resume) {
        rs.detail = json_object();
        json_object_set_new(rs.detail, "pre_version", json_integer(p.flags_version));
        json_object_set(rs.detail, "pre_rps", json_object_get(p.flags, "rate_limit_rps"));
        json_object_set(rs.detail, "pre_burst", json_object_get(p.flags, "rate_limit_burst"));
        json_object_set(rs.detail, "pre_flux", json_object_get(p.flags, "enable_flux_queries"));
        json_object_set(rs.detail, "pre_failover", json_object_get(p.flags, "failover"));
        json_object_set_new(rs.detail, "backup", json_string(p.backup));
        if (o->db)
            json_object_set_new(rs.detail, "db", json_string(o->db));
        if (p.db[0])
            json_object_set_new(rs.detail, "probe_db", json_string(p.db));
        json_object_set(rs.detail, "pre_flags", p.flags);
        json_object_set_new(rs.detail, "dwell", json_real(o->dwell_s));
        json_t *body = json_pack("{s:s, s:s, s:O}", "action", "start", "kind", "rollback",
                                 "detail", rs.detail);
        long status;
        if (record_post(o, body, NULL, &status, eb) != 0) {
            fprintf(stderr, "volta rollback: cannot start the record: %s\n", eb);
            precheck_free(&p);
            return finish_summary(&rs, 1);
        }
        step_line(&rs, 0, "pre-checks", rs.t0, true, "record started");
    }
    int rc = run_steps(&rs, &p, first);
    if (rc == 0)
        say(o, "rollback done: reads are served by the backup %s; `volta validate` checks it, "
               "`volta rollforward` returns to the primary\n",
            p.backup);
    precheck_free(&p);
    return finish_summary(&rs, rc);
}

/* ---- rollforward --------------------------------------------------------------------------- */

int rollforward_run(const rollback_options *o)
{
    run_state rs = {.o = o, .summary = json_pack("{s:s, s:[]}", "kind", "rollforward", "steps"),
                    .t0 = mono_s(), .reads_s = -1};
    char eb[512], what[512];
    json_t *rec = NULL;
    if (record_get(o, &rec, eb) != 0) {
        fprintf(stderr, "volta rollforward: %s\n", eb);
        return finish_summary(&rs, 2);
    }
    bool running = rec && !strcmp(json_string_value(json_object_get(rec, "state")), "running");
    if (running && !o->dry_run) {
        fprintf(stderr, "volta rollforward: %s %lld is running (step %lld): finish it (--resume) "
                        "or end it (volta rollback --abort) first\n",
                json_string_value(json_object_get(rec, "kind")),
                (long long)json_integer_value(json_object_get(rec, "id")),
                (long long)json_integer_value(json_object_get(rec, "step")));
        json_decref(rec);
        return finish_summary(&rs, 1);
    }
    /* the values to return to: those the last rollback recorded, else leave them */
    json_t *pre = NULL;
    if (rec && !strcmp(json_string_value(json_object_get(rec, "kind")), "rollback"))
        pre = json_incref(json_object_get(rec, "detail"));
    json_decref(rec);
    precheck p;
    int prc = run_prechecks(o, "primary", &p, eb);
    if (prc != 0) {
        fprintf(stderr, "volta rollforward: pre-checks: %s\n", eb);
        precheck_free(&p);
        json_decref(pre);
        return finish_summary(&rs, prc);
    }
    print_prechecks(o, &p, "volta rollforward");
    /* the primary must be healthy and every backend caught up (bounded wait) */
    double deadline = mono_s() + o->catchup_s;
    char why_not[512] = "";
    for (;;) {
        why_not[0] = '\0';
        if (strcmp(p.primary, "available") != 0)
            snprintf(why_not, sizeof why_not, "the primary is %s (/health %ld)", p.primary,
                     p.health_status);
        json_t *arr = json_object_get(p.backends, "backends");
        for (size_t i = 0; !why_not[0] && i < json_array_size(arr); i++) {
            json_t *b = json_array_get(arr, i);
            long long lag = (long long)json_integer_value(json_object_get(b, "lag_records"));
            if (lag != 0 || json_is_true(json_object_get(b, "needs_resync")))
                snprintf(why_not, sizeof why_not, "backend %s is not caught up (%lld record(s)%s)",
                         json_string_value(json_object_get(b, "name")), lag,
                         json_is_true(json_object_get(b, "needs_resync")) ? ", needs resync" : "");
        }
        if (!why_not[0] || o->dry_run || mono_s() > deadline)
            break;
        sleep_s(0.2);
        precheck_free(&p);
        if (run_prechecks(o, "primary", &p, eb) != 0) {
            snprintf(why_not, sizeof why_not, "%s", eb);
            break;
        }
    }
    bool flux_pre = !pre || !json_is_boolean(json_object_get(pre, "pre_flux")) ||
                    json_is_true(json_object_get(pre, "pre_flux"));
    const char *failover_pre = pre ? detail_str(pre, "pre_failover") : NULL;
    if (o->dry_run) {
        say(o, "plan (--dry-run: nothing is changed)\n"
               "  step 1  read_backend=primary, enable_flux_queries=%s\n"
               "  step 2  failover back to %s\n"
               "  step 3  probe query answering 200 from the primary\n",
            flux_pre ? "true" : "false", failover_pre ? failover_pre : "(unchanged)");
        if (why_not[0])
            say(o, "  warning: not ready: %s\n", why_not);
        precheck_free(&p);
        json_decref(pre);
        return finish_summary(&rs, 0);
    }
    if (why_not[0]) {
        fprintf(stderr, "volta rollforward: not ready: %s (waited %g s); reads stay on the "
                        "backup\n",
                why_not, o->catchup_s);
        precheck_free(&p);
        json_decref(pre);
        return finish_summary(&rs, 1);
    }
    if (!ask(&rs, "Prosseguir com rollforward? (sim/nao) ")) {
        fprintf(stderr, "volta rollforward: not confirmed: nothing changed\n");
        precheck_free(&p);
        json_decref(pre);
        return finish_summary(&rs, 2);
    }
    long status;
    rs.detail = json_pack("{s:I}", "pre_version", (json_int_t)p.flags_version);
    if (record_post(o, json_pack("{s:s, s:s, s:O}", "action", "start", "kind", "rollforward",
                                 "detail", rs.detail),
                    NULL, &status, eb) != 0) {
        fprintf(stderr, "volta rollforward: cannot start the record: %s\n", eb);
        precheck_free(&p);
        json_decref(pre);
        return finish_summary(&rs, 1);
    }
    int step = 1, rc = 0;
    double t = mono_s();
    if (flags_set(o, json_pack("{s:s, s:b}", "read_backend", "primary", "enable_flux_queries",
                               flux_pre),
                  "rollforward step 1: reads back to the primary", NULL, eb) != 0)
        goto failed;
    rs.reads_s = mono_s() - rs.t0 - rs.prompt_s;
    record_step(o, 1, NULL, eb);
    snprintf(what, sizeof what, "read_backend=primary, enable_flux_queries=%s",
             flux_pre ? "true" : "false");
    step_line(&rs, 1, "reads to the primary", t, true, what);
    step = 2;
    t = mono_s();
    if (failover_pre &&
        flags_set(o, json_pack("{s:s}", "failover", failover_pre),
                  "rollforward step 2: failover back to its pre-rollback value", NULL, eb) != 0)
        goto failed;
    record_step(o, 2, NULL, eb);
    snprintf(what, sizeof what, "failover %s", failover_pre ? failover_pre : "unchanged");
    step_line(&rs, 2, "configuration", t, true, what);
    step = 3;
    t = mono_s();
    char how[256];
    if (probe_query(o, p.db[0] ? p.db : o->db, how, sizeof how, eb) != 0)
        goto failed;
    record_step(o, 3, NULL, eb);
    step_line(&rs, 3, "probe query", t, true, how);
    if (record_finish(o, "done", NULL, NULL, eb) != 0)
        goto failed;
    say(o, "rollforward done: reads are served by the primary\n");
    goto out;
failed:
    step_line(&rs, step, "failed", t, false, eb);
    record_finish(o, "fail", eb, NULL, what);
    fprintf(stderr, "volta rollforward: step %d failed: %s (the record is marked failed; "
                    "re-running volta rollforward is safe)\n",
            step, eb);
    rc = 1;
out:
    precheck_free(&p);
    json_decref(pre);
    return finish_summary(&rs, rc);
}
