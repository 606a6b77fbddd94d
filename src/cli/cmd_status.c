/*
 * cli/cmd_status.c — `volta status`: the server's /health, summarised for a person: the
 * primary, each backup backend's state and lag, the landing zone. Exit 0 when everything is
 * healthy (status pass, every backend following), 1 otherwise.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_http.h"

static void status_usage(FILE *out)
{
    fprintf(out, "usage: volta status [--host URL] [--json]\n"
                 "\n"
                 "Summarises the server's health: storage, journal, each backup backend (state,\n"
                 "cursor, lag in records and seconds, last error) and the landing zone.\n"
                 "\n"
                 "  --host URL  the server (default http://127.0.0.1:8086)\n"
                 "  --json      print /health's JSON as it is\n"
                 "\n"
                 "Exit status: 0 healthy; 1 unhealthy or unreachable; 2 bad usage.\n");
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

int cmd_status(int argc, char **argv)
{
    const char *host = "http://127.0.0.1:8086";
    bool raw = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            status_usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--json") == 0) {
            raw = true;
        } else if (strcmp(argv[i], "--host") == 0 && i + 1 < argc) {
            host = argv[++i];
        } else {
            fprintf(stderr, "volta status: unknown option or missing value: %s\n\n", argv[i]);
            status_usage(stderr);
            return 2;
        }
    }
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
        return status == 200 ? 0 : 1;
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
    return healthy ? 0 : 1;
}
