/*
 * cli/cmd_rollback.c — scaffolding: the command is registered, not written yet.
 */
#include <stdio.h>

#include "cli/cli.h"

int cmd_rollback(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "volta rollback: not implemented yet\n");
    return 2;
}

int cmd_rollforward(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "volta rollforward: not implemented yet\n");
    return 2;
}
