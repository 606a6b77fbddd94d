/*
 * tests/unit/test_influx_remote.c — covers src/backend/influx_remote.c against a real InfluxDB.
 *
 * The group setup starts /usr/bin/influxd 1.6.7 (config as tests/e2e/influxref.py's) on free
 * loopback ports in a temp dir and waits for /ping; the teardown stops it and removes the dir.
 * Without the binary every test is skipped with a message.
 *
 * Covered: ping; WRITE records (count back, lines without a timestamp landing at default_time
 * floored to the precision — on the split-at-LF path and the parser path, CRLF and trailing
 * blanks, a body without a final LF; precision s / ms / h); coalescing (one request for many
 * records, splitting at max_body_bytes, a new request per (db, rp, precision)); gzip; CREATE_DB
 * / DROP_DB; DB_META (CREATE, ALTER, DROP RETENTION POLICY, DEFAULT, durations); DELETE of one
 * series among series sharing its tags, bounded (DELETE) and unbounded (DROP SERIES), with odd
 * names; DROP_MEASUREMENT; RETENTION as a no-op; replaying records twice; a write to a database
 * the remote lacks; a refused write (field type conflict) stopping `applied` at that record;
 * remote down (stopped influxd, closed port) -> VT_EBUSY quickly, then working after a restart.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend/influx_remote.h"
#include "common/buf.h"
#include "core/record.h"
#include "engine/series_index.h"

#define INFLUXD "/usr/bin/influxd"

/* ---- the influxd under test ---------------------------------------------------------------- */

static struct {
    pid_t pid;
    char dir[256];
    int http_port, rpc_port;
    char url[128];
} g;

static const char CONFIG[] =
    "reporting-disabled = true\n"
    "bind-address = \"127.0.0.1:%d\"\n"
    "[meta]\n  dir = \"%s/meta\"\n  logging-enabled = false\n"
    "[data]\n  dir = \"%s/data\"\n  wal-dir = \"%s/wal\"\n  wal-fsync-delay = \"0s\"\n"
    "  query-log-enabled = false\n  trace-logging-enabled = false\n"
    "[coordinator]\n  log-queries-after = \"0s\"\n"
    "[retention]\n  enabled = false\n"
    "[shard-precreation]\n  enabled = false\n"
    "[monitor]\n  store-enabled = false\n"
    "[http]\n  enabled = true\n  bind-address = \"127.0.0.1:%d\"\n  auth-enabled = false\n"
    "  log-enabled = false\n  write-tracing = false\n  pprof-enabled = false\n"
    "  max-row-limit = 0\n"
    "[logging]\n  level = \"warn\"\n  suppress-logo = true\n"
    "[subscriber]\n  enabled = false\n"
    "[continuous_queries]\n  enabled = false\n";

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    if (s < 0)
        return -1;
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &l) != 0) {
        close(s);
        return -1;
    }
    close(s);
    return ntohs(a.sin_port);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void influxd_stop(void)
{
    if (g.pid <= 0)
        return;
    kill(g.pid, SIGTERM);
    double deadline = now_s() + 30;
    int st;
    while (waitpid(g.pid, &st, WNOHANG) == 0) {
        if (now_s() > deadline) {
            kill(g.pid, SIGKILL);
            waitpid(g.pid, &st, 0);
            break;
        }
        usleep(20000);
    }
    g.pid = 0;
}

