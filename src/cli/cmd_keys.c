/*
 * cli/cmd_keys.c — `volta keys create|list|revoke`: API keys (docs/AUTH.md), on a running
 * server through /api/v1/keys (--host, the default; needs an admin key in $VOLTA_API_KEY or
 * --api-key once any key exists) or directly on a data directory's meta.db (--data: works while
 * a server runs on it — the server picks the change up within 1 s — and is how an operator
 * creates the first key).
 *
 * Both ways produce the same JSON documents as the admin API; --json prints them, otherwise a
 * table. `create` prints the key alone on stdout (so KEY=$(volta keys create ...) works) and the
 * warning to store it on stderr: the key is shown this once and never again.
 */
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_http.h"
#include "gateway/auth.h"
#include "meta/meta.h"

#define KEYS_DEFAULT_HOST "http://127.0.0.1:8086"

typedef struct keys_cli {
    const char *verb, *id;
    const char *host, *data;
    const char *name, *scope, *db;
    double rps;
    bool json;
} keys_cli;

static void keys_usage(FILE *out)
{
    fprintf(out,
            "usage: volta keys create [--name N] [--scope read|write|admin] [--db DB] [--rps N]\n"
            "                         [--host URL | --data DIR] [--json]\n"
            "       volta keys list   [--host URL | --data DIR] [--json]\n"
            "       volta keys revoke ID [--host URL | --data DIR] [--json]\n"
            "\n"
            "API keys \"vk_<id>_<secret>\". meta.db keeps only a hash of the secret: `create`\n"
            "shows the key once (alone on stdout; the warning goes to stderr). While no key\n"
            "exists the server is in protected mode (only loopback clients are served): create\n"
            "the first one with --data on the server's data directory.\n"
            "\n"
            "  --name N       a label (default \"\")\n"
            "  --scope S      read, write or admin (default read); admin implies write implies\n"
            "                 read\n"
            "  --db DB        limit the key to one database (not with admin)\n"
            "  --rps N        the key's own rate limit in requests per second (default 0 = none)\n"
            "  --host URL     the running server (default " KEYS_DEFAULT_HOST ")\n"
            "  --data DIR     the data directory's meta.db (a server on it follows within 1 s)\n"
            "  --api-key KEY  admin key for --host (default $VOLTA_API_KEY)\n"
            "  --json         print the JSON documents of the admin API\n"
            "\n"
            "Exit status: 0 ok; 1 failed (unknown key id, server refused); 2 bad usage or\n"
            "could not run.\n");
}

static json_t *time_json(int64_t ns)
{
    if (ns <= 0)
        return json_string("");
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char s[40];
    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(s);
}

/* The admin API's document of one key (handlers_keys.c). */
static json_t *key_json(const auth_key_info *k)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:f,s:o,s:s,s:o,s:o,s:b}", "id", k->id, "name", k->name,
                     "scope", auth_scope_name(k->scope), "db", k->db, "rps", k->rate_rps,
                     "created_at", time_json(k->created_at), "created_by", k->created_by,
                     "revoked_at", time_json(k->revoked_at), "last_used_at",
                     time_json(k->last_used_at), "active", k->revoked_at == 0);
}

/* ---- the two ways to get a document ---- */

static json_t *remote_call(const keys_cli *o, int *exit_code)
{
    if (strcmp(o->verb, "create") == 0) {
        json_t *body = json_pack("{s:s,s:s,s:s,s:f}", "name", o->name ? o->name : "", "scope",
                                 o->scope ? o->scope : "read", "db", o->db ? o->db : "", "rps",
                                 o->rps);
        json_t *doc = cli_admin_json("keys", o->host, "POST", "/api/v1/keys", body, exit_code);
        json_decref(body);
        return doc;
    }
    if (strcmp(o->verb, "revoke") != 0)
        return cli_admin_json("keys", o->host, "GET", "/api/v1/keys", NULL, exit_code);
    /* ?id=<the id, percent-encoded> */
    char path[512];
    size_t k = (size_t)snprintf(path, sizeof path, "/api/v1/keys?id=");
    for (const unsigned char *c = (const unsigned char *)o->id; *c && k + 4 < sizeof path; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            *c == '-' || *c == '_' || *c == '.')
            path[k++] = (char)*c;
        else
            k += (size_t)snprintf(path + k, sizeof path - k, "%%%02X", *c);
    }
    path[k] = '\0';
    return cli_admin_json("keys", o->host, "DELETE", path, NULL, exit_code);
}

