/*
 * engine/encoding.c — column encodings of segment blocks.
 *
 * DESIGN NOTES (docs/format/encoding.md holds the same text)
 *
 * 1. Framing. Every encoded column is one tag byte (the ENC_* values of encoding.h) followed by
 *    the body of that encoding. The value count n is NOT stored: the block header carries it and
 *    every decoder is told the exact n it must produce. A body must be consumed exactly: bytes
 *    left over, a stream that ends early, or non-zero padding bits are VT_ECORRUPT. For n == 0
 *    every encoder writes only a tag (the RAW tag of its type; ENC_BOOL_BITS; ENC_STR_RAW) and
 *    the decoders accept any tag of the right type followed by nothing.
 *    All integers are little-endian. "uvarint" is LEB128 (7 bits per byte, low group first, at
 *    most 10 bytes); "zz(x)" is zigzag: (x << 1) ^ (x >> 63). All delta arithmetic is done in
 *    uint64 modulo 2^64 (wrapping), so every int64/uint64 sequence round-trips, including
 *    INT64_MIN/MAX and UINT64_MAX neighbours, and decoding garbage is never undefined behaviour.
 *
 * 2. simple8b words. A stream of unsigned values < 2^60 packed into 64-bit LE words. The top 4
 *    bits of a word are the selector, the low 60 bits the payload:
 *      selector 0      run: value = payload >> 28 (32 bits), count = payload & 0x0FFFFFFF (>= 1)
 *      selector 1      reserved (corrupt)
 *      selector 2..15  count x width: 60x1 30x2 20x3 15x4 12x5 10x6 8x7 7x8 6x10 5x12 4x15
 *                      3x20 2x30 1x60; value j sits at payload bits [j*width, (j+1)*width),
 *                      unused high payload bits are zero.
 *    A word never holds more values than remain (the decoder is told n); the stream has no
 *    length of its own: it is exactly the words needed for n values. The encoder is greedy: at
 *    each position it takes the packed selector holding the most values, unless a run of equal
 *    values (< 2^32) at least as long starts there.
 *
 * 3. Integer stream ("istream", format version 2), used inside several encodings. One mode byte:
 *      bits 0-1  transform  0 DELTA, 1 DOD, 2 ZZ, 3 PLAIN (unsigned streams) or SDELTA (signed
 *                           streams: timestamps, integers, decimal floats)
 *      bits 2-3  packing    0 simple8b words, 1 bit-packed groups, 2 Rice groups, 3 Rice2
 *                           groups (3 is the newest: a reader that predates it refuses the
 *                           stream as a bad mode, so old segments read everywhere and new
 *                           ones need a reader that knows Rice2)
 *      bits 4-7  scale e    0..15: DELTA/DOD/SDELTA deltas are multiples of 10^e and stored
 *                           divided by it (must be 0 for ZZ/PLAIN); seconds-precision ns
 *                           timestamps get e = 9
 *    then:
 *      DELTA  uvarint zz(v0), packed n-1 values zz((v[i] - v[i-1]) / 10^e)
 *      DOD    uvarint zz(v0), [n >= 2] uvarint zz(d1), packed n-2 values zz(d[i] - d[i-1]),
 *             where d[i] = (v[i] - v[i-1]) / 10^e
 *      SDELTA uvarint zz(v0), uvarint period P (1..4096), packed n-1 values zz(d[i] - d[i-P])
 *             for i = 1..n-1, where d[i-P] counts as 0 when i <= P ("the change an hour ago
 *             yesterday": hourly data with a daily shape uses P = 24; the encoder tries 24 and 96
 *             when n > 2P). Decoding: v[i] = v[i-1] + D*10^e + (i > P ? v[i-P] - v[i-P-1] : 0).
 *      ZZ     packed n values zz(v[i])
 *      PLAIN  packed n values v[i]
 *    Bit-packed groups: a bit stream (MSB-first, zero-padded to a byte) of groups of 16 values
 *    (the last one shorter): 7 bits width w (0..64), then the group's values in w bits each.
 *    Rice groups: a bit stream (MSB-first, zero-padded) of groups of 64 values (the last one
 *    shorter): 6 bits parameter k; k = 63 means every value of the group is 0 (nothing follows);
 *    else per value z: q = z >> k; when q < 31, q one bits, a zero bit, then the low k bits of
 *    z; when q >= 31, 31 one bits (no zero), 6 bits (bitlen(z) - 1), then z in bitlen(z) bits.
 *    The encoder picks k per group among the 4 values around log2 of the group mean (exact
 *    cost); decoders accept any k and any escape.
 *    Rice2 groups (context Rice with Exp-Golomb escapes): a bit stream (MSB-first, zero-padded)
 *    of groups of 64 values (the last one shorter): 6 bits parameter k; k = 63 means every
 *    value of the group is 0 (nothing follows); else 1 bit context flag c, then per value z
 *    with parameter kk = 0 when c = 1 and the previous value of the stream (the one before,
 *    across groups; none for the first) is 0, kk = k otherwise: q = z >> kk; when q < 3, q one
 *    bits and a zero bit; when q >= 3, 3 one bits (no zero) and y = q - 2 (>= 1) in Exp-Golomb
 *    order 0: bitlen(y) - 1 zero bits, then y in bitlen(y) bits (its top bit is the 1 that
 *    ends the zeros); then, in both cases, the low kk bits of z. A prefix of more than 63
 *    zeros, or q with q << kk >= 2^64, is corrupt. Why: a group of hourly values holds both
 *    the small changes of a quiet stretch and a few large ones (a level that jumps at
 *    midnight, a sunrise): Rice's escape costs 31 + 6 + bitlen bits and forces k up, where
 *    Exp-Golomb pays ~2 log2(q) bits; and a solar plant's night is a run of zeros that a
 *    group's k (set by the day values) makes cost k + 1 bits each, where the context flag
 *    makes a zero after a zero cost 1 bit. The encoder picks k and c per group by exact cost,
 *    descending from log2 of the group mean while the cost drops; decoders accept any k, c.
 *    Every packed stream ends at its padding byte; what follows it belongs to the caller.
 *    Choice: simple8b (estimated per group of 8 from the widest value) and bit-packed (exact)
 *    sizes of DELTA, DOD, ZZ (and PLAIN); Rice sizes of DELTA, DOD and SDELTA are estimated from
 *    group means, and the best Rice candidate is sized exactly; Rice2 is sized exactly for the
 *    candidates whose Rice estimate is within 1/16 of the best one; the smallest exact size
 *    overall is kept. Decoding multiplies back by 10^e modulo 2^64.
 *
 * 4. Timestamps (int64 ns). Candidates, the smallest exact size wins (ties: RLE, DOD, S8B, RAW;
 *    a constant step takes RLE without trying SIMPLE8B):
 *      0x01 RAW       n x int64
 *      0x02 DOD       uvarint zz(t0), [n >= 2] uvarint zz(d1), [n >= 3] a bit stream (MSB-first
 *                     within each byte, zero-padded to a byte) of the n-2 delta-of-deltas D,
 *                     each written as a prefix and zz(D) in a fixed width:
 *                       0 -> D = 0;  10 + 7 bits;  110 + 14 bits;  1110 + 24 bits;
 *                       11110 + 36 bits;  11111 + 64 bits
 *      0x03 SIMPLE8B  istream (transforms DELTA, DOD, ZZ; either packing)
 *      0x04 RLE       uvarint zz(t0), uvarint zz(step), uvarint count (must equal n);
 *                     t[i] = t0 + i*step (mod 2^64). 1000 hourly ns timestamps = 19 bytes.
 *
 * 5. Floats (IEEE-754 binary64, compared bit for bit). Candidates, smallest wins (ties: DECIMAL,
 *    GORILLA, RAW):
 *      0x10 RAW       n x uint64 (the bits)
 *      0x11 GORILLA   bit stream (MSB-first, zero-padded): 64 bits of v0; then for each next
 *                     value x = bits ^ previous bits:  0 -> same value;  10 + the meaningful
 *                     bits in the previous window;  11 + 6 bits leading zeros + 6 bits
 *                     (meaningful length - 1) + the meaningful bits (opens a new window).
 *                     "10" before any window is open is corrupt.
 *      0x12 DECIMAL   u8 k (0..12), u8 s (0..k), istream of the n integers C[i], then, when
 *                     s > 0, an istream of the n residuals R[i]. With I[i] = C[i]*10^s + R[i]
 *                     (mod 2^64, as int64), the value is v[i] = (double)I[i] / 10^k where 10^k
 *                     is the exactly representable double 1e0..1e12 (a division, never a
 *                     multiplication by 1e-k). The encoder picks the smallest k for which every
 *                     value satisfies that formula bit-exactly with I = round(v * 10^k) (or a
 *                     neighbour), |I| <= 2^53; NaN, +-Inf, -0.0 and denormals never qualify.
 *                     s splits I into a coarse part C (I rounded to the nearest multiple of
 *                     10^s) and a residual R = I - C*10^s. It exists for ONS data, whose values
 *                     are mostly 3-decimal numbers written with 8 decimals (10455.81799999 =
 *                     10455.818 - 1e-8): k = 8, s = 5 stores C as deltas of the 3-decimal values
 *                     and R mostly as 0 or -1 (about 1 bit a value, less in runs). s is chosen by
 *                     estimating every s on the first 256 values (the cheapest of the simple8b,
 *                     bit-packed and Rice estimates of each stream); the chosen s is then encoded
 *                     for real and kept only when smaller than s = 0.
 *
 * 6. Integers:
 *      0x20 SIMPLE8B  istream (transforms DELTA, DOD, ZZ; either packing)
 *      0x21 RLE       uvarint zz(v0), uvarint zz(step), uvarint count (must equal n)
 *      0x22 RAW       n x int64
 *    Unsigned:
 *      0x28 SIMPLE8B  istream (all four transforms; deltas are taken modulo 2^64, so any
 *                     uint64 sequence round-trips; PLAIN is "raw simple8b")
 *      0x29 RAW       n x uint64
 *    Chooser: RLE when the step is constant (including n == 1) and RLE is not larger than RAW;
 *    else the istream when some candidate fits and it is not larger than RAW; else RAW.
 *
 * 7. Booleans: 0x30 BITS, ceil(n/8) bytes, value i is bit (i % 8) of byte i / 8 (LSB first),
 *    padding bits zero.
 *
 * 8. Strings:
 *      0x41 RAW   n x uvarint length, then the n strings' bytes concatenated (exactly).
 *      0x40 ZSTD  uvarint raw_len, then one zstd frame (level 3) whose content is the RAW body
 *                 (lengths + bytes) of exactly raw_len bytes (raw_len <= 1 GiB).
 *    ZSTD is tried when the RAW body is at least 64 bytes and kept when smaller. The decoder
 *    decompresses straight into the caller's arena, growing it only as output is actually
 *    produced (so a lying raw_len cannot force a huge allocation), and returns slices into it
 *    computed as offsets and turned into pointers once the arena stops growing. The decoder
 *    refuses frames whose window is over 8 MiB (ZSTD_d_windowLogMax 23; level 3 uses <= 2 MiB).
 *
 * 9. Limits and safety: decoders never trust a count or a length from the input; they write
 *    exactly n values; scratch memory is proportional to n (given by the caller), never to a
 *    number read from the input. Encoders allocate scratch once per column (not per value);
 *    if that allocation fails they fall back to the RAW encoding.
 *
 * 10. Effort. ENC_BEST (every public encoder without _e) sizes every candidate of notes 3-5.
 *    ENC_FAST skips the costly ones: the seasonal-delta transforms, the exact sizing of Rice2
 *    (note 3) and the decimal residual split (note 5); what remains (delta / DOD / zigzag with
 *    simple8b, bit-packing or Rice; Gorilla; decimal without split; RLE) is still chosen by size.
 *    The output is an ordinary encoding that every decoder reads; it is only larger (~6 % on
 *    the demo set as a whole, up to ~1.6x on a solar column, where seasonal deltas and Rice2
 *    shine). ENC_QUICK is ENC_FAST but writes floats as Gorilla (or raw) without searching for
 *    decimals: one pass, about a third of ENC_FAST's instructions on the demo set, for blocks
 *    about 4x larger (6.4 instead of ~1.6 bytes a point with the times). The engine's flushes
 *    use ENC_QUICK and mark their segments provisional; compaction re-encodes every block with
 *    ENC_BEST (engine.c note on provisional segments), so what stays on disk is as small as
 *    before while ingest spends less CPU encoding.
 */
#include "engine/encoding.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "common/pow10.h"

/* ------------------------------------------------------------------------------------------ */
/* Small helpers                                                                               */
/* ------------------------------------------------------------------------------------------ */

