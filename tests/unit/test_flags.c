/*
 * tests/unit/test_flags.c — covers src/gateway/flags.c and src/meta/meta_flags.c.
 *
 * Defaults on a fresh meta.db; set (one version per change set, canonical values, no version
 * when nothing changes); validation (unknown flag, each type's bad values, duplicates: nothing
 * written, messages name the flag and the accepted values); history (newest first, limit,
 * old "" = default, who/why); revert (to a version, to 0 = defaults, unknown version, reverting
 * to the current state is no change); refresh across two meta handles on one file (the
 * server / CLI case); the audit rows; the JSON documents.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/flags.h"
#include "meta/meta.h"

typedef struct fixture {
    char dir[64];
    char path[128];
    meta *m;
    flags *f;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/volta_flags_XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    snprintf(fx->path, sizeof fx->path, "%s/meta.db", fx->dir);
    vt_err err;
    if (meta_open(fx->path, &fx->m, &err) != VT_OK || flags_open(fx->m, &fx->f, &err) != VT_OK) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    flags_close(fx->f);
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

static vt_rc set1(flags *f, const char *name, const char *value, const char *why, int64_t *v,
                  vt_err *err)
{
    const char *names[] = {name}, *values[] = {value};
    return flags_set(f, 1, names, values, "test:unit", why, v, err);
}

static const char *text(flags *f, flag_id id)
{
    static char buf[64];
    return flags_value_text(f, id, buf, sizeof buf);
}

static void test_defaults(void **state)
{
    fixture *fx = *state;
    assert_int_equal(flags_version(fx->f), 0);
    assert_false(flags_maintenance(fx->f));
    assert_int_equal(flags_read_backend(fx->f), READ_PRIMARY);
    assert_true(flags_flux(fx->f));
    assert_true(flags_rate_limit_rps(fx->f) == 0);
    assert_true(flags_rate_limit_burst(fx->f) == 0);
    assert_int_equal(flags_failover(fx->f), FAILOVER_OFF);
    assert_true(flags_number(fx->f, FLAG_FAILOVER_UNAVAILABLE_S) == 1800);
    assert_true(flags_number(fx->f, FLAG_FAILOVER_LATENCY_PCT) == 300);
    assert_string_equal(text(fx->f, FLAG_READ_BACKEND), "primary");
    assert_string_equal(text(fx->f, FLAG_FLUX), "true");
    assert_string_equal(text(fx->f, FLAG_FAILOVER_UNAVAILABLE_S), "1800");
    flag_id id;
    vt_err err;
    assert_int_equal(flag_by_name("enable_maintenance_mode", &id, &err), VT_OK);
    assert_int_equal(id, FLAG_MAINTENANCE);
    assert_string_equal(flag_name(FLAG_RATE_LIMIT_BURST), "rate_limit_burst");
    assert_string_equal(flag_default(FLAG_FAILOVER), "off");
    flag_version *h = NULL;
    size_t n = 99;
    assert_int_equal(flags_history(fx->f, 10, &h, &n, &err), VT_OK);
    assert_int_equal(n, 0);
    free(h);
}

static void test_set_versions(void **state)
{
    fixture *fx = *state;
    vt_err err;
    int64_t v = -1;
    assert_int_equal(set1(fx->f, "enable_maintenance_mode", "ON", "deploy", &v, &err), VT_OK);
    assert_int_equal(v, 1);
    assert_int_equal(flags_version(fx->f), 1);
    assert_true(flags_maintenance(fx->f));
    assert_string_equal(text(fx->f, FLAG_MAINTENANCE), "true");

    /* several at once: one version; values canonicalised */
    const char *names[] = {"read_backend", "rate_limit_rps", "failover"};
    const char *values[] = {"BACKUP", "2.50", "alert"};
    assert_int_equal(flags_set(fx->f, 3, names, values, "test:unit", "", &v, &err), VT_OK);
    assert_int_equal(v, 2);
    assert_int_equal(flags_read_backend(fx->f), READ_BACKUP);
    assert_true(flags_rate_limit_rps(fx->f) == 2.5);
    assert_string_equal(text(fx->f, FLAG_RATE_LIMIT_RPS), "2.5");
    assert_int_equal(flags_failover(fx->f), FAILOVER_ALERT);

    /* the same values again (other spellings): no change, no version */
    const char *same[] = {"backup", "2.5", "ALERT"};
    assert_int_equal(flags_set(fx->f, 3, names, same, "test:unit", "", &v, &err), VT_OK);
    assert_int_equal(v, 2);
    assert_int_equal(set1(fx->f, "enable_flux_queries", "1", "", &v, &err), VT_OK); /* default */
    assert_int_equal(v, 2);
    assert_int_equal(flags_version(fx->f), 2);

    /* a partly new set records only what changed */
    const char *mixed_n[] = {"read_backend", "enable_flux_queries"};
    const char *mixed_v[] = {"backup", "off"};
    assert_int_equal(flags_set(fx->f, 2, mixed_n, mixed_v, "test:unit", "", &v, &err), VT_OK);
    assert_int_equal(v, 3);
    flag_version *h = NULL;
    size_t n = 0;
    assert_int_equal(flags_history(fx->f, 1, &h, &n, &err), VT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(h[0].n_changes, 1);
    assert_string_equal(h[0].changes[0].name, "enable_flux_queries");
    assert_string_equal(h[0].changes[0].old_value, "");
    assert_string_equal(h[0].changes[0].new_value, "false");
    free(h);
}

