/* lengths.c: mean loss by position (see lengths.h). */
#include "lengths.h"

#include <math.h>
#include <string.h>

#include "train.h"

AvzCode lengths_measure(Backend **bep, Model *m, int max_T, int n_seq, uint64_t seed, float *loss, char *err) {
    int T = max_T < config_max_len(&m->cfg) ? max_T : config_max_len(&m->cfg);
    if (T < 2 || n_seq < 1)
        return avz_fail(err, AVZ_ERR_INPUT, "lengths: need max_T >= 2 and n_seq >= 1");
    CorpusMix mix;
    corpus_mix_default(&mix);
    AvzRng rng;
    avz_rng_init(&rng, seed);
    int *row = avz_xmalloc(sizeof(int) * (T + 1)), *tg = avz_xmalloc(sizeof(int) * T);
    double *sum = avz_xcalloc(T, sizeof(double));
    AvzCode rc = AVZ_OK;
    for (int s = 0; !rc && s < n_seq; s++) {
        train_sample_row(m, &rng, &mix, row, T + 1);
        memcpy(tg, row + 1, sizeof(int) * T);
        rc = backend_forward(bep, m, row, tg, 1, T, NULL, NULL, err);
        const float *l = model_losses(m);
        for (int t = 0; !rc && t < T; t++) sum[t] += l[t];
    }
    for (int t = 0; t < max_T; t++) loss[t] = t < T ? (float)(sum[t] / n_seq) : NAN;
    free(row);
    free(tg);
    free(sum);
    return rc;
}
