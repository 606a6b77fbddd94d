/*
 * backend/applier.c — the applier thread (state machine and guarantees in applier.h).
 *
 * NOTES ON THE IMPLEMENTATION
 *  1. One journal reader stays open while following, so reading the next batch never rescans a
 *     segment. Records are copied out of the reader (its buffers are reused) into `pending`, a
 *     FIFO of owned copies; only the prefix with seq <= the acknowledged seq is applied, so a
 *     record still waiting for its group-commit fsync never reaches a backup before the client
 *     had its answer.
 *  2. Continuity: the records read must be cursor+1, cursor+2, ... A jump means the journal no
 *     longer holds what the backend needs: state needs_resync, recorded in the control plane.
 *  3. After a failed apply, the records the backend reports done (`applied`) are dropped from
 *     the FIFO and the cursor moves past them; the rest is retried as it is.
 *  4. The status is a snapshot under `mu`, read by /health, /metrics and `volta status`.
 */
#include "backend/applier.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/thread.h"

typedef struct pending_rec {
    uint64_t seq;
    uint16_t type;
    int64_t time;
    uint32_t len;
    uint8_t *data; /* owned */
} pending_rec;

struct applier {
    node *primary;
    meta *meta;
    backend *be;
    config_backend cfg;
    pthread_t thread;
    bool running;

    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t cv;
    bool stop, pause, paused, reset;
    applier_status st;
    int64_t oldest_ns; /* journal time of the oldest record read and not applied (0: none) */
    int hold;

    /* thread-private */
    journal_reader *reader;
    uint64_t next_expected; /* seq the reader must produce next */
    pending_rec *pend;
    size_t npend, cappend, pend_bytes;
    journal_record *batch; /* views of pend for backend_apply */
    size_t capbatch;
};

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void log_json(const char *level, const char *who, const char *msg)
{
    vt_log_fields(level, "applier", NULL, "backend %s: %s", who, msg);
}

static void set_state(applier *a, const char *state)
{
    pthread_mutex_lock(&a->mu);
    snprintf(a->st.state, sizeof a->st.state, "%s", state);
    pthread_mutex_unlock(&a->mu);
}

static void pend_clear(applier *a, size_t upto)
{
    for (size_t i = 0; i < upto; i++) {
        a->pend_bytes -= a->pend[i].len;
        free(a->pend[i].data);
    }
    if (upto && a->npend > upto)
        memmove(a->pend, a->pend + upto, (a->npend - upto) * sizeof *a->pend);
    a->npend -= upto;
}

static void reader_close(applier *a)
{
    if (a->reader)
        journal_reader_close(a->reader);
    a->reader = NULL;
}

/* Sleeps up to ms unless stopped, paused or reset; returns false when asked to stop. */
static bool nap(applier *a, unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&a->mu);
    if (!a->stop && !a->pause && !a->reset)
        pthread_cond_timedwait(&a->cv, &a->mu, &ts);
    bool go = !a->stop;
    pthread_mutex_unlock(&a->mu);
    return go;
}

static void enter_needs_resync(applier *a, const char *reason)
{
    vt_err e;
    vt_err_clear(&e);
    meta_backend_set_resync(a->meta, a->cfg.name, true, reason, &e);
    node_journal_hold_remove(a->primary, a->hold);
    pthread_mutex_lock(&a->mu);
    a->hold = -1;
    snprintf(a->st.state, sizeof a->st.state, "needs_resync");
    snprintf(a->st.resync_reason, sizeof a->st.resync_reason, "%s", reason);
    pthread_mutex_unlock(&a->mu);
    log_json("error", a->cfg.name, reason);
    reader_close(a);
    pend_clear(a, a->npend);
}

/* Loads cursor and resync state from the control plane (start, and after a resync). */
static vt_rc load_state(applier *a, vt_err *err)
{
    meta_backend mb;
    vt_rc rc = meta_backend_get(a->meta, a->cfg.name, &mb, err);
    if (rc != VT_OK)
        return rc;
    reader_close(a);
    pend_clear(a, a->npend);
    a->next_expected = mb.cursor + 1;
    pthread_mutex_lock(&a->mu);
    a->st.cursor = mb.cursor;
    snprintf(a->st.resync_reason, sizeof a->st.resync_reason, "%s", mb.resync_reason);
    snprintf(a->st.state, sizeof a->st.state, "%s", mb.needs_resync ? "needs_resync" : "following");
    pthread_mutex_unlock(&a->mu);
    if (mb.needs_resync) {
        node_journal_hold_remove(a->primary, a->hold);
        a->hold = -1;
    } else if (a->hold < 0) {
        a->hold = node_journal_hold_add(a->primary, a->cfg.name, mb.cursor + 1);
    } else {
        node_journal_hold_set(a->primary, a->hold, mb.cursor + 1);
    }
    return VT_OK;
}

