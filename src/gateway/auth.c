/*
 * gateway/auth.c — API keys (see auth.h): generation, the in-memory table every request is
 * checked against, and the management calls (SQL in meta/meta_keys.c).
 *
 * NOTES ON THE DESIGN
 *
 * 1. Key text. "vk_" + id + "_" + secret: id is 12 characters of lowercase RFC 4648 base32
 *    (60 random bits: a name, not a secret), secret is 32 random bytes in lowercase base32
 *    without padding (52 characters). meta.db keeps hex(BLAKE2b-256(secret text)) only; the
 *    secret exists in clear in exactly one place, the creator's output, and is wiped from our
 *    buffers after use. No salt is needed: the secret has 256 bits of entropy.
 *
 * 2. The table. An immutable array of the unrevoked keys sorted by id (binary search), owned
 *    through a pointer that auth_refresh replaces under a pthread_rwlock (writer-preferring,
 *    held only for the pointer swap). auth_check takes the read lock, looks up, hashes the
 *    presented secret on the stack and compares with sodium_memcmp: no allocation, no syscall
 *    but a coarse clock read. An empty table is protected mode.
 *
 * 3. last_used_at. The only mutable part of an entry is an atomic "used at" second, which
 *    auth_check moves only when it is a minute old or more (so at most one store per key per
 *    minute, and no write to shared memory on the hot path otherwise). auth_refresh (the
 *    gateway's 200 ms poller) writes the marks that moved to meta.db in one transaction; marks
 *    are carried to the next table when the table is rebuilt. The column has no control_gen
 *    trigger, so flushing never makes the other servers reload.
 *
 * 4. Refresh. One refresher at a time (refresh_mu): read control_gen; when it moved, load the
 *    active keys and control_gen in one read snapshot, build the new table, swap, free the old
 *    one after the swap (no reader can hold it then: readers only use it under the read lock).
 */
#include "gateway/auth.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meta/meta_int.h"
#include "meta/meta_keys.h"

#define KEY_PREFIX "vk_"
#define KEY_PREFIX_LEN 3
#define ID_LEN META_KEY_ID_LEN
#define SECRET_BYTES 32
#define SECRET_LEN 52 /* ceil(256 / 5) base32 characters */
#define HASH_BYTES 32
#define PRESENTED_MAX 256 /* longer credentials are refused without hashing */
#define USED_EVERY_S 60

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

typedef struct key_entry {
    char id[16]; /* ID_LEN characters, NUL-terminated */
    uint8_t hash[HASH_BYTES];
    auth_scope scope;
    double rps;
    char db[128];
    _Atomic int64_t used_s; /* last use seen by auth_check (s since the epoch) */
    int64_t flushed_s;      /* the value last written to meta.db (refresh_mu) */
} key_entry;

typedef struct key_table {
    size_t n;
    key_entry e[];
} key_table;

struct auth {
    meta *m;
    pthread_rwlock_t lock; /* guards `cur` (the pointer, not the entries' atomics) */
    key_table *cur;
    atomic_size_t count;
    pthread_mutex_t refresh_mu;
    int64_t gen; /* control_gen the table was built at (-1 = never) */
};

/* ---- small helpers --------------------------------------------------------------------------- */

const char *auth_scope_name(auth_scope s)
{
    switch (s) {
    case AUTH_READ:
        return "read";
    case AUTH_WRITE:
        return "write";
    case AUTH_ADMIN:
        return "admin";
    case AUTH_NONE:
        break;
    }
    return "none";
}

vt_rc auth_scope_parse(const char *s, auth_scope *out, vt_err *err)
{
    if (s && strcmp(s, "read") == 0)
        *out = AUTH_READ;
    else if (s && strcmp(s, "write") == 0)
        *out = AUTH_WRITE;
    else if (s && strcmp(s, "admin") == 0)
        *out = AUTH_ADMIN;
    else
        return vt_err_set(err, VT_EINVAL, "unknown scope '%s' (expected read, write or admin)",
                          s ? s : "");
    return VT_OK;
}

/* Lowercase base32 of nbits random bits from bytes (no padding); out gets ceil(nbits/5) chars. */
static void base32(const uint8_t *bytes, size_t nbits, char *out)
{
    size_t nchars = (nbits + 4) / 5;
    for (size_t i = 0; i < nchars; i++) {
        unsigned v = 0;
        for (size_t b = 0; b < 5; b++) {
            size_t bit = i * 5 + b;
            unsigned x = bit < nbits ? (bytes[bit / 8] >> (7 - bit % 8)) & 1u : 0u;
            v = (v << 1) | x;
        }
        out[i] = b32[v];
    }
    out[nchars] = '\0';
}

