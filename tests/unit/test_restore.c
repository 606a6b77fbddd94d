/*
 * tests/unit/test_restore.c — ops/restore.c (and the journal's offline tools it uses).
 *
 *   - a snapshot taken while a thread writes, restored into a new directory, holds exactly the
 *     points acknowledged with seq <= the snapshot's seq (count and sum per series, and the
 *     restored journal ends at that seq);
 *   - a non-empty target is refused without replace; replace keeps the old directory aside;
 *   - point in time from a backup repository (built here with backup_repo.h from snapshots):
 *     A, backup 1, B, C, backup 2: --until TB holds exactly A+B, --until TA exactly A, the
 *     newest state A+B+C without --until;
 *   - the same through the real backup module (backup_create, its journal hold, trim running);
 *   - a snapshot rolled forward to a time through its data directory's live journal;
 *   - a gap in the archive (a later backup without its journal files) gives a partial restore
 *     that stops at the gap;
 *   - a flipped bit in an object fails the verification naming the file, and nothing is
 *     published;
 *   - the two verification levels: block checksums (default) and --full-verify (decoding);
 *   - journal_truncate_after / journal_import_until directly.
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
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/node.h"
#include "meta/meta.h"
#include "ops/backup.h"
#include "ops/backup_repo.h"
#include "ops/restore.h"
#include "ops/snapshot.h"
#include "engine/engine.h"
#include "engine/segment.h"
#include "query/influxql_exec.h"

#define NSERIES 5

static char *make_tmpdir(void)
{
    char tmpl[] = "/tmp/volta-test-restore-XXXXXX";
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

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static node *open_node(const char *dir, bool trim)
{
    node_options o;
    node_options_default(&o);
    o.engine.memtable_bytes = 16 * 1024; /* many flushes */
    o.engine.background = false;
    o.journal.segment_bytes = 8 * 1024; /* many journal segments */
    o.retention = false;
    o.journal_trim = trim;
    node *n = NULL;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = node_open(dir, &o, &n, NULL, &err);
    if (rc != VT_OK)
        fail_msg("node_open %s: %s", dir, err.msg);
    return n;
}

/* What the acknowledged writes hold, per series s0..s4. */
typedef struct expect {
    long long count[NSERIES];
    long long sum[NSERIES];
} expect;

static void expect_add(expect *e, int from, int to)
{
    for (int i = from; i < to; i++) {
        e->count[i % NSERIES]++;
        e->sum[i % NSERIES] += i;
    }
}

/* Writes points i in [from, to) (series s<i%5>, v = i, one second apart); returns the seq. */
static uint64_t write_points(node *n, int from, int to)
{
    vt_buf b;
    vt_buf_init(&b);
    for (int i = from; i < to; i++)
        vt_buf_printf(&b, "m,s=s%d v=%di %" PRId64 "\n", i % NSERIES, i,
                      INT64_C(1700000000000000000) + (int64_t)i * 1000000000);
    node_write_result res;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = node_write(n, "db", "", LP_PRECISION_NS, 0, (const char *)b.data, b.len, &res, &err);
    if (rc != VT_OK)
        fail_msg("node_write: %s", err.msg);
    vt_buf_free(&b);
    return res.seq;
}

/* count(v), sum(v) per series of a data directory (opened here). */
static void observe(const char *dir, expect *got, uint64_t *last_seq)
{
    node_options o;
    node_options_default(&o);
    o.engine.background = false;
    o.retention = false;
    o.journal_trim = false;
    node *n = NULL;
    node_open_info info;
    vt_err err;
    vt_err_clear(&err);
    if (node_open(dir, &o, &n, &info, &err) != VT_OK)
        fail_msg("node_open %s: %s", dir, err.msg);
    if (last_seq)
        *last_seq = info.last_seq;
    memset(got, 0, sizeof *got);
    vt_buf out;
    vt_buf_init(&out);
    const char *q = "SELECT count(v), sum(v) FROM m GROUP BY s";
    assert_int_equal(iql_run_json(n, "db", "", q, strlen(q), 1, &out, &err), VT_OK);
    json_t *doc = json_loadb((const char *)out.data, out.len, 0, NULL);
    assert_non_null(doc);
    json_t *series = json_object_get(json_array_get(json_object_get(doc, "results"), 0), "series");
    for (size_t i = 0; i < json_array_size(series); i++) {
        json_t *s = json_array_get(series, i);
        const char *tag = json_string_value(json_object_get(json_object_get(s, "tags"), "s"));
        assert_non_null(tag);
        int k = atoi(tag + 1);
        assert_true(k >= 0 && k < NSERIES);
        json_t *row = json_array_get(json_object_get(s, "values"), 0);
        got->count[k] = (long long)json_integer_value(json_array_get(row, 1));
        got->sum[k] = (long long)json_integer_value(json_array_get(row, 2));
    }
    json_decref(doc);
    vt_buf_free(&out);
    assert_int_equal(node_close(n, &err), VT_OK);
}

