/*
 * core/config.c — the TOML-subset reader for volta.toml.
 *
 * NOTES ON THE DESIGN
 *  1. The text is read line by line; a line is blank, a comment, a "[section]" header or a
 *     "key = value" pair, each optionally followed by a "# comment". Nothing spans lines.
 *  2. Keys are looked up in one static table (section, key, kind, range, setter), so the table
 *     is the list of keys docs/CONFIG.md documents. A key seen twice is an error (TOML's rule).
 *  3. Positions are 1-based byte columns, pointing at the offending token: the key for unknown
 *     or duplicate keys, the value for type and range errors.
 */
#include "core/config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_FILE_MAX (1u << 20)
#define CONFIG_VALUE_MAX 4096

typedef enum cfg_kind { CFG_STRING, CFG_INT, CFG_BOOL } cfg_kind;

typedef struct cfg_value {
    cfg_kind kind;
    char str[CONFIG_VALUE_MAX];
    uint64_t num;
    bool neg;
    bool b;
} cfg_value;

/* Setters return NULL when fine, or the reason the value is refused. */
typedef const char *(*cfg_setter)(volta_config *cfg, const cfg_value *v);

typedef struct cfg_key {
    const char *section;
    const char *key;
    cfg_kind kind;
    uint64_t min, max; /* for CFG_INT */
    cfg_setter set;
} cfg_key;

static const char *set_listen(volta_config *cfg, const cfg_value *v)
{
    if (v->str[0] == '\0')
        return "must not be empty";
    if (strlen(v->str) >= sizeof cfg->listen)
        return "is too long";
    snprintf(cfg->listen, sizeof cfg->listen, "%s", v->str);
    return NULL;
}

static const char *set_data(volta_config *cfg, const cfg_value *v)
{
    if (v->str[0] == '\0')
        return "must not be empty";
    if (strlen(v->str) >= sizeof cfg->data)
        return "is too long";
    snprintf(cfg->data, sizeof cfg->data, "%s", v->str);
    return NULL;
}

static const char *set_max_body(volta_config *cfg, const cfg_value *v)
{
    cfg->max_body_bytes = (size_t)v->num;
    cfg->node.limits.max_body_bytes = (size_t)v->num;
    return NULL;
}

static const char *set_threads(volta_config *cfg, const cfg_value *v)
{
    cfg->threads = (unsigned)v->num;
    return NULL;
}

static const char *set_fsync(volta_config *cfg, const cfg_value *v)
{
    if (strcmp(v->str, "always") == 0)
        cfg->node.journal.fsync = JOURNAL_FSYNC_ALWAYS;
    else if (strcmp(v->str, "interval") == 0)
        cfg->node.journal.fsync = JOURNAL_FSYNC_INTERVAL;
    else if (strcmp(v->str, "never") == 0)
        cfg->node.journal.fsync = JOURNAL_FSYNC_NEVER;
    else
        return "must be \"always\", \"interval\" or \"never\"";
    return NULL;
}

static const char *set_fsync_interval(volta_config *cfg, const cfg_value *v)
{
    cfg->node.journal.interval_ms = (unsigned)v->num;
    return NULL;
}

static const char *set_segment_bytes(volta_config *cfg, const cfg_value *v)
{
    cfg->node.journal.segment_bytes = v->num;
    return NULL;
}

static const char *set_journal_trim(volta_config *cfg, const cfg_value *v)
{
    cfg->node.journal_trim = v->b;
    return NULL;
}

static const char *set_memtable_bytes(volta_config *cfg, const cfg_value *v)
{
    cfg->node.engine.memtable_bytes = (size_t)v->num;
    return NULL;
}

static const char *set_memtable_max_bytes(volta_config *cfg, const cfg_value *v)
{
    cfg->node.engine.memtable_max_bytes = (size_t)v->num;
    return NULL;
}

static const char *set_compact_cold(volta_config *cfg, const cfg_value *v)
{
    cfg->node.engine.compact_cold_ms = (unsigned)v->num * 1000u;
    return NULL;
}

static const char *set_flush_cold(volta_config *cfg, const cfg_value *v)
{
    cfg->node.engine.flush_cold_ms = (unsigned)v->num * 1000u;
    return NULL;
}

static const char *set_compact_trigger(volta_config *cfg, const cfg_value *v)
{
    cfg->node.engine.compact_trigger = (unsigned)v->num;
    return NULL;
}

