/*
 * tests/unit/test_auth.c — covers src/gateway/auth.c and src/meta/meta_keys.c.
 *
 * Keys: creation (format, scopes, validation), listing (newest first, revoked included),
 * revocation (unknown id, twice), the per-key rate; storage (meta.db holds the hash, never the
 * secret: not in the row, not anywhere in the database files); the check (every credential
 * form, wrong secret, malformed keys, revoked keys, scopes, database restriction, protected
 * mode for loopback and other clients); refresh across two meta handles on one file (the
 * server / CLI case); last_used_at written by refresh; the audit rows; auth_influxql_scope.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/auth.h"
#include "meta/meta.h"
#include "meta/meta_int.h"

typedef struct fixture {
    char dir[64];
    char path[128];
    meta *m;
    auth *a;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/volta_auth_XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    snprintf(fx->path, sizeof fx->path, "%s/meta.db", fx->dir);
    vt_err err;
    if (meta_open(fx->path, &fx->m, &err) != VT_OK || auth_open(fx->m, &fx->a, &err) != VT_OK) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    auth_close(fx->a);
    meta_close(fx->m);
    const char *suffix[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < 4; i++) {
        char p[160];
        snprintf(p, sizeof p, "%s%s", fx->path, suffix[i]);
        unlink(p);
    }
    rmdir(fx->dir);
    free(fx);
    return 0;
}

static void create(fixture *fx, auth_scope scope, const char *db, char *key, auth_key_info *info)
{
    vt_err err;
    vt_rc rc = auth_key_create(fx->m, "test", scope, db, 0, "test:unit", key, 128, info, &err);
    if (rc != VT_OK)
        fprintf(stderr, "create: %s\n", err.msg);
    assert_int_equal(rc, VT_OK);
    assert_int_equal(auth_refresh(fx->a, &err), VT_OK);
}

static unsigned check_x(auth *a, const char *key, auth_scope need, const char *db, bool loopback,
                        auth_result *res)
{
    auth_request in = {.x_api_key = key, .need = need, .db = db, .loopback = loopback};
    auth_check(a, &in, res);
    return res->status;
}

/* ---- creation, listing, revocation ---- */

static void test_key_format(void **state)
{
    fixture *fx = *state;
    char key[128];
    auth_key_info info;
    create(fx, AUTH_WRITE, "", key, &info);
    assert_int_equal(strlen(key), 3 + 12 + 1 + 52);
    assert_memory_equal(key, "vk_", 3);
    assert_int_equal(key[15], '_');
    assert_memory_equal(key + 3, info.id, 12);
    assert_int_equal(strlen(info.id), 12);
    for (size_t i = 3; key[i]; i++)
        if (i != 15)
            assert_non_null(strchr("abcdefghijklmnopqrstuvwxyz234567", key[i]));
    assert_int_equal(info.scope, AUTH_WRITE);
    assert_string_equal(info.name, "test");
    assert_string_equal(info.created_by, "test:unit");
    assert_true(info.created_at > 0);
    assert_int_equal(info.revoked_at, 0);
    char key2[128];
    create(fx, AUTH_READ, "", key2, NULL);
    assert_string_not_equal(key, key2);
}

static void test_create_validation(void **state)
{
    fixture *fx = *state;
    char key[128];
    vt_err err;
    assert_int_equal(auth_key_create(fx->m, "", AUTH_NONE, "", 0, "t", key, sizeof key, NULL, &err),
                     VT_EINVAL);
    assert_int_equal(auth_key_create(fx->m, "", AUTH_READ, "", -1, "t", key, sizeof key, NULL, &err),
                     VT_EINVAL);
    assert_int_equal(
        auth_key_create(fx->m, "", AUTH_ADMIN, "db1", 0, "t", key, sizeof key, NULL, &err),
        VT_EINVAL);
    assert_non_null(strstr(err.msg, "admin"));
    assert_int_equal(auth_key_create(fx->m, "", AUTH_READ, "", 0, "t", key, 40, NULL, &err),
                     VT_EINVAL);
    auth_scope s;
    assert_int_equal(auth_scope_parse("write", &s, &err), VT_OK);
    assert_int_equal(s, AUTH_WRITE);
    assert_int_equal(auth_scope_parse("root", &s, &err), VT_EINVAL);
    assert_non_null(strstr(err.msg, "root"));
    assert_string_equal(auth_scope_name(AUTH_ADMIN), "admin");
    auth_key_info *keys = NULL;
    size_t n = 9;
    assert_int_equal(auth_key_list(fx->m, &keys, &n, &err), VT_OK);
    assert_int_equal(n, 0); /* nothing written by the refused calls */
    free(keys);
}

