/*
 * meta/meta_baseline.h — recorded query-latency baselines: table `query_baselines` of meta.db
 * (schema v3), one row per query class (server/metrics.h names the classes: influxql_select,
 * influxql_meta, flux, ask). A baseline is what "normal" looked like when an operator recorded
 * it (`volta status --record-baseline`); the failover trigger compares the current latency with
 * it (failover_latency_pct, 300 % by default).
 */
#ifndef META_META_BASELINE_H
#define META_META_BASELINE_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "meta/meta.h"

typedef struct meta_baseline {
    char cls[32];
    double p50_ms, p95_ms;
    int64_t samples;
    int64_t recorded_at; /* ns wall clock */
} meta_baseline;

/* Replaces the classes' rows with b[0..n) in one transaction (classes not in b keep theirs). */
vt_rc meta_baseline_record(meta *m, const meta_baseline *b, size_t n, vt_err *err);
/* Every recorded baseline, by class name; *out malloc'ed (free(); NULL when n == 0). */
vt_rc meta_baseline_list(meta *m, meta_baseline **out, size_t *n, vt_err *err);

#endif