/* Starts influxd on g.dir with g's ports (picked when 0) and waits up to 20 s for /ping. */
static bool influxd_start(void)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        if (g.http_port == 0 || attempt > 0) {
            g.http_port = free_port();
            g.rpc_port = free_port();
            if (g.http_port <= 0 || g.rpc_port <= 0 || g.http_port == g.rpc_port)
                continue;
        }
        char conf[320], log[320];
        snprintf(conf, sizeof conf, "%s/influxd.conf", g.dir);
        snprintf(log, sizeof log, "%s/influxd.log", g.dir);
        FILE *f = fopen(conf, "w");
        if (f == NULL)
            return false;
        fprintf(f, CONFIG, g.rpc_port, g.dir, g.dir, g.dir, g.http_port);
        fclose(f);
        snprintf(g.url, sizeof g.url, "http://127.0.0.1:%d", g.http_port);

        pid_t pid = fork();
        if (pid < 0)
            return false;
        if (pid == 0) {
            int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
            int nul = open("/dev/null", O_RDONLY);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
            }
            if (nul >= 0)
                dup2(nul, 0);
            execl(INFLUXD, INFLUXD, "run", "-config", conf, (char *)NULL);
            _exit(127);
        }
        g.pid = pid;

        influx_remote_options o;
        influx_remote_options_default(&o);
        snprintf(o.url, sizeof o.url, "%s", g.url);
        o.timeout_ms = 2000;
        o.connect_timeout_ms = 500;
        influx_remote *r;
        vt_err err;
        if (influx_remote_new(&o, &r, &err) != VT_OK)
            return false;
        double deadline = now_s() + 20;
        bool up = false;
        while (!up && now_s() < deadline) {
            int st;
            if (waitpid(g.pid, &st, WNOHANG) == g.pid) {
                g.pid = 0;
                break;
            }
            up = influx_remote_ping(r, NULL, 0, &err) == VT_OK;
            if (!up)
                usleep(50000);
        }
        influx_remote_free(r);
        if (up)
            return true;
        influxd_stop();
    }
    return false;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int group_setup(void **state)
{
    (void)state;
    if (access(INFLUXD, X_OK) != 0) {
        printf("SKIP: %s not found: the influx_remote tests need InfluxDB 1.6.7\n", INFLUXD);
        return 0;
    }
    snprintf(g.dir, sizeof g.dir, "/tmp/volta-influx-remote-XXXXXX");
    if (mkdtemp(g.dir) == NULL)
        return -1;
    if (!influxd_start()) {
        printf("influxd did not start (log in %s)\n", g.dir);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    influxd_stop();
    if (g.dir[0])
        nftw(g.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

#define NEED_INFLUXD()                                                                             \
    do {                                                                                           \
        if (g.pid <= 0) {                                                                          \
            printf("SKIP: no influxd\n");                                                          \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* ---- helpers ------------------------------------------------------------------------------- */

static influx_remote *remote_with(void (*tweak)(influx_remote_options *))
{
    influx_remote_options o;
    influx_remote_options_default(&o);
    snprintf(o.url, sizeof o.url, "%s", g.url);
    o.connect_timeout_ms = 1000;
    o.timeout_ms = 10000;
    if (tweak)
        tweak(&o);
    influx_remote *r = NULL;
    vt_err err;
    assert_int_equal(influx_remote_new(&o, &r, &err), VT_OK);
    return r;
}

static influx_remote *remote(void)
{
    return remote_with(NULL);
}

/* A set of records built with the record.h encoders. */
typedef struct recset {
    vt_buf bufs[64];
    journal_record recs[64];
    size_t n;
} recset;

static void rs_init(recset *s)
{
    memset(s, 0, sizeof *s);
}

static vt_buf *rs_add(recset *s, uint16_t type)
{
    assert_true(s->n < 64);
    vt_buf_init(&s->bufs[s->n]);
    s->recs[s->n].seq = s->n + 1;
    s->recs[s->n].type = type;
    return &s->bufs[s->n++];
}

static void rs_seal(recset *s)
{
    for (size_t i = 0; i < s->n; i++) {
        assert_false(s->bufs[i].oom);
        s->recs[i].data = s->bufs[i].data;
        s->recs[i].len = (uint32_t)s->bufs[i].len;
    }
}

static void rs_free(recset *s)
{
    for (size_t i = 0; i < s->n; i++)
        vt_buf_free(&s->bufs[i]);
    s->n = 0;
}

static void rs_write(recset *s, lp_precision p, const char *db, const char *rp, int64_t dt,
                     const char *body)
{
    vt_buf *b = rs_add(s, JOURNAL_REC_WRITE);
    record_write_header(b, p, db, rp, dt);
    vt_buf_append(b, body, strlen(body));
}

static void rs_dbop(recset *s, uint16_t type, const char *db)
{
    record_dbop_encode(rs_add(s, type), db);
}

/* DELETE of the series given as "m", "k1", "v1", ... NULL-terminated lists, one per key. */
static void rs_delete(recset *s, const char *db, int64_t tmin, int64_t tmax, size_t nkeys,
                      const char *const *const *keys)
{
    vt_buf kb;
    size_t off[8], len[8];
    vt_buf_init(&kb);
    assert_true(nkeys <= 8);
    for (size_t i = 0; i < nkeys; i++) {
        vt_tag tags[8];
        size_t nt = 0;
        for (const char *const *t = keys[i] + 1; *t; t += 2) {
            tags[nt].key = vt_str_c(t[0]);
            tags[nt].value = vt_str_c(t[1]);
            nt++;
        }
        off[i] = kb.len;
        series_key_build(&kb, vt_str_c(keys[i][0]), tags, nt);
        len[i] = kb.len - off[i];
    }
    record_delete_encode(rs_add(s, RECORD_TYPE_DELETE), db, tmin, tmax, kb.data, off, len, nkeys);
    vt_buf_free(&kb);
}

static vt_rc apply(influx_remote *r, recset *s, size_t *applied, vt_err *err)
{
    rs_seal(s);
    return influx_remote_apply(r, s->recs, s->n, applied, err);
}

static void apply_ok(influx_remote *r, recset *s)
{
    size_t applied = 99;
    vt_err err = {0};
    vt_rc rc = apply(r, s, &applied, &err);
    if (rc != VT_OK)
        fail_msg("apply: %s: %s", vt_rc_name(rc), err.msg);
    assert_int_equal(applied, s->n);
}

static json_t *query(influx_remote *r, const char *db, const char *q)
{
    char *out = NULL;
    vt_err err = {0};
    vt_rc rc = influx_remote_query(r, db, q, &out, &err);
    if (rc != VT_OK)
        fail_msg("query %s: %s: %s", q, vt_rc_name(rc), err.msg);
    json_t *root = json_loads(out, 0, NULL);
    assert_non_null(root);
    free(out);
    return root;
}

static json_t *series0(json_t *root)
{
    return json_array_get(
        json_object_get(json_array_get(json_object_get(root, "results"), 0), "series"), 0);
}

/* values[row][col] of the first series of the first result. */
static json_t *cell(json_t *root, size_t row, size_t col)
{
    return json_array_get(json_array_get(json_object_get(series0(root), "values"), row), col);
}

static size_t nrows(json_t *root)
{
    return json_array_size(json_object_get(series0(root), "values"));
}

static long long count_of(influx_remote *r, const char *db, const char *q)
{
    json_t *root = query(r, db, q);
    json_t *c = cell(root, 0, 1);
    long long n = c ? json_integer_value(c) : 0;
    json_decref(root);
    return n;
}

/* The time column (RFC3339) of the single row q returns. */
static void assert_time(influx_remote *r, const char *db, const char *q, const char *want)
{
    json_t *root = query(r, db, q);
    if (nrows(root) != 1)
        fail_msg("%s: %zu rows", q, nrows(root));
    assert_string_equal(json_string_value(cell(root, 0, 0)), want);
    json_decref(root);
}

/* The first column of every row, ","-joined. */
static void column0(json_t *root, char *out, size_t cap)
{
    out[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < nrows(root); i++) {
        const char *s = json_string_value(cell(root, i, 0));
        used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? "," : "", s ? s : "?");
        assert_true(used < cap);
    }
}

static void assert_column0(influx_remote *r, const char *db, const char *q, const char *want)
{
    char got[2048];
    json_t *root = query(r, db, q);
    column0(root, got, sizeof got);
    json_decref(root);
    assert_string_equal(got, want);
}

static uint64_t requests(influx_remote *r)
{
    influx_remote_stats st;
    influx_remote_get_stats(r, &st);
    return st.requests;
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_ping(void **state)
{
    (void)state;
    NEED_INFLUXD();
    influx_remote *r = remote();
    char ver[64] = "";
    vt_err err;
    assert_int_equal(influx_remote_ping(r, ver, sizeof ver, &err), VT_OK);
    assert_true(strncmp(ver, "1.6", 3) == 0);
    influx_remote_stats st;
    influx_remote_get_stats(r, &st);
    assert_int_equal(st.requests, 1);
    assert_int_equal(st.failures, 0);
    influx_remote_free(r);
}

static void test_write_and_count(void **state)
{
    (void)state;
    NEED_INFLUXD();
    influx_remote *r = remote();
    recset s;
    rs_init(&s);
    rs_dbop(&s, JOURNAL_REC_CREATE_DB, "w1");
    rs_write(&s, LP_PRECISION_NS, "w1", "", 0,
             "cpu,host=a v=1 1000000000\ncpu,host=b v=2 1000000000\n"
             "# a comment\n\ncpu,host=a v=3 2000000000\n");
    apply_ok(r, &s);
    assert_int_equal(count_of(r, "w1", "SELECT count(v) FROM cpu"), 3);
    influx_remote_stats st;
    influx_remote_get_stats(r, &st);
    assert_int_equal(st.points_sent, 3);
    assert_int_equal(st.failures, 0);
    rs_free(&s);

    /* the plain write API, with an explicit rp */
    vt_err err;
    const char body[] = "mem,host=a used=10i 5\nmem,host=a used=11i 6";
    assert_int_equal(influx_remote_write(r, "w1", "autogen", LP_PRECISION_NS, body,
                                         strlen(body), &err),
                     VT_OK);
    assert_int_equal(count_of(r, "w1", "SELECT count(used) FROM mem"), 2);
    influx_remote_free(r);
}

/* A clean body travels as it is (bytes_sent == its length); timing of 120k points. */
static void test_verbatim_and_throughput(void **state)
{
    (void)state;
    NEED_INFLUXD();
    influx_remote *r = remote();
    recset s;
    vt_buf body;
    vt_buf_init(&body);
    const int n = 120000;
    for (int i = 0; i < n; i++)
        vt_buf_printf(&body, "tp,host=h%d,dc=d%d usage=%d.5,n=%di %d\n", i % 100, i % 7, i, i,
                      1000000 + i);
    json_decref(query(r, NULL, "CREATE DATABASE tp"));
    influx_remote_stats st0, st;
    influx_remote_get_stats(r, &st0);
    rs_init(&s);
    rs_write(&s, LP_PRECISION_S, "tp", "", 0, vt_buf_cstr(&body));
    double t0 = now_s();
    apply_ok(r, &s);
    double dt = now_s() - t0;
    influx_remote_get_stats(r, &st);
    assert_int_equal(st.bytes_sent - st0.bytes_sent, body.len);
    assert_int_equal(st.requests - st0.requests, 1);
    assert_int_equal(st.points_sent, n);
    printf("    %d points (%zu bytes, verbatim) applied in %.2f s: %.0f points/s\n", n, body.len,
           dt, n / dt);
    assert_int_equal(count_of(r, "tp", "SELECT count(usage) FROM tp"), n);
    rs_free(&s);

    /* the same without timestamps and with a string field: the parser path, rewritten */
    vt_buf_reset(&body);
    for (int i = 0; i < n; i++)
        vt_buf_printf(&body, "tq,host=h%d s=\"v %d\",n=%di\n", i % 100, i, i);
    rs_init(&s);
    rs_write(&s, LP_PRECISION_NS, "tp", "", 123456789, vt_buf_cstr(&body));
    t0 = now_s();
    apply_ok(r, &s);
    dt = now_s() - t0;
    printf("    %d points (%zu bytes, every line given its timestamp) applied in %.2f s: %.0f "
           "points/s\n", n, body.len, dt, n / dt);
    assert_int_equal(count_of(r, "tp", "SELECT count(n) FROM tq"), 100); /* one instant */
    rs_free(&s);
    vt_buf_free(&body);
    influx_remote_free(r);
}

static void test_default_time(void **state)
{
    (void)state;
    NEED_INFLUXD();
    influx_remote *r = remote();
    recset s;
    rs_init(&s);
    const int64_t dt = 1600000000123456789LL;
    /* split-at-LF path: CRLF, leading/trailing blanks, no final LF */
    rs_write(&s, LP_PRECISION_NS, "dt", "", dt,
             "cpu,host=a v=1 1000000000\r\n  cpu,host=b v=2   \r\ncpu,host=c v=3");
    /* parser path (a string field with a space and a newline, then one with a timestamp) */
    rs_write(&s, LP_PRECISION_NS, "dt", "", dt,
             "str,host=d s=\"x 12\nline two 5\"\nstr,host=e s=\"y 7\" 42\n");
    /* precision s: the primary floored default_time to the second */
    rs_write(&s, LP_PRECISION_S, "dt", "", dt, "sec,host=f v=1\nsec,host=g v=2 1500000000\n");
    /* negative default_time, precision ms: floor, not truncation */
    rs_write(&s, LP_PRECISION_MS, "dt", "", -1500000, "neg v=1");
    apply_ok(r, &s);
    assert_time(r, "dt", "SELECT v FROM cpu WHERE host='a'", "1970-01-01T00:00:01Z");
    assert_time(r, "dt", "SELECT v FROM cpu WHERE host='b'", "2020-09-13T12:26:40.123456789Z");
    assert_time(r, "dt", "SELECT v FROM cpu WHERE host='c'", "2020-09-13T12:26:40.123456789Z");
    assert_time(r, "dt", "SELECT s FROM str WHERE host='d'", "2020-09-13T12:26:40.123456789Z");
    assert_time(r, "dt", "SELECT s FROM str WHERE host='e'", "1970-01-01T00:00:00.000000042Z");
    json_t *root = query(r, "dt", "SELECT s FROM str WHERE host='d'");
    assert_string_equal(json_string_value(cell(root, 0, 1)), "x 12\nline two 5");
    json_decref(root);
    assert_time(r, "dt", "SELECT v FROM sec WHERE host='f'", "2020-09-13T12:26:40Z");
    assert_time(r, "dt", "SELECT v FROM sec WHERE host='g'", "2017-07-14T02:40:00Z");
    assert_time(r, "dt", "SELECT v FROM neg", "1969-12-31T23:59:59.998Z");
    rs_free(&s);
    influx_remote_free(r);
}

static void test_precisions(void **state)
{
    (void)state;
    NEED_INFLUXD();
    influx_remote *r = remote();
    recset s;
    rs_init(&s);
    rs_write(&s, LP_PRECISION_S, "prec", "", 0, "p,u=s v=1 1600000000\n");
    rs_write(&s, LP_PRECISION_MS, "prec", "", 0, "p,u=ms v=2 1600000000500\n");
    rs_write(&s, LP_PRECISION_US, "prec", "", 0, "p,u=us v=3 1600000000000007\n");
    rs_write(&s, LP_PRECISION_H, "prec", "", 0, "p,u=h v=4 444444\n");
    uint64_t before = requests(r);
    apply_ok(r, &s);
    /* one request per precision, plus the CREATE DATABASE and retry of the first */
    assert_int_equal(requests(r) - before, 4 + 2);
    assert_time(r, "prec", "SELECT v FROM p WHERE u='s'", "2020-09-13T12:26:40Z");
    assert_time(r, "prec", "SELECT v FROM p WHERE u='ms'", "2020-09-13T12:26:40.5Z");
    assert_time(r, "prec", "SELECT v FROM p WHERE u='us'", "2020-09-13T12:26:40.000007Z");
    assert_time(r, "prec", "SELECT v FROM p WHERE u='h'", "2020-09-13T12:00:00Z");
    rs_free(&s);
    influx_remote_free(r);
}

static void small_body(influx_remote_options *o)
{
    o->max_body_bytes = 100;
}

static void with_gzip(influx_remote_options *o)
{
    o->gzip = true;
}

static void test_coalesce(void **state)
{
    (void)state;
    NEED_INFLUXD();
    influx_remote *r = remote();
    recset s;
    char line[128];
    rs_init(&s);
    rs_dbop(&s, JOURNAL_REC_CREATE_DB, "co");
    for (int i = 0; i < 20; i++) {
        /* some records lack the final LF, some lines lack a timestamp */
        if (i % 3 == 0)
            snprintf(line, sizeof line, "c,i=%d v=%d", i, i);
        else
            snprintf(line, sizeof line, "c,i=%d v=%d %d\n", i, i, 1000 + i);
        rs_write(&s, LP_PRECISION_NS, "co", "", 5000 + i, line);
    }
    uint64_t before = requests(r);
    apply_ok(r, &s);
    assert_int_equal(requests(r) - before, 2); /* CREATE DATABASE + one write */
    assert_int_equal(count_of(r, "co", "SELECT count(v) FROM c"), 20);
    assert_time(r, "co", "SELECT v FROM c WHERE i='3'", "1970-01-01T00:00:00.000005003Z");
    assert_time(r, "co", "SELECT v FROM c WHERE i='4'", "1970-01-01T00:00:00.000001004Z");
    rs_free(&s);

    /* another db in the middle: three requests */
    rs_init(&s);
    rs_write(&s, LP_PRECISION_NS, "co", "", 0, "d v=1 1\n");
    rs_write(&s, LP_PRECISION_NS, "w1", "", 0, "d v=2 2\n");
    rs_write(&s, LP_PRECISION_NS, "co", "", 0, "d v=3 3\n");
    before = requests(r);
    apply_ok(r, &s);
    assert_int_equal(requests(r) - before, 3);
    assert_int_equal(count_of(r, "co", "SELECT count(v) FROM d"), 2);
    rs_free(&s);
    influx_remote_free(r);

    /* max_body_bytes = 100: records split across requests at line boundaries */
    r = remote_with(small_body);
    rs_init(&s);
    vt_buf big;
    vt_buf_init(&big);
    for (int i = 0; i < 30; i++)
        vt_buf_printf(&big, "split,i=%02d v=%d%s\n", i, i, i % 2 ? " 77" : "");
    rs_write(&s, LP_PRECISION_NS, "co", "", 88, vt_buf_cstr(&big));
    rs_write(&s, LP_PRECISION_NS, "co", "", 88, "split,i=xx v=1 99\n");
    vt_buf_free(&big);
    before = requests(r);
    apply_ok(r, &s);
    uint64_t reqs = requests(r) - before;
    assert_true(reqs >= 6);
    influx_remote_stats st;
    influx_remote_get_stats(r, &st);
    assert_true(st.bytes_sent / (reqs ? reqs : 1) <= 100);
    assert_int_equal(st.points_sent, 31);
    assert_int_equal(count_of(r, "co", "SELECT count(v) FROM split"), 31);
    assert_time(r, "co", "SELECT v FROM split WHERE i='04'", "1970-01-01T00:00:00.000000088Z");
    assert_time(r, "co", "SELECT v FROM split WHERE i='05'", "1970-01-01T00:00:00.000000077Z");
    rs_free(&s);
    influx_remote_free(r);

    /* gzip bodies */
    r = remote_with(with_gzip);
    rs_init(&s);
    rs_write(&s, LP_PRECISION_NS, "co", "", 7, "gz,a=1 v=1\ngz,a=2 v=2 8\n");
    apply_ok(r, &s);
    assert_int_equal(count_of(r, "co", "SELECT count(v) FROM gz"), 2);
    assert_time(r, "co", "SELECT v FROM gz WHERE a='1'", "1970-01-01T00:00:00.000000007Z");
    rs_free(&s);
    influx_remote_free(r);
}

static bool has_db(influx_remote *r, const char *db)
{
    char got[2048], want[300];
    json_t *root = query(r, NULL, "SHOW DATABASES");
    column0(root, got, sizeof got);
    json_decref(root);
    snprintf(want, sizeof want, ",%s,", db);
    char padded[2100];
    snprintf(padded, sizeof padded, ",%s,", got);
    return strstr(padded, want) != NULL;
}

static void test_create_drop_db(void **state)
{
    (void)state;
    NEED_INFLUXD();
    influx_remote *r = remote();
    recset s;
    rs_init(&s);
    rs_dbop(&s, JOURNAL_REC_CREATE_DB, "cd");
    rs_dbop(&s, JOURNAL_REC_CREATE_DB, "we\"ird db");
    apply_ok(r, &s);
    assert_true(has_db(r, "cd"));
    assert_true(has_db(r, "we\"ird db"));
    rs_free(&s);
    rs_init(&s);
    rs_dbop(&s, JOURNAL_REC_DROP_DB, "cd");
    rs_dbop(&s, JOURNAL_REC_DROP_DB, "cd");          /* again: harmless */
    rs_dbop(&s, JOURNAL_REC_DROP_DB, "never-there"); /* harmless */
    apply_ok(r, &s);
    assert_false(has_db(r, "cd"));
    assert_true(has_db(r, "we\"ird db"));
    rs_free(&s);
    influx_remote_free(r);
}

static void add_rp(record_rpcat *c, const char *name, int64_t dur, int64_t shard, uint32_t n)
{
    record_rp p;
    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "%s", name);
    p.duration = dur;
    p.shard_duration = shard;
    p.replica_n = n;
    assert_true(record_rpcat_add(c, &p));
}

#define HOUR 3600000000000LL

/* SHOW RETENTION POLICIES as "name/duration/shard/replicaN/default;..." */
static void assert_rps(influx_remote *r, const char *db, const char *want)
{
    char q[128], got[1024];
    size_t used = 0;
    snprintf(q, sizeof q, "SHOW RETENTION POLICIES ON \"%s\"", db);
    json_t *root = query(r, NULL, q);
    got[0] = '\0';
    for (size_t i = 0; i < nrows(root); i++)
        used += (size_t)snprintf(got + used, sizeof got - used, "%s%s/%s/%s/%lld/%s",
                                 i ? ";" : "", json_string_value(cell(root, i, 0)),
                                 json_string_value(cell(root, i, 1)),
                                 json_string_value(cell(root, i, 2)),
                                 (long long)json_integer_value(cell(root, i, 3)),
                                 json_is_true(cell(root, i, 4)) ? "default" : "-");
    json_decref(root);
    assert_string_equal(got, want);
}

static void test_db_meta(void **state)
{
    (void)state;
    NEED_INFLUXD();
    influx_remote *r = remote();
    recset s;
    record_rpcat cat;
    memset(&cat, 0, sizeof cat);
    snprintf(cat.default_rp, sizeof cat.default_rp, "one");
    add_rp(&cat, "one", 24 * HOUR, HOUR, 1);
    add_rp(&cat, "two", 0, 168 * HOUR, 1);
    add_rp(&cat, "th\"ree", 90 * 60000000000LL, HOUR, 1);
    rs_init(&s);
    record_db_meta_encode(rs_add(&s, RECORD_TYPE_DB_META), "meta", &cat);
    apply_ok(r, &s);
    /* autogen (made by CREATE DATABASE) is not in the catalog: dropped */
    assert_rps(r, "meta",
               "one/24h0m0s/1h0m0s/1/default;two/0s/168h0m0s/1/-;th\"ree/1h30m0s/1h0m0s/1/-");
    apply_ok(r, &s); /* again: the same */
    assert_rps(r, "meta",
               "one/24h0m0s/1h0m0s/1/default;two/0s/168h0m0s/1/-;th\"ree/1h30m0s/1h0m0s/1/-");
    rs_free(&s);

    /* the catalog loses "two", "one" gets longer, "th"ree" becomes the default */
    record_rpcat_remove(&cat, "two");
    record_rpcat_find(&cat, "one")->duration = 48 * HOUR;
    snprintf(cat.default_rp, sizeof cat.default_rp, "th\"ree");
    rs_init(&s);
    record_db_meta_encode(rs_add(&s, RECORD_TYPE_DB_META), "meta", &cat);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t t = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
    rs_write(&s, LP_PRECISION_NS, "meta", "one", t, "m v=1\n");
    rs_write(&s, LP_PRECISION_NS, "meta", "", t, "m v=2\n");
    apply_ok(r, &s);
    assert_rps(r, "meta", "one/48h0m0s/1h0m0s/1/-;th\"ree/1h30m0s/1h0m0s/1/default");
    assert_int_equal(count_of(r, "meta", "SELECT count(v) FROM \"one\".m"), 1);
    rs_free(&s);
    record_rpcat_free(&cat);
    influx_remote_free(r);
}

static void test_delete(void **state)
{
    (void)state;
    NEED_INFLUXD();
    influx_remote *r = remote();
    recset s;
    rs_init(&s);
    rs_write(&s, LP_PRECISION_NS, "del", "", 0,
             "cpu,host=a v=1 1000\ncpu,host=a v=2 2000\ncpu,host=a v=3 3000\n"
             "cpu,host=a,region=x v=1 1000\ncpu,host=a,region=x v=2 2000\n"
             "cpu,host=a,region=x v=3 3000\n"
             "cpu,host=b v=1 1000\ncpu,host=b v=2 2000\ncpu,host=b v=3 3000\n"
             "cpu v=9 2000\n"
             "we\"ird\\ m,ta\\ g=it's\\ \\\\x v=1 2000\nwe\"ird\\ m,ta\\ g=other v=1 2000\n");
    apply_ok(r, &s);
    rs_free(&s);

    /* DELETE cpu,host=a in [1500, 2500]: region=x and host=b untouched */
    static const char *const k_a[] = {"cpu", "host", "a", NULL};
    static const char *const k_notag[] = {"cpu", NULL};
    static const char *const k_weird[] = {"we\"ird m", "ta g", "it's \\\\x", NULL};
    const char *const *keys[] = {k_a};
    rs_init(&s);
    rs_delete(&s, "del", 1500, 2500, 1, keys);
    apply_ok(r, &s);
    assert_int_equal(count_of(r, "del", "SELECT count(v) FROM cpu WHERE host='a' AND region=''"),
                     2);
    assert_int_equal(count_of(r, "del", "SELECT count(v) FROM cpu WHERE region='x'"), 3);
    assert_int_equal(count_of(r, "del", "SELECT count(v) FROM cpu WHERE host='b'"), 3);
    assert_int_equal(count_of(r, "del", "SELECT count(v) FROM cpu WHERE host=''"), 1);
    apply_ok(r, &s); /* again: the same */
    assert_int_equal(count_of(r, "del", "SELECT count(v) FROM cpu"), 9);
    rs_free(&s);

    /* unbounded: DROP SERIES of cpu,host=a and of the tagless cpu series, and the odd one */
    const char *const *keys2[] = {k_a, k_notag, k_weird};
    rs_init(&s);
    rs_delete(&s, "del", INT64_MIN, INT64_MAX, 3, keys2);
    rs_delete(&s, "no-such-db", INT64_MIN, INT64_MAX, 1, keys); /* nothing to do */
    apply_ok(r, &s);
    assert_column0(r, "del", "SHOW SERIES",
                   "cpu,host=a,region=x,cpu,host=b,we\"ird\\ m,ta\\ g=other");
    assert_int_equal(count_of(r, "del", "SELECT count(v) FROM cpu"), 6);
    rs_free(&s);

    /* a lower bound only */
    static const char *const k_b[] = {"cpu", "host", "b", NULL};
    const char *const *keys3[] = {k_b};
    rs_init(&s);
    rs_delete(&s, "del", 2500, INT64_MAX, 1, keys3);
    apply_ok(r, &s);
    assert_int_equal(count_of(r, "del", "SELECT count(v) FROM cpu WHERE host='b'"), 2);
    rs_free(&s);
    influx_remote_free(r);
}

static void test_drop_measurement_and_retention(void **state)
{
    (void)state;
    NEED_INFLUXD();
    influx_remote *r = remote();
    recset s;
    rs_init(&s);
    rs_write(&s, LP_PRECISION_NS, "dm", "", 0, "m1 v=1 1\nm2 v=2 2\nm\\ 3 v=3 3\n");
    record_drop_measurement_encode(rs_add(&s, RECORD_TYPE_DROP_MEASUREMENT), "dm", "m1");
    record_drop_measurement_encode(rs_add(&s, RECORD_TYPE_DROP_MEASUREMENT), "dm", "m 3");
    record_drop_measurement_encode(rs_add(&s, RECORD_TYPE_DROP_MEASUREMENT), "dm", "never");
    record_drop_measurement_encode(rs_add(&s, RECORD_TYPE_DROP_MEASUREMENT), "nodb", "m1");
    apply_ok(r, &s);
    assert_column0(r, "dm", "SHOW MEASUREMENTS", "m2");
    rs_free(&s);

    rs_init(&s);
    record_retention_encode(rs_add(&s, RECORD_TYPE_RETENTION), "dm", INT64_MAX);
    uint64_t before = requests(r);
    apply_ok(r, &s);
    assert_int_equal(requests(r), before);
    assert_column0(r, "dm", "SHOW MEASUREMENTS", "m2");
    rs_free(&s);
    influx_remote_free(r);
}

static void test_replay_twice(void **state)
{
    (void)state;
    NEED_INFLUXD();
    influx_remote *r = remote();
    recset s;
    static const char *const k[] = {"t", "h", "1", NULL};
    const char *const *keys[] = {k};
    rs_init(&s);
    rs_dbop(&s, JOURNAL_REC_CREATE_DB, "twice");
    rs_write(&s, LP_PRECISION_NS, "twice", "", 50, "t,h=1 v=1 10\nt,h=1 v=2\nt,h=2 v=3\n");
    rs_delete(&s, "twice", 0, 20, 1, keys);
    rs_write(&s, LP_PRECISION_MS, "twice", "", 0, "t,h=3 v=4 1\n");
    record_drop_measurement_encode(rs_add(&s, RECORD_TYPE_DROP_MEASUREMENT), "twice", "gone");
    char a[2048], b[2048];
    apply_ok(r, &s);
    json_t *root = query(r, "twice", "SELECT * FROM t");
    column0(root, a, sizeof a);
    json_decref(root);
    apply_ok(r, &s);
    root = query(r, "twice", "SELECT * FROM t");
    column0(root, b, sizeof b);
    json_decref(root);
    assert_string_equal(a, b);
    assert_string_equal(a, "1970-01-01T00:00:00.00000005Z,1970-01-01T00:00:00.00000005Z,"
                           "1970-01-01T00:00:00.001Z");
    rs_free(&s);
    influx_remote_free(r);
}

static void test_missing_db(void **state)
{
    (void)state;
    NEED_INFLUXD();
    influx_remote *r = remote();
    recset s;
    rs_init(&s);
    rs_write(&s, LP_PRECISION_NS, "fresh", "", 0, "f v=1 1\n");
    apply_ok(r, &s);
    influx_remote_stats st;
    influx_remote_get_stats(r, &st);
    assert_int_equal(st.requests, 3); /* 404, CREATE DATABASE, retry */
    assert_true(has_db(r, "fresh"));
    assert_int_equal(count_of(r, "fresh", "SELECT count(v) FROM f"), 1);
    rs_free(&s);
    influx_remote_free(r);
}

static void test_refused(void **state)
{
    (void)state;
    NEED_INFLUXD();
    influx_remote *r = remote();
    recset s;
    rs_init(&s);
    rs_dbop(&s, JOURNAL_REC_CREATE_DB, "ref");
    rs_write(&s, LP_PRECISION_NS, "ref", "", 0, "ok v=1 1\n");
    rs_write(&s, LP_PRECISION_NS, "ref", "", 0, "t,host=a v=1i 1000\n");
    rs_write(&s, LP_PRECISION_NS, "ref", "", 0, "t,host=a v=1.5 2000\n");
    rs_write(&s, LP_PRECISION_NS, "ref", "", 0, "after v=1 1\n");
    size_t applied = 99;
    vt_err err = {0};
    assert_int_equal(apply(r, &s, &applied, &err), VT_EINVAL);
    assert_int_equal(applied, 3);
    assert_non_null(strstr(err.msg, "field type conflict"));
    assert_non_null(strstr(err.msg, "record 4"));
    assert_int_equal(count_of(r, "ref", "SELECT count(v) FROM t"), 1);
    assert_int_equal(count_of(r, "ref", "SELECT count(v) FROM ok"), 1);

    /* resuming at the failing record fails the same way */
    assert_int_equal(influx_remote_apply(r, s.recs + 3, 2, &applied, &err), VT_EINVAL);
    assert_int_equal(applied, 0);
    /* alone, the first record refused says so at once */
    assert_int_equal(influx_remote_apply(r, s.recs + 3, 1, &applied, &err), VT_EINVAL);
    assert_int_equal(applied, 0);
    assert_non_null(strstr(err.msg, "field type conflict"));
    /* past it, the rest goes through */
    assert_int_equal(influx_remote_apply(r, s.recs + 4, 1, &applied, &err), VT_OK);
    assert_int_equal(applied, 1);
    assert_int_equal(count_of(r, "ref", "SELECT count(v) FROM after"), 1);

    /* a statement error through influx_remote_query */
    char *out = (char *)1;
    assert_int_equal(influx_remote_query(r, "nodb-here", "SELECT * FROM x", &out, &err),
                     VT_EINVAL);
    assert_null(out);
    assert_non_null(strstr(err.msg, "database not found"));
    assert_int_equal(influx_remote_query(r, NULL, "SELEKT", NULL, &err), VT_EINVAL);
    rs_free(&s);
    influx_remote_free(r);
}

static void test_remote_down(void **state)
{
    (void)state;
    NEED_INFLUXD();
    vt_err err;
    size_t applied = 99;
    recset s;
    rs_init(&s);
    rs_write(&s, LP_PRECISION_NS, "down", "", 0, "d v=1 1\n");
    rs_dbop(&s, JOURNAL_REC_CREATE_DB, "down2");
    rs_seal(&s);

    /* a closed port */
    influx_remote_options o;
    influx_remote_options_default(&o);
    snprintf(o.url, sizeof o.url, "http://127.0.0.1:%d", free_port());
    influx_remote *c;
    assert_int_equal(influx_remote_new(&o, &c, &err), VT_OK);
    double t0 = now_s();
    assert_int_equal(influx_remote_apply(c, s.recs, s.n, &applied, &err), VT_EBUSY);
    assert_true(now_s() - t0 < 2.5);
    assert_int_equal(applied, 0);
    assert_int_equal(influx_remote_ping(c, NULL, 0, &err), VT_EBUSY);
    influx_remote_stats st;
    influx_remote_get_stats(c, &st);
    assert_int_equal(st.failures, 2);
    influx_remote_free(c);

    /* the real one stopped, then restarted on the same directory and port */
    influx_remote *r = remote();
    influxd_stop();
    t0 = now_s();
    assert_int_equal(influx_remote_apply(r, s.recs, s.n, &applied, &err), VT_EBUSY);
    assert_true(now_s() - t0 < 2.5);
    assert_int_equal(applied, 0);
    assert_true(influxd_start());
    /* influxd_start may have had to pick another port */
    influx_remote_free(r);
    r = remote();
    assert_int_equal(influx_remote_apply(r, s.recs, s.n, &applied, &err), VT_OK);
    assert_int_equal(applied, 2);
    assert_int_equal(count_of(r, "down", "SELECT count(v) FROM d"), 1);
    assert_true(has_db(r, "down2"));
    assert_true(has_db(r, "w1")); /* the data of earlier tests survived the restart */
    rs_free(&s);
    influx_remote_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ping),
        cmocka_unit_test(test_write_and_count),
        cmocka_unit_test(test_verbatim_and_throughput),
        cmocka_unit_test(test_default_time),
        cmocka_unit_test(test_precisions),
        cmocka_unit_test(test_coalesce),
        cmocka_unit_test(test_create_drop_db),
        cmocka_unit_test(test_db_meta),
        cmocka_unit_test(test_delete),
        cmocka_unit_test(test_drop_measurement_and_retention),
        cmocka_unit_test(test_replay_twice),
        cmocka_unit_test(test_missing_db),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_remote_down),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
