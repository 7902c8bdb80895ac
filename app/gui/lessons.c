/* lessons.c: lessons in the app: the lessons menu, opening one, stepping through its
 * steps (each step's commands run through the script executor, gui/script_run.c) and
 * leaving it. The lesson file format is gui/lesson.h. */
#include <dirent.h>
#include <string.h>

#include "assets.h"
#include "gui/views/views.h"


/* ---- lessons ---- */

void app_list_lessons(App *a) {
    Teach *t = &a->teach;
    char dir[4096];
    t->n_lesson_files = 0;
    if (!assets_find("assets/lessons", dir, sizeof dir)) return;
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) && t->n_lesson_files < GUI_MAX_LESSONS) {
        size_t n = strlen(e->d_name);
        if (n < 5 || n > 200 || strcmp(e->d_name + n - 4, ".txt") != 0) continue;
        snprintf(t->lesson_files[t->n_lesson_files++], sizeof t->lesson_files[0], "%.*s",
                 (int)(n - 4), e->d_name);
    }
    closedir(d);
    qsort(t->lesson_files, (size_t)t->n_lesson_files, sizeof t->lesson_files[0],
          (int (*)(const void *, const void *))strcmp);
}

AvzCode app_lesson_open(App *a, const char *name_or_path, char *err) {
    char path[4096];
    Lesson l;
    lesson_resolve(name_or_path, path, sizeof path);
    if (lesson_load(path, &l, err)) return AVZ_ERR_INPUT;
    app_lesson_close(a);
    a->teach.lesson = l;
    a->teach.lesson_on = 1;
    app_lesson_goto(a, 0);
    return AVZ_OK;
}

/* Runs step k's commands. A command that fails (a model folder that moved, say)
 * is reported in the status bar with its line; the lesson goes on. */
void app_lesson_goto(App *a, int k) {
    Teach *t = &a->teach;
    Lesson *l = &t->lesson;
    if (!t->lesson_on) return;
    if (k < 0) k = 0;
    if (k >= l->n_steps) k = l->n_steps - 1;
    t->lesson_step = k;
    int failed = 0;
    app_clear_ablation(a);
    a->pin_row = -1;
    for (int i = l->start[k] + 1; i < l->start[k + 1]; i++) {
        const ScriptCmd *c = &l->script.cmds[i];
        char err[AVZ_ERR_LEN] = "";
        if (c->op == SCRIPT_CAPTION) continue;
        if (c->op == SCRIPT_PIN) { /* no click: the last frame drew another view */
            a->pin_row = c->iv[0] < app_T(a) ? c->iv[0] : -1;
            continue;
        }
        if (script_run_cmd(a, c, err)) {
            app_error(a, "%s:%d: %s", l->name, c->line, err);
            failed = 1;
        }
    }
    snprintf(t->caption, sizeof t->caption, "%s", lesson_caption(l, k));
    if (!failed && !a->status_error)
        app_status(a, "lesson step %d of %d: %s", k + 1, l->n_steps, lesson_title(l, k));
    a->redraw = 1;
}

void app_lesson_close(App *a) {
    Teach *t = &a->teach;
    if (!t->lesson_on) return;
    lesson_free(&t->lesson);
    t->lesson_on = 0;
    t->caption[0] = '\0';
}
