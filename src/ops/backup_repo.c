/*
 * ops/backup_repo.c — the backup repository (layout and manifest format in backup_repo.h and
 * docs/FORMAT.md).
 *
 * Implementation notes:
 * 1. Everything that names a place in the repository or in a restored directory comes from a
 *    manifest, which is outside input: ids must be plain names, hashes 32 lowercase hex digits,
 *    paths relative without "." / ".." components. A manifest that breaks this is VT_ECORRUPT,
 *    so a restore never writes outside its target and never reads outside the repository.
 * 2. The hash is XXH3-128 printed high 64 bits first (the canonical XXH128 form), as the ingest
 *    loader prints it.
 */
#include "ops/backup_repo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "common/durable.h"
#include "common/filehash.h"


static bool valid_id(const char *id)
{
    if (!id[0] || id[0] == '.' || strlen(id) >= 64)
        return false;
    for (const char *p = id; *p; p++)
        if (*p == '/' || *p == '\\' || (unsigned char)*p < 0x20)
            return false;
    return true;
}

static bool valid_hash(const char *h)
{
    if (strlen(h) != BACKUP_HASH_HEX)
        return false;
    for (const char *p = h; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

/* relative, no empty / "." / ".." component (note 1) */
static bool valid_rel_path(const char *p)
{
    if (!p[0] || p[0] == '/' || strlen(p) >= sizeof(((backup_file *)0)->path))
        return false;
    const char *s = p;
    while (*s) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return false;
        if (!e)
            break;
        s = e + 1;
        if (!*s)
            return false;
    }
    return true;
}

vt_rc backup_repo_open(const char *repo, vt_err *err)
{
    char path[PATH_MAX];
    if (!repo || !repo[0])
        return vt_err_set(err, VT_EINVAL, "backup repository: no directory given");
    snprintf(path, sizeof path, "%s/REPO", repo);
    struct stat st;
    if (stat(path, &st) == 0) {
        char *text = NULL;
        size_t len = 0;
        vt_rc rc = file_read_all(path, &text, &len, err);
        if (rc != VT_OK)
            return rc;
        json_error_t je;
        json_t *doc = json_loadb(text, len, 0, &je);
        free(text);
        const char *fmt = json_string_value(json_object_get(doc, "format"));
        json_int_t ver = json_integer_value(json_object_get(doc, "version"));
        bool ok = fmt && strcmp(fmt, "volta-backup") == 0;
        json_decref(doc);
        if (!ok)
            return vt_err_set(err, VT_ECORRUPT, "%s: not a volta backup repository", path);
        if (ver != 1)
            return vt_err_set(err, VT_EUNSUPPORTED,
                              "%s: repository version %lld is not supported (this volta: 1)", path,
                              (long long)ver);
    } else if (errno != ENOENT) {
        return vt_err_set(err, VT_EIO, "stat %s: %s", path, strerror(errno));
    } else {
        /* a new repository: refuse a non-empty directory that is something else */
        DIR *d = opendir(repo);
        if (d) {
            struct dirent *e;
            bool empty = true;
            while ((e = readdir(d)) != NULL)
                if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
                    strcmp(e->d_name, "objects") && strcmp(e->d_name, "backups"))
                    empty = false;
            closedir(d);
            if (!empty)
                return vt_err_set(err, VT_EINVAL,
                                  "backup repository %s: directory is not empty and has no REPO "
                                  "file",
                                  repo);
        }
        vt_rc rc = durable_mkdirs(repo, err);
        if (rc != VT_OK)
            return rc;
        static const char doc[] = "{\"format\":\"volta-backup\",\"version\":1}\n";
        rc = durable_publish(path, doc, sizeof doc - 1, err);
        if (rc != VT_OK)
            return rc;
    }
    snprintf(path, sizeof path, "%s/objects", repo);
    vt_rc rc = durable_mkdirs(path, err);
    if (rc != VT_OK)
        return rc;
    snprintf(path, sizeof path, "%s/backups", repo);
    return durable_mkdirs(path, err);
}

void backup_repo_object_path(const char *repo, const char *hash, char *out, size_t cap)
{
    snprintf(out, cap, "%s/objects/%.2s/%s", repo, hash, hash);
}

vt_rc backup_hash_file(const char *path, char hash[BACKUP_HASH_HEX + 1], uint64_t *size,
                       vt_err *err)
{
    return vt_hash_file(path, hash, size, err);
}

void backup_manifest_free(backup_manifest *m)
{
    if (!m)
        return;
    free(m->files);
    m->files = NULL;
    m->nfiles = 0;
}

static bool get_u64(json_t *o, const char *k, uint64_t *out)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

static bool get_i64(json_t *o, const char *k, int64_t *out)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v))
        return false;
    *out = (int64_t)json_integer_value(v);
    return true;
}