#define S8B_MAX_VALUE ((uint64_t)1 << 60)
#define S8B_RUN_MAX_COUNT 0x0FFFFFFFu
#define S8B_RUN_MAX_VALUE 0xFFFFFFFFu
#define DEC_MAX_K 12
#define DEC_SAMPLE 256
#define STR_MAX_RAW ((uint64_t)1 << 30)
#define STR_ZSTD_MIN 64

enum { IS_DELTA = 0, IS_DOD = 1, IS_ZZ = 2, IS_PLAIN = 3, IS_NMODES = 4 };
#define IS_SDELTA 3 /* transform 3 of a signed stream: seasonal delta (PLAIN is unsigned-only) */
#define IS_MAX_PERIOD 4096
static const size_t sdelta_periods[] = {24, 96}; /* hourly days, 15-minute days */

static const double pow10_tab[DEC_MAX_K + 1] = {1e0, 1e1, 1e2, 1e3, 1e4,  1e5, 1e6,
                                                1e7, 1e8, 1e9, 1e10, 1e11, 1e12};
static const int64_t ipow10_tab[DEC_MAX_K + 1] = {1,
                                                  10,
                                                  100,
                                                  1000,
                                                  10000,
                                                  100000,
                                                  1000000,
                                                  10000000,
                                                  100000000,
                                                  1000000000,
                                                  10000000000,
                                                  100000000000,
                                                  1000000000000};

static inline unsigned bitlen64(uint64_t x)
{
    return x ? 64u - (unsigned)__builtin_clzll(x) : 0u;
}

static inline uint64_t zz_of(uint64_t x)
{
    return vt_zigzag((int64_t)x);
}

static inline uint64_t unzz_of(uint64_t z)
{
    return (z >> 1) ^ (0 - (z & 1));
}

static inline size_t uvarint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Writes v as a uvarint at dst (room for 10); returns the byte count. */
static inline size_t uvarint_put(uint8_t *dst, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        dst[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    dst[n++] = (uint8_t)v;
    return n;
}

static inline uint64_t f64_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static inline double bits_f64(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* Scratch of k arrays of n uint64 each, in one allocation; NULL when n*k overflows or OOM. */
static uint64_t *scratch_alloc(size_t n, size_t k)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX / sizeof(uint64_t) / k)
        return NULL;
    return malloc(n * k * sizeof(uint64_t));
}

/* Appends raw little-endian 64-bit words. */
static void put_u64_array(vt_buf *out, const uint64_t *w, size_t n)
{
    if (n > SIZE_MAX / 8 || !vt_buf_reserve(out, n * 8))
        return;
    uint8_t *d = out->data + out->len;
    for (size_t i = 0; i < n; i++)
        vt_put_u64(d + 8 * i, w[i]);
    out->len += n * 8;
}

/* ------------------------------------------------------------------------------------------ */
/* simple8b                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* Selectors 2..15: count and width. */
static const uint8_t s8b_count[16] = {0, 0, 60, 30, 20, 15, 12, 10, 8, 7, 6, 5, 4, 3, 2, 1};
static const uint8_t s8b_width[16] = {0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 30, 60};

/* For a count c in 1..60: the selector whose count is exactly c (0 if none), and the width of
 * the smallest allowed count >= c. Built once (constant tables written out). */
static uint8_t s8b_sel_for_count[61];
static uint8_t s8b_width_ceil[61];
static int s8b_tables_ready;

static void s8b_tables_init(void)
{
    if (__atomic_load_n(&s8b_tables_ready, __ATOMIC_ACQUIRE))
        return;
    uint8_t sel[61] = {0}, wc[61] = {0};
    for (unsigned s = 2; s < 16; s++)
        sel[s8b_count[s]] = (uint8_t)s;
    for (unsigned c = 1; c <= 60; c++) {
        unsigned cc = c;
        while (!sel[cc])
            cc++;
        wc[c] = s8b_width[sel[cc]];
    }
    /* Idempotent: racing initialisers write identical bytes. */
    memcpy(s8b_sel_for_count, sel, sizeof sel);
    memcpy(s8b_width_ceil, wc, sizeof wc);
    __atomic_store_n(&s8b_tables_ready, 1, __ATOMIC_RELEASE);
}

/* Packs v[0..n) into words (room for n words). Returns the word count, or SIZE_MAX when a value
 * is >= 2^60. */
static size_t s8b_pack(const uint64_t *v, size_t n, uint64_t *words)
{
    s8b_tables_init();
    size_t pos = 0, nw = 0;
    while (pos < n) {
        size_t rem = n - pos;
        const uint64_t *p = v + pos;
        size_t lim = rem < 60 ? rem : 60;
        unsigned maxb = 0;
        size_t best = 0;
        for (size_t j = 0; j < lim; j++) {
            unsigned b = bitlen64(p[j]);
            if (b > maxb)
                maxb = b;
            if (maxb > s8b_width_ceil[j + 1])
                break;
            if (s8b_sel_for_count[j + 1])
                best = j + 1;
        }
        if (best == 0)
            return SIZE_MAX;
        if (rem >= 2 && p[0] == p[1] && p[0] <= S8B_RUN_MAX_VALUE) {
            size_t rlim = rem < S8B_RUN_MAX_COUNT ? rem : S8B_RUN_MAX_COUNT;
            size_t r = 2;
            while (r < rlim && p[r] == p[0])
                r++;
            if (r >= best) {
                words[nw++] = (p[0] << 28) | (uint64_t)r;
                pos += r;
                continue;
            }
        }
        unsigned sel = s8b_sel_for_count[best];
        unsigned w = s8b_width[sel];
        uint64_t word = (uint64_t)sel << 60;
        for (size_t j = 0; j < best; j++)
            word |= p[j] << (j * w);
        words[nw++] = word;
        pos += best;
    }
    return nw;
}

bool simple8b_encode(const uint64_t *v, size_t n, vt_buf *out)
{
    if (n == 0)
        return !out->oom;
    uint64_t *words = scratch_alloc(n, 1);
    if (!words) {
        out->oom = true;
        return false;
    }
    size_t nw = s8b_pack(v, n, words);
    bool ok = nw != SIZE_MAX;
    if (ok) {
        put_u64_array(out, words, nw);
        ok = !out->oom;
    }
    free(words);
    return ok;
}

#define S8B_PAYLOAD_MASK ((((uint64_t)1) << 60) - 1)
#define S8B_CASE(SEL, CNT, W)                                                                  \
    case SEL:                                                                                  \
        if (rem < CNT)                                                                         \
            goto too_many;                                                                     \
        if (((w & S8B_PAYLOAD_MASK) >> ((CNT) * (W))) != 0)                                    \
            goto padding;                                                                      \
        for (unsigned j = 0; j < CNT; j++)                                                     \
            o[j] = (w >> (j * (W))) & ((((uint64_t)1) << (W)) - 1);                            \
        o += CNT;                                                                              \
        break;

/* Decodes exactly n values; *consumed = bytes used. what names the stream in messages. */
static vt_rc s8b_decode_named(const uint8_t *p, size_t len, uint64_t *v, size_t n,
                              size_t *consumed, const char *what, vt_err *err)
{
    uint64_t *o = v;
    uint64_t *end = v + n;
    size_t off = 0;
    while (o < end) {
        size_t rem = (size_t)(end - o);
        if (len - off < 8)
            return vt_err_set(err, VT_ECORRUPT, "%s: stream ends after %zu of %zu values",
                              what, (size_t)(o - v), n);
        uint64_t w = vt_get_u64(p + off);
        off += 8;
        unsigned sel = (unsigned)(w >> 60);
        switch (sel) {
        case 0: {
            uint64_t cnt = w & S8B_RUN_MAX_COUNT;
            uint64_t val = (w >> 28) & S8B_RUN_MAX_VALUE;
            if (cnt == 0)
                return vt_err_set(err, VT_ECORRUPT, "%s: run of 0 values at byte %zu", what,
                                  off - 8);
            if (cnt > rem)
                goto too_many;
            for (uint64_t j = 0; j < cnt; j++)
                o[j] = val;
            o += cnt;
            break;
        }
        case 1:
            return vt_err_set(err, VT_ECORRUPT, "%s: reserved selector 1 at byte %zu", what,
                              off - 8);
            S8B_CASE(2, 60, 1)
            S8B_CASE(3, 30, 2)
            S8B_CASE(4, 20, 3)
            S8B_CASE(5, 15, 4)
            S8B_CASE(6, 12, 5)
            S8B_CASE(7, 10, 6)
            S8B_CASE(8, 8, 7)
            S8B_CASE(9, 7, 8)
            S8B_CASE(10, 6, 10)
            S8B_CASE(11, 5, 12)
            S8B_CASE(12, 4, 15)
            S8B_CASE(13, 3, 20)
            S8B_CASE(14, 2, 30)
            S8B_CASE(15, 1, 60)
        default:
            break;
        }
        continue;
    too_many:
        return vt_err_set(err, VT_ECORRUPT,
                          "%s: word at byte %zu holds more values than the %zu remaining of %zu",
                          what, off - 8, rem, n);
    padding:
        return vt_err_set(err, VT_ECORRUPT, "%s: non-zero unused bits in word at byte %zu",
                          what, off - 8);
    }
    *consumed = off;
    return VT_OK;
}

vt_rc simple8b_decode(const uint8_t *p, size_t len, uint64_t *v, size_t n, size_t *consumed,
                      vt_err *err)
{
    return s8b_decode_named(p, len, v, n, consumed, "simple8b", err);
}

/* ------------------------------------------------------------------------------------------ */
/* Bit streams (MSB-first)                                                                     */
/* ------------------------------------------------------------------------------------------ */

typedef struct bitw {
    uint8_t *p;
    size_t pos;
    uint64_t acc;
    unsigned nacc;
} bitw;

/* nb <= 32; v must fit in nb bits. Bits go out most significant first, 32 at a time (the
 * accumulator keeps fewer than 32 between calls); bitw_flush writes the rest. */
static inline void bitw_put(bitw *w, uint64_t v, unsigned nb)
{
    w->acc = (w->acc << nb) | v;
    w->nacc += nb;
    if (w->nacc >= 32) {
        w->nacc -= 32;
        uint32_t top = (uint32_t)(w->acc >> w->nacc);
        uint8_t *d = w->p + w->pos;
        d[0] = (uint8_t)(top >> 24);
        d[1] = (uint8_t)(top >> 16);
        d[2] = (uint8_t)(top >> 8);
        d[3] = (uint8_t)top;
        w->pos += 4;
    }
}

static inline void bitw_put64(bitw *w, uint64_t v, unsigned nb)
{
    if (nb > 32) {
        bitw_put(w, v >> 32, nb - 32);
        bitw_put(w, v & 0xFFFFFFFFu, 32);
    } else {
        bitw_put(w, v, nb);
    }
}

static inline void bitw_flush(bitw *w)
{
    while (w->nacc >= 8) {
        w->nacc -= 8;
        w->p[w->pos++] = (uint8_t)(w->acc >> w->nacc);
    }
    if (w->nacc)
        w->p[w->pos++] = (uint8_t)(w->acc << (8 - w->nacc));
    w->nacc = 0;
}

typedef struct bitr {
    const uint8_t *p;
    const uint8_t *end;
    uint64_t acc; /* valid bits are the top nacc bits */
    unsigned nacc;
    uint64_t bits_read;
} bitr;

static inline void bitr_init(bitr *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->end = p + len;
    r->acc = 0;
    r->nacc = 0;
    r->bits_read = 0;
}

/* nb in 1..32. */
static inline bool bitr_get(bitr *r, unsigned nb, uint64_t *v)
{
    if (r->nacc < nb) {
        while (r->nacc <= 56 && r->p < r->end) {
            r->acc |= (uint64_t)*r->p++ << (56 - r->nacc);
            r->nacc += 8;
        }
        if (r->nacc < nb)
            return false;
    }
    *v = r->acc >> (64 - nb);
    r->acc <<= nb;
    r->nacc -= nb;
    r->bits_read += nb;
    return true;
}

static inline bool bitr_get64(bitr *r, unsigned nb, uint64_t *v)
{
    if (nb > 32) {
        uint64_t hi, lo;
        if (!bitr_get(r, nb - 32, &hi) || !bitr_get(r, 32, &lo))
            return false;
        *v = (hi << 32) | lo;
        return true;
    }
    if (nb == 0) {
        *v = 0;
        return true;
    }
    return bitr_get(r, nb, v);
}

