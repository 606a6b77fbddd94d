/*
 * tests/unit/test_backup.c — ops/backup_repo.c and ops/backup.c: the backup repository, full and
 * incremental backups, verify, expire, the journal chain.
 *
 *   - the repository: REPO created and checked; manifests round-trip; a manifest naming a path
 *     outside the data directory, a bad hash or garbage is VT_ECORRUPT; ids sort by time then
 *     suffix (_2 before _10); the hash is XXH3-128 of the content;
 *   - a backup of a node with data copies every file (full); a second one after more writes
 *     copies only the new files (new_files/new_bytes) and leaves the old objects untouched
 *     (same inode and mtime); every manifest's files exist and hash right;
 *   - two backups in one second: YYYYMMDD_HHMMSS then _2;
 *   - verify passes, then one flipped bit fails it naming the object, every backup id and path;
 *   - expire --keep 1 deletes the older manifests and the objects only they referenced;
 *   - a backup taken while another thread writes is consistent: its files copied per the
 *     manifest open as a node holding exactly what was acknowledged up to the manifest's seq;
 *   - the journal chain: with the hold, backup 2's journal files cover backup 1's seq + 1 .. its
 *     seq with no gap although the engine flushed and the journal was trimmed in between.
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
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "common/durable.h"
#include "core/node.h"
#include "journal/journal.h"
#include "meta/meta.h"
#include "ops/backup.h"
#include "ops/backup_repo.h"
#include "query/influxql_exec.h"

static char *make_tmpdir(void)
{
    char tmpl[] = "/tmp/volta-test-backup-XXXXXX";
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
    o.journal.fsync = JOURNAL_FSYNC_NEVER;
    o.retention = false;
    node *n = NULL;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = node_open(dir, &o, &n, NULL, &err);
    if (rc != VT_OK)
        fail_msg("node_open %s: %s", dir, err.msg);
    return n;
}

/* Writes points i in [from, to) of measurement m (value = i); returns the record's seq. */
static uint64_t write_points(node *n, int from, int to)
{
    vt_buf b;
    vt_buf_init(&b);
    for (int i = from; i < to; i++)
        vt_buf_printf(&b, "m,s=s%d v=%d %" PRId64 "\n", i % 5, i,
                      INT64_C(1700000000000000000) + (int64_t)i * 1000000000);
    node_write_result res;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = node_write(n, "db", "", LP_PRECISION_NS, 0, (const char *)b.data, b.len, &res,
                          &err);
    if (rc != VT_OK)
        fail_msg("node_write: %s", err.msg);
    vt_buf_free(&b);
    return res.seq;
}

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

typedef struct fixture {
    char *dir;
    char data[600], repo[600], mp[700];
    node *n;
    meta *m;
} fixture;

static void fx_open(fixture *fx)
{
    memset(fx, 0, sizeof *fx);
    fx->dir = make_tmpdir();
    snprintf(fx->data, sizeof fx->data, "%s/data", fx->dir);
    snprintf(fx->repo, sizeof fx->repo, "%s/repo", fx->dir);
    snprintf(fx->mp, sizeof fx->mp, "%s/meta.db", fx->data);
    fx->n = open_node(fx->data);
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(node_create_db(fx->n, "db", &err), VT_OK);
    assert_int_equal(meta_open(fx->mp, &fx->m, &err), VT_OK);
}

static void fx_close(fixture *fx)
{
    vt_err err;
    vt_err_clear(&err);
    backup_hold_stop(fx->n);
    meta_close(fx->m);
    assert_int_equal(node_close(fx->n, &err), VT_OK);
    rm_rf(fx->dir);
    free(fx->dir);
}

static void take(fixture *fx, bool full, meta_catalog *out)
{
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = backup_create(fx->n, fx->m, fx->repo, full, NULL, NULL, out, &err);
    if (rc != VT_OK)
        fail_msg("backup_create: %s", err.msg);
}

/* every file of the manifest has its object, of its size and hash */
static void check_objects(const char *repo, const backup_manifest *b)
{
    for (size_t i = 0; i < b->nfiles; i++) {
        char obj[1200], h[BACKUP_HASH_HEX + 1];
        uint64_t size = 0;
        vt_err err;
        vt_err_clear(&err);
        backup_repo_object_path(repo, b->files[i].hash, obj, sizeof obj);
        assert_int_equal(backup_hash_file(obj, h, &size, &err), VT_OK);
        assert_string_equal(h, b->files[i].hash);
        assert_int_equal(size, b->files[i].size);
    }
}

