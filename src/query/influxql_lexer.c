/*
 * query/influxql_lexer.c — InfluxQL scanner (see influxql_lexer.h for the token rules).
 *
 * Design notes
 *   1. Runes. The input is read rune by rune to count positions like InfluxDB (Go's
 *      bufio.ReadRune): a valid UTF-8 sequence is one rune, an invalid byte is one rune, "\r"
 *      and "\r\n" are one '\n'. Literals keep the raw bytes.
 *   2. State. influxql_lexpos is the whole state; every token records the state before it, so
 *      unscanning is an assignment and any number of tokens can be re-read.
 *   3. Literals. Identifiers/strings with escapes are unescaped into the arena; everything else
 *      points into the input. An allocation failure sets lx->oom and yields ILLEGAL.
 */
#include "query/influxql_lexer.h"

#include <string.h>
#include <strings.h>

/* ---- token names and keywords ------------------------------------------------------------ */

static const char *const tok_names[IQL_T_COUNT_] = {
    [IQL_T_ILLEGAL] = "ILLEGAL", [IQL_T_EOF] = "EOF", [IQL_T_WS] = "WS",
    [IQL_T_COMMENT] = "COMMENT", [IQL_T_IDENT] = "IDENT", [IQL_T_BOUNDPARAM] = "BOUNDPARAM",
    [IQL_T_NUMBER] = "NUMBER", [IQL_T_INTEGER] = "INTEGER", [IQL_T_DURATIONVAL] = "DURATIONVAL",
    [IQL_T_STRING] = "STRING", [IQL_T_BADSTRING] = "BADSTRING", [IQL_T_BADESCAPE] = "BADESCAPE",
    [IQL_T_TRUE] = "TRUE", [IQL_T_FALSE] = "FALSE", [IQL_T_REGEX] = "REGEX",
    [IQL_T_BADREGEX] = "BADREGEX",
    [IQL_T_ADD] = "+", [IQL_T_SUB] = "-", [IQL_T_MUL] = "*", [IQL_T_DIV] = "/", [IQL_T_MOD] = "%",
    [IQL_T_BITAND] = "&", [IQL_T_BITOR] = "|", [IQL_T_BITXOR] = "^", [IQL_T_AND] = "AND",
    [IQL_T_OR] = "OR", [IQL_T_IN] = "IN", [IQL_T_EQ] = "=", [IQL_T_NEQ] = "!=",
    [IQL_T_EQREGEX] = "=~", [IQL_T_NEQREGEX] = "!~", [IQL_T_LT] = "<", [IQL_T_LTE] = "<=",
    [IQL_T_GT] = ">", [IQL_T_GTE] = ">=",
    [IQL_T_LPAREN] = "(", [IQL_T_RPAREN] = ")", [IQL_T_COMMA] = ",", [IQL_T_COLON] = ":",
    [IQL_T_DOUBLECOLON] = "::", [IQL_T_SEMICOLON] = ";", [IQL_T_DOT] = ".",
    [IQL_T_ALL] = "ALL", [IQL_T_ALTER] = "ALTER", [IQL_T_ANALYZE] = "ANALYZE", [IQL_T_ANY] = "ANY",
    [IQL_T_AS] = "AS", [IQL_T_ASC] = "ASC", [IQL_T_BEGIN] = "BEGIN", [IQL_T_BY] = "BY",
    [IQL_T_CARDINALITY] = "CARDINALITY", [IQL_T_CREATE] = "CREATE",
    [IQL_T_CONTINUOUS] = "CONTINUOUS", [IQL_T_DATABASE] = "DATABASE",
    [IQL_T_DATABASES] = "DATABASES", [IQL_T_DEFAULT] = "DEFAULT", [IQL_T_DELETE] = "DELETE",
    [IQL_T_DESC] = "DESC", [IQL_T_DESTINATIONS] = "DESTINATIONS",
    [IQL_T_DIAGNOSTICS] = "DIAGNOSTICS", [IQL_T_DISTINCT] = "DISTINCT", [IQL_T_DROP] = "DROP",
    [IQL_T_DURATION] = "DURATION", [IQL_T_END] = "END", [IQL_T_EVERY] = "EVERY",
    [IQL_T_EXACT] = "EXACT", [IQL_T_EXPLAIN] = "EXPLAIN", [IQL_T_FIELD] = "FIELD",
    [IQL_T_FOR] = "FOR", [IQL_T_FROM] = "FROM", [IQL_T_GRANT] = "GRANT", [IQL_T_GRANTS] = "GRANTS",
    [IQL_T_GROUP] = "GROUP", [IQL_T_GROUPS] = "GROUPS", [IQL_T_INF] = "INF",
    [IQL_T_INSERT] = "INSERT", [IQL_T_INTO] = "INTO", [IQL_T_KEY] = "KEY", [IQL_T_KEYS] = "KEYS",
    [IQL_T_KILL] = "KILL", [IQL_T_LIMIT] = "LIMIT", [IQL_T_MEASUREMENT] = "MEASUREMENT",
    [IQL_T_MEASUREMENTS] = "MEASUREMENTS", [IQL_T_NAME] = "NAME", [IQL_T_OFFSET] = "OFFSET",
    [IQL_T_ON] = "ON", [IQL_T_ORDER] = "ORDER", [IQL_T_PASSWORD] = "PASSWORD",
    [IQL_T_POLICY] = "POLICY", [IQL_T_POLICIES] = "POLICIES", [IQL_T_PRIVILEGES] = "PRIVILEGES",
    [IQL_T_QUERIES] = "QUERIES", [IQL_T_QUERY] = "QUERY", [IQL_T_READ] = "READ",
    [IQL_T_REPLICATION] = "REPLICATION", [IQL_T_RESAMPLE] = "RESAMPLE",
    [IQL_T_RETENTION] = "RETENTION", [IQL_T_REVOKE] = "REVOKE", [IQL_T_SELECT] = "SELECT",
    [IQL_T_SERIES] = "SERIES", [IQL_T_SET] = "SET", [IQL_T_SHOW] = "SHOW", [IQL_T_SHARD] = "SHARD",
    [IQL_T_SHARDS] = "SHARDS", [IQL_T_SLIMIT] = "SLIMIT", [IQL_T_SOFFSET] = "SOFFSET",
    [IQL_T_STATS] = "STATS", [IQL_T_SUBSCRIPTION] = "SUBSCRIPTION",
    [IQL_T_SUBSCRIPTIONS] = "SUBSCRIPTIONS", [IQL_T_TAG] = "TAG", [IQL_T_TO] = "TO",
    [IQL_T_USER] = "USER", [IQL_T_USERS] = "USERS", [IQL_T_VALUES] = "VALUES",
    [IQL_T_WHERE] = "WHERE", [IQL_T_WITH] = "WITH", [IQL_T_WRITE] = "WRITE",
};

