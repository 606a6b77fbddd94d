/*
 * core/config.h — `volta serve --config <file>`: a TOML subset filling the node and server options.
 *
 * Syntax (a strict subset of TOML):
 *     # comment                     (also after a value)
 *     [section]                     one of server, journal, engine, ingest, ask, backend.<name>
 *     key = "string"                basic string: \" \\ \n \t \r escapes
 *     key = 123                     decimal integer; '_' allowed between digits (1_048_576)
 *     key = true | false
 * Unknown sections and keys, duplicate keys, wrong value types and out-of-range values are errors;
 * every error names file:line:column. The keys and their defaults are listed in docs/CONFIG.md.
 */
#ifndef CORE_CONFIG_H
#define CORE_CONFIG_H

#include <stddef.h>

#include "common/error.h"
#include "core/node.h"

#define CONFIG_LISTEN_MAX 256
#define CONFIG_PATH_MAX 4096

#define CONFIG_MAX_BACKENDS 8
#define CONFIG_NAME_MAX 64

/* [backend.<name>]: a backend the journal is replicated to (the primary is the node itself). */
typedef struct config_backend {
    char name[CONFIG_NAME_MAX];
    char type[16];          /* "native" (an engine in its own data directory) | "influx" */
    char role[16];          /* "backup" (default) */
    char path[CONFIG_PATH_MAX]; /* native: its data directory */
    char url[1024];         /* influx: "http://host:port" */
    char username[128], password[256], token[512];
    unsigned batch_records; /* most records per apply; default 512 */
    size_t batch_bytes;     /* most payload bytes per apply; default 8 MiB */
    unsigned timeout_ms;    /* influx: per request; default 30000 */
    unsigned retry_max_ms;  /* longest wait between retries; default 5000 */
    uint64_t hold_max_seconds; /* how long the journal is kept for it when it is down before it
                                  is released and the backend marked "needs resync"; default 7
                                  days; 0 = for ever */
} config_backend;

/* [ingest]: the landing zone. */
typedef struct config_ingest {
    char landing[CONFIG_PATH_MAX]; /* default <data>/landing ("" in the struct = that default) */
    char database[CONFIG_NAME_MAX]; /* default "ons" */
    bool watch;                 /* watch it (inotify + rescan); default true */
    unsigned rescan_seconds;    /* safety-net rescan period; default 60 */
} config_ingest;

/* [ask]: questions in plain language (docs/ASK.md). Phrasing by a language model is off while
 * url is "". */
typedef struct config_ask {
    char docs[CONFIG_PATH_MAX]; /* docs directory of operational questions; "" = found near the
                                   executable (ask_docs_dir) */
    char url[1024];             /* OpenAI-compatible endpoint, "http(s)://host[:port]"; "" = off */
    char model[256];            /* required with url */
    char api_key[512];          /* "" = $VOLTA_LLM_API_KEY, else no Authorization header */
    unsigned timeout_ms;        /* the whole request; default 10000 */
} config_ask;

typedef struct volta_config {
    /* [server] */
    char listen[CONFIG_LISTEN_MAX]; /* "host:port", "[v6]:port"; default 127.0.0.1:8086 */
    char data[CONFIG_PATH_MAX];     /* data directory; default ./volta-data */
    size_t max_body_bytes;          /* default 32 MiB (after gunzip too) */
    unsigned threads;               /* HTTP worker threads; 0 = number of CPUs (default) */
    char read_backup[CONFIG_NAME_MAX]; /* the backend reads go to when the read_backend flag is
                                          "backup"; "" = the first [backend.<name>] */
    /* [journal] and [engine] */
    node_options node;
    config_ingest ingest;
    config_ask ask;
    config_backend backends[CONFIG_MAX_BACKENDS];
    size_t nbackends;
} volta_config;

/* What single keys cannot check (a backend's type and its path or url); config_load_* call it.
 * name prefixes the message. */
vt_rc config_check(const volta_config *cfg, const char *name, vt_err *err);

/* Fills b with a backend's defaults (name, type and url/path left empty). */
void config_backend_defaults(config_backend *b);

/* Fills cfg with the defaults (node_options_default for the node part). */
void config_defaults(volta_config *cfg);

/* Applies the settings of the file at path over cfg (call config_defaults first). Errors are
 * VT_EPARSE / VT_EINVAL naming "path:line:column", or VT_EIO / VT_ENOTFOUND when the file cannot
 * be read. On error cfg may be partly updated. */
vt_rc config_load_file(const char *path, volta_config *cfg, vt_err *err);

/* Same over text in memory; name is used in error messages (file name). */
vt_rc config_load_string(const char *name, const char *text, size_t len, volta_config *cfg,
                         vt_err *err);

#endif
