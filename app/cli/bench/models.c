/* models.c: bench sections (a) and (b): the forward pass + capture of every head for
 * each model folder found, at T = 64 and 256, and the head-importance sweep. */
#define _DEFAULT_SOURCE
#include <cjson/cJSON.h>
#include <dirent.h>
#include <dlfcn.h>
#include <math.h>
#include <omp.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ablate.h"
#include "assets.h"
#include "attention.h"
#include "cli/bench/bench.h"
#include "gemm.h"
#include "model.h"
#include "util.h"


/* ---- (a), (b): the models ------------------------------------------------------------ */

typedef struct {
    Model *m;
    const int *ids, *tg;
    int T, capture;
    float *maps;          /* (L, NH, T, T) */
    Backend *be;
    float *importance;
} ModelRun;

static void run_forward(void *ctx) {
    ModelRun *r = ctx;
    AvzErr err;
    AvzCode rc = model_forward(r->m, r->ids, r->tg, 1, r->T, NULL, err);
    AVZ_ASSERT(rc == AVZ_OK);
    if (r->capture) model_capture_all(r->m, 0, r->maps);
}

static void run_sweep(void *ctx) {
    ModelRun *r = ctx;
    char note[AVZ_ERR_LEN] = "", err[AVZ_ERR_LEN];
    float base;
    AvzCode rc = ablate_sweep(&r->be, r->m, r->ids, r->T, ABLATE_ZERO, r->importance, &base,
                              NULL, NULL, note, err);
    AVZ_ASSERT(rc == AVZ_OK);
}

/* Is dir/name (or dir itself when name is NULL) a model folder? Writes its path. */
static int model_dir_at(const char *dir, const char *name, char *out, size_t len) {
    char probe[4200];
    int n = name ? snprintf(out, len, "%s/%s", dir, name) : snprintf(out, len, "%s", dir);
    if (n < 0 || (size_t)n >= len) return 0;
    n = snprintf(probe, sizeof probe, "%s/config.json", out);
    return n > 0 && (size_t)n < sizeof probe && access(probe, R_OK) == 0;
}

/* The model folders to time: DIR itself if it holds config.json, else its sub-folders
 * that do, the shipped encodings first. Returns how many (at most max). */
static int find_models(const char *dir, char paths[][4096], int max) {
    if (model_dir_at(dir, NULL, paths[0], 4096)) return 1;
    int n = 0;
    const char *order[] = {"none", "sinusoidal", "learned", "rope", "alibi"};
    for (int i = 0; i < 5 && n < max; i++) n += model_dir_at(dir, order[i], paths[n], 4096);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) && n < max) {
        int shipped = 0;
        for (int i = 0; i < 5; i++) shipped |= strcmp(e->d_name, order[i]) == 0;
        if (!shipped && e->d_name[0] != '.') n += model_dir_at(dir, e->d_name, paths[n], 4096);
    }
    if (d) closedir(d);
    return n;
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : path;
}

/* Times forward and forward + capture of one model at length T on `threads`. */
static void time_model(Bench *b, Model *m, const char *name, int T, const int *ids,
                       const int *tg, int threads, float *maps, double *fwd, double *both) {
    omp_set_num_threads(threads);
    ModelRun r = {m, ids, b->no_loss ? NULL : tg, T, 0, maps, NULL, NULL};
    double min_s = b->quick ? 0.02 : 0.3;
    *fwd = bench_best_ms(run_forward, &r, 3, min_s);
    r.capture = 1;
    *both = bench_best_ms(run_forward, &r, 3, min_s);
    if (b->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", name);
        cJSON_AddNumberToObject(o, "T", T);
        cJSON_AddNumberToObject(o, "threads", threads);
        cJSON_AddNumberToObject(o, "forward_ms", *fwd);
        cJSON_AddNumberToObject(o, "forward_capture_ms", *both);
        cJSON_AddItemToArray(bench_json_section(b, "models"), o);
    }
}

