/*
 * server/admission.c — the gateway in front of every handler: authentication (gateway/auth.h),
 * protected mode, maintenance mode and rate limits (gateway/flags.h, gateway/ratelimit.h).
 *
 * Not wired to the gateway yet: every request is admitted.
 */
#include "server/server_int.h"

bool http_admit(http_request *rq, enum MHD_Result *r)
{
    (void)rq;
    (void)r;
    return true;
}
