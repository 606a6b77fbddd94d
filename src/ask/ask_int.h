/*
 * ask/ask_int.h — what the files of src/ask/ share (and tests/unit/test_ask.c exercises).
 * Not a contract for other modules: use ask/ask.h.
 */
#ifndef ASK_ASK_INT_H
#define ASK_ASK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ask/ask.h"
#include "common/tz.h"

#define ASK_TZ "America/Sao_Paulo"
#define ASK_NS_HOUR (3600LL * 1000000000LL)
#define ASK_MAX_TOKENS 96
#define ASK_TOK_MAX 48
#define ASK_MAX_CORRECTIONS 8

typedef enum ask_lang { ASK_PT = 0, ASK_EN } ask_lang;

/* ---- text (ask_text.c) ---- */

typedef struct ask_tok {
    char s[ASK_TOK_MAX]; /* folded: ASCII lowercase, accents removed */
    bool upper;          /* the original was written in capitals ("SE", "NE") */
    bool used;           /* consumed by an entity */
} ask_tok;

typedef struct ask_correction {
    char from[ASK_TOK_MAX], to[ASK_TOK_MAX];
} ask_correction;

typedef struct ask_text {
    ask_tok t[ASK_MAX_TOKENS];
    size_t n;
    ask_correction corr[ASK_MAX_CORRECTIONS];
    size_t ncorr;
} ask_text;

/* Folds UTF-8 s to ASCII: Latin-1 letters lose their accents (é -> e, ç -> c), other non-ASCII
 * characters become spaces; case is kept. Writes at most cap-1 bytes plus a NUL; returns length. */
size_t ask_fold(const char *s, char *out, size_t cap);
/* Folds and lowercases. */
size_t ask_fold_lower(const char *s, char *out, size_t cap);
/* Splits a question into tokens: letters and digits, joined by '/', '-', ':', '.' or ',' between
 * two of them ("15/03/2024", "centro-oeste", "14:00"); '%' is a token of its own. */
void ask_tokenize(const char *question, ask_text *out);
/* Optimal-string-alignment distance (Damerau: adjacent transposition counts 1), capped at max+1. */
int ask_edit_distance(const char *a, const char *b, int max);
/* Replaces tokens that are not words of the vocabulary but within a small edit distance of exactly
 * one (1 for 4-5 letters, 2 for 6 or more) by that word; records each change in out->corr. */
void ask_correct_typos(ask_text *t);
/* Is w a word of the vocabulary (measures, places, sources, time, aggregations)? */
bool ask_vocab_has(const char *w);
/* Portuguese unless English markers outnumber Portuguese ones. */
ask_lang ask_detect_language(const char *question, const ask_text *t);
/* "12.345,6" (pt) / "12,345.6" (en) with `decimals` decimals. */
void ask_fmt_number(char *out, size_t cap, double v, int decimals, ask_lang lang);

/* ---- time (ask_time.c) ---- */

typedef enum ask_time_kind { ASK_T_NONE = 0, ASK_T_LATEST, ASK_T_RANGE } ask_time_kind;

typedef struct ask_time {
    ask_time_kind kind;
    int64_t start, end; /* [start, end), ns UTC (ASK_T_RANGE) */
    bool single_hour;   /* "às 14h de 10/03/2024": one hourly value */
} ask_time;

/* Finds the time expression among the unused tokens (marks them used). now in ns UTC. */
void ask_time_extract(ask_text *t, int64_t now, const vt_tz *tz, ask_time *out);
/* The first instant (ns UTC) of the local calendar day y-m-d in tz (a day whose midnight falls in
 * a daylight-saving gap starts at 01:00). */
int64_t ask_local_day_start(const vt_tz *tz, int64_t y, unsigned m, unsigned d);
/* Local calendar fields of an instant. */
void ask_local_fields(const vt_tz *tz, int64_t ns, int64_t *y, unsigned *m, unsigned *d,
                      unsigned *hour, unsigned *minute, int *wday /* 0 = Monday */);
/* "2024-03-01T00:00:00-03:00" */
void ask_fmt_local_iso(char *out, size_t cap, const vt_tz *tz, int64_t ns);
/* "01/03/2024 00:00" (pt) or "2024-03-01 00:00" (en) */
void ask_fmt_local_human(char *out, size_t cap, const vt_tz *tz, int64_t ns, ask_lang lang);

/* ---- understanding (ask_understand.c) ---- */

