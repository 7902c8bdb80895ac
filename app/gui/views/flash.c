/* flash.c: the Flash view: flash attention replayed one tile at a time on the selected
 * head (model/teach.c's trace): which tile, each row's running max m and sum l, the
 * rescale of the partial output when the max moves, the output rows filling in, at
 * the end the difference from the naive result; and the memory of each method. */
#include <math.h>
#include <string.h>

#include "attention.h"
#include "util.h"
#include "gui/views/views.h"


/* ---- Flash view ---- */

int app_flash(App *a) {
    Teach *t = &a->teach;
    if (!a->has_tokens) return 0;
    unsigned long key = view_cache_key(a->text_gen, (unsigned long)(a->layer * 64 + a->head), a->model_gen);
    if (t->ft_key == key) return t->ft_valid;
    if (t->ft_valid) flash_trace_free(&t->ft);
    t->ft_valid = 0;
    char err[AVZ_ERR_LEN];
    /* Small tiles so that a short text still has several steps to walk through. */
    int T = a->tok.n, b = T <= 16 ? 4 : T <= 64 ? 8 : T <= 256 ? 32 : 64;
    if (flash_trace_init_model(&t->ft, &a->base.model, a->layer, a->head, b, b, err)) {
        app_error(a, "flash view: %s", err);
    } else {
        t->ft_valid = 1;
        t->ft_step = t->ft.n_steps - 1;
        flash_trace_goto(&t->ft, t->ft_step);
        teach_time_attention(t->ft.q, t->ft.k, t->ft.v, T, t->ft.hs, 1, &t->t_naive, &t->t_flash,
                             &t->t_fast);
    }
    t->ft_key = key;
    t->ver++;
    return t->ft_valid;
}

void app_flash_goto(App *a, int step) {
    Teach *t = &a->teach;
    if (!app_flash(a)) return;
    if (step < -1) step = -1;
    if (step >= t->ft.n_steps) step = t->ft.n_steps - 1;
    t->ft_step = step;
    flash_trace_goto(&t->ft, step);
    t->ver++;
    a->redraw = 1;
}

/* ---- Flash view ---- */

/* Step controls: previous / next and a slider over every tile; returns the bottom. */
static float flash_controls(App *a, Rect r) {
    Teach *t = &a->teach;
    const FlashTrace *ft = &t->ft;
    if (ui_button(a, (Rect){r.x, r.y, 110, 32}, "< previous", 0)) app_flash_goto(a, t->ft_step - 1);
    if (ui_button(a, (Rect){r.x + 118, r.y, 90, 32}, "next >", 0)) app_flash_goto(a, t->ft_step + 1);
    Rect bar = {r.x + 230, r.y + 10, r.w - 240, 12};
    render_rect(a->r, bar, TH_BORDER);
    float frac = ft->n_steps > 0 ? (t->ft_step + 1.0f) / ft->n_steps : 0;
    render_rect(a->r, (Rect){bar.x, bar.y, bar.w * frac, bar.h}, TH_ACCENT);
    Rect hit = {bar.x - 6, r.y, bar.w + 12, 32};
    if (ui_hover(a, hit) && a->ui.down && a->ui.press_x >= hit.x && a->ui.press_y >= hit.y &&
        a->ui.press_y <= hit.y + hit.h) {
        int s = (int)floorf((a->ui.mx - bar.x) / bar.w * (ft->n_steps + 1)) - 1;
        if (s != t->ft_step) app_flash_goto(a, s);
    }
    ui_add_region(a, "flash_slider", bar, 0, -1, 1, ft->n_steps + 1, a->layer, -1);
    return r.y + 40;
}

static void flash_status_line(App *a, float x, float y, float w) {
    const Teach *t = &a->teach;
    const FlashTrace *ft = &t->ft;
    char s[320];
    if (t->ft_step < 0) {
        snprintf(s, sizeof s, "before the first tile: every row has m = -inf, l = 0, O = 0 "
                 "(%d tiles of %d x %d to go)", ft->n_steps, ft->bq, ft->bk);
    } else {
        int qb = ft->step_qb[t->ft_step], kb = ft->step_kb[t->ft_step];
        int q1 = minf(ft->T, (qb + 1) * ft->bq) - 1, k1 = minf(ft->T, (kb + 1) * ft->bk) - 1;
        snprintf(s, sizeof s, "tile %d of %d: queries %d-%d against keys %d-%d%s", t->ft_step + 1,
                 ft->n_steps, qb * ft->bq, q1, kb * ft->bk, k1,
                 t->ft_step == ft->n_steps - 1 ? "  (the last)" : "");
    }
    ui_text_fit(a, s, x, y, FONT_UI, w, TH_INK);
}

