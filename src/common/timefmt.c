/*
 * common/timefmt.c — Go-exact number / time / duration text, and InfluxQL time literals.
 *
 * SHORTEST FLOAT DIGITS. Go prints float64 with the fewest significant digits N that read back
 * to the same double, and among the N-digit candidates the one closest to the exact value. We
 * get the same answer from the C library, which rounds correctly both ways (glibc printf and
 * strtod are exact):
 *   - the round-trip set of v is an interval I containing v; an N-digit decimal lies in I iff
 *     one of the two N-digit decimals bracketing v does (I is convex), and the nearer of those is
 *     printf("%.{N-1}e") (correct rounding). So "some N-digit decimal round-trips" is decided by
 *     testing that one and, if it fails, its other bracketing neighbour (one unit in the last
 *     digit towards v); the first that reads back as v is Go's choice.
 *   - that predicate is monotone in N (pad with a zero), so the minimal N is found by binary
 *     search over 1..17 (17 always works): about five printf/strtod pairs per number.
 * Known residual difference: when both bracketing 17-digit neighbours round-trip and v lies
 * exactly halfway between them, glibc picks the even one; Go's Ryu breaks that tie the same way
 * for all cases we could construct, but it has not been proven for every double.
 * The C locale's '.' is assumed for printf/strtod (the server never calls setlocale).
 *
 * DECIMAL FAST PATH. Most stored values are decimals with a few places (5251.451). For them the
 * search above is replaced by arithmetic, with the same result for every double:
 *   - for k = 0, 1, ...: m = round(|v| x 10^k); accept when m < 10^15 and m / 10^k reads back as
 *     v. The read-back test is exact without strtod: m < 2^53 and 10^k (k <= 22) are exact
 *     doubles, and IEEE division rounds correctly, so (double)m / 1e{k} is the double nearest to
 *     the decimal m x 10^-k — what strtod returns for it (Clinger's fast path).
 *   - then m x 10^-k (trailing zeros dropped) is the shortest text and the one the search prints:
 *     it has at most 15 significant digits, and two different decimals of at most DBL_DIG = 15
 *     digits never read back as the same normal double; so no shorter decimal reads back as v,
 *     no other one of the same length does either, and printf("%.14e", v) (correctly rounded to
 *     15 digits) is this decimal padded with zeros — the search's own first test accepts it.
 *   - a candidate m that fails the test only means the search runs: the fast path can be missed
 *     (the product |v| x 10^k is rounded), never wrong. tests/unit/test_fmt_float.c compares it
 *     with the search (kept there verbatim) over millions of doubles.
 *
 * TIMES. vt_fmt_rfc3339nano_memo keeps the last date printed and the zone interval it lies in,
 * so a row of a result costs a few divisions and two-digit table copies (no printf).
 *
 * TIME LITERALS. The Go 1.19 layout parser is reproduced for the two layouts InfluxQL tries
 * ("2006-01-02 15:04:05.999999", then RFC3339Nano) and the date-only one; see timefmt.h for the
 * accepted forms, all verified against InfluxDB 1.6.7.
 */
#include "common/timefmt.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pow10.h"

#define NS_PER_SEC 1000000000LL

static int64_t tf_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

/* ---- integers ---- */

static const char tf_digits2[201] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                    "8081828384858687888990919293949596979899";

/* Writes u's digits ending just before `end`; returns where they start. */
static char *tf_u64_back(char *end, uint64_t u)
{
    while (u >= 100) {
        unsigned r = (unsigned)(u % 100);
        u /= 100;
        end -= 2;
        memcpy(end, tf_digits2 + 2 * r, 2);
    }
    if (u >= 10) {
        end -= 2;
        memcpy(end, tf_digits2 + 2 * u, 2);
    } else {
        *--end = (char)('0' + u);
    }
    return end;
}

