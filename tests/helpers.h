/* helpers.h: small shared fixtures for the tests: a tiny random model built in
 * memory, temp folders. */
#ifndef AVZ_TEST_HELPERS_H
#define AVZ_TEST_HELPERS_H

#include "model.h"

/* A vocabulary of <bos>, <unk>, ".", ",", and n_words made-up words "w0".."wN". */
void helper_vocab(Vocab *v, int n_words);

/* A random model (seeded) with the given encoding and shape, vocab of 40 words. */
void helper_model(Model *m, PosEncoding pe, int L, int NH, int C, int n_positions, uint64_t seed);

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
