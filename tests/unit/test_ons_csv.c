/*
 * Unit tests for ingest/ons_csv: every real ONS file in ../shared/data/ons read in several chunk
 * sizes and checked row by row against an independent reading of the CSV (tags, exact doubles,
 * times, counts), exact lines, Brasília daylight saving time (dates checked with Python's
 * zoneinfo), rejected rows with their line numbers, empty values, CRLF/BOM/quotes/Latin-1, header
 * errors, number conversion against strtod + Go's shortest formatting, and the synthetic month.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/timefmt.h"
#include "common/tz.h"
#include "ingest/lineproto.h"
#include "ingest/ons_csv.h"

#define ONS_DIR VOLTA_SHARED_DATA "/ons"

/* ---- helpers -------------------------------------------------------------------------------- */

typedef struct rejects {
    size_t n;
    uint64_t line[64];
    char reason[64][320];
} rejects;

static void on_reject(void *ctx, uint64_t line, const char *reason)
{
    rejects *r = ctx;
    if (r->n < 64) {
        r->line[r->n] = line;
        snprintf(r->reason[r->n], sizeof r->reason[0], "%s", reason);
    }
    r->n++;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    vt_buf b;
    vt_buf_init(&b);
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        vt_buf_append(&b, tmp, n);
    fclose(f);
    assert_false(b.oom);
    *len = b.len;
    vt_buf_cstr(&b);
    return (char *)b.data;
}

/* Runs a whole input through a new reader in chunks of `chunk` bytes. */
static vt_rc run(ons_dataset ds, const char *data, size_t len, size_t chunk, vt_buf *out,
                 ons_stats *stats, ons_dataset *detected, rejects *rj, vt_err *err)
{
    ons_reader *r = NULL;
    assert_int_equal(ons_reader_new(ds, "test.csv", on_reject, rj, &r, err), VT_OK);
    vt_rc rc = VT_OK;
    for (size_t off = 0; off < len && rc == VT_OK; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        rc = ons_reader_feed(r, data + off, n, out, err);
    }
    if (rc == VT_OK)
        rc = ons_reader_finish(r, out, err);
    if (stats)
        *stats = *ons_reader_stats(r);
    if (detected)
        *detected = ons_reader_dataset(r);
    ons_reader_free(r);
    return rc;
}

/* Runs text that must convert without error; returns the output (NUL-terminated, caller frees). */
static char *convert(ons_dataset ds, const char *text, ons_stats *stats, rejects *rj)
{
    vt_buf out;
    vt_buf_init(&out);
    vt_err err;
    vt_rc rc = run(ds, text, strlen(text), strlen(text) + 1, &out, stats, NULL, rj, &err);
    if (rc != VT_OK)
        fail_msg("conversion failed: %s", err.msg);
    /* the same through 1-byte chunks */
    vt_buf one;
    vt_buf_init(&one);
    rejects rj1;
    memset(&rj1, 0, sizeof rj1);
    assert_int_equal(run(ds, text, strlen(text), 1, &one, NULL, NULL, &rj1, &err), VT_OK);
    assert_int_equal(one.len, out.len);
    if (out.len)
        assert_memory_equal(one.data, out.data, out.len);
    assert_int_equal(rj1.n, rj ? rj->n : rj1.n);
    vt_buf_free(&one);
    vt_buf_cstr(&out);
    return (char *)out.data;
}

static bool shared_data_present(void)
{
    FILE *f = fopen(ONS_DIR "/CURVA_CARGA_2022.csv", "rb");
    if (f == NULL) {
        printf("SKIP: %s not found (shared test data absent)\n", ONS_DIR);
        return false;
    }
    fclose(f);
    return true;
}

/* ---- dataset names ------------------------------------------------------------------------- */

static void test_dataset_names(void **state)
{
    (void)state;
    assert_string_equal(ons_dataset_name(ONS_GENERATION), "generation");
    assert_string_equal(ons_dataset_name(ONS_LOAD), "load");
    assert_string_equal(ons_dataset_name(ONS_INTERCHANGE), "interchange");
    assert_string_equal(ons_dataset_name(ONS_BALANCE), "balance");
    assert_string_equal(ons_dataset_name(ONS_UNKNOWN), "unknown");
    assert_string_equal(ons_dataset_measurement(ONS_BALANCE), "balance");
    assert_int_equal(ons_dataset_parse("generation", 10), ONS_GENERATION);
    assert_int_equal(ons_dataset_parse("interchange", 11), ONS_INTERCHANGE);
    assert_int_equal(ons_dataset_parse("loadx", 4), ONS_LOAD);
    assert_int_equal(ons_dataset_parse("loadx", 5), ONS_UNKNOWN);
    assert_int_equal(ons_dataset_parse("unknown", 7), ONS_UNKNOWN);
    assert_int_equal(ons_dataset_parse("", 0), ONS_UNKNOWN);

    assert_int_equal(ons_dataset_from_filename("GERACAO_USINA-2_2021_01_first2hours.csv"),
                     ONS_GENERATION);
    assert_int_equal(ons_dataset_from_filename("GERACAO_USINA-2_2024_05.csv"), ONS_GENERATION);
    assert_int_equal(ons_dataset_from_filename("geracao_usina_sample.csv"), ONS_GENERATION);
    assert_int_equal(ons_dataset_from_filename("CURVA_CARGA_2022.csv"), ONS_LOAD);
    assert_int_equal(ons_dataset_from_filename("curva_carga_2024_sample.CSV"), ONS_LOAD);
    assert_int_equal(ons_dataset_from_filename("intercambio_nacional_sample.csv"),
                     ONS_INTERCHANGE);
    assert_int_equal(ons_dataset_from_filename("BALANCO_ENERGIA_SUBSISTEMA_2023.csv"),
                     ONS_BALANCE);
    assert_int_equal(ons_dataset_from_filename("CURVA_CARGA_2022.parquet"), ONS_UNKNOWN);
    assert_int_equal(ons_dataset_from_filename("CARGA_ENERGIA_2022.csv"), ONS_UNKNOWN);
    assert_int_equal(ons_dataset_from_filename(".csv"), ONS_UNKNOWN);
    assert_int_equal(ons_dataset_from_filename(""), ONS_UNKNOWN);
}

