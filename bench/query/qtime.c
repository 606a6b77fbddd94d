/*
 * qtime — the query benchmark's timing client. The same client, connection handling and request
 * shape drive InfluxDB and volta, so the ratio measures the servers.
 *
 *     qtime [-w WARMUP] [-n REPS] [-T BUDGET_S] -d DB -q QUERY URL_A URL_B
 *
 * Sends `GET <URL>/query?db=DB&q=<QUERY url-encoded>` (the default output: JSON, RFC 3339 times,
 * not chunked — what a plain client sees) to the two servers, one libcurl easy handle each
 * (keep-alive: the TCP connection is opened by the first warm-up request and reused, so connection
 * set-up is not timed). WARMUP requests per server first (default 1), untimed; then REPS rounds
 * (default 5), each timing one request to A and one to B, the order alternating every round (A B,
 * B A, ...) so slow drifts of a shared machine hit both alike. A request is timed from sending to
 * the last byte of the body received (CURLINFO_TOTAL_TIME); the body is counted and thrown away.
 * Every response must be HTTP 200 or qtime exits 1.
 *
 * Time budget: if the warm-up shows that REPS rounds would take longer than BUDGET_S seconds
 * (default 60), fewer rounds are run, but never fewer than 3. If they would take less than a
 * second, more rounds are run (an odd number, at most 51), as many as fit in about a second, so
 * that sub-millisecond medians are not five noisy samples.
 *
 * Output, one line: `a_ms=<median> b_ms=<median> a_min=<ms> b_min=<ms> a_max=<ms> b_max=<ms>
 * reps=<n> a_bytes=<body size> b_bytes=<body size>`.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { QT_MAX_REPS = 1000 };

typedef struct qt_server {
    CURL *h;
    char *url;
    long bytes;
    double ms[QT_MAX_REPS];
} qt_server;

static size_t qt_sink(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    ((qt_server *)ud)->bytes += (long)(size * n);
    return size * n;
}

static int qt_setup(qt_server *s, const char *base, const char *db, const char *query)
{
    s->h = curl_easy_init();
    if (s->h == NULL) {
        return -1;
    }
    char *eq = curl_easy_escape(s->h, query, 0);
    char *edb = curl_easy_escape(s->h, db, 0);
    if (eq == NULL || edb == NULL) {
        return -1;
    }
    size_t n = strlen(base) + strlen(eq) + strlen(edb) + 32;
    s->url = malloc(n);
    if (s->url == NULL) {
        return -1;
    }
    snprintf(s->url, n, "%s/query?db=%s&q=%s", base, edb, eq);
    curl_free(eq);
    curl_free(edb);
    curl_easy_setopt(s->h, CURLOPT_URL, s->url);
    curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, qt_sink);
    curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(s->h, CURLOPT_TIMEOUT, 600L);
    return 0;
}

/* One request; returns its time in ms, or -1 on failure (after printing why). */
static double qt_run(qt_server *s)
{
    s->bytes = 0;
    CURLcode rc = curl_easy_perform(s->h);
    long code = 0;
    curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &code);
    if (rc != CURLE_OK || code != 200) {
        fprintf(stderr, "qtime: %s: %s, HTTP %ld\n", s->url, curl_easy_strerror(rc), code);
        return -1;
    }
    double t = 0;
    curl_easy_getinfo(s->h, CURLINFO_TOTAL_TIME, &t);
    return t * 1000.0;
}

static int qt_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double qt_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, qt_cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void qt_usage(void)
{
    fprintf(stderr, "usage: qtime [-w WARMUP] [-n REPS] [-T BUDGET_S] -d DB -q QUERY URL_A URL_B\n");
}

int main(int argc, char **argv)
{
    int warm = 1, reps = 5, opt;
    double budget = 60;
    const char *db = NULL, *query = NULL;
    while ((opt = getopt(argc, argv, "w:n:T:d:q:h")) != -1) {
        switch (opt) {
        case 'w': warm = atoi(optarg); break;
        case 'n': reps = atoi(optarg); break;
        case 'T': budget = atof(optarg); break;
        case 'd': db = optarg; break;
        case 'q': query = optarg; break;
        default: qt_usage(); return 2;
        }
    }
    if (db == NULL || query == NULL || argc - optind != 2 || reps < 1 || reps > QT_MAX_REPS ||
        warm < 0) {
        qt_usage();
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    static qt_server srv[2];
    for (int i = 0; i < 2; i++) {
        if (qt_setup(&srv[i], argv[optind + i], db, query) != 0) {
            fprintf(stderr, "qtime: out of memory\n");
            return 1;
        }
    }
    double slowest = 0;
    for (int w = 0; w < warm; w++) {
        for (int i = 0; i < 2; i++) {
            double t = qt_run(&srv[i]);
            if (t < 0) {
                return 1;
            }
            slowest = t > slowest ? t : slowest;
        }
    }
    /* two requests per round, each about as long as the slower server's warm-up */
    if (warm > 0 && slowest * 2 * reps > budget * 1000.0) {
        int fit = (int)(budget * 1000.0 / (slowest * 2));
        reps = fit < 3 ? 3 : fit;
    } else if (warm > 0 && slowest * 2 * reps < 1000.0) {
        /* short queries: more rounds (odd, at most 51) while they fit in about a second */
        int fit = slowest > 0 ? (int)(1000.0 / (slowest * 2)) : 51;
        fit = fit > 51 ? 51 : fit;
        if (fit > reps) {
            reps = fit | 1;
        }
    }
    for (int r = 0; r < reps; r++) {
        for (int k = 0; k < 2; k++) {
            int i = r % 2 ? 1 - k : k;
            double t = qt_run(&srv[i]);
            if (t < 0) {
                return 1;
            }
            srv[i].ms[r] = t;
        }
    }
    double med[2], lo[2], hi[2];
    for (int i = 0; i < 2; i++) {
        med[i] = qt_median(srv[i].ms, reps); /* sorts */
        lo[i] = srv[i].ms[0];
        hi[i] = srv[i].ms[reps - 1];
    }
    printf("a_ms=%.3f b_ms=%.3f a_min=%.3f b_min=%.3f a_max=%.3f b_max=%.3f reps=%d a_bytes=%ld "
           "b_bytes=%ld\n",
           med[0], med[1], lo[0], lo[1], hi[0], hi[1], reps, srv[0].bytes, srv[1].bytes);
    for (int i = 0; i < 2; i++) {
        curl_easy_cleanup(srv[i].h);
        free(srv[i].url);
    }
    curl_global_cleanup();
    return 0;
}