static const char *set_background_nice(volta_config *cfg, const cfg_value *v)
{
    cfg->node.engine.background_nice = (int)v->num;
    return NULL;
}

static const char *set_block_points(volta_config *cfg, const cfg_value *v)
{
    cfg->node.engine.block_points = (size_t)v->num;
    return NULL;
}

static const char *set_ingest_landing(volta_config *cfg, const cfg_value *v)
{
    if (strlen(v->str) >= sizeof cfg->ingest.landing)
        return "is too long";
    snprintf(cfg->ingest.landing, sizeof cfg->ingest.landing, "%s", v->str);
    return NULL;
}

static const char *set_ingest_database(volta_config *cfg, const cfg_value *v)
{
    if (v->str[0] == '\0')
        return "must not be empty";
    if (strlen(v->str) >= sizeof cfg->ingest.database)
        return "is too long";
    snprintf(cfg->ingest.database, sizeof cfg->ingest.database, "%s", v->str);
    return NULL;
}

static const char *set_ingest_watch(volta_config *cfg, const cfg_value *v)
{
    cfg->ingest.watch = v->b;
    return NULL;
}

static const char *set_ingest_rescan(volta_config *cfg, const cfg_value *v)
{
    cfg->ingest.rescan_seconds = (unsigned)v->num;
    return NULL;
}

/* The backend of the current [backend.<name>] section (always the last one added). */
static config_backend *cur_backend(volta_config *cfg)
{
    return &cfg->backends[cfg->nbackends - 1];
}

static const char *set_be_type(volta_config *cfg, const cfg_value *v)
{
    if (strcmp(v->str, "native") != 0 && strcmp(v->str, "influx") != 0)
        return "must be \"native\" or \"influx\"";
    snprintf(cur_backend(cfg)->type, sizeof cur_backend(cfg)->type, "%s", v->str);
    return NULL;
}

static const char *set_be_role(volta_config *cfg, const cfg_value *v)
{
    if (strcmp(v->str, "backup") != 0)
        return "must be \"backup\" (the primary is the server's own engine)";
    snprintf(cur_backend(cfg)->role, sizeof cur_backend(cfg)->role, "%s", v->str);
    return NULL;
}

#define BE_STRING_SETTER(fn, field)                                                             \
    static const char *fn(volta_config *cfg, const cfg_value *v)                               \
    {                                                                                          \
        config_backend *b = cur_backend(cfg);                                                  \
        if (strlen(v->str) >= sizeof b->field)                                                 \
            return "is too long";                                                              \
        snprintf(b->field, sizeof b->field, "%s", v->str);                                     \
        return NULL;                                                                           \
    }
BE_STRING_SETTER(set_be_path, path)
BE_STRING_SETTER(set_be_username, username)
BE_STRING_SETTER(set_be_password, password)
BE_STRING_SETTER(set_be_token, token)

static const char *set_be_url(volta_config *cfg, const cfg_value *v)
{
    if (strncmp(v->str, "http://", 7) != 0 && strncmp(v->str, "https://", 8) != 0)
        return "must start with http:// or https://";
    config_backend *b = cur_backend(cfg);
    if (strlen(v->str) >= sizeof b->url)
        return "is too long";
    snprintf(b->url, sizeof b->url, "%s", v->str);
    size_t n = strlen(b->url);
    while (n > 0 && b->url[n - 1] == '/')
        b->url[--n] = '\0';
    return NULL;
}

static const char *set_be_batch_records(volta_config *cfg, const cfg_value *v)
{
    cur_backend(cfg)->batch_records = (unsigned)v->num;
    return NULL;
}

static const char *set_be_batch_bytes(volta_config *cfg, const cfg_value *v)
{
    cur_backend(cfg)->batch_bytes = (size_t)v->num;
    return NULL;
}

static const char *set_be_timeout(volta_config *cfg, const cfg_value *v)
{
    cur_backend(cfg)->timeout_ms = (unsigned)v->num;
    return NULL;
}

static const char *set_be_retry_max(volta_config *cfg, const cfg_value *v)
{
    cur_backend(cfg)->retry_max_ms = (unsigned)v->num;
    return NULL;
}

static const char *set_be_hold_max(volta_config *cfg, const cfg_value *v)
{
    cur_backend(cfg)->hold_max_seconds = v->num;
    return NULL;
}

