/*
 * query/transform.h — InfluxQL transformation functions streamed over the rows of one output
 * series (raw points, or the per-window results of an inner aggregate), in output time order:
 * derivative, non_negative_derivative, difference, non_negative_difference, moving_average,
 * cumulative_sum, elapsed. Semantics of InfluxDB 1.6.7 (query/functions.go; checked against a
 * running 1.6.7, see tests/unit/test_transform.c):
 *
 *  - A null value (an empty GROUP BY time window under fill(null)) is skipped entirely: no
 *    output and no change of state, so the next derivative/difference/elapsed spans the gap
 *    (e.g. windows 4s=2, 6s=null, 8s=3.5 with time(2s): derivative at 8s = (3.5-2)/(4s/2s)).
 *    With fill(x) the executor pushes the filled value instead.
 *  - derivative: (v - prev) / (elapsed / unit), output float at the current time; the unit
 *    defaults to 1s for raw input and to the GROUP BY interval for aggregates (xf_new's arg = 0
 *    picks that default). non_negative_derivative drops negative results (prev still moves).
 *  - difference: v - prev in the input type (integer wraps); non_negative_difference drops
 *    negative results.
 *  - derivative/difference skip a point whose time equals the previous accepted point's time
 *    (the first point pushed at a time wins; push series in series-key order).
 *  - elapsed(unit, default 1ns): (t - prev_t) / unit (integer division truncating toward 0),
 *    output integer, for every point after the first, including equal times (-> 0). Accepts
 *    every input type.
 *  - moving_average(N): mean of the last N values as float, emitted once N values are seen.
 *  - cumulative_sum: running sum in the input type, one output per input point.
 *  - ORDER BY time DESC (ascending = false): points arrive newest first; derivative uses the
 *    positive time distance (prev_t - t) and still v - prev; difference is v - prev; elapsed
 *    is t - prev_t (negative).
 *  - Only float, integer and unsigned inputs are accepted except for elapsed; otherwise
 *    InfluxDB answers "unsupported <derivative|difference|moving average|cumulative sum>
 *    iterator type: *query.<t>InterruptIterator" (xf_type_error formats it).
 *  NOTE (executor): InfluxDB evaluates a transform over GROUP BY time from one interval BEFORE
 *  the query's start time, so the first window can get a value (derivative(count(x)) of an
 *  empty previous window = count 0), and drops output rows before the start.
 *
 * A state is used by one thread at a time; no global state; string values are never kept.
 */
#ifndef QUERY_TRANSFORM_H
#define QUERY_TRANSFORM_H

#include <stdbool.h>
#include <stdint.h>

#include "common/point.h"

typedef enum xf_kind {
    XF_DERIVATIVE,
    XF_NON_NEGATIVE_DERIVATIVE,
    XF_DIFFERENCE,
    XF_NON_NEGATIVE_DIFFERENCE,
    XF_MOVING_AVERAGE,
    XF_CUMULATIVE_SUM,
    XF_ELAPSED,
    XF_KIND_COUNT
} xf_kind;

/* Lower-case InfluxQL name -> kind; false if not a transform. */
bool xf_lookup(const char *name, xf_kind *out);
const char *xf_name(xf_kind k);
/* Output type for an input type, VT_TYPE_NONE if not accepted. */
vt_type xf_output_type(xf_kind k, vt_type input_type);
/* NULL when accepted, else InfluxDB's message written into buf (NUL-terminated). */
const char *xf_type_error(xf_kind k, vt_type input_type, char *buf, size_t cap);

typedef struct xf_state xf_state;

/* arg: the unit in ns for derivative/non_negative_derivative/elapsed (0 = default: 1s or
 * group_interval_ns for derivatives, 1ns for elapsed), N for moving_average (>= 1).
 * group_interval_ns: the GROUP BY time interval when the input is an aggregate, 0 for raw
 * points. ascending: false for ORDER BY time DESC. NULL on OOM, bad arg, unsupported type. */
xf_state *xf_new(xf_kind k, int64_t arg, int64_t group_interval_ns, bool ascending,
                 vt_type input_type);

typedef struct xf_row {
    int64_t time;
    vt_value v;
} xf_row;

/* Pushes one row; v = NULL or v->type == VT_TYPE_NONE means null. Returns the number of output
 * rows written to *out (0 or 1). v's type must be the input type given to xf_new (a numeric
 * value of another numeric type is converted). */
int xf_push(xf_state *s, int64_t time, const vt_value *v, xf_row *out);

void xf_free(xf_state *s);

#endif