static void assert_same(const expect *want, const expect *got)
{
    for (int k = 0; k < NSERIES; k++) {
        if (want->count[k] != got->count[k] || want->sum[k] != got->sum[k])
            fail_msg("series s%d: restored count %lld sum %lld, expected count %lld sum %lld", k,
                     got->count[k], got->sum[k], want->count[k], want->sum[k]);
    }
}

/* ---- a snapshot under concurrent ingest ---- */

#define MAX_WRITES 4096

typedef struct writer {
    node *n;
    atomic_bool stop;
    atomic_int started;
    size_t nwrites;
    uint64_t seq[MAX_WRITES];
    int from[MAX_WRITES], to[MAX_WRITES];
} writer;

static void *writer_main(void *arg)
{
    writer *w = arg;
    int next = 0;
    while (!atomic_load(&w->stop) && w->nwrites < MAX_WRITES) {
        int from = next, to = next + 37;
        uint64_t seq = write_points(w->n, from, to);
        w->seq[w->nwrites] = seq;
        w->from[w->nwrites] = from;
        w->to[w->nwrites] = to;
        w->nwrites++;
        atomic_fetch_add(&w->started, 1);
        next = to;
    }
    return NULL;
}

static void test_snapshot_under_ingest(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char data[600], mp[700], to[700];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(mp, sizeof mp, "%s/meta.db", data);
    snprintf(to, sizeof to, "%s/restored", dir);
    node *n = open_node(data, true);
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(node_create_db(n, "db", &err), VT_OK);
    meta *m = NULL;
    assert_int_equal(meta_open(mp, &m, &err), VT_OK);

    writer *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->n = n;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, writer_main, w), 0);
    while (atomic_load(&w->started) < 40)
        usleep(1000);
    meta_catalog c;
    assert_int_equal(snapshot_create(n, m, &c, &err), VT_OK);
    int at_snapshot = atomic_load(&w->started);
    while (atomic_load(&w->started) < at_snapshot + 40)
        usleep(1000);
    atomic_store(&w->stop, true);
    pthread_join(th, NULL);

    expect want;
    memset(&want, 0, sizeof want);
    uint64_t max_seq = 0;
    size_t after = 0;
    for (size_t i = 0; i < w->nwrites; i++) {
        if (w->seq[i] <= c.seq) {
            expect_add(&want, w->from[i], w->to[i]);
            if (w->seq[i] > max_seq)
                max_seq = w->seq[i];
        } else {
            after++;
        }
    }
    assert_true(after > 0); /* writes went on after the snapshot */
    assert_int_equal(max_seq, c.seq);

    restore_options o;
    restore_options_default(&o);
    o.data = data;
    o.id = c.id;
    o.to = to;
    o.threads = 3;
    restore_result res;
    vt_rc rc = restore_run(&o, &res, &err);
    if (rc != VT_OK)
        fail_msg("restore: %s", err.msg);
    assert_true(res.verified);
    assert_false(res.partial);
    assert_int_equal(res.seq, c.seq);
    assert_true(res.files > 0);
    assert_true(res.bytes > 0);
    assert_string_equal(res.kind, "snapshot");

    expect got;
    uint64_t last = 0;
    observe(to, &got, &last);
    assert_same(&want, &got);
    assert_int_equal(last, c.seq);

    /* the restored journal is a copy: the live node's files are other inodes */
    char jdir[800];
    snprintf(jdir, sizeof jdir, "%s/journal", to);
    DIR *d = opendir(jdir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[1200];
        snprintf(p, sizeof p, "%s/%s", jdir, e->d_name);
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_nlink, 1);
    }
    closedir(d);

    free(w);
    meta_close(m);
    assert_int_equal(node_close(n, &err), VT_OK);
    rm_rf(dir);
    free(dir);
}

/* ---- journal segments the engine files already hold are not copied ---- */

static size_t journal_segments(const char *jdir, uint64_t *first_seq)
{
    DIR *d = opendir(jdir);
    assert_non_null(d);
    size_t n = 0;
    *first_seq = UINT64_MAX;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".vjl") != 0)
            continue;
        n++;
        uint64_t s = strtoull(e->d_name, NULL, 10);
        if (s < *first_seq)
            *first_seq = s;
    }
    closedir(d);
    return n;
}

