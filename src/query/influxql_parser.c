/*
 * query/influxql_parser.c — recursive-descent InfluxQL parser and canonical printer.
 *
 * Design notes
 *   1. Faithful to InfluxDB 1.x (influxql/parser.go): the same grammar decisions in the same
 *      order, so the same input fails at the same token with the same "found X, expected Y"
 *      text. Where InfluxDB reads a token without skipping whitespace (Scan vs
 *      ScanIgnoreWhitespace) this parser does too (scan vs scan_nows): e.g. `count (x)` is a
 *      field named count followed by '(' — an error — and `a . b` is not a qualified name.
 *   2. Unscan restores the lexer state saved in the token (see influxql_lexer.h), so any
 *      amount of lookahead is possible; the grammar needs at most two tokens.
 *   3. Binary expressions are built as InfluxDB builds them: parse a unary expression, then for
 *      each operator descend the right spine of the tree to the first node whose operator binds
 *      at least as tightly, and hang the new node there. Unary minus on a non-literal becomes
 *      `-1 * x` (a BinaryExpr), exactly as InfluxDB does.
 *   4. Bounds: the query length (1 MiB), the nesting depth (64: parentheses, call arguments,
 *      subqueries, each counts one) and the expression height (1024, which bounds every
 *      recursive walk of the tree, including the printer's). The height of each node is kept
 *      in influxql_expr.height; after an insertion on the right spine the heights along the
 *      spine are recomputed from a scratch path array (one per parser, never recursive).
 *   5. Memory: every node and string comes from the caller's arena. Errors allocate nothing.
 */
#include "query/influxql_parser.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "query/influxql_lexer.h"

typedef enum target_req { TARGET_REQUIRED, TARGET_NOT_REQUIRED, TARGET_SUBQUERY } target_req;

typedef struct iqp {
    influxql_lexer lx;
    arena *a;
    const influxql_params *params;
    influxql_error *err;
    int depth;
    influxql_expr **path; /* INFLUXQL_MAX_HEIGHT + 1 slots, see note 4 */
} iqp;

#define TRY(x)                                                                                   \
    do {                                                                                         \
        vt_rc rc_ = (x);                                                                         \
        if (rc_ != VT_OK)                                                                        \
            return rc_;                                                                          \
    } while (0)

/* ---- errors ------------------------------------------------------------------------------ */

static vt_rc p_oom(iqp *p)
{
    p->err->rc = VT_ENOMEM;
    p->err->has_pos = false;
    p->err->line = p->err->col = 0;
    snprintf(p->err->msg, sizeof(p->err->msg), "out of memory");
    return VT_ENOMEM;
}

static vt_rc p_vmsg(iqp *p, bool pos, uint32_t line0, uint32_t col0, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));
static vt_rc p_vmsg(iqp *p, bool pos, uint32_t line0, uint32_t col0, const char *fmt, va_list ap)
{
    if (p->lx.oom)
        return p_oom(p);
    influxql_error *e = p->err;
    char text[VT_ERR_MSG_MAX];
    vsnprintf(text, sizeof(text), fmt, ap);
    e->rc = VT_EPARSE;
    e->has_pos = pos;
    e->line = pos ? line0 + 1 : 0;
    e->col = pos ? col0 + 1 : 0;
    if (pos)
        snprintf(e->msg, sizeof(e->msg), "%.400s at line %" PRIu32 ", char %" PRIu32, text,
                 e->line, e->col);
    else
        snprintf(e->msg, sizeof(e->msg), "%s", text);
    return VT_EPARSE;
}

/* "<msg> at line L, char C" (line0/col0 0-based). */
static vt_rc p_msg_at(iqp *p, uint32_t line0, uint32_t col0, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static vt_rc p_msg_at(iqp *p, uint32_t line0, uint32_t col0, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vt_rc rc = p_vmsg(p, true, line0, col0, fmt, ap);
    va_end(ap);
    return rc;
}

/* A message without position (InfluxDB's errors.New / fmt.Errorf in the parser). */
static vt_rc p_msg(iqp *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static vt_rc p_msg(iqp *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vt_rc rc = p_vmsg(p, false, 0, 0, fmt, ap);
    va_end(ap);
    return rc;
}

/* "found X, expected Y at line L, char C" where X is the literal or the token's name. */
static vt_rc p_expected(iqp *p, const influxql_token *t, const char *expected)
{
    int n = (int)(t->litlen > 200 ? 200 : t->litlen);
    if (n > 0)
        return p_msg_at(p, t->line, t->col, "found %.*s, expected %s", n, t->lit, expected);
    return p_msg_at(p, t->line, t->col, "found %s, expected %s", influxql_tok_name(t->tok),
                    expected);
}

/* ---- small helpers ----------------------------------------------------------------------- */

static char *a_printf(arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *a_printf(arena *a, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return NULL;
    return arena_strndup(a, tmp, (size_t)n);
}

/* Appends one element of size elem to a growable array in the arena; returns its slot. */
static void *vec_push(arena *a, void **base, size_t *n, size_t *cap, size_t elem)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        if (ncap > SIZE_MAX / elem)
            return NULL;
        void *nb = arena_alloc(a, ncap * elem);
        if (!nb)
            return NULL;
        if (*n)
            memcpy(nb, *base, *n * elem);
        *base = nb;
        *cap = ncap;
    }
    void *slot = (char *)*base + *n * elem;
    memset(slot, 0, elem);
    (*n)++;
    return slot;
}

static char *lit_dup(iqp *p, const influxql_token *t)
{
    return arena_strndup(p->a, t->lit, t->litlen);
}

static bool lit_is(const influxql_token *t, const char *s)
{
    return t->litlen == strlen(s) && memcmp(t->lit, s, t->litlen) == 0;
}

static bool lit_is_ci(const influxql_token *t, const char *s)
{
    return t->litlen == strlen(s) && strncasecmp(t->lit, s, t->litlen) == 0;
}

/* ---- scanning with parameter substitution ------------------------------------------------ */

static const influxql_param *find_param(const iqp *p, const char *name, size_t len)
{
    if (!p->params)
        return NULL;
    for (size_t i = 0; i < p->params->n; i++) {
        const influxql_param *pr = &p->params->v[i];
        if (pr->name && strlen(pr->name) == len && memcmp(pr->name, name, len) == 0)
            return pr;
    }
    return NULL;
}

static void set_lit(influxql_token *t, const char *s)
{
    t->lit = s ? s : "";
    t->litlen = s ? strlen(s) : 0;
}

static void substitute(iqp *p, influxql_token *t)
{
    const influxql_param *pr = find_param(p, t->lit + 1, t->litlen - 1);
    if (!pr)
        return;
    switch (pr->kind) {
    case IQL_PARAM_STRING:
        t->tok = IQL_T_STRING;
        set_lit(t, pr->s);
        break;
    case IQL_PARAM_IDENT:
        t->tok = IQL_T_IDENT;
        set_lit(t, pr->s);
        break;
    case IQL_PARAM_REGEX:
        t->tok = IQL_T_REGEX;
        set_lit(t, pr->s);
        break;
    case IQL_PARAM_BOOLEAN:
        t->tok = pr->b ? IQL_T_TRUE : IQL_T_FALSE;
        set_lit(t, NULL);
        break;
    case IQL_PARAM_INTEGER:
        t->tok = IQL_T_INTEGER;
        t->has_value = true;
        t->ival = pr->i;
        set_lit(t, a_printf(p->a, "%" PRId64, pr->i));
        break;
    case IQL_PARAM_FLOAT:
        t->tok = IQL_T_NUMBER;
        t->has_value = true;
        t->fval = pr->f;
        set_lit(t, a_printf(p->a, "%g", pr->f));
        break;
    case IQL_PARAM_DURATION: {
        t->tok = IQL_T_DURATIONVAL;
        t->has_value = true;
        t->ival = pr->i;
        vt_buf b;
        vt_buf_init(&b);
        influxql_format_duration(pr->i, &b);
        set_lit(t, b.oom ? NULL : arena_strndup(p->a, (const char *)b.data, b.len));
        vt_buf_free(&b);
        break;
    }
    case IQL_PARAM_ERROR:
    default:
        break; /* stays a BOUNDPARAM: parse_unary reports it */
    }
}

static void scan(iqp *p, influxql_token *t)
{
    influxql_lexer_scan(&p->lx, t);
    if (t->tok == IQL_T_BOUNDPARAM && t->litlen > 1)
        substitute(p, t);
}

static void scan_nows(iqp *p, influxql_token *t)
{
    do
        scan(p, t);
    while (t->tok == IQL_T_WS || t->tok == IQL_T_COMMENT);
}

static void unscan(iqp *p, const influxql_token *t)
{
    p->lx.pos = t->before;
}

/* Consumes whitespace (not comments) if the next rune is whitespace. */
static void consume_ws(iqp *p)
{
    influxql_token t;
    scan(p, &t);
    if (t.tok != IQL_T_WS)
        unscan(p, &t);
}

/* Requires the next token (whitespace skipped) to be tok. */
static vt_rc expect(iqp *p, influxql_tok tok)
{
    influxql_token t;
    scan_nows(p, &t);
    if (t.tok != tok)
        return p_expected(p, &t, influxql_tok_name(tok));
    return VT_OK;
}

/* Consumes the next token if it is tok. */
static bool accept(iqp *p, influxql_tok tok)
{
    influxql_token t;
    scan_nows(p, &t);
    if (t.tok == tok)
        return true;
    unscan(p, &t);
    return false;
}

static vt_rc parse_ident(iqp *p, char **out)
{
    influxql_token t;
    scan_nows(p, &t);
    if (t.tok != IQL_T_IDENT)
        return p_expected(p, &t, "identifier");
    *out = lit_dup(p, &t);
    return *out ? VT_OK : p_oom(p);
}

/* ---- durations and numbers --------------------------------------------------------------- */

static vt_rc dur_err(influxql_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static vt_rc dur_err(influxql_error *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        err->rc = VT_EPARSE;
        err->has_pos = false;
        err->line = err->col = 0;
    }
    return VT_EPARSE;
}

vt_rc influxql_parse_duration(const char *s, size_t len, int64_t *ns, influxql_error *err)
{
    if (len < 2)
        return dur_err(err, "invalid duration");
    size_t i = 0;
    bool neg = false;
    if (s[0] == '-') {
        neg = true;
        i++;
    }
    int64_t d = 0;
    while (i < len) {
        size_t start = i;
        int64_t n = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (n > (INT64_MAX - (s[i] - '0')) / 10)
                return dur_err(err, "invalid duration");
            n = n * 10 + (s[i] - '0');
            i++;
        }
        if (i >= len || i == start)
            return dur_err(err, "invalid duration");
        int64_t unit;
        const char *uname;
        size_t ulen = 1;
        unsigned char c = (unsigned char)s[i];
        if (c == 'n' && i + 1 < len && s[i + 1] == 's') {
            unit = 1, uname = "ns", ulen = 2;
        } else if (c == 'u') {
            unit = 1000, uname = "u";
        } else if (c == 0xC2 && i + 1 < len && (unsigned char)s[i + 1] == 0xB5) {
            unit = 1000, uname = "\xC2\xB5", ulen = 2;
        } else if (c == 'm' && i + 1 < len && s[i + 1] == 's') {
            unit = 1000000, uname = "ms", ulen = 2;
        } else if (c == 'm') {
            unit = INT64_C(60000000000), uname = "m";
        } else if (c == 's') {
            unit = INT64_C(1000000000), uname = "s";
        } else if (c == 'h') {
            unit = INT64_C(3600000000000), uname = "h";
        } else if (c == 'd') {
            unit = INT64_C(86400000000000), uname = "d";
        } else if (c == 'w') {
            unit = INT64_C(604800000000000), uname = "w";
        } else {
            return dur_err(err, "invalid duration");
        }
        if (n > INT64_MAX / unit || d > INT64_MAX - n * unit)
            return dur_err(err, "overflowed duration %" PRId64 "%s: choose a smaller duration or INF",
                           n, uname);
        d += n * unit;
        i += ulen;
    }
    *ns = neg ? -d : d;
    return VT_OK;
}

