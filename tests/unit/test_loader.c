/*
 * tests/unit/test_loader.c — covers src/ingest/loader.c and src/ingest/landing.c (landing_scan).
 *
 * In-process: a node and a meta.db in a temp directory, ONS CSV / line-protocol fixtures written
 * by the tests. Checked: the ledger row of a load (state, counts, exact time range, seq range,
 * hash), the data in the engine (InfluxQL through iql_run_json), skip of an unchanged file
 * without reading it (same size + mtime), a touched file (same content, new mtime), a changed
 * file (previous points deleted, reloaded), a refused file (bad header: nothing written),
 * ingest_classify over many paths, .lp and .lp.gz files with rejected lines, a load a crash
 * interrupted (row left `loading`), overlapping files (the other file's points restored by
 * reloading it), landing_scan (nested partitions, files younger than 1 s deferred), and
 * loader_read_file producing the same line protocol the load journaled.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "common/buf.h"
#include "core/node.h"
#include "core/record.h"
#include "ingest/landing.h"
#include "ingest/loader.h"
#include "ingest/ons_csv.h"
#include "journal/journal.h"
#include "meta/meta.h"
#include "query/influxql_exec.h"

/* 2024-01-01 00:00:00 in Brasília (UTC-3, no daylight saving time since 2019) */
#define T0 INT64_C(1704078000000000000)
#define HOUR INT64_C(3600000000000)

#define LOAD_HEADER "id_subsistema;nom_subsistema;din_instante;val_cargaenergiahomwmed\n"
#define INTER_HEADER                                                                               \
    "din_instante;id_subsistema_origem;nom_subsistema_origem;id_subsistema_destino;"               \
    "nom_subsistema_destino;val_intercambiomwmed\n"
#define GEN_HEADER                                                                                 \
    "din_instante;id_subsistema;nom_subsistema;id_estado;nom_estado;cod_modalidadeoperacao;"       \
    "nom_tipousina;nom_tipocombustivel;nom_usina;id_ons;ceg;val_geracao\n"
#define BAL_HEADER                                                                                 \
    "id_subsistena;nom_subsistema;din_instante;val_gerhidraulica;val_gertermica;val_gereolica;"    \
    "val_gersolar;val_carga;val_intercambio\n"

/* 5 rows: 3 points, one row with an empty value (no point), one rejected (line 6) */
static const char LOAD_CSV[] = LOAD_HEADER "N;NORTE;2024-01-01 00:00:00;100.5\n"
                                           "N;NORTE;2024-01-01 01:00:00;101\n"
                                           "S;SUL;2024-01-01 00:00:00;200\n"
                                           "S;SUL;2024-01-01 01:00:00;\n"
                                           "S;SUL;2024-01-01 02:00:00;abc\n";
static const char INTER_CSV[] = INTER_HEADER "2024-01-01 00:00:00;N;NORTE;NE;NORDESTE;2699.626\n"
                                             "2024-01-01 01:00:00;N;NORTE;NE;NORDESTE;-12.5\n";
static const char GEN_CSV[] =
    GEN_HEADER "2024-01-01 00:00:00;S;SUL;RS;RS;TIPO I;HIDROELÉTRICA;Hidráulica;Usina A;RSA;"
               "UHE.PH.RS.001;7.5\n"
               "2024-01-01 01:00:00;S;SUL;RS;RS;TIPO I;HIDROELÉTRICA;Hidráulica;Usina A;RSA;"
               "UHE.PH.RS.001;8\n"
               "2024-01-01 02:00:00;S;SUL;RS;RS;TIPO I;HIDROELÉTRICA;Hidráulica;Usina A;RSA;"
               "UHE.PH.RS.001;0E-8\n";
static const char BAL_CSV[] = BAL_HEADER "NE;NORDESTE;2024-01-01 00:00:00;1;2;3;4;5;6\n"
                                         "NE;NORDESTE;2024-01-01 01:00:00;;7;;8;;\n";

/* ---- helpers ------------------------------------------------------------------------------- */

/* Fails the running test with the explanation of the regression it guards against. */
#define fail_because(msg) fail_msg("%s", msg)

typedef struct fixture {
    char dir[64];
    char landing[96];
    node *n;
    meta *m;
} fixture;

static node *open_node(const char *dir)
{
    node_options o;
    node_options_default(&o);
    o.engine.background = false;
    o.journal.fsync = JOURNAL_FSYNC_NEVER;
    o.journal_trim = false;
    o.retention = false;
    node *n = NULL;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = node_open(dir, &o, &n, NULL, &err);
    if (rc != VT_OK)
        fail_msg("node_open %s: %s", dir, err.msg);
    return n;
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/volta-test-loader-XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    snprintf(fx->landing, sizeof fx->landing, "%s/landing", fx->dir);
    if (mkdir(fx->landing, 0755) != 0)
        return -1;
    char p[160];
    snprintf(p, sizeof p, "%s/data", fx->dir);
    fx->n = open_node(p);
    snprintf(p, sizeof p, "%s/data/meta.db", fx->dir);
    vt_err err;
    if (meta_open(p, &fx->m, &err) != VT_OK) {
        print_error("meta_open: %s\n", err.msg);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    vt_err err;
    meta_close(fx->m);
    if (node_close(fx->n, &err) != VT_OK)
        print_error("node_close: %s\n", err.msg);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    int rc = system(cmd);
    free(fx);
    return rc == 0 ? 0 : -1;
}

static void mkdirs(const char *path)
{
    char p[1024];
    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            fail_msg("mkdir %s: %s", p, strerror(errno));
        *s = '/';
    }
}

/* Sets the mtime of path to sec seconds (+ nsec) since the epoch. */
static void set_mtime(const char *path, time_t sec, long nsec)
{
    struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};
    if (utimensat(AT_FDCWD, path, ts, 0) != 0)
        fail_msg("utimensat %s: %s", path, strerror(errno));
}

/* Writes text to <landing>/<rel> (parents created) with an mtime `age` seconds in the past. */
static void put_file(const fixture *fx, const char *rel, const char *text, time_t age, char *full,
                     size_t cap)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", fx->landing, rel);
    mkdirs(path);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
    assert_int_equal(fclose(fp), 0);
    if (age > 0)
        set_mtime(path, time(NULL) - age, 0);
    if (full)
        snprintf(full, cap, "%s", path);
}

static int64_t mtime_ns_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

static load_result load_ok(fixture *fx, const char *full, const char *key)
{
    loader_options o = {.database = "ons", .root = fx->landing};
    load_result res;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = loader_load_file(fx->n, fx->m, full, key, &o, &res, &err);
    if (rc != VT_OK)
        fail_msg("loader_load_file %s: %s", key, err.msg);
    return res;
}

static meta_file get_row(fixture *fx, const char *key)
{
    meta_file f;
    vt_err err;
    vt_rc rc = meta_file_get(fx->m, key, &f, &err);
    if (rc != VT_OK)
        fail_msg("meta_file_get %s: %s", key, err.msg);
    return f;
}

