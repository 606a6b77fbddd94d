/*
 * ops/check.h — `volta check`: the runbook's corruption and gap detection (DR-RUNBOOK §4), done
 * over the real data: checksums of every file, duplicate timestamps, missing/zero values, points
 * per hour against the ingest ledger, and primary vs backup backends. docs/CHECK.md describes
 * each check exactly (what it reads, thresholds, what counts as a failure).
 *
 * Each check fills a check_result: name (the runbook's Portuguese name), status PASS | FAIL |
 * ERROR (could not run), one line of details and the items found (corrupt files and blocks,
 * divergent series and hours...), at most CHECK_MAX_ITEMS of them kept (items_total counts all).
 *
 * The same functions run offline (`volta check --data DIR`, the node opened by the command) and
 * online (POST /api/v1/check on the server's live node): see check_options.online.
 */
#ifndef OPS_CHECK_H
#define OPS_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "core/node.h"
#include "engine/segment.h"

struct meta;
struct backend;

typedef enum check_status { CHECK_PASS = 0, CHECK_FAIL, CHECK_ERROR } check_status;

/* Bits of check_options.checks, in the order the report lists them. */
enum {
    CHECK_CHECKSUMS = 1u << 0,   /* "checksums" */
    CHECK_DUPLICATES = 1u << 1,  /* "timestamps_duplicados" */
    CHECK_NULLS = 1u << 2,       /* "valores_nulos" */
    CHECK_CONSISTENCY = 1u << 3, /* "consistencia_dados" */
    CHECK_BACKENDS = 1u << 4,    /* "backends_consistentes" */
    CHECK_ALL = 0x1f,
};
#define CHECK_COUNT 5
#define CHECK_MAX_ITEMS 1000
#define CHECK_MAX_FIELDS 16
#define CHECK_TEXT_ITEMS 20 /* items printed per check in the text report */

typedef struct check_result {
    const char *name; /* static */
    check_status status;
    char details[1024];
    char **items; /* malloc'ed strings, owned by the result */
    size_t nitems, items_cap;
    uint64_t items_total; /* items found, including those not kept */
} check_result;

typedef struct check_options {
    node *node;             /* the primary (required by every check but checksums) */
    struct meta *meta;      /* the ledger (consistencia_dados); NULL = none */
    const char *data_dir;   /* <data>: journal/ and engine/ under it (checksums, duplicates) */
    bool online;            /* the directory is live: tolerate the append in progress (CHECK.md) */
    const char *db;         /* default "ons" */
    int64_t start, end;     /* window, inclusive, ns; INT64_MIN / INT64_MAX = unbounded */
    uint64_t tolerance;     /* valores_nulos fails above this many bad values; default 100 */
    double ratio;           /* consistencia_dados fails below this; default 0.9 */
    /* valores_nulos: "measurement.field" whose missing hours and NaN count; default
     * generation.value, load.value, interchange.value */
    const char *required[CHECK_MAX_FIELDS];
    size_t nrequired;
    /* of those, the ones where a value of exactly 0 also counts; default load.value */
    const char *zero_fields[CHECK_MAX_FIELDS];
    size_t nzero;
    /* backends_consistentes: the backups to compare with the primary, and their names */
    struct backend *const *backends;
    const char *const *backend_names;
    size_t nbackends;
    unsigned checks; /* CHECK_* bits; default CHECK_ALL */
} check_options;

typedef struct check_report {
    check_result results[CHECK_COUNT];
    size_t n;
    const char *db;
    int64_t start, end;
    unsigned passed, failed, errors;
} check_report;

/* Defaults above; node, meta, data_dir, backends are the caller's. */
void check_options_default(check_options *o);
/* Name of a single check bit ("checksums" ...). */
const char *check_name(unsigned bit);
/* Parses "a,b,c" (check names; "all") into CHECK_* bits. VT_EINVAL names an unknown one. */
vt_rc check_parse_list(const char *list, unsigned *mask, vt_err *err);
/* Parses "24h", "7d", "30m" ... (InfluxQL durations) into ns. */
vt_rc check_parse_window(const char *s, int64_t *ns, vt_err *err);

/* Result helpers (the checks and tests use them). */
void check_result_init(check_result *r, const char *name);
void check_result_free(check_result *r);
void check_result_item(check_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The checks. Each fills *r (initialised by the call; free with check_result_free). */
void check_checksums(const check_options *o, check_result *r);
void check_duplicates(const check_options *o, check_result *r);
void check_nulls(const check_options *o, check_result *r);
void check_consistency(const check_options *o, check_result *r);
void check_backends(const check_options *o, check_result *r);

/* The in-segment half of timestamps_duplicados on one segment: decodes the timestamps of every
 * block of every column intersecting [start, end] and reports (as items of r) each time that is
 * not strictly above the previous one of its column, naming file, block, offset, series, field
 * and time. Returns the number of such violations; *unreadable counts blocks that could not be
 * decoded for another reason (a bad checksum: the checksums check reports it). */
uint64_t check_segment_times(const seg_reader *seg, int64_t start, int64_t end, check_result *r,
                             uint64_t *unreadable, uint64_t *blocks);

/* Runs the checks of o->checks in order; a report always comes back (a check that cannot run is
 * an ERROR result). Free with check_report_free. */
void check_run(const check_options *o, check_report *rep);
void check_report_free(check_report *rep);
/* "✓ name: PASSOU - details" lines (the first CHECK_TEXT_ITEMS items indented below), then "N passed, N failed, N errors". */
void check_report_text(const check_report *rep, bool items, vt_buf *out);
/* {"db":..,"start":..,"end":..,"checks":[{"name","status","label","details","items",
 * "items_total"}],"summary":{"passed","failed","errors"},"exit_code":N} */
void check_report_json(const check_report *rep, vt_buf *out);
/* 1 when a check failed, else 2 when a check could not run, else 0. */
int check_report_exit_code(const check_report *rep);

#endif
