/*
 * tests/unit/test_ratelimit.c — covers src/gateway/ratelimit.c.
 *
 * Every test passes its own clock (now_ns), so the refill arithmetic is checked exactly:
 * unlimited by default, burst then refusal, refill at the rate, the burst cap after idling,
 * Retry-After (rounded up, >= 1), fractional rates, a lowered rate dropping tokens above the
 * new burst, switching off, per-key buckets independent of each other and charged together
 * with the global one, a key's rate change, the key table staying bounded, the refused
 * counter, a clock going backwards, and concurrent takers never exceeding the budget.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "gateway/ratelimit.h"

#define SEC 1000000000LL
#define T0 (1000 * SEC)

static ratelimit *new_rl(void)
{
    ratelimit *rl = NULL;
    vt_err err;
    assert_int_equal(ratelimit_new(&rl, &err), VT_OK);
    return rl;
}

/* How many of `tries` takes at time now succeed. */
static int take_n(ratelimit *rl, const char *key, double key_rps, int64_t now, int tries)
{
    int ok = 0;
    for (int i = 0; i < tries; i++) {
        unsigned ra = 0;
        const char *which = NULL;
        if (ratelimit_take(rl, key, key_rps, now, &ra, &which))
            ok++;
    }
    return ok;
}

static void test_unlimited_by_default(void **state)
{
    (void)state;
    ratelimit *rl = new_rl();
    assert_int_equal(take_n(rl, NULL, 0, T0, 10000), 10000);
    assert_int_equal(take_n(rl, "k1", 0, T0, 1000), 1000); /* key without a rate */
    assert_int_equal(ratelimit_refused(rl), 0);
    ratelimit_free(rl);
}

static void test_burst_refill_and_retry_after(void **state)
{
    (void)state;
    ratelimit *rl = new_rl();
    ratelimit_set_global(rl, 10, 20);
    assert_int_equal(take_n(rl, NULL, 0, T0, 25), 20); /* a full bucket at first */
    assert_int_equal(ratelimit_refused(rl), 5);

    unsigned ra = 0;
    const char *which = NULL;
    assert_false(ratelimit_take(rl, NULL, 0, T0, &ra, &which));
    assert_int_equal(ra, 1); /* 1 token at 10/s: 0.1 s, rounded up to 1 */
    assert_string_equal(which, "global");

    /* 0.5 s later: 5 tokens */
    assert_int_equal(take_n(rl, NULL, 0, T0 + SEC / 2, 10), 5);
    /* 100 s idle: capped at the burst, not 1000 */
    assert_int_equal(take_n(rl, NULL, 0, T0 + 100 * SEC, 100), 20);
    ratelimit_free(rl);
}

static void test_burst_default_and_fractional_rate(void **state)
{
    (void)state;
    ratelimit *rl = new_rl();
    ratelimit_set_global(rl, 5, 0); /* burst 0 = max(1, rate) = 5 */
    assert_int_equal(take_n(rl, NULL, 0, T0, 10), 5);
    ratelimit_set_global(rl, 0, 0);
    ratelimit_set_global(rl, 0.25, 0); /* burst max(1, 0.25) = 1; one token per 4 s */
    assert_int_equal(take_n(rl, NULL, 0, T0, 3), 1);
    unsigned ra = 0;
    const char *which = NULL;
    assert_false(ratelimit_take(rl, NULL, 0, T0 + SEC, &ra, &which));
    assert_int_equal(ra, 3); /* 0.25 token there, 0.75 missing at 0.25/s = 3 s */
    assert_int_equal(take_n(rl, NULL, 0, T0 + 4 * SEC, 3), 1);
    ratelimit_free(rl);
}

static void test_lowered_rate_applies_at_once(void **state)
{
    (void)state;
    ratelimit *rl = new_rl();
    ratelimit_set_global(rl, 1000, 1000);
    assert_int_equal(take_n(rl, NULL, 0, T0, 10), 10); /* 990 left */
    ratelimit_set_global(rl, 2, 2);                    /* tokens above 2 dropped */
    assert_int_equal(take_n(rl, NULL, 0, T0, 10), 2);
    /* the same settings again (the poller does this every 200 ms) change nothing */
    ratelimit_set_global(rl, 2, 2);
    assert_int_equal(take_n(rl, NULL, 0, T0, 10), 0);
    assert_int_equal(take_n(rl, NULL, 0, T0 + SEC, 10), 2);
    /* off again: unlimited */
    ratelimit_set_global(rl, 0, 0);
    assert_int_equal(take_n(rl, NULL, 0, T0 + SEC, 500), 500);
    /* raised from off: starts with a full bucket */
    ratelimit_set_global(rl, 3, 0);
    assert_int_equal(take_n(rl, NULL, 0, T0 + SEC, 10), 3);
    ratelimit_free(rl);
}