static void test_validation(void **state)
{
    fixture *fx = *state;
    vt_err err;
    int64_t v = -1;
    assert_int_equal(set1(fx->f, "enable_maintenance_mod", "true", "", &v, &err), VT_ENOTFOUND);
    assert_non_null(strstr(err.msg, "unknown flag: enable_maintenance_mod"));
    assert_non_null(strstr(err.msg, "enable_maintenance_mode"));

    assert_int_equal(set1(fx->f, "enable_maintenance_mode", "maybe", "", &v, &err), VT_EINVAL);
    assert_non_null(strstr(err.msg, "enable_maintenance_mode"));
    assert_non_null(strstr(err.msg, "maybe"));
    assert_non_null(strstr(err.msg, "true, false"));

    assert_int_equal(set1(fx->f, "read_backend", "secondary", "", &v, &err), VT_EINVAL);
    assert_non_null(strstr(err.msg, "primary, backup"));
    assert_int_equal(set1(fx->f, "failover", "", "", &v, &err), VT_EINVAL);
    assert_non_null(strstr(err.msg, "off, alert, auto"));

    const char *bad_numbers[] = {"-1", "abc", "1e400", "nan", "inf", "", "5x", "1e13"};
    for (size_t i = 0; i < sizeof bad_numbers / sizeof *bad_numbers; i++) {
        assert_int_equal(set1(fx->f, "rate_limit_rps", bad_numbers[i], "", &v, &err), VT_EINVAL);
        assert_non_null(strstr(err.msg, "rate_limit_rps"));
    }

    /* one bad value in a set: nothing is written */
    const char *names[] = {"enable_maintenance_mode", "rate_limit_burst"};
    const char *values[] = {"true", "-3"};
    assert_int_equal(flags_set(fx->f, 2, names, values, "t", "", &v, &err), VT_EINVAL);
    const char *dup_n[] = {"rate_limit_rps", "rate_limit_rps"};
    const char *dup_v[] = {"1", "2"};
    assert_int_equal(flags_set(fx->f, 2, dup_n, dup_v, "t", "", &v, &err), VT_EINVAL);
    assert_non_null(strstr(err.msg, "twice"));
    assert_int_equal(flags_set(fx->f, 0, names, values, "t", "", &v, &err), VT_EINVAL);
    assert_int_equal(flags_version(fx->f), 0);
    assert_false(flags_maintenance(fx->f));
    /* 0 and large-but-allowed numbers are fine */
    assert_int_equal(set1(fx->f, "rate_limit_burst", "1e12", "", &v, &err), VT_OK);
    assert_int_equal(set1(fx->f, "rate_limit_burst", "0", "", &v, &err), VT_OK);
    assert_int_equal(v, 2);
}

