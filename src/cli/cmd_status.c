/*
 * cli/cmd_status.c — `volta status`: the server summarised for a person, from /health (the
 * primary, each backup backend's state and lag, the landing zone), GET /api/v1/flags (read
 * backend, maintenance, rate limit), GET /api/v1/backends (backend health, where reads go,
 * errors in the last minute, query latency against its baseline) and GET /api/v1/rollback (the
 * latest rollback). The gateway's endpoints are optional: a server without them (or a key
 * without the admin scope) still gets the /health part. Exit 0 when everything is healthy
 * (status pass, every backend following), 1 otherwise.
 *
 * `--record-baseline` records the current query latency per class as the baseline the
 * failover trigger compares with (POST /api/v1/backends {"record_baseline":true}).
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_http.h"

static void status_usage(FILE *out)
{
    fprintf(out, "usage: volta status [--host URL] [--api-key KEY] [--json] [--record-baseline]\n"
                 "\n"
                 "Summarises the server: storage, journal, each backup backend (state, cursor,\n"
                 "lag in records and seconds, last error, health), the landing zone, the flags\n"
                 "(where reads go, maintenance, rate limit), the latest rollback, query latency\n"
                 "per class against its recorded baseline, and 5xx errors in the last minute.\n"
                 "\n"
                 "  --host URL          the server (default http://127.0.0.1:8086)\n"
                 "  --api-key KEY       an admin key (default: $VOLTA_API_KEY)\n"
                 "  --json              print /health's JSON as it is\n"
                 "  --record-baseline   record the current latency per query class as the\n"
                 "                      baseline (classes with at least 20 samples in the last\n"
                 "                      5 minutes), then print the status\n"
                 "\n"
                 "Exit status: 0 healthy; 1 unhealthy, unreachable or the baseline could not be\n"
                 "recorded; 2 bad usage.\n");
}

static long long geti(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static const char *gets_(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static double getr(json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

/* GET host+path as JSON, or NULL (not there, refused, not JSON). */
static json_t *status_get(const char *host, const char *path)
{
    char url[2048], errbuf[512];
    snprintf(url, sizeof url, "%s%s", host, path);
    vt_buf resp;
    vt_buf_init(&resp);
    long status = 0;
    json_t *j = NULL;
    if (cli_http("GET", url, NULL, 0, NULL, 30, &resp, &status, errbuf) == 0 && status == 200)
        j = json_loadb((const char *)resp.data, resp.len, 0, NULL);
    vt_buf_free(&resp);
    return j;
}

static void print_flags(json_t *fl)
{
    json_t *f = json_object_get(fl, "flags");
    if (!f)
        return;
    double rps = getr(f, "rate_limit_rps"), burst = getr(f, "rate_limit_burst");
    char rate[96];
    if (rps > 0)
        snprintf(rate, sizeof rate, "%g/s (burst %g)", rps, burst > 0 ? burst : (rps < 1 ? 1 : rps));
    else
        snprintf(rate, sizeof rate, "off");
    printf("  flags     reads from %s; maintenance %s; rate limit %s; flux %s; failover %s "
           "(version %lld)\n",
           gets_(f, "read_backend")[0] ? gets_(f, "read_backend") : "?",
           json_is_true(json_object_get(f, "enable_maintenance_mode")) ? "ON" : "off", rate,
           json_is_false(json_object_get(f, "enable_flux_queries")) ? "off" : "on",
           gets_(f, "failover")[0] ? gets_(f, "failover") : "off", geti(fl, "version"));
}

/* Backend health, latency and errors from GET /api/v1/backends. */
static void print_backends(json_t *bk)
{
    size_t i;
    json_t *b;
    const char *backup = gets_(bk, "backup");
    json_array_foreach(json_object_get(bk, "backends"), i, b)
    {
        bool healthy = json_is_true(json_object_get(b, "healthy"));
        printf("  health    %s: %s — %s%s\n", gets_(b, "name"), healthy ? "reachable" : "UNREACHABLE",
               gets_(b, healthy ? "detail" : "health_error"),
               strcmp(gets_(b, "name"), backup) == 0
                   ? (json_is_true(json_object_get(b, "reads")) ? " [serves reads]"
                                                                 : " [reads go here when "
                                                                   "read_backend=backup]")
                   : "");
    }
    if (!backup[0])
        printf("  health    no backup backend configured: read_backend=backup has nowhere to "
               "go\n");
    printf("  errors    %lld 5xx answers of data endpoints in the last minute\n",
           geti(bk, "errors_last_minute"));
    json_t *l;
    bool any = false;
    json_array_foreach(json_object_get(bk, "latency"), i, l)
    {
        long long n = geti(l, "samples");
        json_t *base = json_object_get(l, "baseline");
        if (n == 0 && !json_is_object(base))
            continue;
        any = true;
        printf("  latency   %-16s p50 %.1f ms, p95 %.1f ms (%lld samples)", gets_(l, "class"),
               getr(l, "p50_ms"), getr(l, "p95_ms"), n);
        if (json_is_object(base))
            printf("; baseline p95 %.1f ms -> %.0f%% of it\n", getr(base, "p95_ms"),
                   getr(l, "ratio_pct"));
        else
            printf("; no baseline (volta status --record-baseline)\n");
    }
    if (!any)
        printf("  latency   no queries in the last %lld s\n", geti(bk, "latency_window_seconds"));
}

