/*
 * common/tz.c — TZif reader (RFC 8536, versions 1-4) and Go-compatible zone lookups.
 *
 * FILE FORMAT (all integers big-endian):
 *   header  "TZif" version(1: 0,'2','3','4') unused(15)
 *           isutcnt isstdcnt leapcnt timecnt typecnt charcnt   (six u32)
 *   v1 data timecnt x i32 transition time, timecnt x u8 type index,
 *           typecnt x {i32 utoff, u8 isdst, u8 desigidx}, charcnt bytes of designations,
 *           leapcnt x {i32, i32}, isstdcnt x u8, isutcnt x u8
 *   v2+     a second header and the same data with 64-bit transition times (and 64-bit leap
 *           second occurrence times), then a footer "\n<POSIX TZ string>\n".
 * Like Go (time.LoadLocationFromTZData) we read only the 64-bit block when version >= 2, ignore
 * leap seconds and the std/wall/ut indicators, add a fake transition at -2^63 to type 0 when the
 * file has none, and use the footer for instants at or after the last transition.
 *
 * LOOKUP (Go's Location.lookup): binary search of the transition list. Before the first
 * transition, Go's lookupFirstZone picks the zone (type 0 unless some transition uses it, then the
 * first standard-time type). After the last one, the footer rule (Go's tzset) gives the offset and
 * a validity range that is accurate near DST changes and otherwise the calendar year (Go's
 * quirk, kept because time.Date's gap/overlap resolution depends on the range).
 *
 * INVARIANTS: a loaded vt_tz is never mutated, so sharing it between threads needs no lock. The
 * cache (vt_tz_get) is the only mutable global; it is guarded by a mutex and only grows.
 */
#include "common/tz.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TZ_ALPHA INT64_MIN
#define TZ_OMEGA INT64_MAX
#define TZ_MAX_FILE (10 << 20) /* Go's limit too */
#define TZ_NAME_MAX 255
#define SECS_PER_DAY 86400

enum { RULE_JULIAN, RULE_DOY, RULE_MWD };

typedef struct tz_rule {
    int kind;
    int day, week, mon;
    int32_t time; /* seconds after local midnight (may be negative or > 24h) */
} tz_rule;

typedef struct tz_posix {
    bool valid;   /* the footer parsed; else Go falls back to the last transition's zone */
    bool has_dst; /* false: fixed offset after the last transition */
    int32_t std_off, dst_off; /* seconds east */
    tz_rule start, end;
} tz_posix;

struct vt_tz {
    char *name;
    bool utc;
    size_t ntx;
    int64_t *tx_when;
    uint8_t *tx_idx;
    size_t nzone;
    int32_t *zone_off;
    bool *zone_dst;
    size_t first_zone; /* Go's lookupFirstZone() */
    tz_posix ext;
};

static struct vt_tz tz_utc_zone = {.name = (char *)"UTC", .utc = true};

const vt_tz *vt_tz_utc(void)
{
    return &tz_utc_zone;
}

/* ---- calendar (Howard Hinnant's days_from_civil / civil_from_days) ---- */

int64_t vt_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (int64_t)(m + (m > 2 ? -3 : 9)) + 2) / 5 + (int64_t)d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void vt_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    unsigned dd = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    unsigned mm = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (mm <= 2);
    *m = mm;
    *d = dd;
}

static bool tz_is_leap(int64_t y)
{
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int tz_days_in(int mon, int64_t y)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return mon == 2 && tz_is_leap(y) ? 29 : dim[mon - 1];
}

static int64_t tz_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

/* ---- POSIX TZ footer (Go's tzset family) ---- */

static bool tzs_num(const char **sp, int min, int max, int *out)
{
    const char *s = *sp;
    if (*s < '0' || *s > '9')
        return false;
    int num = 0;
    while (*s >= '0' && *s <= '9') {
        num = num * 10 + (*s - '0');
        if (num > max)
            return false;
        s++;
    }
    if (num < min)
        return false;
    *sp = s;
    *out = num;
    return true;
}

