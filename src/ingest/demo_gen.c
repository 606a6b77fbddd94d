/*
 * ingest/demo_gen.c — ONS-shaped demo data.
 *
 * NOTES ON THE DESIGN
 *
 * 1. Randomness is counter-based: u01(seed, a, b, c) hashes its arguments with splitmix64's
 *    finalizer, so a value depends only on (seed, what, plant, day/hour) and never on the order of
 *    computation. "Weather" that must be smooth in time (clouds, wind regimes, load noise) is value
 *    noise: hashed knots one per day (or per 6 hours), joined by a smoothstep.
 *
 * 2. Time: hour h of the run is local day h/24, local hour h%24 (Brasília, UTC-3, no DST), and its
 *    timestamp is (start_day*24 + h) h + 3 h in UTC. The calendar of a local day (day of year, day
 *    of week, holiday) and every per-plant daily factor are computed once per day (day cache).
 *
 * 3. Balance. For each hour, per subsystem s: load L_s; the non-hydro plants (nuclear, thermal,
 *    wind, solar) follow their own shapes; hydro in N, NE and S follows the load scaled by a
 *    seasonal capacity factor (the reservoirs). That fixes every subsystem's generation G_s except
 *    SE's. The flows follow from the balances (positive = origin -> destination):
 *        export of N   X_N = G_N - L_N,          N->NE = 0.4 X_N,  N->SE = 0.6 X_N
 *        NE->SE            = G_NE - L_NE + N->NE
 *        SE->S             = L_S - G_S
 *    and SE's hydro is the swing: H_SE = L_SE - N->SE - NE->SE + SE->S - (non-hydro of SE).
 *    A subsystem's hydro total is shared among its hydro plants by capacity, with a daily weight per
 *    plant. So generation of each subsystem = load + net export, up to the clamps to [0, capacity]
 *    (rare) and to the 3-decimal rounding.
 *
 * 4. Capacities: each plant draws a raw capacity by type, then every (subsystem, type) group is
 *    scaled so that its installed total matches a target near ONS's grid (table cap_target), so the
 *    totals are the same for 20 or 5,000 plants.
 *
 * 5. Output: each plant's line prefix ("generation,<sorted tags> value=") is built once; a line is
 *    then a memcpy, the value as a 3-decimal integer formatting and the hour's timestamp digits.
 */
#include "ingest/demo_gen.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum { SS_N = 0, SS_NE = 1, SS_SE = 2, SS_S = 3 };
enum { LINK_N_NE = 0, LINK_N_SE = 1, LINK_NE_SE = 2, LINK_SE_S = 3 };

/* What a hashed value is for (the "a" argument of u01): keeps independent streams apart. */
enum {
    K_TYPE = 1, K_SUBSYS, K_STATE, K_FUEL, K_MODALITY, K_CAP, K_WORDS,
    K_LOAD_SMOOTH, K_LOAD_HOUR, K_CLOUD, K_SOLAR_PLANT, K_SOLAR_HOUR, K_WIND_REGIME,
    K_WIND_PLANT, K_THERM_RANK, K_THERM_WEEK, K_THERM_STEP, K_THERM_HOUR, K_NUC_OUTAGE,
    K_NUC_HOUR, K_HYDRO_WEIGHT, K_HYDRO_HOUR
};

#define PI 3.14159265358979323846
#define NS_PER_HOUR 3600000000000LL
#define YEAR_DAYS 365.25
#define LINE_MAX_EXTRA 64 /* value + space + timestamp + newline, generously */
#define WRITE_CHUNK (1u << 20)

static const char *const subsystem_names[DEMO_SUBSYSTEMS] = {"N", "NE", "SE", "S"};
static const char *const type_names[DEMO_PLANT_TYPES] = {"HIDROELETRICA", "TERMICA", "EOLICA",
                                                         "FOTOVOLTAICA", "NUCLEAR"};
static const char *const type_prefix[DEMO_PLANT_TYPES] = {"UHE", "UTE", "EOL", "UFV", "UTN"};
static const char type_letter[DEMO_PLANT_TYPES] = {'H', 'T', 'E', 'F', 'N'};
static const int link_ends[DEMO_LINKS][2] = {{SS_N, SS_NE}, {SS_N, SS_SE}, {SS_NE, SS_SE},
                                             {SS_SE, SS_S}};

/* Average load per subsystem (MWmed), near ONS's 2023 figures. */
static const double load_avg[DEMO_SUBSYSTEMS] = {6000, 11000, 40000, 12000};