static void print_rollback(json_t *rb)
{
    /* GET /api/v1/rollback: the record itself, or {"rollback": record} */
    json_t *r = json_object_get(rb, "rollback");
    if (!json_is_object(r))
        r = rb;
    const char *state = gets_(r, "state");
    if (!state[0]) {
        printf("  rollback  none recorded\n");
        return;
    }
    printf("  rollback  #%lld %s: %s, at step %lld", geti(r, "id"),
           gets_(r, "kind")[0] ? gets_(r, "kind") : "rollback", state, geti(r, "step"));
    if (gets_(r, "error")[0])
        printf(" — %s", gets_(r, "error"));
    printf("\n");
}

static int status_record_baseline(const char *host)
{
    char url[2048], errbuf[512];
    snprintf(url, sizeof url, "%s/api/v1/backends", host);
    static const char body[] = "{\"record_baseline\":true}";
    vt_buf resp;
    vt_buf_init(&resp);
    long status = 0;
    if (cli_http("POST", url, body, sizeof body - 1, "application/json", 30, &resp, &status,
                 errbuf) != 0) {
        printf("volta at %s: UNREACHABLE (%s)\n", host, errbuf);
        vt_buf_free(&resp);
        return 1;
    }
    json_t *j = json_loadb((const char *)resp.data, resp.len, 0, NULL);
    vt_buf_free(&resp);
    int rc = 0;
    if (status == 200 && j) {
        printf("baseline recorded for %lld query classes: %s\n", geti(j, "recorded"),
               gets_(j, "classes"));
    } else {
        fprintf(stderr, "volta status: cannot record the baseline: %s (HTTP %ld)\n",
                j ? gets_(j, "error") : "answer is not JSON", status);
        rc = 1;
    }
    json_decref(j);
    return rc;
}

int cmd_status(int argc, char **argv)
{
    const char *host = "http://127.0.0.1:8086";
    bool raw = false, record = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            status_usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--json") == 0) {
            raw = true;
        } else if (strcmp(argv[i], "--record-baseline") == 0) {
            record = true;
        } else if (strcmp(argv[i], "--host") == 0 && i + 1 < argc) {
            host = argv[++i];
        } else if (strcmp(argv[i], "--api-key") == 0 && i + 1 < argc) {
            setenv("VOLTA_API_KEY", argv[++i], 1); /* cli_http sends it */
        } else {
            fprintf(stderr, "volta status: unknown option or missing value: %s\n\n", argv[i]);
            status_usage(stderr);
            return 2;
        }
    }
    int baseline_rc = record ? status_record_baseline(host) : 0;
    char url[2048], errbuf[512];
    snprintf(url, sizeof url, "%s/health", host);
    vt_buf resp;
    vt_buf_init(&resp);
    long status = 0;
    if (cli_http("GET", url, NULL, 0, NULL, 30, &resp, &status, errbuf) != 0) {
        printf("volta at %s: UNREACHABLE (%s)\n", host, errbuf);
        vt_buf_free(&resp);
        return 1;
    }
    if (raw) {
        fwrite(resp.data, 1, resp.len, stdout);
        vt_buf_free(&resp);
        return status == 200 && baseline_rc == 0 ? 0 : 1;
    }
    json_t *h = json_loadb((const char *)resp.data, resp.len, 0, NULL);
    vt_buf_free(&resp);
    if (!h) {
        printf("volta at %s: answered %ld with a body that is not JSON\n", host, status);
        return 1;
    }
    bool healthy = status == 200 && strcmp(gets_(h, "status"), "pass") == 0;
    printf("volta at %s (%s): %s — %s\n", host, gets_(h, "version"),
           healthy ? "healthy" : "UNHEALTHY", gets_(h, "message"));
    json_t *p = json_object_get(h, "primary");
    if (p && geti(p, "journal_first_seq") == 0)
        printf("  primary   native   journal empty: every record up to seq %lld is in segment "
               "files\n", geti(p, "journal_last_seq"));
    else if (p)
        printf("  primary   native   journal holds seq %lld..%lld\n",
               geti(p, "journal_first_seq"), geti(p, "journal_last_seq"));
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(h, "backends"), i, b)
    {
        const char *state = gets_(b, "state");
        bool ok = strcmp(state, "following") == 0;
        healthy = healthy && ok;
        printf("  %-9s %-8s %-12s cursor %lld, lag %lld records / %.1f s, %lld applied, "
               "%lld failures\n",
               gets_(b, "name"), gets_(b, "type"), state, geti(b, "cursor"), geti(b, "lag_records"),
               json_real_value(json_object_get(b, "lag_seconds")), geti(b, "applied_records"),
               geti(b, "failures"));
        if (!ok && gets_(b, "last_error")[0])
            printf("            last error: %s\n", gets_(b, "last_error"));
        if (gets_(b, "resync_reason")[0])
            printf("            needs resync: %s\n", gets_(b, "resync_reason"));
    }
    json_t *l = json_object_get(h, "landing");
    if (l)
        printf("  landing   %s: %lld files; loaded %lld, reloaded %lld, refused %lld; rows %lld "
               "loaded, %lld rejected\n",
               gets_(l, "root"), geti(l, "files"), geti(l, "loaded"), geti(l, "reloaded"),
               geti(l, "failed"), geti(l, "rows_loaded"), geti(l, "rows_rejected"));
    json_decref(h);
    json_t *fl = status_get(host, "/api/v1/flags");
    if (fl)
        print_flags(fl);
    json_decref(fl);
    json_t *bk = status_get(host, "/api/v1/backends");
    if (bk)
        print_backends(bk);
    json_decref(bk);
    json_t *rb = status_get(host, "/api/v1/rollback");
    if (rb)
        print_rollback(rb);
    json_decref(rb);
    return healthy && baseline_rc == 0 ? 0 : 1;
}