/* ---- the real files ------------------------------------------------------------------------- */

typedef struct map {
    const char *column;
    const char *key;
} map;

typedef struct file_case {
    const char *file;
    ons_dataset dataset;
    const char *measurement;
    map tags[8];   /* sorted by key */
    map fields[6]; /* in order */
    /* counts found with awk/python over the files (also recounted below) */
    uint64_t rows, empty_values, rows_empty, fields_total;
} file_case;

static const map gen_tags[8] = {{"ceg", "ceg"},
                                {"nom_tipocombustivel", "fuel"},
                                {"cod_modalidadeoperacao", "modality"},
                                {"id_ons", "ons_id"},
                                {"nom_usina", "plant"},
                                {"nom_tipousina", "plant_type"},
                                {"id_estado", "state"},
                                {"id_subsistema", "subsystem"}};

static const file_case cases[] = {
    {"GERACAO_USINA-2_2021_01_first2hours.csv", ONS_GENERATION, "generation", {{0}}, {{0}}, 1026, 2,
     2, 1024},
    {"geracao_usina_sample.csv", ONS_GENERATION, "generation", {{0}}, {{0}}, 48, 1, 1, 47},
    {"CURVA_CARGA_2022.csv", ONS_LOAD, "load", {{"id_subsistema", "subsystem"}},
     {{"val_cargaenergiahomwmed", "value"}}, 35040, 0, 0, 35040},
    {"CURVA_CARGA_2023.csv", ONS_LOAD, "load", {{"id_subsistema", "subsystem"}},
     {{"val_cargaenergiahomwmed", "value"}}, 35040, 0, 0, 35040},
    {"CURVA_CARGA_2024.csv", ONS_LOAD, "load", {{"id_subsistema", "subsystem"}},
     {{"val_cargaenergiahomwmed", "value"}}, 31584, 0, 0, 31584},
    {"curva_carga_2024_sample.csv", ONS_LOAD, "load", {{"id_subsistema", "subsystem"}},
     {{"val_cargaenergiahomwmed", "value"}}, 24, 0, 0, 24},
    {"intercambio_nacional_sample.csv", ONS_INTERCHANGE, "interchange",
     {{"id_subsistema_destino", "destination"}, {"id_subsistema_origem", "origin"}},
     {{"val_intercambiomwmed", "value"}}, 96, 0, 0, 96},
    {"BALANCO_ENERGIA_SUBSISTEMA_2023.csv", ONS_BALANCE, "balance",
     {{"id_subsistena", "subsystem"}}, /* ONS's header typo, as in the file */
     {{"val_gerhidraulica", "hydro"},
      {"val_gertermica", "thermal"},
      {"val_gereolica", "wind"},
      {"val_gersolar", "solar"},
      {"val_carga", "load"},
      {"val_intercambio", "interchange"}},
     31440, 0, 0, 188640},
};

/* Splits s (len bytes, no NUL needed) at ';' into cells (pointers into a NUL-terminated copy). */
static size_t split_cells(char *s, char **cells, size_t max)
{
    size_t n = 0;
    char *p = s;
    for (;;) {
        char *semi = strchr(p, ';');
        if (n < max)
            cells[n] = p;
        n++;
        if (semi == NULL)
            break;
        *semi = '\0';
        p = semi + 1;
    }
    return n;
}

static int col_index(char **names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return (int)i;
    fail_msg("column %s not in the header", name);
    return -1;
}