#define KIB 1024ull
#define MIB (1024ull * 1024ull)
#define GIB (1024ull * 1024ull * 1024ull)

static const char *set_read_backup(volta_config *cfg, const cfg_value *v)
{
    if (strlen(v->str) >= sizeof cfg->read_backup)
        return "is too long";
    snprintf(cfg->read_backup, sizeof cfg->read_backup, "%s", v->str);
    return NULL;
}

#define ASK_STRING_SETTER(fn, field)                                                            \
    static const char *fn(volta_config *cfg, const cfg_value *v)                               \
    {                                                                                          \
        if (strlen(v->str) >= sizeof cfg->ask.field)                                           \
            return "is too long";                                                              \
        snprintf(cfg->ask.field, sizeof cfg->ask.field, "%s", v->str);                         \
        return NULL;                                                                           \
    }
ASK_STRING_SETTER(set_ask_docs, docs)
ASK_STRING_SETTER(set_ask_model, model)
ASK_STRING_SETTER(set_ask_api_key, api_key)

static const char *set_ask_url(volta_config *cfg, const cfg_value *v)
{
    if (v->str[0] && strncmp(v->str, "http://", 7) != 0 && strncmp(v->str, "https://", 8) != 0)
        return "must start with http:// or https:// (or be \"\": off)";
    if (strlen(v->str) >= sizeof cfg->ask.url)
        return "is too long";
    snprintf(cfg->ask.url, sizeof cfg->ask.url, "%s", v->str);
    return NULL;
}

static const char *set_ask_timeout(volta_config *cfg, const cfg_value *v)
{
    cfg->ask.timeout_ms = (unsigned)v->num;
    return NULL;
}

static const cfg_key cfg_keys[] = {
    {"server", "listen", CFG_STRING, 0, 0, set_listen},
    {"server", "data", CFG_STRING, 0, 0, set_data},
    {"server", "max_body_bytes", CFG_INT, 1, 4 * GIB, set_max_body},
    {"server", "threads", CFG_INT, 0, 1024, set_threads},
    {"server", "read_backup", CFG_STRING, 0, 0, set_read_backup},
    {"journal", "fsync", CFG_STRING, 0, 0, set_fsync},
    {"journal", "fsync_interval_ms", CFG_INT, 1, 3600000, set_fsync_interval},
    {"journal", "segment_bytes", CFG_INT, 4 * KIB, 64 * GIB, set_segment_bytes},
    {"journal", "trim", CFG_BOOL, 0, 0, set_journal_trim},
    {"engine", "memtable_bytes", CFG_INT, 4 * KIB, 64 * GIB, set_memtable_bytes},
    {"engine", "memtable_max_bytes", CFG_INT, 4 * KIB, 64 * GIB, set_memtable_max_bytes},
    {"engine", "compact_trigger", CFG_INT, 2, 1000, set_compact_trigger},
    {"engine", "compact_cold_seconds", CFG_INT, 0, 604800, set_compact_cold},
    {"engine", "flush_cold_seconds", CFG_INT, 0, 604800, set_flush_cold},
    {"engine", "block_points", CFG_INT, 1, 1000000, set_block_points},
    {"engine", "background_nice", CFG_INT, 0, 19, set_background_nice},
    {"ingest", "landing", CFG_STRING, 0, 0, set_ingest_landing},
    {"ingest", "database", CFG_STRING, 0, 0, set_ingest_database},
    {"ingest", "watch", CFG_BOOL, 0, 0, set_ingest_watch},
    {"ingest", "rescan_seconds", CFG_INT, 1, 86400, set_ingest_rescan},
    {"ask", "docs", CFG_STRING, 0, 0, set_ask_docs},
    {"ask", "url", CFG_STRING, 0, 0, set_ask_url},
    {"ask", "model", CFG_STRING, 0, 0, set_ask_model},
    {"ask", "api_key", CFG_STRING, 0, 0, set_ask_api_key},
    {"ask", "timeout_ms", CFG_INT, 100, 600000, set_ask_timeout},
    /* [backend.<name>]: "backend" rows; their seen flags are reset at each new backend */
    {"backend", "type", CFG_STRING, 0, 0, set_be_type},
    {"backend", "role", CFG_STRING, 0, 0, set_be_role},
    {"backend", "path", CFG_STRING, 0, 0, set_be_path},
    {"backend", "url", CFG_STRING, 0, 0, set_be_url},
    {"backend", "username", CFG_STRING, 0, 0, set_be_username},
    {"backend", "password", CFG_STRING, 0, 0, set_be_password},
    {"backend", "token", CFG_STRING, 0, 0, set_be_token},
    {"backend", "batch_records", CFG_INT, 1, 1000000, set_be_batch_records},
    {"backend", "batch_bytes", CFG_INT, 64 * KIB, 1 * GIB, set_be_batch_bytes},
    {"backend", "timeout_ms", CFG_INT, 100, 3600000, set_be_timeout},
    {"backend", "retry_max_ms", CFG_INT, 10, 3600000, set_be_retry_max},
    {"backend", "hold_max_seconds", CFG_INT, 0, 10ull * 365 * 86400, set_be_hold_max},
};
#define CFG_NKEYS (sizeof cfg_keys / sizeof cfg_keys[0])

