/*
 * cli/cmd_ratelimit.c — `volta ratelimit show|set`: the global rate limit of the data
 * endpoints (the rate_limit_rps / rate_limit_burst flags, so every change is a flags version:
 * `volta flags history` shows it, `volta flags revert` undoes it) and one API key's own rate
 * (gateway/auth.h). Through /api/v1/ratelimit (--host, the default) or on a data directory's
 * meta.db (--data; a server running on it follows within a second).
 */
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_http.h"
#include "gateway/auth.h"
#include "gateway/flags.h"
#include "meta/meta.h"

#define RL_DEFAULT_HOST "http://127.0.0.1:8086"

static void ratelimit_usage(FILE *out)
{
    fprintf(out,
            "usage: volta ratelimit show [--host URL | --data DIR] [--json]\n"
            "       volta ratelimit set RATE [--burst N] [--key ID] [--why TEXT]\n"
            "                                [--host URL | --data DIR] [--json]\n"
            "\n"
            "Token-bucket rate limits of the data endpoints (/write, /query, /api/v2/*). Over the\n"
            "limit a request answers 429 with Retry-After. RATE is N/s, N (per second) or off.\n"
            "Without --key it sets the global limit (flags rate_limit_rps and rate_limit_burst:\n"
            "a flags version, see `volta flags history`); with --key, that API key's own limit.\n"
            "\n"
            "  --burst N      bucket size (default max(1, rate)); global limit only\n"
            "  --key ID       an API key's id (see `volta keys list`)\n"
            "  --why TEXT     the reason, recorded in the history and the audit log\n"
            "  --host URL     the running server (default " RL_DEFAULT_HOST ")\n"
            "  --data DIR     the data directory's meta.db (a server on it follows within 1 s)\n"
            "  --json         print JSON\n"
            "  --api-key KEY  admin key (default $VOLTA_API_KEY)\n"
            "\n"
            "Exit status: 0 ok; 1 failed; 2 bad usage or server unreachable.\n");
}

typedef struct rl_cli {
    const char *host, *data, *why, *key;
    bool json, set, has_burst;
    double rps, burst;
} rl_cli;

static bool parse_rate(const char *s, double *out)
{
    if (strcasecmp(s, "off") == 0 || strcasecmp(s, "0") == 0) {
        *out = 0;
        return true;
    }
    char *end = NULL;
    double v = strtod(s, &end);
    if (!end || end == s || !isfinite(v) || v < 0)
        return false;
    if (*end && strcmp(end, "/s") != 0)
        return false;
    *out = v;
    return true;
}

static json_t *number_json(double d)
{
    return d == floor(d) && d < 9e15 ? json_integer((json_int_t)d) : json_real(d);
}

static json_t *remote(const rl_cli *o, int *exit_code)
{
    if (!o->set)
        return cli_admin_json("ratelimit", o->host, "GET", "/api/v1/ratelimit", NULL, exit_code);
    char who[160];
    cli_user(who, sizeof who);
    json_t *body = json_pack("{s:o, s:s, s:s}", "rps", number_json(o->rps), "who", who, "why",
                             o->why ? o->why : "");
    if (body && o->has_burst)
        json_object_set_new(body, "burst", number_json(o->burst));
    if (body && o->key)
        json_object_set_new(body, "key", json_string(o->key));
    json_t *doc = cli_admin_json("ratelimit", o->host, "POST", "/api/v1/ratelimit", body, exit_code);
    json_decref(body);
    return doc;
}

static json_t *offline(const rl_cli *o, int *exit_code)
{
    char path[4200], who[160];
    snprintf(path, sizeof path, "%s/meta.db", o->data);
    if (access(path, F_OK) != 0) {
        fprintf(stderr, "volta ratelimit: %s: no meta.db (not a volta data directory?)\n",
                o->data);
        *exit_code = 2;
        return NULL;
    }
    cli_user(who, sizeof who);
    vt_err err;
    vt_err_clear(&err);
    meta *m = NULL;
    flags *f = NULL;
    json_t *doc = NULL;
    vt_rc rc = meta_open(path, &m, &err);
    if (rc == VT_OK && o->set && o->key) {
        rc = auth_key_set_rate(m, o->key, o->rps, who, &err);
        if (rc == VT_OK)
            doc = json_pack("{s:s, s:o}", "key", o->key, "rps", number_json(o->rps));
    } else if (rc == VT_OK) {
        rc = flags_open(m, &f, &err);
        if (rc == VT_OK && o->set) {
            char rps[64], burst[64];
            snprintf(rps, sizeof rps, "%.17g", o->rps);
            snprintf(burst, sizeof burst, "%.17g", o->burst);
            const char *names[] = {"rate_limit_rps", "rate_limit_burst"};
            const char *values[] = {rps, burst};
            int64_t before = flags_version(f), version = 0;
            rc = flags_set(f, o->has_burst ? 2 : 1, names, values, who, o->why ? o->why : "",
                           &version, &err);
            if (rc == VT_OK)
                doc = flags_change_to_json(f, before, version);
        } else if (rc == VT_OK) {
            doc = json_pack("{s:{s:o, s:o}}", "global", "rps",
                            number_json(flags_rate_limit_rps(f)), "burst",
                            number_json(flags_rate_limit_burst(f)));
        }
    }
    if (rc != VT_OK) {
        fprintf(stderr, "volta ratelimit: %s\n", err.msg);
        *exit_code = rc == VT_EINVAL ? 2 : 1;
    }
    flags_close(f);
    meta_close(m);
    return doc;
}