static int64_t now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return (int64_t)ts.tv_sec;
}

static int entry_cmp(const void *x, const void *y)
{
    return memcmp(((const key_entry *)x)->id, ((const key_entry *)y)->id, ID_LEN);
}

static key_entry *table_find(key_table *t, const char *id)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(id, t->e[mid].id, ID_LEN);
        if (c == 0)
            return &t->e[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* ---- open / refresh -------------------------------------------------------------------------- */

static vt_rc flush_used(auth *a, vt_err *err);

vt_rc auth_open(meta *m, auth **out, vt_err *err)
{
    if (!m || !out)
        return vt_err_set(err, VT_EINVAL, "auth_open: NULL argument");
    *out = NULL;
    if (sodium_init() < 0)
        return vt_err_set(err, VT_EIO, "auth_open: libsodium failed to initialise");
    auth *a = calloc(1, sizeof *a);
    key_table *t = calloc(1, sizeof *t);
    if (!a || !t) {
        free(a);
        free(t);
        return vt_err_set(err, VT_ENOMEM, "auth_open: out of memory");
    }
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int x = pthread_rwlock_init(&a->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (x != 0) {
        free(a);
        free(t);
        return vt_err_set(err, VT_ENOMEM, "auth_open: pthread_rwlock_init failed");
    }
    if (pthread_mutex_init(&a->refresh_mu, NULL) != 0) {
        pthread_rwlock_destroy(&a->lock);
        free(a);
        free(t);
        return vt_err_set(err, VT_ENOMEM, "auth_open: pthread_mutex_init failed");
    }
    a->m = m;
    a->cur = t;
    a->gen = -1;
    vt_rc rc = auth_refresh(a, err);
    if (rc != VT_OK) {
        auth_close(a);
        return rc;
    }
    *out = a;
    return VT_OK;
}

void auth_close(auth *a)
{
    if (!a)
        return;
    vt_err err;
    pthread_mutex_lock(&a->refresh_mu);
    (void)flush_used(a, &err); /* the last marks; a failure only loses last_used_at */
    pthread_mutex_unlock(&a->refresh_mu);
    free(a->cur);
    pthread_mutex_destroy(&a->refresh_mu);
    pthread_rwlock_destroy(&a->lock);
    free(a);
}

/* Builds the table of the active rows, carrying the usage marks over from old. */
static vt_rc build_table(const meta_key_row *rows, size_t n, const key_table *old,
                         key_table **out, vt_err *err)
{
    key_table *t = calloc(1, sizeof *t + n * sizeof t->e[0]);
    if (!t)
        return vt_err_set(err, VT_ENOMEM, "auth_refresh: out of memory (%zu keys)", n);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const meta_key_row *r = &rows[i];
        key_entry *e = &t->e[k];
        auth_scope sc;
        size_t hl = 0;
        if (strlen(r->id) != ID_LEN || auth_scope_parse(r->scopes, &sc, NULL) != VT_OK ||
            sodium_hex2bin(e->hash, sizeof e->hash, r->hash, strlen(r->hash), NULL, &hl, NULL) !=
                0 ||
            hl != HASH_BYTES)
            continue; /* a row this binary cannot check never grants anything */
        memcpy(e->id, r->id, ID_LEN + 1);
        e->scope = sc;
        e->rps = r->rate_rps;
        snprintf(e->db, sizeof e->db, "%s", r->db);
        int64_t used = r->last_used_at / 1000000000;
        e->flushed_s = used;
        atomic_init(&e->used_s, used);
        k++;
    }
    t->n = k;
    qsort(t->e, t->n, sizeof t->e[0], entry_cmp);
    for (size_t i = 1; i < t->n; i++) /* duplicates cannot happen (PRIMARY KEY); be sure */
        if (memcmp(t->e[i].id, t->e[i - 1].id, ID_LEN) == 0)
            t->e[i].scope = AUTH_NONE;
    for (size_t i = 0; old && i < t->n; i++) {
        key_entry *prev = table_find((key_table *)old, t->e[i].id);
        if (!prev)
            continue;
        int64_t u = atomic_load_explicit(&prev->used_s, memory_order_relaxed);
        if (u > atomic_load_explicit(&t->e[i].used_s, memory_order_relaxed))
            atomic_store_explicit(&t->e[i].used_s, u, memory_order_relaxed);
        if (prev->flushed_s > t->e[i].flushed_s)
            t->e[i].flushed_s = prev->flushed_s;
    }
    *out = t;
    return VT_OK;
}

/* Writes the usage marks that moved since the last flush. refresh_mu held. */
static vt_rc flush_used(auth *a, vt_err *err)
{
    key_table *t = a->cur; /* only refresh (refresh_mu) replaces it */
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++)
        if (atomic_load_explicit(&t->e[i].used_s, memory_order_relaxed) > t->e[i].flushed_s)
            n++;
    if (n == 0)
        return VT_OK;
    char(*ids)[16] = calloc(n, sizeof *ids);
    int64_t *at = calloc(n, sizeof *at);
    int64_t *sec = calloc(n, sizeof *sec);
    size_t *idx = calloc(n, sizeof *idx);
    vt_rc rc = VT_OK;
    if (!ids || !at || !sec || !idx) {
        rc = vt_err_set(err, VT_ENOMEM, "auth_refresh: out of memory");
        goto out;
    }
    size_t k = 0;
    for (size_t i = 0; i < t->n && k < n; i++) {
        int64_t u = atomic_load_explicit(&t->e[i].used_s, memory_order_relaxed);
        if (u <= t->e[i].flushed_s)
            continue;
        memcpy(ids[k], t->e[i].id, sizeof ids[k]);
        sec[k] = u;
        at[k] = u * 1000000000;
        idx[k] = i;
        k++;
    }
    rc = meta_keys_touch(a->m, (const char(*)[16])ids, at, k, err);
    if (rc == VT_OK)
        for (size_t j = 0; j < k; j++)
            t->e[idx[j]].flushed_s = sec[j];
out:
    free(ids);
    free(at);
    free(sec);
    free(idx);
    return rc;
}

