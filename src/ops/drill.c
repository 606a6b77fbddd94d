/*
 * ops/drill.c — `volta drill` (what a drill is, and what it measures: drill.h).
 *
 * Implementation notes:
 * - Processes: fork + exec with stdout/stderr to a log file in the scenario's directory; a
 *   process is "ready" when GET /ping answers 204 (volta, InfluxDB). Kill -9 is kill(2) with
 *   SIGKILL and a waitpid, so the port and the data directory's lock are free afterwards.
 * - Operator commands a procedure runs (`volta recover`, `volta check`, `volta backup ...`)
 *   are child processes of this executable as well, with their exit status and output kept:
 *   the drill exercises exactly what an operator types.
 * - The workload's outcome log (time, ok) is appended under a mutex by the writer and reader
 *   threads; RTO is computed from it after the run (drill.h).
 * - Point numbers are unique and their times are one millisecond apart from T0 (30 minutes
 *   ago, so every point is inside the checks' default 24 h window and never in the future).
 */
#include "ops/drill.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ops/backup_repo.h"
#include "ops/restore.h"

#define DRILL_SERIES 8
#define DRILL_BATCH 100           /* points per POST */
#define DRILL_WRITE_PERIOD_MS 20  /* one batch every 20 ms: 5,000 points/s */
#define DRILL_READ_PERIOD_MS 100
#define DRILL_OP_TIMEOUT_MS 2000
#define DRILL_MAX_STEPS 32
#define DRILL_MAX_CHECKS 16
#define DRILL_MAX_PROCS 8

/* ------------------------------------------------------------------------------------------ */
/* Results                                                                                      */

typedef struct drill_step {
    double at;        /* seconds since the scenario started */
    double seconds;   /* how long it took */
    int status;       /* exit status of a command, HTTP status, or 0/1 */
    char what[256];
    char note[512];
} drill_step;

typedef struct drill_check {
    char name[64];
    bool ok;
    char detail[512];
} drill_check;

typedef struct drill_result {
    char name[32];
    char fault[256];
    char procedure[256];
    bool ran, passed;
    char skipped[256]; /* why it did not run ("" when it ran) */
    char error[512];   /* what stopped it early */
    double rto;        /* seconds; < 0 = service never came back */
    uint64_t written, acked, lost;
    bool backup_checked;
    uint64_t lost_backup;
    drill_step steps[DRILL_MAX_STEPS];
    size_t nsteps;
    drill_check checks[DRILL_MAX_CHECKS];
    size_t nchecks;
    char notes[1024];
    double seconds;
} drill_result;

struct drill_report {
    drill_result *v;
    size_t n;
    char workdir[PATH_MAX];
};

/* ------------------------------------------------------------------------------------------ */
/* Small helpers                                                                                */

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int rc = fputs(text, f) < 0 ? -1 : 0;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* HTTP                                                                                         */

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
    vt_buf_append((vt_buf *)ud, p, sz * n);
    return sz * n;
}

/* One request; *status = HTTP status (0 when the server could not be reached). A POST body is
 * sent as form data, or as content_type when given. */
static void http_do_typed(CURL *c, const char *method, const char *url, const char *body,
                          size_t len, const char *content_type, long timeout_ms, long *status,
                          vt_buf *resp)
{
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    vt_buf sink;
    vt_buf_init(&sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp ? resp : &sink);
    struct curl_slist *hdr = NULL;
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
        if (content_type) {
            char h[128];
            snprintf(h, sizeof h, "Content-Type: %s", content_type);
            hdr = curl_slist_append(NULL, h);
            curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
        }
    }
    *status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(hdr);
    vt_buf_free(&sink);
}

static void http_do(CURL *c, const char *method, const char *url, const char *body, size_t len,
                    long timeout_ms, long *status, vt_buf *resp)
{
    http_do_typed(c, method, url, body, len, NULL, timeout_ms, status, resp);
}

/* ------------------------------------------------------------------------------------------ */
/* Processes                                                                                    */

typedef struct drill_proc {
    pid_t pid;
    char name[32];
    char log[PATH_MAX];
} drill_proc;

typedef struct drill_env {
    const drill_options *o;
    char root[PATH_MAX];
    char volta[PATH_MAX];
    char influxd[PATH_MAX];
    drill_proc procs[DRILL_MAX_PROCS];
    char start_failure[PATH_MAX + 64]; /* why the last start failed (proc_start, wait_ping) */
    double t0;
    drill_result *res;
    CURL *curl;
} drill_env;

static void note_step(drill_env *e, double started, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void note_step(drill_env *e, double started, int status, const char *fmt, ...)
{
    drill_result *r = e->res;
    if (r->nsteps >= DRILL_MAX_STEPS)
        return;
    drill_step *s = &r->steps[r->nsteps++];
    memset(s, 0, sizeof *s);
    s->at = started - e->t0;
    s->seconds = mono_s() - started;
    s->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->what, sizeof s->what, fmt, ap);
    va_end(ap);
    if (e->o->verbose)
        fprintf(stderr, "drill %s: [%6.2f s] %s -> %d (%.2f s)\n", r->name, s->at, s->what,
                status, s->seconds);
}

static void add_check(drill_env *e, const char *name, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add_check(drill_env *e, const char *name, bool ok, const char *fmt, ...)
{
    drill_result *r = e->res;
    if (r->nchecks >= DRILL_MAX_CHECKS)
        return;
    drill_check *c = &r->checks[r->nchecks++];
    snprintf(c->name, sizeof c->name, "%s", name);
    c->ok = ok;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->detail, sizeof c->detail, fmt, ap);
    va_end(ap);
}

