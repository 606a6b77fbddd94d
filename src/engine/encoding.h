/*
 * engine/encoding.h — column encodings of segment blocks.
 *
 * Each encoder looks at the whole column of one block and writes the smallest of its candidate
 * encodings, prefixed by a one-byte tag saying which one (so decoders need no outside hint):
 *
 *   timestamps : delta-of-delta (bit-packed) | delta + simple8b | delta + RLE (constant step)
 *   floats     : Gorilla XOR | scaled decimal (value * 10^k as integers, then delta, DOD or
 *                seasonal delta + zigzag + simple8b, bit-packing, Rice or Rice2) — chosen only
 *                when every value round-trips bit-exactly
 *   integers   : zigzag(delta) + simple8b | RLE
 *   unsigned   : delta as integers when it fits, else raw simple8b
 *   booleans   : bit-packed
 *   strings    : length varints + bytes, zstd-compressed
 *
 * Byte layouts are in the design notes at the top of encoding.c and in docs/FORMAT.md.
 *
 * Contracts: encoders append to out (a vt_buf) and never fail except on out-of-memory (out->oom).
 * Decoders take untrusted bytes: they check every length and return VT_ECORRUPT (with a message
 * in err) rather than read or write out of bounds; they write exactly n values into the caller's
 * array. Round trips are bit-exact (NaN payloads, -0.0, ±Inf included).
 */
#ifndef ENGINE_ENCODING_H
#define ENGINE_ENCODING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/point.h"

/* Encoding tags (first byte of every encoded column). Stable on disk. */
enum {
    ENC_TS_RAW = 0x01,      /* n x int64 little-endian (fallback) */
    ENC_TS_DOD = 0x02,
    ENC_TS_SIMPLE8B = 0x03,
    ENC_TS_RLE = 0x04,
    ENC_F64_RAW = 0x10,
    ENC_F64_GORILLA = 0x11,
    ENC_F64_DECIMAL = 0x12,
    ENC_I64_SIMPLE8B = 0x20,
    ENC_I64_RLE = 0x21,
    ENC_I64_RAW = 0x22,
    ENC_U64_SIMPLE8B = 0x28,
    ENC_U64_RAW = 0x29,
    ENC_BOOL_BITS = 0x30,
    ENC_STR_ZSTD = 0x40,
    ENC_STR_RAW = 0x41,
};

/* How hard an encoder looks for the smallest form (encoding.c note 10): ENC_BEST sizes every
 * candidate; ENC_FAST skips the costly ones (seasonal deltas, Rice2, the decimal residual
 * split) for a somewhat larger result that decodes the same way; ENC_QUICK is ENC_FAST except
 * that floats are written as Gorilla without looking for decimals (the flush's choice: its
 * segments are re-encoded by compaction). The plain enc_*_encode functions are ENC_BEST. */
typedef enum enc_effort { ENC_BEST = 0, ENC_FAST = 1, ENC_QUICK = 2 } enc_effort;

void enc_ts_encode(const int64_t *ts, size_t n, vt_buf *out);
void enc_ts_encode_e(const int64_t *ts, size_t n, enc_effort eff, vt_buf *out);
vt_rc enc_ts_decode(const uint8_t *p, size_t len, int64_t *ts, size_t n, vt_err *err);

void enc_f64_encode(const double *v, size_t n, vt_buf *out);
void enc_f64_encode_e(const double *v, size_t n, enc_effort eff, vt_buf *out);
vt_rc enc_f64_decode(const uint8_t *p, size_t len, double *v, size_t n, vt_err *err);

void enc_i64_encode(const int64_t *v, size_t n, vt_buf *out);
void enc_i64_encode_e(const int64_t *v, size_t n, enc_effort eff, vt_buf *out);
vt_rc enc_i64_decode(const uint8_t *p, size_t len, int64_t *v, size_t n, vt_err *err);

void enc_u64_encode(const uint64_t *v, size_t n, vt_buf *out);
void enc_u64_encode_e(const uint64_t *v, size_t n, enc_effort eff, vt_buf *out);
vt_rc enc_u64_decode(const uint8_t *p, size_t len, uint64_t *v, size_t n, vt_err *err);

void enc_bool_encode(const bool *v, size_t n, vt_buf *out);
vt_rc enc_bool_decode(const uint8_t *p, size_t len, bool *v, size_t n, vt_err *err);

/* Strings: decoded slices point into *arena (a vt_buf the caller owns and frees; its data may
 * move while decoding, so slices are fixed up before returning). */
void enc_str_encode(const vt_str *v, size_t n, vt_buf *out);
vt_rc enc_str_decode(const uint8_t *p, size_t len, vt_str *v, size_t n, vt_buf *arena,
                     vt_err *err);

/* simple8b primitives, exposed for tests: pack n values (each < 2^60) as 64-bit words. */
bool simple8b_encode(const uint64_t *v, size_t n, vt_buf *out);
vt_rc simple8b_decode(const uint8_t *p, size_t len, uint64_t *v, size_t n, size_t *consumed,
                      vt_err *err);

/* Name of an encoding tag ("dod", "gorilla", ...) for verify/inspect output. */
const char *enc_name(uint8_t tag);

#endif