vt_rc auth_refresh(auth *a, vt_err *err)
{
    if (!a)
        return vt_err_set(err, VT_EINVAL, "auth_refresh: NULL argument");
    pthread_mutex_lock(&a->refresh_mu);
    int64_t gen = 0;
    vt_rc rc = meta_control_gen(a->m, &gen, err);
    if (rc == VT_OK && gen != a->gen) {
        meta_key_row *rows = NULL;
        size_t n = 0;
        rc = meta_keys_load(a->m, true, &rows, &n, &gen, err);
        key_table *t = NULL;
        if (rc == VT_OK)
            rc = build_table(rows, n, a->cur, &t, err);
        if (rows) {
            sodium_memzero(rows, n * sizeof *rows);
            free(rows);
        }
        if (rc == VT_OK) {
            pthread_rwlock_wrlock(&a->lock);
            key_table *old = a->cur;
            a->cur = t;
            atomic_store(&a->count, t->n);
            pthread_rwlock_unlock(&a->lock);
            free(old);
            a->gen = gen;
        }
    }
    if (rc == VT_OK)
        rc = flush_used(a, err);
    pthread_mutex_unlock(&a->refresh_mu);
    return rc;
}

size_t auth_key_count(auth *a)
{
    return a ? atomic_load(&a->count) : 0;
}

/* ---- the check ------------------------------------------------------------------------------- */

static const char *skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* s without trailing blanks: its length. */
static size_t trimmed_len(const char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    return n;
}

static bool scheme_is(const char *s, size_t n, const char *name)
{
    return strlen(name) == n && strncasecmp(s, name, n) == 0;
}

/* The key a request presents: first of x-api-key, Authorization, p. *present = whether any
 * credential was sent; *key / *klen point into the request or into buf (basic auth decoded).
 * Returns false when the credential is malformed. */