static bool is_hex32(const char *s)
{
    if (strlen(s) != 32)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

/* Runs q on db; the rows of the first series (values[i][col]) as doubles, times in ns.
 * Returns the number of rows (0 when the result has no series). Fails on a statement error. */
static size_t q_rows(node *n, const char *db, const char *q, int col, int64_t *times, double *vals,
                     size_t cap)
{
    vt_buf out;
    vt_buf_init(&out);
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = iql_run_json(n, db, NULL, q, strlen(q), 1, &out, &err);
    if (rc != VT_OK)
        fail_msg("iql_run_json %s: %s", q, err.msg);
    json_error_t jerr;
    json_t *root = json_loadb((const char *)out.data, out.len, 0, &jerr);
    if (!root)
        fail_msg("bad JSON from %s: %s", q, jerr.text);
    json_t *res0 = json_array_get(json_object_get(root, "results"), 0);
    json_t *e = json_object_get(res0, "error");
    if (e)
        fail_msg("%s: %s", q, json_string_value(e));
    json_t *s0 = json_array_get(json_object_get(res0, "series"), 0);
    json_t *values = json_object_get(s0, "values");
    size_t nrows = json_array_size(values);
    for (size_t i = 0; i < nrows && i < cap; i++) {
        json_t *row = json_array_get(values, i);
        if (times)
            times[i] = json_integer_value(json_array_get(row, 0));
        if (vals) {
            json_t *v = json_array_get(row, (size_t)col);
            vals[i] = json_is_null(v) ? -1e300 : json_number_value(v);
        }
    }
    json_decref(root);
    vt_buf_free(&out);
    return nrows;
}

/* The single number a count()/sum() query answers (0 when there is no series). */
static double q_num(node *n, const char *db, const char *q)
{
    double v = 0;
    return q_rows(n, db, q, 1, NULL, &v, 1) ? v : 0;
}

/* ---- a load, field by field ----------------------------------------------------------------- */

static void test_load_each_dataset(void **state)
{
    fixture *fx = *state;
    char full[1024];
    int64_t before = (int64_t)time(NULL) * 1000000000 - 1000000000;

    put_file(fx, "dataset=load/year=2024/carga.csv", LOAD_CSV, 10, full, sizeof full);
    load_result r = load_ok(fx, full, "dataset=load/year=2024/carga.csv");
    assert_int_equal(r.outcome, LOAD_LOADED);
    assert_int_equal(r.overlaps_reloaded, 0);
    meta_file f = get_row(fx, "dataset=load/year=2024/carga.csv");
    assert_int_equal(f.id, r.file.id);
    assert_int_equal(f.state, META_FILE_LOADED);
    assert_string_equal(f.dataset, "load");
    assert_string_equal(f.database, "ons");
    assert_int_equal(f.size, strlen(LOAD_CSV));
    assert_int_equal(f.mtime_ns, mtime_ns_of(full));
    assert_int_equal(f.rows_read, 5);
    assert_int_equal(f.rows_loaded, 3);
    assert_int_equal(f.rows_rejected, 1);
    assert_int_equal(f.rows_empty, 1);
    assert_int_equal(f.empty_values, 1);
    assert_int_equal(f.points, 3);
    assert_int_equal(f.min_time, T0);
    assert_int_equal(f.max_time, T0 + HOUR);
    assert_true(f.seq_first > 0);
    assert_true(f.seq_last >= f.seq_first);
    assert_true(f.seq_last <= journal_last_seq(node_journal(fx->n)));
    assert_true(is_hex32(f.hash));
    assert_int_equal(f.loads, 1);
    assert_true(f.started_at >= before);
    assert_true(f.finished_at >= f.started_at);
    /* the first rejected row is kept, with the file and its line */
    assert_non_null(strstr(f.error, ":6:"));
    assert_non_null(strstr(f.error, "carga.csv"));

    assert_int_equal(q_num(fx->n, "ons", "SELECT count(value) FROM load"), 3);
    assert_true(q_num(fx->n, "ons", "SELECT sum(value) FROM load") == 401.5);
    int64_t t[4];
    double v[4];
    assert_int_equal(
        q_rows(fx->n, "ons", "SELECT value FROM load WHERE subsystem = 'N'", 1, t, v, 4), 2);
    assert_int_equal(t[0], T0);
    assert_true(v[0] == 100.5);
    assert_int_equal(t[1], T0 + HOUR);
    assert_true(v[1] == 101);

    /* interchange */
    put_file(fx, "dataset=interchange/i.csv", INTER_CSV, 10, full, sizeof full);
    r = load_ok(fx, full, "dataset=interchange/i.csv");
    assert_int_equal(r.outcome, LOAD_LOADED);
    assert_int_equal(r.file.state, META_FILE_LOADED);
    assert_string_equal(r.file.dataset, "interchange");
    assert_int_equal(r.file.rows_read, 2);
    assert_int_equal(r.file.rows_loaded, 2);
    assert_int_equal(r.file.rows_rejected, 0);
    assert_int_equal(r.file.rows_empty, 0);
    assert_int_equal(r.file.points, 2);
    assert_int_equal(r.file.min_time, T0);
    assert_int_equal(r.file.max_time, T0 + HOUR);
    assert_true(r.file.seq_first > f.seq_last);
    assert_string_equal(r.file.error, "");
    assert_int_equal(q_rows(fx->n, "ons",
                            "SELECT value FROM interchange WHERE origin = 'N' AND "
                            "destination = 'NE'",
                            1, t, v, 4),
                     2);
    assert_true(v[0] == 2699.626);
    assert_true(v[1] == -12.5);

    /* generation: 0E-8 is a zero, not an empty value */
    put_file(fx, "dataset=generation/year=2024/month=01/g.csv", GEN_CSV, 10, full, sizeof full);
    r = load_ok(fx, full, "dataset=generation/year=2024/month=01/g.csv");
    assert_int_equal(r.outcome, LOAD_LOADED);
    assert_string_equal(r.file.dataset, "generation");
    assert_int_equal(r.file.rows_read, 3);
    assert_int_equal(r.file.points, 3);
    assert_int_equal(r.file.empty_values, 0);
    assert_int_equal(r.file.min_time, T0);
    assert_int_equal(r.file.max_time, T0 + 2 * HOUR);
    assert_int_equal(q_rows(fx->n, "ons",
                            "SELECT value FROM generation WHERE plant = 'Usina A' AND "
                            "ceg = 'UHE.PH.RS.001' AND state = 'RS'",
                            1, t, v, 4),
                     3);
    assert_true(v[0] == 7.5 && v[1] == 8 && v[2] == 0);

    /* balance: fields left out where the cells are empty */
    put_file(fx, "dataset=balance/b.csv", BAL_CSV, 10, full, sizeof full);
    r = load_ok(fx, full, "dataset=balance/b.csv");
    assert_int_equal(r.outcome, LOAD_LOADED);
    assert_string_equal(r.file.dataset, "balance");
    assert_int_equal(r.file.rows_read, 2);
    assert_int_equal(r.file.points, 2);
    assert_int_equal(r.file.empty_values, 4);
    assert_int_equal(q_num(fx->n, "ons", "SELECT count(thermal) FROM balance"), 2);
    assert_int_equal(q_num(fx->n, "ons", "SELECT count(hydro) FROM balance"), 1);
    assert_true(q_num(fx->n, "ons", "SELECT sum(solar) FROM balance WHERE subsystem = 'NE'") == 12);

    meta_file *rows = NULL;
    size_t nrows = 0;
    vt_err err;
    assert_int_equal(meta_file_list(fx->m, META_FILE_LOADED, &rows, &nrows, &err), VT_OK);
    assert_int_equal(nrows, 4);
    free(rows);
}

/* ---- unchanged, touched, changed ------------------------------------------------------------ */

static void test_skip_touch_reload(void **state)
{
    fixture *fx = *state;
    const char *key = "dataset=load/l.csv";
    char full[1024];
    put_file(fx, key, LOAD_CSV, 0, full, sizeof full);
    set_mtime(full, 1700000000, 123456789);
    load_result r = load_ok(fx, full, key);
    assert_int_equal(r.outcome, LOAD_LOADED);
    meta_file first = r.file;
    assert_int_equal(first.mtime_ns, INT64_C(1700000000123456789));
    uint64_t seq = journal_last_seq(node_journal(fx->n));

    /* unchanged: skipped, nothing journaled */
    r = load_ok(fx, full, key);
    assert_int_equal(r.outcome, LOAD_SKIPPED_UNCHANGED);
    assert_int_equal(r.file.id, first.id);
    assert_int_equal(r.file.loads, 1);
    assert_string_equal(r.file.hash, first.hash);
    assert_int_equal(journal_last_seq(node_journal(fx->n)), seq);

    /* same size and mtime but other bytes: still skipped — the file was not read */
    char other[sizeof LOAD_CSV];
    memcpy(other, LOAD_CSV, sizeof LOAD_CSV);
    char *p = strstr(other, "100.5");
    assert_non_null(p);
    memcpy(p, "900.5", 5);
    put_file(fx, key, other, 0, NULL, 0);
    set_mtime(full, 1700000000, 123456789);
    r = load_ok(fx, full, key);
    assert_int_equal(r.outcome, LOAD_SKIPPED_UNCHANGED);
    assert_int_equal(journal_last_seq(node_journal(fx->n)), seq);
    assert_true(q_num(fx->n, "ons", "SELECT sum(value) FROM load") == 401.5);

    /* touched: same content, new mtime -> skipped (hash equal), the row's mtime follows */
    put_file(fx, key, LOAD_CSV, 0, NULL, 0);
    set_mtime(full, 1700000500, 0);
    r = load_ok(fx, full, key);
    assert_int_equal(r.outcome, LOAD_SKIPPED_UNCHANGED);
    meta_file row = get_row(fx, key);
    assert_int_equal(row.mtime_ns, INT64_C(1700000500000000000));
    assert_int_equal(row.loads, 1);
    assert_int_equal(row.seq_first, first.seq_first);
    assert_int_equal(row.seq_last, first.seq_last);
    assert_string_equal(row.hash, first.hash);
    assert_int_equal(journal_last_seq(node_journal(fx->n)), seq);

    /* changed: S 00:00 removed, N 01:00 changed -> previous points deleted, file loaded again */
    static const char changed[] = LOAD_HEADER "N;NORTE;2024-01-01 00:00:00;100.5\n"
                                              "N;NORTE;2024-01-01 01:00:00;111\n";
    put_file(fx, key, changed, 0, NULL, 0);
    set_mtime(full, 1700001000, 0);
    r = load_ok(fx, full, key);
    assert_int_equal(r.outcome, LOAD_RELOADED);
    assert_int_equal(r.overlaps_reloaded, 0);
    row = get_row(fx, key);
    assert_int_equal(row.id, first.id);
    assert_int_equal(row.state, META_FILE_LOADED);
    assert_int_equal(row.loads, 2);
    assert_int_equal(row.rows_read, 2);
    assert_int_equal(row.rows_rejected, 0);
    assert_int_equal(row.rows_empty, 0);
    assert_int_equal(row.points, 2);
    assert_int_equal(row.size, strlen(changed));
    assert_int_equal(row.mtime_ns, INT64_C(1700001000000000000));
    assert_int_equal(row.min_time, T0);
    assert_int_equal(row.max_time, T0 + HOUR);
    assert_true(row.seq_first > first.seq_last);
    assert_string_not_equal(row.hash, first.hash);
    assert_true(is_hex32(row.hash));
    assert_string_equal(row.error, "");
    assert_int_equal(q_num(fx->n, "ons", "SELECT count(value) FROM load"), 2);
    assert_int_equal(q_num(fx->n, "ons", "SELECT count(value) FROM load WHERE subsystem = 'S'"), 0);
    int64_t t[4];
    double v[4];
    assert_int_equal(
        q_rows(fx->n, "ons", "SELECT value FROM load WHERE subsystem = 'N'", 1, t, v, 4), 2);
    assert_true(v[0] == 100.5 && v[1] == 111);

    /* force: loaded again even though unchanged */
    loader_options o = {.database = "ons", .root = fx->landing, .force = true};
    vt_err err;
    assert_int_equal(loader_load_file(fx->n, fx->m, full, key, &o, &r, &err), VT_OK);
    assert_int_equal(r.outcome, LOAD_RELOADED);
    assert_int_equal(r.file.loads, 3);
    assert_int_equal(q_num(fx->n, "ons", "SELECT count(value) FROM load"), 2);
}

/* ---- a refused file ------------------------------------------------------------------------- */

static void test_bad_header_fails(void **state)
{
    fixture *fx = *state;
    vt_err err;
    assert_int_equal(node_create_db(fx->n, "ons", &err), VT_OK);
    uint64_t seq = journal_last_seq(node_journal(fx->n));
    const char *key = "dataset=load/bad.csv";
    char full[1024];
    put_file(fx, key,
             "id_subsistema;nom_subsistema;instante;val_cargaenergiahomwmed\n"
             "N;NORTE;2024-01-01 00:00:00;1\n",
             10, full, sizeof full);
    load_result r = load_ok(fx, full, key);
    assert_int_equal(r.outcome, LOAD_FAILED);
    meta_file f = get_row(fx, key);
    assert_int_equal(f.state, META_FILE_FAILED);
    assert_non_null(strstr(f.error, "missing column din_instante"));
    assert_non_null(strstr(f.error, "bad.csv:1:"));
    assert_int_equal(f.points, 0);
    assert_int_equal(f.seq_first, 0);
    assert_int_equal(f.seq_last, 0);
    assert_int_equal(journal_last_seq(node_journal(fx->n)), seq); /* nothing written */
    assert_int_equal(q_num(fx->n, "ons", "SELECT count(value) FROM load"), 0);

    /* (an unchanged failed file: test_failed_file_not_retried_unchanged) */

    /* fixed: loads (a first version: nothing to delete) */
    put_file(fx, key, LOAD_CSV, 5, NULL, 0);
    r = load_ok(fx, full, key);
    assert_int_equal(r.outcome, LOAD_LOADED);
    assert_int_equal(r.file.state, META_FILE_LOADED);
    assert_int_equal(r.file.points, 3);
    assert_int_equal(q_num(fx->n, "ons", "SELECT count(value) FROM load"), 3);

    /* a file that is not loadable at all is an error, not a ledger row */
    char junk[1024];
    put_file(fx, "notes.txt", "hello\n", 5, junk, sizeof junk);
    loader_options o = {.database = "ons"};
    vt_err_clear(&err);
    assert_int_equal(loader_load_file(fx->n, fx->m, junk, "notes.txt", &o, &r, &err), VT_EINVAL);
    assert_non_null(strstr(err.msg, "not a file volta loads"));
    assert_int_equal(meta_file_get(fx->m, "notes.txt", &f, &err), VT_ENOTFOUND);
}

/* ---- ingest_classify ------------------------------------------------------------------------ */

static void test_classify(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        ingest_kind kind;
        const char *dataset;
    } cases[] = {
        {"dataset=generation/year=2024/month=01/anything.csv", INGEST_ONS_CSV, "generation"},
        {"dataset=load/x.csv", INGEST_ONS_CSV, "load"},
        {"dataset=interchange/y=1/x.CSV", INGEST_ONS_CSV, "interchange"},
        {"a/b/dataset=balance/x.csv", INGEST_ONS_CSV, "balance"},
        /* nested partitions: the innermost known one wins */
        {"dataset=load/dataset=balance/x.csv", INGEST_ONS_CSV, "balance"},
        {"dataset=load/dataset=weather/x.csv", INGEST_ONS_CSV, "load"},
        /* an unknown dataset name: the file name decides */
        {"dataset=weather/x.csv", INGEST_IGNORE, NULL},
        {"dataset=weather/GERACAO_USINA-2_2024_01.csv", INGEST_ONS_CSV, "generation"},
        {"dataset=/x.csv", INGEST_IGNORE, NULL},
        /* not a partition: "dataset=" must start a path component */
        {"mydataset=load/x.csv", INGEST_IGNORE, NULL},
        /* ONS's names, any case, anywhere */
        {"GERACAO_USINA-2_2024_01.csv", INGEST_ONS_CSV, "generation"},
        {"geracao_usina-2_2024_01.csv", INGEST_ONS_CSV, "generation"},
        {"x/GERACAO_USINA_2019.csv", INGEST_ONS_CSV, "generation"},
        {"CURVA_CARGA_2024.csv", INGEST_ONS_CSV, "load"},
        {"deep/er/curva_carga_2024.CSV", INGEST_ONS_CSV, "load"},
        {"INTERCAMBIO_NACIONAL_2024.csv", INGEST_ONS_CSV, "interchange"},
        {"Balanco_Energia_Subsistema_2023.csv", INGEST_ONS_CSV, "balance"},
        /* line protocol */
        {"points.lp", INGEST_LP, "lp"},
        {"x/y/POINTS.LP", INGEST_LP, "lp"},
        {"extra/points.lp.gz", INGEST_LP_GZ, "lp"},
        {"dataset=load/points.lp", INGEST_LP, "lp"},
        /* hidden, temporary, partial, backup files */
        {".CURVA_CARGA_2024.csv", INGEST_IGNORE, NULL},
        {"dataset=load/.x.csv", INGEST_IGNORE, NULL},
        {"a/.points.lp", INGEST_IGNORE, NULL},
        {"dataset=load/x.csv.tmp", INGEST_IGNORE, NULL},
        {"CURVA_CARGA_2024.csv.part", INGEST_IGNORE, NULL},
        {"CURVA_CARGA_2024.csv~", INGEST_IGNORE, NULL},
        {"points.lp.tmp", INGEST_IGNORE, NULL},
        {"points.lp.gz.part", INGEST_IGNORE, NULL},
        {"points.lp~", INGEST_IGNORE, NULL},
        /* a plain .csv without a dataset, other extensions */
        {"plain.csv", INGEST_IGNORE, NULL},
        {"dir/data.csv", INGEST_IGNORE, NULL},
        {"dataset=load/x.txt", INGEST_IGNORE, NULL},
        {"dataset=load/x.csv.gz", INGEST_IGNORE, NULL},
        {"points.gz", INGEST_IGNORE, NULL},
        {"dataset=load/", INGEST_IGNORE, NULL},
        {"", INGEST_IGNORE, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char ds[32] = "untouched";
        ingest_kind k = ingest_classify(cases[i].path, ds, sizeof ds);
        if (k != cases[i].kind)
            fail_msg("ingest_classify(\"%s\") = %d, want %d", cases[i].path, (int)k,
                     (int)cases[i].kind);
        if (cases[i].dataset && strcmp(ds, cases[i].dataset) != 0)
            fail_msg("ingest_classify(\"%s\") dataset \"%s\", want \"%s\"", cases[i].path, ds,
                     cases[i].dataset);
    }
}

/* ---- line protocol files -------------------------------------------------------------------- */

typedef struct reject_log {
    unsigned n;
    uint64_t lines[8];
    char file[256];
} reject_log;

static void on_reject(void *ctx, const char *file, uint64_t line, const char *reason)
{
    reject_log *l = ctx;
    if (l->n < 8)
        l->lines[l->n] = line;
    l->n++;
    snprintf(l->file, sizeof l->file, "%s", file);
    assert_non_null(reason);
}

static void test_lp_and_gz(void **state)
{
    fixture *fx = *state;
    static const char lp[] = "cpu,host=a value=1 1700000000000000000\n"
                             "cpu,host=a value=2 1700000001000000000\n"
                             "this is not line protocol\n"
                             "cpu,host=b value=3 1700000002000000000\n"
                             "mem,host=a used=5i 1700000003000000000\n"
                             "cpu,host=c value=\n"
                             "mem,host=b used=6i 1699999999000000000"; /* no final newline */
    char full[1024];
    put_file(fx, "extra/points.lp", lp, 10, full, sizeof full);
    reject_log rl;
    memset(&rl, 0, sizeof rl);
    loader_options o = {.database = "lpdb", .root = fx->landing, .reject = on_reject, .ctx = &rl};
    load_result r;
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(loader_load_file(fx->n, fx->m, full, "extra/points.lp", &o, &r, &err), VT_OK);
    assert_int_equal(r.outcome, LOAD_LOADED);
    assert_int_equal(r.file.state, META_FILE_LOADED);
    assert_string_equal(r.file.dataset, "lp");
    assert_string_equal(r.file.database, "lpdb");
    assert_int_equal(r.file.rows_read, 7);
    assert_int_equal(r.file.points, 5);
    assert_int_equal(r.file.rows_loaded, 5);
    assert_int_equal(r.file.rows_rejected, 2);
    assert_int_equal(r.file.min_time, INT64_C(1699999999000000000));
    assert_int_equal(r.file.max_time, INT64_C(1700000003000000000));
    assert_true(r.file.seq_first > 0);
    assert_true(is_hex32(r.file.hash));
    assert_true(r.file.error[0] != '\0');
    assert_true(rl.n >= 1);
    assert_non_null(strstr(rl.file, "points.lp"));
    assert_int_equal(q_num(fx->n, "lpdb", "SELECT count(value) FROM cpu"), 3);
    assert_int_equal(q_num(fx->n, "lpdb", "SELECT sum(used) FROM mem"), 11);

    /* gzip'ed */
    char gzpath[1024];
    snprintf(gzpath, sizeof gzpath, "%s/extra/more.lp.gz", fx->landing);
    gzFile gz = gzopen(gzpath, "wb");
    assert_non_null(gz);
    for (int i = 0; i < 100; i++)
        assert_true(gzprintf(gz, "disk,dev=sd%d free=%di %" PRId64 "\n", i % 4, i,
                             INT64_C(1700000100000000000) + (int64_t)i * 1000000000) > 0);
    assert_true(gzprintf(gz, "disk,dev=sda free=\"text\" 1700000300000000000\n") > 0);
    assert_true(gzprintf(gz, "disk free=1i 1700000400000000000\n") > 0);
    assert_int_equal(gzclose(gz), Z_OK);
    set_mtime(gzpath, time(NULL) - 10, 0);
    memset(&rl, 0, sizeof rl);
    assert_int_equal(loader_load_file(fx->n, fx->m, gzpath, "extra/more.lp.gz", &o, &r, &err),
                     VT_OK);
    assert_int_equal(r.outcome, LOAD_LOADED);
    assert_string_equal(r.file.dataset, "lp");
    assert_int_equal(r.file.rows_read, 102);
    assert_int_equal(r.file.points, 101);
    assert_int_equal(r.file.rows_rejected, 1); /* free="text": a type conflict with free=..i */
    assert_int_equal(r.file.min_time, INT64_C(1700000100000000000));
    assert_int_equal(r.file.max_time, INT64_C(1700000400000000000));
    struct stat st;
    assert_int_equal(stat(gzpath, &st), 0);
    assert_int_equal(r.file.size, (uint64_t)st.st_size); /* the compressed file's size */
    assert_int_equal(q_num(fx->n, "lpdb", "SELECT count(free) FROM disk"), 101);
    assert_int_equal(q_num(fx->n, "lpdb", "SELECT sum(free) FROM disk"), 4950 + 1);

    /* unchanged: skipped */
    assert_int_equal(loader_load_file(fx->n, fx->m, gzpath, "extra/more.lp.gz", &o, &r, &err),
                     VT_OK);
    assert_int_equal(r.outcome, LOAD_SKIPPED_UNCHANGED);
}

/* ---- a load a crash interrupted ------------------------------------------------------------- */

static void test_interrupted_load(void **state)
{
    fixture *fx = *state;
    vt_err err;
    assert_int_equal(node_create_db(fx->n, "ons", &err), VT_OK);
    /* what the interrupted attempt (a previous version of the file) wrote: X inside the range,
     * one point of the same measurement outside it, one of another measurement inside it */
    static const char prev[] = "load,subsystem=X value=1 1704078000000000000\n"
                               "load,subsystem=X value=2 1704085200000000000\n"
                               "load,subsystem=N value=999 1704081600000000000\n"
                               "load,subsystem=X value=3 1704171600000000000\n"
                               "interchange,origin=N,destination=S value=5 1704078000000000000\n";
    node_write_result wr;
    assert_int_equal(
        node_write(fx->n, "ons", "", LP_PRECISION_NS, 0, prev, strlen(prev), &wr, &err), VT_OK);
    assert_int_equal(wr.points, 5);

    const char *key = "dataset=load/l.csv";
    char full[1024];
    put_file(fx, key, LOAD_CSV, 10, full, sizeof full);
    struct stat st;
    assert_int_equal(stat(full, &st), 0);
    meta_file f;
    memset(&f, 0, sizeof f);
    snprintf(f.path, sizeof f.path, "%s", key);
    snprintf(f.dataset, sizeof f.dataset, "load");
    snprintf(f.database, sizeof f.database, "ons");
    f.size = (uint64_t)st.st_size; /* the same size and mtime: `loading` must not be skipped */
    f.mtime_ns = mtime_ns_of(full);
    f.state = META_FILE_LOADING;
    f.loads = 1;
    snprintf(f.del_measurements, sizeof f.del_measurements, "load");
    f.del_min = T0;
    f.del_max = T0 + 2 * HOUR;
    assert_int_equal(meta_file_put(fx->m, &f, &err), VT_OK);

    load_result r = load_ok(fx, full, key);
    /* a previous version was recorded: reported as a reload */
    assert_int_equal(r.outcome, LOAD_RELOADED);
    meta_file row = get_row(fx, key);
    assert_int_equal(row.id, f.id);
    assert_int_equal(row.state, META_FILE_LOADED);
    assert_int_equal(row.loads, 2);
    assert_int_equal(row.points, 3);
    assert_int_equal(row.min_time, T0);
    assert_int_equal(row.max_time, T0 + HOUR);
    assert_string_equal(row.del_measurements, "load");
    assert_int_equal(row.del_min, T0);
    assert_int_equal(row.del_max, T0 + HOUR);
    /* X inside [del_min, del_max] is gone, X outside kept; N's 999 replaced by the file's 101 */
    int64_t t[4];
    double v[4];
    assert_int_equal(
        q_rows(fx->n, "ons", "SELECT value FROM load WHERE subsystem = 'X'", 1, t, v, 4), 1);
    assert_int_equal(t[0], INT64_C(1704171600000000000));
    assert_int_equal(
        q_rows(fx->n, "ons", "SELECT value FROM load WHERE subsystem = 'N'", 1, t, v, 4), 2);
    assert_true(v[0] == 100.5 && v[1] == 101);
    assert_int_equal(q_num(fx->n, "ons", "SELECT count(value) FROM load"), 4);
    /* another measurement is not touched */
    assert_int_equal(q_num(fx->n, "ons", "SELECT count(value) FROM interchange"), 1);
}

/* ---- overlapping files ---------------------------------------------------------------------- */

static void test_overlapping_files(void **state)
{
    fixture *fx = *state;
    /* A: a sample (N at 00:00 and 01:00); B: the full set (N and S, 00:00..03:00) */
    static const char a_csv[] = LOAD_HEADER "N;NORTE;2024-01-01 00:00:00;1\n"
                                            "N;NORTE;2024-01-01 01:00:00;2\n";
    static const char b_csv[] = LOAD_HEADER "N;NORTE;2024-01-01 00:00:00;10\n"
                                            "N;NORTE;2024-01-01 01:00:00;20\n"
                                            "N;NORTE;2024-01-01 02:00:00;30\n"
                                            "N;NORTE;2024-01-01 03:00:00;40\n"
                                            "S;SUL;2024-01-01 00:00:00;50\n"
                                            "S;SUL;2024-01-01 01:00:00;60\n"
                                            "S;SUL;2024-01-01 02:00:00;70\n"
                                            "S;SUL;2024-01-01 03:00:00;80\n";
    static const char b2_csv[] = LOAD_HEADER "N;NORTE;2024-01-01 02:00:00;33\n"
                                             "N;NORTE;2024-01-01 03:00:00;40\n"
                                             "S;SUL;2024-01-01 00:00:00;50\n";
    char fa[1024], fb[1024];
    put_file(fx, "dataset=load/a.csv", a_csv, 10, fa, sizeof fa);
    put_file(fx, "dataset=load/b.csv", b_csv, 10, fb, sizeof fb);
    /* another dataset in the same range: not stale (it writes another measurement) */
    char fi[1024];
    put_file(fx, "dataset=interchange/i.csv", INTER_CSV, 10, fi, sizeof fi);
    assert_int_equal(load_ok(fx, fa, "dataset=load/a.csv").outcome, LOAD_LOADED);
    assert_int_equal(load_ok(fx, fi, "dataset=interchange/i.csv").outcome, LOAD_LOADED);
    load_result rb = load_ok(fx, fb, "dataset=load/b.csv");
    assert_int_equal(rb.outcome, LOAD_LOADED);
    assert_int_equal(rb.overlaps_reloaded, 0);
    assert_int_equal(q_num(fx->n, "ons", "SELECT count(value) FROM load"), 8);

    /* B rewritten with fewer rows */
    put_file(fx, "dataset=load/b.csv", b2_csv, 5, NULL, 0);
    rb = load_ok(fx, fb, "dataset=load/b.csv");
    assert_int_equal(rb.outcome, LOAD_RELOADED);
    assert_int_equal(rb.overlaps_reloaded, 1);
    assert_int_equal(rb.file.points, 3);
    assert_int_equal(rb.file.loads, 2);

    meta_file a = get_row(fx, "dataset=load/a.csv");
    assert_int_equal(a.state, META_FILE_LOADED);
    assert_int_equal(a.loads, 2);
    assert_int_equal(a.points, 2);
    assert_true(a.seq_first < rb.file.seq_first); /* A restored before B's new rows */
    meta_file i = get_row(fx, "dataset=interchange/i.csv");
    assert_int_equal(i.loads, 1);
    assert_int_equal(i.state, META_FILE_LOADED);

    /* N 00:00 and 01:00 come back from A; N 02:00, 03:00 and S 00:00 from B; S 01..03 gone */
    int64_t t[8];
    double v[8];
    assert_int_equal(
        q_rows(fx->n, "ons", "SELECT value FROM load WHERE subsystem = 'N'", 1, t, v, 8), 4);
    assert_int_equal(t[0], T0);
    assert_true(v[0] == 1);
    assert_int_equal(t[1], T0 + HOUR);
    assert_true(v[1] == 2);
    assert_int_equal(t[2], T0 + 2 * HOUR);
    assert_true(v[2] == 33);
    assert_int_equal(t[3], T0 + 3 * HOUR);
    assert_true(v[3] == 40);
    assert_int_equal(
        q_rows(fx->n, "ons", "SELECT value FROM load WHERE subsystem = 'S'", 1, t, v, 8), 1);
    assert_int_equal(t[0], T0);
    assert_true(v[0] == 50);
    assert_int_equal(q_num(fx->n, "ons", "SELECT count(value) FROM interchange"), 2);
}

/* ---- landing_scan --------------------------------------------------------------------------- */

static void test_landing_scan(void **state)
{
    fixture *fx = *state;
    char fresh[1024];
    put_file(fx, "dataset=load/year=2024/l.csv", LOAD_CSV, 10, NULL, 0);
    put_file(fx, "dataset=generation/year=2024/month=01/g.csv", GEN_CSV, 10, NULL, 0);
    put_file(fx, "sub/deeper/INTERCAMBIO_NACIONAL_2024.csv", INTER_CSV, 10, NULL, 0);
    put_file(fx, "extra/p.lp", "m,k=v f=1 1700000000000000000\n", 10, NULL, 0);
    put_file(fx, "dataset=balance/b.csv", BAL_CSV, 0, fresh, sizeof fresh);
    /* "now": a writer may still be at work. A second ahead, as time(NULL) truncates: "now"
     * in whole seconds could already be a second old when the scan reads it (seen in CI) */
    set_mtime(fresh, time(NULL) + 1, 0);
    /* never loaded: temporary, hidden, not loadable */
    put_file(fx, "dataset=load/x.csv.tmp", LOAD_CSV, 10, NULL, 0);
    put_file(fx, "dataset=load/.hidden.csv", LOAD_CSV, 10, NULL, 0);
    put_file(fx, ".cache/dataset=load/y.csv", LOAD_CSV, 10, NULL, 0);
    put_file(fx, "README.txt", "hi\n", 10, NULL, 0);
    put_file(fx, "plain.csv", LOAD_CSV, 10, NULL, 0);

    landing_stats st;
    memset(&st, 0, sizeof st);
    loader_options o = {.database = "ons"};
    vt_err err;
    vt_err_clear(&err);
    assert_int_equal(landing_scan(fx->n, fx->m, fx->landing, &o, &st, &err), VT_OK);
    assert_int_equal(st.scans, 1);
    assert_int_equal(st.files_seen, 5);
    assert_int_equal(st.loaded, 4);
    assert_int_equal(st.deferred, 1);
    assert_int_equal(st.skipped, 0);
    assert_int_equal(st.failed, 0);
    assert_int_equal(st.rows_loaded, 3 + 3 + 2 + 1);
    assert_int_equal(st.rows_rejected, 1);
    assert_int_equal(st.points, 9);
    assert_true(st.last_scan_at > 0);
    vt_rc rc = VT_OK;
    meta_file f;
    assert_int_equal(meta_file_get(fx->m, "dataset=balance/b.csv", &f, &err), VT_ENOTFOUND);
    /* keys are relative to the landing zone */
    f = get_row(fx, "sub/deeper/INTERCAMBIO_NACIONAL_2024.csv");
    assert_string_equal(f.dataset, "interchange");
    assert_int_equal(f.state, META_FILE_LOADED);

    /* again at once: everything unchanged, the fresh file still deferred */
    set_mtime(fresh, time(NULL) + 1, 0);
    rc = landing_scan(fx->n, fx->m, fx->landing, &o, &st, &err);
    assert_int_equal(rc, VT_OK);
    assert_int_equal(st.scans, 2);
    assert_int_equal(st.loaded, 4);
    assert_int_equal(st.skipped, 4);
    assert_int_equal(st.deferred, 2);

    /* the writer is done: the next scan loads it */
    set_mtime(fresh, time(NULL) - 5, 0);
    assert_int_equal(landing_scan(fx->n, fx->m, fx->landing, &o, &st, &err), VT_OK);
    assert_int_equal(st.scans, 3);
    assert_int_equal(st.loaded, 5);
    assert_int_equal(st.skipped, 8);
    assert_int_equal(st.deferred, 2);

    meta_file *rows = NULL;
    size_t n = 0;
    assert_int_equal(meta_file_list(fx->m, -1, &rows, &n, &err), VT_OK);
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(rows[i].state, META_FILE_LOADED);
        assert_int_equal(rows[i].loads, 1);
        assert_true(rows[i].path[0] != '/');
    }
    free(rows);
    assert_int_equal(q_num(fx->n, "ons", "SELECT count(thermal) FROM balance"), 2);
    assert_int_equal(q_num(fx->n, "ons", "SELECT count(value) FROM load"), 3);
    assert_int_equal(q_num(fx->n, "ons", "SELECT count(f) FROM m"), 1);

    /* a changed file found by a scan is reloaded */
    char lfull[1024];
    put_file(fx, "dataset=load/year=2024/l.csv", LOAD_HEADER "N;NORTE;2024-01-01 00:00:00;5\n", 3,
             lfull, sizeof lfull);
    assert_int_equal(landing_scan(fx->n, fx->m, fx->landing, &o, &st, &err), VT_OK);
    assert_int_equal(st.reloaded, 1);
    assert_int_equal(st.loaded, 5);
    assert_int_equal(q_num(fx->n, "ons", "SELECT count(value) FROM load"), 1);

    /* a missing landing zone is an error naming it */
    char gone[200];
    snprintf(gone, sizeof gone, "%s/nope", fx->dir);
    vt_err_clear(&err);
    assert_int_not_equal(landing_scan(fx->n, fx->m, gone, &o, &st, &err), VT_OK);
    assert_non_null(strstr(err.msg, "nope"));
}

