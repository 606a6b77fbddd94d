/*
 * ingest/ons_csv.c — ONS CSV datasets -> line protocol.
 *
 * NOTES ON THE DESIGN
 *
 * 1. The streaming reader is a two-state machine over lines:
 *        HEADER --(first line: columns found, dataset known)--> ROWS --(finish)--> done
 *           \--(missing column, no dataset, line too long)--> FAILED (sticky: every later call
 *                                                             returns the same error)
 *    ons_reader_feed cuts the input at LF. A complete line inside the chunk is converted in place
 *    (no copy); only the unfinished tail of a chunk is copied into `carry` (<= 64 KiB + CR), which
 *    the next chunk completes. So the output is the same for any chunking, and memory is bounded
 *    by the carry, the scratch buffers (allocated once, at their largest) and the caches below.
 *
 * 2. A row is split at ';' into spans over the line (a quoted field is unquoted into `unq`), then:
 *    time (cache, note 3) -> tag prefix (cache, note 4) -> fields appended straight into the
 *    caller's buffer. A rejection at any step rolls the output back to where the row began, so a
 *    rejected row leaves no byte behind.
 *
 * 3. Time cache. din_instante is Brasília wall time; rows come sorted by hour, hundreds per hour
 *    (a generation file has ~700 rows per hour). The reader keeps the text of the last converted
 *    din_instante and its result (UTC ns, and its decimal digits ready to copy); a row whose text
 *    is the same reuses both, so the zone lookups (vt_tz_local_to_utc_sec, vt_tz_offset) run once
 *    per distinct hour. A wall time inside the spring-forward gap is found by converting back: the
 *    UTC instant plus the offset in effect then must give the same wall time, else the row is
 *    rejected. An autumn-overlap wall time is the first occurrence (what vt_tz gives, as Go).
 *
 * 4. Prefix cache. The escaped "measurement,tags " part of a line depends only on the raw bytes of
 *    the tag columns, and the same ~500-700 plants repeat every hour. The raw tag bytes (each
 *    length-prefixed) are the key of an open-addressing table (XXH3 hash) whose keys and escaped
 *    prefixes live in one arena. On a hit the row costs a memcpy; on a miss the tags are checked
 *    (UTF-8, else Latin-1 -> UTF-8; bytes line protocol cannot carry), escaped and remembered. The
 *    table is cleared when it holds PREFIX_MAX_ENTRIES or PREFIX_MAX_ARENA bytes (bounded memory).
 *
 * 5. Numbers are checked by a strict grammar and written as the shortest text that reads back to
 *    the nearest double of the input, in Go's encoding/json form (vt_fmt_json_float: 'f' digits,
 *    exponent only below 1e-6 or from 1e21). Fast path: when the input has at most 15 significant
 *    digits and lies in [1e-6, 1e21), those digits (trailing zeros dropped) *are* the shortest
 *    round-trip form (two decimals of <= 15 digits never map to the same double), so the text is
 *    written from the input digits without ever computing the double. Otherwise the span is copied
 *    into a NUL-terminated stack buffer, read with strtod (correctly rounded) and formatted with
 *    vt_fmt_json_float.
 */
#include "ingest/ons_csv.h"

#include "common/utf8.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <xxhash.h>

#include "common/timefmt.h"
#include "common/tz.h"

#define ONS_MAX_LINE 65536u /* bytes of a line, LF and CR excluded */
#define ONS_MAX_COLS 256
#define ONS_MAX_TAGS 8
#define ONS_MAX_FIELDS 6
#define ONS_ZONE "America/Sao_Paulo"
#define NUM_OUT_MAX 48    /* longest number text written (fast path <= 45, slow path < 40) */
#define NUM_SLOW_MAX 512  /* longest number text accepted */
#define NUM_DIGITS_MAX 40 /* significant digits kept by the fast path's scanner */
#define KEY_MAX 2048      /* longest prefix-cache key (rows with longer tags are not cached) */
#define PREFIX_MAX_ENTRIES 16384u
#define PREFIX_MAX_ARENA (8u << 20)
#define NS_PER_SEC 1000000000LL

/* ---- datasets ------------------------------------------------------------------------------ */

typedef struct ons_col {
    const char *column; /* ONS header name */
    const char *key;    /* tag or field key written */
} ons_col;

typedef struct ons_schema {
    ons_dataset dataset;
    const char *name;
    const char *detect; /* the column that tells this dataset from a header */
    size_t ntags;
    ons_col tags[ONS_MAX_TAGS]; /* sorted by key (byte order): the order they are written */
    size_t nfields;
    ons_col fields[ONS_MAX_FIELDS]; /* in the order written */
} ons_schema;

static const ons_schema schemas[] = {
    {ONS_GENERATION, "generation", "val_geracao", 8,
     {{"ceg", "ceg"},
      {"nom_tipocombustivel", "fuel"},
      {"cod_modalidadeoperacao", "modality"},
      {"id_ons", "ons_id"},
      {"nom_usina", "plant"},
      {"nom_tipousina", "plant_type"},
      {"id_estado", "state"},
      {"id_subsistema", "subsystem"}},
     1, {{"val_geracao", "value"}}},
    {ONS_LOAD, "load", "val_cargaenergiahomwmed", 1, {{"id_subsistema", "subsystem"}}, 1,
     {{"val_cargaenergiahomwmed", "value"}}},
    {ONS_INTERCHANGE, "interchange", "val_intercambiomwmed", 2,
     {{"id_subsistema_destino", "destination"}, {"id_subsistema_origem", "origin"}}, 1,
     {{"val_intercambiomwmed", "value"}}},
    {ONS_BALANCE, "balance", "val_gerhidraulica", 1, {{"id_subsistema", "subsystem"}}, 6,
     {{"val_gerhidraulica", "hydro"},
      {"val_gertermica", "thermal"},
      {"val_gereolica", "wind"},
      {"val_gersolar", "solar"},
      {"val_carga", "load"},
      {"val_intercambio", "interchange"}}},
};
#define NSCHEMAS (sizeof schemas / sizeof schemas[0])

static const ons_schema *schema_of(ons_dataset d)
{
    for (size_t i = 0; i < NSCHEMAS; i++)
        if (schemas[i].dataset == d)
            return &schemas[i];
    return NULL;
}

const char *ons_dataset_name(ons_dataset d)
{
    const ons_schema *s = schema_of(d);
    return s ? s->name : "unknown";
}

const char *ons_dataset_measurement(ons_dataset d)
{
    return ons_dataset_name(d);
}