const char *influxql_tok_name(influxql_tok t)
{
    if ((int)t < 0 || t >= IQL_T_COUNT_ || !tok_names[t])
        return "";
    return tok_names[t];
}

influxql_tok influxql_keyword(const char *s, size_t n)
{
    if (n == 0 || n > 13)
        return IQL_T_IDENT;
    static const influxql_tok extra[] = {IQL_T_AND, IQL_T_OR, IQL_T_IN, IQL_T_TRUE, IQL_T_FALSE};
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
        const char *k = tok_names[extra[i]];
        if (strlen(k) == n && strncasecmp(k, s, n) == 0)
            return extra[i];
    }
    for (int t = IQL_T_ALL; t <= IQL_T_WRITE; t++) {
        const char *k = tok_names[t];
        if (strlen(k) == n && strncasecmp(k, s, n) == 0)
            return (influxql_tok)t;
    }
    return IQL_T_IDENT;
}

bool influxql_tok_is_operator(influxql_tok t)
{
    return t >= IQL_T_ADD && t <= IQL_T_GTE;
}

static bool is_letter(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool is_ident_char(int c)
{
    return is_letter(c) || is_digit(c) || c == '_';
}

static bool is_ws(int c)
{
    return c == ' ' || c == '\t' || c == '\n';
}

bool influxql_ident_needs_quotes(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || influxql_keyword(s, n) != IQL_T_IDENT)
        return true;
    if (!is_letter((unsigned char)s[0]) && s[0] != '_')
        return true;
    for (size_t i = 1; i < n; i++)
        if (!is_ident_char((unsigned char)s[i]))
            return true;
    return false;
}

/* ---- rune reader ------------------------------------------------------------------------- */

void influxql_lexer_init(influxql_lexer *lx, const char *src, size_t len, arena *a)
{
    const char *nul = len ? memchr(src, '\0', len) : NULL;
    lx->src = src;
    lx->len = nul ? (size_t)(nul - src) : len;
    lx->a = a;
    memset(&lx->pos, 0, sizeof(lx->pos));
    lx->oom = false;
}