size_t vt_fmt_u64(char out[VT_FMT_INT_MAX], uint64_t v)
{
    char tmp[VT_FMT_INT_MAX];
    char *p = tf_u64_back(tmp + sizeof tmp, v);
    size_t n = (size_t)(tmp + sizeof tmp - p);
    memcpy(out, p, n);
    out[n] = '\0';
    return n;
}

size_t vt_fmt_i64(char out[VT_FMT_INT_MAX], int64_t v)
{
    char tmp[VT_FMT_INT_MAX];
    char *p = tf_u64_back(tmp + sizeof tmp, v < 0 ? -(uint64_t)v : (uint64_t)v);
    if (v < 0)
        *--p = '-';
    size_t n = (size_t)(tmp + sizeof tmp - p);
    memcpy(out, p, n);
    out[n] = '\0';
    return n;
}

/* ---- decimal fast path (see the design note) ---- */


/* a (finite, > 0) is the double nearest to m x 10^-k with m < 10^15, m % 10 != 0 unless k = 0:
 * true and *m, *k set. false: no such decimal was found (the caller uses the search). */
static bool tf_decimal(double a, uint64_t *m, int *k)
{
    if (!(a >= 1e-22 && a < 1e15))
        return false;
    for (int e = 0; e <= 22; e++) {
        double s = a * vt_pow10_f64[e];
        if (s >= 1e15)
            return false;
        int64_t c = (int64_t)(s + 0.5); /* s < 10^15: fits, and converts back exactly */
        double r = (double)c;
        /* an exact m lies within about s x 2^-52 of s (v's rounding and the product's): skip
         * the division otherwise (the bound is 4x that; a skip only means the search runs) */
        if (!(fabs(s - r) <= s * 0x1p-50) || c == 0)
            continue;
        if (r / vt_pow10_f64[e] != a)
            continue;
        while (e > 0 && c % 10 == 0) {
            c /= 10;
            e--;
        }
        *m = (uint64_t)c;
        *k = e;
        return true;
    }
    return false;
}

/* strconv 'f' text of the decimal (-1)^neg x m x 10^-k (k <= 22, m < 10^15, m % 10 != 0 when
 * k > 0). NUL-terminated; returns the length (at most 1 + 23 + 1 + 22 characters). */
static size_t tf_put_decimal_f(char *out, bool neg, uint64_t m, int k)
{
    char *p = out;
    if (neg)
        *p++ = '-';
    uint64_t ip = k < 16 ? m / vt_pow10_u64[k] : 0, fr = k < 16 ? m % vt_pow10_u64[k] : m;
    char tmp[24];
    char *q = tf_u64_back(tmp + sizeof tmp, ip);
    size_t n = (size_t)(tmp + sizeof tmp - q);
    memcpy(p, q, n);
    p += n;
    if (fr) {
        *p++ = '.';
        q = tf_u64_back(tmp + sizeof tmp, fr);
        n = (size_t)(tmp + sizeof tmp - q);
        for (size_t z = n; z < (size_t)k; z++)
            *p++ = '0';
        memcpy(p, q, n);
        p += n;
    }
    *p = '\0';
    return (size_t)(p - out);
}

/* ---- shortest float digits ---- */

/* Parses printf("%.*e") output into digits (n of them) and a decimal exponent. */
static int tf_parse_e(const char *buf, char *dig, int *exp10)
{
    int n = 0;
    const char *p = buf;
    while (*p && *p != 'e') {
        if (*p >= '0' && *p <= '9')
            dig[n++] = *p;
        p++;
    }
    *exp10 = *p == 'e' ? atoi(p + 1) : 0;
    return n;
}

static double tf_read(const char *dig, int n, int exp10)
{
    char buf[48];
    int k = 0;
    buf[k++] = dig[0];
    if (n > 1) {
        buf[k++] = '.';
        memcpy(buf + k, dig + 1, (size_t)n - 1);
        k += n - 1;
    }
    snprintf(buf + k, sizeof buf - (size_t)k, "e%d", exp10);
    return strtod(buf, NULL);
}