/* After the last value: the stream must be exactly ceil(bits/8) bytes with zero padding. */
static vt_rc bitr_finish(const bitr *r, const uint8_t *start, size_t len, const char *what,
                         vt_err *err)
{
    uint64_t need = (r->bits_read + 7) / 8;
    if (need != len)
        return vt_err_set(err, VT_ECORRUPT, "%s: %zu trailing bytes after the last value", what,
                          len - (size_t)need);
    unsigned pad = (unsigned)(need * 8 - r->bits_read);
    if (pad && (start[len - 1] & ((1u << pad) - 1)))
        return vt_err_set(err, VT_ECORRUPT, "%s: non-zero padding bits", what);
    return VT_OK;
}

/* After the last value of a packed stream that is followed by the caller's bytes: *consumed =
 * the bytes up to its padding byte, whose padding bits must be zero. */
static vt_rc bitr_end(const bitr *r, const uint8_t *start, size_t *consumed, const char *what,
                      vt_err *err)
{
    size_t used = (size_t)((r->bits_read + 7) / 8);
    unsigned pad = (unsigned)(used * 8 - r->bits_read);
    if (pad && (start[used - 1] & ((1u << pad) - 1)))
        return vt_err_set(err, VT_ECORRUPT, "%s: non-zero padding bits", what);
    *consumed = used;
    return VT_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Integer stream (istream)                                                                    */
/* ------------------------------------------------------------------------------------------ */

#define IS_S8B 0u     /* packing, mode bits 2-3 */
#define IS_BITPACK 1u
#define IS_RICE 2u
#define IS_RICE2 3u
#define IS_GROUP 16
#define RICE_GROUP 64
#define RICE_ESC 31   /* a quotient >= RICE_ESC is written as an escape */
#define RICE_ZEROS 63 /* group parameter meaning "every value of the group is 0" */
#define RICE2_GROUP 64
#define RICE2_ESC 3   /* Rice2: a quotient >= RICE2_ESC is written as an escape */
#ifndef RICE2_SLACK
#define RICE2_SLACK 16 /* Rice2 sizes candidates within 1/16 of the best Rice estimate */
#endif
#define IS_MAX_SCALE 15 /* mode bits 4-7 */


typedef struct istream_plan {
    uint8_t hdr[24];
    size_t hdrlen;
    size_t nbytes; /* payload bytes: simple8b words (LE) or the bit-packed stream */
    unsigned mode;  /* the mode byte */
} istream_plan;

static inline size_t istream_size(const istream_plan *pl)
{
    return pl->hdrlen + pl->nbytes;
}

/* simple8b cost of a value of b bits, in 1/16 bits: 16 * 64 / (values per word at width >= b). */
static const uint16_t s8b_cost16[65] = {
    2,    18,   34,   51,   68,   85,   102,  128,  146,  171,  171,  205,  205,
    256,  256,  256,  341,  341,  341,  341,  341,  512,  512,  512,  512,  512,
    512,  512,  512,  512,  512,  1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024,
    1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024,
    1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024};

/* Cost estimate of one candidate stream under both packings. */
typedef struct est {
    uint64_t s8b16; /* simple8b estimate, 1/16 bits: per group of 8, 8 x cost of the widest */
    uint64_t bp;    /* exact bit-packed size in bits */
    unsigned g8, g16, maxb;
} est;

static inline void est_add(est *e, uint64_t z, size_t i)
{
    unsigned b = bitlen64(z);
    if (b > e->g8)
        e->g8 = b;
    if (b > e->g16)
        e->g16 = b;
    if ((i & 7) == 7) {
        e->s8b16 += 8u * s8b_cost16[e->g8];
        if (e->g8 > e->maxb)
            e->maxb = e->g8;
        e->g8 = 0;
    }
    if ((i & (IS_GROUP - 1)) == IS_GROUP - 1) {
        e->bp += 7 + (uint64_t)IS_GROUP * e->g16;
        e->g16 = 0;
    }
}

/* cnt = number of values added. */
static inline void est_end(est *e, size_t cnt)
{
    e->s8b16 += (cnt & 7) * (uint64_t)s8b_cost16[e->g8];
    if (e->g8 > e->maxb)
        e->maxb = e->g8;
    if (cnt % IS_GROUP)
        e->bp += 7 + (uint64_t)(cnt % IS_GROUP) * e->g16;
}

/* Largest e such that every delta v[i] - v[i-1] (as int64) is a multiple of 10^e. */
static unsigned delta_scale(const uint64_t *v, size_t n)
{
    unsigned e = IS_MAX_SCALE;
    for (size_t i = 1; i < n && e; i++) {
        int64_t d = (int64_t)(v[i] - v[i - 1]);
        while (e && d % (int64_t)vt_pow10_u64[e] != 0)
            e--;
    }
    return n >= 2 ? e : 0;
}

/* Bit-packs z[0..cnt) in groups of IS_GROUP (7-bit width, then the values) into dst. */
static size_t bitpack_write(const uint64_t *z, size_t cnt, uint8_t *dst)
{
    bitw w = {dst, 0, 0, 0};
    for (size_t g = 0; g < cnt; g += IS_GROUP) {
        size_t m = cnt - g < IS_GROUP ? cnt - g : IS_GROUP;
        uint64_t acc = 0;
        for (size_t j = 0; j < m; j++)
            acc |= z[g + j];
        unsigned b = bitlen64(acc);
        bitw_put(&w, b, 7);
        if (b)
            for (size_t j = 0; j < m; j++)
                bitw_put64(&w, z[g + j], b);
    }
    bitw_flush(&w);
    return w.pos;
}

/* Best parameter of one group (RICE_ZEROS for an all-zero group); *bits = its coded size
 * without the 6-bit parameter. Tries the 4 parameters around log2 of the mean. */
static unsigned rice_pick(const uint64_t *z, size_t m, uint64_t *bits)
{
    uint64_t hsum = 0, lsum = 0, any = 0;
    for (size_t j = 0; j < m; j++) {
        any |= z[j];
        hsum += z[j] >> 6; /* no overflow: m <= 64 */
        lsum += z[j] & 63;
    }
    if (!any) {
        *bits = 0;
        return RICE_ZEROS;
    }
    unsigned k0 = bitlen64(hsum / m * 64 + lsum / m); /* ~ log2(mean) + 1 */
    unsigned lo = k0 >= 2 ? k0 - 2 : 0;
    if (lo > RICE_ZEROS - 4)
        lo = RICE_ZEROS - 4;
    uint64_t c[4] = {0, 0, 0, 0};
    for (size_t j = 0; j < m; j++) /* the 4 parameters lo..lo+3 in one pass */
        for (unsigned t = 0; t < 4; t++) {
            uint64_t q = z[j] >> (lo + t);
            c[t] += q < RICE_ESC ? q : RICE_ESC + 5 + bitlen64(z[j]) - (lo + t);
        }
    unsigned bt = 0;
    for (unsigned t = 1; t < 4; t++)
        if (c[t] + t * m < c[bt] + bt * m)
            bt = t;
    *bits = c[bt] + (uint64_t)m * (lo + bt + 1);
    return lo + bt;
}

/* Estimated Rice size in bits of a group of m values summing to hsum * 64 + lsum (parameter
 * from the mean, no escapes). */
static inline uint64_t rice_group_estimate(uint64_t hsum, uint64_t lsum, size_t m)
{
    uint64_t mean = hsum / m * 64 + lsum / m;
    unsigned k = mean ? bitlen64(mean) - 1 : 0;
    /* sum of the quotients ~ sum >> k (k < 6 means mean < 64: the sum is small) */
    uint64_t q = k >= 6 ? hsum >> (k - 6) : ((hsum << 6) + lsum) >> k;
    return 6 + (uint64_t)m * (k + 1) + q;
}

/* Quick estimate of the Rice size of z[0..cnt) in bits: used to rank candidate transforms
 * before one is sized exactly. */
static uint64_t rice_estimate(const uint64_t *z, size_t cnt)
{
    uint64_t bits = 0;
    for (size_t g = 0; g < cnt; g += RICE_GROUP) {
        size_t m = cnt - g < RICE_GROUP ? cnt - g : RICE_GROUP;
        uint64_t hsum = 0, lsum = 0;
        for (size_t j = 0; j < m; j++) {
            hsum += z[g + j] >> 6;
            lsum += z[g + j] & 63;
        }
        bits += rice_group_estimate(hsum, lsum, m);
    }
    return bits;
}

/* The same estimate, fed one value at a time. */
typedef struct rice_acc {
    uint64_t hsum, lsum, bits;
    size_t cnt;
} rice_acc;

static inline void rice_acc_add(rice_acc *a, uint64_t z)
{
    a->hsum += z >> 6;
    a->lsum += z & 63;
    if (++a->cnt % RICE_GROUP == 0) {
        a->bits += rice_group_estimate(a->hsum, a->lsum, RICE_GROUP);
        a->hsum = a->lsum = 0;
    }
}

static inline uint64_t rice_acc_end(const rice_acc *a)
{
    size_t m = a->cnt % RICE_GROUP;
    return a->bits + (m ? rice_group_estimate(a->hsum, a->lsum, m) : 0);
}

/* Exact size in bits of the Rice stream of z[0..cnt). */
static uint64_t rice_size(const uint64_t *z, size_t cnt)
{
    uint64_t bits = 0, b;
    for (size_t g = 0; g < cnt; g += RICE_GROUP) {
        size_t m = cnt - g < RICE_GROUP ? cnt - g : RICE_GROUP;
        rice_pick(z + g, m, &b);
        bits += 6 + b;
    }
    return bits;
}

/* Writes the Rice stream of z[0..cnt) at dst; returns its bytes. */
static size_t rice_write(const uint64_t *z, size_t cnt, uint8_t *dst)
{
    bitw w = {dst, 0, 0, 0};
    uint64_t b;
    for (size_t g = 0; g < cnt; g += RICE_GROUP) {
        size_t m = cnt - g < RICE_GROUP ? cnt - g : RICE_GROUP;
        unsigned k = rice_pick(z + g, m, &b);
        bitw_put(&w, k, 6);
        if (k == RICE_ZEROS)
            continue;
        for (size_t j = 0; j < m; j++) {
            uint64_t x = z[g + j], q = x >> k;
            if (q < RICE_ESC) {
                bitw_put(&w, (((uint64_t)1 << q) - 1) << 1, (unsigned)q + 1);
                if (k)
                    bitw_put64(&w, x & ((((uint64_t)1) << k) - 1), k);
            } else {
                unsigned bl = bitlen64(x);
                bitw_put(&w, (((uint64_t)1) << RICE_ESC) - 1, RICE_ESC);
                bitw_put(&w, bl - 1, 6);
                bitw_put64(&w, x, bl);
            }
        }
    }
    bitw_flush(&w);
    return w.pos;
}

/* Context Rice ("Rice2", packing 3; design note 3). Cost in bits of x under parameter k. */
static inline uint64_t rice2_bits(uint64_t x, unsigned k)
{
    uint64_t q = x >> k;
    /* escape: RICE2_ESC ones, Exp-Golomb of y = q - (RICE2_ESC - 1) >= 1 in 2 bitlen(y) - 1 */
    unsigned bl = 64u - (unsigned)__builtin_clzll((q - (RICE2_ESC - 1)) | 1);
    return (q < RICE2_ESC ? q + 1 : RICE2_ESC + 2 * (uint64_t)bl - 1) + k;
}

/* Rice2 sizes of one group under parameter k: *all with every value at k (flag 0), *one of
 * only the values that follow a non-zero value (msk all ones) at k. */
static inline void rice2_eval(const uint64_t *z, const uint64_t *msk, size_t m, unsigned k,
                              uint64_t *all, uint64_t *one)
{
    uint64_t a = 0, o = 0;
    for (size_t j = 0; j < m; j++) {
        uint64_t c = rice2_bits(z[j], k);
        a += c;
        o += c & msk[j];
    }
    *all = a, *one = o;
}

/* Best parameters of one group whose first value follows a value that is zero (prev0): returns
 * k (RICE_ZEROS for an all-zero group), *ctx = the context flag, *bits = the coded size without
 * the 6-bit parameter. The exact cost is convex enough in k for a descent: start one below
 * log2 of the mean (of all values for flag 0; of the values that follow a non-zero value for
 * flag 1, the others coded with k = 0) and step while the cost drops. */
static unsigned rice2_pick(const uint64_t *z, size_t m, bool prev0, unsigned *ctx, uint64_t *bits)
{
    uint64_t hsum = 0, lsum = 0, h1 = 0, l1 = 0, any = 0, c0 = 0;
    uint64_t msk[RICE2_GROUP];
    size_t m1 = 0;
    bool p0 = prev0;
    for (size_t j = 0; j < m; j++) {
        uint64_t x = z[j];
        any |= x;
        hsum += x >> 6; /* no overflow: m <= 64 */
        lsum += x & 63;
        msk[j] = p0 ? 0 : UINT64_MAX;
        if (p0) {
            c0 += rice2_bits(x, 0);
        } else {
            h1 += x >> 6;
            l1 += x & 63;
            m1++;
        }
        p0 = x == 0;
    }
    *ctx = 0;
    if (!any) {
        *bits = 0;
        return RICE_ZEROS;
    }
    uint64_t all[RICE_ZEROS], one[RICE_ZEROS], done = 0; /* done: bit set of evaluated k */
    uint64_t best = UINT64_MAX;
    unsigned bk = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && (m1 == m || m1 == 0))
            break; /* flag 1 is flag 0, or codes everything with k = 0 (seen at k = 0 below) */
        unsigned mean = pass ? bitlen64(h1 / m1 * 64 + l1 / m1)
                             : bitlen64(hsum / m * 64 + lsum / m);
        int k0 = mean >= 2 ? (int)mean - 2 : 0;
        if (k0 > RICE_ZEROS - 1)
            k0 = RICE_ZEROS - 1;
        uint64_t prev = UINT64_MAX;
        for (int dir = -1; dir <= 1; dir += 2) { /* down from k0, then up when down never helped */
            for (int k = dir < 0 ? k0 : k0 + 1; k >= 0 && k < RICE_ZEROS; k += dir) {
                if (!(done >> k & 1)) {
                    rice2_eval(z, msk, m, (unsigned)k, &all[k], &one[k]);
                    done |= (uint64_t)1 << k;
                }
                if (all[k] < best)
                    best = all[k], bk = (unsigned)k, *ctx = 0;
                if (one[k] + c0 < best)
                    best = one[k] + c0, bk = (unsigned)k, *ctx = 1;
                uint64_t c = pass ? one[k] + c0 : all[k];
                if (c >= prev)
                    break;
                prev = c;
            }
            if (dir < 0 && prev < (pass ? one[k0] + c0 : all[k0]))
                break;
        }
    }
    *bits = best + 1; /* + the context flag */
    return bk;
}