static void add_note(drill_env *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_note(drill_env *e, const char *fmt, ...)
{
    size_t l = strlen(e->res->notes);
    if (l + 2 >= sizeof e->res->notes)
        return;
    if (l)
        e->res->notes[l++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->res->notes + l, sizeof e->res->notes - l, fmt, ap);
    va_end(ap);
}

/* Starts argv (NULL-terminated) with output to <root>/<name>.log; returns the slot or -1. */
static int proc_start(drill_env *e, const char *name, char *const argv[])
{
    int slot = -1;
    for (int i = 0; i < DRILL_MAX_PROCS; i++)
        if (e->procs[i].pid == 0) {
            slot = i;
            break;
        }
    if (slot < 0) {
        snprintf(e->start_failure, sizeof e->start_failure, "more than %d processes",
                 DRILL_MAX_PROCS);
        return -1;
    }
    drill_proc *p = &e->procs[slot];
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->log, sizeof p->log, "%s/%s.log", e->root, name);
    int fd = open(p->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(e->start_failure, sizeof e->start_failure, "cannot open %s: %s", p->log,
                 strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(e->start_failure, sizeof e->start_failure, "fork: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2(null, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fd);
    p->pid = pid;
    return slot;
}

/* SIGKILL (hard) or SIGTERM (clean; SIGKILL after 30 s), then reaps. Returns the exit status
 * (or 128 + signal). */
static int proc_stop(drill_env *e, int slot, bool hard)
{
    drill_proc *p = &e->procs[slot];
    if (p->pid <= 0)
        return -1;
    kill(p->pid, hard ? SIGKILL : SIGTERM);
    int st = 0;
    double until = mono_s() + 30;
    for (;;) {
        pid_t w = waitpid(p->pid, &st, WNOHANG);
        if (w == p->pid || (w < 0 && errno != EINTR))
            break;
        if (mono_s() > until) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &st, 0);
            break;
        }
        sleep_ms(20);
    }
    p->pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* Waits until the server started in slot answers /ping at base. False at the timeout, or at
 * once when the process has exited: then the slot is reaped and freed (a later proc_stop of
 * it does nothing), and an answer from whatever else may take the port later is never
 * mistaken for this server's. On false, e->start_failure says which. */
static bool wait_ping(drill_env *e, int slot, const char *base, double timeout_s)
{
    char url[512];
    snprintf(url, sizeof url, "%s/ping", base);
    double until = mono_s() + timeout_s;
    drill_proc *p = &e->procs[slot];
    while (mono_s() < until) {
        int status;
        if (p->pid > 0 && waitpid(p->pid, &status, WNOHANG) == p->pid) {
            p->pid = 0;
            if (WIFEXITED(status))
                snprintf(e->start_failure, sizeof e->start_failure,
                         "it exited with status %d before answering /ping", WEXITSTATUS(status));
            else
                snprintf(e->start_failure, sizeof e->start_failure,
                         "it was killed by signal %d before answering /ping",
                         WIFSIGNALED(status) ? WTERMSIG(status) : 0);
            return false;
        }
        long st = 0;
        http_do(e->curl, "GET", url, NULL, 0, 500, &st, NULL);
        if (st == 204)
            return true;
        sleep_ms(50);
    }
    snprintf(e->start_failure, sizeof e->start_failure, "no answer to /ping within %.0f s",
             timeout_s);
    return false;
}

/* Runs `volta <args...>` to completion; its stdout (and stderr) in *out when given. */
static int run_volta(drill_env *e, vt_buf *out, const char *const *args)
{
    char *argv[32];
    size_t k = 0;
    argv[k++] = e->volta;
    for (size_t i = 0; args[i] && k < 31; i++)
        argv[k++] = (char *)args[i];
    argv[k] = NULL;
    int pipefd[2];
    if (pipe(pipefd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return -1;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2(null, 0);
        dup2(pipefd[1], 1);
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(pipefd[1]);
    char buf[4096];
    ssize_t n;
    while ((n = read(pipefd[0], buf, sizeof buf)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (out)
            vt_buf_append(out, buf, (size_t)n);
    }
    close(pipefd[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* The first line of a command's output, for the report. */
static void first_line(const vt_buf *b, char *out, size_t cap)
{
    size_t n = 0;
    while (n < b->len && b->data[n] != '\n' && n + 1 < cap)
        n++;
    memcpy(out, b->data ? (const char *)b->data : "", n);
    out[n] = '\0';
}

/* ------------------------------------------------------------------------------------------ */
/* The workload                                                                                 */

typedef struct op_event {
    double t;
    bool ok;
    bool write;
} op_event;

typedef struct workload {
    pthread_mutex_t mu;
    char base[256]; /* the serving address (switched by procedures) */
    atomic_bool stop;
    pthread_t writer, reader;
    bool started;
    int64_t t0_ns;
    uint8_t *acked; /* acked[i]: point i was acknowledged */
    uint64_t cap, next;
    uint64_t acked_points;
    op_event *ev;
    size_t nev, evcap;
    atomic_uint slow_ms; /* reads slower than this count as failed (degraded); 0 = off */
} workload;

static void wl_event(workload *w, bool ok, bool write)
{
    pthread_mutex_lock(&w->mu);
    if (w->nev == w->evcap) {
        size_t ncap = w->evcap ? w->evcap * 2 : 1024;
        op_event *nv = realloc(w->ev, ncap * sizeof *nv);
        if (nv) {
            w->ev = nv;
            w->evcap = ncap;
        }
    }
    if (w->nev < w->evcap)
        w->ev[w->nev++] = (op_event){.t = mono_s(), .ok = ok, .write = write};
    pthread_mutex_unlock(&w->mu);
}

static void wl_base(workload *w, char *out, size_t cap)
{
    pthread_mutex_lock(&w->mu);
    snprintf(out, cap, "%s", w->base);
    pthread_mutex_unlock(&w->mu);
}

static void *wl_writer(void *arg)
{
    workload *w = arg;
    CURL *c = curl_easy_init();
    vt_buf body;
    vt_buf_init(&body);
    while (c && !atomic_load(&w->stop)) {
        double started = mono_s();
        if (w->next + DRILL_BATCH > w->cap)
            break; /* the workload's budget is spent */
        uint64_t first = w->next;
        body.len = 0;
        for (uint64_t i = first; i < first + DRILL_BATCH; i++)
            vt_buf_printf(&body, "m,s=s%u v=%" PRIu64 "i %" PRId64 "\n",
                          (unsigned)(i % DRILL_SERIES), i, w->t0_ns + (int64_t)i * 1000000);
        w->next += DRILL_BATCH;
        char base[256], url[512];
        wl_base(w, base, sizeof base);
        snprintf(url, sizeof url, "%s/write?db=drill&precision=ns", base);
        long st = 0;
        http_do(c, "POST", url, (const char *)body.data, body.len, DRILL_OP_TIMEOUT_MS, &st,
                NULL);
        bool ok = st == 204;
        if (ok) {
            pthread_mutex_lock(&w->mu);
            memset(w->acked + first, 1, DRILL_BATCH);
            w->acked_points += DRILL_BATCH;
            pthread_mutex_unlock(&w->mu);
        }
        wl_event(w, ok, true);
        double spent = (mono_s() - started) * 1000;
        if (spent < DRILL_WRITE_PERIOD_MS)
            sleep_ms((unsigned)(DRILL_WRITE_PERIOD_MS - spent));
    }
    vt_buf_free(&body);
    if (c)
        curl_easy_cleanup(c);
    return NULL;
}

static void *wl_reader(void *arg)
{
    workload *w = arg;
    CURL *c = curl_easy_init();
    vt_buf resp;
    vt_buf_init(&resp);
    while (c && !atomic_load(&w->stop)) {
        char base[256], url[512];
        wl_base(w, base, sizeof base);
        snprintf(url, sizeof url, "%s/query?db=drill&q=SELECT%%20count(v)%%20FROM%%20m", base);
        resp.len = 0;
        long st = 0;
        double started = mono_s();
        http_do(c, "GET", url, NULL, 0, DRILL_OP_TIMEOUT_MS, &st, &resp);
        double took_ms = (mono_s() - started) * 1000;
        vt_buf_putc(&resp, '\0');
        unsigned slow = atomic_load(&w->slow_ms);
        bool ok = st == 200 && !strstr((const char *)resp.data, "\"error\"") &&
                  (slow == 0 || took_ms < slow);
        wl_event(w, ok, false);
        sleep_ms(DRILL_READ_PERIOD_MS);
    }
    vt_buf_free(&resp);
    if (c)
        curl_easy_cleanup(c);
    return NULL;
}

static vt_rc wl_init(workload *w, const char *base, vt_err *err)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    snprintf(w->base, sizeof w->base, "%s", base);
    w->cap = 2000000; /* 400 s of writes at most */
    w->acked = calloc(w->cap, 1);
    if (!w->acked)
        return vt_err_set(err, VT_ENOMEM, "drill: out of memory");
    int64_t now = wall_ns();
    w->t0_ns = now - (int64_t)30 * 60 * 1000000000LL;
    w->t0_ns -= w->t0_ns % 1000000000LL;
    return VT_OK;
}

static void wl_start(workload *w)
{
    atomic_store(&w->stop, false);
    pthread_create(&w->writer, NULL, wl_writer, w);
    pthread_create(&w->reader, NULL, wl_reader, w);
    w->started = true;
}

static void wl_stop(workload *w)
{
    if (!w->started)
        return;
    atomic_store(&w->stop, true);
    pthread_join(w->writer, NULL);
    pthread_join(w->reader, NULL);
    w->started = false;
}

static void wl_switch(workload *w, const char *base)
{
    pthread_mutex_lock(&w->mu);
    snprintf(w->base, sizeof w->base, "%s", base);
    pthread_mutex_unlock(&w->mu);
}

static void wl_free(workload *w)
{
    wl_stop(w);
    free(w->acked);
    free(w->ev);
    pthread_mutex_destroy(&w->mu);
}

/* RTO from the outcome log (drill.h): from the first failure at or after fault_at to the first
 * success after the last failure; -1 when the last operation failed. */
static double wl_rto(workload *w, double fault_at)
{
    double first_fail = -1, last_fail = -1;
    for (size_t i = 0; i < w->nev; i++) {
        if (w->ev[i].t < fault_at || w->ev[i].ok)
            continue;
        if (first_fail < 0)
            first_fail = w->ev[i].t;
        last_fail = w->ev[i].t;
    }
    if (first_fail < 0)
        return 0;
    double back = -1;
    for (size_t i = 0; i < w->nev; i++)
        if (w->ev[i].ok && w->ev[i].t > last_fail && (back < 0 || w->ev[i].t < back))
            back = w->ev[i].t;
    return back < 0 ? -1 : back - first_fail;
}

/* Acknowledged points missing from the store at base (looked up one by one through
 * SELECT v FROM m). *lost = UINT64_MAX when the store cannot be read. */
static void wl_lost(drill_env *e, workload *w, const char *base, uint64_t *lost, char *why,
                    size_t cap)
{
    *lost = UINT64_MAX;
    why[0] = '\0';
    char url[512];
    snprintf(url, sizeof url, "%s/query?db=drill&epoch=ns&q=SELECT%%20v%%20FROM%%20m", base);
    vt_buf resp;
    vt_buf_init(&resp);
    long st = 0;
    http_do(e->curl, "GET", url, NULL, 0, 60000, &st, &resp);
    if (st != 200) {
        snprintf(why, cap, "SELECT v FROM m on %s answered %ld", base, st);
        vt_buf_free(&resp);
        return;
    }
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)resp.data, resp.len, 0, &jerr);
    vt_buf_free(&resp);
    uint8_t *present = calloc(w->cap, 1);
    if (!doc || !present) {
        snprintf(why, cap, "the answer of %s did not parse: %s", base, doc ? "" : jerr.text);
        json_decref(doc);
        free(present);
        return;
    }
    json_t *series = json_object_get(json_array_get(json_object_get(doc, "results"), 0), "series");
    for (size_t i = 0; i < json_array_size(series); i++) {
        json_t *vals = json_object_get(json_array_get(series, i), "values");
        for (size_t k = 0; k < json_array_size(vals); k++) {
            json_t *v = json_array_get(json_array_get(vals, k), 1);
            json_int_t x = json_is_integer(v) ? json_integer_value(v)
                                              : (json_int_t)json_number_value(v);
            if (x >= 0 && (uint64_t)x < w->cap)
                present[x] = 1;
        }
    }
    json_decref(doc);
    uint64_t missing = 0;
    for (uint64_t i = 0; i < w->next; i++)
        if (w->acked[i] && !present[i])
            missing++;
    free(present);
    *lost = missing;
}

/* ------------------------------------------------------------------------------------------ */
/* Building blocks of the scenarios                                                             */

/* The largest regular file under dir (recursively) whose name ends with suffix ("" = any):
 * its path in out and its size in *size; false when there is none. */
static bool largest_file(const char *dir, const char *suffix, char *out, size_t cap, off_t *size)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool found = false;
    struct dirent *de;
    size_t sl = strlen(suffix);
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            found |= largest_file(path, suffix, out, cap, size);
            continue;
        }
        size_t nl = strlen(de->d_name);
        if (!S_ISREG(st.st_mode) || nl < sl || strcmp(de->d_name + nl - sl, suffix) != 0)
            continue;
        if (st.st_size > *size) {
            *size = st.st_size;
            snprintf(out, cap, "%s", path);
            found = true;
        }
    }
    closedir(d);
    return found;
}

/* XORs one byte of path at offset at with mask, fsynced; false when it could not. */
static bool flip_byte(const char *path, off_t at, unsigned char mask)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return false;
    unsigned char byte;
    bool ok = pread(fd, &byte, 1, at) == 1;
    byte ^= mask;
    ok = ok && pwrite(fd, &byte, 1, at) == 1 && fsync(fd) == 0;
    close(fd);
    return ok;
}

typedef struct server {
    int slot;
    int port;
    char base[64];
    char data[PATH_MAX];
    char config[PATH_MAX];
} server;

/* `volta serve` on s->data at s->port (with s->config when set), as process `name`. */
static bool serve_spawn(drill_env *e, server *s, const char *name)
{
    snprintf(s->base, sizeof s->base, "http://127.0.0.1:%d", s->port);
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", s->port);
    char *argv[12];
    int k = 0;
    argv[k++] = e->volta;
    argv[k++] = "serve";
    argv[k++] = "--data";
    argv[k++] = s->data;
    argv[k++] = "--listen";
    argv[k++] = listen;
    argv[k++] = "--no-landing";
    if (s->config[0]) {
        argv[k++] = "--config";
        argv[k++] = s->config;
    }
    argv[k] = NULL;
    s->slot = proc_start(e, name, argv);
    return s->slot >= 0 && wait_ping(e, s->slot, s->base, 60);
}

/* A new server on a free port (another one when the port was taken meanwhile). */
static bool volta_start(drill_env *e, server *s, const char *name)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        s->port = free_port();
        if (serve_spawn(e, s, name))
            return true;
        if (s->slot >= 0)
            proc_stop(e, s->slot, true);
    }
    return false;
}

