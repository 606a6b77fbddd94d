/*
 * common/tz.h — IANA time zones read from the system's compiled TZif files, with Go's semantics.
 *
 * InfluxDB is written in Go, and what `tz('America/Sao_Paulo')` does there is what Go's `time`
 * package does: time.LoadLocation(name), t.In(loc).Zone() for offsets, time.Date(...) to turn a
 * local wall time into an instant. This module reproduces those three, including Go's exact
 * choices where a wall time is ambiguous (autumn overlap) or does not exist (spring gap).
 *
 * A vt_tz is immutable once loaded and may be shared between threads without locking.
 * Nothing here touches the process environment (no setenv("TZ"), no localtime_r).
 */
#ifndef COMMON_TZ_H
#define COMMON_TZ_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

typedef struct vt_tz vt_tz;

/* Loads the zone `name` the way Go's time.LoadLocation does:
 *   ""/"UTC"  -> UTC;   "Local" -> $TZ if set (":name" or a zone name), else /etc/localtime,
 *                                   else UTC (Go's time.Local);
 *   otherwise /usr/share/zoneinfo/<name> (then /usr/share/lib/zoneinfo, /usr/lib/locale/TZ).
 * A name containing "..", starting with '/' or '\\', an unreadable or malformed file, all fail with
 * VT_EINVAL and InfluxDB's message "unable to find time zone <name>".
 * On success *out is owned by the caller (vt_tz_free). */
vt_rc vt_tz_load(const char *name, vt_tz **out, vt_err *err);

/* Same as vt_tz_load but from TZif bytes already in memory (tests, fuzzing). `name` is copied. */
vt_rc vt_tz_load_tzif(const char *name, const uint8_t *data, size_t len, vt_tz **out, vt_err *err);

void vt_tz_free(vt_tz *tz);

/* A shared instance from a process-wide cache (mutex-protected); loads on first use. The
 * returned zone lives until process exit: never free it. NULL (with err set) if unknown. */
const vt_tz *vt_tz_get(const char *name, vt_err *err);

/* The shared UTC zone (never NULL, never freed). */
const vt_tz *vt_tz_utc(void);

/* The name given at load time ("UTC" for ""). */
const char *vt_tz_name(const vt_tz *tz);
bool vt_tz_is_utc(const vt_tz *tz);

/* Go's Location.lookup(sec): the zone in effect at UTC second `sec`. *offset = seconds east of UTC;
 * [*start, *end) = the UTC seconds range over which that answer is known to hold (Go's
 * approximations included: around a POSIX-rule year it may be just the year). Any out pointer may be
 * NULL. tz NULL means UTC. */
void vt_tz_lookup(const vt_tz *tz, int64_t sec, int32_t *offset, int64_t *start, int64_t *end,
                  bool *is_dst);

/* Seconds east of UTC in effect at the instant utc_ns (Go: time.Unix(0, ns).In(loc).Zone()). */
int32_t vt_tz_offset(const vt_tz *tz, int64_t utc_ns);

/* Local wall time (ns since 1970-01-01T00:00 *local*) -> UTC ns, exactly as Go's time.Date:
 *   - look up the zone at the wall time read as if it were UTC; if the resulting instant lies
 *     outside that zone's validity range, look up again at that instant and use its offset.
 * Consequences (verified against InfluxDB 1.6.7 / Go 1.19):
 *   - gap, zone west of UTC (Sao Paulo 2018-11-04 00:30 did not exist) -> 2018-11-03T23:30-03:00
 *     (one hour *earlier*, old offset);
 *   - gap, zone east of UTC (London 2019-03-31 01:30) -> 02:30+01:00 (one hour *later*);
 *   - overlap west (Sao Paulo 2019-02-16 23:30 happened twice) -> the first one (-02:00);
 *   - overlap east (London 2019-10-27 01:30) -> the second one (+00:00).
 * Saturates instead of overflowing at the int64 ends. */
int64_t vt_tz_local_to_utc(const vt_tz *tz, int64_t local_ns);
/* Same on whole seconds (no saturation needed: any int64 second within ±2^62 works). */
int64_t vt_tz_local_to_utc_sec(const vt_tz *tz, int64_t local_sec);

/* Proleptic Gregorian calendar helpers (shared with common/timefmt.c). */
int64_t vt_days_from_civil(int64_t y, unsigned m, unsigned d);
void vt_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

#endif
