/*
 * query/flux_parser.c — recursive-descent Flux parser and canonical printer.
 *
 * NOTES ON THE DESIGN
 *
 * 1. Grammar and precedence follow libflux's parser (lowest first): if/then/else, or, and,
 *    not/exists (prefix), comparisons (== != < <= > >= =~ !~), + -, * / %, ^, |> (pipe binds
 *    tighter than every binary operator), prefix + -, postfix (.a ["a"] [i] (args)). Binary
 *    operators are left-associative (loops, not recursion).
 *
 * 2. One token of lookahead (p->tok) plus the lexer state before it (p->tok_pre). Two places
 *    rewind: an operand position re-scans a DIV lookahead as a regex (Flux's peek_with_regex),
 *    and `ident` at the start of a statement or inside '(' is re-read as an expression when it
 *    turns out not to start an assignment or a parameter list.
 *
 * 3. Fail-fast: the first error stops the parse; the message is Flux's wording for that
 *    error and the location is the offending token's span ("error @L:C-L:C: ...").
 *
 * 4. Bounded: p->depth counts nested parse_expression calls and prefix operators (limit
 *    FLUX_MAX_DEPTH, so the C stack is bounded); every node records its height and a node
 *    above FLUX_MAX_HEIGHT is refused (so the printer and later walkers are bounded too).
 *
 * 5. Lists are grown in the arena by doubling (old blocks are abandoned in the arena: at most
 *    twice the final size).
 */
#include "query/flux_parser.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/flux_lexer.h"

typedef struct fp {
    arena *a;
    flux_lexer lx;
    flux_token tok;      /* lookahead (valid when have) */
    flux_lexpos tok_pre; /* lexer state before the lookahead */
    bool have;
    bool tok_regex; /* lookahead was scanned with regex allowed */
    flux_token last; /* last consumed token */
    int depth;
    flux_error *err;
} fp;

/* ---------------------------------------------------------------- errors */

static vt_rc fail_span(fp *p, uint32_t l, uint32_t c, uint32_t el, uint32_t ec, const char *fmt,
                       ...) __attribute__((format(printf, 6, 7)));

static vt_rc fail_span(fp *p, uint32_t l, uint32_t c, uint32_t el, uint32_t ec, const char *fmt,
                       ...)
{
    flux_error *e = p->err;
    e->rc = VT_EPARSE;
    e->has_pos = true;
    e->line = l;
    e->col = c;
    e->end_line = el;
    e->end_col = ec;
    int n = snprintf(e->msg, sizeof(e->msg), "error @%u:%u-%u:%u: ", l, c, el, ec);
    if (n < 0 || (size_t)n >= sizeof(e->msg))
        return VT_EPARSE;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg + n, sizeof(e->msg) - (size_t)n, fmt, ap);
    va_end(ap);
    return VT_EPARSE;
}

#define fail_tok(p, t, ...) \
    fail_span((p), (t)->line, (t)->col, (t)->end_line, (t)->end_col, __VA_ARGS__)
#define fail_node(p, n, ...) \
    fail_span((p), (n)->line, (n)->col, (n)->end_line, (n)->end_col, __VA_ARGS__)

static vt_rc oom(fp *p)
{
    p->err->rc = VT_ENOMEM;
    p->err->has_pos = false;
    snprintf(p->err->msg, sizeof(p->err->msg), "out of memory");
    return VT_ENOMEM;
}

/* Token text for messages, capped. */
static int lit_len(const flux_token *t)
{
    size_t n = t->end - t->off;
    return (int)(n > 64 ? 64 : n);
}

#define LIT(p, t) lit_len(t), (p)->lx.src + (t)->off

/* ---------------------------------------------------------------- tokens */

static flux_token *peek(fp *p)
{
    if (!p->have) {
        p->tok_pre = p->lx.pos;
        flux_lexer_scan(&p->lx, &p->tok, false);
        p->have = true;
        p->tok_regex = false;
    }
    return &p->tok;
}

static flux_token *peek_regex(fp *p)
{
    if (p->have && p->tok.tok == FLUX_T_DIV && !p->tok_regex) {
        p->lx.pos = p->tok_pre;
        p->have = false;
    }
    if (!p->have) {
        p->tok_pre = p->lx.pos;
        flux_lexer_scan(&p->lx, &p->tok, true);
        p->have = true;
        p->tok_regex = true;
    }
    return &p->tok;
}

static void consume(fp *p)
{
    p->last = p->tok;
    p->have = false;
}

static void rewind_to(fp *p, flux_lexpos pos)
{
    p->lx.pos = pos;
    p->have = false;
}

/* Flux's expect(): "expected X, got EOF" / "expected X, got T (lit) at L:C". */
static vt_rc expect(fp *p, flux_tok want)
{
    flux_token *t = peek(p);
    if (t->tok == want) {
        consume(p);
        return VT_OK;
    }
    if (t->tok == FLUX_T_EOF)
        return fail_tok(p, t, "expected %s, got EOF", flux_tok_name(want));
    return fail_tok(p, t, "expected %s, got %s (%.*s) at %u:%u", flux_tok_name(want),
                    flux_tok_name(t->tok), LIT(p, t), t->line, t->col);
}

/* Flux's close(): "expected X, got T". Flux attaches this error to the node being closed, so
 * the span runs from (line, col), where that node starts, to the end of the offending token. */
static vt_rc close_tok(fp *p, flux_tok want, uint32_t line, uint32_t col)
{
    flux_token *t = peek(p);
    if (t->tok == want) {
        consume(p);
        return VT_OK;
    }
    return fail_span(p, line, col, t->end_line, t->end_col, "expected %s, got %s",
                     flux_tok_name(want), flux_tok_name(t->tok));
}

/* ---------------------------------------------------------------- nodes and lists */

static flux_node *new_node(fp *p, flux_node_kind kind, const flux_token *start)
{
    flux_node *n = arena_calloc(p->a, 1, sizeof(*n));
    if (!n)
        return NULL;
    n->kind = kind;
    n->line = start->line;
    n->col = start->col;
    n->end_line = start->end_line;
    n->end_col = start->end_col;
    n->height = 1;
    return n;
}

static void end_at_tok(flux_node *n, const flux_token *t)
{
    n->end_line = t->end_line;
    n->end_col = t->end_col;
}

static void end_at_node(flux_node *n, const flux_node *c)
{
    n->end_line = c->end_line;
    n->end_col = c->end_col;
}

static void start_at_node(flux_node *n, const flux_node *c)
{
    n->line = c->line;
    n->col = c->col;
}

/* Records child c under n (height) and enforces FLUX_MAX_HEIGHT. */
static vt_rc child(fp *p, flux_node *n, const flux_node *c)
{
    if (c && c->height + 1 > n->height)
        n->height = c->height + 1;
    if (n->height > FLUX_MAX_HEIGHT)
        return fail_node(p, n, "Program is nested too deep (height above %d)", FLUX_MAX_HEIGHT);
    return VT_OK;
}

/* Appends one zeroed element of size `sz` to *arr (n used, cap allocated). */
static void *push(fp *p, void *arrp, size_t *n, size_t *cap, size_t sz)
{
    void **arr = arrp;
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        void *na = arena_calloc(p->a, nc, sz);
        if (!na)
            return NULL;
        if (*n)
            memcpy(na, *arr, *n * sz);
        *arr = na;
        *cap = nc;
    }
    char *slot = (char *)*arr + *n * sz;
    memset(slot, 0, sz);
    (*n)++;
    return slot;
}

static char *tok_str(fp *p, const flux_token *t)
{
    return arena_strndup(p->a, p->lx.src + t->off, t->end - t->off);
}

/* ---------------------------------------------------------------- literals */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return c - 'A' + 10;
}