/* The same server again on the same port (a restart keeps its address). */
static bool volta_restart(drill_env *e, server *s, const char *name)
{
    return serve_spawn(e, s, name);
}

static const char influxd_conf[] =
    "reporting-disabled = true\nbind-address = \"127.0.0.1:%d\"\n"
    "[meta]\n  dir = \"%s/meta\"\n  logging-enabled = false\n"
    "[data]\n  dir = \"%s/data\"\n  wal-dir = \"%s/wal\"\n  wal-fsync-delay = \"0s\"\n"
    "  query-log-enabled = false\n  trace-logging-enabled = false\n"
    "[retention]\n  enabled = false\n[shard-precreation]\n  enabled = false\n"
    "[monitor]\n  store-enabled = false\n"
    "[http]\n  enabled = true\n  bind-address = \"127.0.0.1:%d\"\n  auth-enabled = false\n"
    "  log-enabled = false\n  max-row-limit = 0\n"
    "[logging]\n  level = \"warn\"\n  suppress-logo = true\n"
    "[subscriber]\n  enabled = false\n[continuous_queries]\n  enabled = false\n";

typedef struct influx {
    int slot;
    int port;
    char base[64];
    char conf[PATH_MAX];
} influx;

static bool influx_start(drill_env *e, influx *x, bool fresh)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        if (fresh || attempt > 0) {
            x->port = free_port();
            int rpc = free_port();
            char dir[PATH_MAX], text[4096];
            snprintf(dir, sizeof dir, "%s/influxd", e->root);
            mkdir(dir, 0755);
            snprintf(text, sizeof text, influxd_conf, rpc, dir, dir, dir, x->port);
            snprintf(x->conf, sizeof x->conf, "%s/influxd.conf", dir);
            if (write_file(x->conf, text) != 0) {
                snprintf(e->start_failure, sizeof e->start_failure, "cannot write %s: %s",
                         x->conf, strerror(errno));
                return false;
            }
        }
        snprintf(x->base, sizeof x->base, "http://127.0.0.1:%d", x->port);
        char *argv[] = {e->influxd, "run", "-config", x->conf, NULL};
        x->slot = proc_start(e, "influxd", argv);
        if (x->slot < 0)
            return false;
        if (wait_ping(e, x->slot, x->base, 60))
            return true;
        proc_stop(e, x->slot, true);
        if (!fresh)
            return false; /* a restart keeps its port */
    }
    return false;
}

static bool create_db(drill_env *e, const char *base)
{
    char url[512];
    snprintf(url, sizeof url, "%s/query", base);
    const char *body = "q=CREATE%20DATABASE%20drill";
    long st = 0;
    http_do(e->curl, "POST", url, body, strlen(body), 10000, &st, NULL);
    return st == 200;
}

/* Waits until every backend of the server at base has lag 0 (from /health). */
static bool wait_caught_up(drill_env *e, const char *base, double timeout_s)
{
    char url[512];
    snprintf(url, sizeof url, "%s/health", base);
    double until = mono_s() + timeout_s;
    while (mono_s() < until) {
        vt_buf resp;
        vt_buf_init(&resp);
        long st = 0;
        http_do(e->curl, "GET", url, NULL, 0, 2000, &st, &resp);
        bool done = false;
        json_t *doc = st == 200 ? json_loadb((const char *)resp.data, resp.len, 0, NULL) : NULL;
        vt_buf_free(&resp);
        if (doc) {
            json_t *bs = json_object_get(doc, "backends");
            done = true;
            for (size_t i = 0; i < json_array_size(bs); i++)
                if (json_integer_value(json_object_get(json_array_get(bs, i), "lag_records")) != 0)
                    done = false;
            json_decref(doc);
        }
        if (done)
            return true;
        sleep_ms(100);
    }
    return false;
}

/* RPO on the serving store (and on a backup store when backup_base is given). */
static void measure_rpo(drill_env *e, workload *w, const char *base, const char *backup_base)
{
    drill_result *r = e->res;
    char why[256];
    r->written = w->next;
    r->acked = w->acked_points;
    wl_lost(e, w, base, &r->lost, why, sizeof why);
    if (r->lost == UINT64_MAX)
        add_check(e, "rpo", false, "could not read the store: %s", why);
    else
        add_check(e, "rpo", r->lost == 0,
                  "%" PRIu64 " of %" PRIu64 " acknowledged points missing on the serving store",
                  r->lost, r->acked);
    if (backup_base) {
        r->backup_checked = true;
        wl_lost(e, w, backup_base, &r->lost_backup, why, sizeof why);
        if (r->lost_backup == UINT64_MAX)
            add_check(e, "rpo_backup", false, "could not read the backup: %s", why);
        else
            add_check(e, "rpo_backup", r->lost_backup == 0,
                      "%" PRIu64 " of %" PRIu64 " acknowledged points missing on the backup",
                      r->lost_backup, r->acked);
    }
}

