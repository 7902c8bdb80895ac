/* test_gui_abuse.c: the desktop app under abuse, under Xvfb, driven by a script
 * (attnviz gui --script) through the same paths as a user's input: a 1 MB paste
 * of words and garbage bytes, a paste of invalid UTF-8 that fits, the window
 * resized to 1 x 1 and to 8K, twenty model switches in a row, a sweep cancelled
 * while it runs, twenty exports in a row. The app must keep running, say what
 * went wrong in the status bar, keep the previous maps, never overwrite a file
 * and quit with 0. With AVZ_ASAN=1 ($AVZ_BIN built with AddressSanitizer and
 * LeakSanitizer, as make test's sanitizer run does) stderr must hold no
 * sanitizer report: no leak, no bad access. Without xvfb-run or OpenGL 3.3 the
 * tests say SKIPPED with the reason. */
#define _DEFAULT_SOURCE
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stb/stb_image.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gui_helpers.h"
#include "helpers.h"

#define SCREEN_HD "xvfb-run -a -s \"-screen 0 1280x800x24\""
#define SCREEN_8K "xvfb-run -a -s \"-screen 0 7680x4320x24\""
#define BIG_PASTE (1 << 20)

static char err_buf[65536];
static char out_buf[1 << 20];

/* Runs the app in dir with args under wrap; stdout to out_buf, stderr to err_buf.
 * Returns the exit code. ATTNVIZ_HOME points at the repository so that a binary
 * built elsewhere (build/asan/) finds its shaders, fonts and shipped models. */
