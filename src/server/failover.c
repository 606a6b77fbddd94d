/*
 * server/failover.c — the automatic failover monitor (what it watches and does: failover.h).
 *
 * State machine of one trigger, per reason (unavailable, corruption, latency):
 *     clear --condition true--> firing (acted once) --condition false--> clear
 * so a lasting condition acts once, and a condition that clears and returns acts again. The
 * unavailability condition is "node_failed for longer than the threshold": the time it started
 * failing is remembered while it stays failed.
 *
 * The rollback child is reaped by the monitor thread (waitpid WNOHANG each tick); its key is
 * revoked when it ends. failover_stop sends it SIGTERM (its record stays `running`: `volta
 * rollback --resume` continues it) and reaps it.
 */
#include "server/failover.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/thread.h"
#include "engine/engine.h"
#include "meta/meta.h"
#include "server/metrics.h"

enum { REASON_UNAVAILABLE = 0, REASON_CORRUPTION, REASON_LATENCY, REASON_COUNT };
static const char *const reason_names[REASON_COUNT] = {"unavailable", "corruption", "latency"};

/* volta_failover_triggers_total{reason,action}: [reason][0 alert, 1 rollback] */
static atomic_uint_fast64_t trigger_count[REASON_COUNT][2];

struct failover {
    http_server *srv;
    node *n;
    gateway *gw;
    char self_url[256];
    char exe[PATH_MAX];
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    bool firing[REASON_COUNT];
    int64_t failed_since; /* monotonic ns the node started refusing writes; 0 = it does not */
    uint64_t corrupt_at_start;
    pid_t child;
    char child_key_id[32];
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t corrupt_blocks(node *n)
{
    engine_stats st;
    memset(&st, 0, sizeof st);
    engine_get_stats(node_engine(n), &st);
    return st.corrupt_blocks;
}

static void audit(failover *f, const char *action, const char *detail)
{
    vt_err err;
    vt_err_clear(&err);
    if (meta_audit(gateway_meta(f->gw), "failover", action, detail, &err) != VT_OK)
        vt_log("error", "failover", "audit %s: %s", action, err.msg);
}

/* Starts `volta rollback --to backup --yes --dwell D --host self` with a temporary admin key. */
static void start_rollback(failover *f, const char *why)
{
    meta *m = gateway_meta(f->gw);
    char key[128], name[64];
    auth_key_info info;
    vt_err err;
    vt_err_clear(&err);
    time_t now = time(NULL);
    snprintf(name, sizeof name, "failover-%lld", (long long)now);
    if (auth_key_create(m, name, AUTH_ADMIN, "", 0, "failover", key, sizeof key, &info, &err) !=
        VT_OK) {
        vt_log("error", "failover", "cannot create the rollback's API key: %s", err.msg);
        audit(f, "failover.rollback", "not started: no API key could be created");
        return;
    }
    (void)auth_refresh(gateway_auth(f->gw), &err); /* this server accepts it at once */
    double dwell = flags_number(gateway_flags(f->gw), FLAG_FAILOVER_RAMP_DWELL_S);
    char dwell_s[32], log_path[PATH_MAX];
    snprintf(dwell_s, sizeof dwell_s, "%g", dwell);
    snprintf(log_path, sizeof log_path, "%s/failover-%lld.log", node_datadir(f->n),
             (long long)now);
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    pid_t pid = fd >= 0 ? fork() : -1;
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2(null, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        setenv("VOLTA_API_KEY", key, 1);
        char *argv[] = {f->exe, "rollback", "--to", "backup", "--yes", "--dwell", dwell_s,
                        "--host", f->self_url, NULL};
        execv(f->exe, argv);
        _exit(127);
    }
    if (fd >= 0)
        close(fd);
    explicit_bzero(key, sizeof key);
    char detail[1024];
    if (pid < 0) {
        snprintf(detail, sizeof detail, "not started (%s): %s", why, strerror(errno));
        auth_key_revoke(m, info.id, "failover", &err);
        audit(f, "failover.rollback", detail);
        return;
    }
    f->child = pid;
    snprintf(f->child_key_id, sizeof f->child_key_id, "%s", info.id);
    snprintf(detail, sizeof detail,
             "started `volta rollback --to backup --yes --dwell %s` (pid %d, key %s, log %s): %s",
             dwell_s, (int)pid, info.id, log_path, why);
    audit(f, "failover.rollback", detail);
    vt_log("error", "failover", "%s", detail);
}

static void reap_child(failover *f, bool block)
{
    if (f->child <= 0)
        return;
    int st = 0;
    pid_t w = waitpid(f->child, &st, block ? 0 : WNOHANG);
    if (w != f->child)
        return;
    char detail[256];
    snprintf(detail, sizeof detail, "rollback pid %d ended: %s %d", (int)f->child,
             WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    audit(f, "failover.rollback", detail);
    vt_err err;
    vt_err_clear(&err);
    auth_key_revoke(gateway_meta(f->gw), f->child_key_id, "failover", &err);
    f->child = 0;
    f->child_key_id[0] = '\0';
}

static void fire(failover *f, int reason, const char *why)
{
    failover_mode mode = flags_failover(gateway_flags(f->gw));
    bool act = mode == FAILOVER_AUTO;
    atomic_fetch_add(&trigger_count[reason][act ? 1 : 0], 1);
    char fields[128], detail[768];
    snprintf(fields, sizeof fields, "\"reason\":\"%s\",\"action\":\"%s\"", reason_names[reason],
             act ? "rollback" : "alert");
    vt_log_fields("error", "failover", fields, "failover trigger: %s", why);
    snprintf(detail, sizeof detail, "%s: %s", reason_names[reason], why);
    audit(f, act ? "failover.trigger" : "failover.alert", detail);
    if (act && f->child <= 0)
        start_rollback(f, detail);
}

static void tick(failover *f)
{
    reap_child(f, false);
    flags *fl = gateway_flags(f->gw);
    failover_mode mode = flags_failover(fl);
    bool failed = node_failed(f->n);
    int64_t now = mono_ns();
    if (!failed)
        f->failed_since = 0;
    else if (f->failed_since == 0)
        f->failed_since = now;
    if (mode == FAILOVER_OFF || flags_read_backend(fl) == READ_BACKUP || f->child > 0 ||
        http_rollback_state(f->srv) == 1) {
        for (int i = 0; i < REASON_COUNT; i++)
            f->firing[i] = false;
        return;
    }
    char why[512];
    bool cond[REASON_COUNT] = {false};
    double threshold = flags_number(fl, FLAG_FAILOVER_UNAVAILABLE_S);
    double down_s = f->failed_since ? (double)(now - f->failed_since) / 1e9 : 0;
    cond[REASON_UNAVAILABLE] = failed && down_s > threshold;
    uint64_t corrupt = corrupt_blocks(f->n);
    cond[REASON_CORRUPTION] = corrupt > f->corrupt_at_start;
    char lat_why[256] = "";
    cond[REASON_LATENCY] =
        http_latency_degraded(f->srv, flags_number(fl, FLAG_FAILOVER_LATENCY_PCT), lat_why,
                              sizeof lat_why);
    for (int i = 0; i < REASON_COUNT; i++) {
        if (!cond[i]) {
            f->firing[i] = false;
            continue;
        }
        if (f->firing[i])
            continue;
        f->firing[i] = true;
        if (i == REASON_UNAVAILABLE)
            snprintf(why, sizeof why,
                     "the primary has refused writes for %.0f s (threshold %.0f s): a journal "
                     "or engine write failed",
                     down_s, threshold);
        else if (i == REASON_CORRUPTION)
            snprintf(why, sizeof why,
                     "%" PRIu64 " corrupt segment block(s) read on the primary since start",
                     corrupt - f->corrupt_at_start);
        else
            snprintf(why, sizeof why, "query latency degraded: %s", lat_why);
        fire(f, i, why);
    }
}

static void *monitor(void *arg)
{
    failover *f = arg;
    vt_thread_name("volta-failover");
    pthread_mutex_lock(&f->mu);
    while (!f->stop) {
        pthread_mutex_unlock(&f->mu);
        tick(f);
        pthread_mutex_lock(&f->mu);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        if (!f->stop)
            pthread_cond_timedwait(&f->cv, &f->mu, &ts);
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

vt_rc failover_start(http_server *srv, node *n, gateway *gw, const char *self_url,
                     failover **out, vt_err *err)
{
    *out = NULL;
    failover *f = calloc(1, sizeof *f);
    if (!f)
        return vt_err_set(err, VT_ENOMEM, "failover: out of memory");
    f->srv = srv;
    f->n = n;
    f->gw = gw;
    snprintf(f->self_url, sizeof f->self_url, "%s", self_url);
    ssize_t len = readlink("/proc/self/exe", f->exe, sizeof f->exe - 1);
    if (len <= 0) {
        free(f);
        return vt_err_set(err, VT_EIO, "failover: cannot find the volta executable: %s",
                          strerror(errno));
    }
    f->exe[len] = '\0';
    f->corrupt_at_start = corrupt_blocks(n);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    if (pthread_create(&f->th, NULL, monitor, f) != 0) {
        pthread_cond_destroy(&f->cv);
        pthread_mutex_destroy(&f->mu);
        free(f);
        return vt_err_set(err, VT_EIO, "failover: cannot start the monitor thread");
    }
    *out = f;
    return VT_OK;
}

void failover_stop(failover *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->mu);
    f->stop = true;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->th, NULL);
    if (f->child > 0) {
        kill(f->child, SIGTERM);
        reap_child(f, true);
    }
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

void failover_metrics(vt_buf *b)
{
    vt_buf_printf(b, "# HELP volta_failover_triggers_total Automatic failover triggers by reason "
                     "and action (alert, or rollback started).\n"
                     "# TYPE volta_failover_triggers_total counter\n");
    for (int r = 0; r < REASON_COUNT; r++)
        for (int a = 0; a < 2; a++)
            vt_buf_printf(b,
                          "volta_failover_triggers_total{reason=\"%s\",action=\"%s\"} %" PRIu64
                          "\n",
                          reason_names[r], a ? "rollback" : "alert",
                          (uint64_t)atomic_load(&trigger_count[r][a]));
}