/* `volta check --host base --db drill --checks LIST` (exit 0 = every check passed). */
static void check_backends(drill_env *e, const char *base)
{
    double t = mono_s();
    vt_buf out;
    vt_buf_init(&out);
    const char *args[] = {"check", "--host", base, "--db", "drill", "--checks",
                          "checksums,timestamps_duplicados,backends_consistentes", "--quiet", NULL};
    int st = run_volta(e, &out, args);
    note_step(e, t, st, "volta check --host %s --db drill --checks checksums,"
                        "timestamps_duplicados,backends_consistentes", base);
    vt_buf_putc(&out, '\0');
    char line[512];
    const char *p = strstr((const char *)out.data, "backends_consistentes");
    if (p) {
        size_t n = strcspn(p, "\n");
        snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line - 1 ? n : sizeof line - 1), p);
    } else {
        first_line(&out, line, sizeof line);
    }
    add_check(e, "volta_check", st == 0, "exit %d: %s", st, line);
    vt_buf_free(&out);
}

static void backup_config(const char *path, const char *type, const char *where)
{
    char text[1024];
    if (strcmp(type, "native") == 0)
        snprintf(text, sizeof text, "[backend.backup]\ntype = \"native\"\npath = \"%s\"\n", where);
    else
        snprintf(text, sizeof text,
                 "[backend.backup]\ntype = \"influx\"\nurl = \"%s\"\nretry_max_ms = 200\n", where);
    write_file(path, text);
}

static void run_for(double seconds)
{
    sleep_ms((unsigned)(seconds * 1000));
}

/* ------------------------------------------------------------------------------------------ */
/* Scenarios                                                                                    */

/* Starts the scenario's primary on <root>/primary and creates database `drill`, replicating to
 * a backup when backup_type is "native" (<root>/backup) or "influx" (backup_url); the workload
 * then aims at it. faults: with the drills' latency-fault switch (VOLTA_FAULT_INJECTION=1). */
static bool start_primary(drill_env *e, server *p, workload *w, const char *backup_type,
                          const char *backup_url, bool faults)
{
    snprintf(p->data, sizeof p->data, "%s/primary", e->root);
    if (backup_type) {
        char bdir[PATH_MAX];
        snprintf(bdir, sizeof bdir, "%s/backup", e->root);
        snprintf(p->config, sizeof p->config, "%s/primary.conf", e->root);
        backup_config(p->config, backup_type, strcmp(backup_type, "native") == 0 ? bdir : backup_url);
    }
    double t = mono_s();
    if (faults)
        setenv("VOLTA_FAULT_INJECTION", "1", 1);
    bool up = volta_start(e, p, "primary");
    if (faults)
        unsetenv("VOLTA_FAULT_INJECTION");
    if (!up || !create_db(e, p->base)) {
        snprintf(e->res->error, sizeof e->res->error,
                 "the primary did not start: %s (see %s/primary.log)",
                 up ? "CREATE DATABASE failed" : e->start_failure, e->root);
        return false;
    }
    note_step(e, t, 0, "start primary at %s%s%s%s", p->base,
              !backup_type                          ? ""
              : strcmp(backup_type, "native") == 0 ? " with a native backup backend"
                                                    : " replicating to ",
              backup_type && strcmp(backup_type, "native") != 0 ? backup_url : "",
              faults ? " (latency fault switch on)" : "");
    wl_switch(w, p->base);
    return true;
}

/* The primary is killed (-9) under load and restarted on its data directory: the journal
 * replays every acknowledged write. */
static void sc_primary_killed(drill_env *e, workload *w)
{
    drill_result *r = e->res;
    snprintf(r->fault, sizeof r->fault, "kill -9 of the primary `volta serve` during ingest");
    snprintf(r->procedure, sizeof r->procedure,
             "restart `volta serve` on the same data directory (journal replay); the native "
             "backup backend catches up");
    server p = {0};
    if (!start_primary(e, &p, w, "native", NULL, false))
        return;
    wl_start(w);
    run_for(e->o->load_seconds);
    double fault = mono_s();
    int st = proc_stop(e, p.slot, true);
    note_step(e, fault, st, "kill -9 primary (pid gone)");
    double t = mono_s();
    bool back = volta_restart(e, &p, "primary-restarted");
    note_step(e, t, back ? 0 : 1, "volta serve --data %s (restart, journal replay)", p.data);
    if (!back) {
        snprintf(r->error, sizeof r->error, "the primary did not come back: %s",
                 e->start_failure);
        wl_stop(w);
        return;
    }
    run_for(e->o->after_seconds);
    wl_stop(w);
    r->rto = wl_rto(w, fault);
    t = mono_s();
    bool caught = wait_caught_up(e, p.base, 60);
    note_step(e, t, caught ? 0 : 1, "wait for the backup backend's lag to reach 0");
    measure_rpo(e, w, p.base, NULL);
    check_backends(e, p.base);
    proc_stop(e, p.slot, false);
}

/* The backup store (a real InfluxDB when installed, else another volta over the v1 API) is
 * killed during ingest and comes back: the primary never stops serving, its applier holds the
 * journal and catches up. */
static void sc_backup_down(drill_env *e, workload *w)
{
    drill_result *r = e->res;
    bool use_influx = e->influxd[0] != '\0';
    snprintf(r->fault, sizeof r->fault, "kill -9 of the backup store (%s) during ingest",
             use_influx ? "InfluxDB 1.x" : "a volta over the v1 API");
    snprintf(r->procedure, sizeof r->procedure,
             "restart the backup store; the applier (journal held) catches up by itself");
    influx x = {0};
    server b = {0};
    const char *backup_base;
    double t = mono_s();
    if (use_influx) {
        if (!influx_start(e, &x, true)) {
            snprintf(r->error, sizeof r->error, "influxd did not start: %s (see %s/influxd.log)",
                     e->start_failure, e->root);
            return;
        }
        backup_base = x.base;
        note_step(e, t, 0, "start InfluxDB at %s", x.base);
    } else {
        snprintf(b.data, sizeof b.data, "%s/backup", e->root);
        if (!volta_start(e, &b, "backup")) {
            snprintf(r->error, sizeof r->error,
                     "the backup volta did not start: %s (see %s/backup.log)", e->start_failure,
                     e->root);
            return;
        }
        backup_base = b.base;
        note_step(e, t, 0, "start backup volta at %s", b.base);
    }
    server p = {0};
    if (!start_primary(e, &p, w, "influx", backup_base, false))
        return;
    wl_start(w);
    run_for(e->o->load_seconds);
    double fault = mono_s();
    int st = proc_stop(e, use_influx ? x.slot : b.slot, true);
    note_step(e, fault, st, "kill -9 backup store");
    run_for(e->o->load_seconds);
    t = mono_s();
    bool back = use_influx ? influx_start(e, &x, false) : volta_restart(e, &b, "backup-again");
    note_step(e, t, back ? 0 : 1, "restart the backup store");
    double returned = mono_s();
    run_for(e->o->after_seconds);
    wl_stop(w);
    r->rto = wl_rto(w, fault);
    add_note(e, "The primary kept serving while the backup was down (RTO is the primary's "
                "unavailability).");
    if (!back) {
        snprintf(r->error, sizeof r->error, "the backup store did not come back: %s",
                 e->start_failure);
        return;
    }
    t = mono_s();
    bool caught = wait_caught_up(e, p.base, 120);
    note_step(e, t, caught ? 0 : 1, "wait for the applier's lag to reach 0 (catch-up)");
    add_note(e, "The applier had caught up %.2f s after the backup returned (at most: the "
                "lag is polled once the workload stops).", mono_s() - returned);
    measure_rpo(e, w, p.base, backup_base);
    check_backends(e, p.base);
    proc_stop(e, p.slot, false);
    proc_stop(e, use_influx ? x.slot : b.slot, false);
}

/* The primary instance is lost — process killed and its engine files gone — while a snapshot
 * exists and the journal volume survives: `volta recover` rebuilds a new instance from the
 * snapshot rolled forward through the journal, and serves it on the same address. */
