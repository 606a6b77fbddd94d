/*
 * tests/unit/thread_probe.h — finds a thread of this process by name (/proc/self/task/N/comm)
 * and reads its nice value (field 19 of /proc/self/task/N/stat), for the tests of background
 * thread priority (common/thread.h).
 */
#ifndef TESTS_UNIT_THREAD_PROBE_H
#define TESTS_UNIT_THREAD_PROBE_H

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* True when a thread named name exists; *nice is then its nice value. */
static inline bool thread_probe_nice(const char *name, int *nice)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return false;
    struct dirent *de;
    bool found = false;
    while (!found && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[300], comm[64] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", de->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(comm, sizeof comm, f))
            comm[strcspn(comm, "\n")] = '\0';
        fclose(f);
        if (strcmp(comm, name) != 0)
            continue;
        snprintf(path, sizeof path, "/proc/self/task/%s/stat", de->d_name);
        f = fopen(path, "r");
        if (!f)
            continue;
        char line[1024];
        if (fgets(line, sizeof line, f)) {
            /* fields after the ")" that closes the name: state is field 3, nice field 19 */
            char *p = strrchr(line, ')');
            int field = 2;
            for (char *tok = p ? strtok(p + 1, " ") : NULL; tok; tok = strtok(NULL, " ")) {
                if (++field == 19) {
                    *nice = atoi(tok);
                    found = true;
                    break;
                }
            }
        }
        fclose(f);
    }
    closedir(d);
    return found;
}

/* Waits up to 5 s for a thread named name to appear; true with its nice in *nice. */
static inline bool thread_probe_wait(const char *name, int *nice)
{
    for (int i = 0; i < 500; i++) {
        if (thread_probe_nice(name, nice))
            return true;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return false;
}

#endif