static bool tzs_name(const char **sp)
{
    const char *s = *sp;
    if (*s == '\0')
        return false;
    if (*s != '<') {
        size_t i = 0;
        while (s[i] && !((s[i] >= '0' && s[i] <= '9') || s[i] == ',' || s[i] == '-' || s[i] == '+'))
            i++;
        if (i < 3)
            return false;
        *sp = s + i;
        return true;
    }
    const char *gt = strchr(s, '>');
    if (!gt)
        return false;
    *sp = gt + 1;
    return true;
}

/* POSIX offset: hours may go to 24*7 (RFC 8536 extension); returns seconds *west* as written. */
static bool tzs_offset(const char **sp, int32_t *out)
{
    const char *s = *sp;
    if (*s == '\0')
        return false;
    bool neg = false;
    if (*s == '+')
        s++;
    else if (*s == '-') {
        s++;
        neg = true;
    }
    int h, mi, se;
    if (!tzs_num(&s, 0, 24 * 7, &h))
        return false;
    int32_t off = h * 3600;
    if (*s == ':') {
        s++;
        if (!tzs_num(&s, 0, 59, &mi))
            return false;
        off += mi * 60;
        if (*s == ':') {
            s++;
            if (!tzs_num(&s, 0, 59, &se))
                return false;
            off += se;
        }
    }
    *out = neg ? -off : off;
    *sp = s;
    return true;
}

static bool tzs_rule(const char **sp, tz_rule *r)
{
    const char *s = *sp;
    memset(r, 0, sizeof *r);
    if (*s == '\0')
        return false;
    if (*s == 'J') {
        s++;
        if (!tzs_num(&s, 1, 365, &r->day))
            return false;
        r->kind = RULE_JULIAN;
    } else if (*s == 'M') {
        s++;
        if (!tzs_num(&s, 1, 12, &r->mon) || *s != '.')
            return false;
        s++;
        if (!tzs_num(&s, 1, 5, &r->week) || *s != '.')
            return false;
        s++;
        if (!tzs_num(&s, 0, 6, &r->day))
            return false;
        r->kind = RULE_MWD;
    } else {
        if (!tzs_num(&s, 0, 365, &r->day))
            return false;
        r->kind = RULE_DOY;
    }
    if (*s != '/') {
        r->time = 2 * 3600;
    } else {
        s++;
        if (!tzs_offset(&s, &r->time))
            return false;
    }
    *sp = s;
    return true;
}

static void tz_parse_posix(const char *s, tz_posix *p)
{
    memset(p, 0, sizeof *p);
    int32_t off;
    if (!tzs_name(&s) || !tzs_offset(&s, &off))
        return;
    p->std_off = -off;
    if (*s == '\0' || *s == ',') {
        p->valid = true;
        return;
    }
    if (!tzs_name(&s))
        return;
    if (*s == '\0' || *s == ',') {
        p->dst_off = p->std_off + 3600;
    } else {
        if (!tzs_offset(&s, &off))
            return;
        p->dst_off = -off;
    }
    if (*s == '\0')
        s = ",M3.2.0,M11.1.0"; /* tzcode's (and Go's) default rules */
    if (*s != ',' && *s != ';')
        return;
    s++;
    if (!tzs_rule(&s, &p->start) || *s != ',')
        return;
    s++;
    if (!tzs_rule(&s, &p->end) || *s != '\0')
        return;
    p->has_dst = true;
    p->valid = true;
}

/* Seconds from the start of `year` (UTC) to the rule's instant; off = offset in effect before. */
static int64_t tz_rule_time(int64_t year, const tz_rule *r, int32_t off)
{
    int64_t s = 0;
    switch (r->kind) {
    case RULE_JULIAN:
        s = (int64_t)(r->day - 1) * SECS_PER_DAY;
        if (tz_is_leap(year) && r->day >= 60)
            s += SECS_PER_DAY;
        break;
    case RULE_DOY: s = (int64_t)r->day * SECS_PER_DAY; break;
    default: {
        int64_t first = vt_days_from_civil(year, (unsigned)r->mon, 1);
        int dow = (int)(((first % 7) + 11) % 7); /* 1970-01-01 was a Thursday (4) */
        int d = r->day - dow;
        if (d < 0)
            d += 7;
        for (int i = 1; i < r->week; i++) {
            if (d + 7 >= tz_days_in(r->mon, year))
                break;
            d += 7;
        }
        s = (first - vt_days_from_civil(year, 1, 1) + d) * SECS_PER_DAY;
        break;
    }
    }
    return s + r->time - off;
}

