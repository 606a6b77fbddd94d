/*
 * ask/ask_llm.h — optional phrasing of an answer by an OpenAI-compatible language model.
 *
 * Off by default: nothing is sent anywhere until ask_llm_configure is given a url. When it is,
 * every 200 answer of ask_answer (data or docs) is sent to {url}/v1/chat/completions with the
 * question, volta's deterministic sentence and the rows / values / passages it used; the model's
 * text comes back in the answer's "phrased" member. "answer", "value", "values" and "rows" are
 * never changed. A phrasing is accepted only when every number in it is one of the numbers volta
 * sent (ask_llm_numbers_ok); otherwise, and on a timeout or an HTTP error, "phrased" says why
 * and holds no text. docs/ASK.md, "Phrasing by a language model".
 */
#ifndef ASK_ASK_LLM_H
#define ASK_ASK_LLM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

#define ASK_LLM_DEFAULT_TIMEOUT_MS 10000u

typedef struct ask_llm_settings {
    const char *url;     /* "http://127.0.0.1:11434", "https://api.openai.com"; NULL or "" = off */
    const char *model;   /* required with url */
    const char *api_key; /* NULL or "" = no Authorization header */
    unsigned timeout_ms; /* the whole request; 0 = ASK_LLM_DEFAULT_TIMEOUT_MS */
} ask_llm_settings;

/* Sets the process-wide endpoint (the strings are copied). s NULL or an empty url turns phrasing
 * off. Refuses (VT_EINVAL, naming the setting) a url that is not http(s):// or a url without a
 * model. Call it before serving (it initialises libcurl); later calls are thread-safe. */
vt_rc ask_llm_configure(const ask_llm_settings *s, vt_err *err);

/* Is an endpoint configured? */
bool ask_llm_enabled(void);

/* When an endpoint is configured, asks it to phrase the 200 answer document doc (ask_answer's:
 * "question", "language", "answer", "values", "rows", "passages") and adds
 * "phrased": {"text", "model", "accepted", "reason"} to doc. Changes nothing else in doc, never
 * fails: a failure is an accepted=false "phrased". Blocks for at most the configured timeout. */
void ask_llm_phrase(json_t *doc);

/* The number guard: true when every number written in text also appears in reference, read in
 * either convention (1.234,5 or 1,234.5 or 1234.5), signs ignored, a number of text with d
 * decimals matching a reference number that rounds to it at d decimals (12.617,2 or 12.617 for
 * 12617.213). Dates and times count digit group by group (15/03/2024 is 15, 03 and 2024).
 * Otherwise false, and the first offending number (as written in text) is copied to bad. */
bool ask_llm_numbers_ok(const char *text, const char *reference, char *bad, size_t cap);

#endif
