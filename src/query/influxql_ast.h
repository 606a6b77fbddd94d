/*
 * query/influxql_ast.h — the syntax tree of an InfluxQL query (InfluxDB 1.x dialect).
 *
 * Produced by influxql_parse (query/influxql_parser.h). Every node and every string lives in
 * the arena passed to the parser: the caller frees the whole tree with one arena_free. Strings
 * are NUL-terminated and never contain NUL (the lexer treats a NUL byte as end of input, as
 * InfluxDB's scanner does). Identifiers are stored unquoted/unescaped.
 *
 * Expressions are tagged unions (influxql_expr.kind). Positions (line, col) are 1-based, as
 * InfluxDB prints them, and point at the token that begins the node.
 *
 * Nothing here is validated semantically (aggregate/raw mixing, GROUP BY time arguments,
 * time-literal parsing, regex syntax): that is the query compiler's job, as in InfluxDB where
 * those checks happen after parsing.
 */
#ifndef QUERY_INFLUXQL_AST_H
#define QUERY_INFLUXQL_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits (see docs/INFLUXQL.md). */
#define INFLUXQL_MAX_QUERY_LEN ((size_t)1 << 20) /* bytes */
#define INFLUXQL_MAX_DEPTH 64                     /* nested (), calls, subqueries */
#define INFLUXQL_MAX_HEIGHT 1024                  /* expression tree height (operator chains) */

typedef enum influxql_op {
    IQL_OP_NONE = 0,
    IQL_OP_ADD,    /* +   precedence 4 */
    IQL_OP_SUB,    /* -   4 */
    IQL_OP_MUL,    /* *   5 */
    IQL_OP_DIV,    /* /   5 */
    IQL_OP_MOD,    /* %   5 */
    IQL_OP_BITAND, /* &   5 */
    IQL_OP_BITOR,  /* |   4 */
    IQL_OP_BITXOR, /* ^   4 */
    IQL_OP_AND,    /* AND 2 */
    IQL_OP_OR,     /* OR  1 */
    IQL_OP_IN,     /* IN  3 */
    IQL_OP_EQ,     /* =   3 */
    IQL_OP_NEQ,    /* !=  3 (also <>) */
    IQL_OP_EQREGEX,  /* =~ 3 */
    IQL_OP_NEQREGEX, /* !~ 3 */
    IQL_OP_LT,     /* <   3 */
    IQL_OP_LTE,    /* <=  3 */
    IQL_OP_GT,     /* >   3 */
    IQL_OP_GTE,    /* >=  3 */
} influxql_op;

/* The type of a cast (`v::float`) or wildcard (`*::tag`). */
typedef enum influxql_datatype {
    IQL_TYPE_UNKNOWN = 0,
    IQL_TYPE_FLOAT,
    IQL_TYPE_INTEGER,
    IQL_TYPE_UNSIGNED,
    IQL_TYPE_STRING,
    IQL_TYPE_BOOLEAN,
    IQL_TYPE_FIELD, /* ::field */
    IQL_TYPE_TAG,   /* ::tag */
} influxql_datatype;

typedef enum influxql_expr_kind {
    IQL_EXPR_VARREF = 1, /* field/tag name: u.ref */
    IQL_EXPR_CALL,       /* name(args): u.call; name lower-cased */
    IQL_EXPR_BINARY,     /* u.bin */
    IQL_EXPR_PAREN,      /* ( u.paren ) */
    IQL_EXPR_STRING,     /* 'x': u.str */
    IQL_EXPR_NUMBER,     /* 1.5: u.num */
    IQL_EXPR_INTEGER,    /* 42: u.integer */
    IQL_EXPR_UNSIGNED,   /* integer literal above INT64_MAX: u.uns */
    IQL_EXPR_BOOLEAN,    /* true/false: u.boolean */
    IQL_EXPR_DURATION,   /* 1h: u.duration (nanoseconds) */
    IQL_EXPR_REGEX,      /* /re/: u.regex (source, with \/ unescaped) */
    IQL_EXPR_WILDCARD,   /* * or *::field / *::tag: u.wildcard */
    IQL_EXPR_DISTINCT,   /* DISTINCT ident (the keyword form): u.distinct */
} influxql_expr_kind;

typedef struct influxql_expr influxql_expr;
struct influxql_expr {
    influxql_expr_kind kind;
    uint32_t line, col;
    uint32_t height; /* 1 for leaves; bounded by INFLUXQL_MAX_HEIGHT */
    union {
        struct {
            char *name; /* segments joined with '.', e.g. "cpu.usage" */
            influxql_datatype type;
        } ref;
        struct {
            char *name;
            influxql_expr **args;
            size_t nargs;
        } call;
        struct {
            influxql_op op;
            influxql_expr *lhs, *rhs;
        } bin;
        influxql_expr *paren;
        char *str;
        double num;
        int64_t integer;
        uint64_t uns;
        bool boolean;
        int64_t duration;
        char *regex;
        influxql_datatype wildcard; /* UNKNOWN, FIELD or TAG */
        char *distinct;
    } u;
};

typedef struct influxql_select influxql_select;

typedef enum influxql_source_kind {
    IQL_SOURCE_MEASUREMENT = 1,
    IQL_SOURCE_SUBQUERY,
} influxql_source_kind;

/* A FROM entry: [db.][rp.](name | /regex/), or (SELECT ...). Empty parts are NULL. */
typedef struct influxql_source {
    influxql_source_kind kind;
    char *db, *rp;
    char *name;  /* NULL when regex is set */
    char *regex; /* NULL when name is set */
    influxql_select *subquery;
} influxql_source;

