/*
 * server/handlers_backends.c — admin endpoints (scaffolding: answers 501 until written).
 */
#include "server/server_int.h"

enum MHD_Result http_handle_admin_backends(http_request *rq)
{
    return http_respond_error(rq, 501, "not implemented yet");
}