static int run_rope(const char *dir, const char *wrap, const char *args) {
    const char *bin = getenv("AVZ_BIN");
    cr_assert(bin, "AVZ_BIN is not set (run the tests through make test)");
    char cmd[16384], path[300], home[4096];
    cr_assert(getcwd(home, sizeof home));
    snprintf(cmd, sizeof cmd, "cd %s && ATTNVIZ_HOME=%s ATTNVIZ_EXPORT_DIR=%s timeout 240 %s %s gui "
             "--model %s/assets/models/rope --device cpu %s >%s/out.txt 2>%s/err.txt", dir, home,
             dir, wrap, bin, home, args, dir, dir);
    int st = system(cmd);
    snprintf(path, sizeof path, "%s/err.txt", dir);
    slurp(path, err_buf, sizeof err_buf);
    snprintf(path, sizeof path, "%s/out.txt", dir);
    slurp(path, out_buf, sizeof out_buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Skips when the app could not open its window for want of a display or of
 * OpenGL 3.3; otherwise the run must have exited 0 with no sanitizer report. */
static void check_run(int rc, const char *what) {
    if (rc == 1 && strstr(err_buf, "cannot open the app's window") &&
        (strstr(err_buf, "no display") || strstr(err_buf, "no OpenGL 3.3")))
        cr_skip_test("the app cannot open an OpenGL 3.3 window under Xvfb: %s", err_buf);
    cr_assert_eq(rc, 0, "%s: the app exited %d:\n%s", what, rc, err_buf);
    const char *asan = getenv("AVZ_ASAN");
    if (asan && strcmp(asan, "1") == 0) {
        cr_assert(!strstr(err_buf, "ERROR: LeakSanitizer"), "%s leaks:\n%s", what, err_buf);
        cr_assert(!strstr(err_buf, "ERROR: AddressSanitizer"), "%s:\n%s", what, err_buf);
        cr_assert(!strstr(err_buf, "runtime error:"), "%s:\n%s", what, err_buf);
    }
}

static void write_bytes(const char *dir, const char *name, const char *text, size_t n) {
    char path[300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert(f, "cannot write %s", path);
    cr_assert_eq(fwrite(text, 1, n, f), n);
    fclose(f);
}

static int file_size(const char *dir, const char *name) {
    char path[300];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &sb) == 0 ? (int)sb.st_size : -1;
}

/* n bytes of the rope model's words mixed with garbage: control characters,
 * stray UTF-8 continuation bytes, truncated sequences, 0xff; never NUL. */
static char *garbage_text(size_t n, unsigned seed) {
    char path[4200], home[4096], err[AVZ_ERR_LEN];
    cr_assert(getcwd(home, sizeof home));
    snprintf(path, sizeof path, "%s/assets/models/rope/vocab.json", home);
    size_t len;
    char *src = avz_read_file(path, &len, err);
    cr_assert(src, "%s", err);
    cJSON *vocab = cJSON_Parse(src);
    free(src);
    cr_assert(vocab && cJSON_GetArraySize(vocab) > 10, "vocab.json does not parse");
    int nv = cJSON_GetArraySize(vocab);
    char *s = malloc(n + 1);
    size_t k = 0;
    srand(seed);
    while (k < n) {
        if (rand() % 5 == 0) { /* one garbage byte, 1..255 */
            s[k++] = (char)(1 + rand() % 255);
            continue;
        }
        const char *w = cJSON_GetArrayItem(vocab, rand() % nv)->string;
        for (const char *p = w; *p && k < n; p++) s[k++] = *p;
        if (k < n) s[k++] = ' ';
    }
    s[n] = '\0';
    cJSON_Delete(vocab);
    return s;
}

/* print_layout line k (0-based) of out_buf as JSON (caller deletes). */
static cJSON *layout(int k) {
    const char *p = out_buf;
    for (int i = 0; i < k; i++) {
        p = strchr(p, '\n');
        cr_assert(p, "print_layout line %d missing in:\n%s", k, out_buf);
        p++;
    }
    cJSON *j = cJSON_Parse(p);
    cr_assert(j, "layout line %d is not JSON: %.200s", k, p);
    return j;
}

static int layout_int(int k, const char *key) {
    cJSON *j = layout(k);
    int v = cJSON_GetObjectItem(j, key)->valueint;
    cJSON_Delete(j);
    return v;
}

/* Decodes dir/name; fails unless it is w x h (0: any) and not blank (many pixels
 * differ from the background at the left edge). */
static void assert_png(const char *dir, const char *name, int w, int h) {
    char path[300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int iw, ih, n;
    unsigned char *px = stbi_load(path, &iw, &ih, &n, 3);
    cr_assert(px, "%s does not decode as PNG", path);
    cr_assert(w == 0 || (iw == w && ih == h), "%s is %dx%d, want %dx%d", name, iw, ih, w, h);
    if (w > 1) {
        const unsigned char *bg = px + 3 * ((size_t)(ih / 2) * iw + 2);
        size_t diff = 0, total = 0, step = iw > 2000 ? 7 : 3;
        for (int y = 0; y < ih; y += (int)step)
            for (int x = 0; x < iw; x += (int)step, total++) {
                const unsigned char *p = px + 3 * ((size_t)y * iw + x);
                diff += abs(p[0] - bg[0]) + abs(p[1] - bg[1]) + abs(p[2] - bg[2]) > 30;
            }
        cr_assert(diff > total / 50, "%s looks blank: %zu of %zu pixels differ", name, diff, total);
    }
    stbi_image_free(px);
}

static const char *TEXT = "marie curie met alan turing . she gave the book to the dog .";

Test(gui_abuse, paste_switch_cancel_export, .timeout = 300) {
    skip_without_xvfb();
    char dir[64], script[8192];
    helper_tmpdir(dir, sizeof dir);
    char *big = garbage_text(BIG_PASTE, 7), *small = garbage_text(600, 11);
    write_bytes(dir, "big.txt", big, BIG_PASTE);
    write_bytes(dir, "small.txt", small, 600);
    free(big);
    free(small);
    /* a file already there under an export name must survive the exports */
    write_bytes(dir, "attnviz-head-002.png", "not a png, keep me", 18);
    int k = snprintf(script, sizeof script,
        "text \"%s\"\nview head\nwait 1\nprint_layout\n"
        /* 1 MB paste: refused with its length, the maps stay */
        "key enter\npaste big.txt\nwait 1\nassert_status \"too long (1048576 bytes\"\n"
        "assert_status \"the maps still show the previous text\"\nprint_layout\n"
        "screenshot after_paste.png\n"
        /* a paste of words and invalid UTF-8 that fits: drawn, tokenized, no crash */
        "paste small.txt\nwait 2\nscreenshot garbage.png\nkey escape\n"
        "text \"%s\"\nwait 1\n",
        TEXT, TEXT);
    const char *models[] = {"none", "rope", "alibi", "learned", "sinusoidal"};
    for (int i = 0; i < 20; i++)
        k += snprintf(script + k, sizeof script - k, "model %s\n", models[i % 5]);
    k += snprintf(script + k, sizeof script - k,
        "assert_status \"tokens\"\nprint_layout\n"
        /* a sweep cancelled while it runs, then one that finishes */
        "view ablation\nsweep_start\nkey escape\nassert_status \"sweep cancelled\"\nwait 3\n"
        "assert_status \"sweep cancelled\"\nsweep\nassert_status \"sweep done\"\nview head\n");
    for (int i = 0; i < 20; i++) k += snprintf(script + k, sizeof script - k, "key ctrl+s\n");
    snprintf(script + k, sizeof script - k,
        "wait 1\nassert_status \"attnviz-view-021.png\"\nscreenshot final.png\nquit\n");
    write_bytes(dir, "abuse.avz", script, strlen(script));

    check_run(run_rope(dir, SCREEN_HD, "--script abuse.avz"), "paste/switch/cancel/export");
    int T0 = layout_int(0, "T");
    cr_assert_eq(layout_int(1, "T"), T0, "the 1 MB paste changed the maps");
    cr_assert_eq(layout_int(2, "T"), T0, "the last model does not show the text");
    assert_png(dir, "after_paste.png", 1280, 800);
    assert_png(dir, "garbage.png", 1280, 800);
    assert_png(dir, "final.png", 1280, 800);
    /* 20 exports: numbers 1 and 3..21 (2 was taken), the old file untouched */
    cr_assert_eq(file_size(dir, "attnviz-head-002.png"), 18, "an export overwrote a file");
    cr_assert_eq(file_size(dir, "attnviz-view-002.png"), -1);
    for (int n = 1; n <= 21; n++) {
        if (n == 2) continue;
        char v[64], h[64];
        snprintf(v, sizeof v, "attnviz-view-%03d.png", n);
        snprintf(h, sizeof h, "attnviz-head-%03d.png", n);
        cr_assert(file_size(dir, v) > 0 && file_size(dir, h) > 0, "export %d missing", n);
    }
    cr_assert_eq(file_size(dir, "attnviz-view-022.png"), -1, "more exports than key presses");
    assert_png(dir, "attnviz-view-021.png", 1280, 800);
    assert_png(dir, "attnviz-head-021.png", 0, 0);
}

Test(gui_abuse, resize_to_1x1_and_8k, .timeout = 300) {
    skip_without_xvfb();
    char dir[64];
    helper_tmpdir(dir, sizeof dir);
    const char *script =
        "text \"marie curie met alan turing .\"\nview head\nwait 1\n"
        "resize 1 1\nwait 2\nprint_layout\nscreenshot tiny.png\n"
        "view model\nwait 1\nview lines\nwait 1\nview ablation\nwait 1\nview aggregate\nwait 1\n"
        "key question\nwait 1\nkey escape\nview head\nwheel 3\nwait 1\n"
        "resize 7680 4320\nwait 2\nprint_layout\nscreenshot huge.png\n"
        "view position\nwait 1\nview compare\nwait 1\nview permute\nwait 1\nview flash\nkey ]\n"
        "wait 1\nview lengths\nwait 1\nresize 400 300\nwait 1\nview flash\nwait 1\n"
        "view position\nwait 1\nview compare\nwait 1\n"
        "view model\nwait 1\nresize 1280 800\nwait 1\nprint_layout\nscreenshot back.png\nquit\n";
    write_bytes(dir, "resize.avz", script, strlen(script));
    check_run(run_rope(dir, SCREEN_8K, "--script resize.avz"), "resize");
    cr_assert(layout_int(0, "width") <= 8 && layout_int(0, "height") <= 8,
              "1 x 1 gave %dx%d", layout_int(0, "width"), layout_int(0, "height"));
    cr_assert(layout_int(1, "width") == 7680 && layout_int(1, "height") == 4320,
              "8K gave %dx%d", layout_int(1, "width"), layout_int(1, "height"));
    assert_png(dir, "tiny.png", 0, 0);
    assert_png(dir, "huge.png", 7680, 4320);
    assert_png(dir, "back.png", 1280, 800);
}

/* The teaching views pushed around (the Lengths view is in test_gui_teach.c): texts
 * past the context,
 * models switched under every view, the flash slider run off both ends, a lesson
 * stepped past its ends and left, a shuffle of a one-word text. */
Test(gui_abuse, teaching_views_under_stress, .timeout = 300) {
    skip_without_xvfb();
    char dir[64], script[8192];
    helper_tmpdir(dir, sizeof dir);
    int k = snprintf(script, sizeof script,
        "text \"%s\"\nview flash\nflash_step -50\nflash_step 100000\nkey [\nkey ]\nkey ]\n"
        "extend 300\nwait 1\nextend 300\nwait 1\nview flash\nwait 1\n"
        "view permute\nwait 1\nmodel learned\nwait 1\nassert_status \"tokens\"\n"
        "extend 1000\nassert_status \"at most\"\ntext \"she\"\nview permute\n"
        "shuffle 9\nwait 1\nkey u\nwait 1\n", TEXT);
    const char *views[] = {"position", "compare", "permute", "flash", "position"};
    for (int i = 0; i < 5; i++)
        k += snprintf(script + k, sizeof script - k, "view %s\nnext_model\n", views[i]);
    snprintf(script + k, sizeof script - k,
        "lesson intro\nkey pageup\nkey pagedown\nkey pagedown\nkey pagedown\nkey pagedown\n"
        "key pagedown\nkey pagedown\nkey pagedown\nkey pagedown\nkey pagedown\nkey pagedown\n"
        "key pagedown\nkey pagedown\nkey pagedown\nwait 1\nassert_status \"end of the lesson\"\n"
        "key escape\nkey escape\nwait 1\nprint_layout\nscreenshot after.png\nquit\n");
    write_bytes(dir, "teach.avz", script, strlen(script));
    check_run(run_rope(dir, SCREEN_HD, "--script teach.avz"), "teaching views");
    assert_png(dir, "after.png", 1280, 800);
}
