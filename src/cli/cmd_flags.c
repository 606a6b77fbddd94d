/*
 * cli/cmd_flags.c — `volta flags list|get|set|history|revert`: the feature flags
 * (gateway/flags.h, docs/GATEWAY.md), on a running server through /api/v1/flags (--host, the
 * default) or directly on a data directory's meta.db (--data). --data works while a server
 * runs on that directory: the server picks the change up within a second (it polls
 * control_gen every 200 ms).
 *
 * Both ways produce the same JSON documents (the server's answers; flags_to_json & co.
 * offline), which --json prints as they are and the text printers below read.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_http.h"
#include "gateway/flags.h"
#include "meta/meta.h"

#define FLAGS_DEFAULT_HOST "http://127.0.0.1:8086"
#define FLAGS_MAX_SET 16

static void flags_usage(FILE *out)
{
    fprintf(out,
            "usage: volta flags list                        [--host URL | --data DIR] [--json]\n"
            "       volta flags get NAME                    [--host URL | --data DIR] [--json]\n"
            "       volta flags set NAME=VALUE... [--why TEXT] [--host URL | --data DIR] [--json]\n"
            "       volta flags history [--limit N]         [--host URL | --data DIR] [--json]\n"
            "       volta flags revert VERSION [--why TEXT] [--host URL | --data DIR] [--json]\n"
            "\n"
            "Feature flags, versioned in meta.db: every `set` (one flag or several) is one\n"
            "version recorded with who, when and why; `revert N` writes the state at version N\n"
            "as a new version (0 = every flag at its default).\n"
            "\n"
            "  enable_maintenance_mode  bool    false    /write and /query answer 503\n"
            "  read_backend             enum    primary  primary | backup\n"
            "  enable_flux_queries      bool    true     false: /api/v2/query answers 403\n"
            "  rate_limit_rps           number  0        global requests/s; 0 = unlimited\n"
            "  rate_limit_burst         number  0        bucket size; 0 = max(1, rate)\n"
            "  failover                 enum    off      off | alert | auto\n"
            "  failover_unavailable_s   number  1800\n"
            "  failover_latency_pct     number  300\n"
            "\n"
            "  --host URL     the running server (default " FLAGS_DEFAULT_HOST ")\n"
            "  --data DIR     the data directory's meta.db (a server on it follows within 1 s)\n"
            "  --why TEXT     the reason, recorded in the history and the audit log\n"
            "  --limit N      history: the last N versions (default 20)\n"
            "  --json         print the JSON documents of the admin API\n"
            "  --api-key KEY  admin key (default $VOLTA_API_KEY)\n"
            "\n"
            "Exit status: 0 ok; 1 failed; 2 bad usage, invalid flag or value, server unreachable.\n");
}

typedef struct flags_cli {
    const char *host, *data, *why, *verb;
    bool json;
    long limit;
    const char *args[FLAGS_MAX_SET];
    size_t n_args;
} flags_cli;

/* ---- the two ways to get a document ---- */

/* One admin API call. *exit_code set when it returns NULL. */
static json_t *remote_call(const flags_cli *o, const char *method, const char *path, json_t *body,
                           int *exit_code)
{
    return cli_admin_json("flags", o->host, method, path, body, exit_code);
}

/* The operation on <data>/meta.db. */
static json_t *offline_call(const flags_cli *o, int *exit_code)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/meta.db", o->data);
    if (access(path, F_OK) != 0) {
        fprintf(stderr, "volta flags: %s: no meta.db (not a volta data directory?)\n", o->data);
        *exit_code = 2;
        return NULL;
    }
    vt_err err;
    vt_err_clear(&err);
    meta *m = NULL;
    flags *f = NULL;
    json_t *doc = NULL;
    char who[160];
    cli_user(who, sizeof who);
    vt_rc rc = meta_open(path, &m, &err);
    if (rc == VT_OK)
        rc = flags_open(m, &f, &err);
    if (rc == VT_OK && (strcmp(o->verb, "list") == 0 || strcmp(o->verb, "get") == 0)) {
        doc = flags_to_json(f);
    } else if (rc == VT_OK && strcmp(o->verb, "history") == 0) {
        flag_version *hist = NULL;
        size_t n = 0;
        rc = flags_history(f, (size_t)o->limit, &hist, &n, &err);
        if (rc == VT_OK)
            doc = flags_history_to_json(hist, n);
        free(hist);
    } else if (rc == VT_OK && strcmp(o->verb, "set") == 0) {
        const char *names[FLAGS_MAX_SET], *values[FLAGS_MAX_SET];
        char buf[FLAGS_MAX_SET][256];
        for (size_t i = 0; i < o->n_args; i++) {
            snprintf(buf[i], sizeof buf[i], "%s", o->args[i]);
            char *eq = strchr(buf[i], '=');
            *eq = 0;
            names[i] = buf[i];
            values[i] = eq + 1;
        }
        int64_t before = flags_version(f), version = 0;
        rc = flags_set(f, o->n_args, names, values, who, o->why ? o->why : "", &version, &err);
        if (rc == VT_OK)
            doc = flags_change_to_json(f, before, version);
    } else if (rc == VT_OK) { /* revert */
        int64_t before = flags_version(f), version = 0;
        rc = flags_revert(f, strtoll(o->args[0], NULL, 10), who, o->why ? o->why : "", &version,
                          &err);
        if (rc == VT_OK)
            doc = flags_change_to_json(f, before, version);
    }
    if (rc != VT_OK) {
        fprintf(stderr, "volta flags: %s\n", err.msg);
        *exit_code = rc == VT_EINVAL || (rc == VT_ENOTFOUND && strcmp(o->verb, "set") == 0) ? 2 : 1;
    } else if (!doc) {
        fprintf(stderr, "volta flags: out of memory\n");
        *exit_code = 1;
    }
    flags_close(f);
    meta_close(m);
    return doc;
}

