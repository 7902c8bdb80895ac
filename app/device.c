/* device.c: the backend registry. This is the only file that knows whether the CUDA
 * backend was compiled in (AVZ_CUDA): it sits above both model/ (the CPU backend) and
 * gpu/ (the CUDA one), so that dependencies point one way: app -> gpu -> model. */
#include "device.h"

#include <string.h>

#ifdef AVZ_CUDA
#include "gpu_backend.h"
#endif

Backend *device_open(const char *name, char *note, char *err) {
    if (note) note[0] = '\0';
    int want_cuda = strcmp(name, "cuda") == 0, is_auto = strcmp(name, "auto") == 0;
    if (!want_cuda && !is_auto && strcmp(name, "cpu") != 0) {
        avz_fail(err, AVZ_ERR_INPUT, "--device: unknown device '%s' (use auto, cpu or cuda)",
                 name);
        return NULL;
    }
    if (want_cuda || is_auto) {
#ifdef AVZ_CUDA
        char why[AVZ_ERR_LEN] = "";
        Backend *g = gpu_backend_create(why);
        if (g) return g;
        /* "auto" on a machine without a driver or a GPU is the normal CPU case: say
         * nothing. Asked for by name, or a GPU that is there but fails, is news. */
        if (note && (want_cuda || gpu_device_count() > 0))
            snprintf(note, AVZ_ERR_LEN, "CUDA unavailable (%s); using the CPU", why);
#else
        if (note && want_cuda)
            snprintf(note, AVZ_ERR_LEN, "CUDA unavailable (this build has no CUDA backend: "
                     "nvcc was not found or NO_CUDA=1); using the CPU");
#endif
    }
    return backend_cpu_create();
}

/* The folder's tokenizer: the word vocabulary the model loaded with, else its BPE
 * files, whose ids must all be rows of the embedding. The first token is the one the
 * tokenizer's files name (bpe_bos_id: Llama 2's <s> from its post-processor, ...); when
 * they name none, config.json's bos_token_id, which must then be one of its tokens. */
static AvzCode open_tokenizer(Engine *e, const char *dir, char *err) {
    if (e->model.vocab.n > 0) {
        tokenizer_init_word(&e->tok, &e->model.vocab);
        return AVZ_OK;
    }
    AvzCode rc = tokenizer_open_bpe(&e->tok, dir, err);
    if (rc) return rc;
    const ModelConfig *c = &e->model.cfg;
    if (e->tok.n_vocab > c->vocab_size)
        rc = avz_fail(err, AVZ_ERR_INPUT, "%s: the tokenizer has %d tokens but config.json "
                      "field 'vocab_size' is %d", dir, e->tok.n_vocab, c->vocab_size);
    else if (e->tok.bos_id < 0 && c->bos_id >= e->tok.n_vocab)
        rc = avz_fail(err, AVZ_ERR_INPUT, "%s/config.json: field 'bos_token_id' is %d, but the "
                      "tokenizer has no such token (ids 0..%d), and names no first token of its "
                      "own", dir, c->bos_id, e->tok.n_vocab - 1);
    else if (e->tok.bos_id < 0)
        e->tok.bos_id = c->bos_id;   /* -1 when the config has none too: nothing prepended */
    if (rc) tokenizer_free(&e->tok);
    return rc;
}

AvzCode engine_open(Engine *e, const char *dir, const char *device, char *note, char *err) {
    memset(e, 0, sizeof *e);
    AvzCode rc = model_load(&e->model, dir, err);
    if (rc) return rc;
    if ((rc = open_tokenizer(e, dir, err))) {
        model_free(&e->model);
        return rc;
    }
    e->be = device_open(device ? device : "auto", note, err);
    if (!e->be) {
        tokenizer_free(&e->tok);
        model_free(&e->model);
        return AVZ_ERR_INPUT;
    }
    e->loaded = 1;
    return AVZ_OK;
}

void engine_close(Engine *e) {
    if (!e->loaded) return;
    backend_close(e->be);
    tokenizer_free(&e->tok);
    model_free(&e->model);
    memset(e, 0, sizeof *e);
}

AvzCode engine_encode(const Engine *e, const char *text, int max_tokens, Tokens *out, char *err) {
    return tokenizer_encode(&e->tok, &e->model.vocab, text, max_tokens, out, err);
}

void engine_label(const Engine *e, int id, char *buf, size_t n) {
    tokenizer_label(&e->tok, &e->model.vocab, id, buf, n);
}
