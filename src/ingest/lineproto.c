/*
 * ingest/lineproto.c — InfluxDB line protocol parser and canonical writer.
 *
 * NOTES ON THE DESIGN OF THE PARSER
 *
 * 1. Grammar (the strict rules of the line-protocol v2 proposal, as the conformance corpus has
 * them):
 *
 *      body      = { blank | comment | entry } ; lines end with LF, CRLF, or a CR at end of body
 *      blank     = { ' ' } EOL
 *      comment   = { ' ' } '#' { printable or >= 0x80 } EOL    (anything else: the line is an
 * error) entry     = { ' ' } measurement { ',' tagkey '=' tagval } ' ' { ' ' } field { ',' field }
 * [ ' ' { ' ' } [ time ] { ' ' } ] EOL field     = fieldkey '=' ( '"' string '"' | number | bool )
 *
 *    Element kinds and the bytes they may hold (nonprint = 0x00-0x1f and 0x7f):
 *      measurement: not ',' ' ' nonprint;                   escapes: "\ " "\,"
 *      tag key, field key: not ',' '=' ' ' CR LF nonprint;  escapes: "\," "\=" "\ "
 *      tag value:   not ',' '=' ' ' CR LF;                  escapes: "\," "\=" "\ "
 *      string:      anything but an unescaped '"' (LF allowed: an entry may span lines);
 *                   escapes: "\\" "\""
 *      other values: up to ',' ' ' CR LF, then checked by type.
 *    A backslash before any other byte stays a literal backslash, and the byte after it is read
 *    by the normal rules (so in a tag value `\\ ` is a backslash followed by an escaped space).
 *    Every unescaped token must be valid UTF-8 (overlongs and surrogates rejected).
 *
 * 2. Values: the type is chosen by the first byte: '"' string; t T f F boolean (t T true True
 *    TRUE f F false False FALSE exactly); '-' '.' or a digit: number, whose last byte says
 *    integer ('i', signed 64-bit decimal), unsigned ('u', 64-bit decimal, no sign) or otherwise
 *    float (Go's ParseFloat syntax: decimal or hex "0x1.8p3", '_' between digits; inf and NaN
 *    are rejected, and so are values that overflow to infinity).
 *
 * 3. Time: an optional decimal int64 (leading '-' allowed) scaled by the precision with an
 *    overflow check; without one the point takes default_time truncated (floor) to the precision.
 *
 * 4. Points: tags are sorted by key bytewise and a repeated tag key is an error; fields stay in
 *    the order written and a repeated field key keeps the first position with the last value.
 *
 * 5. Memory: strings that need no unescaping are slices of the body. Unescaped strings go to one
 *    arena reused from line to line; when it must grow in the middle of a line the slices already
 *    handed out are rebased onto the new block (arena_reserve). The tag and field arrays grow and
 *    are reused. Nothing is allocated per point once they fit the largest line.
 *
 * 6. Errors: an error names the 1-based line and byte column where the bad element starts; the
 *    parser then skips to the byte after the next LF from where it stopped and goes on.
 *    "line too long" is decided on the physical line (before parsing it) and again on the whole
 *    entry (a string may hold newlines).
 */
#include "ingest/lineproto.h"

#include "common/utf8.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define LP_DEFAULT_MAX_LINE ((size_t)1 << 20)
#define LP_DEFAULT_MAX_TAGS 256
#define LP_DEFAULT_MAX_FIELDS 1024
#define LP_DEFAULT_MAX_BODY ((size_t)256 << 20)
/* parse_fields_quick remembers the keys of this many first fields, each up to this long. */
#define LP_QUICK_KEYS 4
#define LP_QUICK_KEY_MAX 24
/* Past this many fields a repeated key is found by sorting instead of by a linear search. */
#define LP_LINEAR_DUP_FIELDS 32

/* Character classes, one bit per element kind (generated; see note 1). */
enum {
    C_MEAS = 0x01,  /* may appear in a measurement */
    C_KEY = 0x02,   /* may appear in a tag key or field key */
    C_TAGV = 0x04,  /* may appear in a tag value */
    C_FVAL = 0x08,  /* may appear in a non-string field value */
    C_CMT = 0x10,   /* may appear in a comment */
    C_TIME = 0x20,  /* may appear in a timestamp */
    C_ESC_M = 0x40, /* escapable in a measurement */
    C_ESC_K = 0x80, /* escapable in a key or tag value */
};

static const uint8_t lp_class[256] = {
    0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c,
    0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c,
    0xd0, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0xd0, 0x3f, 0x1f, 0x1f,
    0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x1f, 0x1f, 0x1f, 0x99, 0x1f, 0x1f,
    0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f,
    0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f,
    0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f,
    0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x0c,
    0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f,
    0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f,
    0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f,
    0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f,
    0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f,
    0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f,
    0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f,
    0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f,
};

typedef struct lp_dup_ent {
    vt_str key;
    size_t index;
} lp_dup_ent;

struct lp_parser {
    lp_options opts; /* limits resolved (no zero members) */
    const char *body;
    const char *end;
    const char *pos; /* next unread byte */
    size_t line;     /* line number of pos */
    bool dead;       /* body rejected by lp_parser_reset */
    const char *last_start;
    size_t last_len;

    /* scratch, reused from line to line */
    vt_str measurement;
    vt_tag *tags;
    size_t ntags, tags_cap;
    vt_field *fields;
    size_t nfields, fields_cap;
    char *arena;
    size_t arena_len, arena_cap;
    lp_dup_ent *dups;
    size_t dups_cap;
    char *num;
    size_t num_cap;
    lp_series_guess guess; /* lp_parser_set_guess */
    /* parse_fields_quick: the keys of the first fields of the last line it took (copies) */
    char quick_key[LP_QUICK_KEYS][LP_QUICK_KEY_MAX];
    unsigned char quick_key_len[LP_QUICK_KEYS]; /* 0 = none */
};

/* Thrown (by return value) out of the line parser; the error is already filled in. */
typedef struct lp_line {
    const char *start;      /* first byte of the entry (after leading spaces) */
    const char *line_start; /* first byte of the physical line */
    const char *pos;        /* where parsing stopped */
    lp_error *err;
} lp_line;

int lp_precision_parse(const char *s, lp_precision *out)
{
    if (s == NULL || *s == '\0') {
        *out = LP_PRECISION_NS;
        return 0;
    }
    if (s[0] == '1' && s[1] != '\0') /* the corpus' "1ns", "1µs", ... */
        s++;
    static const struct {
        const char *name;
        lp_precision p;
    } names[] = {
        {"ns", LP_PRECISION_NS},        {"n", LP_PRECISION_NS},         {"u", LP_PRECISION_US},
        {"us", LP_PRECISION_US},        {"\xc2\xb5s", LP_PRECISION_US}, /* U+00B5 micro sign */
        {"\xce\xbcs", LP_PRECISION_US},                                 /* U+03BC greek mu */
        {"ms", LP_PRECISION_MS},        {"s", LP_PRECISION_S},          {"m", LP_PRECISION_M},
        {"h", LP_PRECISION_H},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(s, names[i].name) == 0) {
            *out = names[i].p;
            return 0;
        }
    }
    return -1;
}