static void sc_instance_lost(drill_env *e, workload *w)
{
    drill_result *r = e->res;
    snprintf(r->fault, sizeof r->fault,
             "kill -9 of the primary and loss of its engine files (the journal volume survives)");
    snprintf(r->procedure, sizeof r->procedure,
             "volta recover --data DIR (newest snapshot + surviving journal), then serve the "
             "recovered instance on the same address");
    server p = {0};
    if (!start_primary(e, &p, w, NULL, NULL, false))
        return;
    wl_start(w);
    run_for(e->o->load_seconds / 2);
    double t = mono_s();
    vt_buf out;
    vt_buf_init(&out);
    const char *snap[] = {"snapshot", "create", "--host", p.base, NULL};
    int st = run_volta(e, &out, snap);
    char line[256];
    first_line(&out, line, sizeof line);
    vt_buf_free(&out);
    note_step(e, t, st, "volta snapshot create --host %s: %s", p.base, line);
    run_for(e->o->load_seconds / 2);
    double fault = mono_s();
    st = proc_stop(e, p.slot, true);
    char eng[PATH_MAX + 16];
    snprintf(eng, sizeof eng, "%s/engine", p.data);
    int gone = restore_remove_tree(eng);
    note_step(e, fault, st == 137 && gone == 0 ? 0 : 1, "kill -9 primary; rm -rf %s", eng);
    t = mono_s();
    vt_buf_init(&out);
    const char *rec[] = {"recover", "--data", p.data, NULL};
    st = run_volta(e, &out, rec);
    vt_buf_putc(&out, '\0');
    const char *src = strstr((const char *)out.data, "source:");
    snprintf(line, sizeof line, "%.*s", src ? (int)strcspn(src, "\n") : 0, src ? src : "");
    note_step(e, t, st, "volta recover --data %s (%s)", p.data, line);
    const char *missing = strstr((const char *)out.data, "record(s) not recovered");
    if (missing) {
        const char *ls = missing;
        while (ls > (const char *)out.data && ls[-1] != '\n')
            ls--;
        add_note(e, "recover: %.*s.", (int)(strcspn(ls, "\n")), ls);
    }
    vt_buf_free(&out);
    if (st != 0) {
        snprintf(r->error, sizeof r->error, "volta recover failed (exit %d)", st);
        wl_stop(w);
        return;
    }
    server n = p;
    snprintf(n.data, sizeof n.data, "%s/primary-recovery", e->root);
    t = mono_s();
    bool up = volta_restart(e, &n, "recovered");
    note_step(e, t, up ? 0 : 1, "volta serve --data %s on %s", n.data, n.base);
    if (!up) {
        snprintf(r->error, sizeof r->error,
                 "the recovered instance did not start: %s (see %s/recovered.log)",
                 e->start_failure, e->root);
        wl_stop(w);
        return;
    }
    run_for(e->o->after_seconds);
    wl_stop(w);
    r->rto = wl_rto(w, fault);
    measure_rpo(e, w, n.base, NULL);
    t = mono_s();
    vt_buf_init(&out);
    const char *chk[] = {"check", "--host", n.base, "--db", "drill", "--checks",
                         "checksums,timestamps_duplicados", "--quiet", NULL};
    st = run_volta(e, &out, chk);
    vt_buf_free(&out);
    note_step(e, t, st, "volta check --host %s (checksums, duplicates)", n.base);
    add_check(e, "volta_check", st == 0, "checksums and duplicate timestamps on the recovered "
              "instance: exit %d", st);
    proc_stop(e, n.slot, false);
}

/* The object of the largest engine/seg/ file of the repository's newest backup (path in out,
 * size in *size); out stays empty when there is none. */
static void largest_segment_object(const char *repo, char *out, size_t cap, off_t *size)
{
    char **ids = NULL;
    size_t n = 0;
    vt_err err;
    vt_err_clear(&err);
    if (backup_repo_list(repo, &ids, &n, &err) != VT_OK)
        return;
    backup_manifest m;
    if (n > 0 && backup_manifest_read(repo, ids[n - 1], &m, &err) == VT_OK) {
        for (size_t i = 0; i < m.nfiles; i++)
            if (strncmp(m.files[i].path, "engine/seg/", 11) == 0 &&
                (off_t)m.files[i].size > *size) {
                *size = (off_t)m.files[i].size;
                backup_repo_object_path(repo, m.files[i].hash, out, cap);
            }
        backup_manifest_free(&m);
    }
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

/* A backup in the repository is damaged (one byte of one object): verify and restore must both
 * detect it, name the object, and publish nothing; the live data is untouched. */
static void sc_bad_backup(drill_env *e, workload *w)
{
    drill_result *r = e->res;
    snprintf(r->fault, sizeof r->fault, "one byte flipped in an object of the backup repository");
    snprintf(r->procedure, sizeof r->procedure,
             "volta backup verify, then volta restore of that backup: both must refuse it");
    server p = {0};
    if (!start_primary(e, &p, w, NULL, NULL, false))
        return;
    wl_start(w);
    run_for(e->o->load_seconds);
    char repo[PATH_MAX];
    snprintf(repo, sizeof repo, "%s/repo", e->root);
    double t = mono_s();
    const char *bk[] = {"backup", "--repo", repo, "--host", p.base, NULL};
    int st = run_volta(e, NULL, bk);
    note_step(e, t, st, "volta backup --repo %s --host %s", repo, p.base);
    /* the object of the backup's largest segment file: every restore of the backup copies it
     * (a journal object may hold only records the engine files already have, which a plain
     * restore skips; `backup verify` checks every object whatever it holds) */
    char victim[PATH_MAX] = "";
    off_t best = -1;
    largest_segment_object(repo, victim, sizeof victim, &best);
    double fault = mono_s();
    bool flipped = victim[0] && flip_byte(victim, best / 2, 0x5A);
    note_step(e, fault, flipped ? 0 : 1, "flip one byte in %s", victim[0] ? victim : "(none)");
    if (!flipped) {
        snprintf(r->error, sizeof r->error, "no backup object to damage");
        wl_stop(w);
        return;
    }
    const char *slash = strrchr(victim, '/');
    const char *hash = slash ? slash + 1 : victim;
    t = mono_s();
    vt_buf out;
    vt_buf_init(&out);
    const char *ver[] = {"backup", "verify", "--repo", repo, NULL};
    st = run_volta(e, &out, ver);
    vt_buf_putc(&out, '\0');
    note_step(e, t, st, "volta backup verify --repo %s", repo);
    bool named = strstr((const char *)out.data, hash) != NULL;
    add_check(e, "verify_detects", st == 1 && named,
              "backup verify exit %d, %s the damaged object", st, named ? "names" : "does NOT name");
    vt_buf_free(&out);
    char to[PATH_MAX + 16];
    snprintf(to, sizeof to, "%s/restored", e->root);
    t = mono_s();
    vt_buf_init(&out);
    const char *rs[] = {"restore", "--repo", repo, "--to", to, NULL};
    st = run_volta(e, &out, rs);
    vt_buf_putc(&out, '\0');
    note_step(e, t, st, "volta restore --repo %s --to %s", repo, to);
    struct stat sb;
    bool published = stat(to, &sb) == 0;
    add_check(e, "restore_refuses", st == 1 && !published,
              "restore exit %d, target %s: %.200s", st, published ? "PUBLISHED" : "not created",
              strstr((const char *)out.data, "verification") ? "verification failed" : "");
    vt_buf_free(&out);
    run_for(e->o->after_seconds);
    wl_stop(w);
    r->rto = wl_rto(w, fault);
    add_note(e, "The damage is in the repository only: the live primary kept serving.");
    measure_rpo(e, w, p.base, NULL);
    proc_stop(e, p.slot, false);
}

/* POST a JSON body; the status (0 when unreachable), the answer in resp when given. */
static long post_json(drill_env *e, const char *base, const char *path, const char *json,
                      vt_buf *resp)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", base, path);
    long st = 0;
    http_do_typed(e->curl, "POST", url, json, strlen(json), "application/json", 30000, &st, resp);
    return st;
}

/* GET base+path as JSON (NULL when it fails). */
static json_t *get_json(drill_env *e, const char *base, const char *path)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", base, path);
    vt_buf resp;
    vt_buf_init(&resp);
    long st = 0;
    http_do(e->curl, "GET", url, NULL, 0, 5000, &st, &resp);
    json_t *doc = st == 200 ? json_loadb((const char *)resp.data, resp.len, 0, NULL) : NULL;
    vt_buf_free(&resp);
    return doc;
}

