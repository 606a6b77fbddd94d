/*
 * tests/unit/test_meta_hours.c — covers src/meta/meta_hours.c (expected points per file,
 * measurement and hour: meta.db schema version 4) and the v3 -> v4 migration in meta.c.
 *
 * Checked: a histogram round-trips ordered by measurement and hour; a put replaces the previous
 * one whole and n = 0 removes it; a duplicate (measurement, hour) or an unknown file changes
 * nothing; the sum adds files per (measurement, hour), keeps to the hour range and database,
 * and counts only `loaded` files (a stale or loading file's rows stop counting); the list of
 * files with a histogram; deleting a ledger row deletes its histogram; a v3 meta.db (no
 * file_hours table) opens, migrates to v4 and keeps its ledger rows, which have no histogram.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meta/meta.h"

typedef struct fixture {
    char dir[64];
    char path[128];
    meta *m;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/volta_meta_hours_XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    snprintf(fx->path, sizeof fx->path, "%s/meta.db", fx->dir);
    vt_err err = {0};
    if (meta_open(fx->path, &fx->m, &err) != VT_OK) {
        print_error("meta_open: %s\n", err.msg);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    meta_close(fx->m);
    const char *suffix[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < 4; i++) {
        char p[160];
        snprintf(p, sizeof p, "%s%s", fx->path, suffix[i]);
        unlink(p);
    }
    rmdir(fx->dir);
    free(fx);
    return 0;
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        print_error("sqlite3_exec %s: %s\n", sql, msg ? msg : "?");
    assert_int_equal(rc, SQLITE_OK);
    sqlite3_free(msg);
    sqlite3_close(db);
}

static int64_t add_file(meta *m, const char *path, const char *db, meta_file_state st)
{
    meta_file f;
    memset(&f, 0, sizeof f);
    snprintf(f.path, sizeof f.path, "%s", path);
    snprintf(f.database, sizeof f.database, "%s", db);
    snprintf(f.dataset, sizeof f.dataset, "lp");
    f.state = st;
    f.points = 10;
    f.min_time = 1;
    f.max_time = 2;
    vt_err err = {0};
    assert_int_equal(meta_file_put(m, &f, &err), VT_OK);
    return f.id;
}

static void set_state(meta *m, int64_t id, meta_file_state st)
{
    meta_file f;
    vt_err err = {0};
    assert_int_equal(meta_file_get_id(m, id, &f, &err), VT_OK);
    f.state = st;
    assert_int_equal(meta_file_put(m, &f, &err), VT_OK);
}

/* rows collected as "measurement@hour=points;" */
typedef struct collected {
    char text[4096];
    size_t rows;
} collected;

static bool collect(void *ctx, const char *measurement, int64_t hour, uint64_t points)
{
    collected *c = ctx;
    size_t len = strlen(c->text);
    snprintf(c->text + len, sizeof c->text - len, "%s@%" PRId64 "=%" PRIu64 ";", measurement,
             hour, points);
    c->rows++;
    return true;
}

static const char *of_file(meta *m, int64_t id, collected *c)
{
    memset(c, 0, sizeof *c);
    vt_err err = {0};
    assert_int_equal(meta_hours_of_file(m, id, collect, c, &err), VT_OK);
    return c->text;
}

static const char *sum(meta *m, const char *db, int64_t h0, int64_t h1, collected *c)
{
    memset(c, 0, sizeof *c);
    vt_err err = {0};
    assert_int_equal(meta_hours_sum(m, db, h0, h1, collect, c, &err), VT_OK);
    return c->text;
}