int64_t lp_precision_ns(lp_precision p)
{
    switch (p) {
    case LP_PRECISION_NS: return 1;
    case LP_PRECISION_US: return 1000;
    case LP_PRECISION_MS: return 1000000;
    case LP_PRECISION_S: return INT64_C(1000000000);
    case LP_PRECISION_M: return INT64_C(60000000000);
    case LP_PRECISION_H: return INT64_C(3600000000000);
    }
    return 1;
}

lp_parser *lp_parser_new(const lp_options *opts)
{
    lp_parser *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    lp_parser_set_options(p, opts);
    return p;
}

void lp_parser_set_options(lp_parser *p, const lp_options *opts)
{
    if (opts != NULL)
        p->opts = *opts;
    else
        memset(&p->opts, 0, sizeof p->opts);
    if ((unsigned)p->opts.precision > LP_PRECISION_H)
        p->opts.precision = LP_PRECISION_NS;
    lp_limits *l = &p->opts.limits;
    if (l->max_line_bytes == 0)
        l->max_line_bytes = LP_DEFAULT_MAX_LINE;
    if (l->max_tags == 0)
        l->max_tags = LP_DEFAULT_MAX_TAGS;
    if (l->max_fields == 0)
        l->max_fields = LP_DEFAULT_MAX_FIELDS;
    if (l->max_body_bytes == 0)
        l->max_body_bytes = LP_DEFAULT_MAX_BODY;
    p->dead = true;
    p->body = p->end = p->pos = NULL;
}

void lp_parser_free(lp_parser *p)
{
    if (p == NULL)
        return;
    free(p->tags);
    free(p->fields);
    free(p->arena);
    free(p->dups);
    free(p->num);
    free(p);
}

vt_rc lp_parser_reset(lp_parser *p, const char *body, size_t len)
{
    if (body == NULL && len == 0)
        body = ""; /* an empty body: keep pointer arithmetic off NULL */
    p->body = body;
    p->end = body + len;
    p->pos = body;
    p->line = 1;
    p->last_start = body;
    p->last_len = 0;
    p->dead = len > p->opts.limits.max_body_bytes || (body == NULL && len > 0);
    if (p->dead) {
        p->pos = p->end = body;
        return VT_ELIMIT;
    }
    return VT_OK;
}

void lp_parser_last_line(const lp_parser *p, const char **start, size_t *len)
{
    *start = p->last_start;
    *len = p->last_len;
}

/* ---- errors ------------------------------------------------------------------------------ */

static size_t count_newlines(const char *a, const char *b)
{
    size_t n = 0;
    while (a < b) {
        const char *nl = memchr(a, '\n', (size_t)(b - a));
        if (nl == NULL)
            break;
        n++;
        a = nl + 1;
    }
    return n;
}

/* Formats byte c for a message: 'x' when printable, else '\xNN'. */
static const char *show_char(char buf[8], const char *at, const char *end)
{
    if (at >= end)
        return "end of input";
    unsigned char c = (unsigned char)*at;
    if (c == '\n')
        return "newline";
    if (c >= 0x20 && c < 0x7f)
        snprintf(buf, 8, "'%c'", c);
    else
        snprintf(buf, 8, "'\\x%02x'", c);
    return buf;
}

/* Fills the error for a problem found at `at` (in the current entry) and returns LP_ERROR. */
static int lp_fail(lp_parser *p, lp_line *ln, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int lp_fail(lp_parser *p, lp_line *ln, const char *at, const char *fmt, ...)
{
    lp_error *e = ln->err;
    if (at > p->end)
        at = p->end;
    const char *ls = ln->line_start;
    size_t extra = count_newlines(ls, at);
    if (extra > 0) {
        const char *q = at;
        while (q > ls && q[-1] != '\n')
            q--;
        ls = q;
    }
    e->line = p->line + extra;
    e->column = (size_t)(at - ls) + 1;
    const char *le = memchr(ls, '\n', (size_t)(p->end - ls));
    if (le == NULL)
        le = p->end;
    if (le > ls && le[-1] == '\r')
        le--;
    e->line_start = ls;
    e->line_len = (size_t)(le - ls);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    if (ln->pos < at)
        ln->pos = at;
    return LP_ERROR;
}

/* ---- scratch storage ---------------------------------------------------------------------- */

static void rebase(vt_str *s, const char *old, size_t used, char *fresh)
{
    if (s->ptr != NULL && s->ptr >= old && s->ptr < old + used)
        s->ptr = fresh + (s->ptr - old);
}

/* Makes room for n more arena bytes, rebasing slices already handed out (note 5). */
static bool arena_reserve(lp_parser *p, size_t n)
{
    if (p->arena_cap - p->arena_len >= n)
        return true;
    if (n > SIZE_MAX / 2 - p->arena_len)
        return false;
    size_t cap = p->arena_cap ? p->arena_cap * 2 : 4096;
    while (cap - p->arena_len < n)
        cap *= 2;
    char *fresh = malloc(cap);
    if (fresh == NULL)
        return false;
    char *old = p->arena;
    size_t used = p->arena_len;
    if (used > 0) {
        memcpy(fresh, old, used);
        rebase(&p->measurement, old, used, fresh);
        for (size_t i = 0; i < p->ntags; i++) {
            rebase(&p->tags[i].key, old, used, fresh);
            rebase(&p->tags[i].value, old, used, fresh);
        }
        for (size_t i = 0; i < p->nfields; i++) {
            rebase(&p->fields[i].key, old, used, fresh);
            if (p->fields[i].value.type == VT_TYPE_STRING)
                rebase(&p->fields[i].value.v.s, old, used, fresh);
        }
    }
    free(old);
    p->arena = fresh;
    p->arena_cap = cap;
    return true;
}

static bool grow_array(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : 16;
    while (ncap < need)
        ncap *= 2;
    if (ncap > SIZE_MAX / elem)
        return false;
    void *n = realloc(*arr, ncap * elem);
    if (n == NULL)
        return false;
    *arr = n;
    *cap = ncap;
    return true;
}

/* ---- UTF-8 -------------------------------------------------------------------------------- */


/* ---- tokens ------------------------------------------------------------------------------- */

/*
 * Scans a measurement, key or tag value starting at s: bytes of class `allow`, plus backslash
 * escapes of class `esc`. Sets *out to the unescaped token (a body slice, or arena bytes when it
 * had escapes) and returns the first byte after it. *bad is set on invalid UTF-8 and *oom when the
 * arena could not grow.
 */
#if defined(__SSE2__)
/*
 * Fast span for scan_token: skips 16 bytes at a time while none of them is a possible stop
 * byte: ',' '=' ' ' '\\' or a control byte (< 0x20 or 0x7f). That set contains every byte that
 * C_MEAS, C_KEY or C_TAGV disallow (checked against lp_class), so each skipped byte is one the
 * byte loop would have taken; the byte loop then goes on from the first candidate exactly as
 * before. Only reads 16 bytes where 16 remain before e. Sets *hi when a skipped byte is >= 0x80.
 */
static inline const unsigned char *span_plain(const unsigned char *u, const unsigned char *e,
                                              unsigned *hi)
{
    const __m128i comma = _mm_set1_epi8(','), eq = _mm_set1_epi8('='), sp = _mm_set1_epi8(' ');
    const __m128i bs = _mm_set1_epi8('\\'), del = _mm_set1_epi8(0x7f), c1f = _mm_set1_epi8(0x1f);
    while (e - u >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)u);
        __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, comma), _mm_cmpeq_epi8(v, eq)),
                                    _mm_or_si128(_mm_cmpeq_epi8(v, sp), _mm_cmpeq_epi8(v, bs)));
        stop = _mm_or_si128(stop, _mm_cmpeq_epi8(v, del));
        stop = _mm_or_si128(stop, _mm_cmpeq_epi8(_mm_min_epu8(v, c1f), v)); /* v <= 0x1f */
        unsigned m = (unsigned)_mm_movemask_epi8(stop);
        unsigned h = (unsigned)_mm_movemask_epi8(v);
        if (m) {
            unsigned k = (unsigned)__builtin_ctz(m);
            if (h & ((1u << k) - 1u))
                *hi = 0x80;
            return u + k;
        }
        if (h)
            *hi = 0x80;
        u += 16;
    }
    return u;
}
#endif

