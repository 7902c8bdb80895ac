/* detect.h: head roles by the field's standard protocol (Olsson et al. 2022,
 * "In-context Learning and Induction Heads"; TransformerLens' main demo and its
 * head detectors), on ANY loaded model and vocabulary.
 *
 * What the roles are
 *   A previous-token head attends from each token to the one just before it. On
 *   its own it is a positional habit, but it copies "which token came before me"
 *   into the residual stream, and that is what an induction head needs.
 *   An induction head, reading token A, looks for an earlier place where A
 *   occurred and attends to the token that came right AFTER it, B, so the model can
 *   predict "A B ... A -> B". It finds that place because its key is the
 *   previous-token head's output: the key of B says "my previous token was A",
 *   and the query of the current A asks for exactly that. Two heads in two layers:
 *   the induction circuit, the simplest mechanism of in-context learning.
 *   A duplicate-token head attends to earlier copies of the current token itself.
 *
 * Why random repeated blocks isolate them
 *   Each sequence is a block of tokens drawn at random, then the same block again.
 *   Nothing the model learned in training (grammar, n-gram statistics, the corpus's
 *   shapes) can predict a random block's second copy; only copying from the context
 *   can. So a head that attends from the second copy to "the token after my earlier
 *   copy" does so because it is an induction head, not because the text is familiar,
 *   and the model's loss on the second copy falls far below its loss on the first
 *   exactly when such a circuit works. The same sequences also show previous-token
 *   heads (nothing but position says where to look) and duplicate-token heads (the
 *   second copy is an exact repeat of the first).
 *
 * The protocol, exactly (so that anyone can reproduce a number)
 *   Sequences. For each block length n in opts.lengths and each s = 0..S-1
 *     (S = opts.seqs_per_length) a block B of n ids is drawn WITH replacement
 *     (as TransformerLens' randint does) from the caller's pool: the random stream
 *     for length n is avz_rng_init(seed + n) (splitmix64, then xorshift64*,
 *     common.h), and block s, token j (s = 0.., then j = 0..n-1) is
 *     pool[avz_rng_u64() % n_pool]. The sequence is [bos] + B + B, T = 2n + 1
 *     tokens, or B + B (T = 2n) when bos = -1 (a model without one). With
 *     off = 1 (bos) or 0, the first copy sits at positions off..off+n-1, the second
 *     at off+n..T-1, and token i of the second copy equals token i-n.
 *   Scores. A[i][j] is the head's attention probability from query row i to key j
 *     (captured from the model's forward pass). A role's score is the mean of
 *     A[i][target(i)] over the rows where the target exists ("mean attention to the
 *     target position", as TransformerLens' main demo computes the induction score):
 *       previous-token  target i-1,   rows i = 1..T-1 (every row of the sub-diagonal:
 *                                     row 1, whose previous token is bos, counts)
 *       duplicate-token target i-n,   second-copy rows i = off+n..T-1
 *       induction       target i-n+1, second-copy rows (the token after i's earlier
 *                                     copy; for the last row that is the second copy's
 *                                     first token)
 *       first-token     target 0,     rows 1..T-1 (the "attention sink"; with bos = -1
 *                                     key 0 is the block's first token)
 *       current-token   target i,     rows 1..T-1
 *     Row 0 never counts: it can only attend to itself. Every row of every sequence
 *     weighs the same within a length; the head's score is the unweighted mean over
 *     the lengths of its per-length scores. Two near-standard variants differ
 *     slightly: TransformerLens' main demo takes the whole stripe
 *     pattern.diagonal(offset = 1 - n), which also holds the first copy's last two
 *     rows (n + 2 entries, not n); its detect_head ("mul") divides the attention on
 *     the pattern by the attention of every row, row 0 included. Here only the rows
 *     where the target exists count.
 *   Baseline. Uniform causal attention puts 1/(i+1) on every key of row i; the
 *     uniform score of a role is the mean of 1/(i+1) over the same rows, per length
 *     and (unweighted) over the lengths. A score is only interesting well above it.
 *   Loss. From the model's logits, the per-token cross-entropy of predicting each
 *     copy's tokens 2..n from the token before them inside the same copy (rows
 *     off..off+n-2 predict copy 1, rows off+n..T-2 predict copy 2; n-1 tokens each).
 *     Each copy's first token is left out: nothing can predict it in either copy.
 *     A model that spreads its guess evenly over the pool scores ln(n_pool)
 *     (loss_chance); on the first copy no model can do better on average, while an
 *     induction circuit drives the second copy's loss towards 0.
 *   Defaults (detect_opts_default). lengths {5, 8, 12, 16, 24, 30} and the largest n
 *     with 2n + 1 <= cfg.n_positions (the context the model trained at), each
 *     <= that n, sorted, without repeats; 32 sequences per length; seed DETECT_SEED.
 *     On a 64-token model: n = 5, 8, 12, 16, 24, 30, 31.
 *
 * Every forward pass goes through the backend table (backend.h), so the scores are
 * the same computation on the CPU and on CUDA; ablation opts pass straight through
 * (a head switched off still has a map, and the heads after it change). */
