/*
 * query/flux_lexer.c — the Flux scanner (see flux_lexer.h for the lexical rules).
 *
 * Design: a hand-written longest-match scanner over bytes; no allocation (tokens are spans of
 * the source; the parser unescapes what it keeps). Positions: lines count '\n', columns are
 * byte offsets from the start of the line plus one, as in Flux. Every scan advances through
 * adv(), the only place that updates line and line_start.
 */
#include "query/flux_lexer.h"

#include <string.h>

static const char *const TOK_NAMES[FLUX_T_COUNT_] = {
    [FLUX_T_ILLEGAL] = "ILLEGAL",
    [FLUX_T_EOF] = "EOF",
    [FLUX_T_AND] = "AND",
    [FLUX_T_OR] = "OR",
    [FLUX_T_NOT] = "NOT",
    [FLUX_T_IMPORT] = "IMPORT",
    [FLUX_T_PACKAGE] = "PACKAGE",
    [FLUX_T_RETURN] = "RETURN",
    [FLUX_T_OPTION] = "OPTION",
    [FLUX_T_IF] = "IF",
    [FLUX_T_THEN] = "THEN",
    [FLUX_T_ELSE] = "ELSE",
    [FLUX_T_EXISTS] = "EXISTS",
    [FLUX_T_IDENT] = "IDENT",
    [FLUX_T_INT] = "INT",
    [FLUX_T_FLOAT] = "FLOAT",
    [FLUX_T_STRING] = "STRING",
    [FLUX_T_REGEX] = "REGEX",
    [FLUX_T_TIME] = "TIME",
    [FLUX_T_DURATION] = "DURATION",
    [FLUX_T_ADD] = "ADD",
    [FLUX_T_SUB] = "SUB",
    [FLUX_T_MUL] = "MUL",
    [FLUX_T_DIV] = "DIV",
    [FLUX_T_MOD] = "MOD",
    [FLUX_T_POW] = "POW",
    [FLUX_T_EQ] = "EQ",
    [FLUX_T_LT] = "LT",
    [FLUX_T_GT] = "GT",
    [FLUX_T_LTE] = "LTE",
    [FLUX_T_GTE] = "GTE",
    [FLUX_T_NEQ] = "NEQ",
    [FLUX_T_REGEXEQ] = "REGEXEQ",
    [FLUX_T_REGEXNEQ] = "REGEXNEQ",
    [FLUX_T_ASSIGN] = "ASSIGN",
    [FLUX_T_ARROW] = "ARROW",
    [FLUX_T_LPAREN] = "LPAREN",
    [FLUX_T_RPAREN] = "RPAREN",
    [FLUX_T_LBRACK] = "LBRACK",
    [FLUX_T_RBRACK] = "RBRACK",
    [FLUX_T_LBRACE] = "LBRACE",
    [FLUX_T_RBRACE] = "RBRACE",
    [FLUX_T_COMMA] = "COMMA",
    [FLUX_T_DOT] = "DOT",
    [FLUX_T_COLON] = "COLON",
    [FLUX_T_PIPE_FORWARD] = "PIPE_FORWARD",
    [FLUX_T_PIPE_RECEIVE] = "PIPE_RECEIVE",
    [FLUX_T_QUESTION_MARK] = "QUESTION_MARK",
    [FLUX_T_QUOTE] = "QUOTE",
    [FLUX_T_STRINGEXPR] = "STRINGEXPR",
    [FLUX_T_TEXT] = "TEXT",
};

const char *flux_tok_name(flux_tok t)
{
    if ((unsigned)t >= FLUX_T_COUNT_ || !TOK_NAMES[t])
        return "ILLEGAL";
    return TOK_NAMES[t];
}

static const struct {
    const char *kw;
    flux_tok tok;
} KEYWORDS[] = {
    {"and", FLUX_T_AND},         {"or", FLUX_T_OR},         {"not", FLUX_T_NOT},
    {"import", FLUX_T_IMPORT},   {"package", FLUX_T_PACKAGE}, {"return", FLUX_T_RETURN},
    {"option", FLUX_T_OPTION},   {"if", FLUX_T_IF},         {"then", FLUX_T_THEN},
    {"else", FLUX_T_ELSE},       {"exists", FLUX_T_EXISTS},
};

flux_tok flux_keyword(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof(KEYWORDS) / sizeof(KEYWORDS[0]); i++) {
        if (strlen(KEYWORDS[i].kw) == n && memcmp(KEYWORDS[i].kw, s, n) == 0)
            return KEYWORDS[i].tok;
    }
    return FLUX_T_IDENT;
}

