/* test_layout.c: the tree keeps its house rules (tests/layout/check_layout.sh): the real
 * tree passes, and the checker catches each kind of violation planted in a scratch
 * tree, so that it cannot pass by checking nothing. */
#define _DEFAULT_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "helpers.h"

/* Runs the checker on root; returns its exit status and its output in out. */
static int check(const char *root, char *out, size_t n) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "tests/layout/check_layout.sh '%s' 2>&1", root);
    FILE *p = popen(cmd, "r");
    cr_assert(p, "cannot run %s", cmd);
    size_t k = fread(out, 1, n - 1, p);
    out[k] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void put(const char *root, const char *rel, const char *text) {
    char path[600], cmd[700];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", path);
    cr_assert_eq(system(cmd), 0);
    FILE *f = fopen(path, "w");
    cr_assert(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

Test(layout, the_tree_keeps_its_house_rules) {
    char out[8192];
    int rc = check(".", out, sizeof out);
    cr_assert_eq(rc, 0, "check-layout failed:\n%s", out);
}

Test(layout, each_kind_of_violation_is_caught) {
    char root[] = "/tmp/avz-layout-XXXXXX", out[8192];
    cr_assert(mkdtemp(root));
    put(root, "model/a.h", "int a;\n");
    put(root, "model/a.c", "#include \"a.h\"\n");
    put(root, "app/gui/x.c", "#include <SDL.h>\nvoid f(void) { int k = 1; (void)k; }\n");
    put(root, "gpu/k.cu", "#include \"a.h\"\n");
    cr_assert_eq(check(root, out, sizeof out), 0, "a clean scratch tree fails:\n%s", out);

    put(root, "model/bad.c", "#include \"../app/gui/x.h\"\n#include \"gui/app.h\"\n");
    put(root, "app/gui/draw.c", "void g(void) { glClear(0); SDL_GL_SwapWindow(0); }\n");
    put(root, "app/gui/views/views2.c", "int v;\n");
    int rc = check(root, out, sizeof out);
    cr_expect_eq(rc, 1);
    cr_expect(strstr(out, "model/bad.c:1 includes \"../app/gui/x.h\""), "%s", out);
    cr_expect(strstr(out, "model/bad.c:2 includes \"gui/app.h\""), "%s", out);
    cr_expect(strstr(out, "app/gui/draw.c:1 calls SDL video or GL"), "%s", out);
    cr_expect(strstr(out, "views2.c: a file name ends in a digit"), "%s", out);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    cr_assert_eq(system(cmd), 0);
}
