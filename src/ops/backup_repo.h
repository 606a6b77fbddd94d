/*
 * ops/backup_repo.h — the backup repository: a directory of content-addressed files and one
 * manifest per backup. Layout (also in docs/FORMAT.md):
 *
 *     <repo>/REPO                          {"format":"volta-backup","version":1}
 *     <repo>/objects/<h[0:2]>/<h>          a file's bytes, named by h = XXH3-128 of its content
 *                                          (32 lowercase hex digits); written as <h>.tmp, fsynced,
 *                                          renamed: an object that exists is complete
 *     <repo>/backups/<id>/MANIFEST.json    one backup (below), published last (temp + rename)
 *
 * MANIFEST.json:
 *     {"format":"volta-backup-manifest","version":1,"id":"20261128_050000",
 *      "kind":"full"|"incremental","parent":"<id>"|"","created_at":<ns>,
 *      "source":"<data directory backed up>","checkpoint":C,"seq_first":F,"seq":S,
 *      "time_first":<ns>,"time_last":<ns>,
 *      "files":[{"path":"engine/MANIFEST","hash":"<h>","size":N},
 *               {"path":"engine/seg/<name>.vseg","hash":"<h>","size":N},
 *               {"path":"journal/<first seq>.vjl","hash":"<h>","size":N}, ...],
 *      "new_files":K,"new_bytes":B}
 * - path is where the file goes in a restored data directory;
 * - the engine files hold every record <= checkpoint; the journal files hold records
 *   seq_first..seq (their times time_first..time_last), so restoring the files and opening the
 *   directory replays checkpoint+1..seq; a point-in-time restore replays only records whose
 *   journal time is <= the requested time (records of later backups' journal files continue
 *   the chain: each backup archives the journal from the previous backup's seq + 1);
 * - every backup's manifest lists every file it needs: any backup restores alone. "incremental"
 *   says it copied only the objects the repository did not hold (new_files/new_bytes), "full"
 *   that it copied (and so re-verified) every object.
 */
#ifndef OPS_BACKUP_REPO_H
#define OPS_BACKUP_REPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define BACKUP_HASH_HEX 32

typedef struct backup_file {
    char path[512];
    char hash[BACKUP_HASH_HEX + 1];
    uint64_t size;
} backup_file;

typedef struct backup_manifest {
    char id[64];
    char kind[16];
    char parent[64];
    int64_t created_at;
    char source[4096];
    uint64_t checkpoint, seq_first, seq;
    int64_t time_first, time_last;
    backup_file *files; /* malloc'ed */
    size_t nfiles;
    uint64_t new_files, new_bytes;
} backup_manifest;

/* Creates repo (and REPO) when absent; checks REPO otherwise. */
vt_rc backup_repo_open(const char *repo, vt_err *err);
/* flock(2) on <repo>/REPO: backup, verify and restore take it shared, expire exclusive (it
 * deletes objects). Returns the fd holding it (>= 0), or -1 with err set. */
int backup_repo_lock(const char *repo, bool exclusive, vt_err *err);
void backup_repo_unlock(int fd);
/* <repo>/objects/<h[0:2]>/<h> into out. */
void backup_repo_object_path(const char *repo, const char *hash, char *out, size_t cap);
/* XXH3-128 of a file's content, hex. */
vt_rc backup_hash_file(const char *path, char hash[BACKUP_HASH_HEX + 1], uint64_t *size,
                       vt_err *err);
/* Reads <repo>/backups/<id>/MANIFEST.json (VT_ENOTFOUND when no such backup; VT_ECORRUPT naming
 * the file when it does not parse). Free with backup_manifest_free. */
vt_rc backup_manifest_read(const char *repo, const char *id, backup_manifest *out, vt_err *err);
/* Publishes it (temp + fsync + rename + fsync dir). */
vt_rc backup_manifest_write(const char *repo, const backup_manifest *m, vt_err *err);
void backup_manifest_free(backup_manifest *m);
/* Ids of every backup in the repository (sorted ascending = oldest first); free each and the
 * array. */
vt_rc backup_repo_list(const char *repo, char ***ids, size_t *n, vt_err *err);

#endif