/* The attention map with the tiles: done ones clear, the current one framed,
 * the ones still to come veiled. */
static void flash_tiles(App *a, Rect r) {
    const Teach *t = &a->teach;
    const FlashTrace *ft = &t->ft;
    int T = app_T(a);
    Rect m;
    float cell = ui_head_figure(a, r, 18, "flash_map", 0, &m);
    for (int qb = 0; qb < ft->nqb; qb++)
        for (int kb = 0; kb < ft->nkb; kb++) {
            int s = ft->step_of[qb * ft->nkb + kb];
            Rect tile = {m.x + kb * ft->bk * cell, m.y + qb * ft->bq * cell,
                         minf(ft->bk, T - kb * ft->bk) * cell, minf(ft->bq, T - qb * ft->bq) * cell};
            if (s < 0) continue; /* above the diagonal: skipped, masked anyway */
            if (s > t->ft_step) render_rect(a->r, tile, (Rgba){245, 245, 245, 215});
            if (s == t->ft_step) render_frame(a->r, tile, 3.0f, TH_OFF);
            else render_frame(a->r, tile, 1.0f, (Rgba){255, 255, 255, 120});
        }
}

/* One row of the table: four cells at fixed columns. */
static void flash_row(App *a, float x, float y, const char *c[4], Rgba col) {
    const float at[4] = {0, 110, 190, 270};
    for (int k = 0; k < 4; k++) ui_text_fit(a, c[k], x + at[k], y, FONT_SMALL, k ? 76 : 104, col);
}

/* m, l and the rescale factor of the current query block's rows. */
static void flash_rows(App *a, Rect r) {
    const Teach *t = &a->teach;
    const FlashTrace *ft = &t->ft;
    render_text(a->r, "running max m, sum l, rescale", r.x, r.y, FONT_UI, TH_INK);
    float lh = render_line_height(a->r, FONT_SMALL) + 3, y = r.y + 28;
    int qb = t->ft_step >= 0 ? ft->step_qb[t->ft_step] : 0;
    const char *head[4] = {"row", "m", "l", "rescale"};
    flash_row(a, r.x, y, head, TH_MUTED);
    y += lh;
    for (int i = qb * ft->bq; i < minf(ft->T, (qb + 1) * ft->bq) && y + lh < r.y + r.h; i++) {
        char m[32] = "-inf", l[32] = "0", c[32] = "-";
        if (!isinf(ft->m[i])) {
            snprintf(m, sizeof m, "%.3f", ft->m[i]);
            snprintf(l, sizeof l, "%.3f", ft->l[i]);
            if (ft->corr[i] == 0.0f) snprintf(c, sizeof c, "first tile");
            else snprintf(c, sizeof c, "%.3f", ft->corr[i]);
        }
        const char *cells[4] = {ui_token(a, i), m, l, c};
        flash_row(a, r.x, y, cells, ft->corr[i] < 0.999f && ft->corr[i] > 0 ? TH_ACCENT : TH_INK);
        y += lh;
    }
    ui_text_wrap(a, "rescale = exp(m_old - m_new): when a tile raises a row's max, the sum and the "
                 "partial output so far are multiplied by it (orange rows).", r.x, y + 6, r.w,
                 FONT_SMALL, TH_MUTED);
}