static size_t count_objects(const char *repo)
{
    char cmd[800];
    snprintf(cmd, sizeof cmd, "find '%s/objects' -type f | wc -l", repo);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    unsigned long n = 0;
    assert_int_equal(fscanf(p, "%lu", &n), 1);
    pclose(p);
    return (size_t)n;
}

/* The restore of the tests: copies every file of the manifest from its object into dst. */
static void restore_copy(const char *repo, const backup_manifest *b, const char *dst)
{
    for (size_t i = 0; i < b->nfiles; i++) {
        char obj[1200], to[1200], dir[1200];
        backup_repo_object_path(repo, b->files[i].hash, obj, sizeof obj);
        snprintf(to, sizeof to, "%s/%s", dst, b->files[i].path);
        snprintf(dir, sizeof dir, "%s", to);
        *strrchr(dir, '/') = '\0';
        vt_err err;
        vt_err_clear(&err);
        assert_int_equal(durable_mkdirs(dir, &err), VT_OK);
        char *data = NULL;
        size_t len = 0;
        assert_int_equal(file_read_all(obj, &data, &len, &err), VT_OK);
        assert_int_equal(len, b->files[i].size);
        FILE *f = fopen(to, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, len, f), len);
        fclose(f);
        free(data);
    }
}

/* ---- the repository ---- */

