/* Unit tests for core/config: the TOML subset, every key, and each error kind with line:column. */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"

static vt_rc load(const char *text, volta_config *cfg, vt_err *err)
{
    config_defaults(cfg);
    vt_err_clear(err);
    return config_load_string("volta.toml", text, strlen(text), cfg, err);
}

static void test_defaults(void **state)
{
    volta_config cfg;
    config_defaults(&cfg);
    assert_string_equal(cfg.listen, "127.0.0.1:8086");
    assert_string_equal(cfg.data, "./volta-data");
    assert_int_equal(cfg.max_body_bytes, 32u << 20);
    assert_int_equal(cfg.threads, 0);
    node_options def;
    node_options_default(&def);
    assert_int_equal(cfg.node.journal.fsync, def.journal.fsync);
    assert_int_equal(cfg.node.engine.memtable_bytes, def.engine.memtable_bytes);
    assert_int_equal(cfg.node.engine.background_nice, 10);
}

static void test_good_file(void **state)
{
    const char *text = "# volta settings\n"
                       "\n"
                       "[server]\n"
                       "listen = \"0.0.0.0:9999\"   # all interfaces\n"
                       "data = \"/var/lib/volta \\\"x\\\"\"\n"
                       "max_body_bytes = 1_048_576\n"
                       "threads = 3\n"
                       "  [journal]  \r\n"
                       "fsync = \"interval\"\n"
                       "fsync_interval_ms = 250\n"
                       "segment_bytes = 8388608\n"
                       "[engine]\n"
                       "memtable_bytes = 16777216\n"
                       "memtable_max_bytes = 33554432\n"
                       "compact_trigger = 4\n"
                       "background_nice = 3\n"
                       "block_points = 500"; /* no final newline */
    volta_config cfg;
    vt_err err;
    assert_int_equal(load(text, &cfg, &err), VT_OK);
    assert_string_equal(cfg.listen, "0.0.0.0:9999");
    assert_string_equal(cfg.data, "/var/lib/volta \"x\"");
    assert_int_equal(cfg.max_body_bytes, 1048576);
    assert_int_equal(cfg.node.limits.max_body_bytes, 1048576);
    assert_int_equal(cfg.threads, 3);
    assert_int_equal(cfg.node.journal.fsync, JOURNAL_FSYNC_INTERVAL);
    assert_int_equal(cfg.node.journal.interval_ms, 250);
    assert_int_equal(cfg.node.journal.segment_bytes, 8388608);
    assert_int_equal(cfg.node.engine.memtable_bytes, 16777216);
    assert_int_equal(cfg.node.engine.memtable_max_bytes, 33554432);
    assert_int_equal(cfg.node.engine.compact_trigger, 4);
    assert_int_equal(cfg.node.engine.block_points, 500);
    assert_int_equal(cfg.node.engine.background_nice, 3);

    assert_int_equal(load("[journal]\nfsync = \"never\"\n", &cfg, &err), VT_OK);
    assert_int_equal(cfg.node.journal.fsync, JOURNAL_FSYNC_NEVER);
    assert_int_equal(load("[journal]\nfsync = \"always\"\n", &cfg, &err), VT_OK);
    assert_int_equal(cfg.node.journal.fsync, JOURNAL_FSYNC_ALWAYS);
    /* an empty file keeps every default */
    assert_int_equal(load("", &cfg, &err), VT_OK);
    assert_string_equal(cfg.listen, "127.0.0.1:8086");
}

typedef struct error_case {
    const char *text;
    vt_rc rc;
    const char *msg; /* exact message */
} error_case;

