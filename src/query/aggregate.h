/*
 * query/aggregate.h — InfluxQL aggregate and selector functions (count, distinct, integral,
 * mean, median, mode, spread, stddev, sum, first, last, max, min, percentile, sample, top,
 * bottom) as streaming accumulators with InfluxDB 1.6.7's exact results.
 *
 * Use: one agg_state per (call, output group, time window). Push the points of every series of
 * the group that fall in the window (agg_push: one call = points of ONE series, times
 * ascending; calls for different series may come in any order), then read the rows with
 * agg_result, then agg_free. Exception: integral with agg_args.interval_ns > 0 spans the whole
 * group (all windows; see below).
 *
 * Semantics (from InfluxDB 1.6 query/call_iterator.go + functions.go, and checked against a
 * running InfluxDB 1.6.7 — see tests/unit/test_aggregate.c):
 *  - Output types: count -> integer; mean, median, stddev, integral -> float; sum, spread,
 *    first, last, min, max, mode, percentile, sample, top, bottom, distinct -> the input type.
 *  - Accepted inputs: count, distinct, first, last, mode, sample: every type; min, max: all but
 *    string; mean, median, spread, stddev, sum, integral, percentile, top, bottom: numeric only.
 *    Otherwise InfluxDB answers "unsupported <fn> iterator type: *query.<t>InterruptIterator"
 *    (<t> = float, integer, unsigned, string, boolean): agg_type_error() formats it.
 *  - Empty input: count -> one row with 0 (what InfluxDB shows for an empty GROUP BY time
 *    window); every other function -> no row (the executor fills null / fill(x)).
 *  - Selectors (first, last, min, max, percentile, sample, top, bottom) set has_time to the
 *    selected point's time. Ties: first = earliest time, equal times -> greater value (bool:
 *    false); last = latest time, equal times -> greater value (bool: true); max = greater value,
 *    equal values -> earlier time (bool: true > false); min likewise with the smaller value.
 *    NOTE: InfluxDB 1.6.7 applies these rules inside GROUP BY time windows; for a query without
 *    GROUP BY time a tie between different series at the same time is broken by its internal
 *    merge order instead (observed to be neither rule) — volta always uses the rule.
 *  - median: sorted middle; even count -> lo + (hi - lo) / 2.
 *  - mode: most frequent value; ties resolved by InfluxDB's loop over the points sorted by value
 *    (equal values ordered by time, then push order): a later value group of equal frequency wins
 *    unless its first point is later than the time of the last point of the current winner;
 *    all-distinct -> smallest value. bool: true when count(true) >= count(false).
 *  - stddev: sample standard deviation (n - 1); fewer than 2 points -> one row whose value is
 *    null (VT_TYPE_NONE). NaN floats are skipped in the sums.
 *  - percentile(p): i = floor(n * p / 100 + 0.5) - 1 over the values sorted ascending (equal
 *    values by time, then push order);
 *    i outside [0, n) -> no row. Selector: the row has the chosen point's time.
 *  - spread: max - min in the input type (integer wraps like Go).
 *  - distinct: one row per distinct value, ordered by the earliest time the value occurs, then
 *    by value; rows carry no time (the executor shows the window start).
 *  - top/bottom(N): the N greatest (smallest) values, equal values -> earlier time first;
 *    with a tag argument (aux passed to agg_push) at most one point per distinct tag value, the
 *    best of that tag. Rows are ordered by time (equal times: best first), has_time set, and
 *    row.aux = the tag value of the point (empty when no tag argument).
 *  - sample(N): reservoir sampling (xorshift PRNG seeded per state), rows ordered by time.
 *  - integral(unit): trapezoids between consecutive points of the group merged by time (equal
 *    times: the later-pushed point replaces the earlier, so push series in series-key order to
 *    match InfluxDB), divided by unit (default 1s). Without GROUP BY time (interval_ns = 0): one
 *    row (no row if there are no points, or if the only point is at time 0). With interval_ns > 0
 *    the state must receive ALL points of the group (all windows): InfluxDB interpolates the
 *    value at each window end from the next point and carries the area from a window's end to
 *    the next point into the next window; agg_result then gives one row per window that had
 *    points (has_time, time = window start). The integer variant reproduces InfluxDB's quirk of
 *    using the interpolated value with the un-interpolated previous value right after a window
 *    boundary. Only ascending time order is supported.
 *
 * Thread safety: a state is used by one thread at a time; no global state.
 * Ownership: strings in rows returned by agg_result are owned by the state (valid until
 * agg_free); strings passed to agg_push are copied when kept.
 */
#ifndef QUERY_AGGREGATE_H
#define QUERY_AGGREGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/point.h"

typedef enum agg_kind {
    AGG_COUNT,
    AGG_DISTINCT,
    AGG_INTEGRAL,
    AGG_MEAN,
    AGG_MEDIAN,
    AGG_MODE,
    AGG_SPREAD,
    AGG_STDDEV,
    AGG_SUM,
    AGG_FIRST,
    AGG_LAST,
    AGG_MAX,
    AGG_MIN,
    AGG_PERCENTILE,
    AGG_SAMPLE,
    AGG_TOP,
    AGG_BOTTOM,
    AGG_KIND_COUNT
} agg_kind;