/* Brasília has been UTC-3 all year since 2019: every real file's wall time + 3 h. */
static int64_t expected_time(const char *t)
{
    int y, mo, d, h, mi, s;
    assert_int_equal(sscanf(t, "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &s), 6);
    assert_true(y >= 2019);
    int64_t days = vt_days_from_civil(y, (unsigned)mo, (unsigned)d);
    return ((days * 86400 + h * 3600 + mi * 60 + s) + 3 * 3600) * 1000000000LL;
}

static void check_file(const file_case *fc)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", ONS_DIR, fc->file);
    size_t len = 0;
    char *data = read_all(path, &len);
    assert_non_null(data);

    /* whole, 7-byte and 64 KiB chunks give identical output and counts; the dataset is told by
     * the header when not given */
    static const size_t chunks[] = {0, 7, 65536};
    vt_buf outs[3];
    ons_stats st[3];
    for (size_t k = 0; k < 3; k++) {
        vt_buf_init(&outs[k]);
        rejects rj;
        memset(&rj, 0, sizeof rj);
        vt_err err;
        ons_dataset det = ONS_UNKNOWN;
        ons_dataset given = k == 1 ? ONS_UNKNOWN : ons_dataset_from_filename(fc->file);
        assert_int_equal(given == ONS_UNKNOWN ? fc->dataset : given, fc->dataset);
        vt_rc rc = run(given, data, len, chunks[k] ? chunks[k] : len, &outs[k], &st[k], &det,
                       &rj, &err);
        if (rc != VT_OK)
            fail_msg("%s: %s", fc->file, err.msg);
        assert_int_equal(det, fc->dataset);
        assert_int_equal(rj.n, 0);
        assert_false(outs[k].oom);
        if (k > 0) {
            assert_int_equal(outs[k].len, outs[0].len);
            assert_memory_equal(outs[k].data, outs[0].data, outs[0].len);
            assert_memory_equal(&st[k], &st[0], sizeof st[0]);
        }
    }
    const ons_stats *s = &st[0];
    assert_int_equal(s->rows_read, fc->rows);
    assert_int_equal(s->rows_rejected, 0);
    assert_int_equal(s->empty_values, fc->empty_values);
    assert_int_equal(s->rows_empty, fc->rows_empty);
    assert_int_equal(s->rows_loaded, fc->rows - fc->rows_empty);
    assert_int_equal(s->points, s->rows_loaded);
    assert_int_equal(s->fields, fc->fields_total);

    /* independent reading: the CSV cells against the parsed line protocol, row by row */
    const map *tags = fc->dataset == ONS_GENERATION ? gen_tags : fc->tags;
    static const map gen_fields[6] = {{"val_geracao", "value"}};
    const map *fields = fc->dataset == ONS_GENERATION ? gen_fields : fc->fields;
    size_t ntags = 0, nfields = 0;
    while (ntags < 8 && tags[ntags].column)
        ntags++;
    while (nfields < 6 && fields[nfields].column)
        nfields++;

    lp_options o;
    memset(&o, 0, sizeof o);
    lp_parser *lp = lp_parser_new(&o);
    assert_non_null(lp);
    assert_int_equal(lp_parser_reset(lp, (const char *)outs[0].data, outs[0].len), VT_OK);

    char *names[64], *cells[64];
    size_t ncols = 0;
    uint64_t rows = 0, empties = 0, allempty = 0, nvalues = 0, lines = 0;
    int64_t tmin = INT64_MAX, tmax = INT64_MIN;
    char *p = data, *end = data + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *next = nl ? nl + 1 : end;
        if (nl)
            *nl = '\0';
        size_t ll = strlen(p);
        if (ll && p[ll - 1] == '\r')
            p[ll - 1] = '\0';
        lines++;
        if (lines == 1) {
            ncols = split_cells(p, names, 64);
        } else if (*p) {
            rows++;
            assert_int_equal(split_cells(p, cells, 64), ncols);
            int ti = col_index(names, ncols, "din_instante");
            size_t present = 0;
            for (size_t f = 0; f < nfields; f++) {
                if (cells[col_index(names, ncols, fields[f].column)][0] == '\0')
                    empties++;
                else
                    present++;
            }
            nvalues += present;
            if (present == 0) {
                allempty++;
            } else {
                vt_point pt;
                lp_error e;
                assert_int_equal(lp_parser_next(lp, &pt, &e), LP_POINT);
                assert_true(vt_str_eq(pt.measurement, vt_str_c(fc->measurement)));
                int64_t t = expected_time(cells[ti]);
                assert_int_equal(pt.time, t);
                tmin = t < tmin ? t : tmin;
                tmax = t > tmax ? t : tmax;
                size_t ti2 = 0;
                for (size_t k = 0; k < ntags; k++) {
                    const char *v = cells[col_index(names, ncols, tags[k].column)];
                    if (*v == '\0')
                        continue;
                    assert_true(ti2 < pt.ntags);
                    assert_true(vt_str_eq(pt.tags[ti2].key, vt_str_c(tags[k].key)));
                    assert_true(vt_str_eq(pt.tags[ti2].value, vt_str_c(v)));
                    ti2++;
                }
                assert_int_equal(ti2, pt.ntags);
                size_t fi = 0;
                for (size_t f = 0; f < nfields; f++) {
                    const char *v = cells[col_index(names, ncols, fields[f].column)];
                    if (*v == '\0')
                        continue;
                    assert_true(fi < pt.nfields);
                    assert_true(vt_str_eq(pt.fields[fi].key, vt_str_c(fields[f].key)));
                    assert_int_equal(pt.fields[fi].value.type, VT_TYPE_FLOAT);
                    double want = strtod(v, NULL);
                    if (memcmp(&want, &pt.fields[fi].value.v.f, sizeof want) != 0)
                        fail_msg("%s line %llu: %s -> %.17g", fc->file,
                                 (unsigned long long)lines, v, pt.fields[fi].value.v.f);
                    fi++;
                }
                assert_int_equal(fi, pt.nfields);
            }
        }
        p = next;
    }
    vt_point pt;
    lp_error e;
    assert_int_equal(lp_parser_next(lp, &pt, &e), LP_END);
    lp_parser_free(lp);
    assert_int_equal(rows, fc->rows);
    assert_int_equal(empties, fc->empty_values);
    assert_int_equal(allempty, fc->rows_empty);
    assert_int_equal(nvalues, fc->fields_total);
    assert_int_equal(s->min_time, tmin);
    assert_int_equal(s->max_time, tmax);
    for (size_t k = 0; k < 3; k++)
        vt_buf_free(&outs[k]);
    free(data);
}

static void test_real_files(void **state)
{
    (void)state;
    if (!shared_data_present())
        skip();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_file(&cases[i]);
}

/* The nth line (0-based) of text, copied into out. */
static const char *nth_line(const char *text, size_t n, char *out, size_t cap)
{
    const char *p = text;
    for (size_t i = 0; i < n && p; i++) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    assert_non_null(p);
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    assert_true(len < cap);
    memcpy(out, p, len);
    out[len] = '\0';
    return out;
}

static char *convert_file(const char *name, ons_stats *st)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", ONS_DIR, name);
    size_t len = 0;
    char *data = read_all(path, &len);
    assert_non_null(data);
    vt_buf out;
    vt_buf_init(&out);
    vt_err err;
    assert_int_equal(run(ons_dataset_from_filename(name), data, len, 4096, &out, st, NULL, NULL,
                         &err),
                     VT_OK);
    free(data);
    vt_buf_cstr(&out);
    return (char *)out.data;
}

