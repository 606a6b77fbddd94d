/*
 * ops/drill.h — `volta drill`: disaster-recovery drills that inject real faults into real
 * processes and measure the outcome.
 *
 * THE ENVIRONMENT
 *
 * Each scenario builds its own scratch environment under <workdir>/<scenario>/: data
 * directories, configuration files, `volta serve` processes (this very executable, fork + exec)
 * on free loopback ports, and, when the scenario needs a remote backup and influxd is
 * installed, a real InfluxDB 1.x (its own config and directories). Nothing outside workdir is
 * touched; every process started is stopped at the end (SIGKILL as a last resort).
 *
 * THE WORKLOAD
 *
 * While the fault is injected and the procedure runs, a writer thread POSTs batches of points
 * (measurement `m`, tag `s` = s0..s7, integer field v = the point's number, one millisecond
 * apart) to the serving address, and a reader thread runs a count every 100 ms. Every batch
 * answered 204 is ACKNOWLEDGED: its points must survive. Each operation's outcome and time are
 * kept.
 *
 * THE MEASURES
 *
 *   RPO          acknowledged points missing from the store that serves at the end (every point
 *                is looked up by its number) — must be 0; also checked on the backup store when
 *                the scenario has one.
 *   RTO          seconds from the first failed operation after the fault to the first success
 *                after the last failure (0 when nothing failed); for scenarios whose fault does
 *                not interrupt service, the degradation measured instead is named in the notes.
 *   correctness  `volta check` (backends_consistentes: counts and sums per series per hour,
 *                primary against backup) when the scenario has a backup, plus scenario-specific
 *                checks (e.g. the corruption was detected, nothing corrupt was served).
 *
 * A scenario PASSES when RPO = 0, its procedure succeeded and every correctness check passed.
 * The report lists per scenario: the fault, the procedure (each command run and its exit
 * status), RTO, RPO, acknowledged / written points, the checks, and a timeline; in Markdown and
 * JSON.
 */
#ifndef OPS_DRILL_H
#define OPS_DRILL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/error.h"

typedef struct drill_options {
    const char *workdir;  /* scratch root (default: a new directory under $TMPDIR) */
    const char *influxd;  /* influxd binary ("" = do not use one; NULL = /usr/bin/influxd if present) */
    const char *volta;    /* the volta executable (NULL = /proc/self/exe) */
    double load_seconds;  /* workload before the fault (default 2) */
    double after_seconds; /* workload after recovery (default 1.5) */
    bool keep;            /* keep workdir */
    bool verbose;         /* progress on stderr */
} drill_options;

void drill_options_default(drill_options *o);

/* Names of the scenarios, in the order `all` runs them. */
size_t drill_scenario_count(void);
const char *drill_scenario_name(size_t i);
const char *drill_scenario_summary(size_t i);

typedef struct drill_report drill_report;

/* Runs the named scenarios (names[0..n); "all" = every one) and fills a report. VT_EINVAL for
 * an unknown name (the message lists the known ones). Scenario failures are in the report, not
 * the return code. */
vt_rc drill_run(const drill_options *o, const char *const *names, size_t n, drill_report **out,
                vt_err *err);
void drill_report_free(drill_report *r);

/* How many scenarios ran and passed. */
size_t drill_report_count(const drill_report *r);
size_t drill_report_passed(const drill_report *r);
/* The report as Markdown (human) and as JSON. */
void drill_report_markdown(const drill_report *r, vt_buf *out);
void drill_report_json(const drill_report *r, vt_buf *out);

#endif