/* The server's rollback record: state ("" when none) and step. */
static void rollback_record(drill_env *e, const char *base, char *state, size_t cap, int *step)
{
    state[0] = '\0';
    *step = -1;
    json_t *doc = get_json(e, base, "/api/v1/rollback");
    json_t *r = doc ? json_object_get(doc, "rollback") : NULL;
    if (r && json_is_object(r)) {
        const char *s = json_string_value(json_object_get(r, "state"));
        snprintf(state, cap, "%s", s ? s : "");
        *step = (int)json_integer_value(json_object_get(r, "step"));
    }
    json_decref(doc);
}

/* /health's "read_backend" and "maintenance". */
static void health_flags(drill_env *e, const char *base, char *read_backend, size_t cap,
                         bool *maintenance)
{
    read_backend[0] = '\0';
    *maintenance = false;
    json_t *doc = get_json(e, base, "/health");
    if (doc) {
        const char *rb = json_string_value(json_object_get(doc, "read_backend"));
        snprintf(read_backend, cap, "%s", rb ? rb : "");
        *maintenance = json_is_true(json_object_get(doc, "maintenance"));
    }
    json_decref(doc);
}

/* `volta validate --host base` (the post-rollback checklist) as a check. */
static void check_validate(drill_env *e, const char *base)
{
    double t = mono_s();
    vt_buf out;
    vt_buf_init(&out);
    const char *args[] = {"validate", "--host", base, NULL};
    int st = run_volta(e, &out, args);
    note_step(e, t, st, "volta validate --host %s", base);
    vt_buf_putc(&out, '\0');
    const char *fail = strstr((const char *)out.data, "\xe2\x9c\x97"); /* ✗ */
    char line[256] = "";
    if (fail)
        snprintf(line, sizeof line, "%.*s", (int)strcspn(fail, "\n"), fail);
    add_check(e, "volta_validate", st == 0, "exit %d%s%s", st, line[0] ? ": " : "", line);
    vt_buf_free(&out);
}

/* ---- the scenarios that exercise the rollback ---- */

/* Waits until the rollback record is done/failed/aborted; returns its final state. */
static void wait_rollback_end(drill_env *e, const char *base, double timeout_s, char *state,
                              size_t cap, int *step)
{
    double until = mono_s() + timeout_s;
    for (;;) {
        rollback_record(e, base, state, cap, step);
        if ((state[0] && strcmp(state, "running") != 0) || mono_s() > until)
            return;
        sleep_ms(100);
    }
}

/* The primary's queries slow down (a latency fault): the failover monitor sees p95 above 300 %
 * of the recorded baseline and runs the rollback by itself. */
static void sc_slow_primary(drill_env *e, workload *w)
{
    drill_result *r = e->res;
    snprintf(r->fault, sizeof r->fault,
             "every query on the primary's engine slowed by 250 ms (latency fault)");
    snprintf(r->procedure, sizeof r->procedure,
             "automatic failover (failover=auto): the latency trigger runs `volta rollback --to "
             "backup` against the server itself");
    server p = {0};
    if (!start_primary(e, &p, w, "native", NULL, true))
        return;
    wl_start(w);
    run_for(e->o->load_seconds);
    /* a baseline needs 20 samples of a class in the window: the reader makes 10 a second */
    double t = mono_s();
    long st = 0;
    for (int i = 0; i < 100 && st != 200; i++) {
        st = post_json(e, p.base, "/api/v1/backends", "{\"record_baseline\":true}", NULL);
        if (st != 200)
            sleep_ms(100);
    }
    note_step(e, t, (int)st, "record the query-latency baseline (POST /api/v1/backends)");
    t = mono_s();
    st = post_json(e, p.base, "/api/v1/flags",
                   "{\"set\":{\"failover\":\"auto\",\"failover_ramp_dwell_s\":0.3},"
                   "\"why\":\"drill slow-primary\"}",
                   NULL);
    note_step(e, t, (int)st, "flags: failover=auto, failover_ramp_dwell_s=0.3");
    atomic_store(&w->slow_ms, 150);
    double fault = mono_s();
    st = post_json(e, p.base, "/api/v1/fault", "{\"query_delay_ms\":250}", NULL);
    note_step(e, fault, (int)st, "inject the latency fault: +250 ms per primary query");
    if (st != 200) {
        snprintf(r->error, sizeof r->error, "the latency fault could not be armed (%ld)", st);
        wl_stop(w);
        return;
    }
    /* the monitor fires, the rollback starts (a record appears) and ends */
    t = mono_s();
    char state[32];
    int step = -1;
    double until = mono_s() + 60;
    do {
        rollback_record(e, p.base, state, sizeof state, &step);
        if (state[0])
            break;
        sleep_ms(100);
    } while (mono_s() < until);
    note_step(e, t, state[0] ? 0 : 1, "the failover monitor starts the rollback (record %s)",
              state[0] ? state : "absent");
    t = mono_s();
    wait_rollback_end(e, p.base, 120, state, sizeof state, &step);
    note_step(e, t, strcmp(state, "done") == 0 ? 0 : 1, "the rollback ends: %s at step %d",
              state, step);
    run_for(e->o->after_seconds);
    wl_stop(w);
    r->rto = wl_rto(w, fault);
    add_note(e, "RTO here is the degradation: reads slower than 150 ms, or refused during the "
                "rollback's maintenance window, until reads are served by the backup.");
    char rb[32];
    bool maint = false;
    health_flags(e, p.base, rb, sizeof rb, &maint);
    add_check(e, "rolled_back", strcmp(state, "done") == 0 && strcmp(rb, "backup") == 0 && !maint,
              "rollback %s; read_backend=%s; maintenance %s", state[0] ? state : "never started",
              rb, maint ? "ON" : "off");
    vt_buf met;
    vt_buf_init(&met);
    char url[512];
    snprintf(url, sizeof url, "%s/metrics", p.base);
    http_do(e->curl, "GET", url, NULL, 0, 5000, &st, &met);
    vt_buf_putc(&met, '\0');
    const char *trig = "volta_failover_triggers_total{reason=\"latency\",action=\"rollback\"} 1";
    add_check(e, "latency_trigger", strstr((const char *)met.data, trig) != NULL, "%s",
              strstr((const char *)met.data, trig) ? trig : "no latency trigger in /metrics");
    vt_buf_free(&met);
    wait_caught_up(e, p.base, 60);
    measure_rpo(e, w, p.base, NULL);
    check_validate(e, p.base);
    proc_stop(e, p.slot, false);
}

/* `volta rollback` is killed -9 in the middle (during its ramp) and resumed. */
static void sc_rollback_interrupted(drill_env *e, workload *w)
{
    drill_result *r = e->res;
    snprintf(r->fault, sizeof r->fault,
             "kill -9 of `volta rollback` in the middle of its ramp (step 5, 1.5 s into it)");
    snprintf(r->procedure, sizeof r->procedure,
             "volta rollback --to backup --resume: continues from the step the server recorded");
    server p = {0};
    if (!start_primary(e, &p, w, "native", NULL, false))
        return;
    wl_start(w);
    run_for(e->o->load_seconds);
    double fault = mono_s();
    char *argv[] = {e->volta, "rollback", "--to", "backup", "--yes", "--dwell", "5", "--host",
                    p.base, NULL};
    int slot = proc_start(e, "rollback", argv);
    char state[32];
    int step = -1;
    double until = mono_s() + 60;
    /* the record names the last step completed: 4 done = the ramp (step 5) is under way */
    do {
        rollback_record(e, p.base, state, sizeof state, &step);
        if (step >= 4 && strcmp(state, "running") == 0)
            break;
        sleep_ms(50);
    } while (mono_s() < until && slot >= 0);
    note_step(e, fault, step >= 4 ? 0 : 1, "volta rollback --to backup --yes --dwell 5 reaches "
              "step %d (%s)", step, state);
    sleep_ms(1500); /* inside the ramp's first dwell */
    double t = mono_s();
    int st = slot >= 0 ? proc_stop(e, slot, true) : -1;
    rollback_record(e, p.base, state, sizeof state, &step);
    note_step(e, t, st, "kill -9 volta rollback: the record stays %s at step %d", state, step);
    bool interrupted = strcmp(state, "running") == 0;
    t = mono_s();
    vt_buf out;
    vt_buf_init(&out);
    const char *res[] = {"rollback", "--to", "backup", "--resume", "--yes", "--dwell", "0.2",
                         "--host", p.base, NULL};
    st = run_volta(e, &out, res);
    vt_buf_free(&out);
    note_step(e, t, st, "volta rollback --to backup --resume --yes --dwell 0.2");
    rollback_record(e, p.base, state, sizeof state, &step);
    run_for(e->o->after_seconds);
    wl_stop(w);
    r->rto = wl_rto(w, fault);
    add_note(e, "RTO here is the rollback's whole window of refused requests (maintenance, then "
                "the rate limit during the ramp), across the interruption.");
    char rb[32];
    bool maint = false;
    health_flags(e, p.base, rb, sizeof rb, &maint);
    add_check(e, "resumed", interrupted && st == 0 && strcmp(state, "done") == 0 &&
                                strcmp(rb, "backup") == 0 && !maint,
              "interrupted while running: %s; resume exit %d; record %s; read_backend=%s; "
              "maintenance %s", interrupted ? "yes" : "NO", st, state, rb, maint ? "ON" : "off");
    wait_caught_up(e, p.base, 60);
    measure_rpo(e, w, p.base, NULL);
    check_validate(e, p.base);
    proc_stop(e, p.slot, false);
}

