/*
 * cli/cmd_drill.c — `volta drill`: runs disaster-recovery drills (ops/drill.h) and writes their
 * report in Markdown (stdout, or --report FILE) and JSON (--json FILE).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "ops/drill.h"

static void drill_usage(FILE *out)
{
    fprintf(out,
            "usage: volta drill [--scenario NAME|all]... [--report FILE] [--json FILE]\n"
            "                   [--workdir DIR] [--keep] [--influxd PATH|none]\n"
            "                   [--load-seconds S] [--after-seconds S] [--quiet]\n"
            "\n"
            "Disaster-recovery drills in a scratch environment volta builds itself (its own\n"
            "data directories, servers on loopback ports, a real InfluxDB where installed).\n"
            "Each scenario injects its fault while a writer and a reader run, executes the\n"
            "procedure, and measures RTO (seconds of unavailability), RPO (acknowledged points\n"
            "lost; must be 0) and correctness (volta check). Scenarios:\n\n");
    for (size_t i = 0; i < drill_scenario_count(); i++)
        fprintf(out, "  %-27s %s\n", drill_scenario_name(i), drill_scenario_summary(i));
    fprintf(out,
            "\n"
            "  --scenario NAME   run this one (repeatable; default all)\n"
            "  --report FILE     the Markdown report (default: stdout)\n"
            "  --json FILE       the JSON report\n"
            "  --workdir DIR     where the scratch environment goes (default a temporary\n"
            "                    directory, removed afterwards unless --keep)\n"
            "  --influxd PATH    the InfluxDB binary for remote backups (default\n"
            "                    /usr/bin/influxd when installed; `none`: a volta instead)\n"
            "  --load-seconds S  workload before the fault (default 2)\n"
            "  --after-seconds S workload after the recovery (default 1.5)\n"
            "  --quiet           no progress on stderr\n"
            "\n"
            "Exit status: 0 every scenario passed; 1 a scenario failed; 2 bad usage.\n");
}

static bool parse_seconds(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (*end || !(v >= 0 && v <= 600))
        return false;
    *out = v;
    return true;
}

static int write_out(const char *path, const vt_buf *b)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return -1;
    }
    bool written = fwrite(b->data, 1, b->len, f) == b->len;
    bool closed = fclose(f) == 0;
    int rc = written && closed ? 0 : -1;
    if (rc != 0)
        fprintf(stderr, "volta drill: cannot write %s\n", path);
    return rc;
}

int cmd_drill(int argc, char **argv)
{
    drill_options o;
    drill_options_default(&o);
    o.verbose = true;
    const char *report = NULL, *json = NULL;
    const char *names[32];
    size_t n = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool next = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            drill_usage(stdout);
            return 0;
        } else if (strcmp(a, "--scenario") == 0 && next) {
            if (n == sizeof names / sizeof names[0]) {
                fprintf(stderr, "volta drill: too many --scenario\n");
                return 2;
            }
            names[n++] = argv[++i];
        } else if (strcmp(a, "--report") == 0 && next) {
            report = argv[++i];
        } else if (strcmp(a, "--json") == 0 && next) {
            json = argv[++i];
        } else if (strcmp(a, "--workdir") == 0 && next) {
            o.workdir = argv[++i];
        } else if (strcmp(a, "--influxd") == 0 && next) {
            const char *v = argv[++i];
            o.influxd = strcmp(v, "none") == 0 ? "" : v;
        } else if (strcmp(a, "--load-seconds") == 0 && next) {
            if (!parse_seconds(argv[++i], &o.load_seconds)) {
                fprintf(stderr, "volta drill: --load-seconds: 0 to 600, got '%s'\n", argv[i]);
                return 2;
            }
        } else if (strcmp(a, "--after-seconds") == 0 && next) {
            if (!parse_seconds(argv[++i], &o.after_seconds)) {
                fprintf(stderr, "volta drill: --after-seconds: 0 to 600, got '%s'\n", argv[i]);
                return 2;
            }
        } else if (strcmp(a, "--keep") == 0) {
            o.keep = true;
        } else if (strcmp(a, "--quiet") == 0) {
            o.verbose = false;
        } else {
            fprintf(stderr, "volta drill: unknown or incomplete option '%s'\n", a);
            drill_usage(stderr);
            return 2;
        }
    }
    if (n == 0)
        names[n++] = "all";
    drill_report *r = NULL;
    vt_err err;
    vt_err_clear(&err);
    vt_rc rc = drill_run(&o, names, n, &r, &err);
    if (rc != VT_OK) {
        fprintf(stderr, "volta drill: %s\n", err.msg);
        return rc == VT_EINVAL ? 2 : 1;
    }
    vt_buf md;
    vt_buf_init(&md);
    drill_report_markdown(r, &md);
    int exit_code = drill_report_passed(r) == drill_report_count(r) ? 0 : 1;
    if (report) {
        if (write_out(report, &md) != 0)
            exit_code = 1;
    } else {
        fwrite(md.data, 1, md.len, stdout);
    }
    vt_buf_free(&md);
    if (json) {
        vt_buf jb;
        vt_buf_init(&jb);
        drill_report_json(r, &jb);
        if (write_out(json, &jb) != 0)
            exit_code = 1;
        vt_buf_free(&jb);
    }
    fprintf(stderr, "volta drill: %zu of %zu scenario(s) passed\n", drill_report_passed(r),
            drill_report_count(r));
    drill_report_free(r);
    return exit_code;
}