/* Unescapes raw[0..n) (escapes already shaped by the lexer) into an arena string. */
static vt_rc unescape(fp *p, const flux_token *t, const char *raw, size_t n, char **out)
{
    char *s = arena_alloc(p->a, n + 1);
    if (!s)
        return oom(p);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        char c = raw[i];
        if (c != '\\' || i + 1 >= n) {
            s[j++] = c;
            continue;
        }
        char e = raw[++i];
        switch (e) {
        case 'n': s[j++] = '\n'; break;
        case 'r': s[j++] = '\r'; break;
        case 't': s[j++] = '\t'; break;
        case '$': s[j++] = '$'; break;
        case 'x': {
            if (i + 2 >= n)
                return fail_tok(p, t, "invalid escape sequence");
            int v = hexval((unsigned char)raw[i + 1]) * 16 + hexval((unsigned char)raw[i + 2]);
            if (v == 0)
                return fail_tok(p, t, "invalid byte value \\x00: strings cannot contain NUL");
            s[j++] = (char)v;
            i += 2;
            break;
        }
        default: s[j++] = e; break; /* \\ and \" */
        }
    }
    s[j] = '\0';
    *out = s;
    return VT_OK;
}

static bool add_i64(int64_t a, int64_t b, int64_t *r)
{
    return !__builtin_add_overflow(a, b, r);
}

static bool mul_i64(int64_t a, int64_t b, int64_t *r)
{
    return !__builtin_mul_overflow(a, b, r);
}

static vt_rc parse_int_lit(fp *p, const flux_token *t, flux_node **out)
{
    int64_t v = 0;
    for (size_t i = t->off; i < t->end; i++) {
        if (!mul_i64(v, 10, &v) || !add_i64(v, p->lx.src[i] - '0', &v))
            return fail_tok(p, t, "invalid integer literal \"%.*s\": value out of range",
                            LIT(p, t));
    }
    flux_node *n = new_node(p, FLUX_EXPR_INT, t);
    if (!n)
        return oom(p);
    n->u.integer = v;
    *out = n;
    return VT_OK;
}

static vt_rc parse_float_lit(fp *p, const flux_token *t, flux_node **out)
{
    char *s = tok_str(p, t);
    if (!s)
        return oom(p);
    double v = strtod(s, NULL);
    if (!isfinite(v))
        return fail_tok(p, t, "invalid expression: invalid token for primary expression: FLOAT");
    flux_node *n = new_node(p, FLUX_EXPR_FLOAT, t);
    if (!n)
        return oom(p);
    n->u.flt = v;
    *out = n;
    return VT_OK;
}

static vt_rc parse_duration_lit(fp *p, const flux_token *t, flux_node **out)
{
    flux_node *n = new_node(p, FLUX_EXPR_DURATION, t);
    if (!n)
        return oom(p);
    size_t cap = 0;
    const char *s = p->lx.src;
    size_t i = t->off;
    while (i < t->end) {
        int64_t mag = 0;
        while (i < t->end && s[i] >= '0' && s[i] <= '9') {
            if (!mul_i64(mag, 10, &mag) || !add_i64(mag, s[i] - '0', &mag))
                return fail_tok(p, t,
                                "invalid expression: invalid token for primary expression: "
                                "DURATION");
            i++;
        }
        flux_duration_unit u;
        size_t ul = 1;
        char c = s[i], d = i + 1 < t->end ? s[i + 1] : '\0';
        switch (c) {
        case 'y': u = FLUX_DUR_Y; break;
        case 'w': u = FLUX_DUR_W; break;
        case 'd': u = FLUX_DUR_D; break;
        case 'h': u = FLUX_DUR_H; break;
        case 's': u = FLUX_DUR_S; break;
        case 'u': u = FLUX_DUR_US; ul = 2; break;
        case 'n': u = FLUX_DUR_NS; ul = 2; break;
        case 'm':
            if (d == 'o') {
                u = FLUX_DUR_MO;
                ul = 2;
            } else if (d == 's') {
                u = FLUX_DUR_MS;
                ul = 2;
            } else {
                u = FLUX_DUR_M;
            }
            break;
        default: u = FLUX_DUR_US; ul = 3; break; /* µs */
        }
        i += ul;
        flux_duration_part *part =
            push(p, &n->u.duration.parts, &n->u.duration.nparts, &cap, sizeof(*part));
        if (!part)
            return oom(p);
        part->magnitude = mag;
        part->unit = u;
    }
    *out = n;
    return VT_OK;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static unsigned num(const char *s, size_t n)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (unsigned)(s[i] - '0');
    return v;
}

static vt_rc parse_time_lit(fp *p, const flux_token *t, flux_node **out)
{
    const char *s = p->lx.src + t->off;
    size_t len = t->end - t->off;
    unsigned y = num(s, 4), mo = num(s + 5, 2), d = num(s + 8, 2);
    unsigned h = 0, mi = 0, sec = 0;
    uint32_t ns = 0;
    int32_t off_min = 0;
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    bool ok = mo >= 1 && mo <= 12 && d >= 1 && d <= mdays[mo - 1] + (mo == 2 && leap);
    if (ok && len > 10) {
        h = num(s + 11, 2);
        mi = num(s + 14, 2);
        sec = num(s + 17, 2);
        ok = h < 24 && mi < 60 && sec < 60;
        size_t i = 19;
        if (ok && i < len && s[i] == '.') {
            i++;
            size_t nd = 0;
            while (i < len && s[i] >= '0' && s[i] <= '9') {
                if (nd < 9)
                    ns = ns * 10 + (uint32_t)(s[i] - '0');
                nd++;
                i++;
            }
            ok = nd > 0;
            for (; nd < 9; nd++)
                ns *= 10;
        }
        if (ok && i == len) {
            ok = false; /* RFC 3339 needs an offset */
        } else if (ok && s[i] != 'Z') {
            unsigned oh = num(s + i + 1, 2), om = num(s + i + 4, 2);
            ok = oh < 24 && om < 60;
            off_min = (int32_t)(oh * 60 + om) * (s[i] == '-' ? -1 : 1);
        }
    }
    if (!ok)
        return fail_tok(p, t, "invalid expression: invalid token for primary expression: TIME");
    flux_node *n = new_node(p, FLUX_EXPR_DATETIME, t);
    if (!n)
        return oom(p);
    n->u.datetime.secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
                         (int64_t)off_min * 60;
    n->u.datetime.nsecs = ns;
    n->u.datetime.offset_min = off_min;
    *out = n;
    return VT_OK;
}

/* ---------------------------------------------------------------- expressions */

static vt_rc parse_expression(fp *p, flux_node **out);
static vt_rc parse_unary(fp *p, flux_node **out);
static vt_rc parse_logical_unary(fp *p, flux_node **out);
static vt_rc parse_statement(fp *p, flux_node **out);

static vt_rc enter(fp *p)
{
    if (p->depth >= FLUX_MAX_DEPTH) {
        flux_token *t = peek(p);
        return fail_tok(p, t, "Program is nested too deep (depth above %d)", FLUX_MAX_DEPTH);
    }
    p->depth++;
    return VT_OK;
}

static vt_rc parse_string_lit(fp *p, const flux_token *t, char **out)
{
    return unescape(p, t, p->lx.src + t->off + 1, t->end - t->off - 2, out);
}

