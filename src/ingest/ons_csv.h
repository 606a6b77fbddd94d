/*
 * ingest/ons_csv.h — ONS CSV datasets -> line protocol.
 *
 * The grid operator (ONS, dados.ons.org.br) publishes hourly data as `;`-separated CSV with a
 * header row. This module reads the four datasets volta loads and turns every row into line
 * protocol (precision ns, one line per point, tags sorted by key), the payload format of the
 * journal: the same bytes feed the native engine and any remote backend.
 *
 *   dataset      ONS file                          measurement   tags                     fields
 *   generation   GERACAO_USINA-2_YYYY_MM.csv       generation    ceg fuel modality ons_id value
 *                                                                plant plant_type state
 *                                                                subsystem
 *   load         CURVA_CARGA_YYYY.csv              load          subsystem                value
 *   interchange  INTERCAMBIO_NACIONAL_YYYY.csv     interchange   destination origin       value
 *   balance      BALANCO_ENERGIA_SUBSISTEMA_YYYY   balance       subsystem                hydro thermal
 *                                                                                         wind solar load
 *                                                                                         interchange
 * (the exact column -> tag/field mapping is in docs/DATA.md.)
 *
 * Rules every row follows:
 *   - Columns are found by header name, in any order; extra columns are ignored; a missing
 *     required column fails the whole file at line 1. ONS's own header typo `id_subsistena`
 *     (balance files) is accepted for `id_subsistema`. A UTF-8 BOM before the header is skipped.
 *   - `din_instante` ("YYYY-MM-DD HH:MM:SS", also "YYYY-MM-DDTHH:MM:SS" and without seconds) is
 *     Brasília local time (America/Sao_Paulo, historical daylight saving time included) and is
 *     converted to UTC. A wall time that did not exist (the spring-forward gap) is rejected; a
 *     wall time that happened twice (the autumn overlap, where ONS keeps one row) is read as the
 *     first occurrence (daylight time), as Go's time.Date and InfluxDB's tz() do.
 *   - Numbers: optional sign, digits, optional `.` fraction, optional exponent (`0E-8`,
 *     `10455.81799999`, `11587.045999999998`); the value is the nearest double (strtod-exact).
 *     A comma decimal separator (`1234,5`) is accepted too. Anything else rejects the row.
 *   - An empty value is never invented: the field is left out (counted in empty_values); a row
 *     left with no field at all writes no point (counted in rows_empty, not rejected).
 *   - An empty tag value (e.g. a plant without CEG) leaves the tag out; ONS's "-" is kept as is.
 *   - A malformed row (wrong column count, bad number, bad time, gap time) is rejected with its
 *     line number and a reason through the reject callback and counted; the rest of the file loads.
 *   - Rows may end in LF or CRLF; a quoted field ("...", with "" for a quote) is unquoted.
 *   - Text that is not valid UTF-8 is read as Latin-1 (older ONS files) and converted to UTF-8.
 *
 * Streaming: feed the file in chunks of any size; complete rows are converted at once, so memory
 * stays bounded by the chunk and the caller's output buffer. The reader allocates nothing per row.
 */
#ifndef INGEST_ONS_CSV_H
#define INGEST_ONS_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"

typedef enum ons_dataset {
    ONS_UNKNOWN = 0,
    ONS_GENERATION,
    ONS_LOAD,
    ONS_INTERCHANGE,
    ONS_BALANCE,
} ons_dataset;

/* "generation", "load", "interchange", "balance" ("unknown" for ONS_UNKNOWN). */
const char *ons_dataset_name(ons_dataset d);
/* The inverse of ons_dataset_name (Hive partition values `dataset=<name>`); ONS_UNKNOWN if none. */
ons_dataset ons_dataset_parse(const char *name, size_t len);
/* The dataset of one of ONS's own file names (base name, case-insensitive):
 * GERACAO_USINA-2_YYYY_MM*.csv, GERACAO_USINA*.csv, CURVA_CARGA*.csv, INTERCAMBIO_NACIONAL*.csv,
 * BALANCO_ENERGIA_SUBSISTEMA*.csv; ONS_UNKNOWN otherwise. */
ons_dataset ons_dataset_from_filename(const char *basename);

typedef struct ons_stats {
    uint64_t rows_read;     /* data rows seen (header excluded, blank lines excluded) */
    uint64_t rows_loaded;   /* rows that produced a point */
    uint64_t rows_rejected; /* malformed rows (each reported through the callback) */
    uint64_t rows_empty;    /* rows whose every value was empty: no point, not an error */
    uint64_t empty_values;  /* empty value cells (fields left out) */
    uint64_t points;        /* line-protocol lines produced (= rows_loaded) */
    uint64_t fields;        /* field values produced */
    int64_t min_time;       /* ns UTC of the points produced; INT64_MAX / INT64_MIN when none */
    int64_t max_time;
} ons_stats;

/* Called once per rejected row: line is 1-based in the file (the header is line 1). */
typedef void (*ons_reject_fn)(void *ctx, uint64_t line, const char *reason);

typedef struct ons_reader ons_reader;

/* A reader for one file. dataset may be ONS_UNKNOWN: it is then told by the header (and the
 * header must match the dataset when one is given: VT_EPARSE "<label>:1: header is not a
 * <dataset> file: missing column X"). label names the file in messages. reject may be NULL. */
vt_rc ons_reader_new(ons_dataset dataset, const char *label, ons_reject_fn reject, void *ctx,
                     ons_reader **out, vt_err *err);
void ons_reader_free(ons_reader *r);

/* Feeds the next bytes of the file; the line protocol of every complete row is appended to out.
 * Errors (VT_EPARSE naming "<label>:<line>") only for what fails the whole file: the header, a
 * line longer than 64 KiB; row problems are rejections, not errors. */
vt_rc ons_reader_feed(ons_reader *r, const void *data, size_t len, vt_buf *out, vt_err *err);
/* End of file: converts a last row without a newline. An empty file (no header) is VT_EPARSE. */
vt_rc ons_reader_finish(ons_reader *r, vt_buf *out, vt_err *err);

/* The dataset (known once the header is read), and the counts so far. */
ons_dataset ons_reader_dataset(const ons_reader *r);
const ons_stats *ons_reader_stats(const ons_reader *r);
/* The measurement a dataset writes ("generation", ...). */
const char *ons_dataset_measurement(ons_dataset d);

/* Synthetic data in ONS's own format (the load benchmark, tests): one month of hourly generation
 * for `plants` plants as GERACAO_USINA-2_YYYY_MM.csv is laid out (same header, `;`, Brasília
 * local time, numbers with 8 decimals and `0E-8` for zero, ~0.3 % empty values), deterministic
 * for a seed. Rows are appended to out by calling emit for every ~1 MiB (so a month of 700
 * plants, ~500k rows, never sits in memory whole). */
typedef vt_rc (*ons_emit_fn)(void *ctx, const void *data, size_t len, vt_err *err);
vt_rc ons_synth_generation_month(int year, unsigned month, unsigned plants, uint64_t seed,
                                 ons_emit_fn emit, void *ctx, vt_err *err);

#endif