/* ---- loader_read_file ----------------------------------------------------------------------- */

typedef struct lp_sink {
    vt_buf all;
    unsigned calls;
    bool whole_lines;
} lp_sink;

static vt_rc sink_fn(void *ctx, const char *lp, size_t len, vt_err *err)
{
    (void)err;
    lp_sink *s = ctx;
    s->calls++;
    if (len == 0 || lp[len - 1] != '\n')
        s->whole_lines = false;
    vt_buf_append(&s->all, lp, len);
    return VT_OK;
}

/* The points of the WRITE records seq_first..seq_last as line protocol (version 2 records
 * rendered with ns timestamps, record_points_render_lp; version 1 bodies as they are). */
static void journal_bodies(node *n, uint64_t first, uint64_t last, vt_buf *out)
{
    journal_reader *r = NULL;
    vt_err err;
    assert_int_equal(journal_reader_open(journal_dir(node_journal(n)), first, &r, &err), VT_OK);
    for (;;) {
        journal_record rec;
        bool have = false;
        assert_int_equal(journal_reader_next(r, &rec, &have, &err), VT_OK);
        if (!have || rec.seq > last)
            break;
        if (rec.type != JOURNAL_REC_WRITE)
            continue;
        record_write w;
        assert_int_equal(record_write_decode(rec.data, rec.len, &w, &err), VT_OK);
        if (w.version == 2) {
            assert_int_equal(record_points_render_lp(&w, out, &err), VT_OK);
            continue;
        }
        vt_buf_append(out, w.body, w.body_len);
        if (w.body_len && w.body[w.body_len - 1] != '\n')
            vt_buf_putc(out, '\n');
    }
    journal_reader_close(r);
}