/* Go's tzset() for the footer, given the last transition time and a UTC second sec. */
static void tz_posix_lookup(const tz_posix *p, int64_t last_tx, int64_t sec, int32_t *offset,
                            int64_t *start, int64_t *end, bool *is_dst)
{
    if (!p->has_dst) {
        *offset = p->std_off;
        *start = last_tx;
        *end = TZ_OMEGA;
        *is_dst = false;
        return;
    }
    int64_t days = tz_floor_div(sec, SECS_PER_DAY);
    int64_t year;
    unsigned mon, mday;
    vt_civil_from_days(days, &year, &mon, &mday);
    int64_t ystart_days = vt_days_from_civil(year, 1, 1);
    int64_t yday = days - ystart_days;
    int64_t ysec = yday * SECS_PER_DAY + sec % SECS_PER_DAY; /* Go's (truncating) remainder */
    int64_t abs = ystart_days * SECS_PER_DAY;
    int64_t start_sec = tz_rule_time(year, &p->start, p->std_off);
    int64_t end_sec = tz_rule_time(year, &p->end, p->dst_off);
    int32_t std_off = p->std_off, dst_off = p->dst_off;
    bool dst_is_dst = true, std_is_dst = false;
    if (end_sec < start_sec) { /* southern hemisphere: swap the labels, as Go does */
        int64_t t = start_sec;
        start_sec = end_sec;
        end_sec = t;
        int32_t o = std_off;
        std_off = dst_off;
        dst_off = o;
        std_is_dst = true;
        dst_is_dst = false;
    }
    if (ysec < start_sec) {
        *offset = std_off;
        *start = abs;
        *end = start_sec + abs;
        *is_dst = std_is_dst;
    } else if (ysec >= end_sec) {
        *offset = std_off;
        *start = end_sec + abs;
        *end = abs + 365 * SECS_PER_DAY;
        *is_dst = std_is_dst;
    } else {
        *offset = dst_off;
        *start = start_sec + abs;
        *end = end_sec + abs;
        *is_dst = dst_is_dst;
    }
}

/* ---- lookups ---- */

