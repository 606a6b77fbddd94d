/*
 * ask/ask_node.h — an ask_run_fn over a node in-process.
 */
#ifndef ASK_ASK_NODE_H
#define ASK_ASK_NODE_H

#include "ask/ask.h"
#include "core/node.h"

/* ctx is the node *. Runs influxql with epoch=ns (times as integers). */
vt_rc ask_run_node(void *ctx, const char *db, const char *influxql, char **json_out, vt_err *err);

#endif
