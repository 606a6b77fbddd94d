/*
 * Unit tests for core/node: the write path (parse -> journal -> engine), partial writes, type
 * conflicts, replay after a crash (a forked child that exits without closing), sticky failure on
 * an injected fsync error, the data-directory lock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/faultinj.h"
#include "core/node.h"

static char *make_tmpdir(void)
{
    char tmpl[] = "/tmp/volta-test-node-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static void rm_rf(char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

static node *open_node(const char *dir, node_open_info *info)
{
    node_options o;
    node_options_default(&o);
    o.engine.background = false;
    node *n = NULL;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = node_open(dir, &o, &n, info, &err);
    if (rc != VT_OK)
        fail_msg("node_open %s: %s", dir, err.msg);
    return n;
}

/* Sums the float values and counts the points of every series/field of db. */
typedef struct tally {
    engine *eng;
    const char *db;
    uint64_t points;
    double sum;
    int64_t last_time;
} tally;

static bool tally_points(void *ctx, const engine_points *p)
{
    tally *t = ctx;
    for (size_t i = 0; i < p->n; i++) {
        t->points++;
        if (p->type == VT_TYPE_FLOAT)
            t->sum += p->f[i];
        else if (p->type == VT_TYPE_INT)
            t->sum += (double)p->i[i];
        t->last_time = p->time[i];
    }
    return true;
}

static bool tally_series(void *ctx, const engine_series_info *s)
{
    tally *t = ctx;
    for (size_t i = 0; i < s->nfields; i++) {
        vt_err err;
        vt_rc rc = engine_read(t->eng, t->db, s->id, s->fields[i].name, INT64_MIN, INT64_MAX,
                               tally_points, t, &err);
        if (rc != VT_OK)
            fail_msg("engine_read: %s", err.msg);
    }
    return true;
}

static tally count_db(node *n, const char *db)
{
    tally t = {node_engine(n), db, 0, 0, 0};
    vt_err err;
    vt_rc rc = engine_foreach_series(node_engine(n), db, NULL, tally_series, &t, &err);
    if (rc != VT_OK)
        fail_msg("engine_foreach_series: %s", err.msg);
    return t;
}

static vt_rc write_str(node *n, const char *db, const char *body, node_write_result *res,
                       vt_err *err)
{
    return node_write(n, db, "", LP_PRECISION_NS, 1000, body, strlen(body), res, err);
}

static void test_write_and_read(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    node *n = open_node(dir, NULL);
    vt_err err;
    node_write_result res;
    assert_int_equal(write_str(n, "ons", "load,subsystem=SE value=1 10\n", &res, &err),
                     VT_ENOTFOUND);
    assert_non_null(strstr(err.msg, "database not found"));
    assert_int_equal(node_create_db(n, "ons", &err), VT_OK);
    assert_int_equal(node_create_db(n, "ons", &err), VT_OK); /* idempotent */
    const char *body = "load,subsystem=SE value=40000.5 3600000000000\n"
                       "load,subsystem=S value=12000.25 3600000000000\n"
                       "load,subsystem=SE value=41000.5 7200000000000\n"
                       "load,subsystem=N value=5000\n"; /* default time */
    assert_int_equal(write_str(n, "ons", body, &res, &err), VT_OK);
    assert_int_equal(res.points, 4);
    assert_int_equal(res.lines_rejected, 0);
    assert_true(res.seq > 0);
    tally t = count_db(n, "ons");
    assert_int_equal(t.points, 4);
    assert_true(t.sum == 40000.5 + 12000.25 + 41000.5 + 5000);
    /* last write wins on (series, field, time) */
    assert_int_equal(write_str(n, "ons", "load,subsystem=SE value=1 3600000000000", &res, &err),
                     VT_OK);
    t = count_db(n, "ons");
    assert_int_equal(t.points, 4);
    assert_true(t.sum == 1 + 12000.25 + 41000.5 + 5000);
    assert_int_equal(node_close(n, &err), VT_OK);

    /* a clean close leaves nothing to replay, and the data is there */
    node_open_info info;
    n = open_node(dir, &info);
    assert_int_equal(info.replayed_records, 0);
    t = count_db(n, "ons");
    assert_int_equal(t.points, 4);
    assert_true(t.sum == 1 + 12000.25 + 41000.5 + 5000);
    assert_int_equal(node_close(n, &err), VT_OK);
    rm_rf(dir);
}