/* ---- expression nodes -------------------------------------------------------------------- */

static influxql_expr *new_expr(iqp *p, influxql_expr_kind k, uint32_t line0, uint32_t col0)
{
    influxql_expr *e = arena_calloc(p->a, 1, sizeof(*e));
    if (!e)
        return NULL;
    e->kind = k;
    e->line = line0 + 1;
    e->col = col0 + 1;
    e->height = 1;
    return e;
}

static uint32_t max_u32(uint32_t a, uint32_t b)
{
    return a > b ? a : b;
}

static vt_rc check_height(iqp *p, const influxql_expr *e, const influxql_token *at)
{
    if (e->height > INFLUXQL_MAX_HEIGHT)
        return p_msg_at(p, at->line, at->col, "expression too deep: height exceeds %d",
                        INFLUXQL_MAX_HEIGHT);
    return VT_OK;
}

static influxql_op tok_to_op(influxql_tok t)
{
    switch (t) {
    case IQL_T_ADD: return IQL_OP_ADD;
    case IQL_T_SUB: return IQL_OP_SUB;
    case IQL_T_MUL: return IQL_OP_MUL;
    case IQL_T_DIV: return IQL_OP_DIV;
    case IQL_T_MOD: return IQL_OP_MOD;
    case IQL_T_BITAND: return IQL_OP_BITAND;
    case IQL_T_BITOR: return IQL_OP_BITOR;
    case IQL_T_BITXOR: return IQL_OP_BITXOR;
    case IQL_T_AND: return IQL_OP_AND;
    case IQL_T_OR: return IQL_OP_OR;
    case IQL_T_IN: return IQL_OP_IN;
    case IQL_T_EQ: return IQL_OP_EQ;
    case IQL_T_NEQ: return IQL_OP_NEQ;
    case IQL_T_EQREGEX: return IQL_OP_EQREGEX;
    case IQL_T_NEQREGEX: return IQL_OP_NEQREGEX;
    case IQL_T_LT: return IQL_OP_LT;
    case IQL_T_LTE: return IQL_OP_LTE;
    case IQL_T_GT: return IQL_OP_GT;
    case IQL_T_GTE: return IQL_OP_GTE;
    default: return IQL_OP_NONE;
    }
}

const char *influxql_op_name(influxql_op op)
{
    switch (op) {
    case IQL_OP_ADD: return "+";
    case IQL_OP_SUB: return "-";
    case IQL_OP_MUL: return "*";
    case IQL_OP_DIV: return "/";
    case IQL_OP_MOD: return "%";
    case IQL_OP_BITAND: return "&";
    case IQL_OP_BITOR: return "|";
    case IQL_OP_BITXOR: return "^";
    case IQL_OP_AND: return "AND";
    case IQL_OP_OR: return "OR";
    case IQL_OP_IN: return "IN";
    case IQL_OP_EQ: return "=";
    case IQL_OP_NEQ: return "!=";
    case IQL_OP_EQREGEX: return "=~";
    case IQL_OP_NEQREGEX: return "!~";
    case IQL_OP_LT: return "<";
    case IQL_OP_LTE: return "<=";
    case IQL_OP_GT: return ">";
    case IQL_OP_GTE: return ">=";
    default: return "";
    }
}

int influxql_op_precedence(influxql_op op)
{
    switch (op) {
    case IQL_OP_OR: return 1;
    case IQL_OP_AND: return 2;
    case IQL_OP_EQ: case IQL_OP_NEQ: case IQL_OP_EQREGEX: case IQL_OP_NEQREGEX:
    case IQL_OP_LT: case IQL_OP_LTE: case IQL_OP_GT: case IQL_OP_GTE: case IQL_OP_IN:
        return 3;
    case IQL_OP_ADD: case IQL_OP_SUB: case IQL_OP_BITOR: case IQL_OP_BITXOR:
        return 4;
    case IQL_OP_MUL: case IQL_OP_DIV: case IQL_OP_MOD: case IQL_OP_BITAND:
        return 5;
    default: return 0;
    }
}

/* ---- expressions ------------------------------------------------------------------------- */

static vt_rc parse_expr(iqp *p, influxql_expr **out);
static vt_rc parse_select(iqp *p, target_req tr, influxql_select **out);

/* A regex if the next rune (after whitespace) starts one, else *out = NULL. */
static vt_rc parse_regex(iqp *p, influxql_expr **out)
{
    *out = NULL;
    int c = influxql_lexer_peek(&p->lx);
    if (c == ' ' || c == '\t' || c == '\n')
        consume_ws(p);
    c = influxql_lexer_peek(&p->lx);
    influxql_token t;
    if (c == '$') {
        scan(p, &t);
        if (t.tok != IQL_T_REGEX) {
            unscan(p, &t);
            return VT_OK;
        }
    } else if (c != '/') {
        return VT_OK;
    } else {
        influxql_lexer_scan_regex(&p->lx, &t);
        if (p->lx.oom)
            return p_oom(p);
        if (t.tok == IQL_T_BADREGEX)
            return p_msg_at(p, t.line, t.col, "bad regex: %.*s", (int)t.litlen, t.lit);
    }
    influxql_expr *e = new_expr(p, IQL_EXPR_REGEX, t.line, t.col);
    if (!e || !(e->u.regex = lit_dup(p, &t)))
        return p_oom(p);
    *out = e;
    return VT_OK;
}

#define MAX_SEGMENTS 16

/* db.rp.name, db..name, "quoted".parts; stops before a '/' or ':' after a dot (*dot_end). */
static vt_rc parse_segments_ex(iqp *p, char **segs, size_t *n, bool *dot_end)
{
    *n = 0;
    *dot_end = false;
    TRY(parse_ident(p, &segs[(*n)++]));
    for (;;) {
        influxql_token t;
        scan(p, &t);
        if (t.tok != IQL_T_DOT) {
            unscan(p, &t);
            break;
        }
        int c = influxql_lexer_peek(&p->lx);
        if (c == '/' || c == ':') {
            *dot_end = true;
            break;
        }
        if (*n == MAX_SEGMENTS)
            break;
        if (c == '.') {
            segs[(*n)++] = "";
            continue;
        }
        TRY(parse_ident(p, &segs[(*n)++]));
    }
    if (*n > 3) {
        vt_buf b;
        vt_buf_init(&b);
        for (size_t i = 0; i < *n; i++) {
            bool q = influxql_ident_needs_quotes(segs[i]) || (i < *n - 1 && segs[i][0]) ||
                     ((i == 0 || i == *n - 1) && !segs[i][0]);
            if (q) {
                vt_buf_putc(&b, '"');
                for (const char *s = segs[i]; *s; s++) {
                    if (*s == '\n')
                        vt_buf_append(&b, "\\n", 2);
                    else if (*s == '\\' || *s == '"') {
                        vt_buf_putc(&b, '\\');
                        vt_buf_putc(&b, (uint8_t)*s);
                    } else
                        vt_buf_putc(&b, (uint8_t)*s);
                }
                vt_buf_putc(&b, '"');
            } else {
                vt_buf_append(&b, segs[i], strlen(segs[i]));
            }
            if (i < *n - 1)
                vt_buf_putc(&b, '.');
        }
        vt_rc rc = b.oom ? p_oom(p)
                         : p_msg_at(p, 0, 0, "too many segments in %.300s", vt_buf_cstr(&b));
        vt_buf_free(&b);
        return rc;
    }
    return VT_OK;
}

static vt_rc parse_segments(iqp *p, char **segs, size_t *n)
{
    bool dot_end;
    return parse_segments_ex(p, segs, n, &dot_end);
}

static char *join_segments(iqp *p, char **segs, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += strlen(segs[i]) + 1;
    char *s = arena_alloc(p->a, total + 1);
    if (!s)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (i)
            s[k++] = '.';
        size_t l = strlen(segs[i]);
        memcpy(s + k, segs[i], l);
        k += l;
    }
    s[k] = '\0';
    return s;
}

static vt_rc parse_varref(iqp *p, influxql_expr **out)
{
    char *segs[MAX_SEGMENTS];
    size_t n;
    influxql_token first;
    scan_nows(p, &first);
    unscan(p, &first);
    TRY(parse_segments(p, segs, &n));
    influxql_expr *e = new_expr(p, IQL_EXPR_VARREF, first.line, first.col);
    if (!e || !(e->u.ref.name = join_segments(p, segs, n)))
        return p_oom(p);
    influxql_token t;
    scan(p, &t);
    if (t.tok == IQL_T_DOUBLECOLON) {
        scan(p, &t);
        if (t.tok == IQL_T_IDENT) {
            if (lit_is_ci(&t, "float"))
                e->u.ref.type = IQL_TYPE_FLOAT;
            else if (lit_is_ci(&t, "integer"))
                e->u.ref.type = IQL_TYPE_INTEGER;
            else if (lit_is_ci(&t, "unsigned"))
                e->u.ref.type = IQL_TYPE_UNSIGNED;
            else if (lit_is_ci(&t, "string"))
                e->u.ref.type = IQL_TYPE_STRING;
            else if (lit_is_ci(&t, "boolean"))
                e->u.ref.type = IQL_TYPE_BOOLEAN;
            else
                return p_expected(p, &t, "float, integer, unsigned, string, boolean, field, tag");
        } else if (t.tok == IQL_T_FIELD) {
            e->u.ref.type = IQL_TYPE_FIELD;
        } else if (t.tok == IQL_T_TAG) {
            e->u.ref.type = IQL_TYPE_TAG;
        } else {
            return p_expected(p, &t, "float, integer, string, boolean, field, tag");
        }
    } else {
        unscan(p, &t);
    }
    *out = e;
    return VT_OK;
}