/* Length of the UTF-8 sequence at p (1 for an invalid byte). */
static size_t utf8_len(const unsigned char *p, size_t left)
{
    unsigned c = p[0];
    size_t n;
    if (c < 0x80)
        return 1;
    else if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4;
    else
        return 1;
    if (n > left)
        return 1;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 1;
    if (c == 0xE0 && p[1] < 0xA0)
        return 1;
    if (c == 0xED && p[1] > 0x9F)
        return 1;
    if (c == 0xF0 && p[1] < 0x90)
        return 1;
    if (c == 0xF4 && p[1] > 0x8F)
        return 1;
    return n;
}

/* The next rune's code: its first byte, 0 at the end, '\n' for '\r'; 0xB5 marks 'µ' (C2 B5). */
#define RUNE_MICRO 0x1B5

static int peek_rune(const influxql_lexer *lx, size_t *width)
{
    const influxql_lexpos *p = &lx->pos;
    if (p->off >= lx->len) {
        *width = 0;
        return 0;
    }
    const unsigned char *s = (const unsigned char *)lx->src + p->off;
    size_t left = lx->len - p->off;
    if (s[0] == '\r') {
        *width = (left > 1 && s[1] == '\n') ? 2 : 1;
        return '\n';
    }
    *width = utf8_len(s, left);
    if (*width == 2 && s[0] == 0xC2 && s[1] == 0xB5)
        return RUNE_MICRO;
    return s[0];
}

static void note_eof(influxql_lexer *lx)
{
    if (lx->pos.off >= lx->len)
        lx->pos.eof_seen = true;
}

int influxql_lexer_peek(influxql_lexer *lx)
{
    size_t w;
    int c = peek_rune(lx, &w);
    if (w == 0)
        lx->pos.eof_seen = true;
    return c == RUNE_MICRO ? 0xC2 : c;
}

/* Consumes one rune and returns it (0 at the end, without moving). */
static int read_rune(influxql_lexer *lx)
{
    size_t w;
    int c = peek_rune(lx, &w);
    if (w == 0)
        return 0;
    influxql_lexpos *p = &lx->pos;
    p->pline = p->line;
    p->pcol = p->col;
    p->off += w;
    if (c == '\n') {
        p->line++;
        p->col = 0;
    } else {
        p->col++;
    }
    return c;
}

static void tok_begin(influxql_lexer *lx, influxql_token *t)
{
    memset(t, 0, sizeof(*t));
    t->before = lx->pos;
    t->line = lx->pos.line;
    t->col = lx->pos.col;
    t->lit = lx->src + lx->pos.off;
}

static void tok_lit_to_here(influxql_lexer *lx, influxql_token *t)
{
    t->litlen = (size_t)((lx->src + lx->pos.off) - t->lit);
}

/* Reads a quoted string whose opening quote is the next rune (ScanString in InfluxDB). On
 * return t->tok is STRING, BADSTRING or BADESCAPE and t->lit the (unescaped) content. */
static void scan_quoted(influxql_lexer *lx, influxql_token *t)
{
    int quote = read_rune(lx);
    size_t start = lx->pos.off;
    /* The content is at most as long as the rest of the input. */
    char *buf = arena_alloc(lx->a, lx->len - start + 1);
    if (!buf) {
        lx->oom = true;
        t->tok = IQL_T_ILLEGAL;
        t->lit = "";
        t->litlen = 0;
        return;
    }
    size_t n = 0;
    for (;;) {
        size_t w;
        int c = peek_rune(lx, &w);
        if (w == 0 || c == '\n') {
            if (w)
                read_rune(lx);
            else
                note_eof(lx);
            t->tok = IQL_T_BADSTRING;
            break;
        }
        const char *raw = lx->src + lx->pos.off;
        read_rune(lx);
        if (c == quote) {
            t->tok = IQL_T_STRING;
            break;
        }
        if (c == '\\') {
            int e = read_rune(lx);
            if (e == 'n')
                buf[n++] = '\n';
            else if (e == '\\' || e == '"' || e == '\'')
                buf[n++] = (char)e;
            else {
                /* position: the rune after the backslash */
                t->line = lx->pos.pline;
                t->col = lx->pos.pcol;
                t->tok = IQL_T_BADESCAPE;
                buf[0] = '\\';
                n = 1;
                if (e) {
                    size_t ew = (size_t)((lx->src + lx->pos.off) - (raw + 1));
                    memcpy(buf + 1, raw + 1, ew);
                    n += ew;
                }
                break;
            }
            continue;
        }
        memcpy(buf + n, raw, w);
        n += w;
    }
    buf[n] = '\0';
    t->lit = buf;
    t->litlen = n;
}

