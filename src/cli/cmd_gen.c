/*
 * volta gen — writes ONS-shaped demo data as line protocol (ingest/demo_gen.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ingest/demo_gen.h"
#include "ingest/ons_csv.h"

static void gen_usage(FILE *out)
{
    fprintf(out,
            "usage: volta gen [--start YYYY-MM-DD] [--days N] [--plants N] [--seed N] [--out FILE|-]\n"
            "\n"
            "Writes ONS-shaped demo data as line protocol (timestamps in ns, UTC, hourly):\n"
            "  generation (per plant), load (per subsystem), interchange (4 links).\n"
            "The same options and seed give the same bytes. Schema: docs/DATA-DEMO.md.\n"
            "\n"
            "  --start YYYY-MM-DD  first Brasilia-local day (default 2024-01-01; 00:00 local = 03:00 UTC)\n"
            "  --days N            number of days (default 365, max %u)\n"
            "  --plants N          number of plants (default 500, %u..%u)\n"
            "  --seed N            seed (default 1)\n"
            "  --out FILE|-        output file (default -, stdout)\n"
            "\n"
            "       volta gen --ons-generation YYYY-MM [--plants N] [--seed N] [--out FILE|-]\n"
            "\n"
            "Writes one month of hourly generation per plant in ONS's own CSV format (the\n"
            "layout of GERACAO_USINA-2_YYYY_MM.csv: ';', Brasilia local time, 8 decimals, 0E-8,\n"
            "~0.3%% empty values), for `volta load` and the load benchmark. 700 plants give\n"
            "~500k rows, the size of a real monthly file.\n",
            DEMO_MAX_DAYS, DEMO_MIN_PLANTS, DEMO_MAX_PLANTS);
}

static int parse_u64(const char *opt, const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-') {
        fprintf(stderr, "volta gen: %s needs a non-negative number\n", opt);
        return -1;
    }
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max) {
        fprintf(stderr, "volta gen: %s '%s': not a number in 0..%" PRIu64 "\n", opt, s, max);
        return -1;
    }
    *out = v;
    return 0;
}

static vt_rc emit_file(void *ctx, const void *data, size_t len, vt_err *err)
{
    if (fwrite(data, 1, len, ctx) != len)
        return vt_err_set(err, VT_EIO, "write: %s", strerror(errno));
    return VT_OK;
}

static int gen_ons(const char *month, uint64_t plants, uint64_t seed, const char *out_path)
{
    int year = 0;
    unsigned mon = 0;
    char tail;
    if (sscanf(month, "%4d-%2u%c", &year, &mon, &tail) != 2 || mon < 1 || mon > 12) {
        fprintf(stderr, "volta gen: --ons-generation '%s': expected YYYY-MM\n", month);
        return 2;
    }
    FILE *f = stdout;
    bool to_file = strcmp(out_path, "-") != 0;
    if (to_file && !(f = fopen(out_path, "wb"))) {
        fprintf(stderr, "volta gen: open %s: %s\n", out_path, strerror(errno));
        return vt_rc_exit_code(VT_EIO);
    }
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = ons_synth_generation_month(year, mon, (unsigned)plants, seed, emit_file, f, &err);
    if (to_file && fclose(f) != 0 && rc == VT_OK)
        rc = vt_err_set(&err, VT_EIO, "close %s: %s", out_path, strerror(errno));
    if (rc != VT_OK) {
        fprintf(stderr, "volta gen: %s\n", err.msg);
        return rc == VT_EINVAL ? 2 : vt_rc_exit_code(rc);
    }
    return 0;
}

int cmd_gen(int argc, char **argv)
{
    const char *ons_month = NULL;
    bool plants_given = false;
    demo_gen_options opts;
    demo_gen_options_default(&opts);
    const char *out_path = "-";
    vt_err err;
    vt_err_clear(&err);

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            gen_usage(stdout);
            return 0;
        }
        const char *val = NULL;
        const char *eq = strchr(a, '=');
        char name[32];
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        if (nlen >= sizeof name || strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "volta gen: unknown argument '%s'\n", a);
            gen_usage(stderr);
            return 2;
        }
        memcpy(name, a, nlen);
        name[nlen] = '\0';
        if (strcmp(name, "--start") != 0 && strcmp(name, "--days") != 0 &&
            strcmp(name, "--plants") != 0 && strcmp(name, "--seed") != 0 &&
            strcmp(name, "--out") != 0 && strcmp(name, "--ons-generation") != 0) {
            fprintf(stderr, "volta gen: unknown option '%s'\n", name);
            gen_usage(stderr);
            return 2;
        }
        if (eq)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else {
            fprintf(stderr, "volta gen: %s needs a value\n", name);
            return 2;
        }
        uint64_t v;
        if (strcmp(name, "--ons-generation") == 0) {
            ons_month = val;
        } else if (strcmp(name, "--start") == 0) {
            if (demo_parse_date(val, &opts.start_day, &err) != VT_OK) {
                fprintf(stderr, "volta gen: --start: %s\n", err.msg);
                return 2;
            }
        } else if (strcmp(name, "--days") == 0) {
            if (parse_u64(name, val, DEMO_MAX_DAYS, &v) != 0)
                return 2;
            opts.days = (uint32_t)v;
        } else if (strcmp(name, "--plants") == 0) {
            if (parse_u64(name, val, DEMO_MAX_PLANTS, &v) != 0)
                return 2;
            opts.plants = (uint32_t)v;
            plants_given = true;
        } else if (strcmp(name, "--seed") == 0) {
            if (parse_u64(name, val, UINT64_MAX, &v) != 0)
                return 2;
            opts.seed = v;
        } else {
            out_path = val; /* --out */
        }
    }

    if (ons_month)
        return gen_ons(ons_month, plants_given ? opts.plants : 700, opts.seed, out_path);
    demo_gen *g = NULL;
    vt_rc rc = demo_gen_new(&opts, &g, &err);
    if (rc != VT_OK) {
        fprintf(stderr, "volta gen: %s\n", err.msg);
        return 2;
    }
    FILE *f = stdout;
    bool to_file = strcmp(out_path, "-") != 0;
    if (to_file) {
        f = fopen(out_path, "wb");
        if (!f) {
            fprintf(stderr, "volta gen: open %s: %s\n", out_path, strerror(errno));
            demo_gen_free(g);
            return vt_rc_exit_code(VT_EIO);
        }
    }
    static char iobuf[1 << 16];
    setvbuf(f, iobuf, _IOFBF, sizeof iobuf);
    uint64_t lines = 0;
    rc = demo_gen_write(g, f, &lines, &err);
    if (to_file && fclose(f) != 0 && rc == VT_OK)
        rc = vt_err_set(&err, VT_EIO, "close %s: %s", out_path, strerror(errno));
    demo_gen_free(g);
    if (rc != VT_OK) {
        fprintf(stderr, "volta gen: %s\n", err.msg);
        return vt_rc_exit_code(rc);
    }
    if (to_file)
        fprintf(stderr, "volta gen: wrote %" PRIu64 " lines to %s\n", lines, out_path);
    return 0;
}
