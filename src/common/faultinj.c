#include "common/faultinj.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_int armed_any;
static atomic_ulong countdown[VT_FAULT_OP_COUNT];
static atomic_int sticky_flag[VT_FAULT_OP_COUNT];
static atomic_int fired_sticky[VT_FAULT_OP_COUNT];
static atomic_ulong injected;
static _Atomic(vt_fsync_hook) fsync_hook; /* tests only */

void vt_fault_arm(vt_fault_op op, unsigned long nth, int sticky)
{
    atomic_store(&countdown[op], nth);
    atomic_store(&sticky_flag[op], sticky);
    atomic_store(&fired_sticky[op], 0);
    atomic_store(&armed_any, 1);
}

void vt_fault_reset(void)
{
    for (int i = 0; i < VT_FAULT_OP_COUNT; i++) {
        atomic_store(&countdown[i], 0);
        atomic_store(&sticky_flag[i], 0);
        atomic_store(&fired_sticky[i], 0);
    }
    atomic_store(&injected, 0);
    atomic_store(&armed_any, 0);
    atomic_store(&fsync_hook, NULL);
}

unsigned long vt_fault_injected(void)
{
    return atomic_load(&injected);
}

void vt_fault_from_env(void)
{
    const char *spec = getenv("VOLTA_FAULT");
    if (!spec || !*spec)
        return;
    static const char *names[VT_FAULT_OP_COUNT] = {"write", "fsync", "rename"};
    for (int i = 0; i < VT_FAULT_OP_COUNT; i++) {
        size_t n = strlen(names[i]);
        if (strncmp(spec, names[i], n) == 0 && spec[n] == ':') {
            char *end;
            unsigned long nth = strtoul(spec + n + 1, &end, 10);
            vt_fault_arm((vt_fault_op)i, nth, *end == 's'); /* "fsync:3s" = sticky */
            return;
        }
    }
    fprintf(stderr, "volta: ignoring malformed VOLTA_FAULT=%s (want write|fsync|rename:N[s])\n", spec);
}

/* Returns 1 when this call of op must fail. */
static int fault_fires(vt_fault_op op)
{
    if (!atomic_load_explicit(&armed_any, memory_order_relaxed))
        return 0;
    if (atomic_load(&fired_sticky[op]))
        return 1;
    unsigned long c = atomic_load(&countdown[op]);
    while (c > 0) {
        if (atomic_compare_exchange_weak(&countdown[op], &c, c - 1)) {
            if (c == 1) {
                atomic_fetch_add(&injected, 1);
                if (atomic_load(&sticky_flag[op]))
                    atomic_store(&fired_sticky[op], 1);
                return 1;
            }
            return 0;
        }
    }
    return 0;
}

int vt_io_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    if (fault_fires(VT_FAULT_WRITE)) {
        /* a realistic failure: part of the data reaches the file, then EIO */
        if (len > 1 && write(fd, p, len / 2) < 0)
            return -1;
        errno = EIO;
        return -1;
    }
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int vt_io_pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
    const char *p = buf;
    if (fault_fires(VT_FAULT_WRITE)) {
        errno = EIO;
        return -1;
    }
    while (len > 0) {
        ssize_t w = pwrite(fd, p, len, off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        off += w;
        len -= (size_t)w;
    }
    return 0;
}

void vt_fault_set_fsync_hook(vt_fsync_hook hook)
{
    atomic_store(&fsync_hook, hook);
}

static void run_fsync_hook(int fd)
{
    vt_fsync_hook hook = atomic_load_explicit(&fsync_hook, memory_order_relaxed);
    if (hook)
        hook(fd);
}

int vt_io_fsync(int fd)
{
    run_fsync_hook(fd);
    if (fault_fires(VT_FAULT_FSYNC)) {
        errno = EIO;
        return -1;
    }
    return fsync(fd);
}

int vt_io_fdatasync(int fd)
{
    run_fsync_hook(fd);
    if (fault_fires(VT_FAULT_FSYNC)) {
        errno = EIO;
        return -1;
    }
    return fdatasync(fd);
}

int vt_io_rename(const char *from, const char *to)
{
    if (fault_fires(VT_FAULT_RENAME)) {
        errno = EIO;
        return -1;
    }
    return rename(from, to);
}

static atomic_uint query_delay_ms;

void vt_fault_set_query_delay_ms(unsigned ms)
{
    atomic_store_explicit(&query_delay_ms, ms, memory_order_relaxed);
}

unsigned vt_fault_query_delay_ms(void)
{
    return atomic_load_explicit(&query_delay_ms, memory_order_relaxed);
}