static void test_repo_format(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char repo[600], path[800];
    snprintf(repo, sizeof repo, "%s/repo", dir);
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(backup_repo_open(repo, &err), VT_OK);
    assert_int_equal(backup_repo_open(repo, &err), VT_OK);
    snprintf(path, sizeof path, "%s/REPO", repo);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(file_read_all(path, &text, &len, &err), VT_OK);
    assert_non_null(strstr(text, "\"format\":\"volta-backup\""));
    free(text);

    /* a directory with other content is not made a repository */
    char other[700];
    snprintf(other, sizeof other, "%s/other", dir);
    mkdir(other, 0755);
    snprintf(path, sizeof path, "%s/file", other);
    assert_int_equal(durable_publish(path, "x", 1, &err), VT_OK);
    assert_int_equal(backup_repo_open(other, &err), VT_EINVAL);
    snprintf(path, sizeof path, "%s/REPO", other);
    assert_int_equal(durable_publish(path, "{\"format\":\"x\"}", 14, &err), VT_OK);
    assert_int_equal(backup_repo_open(other, &err), VT_ECORRUPT);

    /* hash = XXH3-128 of the content, high half first */
    snprintf(path, sizeof path, "%s/content", dir);
    assert_int_equal(durable_publish(path, "hello volta", 11, &err), VT_OK);
    char h[BACKUP_HASH_HEX + 1], want[BACKUP_HASH_HEX + 1];
    uint64_t size = 0;
    assert_int_equal(backup_hash_file(path, h, &size, &err), VT_OK);
    XXH128_hash_t x = XXH3_128bits("hello volta", 11);
    snprintf(want, sizeof want, "%016" PRIx64 "%016" PRIx64, (uint64_t)x.high64,
             (uint64_t)x.low64);
    assert_string_equal(h, want);
    assert_int_equal(size, 11);
    backup_repo_object_path(repo, h, path, sizeof path);
    char wantp[800];
    snprintf(wantp, sizeof wantp, "%s/objects/%.2s/%s", repo, h, h);
    assert_string_equal(path, wantp);

    /* manifests round-trip; ids sort by time then suffix */
    const char *ids[] = {"20261128_050000_10", "20261128_050001", "20261128_050000",
                         "20261128_050000_2"};
    for (int i = 0; i < 4; i++) {
        backup_manifest m;
        memset(&m, 0, sizeof m);
        snprintf(m.id, sizeof m.id, "%s", ids[i]);
        snprintf(m.kind, sizeof m.kind, "%s", i ? "incremental" : "full");
        snprintf(m.parent, sizeof m.parent, "%s", i ? "20261128_050000" : "");
        snprintf(m.source, sizeof m.source, "/data \"quoted\"");
        m.created_at = 1000 + i;
        m.checkpoint = 5;
        m.seq_first = 3;
        m.seq = 9;
        m.time_first = -7;
        m.time_last = INT64_C(1764306000000000000);
        backup_file files[2];
        memset(files, 0, sizeof files);
        snprintf(files[0].path, sizeof files[0].path, "engine/MANIFEST");
        snprintf(files[0].hash, sizeof files[0].hash, "%s", h);
        files[0].size = 11;
        snprintf(files[1].path, sizeof files[1].path, "journal/00000000000000000003.vjl");
        snprintf(files[1].hash, sizeof files[1].hash, "%s", h);
        files[1].size = 11;
        m.files = files;
        m.nfiles = 2;
        m.new_files = 1;
        m.new_bytes = 11;
        assert_int_equal(backup_manifest_write(repo, &m, &err), VT_OK);
    }
    backup_manifest r;
    assert_int_equal(backup_manifest_read(repo, "20261128_050000_2", &r, &err), VT_OK);
    assert_string_equal(r.kind, "incremental");
    assert_string_equal(r.source, "/data \"quoted\"");
    assert_int_equal(r.seq_first, 3);
    assert_int_equal(r.seq, 9);
    assert_int_equal(r.time_first, -7);
    assert_int_equal(r.time_last, INT64_C(1764306000000000000));
    assert_int_equal(r.nfiles, 2);
    assert_string_equal(r.files[1].path, "journal/00000000000000000003.vjl");
    assert_string_equal(r.files[1].hash, h);
    backup_manifest_free(&r);
    char **list = NULL;
    size_t n = 0;
    assert_int_equal(backup_repo_list(repo, &list, &n, &err), VT_OK);
    assert_int_equal(n, 4);
    assert_string_equal(list[0], "20261128_050000");
    assert_string_equal(list[1], "20261128_050000_2");
    assert_string_equal(list[2], "20261128_050000_10");
    assert_string_equal(list[3], "20261128_050001");
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);

    /* unknown, garbage, a path escaping the data directory, a bad hash */
    assert_int_equal(backup_manifest_read(repo, "20990101_000000", &r, &err), VT_ENOTFOUND);
    const char *bad[] = {
        "not json",
        "{\"format\":\"volta-backup-manifest\",\"version\":1,\"id\":\"20200101_000000\","
        "\"kind\":\"full\",\"parent\":\"\",\"created_at\":1,\"source\":\"/d\",\"checkpoint\":0,"
        "\"seq_first\":0,\"seq\":0,\"time_first\":0,\"time_last\":0,\"new_files\":0,"
        "\"new_bytes\":0,\"files\":[{\"path\":\"../../etc/passwd\",\"hash\":"
        "\"00112233445566778899aabbccddeeff\",\"size\":1}]}",
        "{\"format\":\"volta-backup-manifest\",\"version\":1,\"id\":\"20200101_000000\","
        "\"kind\":\"full\",\"parent\":\"\",\"created_at\":1,\"source\":\"/d\",\"checkpoint\":0,"
        "\"seq_first\":0,\"seq\":0,\"time_first\":0,\"time_last\":0,\"new_files\":0,"
        "\"new_bytes\":0,\"files\":[{\"path\":\"engine/MANIFEST\",\"hash\":\"../x\",\"size\":1}]}",
    };
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/backups/20200101_000000", repo);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/backups/20200101_000000/MANIFEST.json", repo);
        assert_int_equal(durable_publish(path, bad[i], strlen(bad[i]), &err), VT_OK);
        assert_int_equal(backup_manifest_read(repo, "20200101_000000", &r, &err), VT_ECORRUPT);
        assert_non_null(strstr(err.msg, "MANIFEST.json"));
    }
    assert_int_equal(backup_manifest_read(repo, "../x", &r, &err), VT_EINVAL);
    rm_rf(dir);
    free(dir);
}

/* ---- full, then incremental ---- */

typedef struct obj_stat {
    char hash[BACKUP_HASH_HEX + 1];
    ino_t ino;
    struct timespec mtime;
} obj_stat;