void vt_tz_lookup(const vt_tz *tz, int64_t sec, int32_t *offset, int64_t *start, int64_t *end,
                  bool *is_dst)
{
    int32_t o = 0;
    int64_t st = TZ_ALPHA, en = TZ_OMEGA;
    bool dst = false;
    if (tz && !tz->utc) {
        if (sec < tz->tx_when[0]) {
            size_t z = tz->first_zone;
            o = tz->zone_off[z];
            dst = tz->zone_dst[z];
            en = tz->tx_when[0];
        } else {
            size_t lo = 0, hi = tz->ntx;
            while (hi - lo > 1) {
                size_t mid = lo + (hi - lo) / 2;
                if (sec < tz->tx_when[mid]) {
                    en = tz->tx_when[mid];
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            size_t z = tz->tx_idx[lo];
            o = tz->zone_off[z];
            dst = tz->zone_dst[z];
            st = tz->tx_when[lo];
            if (lo == tz->ntx - 1 && tz->ext.valid)
                tz_posix_lookup(&tz->ext, st, sec, &o, &st, &en, &dst);
        }
    }
    if (offset)
        *offset = o;
    if (start)
        *start = st;
    if (end)
        *end = en;
    if (is_dst)
        *is_dst = dst;
}

int32_t vt_tz_offset(const vt_tz *tz, int64_t utc_ns)
{
    if (!tz || tz->utc)
        return 0;
    int32_t off;
    vt_tz_lookup(tz, tz_floor_div(utc_ns, 1000000000), &off, NULL, NULL, NULL);
    return off;
}

int64_t vt_tz_local_to_utc_sec(const vt_tz *tz, int64_t unix)
{
    if (!tz || tz->utc)
        return unix;
    int32_t off;
    int64_t start, end;
    vt_tz_lookup(tz, unix, &off, &start, &end, NULL);
    if (off != 0) {
        int64_t utc;
        if (__builtin_sub_overflow(unix, (int64_t)off, &utc))
            utc = off > 0 ? INT64_MIN : INT64_MAX;
        if (utc < start || utc >= end)
            vt_tz_lookup(tz, utc, &off, NULL, NULL, NULL);
        if (__builtin_sub_overflow(unix, (int64_t)off, &unix))
            unix = off > 0 ? INT64_MIN : INT64_MAX;
    }
    return unix;
}

int64_t vt_tz_local_to_utc(const vt_tz *tz, int64_t local_ns)
{
    if (!tz || tz->utc)
        return local_ns;
    int64_t sec = tz_floor_div(local_ns, 1000000000);
    int64_t nsec = local_ns % 1000000000;
    if (nsec < 0)
        nsec += 1000000000;
    int64_t usec = vt_tz_local_to_utc_sec(tz, sec);
    int64_t out;
    if (__builtin_mul_overflow(usec, (int64_t)1000000000, &out) ||
        __builtin_add_overflow(out, nsec, &out))
        return usec < 0 ? INT64_MIN : INT64_MAX;
    return out;
}

const char *vt_tz_name(const vt_tz *tz)
{
    return tz ? tz->name : "UTC";
}

bool vt_tz_is_utc(const vt_tz *tz)
{
    return !tz || tz->utc;
}

/* ---- loading ---- */

void vt_tz_free(vt_tz *tz)
{
    if (!tz || tz == &tz_utc_zone)
        return;
    free(tz->name);
    free(tz->tx_when);
    free(tz->tx_idx);
    free(tz->zone_off);
    free(tz->zone_dst);
    free(tz);
}

static uint32_t tz_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t tz_be64(const uint8_t *p)
{
    return ((uint64_t)tz_be32(p) << 32) | tz_be32(p + 4);
}

typedef struct tz_hdr {
    int version;
    uint32_t isut, isstd, leap, time, type, chars;
} tz_hdr;

static bool tz_read_hdr(const uint8_t *p, size_t len, size_t *pos, tz_hdr *h)
{
    if (len - *pos < 44 || memcmp(p + *pos, "TZif", 4) != 0)
        return false;
    uint8_t v = p[*pos + 4];
    if (v != 0 && v != '2' && v != '3' && v != '4')
        return false;
    h->version = v == 0 ? 1 : v - '0';
    const uint8_t *c = p + *pos + 20;
    h->isut = tz_be32(c);
    h->isstd = tz_be32(c + 4);
    h->leap = tz_be32(c + 8);
    h->time = tz_be32(c + 12);
    h->type = tz_be32(c + 16);
    h->chars = tz_be32(c + 20);
    *pos += 44;
    return true;
}

/* Size of a data block; false when the counts are absurd (anything beyond the file is caught by
 * the caller comparing with len). */
static bool tz_block_size(const tz_hdr *h, size_t tsize, size_t *out)
{
    uint64_t n = (uint64_t)h->time * (tsize + 1) + (uint64_t)h->type * 6 + h->chars +
                 (uint64_t)h->leap * (tsize + 4) + h->isstd + h->isut;
    if (h->time > TZ_MAX_FILE || h->type > 256 || h->leap > TZ_MAX_FILE || n > TZ_MAX_FILE)
        return false;
    *out = (size_t)n;
    return true;
}

static vt_rc tz_bad(vt_err *err, const char *name)
{
    return vt_err_set(err, VT_EINVAL, "unable to find time zone %s", name);
}

vt_rc vt_tz_load_tzif(const char *name, const uint8_t *p, size_t len, vt_tz **out, vt_err *err)
{
    *out = NULL;
    size_t pos = 0, bsz;
    tz_hdr h;
    if (!tz_read_hdr(p, len, &pos, &h) || !tz_block_size(&h, 4, &bsz) || len - pos < bsz)
        return tz_bad(err, name);
    size_t tsize = 4;
    if (h.version >= 2) {
        pos += bsz;
        if (!tz_read_hdr(p, len, &pos, &h) || !tz_block_size(&h, 8, &bsz) || len - pos < bsz)
            return tz_bad(err, name);
        tsize = 8;
    }
    if (h.type == 0)
        return tz_bad(err, name);
    const uint8_t *times = p + pos;
    const uint8_t *idx = times + (size_t)h.time * tsize;
    const uint8_t *types = idx + h.time;
    const uint8_t *footer = types + (size_t)h.type * 6 + h.chars + (size_t)h.leap * (tsize + 4) +
                            h.isstd + h.isut;
    for (uint32_t i = 0; i < h.type; i++)
        if (types[i * 6 + 5] >= h.chars && h.chars > 0)
            return tz_bad(err, name);
    for (uint32_t i = 0; i < h.time; i++)
        if (idx[i] >= h.type)
            return tz_bad(err, name);

    vt_tz *tz = calloc(1, sizeof *tz);
    if (!tz)
        return vt_err_set(err, VT_ENOMEM, "time zone %s: out of memory", name);
    size_t ntx = h.time ? h.time : 1;
    tz->name = strdup(name);
    tz->tx_when = malloc(ntx * sizeof *tz->tx_when);
    tz->tx_idx = malloc(ntx);
    tz->zone_off = malloc(h.type * sizeof *tz->zone_off);
    tz->zone_dst = malloc(h.type * sizeof *tz->zone_dst);
    if (!tz->name || !tz->tx_when || !tz->tx_idx || !tz->zone_off || !tz->zone_dst) {
        vt_tz_free(tz);
        return vt_err_set(err, VT_ENOMEM, "time zone %s: out of memory", name);
    }
    tz->ntx = ntx;
    tz->nzone = h.type;
    if (h.time == 0) { /* Go: a fake transition covering all time */
        tz->tx_when[0] = TZ_ALPHA;
        tz->tx_idx[0] = 0;
    }
    for (uint32_t i = 0; i < h.time; i++) {
        tz->tx_when[i] = tsize == 8 ? (int64_t)tz_be64(times + (size_t)i * 8)
                                    : (int64_t)(int32_t)tz_be32(times + (size_t)i * 4);
        tz->tx_idx[i] = idx[i];
    }
    for (uint32_t i = 0; i < h.type; i++) {
        tz->zone_off[i] = (int32_t)tz_be32(types + i * 6);
        tz->zone_dst[i] = types[i * 6 + 4] != 0;
    }
    /* Go's lookupFirstZone */
    bool first_used = false;
    for (size_t i = 0; i < h.time; i++)
        if (tz->tx_idx[i] == 0)
            first_used = true;
    tz->first_zone = 0;
    if (first_used) {
        bool found = false;
        if (h.time > 0 && tz->zone_dst[tz->tx_idx[0]]) {
            for (int zi = (int)tz->tx_idx[0] - 1; zi >= 0 && !found; zi--)
                if (!tz->zone_dst[zi]) {
                    tz->first_zone = (size_t)zi;
                    found = true;
                }
        }
        for (size_t zi = 0; zi < tz->nzone && !found; zi++)
            if (!tz->zone_dst[zi]) {
                tz->first_zone = zi;
                found = true;
            }
    }
    /* footer */
    size_t rest = (size_t)(p + len - footer);
    if (tsize == 8 && rest > 2 && footer[0] == '\n' && footer[rest - 1] == '\n' && rest < 512) {
        char tzstr[512];
        memcpy(tzstr, footer + 1, rest - 2);
        tzstr[rest - 2] = '\0';
        if (strlen(tzstr) == rest - 2)
            tz_parse_posix(tzstr, &tz->ext);
    }
    *out = tz;
    return VT_OK;
}

static bool tz_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > TZ_NAME_MAX || name[0] == '/' || name[0] == '\\' || strstr(name, ".."))
        return false;
    return true;
}

