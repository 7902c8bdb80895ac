/* assets.c: locating assets relative to the executable (see assets.h). */
#define _DEFAULT_SOURCE
#include "assets.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char exe_dir[4096];

void assets_init(const char *argv0) {
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n > 0) {
        buf[n] = '\0';
    } else if (!argv0 || !realpath(argv0, buf)) {
        snprintf(buf, sizeof buf, ".");
    }
    char *slash = strrchr(buf, '/');
    if (slash) *slash = '\0';
    snprintf(exe_dir, sizeof exe_dir, "%s", buf);
}

static int exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0;
}

int assets_find(const char *rel, char *out, size_t len) {
    const char *home = getenv("ATTNVIZ_HOME");
    const char *fmts[] = {"%s/%s", "%s/../%s", "%s/../share/attnviz/%s", "%s/%s"};
    const char *bases[] = {home, exe_dir[0] ? exe_dir : NULL, exe_dir[0] ? exe_dir : NULL, "."};
    for (int i = 0; i < 4; i++) {
        if (!bases[i]) continue;
        snprintf(out, len, fmts[i], bases[i], rel);
        if (exists(out)) return 1;
    }
    if (exists(rel)) { snprintf(out, len, "%s", rel); return 1; }
    snprintf(out, len, "%s", rel);
    return 0;
}
