/*
 * volta ask "QUESTION" [--host URL | --data DIR] [--db DB] [--now TIME] [--docs DIR] [--json]
 *           [--llm-url URL --llm-model M]
 *
 * Asks a question in plain language (Portuguese or English; docs/ASK.md). With --host (default
 * http://127.0.0.1:8086) it POSTs {"question": ...} to the server's /query; with --data it
 * answers in-process from a data directory no server holds (the same code: ask/ask.h over
 * iql_run_json). Prints the answer sentence, then the time range, the InfluxQL run and the
 * confidence (or the passages of an operational question); --json prints the server's document.
 * With --data, --llm-url and --llm-model also have the answer phrased by an OpenAI-compatible
 * endpoint (ask/ask_llm.h; key from $VOLTA_LLM_API_KEY); a server uses its own [ask] settings.
 *
 * Exit codes: 0 answered; 1 not understood (422: suggestions are printed), the query failed, or
 * the server could not be reached; 2 bad usage.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ask/ask.h"
#include "ask/ask_llm.h"
#include "ask/ask_node.h"
#include "cli/cli.h"
#include "cli/cli_http.h"
#include "common/timefmt.h"
#include "core/node.h"

static void ask_usage(FILE *out)
{
    fprintf(out,
            "usage: volta ask \"QUESTION\" [--host URL | --data DIR] [--db DB] [--now TIME]\n"
            "                 [--docs DIR] [--json] [--llm-url URL --llm-model M]\n\n"
            "Answers a question about the stored data (generation, load, interchange) or about\n"
            "operating volta, in Portuguese or English. See docs/ASK.md.\n\n"
            "  --host URL   server to ask (default http://127.0.0.1:8086)\n"
            "  --data DIR   answer in-process from a data directory no server is using\n"
            "  --db DB      database (default ons)\n"
            "  --now TIME   RFC3339 instant relative times count from (default: now)\n"
            "  --docs DIR   documentation searched by operational questions (--data only;\n"
            "               default: ../docs or ../../docs next to the executable)\n"
            "  --json       print the answer document as JSON\n"
            "  --llm-url URL, --llm-model M\n"
            "               (--data only) also have the answer phrased by this OpenAI-compatible\n"
            "               endpoint (POST URL/v1/chat/completions; API key from\n"
            "               $VOLTA_LLM_API_KEY); a phrasing with a number that is not volta's\n"
            "               is discarded. Off unless given. A server uses its [ask] settings.\n\n"
            "Exit status: 0 answered; 1 not understood or failed; 2 bad usage.\n");
}

static void print_human(json_t *doc, long status)
{
    const char *answer = json_string_value(json_object_get(doc, "answer"));
    const char *error = json_string_value(json_object_get(doc, "error"));
    if (status != 200 || !answer) {
        fprintf(stderr, "volta ask: %s\n", error ? error : "no answer");
        json_t *cands = json_object_get(doc, "candidates");
        size_t i;
        json_t *v;
        if (json_array_size(cands)) {
            fprintf(stderr, "candidates:\n");
            json_array_foreach(cands, i, v) fprintf(stderr, "  %s\n", json_string_value(v));
        }
        json_t *sug = json_object_get(doc, "suggestions");
        if (json_array_size(sug)) {
            fprintf(stderr, "questions I can answer, for example:\n");
            json_array_foreach(sug, i, v) fprintf(stderr, "  %s\n", json_string_value(v));
        }
        return;
    }
    printf("%s\n", answer);
    json_t *ph = json_object_get(doc, "phrased");
    if (json_is_object(ph)) {
        const char *ptext = json_string_value(json_object_get(ph, "text"));
        if (json_is_true(json_object_get(ph, "accepted")) && ptext)
            printf("\n%s\n(phrased by %s)\n", ptext, json_string_value(json_object_get(ph, "model")));
        else
            fprintf(stderr, "volta ask: phrasing not used: %s\n",
                    json_string_value(json_object_get(ph, "reason")));
    }
    json_t *passages = json_object_get(doc, "passages");
    size_t i;
    json_t *v;
    json_array_foreach(passages, i, v)
    {
        printf("\n[%s — %s]\n%s\n", json_string_value(json_object_get(v, "file")),
               json_string_value(json_object_get(v, "section")),
               json_string_value(json_object_get(v, "text")));
    }
    json_t *tr = json_object_get(doc, "time_range");
    if (json_is_object(tr))
        printf("\ntime range: %s .. %s (%s)\n", json_string_value(json_object_get(tr, "start")),
               json_string_value(json_object_get(tr, "end")),
               json_string_value(json_object_get(tr, "timezone")));
    json_t *iq = json_object_get(doc, "influxql");
    if (json_array_size(iq) && !passages) {
        printf("influxql:\n");
        json_array_foreach(iq, i, v) printf("  %s\n", json_string_value(v));
    }
    json_t *rows = json_object_get(doc, "rows_total");
    if (json_is_integer(rows))
        printf("rows used: %lld\n", (long long)json_integer_value(rows));
    json_t *conf = json_object_get(doc, "confidence");
    if (json_is_number(conf))
        printf("confidence: %.2f\n", json_number_value(conf));
}

int cmd_ask(int argc, char **argv)
{
    static const struct option longopts[] = {{"host", required_argument, NULL, 'H'},
                                             {"data", required_argument, NULL, 'd'},
                                             {"db", required_argument, NULL, 'b'},
                                             {"now", required_argument, NULL, 'n'},
                                             {"docs", required_argument, NULL, 'D'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"llm-url", required_argument, NULL, 'U'},
                                             {"llm-model", required_argument, NULL, 'M'},
                                             {"help", no_argument, NULL, 'h'},
                                             {0}};
    const char *host = NULL, *data = NULL, *db = NULL, *now_s = NULL, *docs = NULL;
    const char *llm_url = NULL, *llm_model = NULL;
    bool as_json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'H': host = optarg; break;
        case 'd': data = optarg; break;
        case 'b': db = optarg; break;
        case 'n': now_s = optarg; break;
        case 'D': docs = optarg; break;
        case 'j': as_json = true; break;
        case 'U': llm_url = optarg; break;
        case 'M': llm_model = optarg; break;
        case 'h': ask_usage(stdout); return 0;
        default: ask_usage(stderr); return 2;
        }
    }
    const char *why = NULL;
    if (argc - optind != 1)
        why = "give the question as one argument (quote it)";
    else if (host && data)
        why = "--host and --data exclude each other";
    else if (docs && !data)
        why = "--docs applies with --data (a server uses its own docs directory)";
    else if ((llm_url || llm_model) && !data)
        why = "--llm-url and --llm-model apply with --data (a server uses its [ask] settings)";
    else if (!llm_url != !llm_model)
        why = "--llm-url and --llm-model go together";
    int64_t now = 0;
    vt_err err;
    vt_err_clear(&err);
    if (!why && now_s && vt_time_parse(now_s, strlen(now_s), NULL, &now, &err) != VT_OK)
        why = "--now takes an RFC3339 time such as 2024-03-14T15:00:00Z";
    if (why) {
        fprintf(stderr, "volta ask: %s\n", why);
        ask_usage(stderr);
        return 2;
    }
    if (llm_url) {
        ask_llm_settings llm = {.url = llm_url, .model = llm_model,
                                .api_key = getenv("VOLTA_LLM_API_KEY")};
        if (ask_llm_configure(&llm, &err) != VT_OK) {
            fprintf(stderr, "volta ask: --llm-url: %s\n", err.msg);
            return 2;
        }
    }
    const char *question = argv[optind];
    vt_buf body;
    vt_buf_init(&body);
    long status = 0;
    if (data) {
        struct stat st;
        if (stat(data, &st) != 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "volta ask: %s: no such data directory\n", data);
            return 1;
        }
        node_options opts;
        node_options_default(&opts);
        opts.engine.background = false;
        opts.journal_trim = false;
        opts.retention = false;
        node *n = NULL;
        vt_rc rc = node_open(data, &opts, &n, NULL, &err);
        if (rc != VT_OK) {
            fprintf(stderr, "volta ask: %s\n",
                    rc == VT_EBUSY ? "the data directory is in use by a running volta; use --host"
                                   : err.msg);
            return 1;
        }
        ask_request ar = {.question = question, .db = db, .now = now, .docs_dir = docs,
                          .run = ask_run_node, .run_ctx = n};
        unsigned ust = 500;
        rc = ask_answer(&ar, &ust, &body, &err);
        status = (long)ust;
        vt_err cerr;
        vt_err_clear(&cerr);
        if (node_close(n, &cerr) != VT_OK)
            fprintf(stderr, "volta ask: closing %s: %s\n", data, cerr.msg);
        if (rc != VT_OK) {
            fprintf(stderr, "volta ask: %s\n", err.msg);
            vt_buf_free(&body);
            return 1;
        }
    } else {
        json_t *req = json_pack("{s:s}", "question", question);
        if (!req) {
            fprintf(stderr, "volta ask: the question is not valid UTF-8\n");
            return 2;
        }
        if (db)
            json_object_set_new(req, "db", json_string(db));
        if (now_s)
            json_object_set_new(req, "now", json_string(now_s));
        char *text = json_dumps(req, JSON_COMPACT);
        json_decref(req);
        char url[2048];
        snprintf(url, sizeof url, "%s/query", host ? host : "http://127.0.0.1:8086");
        char errbuf[512];
        curl_global_init(CURL_GLOBAL_DEFAULT);
        int hrc = text ? cli_http("POST", url, text, strlen(text), "application/json", 120, &body,
                                  &status, errbuf)
                       : -1;
        curl_global_cleanup();
        free(text);
        if (hrc != 0) {
            fprintf(stderr, "volta ask: %s: %s\n", url, text ? errbuf : "out of memory");
            vt_buf_free(&body);
            return 1;
        }
    }
    json_t *doc = json_loadb((const char *)body.data, body.len, 0, NULL);
    if (as_json) {
        fwrite(body.data, 1, body.len, stdout);
    } else if (!doc) {
        fprintf(stderr, "volta ask: unreadable answer (HTTP %ld): %.*s\n", status, (int)body.len,
                (const char *)body.data);
    } else {
        print_human(doc, status);
    }
    json_decref(doc);
    vt_buf_free(&body);
    return status == 200 ? 0 : 1;
}
