/*
 * tests/fuzz/fuzz_encoding.c — libFuzzer target for engine/encoding.
 *
 * Byte 0: low 3 bits pick the target, high 5 bits a small n (0..31).
 *   0..5  decode the rest as a ts / f64 / i64 / u64 / bool / str column of n values: must
 *         never crash; when it decodes, re-encoding and decoding again must give the same values.
 *         For targets 0..3, n = 30 means a long column: n = 64 + (LE u16 of the next two
 *         bytes) % 2048, so streams of several groups (Rice, Rice2: 64 values) are reached.
 *   6, 7  round trip: the rest becomes values (type and shape picked by n), which are encoded,
 *         decoded and compared bit for bit; any mismatch aborts.
 * Every numeric round trip is made with every effort (ENC_BEST, ENC_FAST and ENC_QUICK).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/encoding.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXN 4096

static void die(const char *what, size_t n)
{
    fprintf(stderr, "fuzz_encoding: %s mismatch (n=%zu)\n", what, n);
    abort();
}

/* Encode v (type t) with effort eff -> decode -> compare; aborts on any difference. */
static void roundtrip_eff(int t, const void *v, size_t n, enc_effort eff)
{
    vt_buf b, arena;
    vt_err err;
    static uint64_t back[MAXN];
    static vt_str sback[MAXN];
    vt_buf_init(&b);
    vt_buf_init(&arena);
    vt_rc rc = VT_OK;
    size_t elem = 8;
    switch (t) {
    case 0:
        enc_ts_encode_e(v, n, eff, &b);
        rc = enc_ts_decode(b.data, b.len, (int64_t *)back, n, &err);
        break;
    case 1:
        enc_f64_encode_e(v, n, eff, &b);
        rc = enc_f64_decode(b.data, b.len, (double *)back, n, &err);
        break;
    case 2:
        enc_i64_encode_e(v, n, eff, &b);
        rc = enc_i64_decode(b.data, b.len, (int64_t *)back, n, &err);
        break;
    case 3:
        enc_u64_encode_e(v, n, eff, &b);
        rc = enc_u64_decode(b.data, b.len, back, n, &err);
        break;
    case 4:
        elem = sizeof(bool);
        enc_bool_encode(v, n, &b);
        rc = enc_bool_decode(b.data, b.len, (bool *)back, n, &err);
        break;
    default: {
        const vt_str *s = v;
        enc_str_encode(s, n, &b);
        rc = enc_str_decode(b.data, b.len, sback, n, &arena, &err);
        if (rc != VT_OK)
            die(err.msg, n);
        for (size_t i = 0; i < n; i++)
            if (!vt_str_eq(s[i], sback[i]))
                die("string", n);
        elem = 0;
        break;
    }
    }
    if (b.oom)
        abort();
    if (rc != VT_OK) {
        fprintf(stderr, "%s: %s\n", enc_name(b.data[0]), err.msg);
        die("decode", n);
    }
    if (elem && n && memcmp(back, v, n * elem) != 0)
        die(enc_name(b.data[0]), n);
    vt_buf_free(&b);
    vt_buf_free(&arena);
}

static void roundtrip(int t, const void *v, size_t n)
{
    roundtrip_eff(t, v, n, ENC_BEST);
    if (t <= 3) {
        roundtrip_eff(t, v, n, ENC_FAST);
        roundtrip_eff(t, v, n, ENC_QUICK);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned target = data[0] & 7, n = data[0] >> 3;
    const uint8_t *p = data + 1;
    size_t len = size - 1;
    static uint64_t out[MAXN];
    static bool bout[MAXN];
    static vt_str sout[32];
    vt_err err;

    if (target <= 3 && n == 30 && len >= 2) {
        n = 64 + (unsigned)(p[0] | p[1] << 8) % 2048;
        p += 2, len -= 2;
    }
    if (target <= 5) {
        vt_rc rc;
        vt_buf arena;
        vt_buf_init(&arena);
        switch (target) {
        case 0: rc = enc_ts_decode(p, len, (int64_t *)out, n, &err); break;
        case 1: rc = enc_f64_decode(p, len, (double *)out, n, &err); break;
        case 2: rc = enc_i64_decode(p, len, (int64_t *)out, n, &err); break;
        case 3: rc = enc_u64_decode(p, len, out, n, &err); break;
        case 4: rc = enc_bool_decode(p, len, bout, n, &err); break;
        default: rc = enc_str_decode(p, len, sout, n, &arena, &err); break;
        }
        if (rc == VT_OK) {
            if (target == 4)
                roundtrip(4, bout, n);
            else if (target == 5)
                roundtrip(5, sout, n);
            else
                roundtrip((int)target, out, n);
        } else if (err.msg[0] == '\0') {
            abort(); /* every refusal says why */
        }
        vt_buf_free(&arena);
        return 0;
    }

    /* Round trip of values derived from the input. */
    unsigned type = n % 6, shape = n / 6;
    size_t cnt = len / 8;
    if (cnt > MAXN)
        cnt = MAXN;
    static uint64_t vals[MAXN];
    static double dv[MAXN];
    static int64_t iv[MAXN];
    for (size_t i = 0; i < cnt; i++) {
        uint64_t x;
        memcpy(&x, p + 8 * i, 8);
        vals[i] = x;
    }
    switch (type) {
    case 0: /* timestamps: raw, or a regular series with small jitter */
        for (size_t i = 0; i < cnt; i++)
            iv[i] = shape & 1 ? (int64_t)(1672531200000000000ull + i * 3600000000000ull +
                                          (vals[i] & 0xFF) * (shape & 2 ? 1000000000ull : 1ull))
                              : (int64_t)vals[i];
        roundtrip(0, iv, cnt);
        break;
    case 1: /* floats: raw bits, or decimals with k = shape % 13, optionally ONS-like */
        for (size_t i = 0; i < cnt; i++) {
            if (shape & 1) {
                memcpy(&dv[i], &vals[i], 8);
            } else {
                static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6};
                int64_t m = (int64_t)(int32_t)vals[i];
                dv[i] = (double)m / p10[(shape >> 1) % 7];
            }
        }
        roundtrip(1, dv, cnt);
        break;
    case 2:
        for (size_t i = 0; i < cnt; i++)
            iv[i] = shape & 1 ? (int64_t)(int8_t)vals[i] + (int64_t)i * 1000 : (int64_t)vals[i];
        roundtrip(2, iv, cnt);
        break;
    case 3:
        roundtrip(3, vals, cnt);
        break;
    case 4: {
        static bool bv[MAXN];
        size_t nb = len < MAXN ? len : MAXN;
        for (size_t i = 0; i < nb; i++)
            bv[i] = p[i] & 1;
        roundtrip(4, bv, nb);
        break;
    }
    default: {
        /* strings: the input split at '\n' (at most 512 of them) */
        static vt_str sv[512];
        size_t ns = 0, start = 0;
        for (size_t i = 0; i <= len && ns < 512; i++)
            if (i == len || p[i] == '\n') {
                sv[ns].ptr = (const char *)p + start;
                sv[ns].len = i - start;
                ns++;
                start = i + 1;
            }
        roundtrip(5, sv, ns);
        break;
    }
    }
    return 0;
}
