/*
 * engine/series_index.c — hash maps and the per-database series index (see series_index.h).
 *
 * The maps are open addressing with linear probing, grown at 70% load; a slot stores the full
 * 64-bit hash so most mismatches are rejected without touching the key bytes. Deletion uses
 * backward shifting (Knuth 6.4 algorithm R), so lookups never meet tombstone slots.
 *
 * Removal of series (sidx_remove) is done in passes so that removing k series that share lists
 * compacts each list once: mark every victim dead; compact each list they belong to the first
 * time it is met (dropping all dead entries at once); free the lists left empty; then take the
 * series out of the maps and of `all` (swap with the last, via all_pos) and free them.
 */
#include "engine/series_index.h"

#include <stdlib.h>
#include <string.h>

static inline uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static inline uint64_t mum64(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* In-memory only (never stored): 16 bytes per 64x64->128 multiply (wyhash-style), so hashing a
 * ~100-byte series key costs a few nanoseconds. */
uint64_t sidx_hash(const void *data, size_t len)
{
    const uint8_t *p = data;
    const uint64_t k0 = 0xa0761d6478bd642fULL, k1 = 0xe7037ed1a0b428dbULL;
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (len * 0x100000001b3ULL);
    size_t n = len;
    while (n > 16) {
        h = mum64(rd64(p) ^ k0, rd64(p + 8) ^ h ^ k1);
        p += 16;
        n -= 16;
    }
    uint64_t a = 0, b = 0;
    if (n >= 8) {
        a = rd64(p);
        b = rd64(p + n - 8);
    } else {
        for (size_t i = 0; i < n; i++)
            a |= (uint64_t)p[i] << (8 * i);
    }
    h = mum64(a ^ k0, b ^ h ^ k1);
    return mix64(h ^ len);
}

void *sidx_map_get(const sidx_map *m, uint64_t hash, const void *key, size_t klen)
{
    if (m->cap == 0)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
        const sidx_slot *s = &m->slots[i];
        if (!s->key)
            return NULL;
        if (s->hash == hash && s->klen == klen && memcmp(s->key, key, klen) == 0)
            return s->val;
    }
}

static void map_insert_slot(sidx_slot *slots, size_t cap, const sidx_slot *e)
{
    size_t mask = cap - 1;
    size_t i = (size_t)e->hash & mask;
    while (slots[i].key)
        i = (i + 1) & mask;
    slots[i] = *e;
}

bool sidx_map_put(sidx_map *m, uint64_t hash, const void *key, size_t klen, void *val)
{
    if (m->cap) {
        size_t mask = m->cap - 1;
        for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
            sidx_slot *s = &m->slots[i];
            if (!s->key)
                break;
            if (s->hash == hash && s->klen == klen && memcmp(s->key, key, klen) == 0) {
                s->val = val;
                return true;
            }
        }
    }
    if ((m->n + 1) * 10 > m->cap * 7) {
        size_t ncap = m->cap ? m->cap * 2 : 64;
        if (ncap < m->cap || ncap > SIZE_MAX / sizeof(sidx_slot))
            return false;
        sidx_slot *ns = calloc(ncap, sizeof *ns);
        if (!ns)
            return false;
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].key)
                map_insert_slot(ns, ncap, &m->slots[i]);
        free(m->slots);
        m->slots = ns;
        m->cap = ncap;
    }
    sidx_slot e = {hash, key, klen, val};
    map_insert_slot(m->slots, m->cap, &e);
    m->n++;
    return true;
}

void *sidx_map_del(sidx_map *m, uint64_t hash, const void *key, size_t klen)
{
    if (m->cap == 0)
        return NULL;
    size_t mask = m->cap - 1, i = (size_t)hash & mask;
    for (;; i = (i + 1) & mask) {
        const sidx_slot *s = &m->slots[i];
        if (!s->key)
            return NULL;
        if (s->hash == hash && s->klen == klen && memcmp(s->key, key, klen) == 0)
            break;
    }
    void *val = m->slots[i].val;
    /* shift back every later entry of the cluster whose home slot is not in (i, j] */
    for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
        size_t home = (size_t)m->slots[j].hash & mask;
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    memset(&m->slots[i], 0, sizeof m->slots[i]);
    m->n--;
    return val;
}