/* Installed capacity per subsystem and type (MW): hydro, thermal, wind, solar, nuclear. */
static const double cap_target[DEMO_SUBSYSTEMS][DEMO_PLANT_TYPES] = {
    {22000, 4000, 500, 300, 0},
    {11000, 6500, 22000, 8000, 0},
    {60000, 16000, 30, 6000, 2000},
    {17000, 4500, 2500, 500, 0},
};

/* Share of each subsystem in the plants of a type (cumulative draws). */
static const double subsys_share[DEMO_PLANT_TYPES][DEMO_SUBSYSTEMS] = {
    {0.13, 0.12, 0.55, 0.20},
    {0.15, 0.27, 0.45, 0.13},
    {0.03, 0.85, 0.01, 0.11},
    {0.02, 0.68, 0.29, 0.01},
    {0, 0, 1, 0},
};

static const char *const states_n[] = {"PA", "AM", "TO", "MA", "AP", "RR"};
static const char *const states_ne[] = {"BA", "PE", "CE", "RN", "PB", "PI", "AL", "SE"};
static const char *const states_se[] = {"SP", "MG", "RJ", "ES", "GO", "MT", "MS", "RO"};
static const char *const states_s[] = {"PR", "SC", "RS"};

static const char *const name_first[16] = {"Serra", "Rio", "Vale", "Ponte", "Santa", "Sao",
                                           "Boa", "Nova", "Porto", "Alto", "Campo", "Pedra",
                                           "Lagoa", "Morro", "Cachoeira", "Barra"};
static const char *const name_second[16] = {"Azul", "Verde", "Grande", "Alegre", "Branca",
                                             "Preta", "Vista", "Esperanca", "Clara", "Bonita",
                                             "Dourada", "Funda", "Seca", "Formosa", "Velha",
                                             "Real"};

static const char *const thermal_fuels[] = {"Gas", "Gas", "Biomassa", "Biomassa", "Biomassa",
                                            "Oleo Diesel", "Oleo Diesel", "Oleo Combustivel",
                                            "Carvao", "Residuos Industriais"};
static const char *const hydro_modalities[] = {"TIPO I", "TIPO I", "TIPO I", "TIPO I", "TIPO I",
                                               "TIPO I", "TIPO II-A", "TIPO II-B", "TIPO III",
                                               "TIPO III", "Pequenas Usinas (Tipo III)"};
static const char *const thermal_modalities[] = {"TIPO I", "TIPO I", "TIPO I", "TIPO I",
                                                 "TIPO II-A", "TIPO II-B", "TIPO II-C",
                                                 "TIPO III", "TIPO III", "Conjunto de Usinas"};
static const char *const wind_modalities[] = {"Conjunto de Usinas", "Conjunto de Usinas",
                                              "Conjunto de Usinas", "Conjunto de Usinas",
                                              "Conjunto de Usinas", "Conjunto de Usinas",
                                              "Conjunto de Usinas", "Conjunto de Usinas",
                                              "TIPO I", "TIPO II-B"};
static const char *const solar_modalities[] = {"Conjunto de Usinas", "Conjunto de Usinas",
                                               "Conjunto de Usinas", "Conjunto de Usinas",
                                               "Conjunto de Usinas", "TIPO II-C"};

/* Load shape by Brasília local hour (weekday, relative; normalized at start). */
static const double load_shape_raw[24] = {0.93, 0.88, 0.85, 0.83, 0.82, 0.83, 0.86, 0.91,
                                          0.97, 1.02, 1.05, 1.07, 1.06, 1.07, 1.09, 1.10,
                                          1.09, 1.07, 1.08, 1.09, 1.07, 1.04, 1.00, 0.96};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Per-plant state: the fixed description plus its line prefix and daily factors. */
typedef struct plant_state {
    char *prefix; /* "generation,...,subsystem=SE value=" */
    size_t prefix_len;
    double rank;     /* thermal merit order / nuclear outage phase, fixed */
    double day_f;    /* daily factor (cache for the current day) */
    double hour_ref; /* thermal: dispatched level of the day, MW */
    bool peaker;     /* thermal: dispatched only at evening peak */
} plant_state;

struct demo_gen {
    demo_gen_options opts;
    demo_plant *plants;
    plant_state *ps;
    double *gen; /* per plant, current hour */
    double type_cap[DEMO_SUBSYSTEMS][DEMO_PLANT_TYPES];
    double load_shape[24];
    /* day cache */
    int64_t cached_day; /* local day index of the cache, -1 when empty */
    int doy, dow;       /* day of year 0..365, day of week 0 = Sunday */
    bool holiday;
    double hydro_wsum[DEMO_SUBSYSTEMS];
};