static void test_restore_skips_checkpointed_journal(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char data[600], mp[700], to[700], jdir[800];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(mp, sizeof mp, "%s/meta.db", data);
    snprintf(to, sizeof to, "%s/restored", dir);
    node *n = open_node(data, false); /* no trimming: the whole journal stays */
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(node_create_db(n, "db", &err), VT_OK);
    expect want;
    memset(&want, 0, sizeof want);
    int next = 0;
    for (int i = 0; i < 300; i++, next += 37) {
        write_points(n, next, next + 37);
        expect_add(&want, next, next + 37);
    }
    meta *m = NULL;
    assert_int_equal(meta_open(mp, &m, &err), VT_OK);
    meta_catalog c;
    assert_int_equal(snapshot_create(n, m, &c, &err), VT_OK);
    char sj[1200];
    snprintf(sj, sizeof sj, "%s/journal", c.location);
    uint64_t snap_first = 0;
    size_t snap_segments = journal_segments(sj, &snap_first);
    assert_true(c.checkpoint > 0);
    assert_true(snap_segments > 2);

    restore_options o;
    restore_options_default(&o);
    o.data = data;
    o.id = c.id;
    o.to = to;
    restore_result res;
    vt_rc rc = restore_run(&o, &res, &err);
    if (rc != VT_OK)
        fail_msg("restore: %s", err.msg);
    assert_true(res.verified);
    assert_int_equal(res.seq, c.seq);

    /* fewer segments, and the first one kept reaches back to the checkpoint */
    snprintf(jdir, sizeof jdir, "%s/journal", to);
    uint64_t first = 0;
    size_t segments = journal_segments(jdir, &first);
    assert_true(segments < snap_segments);
    assert_true(first <= c.checkpoint + 1);
    assert_true(first > snap_first);

    expect got;
    uint64_t last = 0;
    observe(to, &got, &last);
    assert_same(&want, &got);
    assert_int_equal(last, c.seq);

    meta_close(m);
    assert_int_equal(node_close(n, &err), VT_OK);
    rm_rf(dir);
    free(dir);
}

/* ---- refusing and replacing a target ---- */

static void test_refuse_and_replace(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char data[600], mp[700], to[700], marker[800];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(mp, sizeof mp, "%s/meta.db", data);
    snprintf(to, sizeof to, "%s/target", dir);
    snprintf(marker, sizeof marker, "%s/old-file", to);
    node *n = open_node(data, true);
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(node_create_db(n, "db", &err), VT_OK);
    meta *m = NULL;
    assert_int_equal(meta_open(mp, &m, &err), VT_OK);
    write_points(n, 0, 500);
    meta_catalog c;
    assert_int_equal(snapshot_create(n, m, &c, &err), VT_OK);
    meta_close(m);
    assert_int_equal(node_close(n, &err), VT_OK);

    assert_int_equal(mkdir(to, 0755), 0);
    FILE *f = fopen(marker, "w");
    assert_non_null(f);
    fputs("old\n", f);
    fclose(f);

    restore_options o;
    restore_options_default(&o);
    o.data = data;
    o.to = to;
    restore_result res;
    assert_int_equal(restore_run(&o, &res, &err), VT_EEXIST);
    assert_non_null(strstr(err.msg, to));
    assert_int_equal(access(marker, F_OK), 0); /* untouched */

    /* an empty directory is fine */
    char empty[800];
    snprintf(empty, sizeof empty, "%s/empty", dir);
    assert_int_equal(mkdir(empty, 0755), 0);
    o.to = empty;
    assert_int_equal(restore_run(&o, &res, &err), VT_OK);
    assert_string_equal(res.replaced, "");

    o.to = to;
    o.replace = true;
    vt_rc rc = restore_run(&o, &res, &err);
    if (rc != VT_OK)
        fail_msg("restore --replace: %s", err.msg);
    assert_true(res.replaced[0] != '\0');
    assert_non_null(strstr(res.replaced, ".replaced-"));
    char moved[5000];
    snprintf(moved, sizeof moved, "%s/old-file", res.replaced);
    assert_int_equal(access(moved, F_OK), 0);  /* kept aside */
    assert_int_not_equal(access(marker, F_OK), 0); /* the target is the restore now */
    expect want, got;
    memset(&want, 0, sizeof want);
    expect_add(&want, 0, 500);
    observe(to, &got, NULL);
    assert_same(&want, &got);
    rm_rf(dir);
    free(dir);
}

/* ---- a backup repository built from snapshots (backup_repo.h) ---- */

static void copy_file(const char *src, const char *dst)
{
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s.tmp' && mv '%s.tmp' '%s'", src, dst, dst, dst);
    assert_int_equal(system(cmd), 0);
}

