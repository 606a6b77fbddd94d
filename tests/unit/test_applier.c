/*
 * tests/unit/test_applier.c — covers src/backend/applier.c, src/backend/backend.c (native and,
 * unreachable, influx) and src/ops/resync.c.
 *
 * In-process: a primary node + meta.db in a temp directory, a native backup backend in another.
 * Checked: an applier follows every kind of record (writes to several databases, a delete, a
 * retention policy) and the backup directory, opened as a node of its own, has the same data;
 * the cursor persisted in the control plane and a restart applying nothing twice; the journal
 * hold (a down backend keeps the primary from trimming what it still needs) and its release
 * after hold_max_seconds (needs_resync); resync_backend (dry run, then for real) rebuilding a
 * backend that missed records from the catalog, the ledger's files and the journal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend/applier.h"
#include "backend/backend.h"
#include "common/buf.h"
#include "core/config.h"
#include "core/node.h"
#include "core/record.h"
#include "ingest/loader.h"
#include "meta/meta.h"
#include "ops/resync.h"
#include "query/influxql_exec.h"

#define SEC INT64_C(1000000000)

/* Fails the running test with the explanation of the regression it guards against. */
#define fail_because(msg) fail_msg("%s", msg)

/* ---- helpers ------------------------------------------------------------------------------- */

typedef struct fixture {
    char dir[64];
    char primary[96], backup[96], landing[96];
    node *n;
    meta *m;
    applier *a; /* the running applier, stopped by teardown when a test fails */
} fixture;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * SEC + ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static node *open_node(const char *dir, uint64_t segment_bytes)
{
    node_options o;
    node_options_default(&o);
    o.engine.background = false;
    o.journal.fsync = JOURNAL_FSYNC_NEVER;
    if (segment_bytes)
        o.journal.segment_bytes = segment_bytes;
    o.journal_trim = false; /* the tests trim with node_trim_journal */
    o.retention = false;
    node *n = NULL;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = node_open(dir, &o, &n, NULL, &err);
    if (rc != VT_OK)
        fail_msg("node_open %s: %s", dir, err.msg);
    return n;
}

static int setup_with(void **state, uint64_t segment_bytes)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/volta-test-applier-XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    snprintf(fx->primary, sizeof fx->primary, "%s/primary", fx->dir);
    snprintf(fx->backup, sizeof fx->backup, "%s/backup", fx->dir);
    snprintf(fx->landing, sizeof fx->landing, "%s/landing", fx->dir);
    if (mkdir(fx->landing, 0755) != 0)
        return -1;
    fx->n = open_node(fx->primary, segment_bytes);
    char p[160];
    snprintf(p, sizeof p, "%s/meta.db", fx->primary);
    vt_err err;
    if (meta_open(p, &fx->m, &err) != VT_OK) {
        print_error("meta_open: %s\n", err.msg);
        return -1;
    }
    *state = fx;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, 0);
}

static int setup_small_segments(void **state)
{
    return setup_with(state, 4096);
}

static int teardown(void **state)
{
    fixture *fx = *state;
    vt_err err;
    applier_stop(fx->a);
    meta_close(fx->m);
    if (node_close(fx->n, &err) != VT_OK)
        print_error("node_close: %s\n", err.msg);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    int rc = system(cmd);
    free(fx);
    return rc == 0 ? 0 : -1;
}

/* A loopback port nothing listens on (bound, then closed). */
static unsigned closed_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    return ntohs(a.sin_port);
}

static config_backend native_cfg(const char *name, const char *path)
{
    config_backend c;
    config_backend_defaults(&c);
    snprintf(c.name, sizeof c.name, "%s", name);
    snprintf(c.type, sizeof c.type, "native");
    snprintf(c.path, sizeof c.path, "%s", path);
    return c;
}

static config_backend down_influx_cfg(const char *name, uint64_t hold_max_seconds)
{
    config_backend c;
    config_backend_defaults(&c);
    snprintf(c.name, sizeof c.name, "%s", name);
    snprintf(c.type, sizeof c.type, "influx");
    snprintf(c.url, sizeof c.url, "http://127.0.0.1:%u", closed_port());
    c.retry_max_ms = 100;
    c.timeout_ms = 2000;
    c.hold_max_seconds = hold_max_seconds;
    return c;
}

