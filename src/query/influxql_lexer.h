/*
 * query/influxql_lexer.h — the InfluxQL scanner (tokens, positions, literals), modelled on
 * InfluxDB 1.x's scanner so that error messages carry the same token text and positions.
 *
 * The lexer is position-based: its whole state is an influxql_lexpos (byte offset, line and
 * char of the next rune, and of the previous rune). The parser "unscans" a token by restoring
 * the state saved in it (tok.before), which replaces InfluxDB's 3-token unread buffer.
 *
 * Behaviour kept from InfluxDB (and relied on by the messages):
 *   - whitespace is ' ', '\t', '\n', "\r" and "\r\n" (both read as one newline); a NUL byte ends
 *     the input; '--' comments run to the end of the line, C comments to '* /';
 *   - lines and chars are counted in runes (an invalid UTF-8 byte counts as one), 0-based here,
 *     printed 1-based by the parser;
 *   - keywords are case-insensitive; a bare identifier is [A-Za-z_][A-Za-z0-9_]*;
 *   - 'strings' and "identifiers" accept the escapes \n \\ \' \"; any other escape is
 *     BADESCAPE, a newline or the end of input inside quotes is BADSTRING;
 *   - a STRING token's position is that of the rune *before* its opening quote (an InfluxDB
 *     quirk visible in its messages), a regex's likewise;
 *   - digits followed by letters form one DURATIONVAL token ("10m", "1h30m", "5µ");
 *   - EOF is at the char after the input, or one further when the previous token had to read
 *     past the end to finish (identifiers, keywords, whitespace, comments): InfluxDB's reader
 *     counts that read, so "SELECT" fails at char 8 while "SELECT *" fails at char 9.
 */
#ifndef QUERY_INFLUXQL_LEXER_H
#define QUERY_INFLUXQL_LEXER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "query/arena.h"

typedef enum influxql_tok {
    IQL_T_ILLEGAL = 0,
    IQL_T_EOF,
    IQL_T_WS,
    IQL_T_COMMENT,
    /* literals */
    IQL_T_IDENT,
    IQL_T_BOUNDPARAM,
    IQL_T_NUMBER,
    IQL_T_INTEGER,
    IQL_T_DURATIONVAL,
    IQL_T_STRING,
    IQL_T_BADSTRING,
    IQL_T_BADESCAPE,
    IQL_T_TRUE,
    IQL_T_FALSE,
    IQL_T_REGEX,
    IQL_T_BADREGEX,
    /* operators (IQL_T_ADD..IQL_T_GTE) */
    IQL_T_ADD,
    IQL_T_SUB,
    IQL_T_MUL,
    IQL_T_DIV,
    IQL_T_MOD,
    IQL_T_BITAND,
    IQL_T_BITOR,
    IQL_T_BITXOR,
    IQL_T_AND,
    IQL_T_OR,
    IQL_T_IN,
    IQL_T_EQ,
    IQL_T_NEQ,
    IQL_T_EQREGEX,
    IQL_T_NEQREGEX,
    IQL_T_LT,
    IQL_T_LTE,
    IQL_T_GT,
    IQL_T_GTE,
    /* punctuation */
    IQL_T_LPAREN,
    IQL_T_RPAREN,
    IQL_T_COMMA,
    IQL_T_COLON,
    IQL_T_DOUBLECOLON,
    IQL_T_SEMICOLON,
    IQL_T_DOT,
    /* keywords (IQL_T_ALL..IQL_T_WRITE), alphabetical */
    IQL_T_ALL,
    IQL_T_ALTER,
    IQL_T_ANALYZE,
    IQL_T_ANY,
    IQL_T_AS,
    IQL_T_ASC,
    IQL_T_BEGIN,
    IQL_T_BY,
    IQL_T_CARDINALITY,
    IQL_T_CREATE,
    IQL_T_CONTINUOUS,
    IQL_T_DATABASE,
    IQL_T_DATABASES,
    IQL_T_DEFAULT,
    IQL_T_DELETE,
    IQL_T_DESC,
    IQL_T_DESTINATIONS,
    IQL_T_DIAGNOSTICS,
    IQL_T_DISTINCT,
    IQL_T_DROP,
    IQL_T_DURATION,
    IQL_T_END,
    IQL_T_EVERY,
    IQL_T_EXACT,
    IQL_T_EXPLAIN,
    IQL_T_FIELD,
    IQL_T_FOR,
    IQL_T_FROM,
    IQL_T_GRANT,
    IQL_T_GRANTS,
    IQL_T_GROUP,
    IQL_T_GROUPS,
    IQL_T_INF,
    IQL_T_INSERT,
    IQL_T_INTO,
    IQL_T_KEY,
    IQL_T_KEYS,
    IQL_T_KILL,
    IQL_T_LIMIT,
    IQL_T_MEASUREMENT,
    IQL_T_MEASUREMENTS,
    IQL_T_NAME,
    IQL_T_OFFSET,
    IQL_T_ON,
    IQL_T_ORDER,
    IQL_T_PASSWORD,
    IQL_T_POLICY,
    IQL_T_POLICIES,
    IQL_T_PRIVILEGES,
    IQL_T_QUERIES,
    IQL_T_QUERY,
    IQL_T_READ,
    IQL_T_REPLICATION,
    IQL_T_RESAMPLE,
    IQL_T_RETENTION,
    IQL_T_REVOKE,
    IQL_T_SELECT,
    IQL_T_SERIES,
    IQL_T_SET,
    IQL_T_SHOW,
    IQL_T_SHARD,
    IQL_T_SHARDS,
    IQL_T_SLIMIT,
    IQL_T_SOFFSET,
    IQL_T_STATS,
    IQL_T_SUBSCRIPTION,
    IQL_T_SUBSCRIPTIONS,
    IQL_T_TAG,
    IQL_T_TO,
    IQL_T_USER,
    IQL_T_USERS,
    IQL_T_VALUES,
    IQL_T_WHERE,
    IQL_T_WITH,
    IQL_T_WRITE,
    IQL_T_COUNT_
} influxql_tok;

