/*
 * common/dlload.c — see dlload.h.
 */
#include "common/dlload.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

bool vt_dl_load(const char *soname, const char *package, const vt_dl_sym *syms, size_t n,
                char *why, size_t why_cap)
{
    void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(why, why_cap, "%s could not be loaded (%s); install %s", soname, e ? e : soname,
                 package);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        void *sym = dlsym(h, syms[i].name);
        if (!sym) {
            snprintf(why, why_cap, "%s has no %s", soname, syms[i].name);
            return false;
        }
        memcpy(syms[i].dst, &sym, sizeof sym);
    }
    return true;
}