typedef enum ask_measure { ASK_M_NONE = 0, ASK_M_GEN, ASK_M_LOAD, ASK_M_INTER } ask_measure;
typedef enum ask_agg { ASK_AGG_NONE = 0, ASK_AGG_MEAN, ASK_AGG_MAX, ASK_AGG_MIN, ASK_AGG_SUM } ask_agg;
typedef enum ask_gran { ASK_GRAN_NONE = 0, ASK_GRAN_HOUR, ASK_GRAN_DAY } ask_gran;
typedef enum ask_group {
    ASK_G_NONE = 0,
    ASK_G_PLANT,
    ASK_G_SUBSYSTEM,
    ASK_G_SOURCE,
    ASK_G_LINK
} ask_group;

/* Sources: the five plant types, and fuels of thermal plants (matched against tag `fuel`). */
typedef enum ask_source {
    ASK_SRC_HYDRO = 0,
    ASK_SRC_THERMAL,
    ASK_SRC_WIND,
    ASK_SRC_SOLAR,
    ASK_SRC_NUCLEAR,
    ASK_SRC_GAS,
    ASK_SRC_COAL,
    ASK_SRC_BIOMASS,
    ASK_SRC_OIL,
    ASK_SRC_COUNT
} ask_source;
#define ASK_SRC_TYPES 5 /* the first five are plant types */

#define ASK_SUBSYSTEMS 4 /* N, NE, SE, S */
#define ASK_MAX_TAGVALS 4096

/* Tag values stored in the database, fetched with SHOW TAG VALUES (plants, plant types, fuels). */
typedef struct ask_tagvals {
    char **plant;
    size_t nplant;
    char **plant_type;
    size_t nplant_type;
    char **fuel;
    size_t nfuel;
} ask_tagvals;

typedef struct ask_intent {
    ask_lang lang;
    ask_measure measure;
    bool measure_inferred;
    int subsys[ASK_SUBSYSTEMS]; /* indexes (0 N, 1 NE, 2 SE, 3 S) in order of appearance */
    size_t nsubsys;
    bool whole_system; /* "SIN", "Brasil": explicitly all */
    unsigned sources;  /* bit per ask_source */
    const char *plant; /* a stored plant name (points into ask_tagvals) or NULL */
    const char *plant_candidates[8];
    size_t nplant_candidates; /* > 1 without plant: ambiguous */
    ask_agg agg;
    ask_gran gran;
    ask_group group; /* ranking / breakdown / share by */
    int top_n;       /* 0 = every group */
    bool ascending;
    bool share;
    ask_time time;
    bool time_defaulted;
    bool docs;  /* an operational question (no data entity): answered from the docs */
    bool howto; /* "how do I", "como faço": the docs are tried first, then the data */
    double confidence;
} ask_intent;

extern const char *const ask_subsystem_code[ASK_SUBSYSTEMS];

/* Understands question (already tokenised and typo-corrected in t) against the stored tag values
 * tv (may be NULL: no plants, default type names). now in ns UTC. */
void ask_understand(ask_text *t, const char *question, const ask_tagvals *tv, int64_t now,
                    const vt_tz *tz, ask_intent *out);
/* Stored tag values of `key` ("plant_type" or "fuel") that belong to source s. */
size_t ask_source_values(const ask_tagvals *tv, ask_source s, const char **out, size_t cap);

/* ---- planning (ask_plan.c) ---- */

/* The WHERE filter (without time) of the series the intent reads; "" for none. */
void ask_plan_filter(const ask_intent *in, const ask_tagvals *tv, vt_buf *out);
/* The time condition "time >= '...' AND time < '...'" of [start, end). */
void ask_plan_time(int64_t start, int64_t end, vt_buf *out);
/* The InfluxQL of the main query of an intent over [start, end) (NUL-terminated in out). */
void ask_plan_query(const ask_intent *in, const ask_tagvals *tv, int64_t start, int64_t end,
                    vt_buf *out);

/* ---- docs (ask_docs.c) ---- */

typedef struct ask_passage {
    char file[128];
    char section[256];
    char text[1200];
    double score;
} ask_passage;

/* BM25 over the sections of the .md files in dir; the best (up to max) passages for question. Returns how
 * many; 0 when nothing matches or the directory cannot be read (*why says which). */
size_t ask_docs_search(const char *dir, const char *question, ask_passage *out, size_t max,
                       const char **why);

#endif