static json_t *call(const flags_cli *o, int *exit_code)
{
    if (o->data)
        return offline_call(o, exit_code);
    char who[160];
    cli_user(who, sizeof who);
    if (strcmp(o->verb, "list") == 0 || strcmp(o->verb, "get") == 0)
        return remote_call(o, "GET", "/api/v1/flags", NULL, exit_code);
    if (strcmp(o->verb, "history") == 0) {
        char path[64];
        snprintf(path, sizeof path, "/api/v1/flags/history?limit=%ld", o->limit);
        return remote_call(o, "GET", path, NULL, exit_code);
    }
    json_t *body = json_object(), *doc;
    json_object_set_new(body, "who", json_string(who));
    json_object_set_new(body, "why", json_string(o->why ? o->why : ""));
    if (strcmp(o->verb, "set") == 0) {
        json_t *set = json_object();
        for (size_t i = 0; i < o->n_args; i++) {
            const char *eq = strchr(o->args[i], '=');
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)(eq - o->args[i]), o->args[i]);
            json_object_set_new(set, name, json_string(eq + 1));
        }
        json_object_set_new(body, "set", set);
        doc = remote_call(o, "POST", "/api/v1/flags", body, exit_code);
    } else {
        json_object_set_new(body, "version", json_integer(strtoll(o->args[0], NULL, 10)));
        doc = remote_call(o, "POST", "/api/v1/flags/revert", body, exit_code);
    }
    json_decref(body);
    return doc;
}

/* ---- printing ---- */

