/*
 * cli/cmd_keys.c — scaffolding: the command is registered, not written yet.
 */
#include <stdio.h>

#include "cli/cli.h"

int cmd_keys(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "volta keys: not implemented yet\n");
    return 2;
}