static const char *scan_token(lp_parser *p, const char *s, uint8_t allow, uint8_t esc, vt_str *out,
                              bool *bad, bool *oom)
{
    const unsigned char *u = (const unsigned char *)s;
    const unsigned char *e = (const unsigned char *)p->end;
    unsigned bits = 0;
    bool escaped = false;
#if defined(__SSE2__)
    u = span_plain(u, e, &bits);
#endif
    while (u < e) {
        unsigned char c = *u;
        if (c != '\\') {
            if (!(lp_class[c] & allow))
                break;
            bits |= c;
            u++;
            continue;
        }
        if (u + 1 < e && (lp_class[u[1]] & esc)) {
            escaped = true;
            u += 2;
        } else {
            u++;
        }
#if defined(__SSE2__)
        u = span_plain(u, e, &bits);
#endif
    }
    size_t rawlen = (size_t)((const char *)u - s);
    *bad = false;
    *oom = false;
    if (!escaped) {
        out->ptr = s;
        out->len = rawlen;
    } else {
        if (!arena_reserve(p, rawlen)) {
            *oom = true;
            out->ptr = s;
            out->len = 0;
            return (const char *)u;
        }
        char *d = p->arena + p->arena_len;
        size_t n = 0;
        for (size_t i = 0; i < rawlen; i++) {
            if (s[i] == '\\' && i + 1 < rawlen && (lp_class[(unsigned char)s[i + 1]] & esc))
                i++;
            d[n++] = s[i];
        }
        p->arena_len += n;
        out->ptr = d;
        out->len = n;
    }
    if ((bits & 0x80) && !vt_utf8_valid((const unsigned char *)out->ptr, out->len))
        *bad = true;
    return (const char *)u;
}

/* Scans a string field body after its opening quote; returns the closing quote or NULL. */
static const char *scan_string(lp_parser *p, const char *s, vt_str *out, bool *bad, bool *oom)
{
    *bad = false;
    *oom = false;
    size_t left = (size_t)(p->end - s);
    const char *q = memchr(s, '"', left);
    if (q == NULL)
        return NULL;
    if (memchr(s, '\\', (size_t)(q - s)) == NULL) { /* fast path: no escapes */
        out->ptr = s;
        out->len = (size_t)(q - s);
    } else {
        const char *c = s;
        for (;;) {
            if (c >= p->end)
                return NULL;
            if (*c == '"')
                break;
            if (*c == '\\' && c + 1 < p->end && (c[1] == '"' || c[1] == '\\'))
                c += 2;
            else
                c++;
        }
        q = c;
        size_t rawlen = (size_t)(q - s);
        if (!arena_reserve(p, rawlen)) {
            *oom = true;
            return q;
        }
        char *d = p->arena + p->arena_len;
        size_t n = 0;
        for (size_t i = 0; i < rawlen; i++) {
            if (s[i] == '\\' && i + 1 < rawlen && (s[i + 1] == '"' || s[i + 1] == '\\'))
                i++;
            d[n++] = s[i];
        }
        p->arena_len += n;
        out->ptr = d;
        out->len = n;
    }
    for (size_t i = 0; i < out->len; i++) {
        if ((unsigned char)out->ptr[i] >= 0x80) {
            *bad = !vt_utf8_valid((const unsigned char *)out->ptr + i, out->len - i);
            break;
        }
    }
    return q;
}

/* ---- numbers ------------------------------------------------------------------------------ */

/* Go's strconv.ParseUint(s, 10, 64): 0 ok, -1 syntax, -2 range. */
static int parse_u64(const char *s, size_t n, uint64_t *out)
{
    if (n == 0)
        return -1;
    uint64_t v = 0;
    size_t i = 0;
    /* 19 digits never overflow (10^19 - 1 < 2^64): no check in the common case */
    for (size_t safe = n < 19 ? n : 19; i < safe; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9)
            return -1;
        v = v * 10 + d;
    }
    bool range = false;
    for (; i < n; i++) { /* a syntax error anywhere wins over the range */
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9)
            return -1;
        if (!range && (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, d, &v)))
            range = true;
    }
    if (range)
        return -2;
    *out = v;
    return 0;
}

/* Go's strconv.ParseInt(s, 10, 64): 0 ok, -1 syntax, -2 range. */
static int parse_i64(const char *s, size_t n, int64_t *out)
{
    bool neg = false;
    size_t i = 0;
    if (n > 0 && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    uint64_t v;
    int r = parse_u64(s + i, n - i, &v);
    if (r != 0)
        return r;
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return -2;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return -2;
        *out = (int64_t)v;
    }
    return 0;
}

static inline char lower(char c)
{
    return (char)(c | 0x20);
}

/* Go's underscoreOK: '_' only between digits (or after a base prefix). */
static bool underscores_ok(const char *s, size_t n)
{
    char saw = '^';
    size_t i = 0;
    if (n >= 1 && (s[0] == '-' || s[0] == '+')) {
        s++;
        n--;
    }
    bool hex = false;
    if (n >= 2 && s[0] == '0' && (lower(s[1]) == 'b' || lower(s[1]) == 'o' || lower(s[1]) == 'x')) {
        i = 2;
        saw = '0';
        hex = lower(s[1]) == 'x';
    }
    for (; i < n; i++) {
        char c = s[i];
        if ((c >= '0' && c <= '9') || (hex && lower(c) >= 'a' && lower(c) <= 'f')) {
            saw = '0';
            continue;
        }
        if (c == '_') {
            if (saw != '0')
                return false;
            saw = '_';
            continue;
        }
        if (saw == '_')
            return false;
        saw = '!';
    }
    return saw != '_';
}

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/*
 * The common shape of a float, [-]digits[.digits] with 1 to 15 digits, read from s up to the
 * first byte that does not continue it (at most end): *stop = that byte. Returns false, *out
 * untouched, when there are no digits or more than 15. The value is exact: the digits fit a
 * double and one correctly rounded division scales them, as parse_f64's general scan would.
 */
static inline bool plain_decimal(const char *s, const char *end, const char **stop, double *out)
{
    bool neg = s < end && *s == '-', dot = false;
    uint64_t m = 0;
    unsigned nd = 0, nfr = 0;
    const char *c = s + neg;
    for (; c < end; c++) {
        unsigned d = (unsigned)(unsigned char)*c - '0';
        if (d <= 9) {
            m = m * 10 + d;
            nd++;
            nfr += dot;
        } else if (*c == '.' && !dot) {
            dot = true;
        } else {
            break;
        }
    }
    *stop = c;
    if (nd == 0 || nd > 15)
        return false;
    double v = (double)m;
    if (nfr > 0)
        v /= pow10_exact[nfr];
    *out = neg ? -v : v;
    return true;
}

