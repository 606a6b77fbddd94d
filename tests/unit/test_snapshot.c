/*
 * tests/unit/test_snapshot.c — ops/snapshot.c: consistent snapshots by hard links.
 *
 *   - a snapshot links the engine's segment files and the closed journal segments (no copy: the
 *     links share inodes with the live files), records C and S in SNAPSHOT and the catalog;
 *   - a copy of the snapshot opened as a data directory holds exactly the state at the snapshot,
 *     whatever is written, flushed, compacted or trimmed afterwards;
 *   - list and delete; a second snapshot in the same second gets "_2".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/node.h"
#include "meta/meta.h"
#include "ops/snapshot.h"
#include "query/influxql_exec.h"

static char *make_tmpdir(void)
{
    char tmpl[] = "/tmp/volta-test-snapshot-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static void rm_rf(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static node *open_node(const char *dir)
{
    node_options o;
    node_options_default(&o);
    o.engine.memtable_bytes = 16 * 1024; /* many flushes */
    o.engine.background = false;
    o.journal.segment_bytes = 8 * 1024; /* many journal segments */
    o.retention = false;
    node *n = NULL;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = node_open(dir, &o, &n, NULL, &err);
    if (rc != VT_OK)
        fail_msg("node_open %s: %s", dir, err.msg);
    return n;
}

/* Writes points i in [from, to) of measurement m (value = i). */
static void write_points(node *n, int from, int to)
{
    vt_buf b;
    vt_buf_init(&b);
    for (int i = from; i < to; i++)
        vt_buf_printf(&b, "m,s=s%d v=%d %" PRId64 "\n", i % 5, i,
                      INT64_C(1700000000000000000) + (int64_t)i * 1000000000);
    node_write_result res;
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(node_write(n, "db", "", LP_PRECISION_NS, 0, (const char *)b.data, b.len, &res,
                                &err),
                     VT_OK);
    vt_buf_free(&b);
}

/* count(v) and sum(v) over m */
static void count_sum(node *n, long long *count, long long *sum)
{
    vt_buf out;
    vt_buf_init(&out);
    vt_err err;
    vt_err_clear(&err);
    const char *q = "SELECT count(v), sum(v) FROM m";
    assert_int_equal(iql_run_json(n, "db", "", q, strlen(q), 1, &out, &err), VT_OK);
    const char *s = vt_buf_cstr(&out);
    const char *v = strstr(s, "\"values\":[[");
    *count = *sum = 0;
    if (v) {
        long long t;
        assert_int_equal(sscanf(v, "\"values\":[[%lld,%lld,%lld", &t, count, sum), 3);
    }
    vt_buf_free(&out);
}