static void test_full_then_incremental(void **state)
{
    (void)state;
    fixture fx;
    fx_open(&fx);
    for (int k = 0; k < 20; k++)
        write_points(fx.n, k * 200, (k + 1) * 200);
    meta_catalog b1;
    take(&fx, false, &b1);
    assert_string_equal(b1.kind, "full"); /* the first backup into this repository */
    assert_int_equal(strlen(b1.id), 15);
    assert_true(b1.files >= 3);
    assert_int_equal(b1.new_files, b1.files); /* every file is distinct, every one copied */
    assert_int_equal(b1.new_bytes, b1.bytes);
    assert_int_equal(b1.seq, journal_last_seq(node_journal(fx.n)));
    assert_int_equal(b1.seq_first, 1);
    vt_err err;
    vt_err_clear(&err);
    meta_catalog row;
    assert_int_equal(meta_catalog_get(fx.m, "backup", b1.id, &row, &err), VT_OK);
    assert_string_equal(row.kind, "full");
    assert_int_equal(row.seq, b1.seq);
    /* the temporary snapshot is gone */
    meta_catalog *snaps = NULL;
    size_t nsnaps = 0;
    assert_int_equal(meta_catalog_list(fx.m, "snapshot", &snaps, &nsnaps, &err), VT_OK);
    assert_int_equal(nsnaps, 0);
    free(snaps);

    backup_manifest m1;
    assert_int_equal(backup_manifest_read(fx.repo, b1.id, &m1, &err), VT_OK);
    check_objects(fx.repo, &m1);
    assert_string_equal(m1.files[0].path, "engine/MANIFEST");
    obj_stat *before = calloc(m1.nfiles, sizeof *before);
    for (size_t i = 0; i < m1.nfiles; i++) {
        char obj[1200];
        backup_repo_object_path(fx.repo, m1.files[i].hash, obj, sizeof obj);
        struct stat st;
        assert_int_equal(stat(obj, &st), 0);
        snprintf(before[i].hash, sizeof before[i].hash, "%s", m1.files[i].hash);
        before[i].ino = st.st_ino;
        before[i].mtime = st.st_mtim;
    }
    size_t objs1 = count_objects(fx.repo);
    assert_int_equal(objs1, m1.nfiles);

    /* more writes (new segments, new journal): the second backup copies only those */
    usleep(20000);
    for (int k = 20; k < 25; k++)
        write_points(fx.n, k * 200, (k + 1) * 200);
    meta_catalog b2;
    take(&fx, false, &b2);
    assert_string_equal(b2.kind, "incremental");
    assert_string_equal(b2.parent, b1.id);
    assert_string_not_equal(b2.id, b1.id);
    assert_true(b2.new_files > 0);
    assert_true(b2.new_files < b2.files);
    assert_true(b2.new_bytes < b2.bytes);
    backup_manifest m2;
    assert_int_equal(backup_manifest_read(fx.repo, b2.id, &m2, &err), VT_OK);
    check_objects(fx.repo, &m2);
    /* exactly the files whose objects the repository did not hold were new */
    uint64_t fresh = 0, fresh_bytes = 0;
    for (size_t i = 0; i < m2.nfiles; i++) {
        bool old = false;
        for (size_t k = 0; k < m1.nfiles && !old; k++)
            old = strcmp(m2.files[i].hash, m1.files[k].hash) == 0;
        if (!old) {
            fresh++;
            fresh_bytes += m2.files[i].size;
        }
    }
    assert_int_equal(b2.new_files, fresh);
    assert_int_equal(b2.new_bytes, fresh_bytes);
    assert_int_equal(count_objects(fx.repo), objs1 + fresh);
    /* the old objects were not touched */
    for (size_t i = 0; i < m1.nfiles; i++) {
        char obj[1200];
        backup_repo_object_path(fx.repo, before[i].hash, obj, sizeof obj);
        struct stat st;
        assert_int_equal(stat(obj, &st), 0);
        assert_int_equal(st.st_ino, before[i].ino);
        assert_int_equal(st.st_mtim.tv_sec, before[i].mtime.tv_sec);
        assert_int_equal(st.st_mtim.tv_nsec, before[i].mtime.tv_nsec);
    }
    /* a --full backup copies every object again (new inodes), same content */
    meta_catalog b3;
    take(&fx, true, &b3);
    assert_string_equal(b3.kind, "full");
    assert_int_equal(b3.new_files, b3.files);
    backup_manifest m3;
    assert_int_equal(backup_manifest_read(fx.repo, b3.id, &m3, &err), VT_OK);
    check_objects(fx.repo, &m3);

    /* backup_list, oldest first */
    backup_manifest *list = NULL;
    size_t n = 0;
    assert_int_equal(backup_list(fx.repo, &list, &n, &err), VT_OK);
    assert_int_equal(n, 3);
    assert_string_equal(list[0].id, b1.id);
    assert_string_equal(list[2].id, b3.id);
    backup_manifests_free(list, n);

    free(before);
    backup_manifest_free(&m1);
    backup_manifest_free(&m2);
    backup_manifest_free(&m3);
    fx_close(&fx);
}