/* a and b (line protocol, ns) hold the same points in the same order. */
static void same_points(const vt_buf *a, const vt_buf *b)
{
    lp_options o;
    memset(&o, 0, sizeof o);
    lp_parser *pa = lp_parser_new(&o), *pb = lp_parser_new(&o);
    assert_non_null(pa);
    assert_non_null(pb);
    assert_int_equal(lp_parser_reset(pa, (const char *)a->data, a->len), VT_OK);
    assert_int_equal(lp_parser_reset(pb, (const char *)b->data, b->len), VT_OK);
    size_t n = 0;
    for (;; n++) {
        vt_point x, y;
        lp_error ex, ey;
        int rx = lp_parser_next(pa, &x, &ex), ry = lp_parser_next(pb, &y, &ey);
        assert_int_equal(rx, ry);
        if (rx == LP_END)
            break;
        assert_int_equal(rx, LP_POINT);
        if (!lp_point_equal(&x, &y))
            fail_msg("point %zu differs", n);
    }
    assert_true(n > 0);
    lp_parser_free(pa);
    lp_parser_free(pb);
}

static vt_rc emit_fn(void *ctx, const void *data, size_t len, vt_err *err)
{
    (void)err;
    vt_buf_append(ctx, data, len);
    return VT_OK;
}