static uint64_t files_in(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    uint64_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Copies src/<sub> (regular files) into dst/<sub>, as a restore does (journal files must be
 * copies: a restored node appends to them). */
static void copy_dir(const char *src, const char *dst, const char *sub)
{
    char from[1024], to[1024];
    snprintf(from, sizeof from, "%s/%s", src, sub);
    snprintf(to, sizeof to, "%s/%s", dst, sub);
    char cmd[2300];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp -R '%s/.' '%s/'", to, from, to);
    assert_int_equal(system(cmd), 0);
}

static void test_snapshot_is_the_state_at_its_seq(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char data[600], mp[700];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(mp, sizeof mp, "%s/meta.db", data);
    node *n = open_node(data);
    meta *m = NULL;
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(node_create_db(n, "db", &err), VT_OK);
    assert_int_equal(meta_open(mp, &m, &err), VT_OK);
    for (int k = 0; k < 20; k++)
        write_points(n, k * 200, (k + 1) * 200);
    long long c0, s0;
    count_sum(n, &c0, &s0);
    assert_int_equal(c0, 4000);

    meta_catalog snap;
    assert_int_equal(snapshot_create(n, m, &snap, &err), VT_OK);
    assert_string_equal(snap.kind, "snapshot");
    assert_int_equal(strlen(snap.id), 15); /* YYYYMMDD_HHMMSS */
    assert_int_equal(snap.seq, journal_last_seq(node_journal(n)));
    assert_true(snap.checkpoint > 0 && snap.checkpoint <= snap.seq);
    assert_true(snap.time_last > 0);
    char sub[1200];
    snprintf(sub, sizeof sub, "%s/engine/seg", snap.location);
    uint64_t nseg = files_in(sub);
    snprintf(sub, sizeof sub, "%s/journal", snap.location);
    uint64_t njnl = files_in(sub);
    assert_true(nseg >= 1);
    assert_int_equal(snap.files, nseg + njnl);
    /* links, not copies: the live engine's files share the inodes */
    snprintf(sub, sizeof sub, "%s/engine/MANIFEST", snap.location);
    struct stat st;
    assert_int_equal(stat(sub, &st), 0);
    assert_true(st.st_nlink >= 2);
    /* SNAPSHOT says what it is */
    snprintf(sub, sizeof sub, "%s/SNAPSHOT", snap.location);
    FILE *f = fopen(sub, "r");
    assert_non_null(f);
    char doc[512] = "";
    assert_true(fread(doc, 1, sizeof doc - 1, f) > 0);
    fclose(f);
    char want[128];
    snprintf(want, sizeof want, "\"seq\":%" PRIu64 ",", snap.seq);
    assert_non_null(strstr(doc, want));
    snprintf(want, sizeof want, "\"checkpoint\":%" PRIu64 ",", snap.checkpoint);
    assert_non_null(strstr(doc, want));

    /* the node moves on: more writes, flushes, a compaction, deletes, a journal trim */
    for (int k = 20; k < 30; k++)
        write_points(n, k * 200, (k + 1) * 200);
    assert_int_equal(engine_flush(node_engine(n), &err), VT_OK);
    assert_int_equal(engine_compact(node_engine(n), &err), VT_OK);
    node_trim_journal(n, &err);
    long long c1, s1;
    count_sum(n, &c1, &s1);
    assert_int_equal(c1, 6000);

    /* a copy of the snapshot is exactly the state at the snapshot */
    char restored[700];
    snprintf(restored, sizeof restored, "%s/restored", dir);
    copy_dir(snap.location, restored, "engine");
    copy_dir(snap.location, restored, "journal");
    node *r = open_node(restored);
    long long c2, s2;
    count_sum(r, &c2, &s2);
    assert_int_equal(c2, c0);
    assert_int_equal(s2, s0);
    assert_int_equal(journal_last_seq(node_journal(r)), snap.seq);
    assert_int_equal(node_close(r, &err), VT_OK);

    /* a second snapshot in the same second: _2; list newest first; delete */
    meta_catalog a, b;
    assert_int_equal(snapshot_create(n, m, &a, &err), VT_OK);
    assert_int_equal(snapshot_create(n, m, &b, &err), VT_OK);
    assert_string_not_equal(a.id, b.id);
    meta_catalog *list = NULL;
    size_t cnt = 0;
    assert_int_equal(snapshot_list(m, &list, &cnt, &err), VT_OK);
    assert_int_equal(cnt, 3);
    assert_string_equal(list[0].id, b.id);
    free(list);
    assert_int_equal(snapshot_delete(m, snap.id, &err), VT_OK);
    assert_int_not_equal(stat(snap.location, &st), 0);
    assert_int_equal(snapshot_delete(m, snap.id, &err), VT_ENOTFOUND);
    assert_int_equal(snapshot_list(m, &list, &cnt, &err), VT_OK);
    assert_int_equal(cnt, 2);
    free(list);

    meta_close(m);
    assert_int_equal(node_close(n, &err), VT_OK);
    rm_rf(dir);
    free(dir);
}

/* An empty node snapshots too (no MANIFEST yet, no journal record). */
static void test_snapshot_of_an_empty_node(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char data[600], mp[700];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(mp, sizeof mp, "%s/meta.db", data);
    node *n = open_node(data);
    meta *m = NULL;
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(meta_open(mp, &m, &err), VT_OK);
    meta_catalog snap;
    assert_int_equal(snapshot_create(n, m, &snap, &err), VT_OK);
    assert_int_equal(snap.seq, 0);
    assert_int_equal(snap.files, 0);
    meta_close(m);
    assert_int_equal(node_close(n, &err), VT_OK);
    rm_rf(dir);
    free(dir);
}

/* A backup's temporary snapshot left by a crash is recognised and removed; a regular snapshot
 * is not touched; the journal hold follows what remains. */
static void test_temporary_snapshots_removed(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char data[600], mp[700];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(mp, sizeof mp, "%s/meta.db", data);
    node *n = open_node(data);
    meta *m = NULL;
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(meta_open(mp, &m, &err), VT_OK);
    meta_catalog kept, temp;
    assert_int_equal(snapshot_create(n, m, &kept, &err), VT_OK);
    assert_int_equal(snapshot_create_owned(n, m, "20261206_150000", &temp, &err), VT_OK);
    assert_string_equal(temp.parent, "temporary:20261206_150000");
    struct stat st;
    assert_int_equal(stat(temp.location, &st), 0);

    vt_err_clear(&err);
    assert_int_equal(snapshot_remove_temporary(m, &err), 1);
    assert_int_equal(err.rc, VT_OK);
    assert_int_not_equal(stat(temp.location, &st), 0); /* its directory is gone */
    meta_catalog *list = NULL;
    size_t cnt = 0;
    assert_int_equal(snapshot_list(m, &list, &cnt, &err), VT_OK);
    assert_int_equal(cnt, 1);
    assert_string_equal(list[0].id, kept.id);
    free(list);
    assert_int_equal(snapshot_remove_temporary(m, &err), 0); /* nothing left to remove */
    meta_close(m);
    assert_int_equal(node_close(n, &err), VT_OK);
    rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_is_the_state_at_its_seq),
        cmocka_unit_test(test_snapshot_of_an_empty_node),
        cmocka_unit_test(test_temporary_snapshots_removed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
