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

AvzCode lengths_detect(Backend **bep, Model *m, const int *pool, int n_pool, int bos,
                       const DetectOpts *o, DetectReport *r, char *err) {
    int need = 0, off = bos >= 0;
    for (int k = 0; k < o->n_lengths; k++)
        need = off + 2 * o->lengths[k] > need ? off + 2 * o->lengths[k] : need;
    int ctx = m->cfg.n_positions;
    if (need > ctx && m->cfg.pe == PE_LEARNED) {
        memset(r, 0, sizeof *r);
        return avz_fail(err, AVZ_ERR_INPUT, "lengths: a learned position table has %d rows; "
                        "blocks of %d tokens do not fit", ctx, need);
    }
    if (need > config_max_len(&m->cfg)) {
        memset(r, 0, sizeof *r);
        return avz_fail(err, AVZ_ERR_INPUT, "lengths: %d tokens are more than the model "
                        "accepts (%d)", need, config_max_len(&m->cfg));
    }
    if (need > ctx) m->cfg.n_positions = need;
    AvzCode rc = detect_run(bep, m, pool, n_pool, bos, o, NULL, r, NULL, err);
    m->cfg.n_positions = ctx;
    return rc;
}

void lengths_detect_opts_2x(DetectOpts *o, const ModelConfig *cfg) {
    ModelConfig twice = *cfg;
    twice.n_positions = 2 * cfg->n_positions;
    detect_opts_default(o, &twice);
    int nmax = (twice.n_positions - 1) / 2;
    o->n_lengths = 0;
    for (int k = 4; k <= 8; k++) o->lengths[o->n_lengths++] = (nmax * k + 7) / 8;
}