/* After a consumed QUOTE: text parts and ${expr} parts up to the closing quote. */
static vt_rc parse_string_interp(fp *p, const flux_token *quote, flux_node **out)
{
    flux_node *n = new_node(p, FLUX_EXPR_STRING_INTERP, quote);
    if (!n)
        return oom(p);
    size_t cap = 0;
    bool has_expr = false;
    for (;;) {
        flux_token t;
        flux_lexer_scan_string_part(&p->lx, &t);
        if (t.tok == FLUX_T_QUOTE) {
            end_at_tok(n, &t);
            p->last = t;
            break;
        }
        flux_string_part *part =
            push(p, &n->u.interp.parts, &n->u.interp.nparts, &cap, sizeof(*part));
        if (!part)
            return oom(p);
        if (t.tok == FLUX_T_TEXT) {
            vt_rc rc = unescape(p, &t, p->lx.src + t.off, t.end - t.off, &part->text);
            if (rc != VT_OK)
                return rc;
        } else if (t.tok == FLUX_T_STRINGEXPR) {
            vt_rc rc = parse_expression(p, &part->expr);
            if (rc == VT_OK)
                rc = expect(p, FLUX_T_RBRACE);
            if (rc == VT_OK)
                rc = child(p, n, part->expr);
            if (rc != VT_OK)
                return rc;
            has_expr = true;
        } else {
            return fail_span(p, quote->line, quote->col, t.end_line, t.end_col,
                             "got unexpected token in string expression @%u:%u-%u:%u: %s",
                             t.line, t.col, t.end_line, t.end_col, flux_tok_name(t.tok));
        }
    }
    if (!has_expr) { /* only text: a plain string */
        vt_buf b;
        vt_buf_init(&b);
        for (size_t i = 0; i < n->u.interp.nparts; i++)
            vt_buf_append(&b, n->u.interp.parts[i].text, strlen(n->u.interp.parts[i].text));
        char *s = b.oom ? NULL : arena_strndup(p->a, b.len ? (char *)b.data : "", b.len);
        vt_buf_free(&b);
        if (!s)
            return oom(p);
        n->kind = FLUX_EXPR_STRING;
        n->u.str = s;
    }
    *out = n;
    return VT_OK;
}

static bool is_closer(flux_tok t)
{
    return t == FLUX_T_RPAREN || t == FLUX_T_RBRACK || t == FLUX_T_RBRACE || t == FLUX_T_EOF;
}

/* Properties up to `closer` (not consumed): key[: value] separated by commas (a trailing comma
 * is allowed). first: an already consumed IDENT key, or NULL. */
static vt_rc parse_property_list(fp *p, flux_node *owner, flux_tok closer,
                                 const flux_token *first, flux_property **props, size_t *n)
{
    size_t cap = 0;
    for (;;) {
        flux_property *prop;
        if (first) {
            prop = push(p, props, n, &cap, sizeof(*prop));
            if (!prop)
                return oom(p);
            prop->key = tok_str(p, first);
            prop->line = first->line;
            prop->col = first->col;
            if (!prop->key)
                return oom(p);
            first = NULL;
        } else {
            flux_token *t = peek(p);
            if (t->tok == closer || t->tok == FLUX_T_EOF)
                return VT_OK;
            if (t->tok == FLUX_T_COLON)
                return fail_tok(p, t, "missing property key");
            if (t->tok == FLUX_T_COMMA)
                return fail_tok(p, t, "missing property in property list");
            if (t->tok != FLUX_T_IDENT && t->tok != FLUX_T_STRING)
                return fail_tok(p, t, "unexpected token for property key: %s (%.*s)",
                                flux_tok_name(t->tok), LIT(p, t));
            prop = push(p, props, n, &cap, sizeof(*prop));
            if (!prop)
                return oom(p);
            prop->line = t->line;
            prop->col = t->col;
            consume(p);
            if (p->last.tok == FLUX_T_STRING) {
                prop->key_is_string = true;
                vt_rc rc = parse_string_lit(p, &p->last, &prop->key);
                if (rc != VT_OK)
                    return rc;
            } else if (!(prop->key = tok_str(p, &p->last))) {
                return oom(p);
            }
        }
        flux_token *t = peek(p);
        if (t->tok == FLUX_T_COLON) {
            consume(p);
            t = peek(p);
            if (t->tok == FLUX_T_COMMA || t->tok == FLUX_T_COLON || is_closer(t->tok))
                return fail_tok(p, t, "missing property value");
            vt_rc rc = parse_expression(p, &prop->value);
            if (rc == VT_OK)
                rc = child(p, owner, prop->value);
            if (rc != VT_OK)
                return rc;
        }
        t = peek(p);
        if (t->tok == closer || t->tok == FLUX_T_EOF)
            return VT_OK;
        if (t->tok != FLUX_T_COMMA)
            return fail_tok(p, t, "expected comma in property list, got %s",
                            flux_tok_name(t->tok));
        consume(p);
    }
}

/* Function parameters after '(' up to ')' (not consumed): name[=default], commas between.
 * first: an already consumed IDENT, with its default already parsed into first_default when
 * has_default. */
static vt_rc parse_params(fp *p, flux_node *fn, const flux_token *first, flux_node *first_default,
                          bool more)
{
    size_t cap = 0;
    flux_property *prop = push(p, &fn->u.fn.params, &fn->u.fn.nparams, &cap, sizeof(*prop));
    if (!prop)
        return oom(p);
    prop->key = tok_str(p, first);
    if (!prop->key)
        return oom(p);
    prop->line = first->line;
    prop->col = first->col;
    prop->value = first_default;
    while (more) {
        flux_token *t = peek(p);
        if (t->tok == FLUX_T_RPAREN || t->tok == FLUX_T_EOF)
            break;
        vt_rc rc = expect(p, FLUX_T_IDENT);
        if (rc != VT_OK)
            return rc;
        prop = push(p, &fn->u.fn.params, &fn->u.fn.nparams, &cap, sizeof(*prop));
        if (!prop)
            return oom(p);
        prop->key = tok_str(p, &p->last);
        if (!prop->key)
            return oom(p);
        prop->line = p->last.line;
        prop->col = p->last.col;
        t = peek(p);
        if (t->tok == FLUX_T_ASSIGN) {
            consume(p);
            rc = parse_expression(p, &prop->value);
            if (rc != VT_OK)
                return rc;
        }
        t = peek(p);
        if (t->tok == FLUX_T_COMMA)
            consume(p);
        else
            break;
    }
    return VT_OK;
}

static vt_rc parse_block_body(fp *p, flux_node ***body, size_t *n, flux_node *owner,
                              const flux_token *lbrace)
{
    /* '{' consumed */
    size_t cap = 0;
    for (;;) {
        flux_token *t = peek(p);
        if (t->tok == FLUX_T_RBRACE) {
            consume(p);
            return VT_OK;
        }
        if (t->tok == FLUX_T_EOF || t->tok == FLUX_T_RPAREN || t->tok == FLUX_T_RBRACK)
            return fail_span(p, lbrace->line, lbrace->col, t->end_line, t->end_col,
                             "expected RBRACE, got %s", flux_tok_name(t->tok));
        flux_node **slot = push(p, body, n, &cap, sizeof(*slot));
        if (!slot)
            return oom(p);
        vt_rc rc = parse_statement(p, slot);
        if (rc == VT_OK)
            rc = child(p, owner, *slot);
        if (rc != VT_OK)
            return rc;
    }
}

/* After the parameter list's ')': "=>" and the body. */
static vt_rc parse_function_rest(fp *p, flux_node *fn, flux_node **out)
{
    vt_rc rc = expect(p, FLUX_T_ARROW);
    if (rc != VT_OK)
        return rc;
    for (size_t i = 0; i < fn->u.fn.nparams; i++)
        if (fn->u.fn.params[i].value && (rc = child(p, fn, fn->u.fn.params[i].value)) != VT_OK)
            return rc;
    flux_token *t = peek(p);
    if (t->tok == FLUX_T_LBRACE) {
        flux_token lbrace = *t;
        consume(p);
        if ((rc = enter(p)) != VT_OK)
            return rc;
        fn->u.fn.is_block = true;
        rc = parse_block_body(p, &fn->u.fn.body, &fn->u.fn.nbody, fn, &lbrace);
        p->depth--;
        if (rc != VT_OK)
            return rc;
        end_at_tok(fn, &p->last);
    } else {
        rc = parse_expression(p, &fn->u.fn.expr);
        if (rc == VT_OK)
            rc = child(p, fn, fn->u.fn.expr);
        if (rc != VT_OK)
            return rc;
        end_at_node(fn, fn->u.fn.expr);
    }
    *out = fn;
    return VT_OK;
}