/* Two backups within one second: the second is <id>_2. */
static void test_ids_unique_within_a_second(void **state)
{
    (void)state;
    fixture fx;
    fx_open(&fx);
    write_points(fx.n, 0, 100);
    /* start right after a second boundary so both land in the same second */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct timespec wait = {0, 1000000000L - ts.tv_nsec + 1000000};
    nanosleep(&wait, NULL);
    meta_catalog a, b;
    take(&fx, false, &a);
    take(&fx, false, &b);
    assert_int_equal(strlen(a.id), 15);
    if (strncmp(a.id, b.id, 15) == 0) {
        char want[64];
        snprintf(want, sizeof want, "%s_2", a.id);
        assert_string_equal(b.id, want);
    } else {
        print_message("note: the two backups straddled a second (%s, %s)\n", a.id, b.id);
        assert_string_not_equal(a.id, b.id);
    }
    assert_int_equal(b.new_files, 0); /* nothing changed in between */
    fx_close(&fx);
}

/* Two repositories written in the same second: the node's catalog (keyed by kind and id) must
 * keep both backups, so the second one takes the next free id. */
static void test_ids_unique_across_repositories(void **state)
{
    (void)state;
    fixture fx;
    fx_open(&fx);
    write_points(fx.n, 0, 100);
    char repo2[700];
    snprintf(repo2, sizeof repo2, "%s/repo2", fx.dir);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct timespec wait = {0, 1000000000L - ts.tv_nsec + 1000000};
    nanosleep(&wait, NULL);
    meta_catalog a, b;
    take(&fx, false, &a);
    vt_err err;
    vt_err_clear(&err);
    if (backup_create(fx.n, fx.m, repo2, false, NULL, NULL, &b, &err) != VT_OK)
        fail_msg("backup_create (second repository): %s", err.msg);
    assert_string_not_equal(a.id, b.id);
    if (strncmp(a.id, b.id, 15) == 0) {
        char want[64];
        snprintf(want, sizeof want, "%s_2", a.id);
        assert_string_equal(b.id, want);
    } else {
        print_message("note: the two backups straddled a second (%s, %s)\n", a.id, b.id);
    }
    meta_catalog ga, gb;
    assert_int_equal(meta_catalog_get(fx.m, "backup", a.id, &ga, &err), VT_OK);
    assert_int_equal(meta_catalog_get(fx.m, "backup", b.id, &gb, &err), VT_OK);
    assert_string_equal(ga.location, a.location);
    assert_string_equal(gb.location, b.location);
    assert_string_not_equal(ga.location, gb.location);
    fx_close(&fx);
}

/* ---- verify ---- */

typedef struct problems {
    int count;
    char object[1200];
    char ids[4][64];
    char path[512];
} problems;

static void on_problem(void *ctx, const char *object, const char *id, const char *path,
                       const char *problem)
{
    problems *p = ctx;
    if (p->count < 4)
        snprintf(p->ids[p->count], sizeof p->ids[0], "%s", id);
    p->count++;
    snprintf(p->object, sizeof p->object, "%s", object);
    snprintf(p->path, sizeof p->path, "%s", path);
    assert_non_null(strstr(problem, "hash"));
}

