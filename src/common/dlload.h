/*
 * common/dlload.h — load a shared library on first use and resolve the functions a caller needs
 * (common/curl_lazy.c, server/mhd_lazy.c: libraries whose dependency chains would otherwise
 * cost every cold start of every command).
 */
#ifndef COMMON_DLLOAD_H
#define COMMON_DLLOAD_H

#include <stdbool.h>
#include <stddef.h>

/* One function to resolve: its name, and where to store it (the address of a function-pointer
 * variable; function and object pointers have the same size and representation on POSIX). */
typedef struct vt_dl_sym {
    const char *name;
    void *dst;
} vt_dl_sym;

/* dlopen()s soname (RTLD_NOW | RTLD_LOCAL; the handle stays open for the life of the process)
 * and stores every symbol. False when the library cannot be loaded or lacks a symbol: why
 * says which, naming `package` as what to install. Not thread-safe by itself: call it from a
 * pthread_once. */
bool vt_dl_load(const char *soname, const char *package, const vt_dl_sym *syms, size_t n,
                char *why, size_t why_cap);

#endif
