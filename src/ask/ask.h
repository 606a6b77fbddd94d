/*
 * ask/ask.h — questions in plain language (Portuguese and English) answered from the data.
 *
 * "Qual é a geração de energia atual?", "peak load in the Southeast last week", "top 5 usinas em
 * março de 2024", "como faço rollback?". The pipeline is deterministic and documented in
 * docs/ASK.md:
 *
 *     question -> normalise (fold accents, lowercase, correct small typos against the vocabulary)
 *              -> understand (measure, subsystems, sources, plant, time range in Brasília time,
 *                 aggregation, ranking / share)          [plant and source names are matched
 *                                                          against stored tag values]
 *              -> plan InfluxQL -> run it (a callback) -> aggregate -> answer sentence + JSON
 *     question with no data entity -> BM25 over the docs' sections -> passages
 *     neither -> 422 with suggestions (never an invented number)
 *
 * The executor is a callback returning InfluxDB 1.x JSON, so the same code answers from the node
 * in-process (iql_run_json), a remote server, or a backup backend.
 */
#ifndef ASK_ASK_H
#define ASK_ASK_H

#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"

/* Runs one InfluxQL query on database db; *json_out receives InfluxDB 1.x's JSON response
 * (malloc'd, the caller frees it). Statement errors may be inside the JSON. */
typedef vt_rc (*ask_run_fn)(void *ctx, const char *db, const char *influxql, char **json_out,
                            vt_err *err);

typedef struct ask_request {
    const char *question;
    const char *db;       /* NULL or "" = ASK_DEFAULT_DB */
    int64_t now;          /* "now" for relative times, ns since the epoch; 0 = the wall clock */
    const char *docs_dir; /* NULL = ask_docs_dir() */
    ask_run_fn run;
    void *run_ctx;
} ask_request;

#define ASK_DEFAULT_DB "ons"
#define ASK_MAX_QUESTION 2000 /* bytes */

/* Answers rq. *status is the HTTP status of the answer: 200 (answered, or no data in the range:
 * then "value" is null), 422 (not understood: "suggestions"), 400 (empty/too long question),
 * 404 (database not found) or 500/502 (the query failed). out receives the JSON document (the
 * response body, documented in docs/ASK.md) in every case. Returns VT_OK unless memory ran out. */
vt_rc ask_answer(const ask_request *rq, unsigned *status, vt_buf *out, vt_err *err);

/* The docs directory used when a request names none: the one set with ask_docs_set_dir, else
 * $VOLTA_DOCS_DIR, else <exe dir>/../docs, <exe dir>/../../docs, <exe dir>/../share/doc/volta
 * (the first that holds .md files), else "docs". Returns a static string. */
const char *ask_docs_dir(void);
/* Sets the process-wide docs directory (copied). Thread-safe; call before serving. */
void ask_docs_set_dir(const char *dir);

#endif