static void test_verify_finds_a_flipped_bit(void **state)
{
    (void)state;
    fixture fx;
    fx_open(&fx);
    for (int k = 0; k < 10; k++)
        write_points(fx.n, k * 200, (k + 1) * 200);
    meta_catalog b1, b2;
    take(&fx, false, &b1);
    write_points(fx.n, 5000, 5100);
    take(&fx, false, &b2);
    vt_err err;
    vt_err_clear(&err);
    backup_verify_result res;
    assert_int_equal(backup_verify(fx.repo, NULL, NULL, NULL, NULL, NULL, &res, &err), VT_OK);
    assert_int_equal(res.backups, 2);
    assert_int_equal(res.objects, count_objects(fx.repo));
    assert_int_equal(res.problems, 0);
    assert_true(res.bytes > 0);

    /* an engine segment both backups hold: flip one bit */
    backup_manifest m1, m2;
    assert_int_equal(backup_manifest_read(fx.repo, b1.id, &m1, &err), VT_OK);
    assert_int_equal(backup_manifest_read(fx.repo, b2.id, &m2, &err), VT_OK);
    const backup_file *shared = NULL;
    for (size_t i = 0; i < m1.nfiles && !shared; i++)
        for (size_t k = 0; k < m2.nfiles && !shared; k++)
            if (strncmp(m1.files[i].path, "engine/seg/", 11) == 0 &&
                strcmp(m1.files[i].hash, m2.files[k].hash) == 0)
                shared = &m1.files[i];
    assert_non_null(shared);
    char obj[1200];
    backup_repo_object_path(fx.repo, shared->hash, obj, sizeof obj);
    int fd = open(obj, O_RDWR);
    assert_true(fd >= 0);
    off_t at = (off_t)(shared->size / 2);
    unsigned char byte;
    assert_int_equal(pread(fd, &byte, 1, at), 1);
    byte ^= 0x10;
    assert_int_equal(pwrite(fd, &byte, 1, at), 1);
    close(fd);

    problems p;
    memset(&p, 0, sizeof p);
    assert_int_equal(backup_verify(fx.repo, NULL, NULL, NULL, on_problem, &p, &res, &err),
                     VT_ECORRUPT);
    assert_int_equal(p.count, 2); /* one object, referenced by both backups */
    assert_int_equal(res.problems, 2);
    assert_string_equal(p.object, obj);
    assert_string_equal(p.path, shared->path);
    assert_true((strcmp(p.ids[0], b1.id) == 0 && strcmp(p.ids[1], b2.id) == 0) ||
                (strcmp(p.ids[1], b1.id) == 0 && strcmp(p.ids[0], b2.id) == 0));
    assert_non_null(strstr(err.msg, obj));
    assert_non_null(strstr(err.msg, shared->path));
    /* verify of one backup */
    memset(&p, 0, sizeof p);
    assert_int_equal(backup_verify(fx.repo, b2.id, NULL, NULL, on_problem, &p, &res, &err),
                     VT_ECORRUPT);
    assert_int_equal(p.count, 1);
    assert_string_equal(p.ids[0], b2.id);
    assert_int_equal(res.backups, 1);
    assert_int_equal(backup_verify(fx.repo, "20990101_000000", NULL, NULL, NULL, NULL, &res, &err),
                     VT_ENOTFOUND);
    /* a missing object */
    assert_int_equal(unlink(obj), 0);
    assert_int_equal(backup_verify(fx.repo, b1.id, NULL, NULL, NULL, NULL, &res, &err),
                     VT_ECORRUPT);
    assert_non_null(strstr(err.msg, "missing"));
    backup_manifest_free(&m1);
    backup_manifest_free(&m2);
    fx_close(&fx);
}

/* ---- expire ---- */

