/*
 * common/error.h — the project-wide result codes.
 *
 * Every fallible function returns a vt_rc and, where a caller needs to know *what* went wrong,
 * fills a vt_err (code + a message naming the file, offset, line, series... involved).
 * Each code maps to one HTTP status and one CLI exit code, so a handler or a command never
 * invents its own mapping.
 */
#ifndef COMMON_ERROR_H
#define COMMON_ERROR_H

#include <stddef.h>

typedef enum vt_rc {
    VT_OK = 0,
    VT_EINVAL,       /* bad argument or request (400)                        */
    VT_EPARSE,       /* malformed input: line protocol, query, config (400)   */
    VT_ELIMIT,       /* a configured limit was exceeded (413/400)             */
    VT_ENOMEM,       /* allocation failed (500)                               */
    VT_EIO,          /* read/write/fsync failed (500)                         */
    VT_ECORRUPT,     /* checksum or structure mismatch in stored data (500)   */
    VT_ENOTFOUND,    /* database, file, series... does not exist (404)        */
    VT_EEXIST,       /* already exists (409)                                  */
    VT_ETYPE,        /* field type conflict (400)                             */
    VT_EFATAL,       /* sticky: a data-path write/fsync failed earlier (500)  */
    VT_EUNSUPPORTED, /* not implemented / not supported (501)                 */
    VT_EBUSY,        /* try again later (503)                                 */
    VT_RC_COUNT
} vt_rc;

#define VT_ERR_MSG_MAX 512

typedef struct vt_err {
    vt_rc rc;
    char msg[VT_ERR_MSG_MAX];
} vt_err;

/* Short stable name of a code ("corrupt", "io", ...). */
const char *vt_rc_name(vt_rc rc);
/* HTTP status a request failing with rc answers. */
int vt_rc_http_status(vt_rc rc);
/* Exit status of a CLI command failing with rc (0 for VT_OK). */
int vt_rc_exit_code(vt_rc rc);

/* Fills err (if non-NULL) with rc and a printf-style message; returns rc so callers can
 * write `return vt_err_set(err, VT_EIO, "write %s: %s", path, strerror(errno));`. */
vt_rc vt_err_set(vt_err *err, vt_rc rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Clears err to VT_OK with an empty message. */
void vt_err_clear(vt_err *err);
/* Prepends "prefix: " to err's message (keeps rc). */
void vt_err_prefix(vt_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