static void test_partial_write_and_type_conflict(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    node *n = open_node(dir, NULL);
    vt_err err;
    node_write_result res;
    assert_int_equal(node_create_db(n, "db", &err), VT_OK);
    const char *body = "m value=1 1\n"
                       "m value=oops 2\n"
                       "m value=3 3\n";
    assert_int_equal(write_str(n, "db", body, &res, &err), VT_EPARSE);
    assert_int_equal(res.points, 2);
    assert_int_equal(res.lines_rejected, 1);
    assert_non_null(strstr(res.error, "unable to parse 'm value=oops 2'"));
    assert_non_null(strstr(res.error, "line 2"));

    assert_int_equal(write_str(n, "db", "m value=5i 4\nm value=6 5\n", &res, &err), VT_ETYPE);
    assert_int_equal(res.points, 1);
    assert_int_equal(res.lines_rejected, 1);
    assert_true(res.type_conflict);
    assert_non_null(strstr(res.error, "field type conflict"));
    tally t = count_db(n, "db");
    assert_int_equal(t.points, 3);
    assert_true(t.sum == 1 + 3 + 6);
    assert_int_equal(node_close(n, &err), VT_OK);

    /* replay must see exactly the accepted lines: reopen after a crash-like exit */
    n = open_node(dir, NULL);
    t = count_db(n, "db");
    assert_int_equal(t.points, 3);
    assert_int_equal(node_close(n, &err), VT_OK);
    rm_rf(dir);
}

static void test_replay_after_crash(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        node_options o;
        node_options_default(&o);
        o.engine.background = false;
        node *n;
        vt_err err;
        if (node_open(dir, &o, &n, NULL, &err) != VT_OK || node_create_db(n, "ons", &err) != VT_OK)
            _exit(10);
        char body[4096];
        for (int batch = 0; batch < 50; batch++) {
            size_t len = 0;
            for (int i = 0; i < 20; i++)
                len += (size_t)snprintf(body + len, sizeof body - len,
                                        "gen,plant=p%d value=%d.5 %lld\n", i, batch,
                                        (long long)batch * 3600000000000LL);
            node_write_result res;
            if (node_write(n, "ons", "", LP_PRECISION_NS, 0, body, len, &res, &err) != VT_OK)
                _exit(11);
        }
        _exit(0); /* no close: the memtable is lost, the journal must bring it back */
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    node_open_info info;
    node *n = open_node(dir, &info);
    /* the CREATE DATABASE is in the engine manifest (checkpoint 1); the 50 writes replay */
    assert_int_equal(info.replayed_records, 50);
    assert_int_equal(info.replayed_points, 1000);
    tally t = count_db(n, "ons");
    assert_int_equal(t.points, 1000);
    double expect = 0;
    for (int b = 0; b < 50; b++)
        expect += 20 * (b + 0.5);
    assert_true(t.sum == expect);
    vt_err err;
    assert_int_equal(node_close(n, &err), VT_OK);
    rm_rf(dir);
}

static void test_fsync_failure_is_sticky(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    node *n = open_node(dir, NULL);
    vt_err err;
    node_write_result res;
    assert_int_equal(node_create_db(n, "db", &err), VT_OK);
    assert_int_equal(write_str(n, "db", "m value=1 1\n", &res, &err), VT_OK);
    vt_fault_reset();
    vt_fault_arm(VT_FAULT_FSYNC, 1, 0);
    vt_rc rc = write_str(n, "db", "m value=2 2\n", &res, &err);
    assert_true(rc == VT_EIO || rc == VT_EFATAL);
    assert_int_equal(res.points, 0); /* not acknowledged */
    assert_true(node_failed(n));
    vt_fault_reset();
    assert_int_equal(write_str(n, "db", "m value=3 3\n", &res, &err), VT_EFATAL);
    assert_int_equal(node_create_db(n, "other", &err), VT_EFATAL);
    node_close(n, &err);

    /* after a restart the acknowledged point is there; the unacknowledged one may or may not be */
    n = open_node(dir, NULL);
    tally t = count_db(n, "db");
    assert_true(t.points >= 1 && t.points <= 2);
    assert_false(node_failed(n));
    assert_int_equal(write_str(n, "db", "m value=4 4\n", &res, &err), VT_OK);
    assert_int_equal(node_close(n, &err), VT_OK);
    rm_rf(dir);
}