/* Lower-case InfluxQL function name -> kind. false if not one of the functions above. */
bool agg_lookup(const char *name, agg_kind *out);
/* The function's InfluxQL name ("count", ...). */
const char *agg_name(agg_kind k);
/* true for first, last, max, min, percentile, sample, top, bottom. */
bool agg_is_selector(agg_kind k);
/* Output type for an input type; VT_TYPE_NONE when the input type is not accepted. */
vt_type agg_output_type(agg_kind k, vt_type input_type);
/* NULL when accepted; otherwise writes InfluxDB's error message into buf (always
 * NUL-terminated) and returns buf, e.g. "unsupported mean iterator type:
 * *query.stringInterruptIterator". */
const char *agg_type_error(agg_kind k, vt_type input_type, char *buf, size_t cap);

typedef struct agg_args {
    double percentile;        /* percentile(): 0..100 */
    int64_t n;                /* top/bottom/sample N (>= 1) */
    int64_t integral_unit_ns; /* integral(): unit, 0 = default 1s */
    int64_t interval_ns;      /* integral(): GROUP BY time interval, 0 = none */
    int64_t offset_ns;        /* integral(): GROUP BY time offset */
    uint64_t seed;            /* sample(): PRNG seed, 0 = derived from the state's address */
} agg_args;

typedef struct agg_state agg_state;

/* A new accumulator (a may be NULL for defaults). NULL on OOM, when the input type is not
 * accepted (see agg_type_error) or when a required argument is invalid (n < 1 for
 * top/bottom/sample). */
agg_state *agg_new(agg_kind k, const agg_args *a, vt_type input_type);

/* Pushes n points of one series: time[i] ascending; values points at n elements of the input
 * type (double, int64_t, uint64_t, bool or vt_str). aux (may be NULL) is the series' tag value
 * used by top/bottom with a tag argument. Returns false once an allocation has failed (the
 * state is then failed for good: agg_result returns 0). Must not be called after agg_result. */
bool agg_push(agg_state *s, const int64_t *time, const void *values, size_t n, const vt_str *aux);

/* Summary of a block of points of ONE series (times ascending inside it), from a segment
 * block's index entry: the fast path for count, sum, mean, spread, first, last, min, max, top
 * and bottom. A member the summary does not know has type VT_TYPE_NONE (has_at false). */
typedef struct agg_summary {
    uint64_t count;     /* > 0 */
    int64_t start, end; /* times of the block's first and last points */
    vt_value sum;       /* the block's own partial sum, in the input type */
    vt_value min, max;  /* float: over the values that are not NaN (all NaN: +Inf / -Inf) */
    bool nan;           /* float: some values are NaN */
    bool has_at;        /* min_time / max_time are known */
    int64_t min_time, max_time; /* time of the EARLIEST point holding the min / the max */
    vt_value first, last;       /* the values at start and at end */
} agg_summary;

/* What a state can do with a block summary (the state is not changed):
 *   AGG_BLOCK_SKIP     no point of the block can change the state's result (e.g. max() whose
 *                      current best beats the block's max, last() holding a later point);
 *   AGG_BLOCK_SUMMARY  agg_push_summary takes the block exactly as its points would;
 *   AGG_BLOCK_POINTS   the block's points must be pushed.
 * aux: the block's series' tag value for top/bottom with a tag argument (as for agg_push).
 * Exactness: a selector's summary is its best point — first/last at start/end, max/min at
 * max_time/min_time, top/bottom (with a tag, or N = 1) the max/min point — and every tie rule
 * compares (time, value) (aggregate.c note 1), so the result equals that of the points. */
typedef enum agg_block_use { AGG_BLOCK_POINTS, AGG_BLOCK_SUMMARY, AGG_BLOCK_SKIP } agg_block_use;
agg_block_use agg_summary_use(const agg_state *s, const agg_summary *sum, const vt_str *aux);

/* Feeds a block summary (a skippable block changes nothing); false if this function cannot use
 * it (agg_summary_use said AGG_BLOCK_POINTS: then push the points; the state is unchanged), or
 * on OOM (agg_failed tells them apart). */
bool agg_push_summary(agg_state *s, const agg_summary *sum, const vt_str *aux);

typedef struct agg_row {
    int64_t time;  /* selected point's time (selectors), or window start (integral) */
    bool has_time; /* false: the executor uses the window start / 0 */
    vt_value v;    /* VT_TYPE_NONE = null (stddev of < 2 points) */
    vt_str aux;    /* top/bottom with a tag argument: that tag's value */
} agg_row;

/* Finalises (first call) and copies up to cap rows into rows; returns the total number of
 * rows, which may exceed cap (call again with a larger array). Strings stay valid until
 * agg_free. */
size_t agg_result(agg_state *s, agg_row *rows, size_t cap);

/* true if an allocation failed during push/result. */
bool agg_failed(const agg_state *s);

void agg_free(agg_state *s);

#endif