static void test_read_file_same_lines(void **state)
{
    fixture *fx = *state;
    const char *key = "dataset=generation/year=2024/month=01/GERACAO_USINA-2_2024_01.csv";
    char full[1024];
    /* a synthetic month in ONS's format, > 1 MiB: the file is read in 1 MiB chunks, so several
     * batches (journal records) are written */
    vt_buf csv;
    vt_buf_init(&csv);
    vt_err err;
    assert_int_equal(ons_synth_generation_month(2024, 1, 20, 7, emit_fn, &csv, &err), VT_OK);
    assert_true(csv.len > ((size_t)1 << 20));
    put_file(fx, key, vt_buf_cstr(&csv), 10, full, sizeof full);
    vt_buf_free(&csv);

    loader_options o = {.database = "ons", .root = fx->landing, .batch_bytes = 65536};
    load_result r;
    assert_int_equal(loader_load_file(fx->n, fx->m, full, key, &o, &r, &err), VT_OK);
    assert_int_equal(r.outcome, LOAD_LOADED);
    uint64_t points = r.file.points;
    assert_int_equal(r.file.rows_read, 20u * 31 * 24);
    assert_int_equal(points + r.file.rows_empty, r.file.rows_read);
    assert_true(r.file.seq_last > r.file.seq_first); /* several batches, several records */
    assert_int_equal(r.file.min_time, T0);
    assert_int_equal(r.file.max_time, T0 + (31 * 24 - 1) * HOUR);
    assert_int_equal(q_num(fx->n, "ons", "SELECT count(value) FROM generation"), points);

    vt_buf journaled;
    vt_buf_init(&journaled);
    journal_bodies(fx->n, r.file.seq_first, r.file.seq_last, &journaled);

    lp_sink s = {.whole_lines = true};
    vt_buf_init(&s.all);
    uint64_t lines = 0;
    assert_int_equal(loader_read_file(full, key, 65536, sink_fn, &s, &lines, &err), VT_OK);
    assert_int_equal(lines, points);
    assert_true(s.calls > 1);
    assert_true(s.whole_lines);
    same_points(&s.all, &journaled);
    vt_buf_free(&s.all);

    /* an LP file: the lines node_write accepted are the ones journaled; the reader hands every
     * line (it has no node to reject them) */
    char lpfull[1024];
    put_file(fx, "x.lp", "a v=1 1\nb v=2 2\nc v=3 3\n", 10, lpfull, sizeof lpfull);
    memset(&s, 0, sizeof s);
    s.whole_lines = true;
    vt_buf_init(&s.all);
    assert_int_equal(loader_read_file(lpfull, "x.lp", 0, sink_fn, &s, &lines, &err), VT_OK);
    assert_int_equal(lines, 3);
    assert_int_equal(s.calls, 1);
    assert_string_equal(vt_buf_cstr(&s.all), "a v=1 1\nb v=2 2\nc v=3 3\n");
    vt_buf_free(&s.all);

    /* errors: a missing file, a path that is not loadable */
    vt_err_clear(&err);
    char missing[1024];
    snprintf(missing, sizeof missing, "%s/dataset=load/none.csv", fx->landing);
    assert_int_equal(
        loader_read_file(missing, "dataset=load/none.csv", 0, sink_fn, &s, &lines, &err),
        VT_ENOTFOUND);
    assert_int_equal(loader_read_file(lpfull, "x.txt", 0, sink_fn, &s, &lines, &err), VT_OK);
    vt_err_clear(&err);
    assert_int_equal(loader_read_file("/etc/hostname", "hostname", 0, sink_fn, &s, &lines, &err),
                     VT_EINVAL);
    assert_non_null(strstr(err.msg, "not a file volta loads"));
    vt_buf_free(&s.all);
    vt_buf_free(&journaled);
}

