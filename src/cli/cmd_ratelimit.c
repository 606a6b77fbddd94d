/*
 * cli/cmd_ratelimit.c — scaffolding: the command is registered, not written yet.
 */
#include <stdio.h>

#include "cli/cli.h"

int cmd_ratelimit(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "volta ratelimit: not implemented yet\n");
    return 2;
}