static vt_rc parse_paren(fp *p, flux_node **out)
{
    flux_token lparen = *peek(p);
    consume(p);
    flux_node *fn = new_node(p, FLUX_EXPR_FUNCTION, &lparen);
    flux_node *paren = new_node(p, FLUX_EXPR_PAREN, &lparen);
    if (!fn || !paren)
        return oom(p);
    flux_token *t = peek(p);
    vt_rc rc;
    if (t->tok == FLUX_T_RPAREN) {
        consume(p);
        return parse_function_rest(p, fn, out);
    }
    if (t->tok == FLUX_T_IDENT) {
        flux_lexpos before = p->tok_pre;
        flux_token id = *t;
        consume(p);
        t = peek(p);
        if (t->tok == FLUX_T_RPAREN) {
            consume(p);
            flux_token rparen = p->last;
            if (peek(p)->tok == FLUX_T_ARROW) {
                if ((rc = parse_params(p, fn, &id, NULL, false)) != VT_OK)
                    return rc;
                return parse_function_rest(p, fn, out);
            }
            flux_node *e = new_node(p, FLUX_EXPR_IDENT, &id);
            if (!e || !(e->u.ident = tok_str(p, &id)))
                return oom(p);
            paren->u.expr = e;
            end_at_tok(paren, &rparen);
            paren->height = 2;
            *out = paren;
            return VT_OK;
        }
        if (t->tok == FLUX_T_ASSIGN) {
            consume(p);
            flux_node *def;
            if ((rc = parse_expression(p, &def)) != VT_OK)
                return rc;
            bool more = false;
            if (peek(p)->tok == FLUX_T_COMMA) {
                consume(p);
                more = true;
            }
            if ((rc = parse_params(p, fn, &id, def, more)) != VT_OK ||
                (rc = close_tok(p, FLUX_T_RPAREN, lparen.line, lparen.col)) != VT_OK)
                return rc;
            return parse_function_rest(p, fn, out);
        }
        if (t->tok == FLUX_T_COMMA) {
            consume(p);
            if ((rc = parse_params(p, fn, &id, NULL, true)) != VT_OK ||
                (rc = close_tok(p, FLUX_T_RPAREN, lparen.line, lparen.col)) != VT_OK)
                return rc;
            return parse_function_rest(p, fn, out);
        }
        rewind_to(p, before);
    }
    if ((rc = parse_expression(p, &paren->u.expr)) != VT_OK ||
        (rc = close_tok(p, FLUX_T_RPAREN, lparen.line, lparen.col)) != VT_OK)
        return rc;
    end_at_tok(paren, &p->last);
    if ((rc = child(p, paren, paren->u.expr)) != VT_OK)
        return rc;
    *out = paren;
    return VT_OK;
}

static vt_rc parse_array_or_dict(fp *p, flux_node **out)
{
    flux_token lb = *peek(p);
    consume(p);
    flux_node *n = new_node(p, FLUX_EXPR_ARRAY, &lb);
    if (!n)
        return oom(p);
    flux_token *t = peek(p);
    vt_rc rc;
    if (t->tok == FLUX_T_COLON) { /* [:] */
        consume(p);
        n->kind = FLUX_EXPR_DICT;
        if ((rc = close_tok(p, FLUX_T_RBRACK, lb.line, lb.col)) != VT_OK)
            return rc;
        end_at_tok(n, &p->last);
        *out = n;
        return VT_OK;
    }
    size_t cap = 0, kcap = 0;
    bool dict = false;
    for (size_t i = 0;; i++) {
        t = peek(p);
        if (t->tok == FLUX_T_RBRACK)
            break;
        flux_node *e = NULL;
        if ((rc = parse_expression(p, &e)) != VT_OK || (rc = child(p, n, e)) != VT_OK)
            return rc;
        if (i == 0 && peek(p)->tok == FLUX_T_COLON) {
            dict = true;
            n->kind = FLUX_EXPR_DICT;
        }
        if (dict) {
            flux_node **k = push(p, &n->u.dict.keys, &n->u.dict.n, &kcap, sizeof(*k));
            if (!k)
                return oom(p);
            *k = e;
            if ((rc = expect(p, FLUX_T_COLON)) != VT_OK)
                return rc;
            size_t vn = n->u.dict.n - 1;
            flux_node **v = push(p, &n->u.dict.values, &vn, &cap, sizeof(*v));
            if (!v)
                return oom(p);
            if ((rc = parse_expression(p, v)) != VT_OK || (rc = child(p, n, *v)) != VT_OK)
                return rc;
        } else {
            flux_node **slot = push(p, &n->u.array.elems, &n->u.array.n, &cap, sizeof(*slot));
            if (!slot)
                return oom(p);
            *slot = e;
        }
        t = peek(p);
        if (t->tok == FLUX_T_RBRACK)
            break;
        if (t->tok != FLUX_T_COMMA) {
            if (t->tok == FLUX_T_EOF || is_closer(t->tok))
                return fail_span(p, lb.line, lb.col, t->end_line, t->end_col,
                                 "expected RBRACK, got %s", flux_tok_name(t->tok));
            return expect(p, FLUX_T_COMMA);
        }
        consume(p);
    }
    consume(p); /* ] */
    end_at_tok(n, &p->last);
    *out = n;
    return VT_OK;
}

static vt_rc parse_record(fp *p, flux_node **out)
{
    flux_token lb = *peek(p);
    consume(p);
    flux_node *n = new_node(p, FLUX_EXPR_RECORD, &lb);
    if (!n)
        return oom(p);
    vt_rc rc;
    flux_token *t = peek(p);
    const flux_token *first = NULL;
    flux_token id;
    if (t->tok == FLUX_T_IDENT) {
        id = *t;
        consume(p);
        t = peek(p);
        if (t->tok == FLUX_T_IDENT) {
            if (t->end - t->off != 4 || memcmp(p->lx.src + t->off, "with", 4) != 0)
                return fail_tok(p, t, "expected comma in property list, got IDENT");
            consume(p);
            if (!(n->u.record.with = tok_str(p, &id)))
                return oom(p);
        } else {
            first = &id;
        }
    }
    if ((rc = parse_property_list(p, n, FLUX_T_RBRACE, first, &n->u.record.props,
                                  &n->u.record.nprops)) != VT_OK ||
        (rc = close_tok(p, FLUX_T_RBRACE, lb.line, lb.col)) != VT_OK)
        return rc;
    end_at_tok(n, &p->last);
    *out = n;
    return VT_OK;
}

static vt_rc parse_primary(fp *p, flux_node **out)
{
    flux_token *t = peek_regex(p);
    flux_token tk = *t;
    flux_node *n = NULL;
    vt_rc rc = VT_OK;
    switch (tk.tok) {
    case FLUX_T_IDENT:
        consume(p);
        n = new_node(p, FLUX_EXPR_IDENT, &tk);
        if (!n || !(n->u.ident = tok_str(p, &tk)))
            return oom(p);
        break;
    case FLUX_T_INT:
        consume(p);
        rc = parse_int_lit(p, &tk, &n);
        break;
    case FLUX_T_FLOAT:
        consume(p);
        rc = parse_float_lit(p, &tk, &n);
        break;
    case FLUX_T_DURATION:
        consume(p);
        rc = parse_duration_lit(p, &tk, &n);
        break;
    case FLUX_T_TIME:
        consume(p);
        rc = parse_time_lit(p, &tk, &n);
        break;
    case FLUX_T_STRING:
        consume(p);
        n = new_node(p, FLUX_EXPR_STRING, &tk);
        if (!n)
            return oom(p);
        rc = parse_string_lit(p, &tk, &n->u.str);
        break;
    case FLUX_T_QUOTE:
        consume(p);
        if ((rc = enter(p)) != VT_OK)
            return rc;
        rc = parse_string_interp(p, &tk, &n);
        p->depth--;
        break;
    case FLUX_T_REGEX: {
        consume(p);
        n = new_node(p, FLUX_EXPR_REGEX, &tk);
        /* the pattern without slashes, "\/" unescaped */
        char *s = n ? arena_alloc(p->a, tk.end - tk.off) : NULL;
        if (!s)
            return oom(p);
        size_t j = 0;
        for (size_t i = tk.off + 1; i + 1 < tk.end; i++) {
            char c = p->lx.src[i];
            if (c == '\\' && i + 2 < tk.end) {
                char d = p->lx.src[i + 1];
                if (d != '/')
                    s[j++] = c;
                s[j++] = d;
                i++;
            } else {
                s[j++] = c;
            }
        }
        s[j] = '\0';
        n->u.regex = s;
        break;
    }
    case FLUX_T_PIPE_RECEIVE:
        consume(p);
        n = new_node(p, FLUX_EXPR_PIPE_LIT, &tk);
        if (!n)
            return oom(p);
        break;
    case FLUX_T_LBRACK:
    case FLUX_T_LBRACE:
    case FLUX_T_LPAREN:
        if ((rc = enter(p)) != VT_OK)
            return rc;
        rc = tk.tok == FLUX_T_LBRACK   ? parse_array_or_dict(p, &n)
             : tk.tok == FLUX_T_LBRACE ? parse_record(p, &n)
                                       : parse_paren(p, &n);
        p->depth--;
        break;
    default:
        return fail_tok(p, &tk, "invalid expression: invalid token for primary expression: %s",
                        flux_tok_name(tk.tok));
    }
    if (rc != VT_OK)
        return rc;
    *out = n;
    return VT_OK;
}