static json_t *offline_call(const keys_cli *o, int *exit_code)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/meta.db", o->data);
    if (access(path, F_OK) != 0) {
        fprintf(stderr,
                "volta keys: %s: no meta.db (not a volta data directory? `volta serve --data "
                "%s` creates it)\n",
                o->data, o->data);
        *exit_code = 2;
        return NULL;
    }
    vt_err err;
    vt_err_clear(&err);
    meta *m = NULL;
    json_t *doc = NULL;
    char who[160];
    cli_user(who, sizeof who);
    vt_rc rc = meta_open(path, &m, &err);
    if (rc == VT_OK && strcmp(o->verb, "create") == 0) {
        auth_scope scope = AUTH_READ;
        rc = auth_scope_parse(o->scope ? o->scope : "read", &scope, &err);
        char key[128];
        auth_key_info info;
        if (rc == VT_OK)
            rc = auth_key_create(m, o->name, scope, o->db, o->rps, who, key, sizeof key, &info,
                                 &err);
        if (rc == VT_OK) {
            doc = key_json(&info);
            json_object_set_new(doc, "key", json_string(key));
        }
        memset(key, 0, sizeof key);
    } else if (rc == VT_OK && strcmp(o->verb, "revoke") == 0) {
        rc = auth_key_revoke(m, o->id, who, &err);
        if (rc == VT_OK)
            doc = json_pack("{s:s,s:b}", "id", o->id, "revoked", 1);
    } else if (rc == VT_OK) {
        auth_key_info *keys = NULL;
        size_t n = 0;
        rc = auth_key_list(m, &keys, &n, &err);
        json_t *arr = rc == VT_OK ? json_array() : NULL;
        for (size_t i = 0; arr && i < n; i++)
            json_array_append_new(arr, key_json(&keys[i]));
        free(keys);
        if (arr)
            doc = json_pack("{s:o}", "keys", arr);
    }
    meta_close(m);
    if (rc != VT_OK) {
        fprintf(stderr, "volta keys: %s\n", err.msg[0] ? err.msg : vt_rc_name(rc));
        *exit_code = rc == VT_EINVAL ? 2 : 1;
        json_decref(doc);
        return NULL;
    }
    if (!doc) {
        fprintf(stderr, "volta keys: out of memory\n");
        *exit_code = 1;
    }
    return doc;
}

/* ---- printing ---- */

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static void print_created(json_t *doc)
{
    const char *db = str(doc, "db");
    double rps = json_number_value(json_object_get(doc, "rps"));
    fprintf(stderr, "created API key %s (scope %s, %s%s", str(doc, "id"), str(doc, "scope"),
            db[0] ? "database " : "every database", db);
    if (rps > 0)
        fprintf(stderr, ", %g requests/s", rps);
    fprintf(stderr, ")\n");
    fflush(stderr);
    printf("%s\n", str(doc, "key"));
    fflush(stdout);
    fprintf(stderr,
            "Store this key now: it is shown only once and cannot be recovered (meta.db keeps\n"
            "only its hash). Send it as `x-api-key: <key>`, `Authorization: Token <key>`,\n"
            "basic auth with the key as password (influx -username any -password <key>), or\n"
            "the v1 parameter p=<key>; operator commands read it from $VOLTA_API_KEY.\n");
}