/* Reads records after the last pending one (up to the batch limits). false + reason on a gap. */
static vt_rc fill(applier *a, uint64_t acked, bool *gap, vt_err *err)
{
    *gap = false;
    if (!a->reader) {
        vt_rc rc = journal_reader_open(journal_dir(node_journal(a->primary)), a->next_expected,
                                       &a->reader, err);
        if (rc == VT_ENOTFOUND) { /* trimmed: the records the backend needs are gone */
            char why[VT_ERR_MSG_MAX];
            snprintf(why, sizeof why, "%s", err->msg);
            *gap = true;
            return vt_err_set(err, VT_ENOTFOUND, "%s: run `volta resync --backend %s`", why,
                              a->cfg.name);
        }
        if (rc != VT_OK)
            return rc;
    }
    while (a->npend < a->cfg.batch_records && a->pend_bytes < a->cfg.batch_bytes) {
        if (a->npend && a->pend[a->npend - 1].seq >= acked)
            break; /* what follows is not acknowledged yet */
        journal_record rec;
        bool have = false;
        vt_rc rc = journal_reader_next(a->reader, &rec, &have, err);
        if (rc != VT_OK) {
            reader_close(a);
            return rc;
        }
        if (!have)
            break;
        if (rec.seq < a->next_expected)
            continue;
        if (rec.seq != a->next_expected) {
            *gap = true;
            return vt_err_set(err, VT_ENOTFOUND,
                              "journal record %llu is gone (the journal now starts at %llu): "
                              "run `volta resync --backend %s`",
                              (unsigned long long)a->next_expected, (unsigned long long)rec.seq,
                              a->cfg.name);
        }
        if (a->npend == a->cappend) {
            size_t nc = a->cappend ? a->cappend * 2 : 64;
            pending_rec *np = realloc(a->pend, nc * sizeof *np);
            if (!np)
                return vt_err_set(err, VT_ENOMEM, "out of memory");
            a->pend = np;
            a->cappend = nc;
        }
        uint8_t *copy = malloc(rec.len ? rec.len : 1);
        if (!copy)
            return vt_err_set(err, VT_ENOMEM, "out of memory");
        memcpy(copy, rec.data, rec.len);
        a->pend[a->npend++] = (pending_rec){rec.seq, rec.type, rec.time, rec.len, copy};
        a->pend_bytes += rec.len;
        a->next_expected = rec.seq + 1;
    }
    return VT_OK;
}

static void note_failure(applier *a, const vt_err *e, unsigned *backoff_ms, int64_t *last_log)
{
    int64_t now = wall_ns();
    pthread_mutex_lock(&a->mu);
    a->st.failures++;
    snprintf(a->st.last_error, sizeof a->st.last_error, "%s", e->msg);
    a->st.last_error_at = now;
    bool first = strcmp(a->st.state, "retrying") != 0;
    snprintf(a->st.state, sizeof a->st.state, "retrying");
    pthread_mutex_unlock(&a->mu);
    if (first || now - *last_log > 30 * 1000000000LL) {
        char msg[700];
        snprintf(msg, sizeof msg, "apply failed (retrying every <= %u ms): %s", a->cfg.retry_max_ms,
                 e->msg);
        log_json("warn", a->cfg.name, msg);
        vt_err me;
        vt_err_clear(&me);
        meta_backend_failure(a->meta, a->cfg.name, e->msg, &me);
        *last_log = now;
    }
    *backoff_ms = *backoff_ms ? *backoff_ms * 2 : 100;
    if (*backoff_ms > a->cfg.retry_max_ms)
        *backoff_ms = a->cfg.retry_max_ms;
}