static const char *cfg_kind_name(cfg_kind k)
{
    switch (k) {
    case CFG_STRING: return "a string";
    case CFG_INT: return "an integer";
    case CFG_BOOL: return "a boolean";
    }
    return "?";
}

void config_defaults(volta_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->listen, sizeof cfg->listen, "127.0.0.1:8086");
    snprintf(cfg->data, sizeof cfg->data, "./volta-data");
    cfg->max_body_bytes = 32u * 1024u * 1024u;
    cfg->threads = 0;
    node_options_default(&cfg->node);
    snprintf(cfg->ingest.database, sizeof cfg->ingest.database, "ons");
    cfg->ingest.watch = true;
    cfg->ingest.rescan_seconds = 60;
    cfg->ask.timeout_ms = 10000;
}

void config_backend_defaults(config_backend *b)
{
    memset(b, 0, sizeof *b);
    snprintf(b->role, sizeof b->role, "backup");
    b->batch_records = 512;
    b->batch_bytes = 8u << 20;
    b->timeout_ms = 30000;
    b->retry_max_ms = 5000;
    b->hold_max_seconds = 7u * 86400u;
}

/* Checks what a key alone cannot: a backend has a type, and the path or url its type needs. */
vt_rc config_check(const volta_config *cfg, const char *name, vt_err *err)
{
    for (size_t i = 0; i < cfg->nbackends; i++) {
        const config_backend *b = &cfg->backends[i];
        if (!b->type[0])
            return vt_err_set(err, VT_EINVAL, "%s: [backend.%s] needs type = \"native\" or "
                              "\"influx\"", name, b->name);
        if (strcmp(b->type, "native") == 0 && !b->path[0])
            return vt_err_set(err, VT_EINVAL, "%s: [backend.%s] (native) needs path = "
                              "\"<data directory>\"", name, b->name);
        if (strcmp(b->type, "influx") == 0 && !b->url[0])
            return vt_err_set(err, VT_EINVAL, "%s: [backend.%s] (influx) needs url = "
                              "\"http://host:port\"", name, b->name);
    }
    if (cfg->ask.url[0] && !cfg->ask.model[0])
        return vt_err_set(err, VT_EINVAL, "%s: [ask] url = \"%s\" needs model = \"<model name>\"",
                          name, cfg->ask.url);
    if (cfg->read_backup[0]) {
        bool found = false;
        for (size_t i = 0; i < cfg->nbackends; i++)
            found = found || strcmp(cfg->backends[i].name, cfg->read_backup) == 0;
        if (!found)
            return vt_err_set(err, VT_EINVAL, "%s: [server] read_backup = \"%s\" names no "
                              "[backend.<name>] section", name, cfg->read_backup);
    }
    return VT_OK;
}

/* ---- the reader ---- */

typedef struct cfg_parser {
    const char *name;
    const char *p;   /* cursor */
    const char *eol; /* end of the current line (excluding '\n' / "\r\n") */
    const char *bol; /* start of the current line */
    size_t line;
    char section[64];
    bool seen[CFG_NKEYS];
    volta_config *cfg;
    vt_err *err;
} cfg_parser;

