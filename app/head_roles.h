/* head_roles.h: the roles of a model's heads by the field's standard protocol
 * (model/detect.h: random repeated blocks, mean attention to the target), measured
 * once per model and kept in $XDG_CACHE_HOME/attnviz/ (else ~/.cache/attnviz/), keyed
 * by a hash of the weights and of the protocol, never written into the model's own
 * folder. The app's labels, its Head view, the lessons and `attnviz roles` all read
 * the numbers from here, so they agree.
 *
 * The protocol's settings depend only on the model's size (head_roles_opts): block
 * lengths 5, 8, 12, 16, 24, 30 and the longest that fits twice in the context (for
 * contexts over 256 tokens, 64 and 128 instead of the longest), 32 sequences per
 * length (8 for models over 20M parameters), seed DETECT_SEED. */
#ifndef AVZ_HEAD_ROLES_H
#define AVZ_HEAD_ROLES_H

#include "ablate.h"
#include "detect.h"
#include "device.h"

/* The protocol's settings for m (above). */
void head_roles_opts(const Model *m, DetectOpts *o);

/* The ids random blocks are drawn from: the whole vocabulary but its special tokens
 * (and ids the tokenizer has no piece for); the bos the sequences start with into
 * *bos (-1 for none): <bos>, <s>, <|begin_of_text|>, GPT-2's <|endoftext|>.
 * malloc'd, *n entries. */
int *head_roles_pool(const Engine *e, int *n, int *bos);

/* A 64-bit FNV-1a hash of the weights and the config (what the cache is keyed by). */
uint64_t head_roles_weights_hash(const Model *m);

/* Measures (or reads from the cache) the roles of e's heads on its backend. progress as
 * detect's (NULL for none; nonzero cancels). *cached (may be NULL) says whether the
 * numbers came from the cache. Fills r (detect_report_free). A cache that cannot be
 * read or written is not an error (the numbers are measured again); note says so. */
AvzCode head_roles_measure(Engine *e, AvzProgressFn progress, void *user, DetectReport *r,
                           int *cached, char *note, char *err);

/* The label of head (l * NH + h): its strongest role by mean score, "induction 0.91"
 * when the score is at least 0.5 and twice uniform attention's, "weak induction 0.31"
 * from 0.2, else "mixed". */
void head_roles_label(const DetectReport *r, int head, char *buf, size_t n);

/* The cache file's path for m under the protocol o (for messages and tests). */
void head_roles_cache_path(const Model *m, const DetectOpts *o, char *buf, size_t n);

#endif