static void print_text(const rl_cli *o, json_t *doc)
{
    if (o->set && o->key) {
        double r = json_number_value(json_object_get(doc, "rps"));
        if (r > 0)
            printf("key %s: %g/s\n", o->key, r);
        else
            printf("key %s: no own rate limit\n", o->key);
        return;
    }
    if (o->set) {
        json_t *changed = json_object_get(doc, "changed");
        long long v = (long long)json_integer_value(json_object_get(doc, "version"));
        if (json_array_size(changed) == 0)
            printf("no change (flags version %lld)\n", v);
        else if (o->rps > 0)
            printf("global rate limit %g/s (flags version %lld)\n", o->rps, v);
        else
            printf("global rate limit off (flags version %lld)\n", v);
        return;
    }
    json_t *g = json_object_get(doc, "global");
    double rps = json_number_value(json_object_get(g, "rps"));
    double burst = json_number_value(json_object_get(g, "burst"));
    if (rps > 0)
        printf("global: %g/s, burst %g\n", rps, burst > 0 ? burst : (rps < 1 ? 1 : rps));
    else
        printf("global: off (unlimited)\n");
    json_t *refused = json_object_get(doc, "refused_total");
    if (refused)
        printf("refused since the server started: %lld\n",
               (long long)json_integer_value(refused));
}

int cmd_ratelimit(int argc, char **argv)
{
    rl_cli o = {0};
    const char *verb = NULL, *rate = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            ratelimit_usage(stdout);
            return 0;
        }
        if (strcmp(a, "--json") == 0) {
            o.json = true;
        } else if (strcmp(a, "--host") == 0 && has) {
            o.host = argv[++i];
        } else if (strcmp(a, "--data") == 0 && has) {
            o.data = argv[++i];
        } else if (strcmp(a, "--why") == 0 && has) {
            o.why = argv[++i];
        } else if (strcmp(a, "--key") == 0 && has) {
            o.key = argv[++i];
        } else if (strcmp(a, "--api-key") == 0 && has) {
            setenv("VOLTA_API_KEY", argv[++i], 1);
        } else if (strcmp(a, "--burst") == 0 && has) {
            char *end = NULL;
            o.burst = strtod(argv[++i], &end);
            o.has_burst = true;
            if (!end || *end || !isfinite(o.burst) || o.burst < 0) {
                fprintf(stderr, "volta ratelimit: --burst: a number >= 0, not '%s'\n", argv[i]);
                return 2;
            }
        } else if (a[0] == '-') {
            fprintf(stderr, "volta ratelimit: unknown option or missing value: %s\n\n", a);
            ratelimit_usage(stderr);
            return 2;
        } else if (!verb) {
            verb = a;
        } else if (!rate) {
            rate = a;
        } else {
            fprintf(stderr, "volta ratelimit: unexpected argument '%s'\n\n", a);
            ratelimit_usage(stderr);
            return 2;
        }
    }
    const char *problem = NULL;
    if (!verb || (strcmp(verb, "show") != 0 && strcmp(verb, "set") != 0))
        problem = "expected show or set";
    else if (strcmp(verb, "show") == 0 && (rate || o.key || o.has_burst))
        problem = "show takes no argument";
    else if (strcmp(verb, "set") == 0 && (!rate || !parse_rate(rate, &o.rps)))
        problem = "set takes a rate: N/s, N or off (e.g. 100/s)";
    else if (o.key && o.has_burst)
        problem = "--burst applies to the global limit only (a key's burst is max(1, rate))";
    else if (o.host && o.data)
        problem = "--host and --data exclude each other";
    if (problem) {
        fprintf(stderr, "volta ratelimit: %s\n\n", problem);
        ratelimit_usage(stderr);
        return 2;
    }
    o.set = strcmp(verb, "set") == 0;
    if (!o.host)
        o.host = RL_DEFAULT_HOST;
    int exit_code = 1;
    json_t *doc = o.data ? offline(&o, &exit_code) : remote(&o, &exit_code);
    if (!doc)
        return exit_code;
    if (o.json) {
        char *s = json_dumps(doc, JSON_COMPACT);
        if (s)
            printf("%s\n", s);
        free(s);
    } else {
        print_text(&o, doc);
    }
    json_decref(doc);
    return 0;
}