void bench_models(Bench *b) {
    char dir[4096], paths[16][4096], err[AVZ_ERR_LEN];
    if (b->models) snprintf(dir, sizeof dir, "%s", b->models);
    else assets_find("assets/models", dir, sizeof dir);
    int n = find_models(dir, paths, 16);
    int Ts[8], nT = 0;
    for (const char *p = b->model_t; p && *p && nT < 8;) {
        char *end;
        long t = strtol(p, &end, 10);
        if (end == p || t < 1) break;
        Ts[nT++] = (int)t;
        p = *end == ',' ? end + 1 : end;
    }
    if (b->quick) { Ts[0] = 16; Ts[1] = 32; nT = 2; }
    SAY(b, "\n(a) forward pass + capture of every head (all L x H maps), one text of T tokens "
        "(all threads = %d); (b) the head-importance sweep\n", b->threads);
    if (!n) {
        SAY(b, "    no model folders in %s (train some with `make models`, or pass --models DIR)\n", dir);
        return;
    }
    SAY(b, "%-12s %9s %5s | %-23s | %-23s\n", "", "", "", "1 thread", "all threads");
    SAY(b, "%-12s %9s %5s | %10s %12s | %10s %12s\n", "model", "L x H", "T", "forward ms",
        "+ capture ms", "forward ms", "+ capture ms");
    int sweep_T = b->quick ? 16 : 64;
    for (int i = 0; i < n; i++) {
        Model m;
        if (model_load(&m, paths[i], err)) {
            SAY(b, "%-12s %s\n", base_name(paths[i]), err);
            continue;
        }
        const char *name = base_name(paths[i]);
        int L = m.cfg.n_layer, NH = m.cfg.n_head, max = config_max_len(&m.cfg);
        for (int ti = 0; ti < nT && bench_wants(b, "models"); ti++) {
            int T = Ts[ti];
            if (T > max) {
                SAY(b, "%-12s %3d x %-3d %5d | skipped: a %s model accepts at most %d tokens\n",
                    name, L, NH, T, pe_name(m.cfg.pe), max);
                continue;
            }
            int *ids = avz_xmalloc(sizeof(int) * T), *tg = avz_xmalloc(sizeof(int) * T);
            AvzRng r;
            avz_rng_init(&r, 7 + T);
            for (int t = 0; t < T; t++)
                ids[t] = t == 0 ? m.vocab.bos_id : 2 + (int)(avz_rng_u64(&r) % (m.cfg.vocab_size - 2));
            for (int t = 0; t < T; t++) tg[t] = t + 1 < T ? ids[t + 1] : -1;
            float *maps = avz_xmalloc(sizeof(float) * (size_t)L * NH * T * T);
            double f1, c1, fn, cn;
            time_model(b, &m, name, T, ids, tg, 1, maps, &f1, &c1);
            time_model(b, &m, name, T, ids, tg, b->threads, maps, &fn, &cn);
            SAY(b, "%-12s %3d x %-3d %5d | %10.3f %12.3f | %10.3f %12.3f\n", name, L, NH, T, f1,
                c1, fn, cn);
            free(maps);
            free(ids);
            free(tg);
        }
        if (bench_wants(b, "sweep") && sweep_T <= max) {
            int T = sweep_T, *ids = avz_xmalloc(sizeof(int) * T);
            AvzRng r;
            avz_rng_init(&r, 99);
            for (int t = 0; t < T; t++)
                ids[t] = t == 0 ? m.vocab.bos_id : 2 + (int)(avz_rng_u64(&r) % (m.cfg.vocab_size - 2));
            float *imp = avz_xmalloc(sizeof(float) * L * NH);
            ModelRun run = {&m, ids, NULL, T, 0, NULL, backend_cpu_create(), imp};
            omp_set_num_threads(1);
            double s1 = bench_best_ms(run_sweep, &run, 2, b->quick ? 0.02 : 0.3);
            omp_set_num_threads(b->threads);
            double sn = bench_best_ms(run_sweep, &run, 2, b->quick ? 0.02 : 0.3);
            SAY(b, "%-12s %3d x %-3d %5d | (b) sweep of %d heads: %.2f ms on 1 thread, %.2f ms "
                "on %d\n", name, L, NH, T, L * NH, s1, sn, b->threads);
            if (b->json) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "model", name);
                cJSON_AddNumberToObject(o, "T", T);
                cJSON_AddNumberToObject(o, "heads", L * NH);
                cJSON_AddNumberToObject(o, "ms_1_thread", s1);
                cJSON_AddNumberToObject(o, "ms_all_threads", sn);
                cJSON_AddNumberToObject(o, "threads", b->threads);
                cJSON_AddItemToArray(bench_json_section(b, "sweep"), o);
            }
            backend_close(run.be);
            free(imp);
            free(ids);
        }
        model_free(&m);
    }
    SAY(b, "targets: forward + capture at T = 64 under 2 ms on one thread; the sweep under 50 ms "
        "(a 60 Hz frame is 16.7 ms)\n");
}
