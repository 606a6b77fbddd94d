#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int cmd_version(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: volta version\n\nPrints volta's version and the InfluxDB API version it speaks.\n");
        return 0;
    }
    printf("volta %s (InfluxDB API 1.8 compatible)\n", VOLTA_VERSION);
    return 0;
}