static applier *start(fixture *fx, const config_backend *cfg)
{
    backend *b = NULL;
    vt_err err;
    vt_err_clear(&err);
    if (backend_open(cfg, &b, &err) != VT_OK)
        fail_msg("backend_open %s: %s", cfg->name, err.msg);
    applier *a = NULL;
    if (applier_start(fx->n, fx->m, b, cfg, &a, &err) != VT_OK)
        fail_msg("applier_start %s: %s", cfg->name, err.msg);
    fx->a = a;
    return a;
}

static void stop(fixture *fx)
{
    applier_stop(fx->a);
    fx->a = NULL;
}

static uint64_t write_lp(node *n, const char *db, const char *rp, const char *lp)
{
    node_write_result res;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = node_write(n, db, rp, LP_PRECISION_NS, now_ns(), lp, strlen(lp), &res, &err);
    if (rc != VT_OK)
        fail_msg("node_write %s: %s", db, err.msg);
    assert_true(res.seq > 0);
    return res.seq;
}

static void create_db(node *n, const char *db)
{
    vt_err err;
    if (node_create_db(n, db, &err) != VT_OK)
        fail_msg("node_create_db %s: %s", db, err.msg);
}

/* The first number of the first row of the first series of an InfluxDB JSON response (a
 * count() or sum()); 0 when the result has no series; -1 on a statement error. */
static double json_first_num(const char *json, size_t len)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    if (!root)
        fail_msg("bad JSON: %s", jerr.text);
    json_t *res0 = json_array_get(json_object_get(root, "results"), 0);
    double v = 0;
    if (json_object_get(res0, "error")) {
        v = -1;
    } else {
        json_t *s0 = json_array_get(json_object_get(res0, "series"), 0);
        json_t *row = json_array_get(json_object_get(s0, "values"), 0);
        if (row)
            v = json_number_value(json_array_get(row, 1));
    }
    json_decref(root);
    return v;
}

static double q_num(node *n, const char *db, const char *q)
{
    vt_buf out;
    vt_buf_init(&out);
    vt_err err;
    vt_err_clear(&err);
    if (iql_run_json(n, db, NULL, q, strlen(q), 1, &out, &err) != VT_OK)
        fail_msg("iql_run_json %s: %s", q, err.msg);
    double v = json_first_num((const char *)out.data, out.len);
    vt_buf_free(&out);
    return v;
}

static double backend_num(backend *b, const char *db, const char *q)
{
    char *json = NULL;
    vt_err err;
    vt_err_clear(&err);
    if (backend_query(b, db, q, &json, &err) != VT_OK)
        fail_msg("backend_query %s: %s", q, err.msg);
    double v = json_first_num(json, strlen(json));
    free(json);
    return v;
}

/* Polls the applier's state until it is `want` (or timeout_ms passes). */
static bool wait_state(applier *a, const char *want, unsigned timeout_ms, applier_status *st)
{
    for (unsigned t = 0;; t += 20) {
        applier_get_status(a, st);
        if (strcmp(st->state, want) == 0)
            return true;
        if (t >= timeout_ms)
            return false;
        sleep_ms(20);
    }
}

static meta_backend backend_row(meta *m, const char *name)
{
    meta_backend mb;
    vt_err err;
    if (meta_backend_get(m, name, &mb, &err) != VT_OK)
        fail_msg("meta_backend_get %s: %s", name, err.msg);
    return mb;
}

static void flush_primary(fixture *fx)
{
    vt_err err;
    if (engine_flush(node_engine(fx->n), &err) != VT_OK)
        fail_msg("engine_flush: %s", err.msg);
}

/* ~600 bytes of line protocol per record, n records: several 4 KiB journal segments. */
static uint64_t write_many(node *n, const char *db, int records, int64_t t0)
{
    uint64_t seq = 0;
    for (int r = 0; r < records; r++) {
        char lp[1024];
        size_t k = 0;
        for (int i = 0; i < 10; i++)
            k += (size_t)snprintf(lp + k, sizeof lp - k,
                                  "bulk,host=host-%02d,region=somewhere-far value=%d.5 %" PRId64
                                  "\n",
                                  i, r * 10 + i, t0 + (int64_t)(r * 10 + i) * SEC);
        seq = write_lp(n, db, "", lp);
    }
    return seq;
}