static void test_real_lines(void **state)
{
    (void)state;
    if (!shared_data_present())
        skip();
    ons_stats st;
    char line[1024];
    char *g = convert_file("GERACAO_USINA-2_2021_01_first2hours.csv", &st);
    /* 2021-01-01 00:00:00 Brasília = 2021-01-01T03:00:00Z */
    assert_string_equal(nth_line(g, 0, line, sizeof line),
                        "generation,ceg=UHE.PH.AM.000190-2.01,fuel=Hidráulica,modality=TIPO\\ I,"
                        "ons_id=AMBA,plant=Balbina,plant_type=HIDROELÉTRICA,state=AM,subsystem=N "
                        "value=106.554 1609470000000000000");
    /* 0E-8 -> 0 */
    assert_string_equal(nth_line(g, 1, line, sizeof line),
                        "generation,ceg=UTE.PE.AM.027120-9.01,fuel=Óleo\\ Combustível,"
                        "modality=TIPO\\ III,ons_id=AMELC,plant=Electron,plant_type=TÉRMICA,"
                        "state=AM,subsystem=N value=0 1609470000000000000");
    /* "-" is kept; the second hour is 04:00Z */
    assert_non_null(strstr(g, "generation,ceg=-,fuel=Eólica,modality=Conjunto\\ de\\ Usinas,"
                              "ons_id=CJU_MAPLN,plant=Conj.\\ Paulino\\ Neves,"
                              "plant_type=EOLIELÉTRICA,state=MA,subsystem=N value=261.174 "
                              "1609470000000000000\n"));
    assert_int_equal(st.min_time, 1609470000000000000LL);
    assert_int_equal(st.max_time, 1609473600000000000LL);
    free(g);

    char *b = convert_file("BALANCO_ENERGIA_SUBSISTEMA_2023.csv", &st);
    /* header "id_subsistena" (ONS's typo) read as id_subsistema; 10455.81799999 exact */
    assert_string_equal(nth_line(b, 0, line, sizeof line),
                        "balance,subsystem=NE hydro=3874.07299804,thermal=677.06298828,"
                        "wind=13305.26171875,solar=1.93200004,load=10455.81799999,"
                        "interchange=7402.512 1672542000000000000");
    assert_string_equal(nth_line(b, 1, line, sizeof line),
                        "balance,subsystem=N hydro=7858.74414062,thermal=877.85498046,"
                        "wind=211.77200317,solar=0,load=5990.553,interchange=2957.81799999 "
                        "1672542000000000000");
    assert_string_equal(nth_line(b, 2, line, sizeof line),
                        "balance,subsystem=SIN hydro=39057.309,thermal=5698.335,wind=14138.75,"
                        "solar=21.155,load=58904.08,interchange=11.47 1672542000000000000");
    free(b);

    char *l = convert_file("CURVA_CARGA_2024.csv", &st);
    assert_string_equal(nth_line(l, 0, line, sizeof line),
                        "load,subsystem=N value=6539.55999999 1704078000000000000");
    assert_int_equal(st.max_time, 1732500000000000000LL); /* 2024-11-24 23:00 -03:00 */
    free(l);

    char *x = convert_file("intercambio_nacional_sample.csv", &st);
    assert_string_equal(nth_line(x, 1, line, sizeof line),
                        "interchange,destination=SE,origin=N value=-3760.924 1704078000000000000");
    free(x);

    char *s = convert_file("geracao_usina_sample.csv", &st);
    assert_string_equal(nth_line(s, 1, line, sizeof line),
                        "generation,ceg=-,fuel=Hidráulica,modality=Pequenas\\ Usinas\\ (Tipo\\ III),"
                        "ons_id=PQU_TON_H,plant=PQU\\ TO\\ NORTE\\ HIDRA\\ -\\ CARGA\\ GLOBAL,"
                        "plant_type=HIDROELÉTRICA,state=TO,subsystem=N value=46 "
                        "1704078000000000000");
    assert_null(strstr(s, "PQU_PHCEE")); /* its value is empty: no point */
    assert_int_equal(st.rows_empty, 1);
    free(s);
}

/* ---- time ---------------------------------------------------------------------------------- */

#define LOAD_HEADER "id_subsistema;nom_subsistema;din_instante;val_cargaenergiahomwmed\n"