static vt_rc parse_postfix(fp *p, flux_node **out)
{
    flux_node *e = NULL;
    vt_rc rc = parse_primary(p, &e);
    if (rc != VT_OK)
        return rc;
    for (;;) {
        flux_token *t = peek(p);
        flux_node *n;
        if (t->tok == FLUX_T_DOT) {
            consume(p);
            if ((rc = expect(p, FLUX_T_IDENT)) != VT_OK)
                return rc;
            n = new_node(p, FLUX_EXPR_MEMBER, &p->last);
            if (!n || !(n->u.member.property = tok_str(p, &p->last)))
                return oom(p);
            n->u.member.object = e;
        } else if (t->tok == FLUX_T_LPAREN) {
            consume(p);
            n = new_node(p, FLUX_EXPR_CALL, &p->last);
            if (!n)
                return oom(p);
            n->u.call.callee = e;
            if ((rc = enter(p)) != VT_OK)
                return rc;
            rc = parse_property_list(p, n, FLUX_T_RPAREN, NULL, &n->u.call.args,
                                     &n->u.call.nargs);
            p->depth--;
            if (rc != VT_OK || (rc = close_tok(p, FLUX_T_RPAREN, e->line, e->col)) != VT_OK)
                return rc;
            end_at_tok(n, &p->last);
        } else if (t->tok == FLUX_T_LBRACK) {
            consume(p);
            n = new_node(p, FLUX_EXPR_INDEX, &p->last);
            if (!n)
                return oom(p);
            t = peek(p);
            if (is_closer(t->tok) && t->tok != FLUX_T_EOF)
                return fail_tok(p, t, "no expression included in brackets");
            flux_node *idx;
            if ((rc = enter(p)) != VT_OK)
                return rc;
            rc = parse_expression(p, &idx);
            p->depth--;
            if (rc != VT_OK || (rc = close_tok(p, FLUX_T_RBRACK, e->line, e->col)) != VT_OK)
                return rc;
            end_at_tok(n, &p->last);
            if (idx->kind == FLUX_EXPR_STRING) {
                n->kind = FLUX_EXPR_MEMBER;
                n->u.member.object = e;
                n->u.member.property = idx->u.str;
                n->u.member.bracket = true;
            } else {
                n->u.index.object = e;
                n->u.index.index = idx;
                if ((rc = child(p, n, idx)) != VT_OK)
                    return rc;
            }
        } else {
            break;
        }
        start_at_node(n, e);
        if ((rc = child(p, n, e)) != VT_OK)
            return rc;
        e = n;
    }
    *out = e;
    return VT_OK;
}

static vt_rc parse_unary(fp *p, flux_node **out)
{
    flux_token *t = peek_regex(p);
    if (t->tok != FLUX_T_ADD && t->tok != FLUX_T_SUB)
        return parse_postfix(p, out);
    flux_token op = *t;
    consume(p);
    flux_node *n = new_node(p, FLUX_EXPR_UNARY, &op);
    if (!n)
        return oom(p);
    n->u.unary.op = op.tok == FLUX_T_ADD ? FLUX_OP_ADD : FLUX_OP_SUB;
    vt_rc rc = enter(p);
    if (rc != VT_OK)
        return rc;
    rc = parse_unary(p, &n->u.unary.arg);
    p->depth--;
    if (rc != VT_OK || (rc = child(p, n, n->u.unary.arg)) != VT_OK)
        return rc;
    end_at_node(n, n->u.unary.arg);
    *out = n;
    return VT_OK;
}

static vt_rc parse_pipe(fp *p, flux_node **out)
{
    flux_node *e = NULL;
    vt_rc rc = parse_unary(p, &e);
    if (rc != VT_OK)
        return rc;
    while (peek(p)->tok == FLUX_T_PIPE_FORWARD) {
        consume(p);
        flux_node *call;
        if ((rc = parse_unary(p, &call)) != VT_OK)
            return rc;
        if (call->kind != FLUX_EXPR_CALL)
            return fail_node(p, call, "pipe destination must be a function call");
        flux_node *n = new_node(p, FLUX_EXPR_PIPE, &p->last);
        if (!n)
            return oom(p);
        n->u.pipe.arg = e;
        n->u.pipe.call = call;
        start_at_node(n, e);
        end_at_node(n, call);
        if ((rc = child(p, n, e)) != VT_OK || (rc = child(p, n, call)) != VT_OK)
            return rc;
        e = n;
    }
    *out = e;
    return VT_OK;
}

typedef vt_rc (*sub_parser)(fp *p, flux_node **out);

static flux_op binary_op(flux_tok t, int level)
{
    switch (level) {
    case 0: /* ^ */
        return t == FLUX_T_POW ? FLUX_OP_POW : FLUX_OP_NONE;
    case 1:
        return t == FLUX_T_MUL ? FLUX_OP_MUL
               : t == FLUX_T_DIV ? FLUX_OP_DIV
               : t == FLUX_T_MOD ? FLUX_OP_MOD
                                 : FLUX_OP_NONE;
    case 2:
        return t == FLUX_T_ADD ? FLUX_OP_ADD : t == FLUX_T_SUB ? FLUX_OP_SUB : FLUX_OP_NONE;
    case 3:
        switch (t) {
        case FLUX_T_EQ: return FLUX_OP_EQ;
        case FLUX_T_NEQ: return FLUX_OP_NEQ;
        case FLUX_T_LT: return FLUX_OP_LT;
        case FLUX_T_LTE: return FLUX_OP_LTE;
        case FLUX_T_GT: return FLUX_OP_GT;
        case FLUX_T_GTE: return FLUX_OP_GTE;
        case FLUX_T_REGEXEQ: return FLUX_OP_REGEXEQ;
        case FLUX_T_REGEXNEQ: return FLUX_OP_REGEXNEQ;
        default: return FLUX_OP_NONE;
        }
    case 4:
        return t == FLUX_T_AND ? FLUX_OP_AND : FLUX_OP_NONE;
    default:
        return t == FLUX_T_OR ? FLUX_OP_OR : FLUX_OP_NONE;
    }
}