__attribute__((format(printf, 4, 5))) static vt_rc cfg_fail(cfg_parser *ps, vt_rc rc,
                                                            const char *at, const char *fmt, ...)
{
    char msg[VT_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t col = (size_t)(at - ps->bol) + 1;
    return vt_err_set(ps->err, rc, "%s:%zu:%zu: %s", ps->name, ps->line, col, msg);
}

static void cfg_skip_ws(cfg_parser *ps)
{
    while (ps->p < ps->eol && (*ps->p == ' ' || *ps->p == '\t'))
        ps->p++;
}

/* After a header or value: only blanks and an optional comment may follow. */
static vt_rc cfg_expect_eol(cfg_parser *ps)
{
    cfg_skip_ws(ps);
    if (ps->p < ps->eol && *ps->p != '#')
        return cfg_fail(ps, VT_EPARSE, ps->p, "unexpected '%c' after the value", *ps->p);
    return VT_OK;
}

static bool cfg_is_bare(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* [backend.<name>]: starts a new backend (names are unique). */
static vt_rc cfg_backend_section(cfg_parser *ps, const char *name, size_t n)
{
    volta_config *cfg = ps->cfg;
    if (n >= CONFIG_NAME_MAX)
        return cfg_fail(ps, VT_EINVAL, name, "backend name longer than %d bytes",
                        CONFIG_NAME_MAX - 1);
    if (memchr(name, '.', n))
        return cfg_fail(ps, VT_EINVAL, name, "backend name must not contain '.'");
    if (n == 7 && memcmp(name, "primary", 7) == 0)
        return cfg_fail(ps, VT_EINVAL, name, "\"primary\" is the server's own engine; name "
                                             "backup backends otherwise");
    for (size_t i = 0; i < cfg->nbackends; i++)
        if (strlen(cfg->backends[i].name) == n && memcmp(cfg->backends[i].name, name, n) == 0)
            return cfg_fail(ps, VT_EINVAL, name, "duplicate section [backend.%.*s]", (int)n,
                            name);
    if (cfg->nbackends == CONFIG_MAX_BACKENDS)
        return cfg_fail(ps, VT_ELIMIT, name, "more than %d backends", CONFIG_MAX_BACKENDS);
    config_backend *b = &cfg->backends[cfg->nbackends++];
    config_backend_defaults(b);
    memcpy(b->name, name, n);
    b->name[n] = '\0';
    for (size_t i = 0; i < CFG_NKEYS; i++)
        if (strcmp(cfg_keys[i].section, "backend") == 0)
            ps->seen[i] = false;
    snprintf(ps->section, sizeof ps->section, "backend");
    return cfg_expect_eol(ps);
}

static vt_rc cfg_section(cfg_parser *ps)
{
    ps->p++; /* '[' */
    cfg_skip_ws(ps);
    const char *start = ps->p;
    while (ps->p < ps->eol && (cfg_is_bare(*ps->p) || *ps->p == '.'))
        ps->p++;
    size_t n = (size_t)(ps->p - start);
    if (n == 0)
        return cfg_fail(ps, VT_EPARSE, ps->p, "expected a section name after '['");
    cfg_skip_ws(ps);
    if (ps->p >= ps->eol || *ps->p != ']')
        return cfg_fail(ps, VT_EPARSE, ps->p, "expected ']' to close the section header");
    ps->p++;
    static const char *const sections[] = {"server", "journal", "engine", "ingest", "ask"};
    bool known = false;
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
        if (strlen(sections[i]) == n && memcmp(sections[i], start, n) == 0)
            known = true;
    if (n > 8 && memcmp(start, "backend.", 8) == 0)
        return cfg_backend_section(ps, start + 8, n - 8);
    if (!known)
        return cfg_fail(ps, VT_EINVAL, start,
                        "unknown section [%.*s] (known: server, journal, engine, ingest, ask, "
                        "backend.<name>)", (int)n, start);
    memcpy(ps->section, start, n);
    ps->section[n] = '\0';
    return cfg_expect_eol(ps);
}

static vt_rc cfg_string(cfg_parser *ps, cfg_value *v)
{
    const char *open = ps->p;
    ps->p++; /* '"' */
    size_t n = 0;
    for (;;) {
        if (ps->p >= ps->eol)
            return cfg_fail(ps, VT_EPARSE, open, "unterminated string");
        char c = *ps->p;
        if (c == '"') {
            ps->p++;
            break;
        }
        if (c == '\\') {
            if (ps->p + 1 >= ps->eol)
                return cfg_fail(ps, VT_EPARSE, open, "unterminated string");
            char e = ps->p[1];
            switch (e) {
            case '"':
            case '\\': c = e; break;
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            default: return cfg_fail(ps, VT_EPARSE, ps->p, "unknown escape '\\%c' in string", e);
            }
            ps->p += 2;
        } else {
            if ((unsigned char)c < 0x20 && c != '\t')
                return cfg_fail(ps, VT_EPARSE, ps->p, "control character in string");
            ps->p++;
        }
        if (n + 1 >= sizeof v->str)
            return cfg_fail(ps, VT_ELIMIT, open, "string longer than %zu bytes", sizeof v->str - 1);
        v->str[n++] = c;
    }
    v->str[n] = '\0';
    v->kind = CFG_STRING;
    return VT_OK;
}

static vt_rc cfg_integer(cfg_parser *ps, cfg_value *v)
{
    const char *start = ps->p;
    v->neg = false;
    if (*ps->p == '+' || *ps->p == '-') {
        v->neg = *ps->p == '-';
        ps->p++;
    }
    uint64_t num = 0;
    size_t digits = 0;
    bool last_us = false;
    while (ps->p < ps->eol && ((*ps->p >= '0' && *ps->p <= '9') || *ps->p == '_')) {
        if (*ps->p == '_') {
            if (digits == 0 || last_us)
                return cfg_fail(ps, VT_EPARSE, ps->p, "'_' must stand between digits");
            last_us = true;
            ps->p++;
            continue;
        }
        unsigned d = (unsigned)(*ps->p - '0');
        if (num > (UINT64_MAX - d) / 10)
            return cfg_fail(ps, VT_ELIMIT, start, "integer too large");
        num = num * 10 + d;
        digits++;
        last_us = false;
        ps->p++;
    }
    if (digits == 0 || last_us)
        return cfg_fail(ps, VT_EPARSE, start, "invalid integer");
    if (ps->p < ps->eol && cfg_is_bare(*ps->p))
        return cfg_fail(ps, VT_EPARSE, start,
                        "invalid value: expected a quoted string, an integer, true or false");
    v->num = num;
    v->kind = CFG_INT;
    return VT_OK;
}

static vt_rc cfg_value_parse(cfg_parser *ps, cfg_value *v)
{
    if (ps->p >= ps->eol || *ps->p == '#')
        return cfg_fail(ps, VT_EPARSE, ps->p, "expected a value after '='");
    char c = *ps->p;
    if (c == '"')
        return cfg_string(ps, v);
    if ((c >= '0' && c <= '9') || c == '+' || c == '-')
        return cfg_integer(ps, v);
    const char *start = ps->p;
    while (ps->p < ps->eol && cfg_is_bare(*ps->p))
        ps->p++;
    size_t n = (size_t)(ps->p - start);
    if (n == 4 && memcmp(start, "true", 4) == 0) {
        v->kind = CFG_BOOL;
        v->b = true;
        return VT_OK;
    }
    if (n == 5 && memcmp(start, "false", 5) == 0) {
        v->kind = CFG_BOOL;
        v->b = false;
        return VT_OK;
    }
    return cfg_fail(ps, VT_EPARSE, start,
                    "invalid value: expected a quoted string, an integer, true or false");
}

static vt_rc cfg_pair(cfg_parser *ps)
{
    const char *kstart = ps->p;
    while (ps->p < ps->eol && cfg_is_bare(*ps->p))
        ps->p++;
    size_t klen = (size_t)(ps->p - kstart);
    if (klen == 0)
        return cfg_fail(ps, VT_EPARSE, kstart, "expected a key, a [section] or a comment");
    cfg_skip_ws(ps);
    if (ps->p >= ps->eol || *ps->p != '=')
        return cfg_fail(ps, VT_EPARSE, ps->p, "expected '=' after key '%.*s'", (int)klen, kstart);
    ps->p++;
    cfg_skip_ws(ps);
    const char *vstart = ps->p;
    cfg_value *v = malloc(sizeof *v);
    if (!v)
        return vt_err_set(ps->err, VT_ENOMEM, "out of memory");
    vt_rc rc = cfg_value_parse(ps, v);
    if (rc != VT_OK)
        goto cleanup;
    rc = cfg_expect_eol(ps);
    if (rc != VT_OK)
        goto cleanup;

    if (ps->section[0] == '\0') {
        rc = cfg_fail(ps, VT_EINVAL, kstart,
                      "key '%.*s' outside a section ([server], [journal], [engine], ...)", (int)klen,
                      kstart);
        goto cleanup;
    }
    size_t idx = CFG_NKEYS;
    for (size_t i = 0; i < CFG_NKEYS; i++)
        if (strcmp(cfg_keys[i].section, ps->section) == 0 && strlen(cfg_keys[i].key) == klen &&
            memcmp(cfg_keys[i].key, kstart, klen) == 0)
            idx = i;
    if (idx == CFG_NKEYS) {
        rc = cfg_fail(ps, VT_EINVAL, kstart, "unknown key '%.*s' in [%s]", (int)klen, kstart,
                      ps->section);
        goto cleanup;
    }
    const cfg_key *k = &cfg_keys[idx];
    if (ps->seen[idx]) {
        rc = cfg_fail(ps, VT_EINVAL, kstart, "duplicate key '%s' in [%s]", k->key, k->section);
        goto cleanup;
    }
    ps->seen[idx] = true;
    if (v->kind != k->kind) {
        rc = cfg_fail(ps, VT_EINVAL, vstart, "%s.%s must be %s", k->section, k->key,
                      cfg_kind_name(k->kind));
        goto cleanup;
    }
    bool out_of_range = (v->neg && v->num != 0) || v->num < k->min || v->num > k->max;
    if (k->kind == CFG_INT && out_of_range) {
        rc = cfg_fail(ps, VT_EINVAL, vstart,
                      "%s.%s = %s%" PRIu64 " is out of range (%" PRIu64 "..%" PRIu64 ")",
                      k->section, k->key, v->neg ? "-" : "", v->num, k->min, k->max);
        goto cleanup;
    }
    const char *why = k->set(ps->cfg, v);
    if (why)
        rc = cfg_fail(ps, VT_EINVAL, vstart, "%s.%s %s", k->section, k->key, why);
cleanup:
    free(v);
    return rc;
}

vt_rc config_load_string(const char *name, const char *text, size_t len, volta_config *cfg,
                         vt_err *err)
{
    cfg_parser ps;
    memset(&ps, 0, sizeof ps);
    ps.name = name;
    ps.cfg = cfg;
    ps.err = err;
    const char *end = text + len;
    const char *bol = text;
    while (bol < end) {
        size_t left = (size_t)(end - bol);
        const char *nl = memchr(bol, '\n', left);
        size_t linelen = nl ? (size_t)(nl - bol) : left;
        const char *next = nl ? nl + 1 : end;
        if (linelen > 0 && bol[linelen - 1] == '\r')
            linelen--;
        const char *eol = bol + linelen;
        ps.line++;
        ps.bol = bol;
        ps.eol = eol;
        ps.p = bol;
        const char *nul = memchr(bol, '\0', linelen);
        if (nul)
            return cfg_fail(&ps, VT_EPARSE, nul, "NUL byte in the file");
        cfg_skip_ws(&ps);
        vt_rc rc = VT_OK;
        if (ps.p < ps.eol && *ps.p != '#') {
            if (*ps.p == '[')
                rc = cfg_section(&ps);
            else
                rc = cfg_pair(&ps);
        }
        if (rc != VT_OK)
            return rc;
        bol = next;
    }
    return config_check(cfg, name, err);
}

vt_rc config_load_file(const char *path, volta_config *cfg, vt_err *err)
{
    vt_rc rc = VT_OK;
    char *text = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return vt_err_set(err, errno == ENOENT ? VT_ENOTFOUND : VT_EIO, "%s: %s", path,
                          strerror(errno));
    text = malloc(CONFIG_FILE_MAX + 1);
    if (!text) {
        rc = vt_err_set(err, VT_ENOMEM, "%s: out of memory", path);
        goto cleanup;
    }
    size_t n = fread(text, 1, CONFIG_FILE_MAX + 1, f);
    if (ferror(f)) {
        rc = vt_err_set(err, VT_EIO, "%s: read failed: %s", path, strerror(errno));
        goto cleanup;
    }
    if (n > CONFIG_FILE_MAX) {
        rc = vt_err_set(err, VT_ELIMIT, "%s: larger than %u bytes", path, CONFIG_FILE_MAX);
        goto cleanup;
    }
    rc = config_load_string(path, text, n, cfg, err);
cleanup:
    free(text);
    fclose(f);
    return rc;
}