static void test_dst(void **state)
{
    (void)state;
    /* expected instants from Python: datetime(..., tzinfo=ZoneInfo("America/Sao_Paulo"), fold=0) */
    const char *text = LOAD_HEADER
        "SE;SUDESTE;2018-11-03 23:00:00;1\n"  /* line 2: -03:00 -> 2018-11-04T02:00Z */
        "SE;SUDESTE;2018-11-04 00:00:00;2\n"  /* line 3: gap (DST began at 00:00) */
        "SE;SUDESTE;2018-11-04 00:30:00;3\n"  /* line 4: gap */
        "SE;SUDESTE;2018-11-04 01:00:00;4\n"  /* line 5: -02:00 -> 03:00Z */
        "SE;SUDESTE;2019-02-16 22:00:00;5\n"  /* line 6: -02:00 -> 2019-02-17T00:00Z */
        "SE;SUDESTE;2019-02-16 23:00:00;6\n"  /* line 7: overlap, first (-02:00) -> 01:00Z */
        "SE;SUDESTE;2019-02-17 00:00:00;7\n"  /* line 8: -03:00 -> 03:00Z */
        "SE;SUDESTE;2018-02-17 23:30:00;8\n"  /* line 9: overlap, first -> 2018-02-18T01:30Z */
        "SE;SUDESTE;2017-10-15 00:00:00;9\n"  /* line 10: gap */
        "SE;SUDESTE;2017-10-15T01:00:00;10\n" /* line 11: 'T' accepted -> 03:00Z */
        "SE;SUDESTE;2012-01-01 00:00;11\n"    /* line 12: no seconds; DST -02:00 -> 02:00Z */
        "SE;SUDESTE;2000-07-01 12:00:00;12\n"; /* line 13: -03:00 -> 15:00Z */
    rejects rj;
    memset(&rj, 0, sizeof rj);
    ons_stats st;
    char *out = convert(ONS_LOAD, text, &st, &rj);
    assert_string_equal(out, "load,subsystem=SE value=1 1541296800000000000\n"
                             "load,subsystem=SE value=4 1541300400000000000\n"
                             "load,subsystem=SE value=5 1550361600000000000\n"
                             "load,subsystem=SE value=6 1550365200000000000\n"
                             "load,subsystem=SE value=7 1550372400000000000\n"
                             "load,subsystem=SE value=8 1518917400000000000\n"
                             "load,subsystem=SE value=10 1508036400000000000\n"
                             "load,subsystem=SE value=11 1325383200000000000\n"
                             "load,subsystem=SE value=12 962463600000000000\n");
    assert_int_equal(rj.n, 3);
    assert_int_equal(rj.line[0], 3);
    assert_int_equal(rj.line[1], 4);
    assert_int_equal(rj.line[2], 10);
    assert_string_equal(rj.reason[1], "local time 2018-11-04 00:30:00 does not exist in "
                                      "America/Sao_Paulo (daylight saving time gap)");
    assert_int_equal(st.rows_read, 12);
    assert_int_equal(st.rows_loaded, 9);
    assert_int_equal(st.rows_rejected, 3);
    assert_int_equal(st.min_time, 962463600000000000LL);
    assert_int_equal(st.max_time, 1550372400000000000LL);
    free(out);
}

/* ---- rejected rows --------------------------------------------------------------------------- */

static void test_malformed_rows(void **state)
{
    (void)state;
    const char *text = LOAD_HEADER
        "N;NORTE;2024-01-01 00:00:00;12,3,4\n"     /* 2: bad number */
        "N;NORTE;2024-01-01 00:00:00\n"            /* 3: 3 columns */
        "N;NORTE;2024-01-01 00:00:00;1;2\n"        /* 4: 5 columns */
        "N;NORTE;2024-13-01 00:00:00;1\n"          /* 5: month 13 */
        "N;NORTE;2024-01-01 00:00:00;abc\n"        /* 6: text */
        "N;NORTE;2023-02-29 00:00:00;1\n"          /* 7: no such day */
        "N;NORTE;2024-01-01 24:00:00;1\n"          /* 8: hour 24 */
        "N;NORTE;2024-01-01;1\n"                   /* 9: no time of day */
        "N;NORTE;2024-01-01 00:00:00;1.5e\n"       /* 10: exponent without digits */
        "N;NORTE;2024-01-01 00:00:00;0x10\n"       /* 11: hex */
        "N;NORTE;2024-01-01 00:00:00;nan\n"        /* 12 */
        "N;NORTE;2024-01-01 00:00:00; 1\n"         /* 13: a space */
        "N;NORTE;2024-01-01 00:00:00;1e999\n"      /* 14: beyond a double */
        "N;NORTE;\"2024-01-01 00:00:00;1\n"        /* 15: unterminated quote */
        "N;NORTE;2024-01-01 01:00:00;1234,5\n"     /* 16: decimal comma: loaded */
        "a\\,b;X;2024-01-01 01:00:00;1\n"          /* 17: backslash before ',' */
        "N;NORTE;2024-01-01 02:00:00;5\n";         /* 18: loaded */
    rejects rj;
    memset(&rj, 0, sizeof rj);
    ons_stats st;
    char *out = convert(ONS_LOAD, text, &st, &rj);
    assert_string_equal(out, "load,subsystem=N value=1234.5 1704081600000000000\n"
                             "load,subsystem=N value=5 1704085200000000000\n");
    static const uint64_t want[] = {2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17};
    assert_int_equal(rj.n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < rj.n; i++)
        assert_int_equal(rj.line[i], want[i]);
    assert_string_equal(rj.reason[0], "bad number \"12,3,4\" in val_cargaenergiahomwmed");
    assert_string_equal(rj.reason[1], "expected 4 columns, found 3");
    assert_string_equal(rj.reason[2], "expected 4 columns, found more than 4");
    assert_non_null(strstr(rj.reason[3], "bad time \"2024-13-01 00:00:00\""));
    assert_string_equal(rj.reason[4], "bad number \"abc\" in val_cargaenergiahomwmed");
    assert_non_null(strstr(rj.reason[12], "number out of range \"1e999\""));
    assert_non_null(strstr(rj.reason[13], "quoted"));
    assert_non_null(strstr(rj.reason[14], "backslash"));
    assert_int_equal(st.rows_read, 17);
    assert_int_equal(st.rows_rejected, 15);
    assert_int_equal(st.rows_loaded, 2);
    assert_int_equal(st.points, 2);
    free(out);

    /* no callback: still counted */
    vt_buf o;
    vt_buf_init(&o);
    ons_reader *r = NULL;
    vt_err err;
    assert_int_equal(ons_reader_new(ONS_LOAD, "x", NULL, NULL, &r, &err), VT_OK);
    assert_int_equal(ons_reader_feed(r, text, strlen(text), &o, &err), VT_OK);
    assert_int_equal(ons_reader_finish(r, &o, &err), VT_OK);
    assert_int_equal(ons_reader_stats(r)->rows_rejected, 15);
    ons_reader_free(r);
    vt_buf_free(&o);
}

/* ---- empty values and tags ----------------------------------------------------------------- */