static void test_list_revoke(void **state)
{
    fixture *fx = *state;
    char k1[128], k2[128];
    auth_key_info i1, i2;
    create(fx, AUTH_READ, "", k1, &i1);
    create(fx, AUTH_ADMIN, "", k2, &i2);
    assert_int_equal(auth_key_count(fx->a), 2);
    vt_err err;
    auth_key_info *keys = NULL;
    size_t n = 0;
    assert_int_equal(auth_key_list(fx->m, &keys, &n, &err), VT_OK);
    assert_int_equal(n, 2);
    assert_string_equal(keys[0].id, i2.id); /* newest first */
    assert_string_equal(keys[1].id, i1.id);
    free(keys);

    assert_int_equal(auth_key_revoke(fx->m, i1.id, "test:unit", &err), VT_OK);
    assert_int_equal(auth_key_revoke(fx->m, i1.id, "test:unit", &err), VT_OK); /* twice: ok */
    assert_int_equal(auth_key_revoke(fx->m, "nosuchkeyid0", "test:unit", &err), VT_ENOTFOUND);
    assert_non_null(strstr(err.msg, "nosuchkeyid0"));
    assert_int_equal(auth_refresh(fx->a, &err), VT_OK);
    assert_int_equal(auth_key_count(fx->a), 1);
    assert_int_equal(auth_key_list(fx->m, &keys, &n, &err), VT_OK);
    assert_int_equal(n, 2); /* revoked ones included */
    assert_true(keys[1].revoked_at > 0);
    assert_int_equal(keys[0].revoked_at, 0);
    free(keys);

    auth_result res;
    assert_int_equal(check_x(fx->a, k1, AUTH_READ, NULL, true, &res), 401);
    assert_string_equal(res.message, "invalid API key");
    assert_int_equal(check_x(fx->a, k2, AUTH_READ, NULL, true, &res), 0);

    assert_int_equal(auth_key_set_rate(fx->m, i2.id, 12.5, "test:unit", &err), VT_OK);
    assert_int_equal(auth_key_set_rate(fx->m, "nosuchkeyid0", 1, "test:unit", &err), VT_ENOTFOUND);
    assert_int_equal(auth_key_set_rate(fx->m, i2.id, -3, "test:unit", &err), VT_EINVAL);
    assert_int_equal(auth_refresh(fx->a, &err), VT_OK);
    assert_int_equal(check_x(fx->a, k2, AUTH_ADMIN, NULL, false, &res), 0);
    assert_true(res.key_rps > 12.4 && res.key_rps < 12.6);
    assert_string_equal(res.key_id, i2.id);

    /* the audit log: create x2, revoke x1 (the second revoke changed nothing), rate x1 */
    meta_audit_entry *au = NULL;
    size_t na = 0;
    assert_int_equal(meta_audit_list(fx->m, 50, &au, &na, &err), VT_OK);
    int creates = 0, revokes = 0, rates = 0;
    for (size_t i = 0; i < na; i++) {
        creates += strcmp(au[i].action, "keys.create") == 0;
        revokes += strcmp(au[i].action, "keys.revoke") == 0;
        rates += strcmp(au[i].action, "keys.rate") == 0;
        assert_null(strstr(au[i].detail, k1 + 16)); /* never a secret */
        assert_null(strstr(au[i].detail, k2 + 16));
        if (strcmp(au[i].action, "keys.revoke") == 0) {
            assert_non_null(strstr(au[i].detail, i1.id));
            assert_string_equal(au[i].who, "test:unit");
        }
    }
    free(au);
    assert_int_equal(creates, 2);
    assert_int_equal(revokes, 1);
    assert_int_equal(rates, 1);
}

