/*
 * meta/meta_flags.h — the SQL of the feature flags (meta.db schema v3: tables flags,
 * flag_versions, flag_changes). The flags' meaning, types and validation live in
 * gateway/flags.c; this layer stores text and never interprets a value.
 *
 *     flags          name -> current value (text), and the version that set it. A flag with
 *                    no row has its default.
 *     flag_versions  one row per change set: version (1, 2, ...), at_ns, who, why
 *     flag_changes   one row per flag a version changed: old (NULL = it had its default), new
 *
 * Every change set is one transaction (BEGIN IMMEDIATE), which also appends the audit row
 * (action "flags.set", detail "name: old -> new[, ...]; why"), so the history, the current
 * values and the audit log never disagree, even with several processes writing.
 */
#ifndef META_META_FLAGS_H
#define META_META_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "meta/meta.h"

#define META_FLAG_NAME_MAX 48
#define META_FLAG_VALUE_MAX 64
#define META_FLAGS_MAX 32 /* flags (and changes per version) read at most */

typedef struct meta_flag_row {
    char name[META_FLAG_NAME_MAX];
    char value[META_FLAG_VALUE_MAX];
} meta_flag_row;

/* Reads, in one read transaction, control_gen, the latest version (0 = none) and every row of
 * `flags` (at most cap; *n rows). gen and version may be NULL. */
vt_rc meta_flags_load(meta *m, meta_flag_row *rows, size_t cap, size_t *n, int64_t *version,
                      int64_t *gen, vt_err *err);

/* control_gen (bumped whenever flags or API keys change): the cheap "anything new?" poll. */
vt_rc meta_flags_gen(meta *m, int64_t *gen, vt_err *err);

/* Writes names[i] = values[i] as one new version, in one transaction. Each value is compared
 * with the stored one (defaults[i] when the flag has no row): equal ones are no change
 * (changed[i] = false). When nothing changes nothing is written and *version_out is the latest
 * version; otherwise *version_out is the new one. who/why are recorded in flag_versions and in
 * the audit log. changed may be NULL. */
vt_rc meta_flags_apply(meta *m, size_t n, const char *const *names, const char *const *values,
                       const char *const *defaults, const char *who, const char *why,
                       bool *changed, int64_t *version_out, vt_err *err);

/* The values set at version (every change <= version applied in order; flags never set are
 * absent). VT_ENOTFOUND when version > 0 is not a recorded version; version 0 = no rows (the
 * defaults). */
vt_rc meta_flags_state_at(meta *m, int64_t version, meta_flag_row *rows, size_t cap, size_t *n,
                          vt_err *err);

typedef struct meta_flag_change {
    char name[META_FLAG_NAME_MAX];
    char old_value[META_FLAG_VALUE_MAX]; /* "" = it had its default */
    char new_value[META_FLAG_VALUE_MAX];
} meta_flag_change;

typedef struct meta_flag_version {
    int64_t version;
    int64_t at_ns;
    char who[128];
    char why[512];
    size_t n_changes;
    meta_flag_change changes[META_FLAGS_MAX];
} meta_flag_version;

/* The last `limit` versions, newest first; *out malloc'ed (free()), NULL when none. */
vt_rc meta_flags_history(meta *m, size_t limit, meta_flag_version **out, size_t *n, vt_err *err);

#endif
