/*
 * core/demo.h — loads generated ONS-shaped data (ingest/demo_gen.h) into a node through the normal
 * write path (journal + engine), for `volta serve --demo`.
 */
#ifndef CORE_DEMO_H
#define CORE_DEMO_H

#include <stdint.h>

#include "common/error.h"
#include "core/node.h"
#include "ingest/demo_gen.h"

/* Creates db (when missing) and writes every hour of the generator's data into it, in bodies of
 * about 5,000 lines. *points receives the number of points written. */
vt_rc demo_load(node *n, const char *db, const demo_gen_options *opts, uint64_t *points,
                vt_err *err);

#endif