/* Level 0 (^) over pipes ... level 5 (or) over and; level 4's operand is not/exists. */
static vt_rc parse_binary(fp *p, int level, flux_node **out)
{
    flux_node *e = NULL;
    vt_rc rc = level == 0 ? parse_pipe(p, &e)
               : level == 4 ? parse_logical_unary(p, &e)
                            : parse_binary(p, level - 1, &e);
    if (rc != VT_OK)
        return rc;
    for (;;) {
        flux_op op = binary_op(peek(p)->tok, level);
        if (op == FLUX_OP_NONE)
            break;
        consume(p);
        flux_node *n = new_node(p, level >= 4 ? FLUX_EXPR_LOGICAL : FLUX_EXPR_BINARY, &p->last);
        if (!n)
            return oom(p);
        n->u.binary.op = op;
        n->u.binary.lhs = e;
        rc = level == 0 ? parse_pipe(p, &n->u.binary.rhs)
             : level == 4 ? parse_logical_unary(p, &n->u.binary.rhs)
                          : parse_binary(p, level - 1, &n->u.binary.rhs);
        if (rc != VT_OK)
            return rc;
        start_at_node(n, e);
        end_at_node(n, n->u.binary.rhs);
        if ((rc = child(p, n, e)) != VT_OK || (rc = child(p, n, n->u.binary.rhs)) != VT_OK)
            return rc;
        e = n;
    }
    *out = e;
    return VT_OK;
}

static vt_rc parse_logical_unary(fp *p, flux_node **out)
{
    flux_token *t = peek(p);
    if (t->tok != FLUX_T_NOT && t->tok != FLUX_T_EXISTS)
        return parse_binary(p, 3, out);
    flux_token op = *t;
    consume(p);
    flux_node *n = new_node(p, FLUX_EXPR_UNARY, &op);
    if (!n)
        return oom(p);
    n->u.unary.op = op.tok == FLUX_T_NOT ? FLUX_OP_NOT : FLUX_OP_EXISTS;
    vt_rc rc = enter(p);
    if (rc != VT_OK)
        return rc;
    rc = parse_logical_unary(p, &n->u.unary.arg);
    p->depth--;
    if (rc != VT_OK || (rc = child(p, n, n->u.unary.arg)) != VT_OK)
        return rc;
    end_at_node(n, n->u.unary.arg);
    *out = n;
    return VT_OK;
}

static vt_rc parse_expression_inner(fp *p, flux_node **out)
{
    flux_token *t = peek(p);
    if (t->tok != FLUX_T_IF)
        return parse_binary(p, 5, out);
    flux_token iftok = *t;
    consume(p);
    flux_node *n = new_node(p, FLUX_EXPR_CONDITIONAL, &iftok);
    if (!n)
        return oom(p);
    vt_rc rc;
    if ((rc = parse_expression(p, &n->u.cond.test)) != VT_OK ||
        (rc = expect(p, FLUX_T_THEN)) != VT_OK ||
        (rc = parse_expression(p, &n->u.cond.cons)) != VT_OK ||
        (rc = expect(p, FLUX_T_ELSE)) != VT_OK ||
        (rc = parse_expression(p, &n->u.cond.alt)) != VT_OK)
        return rc;
    end_at_node(n, n->u.cond.alt);
    if ((rc = child(p, n, n->u.cond.test)) != VT_OK ||
        (rc = child(p, n, n->u.cond.cons)) != VT_OK ||
        (rc = child(p, n, n->u.cond.alt)) != VT_OK)
        return rc;
    *out = n;
    return VT_OK;
}

static vt_rc parse_expression(fp *p, flux_node **out)
{
    vt_rc rc = enter(p);
    if (rc != VT_OK)
        return rc;
    rc = parse_expression_inner(p, out);
    p->depth--;
    return rc;
}

/* ---------------------------------------------------------------- statements */

static vt_rc stmt_with_expr(fp *p, flux_node_kind kind, const flux_token *start, flux_node **out)
{
    flux_node *n = new_node(p, kind, start);
    if (!n)
        return oom(p);
    vt_rc rc = parse_expression(p, &n->u.expr);
    if (rc != VT_OK || (rc = child(p, n, n->u.expr)) != VT_OK)
        return rc;
    start_at_node(n, kind == FLUX_STMT_EXPR ? n->u.expr : n);
    end_at_node(n, n->u.expr);
    *out = n;
    return VT_OK;
}

static vt_rc parse_statement(fp *p, flux_node **out)
{
    flux_token *t = peek(p);
    flux_token st = *t;
    vt_rc rc;
    switch (st.tok) {
    case FLUX_T_IDENT: {
        flux_lexpos before = p->tok_pre;
        consume(p);
        if (peek(p)->tok != FLUX_T_ASSIGN) {
            rewind_to(p, before);
            return stmt_with_expr(p, FLUX_STMT_EXPR, &st, out);
        }
        consume(p);
        flux_node *n = new_node(p, FLUX_STMT_VAR, &st);
        if (!n || !(n->u.assign.name = tok_str(p, &st)))
            return oom(p);
        if ((rc = parse_expression(p, &n->u.assign.init)) != VT_OK ||
            (rc = child(p, n, n->u.assign.init)) != VT_OK)
            return rc;
        end_at_node(n, n->u.assign.init);
        *out = n;
        return VT_OK;
    }
    case FLUX_T_OPTION: {
        consume(p);
        flux_node *n = new_node(p, FLUX_STMT_OPTION, &st);
        if (!n)
            return oom(p);
        if ((rc = expect(p, FLUX_T_IDENT)) != VT_OK)
            return rc;
        if (!(n->u.assign.name = tok_str(p, &p->last)))
            return oom(p);
        if (peek(p)->tok == FLUX_T_DOT) {
            consume(p);
            if ((rc = expect(p, FLUX_T_IDENT)) != VT_OK)
                return rc;
            if (!(n->u.assign.member = tok_str(p, &p->last)))
                return oom(p);
        }
        if ((rc = expect(p, FLUX_T_ASSIGN)) != VT_OK ||
            (rc = parse_expression(p, &n->u.assign.init)) != VT_OK ||
            (rc = child(p, n, n->u.assign.init)) != VT_OK)
            return rc;
        end_at_node(n, n->u.assign.init);
        *out = n;
        return VT_OK;
    }
    case FLUX_T_RETURN:
        consume(p);
        return stmt_with_expr(p, FLUX_STMT_RETURN, &st, out);
    case FLUX_T_INT:
    case FLUX_T_FLOAT:
    case FLUX_T_STRING:
    case FLUX_T_DIV:
    case FLUX_T_TIME:
    case FLUX_T_DURATION:
    case FLUX_T_PIPE_RECEIVE:
    case FLUX_T_LPAREN:
    case FLUX_T_LBRACK:
    case FLUX_T_LBRACE:
    case FLUX_T_ADD:
    case FLUX_T_SUB:
    case FLUX_T_NOT:
    case FLUX_T_IF:
    case FLUX_T_EXISTS:
    case FLUX_T_QUOTE:
        return stmt_with_expr(p, FLUX_STMT_EXPR, &st, out);
    default:
        return fail_tok(p, &st, "invalid statement: %.*s", LIT(p, &st));
    }
}

vt_rc flux_parse(arena *a, const char *src, size_t len, flux_file **out, flux_error *err)
{
    memset(err, 0, sizeof(*err));
    *out = NULL;
    if (len > FLUX_MAX_SRC_LEN) {
        err->rc = VT_ELIMIT;
        snprintf(err->msg, sizeof(err->msg), "query too long: %zu bytes, the limit is %zu bytes",
                 len, FLUX_MAX_SRC_LEN);
        return VT_ELIMIT;
    }
    fp p;
    memset(&p, 0, sizeof(p));
    p.a = a;
    p.err = err;
    flux_lexer_init(&p.lx, src ? src : "", src ? len : 0);
    flux_token *t = peek(&p);
    flux_node *f = new_node(&p, FLUX_NODE_FILE, t);
    if (!f)
        return oom(&p);
    vt_rc rc;
    if (t->tok == FLUX_T_PACKAGE) {
        consume(&p);
        if ((rc = expect(&p, FLUX_T_IDENT)) != VT_OK)
            return rc;
        if (!(f->u.file.package = tok_str(&p, &p.last)))
            return oom(&p);
    }
    size_t cap = 0;
    while (peek(&p)->tok == FLUX_T_IMPORT) {
        flux_import *imp = push(&p, &f->u.file.imports, &f->u.file.nimports, &cap, sizeof(*imp));
        if (!imp)
            return oom(&p);
        consume(&p);
        imp->line = p.last.line;
        imp->col = p.last.col;
        if (peek(&p)->tok == FLUX_T_IDENT) {
            consume(&p);
            if (!(imp->alias = tok_str(&p, &p.last)))
                return oom(&p);
        }
        if ((rc = expect(&p, FLUX_T_STRING)) != VT_OK ||
            (rc = parse_string_lit(&p, &p.last, &imp->path)) != VT_OK)
            return rc;
    }
    cap = 0;
    while (peek(&p)->tok != FLUX_T_EOF) {
        flux_node **slot = push(&p, &f->u.file.body, &f->u.file.nbody, &cap, sizeof(*slot));
        if (!slot)
            return oom(&p);
        if ((rc = parse_statement(&p, slot)) != VT_OK || (rc = child(&p, f, *slot)) != VT_OK)
            return rc;
    }
    if (p.last.end > 0) {
        f->end_line = p.last.end_line;
        f->end_col = p.last.end_col;
    }
    *out = f;
    return VT_OK;
}

