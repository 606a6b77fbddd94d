/*
 * ingest/loader.h — loads one landing-zone file into the node, exactly once, through the ledger.
 *
 * A file is one of (ingest_classify):
 *   - an ONS CSV dataset: under a Hive partition `dataset=<generation|load|interchange|balance>/`
 *     (e.g. dataset=generation/year=2024/month=01/anything.csv), or named as ONS names its files
 *     (GERACAO_USINA-2_2024_01.csv, CURVA_CARGA_2024.csv, ...) anywhere;
 *   - line protocol: `*.lp` or `*.lp.gz` (precision ns), anywhere.
 * Hidden files (`.name`) and names ending in `.tmp`, `.part`, `~` are ignored: writers should
 * write a temporary name and rename it into place.
 *
 * Exactly once (the ledger, meta/meta.h):
 *   1. unchanged file (same size and mtime as the loaded row, or the same content hash): skipped;
 *   2. a new file, or one whose content changed: the row goes to `loading` (with the range the
 *      previous version wrote, if any) before the first journal record; the previous version's
 *      points are deleted (its measurements over its [min, max] time), the other loaded files
 *      that wrote into that range are re-loaded (marked `stale`, then loaded), and the file is
 *      loaded in batches of line protocol through node_write (journal -> primary -> appliers);
 *   3. the file's points per (measurement, UTC hour) replace its histogram in the ledger
 *      (meta_hours_put; none when refused lines could not be attributed), then the row goes to
 *      `loaded` with the counts, time range and journal seq range.
 * A crash anywhere leaves the row `loading` (or other rows `stale`): the next scan loads it
 * again; every step is idempotent (last write wins on series + time), so no point is doubled and
 * the ledger never records half a file as loaded.
 */
#ifndef INGEST_LOADER_H
#define INGEST_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "core/node.h"
#include "meta/meta.h"

typedef enum ingest_kind {
    INGEST_IGNORE = 0, /* not a file volta loads */
    INGEST_ONS_CSV,
    INGEST_LP,
    INGEST_LP_GZ,
} ingest_kind;

/* What a path is (relpath: relative to the landing zone, or any path for `volta load`);
 * *dataset gets "generation" ... or "lp" (capacity 32). */
ingest_kind ingest_classify(const char *relpath, char *dataset, size_t cap);

typedef void (*loader_progress_fn)(void *ctx, uint64_t bytes_done, uint64_t bytes_total);
typedef void (*loader_reject_fn)(void *ctx, const char *file, uint64_t line, const char *reason);

typedef struct loader_options {
    const char *database; /* default "ons"; created when missing */
    const char *root;     /* the landing zone: relative ledger keys are under it */
    size_t batch_bytes;   /* line protocol per node_write; default 4 MiB */
    bool force;           /* load even when the ledger says unchanged */
    loader_progress_fn progress;
    loader_reject_fn reject; /* each rejected row (at most the first 1000 per file) */
    void *ctx;
} loader_options;

typedef enum load_outcome {
    LOAD_SKIPPED_UNCHANGED = 0,
    LOAD_LOADED,         /* first load */
    LOAD_RELOADED,       /* content changed: previous points deleted, file loaded again */
    LOAD_FAILED,         /* the whole file was refused (row `failed`, error says why) */
    LOAD_SKIPPED_FAILED, /* refused earlier and unchanged since: not tried again */
} load_outcome;

typedef struct load_result {
    load_outcome outcome;
    meta_file file; /* the ledger row after the call */
    unsigned overlaps_reloaded;
    double seconds;
} load_result;

/* Loads path (read from disk) under ledger key `key` (the path relative to the landing zone, or
 * the absolute path for `volta load`). VT_OK also for LOAD_SKIPPED_UNCHANGED and LOAD_FAILED
 * (see res->outcome and res->file.error); errors are node or ledger failures (nothing is
 * recorded as loaded then). */
vt_rc loader_load_file(node *n, meta *m, const char *path, const char *key, const loader_options *o,
                       load_result *res, vt_err *err);

/* Reads a file as loader_load_file does and hands its line protocol (precision ns), in batches
 * of whole lines of about batch_bytes (0 = 4 MiB), to sink — without the node or the ledger
 * (resync re-sends files to a backend this way). *lines = lines produced. */
typedef vt_rc (*loader_sink_fn)(void *ctx, const char *lp, size_t len, vt_err *err);
vt_rc loader_read_file(const char *path, const char *key, size_t batch_bytes, loader_sink_fn sink,
                       void *ctx, uint64_t *lines, vt_err *err);

#endif