static vt_rc tz_load_file(const char *path, const char *name, vt_tz **out, vt_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tz_bad(err, name);
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        st.st_size > TZ_MAX_FILE) {
        close(fd);
        return tz_bad(err, name);
    }
    size_t len = (size_t)st.st_size;
    uint8_t *data = malloc(len);
    if (!data) {
        close(fd);
        return vt_err_set(err, VT_ENOMEM, "time zone %s: out of memory", name);
    }
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, data + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    vt_rc rc = got == len ? vt_tz_load_tzif(name, data, len, out, err) : tz_bad(err, name);
    free(data);
    return rc;
}

static vt_rc tz_load_from_dirs(const char *file, const char *name, vt_tz **out, vt_err *err)
{
    static const char *const dirs[] = {"/usr/share/zoneinfo/", "/usr/share/lib/zoneinfo/",
                                       "/usr/lib/locale/TZ/"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s%s", dirs[i], file);
        if (tz_load_file(path, name, out, NULL) == VT_OK)
            return VT_OK;
    }
    return tz_bad(err, name);
}

static vt_rc tz_utc_copy(const char *name, vt_tz **out, vt_err *err)
{
    vt_tz *tz = calloc(1, sizeof *tz);
    if (tz)
        tz->name = strdup(name);
    if (!tz || !tz->name) {
        free(tz);
        return vt_err_set(err, VT_ENOMEM, "time zone %s: out of memory", name);
    }
    tz->utc = true;
    *out = tz;
    return VT_OK;
}