/* ---- following a primary -------------------------------------------------------------------- */

static void test_follow_native(void **state)
{
    fixture *fx = *state;
    config_backend cfg = native_cfg("bk", fx->backup);
    applier *a = start(fx, &cfg);
    applier_status st;
    applier_get_status(a, &st);
    assert_string_equal(st.name, "bk");
    assert_string_equal(st.type, "native");
    assert_string_equal(st.role, "backup");

    create_db(fx->n, "db1");
    create_db(fx->n, "db2");
    write_lp(fx->n, "db1", "",
             "cpu,host=a v=1 1000000000\ncpu,host=b v=2 2000000000\ncpu,host=a v=3 3000000000\n");
    write_lp(fx->n, "db2", "", "mem,host=a used=10i 1000000000\nmem,host=a used=11i 2000000000\n");
    node_rp_spec week = {.name = "week", .has_duration = true, .duration = 7 * 24 * 3600 * SEC};
    vt_err err;
    assert_int_equal(node_create_rp(fx->n, "db1", &week, false, &err), VT_OK);
    char lp[256];
    int64_t now = now_ns();
    snprintf(lp, sizeof lp, "cpu,host=w v=7 %" PRId64 "\ncpu,host=w v=8 %" PRId64 "\n",
             now - 3600 * SEC, now - 60 * SEC);
    write_lp(fx->n, "db1", "week", lp);
    /* DELETE FROM cpu WHERE time = 2s (host b's only point) */
    uint64_t *ids = NULL;
    size_t nids = 0;
    assert_int_equal(
        engine_series_of_measurement(node_engine(fx->n), "db1", "cpu", &ids, &nids, &err), VT_OK);
    assert_int_equal(nids, 2);
    assert_int_equal(node_delete(fx->n, "db1", ids, nids, 2 * SEC, 2 * SEC, &err), VT_OK);
    free(ids);
    assert_int_equal(q_num(fx->n, "db1", "SELECT count(v) FROM cpu"), 2);
    uint64_t last = journal_last_seq(node_journal(fx->n));
    assert_true(last >= 7);

    assert_true(applier_wait_for(a, last, 10000));
    applier_get_status(a, &st);
    assert_int_equal(st.cursor, last);
    assert_int_equal(st.primary_seq, last);
    assert_int_equal(st.lag_records, 0);
    assert_true(st.lag_seconds == 0);
    assert_int_equal(st.applied_records, last);
    assert_int_equal(st.failures, 0);
    assert_true(wait_state(a, "following", 2000, &st));
    meta_backend mb = backend_row(fx->m, "bk");
    assert_int_equal(mb.cursor, last);
    assert_int_equal(mb.applied_records, last);
    assert_false(mb.needs_resync);
    assert_true(mb.cursor_time > 0);
    assert_true(mb.updated_at > 0);
    /* the backend answers queries while it follows */
    assert_int_equal(backend_num(applier_backend(a), "db2", "SELECT count(used) FROM mem"), 2);
    stop(fx);

    /* the backup directory is a volta instance of its own with the same data */
    node *bk = open_node(fx->backup, 0);
    assert_int_equal(q_num(bk, "db1", "SELECT count(v) FROM cpu"), 2);
    assert_int_equal(q_num(bk, "db1", "SELECT sum(v) FROM cpu"), 4);
    assert_int_equal(q_num(bk, "db1", "SELECT count(v) FROM cpu WHERE host = 'b'"), 0);
    assert_int_equal(q_num(bk, "db2", "SELECT sum(used) FROM mem"), 21);
    assert_int_equal(q_num(bk, "db1", "SELECT count(v) FROM week.cpu"), 2);
    record_rpcat cat;
    assert_int_equal(node_rp_catalog(bk, "db1", &cat, &err), VT_OK);
    record_rp *rp = record_rpcat_find(&cat, "week");
    assert_non_null(rp);
    assert_int_equal(rp->duration, 7 * 24 * 3600 * SEC);
    assert_non_null(record_rpcat_find(&cat, "autogen"));
    assert_string_equal(cat.default_rp, "autogen");
    record_rpcat_free(&cat);
    assert_int_equal(node_close(bk, &err), VT_OK);

    /* restart from the persisted cursor: nothing applied again */
    a = start(fx, &cfg);
    assert_true(applier_wait_for(a, last, 1000));
    assert_true(wait_state(a, "following", 2000, &st));
    sleep_ms(200);
    applier_get_status(a, &st);
    assert_int_equal(st.cursor, last);
    assert_int_equal(st.applied_records, 0);
    assert_int_equal(st.lag_records, 0);
    uint64_t seq = write_lp(fx->n, "db1", "", "cpu,host=c v=100 4000000000\n");
    assert_int_equal(seq, last + 1);
    assert_true(applier_wait_for(a, seq, 10000));
    applier_get_status(a, &st);
    assert_int_equal(st.applied_records, 1);
    assert_int_equal(st.cursor, seq);
    assert_int_equal(backend_num(applier_backend(a), "db1", "SELECT sum(v) FROM cpu"), 104);
    stop(fx);
    mb = backend_row(fx->m, "bk");
    assert_int_equal(mb.cursor, seq);
    assert_int_equal(mb.applied_records, last + 1);
}