/* name( has been consumed. */
static vt_rc parse_call(iqp *p, const influxql_token *name, influxql_expr **out)
{
    influxql_expr *e = new_expr(p, IQL_EXPR_CALL, name->line, name->col);
    char *lname = arena_strndup(p->a, name->lit, name->litlen);
    if (!e || !lname)
        return p_oom(p);
    for (char *s = lname; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
    e->u.call.name = lname;
    size_t cap = 0;
    influxql_expr *arg;
    TRY(parse_regex(p, &arg));
    if (!arg) {
        influxql_token t;
        scan(p, &t);
        if (t.tok == IQL_T_RPAREN) {
            *out = e;
            return VT_OK;
        }
        unscan(p, &t);
        TRY(parse_expr(p, &arg));
    }
    for (;;) {
        influxql_expr **slot = vec_push(p->a, (void **)&e->u.call.args, &e->u.call.nargs, &cap,
                                        sizeof(*slot));
        if (!slot)
            return p_oom(p);
        *slot = arg;
        e->height = max_u32(e->height, arg->height + 1);
        if (!accept(p, IQL_T_COMMA))
            break;
        TRY(parse_regex(p, &arg));
        if (!arg)
            TRY(parse_expr(p, &arg));
    }
    influxql_token t;
    scan(p, &t);
    if (t.tok != IQL_T_RPAREN)
        return p_expected(p, &t, ")");
    TRY(check_height(p, e, name));
    *out = e;
    return VT_OK;
}

static vt_rc parse_integer_lit(iqp *p, const influxql_token *t, influxql_expr **out)
{
    influxql_expr *e = new_expr(p, IQL_EXPR_INTEGER, t->line, t->col);
    if (!e)
        return p_oom(p);
    if (t->has_value) {
        e->u.integer = t->ival;
        *out = e;
        return VT_OK;
    }
    char buf[32];
    if (t->litlen >= sizeof(buf))
        return p_msg_at(p, t->line, t->col, "unable to parse integer");
    memcpy(buf, t->lit, t->litlen);
    buf[t->litlen] = '\0';
    errno = 0;
    long long v = strtoll(buf, NULL, 10);
    if (errno == 0) {
        e->u.integer = (int64_t)v;
    } else {
        errno = 0;
        unsigned long long u = strtoull(buf, NULL, 10);
        if (errno != 0)
            return p_msg_at(p, t->line, t->col, "unable to parse integer");
        e->kind = IQL_EXPR_UNSIGNED;
        e->u.uns = (uint64_t)u;
    }
    *out = e;
    return VT_OK;
}

static vt_rc parse_unary(iqp *p, influxql_expr **out)
{
    influxql_token t;
    scan_nows(p, &t);
    if (t.tok == IQL_T_LPAREN) {
        influxql_expr *inner;
        TRY(parse_expr(p, &inner));
        influxql_token r;
        scan_nows(p, &r);
        if (r.tok != IQL_T_RPAREN)
            return p_expected(p, &r, ")");
        influxql_expr *e = new_expr(p, IQL_EXPR_PAREN, t.line, t.col);
        if (!e)
            return p_oom(p);
        e->u.paren = inner;
        e->height = inner->height + 1;
        TRY(check_height(p, e, &t));
        *out = e;
        return VT_OK;
    }
    influxql_expr *e = NULL;
    switch (t.tok) {
    case IQL_T_IDENT: {
        influxql_token t0;
        scan(p, &t0);
        if (t0.tok == IQL_T_LPAREN)
            return parse_call(p, &t, out);
        unscan(p, &t);
        return parse_varref(p, out);
    }
    case IQL_T_DISTINCT: {
        influxql_token t0;
        scan(p, &t0);
        if (t0.tok == IQL_T_LPAREN) {
            influxql_token nm = t;
            nm.lit = "distinct";
            nm.litlen = 8;
            return parse_call(p, &nm, out);
        }
        if (t0.tok == IQL_T_WS) {
            influxql_token t1;
            scan_nows(p, &t1);
            if (t1.tok != IQL_T_IDENT)
                return p_expected(p, &t1, "identifier");
            e = new_expr(p, IQL_EXPR_DISTINCT, t.line, t.col);
            if (!e || !(e->u.distinct = lit_dup(p, &t1)))
                return p_oom(p);
            break;
        }
        return p_expected(p, &t0, "(, identifier");
    }
    case IQL_T_STRING:
        e = new_expr(p, IQL_EXPR_STRING, t.line, t.col);
        if (!e || !(e->u.str = lit_dup(p, &t)))
            return p_oom(p);
        break;
    case IQL_T_NUMBER: {
        e = new_expr(p, IQL_EXPR_NUMBER, t.line, t.col);
        if (!e)
            return p_oom(p);
        if (t.has_value) {
            e->u.num = t.fval;
            break;
        }
        char *s = lit_dup(p, &t);
        if (!s)
            return p_oom(p);
        double v = strtod(s, NULL);
        if (isinf(v))
            return p_msg_at(p, t.line, t.col, "unable to parse number");
        e->u.num = v;
        break;
    }
    case IQL_T_INTEGER:
        TRY(parse_integer_lit(p, &t, &e));
        break;
    case IQL_T_TRUE:
    case IQL_T_FALSE:
        e = new_expr(p, IQL_EXPR_BOOLEAN, t.line, t.col);
        if (!e)
            return p_oom(p);
        e->u.boolean = t.tok == IQL_T_TRUE;
        break;
    case IQL_T_DURATIONVAL: {
        e = new_expr(p, IQL_EXPR_DURATION, t.line, t.col);
        if (!e)
            return p_oom(p);
        if (t.has_value) {
            e->u.duration = t.ival;
            break;
        }
        if (influxql_parse_duration(t.lit, t.litlen, &e->u.duration, p->err) != VT_OK)
            return VT_EPARSE;
        break;
    }
    case IQL_T_MUL: {
        e = new_expr(p, IQL_EXPR_WILDCARD, t.line, t.col);
        if (!e)
            return p_oom(p);
        influxql_token t0;
        scan(p, &t0);
        if (t0.tok == IQL_T_DOUBLECOLON) {
            scan(p, &t0);
            if (t0.tok == IQL_T_FIELD)
                e->u.wildcard = IQL_TYPE_FIELD;
            else if (t0.tok == IQL_T_TAG)
                e->u.wildcard = IQL_TYPE_TAG;
            else
                return p_expected(p, &t0, "field, tag");
        } else {
            unscan(p, &t0);
        }
        break;
    }
    case IQL_T_REGEX: /* a substituted REGEX parameter */
        e = new_expr(p, IQL_EXPR_REGEX, t.line, t.col);
        if (!e || !(e->u.regex = lit_dup(p, &t)))
            return p_oom(p);
        break;
    case IQL_T_BOUNDPARAM: {
        if (t.litlen <= 1)
            return p_msg(p, "empty bound parameter");
        const influxql_param *pr = find_param(p, t.lit + 1, t.litlen - 1);
        if (!pr)
            return p_msg(p, "missing parameter: %.*s", (int)(t.litlen - 1), t.lit + 1);
        return p_msg(p, "%s", pr->s ? pr->s : "invalid bound parameter");
    }
    case IQL_T_ADD:
    case IQL_T_SUB: {
        bool neg = t.tok == IQL_T_SUB;
        influxql_token t0;
        scan_nows(p, &t0);
        switch (t0.tok) {
        case IQL_T_NUMBER:
        case IQL_T_INTEGER:
        case IQL_T_DURATIONVAL:
        case IQL_T_LPAREN:
        case IQL_T_IDENT:
            break;
        default:
            return p_expected(p, &t0, "identifier, number, duration, (");
        }
        unscan(p, &t0);
        influxql_expr *lit;
        TRY(parse_unary(p, &lit));
        switch (lit->kind) {
        case IQL_EXPR_NUMBER:
            if (neg)
                lit->u.num = -lit->u.num;
            break;
        case IQL_EXPR_INTEGER:
            if (neg)
                lit->u.integer = (int64_t)(0 - (uint64_t)lit->u.integer);
            break;
        case IQL_EXPR_DURATION:
            if (neg)
                lit->u.duration = (int64_t)(0 - (uint64_t)lit->u.duration);
            break;
        case IQL_EXPR_UNSIGNED:
            if (neg) {
                if (lit->u.uns == (uint64_t)INT64_MAX + 1) {
                    lit->kind = IQL_EXPR_INTEGER;
                    lit->u.integer = INT64_MIN;
                } else {
                    return p_msg(p, "constant -%" PRIu64 " underflows int64", lit->u.uns);
                }
            }
            break;
        default: { /* varref, call, paren: (+/-1) * x */
            influxql_expr *one = new_expr(p, IQL_EXPR_INTEGER, t.line, t.col);
            influxql_expr *b = new_expr(p, IQL_EXPR_BINARY, t.line, t.col);
            if (!one || !b)
                return p_oom(p);
            one->u.integer = neg ? -1 : 1;
            b->u.bin.op = IQL_OP_MUL;
            b->u.bin.lhs = one;
            b->u.bin.rhs = lit;
            b->height = lit->height + 1;
            TRY(check_height(p, b, &t));
            *out = b;
            return VT_OK;
        }
        }
        lit->line = t.line + 1;
        lit->col = t.col + 1;
        *out = lit;
        return VT_OK;
    }
    default:
        return p_expected(p, &t, "identifier, string, number, bool");
    }
    *out = e;
    return VT_OK;
}

static vt_rc parse_expr_inner(iqp *p, influxql_expr **out)
{
    influxql_expr *root;
    TRY(parse_unary(p, &root));
    for (;;) {
        influxql_token op;
        scan_nows(p, &op);
        if (!influxql_tok_is_operator(op.tok)) {
            unscan(p, &op);
            break;
        }
        influxql_expr *rhs;
        if (op.tok == IQL_T_EQREGEX || op.tok == IQL_T_NEQREGEX) {
            TRY(parse_regex(p, &rhs));
            if (!rhs) {
                influxql_token t;
                scan_nows(p, &t);
                return p_expected(p, &t, "regex");
            }
        } else {
            TRY(parse_unary(p, &rhs));
        }
        influxql_op o = tok_to_op(op.tok);
        int prec = influxql_op_precedence(o);
        influxql_expr **slot = &root;
        size_t np = 0;
        for (;;) {
            influxql_expr *r = *slot;
            if (r->kind != IQL_EXPR_BINARY || influxql_op_precedence(r->u.bin.op) >= prec) {
                influxql_expr *b = new_expr(p, IQL_EXPR_BINARY, 0, 0);
                if (!b)
                    return p_oom(p);
                b->line = r->line;
                b->col = r->col;
                b->u.bin.op = o;
                b->u.bin.lhs = r;
                b->u.bin.rhs = rhs;
                b->height = max_u32(r->height, rhs->height) + 1;
                *slot = b;
                break;
            }
            if (np > INFLUXQL_MAX_HEIGHT)
                return p_msg_at(p, op.line, op.col, "expression too deep: height exceeds %d",
                                INFLUXQL_MAX_HEIGHT);
            p->path[np++] = r;
            slot = &r->u.bin.rhs;
        }
        while (np > 0) {
            influxql_expr *n = p->path[--np];
            n->height = max_u32(n->u.bin.lhs->height, n->u.bin.rhs->height) + 1;
        }
        TRY(check_height(p, root, &op));
    }
    *out = root;
    return VT_OK;
}

static vt_rc parse_expr(iqp *p, influxql_expr **out)
{
    if (p->depth >= INFLUXQL_MAX_DEPTH) {
        influxql_token t;
        scan_nows(p, &t);
        return p_msg_at(p, t.line, t.col, "query nesting too deep: maximum depth is %d",
                        INFLUXQL_MAX_DEPTH);
    }
    p->depth++;
    vt_rc rc = parse_expr_inner(p, out);
    p->depth--;
    return rc;
}

/* ---- SELECT ------------------------------------------------------------------------------ */

/* InfluxDB rejects comparison and logical operators in the SELECT clause; like its walker,
 * the last one found (pre-order, not below a rejected node) is reported. */
static void find_bad_op(const influxql_expr *e, influxql_op *bad)
{
    if (!e)
        return;
    switch (e->kind) {
    case IQL_EXPR_BINARY:
        if (influxql_op_precedence(e->u.bin.op) <= 3) {
            *bad = e->u.bin.op;
            return;
        }
        find_bad_op(e->u.bin.lhs, bad);
        find_bad_op(e->u.bin.rhs, bad);
        return;
    case IQL_EXPR_PAREN:
        find_bad_op(e->u.paren, bad);
        return;
    case IQL_EXPR_CALL:
        for (size_t i = 0; i < e->u.call.nargs; i++)
            find_bad_op(e->u.call.args[i], bad);
        return;
    default:
        return;
    }
}

static bool has_call(const influxql_expr *e)
{
    if (!e)
        return false;
    switch (e->kind) {
    case IQL_EXPR_CALL:
        return true;
    case IQL_EXPR_BINARY:
        return has_call(e->u.bin.lhs) || has_call(e->u.bin.rhs);
    case IQL_EXPR_PAREN:
        return has_call(e->u.paren);
    default:
        return false;
    }
}

static vt_rc parse_field(iqp *p, influxql_field *f)
{
    influxql_expr *re;
    TRY(parse_regex(p, &re));
    if (re) {
        f->expr = re;
    } else {
        influxql_token t;
        scan_nows(p, &t);
        unscan(p, &t);
        TRY(parse_expr(p, &f->expr));
        influxql_op bad = IQL_OP_NONE;
        find_bad_op(f->expr, &bad);
        if (bad != IQL_OP_NONE)
            return p_msg(p,
                         "invalid operator %s in SELECT clause at line %" PRIu32 ", char %" PRIu32
                         "; operator is intended for WHERE clause",
                         influxql_op_name(bad), t.line + 1, t.col + 1);
    }
    if (accept(p, IQL_T_AS))
        TRY(parse_ident(p, &f->alias));
    consume_ws(p);
    return VT_OK;
}

static vt_rc parse_source(iqp *p, bool subqueries, influxql_source *src)
{
    influxql_expr *re;
    src->kind = IQL_SOURCE_MEASUREMENT;
    TRY(parse_regex(p, &re));
    if (re) {
        src->regex = re->u.regex;
        return VT_OK;
    }
    if (subqueries) {
        influxql_token t;
        scan_nows(p, &t);
        if (t.tok == IQL_T_LPAREN) {
            TRY(expect(p, IQL_T_SELECT));
            src->kind = IQL_SOURCE_SUBQUERY;
            TRY(parse_select(p, TARGET_SUBQUERY, &src->subquery));
            return expect(p, IQL_T_RPAREN);
        }
        unscan(p, &t);
    }
    char *segs[MAX_SEGMENTS];
    size_t n;
    bool dot_end;
    TRY(parse_segments_ex(p, segs, &n, &dot_end));
    if (n == 3) {
        src->db = segs[0][0] ? segs[0] : NULL;
        src->rp = segs[1][0] ? segs[1] : NULL;
        src->name = segs[2];
        return VT_OK;
    }
    if (dot_end) {
        TRY(parse_regex(p, &re)); /* rp./re/ or db.rp./re/ */
    } else {
        /* InfluxDB looks for a regex here while the token after the name sits in its unread
         * buffer: a '/' right after that token makes the buffered token "found" instead. */
        influxql_token t;
        scan(p, &t);
        int c = influxql_lexer_peek(&p->lx);
        if (c == '/' && t.tok != IQL_T_REGEX)
            return p_expected(p, &t, "regex");
        unscan(p, &t);
        re = NULL;
    }
    if (re)
        src->regex = re->u.regex;
    if (n == 1) {
        if (re)
            src->rp = segs[0][0] ? segs[0] : NULL;
        else
            src->name = segs[0];
    } else {
        if (re) {
            src->db = segs[0][0] ? segs[0] : NULL;
            src->rp = segs[1][0] ? segs[1] : NULL;
        } else {
            src->rp = segs[0][0] ? segs[0] : NULL;
            src->name = segs[1];
        }
    }
    return VT_OK;
}

static vt_rc parse_sources(iqp *p, bool subqueries, influxql_source **out, size_t *n)
{
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    for (;;) {
        influxql_source *s = vec_push(p->a, (void **)out, n, &cap, sizeof(*s));
        if (!s)
            return p_oom(p);
        TRY(parse_source(p, subqueries, s));
        if (!accept(p, IQL_T_COMMA))
            return VT_OK;
    }
}

static vt_rc parse_condition(iqp *p, influxql_expr **out)
{
    *out = NULL;
    if (!accept(p, IQL_T_WHERE))
        return VT_OK;
    return parse_expr(p, out);
}

static vt_rc parse_dimensions(iqp *p, influxql_expr ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!accept(p, IQL_T_GROUP))
        return VT_OK;
    TRY(expect(p, IQL_T_BY));
    size_t cap = 0;
    for (;;) {
        influxql_expr **slot = vec_push(p->a, (void **)out, n, &cap, sizeof(*slot));
        if (!slot)
            return p_oom(p);
        TRY(parse_regex(p, slot));
        if (!*slot) {
            TRY(parse_expr(p, slot));
            consume_ws(p);
        }
        influxql_token t;
        scan(p, &t);
        if (t.tok != IQL_T_COMMA) {
            unscan(p, &t);
            return VT_OK;
        }
    }
}