/* Exact size in bits of the Rice2 stream of z[0..cnt). */
static uint64_t rice2_size(const uint64_t *z, size_t cnt)
{
    uint64_t bits = 0, b;
    unsigned ctx;
    for (size_t g = 0; g < cnt; g += RICE2_GROUP) {
        size_t m = cnt - g < RICE2_GROUP ? cnt - g : RICE2_GROUP;
        rice2_pick(z + g, m, g > 0 && z[g - 1] == 0, &ctx, &b);
        bits += 6 + b;
    }
    return bits;
}

/* Writes the Rice2 stream of z[0..cnt) at dst; returns its bytes. */
static size_t rice2_write(const uint64_t *z, size_t cnt, uint8_t *dst)
{
    bitw w = {dst, 0, 0, 0};
    uint64_t b;
    unsigned ctx;
    for (size_t g = 0; g < cnt; g += RICE2_GROUP) {
        size_t m = cnt - g < RICE2_GROUP ? cnt - g : RICE2_GROUP;
        bool p0 = g > 0 && z[g - 1] == 0;
        unsigned k = rice2_pick(z + g, m, p0, &ctx, &b);
        bitw_put(&w, k, 6);
        if (k == RICE_ZEROS)
            continue;
        bitw_put(&w, ctx, 1);
        for (size_t j = 0; j < m; j++) {
            uint64_t x = z[g + j];
            unsigned kk = ctx && p0 ? 0 : k;
            uint64_t q = x >> kk;
            p0 = x == 0;
            if (q < RICE2_ESC) {
                bitw_put(&w, (((uint64_t)1 << q) - 1) << 1, (unsigned)q + 1);
            } else {
                uint64_t y = q - (RICE2_ESC - 1); /* >= 1: Exp-Golomb order 0 */
                unsigned bl = bitlen64(y);
                bitw_put(&w, (((uint64_t)1) << RICE2_ESC) - 1, RICE2_ESC);
                if (bl > 33)
                    bitw_put(&w, 0, 32), bitw_put(&w, 0, bl - 33);
                else if (bl > 1)
                    bitw_put(&w, 0, bl - 1);
                bitw_put64(&w, y, bl);
            }
            if (kk)
                bitw_put64(&w, x & ((((uint64_t)1) << kk) - 1), kk);
        }
    }
    bitw_flush(&w);
    return w.pos;
}

/* Fills z with the stream values of transform t at scale div; returns their count. */
static size_t istream_values(const uint64_t *v, size_t n, unsigned t, uint64_t div, uint64_t *z)
{
    size_t cnt = 0;
    int64_t sd = (int64_t)div;
    switch (t) {
    case IS_DELTA:
        for (size_t i = 1; i < n; i++) {
            int64_t d = (int64_t)(v[i] - v[i - 1]);
            z[cnt++] = vt_zigzag(div == 1 ? d : d / sd);
        }
        break;
    case IS_DOD: {
        uint64_t prev = n >= 2 ? (uint64_t)((int64_t)(v[1] - v[0]) / sd) : 0;
        for (size_t i = 2; i < n; i++) {
            uint64_t d = (uint64_t)((int64_t)(v[i] - v[i - 1]) / sd);
            z[cnt++] = zz_of(d - prev);
            prev = d;
        }
        break;
    }
    case IS_ZZ:
        for (size_t i = 0; i < n; i++)
            z[cnt++] = zz_of(v[i]);
        break;
    default:
        for (size_t i = 0; i < n; i++)
            z[cnt++] = v[i];
        break;
    }
    return cnt;
}

/* Seasonal delta of period P: the n-1 values zz(d[i] - d[i-P]) (d[i-P] = 0 when i <= P), where
 * d[i] = (v[i] - v[i-1]) / div. */
static size_t istream_sdelta(const uint64_t *v, size_t n, size_t P, uint64_t div, uint64_t *z)
{
    int64_t sd = (int64_t)div;
    for (size_t i = 1; i < n; i++) { /* z[i-1] = d[i] */
        int64_t d = (int64_t)(v[i] - v[i - 1]);
        z[i - 1] = (uint64_t)(div == 1 ? d : d / sd);
    }
    for (size_t i = n - 1; i > P; i--) /* backwards: z[i-1-P] still holds d[i-P] */
        z[i - 1] = zz_of(z[i - 1] - z[i - 1 - P]);
    for (size_t i = 1; i < n && i <= P; i++)
        z[i - 1] = zz_of(z[i - 1]);
    return n - 1;
}

/* Plans the istream of v[0..n) (n >= 1; int64 bits, wrapping arithmetic): picks a transform and
 * a packing by estimate, then packs into words (room for n words). tmp has room for n values.
 * Returns false when no candidate fits. */
static bool istream_plan_make(const uint64_t *v, size_t n, bool allow_plain, enc_effort eff,
                              uint64_t *tmp, uint64_t *words, istream_plan *pl)
{
    unsigned sc = delta_scale(v, n);
    uint64_t div = vt_pow10_u64[sc];
    est e[IS_NMODES];
    memset(e, 0, sizeof e);
    size_t cnt[IS_NMODES] = {n - 1, n >= 2 ? n - 2 : 0, n, n};
    /* One pass, all transforms. */
    uint64_t prevd = 0;
    for (size_t i = 0; i < n; i++) {
        est_add(&e[IS_ZZ], zz_of(v[i]), i);
        if (allow_plain)
            est_add(&e[IS_PLAIN], v[i], i);
        if (i >= 1) {
            int64_t d = (int64_t)(v[i] - v[i - 1]);
            uint64_t ds = (uint64_t)(div == 1 ? d : d / (int64_t)div);
            est_add(&e[IS_DELTA], zz_of(ds), i - 1);
            if (i >= 2)
                est_add(&e[IS_DOD], zz_of(ds - prevd), i - 2);
            prevd = ds;
        }
    }
    uint64_t h[IS_NMODES]; /* header bits */
    h[IS_DELTA] = 8 * uvarint_len(zz_of(v[0]));
    h[IS_DOD] = h[IS_DELTA] +
                (n >= 2 ? 8 * uvarint_len(zz_of((uint64_t)((int64_t)(v[1] - v[0]) /
                                                           (int64_t)div)))
                        : 0);
    h[IS_ZZ] = 0;
    h[IS_PLAIN] = 0;
    int bt = -1;
    bool bbp = false;
    uint64_t bestc = UINT64_MAX;
    for (int t = 0; t < IS_NMODES; t++) {
        if (t == IS_PLAIN && !allow_plain)
            continue;
        est_end(&e[t], cnt[t]);
        if (e[t].maxb <= 60) {
            uint64_t c = h[t] * 16 + e[t].s8b16;
            if (c < bestc)
                bestc = c, bt = t, bbp = false;
        }
        /* bit-packed: exact, and only when it fits the words scratch (8n bytes) */
        if ((e[t].bp + 7) / 8 <= 8 * (uint64_t)n) {
            uint64_t c = (h[t] + e[t].bp) * 16;
            if (c < bestc)
                bestc = c, bt = t, bbp = true;
        }
    }
    /* Rice and Rice2 over the delta transforms, and over the seasonal deltas for signed streams
     * long enough (two periods): every candidate gets a Rice estimate; Rice is sized exactly for
     * the best estimate only, Rice2 for the candidates near it (below); kept when smaller. */
    unsigned pack = IS_S8B;
    size_t period = 0;
    int rt = -1, r2t = -1;
    size_t rperiod = 0, r2period = 0;
    uint64_t rbest = UINT64_MAX, r2best = UINT64_MAX;
    enum { NRC = 2 + sizeof sdelta_periods / sizeof *sdelta_periods };
    uint64_t rest[NRC]; /* Rice estimate of each candidate, UINT64_MAX when not applicable */
    for (size_t c = 0; c < NRC; c++) {
        size_t P = c < 2 ? 0 : sdelta_periods[c - 2];
        rest[c] = UINT64_MAX;
        if (P && (allow_plain || n <= 2 * P || eff != ENC_BEST))
            continue;
        size_t m = P ? istream_sdelta(v, n, P, div, tmp)
                     : istream_values(v, n, (unsigned)c, div, tmp);
        rest[c] = (P ? h[IS_DELTA] + 8 * uvarint_len(P) : h[c]) + rice_estimate(tmp, m);
        if (rest[c] < rbest)
            rbest = rest[c], rt = P ? IS_SDELTA : (int)c, rperiod = P;
    }
    /* Rice2: exact sizes of the candidates whose Rice estimate is within 1/RICE2_SLACK of the
     * best one (the estimate ranks transforms well; exact sizing is the expensive part). */
    for (size_t c = 0; rt >= 0 && eff == ENC_BEST && c < NRC; c++) {
        if (rest[c] == UINT64_MAX || rest[c] > rbest + rbest / RICE2_SLACK)
            continue;
        size_t P = c < 2 ? 0 : sdelta_periods[c - 2];
        size_t m = P ? istream_sdelta(v, n, P, div, tmp)
                     : istream_values(v, n, (unsigned)c, div, tmp);
        uint64_t rb = (P ? h[IS_DELTA] + 8 * uvarint_len(P) : h[c]) + rice2_size(tmp, m);
        if (rb < r2best)
            r2best = rb, r2t = P ? IS_SDELTA : (int)c, r2period = P;
    }
    if (rt >= 0 && rbest * 16 < bestc + bestc / 8) { /* exact size of the best Rice candidate */
        size_t m = rperiod ? istream_sdelta(v, n, rperiod, div, tmp)
                           : istream_values(v, n, (unsigned)rt, div, tmp);
        uint64_t rb = (rperiod ? h[IS_DELTA] + 8 * uvarint_len(rperiod) : h[rt]) +
                      rice_size(tmp, m);
        if ((rb + 7) / 8 <= 8 * (uint64_t)n && rb * 16 < bestc)
            bestc = rb * 16, bt = rt, pack = IS_RICE, period = rperiod;
    }
    if (r2t >= 0 && (r2best + 7) / 8 <= 8 * (uint64_t)n && r2best * 16 < bestc)
        bestc = r2best * 16, bt = r2t, pack = IS_RICE2, period = r2period;
    if (pack == IS_S8B && bbp)
        pack = IS_BITPACK;
    if (bt < 0)
        return false;
    bool is_delta = bt == IS_DELTA || bt == IS_DOD || (bt == IS_SDELTA && !allow_plain);
    unsigned scale = is_delta ? sc : 0;
    if (scale == 0)
        div = 1;
    size_t m = period ? istream_sdelta(v, n, period, div, tmp)
                      : istream_values(v, n, (unsigned)bt, div, tmp);
    pl->mode = (unsigned)bt | (pack << 2) | (scale << 4);
    pl->hdr[0] = (uint8_t)pl->mode;
    pl->hdrlen = 1;
    if (is_delta)
        pl->hdrlen += uvarint_put(pl->hdr + pl->hdrlen, zz_of(v[0]));
    if (period)
        pl->hdrlen += uvarint_put(pl->hdr + pl->hdrlen, period);
    if (bt == IS_DOD && n >= 2)
        pl->hdrlen += uvarint_put(pl->hdr + pl->hdrlen,
                                  zz_of((uint64_t)((int64_t)(v[1] - v[0]) / (int64_t)div)));
    if (pack == IS_RICE2) {
        pl->nbytes = rice2_write(tmp, m, (uint8_t *)(void *)words);
    } else if (pack == IS_RICE) {
        pl->nbytes = rice_write(tmp, m, (uint8_t *)(void *)words);
    } else if (pack == IS_BITPACK) {
        pl->nbytes = bitpack_write(tmp, m, (uint8_t *)(void *)words);
    } else {
        size_t nw = s8b_pack(tmp, m, words);
        if (nw == SIZE_MAX)
            return false;
        for (size_t i = 0; i < nw; i++) /* to little-endian bytes in place */
            vt_put_u64((uint8_t *)(void *)(words + i), words[i]);
        pl->nbytes = nw * 8;
    }
    return true;
}

