/*
 * cli/cmd_validate.c — scaffolding: the command is registered, not written yet.
 */
#include <stdio.h>

#include "cli/cli.h"

int cmd_validate(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "volta validate: not implemented yet\n");
    return 2;
}