static void add_files(const char *root, const char *sub, backup_manifest *bm, const char *repo)
{
    char dir[5000];
    snprintf(dir, sizeof dir, "%s/%s", root, sub);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char rel[600], path[6000];
        snprintf(rel, sizeof rel, "%s/%s", sub, e->d_name);
        snprintf(path, sizeof path, "%s/%s", root, rel);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            add_files(root, rel, bm, repo);
            continue;
        }
        bm->files = realloc(bm->files, (bm->nfiles + 1) * sizeof *bm->files);
        assert_non_null(bm->files);
        backup_file *f = &bm->files[bm->nfiles++];
        memset(f, 0, sizeof *f);
        snprintf(f->path, sizeof f->path, "%s", rel);
        vt_err err;
        vt_err_clear(&err);
        assert_int_equal(backup_hash_file(path, f->hash, &f->size, &err), VT_OK);
        char obj[6000], objdir[6000];
        backup_repo_object_path(repo, f->hash, obj, sizeof obj);
        snprintf(objdir, sizeof objdir, "%s", obj);
        *strrchr(objdir, '/') = '\0';
        char cmd[6100];
        snprintf(cmd, sizeof cmd, "mkdir -p '%s'", objdir);
        assert_int_equal(system(cmd), 0);
        if (access(obj, F_OK) != 0)
            copy_file(path, obj);
    }
    closedir(d);
}

/* A full backup `id` of n into repo, through a snapshot. Returns its seq. */
static uint64_t make_backup(node *n, meta *m, const char *repo, const char *id, bool with_journal)
{
    vt_err err;
    vt_err_clear(&err);
    meta_catalog c;
    assert_int_equal(snapshot_create(n, m, &c, &err), VT_OK);
    backup_manifest bm;
    memset(&bm, 0, sizeof bm);
    snprintf(bm.id, sizeof bm.id, "%s", id);
    snprintf(bm.kind, sizeof bm.kind, "full");
    bm.created_at = now_ns();
    snprintf(bm.source, sizeof bm.source, "%s", node_datadir(n));
    bm.checkpoint = c.checkpoint;
    bm.seq = c.seq;
    bm.seq_first = 1;
    bm.time_last = c.time_last;
    add_files(c.location, "engine", &bm, repo);
    if (with_journal)
        add_files(c.location, "journal", &bm, repo);
    assert_int_equal(backup_manifest_write(repo, &bm, &err), VT_OK);
    free(bm.files);
    assert_int_equal(snapshot_delete(m, c.id, &err), VT_OK);
    return c.seq;
}

typedef struct pitr_fixture {
    char *dir;
    char data[600], repo[600];
    expect a, ab, abc;
    int64_t ta, tb;
    uint64_t seq_a, seq_b, seq_c;
} pitr_fixture;

/* A (5 writes), backup b1, B (5 writes), C (5 writes), backup b2 (journal files when
 * journal2). */
static void pitr_setup(pitr_fixture *f, bool journal2)
{
    memset(f, 0, sizeof *f);
    f->dir = make_tmpdir();
    snprintf(f->data, sizeof f->data, "%s/data", f->dir);
    snprintf(f->repo, sizeof f->repo, "%s/repo", f->dir);
    char mp[700];
    snprintf(mp, sizeof mp, "%s/meta.db", f->data);
    node *n = open_node(f->data, false);
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(node_create_db(n, "db", &err), VT_OK);
    meta *m = NULL;
    assert_int_equal(meta_open(mp, &m, &err), VT_OK);
    assert_int_equal(backup_repo_open(f->repo, &err), VT_OK);
    for (int k = 0; k < 5; k++)
        f->seq_a = write_points(n, k * 100, (k + 1) * 100);
    expect_add(&f->a, 0, 500);
    usleep(2000);
    f->ta = now_ns();
    usleep(2000);
    make_backup(n, m, f->repo, "b1", true);
    for (int k = 5; k < 10; k++)
        f->seq_b = write_points(n, k * 100, (k + 1) * 100);
    f->ab = f->a;
    expect_add(&f->ab, 500, 1000);
    usleep(2000);
    f->tb = now_ns();
    usleep(2000);
    for (int k = 10; k < 15; k++)
        f->seq_c = write_points(n, k * 100, (k + 1) * 100);
    f->abc = f->ab;
    expect_add(&f->abc, 1000, 1500);
    make_backup(n, m, f->repo, "b2", journal2);
    meta_close(m);
    assert_int_equal(node_close(n, &err), VT_OK);
}

static void pitr_teardown(pitr_fixture *f)
{
    rm_rf(f->dir);
    free(f->dir);
}

static void restore_until(pitr_fixture *f, const char *name, bool has_until, int64_t until,
                          restore_result *res)
{
    char to[800];
    snprintf(to, sizeof to, "%s/%s", f->dir, name);
    restore_options o;
    restore_options_default(&o);
    o.repo = f->repo;
    o.to = to;
    o.has_until = has_until;
    o.until = until;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = restore_run(&o, res, &err);
    if (rc != VT_OK)
        fail_msg("restore %s: %s", name, err.msg);
    assert_true(res->verified);
}