/* ---- hashing ---- */

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Uniform in [0, 1), a pure function of its arguments. */
static double u01(uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t h = mix64(seed ^ mix64(a ^ mix64(b ^ mix64(c))));
    return (double)(h >> 11) * 0x1p-53;
}

/* Smooth noise in [0, 1) over x (knots at integers). */
static double smooth01(uint64_t seed, uint64_t a, uint64_t b, double x)
{
    double fl = floor(x);
    int64_t i = (int64_t)fl;
    double f = x - fl;
    double s = f * f * (3.0 - 2.0 * f);
    double v0 = u01(seed, a, b, (uint64_t)i);
    double v1 = u01(seed, a, b, (uint64_t)(i + 1));
    return v0 + (v1 - v0) * s;
}

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* ---- calendar (proleptic Gregorian, days since 1970-01-01) ---- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

vt_rc demo_parse_date(const char *s, int64_t *days, vt_err *err)
{
    unsigned y = 0, m = 0, d = 0;
    size_t n = s ? strlen(s) : 0;
    if (n != 10 || s[4] != '-' || s[7] != '-')
        return vt_err_set(err, VT_EINVAL, "date '%s': expected YYYY-MM-DD", s ? s : "");
    for (size_t i = 0; i < 10; i++) {
        if (i == 4 || i == 7)
            continue;
        if (s[i] < '0' || s[i] > '9')
            return vt_err_set(err, VT_EINVAL, "date '%s': expected YYYY-MM-DD", s);
        unsigned dig = (unsigned)(s[i] - '0');
        if (i < 4)
            y = y * 10 + dig;
        else if (i < 7)
            m = m * 10 + dig;
        else
            d = d * 10 + dig;
    }
    static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] || (m == 2 && d == 29 && !leap))
        return vt_err_set(err, VT_EINVAL, "date '%s': no such day (or before 1970)", s);
    *days = days_from_civil(y, m, d);
    return VT_OK;
}

/* ---- plant synthesis ---- */

static const char *pick(const char *const *arr, size_t n, double u)
{
    size_t i = (size_t)(u * (double)n);
    return arr[i < n ? i : n - 1];
}

static void escape_append(vt_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == ',' || *s == '=' || *s == ' ')
            vt_buf_putc(b, '\\');
        vt_buf_putc(b, (uint8_t)*s);
    }
}

static void synth_plant(demo_gen *g, uint32_t i, demo_plant *p, plant_state *st)
{
    uint64_t seed = g->opts.seed;
    demo_plant_type t;
    int ss;
    if (i < DEMO_SUBSYSTEMS) { /* every subsystem has hydro to balance with */
        t = DEMO_HYDRO;
        ss = (int)i;
    } else if (i < 6 && g->opts.plants >= 20) {
        t = DEMO_NUCLEAR;
        ss = SS_SE;
    } else {
        double u = u01(seed, K_TYPE, i, 0);
        t = u < 0.44 ? DEMO_HYDRO : u < 0.74 ? DEMO_THERMAL : u < 0.95 ? DEMO_WIND : DEMO_SOLAR;
        double v = u01(seed, K_SUBSYS, i, 0), acc = 0;
        ss = DEMO_SUBSYSTEMS - 1;
        for (int k = 0; k < DEMO_SUBSYSTEMS; k++) {
            acc += subsys_share[t][k];
            if (v < acc) {
                ss = k;
                break;
            }
        }
    }
    p->type = t;
    p->subsystem = ss;
    double us = u01(seed, K_STATE, i, 0);
    const char *state;
    if (t == DEMO_NUCLEAR)
        state = "RJ";
    else if (ss == SS_N)
        state = pick(states_n, COUNT(states_n), us);
    else if (ss == SS_NE)
        state = pick(states_ne, COUNT(states_ne), us);
    else if (ss == SS_SE)
        state = pick(states_se, COUNT(states_se), us);
    else
        state = pick(states_s, COUNT(states_s), us);
    memcpy(p->state, state, 3);

    double uf = u01(seed, K_FUEL, i, 0), um = u01(seed, K_MODALITY, i, 0);
    switch (t) {
    case DEMO_HYDRO:
        p->fuel = "Hidraulica";
        p->modality = pick(hydro_modalities, COUNT(hydro_modalities), um);
        break;
    case DEMO_THERMAL:
        p->fuel = pick(thermal_fuels, COUNT(thermal_fuels), uf);
        p->modality = pick(thermal_modalities, COUNT(thermal_modalities), um);
        break;
    case DEMO_WIND:
        p->fuel = "Eolica";
        p->modality = pick(wind_modalities, COUNT(wind_modalities), um);
        break;
    case DEMO_SOLAR:
        p->fuel = "Fotovoltaica";
        p->modality = pick(solar_modalities, COUNT(solar_modalities), um);
        break;
    default:
        p->fuel = "Nuclear";
        p->modality = "TIPO I";
        break;
    }

    /* Unique names: (first, second, number) is a bijection of i (i = 256 n + 16 q + r gives
     * first = r + s1, second = 7 r + q + s2 mod 16, number = n + 1). */
    uint32_t s1 = (uint32_t)(u01(seed, K_WORDS, 1, 0) * 16), s2 = (uint32_t)(u01(seed, K_WORDS, 2, 0) * 16);
    snprintf(p->name, sizeof p->name, "%s %s %s %u", type_prefix[t], name_first[(i + s1) % 16],
             name_second[(7 * i + i / 16 + s2) % 16], i / 256 + 1);
    snprintf(p->ons_id, sizeof p->ons_id, "%s%c%04u", p->state, type_letter[t], i);

    double uc = u01(seed, K_CAP, i, 0);
    switch (t) {
    case DEMO_HYDRO: p->capacity_mw = 5 + 3000 * uc * uc * uc; break;
    case DEMO_THERMAL: p->capacity_mw = 10 + 800 * uc * uc; break;
    case DEMO_WIND: p->capacity_mw = 20 + 400 * uc; break;
    case DEMO_SOLAR: p->capacity_mw = 10 + 300 * uc; break;
    default: p->capacity_mw = 700 + 700 * uc; break;
    }

    st->rank = u01(seed, K_THERM_RANK, i, 0);
    st->peaker = t == DEMO_THERMAL && (strncmp(p->fuel, "Oleo", 4) == 0) && st->rank > 0.4;
}

