/*
 * query/flux_lexer.h — the Flux scanner (tokens and positions), modelled on Flux's Ragel
 * scanner (libflux scanner.rl) so that error messages name the same tokens ("RPAREN", "IDENT")
 * at the same places.
 *
 * The lexer is position-based: its whole state is a flux_lexpos (byte offset, line, start of
 * the line). The parser re-scans a token by restoring the state saved before it, which is how
 * a '/' at the start of an operand is re-read as a regex (Flux's peek_with_regex).
 *
 * Lexical rules kept from Flux:
 *   - whitespace is ' ', '\t', '\v', '\f', '\r' and '\n'; '//' comments run to the end of the
 *     line and are skipped; the input ends at len or at its first NUL byte;
 *   - lines are 1-based, columns are 1-based byte offsets in the line;
 *   - identifiers are (letter | '_') (letter | digit | '_')*, where any non-ASCII UTF-8 rune
 *     counts as a letter (Flux accepts Unicode letters only: a documented superset);
 *   - keywords: and or not import package return option if then else exists (true and false
 *     are identifiers);
 *   - at a digit the longest of int ("0" | [1-9][0-9]*), float (digits "." digits*),
 *     duration ((int unit)+, unit y mo w d h m s ms us µs ns) and date-time
 *     (YYYY-MM-DD ["T" hh:mm:ss ["." digits] [Z | ±hh:mm]]) wins; ".5" is a float;
 *   - a '"' starts a STRING token when the whole literal is well formed and has no ${...}
 *     (escapes \n \r \t \\ \" \${ and \xHH; '$' not followed by '{' is literal); otherwise
 *     the '"' is a QUOTE token and the parser reads the parts with flux_lexer_scan_string_part;
 *   - a regex /.../ (at least one character; "\/" is an escaped slash, every "\c" pair is kept
 *     whole; newlines allowed) is only scanned where an operand may start (regex_ok); an
 *     unterminated one falls back to the DIV token.
 */
#ifndef QUERY_FLUX_LEXER_H
#define QUERY_FLUX_LEXER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum flux_tok {
    FLUX_T_ILLEGAL = 0,
    FLUX_T_EOF,
    /* keywords */
    FLUX_T_AND,
    FLUX_T_OR,
    FLUX_T_NOT,
    FLUX_T_IMPORT,
    FLUX_T_PACKAGE,
    FLUX_T_RETURN,
    FLUX_T_OPTION,
    FLUX_T_IF,
    FLUX_T_THEN,
    FLUX_T_ELSE,
    FLUX_T_EXISTS,
    /* identifiers and literals */
    FLUX_T_IDENT,
    FLUX_T_INT,
    FLUX_T_FLOAT,
    FLUX_T_STRING,
    FLUX_T_REGEX,
    FLUX_T_TIME,
    FLUX_T_DURATION,
    /* operators */
    FLUX_T_ADD,
    FLUX_T_SUB,
    FLUX_T_MUL,
    FLUX_T_DIV,
    FLUX_T_MOD,
    FLUX_T_POW,
    FLUX_T_EQ,
    FLUX_T_LT,
    FLUX_T_GT,
    FLUX_T_LTE,
    FLUX_T_GTE,
    FLUX_T_NEQ,
    FLUX_T_REGEXEQ,
    FLUX_T_REGEXNEQ,
    FLUX_T_ASSIGN,
    FLUX_T_ARROW,
    FLUX_T_LPAREN,
    FLUX_T_RPAREN,
    FLUX_T_LBRACK,
    FLUX_T_RBRACK,
    FLUX_T_LBRACE,
    FLUX_T_RBRACE,
    FLUX_T_COMMA,
    FLUX_T_DOT,
    FLUX_T_COLON,
    FLUX_T_PIPE_FORWARD,
    FLUX_T_PIPE_RECEIVE,
    FLUX_T_QUESTION_MARK,
    /* string expression tokens */
    FLUX_T_QUOTE,
    FLUX_T_STRINGEXPR, /* ${ */
    FLUX_T_TEXT,
    FLUX_T_COUNT_
} flux_tok;

typedef struct flux_lexpos {
    size_t off;        /* byte offset of the next byte */
    size_t line_start; /* byte offset where the current line starts */
    uint32_t line;     /* 1-based */
} flux_lexpos;

typedef struct flux_token {
    flux_tok tok;
    size_t off, end;            /* source bytes [off, end): the literal text, quotes included */
    uint32_t line, col;         /* 1-based start */
    uint32_t end_line, end_col; /* 1-based position just past the end */
} flux_token;

typedef struct flux_lexer {
    const char *src;
    size_t len; /* up to the first NUL */
    flux_lexpos pos;
} flux_lexer;

void flux_lexer_init(flux_lexer *lx, const char *src, size_t len);
/* Skips whitespace and comments and scans the next token; regex_ok allows /regex/. At the end
 * of input: EOF, with off = end = len. */
void flux_lexer_scan(flux_lexer *lx, flux_token *t, bool regex_ok);
/* Inside a string expression (after its opening QUOTE, or after the RBRACE closing a ${...}):
 * TEXT (one or more characters, escapes unchecked beyond their shape), STRINGEXPR ("${"),
 * QUOTE (the closing quote), EOF, or ILLEGAL (a malformed escape, covering its bytes). */
void flux_lexer_scan_string_part(flux_lexer *lx, flux_token *t);

/* "RPAREN", "IDENT", "PIPE_FORWARD"... as Flux names tokens. */
const char *flux_tok_name(flux_tok t);
/* Keyword token for s[0..n), or FLUX_T_IDENT. */
flux_tok flux_keyword(const char *s, size_t n);
/* True when s can be printed as a bare identifier (and is not a keyword). */
bool flux_is_ident(const char *s);

#endif