/* Tries N significant digits; on success fills dig/exp10 and returns true. */
static bool tf_try(double v, int n, char *dig, int *exp10)
{
    char buf[48];
    snprintf(buf, sizeof buf, "%.*e", n - 1, v);
    int got = tf_parse_e(buf, dig, exp10);
    if (got != n)
        return false;
    double r = strtod(buf, NULL);
    if (r == v)
        return true;
    /* the other bracketing neighbour: one unit in the last digit towards v */
    if (r < v) {
        int i = n - 1;
        while (i >= 0 && dig[i] == '9')
            dig[i--] = '0';
        if (i < 0) {
            dig[0] = '1';
            (*exp10)++;
        } else {
            dig[i]++;
        }
    } else {
        int i = n - 1;
        while (i >= 0 && dig[i] == '0')
            dig[i--] = '9';
        dig[i]--; /* i >= 0: dig[0] is never '0' */
        if (dig[0] == '0') {
            memmove(dig, dig + 1, (size_t)n - 1);
            dig[n - 1] = '9';
            (*exp10)--;
        }
    }
    return tf_read(dig, n, *exp10) == v;
}

/* The printf/strtod search of the design note (any finite non-zero v). */
static int tf_shortest_search(double v, char digits[18], int *dp)
{
    v = fabs(v);
    char dig[24];
    int e10 = 0;
    int lo = 1, hi = 17; /* invariant: hi works */
    /* Fast path: when 15 significant digits round-trip, those digits without their trailing
     * zeros are the shortest form (two decimals of at most 15 digits are never the same double,
     * and v lies within 2^-53 relative of that decimal, well inside its 15-digit rounding). Most
     * stored values (meter readings with a few decimals) take this path: one print, one parse. */
    bool fast = false;
    if (v >= DBL_MIN) {
        char buf[48];
        snprintf(buf, sizeof buf, "%.14e", v);
        fast = strtod(buf, NULL) == v && tf_parse_e(buf, dig, &e10) == 15;
        if (fast)
            lo = hi = 15;
    }
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (tf_try(v, mid, dig, &e10))
            hi = mid;
        else
            lo = mid + 1;
    }
    if (!fast && !tf_try(v, hi, dig, &e10)) { /* cannot happen for a finite double; be safe */
        char buf[48];
        snprintf(buf, sizeof buf, "%.16e", v);
        hi = tf_parse_e(buf, dig, &e10);
    }
    int n = hi;
    while (n > 1 && dig[n - 1] == '0')
        n--;
    memcpy(digits, dig, (size_t)n);
    digits[n] = '\0';
    *dp = e10 + 1;
    return n;
}

int vt_fmt_shortest_digits(double v, char digits[18], int *dp)
{
    uint64_t m;
    int k;
    if (!tf_decimal(fabs(v), &m, &k))
        return tf_shortest_search(v, digits, dp);
    char tmp[24];
    char *q = tf_u64_back(tmp + sizeof tmp, m);
    int n = (int)(tmp + sizeof tmp - q);
    *dp = n - k;
    while (n > 1 && q[n - 1] == '0') /* k = 0: 1500 -> "15", dp 4 */
        n--;
    memcpy(digits, q, (size_t)n);
    digits[n] = '\0';
    return n;
}