void influxql_lexer_scan(influxql_lexer *lx, influxql_token *t)
{
    tok_begin(lx, t);
    size_t w;
    int c = peek_rune(lx, &w);
    if (w == 0) {
        t->tok = IQL_T_EOF;
        t->litlen = 0;
        if (lx->pos.eof_seen)
            t->col++;
        return;
    }
    if (is_ws(c)) {
        while (is_ws(peek_rune(lx, &w)) && w)
            read_rune(lx);
        note_eof(lx);
        t->tok = IQL_T_WS;
        tok_lit_to_here(lx, t);
        return;
    }
    if (is_letter(c) || c == '_' || c == '"') {
        /* Bare parts accumulate; a quoted part replaces them and ends the identifier. */
        for (;;) {
            int d = peek_rune(lx, &w);
            if (d == '"') {
                influxql_token q = *t;
                uint32_t pl = lx->pos.pline, pc = lx->pos.pcol;
                scan_quoted(lx, &q);
                if (q.tok != IQL_T_STRING) {
                    if (q.tok == IQL_T_BADSTRING) { /* reported at the rune before the quote */
                        q.line = pl;
                        q.col = pc;
                    }
                    *t = q;
                    return;
                }
                t->tok = IQL_T_IDENT;
                t->lit = q.lit;
                t->litlen = q.litlen;
                return;
            }
            if (!w || !is_ident_char(d)) {
                note_eof(lx);
                break;
            }
            const char *first = lx->src + lx->pos.off;
            size_t start = lx->pos.off;
            while (is_ident_char(peek_rune(lx, &w)) && w)
                read_rune(lx);
            t->lit = first;
            t->litlen = lx->pos.off - start;
        }
        t->tok = influxql_keyword(t->lit, t->litlen);
        if (t->tok != IQL_T_IDENT) {
            t->lit = "";
            t->litlen = 0;
        }
        return;
    }
    if (is_digit(c) || (c == '.' && lx->pos.off + 1 < lx->len &&
                        is_digit((unsigned char)lx->src[lx->pos.off + 1]))) {
        size_t start = lx->pos.off;
        while (is_digit(peek_rune(lx, &w)))
            read_rune(lx);
        bool decimal = false;
        size_t end = lx->pos.off;
        if (peek_rune(lx, &w) == '.') {
            decimal = true;
            read_rune(lx);
            if (is_digit(peek_rune(lx, &w))) {
                while (is_digit(peek_rune(lx, &w)))
                    read_rune(lx);
                end = lx->pos.off;
            }
            /* "1." : the dot is consumed but not part of the literal (as in InfluxDB) */
        } else {
            end = lx->pos.off;
        }
        t->lit = lx->src + start;
        t->litlen = end - start;
        if (decimal) {
            t->tok = IQL_T_NUMBER;
            return;
        }
        int d = peek_rune(lx, &w);
        if (is_letter(d) || d == RUNE_MICRO) {
            while ((d = peek_rune(lx, &w)), (is_letter(d) || d == RUNE_MICRO))
                read_rune(lx);
            while ((d = peek_rune(lx, &w)), (is_letter(d) || d == RUNE_MICRO || is_digit(d)))
                read_rune(lx);
            t->tok = IQL_T_DURATIONVAL;
            tok_lit_to_here(lx, t);
            return;
        }
        t->tok = IQL_T_INTEGER;
        return;
    }
    if (c == '\'') {
        /* InfluxDB reports a string at the rune before its quote. */
        t->line = lx->pos.pline;
        t->col = lx->pos.pcol;
        uint32_t l = t->line, col = t->col;
        scan_quoted(lx, t);
        if (t->tok != IQL_T_BADESCAPE) {
            t->line = l;
            t->col = col;
        }
        return;
    }
    if (c == '$') {
        read_rune(lx);
        int d = peek_rune(lx, &w);
        if (d == '"') {
            influxql_token q = *t;
            scan_quoted(lx, &q);
            if (q.tok != IQL_T_STRING) {
                *t = q;
                return;
            }
            char *s = arena_alloc(lx->a, q.litlen + 2);
            if (!s) {
                lx->oom = true;
                t->tok = IQL_T_ILLEGAL;
                t->litlen = 0;
                return;
            }
            s[0] = '$';
            memcpy(s + 1, q.lit, q.litlen);
            s[q.litlen + 1] = '\0';
            t->tok = IQL_T_BOUNDPARAM;
            t->lit = s;
            t->litlen = q.litlen + 1;
            return;
        }
        while (is_ident_char(peek_rune(lx, &w)) && w)
            read_rune(lx);
        note_eof(lx);
        t->tok = IQL_T_BOUNDPARAM;
        tok_lit_to_here(lx, t);
        return;
    }
    read_rune(lx);
    int d = peek_rune(lx, &w);
    switch (c) {
    case '+': t->tok = IQL_T_ADD; break;
    case '*': t->tok = IQL_T_MUL; break;
    case '%': t->tok = IQL_T_MOD; break;
    case '&': t->tok = IQL_T_BITAND; break;
    case '|': t->tok = IQL_T_BITOR; break;
    case '^': t->tok = IQL_T_BITXOR; break;
    case '(': t->tok = IQL_T_LPAREN; break;
    case ')': t->tok = IQL_T_RPAREN; break;
    case ',': t->tok = IQL_T_COMMA; break;
    case ';': t->tok = IQL_T_SEMICOLON; break;
    case '.': t->tok = IQL_T_DOT; break;
    case '-':
        if (d == '-') {
            while ((d = peek_rune(lx, &w)), w && d != '\n')
                read_rune(lx);
            if (w)
                read_rune(lx);
            else
                note_eof(lx);
            t->tok = IQL_T_COMMENT;
        } else {
            t->tok = IQL_T_SUB;
        }
        break;
    case '/':
        if (d == '*') {
            read_rune(lx);
            for (;;) {
                int e = peek_rune(lx, &w);
                if (!w) {
                    note_eof(lx);
                    t->tok = IQL_T_ILLEGAL;
                    t->litlen = 0;
                    return;
                }
                read_rune(lx);
                if (e == '*' && peek_rune(lx, &w) == '/' && w) {
                    read_rune(lx);
                    break;
                }
            }
            t->tok = IQL_T_COMMENT;
        } else {
            t->tok = IQL_T_DIV;
        }
        break;
    case '=':
        if (d == '~') {
            read_rune(lx);
            t->tok = IQL_T_EQREGEX;
        } else {
            t->tok = IQL_T_EQ;
        }
        break;
    case '!':
        if (d == '=' || d == '~') {
            read_rune(lx);
            t->tok = d == '=' ? IQL_T_NEQ : IQL_T_NEQREGEX;
        } else {
            t->tok = IQL_T_ILLEGAL;
            tok_lit_to_here(lx, t);
            return;
        }
        break;
    case '>':
        if (d == '=') {
            read_rune(lx);
            t->tok = IQL_T_GTE;
        } else {
            t->tok = IQL_T_GT;
        }
        break;
    case '<':
        if (d == '=' || d == '>') {
            read_rune(lx);
            t->tok = d == '=' ? IQL_T_LTE : IQL_T_NEQ;
        } else {
            t->tok = IQL_T_LT;
        }
        break;
    case ':':
        if (d == ':') {
            read_rune(lx);
            t->tok = IQL_T_DOUBLECOLON;
        } else {
            t->tok = IQL_T_COLON;
        }
        break;
    default:
        t->tok = IQL_T_ILLEGAL;
        tok_lit_to_here(lx, t);
        return;
    }
    t->litlen = 0;
}