/* The output rows so far: O / l (finished rows exact, rows in progress partial). */
static void flash_output(App *a, Rect r) {
    Teach *t = &a->teach;
    const FlashTrace *ft = &t->ft;
    static float buf[GUI_MAX_T * AVZ_MAX_HS];
    for (int i = 0; i < ft->T; i++)
        for (int d = 0; d < ft->hs; d++)
            buf[(size_t)i * ft->hs + d] = ft->l[i] > 0 ? ft->O[(size_t)i * ft->hs + d] / ft->l[i] : 0;
    float mx = 1e-6f;
    for (size_t i = 0; i < (size_t)ft->T * ft->hs; i++) mx = maxf(mx, fabsf(buf[i]));
    HeatmapScale hs = {-mx, mx, 1.0f, CMAP_DIVERGING, 0};
    render_text(a->r, "output O / l (row = query)", r.x + 44, r.y, FONT_UI, TH_INK);
    MatrixFigure f = {buf, ft->T, ft->hs, &t->tex[19], teach_version(a, 19) + (unsigned long)(t->ft_step + 1) * 4096ul,
                      &hs, "flash_out", "dimension", "query"};
    ui_matrix_figure(a, (Rect){r.x, r.y + 26, r.w, r.h - 26}, &f);
}

/* Memory of each method at the current length, 4K and 32K tokens; measured times. */
static void flash_memory(App *a, Rect r) {
    const Teach *t = &a->teach;
    int hs = t->ft.hs, lens[3] = {app_T(a), 4096, 32768};
    float lh = render_line_height(a->r, FONT_SMALL) + 4, y = r.y;
    render_text(a->r, "memory for one head (beyond q, k, v and the output)", r.x, y, FONT_UI, TH_INK);
    y += 26;
    for (int k = 0; k < 3; k++) {
        AttnFastTiles ti = attn_fast_tiles(lens[k], hs);
        char nb[32], fb[32], s[200];
        fmt_bytes(nb, sizeof nb, (double)teach_naive_bytes(lens[k]));
        fmt_bytes(fb, sizeof fb, (double)teach_flash_bytes(lens[k], hs, ti.bq, ti.bk));
        snprintf(s, sizeof s, "T = %5d:  naive %10s (T x T scores)   flash %10s (one tile, m, l, "
                 "lse)", lens[k], nb, fb);
        render_text(a->r, s, r.x, y, FONT_SMALL, TH_INK);
        y += lh;
    }
    char s[320];
    snprintf(s, sizeof s, "measured on this CPU, this head: naive %.1f us, flash %.1f us (both "
             "the readable loops), the tuned flash kernel %.1f us%s", t->t_naive * 1e6,
             t->t_flash * 1e6, t->t_fast * 1e6,
             strcmp(a->base.be->name, "cpu") ? " (the GPU kernels: attnviz bench --device cuda)" : "");
    render_text(a->r, s, r.x, y + 4, FONT_SMALL, TH_MUTED);
    if (t->ft_step == t->ft.n_steps - 1) {
        snprintf(s, sizeof s, "every tile done: max |flash - naive| = %.2g, the same result",
                 t->ft.max_err);
        render_text(a->r, s, r.x, y + 8 + lh, FONT_UI, TH_ACCENT);
    }
}

void view_flash(App *a, Rect area) {
    if (!app_flash(a)) {
        render_text(a->r, "No text to run.", area.x, area.y, FONT_TITLE, TH_MUTED);
        return;
    }
    char head[200];
    snprintf(head, sizeof head, "Flash attention step by step: layer %d head %d, %d tokens, tiles of "
             "%d queries x %d keys  ([ ] or , . step)", a->layer, a->head, app_T(a), a->teach.ft.bq,
             a->teach.ft.bk);
    render_text(a->r, head, area.x, area.y, FONT_TITLE, TH_INK);
    float y = flash_controls(a, (Rect){area.x, area.y + 32, area.w, 32});
    flash_status_line(a, area.x, y, area.w);
    y += 30;
    float h = area.y + area.h - y, low = minf(140, h * 0.3f);
    float side = minf(area.w * 0.36f, h - low);
    flash_tiles(a, (Rect){area.x, y, side, side});
    flash_rows(a, (Rect){area.x + side + 20, y, area.w * 0.3f, h - low});
    float ox = area.x + side + 40 + area.w * 0.3f;
    flash_output(a, (Rect){ox, y, area.x + area.w - ox, h - low});
    flash_memory(a, (Rect){area.x, y + h - low + 8, area.w, low - 8});
}