/*
 * Go's strconv.ParseFloat(s, 64) syntax (decimal or hex, '_' separators), without inf/NaN.
 * Returns 0 ok, -1 syntax, -2 out of range.
 */
static int parse_f64(lp_parser *p, const char *s, size_t n, double *out)
{
    const char *stop;
    if (plain_decimal(s, s + n, &stop, out) && stop == s + n)
        return 0; /* the common shape first */
    size_t i = 0;
    if (n > 0 && (s[0] == '-' || s[0] == '+'))
        i = 1;
    bool hex = false;
    if (i + 2 < n && s[i] == '0' && lower(s[i + 1]) == 'x') {
        hex = true;
        i += 2;
    }
    bool underscores = false, sawdot = false, sawdigits = false;
    size_t ndigits = 0, nfrac = 0;
    uint64_t mant = 0;
    for (; i < n; i++) {
        char c = s[i];
        if (c == '_') {
            underscores = true;
        } else if (c == '.') {
            if (sawdot)
                break;
            sawdot = true;
        } else if (c >= '0' && c <= '9') {
            sawdigits = true;
            if (ndigits < 19)
                mant = mant * 10 + (uint64_t)(c - '0');
            ndigits++;
            if (sawdot)
                nfrac++;
        } else if (hex && lower(c) >= 'a' && lower(c) <= 'f') {
            sawdigits = true;
        } else {
            break;
        }
    }
    if (!sawdigits)
        return -1;
    bool has_exp = false;
    if (i < n && lower(s[i]) == (hex ? 'p' : 'e')) {
        has_exp = true;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || s[i] < '0' || s[i] > '9')
            return -1;
        for (; i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_'); i++)
            if (s[i] == '_')
                underscores = true;
    } else if (hex) {
        return -1; /* a hex mantissa needs a 'p' exponent */
    }
    if (i != n)
        return -1;
    if (underscores && !underscores_ok(s, n))
        return -1;

    /* Fast path: few digits, no exponent: exact operands, one correctly rounded operation. */
    if (!hex && !has_exp && !underscores && ndigits <= 15 && nfrac <= 22) {
        double v = (double)mant;
        if (nfrac > 0)
            v /= pow10_exact[nfrac];
        *out = s[0] == '-' ? -v : v;
        return 0;
    }

    /* strtod on a NUL-terminated copy without the underscores. */
    if (n + 1 > p->num_cap) {
        size_t cap = n + 1 < 64 ? 64 : n + 1;
        char *b = realloc(p->num, cap);
        if (b == NULL)
            return -1;
        p->num = b;
        p->num_cap = cap;
    }
    size_t k = 0;
    for (size_t j = 0; j < n; j++)
        if (s[j] != '_')
            p->num[k++] = s[j];
    p->num[k] = '\0';
    char *endp = NULL;
    errno = 0;
    double v = strtod(p->num, &endp);
    if (endp != p->num + k)
        return -1;
    if (isinf(v))
        return -2;
    *out = v;
    return 0;
}

/* The value of the 8 ASCII digits at s, when they are 8 digits: the bytes as one little-endian
 * word, checked at once (each byte 0x30..0x39), then folded pairwise: 8 digits of 1 -> 4 of 2
 * -> 2 of 4 -> 1 of 8, three multiplications in all. */
static inline bool digits8(const char *s, uint64_t *out)
{
    uint64_t w;
    memcpy(&w, s, 8);
    /* a byte is a digit when its high nibble is 3 and adding 6 keeps it below 0x40 */
    if (((w & 0xF0F0F0F0F0F0F0F0u) | (((w + 0x0606060606060606u) & 0xF0F0F0F0F0F0F0F0u) >> 4)) !=
        0x3333333333333333u)
        return false;
    w -= 0x3030303030303030u; /* byte i (little-endian) = digit i of the text */
    w = (w * 10 + (w >> 8)) & 0x00FF00FF00FF00FFu;          /* 4 lanes of 2 digits */
    w = (w * 100 + (w >> 16)) & 0x0000FFFF0000FFFFu;        /* 2 lanes of 4 digits */
    w = (w * 10000 + (w >> 32)) & 0x00000000FFFFFFFFu;      /* 8 digits */
    *out = w;
    return true;
}

/* The common timestamp at *cp: 1 to 19 digits up to INT64_MAX, then the end of the line or a
 * space. On true *ts is its value and *cp is past it; false (*cp unchanged) for anything else
 * (a sign, 20+ digits, a bad character), which the full path then parses or reports. */
static inline bool time_quick(const char **cp, const char *end, int64_t *ts)
{
    const char *t0 = *cp, *c = t0;
    uint64_t v = 0, eight;
    while (end - c >= 8 && c - t0 <= 8 && digits8(c, &eight)) { /* at most 16 digits */
        v = v * 100000000u + eight;
        c += 8;
    }
    for (const char *lim = end - t0 > 19 ? t0 + 19 : end; c < lim; c++) {
        unsigned d = (unsigned)(unsigned char)*c - '0';
        if (d > 9)
            break;
        v = v * 10 + d;
    }
    if (c == t0 || v > (uint64_t)INT64_MAX ||
        (c < end && *c != ' ' && *c != '\n' && *c != '\r'))
        return false;
    *ts = (int64_t)v;
    *cp = c;
    return true;
}

/* ---- the line parser ---------------------------------------------------------------------- */

static bool at_eol(const char *c, const char *end)
{
    return c >= end || *c == '\n' || (*c == '\r' && (c + 1 >= end || c[1] == '\n'));
}

/* Consumes an end of line at c (LF, CRLF, CR at end of body, or end of body); NULL if none. */
static const char *take_eol(const char *c, const char *end)
{
    if (c >= end)
        return c;
    if (*c == '\n')
        return c + 1;
    if (*c == '\r') {
        if (c + 1 >= end)
            return c + 1;
        if (c[1] == '\n')
            return c + 2;
    }
    return NULL;
}

static int tag_cmp(const vt_tag *a, const vt_tag *b)
{
    size_t n = a->key.len < b->key.len ? a->key.len : b->key.len;
    int r = n ? memcmp(a->key.ptr, b->key.ptr, n) : 0;
    if (r != 0)
        return r;
    return a->key.len < b->key.len ? -1 : a->key.len > b->key.len;
}

static int tag_qcmp(const void *a, const void *b)
{
    return tag_cmp(a, b);
}