/* ---- journal hold --------------------------------------------------------------------------- */

static void test_journal_hold_for_down_backend(void **state)
{
    fixture *fx = *state;
    config_backend cfg = down_influx_cfg("idb", 0);
    applier *a = start(fx, &cfg);
    create_db(fx->n, "db");
    uint64_t last = write_many(fx->n, "db", 30, 1000 * SEC);
    applier_status st;
    assert_true(wait_state(a, "retrying", 5000, &st));
    applier_get_status(a, &st);
    assert_int_equal(st.cursor, 0);
    assert_int_equal(st.lag_records, last);
    assert_true(st.failures >= 1);
    assert_true(st.last_error[0] != '\0');
    assert_true(st.last_error_at > 0);
    assert_true(st.lag_seconds > 0);
    /* the state turns "retrying" before the failure reaches meta.db: wait for the row */
    meta_backend mb = backend_row(fx->m, "idb");
    for (int i = 0; i < 500 && mb.failures < 1; i++) {
        usleep(10000);
        mb = backend_row(fx->m, "idb");
    }
    assert_true(mb.failures >= 1);
    assert_true(mb.last_error[0] != '\0');
    assert_int_equal(mb.cursor, 0);

    /* everything is in the engine's segment files, but the applier still needs it all */
    flush_primary(fx);
    assert_int_equal(engine_checkpoint_seq(node_engine(fx->n)), last);
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(node_trim_journal(fx->n, &err), 0);
    assert_int_equal(err.rc, VT_OK);
    assert_int_equal(journal_first_seq(node_journal(fx->n)), 1);
    assert_true(journal_first_seq(node_journal(fx->n)) <= st.cursor + 1);
    /* the applier can still read every record it needs */
    journal_reader *r = NULL;
    assert_int_equal(journal_reader_open(journal_dir(node_journal(fx->n)), 1, &r, &err), VT_OK);
    journal_record rec;
    bool have = false;
    assert_int_equal(journal_reader_next(r, &rec, &have, &err), VT_OK);
    assert_true(have);
    assert_int_equal(rec.seq, 1);
    journal_reader_close(r);

    /* the hold outlives the applier (the node's closing trim must keep what the backend needs:
     * a server stops its appliers before it closes the node) */
    stop(fx);
    assert_int_equal(node_trim_journal(fx->n, &err), 0);
    assert_int_equal(journal_first_seq(node_journal(fx->n)), 1);
    assert_int_equal(journal_last_seq(node_journal(fx->n)), last);
}