typedef struct influxql_field {
    influxql_expr *expr;
    char *alias; /* NULL when no AS */
} influxql_field;

typedef enum influxql_fill {
    IQL_FILL_NULL = 0, /* default, and fill(null) */
    IQL_FILL_NONE,
    IQL_FILL_PREVIOUS,
    IQL_FILL_LINEAR,
    IQL_FILL_NUMBER, /* fill_is_int ? fill_int : fill_float */
} influxql_fill;

typedef struct influxql_sort {
    char *name; /* "time" or NULL (ORDER BY ASC|DESC) */
    bool asc;
} influxql_sort;

struct influxql_select {
    influxql_field *fields;
    size_t nfields;
    /* INTO target: into_name NULL with has_into means ":MEASUREMENT" (the source name). */
    bool has_into;
    char *into_db, *into_rp, *into_name;
    influxql_source *sources;
    size_t nsources;
    influxql_expr *where;     /* NULL when absent */
    influxql_expr **dims;     /* GROUP BY entries: calls (time(...)), varrefs, regexes, * */
    size_t ndims;
    influxql_fill fill;
    bool fill_is_int;
    int64_t fill_int;
    double fill_float;
    influxql_sort *sort; /* ORDER BY: at most one entry (InfluxDB only sorts by time) */
    size_t nsort;
    int64_t limit, offset, slimit, soffset; /* 0 = absent */
    char *tz;                               /* tz('...') or NULL */
    bool is_raw;                            /* no function call among the fields */
};

/* SHOW TAG KEYS/VALUES ... WITH KEY <op> ... */
typedef enum influxql_keyop {
    IQL_KEY_NONE = 0,
    IQL_KEY_EQ,       /* = key       keys[0] */
    IQL_KEY_NEQ,      /* != key      keys[0] */
    IQL_KEY_EQREGEX,  /* =~ /re/     regex */
    IQL_KEY_NEQREGEX, /* !~ /re/     regex */
    IQL_KEY_IN,       /* IN (k, ...) keys */
} influxql_keyop;

/* The clauses shared by the SHOW statements; each kind uses the subset its grammar allows. */
typedef struct influxql_show {
    char *db;                 /* ON db, or NULL */
    char *rp;                 /* SHOW MEASUREMENTS ON db.rp */
    bool db_wildcard, rp_wildcard; /* SHOW MEASUREMENTS ON *.* */
    influxql_source *with_measurement; /* SHOW MEASUREMENTS WITH MEASUREMENT =|=~ ... */
    influxql_source *sources;
    size_t nsources;
    influxql_keyop key_op;
    char **keys;
    size_t nkeys;
    char *key_regex;
    influxql_expr *where;
    influxql_sort *sort;
    size_t nsort;
    int64_t limit, offset, slimit, soffset;
} influxql_show;

/* CREATE DATABASE ... WITH, CREATE/ALTER/DROP RETENTION POLICY. Durations in ns; 0 = INF. */
typedef struct influxql_rp_spec {
    char *name; /* the policy (CREATE DATABASE: WITH NAME, or NULL) */
    char *db;   /* CREATE/ALTER/DROP RP: ON db; CREATE DATABASE: the database */
    bool has_with; /* CREATE DATABASE: a WITH clause is present */
    bool has_duration;
    int64_t duration;
    bool has_replication;
    int replication;
    bool has_shard_duration;
    int64_t shard_duration;
    bool is_default;
} influxql_rp_spec;

typedef enum influxql_stmt_kind {
    IQL_STMT_SELECT = 1,
    IQL_STMT_EXPLAIN,
    IQL_STMT_SHOW_DATABASES,
    IQL_STMT_SHOW_MEASUREMENTS,
    IQL_STMT_SHOW_TAG_KEYS,
    IQL_STMT_SHOW_TAG_VALUES,
    IQL_STMT_SHOW_FIELD_KEYS,
    IQL_STMT_SHOW_SERIES,
    IQL_STMT_SHOW_RETENTION_POLICIES,
    IQL_STMT_CREATE_DATABASE,
    IQL_STMT_DROP_DATABASE,
    IQL_STMT_CREATE_RETENTION_POLICY,
    IQL_STMT_ALTER_RETENTION_POLICY,
    IQL_STMT_DROP_RETENTION_POLICY,
    IQL_STMT_DELETE,
    IQL_STMT_DROP_SERIES,
    IQL_STMT_DROP_MEASUREMENT,
    /* A statement InfluxDB knows but volta does not model (SHOW USERS, GRANT, KILL QUERY,
     * SHOW ... CARDINALITY, continuous queries, ...): u.other.keyword names it ("SHOW USERS"),
     * u.other.text is its source text, trimmed. The executor answers "not supported". */
    IQL_STMT_OTHER,
} influxql_stmt_kind;

typedef struct influxql_stmt {
    influxql_stmt_kind kind;
    uint32_t line, col;
    union {
        influxql_select *select; /* SELECT */
        struct {
            influxql_select *select;
            bool analyze, verbose;
        } explain;
        influxql_show show;  /* SHOW_* (SHOW DATABASES uses none of it) */
        influxql_rp_spec rp; /* CREATE DATABASE (rp.db = name), *_RETENTION_POLICY */
        struct {
            influxql_source *sources;
            size_t nsources;
            influxql_expr *where;
        } del;     /* DELETE, DROP SERIES */
        char *name; /* DROP DATABASE, DROP MEASUREMENT */
        struct {
            char *keyword;
            char *text;
        } other;
    } u;
} influxql_stmt;

typedef struct influxql_query {
    influxql_stmt **stmts;
    size_t nstmts;
} influxql_query;

#endif