ons_dataset ons_dataset_parse(const char *name, size_t len)
{
    if (name == NULL)
        return ONS_UNKNOWN;
    for (size_t i = 0; i < NSCHEMAS; i++)
        if (strlen(schemas[i].name) == len && memcmp(schemas[i].name, name, len) == 0)
            return schemas[i].dataset;
    return ONS_UNKNOWN;
}

static bool has_prefix_ci(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

ons_dataset ons_dataset_from_filename(const char *basename)
{
    if (basename == NULL)
        return ONS_UNKNOWN;
    const char *slash = strrchr(basename, '/');
    const char *b = slash ? slash + 1 : basename;
    size_t n = strlen(b);
    if (n < 4 || strcasecmp(b + n - 4, ".csv") != 0)
        return ONS_UNKNOWN;
    if (has_prefix_ci(b, "GERACAO_USINA"))
        return ONS_GENERATION;
    if (has_prefix_ci(b, "CURVA_CARGA"))
        return ONS_LOAD;
    if (has_prefix_ci(b, "INTERCAMBIO_NACIONAL"))
        return ONS_INTERCHANGE;
    if (has_prefix_ci(b, "BALANCO_ENERGIA_SUBSISTEMA"))
        return ONS_BALANCE;
    return ONS_UNKNOWN;
}

/* ---- reader state -------------------------------------------------------------------------- */

typedef struct span {
    const char *p;
    size_t n;
} span;

typedef struct prefix_ent {
    uint64_t hash;
    uint32_t key_off, key_len;
    uint32_t pre_off, pre_len;
    bool used;
} prefix_ent;

struct ons_reader {
    const ons_schema *schema; /* NULL until the header is read (unless given) */
    ons_dataset wanted;
    char *label;
    ons_reject_fn reject;
    void *reject_ctx;
    const vt_tz *tz;

    bool header_done;
    vt_rc failed; /* sticky error */
    vt_err failed_err;
    uint64_t line; /* lines completed so far */

    /* column indexes from the header */
    size_t ncols;
    size_t time_col;
    size_t tag_col[ONS_MAX_TAGS];
    size_t field_col[ONS_MAX_FIELDS];

    /* unfinished line carried from one chunk to the next */
    char *carry;
    size_t carry_len;

    /* per-row scratch, allocated once */
    span cols[ONS_MAX_COLS];
    char *unq; /* unquoted field bytes (a row's quoted fields, <= the line) */
    vt_buf pre; /* a prefix being built */

    /* time cache (note 3) */
    char time_text[24];
    size_t time_len; /* 0 = empty */
    int64_t time_ns;
    char time_digits[24];
    size_t time_digits_len;

    /* prefix cache (note 4) */
    prefix_ent *table;
    size_t table_cap, table_used;
    vt_buf arena;

    ons_stats stats;
};

vt_rc ons_reader_new(ons_dataset dataset, const char *label, ons_reject_fn reject, void *ctx,
                     ons_reader **out, vt_err *err)
{
    *out = NULL;
    if (dataset != ONS_UNKNOWN && schema_of(dataset) == NULL)
        return vt_err_set(err, VT_EINVAL, "ons: unknown dataset %d", (int)dataset);
    const vt_tz *tz = vt_tz_get(ONS_ZONE, err);
    if (tz == NULL)
        return err ? err->rc : VT_EINVAL;
    ons_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return vt_err_set(err, VT_ENOMEM, "ons: out of memory");
    r->wanted = dataset;
    r->label = strdup(label ? label : "ons");
    r->carry = malloc(ONS_MAX_LINE + 2);
    r->unq = malloc(ONS_MAX_LINE + 2);
    r->table_cap = 1024;
    r->table = calloc(r->table_cap, sizeof *r->table);
    if (r->label == NULL || r->carry == NULL || r->unq == NULL || r->table == NULL) {
        ons_reader_free(r);
        return vt_err_set(err, VT_ENOMEM, "ons: out of memory");
    }
    r->reject = reject;
    r->reject_ctx = ctx;
    r->tz = tz;
    vt_buf_init(&r->pre);
    vt_buf_init(&r->arena);
    r->stats.min_time = INT64_MAX;
    r->stats.max_time = INT64_MIN;
    *out = r;
    return VT_OK;
}

void ons_reader_free(ons_reader *r)
{
    if (r == NULL)
        return;
    free(r->label);
    free(r->carry);
    free(r->unq);
    free(r->table);
    vt_buf_free(&r->pre);
    vt_buf_free(&r->arena);
    free(r);
}

ons_dataset ons_reader_dataset(const ons_reader *r)
{
    return r->schema ? r->schema->dataset : r->wanted;
}

const ons_stats *ons_reader_stats(const ons_reader *r)
{
    return &r->stats;
}

static vt_rc fail(ons_reader *r, vt_err *err, vt_rc rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static vt_rc fail(ons_reader *r, vt_err *err, vt_rc rc, const char *fmt, ...)
{
    char msg[VT_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->failed = rc;
    vt_err_set(&r->failed_err, rc, "%s", msg);
    return vt_err_set(err, rc, "%s", msg);
}

/* ---- text helpers --------------------------------------------------------------------------- */


/* A cell for a message: at most 40 bytes, bytes outside printable ASCII shown as '?'. */
static const char *show(char out[48], span s)
{
    size_t n = s.n < 40 ? s.n : 40, k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        out[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    if (s.n > n) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
    return out;
}

static bool span_eq_ci(span s, const char *name)
{
    size_t n = strlen(name);
    return s.n == n && strncasecmp(s.p, name, n) == 0;
}

/* ---- CSV splitting -------------------------------------------------------------------------- */

/* Splits line into r->cols; returns the number of columns, at most max+1 (more are not counted),
 * or -1 on a malformed quoted field. */
static long split_row(ons_reader *r, const char *line, size_t len, size_t max)
{
    size_t nc = 0;
    if (memchr(line, '"', len) == NULL) {
        const char *p = line, *end = line + len;
        for (;;) {
            const char *semi = memchr(p, ';', (size_t)(end - p));
            const char *e = semi ? semi : end;
            if (nc <= max && nc < ONS_MAX_COLS) {
                r->cols[nc].p = p;
                r->cols[nc].n = (size_t)(e - p);
            }
            nc++;
            if (semi == NULL || nc > max)
                break;
            p = semi + 1;
        }
        return (long)nc;
    }
    /* with quotes: a field starting with '"' runs to the closing quote ("" is a quote) and must
     * be followed by ';' or the end of the line; other fields are taken as they are */
    char *w = r->unq;
    size_t i = 0;
    for (;;) {
        span s;
        if (i < len && line[i] == '"') {
            s.p = w;
            i++;
            for (;;) {
                if (i >= len)
                    return -1;
                if (line[i] == '"') {
                    if (i + 1 < len && line[i + 1] == '"') {
                        *w++ = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                *w++ = line[i++];
            }
            s.n = (size_t)(w - s.p);
            if (i < len && line[i] != ';')
                return -1;
        } else {
            const char *semi = memchr(line + i, ';', len - i);
            size_t e = semi ? (size_t)(semi - line) : len;
            s.p = line + i;
            s.n = e - i;
            i = e;
        }
        if (nc <= max && nc < ONS_MAX_COLS)
            r->cols[nc] = s;
        nc++;
        if (i >= len || nc > max)
            break;
        i++; /* the ';' */
        if (i == len) { /* a trailing ';': one more, empty, column */
            if (nc <= max && nc < ONS_MAX_COLS) {
                r->cols[nc].p = line + i;
                r->cols[nc].n = 0;
            }
            nc++;
            break;
        }
    }
    return (long)nc;
}

/* ---- header --------------------------------------------------------------------------------- */

static long find_col(span *names, size_t n, const char *column)
{
    for (size_t i = 0; i < n; i++)
        if (span_eq_ci(names[i], column))
            return (long)i;
    if (strcmp(column, "id_subsistema") == 0) /* ONS's own typo in the balance files */
        for (size_t i = 0; i < n; i++)
            if (span_eq_ci(names[i], "id_subsistena"))
                return (long)i;
    return -1;
}

static vt_rc read_header(ons_reader *r, const char *line, size_t len, vt_err *err)
{
    if (len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
        line += 3;
        len -= 3;
    }
    if (len == 0)
        return fail(r, err, VT_EPARSE, "%s:1: empty header line", r->label);
    long nc = split_row(r, line, len, ONS_MAX_COLS);
    if (nc < 0)
        return fail(r, err, VT_EPARSE, "%s:1: malformed quoted column name in the header",
                    r->label);
    if (nc > ONS_MAX_COLS)
        return fail(r, err, VT_EPARSE, "%s:1: header has more than %d columns", r->label,
                    ONS_MAX_COLS);
    span names[ONS_MAX_COLS];
    for (long i = 0; i < nc; i++) {
        span s = r->cols[i];
        while (s.n > 0 && isspace((unsigned char)s.p[0])) {
            s.p++;
            s.n--;
        }
        while (s.n > 0 && isspace((unsigned char)s.p[s.n - 1]))
            s.n--;
        names[i] = s;
    }
    const ons_schema *sc = schema_of(r->wanted);
    if (sc == NULL) {
        for (size_t k = 0; k < NSCHEMAS && sc == NULL; k++)
            if (find_col(names, (size_t)nc, schemas[k].detect) >= 0)
                sc = &schemas[k];
        if (sc == NULL)
            return fail(r, err, VT_EPARSE,
                        "%s:1: header is not an ONS generation, load, interchange or balance file "
                        "(no val_geracao, val_cargaenergiahomwmed, val_intercambiomwmed or "
                        "val_gerhidraulica column)",
                        r->label);
    }
    long c = find_col(names, (size_t)nc, "din_instante");
    if (c < 0)
        return fail(r, err, VT_EPARSE, "%s:1: header is not a %s file: missing column %s",
                    r->label, sc->name, "din_instante");
    r->time_col = (size_t)c;
    for (size_t k = 0; k < sc->ntags; k++) {
        c = find_col(names, (size_t)nc, sc->tags[k].column);
        if (c < 0)
            return fail(r, err, VT_EPARSE, "%s:1: header is not a %s file: missing column %s",
                        r->label, sc->name, sc->tags[k].column);
        r->tag_col[k] = (size_t)c;
    }
    for (size_t k = 0; k < sc->nfields; k++) {
        c = find_col(names, (size_t)nc, sc->fields[k].column);
        if (c < 0)
            return fail(r, err, VT_EPARSE, "%s:1: header is not a %s file: missing column %s",
                        r->label, sc->name, sc->fields[k].column);
        r->field_col[k] = (size_t)c;
    }
    r->schema = sc;
    r->ncols = (size_t)nc;
    r->header_done = true;
    return VT_OK;
}

/* ---- time ----------------------------------------------------------------------------------- */

static bool two_digits(const char *p, unsigned *v)
{
    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
        return false;
    *v = (unsigned)(p[0] - '0') * 10u + (unsigned)(p[1] - '0');
    return true;
}

/* "YYYY-MM-DD HH:MM[:SS]" (or 'T') -> local seconds; false when malformed or impossible. */
static bool parse_local(span s, int64_t *local)
{
    if (s.n != 16 && s.n != 19)
        return false;
    const char *p = s.p;
    unsigned y1, y2, mo, d, h, mi, sec = 0;
    if (!two_digits(p, &y1) || !two_digits(p + 2, &y2) || p[4] != '-' || !two_digits(p + 5, &mo) ||
        p[7] != '-' || !two_digits(p + 8, &d) || (p[10] != ' ' && p[10] != 'T') ||
        !two_digits(p + 11, &h) || p[13] != ':' || !two_digits(p + 14, &mi))
        return false;
    if (s.n == 19 && (p[16] != ':' || !two_digits(p + 17, &sec)))
        return false;
    int64_t y = (int64_t)y1 * 100 + y2;
    if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59)
        return false;
    int64_t day = vt_days_from_civil(y, mo, d);
    unsigned next_m = mo == 12 ? 1 : mo + 1;
    int64_t next = vt_days_from_civil(mo == 12 ? y + 1 : y, next_m, 1);
    if (day >= next)
        return false;
    *local = day * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + sec;
    return true;
}

static size_t put_i64(char *o, int64_t v)
{
    char tmp[24];
    size_t n = 0, k = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        o[k++] = '-';
    while (n)
        o[k++] = tmp[--n];
    return k;
}

/* Converts the row's din_instante (through the cache); on failure writes a reason. */
static bool row_time(ons_reader *r, span s, char *reason, size_t cap)
{
    if (s.n == r->time_len && s.n > 0 && memcmp(s.p, r->time_text, s.n) == 0)
        return true;
    char shown[48];
    int64_t local;
    if (!parse_local(s, &local)) {
        snprintf(reason, cap, "bad time \"%s\" in din_instante (want YYYY-MM-DD HH:MM:SS)",
                 show(shown, s));
        return false;
    }
    /* int64 nanoseconds span 1677-09-21 .. 2262-04-11: years 1678..2261 fit */
    if (local < vt_days_from_civil(1678, 1, 1) * 86400 ||
        local >= vt_days_from_civil(2262, 1, 1) * 86400) {
        snprintf(reason, cap, "time \"%s\" is out of range (1678..2261)", show(shown, s));
        return false;
    }
    int64_t utc = vt_tz_local_to_utc_sec(r->tz, local);
    if (utc + vt_tz_offset(r->tz, utc * NS_PER_SEC) != local) {
        snprintf(reason, cap, "local time %s does not exist in %s (daylight saving time gap)",
                 show(shown, s), ONS_ZONE);
        return false;
    }
    memcpy(r->time_text, s.p, s.n);
    r->time_len = s.n;
    r->time_ns = utc * NS_PER_SEC;
    r->time_digits_len = put_i64(r->time_digits, r->time_ns);
    return true;
}

/* ---- numbers -------------------------------------------------------------------------------- */

/* Writes the number in s as the shortest round-trip text into o (>= NUM_OUT_MAX bytes).
 * Returns the length, or -1 (not a number) or -2 (overflows a double). */
static int convert_number(span s, char *o)
{
    const char *p = s.p;
    size_t n = s.n, i = 0;
    bool neg = false;
    if (i < n && (p[i] == '+' || p[i] == '-')) {
        neg = p[i] == '-';
        i++;
    }
    char dig[NUM_DIGITS_MAX];
    int nd = 0;      /* significant digits seen (stored up to NUM_DIGITS_MAX) */
    int nstored = 0; /* digits stored */
    bool lost = false; /* a non-zero digit beyond NUM_DIGITS_MAX */
    long dp = 0;     /* decimal point position relative to the significant digits */
    bool any = false;
    for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
        any = true;
        if (nd == 0 && p[i] == '0')
            continue;
        if (nstored < NUM_DIGITS_MAX)
            dig[nstored++] = p[i];
        else if (p[i] != '0')
            lost = true;
        nd++;
        dp++;
    }
    if (i < n && (p[i] == '.' || p[i] == ',')) {
        i++;
        for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
            any = true;
            if (nd == 0 && p[i] == '0') {
                dp--;
                continue;
            }
            if (nstored < NUM_DIGITS_MAX)
                dig[nstored++] = p[i];
            else if (p[i] != '0')
                lost = true;
            nd++;
        }
    }
    if (!any)
        return -1;
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < n && (p[i] == '+' || p[i] == '-')) {
            eneg = p[i] == '-';
            i++;
        }
        if (i >= n || p[i] < '0' || p[i] > '9')
            return -1;
        long e = 0;
        for (; i < n && p[i] >= '0' && p[i] <= '9'; i++)
            if (e < 100000)
                e = e * 10 + (p[i] - '0');
        dp += eneg ? -e : e;
    }
    if (i != n)
        return -1;
    size_t k = 0;
    if (nd == 0) { /* zero, signed like strtod's */
        if (neg)
            o[k++] = '-';
        o[k++] = '0';
        o[k] = '\0';
        return (int)k;
    }
    while (nstored > 0 && dig[nstored - 1] == '0')
        nstored--;
    if (!lost && nstored <= 15 && dp >= -5 && dp <= 21) {
        /* Go 'f' with the input's own (shortest) digits */
        if (neg)
            o[k++] = '-';
        if (dp <= 0) {
            o[k++] = '0';
            o[k++] = '.';
            for (long z = dp; z < 0; z++)
                o[k++] = '0';
            memcpy(o + k, dig, (size_t)nstored);
            k += (size_t)nstored;
        } else if (dp >= nstored) {
            memcpy(o + k, dig, (size_t)nstored);
            k += (size_t)nstored;
            for (long z = nstored; z < dp; z++)
                o[k++] = '0';
        } else {
            memcpy(o + k, dig, (size_t)dp);
            k += (size_t)dp;
            o[k++] = '.';
            memcpy(o + k, dig + dp, (size_t)(nstored - dp));
            k += (size_t)(nstored - dp);
        }
        o[k] = '\0';
        return (int)k;
    }
    /* slow path: strtod on a NUL-terminated copy, decimal comma made a point */
    char tmp[NUM_SLOW_MAX + 1];
    if (n > NUM_SLOW_MAX)
        return -1;
    for (size_t j = 0; j < n; j++)
        tmp[j] = p[j] == ',' ? '.' : p[j];
    tmp[n] = '\0';
    errno = 0;
    char *end = NULL;
    double v = strtod(tmp, &end);
    if (end != tmp + n)
        return -1;
    char js[VT_FMT_JSON_FLOAT_MAX];
    size_t jn = vt_fmt_json_float(js, v);
    if (jn == 0) /* +-Inf: beyond the largest double */
        return -2;
    memcpy(o, js, jn + 1);
    return (int)jn;
}

/* ---- tag prefix ----------------------------------------------------------------------------- */

/* Appends the escaped tag value (Latin-1 -> UTF-8 when latin1). */
static void put_tag_value(vt_buf *b, span v, bool latin1)
{
    for (size_t i = 0; i < v.n; i++) {
        unsigned char c = (unsigned char)v.p[i];
        if (c == ',' || c == '=' || c == ' ') {
            vt_buf_putc(b, '\\');
            vt_buf_putc(b, c);
        } else if (latin1 && c >= 0x80) {
            vt_buf_putc(b, (uint8_t)(0xc0 | (c >> 6)));
            vt_buf_putc(b, (uint8_t)(0x80 | (c & 0x3f)));
        } else {
            vt_buf_putc(b, c);
        }
    }
}

/* Builds "measurement,k=v,... " into r->pre; false (reason set) when a value cannot be written. */
static bool build_prefix(ons_reader *r, char *reason, size_t cap)
{
    const ons_schema *sc = r->schema;
    vt_buf *b = &r->pre;
    vt_buf_reset(b);
    vt_buf_append(b, sc->name, strlen(sc->name));
    for (size_t k = 0; k < sc->ntags; k++) {
        span v = r->cols[r->tag_col[k]];
        if (v.n == 0)
            continue; /* an empty tag value leaves the tag out */
        bool high = false;
        for (size_t i = 0; i < v.n; i++) {
            unsigned char c = (unsigned char)v.p[i];
            high |= c >= 0x80;
            if (c == '\r' || (c == '\\' && (i + 1 == v.n || v.p[i + 1] == ',' ||
                                            v.p[i + 1] == '=' || v.p[i + 1] == ' '))) {
                char shown[48];
                snprintf(reason, cap,
                         "value \"%s\" of %s cannot be written as a line-protocol tag value (a "
                         "carriage return, or a backslash at its end or before ',', '=' or ' ')",
                         show(shown, v), sc->tags[k].column);
                return false;
            }
        }
        bool latin1 = high && !vt_utf8_valid((const unsigned char *)v.p, v.n);
        vt_buf_putc(b, ',');
        vt_buf_append(b, sc->tags[k].key, strlen(sc->tags[k].key));
        vt_buf_putc(b, '=');
        put_tag_value(b, v, latin1);
    }
    vt_buf_putc(b, ' ');
    return true;
}

static void table_clear(ons_reader *r)
{
    memset(r->table, 0, r->table_cap * sizeof *r->table);
    r->table_used = 0;
    vt_buf_reset(&r->arena);
}

static bool table_grow(ons_reader *r)
{
    size_t cap = r->table_cap * 2;
    prefix_ent *t = calloc(cap, sizeof *t);
    if (t == NULL)
        return false;
    for (size_t i = 0; i < r->table_cap; i++) {
        if (!r->table[i].used)
            continue;
        size_t j = (size_t)r->table[i].hash & (cap - 1);
        while (t[j].used)
            j = (j + 1) & (cap - 1);
        t[j] = r->table[i];
    }
    free(r->table);
    r->table = t;
    r->table_cap = cap;
    return true;
}

/* The escaped prefix of the current row (cached); NULL with a reason, or NULL and *oom. */
static const char *row_prefix(ons_reader *r, size_t *len, char *reason, size_t cap, bool *oom)
{
    const ons_schema *sc = r->schema;
    uint8_t key[KEY_MAX];
    size_t kn = 0;
    bool cacheable = true;
    for (size_t k = 0; k < sc->ntags; k++) {
        span v = r->cols[r->tag_col[k]];
        if (kn + 2 + v.n > KEY_MAX) {
            cacheable = false;
            break;
        }
        key[kn++] = (uint8_t)v.n;
        key[kn++] = (uint8_t)(v.n >> 8);
        memcpy(key + kn, v.p, v.n);
        kn += v.n;
    }
    uint64_t h = 0;
    size_t slot = 0;
    if (cacheable) {
        h = XXH3_64bits(key, kn);
        slot = (size_t)h & (r->table_cap - 1);
        for (;;) {
            prefix_ent *e = &r->table[slot];
            if (!e->used)
                break;
            if (e->hash == h && e->key_len == kn &&
                memcmp(r->arena.data + e->key_off, key, kn) == 0) {
                *len = e->pre_len;
                return (const char *)r->arena.data + e->pre_off;
            }
            slot = (slot + 1) & (r->table_cap - 1);
        }
    }
    if (!build_prefix(r, reason, cap))
        return NULL;
    if (r->pre.oom) {
        *oom = true;
        return NULL;
    }
    *len = r->pre.len;
    if (!cacheable)
        return (const char *)r->pre.data;
    if (r->table_used >= PREFIX_MAX_ENTRIES || r->arena.len + kn + r->pre.len > PREFIX_MAX_ARENA) {
        table_clear(r);
        slot = (size_t)h & (r->table_cap - 1);
    } else if ((r->table_used + 1) * 2 > r->table_cap) {
        if (!table_grow(r))
            return (const char *)r->pre.data; /* serve it uncached */
        slot = (size_t)h & (r->table_cap - 1);
        while (r->table[slot].used)
            slot = (slot + 1) & (r->table_cap - 1);
    }
    size_t key_off = r->arena.len;
    vt_buf_append(&r->arena, key, kn);
    size_t pre_off = r->arena.len;
    vt_buf_append(&r->arena, r->pre.data, r->pre.len);
    if (r->arena.oom) {
        r->arena.oom = false;
        table_clear(r);
        return (const char *)r->pre.data;
    }
    prefix_ent *e = &r->table[slot];
    e->hash = h;
    e->key_off = (uint32_t)key_off;
    e->key_len = (uint32_t)kn;
    e->pre_off = (uint32_t)pre_off;
    e->pre_len = (uint32_t)r->pre.len;
    e->used = true;
    r->table_used++;
    return (const char *)r->arena.data + pre_off;
}

/* ---- rows ----------------------------------------------------------------------------------- */

static void reject_row(ons_reader *r, const char *reason)
{
    r->stats.rows_rejected++;
    if (r->reject)
        r->reject(r->reject_ctx, r->line, reason);
}

static vt_rc convert_row(ons_reader *r, const char *line, size_t len, vt_buf *out, vt_err *err)
{
    const ons_schema *sc = r->schema;
    char reason[320];
    r->stats.rows_read++;
    long nc = split_row(r, line, len, r->ncols);
    if (nc < 0) {
        reject_row(r, "malformed quoted field (a closing quote must end the field)");
        return VT_OK;
    }
    if ((size_t)nc != r->ncols) {
        snprintf(reason, sizeof reason, "expected %zu columns, found %s%ld", r->ncols,
                 (size_t)nc > r->ncols ? "more than " : "", (size_t)nc > r->ncols ? nc - 1 : nc);
        reject_row(r, reason);
        return VT_OK;
    }
    if (!row_time(r, r->cols[r->time_col], reason, sizeof reason)) {
        reject_row(r, reason);
        return VT_OK;
    }
    size_t plen = 0;
    bool oom = false;
    const char *prefix = row_prefix(r, &plen, reason, sizeof reason, &oom);
    if (prefix == NULL) {
        if (oom)
            return vt_err_set(err, VT_ENOMEM, "%s:%llu: out of memory", r->label,
                              (unsigned long long)r->line);
        reject_row(r, reason);
        return VT_OK;
    }
    size_t need = plen + sc->nfields * (16 + NUM_OUT_MAX) + r->time_digits_len + 2;
    if (!vt_buf_reserve(out, need))
        return vt_err_set(err, VT_ENOMEM, "%s:%llu: out of memory", r->label,
                          (unsigned long long)r->line);
    char *o = (char *)out->data + out->len, *w = o;
    memcpy(w, prefix, plen);
    w += plen;
    size_t nf = 0, empty = 0;
    for (size_t k = 0; k < sc->nfields; k++) {
        span v = r->cols[r->field_col[k]];
        if (v.n == 0) {
            empty++;
            continue;
        }
        if (nf)
            *w++ = ',';
        size_t kl = strlen(sc->fields[k].key);
        memcpy(w, sc->fields[k].key, kl);
        w += kl;
        *w++ = '=';
        int nl = convert_number(v, w);
        if (nl < 0) {
            char shown[48];
            snprintf(reason, sizeof reason, "%s \"%s\" in %s",
                     nl == -2 ? "number out of range" : "bad number", show(shown, v),
                     sc->fields[k].column);
            reject_row(r, reason);
            return VT_OK; /* nothing was committed to out->len */
        }
        w += nl;
        nf++;
    }
    r->stats.empty_values += empty;
    if (nf == 0) {
        r->stats.rows_empty++;
        return VT_OK;
    }
    *w++ = ' ';
    memcpy(w, r->time_digits, r->time_digits_len);
    w += r->time_digits_len;
    *w++ = '\n';
    out->len += (size_t)(w - o);
    r->stats.rows_loaded++;
    r->stats.points++;
    r->stats.fields += nf;
    if (r->time_ns < r->stats.min_time)
        r->stats.min_time = r->time_ns;
    if (r->time_ns > r->stats.max_time)
        r->stats.max_time = r->time_ns;
    return VT_OK;
}

/* One complete line (LF removed). */
static vt_rc process_line(ons_reader *r, const char *line, size_t len, vt_buf *out, vt_err *err)
{
    r->line++;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len > ONS_MAX_LINE)
        return fail(r, err, VT_EPARSE, "%s:%llu: line longer than %u bytes", r->label,
                    (unsigned long long)r->line, ONS_MAX_LINE);
    if (!r->header_done)
        return read_header(r, line, len, err);
    if (len == 0)
        return VT_OK; /* blank line */
    return convert_row(r, line, len, out, err);
}