static void test_hold_released_after_hold_max(void **state)
{
    fixture *fx = *state;
    config_backend cfg = down_influx_cfg("idb", 1);
    applier *a = start(fx, &cfg);
    /* the hold counts from the oldest record the backend lacks: the CREATE DATABASE */
    int64_t t_write = now_ns();
    create_db(fx->n, "db");
    uint64_t last = write_many(fx->n, "db", 30, 1000 * SEC);
    applier_status st;
    assert_true(wait_state(a, "retrying", 3000, &st));
    /* still held before a second has passed */
    flush_primary(fx);
    vt_err err;
    vt_err_clear(&err);
    if (now_ns() - t_write < 800000000) {
        assert_int_equal(node_trim_journal(fx->n, &err), 0);
        assert_int_equal(journal_first_seq(node_journal(fx->n)), 1);
    }
    assert_true(wait_state(a, "needs_resync", 6000, &st));
    assert_true(now_ns() - t_write > SEC);
    assert_non_null(strstr(st.resync_reason, "hold_max_seconds"));
    assert_int_equal(st.cursor, 0);
    assert_int_equal(st.lag_records, last);
    meta_backend mb = backend_row(fx->m, "idb");
    assert_true(mb.needs_resync);
    assert_non_null(strstr(mb.resync_reason, "hold_max_seconds"));
    assert_non_null(strstr(mb.resync_reason, "idb"));

    /* released: the trim deletes what the backend never got (here: every record) */
    assert_true(node_trim_journal(fx->n, &err) >= 1);
    assert_int_equal(journal_first_seq(node_journal(fx->n)), 0);
    /* and it stays needs_resync (no progress, no new hold) */
    sleep_ms(300);
    applier_get_status(a, &st);
    assert_string_equal(st.state, "needs_resync");
    stop(fx);

    /* a restart keeps the mark: the applier waits for a resync */
    cfg = down_influx_cfg("idb", 1);
    a = start(fx, &cfg);
    assert_true(wait_state(a, "needs_resync", 2000, &st));
    stop(fx);
}

/* ---- resync --------------------------------------------------------------------------------- */

#define LOAD_CSV                                                                                   \
    "id_subsistema;nom_subsistema;din_instante;val_cargaenergiahomwmed\n"                          \
    "N;NORTE;2024-01-01 00:00:00;100.5\n"                                                          \
    "N;NORTE;2024-01-01 01:00:00;101\n"                                                            \
    "S;SUL;2024-01-01 00:00:00;200\n"

