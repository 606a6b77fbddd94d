/*
 * common/log.c — JSON log lines (log.h).
 */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"

/* A JSON string: quotes, backslashes and control bytes escaped; other bytes as they are. */
static void json_str(vt_buf *b, const char *s)
{
    vt_buf_putc(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            vt_buf_putc(b, '\\');
            vt_buf_putc(b, c);
        } else if (c == '\n') {
            vt_buf_append(b, "\\n", 2);
        } else if (c < 0x20) {
            vt_buf_printf(b, "\\u%04x", c);
        } else {
            vt_buf_putc(b, c);
        }
    }
    vt_buf_putc(b, '"');
}

__attribute__((format(printf, 4, 0))) static void
vlog(const char *level, const char *component, const char *fields, const char *fmt, va_list ap)
{
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    vt_buf b;
    vt_buf_init(&b);
    vt_buf_printf(
        &b, "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":", tm.tm_year + 1900,
        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    json_str(&b, level);
    if (component) {
        vt_buf_append(&b, ",\"component\":", 13);
        json_str(&b, component);
    }
    vt_buf_append(&b, ",\"msg\":", 7);
    json_str(&b, msg);
    if (fields && fields[0]) {
        vt_buf_putc(&b, ',');
        vt_buf_append(&b, fields, strlen(fields));
    }
    vt_buf_append(&b, "}\n", 2);
    if (!b.oom) {
        ssize_t w = write(STDERR_FILENO, b.data, b.len);
        (void)w;
    }
    vt_buf_free(&b);
}

void vt_log(const char *level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(level, component, NULL, fmt, ap);
    va_end(ap);
}

void vt_log_fields(const char *level, const char *component, const char *fields, const char *fmt,
                   ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(level, component, fields, fmt, ap);
    va_end(ap);
}