vt_rc ons_reader_feed(ons_reader *r, const void *data, size_t len, vt_buf *out, vt_err *err)
{
    if (r->failed)
        return vt_err_set(err, r->failed, "%s", r->failed_err.msg);
    const char *p = data, *end = p + len;
    if (len == 0)
        return VT_OK;
    if (r->carry_len > 0) {
        const char *nl = memchr(p, '\n', len);
        size_t take = nl ? (size_t)(nl - p) : len;
        if (r->carry_len + take > ONS_MAX_LINE + 1)
            return fail(r, err, VT_EPARSE, "%s:%llu: line longer than %u bytes", r->label,
                        (unsigned long long)r->line + 1, ONS_MAX_LINE);
        memcpy(r->carry + r->carry_len, p, take);
        r->carry_len += take;
        if (nl == NULL)
            return VT_OK;
        size_t n = r->carry_len;
        r->carry_len = 0;
        vt_rc rc = process_line(r, r->carry, n, out, err);
        if (rc != VT_OK)
            return rc;
        p = nl + 1;
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            break;
        vt_rc rc = process_line(r, p, (size_t)(nl - p), out, err);
        if (rc != VT_OK)
            return rc;
        p = nl + 1;
    }
    size_t tail = (size_t)(end - p);
    if (tail > ONS_MAX_LINE + 1)
        return fail(r, err, VT_EPARSE, "%s:%llu: line longer than %u bytes", r->label,
                    (unsigned long long)r->line + 1, ONS_MAX_LINE);
    memcpy(r->carry, p, tail);
    r->carry_len = tail;
    return VT_OK;
}

