/* kernels.c: bench section (c): flash attention alone, causal and not, against the
 * machine's ceiling measured in the same run (the fastest single-precision matrix
 * multiply here: ours, or OpenBLAS when it is installed, loaded only to measure). */
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


/* ---- the ceiling: the fastest single-precision matrix multiply we have ---------------- */

typedef void (*CblasSgemm)(int order, int ta, int tb, int M, int N, int K, float alpha,
                           const float *A, int lda, const float *B, int ldb, float beta, float *C,
                           int ldc);

/* OpenBLAS, if installed, loaded at run time (attnviz does not depend on it). It reads
 * OPENBLAS_CORETYPE only when it loads, and Debian's 0.3.21 mistakes recent Xeons for a
 * generic "Prescott" core, about 5x slower. So, unless the user chose a core, we name
 * the right one for this CPU before loading it: the fast path without setting anything. */
static CblasSgemm openblas_load(int threads, char *core, size_t len) {
    const char *isa = gemm_kernels()->isa;
    if (strcmp(isa, "avx512") == 0) setenv("OPENBLAS_CORETYPE", "SkylakeX", 0);
    else if (strcmp(isa, "avx2") == 0) setenv("OPENBLAS_CORETYPE", "Haswell", 0);
    void *h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!h) return NULL;
    CblasSgemm f;
    void (*set_threads)(int);
    char *(*corename)(void);
    *(void **)&f = dlsym(h, "cblas_sgemm");
    *(void **)&set_threads = dlsym(h, "openblas_set_num_threads");
    *(void **)&corename = dlsym(h, "openblas_get_corename");
    if (set_threads) set_threads(threads);
    snprintf(core, len, "%s", corename ? corename() : "?");
    return f;
}

typedef struct {
    int M, N, K;
    const float *A, *B;
    float *C;
    CblasSgemm blas;
} GemmRun;

static void run_gemm(void *ctx) {
    GemmRun *g = ctx;
    if (g->blas) g->blas(101, 111, 111, g->M, g->N, g->K, 1.0f, g->A, g->K, g->B, g->N, 0.0f, g->C, g->N);
    else gemm_sgemm(g->M, g->N, g->K, g->A, g->K, g->B, g->N, 0, g->C, g->N, NULL);
}

/* Times our sgemm and OpenBLAS's at two shapes on b->threads; returns the best GFLOP/s. */
double bench_ceiling(Bench *b, char *best_path, size_t len) {
    int shapes[2][3] = {{2048, 2048, 64}, {1024, 1024, 1024}};   /* M, N, K */
    if (b->quick) {
        shapes[0][0] = shapes[0][1] = 256;
        shapes[1][0] = shapes[1][1] = shapes[1][2] = 256;
    }
    char core[64] = "";
    CblasSgemm blas = b->quick ? NULL : openblas_load(b->threads, core, sizeof core);
    omp_set_num_threads(b->threads);
    SAY(b, "\nceiling: single-precision matrix multiply, %d threads\n", b->threads);
    double best = 0;
    for (int s = 0; s < 2; s++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *A = avz_xmalloc(sizeof(float) * (size_t)M * K), *B = avz_xmalloc(sizeof(float) * (size_t)K * N);
        float *C = avz_xmalloc(sizeof(float) * (size_t)M * N);
        AvzRng r;
        avz_rng_init(&r, 3);
        bench_fill_random(A, (size_t)M * K, &r);
        bench_fill_random(B, (size_t)K * N, &r);
        for (int p = 0; p < (blas ? 2 : 1); p++) {
            GemmRun g = {M, N, K, A, B, C, p ? blas : NULL};
            double ms = bench_best_ms(run_gemm, &g, 3, b->quick ? 0.02 : 0.5);
            double gf = 2.0 * M * N * K / (ms * 1e-3) / 1e9;
            char path[96];
            snprintf(path, sizeof path, p ? "OpenBLAS (%s core)" : "attnviz gemm (%s)",
                     p ? core : gemm_kernels()->isa);
            SAY(b, "    %-28s %5d x %4d x %5d  %8.2f ms  %7.1f GFLOP/s\n", path, M, K, N, ms, gf);
            if (gf > best) {
                best = gf;
                snprintf(best_path, len, "%s, %dx%dx%d", path, M, K, N);
            }
            if (b->json) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "path", path);
                cJSON_AddNumberToObject(o, "M", M);
                cJSON_AddNumberToObject(o, "K", K);
                cJSON_AddNumberToObject(o, "N", N);
                cJSON_AddNumberToObject(o, "gflops", gf);
                cJSON_AddItemToArray(bench_json_section(b, "ceiling"), o);
            }
        }
        free(A); free(B); free(C);
    }
    if (blas) usleep(200000);   /* let OpenBLAS's spinning threads go to sleep */
    if (!blas && !b->quick) SAY(b, "    (OpenBLAS not found: the ceiling is our own kernel)\n");
    return best;
}

/* ---- (c) flash attention alone --------------------------------------------------------- */

typedef struct {
    AttnShape s;
    int nh, ref_heads;
    const float *q, *k, *v;
    float *out, *lse;
} FlashRun;