static vt_rc build_prefix(const demo_plant *p, plant_state *st, vt_err *err)
{
    vt_buf b;
    vt_buf_init(&b);
    vt_buf_append(&b, "generation,fuel=", 16);
    escape_append(&b, p->fuel);
    vt_buf_append(&b, ",modality=", 10);
    escape_append(&b, p->modality);
    vt_buf_append(&b, ",ons_id=", 8);
    escape_append(&b, p->ons_id);
    vt_buf_append(&b, ",plant=", 7);
    escape_append(&b, p->name);
    vt_buf_append(&b, ",plant_type=", 12);
    escape_append(&b, type_names[p->type]);
    vt_buf_append(&b, ",state=", 7);
    escape_append(&b, p->state);
    vt_buf_append(&b, ",subsystem=", 11);
    escape_append(&b, subsystem_names[p->subsystem]);
    vt_buf_append(&b, " value=", 7);
    if (b.oom) {
        vt_buf_free(&b);
        return vt_err_set(err, VT_ENOMEM, "demo_gen: out of memory building plant %s", p->name);
    }
    st->prefix = (char *)b.data;
    st->prefix_len = b.len;
    return VT_OK;
}

void demo_gen_options_default(demo_gen_options *opts)
{
    opts->start_day = days_from_civil(2024, 1, 1);
    opts->days = 365;
    opts->plants = 500;
    opts->seed = 1;
}

