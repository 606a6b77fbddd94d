/*
 * ask/ask_llm.c — optional phrasing of answers by an OpenAI-compatible endpoint (ask/ask_llm.h).
 *
 * NOTES ON THE DESIGN
 *  1. Off by default. Nothing leaves the process unless ask_llm_configure was given a url
 *     (`[ask] url` in the server's config, `volta ask --llm-url`). The settings are one
 *     process-wide copy behind a mutex; each request takes a snapshot of them.
 *  2. The numbers stay volta's. The model sees one user message: the question, volta's sentence,
 *     and the values / rows (at most ASK_LLM_MAX_VALUES and ASK_LLM_MAX_ROWS) or passages the
 *     sentence came from. The numbers of that message are the reference: a phrasing is accepted
 *     only when every number it writes is one of them (rounding allowed, below). "answer",
 *     "value", "values" and "rows" of the document are never touched; the phrasing goes to
 *     "phrased", with no text when it is refused.
 *  3. Reading numbers. A number is a run of digits, with '.' or ',' inside it when a digit follows
 *     (a sentence's final period is not part of it); any other character ends it, so dates and
 *     times count group by group (2024-03-15 is 2024, 03, 15) and a sign is ignored. Its value:
 *       - no separator: the integer;
 *       - both separators: the last one is the decimal mark, the others group thousands
 *         (1.234,5 and 1,234.5 are both 1234.5);
 *       - one separator once: a decimal mark (12,6 -> 12.6) or, when it is followed by exactly
 *         three digits and preceded by one to three, also a thousands separator (1.234 -> 1.234
 *         or 1234: either matches);
 *       - one separator several times: thousands groups when the groups are 1-3 then 3 digits
 *         (1.234.567), otherwise each group is a number of its own (15.03.2024).
 *     A model's number written with d decimals matches a reference number r when it is within
 *     half a unit of its last digit of |r| (12.617,2 and 12.617 both match 12617.213; 12,6
 *     matches 12.6 but not 12.7). Numbers longer than 40 characters must appear verbatim.
 *  4. Never blocking the answer: the request has a total timeout (default 10 s; CURLOPT_NOSIGNAL
 *     for threads), the response is capped at 1 MiB, and every failure becomes
 *     "phrased": {"accepted": false, "reason": ...}.
 */
#include "ask/ask_llm.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

#define ASK_LLM_MAX_ROWS 200
#define ASK_LLM_MAX_VALUES 50
#define ASK_LLM_MAX_RESPONSE (1u << 20)
#define ASK_LLM_MAX_TEXT 4000
#define ASK_LLM_LONG_NUMBER 40

/* ---- settings ---- */

typedef struct llm_settings {
    char url[1024];
    char model[256];
    char api_key[512];
    unsigned timeout_ms;
} llm_settings;

static pthread_mutex_t llm_mu = PTHREAD_MUTEX_INITIALIZER;
static llm_settings llm_set;
static pthread_once_t llm_curl_once = PTHREAD_ONCE_INIT;
static CURLcode llm_curl_rc = CURLE_OK;

