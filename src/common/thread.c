/*
 * common/thread.c — thread names and background priority (see thread.h).
 */
#include "common/thread.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The kernel's id of the calling thread: setpriority(PRIO_PROCESS, tid) then acts on this
 * thread alone (Linux; POSIX would make it the whole process). */
static id_t self_tid(void)
{
    return (id_t)syscall(SYS_gettid);
}

void vt_thread_name(const char *name)
{
    char buf[16];
    size_t n = strlen(name);
    if (n > sizeof buf - 1)
        n = sizeof buf - 1;
    memcpy(buf, name, n);
    buf[n] = '\0';
    pthread_setname_np(pthread_self(), buf);
}

int vt_thread_nice(void)
{
    errno = 0;
    int v = getpriority(PRIO_PROCESS, self_tid());
    return v == -1 && errno != 0 ? 0 : v;
}

int vt_thread_nicer(int by)
{
    if (by <= 0)
        return 0;
    id_t tid = self_tid();
    errno = 0;
    int cur = getpriority(PRIO_PROCESS, tid);
    if (cur == -1 && errno != 0)
        return errno;
    int want = cur + (by > 39 ? 39 : by);
    if (want > 19)
        want = 19;
    if (want == cur)
        return 0;
    return setpriority(PRIO_PROCESS, tid, want) == 0 ? 0 : errno;
}