/* The cursor moved to seq (time t): persist it, mark ledger files, release the journal. */
static void advance(applier *a, uint64_t seq, int64_t t, uint64_t records)
{
    vt_err e;
    vt_err_clear(&e);
    if (meta_backend_set_cursor(a->meta, a->cfg.name, seq, t, records, false, &e) != VT_OK)
        log_json("error", a->cfg.name, e.msg); /* re-applied after a restart: harmless */
    vt_err_clear(&e);
    meta_files_applied_upto(a->meta, a->cfg.name, seq, wall_ns(), NULL, &e);
    if (a->hold >= 0)
        node_journal_hold_set(a->primary, a->hold, seq + 1);
    pthread_mutex_lock(&a->mu);
    a->st.cursor = seq;
    a->st.applied_records += records;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

static void *applier_main(void *arg)
{
    applier *a = arg;
    vt_thread_name("volta-applier");
    unsigned backoff = 0;
    int64_t last_log = 0;
    vt_err e;
    vt_err_clear(&e);
    if (load_state(a, &e) != VT_OK)
        log_json("error", a->cfg.name, e.msg);
    journal *j = node_journal(a->primary);
    for (;;) {
        pthread_mutex_lock(&a->mu);
        if (a->reset) {
            a->reset = false;
            pthread_mutex_unlock(&a->mu);
            vt_err_clear(&e);
            if (load_state(a, &e) != VT_OK)
                log_json("error", a->cfg.name, e.msg);
            backoff = 0;
            continue;
        }
        while (a->pause && !a->stop && !a->reset) {
            a->paused = true;
            pthread_cond_broadcast(&a->cv);
            pthread_cond_wait(&a->cv, &a->mu);
        }
        a->paused = false;
        bool stop = a->stop;
        bool resync = strcmp(a->st.state, "needs_resync") == 0;
        pthread_mutex_unlock(&a->mu);
        if (stop)
            break;
        if (resync) {
            if (!nap(a, 200))
                break;
            continue;
        }
        uint64_t acked = journal_acked_seq(j);
        pthread_mutex_lock(&a->mu);
        a->st.primary_seq = acked;
        pthread_mutex_unlock(&a->mu);

        bool gap = false;
        vt_err_clear(&e);
        if (fill(a, acked, &gap, &e) != VT_OK) {
            if (gap) {
                enter_needs_resync(a, e.msg);
                continue;
            }
            note_failure(a, &e, &backoff, &last_log);
            if (!nap(a, backoff))
                break;
            continue;
        }
        pthread_mutex_lock(&a->mu);
        a->oldest_ns = a->npend ? a->pend[0].time : 0;
        pthread_mutex_unlock(&a->mu);
        size_t ready = 0;
        while (ready < a->npend && a->pend[ready].seq <= acked)
            ready++;
        if (ready == 0) {
            if (!nap(a, 10))
                break;
            continue;
        }
        /* held too long? (applier.h: hold_max_seconds) */
        if (a->cfg.hold_max_seconds && backoff) {
            int64_t age = wall_ns() - a->pend[0].time;
            if (age > (int64_t)a->cfg.hold_max_seconds * 1000000000LL) {
                char why[256];
                snprintf(why, sizeof why,
                         "behind the primary for more than %llu s (hold_max_seconds): the journal "
                         "was released; run `volta resync --backend %s`",
                         (unsigned long long)a->cfg.hold_max_seconds, a->cfg.name);
                enter_needs_resync(a, why);
                continue;
            }
        }
        if (ready > a->capbatch) {
            journal_record *nb = realloc(a->batch, ready * sizeof *nb);
            if (!nb) {
                vt_err_set(&e, VT_ENOMEM, "out of memory");
                note_failure(a, &e, &backoff, &last_log);
                nap(a, backoff);
                continue;
            }
            a->batch = nb;
            a->capbatch = ready;
        }
        for (size_t i = 0; i < ready; i++)
            a->batch[i] = (journal_record){a->pend[i].seq, a->pend[i].type, a->pend[i].time,
                                           a->pend[i].data, a->pend[i].len};
        size_t applied = 0;
        vt_err_clear(&e);
        vt_rc rc = backend_apply(a->be, a->batch, ready, &applied, &e);
        if (applied > 0) {
            uint64_t seq = a->pend[applied - 1].seq;
            int64_t t = a->pend[applied - 1].time;
            pend_clear(a, applied);
            pthread_mutex_lock(&a->mu);
            a->oldest_ns = a->npend ? a->pend[0].time : 0;
            pthread_mutex_unlock(&a->mu);
            advance(a, seq, t, applied);
        }
        if (rc != VT_OK) {
            note_failure(a, &e, &backoff, &last_log);
            if (!nap(a, backoff))
                break;
            continue;
        }
        if (backoff) {
            log_json("info", a->cfg.name, "backend reachable again: catching up");
            backoff = 0;
        }
        set_state(a, "following");
    }
    reader_close(a);
    pend_clear(a, a->npend);
    set_state(a, "stopped");
    return NULL;
}

vt_rc applier_start(node *primary, meta *m, backend *b, const config_backend *cfg, applier **out,
                    vt_err *err)
{
    applier *a = calloc(1, sizeof *a);
    if (!a) {
        backend_close(b);
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    }
    a->primary = primary;
    a->meta = m;
    a->be = b;
    a->cfg = *cfg;
    if (!a->cfg.batch_records)
        a->cfg.batch_records = 512;
    if (!a->cfg.batch_bytes)
        a->cfg.batch_bytes = 8u << 20;
    if (!a->cfg.retry_max_ms)
        a->cfg.retry_max_ms = 5000;
    a->hold = -1;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    snprintf(a->st.name, sizeof a->st.name, "%s", cfg->name);
    snprintf(a->st.type, sizeof a->st.type, "%s", backend_type(b));
    snprintf(a->st.role, sizeof a->st.role, "%s", cfg->role[0] ? cfg->role : "backup");
    snprintf(a->st.state, sizeof a->st.state, "starting");
    /* take the hold before the thread runs, so no trim slips in between */
    meta_backend mb;
    vt_rc rc = meta_backend_get(m, cfg->name, &mb, err);
    if (rc == VT_OK && !mb.needs_resync)
        a->hold = node_journal_hold_add(primary, cfg->name, mb.cursor + 1);
    if (rc == VT_OK && pthread_create(&a->thread, NULL, applier_main, a) != 0)
        rc = vt_err_set(err, VT_ENOMEM, "cannot start the applier thread of %s", cfg->name);
    if (rc != VT_OK) {
        node_journal_hold_remove(primary, a->hold);
        backend_close(b);
        pthread_mutex_destroy(&a->mu);
        pthread_cond_destroy(&a->cv);
        free(a);
        return rc;
    }
    a->running = true;
    *out = a;
    return VT_OK;
}

void applier_stop(applier *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    a->stop = true;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    if (a->running)
        pthread_join(a->thread, NULL);
    /* the hold stays with the node: stopping the server stops the appliers before the node
     * closes, and the node's last flush + trim must still keep what this backend needs */
    backend_close(a->be);
    free(a->pend);
    free(a->batch);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    free(a);
}

void applier_get_status(applier *a, applier_status *out)
{
    uint64_t acked = journal_acked_seq(node_journal(a->primary));
    pthread_mutex_lock(&a->mu);
    *out = a->st;
    int64_t oldest = a->oldest_ns;
    pthread_mutex_unlock(&a->mu);
    out->primary_seq = acked;
    out->lag_records = acked > out->cursor ? acked - out->cursor : 0;
    out->lag_seconds = 0;
    if (out->lag_records && oldest)
        out->lag_seconds = (double)(wall_ns() - oldest) / 1e9;
    if (out->lag_seconds < 0)
        out->lag_seconds = 0;
}

backend *applier_backend(applier *a)
{
    return a->be;
}

bool applier_wait_for(applier *a, uint64_t seq, unsigned timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&a->mu);
    while (a->st.cursor < seq && !a->stop)
        if (pthread_cond_timedwait(&a->cv, &a->mu, &ts) == ETIMEDOUT)
            break;
    bool ok = a->st.cursor >= seq;
    pthread_mutex_unlock(&a->mu);
    return ok;
}

void applier_pause(applier *a, bool pause)
{
    pthread_mutex_lock(&a->mu);
    a->pause = pause;
    pthread_cond_broadcast(&a->cv);
    if (pause)
        while (!a->paused && !a->stop && strcmp(a->st.state, "stopped") != 0)
            pthread_cond_wait(&a->cv, &a->mu);
    pthread_mutex_unlock(&a->mu);
}

void applier_reset(applier *a)
{
    pthread_mutex_lock(&a->mu);
    a->reset = true;
    a->pause = false;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
}