static void llm_curl_init(void)
{
    llm_curl_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

vt_rc ask_llm_configure(const ask_llm_settings *s, vt_err *err)
{
    llm_settings n;
    memset(&n, 0, sizeof n);
    if (s && s->url && s->url[0]) {
        if (strncmp(s->url, "http://", 7) != 0 && strncmp(s->url, "https://", 8) != 0)
            return vt_err_set(err, VT_EINVAL, "ask url \"%s\" must start with http:// or https://",
                              s->url);
        if (!s->model || !s->model[0])
            return vt_err_set(err, VT_EINVAL, "ask url %s is set but no model: name the model "
                                              "to ask (e.g. llama3.1, gpt-4o-mini)", s->url);
        if (strlen(s->url) >= sizeof n.url || strlen(s->model) >= sizeof n.model ||
            (s->api_key && strlen(s->api_key) >= sizeof n.api_key))
            return vt_err_set(err, VT_EINVAL, "ask url, model or api key too long");
        snprintf(n.url, sizeof n.url, "%s", s->url);
        size_t len = strlen(n.url);
        while (len > 0 && n.url[len - 1] == '/')
            n.url[--len] = '\0';
        snprintf(n.model, sizeof n.model, "%s", s->model);
        snprintf(n.api_key, sizeof n.api_key, "%s", s->api_key ? s->api_key : "");
        n.timeout_ms = s->timeout_ms ? s->timeout_ms : ASK_LLM_DEFAULT_TIMEOUT_MS;
        pthread_once(&llm_curl_once, llm_curl_init);
        if (llm_curl_rc != CURLE_OK)
            return vt_err_set(err, VT_EIO, "curl_global_init: %s", curl_easy_strerror(llm_curl_rc));
    }
    pthread_mutex_lock(&llm_mu);
    llm_set = n;
    pthread_mutex_unlock(&llm_mu);
    return VT_OK;
}

bool ask_llm_enabled(void)
{
    pthread_mutex_lock(&llm_mu);
    bool on = llm_set.url[0] != '\0';
    pthread_mutex_unlock(&llm_mu);
    return on;
}

/* ---- the number guard ---- */

typedef struct llm_num {
    double v[2]; /* interpretations (either may match) */
    int dec[2];  /* decimals written */
    int n;
} llm_num;

typedef struct llm_refs {
    double *v;
    size_t n, cap;
    bool oom;
} llm_refs;

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The end of the number starting at s[i] (a digit). */
static size_t number_end(const char *s, size_t i)
{
    while (is_digit(s[i]) || ((s[i] == '.' || s[i] == ',') && is_digit(s[i + 1])))
        i++;
    return i;
}

/* The value of digits with the separators in `skip` removed and `dec` read as the decimal mark. */
static double digits_value(const char *s, size_t len, char skip, char dec, int *decimals)
{
    char buf[ASK_LLM_LONG_NUMBER + 2];
    size_t o = 0;
    int d = -1;
    for (size_t i = 0; i < len && o + 1 < sizeof buf; i++) {
        if (s[i] == skip)
            continue;
        if (s[i] == dec) {
            buf[o++] = '.';
            d = 0;
            continue;
        }
        buf[o++] = s[i];
        if (d >= 0)
            d++;
    }
    buf[o] = '\0';
    *decimals = d < 0 ? 0 : d;
    return strtod(buf, NULL);
}

/* Are the groups of s (split at sep) 1-3 digits, then exactly 3 each? */
static bool thousands_groups(const char *s, size_t len, char sep)
{
    size_t group = 0, ngroups = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == sep) {
            if (group == 0 || group > 3 || (ngroups > 0 && group != 3))
                return false;
            ngroups++;
            group = 0;
        } else {
            group++;
        }
    }
    return ngroups > 1;
}

/* Reads the number s[0..len) into out (several when it is a list of groups); returns how many
 * (at most max). */
static size_t read_number(const char *s, size_t len, llm_num *out, size_t max)
{
    size_t dots = 0, commas = 0, last = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.' || s[i] == ',') {
            dots += s[i] == '.';
            commas += s[i] == ',';
            last = i;
        }
    }
    memset(out, 0, sizeof *out);
    if (dots + commas == 0) {
        out->v[0] = digits_value(s, len, 0, 0, &out->dec[0]);
        out->n = 1;
        return 1;
    }
    char lastc = s[last];
    char other = lastc == '.' ? ',' : '.';
    size_t nlast = lastc == '.' ? dots : commas;
    if (dots && commas) {
        if (nlast == 1 && thousands_groups(s, last, other)) {
            out->v[0] = digits_value(s, len, other, lastc, &out->dec[0]);
            out->n = 1;
            return 1;
        }
    } else if (nlast == 1) {
        out->v[0] = digits_value(s, len, 0, lastc, &out->dec[0]);
        out->n = 1;
        if (thousands_groups(s, len, lastc)) {
            out->v[1] = digits_value(s, len, lastc, 0, &out->dec[1]);
            out->n = 2;
        }
        return 1;
    } else if (thousands_groups(s, len, lastc)) {
        out->v[0] = digits_value(s, len, lastc, 0, &out->dec[0]);
        out->n = 1;
        return 1;
    }
    /* a list of groups: 15.03.2024, 1,2,3 */
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= len && k < max; i++) {
        if (i == len || s[i] == '.' || s[i] == ',') {
            memset(&out[k], 0, sizeof out[k]);
            out[k].v[0] = digits_value(s + start, i - start, 0, 0, &out[k].dec[0]);
            out[k].n = 1;
            k++;
            start = i + 1;
        }
    }
    return k;
}