static vt_rc parse_fill(iqp *p, influxql_select *s)
{
    influxql_token t;
    scan_nows(p, &t);
    unscan(p, &t);
    if (t.tok != IQL_T_IDENT || !lit_is_ci(&t, "fill"))
        return VT_OK;
    influxql_expr *e;
    TRY(parse_expr(p, &e));
    if (e->kind != IQL_EXPR_CALL)
        return p_msg(p, "fill must be a function call");
    if (e->u.call.nargs != 1)
        return p_msg(p, "fill requires an argument, e.g.: 0, null, none, previous, linear");
    const influxql_expr *a = e->u.call.args[0];
    vt_buf b;
    vt_buf_init(&b);
    influxql_format_expr(a, &b);
    if (b.oom) {
        vt_buf_free(&b);
        return p_oom(p);
    }
    const char *txt = vt_buf_cstr(&b);
    vt_rc rc = VT_OK;
    if (strcmp(txt, "null") == 0)
        s->fill = IQL_FILL_NULL;
    else if (strcmp(txt, "none") == 0)
        s->fill = IQL_FILL_NONE;
    else if (strcmp(txt, "previous") == 0)
        s->fill = IQL_FILL_PREVIOUS;
    else if (strcmp(txt, "linear") == 0)
        s->fill = IQL_FILL_LINEAR;
    else if (a->kind == IQL_EXPR_INTEGER) {
        s->fill = IQL_FILL_NUMBER;
        s->fill_is_int = true;
        s->fill_int = a->u.integer;
    } else if (a->kind == IQL_EXPR_NUMBER) {
        s->fill = IQL_FILL_NUMBER;
        s->fill_float = a->u.num;
    } else {
        rc = p_msg(p, "expected number argument in fill()");
    }
    vt_buf_free(&b);
    return rc;
}

static bool tz_exists(const char *name)
{
    if (name[0] == '\0' || strcmp(name, "UTC") == 0 || strcmp(name, "Local") == 0)
        return true;
    if (name[0] == '/' || name[0] == '\\' || strstr(name, "..") || strlen(name) > 255)
        return false;
    const char *env = getenv("ZONEINFO");
    const char *dirs[] = {env, "/usr/share/zoneinfo", "/usr/share/lib/zoneinfo",
                          "/usr/lib/locale/TZ"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        if (!dirs[i] || !dirs[i][0])
            continue;
        char path[1024];
        int n = snprintf(path, sizeof(path), "%s/%s", dirs[i], name);
        if (n > 0 && (size_t)n < sizeof(path) && access(path, R_OK) == 0)
            return true;
    }
    return false;
}

static vt_rc parse_location(iqp *p, char **out)
{
    *out = NULL;
    influxql_token t;
    scan_nows(p, &t);
    unscan(p, &t);
    if (t.tok != IQL_T_IDENT || !lit_is_ci(&t, "tz"))
        return VT_OK;
    influxql_expr *e;
    TRY(parse_expr(p, &e));
    if (e->kind != IQL_EXPR_CALL)
        return p_msg(p, "tz must be a function call");
    if (e->u.call.nargs != 1)
        return p_msg(p, "tz requires exactly one argument");
    if (e->u.call.args[0]->kind != IQL_EXPR_STRING)
        return p_msg(p, "expected string argument in tz()");
    const char *name = e->u.call.args[0]->u.str;
    if (!tz_exists(name))
        return p_msg(p, "unable to find time zone %.300s", name);
    *out = e->u.call.args[0]->u.str;
    return VT_OK;
}

static vt_rc parse_sort_field(iqp *p, influxql_sort *f)
{
    TRY(parse_ident(p, &f->name));
    influxql_token t;
    scan_nows(p, &t);
    if (t.tok == IQL_T_ASC || t.tok == IQL_T_DESC) {
        f->asc = t.tok == IQL_T_ASC;
    } else {
        unscan(p, &t);
        f->asc = true;
    }
    return VT_OK;
}

static vt_rc parse_order_by(iqp *p, influxql_sort **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!accept(p, IQL_T_ORDER))
        return VT_OK;
    TRY(expect(p, IQL_T_BY));
    size_t cap = 0;
    influxql_sort *f = vec_push(p->a, (void **)out, n, &cap, sizeof(*f));
    if (!f)
        return p_oom(p);
    influxql_token t;
    scan_nows(p, &t);
    if (t.tok == IQL_T_ASC || t.tok == IQL_T_DESC) {
        f->asc = t.tok == IQL_T_ASC;
    } else if (t.tok == IQL_T_IDENT) {
        unscan(p, &t);
        TRY(parse_sort_field(p, f));
        if (!lit_is(&t, "time"))
            return p_msg(p, "only ORDER BY time supported at this time");
    } else {
        return p_expected(p, &t, "identifier, ASC, DESC");
    }
    while (accept(p, IQL_T_COMMA)) {
        f = vec_push(p->a, (void **)out, n, &cap, sizeof(*f));
        if (!f)
            return p_oom(p);
        TRY(parse_sort_field(p, f));
    }
    if (*n > 1)
        return p_msg(p, "only ORDER BY time supported at this time");
    return VT_OK;
}

/* "<tok> <n>" if tok is next; n = 0 when absent (and, as in InfluxDB, when it overflows). */
static vt_rc parse_opt_int(iqp *p, influxql_tok tok, int64_t *out)
{
    *out = 0;
    if (!accept(p, tok))
        return VT_OK;
    influxql_token t;
    scan_nows(p, &t);
    if (t.tok != IQL_T_INTEGER)
        return p_expected(p, &t, "integer");
    int64_t v;
    if (t.has_value) {
        v = t.ival;
    } else {
        char buf[32];
        if (t.litlen >= sizeof(buf)) {
            v = 0;
        } else {
            memcpy(buf, t.lit, t.litlen);
            buf[t.litlen] = '\0';
            errno = 0;
            long long x = strtoll(buf, NULL, 10);
            v = errno ? 0 : (int64_t)x;
        }
    }
    if (v < 0)
        return p_msg_at(p, t.line, t.col, "%s must be >= 0", influxql_tok_name(tok));
    *out = v;
    return VT_OK;
}

static vt_rc parse_target(iqp *p, target_req tr, influxql_select *s)
{
    influxql_token t;
    scan_nows(p, &t);
    if (t.tok != IQL_T_INTO) {
        if (tr == TARGET_REQUIRED)
            return p_expected(p, &t, "INTO");
        unscan(p, &t);
        return VT_OK;
    }
    char *segs[MAX_SEGMENTS + 1];
    size_t n;
    TRY(parse_segments(p, segs, &n));
    if (n < 3 && influxql_lexer_peek(&p->lx) == ':') {
        TRY(expect(p, IQL_T_COLON));
        TRY(expect(p, IQL_T_MEASUREMENT));
        segs[n++] = "";
    }
    s->has_into = true;
    char *db = NULL, *rp = NULL, *name = NULL;
    if (n == 1) {
        name = segs[0];
    } else if (n == 2) {
        rp = segs[0], name = segs[1];
    } else {
        db = segs[0], rp = segs[1], name = segs[2];
    }
    s->into_db = db && db[0] ? db : NULL;
    s->into_rp = rp && rp[0] ? rp : NULL;
    s->into_name = name && name[0] ? name : NULL;
    return VT_OK;
}

static vt_rc parse_select_inner(iqp *p, target_req tr, influxql_select *s)
{
    size_t cap = 0;
    for (;;) {
        influxql_field *f = vec_push(p->a, (void **)&s->fields, &s->nfields, &cap, sizeof(*f));
        if (!f)
            return p_oom(p);
        TRY(parse_field(p, f));
        influxql_token t;
        scan(p, &t);
        if (t.tok != IQL_T_COMMA) {
            unscan(p, &t);
            break;
        }
    }
    TRY(parse_target(p, tr, s));
    TRY(expect(p, IQL_T_FROM));
    TRY(parse_sources(p, true, &s->sources, &s->nsources));
    TRY(parse_condition(p, &s->where));
    TRY(parse_dimensions(p, &s->dims, &s->ndims));
    TRY(parse_fill(p, s));
    TRY(parse_order_by(p, &s->sort, &s->nsort));
    TRY(parse_opt_int(p, IQL_T_LIMIT, &s->limit));
    TRY(parse_opt_int(p, IQL_T_OFFSET, &s->offset));
    TRY(parse_opt_int(p, IQL_T_SLIMIT, &s->slimit));
    TRY(parse_opt_int(p, IQL_T_SOFFSET, &s->soffset));
    TRY(parse_location(p, &s->tz));
    s->is_raw = true;
    for (size_t i = 0; i < s->nfields; i++)
        if (has_call(s->fields[i].expr))
            s->is_raw = false;
    return VT_OK;
}

