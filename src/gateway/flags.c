/*
 * gateway/flags.c — the feature flags (see flags.h).
 *
 * Design:
 *   - FLAG_DEFS is the one table of the flags: name, type, default, accepted enum names. Adding
 *     a flag is a row here and an id in flags.h.
 *   - The current values are FLAG_COUNT atomics (cur[]): a bool as 0/1, an enum as the index of
 *     its name, a number as the bits of its double. Readers load one atomic; nothing else is
 *     shared with them. Writers (flags_set, flags_revert, flags_refresh — from the handlers
 *     and the poller thread) serialise on f->mu and always reload the whole state from meta.db
 *     after writing, so the memory copy is exactly the committed state.
 *   - Values are stored in meta.db in canonical text ("true", "backup", "2.5"), so comparing
 *     text is comparing values, and the history reads well.
 *   - A stored value this binary cannot parse (a hand edit, a newer volta) reads as the
 *     default: the server keeps serving.
 */
#include "gateway/flags.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/timefmt.h"
#include "meta/meta_flags.h"

typedef enum flag_type { FT_BOOL, FT_ENUM, FT_NUMBER } flag_type;

typedef struct flag_def {
    const char *name;
    flag_type type;
    const char *def;
    const char *const *enums; /* FT_ENUM: NULL-terminated */
} flag_def;

static const char *const READ_BACKENDS[] = {"primary", "backup", NULL};
static const char *const FAILOVER_MODES[] = {"off", "alert", "auto", NULL};

static const flag_def FLAG_DEFS[FLAG_COUNT] = {
    [FLAG_MAINTENANCE] = {"enable_maintenance_mode", FT_BOOL, "false", NULL},
    [FLAG_READ_BACKEND] = {"read_backend", FT_ENUM, "primary", READ_BACKENDS},
    [FLAG_FLUX] = {"enable_flux_queries", FT_BOOL, "true", NULL},
    [FLAG_RATE_LIMIT_RPS] = {"rate_limit_rps", FT_NUMBER, "0", NULL},
    [FLAG_RATE_LIMIT_BURST] = {"rate_limit_burst", FT_NUMBER, "0", NULL},
    [FLAG_FAILOVER] = {"failover", FT_ENUM, "off", FAILOVER_MODES},
    [FLAG_FAILOVER_UNAVAILABLE_S] = {"failover_unavailable_s", FT_NUMBER, "1800", NULL},
    [FLAG_FAILOVER_LATENCY_PCT] = {"failover_latency_pct", FT_NUMBER, "300", NULL},
    [FLAG_FAILOVER_RAMP_DWELL_S] = {"failover_ramp_dwell_s", FT_NUMBER, "30", NULL},
};

#define FLAG_NUMBER_MAX 1e12

struct flags {
    meta *m;
    pthread_mutex_t mu; /* writers and reloads */
    atomic_uint_fast64_t cur[FLAG_COUNT];
    atomic_int_fast64_t version;
    int64_t gen; /* control_gen of the loaded state; under mu */
};

