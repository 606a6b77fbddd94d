/*
 * common/log.h — the server's log: one JSON object per line on stderr.
 *
 *     {"ts":"2026-11-28T04:18:43.612Z","level":"info","component":"landing","msg":"..."<,fields>}
 *
 * level: "debug" | "info" | "warn" | "error". component may be NULL (left out). fields is NULL or
 * extra members already in JSON ("\"port\":8086"). Thread-safe: each line is one write(2).
 */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

void vt_log(const char *level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void vt_log_fields(const char *level, const char *component, const char *fields, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

#endif