/* SELECT has been consumed. */
static vt_rc parse_select(iqp *p, target_req tr, influxql_select **out)
{
    if (p->depth >= INFLUXQL_MAX_DEPTH) {
        influxql_token t;
        scan_nows(p, &t);
        return p_msg_at(p, t.line, t.col, "query nesting too deep: maximum depth is %d",
                        INFLUXQL_MAX_DEPTH);
    }
    influxql_select *s = arena_calloc(p->a, 1, sizeof(*s));
    if (!s)
        return p_oom(p);
    p->depth++;
    vt_rc rc = parse_select_inner(p, tr, s);
    p->depth--;
    if (rc == VT_OK)
        *out = s;
    return rc;
}

/* ---- other statements -------------------------------------------------------------------- */

/* A statement volta does not model: skip to the next ';' (or the end) and keep the text. */
static vt_rc parse_other_raw(iqp *p, influxql_stmt *st, const influxql_token *first,
                             const char *keyword)
{
    size_t start = first->before.off, end = p->lx.pos.off;
    for (;;) {
        influxql_token t;
        scan_nows(p, &t);
        if (t.tok == IQL_T_EOF || t.tok == IQL_T_SEMICOLON) {
            unscan(p, &t);
            break;
        }
        end = p->lx.pos.off;
    }
    st->kind = IQL_STMT_OTHER;
    st->u.other.keyword = (char *)keyword;
    st->u.other.text = arena_strndup(p->a, p->lx.src + start, end - start);
    return st->u.other.text ? VT_OK : p_oom(p);
}

/* A recognised no-argument statement volta does not model ("SHOW USERS"). */
static void set_other(influxql_stmt *st, const char *keyword)
{
    st->kind = IQL_STMT_OTHER;
    st->u.other.keyword = (char *)keyword;
    st->u.other.text = (char *)keyword;
}

static vt_rc parse_duration_tok(iqp *p, int64_t *out)
{
    influxql_token t;
    scan_nows(p, &t);
    if (t.tok == IQL_T_INF) {
        *out = 0;
        return VT_OK;
    }
    if (t.tok != IQL_T_DURATIONVAL)
        return p_expected(p, &t, "duration");
    if (t.has_value) {
        *out = t.ival;
        return VT_OK;
    }
    if (influxql_parse_duration(t.lit, t.litlen, out, p->err) != VT_OK) {
        char msg[VT_ERR_MSG_MAX];
        snprintf(msg, sizeof(msg), "%s", p->err->msg);
        return p_msg_at(p, t.line, t.col, "%s", msg);
    }
    return VT_OK;
}

static vt_rc parse_shard_duration(iqp *p, int64_t *out)
{
    influxql_token t;
    scan_nows(p, &t);
    if (t.tok == IQL_T_INF)
        return p_msg_at(p, t.line, t.col, "invalid duration INF for shard duration");
    unscan(p, &t);
    return parse_duration_tok(p, out);
}

/* REPLICATION n: 1 <= n <= 2147483647. */
static vt_rc parse_replication(iqp *p, int *out)
{
    influxql_token t;
    scan_nows(p, &t);
    if (t.tok != IQL_T_INTEGER)
        return p_expected(p, &t, "integer");
    int64_t v;
    if (t.has_value) {
        v = t.ival;
    } else {
        char buf[32];
        errno = 0;
        long long x = 0;
        if (t.litlen < sizeof(buf)) {
            memcpy(buf, t.lit, t.litlen);
            buf[t.litlen] = '\0';
            x = strtoll(buf, NULL, 10);
        }
        if (t.litlen >= sizeof(buf) || errno)
            return p_msg_at(p, t.line, t.col, "strconv.Atoi: parsing \"%.*s\": value out of range",
                            (int)(t.litlen > 100 ? 100 : t.litlen), t.lit);
        v = (int64_t)x;
    }
    if (v < 1 || v > INT32_MAX)
        return p_msg_at(p, t.line, t.col, "invalid value %" PRId64 ": must be 1 <= n <= 2147483647",
                        v);
    *out = (int)v;
    return VT_OK;
}

static vt_rc parse_create_database(iqp *p, influxql_stmt *st)
{
    influxql_rp_spec *r = &st->u.rp;
    st->kind = IQL_STMT_CREATE_DATABASE;
    TRY(parse_ident(p, &r->db));
    if (!accept(p, IQL_T_WITH))
        return VT_OK;
    influxql_token t;
    scan_nows(p, &t);
    if (t.tok != IQL_T_DURATION && t.tok != IQL_T_NAME && t.tok != IQL_T_REPLICATION &&
        t.tok != IQL_T_SHARD)
        return p_expected(p, &t, "DURATION, NAME, REPLICATION, SHARD");
    unscan(p, &t);
    r->has_with = true;
    if (accept(p, IQL_T_DURATION)) {
        r->has_duration = true;
        TRY(parse_duration_tok(p, &r->duration));
    }
    if (accept(p, IQL_T_REPLICATION)) {
        r->has_replication = true;
        TRY(parse_replication(p, &r->replication));
    }
    if (accept(p, IQL_T_SHARD)) {
        TRY(expect(p, IQL_T_DURATION));
        r->has_shard_duration = true;
        TRY(parse_duration_tok(p, &r->shard_duration));
    }
    if (accept(p, IQL_T_NAME))
        TRY(parse_ident(p, &r->name));
    return VT_OK;
}

static vt_rc parse_create_rp(iqp *p, influxql_stmt *st)
{
    influxql_rp_spec *r = &st->u.rp;
    st->kind = IQL_STMT_CREATE_RETENTION_POLICY;
    TRY(parse_ident(p, &r->name));
    TRY(expect(p, IQL_T_ON));
    TRY(parse_ident(p, &r->db));
    TRY(expect(p, IQL_T_DURATION));
    r->has_duration = true;
    TRY(parse_duration_tok(p, &r->duration));
    TRY(expect(p, IQL_T_REPLICATION));
    r->has_replication = true;
    TRY(parse_replication(p, &r->replication));
    if (accept(p, IQL_T_SHARD)) {
        TRY(expect(p, IQL_T_DURATION));
        r->has_shard_duration = true;
        TRY(parse_shard_duration(p, &r->shard_duration));
    }
    if (accept(p, IQL_T_DEFAULT))
        r->is_default = true;
    return VT_OK;
}

static vt_rc parse_alter_rp(iqp *p, influxql_stmt *st)
{
    influxql_rp_spec *r = &st->u.rp;
    st->kind = IQL_STMT_ALTER_RETENTION_POLICY;
    influxql_token t;
    scan_nows(p, &t);
    if (t.tok == IQL_T_DEFAULT)
        r->name = "default";
    else if (t.tok == IQL_T_IDENT)
        r->name = lit_dup(p, &t);
    else
        return p_expected(p, &t, "identifier");
    if (!r->name)
        return p_oom(p);
    TRY(expect(p, IQL_T_ON));
    TRY(parse_ident(p, &r->db));
    bool found_any = false;
    for (;;) {
        scan_nows(p, &t);
        bool dup = (t.tok == IQL_T_DURATION && r->has_duration) ||
                   (t.tok == IQL_T_REPLICATION && r->has_replication) ||
                   (t.tok == IQL_T_SHARD && r->has_shard_duration) ||
                   (t.tok == IQL_T_DEFAULT && r->is_default);
        if (dup)
            return p_msg_at(p, t.line, t.col, "found duplicate %s option", influxql_tok_name(t.tok));
        switch (t.tok) {
        case IQL_T_DURATION:
            r->has_duration = true;
            TRY(parse_duration_tok(p, &r->duration));
            break;
        case IQL_T_REPLICATION:
            r->has_replication = true;
            TRY(parse_replication(p, &r->replication));
            break;
        case IQL_T_SHARD: {
            influxql_token d;
            scan_nows(p, &d);
            if (d.tok != IQL_T_DURATION)
                return p_expected(p, &d, "DURATION");
            r->has_shard_duration = true;
            TRY(parse_shard_duration(p, &r->shard_duration));
            break;
        }
        case IQL_T_DEFAULT:
            r->is_default = true;
            break;
        default:
            if (!found_any)
                return p_expected(p, &t, "DURATION, REPLICATION, SHARD, DEFAULT");
            unscan(p, &t);
            return VT_OK;
        }
        found_any = true;
    }
}

static vt_rc parse_drop_rp(iqp *p, influxql_stmt *st)
{
    st->kind = IQL_STMT_DROP_RETENTION_POLICY;
    TRY(parse_ident(p, &st->u.rp.name));
    TRY(expect(p, IQL_T_ON));
    return parse_ident(p, &st->u.rp.db);
}

/* DELETE [FROM ...] [WHERE ...] and DROP SERIES [FROM ...] [WHERE ...]. */
static vt_rc parse_delete_like(iqp *p, influxql_stmt *st, bool drop_series)
{
    st->kind = drop_series ? IQL_STMT_DROP_SERIES : IQL_STMT_DELETE;
    influxql_token t;
    scan_nows(p, &t);
    if (t.tok == IQL_T_FROM) {
        TRY(parse_sources(p, false, &st->u.del.sources, &st->u.del.nsources));
        const char *bad = NULL;
        for (size_t i = 0; i < st->u.del.nsources; i++) {
            if (st->u.del.sources[i].db)
                bad = "database not supported";
            if (drop_series && st->u.del.sources[i].rp)
                bad = "retention policy not supported";
        }
        if (bad)
            return p_msg_at(p, 0, 0, "%s", bad);
    } else {
        unscan(p, &t);
    }
    TRY(parse_condition(p, &st->u.del.where));
    if (!st->u.del.where && !st->u.del.sources)
        return p_expected(p, &t, "FROM, WHERE");
    return VT_OK;
}

static vt_rc parse_on_db(iqp *p, influxql_show *sh)
{
    if (accept(p, IQL_T_ON))
        return parse_ident(p, &sh->db);
    return VT_OK;
}

static vt_rc parse_opt_from(iqp *p, influxql_show *sh)
{
    if (accept(p, IQL_T_FROM))
        return parse_sources(p, false, &sh->sources, &sh->nsources);
    return VT_OK;
}

/* WITH KEY (= k | != k | =~ /re/ | !~ /re/ | IN (k, ...)) */
static vt_rc parse_tag_key_expr(iqp *p, influxql_show *sh)
{
    TRY(expect(p, IQL_T_WITH));
    TRY(expect(p, IQL_T_KEY));
    influxql_token t;
    scan_nows(p, &t);
    if (t.tok == IQL_T_IN) {
        influxql_token l;
        scan_nows(p, &l);
        if (l.tok != IQL_T_LPAREN)
            return p_expected(p, &l, "(");
        size_t cap = 0;
        do {
            char **slot = vec_push(p->a, (void **)&sh->keys, &sh->nkeys, &cap, sizeof(*slot));
            if (!slot)
                return p_oom(p);
            TRY(parse_ident(p, slot));
        } while (accept(p, IQL_T_COMMA));
        scan_nows(p, &l);
        if (l.tok != IQL_T_RPAREN)
            return p_expected(p, &l, ")");
        sh->key_op = IQL_KEY_IN;
        return VT_OK;
    }
    if (t.tok == IQL_T_EQ || t.tok == IQL_T_NEQ) {
        sh->key_op = t.tok == IQL_T_EQ ? IQL_KEY_EQ : IQL_KEY_NEQ;
        sh->keys = arena_calloc(p->a, 1, sizeof(char *));
        if (!sh->keys)
            return p_oom(p);
        sh->nkeys = 1;
        return parse_ident(p, &sh->keys[0]);
    }
    if (t.tok == IQL_T_EQREGEX || t.tok == IQL_T_NEQREGEX) {
        influxql_expr *re;
        TRY(parse_regex(p, &re));
        if (!re) {
            influxql_token x;
            scan_nows(p, &x);
            return p_expected(p, &x, "regex");
        }
        sh->key_op = t.tok == IQL_T_EQREGEX ? IQL_KEY_EQREGEX : IQL_KEY_NEQREGEX;
        sh->key_regex = re->u.regex;
        return VT_OK;
    }
    return p_expected(p, &t, "IN, =, =~");
}