#define GEN_HEADER                                                                                 \
    "din_instante;id_subsistema;nom_subsistema;id_estado;nom_estado;cod_modalidadeoperacao;"      \
    "nom_tipousina;nom_tipocombustivel;nom_usina;id_ons;ceg;val_geracao\n"
#define BAL_HEADER                                                                                 \
    "id_subsistena;nom_subsistema;din_instante;val_gerhidraulica;val_gertermica;val_gereolica;"   \
    "val_gersolar;val_carga;val_intercambio\n"

static void test_empty_values(void **state)
{
    (void)state;
    const char *gen = GEN_HEADER
        "2024-01-01 00:00:00;S;SUL;RS;RS;TIPO I;HIDROELÉTRICA;Hidráulica;Usina A;RSA;;\n"
        "2024-01-01 00:00:00;S;SUL;RS;RS;TIPO I;HIDROELÉTRICA;Hidráulica;Usina A;RSA;;7.5\n"
        "2024-01-01 00:00:00;;SUL;;RS;;;;Usina=B;RSB;-;8\n";
    rejects rj;
    memset(&rj, 0, sizeof rj);
    ons_stats st;
    char *out = convert(ONS_UNKNOWN, gen, &st, &rj);
    assert_string_equal(out,
                        "generation,fuel=Hidráulica,modality=TIPO\\ I,ons_id=RSA,plant=Usina\\ A,"
                        "plant_type=HIDROELÉTRICA,state=RS,subsystem=S value=7.5 "
                        "1704078000000000000\n"
                        "generation,ceg=-,ons_id=RSB,plant=Usina\\=B value=8 1704078000000000000\n");
    assert_int_equal(rj.n, 0);
    assert_int_equal(st.rows_read, 3);
    assert_int_equal(st.rows_empty, 1);
    assert_int_equal(st.empty_values, 1);
    assert_int_equal(st.rows_loaded, 2);
    assert_int_equal(st.fields, 2);
    free(out);

    const char *bal = BAL_HEADER "NE;NORDESTE;2023-01-01 00:00:00;;1;;2;;\n"
                                 "NE;NORDESTE;2023-01-01 01:00:00;;;;;;\n"
                                 "NE;NORDESTE;2023-01-01 02:00:00;1;2;3;4;5;6\n";
    memset(&rj, 0, sizeof rj);
    out = convert(ONS_BALANCE, bal, &st, &rj);
    assert_string_equal(out, "balance,subsystem=NE thermal=1,solar=2 1672542000000000000\n"
                             "balance,subsystem=NE hydro=1,thermal=2,wind=3,solar=4,load=5,"
                             "interchange=6 1672549200000000000\n");
    assert_int_equal(st.rows_read, 3);
    assert_int_equal(st.rows_empty, 1);
    assert_int_equal(st.empty_values, 4 + 6);
    assert_int_equal(st.fields, 8);
    assert_int_equal(st.points, 2);
    free(out);
}

/* ---- encodings and CSV forms ----------------------------------------------------------------- */

static void test_crlf_bom_quotes_latin1(void **state)
{
    (void)state;
    const char *text =
        "\xEF\xBB\xBF"
        "din_instante;id_subsistema_origem;nom_subsistema_origem;id_subsistema_destino;"
        "nom_subsistema_destino;val_intercambiomwmed\r\n"
        "2024-01-01 00:00:00;N;NORTE;NE;NORDESTE;2699.626\r\n"
        "\r\n"                                               /* blank: skipped, not a row */
        "\"2024-01-01 00:00:00\";\"N\"\"x\";N;\"S;E\";S;\"-1\"\r\n" /* quoted fields */
        "2024-01-01 00:00:00;S\xE3o;N;\xC9;S;1\r\n"           /* Latin-1 "São", "É" */
        "2024-01-01 00:00:00;Ok\xC3\xA9;N;a b,c=d;S;2";       /* UTF-8, no final newline */
    rejects rj;
    memset(&rj, 0, sizeof rj);
    ons_stats st;
    ons_dataset det = ONS_UNKNOWN;
    vt_buf o;
    vt_buf_init(&o);
    vt_err err;
    assert_int_equal(run(ONS_UNKNOWN, text, strlen(text), 1, &o, &st, &det, &rj, &err), VT_OK);
    assert_int_equal(det, ONS_INTERCHANGE);
    vt_buf_cstr(&o);
    assert_string_equal((const char *)o.data,
                        "interchange,destination=NE,origin=N value=2699.626 1704078000000000000\n"
                        "interchange,destination=S;E,origin=N\"x value=-1 1704078000000000000\n"
                        "interchange,destination=\xC3\x89,origin=S\xC3\xA3o value=1 "
                        "1704078000000000000\n"
                        "interchange,destination=a\\ b\\,c\\=d,origin=Ok\xC3\xA9 value=2 "
                        "1704078000000000000\n");
    assert_int_equal(rj.n, 0);
    assert_int_equal(st.rows_read, 4);
    vt_buf_free(&o);

    /* the same, every chunking gives the same bytes */
    char *again = convert(ONS_INTERCHANGE, text, &st, &rj);
    free(again);
}

/* ---- header errors ------------------------------------------------------------------------- */

static void expect_error(ons_dataset ds, const char *text, vt_rc rc, const char *msg_part)
{
    vt_buf o;
    vt_buf_init(&o);
    vt_err err;
    memset(&err, 0, sizeof err);
    vt_rc got = run(ds, text, strlen(text), 3, &o, NULL, NULL, NULL, &err);
    assert_int_equal(got, rc);
    if (strstr(err.msg, msg_part) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, msg_part);
    vt_buf_free(&o);
}

