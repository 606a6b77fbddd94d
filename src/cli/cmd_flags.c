/*
 * cli/cmd_flags.c — scaffolding: the command is registered, not written yet.
 */
#include <stdio.h>

#include "cli/cli.h"

int cmd_flags(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "volta flags: not implemented yet\n");
    return 2;
}