static void value_text(json_t *v, char *out, size_t cap)
{
    if (json_is_string(v))
        snprintf(out, cap, "%s", json_string_value(v));
    else if (json_is_boolean(v))
        snprintf(out, cap, "%s", json_is_true(v) ? "true" : "false");
    else if (json_is_integer(v))
        snprintf(out, cap, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(out, cap, "%g", json_real_value(v));
    else
        snprintf(out, cap, "?");
}

static void print_dump(json_t *doc)
{
    char *s = json_dumps(doc, JSON_COMPACT);
    if (s)
        printf("%s\n", s);
    free(s);
}

static int print_doc(const flags_cli *o, json_t *doc)
{
    const char *verb = o->verb;
    if (strcmp(verb, "get") == 0) {
        json_t *v = json_object_get(json_object_get(doc, "flags"), o->args[0]);
        if (!v) {
            vt_err err;
            flag_id id = FLAG_COUNT;
            flag_by_name(o->args[0], &id, &err);
            fprintf(stderr, "volta flags: %s\n", err.msg);
            return 2;
        }
        char text[128];
        value_text(v, text, sizeof text);
        if (o->json) {
            json_t *one = json_pack("{s:s, s:O, s:I}", "name", o->args[0], "value", v, "version",
                                    json_integer_value(json_object_get(doc, "version")));
            print_dump(one);
            json_decref(one);
        } else {
            printf("%s\n", text);
        }
        return 0;
    }
    if (o->json) {
        print_dump(doc);
        return 0;
    }
    if (strcmp(verb, "list") == 0) {
        printf("flags version %lld\n", (long long)json_integer_value(json_object_get(doc, "version")));
        for (int i = 0; i < FLAG_COUNT; i++) {
            const char *name = flag_name((flag_id)i);
            char text[128];
            value_text(json_object_get(json_object_get(doc, "flags"), name), text, sizeof text);
            const char *def = flag_default((flag_id)i);
            if (strcmp(text, def) == 0)
                printf("%-26s %s\n", name, text);
            else
                printf("%-26s %-10s (default %s)\n", name, text, def);
        }
        return 0;
    }
    if (strcmp(verb, "history") == 0) {
        json_t *arr = json_object_get(doc, "versions");
        if (json_array_size(arr) == 0)
            printf("no flag was ever changed (every flag has its default)\n");
        for (size_t i = 0; i < json_array_size(arr); i++) {
            json_t *v = json_array_get(arr, i);
            const char *why = json_string_value(json_object_get(v, "why"));
            printf("version %lld  %s  %s%s%s\n",
                   (long long)json_integer_value(json_object_get(v, "version")),
                   json_string_value(json_object_get(v, "at")),
                   json_string_value(json_object_get(v, "who")), why && why[0] ? "  why: " : "",
                   why ? why : "");
            json_t *ch = json_object_get(v, "changes");
            for (size_t c = 0; c < json_array_size(ch); c++) {
                json_t *x = json_array_get(ch, c);
                const char *old = json_string_value(json_object_get(x, "old"));
                printf("    %s: %s -> %s\n", json_string_value(json_object_get(x, "name")),
                       old && old[0] ? old : "(default)",
                       json_string_value(json_object_get(x, "new")));
            }
        }
        return 0;
    }
    /* set, revert */
    json_t *changed = json_object_get(doc, "changed");
    long long version = (long long)json_integer_value(json_object_get(doc, "version"));
    if (json_array_size(changed) == 0) {
        printf("no change (flags version %lld)\n", version);
        return 0;
    }
    printf("flags version %lld:", version);
    for (size_t i = 0; i < json_array_size(changed); i++)
        printf("%s %s", i ? "," : "", json_string_value(json_array_get(changed, i)));
    printf("\n");
    return 0;
}

int cmd_flags(int argc, char **argv)
{
    flags_cli o = {.limit = 20};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            flags_usage(stdout);
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
        } else if (strcmp(a, "--api-key") == 0 && has) {
            setenv("VOLTA_API_KEY", argv[++i], 1);
        } else if (strcmp(a, "--limit") == 0 && has) {
            char *end = NULL;
            o.limit = strtol(argv[++i], &end, 10);
            if (!end || *end || o.limit < 1 || o.limit > 10000) {
                fprintf(stderr, "volta flags: --limit: a number from 1 to 10000, not '%s'\n\n",
                        argv[i]);
                return 2;
            }
        } else if (a[0] == '-' && a[1] != 0 && !(a[1] >= '0' && a[1] <= '9')) {
            fprintf(stderr, "volta flags: unknown option or missing value: %s\n\n", a);
            flags_usage(stderr);
            return 2;
        } else if (!o.verb) {
            o.verb = a;
        } else if (o.n_args < FLAGS_MAX_SET) {
            o.args[o.n_args++] = a;
        } else {
            fprintf(stderr, "volta flags: too many arguments (at most %d)\n", FLAGS_MAX_SET);
            return 2;
        }
    }
    const char *problem = NULL;
    if (!o.verb)
        problem = "expected list, get, set, history or revert";
    else if (strcmp(o.verb, "list") == 0 || strcmp(o.verb, "history") == 0)
        problem = o.n_args ? "takes no argument" : NULL;
    else if (strcmp(o.verb, "get") == 0)
        problem = o.n_args != 1 ? "get takes one flag name" : NULL;
    else if (strcmp(o.verb, "set") == 0) {
        problem = o.n_args == 0 ? "set takes NAME=VALUE arguments" : NULL;
        for (size_t i = 0; i < o.n_args && !problem; i++)
            if (!strchr(o.args[i], '=') || o.args[i][0] == '=')
                problem = "set takes NAME=VALUE arguments (e.g. enable_maintenance_mode=true)";
    } else if (strcmp(o.verb, "revert") == 0) {
        char *end = NULL;
        long long v = o.n_args == 1 ? strtoll(o.args[0], &end, 10) : -1;
        problem = o.n_args != 1 || !end || *end || v < 0
                      ? "revert takes one version number (0 = the defaults)"
                      : NULL;
    } else
        problem = "expected list, get, set, history or revert";
    if (!problem && o.host && o.data)
        problem = "--host and --data exclude each other";
    if (problem) {
        fprintf(stderr, "volta flags: %s\n\n", problem);
        flags_usage(stderr);
        return 2;
    }
    if (!o.host)
        o.host = FLAGS_DEFAULT_HOST;
    int exit_code = 1;
    json_t *doc = call(&o, &exit_code);
    if (!doc)
        return exit_code;
    int r = print_doc(&o, doc);
    json_decref(doc);
    return r;
}
