/*
 * common/faultinj.h — fault injection for the data path.
 *
 * Every write, fsync and rename on the journal, segment and manifest paths goes through
 * vt_io_write / vt_io_fsync / ... below. Tests arm a fault ("fail the Nth fsync") and check that
 * the engine refuses writes afterwards and that what it left on disk verifies clean.
 * Faults can be armed from the environment too, so end-to-end tests can inject them into a real
 * `volta serve`:  VOLTA_FAULT="fsync:3"  (fail the 3rd fsync),  "write:10", "rename:1".
 * Disarmed cost: one relaxed atomic load per call.
 */
#ifndef COMMON_FAULTINJ_H
#define COMMON_FAULTINJ_H

#include <stddef.h>
#include <sys/types.h>

typedef enum vt_fault_op {
    VT_FAULT_WRITE = 0,
    VT_FAULT_FSYNC,
    VT_FAULT_RENAME,
    VT_FAULT_OP_COUNT
} vt_fault_op;

/* Arms op to fail on its nth call from now (n >= 1); each later call succeeds again unless
 * sticky is set, in which case every call from the nth on fails. n = 0 disarms. */
void vt_fault_arm(vt_fault_op op, unsigned long nth, int sticky);
/* Disarms everything and resets counters. */
void vt_fault_reset(void);
/* Reads VOLTA_FAULT from the environment (called once by main). */
void vt_fault_from_env(void);
/* Number of faults injected so far (for tests). */
unsigned long vt_fault_injected(void);

/* A latency fault on the primary's query path (drills: the slow-primary scenario): every
 * /query answered by the primary's own engine first sleeps this long. 0 = off (the default).
 * Armed at run time only through POST /api/v1/fault, which exists only when the server was
 * started with VOLTA_FAULT_INJECTION=1 in its environment. */
void vt_fault_set_query_delay_ms(unsigned ms);
unsigned vt_fault_query_delay_ms(void);

/* Tests: a function called at the start of every vt_io_fsync / vt_io_fdatasync, before the
 * fault check, with the descriptor (NULL: none, the default). It may block, to hold a sync in
 * flight while the test does something else. */
typedef void (*vt_fsync_hook)(int fd);
void vt_fault_set_fsync_hook(vt_fsync_hook hook);

/* The wrapped system calls. They behave like write(2)/fsync(2)/rename(2), failing with EIO
 * when a fault fires. vt_io_write_all loops over short writes; returns 0 or -1 (errno set). */
int vt_io_write_all(int fd, const void *buf, size_t len);
int vt_io_pwrite_all(int fd, const void *buf, size_t len, off_t off);
int vt_io_fsync(int fd);
int vt_io_fdatasync(int fd);
int vt_io_rename(const char *from, const char *to);

#endif