static void istream_emit(const istream_plan *pl, const uint64_t *words, vt_buf *out)
{
    vt_buf_append(out, pl->hdr, pl->hdrlen);
    vt_buf_append(out, words, pl->nbytes);
}

/* Reads cnt bit-packed values (groups of IS_GROUP); *consumed = bytes used. */
static vt_rc bitpack_decode(const uint8_t *p, size_t len, uint64_t *z, size_t cnt,
                            size_t *consumed, const char *what, vt_err *err)
{
    bitr br;
    bitr_init(&br, p, len);
    for (size_t g = 0; g < cnt; g += IS_GROUP) {
        size_t m = cnt - g < IS_GROUP ? cnt - g : IS_GROUP;
        uint64_t b;
        if (!bitr_get(&br, 7, &b))
            goto truncated;
        if (b > 64)
            return vt_err_set(err, VT_ECORRUPT, "%s: bit width %u > 64 at value %zu", what,
                              (unsigned)b, g);
        for (size_t j = 0; j < m; j++)
            if (!bitr_get64(&br, (unsigned)b, &z[g + j])) {
                g += j;
                goto truncated;
            }
        continue;
    truncated:
        return vt_err_set(err, VT_ECORRUPT, "%s: stream ends after %zu of %zu values", what, g,
                          cnt);
    }
    return bitr_end(&br, p, consumed, what, err);
}

/* Reads a unary quotient: up to max one bits ended by a zero (the zero is not read when max
 * ones came first). */
static inline bool bitr_unary(bitr *r, unsigned max, unsigned *q)
{
    if (r->nacc < 32)
        while (r->nacc <= 56 && r->p < r->end) {
            r->acc |= (uint64_t)*r->p++ << (56 - r->nacc);
            r->nacc += 8;
        }
    uint64_t inv = ~r->acc;
    unsigned ones = inv ? (unsigned)__builtin_clzll(inv) : 64;
    unsigned take;
    if (ones >= max) {
        ones = max;
        take = max;
    } else {
        take = ones + 1;
    }
    if (r->nacc < take)
        return false;
    r->acc <<= take;
    r->nacc -= take;
    r->bits_read += take;
    *q = ones;
    return true;
}

/* Reads cnt Rice-coded values (groups of RICE_GROUP); *consumed = bytes used. */
static vt_rc rice_decode(const uint8_t *p, size_t len, uint64_t *z, size_t cnt, size_t *consumed,
                         const char *what, vt_err *err)
{
    bitr br;
    bitr_init(&br, p, len);
    size_t i = 0;
    for (size_t g = 0; g < cnt; g += RICE_GROUP) {
        size_t m = cnt - g < RICE_GROUP ? cnt - g : RICE_GROUP;
        uint64_t k, x;
        i = g;
        if (!bitr_get(&br, 6, &k))
            goto truncated;
        if (k == RICE_ZEROS) {
            memset(z + g, 0, m * sizeof *z);
            continue;
        }
        for (size_t j = 0; j < m; j++) {
            unsigned q;
            i = g + j;
            if (!bitr_unary(&br, RICE_ESC, &q))
                goto truncated;
            if (q < RICE_ESC) {
                if (!bitr_get64(&br, (unsigned)k, &x))
                    goto truncated;
                z[g + j] = ((uint64_t)q << k) | x;
            } else {
                uint64_t bl;
                if (!bitr_get(&br, 6, &bl) || !bitr_get64(&br, (unsigned)bl + 1, &x))
                    goto truncated;
                z[g + j] = x;
            }
        }
    }
    return bitr_end(&br, p, consumed, what, err);
truncated:
    return vt_err_set(err, VT_ECORRUPT, "%s: stream ends after %zu of %zu values", what, i, cnt);
}

/* Reads zero bits up to the first one bit (which is not read); false when the stream ends first
 * or more than max zeros come. */
static inline bool bitr_zeros(bitr *r, unsigned max, unsigned *cnt)
{
    unsigned c = 0;
    for (;;) {
        while (r->nacc <= 56 && r->p < r->end) {
            r->acc |= (uint64_t)*r->p++ << (56 - r->nacc);
            r->nacc += 8;
        }
        if (r->nacc == 0)
            return false;
        unsigned z = r->acc ? (unsigned)__builtin_clzll(r->acc) : 64;
        unsigned take = z < r->nacc ? z : r->nacc;
        c += take;
        if (c > max)
            return false;
        r->acc = take < 64 ? r->acc << take : 0;
        r->nacc -= take;
        r->bits_read += take;
        if (z < 64 && take == z) {
            *cnt = c;
            return true;
        }
    }
}

/* Reads cnt Rice2-coded values (groups of RICE2_GROUP); *consumed = bytes used. */
static vt_rc rice2_decode(const uint8_t *p, size_t len, uint64_t *z, size_t cnt,
                          size_t *consumed, const char *what, vt_err *err)
{
    bitr br;
    bitr_init(&br, p, len);
    size_t i = 0;
    bool p0 = false;
    for (size_t g = 0; g < cnt; g += RICE2_GROUP) {
        size_t m = cnt - g < RICE2_GROUP ? cnt - g : RICE2_GROUP;
        uint64_t k, ctx, x;
        i = g;
        if (!bitr_get(&br, 6, &k))
            goto truncated;
        if (k == RICE_ZEROS) {
            memset(z + g, 0, m * sizeof *z);
            p0 = true;
            continue;
        }
        if (!bitr_get(&br, 1, &ctx))
            goto truncated;
        for (size_t j = 0; j < m; j++) {
            unsigned q0, kk = ctx && p0 ? 0 : (unsigned)k;
            uint64_t q;
            i = g + j;
            if (!bitr_unary(&br, RICE2_ESC, &q0))
                goto truncated;
            q = q0;
            if (q0 == RICE2_ESC) {
                unsigned zeros;
                uint64_t y;
                if (!bitr_zeros(&br, 63, &zeros)) {
                    if (br.p < br.end || br.nacc)
                        return vt_err_set(err, VT_ECORRUPT,
                                          "%s: escape of value %zu longer than 64 bits", what, i);
                    goto truncated;
                }
                if (!bitr_get64(&br, zeros + 1, &y))
                    goto truncated;
                q = y + (RICE2_ESC - 1);
                if (q < y || (kk && (q >> (64 - kk)) != 0))
                    return vt_err_set(err, VT_ECORRUPT, "%s: value %zu does not fit 64 bits",
                                      what, i);
            }
            if (!bitr_get64(&br, kk, &x))
                goto truncated;
            z[g + j] = (kk ? q << kk : q) | x;
            p0 = z[g + j] == 0;
        }
    }
    return bitr_end(&br, p, consumed, what, err);
truncated:
    return vt_err_set(err, VT_ECORRUPT, "%s: stream ends after %zu of %zu values", what, i, cnt);
}

/* Decodes an istream of exactly n (>= 1) values into v (as uint64 bits). */
static vt_rc istream_decode(const uint8_t *p, size_t len, uint64_t *v, size_t n,
                            bool allow_plain, size_t *consumed, const char *what, vt_err *err)
{
    vt_reader r;
    vt_reader_init(&r, p, len);
    uint8_t mode;
    uint64_t first = 0, d1 = 0;
    size_t used = 0;
    vt_rc rc;
    if (!vt_read_u8(&r, &mode))
        return vt_err_set(err, VT_ECORRUPT, "%s: missing integer stream mode", what);
    unsigned t = mode & 3, pk = (mode >> 2) & 3, sc = mode >> 4;
    bool bp = pk == IS_BITPACK;
    bool sdelta = t == IS_SDELTA && !allow_plain;
    uint64_t period = 0;
    if (sc && (t == IS_ZZ || (t == IS_PLAIN && !sdelta)))
        return vt_err_set(err, VT_ECORRUPT, "%s: bad integer stream mode 0x%02x", what, mode);
    uint64_t div = vt_pow10_u64[sc];
    if (t == IS_DELTA || t == IS_DOD || sdelta) {
        if (!vt_read_uvarint(&r, &first))
            return vt_err_set(err, VT_ECORRUPT, "%s: stream ends after 0 of %zu values", what,
                              n);
        if (t == IS_DOD && n >= 2 && !vt_read_uvarint(&r, &d1))
            return vt_err_set(err, VT_ECORRUPT, "%s: stream ends after 1 of %zu values", what,
                              n);
    }
    if (sdelta && (!vt_read_uvarint(&r, &period) || period == 0 || period > IS_MAX_PERIOD))
        return vt_err_set(err, VT_ECORRUPT, "%s: bad or missing seasonal period", what);
    size_t skip = t == IS_DELTA || sdelta ? 1 : t == IS_DOD ? (n >= 2 ? 2 : 1) : 0;
    if (pk == IS_RICE2)
        rc = rice2_decode(r.p, vt_reader_left(&r), v + skip, n - skip, &used, what, err);
    else if (pk == IS_RICE)
        rc = rice_decode(r.p, vt_reader_left(&r), v + skip, n - skip, &used, what, err);
    else if (bp)
        rc = bitpack_decode(r.p, vt_reader_left(&r), v + skip, n - skip, &used, what, err);
    else
        rc = s8b_decode_named(r.p, vt_reader_left(&r), v + skip, n - skip, &used, what, err);
    if (rc != VT_OK)
        return rc;
    switch (t) {
    case IS_DELTA:
        v[0] = unzz_of(first);
        for (size_t i = 1; i < n; i++)
            v[i] = v[i - 1] + unzz_of(v[i]) * div;
        break;
    case IS_DOD:
        v[0] = unzz_of(first);
        if (n >= 2) {
            uint64_t d = unzz_of(d1);
            v[1] = v[0] + d * div;
            for (size_t i = 2; i < n; i++) {
                d += unzz_of(v[i]);
                v[i] = v[i - 1] + d * div;
            }
        }
        break;
    case IS_ZZ:
        for (size_t i = 0; i < n; i++)
            v[i] = unzz_of(v[i]);
        break;
    default:
        if (sdelta) {
            size_t P = (size_t)period;
            v[0] = unzz_of(first);
            for (size_t i = 1; i < n; i++)
                v[i] = v[i - 1] + unzz_of(v[i]) * div + (i > P ? v[i - P] - v[i - P - 1] : 0);
        }
        break;
    }
    *consumed = (size_t)(r.p - p) + used;
    return VT_OK;
}

/* Decodes the "n == 0" case shared by every column type: a known tag and nothing else. */
static vt_rc empty_check(size_t len, const char *what, vt_err *err)
{
    if (len != 1)
        return vt_err_set(err, VT_ECORRUPT, "%s: %zu bytes after the tag of an empty column",
                          what, len - 1);
    return VT_OK;
}

/* Decodes n x 64-bit LE words at p (len bytes after the tag). */
static vt_rc raw64_decode(const uint8_t *p, size_t len, uint64_t *v, size_t n, const char *what,
                          vt_err *err)
{
    if (n > SIZE_MAX / 8 || len != n * 8)
        return vt_err_set(err, VT_ECORRUPT, "%s: %zu bytes for %zu values (want %zu)", what, len,
                          n, n <= SIZE_MAX / 8 ? n * 8 : 0);
    for (size_t i = 0; i < n; i++)
        v[i] = vt_get_u64(p + 8 * i);
    return VT_OK;
}