static void test_per_key(void **state)
{
    (void)state;
    ratelimit *rl = new_rl();
    /* keys with a rate of 2/s: burst 2 each, independent */
    assert_int_equal(take_n(rl, "alice", 2, T0, 5), 2);
    assert_int_equal(take_n(rl, "bob", 2, T0, 5), 2);
    assert_int_equal(take_n(rl, NULL, 0, T0, 5), 5); /* no key: only the (off) global */
    unsigned ra = 0;
    const char *which = NULL;
    assert_false(ratelimit_take(rl, "alice", 2, T0, &ra, &which));
    assert_string_equal(which, "key");
    assert_int_equal(ra, 1);
    /* a key's rate raised: takes effect on its next request */
    assert_int_equal(take_n(rl, "alice", 2, T0 + SEC, 5), 2);
    /* 1 s at the old 2/s accrued 2 tokens; from now on 10/s, burst 10 */
    assert_int_equal(take_n(rl, "alice", 10, T0 + 2 * SEC, 20), 2);
    assert_int_equal(take_n(rl, "alice", 10, T0 + 3 * SEC, 20), 10);
    ratelimit_free(rl);
}

static void test_key_and_global_charged_together(void **state)
{
    (void)state;
    ratelimit *rl = new_rl();
    ratelimit_set_global(rl, 3, 3);
    /* the key allows 100, the global only 3 */
    assert_int_equal(take_n(rl, "k", 100, T0, 10), 3);
    unsigned ra = 0;
    const char *which = NULL;
    assert_false(ratelimit_take(rl, "k", 100, T0, &ra, &which));
    assert_string_equal(which, "global");
    /* a key refusal does not eat the global budget */
    ratelimit_set_global(rl, 0, 0);
    ratelimit_set_global(rl, 10, 10);
    assert_int_equal(take_n(rl, "slow", 1, T0, 5), 1); /* 1 global token used */
    assert_int_equal(take_n(rl, NULL, 0, T0, 20), 9);  /* 4 key refusals took none */
    ratelimit_free(rl);
}

static void test_key_table_bounded(void **state)
{
    (void)state;
    ratelimit *rl = new_rl();
    char id[32];
    for (int i = 0; i < 5000; i++) { /* far more keys than slots: LRU reuse */
        snprintf(id, sizeof id, "key%05d", i);
        assert_int_equal(take_n(rl, id, 1, T0 + i, 2), 1);
    }
    /* the most recent key still has its (empty) bucket */
    assert_int_equal(take_n(rl, id, 1, T0 + 5000, 1), 0);
    ratelimit_free(rl);
}

static void test_clock_backwards(void **state)
{
    (void)state;
    ratelimit *rl = new_rl();
    ratelimit_set_global(rl, 1, 1);
    assert_int_equal(take_n(rl, NULL, 0, T0, 2), 1);
    assert_int_equal(take_n(rl, NULL, 0, T0 - 10 * SEC, 2), 0); /* no refill from the past */
    assert_int_equal(take_n(rl, NULL, 0, T0 + SEC, 2), 1);
    ratelimit_free(rl);
}

typedef struct taker {
    ratelimit *rl;
    int ok;
} taker;

static void *take_thread(void *arg)
{
    taker *t = arg;
    t->ok = take_n(t->rl, "shared", 0, T0, 1000);
    return NULL;
}

static void test_threads_never_exceed(void **state)
{
    (void)state;
    ratelimit *rl = new_rl();
    ratelimit_set_global(rl, 1, 100); /* clock frozen: exactly 100 tokens to share */
    pthread_t th[8];
    taker t[8];
    for (int i = 0; i < 8; i++) {
        t[i].rl = rl;
        t[i].ok = 0;
        assert_int_equal(pthread_create(&th[i], NULL, take_thread, &t[i]), 0);
    }
    int total = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        total += t[i].ok;
    }
    assert_int_equal(total, 100);
    assert_int_equal(ratelimit_refused(rl), 8000 - 100);
    ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unlimited_by_default),
        cmocka_unit_test(test_burst_refill_and_retry_after),
        cmocka_unit_test(test_burst_default_and_fractional_rate),
        cmocka_unit_test(test_lowered_rate_applies_at_once),
        cmocka_unit_test(test_per_key),
        cmocka_unit_test(test_key_and_global_charged_together),
        cmocka_unit_test(test_key_table_bounded),
        cmocka_unit_test(test_clock_backwards),
        cmocka_unit_test(test_threads_never_exceed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