static void test_expire_keeps_what_remains(void **state)
{
    (void)state;
    fixture fx;
    fx_open(&fx);
    meta_catalog b[3];
    for (int i = 0; i < 3; i++) {
        write_points(fx.n, i * 3000, i * 3000 + 2000);
        take(&fx, i == 2, &b[i]); /* full, incremental, full */
    }
    assert_string_equal(b[0].kind, "full");
    assert_string_equal(b[1].kind, "incremental");
    assert_string_equal(b[2].kind, "full");
    vt_err err;
    vt_err_clear(&err);
    backup_manifest keep;
    assert_int_equal(backup_manifest_read(fx.repo, b[2].id, &keep, &err), VT_OK);
    size_t objs_before = count_objects(fx.repo);
    /* the objects that only the older backups hold */
    size_t distinct_keep = 0;
    for (size_t i = 0; i < keep.nfiles; i++) {
        bool dup = false;
        for (size_t k = 0; k < i && !dup; k++)
            dup = strcmp(keep.files[i].hash, keep.files[k].hash) == 0;
        distinct_keep += !dup;
    }
    assert_true(objs_before > distinct_keep);

    /* --keep 2: two fulls exist, the incremental after the older one is kept too */
    backup_expire_result res;
    assert_int_equal(backup_expire(fx.repo, fx.m, 2, 0, 0, false, &res, &err), VT_OK);
    assert_int_equal(res.nexpired, 0);
    assert_int_equal(res.kept, 3);
    backup_expire_result_free(&res);
    /* dry run of --keep 1 */
    assert_int_equal(backup_expire(fx.repo, fx.m, 1, 0, 0, true, &res, &err), VT_OK);
    assert_int_equal(res.nexpired, 2);
    assert_int_equal(res.objects_deleted, objs_before - distinct_keep);
    backup_expire_result_free(&res);
    assert_int_equal(count_objects(fx.repo), objs_before);
    /* --keep 1 */
    assert_int_equal(backup_expire(fx.repo, fx.m, 1, 0, 0, false, &res, &err), VT_OK);
    assert_int_equal(res.nexpired, 2);
    assert_string_equal(res.expired[0], b[0].id);
    assert_string_equal(res.expired[1], b[1].id);
    assert_int_equal(res.kept, 1);
    assert_int_equal(res.objects_deleted, objs_before - distinct_keep);
    backup_expire_result_free(&res);
    assert_int_equal(count_objects(fx.repo), distinct_keep);
    char **ids = NULL;
    size_t n = 0;
    assert_int_equal(backup_repo_list(fx.repo, &ids, &n, &err), VT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], b[2].id);
    free(ids[0]);
    free(ids);
    char path[1200];
    snprintf(path, sizeof path, "%s/backups/%s", fx.repo, b[0].id);
    struct stat st;
    assert_int_not_equal(stat(path, &st), 0);
    meta_catalog row;
    assert_int_equal(meta_catalog_get(fx.m, "backup", b[0].id, &row, &err), VT_ENOTFOUND);
    assert_int_equal(meta_catalog_get(fx.m, "backup", b[2].id, &row, &err), VT_OK);
    /* what remains is complete */
    backup_verify_result vr;
    assert_int_equal(backup_verify(fx.repo, NULL, NULL, NULL, NULL, NULL, &vr, &err), VT_OK);
    assert_int_equal(vr.objects, distinct_keep);
    check_objects(fx.repo, &keep);
    /* by age: nothing is older than a day; the newest is always kept */
    assert_int_equal(backup_expire(fx.repo, fx.m, 0, 1, 0, false, &res, &err), VT_OK);
    assert_int_equal(res.nexpired, 0);
    backup_expire_result_free(&res);
    int64_t later = keep.created_at + INT64_C(10) * 86400 * 1000000000;
    assert_int_equal(backup_expire(fx.repo, fx.m, 0, 1, later, false, &res, &err), VT_OK);
    assert_int_equal(res.nexpired, 0);
    assert_int_equal(res.kept, 1);
    backup_expire_result_free(&res);
    assert_int_equal(backup_expire(fx.repo, fx.m, 0, 0, 0, false, &res, &err), VT_EINVAL);
    backup_manifest_free(&keep);
    fx_close(&fx);
}

/* ---- a backup while another thread writes ---- */

#define MAX_WRITES 100000
typedef struct writer {
    node *n;
    atomic_bool stop;
    size_t count;
    uint64_t seq[MAX_WRITES];
    int points[MAX_WRITES];
} writer;

static void *writer_main(void *arg)
{
    writer *w = arg;
    int next = 0;
    while (!atomic_load(&w->stop) && w->count < MAX_WRITES) {
        int k = 1 + (int)(w->count % 7);
        w->seq[w->count] = write_points(w->n, next, next + k);
        w->points[w->count] = k;
        w->count++;
        next += k;
    }
    return NULL;
}

