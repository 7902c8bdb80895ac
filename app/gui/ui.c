/* ui.c: the app's look and its immediate-mode widgets: the theme, hit tests,
 * buttons, text fitting and wrapping, panels, and the regions the last frame drew
 * (for the mouse, `hover` and `print_layout`). */
#include <math.h>
#include <string.h>

#include "util.h"
#include "gui/ui.h"


const Rgba TH_BG = {243, 244, 247, 255};
const Rgba TH_PANEL = {255, 255, 255, 255};
const Rgba TH_INK = {28, 30, 36, 255};
const Rgba TH_MUTED = {100, 106, 118, 255};
const Rgba TH_BORDER = {206, 211, 219, 255};
const Rgba TH_ACCENT = {29, 95, 214, 255};
const Rgba TH_ACCENT_SOFT = {222, 233, 252, 255};
const Rgba TH_ERROR = {196, 30, 40, 255};
const Rgba TH_OFF = {214, 40, 40, 255};
const Rgba TH_HOVER = {236, 239, 245, 255};

/* ---- mouse ---- */

static int inside(Rect r, float x, float y) {
    return x >= r.x && y >= r.y && x < r.x + r.w && y < r.y + r.h;
}

int ui_hover(App *a, Rect r) {
    return a->ui.layer == a->ui.input_layer && !a->ui.dragging && inside(r, a->ui.mx, a->ui.my);
}

/* A press inside r this frame; the press is then used up, so that what is drawn
 * later (a menu opened by this very click) does not see it too. */
int ui_clicked(App *a, Rect r) {
    if (a->ui.layer != a->ui.input_layer || !a->ui.pressed ||
        !inside(r, a->ui.press_x, a->ui.press_y))
        return 0;
    a->ui.pressed = 0;
    a->redraw = 1;
    return 1;
}

/* ---- widgets ---- */

int ui_button(App *a, Rect r, const char *label, int on) {
    int hot = ui_hover(a, r);
    Rgba bg = on ? TH_ACCENT : hot ? TH_HOVER : TH_PANEL;
    render_rect(a->r, r, bg);
    render_frame(a->r, r, 1.0f, on ? TH_ACCENT : TH_BORDER);
    ui_text_center(a, label, r, FONT_UI, on ? TH_PANEL : TH_INK);
    return ui_clicked(a, r);
}

float ui_text_fit(App *a, const char *s, float x, float y, float size, float w, Rgba c) {
    if (render_text_width(a->r, s, -1, size) <= w) return render_text(a->r, s, x, y, size, c);
    float ell = render_text_width(a->r, "\xE2\x80\xA6", -1, size);
    int lo = 0, hi = (int)strlen(s); /* the longest prefix that fits, by bisection */
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (render_text_width(a->r, s, mid, size) + ell <= w) lo = mid;
        else hi = mid - 1;
    }
    while (lo > 0 && ((unsigned char)s[lo] & 0xC0) == 0x80) lo--; /* a character boundary */
    char buf[1024];
    snprintf(buf, sizeof buf, "%.*s\xE2\x80\xA6", lo < 1000 ? lo : 1000, s);
    return render_text(a->r, buf, x, y, size, c);
}

void ui_text_center(App *a, const char *s, Rect r, float size, Rgba c) {
    float w = render_text_width(a->r, s, -1, size), h = render_line_height(a->r, size);
    if (w > r.w - 8) {
        ui_text_fit(a, s, r.x + 4, r.y + (r.h - h) / 2, size, r.w - 8, c);
        return;
    }
    render_text(a->r, s, r.x + (r.w - w) / 2, r.y + (r.h - h) / 2, size, c);
}

void ui_panel(App *a, Rect r) {
    render_rect(a->r, r, TH_PANEL);
    render_frame(a->r, r, 1.0f, TH_BORDER);
}

/* ---- regions ---- */

void ui_add_region(App *a, const char *name, Rect r, int row0, int col0, int rows, int cols,
                   int layer, int head) {
    if (a->n_regions >= GUI_MAX_REGIONS) return;
    MapRegion *g = &a->regions[a->n_regions++];
    snprintf(g->name, sizeof g->name, "%s", name);
    g->r = r;
    g->row0 = row0;
    g->col0 = col0;
    g->rows = rows;
    g->cols = cols;
    g->layer = layer;
    g->head = head;
}

const MapRegion *ui_region(const App *a, const char *name) {
    for (int i = 0; i < a->n_regions; i++)
        if (!name || strcmp(a->regions[i].name, name) == 0) return &a->regions[i];
    return NULL;
}

const char *ui_token(const App *a, int i) {
    return a->has_tokens && i >= 0 && i < a->tok.n ? a->tok.text[i] : "?";
}


float ui_text_wrap(App *a, const char *s, float x, float y, float w, float size, Rgba c) {
    float lh = render_line_height(a->r, size) * 1.15f, y0 = y;
    while (*s) {
        int n = 0, fit = 0;
        while (s[n] && s[n] != '\n') {
            int e = n;
            while (s[e] == ' ') e++;
            while (s[e] && s[e] != ' ' && s[e] != '\n') e++;
            if (fit > 0 && render_text_width(a->r, s, e, size) > w) break;
            fit = n = e;
        }
        if (fit == 0) fit = n; /* a word longer than the line: let it run over */
        if (c.a) {
            char line[1024];
            int k = fit < 1023 ? fit : 1023;
            memcpy(line, s, (size_t)k);
            line[k] = '\0';
            render_text(a->r, line, x, y, size, c);
        }
        y += lh;
        s += fit;
        if (*s == '\n') s++;
        while (*s == ' ') s++;
    }
    return y - y0;
}