static vt_rc parse_show_measurements(iqp *p, influxql_show *sh)
{
    if (accept(p, IQL_T_ON)) {
        influxql_token t;
        scan_nows(p, &t);
        if (t.tok == IQL_T_IDENT) {
            if (!(sh->db = lit_dup(p, &t)))
                return p_oom(p);
        } else if (t.tok == IQL_T_MUL) {
            sh->db_wildcard = true;
        } else {
            return p_expected(p, &t, "identifier or *");
        }
        if (accept(p, IQL_T_DOT)) {
            scan_nows(p, &t);
            if (t.tok == IQL_T_IDENT) {
                if (!(sh->rp = lit_dup(p, &t)))
                    return p_oom(p);
            } else if (t.tok == IQL_T_MUL) {
                sh->rp_wildcard = true;
            } else {
                return p_expected(p, &t, "identifier or *");
            }
        }
    }
    if (accept(p, IQL_T_WITH)) {
        TRY(expect(p, IQL_T_MEASUREMENT));
        influxql_token t;
        scan_nows(p, &t);
        if (t.tok != IQL_T_EQ && t.tok != IQL_T_EQREGEX)
            return p_expected(p, &t, "=, =~");
        sh->with_measurement = arena_calloc(p->a, 1, sizeof(*sh->with_measurement));
        if (!sh->with_measurement)
            return p_oom(p);
        TRY(parse_source(p, false, sh->with_measurement));
    }
    TRY(parse_condition(p, &sh->where));
    TRY(parse_order_by(p, &sh->sort, &sh->nsort));
    TRY(parse_opt_int(p, IQL_T_LIMIT, &sh->limit));
    return parse_opt_int(p, IQL_T_OFFSET, &sh->offset);
}

static vt_rc parse_show(iqp *p, influxql_stmt *st, const influxql_token *first)
{
    influxql_show *sh = &st->u.show;
    influxql_token t, u;
    scan_nows(p, &t);
    switch (t.tok) {
    case IQL_T_CONTINUOUS:
        TRY(expect(p, IQL_T_QUERIES));
        set_other(st, "SHOW CONTINUOUS QUERIES");
        return VT_OK;
    case IQL_T_DATABASES:
        st->kind = IQL_STMT_SHOW_DATABASES;
        return VT_OK;
    case IQL_T_DIAGNOSTICS:
        return parse_other_raw(p, st, first, "SHOW DIAGNOSTICS");
    case IQL_T_FIELD:
        scan_nows(p, &u);
        if (u.tok == IQL_T_KEY)
            return parse_other_raw(p, st, first, "SHOW FIELD KEY CARDINALITY");
        if (u.tok != IQL_T_KEYS)
            return p_expected(p, &u, "KEY, KEYS");
        st->kind = IQL_STMT_SHOW_FIELD_KEYS;
        TRY(parse_on_db(p, sh));
        TRY(parse_opt_from(p, sh));
        TRY(parse_order_by(p, &sh->sort, &sh->nsort));
        TRY(parse_opt_int(p, IQL_T_LIMIT, &sh->limit));
        return parse_opt_int(p, IQL_T_OFFSET, &sh->offset);
    case IQL_T_GRANTS:
        return parse_other_raw(p, st, first, "SHOW GRANTS");
    case IQL_T_MEASUREMENT:
        scan_nows(p, &u);
        if (u.tok == IQL_T_CARDINALITY || u.tok == IQL_T_EXACT)
            return parse_other_raw(p, st, first, "SHOW MEASUREMENT CARDINALITY");
        return p_expected(p, &u, "CARDINALITY, EXACT");
    case IQL_T_MEASUREMENTS:
        st->kind = IQL_STMT_SHOW_MEASUREMENTS;
        return parse_show_measurements(p, sh);
    case IQL_T_QUERIES:
        set_other(st, "SHOW QUERIES");
        return VT_OK;
    case IQL_T_RETENTION:
        TRY(expect(p, IQL_T_POLICIES));
        st->kind = IQL_STMT_SHOW_RETENTION_POLICIES;
        return parse_on_db(p, sh);
    case IQL_T_SERIES:
        scan_nows(p, &u);
        if (u.tok == IQL_T_EXACT || u.tok == IQL_T_CARDINALITY)
            return parse_other_raw(p, st, first, "SHOW SERIES CARDINALITY");
        unscan(p, &u);
        st->kind = IQL_STMT_SHOW_SERIES;
        TRY(parse_on_db(p, sh));
        TRY(parse_opt_from(p, sh));
        TRY(parse_condition(p, &sh->where));
        TRY(parse_order_by(p, &sh->sort, &sh->nsort));
        TRY(parse_opt_int(p, IQL_T_LIMIT, &sh->limit));
        return parse_opt_int(p, IQL_T_OFFSET, &sh->offset);
    case IQL_T_SHARD:
        TRY(expect(p, IQL_T_GROUPS));
        set_other(st, "SHOW SHARD GROUPS");
        return VT_OK;
    case IQL_T_SHARDS:
        set_other(st, "SHOW SHARDS");
        return VT_OK;
    case IQL_T_STATS:
        return parse_other_raw(p, st, first, "SHOW STATS");
    case IQL_T_SUBSCRIPTIONS:
        set_other(st, "SHOW SUBSCRIPTIONS");
        return VT_OK;
    case IQL_T_TAG:
        scan_nows(p, &u);
        if (u.tok == IQL_T_KEY)
            return parse_other_raw(p, st, first, "SHOW TAG KEY CARDINALITY");
        if (u.tok == IQL_T_KEYS) {
            st->kind = IQL_STMT_SHOW_TAG_KEYS;
            TRY(parse_on_db(p, sh));
            TRY(parse_opt_from(p, sh));
            influxql_token w;
            scan_nows(p, &w);
            unscan(p, &w);
            if (w.tok == IQL_T_WITH)
                TRY(parse_tag_key_expr(p, sh));
            goto tag_keys_rest;
        }
        if (u.tok == IQL_T_VALUES) {
            influxql_token v;
            scan_nows(p, &v);
            if (v.tok == IQL_T_EXACT || v.tok == IQL_T_CARDINALITY)
                return parse_other_raw(p, st, first, "SHOW TAG VALUES CARDINALITY");
            unscan(p, &v);
            st->kind = IQL_STMT_SHOW_TAG_VALUES;
            TRY(parse_on_db(p, sh));
            TRY(parse_opt_from(p, sh));
            TRY(parse_tag_key_expr(p, sh));
            TRY(parse_condition(p, &sh->where));
            TRY(parse_order_by(p, &sh->sort, &sh->nsort));
            TRY(parse_opt_int(p, IQL_T_LIMIT, &sh->limit));
            return parse_opt_int(p, IQL_T_OFFSET, &sh->offset);
        }
        return p_expected(p, &u, "KEY, KEYS, VALUES");
    case IQL_T_USERS:
        set_other(st, "SHOW USERS");
        return VT_OK;
    default:
        return p_expected(p, &t,
                          "CONTINUOUS, DATABASES, DIAGNOSTICS, FIELD, GRANTS, MEASUREMENT, "
                          "MEASUREMENTS, QUERIES, RETENTION, SERIES, SHARD, SHARDS, STATS, "
                          "SUBSCRIPTIONS, TAG, USERS");
    }
tag_keys_rest:
    TRY(parse_condition(p, &sh->where));
    TRY(parse_order_by(p, &sh->sort, &sh->nsort));
    TRY(parse_opt_int(p, IQL_T_LIMIT, &sh->limit));
    TRY(parse_opt_int(p, IQL_T_OFFSET, &sh->offset));
    TRY(parse_opt_int(p, IQL_T_SLIMIT, &sh->slimit));
    return parse_opt_int(p, IQL_T_SOFFSET, &sh->soffset);
}

static vt_rc parse_create(iqp *p, influxql_stmt *st, const influxql_token *first)
{
    influxql_token t;
    scan_nows(p, &t);
    switch (t.tok) {
    case IQL_T_CONTINUOUS:
        TRY(expect(p, IQL_T_QUERY));
        return parse_other_raw(p, st, first, "CREATE CONTINUOUS QUERY");
    case IQL_T_DATABASE:
        return parse_create_database(p, st);
    case IQL_T_USER:
        return parse_other_raw(p, st, first, "CREATE USER");
    case IQL_T_RETENTION:
        TRY(expect(p, IQL_T_POLICY));
        return parse_create_rp(p, st);
    case IQL_T_SUBSCRIPTION:
        return parse_other_raw(p, st, first, "CREATE SUBSCRIPTION");
    default:
        return p_expected(p, &t, "CONTINUOUS, DATABASE, USER, RETENTION, SUBSCRIPTION");
    }
}

static vt_rc parse_drop(iqp *p, influxql_stmt *st, const influxql_token *first)
{
    influxql_token t;
    scan_nows(p, &t);
    switch (t.tok) {
    case IQL_T_CONTINUOUS:
        TRY(expect(p, IQL_T_QUERY));
        return parse_other_raw(p, st, first, "DROP CONTINUOUS QUERY");
    case IQL_T_DATABASE:
        st->kind = IQL_STMT_DROP_DATABASE;
        return parse_ident(p, &st->u.name);
    case IQL_T_MEASUREMENT:
        st->kind = IQL_STMT_DROP_MEASUREMENT;
        return parse_ident(p, &st->u.name);
    case IQL_T_RETENTION:
        TRY(expect(p, IQL_T_POLICY));
        return parse_drop_rp(p, st);
    case IQL_T_SERIES:
        return parse_delete_like(p, st, true);
    case IQL_T_SHARD:
        return parse_other_raw(p, st, first, "DROP SHARD");
    case IQL_T_SUBSCRIPTION:
        return parse_other_raw(p, st, first, "DROP SUBSCRIPTION");
    case IQL_T_USER:
        return parse_other_raw(p, st, first, "DROP USER");
    default:
        return p_expected(p, &t,
                          "CONTINUOUS, DATABASE, MEASUREMENT, RETENTION, SERIES, SHARD, "
                          "SUBSCRIPTION, USER");
    }
}

static vt_rc parse_statement(iqp *p, influxql_stmt *st)
{
    influxql_token t;
    scan_nows(p, &t);
    st->line = t.line + 1;
    st->col = t.col + 1;
    switch (t.tok) {
    case IQL_T_SELECT:
        st->kind = IQL_STMT_SELECT;
        return parse_select(p, TARGET_NOT_REQUIRED, &st->u.select);
    case IQL_T_DELETE:
        return parse_delete_like(p, st, false);
    case IQL_T_SHOW:
        return parse_show(p, st, &t);
    case IQL_T_CREATE:
        return parse_create(p, st, &t);
    case IQL_T_DROP:
        return parse_drop(p, st, &t);
    case IQL_T_EXPLAIN: {
        st->kind = IQL_STMT_EXPLAIN;
        st->u.explain.analyze = accept(p, IQL_T_ANALYZE);
        TRY(expect(p, IQL_T_SELECT));
        return parse_select(p, TARGET_NOT_REQUIRED, &st->u.explain.select);
    }
    case IQL_T_GRANT:
        return parse_other_raw(p, st, &t, "GRANT");
    case IQL_T_REVOKE:
        return parse_other_raw(p, st, &t, "REVOKE");
    case IQL_T_ALTER:
        TRY(expect(p, IQL_T_RETENTION));
        TRY(expect(p, IQL_T_POLICY));
        return parse_alter_rp(p, st);
    case IQL_T_SET:
        TRY(expect(p, IQL_T_PASSWORD));
        TRY(expect(p, IQL_T_FOR));
        return parse_other_raw(p, st, &t, "SET PASSWORD");
    case IQL_T_KILL:
        TRY(expect(p, IQL_T_QUERY));
        return parse_other_raw(p, st, &t, "KILL QUERY");
    default:
        return p_expected(p, &t,
                          "SELECT, DELETE, SHOW, CREATE, DROP, EXPLAIN, GRANT, REVOKE, ALTER, SET, "
                          "KILL");
    }
}