#ifndef AVZ_DETECT_H
#define AVZ_DETECT_H

#include "ablate.h"    /* AvzProgressFn */
#include "backend.h"

typedef enum {
    DET_PREV = 0,   /* previous-token:  i -> i-1 */
    DET_DUP,        /* duplicate-token: i -> i-n (the same token in the first copy) */
    DET_INDUCT,     /* induction:       i -> i-n+1 (the token after the earlier copy) */
    DET_FIRST,      /* first-token:     i -> 0 (the attention sink) */
    DET_CURRENT,    /* current-token:   i -> i */
    DET_COUNT
} DetectRole;

#define DETECT_MAX_LENGTHS 16

/* The default seed: the date Olsson et al.'s induction-heads paper was published
 * on transformer-circuits.pub (2022-03-08). */
#define DETECT_SEED 20220308ull

typedef struct {
    int lengths[DETECT_MAX_LENGTHS];  /* block lengths n, each >= 2 and fitting twice */
    int n_lengths;                    /* 1..DETECT_MAX_LENGTHS */
    int seqs_per_length;              /* S >= 1 */
    int max_batch;                    /* sequences per forward pass; 0 = all S of a length
                                         at once. Only speed and memory depend on it. */
    uint64_t seed;
    AvzProgressFn progress;           /* called before each forward pass with (user,
                                         passes done, passes in all) and once at the end;
                                         returning nonzero cancels the run. May be NULL. */
    void *user;
} DetectOpts;

typedef struct {
    int L, NH;                        /* heads are numbered l * NH + h */
    int n_lengths;
    int lengths[DETECT_MAX_LENGTHS];
    int seqs_per_length;
    int n_pool;                       /* ids the blocks were drawn from */
    int bos;                          /* the bos id used, or -1 */
    uint64_t seed;
    float *score;                     /* (DET_COUNT, L*NH) mean over the lengths */
    float *by_length;                 /* (DET_COUNT, n_lengths, L*NH) */
    float uniform[DET_COUNT];         /* uniform attention's score, mean over the lengths */
    float *uniform_by_length;         /* (DET_COUNT, n_lengths) */
    float *loss_first;                /* (n_lengths) mean loss on copy 1, nats per token */
    float *loss_second;               /* (n_lengths) mean loss on copy 2 */
    float loss_chance;                /* ln(n_pool): a model that knows nothing of the block */
} DetectReport;

/* "previous-token", "duplicate-token", "induction", "first-token", "current-token". */
const char *detect_role_name(DetectRole r);

/* Fills o with the protocol's defaults for a model of config cfg (see above). A
 * context too short for any block (n_positions < 5) leaves n_lengths 0, which
 * detect_run refuses with a message. */
void detect_opts_default(DetectOpts *o, const ModelConfig *cfg);

/* The default pool of a word-level vocabulary: every id except <bos>, <unk> and any
 * other "<...>" special. Returns a malloc'd array of *n ids (the caller frees it;
 * never NULL, *n may be 0). */
int *detect_pool_word_vocab(const Vocab *v, int *n);

/* Runs the protocol on m through *bep (backend_forward: a failing CUDA backend is
 * swapped for the CPU and note says so; note may be NULL) with fo (ablation, naive
 * attention; NULL for the defaults), drawing blocks from pool (n_pool ids; read,
 * not kept) after bos (an id, or -1 for none).
 * Fills r (the caller frees it with detect_report_free). On failure r holds nothing
 * to free and err says why: AVZ_ERR_INPUT naming the option for an empty pool, a
 * pool id or bos outside the vocabulary, no lengths, a length under 2 or one that
 * does not fit twice in cfg.n_positions, seqs_per_length < 1, or "cancelled" when
 * opts->progress asked to stop; the backend's own code for a failed pass.
 * m is left holding the last pass. */
AvzCode detect_run(Backend **bep, Model *m, const int *pool, int n_pool, int bos,
                   const DetectOpts *o, const ForwardOpts *fo, DetectReport *r, char *note,
                   char *err);

void detect_report_free(DetectReport *r);

/* The score of head (l * NH + h) for role at length index k (0..n_lengths-1). */
float detect_at(const DetectReport *r, DetectRole role, int k, int head);

/* The head with the highest mean score for role (the lowest index on a tie); its
 * index l * NH + h into *head (may be NULL). Returns that score. */
float detect_best(const DetectReport *r, DetectRole role, int *head);

/* The weakest length's score of head for role, for goals that must hold "at every
 * length". */
float detect_min_over_lengths(const DetectReport *r, DetectRole role, int head);

/* What was measured, in words, for a label: "random repeated blocks, n = 5..31
 * (7 lengths), 32 seqs each, seed 20220308". Writes at most len bytes into buf. */
void detect_protocol_label(const DetectReport *r, char *buf, size_t len);

#endif