/* Go strconv 'f' / 'e' with precision -1. cap must hold the result + NUL. */
static size_t tf_format_go(char *out, double v, char fmt)
{
    size_t k = 0;
    if (signbit(v))
        out[k++] = '-';
    char d[18];
    int nd = 0, dp = 0;
    if (v != 0)
        nd = vt_fmt_shortest_digits(v, d, &dp);
    if (fmt == 'e') {
        out[k++] = nd ? d[0] : '0';
        if (nd > 1) {
            out[k++] = '.';
            memcpy(out + k, d + 1, (size_t)nd - 1);
            k += (size_t)nd - 1;
        }
        int exp = nd ? dp - 1 : 0;
        out[k++] = 'e';
        out[k++] = exp < 0 ? '-' : '+';
        if (exp < 0)
            exp = -exp;
        if (exp < 10) {
            out[k++] = '0';
            out[k++] = (char)('0' + exp);
        } else if (exp < 100) {
            out[k++] = (char)('0' + exp / 10);
            out[k++] = (char)('0' + exp % 10);
        } else {
            out[k++] = (char)('0' + exp / 100);
            out[k++] = (char)('0' + exp / 10 % 10);
            out[k++] = (char)('0' + exp % 10);
        }
    } else {
        if (dp > 0) {
            int m = nd < dp ? nd : dp;
            memcpy(out + k, d, (size_t)m);
            k += (size_t)m;
            for (; m < dp; m++)
                out[k++] = '0';
        } else {
            out[k++] = '0';
        }
        int prec = nd - dp > 0 ? nd - dp : 0;
        if (prec > 0) {
            out[k++] = '.';
            for (int i = 1; i <= prec; i++) {
                int j = dp + i - 1;
                out[k++] = j >= 0 && j < nd ? d[j] : '0';
            }
        }
    }
    out[k] = '\0';
    return k;
}

size_t vt_fmt_json_float(char out[VT_FMT_JSON_FLOAT_MAX], double v)
{
    if (!isfinite(v)) {
        out[0] = '\0';
        return 0;
    }
    double a = fabs(v);
    uint64_t m;
    int k;
    if (a == 0)
        return tf_put_decimal_f(out, signbit(v), 0, 0);
    if (a >= 1e-6 && tf_decimal(a, &m, &k)) /* tf_decimal: a < 1e15 < 1e21 */
        return tf_put_decimal_f(out, signbit(v), m, k);
    char fmt = a < 1e-6 || a >= 1e21 ? 'e' : 'f';
    size_t n = tf_format_go(out, v, fmt);
    if (fmt == 'e' && n >= 4 && out[n - 4] == 'e' && out[n - 3] == '-' && out[n - 2] == '0') {
        out[n - 2] = out[n - 1];
        out[--n] = '\0';
    }
    return n;
}

size_t vt_fmt_csv_float(char out[VT_FMT_CSV_FLOAT_MAX], double v)
{
    const char *s = NULL;
    if (isnan(v))
        s = "NaN";
    else if (isinf(v))
        s = v > 0 ? "+Inf" : "-Inf";
    if (s) {
        size_t n = strlen(s);
        memcpy(out, s, n + 1);
        return n;
    }
    uint64_t m;
    int k;
    if (v == 0)
        return tf_put_decimal_f(out, signbit(v), 0, 0);
    if (tf_decimal(fabs(v), &m, &k))
        return tf_put_decimal_f(out, signbit(v), m, k);
    return tf_format_go(out, v, 'f');
}

/* ---- times ---- */

/* Go's appendInt(b, x, width): sign, then zero-padded to width. */
static size_t tf_put_int(char *out, int64_t x, int width)
{
    char tmp[24];
    size_t k = 0, n = 0;
    uint64_t u = (uint64_t)x;
    if (x < 0) {
        out[k++] = '-';
        u = -u;
    }
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    for (int w = (int)n; w < width; w++)
        out[k++] = '0';
    while (n)
        out[k++] = tmp[--n];
    return k;
}

/* ".ddd" of nsec (0..999999999) with trailing zeros trimmed; nothing for 0. Returns the length. */
static size_t tf_put_frac(char *out, int32_t nsec)
{
    if (nsec == 0)
        return 0;
    uint32_t u = (uint32_t)nsec;
    int n = 9;
    while (u % 10 == 0) {
        u /= 10;
        n--;
    }
    out[0] = '.';
    for (int i = n; i > 0; i--) {
        out[i] = (char)('0' + u % 10);
        u /= 10;
    }
    return (size_t)n + 1;
}