static void test_precision_and_limits(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    node *n = open_node(dir, NULL);
    vt_err err;
    node_write_result res;
    assert_int_equal(node_create_db(n, "db", &err), VT_OK);
    const char *body = "m value=1 1700000000\n";
    assert_int_equal(
        node_write(n, "db", "", LP_PRECISION_S, 0, body, strlen(body), &res, &err), VT_OK);
    tally t = count_db(n, "db");
    assert_int_equal(t.points, 1);
    assert_true(t.last_time == 1700000000LL * 1000000000LL);
    assert_int_equal(
        node_write(n, "db", "nope", LP_PRECISION_S, 0, body, strlen(body), &res, &err),
        VT_ENOTFOUND);
    assert_non_null(strstr(err.msg, "retention policy not found"));
    assert_int_equal(node_drop_db(n, "db", &err), VT_OK);
    assert_false(engine_has_db(node_engine(n), "db"));
    assert_int_equal(node_close(n, &err), VT_OK);
    n = open_node(dir, NULL);
    assert_false(engine_has_db(node_engine(n), "db"));
    assert_int_equal(node_close(n, &err), VT_OK);
    rm_rf(dir);
}

static void test_datadir_lock(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    node *n = open_node(dir, NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        node *m;
        vt_err err;
        vt_rc rc = node_open(dir, NULL, &m, NULL, &err);
        _exit(rc == VT_EBUSY && strstr(err.msg, "in use") ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    vt_err err;
    assert_int_equal(node_close(n, &err), VT_OK);
    rm_rf(dir);
}

static void test_journal_trim_after_flush(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    node_options o;
    node_options_default(&o);
    o.engine.background = false;
    o.journal.segment_bytes = 4096; /* many small segments */
    o.journal_trim = false;         /* trim by hand below, deterministically */
    node *n = NULL;
    vt_err err;
    assert_int_equal(node_open(dir, &o, &n, NULL, &err), VT_OK);
    assert_int_equal(node_create_db(n, "db", &err), VT_OK);
    char body[256];
    node_write_result res;
    for (int i = 0; i < 200; i++) {
        int len = snprintf(body, sizeof body, "m,k=v value=%d %d\n", i, i);
        assert_int_equal(node_write(n, "db", "", LP_PRECISION_NS, 0, body, (size_t)len, &res,
                                    &err),
                         VT_OK);
    }
    uint64_t first_before = journal_first_seq(node_journal(n));
    assert_int_equal(node_trim_journal(n, &err), 0); /* nothing checkpointed yet */
    assert_int_equal(engine_flush(node_engine(n), &err), VT_OK);
    assert_int_equal(node_trim_journal(n, &err), 1);
    /* every record is in segment files: the journal keeps none (an empty active segment) */
    assert_true(first_before > 0);
    assert_int_equal(journal_first_seq(node_journal(n)), 0);
    assert_int_equal(journal_last_seq(node_journal(n)), engine_checkpoint_seq(node_engine(n)));
    /* more writes after the trim, then a crash-like reopen: the data is all there */
    for (int i = 200; i < 250; i++) {
        int len = snprintf(body, sizeof body, "m,k=v value=%d %d\n", i, i);
        assert_int_equal(node_write(n, "db", "", LP_PRECISION_NS, 0, body, (size_t)len, &res,
                                    &err),
                         VT_OK);
    }
    assert_int_equal(node_close(n, &err), VT_OK);
    n = open_node(dir, NULL);
    tally t = count_db(n, "db");
    assert_int_equal(t.points, 250);
    assert_true(t.sum == 249.0 * 250 / 2);
    assert_int_equal(node_close(n, &err), VT_OK);
    rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_and_read),
        cmocka_unit_test(test_partial_write_and_type_conflict),
        cmocka_unit_test(test_replay_after_crash),
        cmocka_unit_test(test_fsync_failure_is_sticky),
        cmocka_unit_test(test_precision_and_limits),
        cmocka_unit_test(test_datadir_lock),
        cmocka_unit_test(test_journal_trim_after_flush),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