void flux_lexer_init(flux_lexer *lx, const char *src, size_t len)
{
    const char *nul = len ? memchr(src, '\0', len) : NULL;
    lx->src = src;
    lx->len = nul ? (size_t)(nul - src) : len;
    lx->pos.off = 0;
    lx->pos.line_start = 0;
    lx->pos.line = 1;
}

static inline int at(const flux_lexer *lx, size_t off)
{
    return off < lx->len ? (unsigned char)lx->src[off] : -1;
}

static inline bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static inline bool is_xdigit(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Length of a valid multi-byte UTF-8 rune at off, or 0. */
static size_t utf8_rune(const flux_lexer *lx, size_t off)
{
    int c = at(lx, off);
    size_t n;
    uint32_t min;
    uint32_t cp;
    if (c < 0xC2 || c > 0xF4)
        return 0;
    if (c < 0xE0) {
        n = 2;
        min = 0x80;
        cp = (uint32_t)c & 0x1F;
    } else if (c < 0xF0) {
        n = 3;
        min = 0x800;
        cp = (uint32_t)c & 0x0F;
    } else {
        n = 4;
        min = 0x10000;
        cp = (uint32_t)c & 0x07;
    }
    for (size_t i = 1; i < n; i++) {
        int d = at(lx, off + i);
        if (d < 0 || (d & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | ((uint32_t)d & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* Length of an identifier character at off (letter, '_', digit when !first), or 0. */
static size_t ident_char(const flux_lexer *lx, size_t off, bool first)
{
    int c = at(lx, off);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
        return 1;
    if (!first && is_digit(c))
        return 1;
    if (c >= 0x80)
        return utf8_rune(lx, off);
    return 0;
}

bool flux_is_ident(const char *s)
{
    flux_lexer lx;
    size_t n = strlen(s);
    flux_lexer_init(&lx, s, n);
    size_t off = 0;
    size_t k = ident_char(&lx, 0, true);
    if (k == 0)
        return false;
    off += k;
    while (off < n && (k = ident_char(&lx, off, false)) > 0)
        off += k;
    return off == n && flux_keyword(s, n) == FLUX_T_IDENT;
}

/* Moves to byte offset `to`, counting newlines. */
static void adv(flux_lexer *lx, size_t to)
{
    for (size_t i = lx->pos.off; i < to; i++) {
        if (lx->src[i] == '\n') {
            lx->pos.line++;
            lx->pos.line_start = i + 1;
        }
    }
    lx->pos.off = to;
}

static void finish(flux_lexer *lx, flux_token *t, flux_tok tok, size_t end)
{
    t->tok = tok;
    adv(lx, end);
    t->end = end;
    t->end_line = lx->pos.line;
    t->end_col = (uint32_t)(end - lx->pos.line_start + 1);
}

static void start(flux_lexer *lx, flux_token *t)
{
    t->off = lx->pos.off;
    t->line = lx->pos.line;
    t->col = (uint32_t)(lx->pos.off - lx->pos.line_start + 1);
}

static size_t count_digits(const flux_lexer *lx, size_t off)
{
    size_t n = 0;
    while (is_digit(at(lx, off + n)))
        n++;
    return n;
}

static bool digits_exact(const flux_lexer *lx, size_t off, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit(at(lx, off + i)))
            return false;
    return true;
}

/* Length of a duration unit at off (longest match), or 0. */
static size_t duration_unit(const flux_lexer *lx, size_t off)
{
    int c = at(lx, off), d = at(lx, off + 1);
    switch (c) {
    case 'm':
        return (d == 'o' || d == 's') ? 2 : 1;
    case 'u':
    case 'n':
        return d == 's' ? 2 : 0;
    case 0xC2: /* µ (U+00B5) */
        return (d == 0xB5 && at(lx, off + 2) == 's') ? 3 : 0;
    case 'y':
    case 'w':
    case 'd':
    case 'h':
    case 's':
        return 1;
    default:
        return 0;
    }
}

static size_t int_lit_len(const flux_lexer *lx, size_t off)
{
    int c = at(lx, off);
    if (!is_digit(c))
        return 0;
    return c == '0' ? 1 : count_digits(lx, off);
}

static size_t duration_len(const flux_lexer *lx, size_t off)
{
    size_t p = off;
    for (;;) {
        size_t il = int_lit_len(lx, p);
        if (il == 0)
            break;
        size_t ul = duration_unit(lx, p + il);
        if (ul == 0)
            break;
        p += il + ul;
    }
    return p - off;
}

static size_t datetime_len(const flux_lexer *lx, size_t off)
{
    if (!(digits_exact(lx, off, 4) && at(lx, off + 4) == '-' && digits_exact(lx, off + 5, 2) &&
          at(lx, off + 7) == '-' && digits_exact(lx, off + 8, 2)))
        return 0;
    size_t n = 10;
    size_t p = off + n;
    if (!(at(lx, p) == 'T' && digits_exact(lx, p + 1, 2) && at(lx, p + 3) == ':' &&
          digits_exact(lx, p + 4, 2) && at(lx, p + 6) == ':' && digits_exact(lx, p + 7, 2)))
        return n;
    n += 9;
    p = off + n;
    if (at(lx, p) == '.') {
        n += 1 + count_digits(lx, p + 1);
        p = off + n;
    }
    if (at(lx, p) == 'Z') {
        n += 1;
    } else if ((at(lx, p) == '+' || at(lx, p) == '-') && digits_exact(lx, p + 1, 2) &&
               at(lx, p + 3) == ':' && digits_exact(lx, p + 4, 2)) {
        n += 6;
    }
    return n;
}

/* At a digit: the longest of INT, FLOAT, DURATION and TIME (earlier kinds win ties). */
static void scan_number(flux_lexer *lx, flux_token *t)
{
    size_t off = lx->pos.off;
    size_t best = int_lit_len(lx, off);
    flux_tok tok = FLUX_T_INT;
    size_t digits = count_digits(lx, off);
    if (at(lx, off + digits) == '.') {
        size_t fl = digits + 1 + count_digits(lx, off + digits + 1);
        if (fl > best) {
            best = fl;
            tok = FLUX_T_FLOAT;
        }
    }
    size_t dl = duration_len(lx, off);
    if (dl > best) {
        best = dl;
        tok = FLUX_T_DURATION;
    }
    size_t tl = datetime_len(lx, off);
    if (tl > best) {
        best = tl;
        tok = FLUX_T_TIME;
    }
    finish(lx, t, tok, off + best);
}

/* Length of a valid escape at off (which holds '\\'), or 0. */
static size_t escape_len(const flux_lexer *lx, size_t off)
{
    switch (at(lx, off + 1)) {
    case 'n':
    case 'r':
    case 't':
    case '\\':
    case '"':
        return 2;
    case '$':
        return at(lx, off + 2) == '{' ? 3 : 0;
    case 'x':
        return (is_xdigit(at(lx, off + 2)) && is_xdigit(at(lx, off + 3))) ? 4 : 0;
    default:
        return 0;
    }
}

/* Length of a plain string literal (quotes included) starting at off, or 0 when it has an
 * interpolation, a bad escape or no closing quote. */
static size_t plain_string_len(const flux_lexer *lx, size_t off)
{
    size_t p = off + 1;
    for (;;) {
        int c = at(lx, p);
        if (c < 0)
            return 0;
        if (c == '"')
            return p + 1 - off;
        if (c == '\\') {
            size_t e = escape_len(lx, p);
            if (e == 0)
                return 0;
            p += e;
        } else if (c == '$' && at(lx, p + 1) == '{') {
            return 0;
        } else {
            p++;
        }
    }
}

/* Length of a regex literal at off (slashes included), or 0. */
static size_t regex_len(const flux_lexer *lx, size_t off)
{
    size_t p = off + 1;
    for (;;) {
        int c = at(lx, p);
        if (c < 0)
            return 0;
        if (c == '/')
            return p == off + 1 ? 0 : p + 1 - off;
        if (c == '\\') {
            if (at(lx, p + 1) < 0)
                return 0;
            p += 2;
        } else {
            p++;
        }
    }
}

static inline bool is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

void flux_lexer_scan(flux_lexer *lx, flux_token *t, bool regex_ok)
{
    for (;;) {
        int c = at(lx, lx->pos.off);
        if (is_space(c)) {
            adv(lx, lx->pos.off + 1);
        } else if (c == '/' && at(lx, lx->pos.off + 1) == '/') {
            size_t p = lx->pos.off;
            while (p < lx->len && lx->src[p] != '\n')
                p++;
            adv(lx, p);
        } else {
            break;
        }
    }
    start(lx, t);
    size_t off = lx->pos.off;
    int c = at(lx, off);
    if (c < 0) {
        finish(lx, t, FLUX_T_EOF, off);
        return;
    }
    size_t k = ident_char(lx, off, true);
    if (k > 0) {
        size_t p = off + k;
        while ((k = ident_char(lx, p, false)) > 0)
            p += k;
        finish(lx, t, flux_keyword(lx->src + off, p - off), p);
        return;
    }
    if (is_digit(c)) {
        scan_number(lx, t);
        return;
    }
    int d = at(lx, off + 1);
    flux_tok tok = FLUX_T_ILLEGAL;
    size_t n = 1;
    switch (c) {
    case '.':
        if (is_digit(d)) {
            finish(lx, t, FLUX_T_FLOAT, off + 1 + count_digits(lx, off + 1));
            return;
        }
        tok = FLUX_T_DOT;
        break;
    case '"': {
        size_t sl = plain_string_len(lx, off);
        if (sl > 0) {
            finish(lx, t, FLUX_T_STRING, off + sl);
            return;
        }
        tok = FLUX_T_QUOTE;
        break;
    }
    case '/':
        if (regex_ok) {
            size_t rl = regex_len(lx, off);
            if (rl > 0) {
                finish(lx, t, FLUX_T_REGEX, off + rl);
                return;
            }
        }
        tok = FLUX_T_DIV;
        break;
    case '+': tok = FLUX_T_ADD; break;
    case '-': tok = FLUX_T_SUB; break;
    case '*': tok = FLUX_T_MUL; break;
    case '%': tok = FLUX_T_MOD; break;
    case '^': tok = FLUX_T_POW; break;
    case '(': tok = FLUX_T_LPAREN; break;
    case ')': tok = FLUX_T_RPAREN; break;
    case '[': tok = FLUX_T_LBRACK; break;
    case ']': tok = FLUX_T_RBRACK; break;
    case '{': tok = FLUX_T_LBRACE; break;
    case '}': tok = FLUX_T_RBRACE; break;
    case ',': tok = FLUX_T_COMMA; break;
    case ':': tok = FLUX_T_COLON; break;
    case '?': tok = FLUX_T_QUESTION_MARK; break;
    case '=':
        if (d == '=') {
            tok = FLUX_T_EQ;
            n = 2;
        } else if (d == '~') {
            tok = FLUX_T_REGEXEQ;
            n = 2;
        } else if (d == '>') {
            tok = FLUX_T_ARROW;
            n = 2;
        } else {
            tok = FLUX_T_ASSIGN;
        }
        break;
    case '<':
        if (d == '=') {
            tok = FLUX_T_LTE;
            n = 2;
        } else if (d == '-') {
            tok = FLUX_T_PIPE_RECEIVE;
            n = 2;
        } else {
            tok = FLUX_T_LT;
        }
        break;
    case '>':
        if (d == '=') {
            tok = FLUX_T_GTE;
            n = 2;
        } else {
            tok = FLUX_T_GT;
        }
        break;
    case '!':
        if (d == '=') {
            tok = FLUX_T_NEQ;
            n = 2;
        } else if (d == '~') {
            tok = FLUX_T_REGEXNEQ;
            n = 2;
        }
        break;
    case '|':
        if (d == '>') {
            tok = FLUX_T_PIPE_FORWARD;
            n = 2;
        }
        break;
    default:
        break;
    }
    finish(lx, t, tok, off + n);
}

void flux_lexer_scan_string_part(flux_lexer *lx, flux_token *t)
{
    start(lx, t);
    size_t off = lx->pos.off;
    int c = at(lx, off);
    if (c < 0) {
        finish(lx, t, FLUX_T_EOF, off);
        return;
    }
    if (c == '"') {
        finish(lx, t, FLUX_T_QUOTE, off + 1);
        return;
    }
    if (c == '$' && at(lx, off + 1) == '{') {
        finish(lx, t, FLUX_T_STRINGEXPR, off + 2);
        return;
    }
    size_t p = off;
    for (;;) {
        c = at(lx, p);
        if (c < 0 || c == '"' || (c == '$' && at(lx, p + 1) == '{'))
            break;
        if (c == '\\') {
            size_t e = escape_len(lx, p);
            if (e == 0) {
                if (p == off) {
                    finish(lx, t, FLUX_T_ILLEGAL, at(lx, p + 1) < 0 ? p + 1 : p + 2);
                    return;
                }
                break;
            }
            p += e;
        } else {
            p++;
        }
    }
    finish(lx, t, FLUX_T_TEXT, p);
}
