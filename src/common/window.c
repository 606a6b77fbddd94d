/*
 * common/window.c — see window.h.
 *
 * vt_ring60 slot encoding: bits 63..32 = the second (truncated to 32 bits), bits 31..0 = the
 * count of that second. A second is "in the window" when (uint32)(now - slot_second) < 60, so
 * the wrap of the 32-bit second every 136 years is harmless. A slot left over from an older
 * minute is simply outside the window until a new event claims it.
 */
#include "common/window.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const double vt_hist_bounds[VT_HIST_BOUNDS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                               0.25,  0.5,    1.0,   2.5,  5.0,   10.0};

void vt_hist_observe(vt_hist *h, int64_t ns)
{
    if (ns < 0)
        ns = 0;
    double s = (double)ns / 1e9;
    size_t i = 0;
    while (i < VT_HIST_BOUNDS && s > vt_hist_bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->counts[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, (uint64_t)ns, memory_order_relaxed);
}

void vt_hist_snapshot(const vt_hist *h, uint64_t out[VT_HIST_BOUNDS + 1], double *sum_s)
{
    uint64_t acc = 0;
    for (size_t i = 0; i <= VT_HIST_BOUNDS; i++) {
        acc += atomic_load_explicit(&h->counts[i], memory_order_relaxed);
        out[i] = acc;
    }
    *sum_s = (double)atomic_load_explicit(&h->sum_ns, memory_order_relaxed) / 1e9;
}

void vt_ring60_add(vt_ring60 *r, int64_t now_s, uint32_t n)
{
    uint64_t sec = (uint32_t)now_s;
    atomic_uint_fast64_t *slot = &r->slot[(uint64_t)now_s % 60];
    uint64_t old = atomic_load_explicit(slot, memory_order_relaxed);
    for (;;) {
        uint64_t next;
        if ((old >> 32) == sec) {
            uint64_t c = (old & 0xffffffffu) + n;
            next = sec << 32 | (c > 0xffffffffu ? 0xffffffffu : c);
        } else {
            next = sec << 32 | n;
        }
        if (atomic_compare_exchange_weak_explicit(slot, &old, next, memory_order_relaxed,
                                                  memory_order_relaxed))
            return;
    }
}

uint64_t vt_ring60_sum(const vt_ring60 *r, int64_t now_s)
{
    uint32_t now = (uint32_t)now_s;
    uint64_t total = 0;
    for (size_t i = 0; i < 60; i++) {
        uint64_t v = atomic_load_explicit(&r->slot[i], memory_order_relaxed);
        if (v == 0)
            continue;
        uint32_t sec = (uint32_t)(v >> 32);
        if ((uint32_t)(now - sec) < 60)
            total += v & 0xffffffffu;
    }
    return total;
}

void vt_window_init(vt_window *w)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
}

void vt_window_destroy(vt_window *w)
{
    pthread_mutex_destroy(&w->mu);
}

void vt_window_add(vt_window *w, double value, int64_t at_ns)
{
    pthread_mutex_lock(&w->mu);
    w->value[w->next] = value;
    w->at[w->next] = at_ns;
    w->next = (w->next + 1) % VT_WINDOW_CAP;
    if (w->count < VT_WINDOW_CAP)
        w->count++;
    pthread_mutex_unlock(&w->mu);
}

static int vt_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

size_t vt_window_quantiles(vt_window *w, int64_t since_ns, const double *qs, size_t nq,
                           double *out)
{
    double *v = malloc(sizeof(double) * VT_WINDOW_CAP);
    size_t n = 0;
    if (v) {
        pthread_mutex_lock(&w->mu);
        for (size_t i = 0; i < w->count; i++)
            if (w->at[i] >= since_ns)
                v[n++] = w->value[i];
        pthread_mutex_unlock(&w->mu);
        qsort(v, n, sizeof *v, vt_cmp_double);
    }
    for (size_t k = 0; k < nq; k++) {
        if (n == 0) {
            out[k] = 0;
            continue;
        }
        double q = qs[k] < 0 ? 0 : qs[k] > 1 ? 1 : qs[k];
        /* nearest rank: the smallest value with at least q of the samples at or below it */
        size_t rank = (size_t)ceil(q * (double)n);
        out[k] = v[rank == 0 ? 0 : rank - 1];
    }
    free(v);
    return n;
}