/* ---- edge cases ----------------------------------------------------------------------------- */

/* A reload deletes every measurement the previous version of an LP file wrote — however many
 * there were, whatever their names. */
static void test_lp_reload_deletes_every_measurement(void **state)
{
    fixture *fx = *state;
    vt_buf lp;
    vt_buf_init(&lp);
    for (int i = 0; i < 40; i++)
        vt_buf_printf(&lp, "measurement_number_%02d,k=v f=1 %" PRId64 "\n", i,
                      INT64_C(1700000000000000000) + (int64_t)i * 1000000000);
    vt_buf_printf(&lp, "my\\ meas f=1 1700000000000000000\n");
    char full[1024];
    put_file(fx, "p.lp", vt_buf_cstr(&lp), 10, full, sizeof full);
    vt_buf_free(&lp);
    load_result r = load_ok(fx, full, "p.lp");
    assert_int_equal(r.outcome, LOAD_LOADED);
    assert_int_equal(r.file.points, 41);
    assert_int_equal(q_num(fx->n, "ons", "SELECT count(f) FROM measurement_number_39"), 1);
    assert_int_equal(q_num(fx->n, "ons", "SELECT count(f) FROM \"my meas\""), 1);

    /* the new version writes one measurement only: every other point of the old one goes */
    put_file(fx, "p.lp", "measurement_number_00,k=v f=2 1700000000000000000\n", 5, NULL, 0);
    r = load_ok(fx, full, "p.lp");
    assert_int_equal(r.outcome, LOAD_RELOADED);
    assert_int_equal(q_num(fx->n, "ons", "SELECT sum(f) FROM measurement_number_00"), 2);
    assert_int_equal(q_num(fx->n, "ons", "SELECT count(f) FROM measurement_number_01"), 0);
    bool long_list = q_num(fx->n, "ons", "SELECT count(f) FROM measurement_number_39") != 0;
    bool escaped = q_num(fx->n, "ons", "SELECT count(f) FROM \"my meas\"") != 0;
    if (long_list)
        print_message("measurement_number_39 still has its point after the reload\n");
    if (escaped)
        print_message("\"my meas\" still has its point after the reload\n");
    if (long_list || escaped)
        fail_because(
            "regression: loader: collect_measurements (loader.c) keeps an LP file's "
            "measurements in "
            "256 bytes (names past that are dropped) and keeps escaped names raw (my\\ meas "
            "never matches the measurement `my meas`): those points survive a reload");
}

