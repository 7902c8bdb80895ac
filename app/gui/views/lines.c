/* lines.c: the Lines view (BertViz's head view): the tokens in two columns, a line
 * from each query (left) to each key (right) with opacity = attention weight, one
 * colour per head; hovering a token isolates its lines. */
#include <math.h>
#include <string.h>

#include "util.h"
#include "gui/views/views.h"


/* ---- Lines view ---- */

static Rgba head_colour(int h, unsigned char alpha) {
    unsigned char rgb[3];
    chart_series_color(h, rgb);
    return (Rgba){rgb[0], rgb[1], rgb[2], alpha};
}

/* Head toggles for the layer shown; returns the row's bottom. */
static float line_chips(App *a, Rect area) {
    char t[64];
    snprintf(t, sizeof t, "Layer %d, heads:", a->layer);
    float x = area.x + render_text(a->r, t, area.x, area.y + 7, FONT_UI, TH_INK) + 14;
    for (int h = 0; h < app_NH(a) && h < GUI_MAX_LINE_HEADS; h++) {
        snprintf(t, sizeof t, "H%d", h);
        Rect b = {x, area.y, 64, 32};
        int on = (a->lines_heads >> h) & 1;
        if (ui_button(a, b, "", 0)) a->lines_heads ^= 1u << h;
        render_rect(a->r, (Rect){b.x + 10, b.y + 10, 12, 12}, on ? head_colour(h, 255) : TH_BORDER);
        render_text(a->r, t, b.x + 28, b.y + 7, FONT_UI, on ? TH_INK : TH_MUTED);
        x += 70;
    }
    ui_text_fit(a, "opacity = attention weight; hover a token to isolate its lines", x + 12,
                area.y + 8, FONT_SMALL, area.x + area.w - x - 12, TH_MUTED);
    return area.y + 44;
}

/* Lines from query i (left) to key j (right) of every shown head; with a hovered
 * token only its lines (side 0: a query, 1: a key). */
static void line_draw(App *a, float xl, float xr, float y0, float rh, int r0, int n, int side,
                      int tok) {
    int T = app_T(a);
    for (int h = 0; h < app_NH(a) && h < GUI_MAX_LINE_HEADS; h++) {
        if (!((a->lines_heads >> h) & 1)) continue;
        const float *P = app_map(a, a->layer, h);
        for (int i = r0; i < r0 + n; i++) {
            if (side == 0 && tok != i) continue;
            for (int j = 0; j <= i; j++) {
                if (side == 1 && tok != j) continue;
                float w = P[(size_t)i * T + j];
                if (w < 0.02f || j < r0 || j >= r0 + n) continue;
                render_line(a->r, xl, y0 + (i - r0 + 0.5f) * rh, xr, y0 + (j - r0 + 0.5f) * rh,
                            2.5f, head_colour(h, (unsigned char)(255 * fminf(1.0f, w))));
            }
        }
    }
}

/* The weights of a hovered token's lines, in each head's colour, beside the
 * tokens at the other end (keys for a hovered query, queries for a hovered key). */
static void line_values(App *a, float xl, float xr, float y0, float rh, int r0, int n, int side,
                        int tok) {
    int T = app_T(a), k = 0;
    float lh = render_line_height(a->r, FONT_SMALL);
    for (int h = 0; h < app_NH(a) && h < GUI_MAX_LINE_HEADS; h++) {
        if (!((a->lines_heads >> h) & 1)) continue;
        const float *P = app_map(a, a->layer, h);
        for (int m = r0; m < r0 + n; m++) {
            float w = side == 0 ? (m <= tok ? P[(size_t)tok * T + m] : 0.0f)
                                : (m >= tok ? P[(size_t)m * T + tok] : 0.0f);
            if (w < 0.02f) continue;
            char t[16];
            snprintf(t, sizeof t, "%.2f", w);
            float x = side == 0 ? xr - 14 - 40 * (k + 1) : xl + 14 + 40 * k;
            render_text(a->r, t, x, y0 + (m - r0 + 0.5f) * rh - lh / 2, FONT_SMALL,
                        head_colour(h, 255));
        }
        k++;
    }
}

void view_lines(App *a, Rect area) {
    int T = app_T(a);
    float y0 = line_chips(a, area) + 8, h = area.y + area.h - y0;
    float rh = fmaxf(16.0f, fminf(30.0f, h / T));
    int n = (int)fminf((float)T, floorf(h / rh));
    int max0 = T - n;
    Rect col = {area.x, y0, area.w, n * rh};
    if (ui_hover(a, col) && a->ui.wheel != 0.0f) {
        a->lines_scroll -= 3 * a->ui.wheel;
        a->ui.wheel = 0;
    }
    a->lines_scroll = fmaxf(0.0f, fminf((float)max0, a->lines_scroll));
    int r0 = (int)a->lines_scroll;
    float font = fminf(FONT_UI + 2, rh * 0.7f), lh = render_line_height(a->r, font);
    float xl = area.x + area.w * 0.32f, xr = area.x + area.w * 0.68f;
    /* hover targets: the left half of a row is its query, the right half its key */
    float x0 = xl - 220, mid = (xl + xr) / 2, x1 = xr + 220;
    int side = -1, tok = -1;
    for (int k = 0; k < n; k++) {
        Rect lt = {x0, y0 + k * rh, mid - x0, rh}, rt = {mid, y0 + k * rh, x1 - mid, rh};
        if (ui_hover(a, lt)) side = 0, tok = r0 + k;
        if (ui_hover(a, rt)) side = 1, tok = r0 + k;
    }
    render_clip(a->r, &col);
    line_draw(a, xl, xr, y0, rh, r0, n, side, tok);
    if (tok >= 0) line_values(a, xl, xr, y0, rh, r0, n, side, tok);
    for (int k = 0; k < n; k++) {
        int i = r0 + k;
        const char *s = ui_token(a, i);
        float w = render_text_width(a->r, s, -1, font), y = y0 + (k + 0.5f) * rh - lh / 2;
        Rgba cl = tok == i && side == 0 ? TH_ACCENT : a->tok.unknown[i] ? TH_ERROR : TH_INK;
        Rgba cr = tok == i && side == 1 ? TH_ACCENT : a->tok.unknown[i] ? TH_ERROR : TH_INK;
        render_text(a->r, s, xl - 10 - w, y, font, cl);
        render_text(a->r, s, xr + 10, y, font, cr);
    }
    render_clip(a->r, NULL);
    /* column 0: the queries (left), column 1: the keys (right) */
    ui_add_region(a, "lines", (Rect){x0, y0, x1 - x0, n * rh}, r0, 0, n, 2, a->layer, a->head);
    render_text(a->r, "query (looks)", xl - 120, area.y + area.h - 16, FONT_SMALL, TH_MUTED);
    render_text(a->r, "key (is looked at)", xr + 10, area.y + area.h - 16, FONT_SMALL, TH_MUTED);
    if (max0 > 0)
        render_text(a->r, "wheel: scroll", area.x + area.w - 100, area.y + area.h - 16, FONT_SMALL,
                    TH_MUTED);
}