static void test_backup_during_writes_is_consistent(void **state)
{
    (void)state;
    fixture fx;
    fx_open(&fx);
    write_points(fx.n, 10000000, 10001000);
    writer *w = calloc(1, sizeof *w);
    w->n = fx.n;
    atomic_init(&w->stop, false);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, writer_main, w), 0);
    usleep(100000);
    meta_catalog b1, b2;
    take(&fx, false, &b1);
    usleep(50000);
    take(&fx, false, &b2);
    usleep(20000);
    atomic_store(&w->stop, true);
    pthread_join(th, NULL);
    assert_true(w->count > 10);

    meta_catalog *bs[2] = {&b1, &b2};
    for (int k = 0; k < 2; k++) {
        vt_err err;
        vt_err_clear(&err);
        backup_manifest man;
        assert_int_equal(backup_manifest_read(fx.repo, bs[k]->id, &man, &err), VT_OK);
        long long want = 1000;
        for (size_t i = 0; i < w->count; i++)
            if (w->seq[i] <= man.seq)
                want += w->points[i];
        char dst[800];
        snprintf(dst, sizeof dst, "%s/restored-%d", fx.dir, k);
        restore_copy(fx.repo, &man, dst);
        node *r = open_node(dst);
        long long c, s;
        count_sum(r, &c, &s);
        assert_int_equal(c, want);
        assert_int_equal(journal_last_seq(node_journal(r)), man.seq);
        assert_int_equal(node_close(r, &err), VT_OK);
        backup_manifest_free(&man);
    }
    free(w);
    fx_close(&fx);
}

/* ---- the journal chain ---- */

static void test_journal_chain_has_no_gap(void **state)
{
    (void)state;
    fixture fx;
    fx_open(&fx);
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(backup_hold_start(fx.n, fx.m, &err), -1); /* no backup yet */
    for (int k = 0; k < 10; k++)
        write_points(fx.n, k * 200, (k + 1) * 200);
    meta_catalog b1;
    take(&fx, false, &b1);
    /* many writes: the small memtable flushes, the checkpoint moves past b1.seq, and the trim
     * would delete the journal b1 did not archive if nothing held it */
    for (int k = 10; k < 60; k++)
        write_points(fx.n, k * 200, (k + 1) * 200);
    assert_int_equal(engine_flush(node_engine(fx.n), &err), VT_OK);
    node_trim_journal(fx.n, &err);
    assert_true(journal_first_seq(node_journal(fx.n)) <= b1.seq + 1);
    meta_catalog b2;
    take(&fx, false, &b2);
    backup_manifest m2;
    assert_int_equal(backup_manifest_read(fx.repo, b2.id, &m2, &err), VT_OK);
    assert_true(m2.checkpoint > b1.seq); /* the engine alone would not continue the chain */
    assert_true(m2.seq_first >= 1 && m2.seq_first <= b1.seq + 1);
    assert_true(m2.time_first > 0 && m2.time_first <= m2.time_last);
    /* the archived journal of b2, read back: every record b1.seq + 1 .. b2.seq, in order */
    char jdir[800];
    snprintf(jdir, sizeof jdir, "%s/chain/journal", fx.dir);
    char chain[800];
    snprintf(chain, sizeof chain, "%s/chain", fx.dir);
    restore_copy(fx.repo, &m2, chain);
    journal_reader *r = NULL;
    assert_int_equal(journal_reader_open(jdir, b1.seq + 1, &r, &err), VT_OK);
    uint64_t expect = b1.seq + 1;
    for (;;) {
        journal_record rec;
        bool have = false;
        assert_int_equal(journal_reader_next(r, &rec, &have, &err), VT_OK);
        if (!have)
            break;
        if (rec.seq < expect)
            continue;
        assert_int_equal(rec.seq, expect);
        expect++;
    }
    journal_reader_close(r);
    assert_int_equal(expect, b2.seq + 1);
    /* the hold moved to b2.seq + 1: a restart's backup_hold_start finds it in the catalog */
    backup_hold_stop(fx.n);
    assert_true(backup_hold_start(fx.n, fx.m, &err) >= 0);
    backup_manifest_free(&m2);
    fx_close(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_repo_format),
        cmocka_unit_test(test_full_then_incremental),
        cmocka_unit_test(test_ids_unique_within_a_second),
        cmocka_unit_test(test_ids_unique_across_repositories),
        cmocka_unit_test(test_verify_finds_a_flipped_bit),
        cmocka_unit_test(test_expire_keeps_what_remains),
        cmocka_unit_test(test_backup_during_writes_is_consistent),
        cmocka_unit_test(test_journal_chain_has_no_gap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
