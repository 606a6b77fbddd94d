/*
 * ingest/landing.h — the landing zone: a directory the server watches and loads from.
 *
 *   <landing>/dataset=generation/year=2024/month=01/GERACAO_USINA-2_2024_01.csv
 *   <landing>/CURVA_CARGA_2024.csv            (ONS's own names are recognised anywhere)
 *   <landing>/extra/points.lp.gz              (line protocol, precision ns)
 * (what is loaded and how: ingest/loader.h.)
 *
 * A scan walks the tree in path order and hands every loadable file to loader_load_file with
 * its path relative to the landing zone as the ledger key: unchanged files cost one stat and
 * one ledger lookup. Files modified less than a second ago are left for the next pass (a writer
 * may still be at work; writers should rename finished files into place).
 *
 * The watcher thread scans at start (loading what arrived while the server was down, and
 * finishing loads a crash interrupted), then on inotify events (close-after-write, moves,
 * new directories — debounced by 300 ms) and every rescan_seconds as a safety net (inotify
 * misses events on network file systems and when its queue overflows).
 */
#ifndef INGEST_LANDING_H
#define INGEST_LANDING_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "core/node.h"
#include "ingest/loader.h"
#include "meta/meta.h"

typedef struct landing_stats {
    uint64_t scans;
    uint64_t files_seen; /* loadable files found by the last scan */
    uint64_t loaded, reloaded, skipped, failed, deferred; /* totals over every scan */
    uint64_t rows_loaded, rows_rejected, points;          /* totals of the files (re)loaded */
    int64_t last_scan_at;                                 /* ns wall clock */
    char last_error[512];
} landing_stats;

/* One pass over root (see above). Per-file failures (a refused file) are in the ledger and the
 * stats, not errors; an error is a node or ledger failure. progress/reject in o are used. */
vt_rc landing_scan(node *n, meta *m, const char *root, const loader_options *o,
                   landing_stats *stats, vt_err *err);

typedef struct landing landing;

/* Creates root when missing and starts the watcher thread (watch = false: only the periodic
 * rescan). */
vt_rc landing_start(node *n, meta *m, const char *root, const char *database, bool watch,
                    unsigned rescan_seconds, landing **out, vt_err *err);
void landing_stop(landing *l);
void landing_get_stats(landing *l, landing_stats *out);
/* Asks for a scan now (returns at once). */
void landing_kick(landing *l);
const char *landing_root(const landing *l);

#endif