void sidx_map_free(sidx_map *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static inline size_t uvarint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static inline uint8_t *put_uvarint(uint8_t *d, uint64_t v)
{
    while (v >= 0x80) {
        *d++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *d++ = (uint8_t)v;
    return d;
}

static inline uint8_t *put_lstr(uint8_t *d, const char *p, size_t len)
{
    d = put_uvarint(d, len);
    if (len)
        memcpy(d, p, len);
    return d + len;
}

/* Hot path (once per written point): sizes the key, reserves once, writes it in place. */
void series_key_build(vt_buf *b, vt_str measurement, const vt_tag *tags, size_t ntags)
{
    size_t need = uvarint_size(measurement.len) + measurement.len + uvarint_size(ntags);
    for (size_t i = 0; i < ntags; i++) {
        size_t kl = tags[i].key.len, vl = tags[i].value.len;
        size_t add = uvarint_size(kl) + kl + uvarint_size(vl) + vl;
        if (add > SIZE_MAX - need) {
            b->oom = true;
            return;
        }
        need += add;
    }
    if (!vt_buf_reserve(b, need))
        return;
    uint8_t *d = b->data + b->len;
    d = put_lstr(d, measurement.ptr, measurement.len);
    d = put_uvarint(d, ntags);
    for (size_t i = 0; i < ntags; i++) {
        d = put_lstr(d, tags[i].key.ptr, tags[i].key.len);
        d = put_lstr(d, tags[i].value.ptr, tags[i].value.len);
    }
    b->len += need;
}

void sidx_init(sidx *x)
{
    memset(x, 0, sizeof *x);
    x->next_id = 1;
}

static void list_free(sidx_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->nmfields; i++)
        free(l->mfields[i].tkey);
    free(l->mfields);
    free(l->key);
    free(l->ids);
    free(l->series);
    free(l);
}

static void map_free_lists(sidx_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            list_free(m->slots[i].val);
    sidx_map_free(m);
}

static void series_free(sidx_series *s)
{
    for (size_t f = 0; f < s->nfields; f++)
        free(s->fields[f].name);
    free(s->fields);
    free(s->tags);
    free(s->key);
    free(s);
}

void sidx_free(sidx *x)
{
    for (size_t i = 0; i < x->n; i++)
        series_free(x->all[i]);
    free(x->all);
    sidx_map_free(&x->by_key);
    sidx_map_free(&x->by_id);
    sidx_map_free(&x->types); /* keys owned by the measurement lists' mfields */
    map_free_lists(&x->postings);
    map_free_lists(&x->measurements);
    sidx_init(x);
}

sidx_series *sidx_find(const sidx *x, const uint8_t *key, size_t klen, uint64_t hash)
{
    return sidx_map_get(&x->by_key, hash, key, klen);
}

sidx_series *sidx_find_id(const sidx *x, uint64_t id)
{
    return sidx_map_get(&x->by_id, sidx_hash(&id, sizeof id), &id, sizeof id);
}

static bool read_str(vt_reader *r, vt_str *s)
{
    uint64_t len;
    const uint8_t *p;
    if (!vt_read_uvarint(r, &len) || len > vt_reader_left(r) || !vt_read_bytes(r, (size_t)len, &p))
        return false;
    s->ptr = (const char *)p;
    s->len = (size_t)len;
    return true;
}

bool series_key_parse(const uint8_t *key, size_t len, vt_str *measurement, vt_tag *tags,
                      size_t cap, size_t *ntags)
{
    vt_reader r;
    vt_reader_init(&r, key, len);
    uint64_t count;
    if (!read_str(&r, measurement) || !vt_read_uvarint(&r, &count) ||
        count > vt_reader_left(&r) / 2) /* a tag takes at least two bytes */
        return false;
    for (uint64_t i = 0; i < count; i++) {
        vt_str k, v;
        if (!read_str(&r, &k) || !read_str(&r, &v))
            return false;
        if (i < cap)
            tags[i] = (vt_tag){k, v};
    }
    *ntags = (size_t)count;
    return vt_reader_left(&r) == 0;
}

/* The list under key in m, created empty when absent; NULL on out-of-memory. */
static sidx_list *list_get(sidx_map *m, const uint8_t *key, size_t klen)
{
    uint64_t h = sidx_hash(key, klen);
    sidx_list *l = sidx_map_get(m, h, key, klen);
    if (!l) {
        l = calloc(1, sizeof *l);
        if (!l)
            return NULL;
        l->key = malloc(klen ? klen : 1);
        if (!l->key) {
            free(l);
            return NULL;
        }
        memcpy(l->key, key, klen);
        l->klen = klen;
        if (!sidx_map_put(m, h, l->key, klen, l)) {
            list_free(l);
            return NULL;
        }
    }
    return l;
}

/* Adds s (id) to the list under key in m, creating it; keeps ids ascending. */
static bool list_add(sidx_map *m, const uint8_t *key, size_t klen, sidx_series *s)
{
    sidx_list *l = list_get(m, key, klen);
    if (!l)
        return false;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 4;
        uint64_t *ni = realloc(l->ids, nc * sizeof *ni);
        if (!ni)
            return false;
        l->ids = ni;
        sidx_series **ns = realloc(l->series, nc * sizeof *ns);
        if (!ns)
            return false;
        l->series = ns;
        l->cap = nc;
    }
    size_t at = l->n;
    while (at > 0 && l->ids[at - 1] > s->id)
        at--;
    memmove(l->ids + at + 1, l->ids + at, (l->n - at) * sizeof *l->ids);
    memmove(l->series + at + 1, l->series + at, (l->n - at) * sizeof *l->series);
    l->ids[at] = s->id;
    l->series[at] = s;
    l->n++;
    return true;
}

