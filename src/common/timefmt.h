/*
 * common/timefmt.h — Go-exact text for numbers, times and durations, and InfluxQL time literals.
 *
 * InfluxDB 1.6.7 (Debian build, Go 1.19) writes its responses with Go's strconv/time/encoding/json;
 * a client diffing volta against it sees every digit. The functions here reproduce those outputs
 * byte for byte (examples checked against the real server are in tests/unit/test_timefmt.c).
 *
 * All functions are pure and thread-safe; none allocates.
 */
#ifndef COMMON_TIMEFMT_H
#define COMMON_TIMEFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/tz.h"

#define VT_FMT_JSON_FLOAT_MAX 40
/* 'f' format never uses an exponent: 5e-324 is "0.000…0005" (326 chars), 1.8e308 has 309 digits. */
#define VT_FMT_CSV_FLOAT_MAX 352
#define VT_FMT_TIME_MAX 48
#define VT_FMT_DURATION_MAX 32

/* Go encoding/json float64: strconv 'f' with shortest round-trip precision, but 'e' when
 * abs != 0 && (abs < 1e-6 || abs >= 1e21), with "e-07" cleaned to "e-7" ("e+21" stays).
 * 0.1 -> "0.1", 100 -> "100", 1e21 -> "1e+21", 1e-7 -> "1e-7", -0.0 -> "-0",
 * 1.7976931348623157e308 -> "1.7976931348623157e+308".
 * NaN/±Inf: returns 0 and writes "" (Go's encoder fails: "json: unsupported value: NaN"; InfluxDB
 * cannot produce them in JSON). Otherwise returns the length (< 40); out is NUL-terminated. */
size_t vt_fmt_json_float(char out[VT_FMT_JSON_FLOAT_MAX], double v);

/* InfluxDB 1.x CSV writer: strconv.FormatFloat(v, 'f', -1, 64) — shortest round-trip digits,
 * never an exponent (1e21 -> "1000000000000000000000", 1e-7 -> "0.0000001").
 * NaN/Inf -> "NaN", "+Inf", "-Inf" (Go's spelling). NUL-terminated; returns the length.
 * NOTE the buffer size: up to 343 characters. */
size_t vt_fmt_csv_float(char out[VT_FMT_CSV_FLOAT_MAX], double v);

/* Shortest round-trip decimal digits of |v| (finite, non-zero): digits[0..n) (no trailing
 * zeros, NUL-terminated) with value = 0.digits x 10^(*dp). Returns n (1..17). Exactly Go's
 * strconv shortest ('-1' precision) digits. */
int vt_fmt_shortest_digits(double v, char digits[18], int *dp);

/* Decimal text of an integer (what Go's strconv.FormatInt/FormatUint print). NUL-terminated;
 * returns the length (at most 20). */
#define VT_FMT_INT_MAX 24
size_t vt_fmt_i64(char out[VT_FMT_INT_MAX], int64_t v);
size_t vt_fmt_u64(char out[VT_FMT_INT_MAX], uint64_t v);

/* Go time.RFC3339Nano of the instant ns, in UTC: "2024-01-01T00:00:00Z", "…:00.5Z" (fraction's
 * trailing zeros trimmed). Returns the length; NUL-terminated. */
size_t vt_fmt_rfc3339nano(char out[VT_FMT_TIME_MAX], int64_t ns);

/* Same in the zone tz (NULL = UTC), as InfluxDB prints times under tz(): the wall time with the
 * offset in effect, "+hh:mm"/"-hh:mm", or "Z" whenever that offset is 0 (Europe/London in
 * winter prints "Z"). LMT offsets with seconds print truncated: -3:06:28 -> "-03:06". */
size_t vt_fmt_rfc3339nano_tz(char out[VT_FMT_TIME_MAX], int64_t ns, const vt_tz *tz);