/* A segment block of the running primary is corrupted on disk: the checks detect it, nothing
 * corrupt is served, `volta repair` rebuilds it from the backup backend. */
static void sc_primary_corrupted(drill_env *e, workload *w)
{
    drill_result *r = e->res;
    snprintf(r->fault, sizeof r->fault,
             "one byte flipped in an engine segment of the running primary");
    snprintf(r->procedure, sizeof r->procedure,
             "volta check --host (detects) -> volta repair --host (rebuilds the blocks from the "
             "backup backend) -> volta check --host (passes)");
    server p = {0};
    if (!start_primary(e, &p, w, "native", NULL, false))
        return;
    wl_start(w);
    run_for(e->o->load_seconds);
    /* a backup flushes the memtable: the points are in segment files */
    char repo[PATH_MAX + 16];
    snprintf(repo, sizeof repo, "%s/repo", e->root);
    double t = mono_s();
    const char *bk[] = {"backup", "--repo", repo, "--host", p.base, NULL};
    int st = run_volta(e, NULL, bk);
    note_step(e, t, st, "volta backup --host (flushes the memtable into a segment)");
    wl_stop(w); /* the writes stop so the corrupted segment is not compacted away meanwhile */
    wait_caught_up(e, p.base, 60);
    char segdir[PATH_MAX + 16], victim[PATH_MAX] = "";
    snprintf(segdir, sizeof segdir, "%s/engine/seg", p.data);
    off_t best = -1;
    largest_file(segdir, ".vseg", victim, sizeof victim, &best);
    double fault = mono_s();
    bool flipped = victim[0] && flip_byte(victim, best / 3, 0xFF);
    note_step(e, fault, flipped ? 0 : 1, "flip one byte in %s", victim[0] ? victim : "(none)");
    if (!flipped) {
        snprintf(r->error, sizeof r->error, "no segment to corrupt");
        return;
    }
    wl_start(w);
    t = mono_s();
    vt_buf out;
    vt_buf_init(&out);
    const char *chk[] = {"check", "--host", p.base, "--db", "drill", "--checks", "checksums",
                         NULL};
    st = run_volta(e, &out, chk);
    vt_buf_putc(&out, '\0');
    const char *base_name = strrchr(victim, '/');
    bool named = base_name && strstr((const char *)out.data, base_name + 1);
    note_step(e, t, st, "volta check --host --checks checksums");
    add_check(e, "detected", st == 1 && named, "volta check exit %d, %s the segment", st,
              named ? "names" : "does NOT name");
    vt_buf_free(&out);
    /* nothing corrupt is served: reading the raw points fails naming the file */
    char url[512];
    snprintf(url, sizeof url, "%s/query?db=drill&q=SELECT%%20v%%20FROM%%20m", p.base);
    vt_buf resp;
    vt_buf_init(&resp);
    long hst = 0;
    http_do(e->curl, "GET", url, NULL, 0, 30000, &hst, &resp);
    vt_buf_putc(&resp, '\0');
    bool refused = strstr((const char *)resp.data, "\"error\"") != NULL &&
                   base_name && strstr((const char *)resp.data, base_name + 1);
    add_check(e, "not_served", refused, "SELECT v FROM m: %s",
              refused ? "refused, naming the segment" : "ANSWERED (corrupt data may be served)");
    vt_buf_free(&resp);
    t = mono_s();
    vt_buf_init(&out);
    const char *rep[] = {"repair", "--host", p.base, NULL};
    st = run_volta(e, &out, rep);
    vt_buf_putc(&out, '\0');
    char line[256];
    first_line(&out, line, sizeof line);
    note_step(e, t, st, "volta repair --host %s: %s", p.base, line);
    vt_buf_free(&out);
    add_check(e, "repaired", st == 0, "volta repair exit %d", st);
    run_for(e->o->after_seconds);
    wl_stop(w);
    r->rto = wl_rto(w, fault);
    add_note(e, "Counts are answered from block summaries, so the reader's counts kept working; "
                "raw reads of the damaged block were refused until the repair.");
    measure_rpo(e, w, p.base, NULL);
    check_backends(e, p.base);
    proc_stop(e, p.slot, false);
}

typedef struct scenario {
    const char *name;
    const char *summary;
    void (*run)(drill_env *e, workload *w);
} scenario;

static const scenario scenarios[] = {
    {"primary-killed", "kill -9 the primary under load; restart; journal replay", sc_primary_killed},
    {"backup-down-during-ingest", "kill -9 the backup store under load; it catches up",
     sc_backup_down},
    {"instance-lost", "primary killed and its engine files lost; volta recover from a snapshot",
     sc_instance_lost},
    {"bad-backup", "a damaged backup object: verify and restore refuse it", sc_bad_backup},
    {"primary-corrupted", "a corrupted segment on the live primary: check, repair from the backup",
     sc_primary_corrupted},
    {"slow-primary", "queries slowed on the primary: the latency trigger rolls back by itself",
     sc_slow_primary},
    {"rollback-interrupted", "kill -9 of volta rollback mid-ramp; --resume finishes it",
     sc_rollback_interrupted},
};

#define NSCENARIOS (sizeof scenarios / sizeof scenarios[0])

size_t drill_scenario_count(void)
{
    return NSCENARIOS;
}

const char *drill_scenario_name(size_t i)
{
    return i < NSCENARIOS ? scenarios[i].name : NULL;
}

const char *drill_scenario_summary(size_t i)
{
    return i < NSCENARIOS ? scenarios[i].summary : NULL;
}

void drill_options_default(drill_options *o)
{
    memset(o, 0, sizeof *o);
    o->load_seconds = 2.0;
    o->after_seconds = 1.5;
}

static void run_one(const drill_options *o, const scenario *sc, const char *workdir,
                    drill_result *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", sc->name);
    drill_env e;
    memset(&e, 0, sizeof e);
    e.o = o;
    e.res = r;
    e.t0 = mono_s();
    snprintf(e.root, sizeof e.root, "%s/%s", workdir, sc->name);
    restore_remove_tree(e.root);
    if (mkdir(e.root, 0755) != 0) {
        snprintf(r->error, sizeof r->error, "mkdir %s: %s", e.root, strerror(errno));
        return;
    }
    if (o->volta) {
        snprintf(e.volta, sizeof e.volta, "%s", o->volta);
    } else {
        ssize_t n = readlink("/proc/self/exe", e.volta, sizeof e.volta - 1);
        e.volta[n > 0 ? n : 0] = '\0';
    }
    if (o->influxd)
        snprintf(e.influxd, sizeof e.influxd, "%s", o->influxd);
    else if (access("/usr/bin/influxd", X_OK) == 0)
        snprintf(e.influxd, sizeof e.influxd, "/usr/bin/influxd");
    if (e.influxd[0] && access(e.influxd, X_OK) != 0)
        e.influxd[0] = '\0';
    e.curl = curl_easy_init();
    workload w;
    vt_err err;
    vt_err_clear(&err);
    if (!e.curl || wl_init(&w, "http://127.0.0.1:1", &err) != VT_OK) {
        snprintf(r->error, sizeof r->error, "drill: cannot set up the workload");
        if (e.curl)
            curl_easy_cleanup(e.curl);
        return;
    }
    r->ran = true;
    sc->run(&e, &w);
    wl_free(&w);
    for (int i = 0; i < DRILL_MAX_PROCS; i++)
        if (e.procs[i].pid > 0)
            proc_stop(&e, i, true);
    curl_easy_cleanup(e.curl);
    r->seconds = mono_s() - e.t0;
    bool checks_ok = r->nchecks > 0;
    for (size_t i = 0; i < r->nchecks; i++)
        checks_ok = checks_ok && r->checks[i].ok;
    r->passed = !r->error[0] && checks_ok && r->lost == 0 &&
                (!r->backup_checked || r->lost_backup == 0) && r->rto >= 0;
}