static int dup_qcmp(const void *a, const void *b)
{
    const lp_dup_ent *x = a, *y = b;
    size_t n = x->key.len < y->key.len ? x->key.len : y->key.len;
    int r = n ? memcmp(x->key.ptr, y->key.ptr, n) : 0;
    if (r != 0)
        return r;
    if (x->key.len != y->key.len)
        return x->key.len < y->key.len ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static void sort_tags(vt_tag *t, size_t n)
{
    if (n > 16) {
        qsort(t, n, sizeof *t, tag_qcmp);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        vt_tag x = t[i];
        size_t j = i;
        while (j > 0 && tag_cmp(&t[j - 1], &x) > 0) {
            t[j] = t[j - 1];
            j--;
        }
        t[j] = x;
    }
}

/* Many fields: find repeated keys by sorting; the first position keeps the last value. */
static bool dedup_fields_sorted(lp_parser *p)
{
    size_t n = p->nfields;
    if (!grow_array((void **)&p->dups, &p->dups_cap, n, sizeof *p->dups))
        return false;
    for (size_t i = 0; i < n; i++) {
        p->dups[i].key = p->fields[i].key;
        p->dups[i].index = i;
    }
    qsort(p->dups, n, sizeof *p->dups, dup_qcmp);
    bool any = false;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && vt_str_eq(p->dups[j].key, p->dups[i].key))
            j++;
        if (j - i > 1) {
            any = true;
            p->fields[p->dups[i].index].value = p->fields[p->dups[j - 1].index].value;
            for (size_t k = i + 1; k < j; k++)
                p->fields[p->dups[k].index].value.type = VT_TYPE_NONE;
        }
        i = j;
    }
    if (any) {
        size_t w = 0;
        for (size_t i = 0; i < n; i++)
            if (p->fields[i].value.type != VT_TYPE_NONE)
                p->fields[w++] = p->fields[i];
        p->nfields = w;
    }
    return true;
}

/* A numeric field value s[0..n) (n >= 1): integer with a final 'i', unsigned with 'u', float
 * otherwise. Sets v's type even when the text is bad; returns 0 ok, -1 syntax, -2 range. */
static int parse_number(lp_parser *p, const char *s, size_t n, vt_value *v)
{
    if (s[n - 1] == 'i') {
        v->type = VT_TYPE_INT;
        return parse_i64(s, n - 1, &v->v.i);
    }
    if (s[n - 1] == 'u') {
        v->type = VT_TYPE_UINT;
        return parse_u64(s, n - 1, &v->v.u);
    }
    v->type = VT_TYPE_FLOAT;
    return parse_f64(p, s, n, &v->v.f);
}

static int parse_value(lp_parser *p, lp_line *ln, const char *c, vt_value *v, const char **next)
{
    char cb[8];
    if (c >= p->end || *c == '\n' || *c == '\r' || *c == ' ' || *c == ',')
        return lp_fail(p, ln, c, "missing field value");
    if (*c == '"') {
        bool bad, oom;
        const char *q = scan_string(p, c + 1, &v->v.s, &bad, &oom);
        if (q == NULL) {
            ln->pos = p->end;
            return lp_fail(p, ln, c, "unterminated string field value");
        }
        if (oom)
            return lp_fail(p, ln, c, "out of memory");
        if (bad) {
            ln->pos = q + 1;
            return lp_fail(p, ln, c, "invalid UTF-8 in string field value");
        }
        v->type = VT_TYPE_STRING;
        *next = q + 1;
        return LP_POINT;
    }
    const char *e = c;
    while (e < p->end && (lp_class[(unsigned char)*e] & C_FVAL))
        e++;
    size_t n = (size_t)(e - c);
    *next = e;
    switch (*c) {
    case 't':
    case 'T':
    case 'f':
    case 'F': {
        static const char *const truths[] = {"t", "T", "true", "True", "TRUE"};
        static const char *const lies[] = {"f", "F", "false", "False", "FALSE"};
        for (size_t i = 0; i < 5; i++) {
            if (strlen(truths[i]) == n && memcmp(truths[i], c, n) == 0) {
                v->type = VT_TYPE_BOOL;
                v->v.b = true;
                return LP_POINT;
            }
            if (strlen(lies[i]) == n && memcmp(lies[i], c, n) == 0) {
                v->type = VT_TYPE_BOOL;
                v->v.b = false;
                return LP_POINT;
            }
        }
        return lp_fail(p, ln, c, "invalid field value (bad boolean \"%.*s\")",
                       (int)(n > 40 ? 40 : n), c);
    }
    case '-':
    case '.':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9': {
        int r = parse_number(p, c, n, v);
        if (r == -2)
            return lp_fail(p, ln, c, "invalid field value: %s out of range", vt_type_name(v->type));
        if (r != 0)
            return lp_fail(p, ln, c, "invalid field value (bad %s \"%.*s\")", vt_type_name(v->type),
                           (int)(n > 40 ? 40 : n), c);
        return LP_POINT;
    }
    default:
        return lp_fail(p, ln, c, "invalid field value (unrecognized type at %s)",
                       show_char(cb, c, p->end));
    }
}

/* Empties the per-entry scratch (tags, fields, arena, measurement) before an entry. */
static void scratch_begin_entry(lp_parser *p)
{
    p->ntags = p->nfields = 0;
    p->arena_len = 0;
    p->measurement.ptr = NULL;
    p->measurement.len = 0;
}

/* The fields and timestamp of an entry whose series part came from the cache (hit; c is the
 * space that ends it), when the rest has the common shape: fields of plain ASCII keys (no
 * escapes) with numeric values, no key twice, and a plain timestamp (time_quick). Fills out
 * and ln->pos exactly as parse_entry would and returns LP_POINT; returns 0, having changed
 * only scratch state, for any other line (a string or boolean value, an escape, an error, no
 * timestamp, a line over max_line_bytes, ...), which parse_entry then parses the full way.
 * Two shortcuts: a key equal to the same field's key on the last line this took (a copy in
 * quick_key) followed by '=' needs no class scan; and a plain decimal value is converted in
 * the pass that finds its end. */
static int parse_fields_quick(lp_parser *p, lp_line *ln, const char *c, const vt_point *hit,
                              vt_point *out)
{
    const char *end = p->end;
    size_t nf = 0;
    while (c < end && *c == ' ')
        c++;
    for (;;) {
        if (nf >= p->opts.limits.max_fields || nf >= LP_LINEAR_DUP_FIELDS ||
            !grow_array((void **)&p->fields, &p->fields_cap, nf + 1, sizeof *p->fields))
            return 0;
        const char *k = c;
        size_t kl = nf < LP_QUICK_KEYS ? p->quick_key_len[nf] : 0;
        if (kl && (size_t)(end - c) > kl && c[kl] == '=' && vt_mem_eq(c, p->quick_key[nf], kl)) {
            c += kl; /* the key of this field on the last line: valid key bytes, as scanned */
        } else {
            while (c < end) {
                unsigned char b = (unsigned char)*c;
                if (b >= 0x80 || b == '\\' || !(lp_class[b] & C_KEY))
                    break;
                c++;
            }
            if (c == k || c >= end || *c != '=')
                return 0;
            if (nf < LP_QUICK_KEYS) {
                size_t n = (size_t)(c - k);
                p->quick_key_len[nf] = n < LP_QUICK_KEY_MAX ? (unsigned char)n : 0;
                if (n < LP_QUICK_KEY_MAX)
                    memcpy(p->quick_key[nf], k, n);
            }
        }
        vt_field *f = &p->fields[nf];
        f->key = (vt_str){k, (size_t)(c - k)};
        const char *v = ++c;
        if (c >= end || !((*c >= '0' && *c <= '9') || *c == '-' || *c == '.'))
            return 0;
        /* a plain decimal that ends the value is read in this one pass; anything else is
         * scanned to its end (what plain_decimal read is part of it) and given to
         * parse_number */
        bool plain = plain_decimal(c, end, &c, &f->value.v.f);
        if (plain && (c >= end || !(lp_class[(unsigned char)*c] & C_FVAL))) {
            f->value.type = VT_TYPE_FLOAT;
        } else {
            while (c < end && (lp_class[(unsigned char)*c] & C_FVAL))
                c++;
            if (parse_number(p, v, (size_t)(c - v), &f->value) != 0)
                return 0;
        }
        for (size_t i = 0; i < nf; i++)
            if (vt_str_eq(p->fields[i].key, f->key))
                return 0;
        nf++;
        if (c < end && *c == ',') {
            c++;
            continue;
        }
        if (c < end && *c != ' ' && *c != '\r' && *c != '\n')
            return 0;
        break;
    }
    while (c < end && *c == ' ')
        c++;
    int64_t ts;
    if (take_eol(c, end) != NULL || !time_quick(&c, end, &ts) ||
        __builtin_mul_overflow(ts, lp_precision_ns(p->opts.precision), &ts))
        return 0;
    while (c < end && *c == ' ')
        c++;
    const char *after = take_eol(c, end);
    if (after == NULL)
        return 0;
    const char *phys_end = after > ln->start && after[-1] == '\n' ? after - 1 : after;
    if ((size_t)(phys_end - ln->start) > p->opts.limits.max_line_bytes)
        return 0; /* next_entry's "line too long", measured the same way (note 6) */
    ln->pos = after;
    p->nfields = nf;
    out->measurement = hit->measurement;
    out->tags = hit->tags;
    out->ntags = hit->ntags;
    out->fields = p->fields;
    out->nfields = nf;
    out->time = ts;
    return LP_POINT;
}