static void refs_add(llm_refs *r, double v)
{
    if (r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 256;
        double *nv = realloc(r->v, nc * sizeof *nv);
        if (!nv) {
            r->oom = true;
            return;
        }
        r->v = nv;
        r->cap = nc;
    }
    r->v[r->n++] = v;
}

static void refs_read(const char *text, llm_refs *r)
{
    for (size_t i = 0; text[i];) {
        if (!is_digit(text[i])) {
            i++;
            continue;
        }
        size_t end = number_end(text, i);
        llm_num nums[16];
        size_t k = end - i <= ASK_LLM_LONG_NUMBER ? read_number(text + i, end - i, nums, 16) : 0;
        for (size_t j = 0; j < k; j++)
            for (int a = 0; a < nums[j].n; a++)
                refs_add(r, nums[j].v[a]);
        i = end;
    }
}

static bool num_matches(const llm_num *m, const llm_refs *r)
{
    for (int a = 0; a < m->n; a++) {
        double half = 0.5 * pow(10.0, -m->dec[a]);
        for (size_t i = 0; i < r->n; i++) {
            double ref = fabs(r->v[i]);
            if (fabs(m->v[a] - ref) <= half + 1e-9 * (ref > 1 ? ref : 1))
                return true;
        }
    }
    return false;
}

bool ask_llm_numbers_ok(const char *text, const char *reference, char *bad, size_t cap)
{
    llm_refs refs = {0};
    refs_read(reference ? reference : "", &refs);
    bool ok = !refs.oom;
    if (!ok && cap)
        snprintf(bad, cap, "(out of memory)");
    for (size_t i = 0; ok && text[i];) {
        if (!is_digit(text[i])) {
            i++;
            continue;
        }
        size_t end = number_end(text, i);
        size_t len = end - i;
        if (len > ASK_LLM_LONG_NUMBER) {
            char *tok = strndup(text + i, len);
            ok = tok && reference && strstr(reference, tok);
            free(tok);
        } else {
            llm_num nums[16];
            size_t k = read_number(text + i, len, nums, 16);
            for (size_t j = 0; j < k && ok; j++)
                ok = num_matches(&nums[j], &refs);
        }
        if (!ok && cap)
            snprintf(bad, cap, "%.*s", (int)len, text + i);
        i = end;
    }
    free(refs.v);
    return ok;
}

/* ---- the request ---- */

static const char *const llm_system_prompt =
    "You rephrase answers of volta, a time-series database of the Brazilian power grid "
    "(generation, load and interchange by subsystem, source and plant). Rewrite volta's answer "
    "as one to three clear sentences in the language of the question. Use ONLY numbers that "
    "appear in the material given, written as they appear there (you may round them); never "
    "compute, convert, sum or invent a number, and add no facts. Keep the units (MW, MWmed, "
    "MWh, GW, GWh, %) and the time range. Reply with the sentences only.";