static void test_resync_native(void **state)
{
    fixture *fx = *state;
    /* the ledger has a file (loaded through the journal), the API wrote a point, the database
     * has a second retention policy */
    char dir[200], full[300];
    snprintf(dir, sizeof dir, "%s/dataset=load", fx->landing);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(full, sizeof full, "%s/l.csv", dir);
    FILE *fp = fopen(full, "wb");
    assert_non_null(fp);
    fputs(LOAD_CSV, fp);
    assert_int_equal(fclose(fp), 0);
    loader_options lo = {.database = "ons", .root = fx->landing};
    load_result lr;
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(loader_load_file(fx->n, fx->m, full, "dataset=load/l.csv", &lo, &lr, &err),
                     VT_OK);
    assert_int_equal(lr.outcome, LOAD_LOADED);
    assert_int_equal(lr.file.points, 3);
    node_rp_spec week = {.name = "week", .has_duration = true, .duration = 7 * 24 * 3600 * SEC};
    assert_int_equal(node_create_rp(fx->n, "ons", &week, false, &err), VT_OK);
    create_db(fx->n, "api");
    write_lp(fx->n, "api", "", "hits value=1 1000000000\n");

    /* the primary trims everything (no backend held it), then writes on */
    flush_primary(fx);
    assert_true(node_trim_journal(fx->n, &err) >= 1);
    uint64_t k = write_lp(fx->n, "api", "", "hits value=2 2000000000\n");
    assert_int_equal(journal_first_seq(node_journal(fx->n)), k);

    /* a new native backend, marked as its applier marks it when record 1 is gone (that
     * detection: test_applier_detects_trimmed_journal) */
    assert_int_equal(meta_backend_set_resync(fx->m, "bk", true, "test: journal trimmed", &err),
                     VT_OK);
    config_backend cfg = native_cfg("bk", fx->backup);
    backend *b = NULL;
    assert_int_equal(backend_open(&cfg, &b, &err), VT_OK);
    meta_backend mb = backend_row(fx->m, "bk");
    assert_true(mb.needs_resync);
    assert_int_equal(mb.cursor, 0);

    /* dry run: the report, nothing changed */
    resync_report rep;
    vt_buf text;
    vt_buf_init(&text);
    assert_int_equal(resync_backend(fx->n, fx->m, b, "bk", fx->landing, true, &rep, &text, &err),
                     VT_OK);
    assert_int_equal(rep.cursor_before, 0);
    assert_int_equal(rep.journal_first, k);
    assert_int_equal(rep.journal_last, k);
    assert_int_equal(rep.gap_records, k - 1);
    assert_int_equal(rep.databases, 2);
    assert_int_equal(rep.files_missing, 1);
    assert_int_equal(rep.files_applied, 0);
    assert_int_equal(rep.files_gone, 0);
    assert_int_equal(rep.points_sent, 0);
    assert_int_equal(rep.records_applied, 0);
    assert_true(rep.was_needs_resync);
    const char *t = vt_buf_cstr(&text);
    assert_non_null(strstr(t, "would re-send dataset=load/l.csv (3 points)"));
    assert_non_null(strstr(t, "would create database ons"));
    mb = backend_row(fx->m, "bk");
    assert_int_equal(mb.cursor, 0);
    assert_true(mb.needs_resync);
    assert_true(backend_num(b, "ons", "SELECT count(value) FROM load") <= 0);

    /* for real */
    vt_buf_reset(&text);
    assert_int_equal(resync_backend(fx->n, fx->m, b, "bk", fx->landing, false, &rep, &text, &err),
                     VT_OK);
    assert_int_equal(rep.gap_records, k - 1);
    assert_int_equal(rep.databases, 2);
    assert_int_equal(rep.files_missing, 1);
    assert_int_equal(rep.files_applied, 1);
    assert_int_equal(rep.files_gone, 0);
    assert_int_equal(rep.points_sent, 3);
    assert_int_equal(rep.records_applied, 1);
    assert_int_equal(rep.cursor_before, 0);
    assert_int_equal(rep.cursor_after, k);
    t = vt_buf_cstr(&text);
    assert_non_null(strstr(t, "re-sent dataset=load/l.csv: 3 points"));
    assert_non_null(strstr(t, "cleared the needs-resync mark"));
    mb = backend_row(fx->m, "bk");
    assert_int_equal(mb.cursor, k);
    assert_false(mb.needs_resync);
    int64_t at = 0;
    assert_int_equal(meta_file_applied_at(fx->m, lr.file.id, "bk", &at, &err), VT_OK);
    assert_true(at > 0);
    meta_file *missing = NULL;
    size_t nmissing = 0;
    assert_int_equal(meta_files_not_applied(fx->m, "bk", &missing, &nmissing, &err), VT_OK);
    assert_int_equal(nmissing, 0);
    free(missing);

    /* the backup has the file's points, the catalog, the journal's record — not the API write
     * made inside the gap (resync.h: it cannot be rebuilt from the ledger) */
    assert_int_equal(backend_num(b, "ons", "SELECT count(value) FROM load"), 3);
    assert_true(backend_num(b, "ons", "SELECT sum(value) FROM load") == 401.5);
    assert_int_equal(backend_num(b, "api", "SELECT sum(value) FROM hits"), 2);
    char *json = NULL;
    assert_int_equal(backend_query(b, "ons", "SHOW RETENTION POLICIES ON ons", &json, &err), VT_OK);
    assert_non_null(strstr(json, "\"week\""));
    free(json);

    /* a second resync finds nothing to do */
    vt_buf_reset(&text);
    assert_int_equal(resync_backend(fx->n, fx->m, b, "bk", fx->landing, false, &rep, &text, &err),
                     VT_OK);
    assert_int_equal(rep.gap_records, 0);
    assert_int_equal(rep.records_applied, 0);
    assert_int_equal(rep.cursor_after, k);
    assert_false(rep.was_needs_resync);
    assert_non_null(strstr(vt_buf_cstr(&text), "nothing missing"));
    vt_buf_free(&text);

    /* an applier follows from the new cursor */
    backend_close(b);
    applier *a = start(fx, &cfg);
    applier_status st;
    assert_true(wait_state(a, "following", 3000, &st));
    assert_int_equal(st.cursor, k);
    b = applier_backend(a);
    uint64_t seq = write_lp(fx->n, "api", "", "hits value=3 3000000000\n");
    assert_true(applier_wait_for(a, seq, 10000));
    applier_get_status(a, &st);
    assert_int_equal(st.cursor, seq);
    assert_int_equal(st.lag_records, 0);
    assert_int_equal(backend_num(b, "api", "SELECT sum(value) FROM hits"), 5);
    stop(fx);
}

/* A backend added after the primary trimmed the records it needs: its applier goes
 * needs_resync (applier.h), then follows again after resync + applier_reset. */