/* "Z" for offset 0, else "+hh:mm" / "-hh:mm" (Go truncates the minutes toward zero). */
static size_t tf_put_zone(char *out, int32_t offset)
{
    size_t k = 0;
    if (offset == 0) {
        out[k++] = 'Z';
        return k;
    }
    int zone = offset / 60;
    if (zone < 0) {
        out[k++] = '-';
        zone = -zone;
    } else {
        out[k++] = '+';
    }
    k += tf_put_int(out + k, zone / 60, 2);
    out[k++] = ':';
    k += tf_put_int(out + k, zone % 60, 2);
    return k;
}

size_t vt_fmt_go_time(char out[VT_FMT_TIME_MAX], int64_t sec, int32_t nsec, int32_t offset,
                      bool frac)
{
    int64_t local = sec + offset;
    int64_t days = tf_floor_div(local, 86400);
    int64_t sod = local - days * 86400;
    int64_t y;
    unsigned mo, d;
    vt_civil_from_days(days, &y, &mo, &d);
    size_t k = tf_put_int(out, y, 4);
    out[k++] = '-';
    k += tf_put_int(out + k, mo, 2);
    out[k++] = '-';
    k += tf_put_int(out + k, d, 2);
    out[k++] = 'T';
    k += tf_put_int(out + k, sod / 3600, 2);
    out[k++] = ':';
    k += tf_put_int(out + k, sod / 60 % 60, 2);
    out[k++] = ':';
    k += tf_put_int(out + k, sod % 60, 2);
    if (frac)
        k += tf_put_frac(out + k, nsec);
    k += tf_put_zone(out + k, offset);
    out[k] = '\0';
    return k;
}

static void tf_split_ns(int64_t ns, int64_t *sec, int32_t *nsec)
{
    *sec = tf_floor_div(ns, NS_PER_SEC);
    int64_t r = ns % NS_PER_SEC;
    if (r < 0)
        r += NS_PER_SEC;
    *nsec = (int32_t)r;
}

void vt_fmt_time_memo_init(vt_fmt_time_memo *memo)
{
    memset(memo, 0, sizeof *memo);
    memo->zone_start = 0;
    memo->zone_end = 0; /* empty: the first call looks the zone up */
    memo->day = INT64_MIN;
}

size_t vt_fmt_rfc3339nano_memo(vt_fmt_time_memo *memo, char out[VT_FMT_TIME_MAX], int64_t ns,
                               const vt_tz *tz)
{
    int64_t sec;
    int32_t nsec;
    tf_split_ns(ns, &sec, &nsec);
    if (tz != memo->tz || sec < memo->zone_start || sec >= memo->zone_end) {
        memo->tz = tz;
        if (tz) {
            vt_tz_lookup(tz, sec, &memo->offset, &memo->zone_start, &memo->zone_end, NULL);
        } else {
            memo->offset = 0;
            memo->zone_start = INT64_MIN;
            memo->zone_end = INT64_MAX;
        }
        if (!(sec >= memo->zone_start && sec < memo->zone_end)) { /* no usable interval */
            memo->zone_start = memo->zone_end = 0;
            memo->tz = NULL;
            int32_t off = 0;
            if (tz)
                vt_tz_lookup(tz, sec, &off, NULL, NULL, NULL);
            return vt_fmt_go_time(out, sec, nsec, off, true);
        }
    }
    int64_t local = sec + memo->offset;
    int64_t day = tf_floor_div(local, 86400);
    int64_t sod = local - day * 86400;
    if (day != memo->day) {
        int64_t y;
        unsigned mo, d;
        vt_civil_from_days(day, &y, &mo, &d);
        size_t k = tf_put_int(memo->date, y, 4);
        memo->date[k++] = '-';
        memcpy(memo->date + k, tf_digits2 + 2 * mo, 2);
        memo->date[k + 2] = '-';
        memcpy(memo->date + k + 3, tf_digits2 + 2 * d, 2);
        memo->date[k + 5] = 'T';
        memo->datelen = k + 6;
        memo->day = day;
    }
    size_t k = memo->datelen;
    memcpy(out, memo->date, k);
    unsigned h = (unsigned)(sod / 3600), mi = (unsigned)(sod / 60 % 60), se = (unsigned)(sod % 60);
    memcpy(out + k, tf_digits2 + 2 * h, 2);
    out[k + 2] = ':';
    memcpy(out + k + 3, tf_digits2 + 2 * mi, 2);
    out[k + 5] = ':';
    memcpy(out + k + 6, tf_digits2 + 2 * se, 2);
    k += 8;
    k += tf_put_frac(out + k, nsec);
    k += tf_put_zone(out + k, memo->offset);
    out[k] = '\0';
    return k;
}