static bool pair_key(vt_buf *b, vt_str a, const char *bp, size_t blen)
{
    vt_buf_reset(b);
    vt_buf_append(b, a.ptr, a.len);
    vt_buf_putc(b, 0);
    vt_buf_append(b, bp, blen);
    return !b->oom;
}

sidx_series *sidx_add(sidx *x, uint64_t id, const uint8_t *key, size_t klen, uint64_t hash)
{
    sidx_series *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    vt_buf kb;
    vt_buf_init(&kb);
    s->key = malloc(klen ? klen : 1);
    if (!s->key)
        goto fail;
    memcpy(s->key, key, klen);
    s->keylen = klen;
    s->hash = hash;
    /* first the count (and the check of the whole key), then the tags into their array */
    if (!series_key_parse(s->key, klen, &s->measurement, NULL, 0, &s->ntags))
        goto fail;
    if (s->ntags) {
        s->tags = calloc(s->ntags, sizeof *s->tags);
        if (!s->tags ||
            !series_key_parse(s->key, klen, &s->measurement, s->tags, s->ntags, &s->ntags))
            goto fail;
    }
    if (x->n == x->cap) {
        size_t nc = x->cap ? x->cap * 2 : 64;
        sidx_series **na = realloc(x->all, nc * sizeof *na);
        if (!na)
            goto fail;
        x->all = na;
        x->cap = nc;
    }
    s->id = id ? id : x->next_id;
    if (s->id >= x->next_id)
        x->next_id = s->id + 1;
    if (!sidx_map_put(&x->by_key, hash, s->key, klen, s))
        goto fail;
    if (!sidx_map_put(&x->by_id, sidx_hash(&s->id, sizeof s->id), &s->id, sizeof s->id, s))
        goto fail; /* by_key holds a dangling entry only on OOM; the engine fails then anyway */
    s->all_pos = x->n;
    x->all[x->n++] = s;
    if (!list_add(&x->measurements, (const uint8_t *)s->measurement.ptr, s->measurement.len, s))
        goto fail_added;
    for (size_t i = 0; i < s->ntags; i++) {
        if (!pair_key(&kb, s->tags[i].key, s->tags[i].value.ptr, s->tags[i].value.len) ||
            !list_add(&x->postings, kb.data, kb.len, s))
            goto fail_added;
    }
    vt_buf_free(&kb);
    return s;
fail_added:
    vt_buf_free(&kb);
    return NULL; /* s stays owned by the index */
fail:
    vt_buf_free(&kb);
    free(s->tags);
    free(s->key);
    free(s);
    return NULL;
}

int sidx_series_field(const sidx_series *s, const char *name, size_t len)
{
    for (size_t i = 0; i < s->nfields; i++)
        if (s->fields[i].len == len && vt_mem_eq(s->fields[i].name, name, len))
            return (int)i;
    return -1;
}

int sidx_series_add_field(sidx_series *s, const char *name, size_t len, vt_type type)
{
    if (s->nfields == s->fcap) {
        size_t nc = s->fcap ? s->fcap * 2 : 2;
        sidx_field *nf = realloc(s->fields, nc * sizeof *nf);
        if (!nf)
            return -1;
        s->fields = nf;
        s->fcap = nc;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, name, len);
    copy[len] = '\0';
    s->fields[s->nfields] = (sidx_field){copy, len, type};
    return (int)s->nfields++;
}

vt_type sidx_field_type(const sidx *x, vt_str measurement, const char *field, size_t flen)
{
    vt_buf kb;
    vt_buf_init(&kb);
    vt_type t = VT_TYPE_NONE;
    if (pair_key(&kb, measurement, field, flen))
        t = (vt_type)(uintptr_t)sidx_map_get(&x->types, sidx_hash(kb.data, kb.len), kb.data, kb.len);
    vt_buf_free(&kb);
    return t;
}

