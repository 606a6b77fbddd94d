/*
 * ask/ask_time.c — time expressions of questions, in Brasília time (America/Sao_Paulo from the
 * system's tz database, with the daylight saving time Brazil had until 2019).
 *
 * Design notes:
 *  1. Every range is [start, end) in UTC ns. Calendar units (day, week from Monday, month, year)
 *     start at the first instant of their first local day: ask_local_day_start resolves local
 *     midnight with Go's time.Date rules (common/tz.h) and, when midnight fell in a DST gap
 *     (2018-11-04 went 00:00 -> 01:00), moves to the first instant that is that day (01:00).
 *     So "ontem" on 2019-02-17 is 25 hours long and on 2018-11-05 23 hours.
 *  2. Relative ranges end at now: "hoje" = [today 00:00, now), "últimas 3 horas" = [now-3h, now),
 *     "esta semana" = [Monday 00:00, now). Past units are whole: "ontem", "semana passada",
 *     "mês passado", "ano passado", "em março de 2024", "15/03/2024".
 *  3. "atual/agora/now/current" is not a range: it means the latest hour with data
 *     (ASK_T_LATEST); the executor finds it.
 *  4. Patterns are matched on unused tokens only and mark what they use, so "top 5" or a plant's
 *     number are never read as a time. The first pattern that matches wins, in the order of
 *     ask_time_extract.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ask/ask_int.h"

#define NS_SEC 1000000000LL
#define NS_DAY (86400LL * NS_SEC)

static const char *const months_pt[12] = {"janeiro", "fevereiro", "marco", "abril", "maio",
                                          "junho", "julho", "agosto", "setembro", "outubro",
                                          "novembro", "dezembro"};
static const char *const months_en[12] = {"january", "february", "march", "april", "may",
                                          "june", "july", "august", "september", "october",
                                          "november", "december"};
static const char *const months_abbr[12] = {"jan", "fev", "mar", "abr", "mai", "jun",
                                            "jul", "ago", "set", "out", "nov", "dez"};
static const char *const months_abbr_en[12] = {"jan", "feb", "mar", "apr", "may", "jun",
                                               "jul", "aug", "sep", "oct", "nov", "dec"};

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

void ask_local_fields(const vt_tz *tz, int64_t ns, int64_t *y, unsigned *m, unsigned *d,
                      unsigned *hour, unsigned *minute, int *wday)
{
    int64_t local = ns + (int64_t)vt_tz_offset(tz, ns) * NS_SEC;
    int64_t days = floor_div(local, NS_DAY);
    int64_t rest = local - days * NS_DAY;
    int64_t yy;
    unsigned mm, dd;
    vt_civil_from_days(days, &yy, &mm, &dd);
    if (y)
        *y = yy;
    if (m)
        *m = mm;
    if (d)
        *d = dd;
    if (hour)
        *hour = (unsigned)(rest / (3600 * NS_SEC));
    if (minute)
        *minute = (unsigned)((rest / (60 * NS_SEC)) % 60);
    if (wday)
        *wday = (int)(((days % 7) + 7 + 3) % 7); /* 1970-01-01 was a Thursday (3) */
}

int64_t ask_local_day_start(const vt_tz *tz, int64_t y, unsigned m, unsigned d)
{
    int64_t days = vt_days_from_civil(y, m, d);
    int64_t local_midnight = days * NS_DAY;
    int64_t t = vt_tz_local_to_utc(tz, local_midnight);
    int64_t wall = t + (int64_t)vt_tz_offset(tz, t) * NS_SEC;
    if (wall < local_midnight) /* midnight did not exist: the day starts at the gap's end */
        t += local_midnight - wall;
    return t;
}

static int64_t local_hour(const vt_tz *tz, int64_t y, unsigned m, unsigned d, unsigned h)
{
    if (h == 0)
        return ask_local_day_start(tz, y, m, d);
    return vt_tz_local_to_utc(tz, vt_days_from_civil(y, m, d) * NS_DAY + (int64_t)h * 3600 * NS_SEC);
}

static int64_t day_start_plus(const vt_tz *tz, int64_t y, unsigned m, unsigned d, int64_t plus)
{
    int64_t days = vt_days_from_civil(y, m, d) + plus;
    vt_civil_from_days(days, &y, &m, &d);
    return ask_local_day_start(tz, y, m, d);
}

