/*
 * cli/cmd_snapshot.c — `volta snapshot create|list|delete`: on a running server through
 * /api/v1/snapshots (--host, the default), or in-process on a data directory no server holds
 * (--data). The snapshot itself is ops/snapshot.h.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/cli_http.h"
#include "core/node.h"
#include "meta/meta.h"
#include "ops/snapshot.h"

static void snapshot_usage(FILE *out)
{
    fprintf(out,
            "usage: volta snapshot create [--host URL | --data DIR] [--json]\n"
            "       volta snapshot list   [--host URL | --data DIR] [--json]\n"
            "       volta snapshot delete ID [--host URL | --data DIR]\n"
            "\n"
            "Consistent snapshots of the native engine: hard links to its immutable segment\n"
            "files and journal segments, in <data>/snapshots/<id>/ (constant time whatever the\n"
            "data size). `volta restore ID --to DIR` turns one into a data directory.\n"
            "\n"
            "  --host URL   the running server (default http://127.0.0.1:8086)\n"
            "  --data DIR   a data directory no server is using\n"
            "  --json       print the catalog rows as JSON\n"
            "\n"
            "Exit status: 0 ok; 1 failed; 2 bad usage.\n");
}

static void print_row(const char *id, const char *location, long long created_at,
                      unsigned long long seq, unsigned long long files, unsigned long long bytes)
{
    time_t t = (time_t)(created_at / 1000000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("%-20s %s  seq %-10llu %6llu files %10.1f MB  %s\n", id, when, seq, files,
           (double)bytes / 1e6, location);
}

static int remote(const char *host, const char *verb, const char *id, bool json)
{
    char url[2048], errbuf[512];
    const char *method = strcmp(verb, "create") == 0 ? "POST" : "GET";
    if (strcmp(verb, "delete") == 0)
        snprintf(url, sizeof url, "%s/api/v1/snapshots?id=%s", host, id);
    else
        snprintf(url, sizeof url, "%s/api/v1/snapshots", host);
    vt_buf resp;
    vt_buf_init(&resp);
    long status = 0;
    int rc = strcmp(verb, "delete") == 0
                 ? cli_http("DELETE", url, NULL, 0, NULL, 600, &resp, &status, errbuf)
                 : cli_http(method, url, "", 0, "application/json", 600, &resp, &status, errbuf);
    if (rc != 0) {
        fprintf(stderr, "volta snapshot: %s: %s\n", host, errbuf);
        vt_buf_free(&resp);
        return 1;
    }
    json_t *doc = json_loadb((const char *)resp.data, resp.len, 0, NULL);
    int exit_code = 0;
    if (status >= 300) {
        const char *e = json_string_value(json_object_get(doc, "error"));
        fprintf(stderr, "volta snapshot: server answered %ld: %s\n", status,
                e ? e : vt_buf_cstr(&resp));
        exit_code = 1;
    } else if (json && resp.len) {
        fwrite(resp.data, 1, resp.len, stdout);
    } else if (strcmp(verb, "delete") == 0) {
        printf("deleted snapshot %s\n", id);
    } else {
        json_t *arr = strcmp(verb, "list") == 0 ? json_object_get(doc, "snapshots") : NULL;
        size_t n = arr ? json_array_size(arr) : 1;
        for (size_t i = 0; i < n; i++) {
            json_t *r = arr ? json_array_get(arr, i) : doc;
            print_row(json_string_value(json_object_get(r, "id")),
                      json_string_value(json_object_get(r, "location")),
                      (long long)json_integer_value(json_object_get(r, "created_at")),
                      (unsigned long long)json_integer_value(json_object_get(r, "seq")),
                      (unsigned long long)json_integer_value(json_object_get(r, "files")),
                      (unsigned long long)json_integer_value(json_object_get(r, "bytes")));
        }
    }
    json_decref(doc);
    vt_buf_free(&resp);
    return exit_code;
}

static void row_json(const meta_catalog *c)
{
    printf("{\"id\":\"%s\",\"kind\":\"%s\",\"location\":\"%s\",\"created_at\":%lld,"
           "\"checkpoint\":%llu,\"seq\":%llu,\"time_last\":%lld,\"files\":%llu,\"bytes\":%llu,"
           "\"state\":\"%s\"}\n",
           c->id, c->kind, c->location, (long long)c->created_at,
           (unsigned long long)c->checkpoint, (unsigned long long)c->seq,
           (long long)c->time_last, (unsigned long long)c->files, (unsigned long long)c->bytes,
           c->state);
}

static int offline(const char *data, const char *verb, const char *id, bool json)
{
    node_options o;
    node_options_default(&o);
    o.engine.background = false;
    o.retention = false;
    node *n = NULL;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = node_open(data, &o, &n, NULL, &err);
    if (rc == VT_EBUSY) {
        fprintf(stderr, "volta snapshot: %s is in use by a running volta: use --host\n", data);
        return 1;
    }
    meta *m = NULL;
    char mp[4200];
    snprintf(mp, sizeof mp, "%s/meta.db", data);
    if (rc == VT_OK)
        rc = meta_open(mp, &m, &err);
    int exit_code = 0;
    if (rc == VT_OK && strcmp(verb, "create") == 0) {
        meta_catalog c;
        rc = snapshot_create(n, m, &c, &err);
        if (rc == VT_OK && json)
            row_json(&c);
        else if (rc == VT_OK)
            print_row(c.id, c.location, (long long)c.created_at, (unsigned long long)c.seq,
                      (unsigned long long)c.files, (unsigned long long)c.bytes);
    } else if (rc == VT_OK && strcmp(verb, "list") == 0) {
        meta_catalog *list = NULL;
        size_t cnt = 0;
        rc = snapshot_list(m, &list, &cnt, &err);
        for (size_t i = 0; rc == VT_OK && i < cnt; i++) {
            if (json)
                row_json(&list[i]);
            else
                print_row(list[i].id, list[i].location, (long long)list[i].created_at,
                          (unsigned long long)list[i].seq, (unsigned long long)list[i].files,
                          (unsigned long long)list[i].bytes);
        }
        free(list);
    } else if (rc == VT_OK) {
        rc = snapshot_delete(m, id, &err);
        if (rc == VT_OK)
            printf("deleted snapshot %s\n", id);
    }
    if (rc != VT_OK) {
        fprintf(stderr, "volta snapshot: %s\n", err.msg);
        exit_code = 1;
    }
    meta_close(m);
    if (n)
        node_close(n, NULL);
    return exit_code;
}

int cmd_snapshot(int argc, char **argv)
{
    const char *host = NULL, *data = NULL, *verb = NULL, *id = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            snapshot_usage(stdout);
            return 0;
        }
        if (strcmp(a, "--json") == 0) {
            json = true;
        } else if ((strcmp(a, "--host") == 0 || strcmp(a, "--data") == 0) && i + 1 < argc) {
            *(a[2] == 'h' ? &host : &data) = argv[++i];
        } else if (a[0] == '-') {
            fprintf(stderr, "volta snapshot: unknown option or missing value: %s\n\n", a);
            snapshot_usage(stderr);
            return 2;
        } else if (!verb) {
            verb = a;
        } else if (!id) {
            id = a;
        } else {
            fprintf(stderr, "volta snapshot: unexpected argument '%s'\n\n", a);
            snapshot_usage(stderr);
            return 2;
        }
    }
    bool known = verb && (strcmp(verb, "create") == 0 || strcmp(verb, "list") == 0 ||
                          strcmp(verb, "delete") == 0);
    if (!known || (strcmp(verb, "delete") == 0) != (id != NULL) || (host && data)) {
        fprintf(stderr, "volta snapshot: %s\n\n",
                !known ? "expected create, list or delete"
                : host && data ? "--host and --data exclude each other"
                               : "delete takes one snapshot id (and only delete takes one)");
        snapshot_usage(stderr);
        return 2;
    }
    if (data)
        return offline(data, verb, id, json);
    return remote(host ? host : "http://127.0.0.1:8086", verb, id, json);
}
