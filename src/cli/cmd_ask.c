/*
 * cli/cmd_ask.c — scaffolding: the command is registered, not written yet.
 */
#include <stdio.h>

#include "cli/cli.h"

int cmd_ask(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "volta ask: not implemented yet\n");
    return 2;
}