static void print_list(json_t *doc)
{
    json_t *arr = json_object_get(doc, "keys");
    if (json_array_size(arr) == 0) {
        printf("no API keys (the server is in protected mode: loopback clients only)\n");
        return;
    }
    printf("%-12s  %-5s  %-16s  %8s  %-20s  %-20s  %-7s  %s\n", "ID", "SCOPE", "DATABASE", "RPS",
           "CREATED", "LAST USED", "STATE", "NAME");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *k = json_array_get(arr, i);
        const char *db = str(k, "db"), *used = str(k, "last_used_at");
        char rps[32];
        double r = json_number_value(json_object_get(k, "rps"));
        snprintf(rps, sizeof rps, r > 0 ? "%g" : "-", r);
        printf("%-12s  %-5s  %-16s  %8s  %-20s  %-20s  %-7s  %s\n", str(k, "id"), str(k, "scope"),
               db[0] ? db : "*", rps, str(k, "created_at"), used[0] ? used : "never",
               json_is_true(json_object_get(k, "active")) ? "active" : "revoked", str(k, "name"));
    }
}

int cmd_keys(int argc, char **argv)
{
    keys_cli o = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            keys_usage(stdout);
            return 0;
        }
        if (strcmp(a, "--json") == 0) {
            o.json = true;
        } else if (strcmp(a, "--host") == 0 && has) {
            o.host = argv[++i];
        } else if (strcmp(a, "--data") == 0 && has) {
            o.data = argv[++i];
        } else if (strcmp(a, "--name") == 0 && has) {
            o.name = argv[++i];
        } else if (strcmp(a, "--scope") == 0 && has) {
            o.scope = argv[++i];
        } else if (strcmp(a, "--db") == 0 && has) {
            o.db = argv[++i];
        } else if (strcmp(a, "--api-key") == 0 && has) {
            setenv("VOLTA_API_KEY", argv[++i], 1);
        } else if (strcmp(a, "--rps") == 0 && has) {
            char *end = NULL;
            o.rps = strtod(argv[++i], &end);
            if (!end || *end || !isfinite(o.rps) || o.rps < 0) {
                fprintf(stderr, "volta keys: --rps: a number >= 0, not '%s'\n\n", argv[i]);
                return 2;
            }
        } else if (a[0] == '-' && a[1] != 0) {
            fprintf(stderr, "volta keys: unknown option or missing value: %s\n\n", a);
            keys_usage(stderr);
            return 2;
        } else if (!o.verb) {
            o.verb = a;
        } else if (!o.id) {
            o.id = a;
        } else {
            fprintf(stderr, "volta keys: unexpected argument '%s'\n\n", a);
            keys_usage(stderr);
            return 2;
        }
    }
    const char *problem = NULL;
    bool create = o.verb && strcmp(o.verb, "create") == 0;
    if (!o.verb)
        problem = "expected create, list or revoke";
    else if (create || strcmp(o.verb, "list") == 0)
        problem = o.id ? "takes no argument" : NULL;
    else if (strcmp(o.verb, "revoke") == 0)
        problem = !o.id ? "revoke takes a key id (see `volta keys list`)" : NULL;
    else
        problem = "expected create, list or revoke";
    if (!problem && !create && (o.name || o.scope || o.db || o.rps > 0))
        problem = "--name, --scope, --db and --rps only go with create";
    if (!problem && o.scope && strcmp(o.scope, "read") != 0 && strcmp(o.scope, "write") != 0 &&
        strcmp(o.scope, "admin") != 0)
        problem = "--scope: read, write or admin";
    if (!problem && o.host && o.data)
        problem = "--host and --data exclude each other";
    if (problem) {
        fprintf(stderr, "volta keys: %s\n\n", problem);
        keys_usage(stderr);
        return 2;
    }
    if (!o.host)
        o.host = KEYS_DEFAULT_HOST;
    int exit_code = 1;
    json_t *doc = o.data ? offline_call(&o, &exit_code) : remote_call(&o, &exit_code);
    if (!doc)
        return exit_code;
    if (o.json) {
        char *s = json_dumps(doc, JSON_COMPACT);
        printf("%s\n", s ? s : "{}");
        free(s);
        if (create)
            fprintf(stderr, "volta keys: store the key now: it is shown only once\n");
    } else if (create) {
        print_created(doc);
    } else if (strcmp(o.verb, "revoke") == 0) {
        printf("revoked API key %s\n", str(doc, "id"));
    } else {
        print_list(doc);
    }
    json_decref(doc);
    return 0;
}