static void test_point_in_time(void **state)
{
    (void)state;
    pitr_fixture f;
    pitr_setup(&f, true);
    restore_result res;
    expect got;
    uint64_t last;
    char to[800];

    restore_until(&f, "at-tb", true, f.tb, &res);
    assert_false(res.partial);
    assert_string_equal(res.id, "b1");
    assert_int_equal(res.seq, f.seq_b);
    assert_int_equal(res.chained_records, f.seq_b - f.seq_a);
    snprintf(to, sizeof to, "%s/at-tb", f.dir);
    observe(to, &got, &last);
    assert_same(&f.ab, &got);
    assert_int_equal(last, f.seq_b);

    restore_until(&f, "at-ta", true, f.ta, &res);
    assert_false(res.partial);
    assert_string_equal(res.id, "b1");
    assert_int_equal(res.seq, f.seq_a);
    snprintf(to, sizeof to, "%s/at-ta", f.dir);
    observe(to, &got, &last);
    assert_same(&f.a, &got);
    assert_int_equal(last, f.seq_a);

    restore_until(&f, "latest", false, 0, &res);
    assert_string_equal(res.id, "b2");
    assert_int_equal(res.seq, f.seq_c);
    snprintf(to, sizeof to, "%s/latest", f.dir);
    observe(to, &got, &last);
    assert_same(&f.abc, &got);

    /* a time past the newest archived record: everything, reported partial */
    restore_until(&f, "future", true, now_ns() + INT64_C(3600000000000), &res);
    assert_true(res.partial);
    assert_int_equal(res.seq, f.seq_c);
    pitr_teardown(&f);
}

static void test_gap_in_archive(void **state)
{
    (void)state;
    pitr_fixture f;
    pitr_setup(&f, false); /* b2 archived no journal file */
    restore_result res;
    restore_until(&f, "at-tb", true, f.tb, &res);
    assert_true(res.partial);
    assert_non_null(strstr(res.partial_reason, "gap"));
    assert_int_equal(res.seq, f.seq_a); /* what is consistent: A */
    expect got;
    char to[800];
    snprintf(to, sizeof to, "%s/at-tb", f.dir);
    observe(to, &got, NULL);
    assert_same(&f.a, &got);
    pitr_teardown(&f);
}

static void test_corrupt_object(void **state)
{
    (void)state;
    pitr_fixture f;
    pitr_setup(&f, true);
    vt_err err;
    vt_err_clear(&err);
    backup_manifest bm;
    assert_int_equal(backup_manifest_read(f.repo, "b1", &bm, &err), VT_OK);
    const backup_file *victim = NULL;
    for (size_t i = 0; i < bm.nfiles && !victim; i++)
        if (strncmp(bm.files[i].path, "journal/", 8) == 0 && bm.files[i].size > 100)
            victim = &bm.files[i];
    assert_non_null(victim);
    char obj[4096];
    backup_repo_object_path(f.repo, victim->hash, obj, sizeof obj);
    chmod(obj, 0644);
    int fd = open(obj, O_RDWR);
    assert_true(fd >= 0);
    uint8_t byte;
    off_t off = (off_t)(victim->size / 2);
    assert_int_equal(pread(fd, &byte, 1, off), 1);
    byte ^= 0x10;
    assert_int_equal(pwrite(fd, &byte, 1, off), 1);
    close(fd);

    char to[800];
    snprintf(to, sizeof to, "%s/corrupt", f.dir);
    restore_options o;
    restore_options_default(&o);
    o.repo = f.repo;
    o.id = "b1";
    o.to = to;
    restore_result res;
    assert_int_equal(restore_run(&o, &res, &err), VT_ECORRUPT);
    assert_non_null(strstr(err.msg, victim->path));
    assert_non_null(strstr(err.msg, "verification failed"));
    assert_int_not_equal(access(to, F_OK), 0); /* nothing published */
    backup_manifest_free(&bm);
    pitr_teardown(&f);
}

/* Finds the first segment file under <root>/engine/seg (its path in out); false if none. */
static bool first_segment(const char *root, char *out, size_t cap)
{
    char seg[1200];
    snprintf(seg, sizeof seg, "%s/engine/seg", root);
    DIR *d = opendir(seg);
    if (!d)
        return false;
    struct dirent *e;
    bool found = false;
    while (!found && (e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l > 5 && strcmp(e->d_name + l - 5, ".vseg") == 0) {
            snprintf(out, cap, "%s/%s", seg, e->d_name);
            found = true;
        }
    }
    closedir(d);
    return found;
}

static vt_rc restore_snapshot(const char *data, const char *id, const char *to, bool full,
                              vt_err *err)
{
    restore_options o;
    restore_options_default(&o);
    o.data = data;
    o.id = id;
    o.to = to;
    o.full_verify = full;
    restore_result res;
    return restore_run(&o, &res, err);
}

