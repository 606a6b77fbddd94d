/*
 * common/durable.h — the one way a file is published.
 *
 *   write <path>.tmp  ->  fsync(tmp)  ->  rename(tmp, path)  ->  fsync(directory)
 *
 * After durable_publish returns VT_OK the file exists under its final name with its whole
 * content, whatever crash follows. On failure the temp file is removed and the final name is
 * untouched (it holds the previous version, or nothing). Callers on the data path treat a
 * failure as sticky (see engine.h): an fsync that failed is never retried and trusted.
 */
#ifndef COMMON_DURABLE_H
#define COMMON_DURABLE_H

#include <stddef.h>

#include "common/error.h"

/* Publishes len bytes of data as path (see above). */
vt_rc durable_publish(const char *path, const void *data, size_t len, vt_err *err);

/* Streaming variant: open a temp file beside path, write to it, then commit (fsync, rename,
 * fsync dir) or abort (unlink). */
typedef struct durable_file {
    int fd;
    char path[4096];
    char tmp_path[4096 + 8];
} durable_file;

vt_rc durable_begin(durable_file *f, const char *path, vt_err *err);
vt_rc durable_write(durable_file *f, const void *data, size_t len, vt_err *err);
vt_rc durable_commit(durable_file *f, vt_err *err);
void durable_abort(durable_file *f);

/* fsyncs the directory holding path (or path itself when it is a directory). */
vt_rc durable_fsync_dir(const char *dir, vt_err *err);

/* mkdir -p; new directories are fsynced into their parents. */
vt_rc durable_mkdirs(const char *dir, vt_err *err);

/* Reads a whole file into a malloc'd buffer (caller frees *out). */
vt_rc file_read_all(const char *path, char **out, size_t *len, vt_err *err);

#endif
