/*
 * ops/export.h — streams the points of one (database, retention policy) of a node as line
 * protocol or as the runbook's JSON document, optionally gzip'ed.
 *
 * Both formats carry one record per (series, timestamp): every field the series has at that
 * time, merged.
 *
 * Line protocol: `# database: <db>` first (a comment: importers skip it), then one line per
 * point, escaped as the parser expects, with a nanosecond timestamp:
 *     cpu,host=a usage=1.5,count=3i,ok=true,msg="x" 1704067200000000000
 *
 * JSON (the DR runbook's restore format, written as a stream):
 *     {"field_types":{"cpu":{"count":"integer","usage":"float"}},
 *      "data":[
 *     {"_measurement":"cpu","_time":"2024-01-01T00:00:00Z","tag_host":"a","field_usage":1.5},
 *     ...
 *     ],"data_count":N}
 *   - "_time": RFC3339 with trimmed nanoseconds, UTC (Go's time.RFC3339Nano).
 *   - "tag_<key>": the tag value as a string; "field_<key>": the typed value: floats as JSON
 *     numbers that always hold a '.' or an exponent (1.0, not Go's 1: so a reader can tell a
 *     float from an integer), integers and unsigned integers as JSON integers, booleans, strings.
 *   - "data_count" comes after "data" because the count is known only at the end; JSON key order
 *     carries no meaning and the importer accepts either order. It always equals the number of
 *     objects in "data".
 *   - "field_types" (an addition to the runbook's shape, which an importer may ignore) gives the
 *     type of every field of the exported measurements: the importer needs it for unsigned
 *     fields, which JSON cannot tell from integers.
 * A failure after the output started leaves the document without its "data_count" (JSON) or
 * ends it with a `# export failed: <msg>` line (LP), so a truncated export is never mistaken
 * for a complete one.
 *
 * Memory: bounded, whatever the data size: per series at most EXPORT_WINDOW points per field
 * are held, and the output goes to the sink in chunks of about 64 KiB.
 *
 * Locking: series ids and metadata are copied out of the engine first; no engine lock is held
 * while the sink runs, so a slow consumer (an HTTP client) never blocks writers.
 */
#ifndef OPS_EXPORT_H
#define OPS_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "core/node.h"

typedef enum ops_format {
    OPS_FORMAT_AUTO = 0, /* import only: detected from the first byte ('{' = JSON) */
    OPS_FORMAT_LP,
    OPS_FORMAT_JSON,
} ops_format;

/* "lp" (or "line", "line-protocol") and "json"; false for anything else. */
bool ops_format_parse(const char *s, ops_format *out);

/* Points per field held in memory per series at a time. */
#define EXPORT_WINDOW 4096

typedef struct export_options {
    const char *db;                  /* required */
    const char *rp;                  /* NULL or "" = the database's default policy */
    const char *const *measurements; /* NULL/0 = every measurement */
    size_t nmeasurements;
    int64_t tmin, tmax; /* inclusive; INT64_MIN..INT64_MAX = everything */
    ops_format format;  /* LP or JSON */
    bool gzip;
} export_options;

/* Fills o: every measurement and time, LP, no gzip (db still to set). */
void export_options_default(export_options *o);

/* Receives the output; returns false to stop (the consumer is gone): export_run then fails
 * with VT_EIO. */
typedef bool (*export_sink)(void *ctx, const uint8_t *data, size_t len);

typedef struct export_stats {
    uint64_t points; /* records written (LP lines / JSON objects) */
    uint64_t series;
    uint64_t bytes; /* handed to the sink (compressed when gzip) */
} export_stats;

/* Parses a time for --start/--end and start=/end=: an integer (ns since the epoch) or RFC3339
 * ("2024-01-01T00:00:00Z", with optional fraction/offset) or a date "2024-01-01". */
vt_rc export_parse_time(const char *s, int64_t *out, vt_err *err);

/* Streams the export of o->db (policy o->rp) of n to sink. VT_ENOTFOUND "database not found"
 * / "retention policy not found" before anything is written; VT_EIO when the sink refuses;
 * VT_ECORRUPT (naming file and block) when a read meets a corrupt block. st may be NULL. */
vt_rc export_run(node *n, const export_options *o, export_sink sink, void *ctx, export_stats *st,
                 vt_err *err);

#endif