vt_rc influxql_parse(arena *a, const char *q, size_t len, const influxql_params *params,
                     influxql_query **out, influxql_error *err)
{
    memset(err, 0, sizeof(*err));
    *out = NULL;
    if (len > INFLUXQL_MAX_QUERY_LEN) {
        err->rc = VT_ELIMIT;
        snprintf(err->msg, sizeof(err->msg), "query too long: %zu bytes, the limit is %zu bytes",
                 len, INFLUXQL_MAX_QUERY_LEN);
        return VT_ELIMIT;
    }
    iqp p;
    memset(&p, 0, sizeof(p));
    p.a = a;
    p.params = params;
    p.err = err;
    influxql_lexer_init(&p.lx, q ? q : "", q ? len : 0, a);
    p.path = arena_alloc(a, sizeof(influxql_expr *) * (INFLUXQL_MAX_HEIGHT + 2));
    influxql_query *query = arena_calloc(a, 1, sizeof(*query));
    if (!p.path || !query)
        return p_oom(&p);
    size_t cap = 0;
    bool semi = true;
    for (;;) {
        influxql_token t;
        scan_nows(&p, &t);
        if (p.lx.oom)
            return p_oom(&p);
        if (t.tok == IQL_T_EOF)
            break;
        if (t.tok == IQL_T_SEMICOLON) {
            semi = true;
            continue;
        }
        if (!semi)
            return p_expected(&p, &t, ";");
        unscan(&p, &t);
        influxql_stmt **slot =
            vec_push(a, (void **)&query->stmts, &query->nstmts, &cap, sizeof(*slot));
        influxql_stmt *st = arena_calloc(a, 1, sizeof(*st));
        if (!slot || !st)
            return p_oom(&p);
        *slot = st;
        vt_rc rc = parse_statement(&p, st);
        if (rc != VT_OK)
            return rc;
        if (p.lx.oom)
            return p_oom(&p);
        semi = false;
    }
    *out = query;
    return VT_OK;
}

/* ---- parameters from JSON ---------------------------------------------------------------- */

vt_rc influxql_params_from_json(arena *a, const json_t *obj, influxql_params *out,
                                influxql_error *err)
{
    memset(err, 0, sizeof(*err));
    out->v = NULL;
    out->n = 0;
    if (!json_is_object(obj)) {
        err->rc = VT_EPARSE;
        snprintf(err->msg, sizeof(err->msg), "params must be a JSON object");
        return VT_EPARSE;
    }
    size_t n = json_object_size(obj);
    influxql_param *v = arena_calloc(a, n ? n : 1, sizeof(*v));
    if (!v)
        goto oom;
    size_t i = 0;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val)
    {
        influxql_param *pr = &v[i++];
        if (!(pr->name = arena_strndup(a, key, strlen(key))))
            goto oom;
        const json_t *x = val;
        const char *typ = NULL;
        if (json_is_object(val) && json_object_size(val) == 1) {
            const char *k2;
            json_t *v2;
            json_object_foreach(val, k2, v2)
            {
                typ = k2;
                x = v2;
            }
        }
        pr->kind = IQL_PARAM_ERROR;
        pr->s = "unable to bind parameter: unsupported value";
        if (!typ || strcmp(typ, "string") == 0) {
            if (json_is_string(x)) {
                pr->kind = IQL_PARAM_STRING;
                pr->s = arena_strndup(a, json_string_value(x), strlen(json_string_value(x)));
            } else if (!typ && json_is_integer(x)) {
                pr->kind = IQL_PARAM_INTEGER;
                pr->i = (int64_t)json_integer_value(x);
            } else if (!typ && json_is_real(x)) {
                pr->kind = IQL_PARAM_FLOAT;
                pr->f = json_real_value(x);
            } else if (!typ && json_is_boolean(x)) {
                pr->kind = IQL_PARAM_BOOLEAN;
                pr->b = json_is_true(x);
            }
        } else if ((strcmp(typ, "identifier") == 0 || strcmp(typ, "regex") == 0) &&
                   json_is_string(x)) {
            pr->kind = typ[0] == 'i' ? IQL_PARAM_IDENT : IQL_PARAM_REGEX;
            pr->s = arena_strndup(a, json_string_value(x), strlen(json_string_value(x)));
        } else if (strcmp(typ, "integer") == 0 && json_is_integer(x)) {
            pr->kind = IQL_PARAM_INTEGER;
            pr->i = (int64_t)json_integer_value(x);
        } else if (strcmp(typ, "float") == 0 && json_is_number(x)) {
            pr->kind = IQL_PARAM_FLOAT;
            pr->f = json_number_value(x);
        } else if (strcmp(typ, "boolean") == 0 && json_is_boolean(x)) {
            pr->kind = IQL_PARAM_BOOLEAN;
            pr->b = json_is_true(x);
        } else if (strcmp(typ, "duration") == 0) {
            if (json_is_integer(x)) {
                pr->kind = IQL_PARAM_DURATION;
                pr->i = (int64_t)json_integer_value(x);
            } else if (json_is_string(x)) {
                influxql_error derr;
                const char *s = json_string_value(x);
                if (influxql_parse_duration(s, strlen(s), &pr->i, &derr) == VT_OK)
                    pr->kind = IQL_PARAM_DURATION;
                else
                    pr->s = arena_strndup(a, derr.msg, strlen(derr.msg));
            }
        }
        if (!pr->s && pr->kind != IQL_PARAM_INTEGER && pr->kind != IQL_PARAM_FLOAT &&
            pr->kind != IQL_PARAM_BOOLEAN && pr->kind != IQL_PARAM_DURATION)
            goto oom;
    }
    out->v = v;
    out->n = i;
    return VT_OK;
oom:
    err->rc = VT_ENOMEM;
    snprintf(err->msg, sizeof(err->msg), "out of memory");
    return VT_ENOMEM;
}

/* ---- printing ---------------------------------------------------------------------------- */

void influxql_format_ident(const char *s, vt_buf *b)
{
    if (!influxql_ident_needs_quotes(s)) {
        vt_buf_append(b, s, strlen(s));
        return;
    }
    vt_buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '\n')
            vt_buf_append(b, "\\n", 2);
        else if (*s == '\\' || *s == '"') {
            vt_buf_putc(b, '\\');
            vt_buf_putc(b, (uint8_t)*s);
        } else
            vt_buf_putc(b, (uint8_t)*s);
    }
    vt_buf_putc(b, '"');
}

void influxql_format_string(const char *s, vt_buf *b)
{
    vt_buf_putc(b, '\'');
    for (; *s; s++) {
        if (*s == '\n')
            vt_buf_append(b, "\\n", 2);
        else if (*s == '\\' || *s == '\'') {
            vt_buf_putc(b, '\\');
            vt_buf_putc(b, (uint8_t)*s);
        } else
            vt_buf_putc(b, (uint8_t)*s);
    }
    vt_buf_putc(b, '\'');
}

void influxql_format_duration(int64_t d, vt_buf *b)
{
    static const struct {
        int64_t ns;
        const char *unit;
    } units[] = {
        {INT64_C(604800000000000), "w"}, {INT64_C(86400000000000), "d"},
        {INT64_C(3600000000000), "h"},   {INT64_C(60000000000), "m"},
        {INT64_C(1000000000), "s"},      {INT64_C(1000000), "ms"},
        {INT64_C(1000), "u"},
    };
    if (d == 0) {
        vt_buf_append(b, "0s", 2);
        return;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (d % units[i].ns == 0) {
            vt_buf_printf(b, "%" PRId64 "%s", d / units[i].ns, units[i].unit);
            return;
        }
    }
    vt_buf_printf(b, "%" PRId64 "ns", d);
}

static void fmt_regex(const char *re, vt_buf *b)
{
    vt_buf_putc(b, '/');
    for (; *re; re++) {
        if (*re == '/')
            vt_buf_putc(b, '\\');
        vt_buf_putc(b, (uint8_t)*re);
    }
    vt_buf_putc(b, '/');
}

static const char *type_name(influxql_datatype t)
{
    switch (t) {
    case IQL_TYPE_FLOAT: return "float";
    case IQL_TYPE_INTEGER: return "integer";
    case IQL_TYPE_UNSIGNED: return "unsigned";
    case IQL_TYPE_STRING: return "string";
    case IQL_TYPE_BOOLEAN: return "boolean";
    case IQL_TYPE_FIELD: return "field";
    case IQL_TYPE_TAG: return "tag";
    default: return "";
    }
}

void influxql_format_expr(const influxql_expr *e, vt_buf *b)
{
    if (!e)
        return;
    switch (e->kind) {
    case IQL_EXPR_VARREF:
        influxql_format_ident(e->u.ref.name, b);
        if (e->u.ref.type != IQL_TYPE_UNKNOWN) {
            vt_buf_append(b, "::", 2);
            vt_buf_printf(b, "%s", type_name(e->u.ref.type));
        }
        break;
    case IQL_EXPR_CALL:
        if (strcmp(e->u.call.name, "distinct") == 0)
            vt_buf_append(b, "distinct", 8);
        else
            influxql_format_ident(e->u.call.name, b);
        vt_buf_putc(b, '(');
        for (size_t i = 0; i < e->u.call.nargs; i++) {
            if (i)
                vt_buf_append(b, ", ", 2);
            influxql_format_expr(e->u.call.args[i], b);
        }
        vt_buf_putc(b, ')');
        break;
    case IQL_EXPR_BINARY:
        influxql_format_expr(e->u.bin.lhs, b);
        vt_buf_printf(b, " %s ", influxql_op_name(e->u.bin.op));
        influxql_format_expr(e->u.bin.rhs, b);
        break;
    case IQL_EXPR_PAREN:
        vt_buf_putc(b, '(');
        influxql_format_expr(e->u.paren, b);
        vt_buf_putc(b, ')');
        break;
    case IQL_EXPR_STRING:
        influxql_format_string(e->u.str, b);
        break;
    case IQL_EXPR_NUMBER:
        vt_buf_printf(b, "%.3f", e->u.num);
        break;
    case IQL_EXPR_INTEGER:
        vt_buf_printf(b, "%" PRId64, e->u.integer);
        break;
    case IQL_EXPR_UNSIGNED:
        vt_buf_printf(b, "%" PRIu64, e->u.uns);
        break;
    case IQL_EXPR_BOOLEAN:
        vt_buf_printf(b, "%s", e->u.boolean ? "true" : "false");
        break;
    case IQL_EXPR_DURATION:
        influxql_format_duration(e->u.duration, b);
        break;
    case IQL_EXPR_REGEX:
        fmt_regex(e->u.regex, b);
        break;
    case IQL_EXPR_WILDCARD:
        vt_buf_putc(b, '*');
        if (e->u.wildcard != IQL_TYPE_UNKNOWN)
            vt_buf_printf(b, "::%s", type_name(e->u.wildcard));
        break;
    case IQL_EXPR_DISTINCT:
        vt_buf_append(b, "DISTINCT ", 9);
        influxql_format_ident(e->u.distinct, b);
        break;
    }
}

/* Shortest decimal text that reads back as v, without an exponent (fill values). */
static void fmt_float_plain(double v, vt_buf *b)
{
    char tmp[64];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    const char *e = strchr(tmp, 'e');
    if (!e) {
        vt_buf_printf(b, "%s", tmp);
        return;
    }
    int exp10 = atoi(e + 1);
    int decimals = 17 - exp10;
    if (decimals < 0)
        decimals = 0;
    if (decimals > 340)
        decimals = 340;
    char big[800];
    snprintf(big, sizeof(big), "%.*f", decimals, v);
    size_t n = strlen(big);
    if (strchr(big, '.')) {
        while (n > 0 && big[n - 1] == '0')
            n--;
        if (n > 0 && big[n - 1] == '.')
            n--;
    }
    vt_buf_append(b, big, n);
}

static void fmt_source(const influxql_source *s, vt_buf *b);
static void fmt_select(const influxql_select *s, vt_buf *b);

static void fmt_source(const influxql_source *s, vt_buf *b)
{
    if (s->kind == IQL_SOURCE_SUBQUERY) {
        vt_buf_putc(b, '(');
        fmt_select(s->subquery, b);
        vt_buf_putc(b, ')');
        return;
    }
    if (s->db) {
        influxql_format_ident(s->db, b);
        vt_buf_putc(b, '.');
    }
    if (s->rp)
        influxql_format_ident(s->rp, b);
    if (s->db || s->rp)
        vt_buf_putc(b, '.');
    if (s->name)
        influxql_format_ident(s->name, b);
    else if (s->regex)
        fmt_regex(s->regex, b);
}

