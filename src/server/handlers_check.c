/*
 * server/handlers_check.c — (being written in this session; answers 501 until then).
 */
#include "server/server_int.h"

enum MHD_Result http_handle_admin_check(http_request *rq)
{
    return http_respond_error(rq, 501, "not implemented yet");
}
