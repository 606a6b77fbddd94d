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
            "  --out FILE|-        output file (default -, stdout)\n",
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

int cmd_gen(int argc, char **argv)
{
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
            strcmp(name, "--out") != 0) {
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
        if (strcmp(name, "--start") == 0) {
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
        } else if (strcmp(name, "--seed") == 0) {
            if (parse_u64(name, val, UINT64_MAX, &v) != 0)
                return 2;
            opts.seed = v;
        } else {
            out_path = val; /* --out */
        }
    }

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
