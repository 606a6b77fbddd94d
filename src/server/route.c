/*
 * server/route.c — the read router: the read_backend flag sends /query and /api/v2/query to the
 * backup backend.
 *
 * Not wired yet: every read is served by the primary.
 */
#include "server/server_int.h"

bool http_route_read(http_request *rq, enum MHD_Result *r)
{
    (void)rq;
    (void)r;
    return false;
}