static void test_header_errors(void **state)
{
    (void)state;
    expect_error(ONS_LOAD, "id_subsistema;nom_subsistema;din_instante\nN;NORTE;2024-01-01 00:00\n",
                 VT_EPARSE, "test.csv:1: header is not a load file: missing column "
                            "val_cargaenergiahomwmed");
    expect_error(ONS_GENERATION, LOAD_HEADER "N;NORTE;2024-01-01 00:00:00;1\n", VT_EPARSE,
                 "test.csv:1: header is not a generation file: missing column");
    expect_error(ONS_UNKNOWN, "a;b;c\n1;2;3\n", VT_EPARSE, "test.csv:1: header is not an ONS");
    expect_error(ONS_UNKNOWN, "id_subsistema;val_cargaenergiahomwmed\n", VT_EPARSE,
                 "test.csv:1: header is not a load file: missing column din_instante");
    expect_error(ONS_LOAD, "", VT_EPARSE, "test.csv:1: empty file");
    expect_error(ONS_LOAD, "\xEF\xBB\xBF", VT_EPARSE, "test.csv:1: empty header line");
    /* the header alone: no rows, no error */
    vt_buf o;
    vt_buf_init(&o);
    vt_err err;
    ons_stats st;
    assert_int_equal(run(ONS_UNKNOWN, LOAD_HEADER, strlen(LOAD_HEADER), 5, &o, &st, NULL, NULL,
                         &err),
                     VT_OK);
    assert_int_equal(st.rows_read, 0);
    assert_int_equal(st.min_time, INT64_MAX);
    assert_int_equal(st.max_time, INT64_MIN);

    /* a line longer than 64 KiB fails the file, naming its line, whatever the chunking */
    size_t big = 70000;
    char *t = malloc(strlen(LOAD_HEADER) + 64 + big);
    assert_non_null(t);
    strcpy(t, LOAD_HEADER "N;NORTE;2024-01-01 00:00:00;1\nN;NORTE;2024-01-01 00:00:00;");
    size_t n = strlen(t);
    memset(t + n, '1', big);
    t[n + big] = '\0';
    expect_error(ONS_LOAD, t, VT_EPARSE, "test.csv:3: line longer than 65536 bytes");
    ons_reader *r = NULL;
    assert_int_equal(ons_reader_new(ONS_LOAD, "big", NULL, NULL, &r, &err), VT_OK);
    vt_buf_reset(&o);
    assert_int_equal(ons_reader_feed(r, t, strlen(t), &o, &err), VT_EPARSE);
    assert_non_null(strstr(err.msg, "big:3: line longer"));
    /* sticky */
    assert_int_equal(ons_reader_feed(r, "\n", 1, &o, &err), VT_EPARSE);
    assert_int_equal(ons_reader_finish(r, &o, &err), VT_EPARSE);
    ons_reader_free(r);
    free(t);
    vt_buf_free(&o);

    /* a dataset that does not exist */
    r = NULL;
    assert_int_equal(ons_reader_new((ons_dataset)42, "x", NULL, NULL, &r, &err), VT_EINVAL);
    assert_null(r);
}

/* ---- numbers ------------------------------------------------------------------------------- */

static void check_number(const char *in, const char *want)
{
    char text[512];
    snprintf(text, sizeof text, LOAD_HEADER "N;NORTE;2024-01-01 00:00:00;%s\n", in);
    rejects rj;
    memset(&rj, 0, sizeof rj);
    ons_stats st;
    char *out = convert(ONS_LOAD, text, &st, &rj);
    char line[512];
    snprintf(line, sizeof line, "load,subsystem=N value=%s 1704078000000000000\n", want);
    if (strcmp(out, line) != 0)
        fail_msg("%s -> \"%s\", want \"%s\"", in, out, line);
    free(out);
}

/* The reference: the nearest double (strtod), written as Go's shortest form. */
static void check_against_strtod(const char *in)
{
    char copy[128];
    snprintf(copy, sizeof copy, "%s", in);
    for (char *c = copy; *c; c++)
        if (*c == ',')
            *c = '.';
    double v = strtod(copy, NULL);
    char want[VT_FMT_JSON_FLOAT_MAX];
    vt_fmt_json_float(want, v);
    check_number(in, want);
    double back = strtod(want, NULL);
    assert_memory_equal(&back, &v, sizeof v);
}

static void test_numbers(void **state)
{
    (void)state;
    check_number("106.55400000", "106.554");
    check_number("0E-8", "0");
    check_number("-0.0", "-0");
    check_number("10455.81799999", "10455.81799999");
    check_number("11587.045999999998", "11587.045999999998");
    check_number("1234,5", "1234.5");
    check_number("+5", "5");
    check_number("-3760.924", "-3760.924");
    check_number("000123.4500", "123.45");
    check_number(".5", "0.5");
    check_number("5.", "5");
    check_number("1e21", "1e+21");
    check_number("1E20", "100000000000000000000");
    check_number("1e-7", "1e-7");
    check_number("0.000001", "0.000001");
    check_number("123456789012345", "123456789012345");
    check_number("1234567890123456789", "1234567890123456800");
    check_number("0.1000000000000000055511151231257827", "0.1");
    check_number("1.7976931348623157e308", "1.7976931348623157e+308");
    check_number("4.9e-324", "5e-324");
    check_number("1e-400", "0");
    check_number("2.5E+3", "2500");

    /* many random decimals: the text written is exactly strtod + Go's shortest formatting */
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 3000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        char num[64];
        int digits = (int)(x % 19) + 1, point = (int)((x >> 8) % 22) - 2;
        int k = 0;
        if ((x >> 20) & 1)
            num[k++] = '-';
        uint64_t y = x;
        for (int d = 0; d < digits; d++) {
            if (d == point)
                num[k++] = (x >> 30) & 1 ? ',' : '.';
            y = y * 6364136223846793005ULL + 1442695040888963407ULL;
            num[k++] = (char)('0' + (y >> 60) % 10);
        }
        if ((x >> 40) % 7 == 0)
            k += snprintf(num + k, sizeof num - (size_t)k, "e%d", (int)((x >> 44) % 60) - 30);
        num[k] = '\0';
        check_against_strtod(num);
    }
}