/* The user message: question, volta's sentence, then what it came from. */
static void build_material(json_t *doc, vt_buf *m)
{
    const char *lang = json_string_value(json_object_get(doc, "language"));
    vt_buf_printf(m, "Question (%s): %s\n", lang && strcmp(lang, "en") == 0 ? "English" : "Portuguese",
                  json_string_value(json_object_get(doc, "question")));
    vt_buf_printf(m, "volta's answer: %s\n", json_string_value(json_object_get(doc, "answer")));
    const char *unit = json_string_value(json_object_get(doc, "unit"));
    if (unit)
        vt_buf_printf(m, "Unit of the values: %s\n", unit);
    size_t i;
    json_t *v;
    json_t *values = json_object_get(doc, "values");
    if (json_array_size(values)) {
        vt_buf_printf(m, "Values used (label: value):\n");
        json_array_foreach(values, i, v)
        {
            if (i >= ASK_LLM_MAX_VALUES)
                break;
            const char *label = json_string_value(json_object_get(v, "label"));
            const char *t = json_string_value(json_object_get(v, "time"));
            const char *at = json_string_value(json_object_get(v, "at"));
            vt_buf_printf(m, "- %s: %.15g%s%s\n", label ? label : t ? t : "",
                          json_number_value(json_object_get(v, "value")), at ? " at " : "",
                          at ? at : "");
        }
    }
    json_t *rows = json_object_get(doc, "rows");
    if (json_array_size(rows)) {
        vt_buf_printf(m, "Hourly rows used (time value%s):\n",
                      json_object_get(json_array_get(rows, 0), "group") ? " group" : "");
        json_array_foreach(rows, i, v)
        {
            if (i >= ASK_LLM_MAX_ROWS) {
                vt_buf_printf(m, "(more rows not shown)\n");
                break;
            }
            const char *g = json_string_value(json_object_get(v, "group"));
            vt_buf_printf(m, "%s %.15g%s%s\n", json_string_value(json_object_get(v, "time")),
                          json_number_value(json_object_get(v, "value")), g ? " " : "", g ? g : "");
        }
    }
    json_t *passages = json_object_get(doc, "passages");
    json_array_foreach(passages, i, v)
    {
        vt_buf_printf(m, "Passage [%s, \"%s\"]:\n%s\n", json_string_value(json_object_get(v, "file")),
                      json_string_value(json_object_get(v, "section")),
                      json_string_value(json_object_get(v, "text")));
    }
    vt_buf_cstr(m);
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    vt_buf *b = ud;
    size_t len = size * nmemb;
    if (b->len + len > ASK_LLM_MAX_RESPONSE)
        return 0;
    vt_buf_append(b, p, len);
    return b->oom ? 0 : len;
}

/* Drops a leading "<think>...</think>" (reasoning models) and surrounding blanks; returns a
 * malloc'd copy or NULL. */
static char *clean_text(const char *s)
{
    const char *p = s;
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    if (strncmp(p, "<think>", 7) == 0) {
        const char *e = strstr(p, "</think>");
        p = e ? e + 8 : p + strlen(p);
    }
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    size_t n = strlen(p);
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\n' || p[n - 1] == '\r' || p[n - 1] == '\t'))
        n--;
    return strndup(p, n);
}

/* POSTs the chat request; on success *text receives the model's (cleaned) text. Otherwise
 * returns false with why filled. */
