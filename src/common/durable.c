#include "common/durable.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/faultinj.h"

vt_rc durable_fsync_dir(const char *dir, vt_err *err)
{
    char buf[PATH_MAX];
    struct stat st;
    const char *target = dir;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        /* a file path: sync its parent */
        snprintf(buf, sizeof buf, "%s", dir);
        char *slash = strrchr(buf, '/');
        if (!slash)
            snprintf(buf, sizeof buf, ".");
        else if (slash == buf)
            buf[1] = '\0';
        else
            *slash = '\0';
        target = buf;
    }
    int fd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return vt_err_set(err, VT_EIO, "open directory %s: %s", target, strerror(errno));
    if (vt_io_fsync(fd) != 0) {
        int e = errno;
        close(fd);
        return vt_err_set(err, VT_EIO, "fsync directory %s: %s", target, strerror(e));
    }
    close(fd);
    return VT_OK;
}

vt_rc durable_mkdirs(const char *dir, vt_err *err)
{
    char buf[PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof buf)
        return vt_err_set(err, VT_EINVAL, "bad directory path '%s'", dir);
    memcpy(buf, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) == 0) {
            vt_rc rc = durable_fsync_dir(buf, err); /* sync the parent that gained an entry */
            if (rc != VT_OK)
                return rc;
        } else if (errno != EEXIST) {
            return vt_err_set(err, VT_EIO, "mkdir %s: %s", buf, strerror(errno));
        }
        buf[i] = saved;
    }
    return VT_OK;
}

vt_rc durable_begin(durable_file *f, const char *path, vt_err *err)
{
    if (strlen(path) >= sizeof f->path)
        return vt_err_set(err, VT_EINVAL, "path too long: %s", path);
    snprintf(f->path, sizeof f->path, "%s", path);
    snprintf(f->tmp_path, sizeof f->tmp_path, "%s.tmp", path);
    f->fd = open(f->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (f->fd < 0)
        return vt_err_set(err, VT_EIO, "create %s: %s", f->tmp_path, strerror(errno));
    return VT_OK;
}

vt_rc durable_write(durable_file *f, const void *data, size_t len, vt_err *err)
{
    if (vt_io_write_all(f->fd, data, len) != 0)
        return vt_err_set(err, VT_EIO, "write %s: %s", f->tmp_path, strerror(errno));
    return VT_OK;
}

void durable_abort(durable_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    unlink(f->tmp_path);
}

vt_rc durable_commit(durable_file *f, vt_err *err)
{
    if (vt_io_fsync(f->fd) != 0) {
        vt_err_set(err, VT_EIO, "fsync %s: %s", f->tmp_path, strerror(errno));
        durable_abort(f);
        return VT_EIO;
    }
    if (close(f->fd) != 0) {
        f->fd = -1;
        vt_err_set(err, VT_EIO, "close %s: %s", f->tmp_path, strerror(errno));
        durable_abort(f);
        return VT_EIO;
    }
    f->fd = -1;
    if (vt_io_rename(f->tmp_path, f->path) != 0) {
        vt_err_set(err, VT_EIO, "rename %s -> %s: %s", f->tmp_path, f->path, strerror(errno));
        unlink(f->tmp_path);
        return VT_EIO;
    }
    return durable_fsync_dir(f->path, err);
}

vt_rc durable_publish(const char *path, const void *data, size_t len, vt_err *err)
{
    durable_file f;
    vt_rc rc = durable_begin(&f, path, err);
    if (rc != VT_OK)
        return rc;
    rc = durable_write(&f, data, len, err);
    if (rc != VT_OK) {
        durable_abort(&f);
        return rc;
    }
    return durable_commit(&f, err);
}

vt_rc file_read_all(const char *path, char **out, size_t *len, vt_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vt_err_set(err, errno == ENOENT ? VT_ENOTFOUND : VT_EIO, "open %s: %s", path,
                          strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return vt_err_set(err, VT_EIO, "stat %s: %s", path, strerror(errno));
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    if (!buf) {
        close(fd);
        return vt_err_set(err, VT_ENOMEM, "read %s: out of memory (%zu bytes)", path, size);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = errno;
            free(buf);
            close(fd);
            return vt_err_set(err, VT_EIO, "read %s: %s", path, r == 0 ? "short read" : strerror(e));
        }
        got += (size_t)r;
    }
    close(fd);
    buf[size] = '\0';
    *out = buf;
    *len = size;
    return VT_OK;
}