/* An LP file that overwrote points of a CSV file's measurement: when it is reloaded, the CSV
 * file's points in the deleted range come back (the other file is reloaded). */
static void test_lp_overlapping_csv(void **state)
{
    fixture *fx = *state;
    char fa[1024], fp[1024];
    put_file(fx, "dataset=load/a.csv", LOAD_CSV, 10, fa, sizeof fa);
    put_file(fx, "fix.lp", "load,subsystem=N value=5 1704078000000000000\n", 10, fp, sizeof fp);
    assert_int_equal(load_ok(fx, fa, "dataset=load/a.csv").outcome, LOAD_LOADED);
    assert_int_equal(load_ok(fx, fp, "fix.lp").outcome, LOAD_LOADED);
    assert_true(q_num(fx->n, "ons", "SELECT sum(value) FROM load") == 5 + 101 + 200);

    /* the fix is withdrawn: the LP file now writes something else */
    put_file(fx, "fix.lp", "other value=1 1704078000000000000\n", 5, NULL, 0);
    load_result r = load_ok(fx, fp, "fix.lp");
    assert_int_equal(r.outcome, LOAD_RELOADED);
    double sum = q_num(fx->n, "ons", "SELECT sum(value) FROM load");
    if (sum != 401.5) {
        print_message("load sum after the LP reload: %g (want 401.5), overlaps_reloaded %u\n", sum,
                      r.overlaps_reloaded);
        fail_because("regression: loader: reloading an LP file deletes its measurements over its "
                     "range but "
                     "marks only other LP files stale (meta_file_mark_stale(..., \"lp\", ...)), so "
                     "the CSV file's points in that range are lost");
    }
    assert_int_equal(r.overlaps_reloaded, 1);
}