static uint64_t num_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double bits_num(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* Shortest text that reads back as the same double ("1800", "2.5"; whole numbers without
 * an exponent). */
static void number_text(double d, char *buf, size_t cap)
{
    if (d == floor(d) && fabs(d) < 1e15) {
        snprintf(buf, cap, "%.0f", d);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

static void accepted_enums(const flag_def *d, char *buf, size_t cap)
{
    buf[0] = 0;
    for (size_t i = 0; d->enums[i]; i++) {
        size_t len = strlen(buf);
        snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", d->enums[i]);
    }
}

/* Parses text for flag id: *raw = the atomic's value, canon = the canonical text. */
static vt_rc parse_value(flag_id id, const char *text, uint64_t *raw, char *canon, size_t cap,
                         vt_err *err)
{
    const flag_def *d = &FLAG_DEFS[id];
    if (!text)
        text = "";
    switch (d->type) {
    case FT_BOOL: {
        static const char *const yes[] = {"true", "on", "1", "yes"};
        static const char *const no[] = {"false", "off", "0", "no"};
        for (size_t i = 0; i < 4; i++) {
            if (strcasecmp(text, yes[i]) == 0 || strcasecmp(text, no[i]) == 0) {
                bool v = strcasecmp(text, yes[i]) == 0;
                *raw = v;
                snprintf(canon, cap, "%s", v ? "true" : "false");
                return VT_OK;
            }
        }
        return vt_err_set(err, VT_EINVAL,
                          "flag %s: invalid value \"%.64s\" (a boolean: true, false, on, off, 1, 0)",
                          d->name, text);
    }
    case FT_ENUM:
        for (size_t i = 0; d->enums[i]; i++) {
            if (strcasecmp(text, d->enums[i]) == 0) {
                *raw = i;
                snprintf(canon, cap, "%s", d->enums[i]);
                return VT_OK;
            }
        }
        {
            char acc[128];
            accepted_enums(d, acc, sizeof acc);
            return vt_err_set(err, VT_EINVAL, "flag %s: invalid value \"%.64s\" (one of: %s)",
                              d->name, text, acc);
        }
    case FT_NUMBER: {
        char *end = NULL;
        double v = text[0] ? strtod(text, &end) : NAN;
        if (!end || end == text || *end || !isfinite(v) || v < 0 || v > FLAG_NUMBER_MAX)
            return vt_err_set(err, VT_EINVAL,
                              "flag %s: invalid value \"%.64s\" (a number from 0 to 1e12)",
                              d->name, text);
        if (v == 0)
            v = 0; /* no "-0" */
        *raw = num_bits(v);
        number_text(v, canon, cap);
        return VT_OK;
    }
    }
    return vt_err_set(err, VT_EINVAL, "flag %s: unknown type", d->name);
}

vt_rc flag_by_name(const char *name, flag_id *out, vt_err *err)
{
    for (int i = 0; name && i < FLAG_COUNT; i++) {
        if (strcmp(name, FLAG_DEFS[i].name) == 0) {
            *out = (flag_id)i;
            return VT_OK;
        }
    }
    char known[512] = "";
    for (int i = 0; i < FLAG_COUNT; i++) {
        size_t len = strlen(known);
        snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "", FLAG_DEFS[i].name);
    }
    return vt_err_set(err, VT_ENOTFOUND, "unknown flag: %.64s (known: %s)", name ? name : "(null)",
                      known);
}

const char *flag_name(flag_id id)
{
    return (unsigned)id < FLAG_COUNT ? FLAG_DEFS[id].name : "?";
}

static uint64_t default_raw(flag_id id)
{
    uint64_t raw = 0;
    char canon[META_FLAG_VALUE_MAX];
    parse_value(id, FLAG_DEFS[id].def, &raw, canon, sizeof canon, NULL);
    return raw;
}

/* Reloads every value from meta.db (f->mu held). */
static vt_rc reload(flags *f, bool *changed, vt_err *err)
{
    meta_flag_row rows[META_FLAGS_MAX];
    size_t n = 0;
    int64_t version = 0, gen = 0;
    vt_rc rc = meta_flags_load(f->m, rows, META_FLAGS_MAX, &n, &version, &gen, err);
    if (rc != VT_OK)
        return rc;
    uint64_t vals[FLAG_COUNT];
    for (int i = 0; i < FLAG_COUNT; i++)
        vals[i] = default_raw((flag_id)i);
    for (size_t r = 0; r < n; r++) {
        flag_id id = FLAG_COUNT;
        uint64_t raw;
        char canon[META_FLAG_VALUE_MAX];
        if (flag_by_name(rows[r].name, &id, NULL) == VT_OK &&
            parse_value(id, rows[r].value, &raw, canon, sizeof canon, NULL) == VT_OK)
            vals[id] = raw;
    }
    bool any = false;
    for (int i = 0; i < FLAG_COUNT; i++) {
        if (atomic_exchange(&f->cur[i], vals[i]) != vals[i])
            any = true;
    }
    atomic_store(&f->version, version);
    f->gen = gen;
    if (changed)
        *changed = any;
    return VT_OK;
}

vt_rc flags_open(meta *m, flags **out, vt_err *err)
{
    if (!m || !out)
        return vt_err_set(err, VT_EINVAL, "flags_open: NULL argument");
    flags *f = calloc(1, sizeof *f);
    if (!f)
        return vt_err_set(err, VT_ENOMEM, "flags_open: out of memory");
    if (pthread_mutex_init(&f->mu, NULL) != 0) {
        free(f);
        return vt_err_set(err, VT_ENOMEM, "flags_open: pthread_mutex_init failed");
    }
    f->m = m;
    for (int i = 0; i < FLAG_COUNT; i++)
        atomic_init(&f->cur[i], default_raw((flag_id)i));
    atomic_init(&f->version, 0);
    pthread_mutex_lock(&f->mu);
    vt_rc rc = reload(f, NULL, err);
    pthread_mutex_unlock(&f->mu);
    if (rc != VT_OK) {
        vt_err_prefix(err, "flags_open");
        flags_close(f);
        return rc;
    }
    *out = f;
    return VT_OK;
}

void flags_close(flags *f)
{
    if (!f)
        return;
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static uint64_t cur(const flags *f, flag_id id)
{
    return atomic_load_explicit(&((flags *)f)->cur[id], memory_order_relaxed);
}

bool flags_maintenance(const flags *f)
{
    return cur(f, FLAG_MAINTENANCE) != 0;
}

read_backend flags_read_backend(const flags *f)
{
    return cur(f, FLAG_READ_BACKEND) == READ_BACKUP ? READ_BACKUP : READ_PRIMARY;
}

bool flags_flux(const flags *f)
{
    return cur(f, FLAG_FLUX) != 0;
}

double flags_rate_limit_rps(const flags *f)
{
    return bits_num(cur(f, FLAG_RATE_LIMIT_RPS));
}

double flags_rate_limit_burst(const flags *f)
{
    return bits_num(cur(f, FLAG_RATE_LIMIT_BURST));
}

failover_mode flags_failover(const flags *f)
{
    uint64_t v = cur(f, FLAG_FAILOVER);
    return v <= FAILOVER_AUTO ? (failover_mode)v : FAILOVER_OFF;
}

double flags_number(const flags *f, flag_id id)
{
    if ((unsigned)id >= FLAG_COUNT)
        return 0;
    uint64_t v = cur(f, id);
    return FLAG_DEFS[id].type == FT_NUMBER ? bits_num(v) : (double)v;
}

const char *flags_value_text(const flags *f, flag_id id, char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return "";
    buf[0] = 0;
    if ((unsigned)id >= FLAG_COUNT)
        return buf;
    const flag_def *d = &FLAG_DEFS[id];
    uint64_t v = cur(f, id);
    switch (d->type) {
    case FT_BOOL:
        snprintf(buf, cap, "%s", v ? "true" : "false");
        break;
    case FT_ENUM:
        snprintf(buf, cap, "%s", d->enums[v]);
        break;
    case FT_NUMBER:
        number_text(bits_num(v), buf, cap);
        break;
    }
    return buf;
}

int64_t flags_version(const flags *f)
{
    return atomic_load(&((flags *)f)->version);
}

/* Validates and writes (ids[i] = canonical vals[i]) as one version, then reloads. */
static vt_rc write_version(flags *f, size_t n, const flag_id *ids, char (*vals)[META_FLAG_VALUE_MAX],
                           const char *who, const char *why, int64_t *version_out, vt_err *err)
{
    const char *names[FLAG_COUNT], *values[FLAG_COUNT], *defs[FLAG_COUNT];
    for (size_t i = 0; i < n; i++) {
        names[i] = FLAG_DEFS[ids[i]].name;
        values[i] = vals[i];
        defs[i] = FLAG_DEFS[ids[i]].def;
    }
    int64_t version = 0;
    pthread_mutex_lock(&f->mu);
    vt_rc rc = meta_flags_apply(f->m, n, names, values, defs, who ? who : "", why ? why : "",
                                NULL, &version, err);
    if (rc == VT_OK)
        rc = reload(f, NULL, err);
    pthread_mutex_unlock(&f->mu);
    if (rc == VT_OK && version_out)
        *version_out = version;
    return rc;
}

vt_rc flags_set(flags *f, size_t n, const char *const *names, const char *const *values,
                const char *who, const char *why, int64_t *version_out, vt_err *err)
{
    if (!f || (n && (!names || !values)))
        return vt_err_set(err, VT_EINVAL, "flags_set: NULL argument");
    if (n == 0)
        return vt_err_set(err, VT_EINVAL, "flags_set: no flag given");
    if (n > FLAG_COUNT)
        return vt_err_set(err, VT_EINVAL, "flags_set: %zu flags given, there are only %d", n,
                          (int)FLAG_COUNT);
    flag_id ids[FLAG_COUNT];
    char vals[FLAG_COUNT][META_FLAG_VALUE_MAX];
    for (size_t i = 0; i < n; i++) {
        vt_rc rc = flag_by_name(names[i], &ids[i], err);
        uint64_t raw;
        if (rc == VT_OK)
            rc = parse_value(ids[i], values[i], &raw, vals[i], sizeof vals[i], err);
        if (rc != VT_OK)
            return rc;
        for (size_t j = 0; j < i; j++) {
            if (ids[j] == ids[i])
                return vt_err_set(err, VT_EINVAL, "flag %s given twice", names[i]);
        }
    }
    return write_version(f, n, ids, vals, who, why, version_out, err);
}

vt_rc flags_revert(flags *f, int64_t version, const char *who, const char *why,
                   int64_t *version_out, vt_err *err)
{
    if (!f)
        return vt_err_set(err, VT_EINVAL, "flags_revert: NULL argument");
    meta_flag_row rows[META_FLAGS_MAX];
    size_t n = 0;
    vt_rc rc = meta_flags_state_at(f->m, version, rows, META_FLAGS_MAX, &n, err);
    if (rc != VT_OK)
        return rc;
    flag_id ids[FLAG_COUNT];
    char vals[FLAG_COUNT][META_FLAG_VALUE_MAX];
    for (int i = 0; i < FLAG_COUNT; i++) {
        ids[i] = (flag_id)i;
        snprintf(vals[i], sizeof vals[i], "%s", FLAG_DEFS[i].def);
    }
    for (size_t r = 0; r < n; r++) {
        flag_id id = FLAG_COUNT;
        uint64_t raw;
        char canon[META_FLAG_VALUE_MAX];
        if (flag_by_name(rows[r].name, &id, NULL) == VT_OK &&
            parse_value(id, rows[r].value, &raw, canon, sizeof canon, NULL) == VT_OK)
            snprintf(vals[id], sizeof vals[id], "%s", canon);
    }
    char reason[512];
    if (why && why[0])
        snprintf(reason, sizeof reason, "revert to version %lld: %s", (long long)version, why);
    else
        snprintf(reason, sizeof reason, "revert to version %lld", (long long)version);
    return write_version(f, FLAG_COUNT, ids, vals, who, reason, version_out, err);
}

vt_rc flags_history(flags *f, size_t limit, flag_version **out, size_t *n, vt_err *err)
{
    *out = NULL;
    *n = 0;
    meta_flag_version *mv = NULL;
    size_t cnt = 0;
    vt_rc rc = meta_flags_history(f->m, limit, &mv, &cnt, err);
    if (rc != VT_OK || cnt == 0) {
        free(mv);
        return rc;
    }
    flag_version *arr = calloc(cnt, sizeof *arr);
    if (!arr) {
        free(mv);
        return vt_err_set(err, VT_ENOMEM, "flags_history: out of memory");
    }
    for (size_t i = 0; i < cnt; i++) {
        flag_version *v = &arr[i];
        v->version = mv[i].version;
        v->at_ns = mv[i].at_ns;
        snprintf(v->who, sizeof v->who, "%s", mv[i].who);
        snprintf(v->why, sizeof v->why, "%s", mv[i].why);
        for (size_t c = 0; c < mv[i].n_changes && v->n_changes < FLAG_COUNT; c++) {
            flag_change *fc = &v->changes[v->n_changes++];
            snprintf(fc->name, sizeof fc->name, "%s", mv[i].changes[c].name);
            snprintf(fc->old_value, sizeof fc->old_value, "%s", mv[i].changes[c].old_value);
            snprintf(fc->new_value, sizeof fc->new_value, "%s", mv[i].changes[c].new_value);
        }
    }
    free(mv);
    *out = arr;
    *n = cnt;
    return VT_OK;
}

vt_rc flags_refresh(flags *f, bool *changed, vt_err *err)
{
    if (changed)
        *changed = false;
    int64_t gen = 0;
    vt_rc rc = meta_flags_gen(f->m, &gen, err);
    if (rc != VT_OK)
        return rc;
    pthread_mutex_lock(&f->mu);
    if (gen != f->gen)
        rc = reload(f, changed, err);
    pthread_mutex_unlock(&f->mu);
    return rc;
}

const char *flag_default(flag_id id)
{
    return (unsigned)id < FLAG_COUNT ? FLAG_DEFS[id].def : "";
}

static json_t *value_json(const flags *f, flag_id id)
{
    uint64_t v = cur(f, id);
    switch (FLAG_DEFS[id].type) {
    case FT_BOOL: return json_boolean(v != 0);
    case FT_ENUM: return json_string(FLAG_DEFS[id].enums[v]);
    case FT_NUMBER: {
        double d = bits_num(v);
        if (d == floor(d) && d < 9e15)
            return json_integer((json_int_t)d);
        return json_real(d);
    }
    }
    return json_null();
}

json_t *flags_to_json(const flags *f)
{
    json_t *doc = json_object(), *fl = json_object();
    if (!doc || !fl) {
        json_decref(doc);
        json_decref(fl);
        return NULL;
    }
    json_object_set_new(doc, "version", json_integer(flags_version(f)));
    for (int i = 0; i < FLAG_COUNT; i++)
        json_object_set_new(fl, FLAG_DEFS[i].name, value_json(f, (flag_id)i));
    json_object_set_new(doc, "flags", fl);
    return doc;
}

json_t *flags_history_to_json(const flag_version *v, size_t n)
{
    json_t *doc = json_object(), *arr = json_array();
    if (!doc || !arr) {
        json_decref(doc);
        json_decref(arr);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        char at[VT_FMT_TIME_MAX];
        vt_fmt_go_time(at, v[i].at_ns / 1000000000, (int32_t)(v[i].at_ns % 1000000000), 0, false);
        json_t *changes = json_array();
        for (size_t c = 0; c < v[i].n_changes; c++)
            json_array_append_new(changes,
                                  json_pack("{s:s, s:s, s:s}", "name", v[i].changes[c].name,
                                            "old", v[i].changes[c].old_value, "new",
                                            v[i].changes[c].new_value));
        json_array_append_new(arr, json_pack("{s:I, s:s, s:s, s:s, s:o}", "version",
                                             (json_int_t)v[i].version, "at", at, "who", v[i].who,
                                             "why", v[i].why, "changes", changes));
    }
    json_object_set_new(doc, "versions", arr);
    return doc;
}

json_t *flags_change_to_json(flags *f, int64_t before, int64_t version)
{
    json_t *changed = json_array();
    if (version > before) {
        meta_flag_version *hist = NULL;
        size_t n = 0;
        /* another writer may have added versions since: look a few back */
        if (meta_flags_history(f->m, 16, &hist, &n, NULL) == VT_OK) {
            for (size_t i = 0; i < n; i++) {
                if (hist[i].version != version)
                    continue;
                for (size_t c = 0; c < hist[i].n_changes; c++)
                    json_array_append_new(changed, json_string(hist[i].changes[c].name));
            }
        }
        free(hist);
    }
    return json_pack("{s:I, s:o}", "version", (json_int_t)version, "changed", changed);
}