static void test_history(void **state)
{
    fixture *fx = *state;
    vt_err err;
    int64_t v;
    for (int i = 1; i <= 5; i++) {
        char val[16], why[32];
        snprintf(val, sizeof val, "%d", i * 10);
        snprintf(why, sizeof why, "step %d", i);
        assert_int_equal(set1(fx->f, "rate_limit_rps", val, why, &v, &err), VT_OK);
        assert_int_equal(v, i);
    }
    flag_version *h = NULL;
    size_t n = 0;
    assert_int_equal(flags_history(fx->f, 3, &h, &n, &err), VT_OK);
    assert_int_equal(n, 3);
    assert_int_equal(h[0].version, 5);
    assert_int_equal(h[2].version, 3);
    assert_string_equal(h[0].who, "test:unit");
    assert_string_equal(h[0].why, "step 5");
    assert_string_equal(h[0].changes[0].old_value, "40");
    assert_string_equal(h[0].changes[0].new_value, "50");
    assert_true(h[0].at_ns > 0 && h[0].at_ns >= h[1].at_ns);
    free(h);
    assert_int_equal(flags_history(fx->f, 100, &h, &n, &err), VT_OK);
    assert_int_equal(n, 5);
    assert_string_equal(h[4].changes[0].old_value, ""); /* had its default */

    json_t *doc = flags_history_to_json(h, n);
    assert_non_null(doc);
    json_t *arr = json_object_get(doc, "versions");
    assert_int_equal(json_array_size(arr), 5);
    json_t *first = json_array_get(arr, 0);
    assert_int_equal(json_integer_value(json_object_get(first, "version")), 5);
    const char *at = json_string_value(json_object_get(first, "at"));
    assert_non_null(at);
    assert_int_equal(strlen(at), 20); /* 2026-01-02T03:04:05Z */
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(first, "changes"), 0), "new")),
                        "50");
    json_decref(doc);
    free(h);
}

static void test_revert(void **state)
{
    fixture *fx = *state;
    vt_err err;
    int64_t v;
    assert_int_equal(set1(fx->f, "enable_maintenance_mode", "true", "", &v, &err), VT_OK); /* 1 */
    assert_int_equal(set1(fx->f, "read_backend", "backup", "", &v, &err), VT_OK);         /* 2 */
    assert_int_equal(set1(fx->f, "enable_maintenance_mode", "false", "", &v, &err), VT_OK); /* 3 */
    assert_int_equal(set1(fx->f, "rate_limit_rps", "7", "", &v, &err), VT_OK);             /* 4 */

    /* state at 1: maintenance on, everything else default */
    assert_int_equal(flags_revert(fx->f, 1, "test:unit", "oops", &v, &err), VT_OK);
    assert_int_equal(v, 5);
    assert_true(flags_maintenance(fx->f));
    assert_int_equal(flags_read_backend(fx->f), READ_PRIMARY);
    assert_true(flags_rate_limit_rps(fx->f) == 0);
    flag_version *h = NULL;
    size_t n = 0;
    assert_int_equal(flags_history(fx->f, 1, &h, &n, &err), VT_OK);
    assert_string_equal(h[0].why, "revert to version 1: oops");
    assert_int_equal(h[0].n_changes, 3);
    free(h);

    /* reverting to the state we are in: no change */
    assert_int_equal(flags_revert(fx->f, 5, "test:unit", "", &v, &err), VT_OK);
    assert_int_equal(v, 5);

    /* state at 2: maintenance on and backup */
    assert_int_equal(flags_revert(fx->f, 2, "test:unit", "", &v, &err), VT_OK);
    assert_int_equal(v, 6);
    assert_int_equal(flags_read_backend(fx->f), READ_BACKUP);
    assert_true(flags_maintenance(fx->f));

    /* 0: the defaults */
    assert_int_equal(flags_revert(fx->f, 0, "test:unit", "", &v, &err), VT_OK);
    assert_int_equal(v, 7);
    assert_false(flags_maintenance(fx->f));
    assert_int_equal(flags_read_backend(fx->f), READ_PRIMARY);

    assert_int_equal(flags_revert(fx->f, 99, "test:unit", "", &v, &err), VT_ENOTFOUND);
    assert_non_null(strstr(err.msg, "99"));
    assert_non_null(strstr(err.msg, "latest: 7"));
    assert_int_equal(flags_revert(fx->f, -1, "test:unit", "", &v, &err), VT_EINVAL);
    assert_int_equal(flags_version(fx->f), 7);
}

