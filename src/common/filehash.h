/*
 * common/filehash.h — the content hash of a file: XXH3-128 of its bytes, as 32 lowercase hex
 * digits. The ingest ledger (change detection) and the backup repository (object names) use it:
 * a content identity at memory speed, not a cryptographic signature.
 */
#ifndef COMMON_FILEHASH_H
#define COMMON_FILEHASH_H

#include <stdint.h>

#include "common/error.h"

#define VT_FILEHASH_HEX 32

/* Reads path whole; hex gets the hash (NUL-terminated), *size the bytes read (size may be
 * NULL). VT_ENOTFOUND for a missing file, VT_EIO naming path and offset on a read error. */
vt_rc vt_hash_file(const char *path, char hex[VT_FILEHASH_HEX + 1], uint64_t *size, vt_err *err);
/* Same hash, through mmap (no copy): only for complete files that nobody else can truncate
 * while they are hashed (volta's own staged copies, objects of a locked backup repository);
 * a concurrent truncation would be SIGBUS. */
vt_rc vt_hash_file_stable(const char *path, char hex[VT_FILEHASH_HEX + 1], uint64_t *size,
                          vt_err *err);

#endif