/* Parses one entry starting at ln->start. Returns LP_POINT or LP_ERROR.
 * With hit (lp_parser_next_cached): the series part, ln->start up to series_end, was parsed
 * before into hit's measurement and sorted tags; it is not scanned again. Otherwise
 * *series_end_out (when non-NULL) is set to where the series part ended (the space before the
 * fields) once the point parsed. */
static int parse_entry(lp_parser *p, lp_line *ln, vt_point *out, const vt_point *hit,
                       const char *series_end, const char **series_end_out)
{
    const char *end = p->end;
    const char *c = ln->start;
    char cb[8];
    bool bad, oom;

    scratch_begin_entry(p);
    const char *tags_at = c;
    if (hit) {
        if (parse_fields_quick(p, ln, series_end, hit, out) == LP_POINT)
            return LP_POINT;
        c = series_end;
        goto fields;
    }

    /* measurement */
    const char *tok = c;
    c = scan_token(p, c, C_MEAS, C_ESC_M, &p->measurement, &bad, &oom);
    ln->pos = c;
    if (oom)
        return lp_fail(p, ln, tok, "out of memory");
    if (bad)
        return lp_fail(p, ln, tok, "invalid UTF-8 in measurement");
    if (p->measurement.len == 0) {
        if (c >= end)
            return lp_fail(p, ln, tok, "missing measurement");
        return lp_fail(p, ln, tok, "invalid character %s at start of measurement",
                       show_char(cb, c, end));
    }
    if (p->measurement.ptr[0] == '#')
        return lp_fail(p, ln, tok, "invalid character in comment line");

    /* tags */
    tags_at = c;
    while (c < end && *c == ',') {
        c++;
        if (c >= end || *c == ' ' || *c == '\r' || *c == '\n')
            return lp_fail(p, ln, c, "expected tag key after comma");
        if (p->ntags >= p->opts.limits.max_tags)
            return lp_fail(p, ln, c, "tag limit exceeded (%zu > %zu)", p->ntags + 1,
                           p->opts.limits.max_tags);
        if (!grow_array((void **)&p->tags, &p->tags_cap, p->ntags + 1, sizeof *p->tags))
            return lp_fail(p, ln, c, "out of memory");
        vt_tag *t = &p->tags[p->ntags];
        tok = c;
        c = scan_token(p, c, C_KEY, C_ESC_K, &t->key, &bad, &oom);
        ln->pos = c;
        if (oom)
            return lp_fail(p, ln, tok, "out of memory");
        if (bad)
            return lp_fail(p, ln, tok, "invalid UTF-8 in tag key");
        if (t->key.len == 0)
            return lp_fail(p, ln, tok, "missing tag key (found %s)", show_char(cb, c, end));
        if (c >= end || *c != '=')
            return lp_fail(p, ln, c, "expected '=' after tag key, found %s", show_char(cb, c, end));
        c++;
        p->ntags++; /* counted now so that an arena growth rebases its key */
        tok = c;
        t->value.ptr = NULL;
        t->value.len = 0;
        c = scan_token(p, c, C_TAGV, C_ESC_K, &t->value, &bad, &oom);
        ln->pos = c;
        if (oom)
            return lp_fail(p, ln, tok, "out of memory");
        if (bad)
            return lp_fail(p, ln, tok, "invalid UTF-8 in tag value");
        if (t->value.len == 0)
            return lp_fail(p, ln, tok, "missing tag value");
    }
    if (c >= end || *c != ' ') {
        if (at_eol(c, end))
            return lp_fail(p, ln, c, "missing fields");
        return lp_fail(p, ln, c, "expected tag key or fields, found %s", show_char(cb, c, end));
    }
    series_end = c;
fields:
    while (c < end && *c == ' ')
        c++;

    /* fields */
    for (;;) {
        if (p->nfields >= p->opts.limits.max_fields)
            return lp_fail(p, ln, c, "field limit exceeded (%zu > %zu)", p->nfields + 1,
                           p->opts.limits.max_fields);
        if (!grow_array((void **)&p->fields, &p->fields_cap, p->nfields + 1, sizeof *p->fields))
            return lp_fail(p, ln, c, "out of memory");
        vt_field *f = &p->fields[p->nfields];
        f->value.type = VT_TYPE_NONE;
        tok = c;
        c = scan_token(p, c, C_KEY, C_ESC_K, &f->key, &bad, &oom);
        ln->pos = c;
        if (oom)
            return lp_fail(p, ln, tok, "out of memory");
        if (bad)
            return lp_fail(p, ln, tok, "invalid UTF-8 in field key");
        if (f->key.len == 0) {
            if (at_eol(c, end))
                return lp_fail(p, ln, tok,
                               p->nfields == 0 ? "missing fields" : "missing field key");
            return lp_fail(p, ln, tok, "invalid character %s at start of field key",
                           show_char(cb, c, end));
        }
        if (c >= end || *c != '=')
            return lp_fail(p, ln, c, "expected '=' after field key, found %s",
                           show_char(cb, c, end));
        c++;
        p->nfields++;
        if (parse_value(p, ln, c, &f->value, &c) != LP_POINT)
            return LP_ERROR;
        ln->pos = c;
        /* a repeated key: the first position keeps the last value */
        if (p->nfields <= LP_LINEAR_DUP_FIELDS) {
            for (size_t i = 0; i + 1 < p->nfields; i++) {
                if (vt_str_eq(p->fields[i].key, f->key)) {
                    p->fields[i].value = f->value;
                    p->nfields--;
                    break;
                }
            }
        }
        if (c < end && *c == ',') {
            c++;
            continue;
        }
        if (c < end && *c != ' ' && *c != '\r' && *c != '\n')
            return lp_fail(p, ln, c, "unexpected character %s after field value",
                           show_char(cb, c, end));
        break;
    }

    /* timestamp */
    int64_t ts;
    bool has_ts = false;
    while (c < end && *c == ' ')
        c++;
    const char *after = take_eol(c, end);
    if (after == NULL) {
        const char *t0 = c;
        if (time_quick(&c, end, &ts)) {
            int64_t mul = lp_precision_ns(p->opts.precision);
            if (__builtin_mul_overflow(ts, mul, &ts))
                return lp_fail(p, ln, t0, "timestamp out of range for precision");
            has_ts = true;
            ln->pos = c;
            goto after_time;
        }
        c = t0;
        while (c < end && (lp_class[(unsigned char)*c] & C_TIME))
            c++;
        ln->pos = c;
        if (c < end && *c != ' ' && *c != '\r' && *c != '\n') {
            const char *e = c;
            while (e < end && *e != '\n')
                e++;
            ln->pos = e;
            return lp_fail(p, ln, t0, "invalid timestamp");
        }
        if (c > t0) {
            int r = parse_i64(t0, (size_t)(c - t0), &ts);
            if (r == -2)
                return lp_fail(p, ln, t0, "timestamp out of range");
            if (r != 0)
                return lp_fail(p, ln, t0, "invalid timestamp");
            int64_t mul = lp_precision_ns(p->opts.precision);
            if (__builtin_mul_overflow(ts, mul, &ts))
                return lp_fail(p, ln, t0, "timestamp out of range for precision");
            has_ts = true;
        }
    after_time:
        while (c < end && *c == ' ')
            c++;
        after = take_eol(c, end);
        if (after == NULL)
            return lp_fail(p, ln, c, "unexpected text after timestamp");
    }
    ln->pos = after;

    if (!has_ts) {
        int64_t d = lp_precision_ns(p->opts.precision);
        int64_t q = p->opts.default_time / d;
        if (p->opts.default_time % d != 0 && p->opts.default_time < 0)
            q--;
        ts = q * d;
    }

    size_t entry_len = (size_t)(c - ln->start);
    if (entry_len > p->opts.limits.max_line_bytes)
        return lp_fail(p, ln, ln->start, "line too long (%zu > %zu bytes)", entry_len,
                       p->opts.limits.max_line_bytes);

    if (!hit) {
        sort_tags(p->tags, p->ntags);
        for (size_t i = 1; i < p->ntags; i++)
            if (vt_str_eq(p->tags[i - 1].key, p->tags[i].key))
                return lp_fail(p, ln, tags_at, "duplicate tag key \"%.*s\"",
                               (int)(p->tags[i].key.len > 64 ? 64 : p->tags[i].key.len),
                               p->tags[i].key.ptr);
    }
    if (p->nfields > LP_LINEAR_DUP_FIELDS && !dedup_fields_sorted(p))
        return lp_fail(p, ln, ln->start, "out of memory");

    if (hit) {
        out->measurement = hit->measurement;
        out->tags = hit->tags;
        out->ntags = hit->ntags;
    } else {
        out->measurement = p->measurement;
        out->tags = p->tags;
        out->ntags = p->ntags;
        if (series_end_out)
            *series_end_out = series_end;
    }
    out->fields = p->fields;
    out->nfields = p->nfields;
    out->time = ts;
    return LP_POINT;
}

