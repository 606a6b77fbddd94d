/*
 * cli/cmd_repair.c — scaffolding: the command is registered, not written yet.
 */
#include <stdio.h>

#include "cli/cli.h"

int cmd_repair(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "volta repair: not implemented yet\n");
    return 2;
}
