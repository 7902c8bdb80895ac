/* table.c: the view table. A view is one row: the name scripts and lessons use,
 * the title on its tab, and its draw function (each in its own file of this folder).
 * Adding a view: write views/NAME.c with view_NAME, declare it in views.h, add a row
 * here and an id to ViewId. */
#include <string.h>

#include "gui/views/views.h"

static const ViewDef VIEWS[VIEW_COUNT] = {
    {"model", "Model", view_model},
    {"head", "Head", view_head},
    {"lines", "Lines", view_lines},
    {"ablation", "Ablation", view_ablation},
    {"aggregate", "Aggregates", view_aggregate},
    {"position", "Position", view_position},
    {"compare", "Compare", view_compare},
    {"permute", "Permutation", view_permute},
    {"lengths", "Lengths", view_lengths},
    {"flash", "Flash", view_flash},
    {"train", "Train", view_train},
};

const ViewDef *view_table(int *n) {
    if (n) *n = VIEW_COUNT;
    return VIEWS;
}

int view_from_name(const char *name) {
    for (int i = 0; i < VIEW_COUNT; i++)
        if (strcmp(VIEWS[i].name, name) == 0) return i;
    return -1;
}