typedef struct influxql_lexpos {
    size_t off;          /* byte offset of the next rune */
    uint32_t line, col;  /* 0-based position of the next rune */
    uint32_t pline, pcol; /* 0-based position of the previous rune (0,0 at the start) */
    bool eof_seen; /* a token already read past the end: EOF is reported one char later */
} influxql_lexpos;

typedef struct influxql_token {
    influxql_tok tok;
    uint32_t line, col;    /* 0-based */
    const char *lit;       /* literal text (see influxql_lexer_scan); not NUL-terminated */
    size_t litlen;
    influxql_lexpos before; /* lexer state before this token: restore it to unscan */
    /* Set by the parser when a bound parameter was substituted with a typed value. */
    bool has_value;
    int64_t ival;  /* INTEGER, DURATIONVAL */
    double fval;   /* NUMBER */
} influxql_token;

typedef struct influxql_lexer {
    const char *src;
    size_t len; /* up to the first NUL */
    arena *a;
    influxql_lexpos pos;
    bool oom; /* an unescaped literal could not be allocated */
} influxql_lexer;

void influxql_lexer_init(influxql_lexer *lx, const char *src, size_t len, arena *a);
/* Scans the next token (WS and COMMENT included). lit is: the identifier (unquoted,
 * unescaped), the string's content (unescaped), the number/duration text, "$name" for a bound
 * parameter, the whitespace, or the offending character for ILLEGAL (empty for an unterminated
 * comment); for BADSTRING the content read so far, for BADESCAPE the escape ("\q"). Keywords
 * and operators have an empty lit. */
void influxql_lexer_scan(influxql_lexer *lx, influxql_token *t);
/* At a '/', scans a regular expression /.../ (\/ is an escaped slash, other backslashes are
 * kept): REGEX with lit = the pattern, or BADREGEX (newline or end of input inside). */
void influxql_lexer_scan_regex(influxql_lexer *lx, influxql_token *t);
/* The next rune's first byte without consuming it ('\0' at the end; '\n' for '\r'). Peeking
 * at the end counts as reading past it (InfluxDB's reader does not unread EOF). */
int influxql_lexer_peek(influxql_lexer *lx);

/* "FROM", "=~", "EOF", "IDENT"... as InfluxDB names tokens. */
const char *influxql_tok_name(influxql_tok t);
/* Keyword token for s[0..n) (case-insensitive), or IQL_T_IDENT. AND/OR/IN/TRUE/FALSE count. */
influxql_tok influxql_keyword(const char *s, size_t n);
/* True for binary operator tokens. */
bool influxql_tok_is_operator(influxql_tok t);
/* True when an identifier must be written "quoted": a keyword, empty, or not
 * [A-Za-z_][A-Za-z0-9_]*. */
bool influxql_ident_needs_quotes(const char *s);

#endif
