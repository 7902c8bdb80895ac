/* helpers.h: small shared fixtures for the tests: a tiny random model built in
 * memory, temp folders. */
#ifndef AVZ_TEST_HELPERS_H
#define AVZ_TEST_HELPERS_H

#include "model.h"

/* A vocabulary of <bos>, <unk>, ".", ",", and n_words made-up words "w0".."wN". */
void helper_vocab(Vocab *v, int n_words);

/* A random model (seeded) with the given encoding and shape, vocab of 40 words. */
void helper_model(Model *m, PosEncoding pe, int L, int NH, int C, int n_positions, uint64_t seed);

/* The shape of a Llama-family model for helper_llama. */
typedef struct {
    int L, NH, NKV;    /* layers, query heads, key/value heads (NH a multiple of NKV) */
    int C, hd, F;      /* residual width, head size (need not be C / NH), SwiGLU width */
    unsigned bias;     /* BIAS_* the model has (attention_bias, mlp_bias, Qwen2's q/k/v) */
    int untied;        /* 1: its own lm_head */
} HelperLlama;

/* A random Llama-family model built in memory, as a Hugging Face checkpoint of that shape
 * loads (RMSNorm, SwiGLU, RoPE, grouped-query attention), vocab of 40 words. Every weight
 * is random, the biases and the norm gains too (N(0, 0.3) and 1 + N(0, 0.3)); q and k are
 * sharpened by qkv_scale so that the maps have structure (1: GPT-2's plain init). */
void helper_llama(Model *m, const HelperLlama *s, float qkv_scale, uint64_t seed);

/* Random token ids in [2, V) with ids[0] = <bos>. */
void helper_tokens(int *ids, int T, int V, uint64_t seed);

/* A fresh temp folder under /tmp (path written into out). */
void helper_tmpdir(char *out, size_t len);

/* Removes a folder made by helper_tmpdir and everything in it. */
void helper_rmtree(const char *dir);

/* 1 if path exists. */
int helper_file_exists(const char *path);

/* Number of entries in dir, "." and ".." not counted. */
int helper_dir_entries(const char *dir);

/* Maximum relative error max|a-b| / max|b|. */
double helper_rel_err(const float *a, const float *b, size_t n);

#endif
