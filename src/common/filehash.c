/*
 * common/filehash.c — see filehash.h.
 */
#include "common/filehash.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#define FILEHASH_CHUNK ((size_t)1 << 20)

vt_rc vt_hash_file(const char *path, char hash[VT_FILEHASH_HEX + 1], uint64_t *size, vt_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vt_err_set(err, errno == ENOENT ? VT_ENOTFOUND : VT_EIO, "open %s: %s", path,
                          strerror(errno));
    XXH3_state_t *st = XXH3_createState();
    uint8_t *buf = malloc(FILEHASH_CHUNK);
    vt_rc rc = VT_OK;
    uint64_t total = 0;
    if (!st || !buf) {
        rc = vt_err_set(err, VT_ENOMEM, "out of memory");
        goto done;
    }
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    XXH3_128bits_reset(st);
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
