/*
 * server/influxql_admin.c — a lexer and a three-statement parser (see influxql_admin.h).
 *
 * The lexer produces tokens with their 1-based line and char; the parser looks at the first one
 * or two identifiers of each statement. Statements it does not implement are skipped token by
 * token up to the next ';', so a ';' inside a string or a quoted identifier never splits them.
 */
#include "server/influxql_admin.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum iqa_tok_kind {
    TK_EOF,
    TK_IDENT,  /* bare identifier or keyword */
    TK_QIDENT, /* "quoted identifier" */
    TK_STRING, /* 'string' */
    TK_NUMBER,
    TK_SEMI,
    TK_PUNCT,     /* any other single character */
    TK_BADSTRING, /* unterminated quote */
    TK_BADESCAPE,
} iqa_tok_kind;

typedef struct iqa_tok {
    iqa_tok_kind kind;
    const char *start; /* raw bytes of the token */
    size_t len;
    size_t line, chr;
} iqa_tok;

typedef struct iqa_lexer {
    const char *p, *end;
    size_t line;
    const char *bol;
} iqa_lexer;

static bool iqa_ident_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool iqa_ident_char(unsigned char c)
{
    return iqa_ident_start(c) || (c >= '0' && c <= '9');
}

static void iqa_skip_space(iqa_lexer *lx)
{
    while (lx->p < lx->end) {
        char c = *lx->p;
        if (c == '\n') {
            lx->p++;
            lx->line++;
            lx->bol = lx->p;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            lx->p++;
        } else if (c == '-' && lx->p + 1 < lx->end && lx->p[1] == '-') {
            while (lx->p < lx->end && *lx->p != '\n')
                lx->p++;
        } else if (c == '/' && lx->p + 1 < lx->end && lx->p[1] == '*') {
            lx->p += 2;
            while (lx->p < lx->end && !(*lx->p == '*' && lx->p + 1 < lx->end && lx->p[1] == '/')) {
                if (*lx->p == '\n') {
                    lx->line++;
                    lx->bol = lx->p + 1;
                }
                lx->p++;
            }
            lx->p = lx->p < lx->end ? lx->p + 2 : lx->end;
        } else {
            return;
        }
    }
}

static void iqa_next(iqa_lexer *lx, iqa_tok *t)
{
    iqa_skip_space(lx);
    t->start = lx->p;
    t->line = lx->line;
    t->chr = (size_t)(lx->p - lx->bol) + 1;
    if (lx->p >= lx->end) {
        t->kind = TK_EOF;
        t->len = 0;
        return;
    }
    unsigned char c = (unsigned char)*lx->p;
    if (iqa_ident_start(c)) {
        while (lx->p < lx->end && iqa_ident_char((unsigned char)*lx->p))
            lx->p++;
        t->kind = TK_IDENT;
    } else if (c >= '0' && c <= '9') {
        while (lx->p < lx->end && ((*lx->p >= '0' && *lx->p <= '9') || *lx->p == '.'))
            lx->p++;
        t->kind = TK_NUMBER;
    } else if (c == '"' || c == '\'') {
        t->kind = c == '"' ? TK_QIDENT : TK_STRING;
        lx->p++;
        for (;;) {
            if (lx->p >= lx->end || *lx->p == '\n') {
                t->kind = TK_BADSTRING;
                break;
            }
            if (*lx->p == '\\') {
                if (lx->p + 1 >= lx->end) {
                    t->kind = TK_BADSTRING;
                    lx->p++;
                    break;
                }
                lx->p += 2;
                continue;
            }
            if ((unsigned char)*lx->p == c) {
                lx->p++;
                break;
            }
            lx->p++;
        }
    } else if (c == ';') {
        lx->p++;
        t->kind = TK_SEMI;
    } else {
        lx->p++;
        t->kind = TK_PUNCT;
    }
    t->len = (size_t)(lx->p - t->start);
}

static bool iqa_is(const iqa_tok *t, const char *kw)
{
    size_t n = strlen(kw);
    return t->kind == TK_IDENT && t->len == n && strncasecmp(t->start, kw, n) == 0;
}

static const char *const iqa_statement_keywords[] = {
    "SELECT", "DELETE", "SHOW",  "CREATE", "DROP", "EXPLAIN",
    "GRANT",  "REVOKE", "ALTER", "SET",    "KILL",
};
#define IQA_STATEMENT_EXPECTED                                                                     \
    "SELECT, DELETE, SHOW, CREATE, DROP, EXPLAIN, GRANT, REVOKE, ALTER, SET, KILL"

/* "found X, expected Y at line L, char C". */
static vt_rc iqa_syntax(vt_err *err, const iqa_tok *t, const char *expected)
{
    if (t->kind == TK_EOF)
        return vt_err_set(err, VT_EPARSE, "found EOF, expected %s at line %zu, char %zu", expected,
                          t->line, t->chr);
    if (t->kind == TK_BADSTRING)
        return vt_err_set(err, VT_EPARSE,
                          "found unterminated quoted string, expected %s at line %zu, char %zu",
                          expected, t->line, t->chr);
    int n = t->len > 64 ? 64 : (int)t->len;
    /* keywords print upper-cased, as InfluxQL's token names do */
    char shown[65];
    memcpy(shown, t->start, (size_t)n);
    shown[n] = '\0';
    if (t->kind == TK_IDENT) {
        static const char *const kws[] = {"DATABASE", "DATABASES", "WITH", "ON", "FROM", "WHERE"};
        bool kw = false;
        for (size_t i = 0; i < sizeof kws / sizeof kws[0]; i++)
            kw = kw || iqa_is(t, kws[i]);
        for (size_t i = 0; i < sizeof iqa_statement_keywords / sizeof iqa_statement_keywords[0];
             i++)
            kw = kw || iqa_is(t, iqa_statement_keywords[i]);
        if (kw)
            for (int i = 0; i < n; i++)
                if (shown[i] >= 'a' && shown[i] <= 'z')
                    shown[i] = (char)(shown[i] - 'a' + 'A');
    }
    return vt_err_set(err, VT_EPARSE, "found %s, expected %s at line %zu, char %zu", shown,
                      expected, t->line, t->chr);
}

