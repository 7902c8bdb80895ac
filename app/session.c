/* session.c: model + device + tokens for the CLI subcommands (see session.h). */
#include "session.h"

#include <string.h>

#include "assets.h"

AvzCode session_open(Session *s, const char *model_dir, const char *device,
                     const char *attention, const char *text, char *err) {
    memset(s, 0, sizeof *s);
    if (!model_dir) {
        if (!assets_find(AVZ_DEFAULT_MODEL, s->model_dir, sizeof s->model_dir))
            return avz_fail(err, AVZ_ERR_INPUT, "the default model '%s' was not found; give "
                            "--model DIR", AVZ_DEFAULT_MODEL);
    } else {
        snprintf(s->model_dir, sizeof s->model_dir, "%s", model_dir);
    }
    if (attention && strcmp(attention, "naive") == 0) s->opts.attn = ATTN_NAIVE;
    else if (attention && strcmp(attention, "flash") != 0)
        return avz_fail(err, AVZ_ERR_INPUT, "--attention: unknown kind '%s' (use flash or "
                        "naive)", attention);
    AvzCode rc = engine_open(&s->eng, s->model_dir, device, s->note, err);
    if (rc) return rc;
    rc = session_set_text(s, text ? text : "", err);
    if (rc) { session_close(s); return rc; }
    return AVZ_OK;
}

AvzCode session_set_text(Session *s, const char *text, char *err) {
    tokens_free(&s->tok);
    return engine_encode(&s->eng, text, config_max_len(&s->eng.model.cfg), &s->tok, err);
}

AvzCode session_forward(Session *s, char *err) {
    int T = s->tok.n;
    int *tg = avz_xmalloc(sizeof(int) * T);
    for (int t = 0; t < T; t++) tg[t] = t + 1 < T ? s->tok.ids[t + 1] : -1;
    AvzCode rc = backend_forward(&s->eng.be, &s->eng.model, s->tok.ids, tg, 1, T, &s->opts, s->note,
                                 err);
    free(tg);
    return rc;
}

void session_close(Session *s) {
    tokens_free(&s->tok);
    engine_close(&s->eng);
    memset(s, 0, sizeof *s);
}

void session_print_notes(const Session *s) {
    if (s->tok.n_unknown) {
        char buf[1024];
        tokens_unknown_list(&s->tok, buf, sizeof buf);
        fprintf(stderr, "note: %d unknown word%s shown as <unk>: %s\n", s->tok.n_unknown,
                s->tok.n_unknown == 1 ? "" : "s", buf);
    }
    if (s->note[0]) fprintf(stderr, "note: %s\n", s->note);
}

void session_describe(const Session *s, char *buf, size_t len) {
    const ModelConfig *c = &s->eng.model.cfg;
    snprintf(buf, len, "%s, %d layer%s x %d heads, C=%d, %.2fM parameters", pe_name(c->pe),
             c->n_layer, c->n_layer == 1 ? "" : "s", c->n_head, c->n_embd,
             s->eng.model.num_parameters / 1e6);
}