static void test_put_replace_sum(void **state)
{
    fixture *fx = *state;
    meta *m = fx->m;
    vt_err err = {0};
    collected c;
    int64_t a = add_file(m, "/a.lp", "ons", META_FILE_LOADED);
    int64_t b = add_file(m, "/b.lp", "ons", META_FILE_LOADED);
    int64_t other = add_file(m, "/c.lp", "other", META_FILE_LOADED);

    meta_hour_count ra[] = {{"power", 10, 10}, {"power", 11, 2}, {"temp c", 10, 3}};
    assert_int_equal(meta_hours_put(m, a, ra, 3, &err), VT_OK);
    assert_string_equal(of_file(m, a, &c), "power@10=10;power@11=2;temp c@10=3;");
    meta_hour_count rb[] = {{"power", 11, 5}, {"power", -3, 1}};
    assert_int_equal(meta_hours_put(m, b, rb, 2, &err), VT_OK);
    meta_hour_count rc[] = {{"power", 11, 100}};
    assert_int_equal(meta_hours_put(m, other, rc, 1, &err), VT_OK);

    /* summed per (measurement, hour) over the database's loaded files, in the hour range */
    assert_string_equal(sum(m, "ons", INT64_MIN, INT64_MAX, &c),
                        "power@-3=1;power@10=10;power@11=7;temp c@10=3;");
    assert_string_equal(sum(m, "ons", 11, 11, &c), "power@11=7;");
    assert_string_equal(sum(m, "none", INT64_MIN, INT64_MAX, &c), "");
    int64_t *ids = NULL;
    size_t n = 0;
    assert_int_equal(meta_hours_files(m, "ons", &ids, &n, &err), VT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], a);
    assert_int_equal(ids[1], b);
    free(ids);

    /* a put replaces the whole histogram */
    meta_hour_count ra2[] = {{"power", 12, 4}};
    assert_int_equal(meta_hours_put(m, a, ra2, 1, &err), VT_OK);
    assert_string_equal(of_file(m, a, &c), "power@12=4;");
    assert_string_equal(sum(m, "ons", INT64_MIN, INT64_MAX, &c),
                        "power@-3=1;power@11=5;power@12=4;");

    /* a duplicate row or an unknown file: refused, nothing changed */
    meta_hour_count dup[] = {{"power", 1, 1}, {"power", 1, 2}};
    assert_int_equal(meta_hours_put(m, a, dup, 2, &err), VT_EEXIST);
    assert_non_null(strstr(err.msg, "meta_hours_put"));
    assert_string_equal(of_file(m, a, &c), "power@12=4;");
    assert_int_equal(meta_hours_put(m, 9999, ra2, 1, &err), VT_ENOTFOUND);
    assert_non_null(strstr(err.msg, "9999"));
    meta_hour_count zero[] = {{"power", 1, 0}};
    assert_int_equal(meta_hours_put(m, a, zero, 1, &err), VT_EINVAL);
    assert_string_equal(of_file(m, a, &c), "power@12=4;");

    /* only loaded files count: stale and loading rows stop counting */
    set_state(m, b, META_FILE_STALE);
    assert_string_equal(sum(m, "ons", INT64_MIN, INT64_MAX, &c), "power@12=4;");
    set_state(m, a, META_FILE_LOADING);
    assert_string_equal(sum(m, "ons", INT64_MIN, INT64_MAX, &c), "");
    assert_int_equal(meta_hours_files(m, "ons", &ids, &n, &err), VT_OK);
    assert_int_equal(n, 0);
    assert_null(ids);
    set_state(m, a, META_FILE_LOADED);
    assert_string_equal(sum(m, "ons", INT64_MIN, INT64_MAX, &c), "power@12=4;");

    /* n = 0 removes it */
    assert_int_equal(meta_hours_put(m, a, NULL, 0, &err), VT_OK);
    assert_string_equal(of_file(m, a, &c), "");
    assert_int_equal(c.rows, 0);
}

static void test_cascade_and_upgrade(void **state)
{
    fixture *fx = *state;
    vt_err err = {0};
    collected c;
    int64_t a = add_file(fx->m, "/a.lp", "ons", META_FILE_LOADED);
    meta_hour_count ra[] = {{"power", 10, 10}};
    assert_int_equal(meta_hours_put(fx->m, a, ra, 1, &err), VT_OK);
    meta_close(fx->m);
    fx->m = NULL;
    /* the ledger row deleted (foreign keys on): its histogram goes with it */
    raw_exec(fx->path, "PRAGMA foreign_keys = ON; DELETE FROM files WHERE id = 1;");
    fx->m = NULL;
    assert_int_equal(meta_open(fx->path, &fx->m, &err), VT_OK);
    assert_string_equal(of_file(fx->m, a, &c), "");
    int64_t b = add_file(fx->m, "/b.csv", "ons", META_FILE_LOADED);
    meta_close(fx->m);
    fx->m = NULL;

    /* back to what a v3 database is: no file_hours table */
    raw_exec(fx->path, "DROP TABLE file_hours; PRAGMA user_version = 3;");
    assert_int_equal(meta_open(fx->path, &fx->m, &err), VT_OK);
    assert_int_equal(meta_schema_version(fx->m), 4);
    meta_file f;
    assert_int_equal(meta_file_get_id(fx->m, b, &f, &err), VT_OK);
    assert_string_equal(f.path, "/b.csv");
    assert_int_equal(f.state, META_FILE_LOADED);
    int64_t *ids = NULL;
    size_t n = 0;
    assert_int_equal(meta_hours_files(fx->m, "ons", &ids, &n, &err), VT_OK);
    assert_int_equal(n, 0); /* loaded before v4: no histogram */
    assert_int_equal(meta_hours_put(fx->m, b, ra, 1, &err), VT_OK);
    assert_string_equal(sum(fx->m, "ons", 0, 100, &c), "power@10=10;");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_replace_sum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cascade_and_upgrade, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