static void run_fast(void *ctx) {
    FlashRun *f = ctx;
    attn_flash_fast_heads(&f->s, f->nh, NULL, f->q, f->k, f->v, f->out, (size_t)f->s.T * f->s.hs, f->lse);
}

/* The reference kernel, one head per thread (it has no threads of its own). */
static void run_ref(void *ctx) {
    FlashRun *f = ctx;
    size_t hsz = (size_t)f->s.T * f->s.hs;
#pragma omp parallel for schedule(dynamic)
    for (int h = 0; h < f->ref_heads; h++)
        attn_flash(&f->s, f->q + h * hsz, f->k + h * hsz, f->v + h * hsz, f->out + h * hsz,
                   f->lse + (size_t)h * f->s.T);
}

void bench_flash(Bench *b, double ceiling, const char *ceiling_path) {
    int nh = b->nh, hs = b->hs, Ts[3] = {512, 2048, 8192};
    if (b->quick) { Ts[0] = 64; Ts[1] = 128; Ts[2] = 256; }
    AttnFastTiles tl = attn_fast_tiles(2048, hs);
    SAY(b, "\n(c) flash attention alone: %d heads, d_head %d, %d threads, tiles %d x %d (%s); "
        "ceiling %.1f GFLOP/s (%s)\n", nh, hs, b->threads, tl.bq, tl.bk, tl.isa, ceiling, ceiling_path);
    SAY(b, "%6s %6s | %9s %8s %9s | %12s %8s | %7s %9s\n", "T", "causal", "fast ms", "GFLOP/s",
        "% ceiling", "reference ms", "GFLOP/s", "speedup", "max diff");
    omp_set_num_threads(b->threads);
    for (int causal = 1; causal >= 0; causal--) {
        for (int i = 0; i < 3; i++) {
            int T = Ts[i];
            size_t n = (size_t)nh * T * hs;
            float *q = avz_xmalloc(4 * n), *k = avz_xmalloc(4 * n), *v = avz_xmalloc(4 * n);
            float *o1 = avz_xmalloc(4 * n), *o2 = avz_xmalloc(4 * n);
            float *lse = avz_xmalloc(sizeof(float) * nh * T);
            AvzRng r;
            avz_rng_init(&r, 42 + T);
            bench_fill_random(q, n, &r);
            bench_fill_random(k, n, &r);
            bench_fill_random(v, n, &r);
            FlashRun f = {{T, hs, 1.0f / sqrtf((float)hs), 0.0f, causal, hs}, nh, nh, q, k, v, o1, lse};
            double ms = bench_best_ms(run_fast, &f, T >= 8192 ? 1 : 3, b->quick ? 0.01 : 0.5);
            /* the reference is slow: past T = 2048 it runs one head per thread, scaled */
            f.out = o2;
            f.ref_heads = T > 2048 && nh > b->threads ? b->threads : nh;
            double rms = NAN;
            if (!b->no_ref) rms = bench_best_ms(run_ref, &f, 1, 0) * nh / f.ref_heads;
            else memcpy(o2, o1, 4 * n);
            double flops = 4.0 * T * (double)T * hs * nh / (causal ? 2.0 : 1.0);
            double gf = flops / (ms * 1e-3) / 1e9, rgf = flops / (rms * 1e-3) / 1e9;
            double diff = bench_max_diff(o1, o2, (size_t)f.ref_heads * T * hs);
            if (b->no_ref)
                SAY(b, "%6d %6s | %9.2f %8.1f %8.0f%% | %12s %8s | %7s %9s\n", T,
                    causal ? "yes" : "no", ms, gf, 100.0 * gf / ceiling, "-", "-", "-", "-");
            else
                SAY(b, "%6d %6s | %9.2f %8.1f %8.0f%% | %11.1f%s %8.1f | %6.1fx %9.2e\n", T,
                    causal ? "yes" : "no", ms, gf, 100.0 * gf / ceiling, rms,
                    f.ref_heads < nh ? "*" : " ", rgf, rms / ms, diff);
            if (b->json) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddNumberToObject(o, "T", T);
                cJSON_AddBoolToObject(o, "causal", causal);
                cJSON_AddNumberToObject(o, "heads", nh);
                cJSON_AddNumberToObject(o, "hs", hs);
                cJSON_AddNumberToObject(o, "threads", b->threads);
                cJSON_AddNumberToObject(o, "ms", ms);
                cJSON_AddNumberToObject(o, "gflops", gf);
                cJSON_AddNumberToObject(o, "pct_ceiling", 100.0 * gf / ceiling);
                cJSON_AddNumberToObject(o, "ref_ms", rms);
                cJSON_AddBoolToObject(o, "ref_estimated", f.ref_heads < nh);
                cJSON_AddNumberToObject(o, "max_diff", diff);
                cJSON_AddItemToArray(bench_json_section(b, "flash"), o);
            }
            free(q); free(k); free(v); free(o1); free(o2); free(lse);
        }
    }
    SAY(b, "GFLOP/s counts 4 T^2 d per head, half when causal. * = timed on %d of the %d heads "
        "and scaled. target: at T = 2048, at least 50%% of the ceiling\n", b->threads, nh);
}