size_t vt_fmt_rfc3339nano(char out[VT_FMT_TIME_MAX], int64_t ns)
{
    int64_t sec;
    int32_t nsec;
    tf_split_ns(ns, &sec, &nsec);
    return vt_fmt_go_time(out, sec, nsec, 0, true);
}

size_t vt_fmt_rfc3339nano_tz(char out[VT_FMT_TIME_MAX], int64_t ns, const vt_tz *tz)
{
    int64_t sec;
    int32_t nsec, off = 0;
    tf_split_ns(ns, &sec, &nsec);
    if (tz)
        vt_tz_lookup(tz, sec, &off, NULL, NULL, NULL);
    return vt_fmt_go_time(out, sec, nsec, off, true);
}

/* ---- durations ---- */

size_t vt_duration_format_influxql(char out[VT_FMT_DURATION_MAX], int64_t d)
{
    static const struct {
        int64_t unit;
        const char *suffix;
    } units[] = {
        {7LL * 24 * 3600 * NS_PER_SEC, "w"}, {24LL * 3600 * NS_PER_SEC, "d"},
        {3600LL * NS_PER_SEC, "h"},          {60LL * NS_PER_SEC, "m"},
        {NS_PER_SEC, "s"},                   {1000000, "ms"},
        {1000, "u"},                         {1, "ns"},
    };
    if (d == 0) {
        memcpy(out, "0s", 3);
        return 2;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (d % units[i].unit == 0) {
            size_t k = tf_put_int(out, d / units[i].unit, 0);
            size_t sl = strlen(units[i].suffix);
            memcpy(out + k, units[i].suffix, sl + 1);
            return k + sl;
        }
    return 0; /* unreachable: unit 1 divides everything */
}

/* Go's fmtFrac: writes ".ddd" (trailing zeros and an all-zero fraction omitted) for v % 10^prec
 * backwards ending at buf[w]; returns the new w and v / 10^prec. */
static int tf_frac(char *buf, int w, uint64_t *v, int prec)
{
    bool print = false;
    for (int i = 0; i < prec; i++) {
        unsigned digit = (unsigned)(*v % 10);
        print = print || digit != 0;
        if (print)
            buf[--w] = (char)('0' + digit);
        *v /= 10;
    }
    if (print)
        buf[--w] = '.';
    return w;
}

static int tf_int_back(char *buf, int w, uint64_t v)
{
    if (v == 0) {
        buf[--w] = '0';
        return w;
    }
    while (v > 0) {
        buf[--w] = (char)('0' + v % 10);
        v /= 10;
    }
    return w;
}

size_t vt_duration_format_go(char out[VT_FMT_DURATION_MAX], int64_t d)
{
    char buf[32];
    int w = (int)sizeof buf;
    uint64_t u = (uint64_t)d;
    bool neg = d < 0;
    if (neg)
        u = -u;
    if (u < (uint64_t)NS_PER_SEC) {
        int prec;
        buf[--w] = 's';
        if (u == 0) {
            memcpy(out, "0s", 3);
            return 2;
        } else if (u < 1000) {
            prec = 0;
            buf[--w] = 'n';
        } else if (u < 1000000) {
            prec = 3;
            buf[--w] = (char)0xB5; /* U+00B5 MICRO SIGN in UTF-8: C2 B5 */
            buf[--w] = (char)0xC2;
        } else {
            prec = 6;
            buf[--w] = 'm';
        }
        w = tf_frac(buf, w, &u, prec);
        w = tf_int_back(buf, w, u);
    } else {
        buf[--w] = 's';
        w = tf_frac(buf, w, &u, 9);
        w = tf_int_back(buf, w, u % 60);
        u /= 60;
        if (u > 0) {
            buf[--w] = 'm';
            w = tf_int_back(buf, w, u % 60);
            u /= 60;
            if (u > 0) {
                buf[--w] = 'h';
                w = tf_int_back(buf, w, u);
            }
        }
    }
    if (neg)
        buf[--w] = '-';
    size_t n = sizeof buf - (size_t)w;
    memcpy(out, buf + w, n);
    out[n] = '\0';
    return n;
}

/* ---- time literals ---- */

static bool tf_digit(const char *s, size_t len, size_t i)
{
    return i < len && s[i] >= '0' && s[i] <= '9';
}

static bool tf_date_prefix(const char *s, size_t len)
{
    if (len < 10)
        return false;
    for (size_t i = 0; i < 10; i++) {
        bool want_dash = i == 4 || i == 7;
        if (want_dash ? s[i] != '-' : !tf_digit(s, len, i))
            return false;
    }
    return true;
}

bool vt_time_is_literal(const char *s, size_t len)
{
    if (!tf_date_prefix(s, len))
        return false;
    return len == 10 || s[10] != '\n';
}

typedef struct tf_fields {
    int64_t year;
    int mon, day, hour, min, sec;
    int32_t nsec;
    int zone; /* 0 none (use loc), 1 'Z', 2 numeric offset */
    int32_t offset;
} tf_fields;

/* Go getnum(value, fixed): one digit, or two when the second is a digit (required if fixed). */
static bool tf_getnum(const char *s, size_t len, size_t *pos, bool fixed, int *out)
{
    size_t p = *pos;
    if (!tf_digit(s, len, p))
        return false;
    if (!tf_digit(s, len, p + 1)) {
        if (fixed)
            return false;
        *out = s[p] - '0';
        *pos = p + 1;
        return true;
    }
    *out = (s[p] - '0') * 10 + (s[p + 1] - '0');
    *pos = p + 2;
    return true;
}

/* Date "2006-01-02" at the start (already shape-checked by tf_date_prefix). */
static bool tf_parse_date(const char *s, tf_fields *f)
{
    f->year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    f->mon = (s[5] - '0') * 10 + (s[6] - '0');
    f->day = (s[8] - '0') * 10 + (s[9] - '0');
    return f->mon >= 1 && f->mon <= 12 && f->day <= 31;
}

/* "15:04:05" + optional fraction; for the RFC3339 layout also "Z07:00". */
static bool tf_parse_clock(const char *s, size_t len, size_t pos, bool rfc, tf_fields *f)
{
    if (!tf_getnum(s, len, &pos, false, &f->hour) || f->hour >= 24)
        return false;
    if (pos >= len || s[pos++] != ':')
        return false;
    if (!tf_getnum(s, len, &pos, true, &f->min) || f->min >= 60)
        return false;
    if (pos >= len || s[pos++] != ':')
        return false;
    if (!tf_getnum(s, len, &pos, true, &f->sec) || f->sec >= 60)
        return false;
    if (pos + 1 < len && (s[pos] == '.' || s[pos] == ',') && tf_digit(s, len, pos + 1)) {
        size_t q = pos + 1;
        int32_t ns = 0;
        int nd = 0;
        while (tf_digit(s, len, q)) {
            if (++nd > 9)
                return false; /* Go 1.19 rejects more than 9 fraction digits */
            ns = ns * 10 + (s[q] - '0');
            q++;
        }
        for (int i = nd; i < 9; i++)
            ns *= 10;
        f->nsec = ns;
        pos = q;
    }
    if (rfc) {
        if (pos < len && s[pos] == 'Z') {
            f->zone = 1;
            pos++;
        } else {
            if (len - pos < 6 || s[pos + 3] != ':')
                return false;
            char sign = s[pos];
            if (!tf_digit(s, len, pos + 1) || !tf_digit(s, len, pos + 2) ||
                !tf_digit(s, len, pos + 4) || !tf_digit(s, len, pos + 5))
                return false;
            int hh = (s[pos + 1] - '0') * 10 + (s[pos + 2] - '0');
            int mm = (s[pos + 4] - '0') * 10 + (s[pos + 5] - '0');
            int32_t off = (hh * 60 + mm) * 60;
            if (sign == '-')
                off = -off;
            else if (sign != '+')
                return false;
            f->zone = 2;
            f->offset = off;
            pos += 6;
        }
    }
    return pos == len;
}

static bool tf_parse_fields(const char *s, size_t len, tf_fields *f)
{
    memset(f, 0, sizeof *f);
    if (!tf_parse_date(s, f))
        return false;
    if (len == 10)
        return true;
    /* layout "2006-01-02 15:04:05.999999": the space matches a run of spaces */
    tf_fields g = *f;
    if (s[10] == ' ') {
        size_t pos = 10;
        while (pos < len && s[pos] == ' ')
            pos++;
        if (tf_parse_clock(s, len, pos, false, &g)) {
            *f = g;
            return true;
        }
    }
    /* time.RFC3339Nano */
    if (s[10] != 'T')
        return false;
    return tf_parse_clock(s, len, 11, true, f);
}

vt_rc vt_time_parse(const char *s, size_t len, const vt_tz *loc, int64_t *out_ns, vt_err *err)
{
    if (!vt_time_is_literal(s, len))
        return vt_err_set(err, VT_EINVAL,
                          "invalid operation: time and *influxql.StringLiteral are not compatible");
    tf_fields f;
    bool ok = tf_parse_fields(s, len, &f);
    if (ok) {
        static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        bool leap = f.year % 4 == 0 && (f.year % 100 != 0 || f.year % 400 == 0);
        int maxd = f.mon == 2 && leap ? 29 : dim[f.mon - 1];
        ok = f.day >= 1 && f.day <= maxd;
    }
    if (!ok)
        return vt_err_set(err, VT_EINVAL, "invalid timestamp string");

    int64_t wall = vt_days_from_civil(f.year, (unsigned)f.mon, (unsigned)f.day) * 86400 +
                   f.hour * 3600 + f.min * 60 + f.sec;
    int64_t sec;
    int32_t show_off; /* the offset Go would print this literal with */
    if (f.zone == 1) {
        sec = wall;
        show_off = 0;
    } else if (f.zone == 2) {
        sec = wall - f.offset;
        show_off = f.offset;
    } else {
        sec = vt_tz_local_to_utc_sec(loc, wall);
        vt_tz_lookup(loc, sec, &show_off, NULL, NULL, NULL);
    }
    /* InfluxDB: lit > time.Unix(0, MaxTime) overflows; lit < time.Unix(0, MinTime+1) underflows,
     * with MaxTime = MaxInt64-1 and MinTime = MinInt64+2. */
    int64_t ns; /* sec*1e9 + nsec, computed so that values near INT64_MIN do not overflow */
    int64_t s2 = sec, n2 = f.nsec;
    if (s2 < 0 && n2 > 0) {
        s2++;
        n2 -= NS_PER_SEC;
    }
    bool of = __builtin_mul_overflow(s2, NS_PER_SEC, &ns) || __builtin_add_overflow(ns, n2, &ns);
    if ((of && sec > 0) || (!of && ns > INT64_MAX - 1)) {
        char t[VT_FMT_TIME_MAX];
        vt_fmt_go_time(t, sec, f.nsec, show_off, false);
        return vt_err_set(err, VT_EINVAL, "time %s overflows time literal", t);
    }
    if ((of && sec < 0) || (!of && ns < INT64_MIN + 3)) {
        char t[VT_FMT_TIME_MAX];
        vt_fmt_go_time(t, sec, f.nsec, show_off, false);
        return vt_err_set(err, VT_EINVAL, "time %s underflows time literal", t);
    }
    *out_ns = ns;
    return VT_OK;
}