static bool get_str(json_t *o, const char *k, char *out, size_t cap)
{
    const char *s = json_string_value(json_object_get(o, k));
    if (!s || strlen(s) >= cap)
        return false;
    memcpy(out, s, strlen(s) + 1);
    return true;
}

vt_rc backup_manifest_read(const char *repo, const char *id, backup_manifest *out, vt_err *err)
{
    memset(out, 0, sizeof *out);
    if (!valid_id(id))
        return vt_err_set(err, VT_EINVAL, "invalid backup id: %s", id);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/backups/%s/MANIFEST.json", repo, id);
    char *text = NULL;
    size_t len = 0;
    vt_rc rc = file_read_all(path, &text, &len, err);
    if (rc == VT_ENOTFOUND)
        return vt_err_set(err, VT_ENOTFOUND, "backup not found: %s (no %s)", id, path);
    if (rc != VT_OK)
        return rc;
    json_error_t je;
    json_t *doc = json_loadb(text, len, 0, &je);
    free(text);
    if (!doc)
        return vt_err_set(err, VT_ECORRUPT, "%s: line %d column %d: %s", path, je.line,
                          je.column, je.text);
    const char *what = NULL;
    const char *fmt = json_string_value(json_object_get(doc, "format"));
    json_t *files = json_object_get(doc, "files");
    if (!fmt || strcmp(fmt, "volta-backup-manifest") != 0)
        what = "not a volta backup manifest";
    else if (json_integer_value(json_object_get(doc, "version")) != 1)
        what = "unsupported manifest version";
    else if (!get_str(doc, "id", out->id, sizeof out->id) || !valid_id(out->id))
        what = "bad id";
    else if (strcmp(out->id, id) != 0)
        what = "id does not match its directory";
    else if (!get_str(doc, "kind", out->kind, sizeof out->kind) ||
             (strcmp(out->kind, "full") != 0 && strcmp(out->kind, "incremental") != 0))
        what = "bad kind";
    else if (!get_str(doc, "parent", out->parent, sizeof out->parent) ||
             (out->parent[0] && !valid_id(out->parent)))
        what = "bad parent";
    else if (!get_str(doc, "source", out->source, sizeof out->source))
        what = "bad source";
    else if (!get_i64(doc, "created_at", &out->created_at) ||
             !get_u64(doc, "checkpoint", &out->checkpoint) ||
             !get_u64(doc, "seq_first", &out->seq_first) || !get_u64(doc, "seq", &out->seq) ||
             !get_i64(doc, "time_first", &out->time_first) ||
             !get_i64(doc, "time_last", &out->time_last) ||
             !get_u64(doc, "new_files", &out->new_files) ||
             !get_u64(doc, "new_bytes", &out->new_bytes))
        what = "missing or bad number";
    else if (!json_is_array(files))
        what = "no files array";
    if (!what && json_array_size(files) > 0) {
        out->nfiles = json_array_size(files);
        out->files = calloc(out->nfiles, sizeof *out->files);
        if (!out->files) {
            json_decref(doc);
            out->nfiles = 0;
            return vt_err_set(err, VT_ENOMEM, "out of memory");
        }
    }
    for (size_t i = 0; !what && i < out->nfiles; i++) {
        json_t *f = json_array_get(files, i);
        backup_file *bf = &out->files[i];
        if (!get_str(f, "path", bf->path, sizeof bf->path) || !valid_rel_path(bf->path) ||
            !get_str(f, "hash", bf->hash, sizeof bf->hash) || !valid_hash(bf->hash) ||
            !get_u64(f, "size", &bf->size)) {
            rc = vt_err_set(err, VT_ECORRUPT, "%s: files[%zu]: bad path, hash or size", path, i);
            json_decref(doc);
            backup_manifest_free(out);
            return rc;
        }
    }
    json_decref(doc);
    if (what) {
        backup_manifest_free(out);
        return vt_err_set(err, VT_ECORRUPT, "%s: %s", path, what);
    }
    return VT_OK;
}

