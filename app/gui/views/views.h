/* views.h: the views of the app, one file each in this folder, and the view table
 * (table.c). A view is one row: the name scripts and lessons use, the title on its
 * tab, and a draw function that draws from the App's state and reacts to the mouse.
 * Each view owns its data and caches (the teaching views' data functions below live
 * in their view's file). Adding a view: views/NAME.c, a row in table.c, an id in
 * ViewId (app.h). */
#ifndef AVZ_GUI_VIEWS_H
#define AVZ_GUI_VIEWS_H

#include "gui/app.h"
#include "gui/ui.h"

typedef struct {
    const char *name;           /* as in scripts: "head" */
    const char *title;          /* as on the tab: "Head" */
    void (*draw)(App *a, Rect area);
} ViewDef;
const ViewDef *view_table(int *n);
int view_from_name(const char *name);
void views_frame(App *a);       /* the whole window */
void view_model(App *a, Rect area);
void view_head(App *a, Rect area);
void view_lines(App *a, Rect area);
void view_ablation(App *a, Rect area);
void view_aggregate(App *a, Rect area);
void view_position(App *a, Rect area);
void view_compare(App *a, Rect area);
void view_permute(App *a, Rect area);
void view_lengths(App *a, Rect area);
void view_flash(App *a, Rect area);
void view_train(App *a, Rect area);
/* The lesson's or script's caption under the view; returns the height it takes. */
float views_caption(App *a, float y, float W, int draw);

/* ---- views/cache.c: what the teaching views share ---- */
/* A cache key from a few numbers (0 is never a valid key). */
unsigned long view_cache_key(unsigned long a, unsigned long b, unsigned long c);
/* Frees old and returns a new buffer of n floats (at least 1). */
float *view_buffer(float *old, size_t n);

/* ---- the teaching views' data (views/position.c, compare.c, permutation.c,
 * flash.c, lengths.c), lessons (lessons.c), text actions (text_actions.c) ---- */
/* The views' data, computed (or taken from the cache) for the current state;
 * NULL / 0 when the view cannot show it (the reason in teach.pos_note etc.). */
void app_position_data(App *a);
/* Frees the Position view's cached data (app_teach_free calls it). */
void view_position_free(Teach *t);
void app_compare_data(App *a);
int app_permutation(App *a);
int app_flash(App *a);
void app_flash_goto(App *a, int step);
void app_start_lengths(App *a);
void app_lengths_poll(App *a);
/* Repeats the text until it has at least n tokens. */
void app_extend_text(App *a, int n);
/* The next shipped model (after the current one), keeping the text. */
void app_next_model(App *a);
AvzCode app_lesson_open(App *a, const char *name_or_path, char *err);
void app_lesson_goto(App *a, int step);
void app_lesson_close(App *a);
void app_list_lessons(App *a);
void app_teach_free(App *a);

#endif