vt_rc demo_gen_new(const demo_gen_options *opts, demo_gen **out, vt_err *err)
{
    *out = NULL;
    if (opts->days < 1 || opts->days > DEMO_MAX_DAYS)
        return vt_err_set(err, VT_EINVAL, "days must be 1..%u (got %u)", DEMO_MAX_DAYS, opts->days);
    if (opts->plants < DEMO_MIN_PLANTS || opts->plants > DEMO_MAX_PLANTS)
        return vt_err_set(err, VT_EINVAL, "plants must be %u..%u (got %u)", DEMO_MIN_PLANTS,
                          DEMO_MAX_PLANTS, opts->plants);
    if (opts->start_day < 0 || opts->start_day > 100000)
        return vt_err_set(err, VT_EINVAL, "start day %lld out of range 1970..2243",
                          (long long)opts->start_day);
    demo_gen *g = calloc(1, sizeof *g);
    if (!g)
        return vt_err_set(err, VT_ENOMEM, "demo_gen: out of memory");
    g->opts = *opts;
    g->cached_day = -1;
    g->plants = calloc(opts->plants, sizeof *g->plants);
    g->ps = calloc(opts->plants, sizeof *g->ps);
    g->gen = calloc(opts->plants, sizeof *g->gen);
    if (!g->plants || !g->ps || !g->gen) {
        demo_gen_free(g);
        return vt_err_set(err, VT_ENOMEM, "demo_gen: out of memory for %u plants", opts->plants);
    }
    double raw[DEMO_SUBSYSTEMS][DEMO_PLANT_TYPES] = {{0}};
    for (uint32_t i = 0; i < opts->plants; i++) {
        synth_plant(g, i, &g->plants[i], &g->ps[i]);
        raw[g->plants[i].subsystem][g->plants[i].type] += g->plants[i].capacity_mw;
    }
    for (uint32_t i = 0; i < opts->plants; i++) {
        demo_plant *p = &g->plants[i];
        double target = cap_target[p->subsystem][p->type];
        if (target <= 0) /* a type the grid barely has there: keep it small */
            target = 50;
        p->capacity_mw *= target / raw[p->subsystem][p->type];
        g->type_cap[p->subsystem][p->type] += p->capacity_mw;
        vt_rc rc = build_prefix(p, &g->ps[i], err);
        if (rc != VT_OK) {
            demo_gen_free(g);
            return rc;
        }
    }
    double mean = 0;
    for (int h = 0; h < 24; h++)
        mean += load_shape_raw[h] / 24.0;
    for (int h = 0; h < 24; h++)
        g->load_shape[h] = load_shape_raw[h] / mean;
    *out = g;
    return VT_OK;
}

void demo_gen_free(demo_gen *g)
{
    if (!g)
        return;
    if (g->ps)
        for (uint32_t i = 0; i < g->opts.plants; i++)
            free(g->ps[i].prefix);
    free(g->ps);
    free(g->plants);
    free(g->gen);
    free(g);
}

const char *demo_subsystem_name(int subsystem)
{
    return subsystem >= 0 && subsystem < DEMO_SUBSYSTEMS ? subsystem_names[subsystem] : "?";
}

const char *demo_plant_type_name(demo_plant_type t)
{
    return (unsigned)t < DEMO_PLANT_TYPES ? type_names[t] : "?";
}

void demo_link(int link, int *origin, int *destination)
{
    int l = link >= 0 && link < DEMO_LINKS ? link : 0;
    *origin = link_ends[l][0];
    *destination = link_ends[l][1];
}

size_t demo_gen_plant_count(const demo_gen *g)
{
    return g->opts.plants;
}

const demo_plant *demo_gen_plant(const demo_gen *g, size_t i)
{
    return i < g->opts.plants ? &g->plants[i] : NULL;
}

uint64_t demo_gen_hours(const demo_gen *g)
{
    return (uint64_t)g->opts.days * 24;
}

uint64_t demo_gen_lines_per_hour(const demo_gen *g)
{
    return (uint64_t)g->opts.plants + DEMO_SUBSYSTEMS + DEMO_LINKS;
}

/* ---- shapes ---- */

/* cos of the season, peaking at day of year `peak`. */
static double season(int doy, double peak)
{
    return cos(2 * PI * ((double)doy - peak) / YEAR_DAYS);
}

static bool is_holiday(unsigned m, unsigned d)
{
    static const unsigned short days[] = {101, 421, 501, 907, 1012, 1102, 1115, 1225};
    unsigned md = m * 100 + d;
    for (size_t i = 0; i < COUNT(days); i++)
        if (days[i] == md)
            return true;
    return false;
}

/* Hours of daylight in subsystem ss on day of year doy (longest near the December solstice). */
static double day_length(int ss, int doy)
{
    static const double amp[DEMO_SUBSYSTEMS] = {0.2, 0.5, 1.2, 1.8};
    return 12.0 + amp[ss] * season(doy, 355);
}

/* Seasonal hydro capacity factor of N, NE and S (their reservoirs / rivers). */
static double hydro_cf(int ss, int doy)
{
    switch (ss) {
    case SS_N: return 0.42 + 0.26 * season(doy, 90);
    case SS_NE: return 0.35 + 0.10 * season(doy, 60);
    case SS_S: return 0.50 + 0.10 * season(doy, 240);
    default: return 0.40;
    }
}

static double wind_cf(int ss, int doy)
{
    switch (ss) {
    case SS_N: return 0.30 + 0.10 * season(doy, 250);
    case SS_NE: return 0.38 + 0.16 * season(doy, 250);
    case SS_S: return 0.35 + 0.07 * season(doy, 200);
    default: return 0.25;
    }
}