/* ---------------------------------------------------------------- helpers */

const char *flux_op_name(flux_op op)
{
    switch (op) {
    case FLUX_OP_ADD: return "+";
    case FLUX_OP_SUB: return "-";
    case FLUX_OP_MUL: return "*";
    case FLUX_OP_DIV: return "/";
    case FLUX_OP_MOD: return "%";
    case FLUX_OP_POW: return "^";
    case FLUX_OP_EQ: return "==";
    case FLUX_OP_NEQ: return "!=";
    case FLUX_OP_LT: return "<";
    case FLUX_OP_LTE: return "<=";
    case FLUX_OP_GT: return ">";
    case FLUX_OP_GTE: return ">=";
    case FLUX_OP_REGEXEQ: return "=~";
    case FLUX_OP_REGEXNEQ: return "!~";
    case FLUX_OP_AND: return "and";
    case FLUX_OP_OR: return "or";
    case FLUX_OP_NOT: return "not";
    case FLUX_OP_EXISTS: return "exists";
    default: return "?";
    }
}

const char *flux_duration_unit_name(flux_duration_unit u)
{
    static const char *const names[] = {"ns", "us", "ms", "s", "m", "h", "d", "w", "mo", "y"};
    return (unsigned)u < sizeof(names) / sizeof(names[0]) ? names[u] : "?";
}

vt_rc flux_duration_value(const flux_node *d, int64_t *months, int64_t *ns)
{
    static const int64_t unit_ns[] = {1,
                                      1000,
                                      1000000,
                                      1000000000,
                                      60 * (int64_t)1000000000,
                                      3600 * (int64_t)1000000000,
                                      86400 * (int64_t)1000000000,
                                      7 * 86400 * (int64_t)1000000000};
    int64_t mo = 0, n = 0;
    for (size_t i = 0; i < d->u.duration.nparts; i++) {
        const flux_duration_part *pt = &d->u.duration.parts[i];
        int64_t v;
        if (pt->unit == FLUX_DUR_MO || pt->unit == FLUX_DUR_Y) {
            if (!mul_i64(pt->magnitude, pt->unit == FLUX_DUR_Y ? 12 : 1, &v) ||
                !add_i64(mo, v, &mo))
                return VT_ELIMIT;
        } else if (!mul_i64(pt->magnitude, unit_ns[pt->unit], &v) || !add_i64(n, v, &n)) {
            return VT_ELIMIT;
        }
    }
    *months = mo;
    *ns = n;
    return VT_OK;
}

vt_rc flux_datetime_ns(const flux_node *t, int64_t *ns)
{
    int64_t v;
    if (!mul_i64(t->u.datetime.secs, 1000000000, &v) || !add_i64(v, t->u.datetime.nsecs, &v))
        return VT_ELIMIT;
    *ns = v;
    return VT_OK;
}

const flux_node *flux_unparen(const flux_node *n)
{
    while (n && n->kind == FLUX_EXPR_PAREN)
        n = n->u.expr;
    return n;
}

/* ---------------------------------------------------------------- printer */

static void fmt_node(const flux_node *n, vt_buf *out, int indent);

static void put(vt_buf *b, const char *s)
{
    vt_buf_append(b, s, strlen(s));
}

static void fmt_indent(vt_buf *b, int indent)
{
    for (int i = 0; i < indent; i++)
        put(b, "    ");
}

static void fmt_text(const char *s, vt_buf *b)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '"': put(b, "\\\""); break;
        case '\\': put(b, "\\\\"); break;
        case '\n': put(b, "\\n"); break;
        case '\r': put(b, "\\r"); break;
        case '\t': put(b, "\\t"); break;
        case '$':
            put(b, s[1] == '{' ? "\\$" : "$");
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                vt_buf_printf(b, "\\x%02x", c);
            else
                vt_buf_putc(b, c);
        }
    }
}

static void fmt_string(const char *s, vt_buf *b)
{
    vt_buf_putc(b, '"');
    fmt_text(s, b);
    vt_buf_putc(b, '"');
}

/* Shortest digits that read back as v, laid out without an exponent, always with a '.'. */
static void fmt_float(double v, vt_buf *b)
{
    char tmp[40];
    if (v < 0 || (v == 0 && signbit(v))) {
        vt_buf_putc(b, '-');
        v = -v;
    }
    int prec;
    for (prec = 0; prec < 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    snprintf(tmp, sizeof tmp, "%.*e", prec, v);
    /* tmp: d[.ddd]e±XX */
    char digits[24];
    size_t nd = 0;
    const char *q = tmp;
    for (; *q && *q != 'e'; q++)
        if (*q >= '0' && *q <= '9')
            digits[nd++] = *q;
    int exp10 = atoi(q + 1);
    /* value = 0.d1d2d3... * 10^(exp10+1) */
    int point = exp10 + 1; /* digits before the decimal point */
    if (point <= 0) {
        put(b, "0.");
        for (int i = 0; i < -point; i++)
            vt_buf_putc(b, '0');
        vt_buf_append(b, digits, nd);
    } else if ((size_t)point >= nd) {
        vt_buf_append(b, digits, nd);
        for (size_t i = nd; i < (size_t)point; i++)
            vt_buf_putc(b, '0');
        put(b, ".0");
    } else {
        vt_buf_append(b, digits, (size_t)point);
        vt_buf_putc(b, '.');
        vt_buf_append(b, digits + point, nd - (size_t)point);
    }
}

static void fmt_datetime(const flux_node *n, vt_buf *b)
{
    int32_t off = n->u.datetime.offset_min;
    int64_t local = n->u.datetime.secs + (int64_t)off * 60;
    int64_t days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
    int64_t sod = local - days * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    vt_buf_printf(b, "%04" PRId64 "-%02u-%02uT%02u:%02u:%02u", y, m, d, (unsigned)(sod / 3600),
                  (unsigned)(sod / 60 % 60), (unsigned)(sod % 60));
    if (n->u.datetime.nsecs) {
        char frac[16];
        snprintf(frac, sizeof frac, "%09u", n->u.datetime.nsecs);
        size_t l = 9;
        while (l > 0 && frac[l - 1] == '0')
            l--;
        vt_buf_putc(b, '.');
        vt_buf_append(b, frac, l);
    }
    if (off == 0) {
        vt_buf_putc(b, 'Z');
    } else {
        int32_t a = off < 0 ? -off : off;
        vt_buf_printf(b, "%c%02d:%02d", off < 0 ? '-' : '+', (int)(a / 60), (int)(a % 60));
    }
}

static void fmt_regex(const char *s, vt_buf *b)
{
    vt_buf_putc(b, '/');
    for (; *s; s++) {
        if (*s == '/') {
            put(b, "\\/");
        } else if (*s == '\\' && s[1]) {
            vt_buf_putc(b, '\\');
            s++;
            if (*s == '/')
                vt_buf_putc(b, '\\');
            vt_buf_putc(b, (uint8_t)*s);
        } else {
            vt_buf_putc(b, (uint8_t)*s);
        }
    }
    vt_buf_putc(b, '/');
}

static void fmt_key(const flux_property *pr, vt_buf *b)
{
    if (pr->key_is_string)
        fmt_string(pr->key, b);
    else
        put(b, pr->key);
}

static void fmt_props(const flux_property *props, size_t n, vt_buf *b, int indent, char sep)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            put(b, ", ");
        fmt_key(&props[i], b);
        if (props[i].value) {
            put(b, sep == ':' ? ": " : "=");
            fmt_node(props[i].value, b, indent);
        }
    }
}