/* The identifier's value: bare as is, quoted with \" and \\ unescaped. NULL when out of memory. */
static char *iqa_ident_value(const iqa_tok *t)
{
    const char *s = t->start;
    size_t n = t->len;
    if (t->kind == TK_QIDENT) {
        s++;
        n -= 2;
    }
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (t->kind == TK_QIDENT && s[i] == '\\' && i + 1 < n) {
            char e = s[++i];
            out[o++] = e == 'n' ? '\n' : e == 't' ? '\t' : e;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

static vt_rc iqa_push(influxql_admin_query *q, size_t *cap, const influxql_admin_stmt *st,
                      vt_err *err)
{
    if (q->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        if (ncap > SIZE_MAX / sizeof *q->stmts)
            return vt_err_set(err, VT_ENOMEM, "too many statements");
        influxql_admin_stmt *s = realloc(q->stmts, ncap * sizeof *s);
        if (!s)
            return vt_err_set(err, VT_ENOMEM, "out of memory");
        q->stmts = s;
        *cap = ncap;
    }
    q->stmts[q->n++] = *st;
    return VT_OK;
}

static void iqa_upper_keyword(influxql_admin_stmt *st, const iqa_tok *t)
{
    size_t n = t->len < sizeof st->keyword - 1 ? t->len : sizeof st->keyword - 1;
    for (size_t i = 0; i < n; i++) {
        char c = t->start[i];
        st->keyword[i] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
    }
    st->keyword[n] = '\0';
}

/* Parses CREATE|DROP DATABASE <name> after the first keyword; t is the token after it. */
static vt_rc iqa_database_stmt(iqa_lexer *lx, iqa_tok *t, influxql_admin_kind kind,
                               influxql_admin_stmt *st, vt_err *err)
{
    iqa_next(lx, t); /* the name */
    if (t->kind != TK_IDENT && t->kind != TK_QIDENT)
        return iqa_syntax(err, t, "identifier");
    st->kind = kind;
    st->name = iqa_ident_value(t);
    if (!st->name)
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    iqa_next(lx, t);
    if (kind == IQA_CREATE_DATABASE && iqa_is(t, "WITH")) {
        /* retention policy options: valid InfluxQL, not implemented yet */
        free(st->name);
        st->name = NULL;
        st->kind = IQA_OTHER;
        snprintf(st->keyword, sizeof st->keyword, "CREATE DATABASE ... WITH");
        while (t->kind != TK_SEMI && t->kind != TK_EOF && t->kind != TK_BADSTRING)
            iqa_next(lx, t);
        if (t->kind == TK_BADSTRING)
            return iqa_syntax(err, t, ";");
    }
    return VT_OK;
}

vt_rc influxql_admin_parse(const char *q, size_t len, influxql_admin_query *out, vt_err *err)
{
    out->stmts = NULL;
    out->n = 0;
    size_t cap = 0;
    iqa_lexer lx = {q, q + len, 1, q};
    iqa_tok t;
    vt_rc rc = VT_OK;
    iqa_next(&lx, &t);
    for (;;) {
        while (t.kind == TK_SEMI)
            iqa_next(&lx, &t);
        if (t.kind == TK_EOF)
            break;
        influxql_admin_stmt st;
        memset(&st, 0, sizeof st);
        bool known = false;
        for (size_t i = 0; i < sizeof iqa_statement_keywords / sizeof iqa_statement_keywords[0];
             i++)
            known = known || iqa_is(&t, iqa_statement_keywords[i]);
        if (!known) {
            rc = iqa_syntax(err, &t, IQA_STATEMENT_EXPECTED);
            goto fail;
        }
        iqa_tok first = t;
        iqa_next(&lx, &t);
        if (iqa_is(&first, "CREATE") && iqa_is(&t, "DATABASE")) {
            rc = iqa_database_stmt(&lx, &t, IQA_CREATE_DATABASE, &st, err);
        } else if (iqa_is(&first, "DROP") && iqa_is(&t, "DATABASE")) {
            rc = iqa_database_stmt(&lx, &t, IQA_DROP_DATABASE, &st, err);
        } else if (iqa_is(&first, "SHOW") && iqa_is(&t, "DATABASES")) {
            st.kind = IQA_SHOW_DATABASES;
            iqa_next(&lx, &t);
        } else {
            st.kind = IQA_OTHER;
            iqa_upper_keyword(&st, &first);
            while (t.kind != TK_SEMI && t.kind != TK_EOF && t.kind != TK_BADSTRING)
                iqa_next(&lx, &t);
            if (t.kind == TK_BADSTRING)
                rc = iqa_syntax(err, &t, ";");
        }
        if (rc == VT_OK && t.kind != TK_SEMI && t.kind != TK_EOF)
            rc = iqa_syntax(err, &t, ";");
        if (rc == VT_OK)
            rc = iqa_push(out, &cap, &st, err);
        if (rc != VT_OK) {
            free(st.name);
            goto fail;
        }
    }
    return VT_OK;
fail:
    influxql_admin_free(out);
    return rc;
}

void influxql_admin_free(influxql_admin_query *q)
{
    for (size_t i = 0; i < q->n; i++)
        free(q->stmts[i].name);
    free(q->stmts);
    q->stmts = NULL;
    q->n = 0;
}