/* ---- synthetic month ----------------------------------------------------------------------- */

static vt_rc collect(void *ctx, const void *data, size_t len, vt_err *err)
{
    (void)err;
    vt_buf *b = ctx;
    assert_true(len > 0);
    vt_buf_append(b, data, len);
    return VT_OK;
}

/* Occurrences of needle in hay (NUL-terminated); memchr/memcmp, not strstr, which ASan's
 * strict_string_checks makes quadratic. */
static uint64_t count_str(const char *hay, const char *needle)
{
    uint64_t n = 0;
    size_t len = strlen(hay), nl = strlen(needle);
    const char *p = hay, *end = hay + len;
    while ((size_t)(end - p) >= nl) {
        const char *q = memchr(p, needle[0], (size_t)(end - p) - nl + 1);
        if (q == NULL)
            break;
        if (memcmp(q, needle, nl) == 0)
            n++;
        p = q + 1;
    }
    return n;
}

static void synth_check(int year, unsigned month, unsigned plants, uint64_t hours)
{
    vt_buf csv;
    vt_buf_init(&csv);
    vt_err err;
    assert_int_equal(ons_synth_generation_month(year, month, plants, 7, collect, &csv, &err), VT_OK);
    vt_buf_cstr(&csv);
    const char *text = (const char *)csv.data;
    uint64_t rows = count_str(text, "\n") - 1;
    assert_int_equal(rows, plants * hours);
    uint64_t empty = count_str(text, ";\r\n");
    vt_buf out;
    vt_buf_init(&out);
    rejects rj;
    memset(&rj, 0, sizeof rj);
    ons_stats st;
    ons_dataset det;
    assert_int_equal(run(ONS_UNKNOWN, text, csv.len, 100000, &out, &st, &det, &rj, &err), VT_OK);
    assert_int_equal(det, ONS_GENERATION);
    assert_int_equal(rj.n, 0);
    assert_int_equal(st.rows_read, rows);
    assert_int_equal(st.rows_rejected, 0);
    assert_int_equal(st.empty_values, empty);
    assert_int_equal(st.rows_empty, empty);
    assert_int_equal(st.rows_loaded, rows - empty);
    assert_int_equal(st.fields, rows - empty);
    assert_int_equal(count_str((const char *)vt_buf_cstr(&out), "\n"), rows - empty);
    vt_buf_free(&out);
    vt_buf_free(&csv);
}

static void test_synth(void **state)
{
    (void)state;
    vt_buf a, b, c;
    vt_buf_init(&a);
    vt_buf_init(&b);
    vt_buf_init(&c);
    vt_err err;
    assert_int_equal(ons_synth_generation_month(2024, 1, 700, 1, collect, &a, &err), VT_OK);
    assert_int_equal(ons_synth_generation_month(2024, 1, 700, 1, collect, &b, &err), VT_OK);
    assert_int_equal(ons_synth_generation_month(2024, 1, 700, 2, collect, &c, &err), VT_OK);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    assert_true(a.len != c.len || memcmp(a.data, c.data, a.len) != 0);
    const char *text = vt_buf_cstr(&a);
    /* the header of the real GERACAO_USINA-2 files */
    const char *hdr =
        "din_instante;id_subsistema;nom_subsistema;id_estado;nom_estado;cod_modalidadeoperacao;"
        "nom_tipousina;nom_tipocombustivel;nom_usina;id_ons;ceg;val_geracao\r\n";
    assert_memory_equal(text, hdr, strlen(hdr));
    assert_memory_equal(text + strlen(hdr), "2024-01-01 00:00:00;N;NORTE;", 28);
    uint64_t rows = count_str(text, "\n") - 1;
    assert_int_equal(rows, 700u * 31 * 24);
    uint64_t zeros = count_str(text, ";0E-8\r\n"), empty = count_str(text, ";\r\n");
    assert_true(zeros > rows / 20);                         /* solar at night, thermal off */
    assert_true(empty > rows / 1000 && empty < rows / 200); /* ~0.3 % */
    assert_non_null(strstr(text, "00000\r\n"));
    assert_non_null(strstr(text, "99999\r\n"));
    assert_non_null(strstr(text, ";NE;NORDESTE;"));
    assert_non_null(strstr(text, ";SE;SUDESTE;"));
    assert_non_null(strstr(text, ";S;SUL;"));
    assert_non_null(strstr(text, "2024-01-31 23:00:00;"));
    vt_buf_free(&a);
    vt_buf_free(&b);
    vt_buf_free(&c);

    synth_check(2024, 2, 30, 29 * 24);
    synth_check(2018, 11, 20, 30 * 24 - 1); /* 2018-11-04 00:00 did not exist */
    synth_check(2019, 2, 20, 28 * 24);      /* the repeated hour is written once */

    assert_int_equal(ons_synth_generation_month(2024, 13, 10, 1, collect, &a, &err), VT_EINVAL);
    assert_int_equal(ons_synth_generation_month(2024, 1, 0, 1, collect, &a, &err), VT_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dataset_names),
        cmocka_unit_test(test_real_files),
        cmocka_unit_test(test_real_lines),
        cmocka_unit_test(test_dst),
        cmocka_unit_test(test_malformed_rows),
        cmocka_unit_test(test_empty_values),
        cmocka_unit_test(test_crlf_bom_quotes_latin1),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_synth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
