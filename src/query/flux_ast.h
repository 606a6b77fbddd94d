/*
 * query/flux_ast.h — the syntax tree of a Flux program (the subset volta serves on
 * /api/v2/query; grammar in docs/FLUX.md, after the Flux language spec).
 *
 * Produced by flux_parse (query/flux_parser.h). Every node and every string lives in the arena
 * given to the parser: the caller frees the whole tree with one arena_free. Strings are
 * NUL-terminated and never contain NUL (the source is read up to its first NUL byte, and the
 * escape \x00 is rejected). Identifiers and string values are stored unquoted/unescaped.
 *
 * One node type (flux_node) for the file, statements and expressions: a tagged union on kind.
 * Positions are 1-based; columns count bytes, as Flux's scanner does. (line, col) is the first
 * byte of the node, (end_line, end_col) the position just after its last byte.
 *
 * Invariants kept by the parser:
 *   - height is 1 for leaves and 1 + the tallest child otherwise, never above FLUX_MAX_HEIGHT,
 *     so recursive walkers (printer, executor) have a bounded stack;
 *   - PAREN nodes are kept where the source had parentheses (the printer reproduces them; it
 *     adds none), so the tree's shape is exactly the source's;
 *   - PIPE.call is always a CALL node; CALL arguments are the properties of Flux's single
 *     record argument (f(a: 1, b) has two, the second a shorthand with value NULL);
 *   - DURATION keeps its (magnitude, unit) parts as written ("1h30m" has two parts; "1mo" and
 *     "1y" are calendar units and cannot be reduced to nanoseconds without a date);
 *   - DATETIME keeps the instant (UTC seconds + nanoseconds) and the written offset.
 *
 * Nothing here is checked semantically (unknown functions, types, duplicate keys, regex
 * syntax): that is the executor's job, as in Flux where those checks follow parsing.
 */
#ifndef QUERY_FLUX_AST_H
#define QUERY_FLUX_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits (see docs/FLUX.md). */
#define FLUX_MAX_SRC_LEN ((size_t)1 << 20) /* bytes */
#define FLUX_MAX_DEPTH 128                  /* nested (), [], {}, calls, functions, if, unary */
#define FLUX_MAX_HEIGHT 1024                /* node height (operator and pipe chains) */

typedef enum flux_node_kind {
    FLUX_NODE_FILE = 1, /* u.file */
    /* statements */
    FLUX_STMT_EXPR,   /* u.expr */
    FLUX_STMT_VAR,    /* name = init: u.assign (member NULL) */
    FLUX_STMT_OPTION, /* option name[.member] = init: u.assign */
    FLUX_STMT_RETURN, /* return u.expr */
    /* expressions */
    FLUX_EXPR_IDENT,    /* u.ident (true/false are identifiers, as in Flux) */
    FLUX_EXPR_INT,      /* u.integer */
    FLUX_EXPR_FLOAT,    /* u.flt (finite) */
    FLUX_EXPR_STRING,   /* u.str */
    FLUX_EXPR_STRING_INTERP, /* "a ${x} b": u.interp */
    FLUX_EXPR_DURATION, /* 1h30m: u.duration */
    FLUX_EXPR_DATETIME, /* 2019-01-01T00:00:00Z: u.datetime */
    FLUX_EXPR_REGEX,    /* /re/: u.regex (the pattern, \/ unescaped to /) */
    FLUX_EXPR_PIPE_LIT, /* <- (a parameter default) */
    FLUX_EXPR_ARRAY,    /* [a, b]: u.array */
    FLUX_EXPR_DICT,     /* [k: v] / [:]: u.dict */
    FLUX_EXPR_RECORD,   /* {a: 1, b} / {r with a: 1}: u.record */
    FLUX_EXPR_MEMBER,   /* r.a / r["a"]: u.member */
    FLUX_EXPR_INDEX,    /* a[i]: u.index */
    FLUX_EXPR_CALL,     /* f(a: 1): u.call */
    FLUX_EXPR_PIPE,     /* x |> f(): u.pipe */
    FLUX_EXPR_FUNCTION, /* (r) => expr / (r) => { stmts }: u.fn */
    FLUX_EXPR_UNARY,    /* -x, +x, not x, exists x: u.unary */
    FLUX_EXPR_BINARY,   /* arithmetic and comparisons: u.binary */
    FLUX_EXPR_LOGICAL,  /* and / or: u.binary */
    FLUX_EXPR_CONDITIONAL, /* if t then c else a: u.cond */
    FLUX_EXPR_PAREN,    /* ( u.expr ) */
} flux_node_kind;