static bool presented_key(const auth_request *in, char *buf, size_t cap, const char **key,
                          size_t *klen, bool *present)
{
    *present = false;
    *key = NULL;
    *klen = 0;
    const char *k = NULL;
    if (in->x_api_key && *(k = skip_ws(in->x_api_key))) {
        *present = true;
        *key = k;
        *klen = trimmed_len(k);
        return true;
    }
    if (in->authorization && *(k = skip_ws(in->authorization))) {
        *present = true;
        size_t sl = strcspn(k, " \t");
        const char *rest = skip_ws(k + sl);
        size_t rl = trimmed_len(rest);
        if (rest[0] == '\0' && strncmp(k, KEY_PREFIX, KEY_PREFIX_LEN) == 0) {
            *key = k; /* a bare key */
            *klen = trimmed_len(k);
            return true;
        }
        if (scheme_is(k, sl, "Token") || scheme_is(k, sl, "Bearer")) {
            *key = rest;
            *klen = rl;
            return rl > 0;
        }
        if (!scheme_is(k, sl, "Basic") || rl == 0 || rl > 4 * (cap / 3))
            return false;
        size_t bl = 0;
        if (sodium_base642bin((unsigned char *)buf, cap - 1, rest, rl, NULL, &bl, NULL,
                              sodium_base64_VARIANT_ORIGINAL) != 0 &&
            sodium_base642bin((unsigned char *)buf, cap - 1, rest, rl, NULL, &bl, NULL,
                              sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0)
            return false;
        buf[bl] = '\0';
        const char *colon = memchr(buf, ':', bl);
        *key = colon ? colon + 1 : buf; /* user:key (user ignored); a lone key too */
        *klen = bl - (size_t)(*key - buf);
        if (colon && *klen == 0 && strncmp(buf, KEY_PREFIX, KEY_PREFIX_LEN) == 0) {
            *key = buf; /* key: (curl -u KEY:) */
            *klen = (size_t)(colon - buf);
        }
        return *klen > 0;
    }
    if (in->v1_password && *(k = skip_ws(in->v1_password))) {
        *present = true;
        *key = k;
        *klen = trimmed_len(k);
        return true;
    }
    return true;
}

void auth_check(auth *a, const auth_request *in, auth_result *out)
{
    out->status = 0;
    out->message[0] = '\0';
    out->key_id[0] = '\0';
    out->key_db[0] = '\0';
    out->key_rps = 0;
    out->granted = AUTH_NONE;
    if (!a || !in || in->need == AUTH_NONE)
        return;
    char buf[PRESENTED_MAX + 128];
    const char *key = NULL;
    size_t klen = 0;
    bool present = false;
    bool wellformed = presented_key(in, buf, sizeof buf, &key, &klen, &present);

    pthread_rwlock_rdlock(&a->lock);
    key_table *t = a->cur;
    if (t->n == 0) {
        pthread_rwlock_unlock(&a->lock);
        sodium_memzero(buf, sizeof buf);
        if (in->loopback) {
            out->granted = AUTH_ADMIN;
            return;
        }
        out->status = 403;
        snprintf(out->message, sizeof out->message,
                 "volta is in protected mode: no API key exists, so only loopback clients are "
                 "served; create one with `volta keys create --scope admin` on the server");
        return;
    }
    if (!present) {
        pthread_rwlock_unlock(&a->lock);
        out->status = 401;
        snprintf(out->message, sizeof out->message,
                 "authentication required: send an API key (x-api-key header, Authorization: "
                 "Token <key>, or u/p parameters)");
        return;
    }
    key_entry *e = NULL;
    if (wellformed && klen > KEY_PREFIX_LEN + ID_LEN + 1 && klen <= PRESENTED_MAX &&
        memcmp(key, KEY_PREFIX, KEY_PREFIX_LEN) == 0 && key[KEY_PREFIX_LEN + ID_LEN] == '_') {
        const char *secret = key + KEY_PREFIX_LEN + ID_LEN + 1;
        size_t slen = klen - (KEY_PREFIX_LEN + ID_LEN + 1);
        uint8_t h[HASH_BYTES];
        crypto_generichash(h, sizeof h, (const unsigned char *)secret, slen, NULL, 0);
        key_entry *cand = table_find(t, key + KEY_PREFIX_LEN);
        if (cand && cand->scope != AUTH_NONE && sodium_memcmp(h, cand->hash, HASH_BYTES) == 0)
            e = cand;
        sodium_memzero(h, sizeof h);
    }
    sodium_memzero(buf, sizeof buf);
    if (!e) {
        pthread_rwlock_unlock(&a->lock);
        out->status = 401;
        snprintf(out->message, sizeof out->message, "invalid API key");
        return;
    }
    memcpy(out->key_id, e->id, ID_LEN + 1);
    snprintf(out->key_db, sizeof out->key_db, "%s", e->db);
    out->key_rps = e->rps;
    out->granted = e->scope;
    int64_t now = now_s();
    if (now - atomic_load_explicit(&e->used_s, memory_order_relaxed) >= USED_EVERY_S)
        atomic_store_explicit(&e->used_s, now, memory_order_relaxed);
    if (e->scope < in->need) {
        out->status = 403;
        snprintf(out->message, sizeof out->message, "API key %s lacks the %s scope", e->id,
                 auth_scope_name(in->need));
    } else if (e->db[0] && (!in->db || strcmp(in->db, e->db) != 0)) {
        out->status = 403;
        snprintf(out->message, sizeof out->message, "API key %s is limited to database %s",
                 e->id, e->db);
    }
    pthread_rwlock_unlock(&a->lock);
}

/* ---- InfluxQL scope -------------------------------------------------------------------------- */

static bool word_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c >= 0x80;
}