/* A refused file is retried only when it changes (meta.h: "Retried when the file changes"). */
static void test_failed_file_not_retried_unchanged(void **state)
{
    fixture *fx = *state;
    const char *key = "dataset=load/f.csv";
    char full[1024], other[1024];
    put_file(fx, "dataset=load/other.csv", LOAD_CSV, 10, other, sizeof other);
    put_file(fx, key, LOAD_CSV, 10, full, sizeof full);
    assert_int_equal(load_ok(fx, other, "dataset=load/other.csv").outcome, LOAD_LOADED);
    assert_int_equal(load_ok(fx, full, key).outcome, LOAD_LOADED);
    /* the new version has a bad header: refused before anything is deleted (the previous
     * version's points stay; nothing to reload) */
    put_file(fx, key, "nonsense;header\n1;2\n", 5, NULL, 0);
    load_result r = load_ok(fx, full, key);
    assert_int_equal(r.outcome, LOAD_FAILED);
    assert_int_equal(r.overlaps_reloaded, 0);
    meta_file f = get_row(fx, key);
    assert_int_equal(f.state, META_FILE_FAILED);
    uint32_t loads = f.loads;
    uint64_t seq = journal_last_seq(node_journal(fx->n));
    assert_int_equal(q_num(fx->n, "ons", "SELECT count(value) FROM load"), 3); /* other.csv */

    /* unchanged: nothing happens */
    r = load_ok(fx, full, key);
    f = get_row(fx, key);
    if (r.outcome != LOAD_SKIPPED_FAILED || f.loads != loads ||
        journal_last_seq(node_journal(fx->n)) != seq) {
        print_message("retry of an unchanged failed file: outcome %d, loads %u -> %u, "
                      "overlaps_reloaded %u, journal %" PRIu64 " -> %" PRIu64 "\n",
                      (int)r.outcome, loads, f.loads, r.overlaps_reloaded, seq,
                      journal_last_seq(node_journal(fx->n)));
        fail_because("regression: loader: a failed file is re-read (and its previous version "
                     "deleted again, "
                     "overlapping files reloaded) on every call although unchanged");
    }
}

/* Writes 5000 lines of gzip'ed LP to path, returns the compressed size. */
static off_t write_gz(const char *path)
{
    mkdirs(path);
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    for (int i = 0; i < 5000; i++)
        gzprintf(gz, "m,k=v%d f=%di %" PRId64 "\n", i % 7, i, INT64_C(1700000000000000000) + i);
    assert_int_equal(gzclose(gz), Z_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

/* A half-copied .lp.gz (the gzip stream ends early) is refused, not loaded as a shorter file. */
static void test_truncated_gz_refused(void **state)
{
    fixture *fx = *state;
    char gzpath[1024];
    snprintf(gzpath, sizeof gzpath, "%s/t.lp.gz", fx->landing);
    off_t size = write_gz(gzpath);
    assert_int_equal(truncate(gzpath, size / 2), 0);
    load_result r = load_ok(fx, gzpath, "t.lp.gz");
    if (r.outcome != LOAD_FAILED) {
        print_message("truncated t.lp.gz: outcome %d, state %s, %" PRIu64 " of 5000 points, "
                      "error \"%s\"\n",
                      (int)r.outcome, meta_file_state_name(r.file.state), r.file.points,
                      r.file.error);
        fail_because("regression: loader: load_lp treats gzread's short read at a truncated gzip "
                     "stream as "
                     "the end of the file (gzerror Z_BUF_ERROR not checked): a half-copied .lp.gz "
                     "is recorded as loaded with part of its points");
    }
    assert_int_equal(r.file.state, META_FILE_FAILED);
}

/* A corrupt .lp.gz (bad deflate data) is a refused file: it neither aborts the scan nor stays
 * `loading` (landing.h: per-file failures are in the ledger and the stats, not errors). */
static void test_corrupt_gz_does_not_block_scan(void **state)
{
    fixture *fx = *state;
    char gzpath[1024];
    snprintf(gzpath, sizeof gzpath, "%s/a/bad.lp.gz", fx->landing);
    off_t size = write_gz(gzpath);
    FILE *fp = fopen(gzpath, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, size / 2, SEEK_SET), 0);
    assert_int_equal(fwrite("\xff\xff\xff\xff\xff\xff\xff\xff", 1, 8, fp), 8);
    assert_int_equal(fclose(fp), 0);
    set_mtime(gzpath, time(NULL) - 10, 0);
    put_file(fx, "b/good.lp", "g v=1 1700000000000000000\n", 10, NULL, 0);

    landing_stats ls;
    memset(&ls, 0, sizeof ls);
    loader_options o = {.database = "ons"};
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = landing_scan(fx->n, fx->m, fx->landing, &o, &ls, &err);
    meta_file f;
    vt_err e2;
    bool good = meta_file_get(fx->m, "b/good.lp", &f, &e2) == VT_OK;
    meta_file bad = get_row(fx, "a/bad.lp.gz");
    if (rc != VT_OK || !good || bad.state != META_FILE_FAILED) {
        print_message("scan rc %d (%s); bad.lp.gz state %s, error \"%s\"; good.lp %s\n", (int)rc,
                      err.msg, meta_file_state_name(bad.state), bad.error,
                      good ? "loaded" : "never loaded");
        fail_because("regression: loader/landing: a corrupt .lp.gz (gzread error) is not a "
                     "refused file: "
                     "loader_load_file returns VT_EIO leaving the row `loading`, and landing_scan "
                     "stops at it, so every later file in path order is never loaded");
    }
    assert_int_equal(ls.failed, 1);
    assert_int_equal(ls.loaded, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test_setup_teardown(test_load_each_dataset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_skip_touch_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_header_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lp_and_gz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupted_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overlapping_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_landing_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_file_same_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lp_reload_deletes_every_measurement, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lp_overlapping_csv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_file_not_retried_unchanged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_gz_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_gz_does_not_block_scan, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