/* The two verification levels of step 5: a flipped bit in a segment block is caught by the
 * default (block checksums) and by --full-verify, naming the file and the checksum; a block
 * whose bytes were changed AND whose checksums were recomputed (what a bug in the encoder
 * would write) passes the checksums and is caught only by --full-verify, which decodes. */
static void test_verify_levels(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char data[600], mp[700], to[700], segpath[1400];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(mp, sizeof mp, "%s/meta.db", data);
    node *n = open_node(data, false);
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(node_create_db(n, "db", &err), VT_OK);
    for (int i = 0, next = 0; i < 300; i++, next += 37)
        write_points(n, next, next + 37);
    meta *m = NULL;
    assert_int_equal(meta_open(mp, &m, &err), VT_OK);
    /* snapshot A holds records after its checkpoint (a restore replays them and checks the
     * segment files after closing the node); snapshot B, taken after a flush, holds none (the
     * blocks are checked on the node's loaded segment readers). They share their older segment
     * files (hard links), so one flipped byte corrupts both. */
    meta_catalog c[2];
    assert_int_equal(snapshot_create(n, m, &c[0], &err), VT_OK);
    assert_true(c[0].checkpoint < c[0].seq);
    assert_int_equal(engine_flush(node_engine(n), &err), VT_OK);
    assert_int_equal(snapshot_create(n, m, &c[1], &err), VT_OK);
    assert_int_equal(c[1].checkpoint, c[1].seq);
    meta_close(m);
    assert_int_equal(node_close(n, &err), VT_OK);
    assert_true(first_segment(c[0].location, segpath, sizeof segpath));

    /* healthy: both levels pass */
    for (int k = 0; k < 2; k++)
        for (int full = 0; full < 2; full++) {
            snprintf(to, sizeof to, "%s/ok-%d-%d", dir, k, full);
            vt_err_clear(&err);
            if (restore_snapshot(data, c[k].id, to, full, &err) != VT_OK)
                fail_msg("restore of snapshot %d (full %d): %s", k, full, err.msg);
        }

    /* the first block's timestamp column flipped: the header is 16 bytes, the block starts with
     * uvarint(timestamp column length), then the column's encoding tag and its first byte (a
     * change there changes the decoded times, which decoding compares with the index entry; a
     * flipped float bit could hide in the rounding of the block's pre-aggregated sum) */
    int fd = open(segpath, O_RDWR);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    uint8_t *d = malloc((size_t)st.st_size);
    assert_non_null(d);
    assert_int_equal(pread(fd, d, (size_t)st.st_size, 0), st.st_size);
    uint8_t *orig = malloc((size_t)st.st_size);
    assert_non_null(orig);
    memcpy(orig, d, (size_t)st.st_size);
    size_t at = 16;
    while (d[at] & 0x80)
        at++;
    at += 2; /* past the last byte of the uvarint and the encoding tag */
    d[at] ^= 0x01;
    assert_int_equal(pwrite(fd, d, (size_t)st.st_size, 0), st.st_size);
    for (int k = 0; k < 2; k++)
        for (int full = 0; full < 2; full++) {
            snprintf(to, sizeof to, "%s/flip-%d-%d", dir, k, full);
            vt_err_clear(&err);
            assert_int_equal(restore_snapshot(data, c[k].id, to, full, &err), VT_ECORRUPT);
            assert_non_null(strstr(err.msg, "verification failed"));
            assert_non_null(strstr(err.msg, "checksum mismatch"));
            assert_non_null(strstr(err.msg, ".vseg"));
            assert_int_not_equal(access(to, F_OK), 0); /* nothing published */
        }

    /* the same bytes with every checksum recomputed: only decoding can tell */
    seg_fix_checksums(d, (size_t)st.st_size);
    assert_int_equal(pwrite(fd, d, (size_t)st.st_size, 0), st.st_size);
    for (int k = 0; k < 2; k++) {
        snprintf(to, sizeof to, "%s/fixed-full-%d", dir, k);
        vt_err_clear(&err);
        assert_int_equal(restore_snapshot(data, c[k].id, to, true, &err), VT_ECORRUPT);
        assert_non_null(strstr(err.msg, "verification failed"));
        assert_int_not_equal(access(to, F_OK), 0);
        snprintf(to, sizeof to, "%s/fixed-default-%d", dir, k);
        vt_err_clear(&err);
        assert_int_equal(restore_snapshot(data, c[k].id, to, false, &err), VT_OK);
    }

    assert_int_equal(pwrite(fd, orig, (size_t)st.st_size, 0), st.st_size);
    close(fd);
    free(d);
    free(orig);
    rm_rf(dir);
    free(dir);
}