/* Diurnal wind factor by local hour: NE blows hardest at night and mid-afternoon. */
static double wind_diurnal(int ss, int lh)
{
    double h = (double)lh + 0.5;
    if (ss == SS_NE)
        return 1.0 + 0.18 * cos(2 * PI * (h - 1.0) / 24.0) + 0.12 * cos(2 * PI * (h - 15.0) / 12.0);
    return 1.0 + 0.10 * cos(2 * PI * (h - 14.0) / 24.0);
}

/* Dryness 0..1, peaking in September (reservoirs low, thermal dispatched). */
static double dryness(int doy)
{
    return 0.5 + 0.5 * season(doy, 250);
}

static double load_season(int ss, int doy)
{
    switch (ss) {
    case SS_N: return 1.0 + 0.03 * season(doy, 280);
    case SS_NE: return 1.0 + 0.04 * season(doy, 60);
    case SS_SE: return 1.0 + 0.06 * season(doy, 40);
    default: return 1.0 + 0.04 * season(doy, 30) + 0.03 * season(doy, 200);
    }
}

/* Everything that changes once a (local) day. */
static void load_day(demo_gen *g, int64_t day_index)
{
    uint64_t seed = g->opts.seed;
    int64_t day = g->opts.start_day + day_index;
    int64_t y;
    unsigned m, d;
    civil_from_days(day, &y, &m, &d);
    g->doy = (int)(day - days_from_civil(y, 1, 1));
    g->dow = (int)((day + 4) % 7); /* 1970-01-01 was a Thursday */
    g->holiday = is_holiday(m, d);
    uint64_t uday = (uint64_t)day, week = (uint64_t)((day + 3) / 7);
    double dry = dryness(g->doy);
    for (int s = 0; s < DEMO_SUBSYSTEMS; s++)
        g->hydro_wsum[s] = 0;
    for (uint32_t i = 0; i < g->opts.plants; i++) {
        const demo_plant *p = &g->plants[i];
        plant_state *st = &g->ps[i];
        switch (p->type) {
        case DEMO_HYDRO:
            st->day_f = p->capacity_mw * (0.75 + 0.5 * u01(seed, K_HYDRO_WEIGHT, i, uday));
            g->hydro_wsum[p->subsystem] += st->day_f;
            break;
        case DEMO_SOLAR:
            st->day_f = 0.92 + 0.16 * u01(seed, K_SOLAR_PLANT, i, uday);
            break;
        case DEMO_WIND:
            st->day_f = 0.85 + 0.3 * u01(seed, K_WIND_PLANT, i, uday);
            break;
        case DEMO_THERMAL: {
            /* Merit order: the cheaper (low rank) plants run when the season is dry. */
            double threshold = 0.25 + 0.40 * dry + 0.15 * (u01(seed, K_THERM_WEEK, 0, week) - 0.5);
            bool inflexible = strcmp(p->fuel, "Gas") == 0 || strcmp(p->fuel, "Biomassa") == 0;
            double level = 0;
            if (st->rank < threshold) {
                level = p->capacity_mw * (0.6 + 0.35 * u01(seed, K_THERM_WEEK, i, week));
                if (u01(seed, K_THERM_STEP, i, uday) < 0.25) /* a day at reduced dispatch */
                    level *= 0.7;
            } else if (inflexible) {
                level = p->capacity_mw * 0.2;
            }
            st->hour_ref = level;
            break;
        }
        case DEMO_NUCLEAR: {
            /* A 30-day refuelling outage a year, each unit at its own time. */
            int start = 40 + (int)(i % 2) * 180 + (int)(st->rank * 40);
            st->day_f = (g->doy >= start && g->doy < start + 30) ? 0.0 : 1.0;
            break;
        }
        default:
            break;
        }
    }
    g->cached_day = day_index;
}