vt_rc vt_tz_load(const char *name, vt_tz **out, vt_err *err)
{
    *out = NULL;
    if (!name || name[0] == '\0' || strcmp(name, "UTC") == 0)
        return tz_utc_copy("UTC", out, err);
    if (strcmp(name, "Local") == 0) {
        /* Go's time.Local: $TZ unset -> /etc/localtime; $TZ="" -> UTC; else the named zone. */
        const char *env = getenv("TZ");
        vt_rc rc = VT_EINVAL;
        if (!env) {
            rc = tz_load_file("/etc/localtime", name, out, NULL);
        } else {
            if (*env == ':')
                env++;
            if (env[0] == '/')
                rc = tz_load_file(env, name, out, NULL);
            else if (tz_name_ok(env))
                rc = tz_load_from_dirs(env, name, out, NULL);
        }
        if (rc == VT_OK) {
            free((*out)->name);
            (*out)->name = strdup("Local");
            if ((*out)->name)
                return VT_OK;
            vt_tz_free(*out);
            *out = NULL;
        }
        return tz_utc_copy("Local", out, err);
    }
    if (!tz_name_ok(name))
        return tz_bad(err, name);
    return tz_load_from_dirs(name, name, out, err);
}

/* ---- process-wide cache ---- */

typedef struct tz_cache_ent {
    struct tz_cache_ent *next;
    vt_tz *tz;
} tz_cache_ent;

static pthread_mutex_t tz_cache_mu = PTHREAD_MUTEX_INITIALIZER;
static tz_cache_ent *tz_cache_head;

const vt_tz *vt_tz_get(const char *name, vt_err *err)
{
    if (!name || name[0] == '\0' || strcmp(name, "UTC") == 0)
        return &tz_utc_zone;
    pthread_mutex_lock(&tz_cache_mu);
    for (tz_cache_ent *e = tz_cache_head; e; e = e->next)
        if (strcmp(e->tz->name, name) == 0) {
            pthread_mutex_unlock(&tz_cache_mu);
            return e->tz;
        }
    vt_tz *tz = NULL;
    if (vt_tz_load(name, &tz, err) != VT_OK) {
        pthread_mutex_unlock(&tz_cache_mu);
        return NULL;
    }
    tz_cache_ent *e = malloc(sizeof *e);
    if (!e) {
        pthread_mutex_unlock(&tz_cache_mu);
        vt_tz_free(tz);
        vt_err_set(err, VT_ENOMEM, "time zone %s: out of memory", name);
        return NULL;
    }
    e->tz = tz;
    e->next = tz_cache_head;
    tz_cache_head = e;
    pthread_mutex_unlock(&tz_cache_mu);
    return tz;
}