/* A snapshot rolled forward through its data directory's live journal. */
static void test_snapshot_until_live_journal(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char data[600], mp[700], to[700];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(mp, sizeof mp, "%s/meta.db", data);
    snprintf(to, sizeof to, "%s/at-tb", dir);
    node *n = open_node(data, false);
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(node_create_db(n, "db", &err), VT_OK);
    meta *m = NULL;
    assert_int_equal(meta_open(mp, &m, &err), VT_OK);
    expect want;
    memset(&want, 0, sizeof want);
    for (int k = 0; k < 4; k++)
        write_points(n, k * 100, (k + 1) * 100);
    meta_catalog c;
    assert_int_equal(snapshot_create(n, m, &c, &err), VT_OK);
    uint64_t seq_b = 0;
    for (int k = 4; k < 8; k++)
        seq_b = write_points(n, k * 100, (k + 1) * 100);
    expect_add(&want, 0, 800);
    usleep(2000);
    int64_t tb = now_ns();
    usleep(2000);
    write_points(n, 800, 900);
    meta_close(m);
    assert_int_equal(node_close(n, &err), VT_OK);

    restore_options o;
    restore_options_default(&o);
    o.data = data;
    o.to = to;
    o.has_until = true;
    o.until = tb;
    restore_result res;
    vt_rc rc = restore_run(&o, &res, &err);
    if (rc != VT_OK)
        fail_msg("restore: %s", err.msg);
    assert_false(res.partial);
    assert_string_equal(res.id, c.id);
    assert_int_equal(res.seq, seq_b);
    assert_true(res.chained_records > 0);
    expect got;
    uint64_t last;
    observe(to, &got, &last);
    assert_same(&want, &got);
    assert_int_equal(last, seq_b);
    rm_rf(dir);
    free(dir);
}

/* The same point in time through the real backup module (ops/backup.h: backup_create and its
 * journal hold), with the journal trim running as on a server. */
static void test_point_in_time_backup_create(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char data[600], mp[700], repo[600], to[700];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(mp, sizeof mp, "%s/meta.db", data);
    snprintf(repo, sizeof repo, "%s/repo", dir);
    node *n = open_node(data, true);
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(node_create_db(n, "db", &err), VT_OK);
    meta *m = NULL;
    assert_int_equal(meta_open(mp, &m, &err), VT_OK);
    expect a, ab;
    memset(&a, 0, sizeof a);
    uint64_t seq_a = 0, seq_b = 0;
    backup_hold_start(n, m, &err); /* -1: no backup yet; the first one takes the hold */
    for (int k = 0; k < 6; k++)
        seq_a = write_points(n, k * 100, (k + 1) * 100);
    expect_add(&a, 0, 600);
    usleep(2000);
    int64_t ta = now_ns();
    usleep(2000);
    meta_catalog b1, b2;
    if (backup_create(n, m, repo, true, NULL, NULL, &b1, &err) != VT_OK)
        fail_msg("backup 1: %s", err.msg);
    for (int k = 6; k < 12; k++)
        seq_b = write_points(n, k * 100, (k + 1) * 100);
    ab = a;
    expect_add(&ab, 600, 1200);
    usleep(2000);
    int64_t tb = now_ns();
    usleep(2000);
    for (int k = 12; k < 18; k++)
        write_points(n, k * 100, (k + 1) * 100);
    usleep(600 * 1000); /* the maintenance thread trims what the engine holds */
    node_trim_journal(n, &err);
    if (backup_create(n, m, repo, false, NULL, NULL, &b2, &err) != VT_OK)
        fail_msg("backup 2: %s", err.msg);
    backup_hold_stop(n);
    meta_close(m);
    assert_int_equal(node_close(n, &err), VT_OK);

    restore_options o;
    restore_options_default(&o);
    o.repo = repo;
    o.to = to;
    o.has_until = true;
    restore_result res;
    expect got;
    uint64_t last;

    snprintf(to, sizeof to, "%s/at-tb", dir);
    o.until = tb;
    vt_rc rc = restore_run(&o, &res, &err);
    if (rc != VT_OK)
        fail_msg("restore --until TB: %s", err.msg);
    if (res.partial)
        fail_msg("restore --until TB partial: %s", res.partial_reason);
    assert_string_equal(res.id, b1.id);
    assert_int_equal(res.seq, seq_b);
    observe(to, &got, &last);
    assert_same(&ab, &got);
    assert_int_equal(last, seq_b);

    snprintf(to, sizeof to, "%s/at-ta", dir);
    o.until = ta;
    rc = restore_run(&o, &res, &err);
    if (rc != VT_OK)
        fail_msg("restore --until TA: %s", err.msg);
    assert_false(res.partial);
    assert_int_equal(res.seq, seq_a);
    observe(to, &got, &last);
    assert_same(&a, &got);

    /* the newest state: backup 2 flushed before its snapshot, so every record it holds is in
     * its engine files; no journal segment is copied and the journal restarts at seq + 1 */
    snprintf(to, sizeof to, "%s/latest", dir);
    o.has_until = false;
    rc = restore_run(&o, &res, &err);
    if (rc != VT_OK)
        fail_msg("restore of the newest backup: %s", err.msg);
    assert_string_equal(res.id, b2.id);
    assert_int_equal(res.checkpoint, b2.seq);
    char jdir[800];
    snprintf(jdir, sizeof jdir, "%s/journal", to);
    uint64_t first = 0;
    assert_int_equal(journal_segments(jdir, &first), 1);
    assert_int_equal(first, b2.seq + 1);
    expect all = ab;
    expect_add(&all, 1200, 1800);
    observe(to, &got, &last);
    assert_same(&all, &got);
    assert_int_equal(last, b2.seq);
    rm_rf(dir);
    free(dir);
}