void influxql_lexer_scan_regex(influxql_lexer *lx, influxql_token *t)
{
    tok_begin(lx, t);
    t->line = lx->pos.pline;
    t->col = lx->pos.pcol;
    t->lit = "";
    t->litlen = 0;
    size_t w;
    if (peek_rune(lx, &w) != '/') {
        t->tok = IQL_T_BADREGEX;
        return;
    }
    read_rune(lx);
    size_t start = lx->pos.off;
    char *buf = arena_alloc(lx->a, lx->len - start + 1);
    if (!buf) {
        lx->oom = true;
        t->tok = IQL_T_BADREGEX;
        return;
    }
    size_t n = 0;
    for (;;) {
        int c = peek_rune(lx, &w);
        if (!w || c == '\n') {
            t->tok = IQL_T_BADREGEX;
            return;
        }
        const char *raw = lx->src + lx->pos.off;
        read_rune(lx);
        if (c == '/')
            break;
        if (c == '\\') {
            int e = peek_rune(lx, &w);
            if (!w) {
                t->tok = IQL_T_BADREGEX;
                return;
            }
            if (e == '/') {
                read_rune(lx);
                buf[n++] = '/';
            } else {
                buf[n++] = '\\'; /* passes through; the next rune is read normally */
            }
            continue;
        }
        memcpy(buf + n, raw, w);
        n += w;
    }
    buf[n] = '\0';
    t->tok = IQL_T_REGEX;
    t->lit = buf;
    t->litlen = n;
}
