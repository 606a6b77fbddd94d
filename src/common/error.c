#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int http;
    int exit_code;
} rc_table[VT_RC_COUNT] = {
    [VT_OK] = {"ok", 200, 0},
    [VT_EINVAL] = {"invalid", 400, 2},
    [VT_EPARSE] = {"parse", 400, 1},
    [VT_ELIMIT] = {"limit", 413, 1},
    [VT_ENOMEM] = {"nomem", 500, 3},
    [VT_EIO] = {"io", 500, 3},
    [VT_ECORRUPT] = {"corrupt", 500, 1},
    [VT_ENOTFOUND] = {"notfound", 404, 1},
    [VT_EEXIST] = {"exists", 409, 1},
    [VT_ETYPE] = {"type", 400, 1},
    [VT_EFATAL] = {"fatal", 500, 3},
    [VT_EUNSUPPORTED] = {"unsupported", 501, 2},
    [VT_EBUSY] = {"busy", 503, 3},
};

const char *vt_rc_name(vt_rc rc)
{
    return (rc >= 0 && rc < VT_RC_COUNT) ? rc_table[rc].name : "unknown";
}

int vt_rc_http_status(vt_rc rc)
{
    return (rc >= 0 && rc < VT_RC_COUNT) ? rc_table[rc].http : 500;
}

int vt_rc_exit_code(vt_rc rc)
{
    return (rc >= 0 && rc < VT_RC_COUNT) ? rc_table[rc].exit_code : 3;
}

vt_rc vt_err_set(vt_err *err, vt_rc rc, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->rc = rc;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return rc;
}

void vt_err_clear(vt_err *err)
{
    if (err) {
        err->rc = VT_OK;
        err->msg[0] = '\0';
    }
}

void vt_err_prefix(vt_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[VT_ERR_MSG_MAX];
    char old[VT_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
}