bool sidx_set_field_type(sidx *x, vt_str measurement, const char *field, size_t flen, vt_type t)
{
    sidx_list *l = list_get(&x->measurements, (const uint8_t *)measurement.ptr, measurement.len);
    if (!l)
        return false;
    for (size_t i = 0; i < l->nmfields; i++) {
        sidx_mfield *mf = &l->mfields[i];
        if (mf->len == flen && memcmp(mf->name, field, flen) == 0) {
            mf->type = t;
            return sidx_map_put(&x->types, sidx_hash(mf->tkey, mf->tklen), mf->tkey, mf->tklen,
                                (void *)(uintptr_t)t);
        }
    }
    if (l->nmfields == l->mfcap) {
        size_t nc = l->mfcap ? l->mfcap * 2 : 4;
        sidx_mfield *nf = realloc(l->mfields, nc * sizeof *nf);
        if (!nf)
            return false;
        l->mfields = nf;
        l->mfcap = nc;
    }
    size_t tklen = measurement.len + 1 + flen;
    uint8_t *k = malloc(tklen + 1);
    if (!k)
        return false;
    if (measurement.len)
        memcpy(k, measurement.ptr, measurement.len);
    k[measurement.len] = 0;
    if (flen)
        memcpy(k + measurement.len + 1, field, flen);
    k[tklen] = 0;
    if (!sidx_map_put(&x->types, sidx_hash(k, tklen), k, tklen, (void *)(uintptr_t)t)) {
        free(k);
        return false;
    }
    l->mfields[l->nmfields++] =
        (sidx_mfield){k, tklen, (const char *)k + measurement.len + 1, flen, t};
    return true;
}

const sidx_list *sidx_postings(const sidx *x, vt_str key, vt_str value)
{
    vt_buf kb;
    vt_buf_init(&kb);
    const sidx_list *l = NULL;
    if (pair_key(&kb, key, value.ptr, value.len))
        l = sidx_map_get(&x->postings, sidx_hash(kb.data, kb.len), kb.data, kb.len);
    vt_buf_free(&kb);
    return l;
}

const sidx_list *sidx_measurement(const sidx *x, vt_str measurement)
{
    return sidx_map_get(&x->measurements, sidx_hash(measurement.ptr, measurement.len),
                        measurement.ptr, measurement.len);
}

/* Drops the dead entries of l (ids stay ascending). */
static void list_compact(sidx_list *l)
{
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (l->series[i]->dead)
            continue;
        l->ids[k] = l->ids[i];
        l->series[k++] = l->series[i];
    }
    l->n = k;
}

/* The list of s for slot j: 0 = its measurement's, j > 0 = the posting of tag j - 1. */
static sidx_list *series_list(const sidx *x, const sidx_series *s, size_t j, vt_buf *kb)
{
    if (j == 0)
        return sidx_map_get(&x->measurements, sidx_hash(s->measurement.ptr, s->measurement.len),
                            s->measurement.ptr, s->measurement.len);
    const vt_tag *t = &s->tags[j - 1];
    pair_key(kb, t->key, t->value.ptr, t->value.len); /* reserved by the caller: cannot fail */
    return sidx_map_get(&x->postings, sidx_hash(kb->data, kb->len), kb->data, kb->len);
}

bool sidx_remove(sidx *x, sidx_series **v, size_t n)
{
    size_t need = 1;
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < v[i]->ntags; t++) {
            size_t l = v[i]->tags[t].key.len + 1 + v[i]->tags[t].value.len;
            if (l > need)
                need = l;
        }
    vt_buf kb;
    vt_buf_init(&kb);
    if (!vt_buf_reserve(&kb, need)) {
        vt_buf_free(&kb);
        return false;
    }
    for (size_t i = 0; i < n; i++)
        v[i]->dead = true;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j <= v[i]->ntags; j++) {
            sidx_list *l = series_list(x, v[i], j, &kb);
            if (l && !l->dirty) {
                list_compact(l);
                l->dirty = true;
            }
        }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j <= v[i]->ntags; j++) {
            sidx_list *l = series_list(x, v[i], j, &kb);
            if (!l || !l->dirty)
                continue;
            l->dirty = false;
            if (l->n > 0)
                continue;
            if (j == 0) {
                /* the measurement is gone: forget its field types */
                for (size_t f = 0; f < l->nmfields; f++)
                    sidx_map_del(&x->types, sidx_hash(l->mfields[f].tkey, l->mfields[f].tklen),
                                 l->mfields[f].tkey, l->mfields[f].tklen);
                sidx_map_del(&x->measurements, sidx_hash(l->key, l->klen), l->key, l->klen);
            } else {
                sidx_map_del(&x->postings, sidx_hash(l->key, l->klen), l->key, l->klen);
            }
            list_free(l);
        }
    for (size_t i = 0; i < n; i++) {
        sidx_series *s = v[i];
        sidx_map_del(&x->by_key, s->hash, s->key, s->keylen);
        sidx_map_del(&x->by_id, sidx_hash(&s->id, sizeof s->id), &s->id, sizeof s->id);
        sidx_series *last = x->all[--x->n];
        x->all[s->all_pos] = last;
        last->all_pos = s->all_pos;
        series_free(s);
    }
    vt_buf_free(&kb);
    return true;
}