/* Skips blank lines and well-formed comments; returns the start of the next entry. */
static const char *skip_empty(lp_parser *p, const char *c)
{
    const char *end = p->end;
    for (;;) {
        while (c < end && *c == ' ')
            c++;
        if (c >= end)
            return c;
        if (*c == '#') {
            const char *k = c + 1;
            while (k < end && (lp_class[(unsigned char)*k] & C_CMT))
                k++;
            const char *nx = take_eol(k, end);
            if (nx == NULL)
                return c; /* bad comment: the entry parser reports it */
            if (nx > k && nx[-1] == '\n')
                p->line++;
            c = nx;
            continue;
        }
        if (*c == '\n') {
            p->line++;
            c++;
            continue;
        }
        if (*c == '\r') {
            const char *nx = take_eol(c, end);
            if (nx == NULL)
                return c;
            if (nx - c == 2)
                p->line++;
            c = nx;
            continue;
        }
        return c;
    }
}

/* The series part of the entry at c (phys_end: its line end): up to the first space that no
 * backslash precedes. A backslash is never itself escapable, so a backslash right before a
 * space always escapes it (in the measurement, keys and tag values alike) and any other space
 * ends the series part in the full parser too (space is in none of C_MEAS, C_KEY, C_TAGV).
 * Returns NULL when the line has no such space. */
static const char *series_span_end(const char *c, const char *phys_end)
{
#if defined(__SSE2__)
    /* 16 bytes at a time: every space, then whether a backslash precedes it */
    const unsigned char *u = (const unsigned char *)c, *e = (const unsigned char *)phys_end;
    const __m128i sp = _mm_set1_epi8(' ');
    while (e - u >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)u);
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, sp));
        while (m) {
            const unsigned char *q = u + __builtin_ctz(m);
            if (q == (const unsigned char *)c || q[-1] != '\\')
                return (const char *)q;
            m &= m - 1;
        }
        u += 16;
    }
    for (; u < e; u++)
        if (*u == ' ' && (u == (const unsigned char *)c || u[-1] != '\\'))
            return (const char *)u;
    return NULL;
#else
    const char *s = c;
    for (;;) {
        const char *sp = memchr(s, ' ', (size_t)(phys_end - s));
        if (!sp)
            return NULL;
        if (sp == c || sp[-1] != '\\')
            return sp;
        s = sp + 1;
    }
#endif
}