/* ---- the journal's offline tools ---- */

static unsigned count_segments(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    unsigned n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strstr(e->d_name, ".vjl") != NULL;
    closedir(d);
    return n;
}

static void test_journal_tools(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char src[600], dst[600], empty[600];
    snprintf(src, sizeof src, "%s/src", dir);
    snprintf(dst, sizeof dst, "%s/dst", dir);
    snprintf(empty, sizeof empty, "%s/empty", dir);
    journal_options jo = {.fsync = JOURNAL_FSYNC_NEVER, .segment_bytes = 1024};
    journal *j = NULL;
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(journal_open(src, &jo, &j, NULL, &err), VT_OK);
    char payload[200];
    memset(payload, 'x', sizeof payload);
    for (int i = 0; i < 50; i++) {
        uint64_t seq;
        assert_int_equal(journal_append(j, JOURNAL_REC_WRITE, payload, sizeof payload, &seq, &err),
                         VT_OK);
        assert_int_equal(seq, (uint64_t)i + 1);
    }
    journal_close(j);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "cp -R '%s' '%s' && mkdir '%s'", src, dst, empty);
    assert_int_equal(system(cmd), 0);

    /* cut at 17: the journal reopens ending there, later segments gone */
    unsigned before = count_segments(dst);
    assert_int_equal(journal_truncate_after(dst, 17, &err), VT_OK);
    assert_true(count_segments(dst) < before);
    journal_open_info ji;
    assert_int_equal(journal_open(dst, &jo, &j, &ji, &err), VT_OK);
    assert_int_equal(ji.last_seq, 17);
    assert_int_equal(ji.torn_bytes, 0);
    journal_close(j);
    assert_int_equal(journal_truncate_after(dst, 30, &err), VT_ENOTFOUND);

    /* import from the source up to the time of record 40 */
    int64_t t40 = 0;
    journal_reader *r = NULL;
    assert_int_equal(journal_reader_open(src, 40, &r, &err), VT_OK);
    journal_record rec;
    bool have = false;
    assert_int_equal(journal_reader_next(r, &rec, &have, &err), VT_OK);
    assert_true(have);
    t40 = rec.time;
    journal_reader_close(r);
    uint64_t last = 0, imported = 0;
    int64_t last_time = 0;
    bool reached = false;
    assert_int_equal(journal_import_until(dst, src, t40, &last, &last_time, &imported, &reached,
                                          &err),
                     VT_OK);
    assert_true(last >= 40); /* records with the same time as 40 come too */
    assert_int_equal(imported, last - 17);
    assert_int_equal(last_time, t40);
    assert_int_equal(journal_open(dst, &jo, &j, &ji, &err), VT_OK);
    assert_int_equal(ji.last_seq, last);
    journal_close(j);
    uint64_t records = 0;
    unsigned segs = 0;
    assert_int_equal(journal_verify(dst, NULL, NULL, &records, &segs), 0);

    /* an empty directory: an empty segment continuing at keep + 1 */
    assert_int_equal(journal_truncate_after(empty, 99, &err), VT_OK);
    assert_int_equal(journal_open(empty, &jo, &j, &ji, &err), VT_OK);
    assert_int_equal(ji.last_seq, 99);
    journal_close(j);
    rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_journal_tools),
        cmocka_unit_test(test_snapshot_under_ingest),
        cmocka_unit_test(test_restore_skips_checkpointed_journal),
        cmocka_unit_test(test_refuse_and_replace),
        cmocka_unit_test(test_point_in_time),
        cmocka_unit_test(test_point_in_time_backup_create),
        cmocka_unit_test(test_snapshot_until_live_journal),
        cmocka_unit_test(test_gap_in_archive),
        cmocka_unit_test(test_corrupt_object),
        cmocka_unit_test(test_verify_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
