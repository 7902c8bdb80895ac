/* catalog.c: the menus' contents: the shipped models (in the order of the position
 * encodings' story) and the example texts of assets/texts/examples.txt. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#include "assets.h"
#include "gui/app.h"


/* ---- menus' contents ---- */

static const char *ORDER[] = {"none", "sinusoidal", "learned", "rope", "alibi"};

static int model_rank(const char *name) {
    for (int i = 0; i < 5; i++)
        if (strcmp(name, ORDER[i]) == 0) return i;
    return 5;
}

void app_list_models(App *a) {
    char root[4096], cfg[4700];
    a->n_models = 0;
    if (!assets_find("assets/models", root, sizeof root)) return;
    DIR *d = opendir(root);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) && a->n_models < GUI_MAX_MODELS) {
        if (e->d_name[0] == '.') continue;
        snprintf(cfg, sizeof cfg, "%s/%s/config.json", root, e->d_name);
        struct stat sb;
        if (stat(cfg, &sb) != 0) continue;
        snprintf(a->models[a->n_models].name, sizeof a->models[0].name, "%s", e->d_name);
        snprintf(a->models[a->n_models].dir, sizeof a->models[0].dir, "%s/%s", root, e->d_name);
        a->n_models++;
    }
    closedir(d);
    for (int i = 1; i < a->n_models; i++) /* insertion sort: shipped order, then by name */
        for (int j = i; j > 0; j--) {
            int r0 = model_rank(a->models[j - 1].name), r1 = model_rank(a->models[j].name);
            if (r0 < r1 || (r0 == r1 && strcmp(a->models[j - 1].name, a->models[j].name) <= 0)) break;
            ModelEntry tmp = a->models[j];
            a->models[j] = a->models[j - 1];
            a->models[j - 1] = tmp;
        }
}

void app_load_examples(App *a) {
    char path[4096];
    a->n_examples = 0;
    assets_find("assets/texts/examples.txt", path, sizeof path);
    size_t len;
    char *src = avz_read_file(path, &len, NULL);
    if (!src) return;
    for (char *line = strtok(src, "\n"); line && a->n_examples < GUI_MAX_EXAMPLES;
         line = strtok(NULL, "\n")) {
        char *bar = strchr(line, '|');
        if (line[0] == '#' || !bar) continue;
        char *end = bar;
        while (end > line && end[-1] == ' ') end--;
        const char *text = bar + 1;
        while (*text == ' ') text++;
        snprintf(a->examples[a->n_examples][0], 512, "%.*s", (int)(end - line), line);
        snprintf(a->examples[a->n_examples][1], 512, "%s", text);
        a->n_examples++;
    }
    free(src);
}
