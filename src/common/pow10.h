/*
 * common/pow10.h — exact powers of ten, shared by the encoders, the segment index and the number
 * formatting: vt_pow10_u64[k] = 10^k for k <= 19 (10^19 < 2^64 < 10^20), vt_pow10_f64[k] = 10^k
 * for k <= 22 (10^22 is the largest power of ten a double holds exactly).
 */
#ifndef COMMON_POW10_H
#define COMMON_POW10_H

#include <stdint.h>

#define VT_POW10_U64_MAX 19
#define VT_POW10_F64_MAX 22

extern const uint64_t vt_pow10_u64[VT_POW10_U64_MAX + 1];
extern const double vt_pow10_f64[VT_POW10_F64_MAX + 1];

#endif