static void raw64_encode(uint8_t tag, const uint64_t *v, size_t n, vt_buf *out)
{
    vt_buf_putc(out, tag);
    put_u64_array(out, v, n);
}

/* RLE body shared by timestamps and integers: uvarint zz(first), uvarint zz(step), uvarint n. */
static bool const_step(const uint64_t *v, size_t n, uint64_t *step)
{
    uint64_t s = n >= 2 ? v[1] - v[0] : 0;
    for (size_t i = 2; i < n; i++)
        if (v[i] - v[i - 1] != s)
            return false;
    *step = s;
    return true;
}

static size_t rle_size(const uint64_t *v, size_t n, uint64_t step)
{
    return 1 + uvarint_len(zz_of(v[0])) + uvarint_len(zz_of(step)) + uvarint_len(n);
}

static void rle_emit(uint8_t tag, const uint64_t *v, size_t n, uint64_t step, vt_buf *out)
{
    vt_buf_putc(out, tag);
    vt_buf_put_uvarint(out, zz_of(v[0]));
    vt_buf_put_uvarint(out, zz_of(step));
    vt_buf_put_uvarint(out, n);
}

static vt_rc rle_decode(const uint8_t *p, size_t len, uint64_t *v, size_t n, const char *what,
                        vt_err *err)
{
    vt_reader r;
    uint64_t first, step, cnt;
    vt_reader_init(&r, p, len);
    if (!vt_read_uvarint(&r, &first) || !vt_read_uvarint(&r, &step) ||
        !vt_read_uvarint(&r, &cnt))
        return vt_err_set(err, VT_ECORRUPT, "%s: truncated header (%zu bytes)", what, len);
    if (cnt != n)
        return vt_err_set(err, VT_ECORRUPT, "%s: holds %llu values, block says %zu", what,
                          (unsigned long long)cnt, n);
    if (vt_reader_left(&r))
        return vt_err_set(err, VT_ECORRUPT, "%s: %zu trailing bytes", what, vt_reader_left(&r));
    uint64_t x = unzz_of(first), s = unzz_of(step);
    for (size_t i = 0; i < n; i++, x += s)
        v[i] = x;
    return VT_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Timestamps                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* Bucket of a zigzagged delta-of-delta: prefix bits (value, length) and payload width. */
static inline void dod_bucket(uint64_t z, unsigned *pre, unsigned *prelen, unsigned *width)
{
    if (z == 0) {
        *pre = 0, *prelen = 1, *width = 0;
    } else if (z < ((uint64_t)1 << 7)) {
        *pre = 0x2, *prelen = 2, *width = 7;
    } else if (z < ((uint64_t)1 << 14)) {
        *pre = 0x6, *prelen = 3, *width = 14;
    } else if (z < ((uint64_t)1 << 24)) {
        *pre = 0xE, *prelen = 4, *width = 24;
    } else if (z < ((uint64_t)1 << 36)) {
        *pre = 0x1E, *prelen = 5, *width = 36;
    } else {
        *pre = 0x1F, *prelen = 5, *width = 64;
    }
}

/* Writes (w != NULL) or only counts the bit stream of the n-2 delta-of-deltas; returns bits. */
static uint64_t dod_stream(const uint64_t *t, size_t n, bitw *w)
{
    uint64_t bits = 0;
    for (size_t i = 2; i < n; i++) {
        uint64_t z = zz_of((t[i] - t[i - 1]) - (t[i - 1] - t[i - 2]));
        unsigned pre, prelen, width;
        dod_bucket(z, &pre, &prelen, &width);
        bits += prelen + width;
        if (w) {
            bitw_put(w, pre, prelen);
            if (width)
                bitw_put64(w, z, width);
        }
    }
    return bits;
}

static size_t dod_header_size(const uint64_t *t, size_t n)
{
    return uvarint_len(zz_of(t[0])) + (n >= 2 ? uvarint_len(zz_of(t[1] - t[0])) : 0);
}

static void dod_emit(const uint64_t *t, size_t n, uint64_t bits, vt_buf *out)
{
    size_t body = (size_t)((bits + 7) / 8);
    vt_buf_putc(out, ENC_TS_DOD);
    vt_buf_put_uvarint(out, zz_of(t[0]));
    if (n >= 2)
        vt_buf_put_uvarint(out, zz_of(t[1] - t[0]));
    if (n < 3 || !vt_buf_reserve(out, body + 8))
        return;
    bitw w = {out->data + out->len, 0, 0, 0};
    dod_stream(t, n, &w);
    bitw_flush(&w);
    out->len += w.pos;
}

static vt_rc dod_decode(const uint8_t *p, size_t len, uint64_t *t, size_t n, vt_err *err)
{
    const char *what = "dod timestamps";
    vt_reader r;
    uint64_t first, d1 = 0;
    vt_reader_init(&r, p, len);
    if (!vt_read_uvarint(&r, &first))
        return vt_err_set(err, VT_ECORRUPT, "%s: stream ends after 0 of %zu values", what, n);
    t[0] = unzz_of(first);
    if (n == 1)
        goto done;
    if (!vt_read_uvarint(&r, &d1))
        return vt_err_set(err, VT_ECORRUPT, "%s: stream ends after 1 of %zu values", what, n);
    uint64_t d = unzz_of(d1);
    t[1] = t[0] + d;
    if (n == 2)
        goto done;
    bitr br;
    const uint8_t *bs = r.p;
    size_t blen = vt_reader_left(&r);
    bitr_init(&br, bs, blen);
    for (size_t i = 2; i < n; i++) {
        unsigned ones = 0;
        uint64_t b;
        while (ones < 5) {
            if (!bitr_get(&br, 1, &b))
                goto truncated;
            if (!b)
                break;
            ones++;
        }
        static const unsigned widths[6] = {0, 7, 14, 24, 36, 64};
        uint64_t z = 0;
        if (!bitr_get64(&br, widths[ones], &z))
            goto truncated;
        d += unzz_of(z);
        t[i] = t[i - 1] + d;
        continue;
    truncated:
        return vt_err_set(err, VT_ECORRUPT, "%s: stream ends after %zu of %zu values", what, i,
                          n);
    }
    return bitr_finish(&br, bs, blen, what, err);
done:
    if (vt_reader_left(&r))
        return vt_err_set(err, VT_ECORRUPT, "%s: %zu trailing bytes", what, vt_reader_left(&r));
    return VT_OK;
}

void enc_ts_encode(const int64_t *ts, size_t n, vt_buf *out)
{
    enc_ts_encode_e(ts, n, ENC_BEST, out);
}

void enc_ts_encode_e(const int64_t *ts, size_t n, enc_effort eff, vt_buf *out)
{
    const uint64_t *t = (const uint64_t *)(const void *)ts;
    if (n == 0) {
        vt_buf_putc(out, ENC_TS_RAW);
        return;
    }
    size_t raw_sz = n > (SIZE_MAX - 1) / 8 ? SIZE_MAX : 1 + 8 * n;
    uint64_t dbits = dod_stream(t, n, NULL);
    size_t dod_sz = 1 + dod_header_size(t, n) + (size_t)((dbits + 7) / 8);
    uint64_t step;
    if (const_step(t, n, &step)) {
        size_t rle_sz = rle_size(t, n, step);
        if (rle_sz <= dod_sz && rle_sz <= raw_sz) {
            rle_emit(ENC_TS_RLE, t, n, step, out);
            return;
        }
    }
    uint64_t *scratch = scratch_alloc(n, 2);
    istream_plan pl;
    size_t s8_sz = SIZE_MAX;
    if (scratch && istream_plan_make(t, n, false, eff, scratch, scratch + n, &pl))
        s8_sz = 1 + istream_size(&pl);
    if (dod_sz <= s8_sz && dod_sz <= raw_sz) {
        dod_emit(t, n, dbits, out);
    } else if (s8_sz <= raw_sz) {
        vt_buf_putc(out, ENC_TS_SIMPLE8B);
        istream_emit(&pl, scratch + n, out);
    } else {
        raw64_encode(ENC_TS_RAW, t, n, out);
    }
    free(scratch);
}

vt_rc enc_ts_decode(const uint8_t *p, size_t len, int64_t *ts, size_t n, vt_err *err)
{
    uint64_t *t = (uint64_t *)(void *)ts;
    if (len < 1)
        return vt_err_set(err, VT_ECORRUPT, "timestamps: empty column (no tag)");
    uint8_t tag = p[0];
    if (tag != ENC_TS_RAW && tag != ENC_TS_DOD && tag != ENC_TS_SIMPLE8B && tag != ENC_TS_RLE)
        return vt_err_set(err, VT_ECORRUPT, "timestamps: unknown encoding tag 0x%02x", tag);
    if (n == 0)
        return empty_check(len, "timestamps", err);
    p++, len--;
    switch (tag) {
    case ENC_TS_RAW:
        return raw64_decode(p, len, t, n, "raw timestamps", err);
    case ENC_TS_DOD:
        return dod_decode(p, len, t, n, err);
    case ENC_TS_RLE:
        return rle_decode(p, len, t, n, "rle timestamps", err);
    default: {
        size_t used;
        vt_rc rc = istream_decode(p, len, t, n, false, &used, "simple8b timestamps", err);
        if (rc == VT_OK && used != len)
            return vt_err_set(err, VT_ECORRUPT, "simple8b timestamps: %zu trailing bytes",
                              len - used);
        return rc;
    }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Floats                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* Writes (w != NULL) or counts the Gorilla bit stream; returns bits. */
static uint64_t gorilla_stream(const double *v, size_t n, bitw *w)
{
    uint64_t prev = f64_bits(v[0]);
    uint64_t bits = 64;
    unsigned plz = 0, ptz = 0;
    bool window = false;
    if (w)
        bitw_put64(w, prev, 64);
    for (size_t i = 1; i < n; i++) {
        uint64_t cur = f64_bits(v[i]);
        uint64_t x = cur ^ prev;
        prev = cur;
        if (x == 0) {
            bits += 1;
            if (w)
                bitw_put(w, 0, 1);
            continue;
        }
        unsigned lz = (unsigned)__builtin_clzll(x), tz = (unsigned)__builtin_ctzll(x);
        if (window && lz >= plz && tz >= ptz) {
            unsigned m = 64 - plz - ptz;
            bits += 2 + m;
            if (w) {
                bitw_put(w, 0x2, 2);
                bitw_put64(w, x >> ptz, m);
            }
        } else {
            unsigned m = 64 - lz - tz;
            bits += 2 + 6 + 6 + m;
            if (w) {
                bitw_put(w, 0x3, 2);
                bitw_put(w, lz, 6);
                bitw_put(w, m - 1, 6);
                bitw_put64(w, x >> tz, m);
            }
            plz = lz, ptz = tz, window = true;
        }
    }
    return bits;
}

static vt_rc gorilla_decode(const uint8_t *p, size_t len, double *v, size_t n, vt_err *err)
{
    const char *what = "gorilla floats";
    bitr br;
    uint64_t prev, b, x;
    unsigned plz = 0, ptz = 0;
    bool window = false;
    size_t i = 0;
    bitr_init(&br, p, len);
    if (!bitr_get64(&br, 64, &prev))
        goto truncated;
    v[0] = bits_f64(prev);
    for (i = 1; i < n; i++) {
        if (!bitr_get(&br, 1, &b))
            goto truncated;
        if (b == 0) {
            v[i] = bits_f64(prev);
            continue;
        }
        if (!bitr_get(&br, 1, &b))
            goto truncated;
        if (b == 0) {
            if (!window)
                return vt_err_set(err, VT_ECORRUPT,
                                  "%s: value %zu reuses a window before any was opened", what,
                                  i);
            unsigned m = 64 - plz - ptz;
            if (!bitr_get64(&br, m, &x))
                goto truncated;
            x <<= ptz;
        } else {
            uint64_t lz, m1;
            if (!bitr_get(&br, 6, &lz) || !bitr_get(&br, 6, &m1))
                goto truncated;
            unsigned m = (unsigned)m1 + 1;
            if (lz + m > 64)
                return vt_err_set(err, VT_ECORRUPT,
                                  "%s: value %zu has %u leading zeros + %u bits > 64", what, i,
                                  (unsigned)lz, m);
            plz = (unsigned)lz, ptz = 64 - plz - m, window = true;
            if (!bitr_get64(&br, m, &x))
                goto truncated;
            x <<= ptz;
        }
        prev ^= x;
        v[i] = bits_f64(prev);
    }
    return bitr_finish(&br, p, len, what, err);
truncated:
    return vt_err_set(err, VT_ECORRUPT, "%s: stream ends after %zu of %zu values", what, i, n);
}

/* Does I / 10^k reproduce the bits of d? */
static inline bool dec_check(int64_t i, double p, uint64_t want)
{
    return f64_bits((double)i / p) == want;
}

/* I for value d at scale p, or false. |I| <= 2^53. */
static inline bool dec_value(double d, double p, int64_t *out)
{
    const double lim = 9007199254740992.0; /* 2^53 */
    double x = d * p;
    if (!(x >= -lim && x <= lim))
        return false;
    int64_t i = (int64_t)(x < 0 ? x - 0.5 : x + 0.5);
    uint64_t want = f64_bits(d);
    if (dec_check(i, p, want)) {
        *out = i;
        return true;
    }
    if (i < ((int64_t)1 << 53) && dec_check(i + 1, p, want)) {
        *out = i + 1;
        return true;
    }
    if (i > -((int64_t)1 << 53) && dec_check(i - 1, p, want)) {
        *out = i - 1;
        return true;
    }
    return false;
}

/* Smallest k whose I[] reproduce every value; -1 when none does. */
static int dec_find_k(const double *v, size_t n, int64_t *I)
{
    size_t hard = 0; /* the value that failed the last k: tried first */
    for (int k = 0; k <= DEC_MAX_K; k++) {
        double p = pow10_tab[k];
        if (!dec_value(v[hard], p, &I[hard]))
            continue;
        size_t i;
        for (i = 0; i < n; i++)
            if (!dec_value(v[i], p, &I[i]))
                break;
        if (i == n)
            return k;
        hard = i;
    }
    return -1;
}

/* Rounds i to the nearest multiple of d (d >= 10): returns the quotient, *rem the residual. */
static inline int64_t dec_split(int64_t i, int64_t d, int64_t *rem)
{
    int64_t q = i / d, r = i % d;
    if (r > d / 2)
        q++, r -= d;
    else if (r < -(d / 2))
        q--, r += d;
    *rem = r;
    return q;
}

/* Cheaper of the two packing estimates of a finished est, in 1/16 bits. */
static inline uint64_t est_best16(const est *e)
{
    uint64_t bp = e->bp * 16;
    return e->maxb <= 60 && e->s8b16 < bp ? e->s8b16 : bp;
}

/* Cheapest packing estimate of a finished est and rice_acc, in 1/16 bits. */
static inline uint64_t est_best16r(const est *e, const rice_acc *ra)
{
    uint64_t b = est_best16(e), r = rice_acc_end(ra) * 16;
    return r < b ? r : b;
}

/* Estimated size (1/16 bits) of the decimal encoding with split s on the first m values. */
static uint64_t dec_estimate(const int64_t *I, size_t m, int s)
{
    est ec, er;
    rice_acc rc, rr;
    memset(&ec, 0, sizeof ec);
    memset(&er, 0, sizeof er);
    memset(&rc, 0, sizeof rc);
    memset(&rr, 0, sizeof rr);
    if (s == 0) {
        for (size_t i = 1; i < m; i++) {
            uint64_t z = zz_of((uint64_t)I[i] - (uint64_t)I[i - 1]);
            est_add(&ec, z, i - 1);
            rice_acc_add(&rc, z);
        }
        est_end(&ec, m - 1);
        return est_best16r(&ec, &rc);
    }
    int64_t d = ipow10_tab[s], prevc = 0, r;
    for (size_t i = 0; i < m; i++) {
        int64_t c = dec_split(I[i], d, &r);
        if (i) {
            uint64_t z = zz_of((uint64_t)c - (uint64_t)prevc);
            est_add(&ec, z, i - 1);
            rice_acc_add(&rc, z);
        }
        est_add(&er, vt_zigzag(r), i);
        rice_acc_add(&rr, vt_zigzag(r));
        prevc = c;
    }
    est_end(&ec, m - 1);
    est_end(&er, m);
    return est_best16r(&ec, &rc) + est_best16r(&er, &rr);
}

/* One decimal candidate: the C stream and, when s > 0, the residual stream. */
typedef struct dec_plan {
    int k, s;
    istream_plan cpl, rpl;
    uint64_t *cwords;
    uint64_t *rwords;
    size_t size;
} dec_plan;

/* Builds the plan of split s. C, R, tmp: n each; cw, rw: word room n each. */
static bool dec_plan_make(const int64_t *I, size_t n, int k, int s, enc_effort eff, uint64_t *C,
                          uint64_t *R, uint64_t *tmp, uint64_t *cw, uint64_t *rw, dec_plan *dp)
{
    dp->k = k, dp->s = s, dp->cwords = cw, dp->rwords = rw;
    const uint64_t *cv = (const uint64_t *)(const void *)I;
    size_t rsize = 0;
    if (s > 0) {
        int64_t d = ipow10_tab[s], r;
        for (size_t i = 0; i < n; i++) {
            C[i] = (uint64_t)dec_split(I[i], d, &r);
            R[i] = (uint64_t)r;
        }
        if (!istream_plan_make(R, n, false, eff, tmp, rw, &dp->rpl))
            return false;
        rsize = istream_size(&dp->rpl);
        cv = C;
    }
    if (!istream_plan_make(cv, n, false, eff, tmp, cw, &dp->cpl))
        return false;
    dp->size = 3 + istream_size(&dp->cpl) + rsize;
    return true;
}

static void dec_emit(const dec_plan *dp, vt_buf *out)
{
    vt_buf_putc(out, ENC_F64_DECIMAL);
    vt_buf_putc(out, (uint8_t)dp->k);
    vt_buf_putc(out, (uint8_t)dp->s);
    istream_emit(&dp->cpl, dp->cwords, out);
    if (dp->s > 0)
        istream_emit(&dp->rpl, dp->rwords, out);
}

#define DEC_SCRATCH 7 /* arrays of n: I, C, R, tmp, words(s=0), words(C), words(R) */

/* Plans the best decimal encoding into *best (pointing into scratch, DEC_SCRATCH x n). */
static bool dec_best(const double *v, size_t n, enc_effort eff, uint64_t *scratch,
                     dec_plan *best)
{
    int64_t *I = (int64_t *)(void *)scratch;
    uint64_t *C = scratch + n, *R = scratch + 2 * n, *tmp = scratch + 3 * n;
    int k = dec_find_k(v, n, I);
    if (k < 0)
        return false;
    int bests = 0;
    if (k > 0 && eff == ENC_BEST) {
        size_t m = n < DEC_SAMPLE ? n : DEC_SAMPLE;
        uint64_t bestc = dec_estimate(I, m, 0);
        for (int s = 1; s <= k; s++) {
            uint64_t c = dec_estimate(I, m, s);
            if (c < bestc)
                bestc = c, bests = s;
        }
    }
    bool ok0 = dec_plan_make(I, n, k, 0, eff, C, R, tmp, scratch + 4 * n, NULL, best);
    if (bests > 0) {
        dec_plan alt;
        if (dec_plan_make(I, n, k, bests, eff, C, R, tmp, scratch + 5 * n, scratch + 6 * n,
                          &alt) &&
            (!ok0 || alt.size < best->size)) {
            *best = alt;
            ok0 = true;
        }
    }
    return ok0;
}

void enc_f64_encode(const double *v, size_t n, vt_buf *out)
{
    enc_f64_encode_e(v, n, ENC_BEST, out);
}

void enc_f64_encode_e(const double *v, size_t n, enc_effort eff, vt_buf *out)
{
    if (n == 0) {
        vt_buf_putc(out, ENC_F64_RAW);
        return;
    }
    size_t raw_sz = n > (SIZE_MAX - 1) / 8 ? SIZE_MAX : 1 + 8 * n;
    if (eff == ENC_QUICK && n <= (SIZE_MAX - 64) / 10) {
        /* one pass into room for the worst case (77 bits a value), raw when that is smaller */
        size_t at = out->len;
        vt_buf_putc(out, ENC_F64_GORILLA);
        if (!vt_buf_reserve(out, 10 * n + 16))
            return;
        bitw w = {out->data + out->len, 0, 0, 0};
        gorilla_stream(v, n, &w);
        bitw_flush(&w);
        if (1 + w.pos <= raw_sz) {
            out->len += w.pos;
        } else {
            out->len = at;
            raw64_encode(ENC_F64_RAW, (const uint64_t *)(const void *)v, n, out);
        }
        return;
    }
    uint64_t gbits = gorilla_stream(v, n, NULL);
    size_t g_sz = 1 + (size_t)((gbits + 7) / 8);
    uint64_t *scratch = scratch_alloc(n, DEC_SCRATCH);
    dec_plan dp;
    size_t d_sz = SIZE_MAX;
    if (scratch && dec_best(v, n, eff, scratch, &dp))
        d_sz = dp.size;
    if (d_sz <= g_sz && d_sz <= raw_sz) {
        dec_emit(&dp, out);
    } else if (g_sz <= raw_sz) {
        vt_buf_putc(out, ENC_F64_GORILLA);
        if (vt_buf_reserve(out, g_sz + 8)) {
            bitw w = {out->data + out->len, 0, 0, 0};
            gorilla_stream(v, n, &w);
            bitw_flush(&w);
            out->len += w.pos;
        }
    } else {
        raw64_encode(ENC_F64_RAW, (const uint64_t *)(const void *)v, n, out);
    }
    free(scratch);
}

static vt_rc dec_decode(const uint8_t *p, size_t len, double *v, size_t n, vt_err *err)
{
    const char *what = "decimal floats";
    if (len < 2)
        return vt_err_set(err, VT_ECORRUPT, "%s: truncated header", what);
    unsigned k = p[0], s = p[1];
    if (k > DEC_MAX_K || s > k)
        return vt_err_set(err, VT_ECORRUPT, "%s: bad scale k=%u s=%u", what, k, s);
    p += 2, len -= 2;
    uint64_t *sc = scratch_alloc(n, s ? 2 : 1);
    if (!sc)
        return vt_err_set(err, VT_ENOMEM, "%s: no memory for %zu values", what, n);
    size_t used = 0, used2 = 0;
    vt_rc rc = istream_decode(p, len, sc, n, false, &used, what, err);
    if (rc != VT_OK)
        goto cleanup;
    if (s) {
        rc = istream_decode(p + used, len - used, sc + n, n, false, &used2, "decimal residuals",
                            err);
        if (rc != VT_OK)
            goto cleanup;
    }
    if (used + used2 != len) {
        rc = vt_err_set(err, VT_ECORRUPT, "%s: %zu trailing bytes", what, len - used - used2);
        goto cleanup;
    }
    double pk = pow10_tab[k];
    if (s) {
        uint64_t ps = (uint64_t)ipow10_tab[s];
        for (size_t i = 0; i < n; i++)
            v[i] = (double)(int64_t)(sc[i] * ps + sc[n + i]) / pk;
    } else {
        for (size_t i = 0; i < n; i++)
            v[i] = (double)(int64_t)sc[i] / pk;
    }
cleanup:
    free(sc);
    return rc;
}

vt_rc enc_f64_decode(const uint8_t *p, size_t len, double *v, size_t n, vt_err *err)
{
    if (len < 1)
        return vt_err_set(err, VT_ECORRUPT, "floats: empty column (no tag)");
    uint8_t tag = p[0];
    if (tag != ENC_F64_RAW && tag != ENC_F64_GORILLA && tag != ENC_F64_DECIMAL)
        return vt_err_set(err, VT_ECORRUPT, "floats: unknown encoding tag 0x%02x", tag);
    if (n == 0)
        return empty_check(len, "floats", err);
    p++, len--;
    switch (tag) {
    case ENC_F64_RAW:
        return raw64_decode(p, len, (uint64_t *)(void *)v, n, "raw floats", err);
    case ENC_F64_GORILLA:
        return gorilla_decode(p, len, v, n, err);
    default:
        return dec_decode(p, len, v, n, err);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Integers                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static void int_encode(const uint64_t *v, size_t n, bool is_unsigned, enc_effort eff, vt_buf *out)
{
    uint8_t raw_tag = is_unsigned ? ENC_U64_RAW : ENC_I64_RAW;
    uint8_t s8_tag = is_unsigned ? ENC_U64_SIMPLE8B : ENC_I64_SIMPLE8B;
    if (n == 0) {
        vt_buf_putc(out, raw_tag);
        return;
    }
    size_t raw_sz = n > (SIZE_MAX - 1) / 8 ? SIZE_MAX : 1 + 8 * n;
    uint64_t step;
    if (!is_unsigned && const_step(v, n, &step) && rle_size(v, n, step) <= raw_sz) {
        rle_emit(ENC_I64_RLE, v, n, step, out);
        return;
    }
    uint64_t *scratch = scratch_alloc(n, 2);
    istream_plan pl;
    if (scratch && istream_plan_make(v, n, is_unsigned, eff, scratch, scratch + n, &pl) &&
        1 + istream_size(&pl) <= raw_sz) {
        vt_buf_putc(out, s8_tag);
        istream_emit(&pl, scratch + n, out);
    } else {
        raw64_encode(raw_tag, v, n, out);
    }
    free(scratch);
}

static vt_rc int_decode(const uint8_t *p, size_t len, uint64_t *v, size_t n, bool is_unsigned,
                        vt_err *err)
{
    const char *what = is_unsigned ? "unsigned" : "integers";
    if (len < 1)
        return vt_err_set(err, VT_ECORRUPT, "%s: empty column (no tag)", what);
    uint8_t tag = p[0];
    bool known = is_unsigned ? (tag == ENC_U64_RAW || tag == ENC_U64_SIMPLE8B)
                             : (tag == ENC_I64_RAW || tag == ENC_I64_SIMPLE8B || tag == ENC_I64_RLE);
    if (!known)
        return vt_err_set(err, VT_ECORRUPT, "%s: unknown encoding tag 0x%02x", what, tag);
    if (n == 0)
        return empty_check(len, what, err);
    p++, len--;
    if (tag == ENC_U64_RAW || tag == ENC_I64_RAW)
        return raw64_decode(p, len, v, n, is_unsigned ? "raw unsigned" : "raw integers", err);
    if (tag == ENC_I64_RLE)
        return rle_decode(p, len, v, n, "rle integers", err);
    const char *s8what = is_unsigned ? "simple8b unsigned" : "simple8b integers";
    size_t used;
    vt_rc rc = istream_decode(p, len, v, n, is_unsigned, &used, s8what, err);
    if (rc == VT_OK && used != len)
        return vt_err_set(err, VT_ECORRUPT, "%s: %zu trailing bytes", s8what, len - used);
    return rc;
}

void enc_i64_encode(const int64_t *v, size_t n, vt_buf *out)
{
    enc_i64_encode_e(v, n, ENC_BEST, out);
}

void enc_i64_encode_e(const int64_t *v, size_t n, enc_effort eff, vt_buf *out)
{
    int_encode((const uint64_t *)(const void *)v, n, false, eff, out);
}

vt_rc enc_i64_decode(const uint8_t *p, size_t len, int64_t *v, size_t n, vt_err *err)
{
    return int_decode(p, len, (uint64_t *)(void *)v, n, false, err);
}

void enc_u64_encode(const uint64_t *v, size_t n, vt_buf *out)
{
    enc_u64_encode_e(v, n, ENC_BEST, out);
}

void enc_u64_encode_e(const uint64_t *v, size_t n, enc_effort eff, vt_buf *out)
{
    int_encode(v, n, true, eff, out);
}

vt_rc enc_u64_decode(const uint8_t *p, size_t len, uint64_t *v, size_t n, vt_err *err)
{
    return int_decode(p, len, v, n, true, err);
}

/* ------------------------------------------------------------------------------------------ */
/* Booleans                                                                                    */
/* ------------------------------------------------------------------------------------------ */

void enc_bool_encode(const bool *v, size_t n, vt_buf *out)
{
    size_t nb = n / 8 + (n % 8 != 0);
    vt_buf_putc(out, ENC_BOOL_BITS);
    if (nb == 0 || !vt_buf_reserve(out, nb))
        return;
    uint8_t *d = out->data + out->len;
    memset(d, 0, nb);
    for (size_t i = 0; i < n; i++)
        d[i >> 3] |= (uint8_t)((v[i] ? 1u : 0u) << (i & 7));
    out->len += nb;
}

vt_rc enc_bool_decode(const uint8_t *p, size_t len, bool *v, size_t n, vt_err *err)
{
    if (len < 1)
        return vt_err_set(err, VT_ECORRUPT, "booleans: empty column (no tag)");
    if (p[0] != ENC_BOOL_BITS)
        return vt_err_set(err, VT_ECORRUPT, "booleans: unknown encoding tag 0x%02x", p[0]);
    size_t nb = n / 8 + (n % 8 != 0);
    if (len - 1 != nb)
        return vt_err_set(err, VT_ECORRUPT, "booleans: %zu bytes for %zu values (want %zu)",
                          len - 1, n, nb);
    p++;
    for (size_t i = 0; i < n; i++)
        v[i] = (p[i >> 3] >> (i & 7)) & 1;
    if (n % 8 && (p[nb - 1] >> (n % 8)))
        return vt_err_set(err, VT_ECORRUPT, "booleans: non-zero padding bits");
    return VT_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Strings                                                                                     */
/* ------------------------------------------------------------------------------------------ */

void enc_str_encode(const vt_str *v, size_t n, vt_buf *out)
{
    size_t start = out->len;
    vt_buf_putc(out, ENC_STR_RAW);
    for (size_t i = 0; i < n; i++)
        vt_buf_put_uvarint(out, v[i].len);
    for (size_t i = 0; i < n; i++)
        vt_buf_append(out, v[i].ptr, v[i].len);
    if (out->oom)
        return;
    size_t raw_len = out->len - start - 1;
    if (raw_len < STR_ZSTD_MIN || raw_len > STR_MAX_RAW)
        return;
    size_t bound = ZSTD_compressBound(raw_len);
    uint8_t *z = malloc(bound);
    if (!z)
        return; /* RAW stays: smaller would have been nice, not required */
    size_t zn = ZSTD_compress(z, bound, out->data + start + 1, raw_len, 3);
    if (!ZSTD_isError(zn) && 1 + uvarint_len(raw_len) + zn < 1 + raw_len) {
        out->len = start;
        vt_buf_putc(out, ENC_STR_ZSTD);
        vt_buf_put_uvarint(out, raw_len);
        vt_buf_append(out, z, zn);
    }
    free(z);
}

/* Parses a RAW body (lengths then bytes) at body[0..len): fills v[i].len (not ptr) and sets
 * *bytes_off to where the bytes section starts; the lengths must add up to exactly the rest. */
static vt_rc str_parse(const uint8_t *body, size_t len, vt_str *v, size_t n, size_t *bytes_off,
                       const char *what, vt_err *err)
{
    vt_reader r;
    vt_reader_init(&r, body, len);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t l;
        if (!vt_read_uvarint(&r, &l))
            return vt_err_set(err, VT_ECORRUPT, "%s: lengths end after %zu of %zu strings", what,
                              i, n);
        if (l > len || total + l > len)
            return vt_err_set(err, VT_ECORRUPT,
                              "%s: string %zu of %llu bytes runs past the end (%zu bytes)", what,
                              i, (unsigned long long)l, len);
        v[i].len = (size_t)l;
        total += (size_t)l;
    }
    size_t off = (size_t)(r.p - body);
    if (len - off != total)
        return vt_err_set(err, VT_ECORRUPT, "%s: lengths sum to %zu, %zu bytes follow", what,
                          total, len - off);
    *bytes_off = off;
    return VT_OK;
}

/* Decompresses the zstd frame src into the arena at arena->len (len not advanced); exactly
 * raw_len bytes must come out. The arena grows only as output is actually produced. */
static vt_rc str_unzstd(const uint8_t *src, size_t srclen, uint64_t raw_len, vt_buf *arena,
                        vt_err *err)
{
    const char *what = "zstd strings";
    vt_rc rc = VT_OK;
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    if (!dctx)
        return vt_err_set(err, VT_ENOMEM, "%s: no memory for a decompression context", what);
    ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, 23);
    size_t limit = (size_t)raw_len + 1; /* one more byte than declared detects overruns */
    size_t cap = srclen < limit / 32 ? srclen * 32 : limit;
    if (cap < 65536)
        cap = limit < 65536 ? limit : 65536;
    ZSTD_inBuffer in = {src, srclen, 0};
    size_t produced = 0;
    for (;;) {
        if (!vt_buf_reserve(arena, cap)) {
            rc = vt_err_set(err, VT_ENOMEM, "%s: no memory for %zu bytes", what, cap);
            goto cleanup;
        }
        ZSTD_outBuffer o = {arena->data + arena->len, cap, produced};
        size_t ret = ZSTD_decompressStream(dctx, &o, &in);
        produced = o.pos;
        if (ZSTD_isError(ret)) {
            rc = vt_err_set(err, VT_ECORRUPT, "%s: %s", what, ZSTD_getErrorName(ret));
            goto cleanup;
        }
        if (produced >= limit) {
            rc = vt_err_set(err, VT_ECORRUPT, "%s: more than the declared %llu bytes", what,
                            (unsigned long long)raw_len);
            goto cleanup;
        }
        if (ret == 0)
            break;
        if (o.pos == o.size) {
            cap = cap > limit / 2 ? limit : cap * 2;
            continue;
        }
        if (in.pos == in.size) {
            rc = vt_err_set(err, VT_ECORRUPT, "%s: frame truncated after %zu bytes of output",
                            what, produced);
            goto cleanup;
        }
    }
    if (in.pos != in.size)
        rc = vt_err_set(err, VT_ECORRUPT, "%s: %zu trailing bytes after the frame", what,
                        in.size - in.pos);
    else if (produced != raw_len)
        rc = vt_err_set(err, VT_ECORRUPT, "%s: %zu bytes, header says %llu", what, produced,
                        (unsigned long long)raw_len);
cleanup:
    ZSTD_freeDCtx(dctx);
    return rc;
}

vt_rc enc_str_decode(const uint8_t *p, size_t len, vt_str *v, size_t n, vt_buf *arena,
                     vt_err *err)
{
    if (len < 1)
        return vt_err_set(err, VT_ECORRUPT, "strings: empty column (no tag)");
    uint8_t tag = p[0];
    if (tag != ENC_STR_RAW && tag != ENC_STR_ZSTD)
        return vt_err_set(err, VT_ECORRUPT, "strings: unknown encoding tag 0x%02x", tag);
    if (n == 0)
        return empty_check(len, "strings", err);
    p++, len--;
    size_t base = arena->len, bytes_off;
    vt_rc rc;
    if (tag == ENC_STR_RAW) {
        rc = str_parse(p, len, v, n, &bytes_off, "raw strings", err);
        if (rc != VT_OK)
            return rc;
        size_t total = len - bytes_off;
        if (!vt_buf_reserve(arena, total))
            return vt_err_set(err, VT_ENOMEM, "raw strings: no memory for %zu bytes", total);
        if (total)
            memcpy(arena->data + base, p + bytes_off, total);
        arena->len = base + total;
        bytes_off = 0;
    } else {
        vt_reader r;
        uint64_t raw_len;
        vt_reader_init(&r, p, len);
        if (!vt_read_uvarint(&r, &raw_len))
            return vt_err_set(err, VT_ECORRUPT, "zstd strings: truncated header");
        if (raw_len > STR_MAX_RAW)
            return vt_err_set(err, VT_ECORRUPT, "zstd strings: raw size %llu over the limit",
                              (unsigned long long)raw_len);
        rc = str_unzstd(r.p, vt_reader_left(&r), raw_len, arena, err);
        if (rc != VT_OK)
            return rc;
        rc = str_parse(arena->data + base, (size_t)raw_len, v, n, &bytes_off, "zstd strings",
                       err);
        if (rc != VT_OK)
            return rc;
        arena->len = base + (size_t)raw_len;
    }
    /* The arena no longer grows: turn offsets into pointers. */
    size_t off = base + bytes_off;
    for (size_t i = 0; i < n; i++) {
        v[i].ptr = (const char *)arena->data + off;
        off += v[i].len;
    }
    return VT_OK;
}

/* ------------------------------------------------------------------------------------------ */

const char *enc_name(uint8_t tag)
{
    switch (tag) {
    case ENC_TS_RAW: return "ts-raw";
    case ENC_TS_DOD: return "dod";
    case ENC_TS_SIMPLE8B: return "ts-simple8b";
    case ENC_TS_RLE: return "ts-rle";
    case ENC_F64_RAW: return "f64-raw";
    case ENC_F64_GORILLA: return "gorilla";
    case ENC_F64_DECIMAL: return "decimal";
    case ENC_I64_SIMPLE8B: return "i64-simple8b";
    case ENC_I64_RLE: return "i64-rle";
    case ENC_I64_RAW: return "i64-raw";
    case ENC_U64_SIMPLE8B: return "u64-simple8b";
    case ENC_U64_RAW: return "u64-raw";
    case ENC_BOOL_BITS: return "bool-bits";
    case ENC_STR_ZSTD: return "str-zstd";
    case ENC_STR_RAW: return "str-raw";
    default: return "unknown";
    }
}
