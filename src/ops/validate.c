/*
 * ops/validate.c — `volta validate` (contract: ops/validate.h). Every item is read-only and
 * independent: one failing never stops the others, so the operator sees the whole list.
 */
#include "ops/validate.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

typedef struct checklist {
    json_t *items; /* [{"item","ok","detail"}] */
    unsigned failures;
} checklist;

static void item(checklist *c, const char *name, bool ok, const char *detail)
{
    json_array_append_new(c->items, json_pack("{s:s, s:b, s:s}", "item", name, "ok", ok,
                                              "detail", detail));
    c->failures += !ok;
}

int validate_run(const ops_api *api, const char *db, bool json, FILE *out)
{
    checklist c = {.items = json_array()};
    char eb[512], d[768];
    long hs = 0;
    json_t *health = NULL;
    bool reachable = ops_api_call(api, "GET", "/health", NULL, &hs, &health, eb) == 0;
    if (!reachable) {
        fprintf(stderr, "volta validate: %s\n", eb);
        json_decref(c.items);
        return 2;
    }

    /* processors active: the server answers and every applier follows the journal */
    json_t *backends = json_object_get(health, "backends");
    char bad[512] = "";
    size_t following = 0;
    for (size_t i = 0; i < json_array_size(backends); i++) {
        json_t *b = json_array_get(backends, i);
        const char *st = json_string_value(json_object_get(b, "state"));
        if (st && (!strcmp(st, "following") || !strcmp(st, "starting")))
            following++;
        else {
            size_t l = strlen(bad);
            snprintf(bad + l, sizeof bad - l, "%s%s %s", l ? ", " : "",
                     json_string_value(json_object_get(b, "name")), st ? st : "?");
        }
    }
    if (hs != 200)
        snprintf(d, sizeof d, "/health answered %ld", hs);
    else if (bad[0])
        snprintf(d, sizeof d, "applier(s) not following: %s", bad);
    else
        snprintf(d, sizeof d, "server up, %zu applier(s) following", following);
    item(&c, "processors active", hs == 200 && !bad[0], d);

    /* backup store reachable: the SELECT 1 of the runbook */
    json_t *doc = NULL;
    long st = 0;
    json_t *body = json_pack("{s:s, s:s}", "backend", "backup", "q", "SHOW DATABASES");
    int rc = ops_api_call(api, "POST", "/api/v1/backends/query", body, &st, &doc, eb);
    json_decref(body);
    const char *qerr = json_string_value(
        json_object_get(json_array_get(json_object_get(doc, "results"), 0), "error"));
    if (rc == 0 && st == 200 && !qerr)
        snprintf(d, sizeof d, "SHOW DATABASES answered");
    else
        snprintf(d, sizeof d, "%s", rc != 0 || st != 200 ? eb : qerr);
    item(&c, "backup store reachable", rc == 0 && st == 200 && !qerr, d);
    json_decref(doc);

    /* API health */
    snprintf(d, sizeof d, "GET /health %ld (%s)", hs,
             json_string_value(json_object_get(health, "status"))
                 ? json_string_value(json_object_get(health, "status"))
                 : "?");
    item(&c, "API health", hs == 200, d);
    json_decref(health);

    /* flags: where reads go, maintenance */
    json_t *fdoc = NULL;
    long fs = 0;
    rc = ops_api_call(api, "GET", "/api/v1/flags", NULL, &fs, &fdoc, eb);
    json_t *flags = json_object_get(fdoc, "flags");
    bool flags_ok = rc == 0 && fs == 200 && json_is_object(flags);
    const char *rb = flags_ok ? json_string_value(json_object_get(flags, "read_backend")) : NULL;
    if (!rb)
        rb = "primary";

    /* recent data on the backend reads go to */
    unsigned long long count = 0;
    long long max_ns = 0;
    char used[128];
    char feb[512];
    if (ops_backend_freshness(api, rb, db, "1h", &count, &max_ns, used, sizeof used, feb) != 0)
        snprintf(d, sizeof d, "reads go to %s: %s", rb, feb);
    else
        snprintf(d, sizeof d, "%llu point(s) in the last hour on %s%s%s", count, rb,
                 used[0] ? ", db " : "", used);
    item(&c, "recent data", count > 0, d);

    /* maintenance mode off */
    bool maint = flags_ok && json_is_true(json_object_get(flags, "enable_maintenance_mode"));
    if (!flags_ok)
        snprintf(d, sizeof d, "cannot read the flags: %s", eb);
    else
        snprintf(d, sizeof d, "enable_maintenance_mode=%s", maint ? "true" : "false");
    item(&c, "maintenance mode off", flags_ok && !maint, d);
    json_decref(fdoc);

    if (json) {
        json_t *r = json_pack("{s:O, s:i, s:b}", "items", c.items, "failures", (int)c.failures,
                              "ok", c.failures == 0);
        json_dumpf(r, out, JSON_COMPACT);
        fputc('\n', out);
        json_decref(r);
    } else {
        for (size_t i = 0; i < json_array_size(c.items); i++) {
            json_t *it = json_array_get(c.items, i);
            fprintf(out, "%s %s - %s\n", json_is_true(json_object_get(it, "ok")) ? "✓" : "✗",
                    json_string_value(json_object_get(it, "item")),
                    json_string_value(json_object_get(it, "detail")));
        }
        fprintf(out, "%u falha(s)\n", c.failures);
    }
    json_decref(c.items);
    return c.failures ? 1 : 0;
}