void demo_gen_compute(demo_gen *g, uint64_t h, demo_hour *out)
{
    uint64_t seed = g->opts.seed;
    int64_t day_index = (int64_t)(h / 24);
    int lh = (int)(h % 24);
    if (g->cached_day != day_index)
        load_day(g, day_index);
    int doy = g->doy;
    int64_t abs_hour = (g->opts.start_day + day_index) * 24 + lh; /* local hours since epoch */
    double tdays = (double)abs_hour / 24.0;

    /* Load. */
    double week_f = g->holiday || g->dow == 0 ? 0.85 : g->dow == 6 ? 0.93 : 1.0;
    double load[DEMO_SUBSYSTEMS];
    for (int s = 0; s < DEMO_SUBSYSTEMS; s++) {
        double daily = g->load_shape[lh];
        if (week_f < 1.0) /* weekends flatten the daytime hump */
            daily = 1.0 + (daily - 1.0) * 0.7;
        double noise = 1.0 + 0.06 * (smooth01(seed, K_LOAD_SMOOTH, (uint64_t)s, tdays) - 0.5) +
                       0.01 * (u01(seed, K_LOAD_HOUR, (uint64_t)s, (uint64_t)abs_hour) - 0.5);
        load[s] = load_avg[s] * load_season(s, doy) * week_f * daily * noise;
    }

    /* Non-hydro plants. */
    double nonhydro[DEMO_SUBSYSTEMS] = {0};
    double cloud[DEMO_SUBSYSTEMS], regime[DEMO_SUBSYSTEMS], sun[DEMO_SUBSYSTEMS];
    double dry = dryness(doy);
    for (int s = 0; s < DEMO_SUBSYSTEMS; s++) {
        double wet = 1.0 - dry;
        cloud[s] = (0.45 + 0.55 * smooth01(seed, K_CLOUD, (uint64_t)s, tdays)) * (1.0 - 0.15 * wet);
        regime[s] = 0.5 + smooth01(seed, K_WIND_REGIME, (uint64_t)s, tdays * 2.0);
        double len = day_length(s, doy), rise = 12.0 - len / 2.0;
        double x = ((double)lh + 0.5 - rise) / len;
        sun[s] = (x <= 0.0 || x >= 1.0) ? 0.0 : pow(sin(PI * x), 1.5);
    }
    bool evening_peak = lh >= 17 && lh <= 21 && g->dow != 0 && g->dow != 6 && !g->holiday;
    for (uint32_t i = 0; i < g->opts.plants; i++) {
        const demo_plant *p = &g->plants[i];
        const plant_state *st = &g->ps[i];
        int s = p->subsystem;
        double v = 0, cap = p->capacity_mw;
        switch (p->type) {
        case DEMO_SOLAR:
            if (sun[s] > 0)
                v = cap * 0.85 * sun[s] * cloud[s] * st->day_f *
                    (0.97 + 0.06 * u01(seed, K_SOLAR_HOUR, i, (uint64_t)abs_hour));
            break;
        case DEMO_WIND:
            v = cap * wind_cf(s, doy) * wind_diurnal(s, lh) * regime[s] * st->day_f *
                (0.9 + 0.2 * smooth01(seed, K_WIND_PLANT, i, tdays * 4.0));
            break;
        case DEMO_THERMAL:
            if (st->peaker)
                v = evening_peak && st->hour_ref > 0 ? st->hour_ref : 0;
            else
                v = st->hour_ref;
            if (v > 0)
                v *= 0.99 + 0.02 * u01(seed, K_THERM_HOUR, i, (uint64_t)abs_hour);
            break;
        case DEMO_NUCLEAR:
            v = cap * 0.96 * st->day_f * (0.998 + 0.004 * u01(seed, K_NUC_HOUR, i, (uint64_t)abs_hour));
            break;
        default:
            continue; /* hydro below */
        }
        v = clampd(v, 0, cap);
        g->gen[i] = v;
        nonhydro[s] += v;
    }

    /* Hydro totals and flows (design note 3). */
    double hydro[DEMO_SUBSYSTEMS], gen_tot[DEMO_SUBSYSTEMS];
    for (int s = 0; s < DEMO_SUBSYSTEMS; s++) {
        if (s == SS_SE)
            continue;
        hydro[s] = clampd(g->type_cap[s][DEMO_HYDRO] * hydro_cf(s, doy) * load[s] / load_avg[s], 0,
                          0.95 * g->type_cap[s][DEMO_HYDRO]);
        gen_tot[s] = hydro[s] + nonhydro[s];
    }
    double x_n = gen_tot[SS_N] - load[SS_N];
    double flow[DEMO_LINKS];
    flow[LINK_N_NE] = 0.4 * x_n;
    flow[LINK_N_SE] = 0.6 * x_n;
    flow[LINK_NE_SE] = gen_tot[SS_NE] - load[SS_NE] + flow[LINK_N_NE];
    flow[LINK_SE_S] = load[SS_S] - gen_tot[SS_S];
    hydro[SS_SE] = clampd(load[SS_SE] - flow[LINK_N_SE] - flow[LINK_NE_SE] + flow[LINK_SE_S] -
                              nonhydro[SS_SE],
                          0, 0.97 * g->type_cap[SS_SE][DEMO_HYDRO]);
    for (uint32_t i = 0; i < g->opts.plants; i++) {
        const demo_plant *p = &g->plants[i];
        if (p->type != DEMO_HYDRO)
            continue;
        int s = p->subsystem;
        double share = g->hydro_wsum[s] > 0 ? g->ps[i].day_f / g->hydro_wsum[s] : 0;
        g->gen[i] = clampd(hydro[s] * share, 0, p->capacity_mw);
    }

    out->time_ns = abs_hour * NS_PER_HOUR - DEMO_LOCAL_OFFSET_NS;
    for (int s = 0; s < DEMO_SUBSYSTEMS; s++)
        out->load[s] = load[s];
    for (int l = 0; l < DEMO_LINKS; l++)
        out->interchange[l] = flow[l];
    out->generation = g->gen;
}