static void test_errors(void **state)
{
    static const error_case cases[] = {
        {"[server]\nlisten = 8086\n", VT_EINVAL, "volta.toml:2:10: server.listen must be a string"},
        {"[server]\nthreads = \"4\"\n", VT_EINVAL,
         "volta.toml:2:11: server.threads must be an integer"},
        {"[server]\nbogus = 1\n", VT_EINVAL, "volta.toml:2:1: unknown key 'bogus' in [server]"},
        {"\n\n[storage]\n", VT_EINVAL,
         "volta.toml:3:2: unknown section [storage] (known: server, journal, engine, ingest, ask, "
         "backend.<name>)"},
        {"threads = 4\n", VT_EINVAL,
         "volta.toml:1:1: key 'threads' outside a section ([server], [journal], [engine], ...)"},
        {"[server]\nthreads = 2\nthreads = 3\n", VT_EINVAL,
         "volta.toml:3:1: duplicate key 'threads' in [server]"},
        {"[server]\nlisten = \"abc\n", VT_EPARSE, "volta.toml:2:10: unterminated string"},
        {"[server]\nlisten \"x\"\n", VT_EPARSE, "volta.toml:2:8: expected '=' after key 'listen'"},
        {"[server]\nthreads =\n", VT_EPARSE, "volta.toml:2:10: expected a value after '='"},
        {"[server]\nthreads = 4 5\n", VT_EPARSE, "volta.toml:2:13: unexpected '5' after the value"},
        {"[server\n", VT_EPARSE, "volta.toml:1:8: expected ']' to close the section header"},
        {"[server]\nthreads = 4x\n", VT_EPARSE,
         "volta.toml:2:11: invalid value: expected a quoted string, an integer, true or false"},
        {"[server]\nthreads = yes\n", VT_EPARSE,
         "volta.toml:2:11: invalid value: expected a quoted string, an integer, true or false"},
        {"[server]\nthreads = 99999\n", VT_EINVAL,
         "volta.toml:2:11: server.threads = 99999 is out of range (0..1024)"},
        {"[server]\nmax_body_bytes = -5\n", VT_EINVAL,
         "volta.toml:2:18: server.max_body_bytes = -5 is out of range (1..4294967296)"},
        {"[journal]\nfsync = \"sometimes\"\n", VT_EINVAL,
         "volta.toml:2:9: journal.fsync must be \"always\", \"interval\" or \"never\""},
        {"[journal]\nfsync = true\n", VT_EINVAL, "volta.toml:2:9: journal.fsync must be a string"},
        {"[engine]\ncompact_trigger = 1\n", VT_EINVAL,
         "volta.toml:2:19: engine.compact_trigger = 1 is out of range (2..1000)"},
        {"[engine]\nbackground_nice = 20\n", VT_EINVAL,
         "volta.toml:2:19: engine.background_nice = 20 is out of range (0..19)"},
        {"[engine]\nblock_points = 99999999999999999999999\n", VT_ELIMIT,
         "volta.toml:2:16: integer too large"},
        {"[server]\nthreads = 1__0\n", VT_EPARSE, "volta.toml:2:13: '_' must stand between digits"},
        {"[server]\ndata = \"a\\qb\"\n", VT_EPARSE,
         "volta.toml:2:10: unknown escape '\\q' in string"},
        {"[server]\nlisten = \"\"\n", VT_EINVAL,
         "volta.toml:2:10: server.listen must not be empty"},
        {"[backend.b]\ntype = \"s3\"\n", VT_EINVAL,
         "volta.toml:2:8: backend.type must be \"native\" or \"influx\""},
        {"[backend.b]\ntype = \"influx\"\n", VT_EINVAL,
         "volta.toml: [backend.b] (influx) needs url = \"http://host:port\""},
        {"[backend.b]\ntype = \"native\"\n", VT_EINVAL,
         "volta.toml: [backend.b] (native) needs path = \"<data directory>\""},
        {"[backend.b]\nurl = \"http://x\"\n", VT_EINVAL,
         "volta.toml: [backend.b] needs type = \"native\" or \"influx\""},
        {"[backend.b]\nurl = \"ftp://x\"\n", VT_EINVAL,
         "volta.toml:2:7: backend.url must start with http:// or https://"},
        {"[backend.b]\ntype = \"native\"\npath = \"/x\"\n[backend.b]\n", VT_EINVAL,
         "volta.toml:4:10: duplicate section [backend.b]"},
        {"[backend.primary]\n", VT_EINVAL,
         "volta.toml:1:10: \"primary\" is the server's own engine; name backup backends "
         "otherwise"},
        {"[backend.a.b]\n", VT_EINVAL, "volta.toml:1:10: backend name must not contain '.'"},
        {"[backend.b]\ntype = \"native\"\ntype = \"native\"\n", VT_EINVAL,
         "volta.toml:3:1: duplicate key 'type' in [backend]"},
        {"[backend.b]\nrole = \"primary\"\n", VT_EINVAL,
         "volta.toml:2:8: backend.role must be \"backup\" (the primary is the server's own "
         "engine)"},
        {"[ingest]\nrescan_seconds = 0\n", VT_EINVAL,
         "volta.toml:2:18: ingest.rescan_seconds = 0 is out of range (1..86400)"},
        {"[ingest]\ndatabase = \"\"\n", VT_EINVAL,
         "volta.toml:2:12: ingest.database must not be empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        volta_config cfg;
        vt_err err;
        vt_rc rc = load(cases[i].text, &cfg, &err);
        if (rc != cases[i].rc || strcmp(err.msg, cases[i].msg) != 0)
            fail_msg("case %zu: got rc %d '%s', want rc %d '%s'", i, rc, err.msg, cases[i].rc,
                     cases[i].msg);
    }
}

static void test_backends_and_ingest(void **state)
{
    (void)state;
    const char *text = "[ingest]\n"
                       "landing = \"/srv/landing\"\n"
                       "database = \"grid\"\n"
                       "watch = false\n"
                       "rescan_seconds = 30\n"
                       "[backend.bk]\n"
                       "type = \"native\"\n"
                       "path = \"/srv/backup\"\n"
                       "[backend.idb]\n"
                       "type = \"influx\"\n"
                       "url = \"http://10.0.0.2:8086/\"\n"
                       "username = \"u\"\n"
                       "password = \"p\"\n"
                       "batch_records = 100\n"
                       "batch_bytes = 1048576\n"
                       "timeout_ms = 5000\n"
                       "retry_max_ms = 250\n"
                       "hold_max_seconds = 0\n";
    volta_config cfg;
    vt_err err;
    assert_int_equal(load(text, &cfg, &err), VT_OK);
    assert_string_equal(cfg.ingest.landing, "/srv/landing");
    assert_string_equal(cfg.ingest.database, "grid");
    assert_false(cfg.ingest.watch);
    assert_int_equal(cfg.ingest.rescan_seconds, 30);
    assert_int_equal(cfg.nbackends, 2);
    assert_string_equal(cfg.backends[0].name, "bk");
    assert_string_equal(cfg.backends[0].type, "native");
    assert_string_equal(cfg.backends[0].path, "/srv/backup");
    assert_string_equal(cfg.backends[0].role, "backup");
    assert_int_equal(cfg.backends[0].batch_records, 512); /* defaults */
    assert_int_equal(cfg.backends[0].retry_max_ms, 5000);
    assert_int_equal(cfg.backends[0].hold_max_seconds, 7 * 86400);
    assert_string_equal(cfg.backends[1].name, "idb");
    assert_string_equal(cfg.backends[1].url, "http://10.0.0.2:8086"); /* trailing / dropped */
    assert_string_equal(cfg.backends[1].username, "u");
    assert_string_equal(cfg.backends[1].password, "p");
    assert_int_equal(cfg.backends[1].batch_records, 100);
    assert_int_equal(cfg.backends[1].batch_bytes, 1048576);
    assert_int_equal(cfg.backends[1].timeout_ms, 5000);
    assert_int_equal(cfg.backends[1].retry_max_ms, 250);
    assert_int_equal(cfg.backends[1].hold_max_seconds, 0);

    /* defaults without the sections */
    assert_int_equal(load("", &cfg, &err), VT_OK);
    assert_string_equal(cfg.ingest.landing, "");
    assert_string_equal(cfg.ingest.database, "ons");
    assert_true(cfg.ingest.watch);
    assert_int_equal(cfg.ingest.rescan_seconds, 60);
    assert_int_equal(cfg.nbackends, 0);

    /* at most CONFIG_MAX_BACKENDS */
    char many[4096] = "";
    for (int i = 0; i <= CONFIG_MAX_BACKENDS; i++) {
        char sec[128];
        snprintf(sec, sizeof sec, "[backend.b%d]\ntype = \"native\"\npath = \"/x%d\"\n", i, i);
        strcat(many, sec);
    }
    assert_int_equal(load(many, &cfg, &err), VT_ELIMIT);
    assert_non_null(strstr(err.msg, "more than 8 backends"));
}

static void test_file(void **state)
{
    char dir[] = "/tmp/volta-config-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/volta.toml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("[server]\nlisten = \"127.0.0.1:1234\"\n[engine]\nnope = 1\n", f);
    fclose(f);

    volta_config cfg;
    vt_err err;
    config_defaults(&cfg);
    vt_err_clear(&err);
    assert_int_equal(config_load_file(path, &cfg, &err), VT_EINVAL);
    char want[512];
    snprintf(want, sizeof want, "%s:4:1: unknown key 'nope' in [engine]", path);
    assert_string_equal(err.msg, want);
    assert_string_equal(cfg.listen, "127.0.0.1:1234"); /* applied before the error */

    f = fopen(path, "w");
    assert_non_null(f);
    fputs("[server]\ndata = \"/srv/volta\"\n", f);
    fclose(f);
    config_defaults(&cfg);
    assert_int_equal(config_load_file(path, &cfg, &err), VT_OK);
    assert_string_equal(cfg.data, "/srv/volta");
    unlink(path);

    assert_int_equal(config_load_file(path, &cfg, &err), VT_ENOTFOUND);
    assert_non_null(strstr(err.msg, path));
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_good_file),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_backends_and_ingest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
