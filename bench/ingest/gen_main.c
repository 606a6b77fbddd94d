/*
 * Stand-alone `volta gen` for the benchmark when the full volta build is not available (run.sh
 * falls back to it so that the InfluxDB half can still run): the same generator code, no server.
 */
#include "cli/cli.h"

int main(int argc, char **argv)
{
    return cmd_gen(argc, argv);
}