static bool chat(const llm_settings *s, const char *material, char **text, char *why, size_t cap)
{
    *text = NULL;
    json_t *req = json_pack("{s:s,s:[{s:s,s:s},{s:s,s:s}],s:i,s:b}", "model", s->model, "messages",
                            "role", "system", "content", llm_system_prompt, "role", "user",
                            "content", material, "temperature", 0, "stream", 0);
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!body) {
        snprintf(why, cap, "could not build the request (out of memory or invalid UTF-8)");
        return false;
    }
    char endpoint[1100];
    size_t ul = strlen(s->url);
    snprintf(endpoint, sizeof endpoint, "%s%s", s->url,
             ul >= 3 && strcmp(s->url + ul - 3, "/v1") == 0 ? "/chat/completions"
                                                            : "/v1/chat/completions");
    bool ok = false;
    vt_buf resp;
    vt_buf_init(&resp);
    struct curl_slist *hdrs = NULL;
    json_t *root = NULL;
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(why, cap, "curl_easy_init failed");
        goto cleanup;
    }
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    if (s->api_key[0]) {
        char auth[600];
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", s->api_key);
        hdrs = curl_slist_append(hdrs, auth);
    }
    curl_easy_setopt(c, CURLOPT_URL, endpoint);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)s->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "volta/" VOLTA_VERSION);
    CURLcode cc = curl_easy_perform(c);
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(why, cap, "timeout: %s did not answer within %u ms", endpoint, s->timeout_ms);
        goto cleanup;
    }
    if (cc == CURLE_WRITE_ERROR) {
        snprintf(why, cap, "%s: answer larger than %u bytes", endpoint, ASK_LLM_MAX_RESPONSE);
        goto cleanup;
    }
    if (cc != CURLE_OK) {
        snprintf(why, cap, "%s: %s", endpoint, curl_easy_strerror(cc));
        goto cleanup;
    }
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    root = json_loadb((const char *)resp.data, resp.len, 0, NULL);
    if (code != 200) {
        const char *msg = json_string_value(json_object_get(json_object_get(root, "error"), "message"));
        snprintf(why, cap, "HTTP %ld from %s%s%.200s", code, endpoint, msg ? ": " : "", msg ? msg : "");
        goto cleanup;
    }
    const char *content = json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(root, "choices"), 0), "message"), "content"));
    if (!content) {
        snprintf(why, cap, "%s answered without choices[0].message.content", endpoint);
        goto cleanup;
    }
    *text = clean_text(content);
    if (!*text) {
        snprintf(why, cap, "out of memory");
    } else if (!(*text)[0]) {
        snprintf(why, cap, "%s answered an empty text", endpoint);
    } else if (strlen(*text) > ASK_LLM_MAX_TEXT) {
        snprintf(why, cap, "the phrasing is longer than %d bytes", ASK_LLM_MAX_TEXT);
    } else {
        ok = true;
    }
    if (!ok) {
        free(*text);
        *text = NULL;
    }
cleanup:
    json_decref(root);
    curl_slist_free_all(hdrs);
    if (c)
        curl_easy_cleanup(c);
    vt_buf_free(&resp);
    free(body);
    return ok;
}

void ask_llm_phrase(json_t *doc)
{
    llm_settings s;
    pthread_mutex_lock(&llm_mu);
    s = llm_set;
    pthread_mutex_unlock(&llm_mu);
    if (!s.url[0] || !json_is_string(json_object_get(doc, "answer")))
        return;
    vt_buf material;
    vt_buf_init(&material);
    build_material(doc, &material);
    char why[VT_ERR_MSG_MAX] = "";
    char *text = NULL;
    bool accepted = false;
    if (material.oom) {
        snprintf(why, sizeof why, "out of memory");
    } else if (chat(&s, (const char *)material.data, &text, why, sizeof why)) {
        char bad[ASK_LLM_LONG_NUMBER + 8];
        accepted = ask_llm_numbers_ok(text, (const char *)material.data, bad, sizeof bad);
        if (accepted)
            snprintf(why, sizeof why, "every number is volta's");
        else
            snprintf(why, sizeof why, "number %s is not in volta's answer or rows: phrasing discarded",
                     bad);
    }
    json_t *ph = json_object();
    json_object_set_new(ph, "text", accepted && text ? json_string(text) : json_null());
    json_object_set_new(ph, "model", json_string(s.model));
    json_object_set_new(ph, "accepted", json_boolean(accepted));
    json_t *reason = json_string(why);
    json_object_set_new(ph, "reason",
                        reason ? reason : json_string("the endpoint's error is not valid UTF-8"));
    json_object_set_new(doc, "phrased", ph);
    free(text);
    vt_buf_free(&material);
}
