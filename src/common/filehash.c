/*
 * common/filehash.c — see filehash.h.
 *
 * vt_hash_file reads the file in FILEHASH_CHUNK pieces. vt_hash_file_stable hashes a regular
 * file through mmap instead, in windows of FILEHASH_WINDOW bytes mapped with MAP_POPULATE: the
 * bytes are hashed where the page cache holds them, with no copy into a buffer (read() copies
 * cost as much as the hash itself on a restore's read-back) and a few page-table fills per
 * window instead of a fault per page. A mapped file truncated by someone else while it is
 * hashed would kill the process (SIGBUS), so only files that volta alone writes and that are
 * complete use it: a restore's staged copies, objects of a locked backup repository — never a
 * landing-zone file a user may be overwriting. Anything mmap refuses (not a regular file, a
 * file system without mmap) is read instead; both paths hash the same bytes the same way.
 */
#include "common/filehash.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define FILEHASH_CHUNK ((size_t)64 << 10) /* below malloc's mmap threshold: reused memory */
#define FILEHASH_WINDOW ((size_t)64 << 20)

/* Hashes the first size bytes of fd through mmap windows. False when a window cannot be
 * mapped: *failed false when that was the first (nothing hashed: the caller reads instead),
 * true after some were hashed (errno says why). */
static bool hash_mapped(int fd, uint64_t size, XXH3_state_t *st, bool *failed)
{
    *failed = false;
    for (uint64_t off = 0; off < size; off += FILEHASH_WINDOW) {
        size_t len = size - off < FILEHASH_WINDOW ? (size_t)(size - off) : FILEHASH_WINDOW;
        void *m = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, (off_t)off);
        if (m == MAP_FAILED) {
            *failed = off > 0;
            return false;
        }
        XXH3_128bits_update(st, m, len);
        munmap(m, len);
    }
    return true;
}

static vt_rc hash_file(const char *path, bool stable, char hash[VT_FILEHASH_HEX + 1],
                       uint64_t *size, vt_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vt_err_set(err, errno == ENOENT ? VT_ENOTFOUND : VT_EIO, "open %s: %s", path,
                          strerror(errno));
    XXH3_state_t *st = XXH3_createState();
    uint8_t *buf = NULL;
    vt_rc rc = VT_OK;
    uint64_t total = 0;
    if (!st) {
        rc = vt_err_set(err, VT_ENOMEM, "out of memory");
        goto done;
    }
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    XXH3_128bits_reset(st);
    struct stat sb;
    if (stable && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0) {
        bool failed;
        if (hash_mapped(fd, (uint64_t)sb.st_size, st, &failed)) {
            total = (uint64_t)sb.st_size;
            goto digest;
        }
        if (failed) {
            rc = vt_err_set(err, VT_EIO, "mmap %s: %s", path, strerror(errno));
            goto done;
        }
        /* nothing mapped: read it instead */
    }
    buf = malloc(FILEHASH_CHUNK);
    if (!buf) {
        rc = vt_err_set(err, VT_ENOMEM, "out of memory");
        goto done;
    }
    for (;;) {
        ssize_t r = read(fd, buf, FILEHASH_CHUNK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = vt_err_set(err, VT_EIO, "read %s at offset %" PRIu64 ": %s", path, total,
                            strerror(errno));
            goto done;
        }
        if (r == 0)
            break;
        XXH3_128bits_update(st, buf, (size_t)r);
        total += (uint64_t)r;
    }
digest:;
    XXH128_hash_t h = XXH3_128bits_digest(st);
    snprintf(hash, VT_FILEHASH_HEX + 1, "%016" PRIx64 "%016" PRIx64, (uint64_t)h.high64,
             (uint64_t)h.low64);
    if (size)
        *size = total;
done:
    free(buf);
    if (st)
        XXH3_freeState(st);
    close(fd);
    return rc;
}

vt_rc vt_hash_file(const char *path, char hash[VT_FILEHASH_HEX + 1], uint64_t *size, vt_err *err)
{
    return hash_file(path, false, hash, size, err);
}

vt_rc vt_hash_file_stable(const char *path, char hash[VT_FILEHASH_HEX + 1], uint64_t *size,
                          vt_err *err)
{
    return hash_file(path, true, hash, size, err);
}