typedef enum flux_op {
    FLUX_OP_NONE = 0,
    FLUX_OP_ADD,      /* +  (binary; unary plus) */
    FLUX_OP_SUB,      /* -  (binary; unary minus) */
    FLUX_OP_MUL,      /* *  */
    FLUX_OP_DIV,      /* /  */
    FLUX_OP_MOD,      /* %  */
    FLUX_OP_POW,      /* ^  */
    FLUX_OP_EQ,       /* == */
    FLUX_OP_NEQ,      /* != */
    FLUX_OP_LT,       /* <  */
    FLUX_OP_LTE,      /* <= */
    FLUX_OP_GT,       /* >  */
    FLUX_OP_GTE,      /* >= */
    FLUX_OP_REGEXEQ,  /* =~ */
    FLUX_OP_REGEXNEQ, /* !~ */
    FLUX_OP_AND,      /* and (LOGICAL) */
    FLUX_OP_OR,       /* or  (LOGICAL) */
    FLUX_OP_NOT,      /* not (UNARY) */
    FLUX_OP_EXISTS,   /* exists (UNARY) */
} flux_op;

typedef enum flux_duration_unit {
    FLUX_DUR_NS = 0,
    FLUX_DUR_US, /* "us", also written "µs" (printed "us") */
    FLUX_DUR_MS,
    FLUX_DUR_S,
    FLUX_DUR_M,
    FLUX_DUR_H,
    FLUX_DUR_D,
    FLUX_DUR_W,
    FLUX_DUR_MO, /* calendar month */
    FLUX_DUR_Y,  /* calendar year (12 months) */
} flux_duration_unit;

typedef struct flux_node flux_node;
/* A parsed file is the FLUX_NODE_FILE node. */
typedef struct flux_node flux_file;

/* A record property, call argument or function parameter: key[: value] (parameters:
 * name[=default]). value is NULL for the shorthand {a} / f(a) / a parameter without default. */
typedef struct flux_property {
    char *key;
    bool key_is_string; /* written "a b": 1 (records and calls only) */
    flux_node *value;
    uint32_t line, col;
} flux_property;

typedef struct flux_import {
    char *alias; /* import alias "path"; NULL when absent */
    char *path;
    uint32_t line, col;
} flux_import;

typedef struct flux_duration_part {
    int64_t magnitude; /* >= 0 */
    flux_duration_unit unit;
} flux_duration_part;

/* A piece of an interpolated string: text (expr NULL) or ${expr} (text NULL). */
typedef struct flux_string_part {
    char *text;
    flux_node *expr;
} flux_string_part;

struct flux_node {
    flux_node_kind kind;
    uint32_t line, col;         /* first byte, 1-based */
    uint32_t end_line, end_col; /* just past the last byte */
    uint32_t height;
    union {
        struct {
            char *package; /* package clause, or NULL */
            flux_import *imports;
            size_t nimports;
            flux_node **body;
            size_t nbody;
        } file;
        struct {
            char *name;
            char *member; /* option a.b = ...: "b"; NULL otherwise */
            flux_node *init;
        } assign;
        flux_node *expr; /* STMT_EXPR, STMT_RETURN, PAREN */
        char *ident;
        int64_t integer;
        double flt;
        char *str;
        struct {
            flux_string_part *parts;
            size_t nparts;
        } interp;
        struct {
            flux_duration_part *parts;
            size_t nparts; /* >= 1 */
        } duration;
        struct {
            int64_t secs;       /* seconds since 1970-01-01T00:00:00Z */
            uint32_t nsecs;     /* 0..999999999 */
            int32_t offset_min; /* the written UTC offset in minutes (Z = 0) */
        } datetime;
        char *regex;
        struct {
            flux_node **elems;
            size_t n;
        } array;
        struct {
            flux_node **keys, **values;
            size_t n; /* 0 for [:] */
        } dict;
        struct {
            char *with; /* {with_ident with ...}, or NULL */
            flux_property *props;
            size_t nprops;
        } record;
        struct {
            flux_node *object;
            char *property;
            bool bracket; /* written r["a"] */
        } member;
        struct {
            flux_node *object, *index;
        } index;
        struct {
            flux_node *callee;
            flux_property *args;
            size_t nargs;
        } call;
        struct {
            flux_node *arg;
            flux_node *call; /* a FLUX_EXPR_CALL */
        } pipe;
        struct {
            flux_property *params;
            size_t nparams;
            bool is_block;   /* body is { stmts } */
            flux_node *expr; /* expression body (is_block false) */
            flux_node **body; /* block statements (is_block true) */
            size_t nbody;
        } fn;
        struct {
            flux_op op; /* ADD, SUB, NOT, EXISTS */
            flux_node *arg;
        } unary;
        struct {
            flux_op op;
            flux_node *lhs, *rhs;
        } binary;
        struct {
            flux_node *test, *cons, *alt;
        } cond;
    } u;
};

#endif