void ask_fmt_local_iso(char *out, size_t cap, const vt_tz *tz, int64_t ns)
{
    int64_t y;
    unsigned m, d, h, mi;
    ask_local_fields(tz, ns, &y, &m, &d, &h, &mi, NULL);
    int32_t off = vt_tz_offset(tz, ns);
    char sign = off < 0 ? '-' : '+';
    int32_t a = off < 0 ? -off : off;
    snprintf(out, cap, "%04lld-%02u-%02uT%02u:%02u:00%c%02d:%02d", (long long)y, m, d, h, mi, sign,
             (int)(a / 3600), (int)((a / 60) % 60));
}

void ask_fmt_local_human(char *out, size_t cap, const vt_tz *tz, int64_t ns, ask_lang lang)
{
    int64_t y;
    unsigned m, d, h, mi;
    ask_local_fields(tz, ns, &y, &m, &d, &h, &mi, NULL);
    if (lang == ASK_PT)
        snprintf(out, cap, "%02u/%02u/%04lld %02u:%02u", d, m, (long long)y, h, mi);
    else
        snprintf(out, cap, "%04lld-%02u-%02u %02u:%02u", (long long)y, m, d, h, mi);
}

/* ---- token helpers ---- */

static bool tok_is(const ask_text *t, size_t i, const char *w)
{
    return i < t->n && !t->t[i].used && strcmp(t->t[i].s, w) == 0;
}

static bool tok_in(const ask_text *t, size_t i, const char *const *ws)
{
    for (; *ws; ws++)
        if (tok_is(t, i, *ws))
            return true;
    return false;
}

