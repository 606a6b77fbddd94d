/*
 * common/thread.h — naming volta's long-lived threads and lowering the priority of background
 * ones.
 *
 * Names show in `top -H`, `ps -L`, perf and gdb (Linux keeps 15 bytes of a thread name).
 *
 * Background priority: on Linux the nice value belongs to each thread, and a thread starts with
 * its creator's. The engine's flush/compaction thread and the memtable heap's reserve thread
 * lower their own priority (engine_options.background_nice, `[engine] background_nice`), so
 * that when the machine's CPUs are all busy the request threads — parsing, journaling and
 * answering writes and queries — get the CPU first. The work they do is ahead of need (the
 * reserve) or behind it (flush, compaction), and the engine's back-pressure (engine.c note 14)
 * still bounds the memtable if a flush falls behind: writers then wait, and the flush thread,
 * now the only one with work, runs. An unprivileged process may always lower a thread's
 * priority (raise its nice value); it may not raise it back, so the helper never tries to.
 */
#ifndef COMMON_THREAD_H
#define COMMON_THREAD_H

/* Names the calling thread (truncated to 15 bytes). */
void vt_thread_name(const char *name);

/* Makes the calling thread `by` nice steps nicer than it is (clamped at 19, the lowest
 * priority); by <= 0 does nothing. Returns 0, or an errno value when the kernel refused
 * (the thread then keeps its priority: a background thread still works at the normal one). */
int vt_thread_nicer(int by);

/* The nice value of the calling thread. */
int vt_thread_nice(void);

#endif