static bool modifying_word(const char *w, size_t n)
{
    static const char *const words[] = {"CREATE", "DROP", "DELETE", "ALTER", "GRANT",
                                        "REVOKE", "KILL", "INTO"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strlen(words[i]) == n && strncasecmp(w, words[i], n) == 0)
            return true;
    return false;
}

/*
 * Any bare (unquoted, uncommented) keyword among CREATE DROP DELETE ALTER GRANT REVOKE KILL INTO
 * makes the text a write: InfluxQL keywords must be quoted to be used as identifiers, so a bare
 * one is a keyword, and INTO only appears in SELECT ... INTO (and continuous queries, which
 * CREATE already covers). Skipped: 'strings' and "identifiers" (with backslash escapes),
 * -- and block comments, and the /regex/ after =~ or !~. An unterminated quote ends the scan with
 * what was seen (the parser will refuse the text anyway).
 */
auth_scope auth_influxql_scope(const char *q, size_t len)
{
    if (!q)
        return AUTH_READ;
    size_t i = 0;
    bool regex_next = false; /* the last token was =~ or !~ */
    while (i < len) {
        unsigned char c = (unsigned char)q[i];
        if (c == '\'' || c == '"') {
            for (i++; i < len && (unsigned char)q[i] != c; i++)
                if (q[i] == '\\')
                    i++;
            i++;
            regex_next = false;
        } else if (c == '-' && i + 1 < len && q[i + 1] == '-') {
            while (i < len && q[i] != '\n')
                i++;
        } else if (c == '/' && i + 1 < len && q[i + 1] == '*') {
            for (i += 2; i < len && !(q[i] == '*' && i + 1 < len && q[i + 1] == '/'); i++)
                ;
            i += 2;
        } else if (c == '/' && regex_next) {
            for (i++; i < len && q[i] != '/'; i++)
                if (q[i] == '\\')
                    i++;
            i++;
            regex_next = false;
        } else if ((c == '=' || c == '!') && i + 1 < len && q[i + 1] == '~') {
            regex_next = true;
            i += 2;
        } else if (word_char(c)) {
            size_t s = i;
            while (i < len && word_char((unsigned char)q[i]))
                i++;
            if (modifying_word(q + s, i - s))
                return AUTH_WRITE;
            regex_next = false;
        } else {
            if (!isspace(c))
                regex_next = false;
            i++;
        }
    }
    return AUTH_READ;
}

/* ---- management ------------------------------------------------------------------------------ */

static void info_from_row(const meta_key_row *r, auth_key_info *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->id, sizeof o->id, "%s", r->id);
    snprintf(o->name, sizeof o->name, "%s", r->name);
    if (auth_scope_parse(r->scopes, &o->scope, NULL) != VT_OK)
        o->scope = AUTH_NONE;
    snprintf(o->db, sizeof o->db, "%s", r->db);
    o->rate_rps = r->rate_rps;
    o->created_at = r->created_at;
    snprintf(o->created_by, sizeof o->created_by, "%s", r->created_by);
    o->revoked_at = r->revoked_at;
    o->last_used_at = r->last_used_at;
}

static vt_rc check_rate(double rps, vt_err *err)
{
    if (!isfinite(rps) || rps < 0 || rps > 1e9)
        return vt_err_set(err, VT_EINVAL, "invalid rate %g (requests per second, >= 0; 0 = none)",
                          rps);
    return VT_OK;
}

