/*
 * gateway/flags.h — feature flags: versioned in the control plane (meta.db tables flags,
 * flag_versions, flag_changes), read on every request from an in-memory copy.
 *
 * The flags (name, type, default):
 *     enable_maintenance_mode  bool    false    data endpoints answer 503 + Retry-After
 *     read_backend             enum    primary  primary | backup: where /query and /api/v2/query go
 *     enable_flux_queries      bool    true     false: /api/v2/query answers 403 (flux disabled)
 *     rate_limit_rps           number  0        global token-bucket rate for data endpoints; 0 = off
 *     rate_limit_burst         number  0        bucket size; 0 = max(1, rate)
 *     failover                 enum    off      off | alert | auto (automatic rollback triggers)
 *     failover_unavailable_s   number  1800     primary unavailable this long -> trigger
 *     failover_latency_pct     number  300      query latency above this % of the baseline -> trigger
 *     failover_ramp_dwell_s    number  30       the dwell per ramp level of an automatic rollback
 *
 * Versions: every change (one flag or several at once) is one version — a row of flag_versions
 * (who, when, why) and one row of flag_changes per flag (old, new). The state "at version N" is
 * the defaults with every change <= N applied; `revert N` writes that state as a new version.
 *
 * Reads are lock-free: flags_get_* read atomics of the current snapshot. Changes made through
 * this handle take effect before flags_set returns; changes made by another process (the CLI on
 * the same meta.db) are picked up by flags_refresh, which the server calls every 200 ms
 * (it compares control_gen first, so an idle poll is one tiny SELECT).
 */
#ifndef GATEWAY_FLAGS_H
#define GATEWAY_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "meta/meta.h"

typedef enum flag_id {
    FLAG_MAINTENANCE = 0,
    FLAG_READ_BACKEND,
    FLAG_FLUX,
    FLAG_RATE_LIMIT_RPS,
    FLAG_RATE_LIMIT_BURST,
    FLAG_FAILOVER,
    FLAG_FAILOVER_UNAVAILABLE_S,
    FLAG_FAILOVER_LATENCY_PCT,
    FLAG_FAILOVER_RAMP_DWELL_S,
    FLAG_COUNT
} flag_id;

typedef enum read_backend { READ_PRIMARY = 0, READ_BACKUP } read_backend;
typedef enum failover_mode { FAILOVER_OFF = 0, FAILOVER_ALERT, FAILOVER_AUTO } failover_mode;

typedef struct flags flags;

/* Loads the flags from meta (defaults for those never set). */
vt_rc flags_open(meta *m, flags **out, vt_err *err);
void flags_close(flags *f);

/* Lock-free reads of the current values. */
bool flags_maintenance(const flags *f);
read_backend flags_read_backend(const flags *f);
bool flags_flux(const flags *f);
double flags_rate_limit_rps(const flags *f);
double flags_rate_limit_burst(const flags *f);
failover_mode flags_failover(const flags *f);
double flags_number(const flags *f, flag_id id);

/* Name <-> id; VT_ENOTFOUND "unknown flag: <name> (known: ...)". */
vt_rc flag_by_name(const char *name, flag_id *out, vt_err *err);
const char *flag_name(flag_id id);
/* The current value as text ("true", "backup", "1.5"), written to buf. */
const char *flags_value_text(const flags *f, flag_id id, char *buf, size_t cap);
/* The version of the current state (0 = nothing ever set). */
int64_t flags_version(const flags *f);

/* Sets names[i] = values[i] (i < n) as one new version. Values are validated per type
 * ("true"/"false"/"on"/"off"/"1"/"0" for bools; the enum's names; a finite number >= 0), VT_EINVAL
 * naming the flag and the accepted values otherwise; nothing is written unless all are valid.
 * Setting a flag to its current value is not a change (no version when nothing changes;
 * *version_out = the current version). who: "cli:<user>" | "api:<key id>" | "rollback" ...;
 * why: free text, may be "". */
vt_rc flags_set(flags *f, size_t n, const char *const *names, const char *const *values,
                const char *who, const char *why, int64_t *version_out, vt_err *err);
/* Writes the state at version as a new version (why "revert to version N[: why]"). VT_ENOTFOUND
 * for a version that does not exist. */
vt_rc flags_revert(flags *f, int64_t version, const char *who, const char *why,
                   int64_t *version_out, vt_err *err);

/* One version of the history, with its changes. */
typedef struct flag_change {
    char name[48];
    char old_value[64]; /* "" when the flag had its default */
    char new_value[64];
} flag_change;
typedef struct flag_version {
    int64_t version;
    int64_t at_ns;
    char who[128];
    char why[512];
    size_t n_changes;
    flag_change changes[FLAG_COUNT];
} flag_version;
/* The last `limit` versions, newest first; *out malloc'ed (free()). */
vt_rc flags_history(flags *f, size_t limit, flag_version **out, size_t *n, vt_err *err);

/* The default value's text of a flag ("false", "primary", "1800"). */
const char *flag_default(flag_id id);

/* JSON documents (jansson; the caller json_decref()s; NULL when out of memory), the same for
 * the admin API and the CLI's offline mode:
 *   flags_to_json:          {"version":N,"flags":{"enable_maintenance_mode":false,...}}
 *                           (booleans as JSON booleans, numbers as numbers, enums as strings)
 *   flags_history_to_json:  {"versions":[{"version":N,"at":"RFC3339","who":"..","why":"..",
 *                           "changes":[{"name":"..","old":"..","new":".."}]}]}  (old "" = default) */
struct json_t *flags_to_json(const flags *f);
struct json_t *flags_history_to_json(const flag_version *v, size_t n);
/* The answer to a set/revert: {"version":N,"changed":["name",...]}; changed lists the flags
 * version changed when version > before (the version before the call), else is empty. */
struct json_t *flags_change_to_json(flags *f, int64_t before, int64_t version);

/* Picks up changes other processes made (see the top). *changed (may be NULL) = whether any
 * value changed. Cheap when nothing changed. */
vt_rc flags_refresh(flags *f, bool *changed, vt_err *err);

#endif