static void fmt_stmts(flux_node *const *body, size_t n, vt_buf *b, int indent)
{
    for (size_t i = 0; i < n; i++) {
        fmt_indent(b, indent);
        fmt_node(body[i], b, indent);
        vt_buf_putc(b, '\n');
    }
}

static void fmt_node(const flux_node *n, vt_buf *b, int indent)
{
    switch (n->kind) {
    case FLUX_NODE_FILE:
        if (n->u.file.package) {
            put(b, "package ");
            put(b, n->u.file.package);
            vt_buf_putc(b, '\n');
        }
        for (size_t i = 0; i < n->u.file.nimports; i++) {
            put(b, "import ");
            if (n->u.file.imports[i].alias) {
                put(b, n->u.file.imports[i].alias);
                vt_buf_putc(b, ' ');
            }
            fmt_string(n->u.file.imports[i].path, b);
            vt_buf_putc(b, '\n');
        }
        fmt_stmts(n->u.file.body, n->u.file.nbody, b, 0);
        break;
    case FLUX_STMT_EXPR:
        fmt_node(n->u.expr, b, indent);
        break;
    case FLUX_STMT_RETURN:
        put(b, "return ");
        fmt_node(n->u.expr, b, indent);
        break;
    case FLUX_STMT_OPTION:
        put(b, "option ");
        /* fall through */
    case FLUX_STMT_VAR:
        put(b, n->u.assign.name);
        if (n->u.assign.member) {
            vt_buf_putc(b, '.');
            put(b, n->u.assign.member);
        }
        put(b, " = ");
        fmt_node(n->u.assign.init, b, indent);
        break;
    case FLUX_EXPR_IDENT:
        put(b, n->u.ident);
        break;
    case FLUX_EXPR_INT:
        vt_buf_printf(b, "%" PRId64, n->u.integer);
        break;
    case FLUX_EXPR_FLOAT:
        fmt_float(n->u.flt, b);
        break;
    case FLUX_EXPR_STRING:
        fmt_string(n->u.str, b);
        break;
    case FLUX_EXPR_STRING_INTERP:
        vt_buf_putc(b, '"');
        for (size_t i = 0; i < n->u.interp.nparts; i++) {
            const flux_string_part *pt = &n->u.interp.parts[i];
            if (pt->expr) {
                put(b, "${");
                fmt_node(pt->expr, b, indent);
                vt_buf_putc(b, '}');
            } else {
                fmt_text(pt->text, b);
            }
        }
        vt_buf_putc(b, '"');
        break;
    case FLUX_EXPR_DURATION:
        for (size_t i = 0; i < n->u.duration.nparts; i++)
            vt_buf_printf(b, "%" PRId64 "%s", n->u.duration.parts[i].magnitude,
                          flux_duration_unit_name(n->u.duration.parts[i].unit));
        break;
    case FLUX_EXPR_DATETIME:
        fmt_datetime(n, b);
        break;
    case FLUX_EXPR_REGEX:
        fmt_regex(n->u.regex, b);
        break;
    case FLUX_EXPR_PIPE_LIT:
        put(b, "<-");
        break;
    case FLUX_EXPR_ARRAY:
        vt_buf_putc(b, '[');
        for (size_t i = 0; i < n->u.array.n; i++) {
            if (i)
                put(b, ", ");
            fmt_node(n->u.array.elems[i], b, indent);
        }
        vt_buf_putc(b, ']');
        break;
    case FLUX_EXPR_DICT:
        vt_buf_putc(b, '[');
        if (n->u.dict.n == 0)
            vt_buf_putc(b, ':');
        for (size_t i = 0; i < n->u.dict.n; i++) {
            if (i)
                put(b, ", ");
            fmt_node(n->u.dict.keys[i], b, indent);
            put(b, ": ");
            fmt_node(n->u.dict.values[i], b, indent);
        }
        vt_buf_putc(b, ']');
        break;
    case FLUX_EXPR_RECORD:
        vt_buf_putc(b, '{');
        if (n->u.record.with) {
            put(b, n->u.record.with);
            put(b, n->u.record.nprops ? " with " : " with");
        }
        fmt_props(n->u.record.props, n->u.record.nprops, b, indent, ':');
        vt_buf_putc(b, '}');
        break;
    case FLUX_EXPR_MEMBER: {
        const flux_node *o = n->u.member.object;
        fmt_node(o, b, indent);
        if (n->u.member.bracket) {
            vt_buf_putc(b, '[');
            fmt_string(n->u.member.property, b);
            vt_buf_putc(b, ']');
        } else {
            if (o->kind == FLUX_EXPR_INT)
                vt_buf_putc(b, ' '); /* "1 .a", not the float "1." */
            vt_buf_putc(b, '.');
            put(b, n->u.member.property);
        }
        break;
    }
    case FLUX_EXPR_INDEX:
        fmt_node(n->u.index.object, b, indent);
        vt_buf_putc(b, '[');
        fmt_node(n->u.index.index, b, indent);
        vt_buf_putc(b, ']');
        break;
    case FLUX_EXPR_CALL:
        fmt_node(n->u.call.callee, b, indent);
        vt_buf_putc(b, '(');
        fmt_props(n->u.call.args, n->u.call.nargs, b, indent, ':');
        vt_buf_putc(b, ')');
        break;
    case FLUX_EXPR_PIPE:
        fmt_node(n->u.pipe.arg, b, indent);
        put(b, " |> ");
        fmt_node(n->u.pipe.call, b, indent);
        break;
    case FLUX_EXPR_FUNCTION:
        vt_buf_putc(b, '(');
        fmt_props(n->u.fn.params, n->u.fn.nparams, b, indent, '=');
        put(b, ") => ");
        if (n->u.fn.is_block) {
            put(b, "{\n");
            fmt_stmts(n->u.fn.body, n->u.fn.nbody, b, indent + 1);
            fmt_indent(b, indent);
            vt_buf_putc(b, '}');
        } else {
            fmt_node(n->u.fn.expr, b, indent);
        }
        break;
    case FLUX_EXPR_UNARY:
        put(b, flux_op_name(n->u.unary.op));
        if (n->u.unary.op == FLUX_OP_NOT || n->u.unary.op == FLUX_OP_EXISTS)
            vt_buf_putc(b, ' ');
        fmt_node(n->u.unary.arg, b, indent);
        break;
    case FLUX_EXPR_BINARY:
    case FLUX_EXPR_LOGICAL:
        fmt_node(n->u.binary.lhs, b, indent);
        vt_buf_putc(b, ' ');
        put(b, flux_op_name(n->u.binary.op));
        vt_buf_putc(b, ' ');
        fmt_node(n->u.binary.rhs, b, indent);
        break;
    case FLUX_EXPR_CONDITIONAL:
        put(b, "if ");
        fmt_node(n->u.cond.test, b, indent);
        put(b, " then ");
        fmt_node(n->u.cond.cons, b, indent);
        put(b, " else ");
        fmt_node(n->u.cond.alt, b, indent);
        break;
    case FLUX_EXPR_PAREN:
        vt_buf_putc(b, '(');
        fmt_node(n->u.expr, b, indent);
        vt_buf_putc(b, ')');
        break;
    }
}

void flux_format(const flux_node *n, vt_buf *out)
{
    if (n)
        fmt_node(n, out, 0);
}