/* ---- line protocol ---- */

/* Writes v (>= 0) in decimal; returns the number of bytes. */
static size_t put_u64(char *p, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return n;
}

/* Writes v with exactly 3 decimals (rounded half away from zero), e.g. "106.554", "-0.500". */
static size_t put_milli(char *p, double v)
{
    size_t n = 0;
    if (!isfinite(v) || fabs(v) > 9e15)
        v = 0; /* cannot happen with clamped shapes; keeps the output parseable */
    int64_t m = llround(v * 1000.0);
    if (m < 0) {
        p[n++] = '-';
        m = -m;
    }
    uint64_t um = (uint64_t)m;
    n += put_u64(p + n, um / 1000);
    uint64_t frac = um % 1000;
    p[n++] = '.';
    p[n++] = (char)('0' + frac / 100);
    p[n++] = (char)('0' + frac / 10 % 10);
    p[n++] = (char)('0' + frac % 10);
    return n;
}

static void append_line(vt_buf *out, const char *prefix, size_t prefix_len, double v,
                        const char *ts, size_t ts_len)
{
    if (!vt_buf_reserve(out, prefix_len + LINE_MAX_EXTRA))
        return;
    char *p = (char *)out->data + out->len;
    memcpy(p, prefix, prefix_len);
    size_t n = prefix_len;
    n += put_milli(p + n, v);
    p[n++] = ' ';
    memcpy(p + n, ts, ts_len);
    n += ts_len;
    p[n++] = '\n';
    out->len += n;
}

void demo_gen_append_lp(demo_gen *g, uint64_t h, vt_buf *out)
{
    demo_hour hr;
    demo_gen_compute(g, h, &hr);
    char ts[24];
    size_t ts_len = put_u64(ts, (uint64_t)hr.time_ns);
    for (uint32_t i = 0; i < g->opts.plants; i++)
        append_line(out, g->ps[i].prefix, g->ps[i].prefix_len, hr.generation[i], ts, ts_len);
    char prefix[96];
    for (int s = 0; s < DEMO_SUBSYSTEMS; s++) {
        int n = snprintf(prefix, sizeof prefix, "load,subsystem=%s value=", subsystem_names[s]);
        append_line(out, prefix, (size_t)n, hr.load[s], ts, ts_len);
    }
    for (int l = 0; l < DEMO_LINKS; l++) {
        int n = snprintf(prefix, sizeof prefix, "interchange,destination=%s,origin=%s value=",
                         subsystem_names[link_ends[l][1]], subsystem_names[link_ends[l][0]]);
        append_line(out, prefix, (size_t)n, hr.interchange[l], ts, ts_len);
    }
}

vt_rc demo_gen_write(demo_gen *g, FILE *f, uint64_t *lines, vt_err *err)
{
    vt_rc rc = VT_OK;
    vt_buf b;
    vt_buf_init(&b);
    uint64_t hours = demo_gen_hours(g), written = 0;
    for (uint64_t h = 0; h < hours; h++) {
        demo_gen_append_lp(g, h, &b);
        written += demo_gen_lines_per_hour(g);
        if (b.oom) {
            rc = vt_err_set(err, VT_ENOMEM, "demo_gen: out of memory at hour %llu",
                            (unsigned long long)h);
            goto cleanup;
        }
        if (b.len >= WRITE_CHUNK || h + 1 == hours) {
            if (fwrite(b.data, 1, b.len, f) != b.len) {
                rc = vt_err_set(err, VT_EIO, "demo_gen: write failed at hour %llu: %s",
                                (unsigned long long)h, strerror(errno));
                goto cleanup;
            }
            vt_buf_reset(&b);
        }
    }
    if (fflush(f) != 0 || ferror(f)) {
        rc = vt_err_set(err, VT_EIO, "demo_gen: flush failed: %s", strerror(errno));
        goto cleanup;
    }
    if (lines)
        *lines = written;
cleanup:
    vt_buf_free(&b);
    return rc;
}
