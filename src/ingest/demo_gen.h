/*
 * ingest/demo_gen.h — a generator of ONS-shaped demo data (hourly generation per plant, load per
 * subsystem, interchange between subsystems) written as line protocol. `volta gen` is its front-end;
 * the ingest benchmark and demos feed on it. The schema and the shapes are in docs/DATA-DEMO.md.
 *
 * Deterministic: the same options (seed included) give byte-identical output on every machine.
 * Every value is a pure function of (seed, plant, hour), computed from a counter-based hash, so an
 * hour can be computed alone, in any order.
 *
 * Usage:
 *     demo_gen *g;
 *     if (demo_gen_new(&opts, &g, &err) != VT_OK) ...;
 *     demo_gen_write(g, stdout, &lines, &err);       // or hour by hour: demo_gen_append_lp
 *     demo_gen_free(g);
 */
#ifndef INGEST_DEMO_GEN_H
#define INGEST_DEMO_GEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/buf.h"
#include "common/error.h"

#define DEMO_SUBSYSTEMS 4 /* N, NE, SE, S */
#define DEMO_LINKS 4      /* N->NE, N->SE, NE->SE, SE->S */
#define DEMO_MAX_DAYS 36600u
#define DEMO_MAX_PLANTS 100000u
#define DEMO_MIN_PLANTS 4u /* one hydro plant per subsystem at least */
/* Brasília local time is UTC-3 (no daylight saving time since 2019). */
#define DEMO_LOCAL_OFFSET_NS (-3LL * 3600 * 1000000000LL)

typedef enum demo_plant_type {
    DEMO_HYDRO = 0,
    DEMO_THERMAL,
    DEMO_WIND,
    DEMO_SOLAR,
    DEMO_NUCLEAR,
    DEMO_PLANT_TYPES
} demo_plant_type;

typedef struct demo_gen_options {
    int64_t start_day; /* days since 1970-01-01 of the first Brasília-local day (its 00:00 local
                          is 03:00 UTC, the first timestamp) */
    uint32_t days;     /* 1 .. DEMO_MAX_DAYS */
    uint32_t plants;   /* DEMO_MIN_PLANTS .. DEMO_MAX_PLANTS */
    uint64_t seed;
} demo_gen_options;

typedef struct demo_plant {
    char name[48];   /* "UHE Serra Azul 3" */
    char ons_id[16]; /* "MGH0003" */
    char state[3];   /* two-letter UF */
    int subsystem;   /* index into demo_subsystem_name */
    demo_plant_type type;
    const char *fuel;     /* static string */
    const char *modality; /* static string */
    double capacity_mw;   /* installed capacity */
} demo_plant;

/* One hour of data; the arrays are owned by the generator and valid until its next call. */
typedef struct demo_hour {
    int64_t time_ns;                  /* UTC, aligned to the hour */
    double load[DEMO_SUBSYSTEMS];     /* MWmed */
    double interchange[DEMO_LINKS];   /* MWmed, positive = origin -> destination */
    const double *generation;         /* MWmed per plant, [0, capacity] */
} demo_hour;

typedef struct demo_gen demo_gen;

/* Fills opts with the defaults: 2024-01-01, 365 days, 500 plants, seed 1. */
void demo_gen_options_default(demo_gen_options *opts);
/* Parses "YYYY-MM-DD" into days since 1970-01-01; VT_EINVAL on a malformed or impossible date. */
vt_rc demo_parse_date(const char *s, int64_t *days, vt_err *err);

/* Validates opts and synthesizes the plant list. *out is owned by the caller (demo_gen_free). */
vt_rc demo_gen_new(const demo_gen_options *opts, demo_gen **out, vt_err *err);
void demo_gen_free(demo_gen *g);

const char *demo_subsystem_name(int subsystem); /* "N", "NE", "SE", "S" */
const char *demo_plant_type_name(demo_plant_type t); /* "HIDROELETRICA", ... */
/* Origin and destination subsystem indexes of a link. */
void demo_link(int link, int *origin, int *destination);

size_t demo_gen_plant_count(const demo_gen *g);
const demo_plant *demo_gen_plant(const demo_gen *g, size_t i);
uint64_t demo_gen_hours(const demo_gen *g);
/* Lines per hour: plants + 4 load + 4 interchange. */
uint64_t demo_gen_lines_per_hour(const demo_gen *g);

/* Computes hour h (0-based, < demo_gen_hours). */
void demo_gen_compute(demo_gen *g, uint64_t h, demo_hour *out);
/* Appends the line protocol of hour h (generation, then load, then interchange lines; values with
 * 3 decimals; ns timestamps) to out. Check out->oom once at the end. */
void demo_gen_append_lp(demo_gen *g, uint64_t h, vt_buf *out);
/* Writes every hour to f (buffered). *lines (optional) receives the number of lines written. */
vt_rc demo_gen_write(demo_gen *g, FILE *f, uint64_t *lines, vt_err *err);

#endif
