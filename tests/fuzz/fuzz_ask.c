/*
 * libFuzzer target for ask/ (questions in plain language). The input is a question; it runs
 * through the whole pipeline (normalise, understand, plan, answer) with an executor that checks
 * every InfluxQL text the planner produces parses with volta's own parser, and answers from a
 * small fixed data set (two plants, one hour), so the aggregation and answer-writing paths run
 * too. The answer must be a JSON object with a known status; a 200 must carry "answer" and
 * "language". Aborts otherwise.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ask/ask.h"
#include "query/arena.h"
#include "query/influxql_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_ask: %s\n  %s\n", what, detail ? detail : "");
    abort();
}

static const char TAGS_PLANT[] =
    "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"generation\",\"columns\":"
    "[\"key\",\"value\"],\"values\":[[\"plant\",\"ITAIPU\"],[\"plant\",\"TUCURUI\"]]}]}]}";
static const char TAGS_TYPE[] =
    "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"generation\",\"columns\":"
    "[\"key\",\"value\"],\"values\":[[\"plant_type\",\"hydro\"],[\"plant_type\",\"wind\"]]}]}]}";
static const char ROWS[] =
    "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"generation\",\"tags\":"
    "{\"plant\":\"ITAIPU\",\"subsystem\":\"S\",\"plant_type\":\"hydro\"},\"columns\":"
    "[\"time\",\"value\"],\"values\":[[1700000000000000000,1200.5],[1700003600000000000,"
    "1180.25]]}]}]}";

static vt_rc run(void *ctx, const char *db, const char *influxql, char **json_out, vt_err *err)
{
    (void)ctx;
    (void)db;
    arena *a = arena_new(0);
    if (!a)
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    influxql_query *q = NULL;
    influxql_error perr;
    vt_rc rc = influxql_parse(a, influxql, strlen(influxql), NULL, &q, &perr);
    if (rc == VT_EPARSE)
        die("the planner wrote InfluxQL volta does not parse", influxql);
    arena_free(a);
    const char *canned = strstr(influxql, "SHOW TAG VALUES")
                             ? (strstr(influxql, "plant_type") ? TAGS_TYPE : TAGS_PLANT)
                             : ROWS;
    *json_out = strdup(canned);
    return *json_out ? VT_OK : vt_err_set(err, VT_ENOMEM, "out of memory");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > ASK_MAX_QUESTION + 16)
        return 0;
    char *question = malloc(size + 1);
    if (!question)
        return 0;
    memcpy(question, data, size);
    question[size] = '\0';
    ask_request rq = {.question = question,
                      .db = "ons",
                      .now = 1700007200000000000LL,
                      .docs_dir = "/nonexistent-volta-docs",
                      .run = run};
    unsigned status = 0;
    vt_buf out;
    vt_buf_init(&out);
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = ask_answer(&rq, &status, &out, &err);
    if (rc == VT_OK && !out.oom) {
        json_error_t jerr;
        json_t *doc = json_loadb((const char *)out.data, out.len, 0, &jerr);
        if (!doc || !json_is_object(doc))
            die("the answer is not a JSON object", vt_buf_cstr(&out));
        if (status != 200 && status != 400 && status != 404 && status != 422 && status != 500 &&
            status != 502)
            die("unexpected status", vt_buf_cstr(&out));
        if (status == 200 && (!json_is_string(json_object_get(doc, "language")) ||
                              !json_object_get(doc, "answer")))
            die("a 200 without answer or language", vt_buf_cstr(&out));
        json_decref(doc);
    }
    vt_buf_free(&out);
    free(question);
    return 0;
}