vt_rc backup_manifest_write(const char *repo, const backup_manifest *m, vt_err *err)
{
    if (!valid_id(m->id))
        return vt_err_set(err, VT_EINVAL, "invalid backup id: %s", m->id);
    json_t *files = json_array();
    json_t *doc = json_object();
    vt_rc rc = VT_OK;
    if (!files || !doc) {
        json_decref(files);
        json_decref(doc);
        return vt_err_set(err, VT_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < m->nfiles; i++) {
        const backup_file *f = &m->files[i];
        if (!valid_rel_path(f->path) || !valid_hash(f->hash)) {
            json_decref(files);
            json_decref(doc);
            return vt_err_set(err, VT_EINVAL, "backup %s: bad file entry %s (%s)", m->id,
                              f->path, f->hash);
        }
        json_array_append_new(files, json_pack("{s:s,s:s,s:I}", "path", f->path, "hash", f->hash,
                                               "size", (json_int_t)f->size));
    }
    json_object_set_new(doc, "format", json_string("volta-backup-manifest"));
    json_object_set_new(doc, "version", json_integer(1));
    json_object_set_new(doc, "id", json_string(m->id));
    json_object_set_new(doc, "kind", json_string(m->kind));
    json_object_set_new(doc, "parent", json_string(m->parent));
    json_object_set_new(doc, "created_at", json_integer((json_int_t)m->created_at));
    json_object_set_new(doc, "source", json_string(m->source));
    json_object_set_new(doc, "checkpoint", json_integer((json_int_t)m->checkpoint));
    json_object_set_new(doc, "seq_first", json_integer((json_int_t)m->seq_first));
    json_object_set_new(doc, "seq", json_integer((json_int_t)m->seq));
    json_object_set_new(doc, "time_first", json_integer((json_int_t)m->time_first));
    json_object_set_new(doc, "time_last", json_integer((json_int_t)m->time_last));
    json_object_set_new(doc, "files", files);
    json_object_set_new(doc, "new_files", json_integer((json_int_t)m->new_files));
    json_object_set_new(doc, "new_bytes", json_integer((json_int_t)m->new_bytes));
    char *text = json_dumps(doc, JSON_PRESERVE_ORDER | JSON_INDENT(1));
    json_decref(doc);
    if (!text)
        return vt_err_set(err, VT_ENOMEM, "out of memory (or invalid UTF-8 in the manifest)");
    char dir[PATH_MAX], path[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/backups/%s", repo, m->id);
    rc = durable_mkdirs(dir, err);
    if (rc == VT_OK) {
        snprintf(path, sizeof path, "%s/MANIFEST.json", dir);
        size_t len = strlen(text);
        text[len] = '\0';
        char *withnl = realloc(text, len + 2);
        if (withnl) {
            text = withnl;
            text[len] = '\n';
            text[len + 1] = '\0';
            len++;
        }
        rc = durable_publish(path, text, len, err);
    }
    free(text);
    return rc;
}

/* YYYYMMDD_HHMMSS[_k]: by the time stem, then by k (none = 1), so _10 follows _9 */
static int cmp_id(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    size_t sx = strcspn(x, "_"), sy = strcspn(y, "_");
    if (x[sx])
        sx += 1 + strcspn(x + sx + 1, "_");
    if (y[sy])
        sy += 1 + strcspn(y + sy + 1, "_");
    int c = strncmp(x, y, sx < sy ? sx : sy);
    if (c != 0 || sx != sy)
        return c != 0 ? c : (sx < sy ? -1 : 1);
    long kx = x[sx] == '_' ? strtol(x + sx + 1, NULL, 10) : 1;
    long ky = y[sy] == '_' ? strtol(y + sy + 1, NULL, 10) : 1;
    if (kx != ky)
        return kx < ky ? -1 : 1;
    return strcmp(x, y);
}

vt_rc backup_repo_list(const char *repo, char ***ids, size_t *n, vt_err *err)
{
    *ids = NULL;
    *n = 0;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/backups", repo);
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return VT_OK;
        return vt_err_set(err, VT_EIO, "open %s: %s", dir, strerror(errno));
    }
    char **list = NULL;
    size_t cnt = 0, cap = 0;
    vt_rc rc = VT_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!valid_id(e->d_name))
            continue;
        char mp[PATH_MAX + 300];
        snprintf(mp, sizeof mp, "%s/%s/MANIFEST.json", dir, e->d_name);
        struct stat st;
        if (stat(mp, &st) != 0 || !S_ISREG(st.st_mode))
            continue; /* an interrupted backup: no manifest, not a backup */
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **grown = realloc(list, ncap * sizeof *grown);
            if (!grown) {
                rc = vt_err_set(err, VT_ENOMEM, "out of memory");
                break;
            }
            list = grown;
            cap = ncap;
        }
        list[cnt] = strdup(e->d_name);
        if (!list[cnt]) {
            rc = vt_err_set(err, VT_ENOMEM, "out of memory");
            break;
        }
        cnt++;
    }
    closedir(d);
    if (rc != VT_OK) {
        for (size_t i = 0; i < cnt; i++)
            free(list[i]);
        free(list);
        return rc;
    }
    if (cnt > 1)
        qsort(list, cnt, sizeof *list, cmp_id);
    *ids = list;
    *n = cnt;
    return VT_OK;
}

/* ---- the repository lock ---- */

int backup_repo_lock(const char *repo, bool exclusive, vt_err *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/REPO", repo);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        vt_err_set(err, errno == ENOENT ? VT_ENOTFOUND : VT_EIO, "open %s: %s", path,
                   strerror(errno));
        return -1;
    }
    while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) != 0) {
        if (errno == EINTR)
            continue;
        vt_err_set(err, VT_EIO, "flock %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

void backup_repo_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}