static void test_refresh_two_handles(void **state)
{
    fixture *fx = *state;
    vt_err err;
    meta *m2 = NULL;
    flags *f2 = NULL;
    assert_int_equal(meta_open(fx->path, &m2, &err), VT_OK);
    assert_int_equal(flags_open(m2, &f2, &err), VT_OK);

    bool changed = true;
    assert_int_equal(flags_refresh(fx->f, &changed, &err), VT_OK);
    assert_false(changed);

    int64_t v;
    assert_int_equal(set1(f2, "enable_maintenance_mode", "true", "cli", &v, &err), VT_OK);
    assert_true(flags_maintenance(f2));
    assert_false(flags_maintenance(fx->f)); /* not seen until refreshed */
    assert_int_equal(flags_refresh(fx->f, &changed, &err), VT_OK);
    assert_true(changed);
    assert_true(flags_maintenance(fx->f));
    assert_int_equal(flags_version(fx->f), 1);
    assert_int_equal(flags_refresh(fx->f, &changed, &err), VT_OK);
    assert_false(changed); /* idle */

    /* the "old" value recorded is the committed one, even from a stale handle */
    assert_int_equal(set1(fx->f, "read_backend", "backup", "", &v, &err), VT_OK);
    assert_int_equal(set1(f2, "read_backend", "primary", "", &v, &err), VT_OK);
    assert_int_equal(v, 3);
    flag_version *h = NULL;
    size_t n = 0;
    assert_int_equal(flags_history(f2, 1, &h, &n, &err), VT_OK);
    assert_string_equal(h[0].changes[0].old_value, "backup");
    free(h);
    assert_int_equal(flags_refresh(fx->f, &changed, &err), VT_OK);
    assert_int_equal(flags_read_backend(fx->f), READ_PRIMARY);

    /* a reopened handle sees everything */
    flags_close(f2);
    assert_int_equal(flags_open(m2, &f2, &err), VT_OK);
    assert_int_equal(flags_version(f2), 3);
    assert_true(flags_maintenance(f2));
    flags_close(f2);
    meta_close(m2);
}

static void test_audit_and_json(void **state)
{
    fixture *fx = *state;
    vt_err err;
    int64_t v;
    assert_int_equal(set1(fx->f, "enable_maintenance_mode", "true", "disk swap", &v, &err), VT_OK);
    meta_audit_entry *a = NULL;
    size_t n = 0;
    assert_int_equal(meta_audit_list(fx->m, 10, &a, &n, &err), VT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(a[0].who, "test:unit");
    assert_string_equal(a[0].action, "flags.set");
    assert_string_equal(a[0].detail, "enable_maintenance_mode: false -> true; disk swap");
    free(a);
    /* no change: no audit row */
    assert_int_equal(set1(fx->f, "enable_maintenance_mode", "true", "again", &v, &err), VT_OK);
    assert_int_equal(meta_audit_list(fx->m, 10, &a, &n, &err), VT_OK);
    assert_int_equal(n, 1);
    free(a);

    assert_int_equal(set1(fx->f, "rate_limit_rps", "0.5", "", &v, &err), VT_OK);
    json_t *doc = flags_to_json(fx->f);
    assert_non_null(doc);
    assert_int_equal(json_integer_value(json_object_get(doc, "version")), 2);
    json_t *fl = json_object_get(doc, "flags");
    assert_int_equal(json_object_size(fl), FLAG_COUNT);
    assert_true(json_is_true(json_object_get(fl, "enable_maintenance_mode")));
    assert_true(json_is_true(json_object_get(fl, "enable_flux_queries")));
    assert_string_equal(json_string_value(json_object_get(fl, "read_backend")), "primary");
    assert_true(json_real_value(json_object_get(fl, "rate_limit_rps")) == 0.5);
    assert_int_equal(json_integer_value(json_object_get(fl, "failover_unavailable_s")), 1800);
    json_decref(doc);

    doc = flags_change_to_json(fx->f, 1, 2);
    assert_int_equal(json_integer_value(json_object_get(doc, "version")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(doc, "changed"), 0)),
                        "rate_limit_rps");
    json_decref(doc);
    doc = flags_change_to_json(fx->f, 2, 2);
    assert_int_equal(json_array_size(json_object_get(doc, "changed")), 0);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_two_handles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_and_json, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