vt_rc drill_run(const drill_options *o, const char *const *names, size_t n, drill_report **out,
                vt_err *err)
{
    *out = NULL;
    bool want[NSCENARIOS] = {false};
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], "all") == 0) {
            for (size_t k = 0; k < NSCENARIOS; k++)
                want[k] = true;
            continue;
        }
        size_t k = 0;
        while (k < NSCENARIOS && strcmp(scenarios[k].name, names[i]) != 0)
            k++;
        if (k == NSCENARIOS) {
            char known[512] = "";
            size_t l = 0;
            for (size_t j = 0; j < NSCENARIOS && l < sizeof known; j++)
                l += (size_t)snprintf(known + l, sizeof known - l, "%s%s", j ? ", " : "",
                                      scenarios[j].name);
            return vt_err_set(err, VT_EINVAL, "drill: unknown scenario '%s' (known: %s, all)",
                              names[i], known);
        }
        want[k] = true;
    }
    drill_report *r = calloc(1, sizeof *r);
    if (!r || !(r->v = calloc(NSCENARIOS, sizeof *r->v))) {
        free(r);
        return vt_err_set(err, VT_ENOMEM, "drill: out of memory");
    }
    if (o->workdir && o->workdir[0]) {
        snprintf(r->workdir, sizeof r->workdir, "%s", o->workdir);
        mkdir(r->workdir, 0755);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(r->workdir, sizeof r->workdir, "%s/volta-drill.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(r->workdir)) {
            vt_rc rc = vt_err_set(err, VT_EIO, "drill: mkdtemp %s: %s", r->workdir, strerror(errno));
            drill_report_free(r);
            return rc;
        }
    }
    for (size_t k = 0; k < NSCENARIOS; k++) {
        if (!want[k])
            continue;
        run_one(o, &scenarios[k], r->workdir, &r->v[r->n]);
        r->n++;
    }
    if (!o->keep)
        restore_remove_tree(r->workdir);
    *out = r;
    return VT_OK;
}

void drill_report_free(drill_report *r)
{
    if (!r)
        return;
    free(r->v);
    free(r);
}

size_t drill_report_count(const drill_report *r)
{
    return r->n;
}

size_t drill_report_passed(const drill_report *r)
{
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++)
        k += r->v[i].passed;
    return k;
}

/* ------------------------------------------------------------------------------------------ */
/* Reports                                                                                      */

static void md_escape(vt_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            vt_buf_append(b, "\\|", 2);
        else if (*s == '\n')
            vt_buf_putc(b, ' ');
        else
            vt_buf_putc(b, *s);
    }
}

static void fmt_rto(const drill_result *d, char *out, size_t cap)
{
    if (!d->ran || d->error[0])
        snprintf(out, cap, "-");
    else if (d->rto < 0)
        snprintf(out, cap, "never back");
    else
        snprintf(out, cap, "%.2f s", d->rto);
}

void drill_report_markdown(const drill_report *r, vt_buf *out)
{
    vt_buf_printf(out, "# volta drill report\n\n%zu scenario(s), %zu passed.\n\n", r->n,
                  drill_report_passed(r));
    vt_buf_printf(out, "| scenario | result | RTO | RPO (acknowledged points lost) | acknowledged "
                       "| checks |\n| --- | --- | ---: | ---: | ---: | --- |\n");
    for (size_t i = 0; i < r->n; i++) {
        const drill_result *d = &r->v[i];
        char rto[32];
        fmt_rto(d, rto, sizeof rto);
        size_t ok = 0;
        for (size_t k = 0; k < d->nchecks; k++)
            ok += d->checks[k].ok;
        vt_buf_printf(out, "| %s | %s | %s | %" PRIu64 "%s | %" PRIu64 " | %zu/%zu |\n", d->name,
                      d->passed ? "PASS" : "FAIL", rto, d->lost,
                      d->backup_checked ? (d->lost_backup ? " (backup: LOST)" : " (backup: 0)")
                                        : "",
                      d->acked, ok, d->nchecks);
    }
    for (size_t i = 0; i < r->n; i++) {
        const drill_result *d = &r->v[i];
        char rto[32];
        fmt_rto(d, rto, sizeof rto);
        vt_buf_printf(out, "\n## %s — %s\n\n", d->name, d->passed ? "PASS" : "FAIL");
        vt_buf_printf(out, "- fault: %s\n- procedure: %s\n", d->fault, d->procedure);
        vt_buf_printf(out, "- RTO: %s; RPO: %" PRIu64 " of %" PRIu64
                           " acknowledged points lost (%" PRIu64 " written)",
                      rto, d->lost, d->acked, d->written);
        if (d->backup_checked)
            vt_buf_printf(out, "; on the backup: %" PRIu64 " lost", d->lost_backup);
        vt_buf_printf(out, "\n- duration: %.1f s\n", d->seconds);
        if (d->error[0]) {
            vt_buf_printf(out, "- **error**: ");
            md_escape(out, d->error);
            vt_buf_putc(out, '\n');
        }
        if (d->notes[0]) {
            vt_buf_printf(out, "- notes: ");
            md_escape(out, d->notes);
            vt_buf_putc(out, '\n');
        }
        vt_buf_printf(out, "\n| check | | details |\n| --- | --- | --- |\n");
        for (size_t k = 0; k < d->nchecks; k++) {
            vt_buf_printf(out, "| %s | %s | ", d->checks[k].name, d->checks[k].ok ? "✓" : "✗");
            md_escape(out, d->checks[k].detail);
            vt_buf_printf(out, " |\n");
        }
        vt_buf_printf(out, "\n| at | step | status | seconds |\n| ---: | --- | ---: | ---: |\n");
        for (size_t k = 0; k < d->nsteps; k++) {
            vt_buf_printf(out, "| %.2f | ", d->steps[k].at);
            md_escape(out, d->steps[k].what);
            vt_buf_printf(out, " | %d | %.2f |\n", d->steps[k].status, d->steps[k].seconds);
        }
    }
}

void drill_report_json(const drill_report *r, vt_buf *out)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "scenarios_run", json_integer((json_int_t)r->n));
    json_object_set_new(doc, "scenarios_passed", json_integer((json_int_t)drill_report_passed(r)));
    json_t *arr = json_array();
    for (size_t i = 0; i < r->n; i++) {
        const drill_result *d = &r->v[i];
        json_t *s = json_object();
        json_object_set_new(s, "name", json_string(d->name));
        json_object_set_new(s, "passed", json_boolean(d->passed));
        json_object_set_new(s, "fault", json_string(d->fault));
        json_object_set_new(s, "procedure", json_string(d->procedure));
        json_object_set_new(s, "rto_seconds", d->rto >= 0 && !d->error[0] ? json_real(d->rto)
                                                                          : json_null());
        json_object_set_new(s, "rpo_points_lost", json_integer((json_int_t)d->lost));
        if (d->backup_checked)
            json_object_set_new(s, "rpo_points_lost_backup",
                                json_integer((json_int_t)d->lost_backup));
        json_object_set_new(s, "acknowledged", json_integer((json_int_t)d->acked));
        json_object_set_new(s, "written", json_integer((json_int_t)d->written));
        json_object_set_new(s, "seconds", json_real(d->seconds));
        json_object_set_new(s, "error", json_string(d->error));
        json_object_set_new(s, "notes", json_string(d->notes));
        json_t *checks = json_array();
        for (size_t k = 0; k < d->nchecks; k++)
            json_array_append_new(checks, json_pack("{s:s,s:b,s:s}", "name", d->checks[k].name,
                                                    "ok", d->checks[k].ok, "detail",
                                                    d->checks[k].detail));
        json_object_set_new(s, "checks", checks);
        json_t *steps = json_array();
        for (size_t k = 0; k < d->nsteps; k++)
            json_array_append_new(steps, json_pack("{s:f,s:s,s:i,s:f}", "at", d->steps[k].at,
                                                   "step", d->steps[k].what, "status",
                                                   d->steps[k].status, "seconds",
                                                   d->steps[k].seconds));
        json_object_set_new(s, "steps", steps);
        json_array_append_new(arr, s);
    }
    json_object_set_new(doc, "scenarios", arr);
    char *text = json_dumps(doc, JSON_INDENT(2));
    if (text) {
        vt_buf_append(out, text, strlen(text));
        vt_buf_putc(out, '\n');
    }
    free(text);
    json_decref(doc);
}