static void fmt_sources(const influxql_source *s, size_t n, vt_buf *b)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            vt_buf_append(b, ", ", 2);
        fmt_source(&s[i], b);
    }
}

static void fmt_where(const influxql_expr *w, vt_buf *b)
{
    if (w) {
        vt_buf_append(b, " WHERE ", 7);
        influxql_format_expr(w, b);
    }
}

static void fmt_sort(const influxql_sort *s, size_t n, vt_buf *b)
{
    if (!n)
        return;
    vt_buf_append(b, " ORDER BY ", 10);
    for (size_t i = 0; i < n; i++) {
        if (i)
            vt_buf_append(b, ", ", 2);
        if (s[i].name) {
            influxql_format_ident(s[i].name, b);
            vt_buf_putc(b, ' ');
        }
        vt_buf_printf(b, "%s", s[i].asc ? "ASC" : "DESC");
    }
}

static void fmt_limits(int64_t limit, int64_t offset, int64_t slimit, int64_t soffset, vt_buf *b)
{
    if (limit > 0)
        vt_buf_printf(b, " LIMIT %" PRId64, limit);
    if (offset > 0)
        vt_buf_printf(b, " OFFSET %" PRId64, offset);
    if (slimit > 0)
        vt_buf_printf(b, " SLIMIT %" PRId64, slimit);
    if (soffset > 0)
        vt_buf_printf(b, " SOFFSET %" PRId64, soffset);
}

static void fmt_select(const influxql_select *s, vt_buf *b)
{
    vt_buf_append(b, "SELECT ", 7);
    for (size_t i = 0; i < s->nfields; i++) {
        if (i)
            vt_buf_append(b, ", ", 2);
        influxql_format_expr(s->fields[i].expr, b);
        if (s->fields[i].alias) {
            vt_buf_append(b, " AS ", 4);
            influxql_format_ident(s->fields[i].alias, b);
        }
    }
    if (s->has_into) {
        vt_buf_append(b, " INTO ", 6);
        influxql_source t = {.kind = IQL_SOURCE_MEASUREMENT,
                             .db = s->into_db,
                             .rp = s->into_rp,
                             .name = s->into_name};
        if (!s->into_name && !s->into_db && !s->into_rp)
            vt_buf_append(b, "\"\".", 3); /* INTO :MEASUREMENT alone does not parse */
        fmt_source(&t, b);
        if (!s->into_name)
            vt_buf_append(b, ":MEASUREMENT", 12);
    }
    if (s->nsources) {
        vt_buf_append(b, " FROM ", 6);
        fmt_sources(s->sources, s->nsources, b);
    }
    fmt_where(s->where, b);
    if (s->ndims) {
        vt_buf_append(b, " GROUP BY ", 10);
        for (size_t i = 0; i < s->ndims; i++) {
            if (i)
                vt_buf_append(b, ", ", 2);
            influxql_format_expr(s->dims[i], b);
        }
    }
    switch (s->fill) {
    case IQL_FILL_NONE: vt_buf_append(b, " fill(none)", 11); break;
    case IQL_FILL_PREVIOUS: vt_buf_append(b, " fill(previous)", 15); break;
    case IQL_FILL_LINEAR: vt_buf_append(b, " fill(linear)", 13); break;
    case IQL_FILL_NUMBER:
        vt_buf_append(b, " fill(", 6);
        if (s->fill_is_int)
            vt_buf_printf(b, "%" PRId64, s->fill_int);
        else
            fmt_float_plain(s->fill_float, b);
        vt_buf_putc(b, ')');
        break;
    case IQL_FILL_NULL:
    default:
        break;
    }
    fmt_sort(s->sort, s->nsort, b);
    fmt_limits(s->limit, s->offset, s->slimit, s->soffset, b);
    if (s->tz) {
        vt_buf_append(b, " TZ(", 4);
        influxql_format_string(s->tz, b);
        vt_buf_putc(b, ')');
    }
}

static void fmt_on(const influxql_show *sh, vt_buf *b)
{
    if (sh->db || sh->db_wildcard) {
        vt_buf_append(b, " ON ", 4);
        if (sh->db_wildcard)
            vt_buf_putc(b, '*');
        else
            influxql_format_ident(sh->db, b);
        if (sh->rp || sh->rp_wildcard) {
            vt_buf_putc(b, '.');
            if (sh->rp_wildcard)
                vt_buf_putc(b, '*');
            else
                influxql_format_ident(sh->rp, b);
        }
    }
}

static void fmt_from(const influxql_show *sh, vt_buf *b)
{
    if (sh->nsources) {
        vt_buf_append(b, " FROM ", 6);
        fmt_sources(sh->sources, sh->nsources, b);
    }
}

static void fmt_key_expr(const influxql_show *sh, vt_buf *b)
{
    switch (sh->key_op) {
    case IQL_KEY_EQ:
    case IQL_KEY_NEQ:
        vt_buf_printf(b, " WITH KEY %s ", sh->key_op == IQL_KEY_EQ ? "=" : "!=");
        influxql_format_ident(sh->keys[0], b);
        break;
    case IQL_KEY_EQREGEX:
    case IQL_KEY_NEQREGEX:
        vt_buf_printf(b, " WITH KEY %s ", sh->key_op == IQL_KEY_EQREGEX ? "=~" : "!~");
        fmt_regex(sh->key_regex, b);
        break;
    case IQL_KEY_IN:
        vt_buf_append(b, " WITH KEY IN (", 14);
        for (size_t i = 0; i < sh->nkeys; i++) {
            if (i)
                vt_buf_append(b, ", ", 2);
            influxql_format_ident(sh->keys[i], b);
        }
        vt_buf_putc(b, ')');
        break;
    case IQL_KEY_NONE:
    default:
        break;
    }
}

static void fmt_rp_options(const influxql_rp_spec *r, bool alter, vt_buf *b)
{
    if (r->has_duration) {
        vt_buf_append(b, " DURATION ", 10);
        influxql_format_duration(r->duration, b);
    }
    if (r->has_replication)
        vt_buf_printf(b, " REPLICATION %d", r->replication);
    if (r->has_shard_duration && (alter || r->shard_duration > 0)) {
        vt_buf_append(b, " SHARD DURATION ", 16);
        influxql_format_duration(r->shard_duration, b);
    }
}

void influxql_format_statement(const influxql_stmt *st, vt_buf *b)
{
    const influxql_show *sh = &st->u.show;
    const influxql_rp_spec *r = &st->u.rp;
    switch (st->kind) {
    case IQL_STMT_SELECT:
        fmt_select(st->u.select, b);
        break;
    case IQL_STMT_EXPLAIN:
        vt_buf_append(b, "EXPLAIN ", 8);
        if (st->u.explain.analyze)
            vt_buf_append(b, "ANALYZE ", 8);
        if (st->u.explain.verbose)
            vt_buf_append(b, "VERBOSE ", 8);
        fmt_select(st->u.explain.select, b);
        break;
    case IQL_STMT_SHOW_DATABASES:
        vt_buf_printf(b, "SHOW DATABASES");
        break;
    case IQL_STMT_SHOW_MEASUREMENTS:
        vt_buf_printf(b, "SHOW MEASUREMENTS");
        fmt_on(sh, b);
        if (sh->with_measurement) {
            vt_buf_printf(b, " WITH MEASUREMENT %s ", sh->with_measurement->regex ? "=~" : "=");
            fmt_source(sh->with_measurement, b);
        }
        fmt_where(sh->where, b);
        fmt_sort(sh->sort, sh->nsort, b);
        fmt_limits(sh->limit, sh->offset, 0, 0, b);
        break;
    case IQL_STMT_SHOW_TAG_KEYS:
        vt_buf_printf(b, "SHOW TAG KEYS");
        fmt_on(sh, b);
        fmt_from(sh, b);
        fmt_key_expr(sh, b);
        fmt_where(sh->where, b);
        fmt_sort(sh->sort, sh->nsort, b);
        fmt_limits(sh->limit, sh->offset, sh->slimit, sh->soffset, b);
        break;
    case IQL_STMT_SHOW_TAG_VALUES:
        vt_buf_printf(b, "SHOW TAG VALUES");
        fmt_on(sh, b);
        fmt_from(sh, b);
        fmt_key_expr(sh, b);
        fmt_where(sh->where, b);
        fmt_sort(sh->sort, sh->nsort, b);
        fmt_limits(sh->limit, sh->offset, 0, 0, b);
        break;
    case IQL_STMT_SHOW_FIELD_KEYS:
        vt_buf_printf(b, "SHOW FIELD KEYS");
        fmt_on(sh, b);
        fmt_from(sh, b);
        fmt_sort(sh->sort, sh->nsort, b);
        fmt_limits(sh->limit, sh->offset, 0, 0, b);
        break;
    case IQL_STMT_SHOW_SERIES:
        vt_buf_printf(b, "SHOW SERIES");
        fmt_on(sh, b);
        fmt_from(sh, b);
        fmt_where(sh->where, b);
        fmt_sort(sh->sort, sh->nsort, b);
        fmt_limits(sh->limit, sh->offset, 0, 0, b);
        break;
    case IQL_STMT_SHOW_RETENTION_POLICIES:
        vt_buf_printf(b, "SHOW RETENTION POLICIES");
        fmt_on(sh, b);
        break;
    case IQL_STMT_CREATE_DATABASE:
        vt_buf_append(b, "CREATE DATABASE ", 16);
        influxql_format_ident(r->db, b);
        if (r->has_with) {
            vt_buf_append(b, " WITH", 5);
            fmt_rp_options(r, true, b);
            if (r->name) {
                vt_buf_append(b, " NAME ", 6);
                influxql_format_ident(r->name, b);
            }
        }
        break;
    case IQL_STMT_DROP_DATABASE:
        vt_buf_append(b, "DROP DATABASE ", 14);
        influxql_format_ident(st->u.name, b);
        break;
    case IQL_STMT_CREATE_RETENTION_POLICY:
    case IQL_STMT_ALTER_RETENTION_POLICY:
        vt_buf_printf(b, "%s RETENTION POLICY ",
                      st->kind == IQL_STMT_CREATE_RETENTION_POLICY ? "CREATE" : "ALTER");
        influxql_format_ident(r->name, b);
        vt_buf_append(b, " ON ", 4);
        influxql_format_ident(r->db, b);
        fmt_rp_options(r, st->kind == IQL_STMT_ALTER_RETENTION_POLICY, b);
        if (r->is_default)
            vt_buf_append(b, " DEFAULT", 8);
        break;
    case IQL_STMT_DROP_RETENTION_POLICY:
        vt_buf_append(b, "DROP RETENTION POLICY ", 22);
        influxql_format_ident(r->name, b);
        vt_buf_append(b, " ON ", 4);
        influxql_format_ident(r->db, b);
        break;
    case IQL_STMT_DELETE:
    case IQL_STMT_DROP_SERIES:
        vt_buf_printf(b, "%s", st->kind == IQL_STMT_DELETE ? "DELETE" : "DROP SERIES");
        if (st->u.del.nsources) {
            vt_buf_append(b, " FROM ", 6);
            fmt_sources(st->u.del.sources, st->u.del.nsources, b);
        }
        fmt_where(st->u.del.where, b);
        break;
    case IQL_STMT_DROP_MEASUREMENT:
        vt_buf_append(b, "DROP MEASUREMENT ", 17);
        influxql_format_ident(st->u.name, b);
        break;
    case IQL_STMT_OTHER:
        vt_buf_append(b, st->u.other.text, strlen(st->u.other.text));
        break;
    }
}

void influxql_format_query(const influxql_query *q, vt_buf *b)
{
    for (size_t i = 0; i < q->nstmts; i++) {
        if (i)
            vt_buf_append(b, ";\n", 2);
        influxql_format_statement(q->stmts[i], b);
    }
}
