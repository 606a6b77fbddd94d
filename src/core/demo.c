#include "core/demo.h"

#include "common/buf.h"

#define DEMO_BODY_LINES 5000

vt_rc demo_load(node *n, const char *db, const demo_gen_options *opts, uint64_t *points,
                vt_err *err)
{
    *points = 0;
    vt_rc rc = node_create_db(n, db, err);
    if (rc != VT_OK)
        return rc;
    demo_gen *g = NULL;
    rc = demo_gen_new(opts, &g, err);
    if (rc != VT_OK)
        return rc;
    vt_buf body;
    vt_buf_init(&body);
    uint64_t hours = demo_gen_hours(g);
    uint64_t per_hour = demo_gen_lines_per_hour(g);
    uint64_t hours_per_body = per_hour >= DEMO_BODY_LINES ? 1 : DEMO_BODY_LINES / per_hour;
    for (uint64_t h = 0; h < hours && rc == VT_OK;) {
        vt_buf_reset(&body);
        for (uint64_t k = 0; k < hours_per_body && h < hours; k++, h++)
            demo_gen_append_lp(g, h, &body);
        if (body.oom) {
            rc = vt_err_set(err, VT_ENOMEM, "out of memory generating demo data");
            break;
        }
        node_write_result res;
        rc = node_write(n, db, "", LP_PRECISION_NS, 0, (const char *)body.data, body.len, &res,
                        err);
        *points += res.points;
    }
    vt_buf_free(&body);
    demo_gen_free(g);
    return rc;
}
