/*
 * common/window.h — the three small structures /metrics is built from, free of HTTP so they can
 * be tested alone (tests/unit/test_metrics_window.c):
 *
 *   vt_hist    a latency histogram with fixed bounds (1 ms .. 10 s, Prometheus' "le" buckets),
 *              lock-free: one atomic increment per observation.
 *   vt_ring60  events per second over the last 60 seconds: 60 slots, each one 64-bit atomic
 *              holding (second << 32 | count), so a slot is claimed for a new second and
 *              counted in one compare-and-swap — no reset race, no lock.
 *   vt_window  the last VT_WINDOW_CAP samples (value, time) for quantiles over a recent horizon
 *              ("p95 of the last 5 minutes"); a mutex around two stores per observation, the
 *              sort happens only when someone asks (a /metrics scrape).
 */
#ifndef COMMON_WINDOW_H
#define COMMON_WINDOW_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* ---- histogram ---- */

#define VT_HIST_BOUNDS 13
/* Upper bounds of the buckets, in seconds; a last bucket (+Inf) follows. */
extern const double vt_hist_bounds[VT_HIST_BOUNDS];

typedef struct vt_hist {
    atomic_uint_fast64_t counts[VT_HIST_BOUNDS + 1]; /* per bucket, not cumulative */
    atomic_uint_fast64_t sum_ns;
} vt_hist;

/* Counts one observation of ns nanoseconds (negative counts as 0). */
void vt_hist_observe(vt_hist *h, int64_t ns);
/* Cumulative counts (Prometheus' le semantics): out[i] = observations <= vt_hist_bounds[i],
 * out[VT_HIST_BOUNDS] = all of them. *sum_s = the sum in seconds. */
void vt_hist_snapshot(const vt_hist *h, uint64_t out[VT_HIST_BOUNDS + 1], double *sum_s);

/* ---- events in the last 60 seconds ---- */

typedef struct vt_ring60 {
    atomic_uint_fast64_t slot[60];
} vt_ring60;

/* Adds n events at second now_s (any monotonic or wall-clock second count). */
void vt_ring60_add(vt_ring60 *r, int64_t now_s, uint32_t n);
/* Events of the seconds (now_s - 60, now_s]. */
uint64_t vt_ring60_sum(const vt_ring60 *r, int64_t now_s);

/* ---- rolling sample window ---- */

#define VT_WINDOW_CAP 2048

typedef struct vt_window {
    pthread_mutex_t mu;
    double value[VT_WINDOW_CAP];
    int64_t at[VT_WINDOW_CAP];
    size_t next;  /* slot the next sample goes to */
    size_t count; /* samples held (<= VT_WINDOW_CAP) */
} vt_window;

void vt_window_init(vt_window *w);
void vt_window_destroy(vt_window *w);
/* Adds a sample taken at at_ns; the oldest is dropped when full. */
void vt_window_add(vt_window *w, double value, int64_t at_ns);
/* Quantiles qs[0..nq) (each in [0,1], nearest rank) of the samples taken at or after since_ns,
 * written to out[0..nq) (0 when there are none). Returns how many samples were used. */
size_t vt_window_quantiles(vt_window *w, int64_t since_ns, const double *qs, size_t nq,
                           double *out);

#endif