vt_rc auth_key_create(meta *m, const char *name, auth_scope scope, const char *db, double rate_rps,
                      const char *who, char *key_out, size_t key_cap, auth_key_info *info,
                      vt_err *err)
{
    if (!m || !key_out)
        return vt_err_set(err, VT_EINVAL, "auth_key_create: NULL argument");
    if (key_cap < 96)
        return vt_err_set(err, VT_EINVAL, "auth_key_create: key buffer too small (%zu < 96)",
                          key_cap);
    key_out[0] = '\0';
    name = name ? name : "";
    db = db ? db : "";
    if (scope != AUTH_READ && scope != AUTH_WRITE && scope != AUTH_ADMIN)
        return vt_err_set(err, VT_EINVAL, "invalid scope %d (read, write or admin)", (int)scope);
    if (strlen(name) >= sizeof ((meta_key_row *)0)->name)
        return vt_err_set(err, VT_EINVAL, "key name too long (%zu bytes, at most 127)",
                          strlen(name));
    if (strlen(db) >= sizeof ((meta_key_row *)0)->db)
        return vt_err_set(err, VT_EINVAL, "database name too long (%zu bytes, at most 127)",
                          strlen(db));
    if (scope == AUTH_ADMIN && db[0])
        return vt_err_set(err, VT_EINVAL,
                          "an admin key cannot be limited to a database (admin endpoints "
                          "span every database); use --scope write or read with --db");
    vt_rc rc = check_rate(rate_rps, err);
    if (rc != VT_OK)
        return rc;
    if (sodium_init() < 0)
        return vt_err_set(err, VT_EIO, "auth_key_create: libsodium failed to initialise");

    meta_key_row row;
    memset(&row, 0, sizeof row);
    snprintf(row.name, sizeof row.name, "%s", name);
    snprintf(row.scopes, sizeof row.scopes, "%s", auth_scope_name(scope));
    snprintf(row.db, sizeof row.db, "%s", db);
    row.rate_rps = rate_rps;
    snprintf(row.created_by, sizeof row.created_by, "%s", who ? who : "");
    uint8_t idb[8], sb[SECRET_BYTES], h[HASH_BYTES];
    char secret[SECRET_LEN + 1];
    for (int attempt = 0; attempt < 4; attempt++) {
        randombytes_buf(idb, sizeof idb);
        randombytes_buf(sb, sizeof sb);
        base32(idb, ID_LEN * 5, row.id);
        base32(sb, SECRET_BYTES * 8, secret);
        crypto_generichash(h, sizeof h, (const unsigned char *)secret, SECRET_LEN, NULL, 0);
        sodium_bin2hex(row.hash, sizeof row.hash, h, sizeof h);
        row.created_at = meta_now_ns();
        rc = meta_keys_insert(m, &row, err);
        if (rc != VT_EEXIST)
            break;
    }
    if (rc == VT_OK) {
        snprintf(key_out, key_cap, KEY_PREFIX "%s_%s", row.id, secret);
        if (info)
            info_from_row(&row, info);
    }
    sodium_memzero(sb, sizeof sb);
    sodium_memzero(secret, sizeof secret);
    sodium_memzero(h, sizeof h);
    return rc;
}

vt_rc auth_key_list(meta *m, auth_key_info **out, size_t *n, vt_err *err)
{
    if (!m || !out || !n)
        return vt_err_set(err, VT_EINVAL, "auth_key_list: NULL argument");
    *out = NULL;
    *n = 0;
    meta_key_row *rows = NULL;
    size_t cnt = 0;
    vt_rc rc = meta_keys_load(m, false, &rows, &cnt, NULL, err);
    if (rc != VT_OK)
        return rc;
    auth_key_info *arr = NULL;
    if (cnt) {
        arr = calloc(cnt, sizeof *arr);
        if (!arr) {
            free(rows);
            return vt_err_set(err, VT_ENOMEM, "auth_key_list: out of memory (%zu keys)", cnt);
        }
        for (size_t i = 0; i < cnt; i++)
            info_from_row(&rows[i], &arr[i]);
    }
    free(rows);
    *out = arr;
    *n = cnt;
    return VT_OK;
}

vt_rc auth_key_revoke(meta *m, const char *id, const char *who, vt_err *err)
{
    if (!m || !id)
        return vt_err_set(err, VT_EINVAL, "auth_key_revoke: NULL argument");
    return meta_keys_revoke(m, id, meta_now_ns(), who ? who : "", NULL, err);
}

vt_rc auth_key_set_rate(meta *m, const char *id, double rate_rps, const char *who, vt_err *err)
{
    if (!m || !id)
        return vt_err_set(err, VT_EINVAL, "auth_key_set_rate: NULL argument");
    vt_rc rc = check_rate(rate_rps, err);
    if (rc != VT_OK)
        return rc;
    return meta_keys_set_rate(m, id, rate_rps, who ? who : "", err);
}