static bool all_digits(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

static int month_of(const ask_text *t, size_t i, bool abbr_ok)
{
    if (i >= t->n || t->t[i].used)
        return 0;
    const char *s = t->t[i].s;
    for (int k = 0; k < 12; k++) {
        if (strcmp(s, months_pt[k]) == 0 || (strcmp(s, months_en[k]) == 0 && k != 4))
            return k + 1;
        if (abbr_ok && (strcmp(s, months_abbr[k]) == 0 || strcmp(s, months_abbr_en[k]) == 0))
            return k + 1;
    }
    return 0;
}

static bool valid_date(int64_t y, unsigned m, unsigned d)
{
    static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return false;
    if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return false;
    return true;
}

/* An hour after a date: "as 14h", "14:00", "at 14:00", "14h30" -> hour; returns tokens used. */
static size_t parse_hour_at(const ask_text *t, size_t i, unsigned *hour)
{
    size_t k = i;
    if (tok_is(t, k, "as") || tok_is(t, k, "at") || tok_is(t, k, "a"))
        k++;
    if (k >= t->n || t->t[k].used)
        return 0;
    const char *s = t->t[k].s;
    char *end;
    long h = strtol(s, &end, 10);
    if (end == s || h < 0 || h > 23)
        return 0;
    if (*end == 'h' || *end == ':') {
        end++;
        if (*end && !all_digits(end, 2, 2) && strcmp(end, "s") != 0 && strcmp(end, "rs") != 0)
            return 0;
        if (*end && all_digits(end, 2, 2) && atoi(end) != 0)
            return 0; /* hourly data: a minute is not an hour */
    } else if (*end == '\0' && (tok_is(t, k + 1, "h") || tok_is(t, k + 1, "horas") ||
                                tok_is(t, k + 1, "hora") || tok_is(t, k + 1, "hs"))) {
        k++;
    } else {
        return 0;
    }
    *hour = (unsigned)h;
    return k + 1 - i;
}

/* A date at token i: "15/03/2024", "2024-03-15", "15 de março de 2024", "15 de março",
 * "march 15, 2024", "15 march 2024". Returns tokens used (0: none). */
static size_t parse_date_at(const ask_text *t, size_t i, int64_t now_y, int64_t *y, unsigned *m,
                            unsigned *d)
{
    if (i >= t->n || t->t[i].used)
        return 0;
    const char *s = t->t[i].s;
    int a, b, c;
    char tail;
    if (sscanf(s, "%d/%d/%d%c", &a, &b, &c, &tail) == 3 && strlen(s) >= 8) {
        *d = (unsigned)a;
        *m = (unsigned)b;
        *y = c < 100 ? 2000 + c : c;
        return valid_date(*y, *m, *d) ? 1 : 0;
    }
    if (sscanf(s, "%d-%d-%d%c", &a, &b, &c, &tail) == 3 && strlen(s) == 10) {
        *y = a;
        *m = (unsigned)b;
        *d = (unsigned)c;
        return valid_date(*y, *m, *d) ? 1 : 0;
    }
    /* "15 de março de 2024" / "15 março 2024" / "15 de março" */
    if (all_digits(s, 1, 2)) {
        size_t k = i + 1;
        if (tok_is(t, k, "de") || tok_is(t, k, "of"))
            k++;
        int mo = month_of(t, k, true);
        if (mo) {
            k++;
            int64_t yy = now_y;
            if ((tok_is(t, k, "de") || tok_is(t, k, "of")) && k + 1 < t->n &&
                all_digits(t->t[k + 1].s, 4, 4))
                k++;
            if (k < t->n && !t->t[k].used && all_digits(t->t[k].s, 4, 4))
                yy = atoi(t->t[k++].s);
            *y = yy;
            *m = (unsigned)mo;
            *d = (unsigned)atoi(s);
            return valid_date(*y, *m, *d) ? k - i : 0;
        }
    }
    /* "march 15, 2024" / "march 15" */
    int mo = month_of(t, i, false);
    if (mo && i + 1 < t->n && all_digits(t->t[i + 1].s, 1, 2) && !t->t[i + 1].used) {
        size_t k = i + 2;
        int64_t yy = now_y;
        if (k < t->n && !t->t[k].used && all_digits(t->t[k].s, 4, 4))
            yy = atoi(t->t[k++].s);
        *y = yy;
        *m = (unsigned)mo;
        *d = (unsigned)atoi(t->t[i + 1].s);
        return valid_date(*y, *m, *d) ? k - i : 0;
    }
    return 0;
}

static void use(ask_text *t, size_t from, size_t count)
{
    for (size_t k = from; k < from + count && k < t->n; k++)
        t->t[k].used = true;
}

static void set_range(ask_time *out, int64_t start, int64_t end)
{
    out->kind = ASK_T_RANGE;
    out->start = start;
    out->end = end;
}

/* A date (+ optional hour) at i as a range: the day, or the hour. */
static size_t date_range_at(ask_text *t, size_t i, int64_t now_y, const vt_tz *tz, int64_t *start,
                            int64_t *end, bool *hour_given, size_t *pre_at, size_t *pre_n)
{
    *pre_n = 0;
    int64_t y;
    unsigned m, d, h;
    size_t n = parse_date_at(t, i, now_y, &y, &m, &d);
    if (!n)
        return 0;
    size_t nh = parse_hour_at(t, i + n, &h);
    /* "às 14h de 15/03/2024": hour before the date */
    if (!nh && i >= 2) {
        size_t back = (tok_is(t, i - 1, "de") || tok_is(t, i - 1, "on") || tok_is(t, i - 1, "em"))
                          ? 2 : 1;
        for (size_t b = back; b <= 3 && b <= i; b++) {
            size_t got = parse_hour_at(t, i - b, &h);
            if (got && i - b + got + (back - 1) == i) {
                *pre_at = i - b;
                *pre_n = got;
                nh = 0;
                *start = local_hour(tz, y, m, d, h);
                *end = *start + ASK_NS_HOUR;
                *hour_given = true;
                return n;
            }
        }
    }
    if (nh) {
        *start = local_hour(tz, y, m, d, h);
        *end = *start + ASK_NS_HOUR;
        *hour_given = true;
        return n + nh;
    }
    *start = ask_local_day_start(tz, y, m, d);
    *end = day_start_plus(tz, y, m, d, 1);
    *hour_given = false;
    return n;
}

void ask_time_extract(ask_text *t, int64_t now, const vt_tz *tz, ask_time *out)
{
    memset(out, 0, sizeof *out);
    int64_t ny;
    unsigned nm, nd;
    int wday;
    ask_local_fields(tz, now, &ny, &nm, &nd, NULL, NULL, &wday);
    int64_t today = ask_local_day_start(tz, ny, nm, nd);
    static const char *const w_between[] = {"entre", "between", "de", "from", "desde", "since", NULL};
    static const char *const w_and[] = {"e", "and", "a", "ate", "to", "until", "till", NULL};
    static const char *const w_last[] = {"ultima", "ultimas", "ultimo", "ultimos", "last", "past", NULL};
    static const char *const w_hours[] = {"hora", "horas", "hour", "hours", "h", NULL};
    static const char *const w_days[] = {"dia", "dias", "day", "days", NULL};
    static const char *const w_weeks[] = {"semana", "semanas", "week", "weeks", NULL};
    static const char *const w_months[] = {"mes", "meses", "month", "months", NULL};
    static const char *const w_this[] = {"esta", "este", "nesta", "neste", "essa", "esse", "this", "current", NULL};
    static const char *const w_prev[] = {"passada", "passado", "anterior", "last", "previous", NULL};
    static const char *const w_now[] = {"atual", "agora", "atualmente", "now", "current",
                                        "currently", "latest", "momento", "instantanea",
                                        "instantaneo", NULL};

    /* 1. entre D1 e D2 / between D1 and D2 / de D1 a D2 / desde D1 */
    for (size_t i = 0; i < t->n; i++) {
        if (!tok_in(t, i, w_between))
            continue;
        int64_t s1, e1, s2, e2;
        bool h1, h2;
        size_t pa, pn;
        size_t n1 = date_range_at(t, i + 1, ny, tz, &s1, &e1, &h1, &pa, &pn);
        if (!n1)
            continue;
        bool since = tok_is(t, i, "desde") || tok_is(t, i, "since");
        size_t j = i + 1 + n1;
        if (!since && tok_in(t, j, w_and)) {
            size_t pa2, pn2;
            size_t n2 = date_range_at(t, j + 1, ny, tz, &s2, &e2, &h2, &pa2, &pn2);
            if (n2) {
                use(t, i, 1 + n1 + 1 + n2);
                set_range(out, s1, h2 ? s2 : e2);
                return;
            }
        }
        if (since || tok_is(t, i, "from")) {
            use(t, i, 1 + n1);
            set_range(out, s1, now);
            return;
        }
    }
    /* 2. últimas N horas/dias/semanas, última hora, last 24h */
    for (size_t i = 0; i < t->n; i++) {
        if (!tok_in(t, i, w_last))
            continue;
        size_t k = i + 1;
        long n = 1;
        if (k < t->n && !t->t[k].used && all_digits(t->t[k].s, 1, 4)) {
            n = atol(t->t[k].s);
            k++;
        } else if (k < t->n && !t->t[k].used) {
            /* "24h" */
            char *end;
            long v = strtol(t->t[k].s, &end, 10);
            if (end != t->t[k].s && strcmp(end, "h") == 0 && v > 0 && v <= 100000) {
                use(t, i, 2);
                set_range(out, now - v * ASK_NS_HOUR, now);
                return;
            }
        }
        if (n <= 0 || n > 100000)
            continue;
        int64_t unit = tok_in(t, k, w_hours)   ? ASK_NS_HOUR
                       : tok_in(t, k, w_days)  ? NS_DAY
                       : tok_in(t, k, w_weeks) ? 7 * NS_DAY
                                               : 0;
        if (unit == 7 * NS_DAY && n == 1 && k == i + 1 && tok_is(t, i, "last")) {
            use(t, i, 2); /* "last week": the previous calendar week */
            set_range(out, day_start_plus(tz, ny, nm, nd, -wday - 7),
                      day_start_plus(tz, ny, nm, nd, -wday));
            return;
        }
        if (unit) {
            use(t, i, k + 1 - i);
            set_range(out, now - n * unit, now);
            return;
        }
        if (n == 1 && tok_in(t, k, w_months)) { /* "last month" */
            use(t, i, k + 1 - i);
            unsigned pm = nm == 1 ? 12 : nm - 1;
            int64_t py = nm == 1 ? ny - 1 : ny;
            set_range(out, ask_local_day_start(tz, py, pm, 1), ask_local_day_start(tz, ny, nm, 1));
            return;
        }
        if (n == 1 && (tok_is(t, k, "ano") || tok_is(t, k, "year"))) {
            use(t, i, k + 1 - i);
            set_range(out, ask_local_day_start(tz, ny - 1, 1, 1), ask_local_day_start(tz, ny, 1, 1));
            return;
        }
    }
    /* 3. hoje, ontem, anteontem */
    for (size_t i = 0; i < t->n; i++) {
        if (tok_is(t, i, "hoje") || tok_is(t, i, "today")) {
            use(t, i, 1);
            set_range(out, today, now);
            return;
        }
        if (tok_is(t, i, "ontem") || tok_is(t, i, "yesterday")) {
            use(t, i, 1);
            set_range(out, day_start_plus(tz, ny, nm, nd, -1), today);
            return;
        }
        if (tok_is(t, i, "anteontem")) {
            use(t, i, 1);
            set_range(out, day_start_plus(tz, ny, nm, nd, -2), day_start_plus(tz, ny, nm, nd, -1));
            return;
        }
    }
    /* 4. esta semana / semana passada / este mês / mês passado / este ano / ano passado */
    for (size_t i = 0; i < t->n; i++) {
        int unit = tok_in(t, i, w_weeks) ? 1 : tok_in(t, i, w_months) ? 2
                   : (tok_is(t, i, "ano") || tok_is(t, i, "year")) ? 3 : 0;
        if (!unit)
            continue;
        bool this_ = i > 0 && tok_in(t, i - 1, w_this);
        bool prev = tok_in(t, i + 1, w_prev) || (i > 0 && (tok_is(t, i - 1, "last") ||
                                                           tok_is(t, i - 1, "previous")));
        if (!this_ && !prev)
            continue;
        int64_t this_start, prev_start;
        if (unit == 1) {
            this_start = day_start_plus(tz, ny, nm, nd, -wday);
            prev_start = day_start_plus(tz, ny, nm, nd, -wday - 7);
        } else if (unit == 2) {
            this_start = ask_local_day_start(tz, ny, nm, 1);
            prev_start = ask_local_day_start(tz, nm == 1 ? ny - 1 : ny, nm == 1 ? 12 : nm - 1, 1);
        } else {
            this_start = ask_local_day_start(tz, ny, 1, 1);
            prev_start = ask_local_day_start(tz, ny - 1, 1, 1);
        }
        if (this_) {
            use(t, i - 1, 2);
            set_range(out, this_start, now);
        } else {
            if (tok_in(t, i + 1, w_prev))
                use(t, i, 2);
            else
                use(t, i - 1, 2);
            set_range(out, prev_start, this_start);
        }
        return;
    }
    /* 5. a date (+ hour) */
    for (size_t i = 0; i < t->n; i++) {
        int64_t s, e;
        bool h;
        size_t pa, pn;
        size_t n = date_range_at(t, i, ny, tz, &s, &e, &h, &pa, &pn);
        if (n) {
            use(t, i, n);
            use(t, pa, pn);
            set_range(out, s, e);
            out->single_hour = h;
            return;
        }
    }
    /* 6. a month: "março de 2024", "em março", "in March 2024", "mar/2024" */
    for (size_t i = 0; i < t->n; i++) {
        int mo = month_of(t, i, false);
        size_t k = i + 1;
        int64_t yy = 0;
        if (!mo && tok_is(t, i, "may") && i > 0 && tok_is(t, i - 1, "in"))
            mo = 5;
        if (!mo) {
            /* "mar/2024", "03/2024" */
            char ms[8];
            int yv;
            if (i < t->n && !t->t[i].used && sscanf(t->t[i].s, "%3[a-z]/%d", ms, &yv) == 2) {
                for (int q = 0; q < 12; q++)
                    if (strcmp(ms, months_abbr[q]) == 0 || strcmp(ms, months_abbr_en[q]) == 0)
                        mo = q + 1;
                yy = yv;
            } else if (i < t->n && !t->t[i].used && sscanf(t->t[i].s, "%d/%d", &mo, &yv) == 2 &&
                       yv >= 1900 && strchr(t->t[i].s, '/') == strrchr(t->t[i].s, '/')) {
                yy = yv;
            } else {
                mo = 0;
            }
            if (mo < 1 || mo > 12 || !yy)
                continue;
        } else {
            if ((tok_is(t, k, "de") || tok_is(t, k, "of")) && k + 1 < t->n &&
                all_digits(t->t[k + 1].s, 4, 4))
                k++;
            if (k < t->n && !t->t[k].used && all_digits(t->t[k].s, 4, 4))
                yy = atoi(t->t[k++].s);
            else
                k = i + 1;
            if (!yy)
                yy = (unsigned)mo > nm ? ny - 1 : ny;
        }
        use(t, i, k - i);
        if (yy < 1900 || yy > 2200)
            continue;
        int64_t ey = mo == 12 ? yy + 1 : yy;
        unsigned em = mo == 12 ? 1 : (unsigned)mo + 1;
        set_range(out, ask_local_day_start(tz, yy, (unsigned)mo, 1), ask_local_day_start(tz, ey, em, 1));
        return;
    }
    /* 7. a year: "em 2024", "in 2023" */
    for (size_t i = 0; i + 1 < t->n; i++) {
        if ((tok_is(t, i, "em") || tok_is(t, i, "in") || tok_is(t, i, "de") || tok_is(t, i, "of") ||
             tok_is(t, i, "ano") || tok_is(t, i, "year")) &&
            !t->t[i + 1].used && all_digits(t->t[i + 1].s, 4, 4)) {
            int64_t yy = atoi(t->t[i + 1].s);
            if (yy < 1900 || yy > 2200)
                continue;
            use(t, i, 2);
            set_range(out, ask_local_day_start(tz, yy, 1, 1), ask_local_day_start(tz, yy + 1, 1, 1));
            return;
        }
    }
    /* 8. now */
    for (size_t i = 0; i < t->n; i++) {
        if (tok_in(t, i, w_now) || (tok_is(t, i, "right") && tok_is(t, i + 1, "now"))) {
            use(t, i, 1);
            out->kind = ASK_T_LATEST;
            return;
        }
    }
}