/* The same text as vt_fmt_rfc3339nano_tz, for a writer printing many times in a row: `memo`
 * remembers the last calendar date printed and the zone interval of tz it fell in, so rows of
 * one day share the calendar arithmetic and the zone lookup. A memo belongs to one writer (not
 * thread-safe); start it with vt_fmt_time_memo_init; it may be used with any tz (a change of tz
 * is noticed). */
typedef struct vt_fmt_time_memo {
    const vt_tz *tz;
    int64_t zone_start, zone_end; /* UTC seconds [start, end) where `offset` holds; empty: none */
    int32_t offset;
    int64_t day;   /* the local day (days since 1970-01-01) `date` spells; INT64_MIN: none */
    size_t datelen;
    char date[24]; /* "2024-01-01T" */
} vt_fmt_time_memo;

void vt_fmt_time_memo_init(vt_fmt_time_memo *memo);
size_t vt_fmt_rfc3339nano_memo(vt_fmt_time_memo *memo, char out[VT_FMT_TIME_MAX], int64_t ns,
                               const vt_tz *tz);

/* General form: UTC second sec + nsec (0..999999999), shown at offset (seconds east); with
 * frac false it is time.RFC3339 (no fraction). Years outside 0000-9999 as Go prints them. */
size_t vt_fmt_go_time(char out[VT_FMT_TIME_MAX], int64_t sec, int32_t nsec, int32_t offset,
                      bool frac);

/* influxql.FormatDuration: the largest unit dividing d exactly, in w, d, h, m, s, ms, u, ns:
 * 0 -> "0s", 168h -> "1w", 36h -> "36h", 90m -> "90m", 1500ms -> "1500ms", 1us -> "1u". */
size_t vt_duration_format_influxql(char out[VT_FMT_DURATION_MAX], int64_t d);

/* Go time.Duration.String(): "168h0m0s", "1h30m0s", "0s", "1.5s", "1ms", "1µs" (U+00B5),
 * "-1m0.5s". Used by SHOW RETENTION POLICIES / SHOW SHARD GROUPS. */
size_t vt_duration_format_go(char out[VT_FMT_DURATION_MAX], int64_t d);

/* InfluxQL's StringLiteral.IsTimeLiteral(): the string matches ^\d{4}-\d{2}-\d{2}$ or
 * ^\d{4}-\d{2}-\d{2}. (any character but '\n' after the date). */
bool vt_time_is_literal(const char *s, size_t len);

/* A string literal compared with `time` (InfluxDB 1.6 query.ParseCondition semantics):
 *   - not a time literal (vt_time_is_literal false) -> VT_EINVAL
 *       "invalid operation: time and *influxql.StringLiteral are not compatible"
 *   - date+time: Go layout "2006-01-02 15:04:05.999999", else time.RFC3339Nano
 *     ("2006-01-02T15:04:05.999999999Z07:00"); date only: "2006-01-02". Go 1.19 parse rules:
 *     hour 1 or 2 digits, minute/second 2, optional fraction '.' or ',' + 1..9 digits, the space
 *     matches one or more spaces, "Z" or ±hh:mm (not range-checked: +99:99 is accepted), 'T'/'Z'
 *     upper case only, day checked against the month. Failure -> VT_EINVAL
 *     "invalid timestamp string".
 *   - no offset in the string: wall time in loc (NULL = UTC), resolved as Go's time.Date does
 *     (see vt_tz_local_to_utc).
 *   - outside [MinInt64+3, MaxInt64-1] ns -> VT_EINVAL "time 2262-04-11T23:47:17Z overflows time
 *     literal" / "time 1677-09-20T19:12:43Z underflows time literal" (RFC3339 in the literal's
 *     own zone: the given offset, "Z", or loc's offset at that instant).
 * On success *out_ns is the instant in ns since the epoch (UTC). */
vt_rc vt_time_parse(const char *s, size_t len, const vt_tz *loc, int64_t *out_ns, vt_err *err);

#endif