/* Whether needle occurs in the file at path. */
static bool file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t nl = strlen(needle), cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    bool found = false;
    size_t r;
    while (buf && (r = fread(buf + len, 1, cap - len, f)) > 0) {
        len += r;
        for (size_t i = 0; i + nl <= len; i++)
            if (memcmp(buf + i, needle, nl) == 0)
                found = true;
        if (len >= nl) { /* keep the tail for matches across reads */
            memmove(buf, buf + len - (nl - 1), nl - 1);
            len = nl - 1;
        }
    }
    free(buf);
    fclose(f);
    return found;
}

static void test_stored_hashed(void **state)
{
    fixture *fx = *state;
    char key[128];
    auth_key_info info;
    create(fx, AUTH_WRITE, "", key, &info);
    const char *secret = key + 16;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(fx->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT hash FROM api_keys WHERE id = ?1", -1, &s, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(s, 1, info.id, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    const char *hash = (const char *)sqlite3_column_text(s, 0);
    assert_int_equal(strlen(hash), 64);
    assert_string_not_equal(hash, secret);
    assert_string_not_equal(hash, key);
    /* it is BLAKE2b-256 of the secret */
    unsigned char h[32];
    char hex[65];
    crypto_generichash(h, sizeof h, (const unsigned char *)secret, strlen(secret), NULL, 0);
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    assert_string_equal(hash, hex);
    sqlite3_finalize(s);
    sqlite3_close(db);
    /* the secret is nowhere in the database files */
    const char *suffix[] = {"", "-wal", "-journal"};
    for (size_t i = 0; i < 3; i++) {
        char p[160];
        snprintf(p, sizeof p, "%s%s", fx->path, suffix[i]);
        assert_false(file_contains(p, secret));
        assert_false(file_contains(p, key));
    }
}

/* ---- the check ---- */

static void test_wrong_and_malformed(void **state)
{
    fixture *fx = *state;
    char key[128];
    auth_key_info info;
    create(fx, AUTH_ADMIN, "", key, &info);
    auth_result res;
    assert_int_equal(check_x(fx->a, key, AUTH_ADMIN, NULL, false, &res), 0);
    assert_string_equal(res.key_id, info.id);

    char bad[128];
    snprintf(bad, sizeof bad, "%s", key);
    bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == 'a' ? 'b' : 'a'; /* wrong secret */
    assert_int_equal(check_x(fx->a, bad, AUTH_READ, NULL, true, &res), 401);
    assert_string_equal(res.message, "invalid API key");
    assert_string_equal(res.key_id, "");
    bad[strlen(key) - 1] = '\0'; /* truncated */
    assert_int_equal(check_x(fx->a, bad, AUTH_READ, NULL, true, &res), 401);
    snprintf(bad, sizeof bad, "%sx", key); /* extended */
    assert_int_equal(check_x(fx->a, bad, AUTH_READ, NULL, true, &res), 401);
    snprintf(bad, sizeof bad, "vk_%s_", info.id); /* empty secret */
    assert_int_equal(check_x(fx->a, bad, AUTH_READ, NULL, true, &res), 401);
    const char *junk[] = {"vk_", "vk", "x", "vk_short_abc", "root", "vk_aaaaaaaaaaaa_bbbb"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
        assert_int_equal(check_x(fx->a, junk[i], AUTH_READ, NULL, true, &res), 401);
    char longk[1024];
    memset(longk, 'a', sizeof longk - 1);
    longk[sizeof longk - 1] = '\0';
    memcpy(longk, key, strlen(key));
    assert_int_equal(check_x(fx->a, longk, AUTH_READ, NULL, true, &res), 401);
    /* no credential at all */
    assert_int_equal(check_x(fx->a, NULL, AUTH_READ, NULL, true, &res), 401);
    assert_string_equal(res.message, "authentication required: send an API key (x-api-key "
                                     "header, Authorization: Token <key>, or u/p parameters)");
    assert_int_equal(check_x(fx->a, "", AUTH_READ, NULL, true, &res), 401);
    assert_non_null(strstr(res.message, "authentication required"));
    /* an exempt endpoint */
    assert_int_equal(check_x(fx->a, NULL, AUTH_NONE, NULL, false, &res), 0);
}

static void test_credential_forms(void **state)
{
    fixture *fx = *state;
    char key[128];
    auth_key_info info;
    create(fx, AUTH_WRITE, "", key, &info);
    char hdr[512], b64in[256], b64[512];
    auth_result res;
    auth_request in = {.need = AUTH_WRITE, .loopback = false};

    const char *schemes[] = {"Token", "Bearer", "token", "BEARER"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(hdr, sizeof hdr, "%s %s", schemes[i], key);
        in.authorization = hdr;
        auth_check(fx->a, &in, &res);
        assert_int_equal(res.status, 0);
        assert_string_equal(res.key_id, info.id);
    }
    snprintf(hdr, sizeof hdr, "  Token   %s  ", key); /* blanks around */
    auth_check(fx->a, &in, &res);
    assert_int_equal(res.status, 0);

    /* Basic user:key, user ignored; with and without padding; a lone key */
    const char *users[] = {"any", "", "root"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(b64in, sizeof b64in, "%s:%s", users[i], key);
        sodium_bin2base64(b64, sizeof b64, (const unsigned char *)b64in, strlen(b64in),
                          sodium_base64_VARIANT_ORIGINAL);
        snprintf(hdr, sizeof hdr, "Basic %s", b64);
        auth_check(fx->a, &in, &res);
        assert_int_equal(res.status, 0);
        sodium_bin2base64(b64, sizeof b64, (const unsigned char *)b64in, strlen(b64in),
                          sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
        snprintf(hdr, sizeof hdr, "basic %s", b64);
        auth_check(fx->a, &in, &res);
        assert_int_equal(res.status, 0);
    }
    snprintf(b64in, sizeof b64in, "%s:", key); /* the key as user, no password */
    sodium_bin2base64(b64, sizeof b64, (const unsigned char *)b64in, strlen(b64in),
                      sodium_base64_VARIANT_ORIGINAL);
    snprintf(hdr, sizeof hdr, "Basic %s", b64);
    auth_check(fx->a, &in, &res);
    assert_int_equal(res.status, 0);
    snprintf(b64in, sizeof b64in, "any:%sX", key);
    sodium_bin2base64(b64, sizeof b64, (const unsigned char *)b64in, strlen(b64in),
                      sodium_base64_VARIANT_ORIGINAL);
    snprintf(hdr, sizeof hdr, "Basic %s", b64);
    auth_check(fx->a, &in, &res);
    assert_int_equal(res.status, 401);
    snprintf(hdr, sizeof hdr, "Basic !!!notbase64");
    auth_check(fx->a, &in, &res);
    assert_int_equal(res.status, 401);
    assert_string_equal(res.message, "invalid API key");
    snprintf(hdr, sizeof hdr, "Digest %s", key); /* an unknown scheme */
    auth_check(fx->a, &in, &res);
    assert_int_equal(res.status, 401);
    snprintf(hdr, sizeof hdr, "Token");
    auth_check(fx->a, &in, &res);
    assert_int_equal(res.status, 401);

    /* the v1 p parameter */
    in.authorization = NULL;
    in.v1_password = key;
    auth_check(fx->a, &in, &res);
    assert_int_equal(res.status, 0);
    in.v1_password = "root";
    auth_check(fx->a, &in, &res);
    assert_int_equal(res.status, 401);
    /* x-api-key comes first */
    in.v1_password = "root";
    in.x_api_key = key;
    auth_check(fx->a, &in, &res);
    assert_int_equal(res.status, 0);
}

static void test_scopes_and_db(void **state)
{
    fixture *fx = *state;
    char kr[128], kw[128], ka[128], kdb[128];
    auth_key_info ir, iw, ia, idb;
    create(fx, AUTH_READ, "", kr, &ir);
    create(fx, AUTH_WRITE, "", kw, &iw);
    create(fx, AUTH_ADMIN, "", ka, &ia);
    create(fx, AUTH_WRITE, "metrics", kdb, &idb);
    auth_result res;
    char msg[256];

    assert_int_equal(check_x(fx->a, kr, AUTH_READ, "x", false, &res), 0);
    assert_int_equal(check_x(fx->a, kr, AUTH_WRITE, "x", false, &res), 403);
    snprintf(msg, sizeof msg, "API key %s lacks the write scope", ir.id);
    assert_string_equal(res.message, msg);
    assert_string_equal(res.key_id, ir.id);
    assert_int_equal(check_x(fx->a, kr, AUTH_ADMIN, NULL, false, &res), 403);
    snprintf(msg, sizeof msg, "API key %s lacks the admin scope", ir.id);
    assert_string_equal(res.message, msg);

    assert_int_equal(check_x(fx->a, kw, AUTH_READ, "x", false, &res), 0);
    assert_int_equal(check_x(fx->a, kw, AUTH_WRITE, "x", false, &res), 0);
    assert_int_equal(check_x(fx->a, kw, AUTH_ADMIN, NULL, false, &res), 403);

    for (auth_scope s = AUTH_READ; s <= AUTH_ADMIN; s++)
        assert_int_equal(check_x(fx->a, ka, s, NULL, false, &res), 0);

    assert_int_equal(check_x(fx->a, kdb, AUTH_WRITE, "metrics", false, &res), 0);
    assert_int_equal(check_x(fx->a, kdb, AUTH_READ, "metrics", false, &res), 0);
    assert_int_equal(check_x(fx->a, kdb, AUTH_WRITE, "other", false, &res), 403);
    snprintf(msg, sizeof msg, "API key %s is limited to database metrics", idb.id);
    assert_string_equal(res.message, msg);
    assert_int_equal(check_x(fx->a, kdb, AUTH_READ, NULL, false, &res), 403); /* no db named */
    assert_int_equal(check_x(fx->a, kdb, AUTH_READ, "metricsx", false, &res), 403);
    assert_int_equal(check_x(fx->a, kdb, AUTH_ADMIN, NULL, false, &res), 403);
    assert_non_null(strstr(res.message, "lacks the admin scope"));
}

static void test_protected_mode(void **state)
{
    fixture *fx = *state;
    auth_result res;
    assert_int_equal(auth_key_count(fx->a), 0);
    for (auth_scope s = AUTH_READ; s <= AUTH_ADMIN; s++) {
        assert_int_equal(check_x(fx->a, NULL, s, "db", true, &res), 0);
        assert_string_equal(res.key_id, "");
        assert_int_equal(check_x(fx->a, "vk_whatever_x", s, NULL, true, &res), 0);
        assert_int_equal(check_x(fx->a, NULL, s, NULL, false, &res), 403);
        assert_string_equal(res.message,
                            "volta is in protected mode: no API key exists, so only loopback "
                            "clients are served; create one with `volta keys create --scope "
                            "admin` on the server");
    }
    /* a key exists: loopback needs one too */
    char key[128];
    auth_key_info info;
    create(fx, AUTH_READ, "", key, &info);
    assert_int_equal(check_x(fx->a, NULL, AUTH_READ, NULL, true, &res), 401);
    assert_int_equal(check_x(fx->a, key, AUTH_READ, NULL, false, &res), 0);
    /* every key revoked: protected mode again */
    vt_err err;
    assert_int_equal(auth_key_revoke(fx->m, info.id, "t", &err), VT_OK);
    assert_int_equal(auth_refresh(fx->a, &err), VT_OK);
    assert_int_equal(auth_key_count(fx->a), 0);
    assert_int_equal(check_x(fx->a, NULL, AUTH_READ, NULL, true, &res), 0);
    assert_int_equal(check_x(fx->a, key, AUTH_READ, NULL, false, &res), 403);
}

/* A second handle on the same file (the CLI with --data while a server runs). */
static void test_refresh_two_handles(void **state)
{
    fixture *fx = *state;
    vt_err err;
    meta *m2 = NULL;
    assert_int_equal(meta_open(fx->path, &m2, &err), VT_OK);
    char key[128];
    auth_key_info info;
    assert_int_equal(
        auth_key_create(m2, "cli", AUTH_WRITE, "", 0, "cli:op", key, sizeof key, &info, &err),
        VT_OK);
    auth_result res;
    assert_int_equal(check_x(fx->a, NULL, AUTH_READ, NULL, false, &res), 403); /* not seen yet */
    assert_int_equal(auth_refresh(fx->a, &err), VT_OK);
    assert_int_equal(auth_key_count(fx->a), 1);
    assert_int_equal(check_x(fx->a, key, AUTH_WRITE, NULL, false, &res), 0);
    assert_int_equal(auth_key_set_rate(m2, info.id, 7, "cli:op", &err), VT_OK);
    assert_int_equal(auth_refresh(fx->a, &err), VT_OK);
    assert_int_equal(check_x(fx->a, key, AUTH_WRITE, NULL, false, &res), 0);
    assert_true(res.key_rps > 6.9 && res.key_rps < 7.1);
    assert_int_equal(auth_key_revoke(m2, info.id, "cli:op", &err), VT_OK);
    assert_int_equal(auth_refresh(fx->a, &err), VT_OK);
    assert_int_equal(check_x(fx->a, key, AUTH_WRITE, NULL, false, &res), 403); /* protected */
    meta_close(m2);
}

static void test_last_used(void **state)
{
    fixture *fx = *state;
    char key[128];
    auth_key_info info;
    create(fx, AUTH_READ, "", key, &info);
    vt_err err;
    auth_key_info *keys = NULL;
    size_t n = 0;
    assert_int_equal(auth_key_list(fx->m, &keys, &n, &err), VT_OK);
    assert_int_equal(keys[0].last_used_at, 0);
    free(keys);
    auth_result res;
    for (int i = 0; i < 100; i++)
        assert_int_equal(check_x(fx->a, key, AUTH_READ, NULL, false, &res), 0);
    int64_t gen_before = 0, gen_after = 0;
    assert_int_equal(meta_control_gen(fx->m, &gen_before, &err), VT_OK);
    assert_int_equal(auth_refresh(fx->a, &err), VT_OK);
    assert_int_equal(auth_key_list(fx->m, &keys, &n, &err), VT_OK);
    assert_true(keys[0].last_used_at > 0);
    int64_t first = keys[0].last_used_at;
    free(keys);
    /* within the minute: no new write */
    assert_int_equal(check_x(fx->a, key, AUTH_READ, NULL, false, &res), 0);
    assert_int_equal(auth_refresh(fx->a, &err), VT_OK);
    assert_int_equal(auth_key_list(fx->m, &keys, &n, &err), VT_OK);
    assert_int_equal(keys[0].last_used_at, first);
    free(keys);
    assert_int_equal(meta_control_gen(fx->m, &gen_after, &err), VT_OK);
    assert_int_equal(gen_before, gen_after); /* last_used_at never wakes other servers */
}

/* Checks from several threads while keys are created, revoked and the table swapped. */
typedef struct hammer {
    auth *a;
    const char *key;
    atomic_bool stop;
    atomic_long ok, bad;
} hammer;

static void *hammer_run(void *arg)
{
    hammer *h = arg;
    auth_result res;
    while (!atomic_load(&h->stop)) {
        auth_request in = {.x_api_key = h->key, .need = AUTH_READ, .loopback = false};
        auth_check(h->a, &in, &res);
        if (res.status == 0)
            atomic_fetch_add(&h->ok, 1);
        else
            atomic_fetch_add(&h->bad, 1);
    }
    return NULL;
}

static void test_concurrent_checks(void **state)
{
    fixture *fx = *state;
    char key[128];
    auth_key_info info;
    create(fx, AUTH_READ, "", key, &info); /* stays valid throughout */
    hammer h = {.a = fx->a, .key = key};
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hammer_run, &h), 0);
    vt_err err;
    for (int i = 0; i < 30; i++) {
        char other[128];
        auth_key_info oi;
        assert_int_equal(auth_key_create(fx->m, "churn", AUTH_WRITE, "", 0, "t", other,
                                         sizeof other, &oi, &err),
                         VT_OK);
        assert_int_equal(auth_refresh(fx->a, &err), VT_OK);
        assert_int_equal(auth_key_revoke(fx->m, oi.id, "t", &err), VT_OK);
        assert_int_equal(auth_refresh(fx->a, &err), VT_OK);
    }
    atomic_store(&h.stop, true);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_true(atomic_load(&h.ok) > 0);
    assert_int_equal(atomic_load(&h.bad), 0); /* never refused while the table was swapped */
    assert_int_equal(auth_key_count(fx->a), 1);
}

/* ---- auth_influxql_scope ---- */

static auth_scope qs(const char *q)
{
    return auth_influxql_scope(q, strlen(q));
}

static void test_influxql_scope(void **state)
{
    (void)state;
    const char *reads[] = {
        "SELECT * FROM cpu",
        "select mean(value) from cpu where time > now() - 1h group by time(1m)",
        "SHOW DATABASES",
        "SHOW MEASUREMENTS; SHOW TAG KEYS",
        "SHOW GRANTS FOR bob",
        "SHOW RETENTION POLICIES ON db",
        "SELECT * FROM \"drop\"",
        "SELECT * FROM cpu WHERE host = 'create'",
        "SELECT * FROM cpu WHERE host = 'it''s \\' into'",
        "SELECT \"into\" FROM \"delete\".\"alter\".\"kill\"",
        "SELECT * FROM cpu WHERE host =~ /drop|delete/",
        "SELECT * FROM cpu WHERE host !~ /\\/into/",
        "SELECT * FROM cpu -- DROP DATABASE x",
        "SELECT * FROM cpu /* DELETE FROM cpu */",
        "SELECT dropped, created_at, into_x FROM cpu",
        "SELECT * FROM cpu_delete",
        "",
    };
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
        if (qs(reads[i]) != AUTH_READ)
            fail_msg("expected read: %s", reads[i]);
    }
    const char *writes[] = {
        "CREATE DATABASE x",
        "create database x",
        "DROP MEASUREMENT cpu",
        "DELETE FROM cpu WHERE time < now()",
        "ALTER RETENTION POLICY autogen ON db DURATION 1d",
        "GRANT ALL TO bob",
        "REVOKE ALL FROM bob",
        "KILL QUERY 1",
        "SELECT mean(v) INTO cpu_1h FROM cpu GROUP BY time(1h)",
        "SELECT * FROM cpu; DROP DATABASE x",
        "SHOW DATABASES;drop database x",
        "SELECT * FROM cpu WHERE a = 'x' ; DELETE FROM cpu",
        "SELECT * FROM \"cpu\" INTO x",
        "SELECT * FROM cpu WHERE host = \"x\"\nDROP SERIES FROM cpu",
        "SELECT * FROM cpu WHERE x = 1 / 2 DROP",
        "CREATE CONTINUOUS QUERY cq ON db BEGIN SELECT mean(v) INTO m FROM c GROUP BY time(1m) END",
    };
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        if (qs(writes[i]) != AUTH_WRITE)
            fail_msg("expected write: %s", writes[i]);
    }
    /* the length bounds the scan (no NUL needed) */
    assert_int_equal(auth_influxql_scope("SELECT 1 DROP", 8), AUTH_READ);
    assert_int_equal(auth_influxql_scope(NULL, 0), AUTH_READ);
    /* unterminated quotes and comments end the scan */
    assert_int_equal(qs("SELECT 'drop"), AUTH_READ);
    assert_int_equal(qs("SELECT /* drop"), AUTH_READ);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_key_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_revoke, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stored_hashed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_and_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credential_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scopes_and_db, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protected_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_two_handles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_used, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_checks, setup, teardown),
        cmocka_unit_test(test_influxql_scope),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
