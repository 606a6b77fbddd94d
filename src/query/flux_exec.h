/*
 * query/flux_exec.h — runs a Flux program (the subset of docs/FLUX.md) over the native engine
 * and writes the result as InfluxDB 2.x annotated CSV (the body of POST /api/v2/query).
 *
 *   flux_exec_options o;
 *   flux_exec_options_default(&o);           // header on, no annotations, now = wall clock
 *   o.annotations = FLUX_ANN_GROUP | ...;    // in the order of o.ann_order (the request's)
 *   flux_exec_error fe;
 *   vt_buf out; vt_buf_init(&out);
 *   if (flux_exec_run(eng, src, len, &o, &out, &fe) != VT_OK)
 *       reply fe.http_status {"code": fe.code, "message": fe.msg};
 *   else reply 200 text/csv; charset=utf-8 with out
 *
 * Errors (fe): parse errors and compile-time checks (unknown identifiers, missing or badly typed
 * arguments) are 400 "invalid" with "compilation failed: error @L:C-L:C: ..." as libflux words
 * them; a missing bucket is 404 "not found" ("failed to initialize execute state: could not
 * find bucket \"x\""); runtime failures of a call are 400 "invalid" ("error calling function
 * \"name\" @L:C-L:C: ..."); storage failures 500 "internal error". On failure out holds
 * nothing useful (the whole response is built before it is sent, so an error always becomes an
 * HTTP error, never a trailing error table).
 *
 * Thread safety: no shared state; each call owns its memory (an arena freed before return).
 */
#ifndef QUERY_FLUX_EXEC_H
#define QUERY_FLUX_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "engine/engine.h"

/* Annotation rows of the dialect ("annotations": ["group", "datatype", "default"]). */
typedef enum flux_annotation {
    FLUX_ANN_GROUP = 1,
    FLUX_ANN_DATATYPE = 2,
    FLUX_ANN_DEFAULT = 4,
} flux_annotation;

typedef struct flux_exec_options {
    int64_t now_ns;        /* now() for relative ranges; 0 = the wall clock */
    bool header;           /* the header row (default true) */
    char delimiter;        /* default ',' */
    unsigned nann;         /* annotation rows, written in this order */
    flux_annotation ann[3];
    size_t max_bytes;      /* memory budget of the query's arena; 0 = unlimited */
} flux_exec_options;

typedef struct flux_exec_error {
    vt_rc rc;
    int http_status;   /* 400, 404, 413, 500 */
    const char *code;  /* "invalid", "not found", "request too large", "internal error" */
    char msg[VT_ERR_MSG_MAX];
} flux_exec_error;

void flux_exec_options_default(flux_exec_options *o);

/* Parses, compiles and runs src[0..len) against e; appends the annotated CSV to out. */
vt_rc flux_exec_run(engine *e, const char *src, size_t len, const flux_exec_options *o,
                    vt_buf *out, flux_exec_error *err);

#endif