vt_rc ons_reader_finish(ons_reader *r, vt_buf *out, vt_err *err)
{
    if (r->failed)
        return vt_err_set(err, r->failed, "%s", r->failed_err.msg);
    if (r->carry_len > 0) {
        size_t n = r->carry_len;
        r->carry_len = 0;
        vt_rc rc = process_line(r, r->carry, n, out, err);
        if (rc != VT_OK)
            return rc;
    }
    if (!r->header_done)
        return fail(r, err, VT_EPARSE, "%s:1: empty file (no header)", r->label);
    return VT_OK;
}

/* ---- synthetic month ------------------------------------------------------------------------ */

/*
 * Plants are pure functions of (seed, index): subsystem, state, type, fuel, modality, name, id,
 * CEG, capacity; then sorted like ONS's files (subsystem id, state, index). A value is a pure
 * function of (seed, plant, hour): shapes per type (solar exactly 0 at night, thermal often off),
 * written as ONS does: 8 decimals ("106.55400000"; one in ten as the float artefact
 * "10455.81799999"), "0E-8" for zero, and ~0.3 % empty.
 */

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t hash4(uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
    return mix64(mix64(mix64(mix64(seed) ^ a) ^ b) ^ c);
}

static double unit(uint64_t h)
{
    return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

typedef struct synth_state {
    const char *uf, *name;
} synth_state;

static const synth_state states_n[] = {{"AM", "AMAZONAS"}, {"AP", "AMAPA"}, {"MA", "MARANHAO"},
                                       {"PA", "PARA"},     {"TO", "TOCANTINS"}, {"RR", "RORAIMA"}};
static const synth_state states_ne[] = {{"AL", "ALAGOAS"}, {"BA", "BAHIA"},   {"CE", "CEARA"},
                                        {"PB", "PARAIBA"}, {"PE", "PERNAMBUCO"}, {"PI", "PIAUI"},
                                        {"RN", "RIO GRANDE DO NORTE"}, {"SE", "SERGIPE"}};
static const synth_state states_se[] = {{"ES", "ESPIRITO SANTO"}, {"GO", "GOIAS"},
                                        {"MG", "MINAS GERAIS"},   {"MS", "MATO GROSSO DO SUL"},
                                        {"MT", "MATO GROSSO"},    {"RJ", "RIO DE JANEIRO"},
                                        {"SP", "SAO PAULO"},      {"RO", "RONDONIA"},
                                        {"DF", "DISTRITO FEDERAL"}, {"AC", "ACRE"}};
static const synth_state states_s[] = {{"PR", "PARANA"}, {"RS", "RIO GRANDE DO SUL"},
                                       {"SC", "SANTA CATARINA"}};

typedef struct synth_subsystem {
    const char *id, *name;
    const synth_state *states;
    size_t nstates;
} synth_subsystem;

/* in ONS's sort order of id_subsistema */
static const synth_subsystem synth_subsystems[4] = {
    {"N", "NORTE", states_n, sizeof states_n / sizeof states_n[0]},
    {"NE", "NORDESTE", states_ne, sizeof states_ne / sizeof states_ne[0]},
    {"S", "SUL", states_s, sizeof states_s / sizeof states_s[0]},
    {"SE", "SUDESTE", states_se, sizeof states_se / sizeof states_se[0]},
};

enum { ST_HYDRO, ST_THERMAL, ST_WIND, ST_SOLAR, ST_NUCLEAR };

static const char *const synth_words1[] = {
    "Serra",  "Salto",   "Cachoeira", "Ponte",  "Barra",  "Porto",    "Campos", "Vale",
    "Ilha",   "Pedra",   "Lagoa",     "Morro",  "Rio",    "Alto",     "Boa",    "Santa",
    "São",    "Nova",    "Ventos de", "Sertão", "Chapada", "Caetité", "Itá",    "Jirau"};
static const char *const synth_words2[] = {
    "Azul",     "Grande",  "Bonita",  "do Sul",   "Verde",   "Dourada", "Funda",  "Alta",
    "Clara",    "Preta",   "Esperança", "Vitória", "Aurora", "Maria",   "Bárbara", "Helena",
    "do Norte", "Redonda", "Velha",   "Branca",   "Cristal", "Paraíso", "Luzia",  "Tereza"};

typedef struct synth_plant {
    char fixed[320]; /* ";id_subsistema;...;ceg;" — every column between din_instante and the value */
    size_t fixed_len;
    int type;
    int thermal_peaker;
    double capacity;
    uint32_t index;
    int subsystem;
    int state;
} synth_plant;

static int plant_cmp(const void *a, const void *b)
{
    const synth_plant *x = a, *y = b;
    if (x->subsystem != y->subsystem)
        return x->subsystem < y->subsystem ? -1 : 1;
    int c = strcmp(synth_subsystems[x->subsystem].states[x->state].uf,
                   synth_subsystems[y->subsystem].states[y->state].uf);
    if (c)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

static void synth_make_plant(uint64_t seed, uint32_t i, synth_plant *p)
{
    double u = unit(hash4(seed, 1, i, 0));
    int ss = u < 0.08 ? 0 : u < 0.40 ? 1 : u < 0.55 ? 2 : 3;
    const synth_subsystem *sub = &synth_subsystems[ss];
    int st = (int)(hash4(seed, 2, i, 0) % sub->nstates);
    double t = unit(hash4(seed, 3, i, 0));
    int type = ss == 1 ? (t < 0.25 ? ST_HYDRO : t < 0.45 ? ST_THERMAL : t < 0.85 ? ST_WIND
                                                                                  : ST_SOLAR)
                       : (t < 0.55 ? ST_HYDRO : t < 0.85 ? ST_THERMAL : t < 0.93 ? ST_WIND
                                                                                  : ST_SOLAR);
    if (ss == 3 && i % 250 == 7)
        type = ST_NUCLEAR;
    static const char *const type_name[] = {"HIDROELÉTRICA", "TÉRMICA", "EOLIELÉTRICA",
                                            "FOTOVOLTAICA", "NUCLEAR"};
    static const char *const thermal_fuels[] = {"Gás",         "Biomassa",          "Óleo Diesel",
                                                "Óleo Combustível", "Carvão",
                                                "Resíduos Industriais"};
    static const char *const thermal_codes[] = {"GN", "BM", "PE", "PE", "CM", "RI"};
    uint64_t hf = hash4(seed, 4, i, 0);
    const char *fuel, *ceg_kind, *ceg_fuel;
    int peaker = 0;
    switch (type) {
    case ST_HYDRO: fuel = "Hidráulica"; ceg_kind = "UHE"; ceg_fuel = "PH"; break;
    case ST_THERMAL: {
        size_t f = (size_t)(hf % 6);
        fuel = thermal_fuels[f];
        ceg_kind = "UTE";
        ceg_fuel = thermal_codes[f];
        peaker = f == 2 || f == 3;
        break;
    }
    case ST_WIND: fuel = "Eólica"; ceg_kind = "EOL"; ceg_fuel = "CV"; break;
    case ST_SOLAR: fuel = "Fotovoltaica"; ceg_kind = "UFV"; ceg_fuel = "RS"; break;
    default: fuel = "Nuclear"; ceg_kind = "UTN"; ceg_fuel = "UR"; break;
    }
    static const char *const modalities[] = {"TIPO I",   "TIPO I",   "TIPO II-A", "TIPO II-B",
                                             "TIPO II-C", "TIPO III", "Conjunto de Usinas",
                                             "Pequenas Usinas (Tipo III)"};
    uint64_t hm = hash4(seed, 5, i, 0);
    const char *modality = modalities[hm % 8];
    if (type == ST_NUCLEAR)
        modality = "TIPO I";
    bool conj = strcmp(modality, "Conjunto de Usinas") == 0;
    bool pqu = modality[0] == 'P';
    uint64_t hw = hash4(seed, 6, i, 0);
    const char *w1 = synth_words1[hw % (sizeof synth_words1 / sizeof synth_words1[0])];
    const char *w2 = synth_words2[(hw >> 16) % (sizeof synth_words2 / sizeof synth_words2[0])];
    const char *uf = sub->states[st].uf;
    char name[96], ons_id[32], ceg[48];
    if (conj) {
        snprintf(name, sizeof name, "Conj. %s %s %u", w1, w2, i);
        snprintf(ons_id, sizeof ons_id, "CJU_%s%c%c%u", uf, w1[0], w2[0], i);
        snprintf(ceg, sizeof ceg, "-");
    } else if (pqu) {
        snprintf(name, sizeof name, "PQU %s %s %u - CARGA GLOBAL", uf, w1, i);
        snprintf(ons_id, sizeof ons_id, "PQU_%s_%c%u", uf, w1[0], i);
        snprintf(ceg, sizeof ceg, "-");
    } else {
        snprintf(name, sizeof name, "%s %s %u", w1, w2, i);
        snprintf(ons_id, sizeof ons_id, "%s%c%c%u", uf, w1[0], w2[0], i);
        snprintf(ceg, sizeof ceg, "%s.%s.%s.%06u-%u.01", ceg_kind, ceg_fuel, uf,
                 (unsigned)(hw >> 32) % 1000000u, (unsigned)(hw >> 56) % 10u);
    }
    static const double cap_base[] = {400, 250, 60, 40, 1300};
    p->capacity = cap_base[type] * (0.1 + 2.5 * unit(hash4(seed, 7, i, 0)));
    p->type = type;
    p->thermal_peaker = peaker;
    p->index = i;
    p->subsystem = ss;
    p->state = st;
    int n = snprintf(p->fixed, sizeof p->fixed, ";%s;%s;%s;%s;%s;%s;%s;%s;%s;%s;", sub->id,
                     sub->name, uf, sub->states[st].name, modality, type_name[type], fuel, name,
                     ons_id, ceg);
    p->fixed_len = n > 0 && (size_t)n < sizeof p->fixed ? (size_t)n : 0;
}

/* MW of plant p at local hour `hour` of day `day` (days since epoch). */
static double synth_value(uint64_t seed, const synth_plant *p, int64_t day, unsigned hour)
{
    double noise = unit(hash4(seed, 10, p->index, (uint64_t)(day * 24 + hour)));
    double daily = unit(hash4(seed, 11, p->index, (uint64_t)day));
    switch (p->type) {
    case ST_HYDRO: return p->capacity * (0.3 + 0.4 * daily + 0.1 * noise);
    case ST_THERMAL:
        if (daily < 0.45 || (p->thermal_peaker && (hour < 17 || hour > 21)))
            return 0;
        return p->capacity * (0.6 + 0.3 * daily + 0.02 * noise);
    case ST_WIND: return p->capacity * (0.1 + 0.5 * daily * (0.6 + 0.4 * noise));
    case ST_SOLAR: {
        if (hour < 6 || hour >= 18)
            return 0;
        double x = ((double)hour + 0.5 - 6.0) / 12.0; /* 0..1 through the day */
        double bell = 4 * x * (1 - x);
        return p->capacity * bell * (0.5 + 0.5 * daily) * (0.97 + 0.06 * noise);
    }
    default: return p->capacity * (0.94 + 0.04 * noise);
    }
}

static size_t put_u64(char *o, uint64_t v)
{
    char tmp[24];
    size_t n = 0, k = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        o[k++] = tmp[--n];
    return k;
}

/* ONS's number text of v: "0E-8", "106.55400000", sometimes "10455.81799999". */
static size_t synth_number(char *o, double v, uint64_t h)
{
    uint64_t milli = (uint64_t)(v * 1000.0 + 0.5);
    if (milli == 0) {
        memcpy(o, "0E-8", 4);
        return 4;
    }
    bool artefact = h % 10 == 3;
    uint64_t m = artefact ? milli - 1 : milli;
    size_t k = put_u64(o, m / 1000);
    unsigned frac = (unsigned)(m % 1000);
    o[k++] = '.';
    o[k++] = (char)('0' + frac / 100);
    o[k++] = (char)('0' + frac / 10 % 10);
    o[k++] = (char)('0' + frac % 10);
    memcpy(o + k, artefact ? "99999" : "00000", 5);
    return k + 5;
}

#define SYNTH_HEADER                                                                               \
    "din_instante;id_subsistema;nom_subsistema;id_estado;nom_estado;cod_modalidadeoperacao;"      \
    "nom_tipousina;nom_tipocombustivel;nom_usina;id_ons;ceg;val_geracao\r\n"
#define SYNTH_CHUNK (1u << 20)

vt_rc ons_synth_generation_month(int year, unsigned month, unsigned plants, uint64_t seed,
                                 ons_emit_fn emit, void *ctx, vt_err *err)
{
    if (year < 1900 || year > 2200 || month < 1 || month > 12)
        return vt_err_set(err, VT_EINVAL, "ons synth: bad month %d-%u", year, month);
    if (plants < 1 || plants > 100000)
        return vt_err_set(err, VT_EINVAL, "ons synth: plants must be 1..100000 (got %u)", plants);
    const vt_tz *tz = vt_tz_get(ONS_ZONE, err);
    if (tz == NULL)
        return err ? err->rc : VT_EINVAL;
    synth_plant *ps = calloc(plants, sizeof *ps);
    vt_buf b;
    vt_buf_init(&b);
    vt_rc rc = VT_OK;
    if (ps == NULL) {
        rc = vt_err_set(err, VT_ENOMEM, "ons synth: out of memory");
        goto cleanup;
    }
    for (unsigned i = 0; i < plants; i++)
        synth_make_plant(seed, i, &ps[i]);
    qsort(ps, plants, sizeof *ps, plant_cmp);
    vt_buf_append(&b, SYNTH_HEADER, sizeof SYNTH_HEADER - 1);
    int64_t first = vt_days_from_civil(year, month, 1);
    int64_t last = month == 12 ? vt_days_from_civil(year + 1, 1, 1)
                               : vt_days_from_civil(year, month + 1, 1);
    for (int64_t day = first; day < last; day++) {
        int64_t y;
        unsigned mo, d;
        vt_civil_from_days(day, &y, &mo, &d);
        for (unsigned hour = 0; hour < 24; hour++) {
            int64_t local = day * 86400 + (int64_t)hour * 3600;
            int64_t utc = vt_tz_local_to_utc_sec(tz, local);
            if (utc + vt_tz_offset(tz, utc * NS_PER_SEC) != local)
                continue; /* the spring-forward gap: ONS has no such hour */
            char ts[24];
            snprintf(ts, sizeof ts, "%04d-%02u-%02u %02u:00:00", (int)y, mo, d, hour);
            for (unsigned i = 0; i < plants; i++) {
                const synth_plant *p = &ps[i];
                if (!vt_buf_reserve(&b, 19 + p->fixed_len + 32)) {
                    rc = vt_err_set(err, VT_ENOMEM, "ons synth: out of memory");
                    goto cleanup;
                }
                char *o = (char *)b.data + b.len, *w = o;
                memcpy(w, ts, 19);
                w += 19;
                memcpy(w, p->fixed, p->fixed_len);
                w += p->fixed_len;
                uint64_t h = hash4(seed, 12, p->index, (uint64_t)(day * 24 + hour));
                if (h % 1000 >= 3) /* ~0.3 % empty */
                    w += synth_number(w, synth_value(seed, p, day, hour), h >> 10);
                *w++ = '\r';
                *w++ = '\n';
                b.len += (size_t)(w - o);
                if (b.len >= SYNTH_CHUNK) {
                    rc = emit(ctx, b.data, b.len, err);
                    if (rc != VT_OK)
                        goto cleanup;
                    vt_buf_reset(&b);
                }
            }
        }
    }
    if (b.len > 0)
        rc = emit(ctx, b.data, b.len, err);
cleanup:
    vt_buf_free(&b);
    free(ps);
    return rc;
}
