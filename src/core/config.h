/*
 * core/config.h — `volta serve --config <file>`: a TOML subset filling the node and server options.
 *
 * Syntax (a strict subset of TOML):
 *     # comment                     (also after a value)
 *     [section]                     one of server, journal, engine
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

typedef struct volta_config {
    /* [server] */
    char listen[CONFIG_LISTEN_MAX]; /* "host:port", "[v6]:port"; default 127.0.0.1:8086 */
    char data[CONFIG_PATH_MAX];     /* data directory; default ./volta-data */
    size_t max_body_bytes;          /* default 32 MiB (after gunzip too) */
    unsigned threads;               /* HTTP worker threads; 0 = number of CPUs (default) */
    /* [journal] and [engine] */
    node_options node;
} volta_config;

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