static int next_entry(lp_parser *p, vt_point *out, lp_error *err, lp_series_lookup lookup,
                      void *ctx, lp_series_span *span)
{
    if (span) {
        span->raw = NULL;
        span->len = 0;
        span->hit = false;
    }
    if (p->dead)
        return LP_END;
    const char *end = p->end;
    const char *c = skip_empty(p, p->pos);
    if (c >= end) {
        p->pos = end;
        return LP_END;
    }
    lp_error scratch_err;
    if (err == NULL)
        err = &scratch_err;
    lp_line ln = {.start = c, .line_start = c, .pos = c, .err = err};
    while (ln.line_start > p->body && ln.line_start[-1] != '\n')
        ln.line_start--;

    int r = LP_ERROR;
    const char *nl = NULL;
    bool quick = false;
    const char *se = NULL;   /* the series part's end, from the guess */
    bool looked_up = false;  /* lookup was asked about c..se (it has side effects: once) */
    vt_point hit;
    bool have_hit = false;
    if (span && p->guess) {
        /* The caller's guess (lineproto.h, lp_series_guess). Its bytes hold no newline and a
         * space follows them, so they end the series part wherever the line ends; and when the
         * rest of the line takes parse_fields_quick, which stops at the line end and checks the
         * length itself, the newline scan below is not needed at all. */
        size_t avail = (size_t)(end - c), g;
        if ((g = p->guess(ctx, c, avail)) > 0 && g < avail && c[g] == ' ' && c[g - 1] != '\\') {
            se = c + g;
            if (*c != '#') {
                looked_up = true;
                have_hit = lookup(ctx, c, g, &hit) && hit.ntags <= p->opts.limits.max_tags;
            }
            if (have_hit) {
                scratch_begin_entry(p);
                if (parse_fields_quick(p, &ln, se, &hit, out) == LP_POINT) {
                    r = LP_POINT;
                    quick = true;
                    if (ln.pos > c && ln.pos[-1] == '\n')
                        nl = ln.pos - 1;
                }
            }
        }
    }
    if (!quick) {
        nl = memchr(c, '\n', (size_t)(end - c));
        const char *phys_end = nl ? nl : end;
        if ((size_t)(phys_end - c) > p->opts.limits.max_line_bytes) {
            ln.pos = phys_end;
            r = lp_fail(p, &ln, c, "line too long (%zu > %zu bytes)", (size_t)(phys_end - c),
                        p->opts.limits.max_line_bytes);
            se = NULL;
        } else if (!span) {
            r = parse_entry(p, &ln, out, NULL, NULL, NULL);
        } else {
            if (!se)
                se = series_span_end(c, phys_end);
            if (!looked_up && se && se > c && *c != '#')
                have_hit = lookup(ctx, c, (size_t)(se - c), &hit) &&
                           hit.ntags <= p->opts.limits.max_tags;
            if (have_hit) {
                r = parse_entry(p, &ln, out, &hit, se, NULL);
            } else {
                const char *parsed_end = NULL;
                r = parse_entry(p, &ln, out, NULL, NULL, &parsed_end);
                if (r != LP_POINT || parsed_end != se)
                    se = NULL; /* only a parsed point's series part is remembered; for one,
                                * parsed_end == se always holds (series_span_end): defensive */
            }
        }
    }
    if (span) {
        span->hit = have_hit && r == LP_POINT;
        if (r == LP_POINT && se) {
            span->raw = c;
            span->len = (size_t)(se - c);
        }
    }

    const char *next;
    if (r == LP_POINT) {
        next = ln.pos;
    } else {
        /* recover: skip past the next LF from where parsing stopped */
        const char *from = ln.pos < c ? c : ln.pos;
        if (from > end)
            from = end;
        if (from > c && from[-1] == '\n')
            next = from; /* the error was found after the line end was taken */
        else {
            const char *q = memchr(from, '\n', (size_t)(end - from));
            next = q ? q + 1 : end;
        }
    }
    const char *le = next;
    if (le > c && le[-1] == '\n')
        le--;
    if (le > c && le[-1] == '\r')
        le--;
    p->last_start = c;
    p->last_len = (size_t)(le - c);
    /* newlines in [c, next): usually just the first one, found above */
    if (nl && next == nl + 1)
        p->line++;
    else if (nl && next > nl)
        p->line += count_newlines(c, next);
    p->pos = next;
    return r;
}

void lp_parser_set_guess(lp_parser *p, lp_series_guess guess)
{
    p->guess = guess;
}

int lp_parser_next(lp_parser *p, vt_point *out, lp_error *err)
{
    return next_entry(p, out, err, NULL, NULL, NULL);
}

int lp_parser_next_cached(lp_parser *p, vt_point *out, lp_error *err, lp_series_lookup lookup,
                          void *ctx, lp_series_span *span)
{
    return next_entry(p, out, err, lookup, ctx, span);
}

/* ---- writer ------------------------------------------------------------------------------- */

static void put_escaped(vt_buf *b, vt_str s, uint8_t esc)
{
    size_t run = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (lp_class[(unsigned char)s.ptr[i]] & esc) {
            vt_buf_append(b, s.ptr + run, i - run);
            vt_buf_putc(b, '\\');
            run = i;
        }
    }
    vt_buf_append(b, s.ptr + run, s.len - run);
}

size_t lp_format_float(char out[32], double v)
{
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(out, 32, "%.*g", prec, v);
        if (prec == 17 || strtod(out, NULL) == v)
            break;
    }
    return n > 0 ? (size_t)n : 0;
}

static void put_float(vt_buf *b, double v)
{
    char tmp[32];
    size_t n = lp_format_float(tmp, v);
    vt_buf_append(b, tmp, n);
}

bool lp_point_equal(const vt_point *a, const vt_point *b)
{
    if (!vt_str_eq(a->measurement, b->measurement) || a->time != b->time || a->ntags != b->ntags ||
        a->nfields != b->nfields)
        return false;
    for (size_t i = 0; i < a->ntags; i++)
        if (!vt_str_eq(a->tags[i].key, b->tags[i].key) ||
            !vt_str_eq(a->tags[i].value, b->tags[i].value))
            return false;
    for (size_t i = 0; i < a->nfields; i++) {
        const vt_value *x = &a->fields[i].value, *y = &b->fields[i].value;
        if (!vt_str_eq(a->fields[i].key, b->fields[i].key) || x->type != y->type)
            return false;
        switch (x->type) {
        case VT_TYPE_FLOAT:
            if (memcmp(&x->v.f, &y->v.f, sizeof x->v.f) != 0)
                return false;
            break;
        case VT_TYPE_INT:
            if (x->v.i != y->v.i)
                return false;
            break;
        case VT_TYPE_UINT:
            if (x->v.u != y->v.u)
                return false;
            break;
        case VT_TYPE_BOOL:
            if (x->v.b != y->v.b)
                return false;
            break;
        case VT_TYPE_STRING:
            if (!vt_str_eq(x->v.s, y->v.s))
                return false;
            break;
        case VT_TYPE_NONE:
        default: break;
        }
    }
    return true;
}

void lp_write_point(struct vt_buf *out, const vt_point *pt)
{
    put_escaped(out, pt->measurement, C_ESC_M);
    for (size_t i = 0; i < pt->ntags; i++) {
        vt_buf_putc(out, ',');
        put_escaped(out, pt->tags[i].key, C_ESC_K);
        vt_buf_putc(out, '=');
        put_escaped(out, pt->tags[i].value, C_ESC_K);
    }
    for (size_t i = 0; i < pt->nfields; i++) {
        const vt_field *f = &pt->fields[i];
        vt_buf_putc(out, i == 0 ? ' ' : ',');
        put_escaped(out, f->key, C_ESC_K);
        vt_buf_putc(out, '=');
        switch (f->value.type) {
        case VT_TYPE_FLOAT: put_float(out, f->value.v.f); break;
        case VT_TYPE_INT: vt_buf_printf(out, "%" PRId64 "i", f->value.v.i); break;
        case VT_TYPE_UINT: vt_buf_printf(out, "%" PRIu64 "u", f->value.v.u); break;
        case VT_TYPE_BOOL:
            vt_buf_append(out, f->value.v.b ? "true" : "false", f->value.v.b ? 4 : 5);
            break;
        case VT_TYPE_STRING: {
            vt_str s = f->value.v.s;
            vt_buf_putc(out, '"');
            size_t run = 0;
            for (size_t k = 0; k < s.len; k++) {
                if (s.ptr[k] == '"' || s.ptr[k] == '\\') {
                    vt_buf_append(out, s.ptr + run, k - run);
                    vt_buf_putc(out, '\\');
                    run = k;
                }
            }
            vt_buf_append(out, s.ptr + run, s.len - run);
            vt_buf_putc(out, '"');
            break;
        }
        case VT_TYPE_NONE:
        default: vt_buf_append(out, "\"\"", 2); break;
        }
    }
    vt_buf_printf(out, " %" PRId64 "\n", pt->time);
}