static void test_applier_detects_trimmed_journal(void **state)
{
    fixture *fx = *state;
    create_db(fx->n, "db");
    write_many(fx->n, "db", 12, 1000 * SEC);
    flush_primary(fx);
    vt_err err;
    assert_true(node_trim_journal(fx->n, &err) >= 1);
    uint64_t k = write_lp(fx->n, "db", "", "m v=1 1000000000\n");
    assert_int_equal(journal_first_seq(node_journal(fx->n)), k);

    config_backend cfg = native_cfg("bk", fx->backup);
    applier *a = start(fx, &cfg);
    applier_status st;
    if (!wait_state(a, "needs_resync", 2000, &st)) {
        print_message("journal first %" PRIu64 "; applier state %s, cursor %" PRIu64
                      ", failures %" PRIu64 ", last_error \"%s\"\n",
                      journal_first_seq(node_journal(fx->n)), st.state, st.cursor, st.failures,
                      st.last_error);
        fail_because(
            "regression: applier: when the records after the cursor were trimmed, "
            "journal_reader_open(from = cursor + 1) fails with VT_ENOTFOUND (\"seq N is no "
            "longer retained\") and fill() reports it as an apply failure: the applier "
            "retries for ever instead of going needs_resync");
    }
    assert_non_null(strstr(st.resync_reason, "volta resync --backend bk"));
    meta_backend mb = backend_row(fx->m, "bk");
    assert_true(mb.needs_resync);
    applier_pause(a, true);
    resync_report rep;
    assert_int_equal(resync_backend(fx->n, fx->m, applier_backend(a), "bk", fx->landing, false,
                                    &rep, NULL, &err),
                     VT_OK);
    assert_int_equal(rep.gap_records, k - 1);
    assert_int_equal(rep.cursor_after, k);
    applier_reset(a);
    assert_true(wait_state(a, "following", 3000, &st));
    uint64_t seq = write_lp(fx->n, "db", "", "m v=2 2000000000\n");
    assert_true(applier_wait_for(a, seq, 10000));
    assert_int_equal(backend_num(applier_backend(a), "db", "SELECT sum(v) FROM m"), 3);
    stop(fx);
}

/* A backend added after the primary trimmed its whole journal (a clean restart leaves it
 * empty): the records it needs are gone, so it must not report `following` for ever. */
static void test_backend_added_after_full_trim(void **state)
{
    fixture *fx = *state;
    create_db(fx->n, "db");
    uint64_t last = write_lp(fx->n, "db", "", "m v=1 1000000000\n");
    flush_primary(fx);
    vt_err err;
    assert_true(node_trim_journal(fx->n, &err) >= 1);
    config_backend cfg = native_cfg("bk", fx->backup);
    applier *a = start(fx, &cfg);
    applier_status st;
    bool resync = wait_state(a, "needs_resync", 1500, &st);
    applier_get_status(a, &st);
    backend *b = applier_backend(a);
    applier_pause(a, true);
    resync_report rep;
    assert_int_equal(resync_backend(fx->n, fx->m, b, "bk", fx->landing, true, &rep, NULL, &err),
                     VT_OK);
    stop(fx);
    if (!resync || rep.gap_records != last) {
        print_message("journal first %" PRIu64 " last %" PRIu64
                      "; applier state %s, cursor %" PRIu64 ", lag_records %" PRIu64
                      "; resync gap_records %" PRIu64 "\n",
                      journal_first_seq(node_journal(fx->n)), journal_last_seq(node_journal(fx->n)),
                      st.state, st.cursor, st.lag_records, rep.gap_records);
        fail_because("regression: applier/resync: with the primary's journal empty "
                     "(journal_first_seq 0 "
                     "after a full trim) an applier behind it never goes needs_resync (see "
                     "test_applier_detects_trimmed_journal) and resync_backend sees no gap "
                     "(resync.c: gap = first > 0 && ...), so nothing is re-sent");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_follow_native, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_hold_for_down_backend, setup_small_segments,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hold_released_after_hold_max, setup_small_segments,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_resync_native, setup_small_segments, teardown),
        cmocka_unit_test_setup_teardown(test_applier_detects_trimmed_journal, setup_small_segments,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_backend_added_after_full_trim, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
